"""Round 32: helper h32h attacks the runtime's tenant-switch reset (6494be4) and h32d's role,
trigger and catalog changes, on a real server.

1. State left by statements outside any tenant() block (`_tg_owner` None: "a worker's SET at
   start-up") that read tenant tables: outside any block, `SELECT set_config('my.stash',
   (SELECT string_agg(first_name, ',') FROM patients WHERE tenant_id = 1), false)` (pinned by
   its literal, admitted) and then clinic 2's `current_setting('my.stash')` returned
   'Ana,Bruno'; an INSERT of clinic 1's made outside any block, then clinic 2's `lastval()`
   returned its id. FIXED: such state is `_OUTSIDE_OWNER`'s, reset before any tenant's first
   statement; a start-up SET reading no tenant table stays (owner None).
2. A call kept (created in one block, awaited later): clinic 1's `fetchval(STASH, 1)` made in
   its block, clinic 2's block then ran (reset first), the kept call awaited afterwards set
   the stash and clinic 2's next read returned 'Ana,Bruno': the state was marked as the
   awaiting block's. FIXED: the plan carries the owner decided at the call (`_Forget.owner`),
   and state of two blocks is no one's (reset before any tenant's next statement).
   NOT FIXED (strict xfail): clinic 2's read made while the connection is clean and awaited
   after clinic 1's stash ran: the switch is decided at the call, and the hot path returns
   asyncpg's own coroutine (no hook when it is awaited).
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant, unscoped
from tests.test_h32b_runtime import INSERT, NAMES, READ_STASH, STASH
from tests.test_runtime import POLICY

STASH_1 = (
    "SELECT set_config('my.stash', (SELECT string_agg(first_name, ',' ORDER BY first_name) "
    "FROM patients WHERE tenant_id = 1), false)"
)


async def test_outside_any_block_a_pinned_stash_is_not_read_by_a_clinic(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        assert await conn.fetchval(STASH_1) == "Ana,Bruno"  # outside any block: admitted
        with tenant(2):
            assert await conn.fetchval(READ_STASH) in ("", None)  # was: 'Ana,Bruno'
            assert [r[0] for r in await conn.fetch(NAMES, 2)] == ["Carla"]
    finally:
        await conn.close()


async def test_outside_any_block_state_in_a_transaction_refuses_the_clinic(
    two_clinics: str,
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        async with conn.transaction():
            assert await conn.fetchval(STASH_1) == "Ana,Bruno"
            with tenant(2), pytest.raises(TenantIsolationError) as refused:
                await conn.fetchval(READ_STASH)
            assert "no tenant() block's" in refused.value.args[0]
    finally:
        await conn.close()


@pytest.mark.parametrize("fast", [False, True])
async def test_outside_any_block_an_insert_lastval_is_not_read_by_a_clinic(
    two_clinics: str, fast: bool
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        if fast:  # the INSERT's verdict cached: the hot path makes the call
            await conn.fetchval(INSERT, 1, "Eva", "114")
            await conn.reset()
            hits = conn.tenantguard.fast_hits
        new_id = await conn.fetchval(INSERT, 1, "Dora", "113")
        if fast:
            assert conn.tenantguard.fast_hits == hits + 1
        assert await conn.fetchval("SELECT lastval()") == new_id
        with tenant(2), pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
            await conn.fetchval("SELECT lastval()")  # was: clinic 1's new patient's id
    finally:
        await conn.close()


async def test_a_start_up_setting_outside_any_block_stays_for_the_clinics(
    two_clinics: str,
) -> None:
    """The safe twin: a worker's SET reading no tenant table, outside any block, is no
    tenant's state: the clinics' reads find it (no reset between them)."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        await conn.execute("SET statement_timeout = '7s'")
        for clinic in (1, 2):
            with tenant(clinic):
                assert await conn.fetchval("SHOW statement_timeout") == "7s"
    finally:
        await conn.close()


@pytest.mark.parametrize("where", ["outside", "in clinic 2"])
async def test_a_kept_call_of_clinic_1_awaited_after_clinic_2_began(
    two_clinics: str, where: str
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            kept = conn.fetchval(STASH, 1)  # called in clinic 1's block, not awaited yet
        with tenant(2):
            assert await conn.fetchval(NAMES, 2) == "Carla"
            if where == "in clinic 2":
                assert await kept == "Ana,Bruno"
        if where == "outside":
            assert await kept == "Ana,Bruno"
        with tenant(2):
            assert await conn.fetchval(READ_STASH) in ("", None)  # was: 'Ana,Bruno'
    finally:
        await conn.close()


async def test_clinic_1_state_made_with_the_guard_off_is_reset_after_unscoped(
    two_clinics: str,
) -> None:
    """State of two blocks (an unscoped() job's TEMP table, then clinic 1's statements made
    with the guard off) is no one's: clinic 1's next statement with the guard on resets."""
    conn = await connect(two_clinics, policy=POLICY)
    guard = conn.tenantguard
    try:
        with unscoped("a report over every clinic"):
            await conn.execute("CREATE TEMP TABLE stash AS SELECT first_name FROM patients")
        guard.mode = "off"
        try:
            with tenant(1):
                await conn.execute("SELECT set_config('my.other', 'x', false)")
        finally:
            guard.mode = "enforce"
        with tenant(1), pytest.raises(asyncpg.UndefinedTableError):
            await conn.fetch("SELECT first_name FROM stash")  # was: Ana, Bruno and Carla
    finally:
        await conn.close()


@pytest.mark.xfail(
    strict=True,
    reason="h32h: a call's tenant switch is decided when it is made; a read made while the "
    "connection is clean and awaited after another clinic's state was left is not reset",
)
async def test_a_read_of_clinic_2_made_before_clinic_1_stashes(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(2):
            kept = conn.fetchval(READ_STASH)
        with tenant(1):
            assert await conn.fetchval(STASH, 1) == "Ana,Bruno"
        assert await kept in ("", None)  # leaks 'Ana,Bruno'
    finally:
        await conn.close()


async def test_a_statement_prepared_in_clinic_1_run_in_clinic_2(two_clinics: str) -> None:
    """Held: the prepared statement's run in clinic 2's block resets first."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            assert await conn.fetchval(STASH, 1) == "Ana,Bruno"
            read = await conn.prepare(READ_STASH)
        with tenant(2):
            assert await read.fetchval() in ("", None)
    finally:
        await conn.close()
