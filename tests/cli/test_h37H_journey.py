"""A newcomer following README.md from the top on a small asyncpg project keyed by `org_id`
(h37H, issue 12): install, `init`, `check`, the pre-commit hook, the CI gate. Each test is a
step that did not do what the README said, or passed in silence; the real command in a fresh
process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.cli.test_h34H_newcomer import run, write
from tests.cli.test_h37H_init_sources import ALEMBIC, DUMP

REPO = Path(__file__).resolve().parent.parent.parent
LEAK = 'async def sla(conn):\n    return await conn.fetch("SELECT name FROM sla_policies")\n'


def board(root: Path, schema_paths: str) -> Path:
    write(
        root / "pyproject.toml",
        f'[project]\nname = "b"\nversion = "1"\n\n[tool.tenantguard]\ntenant_column = "org_id"\n'
        f"schema_paths = {schema_paths}\n",
    )
    write(root / "db/schema.sql", DUMP)
    write(root / "app/__init__.py", "")
    write(root / "app/sla.py", LEAK)
    return root


def test_a_migration_outside_schema_paths_is_said(tmp_path: Path) -> None:
    """`schema_paths = ["db"]` (written by hand, or by init before h37H) while
    alembic/versions/0002_sla.py makes sla_policies with org_id: `SELECT name FROM
    sla_policies` (every org's rows) was "No findings", exit 0, and nothing said the revision
    was unread. Now a warning names the file, the table and the fix (and the check that reads
    it finds the leak)."""
    root = board(tmp_path / "b", '["db"]')
    write(root / "alembic/versions/0002_sla.py", ALEMBIC)
    done = run("check", cwd=root)
    said = done.stderr
    assert "alembic/versions/0002_sla.py" in said and "sla_policies" in said, said
    assert "schema_paths" in said, said
    # the SQL form, in a migrations folder: the same warning, not only TG007's "move it to a
    # numbered patch"
    write(root / "alembic/versions/0002_sla.py", "")
    write(root / "db/migrations/0002_sla.sql", "")
    write(root / "migrations/0002_sla.sql", "CREATE TABLE sla_policies (id int, org_id int);\n")
    sql = run("check", cwd=root)
    assert "migrations/0002_sla.sql" in sql.stderr and "schema_paths" in sql.stderr, sql.stderr
    # the configuration that reads it: the leak found, no warning
    fixed = board(tmp_path / "c", '["db", "alembic/versions"]')
    write(fixed / "alembic/versions/0002_sla.py", ALEMBIC)
    found = run("check", cwd=fixed)
    assert found.returncode == 1 and "app/sla.py:2" in found.stdout, found.stdout
    assert "warning" not in found.stderr, found.stderr


def test_a_migration_of_global_tables_only_is_not_said(tmp_path: Path) -> None:
    """The false-alarm twin: a migration outside schema_paths making no table with the tenant
    column (a lookup table) changes no proof: nothing said."""
    root = board(tmp_path / "b", '["db"]')
    write(
        root / "alembic/versions/0002_countries.py",
        ALEMBIC.replace("sla_policies", "countries").replace(
            '        sa.Column("org_id", sa.BigInteger, sa.ForeignKey("orgs.id"), nullable=False),\n',
            "",
        ),
    )
    write(root / "app/sla.py", "async def c(conn):\n    return await conn.fetch('SELECT 1')\n")
    done = run("check", cwd=root)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr


def _readme_block(heading: str, language: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    return re.search(rf"```{language}\n(.*?)```", section, re.DOTALL).group(1)  # type: ignore[union-attr]


def test_the_readme_pre_commit_configuration_is_valid_as_written(tmp_path: Path) -> None:
    """The README's `.pre-commit-config.yaml` was a bare list (`- repo: …`): pre-commit 3+
    refuses it ("Expected a Config map but got a list"). Copied as written, with only the URL
    and COMMIT filled in, pre-commit now takes it."""
    block = _readme_block("## In pre-commit and CI", "yaml")
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(block.replace("COMMIT", "deadbeef" * 5), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "home")},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_missing_baseline_says_how_to_write_one(tmp_path: Path) -> None:
    """`check --baseline .tenantguard-baseline.json` before any was written (the CI step copied
    from the README, first run): "cannot read baseline …: No such file or directory", exit 2,
    and nothing about how to make one."""
    root = board(tmp_path / "b", '["db"]')
    done = run("check", "--baseline", ".tenantguard-baseline.json", cwd=root)
    assert done.returncode == 2
    assert "--write-baseline .tenantguard-baseline.json" in done.stderr, done.stderr
