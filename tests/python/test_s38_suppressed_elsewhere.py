"""A suppression at a constant's definition covers that module's own use, not another
module's call that sends the constant (session 38).

`ADMIN_EXPORT = "SELECT * FROM patients"  # tenantguard: ignore[TG001] -- nightly export` in
queries.py, then a request handler in another module `await conn.fetch(ADMIN_EXPORT)`: a
constant of another module is said once, where it is written (not again at each call) — so the
suppression written for the export silenced the handler too: "No findings … proven", the
handler reading every clinic's patients. Now such a constant's finding is said at each call
from another module, where that call's own reason must be written; without a suppression it
is still said once, at the constant."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_h34H_newcomer import run

CONSTANT = 'ADMIN_EXPORT = "SELECT * FROM patients"'
SUPPRESSED = CONSTANT + "  # tenantguard: ignore[TG001] -- the nightly export, all clinics\n"
HANDLER = (
    "from app.queries import ADMIN_EXPORT\n\n\n"
    "async def list_patients(conn):\n"
    "    return await conn.fetch(ADMIN_EXPORT){comment}\n"
)


def _project(root: Path, queries: str, comment: str = "") -> Path:
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["patients"]\n', encoding="utf-8"
    )
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "app" / "queries.py").write_text(queries, encoding="utf-8")
    (root / "app" / "handlers.py").write_text(HANDLER.format(comment=comment), encoding="utf-8")
    return root


def _found(root: Path, *paths: str) -> list[tuple[str, int, str]]:
    result = run("check", "--no-cache", "--format", "json", *paths, cwd=root)
    document = json.loads(result.stdout)
    assert result.returncode == (1 if document["findings"] else 0), result.stderr
    return [(f["path"], f["line"], f["rule"]) for f in document["findings"]]


def test_a_suppressed_constant_sent_from_another_module_is_said_at_the_call(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "p", SUPPRESSED)
    assert _found(root, "app") == [("app/handlers.py", 5, "TG001")]
    assert _found(root, "app/handlers.py") == [("app/handlers.py", 5, "TG001")]  # pre-commit
    assert _found(root, "app/queries.py") == []  # its own suppression, used


def test_the_call_s_own_suppression_covers_it(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "p", SUPPRESSED, "  # tenantguard: ignore[TG001] -- the export's task"
    )
    assert _found(root, "app") == []  # neither suppression unused (no TG011)


def test_an_unsuppressed_constant_is_said_once_where_it_is_written(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", CONSTANT + "\n")
    assert _found(root, "app") == [("app/queries.py", 1, "TG001")]
