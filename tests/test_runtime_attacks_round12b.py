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

import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import create_pool, tenant, unscoped
from tests.test_runtime_attacks import CLINIC_1, PINNED, POLICY, Setup
from tests.test_runtime_attacks_round11 import (
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
    """Maintenance (unscoped()) or schema code dropped asyncpg's statement: a request then
    prepared SWAPPED under its name, and PROVEN ran it. asyncpg's names are refused in
    prepare(name=) outside unscoped()."""
    conn = await files_connection(setup)
    stolen: list[str] = []
    try:
        with tenant(CLINIC_A):
            await conn.fetch(PROVEN, CLINIC_A, CLINIC_B)
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
    """The refusal is the guard's, outside unscoped(): maintenance code may still drop
    statements (asyncpg then prepares its cached ones again)."""
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
