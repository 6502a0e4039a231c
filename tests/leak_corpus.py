"""Ground truth for a leak corpus, by the server: a schema loaded into two databases that differ
only in the rows of the other tenant; each statement runs as tenant 1 in both (in a transaction
rolled back) and is a LEAK when what tenant 1 sees differs between them (rows, status, error, its
own rows after the statement) or when another tenant's rows changed. Then tenantguard's verdict
on the same text. Used by tests/proof/test_h34A_proof.py (a corpus file of its own: a directory with
schema.sql, data_common.sql, data_a.sql, data_b.sql and corpus.sql)."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.sqltext import split_sql

from .conftest import fresh_database

_ARGS = re.compile(r"^--\s*args:\s*(.+)$", re.MULTILINE)
_INT_TYPES = {"int2", "int4", "int8", "numeric"}


@dataclass(frozen=True)
class Case:
    """One statement of a corpus, its line and its arguments (None: chosen by type)."""

    sql: str
    line: int
    args: tuple[object, ...] | None = None


@dataclass(frozen=True)
class Outcome:
    """What one run of a statement showed tenant 1, and what it did to the others."""

    result: tuple[object, ...]
    mine_after: tuple[object, ...]
    others_changed: bool


@dataclass(frozen=True)
class Corpus:
    """A corpus directory: the schema, the data of both databases, the statements."""

    directory: Path
    tenant: str  # tenant 1's id, as text
    other: str  # the other tenant's id: the one whose rows differ between the two databases
    column: str = "org"
    cases: list[Case] = field(default_factory=list)
    # more tenants than `other` whose rows are not tenant 1's (ids of any form: rows holding one
    # are theirs, whatever else they hold); empty: the rows of uuid ids, told by their '-'
    others: tuple[str, ...] = ()
    # the schemas whose tables are compared, and the search_path each statement runs under
    # (None: the database's); round 36 (h36A) spreads its tables over app, billing, reporting
    schemas: tuple[str, ...] = ("public", "archive")
    search_path: str | None = None
    # more type names whose parameters take the tenant's id as an integer (a domain over one:
    # h38A's org_ref, which PostgreSQL types `INSERT … VALUES ($1)` by)
    numbers: tuple[str, ...] = ()

    def foreign(self, row: str) -> bool:
        """Whether a row's text is of another tenant than tenant 1."""
        if self.others:
            return any(o in row for o in (self.other, *self.others))
        return self.other in row

    def text(self, name: str) -> str:
        return (self.directory / name).read_text(encoding="utf-8")

    @property
    def schema(self) -> str:
        return self.text("schema.sql")

    def database(self, which: str) -> str:
        """The SQL of database `a` or `b`: the schema, the rows both hold, its own rows, then
        the materialized views refreshed and statistics gathered."""
        return "\n".join(
            [
                self.schema,
                self.text("data_common.sql"),
                self.text(f"data_{which}.sql"),
                "DO $$ DECLARE m record; BEGIN FOR m IN SELECT oid::regclass AS v FROM pg_class"
                " WHERE relkind = 'm' LOOP EXECUTE format('REFRESH MATERIALIZED VIEW %s', m.v);"
                " END LOOP; END $$;",
                "ANALYZE;",
            ]
        )


def load(
    directory: Path,
    tenant: str,
    other: str,
    column: str = "org",
    others: tuple[str, ...] = (),
    schemas: tuple[str, ...] = ("public", "archive"),
    search_path: str | None = None,
    numbers: tuple[str, ...] = (),
) -> Corpus:
    """The corpus of `directory`; a `-- args: [...]` comment line before a statement gives its
    arguments (a Python list; the strings `T` and `O` stand for tenant 1's and the other's id)."""
    text = (directory / "corpus.sql").read_text(encoding="utf-8")
    statements, _ = split_sql(text)
    cases, end = [], 0
    for statement in statements:
        before = text[end : statement.start]
        end = statement.start + len(statement.text)
        found = _ARGS.findall(before)
        args = None
        if found:
            names = {"T": tenant, "O": other}
            args = tuple(
                names.get(a, a) if isinstance(a, str) else a
                for a in ast.literal_eval(found[-1].strip())
            )
        cases.append(Case(statement.text, statement.line, args))
    return Corpus(directory, tenant, other, column, cases, others, schemas, search_path, numbers)


@asynccontextmanager
async def two_databases(postgres: ThrowawayPostgres, corpus: Corpus) -> AsyncIterator[list[str]]:
    """The DSNs of databases `a` and `b`, for one test."""
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(fresh_database(postgres, corpus.database(which)))
            for which in "ab"
        ]


def _value(kind: str, at: int, corpus: Corpus) -> object:
    """A parameter's argument chosen by its type: the tenant's id at $1, the other tenant's at
    a later uuid parameter (a second pin is another tenant's, as an attacker would pass it); an
    integer is 1, or at $1 the tenant's id where tenants are numbers (h36A's clinic_id)."""
    ident = corpus.tenant if at == 0 else corpus.other
    if kind == "uuid":
        return uuid.UUID(ident)
    if kind in _INT_TYPES or kind in corpus.numbers:
        return int(ident) if at == 0 and ident.isdigit() else 1
    if kind == "bool":
        return True
    return ident


def _convert(value: object, kind: str) -> object:
    if isinstance(value, list):
        return [_convert(v, kind.lstrip("_")) for v in value]
    if kind == "uuid" and isinstance(value, str):
        return uuid.UUID(value)
    if kind in _INT_TYPES and isinstance(value, str):
        return int(value)
    return value


async def _rows(conn: asyncpg.Connection, corpus: Corpus) -> dict[str, list[tuple[str, ...]]]:
    """Every table's rows (ONLY: partitions and children on their own); a sequence's value is
    not rolled back: it is read as its value, which the caller compares before and after."""
    tables = await conn.fetch(
        "SELECT c.oid::regclass::text AS name, c.relkind = 'S' AS sequence"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'S') AND n.nspname = ANY($1::text[]) ORDER BY 1",
        list(corpus.schemas),
    )
    reads = [  # one round trip: the corpus's 600 statements read every table twice each
        f"SELECT {i} AS n, "
        + ("last_value::text" if t["sequence"] else "row(t.*)::text")
        + f" AS r FROM ONLY {t['name']} t"
        for i, t in enumerate(tables)
    ]
    found: dict[str, list[tuple[str, ...]]] = {t["name"]: [] for t in tables}
    for row in await conn.fetch(" UNION ALL ".join(reads)):
        found[tables[row["n"]]["name"]].append((row["r"],))
    return {name: sorted(rows) for name, rows in found.items()}


def _changed(before: list[tuple[str, ...]], after: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """A table's rows after a statement, marked: kept, gone or new (a sequence: how far it
    moved)."""
    if len(before) == len(after) == 1 and before[0][0].isdigit() and after[0][0].isdigit():
        return [(str(int(after[0][0]) - int(before[0][0])),)]
    gone, new = set(before) - set(after), set(after) - set(before)
    return sorted(
        [(r[0] + " kept",) for r in after if r not in new]
        + [(r[0] + " gone",) for r in gone]
        + [(r[0] + " new",) for r in new]
    )


def _mine(rows: dict[str, list[tuple[str, ...]]], corpus: Corpus) -> tuple[object, ...]:
    """The rows tenant 1 may see: its own rows, and every row of the tables without a tenant
    column (the rows of a tenant table are told by the tenant's id in their text)."""
    kept = []
    for name, table in rows.items():
        tenanted = [r for r in table if corpus.tenant in r[0] or corpus.foreign(r[0])]
        if tenanted:
            kept.append((name, tuple(r for r in table if not corpus.foreign(r[0]))))
        else:
            kept.append((name, tuple(table)))
    return tuple(kept)


def _theirs(rows: dict[str, list[tuple[str, ...]]], corpus: Corpus) -> tuple[object, ...]:
    """The rows of every tenant but tenant 1 (by their text: a row not of tenant 1)."""
    if corpus.others:
        return tuple(
            (name, tuple(r for r in table if corpus.foreign(r[0]) and corpus.tenant not in r[0]))
            for name, table in rows.items()
        )
    return tuple(
        (name, tuple(r for r in table if corpus.tenant not in r[0] and "-" in r[0]))
        for name, table in rows.items()
    )


async def run(conn: asyncpg.Connection, corpus: Corpus, case: Case) -> Outcome:
    """`case` run as tenant 1 in a transaction rolled back."""
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(
            "SELECT set_config('app.tenant_id', $1, true), set_config('statement_timeout',"
            " '3s', true)",
            corpus.tenant,
        )
        if corpus.search_path is not None:
            await conn.execute("SELECT set_config('search_path', $1, true)", corpus.search_path)
        await conn.execute(  # not rolled back: each statement starts from the same values
            "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c WHERE c.relkind = 'S'"
        )
        before = await _rows(conn, corpus)
        result: tuple[object, ...]
        try:
            async with conn.transaction():  # a savepoint: the error is kept, the rows read after
                stmt = await conn.prepare(case.sql)
                kinds = [t.name for t in stmt.get_parameters()]
                if case.args is not None:
                    args = [
                        _convert(a, "int4" if k in corpus.numbers else k)
                        for a, k in zip(case.args, kinds, strict=True)
                    ]
                else:
                    args = [_value(k, at, corpus) for at, k in enumerate(kinds)]
                rows = await stmt.fetch(*args)
                result = (
                    "ok",
                    stmt.get_statusmsg(),
                    tuple(sorted(repr(tuple(r.values())) for r in rows)),
                )
        except (
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
        ) as error:
            result = ("error", type(error).__name__, str(error))
        after = await _rows(conn, corpus)
        mine = {name: _changed(before.get(name, []), rows) for name, rows in after.items()}
        return Outcome(
            result, _mine(mine, corpus), _theirs(after, corpus) != _theirs(before, corpus)
        )
    finally:
        await tx.rollback()


def leaks(first: Outcome, second: Outcome) -> bool:
    """Whether two runs of one statement, one on each database, tell the other tenant's rows
    apart (or changed them)."""
    return (
        first.result != second.result
        or first.mine_after != second.mine_after
        or first.others_changed
        or second.others_changed
    )


async def server_verdicts(dsns: Sequence[str], corpus: Corpus) -> list[tuple[bool, Outcome]]:
    """Each case: whether it leaks, and its outcome on database `a`."""
    conns = [await asyncpg.connect(dsn) for dsn in dsns]
    try:
        found = []
        for case in corpus.cases:
            first, second = await asyncio.gather(*(run(conn, corpus, case) for conn in conns))
            found.append((leaks(first, second), first))
        return found
    finally:
        for conn in conns:
            await conn.close()


def codes(sql: str, policy: Any) -> list[str]:
    """The codes of tenantguard's error findings on `sql`."""
    return sorted(
        {f.code for f in analyze_statement(sql, policy).findings if f.severity == "error"}
    )


@dataclass
class Verdict:
    """One case of a corpus: what the server showed and what tenantguard said."""

    case: Case
    leak: bool
    outcome: Outcome
    codes: list[str]


async def judged(
    postgres: ThrowawayPostgres, corpus: Corpus, policy: Any, *, dump: str = ""
) -> list[Verdict]:
    """Every case of `corpus` run on two databases (the server's verdict) and checked with
    `policy` (tenantguard's codes). When the environment variable named `dump` is set, a table
    of the verdicts is written to the file it names (line, LEAK/safe, codes, the server's
    result, the statement), for reading a corpus's false alarms."""
    async with two_databases(postgres, corpus) as dsns:
        found = await server_verdicts(dsns, corpus)
    verdicts = [
        Verdict(case, leak, outcome, codes(case.sql, policy))
        for case, (leak, outcome) in zip(corpus.cases, found, strict=True)
    ]
    path = os.environ.get(dump) if dump else None
    if path:
        with open(path, "w", encoding="utf-8") as out:
            for v in verdicts:
                print(
                    v.case.line,
                    "LEAK" if v.leak else "safe",
                    ",".join(v.codes) or "pass",
                    v.outcome.result[0],
                    repr(v.outcome.result[-1])[:150],
                    "|",
                    " ".join(v.case.sql.split()),
                    sep="\t",
                    file=out,
                )
    return verdicts


def missed_leaks(verdicts: Sequence[Verdict]) -> list[str]:
    """The leaks with no error finding, as `line N: statement`."""
    return [f"line {v.case.line}: {v.case.sql}" for v in verdicts if v.leak and not v.codes]


async def missed_but_by_design(
    postgres: ThrowawayPostgres,
    corpus: Corpus,
    policy: Any,
    by_design: Callable[[str], bool],
    *,
    dump: str,
    cases: int,
    leaking: int,
) -> list[str]:
    """The leaks of `corpus` with no error finding, but those `by_design` accepts (as
    `missed_leaks` says them); the corpus asserted to hold at least `cases` statements, of
    which at least `leaking` leak on the server (a corpus that stopped loading proves nothing)."""
    verdicts = await judged(postgres, corpus, policy, dump=dump)
    assert len(corpus.cases) >= cases, len(corpus.cases)
    assert sum(v.leak for v in verdicts) >= leaking, sum(v.leak for v in verdicts)
    return [m for m in missed_leaks(verdicts) if not by_design(m)]
