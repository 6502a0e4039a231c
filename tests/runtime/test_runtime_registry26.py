"""The tenant registry's row of another tenant, written or locked through the guard (round 26,
outside attack on the runtime): with `tenant_root = tenants` (inferred from the Dentalogic
baseline: every tenant column references `tenants (id)`), clinic 1's request renamed clinic 2
(`UPDATE tenants SET name = 'x' WHERE id = 2`, or `id = $1` with 2) and held clinic 2's row
`FOR UPDATE`, which blocks every INSERT of clinic 2's rows (the foreign key's check takes a KEY
SHARE lock on it). The registry's reads stay allowed; its writes and locks are pinned to one
tenant's row by its key, and that value is the request's tenant's, as a tenant column's pin.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.config import Settings, build_policy
from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.policy import Policy
from tenantguard.runtime import connect, tenant
from tests.conftest import BASELINE


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "0001_baseline.sql").write_text(BASELINE.read_text(encoding="utf-8"), "utf-8")
    built = build_policy(Settings(root=tmp_path, schema_paths=("schema",)))
    assert built.tenant_root == "tenants"
    return built


async def _names(dsn: str) -> list[tuple[int, str]]:
    owner = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await owner.fetch("SELECT id, name FROM tenants ORDER BY id")]
    finally:
        await owner.close()


WRITES = [
    ("UPDATE tenants SET name = 'taken' WHERE id = 2", ()),
    ("UPDATE tenants SET name = 'taken' WHERE id = $1", (2,)),
    ("UPDATE tenants SET name = $2 WHERE id = $1", (2, "taken")),
    ("WITH u AS (UPDATE tenants SET name = 'taken' WHERE id = $1 RETURNING id) SELECT 1", (2,)),
    ("UPDATE tenants SET name = 'taken'", ()),
    # an upsert's DO UPDATE writes the row its new row collides with
    (
        "INSERT INTO tenants (id, name) VALUES (2, 'taken') "
        "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
        (),
    ),
    (
        "INSERT INTO tenants (id, name) VALUES ($1, 'taken') "
        "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
        (2,),
    ),
    # round 27: the key's constraint, named (its columns from the schema)
    (
        "INSERT INTO tenants (id, name) VALUES ($1, 'taken') "
        "ON CONFLICT ON CONSTRAINT tenants_pkey DO UPDATE SET name = EXCLUDED.name",
        (2,),
    ),
    (
        "INSERT INTO tenants (id, name) SELECT id, 'taken' FROM tenants "
        "ON CONFLICT ON CONSTRAINT tenants_pkey DO UPDATE SET name = EXCLUDED.name",
        (),
    ),
]


@pytest.mark.parametrize(("sql", "args"), WRITES)
async def test_another_clinics_registry_row_is_not_written(
    two_clinics: str, policy: Policy, sql: str, args: tuple[object, ...]
) -> None:
    before = await _names(two_clinics)
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.execute(sql, *args)
    finally:
        await conn.close()
    assert await _names(two_clinics) == before


async def test_a_clinic_still_writes_its_own_registry_row(two_clinics: str, policy: Policy) -> None:
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1):
            await conn.execute("UPDATE tenants SET name = $2 WHERE id = $1", 1, "North 2")
            await conn.execute(
                "INSERT INTO tenants (id, name) VALUES ($1, $2) "
                "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
                1,
                "North 2",
            )
            await conn.execute(
                "INSERT INTO tenants (id, name) VALUES ($1, $2) "
                "ON CONFLICT ON CONSTRAINT tenants_pkey DO UPDATE SET name = EXCLUDED.name",
                1,
                "North 2",
            )
            # reads of the registry stay allowed
            assert len(await conn.fetch("SELECT id, name FROM tenants")) == 2
    finally:
        await conn.close()
    assert (1, "North 2") in await _names(two_clinics)


LOCKS = [
    ("SELECT id FROM tenants WHERE id = 2 FOR UPDATE", ()),
    ("SELECT id FROM tenants WHERE id = $1 FOR NO KEY UPDATE", (2,)),
    ("SELECT id FROM tenants FOR UPDATE", ()),
    ("SELECT t.id FROM tenants t WHERE t.name = 'South' FOR SHARE OF t", ()),
    ("SELECT p.id FROM patients p, tenants t WHERE p.tenant_id = $1 FOR UPDATE", (1,)),
    # round 27: pinned along a chain of two joins, or through a correlated EXISTS — clinic 2's
    *(
        (sql, (2,))
        for sql in (
            "SELECT t.id FROM tenants t JOIN patients p ON p.tenant_id = t.id "
            "JOIN patients q ON q.tenant_id = p.tenant_id WHERE q.tenant_id = $1 FOR UPDATE OF t",
            "SELECT t.id FROM tenants t WHERE EXISTS "
            "(SELECT 1 FROM patients p WHERE p.tenant_id = $1 AND p.tenant_id = t.id) FOR UPDATE",
        )
    ),
]


@pytest.mark.parametrize(("sql", "args"), LOCKS)
async def test_another_clinics_registry_row_is_not_locked(
    two_clinics: str, policy: Policy, sql: str, args: tuple[object, ...]
) -> None:
    """Refused; and what the refusal prevents, shown for the first: held by clinic 1, the lock
    makes clinic 2's own INSERT wait."""
    if sql == LOCKS[0][0]:
        holder, writer = await asyncpg.connect(two_clinics), await asyncpg.connect(two_clinics)
        try:
            async with holder.transaction():
                await holder.execute(sql)
                await writer.execute("SET lock_timeout = '300ms'")
                with pytest.raises(asyncpg.LockNotAvailableError):
                    await writer.execute(
                        "INSERT INTO patients (tenant_id, first_name, phone_number) "
                        "VALUES (2, 'Dora', '555')"
                    )
        finally:
            await holder.close()
            await writer.close()
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            async with conn.transaction():
                await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_a_clinic_still_locks_its_own_registry_row(two_clinics: str, policy: Policy) -> None:
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1):
            async with conn.transaction():
                rows = await conn.fetch("SELECT id FROM tenants WHERE id = $1 FOR UPDATE", 1)
                # the registry row a pinned join picks: one step along `t.id = p.tenant_id`
                joined = await conn.fetch(
                    "SELECT t.id FROM patients p JOIN tenants t ON t.id = p.tenant_id "
                    "WHERE p.tenant_id = $1 FOR UPDATE",
                    1,
                )
                chained = await conn.fetch(
                    "SELECT t.id FROM tenants t JOIN patients p ON p.tenant_id = t.id "
                    "JOIN patients q ON q.tenant_id = p.tenant_id WHERE q.tenant_id = $1 "
                    "FOR UPDATE OF t",
                    1,
                )
                correlated = await conn.fetch(
                    "SELECT t.id FROM tenants t WHERE EXISTS (SELECT 1 FROM patients p "
                    "WHERE p.tenant_id = $1 AND p.tenant_id = t.id) FOR UPDATE",
                    1,
                )
        assert [r[0] for r in rows] == [1]
        assert {r[0] for r in joined} == {1}
        assert {r[0] for r in chained} == {1}
        assert [r[0] for r in correlated] == [1]
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT id FROM tenants FOR UPDATE", ["TG005"]),
        ("SELECT id FROM tenants WHERE id = $1 FOR UPDATE", []),
        (
            "SELECT p.id FROM patients p JOIN tenants t ON t.id = p.tenant_id "
            "WHERE p.tenant_id = $1 FOR UPDATE OF p",
            [],
        ),
        ("SELECT id FROM tenants", []),
        ("UPDATE tenants SET name = 'x' WHERE id = $1", []),
    ],
)
def test_the_proof_of_registry_locks(policy: Policy, sql: str, expected: list[str]) -> None:
    assert [f.code for f in analyze_statement(sql, policy).findings] == expected


def test_registry_pins_reach_the_runtime(policy: Policy) -> None:
    verdict = analyze_statement("UPDATE tenants SET name = 'x' WHERE id = $1", policy)
    assert [p.key for p in verdict.pin_values] == [1]
    verdict = analyze_statement("SELECT id FROM tenants WHERE id = 2 FOR UPDATE", policy)
    assert [(p.kind, p.key) for p in verdict.pin_values] == [("literal", "2")]


async def test_other_sessions_timings_are_refused(two_clinics: str, policy: Policy) -> None:
    """Clinic 2's open transaction is seen by its start time and wait from any session of the
    role (the witness, unguarded); through the guard, clinic 1's request is refused."""
    busy = await asyncpg.connect(two_clinics)
    watcher = await asyncpg.connect(two_clinics)
    conn = await connect(two_clinics, policy=policy)
    try:
        async with busy.transaction():
            await busy.execute("UPDATE patients SET first_name = first_name WHERE tenant_id = 2")
            others = await watcher.fetch(
                "SELECT pg_stat_get_backend_xact_start(s) AS started "
                "FROM pg_stat_get_backend_idset() s "
                "WHERE pg_stat_get_backend_pid(s) <> pg_backend_pid()"
            )
            assert any(r["started"] is not None for r in others)  # clinic 2's, seen
            for sql in (
                "SELECT pg_stat_get_backend_xact_start(s) FROM pg_stat_get_backend_idset() s",
                "SELECT pg_stat_get_backend_wait_event_type(s) FROM pg_stat_get_backend_idset() s",
                "SELECT gid, prepared FROM pg_prepared_xacts",
            ):
                with tenant(1), pytest.raises(TenantIsolationError):
                    await conn.fetch(sql)
    finally:
        await conn.close()
        await watcher.close()
        await busy.close()
