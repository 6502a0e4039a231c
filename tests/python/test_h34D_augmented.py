"""Session 34 (helper D), issue 12: `query += …` in one function made another function's
alias of a module's collection "changed in place".

The scan for collections changed in place (`_outside_changes`, outside attack h32g) follows
aliases: `p = PARTS; p.append(…)` changes PARTS. It read every `x += …` of a file as a change
of every name `x` was ever bound from in that file, whatever function: the most common shape
of real code — `query = QUERIES["get_user"]` in one route, `query += " LIMIT 50"` in another —
made every module's `QUERIES` unknown, and each `QUERIES["k"]` of the project was TG009 (a
registry of constant SQL, never changed). Augmented assignment binds a local name: only an
alias made in the same function (or a parameter's default of it) is the object `+=` may
extend; with `global` / `nonlocal` in the file, any.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project_files import findings_of_check, write_guild_project

QUERIES = (
    'QUERIES = {"tags": "SELECT name FROM tags WHERE guild_id = $1"}\n'
    'PARTS = ["SELECT name FROM tags WHERE guild_id = $1"]\n'
)
SENDER = (
    "from bot.q import PARTS, QUERIES\n"
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    '    return await conn.fetch(QUERIES["tags"], guild_id)\n'  # 5
    "\n"
    "\n"
    "async def joined(conn, guild_id):\n"
    '    return await conn.fetch("".join(PARTS), guild_id)\n'  # 9
)
# another function's alias: a different variable, nothing of q's changed
ELSEWHERE = (
    "from bot.q import PARTS, QUERIES\n"
    "\n"
    "\n"
    "async def one(conn, guild_id):\n"
    '    query = QUERIES["tags"]\n'
    "    return await conn.fetch(query, guild_id)\n"
    "\n"
    "\n"
    "async def page(conn, guild_id, limit):\n"
    '    query = "SELECT name FROM tags WHERE guild_id = $1"\n'
    '    query += f" LIMIT {int(limit)}"\n'
    "    return await conn.fetch(query, guild_id)\n"
    "\n"
    "\n"
    "def columns():\n"
    "    parts = PARTS\n"
    "    return len(parts)\n"
    "\n"
    "\n"
    "def more(parts):\n"
    '    parts += " x"\n'
    "    return parts\n"
)
# the same function's alias (or a default, a global, a nonlocal): PARTS itself grows
CHANGERS = {
    "same_function": (
        "from bot.q import PARTS\n\n\ndef admin():\n    p = PARTS\n    p += [' OR TRUE']\n"
    ),
    "default_argument": (
        "from bot.q import PARTS\n\n\ndef admin(p=PARTS):\n    p += [' OR TRUE']\n"
    ),
    "module_level": "from bot.q import PARTS\n\np = PARTS\np += [' OR TRUE']\n",
    "global": (
        "from bot.q import PARTS\n\np = PARTS\n\n\ndef admin():\n    global p\n"
        "    p += [' OR TRUE']\n"
    ),
    "nonlocal": (
        "from bot.q import PARTS\n\n\ndef admin():\n    p = PARTS\n\n    def grow():\n"
        "        nonlocal p\n        p += [' OR TRUE']\n\n    grow()\n"
    ),
    "class_body_in_a_function": (
        "from bot.q import PARTS\n\n\ndef admin():\n    class Grow:\n        PARTS += [' OR TRUE']\n"
    ),
    "loop_in_function": (
        "from bot.q import PARTS\n\n\ndef admin():\n    for p in [PARTS]:\n"
        "        p += [' OR TRUE']\n"
    ),
}


def test_an_alias_in_another_function_is_another_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"bot/q.py": QUERIES, "bot/other.py": ELSEWHERE, "bot/tags.py": SENDER}
    write_guild_project(tmp_path, files)
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize("change", sorted(CHANGERS))
def test_an_alias_extended_in_its_own_scope_is_still_a_change(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    files = {"bot/q.py": QUERIES, "bot/admin.py": CHANGERS[change], "bot/tags.py": SENDER}
    write_guild_project(tmp_path, files)
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert ("bot/tags.py", 9, "TG009") in found


REGISTRY = (
    "class Repo:\n"
    '    BY_KIND = {"tags": "SELECT name FROM tags WHERE guild_id = $1"}\n'
    "\n"
    "    @classmethod\n"
    "    def sql(cls):\n"
    "        return cls.BY_KIND\n"
    "\n"
    "    async def tags(self, conn, guild_id):\n"
    '        return await conn.fetch(self.BY_KIND["tags"], guild_id)\n'  # 9
)
# a variable named like the function, extended in a function of another module
PAGED = (
    "async def page(conn, guild_id, n):\n"
    '    sql = "SELECT name FROM tags WHERE guild_id = $1"\n'
    '    sql += f" LIMIT {int(n)}"\n'
    "    return await conn.fetch(sql, guild_id)\n"
)
# what the function returns, changed in place: still a change
GROWN = "from bot.repo import Repo\n\nRepo.sql().update(tags='SELECT name FROM tags')\n"


def test_a_local_extended_is_not_what_a_function_of_that_name_returns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/repo.py": REGISTRY, "bot/page.py": PAGED})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


def test_what_a_function_returns_changed_in_place_is_still_a_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/repo.py": REGISTRY, "bot/admin.py": GROWN})
    assert ("bot/repo.py", 9, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)
