"""Session 38 (helper h38W): an outside attack on h38B (the guard's TG013 view facts from the
catalog), on a real server: the facts' sources changed AFTER connect, by another session, once
the guard had judged (and cached) the statement — a view replaced by one whose column or filter
fails on another tenant's row, an SQL function made STABLE (ALTER FUNCTION: inlined from then
on, its outer condition pushed below its pin). The catalog watch is installed (without it the
guard cannot hear another session's DDL: README).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.runtime import connect, tenant
from tenantguard.runtime.schema_code import CATALOG_WATCH
from tests.conftest import fresh_database
from tests.leak_corpus import codes
from tests.proof.test_h38A_proof import CHAINED
from tests.proof.test_schema import policy_for
from tests.runtime.test_h38B_view_facts import TICKETS, TICKETS_LEAKS, TICKETS_POLICY
from tests.runtime.test_h38V_unlisted import _TOLD

# the views of TICKETS, harmless at first (no division), replaced after connect
HARMLESS = (
    TICKETS.replace("100 / (points - 8) AS r", "points AS r").replace(
        "100 / (points - 8) <> 0", "points <> 0"
    )
    + CATALOG_WATCH
)
REPLACED = (
    "CREATE OR REPLACE VIEW v_tlist AS SELECT id, tenant_id, title, 100 / (points - 8) AS r"
    " FROM tickets;"
    " CREATE OR REPLACE VIEW v_ratio AS SELECT id, tenant_id, title FROM tickets"
    " WHERE 100 / (points - 8) <> 0;"
)
VOLATILE = CHAINED.replace("LANGUAGE sql STABLE", "LANGUAGE sql VOLATILE") + CATALOG_WATCH
FUNCTION_LEAK = "SELECT title FROM lessons_in($1) WHERE 600 / minutes > 0"


@pytest.fixture
async def harmless(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, HARMLESS) as dsn:
        yield dsn


@pytest.fixture
async def volatile(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, VOLATILE) as dsn:
        yield dsn


async def _titles(conn: asyncpg.Connection, sql: str, arg: object) -> object:
    with tenant(arg):
        try:
            return [r["title"] for r in await conn.fetch(sql, arg)]
        except TenantIsolationError as e:
            return f"refused {str(e)[:5]}"
        except asyncpg.DivisionByZeroError:
            return "DivisionByZeroError"


async def _ddl(dsn: str, sql: str) -> None:
    raw = await asyncpg.connect(dsn)
    try:
        await raw.execute(sql)
    finally:
        await raw.close()


async def test_a_view_replaced_after_connect(harmless: str) -> None:
    conn = await connect(harmless, policy=TICKETS_POLICY)
    try:
        before = [await _titles(conn, sql, "1") for sql in TICKETS_LEAKS]
        await _ddl(harmless, REPLACED)
        await asyncio.sleep(_TOLD)
        after = [await _titles(conn, sql, "1") for sql in TICKETS_LEAKS]
        twin = await _titles(conn, "SELECT title FROM v_ratio WHERE tenant_id = $1", 1)
    finally:
        await conn.close()
    assert before == [["mine"], ["mine"]], before
    assert after == ["refused TG013"] * 2, after  # was DivisionByZeroError: clinic 2's row
    assert twin == ["mine"], twin


async def test_a_function_made_stable_after_connect(volatile: str, tmp_path: Path) -> None:
    policy = policy_for(tmp_path, CHAINED.split("CREATE VIEW")[0], tenant_column="org_id")
    conn = await connect(volatile, policy=policy)  # type: ignore[arg-type]
    try:
        before = await _titles(conn, FUNCTION_LEAK, 1)
        await _ddl(volatile, "ALTER FUNCTION lessons_in(integer) STABLE")
        await asyncio.sleep(_TOLD)
        after = await _titles(conn, FUNCTION_LEAK, 1)
        twin = await _titles(conn, "SELECT title FROM lessons_in($1) WHERE minutes >= 0", 1)
    finally:
        await conn.close()
    assert before == ["mine"], before  # not inlined: the body's pin first
    assert after == "refused TG013", after  # inlined now: DivisionByZeroError, org 2's lesson
    assert twin == ["mine"], twin


# a view over a view made (and named) before the view it reads: its OID and its name come
# first in the catalog's order, the view it reads (the failing column) after. The order was
# not what mattered: a_filter, whose OWN condition tests a_top's failing column r, was no
# failing view — `failing_views` was found before `failing_columns`, knowing none (static
# `check` alike). Now `checks.view_facts` finds each knowing the others, to a fixed point.
OVER = (
    TICKETS
    + """
CREATE VIEW a_first AS SELECT id, tenant_id, title, 0 AS r FROM tickets;
CREATE VIEW a_top AS SELECT * FROM a_first;
CREATE VIEW z_fails AS SELECT id, tenant_id, title, 100 / (points - 8) AS r FROM tickets;
CREATE OR REPLACE VIEW a_top AS SELECT * FROM z_fails;
CREATE VIEW a_alias (i, t, ti, rr) AS SELECT * FROM a_top;
CREATE VIEW a_filter AS SELECT id, tenant_id, title FROM a_top WHERE r <> 0;
"""
)
OVER_LEAKS = [
    "SELECT title FROM a_top WHERE r <> 0 AND tenant_id::text = $1",
    "SELECT ti AS title FROM a_alias WHERE rr <> 0 AND t::text = $1",
    "SELECT title FROM a_filter WHERE tenant_id::text = $1",
]


@pytest.fixture
async def over(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, OVER) as dsn:
        yield dsn


async def test_a_view_filtering_on_a_failing_column_of_a_view(over: str) -> None:
    raw = await asyncpg.connect(over)
    try:
        for sql in OVER_LEAKS:
            with pytest.raises(asyncpg.DivisionByZeroError):
                await raw.fetch(sql, "1")
    finally:
        await raw.close()
    conn = await connect(over, policy=TICKETS_POLICY)
    try:
        got = [await _titles(conn, sql, "1") for sql in OVER_LEAKS]
        twin = await _titles(conn, "SELECT title FROM a_top WHERE tenant_id = $1", 1)
    finally:
        await conn.close()
    # a_filter was DivisionByZeroError (clinic 2's ticket of 8 points) before h38W's fix;
    # a_alias is refused by TG001 (its renamed tenant column is not read as one: conservative)
    assert got == ["refused TG013", "refused TG001", "refused TG013"], got
    assert twin == ["mine"], twin


def test_the_static_proof_of_a_view_over_a_view(tmp_path: Path) -> None:
    """Parity: `tenantguard check` with the same schema (ANALYZE and the data left out)."""
    policy = policy_for(tmp_path, OVER.split("INSERT INTO")[0] + OVER.split("ANALYZE;")[1])
    got = {sql: codes(sql, policy) for sql in OVER_LEAKS}
    assert all(found for found in got.values()), got
    assert codes("SELECT title FROM a_filter WHERE tenant_id = $1", policy) == []


# the same class through a chained column: a view filtering on v_lesson_org's minutes (read in
# the lessons scan, before the join to courses pins the org)
CHAINED_FILTER = (
    CHAINED.replace("ANALYZE;", "")
    + "CREATE VIEW v_pos AS SELECT * FROM v_lesson_org WHERE 600 / minutes > 0;"
    + " CREATE VIEW v_ok AS SELECT * FROM v_lesson_org WHERE 600 / seats > 0; ANALYZE;"
)


@pytest.fixture
async def chained_filter(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, CHAINED_FILTER) as dsn:
        yield dsn


async def test_a_view_filtering_on_a_chained_column(chained_filter: str, tmp_path: Path) -> None:
    sql = "SELECT title FROM v_pos WHERE org_id = $1"
    raw = await asyncpg.connect(chained_filter)
    try:
        with pytest.raises(asyncpg.DivisionByZeroError):  # org 2's lesson of 0 minutes
            await raw.fetch(sql, 1)
    finally:
        await raw.close()
    policy = policy_for(tmp_path, CHAINED.split("CREATE VIEW")[0], tenant_column="org_id")
    conn = await connect(chained_filter, policy=policy)  # type: ignore[arg-type]
    try:
        got = await _titles(conn, sql, 1)
        twin = await _titles(conn, "SELECT title FROM v_ok WHERE org_id = $1", 1)
    finally:
        await conn.close()
    assert got == "refused TG013", got
    assert twin == ["mine"], twin
