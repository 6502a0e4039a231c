"""Session 39 (helper h39R): settings the proof relies on, set on the SERVER'S side for the
database or the role (`ALTER DATABASE | ROLE … SET`, postgresql.conf), on a real server.

The guard refused a statement that changes `cpu_operator_cost` (or another planner cost, or
`session_replication_role`) and a connection opened with one in its startup packet (round 30),
and its hint said to tune them "in postgresql.conf or for the role: ALTER ROLE … SET". A value
set there reaches every session unseen by both checks. At `cpu_operator_cost = 0` PostgreSQL
evaluates a scan's conditions in the order written: clinic 1's proven
`… WHERE (first_name IN ('Ana', 'Bruno') OR first_name::int > 0) AND tenant_id = $1` failed
with `invalid input syntax for type integer: "Carla"` — clinic 2's patient, in the error.
Now the values the session starts with are read with the catalog (in the query that reads the
session's search_path: no round trip more) and a cost of 0 or a session_replication_role other
than origin refuses every statement, naming the setting. Tuned costs above 0 pass.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant
from tests.runtime.test_h36C_attacks import _raw
from tests.runtime.test_runtime_attacks_round30b import CLINICS, ORACLE_BY_COST


async def _read(two_clinics: str, how: str) -> tuple[list[str] | None, str]:
    """Clinic 1's proven read by a seq scan (the rows, or None), and what an error told."""
    pool = None
    if how == "pool":
        pool = await create_pool(two_clinics, policy=CLINICS, min_size=1, max_size=1)
        conn = await pool.acquire()
    else:
        conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            try:
                async with conn.transaction():
                    await conn.execute("SET LOCAL enable_indexscan = off")
                    await conn.execute("SET LOCAL enable_bitmapscan = off")
                    rows = await conn.fetch(ORACLE_BY_COST, 1)
            except (asyncpg.PostgresError, TenantIsolationError) as error:
                return None, str(error)
    finally:
        if pool is not None:
            await pool.release(conn)
            await pool.close()
        else:
            await conn.close()
    return sorted(r[0] for r in rows), ""


def _alter(two_clinics: str, user: str, where: str, setting: str) -> str:
    database = two_clinics.rsplit("/", 1)[-1].split("?")[0]
    if where == "database":
        return f"ALTER DATABASE {database} SET {setting};"
    return f"ALTER ROLE {user} IN DATABASE {database} SET {setting};"


async def _reset(two_clinics: str, user: str) -> None:
    database = two_clinics.rsplit("/", 1)[-1].split("?")[0]
    await _raw(
        two_clinics,
        f"ALTER DATABASE {database} RESET ALL; ALTER ROLE {user} IN DATABASE {database} RESET ALL;",
    )


@pytest.mark.parametrize("setting", ["cpu_operator_cost = 0", "session_replication_role = replica"])
@pytest.mark.parametrize("where", ["database", "role"])
@pytest.mark.parametrize("how", ["connect", "pool"])
async def test_a_relied_on_setting_set_for_the_database_or_role(
    two_clinics: str, setting: str, where: str, how: str
) -> None:
    user = (await _raw(two_clinics, "SELECT current_user::text"))[0][0]
    await _raw(two_clinics, _alter(two_clinics, user, where, setting))
    try:
        rows, told = await _read(two_clinics, how)
    finally:
        await _reset(two_clinics, user)
    assert rows is None
    assert "Carla" not in told  # was: invalid input syntax for type integer: "Carla"
    assert setting.split()[0] in told and "TG-RUNTIME" in told


@pytest.mark.parametrize(
    "setting", ["random_page_cost = 1.1", "cpu_operator_cost = 0.005", "seq_page_cost = 0.5"]
)
async def test_tuned_costs_pass(two_clinics: str, setting: str) -> None:
    """The twin: costs tuned above 0 keep PostgreSQL's order by cost (the pin first)."""
    user = (await _raw(two_clinics, "SELECT current_user::text"))[0][0]
    await _raw(two_clinics, _alter(two_clinics, user, "database", setting))
    try:
        assert await _read(two_clinics, "connect") == (["Ana", "Bruno"], "")
    finally:
        await _reset(two_clinics, user)


@pytest.mark.xfail(
    strict=True,
    reason="OPEN (h39R): ALTER SYSTEM SET cpu_operator_cost = 0 + pg_reload_conf() reaches the "
    "sessions already open (SIGHUP), which the guard read at connect: no ParameterStatus "
    "reports a planner cost, and reading it again would cost a round trip per statement (or "
    "per lease); clinic 1's proven read then told 'Carla'",
)
async def test_a_cost_reloaded_into_open_sessions(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=CLINICS)
    told = ""
    try:
        with tenant(1):
            assert [r[0] for r in await conn.fetch(ORACLE_BY_COST, 1)] == ["Ana", "Bruno"]
        await _raw(two_clinics, "ALTER SYSTEM SET cpu_operator_cost = 0;")
        await _raw(two_clinics, "SELECT pg_reload_conf()")
        try:
            for _ in range(50):  # the reload reaches the backend in a moment
                if await conn.fetchval("SHOW cpu_operator_cost") == "0":
                    break
                await asyncio.sleep(0.02)
            with tenant(1):
                try:
                    async with conn.transaction():
                        await conn.execute("SET LOCAL enable_indexscan = off")
                        await conn.execute("SET LOCAL enable_bitmapscan = off")
                        await conn.fetch(ORACLE_BY_COST, 1)
                except (asyncpg.PostgresError, TenantIsolationError) as error:
                    told = str(error)
        finally:
            await _raw(two_clinics, "ALTER SYSTEM RESET cpu_operator_cost;")
            await _raw(two_clinics, "SELECT pg_reload_conf()")
    finally:
        await conn.close()
    assert "Carla" not in told and "TG-RUNTIME" in told
