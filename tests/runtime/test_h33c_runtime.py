"""Round 33: the runtime guard attacked from outside (helper h33c), on a real server.

1. FIXED: a write made in one clinic's block and awaited in the next clinic's. A write (INSERT,
   UPDATE, DELETE: a serial default, a trigger may advance a sequence) leaves `lastval()` and
   `currval()` in the session; the guard credits that state to the block that made the call
   (round 32, h32b/h32h), but for a write it took as plain it did so only when the call was
   made, never when it ran: clinic 1's INSERT kept, clinic 2's block reset the connection before
   its first statement (clinic 1's state), then the kept INSERT ran — and clinic 2's
   `SELECT lastval()` returned clinic 1's new patient's id, the session taken as clean. A
   pooled connection's kept write ran in the next request's session after the release (its
   lastval too). The write is now told again, as its maker's, when it runs (`_Wrote`), and a
   kept one is refused after the pool's release as other calls that leave state are.

2. FIXED: the copy methods and `reset()` made on a pooled connection and awaited after its
   release ran in the session of the request holding the connection then (executemany,
   fetchmany and prepare were bound to their lease in round 31, these were not): clinic 1's
   `copy_records_to_table` wrote into clinic 2's open transaction (rolled back with it: a
   write reported done and lost), and a kept `reset()` sent its ROLLBACK into clinic 2's
   transaction — clinic 2's first INSERT lost, the rest committed alone. Both are refused there.
   A prepared statement kept past the release was refused by asyncpg, but only after the
   guard's checks, whose reset (clinic 2's session held its own state) wiped clinic 2's
   setting in the middle of its request: asyncpg's check of the lease now comes first.

2b. FIXED: state left outside any block by a statement calling a schema function that reads
   tenant tables where its text does not show it (`SELECT set_config('my.stash', all_names(),
   false)`, a PL/pgSQL `all_names()` over patients) was taken as no block's (round 32, h32h
   credits only statements whose text reads tenant tables): clinic 1's block then read every
   clinic's names. A non-plain statement outside any block that calls a function which is no
   PostgreSQL built-in now counts as one that read tenant tables (reset before a tenant).

3. Routes that held (kept as tests): an int subclass whose `==` lies and a `Decimal` as the pin
   of `copy_records_to_table`, a prepared statement's `fetch` and `fetchmany` (refused, nothing
   written); `copy_from_query` with `$1` in a string and a comment (only the real `$1` is
   placed: clinic 1's rows); a prepared statement kept past the pool's release (asyncpg
   refuses it; clinic 2's request reads its own rows), and so are a Transaction and a cursor
   factory (asyncpg's resources check their lease: no BEGIN reaches clinic 2's session).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import GuardedConnection, connect, create_pool, tenant
from tests.runtime.test_runtime import POLICY
from tests.runtime.test_runtime_inferred_types import owner_rows

INSERT = (
    "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES ($1, $2, $3) RETURNING id"
)
NAMES = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY first_name"
LASTVAL = "SELECT lastval()"
NOTE = "SELECT set_config('my.note', first_name, false) FROM patients WHERE tenant_id = $1"
READ_NOTE = "SELECT current_setting('my.note', true)"
READ_STASH = "SELECT current_setting('my.stash', true)"

Write = Callable[[GuardedConnection, str], Awaitable[Any]]
WRITES: dict[str, Write] = {
    # the hot path once its verdict is cached, the full check the first time
    "fetchval": lambda conn, phone: conn.fetchval(INSERT, 1, "Zed", phone),
    # a literal pin: the full check every time
    "execute": lambda conn, phone: conn.execute(
        f"INSERT INTO patients (tenant_id, first_name, phone_number) VALUES (1, 'Zed', '{phone}')"
    ),
}


async def _lastval(conn: GuardedConnection) -> object:
    """clinic 2's `SELECT lastval()`: None when the session has none (reset) or it is refused."""
    try:
        return await conn.fetchval(LASTVAL)
    except (asyncpg.ObjectNotInPrerequisiteStateError, TenantIsolationError):
        return None


@pytest.mark.parametrize("warm", [False, True], ids=["first sight", "cached verdict"])
@pytest.mark.parametrize("how", sorted(WRITES))
async def test_a_kept_write_of_clinic_1_leaves_no_lastval_to_clinic_2(
    two_clinics: str, how: str, warm: bool
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        if warm:
            with tenant(1):
                await WRITES[how](conn, "118")
            with tenant(2):
                await conn.fetch(NAMES, 2)
        with tenant(1):
            kept = WRITES[how](conn, "119")  # made in clinic 1's block, not awaited yet
        with tenant(2):
            assert [r[0] for r in await conn.fetch(NAMES, 2)] == ["Carla"]  # resets first
            await kept  # runs now, in clinic 2's session
            newest = await owner_rows(two_clinics, "SELECT max(id) FROM patients")
            seen = await _lastval(conn)
            assert seen != newest[0][0]  # was: clinic 1's new patient's id
            assert seen is None
    finally:
        await conn.close()


async def test_a_kept_write_of_clinic_1_in_clinic_2s_transaction_is_refused_after(
    two_clinics: str,
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            kept = conn.fetchval(INSERT, 1, "Zed", "119")
        with tenant(2):
            async with conn.transaction():
                assert await conn.fetchval(NAMES, 2) == "Carla"
                await kept
                with pytest.raises(TenantIsolationError, match="passes from one tenant"):
                    await conn.fetchval(LASTVAL)  # was: clinic 1's new patient's id
    finally:
        await conn.close()


async def test_a_kept_write_is_refused_after_the_pools_release(two_clinics: str) -> None:
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            async with pool.acquire() as held:
                await held.fetchval(INSERT, 1, "Ada", "110")  # the verdict cached: hot path
                kept = held.fetchval(INSERT, 1, "Zed", "119")
        with tenant(2):
            async with pool.acquire() as conn:
                with pytest.raises(TenantIsolationError, match="after the release"):
                    await kept  # was: run in clinic 2's lease, its lastval left there
                assert await _lastval(conn) is None
    finally:
        await pool.close()
    rows = await owner_rows(two_clinics, "SELECT first_name FROM patients WHERE tenant_id = 1")
    assert sorted(r[0] for r in rows) == ["Ada", "Ana", "Bruno"]  # Zed was never written


async def test_a_clinics_own_write_keeps_its_lastval_and_costs_no_reset(two_clinics: str) -> None:
    """The safe twin: a clinic's write awaited in its own block leaves its lastval to it."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            for name, phone in (("Ada", "110"), ("Zed", "119")):  # the second by the hot path
                new_id = await conn.fetchval(INSERT, 1, name, phone)
                assert await conn.fetchval(LASTVAL) == new_id
            kept = conn.fetchval(INSERT, 1, "Eve", "113")
            new_id = await kept
            assert await conn.fetchval(LASTVAL) == new_id
        with tenant(2):
            assert await _lastval(conn) is None  # reset before clinic 2's first statement
            new_id = await conn.fetchval(INSERT, 2, "Dan", "222")
            assert await conn.fetchval(LASTVAL) == new_id
    finally:
        await conn.close()


# --- 2. a copy or a reset() made on a pooled connection and awaited after the release --------

COLUMNS = ["tenant_id", "first_name", "phone_number"]
COPIES: dict[str, Callable[[Any], Awaitable[Any]]] = {
    "copy_records_to_table": lambda conn: conn.copy_records_to_table(
        "patients", records=[(1, "Zed", "119")], columns=COLUMNS
    ),
    "copy_records_to_table, streamed": lambda conn: conn.copy_records_to_table(
        "patients", records=_streamed([(1, "Zed", "119")]), columns=COLUMNS
    ),
}


async def _streamed(rows: list[tuple[object, ...]]) -> Any:
    for row in rows:
        yield row


@pytest.mark.parametrize("how", sorted(COPIES))
async def test_a_kept_copy_is_refused_after_the_pools_release(two_clinics: str, how: str) -> None:
    """A copy into a tenant table, made in clinic 1's lease and awaited (in clinic 1's block:
    a task the request left behind) while clinic 2's request holds the connection in a
    transaction: it wrote into clinic 2's transaction, which rolled it back — clinic 1's write
    reported done and lost (as a kept executemany was, round 31: those are refused)."""
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            async with pool.acquire() as held:
                kept = COPIES[how](held)
        with tenant(2):
            async with pool.acquire() as conn:
                transaction = conn.transaction()
                await transaction.start()
                assert await conn.fetchval(NAMES, 2) == "Carla"
                with tenant(1), pytest.raises(TenantIsolationError, match="after the release"):
                    await kept  # was: COPY 1, inside clinic 2's transaction
                await transaction.rollback()
    finally:
        await pool.close()


async def test_a_copy_awaited_in_its_own_lease_runs(two_clinics: str) -> None:
    """The safe twin: the same copy made and awaited in one lease writes its row."""
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            async with pool.acquire() as held:
                kept = COPIES["copy_records_to_table"](held)
                await held.fetchval(NAMES, 1)
                assert await kept == "COPY 1"
    finally:
        await pool.close()
    rows = await owner_rows(two_clinics, "SELECT first_name FROM patients WHERE tenant_id = 1")
    assert sorted(r[0] for r in rows) == ["Ana", "Bruno", "Zed"]


async def test_a_kept_reset_does_not_end_the_next_requests_transaction(two_clinics: str) -> None:
    """`reset()` made in clinic 1's lease and awaited in clinic 2's transaction: its ROLLBACK
    ended that transaction — clinic 2's first INSERT lost, its second committed alone (the
    transaction's COMMIT passed), as a kept `ROLLBACK` did (round 31, h31b)."""
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            async with pool.acquire() as held:
                kept = held.reset()
        with tenant(2):
            async with pool.acquire() as conn, conn.transaction():
                await conn.fetchval(INSERT, 2, "Dan", "222")
                with pytest.raises(TenantIsolationError, match="after the release"):
                    await kept
                await conn.fetchval(INSERT, 2, "Eve", "223")
            async with pool.acquire() as conn:  # the twin: a reset in its own lease
                await conn.reset()
    finally:
        await pool.close()
    rows = await owner_rows(two_clinics, "SELECT first_name FROM patients WHERE tenant_id = 2")
    assert sorted(r[0] for r in rows) == ["Carla", "Dan", "Eve"]  # was: Carla, Eve


@pytest.mark.parametrize("method", ["fetch", "cursor"])
async def test_a_kept_prepared_statement_leaves_the_next_requests_session_alone(
    two_clinics: str, method: str
) -> None:
    """A statement prepared (and run) in clinic 1's lease, run again after the release: the
    guard's checks ran before asyncpg's, and the reset they ask for (clinic 2's session holds
    its own state) wiped clinic 2's setting in the middle of its request before asyncpg
    refused the statement."""
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            async with pool.acquire() as held:
                statement = await held.prepare(NAMES)
                assert [r[0] for r in await statement.fetch(1)] == ["Ana", "Bruno"]
        with tenant(2):
            async with pool.acquire() as conn:
                await conn.fetchval(NOTE, 2)
                with tenant(1), pytest.raises(asyncpg.InterfaceError, match="released"):
                    if method == "fetch":
                        await statement.fetch(1)
                    else:
                        statement.cursor(1)
                assert await conn.fetchval(READ_NOTE) == "Carla"  # was: '' (reset)
    finally:
        await pool.close()


# --- 2b. state left outside any block by a schema function that reads tenant tables ---------

ALL_NAMES = """CREATE FUNCTION all_names() RETURNS text LANGUAGE plpgsql AS
$$ BEGIN RETURN (SELECT string_agg(first_name, ',' ORDER BY first_name) FROM patients); END $$"""


async def test_a_schema_functions_stash_outside_any_block_is_not_read_by_a_clinic(
    two_clinics: str,
) -> None:
    owner = await asyncpg.connect(two_clinics)  # a migration's function
    try:
        await owner.execute(ALL_NAMES)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        stash = "SELECT set_config('my.stash', all_names(), false)"
        # since h34C the guard sorts the database's functions: all_names() reads every clinic
        with pytest.raises(TenantIsolationError):
            await conn.fetchval(stash)
        conn.tenantguard.mode = "report"  # logged, and run: the state is still no clinic's
        try:
            assert await conn.fetchval(stash) == "Ana,Bruno,Carla"  # outside any block
        finally:
            conn.tenantguard.mode = "enforce"
        with tenant(1):
            # was: 'Ana,Bruno,Carla' — every clinic's names in clinic 1's block
            assert await conn.fetchval(READ_STASH) in ("", None)
    finally:
        await conn.close()


async def test_a_built_in_setting_outside_any_block_stays_for_the_clinics(
    two_clinics: str,
) -> None:
    """The safe twin: a worker's setting made with built-ins alone is no tenant's state."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        await conn.fetchval("SELECT set_config('my.stash', upper('night'), false)")
        for clinic in (1, 2):
            with tenant(clinic):
                assert await conn.fetchval(READ_STASH) == "NIGHT"
    finally:
        await conn.close()


# --- 3. routes that held ------------------------------------------------------------------


class Lying(int):
    """Tenant 2 posing as tenant 1 to any comparison."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = int.__hash__


@pytest.mark.parametrize("value", [Lying(2), Decimal(2)], ids=["int subclass", "Decimal"])
@pytest.mark.parametrize("how", ["copy_records_to_table", "prepared fetch", "fetchmany"])
async def test_a_pin_that_is_no_plain_int_is_refused_on_every_path(
    two_clinics: str, how: str, value: object
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="cannot be compared"):
            if how == "copy_records_to_table":
                await conn.copy_records_to_table(
                    "patients", records=[(value, "Zed", "119")], columns=COLUMNS
                )
            elif how == "prepared fetch":
                statement = await conn.prepare(NAMES)
                await statement.fetch(value)
            else:
                await conn.fetchmany(INSERT, [(1, "Zed", "119"), (value, "Eve", "229")])
    finally:
        await conn.close()
    rows = await owner_rows(two_clinics, "SELECT first_name FROM patients ORDER BY first_name")
    assert [r[0] for r in rows] == ["Ana", "Bruno", "Carla"]  # nothing written


async def test_copy_from_query_places_values_at_the_real_parameters_only(
    two_clinics: str,
) -> None:
    """A `$1` in a string and in a comment stays text: only clinic 1's rows are copied."""
    conn = await connect(two_clinics, policy=POLICY)
    out = io.BytesIO()
    try:
        with tenant(1):
            await conn.copy_from_query(
                "SELECT first_name FROM patients WHERE tenant_id = $1 AND first_name <> '$1' "
                "-- OR $1 = $1\n ORDER BY first_name",
                1,
                output=out,
            )
    finally:
        await conn.close()
    assert out.getvalue().decode().split() == ["Ana", "Bruno"]


async def test_a_kept_prepared_statement_after_the_release_reads_nothing(
    two_clinics: str,
) -> None:
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            async with pool.acquire() as held:
                statement = await held.prepare(NAMES)
        with tenant(2):
            async with pool.acquire() as conn:
                with pytest.raises((asyncpg.InterfaceError, TenantIsolationError)):
                    await statement.fetch(2)  # asyncpg: the connection was released
                assert await conn.fetchval(NAMES, 2) == "Carla"
    finally:
        await pool.close()


@pytest.mark.parametrize("how", ["transaction", "cursor"])
async def test_a_kept_transaction_or_cursor_after_the_release_runs_nothing(
    two_clinics: str, how: str
) -> None:
    """asyncpg's own resources (a Transaction, a CursorFactory) refuse a lease they were not
    made in: clinic 1's kept BEGIN never reaches clinic 2's session."""
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            async with pool.acquire() as held:
                kept = held.transaction() if how == "transaction" else held.cursor(NAMES, 1)
        with tenant(2):
            async with pool.acquire() as conn:
                with pytest.raises((asyncpg.InterfaceError, TenantIsolationError)):
                    if how == "transaction":
                        await kept.start()
                    else:
                        async with conn.transaction():
                            _ = [row async for row in kept]
                assert not conn.is_in_transaction()
                assert await conn.fetchval(NAMES, 2) == "Carla"
    finally:
        await pool.close()
