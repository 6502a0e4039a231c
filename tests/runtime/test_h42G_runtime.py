"""Session 42 (helper h42G): the runtime guard attacked by an outsider, on a real server.

1. Earlier requests' statement texts, read through the session's memory contexts. A pooled
   connection keeps one prepared statement per text it ran (asyncpg's cache), and their text
   holds the literals of the requests that ran them; `pg_prepared_statements.statement` and
   `pg_cursors` were refused for that (round 15). PostgreSQL 14+ names each cached plan's memory
   context by that same text: `pg_backend_memory_contexts.ident` (rows `CachedPlanSource`,
   `CachedPlan`) and its function `pg_get_backend_memory_contexts()`. Clinic 1's request on the
   connection clinic 2's request had used read `SELECT id FROM patients WHERE tenant_id = 2 AND
   first_name = 'Eve'` (clinic 2's literal) back. Refused now like pg_prepared_statements
   (TG006); the context's names and sizes, which hold no text, still read.
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import create_pool, tenant

SCHEMA = """
CREATE TABLE patients (id serial PRIMARY KEY, tenant_id bigint NOT NULL, first_name text NOT NULL);
INSERT INTO patients (tenant_id, first_name) VALUES (1, 'Ana'), (2, 'Eve');
"""
POLICY = Policy("tenant_id", {"patients"})
# clinic 2's request, its patient's name a literal in the text
THEIRS = "SELECT id FROM patients WHERE tenant_id = 2 AND first_name = 'Eve'"

MEMORY_CONTEXT_READS = [
    "SELECT ident FROM pg_backend_memory_contexts",
    "SELECT * FROM pg_backend_memory_contexts",
    "SELECT c.ident FROM pg_catalog.pg_backend_memory_contexts c WHERE c.name = 'CachedPlanSource'",
    "SELECT m FROM pg_backend_memory_contexts m",
    "SELECT i FROM pg_backend_memory_contexts AS m(n, i)",
    "SELECT ident FROM pg_get_backend_memory_contexts()",
    "SELECT string_agg(ident, ' ') FROM pg_catalog.pg_get_backend_memory_contexts()",
]


async def _load(dsn: str) -> None:
    raw = await asyncpg.connect(dsn)
    try:
        await raw.execute(SCHEMA)
    finally:
        await raw.close()


@pytest.mark.parametrize("read", MEMORY_CONTEXT_READS)
async def test_earlier_requests_statements_are_not_read_through_memory_contexts(
    database: str, read: str
) -> None:
    await _load(database)
    pool = await create_pool(database, policy=POLICY, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            with tenant(2):
                assert [r[0] for r in await conn.fetch(THEIRS)] == [2]
        async with pool.acquire() as conn:
            # the same backend, unguarded: clinic 2's text, its literal in it, is there
            raw = await asyncpg.Connection.fetch(conn._con, read)  # type: ignore[attr-defined]
            assert any("first_name = 'Eve'" in str(v) for r in raw for v in r), raw
            with tenant(1):
                with pytest.raises(TenantIsolationError, match="TG006"):
                    await conn.fetch(read)
                with pytest.raises(TenantIsolationError, match="TG006"):
                    await conn.fetch(read)  # a cached verdict
                # the contexts' names and sizes hold no statement's text
                names = await conn.fetch(
                    "SELECT name, total_bytes FROM pg_backend_memory_contexts "
                    "WHERE name = 'CachedPlanSource'"
                )
                assert names and all("Eve" not in str(tuple(r)) for r in names)
                assert await conn.fetchval("SELECT count(*) FROM pg_backend_memory_contexts") > 0
                mine = await conn.fetch("SELECT first_name FROM patients WHERE tenant_id = $1", 1)
                assert [r[0] for r in mine] == ["Ana"]
    finally:
        await pool.close()
