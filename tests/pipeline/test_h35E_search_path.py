"""Round 35 (helper h35E): the search_path the caller set on the connection it hands to
`apply_patches`. The runner cleans the session before each patch (`RESET ALL`): a pool whose
`setup=` (or `init=`) says `SET search_path = app` had its patches build in `public` on a new database (the
ledger too), while the application's queries on that pool read `app` — before the fix the
server held `public.notes` and `public.tenantguard_patches`, `app` empty. The patches now run
with the caller's search_path (after each `RESET ALL`, as the base of every patch), and the
connection is handed back with it."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg
import pytest

from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import cli, fetchval, write


async def _schema_app(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE SCHEMA app")
    finally:
        await conn.close()


_NOTES = "CREATE TABLE IF NOT EXISTS notes (id int PRIMARY KEY, body text);\n"
_SEED = "INSERT INTO notes VALUES (1, 'first') ON CONFLICT DO NOTHING;\n"


async def test_a_pool_s_setup_search_path_is_where_the_patches_build(
    database: str, tmp_path: Path
) -> None:
    await _schema_app(database)
    write(tmp_path, "0001_notes.sql", _NOTES)
    # a patch that moves its own path: the next one still starts from the caller's
    write(
        tmp_path,
        "0002_moves.sql",
        "SET search_path = public;\nCREATE TABLE IF NOT EXISTS moved (id int);\n",
    )
    write(tmp_path, "0003_seed.sql", _SEED)

    async def setup(conn: asyncpg.Connection) -> None:  # at each acquire (asyncpg's reset
        await conn.execute("SET search_path = app")  # at release runs RESET ALL)

    pool = await asyncpg.create_pool(database, min_size=1, max_size=1, setup=setup)
    try:
        run = await apply_patches(pool, tmp_path)
        assert run.applied == ["0001_notes.sql", "0002_moves.sql", "0003_seed.sql"]
        async with pool.acquire() as conn:
            # the application's reads on the pool see the patches' tables and rows
            assert await conn.fetch("SELECT id, body FROM notes") == [(1, "first")]
    finally:
        await pool.close()
    assert await fetchval(database, "SELECT to_regclass('app.notes')::text") == "app.notes"
    assert await fetchval(database, "SELECT to_regclass('public.notes')") is None
    assert await fetchval(database, "SELECT to_regclass('public.moved')::text") == "moved"
    assert (
        await fetchval(database, "SELECT to_regclass('app.tenantguard_patches')::text")
        == "app.tenantguard_patches"
    )
    assert await fetchval(database, "SELECT count(*) FROM app.tenantguard_patches") == 3
    # the CLI, with the same search path given at connection, finds the ledger: nothing to do
    dsn = database + ("&" if "?" in database else "?") + "options=-csearch_path%3Dapp"
    assert await cli("patches", "apply", "--dsn", dsn, "--dir", str(tmp_path)) == 0
    assert await fetchval(database, "SELECT count(*) FROM app.tenantguard_patches") == 3


async def test_a_connection_s_own_search_path_is_kept_and_handed_back(
    database: str, tmp_path: Path
) -> None:
    await _schema_app(database)
    write(tmp_path, "0001_notes.sql", _NOTES)
    write(tmp_path, "0002_seed.sql", _SEED)
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("SET search_path = app, public")
        await apply_patches(conn, tmp_path)
        assert await conn.fetchval("SHOW search_path") == "app, public"
        assert await conn.fetch("SELECT id, body FROM app.notes") == [(1, "first")]
        # a second run on it: nothing pending (the ledger found where the first made it)
        run = await apply_patches(conn, tmp_path)
        assert run.applied == [] and run.skipped == ["0001_notes.sql", "0002_seed.sql"]
    finally:
        await conn.close()
    assert await fetchval(database, "SELECT to_regclass('public.notes')") is None


async def test_a_caller_path_with_pg_temp_first_applies_nothing(
    database: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_notes.sql", _NOTES)
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("SET search_path = pg_temp, public")
        try:
            await apply_patches(conn, tmp_path)
        except Exception as error:
            assert "pg_temp" in str(error)
        else:
            raise AssertionError("applied with pg_temp first")
    finally:
        await conn.close()
    assert await fetchval(database, "SELECT to_regclass('public.notes')") is None
    assert await fetchval(database, "SELECT to_regclass('public.tenantguard_patches')") is None


async def test_a_database_whose_patches_were_built_under_the_reset_path_keeps_it(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The upgrade: patches applied so far by a pool whose setup said `SET search_path = app`
    were built in `public` (the runner reset it away). The ledger, in `public`, is not on the
    pool's path: that run must not stop at startup ('not on the runner's search_path'), nor
    build anything in `app` — it goes on where the ledger is, and says so."""
    await _schema_app(database)
    write(tmp_path, "0001_notes.sql", _NOTES)
    await apply_patches(database, tmp_path)  # as before: public
    write(tmp_path, "0002_seed.sql", _SEED)

    async def setup(conn: asyncpg.Connection) -> None:
        await conn.execute("SET search_path = app")

    pool = await asyncpg.create_pool(database, min_size=1, max_size=1, setup=setup)
    try:
        with caplog.at_level(logging.WARNING, logger="tenantguard.patches.runner"):
            run = await apply_patches(pool, tmp_path)
        assert run.applied == ["0002_seed.sql"]
    finally:
        await pool.close()
    conn = await asyncpg.connect(database)
    try:  # a connection handed in is handed back with its own path all the same
        await conn.execute("SET search_path = app")
        await apply_patches(conn, tmp_path)
        assert await conn.fetchval("SHOW search_path") == "app"
    finally:
        await conn.close()
    assert "public" in caplog.text and "search_path" in caplog.text
    assert await fetchval(database, "SELECT count(*) FROM public.notes") == 1
    assert await fetchval(database, "SELECT to_regclass('app.notes')") is None
    assert await fetchval(database, "SELECT to_regclass('app.tenantguard_patches')") is None
