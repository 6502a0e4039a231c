"""Session 39 (helper h39C): an attack on the catalog reads the lead made cheaper this session
(`schema_code.trigger_writes` cached by the rows and the policy's content, the function
definitions' reading and pglast's PL/pgSQL trees cached by text, the proof policy rebuilt when
first read): schema code changed by another session after connect — a trigger's function, a
function it calls, a rule — and back again to a text read before (an old cache entry), two
pools of different policies on one database in one process. Each asserts the rows of both
clinics' counters (clinic 2's must never move by clinic 1's write).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant
from tenantguard.runtime.schema_code import CATALOG_WATCH
from tests.runtime.test_h36C_attacks import _raw
from tests.runtime.test_runtime import POLICY

SCHEMA = """
CREATE TABLE counters (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, n int NOT NULL);
INSERT INTO counters VALUES (1, 1, 0), (2, 2, 0);
CREATE TABLE notes (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, body text);
CREATE FUNCTION bump(t bigint) RETURNS void LANGUAGE sql
  AS $$ UPDATE counters SET n = n + 1 WHERE tenant_id = t $$;
CREATE FUNCTION count_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE counters SET n = n + 1 WHERE tenant_id = NEW.tenant_id;
  RETURN NEW;
END $$;
CREATE TRIGGER count_note AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION count_note();
"""
PINNED = """CREATE OR REPLACE FUNCTION count_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE counters SET n = n + 1 WHERE tenant_id = NEW.tenant_id;
  RETURN NEW;
END $$;"""
EVERYONE = PINNED.replace(" WHERE tenant_id = NEW.tenant_id", "")
THROUGH_BUMP = PINNED.replace(
    "UPDATE counters SET n = n + 1 WHERE tenant_id = NEW.tenant_id", "PERFORM bump(NEW.tenant_id)"
)
BUMP_EVERYONE = (
    "CREATE OR REPLACE FUNCTION bump(t bigint) RETURNS void LANGUAGE sql"
    " AS $$ UPDATE counters SET n = n + 1 $$;"
)
RULE = "CREATE RULE also_count AS ON INSERT TO notes DO ALSO UPDATE counters SET n = n + 1;"

TENANT = Policy(
    "tenant_id", {*POLICY.tenant_tables, "notes", "counters"}, global_tables={"tenants"}
)
# counters held global on purpose: its rows shared (a write of every row is this policy's call)
SHARED = Policy(
    "tenant_id", {*POLICY.tenant_tables, "notes"}, global_tables={"tenants", "counters"}
)

REFUSED = "(refused)"
_TOLD = 0.05  # the catalog watch's notification on its way (test_h37R_catalog_after)
INSERT = "INSERT INTO notes (id, tenant_id, body) VALUES ($1, $2, 'n')"


async def _note(conn: Any, number: int) -> object:
    """Clinic 1's note `number` written, or REFUSED."""
    with tenant(1):
        try:
            return await conn.execute(INSERT, number, 1)
        except TenantIsolationError:
            return REFUSED


async def _counters(dsn: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await _raw(dsn, "SELECT tenant_id, n FROM counters ORDER BY 1")]


@pytest.fixture
async def ready(two_clinics: str) -> AsyncIterator[str]:
    await _raw(two_clinics, CATALOG_WATCH + SCHEMA)
    yield two_clinics


# name -> the DDL steps another session commits, each followed by clinic 1's INSERT: its
# verdicts expected, and clinic 2's counter after them
STEPS: dict[str, tuple[list[str], list[bool]]] = {
    # the trigger's function made to move every clinic's counters, then back (a text read
    # before: its cached reading), then again (the cached reading of the leaking text). The
    # guard keeps what a trigger was seen to write for its life (`learn_hidden_writes` merges):
    # refused after the way back too (fail closed, a false alarm until the guard is made again)
    "trigger function": ([EVERYONE, PINNED, EVERYONE], [False, False, False]),
    # the trigger calls bump(), pinned; bump's body replaced by one moving every counter
    "called function": ([THROUGH_BUMP, BUMP_EVERYONE], [True, False]),
    # a rule added: ALSO UPDATE counters (every clinic's)
    "rule": ([RULE], [False]),
}


@pytest.mark.parametrize("shape", sorted(STEPS))
@pytest.mark.parametrize("how", ["connect", "pool"])
async def test_schema_code_changed_after_connect(ready: str, shape: str, how: str) -> None:
    steps, allowed = STEPS[shape]
    pool = None
    if how == "pool":
        pool = await create_pool(ready, policy=TENANT, min_size=1, max_size=1)
    else:
        conn = await connect(ready, policy=TENANT)
    got: list[object] = []
    try:
        for number, ddl in enumerate(["SELECT 1", *steps], start=1):
            await _raw(ready, ddl if ";" in ddl else ddl + ";")
            await asyncio.sleep(_TOLD)
            if pool is not None:
                async with pool.acquire() as leased:
                    got.append(await _note(leased, number))
            else:
                got.append(await _note(conn, number))
    finally:
        if pool is not None:
            await pool.close()
        else:
            await conn.close()
    counters = await _counters(ready)
    assert [g != REFUSED for g in got] == [True, *allowed], got
    assert counters[1] == (2, 0), counters  # clinic 2's counter never moved
    assert counters[0] == (1, 1 + sum(allowed)), counters


async def test_two_pools_of_different_policies_in_one_process(ready: str) -> None:
    """One database, two pools in one process (the cache of trigger_writes is the module's):
    the one whose policy holds counters as tenant rows refuses clinic 1's INSERT, whatever the
    other read first; the other (counters shared on purpose) runs it."""
    await _raw(ready, EVERYONE)
    shared = await create_pool(ready, policy=SHARED, min_size=1, max_size=1)
    tenant_pool = await create_pool(ready, policy=TENANT, min_size=1, max_size=1)
    try:
        async with tenant_pool.acquire() as leased:
            refused = await _note(leased, 1)
        async with shared.acquire() as leased:
            ran = await _note(leased, 2)
        # a third pool of the refusing policy's content, made after (a new policy object)
        again = await create_pool(ready, policy=TENANT.replace(), min_size=1, max_size=1)
        try:
            async with again.acquire() as leased:
                refused_again = await _note(leased, 3)
        finally:
            await again.close()
    finally:
        await shared.close()
        await tenant_pool.close()
    assert refused == REFUSED and refused_again == REFUSED, (refused, refused_again)
    assert ran == "INSERT 0 1", ran
    assert await _counters(ready) == [(1, 1), (2, 1)]  # the shared pool's one write, by design
