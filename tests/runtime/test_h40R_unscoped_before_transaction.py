"""Session 40 (helper h40R): state an `unscoped()` job left BEFORE a transaction, read by a
tenant's block inside it, on a real server.

Nothing resets a connection between two blocks' work but the guard, before another tenant's
first statement (`_tg_switch`); inside a transaction, which a reset would end, it refuses that
statement instead — except when the state is an `unscoped()` step's: the request's own trusted
step in its transaction (a lookup, an audit row), which the tenant's block takes on. The guard
did not ask whether that step ran in THIS transaction: a worker's connection ran a nightly
`unscoped()` job (`CREATE TEMP TABLE report AS SELECT tenant_id, first_name FROM patients`,
`set_config('my.stash', <every clinic's names>, false)`), then a request opened its transaction
before it knew its tenant (`async with conn.transaction():`, a middleware's `BEGIN`) and ran
clinic 2's block in it: `SELECT * FROM report` returned [(1, 'Ana'), (1, 'Bruno'), (2, 'Carla')]
and `current_setting('my.stash')` 'Ana,Bruno,Carla' (clinic 1's patients). The same after the
job's own transaction was committed and another opened. Now only an `unscoped()` step made in
the open transaction is taken on; older state is refused, as another block's is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import GuardedConnection, connect, create_pool, tenant, unscoped
from tests.runtime.test_runtime import POLICY

JOB = (
    "CREATE TEMP TABLE report AS SELECT tenant_id, first_name FROM patients",
    "SELECT set_config('my.stash', (SELECT string_agg(first_name, ',' ORDER BY id)"
    " FROM patients), false)",
)
READS = (
    "SELECT tenant_id, first_name FROM report ORDER BY 2",
    "SELECT current_setting('my.stash', true)",
)


@pytest.fixture
async def conn(two_clinics: str) -> AsyncIterator[GuardedConnection]:
    connection = await connect(two_clinics, policy=POLICY)
    yield connection
    await connection.close()


async def _job(conn: GuardedConnection) -> None:
    with unscoped("nightly report"):
        for statement in JOB:
            await conn.execute(statement)


async def _clinic_2_reads(conn: GuardedConnection) -> object:
    with tenant(2):
        try:
            return (list(map(tuple, await conn.fetch(READS[0]))), await conn.fetchval(READS[1]))
        except TenantIsolationError:
            return "refused"


async def _own_rows(conn: GuardedConnection) -> dict[int, list[str]]:
    """Each clinic's patients, read in its own block once the transaction is over."""
    names = {}
    for clinic in (1, 2):
        with tenant(clinic):
            names[clinic] = [
                r[0]
                for r in await conn.fetch(
                    "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY id", clinic
                )
            ]
    return names


OWN = {1: ["Ana", "Bruno"], 2: ["Carla"]}


async def test_a_transaction_opened_outside_the_block_after_the_job(
    conn: GuardedConnection,
) -> None:
    await _job(conn)
    async with conn.transaction():  # the request's, opened before its tenant is known
        got = await _clinic_2_reads(conn)
    # was ([(1, 'Ana'), (1, 'Bruno'), (2, 'Carla')], 'Ana,Bruno,Carla')
    assert got == "refused"
    assert await _own_rows(conn) == OWN
    with tenant(2):  # outside a transaction: reset first, the job's table and setting gone
        assert await conn.fetchval(READS[1]) in ("", None)


async def test_a_begin_sent_outside_the_block_after_the_job(conn: GuardedConnection) -> None:
    await _job(conn)
    await conn.execute("BEGIN")
    got = await _clinic_2_reads(conn)
    await conn.execute("ROLLBACK")
    assert got == "refused"
    assert await _own_rows(conn) == OWN


async def test_the_jobs_transaction_committed_then_another_opened(
    conn: GuardedConnection,
) -> None:
    async with conn.transaction():
        await _job(conn)
    async with conn.transaction():
        got = await _clinic_2_reads(conn)
    assert got == "refused"


async def test_an_unscoped_step_of_the_same_transaction_is_taken_on(
    conn: GuardedConnection,
) -> None:
    """The twin: the request's own unscoped() step in its transaction (h32h's false alarm)."""
    async with conn.transaction():
        with unscoped("the request's lookup"):
            await conn.execute(
                "CREATE TEMP TABLE report ON COMMIT DROP AS"
                " SELECT tenant_id, first_name FROM patients"
                " WHERE tenant_id = 2"
            )
        got = await _clinic_2_reads(conn)
    assert got == ([(2, "Carla")], None)
    assert await _own_rows(conn) == OWN


async def test_a_pool_whose_reset_keeps_the_session(two_clinics: str) -> None:
    """A pool's own `reset=` (one that keeps LISTENs, say) replaces the guarded reset(): the
    job's TEMP table stays for the next lease, whose transaction opens outside any block."""

    async def keep_listening(connection: object) -> None:
        await connection.execute("SELECT pg_advisory_unlock_all(); CLOSE ALL; RESET ALL")  # type: ignore[attr-defined]

    pool = create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1, reset=keep_listening)
    async with pool:
        async with pool.acquire() as connection:
            await _job(connection)
        async with pool.acquire() as connection, connection.transaction():
            got = await _clinic_2_reads(connection)
        assert got == "refused"  # was ([(1, 'Ana'), (1, 'Bruno'), (2, 'Carla')], 'Ana,…')
        async with pool.acquire() as connection:
            assert await _own_rows(connection) == OWN
