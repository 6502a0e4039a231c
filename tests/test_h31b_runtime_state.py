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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tenantguard.runtime import create_pool, tenant
from tests.test_runtime import POLICY

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
                names = [row[0] for row in await connection.fetch("SELECT * FROM all_names()")]
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
        await connection.execute(statement)
        # clinic 1's own request runs as the login role now (RLS contains it no longer)
        assert await connection.fetchval("SELECT current_user") == "postgres"

    user, names = await _second_request(two_clinics, first)
    assert (user, names) == (_ROLE, ["Carla"])


async def test_the_inits_role_stays_for_every_request(two_clinics: str) -> None:
    async def first(connection: Any) -> None:
        async with connection.transaction():
            await connection.execute("SET LOCAL ROLE postgres")  # ends with the transaction
        names = [row[0] for row in await connection.fetch("SELECT * FROM all_names()")]
        assert names == ["Ana", "Bruno"]

    assert await _second_request(two_clinics, first) == (_ROLE, ["Carla"])


async def test_a_request_that_drops_privileges_gives_them_back(two_clinics: str) -> None:
    """Without an `init=` role, a request may contain itself (`SET ROLE` to the RLS role);
    the next request runs as the login role again."""

    async def first(connection: Any) -> None:
        await connection.execute(f"SET ROLE {_ROLE}")
        names = [row[0] for row in await connection.fetch("SELECT * FROM all_names()")]
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
        await connection.execute(statement)

    assert await _second_request(two_clinics, first, init=_become_app) == (_ROLE, ["Carla"])
