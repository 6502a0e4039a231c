"""The catalog read at connect, shared by the guard's connections that read together (a pool's
connections open at once): the same facts on every connection, fewer reads, and a read that
fails or differs in server settings is not shared."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import GuardedConnection, connect, connection, create_pool, tenant
from tenantguard.runtime.connection import _CATALOG_READS, _bound_class
from tenantguard.runtime.guard import Guard

POLICY = Policy("tenant_id", {"patients", "chat_messages"}, global_tables={"tenants"})
PINNED = "SELECT first_name FROM patients WHERE tenant_id = $1"


def facts(connection: Any) -> tuple[object, ...]:
    """What a connection keeps of the catalog read."""
    return (
        connection._tg_schema_code,
        connection._tg_setting_changers,
        connection._tg_reset_kept,
        connection._tg_setting_callers_refused,
        connection._tg_setting_everywhere,
        connection._tg_names_pending,
        connection._tg_names_problem,
        connection._tg_startup,
    )


def _no_rows_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows of an earlier catalog read on the same catalog are not reused (h40C:
    `connection._CATALOG_READ_ROWS`): every read here reads, as these tests count."""
    monkeypatch.setattr(connection, "_CATALOG_READ_ROWS", {})
    monkeypatch.setattr(connection, "_CATALOG_READ_ROWS_KEPT", 0)


def counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the catalog reads (each reads the policy's names once), the rows of an earlier
    read never reused (`_no_rows_reused`)."""
    _no_rows_reused(monkeypatch)
    calls: list[int] = []
    real = GuardedConnection._tg_policy_names

    async def policy_names(self: GuardedConnection) -> list[Any]:
        calls.append(id(self))
        await asyncio.sleep(0.02)  # a read takes a while: the others start meanwhile
        return await real(self)

    monkeypatch.setattr(GuardedConnection, "_tg_policy_names", policy_names)
    return calls


async def test_a_pools_connections_share_the_catalog_read_and_keep_the_same_facts(
    two_clinics: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting_reads(monkeypatch)
    pool = await create_pool(two_clinics, policy=POLICY, min_size=4, max_size=4)
    try:
        # asyncpg opens the first connection alone, the three others together
        assert 1 <= len(calls) < 4
        lone = await connect(two_clinics, policy=POLICY)
        try:
            expected = facts(lone)
        finally:
            await lone.close()
        holders = [await pool.acquire() for _ in range(4)]
        try:
            assert len({id(h._con) for h in holders}) == 4
            for held in holders:
                assert facts(held._con) == expected
                with tenant(1):
                    assert [r[0] for r in await held.fetch(PINNED, 1)]
                    with pytest.raises(TenantIsolationError):
                        await held.fetch("SELECT first_name FROM patients")
        finally:
            for held in holders:
                await pool.release(held)
    finally:
        await pool.close()
    assert not _CATALOG_READS


async def test_a_failed_shared_read_is_made_again_by_the_waiting_connection(
    two_clinics: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_rows_reused(monkeypatch)
    guard = Guard(POLICY)
    first = await asyncpg.connect(two_clinics, connection_class=_bound_class(guard))
    second = await asyncpg.connect(two_clinics, connection_class=_bound_class(guard))
    try:
        real = GuardedConnection._tg_policy_names
        calls: list[int] = []

        async def policy_names(self: GuardedConnection) -> list[Any]:
            calls.append(id(self))
            await asyncio.sleep(0.05)
            if len(calls) == 1:
                raise ConnectionResetError("the first read fails")
            return await real(self)

        monkeypatch.setattr(GuardedConnection, "_tg_policy_names", policy_names)
        # (both LISTEN already: the round trip of the watch's LISTEN, made before a first read,
        # h37R, would let either start its read first)
        first._tg_listening = second._tg_listening = True
        failed, read = await asyncio.gather(
            first._tg_read_schema_code(), second._tg_read_schema_code(), return_exceptions=True
        )
        assert isinstance(failed, ConnectionResetError) and read is None
        assert calls == [id(first), id(second)]
        assert not second._tg_names_pending and second._tg_startup is None
        assert not _CATALOG_READS
    finally:
        await first.close()
        await second.close()


async def test_connections_of_other_server_settings_read_for_themselves(
    two_clinics: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting_reads(monkeypatch)
    guard = Guard(POLICY)
    opened = [
        await asyncpg.connect(
            two_clinics, connection_class=_bound_class(guard), server_settings=settings
        )
        for settings in ({"search_path": "public"}, {"search_path": '"$user", public'}, {})
    ]
    try:
        await asyncio.gather(*(c._tg_read_schema_code() for c in opened))
        assert sorted(calls) == sorted(id(c) for c in opened)
        # the same settings: one read for both
        calls.clear()
        same = [opened[2], await asyncpg.connect(two_clinics, connection_class=_bound_class(guard))]
        opened.append(same[1])
        await asyncio.gather(*(c._tg_read_schema_code() for c in same))
        assert len(calls) == 1 and facts(same[0]) == facts(same[1])
    finally:
        for connection in opened:
            await connection.close()
