"""Round 34: an outsider's review of h34G's patch-pipeline checks (helper h34I), on a real
server: the same hazards spelled another way (bypasses), and what real teams write that the
checks refused (false refusals). Each test names what the server held before the fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import cli, fetchval, ledger_names, write

_FIRST = "CREATE TABLE IF NOT EXISTS first_patch (id int);\n"


@pytest.mark.parametrize(
    "text",
    [
        "SELECT set_config('statement_timeout', '5min', false);\n",
        "SELECT pg_catalog.set_config('search_path', 'app, public', false);\n",
        "DO $$ BEGIN SET search_path = app, public; END $$;\n",
        "DO $$ BEGIN EXECUTE 'RESET ALL'; PERFORM set_config('lock_timeout', '1s', true); END $$;\n",
        "RESET ALL;\nSELECT set_config('search_path', 'app', false);\n",
        "-- tenantguard: no-transaction\nSELECT set_config('client_encoding', 'LATIN1', false);\n",
    ],
)
async def test_a_patch_that_only_sets_its_session_another_way_is_refused(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """1. Bypass of h34G's session-only refusal: a patch whose only statements set the session
    through set_config() or a DO block. Before: applied, recorded (ledger ['0001_first.sql',
    '0002_set.sql']), exit 0, and nothing of it seen by the next patch."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    write(patches, "0002_set.sql", text)
    with pytest.raises(PatchError, match=r"0002_set\.sql:\d+:1: .*only sets the session"):
        await apply_patches(database, patches)
    assert await fetchval(database, "SELECT to_regclass('first_patch')") is None
    assert await ledger_names(database) == []
    capsys.readouterr()
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(patches)) == 1
    err = capsys.readouterr().err
    assert "0002_set.sql" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "text",
    [
        # a SELECT with a FROM, a DO block with a condition or a RAISE: work, not only settings
        "SELECT set_config('app.region', 'eu', false) FROM first_patch;\n",
        "DO $$ BEGIN IF to_regclass('first_patch') IS NULL THEN RAISE EXCEPTION 'no'; END IF; "
        "SET LOCAL search_path = public; END $$;\n",
        "SELECT set_config('search_path', 'public', true);\n"
        "CREATE TABLE IF NOT EXISTS second_patch (id int);\n",
    ],
)
async def test_a_patch_with_a_setting_and_work_is_applied(
    database: str, tmp_path: Path, text: str
) -> None:
    """1, safe twins."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    write(patches, "0002_set.sql", text)
    assert (await apply_patches(database, patches)).applied == ["0001_first.sql", "0002_set.sql"]


_LOCK_TIMEOUT_SEEN = (
    "CREATE TABLE IF NOT EXISTS public.seen AS SELECT current_setting('lock_timeout') AS v;\n"
)


@pytest.mark.parametrize(
    "reset",
    [
        "DO $$ BEGIN EXECUTE 'RESET ALL'; END $$;",
        "DO $$ BEGIN EXECUTE 'SET lock_timeout TO DEFAULT'; END $$;",
        "SELECT set_config('lock_timeout', NULL, false);",
        "CREATE OR REPLACE FUNCTION public.start_clean() RETURNS void LANGUAGE plpgsql AS "
        "$f$ BEGIN RESET ALL; END $f$;\nSELECT public.start_clean();",
    ],
)
async def test_a_reset_spelled_another_way_keeps_the_runner_s_lock_timeout(
    database: str, tmp_path: Path, reset: str
) -> None:
    """2. Bypass of h34G's RESET ALL fix, which read the statement's text: a RESET run by a DO
    block's EXECUTE, by set_config(…, NULL, …) or by a function of the patch put lock_timeout
    back to the database's 0 — the patch's DDL would wait behind the application without end.
    Before: the patch's statements ran with lock_timeout '0' (row seen = '0')."""
    patches = tmp_path / "patches"
    write(patches, "0001_reset.sql", f"{reset}\n{_LOCK_TIMEOUT_SEEN}")
    await apply_patches(database, patches, ddl_lock_timeout=0.2, ddl_lock_retries=1)
    assert await fetchval(database, "SELECT v FROM public.seen") == "200ms"


async def test_a_patch_s_own_lock_timeout_after_reset_all_stays(
    database: str, tmp_path: Path
) -> None:
    """2, safe twin: the patch's own `SET LOCAL lock_timeout` after its RESET ALL is kept."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_reset.sql",
        f"RESET ALL;\nSET LOCAL lock_timeout = '7s';\n{_LOCK_TIMEOUT_SEEN}",
    )
    await apply_patches(database, patches, ddl_lock_timeout=0.2, ddl_lock_retries=1)
    assert await fetchval(database, "SELECT v FROM public.seen") == "7s"


@pytest.mark.parametrize(
    "text",
    [
        "DO $$ BEGIN EXECUTE 'SET search_path = pg_temp, public'; END $$;\n"
        "CREATE TABLE IF NOT EXISTS accounts (id int);\n",
        "SET search_path = pg_temp, public;\n"
        "DO $$ BEGIN CREATE TABLE IF NOT EXISTS accounts (id int); END $$;\n",
        "SET search_path = pg_temp, public;\nSELECT 1 AS id INTO accounts;\n",
        "CREATE OR REPLACE FUNCTION public.use_scratch() RETURNS void LANGUAGE plpgsql AS $f$ "
        "BEGIN PERFORM set_config('search_path', 'pg_temp, public', true); END $f$;\n"
        "SELECT public.use_scratch();\nCREATE TABLE IF NOT EXISTS accounts (id int);\n",
        # the path put back before the patch's end: in the DO block, or by the implicit
        # transaction of a no-transaction patch's one statement
        "DO $$ BEGIN SET LOCAL search_path = pg_temp, public; "
        "CREATE TABLE IF NOT EXISTS accounts (id int); SET LOCAL search_path = public; END $$;\n",
        "-- tenantguard: no-transaction\nDO $$ BEGIN PERFORM set_config('search_path', "
        "'pg_temp, public', true); CREATE TABLE IF NOT EXISTS accounts (id int); END $$;\n",
        "-- tenantguard: no-transaction\nDO $$ BEGIN PERFORM set_config('search_path', "
        "'pg_temp, public', false); CREATE TABLE IF NOT EXISTS accounts (id int); END $$;\n",
    ],
)
async def test_pg_temp_first_spelled_another_way_is_rolled_back(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """3. Bypass of h34G's pg_temp check, which looked for the path's change and the creation
    in the statements' text: an EXECUTE'd SET, a CREATE inside a DO block, `SELECT … INTO`, a
    function of the patch calling set_config. Before: applied, exit 0, recorded (ledger
    ['0001_first.sql', '0002_tables.sql']) and to_regclass('public.accounts') NULL — the
    table was made in pg_temp and gone; no later run made it."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    write(patches, "0002_tables.sql", text)
    with pytest.raises(
        PatchError, match=r"0002_tables\.sql(:\d+:\d+)?: .*pg_temp first.*accounts \(table\)"
    ):
        await apply_patches(database, patches)
    assert await ledger_names(database) == ["0001_first.sql"]
    assert await fetchval(database, "SELECT to_regclass('public.accounts')") is None
    capsys.readouterr()
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(patches)) == 1
    err = capsys.readouterr().err
    assert "0002_tables.sql" in err and "Traceback" not in err
    assert await ledger_names(database) == ["0001_first.sql"]


@pytest.mark.parametrize(
    "text",
    [
        "SET LOCAL search_path = public, pg_temp;\nCREATE TEMP TABLE scratch AS SELECT 1 AS id;\n"
        "CREATE TABLE IF NOT EXISTS kept AS SELECT * FROM scratch;\n",
        # pg_temp first, and only what the patch asks for there: a TEMP table with a serial (its
        # sequence), a pg_temp. function, a TEMP table made in a DO block
        "SET LOCAL search_path = pg_temp, public;\n"
        "CREATE TEMP TABLE scratch (n serial, id int);\nINSERT INTO scratch (id) VALUES (1);\n"
        "CREATE FUNCTION pg_temp.same(x int) RETURNS int LANGUAGE sql AS 'SELECT x';\n"
        "DO $$ BEGIN CREATE TEMP TABLE other AS SELECT 1 AS id; END $$;\n"
        "CREATE TABLE IF NOT EXISTS public.kept AS SELECT pg_temp.same(id) AS id FROM scratch;\n",
    ],
)
async def test_a_scratch_temp_table_with_pg_temp_last_is_applied(
    database: str, tmp_path: Path, text: str
) -> None:
    """3, safe twin: CREATE TEMP TABLE as scratch, pg_temp last (or first, with only what the
    patch asks for in it)."""
    patches = tmp_path / "patches"
    write(patches, "0001_copy.sql", text)
    assert (await apply_patches(database, patches)).applied == ["0001_copy.sql"]
    assert await fetchval(database, "SELECT array_agg(id) FROM public.kept") == [1]


async def test_set_transaction_after_a_leading_set_local_is_applied(
    database: str, tmp_path: Path
) -> None:
    """4. False refusal: `SET LOCAL lock_timeout = '5s'; SET TRANSACTION ISOLATION LEVEL
    SERIALIZABLE;` then the work — what psql takes after BEGIN (a SET takes no snapshot) — was
    refused before anything ran ('below the patch's first statement'). Now the leading SETs'
    SET TRANSACTION runs first and the others in their place."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    write(
        patches,
        "0002_backfill.sql",
        "SET LOCAL lock_timeout = '5s';\nSET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n"
        "CREATE TABLE IF NOT EXISTS seen AS SELECT current_setting('transaction_isolation') AS "
        "iso, current_setting('lock_timeout') AS lt;\n",
    )
    assert (await apply_patches(database, patches)).applied == [
        "0001_first.sql",
        "0002_backfill.sql",
    ]
    rows = await fetchval(database, "SELECT array_agg(row(iso, lt)::text) FROM seen")
    assert rows == ["(serializable,5s)"]


async def test_set_transaction_after_work_is_still_refused(database: str, tmp_path: Path) -> None:
    """4, leak twin: below a statement that is not a SET it fails every run — refused first."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    write(
        patches,
        "0002_backfill.sql",
        "SET LOCAL lock_timeout = '5s';\nCREATE TABLE IF NOT EXISTS seen (id int);\n"
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n",
    )
    with pytest.raises(PatchError, match=r"0002_backfill\.sql:3:1: .*not a SET"):
        await apply_patches(database, patches)
    assert await ledger_names(database) == []
    assert await fetchval(database, "SELECT to_regclass('seen')") is None


@pytest.mark.parametrize(
    "text",
    [
        "SELECT set_config('transaction_isolation', 'serializable', true);\n"
        "CREATE TABLE IF NOT EXISTS seen (id int);\n",
        "DO $$ BEGIN SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; END $$;\n"
        "CREATE TABLE IF NOT EXISTS seen (id int);\n",
        "CREATE TABLE IF NOT EXISTS seen (id int);\n"
        "DO $$ BEGIN PERFORM set_config('transaction_deferrable', 'on', true); END $$;\n",
    ],
)
async def test_set_transaction_from_a_query_or_do_block_is_refused_before_anything_runs(
    database: str, tmp_path: Path, text: str
) -> None:
    """5. Bypass of h34G's late SET TRANSACTION refusal: set_config('transaction_isolation',
    …) in a query, or SET TRANSACTION / PERFORM set_config in a DO block, runs after the
    transaction's first snapshot — first statement or not. Before: 0001 applied, then 0002
    failed 'must be called before any query' at every run (ledger ['0001_first.sql'])."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    write(patches, "0002_backfill.sql", text)
    with pytest.raises(PatchError, match=r"0002_backfill\.sql:\d:1: .*from a query or a DO block"):
        await apply_patches(database, patches)
    assert await ledger_names(database) == []
    assert await fetchval(database, "SELECT to_regclass('first_patch')") is None


async def test_set_transaction_at_the_top_and_a_do_block_reading_it_is_applied(
    database: str, tmp_path: Path
) -> None:
    """5, safe twin: the level set at the top, a DO block that reads it (not sets it)."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_backfill.sql",
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n"
        "DO $$ BEGIN IF current_setting('transaction_isolation') <> 'serializable' THEN "
        "RAISE EXCEPTION 'isolation'; END IF; END $$;\n"
        "CREATE TABLE IF NOT EXISTS seen AS SELECT current_setting('transaction_isolation') AS v;\n",
    )
    assert (await apply_patches(database, patches)).applied == ["0001_backfill.sql"]
    assert await fetchval(database, "SELECT v FROM seen") == "serializable"
