"""Session 39 (helper h39R): a call cancelled (a timeout) while the guard reads the catalog
again, on a real server.

Another session's DDL (`CREATE OR REPLACE VIEW pv AS SELECT tenant_id * 0 + 1 AS tenant_id,
first_name FROM patients`: every clinic's rows as clinic 1's) is told to each guarded session by
the catalog watch's notification; the next call reads the watch's mark, then the catalog, and
only then is checked. The guard marked the catalog read (and the notification heard) BEFORE the
round trips: clinic 1's `asyncio.wait_for(conn.fetch(…), 0.0005)` timed out in them, and its next
`conn.fetch('SELECT first_name FROM pv WHERE tenant_id = $1', 1)` was judged on the catalog of
before the DDL: ['Ana', 'Bruno', 'Carla'] — on a connection of `connect()` and a pool's alike.
Now a read that does not finish leaves the catalog to read (and the mark to check) before the
next statement: refused, as without the timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant
from tenantguard.runtime.schema_code import CATALOG_WATCH
from tests.runtime.test_h36C_attacks import _raw
from tests.runtime.test_h37R_catalog_after import _TOLD, NAMES
from tests.runtime.test_runtime import POLICY as NAMES_POLICY

# a view per round (the guard's facts about a view only grow: a view it refused stays refused)
GOOD = "CREATE VIEW {name} AS SELECT tenant_id, first_name FROM patients;"
BAD = (
    "CREATE OR REPLACE VIEW {name} AS SELECT tenant_id * 0 + 1 AS tenant_id, first_name"
    " FROM patients;"
)
TIMEOUTS = [0.00003, 0.0001, 0.0003, 0.0006, 0.0012]  # the mark read, then the catalog read


async def _read(conn: Any, name: str) -> list[str] | str:
    with tenant(1):
        try:
            return [r[0] for r in await conn.fetch(NAMES.format(rel=name), 1)]
        except TenantIsolationError:
            return "refused"


@pytest.mark.parametrize("how", ["connect", "pool"])
async def test_a_call_cancelled_in_the_catalog_read(two_clinics: str, how: str) -> None:
    await _raw(two_clinics, CATALOG_WATCH)
    pool = None
    if how == "pool":
        pool = await create_pool(two_clinics, policy=NAMES_POLICY, min_size=1, max_size=1)
        conn = await pool.acquire()
    else:
        conn = await connect(two_clinics, policy=NAMES_POLICY)
    rounds = []
    try:
        for k, timeout in enumerate(TIMEOUTS):
            name = f"pv{k}"
            await _raw(two_clinics, GOOD.format(name=name))
            await asyncio.sleep(_TOLD)
            before = await _read(conn, name)
            await _raw(two_clinics, BAD.format(name=name))
            await asyncio.sleep(_TOLD)  # the notification heard
            with tenant(1):
                try:
                    await asyncio.wait_for(conn.fetch(NAMES.format(rel=name), 1), timeout)
                    cut = "ran"
                except TimeoutError:
                    cut = "timed out"
                except TenantIsolationError:
                    cut = "refused"
            rounds.append((timeout, before, cut, await _read(conn, name)))
    finally:
        if pool is not None:
            await pool.release(conn)
            await pool.close()
        else:
            await conn.close()
    assert all(before == ["Ana", "Bruno"] for _, before, _, _ in rounds), rounds
    assert any(cut == "timed out" for _, _, cut, _ in rounds), rounds
    # was: ['Ana', 'Bruno', 'Carla'] after the first timeout
    assert [after for *_, after in rounds] == ["refused"] * len(TIMEOUTS), rounds
