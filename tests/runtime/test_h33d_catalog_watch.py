"""h33d: DDL another session commits after the guard's connections read the catalog.

The guard reads the catalog (triggers, rules, functions that change the role, views…) when a
connection opens. A migration run later from another session (a trigger moving every
workspace's counts, a function doing RESET ROLE) was never judged, not even after reset() or
the pool's release (h32h's strict xfails, fixed in tests/runtime/test_h32h_attack.py). With the
catalog watch installed (`schema_code.CATALOG_WATCH`: two event triggers counting committed
DDL in one row), the round trip that starts each pool lease (and the first statement after a
reset()) checks the count and reads the catalog again when it moved.

Each attack is a migration made from another session between two leases of a pool holding one
connection; the next lease's write of workspace 1's note must be refused, and the rows show
what it would have done. Twins: the same lease without the migration runs, and temporary
objects (another request's TEMP table) do not move the count.
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import create_pool, tenant
from tenantguard.runtime.schema_code import CATALOG_WATCH
from tests.runtime.test_h32d_open_items import POLICY as WORKSPACES
from tests.runtime.test_h32d_open_items import SCHEMA as WORKSPACE_SCHEMA
from tests.runtime.test_h32h_attack import (
    BUMPS,
    _counts_after_note,
    _escaped,
    _owner_runs,
    _role_pool,
)

UNTOUCHED = [(1, 0), (2, 0)]
# workspace 1's note moving only workspace 1's count
PINNED_BUMP = (
    "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " UPDATE counts SET n = n + 1 WHERE ws_id = NEW.ws_id; RETURN NEW; END$$;"
    " CREATE TRIGGER t BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION bump()"
)
# the same function, replaced in place (same oid): every workspace's count
EVERY_BUMP = (
    "CREATE OR REPLACE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " UPDATE counts SET n = n + 1; RETURN NEW; END$$"
)


async def _pool(database: str, *, watch: bool = True, setting: bool = False) -> object:
    await _owner_runs(database, WORKSPACE_SCHEMA)
    if watch:
        await _owner_runs(database, CATALOG_WATCH)
    return await create_pool(
        database, policy=WORKSPACES, min_size=1, max_size=1, set_tenant_setting=setting
    )


async def _lease(pool: object) -> object:
    async with pool.acquire() as connection:  # type: ignore[attr-defined]
        return await _counts_after_note(connection)


@pytest.mark.parametrize("setting", [False, True], ids=["no setting", "tenant setting"])
@pytest.mark.parametrize("shape", sorted(BUMPS))
async def test_a_migration_between_two_leases_is_judged(
    database: str, shape: str, setting: bool
) -> None:
    pool = await _pool(database, setting=setting)
    try:
        assert await _lease(pool) == UNTOUCHED  # no trigger yet
        await _owner_runs(database, BUMPS[shape])  # a migration, from another session
        assert await _lease(pool) == "refused"
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_without_the_watch_a_migration_between_two_leases_is_not_seen(
    database: str,
) -> None:
    """Known open without the watch (the event triggers need a superuser to install): the
    pool's connection judges by the catalog it read (workspace 2's count moves)."""
    pool = await _pool(database, watch=False)
    try:
        assert await _lease(pool) == UNTOUCHED
        await _owner_runs(database, BUMPS["a BEFORE trigger"])
        assert await _lease(pool) == [(1, 1), (2, 1)]
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_function_replaced_in_place_is_judged(database: str) -> None:
    pool = await _pool(database)
    try:
        await _owner_runs(database, PINNED_BUMP)
        assert await _lease(pool) == [(1, 1), (2, 0)]  # the pinned trigger runs
        owner = await asyncpg.connect(database)
        try:
            before = await owner.fetchval("SELECT 'bump'::regproc::oid")
            await owner.execute(EVERY_BUMP)
            assert await owner.fetchval("SELECT 'bump'::regproc::oid") == before  # same oid
        finally:
            await owner.close()
        assert await _lease(pool) == "refused"
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_migration_not_yet_committed_is_judged_once_committed(database: str) -> None:
    pool = await _pool(database)
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(PINNED_BUMP)
        assert await _lease(pool) == [(1, 1), (2, 0)]
        await owner.execute("BEGIN")
        await owner.execute(EVERY_BUMP)  # the count moved in its transaction, not committed
        assert await _lease(pool) == [(1, 1), (2, 0)]  # the old function still runs
        await owner.execute("COMMIT")
        assert await _lease(pool) == "refused"
    finally:
        await owner.close()
        await pool.close()  # type: ignore[attr-defined]


async def test_a_trigger_created_then_dropped(database: str) -> None:
    pool = await _pool(database)
    try:
        await _owner_runs(database, BUMPS["a BEFORE trigger"])
        assert await _lease(pool) == "refused"
        await _owner_runs(database, "DROP TRIGGER t ON notes")
        # read again, but what the guard learnt of the trigger stays (it forgets nothing it
        # learnt: a false alarm until the pool's connections are replaced, never a leak)
        assert await _lease(pool) == "refused"
        await _owner_runs(
            database, "CREATE TRIGGER t BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION bump()"
        )
        assert await _lease(pool) == "refused"
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_trigger_disabled_then_enabled(database: str) -> None:
    """A disabled trigger is judged as if it ran (the read takes every trigger); enabled by a
    migration later, it is still refused."""
    pool = await _pool(database)
    try:
        await _owner_runs(
            database, BUMPS["a BEFORE trigger"] + "; ALTER TABLE notes DISABLE TRIGGER t"
        )
        assert await _lease(pool) == "refused"
        await _owner_runs(database, "ALTER TABLE notes ENABLE TRIGGER t")
        assert await _lease(pool) == "refused"
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_watch_disabled_before_the_migration(database: str) -> None:
    """A superuser's ALTER EVENT TRIGGER … DISABLE runs no event trigger (the count stays): the
    check also asks that both fire, and reads the catalog again when one does not."""
    pool = await _pool(database)
    try:
        assert await _lease(pool) == UNTOUCHED
        await _owner_runs(
            database,
            "ALTER EVENT TRIGGER tenantguard_catalog_end DISABLE; " + BUMPS["a BEFORE trigger"],
        )
        assert await _lease(pool) == "refused"
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_watch_dropped_before_the_migration(database: str) -> None:
    pool = await _pool(database)
    try:
        assert await _lease(pool) == UNTOUCHED
        await _owner_runs(
            database,
            "DROP EVENT TRIGGER tenantguard_catalog_end; DROP SCHEMA tenantguard CASCADE; "
            + BUMPS["a BEFORE trigger"],
        )
        assert await _lease(pool) == "refused"
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_temporary_objects_leave_the_count(database: str) -> None:
    """The cost twin: another session's TEMP table (made and dropped) moves no count."""
    pool = await _pool(database)
    try:
        owner = await asyncpg.connect(database)
        try:
            count = "SELECT version FROM tenantguard.catalog_version"
            before = await owner.fetchval(count)
            await owner.execute(
                "CREATE TEMP TABLE scratch (id serial); CREATE TEMP VIEW v AS SELECT 1;"
                " DROP VIEW v; DROP TABLE scratch"
            )
            assert await owner.fetchval(count) == before
            await owner.execute("CREATE TABLE kept (id int)")
            assert await owner.fetchval(count) == before + 1
        finally:
            await owner.close()
    finally:
        await pool.close()  # type: ignore[attr-defined]


# A function given a role in its configuration (`ALTER FUNCTION … SET role = …`): the call runs
# as that role — the login superuser here, out of Row-Level Security — whatever role the pool's
# init= set (PostgreSQL checks no membership there). Its body names no role change.
# (Its body read every clinic's patients, filtered by RLS alone, and 'Ana,Bruno,Carla' leaked;
# since h34C the runtime refuses such a body for itself, as the CLI does. Pinned by the tenant
# setting, the body passes that sort, and what is checked here stays the role: refused for it.)
PEEK = (
    "CREATE FUNCTION peek() RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN (SELECT"
    " string_agg(first_name, ',' ORDER BY first_name) FROM patients"
    " WHERE tenant_id = current_setting('app.tenant_id')::bigint); END$$"
)


async def _peek(pool: object, role: str) -> object:
    async with pool.acquire() as connection:  # type: ignore[attr-defined]
        with tenant(1):
            try:
                got = await connection.fetchval("SELECT peek()")
            except TenantIsolationError as error:
                assert "role" in str(error), error
                assert await connection.fetchval("SELECT current_user") == role
                return "refused"
            assert await _escaped(connection, "SELECT 1", role) == ["Ana", "Bruno"]
            return got


@pytest.mark.parametrize("when", ["before the read", "after the read"])
async def test_a_function_configured_with_a_role_is_refused(two_clinics: str, when: str) -> None:
    login = "SELECT current_user"
    await _owner_runs(two_clinics, CATALOG_WATCH)
    owner = await asyncpg.connect(two_clinics)
    try:
        superuser = await owner.fetchval(login)
    finally:
        await owner.close()
    configure = f'ALTER FUNCTION peek() SET role = "{superuser}"'
    pool, role = await _role_pool(
        two_clinics, PEEK + (f"; {configure}" if when == "before the read" else "")
    )
    try:
        if when == "after the read":
            assert await _peek(pool, role) == "Ana,Bruno"  # RLS: clinic 1's own
            await _owner_runs(two_clinics, configure)  # a migration, from another session
        assert await _peek(pool, role) == "refused"  # leaked: 'Ana,Bruno,Carla'
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_plain_lease_sends_one_round_trip_before_its_statement(database: str) -> None:
    """The watch costs plain leases no round trip: the release defers the pool's reset, and the
    next lease's first round trip holds the check, the reset and the tenant setting. (The
    watch's own event trigger function, which no statement can call, kept the reset at each
    release: read as schema code a read runs unnamed.)"""
    pool = await _pool(database, setting=True)
    try:
        guard = pool.tenantguard  # type: ignore[attr-defined]
        skipped, syncs = guard.resets_skipped, guard.setting_syncs
        for workspace in (1, 2, 1):
            with tenant(workspace):
                async with pool.acquire() as connection:  # type: ignore[attr-defined]
                    pinned = "SELECT body FROM notes WHERE ws_id = $1"
                    assert await connection.fetch(pinned, workspace) == []
        assert guard.resets_skipped == skipped + 3
        assert guard.setting_syncs == syncs + 3  # one script a lease, with the setting
    finally:
        await pool.close()  # type: ignore[attr-defined]


# A trigger on a partition: workspace 1's note, written through the partitioned parent, lands
# in the partition whose BEFORE trigger moves every workspace's count.
PARTITIONED = (
    "CREATE TABLE pnotes (ws_id bigint NOT NULL, body text) PARTITION BY LIST (ws_id);"
    " CREATE TABLE pnotes_1 PARTITION OF pnotes FOR VALUES IN (1);"
    " CREATE TABLE pnotes_2 PARTITION OF pnotes FOR VALUES IN (2)"
)
PARTITION_BUMP = BUMPS["a BEFORE trigger"].replace("ON notes", "ON pnotes_1")


@pytest.mark.parametrize("when", ["before the read", "after the read"])
async def test_a_trigger_on_a_partition_is_judged(database: str, when: str) -> None:
    from tenantguard import Policy

    await _owner_runs(database, WORKSPACE_SCHEMA + ";" + PARTITIONED + ";" + CATALOG_WATCH)
    if when == "before the read":
        await _owner_runs(database, PARTITION_BUMP)
    policy = Policy(
        "ws_id",
        {"members", "invites", "counts", "notes", "pnotes", "pnotes_1", "pnotes_2"},
        global_tables={"workspaces"},
    )
    pool = await create_pool(database, policy=policy, min_size=1, max_size=1)

    async def note() -> object:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            transaction = connection.transaction()
            await transaction.start()
            try:
                with tenant(1):
                    try:
                        await connection.execute(
                            "INSERT INTO pnotes (ws_id, body) VALUES ($1, 'b')", 1
                        )
                    except TenantIsolationError:
                        return "refused"
                rows = await asyncpg.Connection.fetch(
                    connection, "SELECT ws_id, n FROM counts ORDER BY 1"
                )
                return [tuple(r) for r in rows]
            finally:
                await transaction.rollback()

    try:
        if when == "after the read":
            assert await note() == UNTOUCHED
            await _owner_runs(database, PARTITION_BUMP)
        assert await note() == "refused"  # leaks: [(1, 1), (2, 1)]
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_pinned_trigger_on_a_partition_runs(database: str) -> None:
    """The safe twin: the partition's trigger moves the note's own workspace's count only."""
    from tenantguard import Policy

    await _owner_runs(
        database,
        WORKSPACE_SCHEMA + ";" + PARTITIONED + ";" + PINNED_BUMP.replace("ON notes", "ON pnotes_1"),
    )
    policy = Policy("ws_id", {"counts", "notes", "pnotes", "pnotes_1", "pnotes_2"})
    pool = await create_pool(database, policy=policy, min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                await connection.execute("INSERT INTO pnotes (ws_id, body) VALUES ($1, 'b')", 1)
            rows = await asyncpg.Connection.fetch(
                connection, "SELECT ws_id, n FROM counts ORDER BY 1"
            )
            assert [tuple(r) for r in rows] == [(1, 1), (2, 0)]
    finally:
        await pool.close()  # type: ignore[attr-defined]


# a function reading no tenant table (the runtime accepts a call of it), and its namesake doing
# RESET ROLE first
HELLO = (
    "CREATE FUNCTION {schema}hello() RETURNS SETOF text LANGUAGE plpgsql AS $$BEGIN {first}"
    " RETURN QUERY SELECT 'hello'; END$$"
)


async def test_a_function_shadowing_by_search_path_is_judged(two_clinics: str) -> None:
    """A migration adds a schema named as the init's role — first on the default search_path
    (`"$user", public`) — with its own hello() doing RESET ROLE: the request's unchanged
    `SELECT * FROM hello()` now calls it (leaked: the next all_names() ran as the login role,
    every clinic's names). (The function called was all_names(), which reads every clinic's
    patients under RLS: since h34C refused for its body alone, as the CLI does — and two
    functions of one name pinned by the setting are judged as one that cannot be pinned, as
    the CLI judges overloads. hello() reads no tenant table, so what is checked stays the
    role.)"""
    await _owner_runs(two_clinics, CATALOG_WATCH)
    pool, role = await _role_pool(two_clinics, HELLO.format(schema="", first=""))
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                assert await _escaped(connection, "SELECT * FROM hello()", role) == [
                    "Ana", "Bruno",
                ]  # fmt: skip
        await _owner_runs(
            two_clinics,
            f"CREATE SCHEMA {role} AUTHORIZATION {role};"
            + HELLO.format(schema=f"{role}.", first="RESET ROLE;")
            + f"; GRANT EXECUTE ON FUNCTION {role}.hello() TO {role}",
        )
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                got = await _escaped(connection, "SELECT * FROM hello()", role)
                assert got == ["refused"]
    finally:
        await pool.close()  # type: ignore[attr-defined]
