"""Round 22: the patch pipeline under fault injection by an outsider (helper-100), on a real
server.

1. What a patch leaves in its session besides settings: a statement of SQL's PREPARE made the
   next patch's `PREPARE seed` fail on a fresh database (and pass on the next run, split
   otherwise), and the caller's connection came back holding the patch's advisory lock, its
   prepared statement, its held cursor and its LISTEN.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import asyncpg

from tenantguard.patches.runner import apply_patches
from tests.test_pipeline_faults import fetchval, ledger_names, write


async def test_a_patch_leaves_nothing_in_the_session_for_the_next_or_the_caller(
    database: str, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    seed = (
        "PREPARE seed(text) AS INSERT INTO clinics (name) VALUES ($1) "
        "ON CONFLICT (name) DO NOTHING;\n"
    )
    write(
        patches,
        "0001_clinics.sql",
        "CREATE TABLE IF NOT EXISTS clinics (id serial PRIMARY KEY, name text NOT NULL UNIQUE);\n"
        + seed
        + "EXECUTE seed('a');\n"
        "SELECT pg_advisory_lock(4242);\n"
        "SELECT pg_advisory_lock(4242);\n"  # taken twice: released twice
        "SELECT pg_advisory_lock_shared(7, 8);\n"
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1;\n"
        "LISTEN patch_events;\n",
    )
    write(patches, "0002_more.sql", seed + "EXECUTE seed('b');\n")
    conn = await asyncpg.connect(database)
    try:
        run = await apply_patches(conn, patches)
        assert run.applied == ["0001_clinics.sql", "0002_more.sql"]
        assert [r[0] for r in await conn.fetch("SELECT name FROM clinics ORDER BY name")] == [
            "a",
            "b",
        ]
        # the caller's connection: nothing of the patches' left
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_prepared_statements WHERE from_sql") == 0
        )
        assert await conn.fetchval("SELECT count(*) FROM pg_cursors WHERE is_holdable") == 0
        assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 0
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid()"
            )
            == 0
        )
        # and the connection still works with asyncpg's own prepared statements
        assert await conn.fetchval("SELECT $1::int + 1", 1) == 2
    finally:
        await conn.close()
    # another session takes the lock the patch took
    assert await fetchval(database, "SELECT pg_try_advisory_lock(4242)") is True
    assert await ledger_names(database) == ["0001_clinics.sql", "0002_more.sql"]


async def test_an_invalid_index_of_the_name_in_another_schema_is_not_the_patchs(
    database: str, tmp_path: Path
) -> None:
    """2. An INVALID index named like a patch's (unqualified) concurrent index, on a table of
    the same name in another schema, was "rebuilt" with the patch at every start (exit 0, the
    index still invalid, the startup's fast path never taken again). It is not the patch's: the
    patch builds its index beside the table the search path finds."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_t.sql",
        "CREATE TABLE IF NOT EXISTS leads (id serial PRIMARY KEY, phone text);\n",
    )
    write(
        patches,
        "0002_idx.sql",
        "-- tenantguard: no-transaction\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS leads_phone_idx ON leads (phone);\n",
    )
    conn = await asyncpg.connect(database)
    try:
        await apply_patches(conn, patches)
        await conn.execute(
            "CREATE SCHEMA archive; CREATE TABLE archive.leads (id int, phone text);"
            "INSERT INTO archive.leads VALUES (1, 'a'), (2, 'a')"
        )
        with contextlib.suppress(asyncpg.UniqueViolationError):
            await conn.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY leads_phone_idx ON archive.leads (phone)"
            )
        assert (
            await conn.fetchval(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = 'archive.leads_phone_idx'::regclass"
            )
            is False
        )
        for _ in range(2):
            run = await apply_patches(conn, patches)
            assert run.rebuilt == [] and run.applied == []
    finally:
        await conn.close()
