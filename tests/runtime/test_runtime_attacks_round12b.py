"""Round 12b: what the connection keeps besides the text the guard proves.

The application code is the attacker: inside clinic A's request (`tenant(A)`) it holds a guarded
connection or pool and wants clinic B's rows. The guard proves the text and checks the values;
these attacks change what the text runs as on the server (a prepared statement's name), what a
value becomes on the wire (a codec set through `get_settings()`), or in which tenant's scope a
callback runs (asyncpg runs listeners in the context of whatever ran the socket's callbacks or
closed the connection: another request's). Each test runs on the real server, in the `guard` and
`guard+rls` setups, and asserts on the rows that come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import GuardedPool, create_pool, current_scope, tenant, unscoped
from tests.runtime.test_runtime_attacks import CLINIC_1, PINNED, POLICY, Setup
from tests.runtime.test_runtime_attacks_round11 import (
    CLINIC_A,
    CLINIC_B,
    bodies_or_refused,
    files_connection,
    setup,
)

__all__ = ["setup"]


# --- 1. a cached statement's name on the server, dropped and prepared again -----------------

# pinned by $1 (checked), and by $2 in the twin that takes its name: the same types
PROVEN = "SELECT body FROM files WHERE tenant_id = $1 AND tenant_id <> $2 ORDER BY body"
SWAPPED = "SELECT body FROM files WHERE tenant_id = $2 AND tenant_id <> $1 ORDER BY body"
DROPS = {
    "named": "DEALLOCATE {name}",
    "quoted": 'DEALLOCATE "{name}"',
    "prepare keyword": "DEALLOCATE PREPARE {name}",
    "all": "DEALLOCATE ALL",
    "comment between": "deallocate/**/all",
    "after a comment": "/* x */ DEALLOCATE {name}",
}


@pytest.mark.parametrize("drop", list(DROPS))
async def test_a_cached_statements_name_cannot_be_given_to_other_sql(
    setup: Setup, drop: str
) -> None:
    """asyncpg keeps the statement of a text it has prepared under a name on the server
    (`__asyncpg_stmt_N__`, listed in pg_prepared_statements) and binds that name whenever the
    text comes again. SQL-level DEALLOCATE dropped the name and `prepare(…, name=)` gave it to
    another proven statement: the guard checked PROVEN's $1 (clinic A) while the server ran
    SWAPPED, pinned by $2 (clinic B), and returned clinic B's row."""
    conn = await files_connection(setup)
    try:
        with tenant(CLINIC_A):
            assert await bodies_or_refused(lambda: conn.fetch(PROVEN, CLINIC_A, CLINIC_B)) == [
                "mine"
            ]
            # the session's statements' text is TG006 in a request (round 15): looked up unscoped
            with unscoped("find asyncpg's name for the text"):
                name = await conn.fetchval(
                    "SELECT name FROM pg_prepared_statements WHERE statement = $1", PROVEN
                )
            assert name is not None and name.startswith("__asyncpg_stmt_")
            with contextlib.suppress(TenantIsolationError):
                await conn.execute(DROPS[drop].format(name=name))
                await conn.prepare(SWAPPED, name=name)
            # the hot path, then the full check of the same text
            bodies = await bodies_or_refused(lambda: conn.fetch(PROVEN, CLINIC_A, CLINIC_B))
            conn.tenantguard.clear_cache()
            bodies += await bodies_or_refused(lambda: conn.fetch(PROVEN, CLINIC_A, CLINIC_B))
    finally:
        await conn.close()
    assert bodies == ["mine", "mine"]


class PosingName(str):
    """A statement name that says it is not asyncpg's (asyncpg sends its text)."""

    def startswith(self, *_: object, **__: object) -> bool:
        return False


@pytest.mark.parametrize("posing", [False, True], ids=["str", "str subclass"])
async def test_a_name_freed_by_maintenance_cannot_be_given_to_other_sql(
    setup: Setup, posing: bool
) -> None:
    """Maintenance (unscoped()) or schema code dropped asyncpg's statement (asyncpg then
    reports it missing): a request could prepare SWAPPED under its name, which PROVEN would
    run. asyncpg's names are refused in prepare(name=) outside unscoped()."""
    conn = await files_connection(setup)
    stolen: list[str] = []
    try:
        with tenant(CLINIC_A):
            await conn.fetch(PROVEN, CLINIC_A, CLINIC_B)
            with unscoped("find asyncpg's name for the text"):
                name = await conn.fetchval(
                    "SELECT name FROM pg_prepared_statements WHERE statement = $1", PROVEN
                )
        with unscoped("nightly maintenance"):
            await conn.execute("DEALLOCATE ALL")
        with tenant(CLINIC_A):
            with pytest.raises(TenantIsolationError, match="asyncpg's own"):
                await conn.prepare(SWAPPED, name=PosingName(name) if posing else name)
            with contextlib.suppress(asyncpg.InvalidSQLStatementNameError):
                stolen = await bodies_or_refused(lambda: conn.fetch(PROVEN, CLINIC_A, CLINIC_B))
            # a name of the application's own still works
            mine = await conn.prepare(PROVEN, name="report_of_a")
            assert [r[0] for r in await mine.fetch(CLINIC_A, CLINIC_B)] == ["mine"]
    finally:
        await conn.close()
    assert "theirs" not in stolen


async def test_deallocate_runs_unscoped(setup: Setup) -> None:
    """The refusal is the guard's, outside unscoped(): maintenance code may still drop the
    statements it prepared."""
    conn = await files_connection(setup)
    try:
        with tenant(CLINIC_A):
            await conn.prepare(PROVEN, name="mine")
            with pytest.raises(TenantIsolationError, match="DEALLOCATE"):
                await conn.execute("DEALLOCATE mine")
        with unscoped("drop the report's statement"):
            await conn.execute("DEALLOCATE mine")
            assert not await conn.fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE name = 'mine'"
            )
    finally:
        await conn.close()


# --- 2. a codec set through the connection's settings ---------------------------------------


def plus_one(value: int) -> str:
    """An int8 encoder that sends the next clinic's id for the one it is given."""
    return str(value + 1)


SETTINGS_CALLS: dict[str, Callable[[Any], object]] = {
    "add_python_codec": lambda settings: settings.add_python_codec(
        20, "int8", "pg_catalog", [], "scalar", plus_one, int, "text"
    ),
    "set_builtin_type_codec": lambda settings: settings.set_builtin_type_codec(
        20, "int8", "pg_catalog", "scalar", "float8", None
    ),
    "remove_python_codec": lambda settings: settings.remove_python_codec(20, "int8", "pg_catalog"),
    "register_data_types": lambda settings: settings.register_data_types([]),
    "clear_type_cache": lambda settings: settings.clear_type_cache(),
}


@pytest.mark.parametrize("call", list(SETTINGS_CALLS))
async def test_codecs_cannot_be_changed_through_the_connections_settings(
    setup: Setup, call: str
) -> None:
    """`get_settings()` is asyncpg's public accessor of the connection's codec registry:
    `add_python_codec` on int8 made the guard compare tenant 1 while the server got 2 (Carla
    read in the `guard` setup; RLS kept the other). The codec methods are what
    `set_type_codec` calls: refused where it is; the settings themselves still read."""
    conn = await setup.connect()
    try:
        with tenant(1):
            settings = conn.get_settings()
            assert settings.server_version and settings.standard_conforming_strings == "on"
            with pytest.raises(TenantIsolationError, match=call):
                SETTINGS_CALLS[call](settings)
            with contextlib.suppress(TenantIsolationError, Exception):
                SETTINGS_CALLS["add_python_codec"](settings)
            names = [r[0] for r in await conn.fetch(PINNED + " ", 1)]  # a statement not cached
    finally:
        await conn.close()
    assert names == CLINIC_1


async def test_codecs_set_through_the_settings_in_the_pools_init_still_work(
    setup: Setup,
) -> None:
    """The pool's init= is the application's configuration: there the settings' codec
    methods pass (as set_type_codec does), in the task running it."""
    seen: list[object] = []

    def decode(text: str) -> object:
        seen.append(text)
        return text

    async def init(conn: Any) -> None:
        conn.get_settings().add_python_codec(
            3802, "jsonb", "pg_catalog", [], "scalar", str, decode, "text"
        )

    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, init=init)
    try:
        with tenant(1):
            assert await pool.fetchval("SELECT '{\"a\": 1}'::jsonb") == '{"a": 1}'
    finally:
        await pool.close()
    assert seen == ['{"a": 1}']


# --- 3. callbacks run in another request's tenant() -----------------------------------------


def reader(pool: GuardedPool, got: asyncio.Future[object]) -> Callable[..., Awaitable[None]]:
    """A callback that reads clinic 2's patients through the pool, in whatever scope it runs,
    and reports that scope (its key, or unscoped) and the names it read (none when refused)."""

    async def read(*_: object) -> None:
        scope = current_scope()
        try:
            rows = await pool.fetch(PINNED, 2)
        except TenantIsolationError:
            rows = []
        if not got.done():
            ran_in = None if scope is None else scope.key or f"unscoped({scope.unscoped_reason})"
            got.set_result((ran_in, [r[0] for r in rows]))

    return read


async def terminated(conn: Any) -> None:
    """The server ends the session (what a failover, idle_session_timeout or an operator does)."""
    with contextlib.suppress(Exception):
        await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")


async def guarded_pool(where: Setup, **options: Any) -> GuardedPool:
    """A pool whose code outside tenant() is contained: require_tenant (the `guard` setup;
    `guard+rls` has set_tenant_setting and RLS too)."""
    return await create_pool(
        where.dsn, policy=POLICY, require_tenant=True, **{**where.options, **options}
    )


async def what_the_callback_read(got: asyncio.Future[object]) -> tuple[object, list[str]]:
    return await asyncio.wait_for(got, 10)  # type: ignore[return-value]


def opened_in(where: str) -> contextlib.AbstractContextManager[object]:
    return tenant(2) if where == "clinic 2's request" else unscoped("nightly report")


@pytest.mark.parametrize("where", ["clinic 2's request", "unscoped()"])
async def test_a_termination_listener_does_not_run_in_the_scope_that_opened_the_connection(
    setup: Setup, where: str
) -> None:
    """asyncio runs a socket's callbacks in a copy of the context that opened it: the
    connection a pool opened lazily inside clinic 2's request (or an unscoped() job) ran
    every later notification, log message and termination callback under that scope. A
    termination listener added in clinic 1's request read Carla when the server ended the
    session."""
    pool = await guarded_pool(setup, min_size=0, max_size=2)
    got: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    try:
        with opened_in(where):
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        with tenant(1):
            async with pool.acquire() as conn:
                conn.add_termination_listener(reader(pool, got))
                await terminated(conn)
        scope, names = await what_the_callback_read(got)
    finally:
        await pool.close()
    assert (scope, names) == (None, [])


async def test_a_termination_listener_does_not_run_in_the_request_that_closes_it(
    setup: Setup,
) -> None:
    """A pool closes a connection at the release that reaches max_queries (or after
    expire_connections()): asyncpg called the listener clinic 1's request had left on it in
    clinic 2's release, under tenant(2)."""
    pool = await guarded_pool(setup, min_size=1, max_size=1, max_queries=3)
    got: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    try:
        with tenant(1):
            async with pool.acquire() as conn:
                conn.add_termination_listener(reader(pool, got))
                await conn.fetch(PINNED, 1)
        with tenant(2):  # clinic 2's own request, whose release ends the connection
            async with pool.acquire() as conn:
                for _ in range(3):
                    await conn.fetch(PINNED, 2)
        scope, names = await what_the_callback_read(got)
    finally:
        await pool.close()
    assert (scope, names) == (None, [])


async def test_a_copy_does_not_hand_its_scope_to_the_sockets_callbacks(setup: Setup) -> None:
    """A COPY TO pauses the socket and resumes it from the copying task: asyncio registers
    the reader again in that task's context. After clinic 2's request copied on a connection
    the pool had opened outside any request, its callbacks ran under tenant(2)."""
    pool = await guarded_pool(setup, min_size=1, max_size=2)
    got: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    try:
        with tenant(2):
            async with pool.acquire() as conn:
                await conn.copy_from_query(PINNED, 2, output=io.BytesIO())
        with tenant(1):
            async with pool.acquire() as conn:
                conn.add_termination_listener(reader(pool, got))
                await terminated(conn)
        scope, names = await what_the_callback_read(got)
    finally:
        await pool.close()
    assert (scope, names) == (None, [])


# what makes the server call the application's listener on the connection: a notification on
# its channel, or a message (ROLLBACK outside a transaction: a WARNING)
TRIGGERS = {"notification": "NOTIFY jobs, '2'", "log message": "ROLLBACK"}


# setup= adds the listener at each acquire: asyncpg warns that the release finds it there
@pytest.mark.filterwarnings("ignore::asyncpg.InterfaceWarning")
@pytest.mark.parametrize("kind", list(TRIGGERS))
async def test_a_listener_of_the_pools_setup_runs_in_no_request(setup: Setup, kind: str) -> None:
    """The application's own listener (added in the pool's setup=, trusted) handles a job
    named in a notification's payload, or a server message. Clinic 1's request made the
    server send one on a connection clinic 2's request had opened: the handler ran under
    tenant(2) and read Carla. It runs in no request's scope: what it reads is refused
    (require_tenant) or nothing (RLS)."""
    got: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    handlers: list[Callable[..., Awaitable[None]]] = []

    async def listen(conn: Any) -> None:
        if kind == "notification":
            await conn.add_listener("jobs", handlers[0])
        else:
            conn.add_log_listener(handlers[0])

    pool = await guarded_pool(setup, min_size=0, max_size=2, setup=listen)
    handlers.append(reader(pool, got))
    try:
        with tenant(2):
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        with tenant(1):
            async with pool.acquire() as conn:
                await conn.execute(TRIGGERS[kind])
                scope, names = await what_the_callback_read(got)
    finally:
        await pool.close()
    assert (scope, names) == (None, [])


# --- 4. the guard turned off from a request -------------------------------------------------


async def test_turning_the_guard_off_is_logged_with_its_call_site(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    """`pool.tenantguard.mode = "off"` is the guard's API (the only way to run unguarded),
    and a request can reach it: it turned every connection of the pool off, and nothing said
    so. Like unscoped(), it is logged (a WARNING naming the modes and the call site); the
    rows it lets through are the API's promise, asserted here so that the test says what the
    log line is about."""
    conn = await setup.connect()
    try:
        with tenant(1), caplog.at_level(logging.WARNING, logger="tenantguard"):
            guard = conn.tenantguard
            guard.mode = "off"
            names = [r[0] for r in await conn.fetch("SELECT first_name FROM patients ORDER BY 1")]
            guard.mode = "off"  # no change: no line
            guard.mode = "enforce"
    finally:
        await conn.close()
    lines = [r.getMessage() for r in caplog.records if "mode" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "from enforce to off" in lines[0] and "test_runtime_attacks_round12b.py:" in lines[0]
    assert "from off to enforce" in lines[1]
    if setup.name == "guard":
        assert "Carla" in names
