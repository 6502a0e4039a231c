"""Session 40 (helper h40R): COPY into a table the policy does not check, whose triggers write
tenant rows, on a real server.

`COPY … FROM` fires the target table's triggers as an INSERT does. The guard proves the INSERT a
COPY into a TENANT table amounts to (each record's tenant value checked), but a COPY into any
other table went out unproven: `staging (clinic, name, phone)` — no tenant column, so neither
listed nor found as an unlisted tenant table — has an AFTER INSERT trigger copying each row into
`patients (tenant_id = NEW.clinic)`. `INSERT INTO staging …` is refused (TG005: the trigger's
INSERT is pinned to no tenant), but clinic 1's `copy_records_to_table('staging', records=[(2,
'Eve', '9')])` (a list, or an async iterable) and `copy_to_table('staging', source=file)` wrote
patient Eve into clinic 2. A statement-level trigger (`DELETE FROM patients` of every clinic)
ran the same way. Now a COPY into any table is proven as the INSERT it amounts to.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.runtime import GuardedConnection, connect, tenant, unscoped
from tests.conftest import BASELINE, CLINICS, fresh_database
from tests.runtime.test_runtime import POLICY

SCHEMA = """
CREATE TABLE staging (clinic bigint, name text, phone text);
CREATE FUNCTION staging_to_patients() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO patients (tenant_id, first_name, phone_number)
    VALUES (NEW.clinic, NEW.name, NEW.phone);
    RETURN NEW;
END $$;
CREATE TRIGGER staging_to_patients AFTER INSERT ON staging
    FOR EACH ROW EXECUTE FUNCTION staging_to_patients();
CREATE TABLE purge_requests (reason text);
CREATE FUNCTION purge_patients() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM patients WHERE status = 'guest';
    RETURN NULL;
END $$;
CREATE TRIGGER purge_patients AFTER INSERT ON purge_requests
    FOR EACH STATEMENT EXECUTE FUNCTION purge_patients();
CREATE TABLE plain_notes (body text);
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'h40r_writer') THEN
        CREATE ROLE h40r_writer LOGIN;
    END IF;
END $$;
GRANT INSERT ON plain_notes TO h40r_writer;
"""
BEFORE = [(1, "Ana"), (1, "Bruno"), (2, "Carla")]


@pytest.fixture
async def dsn(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(
        postgres, BASELINE.read_text(encoding="utf-8") + CLINICS + SCHEMA
    ) as d:
        yield d


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[GuardedConnection]:
    connection = await connect(dsn, policy=POLICY)
    yield connection
    await connection.close()


async def _patients(dsn: str) -> list[tuple[int, str]]:
    raw = await asyncpg.connect(dsn)
    try:
        rows = await raw.fetch("SELECT tenant_id, first_name FROM patients ORDER BY id")
        return [(r[0], r[1]) for r in rows]
    finally:
        await raw.close()


async def _records() -> AsyncIterator[tuple[object, ...]]:
    yield (2, "Eve", "9")


COPIES = {
    "records": lambda c: c.copy_records_to_table("staging", records=[(2, "Eve", "9")]),
    "records with columns": lambda c: c.copy_records_to_table(
        "staging", records=[(2, "Eve", "9")], columns=["clinic", "name", "phone"]
    ),
    "streamed records": lambda c: c.copy_records_to_table("staging", records=_records()),
    "a file": lambda c: c.copy_to_table("staging", source=io.BytesIO(b"2\tEve\t9\n")),
    "a file, in a schema": lambda c: c.copy_to_table(
        "staging", schema_name="public", source=io.BytesIO(b"2\tEve\t9\n")
    ),
}


@pytest.mark.parametrize("how", COPIES)
async def test_a_copy_into_a_table_whose_trigger_writes_patients(
    conn: GuardedConnection, dsn: str, how: str
) -> None:
    with tenant(1), pytest.raises(TenantIsolationError, match="TG005"):
        await COPIES[how](conn)
    assert await _patients(dsn) == BEFORE  # was … (2, 'Eve'): clinic 1 wrote clinic 2's patient


async def test_a_statement_trigger_deleting_every_clinics_patients(
    conn: GuardedConnection, dsn: str
) -> None:
    with tenant(1), pytest.raises(TenantIsolationError, match="TG005"):
        await conn.copy_records_to_table("purge_requests", records=[("spring cleaning",)])
    assert await _patients(dsn) == BEFORE  # was []: every clinic's guests deleted


async def test_the_insert_it_amounts_to_is_refused_alike(conn: GuardedConnection) -> None:
    with tenant(1), pytest.raises(TenantIsolationError, match="TG005"):
        await conn.execute("INSERT INTO staging VALUES ($1, 'Eve', '9')", 1)


async def test_copies_the_guard_lets_through(conn: GuardedConnection, dsn: str) -> None:
    """The twins: a table without such triggers takes COPYs in a request, and a trusted import
    runs in unscoped()."""
    with tenant(1):
        assert await conn.copy_records_to_table("plain_notes", records=[("hello",)]) == "COPY 1"
        source = io.BytesIO(b"world\n")
        assert await conn.copy_to_table("plain_notes", source=source) == "COPY 1"
    with unscoped("import of clinic 2's list"):
        await conn.copy_records_to_table("staging", records=[(2, "Eve", "9")])
    assert await _patients(dsn) == [*BEFORE, (2, "Eve")]
    with tenant(1):
        notes = await conn.fetch("SELECT body FROM plain_notes ORDER BY body")
    assert [r[0] for r in notes] == ["hello", "world"]


async def test_a_file_copy_needs_no_select_privilege(dsn: str) -> None:
    """COPY FROM a file needs the INSERT privilege only, and so does its check: proven from its text
    (a role that may only append to a log table)."""
    writer = await connect(dsn.replace("postgres@", "h40r_writer@", 1), policy=POLICY)
    try:
        with tenant(1):
            source = io.BytesIO(b"appended\n")
            assert await writer.copy_to_table("plain_notes", source=source) == "COPY 1"
    finally:
        await writer.close()
