"""Round 14: the runtime guard attacked from inside clinic A's request.

The application code holds a guarded connection or pool inside `with tenant(A):` and ends up
with clinic B's rows. Each test runs on the real server, in the `guard` and `guard+rls` setups
(see `tests.runtime.test_runtime_attacks`), and asserts on the rows that come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import create_pool, tenant, unscoped
from tests.runtime.test_runtime_attacks import BY_SETTING, CLINIC_1, PINNED, POLICY, Setup
from tests.runtime.test_runtime_attacks_round3 import guard_only
from tests.runtime.test_runtime_attacks_round4 import CARLA_HISTORY, PINNED_HISTORY
from tests.runtime.test_runtime_attacks_round11 import setup

__all__ = ["guard_only", "setup"]

ALL = "SELECT first_name FROM patients ORDER BY first_name"


async def names_or_refused(conn: Any, sql: str, *args: object) -> list[str]:
    try:
        return [r[0] for r in await conn.fetch(sql, *args)]
    except TenantIsolationError:
        return ["refused"]
    except asyncpg.DataError:  # the setting read as the tenant is empty: no tenant
        return ["no tenant"]


# --- 1. a tenant()/unscoped() object entered twice -------------------------------------------


async def test_an_unscoped_block_entered_again_inside_itself_ends_with_it(setup: Setup) -> None:
    """A module-level `unscoped()` (one object, entered by each helper that needs it) entered
    again inside itself: the inner entry overwrote the outer one's token, the outer exit found
    none and restored nothing, and the request went on unscoped: its unpinned read returned
    clinic 2's Carla."""
    maintenance = unscoped("nightly upkeep")

    def vacuum_helper() -> None:
        with maintenance:  # the helper the maintenance code calls uses it too
            pass

    conn = await setup.connect()
    try:
        with tenant(1):
            with maintenance:
                vacuum_helper()
            assert await names_or_refused(conn, ALL) == ["refused"]
            assert await names_or_refused(conn, PINNED, 1) == CLINIC_1
    finally:
        await conn.close()


async def test_a_tenant_block_entered_again_inside_itself_restores_the_request(
    setup: Setup,
) -> None:
    """Clinic 2's request enters one `tenant(1)` object twice (say a scope kept on a job object
    and entered by two layers): once both exit, the request is clinic 2's again, and a read
    pinned by the setting returns Carla, not clinic 1's patients."""
    conn = await setup.connect()
    try:
        with tenant(2):
            job_scope = tenant(1)

            async def load_job() -> list[str]:
                with job_scope:  # the job's loader enters the job's scope again
                    return [r[0] for r in await conn.fetch(BY_SETTING)]

            with job_scope:
                assert await load_job() == CLINIC_1
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == ["Carla"]
    finally:
        await conn.close()


async def test_one_unscoped_object_shared_by_two_requests_leaves_each_its_own_scope(
    setup: Setup,
) -> None:
    """Two concurrent requests (tasks) share a module-level `unscoped()` object. The second
    entry overwrote the first's token; the first request's exit then reset with the second
    request's token (made in another context), fell back to its old value — clinic 2's scope —
    and clinic 1's request went on as clinic 2; the second request's exit found no token and
    stayed unscoped. Each request must be back in its own tenant."""
    shared = unscoped("admin dashboard")
    conn1 = await setup.connect()
    conn2 = await setup.connect()
    inside = asyncio.Event()
    first_out = asyncio.Event()

    seen: dict[int, list[object]] = {}

    async def request(clinic: int, conn: Any, first: bool) -> None:
        try:
            with tenant(clinic):
                with shared:
                    if first:
                        inside.set()
                        await asyncio.sleep(0)
                        await asyncio.sleep(0)
                    else:
                        await inside.wait()
                if first:
                    first_out.set()
                else:
                    await first_out.wait()
                seen[clinic] = [
                    *await names_or_refused(conn, ALL),
                    "|",
                    *await names_or_refused(conn, BY_SETTING),
                ]
        except RuntimeError:
            seen[clinic].append("out of order")

    try:
        await asyncio.gather(request(1, conn1, True), request(2, conn2, False))
    finally:
        await conn1.close()
        await conn2.close()
    assert seen == {1: ["refused", "|", *CLINIC_1], 2: ["refused", "|", "Carla"]}


# --- 2. a tenant() held across a generator's yield, entered through a helper ----------------


@contextlib.contextmanager
def as_clinic(clinic: int) -> Iterator[None]:
    """A project's own helper around tenant() (a context manager by design)."""
    with tenant(clinic):
        yield


class ClinicScope:
    """A project's own class-based wrapper around tenant()."""

    def __init__(self, clinic: int) -> None:
        self._scope = tenant(clinic)

    def __enter__(self) -> object:
        return self._scope.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._scope.__exit__(*exc)  # type: ignore[arg-type]


def helper_rows() -> Iterator[int]:
    with as_clinic(2):
        yield 1


def stack_rows() -> Iterator[int]:
    with contextlib.ExitStack() as stack:
        stack.enter_context(tenant(2))
        yield 1


def wrapper_rows() -> Iterator[int]:
    with ClinicScope(2):
        yield 1


async def async_helper_rows() -> AsyncIterator[int]:
    with as_clinic(2):
        yield 1


class AsyncClinicScope:
    """A project's own `async with` wrapper around tenant()."""

    def __init__(self, clinic: int) -> None:
        self._scope = tenant(clinic)

    async def __aenter__(self) -> object:
        return self._scope.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self._scope.__exit__(*exc)  # type: ignore[arg-type]


async def async_wrapper_rows() -> AsyncIterator[int]:
    async with AsyncClinicScope(2):
        yield 1


async def async_stack_rows() -> AsyncIterator[int]:
    async with contextlib.AsyncExitStack() as stack:
        stack.enter_context(tenant(2))
        yield 1


@pytest.mark.parametrize(
    "rows",
    [
        helper_rows,
        stack_rows,
        wrapper_rows,
        async_helper_rows,
        async_wrapper_rows,
        async_stack_rows,
    ],
    ids=lambda f: f.__name__,
)
async def test_a_tenant_entered_through_a_helper_and_held_across_a_yield_is_refused(
    setup: Setup, rows: Callable[[], Any]
) -> None:
    """Clinic 1's request iterates a generator that enters clinic 2's scope through a helper
    (the project's context manager around tenant(), an ExitStack, a wrapper class) and yields:
    the loop body ran as clinic 2 and read Carla. Entered directly (`with tenant(2): yield`)
    it was refused; through a helper the generator was not seen."""
    conn = await setup.connect()
    seen: list[str] = []
    try:
        with tenant(1):
            iterated = rows()
            if hasattr(iterated, "__aiter__"):
                async for _ in iterated:
                    seen += await names_or_refused(conn, PINNED, 2)
            else:
                for _ in iterated:
                    seen += await names_or_refused(conn, PINNED, 2)
            seen += await names_or_refused(conn, PINNED, 1)
    finally:
        await conn.close()
    assert seen == ["refused", *CLINIC_1]


async def test_a_helper_context_manager_still_hands_its_scope_to_its_block(setup: Setup) -> None:
    """The twin: the same helpers used as context managers in a request (and in a generator
    that does not yield inside them) scope the block, as tenant() does."""
    conn = await setup.connect()
    seen: list[str] = []

    def loader() -> Iterator[list[str]]:
        with as_clinic(2):
            names = ["x"]
        yield names

    try:
        with as_clinic(2):
            seen += await names_or_refused(conn, PINNED, 2)
        with ClinicScope(2):
            seen += await names_or_refused(conn, PINNED, 2)
        with contextlib.ExitStack() as stack:
            stack.enter_context(tenant(1))
            seen += await names_or_refused(conn, PINNED, 1)
        for _ in loader():
            seen += await names_or_refused(conn, PINNED, 2)  # outside any scope: allowed
    finally:
        await conn.close()
    if setup.name == "guard":
        assert seen == ["Carla", "Carla", *CLINIC_1, "Carla"]
    else:  # no tenant outside tenant(): RLS shows no rows
        assert seen == ["Carla", "Carla", *CLINIC_1]


# --- 3. what a connection keeps of a verdict, past a change of the policy --------------------

EAST, WEST = 16777216, 16777217  # one float4 apart: 2^24, 2^24 + 1
REAL_FIRST = (  # `$1` typed real by its first use, a real column
    "SELECT p.first_name FROM patients p LEFT JOIN measures m ON m.score = $1 "
    "WHERE p.tenant_id = $1"
)


async def test_parameter_types_found_exact_under_another_policy_are_checked_again(
    guard_only: Setup,
) -> None:
    """The connection keeps, per statement, that PostgreSQL typed its pinning parameters
    exactly. Under a policy holding patients global, `$1` pins nothing: the statement
    was kept as exact. Once the policy is corrected (`guard.policy = …`, which clears the
    verdicts), the same text is pinned by `$1` — typed real by its first use — and the kept
    note let it through without looking: West's request read East's Dora."""
    await guard_only.owner(
        "INSERT INTO tenants (id, name) VALUES (16777216, 'East'), (16777217, 'West');"
        "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES "
        "(16777216, 'Dora', '331'), (16777217, 'Eva', '441');"
        "CREATE TABLE measures (score real); INSERT INTO measures VALUES (16777216)"
    )
    conn = await guard_only.connect()
    try:
        guard = conn.tenantguard
        # (patients held global: a table holding the tenant column that a policy does not
        # list is checked as a tenant table (h38V), from the catalog read again at a
        # change of the policy (h39C))
        guard.policy = Policy("tenant_id", {"appointments"}, global_tables={"tenants", "patients"})
        with tenant(WEST):
            before = await names_or_refused(conn, REAL_FIRST, WEST)
            guard.policy = POLICY  # the operator's fix, at run time
            after = await names_or_refused(conn, REAL_FIRST, WEST)
            again = await names_or_refused(conn, REAL_FIRST, WEST)
    finally:
        await conn.close()
    assert before == ["Dora"]  # patients was no tenant table: nothing was checked
    assert after == again == ["refused"]


async def test_a_prepared_statement_typed_under_another_policy_is_checked_again(
    guard_only: Setup,
) -> None:
    """The same through a statement prepared and run before the policy was corrected: it
    kept its own note that its types were exact."""
    await guard_only.owner(
        "INSERT INTO tenants (id, name) VALUES (16777216, 'East'), (16777217, 'West');"
        "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES "
        "(16777216, 'Dora', '331'), (16777217, 'Eva', '441');"
        "CREATE TABLE measures (score real); INSERT INTO measures VALUES (16777216)"
    )
    conn = await guard_only.connect()
    seen: list[str] = []
    try:
        guard = conn.tenantguard
        # (patients held global: a table holding the tenant column that a policy does not
        # list is checked as a tenant table (h38V), from the catalog read again at a
        # change of the policy (h39C))
        guard.policy = Policy("tenant_id", {"appointments"}, global_tables={"tenants", "patients"})
        with tenant(WEST):
            statement = await conn.prepare(REAL_FIRST)
            seen += [r[0] for r in await statement.fetch(WEST)]
            guard.policy = POLICY
            for _ in range(2):
                try:
                    seen += [r[0] for r in await statement.fetch(WEST)]
                except TenantIsolationError:
                    seen.append("refused")
    finally:
        await conn.close()
    assert seen == ["Dora", "refused", "refused"]


# --- 4. what a connection knows of its session, past a time with the guard off ---------------


async def test_the_setting_changed_while_the_guard_was_off_is_not_trusted(setup: Setup) -> None:
    """The guard is turned off for a while (`guard.mode = "off"`, logged) and on again. What a
    connection knew of its session before (the tenant setting holds clinic 1) was kept, though
    statements it never looked at ran meanwhile: one set the setting to clinic 2, and clinic
    1's next read pinned by the setting returned Carla."""
    conn = await setup.connect()
    try:
        guard = conn.tenantguard
        with tenant(1):
            assert await names_or_refused(conn, BY_SETTING) == CLINIC_1
        guard.mode = "off"
        await conn.execute("SELECT set_config('app.tenant_id', '2', false)")
        guard.mode = "enforce"
        with tenant(1):
            first = await names_or_refused(conn, BY_SETTING)
            second = await names_or_refused(conn, BY_SETTING)
    finally:
        await conn.close()
    assert first == second == CLINIC_1


async def test_a_call_made_while_the_guard_was_off_and_awaited_after_is_not_trusted(
    setup: Setup,
) -> None:
    """The twin in time: the call that changes the setting is made while the guard is off and
    awaited once it is on again and has set the setting for clinic 1 (its knowledge is new):
    what the call changes is forgotten when it runs."""
    conn = await setup.connect()
    try:
        guard = conn.tenantguard
        guard.mode = "off"
        later = conn.execute("SELECT set_config('app.tenant_id', '2', false)")
        guard.mode = "enforce"
        with tenant(1):
            first = await names_or_refused(conn, BY_SETTING)
            await later
            second = await names_or_refused(conn, BY_SETTING)
    finally:
        await conn.close()
    assert first == second == CLINIC_1


async def test_the_lexer_changed_while_the_guard_was_off_is_read_again(setup: Setup) -> None:
    """The same for the session's lexer: standard_conforming_strings turned off while the guard
    was off; back on, a statement whose string ends elsewhere for the server is refused, not
    proven as the guard reads it."""
    conn = await setup.connect()
    # one string, then another, for the guard; for a server that reads `\'` as a quote, one
    # string, then `OR true` and a comment
    sneaky = (
        "SELECT first_name FROM patients WHERE tenant_id = $1 AND first_name <> 'a\\' "
        "AND first_name <> ' OR true --' ORDER BY first_name"
    )
    try:
        with tenant(1):
            assert await names_or_refused(conn, PINNED, 1) == CLINIC_1
        conn.tenantguard.mode = "off"
        await conn.execute("SET standard_conforming_strings = off")
        conn.tenantguard.mode = "enforce"
        with tenant(1):
            seen = await names_or_refused(conn, sneaky, 1)
            seen += await names_or_refused(conn, PINNED, 1)
    finally:
        await conn.close()
    assert "Carla" not in seen


# --- 5. an unscoped() held across a generator's yield trusts its consumer with the connection --


def export_rows() -> Iterator[int]:
    """A maintenance generator that yields inside its unscoped() block."""
    with unscoped("nightly export"):
        yield 1


async def test_an_unscoped_held_across_a_yield_does_not_trust_the_consumer_with_codecs(
    setup: Setup,
) -> None:
    """Statements made under an unscoped() held across a generator's yield are refused (the
    consumer did not ask for it), but codecs and hooks were trusted on the scope alone: clinic
    1's request, looping over such a generator, set a jsonb decoder that stays on the pooled
    connection, and the next request, clinic 2's, decoded Carla's medical history through it."""
    await setup.owner(
        f"UPDATE patients SET medical_history = '{CARLA_HISTORY}' WHERE tenant_id = 2"
    )
    stolen: list[str] = []

    def steal(text: str) -> object:
        stolen.append(text)
        return json.loads(text)

    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **setup.options)
    try:
        async with pool.acquire() as conn:
            with tenant(1):  # the attacker's request
                for _ in export_rows():
                    with contextlib.suppress(TenantIsolationError):
                        await conn.set_type_codec(
                            "jsonb", encoder=json.dumps, decoder=steal, schema="pg_catalog"
                        )
        async with pool.acquire() as conn:
            with tenant(2):  # the next request, for clinic 2, unaware
                await conn.fetch(PINNED_HISTORY, 2)
    finally:
        await pool.close()
    assert CARLA_HISTORY not in stolen


async def test_an_unscoped_held_across_a_yield_does_not_trust_the_consumer_with_hooks(
    setup: Setup,
) -> None:
    """The same for a query logger, which stays on the connection and sees every later
    request's statements and values."""
    seen: list[object] = []
    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **setup.options)
    try:
        async with pool.acquire() as conn:
            with tenant(1):
                for _ in export_rows():
                    with contextlib.suppress(TenantIsolationError):
                        conn.add_query_logger(lambda record: seen.append(record.args))
        async with pool.acquire() as conn:
            with tenant(2):
                await conn.fetch(PINNED, 2)
        await asyncio.sleep(0)
    finally:
        await pool.close()
    assert (2,) not in seen


async def test_unscoped_code_still_sets_codecs_and_hooks(setup: Setup) -> None:
    """The twin: inside unscoped() itself (and in the generator's own code) codecs and hooks
    are the application's configuration, trusted."""
    seen: list[object] = []
    decoded: list[str] = []

    async def configure_rows(conn: Any) -> AsyncIterator[None]:
        with unscoped("configure"):
            conn.add_query_logger(lambda record: seen.append(record.args))
            await conn.set_type_codec(
                "jsonb", encoder=json.dumps, decoder=decoded.append, schema="pg_catalog"
            )
            yield

    conn = await setup.connect()
    try:
        with tenant(1):
            async for _ in configure_rows(conn):  # set by the generator's own code: trusted
                pass
            await conn.fetch(PINNED_HISTORY, 1)
        await asyncio.sleep(0)
    finally:
        await conn.close()
    assert (1,) in seen
