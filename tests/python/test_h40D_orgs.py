"""Session 40 (helper D), issue 12: a multi-org ledger as a first-time user meets it.

`tests/fixtures/projects/h40D_orgs/` (tenant column `org_id`; `tenantguard init` wrote its
configuration from `schema/*.sql` and alembic's `migrations/versions/`) sends SQL through aiosql
named queries (`-- name: get_invoices`, `add_invoice<!`, `^`, `$`, `*!`, `#`), encode/databases
(`fetch_all(query=…, values=…)`, `execute`, `iterate`, an optional `AND org_id = :org_id`),
SQLAlchemy Core over asyncpg (`text(…)`, `.bindparams(…)`, `session.execute`, `select(…)`
builders, `exec_driver_sql`), Django's raw SQL (`connection.cursor()`, `objects.raw`, `RawSQL`,
`.extra(select=…)`), an asyncpg repository base class with SQL in its subclasses' attributes, a
`Query` dataclass registry, an `Enum` of statements, `string.Template`, helpers returning
`(sql, args)`, `NamedTuple` defaults; nightly jobs reading every org (suppressions), tests/ and
scripts/ with SQL, GraphQL, Jinja and log formats. Each expected finding is marked inline;
`tenantguard check` runs on it in a fresh process and must report exactly those.
"""

from __future__ import annotations

import json

import pytest

from tenantguard.cli import main
from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text
from tests.cli.test_projects import PROJECTS

ROOT = PROJECTS / "h40D_orgs"


# (the tree reports exactly its `# expect:` lines: tests/cli/test_projects.py::test_project)


def _orgs(source: str) -> list[tuple[int, str]]:
    policy = Policy("org_id", ["invoices", "payments", "customers"])
    out, _, _ = check_python_text(source, Analyzer(policy))
    return sorted((f.line, f.code) for f in out)


# Class 1: a record class of the project (a plain dataclass or NamedTuple) called with some of
# its fields and the others left to their defaults. `Query("a", "SELECT …", one=True)` beside
# `Query("b", "SELECT …")` in one registry gave the two records different fields: every read
# through an item (`REGISTRY[name].sql`, `for q in NAMED`) was TG009 ("`query.sql` is read at
# run time") — a warning at each call of constant SQL, and a leak in one record only a warning.
# `Report("by status").sql` of `class Report(NamedTuple): title: str; sql: str = "SELECT …"`
# (the default, as the object holds it) was TG009 too: a field left out of the call holds its
# default, as one made with no arguments does.

RECORDS = """\
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    one: bool = False


NAMED = (
    Query("count", "SELECT count(*) FROM invoices WHERE org_id = $1", one=True),
    Query("paid", "SELECT id FROM payments WHERE org_id = $1"),
)
BY_NAME = {q.name: q for q in NAMED}


async def run_named(conn, name, org_id):
    query = BY_NAME[name]
    if query.one:
        return await conn.fetchval(query.sql, org_id)
    return await conn.fetch(query.sql, org_id)


class Report(NamedTuple):
    title: str
    sql: str = "SELECT status, count(*) FROM invoices WHERE org_id = $1 GROUP BY status"
    limit: int = 10


async def run_report(conn, org_id):
    return await conn.fetch(Report("by status").sql, org_id)


async def run_report_kw(conn, org_id):
    return await conn.fetch(Report(title="by status", limit=5).sql, org_id)
"""


def test_records_with_fields_left_to_their_defaults_are_read() -> None:
    assert _orgs(RECORDS) == []


def _line(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def test_a_leak_in_a_record_with_defaults_or_in_a_default_is_found() -> None:
    leaky = RECORDS.replace(
        'Query("paid", "SELECT id FROM payments WHERE org_id = $1")',
        'Query("paid", "SELECT id FROM payments WHERE org_id = $1 OR true")',
    ).replace(
        "status, count(*) FROM invoices WHERE org_id = $1 GROUP BY status",
        "status, count(*) FROM invoices GROUP BY status",
    )
    # the record's text and the default, each said once per call that sends it
    record, default = _line(leaky, "OR true"), _line(leaky, "sql: str =")
    assert _orgs(leaky) == [(record, "TG001")] * 2 + [(default, "TG001")] * 2


def test_a_default_completed_at_the_call_is_found_there() -> None:
    completed = RECORDS.replace(
        'Report("by status").sql, org_id', 'Report("by status").sql + " OR true", org_id'
    ).replace("GROUP BY status", "")
    # said at the table's name, in the default's text (the help names the call)
    assert _orgs(completed) == [(_line(completed, "sql: str ="), "TG001")]


def test_a_field_given_at_the_call_is_what_the_object_holds() -> None:
    given = RECORDS.replace('Report("by status").sql', 'Report("x", "SELECT id FROM invoices").sql')
    assert _orgs(given) == [(_line(given, "SELECT id FROM invoices"), "TG001")]


# Class 2: a registry of records built over a tuple or list written in the comprehension or
# loop itself, `{q.name: q for q in (Query("a", "SELECT …"), Query("b", "SELECT …"))}` or
# `for q in [Query(…), …]:`, was read at run time (TG009 at each call), while the same records
# bound to a name first (`NAMED = (…)`, then `for q in NAMED`) were each checked.

INLINE = """\
from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    name: str
    sql: str


REGISTRY: dict[str, Query] = {
    q.name: q
    for q in (
        Query("count", "SELECT count(*) FROM invoices WHERE org_id = $1"),
        Query("paid", "SELECT id FROM payments WHERE org_id = $1"),
    )
}


async def run_named(conn, name, org_id):
    return await conn.fetch(REGISTRY[name].sql, org_id)


async def run_all(conn, org_id):
    for q in [Query("a", "SELECT id FROM customers WHERE org_id = $1"), Query("b", "SELECT 1")]:
        await conn.fetch(q.sql, org_id)
"""


def test_records_looped_over_a_display_written_there_are_read() -> None:
    assert _orgs(INLINE) == []


def test_a_leak_in_a_record_looped_over_there_is_found_at_its_text() -> None:
    leaky = INLINE.replace("payments WHERE org_id = $1", "payments WHERE org_id = $1 OR true")
    leaky = leaky.replace("customers WHERE org_id = $1", "customers")
    assert _orgs(leaky) == [
        (_line(leaky, "OR true"), "TG001"),
        (_line(leaky, "FROM customers"), "TG001"),
    ]


# Class 3: a helper of the project returning `(sql, args)` built from its parameters,
# `def paged(sql, limit): return f"{sql} LIMIT {int(limit)}", limit`, unpacked at the call
# (`sql, _ = paged("SELECT …", 10)`) or spread into it (`conn.fetch(*paged(…))`): its parameters
# were holes, whatever the call gave them — TG009 at `{sql}` and even at `{int(limit)}` for a
# pinned constant, and a leak the helper makes of the call's text (`f"{sql} OR true"`, a table
# name filled into `f"SELECT id FROM {table}"`) only a warning. A helper's single return was
# already read with the call's arguments; an item of the tuple it returns now is too.

TUPLES = """\
def paged(sql, limit):
    return f"{sql} LIMIT {int(limit)}", limit


def scoped(table):
    return f"SELECT id FROM {table} WHERE org_id = $1", [1]


async def first(conn, org_id):
    sql, _ = paged("SELECT id FROM customers WHERE org_id = $1", 10)
    return await conn.fetch(sql, org_id)


async def spread(conn):
    return await conn.fetch(*paged("SELECT id FROM invoices WHERE org_id = 7", 10))


async def by_table(conn):
    sql, args = scoped("payments")
    return await conn.fetch(sql, *args)
"""


def test_a_helpers_tuple_is_read_with_what_the_call_gives_it() -> None:
    assert _orgs(TUPLES) == []


def test_a_leak_a_helpers_tuple_makes_of_the_calls_text_is_an_error() -> None:
    leaky = TUPLES.replace('LIMIT {int(limit)}", limit', 'OR true", limit').replace(
        'FROM {table} WHERE org_id = $1", [1]', 'FROM {table}", []'
    )
    assert _orgs(leaky) == [
        (_line(leaky, 'paged("SELECT id FROM customers'), "TG001"),
        (_line(leaky, 'paged("SELECT id FROM invoices'), "TG001"),
        (_line(leaky, 'scoped("payments")'), "TG001"),
    ]


def test_a_helpers_tuple_of_a_callers_run_time_name_stays_unresolved() -> None:
    unknown = TUPLES.replace('scoped("payments")', "scoped(table)").replace(
        "def by_table(conn)", "def by_table(conn, table)"
    )
    assert _orgs(unknown) == [(_line(unknown, 'f"SELECT id FROM {table}'), "TG009")]


# Class 4: a repository base whose subclasses each name their table (`TABLE = ""` on the base,
# `TABLE = "customers"` on each subclass) is read with the subclasses' values only while no
# object of the base itself may be made. Whether one may was read in the files' raw text: the
# base's name in a docstring ("Repository base: …"), a log or error message or a trailing
# comment counted as a use that may make one, so the base's `""` reached
# `f"DELETE FROM {self.TABLE} WHERE …"`: TG006 "Expected table name" (a false alarm, and one
# that a prose edit turns on or off). Strings and comments are now prose; a string that is
# only the (dotted) name, `getattr(models, "Repository")`, `"app.repos.Repository"`, still
# names the class.

BASE = '''\
"""Repository base: every table's repository derives from Repository."""

import logging

log = logging.getLogger(__name__)


class Repository:
    TABLE = ""

    def __init__(self, conn, org_id):
        self.conn = conn
        self.org_id = org_id

    async def run(self, sql, *args):
        log.debug("Repository %s runs %s", type(self).__name__, sql)
        return await self.conn.execute(sql, *args)

    async def delete(self, item_id):
        # the base Repository is never made: each subclass names its table
        return await self.run(f"DELETE FROM {self.TABLE} WHERE org_id = $1 AND id = $2", self.org_id, item_id)


class CustomerRepo(Repository):
    TABLE = "customers"


class PaymentRepo(Repository):
    """Payments (a Repository of its own)."""

    TABLE = "payments"


def missing(name):
    return LookupError(f"no Repository for {name}")
'''


def test_a_base_named_in_prose_is_not_made() -> None:
    assert _orgs(BASE) == []


def test_a_base_named_by_a_string_that_is_only_its_name_may_be_made() -> None:
    for made in (
        'import sys\nREPO = getattr(sys.modules[__name__], "Repository")\n',
        'REPO = import_string("ledger.repos.base.Repository")\n',
    ):
        source = BASE + made
        assert _orgs(source) == [(_line(source, "DELETE FROM"), "TG006")], made


# Class 5: a query builder's statement sent to a sink, `session.execute(select(Invoice)
# .where(Invoice.number == number))`, is no SQL text: the reader cannot prove it (README: "Not
# SQL"), and it passed in silence — "proven" said of the file, with an unpinned read in it. It
# is now said, once per file, in a note on standard error naming the lines of those calls
# (the runtime guard checks the SQL they become); JSON and SARIF findings are unchanged.


def test_a_query_builders_statement_is_said_not_proven(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    main(["check", "--no-cache", "ledger/core.py", "ledger/named.py"])
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if "query builder" in line]
    assert notes == [
        "tenantguard: note: ledger/core.py:48: 2 calls (lines 48, 53) send a query builder's "
        "statement (SQLAlchemy's `select(…)`), not SQL text: it is not proven pinned to one "
        "tenant here; the runtime guard checks the SQL it becomes"
    ]
    # the machine formats carry it too, where a CI reads them (s40: standard error only)
    main(["check", "--no-cache", "--format", "json", "ledger/core.py", "ledger/named.py"])
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert [n for n in summary["notes"] if "query builder" in n] == [
        notes[0][len("tenantguard: note: ") :]
    ]


# Class 6: `string.Template(…).substitute(mapping)` (or `**mapping`) of a dict of constants
# bound to a name, `mapping = {"table": "payments"}`: TG009 "computed at run time" although
# the text is constant (a keyword or a dict display written in the call was read). A dict
# changed after (`mapping["table"] = name`, `.update(…)`) or with items unpacked into it stays
# TG009.

TEMPLATES = """\
import string

T = string.Template("SELECT id FROM $table WHERE org_id = $$1")
NAMES = {"table": "payments"}


async def by_name(conn):
    mapping = {"table": "customers"}
    return await conn.fetch(T.substitute(mapping), 1)


async def unpacked(conn):
    return await conn.fetch(T.substitute(**NAMES), 1)
"""


def test_a_templates_mapping_bound_to_a_name_is_read() -> None:
    assert _orgs(TEMPLATES) == []
    leaky = TEMPLATES.replace("WHERE org_id = $$1", "WHERE org_id = $$1 OR true")
    assert [code for _, code in _orgs(leaky)] == ["TG001", "TG001"]


def test_a_templates_mapping_changed_after_stays_unresolved() -> None:
    changed = TEMPLATES.replace(
        "    return await conn.fetch(T.substitute(mapping), 1)",
        '    mapping["table"] = name\n    return await conn.fetch(T.substitute(mapping), 1)',
    ).replace("def by_name(conn)", "def by_name(conn, name)")
    assert _orgs(changed) == [(_line(changed, "T.substitute(mapping)"), "TG009")]


# Message: a `WHERE` built by a helper that appends `f"{key} = ${len(args)}"` for each key of
# its `**filters` is TG009 (a key is an identifier known at run time), said at the loop as
# "items appended to `parts` in a loop" — naming the list, not what in its items is unknown.
# It now says which part.

FILTERS = """\
def where_clause(org_id, **filters):
    parts = ["org_id = $1"]
    args = [org_id]
    for key, value in filters.items():
        args.append(value)
        parts.append(f"{key} = ${len(args)}")
    return " AND ".join(parts), args


async def find(conn, org_id, **filters):
    where, args = where_clause(org_id, **filters)
    return await conn.fetch(f"SELECT id FROM invoices WHERE {where}", *args)
"""


def test_a_loops_unknown_item_is_named_in_the_message() -> None:
    policy = Policy("org_id", ["invoices"])
    out, _, _ = check_python_text(FILTERS, Analyzer(policy))
    assert [(f.line, f.code) for f in out] == [(4, "TG009")]
    assert out[0].message.endswith(
        "items appended to `parts` in a loop: `key` is unpacked from a value computed at run time"
    )


# Class 7: a wrapper that passes its own `**kwargs` on whole into a sink, `async def
# fetch_kw(**kw): return await database.fetch_all(**kw)` (encode/databases' keywords,
# `query=`/`values=`): each caller's `query=` was checked, and the wrapper itself was TG009
# ("the SQL is unpacked from `**kw`") — a warning on code that sends only its callers' SQL. It
# is a wrapper's parameter now (as `kw.pop("query")` was); a `**kw` changed or read elsewhere
# in it (`kw["query"] += " OR true"`) stays TG009, and a caller that unpacks a dict of its own
# is TG009 at that call.

KWARGS = """\
from databases import Database

database = Database("postgresql://x")


async def fetch_kw(**kw):
    return await database.fetch_all(**kw)


async def widened(**kw):
    kw["query"] = kw["query"] + " OR true"
    return await database.fetch_all(**kw)


async def pinned(org_id):
    return await fetch_kw(query="SELECT id FROM payments WHERE org_id = :o", values={"o": org_id})


async def leaky():
    return await fetch_kw(query="SELECT id FROM invoices", values={})


async def unpacked(other):
    return await fetch_kw(**other)
"""


def test_kwargs_passed_on_whole_make_a_wrapper() -> None:
    assert _orgs(KWARGS) == [
        (_line(KWARGS, 'kw["query"] = kw') + 1, "TG009"),  # at its `**kw`
        (_line(KWARGS, "SELECT id FROM invoices"), "TG001"),
        (_line(KWARGS, "fetch_kw(**other)"), "TG009"),
    ]
