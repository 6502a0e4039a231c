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
from tenantguard.runtime import connect, tenant
from tests.conftest import BASELINE, CLINICS
from tests.test_runtime import POLICY


@pytest.fixture(scope="module")
def logical() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres(
        # synchronous_commit on: a slot decodes only what is flushed
        settings={
            "wal_level": "logical",
            "max_wal_senders": "2",
            "max_replication_slots": "4",
            "synchronous_commit": "on",
        }
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
