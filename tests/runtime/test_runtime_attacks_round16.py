"""Round 16: spellings of the pin the proof learned this round, on the runtime guard and the
server: what they let through is exactly the request's tenant's rows. Clinic 1 has Ana and
Bruno, clinic 2 has Carla."""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import Policy
from tenantguard.runtime import connect, tenant
from tests.runtime.test_runtime_attacks import CLINIC_1, Setup
from tests.runtime.test_runtime_attacks_round3 import guard_only
from tests.runtime.test_runtime_attacks_round15 import names_or_refused

__all__ = ["guard_only"]


async def fetched_as_clinic_1(
    setup: Setup, sql: str, *args: object, policy: Policy | None = None
) -> list[str]:
    """What a guarded connection fetches for clinic 1's request: the first column, or
    `refused` (under `policy` when given, else the setup's)."""
    conn = await (setup.connect() if policy is None else connect(setup.dsn, policy=policy))
    try:
        with tenant(1):
            return await names_or_refused(lambda: conn.fetch(sql, *args))
    finally:
        await conn.close()


NOT_DISTINCT = (
    "SELECT first_name FROM patients WHERE NOT (tenant_id IS DISTINCT FROM $1) ORDER BY first_name"
)


@pytest.mark.parametrize(
    ("bound", "expected"),
    [(1, CLINIC_1), (2, ["refused"]), (None, ["refused"])],
)
async def test_not_is_distinct_from_pins_to_the_bound_tenant_only(
    guard_only: Setup, bound: object, expected: list[str]
) -> None:
    """`NOT (tenant_id IS DISTINCT FROM $1)` is proven (`IS NOT DISTINCT FROM`), so it runs
    with clinic 1's id and returns clinic 1's rows; bound to clinic 2, to NULL (the rows of no
    tenant), it is refused before it reaches the server."""
    got = await fetched_as_clinic_1(guard_only, NOT_DISTINCT, bound)
    assert got == expected


# A CTE nothing names is neither planned nor run: the guard lets it through, and the server
# shows it never ran (a division by zero for every row it would read, a setting it would set).
UNREAD = [
    "WITH x AS (SELECT 1 / (id * 0) FROM patients) SELECT 'ran'",
    "WITH x AS MATERIALIZED (SELECT 1 / (id * 0) FROM patients) SELECT 'ran'",
    "WITH x AS (SELECT 1 / (id * 0) FROM patients), y AS (SELECT first_name FROM patients "
    "WHERE tenant_id = $1) SELECT first_name FROM y ORDER BY 1",
    # round 17: named only from inside CTEs that never run, or by its own body
    "WITH x AS (SELECT 1 / (id * 0) AS a FROM patients), y AS (SELECT * FROM x) SELECT 'ran'",
    "WITH x AS MATERIALIZED (SELECT 1 / (id * 0) AS a FROM patients), "
    "y AS MATERIALIZED (SELECT * FROM x), z AS (SELECT * FROM y) SELECT 'ran'",
    "WITH x AS (SELECT 1 / (id * 0) AS a FROM patients) "
    "SELECT * FROM (WITH y AS (SELECT * FROM x) SELECT 'ran') s",
    "WITH RECURSIVE x AS (SELECT 1 / (id * 0) AS a FROM patients "
    "UNION ALL SELECT a FROM x WHERE a < 0) SELECT 'ran'",
]


@pytest.mark.parametrize("sql", UNREAD)
async def test_a_cte_nothing_reads_is_let_through_and_never_runs(
    guard_only: Setup, sql: str
) -> None:
    args = (1,) if "$1" in sql else ()
    got = await fetched_as_clinic_1(guard_only, sql, *args)
    assert got == (CLINIC_1 if args else ["ran"])


@pytest.mark.parametrize(
    "sql",
    [
        # named by a subquery, by a CTE that runs (read, or changing data), or a CTE that
        # changes data (it runs unread)
        "WITH x AS (SELECT first_name FROM patients) SELECT (SELECT max(first_name) FROM x)",
        "WITH x AS (SELECT first_name FROM patients), y AS (SELECT * FROM x) "
        "SELECT max(first_name) FROM y",
        "WITH x AS (SELECT first_name FROM patients), y AS (INSERT INTO patients (tenant_id, "
        "first_name) SELECT 1, first_name FROM x RETURNING 1) SELECT 'ran'",
        "WITH x AS (DELETE FROM patients WHERE tenant_id = 2 RETURNING *) SELECT 'ran'",
    ],
)
async def test_a_cte_something_reads_or_that_changes_data_is_still_proven(
    guard_only: Setup, sql: str
) -> None:
    got = await fetched_as_clinic_1(guard_only, sql)
    assert got == ["refused"]
    assert await guard_only.names() == ["Ana", "Bruno", "Carla"]


# `= (SELECT p.tenant_id FROM p WHERE p.tenant_id = $1 …)` is $1 (or NULL): proven, and checked by
# its value like any pin. Twins: the subquery's source unpinned (Carla's tenant), null-safe.
BY_SUBQUERY = (
    "SELECT first_name FROM patients WHERE tenant_id = (SELECT p.tenant_id FROM patients p "
    "WHERE p.tenant_id = $1 ORDER BY p.id LIMIT 1) ORDER BY first_name"
)


BY_ANY = (
    "SELECT first_name FROM patients WHERE tenant_id = ANY (SELECT p.tenant_id FROM patients p "
    "WHERE p.tenant_id = $1) ORDER BY first_name"
)


@pytest.mark.parametrize("sql", [BY_SUBQUERY, BY_ANY])
@pytest.mark.parametrize(("bound", "expected"), [(1, CLINIC_1), (2, ["refused"])])
async def test_a_scalar_subquery_of_a_pinned_tenant_column_pins_to_its_value(
    guard_only: Setup, sql: str, bound: int, expected: list[str]
) -> None:
    got = await fetched_as_clinic_1(guard_only, sql, bound)
    assert got == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT first_name FROM patients WHERE tenant_id = (SELECT p.tenant_id FROM patients p "
        "WHERE p.first_name = 'Carla')",
        "SELECT first_name FROM patients WHERE tenant_id IS NOT DISTINCT FROM (SELECT p.tenant_id "
        "FROM patients p WHERE p.tenant_id = $1 AND p.id < 0)",
        # no row: ALL is TRUE for every row, Carla's too
        "SELECT first_name FROM patients WHERE tenant_id = ALL (SELECT p.tenant_id "
        "FROM patients p WHERE p.tenant_id = $1 AND p.id < 0)",
    ],
)
async def test_a_scalar_subquery_that_is_not_pinned_is_refused(guard_only: Setup, sql: str) -> None:
    args = (1,) if "$1" in sql else ()
    got = await fetched_as_clinic_1(guard_only, sql, *args)
    assert got == ["refused"]


# A derived table's tenant column under another name (`tenant_id AS tid`), pinned outside: the pin
# is pushed into its body. Twin: another column under that name (the pin is on ids, not tenants).
RENAMED = (
    "SELECT d.first_name FROM (SELECT tenant_id AS tid, first_name FROM patients) d "
    "WHERE d.tid = $1 ORDER BY 1"
)
RENAMED_ID = (
    "SELECT d.first_name FROM (SELECT id AS tid, first_name FROM patients) d "
    "WHERE d.tid = $1 ORDER BY 1"
)


@pytest.mark.parametrize(
    ("sql", "bound", "expected"),
    [(RENAMED, 1, CLINIC_1), (RENAMED, 2, ["refused"]), (RENAMED_ID, 1, ["refused"])],
)
async def test_a_renamed_tenant_column_pinned_outside_returns_the_tenants_rows_only(
    guard_only: Setup, sql: str, bound: int, expected: list[str]
) -> None:
    got = await fetched_as_clinic_1(guard_only, sql, bound)
    assert got == expected


# Found by an outside attack on this round's refinements: each returned or changed clinic 2's rows
# on the server before the fix. The guard refuses them; nothing changed.
ATTACKS = [
    "SELECT first_name FROM patients a WHERE NOT (a.tenant_id <> ANY (SELECT p.tenant_id "
    "FROM patients p WHERE p.tenant_id = $1 AND p.id < 0))",
    "SELECT d.first_name FROM (SELECT p.tenant_id AS tid, p.first_name, (SELECT $1::bigint AS "
    "tenant_id) FROM patients p) d WHERE d.tenant_id = $1",
    "SELECT x.first_name FROM (SELECT tenant_id AS tid, first_name FROM patients) x, patients b "
    "WHERE b.tenant_id = $1 AND x.tid IN (SELECT tenant_id FROM (SELECT (g.tenant_id) "
    "FROM generate_series(1, 2) g(tenant_id)) d)",
    "UPDATE patients a SET first_name = 'pwned' WHERE a.tenant_id IN (SELECT tenant_id FROM "
    "(SELECT * FROM patients WHERE tenant_id = $1) b NATURAL RIGHT JOIN (SELECT (g.tenant_id) "
    "FROM generate_series(1, 2) g(tenant_id)) d) RETURNING first_name",
]


@pytest.mark.parametrize("sql", ATTACKS)
async def test_the_attacks_on_this_rounds_refinements_are_refused(
    guard_only: Setup, sql: str
) -> None:
    got = await fetched_as_clinic_1(guard_only, sql, 1)
    assert got == ["refused"]
    assert await guard_only.names() == ["Ana", "Bruno", "Carla"]


# A CTE read twice is materialized: its body runs over every tenant's rows before either pin, and
# an error on another tenant's row tells that the row exists (the guard let it through when each
# read was pinned). Twin: NOT MATERIALIZED folds it into each read, after the pin.
BOOM = (
    "WITH x AS {how} (SELECT tenant_id, first_name, 1 / (tenant_id - 2) AS boom FROM patients) "
    "SELECT first_name FROM x WHERE tenant_id = $1 UNION ALL "
    "SELECT first_name FROM x WHERE tenant_id = $1"
)


async def test_a_cte_read_twice_runs_over_every_tenants_rows_and_is_refused(
    guard_only: Setup,
) -> None:
    raw = await asyncpg.connect(guard_only.owner_dsn)
    try:
        with pytest.raises(asyncpg.DivisionByZeroError):  # clinic 2's row, read before the pin
            await raw.fetch(BOOM.format(how=""), 1)
        unfolded = await raw.fetch(BOOM.format(how="NOT MATERIALIZED"), 1)
        assert sorted(r[0] for r in unfolded) == sorted(CLINIC_1 * 2)
    finally:
        await raw.close()
    conn = await guard_only.connect()
    try:
        with tenant(1):
            assert await names_or_refused(lambda: conn.fetch(BOOM.format(how=""), 1)) == ["refused"]
            got = await names_or_refused(lambda: conn.fetch(BOOM.format(how="NOT MATERIALIZED"), 1))
        assert sorted(got) == sorted(CLINIC_1 * 2)
    finally:
        await conn.close()
