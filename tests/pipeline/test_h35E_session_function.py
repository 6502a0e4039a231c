"""Round 35 (helper h35E): a patch that sets its session only through a function of its own
(`SELECT app.configure()`, whose body calls `set_config('search_path', …, false)` and resets
the runner's lock_timeout): does the setting reach the next patch, or the connection handed
back to the application?"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import cli, fetchval, ledger_names, write

_CONFIGURE = """
CREATE SCHEMA IF NOT EXISTS app;
CREATE OR REPLACE FUNCTION app.configure() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM set_config('search_path', 'app, public', false);
    EXECUTE 'RESET lock_timeout';  -- the database's (0), not the runner's
    PERFORM set_config('app.region', 'eu', false);
END $f$;
"""


async def test_a_setting_made_by_a_patch_s_function_does_not_reach_the_next_patch(
    database: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_configure.sql", _CONFIGURE)
    write(
        tmp_path,
        "0002_use.sql",
        "SELECT app.configure();\nCREATE TABLE IF NOT EXISTS first_use (id int);\n",
    )
    write(
        tmp_path,
        "0003_next.sql",
        "CREATE TABLE IF NOT EXISTS next_one (lock text, region text);\n"
        "INSERT INTO next_one VALUES (current_setting('lock_timeout'), "
        "current_setting('app.region', true));\n",
    )
    conn = await asyncpg.connect(database)
    try:
        run = await apply_patches(conn, tmp_path, ddl_lock_timeout=0.3)
        assert run.applied == ["0001_configure.sql", "0002_use.sql", "0003_next.sql"]
        # handed back as it came: the function's settings are gone
        assert await conn.fetchval("SHOW search_path") == '"$user", public'
        assert await conn.fetchval("SELECT current_setting('app.region', true)") in (None, "")
        assert await conn.fetchval("SHOW lock_timeout") == "0"
    finally:
        await conn.close()
    # the patch that called it built where its function said; the next one did not
    assert await fetchval(database, "SELECT to_regclass('app.first_use')::text") == "app.first_use"
    assert await fetchval(database, "SELECT to_regclass('public.next_one')::text") == "next_one"
    assert await fetchval(database, "SELECT to_regclass('app.next_one')") is None
    row = await fetchval(
        database, "SELECT row(lock, nullif(region, ''))::text FROM public.next_one"
    )
    assert row == "(300ms,)"


async def test_a_function_of_an_earlier_patch_that_drops_the_runner_s_lock_timeout(
    database: str, tmp_path: Path
) -> None:
    """The function made by an earlier patch resets lock_timeout (the database's 0): the rest
    of the patch that calls it ran without the runner's lock_timeout (its DDL would wait behind
    the application without end; the runner read the session back only when the patch's own
    text said RESET or set_config). Before: the row seen said '0'."""
    write(tmp_path, "0001_configure.sql", _CONFIGURE)
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(
        tmp_path,
        "0002_use.sql",
        "SELECT app.configure();\n"
        "CREATE TABLE IF NOT EXISTS public.seen AS SELECT current_setting('lock_timeout') AS v;\n",
    )
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert await fetchval(database, "SELECT v FROM public.seen") == "300ms"


async def test_a_patch_that_only_calls_its_session_setting_function_is_refused(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "0001_configure.sql", _CONFIGURE)
    write(tmp_path, "0002_set.sql", "SELECT app.configure();\n")
    """Before: applied and recorded, exit 0 — and nothing of it lasted. Now refused before
    anything runs, as a patch of SETs is; the patch that made the function is not applied
    either (the run stops before it)."""
    with pytest.raises(PatchError, match=r"0002_set\.sql:1:1: .*only sets the session.*configure"):
        await apply_patches(database, tmp_path)
    assert await ledger_names(database) == []
    assert await fetchval(database, "SELECT to_regnamespace('app')") is None
    # made by an earlier run: read from the catalog
    write(tmp_path, "0002_set.sql", "SELECT 1;\n")
    await apply_patches(database, tmp_path)
    write(tmp_path, "0003_set.sql", "SELECT app.configure(), set_config('a.b', 'c', false);\n")
    with pytest.raises(PatchError, match=r"0003_set\.sql:1:1: .*only sets the session"):
        await apply_patches(database, tmp_path)
    assert await ledger_names(database) == ["0001_configure.sql", "0002_set.sql"]
    # status says what apply refuses (exit 1)
    capsys.readouterr()
    assert await cli("patches", "status", "--dsn", database, "--dir", str(tmp_path)) == 1
    assert "pending   0003_set.sql REFUSED" in capsys.readouterr().out


async def test_a_patch_calling_a_function_that_does_work_is_applied(
    database: str, tmp_path: Path
) -> None:
    """The safe twin: the function also writes (or is another language's): work."""
    write(
        tmp_path,
        "0001_f.sql",
        "CREATE TABLE IF NOT EXISTS marks (at text);\n"
        "CREATE OR REPLACE FUNCTION mark() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN "
        "PERFORM set_config('app.region', 'eu', false); INSERT INTO marks VALUES ('x'); "
        "END $f$;\n",
    )
    write(tmp_path, "0002_call.sql", "SELECT mark();\n")
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0001_f.sql", "0002_call.sql"]
    assert await fetchval(database, "SELECT count(*) FROM marks") == 1
