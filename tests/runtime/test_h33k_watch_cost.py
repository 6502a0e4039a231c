"""h33k: the catalog watch's check, prepared once per connection.

The check of each lease (`schema_code.catalog_check`) was sent as text in the simple protocol:
parsed, analysed and planned each time, three subqueries over the watch's table and
pg_event_trigger, it cost the server more than the lease's own query (benchmarks
`--watch`: the pool at ~0.65x raw asyncpg). It is now prepared on the server in the script of
the connection's first check (`CHECK_PREPARE`) and run by `EXECUTE` with the count read with
the catalog. What that shortcut could let through, each checked on the server: the prepared
statement gone behind the guard's back, made again by the application under its name, or
left by a script that failed after it.
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import tenant
from tenantguard.runtime.schema_code import CHECK_NAME, CHECK_PREPARE
from tests.runtime.test_h32h_attack import BUMPS, _owner_runs
from tests.runtime.test_h33d_catalog_watch import UNTOUCHED, _lease, _pool

PREPARED = "SELECT statement FROM pg_catalog.pg_prepared_statements WHERE name = $1"


async def _prepared(pool: object) -> list[bool]:
    """For each statement of the check's name on the pool's connection: whether it is the
    check's (its text is the script that prepared it)."""
    async with pool.acquire() as connection:  # type: ignore[attr-defined]
        rows = await asyncpg.Connection.fetch(connection, PREPARED, CHECK_NAME)
        return [str(row[0]).startswith(CHECK_PREPARE + ";") for row in rows]


@pytest.mark.parametrize("setting", [False, True], ids=["no setting", "tenant setting"])
async def test_the_check_is_prepared_once_and_judges_each_lease(
    database: str, setting: bool
) -> None:
    pool = await _pool(database, setting=setting)
    try:
        for _ in range(3):
            assert await _lease(pool) == UNTOUCHED
        assert await _prepared(pool) == [True]  # prepared once, by the first script
        await _owner_runs(database, BUMPS["a BEFORE trigger"])  # a migration
        assert await _lease(pool) == "refused"  # would leave [(1, 1), (2, 1)]
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_migration_before_the_first_check_is_judged(database: str) -> None:
    """The first script prepares the check and fails at its EXECUTE (the count moved): the
    statement outlives the failed script; the connection reads again and checks without
    preparing twice."""
    pool = await _pool(database)
    try:
        await _owner_runs(database, BUMPS["a BEFORE trigger"])
        assert await _lease(pool) == "refused"
        assert await _lease(pool) == "refused"
        assert await _prepared(pool) == [True]
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_check_dropped_behind_the_guard_is_prepared_again(database: str) -> None:
    """Dropped with the guard bypassed (asyncpg's own method), then a migration: the next
    lease's script fails on the missing statement, prepares it again and sees the count.
    (`DISCARD ALL` behind asyncpg's back drops its own statements too: asyncpg's next call
    fails on its own.)"""
    drop = f"DEALLOCATE {CHECK_NAME}"
    pool = await _pool(database)
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                await connection.fetch("SELECT body FROM notes WHERE ws_id = $1", 1)
            await asyncpg.Connection.execute(connection, drop)
            assert await asyncpg.Connection.fetch(connection, PREPARED, CHECK_NAME) == []
        await _owner_runs(database, BUMPS["a BEFORE trigger"])
        assert await _lease(pool) == "refused"
        assert await _prepared(pool) == [True]
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_check_made_again_by_a_script_that_failed_after_it(database: str) -> None:
    """A statement of the check's name already there while the connection has not prepared it
    (a script that failed after its PREPARE, or one made with the guard bypassed that always
    passes): deallocated and made again from its text, and the migration is seen."""
    pool = await _pool(database)
    try:
        assert await _lease(pool) == UNTOUCHED  # the check prepared
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            raw = asyncpg.Connection.execute
            await raw(connection, f"DEALLOCATE {CHECK_NAME}")
            await raw(connection, f"PREPARE {CHECK_NAME}(text) AS SELECT 0")  # always passes
            connection._con._tg_check_prepared = False  # what it knows: not prepared
        await _owner_runs(database, BUMPS["a BEFORE trigger"])
        assert await _lease(pool) == "refused"
        assert await _prepared(pool) == [True]
    finally:
        await pool.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "call",
    ["prepare", "deallocate", "execute", "discard"],
)
async def test_the_application_cannot_take_the_checks_name(database: str, call: str) -> None:
    """The check's name is of asyncpg's prefix: prepare(name=) refuses it, and SQL-level
    DEALLOCATE, EXECUTE and DISCARD ALL are refused — no other statement runs in its place."""
    pool = await _pool(database)
    try:
        assert await _lease(pool) == UNTOUCHED
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1), pytest.raises(TenantIsolationError):
                if call == "prepare":
                    await connection.prepare("SELECT 0", name=CHECK_NAME)
                elif call == "deallocate":
                    await connection.execute(f"DEALLOCATE {CHECK_NAME}")
                elif call == "execute":
                    await connection.execute(f"EXECUTE {CHECK_NAME}('0')")
                else:
                    await connection.execute("DISCARD ALL")
        assert await _prepared(pool) == [True]
        await _owner_runs(database, BUMPS["a BEFORE trigger"])
        assert await _lease(pool) == "refused"
    finally:
        await pool.close()  # type: ignore[attr-defined]
