"""Round 36 (helper h36C): the runtime's verdicts against the static proof's, on a real server.

1. FIXED (a false alarm): an INSERT … SELECT with no column list. The static proof matches it
   by the schema's column order (`Policy.tenant_places`, h35B); the guard, with a policy written
   by hand, had no order and refused `INSERT INTO patients SELECT * FROM patients WHERE
   tenant_id = $1 …`. The guard now reads each tenant table's column order from the catalog
   (attnum order, dropped columns skipped, as PostgreSQL matches an INSERT's values): a name
   whose relations disagree (two schemas, a view of that name) gets no place (refused, as before).
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant
from tests.runtime.test_runtime import POLICY


async def _raw(dsn: str, sql: str) -> list[asyncpg.Record]:
    raw = await asyncpg.connect(dsn)
    try:
        if ";" in sql:
            await raw.execute(sql)
            return []
        return list(await raw.fetch(sql))
    finally:
        await raw.close()


COPY_ROW = "INSERT INTO patients SELECT * FROM patients WHERE tenant_id = $1 AND first_name = 'Ana'"


async def _columns(dsn: str) -> list[str]:
    rows = await _raw(
        dsn,
        "SELECT attname::text FROM pg_attribute WHERE attrelid = 'patients'::regclass"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
    )
    return [r[0] for r in rows]


async def test_an_insert_select_without_a_column_list_passes(two_clinics: str) -> None:
    columns = await _columns(two_clinics)
    # the copy needs a fresh id and phone (unique keys): select them by the table's order
    items = ", ".join(
        "id + 1000" if c == "id" else "phone_number || 'x'" if c == "phone_number" else c
        for c in columns
    )
    sql = (
        f"INSERT INTO patients SELECT {items} FROM patients"
        " WHERE tenant_id = $1 AND first_name = 'Ana'"
    )
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            assert await conn.execute(sql, 1) == "INSERT 0 1"
            with pytest.raises(TenantIsolationError):
                await conn.execute(sql, 2)
    finally:
        await conn.close()
    rows = await _raw(
        two_clinics, "SELECT tenant_id FROM patients WHERE first_name = 'Ana' ORDER BY id"
    )
    assert [r[0] for r in rows] == [1, 1]


NOTES = (
    "CREATE TABLE notes (x text, tenant_id bigint NOT NULL, body text);"
    " ALTER TABLE notes DROP COLUMN x;"
    " INSERT INTO notes VALUES (1, 'one'), (2, 'two')"
)


async def test_the_catalog_order_skips_dropped_columns_and_wins_over_the_policy(
    two_clinics: str,
) -> None:
    """`notes` had x first, dropped: tenant_id is the first value of an INSERT. A policy
    whose sources missed the drop (place 1) would take `INSERT INTO notes SELECT 2, $1` for
    one pinned by $1 and write a row of tenant 2."""
    await _raw(two_clinics, NOTES)
    policy = POLICY.replace(
        tenant_tables={*POLICY.tenant_tables, "notes"}, tenant_places={"notes": 1}
    )
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1):
            await conn.execute(
                "INSERT INTO notes SELECT tenant_id, body FROM notes WHERE tenant_id = $1", 1
            )
            with pytest.raises(TenantIsolationError):
                await conn.execute("INSERT INTO notes SELECT 2, $1", "1")
            with pytest.raises(TenantIsolationError):
                await conn.execute(
                    "INSERT INTO notes SELECT body, tenant_id FROM notes WHERE tenant_id = $1", 1
                )
    finally:
        await conn.close()
    rows = await _raw(two_clinics, "SELECT tenant_id, body FROM notes ORDER BY 1, 2")
    assert [tuple(r) for r in rows] == [(1, "one"), (1, "one"), (2, "two")]


async def test_a_name_of_two_orders_has_no_place(two_clinics: str) -> None:
    await _raw(
        two_clinics,
        NOTES + "; CREATE SCHEMA other;"
        " CREATE TABLE other.notes (body text, tenant_id bigint NOT NULL)",
    )
    policy = POLICY.replace(tenant_tables={*POLICY.tenant_tables, "notes"})
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="no column list"):
            await conn.execute(
                "INSERT INTO notes SELECT tenant_id, body FROM notes WHERE tenant_id = $1", 1
            )
    finally:
        await conn.close()
    rows = await _raw(two_clinics, "SELECT count(*) FROM notes")
    assert rows[0][0] == 2
