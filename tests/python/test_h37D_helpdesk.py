"""Session 37 (helper D), issue 12: a multi-tenant helpdesk as a first-time user meets it.

`tests/fixtures/projects/h37D_helpdesk/` (34 files; `tenantguard init` wrote its configuration,
`alembic/versions` added to `schema_paths` by hand as the user would) is an asyncpg + psycopg 3
service keyed by `account_id`: a `queries/` package (constants, `typing.Final`, `str.format`
templates, a `QUERIES[kind]` dispatch dict), a repository base class whose class-level SQL the
subclasses override (`{self.table}` in an f-string), decorators around query methods, SQL passed
through `**kwargs` (`self._call(sql=…)`), psycopg.sql composition (`sql.SQL(…).format(
sql.Identifier(…), sql.Placeholder())`), asyncpg cursors and prepared statements, `executemany`,
`copy_records_to_table` with dataclass-driven column lists, `functools.partial` of a sink, a WHERE
built in a loop with `" AND ".join(conds)` (one branch adds an unparenthesised `OR`), SQL in a
`match`, log and exception messages naming tables, GraphQL, Jinja and regular expressions that
look a bit like SQL, alembic migrations beside a `schema.sql`. Each expected finding is marked
inline; `tenantguard check` runs on it in a fresh process and must report exactly those.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text
from tests.cli.test_projects import PROJECTS, expectations
from tests.python.test_h34D_real_tree import reported

ROOT = PROJECTS / "h37D_helpdesk"


def test_the_helpdesk_tree_reports_exactly_what_it_expects() -> None:
    got = reported(ROOT)
    want = expectations(ROOT)
    # (reported and not expected, expected and not reported)
    assert (sorted(got - want), sorted(want - got)) == ([], [])


def _desk(source: str) -> list[tuple[int, str]]:
    policy = Policy("account_id", ["tickets", "tags"])
    out, _, _ = check_python_text(source, Analyzer(policy))
    return sorted((f.line, f.code) for f in out)


# Class 1: a base class's placeholder (`table: ClassVar[str] = ""`) that every subclass
# overrides, read in the base's method (`f"DELETE FROM {self.table} WHERE …"`): the base is
# never made, so no object holds "", yet the text was checked with it: `DELETE FROM  WHERE
# account_id = $1` (TG006, "Expected table name"), on code that pins every table. The base's
# value is still read when the base itself may be made, or a subclass inherits it.

BASE = """\
from typing import ClassVar


class Repository:
    table: ClassVar[str] = ""

    def __init__(self, conn):
        self.conn = conn

    async def delete(self, account_id, id_):
        return await self.conn.execute(
            f"DELETE FROM {self.table} WHERE account_id = $1 AND id = $2", account_id, id_
        )

    async def wipe(self):
        return await self.conn.execute(f"DELETE FROM {self.table} WHERE id > 0")


class TicketRepo(Repository):
    table = "tickets"


class TagRepo(Repository):
    table = "tags"
"""


def test_a_base_placeholder_every_subclass_overrides_is_not_checked() -> None:
    # the leak in the base's other method is still found, at each subclass's table
    assert _desk(BASE) == [(20, "TG001"), (24, "TG001")]


def test_a_base_placeholder_is_checked_when_the_base_is_made() -> None:
    made = BASE + "\n\nasync def f(conn):\n    await Repository(conn).delete(1, 2)\n"
    assert (12, "TG006") in _desk(made)


def test_a_base_placeholder_is_checked_when_a_subclass_inherits_it() -> None:
    inherits = BASE + "\n\nclass Plain(Repository):\n    pass\n"
    assert (12, "TG006") in _desk(inherits)


def test_a_base_value_that_leaks_is_found_when_a_subclass_inherits_it() -> None:
    leaky = BASE.replace('table: ClassVar[str] = ""', 'table: ClassVar[str] = "tickets"')
    leaky = leaky.replace('    table = "tags"', "    pass")
    found = _desk(leaky.replace("account_id = $1 AND id = $2", "id = $2 AND $1 > 0"))
    assert sorted(set(found)) == [(12, "TG001"), (16, "TG001")]


# Class 2: SQL passed through `**kwargs` into a sink (`async def _call(self, **kw): return
# await self.conn.fetch(kw.pop("sql"), *kw.pop("args", ()))`, called `self._call(sql=…,
# args=(…))`): TG009 inside the helper, and the SQL its callers compose
# (`T.format(table="tickets")`) never checked — `UPDATE tickets SET status = 'open' WHERE id =
# $1` reopened any account's ticket, "No findings". The key read is now the caller's keyword,
# as a named parameter is; a helper that changes its `**kw` stays TG009.

KWARGS = """\
REOPEN = "UPDATE {table} SET status = 'open' WHERE id = $1"
PINNED = "UPDATE {table} SET status = 'open' WHERE account_id = $2 AND id = $1"


class Repo:
    def __init__(self, conn):
        self.conn = conn

    async def _call(self, **kw):
        return await self.conn.fetch(kw.pop("sql"), *kw.pop("args", ()))

    async def _get(self, **kw):
        return await self.conn.fetchrow(kw["query"], *kw.get("args", ()))

    async def leaks(self, t):
        await self._call(sql=REOPEN.format(table="tickets"), args=(t,))
        await self._get(query=REOPEN.format(table="tags") + " RETURNING id", args=(t,))

    async def pinned(self, t, a):
        await self._call(sql=PINNED.format(table="tickets"), args=(t, a))
        await self._get(query=PINNED.format(table="tags"), args=(t, a))
"""


def test_sql_passed_through_kwargs_is_checked_at_the_caller() -> None:
    assert _desk(KWARGS) == [(16, "TG001"), (17, "TG001")]


CHANGED_KWARGS = """\
async def run(conn, **kw):
    kw["sql"] = kw["sql"] + " OR true"
    return await conn.fetch(kw["sql"])


async def run2(conn, **kw):
    kw.update(sql="SELECT id FROM tickets")
    return await conn.fetch(kw.pop("sql"))


async def caller(conn):
    await run(conn, sql="SELECT id FROM tickets WHERE account_id = $1")
    await run2(conn, sql="SELECT id FROM tickets WHERE account_id = $1")
"""


def test_kwargs_changed_in_the_helper_are_not_the_callers() -> None:
    found = _desk(CHANGED_KWARGS)
    assert (3, "TG009") in found
    assert (8, "TG009") in found or (7, "TG001") in found


# Class 3: SQL built from an Enum's members (`", ".join(f"count(*) FILTER (WHERE status =
# '{s.value}') AS {s.value}" for s in Status)`, a dashboard's column list): TG009 "`.join()`
# of items computed at run time" for constant text (h37D's BACKLOG report). A `for` over a
# project enum whose members are distinct constant strings now runs member by member; an OR
# built the same way is found, and `auto()` or a `Flag` stays unresolved.

ENUMS = """\
import enum


class Status(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


COUNTS = ", ".join(f"count(*) FILTER (WHERE status = '{s.value}') AS {s.value}" for s in Status)
ANY_OF = " OR ".join(f"status = '{s.value}'" for s in Status)


async def report(conn, account_id):
    await conn.fetchrow("SELECT " + COUNTS + " FROM tickets WHERE account_id = $1", account_id)
    await conn.fetch("SELECT id FROM tickets WHERE account_id = $1 AND (" + ANY_OF + ")", account_id)


async def leak(conn, account_id):
    await conn.fetch("SELECT id FROM tickets WHERE account_id = $1 AND " + ANY_OF, account_id)
"""


def test_text_joined_over_an_enums_members_is_constant() -> None:
    assert _desk(ENUMS) == [(19, "TG001")]


def test_an_enum_whose_values_are_not_constant_strings_stays_unresolved() -> None:
    auto = ENUMS.replace('OPEN = "open"', "OPEN = enum.auto()")
    assert (14, "TG009") in _desk(auto)
    flag = ENUMS.replace("(str, enum.Enum)", "(enum.Flag)")
    assert (14, "TG009") in _desk(flag)


# Class 4: column lists made from a dataclass (`COLUMNS = [f.name for f in fields(Row)]`,
# `tuple(f.name for f in fields(Row))`): `copy_records_to_table("comments", …,
# columns=COLUMNS)` was TG002 "columns computed at run time" though Row lists account_id, and
# `f"INSERT INTO tickets ({', '.join(COLUMNS)}) …"` TG009. The standard library's `fields()` of
# a plain dataclass of the project is now read field by field; a dataclass without the tenant
# column is still TG002, and a `fields` of the project's own is not read.

DATACLASS_COLUMNS = """\
from dataclasses import dataclass, fields


@dataclass
class Row:
    account_id: int
    subject: str


@dataclass
class Link:
    ticket_id: int
    tag_id: int


ROW = [f.name for f in fields(Row)]
LINK = tuple(f.name for f in fields(Link))


async def load(conn, rows, links):
    await conn.copy_records_to_table("tickets", records=rows, columns=ROW)
    await conn.execute(f"INSERT INTO tickets ({', '.join(ROW)}) VALUES ($1, $2)", 1, "s")
    await conn.copy_records_to_table("tags", records=links, columns=LINK)
    await conn.execute(f"INSERT INTO tags ({', '.join(LINK)}) VALUES ($1, $2)", 1, 2)
"""


def test_columns_named_by_a_dataclasss_fields_are_constant() -> None:
    assert _desk(DATACLASS_COLUMNS) == [(23, "TG002"), (24, "TG002")]


def test_a_fields_function_of_the_project_is_not_dataclasses_fields() -> None:
    own = DATACLASS_COLUMNS.replace(
        "from dataclasses import dataclass, fields\n",
        "from dataclasses import dataclass\n\n\ndef fields(cls):\n    return []\n",
    )
    assert sorted({code for _, code in _desk(own)}) == ["TG002", "TG009"]


# Class 5: a psycopg.sql helper that quotes the column names it is given (`sql.SQL(",
# ").join(map(sql.Identifier, columns))`, or `(sql.Identifier(c) for c in columns)`) was TG009
# "`.join()` of items computed at run time" at every call, `select_for("tickets", COLUMNS)` with
# a constant tuple included. The names a call gives are now filled in, quoted as psycopg quotes
# them: a call that names the tenant column in a SET list is TG004, one whose names are not
# known stays TG009.

IDENTIFIERS = """\
from psycopg import sql

COLUMNS = ("id", "subject")


def select_for(table, columns):
    return sql.SQL("SELECT {cols} FROM {table} WHERE account_id = %s").format(
        cols=sql.SQL(", ").join(map(sql.Identifier, columns)), table=sql.Identifier(table)
    )


def set_row(columns):
    return sql.SQL("UPDATE tickets SET ({}) = ROW(%s, %s) WHERE account_id = %s AND id = %s").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )


def run(conn, names):
    conn.execute(select_for("tickets", COLUMNS), (1,))
    conn.execute(select_for("tags", ["id", "name"]), (1,))
    conn.execute(set_row(("status", "priority")), ("a", "b", 1, 2))
    conn.execute(set_row(("status", "account_id")), ("a", 2, 1, 2))
    conn.execute(set_row(names), ("a", "b", 1, 2))
"""


def test_identifiers_a_call_gives_a_psycopg_helper_are_filled_in() -> None:
    # (reported in the helper, at its `.format`: the SET list it makes)
    assert _desk(IDENTIFIERS) == [(14, "TG004"), (14, "TG009")]
    pinned = IDENTIFIERS.replace(
        '    conn.execute(set_row(("status", "account_id")), ("a", 2, 1, 2))\n', ""
    )
    assert _desk(pinned.replace('    conn.execute(set_row(names), ("a", "b", 1, 2))\n', "")) == []


def test_init_reads_the_migrations_beside_a_schema_dump(tmp_path: Path) -> None:
    project = tmp_path / "helpdesk"
    shutil.copytree(ROOT, project)
    config = project / "pyproject.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text[: text.index("[tool.tenantguard]")], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "init", "--dry-run"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "sla_policies" in done.stdout


# Class 6: prose in a `help=` / `description=` keyword (argparse, click) that happens to parse
# as SQL (`ArgumentParser(description="delete from tickets where status is closed")`: `DELETE
# FROM tickets WHERE status IS closed`) was TG001, exit 1, on a command-line tool's help text.
# It is read as a message now; the same words sent to the database stay checked.

PROSE = """\
import argparse


def cli():
    p = argparse.ArgumentParser(description="delete from tickets where status is closed")
    p.add_argument("--older", help="select id from tickets where created_at is old")
    return p


async def sent(conn):
    opts = dict(summary="delete from tickets where status is closed")
    await conn.execute(opts["summary"])
    await conn.execute("delete from tickets where status is closed")
"""


def test_help_and_description_keywords_are_prose() -> None:
    assert _desk(PROSE) == [(11, "TG001"), (13, "TG001")]


# Class 7: a classmethod reading two class attributes (`cls.COUNT_SQL.format(table=cls.table)`)
# read them apart, each from any subclass: `Tags.COUNT_SQL` (unpinned) with `Tickets.table`
# was a TG001 at `table = "tickets"` though Tickets keeps the base's pinned COUNT_SQL. `cls`
# is now read once per class, as `self` already was. A base placeholder is left out as in
# class 1, unless the project calls a method on the base itself (`Base.count(conn, 1)`).

CLASSMETHOD = """\
class Base:
    COUNT_SQL = "SELECT count(*) FROM {table} WHERE account_id = $1"
    table = ""

    @classmethod
    async def count(cls, conn, acct):
        return await conn.fetchval(cls.COUNT_SQL.format(table=cls.table), acct)


class Tickets(Base):
    table = "tickets"


class Tags(Base):
    table = "tags"
    COUNT_SQL = "SELECT count(*) FROM {table} WHERE $1::bigint > 0"
"""


def test_a_classmethod_reads_each_class_attribute_from_one_class() -> None:
    assert _desk(CLASSMETHOD) == [(15, "TG001")]


def test_a_base_a_method_is_called_on_is_read_on_its_own() -> None:
    called = CLASSMETHOD + "\n\nasync def z(conn):\n    await Base.count(conn, 1)\n"
    assert (2, "TG006") in _desk(called)


KWARGS_DEFAULT = """\
class Repo:
    table = "tickets"

    def __init__(self, conn):
        self.conn = conn

    async def _call(self, **kw):
        return await self.conn.fetch(kw.get("sql", "SELECT id FROM " + self.table), 1)

    async def a(self):
        await self._call()
"""


def test_a_kwargs_key_read_with_a_default_is_not_only_the_callers() -> None:
    # the default is sent when the caller gives no `sql=` (it was left out: no finding)
    assert _desk(KWARGS_DEFAULT) == [(8, "TG009")]


def test_an_enum_whose_members_may_be_made_otherwise_stays_unresolved() -> None:
    # members a reading of its attributes could miss or misread: unpacked, made by `__new__`
    unpacked = ENUMS.replace(
        '    OPEN = "open"\n    CLOSED = "closed"', '    OPEN, CLOSED = "open", "closed"'
    )
    assert (14, "TG009") in _desk(unpacked)
    new = "\n\n    def __new__(cls, v):\n        o = str.__new__(cls, v)\n        o._value_ = v\n        return o"
    assert (14, "TG009") not in _desk(ENUMS)
    assert (24, "TG009") in _desk(
        ENUMS.replace('    CLOSED = "closed"', '    CLOSED = "closed"' + new)
    )


def test_a_dataclass_with_a_base_is_not_read_field_by_field() -> None:
    based = DATACLASS_COLUMNS.replace("class Link:", "class Link(Base):").replace(
        "from dataclasses import dataclass, fields\n",
        "from dataclasses import dataclass, fields\n\nfrom elsewhere import Base\n",
    )
    found = _desk(based)
    assert (26, "TG009") in found  # the INSERT of its columns: not known


# Class 8: psycopg doubles a `"` inside a name it quotes (`sql.Identifier('x" FROM tags …')` is
# `"x"" FROM tags …"`: one identifier); the reader put the name between quotes as it was, so a
# name holding `"` read as SQL of its own: `SELECT "x" FROM tags WHERE account_id = 1 --" FROM
# tickets WHERE id = %s` was proven (tags pinned, the rest a comment), though the server runs
# `SELECT "x"" FROM …" FROM tickets WHERE id = %s` (every account's ticket).

QUOTED_NAME = """\
from psycopg import sql

COLS = ('x" FROM tags WHERE account_id = 1 --',)
Q = "SELECT {} FROM tickets WHERE id = %s"


def pick(columns):
    return sql.SQL(Q).format(sql.SQL(", ").join(map(sql.Identifier, columns)))


def run(conn):
    conn.execute(sql.SQL(Q).format(sql.Identifier(COLS[0])), (1,))
    conn.execute(sql.SQL(Q).format(sql.SQL(", ").join(map(sql.Identifier, COLS))), (1,))
    conn.execute(pick(COLS), (1,))
"""


def test_a_quote_inside_an_identifier_is_doubled_as_psycopg_does() -> None:
    # (each at `tickets` in Q)
    assert _desk(QUOTED_NAME) == [(4, "TG001")] * 3
    pinned = QUOTED_NAME.replace("WHERE id = %s", "WHERE account_id = %s")
    assert _desk(pinned) == []
