"""Round 35 (helper h35U): attacks, as an outsider, on round 35's changes to the patch pipeline
(tenantguard/patches/: the caller's kept search_path, the refusal of patches that only call
session-setting functions, the runner's retried queries, DO block checks, the lint of a
baseline), on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg
import pytest

from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import cli, fetchval, ledger_names, write

_TABLES = """
SELECT coalesce(array_agg(n.nspname || '.' || c.relname ORDER BY n.nspname, c.relname), '{}')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname IN ('public', 'app')
"""


async def _schema_app(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE SCHEMA app")
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "second",
    [
        # a new table: built in app, beside a ledger and tables in public
        "CREATE TABLE IF NOT EXISTS audit (id int);\n",
        # an idempotent re-creation: 'public.notes exist already', the startup stopped
        "CREATE TABLE IF NOT EXISTS notes (id int PRIMARY KEY);\n"
        "CREATE TABLE IF NOT EXISTS audit (id int);\n",
    ],
    ids=["new_table", "idempotent_recreation"],
)
async def test_a_caller_path_that_reaches_a_ledger_built_in_another_schema_builds_there(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, second: str
) -> None:
    """The upgrade of round 35, with the ledger on the caller's path: patches applied so far
    (the runner reset the caller's path) were built in public; the pool's setup says `SET
    search_path = app, public`, which reaches public's ledger. Before: the next patch's
    `CREATE TABLE audit` was built in app.audit beside public.notes and the ledger in public
    (or the run stopped at startup: 'the pending patches create notes in schema app … but
    public.notes exist already'). The patches go on where the ledger is, as when the ledger is
    off the caller's path."""
    await _schema_app(database)
    write(tmp_path, "0001_notes.sql", "CREATE TABLE IF NOT EXISTS notes (id int PRIMARY KEY);\n")
    await apply_patches(database, tmp_path)  # as before round 35: the session's own path
    write(tmp_path, "0002_more.sql", second)

    async def setup(conn: asyncpg.Connection) -> None:
        await conn.execute("SET search_path = app, public")

    pool = await asyncpg.create_pool(database, min_size=1, max_size=1, setup=setup)
    try:
        with caplog.at_level(logging.WARNING, logger="tenantguard.patches.runner"):
            run = await apply_patches(pool, tmp_path)
        assert run.applied == ["0002_more.sql"]
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW search_path") == "app, public"
    finally:
        await pool.close()
    assert await fetchval(database, _TABLES) == [
        "public.audit",
        "public.notes",
        "public.tenantguard_patches",
    ]
    assert await ledger_names(database) == ["0001_notes.sql", "0002_more.sql"]
    assert "app, public" in caplog.text and '"public".tenantguard_patches' in caplog.text


async def test_a_caller_path_whose_first_schema_holds_the_ledger_is_kept(
    database: str, tmp_path: Path
) -> None:
    """The safe twin: the ledger in app (built under the caller's path): app goes on."""
    await _schema_app(database)
    write(tmp_path, "0001_notes.sql", "CREATE TABLE IF NOT EXISTS notes (id int PRIMARY KEY);\n")

    async def setup(conn: asyncpg.Connection) -> None:
        await conn.execute("SET search_path = app, public")

    pool = await asyncpg.create_pool(database, min_size=1, max_size=1, setup=setup)
    try:
        await apply_patches(pool, tmp_path)
        write(tmp_path, "0002_more.sql", "CREATE TABLE IF NOT EXISTS audit (id int);\n")
        run = await apply_patches(pool, tmp_path)
        assert run.applied == ["0002_more.sql"]
    finally:
        await pool.close()
    assert await fetchval(database, _TABLES) == [
        "app.audit",
        "app.notes",
        "app.tenantguard_patches",
    ]


# ------------------------------------------ patches that call session-setting functions only

_FUNCTIONS = """
CREATE SCHEMA IF NOT EXISTS app;
CREATE TABLE IF NOT EXISTS app.parts (y text);
CREATE OR REPLACE FUNCTION app.configure() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN PERFORM set_config('search_path', 'app, public', false); END $f$;
CREATE OR REPLACE PROCEDURE app.configure_proc() LANGUAGE plpgsql AS $f$
BEGIN PERFORM set_config('search_path', 'app, public', false); END $f$;
CREATE OR REPLACE FUNCTION app.backfill(y text) RETURNS text LANGUAGE sql AS
$f$ INSERT INTO app.parts VALUES (y) RETURNING y $f$;
CREATE OR REPLACE FUNCTION app.create_partitions(y text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN EXECUTE format('CREATE TABLE IF NOT EXISTS app.p_%s (id int)', y); END $f$;
"""


@pytest.mark.parametrize(
    ("patches", "rows"),
    [
        # a function of the same name made by a pending patch, in another schema, only sets
        # the session: the catalog's app.backfill(text), which writes, was not read
        (
            {
                "0002_audit.sql": "CREATE SCHEMA IF NOT EXISTS audit;\n"
                "CREATE OR REPLACE FUNCTION audit.backfill() RETURNS void LANGUAGE plpgsql AS "
                "$f$ BEGIN PERFORM set_config('app.a', 'b', false); END $f$;\n",
                "0003_run.sql": "SELECT app.backfill('2027');\n",
            },
            ["2027"],
        ),
        # the work is in set_config's argument
        (
            {"0002_run.sql": "SELECT set_config('app.done', app.backfill('2028'), false);\n"},
            ["2028"],
        ),
        ({"0002_run.sql": "SELECT app.create_partitions('2027');\n"}, []),
    ],
    ids=["same_name_made_in_the_run", "work_in_set_config_s_argument", "create_partitions"],
)
async def test_a_patch_whose_called_function_does_lasting_work_is_applied(
    database: str, tmp_path: Path, patches: dict[str, str], rows: list[str]
) -> None:
    """Before: refused as 'only sets the session' (exit 1, nothing applied); the function
    writes a row of app.parts."""
    write(tmp_path, "0001_functions.sql", _FUNCTIONS)
    await apply_patches(database, tmp_path)
    for name, text in patches.items():
        write(tmp_path, name, text)
    run = await apply_patches(database, tmp_path)
    assert run.applied == sorted(patches)
    assert await fetchval(database, "SELECT coalesce(array_agg(y), '{}') FROM app.parts") == rows
    assert await ledger_names(database) == ["0001_functions.sql", *sorted(patches)]


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM app.configure();\n",
        "CALL app.configure_proc();\n",
        "DO $$ BEGIN PERFORM app.configure(); END $$;\n",
        "SELECT app.configure()::text;\n",
        "SET lock_timeout = '1s';\nSELECT app.configure();\n",
    ],
    ids=["from", "call", "do_perform", "cast", "beside_set"],
)
async def test_a_patch_that_only_calls_a_session_setting_function_another_way_is_refused(
    database: str, tmp_path: Path, text: str
) -> None:
    """Round 35 refused `SELECT app.configure();` alone; these spellings of the same call were
    applied and recorded, exit 0, and changed nothing lasting."""
    write(tmp_path, "0001_functions.sql", _FUNCTIONS)
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_set.sql", text)
    with pytest.raises(PatchError, match=r"0002_set\.sql:1:1: .*only sets the session"):
        await apply_patches(database, tmp_path)
    assert await ledger_names(database) == ["0001_functions.sql"]


# ------------------------------------------ a patch run again after effects beyond its transaction


async def _remote_log(database: str, tmp_path: Path) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("CREATE EXTENSION dblink")
    finally:
        await conn.close()
    write(
        tmp_path,
        "0001_log.sql",
        "CREATE TABLE IF NOT EXISTS remote_log (at timestamptz DEFAULT now());\n"
        "CREATE TABLE IF NOT EXISTS accounts (id int);\n",
    )
    await apply_patches(database, tmp_path)


async def test_a_patch_whose_dblink_call_ran_is_not_run_again_after_a_cancelled_runner_query(
    database: str, tmp_path: Path
) -> None:
    """Round 35 rolls a patch back and runs it again when a statement_timeout cancels one of
    the runner's own queries between its statements. Its dblink_exec had committed in another
    session: before, the patch ran 6 times (remote_log held 6 rows), was never recorded, and
    the error said only that the timeout was too short. (The runner's read of the session is
    slowed here by the patch's own 8000 custom settings, which stay defined in the session
    after a rollback: the retries could not finish either.) Now it is not run again: 1 row,
    and the error says what ran beyond the transaction."""
    await _remote_log(database, tmp_path)
    write(
        tmp_path,
        "0002_remote.sql",
        f"SELECT dblink_exec('{database}', 'INSERT INTO remote_log DEFAULT VALUES');\n"
        "SELECT set_config('x.k' || g, 'v', true) FROM generate_series(1, 8000) g;\n"
        # a setting of the runner's the patch sets itself: the read back after the last
        # statement reads pg_settings (slow here) — a patch's own lock_timeout no longer makes
        # it (round 36, helper h36E: the runner compares it with the value the patch set)
        "SET LOCAL idle_session_timeout = '1h';\n"
        "SET LOCAL statement_timeout = '1ms';\n",
    )
    with pytest.raises(PatchError, match=r"not run again: a call of dblink_exec ran beyond"):
        await apply_patches(database, tmp_path)
    assert await fetchval(database, "SELECT count(*) FROM remote_log") == 1
    assert await ledger_names(database) == ["0001_log.sql"]


async def test_a_patch_whose_dblink_call_ran_is_not_run_again_after_a_lock_timeout(
    database: str, tmp_path: Path
) -> None:
    """The same for the lock_timeout retries: an application transaction holds accounts; the
    patch's dblink_exec ran before its ALTER TABLE timed out. Before: run 3 times (3 rows in
    remote_log), then PatchLockError. Now: 1 row, not run again."""
    await _remote_log(database, tmp_path)
    write(
        tmp_path,
        "0002_remote.sql",
        f"SELECT dblink_exec('{database}', 'INSERT INTO remote_log DEFAULT VALUES');\n"
        "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text;\n",
    )
    holder = await asyncpg.connect(database)
    try:
        await holder.execute("BEGIN; SELECT * FROM accounts")
        with pytest.raises(PatchError, match=r"not run again: a call of dblink_exec ran beyond"):
            await apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=2)
        await holder.execute("ROLLBACK")
    finally:
        await holder.close()
    assert await fetchval(database, "SELECT count(*) FROM remote_log") == 1
    assert await ledger_names(database) == ["0001_log.sql"]
    # the safe twin: a lock timeout before the dblink call ran is retried as before
    write(
        tmp_path,
        "0002_remote.sql",
        "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text;\n"
        f"SELECT dblink_exec('{database}', 'INSERT INTO remote_log DEFAULT VALUES');\n",
    )
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=2)
    assert run.applied == ["0002_remote.sql"]
    assert await fetchval(database, "SELECT count(*) FROM remote_log") == 2


# ------------------------------------------ patches lint and a baseline's header


@pytest.mark.parametrize(
    "header",
    [
        "-- Baseline schema for new installations.\n",
        "--\n-- PostgreSQL database dump\n--\n",
    ],
    ids=["sync", "pg_dump"],
)
def test_a_baseline_header_pasted_into_a_patch_beside_others_does_not_escape_the_lint(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    header: str,
) -> None:
    """Patches kept in a folder other than the configured patch_dir (`patches apply --dir
    migrations`), linted by name: round 35 left a file with a baseline's first line out of
    the lint ('… is the baseline (a schema dump), not a patch'), exit 0, though the runner
    applies it as the patch its name says — here its unguarded CREATE TABLE and its COMMIT."""
    from tenantguard.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\nglobal_tables = ["tenants"]\n', encoding="utf-8"
    )
    write(
        tmp_path / "migrations",
        "0001_a.sql",
        "CREATE TABLE IF NOT EXISTS tenants (id int PRIMARY KEY);\n",
    )
    write(
        tmp_path / "migrations",
        "0002_b.sql",
        header + "BEGIN;\nCREATE TABLE tenants2 (id int PRIMARY KEY);\nCOMMIT;\n",
    )
    code = main(["patches", "lint", "--no-cache", "--format", "json", "migrations"])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert "0002_b.sql" in out and "baseline" not in err
    # the twin: a dump kept beside the patches under a name that is not a patch's
    (tmp_path / "migrations" / "0002_b.sql").unlink()
    write(tmp_path / "migrations", "schema_dump.sql", header + "BEGIN;\nCREATE TABLE t (id int);\n")
    code = main(["patches", "lint", "--no-cache", "--format", "json", "migrations"])
    out, err = capsys.readouterr()
    assert code == 0, (out, err)
    assert "schema_dump.sql" in err and "baseline" in err


# ------------------------------------------ a caller's search_path of quoted schema names


@pytest.mark.parametrize("schema", ['"my app"', '"MyApp"'], ids=["space", "mixed_case"])
async def test_a_caller_path_of_a_quoted_schema_applies_there(
    database: str, tmp_path: Path, schema: str
) -> None:
    """A pool's setup `SET search_path = "my app", public`: apply_patches(pool) ended in
    'InvalidNameError: invalid name syntax' (the check for second copies read
    to_regnamespace(current_schema()), the name unquoted), nothing applied. With "MyApp" that
    lookup found no schema (myapp): the patch `CREATE TABLE IF NOT EXISTS notes` was refused
    ('… public.notes exist already') though "MyApp".notes existed."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}; CREATE TABLE public.notes (id int)")
    finally:
        await conn.close()
    write(tmp_path, "0001_notes.sql", "CREATE TABLE IF NOT EXISTS notes (id int);\n")

    async def setup(conn: asyncpg.Connection) -> None:
        await conn.execute(f"SET search_path = {schema}, public")

    pool = await asyncpg.create_pool(database, min_size=1, max_size=1, setup=setup)
    try:
        async with pool.acquire() as conn:  # its notes made first, as the patch would
            await conn.execute(f"CREATE TABLE {schema}.notes (id int)")
        write(tmp_path, "0002_seed.sql", "INSERT INTO notes VALUES (1);\n")
        run = await apply_patches(pool, tmp_path)
        assert run.applied == ["0001_notes.sql", "0002_seed.sql"]
        async with pool.acquire() as conn:
            assert await conn.fetch("SELECT id FROM notes") == [(1,)]
    finally:
        await pool.close()
    name = schema.strip('"')
    assert await fetchval(database, f"SELECT count(*) FROM {schema}.notes") == 1
    assert await fetchval(database, "SELECT count(*) FROM public.notes") == 0
    assert (
        await fetchval(
            database,
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'tenantguard_patches'",
        )
        == name
    )


# ------------------------------------------ a reset of lock_timeout inside a called function

_RESETTING = """
CREATE TABLE IF NOT EXISTS accounts (id int);
CREATE OR REPLACE FUNCTION reset_settings() RETURNS void LANGUAGE plpgsql AS
$f$ BEGIN RESET lock_timeout; END $f$;
CREATE OR REPLACE FUNCTION migrate() RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE 'RESET ALL';
    ALTER TABLE accounts ADD COLUMN IF NOT EXISTS c int;
    RETURN 'done';
END $f$;
"""


@pytest.mark.parametrize(
    "text",
    [
        "DO $$ BEGIN PERFORM reset_settings(); "
        "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS c int; END $$;\n",
        "SELECT migrate();\n",
    ],
    ids=["do_block_calls_a_reset", "function_resets_then_alters"],
)
async def test_a_reset_of_lock_timeout_in_a_called_function_before_ddl_is_refused(
    database: str, tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Round 35 refused a DO block whose own `RESET lock_timeout` came before its DDL; the same
    reset made by a function it calls (or by the function the patch calls, before its own
    ALTER TABLE) ran the DDL with the database's lock_timeout 0: behind an application's
    open transaction on accounts, apply was still waiting after 6 s (asyncio TimeoutError),
    the patch lock held. Now refused before anything runs, at the statement's line."""
    write(tmp_path, "0001_base.sql", _RESETTING)
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_alter.sql", text)
    holder = await asyncpg.connect(database)
    try:
        await holder.execute("BEGIN; SELECT * FROM accounts")
        with pytest.raises(PatchError, match=r"0002_alter\.sql:1:1: .*lock_timeout"):
            await asyncio.wait_for(
                apply_patches(database, tmp_path, ddl_lock_timeout=0.3, ddl_lock_retries=0), 6
            )
    finally:
        await holder.close()
    assert await ledger_names(database) == ["0001_base.sql"]
    # status says what apply refuses (exit 1)
    capsys.readouterr()
    assert await cli("patches", "status", "--dsn", database, "--dir", str(tmp_path)) == 1
    assert "pending   0002_alter.sql REFUSED" in capsys.readouterr().out
    columns = (
        "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'c'"
    )
    assert await fetchval(database, columns) == 0


async def test_a_call_of_a_resetting_function_in_a_statement_of_its_own_is_applied(
    database: str, tmp_path: Path
) -> None:
    """The twin: the reset in a statement of its own (the runner puts its lock_timeout back
    after it), the function made in the same run."""
    write(tmp_path, "0001_base.sql", _RESETTING)
    write(
        tmp_path,
        "0002_alter.sql",
        "SELECT reset_settings();\nALTER TABLE accounts ADD COLUMN IF NOT EXISTS c int;\n"
        "DO $$ BEGIN ALTER TABLE accounts ADD COLUMN IF NOT EXISTS d int; "
        "PERFORM reset_settings(); END $$;\n",
    )
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0001_base.sql", "0002_alter.sql"]


async def test_a_trigger_that_resets_lock_timeout_does_not_leave_the_patch_without_it(
    database: str, tmp_path: Path
) -> None:
    """Round 35 reads the runner's settings back after a statement whose text calls a function;
    a trigger of the table a patch writes to runs functions its text does not name. t's BEFORE
    INSERT trigger says EXECUTE 'RESET lock_timeout': after 'INSERT INTO t VALUES (1);' the
    rest of the patch ran with the database's lock_timeout — the row seen said '0', not the
    runner's '300ms' (its DDL would wait behind the application without end)."""
    write(
        tmp_path,
        "0001_t.sql",
        "CREATE TABLE IF NOT EXISTS t (id int);\n"
        "CREATE OR REPLACE FUNCTION t_reset() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN "
        "EXECUTE 'RESET lock_timeout'; RETURN NEW; END $f$;\n"
        "DROP TRIGGER IF EXISTS t_reset ON t;\n"
        "CREATE TRIGGER t_reset BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_reset();\n",
    )
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(
        tmp_path,
        "0002_insert.sql",
        "INSERT INTO t VALUES (1);\n"
        "CREATE TABLE IF NOT EXISTS seen AS SELECT current_setting('lock_timeout') AS v;\n",
    )
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"
    assert await fetchval(database, "SELECT count(*) FROM t") == 1


# ------------------------------------------ a called function's own search_path: pg_temp first


@pytest.mark.parametrize("same_patch", [False, True], ids=["database_s", "same_patch"])
async def test_a_function_whose_own_path_puts_pg_temp_first_does_not_build_in_pg_temp(
    database: str, tmp_path: Path, same_patch: bool
) -> None:
    """`CREATE FUNCTION app.make() … SET search_path = pg_temp, public AS $f$ BEGIN CREATE
    TABLE IF NOT EXISTS made (id int); END $f$` and a patch `SELECT app.make();`: the table
    was made in the session's temporary schema, gone at disconnect, and the patch recorded
    as applied (exit 0, no table anywhere). The runner's pg_temp check looked at the patch's
    own path only. Now rolled back at the call's line, naming the table."""
    make = (
        "CREATE SCHEMA IF NOT EXISTS app;\n"
        "CREATE OR REPLACE FUNCTION app.make() RETURNS void LANGUAGE plpgsql "
        "SET search_path = pg_temp, public AS $f$ BEGIN "
        "CREATE TABLE IF NOT EXISTS made (id int); END $f$;\n"
    )
    if same_patch:
        write(tmp_path, "0001_make.sql", make + "SELECT app.make();\n")
        where, ledger = r"0001_make\.sql:3:1", []
    else:
        write(tmp_path, "0001_make.sql", make)
        await apply_patches(database, tmp_path)
        write(tmp_path, "0002_call.sql", "SELECT app.make();\n")
        where, ledger = r"0002_call\.sql:1:1", ["0001_make.sql"]
    with pytest.raises(PatchError, match=where + r": .*made \(table\)"):
        await apply_patches(database, tmp_path)
    assert await ledger_names(database) == ledger
    assert await fetchval(database, "SELECT count(*) FROM pg_class WHERE relname = 'made'") == 0


async def test_a_function_whose_own_path_puts_pg_temp_last_builds_in_public(
    database: str, tmp_path: Path
) -> None:
    """The twin: the hardening advice, `SET search_path = public, pg_temp`."""
    write(
        tmp_path,
        "0001_make.sql",
        "CREATE OR REPLACE FUNCTION make() RETURNS void LANGUAGE plpgsql SECURITY DEFINER "
        "SET search_path = public, pg_temp AS $f$ BEGIN "
        "CREATE TABLE IF NOT EXISTS made (id int); CREATE TEMP TABLE scratch (id int) "
        "ON COMMIT DROP; END $f$;\nSELECT make();\n",
    )
    await apply_patches(database, tmp_path)
    assert await fetchval(database, "SELECT to_regclass('public.made')::text") == "made"


@pytest.mark.parametrize(
    "setting",
    [
        "SET LOCAL search_path = public, pg_temp;\n",
        "SELECT set_config('search_path', 'public, pg_temp', true);\n",
    ],
    ids=["set_local", "set_config"],
)
async def test_a_patch_that_puts_pg_temp_last_may_call_a_function_making_a_scratch_table(
    database: str, tmp_path: Path, setting: str
) -> None:
    """'SET LOCAL search_path = public, pg_temp; SELECT fill();', fill() making an ON COMMIT
    DROP scratch table and filling t from it: refused ('put pg_temp first on its search_path
    … scratch (table)'), t empty — the patch's path had moved, to pg_temp last. Now applied:
    t has its row."""
    write(
        tmp_path,
        "0001_fill.sql",
        "CREATE TABLE IF NOT EXISTS t (id int);\n"
        "CREATE OR REPLACE FUNCTION fill() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN "
        "CREATE TEMP TABLE scratch ON COMMIT DROP AS SELECT 1 AS id; "
        "INSERT INTO t SELECT id FROM scratch; END $f$;\n",
    )
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_fill.sql", setting + "SELECT fill();\n")
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0002_fill.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 1
