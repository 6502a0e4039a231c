"""Pinning parameters typed by PostgreSQL's inference (issue 11, round 4).

PostgreSQL types a parameter once, by its first use. In `… LEFT JOIN measures m ON m.score = $1
WHERE p.tenant_id = $1` with `score real`, `$1` is a `real` everywhere: the request's tenant
16777217 passes the guard's value check, is sent as a float4 (16777216.0), and `tenant_id = $1`
selects tenant 16777216's rows. The proof cannot see the types; the guard checks them once
asyncpg has prepared the statement, before anything is bound.

Every attack is made by a request of tenant 16777217 (Eva's clinic; Dora's is 16777216) — or,
where PostgreSQL infers a `double precision`, of tenant 2^53 + 1 (Gil; Fay's is 2^53) — through
the guarded connection's public API on a superuser connection (the guard alone between the
tenants), and asserts on the rows that come back or that changed, read afterwards through an
unguarded connection. A refused call counts as no rows.
"""

from __future__ import annotations

import contextlib
import io
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from asyncpg.types import Type

from tenantguard import Policy, TenantIsolationError
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tenantguard.runtime import GuardedConnection, connect, create_pool, tenant, unscoped
from tenantguard.runtime.parameter_types import describe, first_inexact_pin, inexact
from tests.conftest import BASELINE, CLINICS, fresh_database

POLICY = Policy("tenant_id", {"patients", "labels", "docs", "visits"}, global_tables={"tenants"})

EAST, WEST = 16777216, 16777217  # one float4 apart: 2^24, 2^24 + 1
FAR_EAST, FAR_WEST = 2**53, 2**53 + 1  # one float8 apart

TABLES = f"""
INSERT INTO tenants (id, name) VALUES
    ({EAST}, 'East'), ({WEST}, 'West'), ({FAR_EAST}, 'Far East'), ({FAR_WEST}, 'Far West');
INSERT INTO patients (tenant_id, first_name, phone_number) VALUES
    ({EAST}, 'Dora', '331'), ({WEST}, 'Eva', '441'),
    ({FAR_EAST}, 'Fay', '551'), ({FAR_WEST}, 'Gil', '661');
CREATE DOMAIN score_t AS real;
CREATE DOMAIN clinic_ref AS bigint;
CREATE TABLE measures (
    score real, weight double precision, fee money, grade "char", code char(3),
    small smallint, amount integer, rating score_t
);
INSERT INTO measures (score, weight, code, small, amount) VALUES ({EAST}, {FAR_EAST}, 'ab', 1, 1);
CREATE TABLE labels (tenant_id text NOT NULL, body text);
INSERT INTO labels VALUES ('a', 'of a'), ('ab', 'of ab'), ('ab ', 'of ab-space');
CREATE TABLE docs (tenant_id uuid NOT NULL, body text);
INSERT INTO docs VALUES
    ('00000000-0000-0000-0000-000000000001', 'doc one'),
    ('00000000-0000-0000-0000-000000000002', 'doc two');
CREATE TABLE visits (tenant_id clinic_ref NOT NULL, note text);
"""

Call = Callable[[], Awaitable[Any]]


@pytest.fixture
async def dsn(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    """The two clinics (tests/conftest.py) and TABLES."""
    async with fresh_database(
        postgres, BASELINE.read_text(encoding="utf-8") + CLINICS + TABLES
    ) as dsn:
        yield dsn


async def guarded(dsn: str, **options: Any) -> GuardedConnection:
    return await connect(dsn, policy=POLICY, **options)


async def names_of(call: Call) -> list[str]:
    """The first column of the rows a guarded call returns; a refused call returns none."""
    try:
        rows = await call()
    except TenantIsolationError:
        return []
    return sorted(str(row[0]) for row in rows)


async def refused_or_ran(call: Call) -> None:
    with contextlib.suppress(TenantIsolationError):
        await call()


async def owner_rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    raw = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await raw.fetch(sql)]
    finally:
        await raw.close()


# --- the shapes: where PostgreSQL types the pinning parameter before the pin ----------------

# (name, statement, request's tenant, the other tenant's patient it would read)
READS = [
    (
        "a real column in a join",
        "SELECT p.first_name FROM patients p LEFT JOIN measures m ON m.score = $1 "
        "WHERE p.tenant_id = $1",
        WEST,
        "Dora",
    ),
    (
        "a real column in a CTE",
        "WITH m AS (SELECT score FROM measures WHERE score = $1) "
        "SELECT first_name FROM patients WHERE tenant_id = $1",
        WEST,
        "Dora",
    ),
    (
        "a real column in a subquery before the pin",
        "SELECT first_name FROM patients "
        "WHERE (SELECT count(*) FROM measures WHERE score = $1) >= 0 AND tenant_id = $1",
        WEST,
        "Dora",
    ),
    (
        "a function over double precision",
        "SELECT first_name FROM patients WHERE round($1) IS NOT NULL AND tenant_id = $1",
        FAR_WEST,
        "Fay",
    ),
    (
        "a double precision column",
        "SELECT p.first_name FROM patients p LEFT JOIN measures m ON m.weight = $1 "
        "WHERE p.tenant_id = $1",
        FAR_WEST,
        "Fay",
    ),
    (
        "a domain over real, written in a CTE",
        "WITH m AS (INSERT INTO measures (rating) VALUES ($1) RETURNING 1) "
        "SELECT first_name FROM patients WHERE tenant_id = $1",
        WEST,
        "Dora",
    ),
]


@pytest.mark.parametrize(
    ("sql", "request_tenant", "other"), [r[1:] for r in READS], ids=[r[0] for r in READS]
)
async def test_a_pin_typed_inexactly_reads_no_other_tenant(
    dsn: str, sql: str, request_tenant: int, other: str
) -> None:
    conn = await guarded(dsn)
    try:
        with tenant(request_tenant):
            read = await names_of(lambda: conn.fetch(sql, request_tenant))
    finally:
        await conn.close()
    assert other not in read


async def test_an_insert_after_a_real_use_writes_no_row_for_another_tenant(dsn: str) -> None:
    """`VALUES ($1)` into the bigint tenant column, `$1` typed real by a CTE: an assignment
    cast turns 16777217 into 16777216 and the row lands in the other clinic."""
    conn = await guarded(dsn)
    try:
        with tenant(WEST):
            await refused_or_ran(
                lambda: conn.execute(
                    "WITH m AS (SELECT 1 FROM measures WHERE score = $1) INSERT INTO patients "
                    "(tenant_id, first_name, phone_number) VALUES ($1, 'Mallory', '901')",
                    WEST,
                )
            )
            await refused_or_ran(
                lambda: conn.execute(
                    "INSERT INTO patients (tenant_id, first_name, phone_number) "
                    "SELECT $1, 'Mallet', '902' FROM (SELECT score FROM measures WHERE score = $1) m",
                    WEST,
                )
            )
    finally:
        await conn.close()
    written = await owner_rows(
        dsn,
        "SELECT first_name FROM patients WHERE tenant_id <> 16777217 AND phone_number LIKE '90%'",
    )
    assert written == []


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE patients SET first_name = first_name || ' (changed)' "
        "WHERE (SELECT count(*) FROM measures WHERE score = $1) >= 0 AND tenant_id = $1",
        "DELETE FROM patients "
        "WHERE (SELECT count(*) FROM measures WHERE score = $1) >= 0 AND tenant_id = $1",
    ],
    ids=["update", "delete"],
)
async def test_an_update_or_delete_after_a_real_use_changes_no_other_tenant(
    dsn: str, sql: str
) -> None:
    conn = await guarded(dsn)
    try:
        with tenant(WEST):
            await refused_or_ran(lambda: conn.execute(sql, WEST))
            await refused_or_ran(lambda: conn.executemany(sql, [(WEST,)]))
    finally:
        await conn.close()
    assert await owner_rows(dsn, f"SELECT first_name FROM patients WHERE tenant_id = {EAST}") == [
        ("Dora",)
    ]


async def test_a_character_parameter_reads_no_other_text_tenant(dsn: str) -> None:
    """`character` drops trailing blanks when compared with text: tenant `'ab '` (its own
    rows stored as `'ab '`) read as `'ab'`, another tenant."""
    conn = await guarded(dsn)
    try:
        with tenant("ab "):
            read = await names_of(
                lambda: conn.fetch(
                    "SELECT l.body FROM labels l LEFT JOIN measures m ON m.code = $1 "
                    "WHERE l.tenant_id = $1",
                    "ab ",
                )
            )
    finally:
        await conn.close()
    assert "of ab" not in read


async def test_a_one_byte_char_parameter_is_refused_with_a_clear_message(dsn: str) -> None:
    """`"char"` keeps one byte (tenant `'ab'` would be `'a'`); asyncpg's codec wants bytes, which
    the value check refuses anyway — the type check says why first."""
    conn = await guarded(dsn)
    try:
        with tenant("ab"), pytest.raises(TenantIsolationError, match='"char"'):
            await conn.fetch(
                "SELECT l.body FROM labels l LEFT JOIN measures m ON m.grade = $1 "
                "WHERE l.tenant_id = $1",
                "ab",
            )
    finally:
        await conn.close()


# --- every path that binds parameters -----------------------------------------------------

JOIN_REAL = READS[0][1]


async def _prepared(conn: GuardedConnection) -> Any:
    return await (await conn.prepare(JOIN_REAL)).fetch(WEST)


async def _cursor(conn: GuardedConnection) -> Any:
    async with conn.transaction():
        return [row async for row in conn.cursor(JOIN_REAL, WEST)]


async def _prepared_cursor(conn: GuardedConnection) -> Any:
    statement = await conn.prepare(JOIN_REAL)
    async with conn.transaction():
        return [row async for row in statement.cursor(WEST)]


async def _copy(conn: GuardedConnection) -> Any:
    out = io.BytesIO()
    await conn.copy_from_query(JOIN_REAL, WEST, output=out)
    return [(line,) for line in out.getvalue().decode().splitlines()]


PATHS: dict[str, Callable[[GuardedConnection], Awaitable[Any]]] = {
    "fetch": lambda c: c.fetch(JOIN_REAL, WEST),
    "fetchrow": lambda c: c.fetchrow(JOIN_REAL, WEST),
    "fetchval": lambda c: c.fetchval(JOIN_REAL, WEST),
    "fetchmany": lambda c: c.fetchmany(JOIN_REAL, [(WEST,)]),
    "prepare": _prepared,
    "cursor": _cursor,
    "prepared cursor": _prepared_cursor,
    "copy_from_query": _copy,
}


def _first_names(result: Any) -> list[str]:
    if result is None:
        return []
    if isinstance(result, str):
        return [result]
    if isinstance(result, asyncpg.Record):
        return [str(result[0])]
    return sorted(str(row[0]) for row in result)


@pytest.mark.parametrize("path", PATHS)
async def test_every_path_checks_the_inferred_types(dsn: str, path: str) -> None:
    conn = await guarded(dsn)
    try:
        with tenant(WEST):
            try:
                read = _first_names(await PATHS[path](conn))
            except TenantIsolationError:
                read = []
            # the same call twice: the second finds asyncpg's statement in its cache
            with contextlib.suppress(TenantIsolationError):
                read += _first_names(await PATHS[path](conn))
    finally:
        await conn.close()
    assert "Dora" not in read


async def test_a_statement_prepared_outside_tenant_is_checked_when_it_runs(dsn: str) -> None:
    conn = await guarded(dsn)
    try:
        statement = await conn.prepare(JOIN_REAL)  # nothing to compare with yet
        with tenant(WEST):
            read = await names_of(lambda: statement.fetch(WEST))
            read += await names_of(lambda: statement.fetch(WEST))
    finally:
        await conn.close()
    assert "Dora" not in read


async def test_the_check_holds_without_asyncpgs_statement_cache(dsn: str) -> None:
    """statement_cache_size=0 (PgBouncer setups): asyncpg prepares an unnamed statement on
    every call; each one is checked."""
    conn = await guarded(dsn, statement_cache_size=0)
    try:
        with tenant(WEST):
            read = await names_of(lambda: conn.fetch(JOIN_REAL, WEST))
            read += await names_of(lambda: conn.fetch(JOIN_REAL, WEST))
    finally:
        await conn.close()
    assert "Dora" not in read


async def test_a_pools_connections_check_the_types(dsn: str) -> None:
    pool = create_pool(dsn, policy=POLICY, min_size=2, max_size=2)
    await pool
    try:
        with tenant(WEST):
            read = await names_of(lambda: pool.fetch(JOIN_REAL, WEST))
    finally:
        await pool.close()
    assert "Dora" not in read


async def test_the_refusal_comes_before_the_statement_runs(dsn: str) -> None:
    """The statement is prepared (parsed, typed), refused, never bound: its side effect — a
    row written into a global table — does not happen."""
    conn = await guarded(dsn)
    try:
        with tenant(WEST), pytest.raises(TenantIsolationError) as refused:
            await conn.fetch(
                "WITH m AS (INSERT INTO measures (score) VALUES ($1) RETURNING 1) "
                "SELECT first_name FROM patients WHERE tenant_id = $1",
                WEST,
            )
    finally:
        await conn.close()
    assert await owner_rows(dsn, "SELECT count(*) FROM measures") == [(1,)]
    message = str(refused.value)
    assert "$1" in message and "real (float4)" in message and "$1::bigint" in message
    assert refused.value.reference == "$1"


async def test_report_mode_logs_the_type_and_lets_it_run(
    dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    conn = await guarded(dsn, mode="report")
    try:
        with caplog.at_level(logging.WARNING, logger="tenantguard"), tenant(WEST):
            read = await names_of(lambda: conn.fetch(JOIN_REAL, WEST))
    finally:
        await conn.close()
    assert read == ["Dora"]  # report mode lets it run: what the operator is warned about
    assert any("typed it real (float4)" in r.getMessage() for r in caplog.records)
    assert conn.tenantguard.reported == 1


async def test_unscoped_statements_are_not_refused(dsn: str) -> None:
    conn = await guarded(dsn)
    try:
        with unscoped("cross-clinic report"):
            read = await names_of(lambda: conn.fetch(JOIN_REAL, WEST))
    finally:
        await conn.close()
    assert read == ["Dora"]


# --- the legitimate twins still work -----------------------------------------------------

TWINS = [
    (
        "the pin is the first use",
        "SELECT p.first_name FROM patients p "
        "WHERE p.tenant_id = $1 AND (SELECT count(*) FROM measures WHERE score = $1) >= 0",
        (WEST,),
    ),
    (
        "cast at the first use",
        "SELECT p.first_name FROM patients p LEFT JOIN measures m ON m.score = $1::bigint "
        "WHERE p.tenant_id = $1",
        (WEST,),
    ),
    (
        "the real value as another parameter",
        "SELECT p.first_name FROM patients p LEFT JOIN measures m ON m.score = $2 "
        "WHERE p.tenant_id = $1",
        (WEST, 1.5),
    ),
    (
        "an integer column first",
        "SELECT p.first_name FROM patients p LEFT JOIN measures m ON m.amount = $1 "
        "WHERE p.tenant_id = $1",
        (WEST,),
    ),
    (
        "numeric first",
        "SELECT first_name FROM patients WHERE round($1, 0) IS NOT NULL AND tenant_id = $1",
        (WEST,),
    ),
]


@pytest.mark.parametrize(("sql", "args"), [t[1:] for t in TWINS], ids=[t[0] for t in TWINS])
async def test_exactly_typed_pins_still_work(dsn: str, sql: str, args: tuple[Any, ...]) -> None:
    conn = await guarded(dsn)
    try:
        with tenant(WEST):
            assert await names_of(lambda: conn.fetch(sql, *args)) == ["Eva"]
            assert await names_of(lambda: conn.fetch(sql, *args)) == ["Eva"]  # cached
            statement = await conn.prepare(sql)
            assert _first_names(await statement.fetch(*args)) == ["Eva"]
    finally:
        await conn.close()


async def test_a_smallint_first_use_overflows_instead_of_reading(dsn: str) -> None:
    """int2 is exact: a tenant id too large for it is an error, never another tenant."""
    conn = await guarded(dsn)
    sql = (
        "SELECT p.first_name FROM patients p LEFT JOIN measures m ON m.small = $1 "
        "WHERE p.tenant_id = $1"
    )
    try:
        with tenant(WEST), pytest.raises(asyncpg.DataError, match="int16"):
            await conn.fetch(sql, WEST)
        with tenant(1):
            assert await names_of(lambda: conn.fetch(sql, 1)) == ["Ana", "Bruno"]
    finally:
        await conn.close()


async def test_text_uuid_and_domain_tenant_columns_still_work(dsn: str) -> None:
    conn = await guarded(dsn)
    try:
        with tenant("ab"):
            assert await names_of(
                lambda: conn.fetch("SELECT body FROM labels WHERE tenant_id = $1", "ab")
            ) == ["of ab"]
            assert await names_of(  # varchar typed: a parameter has no length
                lambda: conn.fetch(
                    "SELECT body FROM labels WHERE $1::varchar IS NOT NULL AND tenant_id = $1",
                    "ab",
                )
            ) == ["of ab"]
            assert await names_of(  # text first, then the character column
                lambda: conn.fetch(
                    "SELECT l.body FROM labels l LEFT JOIN measures m ON m.code = $1::text "
                    "WHERE l.tenant_id = $1",
                    "ab",
                )
            ) == ["of ab"]
        one = "00000000-0000-0000-0000-000000000001"
        with tenant(one):
            assert await names_of(
                lambda: conn.fetch("SELECT body FROM docs WHERE tenant_id = $1", uuid.UUID(one))
            ) == ["doc one"]
        with tenant(WEST):  # `$1` typed clinic_ref, a domain over bigint
            await conn.execute("INSERT INTO visits (tenant_id, note) VALUES ($1, 'x')", WEST)
            assert await names_of(
                lambda: conn.fetch("SELECT note FROM visits WHERE tenant_id = $1", WEST)
            ) == ["x"]
    finally:
        await conn.close()
    assert await owner_rows(dsn, "SELECT tenant_id FROM visits") == [(WEST,)]


async def test_a_refused_prepare_leaves_no_statement_on_the_server(dsn: str) -> None:
    conn = await guarded(dsn)
    try:
        with tenant(WEST):
            for _ in range(3):
                with pytest.raises(TenantIsolationError):
                    await conn.prepare(JOIN_REAL)
            # asyncpg closes the dropped statements when it prepares the next one
            await conn.fetch("SELECT first_name FROM patients WHERE tenant_id = $1", WEST)
        with unscoped("count the session's prepared statements"):
            left = await conn.fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", JOIN_REAL
            )
    finally:
        await conn.close()
    assert left == 0


# --- which types compare a tenant id exactly (pure) ---------------------------------------


@pytest.mark.parametrize(
    ("oid", "name", "schema", "exact", "shown"),
    [
        (20, "int8", "pg_catalog", True, "bigint (int8)"),
        (21, "int2", "pg_catalog", True, "smallint (int2)"),
        (1700, "numeric", "pg_catalog", True, "numeric"),
        (1043, "varchar", "pg_catalog", True, "varchar"),
        (2950, "uuid", "pg_catalog", True, "uuid"),
        (700, "float4", "pg_catalog", False, "real (float4)"),
        (701, "float8", "pg_catalog", False, "double precision (float8)"),
        (790, "money", "pg_catalog", False, "money"),
        (18, "char", "pg_catalog", False, '"char" (char)'),
        (1042, "bpchar", "pg_catalog", False, "character (bpchar)"),
        (19, "name", "pg_catalog", False, "name"),
        (26, "oid", "pg_catalog", False, "oid"),
        (1016, "int8[]", "pg_catalog", False, "int8[]"),
        # a domain is described by its base type's codec, under its own oid
        (16385, "int8", "pg_catalog", True, "a domain over int8"),
        (16386, "varchar", "pg_catalog", False, "a domain over varchar"),  # typmod: varchar(2)
        (16387, "numeric", "pg_catalog", False, "a domain over numeric"),  # numeric(10,-3)
        (16388, "float4", "pg_catalog", False, "a domain over float4"),
        (16389, "citext", "public", False, "public.citext"),
    ],
)
def test_which_parameter_types_compare_exactly(
    oid: int, name: str, schema: str, exact: bool, shown: str
) -> None:
    parameter = Type(oid, name, "array" if name.endswith("[]") else "scalar", schema)
    assert inexact(parameter) is not exact
    assert describe(parameter) == shown
    assert first_inexact_pin([Type(20, "int8", "scalar", "pg_catalog"), parameter], [0, 1]) == (
        None if exact else (1, parameter)
    )
    assert first_inexact_pin([parameter], [1]) is None  # a pin that was not given


@pytest.mark.parametrize(
    "sql",
    [
        "WITH m AS (SELECT $1::real AS x) INSERT INTO patients "
        "(tenant_id, first_name, phone_number) VALUES ($1, 'Mallory', '903')",
        "MERGE INTO patients t USING (SELECT $1::real AS x) s ON t.tenant_id = $1 "
        "AND t.first_name = 'Mallory' WHEN NOT MATCHED THEN "
        "INSERT (tenant_id, first_name, phone_number) VALUES ($1, 'Mallory', '903')",
    ],
    ids=["insert", "merge"],
)
async def test_the_proof_sees_a_written_tenant_value_typed_real(dsn: str, sql: str) -> None:
    """The static proof too (pre-commit, CI): `$1` typed real before the VALUES writes the row
    into clinic 16777216 for 16777217's value — shown as it is on the server, rolled back."""
    assert "TG002" in [f.code for f in analyze_statement(sql, POLICY).findings]
    exact = sql.replace("$1::real", "$1::bigint")
    assert analyze_statement(exact, POLICY).findings == ()
    owner = await asyncpg.connect(dsn)
    try:
        transaction = owner.transaction()
        await transaction.start()
        try:
            await owner.execute(sql, WEST)
            written = await owner.fetch("SELECT tenant_id FROM patients WHERE phone_number = '903'")
        finally:
            await transaction.rollback()
    finally:
        await owner.close()
    assert [r["tenant_id"] for r in written] == [EAST]
