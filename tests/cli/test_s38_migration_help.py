"""TG007 in a file that looks like a schema migration says which folder to add to
`schema_paths` (session 38).

A project whose migrations live in `db/migrations/` (or alembic's `versions/`) and whose
configuration does not name them got one TG007 per statement of every migration, each saying
"move it to a numbered, idempotent patch in the patch directory" — advice that is wrong for
them: the statements are schema, and the fix is the configuration. The help now names the
folder; a DDL statement among application queries keeps the patch advice; the message (the
baseline's key) is unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_h34H_newcomer import run

PATCH_ADVICE = "move it to a numbered, idempotent patch in the patch directory"


def _project(root: Path) -> Path:
    for folder in ("app", "db/migrations", "alembic/versions"):
        (root / folder).mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["patients"]\n', encoding="utf-8"
    )
    (root / "db/migrations/0002_phone.sql").write_text(
        "ALTER TABLE patients ADD COLUMN phone text;\n", encoding="utf-8"
    )
    (root / "alembic/versions/0003_email.py").write_text(
        "from alembic import op\n\n\ndef upgrade():\n"
        '    op.execute("ALTER TABLE patients ADD COLUMN email text")\n',
        encoding="utf-8",
    )
    (root / "app/fix.sql").write_text(
        "ALTER TABLE patients ADD COLUMN note text;\n", encoding="utf-8"
    )
    return root


def test_tg007_in_a_migration_names_the_folder_to_configure(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    result = run("check", "--format", "json", ".", cwd=root)
    assert result.returncode == 1, result.stderr
    found = {f["path"]: f for f in json.loads(result.stdout)["findings"] if f["rule"] == "TG007"}
    assert sorted(found) == [
        "alembic/versions/0003_email.py",
        "app/fix.sql",
        "db/migrations/0002_phone.sql",
    ]
    sql, python = found["db/migrations/0002_phone.sql"], found["alembic/versions/0003_email.py"]
    assert "'db/migrations'" in sql["help"] and "schema_paths" in sql["help"]
    assert "'alembic/versions'" in python["help"] and "schema_paths" in python["help"]
    assert found["app/fix.sql"]["help"] == PATCH_ADVICE
    # the message is the baseline's key: the same for all three
    assert {f["message"] for f in found.values()} == {
        "ALTER TABLE in application code: schema changes belong in the patch pipeline"
    }
    # and the advice works: the folders named, no TG007 is left
    (root / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["patients"]\n'
        'schema_paths = ["db/migrations", "alembic/versions"]\n',
        encoding="utf-8",
    )
    again = run("check", "--format", "json", ".", cwd=root)
    rules = {(f["path"], f["rule"]) for f in json.loads(again.stdout)["findings"]}
    assert rules == {("app/fix.sql", "TG007")}, again.stdout
