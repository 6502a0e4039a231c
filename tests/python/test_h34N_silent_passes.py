"""Session 34 (helper N), issue 12: silent passes opened by this round's Python-reader changes.

Each resolution that accepts a constant is a place where the SQL that reaches the driver may
differ from the SQL checked. Each case: a small project, `tenantguard check` on it, and the
finding at the sink where another value can reach it.

- `x += …` in a function is that function's own `x` (325ba11, 808a1a3), unless the function
  binds `x` to the module's object itself: `from q import PARTS` (or `… as p`) in its body, or a
  `match PARTS: case p:` capture (the latter also for `p.append(…)`, before this round).
"""

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

PARTS = 'PARTS = ["SELECT name FROM tags WHERE guild_id = $1"]\n'
JOINED = (
    "from bot.q import PARTS\n"
    "\n"
    "\n"
    "async def joined(conn, guild_id):\n"
    '    return await conn.fetch("".join(PARTS), guild_id)\n'  # 5
)
# a function that binds the module's list itself, then extends or changes it
CHANGERS = {
    "import_in_the_function": (
        "def admin():\n    from bot.q import PARTS\n\n    PARTS += [' OR TRUE']\n"
    ),
    "import_as_in_the_function": (
        "def admin():\n    from bot.q import PARTS as p\n\n    p += [' OR TRUE']\n"
    ),
    "import_parenthesised": (
        "def admin():\n    from bot.q import (\n        PARTS,\n    )\n\n    PARTS += [' OR TRUE']\n"
    ),
    "match_capture_extended": (
        "from bot.q import PARTS\n\n\ndef admin():\n    match PARTS:\n        case p:\n"
        "            p += [' OR TRUE']\n"
    ),
    "match_capture_appended": (
        "from bot.q import PARTS\n\n\ndef admin():\n    match PARTS:\n        case [*_] as p:\n"
        "            p.append(' OR TRUE')\n"
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGERS))
def test_a_list_bound_to_the_module_object_in_a_function_and_extended_is_changed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    files = {"bot/q.py": PARTS, "bot/admin.py": CHANGERS[change], "bot/tags.py": JOINED}
    write_guild_project(tmp_path, files)
    assert ("bot/tags.py", 5, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)


# the module's list read from a namespace by its name, then changed (before this round too)
BY_KEY = {
    # a container of the module holds the list, changed through its item in another module
    "container_item_changed_in_another_module": {
        "bot/q.py": PARTS + 'REG = {"p": PARTS}\n',
        "bot/admin.py": "from bot.q import REG\n\nREG['p'].append(' OR TRUE')\n",
    },
    "globals_item_appended": {
        "bot/q.py": PARTS + "\n\ndef admin():\n    p = globals()['PARTS']\n"
        "    p.append(' OR TRUE')\n"
    },
    "globals_get_extended": {
        "bot/q.py": PARTS + "\n\ndef admin():\n    p = globals().get('PARTS')\n"
        "    p += [' OR TRUE']\n"
    },
    "globals_item_appended_at_once": {
        "bot/q.py": PARTS + "\n\ndef admin():\n    globals()['PARTS'].append(' OR TRUE')\n"
    },
    "vars_get_with_default_extended": {
        "bot/admin.py": "from bot import q\n\nvars(q).get('PARTS', []).extend([' OR TRUE'])\n"
    },
}


@pytest.mark.parametrize("change", sorted(BY_KEY))
def test_a_list_read_from_a_namespace_by_its_name_and_changed_is_changed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    files = {"bot/q.py": PARTS, "bot/tags.py": JOINED, **BY_KEY[change]}
    write_guild_project(tmp_path, files)
    assert ("bot/tags.py", 5, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)


# the safe twins: a local of the same name, a match on another value
UNCHANGED = {
    "local_of_the_same_name": (
        "def admin(n):\n    PARTS = ['SELECT 1']\n    PARTS += [' LIMIT 1']\n    return PARTS\n"
    ),
    "import_of_another_name": (
        "def admin():\n    from bot.q import other\n\n    PARTS = []\n    PARTS += ['x']\n"
    ),
    "match_on_another_value": (
        "def admin(row):\n    match row:\n        case p:\n            p += [' x']\n"
    ),
}


def test_a_list_read_from_a_namespace_and_left_alone_is_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = PARTS + "\n\ndef size():\n    p = globals()['PARTS']\n    return len(p)\n"
    write_guild_project(tmp_path, {"bot/q.py": reader, "bot/tags.py": JOINED})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize("change", sorted(UNCHANGED))
def test_a_local_list_extended_is_no_change_of_the_module_list(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    files = {
        "bot/q.py": PARTS + "other = 1\n",
        "bot/admin.py": UNCHANGED[change],
        "bot/tags.py": JOINED,
    }
    write_guild_project(tmp_path, files)
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


# a field of a record made with arguments holds what the call gave it (9cf2956), unless
# another value reaches it: the module's name set again from another module, a constructor
# wrapped by another decorator, a project's own `dataclass`, `Query.__init__ = …`
RECORDS = (
    "from dataclasses import dataclass\n"
    "\n"
    "\n"
    "@dataclass(frozen=True)\n"
    "class Query:\n"
    "    text: str\n"
    '    name: str = "q"\n'
    "\n"
    "\n"
    'TAGS = Query("SELECT name FROM tags WHERE guild_id = $1")\n'
)
READS = (
    "from bot import queries\n"
    "from bot.queries import TAGS\n"
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    "    await conn.fetch(queries.TAGS.text, guild_id)\n"  # 6
    "    return await conn.fetch(TAGS.text, guild_id)\n"  # 7
)
WRAPPED = (
    "def relaxed(cls):\n"
    "    init = cls.__init__\n"
    "\n"
    "    def __init__(self, text, *rest):\n"
    "        init(self, text + ' OR TRUE', *rest)\n"
    "\n"
    "    cls.__init__ = __init__\n"
    "    return cls\n"
)
RECORD_CHANGES = {
    # the module's name set again elsewhere, from its own text: no SQL literal to see
    "replaced_from_another_module": {
        "bot/admin.py": "import dataclasses\nfrom bot import queries\n\nqueries.TAGS = "
        "dataclasses.replace(queries.TAGS, text=queries.TAGS.text + ' OR TRUE')\n"
    },
    "made_again_in_another_module": {
        "bot/admin.py": "from bot import queries\nfrom bot.queries import Query\n\n"
        "queries.TAGS = Query(queries.TAGS.text + ' OR TRUE')\n"
    },
    # another decorator wraps the generated __init__
    "another_decorator": {
        "bot/queries.py": "from dataclasses import dataclass\n\n\n"
        + WRAPPED
        + "\n\n@relaxed\n"
        + RECORDS.split("\n\n\n", 1)[1]
    },
    # a project's own `dataclass`
    "a_projects_own_dataclass": {
        "bot/deco.py": WRAPPED.replace("relaxed", "dataclass"),
        "bot/queries.py": RECORDS.replace("from dataclasses", "from bot.deco"),
    },
    # the constructor replaced after the class is made
    "init_assigned": {
        "bot/queries.py": RECORDS + "_made = Query.__init__\n\n\ndef _init(self, text, name='q'):\n"
        "    _made(self, text + ' OR TRUE', name)\n\n\nQuery.__init__ = _init\n"
    },
    # a field whose default is a `field(init=False)` held by a name: not in the constructor
    "field_held_by_a_name": {
        "bot/queries.py": RECORDS.replace(
            "import dataclass\n",
            "import dataclass, field\n\nHIDDEN = field(init=False, default=' OR TRUE')\n",
            1,
        ).replace(
            '    text: str\n    name: str = "q"\n', '    text: str = HIDDEN\n    name: str = "q"\n'
        )
    },
}


@pytest.mark.parametrize("change", sorted(RECORD_CHANGES))
def test_a_record_field_another_value_can_reach_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    files = {"bot/queries.py": RECORDS, "bot/tags.py": READS, **RECORD_CHANGES[change]}
    write_guild_project(tmp_path, files)
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert ("bot/tags.py", 6, "TG009") in found
    assert ("bot/tags.py", 7, "TG009") in found


@pytest.mark.parametrize(
    "queries",
    [
        RECORDS,
        RECORDS.replace("from dataclasses import dataclass", "import dataclasses as dc").replace(
            "@dataclass(", "@dc.dataclass("
        ),
        # a default of a module constant, a ClassVar under another name
        "from dataclasses import dataclass\nfrom typing import ClassVar as CV\n\n"
        "LIMIT = ' LIMIT 10'\n\n\n@dataclass(frozen=True)\nclass Query:\n    text: str\n"
        "    kind: CV[str] = 'sql'\n    name: str = 'q'\n    tail: str = LIMIT\n\n\n"
        "TAGS = Query('SELECT name FROM tags WHERE guild_id = $1', 'tags')\n",
        # an enum's member and a number as defaults, typing.final beside the decorator
        "import enum\nfrom dataclasses import dataclass\nfrom typing import final\n\n\n"
        "class Kind(enum.Enum):\n    ALL = 'all'\n\n\n@final\n@dataclass(frozen=True)\n"
        "class Query:\n    text: str\n    kind: Kind = Kind.ALL\n    limit: int = 10\n\n\n"
        "TAGS = Query('SELECT name FROM tags WHERE guild_id = $1')\n",
        # a NamedTuple
        "from typing import NamedTuple\n\n\nclass Query(NamedTuple):\n    text: str\n"
        "    name: str = 'q'\n\n\nTAGS = Query('SELECT name FROM tags WHERE guild_id = $1')\n",
    ],
)
def test_a_record_made_once_and_never_changed_stays_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    queries: str,
) -> None:
    write_guild_project(tmp_path, {"bot/queries.py": queries, "bot/tags.py": READS})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


# a field annotated under `if` in the class body comes first in the constructor
UNDER_IF = (
    "import sys\n"
    "from dataclasses import dataclass\n"
    "\n"
    "\n"
    "@dataclass(frozen=True)\n"
    "class Query:\n"
    "    if sys.version_info >= (3, 0):\n"
    '        prefix: str = ""\n'
    '    text: str = " OR TRUE"\n'
    "\n"
    "\n"
    'TAGS = Query("SELECT name FROM tags WHERE guild_id = $1")\n'
)
PREFIXED = (
    "from bot import queries\n"
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    "    return await conn.fetch(queries.TAGS.prefix + queries.TAGS.text, guild_id)\n"  # 5
)


def test_a_field_annotated_under_if_is_not_mapped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/queries.py": UNDER_IF, "bot/tags.py": PREFIXED})
    assert ("bot/tags.py", 5, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)


# a parameter extended (`def relax(self, parts): parts += …`) handed an alias of the class's
# list made in another method (`p = self.PARTS; self.relax(p)`) or what a method returns
# (`self.relax(self.view())`): the second was caught by name coincidence before 325ba11
REPO = (
    "class Repo:\n"
    '    PARTS = ["SELECT name FROM tags WHERE guild_id = $1"]\n'
    "\n"
    "    def view(self):\n"
    "        parts = self.PARTS\n"
    "        return parts\n"
    "\n"
    "    def relax(self, parts):\n"
    '        parts += [" OR TRUE"]\n'
    "\n"
    "    def go(self):\n"
    "        {hand}\n"
    "\n"
    "    async def tags(self, conn, guild_id):\n"
    '        return await conn.fetch(" ".join(Repo.PARTS), guild_id)\n'  # 15 (16: two lines)
)


@pytest.mark.parametrize(
    ("hand", "expected"),
    [
        ("p = self.PARTS\n        self.relax(p)", [("bot/repo.py", 16, "TG009")]),
        ("self.relax(self.view())", [("bot/repo.py", 15, "TG009")]),
        ("self.relax(list(self.view()))", []),
        ("p = list(self.PARTS)\n        self.relax(p)", []),
    ],
)
def test_a_parameter_extended_changes_the_alias_it_is_handed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    hand: str,
    expected: list[tuple[str, int, str]],
) -> None:
    write_guild_project(tmp_path, {"bot/repo.py": REPO.replace("{hand}", hand)})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == expected


# (a list-display target, `[p] = [PARTS]`, found here and left unfixed: fixed by h35D,
# tests/python/test_h35D_python.py)


# what the server returns for two of the shapes fixed above: another guild's tags


@pytest.mark.parametrize(
    ("files", "changer", "send"),
    [
        (
            {
                "bot/q.py": PARTS,
                "bot/admin.py": CHANGERS["import_in_the_function"],
                "bot/tags.py": JOINED,
            },
            "admin",
            "joined",
        ),
        (
            {
                "bot/queries.py": RECORDS,
                "bot/tags.py": READS,
                **RECORD_CHANGES["another_decorator"],
            },
            None,
            "tags",
        ),
    ],
)
async def test_the_shapes_send_another_guilds_tags(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    guilds: str,
    files: dict[str, str],
    changer: str | None,
    send: str,
) -> None:
    write_guild_project(tmp_path, files)
    import_fresh_bot(tmp_path, monkeypatch)
    if changer is not None:
        importlib.import_module("bot.admin").admin()
    tags = importlib.import_module("bot.tags")
    conn = await asyncpg.connect(guilds)
    try:
        rows = await getattr(tags, send)(conn, 1)
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]
