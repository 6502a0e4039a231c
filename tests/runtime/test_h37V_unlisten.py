"""Round 37 (helper h37V): what may end a guarded session's LISTEN of the catalog watch's
channel, or keep the watch from telling it, besides the application's own `UNLISTEN` text
(h37R). Each case: clinic 1 reads the view `pv` (its rows: Ana, Bruno), something runs, another
session replaces `pv` by one passing every clinic's rows as clinic 1's, and clinic 1 reads it
again on the same connection: never Carla (clinic 2's)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant
from tenantguard.runtime.schema_code import CATALOG_WATCH, WATCH_CHANNEL
from tests.runtime.test_h36C_attacks import _raw
from tests.runtime.test_h37R_catalog_after import _TOLD, _leaked
from tests.runtime.test_h37V_watch import READ, REPLACED, VIEW
from tests.runtime.test_runtime import POLICY

# functions the application calls, whose body ends the session's LISTEN
QUIET = {
    "sql UNLISTEN *": "CREATE FUNCTION quiet() RETURNS int LANGUAGE sql AS $$ UNLISTEN *; SELECT 1 $$;",
    "plpgsql UNLISTEN channel": "CREATE FUNCTION quiet() RETURNS int LANGUAGE plpgsql AS $$"
    f" BEGIN UNLISTEN {WATCH_CHANNEL}; RETURN 1; END $$;",
    "plpgsql EXECUTE": "CREATE FUNCTION quiet() RETURNS int LANGUAGE plpgsql AS $$"
    " BEGIN EXECUTE 'UNL' || 'ISTEN *'; RETURN 1; END $$;",
}


async def _names(conn: Any) -> list[Any]:
    with tenant(1), contextlib.suppress(TenantIsolationError):
        return [r[0] for r in await conn.fetch(READ, 1)]
    return []


async def _after_ddl(dsn: str, conn: Any, between: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Clinic 1's rows of pv: read, `between()`, read, pv replaced by another session, read
    again."""
    assert await _names(conn) == ["Ana", "Bruno"]
    with tenant(1), contextlib.suppress(TenantIsolationError):
        await between()
    # (the catalog read again here if `between` marked it stale: the DDL comes after)
    assert not _leaked(await _names(conn))
    await _raw(dsn, REPLACED)
    await asyncio.sleep(_TOLD)
    return await _names(conn)


@pytest.mark.parametrize("body", sorted(QUIET))
async def test_a_function_that_unlistens(two_clinics: str, body: str) -> None:
    await _raw(two_clinics, CATALOG_WATCH + VIEW + QUIET[body])
    conn = await connect(two_clinics, policy=POLICY)
    try:
        rows = await _after_ddl(two_clinics, conn, lambda: conn.fetchval("SELECT quiet()"))
    finally:
        await conn.close()
    assert not _leaked(rows), rows


@pytest.mark.parametrize("hook", ["init", "setup"])
async def test_a_pool_hook_that_unlistens(two_clinics: str, hook: str) -> None:
    """The pool's `init` (each new connection) or `setup` (each acquire) runs UNLISTEN *."""
    await _raw(two_clinics, CATALOG_WATCH + VIEW)

    async def unlisten(connection: Any) -> None:
        await connection.execute("UNLISTEN *")

    hooks: dict[str, Any] = {hook: unlisten}
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1, **hooks)
    try:
        async with pool.acquire() as conn:
            rows = await _after_ddl(two_clinics, conn, lambda: asyncio.sleep(0))
    finally:
        await pool.close()
    assert not _leaked(rows), rows


async def test_the_application_s_listener_on_the_watch_s_channel(two_clinics: str) -> None:
    """add_listener then remove_listener on the watch's own channel: asyncpg's UNLISTEN."""
    await _raw(two_clinics, CATALOG_WATCH + VIEW)
    conn = await connect(two_clinics, policy=POLICY, mode="report")
    heard: list[str] = []

    def callback(*args: Any) -> None:
        heard.append(args[2])

    async def between() -> None:
        await conn.add_listener(WATCH_CHANNEL, callback)
        await conn.remove_listener(WATCH_CHANNEL, callback)

    try:
        conn.tenantguard.mode = "enforce"  # type: ignore[assignment]
        rows = await _after_ddl(two_clinics, conn, between)
    finally:
        await conn.close()
    assert not _leaked(rows), rows


INSERT = (
    "INSERT INTO patients (id, tenant_id, first_name, phone_number)"
    " VALUES ($2, $1, 'Dan', 'p' || $2::bigint)"
)
# schema code the application's statement runs without naming it
UNNAMED = {
    "trigger": "CREATE FUNCTION quiet() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN UNLISTEN *; RETURN NEW; END $$;"
    " CREATE TRIGGER quiet BEFORE INSERT ON patients FOR EACH ROW EXECUTE FUNCTION quiet();",
    "column default": "CREATE FUNCTION quiet() RETURNS text LANGUAGE plpgsql AS $$"
    " BEGIN UNLISTEN *; RETURN 'x'; END $$;"
    " ALTER TABLE patients ALTER COLUMN last_name SET DEFAULT quiet();",
}


@pytest.mark.parametrize("code", sorted(UNNAMED))
async def test_schema_code_run_unnamed_that_unlistens(two_clinics: str, code: str) -> None:
    await _raw(two_clinics, CATALOG_WATCH + VIEW + UNNAMED[code])
    conn = await connect(two_clinics, policy=POLICY)
    try:
        rows = await _after_ddl(two_clinics, conn, lambda: conn.execute(INSERT, 1, 901))
        written = await _raw(two_clinics, "SELECT count(*) FROM patients WHERE id = 901")
    finally:
        await conn.close()
    assert not _leaked(rows), rows
    assert written[0][0] == 1  # the INSERT ran (its code with it)


@pytest.mark.parametrize(
    "sql",
    [
        "RESET ALL",
        "SET ROLE intruder_v",
        "DISCARD ALL",
        "DISCARD PLANS",
        "SELECT pg_catalog.set_config('role', 'intruder_v', false)",
        "/* UNLISTEN */ SELECT 1",
    ],
)
async def test_the_application_s_session_statements(two_clinics: str, sql: str) -> None:
    """The application's own RESET/SET ROLE/DISCARD (refused or not): the watch still heard
    after it (or the statement refused): the replaced view never read as before."""
    from tests.runtime.test_h37V_watch import INTRUDER

    await _raw(
        two_clinics,
        CATALOG_WATCH + VIEW + INTRUDER + " GRANT SELECT ON pv, patients TO intruder_v;",
    )
    conn = await connect(two_clinics, policy=POLICY)
    try:
        rows = await _after_ddl(two_clinics, conn, lambda: conn.execute(sql))
    finally:
        await conn.close()
    assert not _leaked(rows), rows


async def test_a_failed_transaction_on_a_database_whose_trigger_unlistens(
    two_clinics: str,
) -> None:
    """The twin of the trigger shape: a transaction whose second INSERT fails (duplicate key)
    rolls back (the LISTEN is not made again inside it: an aborted transaction takes no
    statement, and the ROLLBACK failed on it); the connection goes on: clinic 1's rows, then
    the replaced view refused."""
    await _raw(two_clinics, CATALOG_WATCH + VIEW + UNNAMED["trigger"])
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(asyncpg.UniqueViolationError):
            async with conn.transaction():
                await conn.execute(INSERT, 1, 901)
                await conn.execute(INSERT, 1, 901)
        in_transaction = conn.is_in_transaction()
        rows = await _after_ddl(two_clinics, conn, lambda: asyncio.sleep(0))
        written = await _raw(two_clinics, "SELECT count(*) FROM patients WHERE id = 901")
    finally:
        await conn.close()
    assert not in_transaction
    assert not _leaked(rows), rows
    assert written[0][0] == 0


@pytest.mark.parametrize("also_reset", [False, True])
async def test_a_pool_reset_callback_that_unlistens(two_clinics: str, also_reset: bool) -> None:
    """A pool's `reset=` callback (the pool's own statements, unchecked) running UNLISTEN *:
    the next lease, held while another session replaces pv, reads it as before?"""
    await _raw(two_clinics, CATALOG_WATCH + VIEW)

    async def reset(connection: Any) -> None:
        if also_reset:
            await connection.reset()
        await connection.execute("UNLISTEN *")

    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1, reset=reset)
    try:
        async with pool.acquire() as conn:
            assert await _names(conn) == ["Ana", "Bruno"]
        async with pool.acquire() as conn:
            rows = await _after_ddl(two_clinics, conn, lambda: asyncio.sleep(0))
    finally:
        await pool.close()
    assert not _leaked(rows), rows
