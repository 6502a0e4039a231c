"""Round 35, helper P: the runtime guard and round 35's names read by the search path (h35B).
A connection opened with a search_path in its startup settings (`server_settings=`, the DSN)
under which a name the policy reads as public's global table is another schema's tenant table:
`SELECT code, name FROM countries` read archive's rows of every tenant, and the guard let it
through. Now refused; a path that keeps public first runs."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.runtime import connect, tenant
from tests.conftest import fresh_database
from tests.proof.test_schema import policy_for

FIXTURE = Path(__file__).parent.parent / "fixtures" / "h35p"
A = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
READ = "SELECT code, name FROM countries ORDER BY code"


async def test_a_connection_opened_with_a_path_reading_a_global_name_elsewhere_is_refused(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    schema = (FIXTURE / "schema.sql").read_text(encoding="utf-8")
    data = "\n".join(
        (FIXTURE / n).read_text(encoding="utf-8") for n in ("data_common.sql", "data_b.sql")
    )
    policy = policy_for(tmp_path, schema, tenant_column="org", search_path=("public",))
    async with fresh_database(postgres, schema + data) as dsn:
        # unguarded, the path reads archive's countries: the other tenant's row too
        raw = await asyncpg.connect(dsn, server_settings={"search_path": "archive, public"})
        try:
            rows = [tuple(r) for r in await raw.fetch(READ)]
        finally:
            await raw.close()
        assert rows == [("es", "A old"), ("fr", "B old b")]
        for settings in ({"search_path": "archive, public"}, {"options": "-c search_path=archive"}):
            conn = await connect(dsn, policy=policy, server_settings=settings)
            try:
                with tenant(A), pytest.raises(TenantIsolationError, match="search_path"):
                    await conn.fetch(READ)
            finally:
                await conn.close()
        # twin: a path keeping public first reads public's global table
        conn = await connect(dsn, policy=policy, server_settings={"search_path": "public, archive"})
        try:
            with tenant(A):
                assert [tuple(r) for r in await conn.fetch(READ)] == [("es", "Spain")]
        finally:
            await conn.close()
