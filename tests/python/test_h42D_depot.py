"""Session 42 (helper D), issue 12: a multi-tenant inventory service as a newcomer meets it.

`tests/fixtures/projects/h42D_depot/` (tenant column `org_id`, its schema only in alembic
revisions: `op.create_table` with a column helper, `op.execute` of DDL) sends SQL through a
repository layer (a base class with class-attribute SQL, subclasses overriding it, one with a
`@property`, an f-string of `self.TABLE`, helper methods returning SQL), a `queries/` package
(`from ..queries import orders as q` then `q.LIST`, `QUERIES["list"]` of a module dict, a
tuple unpacked, `Final` constants, `str`-enum members and `.value` of plain enum members), a
wrapper layer two levels deep (`db.run(sql, *args)` → `_send("fetch", sql, args)` →
`getattr(c, method)(sql, *args)` under `async with self.pool.acquire() as c`), asyncpg
transactions (`async with c.transaction()`, `tx.start()`/`commit()`, `prepare()`, `cursor()`),
walrus and conditional expressions, `textwrap.dedent`, `"".join`, `+=` in loops over
constants, `%` with a tuple and a dict, psycopg 3 `sql.SQL(…).format(…)` and `sql.SQL(" ")
.join`, SQLAlchemy `text()` (with `.bindparams`), a decorator registering named queries, a
Starlette app, a click CLI, a suppressed nightly job, `copy_records_to_table`, and strings
that are not SQL (log and exception messages, GraphQL, a Jinja template, regexes). Each leak
is marked inline (`# expect: TG001`) and `tenantguard check` reports exactly those
(tests/cli/test_projects.py::test_project); every `org_id = …` pin of the tree made a
non-pin, one at a time, gives a new finding (no SQL reaching a sink unseen), checked below.

The tree's first run had four TG009 at constant SQL; the classes they stood for, varied:

1. A query-holder object made in a module of the project and imported by name, `from .q
   import Q` where `Q = Queries()` (a dataclass whose fields default to SQL): `Q.list` was
   TG009 "read at run time" — `q.Q.list` and the same module's `Q.list` were read. The same
   object imported reads as it does where it is made.
2. `types.MappingProxyType({...})`, the read-only dict of named queries: `MP["list"]` was
   TG009 ("computed at run time (subscript)"); it holds the dict display it wraps.
3. `types.SimpleNamespace(list="SELECT …")`: `NS.list` was TG009; its keywords are its
   attributes, as `dict(list=…)`'s are its keys.
4. `sql.rstrip(";") + " LIMIT 10"` (and `.strip(chars)`, `.removesuffix(…)`…): TG009.
5. `super()._sql() + " AND …"` in a repository subclass: TG009.

(The tree now holds each of them: `queries/holders.py`, `services/inventory.py`,
`repos/suppliers.py`.)
"""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tests.project_files import findings_at, import_fresh_bot, write_guild_project

DEPOT = Path(__file__).parent.parent / "fixtures" / "projects" / "h42D_depot"

# the leaks of the tree (each also marked inline), and the one TG009 that is SQL built at run
# time from a request (`search_raw`'s `where`), and psycopg identifiers from a caller's list
LEAKS = {
    ("depot/queries/orders.py", 14),  # FIND_ANY: `$1::bigint IS NOT NULL` is no pin
    ("depot/queries/items.py", 7),  # QUERIES["search"]: `name ILIKE $2 OR org_id = $1`
    ("depot/queries/stock.py", 14),  # Reports.EMPTY_EVERYWHERE, read as `.value`
    ("depot/repos/suppliers.py", 10),  # a subclass's GET_SQL, sent by the base's get()
    ("depot/registry.py", 35),  # a decorator's argument, run by name
    ("depot/services/orders.py", 52),  # the second `query = …` in a try body
    ("depot/services/pg3.py", 42),  # `sql.SQL(… OR true).format(sql.Identifier("suppliers"))`
    ("depot/services/pricing.py", 24),  # a classmethod returning SQL (and its subquery)
    ("depot/services/reports.py", 77),  # `template % {"where": …}` with no org
    ("depot/services/sa.py", 33),  # text() of an orphan count (and its subquery)
    ("depot/jobs/nightly.py", 24),  # a per-org loop's UPDATE without the org
    ("depot/queries/holders.py", 17),  # a SimpleNamespace's query
}
BUILT_AT_RUN_TIME = {
    ("depot/services/search.py", 20),  # `" AND " + where` from an admin box
    ("depot/services/pg3.py", 27),  # `sql.SQL(", ").join(map(sql.Identifier, columns))`
}
# found, not fixed: constant SQL still TG009 (each string is checked where it is written)
NOT_FIXED = {
    # `_NAMED[name]` of a dict filled by a decorator factory, `@named_query("SELECT …")`
    ("depot/registry.py", 22),
}


def _tree(root: Path, capsys: pytest.CaptureFixture[str]) -> set[tuple[str, int, str]]:
    code = main(["check", "--no-cache", "--format", "json", str(root)])
    out, err = capsys.readouterr()
    assert code == 1, err
    return {
        (Path(f["path"]).resolve().relative_to(root.resolve()).as_posix(), f["line"], f["rule"])
        for f in json.loads(out)["findings"]
    }


def test_the_depot_tree_reports_its_leaks_and_only_run_time_sql(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = _tree(DEPOT, capsys)
    assert {(p, line) for p, line, rule in found if rule == "TG001"} == LEAKS
    assert {
        (p, line) for p, line, rule in found if rule == "TG009"
    } == BUILT_AT_RUN_TIME | NOT_FIXED
    # nothing in the module of strings that are not SQL
    assert not [f for f in found if f[0] == "depot/notsql.py"]


def test_every_pin_of_the_depot_tree_is_seen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each `org_id = $1` (`:org`, `%s`) of the application code made `org_id <> …`: a new
    finding each time, at the statement (no SQL string reaching a sink goes unseen)."""
    import re

    root = tmp_path / "depot"
    shutil.copytree(DEPOT, root)
    before = _tree(root, capsys)
    unseen = []
    for path in sorted((root / "depot").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"org_id = (\$1|:org|%s)", text):
            line = text.count("\n", 0, m.start()) + 1
            rel = path.relative_to(root).as_posix()
            if (rel, line) in LEAKS:
                continue  # a leak already
            path.write_text(text[: m.start()] + "org_id <> " + m[1] + text[m.end() :])
            try:
                if not _tree(root, capsys) - before:
                    unseen.append((rel, line))
            finally:
                path.write_text(text, encoding="utf-8")
    assert unseen == []


# Class 1: a query holder made in one module, imported by name in another

HOLDER = """\
from dataclasses import dataclass


@dataclass(frozen=True)
class Queries:
    own: str = "SELECT name FROM tags WHERE guild_id = $1"
    every: str = "SELECT name FROM tags WHERE $1::bigint > 0"  # 7


Q = Queries()
"""

USES_HOLDER = """\
from bot import q
from bot.q import Q


async def own(conn, guild_id):
    return await conn.fetch(Q.own, guild_id)  # 6


async def own_too(conn, guild_id):
    return await conn.fetch(q.Q.own, guild_id)


async def every(conn, guild_id):
    return await conn.fetch(Q.every, guild_id)
"""


def test_a_query_holder_imported_by_name_reads_as_where_it_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/q.py": HOLDER, "bot/tags.py": USES_HOLDER})
    # before: ("bot/tags.py", 6, 29, "TG009") and at line 14, `Q.own` "read at run time"
    assert [(p, line, rule) for p, line, _, rule in findings_at(tmp_path, capsys, monkeypatch)] == [
        ("bot/q.py", 7, "TG001")
    ]


def test_a_query_holder_changed_elsewhere_is_not_a_constant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = "from bot.q import Q\n\n\ndef widen(extra):\n    Q.own = Q.own + extra\n"
    files = {"bot/q.py": HOLDER.replace("@dataclass(frozen=True)", "@dataclass")}
    files |= {"bot/tags.py": USES_HOLDER, "bot/admin.py": changes}
    write_guild_project(tmp_path, files)
    found = [(p, line, rule) for p, line, _, rule in findings_at(tmp_path, capsys, monkeypatch)]
    assert ("bot/tags.py", 6, "TG009") in found


# Class 2 and 3: `MappingProxyType({...})`, `SimpleNamespace(k="…")`

PROXIES = """\
import types
from types import MappingProxyType, SimpleNamespace

BY_NAME = MappingProxyType({
    "own": "SELECT name FROM tags WHERE guild_id = $1",
    "every": "SELECT name FROM tags WHERE $1::bigint > 0",  # 6
})
NS = SimpleNamespace(own="SELECT name FROM tags WHERE guild_id = $1")
NS2 = types.SimpleNamespace(every="SELECT name FROM tags WHERE $1::bigint <> 0")  # 9
RO = types.MappingProxyType({"own": "SELECT name FROM tags WHERE guild_id = $1"})


async def own(conn, guild_id):
    return await conn.fetch(BY_NAME["own"], guild_id)  # 14


async def own_ns(conn, guild_id):
    return await conn.fetch(NS.own, guild_id)  # 18


async def own_ro(conn, guild_id):
    return await conn.fetch(RO.get("own"), guild_id)  # 22


async def every(conn, guild_id):
    return await conn.fetch(BY_NAME["every"], guild_id)


async def every_ns(conn, guild_id):
    return await conn.fetch(NS2.every, guild_id)
"""

USES_PROXIES = """\
from bot.proxies import BY_NAME, NS


async def own(conn, guild_id):
    return await conn.fetch(BY_NAME["own"], guild_id)


async def own_ns(conn, guild_id):
    return await conn.fetch(NS.own, guild_id)
"""


def test_read_only_dicts_and_namespaces_of_queries_are_their_constants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/proxies.py": PROXIES, "bot/uses.py": USES_PROXIES})
    # before: TG009 at lines 14, 18, 22 and at both lines of uses.py
    assert [(p, line, rule) for p, line, _, rule in findings_at(tmp_path, capsys, monkeypatch)] == [
        ("bot/proxies.py", 6, "TG001"),
        ("bot/proxies.py", 9, "TG001"),
    ]


def test_a_namespace_written_elsewhere_is_not_a_constant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = "from bot.proxies import NS\n\n\ndef widen(extra):\n    NS.own = extra\n"
    files = {"bot/proxies.py": PROXIES, "bot/uses.py": USES_PROXIES, "bot/admin.py": changes}
    write_guild_project(tmp_path, files)
    found = [(p, line, rule) for p, line, _, rule in findings_at(tmp_path, capsys, monkeypatch)]
    assert ("bot/proxies.py", 18, "TG009") in found
    assert ("bot/uses.py", 9, "TG009") in found


async def test_the_holders_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(
        tmp_path, {"bot/q.py": HOLDER, "bot/tags.py": USES_HOLDER, "bot/proxies.py": PROXIES}
    )
    import_fresh_bot(tmp_path, monkeypatch)
    tags = importlib.import_module("bot.tags")
    proxies = importlib.import_module("bot.proxies")
    conn = await asyncpg.connect(guilds)
    try:
        for own in (tags.own, tags.own_too, proxies.own, proxies.own_ns, proxies.own_ro):
            assert [r["name"] for r in await own(conn, 1)] == ["mine"]
        for every in (tags.every, proxies.every, proxies.every_ns):
            assert sorted(r["name"] for r in await every(conn, 1)) == ["mine", "theirs"]
    finally:
        await conn.close()


# Class 4: a statement's `;` stripped before more is added, `sql.rstrip(";") + " LIMIT 10"`
# (`.strip("; \n")`, `.lstrip(…)`, `.removesuffix(";")`, `.removeprefix(…)` with a constant
# argument): TG009 "computed at run time" — at a pinned statement, and where what is added
# is `OR …`, a leak only that warning. Read as the text Python makes (the characters
# stripped from the text's constant ends).

STRIPPED = """\
BASE = "SELECT name FROM tags WHERE guild_id = $1;"
BLOCK = \"\"\"
    SELECT name FROM tags
    WHERE guild_id = $1;
\"\"\"


async def own(conn, guild_id):
    return await conn.fetch(BASE.rstrip(";") + " ORDER BY name", guild_id)  # 9


async def own_block(conn, guild_id):
    return await conn.fetch(BLOCK.strip("; \\n") + " LIMIT 10", guild_id)


async def own_suffix(conn, guild_id):
    return await conn.fetch(BASE.removesuffix(";") + " LIMIT 10", guild_id)


async def every(conn, guild_id):
    return await conn.fetch(BASE.rstrip(";") + " OR uses >= 0", guild_id)  # 21


async def every_suffix(conn, guild_id):
    return await conn.fetch(BASE.removesuffix(";") + " OR uses >= 0", guild_id)  # 25
"""


def test_a_statement_stripped_of_its_semicolon_is_read_as_python_strips_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/stripped.py": STRIPPED})
    found = [(p, line, rule) for p, line, _, rule in findings_at(tmp_path, capsys, monkeypatch)]
    # before: TG009 at lines 9, 13, 17, 21 and 25, nothing else; now the two leaks, placed
    # at the calls (their help: "the text it flags is written at line 1")
    assert found == [("bot/stripped.py", 21, "TG001"), ("bot/stripped.py", 25, "TG001")]


def test_what_a_strip_cannot_tell_stays_unproven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # stripped up to a value known at run time: what is left is not known
    source = (
        "async def f(conn, guild_id, tail):\n"
        '    sql = ("SELECT name FROM tags WHERE guild_id = $1" + tail).rstrip(";")\n'
        "    return await conn.fetch(sql, guild_id)\n"
    )
    write_guild_project(tmp_path, {"bot/stripped.py": source})
    found = [(p, line, rule) for p, line, _, rule in findings_at(tmp_path, capsys, monkeypatch)]
    assert found == [("bot/stripped.py", 3, "TG009")]


async def test_the_stripped_statements_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/stripped.py": STRIPPED})
    import_fresh_bot(tmp_path, monkeypatch)
    stripped = importlib.import_module("bot.stripped")
    conn = await asyncpg.connect(guilds)
    try:
        for own in (stripped.own, stripped.own_block, stripped.own_suffix):
            assert [r["name"] for r in await own(conn, 1)] == ["mine"]
        for every in (stripped.every, stripped.every_suffix):
            assert sorted(r["name"] for r in await every(conn, 1)) == ["mine", "theirs"]
    finally:
        await conn.close()


# Class 5: a repository method extending its base's SQL, `return super()._where() + " AND
# …"`: `super()._where()` was TG009 "computed at run time" — a pinned statement warned, and
# `+ " OR archived"` a leak only that warning. `super().m()` (no arguments, in a method) runs
# the next class's `m` in the order of `type(self)`: that class when every project subclass
# puts the same one next (a mixin a subclass puts between them: each it may be).

SUPER = """\
class Base:
    def _sql(self):
        return "SELECT name FROM tags WHERE guild_id = $1"

    async def run(self, conn, guild_id):
        return await conn.fetch(self._sql(), guild_id)


class Ordered(Base):
    def _sql(self):
        return super()._sql() + " ORDER BY name"


class Widened(Base):
    def _sql(self):
        return super()._sql() + " OR uses >= 0"  # 16


async def own(conn, guild_id):
    return await Ordered().run(conn, guild_id)


async def every(conn, guild_id):
    return await Widened().run(conn, guild_id)
"""


def test_super_of_a_method_returning_sql_is_the_base_method(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/repo.py": SUPER})
    found = [(p, line, rule) for p, line, _, rule in findings_at(tmp_path, capsys, monkeypatch)]
    # before: TG009 at line 11 only (`super()._sql()` computed at run time); now the OR of
    # Widened, at the table in the base's text (its help: "sent by .fetch() at line 6")
    assert found == [("bot/repo.py", 3, "TG001")]


def test_a_mixin_between_makes_super_each_class_it_may_be(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mixin = SUPER.replace(
        "class Widened(Base):", "class Widened(Base):\n    pass\n\n\nclass Unused(Base):"
    )
    mixin += (
        "\n\nclass Mixin(Base):\n    def _sql(self):\n        return self.custom\n\n\n"
        "class Both(Ordered, Mixin):\n    pass\n"
    )
    write_guild_project(tmp_path, {"bot/repo.py": mixin})
    found = [(p, line, rule) for p, line, _, rule in findings_at(tmp_path, capsys, monkeypatch)]
    # `Both().run()`: Ordered._sql's `super()` is Mixin._sql, which returns what is only known
    # at run time (TG009 there; a guard, not a proof of the order: Mixin._sql is also one of
    # the overrides `self._sql()` reaches)
    custom = next(i for i, x in enumerate(mixin.splitlines(), 1) if "self.custom" in x)
    assert ("bot/repo.py", custom, "TG009") in found


async def test_the_super_methods_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/repo.py": SUPER})
    import_fresh_bot(tmp_path, monkeypatch)
    repo = importlib.import_module("bot.repo")
    conn = await asyncpg.connect(guilds)
    try:
        assert [r["name"] for r in await repo.own(conn, 1)] == ["mine"]
        assert sorted(r["name"] for r in await repo.every(conn, 1)) == ["mine", "theirs"]
    finally:
        await conn.close()


# Found, not fixed (strict xfails: each passes when its class is fixed)

REGISTRY = """\
_NAMED = {}


def named_query(sql):
    def register(fn):
        _NAMED[fn.__name__] = sql
        return fn

    return register


async def run_named(conn, name, *args):
    return await conn.fetch(_NAMED[name], *args)


@named_query("SELECT name FROM tags WHERE guild_id = $1")
async def tags(conn, guild_id):
    return await run_named(conn, "tags", guild_id)
"""


@pytest.mark.xfail(strict=True, reason="a dict filled by a decorator factory's parameter: TG009")
def test_a_decorator_registry_of_constant_sql_is_its_constants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # each registered string is checked where it is written (a leak there is TG001); the
    # lookup by name is TG009 although every value the dict can hold is a constant
    write_guild_project(tmp_path, {"bot/registry.py": REGISTRY})
    assert findings_at(tmp_path, capsys, monkeypatch) == []


# Class 6: a base's class-attribute SQL that a subclass overrides with a `@property`,
# `self.LIST_SQL` read in the base: TG009 "holds different kinds of values" (a string, a
# property) — or, when every subclass overrides it, "computed at run time". What each getter
# returns is read beside the strings.

PROPERTY = """\
class Repo:
    LIST_SQL = "SELECT name FROM tags WHERE guild_id = $1"

    async def list(self, conn, guild_id):
        return await conn.fetch(self.LIST_SQL, guild_id)  # 5


class Ordered(Repo):
    @property
    def LIST_SQL(self):
        return Repo.LIST_SQL + " ORDER BY name"


async def own(conn, guild_id):
    return await Ordered().list(conn, guild_id)
"""

WIDENED = PROPERTY.replace('" ORDER BY name"', '" OR uses >= 0"')


@pytest.mark.parametrize(
    "made", ["", "\n\nasync def base(conn, g):\n    return await Repo().list(conn, g)\n"]
)
def test_a_class_attribute_overridden_by_a_property_is_each_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, made: str
) -> None:
    # (with `Repo()` made too, the base's string is one of the values as well)
    write_guild_project(tmp_path, {"bot/repo.py": PROPERTY + made})
    assert findings_at(tmp_path, capsys, monkeypatch) == []  # before: TG009 at line 5
    write_guild_project(tmp_path, {"bot/repo.py": WIDENED + made})
    found = [(p, line, rule) for p, line, _, rule in findings_at(tmp_path, capsys, monkeypatch)]
    assert found and {rule for _, _, rule in found} == {"TG001"}  # before: TG009 only


async def test_the_property_override_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/repo.py": PROPERTY, "bot/wide.py": WIDENED})
    import_fresh_bot(tmp_path, monkeypatch)
    repo = importlib.import_module("bot.repo")
    wide = importlib.import_module("bot.wide")
    conn = await asyncpg.connect(guilds)
    try:
        assert [r["name"] for r in await repo.own(conn, 1)] == ["mine"]
        assert sorted(r["name"] for r in await wide.own(conn, 1)) == ["mine", "theirs"]
    finally:
        await conn.close()


SQLITE = """\
import sqlite3


def cached_tags():
    local = sqlite3.connect("cache.db")
    local.execute("CREATE TABLE IF NOT EXISTS tags (id integer, name text)")
    return local.execute("SELECT id, name FROM tags").fetchall()
"""


@pytest.mark.xfail(strict=True, reason="SQL sent to a sqlite3 connection is read as PostgreSQL's")
def test_sql_sent_to_a_local_sqlite_database_is_not_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a local cache with a table of a tenant table's name: TG007 and TG001 today (the
    # literal is also checked standing alone, so the sink alone is not the whole fix)
    write_guild_project(tmp_path, {"bot/cache.py": SQLITE})
    assert findings_at(tmp_path, capsys, monkeypatch) == []
