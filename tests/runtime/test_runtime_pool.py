"""The guard's cost in round trips and frames, on a real server: the tenant setting is set once
per change of tenant (not per call), the pool's reset is skipped when it would change nothing,
the driver's own statements pass unchecked, and the hot path hands back asyncpg's coroutine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.runtime import GuardedConnection, connect, create_pool, rls_policy_sql, tenant
from tests.conftest import log_every_statement

POLICY = Policy("tenant_id", {"patients", "chat_messages"}, global_tables={"tenants"})
PINNED = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY first_name"
EVERYONE = "SELECT first_name FROM patients ORDER BY first_name"


@pytest.fixture
async def app_dsn(two_clinics: str) -> str:
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(rls_policy_sql(["patients"]))
        await owner.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clinic_app') "
            "THEN CREATE ROLE clinic_app LOGIN; END IF; END $$;"
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO clinic_app;"
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO clinic_app"
        )
    finally:
        await owner.close()
    await log_every_statement(two_clinics)  # read by `statements_of`
    parts = urlsplit(two_clinics)
    return urlunsplit(parts._replace(netloc=f"clinic_app@{parts.hostname}:{parts.port}"))


def statements_of(postgres: ThrowawayPostgres, pid: int) -> list[str]:
    """The statements the server logged for one backend (log_statement = all)."""
    marker = f"[{pid}] "
    return [
        line.split("statement: ", 1)[1]
        for line in postgres.log().splitlines()
        if marker in line and "statement: " in line
    ]


async def test_the_setting_is_set_once_per_change_of_tenant(
    app_dsn: str, postgres: ThrowawayPostgres
) -> None:
    pool = await create_pool(
        app_dsn, policy=POLICY, mode="report", set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        async with pool.acquire() as c:
            pid = c.get_server_pid()
        for clinic, names in [(1, ["Ana", "Bruno"])] * 4 + [(2, ["Carla"])] * 3:
            with tenant(clinic):
                # RLS alone decides what an unpinned read returns: the setting is right
                assert [r[0] for r in await pool.fetch(EVERYONE)] == names
        guard = pool.tenantguard
        assert guard.setting_syncs == 2  # tenant 1, then tenant 2
        assert guard.resets_skipped >= 7  # each release: nothing to reset
        await asyncio.sleep(0.3)
        sent = statements_of(postgres, pid)
        assert not any("pg_advisory_unlock_all" in s for s in sent)  # the reset script
    finally:
        await pool.close()
    pool = await create_pool(
        app_dsn, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:  # the same on the hot path (enforce, cached verdicts)
        for clinic, names in (
            [(1, ["Ana", "Bruno"])] * 4 + [(2, ["Carla"])] * 3 + [(1, ["Ana", "Bruno"])]
        ):
            with tenant(clinic):
                assert [r[0] for r in await pool.fetch(PINNED, clinic)] == (
                    names or ["Ana", "Bruno"]
                )
        assert pool.tenantguard.setting_syncs == 3
        assert pool.tenantguard.cache_hits >= 5
    finally:
        await pool.close()


async def test_a_session_changing_statement_brings_the_reset_back(
    app_dsn: str, postgres: ThrowawayPostgres
) -> None:
    pool = await create_pool(
        app_dsn, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        async with pool.acquire() as c:
            pid = c.get_server_pid()
        with tenant(1):
            async with pool.acquire() as c:
                await c.execute("SET statement_timeout = '5s'")
            assert await pool.fetchval("SHOW statement_timeout") != "5s"  # reset ran
            assert [r[0] for r in await pool.fetch(PINNED, 1)] == ["Ana", "Bruno"]
            async with pool.acquire() as c:
                await c.fetchval("SELECT pg_advisory_lock(42)")
        raw = await asyncpg.connect(app_dsn)
        try:
            assert await raw.fetchval("SELECT pg_try_advisory_lock(42)")  # released on release
        finally:
            await raw.close()
        await asyncio.sleep(0.3)
        assert sum("pg_advisory_unlock_all" in s for s in statements_of(postgres, pid)) == 2
    finally:
        await pool.close()


async def test_the_hot_path_returns_asyncpgs_own_coroutine(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            await conn.fetchrow(PINNED, 1)  # proven and cached
            call = conn.fetchrow(PINNED, 1)
            assert call.cr_code is asyncpg.Connection.fetchrow.__code__  # type: ignore[attr-defined]
            assert (await call)[0] == "Ana"
            with pytest.raises(TenantIsolationError):
                conn.fetchrow(PINNED, 2)  # refused before any coroutine exists
    finally:
        await conn.close()


async def test_the_drivers_statements_pass_and_are_not_counted(two_clinics: str) -> None:
    resets: list[str] = []

    async def reset(connection: GuardedConnection) -> None:
        resets.append("custom")
        await connection.execute("RESET ALL")  # refused from the application, fine here

    pool = await create_pool(
        two_clinics, policy=POLICY, require_tenant=True, reset=reset, min_size=1, max_size=1
    )
    try:
        for _ in range(3):
            with tenant(1):
                assert [r[0] for r in await pool.fetch(PINNED, 1)] == ["Ana", "Bruno"]
        assert resets == ["custom"] * 3
        assert pool.tenantguard.counters["checked"] == 3
        assert pool.tenantguard.blocked == 0
    finally:
        await pool.close()


async def test_streamed_records_are_checked_as_they_are_copied(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)

    async def records(tenants: list[int]) -> AsyncIterator[tuple[object, ...]]:
        for number, clinic in enumerate(tenants):
            yield (clinic, "inbound", f"message {number}")

    columns = ["tenant_id", "direction", "body"]
    try:
        with tenant(1):
            await conn.copy_records_to_table(
                "chat_messages", records=records([1, 1]), columns=columns
            )
            with pytest.raises(TenantIsolationError):
                await conn.copy_records_to_table(
                    "chat_messages", records=records([1, 1, 2, 1]), columns=columns
                )
    finally:
        await conn.close()
    raw = await asyncpg.connect(two_clinics)
    try:
        assert await raw.fetchval("SELECT count(*) FROM chat_messages") == 2  # none of the 4
    finally:
        await raw.close()


async def test_a_pool_flushes_its_report_counts_on_close(
    two_clinics: str, caplog: pytest.LogCaptureFixture
) -> None:
    pool = await create_pool(two_clinics, policy=POLICY, mode="report", min_size=1, max_size=1)
    with caplog.at_level(logging.WARNING, logger="tenantguard"), tenant(1):
        for _ in range(4):
            await pool.fetch(EVERYONE)
    await pool.close()
    counts = [
        r.tenantguard["count"]  # type: ignore[attr-defined]
        for r in caplog.records
        if "rule" in getattr(r, "tenantguard", {})
    ]
    assert counts == [1, 3]
