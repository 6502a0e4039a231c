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

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import tenant, unscoped
from tests.test_runtime_attacks import Setup
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
