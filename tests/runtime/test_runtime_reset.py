"""The pool's reset on a real server: asyncpg's script is sent by `GuardedConnection.reset`
itself (the driver's statement by the code path that sends it, not by its text), it resets
what asyncpg's reset resets, and the same text sent by the application is checked.

The attacks use the two setups of `test_runtime_attacks` (the guard alone; an application
role under RLS with `set_tenant_setting=True`) and assert on clinic 2's rows, read afterwards
through an unguarded owner connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.runtime import GuardedConnection, create_pool, tenant
from tenantguard.runtime import connection as guarded_connection
from tests.conftest import log_every_statement
from tests.runtime import test_runtime_attacks as round2
from tests.runtime.test_runtime_attacks import BY_SETTING, CLINIC_1, PINNED, POLICY, Setup
from tests.runtime.test_runtime_pool import statements_of

setup = round2.setup  # parametrized over "guard" and "guard+rls"

CLINIC_2 = "SELECT first_name FROM patients WHERE tenant_id = 2 ORDER BY first_name"
CLINIC_1_NOW = "SELECT first_name FROM patients WHERE tenant_id = 1 ORDER BY first_name"
BY_SETTING_UPDATE = (
    "UPDATE patients SET first_name = 'owned' "
    "WHERE tenant_id = current_setting('app.tenant_id')::bigint"
)


async def refused_or_ran(call: Callable[[], Awaitable[Any]]) -> None:
    with contextlib.suppress(TenantIsolationError):
        await call()


async def default_tenant_is_clinic_2(setup: Setup) -> None:
    """The role's default for the setting in this database: what a RESET ALL hands over."""
    parts = urlsplit(setup.dsn)
    role, database = parts.username or "postgres", parts.path.lstrip("/")
    await setup.owner(f'ALTER ROLE "{role}" IN DATABASE "{database}" SET app.tenant_id = \'2\'')


def test_the_installed_asyncpg_resets_in_the_steps_the_guard_makes_itself() -> None:
    # otherwise the guard calls asyncpg's reset (correct, one check dearer): the tests below
    # would test that path instead of the one the pools of this asyncpg take
    assert guarded_connection._RESET_INLINE


async def test_the_pools_reset_is_sent_without_the_applications_check(
    two_clinics: str, postgres: ThrowawayPostgres
) -> None:
    """asyncpg's reset script, sent at each release, goes to asyncpg's own `execute` from
    `GuardedConnection.reset`: not through the guarded `execute` the application calls (its
    admission, the driver's exemption, a coroutine more), and never counted as checked."""
    await log_every_statement(two_clinics)  # read by `statements_of`
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    executed: list[str] = []
    try:
        async with pool.acquire() as conn:
            pooled = conn._con  # type: ignore[attr-defined]  # the connection, not the proxy
            pid = conn.get_server_pid()
            script = conn.get_reset_query()
        bound = type(pooled)  # the pool's own subclass: patched for this pool only

        def counted(self: GuardedConnection, query: str, *args: Any, **kwargs: Any) -> Any:
            executed.append(query)
            return GuardedConnection.execute(self, query, *args, **kwargs)

        bound.execute = counted  # type: ignore[method-assign]
        for _ in range(3):
            with tenant(1):
                assert [r[0] for r in await pool.fetch(PINNED, 1)] == CLINIC_1
        guard = pool.tenantguard
        assert guard.counters["checked"] == 3
        assert guard.blocked == 0
    finally:
        await pool.close()
    assert executed == []  # the three releases sent their script without the guarded execute
    await asyncio.sleep(0.3)
    sent = statements_of(postgres, pid)  # the log's first line of each statement
    assert sum(s == script.splitlines()[0] for s in sent) == 4  # the first release, then 3


async def test_the_inline_reset_resets_what_asyncpgs_resets(two_clinics: str) -> None:
    """A request leaves a transaction open, a setting changed, an advisory lock and a LISTEN:
    the release undoes each, as asyncpg's reset does."""
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()
    reported: list[str] = []
    loop.set_exception_handler(lambda loop, context: reported.append(context["message"]))
    try:
        async with pool.acquire() as conn:
            await conn.execute("SET statement_timeout = '5s'")
            await conn.execute("LISTEN anything")
            await conn.fetchval("SELECT pg_advisory_lock(42)")
            await conn.execute("BEGIN")
            with tenant(1):
                await conn.execute(
                    "UPDATE patients SET first_name = 'rolled back' WHERE tenant_id = $1", 1
                )
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SHOW statement_timeout") == "0"
            # the application's channel is gone; the guard's own is heard again (h37R)
            channels = await conn.fetchval("SELECT array_agg(c) FROM pg_listening_channels() c")
            assert channels == ["tenantguard_catalog"]
            raw = await asyncpg.connect(two_clinics)
            try:
                assert await raw.fetchval("SELECT pg_try_advisory_lock(42)")
                rows = await raw.fetch(CLINIC_1_NOW)
            finally:
                await raw.close()
    finally:
        loop.set_exception_handler(handler)
        await pool.close()
    assert [r[0] for r in rows] == CLINIC_1  # the update was rolled back
    assert any("active transaction" in message for message in reported)  # asyncpg's warning


def _reset_text_attempts() -> dict[str, Callable[[Any], Awaitable[Any]]]:
    """Ways the application sends asyncpg's reset script itself, in a request."""
    return {
        "execute": lambda conn: conn.execute(conn.get_reset_query()),
        "in a script": lambda conn: conn.execute(conn.get_reset_query() + "\n" + BY_SETTING_UPDATE),
        "asyncpg's reset method": lambda conn: asyncpg.Connection.reset(conn),
        "fetch": lambda conn: conn.fetch(conn.get_reset_query()),
    }


@pytest.mark.parametrize("attempt", list(_reset_text_attempts()))
async def test_the_reset_script_sent_by_the_application_is_checked(
    setup: Setup, attempt: str
) -> None:
    """The role's default tenant is clinic 2: asyncpg's reset script sent by a `tenant(1)`
    request (its text exactly, or asyncpg's own reset method called on the connection) would
    hand the session clinic 2 while the guard believes it holds clinic 1, and the update by
    the setting would then rename Carla. It is the application's statement: checked, refused."""
    await default_tenant_is_clinic_2(setup)
    send = _reset_text_attempts()[attempt]
    conn = await setup.connect()
    try:
        with tenant(1):
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1  # holds clinic 1
            await refused_or_ran(lambda: send(conn))
            await refused_or_ran(lambda: conn.execute(BY_SETTING_UPDATE))
        blocked = conn.tenantguard.blocked
    finally:
        await conn.close()
    assert await setup.names(CLINIC_2) == ["Carla"]
    assert await setup.names(CLINIC_1_NOW) == ["owned", "owned"]  # the update ran, for clinic 1
    assert blocked >= 1  # the script was checked, and refused


async def test_the_reset_script_sent_through_a_pooled_connection_is_checked(
    setup: Setup,
) -> None:
    """The same through the pool's proxy, with the pool's own reset running between requests."""
    await default_tenant_is_clinic_2(setup)
    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **setup.options)
    try:
        for _ in range(2):
            async with pool.acquire() as conn:
                with tenant(1):
                    assert len(await conn.fetch(BY_SETTING)) == 2  # clinic 1's two patients
                    await refused_or_ran(lambda: conn.execute(conn.get_reset_query()))
                    await refused_or_ran(lambda: conn.execute(BY_SETTING_UPDATE))
        blocked = pool.tenantguard.blocked
    finally:
        await pool.close()
    assert await setup.names(CLINIC_2) == ["Carla"]
    assert await setup.names(CLINIC_1_NOW) == ["owned", "owned"]
    assert blocked == 2


@pytest.mark.parametrize("timeout", [None, 5.0])
async def test_a_reset_called_in_a_request_leaves_no_tenant_behind(
    setup: Setup, timeout: float | None
) -> None:
    """`reset()` is public and runs as the driver (inline, or asyncpg's with a timeout): the
    setting the server falls back to (clinic 2) is forgotten, and set again before the next
    statement pinned by it."""
    await default_tenant_is_clinic_2(setup)
    conn = await setup.connect()
    try:
        with tenant(1):
            await conn.execute("SET statement_timeout = '5s'")  # the reset is not skipped
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1  # holds clinic 1
            await conn.reset(timeout=timeout)
            await conn.execute(BY_SETTING_UPDATE)
            rows = await conn.fetch(PINNED, 1)
        assert conn.tenantguard.blocked == 0
    finally:
        await conn.close()
    assert [r[0] for r in rows] == ["owned", "owned"]
    assert await setup.names(CLINIC_2) == ["Carla"]
