"""Round 12: the query object and the tenant value as the application hands them over.

The application code is the attacker: it holds a guarded connection inside clinic A's request
and wants clinic B's rows. Each test runs on the real server and asserts on the rows returned.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import tenant
from tests.runtime.test_runtime_attacks import Setup
from tests.runtime.test_runtime_attacks_round11 import (
    CLINIC_A,
    READ,
    bodies_or_refused,
    files_connection,
    setup,
)

__all__ = ["setup"]

EVERY_ROW = "SELECT body FROM files ORDER BY body"


class PosingQuery(str):
    """SQL text that reads every clinic's rows, and compares and hashes as the pinned READ: a
    cache keyed by the query object finds READ's verdict for it (Python asks the subclass's
    `__eq__` first when it is the right operand)."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return hash(READ)


@pytest.mark.parametrize("cache_size", [0, 100], ids=["no statement cache", "statement cache"])
@pytest.mark.parametrize("method", ["fetch", "fetchrow", "fetchval", "execute"])
async def test_a_str_subclass_posing_as_a_proven_statement_is_refused(
    setup: Setup, method: str, cache_size: int
) -> None:
    """The guard refuses it itself (a TenantIsolationError, on the hot path too) instead of
    counting on what asyncpg does next: with its statement cache on, asyncpg finds READ's
    prepared statement for the posing text and runs READ; without it, it refuses a str
    subclass (a TypeError) — a driver's detail, not the guard's promise."""
    conn = await files_connection(setup, statement_cache_size=cache_size)
    try:
        with tenant(CLINIC_A):
            assert await bodies_or_refused(lambda: conn.fetch(READ, CLINIC_A)) == ["mine"]
            hits = conn.tenantguard.fast_hits
            await conn.fetch(READ, CLINIC_A)  # cached: the hot path decides READ now
            assert conn.tenantguard.fast_hits == hits + 1
            posing = PosingQuery(EVERY_ROW)
            assert posing == READ and hash(posing) == hash(READ)
            call: Any = getattr(conn, method)
            args = () if method == "execute" else (CLINIC_A,)
            for _ in range(2):
                with pytest.raises(TenantIsolationError, match="not SQL text"):
                    await call(posing, *args)
            assert conn.tenantguard.fast_hits == hits + 1  # never admitted as READ
            assert await bodies_or_refused(lambda: conn.fetch(READ, CLINIC_A)) == ["mine"]
    finally:
        await conn.close()


def emptied() -> uuid.UUID:
    value = uuid.UUID(int=CLINIC_A.int)
    object.__delattr__(value, "int")
    return value


def holding(slot: object) -> uuid.UUID:
    value = uuid.UUID(int=CLINIC_A.int)
    object.__setattr__(value, "int", slot)
    return value


BROKEN_UUIDS = {
    "int slot deleted": emptied,
    "int slot a str": lambda: holding(str(CLINIC_A)),
    "int slot negative": lambda: holding(-1),
    "int slot past 128 bits": lambda: holding(CLINIC_A.int + (1 << 128)),
}


@pytest.mark.parametrize("broken", list(BROKEN_UUIDS))
async def test_a_uuid_with_no_value_is_refused_as_such(setup: Setup, broken: str) -> None:
    """A uuid.UUID whose `int` slot holds no 128-bit number has no value: the guard refuses it
    with a TenantIsolationError that says so, on the hot path and off it (not an
    AttributeError from deep inside), and nothing is read."""
    conn = await files_connection(setup)
    make = BROKEN_UUIDS[broken]
    try:
        with tenant(CLINIC_A):
            await conn.fetch(READ, CLINIC_A)
            await conn.fetch(READ, CLINIC_A)  # cached: the hot path decides the next
            for query in (READ, READ, READ + " ", "SELECT $1::uuid"):
                with pytest.raises(TenantIsolationError, match="uuid value"):
                    await conn.fetch(query, make())
            with pytest.raises(TenantIsolationError, match="uuid value"):
                await conn.executemany("DELETE FROM files WHERE tenant_id = $1", [(make(),)])
            assert await bodies_or_refused(lambda: conn.fetch(READ, CLINIC_A)) == ["mine"]
    finally:
        await conn.close()
