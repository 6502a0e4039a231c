"""Session 38 (helper h38W): an outside attack on h38R (the tenant setting behind a
transaction-mode pooler, set in a transaction of the call's own), on a real server through
PgBouncer (one server process; skipped without a `pgbouncer` binary) and, as the twin, direct.
Another client sets `app.tenant_id` to 2 on the shared process before each shape; clinic 1
reads by the setting. Every shape held (no fix): savepoints rolled back (asyncpg's nested
`conn.transaction()` and SQL `SAVEPOINT`/`ROLLBACK TO`), a failed statement in a manual
`BEGIN`, a cursor outside a transaction, scripts that end the transaction before a write by
the setting in every spelling (`ABORT`, `END`, `… AND CHAIN`, `abort work`, a comment first).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant
from tests.runtime.test_h37V_pooler import pooled  # noqa: F401  # the PgBouncer fixture
from tests.runtime.test_h38R_pooled_setting import BY_SETTING
from tests.runtime.test_runtime import POLICY

MINE = ["Ana", "Bruno"]
WRITE = (
    "UPDATE patients SET last_name = 'X' WHERE tenant_id = current_setting('app.tenant_id')::bigint"
)
ENDS = ["ROLLBACK", "ABORT", "END", "COMMIT AND CHAIN", "ROLLBACK AND CHAIN", "abort work"]


async def _try(coro: Any) -> Any:
    try:
        rows = await coro
    except TenantIsolationError:
        return "refused"
    except asyncpg.PostgresError as e:
        return type(e).__name__
    return [r[0] for r in rows] if isinstance(rows, list) else rows


@pytest.mark.parametrize("where", ["pooled", "direct"])
async def test_savepoints_and_failures(two_clinics: str, pooled: str, where: str) -> None:  # noqa: F811
    dsn = pooled if where == "pooled" else two_clinics
    conn: Any = await connect(dsn, policy=POLICY, statement_cache_size=0)
    other = await asyncpg.connect(dsn, statement_cache_size=0)
    seen: dict[str, Any] = {}

    async def theirs() -> None:
        await other.execute("SELECT set_config('app.tenant_id', '2', false)")

    try:
        await theirs()
        with tenant(1):
            async with conn.transaction():
                savepoint = conn.transaction()
                await savepoint.start()
                seen["in a savepoint"] = await _try(conn.fetch(BY_SETTING))
                await savepoint.rollback()
                seen["after it rolled back"] = await _try(conn.fetch(BY_SETTING))
            await theirs()
            await conn.execute("BEGIN; SAVEPOINT a")
            seen["in an SQL savepoint"] = await _try(conn.fetch(BY_SETTING))
            await conn.execute("ROLLBACK TO SAVEPOINT a")
            seen["after ROLLBACK TO"] = await _try(conn.fetch(BY_SETTING))
            seen["a failure in it"] = await _try(conn.execute("SELECT 1 / 0"))
            await conn.execute("ROLLBACK")
            await theirs()
            seen["after the failed transaction"] = await _try(conn.fetch(BY_SETTING))
            seen["fetchval"] = await _try(
                conn.fetchval(
                    BY_SETTING.replace("first_name", "string_agg(first_name, ',')").replace(
                        " ORDER BY id", ""
                    )
                )
            )
    finally:
        await conn.close()
        await other.close()
    assert seen == {
        "in a savepoint": MINE,
        "after it rolled back": MINE,
        "in an SQL savepoint": MINE,
        "after ROLLBACK TO": MINE,
        "a failure in it": "DivisionByZeroError",
        "after the failed transaction": MINE,
        "fetchval": "Ana,Bruno",
    }, seen


@pytest.mark.parametrize("end", ENDS)
@pytest.mark.parametrize("where", ["pooled", "direct"])
async def test_a_script_ending_the_transaction_before_a_write(
    two_clinics: str,
    pooled: str,  # noqa: F811
    where: str,
    end: str,
) -> None:
    dsn = pooled if where == "pooled" else two_clinics
    conn: Any = await connect(dsn, policy=POLICY, statement_cache_size=0)
    other = await asyncpg.connect(dsn, statement_cache_size=0)
    try:
        if where == "direct":
            with tenant(2):  # the session's setting: clinic 2's
                await conn.fetch(BY_SETTING)
        await other.execute("SELECT set_config('app.tenant_id', '2', false)")
        with tenant(1):
            await conn.execute("BEGIN")
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == MINE
            with pytest.raises(TenantIsolationError, match="ends a transaction"):
                await conn.execute(f"/* x */ {end}; {WRITE}")
            await conn.execute("ROLLBACK")
    finally:
        await conn.close()
        await other.close()
    raw = await asyncpg.connect(two_clinics)
    try:
        rows = await raw.fetch("SELECT first_name FROM patients WHERE last_name = 'X'")
    finally:
        await raw.close()
    assert rows == []  # no row of either clinic written
