"""Round 17: the tenant column renamed by position — a column list `d(tid, n)`, a CTE's `c(tid,
n)`, a set operation whose first branch names it for every branch — pinned outside, on the
runtime guard and the server: what is let through is the request's tenant's rows only. Clinic 1
has Ana and Bruno, clinic 2 has Carla."""

from __future__ import annotations

import asyncpg
import pytest

from tests.runtime.test_runtime_attacks import CLINIC_1, POLICY, Setup
from tests.runtime.test_runtime_attacks_round3 import guard_only
from tests.runtime.test_runtime_attacks_round16 import fetched_as_clinic_1 as fetched

__all__ = ["guard_only"]

# the policy of the schema files: patients.tenant_id is a bigint (patches/0001), which a set
# operation's branches must all output for a filter on it to be pushed into them
TYPED = POLICY.replace(tenant_column_types={"patients": "int8"})


async def fetched_as_clinic_1(setup: Setup, sql: str, *args: object) -> list[str]:
    return await fetched(setup, sql, *args, policy=TYPED)


BOTH = sorted(CLINIC_1 * 2)
RENAMED = [
    (
        "SELECT d.n FROM (SELECT tenant_id, first_name FROM patients) d(tid, n) "
        "WHERE d.tid = $1 ORDER BY 1",
        CLINIC_1,
    ),
    (
        "WITH c(tid, n) AS (SELECT tenant_id, first_name FROM patients) "
        "SELECT n FROM c WHERE tid = $1 ORDER BY 1",
        CLINIC_1,
    ),
    (
        "SELECT d.n FROM (SELECT tenant_id AS t, first_name AS n FROM patients UNION ALL "
        "SELECT tenant_id, first_name FROM patients) d WHERE d.t = $1 ORDER BY 1",
        BOTH,
    ),
    (
        "SELECT d.n FROM (SELECT tenant_id, first_name FROM patients UNION ALL "
        "SELECT tenant_id, first_name FROM patients) d(tid, n) WHERE d.tid = $1 ORDER BY 1",
        BOTH,
    ),
]
# the name on another column where the tenant column is not: the pin is on ids, or on names
NOT_THE_TENANT = [
    "SELECT d.n FROM (SELECT id, first_name FROM patients) d(tid, n) WHERE d.tid = $1",
    "SELECT d.n FROM (SELECT tenant_id AS t, first_name AS n FROM patients UNION ALL "
    "SELECT id, first_name FROM patients) d WHERE d.t = $1",
    "SELECT d.n FROM (SELECT tenant_id, first_name FROM patients) d(tid, n) "
    "WHERE d.n = $1::text OR d.tid = $1",
]


@pytest.mark.parametrize(("sql", "expected"), RENAMED)
async def test_a_tenant_column_renamed_by_position_returns_the_tenants_rows_only(
    guard_only: Setup, sql: str, expected: list[str]
) -> None:
    assert sorted(await fetched_as_clinic_1(guard_only, sql, 1)) == expected
    assert await fetched_as_clinic_1(guard_only, sql, 2) == ["refused"]


@pytest.mark.parametrize("sql", NOT_THE_TENANT)
async def test_another_column_under_the_name_is_refused(guard_only: Setup, sql: str) -> None:
    assert await fetched_as_clinic_1(guard_only, sql, 1) == ["refused"]


async def test_a_union_is_pinned_with_the_types_the_catalog_gives(guard_only: Setup) -> None:
    """A filter on a union's output reaches its branches only when they are of the output's
    very type: a policy without the schema's types refused it until round 32, when the guard
    came to read the tenant column's types from the catalog (h32d): pinned, clinic 1's rows."""
    rows = await fetched(guard_only, RENAMED[2][0], 1, policy=POLICY)
    assert rows == ["Ana", "Ana", "Bruno", "Bruno"]


# An outside attack: a qualified aggregate with FILTER or WITHIN GROUP hid the subquery in it from
# the proof (sqlglot read the call as a column's name), and the guard let every tenant's names out.
HIDDEN = [
    "SELECT pg_catalog.string_agg((SELECT string_agg(first_name, ',' ORDER BY first_name) "
    "FROM patients), ',') FILTER (WHERE true) FROM (VALUES (1)) v(a)",
    "SELECT pg_catalog.mode() WITHIN GROUP (ORDER BY (SELECT string_agg(first_name, ',' "
    "ORDER BY first_name) FROM patients)) FROM (VALUES (1)) v(a)",
]


@pytest.mark.parametrize("sql", HIDDEN)
async def test_a_read_inside_a_qualified_aggregate_is_seen(guard_only: Setup, sql: str) -> None:
    raw = await asyncpg.connect(guard_only.owner_dsn)
    try:
        assert await raw.fetchval(sql) == "Ana,Bruno,Carla"  # what it would hand out
    finally:
        await raw.close()
    assert await fetched_as_clinic_1(guard_only, sql) == ["refused"]
