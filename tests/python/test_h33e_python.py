"""Helper h33e on the Python reader with real shapes (issue 12): SQL built in a loop over rows
known only at run time.

- A list every pass of such a loop grows (`values.append(f"($1, ${len(args)})")`, then
  `"… VALUES " + ", ".join(values)`) was read as "items appended in a loop": TG009 on SQL
  whose every fill is constant text, and a leak hidden behind it — `"… WHERE guild_id = $1 AND
  " + " OR ".join(conds)` sends `guild_id = $1 AND name = $2 OR name = $3`, every guild's
  rows named `$3` (shown on the server below), only a warning. The list is now read as one
  pass's items and as two passes' (each item text of constants): the OR of two is the leak.
- A loop over a name a test showed to hold items (`if not rows: return` before it) still read
  as maybe running no pass: `INSERT … VALUES ` with nothing after it, TG006 (an error) on a
  guarded bulk insert. Unguarded, the empty list stays a TG006: the program sends SQL that
  does not parse.
- `", ".join("$%d" % (i + 2) for i in …)` numbered placeholders as `f"${i + 2}"` does: read as
  computed at run time (TG009)."""

from __future__ import annotations

import importlib
from pathlib import Path

import asyncpg
import pytest

from tests.project_files import (
    findings_at,
    import_fresh_bot,
    write_guild_project,
)

LOOPS = (
    "async def add_tags(conn, guild_id, names):\n"
    "    if not names:\n"
    "        return\n"
    "    values = []\n"
    "    args = [guild_id]\n"
    "    for name in names:\n"
    "        args.append(name)\n"
    '        values.append(f"($1, ${len(args)}, 0)")\n'
    '    sql = "INSERT INTO tags (guild_id, name, uses) VALUES " + ", ".join(values)\n'
    "    await conn.execute(sql, *args)\n"  # 10
    "\n"
    "\n"
    "async def named(conn, guild_id, names):\n"
    "    conds = []\n"
    "    args = [guild_id]\n"
    "    for name in names:\n"
    "        args.append(name)\n"
    '        conds.append(f"name = ${len(args)}")\n'
    '    sql = "SELECT name FROM tags WHERE guild_id = $1 AND " + " OR ".join(conds)\n'  # 19
    "    return await conn.fetch(sql, *args)\n"
    "\n"
    "\n"
    "async def named_ok(conn, guild_id, names):\n"
    "    conds = []\n"
    "    args = [guild_id]\n"
    "    for i, name in enumerate(names):\n"
    "        args.append(name)\n"
    '        conds.append("name = $%d" % len(args))\n'
    '    sql = "SELECT name FROM tags WHERE guild_id = $1 AND (" + " OR ".join(conds) + ")"\n'
    "    return await conn.fetch(sql, *args)\n"  # 30
    "\n"
    "\n"
    "async def drop(conn, guild_id, ids):\n"
    '    marks = ", ".join("$%d" % (i + 2) for i in range(len(ids)))\n'
    '    sql = "DELETE FROM tags WHERE guild_id = $1 AND id IN (%s)" % marks\n'
    "    await conn.execute(sql, guild_id, *ids)\n"
    "\n"
    "\n"
    "async def add_unguarded(conn, guild_id, names):\n"
    "    values = []\n"  # 40
    "    for i, name in enumerate(names):\n"
    '        values.append(f"($1, ${i + 2}, 0)")\n'
    '    sql = "INSERT INTO tags (guild_id, name, uses) VALUES " + ", ".join(values)\n'
    "    await conn.execute(sql, guild_id, *names)\n"
)


def test_sql_built_in_a_loop_over_rows_is_read_pass_by_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/loops.py": LOOPS})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        # `… AND name = $2 OR name = $3`: the second name of any guild
        ("bot/loops.py", 19, 29, "TG001"),
        # no names (no test before the loop): `… AND ` and `… VALUES ` are sent, which do
        # not parse
        ("bot/loops.py", 19, 56, "TG006"),
        ("bot/loops.py", 43, 57, "TG006"),
    ]


async def test_the_loop_built_statements_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/loops.py": LOOPS})
    import_fresh_bot(tmp_path, monkeypatch)
    loops = importlib.import_module("bot.loops")
    conn = await asyncpg.connect(guilds)
    try:
        leaked = await loops.named(conn, 1, ["mine", "theirs"])
        assert sorted(r["name"] for r in leaked) == ["mine", "theirs"]  # guild 2's tag
        pinned = await loops.named_ok(conn, 1, ["mine", "theirs"])
        assert [r["name"] for r in pinned] == ["mine"]
        await loops.add_tags(conn, 1, ["a", "b"])
        await loops.add_tags(conn, 1, [])
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM tags")]
        await loops.drop(conn, 1, ids)
        left = await conn.fetch("SELECT guild_id, name FROM tags")
        assert [tuple(r) for r in left] == [(2, "theirs")]
        with pytest.raises(asyncpg.PostgresSyntaxError):
            await loops.add_unguarded(conn, 1, [])
    finally:
        await conn.close()


# a template filled by `.format_map()` of constants, and text whose indentation
# `inspect.cleandoc` removes: both constant SQL, read as computed at run time (TG009) — the
# leak among them a warning

TEMPLATES = (
    "import inspect\n"
    "\n"
    'TPL = "SELECT name FROM tags WHERE {cond}"\n'
    'PINNED = {"cond": "guild_id = $1"}\n'
    "ALL = inspect.cleandoc(\n"
    '    """\n'
    "    SELECT name\n"
    "    FROM tags\n"  # 8
    '    """\n'
    ")\n"
    "\n"
    "\n"
    "async def used(conn):\n"
    '    return await conn.fetch(TPL.format_map({"cond": "uses >= 0"}))\n'  # 14
    "\n"
    "\n"
    "async def pinned(conn, guild_id):\n"
    "    return await conn.fetch(TPL.format_map(PINNED), guild_id)\n"
    "\n"
    "\n"
    "async def every(conn):\n"
    "    return await conn.fetch(ALL)\n"
    "\n"
    "\n"
    "async def own(conn, guild_id):\n"
    '    query = inspect.cleandoc("""\n'
    "        SELECT name FROM tags\n"
    "        WHERE guild_id = $1\n"
    '    """)\n'
    "    return await conn.fetch(query, guild_id)\n"
    "\n"
    "\n"
    "async def given(conn, fields, guild_id):\n"
    "    return await conn.fetch(TPL.format_map(fields), guild_id)\n"  # 34
)


def test_format_map_and_cleandoc_of_constants_are_constant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/templates.py": TEMPLATES})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/templates.py", 3, 25, "TG001"),  # used(): `WHERE uses >= 0`
        ("bot/templates.py", 8, 10, "TG001"),  # every()
        ("bot/templates.py", 34, 29, "TG009"),  # a mapping of the caller's
    ]


async def test_the_templates_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/templates.py": TEMPLATES})
    import_fresh_bot(tmp_path, monkeypatch)
    templates = importlib.import_module("bot.templates")
    conn = await asyncpg.connect(guilds)
    try:
        assert sorted(r["name"] for r in await templates.used(conn)) == ["mine", "theirs"]
        assert sorted(r["name"] for r in await templates.every(conn)) == ["mine", "theirs"]
        assert [r["name"] for r in await templates.pinned(conn, 1)] == ["mine"]
        assert [r["name"] for r in await templates.own(conn, 1)] == ["mine"]
    finally:
        await conn.close()


# `cls.columns` joined in a classmethod of a base repository, each subclass its own tuple of
# constants: `self.columns` was read class by class, `cls.columns` as computed at run time
# (TG009 on every repository)

REPOSITORIES = (
    "class Repo:\n"
    '    columns = ("name",)\n'
    "\n"
    "    def __init__(self, conn):\n"
    "        self.conn = conn\n"
    "\n"
    "    @classmethod\n"
    "    def select_sql(cls):\n"
    "        return f\"SELECT {', '.join(cls.columns)} FROM tags WHERE guild_id = $1\"\n"
    "\n"
    "    async def rows(self, guild_id):\n"
    "        return await self.conn.fetch(self.select_sql(), guild_id)\n"
    "\n"
    "\n"
    "class Names(Repo):\n"
    '    columns = ("name", "uses")\n'
    "\n"
    "\n"
    "class Ranked(Repo):\n"
    '    columns = ("name", "rank() OVER (ORDER BY uses) AS r")\n'
)
COUNTED = (
    "\n\nclass Counted(Repo):\n"
    '    columns = ("name", "(SELECT string_agg(t.name, \',\') FROM tags t) AS every")\n'  # 24
)


def test_a_classmethod_joins_each_subclass_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/repo.py": REPOSITORIES})
    assert findings_at(tmp_path, capsys, monkeypatch) == []
    write_guild_project(tmp_path, {"bot/repo.py": REPOSITORIES + COUNTED})
    findings = findings_at(tmp_path, capsys, monkeypatch)
    assert findings == [("bot/repo.py", 24, 62, "TG001")]


async def test_the_repositories_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/repo.py": REPOSITORIES + COUNTED})
    import_fresh_bot(tmp_path, monkeypatch)
    repo = importlib.import_module("bot.repo")
    conn = await asyncpg.connect(guilds)
    try:
        assert [tuple(r) for r in await repo.Names(conn).rows(1)] == [("mine", 0)]
        assert [tuple(r) for r in await repo.Ranked(conn).rows(1)] == [("mine", 1)]
        [(name, every)] = await repo.Counted(conn).rows(1)
        assert (name, sorted(every.split(","))) == ("mine", ["mine", "theirs"])  # guild 2's
    finally:
        await conn.close()


# `operator.methodcaller("fetch", sql)` kept in a name, then called with the connection
# (h32g's strict xfail): the call was only read written in one piece
# (`methodcaller(…)(conn)`); kept, its SQL reached `.fetch()` unseen

CALLERS = (
    "import operator\n"
    "from operator import methodcaller\n"
    "\n"
    'EVERY = operator.methodcaller("fetch", "SELECT name FROM tags WHERE guild_id = $1"[:21])\n'
    'OWN = methodcaller("fetch", "SELECT name FROM tags WHERE guild_id = $1", 1)\n'
    "\n"
    "\n"
    "async def every(conn):\n"
    "    return await EVERY(conn)\n"  # 9
    "\n"
    "\n"
    "async def own(conn):\n"
    "    return await OWN(conn)\n"
    "\n"
    "\n"
    "async def sliced(conn):\n"
    '    m = operator.methodcaller("fetch", "SELECT name FROM tags WHERE uses >= 0")\n'  # 17
    "    return await m(conn)\n"
)


def test_a_methodcaller_kept_in_a_name_sends_its_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/callers.py": CALLERS})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/callers.py", 4, 40, "TG009"),  # `"…"[:21]`: `SELECT name FROM tags`
        ("bot/callers.py", 17, 58, "TG001"),
    ]


async def test_the_method_callers_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/callers.py": CALLERS})
    import_fresh_bot(tmp_path, monkeypatch)
    callers = importlib.import_module("bot.callers")
    conn = await asyncpg.connect(guilds)
    try:
        assert sorted(r["name"] for r in await callers.every(conn)) == ["mine", "theirs"]
        assert sorted(r["name"] for r in await callers.sliced(conn)) == ["mine", "theirs"]
        assert [r["name"] for r in await callers.own(conn)] == ["mine"]
    finally:
        await conn.close()


# a query method stored into a module's dict by a function (`OPS["fetch"] = conn.fetch`), then
# called through an item (h32g's strict xfail): read only when the dict was written with it

REGISTRY = (
    "OPS = {}\n"
    "\n"
    "\n"
    "def register(conn):\n"
    '    OPS["fetch"] = conn.fetch\n'
    "\n"
    "\n"
    "async def every():\n"
    '    return await OPS["fetch"]("SELECT name FROM tags WHERE guild_id = $1"[:21])\n'  # 9
    "\n"
    "\n"
    "async def own(guild_id):\n"
    '    return await OPS["fetch"]("SELECT name FROM tags WHERE guild_id = $1", guild_id)\n'
    "\n"
    "\n"
    "async def used():\n"
    '    return await OPS.get("fetch")("SELECT name FROM tags WHERE uses >= 0")\n'  # 17
)


def test_a_query_method_stored_into_a_module_dict_sends_its_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/registry.py": REGISTRY})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/registry.py", 9, 31, "TG009"),
        ("bot/registry.py", 17, 53, "TG001"),
    ]


async def test_the_registry_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/registry.py": REGISTRY})
    import_fresh_bot(tmp_path, monkeypatch)
    registry = importlib.import_module("bot.registry")
    conn = await asyncpg.connect(guilds)
    try:
        registry.register(conn)
        assert sorted(r["name"] for r in await registry.every()) == ["mine", "theirs"]
        assert sorted(r["name"] for r in await registry.used()) == ["mine", "theirs"]
        assert [r["name"] for r in await registry.own(1)] == ["mine"]
    finally:
        await conn.close()


# a function that changes its parameter handed as a value, with the module's list, to
# `map()` / `partial()` / `asyncio.to_thread()` (h32g's strict xfail): the list stayed proven

PARTS = 'PARTS = ["SELECT name FROM tags WHERE guild_id = $1"]\n'
JOINED = (
    "from bot.q import PARTS\n"
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    '    return await conn.fetch("".join(PARTS), guild_id)\n'  # 5
)
WIDENS = 'from bot import q\n\n\ndef widen(cols):\n    cols.append(" OR TRUE")\n\n\n'
SHOWS = "from bot import q\n\n\ndef widen(cols):\n    print(cols)\n\n\n"


@pytest.mark.parametrize(
    "hands",
    [
        "list(map(widen, [q.PARTS]))\n",
        "import functools\n\nfunctools.partial(widen, q.PARTS)()\n",
        "import asyncio\n\nasyncio.run(asyncio.to_thread(widen, q.PARTS))\n",
    ],
)
def test_a_changing_function_handed_as_a_value_unproves_the_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, hands: str
) -> None:
    files = {"bot/q.py": PARTS, "bot/tags.py": JOINED}
    write_guild_project(tmp_path, {**files, "bot/admin.py": WIDENS + hands})
    assert findings_at(tmp_path, capsys, monkeypatch) == [("bot/tags.py", 5, 29, "TG009")]
    write_guild_project(tmp_path, {**files, "bot/admin.py": SHOWS + hands})
    assert findings_at(tmp_path, capsys, monkeypatch) == []


async def test_the_mapped_change_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    files = {"bot/q.py": PARTS, "bot/tags.py": JOINED}
    write_guild_project(
        tmp_path, {**files, "bot/admin.py": WIDENS + "list(map(widen, [q.PARTS]))\n"}
    )
    import_fresh_bot(tmp_path, monkeypatch)
    importlib.import_module("bot.admin")
    tags = importlib.import_module("bot.tags")
    conn = await asyncpg.connect(guilds)
    try:
        assert sorted(r["name"] for r in await tags.tags(conn, 1)) == ["mine", "theirs"]
    finally:
        await conn.close()


# a dataclass of queries made with no arguments (`Q = Queries()`): its fields hold their
# defaults, read as "a field: its default, unless the constructor is given another" (TG009 on
# every constant query of the project, the leak among them a warning)

DATACLASS = (
    "import os\n"
    "from dataclasses import dataclass\n"
    "\n"
    "\n"
    "@dataclass(frozen=True)\n"
    "class Queries:\n"
    '    every: str = "SELECT name FROM tags"\n'  # 7
    '    own: str = "SELECT name FROM tags WHERE guild_id = $1"\n'
    "\n"
    "\n"
    "Q = Queries()\n"
    'GIVEN = Queries(own=os.environ.get("OWN", "SELECT name FROM tags WHERE $1 > 0"))\n'
    "\n"
    "\n"
    "async def every(conn):\n"
    "    return await conn.fetch(Q.every)\n"
    "\n"
    "\n"
    "async def own(conn, guild_id):\n"
    "    return await conn.fetch(Q.own, guild_id)\n"  # 20
    "\n"
    "\n"
    "async def given(conn, guild_id):\n"
    "    return await conn.fetch(GIVEN.own, guild_id)\n"  # 24
)


def test_a_dataclass_made_with_no_arguments_holds_its_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/queries.py": DATACLASS})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/queries.py", 7, 36, "TG001"),
        ("bot/queries.py", 12, 61, "TG001"),  # the environment's default, where written
        ("bot/queries.py", 24, 29, "TG009"),  # given another: not its default
    ]
    # the defaults rewritten, or the field set on the object: what it holds is not known
    for change in (
        'from bot.queries import Queries\nQueries.__init__.__defaults__ = ("x", "y")\n',
        'from bot.queries import Q\nobject.__setattr__(Q, "own", "x")\n',
    ):
        write_guild_project(tmp_path, {"bot/queries.py": DATACLASS, "bot/admin.py": change})
        assert ("bot/queries.py", 20, 29, "TG009") in findings_at(tmp_path, capsys, monkeypatch)


async def test_the_dataclass_queries_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/queries.py": DATACLASS})
    import_fresh_bot(tmp_path, monkeypatch)
    queries = importlib.import_module("bot.queries")
    conn = await asyncpg.connect(guilds)
    try:
        assert sorted(r["name"] for r in await queries.every(conn)) == ["mine", "theirs"]
        assert [r["name"] for r in await queries.own(conn, 1)] == ["mine"]
        assert sorted(r["name"] for r in await queries.given(conn, 1)) == ["mine", "theirs"]
    finally:
        await conn.close()


# a method read off an object into a name (`fetch = self._fetch`), then called: the call was
# read as of the plain function, `self` filled by its first argument — the SQL given read as
# `self`, the next argument (`guild_id`, a value) as the SQL: TG009 on a pinned query, and an
# unpinned one unseen at its call

BOUND = (
    "class Repo:\n"
    "    def __init__(self, pool):\n"
    "        self.pool = pool\n"
    "\n"
    "    async def _fetch(self, sql, *args):\n"
    "        async with self.pool.acquire() as c:\n"
    "            return await c.fetch(sql, *args)\n"  # 7
    "\n"
    "    async def own(self, guild_id):\n"
    "        fetch = self._fetch\n"
    '        return await fetch("SELECT name FROM tags WHERE guild_id = $1", guild_id)\n'
    "\n"
    "    async def every(self):\n"
    "        fetch = self._fetch\n"
    '        return await fetch("SELECT name FROM tags WHERE guild_id = $1"[:21])\n'  # 15
)


def test_a_method_kept_in_a_name_is_called_without_self(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/repo.py": BOUND})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        # (the method's parameter: the method is handed out as a value, a known leftover)
        ("bot/repo.py", 7, 34, "TG009"),
        ("bot/repo.py", 15, 28, "TG009"),  # `SELECT name FROM tags`
    ]


async def test_the_kept_method_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/repo.py": BOUND})
    import_fresh_bot(tmp_path, monkeypatch)
    repo = importlib.import_module("bot.repo")
    pool = await asyncpg.create_pool(guilds, min_size=1, max_size=1)
    try:
        tags = repo.Repo(pool)
        assert [r["name"] for r in await tags.own(1)] == ["mine"]
        assert sorted(r["name"] for r in await tags.every()) == ["mine", "theirs"]
    finally:
        await pool.close()


# the method named by a constant through getattr (`getattr(self, "_fetch")(sql)`): the call
# was read as no project call (its SQL unseen at the call)

GETATTR = (
    "\n"
    "    async def every_named(self):\n"
    '        fetch = getattr(self, "_fetch")\n'
    '        return await getattr(self, "_fetch")("SELECT name FROM tags WHERE guild_id = $1"[:21])\n'
)


def test_a_method_named_through_getattr_is_called(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = BOUND.replace(
        "        fetch = self._fetch\n", "        fetch = getattr(self, '_fetch')\n"
    )
    write_guild_project(tmp_path, {"bot/repo.py": source})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/repo.py", 7, 34, "TG009"),
        ("bot/repo.py", 15, 28, "TG009"),
    ]
    write_guild_project(tmp_path, {"bot/repo.py": BOUND + GETATTR})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/repo.py", 7, 34, "TG009"),
        ("bot/repo.py", 15, 28, "TG009"),
        ("bot/repo.py", 19, 46, "TG009"),
    ]
