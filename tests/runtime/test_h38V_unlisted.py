"""Session 38 (helper h38V): a table of the database that holds the tenant column but that the
policy names neither a tenant nor a global table, on a real server.

At connect the guard reads the catalog (`_POLICY_NAMES_QUERY`: every relation holding the
tenant column). Before h38V a table found there and not listed was only said in a warning
("Statements reading them pass unchecked"): in enforce mode a fail-open. A migration adds
`invoices (tenant_id, amount)`, the configuration is not updated yet, and clinic 1's
`SELECT amount FROM invoices` returned clinic 2's invoice too: ['a1', 'b2'] on connect() and on a
pool's connection, and the same through a view over it, a table of another schema on the
search_path, a partition, a table made after connect by another session (the catalog watch
tells the guard), a nullable tenant column. Now such a table is checked as a tenant table
(the pin required, its value checked against tenant()); the warning says so and how to declare
one shared on purpose (global_tables, which stays unchecked: the twin below).

A NULLABLE tenant column is checked too: a NULL does not make the table's other rows shared,
and shared rows are opt-in (issue 10, item h: `shared_rows`, or the table in global_tables).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant
from tenantguard.runtime.schema_code import CATALOG_WATCH
from tests.runtime.test_h36C_attacks import _raw
from tests.runtime.test_runtime import POLICY

TABLE = (
    "CREATE TABLE {name} (id bigint PRIMARY KEY, tenant_id bigint {null}, amount text);"
    " INSERT INTO {name} VALUES (1, 1, 'a1'), (2, 2, 'b2');"
)
INVOICES = TABLE.format(name="invoices", null="NOT NULL")

# name -> (made before connect, made after connect by another session, clinic 1's statement)
PARTITIONED = (
    "CREATE TABLE invoices (tenant_id bigint NOT NULL, amount text)"
    " PARTITION BY LIST (tenant_id);"
    " CREATE TABLE invoices_1 PARTITION OF invoices FOR VALUES IN (1);"
    " CREATE TABLE invoices_2 PARTITION OF invoices FOR VALUES IN (2);"
    " INSERT INTO invoices VALUES (1, 'a1'), (2, 'b2');"
)

SHAPES: dict[str, tuple[str, str, str]] = {
    "table": (INVOICES, "", "SELECT amount FROM invoices ORDER BY 1"),
    "star": (INVOICES, "", "SELECT * FROM invoices ORDER BY 1"),
    "nullable column": (
        TABLE.format(name="invoices", null="")
        + " INSERT INTO invoices VALUES (3, NULL, 'shared');",
        "",
        "SELECT amount FROM invoices ORDER BY 1",
    ),
    "made after connect": ("", INVOICES, "SELECT amount FROM invoices ORDER BY 1"),
    "view over it": (
        INVOICES + " CREATE VIEW invoice_amounts AS SELECT tenant_id, amount FROM invoices;",
        "",
        "SELECT amount FROM invoice_amounts ORDER BY 1",
    ),
    "view without the column": (
        INVOICES + " CREATE VIEW amounts AS SELECT amount FROM invoices;",
        "",
        "SELECT amount FROM amounts ORDER BY 1",
    ),
    "view made after connect": (
        INVOICES,
        "CREATE VIEW invoice_amounts AS SELECT tenant_id, amount FROM invoices;",
        "SELECT amount FROM invoice_amounts ORDER BY 1",
    ),
    "function over it": (
        INVOICES + " CREATE FUNCTION all_amounts() RETURNS SETOF text LANGUAGE sql STABLE"
        " AS $$ SELECT amount FROM invoices $$;",
        "",
        "SELECT all_amounts() AS amount ORDER BY 1",
    ),
    "mixed-case name": (
        TABLE.format(name='"Invoices"', null="NOT NULL"),
        "",
        'SELECT amount FROM "Invoices" ORDER BY 1',
    ),
    "materialized view over it": (
        INVOICES + " CREATE MATERIALIZED VIEW invoice_copy AS SELECT tenant_id, amount"
        " FROM invoices;",
        "",
        "SELECT amount FROM invoice_copy ORDER BY 1",
    ),
    "inheriting child": (
        INVOICES + " CREATE TABLE invoices_old () INHERITS (invoices);"
        " INSERT INTO invoices_old VALUES (5, 2, 'b2'), (6, 1, 'a1');",
        "",
        "SELECT amount FROM invoices_old ORDER BY 1",
    ),
    "another schema on the path": (
        "CREATE SCHEMA billing; "
        + TABLE.format(name="billing.invoices", null="NOT NULL")
        + ' ALTER DATABASE {database} SET search_path = "$user", public, billing;',
        "",
        "SELECT amount FROM invoices ORDER BY 1",
    ),
    "qualified in another schema": (
        "CREATE SCHEMA billing; " + TABLE.format(name="billing.invoices", null="NOT NULL"),
        "",
        "SELECT amount FROM billing.invoices ORDER BY 1",
    ),
    "partition": (
        PARTITIONED,
        "",
        "SELECT amount FROM invoices_2 UNION ALL SELECT amount FROM invoices_1 ORDER BY 1",
    ),
    "partitioned parent": (
        PARTITIONED,
        "",
        "SELECT amount FROM invoices ORDER BY 1",
    ),
}

NO_PIN = {"view without the column", "function over it"}  # no tenant column to pin

_TOLD = 0.05  # the catalog watch's notification on its way (test_h37R_catalog_after)

Run = Callable[[str, tuple[Any, ...]], Awaitable[list[Any]]]
REFUSED = ["(refused)"]


async def _run_as_clinic_1(run: Run, statement: str, *args: Any) -> list[Any]:
    """The amounts clinic 1's statement returned, REFUSED if the guard refused it."""
    with tenant(1):
        try:
            rows = await run(statement, args)
        except TenantIsolationError:
            return REFUSED
    return [r["amount"] for r in rows]


@contextlib.asynccontextmanager
async def _guarded(dsn: str, how: str, policy: Policy, **options: Any) -> Any:
    """A `run(sql, args)` on a connection of connect(), or on a pool's (a lease per call)."""
    if how == "connect":
        conn = await connect(dsn, policy=policy, **options)

        async def run(sql: str, args: tuple[Any, ...]) -> list[Any]:
            return list(await conn.fetch(sql, *args))

        try:
            yield run
        finally:
            await conn.close()
    else:
        pool = await create_pool(dsn, policy=policy, min_size=1, max_size=1, **options)

        async def run(sql: str, args: tuple[Any, ...]) -> list[Any]:
            async with pool.acquire() as leased:
                return list(await leased.fetch(sql, *args))

        try:
            yield run
        finally:
            await pool.close()


def _database(dsn: str) -> str:
    return dsn.rsplit("/", 1)[-1].split("?")[0]


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("how", ["connect", "pool"])
async def test_a_table_the_policy_does_not_list_is_checked(
    two_clinics: str, shape: str, how: str
) -> None:
    before, after, statement = SHAPES[shape]
    database = _database(two_clinics)
    await _raw(two_clinics, CATALOG_WATCH + before.format(database=database) + " SELECT 1;")
    async with _guarded(two_clinics, how, POLICY) as run:
        if after:
            await _raw(two_clinics, after + " SELECT 1;")
            await asyncio.sleep(_TOLD)
        everyone = await _run_as_clinic_1(run, statement)
        # the twin: pinned to clinic 1, its rows only; pinned to clinic 2, refused by value
        where = "tenant_id = $1" if shape not in NO_PIN else None
        mine = theirs = None
        if where is not None:
            pinned = statement.replace(" ORDER BY 1", f" WHERE {where} ORDER BY 1")
            if shape == "partition":
                pinned = f"SELECT amount FROM invoices_1 WHERE {where}"
            mine = await _run_as_clinic_1(run, pinned, 1)
            theirs = await _run_as_clinic_1(run, pinned, 2)
    # the server holds both clinics' rows (the witness, unguarded)
    rows = await _raw(two_clinics, statement)
    assert {"a1", "b2"} <= {r["amount"] for r in rows}
    assert everyone == REFUSED, everyone  # was ['a1', 'b2'] (+ 'shared'): clinic 2's invoice
    if where is not None:
        assert mine == ["a1"], mine
        assert theirs == REFUSED, theirs  # the pin's value checked against tenant()


@pytest.mark.parametrize("how", ["connect", "pool"])
async def test_a_table_declared_global_stays_unchecked(two_clinics: str, how: str) -> None:
    """The twin: the same table, in the policy's global_tables on purpose, is read unpinned
    (every row: the application said they are shared). Its NOT NULL tenant column is said in
    the `global_tenant_tables` warning, as before."""
    await _raw(two_clinics, INVOICES)
    policy = POLICY.replace(global_tables={*POLICY.global_tables, "invoices"})
    async with _guarded(two_clinics, how, policy) as run:
        rows = await _run_as_clinic_1(run, "SELECT amount FROM invoices ORDER BY 1")
    assert rows == ["a1", "b2"]


async def test_a_table_of_the_policy_reads_as_before(two_clinics: str) -> None:
    """The twin: listed as a tenant table, the same statements give the same verdicts."""
    await _raw(two_clinics, INVOICES)
    policy = POLICY.replace(tenant_tables={*POLICY.tenant_tables, "invoices"})
    async with _guarded(two_clinics, "connect", policy) as run:
        everyone = await _run_as_clinic_1(run, "SELECT amount FROM invoices ORDER BY 1")
        mine = await _run_as_clinic_1(
            run, "SELECT amount FROM invoices WHERE tenant_id = $1 ORDER BY 1", 1
        )
    assert everyone == REFUSED and mine == ["a1"]


async def test_report_mode_logs_the_same_verdict_and_runs_it(
    two_clinics: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Report mode: the statement runs (both clinics' rows come back, as report mode lets every
    statement run) and its finding is logged, with the warning saying the table is checked."""
    await _raw(two_clinics, INVOICES)
    caplog.set_level(logging.WARNING, logger="tenantguard")
    async with _guarded(two_clinics, "connect", POLICY, mode="report") as run:
        rows = await _run_as_clinic_1(run, "SELECT amount FROM invoices ORDER BY 1")
    assert rows == ["a1", "b2"]
    found = [
        r
        for r in caplog.records
        if getattr(r, "tenantguard", {}).get("rule") and "invoices" in r.getMessage()
    ]
    assert found, [r.getMessage() for r in caplog.records]
    said = [
        r for r in caplog.records if getattr(r, "tenantguard", {}).get("event") == "unlisted_tables"
    ]
    assert len(said) == 1 and "invoices" in said[0].tenantguard["tables"]
    assert "checked as tenant tables" in said[0].getMessage()
    assert "global_tables" in said[0].getMessage()


WRITES = [
    # (clinic 1's write, its arguments)
    ("UPDATE invoices SET amount = 'x'", ()),
    ("UPDATE invoices SET amount = 'x' WHERE id = $1", (2,)),
    ("DELETE FROM invoices WHERE amount = $1", ("b2",)),
    ("INSERT INTO invoices (id, tenant_id, amount) VALUES (3, $1, 'planted')", (2,)),
]


@pytest.mark.parametrize(("write", "args"), WRITES)
async def test_a_write_to_a_table_the_policy_does_not_list_is_checked(
    two_clinics: str, write: str, args: tuple[Any, ...]
) -> None:
    """Writes too: clinic 1's unpinned UPDATE or DELETE, or an INSERT of clinic 2's row, is
    refused; clinic 2's invoice is unchanged (each wrote it before h38V)."""
    await _raw(two_clinics, INVOICES)
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            await conn.execute(write, *args)
        with tenant(1):  # the twin: pinned to clinic 1, written
            await conn.execute(
                "UPDATE invoices SET amount = 'a1!' WHERE tenant_id = $1 AND id = 1", 1
            )
            # (no column list: the catalog's order of the columns places the tenant value)
            await conn.execute("INSERT INTO invoices VALUES (4, $1, 'mine')", 1)
    finally:
        await conn.close()
    rows = await _raw(two_clinics, "SELECT tenant_id, id, amount FROM invoices ORDER BY 1, 2")
    assert [tuple(r) for r in rows] == [(1, 1, "a1!"), (1, 4, "mine"), (2, 2, "b2")]


async def test_a_table_of_another_schema_named_like_a_global_table(two_clinics: str) -> None:
    """A relation of another schema named like a global table of the policy, holding the tenant
    column, read qualified (`billing.tenants`): returned ['a1', 'b2'] (h38V's strict xfail: the
    name is listed global, so not an unlisted table). Fixed in h40R: such a name is a tenant
    table in the schemas whose relation holds the tenant column, global in its homes
    (tests/runtime/test_h40R_qualified_global_name.py)."""
    await _raw(
        two_clinics,
        "CREATE SCHEMA billing; CREATE TABLE billing.tenants (tenant_id bigint NOT NULL,"
        " name text); INSERT INTO billing.tenants VALUES (1, 'a1'), (2, 'b2');",
    )
    async with _guarded(two_clinics, "connect", POLICY) as run:
        theirs = await _run_as_clinic_1(run, "SELECT name AS amount FROM billing.tenants")
        registry = await _run_as_clinic_1(run, "SELECT name AS amount FROM tenants ORDER BY 1")
    assert registry == ["North", "South"]  # the global table, unpinned: as configured
    assert theirs == REFUSED, theirs
