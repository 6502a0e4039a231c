"""Session 39 (helper D), issue 12: a multi-team task service as a first-time user meets it.

`tests/fixtures/projects/h39D_teams/` (aiohttp + asyncpg, psycopg 3 sync workers; tenant column
`team_id`; `tenantguard init` wrote its configuration from `schema/*.sql` and the Python files
of `migrations/`) has SQL in `typing.Final` constants (`textwrap.dedent`, `.strip()`,
`inspect.cleandoc`), re-exported through the package's `__init__` `__all__`, a module tuple of
dataclass records and a dict comprehension keyed by their names, `.sql` files read through
`importlib.resources.files(pkg).joinpath(…)`, a `@query("SELECT …")` decorator, an async
context-manager repository (`functools.partial(conn.fetchrow, "SELECT …")`, lambdas, `match`,
the walrus operator), psycopg 3's `%(name)s` / `%s`, `sql.SQL(…).format(sql.Identifier(…))`,
`sql.SQL(" AND ").join(…)`, `conn.execute`, named cursors, `executemany`, `copy` blocks, asyncpg's
`copy_records_to_table` / `copy_from_query` / `copy_from_table`, nightly jobs that read every team
(suppressions), tests/ and scripts/ with SQL, log and exception messages, argparse help. Each
expected finding is marked inline; `tenantguard check` runs on it in a fresh process and must
report exactly those.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text
from tests.cli.test_projects import PROJECTS, expectations
from tests.python.test_h34D_real_tree import reported

ROOT = PROJECTS / "h39D_teams"


def test_the_teams_tree_reports_exactly_what_it_expects() -> None:
    got = reported(ROOT)
    want = expectations(ROOT)
    # (reported and not expected, expected and not reported)
    assert (sorted(got - want), sorted(want - got)) == ([], [])


def _teams(source: str) -> list[tuple[int, str]]:
    policy = Policy("team_id", ["tasks", "labels", "comments"])
    out, _, _ = check_python_text(source, Analyzer(policy))
    return sorted((f.line, f.code) for f in out)


# Class 1: SQL kept in a module's tuple (or list, or dict) of dataclass records, read through
# an item: `NAMED[0].sql`, `BY_NAME[name].sql` of `BY_NAME = {q.name: q for q in NAMED}`,
# `for q in NAMED: … q.sql`, `D.get(k).sql`, `for q in D.values()`. A record bound to a name
# alone (`EVENTS = Query(…)`, `EVENTS.sql`) was read as what its call gave it; one reached
# through an item was TG009 ("`BY_NAME[name].sql` is read at run time") — a warning at every
# call of constant SQL, and a leak added at the call (`+ " OR true"`) only a warning.

RECORDS = """\
from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    many: bool = True


NAMED = (
    Query("tasks", "SELECT id FROM tasks WHERE team_id = $1"),
    Query("labels", "SELECT id FROM labels WHERE team_id = $1"),
)
BY_NAME = {q.name: q for q in NAMED}
D = {"c": Query("c", "SELECT id FROM comments WHERE team_id = $1")}


async def first(conn):
    return await conn.fetch(NAMED[0].sql, 1)


async def named(conn, name):
    return await conn.fetch(BY_NAME[name].sql, 1)


async def each(conn):
    for q in NAMED:
        await conn.fetch(q.sql, 1)


async def got(conn, k):
    return await conn.fetch(D.get(k).sql, 1)


async def values(conn):
    for q in D.values():
        await conn.fetch(q.sql, 1)
"""


def test_sql_in_records_held_by_a_collection_is_constant() -> None:
    assert _teams(RECORDS) == []


def test_what_a_call_adds_to_a_records_sql_is_found() -> None:
    widened = RECORDS + (
        "\n\nasync def wide(conn, name):\n"
        '    return await conn.fetch(BY_NAME[name].sql + " OR true", 1)\n'
    )
    # each record's text, completed by the call: found where each is written
    assert _teams(widened) == [(12, "TG001"), (13, "TG001")]
    looped = RECORDS + (
        "\n\nasync def wide(conn):\n"
        "    for q in D.values():\n"
        '        await conn.fetch(f"{q.sql} OR true", 1)\n'
    )
    assert _teams(looped) == [(16, "TG001")]


def test_records_that_may_change_stay_unknown() -> None:
    # the tuple grown in place, a record's field assigned, records of two shapes: TG009
    grown = RECORDS.replace("NAMED = (", "NAMED = [").replace("\n)\nBY_NAME", "\n]\nBY_NAME")
    grown += '\n\ndef add(sql):\n    NAMED.append(Query("x", sql))\n'
    assert _teams(grown) == [(20, "TG009"), (24, "TG009"), (29, "TG009")]
    # (session 40, h40D: a field a call leaves out holds its default, so a record given
    # `many=False` and one left to `many`'s default are of one shape, each read)
    mixed = RECORDS.replace('Query("labels", "SELECT', 'Query("labels", many=False, sql="SELECT')
    assert _teams(mixed) == []
    leaky = mixed.replace("labels WHERE team_id = $1", "labels WHERE team_id = $1 OR true")
    assert [code for _, code in _teams(leaky)] == ["TG001", "TG001"]


def test_a_records_field_assigned_in_the_project_stays_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "team_id"\n'
        'tenant_tables = ["tasks", "labels", "comments"]\n',
        encoding="utf-8",
    )
    (tmp_path / "q.py").write_text(RECORDS.replace("(frozen=True)", ""), encoding="utf-8")
    (tmp_path / "patch.py").write_text("def patch(q, sql):\n    q.sql = sql\n", encoding="utf-8")
    main(["check", "--no-cache", "--format", "json", str(tmp_path)])
    data = json.loads(capsys.readouterr().out)
    found = sorted((f["line"], f["rule"]) for f in data["findings"])
    assert found == [(20, "TG009"), (24, "TG009"), (29, "TG009"), (33, "TG009"), (38, "TG009")]


# Class 2: a method's parameter named as another method's growing local list. ProjectRepo has
# `_rows(self, sql, *args)` and `_page(self, sql, page, *args)` beside `filtered()`, which
# builds its own `args: list[Any] = []` and appends to it. The scan of what functions change
# what they are handed took `_rows` for one that changes its arguments (another function
# using `args` as its own parameter made the reader unsure), so every collection handed to it
# — `self._rows(BY_NAME[name].sql)` — was "changed after it is built": TG009.

SIBLINGS = """\
QUERIES = {"all": "SELECT id FROM tasks WHERE team_id = $1"}


class Repo:
    def __init__(self, conn, team_id):
        self._conn = conn
        self.team_id = team_id

    async def _rows(self, sql, *args):
        return await self._conn.fetch(sql, self.team_id, *args)

    async def _page(self, sql, page, *args):
        return await self._rows(f"{sql} LIMIT 50 OFFSET {int(page) * 50}", *args)

    async def named(self, name):
        return await self._rows(QUERIES[name])

    async def filtered(self, status):
        args = []
        where = ["team_id = $1"]
        if status is not None:
            args.append(status)
            where.append("status = $2")
        return await self._conn.fetch("SELECT id FROM tasks WHERE " + " AND ".join(where), *args)
"""


def test_a_parameter_named_as_another_functions_local_list_is_not_changed() -> None:
    assert _teams(SIBLINGS) == []
    # a function that does change what it is handed still does: QUERIES handed to it is
    # changed, its item unknown
    changing = SIBLINGS.replace(
        "    async def _rows(self, sql, *args):\n",
        "    async def _rows(self, sql, *args, extra=None):\n        extra.update(a=1)\n",
    ).replace("self._rows(QUERIES[name])", "self._rows(QUERIES[name], extra=QUERIES)")
    assert _teams(changing) == [(17, "TG009")]


# Class 3: a query method chosen by a conditional expression and called at once,
# `await (conn.fetch if q.many else conn.fetchrow)(sql, …)`, was no sink: SQL of any kind went
# unseen (a literal naming a tenant table is still checked standing alone, but a statement
# completed from a constant, an f-string with a hole, a record's field were silent). Kept in a
# name first (`run = conn.fetch if many else conn.fetchrow`), it was one.

CHOSEN = """\
WIDE = " OR true"


async def composed(conn, many):
    return await (conn.fetch if many else conn.fetchrow)("SELECT id FROM tasks WHERE team_id = $1" + WIDE, 1)


async def holed(conn, many, text):
    return await (conn.fetch if many else conn.fetchrow)(f"SELECT id FROM tasks WHERE team_id = $1 {text}", 1)


async def wrapper(conn, many, sql):
    return await (conn.fetchval if many else conn.execute)(sql, 1)


async def through(conn):
    return await wrapper(conn, True, "SELECT count(*) FROM labels")
"""


def test_a_query_method_chosen_by_a_conditional_and_called_is_a_sink() -> None:
    assert _teams(CHOSEN) == [(5, "TG001"), (9, "TG009"), (17, "TG001")]
    # not a query method on either side: no sink
    plain = (
        "async def f(http, many):\n    return await (http.get if many else http.head)('/tasks')\n"
    )
    assert _teams(plain) == []


def test_a_record_taken_from_the_collection_into_a_name_is_any_of_them() -> None:
    local = RECORDS + (
        "\n\nasync def local(conn, name):\n"
        "    q = BY_NAME[name]\n"
        "    return await (conn.fetch if q.many else conn.fetchrow)(q.sql, 1)\n"
        "\n\nasync def got_local(conn, name):\n"
        "    q = D.get(name)\n"
        '    return await conn.fetch(q.sql + " OR true", 1)\n'
    )
    assert _teams(local) == [(16, "TG001")]


# Class 4: a suppression after what formats a multi-line literal, `""" % {"days": N}  #
# tenantguard: ignore[TG001] -- reason` or `""".strip()  # …`, the README's place for a
# literal's suppression (after its closing quotes), was read as written for the dict key
# `"days"` / the `(` that follows on the line (h28e's rule against one suppression silencing two
# statements): TG011 "suppresses nothing", and the statement's TG001 stayed. What follows is the
# same statement's formatting; a second statement after it keeps the suppression its own.

SUPPRESSED = '''\
DAYS = 30

PURGE = """
    DELETE FROM tasks
    WHERE due < now() - make_interval(days => %(days)s)
""" % {"days": DAYS}  # tenantguard: ignore[TG001] -- retention applies to every team

STRIPPED = """
    SELECT count(*) FROM labels
""".strip()  # tenantguard: ignore[TG001] -- counts every team's labels

TWO = """
    SELECT count(*) FROM comments
""".strip(), "SELECT count(*) FROM comments"  # tenantguard: ignore[TG001] -- the second one's
'''


def test_a_suppression_after_what_formats_a_literal_is_the_literals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "team_id"\n'
        'tenant_tables = ["tasks", "labels", "comments"]\n',
        encoding="utf-8",
    )
    (tmp_path / "jobs.py").write_text(SUPPRESSED, encoding="utf-8")
    main(["check", "--no-cache", "--format", "json", str(tmp_path)])
    data = json.loads(capsys.readouterr().out)
    assert sorted((f["line"], f["rule"]) for f in data["findings"]) == [(13, "TG001")]


# Class 5: importlib.resources anchored at a package of the project given as a module object,
# `from teamsvc import sql as sql_pkg` then `resources.files(sql_pkg).joinpath("q.sql")
# .read_text()`, or `import teamsvc.sql` then `files(teamsvc.sql)` (Python accepts a module
# as the anchor): TG009 "computed at run time" at every call, and what a call adds to the
# file's text (`+ " OR true"`) only that warning. Now the package's directory, as for
# `files("teamsvc.sql")`.

RESOURCES = {
    "app/__init__.py": "",
    "app/sql/__init__.py": '"""SQL files."""\n',
    "app/sql/pinned.sql": "SELECT id FROM tasks WHERE team_id = $1\n",
    "app/res.py": """\
from importlib import resources

import app.sql
from app import sql as sql_pkg
from app import res as this

PINNED = resources.files(sql_pkg).joinpath("pinned.sql").read_text()
DOTTED = (resources.files(app.sql) / "pinned.sql").read_text()
MODULE = resources.files(this).joinpath("pinned.sql").read_text()


async def a(conn):
    return await conn.fetch(PINNED, 1)


async def b(conn):
    return await conn.fetch(DOTTED + " OR true", 1)


async def c(conn):
    return await conn.fetch(MODULE, 1)
""",
}


def test_resources_of_a_package_given_as_a_module_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "team_id"\ntenant_tables = ["tasks"]\n',
        encoding="utf-8",
    )
    for name, text in RESOURCES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    main(["check", "--no-cache", "--format", "json", str(tmp_path)])
    data = json.loads(capsys.readouterr().out)
    found = sorted((Path(f["path"]).name, f["line"], f["rule"]) for f in data["findings"])
    # `files(this)` of a module that is no package: its files are not known (TG009)
    assert found == [("res.py", 8, "TG001"), ("res.py", 21, "TG009")]


# Class 6: text printed for people through a terminal object, rich's `console.print("SELECT *
# FROM tasks  -- preview …")` or Django's `self.stdout.write("DELETE FROM comments …")`, was
# checked as SQL standing alone (TG001) while `print(…)`, `click.echo(…)` and log calls were
# messages. A `print` / `write` of anything else is still read.

CONSOLE = """\
import sys


class Command:
    def handle(self, console, team_id):
        console.print("SELECT * FROM tasks  -- preview of the rows the purge removes")
        self.stdout.write("DELETE FROM comments WHERE task_id = 1 will run")
        sys.stderr.write("UPDATE labels SET name = 'x' is next")
        self.console.print("SELECT id FROM labels")
        doc.write("SELECT id FROM comments")
"""


def test_text_printed_on_a_terminal_is_a_message() -> None:
    assert _teams(CONSOLE) == [(10, "TG001")]
