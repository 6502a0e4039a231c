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
from tenantguard.runtime.session import statement_effects
from tests.runtime import test_runtime_attacks as round2
from tests.runtime import test_runtime_plain_trust as plain_trust
from tests.runtime.test_runtime_attacks import Setup
from tests.runtime.test_runtime_round4_fixes import APPOINTED, KEYED

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


# --- 3. the driver's exemption: code asyncpg runs in the reset's task -------------------------

# clinic 2's rows deleted, out of the open transaction (rolled back when the connection is
# lost), the setting first for the guard+rls setup
DELETE_CLINIC_2 = (
    "COMMIT; SELECT set_config('app.tenant_id', '2', false); "
    "DELETE FROM patients WHERE tenant_id = 2"
)
UNSEEN = (asyncpg.InterfaceError, asyncpg.PostgresError, TenantIsolationError)


@pytest.mark.parametrize("timeout", [None, 5.0])
async def test_the_loops_exception_handler_is_not_the_pools_reset(
    setup: Setup, timeout: float | None
) -> None:
    """A request leaves a transaction open (`BEGIN`, not `async with conn.transaction()`):
    asyncpg's reset reports it to the loop's exception handler, synchronously, in the task
    that resets, while the connection is idle before its ROLLBACK. A handler the request set
    makes a call on the connection there and starts it at once (`send(None)`): made and run
    in the reset's task and run, it passed as the pool's own statement, unchecked."""
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    started: list[Any] = []
    pool = await create_pool(
        setup.dsn, policy=round2.POLICY, min_size=1, max_size=1, **setup.options
    )
    try:
        with tenant(1), contextlib.suppress(*UNSEEN):
            conn = await pool.acquire()
            execute = conn.execute  # bound to the connection: outlives the proxy
            await conn.execute("BEGIN")  # left open: the reset reports it

            def handler(loop: Any, context: dict[str, Any]) -> None:
                if not started:
                    started.append(execute(DELETE_CLINIC_2))
                    with contextlib.suppress(*UNSEEN, StopIteration):
                        started[0].send(None)  # sent now, if admitted

            loop.set_exception_handler(handler)
            await pool.release(conn, timeout=timeout)  # the reset, with asyncpg's timer or not
        await asyncio.sleep(0.2)
    finally:
        loop.set_exception_handler(previous)
        for call in started:
            call.close()
        await pool.close()
    assert started
    assert "Carla" in await setup.names()


# --- 4. search_path: a built-in's name resolved to the schema's function ---------------------

# a schema function with a built-in's exact name and signature: pg_catalog's is found first,
# unless search_path names pg_catalog after public
SHADOW = plain_trust.switching("public.lower", "text", "text", "$1")


async def test_a_search_path_before_pg_catalog_makes_a_built_in_the_schemas_function(
    setup: Setup,
) -> None:
    """`SET search_path = public, pg_catalog` was allowed (not plain: the setting is set again
    after it); then `lower('X')`, a safe built-in by its name and so plain, called
    public.lower, which switched the setting while the guard kept trusting it."""
    await setup.owner(SHADOW)
    conn = await setup.connect()
    try:
        with tenant(1):
            with contextlib.suppress(TenantIsolationError):
                await conn.execute("SET search_path = public, pg_catalog")
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
            await conn.fetchval("SELECT lower('X')")
            names = [r[0] for r in await conn.fetch(round2.BY_SETTING)]
    finally:
        await conn.close()
    assert names == round2.CLINIC_1


PATHS_REFUSED = [
    "SET search_path = public, pg_catalog",
    "set local search_path to 'public', 'pg_catalog'",
    'SET SESSION "search_path" = "$user", public, "PG_CATALOG"',
    "SET search_path = public, E'pg\\x5fcatalog'",
    "SELECT set_config('search_path', 'public, pg_catalog', false)",
    "SELECT set_config('search_path', $1, false)",
    "SELECT set_config('search_path'::text, 'public', false)",
    "SELECT set_config('search_path', current_setting('search_path') || ', pg_catalog', false)",
]
PATHS_ALLOWED = [
    "SET search_path = public",
    "SET search_path TO pg_catalog, public",
    'SET search_path = "$user", public',
    "SET search_path TO DEFAULT",
    "RESET search_path",
    "SHOW search_path",
    "SELECT current_setting('search_path')",
    "SELECT set_config('search_path', 'public', false)",
    "SELECT set_config('search_path', 'pg_catalog, public', true)",
]


@pytest.mark.parametrize("sql", PATHS_REFUSED)
def test_a_search_path_naming_pg_catalog_after_another_schema_is_refused(sql: str) -> None:
    effects = statement_effects(sql, "app.tenant_id")
    assert effects.refusal is not None
    assert "search_path" in effects.refusal


@pytest.mark.parametrize("sql", PATHS_ALLOWED)
def test_a_search_path_leaving_pg_catalog_first_passes(sql: str) -> None:
    assert statement_effects(sql, "app.tenant_id").refusal is None


@pytest.mark.parametrize(
    "settings",
    [
        {"search_path": "public, pg_catalog"},
        {"options": "-c search_path=public,pg_catalog"},
        {"options": "--search-path=public,PG_CATALOG"},
    ],
)
async def test_a_connection_opened_with_pg_catalog_after_another_schema_is_not_guarded(
    setup: Setup, settings: dict[str, str]
) -> None:
    await setup.owner(SHADOW)
    conn = await setup.connect(server_settings=settings)
    try:
        with tenant(1):
            with contextlib.suppress(TenantIsolationError):
                await conn.fetchval("SELECT lower('X')")
            with pytest.raises(TenantIsolationError, match="search_path in its startup"):
                await conn.fetch(round2.BY_SETTING)
    finally:
        await conn.close()


async def test_a_connection_opened_with_its_own_search_path_is_guarded(setup: Setup) -> None:
    conn = await setup.connect(server_settings={"search_path": '"$user", public'})
    try:
        with tenant(1):
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
    finally:
        await conn.close()


# --- 5. a NUL character: the server reads the text before it -------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT first_name FROM patients\x00 WHERE tenant_id = $1",
        "SELECT first_name FROM patients WHERE tenant_id = $1\x00\x00\x01\x00",
    ],
)
async def test_a_statement_with_a_nul_is_refused_before_it_is_sent(
    guard_only: Setup, sql: str
) -> None:
    """The proof read `\\x00` as a blank and proved the whole text; PostgreSQL reads a
    statement up to its first NUL (the rest is the protocol message's next fields). No split
    that reads another clinic was found (the tail must parse as Parse's parameter types), but
    the guard does not send what it did not prove."""
    conn = await connect(guard_only.dsn, policy=round2.POLICY)
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError, match="NUL character"):
                await conn.fetch(sql, 1)
            assert [r[0] for r in await conn.fetch(round2.PINNED, 1)] == round2.CLINIC_1
    finally:
        await conn.close()
