"""Round 14: `tenant_id = (SELECT $1::bigint)` pins as `IN (SELECT $1::bigint)` does (false alarm
f of the proof): the runtime guard compares $1 with the request's tenant. On the real server,
in the `guard` and `guard+rls` setups, asserting on the rows.
"""

from __future__ import annotations

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import tenant
from tests.runtime.test_runtime_attacks import CLINIC_1, Setup, setup

__all__ = ["setup"]


async def test_a_pin_by_a_scalar_subquery_is_checked_with_its_value(setup: Setup) -> None:
    sql = (
        "SELECT first_name FROM patients WHERE tenant_id = (SELECT $1::bigint) ORDER BY first_name"
    )
    conn = await setup.connect()
    try:
        with tenant(1):
            assert [r[0] for r in await conn.fetch(sql, 1)] == CLINIC_1
            with pytest.raises(TenantIsolationError):
                await conn.fetch(sql, 2)
    finally:
        await conn.close()
