"""Helper h33j attacking the Python reader's fresh readings (issue 12, after h33e).

- An object's attributes written by a key not spelt at the write (`setattr(Q, f.name, v)` in
  a loop over `dataclasses.fields(Q)`, `vars(q).update(over)`, `setattr(q.Q, k, v)` in
  another module, a helper `put(q.Q, "own", v)` that calls `setattr(obj, k, v)`): `Q.own`
  of `Q = Queries()` was read as its class's value (a dataclass's default since h33e), so
  the SQL an override puts there (`SELECT name FROM tags WHERE $1::bigint > 0`, every
  guild's tags on the server below) reached `conn.fetch` unseen. An attribute read off a
  name that some file writes so is now computed at run time (TG009)."""

from __future__ import annotations

import importlib
import types
from pathlib import Path

import asyncpg
import pytest

from tests.project_files import (
    findings_at,
    import_fresh_bot,
    write_guild_project,
)

# queries kept in a dataclass, overridable from the environment by field name

OVERRIDDEN = (
    "from dataclasses import dataclass, fields\n"
    "\n"
    "\n"
    "@dataclass\n"
    "class Queries:\n"
    '    own: str = "SELECT name FROM tags WHERE guild_id = $1"\n'
    "\n"
    "\n"
    "Q = Queries()\n"
    "\n"
    "\n"
    "def load_overrides(env):\n"
    "    for f in fields(Q):\n"
    '        key = "BOT_SQL_" + f.name.upper()\n'
    "        if key in env:\n"
    "            setattr(Q, f.name, env[key])\n"
    "\n"
    "\n"
    "async def own(conn, guild_id):\n"
    "    return await conn.fetch(Q.own, guild_id)\n"  # 20
    "\n"
    "\n"
    "async def own_with(conn, guild_id, over):\n"
    "    q = Queries()\n"
    "    vars(q).update(over)\n"
    "    return await conn.fetch(q.own, guild_id)\n"  # 26
)
KEPT = OVERRIDDEN.replace("            setattr(Q, f.name, env[key])\n", "            print(key)\n")
KEPT = KEPT.replace("    vars(q).update(over)\n", "    print(vars(q))\n")
ELSEWHERE = (
    "from bot import queries\n"
    "\n"
    "\n"
    "def put(obj, name, value):\n"
    "    setattr(obj, name, value)\n"
    "\n"
    "\n"
    "def widen(sql):\n"
    '    put(queries.Q, "own", sql)\n'
)


def test_an_object_written_by_a_key_not_spelt_is_computed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/queries.py": OVERRIDDEN})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/queries.py", 20, 29, "TG009"),
        ("bot/queries.py", 26, 29, "TG009"),
    ]
    write_guild_project(tmp_path, {"bot/queries.py": KEPT})
    assert findings_at(tmp_path, capsys, monkeypatch) == []
    write_guild_project(tmp_path, {"bot/queries.py": KEPT, "bot/admin.py": ELSEWHERE})
    assert findings_at(tmp_path, capsys, monkeypatch) == [("bot/queries.py", 20, 29, "TG009")]


async def test_the_overridden_queries_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/queries.py": KEPT, "bot/admin.py": ELSEWHERE})
    (tmp_path / "bot" / "loaded.py").write_text(OVERRIDDEN)
    import_fresh_bot(tmp_path, monkeypatch)
    loaded = importlib.import_module("bot.loaded")
    queries = importlib.import_module("bot.queries")
    admin = importlib.import_module("bot.admin")
    every = "SELECT name FROM tags WHERE $1::bigint > 0"
    conn = await asyncpg.connect(guilds)
    try:
        assert [r["name"] for r in await loaded.own(conn, 1)] == ["mine"]
        wide = await loaded.own_with(conn, 1, {"own": every})
        assert sorted(r["name"] for r in wide) == ["mine", "theirs"]
        loaded.load_overrides({"BOT_SQL_OWN": every})
        assert sorted(r["name"] for r in await loaded.own(conn, 1)) == ["mine", "theirs"]
        admin.widen(every)
        assert sorted(r["name"] for r in await queries.own(conn, 1)) == ["mine", "theirs"]
    finally:
        await conn.close()


# a list grown by concatenation (`conds += [f"name = ${n}"]`, `conds = conds + […]`) was
# not read as `conds.append(…)` is: in a loop, `conds` "changes from one iteration to the
# next" (a warning on the leak `… guild_id = $1 AND name = $2 OR name = $3`, and on its
# parenthesised twin); out of one, `conds += ["uses > 0"]` under an `if` gave TG001 (an
# error) on `WHERE guild_id = $1 AND uses > 0`

CONCATENATED = (
    "async def named(conn, guild_id, names):\n"
    "    if not names:\n"
    "        return []\n"
    "    conds = []\n"
    "    args = [guild_id]\n"
    "    for name in names:\n"
    "        args.append(name)\n"
    '        conds += [f"name = ${len(args)}"]\n'
    '    sql = "SELECT name FROM tags WHERE guild_id = $1 AND " + " OR ".join(conds)\n'  # 9
    "    return await conn.fetch(sql, *args)\n"
    "\n"
    "\n"
    "async def named_ok(conn, guild_id, names):\n"
    "    if not names:\n"
    "        return []\n"
    "    conds = []\n"
    "    args = [guild_id]\n"
    "    for name in names:\n"
    "        args.append(name)\n"
    '        conds = conds + [f"name = ${len(args)}"]\n'
    '    sql = "SELECT name FROM tags WHERE guild_id = $1 AND (" + " OR ".join(conds) + ")"\n'
    "    return await conn.fetch(sql, *args)\n"
    "\n"
    "\n"
    "async def used(conn, guild_id, only_used):\n"
    '    conds = ["guild_id = $1"]\n'
    "    if only_used:\n"
    '        conds += ["uses > 0"]\n'
    '    return await conn.fetch("SELECT name FROM tags WHERE " + " AND ".join(conds), guild_id)\n'
)


def test_a_list_grown_by_concatenation_is_read_as_appended(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/concat.py": CONCATENATED})
    assert findings_at(tmp_path, capsys, monkeypatch) == [("bot/concat.py", 9, 29, "TG001")]


async def test_the_concatenated_lists_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/concat.py": CONCATENATED})
    import_fresh_bot(tmp_path, monkeypatch)
    concat = importlib.import_module("bot.concat")
    conn = await asyncpg.connect(guilds)
    try:
        leaked = await concat.named(conn, 1, ["mine", "theirs"])
        assert sorted(r["name"] for r in leaked) == ["mine", "theirs"]  # guild 2's tag
        assert [r["name"] for r in await concat.named_ok(conn, 1, ["mine", "theirs"])] == ["mine"]
        assert [r["name"] for r in await concat.used(conn, 1, True)] == []
        assert [r["name"] for r in await concat.used(conn, 1, False)] == ["mine"]
    finally:
        await conn.close()


# a query methodcaller kept in a name the module binds again (`global OWN` in a function,
# `ops.OWN = …` in another module, another methodcaller on one path of an `if`): the name
# became a value of "different kinds" or "assigned again", and `await OWN(conn)` was no
# call the reader knew — whatever SQL the new caller holds reached `.fetch()` unseen

GLOBAL_CALLER = (
    "import operator\n"
    "\n"
    'OWN = operator.methodcaller("fetch", "SELECT name FROM tags WHERE guild_id = $1", 1)\n'
    "\n"
    "\n"
    "def widen(sql):\n"
    "    global OWN\n"
    '    OWN = operator.methodcaller("fetch", sql)\n'  # 8
    "\n"
    "\n"
    "async def names(conn):\n"
    "    return await OWN(conn)\n"  # 12
    "\n"
    "\n"
    "async def names_for(conn, guild_id, custom_sql):\n"
    '    m = operator.methodcaller("fetch", "SELECT name FROM tags WHERE guild_id = $1", guild_id)\n'
    "    if custom_sql:\n"
    '        m = operator.methodcaller("fetch", custom_sql)\n'  # 18
    "    return await m(conn)\n"
    "\n"
    "\n"
    "async def uses_for(conn, guild_id, by_name):\n"
    '    m = operator.methodcaller("fetch", "SELECT uses FROM tags WHERE guild_id = $1", guild_id)\n'
    "    if by_name:\n"
    '        m = operator.methodcaller("fetch", "SELECT name FROM tags WHERE guild_id = $1", guild_id)\n'
    "    return await m(conn)\n"
)
OPS = 'import operator\n\nOWN = operator.methodcaller("fetch", "SELECT name FROM tags WHERE guild_id = $1", 1)\n\n\nasync def names(conn):\n    return await OWN(conn)\n'
OPS_ADMIN = (
    "import operator\n"
    "\n"
    "from bot import ops\n"
    "\n"
    "\n"
    "def widen(sql):\n"
    '    ops.OWN = operator.methodcaller("fetch", sql)\n'
)


def test_a_methodcaller_bound_again_is_read_as_each_and_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/callers.py": GLOBAL_CALLER})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/callers.py", 8, 42, "TG009"),  # widen's `sql`
        ("bot/callers.py", 12, 18, "TG009"),  # OWN: assigned again by `global`
        ("bot/callers.py", 18, 44, "TG009"),  # the caller's `custom_sql`
    ]
    write_guild_project(tmp_path / "two", {"bot/ops.py": OPS, "bot/admin.py": OPS_ADMIN})
    assert findings_at(tmp_path / "two", capsys, monkeypatch) == [("bot/ops.py", 7, 18, "TG009")]


async def test_the_methodcallers_bound_again_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    files = {"bot/callers.py": GLOBAL_CALLER, "bot/ops.py": OPS, "bot/admin.py": OPS_ADMIN}
    write_guild_project(tmp_path, files)
    import_fresh_bot(tmp_path, monkeypatch)
    callers = importlib.import_module("bot.callers")
    ops = importlib.import_module("bot.ops")
    admin = importlib.import_module("bot.admin")
    every = "SELECT name FROM tags"
    conn = await asyncpg.connect(guilds)
    try:
        assert [r["name"] for r in await callers.names(conn)] == ["mine"]
        assert [r["name"] for r in await callers.uses_for(conn, 1, True)] == ["mine"]
        assert sorted(r["name"] for r in await callers.names_for(conn, 1, every)) == [
            "mine",
            "theirs",
        ]
        callers.widen(every)
        assert sorted(r["name"] for r in await callers.names(conn)) == ["mine", "theirs"]
        admin.widen(every)
        assert sorted(r["name"] for r in await ops.names(conn)) == ["mine", "theirs"]
    finally:
        await conn.close()


# a project function bound to its pool by `functools.partial` and kept (`self.q` in a cog's
# `__init__`, a local name), then called with SQL (h33e's leftover): `self.q(sql)` was no call
# the reader followed, the SQL handed to it unread (only `run`'s own parameter warned of)

RUN = (
    "async def run(pool, sql, *args):\n"
    "    async with pool.acquire() as conn:\n"
    "        return await conn.fetch(sql, *args)\n"  # 3
)
COG = (
    "import functools\n"
    "\n"
    "from bot.db import run\n"
    "\n"
    "\n"
    'def select_tags(where=""):\n'
    '    return "SELECT name FROM tags" + where\n'  # 7
    "\n"
    "\n"
    "class Tags:\n"
    "    def __init__(self, bot):\n"
    "        self.bot = bot\n"
    "        self.q = functools.partial(run, bot.pool)\n"
    "\n"
    "    async def every(self):\n"
    "        return await self.q(select_tags())\n"
    "\n"
    "    async def own(self, guild_id):\n"
    '        return await self.q(select_tags(" WHERE guild_id = $1"), guild_id)\n'
    "\n"
    "\n"
    "async def own_in(pool, guild_id):\n"
    "    q = functools.partial(run, pool)\n"
    '    return await q(select_tags(" WHERE guild_id = $1"), guild_id)\n'
)


def test_a_partial_of_a_project_function_kept_is_called(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/db.py": RUN, "bot/cog.py": COG})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/cog.py", 7, 30, "TG001"),  # every(): `SELECT name FROM tags`
        ("bot/db.py", 3, 33, "TG009"),  # (`run` handed out as a value: a known leftover)
    ]
    used = (
        COG
        + '\n\nasync def used_in(pool):\n    return await functools.partial(run, pool)(select_tags(" WHERE uses >= 0"))\n'
    )
    safe = used.replace("select_tags())", 'select_tags(" WHERE guild_id = 1"))')
    write_guild_project(tmp_path, {"bot/db.py": RUN, "bot/cog.py": safe})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/cog.py", 7, 30, "TG001"),  # used_in(): `… WHERE uses >= 0`
        ("bot/db.py", 3, 33, "TG009"),
    ]


async def test_the_kept_partials_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/db.py": RUN, "bot/cog.py": COG})
    import_fresh_bot(tmp_path, monkeypatch)
    cog = importlib.import_module("bot.cog")
    pool = await asyncpg.create_pool(guilds, min_size=1, max_size=1)
    try:
        tags = cog.Tags(types.SimpleNamespace(pool=pool))
        assert sorted(r["name"] for r in await tags.every()) == ["mine", "theirs"]
        assert [r["name"] for r in await tags.own(1)] == ["mine"]
        assert [r["name"] for r in await cog.own_in(pool, 1)] == ["mine"]
    finally:
        await pool.close()


# the conditions of a comprehension whose `for` goes over known items (`for g in (1, 2)`,
# `for g, n in PAIRS`) were never read: `if await conn.fetchval(…)` there sent its SQL unseen

COMPREHENSIONS = (
    "GUILDS = (1, 2)\n"
    "\n"
    "\n"
    'def count_sql(where=""):\n'
    '    return "SELECT count(*) FROM tags" + where\n'  # 5
    "\n"
    "\n"
    "async def busy(conn):\n"
    "    return [g for g in GUILDS if await conn.fetchval(count_sql()) > 1]\n"
    "\n"
    "\n"
    "async def tagged(conn):\n"
    '    return [g for g in GUILDS if await conn.fetchval(count_sql(" WHERE guild_id = $1"), g)]\n'
)


def test_a_comprehension_over_known_items_reads_its_conditions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/busy.py": COMPREHENSIONS})
    assert findings_at(tmp_path, capsys, monkeypatch) == [("bot/busy.py", 5, 34, "TG001")]


async def test_the_comprehension_conditions_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/busy.py": COMPREHENSIONS})
    import_fresh_bot(tmp_path, monkeypatch)
    busy = importlib.import_module("bot.busy")
    conn = await asyncpg.connect(guilds)
    try:
        assert await busy.busy(conn) == [1, 2]  # each guild "busy": both guilds' tags counted
        assert await busy.tagged(conn) == [1, 2]
        await conn.execute("DELETE FROM tags WHERE guild_id = 2")
        assert await busy.tagged(conn) == [1]
    finally:
        await conn.close()


# a name set by `:=` as a comprehension's whole `if` condition (`if (q := "SELECT …")`), then
# read by what follows in that comprehension (h33e's leftover): read as "assigned again where
# it is not written here" (the walrus binds the function's name), TG009 on constant SQL

WALRUS = (
    "async def names(conn, gids):\n"
    "    return [\n"
    '        r["name"]\n'
    "        for g in gids\n"
    '        if (q := "SELECT name FROM tags WHERE guild_id = $1")\n'
    "        for r in await conn.fetch(q, g)\n"
    "    ]\n"
    "\n"
    "\n"
    "async def maybe(conn, gids):\n"
    '    q = "SELECT name FROM tags WHERE guild_id = $1"[:21]\n'
    "    return [\n"
    '        r["name"]\n'
    "        for g in gids\n"
    '        if g > 1 or (q := "SELECT name FROM tags WHERE guild_id = $1")\n'
    "        for r in await conn.fetch(q, g)\n"  # 16: the sliced q for guild 2
    "    ]\n"
    "\n"
    "\n"
    "async def after(conn, gids):\n"
    '    found = [g for g in gids if (q := "SELECT name FROM tags WHERE guild_id = $1"[:21])]\n'
    "    return await conn.fetch(q) if found else []\n"  # 22
)


def test_a_walrus_that_is_a_comprehension_condition_is_read_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/walrus.py": WALRUS})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/walrus.py", 16, 35, "TG009"),
        ("bot/walrus.py", 22, 29, "TG009"),
    ]


async def test_the_walrus_comprehensions_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/walrus.py": WALRUS})
    import_fresh_bot(tmp_path, monkeypatch)
    walrus = importlib.import_module("bot.walrus")
    conn = await asyncpg.connect(guilds)
    try:
        assert await walrus.names(conn, [1]) == ["mine"]
        with pytest.raises(asyncpg.InterfaceError):  # the sliced `q` (no `$1` for g) was sent
            await walrus.maybe(conn, [2])
        assert sorted(r["name"] for r in await walrus.after(conn, [1])) == ["mine", "theirs"]
    finally:
        await conn.close()


# a query method kept where the reader did not follow it (h33e read `OPS["fetch"] = conn.fetch`
# in a function): put in a module's dict by `OPS.update(fetch=…)` / `setdefault` / `|=`, read
# out into a name (`f = OPS["fetch"]`), bound by `global F` in a function, or kept on `self`
# (`self.q = conn.fetch`): the SQL its call sends passed unread

KEPT_METHODS = (
    "OPS = {}\n"
    "F = None\n"
    "\n"
    "\n"
    "def register(conn):\n"
    "    global F\n"
    "    OPS.update(fetch=conn.fetch)\n"
    '    OPS.setdefault("fetchrow", conn.fetchrow)\n'
    "    F = conn.fetch\n"
    "\n"
    "\n"
    'def every_sql(where=""):\n'
    '    return "SELECT name FROM tags" + where\n'  # 13
    "\n"
    "\n"
    "async def every():\n"
    '    return await OPS["fetch"](every_sql())\n'
    "\n"
    "\n"
    "async def first():\n"
    '    f = OPS.get("fetchrow")\n'
    '    return await f(every_sql(" ORDER BY name"))\n'
    "\n"
    "\n"
    "async def every_global():\n"
    '    return await F(every_sql(" WHERE uses >= 0"))\n'
    "\n"
    "\n"
    "async def own(guild_id):\n"
    '    return await F(every_sql(" WHERE guild_id = $1"), guild_id)\n'
    "\n"
    "\n"
    "class Tags:\n"
    "    def __init__(self, conn):\n"
    "        self.q = conn.fetch\n"
    "\n"
    "    async def used(self):\n"
    '        return await self.q(every_sql(" WHERE uses > -1"))\n'
    "\n"
    "    async def own(self, guild_id):\n"
    '        return await self.q(every_sql(" WHERE guild_id = $1"), guild_id)\n'
)


def test_a_query_method_kept_by_a_function_sends_its_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/kept.py": KEPT_METHODS})
    assert findings_at(tmp_path, capsys, monkeypatch) == [
        ("bot/kept.py", 13, 30, "TG001"),  # every(): OPS["fetch"] set by `update`
        ("bot/kept.py", 22, 20, "TG001"),  # first(): `f = OPS.get("fetchrow")`, `setdefault`
        ("bot/kept.py", 26, 20, "TG001"),  # every_global(): `global F`
        ("bot/kept.py", 38, 29, "TG001"),  # Tags.used(): `self.q`
    ]


async def test_the_kept_query_methods_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/kept.py": KEPT_METHODS})
    import_fresh_bot(tmp_path, monkeypatch)
    kept = importlib.import_module("bot.kept")
    conn = await asyncpg.connect(guilds)
    try:
        kept.register(conn)
        assert sorted(r["name"] for r in await kept.every()) == ["mine", "theirs"]
        assert (await kept.first())["name"] == "mine"
        assert sorted(r["name"] for r in await kept.every_global()) == ["mine", "theirs"]
        assert [r["name"] for r in await kept.own(1)] == ["mine"]
        tags = kept.Tags(conn)
        assert sorted(r["name"] for r in await tags.used()) == ["mine", "theirs"]
        assert [r["name"] for r in await tags.own(1)] == ["mine"]
    finally:
        await conn.close()


# the same dict filled by another module (`from bot.registry import OPS; OPS["fetch"] =
# conn.fetch` in bot/setup.py): `OPS["fetch"](sql)` in bot/registry.py passed unread

REGISTRY = (
    "OPS = {}\n"
    "\n"
    "\n"
    'def every_sql(where=""):\n'
    '    return "SELECT name FROM tags" + where\n'  # 5
    "\n"
    "\n"
    "async def every():\n"
    '    return await OPS["fetch"](every_sql())\n'
    "\n"
    "\n"
    "async def own(guild_id):\n"
    '    return await OPS["fetch"](every_sql(" WHERE guild_id = $1"), guild_id)\n'
    "\n"
    "\n"
    "def greet():\n"
    '    return OPS["greet"]("hello world")\n'
)
SETUP = (
    "from bot.registry import OPS\n"
    "\n"
    "\n"
    "def register(conn):\n"
    '    OPS["fetch"] = conn.fetch\n'
    '    OPS["greet"] = str.upper\n'
)


def test_a_dict_another_module_fills_may_hold_a_query_method(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/registry.py": REGISTRY, "bot/setup.py": SETUP})
    assert findings_at(tmp_path, capsys, monkeypatch) == [("bot/registry.py", 5, 30, "TG001")]
    write_guild_project(tmp_path / "two", {"bot/registry.py": REGISTRY})
    assert findings_at(tmp_path / "two", capsys, monkeypatch) == []


async def test_the_dict_filled_elsewhere_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/registry.py": REGISTRY, "bot/setup.py": SETUP})
    import_fresh_bot(tmp_path, monkeypatch)
    registry = importlib.import_module("bot.registry")
    setup = importlib.import_module("bot.setup")
    conn = await asyncpg.connect(guilds)
    try:
        setup.register(conn)
        assert sorted(r["name"] for r in await registry.every()) == ["mine", "theirs"]
        assert [r["name"] for r in await registry.own(1)] == ["mine"]
        assert registry.greet() == "HELLO WORLD"
    finally:
        await conn.close()
