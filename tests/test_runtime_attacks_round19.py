"""Round 19 (an outside attack on the guard): what the server computes over every tenant's rows,
handed back to a request through a proven statement.

1. `PreparedStatement.explain()`: the plan's row estimates come from the column statistics of
   the whole table, so a request of clinic 1 that guesses a value of clinic 2 learns whether
   (and how often) it is there; EXPLAIN ANALYZE adds how many rows the tenant filter removed.
   The estimate differs on the server; the guard refuses explain() in a request.

Clinic 1 has Ana and Bruno, clinic 2 has Carla.
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard.runtime import TenantIsolationError, tenant, unscoped
from tests.test_runtime_attacks import Setup
from tests.test_runtime_attacks_round3 import guard_only

__all__ = ["guard_only"]

GUESS = "SELECT id FROM patients WHERE tenant_id = $1 AND last_name = $2"
SECRET = "VICTIM-LASTNAME"


async def _skew(setup: Setup) -> None:
    """Clinic 2 gets 300 patients of one last name, clinic 1 300 of names all different, and
    the table's statistics are read."""
    owner = await asyncpg.connect(setup.owner_dsn)
    try:
        await owner.execute(
            "INSERT INTO patients (tenant_id, first_name, last_name, phone_number) "
            "SELECT 1, 'q' || i, 'name-' || i, '+33' || i FROM generate_series(1, 300) i"
        )
        await owner.execute(
            "INSERT INTO patients (tenant_id, first_name, last_name, phone_number) "
            "SELECT 2, 'p' || i, $1, '+34' || i FROM generate_series(1, 300) i",
            SECRET,
        )
        await owner.execute("ANALYZE patients")
    finally:
        await owner.close()


async def _estimates(statement: object) -> dict[str, int]:
    return {
        guess: (await statement.explain(1, guess))[0]["Plan"]["Plan Rows"]  # type: ignore[attr-defined]
        for guess in (SECRET, "nobody-has-this-name")
    }


async def test_explain_in_a_request_is_refused_its_estimates_cover_every_tenant(
    guard_only: Setup,
) -> None:
    await _skew(guard_only)
    conn = await guard_only.connect()
    try:
        # what explain() shows, run where the guard lets it (a maintenance session): clinic 2's
        # last name is estimated at hundreds of rows for a query pinned to clinic 1
        with unscoped("the operator reads a plan"):
            statement = await conn.prepare(GUESS)
            estimates = await _estimates(statement)
        assert estimates[SECRET] > 20 * estimates["nobody-has-this-name"]
        with tenant(1):
            assert await statement.fetch(1, SECRET) == []  # the query itself shows nothing
            for analyze in (False, True):
                with pytest.raises(TenantIsolationError, match="TG006"):
                    await statement.explain(1, SECRET, analyze=analyze)
            prepared_here = await conn.prepare(GUESS)
            with pytest.raises(TenantIsolationError, match="planner estimates"):
                await prepared_here.explain(1, SECRET)
    finally:
        await conn.close()


async def test_explain_of_a_statement_on_no_tenant_table_runs_in_a_request(
    guard_only: Setup,
) -> None:
    conn = await guard_only.connect()
    try:
        with tenant(1):
            statement = await conn.prepare("SELECT name FROM tenants WHERE id = $1")
            plan = await statement.explain(1)
        assert plan[0]["Plan"]["Node Type"]
    finally:
        await conn.close()
