"""Which lines a line suppression covers (found by a first-time user, round 12).

A suppression alone on its line covers that line and the next (the statement or call below
it). One written after code on its line — `SELECT … ;  -- tenantguard: ignore[TG001] -- why` —
covers that line's statement or call only: it used to cover the next line too, so a leak
written on the line after a suppressed statement was silently suppressed with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import run, write

TABLES = ["--isolated", "--tenant-column", "tenant_id", "--tenant-tables", "tasks,comments"]
REASON = "-- tenantguard: ignore[TG001] -- global stats for the ops dashboard"


def codes_at(out: str) -> list[str]:
    return [" ".join(line.split()[:2]) for line in out.splitlines() if ": TG0" in line]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "trailing, SQL: the next statement is not covered",
            f"SELECT count(*) FROM tasks;  {REASON}\nSELECT id, body FROM comments;\n",
            ["q.sql:2:22: TG001"],
        ),
        (
            "trailing /* */, SQL",
            "SELECT count(*) FROM tasks; /* tenantguard: ignore[TG001] -- ops */\n"
            "SELECT id FROM comments;\n",
            ["q.sql:2:16: TG001"],
        ),
        (
            "own line, SQL: the statement below is covered",
            f"{REASON}\nSELECT count(*) FROM tasks;\nSELECT id, body FROM comments;\n",
            ["q.sql:3:22: TG001"],
        ),
        (
            "trailing on a statement's first line covers the whole statement",
            f"SELECT count(*)  {REASON}\nFROM tasks;\nSELECT id FROM comments;\n",
            ["q.sql:3:16: TG001"],
        ),
        (
            "trailing on a statement's last line covers it",
            f"SELECT count(*)\nFROM tasks;  {REASON}\nSELECT id FROM comments;\n",
            ["q.sql:3:16: TG001"],
        ),
    ],
)
def test_sql_line_suppressions(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    expected: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "q.sql", text)
    _, out, _ = run(capsys, "check", *TABLES, "q.sql")
    assert codes_at(out) == expected, (name, out)


PY_TRAILING = """\
async def stats(conn):
    total = await conn.fetchval("SELECT count(*) FROM tasks")  # tenantguard: ignore[TG001] -- ops metric
    return total, await conn.fetch("SELECT * FROM comments")
"""
PY_OWN_LINE = """\
async def stats(conn):
    # tenantguard: ignore[TG001] -- ops metric
    total = await conn.fetchval("SELECT count(*) FROM tasks")
    return total, await conn.fetch("SELECT * FROM comments")
"""
PY_CALL_OPENS = """\
async def stats(conn):
    return await conn.fetch(  # tenantguard: ignore[TG001] -- ops metric
        "SELECT count(*) FROM tasks"
    )
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PY_TRAILING, ["m.py:3:51: TG001"]),
        (PY_OWN_LINE, ["m.py:4:51: TG001"]),
        (PY_CALL_OPENS, []),
    ],
    ids=["trailing", "own line", "trailing where the call opens"],
)
def test_python_line_suppressions(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
    expected: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "m.py", text)
    _, out, _ = run(capsys, "check", *TABLES, "m.py")
    assert codes_at(out) == expected, out
