"""SQL written in one file and sent from another is said once, where it is written, when the
run checks that file — and at the call that sends it when the run does not (session 38).

A pre-commit run checks the changed files only. `handlers.py` sending `QUERY` imported from
`queries.py`, or the text of `sql/q.sql` it reads, unpinned: the tree's check said it at
queries.py / q.sql, and the check of handlers.py alone said "No findings: 1 statement …
proven" (the leak left to a file the run did not read). Fixed in s39: the findings a file
leaves to the file its SQL is written in (`FileReport.sent`, `Finding.read_from`, for
constants of other modules too) are said at its calls when the run does not check that file
(`walk.said_at_the_calls`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_h34H_newcomer import run

HANDLERS = {
    "constant": "from app.queries import QUERY\n\n\nasync def f(conn):\n"
    "    return await conn.fetch(QUERY)\n",
    "read file": "from pathlib import Path\n\n"
    'QUERY = (Path(__file__).parent / "sql" / "q.sql").read_text()\n\n\n'
    "async def f(conn):\n    return await conn.fetch(QUERY)\n",
}
WRITTEN = {"constant": "app/queries.py", "read file": "app/sql/q.sql"}


def _project(root: Path, how: str, pinned: bool) -> Path:
    (root / "app" / "sql").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["patients"]\n', encoding="utf-8"
    )
    sql = "SELECT * FROM patients" + (" WHERE tenant_id = $1" if pinned else "")
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "app" / "queries.py").write_text(f'QUERY = "{sql}"\n', encoding="utf-8")
    (root / "app" / "sql" / "q.sql").write_text(sql + ";\n", encoding="utf-8")
    (root / "app" / "handlers.py").write_text(HANDLERS[how], encoding="utf-8")
    return root


def _found(root: Path, *args: str) -> tuple[list[tuple[str, str]], dict[str, int]]:
    result = run("check", "--format", "json", *args, cwd=root)
    document = json.loads(result.stdout)
    assert result.returncode == (1 if document["findings"] else 0), result.stderr
    return [(f["path"], f["rule"]) for f in document["findings"]], document["summary"]


@pytest.mark.parametrize("how", sorted(HANDLERS))
@pytest.mark.parametrize("cache", [["--no-cache"], []], ids=["no-cache", "cache"])
def test_the_sender_alone_says_what_is_written_elsewhere(
    tmp_path: Path, how: str, cache: list[str]
) -> None:
    root = _project(tmp_path / "p", how, pinned=False)
    for _ in range(2 if cache == [] else 1):  # with the cache: the stored reports too
        assert _found(root, *cache, "app/handlers.py")[0] == [("app/handlers.py", "TG001")]
        # the tree: said once, where it is written
        tree, _ = _found(root, *cache, "app")
        assert (WRITTEN[how], "TG001") in tree
        assert [f for f in tree if f[0] == "app/handlers.py"] == []


@pytest.mark.parametrize("how", sorted(HANDLERS))
def test_a_pinned_statement_written_elsewhere_is_proven_alone(tmp_path: Path, how: str) -> None:
    root = _project(tmp_path / "p", how, pinned=True)
    findings, summary = _found(root, "--no-cache", "app/handlers.py")
    assert findings == [] and summary["statements"] == 1


@pytest.mark.parametrize("how", sorted(HANDLERS))
def test_a_baseline_written_by_the_tree_holds_for_the_sender_alone(
    tmp_path: Path, how: str
) -> None:
    """A baseline written by a check of the tree records the leak where it is written; a
    pre-commit run of the sender alone says it at the call: the same leak, hidden by that
    entry (not a new one), while a new leak of the sender is still said (s39)."""
    root = _project(tmp_path / "p", how, pinned=False)
    written = run("check", "--no-cache", "--write-baseline", "tg-baseline.json", "app", cwd=root)
    assert written.returncode == 0, written.stderr
    entries = json.loads((root / "tg-baseline.json").read_text(encoding="utf-8"))
    assert WRITTEN[how] in [e["path"] for e in entries["findings"]], entries
    baseline = ["--no-cache", "--baseline", "tg-baseline.json"]
    findings, summary = _found(root, *baseline, "app/handlers.py")
    assert findings == [] and summary["hidden_by_baseline"] == 1, summary
    assert _found(root, "--no-cache", "app/handlers.py")[0] == [("app/handlers.py", "TG001")]
    handlers = root / "app" / "handlers.py"
    handlers.write_text(
        handlers.read_text(encoding="utf-8")
        + "\n\nasync def g(conn):\n    return await conn.fetch('SELECT * FROM patients')\n",
        encoding="utf-8",
    )
    assert _found(root, *baseline, "app/handlers.py")[0] == [("app/handlers.py", "TG001")]
    # and the tree: the recorded one hidden, the new one said
    assert _found(root, *baseline, "app")[0] == [("app/handlers.py", "TG001")]


@pytest.mark.parametrize("how", sorted(HANDLERS))
def test_a_rule_ignored_where_it_is_written_is_said_at_the_call(tmp_path: Path, how: str) -> None:
    """A per-file ignore of TG001 in the file the SQL is written in is that file's own use
    (an admin report there): the tree's check said the leak nowhere, sent from handlers.py,
    where TG001 runs (s39)."""
    root = _project(tmp_path / "p", how, pinned=False)
    with (root / "pyproject.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[tool.tenantguard.per-file-ignores]\n"{WRITTEN[how]}" = ["TG001"]\n')
    tree, _ = _found(root, "--no-cache", "app")
    assert ("app/handlers.py", "TG001") in tree and (WRITTEN[how], "TG001") not in tree, tree
