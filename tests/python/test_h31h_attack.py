"""Outside review h31h of the Python reader's changes in h31c (loops over constants read pass by
pass, a function's local list changed only by that function).

1. A function's local list was taken as changed only by a mutator called on its name, an
   `alias = X`, or a function called by its name: `holder = {"a": allowed}` then
   `holder["a"].append("guild_id")`, `grow = allowed.append`, `for l in [allowed]:
   l.append(…)`, `more = allowed or []`, `self.widen(allowed)` (a project method) all changed
   it unseen, and `if key in allowed:` narrowed the caller's keys to names the list no longer
   held: an UPDATE that sets `guild_id` (the row moves to another tenant) passed silently
   (TG009 before h31c). Any use of the name that is not a known read now counts as a change.
2. `with suppress(ValueError):` was read as a body that runs to its end: an exception after
   the first pass of a loop over constants (read pass by pass since h31c), or after the first
   of two assignments, leaves the earlier value, which was never checked — a WHERE whose pin
   an OR undoes passed silently (TG009 before h31c in the loop).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project_files import findings_of_check, write_guild_project

_found = findings_of_check
_project = write_guild_project


# 1. a local list handed on, then changed

ALLOWED_UPDATE = (
    "class Repo:\n"
    "    def widen(self, cols):\n"
    '        cols.append("guild_id")\n'
    "\n"
    "    async def update(self, db, guild_id, tag_id, fields):\n"
    '        allowed = ["name", "uses"]\n'
    "        HANDED\n"
    "        sets = []\n"
    "        params = [guild_id, tag_id]\n"
    "        for key, val in fields.items():\n"  # 10
    "            if key in allowed:\n"
    "                params.append(val)\n"
    '                sets.append(f"{key} = ${len(params)}")\n'
    "        await db.execute(\n"
    "            f\"UPDATE tags SET {', '.join(sets)} WHERE guild_id = $1 AND id = $2\", *params\n"
    "        )\n"
)


@pytest.mark.parametrize(
    "handed",
    [
        'holder = {"a": allowed}; holder["a"].append("guild_id")',
        'grow = allowed.append; grow("guild_id")',
        'for cols in [allowed]: cols.append("guild_id")',
        'more = allowed or []; more.append("guild_id")',
        "self.widen(allowed)",
    ],
)
def test_a_local_list_handed_on_and_changed_is_not_read_as_built(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    handed: str,
) -> None:
    _project(tmp_path, {"bot/tags.py": ALLOWED_UPDATE.replace("HANDED", handed)})
    # the SET may hold `guild_id = $3`: unproven (TG009), not a silent pass
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/tags.py", 10, "TG009")]


@pytest.mark.parametrize(
    "read",
    [
        "pass",
        "assert len(allowed) == 2 and allowed[0] and sorted(allowed)",
        'print(", ".join(allowed), f"{allowed}", allowed + ["x"], allowed.copy())',
    ],
)
def test_a_local_list_only_read_still_narrows(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    read: str,
) -> None:
    _project(tmp_path, {"bot/tags.py": ALLOWED_UPDATE.replace("HANDED", read)})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 2. `with suppress(…)`: the body may end after any statement

SUPPRESSED_LOOP = (
    "from contextlib import suppress\n"
    "\n"
    "\n"
    "async def tag(db, guild_id, tag_id):\n"
    '    where = "guild_id = $1"\n'
    "    with suppress(ValueError):\n"
    '        for c in (" OR id = $2", " AND guild_id = $1"):\n'
    '            where = "(" + where + c + ")"\n'
    "            int(c.split()[-1])  # ValueError on the first pass\n"
    '    return await db.fetch("SELECT name FROM tags WHERE " + where, guild_id, tag_id)\n'  # 10
)

SUPPRESSED_STEPS = (
    "import contextlib\n"
    "\n"
    "\n"
    "async def tag(db, guild_id, tag_id, page):\n"
    '    where = "guild_id = $1 OR id = $2"\n'
    "    with contextlib.suppress(ValueError):\n"
    "        int(page)\n"
    '        where = "guild_id = $1"\n'
    "\n"
    '    return await db.fetch("SELECT name FROM tags WHERE " + where, guild_id, tag_id)\n'  # 10
)


@pytest.mark.parametrize("source", [SUPPRESSED_LOOP, SUPPRESSED_STEPS])
def test_what_a_suppressed_exception_leaves_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    _project(tmp_path, {"bot/tags.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/tags.py", 10, "TG001")]


def test_a_suppressed_body_that_keeps_the_pin_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = SUPPRESSED_STEPS.replace("guild_id = $1 OR id = $2", "guild_id = $1 AND id = $2")
    _project(tmp_path, {"bot/tags.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 3. a module's list changed through a default argument or a container holding it

MODULE_COLUMNS = (
    'COLUMNS = ["guild_id", "id"]\n'
    "CHANGE\n"
    "\n"
    "\n"
    "async def tag(db, guild_id, tag_id):\n"
    "    keys = []\n"
    "    for column in COLUMNS:\n"
    '        keys.append(f"{column} = ${len(keys) + 1}")\n'
    '    where = " AND ".join(keys)\n'
    '    return await db.fetch(f"SELECT name FROM tags WHERE {where}", guild_id, tag_id)\n'  # 10
)


@pytest.mark.parametrize(
    "change",
    [
        "def admin_mode(cols=COLUMNS): cols.pop(0)",
        'REG = {"c": COLUMNS}; admin_mode = lambda: REG["c"].pop(0)',
        "def admin_mode():\n    for cols in [COLUMNS]: cols.pop(0)",
        "admin_mode = lambda: [cols.pop(0) for cols in (COLUMNS,)]",
    ],
)
def test_a_module_list_changed_through_another_name_is_not_read_pass_by_pass(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    # after admin_mode(), `WHERE id = $1`: another tenant's tag (before h31c: TG009 and the
    # empty list's TG006 + TG001, as now)
    source = MODULE_COLUMNS.replace("CHANGE", change)
    _project(tmp_path, {"bot/tags.py": source})
    found = _found(tmp_path, capsys, monkeypatch)
    assert ("bot/tags.py", source.count("\n"), "TG001") in found


def test_a_module_list_a_default_only_reads_is_read_pass_by_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    change = "def show(cols=COLUMNS): print(cols)"
    _project(tmp_path, {"bot/tags.py": MODULE_COLUMNS.replace("CHANGE", change)})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 4. a name a joined membership test narrows, assigned again in the same test

WALRUS_AFTER_TEST = (
    'ALLOWED = ("name", "uses")\n'
    "\n"
    "\n"
    "async def update(db, guild_id, tag_id, fields):\n"
    "    sets = []\n"
    "    params = [guild_id, tag_id]\n"
    "    for key, val in fields.items():\n"  # 7
    "        if key in ALLOWED and [NAME := val]:\n"
    "            params.append(val)\n"
    '            sets.append(f"{key} = ${len(params)}")\n'
    "    await db.execute(\n"
    "        f\"UPDATE tags SET {', '.join(sets)} WHERE guild_id = $1 AND id = $2\", *params\n"
    "    )\n"
)


@pytest.mark.parametrize(("name", "expected"), [("key", [("bot/tags.py", 7, "TG009")]), ("k", [])])
def test_a_name_assigned_in_the_narrowing_test_is_not_narrowed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    expected: list[tuple[str, int, str]],
) -> None:
    # fields={"name": "guild_id"}: key becomes "guild_id", SET guild_id = $3 moves the row
    _project(tmp_path, {"bot/tags.py": WALRUS_AFTER_TEST.replace("NAME", name)})
    assert _found(tmp_path, capsys, monkeypatch) == expected


# 5. a `break` on the first pass of a loop that runs at least once

BREAK_FIRST_PASS = (
    "async def tag(db, guild_id, stop):\n"
    '    where = "TRUE"\n'
    '    for c in ("guild_id = $1",):\n'
    "        if stop:\n"
    "            break\n"
    "        where = c\n"
    "    else:\n"
    "        pass\n"
    '    return await db.fetch("SELECT name FROM tags WHERE " + where, guild_id)\n'  # 9
)


@pytest.mark.parametrize("orelse", ["    else:\n        pass\n", ""])
def test_a_break_on_the_first_pass_leaves_what_the_loop_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, orelse: str
) -> None:
    # stop=True: SELECT name FROM tags WHERE TRUE (every tenant's tags)
    source = BREAK_FIRST_PASS.replace("    else:\n        pass\n", orelse)
    _project(tmp_path, {"bot/tags.py": source})
    line = source.count("\n")
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/tags.py", line, "TG001")]


# 6. other context managers that end their body early

SUPPRESSED_ELSEWHERE = (
    "IMPORT\n"
    "\n"
    "\n"
    "async def tag(db, guild_id, tag_id, delay):\n"
    '    where = "guild_id = $1 OR id = $2"\n'
    "    with MANAGER:\n"
    "        await anyio.sleep(delay)\n"
    '        where = "guild_id = $1"\n'
    "\n"
    '    return await db.fetch("SELECT name FROM tags WHERE " + where, guild_id, tag_id)\n'  # 10
)


@pytest.mark.parametrize(
    ("imported", "manager"),
    [
        ("import anyio\nfrom contextlib import suppress as ignoring", "ignoring(ValueError)"),
        ("import anyio", "anyio.move_on_after(1)"),
        ("import anyio\nimport trio", "trio.CancelScope()"),
    ],
)
def test_a_body_a_context_manager_may_end_early_is_read_so(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    imported: str,
    manager: str,
) -> None:
    source = SUPPRESSED_ELSEWHERE.replace("IMPORT", imported).replace("MANAGER", manager)
    _project(tmp_path, {"bot/tags.py": source})
    line = source.count("\n")
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/tags.py", line, "TG001")]
