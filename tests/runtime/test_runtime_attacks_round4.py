"""Round 4 of the attacks on the runtime guard: ways around the round-3 fixes of issue 11.

Same two setups as `test_runtime_attacks` (its `setup` fixture): `guard` (a superuser
connection: the guard alone stands between the tenants) and `guard+rls` (an application role
under `rls_policy_sql()` with `set_tenant_setting=True`). The attacker is the code that calls
the guarded connection with a `tenant(1)` request, in enforce mode, through the connection's
public API; each test asserts on clinic 2's rows (Carla) that reach it, or that changed, read
afterwards through an unguarded owner connection. A refused call counts as no rows.

Each test was a strict xfail while its bypass worked; its marker was removed when it closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tenantguard import TenantIsolationError
from tenantguard.embedded import find_postgres_bin
from tenantguard.runtime import create_pool, tenant
from tests.runtime import test_runtime_attacks as round2
from tests.runtime.test_runtime_attacks import BY_SETTING, POLICY, Setup

setup = round2.setup  # the round-2 fixture: parametrized over "guard" and "guard+rls"


@pytest.fixture
async def guard_only(two_clinics: str) -> Setup:
    """The superuser setup alone: what RLS contains is still the guard's to stop."""
    return Setup("guard", two_clinics, two_clinics)


CARLA_HISTORY = '{"dx": "clinic 2 secret"}'
PINNED_HISTORY = "SELECT first_name, medical_history FROM patients WHERE tenant_id = $1"
# no ORDER BY: a sort would read every row at the first fetch
UNSORTED_BY_SETTING = (
    "SELECT first_name FROM patients WHERE tenant_id = current_setting('app.tenant_id')::bigint"
)


async def refused_or_ran(call: Callable[[], Awaitable[Any]]) -> None:
    with contextlib.suppress(TenantIsolationError):
        await call()


# --- 1. what a request leaves on a pooled connection outlives the pool's reset ---------------


async def test_a_codec_left_on_a_pooled_connection_reads_the_next_tenants_rows(
    setup: Setup,
) -> None:
    """`_tg_check_codec` refuses codecs on the types a tenant id is sent as, but any codec
    set by one request stays on the connection (asyncpg's reset and the pool's release do not
    remove codecs): a `tenant(1)` request sets a jsonb decoder, and the next request on the
    same pooled connection, for clinic 2, decodes its patients' medical history through it."""
    await setup.owner(
        f"UPDATE patients SET medical_history = '{CARLA_HISTORY}' WHERE tenant_id = 2"
    )
    stolen: list[str] = []

    def steal(text: str) -> object:
        stolen.append(text)
        return json.loads(text)

    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **setup.options)
    try:
        async with pool.acquire() as conn:
            with tenant(1):  # the attacker's request
                await refused_or_ran(
                    lambda: conn.set_type_codec(
                        "jsonb", encoder=json.dumps, decoder=steal, schema="pg_catalog"
                    )
                )
        async with pool.acquire() as conn:
            with tenant(2):  # the next request, for clinic 2, unaware
                await conn.fetch(PINNED_HISTORY, 2)
    finally:
        await pool.close()
    assert CARLA_HISTORY not in stolen


async def test_a_query_logger_left_on_a_pooled_connection_sees_the_next_tenants_values(
    setup: Setup,
) -> None:
    """`add_query_logger` is public asyncpg API the guard does not wrap, sends no SQL (so the
    connection stays "clean" and, with `set_tenant_setting`, even the pool's reset is skipped),
    and asyncpg's reset never removes query loggers: the logger a `tenant(1)` request adds
    receives the statements and bound values of every later request on that connection."""
    seen: list[object] = []
    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **setup.options)
    try:
        async with pool.acquire() as conn:
            # the attacker's request
            with tenant(1), contextlib.suppress(TenantIsolationError):
                conn.add_query_logger(lambda logged: seen.extend(logged.args))
        async with pool.acquire() as conn:
            with tenant(2):  # the next request, for clinic 2, unaware
                await conn.execute(
                    "UPDATE patients SET phone_number = $2 WHERE tenant_id = $1", 2, "229-0000"
                )
    finally:
        await pool.close()
    assert await setup.names("SELECT phone_number FROM patients WHERE tenant_id = 2") == [
        "229-0000"
    ]
    assert "229-0000" not in seen


# --- 2. the driver's exemption follows the context, and the check is made at call time -------


async def test_a_query_logger_called_during_the_reset_runs_unchecked_sql(setup: Setup) -> None:
    """Round 3 exempts only "the driver's own task" from the check while the pool's reset runs,
    but the exemption was a ContextVar (`_DRIVING`, now the driver's task): asyncpg calls query loggers with
    `call_soon`/`create_task`, which copy the driver's context. A `tenant(1)` request leaves a
    transaction open, so the reset sends `ROLLBACK` and then its reset query; the logger called
    for the `ROLLBACK` runs while the reset query is in flight and calls `fetch` on the
    connection: admitted unchecked (`_tg_admit_slow` returns None for the driver). The check is
    made when the call is made, so the coroutine it returns runs later, unchecked, whenever it
    is awaited: here while the next request (clinic 2) holds the connection and its setting.

    A request can no longer add a query logger (round-4 fix 2); the same callback then comes
    from the loop's exception handler, which asyncpg's reset calls synchronously, in the
    driver's own task, when it rolls back a transaction the request left open: a call made
    there, and one it schedules with `call_soon` (which copies the driver's context)."""
    pending: list[Any] = []
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()
    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **setup.options)
    try:
        async with pool.acquire() as conn:
            with tenant(1):  # the attacker's request
                fetch = conn.fetch  # bound to the pooled connection, not to the proxy

                def steal() -> None:
                    pending.append(fetch("SELECT first_name FROM patients ORDER BY 1"))

                def during_reset(logged: Any) -> None:
                    if logged.query == "ROLLBACK" and not pending:
                        steal()

                def in_the_drivers_task(loop: Any, context: Any) -> None:
                    if not pending:
                        steal()  # called now, in the driver's task
                        loop.call_soon(steal)  # called soon, in a copy of its context

                with contextlib.suppress(TenantIsolationError):
                    conn.add_query_logger(during_reset)
                loop.set_exception_handler(in_the_drivers_task)
                await conn.execute("BEGIN")  # left open: the reset rolls it back first
        loop.set_exception_handler(handler)

        async def attacker() -> list[str]:
            stolen: list[str] = []
            with tenant(1):
                for call in pending:
                    with contextlib.suppress(TenantIsolationError):
                        stolen.extend(row[0] for row in await call)
            return stolen

        async with pool.acquire() as conn:
            with tenant(2):  # the next request, for clinic 2, unaware
                await conn.fetch(PINNED_HISTORY, 2)
                stolen = await asyncio.create_task(attacker())
    finally:
        loop.set_exception_handler(handler)
        for call in pending:
            call.close()
        await pool.close()
    assert pending  # the callbacks ran during the reset
    assert "Carla" not in stolen


# --- 3. SQL run by the server outside the statement: COPY … TO/FROM PROGRAM -------------------


async def test_copy_to_program_runs_sql_the_guard_never_sees(guard_only: Setup) -> None:
    """The guard refuses `query_to_xml`, `DO` and SQL-level `EXECUTE` (SQL run by the server
    out of sight) but admits `COPY (SELECT 1) TO PROGRAM '…'`: a superuser application (the
    `guard` setup) runs any shell command as the server's user, psql against the same database
    among them, and through it any statement. The proof reads a pinned-free `SELECT 1`."""
    bindir = find_postgres_bin()
    assert bindir is not None
    command = f'{bindir / "psql"} {guard_only.dsn} -c "DELETE FROM patients WHERE tenant_id = 2"'
    conn = await guard_only.connect()
    try:
        with tenant(1):
            await refused_or_ran(lambda: conn.execute(f"COPY (SELECT 1) TO PROGRAM '{command}'"))
    finally:
        await conn.close()
    assert await guard_only.names() == ["Ana", "Bruno", "Carla"]  # Carla deleted


# --- 4. what a statement does to tables it does not name: TRUNCATE … CASCADE -----------------


async def test_truncate_cascade_of_a_global_table_erases_every_clinic(guard_only: Setup) -> None:
    """TG005 refuses `TRUNCATE patients` (every tenant's rows) but reads only the tables a
    TRUNCATE names: `tenants` is a global table, and `CASCADE` truncates every table whose
    foreign key references it, which is every tenant table. (TRUNCATE also ignores RLS; the
    `guard+rls` role has no TRUNCATE privilege here, an application role granted ALL would.)"""
    conn = await guard_only.connect()
    try:
        with tenant(1):
            await refused_or_ran(lambda: conn.execute("TRUNCATE tenants CASCADE"))
    finally:
        await conn.close()
    assert "Carla" in await guard_only.names()  # clinic 2's patients erased


# --- 5. a cursor's later round trips run under whatever setting the session has then ---------


async def test_a_cursor_pinned_by_the_setting_follows_another_requests_setting(
    setup: Setup,
) -> None:
    """The guard ensures the setting holds `tenant()` before a cursor's first round trip only
    (`_SettingCursorFactory`); the cursor's later chunks (`prefetch`, `Cursor.fetch`) are
    asyncpg's own round trips. On a connection the application shares between tasks (the
    guard rechecks the setting for "a call made earlier but awaited later"), another request
    sets it to clinic 2 between two chunks, and the rest of the `tenant(1)` cursor reads
    clinic 2: PostgreSQL evaluates `current_setting()` per row in a sequential scan (which
    the attacker asks for with `SET enable_indexscan = off`, a statement the guard admits)."""
    conn = await setup.connect()
    names: list[str] = []

    async def other_request() -> None:
        with tenant(2):
            await conn.fetch(BY_SETTING)

    try:
        with tenant(1):  # the attacker's request
            await conn.execute("SET enable_indexscan = off")
            await conn.execute("SET enable_bitmapscan = off")
            async with conn.transaction():
                async for row in conn.cursor(UNSORTED_BY_SETTING, prefetch=1):
                    names.append(row[0])
                    if len(names) == 1:
                        await asyncio.create_task(other_request())
    except TenantIsolationError:
        pass
    finally:
        await conn.close()
    assert "Carla" not in names


# --- 6. a text tenant id that spells a UUID is read as another text tenant -----------------

HEX_TENANT = "d41d8cd98f00b204e9800998ecf8427e"  # a text tenant id: 32 hexadecimal digits
DASHED_TENANT = "d41d8cd9-8f00-b204-e980-0998ecf8427e"  # another text tenant id


async def test_a_text_tenant_spelling_a_uuid_is_not_another_text_tenant(setup: Setup) -> None:
    """`tenant_key` puts a str of 32, 36 or 38 characters that parses as a UUID in canonical
    form, and the guard accepts that form as the request's tenant and sets it as the tenant
    setting. For a text tenant column (`notes.tenant_id`) `'d41d8cd98f00…'` and
    `'d41d8cd9-8f00-…'` are two tenants: a request of the first reads the second's rows through
    the setting (the plain expression pin, and RLS) or with its spelling bound as `$1`."""
    await setup.owner(
        f"INSERT INTO notes VALUES ('{HEX_TENANT}', 'clinic A note'), "
        f"('{DASHED_TENANT}', 'clinic B note')"
    )
    conn = await setup.connect()
    seen: list[str] = []
    try:
        with tenant(HEX_TENANT):  # the attacker's request: clinic A
            for call in (
                lambda: conn.fetch(
                    "SELECT body FROM notes WHERE tenant_id = current_setting('app.tenant_id')"
                ),
                lambda: conn.fetch("SELECT body FROM notes WHERE tenant_id = $1", DASHED_TENANT),
            ):
                with contextlib.suppress(TenantIsolationError):
                    seen.extend(row[0] for row in await call())
    finally:
        await conn.close()
    assert "clinic B note" not in seen
