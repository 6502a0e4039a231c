"""Round 31: what a request leaves on a pooled connection for the next (helper h31b), on a real
server.

1. The session's role. A pool whose `init=` drops the login role's privileges (`SET ROLE
   clinic_app`, a role Row-Level Security contains: the login role, a superuser, is never
   contained) serves clinic 1's request, which ran `RESET ROLE` (or `SET ROLE postgres`, `SET
   SESSION AUTHORIZATION postgres`, `set_config('role', 'none', false)`): none of them touches
   a tenant table, and asyncpg's reset (`RESET ALL`) leaves `role` and `session_authorization`
   alone (PostgreSQL exempts them). Clinic 2's next request on that connection ran as
   `postgres`: `SELECT * FROM all_names()` (a function reading patients under RLS, filtered by
   the tenant setting the guard keeps) returned Ana and Bruno, clinic 1's patients, beside
   Carla. The pool's reset now puts back the role and session user the connection had when
   the pool handed it out first (after `init=`): the init's role stays, a request's goes.

2. A call made on a pooled connection before its release and awaited after it (the known open
   route). The guard checks a call's values when it is made; asyncpg's coroutine, kept, runs
   on whatever session the connection serves by then. Clinic 1's request kept `c.execute(
   "ROLLBACK")` (or `"BEGIN"`, or `"ABORT"`), released the connection, and awaited it while
   clinic 2's request held it: clinic 2's `async with c.transaction()` committed without an
   error, but its first INSERT (Dora) was gone — the kept ROLLBACK ended its transaction, the
   rest ran outside it; a kept BEGIN put clinic 2's autocommit INSERT into a transaction the
   pool's reset then rolled back. A call that changes the session or its transaction (what
   the guard does not take as plain, a transaction's BEGIN and end) now runs only on the
   connection's lease it was made in: awaited after the release it is refused (the call never
   reaches the server).
3. The session's random generator. `SELECT setseed(0.42)` touches no tenant table and leaves
   nothing asyncpg's reset undoes (neither RESET ALL nor DISCARD ALL reseeds `random()`).
   Clinic 1's request seeded it; clinic 2's next request on the connection made a token with
   `md5(random()::text)` (as applications make confirmation codes) and stored it in its row:
   clinic 1 computed the same token on a connection of its own (`setseed(0.42)`, then
   `random()`). `setseed()` is refused now outside `unscoped()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import create_pool, tenant, unscoped
from tests.runtime.test_runtime import POLICY

_ROLE = "h31b_clinic_app"
_RLS = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{_ROLE}') THEN
        CREATE ROLE {_ROLE};
    END IF;
END $$;
GRANT USAGE ON SCHEMA public TO {_ROLE};
GRANT ALL ON ALL TABLES IN SCHEMA public TO {_ROLE};
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients FORCE ROW LEVEL SECURITY;
CREATE POLICY clinic ON patients USING (tenant_id = current_setting('app.tenant_id')::bigint);
CREATE FUNCTION all_names() RETURNS SETOF text LANGUAGE sql AS
    'SELECT first_name FROM patients ORDER BY first_name';
"""


async def _rls(dsn: str) -> None:
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute(_RLS)
    finally:
        await owner.close()


async def _all_names(connection: Any) -> list[str]:
    """What `all_names()` (every patient the session's RLS lets it read) returns in the
    request's tenant: a probe of the session's role and setting, not the subject of the tests
    using it. Since h34C the guard sorts the database's functions and refuses a call of one
    reading patients unpinned, as the CLI does (round 34's decision, h34L): the guard sets the
    tenant setting (a read pinned by it, which it accepts), then the function is called past
    the guard on the same session. Not `unscoped()`: it keeps the role but sets the setting to
    '' (measured: `current_setting('app.tenant_id', true)` = '' there, and the RLS policy's
    `''::bigint` fails). No read the guard accepts inside `tenant(1)` can show another clinic's
    rows, which is what the premises of these tests observe."""
    await connection.fetchval(
        "SELECT count(*) FROM patients WHERE tenant_id = current_setting('app.tenant_id')::bigint"
    )
    raw = getattr(connection, "_con", connection)
    return [row[0] for row in await asyncpg.Connection.fetch(raw, "SELECT * FROM all_names()")]


async def _drop_privileges(connection: Any) -> None:
    await connection.execute(f"SET ROLE {_ROLE}")


async def _second_request(
    dsn: str,
    first: Callable[[Any], Awaitable[object]],
    init: Callable[[Any], Awaitable[None]] | None = _drop_privileges,
) -> tuple[str, list[str]]:
    """Clinic 1's request runs `first`; clinic 2's next request on the same connection: who it
    runs as, and the names `all_names()` gives it."""
    await _rls(dsn)
    pool = await create_pool(
        dsn, policy=POLICY, min_size=1, max_size=1, init=init, set_tenant_setting=True
    )
    try:
        async with pool.acquire() as connection:
            with tenant(1):
                await first(connection)
        async with pool.acquire() as connection:
            with tenant(2):
                user = await connection.fetchval("SELECT current_user")
                names = await _all_names(connection)
    finally:
        await pool.close()
    return str(user), names


ROLE_CHANGES = [
    "RESET ROLE",
    "SET ROLE postgres",
    "SET ROLE NONE",
    "SET SESSION ROLE postgres",
    "SET SESSION AUTHORIZATION postgres",
    "SET SESSION AUTHORIZATION DEFAULT",
    "RESET SESSION AUTHORIZATION",
    "SELECT set_config('role', 'none', false)",
    "SELECT set_config('session_authorization', 'postgres', false)",
]


@pytest.mark.parametrize("statement", ROLE_CHANGES)
async def test_a_requests_role_does_not_reach_the_next_request(
    two_clinics: str, statement: str
) -> None:
    async def first(connection: Any) -> None:
        # (a request's own role change is refused since h32d: tests/runtime/test_h32d_open_items.py;
        # maintenance code may make it, and the reset still puts the init's role back)
        with unscoped("a role change the reset must undo"):
            await connection.execute(statement)
            # the connection runs as the login role now (RLS contains it no longer)
            assert await connection.fetchval("SELECT current_user") == "postgres"

    user, names = await _second_request(two_clinics, first)
    assert (user, names) == (_ROLE, ["Carla"])


async def test_the_inits_role_stays_for_every_request(two_clinics: str) -> None:
    async def first(connection: Any) -> None:
        async with connection.transaction():
            with unscoped("a role for one transaction"):  # (refused in a request: h32d)
                await connection.execute("SET LOCAL ROLE postgres")  # ends with the transaction
        names = await _all_names(connection)
        assert names == ["Ana", "Bruno"]

    assert await _second_request(two_clinics, first) == (_ROLE, ["Carla"])


async def test_a_request_that_drops_privileges_gives_them_back(two_clinics: str) -> None:
    """Without an `init=` role, a request may contain itself (`SET ROLE` to the RLS role);
    the next request runs as the login role again."""

    async def first(connection: Any) -> None:
        await connection.execute(f"SET ROLE {_ROLE}")
        names = await _all_names(connection)
        assert names == ["Ana", "Bruno"]

    user, names = await _second_request(two_clinics, first, init=None)
    assert (user, names) == ("postgres", ["Ana", "Bruno", "Carla"])


async def _become_app(connection: Any) -> None:
    await connection.execute(f"SET SESSION AUTHORIZATION {_ROLE}")


@pytest.mark.parametrize("statement", ["SET SESSION AUTHORIZATION postgres", "RESET ROLE"])
async def test_the_inits_session_user_comes_back(two_clinics: str, statement: str) -> None:
    """An `init=` that changes the session user (a superuser login): the reset puts back that
    session user, not the login one."""

    async def first(connection: Any) -> None:
        with unscoped("a session user the reset must undo"):  # (refused in a request: h32d)
            await connection.execute(statement)

    assert await _second_request(two_clinics, first, init=_become_app) == (_ROLE, ["Carla"])


INSERT = "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES ($1, $2, $2)"
CLINIC_TWO = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY first_name"


async def _kept_across_release(
    dsn: str,
    statement: str,
    second: Callable[[Any, Callable[[], Awaitable[None]]], Awaitable[None]],
    many: bool = False,
    prepared: bool = False,
) -> tuple[object, list[str]]:
    """Clinic 1's request makes `statement`'s call (its verdict cached: the hot path) and
    releases the connection; clinic 2's request acquires it and runs `second`, during which
    (at the callback it is given) clinic 1 awaits the kept call. What clinic 1 got, and clinic
    2's patients afterwards."""
    pool = await create_pool(dsn, policy=POLICY, min_size=1, max_size=1)
    acquired, ran = asyncio.Event(), asyncio.Event()
    outcome: list[object] = []

    async def clinic_one() -> None:
        with tenant(1):
            async with pool.acquire() as connection:
                await connection.execute("BEGIN")  # both verdicts cached
                await connection.execute("ROLLBACK")
                if prepared:
                    kept = connection.prepare(statement)
                elif many:
                    kept = connection.executemany(statement, [("on",)])
                else:
                    kept = connection.execute(statement)
            await acquired.wait()
            try:
                done = await kept
                if prepared:  # a statement of clinic 2's lease now, which asyncpg lets run
                    done = await done.fetchval("on")
                outcome.append(done)
            except TenantIsolationError:
                outcome.append("refused")
            ran.set()

    async def in_between() -> None:
        acquired.set()
        await ran.wait()

    async def clinic_two() -> None:
        with tenant(2):
            async with pool.acquire() as connection:
                await second(connection, in_between)

    try:
        await asyncio.gather(clinic_one(), clinic_two())
        with tenant(2):
            names = [row[0] for row in await pool.fetch(CLINIC_TWO, 2)]
    finally:
        await pool.close()
    return outcome[0], names


async def _in_a_transaction(connection: Any, in_between: Callable[[], Awaitable[None]]) -> None:
    async with connection.transaction():
        await connection.execute(INSERT, 2, "Dora")
        await in_between()
        await connection.execute(INSERT, 2, "Eva")


async def _autocommit(connection: Any, in_between: Callable[[], Awaitable[None]]) -> None:
    await in_between()
    await connection.execute(INSERT, 2, "Dora")
    await connection.execute(INSERT, 2, "Eva")


@pytest.mark.parametrize(
    "statement",
    ["ROLLBACK", "ABORT", "BEGIN", "START TRANSACTION", "SET default_transaction_read_only = on"],
)
@pytest.mark.parametrize("second", [_in_a_transaction, _autocommit])
async def test_a_call_kept_past_the_release_does_not_touch_the_next_request(
    two_clinics: str, statement: str, second: Any
) -> None:
    outcome, names = await _kept_across_release(two_clinics, statement, second)
    assert (outcome, names) == ("refused", ["Carla", "Dora", "Eva"])


@pytest.mark.parametrize("second", [_in_a_transaction, _autocommit])
async def test_a_kept_executemany_does_not_touch_the_next_request(
    two_clinics: str, second: Any
) -> None:
    """executemany and fetchmany check their rows when they run: in the awaiting request's
    tenant() (clinic 1's, still), so a kept one passed there, in clinic 2's session."""
    statement = "SELECT set_config('default_transaction_read_only', $1, false)"
    outcome, names = await _kept_across_release(two_clinics, statement, second, many=True)
    assert (outcome, names) == ("refused", ["Carla", "Dora", "Eva"])


@pytest.mark.parametrize("second", [_in_a_transaction, _autocommit])
async def test_a_kept_prepare_does_not_touch_the_next_request(
    two_clinics: str, second: Any
) -> None:
    """A statement prepared by a kept prepare() belongs to the lease it was prepared in (asyncpg
    checks that at each use): clinic 2's."""
    statement = "SELECT set_config('default_transaction_read_only', $1, false)"
    outcome, names = await _kept_across_release(two_clinics, statement, second, prepared=True)
    assert (outcome, names) == ("refused", ["Carla", "Dora", "Eva"])


async def test_executemany_fetchmany_and_prepare_still_run_in_their_lease(two_clinics: str) -> None:
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(2):
            async with pool.acquire() as connection:
                insert = connection.executemany(INSERT, [(2, "Dora"), (2, "Eva")])
                read = connection.fetchmany(CLINIC_TWO, [(2,)])
                statement = connection.prepare(CLINIC_TWO)
                await asyncio.sleep(0)
                await insert
                assert [row[0] for row in await read] == ["Carla", "Dora", "Eva"]
                names = [row[0] for row in await (await statement).fetch(2)]
                assert names == ["Carla", "Dora", "Eva"]
                assert connection.executemany.__name__ == "executemany"
    finally:
        await pool.close()


async def test_a_call_awaited_before_the_release_still_runs(two_clinics: str) -> None:
    """The twin: calls made early and awaited later in the same lease (another task's too)."""
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(2):
            async with pool.acquire() as connection:
                await connection.execute("BEGIN")
                await connection.execute("ROLLBACK")
                begin = connection.execute("BEGIN")
                insert = connection.execute(INSERT, 2, "Dora")
                end = connection.execute("COMMIT")
                await asyncio.sleep(0)
                assert await begin == "BEGIN"
                assert await asyncio.ensure_future(insert) == "INSERT 0 1"
                assert await end == "COMMIT"
            assert [row[0] for row in await pool.fetch(CLINIC_TWO, 2)] == ["Carla", "Dora"]
    finally:
        await pool.close()


TOKEN = "SELECT md5(random()::text)"


@pytest.mark.parametrize("seeding", ["SELECT setseed(0.42)", 'SELECT "setseed" (0.42)',
                                     "SELECT pg_catalog.setseed(0.42)",
                                     "SELECT count(setseed(0.42)) FROM tenants"])  # fmt: skip
async def test_a_requests_seed_does_not_predict_the_next_requests_random(
    two_clinics: str, seeding: str
) -> None:
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            async with pool.acquire() as connection:
                try:
                    await connection.execute(seeding)
                    seeded = "seeded"
                except TenantIsolationError:
                    seeded = "refused"
        with tenant(2):
            async with pool.acquire() as connection:
                token = await connection.fetchval(TOKEN)
        own = await asyncpg.connect(two_clinics)  # clinic 1, anywhere
        try:
            await own.execute("SELECT setseed(0.42)")
            predicted = await own.fetchval(TOKEN)
        finally:
            await own.close()
        assert (seeded, token != predicted) == ("refused", True)
    finally:
        await pool.close()


async def test_random_and_an_unscoped_seed_still_run(two_clinics: str) -> None:
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            assert len(await pool.fetchval(TOKEN)) == 32
        with unscoped("a reproducible sample for the nightly report"):
            await pool.execute("SELECT setseed(0.42)")
            first = await pool.fetchval("SELECT random()")
            await pool.execute("SELECT setseed(0.42)")
            assert await pool.fetchval("SELECT random()") == first
    finally:
        await pool.close()
