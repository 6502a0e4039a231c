"""The runtime guard started unguarded on purpose (`mode="off"`, no policy, no configuration:
DESIGN §7 allows it only spelled out) and switched on later by a feature flag (h42N, issue 12
item 1). `guard.mode = "enforce"` was accepted ("mode changed from off to enforce") while the
policy named no tenant tables: every statement passed, `SELECT * FROM invoices` under
tenant(1) returned company 2's invoice too. Now the switch is refused as connect() refuses
that start, and the connection stays off (said). On a real PostgreSQL: rows asserted."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.errors import ConfigError
from tenantguard.runtime import connect, create_pool, tenant
from tenantguard.runtime.guard import Mode

SCHEMA = (
    "CREATE TABLE companies (id bigint PRIMARY KEY);"
    "CREATE TABLE invoices (id bigserial PRIMARY KEY, company_id bigint NOT NULL"
    " REFERENCES companies(id), amount numeric NOT NULL);"
    "INSERT INTO companies VALUES (1), (2);"
    "INSERT INTO invoices (company_id, amount) VALUES (1, 10), (2, 20);"
)


async def _fill(dsn: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(SCHEMA)
    finally:
        await admin.close()


@pytest.mark.parametrize("switched_to", ["enforce", "report", Mode.ENFORCE])
async def test_a_guard_started_off_without_tenant_tables_is_not_switched_on(
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    switched_to: str | Mode,
) -> None:
    await _fill(database)
    monkeypatch.chdir(tmp_path)  # no configuration from here upward
    conn = await connect(database, mode="off")
    try:
        with tenant(1):  # off: unguarded, as asked — both companies' rows
            rows = await conn.fetch("SELECT company_id FROM invoices ORDER BY id")
        assert [r["company_id"] for r in rows] == [1, 2]
        with pytest.raises(ConfigError, match="names no tenant tables"):
            conn.tenantguard.mode = switched_to
        assert conn.tenantguard.mode is Mode.OFF
    finally:
        await conn.close()
    pool = await create_pool(database, mode="off", min_size=1, max_size=1)
    try:
        with pytest.raises(ConfigError, match="names no tenant tables"):
            pool.tenantguard.mode = switched_to
        assert pool.tenantguard.mode is Mode.OFF
    finally:
        await pool.close()


async def test_a_guard_started_off_with_a_policy_is_switched_on(
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The twin: off with a policy naming invoices, switched to enforce, refuses the unpinned
    read, and the pinned one returns company 1's row only. A policy set first, then the mode,
    works too; an empty connection's warning about "the policy's tenant tables ()" is not
    said when the guard is off without any."""
    await _fill(database)
    monkeypatch.chdir(tmp_path)  # no configuration from here upward
    policy = Policy(tenant_column="company_id", tenant_tables={"invoices"})
    conn = await connect(database, mode="off", policy=policy)
    try:
        conn.tenantguard.mode = "enforce"
        with tenant(1):
            with pytest.raises(TenantIsolationError):
                await conn.fetch("SELECT company_id FROM invoices")
            rows = await conn.fetch("SELECT company_id FROM invoices WHERE company_id = $1", 1)
        assert [r["company_id"] for r in rows] == [1]
    finally:
        await conn.close()
    with caplog.at_level(logging.WARNING, logger="tenantguard"):
        bare = await connect(database, mode="off")
    try:
        assert "tenant tables ()" not in caplog.text, caplog.text
        bare.tenantguard.policy = policy
        bare.tenantguard.mode = "enforce"
        with tenant(1), pytest.raises(TenantIsolationError):
            await bare.fetch("SELECT company_id FROM invoices")
    finally:
        await bare.close()
