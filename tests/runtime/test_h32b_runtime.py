"""Round 32: the runtime guard attacked from outside (helper h32b), on a real server.

1. Session state one tenant's block leaves on a connection of `connect()`, read by the next
   tenant's block on the same connection. A pool resets each connection it takes back (RESET
   ALL, DISCARD TEMP, DISCARD SEQUENCES…: round 23, helper 110), so the next request starts
   clean; a `connect()` connection is never reset, and a worker that serves tenant after tenant
   on one connection handed each tenant what the one before left in the session:
   - a setting: clinic 1's `SELECT set_config('my.stash', (SELECT string_agg(first_name, ',')
     FROM patients WHERE tenant_id = $1), false)` (pinned, passes), then clinic 2's
     `SELECT current_setting('my.stash', true)` returned 'Ana,Bruno';
   - a sequence's value: clinic 1's INSERT of a patient, then clinic 2's `SELECT lastval()`
     (or `currval('patients_id_seq')`) returned clinic 1's new patient's id (also when the
     INSERT went by the hot path, its verdict cached);
   - a TEMP table an `unscoped()` job filled with every clinic's rows, then read by clinic 2's
     `SELECT first_name FROM stash` (a TEMP table is no tenant table: no pin needed).
   NOT FIXED (xfail, strict): a fix that refuses a `tenant()` block's statement while the
   session holds state another block left since the last reset (hint: `await conn.reset()`
   between tenants; `_tg_clean` tells of such state, `_tg_owner` whose it is, pooled
   connections exempt by their proxy) makes these tests pass, but 30 tests of earlier rounds
   switch tenants on one `connect()` connection after a non-plain statement and were refused:
   a change of the contract for `connect()` connections that is the design's to decide. A
   narrower variant (only state another tenant's block left: not unscoped()'s, so the TEMP
   table test stays a leak) still refused 4 of them: on a database whose schema code may
   change a setting no statement is plain (`_tg_schema_code`), so every tenant switch on such a
   connection would be refused — a false alarm `_tg_clean` is too coarse to avoid. The leak
   tests below fail as expected without it; the prototype is in the round's report.

2. Routes tried that held (kept as tests): an `IntEnum` or a bool as the pin (refused: not an
   int), `executemany` with one row of another tenant (nothing written), a savepoint rolled
   back under a view filtered by the tenant setting (the setting is set again), the tenant
   column assigned in every shape of UPDATE/MERGE/ON CONFLICT (TG004), and `SELECT … INTO
   TEMP` (TG007), and in report mode under Row-Level Security a statement changing the tenant
   setting in a spelling the text hides (`chr(97) || 'pp.tenant_id'`, `lower(…)`, an `E''`
   escape, `pg_settings`) — the guard sets it again before the next read.
"""

from __future__ import annotations

import enum

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, create_pool, rls_policy_sql, tenant, unscoped
from tests.runtime.test_runtime import POLICY
from tests.runtime.test_runtime_rls import as_user

STASH = (
    "SELECT set_config('my.stash', (SELECT string_agg(first_name, ',' ORDER BY first_name) "
    "FROM patients WHERE tenant_id = $1), false)"
)
READ_STASH = "SELECT current_setting('my.stash', true)"
INSERT = (
    "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES ($1, $2, $3) RETURNING id"
)
NAMES = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY first_name"


async def test_a_setting_left_by_one_clinic_is_not_read_by_the_next(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            assert await conn.fetchval(STASH, 1) == "Ana,Bruno"
            assert await conn.fetchval(READ_STASH) == "Ana,Bruno"  # its own, in its block
        with tenant(2):
            # was: 'Ana,Bruno', clinic 1's patients, in clinic 2's block
            assert await conn.fetchval(READ_STASH) in ("", None)
            assert [r[0] for r in await conn.fetch(NAMES, 2)] == ["Carla"]
    finally:
        await conn.close()


@pytest.mark.parametrize("read", ["SELECT lastval()", "SELECT currval('patients_id_seq')"])
async def test_a_sequence_value_left_by_one_clinic_is_not_read_by_the_next(
    two_clinics: str, read: str
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            first = await conn.fetchval(INSERT, 1, "Dora", "113")
        with tenant(1):  # the same clinic's next block: its own state, no reset
            second = await conn.fetchval(INSERT, 1, "Eva", "114")  # the cached verdict's path
            assert await conn.fetchval(read) == second > first
        with tenant(2), pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
            await conn.fetchval(read)  # was: clinic 1's patient id
    finally:
        await conn.close()


async def test_a_hot_path_write_leaves_its_clinic_on_the_connection(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            await conn.fetchval(INSERT, 1, "Dora", "113")
        await conn.reset()
        with tenant(1):
            # cached and fast now: the hot path makes the call
            fast = conn.tenantguard.fast_hits
            await conn.fetchval(INSERT, 1, "Eva", "114")
            assert conn.tenantguard.fast_hits == fast + 1
        # a cached read of clinic 2's takes the slow path: the reset first
        with tenant(2), pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
            await conn.fetchval("SELECT lastval()")
    finally:
        await conn.close()


async def test_an_unscoped_jobs_temp_table_is_not_read_by_a_clinic(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with unscoped("a report over every clinic"):
            await conn.execute("CREATE TEMP TABLE stash AS SELECT first_name FROM patients")
            assert await conn.fetchval("SELECT count(*) FROM stash") == 3
        with tenant(2), pytest.raises(asyncpg.UndefinedTableError):
            await conn.fetch("SELECT first_name FROM stash")  # was: Ana, Bruno and Carla
    finally:
        await conn.close()


async def test_one_lease_of_a_pooled_connection_passing_to_another_clinic(
    two_clinics: str,
) -> None:
    """The pool resets at release; within one lease, two clinics' blocks share the session
    as on a connection of connect(): reset before the second's first call."""
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            with tenant(1):
                assert await conn.fetchval(STASH, 1) == "Ana,Bruno"
            with tenant(2):
                assert await conn.fetchval(READ_STASH) in ("", None)  # was: 'Ana,Bruno'
    finally:
        await pool.close()


async def test_a_transaction_may_end_and_a_request_keeps_its_own_unscoped_state(
    two_clinics: str,
) -> None:
    """The statement that ends the transaction is never refused (the next one is reset
    first), and an unscoped() part of a request's transaction leaves the request state it may
    read (its own trusted part): refused only between two tenants."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        await conn.execute("BEGIN")
        with tenant(1):
            assert await conn.fetchval(STASH, 1) == "Ana,Bruno"
        with tenant(2):
            await conn.execute("COMMIT")  # ends clinic 1's transaction: not refused
            assert await conn.fetchval(READ_STASH) in ("", None)  # reset first
        async with conn.transaction():
            with unscoped("look the clinic up"):
                await conn.execute("SELECT set_config('my.clinic', '2', true)")
            with tenant(2):
                assert await conn.fetchval("SELECT current_setting('my.clinic')") == "2"
                assert [r[0] for r in await conn.fetch(NAMES, 2)] == ["Carla"]
    finally:
        await conn.close()


@pytest.mark.parametrize("how", ["fetch", "cursor", "prepare", "executemany", "copy"])
async def test_every_entry_point_resets_before_another_clinic(two_clinics: str, how: str) -> None:
    """The reset comes before the next clinic's first call whichever method makes it."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            assert await conn.fetchval(STASH, 1) == "Ana,Bruno"
        with tenant(2):
            if how == "fetch":
                await conn.fetch(NAMES, 2)
            elif how == "cursor":
                async with conn.transaction():
                    assert [r[0] async for r in conn.cursor(NAMES, 2)] == ["Carla"]
            elif how == "prepare":
                statement = await conn.prepare(NAMES)
                assert [r[0] for r in await statement.fetch(2)] == ["Carla"]
            elif how == "executemany":
                await conn.executemany(
                    "UPDATE patients SET phone_number = $2 WHERE tenant_id = $1 AND first_name = $3",
                    [(2, "200", "Carla")],
                )
            else:
                await conn.copy_records_to_table(
                    "patients", records=[(2, "Dina", "201")],
                    columns=["tenant_id", "first_name", "phone_number"],
                )  # fmt: skip
            assert await conn.fetchval(READ_STASH) in ("", None)
    finally:
        await conn.close()


async def test_a_transaction_passing_to_another_clinic_with_state_is_refused(
    two_clinics: str,
) -> None:
    """A reset would end the transaction: the other clinic's statement is refused, and
    nothing it asked for ran."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        async with conn.transaction():
            with tenant(1):
                assert await conn.fetchval(STASH, 1) == "Ana,Bruno"
            with tenant(2), pytest.raises(TenantIsolationError) as refused:
                await conn.fetchval(READ_STASH)
            assert "commit one tenant's work" in refused.value.hint
            with tenant(1):  # clinic 1 goes on in its transaction
                assert await conn.fetchval(READ_STASH) == "Ana,Bruno"
        with tenant(2):  # committed: reset before clinic 2's first call
            assert await conn.fetchval(READ_STASH) in ("", None)
    finally:
        await conn.close()


async def test_reads_and_the_same_clinic_and_pools_are_not_affected(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        for clinic, names in ((1, ["Ana", "Bruno"]), (2, ["Carla"]), (1, ["Ana", "Bruno"])):
            with tenant(clinic):  # reads leave nothing: no reset needed between clinics
                assert [r[0] for r in await conn.fetch(NAMES, clinic)] == names
        with tenant(1):
            await conn.fetchval(INSERT, 1, "Dora", "113")
        with tenant(1):
            assert "Dora" in [r[0] for r in await conn.fetch(NAMES, 1)]
        with unscoped("maintenance after clinic 1's work"):  # trusted with every clinic
            assert await conn.fetchval("SELECT count(*) FROM patients") == 4
    finally:
        await conn.close()
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        async with pool.acquire() as pooled:
            with tenant(1):
                await pooled.fetchval(INSERT, 1, "Eva", "114")
        async with pool.acquire() as pooled:  # the release reset it
            with tenant(2), pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
                await pooled.fetchval("SELECT lastval()")
    finally:
        await pool.close()


# --- routes that held ----------------------------------------------------------------------


class Clinic(enum.IntEnum):
    SOUTH = 2


@pytest.mark.parametrize("value", [Clinic.SOUTH, True], ids=["IntEnum", "bool"])
async def test_a_pin_that_is_no_plain_int_is_refused(two_clinics: str, value: object) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="cannot be compared"):
            await conn.fetch(NAMES, value)
    finally:
        await conn.close()


async def test_executemany_with_another_clinics_row_writes_nothing(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.executemany(
                "UPDATE patients SET last_name = 'moved' WHERE tenant_id = $1", [(1,), (2,)]
            )
    finally:
        await conn.close()
    raw = await asyncpg.connect(two_clinics)
    try:
        assert await raw.fetchval("SELECT count(*) FROM patients WHERE last_name = 'moved'") == 0
    finally:
        await raw.close()


SETTING_VIEW = (
    "CREATE VIEW my_patients AS SELECT first_name FROM patients "
    "WHERE tenant_id = current_setting('app.tenant_id', true)::bigint"
)


async def test_a_savepoint_rolled_back_does_not_bring_back_another_clinics_setting(
    two_clinics: str,
) -> None:
    raw = await asyncpg.connect(two_clinics)
    try:
        await raw.execute(SETTING_VIEW)
    finally:
        await raw.close()
    conn = await connect(two_clinics, policy=POLICY, set_tenant_setting=True)
    try:
        with tenant(2):
            assert [r[0] for r in await conn.fetch("SELECT first_name FROM my_patients")] == [
                "Carla"
            ]
        with tenant(1):
            async with conn.transaction():
                savepoint = conn.transaction()
                await savepoint.start()
                await conn.fetch("SELECT first_name FROM my_patients")  # sets '1' in it
                await savepoint.rollback()  # ROLLBACK TO: the setting is '2' again
                rows = await conn.fetch("SELECT first_name FROM my_patients ORDER BY 1")
        assert [r[0] for r in rows] == ["Ana", "Bruno"]
    finally:
        await conn.close()


MOVES = [
    "UPDATE patients SET (tenant_id, last_name) = (SELECT 2, 'x') WHERE tenant_id = $1",
    "UPDATE patients SET tenant_id = DEFAULT WHERE tenant_id = $1",
    "UPDATE patients SET tenant_id = t.id FROM tenants t WHERE patients.tenant_id = $1 "
    "AND t.id <> $1",
    "WITH m AS (UPDATE patients SET tenant_id = 2 WHERE tenant_id = $1 RETURNING 1) "
    "SELECT count(*) FROM m",
    "MERGE INTO patients p USING (SELECT 1) s ON p.tenant_id = $1 "
    "WHEN MATCHED THEN UPDATE SET tenant_id = 2",
    "UPDATE patients SET tenant_id = CASE WHEN true THEN 2 ELSE $1 END WHERE tenant_id = $1",
]


@pytest.mark.parametrize("statement", MOVES)
async def test_rows_are_not_moved_to_another_clinic(two_clinics: str, statement: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="TG004"):
            await conn.execute(statement, 1)
    finally:
        await conn.close()
    raw = await asyncpg.connect(two_clinics)
    try:
        assert await raw.fetchval("SELECT count(*) FROM patients WHERE tenant_id = 2") == 1
    finally:
        await raw.close()


async def test_select_into_temp_is_refused(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="TG007"):
            await conn.execute(
                "SELECT id, first_name AS name INTO TEMP tenants FROM patients "
                "WHERE tenant_id = $1",
                1,
            )
    finally:
        await conn.close()


SETTING_CHANGERS = [
    "SELECT set_config(chr(97) || 'pp.tenant_id', '2', false)",
    "SELECT set_config(lower('APP.TENANT_ID'), '2', false)",
    "SELECT set_config(E'app.tenant\\x5fid', '2', false)",
    "SELECT set_config(name, '2', false) FROM pg_settings WHERE name = 'app.tenant_id'",
    "UPDATE pg_settings SET setting = '2' WHERE name = 'app.tenant_id'",
    "SET SESSION app.tenant_id TO 2",
]


@pytest.mark.parametrize("change", SETTING_CHANGERS)
async def test_a_setting_changed_in_report_mode_is_set_again_before_rls_reads(
    two_clinics: str, change: str
) -> None:
    """Report mode leaves containment to Row-Level Security, which reads the setting: a
    statement that changes it (logged, run) makes the guard set it again before the next."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(rls_policy_sql(["patients"]))
        await owner.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clinic_app') "
            "THEN CREATE ROLE clinic_app LOGIN; END IF; END $$; "
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO clinic_app"
        )
    finally:
        await owner.close()
    conn = await connect(
        as_user(two_clinics, "clinic_app"), policy=POLICY, mode="report", set_tenant_setting=True
    )
    try:
        with tenant(1):
            await conn.fetch("SELECT first_name FROM patients")
            await conn.execute(change)
            for _ in range(2):  # the second time by the cached verdict
                rows = await conn.fetch("SELECT first_name FROM patients ORDER BY 1")
                assert [r[0] for r in rows] == ["Ana", "Bruno"]
    finally:
        await conn.close()
