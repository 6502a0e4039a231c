"""Session 39 (helper h39C): an attack on the guard's facts learnt from the catalog when the
policy is changed after connect (`guard.policy = …`, a feature flag, DESIGN §7). What a
connection read of the catalog is read FOR a policy: the tables holding the tenant column that
it does not list (`unlisted_tables_found`), what the triggers write (`trigger_writes`, judged
by which tables are tenant tables), the keys and cascades reaching tenant tables. Set another
policy, and the statements must be proven as a connection opened with that policy proves them:
each connection reads the catalog again before its next statement.
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
CREATE TABLE invoices (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, amount text);
INSERT INTO invoices VALUES (1, 1, 'a1'), (2, 2, 'b2');
CREATE TABLE counters (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, n int NOT NULL);
INSERT INTO counters VALUES (1, 1, 0), (2, 2, 0);
CREATE TABLE notes (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, body text);
CREATE FUNCTION count_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE counters SET n = n + 1;
  RETURN NEW;
END $$;
CREATE TRIGGER count_note AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION count_note();
"""

TABLES = set(POLICY.tenant_tables)
# invoices listed, counters global (its rows shared on purpose, said in a warning)
FIRST = Policy("tenant_id", TABLES | {"invoices", "notes"}, global_tables={"tenants", "counters"})
# invoices not listed (checked as a tenant table: h38V), counters a tenant table
SECOND = Policy("tenant_id", TABLES | {"notes", "counters"}, global_tables={"tenants"})

REFUSED = "(refused)"


async def _clinic_1(conn: Any, sql: str, *args: object) -> object:
    with tenant(1):
        try:
            if sql.lstrip().upper().startswith("INSERT"):
                return await conn.execute(sql, *args)
            return [r[0] for r in await conn.fetch(sql, *args)]
        except TenantIsolationError:
            return REFUSED


@pytest.fixture
async def ready(two_clinics: str) -> AsyncIterator[str]:
    await _raw(two_clinics, SCHEMA)
    yield two_clinics


@pytest.mark.parametrize("how", ["connect", "pool", "pool, idle", "given"])
async def test_the_policy_set_after_connect_proves_as_given(ready: str, how: str) -> None:
    """`guard.policy = SECOND` after a connection read the catalog for FIRST: clinic 1's
    unpinned read of invoices (a table SECOND does not list) and its INSERT into notes (whose
    trigger moves every clinic's counters, a tenant table of SECOND) are refused, as with
    SECOND given at connect ("given")."""
    pool = None
    if how.startswith("pool"):
        pool = await create_pool(ready, policy=FIRST, min_size=1, max_size=1)
        if how == "pool, idle":  # set between two leases: read again as it is handed out
            async with pool.acquire() as leased:
                assert await _clinic_1(leased, "SELECT 1") == [1]
            pool.tenantguard.policy = SECOND
        lease = pool.acquire()
        conn: Any = await lease.__aenter__()
    else:
        conn = await connect(ready, policy=SECOND if how == "given" else FIRST)
    try:
        assert await _clinic_1(conn, "SELECT 1") == [1]  # the catalog read for the first policy
        conn.tenantguard.policy = SECOND
        everyone = await _clinic_1(conn, "SELECT amount FROM invoices ORDER BY 1")
        mine = await _clinic_1(
            conn, "SELECT amount FROM invoices WHERE tenant_id = $1 ORDER BY 1", 1
        )
        written = await _clinic_1(
            conn, "INSERT INTO notes (id, tenant_id, body) VALUES ($1, $2, 'n')", 1, 1
        )
    finally:
        if pool is not None:
            await lease.__aexit__(None, None, None)
            await pool.close()
        else:
            await conn.close()
    counters = await _raw(ready, "SELECT tenant_id, n FROM counters ORDER BY 1")
    assert everyone == REFUSED, everyone  # was ['a1', 'b2']: clinic 2's invoice
    assert mine == ["a1"], mine
    assert written == REFUSED, written  # was 'INSERT 0 1'
    assert [tuple(r) for r in counters] == [(1, 0), (2, 0)], counters  # was (2, 1)


# --- the guard turned on (mode "off" -> "enforce") with the catalog read while it was off ----

PV = "CREATE VIEW pv AS SELECT tenant_id, first_name FROM patients;"
PV_REPLACED = (  # every clinic's rows under tenant_id 1 (test_h37R_catalog_after)
    "CREATE OR REPLACE VIEW pv AS SELECT tenant_id * 0 + 1 AS tenant_id, first_name FROM patients;"
)
PV_NAMES = "SELECT first_name FROM pv WHERE tenant_id = $1 ORDER BY 1"
_TOLD = 0.05  # the catalog watch's notification on its way (test_h37R_catalog_after)


@pytest.mark.parametrize("when", ["between leases", "within the lease", "connect", "unchanged"])
async def test_the_guard_turned_on_reads_the_catalog_of_now(two_clinics: str, when: str) -> None:
    """Another session replaces pv while the guard is off, then the guard is turned on
    (`guard.mode = "enforce"`, a feature flag) within a lease: clinic 1's read of pv pinned by
    its computed tenant_id must be refused, not return Carla (clinic 2's)."""
    await _raw(two_clinics, CATALOG_WATCH + PV)
    names: object
    if when == "connect":
        conn: Any = await connect(two_clinics, policy=POLICY, mode="off")
        try:
            await conn.fetch("SELECT 1")
            await _raw(two_clinics, PV_REPLACED)
            await asyncio.sleep(_TOLD)
            conn.tenantguard.mode = "enforce"
            names = await _clinic_1(conn, PV_NAMES, 1)
        finally:
            await conn.close()
    else:
        pool = await create_pool(two_clinics, policy=POLICY, mode="off", min_size=1, max_size=1)
        try:
            async with pool.acquire() as leased:
                await leased.fetch("SELECT 1")
            if when == "between leases":
                await _raw(two_clinics, PV_REPLACED)
            if when == "unchanged":  # the twin: pv as it was, clinic 1's rows
                await _raw(two_clinics, "SELECT 1")
            async with pool.acquire() as leased:
                await leased.fetch("SELECT 1")
                if when == "within the lease":
                    await _raw(two_clinics, PV_REPLACED)
                    await asyncio.sleep(_TOLD)
                pool.tenantguard.mode = "enforce"
                names = await _clinic_1(leased, PV_NAMES, 1)
        finally:
            await pool.close()
    if when == "unchanged":
        assert names == ["Ana", "Bruno"], names
    else:
        assert names == REFUSED, names  # not Carla's (clinic 2)


async def test_a_copy_after_the_policy_set(ready: str) -> None:
    """The copy path decides by itself whether to check (`Guard.checks_table`): after
    `guard.policy = SECOND`, clinic 1's copy of a record of clinic 2 into invoices (a table
    SECOND does not list, holding the tenant column) is refused; its own is copied."""
    conn: Any = await connect(ready, policy=FIRST)
    try:
        assert await _clinic_1(conn, "SELECT 1") == [1]
        conn.tenantguard.policy = SECOND
        with tenant(1):
            try:
                await conn.copy_records_to_table("invoices", records=[(3, 2, "planted")])
                planted = "copied"
            except TenantIsolationError:
                planted = REFUSED
            await conn.copy_records_to_table("invoices", records=[(4, 1, "mine")])
    finally:
        await conn.close()
    rows = await _raw(ready, "SELECT id, tenant_id, amount FROM invoices ORDER BY 1")
    assert planted == REFUSED, planted
    assert [tuple(r) for r in rows] == [(1, 1, "a1"), (2, 2, "b2"), (4, 1, "mine")], rows
