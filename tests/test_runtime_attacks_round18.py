"""Round 18 (an outside attack, on a superuser connection): the tables where the server keeps every
tenant's data itself — a tenant table's TOAST table (its long values, in chunks) and the large
objects' pages — read by name, or copied out with `copy_from_table`. The guard let clinic 1's
request read clinic 2's patient history from them; the server shows the data is there (read
unguarded), the guard refuses each read. Clinic 1 has Ana and Bruno, clinic 2 has Carla."""

from __future__ import annotations

import io

import asyncpg
import pytest

from tenantguard.runtime import TenantIsolationError, tenant
from tests.test_runtime_attacks import Setup
from tests.test_runtime_attacks_round3 import guard_only
from tests.test_runtime_attacks_round16 import fetched_as_clinic_1

__all__ = ["guard_only"]

SECRET = "CARLA-PRIVATE-HISTORY"


async def _plant(setup: Setup) -> tuple[str, int]:
    """Carla's history long enough to be stored out of line, and a large object of clinic 2:
    the TOAST table's name and the object's id."""
    owner = await asyncpg.connect(setup.owner_dsn)
    try:
        await owner.execute(
            "UPDATE patients SET medical_history = jsonb_build_object('note', $1::text || "
            "(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 400) i)) "
            "WHERE first_name = 'Carla'",
            SECRET,
        )
        toast = await owner.fetchval(
            "SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'patients'"
        )
        loid = await owner.fetchval(
            "SELECT lo_from_bytea(0, convert_to($1, 'utf8'))", f"clinic 2: x-ray of {SECRET}"
        )
        # the data is there, for anyone who reads those tables unguarded
        chunks = await owner.fetch(f"SELECT chunk_data FROM {toast}")
        assert chunks, "Carla's history was not stored out of line"
        pages = await owner.fetch("SELECT data FROM pg_largeobject WHERE loid = $1", loid)
        assert SECRET.encode() in b"".join(r[0] for r in pages)
        return toast, loid
    finally:
        await owner.close()


async def test_a_toast_table_read_by_name_is_refused(guard_only: Setup) -> None:
    toast, _ = await _plant(guard_only)
    schema, name = toast.split(".")
    for sql in (
        f"SELECT chunk_data FROM {toast}",
        f'SELECT chunk_data FROM "{schema}"."{name}"',
        f"SELECT count(*) FROM {toast} WHERE chunk_seq >= $1",
    ):
        got = await fetched_as_clinic_1(guard_only, sql, *([0] if "$1" in sql else []))
        assert got == ["refused"], sql


async def test_the_large_objects_pages_read_by_name_are_refused(guard_only: Setup) -> None:
    _, loid = await _plant(guard_only)
    for sql, args in (
        ("SELECT data FROM pg_largeobject", ()),
        ("SELECT data FROM pg_catalog.pg_largeobject WHERE loid = $1", (loid,)),
    ):
        assert await fetched_as_clinic_1(guard_only, sql, *args) == ["refused"], sql


async def test_copy_from_table_of_a_toast_table_or_the_large_objects_is_refused(
    guard_only: Setup,
) -> None:
    toast, _ = await _plant(guard_only)
    schema, name = toast.split(".")
    conn = await guard_only.connect()
    try:
        with tenant(1):
            for table, in_schema in ((name, schema), ("pg_largeobject", None)):
                out = io.BytesIO()
                with pytest.raises(TenantIsolationError):
                    await conn.copy_from_table(table, schema_name=in_schema, output=out)
                assert out.getvalue() == b""
            # a table of no tenant is copied as before
            out = io.BytesIO()
            await conn.copy_from_table("tenants", output=out)
            assert out.getvalue()
    finally:
        await conn.close()
