"""Round 29: the runtime guard attacked by an outsider (helper h29b), on a real server.

1. A command sqlglot does not know, read as an expression. `CLUSTER patients` is `CLUSTER AS
   patients` to sqlglot (a column and its alias), `ANALYSE patients` (the British spelling of
   ANALYZE) too: no table in the tree, so the proof saw none and the guard sent them, where
   `VACUUM patients`, `LOCK patients` or `ANALYZE patients` (commands sqlglot keeps whole, or
   knows) are refused for the tenant table they name. On a table clustered once by
   maintenance, clinic 1's request ran `CLUSTER patients`: it rewrote every clinic's patients
   under an ACCESS EXCLUSIVE lock, and clinic 2's read of its own patients waited on it (here
   until its lock_timeout). PostgreSQL has no statement that is an expression: such a text is
   now kept as the command it is, and what it names is found as for any opaque command
   (TG006; `CLUSTER` itself is a schema change in application code, TG007).

2. Whole-cluster counters through the functions behind the views the guard refuses. TG006
   refuses `pg_stat_wal` (every session's WAL records), `pg_locks`, `pg_stat_slru`,
   `pg_stat_progress_*` and `pg_stat_user_tables` — but not `pg_stat_get_wal()`,
   `pg_lock_status()`, `pg_stat_get_slru()`, `pg_stat_get_progress_info()` or the vacuum and
   analyze counters of a table (`pg_stat_get_analyze_count(oid)`…), which those views read,
   nor `pg_stat_bgwriter`, `pg_stat_archiver` and the replication views (the WAL's position,
   as `pg_current_wal_lsn()`, refused), and their functions. Clinic 1's request read
   `wal_records` of `pg_stat_get_wal()` before and after clinic 2 added a patient: it grew (a
   count of another clinic's writes); and `pg_lock_status()` showed clinic 2's transaction at
   work on patients (its lock, its pid). Refused now (TG006), as the views are.

3. Sizes and lists of the same kind: `pg_database_size()` is refused, `pg_tablespace_size()`
   of the database's default tablespace was not (any role may read it, and it holds every
   database's tables): it grew by 40 KiB when clinic 2 wrote patients, in a transaction it
   rolled back. `pg_prepared_xacts` is refused, `pg_prepared_xact()` (the function it reads)
   was not; nor `pg_replication_slots` (a slot's xmin and WAL positions: the transaction
   counter and the WAL's, as `txid_current()` and `pg_current_wal_lsn()`). Refused now (TG006).

4. Other sessions' timings and waits through pg_stat_activity's columns. Round 26 refused
   `pg_stat_get_backend_xact_start()`, `pg_stat_get_backend_wait_event()`… (when and on what
   other sessions work: other tenants' requests), and TG006 refuses pg_stat_activity's `query`
   — but its `state`, `xact_start`, `query_start`, `state_change`, `wait_event` columns, which
   the view reads from those very functions, passed: clinic 1's request saw clinic 2's session
   `idle in transaction` and since when (and would see it wait on a row: `wait_event`).
   Refused now (TG006); a count of the sessions still reads. So are the client's address and
   port (`pg_stat_get_backend_client_addr()` is refused) and
   `pg_isolation_test_session_is_blocked(pid, pids)`, which told that clinic 2's request waited
   on a row clinic 2's other transaction held (as `pg_blocking_pids()`, refused, tells).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant
from tests.runtime.test_runtime import POLICY as CLINICS
from tests.runtime.test_runtime_attacks_round28 import lock_wait_of_clinic_two

# 1. Commands read as expressions. The rewrite queues an ACCESS EXCLUSIVE lock on patients
#    behind a transaction of clinic 2's; clinic 2's next read of its own patients waits on it.
MISREAD = {
    "cluster": "CLUSTER patients",
    "cluster quoted": 'cluster "patients"',
    "cluster options": "CLUSTER (VERBOSE) patients",
    "cluster after a comment": "/* nightly */ CLUSTER patients",
    # sqlglot cannot read this one at all: refused before c97ed44 too, as a syntax error (the
    # guard fails closed); now for what it is (TG006, TG007) — kept so that it stays refused
    "cluster on an index": "CLUSTER VERBOSE patients USING patients_pkey",
}


@pytest.mark.parametrize("shape", sorted(MISREAD))
async def test_a_command_read_as_an_expression_does_not_lock_other_clinics_out(
    two_clinics: str, shape: str
) -> None:
    owner = await asyncpg.connect(two_clinics)
    try:  # maintenance clustered the table once: CLUSTER patients now needs no index
        await owner.execute("CLUSTER patients USING patients_pkey")
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        waited = await lock_wait_of_clinic_two(two_clinics, conn, MISREAD[shape])
    finally:
        await conn.close()
    assert waited == ""  # "canceling statement due to lock timeout"


@pytest.mark.parametrize(
    "statement", ["ANALYSE patients", "ANALYSE (VERBOSE) patients", "CLUSTER", "CLUSTER tenants"]
)
async def test_other_commands_read_as_expressions_are_refused_as_their_twins(
    two_clinics: str, statement: str
) -> None:
    """`ANALYSE patients` is refused as `ANALYZE patients` is (TG006); `CLUSTER` of every
    clustered table, or of the tenant registry, as a schema change (TG007)."""
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError):
                await conn.execute("ANALYZE patients")
            with pytest.raises(TenantIsolationError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_session_commands_read_as_expressions_still_run(two_clinics: str) -> None:
    """The legitimate twins: the commands sqlglot reads as expressions that name no tenant
    table run as before — a transaction and a cursor's control, DISCARD, ANALYSE of every
    table (as ANALYZE runs)."""
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            await conn.execute("START TRANSACTION")
            await conn.execute("SAVEPOINT a")
            await conn.execute(
                "DECLARE c CURSOR FOR SELECT first_name FROM patients WHERE tenant_id = 1 "
                "ORDER BY first_name"
            )
            assert await conn.execute("MOVE c") == "MOVE 1"
            assert await conn.fetchval("FETCH c") == "Bruno"
            await conn.execute("CLOSE c")
            await conn.execute("RELEASE a")
            await conn.execute("ABORT")
            assert not conn.is_in_transaction()
            await conn.execute("DISCARD PLANS")
            await conn.execute("ANALYSE")
            rows = await conn.fetch("SELECT first_name FROM patients WHERE tenant_id = $1", 1)
            assert sorted(r[0] for r in rows) == ["Ana", "Bruno"]
    finally:
        await conn.close()


# 2. The functions behind the refused views.
async def _refused_for_clinic_1(dsn: str, statement: str) -> None:
    """`statement`, sent in clinic 1's request, is refused before it reaches the server."""
    conn = await connect(dsn, policy=CLINICS)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.execute(statement)
    finally:
        await conn.close()


async def _flushed(session: asyncpg.Connection) -> None:
    """Makes the session's statistics (its WAL records) visible to the others at once."""
    await session.execute("SELECT pg_stat_force_next_flush()")
    await session.execute("SELECT 1")


async def test_the_wal_counters_do_not_count_other_clinics_writes(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=CLINICS)
    clinic_2 = await asyncpg.connect(two_clinics)
    counts: list[int] = []

    async def read() -> None:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            counts.append(await conn.fetchval("SELECT wal_records FROM pg_stat_get_wal()"))

    try:
        await _flushed(clinic_2)
        await read()
        await clinic_2.execute(
            "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES (2, 'Eva', '224')"
        )
        await _flushed(clinic_2)
        await read()
    finally:
        await clinic_2.close()
        await conn.close()
    assert counts == []  # [n, n + k]: clinic 2's insert counted


async def test_the_lock_table_does_not_show_other_clinics_at_work(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=CLINICS)
    clinic_2 = await asyncpg.connect(two_clinics)
    seen: list[tuple[str, str]] = []
    try:
        await clinic_2.execute("BEGIN")
        await clinic_2.fetch("SELECT first_name FROM patients WHERE tenant_id = 2 FOR UPDATE")
        with tenant(1), contextlib.suppress(TenantIsolationError):
            rows = await conn.fetch(
                "SELECT relation::regclass::text, mode FROM pg_lock_status() "
                "WHERE pid <> pg_backend_pid() AND relation IS NOT NULL"
            )
            seen = [(r[0], r[1]) for r in rows]
        await clinic_2.execute("ROLLBACK")
    finally:
        await clinic_2.close()
        await conn.close()
    assert seen == []  # [('patients', 'RowShareLock'), …]: clinic 2's transaction


COUNTER_FUNCTIONS = [
    "SELECT * FROM pg_stat_get_wal()",
    "SELECT (pg_stat_get_wal()).wal_bytes",
    "SELECT * FROM pg_lock_status()",
    "SELECT * FROM pg_stat_get_slru()",
    "SELECT * FROM pg_stat_get_progress_info('VACUUM')",
    "SELECT pg_stat_get_analyze_count('patients'::regclass)",
    "SELECT pg_stat_get_autovacuum_count('patients'::regclass)",
    "SELECT pg_stat_get_last_autoanalyze_time('patients'::regclass)",
    "SELECT * FROM pg_stat_bgwriter",
    "SELECT pg_stat_get_buf_alloc()",
    "SELECT pg_stat_get_bgwriter_requested_checkpoints()",
    "SELECT * FROM pg_stat_archiver",
    "SELECT * FROM pg_stat_get_archiver()",
    "SELECT sent_lsn FROM pg_stat_replication",
    "SELECT * FROM pg_stat_get_wal_senders()",
    "SELECT * FROM pg_stat_replication_slots",
    "SELECT * FROM pg_stat_wal_receiver",
    "SELECT pg_last_wal_receive_lsn()",
]


@pytest.mark.parametrize("statement", COUNTER_FUNCTIONS)
async def test_counters_behind_the_refused_views_are_refused(
    two_clinics: str, statement: str
) -> None:
    await _refused_for_clinic_1(two_clinics, statement)


async def test_a_requests_own_session_and_the_connection_count_still_read(
    two_clinics: str,
) -> None:
    """The legitimate twins: the session's own pid and start, the number of sessions."""
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            assert await conn.fetchval("SELECT pg_backend_pid()") == conn.get_server_pid()
            assert await conn.fetchval(
                "SELECT pg_stat_get_db_numbackends(oid) > 0 FROM pg_database "
                "WHERE datname = current_database()"
            )
            assert await conn.fetchval("SELECT pg_stat_get_snapshot_timestamp() IS NULL")
    finally:
        await conn.close()


# 3. A size of every database's tables, and the lists behind the refused views.
async def test_the_tablespace_size_does_not_count_other_clinics_writes(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=CLINICS)
    clinic_2 = await asyncpg.connect(two_clinics)
    sizes: list[int] = []

    async def read() -> None:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            sizes.append(await conn.fetchval("SELECT pg_tablespace_size('pg_default')"))

    try:
        await read()
        await clinic_2.execute("BEGIN")
        await clinic_2.execute(
            "INSERT INTO patients (tenant_id, first_name, phone_number) "
            "SELECT 2, repeat('x', 500), 'p' || g FROM generate_series(1, 40) g"
        )
        await clinic_2.execute("ROLLBACK")
        await read()
    finally:
        await clinic_2.close()
        await conn.close()
    assert sizes == []  # [n, n + 40960]: clinic 2's pages


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT pg_tablespace_size('pg_default')",
        "SELECT pg_tablespace_size(oid) FROM pg_tablespace",
        "SELECT * FROM pg_prepared_xact()",
        "SELECT slot_name, restart_lsn FROM pg_replication_slots",
    ],
)
async def test_sizes_and_lists_behind_the_refused_views_are_refused(
    two_clinics: str, statement: str
) -> None:
    await _refused_for_clinic_1(two_clinics, statement)


# 4. pg_stat_activity's timing and wait columns.
async def test_activity_does_not_show_when_other_clinics_work(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=CLINICS)
    clinic_2 = await asyncpg.connect(two_clinics)
    seen: list[tuple[Any, ...]] = []
    try:
        await clinic_2.execute("BEGIN")
        await clinic_2.fetch("SELECT first_name FROM patients WHERE tenant_id = 2 FOR UPDATE")
        with tenant(1), contextlib.suppress(TenantIsolationError):
            rows = await conn.fetch(
                "SELECT state, xact_start FROM pg_stat_activity WHERE pid = $1",
                clinic_2.get_server_pid(),
            )
            seen = [tuple(r) for r in rows]
        await clinic_2.execute("ROLLBACK")
    finally:
        await clinic_2.close()
        await conn.close()
    assert seen == []  # [('idle in transaction', datetime(…))]: clinic 2 at work


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT wait_event_type, wait_event FROM pg_stat_activity",
        "SELECT pid FROM pg_stat_activity WHERE state = 'active'",
        "SELECT a.query_start FROM pg_stat_activity a",
        "SELECT max(state_change) FROM pg_stat_activity",
        "SELECT backend_start FROM pg_catalog.pg_stat_activity",
    ],
)
async def test_other_sessions_timings_are_refused(two_clinics: str, statement: str) -> None:
    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError):
                await conn.execute(statement)
            # the twin: a count of the sessions reads no column
            assert await conn.fetchval("SELECT count(*) FROM pg_stat_activity") >= 1
    finally:
        await conn.close()


async def test_blocking_is_not_told_of_other_clinics(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=CLINICS)
    holder = await asyncpg.connect(two_clinics)  # clinic 2's transaction
    waiter = await asyncpg.connect(two_clinics)  # clinic 2's request, waiting on it
    told: list[bool] = []
    update: asyncio.Task[Any] | None = None
    try:
        await holder.execute("BEGIN")
        await holder.fetch("SELECT first_name FROM patients WHERE tenant_id = 2 FOR UPDATE")
        update = asyncio.ensure_future(
            waiter.execute("UPDATE patients SET phone_number = '229' WHERE tenant_id = 2")
        )
        for _ in range(100):  # until it waits on the row
            if await holder.fetchval(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = $1",
                waiter.get_server_pid(),
            ):
                break
            await asyncio.sleep(0.05)
        with tenant(1), contextlib.suppress(TenantIsolationError):
            told.append(
                await conn.fetchval(
                    "SELECT pg_isolation_test_session_is_blocked($1, ARRAY[$2]::int[])",
                    waiter.get_server_pid(),
                    holder.get_server_pid(),
                )
            )
        await holder.execute("ROLLBACK")
        await update
    finally:
        if update is not None and not update.done():
            update.cancel()
        await holder.close()
        await waiter.close()
        await conn.close()
    assert told == []  # [True]: clinic 2's request waits on clinic 2's transaction


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT client_addr, client_port FROM pg_stat_activity",
        "SELECT pg_isolation_test_session_is_blocked(1, ARRAY[2])",
    ],
)
async def test_other_sessions_clients_and_waits_are_refused(
    two_clinics: str, statement: str
) -> None:
    await _refused_for_clinic_1(two_clinics, statement)
