"""Session 36 (helper D), issue 12 items 2 and 5: the shapes of SQL inside Python left by h35.

Each class: a small project, `tenantguard check` on it, the findings a user expects (an
attack twin beside each false alarm removed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project_files import findings_at, findings_of_check, write_guild_project
from tests.python.test_h35D_python import CALLERS, NOISE, PAGES, PAGES_TAIL

# a local dict changed by key in one function (`params["name"] = …` after `params = {…}`) is
# no change of another function's same-named parameter: what `run_all` is handed stays as the
# module set it (the twin: run_all itself changing its parameter, by every road)
RUN_ALL = "async def run_all(conn, statements, params):\n"
CHANGING_RUN_ALL = {
    "closure": RUN_ALL + "    def more():\n        params.append(' OR TRUE')\n    more()\n",
    "alias": RUN_ALL + "    p = params\n    p += [' OR TRUE']\n",
    "statements_by_key": RUN_ALL + "    statements[0] += ' OR TRUE'\n",
    "item_store": RUN_ALL + "    x = statements\n    x[0] = x[0] + ' OR TRUE'\n",
}


@pytest.mark.parametrize("how", sorted(CHANGING_RUN_ALL))
def test_a_parameter_the_function_changes_still_changes_what_it_is_handed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    code = NOISE.replace(RUN_ALL, CHANGING_RUN_ALL[how] + "\n\nasync def unused_(conn):\n")
    write_guild_project(tmp_path, {"bot/archive.py": code})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert any(rule == "TG009" for _, _, rule in found), found


def test_a_same_named_attribute_changed_keeps_the_parameter_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`self.statements = statements` in one method, `self.statements.append(…)` in another:
    the attribute may be what the constructor was handed."""
    code = (
        'ARCHIVE = ["DELETE FROM tags WHERE guild_id = $1"]\n\n\n'
        "class Job:\n"
        "    def __init__(self, statements):\n        self.statements = statements\n\n"
        "    def widen(self):\n        self.statements.append(self.statements[0] + ' OR TRUE')\n\n\n"
        "async def archive(conn, guild_id):\n"
        "    Job(ARCHIVE).widen()\n"
        "    for s in ARCHIVE:\n        await conn.execute(s, guild_id)\n"
    )
    write_guild_project(tmp_path, {"bot/archive.py": code})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert any(rule == "TG009" for _, _, rule in found), found


# `sql_functions = ["execute_query"]`, a helper taking the connection first: the SQL is the
# second argument when the first names a connection — TG009 was said of `self.conn` ("`self.
# conn` is assigned in __init__()"), pointing at the connection
CONN_FIRST = """\
from dblib import execute_query


class Repo:
    def __init__(self, conn):
        self.conn = conn

    async def page(self, where):
        return await execute_query(self.conn, where)

    async def fine(self, g):
        return await execute_query(self.db, "SELECT name FROM tags WHERE guild_id = $1", g)

    async def built(self, g, order):
        return await execute_query(conn_of(self), "SELECT name FROM tags WHERE guild_id = $1 " + order, g)
"""


def test_a_configured_wrapper_taking_the_connection_first_reads_the_second_as_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/repo.py": CONN_FIRST})
    config = tmp_path / "pyproject.toml"
    config.write_text(config.read_text() + 'sql_functions = ["execute_query"]\n')
    found = findings_at(tmp_path, capsys, monkeypatch)
    assert ("bot/repo.py", 9, 47, "TG009") in found, found
    assert [f for f in found if f[1] == 9] == [("bot/repo.py", 9, 47, "TG009")], found
    assert [f for f in found if f[1] == 12] == [], found
    assert [f[3] for f in found if f[1] == 15] == ["TG009"], found


# SQL handed to psql is SQL sent: `subprocess.run(["psql", "-c", sql])` (any runner, `--command`,
# a path to psql, `asyncio.create_subprocess_exec("psql", "-c", sql)`); a function passing its
# parameter there is a wrapper whose callers' SQL is checked (was: nothing at all)
PSQL = """\
import asyncio
import subprocess

BASE = "DELETE FROM tags WHERE "


def purge(where):
    subprocess.run(["psql", "-c", BASE + where], check=True)


def via():
    purge("uses = 0")


def raw(sql):
    subprocess.check_call(("/usr/bin/psql", "--dbname", "bot", "--command", sql))


async def handler(request):
    raw(request.query["q"])


async def spawned(sql):
    await asyncio.create_subprocess_exec("psql", "-c", sql)


async def job():
    await spawned("UPDATE tags SET uses = 0")


def pinned(g):
    subprocess.run(["psql", "-c", "DELETE FROM tags WHERE guild_id = 1"], check=True)
"""


def test_sql_handed_to_psql_is_sql_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/admin.py": PSQL})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert ("bot/admin.py", 4, "TG001") in found, found  # BASE + "uses = 0", via purge()
    assert ("bot/admin.py", 20, "TG009") in found, found  # a request's text, via raw()
    assert ("bot/admin.py", 28, "TG001") in found, found  # the UPDATE, via spawned()
    assert not [f for f in found if f[1] in (7, 15, 24, 32)], found  # no TG009 in wrappers


# `case ("SELECT …" as x):` binds x to the string it matched: checked as that constant (was
# TG009 "a matched value" at the call sending x; the twin: a leak so bound is TG001 there)
MATCHED = """\
async def run(conn, q, g):
    match q:
        case ("SELECT name FROM tags WHERE guild_id = $1" as x):
            return await conn.fetch(x, g)
        case ("DELETE FROM tags WHERE guild_id = $1" | "UPDATE tags SET uses = 0 WHERE guild_id = $1") as y:
            return await conn.execute(y, g)
        case [("SELECT uses FROM tags WHERE guild_id = $1" as z), *_]:
            return await conn.fetchval(z, g)
        case {"sql": ("SELECT name FROM tags" as w)}:
            return await conn.fetch(w)
        case other:
            return await conn.fetch(other)
"""


def test_a_case_pattern_binding_a_string_binds_that_constant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/run.py": MATCHED})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert [f for f in found if f[1] in (4, 6, 8)] == [], found
    assert ("bot/run.py", 9, "TG001") in found, found  # the unpinned one, where it is written
    assert ("bot/run.py", 12, "TG009") in found, found  # `case other`: anything
    assert ("bot/run.py", 10, "TG009") not in found, found


# `type(self)(…)` (or `self.__class__(…)`) makes the class whose method it is, or a subclass:
# in an unrelated class it leaves a constructor wrapper's callers checked (was: one such call
# anywhere made every constructor's SQL unknown, TG009 at its users); in the class itself or
# a base class it keeps them unknown
OTHER = """\
class Money:
    def __init__(self, cents):
        self.cents = cents

    def __add__(self, other):
        return type(self)(self.cents + other.cents)

    def copy(self):
        return self.__class__(self.cents)
"""
AGAIN = (
    "\n    def again(self, q):\n        return {maker}(self.pool, q)\n"
    "\n\nasync def handler(pool, g, q):\n    return await Pages(pool, 'SELECT 1').again(q).page(g, 0)\n"
)


def test_type_of_self_in_another_class_leaves_a_constructor_wrapper_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = PAGES.replace("{sent}", PAGES_TAIL)
    files = {"bot/pages.py": pages, "bot/callers.py": CALLERS}
    write_guild_project(tmp_path / "a", files)
    alone = findings_of_check(tmp_path / "a", capsys, monkeypatch)
    write_guild_project(tmp_path / "b", {**files, "bot/money.py": OTHER})
    assert findings_of_check(tmp_path / "b", capsys, monkeypatch) == alone
    assert not any(path == "bot/pages.py" and rule == "TG009" for path, _, rule in alone), alone


@pytest.mark.parametrize("maker", ["type(self)", "self.__class__"])
@pytest.mark.parametrize("where", ["itself", "base"])
def test_type_of_self_in_the_class_or_a_base_keeps_its_sql_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    maker: str,
    where: str,
) -> None:
    pages = PAGES.replace("{sent}", PAGES_TAIL)
    if where == "itself":
        pages += AGAIN.format(maker=maker)
    else:
        base = "class Base:\n" + AGAIN.format(maker=maker).split("\n\n\n")[0] + "\n\n\n"
        handler = AGAIN.format(maker=maker).split("\n\n\n")[1]
        pages = base + pages.replace("class Pages:", "class Pages(Base):") + "\n\n" + handler
    write_guild_project(tmp_path, {"bot/pages.py": pages, "bot/callers.py": CALLERS})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert any(path == "bot/pages.py" and rule == "TG009" for path, _, rule in found), found


# a jinja2 Environment made in another module of the project and imported (`from .templates
# import env`, `templates.env`): its templates are rendered as a local one's (was TG009 "is
# computed at run time" at each call; the twins: an unpinned one and an optional pin are TG001)
TEMPLATES = "import jinja2\n\nenv = jinja2.Environment()\n"
RENDERED = """\
from . import templates
from .templates import env


async def pinned(conn, g):
    sql = env.from_string("SELECT {{ col }} FROM tags WHERE guild_id = $1").render(col="name")
    return await conn.fetch(sql, g)


async def leak(conn):
    sql = templates.env.from_string("SELECT {{ col }} FROM tags").render(col="name")
    return await conn.fetch(sql)


async def optional(conn, g, mine):
    q = "SELECT name FROM tags {% if mine %}WHERE guild_id = $1{% endif %}"
    return await conn.fetch(env.from_string(q).render(mine=mine), g)
"""


def test_an_imported_jinja_environment_s_templates_are_rendered_and_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/templates.py": TEMPLATES, "bot/rendered.py": RENDERED})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert found == [("bot/rendered.py", 11, "TG001"), ("bot/rendered.py", 16, "TG001")], found


# shapes real projects use, each checked or TG009 — never silently skipped: a repository base
# class with a generic `self.table` (each subclass's table), SQL in `Enum` members read by
# `.value` (a member named, or any member of a parameter typed so), dataclass fields with SQL
# defaults (`= "…"`, `field(default="…")`), asyncpg Record factories (`record_class=cls`,
# `cls(**r)` over fetched rows)
SHAPES = """\
import enum
from dataclasses import dataclass, field


class BaseRepo:
    table: str

    def __init__(self, conn):
        self.conn = conn

    async def every(self):
        return await self.conn.fetch(f"SELECT * FROM {self.table}")

    async def mine(self, g):
        return await self.conn.fetch(f"SELECT * FROM {self.table} WHERE guild_id = $1", g)


class TagRepo(BaseRepo):
    table = "tags"


class Q(enum.Enum):
    ALL = "SELECT name FROM tags"
    MINE = "SELECT name FROM tags WHERE guild_id = $1"


async def by_enum(conn, g):
    return await conn.fetch(Q.MINE.value, g)


async def by_member(conn, which: Q):
    return await conn.fetch(which.value)


@dataclass
class Query:
    sql: str = "SELECT uses FROM tags"
    pinned: str = field(default="SELECT uses FROM tags WHERE guild_id = $1")


async def by_dataclass(conn, g):
    q = Query()
    await conn.fetch(q.pinned, g)
    return await conn.fetch(q.sql)


class Row:
    @classmethod
    async def load(cls, conn, g):
        return [cls(**r) for r in await conn.fetch("SELECT * FROM tags WHERE guild_id = $1", g)]

    @classmethod
    async def load_all(cls, conn):
        return await conn.fetch("SELECT id FROM tags", record_class=cls)
"""


def test_real_shapes_are_each_checked_or_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/shapes.py": SHAPES})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    at = {(line, rule) for _, line, rule in found}
    assert (19, "TG001") in at, found  # TagRepo's every(): SELECT * FROM tags
    assert (23, "TG001") in at, found  # Q.ALL, sent by by_member (any member)
    assert (37, "TG001") in at, found  # Query.sql's default, sent by by_dataclass
    assert (54, "TG001") in at, found  # load_all's unpinned SELECT
    # pinned: mine() for TagRepo, Q.MINE, field(default=…) (was TG009), load(); nothing else
    assert at == {(19, "TG001"), (23, "TG001"), (37, "TG001"), (54, "TG001")}


def test_a_dataclass_field_default_given_by_field_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = SHAPES.replace(
        'field(default="SELECT uses FROM tags WHERE guild_id = $1")',
        'field(default="SELECT uses FROM tags WHERE guild_id = $1 OR uses > 0")',
    )
    write_guild_project(tmp_path, {"bot/shapes.py": code})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert ("bot/shapes.py", 38, "TG001") in found, found
    assert ("bot/shapes.py", 43, "TG009") not in found, found


# h36D found, h37D fixed (classes._overridden_everywhere): a repository base's empty default
# `table = ''` was filled into its own method's f-string (`SELECT * FROM  WHERE …`): TG006
def test_an_empty_default_table_of_a_base_is_no_parse_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = SHAPES.replace("    table: str\n", '    table: str = ""\n')
    write_guild_project(tmp_path, {"bot/shapes.py": code})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert not [f for f in found if f[2] == "TG006"], found
