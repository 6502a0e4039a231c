"""Round 33: the runtime guard's fresh rules attacked from outside (helper h33l), on a real
server.

1. FIXED: a cursor factory made in clinic 1's pool lease (`held.cursor(NAMES, 1)`, or a
   prepared statement's `cursor(1)`) and iterated or awaited in clinic 2's lease: asyncpg
   refuses it, but only after the guard had set the tenant setting to clinic 1's value in
   clinic 2's open transaction (`current_setting('app.tenant_id')` read '1' there). The
   factory (and the cursor it opens) now checks its lease before setting anything. A cursor
   opened in clinic 1's transaction and fetched in clinic 2's held already.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import create_pool, tenant
from tests.test_runtime import POLICY

NAMES = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY first_name"
SETTING = "SELECT current_setting('app.tenant_id', true)"


@pytest.mark.parametrize("how", ["iterate", "open", "prepared", "opened"])
async def test_a_kept_cursor_of_clinic_1_sets_nothing_in_clinic_2s_session(
    two_clinics: str, how: str
) -> None:
    pool = await create_pool(
        two_clinics, policy=POLICY, min_size=1, max_size=1, set_tenant_setting=True
    )
    try:
        with tenant(1):
            async with pool.acquire() as held:
                kept: Any = held.cursor(NAMES, 1)
                if how == "prepared":
                    kept = (await held.prepare(NAMES)).cursor(1)
                elif how == "opened":
                    async with held.transaction():
                        kept = await held.cursor(NAMES, 1)
        with tenant(2):
            async with pool.acquire() as conn, conn.transaction():
                assert await conn.fetchval(NAMES, 2) == "Carla"
                assert await conn.fetchval(SETTING) == "2"
                with pytest.raises((asyncpg.InterfaceError, TenantIsolationError)):
                    if how in ("iterate", "prepared"):
                        _ = [row async for row in kept]
                    elif how == "open":
                        await kept
                    else:
                        await kept.fetch(1)
                raw = conn._con  # type: ignore[attr-defined]
                seen = await asyncpg.Connection.fetchval(raw, SETTING)
                assert seen == "2"
    finally:
        await pool.close()
