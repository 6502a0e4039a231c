"""Session 39 (helper h39R): the tenant setting set before a statement that ends a FAILED
transaction, on a real server.

The guard sets the tenant setting (`SELECT set_config('app.tenant_id', …)`) before a statement
when it does not know it holds tenant() (`set_tenant_setting=True`, a statement pinned by the
tenant expression, a database whose code reads the setting). After a statement failed inside a
transaction, the server refuses every statement but one ending it or going back to a savepoint
— the guard's `set_config` too. The guard sent its `set_config` before the ROLLBACK that
`async with conn.transaction()` sends on an exception (or before a COMMIT, which the server
turns into a ROLLBACK), the server refused it, and the ROLLBACK was never sent: the connection
stayed in the failed transaction for good (every later ROLLBACK refused the same way, every
read of every tenant `InFailedSQLTransactionError`). Now the statement is sent all the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tenantguard.runtime import GuardedConnection, connect, tenant
from tests.runtime.test_h36C_attacks import _raw
from tests.runtime.test_runtime import POLICY

READ = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY first_name"
BY_SETTING = (
    "SELECT first_name FROM patients"
    " WHERE tenant_id = current_setting('app.tenant_id')::bigint ORDER BY first_name"
)
INSERT = "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES ($1, 'Dora', '9')"
# a failing statement pinned by the tenant expression: the guard sets the setting before it
FAILING = (
    "SELECT 1 / (count(*) - count(*)) FROM patients"
    " WHERE tenant_id = current_setting('app.tenant_id')::bigint"
)

READS_SETTING = (
    "CREATE FUNCTION current_clinic() RETURNS bigint LANGUAGE sql STABLE"
    " AS $$ SELECT current_setting('app.tenant_id')::bigint $$;"
)


@pytest.fixture(params=["set_tenant_setting", "code reading the setting"])
async def conn(
    two_clinics: str, request: pytest.FixtureRequest
) -> AsyncIterator[GuardedConnection]:
    if request.param != "set_tenant_setting":
        # the guard then sets the setting before every statement, without being asked
        await _raw(two_clinics, READS_SETTING)
    connection = await connect(
        two_clinics, policy=POLICY, set_tenant_setting=request.param == "set_tenant_setting"
    )
    yield connection
    connection.terminate()


async def _names(conn: GuardedConnection) -> dict[int, list[str]]:
    """Each clinic's patients, read in its own block on the guarded connection."""
    names = {}
    for clinic in (1, 2):
        with tenant(clinic):
            names[clinic] = [r[0] for r in await conn.fetch(READ, clinic)]
    with tenant(1):
        assert [r[0] for r in await conn.fetch(BY_SETTING)] == names[1]
    return names


BEFORE = {1: ["Ana", "Bruno"], 2: ["Carla"]}


async def test_a_transaction_opened_outside_the_block_ends_on_the_error(
    conn: GuardedConnection,
) -> None:
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with conn.transaction():
            with tenant(1):
                await conn.execute(INSERT, 1)
                await conn.fetchval(FAILING)
    assert not conn.is_in_transaction()
    assert await _names(conn) == BEFORE  # Dora rolled back, the connection usable


async def test_another_block_rolls_the_failed_transaction_back(conn: GuardedConnection) -> None:
    with tenant(1):
        await conn.execute("BEGIN")
        await conn.execute(INSERT, 1)
        with pytest.raises(asyncpg.DivisionByZeroError):
            await conn.fetchval(FAILING)
    with tenant(2):
        await conn.execute("ROLLBACK")
    assert not conn.is_in_transaction()
    assert await _names(conn) == BEFORE


async def test_a_savepoint_after_a_failure(conn: GuardedConnection) -> None:
    with tenant(1):
        async with conn.transaction():
            await conn.execute(INSERT, 1)
            with pytest.raises(asyncpg.DivisionByZeroError):
                async with conn.transaction():  # a savepoint, rolled back to on the error
                    await conn.fetchval(FAILING)
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == ["Ana", "Bruno", "Dora"]
    assert await _names(conn) == {1: ["Ana", "Bruno", "Dora"], 2: ["Carla"]}


async def test_a_commit_after_a_caught_failure(conn: GuardedConnection) -> None:
    with tenant(1):
        async with conn.transaction():
            await conn.execute(INSERT, 1)
            with pytest.raises(asyncpg.DivisionByZeroError):
                await conn.fetchval(FAILING)
        # the server turned the COMMIT into a ROLLBACK: Dora is not written
    assert not conn.is_in_transaction()
    assert await _names(conn) == BEFORE
