"""Class 8 of issue 10: SQL the proof cannot see exposes other tenants' values. Every request
runs as the application's one role, and that role sees its own sessions' statements in
`pg_stat_activity.query` — another tenant's request, its values inlined. Shown on the server:
a plain asyncpg connection reads clinic 2's patient name from clinic 2's request; the guard
refuses the same statement, and lets a count of connections through."""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant
from tests.conftest import case_policy

OTHER_TENANTS_REQUEST = "SELECT id FROM patients WHERE tenant_id = 2 AND name = 'Carla Secret'"
READS = [
    "SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid()",
    "SELECT row_to_json(a)::text AS query FROM pg_stat_activity AS a",
    "SELECT a.query FROM pg_stat_get_activity(NULL) AS a",
]


@pytest.mark.parametrize("sql", READS)
async def test_other_sessions_statements_are_refused(database: str, sql: str) -> None:
    other = await asyncpg.connect(database)  # clinic 2's request, idle after its statement
    try:
        await other.execute("CREATE TABLE patients (id bigint, tenant_id bigint, name text)")
        await other.execute(OTHER_TENANTS_REQUEST)
        raw = await asyncpg.connect(database)
        try:  # what the statement hands out when nothing stops it
            texts = [str(r["query"]) for r in await raw.fetch(sql)]
        finally:
            await raw.close()
        assert any("Carla Secret" in text for text in texts), texts
        guarded = await connect(database, policy=case_policy())
        try:
            with tenant(1), pytest.raises(TenantIsolationError, match="TG006"):
                await guarded.fetch(sql)
            with tenant(1):  # reading no statement text stays allowed
                count = await guarded.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                )
            assert count >= 2
        finally:
            await guarded.close()
    finally:
        await other.close()
