"""Round 30: the pool's reset skipped when every statement since the last release was plain,
attacked by an outsider on a real server (pool `min_size=max_size=1`: the next request gets the
same backend). The attack was made on the skip widened to pools without the tenant setting
(88feeeb, since taken back: without the setting the reset always runs); each route below
passed a pool with `set_tenant_setting=True`, where the skip has been since round 2, all the
same, and runs on such pools here.

Each route leaves session state from clinic 1's request that the skipped reset would have
undone, and clinic 2's request on the same connection got it:

1. a view whose own definition calls a built-in that leaves state (`nextval`, an advisory
   lock): the statement reading it names no call, so it was plain; the catalog read followed
   only the schema's functions a view names (clinic 2 read clinic 1's new id with currval(),
   and held its lock);
2. a schema function called by attribute notation (`p.lock_down` calls `lock_down(p)`, no
   parenthesis in the text) whose body changes a setting with `set_config` (the stateful scan
   looked for `set`, a word `set_config` does not contain): clinic 2's session ran read-only,
   or with another search_path;
3. schema code a read runs without naming it — a domain's CHECK advancing a sequence (`SELECT
   1::counted`): only setting changers were looked for there;
4. a call left running by clinic 1 (a task it started) when it released the connection: the
   skipped reset handed the connection on with the call in flight, whose `BEGIN` took clinic
   2's INSERT into a transaction that clinic 2's release rolled back (asyncpg's own reset fails
   there, "another operation is in progress", and the pool replaces the connection);
5. such a view created by an unscoped() job after the pool's connections read the catalog:
   they read it as plain (a statement that may change schema code now makes every connection
   of the guard read the catalog again as the pool hands it out).

Each has a twin that keeps the skip (plain statements only: the reset's round trip is what the
skip saves).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import create_pool, tenant, unscoped
from tests.runtime.test_runtime import POLICY

PINNED = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY id"
ROWS = {1: ["Ana", "Bruno"], 2: ["Carla"]}


async def _owner(dsn: str, sql: str) -> None:
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute(sql)
    finally:
        await owner.close()


async def _names(dsn: str, clinic: int) -> list[str]:
    raw = await asyncpg.connect(dsn)
    try:
        return [r[0] for r in await raw.fetch(PINNED, clinic)]
    finally:
        await raw.close()


async def _plain_cycle_skips(pool: asyncpg.Pool) -> None:
    """Plain reads of both clinics, each released without the reset's round trip."""
    guard = pool.tenantguard  # type: ignore[attr-defined]
    skipped = guard.resets_skipped
    for clinic in (1, 2):
        async with pool.acquire() as conn:
            with tenant(clinic):
                assert [r[0] for r in await conn.fetch(PINNED, clinic)] == ROWS[clinic]
    assert guard.resets_skipped == skipped + 2


# -- 1. a view's own call of a built-in that leaves state ---------------------------------


@pytest.mark.parametrize("view", ["next_ids", '"Next Ids"', '"nèxt"', 'public."next_ids"'])
async def test_a_views_own_nextval_is_not_handed_to_the_next_clinic(
    two_clinics: str, view: str
) -> None:
    """(A quoted name with a blank or a letter past ASCII: the names a statement reads were
    taken as ASCII words, `next` and `ids`, and missed the view's.)"""
    created = "next_ids" if "next_ids" in view else view
    await _owner(two_clinics, f"CREATE VIEW {created} AS SELECT nextval('patients_id_seq') AS id")
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        for _ in range(2):  # the second time, the SELECT's verdict is cached
            async with pool.acquire() as conn:
                with tenant(1):
                    assert await conn.fetchval(f"SELECT id FROM {view}") > 3
            async with pool.acquire() as conn:
                with tenant(2):
                    for read in ("SELECT lastval()", "SELECT currval('patients_id_seq')"):
                        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
                            await conn.fetchval(read)
        await _plain_cycle_skips(pool)
    finally:
        await pool.close()


@pytest.mark.parametrize(
    "schema",
    [
        "CREATE VIEW locks AS SELECT pg_try_advisory_lock(77) AS taken",
        "CREATE FUNCTION try_lock() RETURNS bool LANGUAGE sql "
        "AS $$ SELECT pg_try_advisory_lock(77) $$;"
        "CREATE VIEW locks AS SELECT try_lock() AS taken",
        'CREATE FUNCTION "Try Lock"() RETURNS bool LANGUAGE sql '
        "AS $$ SELECT pg_try_advisory_lock(77) $$;"
        'CREATE VIEW locks AS SELECT "Try Lock"() AS taken',
    ],
    ids=["in the view", "in a function it calls", "in a function of a quoted name"],
)
async def test_a_views_advisory_lock_is_not_handed_to_the_next_clinic(
    two_clinics: str, schema: str
) -> None:
    await _owner(two_clinics, schema)
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        async with pool.acquire() as conn:
            with tenant(1):
                assert await conn.fetchval("SELECT taken FROM locks") is True
        async with pool.acquire() as conn:
            with tenant(2):
                # the lock went with clinic 1's release: clinic 2's session does not hold it
                assert await conn.fetchval("SELECT pg_advisory_unlock(77)") is False
        await _plain_cycle_skips(pool)
    finally:
        await pool.close()


async def test_a_view_of_safe_built_ins_keeps_the_skip(two_clinics: str) -> None:
    await _owner(
        two_clinics,
        "CREATE VIEW patient_names AS SELECT tenant_id, lower(first_name) AS name, "
        "coalesce(phone_number, '') AS phone, now() AS at FROM patients",
    )
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        guard = pool.tenantguard
        skipped = guard.resets_skipped
        for clinic in (1, 2):
            async with pool.acquire() as conn:
                with tenant(clinic):
                    rows = await conn.fetch(
                        "SELECT name FROM patient_names WHERE tenant_id = $1 ORDER BY name",
                        clinic,
                    )
                    assert [r[0] for r in rows] == [n.lower() for n in ROWS[clinic]]
        assert guard.resets_skipped == skipped + 2
    finally:
        await pool.close()


# -- 2. a setting changed by a function called by attribute notation -----------------------


@pytest.mark.parametrize(
    ("body", "setting", "default"),
    [
        (
            "LANGUAGE sql AS $$ SELECT set_config('default_transaction_read_only', 'on', false) $$",
            "default_transaction_read_only",
            "off",
        ),
        (
            "LANGUAGE plpgsql AS $$ BEGIN PERFORM set_config('search_path', 'archive, public', "
            "false); RETURN 'x'; END $$",
            "search_path",
            '"$user", public',
        ),
    ],
    ids=["sql read only", "plpgsql search_path"],
)
async def test_a_setting_a_function_changed_unnamed_is_not_handed_to_the_next_clinic(
    two_clinics: str, body: str, setting: str, default: str
) -> None:
    await _owner(two_clinics, f"CREATE FUNCTION lock_down(p patients) RETURNS text {body}")
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        for _ in range(2):
            async with pool.acquire() as conn:
                with tenant(1):
                    # `p.lock_down` is `lock_down(p)`: no parenthesis in the text
                    await conn.fetch("SELECT p.lock_down FROM patients p WHERE p.tenant_id = $1", 1)
            async with pool.acquire() as conn:
                with tenant(2):
                    assert await conn.fetchval(f"SHOW {setting}") == default
                    await conn.execute(
                        "INSERT INTO patients (tenant_id, first_name, phone_number) "
                        "VALUES ($1, 'Dora', '222')",
                        2,
                    )
                    await conn.execute(
                        "DELETE FROM patients WHERE tenant_id = $1 AND first_name = 'Dora'", 2
                    )
        await _plain_cycle_skips(pool)
    finally:
        await pool.close()


async def test_a_function_by_attribute_notation_that_leaves_nothing_keeps_the_skip(
    two_clinics: str,
) -> None:
    await _owner(
        two_clinics,
        "CREATE FUNCTION shout(p patients) RETURNS text LANGUAGE sql STABLE "
        "AS $$ SELECT upper(p.first_name) $$",
    )
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        guard = pool.tenantguard
        skipped = guard.resets_skipped
        for clinic in (1, 2):
            async with pool.acquire() as conn:
                with tenant(clinic):
                    rows = await conn.fetch(
                        "SELECT p.shout FROM patients p WHERE p.tenant_id = $1 ORDER BY p.id",
                        clinic,
                    )
                    assert [r[0] for r in rows] == [n.upper() for n in ROWS[clinic]]
        assert guard.resets_skipped == skipped + 2
    finally:
        await pool.close()


# -- 3. state left by schema code no text names --------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        "CREATE FUNCTION bump(a int) RETURNS bool LANGUAGE sql "
        "AS $$ SELECT nextval('patients_id_seq') > 0 AND a > 0 $$;"
        "CREATE DOMAIN counted AS int CHECK (bump(VALUE))",
        "CREATE DOMAIN counted AS int CHECK (nextval('patients_id_seq') > 0 AND VALUE > 0)",
    ],
    ids=["a function it calls", "the built-in itself"],
)
async def test_a_domain_check_advancing_a_sequence_keeps_the_reset(
    two_clinics: str, schema: str
) -> None:
    await _owner(two_clinics, schema)
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        for _ in range(2):
            async with pool.acquire() as conn:
                with tenant(1):
                    assert await conn.fetchval("SELECT 1::counted") == 1
            async with pool.acquire() as conn:
                with tenant(2), pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
                    await conn.fetchval("SELECT currval('patients_id_seq')")
        assert pool.tenantguard.resets_skipped == 0  # none on this database
    finally:
        await pool.close()


async def test_a_domain_check_that_leaves_nothing_keeps_the_skip(two_clinics: str) -> None:
    await _owner(
        two_clinics,
        "CREATE FUNCTION positive(a int) RETURNS bool LANGUAGE sql IMMUTABLE AS $$ SELECT a > 0 $$;"
        "CREATE DOMAIN counted AS int CHECK (positive(VALUE))",
    )
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        guard = pool.tenantguard
        skipped = guard.resets_skipped
        for clinic in (1, 2):
            async with pool.acquire() as conn:
                with tenant(clinic):
                    assert await conn.fetchval("SELECT 1::counted") == 1
        assert guard.resets_skipped == skipped + 2
    finally:
        await pool.close()


# -- 4. a call still running when the connection is released ---------------------------


@pytest.mark.parametrize(
    ("call", "wait"),
    [
        ("BEGIN; SELECT count(*) FROM generate_series(1, 3000000)", 0.05),
        ("BEGIN", 0),  # not started yet: it starts before the release (asyncio.shield's task)
    ],
    ids=["running", "scheduled"],
)
async def test_a_call_left_running_at_release_is_not_handed_to_the_next_clinic(
    two_clinics: str, call: str, wait: float
) -> None:
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        if wait:
            with pytest.raises(asyncpg.InterfaceError, match="another operation is in progress"):
                async with pool.acquire() as conn:
                    with tenant(1):
                        left = asyncio.ensure_future(conn.execute(call))
                        await asyncio.sleep(wait)
            # (asyncpg's reset failed on the running call: the pool terminated the connection)
            with contextlib.suppress(Exception):
                await left
        else:
            # not started before the release: it starts after it, and is refused there (round
            # 31, h31b: a call runs only in the pool's lease it was made in), nothing sent
            async with pool.acquire() as conn:
                with tenant(1):
                    left = asyncio.ensure_future(conn.execute(call))
            with pytest.raises(TenantIsolationError, match="before it was released"):
                await left
        async with pool.acquire() as conn:
            with tenant(2):
                assert not conn.is_in_transaction()
                await conn.execute(
                    "INSERT INTO patients (tenant_id, first_name, phone_number) "
                    "VALUES ($1, 'Dora', '222')",
                    2,
                )
        assert await _names(two_clinics, 2) == ["Carla", "Dora"]  # not rolled back
    finally:
        await pool.close()


async def test_a_call_that_ended_before_release_keeps_the_skip(two_clinics: str) -> None:
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        guard = pool.tenantguard
        skipped = guard.resets_skipped
        async with pool.acquire() as conn:
            with tenant(1):
                done = asyncio.ensure_future(conn.fetch(PINNED, 1))
                assert [r[0] for r in await done] == ROWS[1]
        assert guard.resets_skipped == skipped + 1
        await _plain_cycle_skips(pool)
    finally:
        await pool.close()


# -- 5. schema code created after the connections read the catalog ---------------------------


@pytest.mark.parametrize("size", [1, 2], ids=["the job's connection", "another connection"])
async def test_a_view_created_by_a_job_is_read_by_the_pools_connections(
    two_clinics: str, size: int
) -> None:
    """An unscoped() job creates a view calling nextval() after the pool's connections read
    the catalog: a connection read it as plain, and the skipped reset handed clinic 1's
    sequence value to clinic 2. A statement that may change the schema's code makes every
    connection of the guard read the catalog again as it is handed out."""
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=size, max_size=size
    )
    try:
        held = [await pool.acquire() for _ in range(size)]  # each connection has read it
        for conn in held:
            await pool.release(conn)
        async with pool.acquire() as conn:
            with unscoped("migration"):
                await conn.execute(
                    "CREATE VIEW next_ids AS SELECT nextval('patients_id_seq') AS id"
                )
            if size == 2:  # the job keeps its connection: the requests get the other one
                async with pool.acquire() as other:
                    with tenant(1):
                        assert await other.fetchval("SELECT id FROM next_ids") > 3
                async with pool.acquire() as other:
                    with tenant(2), pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
                        await other.fetchval("SELECT currval('patients_id_seq')")
        for _ in range(2):
            async with pool.acquire() as conn:
                with tenant(1):
                    assert await conn.fetchval("SELECT id FROM next_ids") > 3
            async with pool.acquire() as conn:
                with tenant(2), pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
                    await conn.fetchval("SELECT currval('patients_id_seq')")
        await _plain_cycle_skips(pool)  # once read again, plain reads skip it again
    finally:
        await pool.close()


async def test_a_view_created_while_a_request_holds_a_connection_keeps_its_reset(
    two_clinics: str,
) -> None:
    """The request's connection was handed out before the job created the view: it reads the
    catalog again only when handed out next, so its release after reading the view resets."""
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=2, max_size=2
    )
    try:
        held = [await pool.acquire() for _ in range(2)]  # each connection has read it
        for conn in held:
            await pool.release(conn)
        async with pool.acquire() as request:
            async with pool.acquire() as job:
                with unscoped("migration"):
                    await job.execute(
                        "CREATE VIEW next_ids AS SELECT nextval('patients_id_seq') AS id"
                    )
            with tenant(1):
                assert await request.fetchval("SELECT id FROM next_ids") > 3
            used = request.get_server_pid()
        async with pool.acquire() as conn:  # the last released: the request's
            assert conn.get_server_pid() == used
            with tenant(2), pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
                await conn.fetchval("SELECT currval('patients_id_seq')")
        await _plain_cycle_skips(pool)
    finally:
        await pool.close()
