"""Session 41 (helper D), issue 12: a multi-team FastAPI app as a first-time user meets it.

`tests/fixtures/projects/h41D_teams/` (tenant column `team_id`; `tenantguard init` wrote its
configuration from `migrations/0001_init.sql` and the Python migrator beside it) sends SQL from
FastAPI routes (`conn = Depends(get_conn)`) through a service layer into DAOs, through two levels
of wrappers taking it by keyword (`sql=` → `query=`, `stmt=`), `functools.partial(conn.fetchrow,
SQL)`, `operator.methodcaller("fetch", SQL, team_id)`, `getattr(conn, "fetch")`,
`asyncio.gather(*(conn.fetchval(s, t) for s in SUMMARY_QUERIES))`; SQL kept in a dict and a
tuple by name, `Final[str]`, `textwrap.dedent`, implicit concatenation with a comment between,
`"\\n".join(parts)` of conditional parts, `%` of a tuple of constants, f-strings with `!s` and
`:>10`, raw strings, `@functools.cache` functions, `dataclasses.field(default=…)`, `@property`;
psycopg 3 (`sql.SQL(…).format(sql.Identifier(t))`, `executemany`, `AsyncConnection.execute`,
`cur.copy(…)`), asyncpg's `copy_from_query`, `cursor(…)` in `async for`, `prepare()`; workers
reading every team (suppressions), scripts/, tests/ fixtures, jq, Elasticsearch, Cypher and a
regex. Each expected finding is marked inline; `tenantguard check` runs on it in a fresh process
and must report exactly those (tests/cli/test_projects.py::test_project).
"""

from __future__ import annotations

import pytest

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text


def _teams(source: str) -> list[tuple[int, str]]:
    policy = Policy("team_id", ["tasks", "members", "projects"])
    out, _, _ = check_python_text(source, Analyzer(policy))
    return sorted((f.line, f.code) for f in out)


def _line(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


# Class 1: a statement built by `sep.join(parts)` of a list kept in a name, its parts appended
# on conditions, in a builder function that the module does not call (another module sends
# what it returns). Each part was a free string of its own: the head `"SELECT … FROM tasks t"`
# standing alone was TG001 at every such builder, however its `WHERE t.team_id = $1` pinned it
# (a false alarm on the commonest query builder there is). The join is read as the statements
# it may make, every combination of the parts, as `+` of constants is: a pinned builder says
# nothing, one whose optional part adds `OR …` is TG001 (at the table, as any statement's).

BUILDERS = """\
def task_filter_sql(*, mine: bool, include_done: bool) -> str:
    parts = ["SELECT t.id, t.title FROM tasks t", "WHERE t.team_id = $1"]
    if mine:
        parts.append("AND t.project_id = $2")
    if not include_done:
        parts.append("AND NOT t.done")
    return "\\n".join(parts)


def member_sql(role):
    head = "SELECT id FROM members"
    where = ["team_id = $1"]
    if role:
        where.append("role = $2")
    return head + " WHERE " + " AND ".join(where)
"""


def test_a_join_of_conditional_parts_is_one_statement() -> None:
    assert _teams(BUILDERS) == []


def test_an_or_in_an_optional_part_of_a_join_is_found_there() -> None:
    leaky = BUILDERS.replace('"AND NOT t.done"', '"OR NOT t.done"')
    # before: silent (the head alone was the finding, the same with or without the OR)
    assert _teams(leaky) == [(_line(leaky, "FROM tasks t"), "TG001")]


def test_a_join_with_no_pin_is_found() -> None:
    leaky = BUILDERS.replace('"WHERE t.team_id = $1"', '"WHERE t.id > 0"')
    assert _teams(leaky) == [(_line(leaky, "SELECT t.id, t.title FROM tasks t"), "TG001")]


def test_a_join_at_the_module_top_is_one_statement() -> None:
    source = '_PARTS = ["SELECT id FROM tasks", "WHERE team_id = $1"]\nSQL = " ".join(_PARTS)\n'
    assert _teams(source) == []
    leaky = source.replace("WHERE team_id = $1", "WHERE id > 0")
    assert _teams(leaky) == [(1, "TG001")]


def test_a_constant_of_its_own_joined_is_still_read_alone() -> None:
    # `BASE` may be sent alone by another module: checked where it is written, as with `+`
    source = (
        'BASE = "SELECT id FROM tasks"\n'
        'def f():\n    parts = [BASE, "WHERE team_id = $1"]\n    return " ".join(parts)\n'
    )
    assert _teams(source) == [(1, "TG001")]


def test_parts_of_a_join_that_is_no_statement_are_still_read_alone() -> None:
    # the join is a report's text, not SQL: the statement in it is checked standing alone
    source = 'def report(n):\n    lines = ["Report:", "SELECT id FROM tasks"]\n    return "\\n".join(lines)\n'
    assert _teams(source) == [(2, "TG001")]


# Class 2: a dataclass field whose default is written `dataclasses.field(default="SELECT …",
# repr=False)` (h40D read `sql: str = "SELECT …"` so, not this spelling). `field(…)` made the
# constructor's fields unknown: `Report("by status").sql` was TG009 "a field: its default,
# unless the constructor is given another" — a warning at constant SQL, and a leak in the
# default only that warning at the call. `field(default=…)` with `repr=`, `compare=`, `hash=`,
# `metadata=`, `doc=` is a default as `= "…"` is; `default_factory`, `init=False` and `kw_only`
# change what the constructor takes and stay unread (TG009).

RECORD = """\
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Report:
    title: str
    sql: str = field(default="SELECT count(*) FROM tasks WHERE team_id = $1", repr=False)


async def run(conn, team_id):
    return await conn.fetch(Report("open").sql, team_id)
"""


def test_a_field_default_of_a_record_is_read_as_its_value() -> None:
    assert _teams(RECORD) == []


def test_a_leak_in_a_field_default_is_found_without_a_warning() -> None:
    leaky = RECORD.replace("WHERE team_id = $1", "WHERE $1::bigint > 0")
    assert _teams(leaky) == [(_line(leaky, "field(default="), "TG001")]


def test_a_field_made_by_a_factory_stays_unread() -> None:
    factory = RECORD.replace('field(default="', 'field(default_factory=lambda: "').replace(
        '$1", repr', '$1", repr'
    )
    assert _teams(factory) == [(_line(factory, 'Report("open").sql'), "TG009")]


# Not fixed (documented): the same field read by the class's own method, `self.list_sql`, on
# an object the project makes with the connection only, `MemberDAO(conn).list(team_id)`, is
# TG009 (plain `= "…"` defaults too): a dataclass has no `__init__` the reader follows as it
# follows `self.query = query` (h35D). A leak in the default is still TG001 where written.

FIELDS = """\
from dataclasses import dataclass


@dataclass
class MemberDAO:
    conn: object
    list_sql: str = "SELECT id FROM members WHERE team_id = $1"

    async def list(self, team_id):
        return await self.conn.fetch(self.list_sql, team_id)


async def handler(conn, team_id):
    return await MemberDAO(conn).list(team_id)
"""


@pytest.mark.xfail(strict=True, reason="dataclass fields read through self: TG009 (no __init__)")
def test_a_field_read_by_the_class_own_method_is_its_default() -> None:
    assert _teams(FIELDS) == []


# Class 3 (message): `fn = functools.partial(run_query, query="SELECT …")` then `await
# fn(conn, …)` in several handlers, each with its own local `fn`. The partial kept in a name
# was matched with every call of that name in the module: each handler's SQL was checked once
# per handler, said two or three times at the same place, its help naming the other handlers'
# calls ("sent by run_query() … at line 8"). A name the function assigns is its own (local,
# unless declared `global` / `nonlocal`): the partials it assigns there are the ones it calls.

PARTIALS = """\
import functools


async def run_query(conn, *, query, args=()):
    return await conn.fetch(query, *args)


async def members(conn, t):
    fn = functools.partial(run_query, query="SELECT id FROM members WHERE team_id = $1")
    return await fn(conn, args=(t,))


async def tasks(conn, t):
    fn = functools.partial(run_query, query="SELECT id FROM tasks WHERE id = $1")
    return await fn(conn, args=(t,))


FN = functools.partial(run_query, query="SELECT id FROM projects WHERE team_id = $1")


async def projects(conn, t):
    return await FN(conn, args=(t,))
"""


def _fixes(source: str) -> list[tuple[int, str, str]]:
    policy = Policy("team_id", ["tasks", "members", "projects"])
    out, _, _ = check_python_text(source, Analyzer(policy))
    return sorted((f.line, f.code, f.help) for f in out)


def test_a_partial_kept_in_a_local_name_is_called_by_its_function_only() -> None:
    found = _fixes(PARTIALS)
    leak, call = _line(PARTIALS, "FROM tasks WHERE id"), _line(PARTIALS, "FROM tasks WHERE id") + 1
    assert [(line, code) for line, code, _ in found] == [(leak, "TG001")]
    assert f"at line {call})" in found[0][2]


def test_a_partial_kept_in_a_global_name_is_read_at_each_call() -> None:
    leaky = PARTIALS.replace("FROM projects WHERE team_id = $1", "FROM projects")
    leak = _line(leaky, "FROM projects")
    found = [(line, code) for line, code, _ in _fixes(leaky)]
    assert found == sorted([(leak, "TG001"), (_line(leaky, "FROM tasks WHERE id"), "TG001")])
