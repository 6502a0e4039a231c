"""asyncpg's own transaction statements pass the guard in every form `Connection.transaction()`
builds (isolation level, READ ONLY, DEFERRABLE): `BEGIN READ ONLY` must not be refused as SQL the
proof cannot read, and the statements inside still are checked."""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant
from tests.conftest import case_policy

FORMS = [
    {},
    {"readonly": True},
    {"isolation": "serializable", "readonly": True, "deferrable": True},
    {"isolation": "repeatable_read", "readonly": True},
    {"isolation": "read_committed"},
]


@pytest.mark.parametrize("options", FORMS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
async def test_every_transaction_form_runs_and_statements_inside_are_checked(
    database: str, options: dict[str, object]
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(
            "CREATE TABLE patients (id bigint, tenant_id bigint, name text);"
            "INSERT INTO patients VALUES (1, 1, 'Ana'), (2, 2, 'Carla')"
        )
    finally:
        await owner.close()
    conn = await connect(database, policy=case_policy())
    try:
        with tenant(1):
            async with conn.transaction(**options):  # type: ignore[arg-type]
                rows = await conn.fetch("SELECT name FROM patients WHERE tenant_id = $1", 1)
                with pytest.raises(TenantIsolationError):
                    await conn.fetch("SELECT name FROM patients")
        assert [r["name"] for r in rows] == ["Ana"]
    finally:
        await conn.close()
