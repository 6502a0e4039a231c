"""Helper h33s on the Python reader's loops: the first pass of a loop told apart from later
ones.

- `conds.append(("" if i == 0 else "OR ") + f"name = ${len(args) + 1}")` over
  `enumerate(names)`, joined inside `AND (…)`: the reader read the later passes' item first
  (`AND (OR name = $2)`) and the first pass's later (`name = $2 name = $3`), a TG006 error on
  safe code. The first pass is now read with the index 0 and the later passes with an index
  past 0; the rounds after the first start from what passes leave, not from the entry. The
  same join with no parentheses stays TG001 (on the server: the other guild's rows)."""

from __future__ import annotations

import importlib
from pathlib import Path

import asyncpg
import pytest

from tests.project_files import (
    findings_of_check,
    import_fresh_bot,
    write_guild_project,
)

FIRST_PASS = (
    "async def tags(conn, guild_id, names):\n"
    "    args = []\n"
    "    conds = []\n"
    "    for i, n in enumerate(names):\n"
    "        args.append(n)\n"
    '        conds.append(("" if i == 0 else "OR ") + f"name = ${len(args) + 1}")\n'
    '    sql = "SELECT * FROM tags WHERE guild_id = $1 AND (" + " ".join(conds) + ")"\n'
    "    return await conn.fetch(sql, guild_id, *args)\n"
)
# no parentheses: `guild_id = $1 AND name = $2 OR name = $3` reads every guild's `$3`
UNGROUPED = FIRST_PASS.replace(
    '"SELECT * FROM tags WHERE guild_id = $1 AND (" + " ".join(conds) + ")"',
    '"SELECT * FROM tags WHERE guild_id = $1 AND " + " ".join(conds)',
)
# the same with the test turned round
TURNED = FIRST_PASS.replace('("" if i == 0 else "OR ")', '("OR " if i != 0 else "")')


def test_the_first_pass_of_an_enumerate_loop_is_told_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/tags.py": FIRST_PASS})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []
    write_guild_project(tmp_path, {"bot/tags.py": TURNED})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []
    write_guild_project(tmp_path, {"bot/tags.py": UNGROUPED})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert ("bot/tags.py", 7, "TG001") in found


async def test_the_first_pass_queries_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/tags.py": FIRST_PASS, "bot/leaky.py": UNGROUPED})
    import_fresh_bot(tmp_path, monkeypatch)
    tags = importlib.import_module("bot.tags")
    leaky = importlib.import_module("bot.leaky")

    conn = await asyncpg.connect(guilds)
    try:
        safe = await tags.tags(conn, 1, ["mine", "theirs"])
        assert [r["name"] for r in safe] == ["mine"]
        wide = await leaky.tags(conn, 1, ["mine", "theirs"])
        assert sorted((r["guild_id"], r["name"]) for r in wide) == [(1, "mine"), (2, "theirs")]
    finally:
        await conn.close()


# `enumerate(names, 2)` (a constant start) read as counting, and a grown list joined with an
# item written after it (`conds + ["FALSE"]`): both were TG009 warnings, the leak unseen
WITH_FALSE = (
    "async def tags(conn, guild_id, names):\n"
    "    conds = []\n"
    "    for k, n in enumerate(names, 2):\n"
    '        conds.append(f"name = ${k}")\n'
    '    sql = "SELECT * FROM tags WHERE guild_id = $1 AND " + " OR ".join(conds + ["FALSE"])\n'
    "    return await conn.fetch(sql, guild_id, *names)\n"
)
GROUPED_FALSE = WITH_FALSE.replace(
    '" OR ".join(conds + ["FALSE"])', '"(" + " OR ".join(conds + ["FALSE"]) + ")"'
)


def test_a_grown_list_with_items_added_at_the_join_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/tags.py": WITH_FALSE})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == [("bot/tags.py", 5, "TG001")]
    write_guild_project(tmp_path, {"bot/tags.py": GROUPED_FALSE})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


async def test_the_added_item_queries_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/tags.py": GROUPED_FALSE, "bot/leaky.py": WITH_FALSE})
    import_fresh_bot(tmp_path, monkeypatch)
    tags = importlib.import_module("bot.tags")
    leaky = importlib.import_module("bot.leaky")
    conn = await asyncpg.connect(guilds)
    try:
        safe = await tags.tags(conn, 1, ["mine", "theirs"])
        assert [r["name"] for r in safe] == ["mine"]
        wide = await leaky.tags(conn, 1, ["mine", "theirs"])
        assert sorted((r["guild_id"], r["name"]) for r in wide) == [(1, "mine"), (2, "theirs")]
    finally:
        await conn.close()


# a pass that appends two items (`f"name = ${k}"`, then `"OR"`): read pass by pass, never an
# `OR` first nor two conditions side by side (it was TG006 at ERROR on the safe one)
TWO_A_PASS = (
    "async def tags(conn, guild_id, names):\n"
    "    conds = []\n"
    "    for k, n in enumerate(names, 2):\n"
    '        conds.append(f"name = ${k}")\n'
    '        conds.append("OR")\n'
    '    sql = "SELECT * FROM tags WHERE guild_id = $1 AND (" + " ".join(conds) + " FALSE)"\n'
    "    return await conn.fetch(sql, guild_id, *names)\n"
)
TWO_A_PASS_UNGROUPED = TWO_A_PASS.replace(
    '"SELECT * FROM tags WHERE guild_id = $1 AND (" + " ".join(conds) + " FALSE)"',
    '"SELECT * FROM tags WHERE guild_id = $1 AND " + " ".join(conds) + " FALSE"',
)


def test_a_pass_appending_two_items_is_read_pass_by_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/tags.py": TWO_A_PASS})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []
    write_guild_project(tmp_path, {"bot/tags.py": TWO_A_PASS_UNGROUPED})
    assert ("bot/tags.py", 6, "TG001") in findings_of_check(tmp_path, capsys, monkeypatch)


async def test_two_a_pass_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    files = {"bot/tags.py": TWO_A_PASS, "bot/leaky.py": TWO_A_PASS_UNGROUPED}
    write_guild_project(tmp_path, files)
    import_fresh_bot(tmp_path, monkeypatch)
    tags = importlib.import_module("bot.tags")
    leaky = importlib.import_module("bot.leaky")
    conn = await asyncpg.connect(guilds)
    try:
        safe = await tags.tags(conn, 1, ["mine", "theirs"])
        assert [r["name"] for r in safe] == ["mine"]
        wide = await leaky.tags(conn, 1, ["mine", "theirs"])
        assert sorted((r["guild_id"], r["name"]) for r in wide) == [(1, "mine"), (2, "theirs")]
    finally:
        await conn.close()


# a separator the first pass leaves empty (`sep = ""`, then `sep = "OR "`): the later passes
# start from what a pass leaves, so `OR` is never first (it was a TG009 warning, the leak unseen)
FLAGGED = (
    "async def tags(conn, guild_id, names):\n"
    "    conds = []\n"
    '    sep = ""\n'
    "    for k, n in enumerate(names, 2):\n"
    '        conds.append(sep + f"name = ${k}")\n'
    '        sep = "OR "\n'
    '    sql = "SELECT * FROM tags WHERE guild_id = $1 AND (" + " ".join(conds) + ")"\n'
    "    return await conn.fetch(sql, guild_id, *names)\n"
)
FLAGGED_UNGROUPED = FLAGGED.replace(
    '"SELECT * FROM tags WHERE guild_id = $1 AND (" + " ".join(conds) + ")"',
    '"SELECT * FROM tags WHERE guild_id = $1 AND " + " ".join(conds)',
)


def test_a_separator_the_first_pass_leaves_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/tags.py": FLAGGED})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []
    write_guild_project(tmp_path, {"bot/tags.py": FLAGGED_UNGROUPED})
    assert ("bot/tags.py", 7, "TG001") in findings_of_check(tmp_path, capsys, monkeypatch)
