"""Round 37 (helper h37R): what the runtime guard read of the catalog, changed by another
session AFTER the read, on a real server. Each case: clinic 1's statement runs once (its
verdict made and cached on the catalog as read), another session commits DDL, and clinic 1
runs the same statement again, on a connection of `connect()` that is never reset (by
`fetch`, and by a statement it prepared before the DDL) and on a pool's connection between two
leases and within one lease. The rows it reads (or the row it writes) are asserted: never clinic 2's (Carla).

Before h37R a connection of connect() read the catalog at connect and when it ran DDL itself
only: every shape below read or wrote across clinics on it (the pool held: the catalog watch is
checked in the round trip that starts each lease). Now each guarded session LISTENs to the
catalog watch's channel (`schema_code.WATCH_CHANNEL`): the watch's event trigger notifies at
each counted DDL's commit, and the connection marks its catalog stale as the notification is
read from the socket; the next call, hot path included, reads the catalog again before it is
checked. Nothing is added per call (one LISTEN at connect, folded into the pool's reset script).

Two shapes leaked on a pool too, the catalog read again after the DDL (not staleness: the
sorting of the catalog's views), fixed in `Guard._with_views`:
- "tenant table renamed": the policy's tenant table `patients` renamed to `patients_all` (a
  table the policy does not name) and a view `patients` over it, its tenant_id computed: read
  as the tenant table, pinned by the computed column: ['Ana', 'Bruno', 'Carla']. A view named
  like one of the policy's tables is now sorted with the catalog's unlisted tables holding the
  tenant column read as tenant tables: it cannot be pinned (refused).
- "global table renamed": the global `tenants` renamed and a view over patients made under its
  name: the view was sorted as one that cannot be pinned, but the catalog's home of the global
  name (h36R, `global_homes`: public holds a `tenants`) still read it as global:
  ['Ana', 'Bruno', 'Carla']. A global name whose view reads tenant rows loses its home.

Left open (said in the README): a notification reaches a session between its transactions only
(PostgreSQL holds it while the listener's transaction is open), and a statement sent in the
microseconds between the DDL's commit and the notification's arrival is judged on the old
catalog (measured: without a pause here, the next statement raced the notification and
sometimes won); a migration that disables the watch's triggers runs unheard (the pool's check at the
next lease sees the moved mark).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant
from tenantguard.runtime.schema_code import CATALOG_WATCH
from tests.runtime.test_h36C_attacks import _raw
from tests.runtime.test_runtime import POLICY

NAMES = "SELECT first_name FROM {rel} WHERE tenant_id = $1 ORDER BY 1"
MY_NAMES = (
    "CREATE FUNCTION my_names(t bigint) RETURNS SETOF text LANGUAGE sql STABLE"
    " AS $$ SELECT first_name FROM patients WHERE tenant_id = t ORDER BY 1 $$;"
)
ALL_NAMES = (
    "CREATE FUNCTION all_names() RETURNS text LANGUAGE sql STABLE"
    " AS $$ SELECT string_agg(first_name, ',' ORDER BY first_name) FROM public.patients $$;"
)
INSERT = (
    "INSERT INTO patients (id, tenant_id, first_name, phone_number)"
    " VALUES ($2, $1, 'Dan', 'p' || $2::bigint) RETURNING last_name"
)

# name -> (made before the guard reads the catalog, clinic 1's statement, DDL made after)
SHAPES: dict[str, tuple[str, str, str]] = {
    # a same-name view in a schema earlier on the path ("$user": the role's schema) that
    # passes every clinic's rows under tenant_id 1
    "shadowed by the path": (
        "",
        NAMES.format(rel="patients"),
        'CREATE SCHEMA "{role}"; CREATE VIEW "{role}".patients AS'
        " SELECT id, tenant_id * 0 + 1 AS tenant_id, first_name FROM public.patients;",
    ),
    # a view's body replaced: it no longer passes the tenant column through
    "view replaced": (
        "CREATE VIEW pv AS SELECT tenant_id, first_name FROM patients;",
        NAMES.format(rel="pv"),
        "CREATE OR REPLACE VIEW pv AS SELECT tenant_id * 0 + 1 AS tenant_id, first_name"
        " FROM patients;",
    ),
    # a tenant table renamed, a view made under its old name (every clinic's rows as 1's)
    "tenant table renamed": (
        "",
        NAMES.format(rel="patients"),
        "ALTER TABLE patients RENAME TO patients_all; CREATE VIEW patients AS"
        " SELECT id, tenant_id * 0 + 1 AS tenant_id, first_name FROM patients_all;",
    ),
    # a global table renamed, a view over a tenant table made under its name
    "global table renamed": (
        "",
        "SELECT name FROM tenants ORDER BY 1",
        "ALTER TABLE tenants RENAME TO tenants_old; CREATE VIEW tenants AS"
        " SELECT id, first_name AS name FROM patients;",
    ),
    # a function's body replaced: its pin dropped
    "function body replaced": (
        MY_NAMES,
        "SELECT * FROM my_names($1::bigint)",
        "CREATE OR REPLACE FUNCTION my_names(t bigint) RETURNS SETOF text LANGUAGE sql STABLE"
        " AS $$ SELECT first_name FROM patients ORDER BY 1 $$;",
    ),
    # a function's own search_path set: it reads another schema's `patients`
    "function path set": (
        MY_NAMES,
        "SELECT * FROM my_names($1::bigint)",
        "CREATE SCHEMA archive; CREATE VIEW archive.patients AS"
        " SELECT id, tenant_id * 0 + 1 AS tenant_id, first_name FROM public.patients;"
        " ALTER FUNCTION my_names(bigint) SET search_path = archive, public;",
    ),
    # a column default that reads every clinic's names, returned by clinic 1's INSERT
    "column default": (
        "",
        INSERT,
        ALL_NAMES + " ALTER TABLE patients ALTER COLUMN last_name SET DEFAULT all_names();",
    ),
    # a global name shadowed by a table of every clinic's rows in a schema earlier on the path
    "global shadowed by the path": (
        "",
        "SELECT name FROM tenants ORDER BY 1",
        'CREATE SCHEMA "{role}"; CREATE TABLE "{role}".tenants AS'
        " SELECT tenant_id, id, first_name AS name FROM public.patients;",
    ),
    # a rule that writes clinic 2's rows at each INSERT of clinic 1's
    "rule": (
        "",
        INSERT,
        "CREATE RULE touch_2 AS ON INSERT TO patients DO ALSO"
        " UPDATE patients SET first_name = 'overwritten' WHERE tenant_id = 2;",
    ),
    # a trigger that does the same
    "trigger": (
        "",
        INSERT,
        "CREATE FUNCTION steal() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " NEW.last_name := (SELECT string_agg(first_name, ',' ORDER BY first_name)"
        " FROM public.patients); RETURN NEW; END $$;"
        " CREATE TRIGGER steal BEFORE INSERT ON patients"
        " FOR EACH ROW EXECUTE FUNCTION steal();",
    ),
}

# a migration's commit and the application's next statement are not microseconds apart: the
# notification's trip (well under a millisecond on loopback) is given this much
_TOLD = 0.05

FIRST = {INSERT: [None], "SELECT name FROM tenants ORDER BY 1": ["North", "South"]}

Run = Callable[[str, tuple[Any, ...]], Awaitable[list[Any]]]


async def _clinic_1(run: Run, statement: str, number: int) -> list[Any]:
    """Clinic 1's statement: the values it returned ([] if refused)."""
    args: tuple[Any, ...] = (1, 900 + number) if statement == INSERT else (1,)
    if "$1" not in statement:
        args = ()
    rows: list[Any] = []
    with tenant(1), contextlib.suppress(TenantIsolationError):
        rows = [r[0] for r in await run(statement, args)]
    return rows


def _leaked(rows: list[Any]) -> bool:
    return any("Carla" in str(value) for value in rows)


OPEN: dict[str, str] = {}  # shapes not fixed (strict xfail): none left


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=OPEN[s])) if s in OPEN else s
        for s in sorted(SHAPES)
    ],
)
@pytest.mark.parametrize("how", ["connect", "prepared", "pool", "one lease"])
async def test_ddl_of_another_session_after_the_catalog_read(
    two_clinics: str, shape: str, how: str
) -> None:
    before, statement, after = SHAPES[shape]
    role = (await _raw(two_clinics, "SELECT current_user::text"))[0][0]
    await _raw(two_clinics, CATALOG_WATCH + before)
    if how in ("connect", "prepared"):
        conn = await connect(two_clinics, policy=POLICY)
        prepared: dict[str, Any] = {}

        async def run(sql: str, args: tuple[Any, ...]) -> list[Any]:
            if how == "connect":
                return list(await conn.fetch(sql, *args))
            # (prepared once, before the DDL: each execution is checked again)
            if sql not in prepared:
                prepared[sql] = await conn.prepare(sql)
            return list(await prepared[sql].fetch(*args))

        close: Callable[[], Awaitable[None]] = conn.close
    elif how == "pool":
        pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)

        async def run(sql: str, args: tuple[Any, ...]) -> list[Any]:
            async with pool.acquire() as leased:
                return list(await leased.fetch(sql, *args))

        close = pool.close
    else:  # both calls in one lease: the DDL committed while it is held
        pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
        held = await pool.acquire()

        async def run(sql: str, args: tuple[Any, ...]) -> list[Any]:
            return list(await held.fetch(sql, *args))

        async def close() -> None:
            await pool.release(held)
            await pool.close()

    try:
        first = await _clinic_1(run, statement, 1)
        await _raw(two_clinics, after.format(role=role))
        await asyncio.sleep(_TOLD)  # the notification on its way (see the module's doc)
        second = await _clinic_1(run, statement, 2)
    finally:
        await close()
    # the catalog as read: clinic 1's rows
    assert first == FIRST.get(statement, ["Ana", "Bruno"]), first
    assert not _leaked(second), second  # was every clinic's names on connect()
    everyone = await _raw(two_clinics, "SELECT first_name, last_name FROM patients_rows")
    assert not [r for r in everyone if r[0] == "Dan" and "Carla" in str(r[1])]
    # clinic 2's rows: Carla's, unchanged (a rule's UPDATE would have renamed her)
    theirs = await _raw(two_clinics, "SELECT first_name FROM patients_rows WHERE tenant_id = 2")
    assert [r[0] for r in theirs] == ["Carla"]


@pytest.fixture(autouse=True)
async def _patients_rows(two_clinics: str) -> None:
    """A view of patients' rows, whatever the shape did to the name `patients`."""
    await _raw(
        two_clinics,
        "CREATE SCHEMA probe; CREATE VIEW probe.patients_rows AS"
        " SELECT tenant_id, first_name, last_name FROM public.patients;"
        " ALTER DATABASE " + two_clinics.rsplit("/", 1)[-1].split("?")[0] + " SET search_path"
        ' = "$user", public, probe;',
    )


# (DISCARD ALL ends it too, and is handled alike; it also drops asyncpg's prepared statements,
# and the next fetch fails in asyncpg: not a case to test here)
@pytest.mark.parametrize("unlisten", ["UNLISTEN *", "UNLISTEN tenantguard_catalog"])
async def test_the_application_s_unlisten_does_not_silence_the_watch(
    two_clinics: str, unlisten: str
) -> None:
    """The application's UNLISTEN * ends the session's LISTEN of the watch's
    channel too: the guard hears it again, the catalog read again, before the next statement."""
    before, statement, after = SHAPES["view replaced"]
    await _raw(two_clinics, CATALOG_WATCH + before)
    conn = await connect(two_clinics, policy=POLICY)

    async def run(sql: str, args: tuple[Any, ...]) -> list[Any]:
        return list(await conn.fetch(sql, *args))

    try:
        first = await _clinic_1(run, statement, 1)
        with tenant(1):  # (its own block: no reset between it and the next statements)
            await conn.execute(unlisten)
        second = await _clinic_1(run, statement, 2)
        await _raw(two_clinics, after)
        await asyncio.sleep(_TOLD)
        third = await _clinic_1(run, statement, 3)
    finally:
        await conn.close()
    assert first == second == ["Ana", "Bruno"]
    assert not _leaked(third), third  # ['Ana', 'Bruno', 'Carla'] without the LISTEN again


async def test_ddl_committed_inside_the_application_s_transaction(two_clinics: str) -> None:
    """PostgreSQL holds a notification while the listener's transaction is open, and the
    transaction's statements see the DDL (READ COMMITTED): the INSERT with no column list, read
    by the old order, wrote clinic 2's row. A statement proven by a column order
    (`RuntimeVerdict.by_order`) now reads the watch's mark first (one round trip, that
    statement only: naming the columns avoids it), and the catalog again if it moved."""
    from tests.runtime.test_h32h_attack import _owner_runs

    await _owner_runs(two_clinics, "CREATE TABLE notes (tenant_id bigint, other bigint)")
    await _owner_runs(two_clinics, CATALOG_WATCH)
    policy = POLICY.replace(tenant_tables={*POLICY.tenant_tables, "notes"})
    insert = "INSERT INTO notes SELECT $1::bigint, 2"
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            async with conn.transaction():
                await conn.execute("SELECT 1")
                await _owner_runs(two_clinics, "ALTER TABLE notes DROP COLUMN tenant_id")
                await _owner_runs(two_clinics, "ALTER TABLE notes ADD COLUMN tenant_id bigint")
                await asyncio.sleep(_TOLD)
                await conn.execute(insert, 1)
    finally:
        await conn.close()
    rows = await _raw(two_clinics, "SELECT tenant_id, other FROM notes")
    assert [tuple(r) for r in rows] == []  # was [(2, 1)]: clinic 2's row, written by clinic 1


async def test_an_insert_by_the_column_order_still_runs(two_clinics: str) -> None:
    """The twin: the same INSERT with no column list, the order unchanged, in a transaction
    and out of one: written (the watch's mark read before each, the same)."""
    from tests.runtime.test_h32h_attack import _owner_runs

    await _owner_runs(two_clinics, "CREATE TABLE notes (tenant_id bigint, other bigint)")
    await _owner_runs(two_clinics, CATALOG_WATCH)
    policy = POLICY.replace(tenant_tables={*POLICY.tenant_tables, "notes"})
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1):
            await conn.execute("INSERT INTO notes SELECT $1::bigint, 2", 1)
            async with conn.transaction():
                await conn.execute("INSERT INTO notes SELECT $1::bigint, 3", 1)
                await conn.execute("INSERT INTO notes VALUES ($1, 4)", 1)
            rows = await conn.fetch("SELECT * FROM notes WHERE tenant_id = $1 ORDER BY 2", 1)
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [(1, 2), (1, 3), (1, 4)]


async def test_a_global_name_shadowed_by_a_table_without_the_tenant_column_passes(
    two_clinics: str,
) -> None:
    """The twin of "global shadowed by the path": the role's schema's `tenants` holds no tenant
    column (a copy of the registry's names): read as the global table it is, unpinned."""
    role = (await _raw(two_clinics, "SELECT current_user::text"))[0][0]
    await _raw(
        two_clinics,
        CATALOG_WATCH + f'CREATE SCHEMA "{role}"; CREATE TABLE "{role}".tenants AS'
        " SELECT id, name FROM public.tenants;",
    )
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            rows = [r[0] for r in await conn.fetch("SELECT name FROM tenants ORDER BY 1")]
    finally:
        await conn.close()
    assert rows == ["North", "South"]


@pytest.mark.xfail(
    strict=True,
    reason="h37R, not fixed: PostgreSQL holds the watch's notification while the listener's "
    "transaction is open, and the transaction's next statement reads the view as replaced "
    "(READ COMMITTED; the view not yet read in it, so no lock held the DDL back): judged on "
    "the catalog read before. Only statements proven by a column order check the watch's "
    "mark first (a round trip each); doing it for every statement in a transaction would put "
    "a round trip on the hot path",
)
async def test_a_view_replaced_inside_the_application_s_transaction(two_clinics: str) -> None:
    before, statement, after = SHAPES["view replaced"]
    await _raw(two_clinics, CATALOG_WATCH + before)
    conn = await connect(two_clinics, policy=POLICY)
    rows: list[Any] = []
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            await conn.fetch(statement, 1)  # (outside: a read in it would hold the DDL back)
            async with conn.transaction():
                await conn.execute("SELECT 1")
                await _raw(two_clinics, after)
                await asyncio.sleep(_TOLD)
                rows = [r[0] for r in await conn.fetch(statement, 1)]
    finally:
        await conn.close()
    assert not _leaked(rows), rows  # is ['Ana', 'Bruno', 'Carla']


async def test_copy_records_with_no_column_list_after_the_order_moved(two_clinics: str) -> None:
    """`copy_records_to_table` with no `columns=` writes by the table's order: the guard checked
    each record by the order asyncpg read (its cached `SELECT * … LIMIT 1`), and the COPY had no
    column list, so the server wrote by the order it has when it runs. In a transaction after
    another session's `DROP`/`ADD COLUMN tenant_id`, `records=[(1, 7)]` wrote (tenant_id 7,
    other 1): tenant 7's row. The COPY now names the columns its records were checked for."""
    from tests.runtime.test_h32h_attack import _owner_runs

    await _owner_runs(two_clinics, "CREATE TABLE notes (tenant_id bigint, other bigint)")
    await _owner_runs(two_clinics, CATALOG_WATCH)
    policy = POLICY.replace(tenant_tables={*POLICY.tenant_tables, "notes"})
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1):
            await conn.copy_records_to_table("notes", records=[(1, 5)])
            with contextlib.suppress(TenantIsolationError):
                async with conn.transaction():
                    await conn.execute("SELECT 1")
                    await _owner_runs(
                        two_clinics,
                        "ALTER TABLE notes DROP COLUMN tenant_id;"
                        " ALTER TABLE notes ADD COLUMN tenant_id bigint",
                    )
                    await asyncio.sleep(_TOLD)
                    await conn.copy_records_to_table("notes", records=[(1, 7)])
    finally:
        await conn.close()
    rows = await _raw(two_clinics, "SELECT tenant_id, other FROM notes ORDER BY other")
    # the first row lost its tenant_id with the column; the second is clinic 1's (was (7, 1))
    assert [tuple(r) for r in rows] in ([(None, 5)], [(None, 5), (1, 7)])
