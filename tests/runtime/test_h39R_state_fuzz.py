"""Session 39 (helper h39R): a seeded fuzz of one guarded connection's session under failure, on a
real server: two clinics' blocks taking turns on one connection (of `connect()`, or a pool of
one), with transactions, savepoints, ROLLBACK TO, statements that fail, calls cut by timeouts
(`asyncio.wait_for(…, 30 us .. 3 ms)`), pool releases cut the same way, prepared statements,
cursors, and unscoped() steps that change the session (the tenant setting set to clinic 2's,
RESET ALL, a temporary table and a setting holding every clinic's names).

Two invariants, each a class this round found or held:
- every value a clinic's block reads (its patients by the tenant setting, a stash a setting or a
  temporary table holds) names that clinic's patients only;
- a ROLLBACK is never refused as "current transaction is aborted": the guard's own set_config
  before it kept the ROLLBACK from the server, and the connection stayed in the failed
  transaction for good (h39R, tests/runtime/test_h39R_failed_transaction.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant, unscoped
from tests.runtime.test_runtime import POLICY

NAMES = {1: {"Ana", "Bruno"}, 2: {"Carla"}}
MINE = "(SELECT string_agg(first_name, ',') FROM patients WHERE tenant_id = $1)"
EVERY = "(SELECT string_agg(first_name, ',') FROM patients)"
READS = [
    "SELECT current_setting('my.stash', true)",
    "SELECT string_agg(first_name, ',') FROM stash_t",
    "SELECT string_agg(first_name, ',') FROM patients"
    " WHERE tenant_id = current_setting('app.tenant_id')::bigint",
]
OPS = {
    "stash": (f"SELECT set_config('my.stash', {MINE}, false)", True),
    "stash local": (f"SELECT set_config('my.stash', {MINE}, true)", True),
    "begin": ("BEGIN", False),
    "commit": ("COMMIT", False),
    "rollback": ("ROLLBACK", False),
    "savepoint": ("SAVEPOINT s", False),
    "rollback to": ("ROLLBACK TO SAVEPOINT s", False),
    "release": ("RELEASE SAVEPOINT s", False),
    "fail": ("SELECT 1 / 0", False),
}
UNSCOPED = {
    "setting 2": "SELECT set_config('app.tenant_id', '2', false)",
    "setting 2 local": "SELECT set_config('app.tenant_id', '2', true)",
    "reset all": "RESET ALL",
    "temp": "CREATE TEMP TABLE IF NOT EXISTS stash_t AS SELECT first_name FROM patients",
    "stash every": f"SELECT set_config('my.stash', {EVERY}, false)",
}
ERRORS = (TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresError, TenantIsolationError)


async def _op(conn: Any, op: str, clinic: int, rnd: random.Random) -> object:
    if op in OPS:
        sql, pinned = OPS[op]
        return await (conn.fetchval(sql, clinic) if pinned else conn.execute(sql))
    if op in UNSCOPED:
        with unscoped("fuzz: maintenance step"):
            return await conn.execute(UNSCOPED[op])
    if op == "read":
        return await conn.fetchval(rnd.choice(READS))
    if op == "prepared":
        return await (await conn.prepare(rnd.choice(READS))).fetchval()
    async with conn.transaction():  # a cursor
        return (await (await conn.cursor(rnd.choice(READS))).fetchrow())[0]


@pytest.mark.parametrize("pooled", [False, True])
@pytest.mark.parametrize("set_tenant_setting", [False, True])
async def test_the_session_under_failure(
    two_clinics: str, pooled: bool, set_tenant_setting: bool
) -> None:
    rnd = random.Random(f"{pooled}{set_tenant_setting}")
    options: dict[str, Any] = {"policy": POLICY, "set_tenant_setting": set_tenant_setting}
    pool = await create_pool(two_clinics, min_size=1, max_size=1, **options) if pooled else None
    conn: Any = await pool.acquire() if pool is not None else await connect(two_clinics, **options)
    ops = [*OPS, *UNSCOPED, "read", "read", "read", "read", "prepared", "cursor"]
    leaks, stuck, ran = [], [], 0
    try:
        for step in range(250):
            if pool is not None and rnd.random() < 0.2:
                # a release cut by a timeout: the pool ends the connection
                with contextlib.suppress(*ERRORS):
                    await asyncio.wait_for(pool.release(conn), rnd.choice([0.0001, 1]))
                conn = await pool.acquire()
            elif pool is None and conn.is_closed():
                conn = await connect(two_clinics, **options)
            clinic, op = rnd.choice([1, 2]), rnd.choice(ops)
            timeout = rnd.choice([None, None, 0.00003, 0.0003, 0.003])
            with tenant(clinic):
                try:
                    call = _op(conn, op, clinic, rnd)
                    got = await (call if timeout is None else asyncio.wait_for(call, timeout))
                except ERRORS as error:
                    if op == "rollback" and isinstance(error, asyncpg.InFailedSQLTransactionError):
                        stuck.append(step)
                    continue
            ran += 1
            read = op in ("read", "prepared", "cursor", "stash", "stash local")
            if read and got and set(str(got).split(",")) - NAMES[clinic]:
                leaks.append((step, clinic, op, got))
    finally:
        if pool is not None:
            pool.terminate()
        else:
            conn.terminate()
    assert leaks == []
    assert stuck == []
    # the fuzz ran statements, not only refusals: ~100 of the 250 steps have no timeout, and
    # the cut ones count only when they finish (49 ran on a loaded machine, 80-100 idle)
    assert ran > 25
