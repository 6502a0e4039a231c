"""Round 26: the runtime guard attacked by an outsider (helper h26b), on a real server.

1. A call checked in one scope and run in another. The guarded `fetch`/`execute`/`cursor`…
   check the statement and its values when the call is made (synchronously: the hot path
   hands back asyncpg's own coroutine), but the types PostgreSQL infers for the pinning
   parameters are only known once asyncpg has prepared the statement, when the call runs —
   and that check was skipped where no tenant() was current *then*. A call made inside
   `tenant(WEST)` (its value checked: WEST) and awaited after the block — a coroutine kept
   and awaited by the caller, a task started on it from outside the request, a cursor
   iterated after the block — ran with `$1` typed `real`: tenant 16777217 was sent as
   16777216.0 and read (or changed) clinic EAST's rows. Refused now: outside `unscoped()`,
   an inexact pinning parameter is refused when the call runs, whatever scope made it;
   `prepare()` outside tenant() still prepares (its statement's types are checked at each
   run, in the scope that runs it).

Each test asserts on the rows that come back, or that changed (read through an unguarded
connection). The schema and the clinics are `test_runtime_inferred_types`'s: Eva is clinic
WEST's (16777217), Dora clinic EAST's (16777216); `measures.score` is a `real`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tenantguard import TenantIsolationError
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.runtime import GuardedConnection, connect, tenant, unscoped
from tests.conftest import BASELINE, CLINICS, fresh_database
from tests.test_runtime_inferred_types import (
    EAST,
    JOIN_REAL,
    POLICY,
    TABLES,
    WEST,
    owner_rows,
)

PINNED = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY id"
# `$1` is typed by its first use, `m.score = $1`: a real, everywhere in the statement
UPDATE_REAL = (
    "UPDATE patients p SET phone_number = 'X' || p.phone_number FROM measures m "
    "WHERE m.score = $1 AND p.tenant_id = $1"
)


@pytest.fixture
async def dsn(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(
        postgres, BASELINE.read_text(encoding="utf-8") + CLINICS + TABLES
    ) as dsn:
        yield dsn


def _names(result: Any) -> list[str]:
    if result is None:
        return []
    if isinstance(result, str):
        return [result]
    return sorted(str(row[0]) for row in (result if isinstance(result, list) else [result]))


async def _run_outside(made: Callable[[], Awaitable[Any]]) -> list[str]:
    """`made` is called inside the request of clinic WEST, and what it returns awaited after
    the block; a refused call returns no rows."""
    with tenant(WEST):
        pending = made()
    try:
        return _names(await pending)
    except TenantIsolationError:
        return []


CALLS: dict[str, Callable[[GuardedConnection], Awaitable[Any]]] = {
    "fetch": lambda c: c.fetch(JOIN_REAL, WEST),
    "fetchrow": lambda c: c.fetchrow(JOIN_REAL, WEST),
    "fetchval": lambda c: c.fetchval(JOIN_REAL, WEST),
}


@pytest.mark.parametrize("seen_before", [False, True], ids=["first call", "hot path"])
@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_call_made_in_the_request_and_awaited_after_it_reads_no_other_clinic(
    dsn: str, call: str, seen_before: bool
) -> None:
    conn = await connect(dsn, policy=POLICY)
    try:
        if seen_before:  # the verdict cached: the next call takes the hot path
            with tenant(WEST), pytest.raises(TenantIsolationError, match="typed it real"):
                await CALLS[call](conn)
        read = await _run_outside(lambda: CALLS[call](conn))
    finally:
        await conn.close()
    assert "Dora" not in read  # clinic EAST's patient


async def test_a_task_started_outside_the_request_on_its_call_reads_no_other_clinic(
    dsn: str,
) -> None:
    conn = await connect(dsn, policy=POLICY)
    try:
        with tenant(WEST):
            pending = conn.fetch(JOIN_REAL, WEST)
        # a worker outside any request runs what requests hand it
        task = contextvars.Context().run(asyncio.ensure_future, pending)
        try:
            read = _names(await task)
        except TenantIsolationError:
            read = []
    finally:
        await conn.close()
    assert "Dora" not in read


async def test_a_cursor_made_in_the_request_and_iterated_after_it_reads_no_other_clinic(
    dsn: str,
) -> None:
    conn = await connect(dsn, policy=POLICY)
    read: list[str] = []
    try:
        async with conn.transaction():
            with tenant(WEST):
                cursor = conn.cursor(JOIN_REAL, WEST)
            with contextlib.suppress(TenantIsolationError):
                read = [str(row[0]) async for row in cursor]
    finally:
        await conn.close()
    assert "Dora" not in read


async def test_a_write_made_in_the_request_and_awaited_after_it_changes_no_other_clinic(
    dsn: str,
) -> None:
    conn = await connect(dsn, policy=POLICY)
    try:
        with tenant(WEST):
            pending = conn.execute(UPDATE_REAL, WEST)
        with contextlib.suppress(TenantIsolationError):
            await pending
    finally:
        await conn.close()
    rows = await owner_rows(dsn, f"SELECT phone_number FROM patients WHERE tenant_id = {EAST}")
    assert rows == [("331",)]  # Dora's phone number, unchanged


async def test_calls_awaited_after_their_block_still_run_when_their_types_are_exact(
    dsn: str,
) -> None:
    """The legitimate twins: an exactly typed statement made in the request runs wherever it
    is awaited; an inexact one runs inside unscoped(), and prepare() outside tenant() still
    prepares (each run of its statement is checked in the scope that runs it)."""
    conn = await connect(dsn, policy=POLICY)
    try:
        assert await _run_outside(lambda: conn.fetch(PINNED, WEST)) == ["Eva"]
        with unscoped("a report across clinics"):
            assert _names(await conn.fetch(JOIN_REAL, WEST)) == ["Dora"]
        statement = await conn.prepare(JOIN_REAL)
        with tenant(WEST), pytest.raises(TenantIsolationError, match="typed it real"):
            await statement.fetch(WEST)
        with unscoped("a report across clinics"):
            assert _names(await statement.fetch(WEST)) == ["Dora"]
    finally:
        await conn.close()
