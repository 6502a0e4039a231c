"""Round 10: an outsider's attack on the runtime guard, the application code as the attacker.

A request for clinic 1 holds a guarded connection or pool and wants clinic 2's rows (Carla), to
change them, or to switch what the guard relies on. Each test runs on the real server and asserts
on the rows returned, or read afterwards through an unguarded owner connection. Each was a
failing test before its fix (a strict xfail while a hole stays open).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.engine.analyze import analyze_statement
from tenantguard.runtime import Guard, connect, tenant
from tests.runtime import test_runtime_attacks as round2
from tests.runtime import test_runtime_plain_trust as plain_trust
from tests.runtime.test_runtime_attacks import Setup

setup = round2.setup  # parametrized over "guard" and "guard+rls"
__all__ = ["setup"]


async def owner_value(setup: Setup, sql: str) -> Any:
    raw = await asyncpg.connect(setup.owner_dsn)
    try:
        return await raw.fetchval(sql)
    finally:
        await raw.close()


async def rows_or_refused(call: Callable[[], Awaitable[list[Any]]]) -> list[str]:
    """The first column of the rows a guarded call returns; none when the guard refuses it
    (when it is made or when it runs)."""
    with contextlib.suppress(TenantIsolationError):
        return [r[0] for r in await call()]
    return []


# --- 1. `@`: a parameter to the proof's parser, the absolute value to PostgreSQL ---------------

# "AuditLog" has no row-level security in the guard+rls setup: the guard alone protects it
AT_SIGN_READS = {
    "@column": ('SELECT note FROM "AuditLog" WHERE tenant_id = @tenant_id ORDER BY note', ()),
    "@number": (
        'SELECT note FROM "AuditLog" WHERE tenant_id = @2 '
        "AND $1::bigint IS NOT NULL AND $2::bigint IS NOT NULL",
        (1, 1),
    ),
    "@ spaced": (
        'SELECT note FROM "AuditLog" WHERE tenant_id = @ 2 AND $1::bigint = $2::bigint',
        (1, 1),
    ),
}


@pytest.mark.parametrize("attack", list(AT_SIGN_READS))
async def test_an_at_sign_is_the_absolute_value_not_a_parameter(setup: Setup, attack: str) -> None:
    """sqlglot's PostgreSQL tokenizer reads `@` as a parameter marker, as `$`: `tenant_id =
    @tenant_id` was pinned by a parameter named tenant_id (no value to check: it passed, a
    clinic-1 request read every clinic), `tenant_id = @2` by `$2`, whose value (1) was checked.
    PostgreSQL reads `@` as the absolute-value operator: abs(tenant_id), abs(2)."""
    sql, args = AT_SIGN_READS[attack]
    conn = await setup.connect()
    try:
        with tenant(1):
            notes = await rows_or_refused(lambda: conn.fetch(sql, *args))
    finally:
        await conn.close()
    assert "south audit" not in notes


async def test_an_at_sign_deletes_no_other_clinics_rows(setup: Setup) -> None:
    conn = await setup.connect()
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            await conn.execute(
                'DELETE FROM "AuditLog" WHERE tenant_id = @2 AND $1::bigint = $2::bigint', 1, 1
            )
    finally:
        await conn.close()
    assert await owner_value(setup, """SELECT count(*) FROM "AuditLog" WHERE tenant_id = 2""") == 1


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT first_name FROM patients WHERE tenant_id = @tenant_id",
        "SELECT first_name FROM patients WHERE tenant_id = @2 AND $2 = $1",
        "SELECT first_name FROM patients WHERE tenant_id = $1 AND @ score > 1",
    ],
)
def test_the_proof_refuses_an_at_sign_it_would_read_as_a_parameter(sql: str) -> None:
    verdict = analyze_statement(sql, round2.POLICY)
    assert not verdict.parsed
    assert any(f.code == "TG006" and "`@`" in f.message for f in verdict.findings)


def test_operators_spelled_with_an_at_sign_still_parse() -> None:
    sql = (
        "SELECT first_name FROM patients WHERE tenant_id = $1 AND tags @> ARRAY['a'] "
        "AND ARRAY['a'] <@ tags AND doc @@ to_tsquery('a') AND payload @? '$.a'"
    )
    verdict = analyze_statement(sql, round2.POLICY)
    assert verdict.parsed
    assert not [f for f in verdict.findings if f.severity.name == "ERROR"]


async def test_a_pin_by_parameter_zero_is_refused_not_checked_against_the_last_value(
    setup: Setup,
) -> None:
    """`$0` was taken as the parameter at index -1: the hot path checked no value and the full
    check compared the last argument. PostgreSQL refuses `$0`; the guard refuses it first."""
    guard = Guard(round2.POLICY)
    verdict = guard.verdict("SELECT first_name FROM patients WHERE tenant_id = $0")
    assert verdict.errors and "does not bind" in verdict.errors[0].message
    conn = await setup.connect()
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="does not bind"):
            await conn.fetch('SELECT note FROM "AuditLog" WHERE tenant_id = $0', 1)
    finally:
        await conn.close()


# --- 2. a call made earlier and awaited later, after the guard set the setting again ---------

SWITCH_CLINIC = plain_trust.switching("public.switch_clinic", "", "integer", "1") + (
    "GRANT EXECUTE ON FUNCTION public.switch_clinic() TO PUBLIC"
)


async def test_a_kept_call_that_may_change_the_setting_is_forgotten_when_it_runs(
    setup: Setup,
) -> None:
    """A statement that may change the setting (it calls a schema function: not plain) made the
    guard forget the setting's value when the call was made, not when it ran. The request kept
    the coroutine, let the guard set the setting to 1 again, then awaited it: the function set
    clinic 2, and the guard went on trusting its 1 for every pin by the setting."""
    await setup.owner(SWITCH_CLINIC)
    conn = await setup.connect()
    try:
        with tenant(1):
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
            switch = conn.fetchval("SELECT public.switch_clinic()")  # the setting holds 1
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
            await switch
            names = await rows_or_refused(lambda: conn.fetch(round2.BY_SETTING))
    finally:
        await conn.close()
    assert names == round2.CLINIC_1


async def test_a_kept_rollback_is_forgotten_when_it_runs(setup: Setup) -> None:
    """The same with ROLLBACK, kept while the guard set the setting inside the transaction
    again: once awaited it restored clinic 2's value, left by a clinic-2 request on the
    connection, and the guard still believed its 1."""
    conn = await setup.connect()
    try:
        with tenant(2):
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == ["Carla"]
        with tenant(1):
            await conn.execute("BEGIN")
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
            rollback = conn.execute("ROLLBACK")
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
            await rollback
            names = await rows_or_refused(lambda: conn.fetch(round2.BY_SETTING))
    finally:
        await conn.close()
    assert names == round2.CLINIC_1


async def test_a_rollback_kept_before_the_setting_was_set_in_its_transaction_is_forgotten(
    setup: Setup,
) -> None:
    """Whether a ROLLBACK reverts a value the guard set was decided when the call was made:
    made before the guard set the setting inside the transaction, it was taken as reverting
    nothing; awaited after, it restored clinic 2's value and the guard kept believing its 1."""
    conn = await setup.connect()
    try:
        with tenant(2):
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == ["Carla"]
        with tenant(1):
            await conn.execute("BEGIN")
            rollback = conn.execute("ROLLBACK")  # nothing set in the transaction yet
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
            await rollback
            names = await rows_or_refused(lambda: conn.fetch(round2.BY_SETTING))
    finally:
        await conn.close()
    assert names == round2.CLINIC_1


# --- 3. a uuid.UUID changed after the check, before asyncpg encodes it ------------------------

CLINIC_A = uuid.UUID("11111111-1111-4111-8111-111111111111")
CLINIC_B = uuid.UUID("22222222-2222-4222-8222-222222222222")
UUID_CLINICS = f"""
CREATE TABLE IF NOT EXISTS docs (tenant_id uuid NOT NULL, body text);
INSERT INTO docs VALUES ('{CLINIC_A}', 'mine'), ('{CLINIC_B}', 'theirs');
GRANT SELECT, INSERT, UPDATE, DELETE ON docs TO PUBLIC;
"""
UUID_POLICY = Policy("tenant_id", {"docs"})
DOCS = "SELECT body FROM docs WHERE tenant_id = $1"


def changed_later(value: uuid.UUID) -> uuid.UUID:
    """`value`, which becomes clinic B once `turn()` is called (a uuid.UUID is immutable by
    convention only: its `int` slot can be set with object.__setattr__)."""
    return uuid.UUID(int=value.int)


def turn(value: uuid.UUID) -> None:
    object.__setattr__(value, "int", CLINIC_B.int)


async def uuid_connection(setup: Setup) -> Any:
    await setup.owner(UUID_CLINICS)
    return await connect(setup.dsn, policy=UUID_POLICY, **setup.options)


@pytest.mark.parametrize("method", ["fetch", "fetchrow", "fetchval", "execute", "cursor"])
async def test_a_uuid_changed_between_the_check_and_the_send_reads_no_other_clinic(
    setup: Setup, method: str
) -> None:
    """The guarded `fetch` checks its values when it is called and returns asyncpg's
    coroutine, which encodes them when it is awaited. A uuid.UUID that was clinic A's at the
    check was turned into clinic B's before the await: asyncpg sent clinic B's id."""
    conn = await uuid_connection(setup)
    bodies: list[str] = []
    try:
        with tenant(CLINIC_A):
            # the same statements once, as they are: then the hot path decides them
            await conn.fetch(DOCS, CLINIC_A)
            await conn.execute("DELETE FROM docs WHERE tenant_id = $1", CLINIC_A)
            value = changed_later(CLINIC_A)
            with contextlib.suppress(TenantIsolationError):
                if method == "execute":
                    call = conn.execute("DELETE FROM docs WHERE tenant_id = $1", value)
                    turn(value)
                    await call
                elif method == "cursor":
                    async with conn.transaction():
                        cursor = conn.cursor(DOCS, value)
                        turn(value)
                        bodies = [r[0] async for r in cursor]
                else:
                    call = getattr(conn, method)(DOCS, value)
                    turn(value)
                    result = await call
                    rows = result if isinstance(result, list) else [result]
                    bodies = [r if isinstance(r, str) else r[0] for r in rows if r is not None]
    finally:
        await conn.close()
    assert "theirs" not in bodies
    assert await owner_value(setup, "SELECT count(*) FROM docs WHERE body = 'theirs'") == 1


async def test_a_uuid_changed_while_the_setting_is_set_reads_no_other_clinic(setup: Setup) -> None:
    """executemany and a prepared statement check their values, then await (the setting's
    round trip), then send: another task turned the value meanwhile."""
    conn = await uuid_connection(setup)
    stolen: list[str] = []
    try:
        with tenant(CLINIC_A):
            statement = await conn.prepare(DOCS)
            for run in ("prepared", "executemany"):
                await conn.execute("SELECT 1")
                value = changed_later(CLINIC_A)
                # a statement that is not plain: the next call sets the setting first
                await conn.fetchval("SELECT pg_advisory_unlock_all()")
                turner = asyncio.get_running_loop().call_soon(turn, value)
                with contextlib.suppress(TenantIsolationError):
                    if run == "prepared":
                        stolen += [r[0] for r in await statement.fetch(value)]
                    else:
                        await conn.executemany("DELETE FROM docs WHERE tenant_id = $1", [(value,)])
                turner.cancel()
    finally:
        await conn.close()
    assert "theirs" not in stolen
    assert await owner_value(setup, "SELECT count(*) FROM docs WHERE body = 'theirs'") == 1
