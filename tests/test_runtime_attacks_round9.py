"""Round 9: an outsider's attack on the runtime guard, the application code as the attacker.

A request for clinic 1 holds a guarded connection or pool and wants clinic 2's rows (Carla), to
change them, or to switch what the guard relies on. Each test runs on the real server and asserts
on the rows returned, or read afterwards through an unguarded owner connection. Each was a
failing test before its fix (a strict xfail while a hole stays open).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant, unscoped
from tests import test_runtime_attacks as round2
from tests.test_runtime_attacks import Setup
from tests.test_runtime_round4_fixes import APPOINTED, KEYED

setup = round2.setup  # parametrized over "guard" and "guard+rls"
__all__ = ["setup"]


@pytest.fixture
async def guard_only(two_clinics: str) -> Setup:
    """The superuser setup: the guard alone stands between the clinics."""
    return Setup("guard", two_clinics, two_clinics)


async def owner_value(setup: Setup, sql: str) -> Any:
    raw = await asyncpg.connect(setup.owner_dsn)
    try:
        return await raw.fetchval(sql)
    finally:
        await raw.close()


# --- 1. a setting the proof relies on, set by the connection's startup packet ----------------

REPLICA = "session_replication_role"
# how a connection can be opened with foreign keys off, past every SET the guard refuses
STARTUPS: dict[str, dict[str, Any]] = {
    "server_settings": {"server_settings": {REPLICA: "replica"}},
    "server_settings, another case": {"server_settings": {"Session_Replication_Role": "replica"}},
    "options -c": {"server_settings": {"options": f"-c {REPLICA}=replica"}},
    "options --long-name": {"server_settings": {"options": "--session-replication-role=replica"}},
}


async def write_and_read_carla_through_a_key(conn: Any, carla: object) -> list[str]:
    """A clinic-1 appointment for Carla (the composite key stops it when foreign keys are on),
    then the join the proof takes as pinned by that key."""
    with contextlib.suppress(TenantIsolationError, asyncpg.PostgresError):
        await conn.execute(
            "INSERT INTO appointments (tenant_id, patient_id, professional_id, starts_at) "
            "VALUES ($1, $2, 1, now())",
            1,
            carla,
        )
    with contextlib.suppress(TenantIsolationError):
        return [r[0] for r in await conn.fetch(APPOINTED, 1)]
    return []


@pytest.mark.parametrize("startup", list(STARTUPS))
async def test_a_pool_reopened_with_foreign_keys_off_reads_no_other_clinic(
    guard_only: Setup, startup: str
) -> None:
    """`pool.set_connect_args()` in a request, then `expire_connections()`: the next connection
    starts with `session_replication_role = replica` (a startup parameter, never a statement
    the guard sees), foreign keys are off, and a clinic-1 appointment for Carla is written and
    read through the join the composite key pins."""
    carla = await owner_value(guard_only, "SELECT id FROM patients WHERE first_name = 'Carla'")
    pool = await create_pool(guard_only.dsn, policy=KEYED, min_size=1, max_size=1)
    try:
        with tenant(1):
            pool.set_connect_args(guard_only.dsn, **STARTUPS[startup])
            await pool.expire_connections()
            async with pool.acquire() as conn:
                seen = await write_and_read_carla_through_a_key(conn, carla)
    finally:
        await pool.close()
    assert "Carla" not in seen
    assert await owner_value(guard_only, "SELECT count(*) FROM appointments") == 0


async def test_a_connection_opened_with_foreign_keys_off_in_its_dsn_reads_no_other_clinic(
    guard_only: Setup,
) -> None:
    """asyncpg sends a DSN's unknown query parameters as startup settings."""
    carla = await owner_value(guard_only, "SELECT id FROM patients WHERE first_name = 'Carla'")
    dsn = f"{guard_only.dsn}?{REPLICA}={quote('replica')}"
    conn = await connect(dsn, policy=KEYED)
    try:
        with tenant(1):
            seen = await write_and_read_carla_through_a_key(conn, carla)
    finally:
        await conn.close()
    assert "Carla" not in seen
    assert await owner_value(guard_only, "SELECT count(*) FROM appointments") == 0


async def test_the_refusal_names_the_startup_setting_and_unscoped_code_still_runs(
    guard_only: Setup,
) -> None:
    """Replication tools open such sessions on purpose: they run inside `unscoped()`."""
    conn = await connect(
        guard_only.dsn, policy=KEYED, server_settings={"options": f"-c {REPLICA}=replica"}
    )
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match=f"{REPLICA} in its startup"):
            await conn.fetch(APPOINTED, 1)
        with unscoped("replication tool"):
            assert await conn.fetchval(f"SELECT current_setting('{REPLICA}')") == "replica"
    finally:
        await conn.close()


# --- 2. notifications: every session's payloads on a channel, other clinics' included --------

NOTIFY_NAMES = "SELECT pg_notify('events', first_name) FROM patients WHERE tenant_id = $1"


async def test_a_request_cannot_listen_to_other_clinics_notifications(setup: Setup) -> None:
    """Clinic 2's request publishes its patients' names (pinned: the guard lets it through);
    a clinic-1 request that registered a listener on the channel would receive them, as
    `pg_stat_activity` would show it clinic 2's statements. Listeners are refused where a
    request is contained, like log listeners."""
    received: list[str] = []
    attacker = await setup.connect()
    publisher = await setup.connect()
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            await attacker.add_listener("events", lambda *args: received.append(args[-1]))
        with tenant(2):
            await publisher.fetch(NOTIFY_NAMES, 2)
        with tenant(1):
            for _ in range(20):  # the notification arrives with the connection's next read
                await attacker.fetch(round2.PINNED, 1)
                await asyncio.sleep(0.01)
    finally:
        await publisher.close()
        await attacker.close()
    assert "Carla" not in received


async def test_a_listener_added_in_unscoped_code_still_receives(setup: Setup) -> None:
    received: list[str] = []
    listener = await setup.connect()
    publisher = await setup.connect()
    try:
        with unscoped("the application's event loop listens for every clinic"):
            await listener.add_listener("events", lambda *args: received.append(args[-1]))
        with tenant(2):
            await publisher.fetch(NOTIFY_NAMES, 2)
        for _ in range(50):
            if received:
                break
            with unscoped("polling"):
                await listener.fetchval("SELECT 1")
            await asyncio.sleep(0.01)
    finally:
        await publisher.close()
        await listener.close()
    assert received == ["Carla"]
