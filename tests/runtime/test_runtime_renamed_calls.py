"""A schema function named like one of sqlglot's own (`"Now"()`, `"Upper"(1)`) is parsed as
that built-in, name dropped: the guard must refuse the call, not pass a read of every tenant's
rows (round 5). Asserts on the rows that come back: none of clinic 2's."""

from __future__ import annotations

import contextlib

import pytest

from tenantguard import TenantIsolationError
from tenantguard.engine.policy import sql_name
from tenantguard.runtime import connect, tenant
from tests.runtime import test_runtime_attacks as round2
from tests.runtime.test_runtime_attacks import POLICY, Setup

setup = round2.setup  # parametrized over "guard" and "guard+rls"
__all__ = ["setup"]

FUNCTIONS = """
CREATE FUNCTION "Now"() RETURNS SETOF patients STABLE LANGUAGE sql
    AS $$ SELECT * FROM patients $$;
CREATE FUNCTION "Upper"(bigint) RETURNS SETOF patients STABLE LANGUAGE sql
    AS $$ SELECT * FROM patients $$;
"""
POLICY_WITH_FUNCTIONS = POLICY.replace(
    tenant_tables={*map(sql_name, POLICY.tenant_tables), '"Now"', '"Upper"'},
    functions={'"Now"', '"Upper"'},
)


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT first_name FROM "Now"()',
        'SELECT first_name FROM "Upper"(1)',
        "SELECT (SELECT string_agg(first_name, ',') FROM \"Now\"() n)",
    ],
)
async def test_a_call_parsed_as_a_built_in_is_refused(setup: Setup, sql: str) -> None:
    await setup.owner(FUNCTIONS)
    conn = await connect(setup.dsn, policy=POLICY_WITH_FUNCTIONS, **setup.options)
    rows: list[str] = []
    pinned: list[object] = []
    refused = False
    try:
        with tenant(1):
            try:
                rows = [str(r[0]) for r in await conn.fetch(sql)]
            except TenantIsolationError:
                refused = True
            with contextlib.suppress(TenantIsolationError):
                pinned = await conn.fetch("SELECT first_name FROM patients WHERE tenant_id = $1", 1)
    finally:
        await conn.close()
    assert refused, rows
    assert not rows
    assert pinned  # the guarded connection still serves the tenant's own rows
    # unguarded, the same call hands out clinic 2's rows: the refusal is what stops them
    every = await setup.names('SELECT first_name FROM "Now"() ORDER BY 1')
    assert "Carla" in every


SWITCHING = """
CREATE OR REPLACE FUNCTION "Now"() RETURNS timestamptz VOLATILE LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.tenant_id', '2', false);
    RETURN now();
END $$;
CREATE OR REPLACE FUNCTION nvl(bigint, bigint) RETURNS bigint VOLATILE LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.tenant_id', '2', false);
    RETURN coalesce($1, $2);
END $$;
"""


@pytest.mark.parametrize(
    "call",
    ['SELECT "Now"()', 'SELECT "Now"/* built-in? */()', "SELECT nvl(NULL::bigint, 1::bigint)"],
)
async def test_a_call_parsed_as_a_built_in_does_not_leave_the_session_trusted(
    setup: Setup, call: str
) -> None:
    """sqlglot reads `"Now"()` as now(), a built-in that leaves no state, and `nvl(…)` (which
    PostgreSQL does not have) as coalesce(): but each is the schema's function, which switches
    the tenant setting. The guard, not knowing it (a policy
    without the schema's functions), must not take the call as plain: the next statement
    pinned by the setting sees the request's tenant, and the pool resets the session."""
    await setup.owner(SWITCHING)
    conn = await connect(setup.dsn, policy=POLICY, **setup.options)
    try:
        with tenant(1):
            await conn.fetchval(call)
            names = [r[0] for r in await conn.fetch(round2.BY_SETTING)]
    finally:
        await conn.close()
    assert names == round2.CLINIC_1
