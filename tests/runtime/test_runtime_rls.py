"""Row-Level Security as defense in depth: a real non-owner role, RLS on, the guard setting it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, rls_policy_sql, tenant

POLICY = Policy("tenant_id", {"patients", "appointments"}, global_tables={"tenants"})


def as_user(dsn: str, user: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port}"))


@pytest.fixture
async def app_dsn(two_clinics: str) -> AsyncIterator[str]:
    database = two_clinics
    owner = await asyncpg.connect(database)
    patch = rls_policy_sql(["patients", "appointments"])
    await owner.execute(patch)
    await owner.execute(patch)  # idempotent: a second run changes nothing
    assert (
        await owner.fetchval("SELECT count(*) FROM pg_policies WHERE tablename = 'patients'") == 1
    )
    await owner.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clinic_app') THEN "
        "CREATE ROLE clinic_app LOGIN; END IF; END $$"
    )
    await owner.execute(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO clinic_app"
    )
    await owner.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO clinic_app")
    await owner.close()
    yield as_user(database, "clinic_app")


QUERIES = [
    ("SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY first_name", True),
    ("SELECT first_name FROM patients ORDER BY first_name", False),
    (
        "SELECT first_name FROM patients WHERE phone_number LIKE '2%' OR tenant_id = $1 ORDER BY first_name",
        False,
    ),
]


async def test_rls_and_guard_agree(app_dsn: str, database: str) -> None:
    """What the guard lets through needs no RLS; what it blocks, RLS still contains."""
    owner = await asyncpg.connect(database)  # owner: RLS does not apply
    report = await connect(app_dsn, policy=POLICY, mode="report", set_tenant_setting=True)
    enforce = await connect(app_dsn, policy=POLICY, set_tenant_setting=True)
    try:
        for sql, proven in QUERIES:
            args = (1,) if "$1" in sql else ()
            everyone = [r[0] for r in await owner.fetch(sql, *args)]
            with tenant(1):
                under_rls = [r[0] for r in await report.fetch(sql, *args)]
                assert under_rls == ["Ana", "Bruno"]  # RLS keeps every query inside tenant 1
                if proven:
                    assert under_rls == everyone  # the guard's proof needed no help from RLS
                    await enforce.fetch(sql, *args)
                else:
                    assert everyone != under_rls  # without RLS this query leaks…
                    with pytest.raises(TenantIsolationError):
                        await enforce.fetch(sql, *args)  # …and the guard blocks it
        with tenant(2):
            assert [r[0] for r in await report.fetch("SELECT first_name FROM patients")] == [
                "Carla"
            ]
        # outside tenant() the guard clears the setting: RLS shows nothing
        assert await report.fetch("SELECT first_name FROM patients") == []
        # RLS also refuses writing into another tenant, even if the guard only reports
        with tenant(1), pytest.raises(asyncpg.InsufficientPrivilegeError):
            await report.execute(
                "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES (2, 'X', '9')"
            )
    finally:
        await owner.close()
        await report.close()
        await enforce.close()


async def test_setting_follows_the_tenant_on_pooled_reuse(app_dsn: str) -> None:
    from tenantguard.runtime import create_pool

    pool = await create_pool(
        app_dsn, policy=POLICY, mode="report", set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        for t, expected in [(1, 2), (2, 1), (1, 2)]:
            with tenant(t):
                assert await pool.fetchval("SELECT count(*) FROM patients") == expected
    finally:
        await pool.close()
