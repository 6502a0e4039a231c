"""Round 11: uuid-keyed applications, the application code as the attacker.

A request for clinic A (`tenant(uuid.UUID(...))`) on a table whose tenant column is `uuid`
holds a guarded connection and wants clinic B's rows, or to change them. Each test runs on the
real server and asserts on the rows returned, or read afterwards through an unguarded owner
connection. Each was a failing test before its fix (a strict xfail while a hole stays open).
"""

from __future__ import annotations

import contextlib
import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from asyncpg.pgproto.pgproto import UUID as PgUUID

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, tenant
from tests.runtime import test_runtime_attacks as round2
from tests.runtime.test_runtime_attacks import Setup

CLINIC_A = uuid.UUID("aaaaaaaa-1111-4111-8111-111111111111")
CLINIC_B = uuid.UUID("bbbbbbbb-2222-4222-8222-222222222222")
# the guard alone protects this table in both setups (no row-level security on it)
FILES = f"""
CREATE TABLE files (tenant_id uuid NOT NULL, body text NOT NULL);
INSERT INTO files VALUES ('{CLINIC_A}', 'mine'), ('{CLINIC_B}', 'theirs');
GRANT SELECT, INSERT, UPDATE, DELETE ON files TO PUBLIC;
"""
POLICY = Policy("tenant_id", {"files"})
READ = "SELECT body FROM files WHERE tenant_id = $1 ORDER BY body"

setup = round2.setup_with(FILES)  # parametrized over "guard" and "guard+rls"
__all__ = ["setup"]


async def files_connection(setup: Setup, **options: Any) -> Any:
    """A guarded connection under POLICY (`files`, in the setup's database)."""
    return await connect(setup.dsn, policy=POLICY, **{**setup.options, **options})


async def owner_bodies(setup: Setup, where: str = "true") -> list[str]:
    """Every row's body, read through the unguarded owner connection."""
    raw = await asyncpg.connect(setup.owner_dsn)
    try:
        return [r[0] for r in await raw.fetch(f"SELECT body FROM files WHERE {where} ORDER BY 1")]
    finally:
        await raw.close()


async def bodies_or_refused(call: Callable[[], Awaitable[Any]]) -> list[str]:
    """The bodies a guarded call returns (a list of records, a record or a value); none when
    the guard refuses it."""
    with contextlib.suppress(TenantIsolationError):
        result = await call()
        rows = result if isinstance(result, list) else [result]
        return [r if isinstance(r, str) else r[0] for r in rows if r is not None]
    return []


# --- 1. the hot path freezes a uuid.UUID: changed after the check, it still sends clinic A ----


def changed_later(value: uuid.UUID) -> uuid.UUID:
    """A copy of `value`, which `turn()` makes clinic B's (a uuid.UUID is immutable by
    convention only: its `int` slot can be set with object.__setattr__)."""
    return uuid.UUID(int=value.int)


def turn(value: uuid.UUID) -> None:
    object.__setattr__(value, "int", CLINIC_B.int)


@pytest.mark.parametrize("method", ["fetch", "fetchrow", "fetchval", "cursor"])
async def test_the_hot_path_sends_the_uuid_it_checked(setup: Setup, method: str) -> None:
    """A cached statement with a uuid.UUID tenant argument is decided by the hot path (counted
    in `fast_hits`): the value is frozen into asyncpg's own UUID there, so turning the
    uuid.UUID into clinic B's between the call and its await still reads clinic A's rows."""
    conn = await files_connection(setup)
    guard = conn.tenantguard
    try:
        with tenant(CLINIC_A):
            await conn.fetch(READ, CLINIC_A)  # proven once: then the hot path decides it
            value = changed_later(CLINIC_A)
            before = guard.fast_hits
            if method == "cursor":
                async with conn.transaction():
                    cursor = conn.cursor(READ, value)
                    took_hot_path = guard.fast_hits - before
                    turn(value)
                    bodies = [r[0] async for r in cursor]
            else:
                call = getattr(conn, method)(READ, value)
                took_hot_path = guard.fast_hits - before
                turn(value)
                bodies = await bodies_or_refused(lambda: call)
    finally:
        await conn.close()
    assert took_hot_path == 1
    assert value == CLINIC_B  # the turn happened
    assert bodies == ["mine"]


class Body(asyncpg.Record):
    pass


async def test_the_hot_path_passes_asyncpgs_options_on(setup: Setup) -> None:
    """The guarded methods are one function over asyncpg's (`_guarded`), its keyword options
    passed on as given: on the hot path too, with the uuid frozen (turned after the call, the
    rows are still clinic A's)."""
    conn = await files_connection(setup)
    guard = conn.tenantguard
    query = "SELECT tenant_id, body FROM files WHERE tenant_id = $1 ORDER BY body"
    calls: list[tuple[str, dict[str, Any]]] = [
        ("fetch", {"timeout": 5.0, "record_class": Body}),
        ("fetchrow", {"timeout": 5.0, "record_class": Body}),
        ("fetchval", {"column": 1, "timeout": 5.0}),
        ("cursor", {"prefetch": 1, "record_class": Body}),
    ]
    seen = []
    try:
        with tenant(CLINIC_A):
            await conn.fetch(query, CLINIC_A)  # proven once: then the hot path decides it
            for method, options in calls:
                value = changed_later(CLINIC_A)
                before = guard.fast_hits
                if method == "cursor":
                    async with conn.transaction():
                        cursor = conn.cursor(query, value, **options)
                        took = guard.fast_hits - before
                        turn(value)
                        rows = [r async for r in cursor]
                else:
                    call = getattr(conn, method)(query, value, **options)
                    took = guard.fast_hits - before
                    turn(value)
                    result = await call
                    rows = result if isinstance(result, list) else [result]
                seen.append((method, took, [r if isinstance(r, str) else type(r) for r in rows]))
                if method != "fetchval":
                    assert [(str(r[0]), r[1]) for r in rows] == [(str(CLINIC_A), "mine")]
    finally:
        await conn.close()
    assert seen == [
        ("fetch", 1, [Body]),
        ("fetchrow", 1, [Body]),
        ("fetchval", 1, ["mine"]),  # column=1: the body
        ("cursor", 1, [Body]),
    ]


def test_the_guarded_methods_keep_asyncpgs_signatures() -> None:
    from tenantguard.runtime.connection import GuardedConnection

    for name in ("execute", "fetch", "fetchval", "fetchrow", "cursor"):
        guarded, own = getattr(GuardedConnection, name), getattr(asyncpg.Connection, name)
        assert inspect.signature(guarded) == inspect.signature(own), name
        assert guarded.__doc__ == own.__doc__, name


async def test_the_hot_path_deletes_only_the_checked_clinics_rows(setup: Setup) -> None:
    conn = await files_connection(setup)
    guard = conn.tenantguard
    delete = "DELETE FROM files WHERE tenant_id = $1"
    try:
        with tenant(CLINIC_A):
            await conn.execute(delete, CLINIC_A)  # proven once (deletes nothing of B's)
            await setup.owner(f"INSERT INTO files VALUES ('{CLINIC_A}', 'mine again')")
            value = changed_later(CLINIC_A)
            before = guard.fast_hits
            call = conn.execute(delete, value)
            took_hot_path = guard.fast_hits - before
            turn(value)
            await call
    finally:
        await conn.close()
    assert took_hot_path == 1
    assert await owner_bodies(setup) == ["theirs"]


async def test_the_hot_path_with_the_tenant_setting_sends_the_checked_uuid(setup: Setup) -> None:
    """The plan that sets the tenant setting first carries the frozen arguments too: the
    value is turned while the setting's round trip runs."""
    conn = await files_connection(setup, set_tenant_setting=True)
    guard = conn.tenantguard
    try:
        with tenant(CLINIC_A):
            await conn.fetch(READ, CLINIC_A)
        await conn.execute("SELECT 1")  # outside tenant(): the setting is cleared
        with tenant(CLINIC_A):
            value = changed_later(CLINIC_A)
            before, syncs = guard.fast_hits, guard.setting_syncs
            call = conn.fetch(READ, value)
            took_hot_path = guard.fast_hits - before
            turn(value)
            bodies = await bodies_or_refused(lambda: call)
            synced = guard.setting_syncs - syncs
    finally:
        await conn.close()
    assert took_hot_path == 1
    assert synced == 1  # the setting's round trip ran between the check and the send
    assert bodies == ["mine"]


async def test_the_hot_path_refuses_another_clinics_uuid(setup: Setup) -> None:
    """The comparison the hot path makes: clinic B's uuid (as uuid.UUID or asyncpg's UUID)
    goes to the full check, which refuses it."""
    conn = await files_connection(setup)
    try:
        with tenant(CLINIC_A):
            assert await bodies_or_refused(lambda: conn.fetch(READ, CLINIC_A)) == ["mine"]
            for other in (CLINIC_B, PgUUID(CLINIC_B.bytes)):
                assert await bodies_or_refused(lambda o=other: conn.fetch(READ, o)) == []
            same = PgUUID(CLINIC_A.bytes)
            assert await bodies_or_refused(lambda: conn.fetch(READ, same)) == ["mine"]
    finally:
        await conn.close()


# --- 2. uuid-keyed use: other spellings, types and paths of clinic B's id ------------------------


class UUIDSubclass(uuid.UUID):
    """A uuid.UUID subclass whose text says clinic A while its value is clinic B's."""

    def __str__(self) -> str:
        return str(CLINIC_A)


class HasBytes:
    """What asyncpg's uuid encoder reads from anything that is not a str or its own UUID."""

    bytes = CLINIC_B.bytes


# PostgreSQL's uuid input (and asyncpg's, for a str bound to a uuid parameter) reads all of
# these as clinic B: the guard compares exact text, so none equals clinic A's key
OTHER_SPELLINGS: dict[str, object] = {
    "upper case": str(CLINIC_B).upper(),
    "braces": "{" + str(CLINIC_B) + "}",
    "urn": CLINIC_B.urn,
    "no dashes": CLINIC_B.hex,
    "bytes": CLINIC_B.bytes,
    "subclass": UUIDSubclass(int=CLINIC_B.int),
    "asyncpg UUID of a str": PgUUID(str(CLINIC_B)),
    "object with .bytes": HasBytes(),
}
READS = {
    "untyped": READ,
    "::uuid": "SELECT body FROM files WHERE tenant_id = $1::uuid ORDER BY body",
    "column as text": "SELECT body FROM files WHERE tenant_id::text = $1 ORDER BY body",
    "any array": "SELECT body FROM files WHERE tenant_id = ANY($1::uuid[]) ORDER BY body",
}


@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize("spelling", list(OTHER_SPELLINGS))
async def test_another_spelling_of_another_clinics_uuid_reads_nothing(
    setup: Setup, spelling: str, read: str
) -> None:
    conn = await files_connection(setup)
    value = OTHER_SPELLINGS[spelling]
    mine: object = str(CLINIC_A) if read == "column as text" else CLINIC_A
    if read == "any array":
        value, mine = [value], [mine]
    bodies: list[str] = []
    try:
        with tenant(CLINIC_A):
            # seen once (then cached: the hot path decides what it can)
            await bodies_or_refused(lambda: conn.fetch(READS[read], mine))
            # asyncpg refusing to encode a value (DataError) sends nothing either
            with contextlib.suppress(asyncpg.DataError):
                bodies = await bodies_or_refused(lambda: conn.fetch(READS[read], value))
    finally:
        await conn.close()
    assert "theirs" not in bodies


async def test_executemany_mixing_clinics_changes_nothing(setup: Setup) -> None:
    conn = await files_connection(setup)
    try:
        with tenant(CLINIC_A):
            for rows in (
                [(CLINIC_A, "pwned"), (CLINIC_B, "pwned")],
                [(CLINIC_A, "pwned"), (str(CLINIC_B).upper(), "pwned")],
                [(CLINIC_A, "pwned"), (PgUUID(str(CLINIC_B)), "pwned")],
            ):
                with contextlib.suppress(TenantIsolationError):
                    await conn.executemany("UPDATE files SET body = $2 WHERE tenant_id = $1", rows)
    finally:
        await conn.close()
    assert await owner_bodies(setup) == ["mine", "theirs"]


@pytest.mark.parametrize(
    "records",
    [
        [(CLINIC_A, "copied"), (CLINIC_B, "copied")],
        [(str(CLINIC_B), "copied")],
        [(CLINIC_B.hex, "copied")],
        [(CLINIC_B.bytes, "copied")],
        [(HasBytes(), "copied")],
        [(UUIDSubclass(int=CLINIC_B.int), "copied")],
    ],
    ids=["mixed", "str", "hex", "bytes", "has-bytes", "subclass"],
)
async def test_copy_records_of_another_clinic_writes_nothing(
    setup: Setup, records: list[tuple[object, str]]
) -> None:
    conn = await files_connection(setup)
    try:
        with tenant(CLINIC_A), contextlib.suppress(TenantIsolationError):
            await conn.copy_records_to_table(
                "files", records=records, columns=["tenant_id", "body"]
            )
    finally:
        await conn.close()
    assert await owner_bodies(setup) == ["mine", "theirs"]


async def test_a_statement_prepared_for_one_clinic_reads_only_the_current_one(
    setup: Setup,
) -> None:
    """Prepared inside tenant(B) (or unscoped), run inside tenant(A): the values are checked
    against the tenant of the block where it runs, cursors included."""
    conn = await files_connection(setup)
    stolen: list[str] = []
    try:
        with tenant(CLINIC_B):
            statement = await conn.prepare(READ)
            assert [r[0] for r in await statement.fetch(CLINIC_B)] == ["theirs"]
        with tenant(CLINIC_A):
            stolen += await bodies_or_refused(lambda: statement.fetch(CLINIC_B))
            stolen += await bodies_or_refused(lambda: statement.fetch(str(CLINIC_B).upper()))
            with contextlib.suppress(TenantIsolationError):
                async with conn.transaction():
                    stolen += [r[0] async for r in statement.cursor(CLINIC_B)]
            mine = await bodies_or_refused(lambda: statement.fetch(CLINIC_A))
    finally:
        await conn.close()
    assert stolen == []
    assert mine == ["mine"]
