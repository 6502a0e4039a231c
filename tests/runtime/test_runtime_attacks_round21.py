"""Round 21: the runtime guard attacked by an outsider (helper-90), on real servers.

1. Logical decoding: a request of clinic 1 made a replication slot and read from it what clinic
   2's requests changed (`table public.patients: UPDATE: … tenant_id[bigint]:2
   first_name[text]:'Carla'`). It needs `wal_level = logical` and a role with REPLICATION (the
   README's guard-only setup runs as a superuser): a server of its own here. The witness reads
   the slot unguarded; the guard refuses every slot function.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.runtime import connect, create_pool, tenant
from tests.conftest import BASELINE, CLINICS, cluster_directory
from tests.runtime.test_runtime import POLICY


@pytest.fixture(scope="module")
def logical() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres(
        directory=cluster_directory(),
        # synchronous_commit on: a slot decodes only what is flushed
        settings={
            "wal_level": "logical",
            "max_wal_senders": "2",
            "max_replication_slots": "4",
            "synchronous_commit": "on",
        },
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


SLOT_CALLS = [
    "SELECT data FROM pg_logical_slot_get_changes('tg_slot', NULL, NULL)",
    "SELECT data FROM pg_logical_slot_peek_changes('tg_slot', NULL, NULL)",
    "SELECT data FROM pg_catalog.pg_logical_slot_peek_binary_changes('tg_slot', NULL, NULL)",
    "SELECT slot_name FROM pg_create_logical_replication_slot('tg_other', 'test_decoding')",
    "SELECT p.first_name FROM patients p WHERE p.tenant_id = $1 AND EXISTS "
    "(SELECT 1 FROM pg_logical_slot_peek_changes('tg_slot', NULL, NULL))",
]


async def test_the_change_stream_holds_other_clinics_rows_and_the_guard_refuses_it(
    logical: ThrowawayPostgres,
) -> None:
    owner = await asyncpg.connect(logical.dsn)
    try:
        await owner.execute(BASELINE.read_text(encoding="utf-8") + CLINICS)
        await owner.execute("SELECT pg_create_logical_replication_slot('tg_slot', 'test_decoding')")
        # clinic 2's own request, pinned to clinic 2
        await owner.execute("UPDATE patients SET phone_number = '221' WHERE tenant_id = 2")
        witness = [r[0] for r in await owner.fetch(SLOT_CALLS[1])]
        assert any(":2 " in line and "Carla" in line for line in witness), witness
    finally:
        await owner.close()
    conn = await connect(logical.dsn, policy=POLICY)
    try:
        with tenant(1):
            for sql in SLOT_CALLS:
                args = (1,) if "$1" in sql else ()
                with pytest.raises(TenantIsolationError, match="TG006"):
                    await conn.fetch(sql, *args)
            # the slot is still there, unread: nothing reached the server
            assert await conn.fetchval("SELECT count(*) FROM patients WHERE tenant_id = $1", 1) == 2
    finally:
        await conn.close()
    owner = await asyncpg.connect(logical.dsn)
    try:
        slots = [r[0] for r in await owner.fetch("SELECT slot_name FROM pg_replication_slots")]
        assert slots == ["tg_slot"]
        left = await owner.fetch(SLOT_CALLS[1])
        assert any("Carla" in r[0] for r in left)  # not consumed by a refused get_changes
        await owner.execute("SELECT pg_drop_replication_slot('tg_slot')")
    finally:
        await owner.close()


# 2. A policy whose tenant tables are not this database's (a typo, a quoted mixed-case name)
#    guarded nothing: `Policy("tenant_id", {"patient"})` let `SELECT … FROM patients` return
#    every clinic's rows, with no error and no warning.

EVERYONE = "SELECT tenant_id, first_name FROM patients ORDER BY 1, 2"


@pytest.mark.parametrize("tables", [{"patient"}, {'"Patients"'}, {"public.patient"}])
async def test_a_policy_naming_no_table_of_the_database_refuses_every_statement(
    two_clinics: str, tables: set[str]
) -> None:
    conn = await connect(two_clinics, policy=Policy("tenant_id", tables))
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError, match="would guard nothing"):
                await conn.fetch(EVERYONE)
            with pytest.raises(TenantIsolationError, match="would guard nothing"):
                await conn.fetch("SELECT 1")
    finally:
        await conn.close()


async def test_a_policy_naming_some_tables_warns_of_the_others_and_still_guards(
    two_clinics: str, caplog: pytest.LogCaptureFixture
) -> None:
    conn = await connect(two_clinics, policy=Policy("tenant_id", {"patients"}))
    try:
        with tenant(1):
            assert [tuple(r) for r in await conn.fetch(PINNED_EVERYONE, 1)] == [
                (1, "Ana"),
                (1, "Bruno"),
            ]
            with pytest.raises(TenantIsolationError, match="TG001"):
                await conn.fetch(EVERYONE)
    finally:
        await conn.close()
    said = [
        r.getMessage()
        for r in caplog.records
        if "not in the policy's tenant tables" in r.getMessage()
    ]
    assert len(said) == 1 and "appointments" in said[0] and "patients" not in said[0].split(":")[-2]


async def test_a_database_without_the_tables_yet_is_not_refused(database: str) -> None:
    """A fresh database (the patches have not run yet): nothing holds the tenant column."""
    conn = await connect(database, policy=Policy("tenant_id", {"patients"}))
    try:
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


PINNED_EVERYONE = "SELECT tenant_id, first_name FROM patients WHERE tenant_id = $1 ORDER BY 1, 2"


# helper-93, on the fixes above. (a) A misspelt table named like a function of pg_catalog
# (`lead`, `log`, `position`) counted as found; (b) a misspelt tenant column passed; (c) a pool
# made before the patches built the schema was never checked again; (d) a global table with a
# NOT NULL tenant column was not said at run time.


@pytest.mark.parametrize(
    "policy",
    [
        Policy("tenant_id", {"patient", "appointment", "lead"}),
        Policy("tenantid", {"patients"}),
    ],
    ids=["built-in function name", "misspelt column"],
)
async def test_a_policy_that_still_guards_nothing_is_refused(
    two_clinics: str, policy: Policy
) -> None:
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="would guard nothing"):
            await conn.fetch(EVERYONE)
    finally:
        await conn.close()


async def test_a_global_table_with_a_not_null_tenant_column_is_said(
    two_clinics: str, caplog: pytest.LogCaptureFixture
) -> None:
    conn = await connect(
        two_clinics, policy=Policy("tenant_id", {"patients"}, global_tables={"users"})
    )
    await conn.close()
    said = [
        r.getMessage() for r in caplog.records if "global tables of the policy" in r.getMessage()
    ]
    assert len(said) == 1 and "users" in said[0]


async def test_a_pool_made_before_the_schema_checks_again_when_acquired(database: str) -> None:
    pool = await create_pool(
        database, policy=Policy("tenant_id", {"patient"}), min_size=1, max_size=1
    )
    try:
        owner = await asyncpg.connect(database)
        try:  # the patches run on a connection of their own, after the pool is made
            await owner.execute(BASELINE.read_text(encoding="utf-8") + CLINICS)
        finally:
            await owner.close()
        with tenant(1), pytest.raises(TenantIsolationError, match="would guard nothing"):
            await pool.fetch(EVERYONE)
    finally:
        await pool.close()
    right = await create_pool(database, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            assert [tuple(r) for r in await right.fetch(PINNED_EVERYONE, 1)] == [
                (1, "Ana"),
                (1, "Bruno"),
            ]
    finally:
        await right.close()


REFUSED_AT_RUN_TIME = [
    # auto_explain's plans, with the rows filters removed, sent as NOTICEs
    "SET auto_explain.log_min_duration = 0",
    "SELECT set_config('auto_explain.log_analyze', 'on', false)",
    # the activity views' text column renamed by a column list
    "SELECT a.q FROM pg_stat_activity AS a(datid, datname, pid, leader_pid, usesysid, usename,"
    " application_name, client_addr, client_hostname, client_port, backend_start, xact_start,"
    " query_start, state_change, wait_event_type, wait_event, state, backend_xid, backend_xmin,"
    " query_id, q)",
    "SELECT p.s FROM pg_prepared_statements AS p(n, s)",
    # counters of every tenant's transactions and writes; other sessions' locks
    "SELECT txid_current()",
    "SELECT pg_current_xact_id()::text",
    "SELECT wal_records FROM pg_stat_wal",
    "SELECT relation::regclass::text, mode FROM pg_locks",
]


async def test_more_of_the_servers_own_views_of_every_tenant_are_refused(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            for sql in REFUSED_AT_RUN_TIME:
                with pytest.raises(TenantIsolationError):
                    await conn.fetch(sql)
            # unrefused, the same connection still serves its own clinic
            assert tuple(await conn.fetchrow(PINNED_EVERYONE, 1)) == (1, "Ana")
    finally:
        await conn.close()


# helper-94, on the fixes above: (RT1) a pool made while only the registry existed stopped
# checking (something was found: the global table) and served every clinic's rows under the
# misspelt policy; (RT4) a right policy, on a database whose schema was half built, was refused
# for good; (RT2) a connection of connect() made before the schema said nothing.

REGISTRY = "CREATE TABLE plans (id bigint PRIMARY KEY, name text NOT NULL);\n"
HALF = "CREATE TABLE audit_trail (tenant_id bigint NOT NULL, what text);\n"


async def _build(dsn: str) -> None:
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute(BASELINE.read_text(encoding="utf-8") + CLINICS)
    finally:
        await owner.close()


async def test_a_pool_keeps_checking_until_the_policys_tables_are_found(database: str) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(REGISTRY)
    finally:
        await owner.close()
    pool = await create_pool(
        database,
        policy=Policy("tenant_id", {"patient"}, global_tables={"plans"}),
        min_size=1,
        max_size=1,
    )
    try:
        await _build(database)
        with tenant(1), pytest.raises(TenantIsolationError, match="would guard nothing"):
            await pool.fetch(EVERYONE)
    finally:
        await pool.close()


async def test_a_right_policy_on_a_half_built_schema_is_served_once_it_is_built(
    database: str,
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(HALF)
    finally:
        await owner.close()
    pool = await create_pool(database, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="would guard nothing"):
            await pool.fetch("SELECT 1")  # fail closed while the policy's tables are missing
        await _build(database)
        with tenant(1):
            rows = await pool.fetch(PINNED_EVERYONE, 1)
        assert [tuple(r) for r in rows] == [(1, "Ana"), (1, "Bruno")]
    finally:
        await pool.close()


async def test_a_connection_made_before_the_schema_says_so(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    conn = await connect(database, policy=POLICY)
    await conn.close()
    said = [r.getMessage() for r in caplog.records if "does not look again" in r.getMessage()]
    assert len(said) == 1 and "patients" in said[0]
