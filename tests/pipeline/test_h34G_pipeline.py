"""Round 34: the patch pipeline under fault injection (helper h34G), on a real server. Each test
names what the server held, what apply said and whether a retry finishes, before the fix.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.files import PatchError, PatchLockError
from tenantguard.patches.runner import apply_patches
from tenantguard.patches.verify import sync_baseline, verify_pipeline
from tests.pipeline.test_h32e_pipeline import _apply_process
from tests.pipeline.test_pipeline_faults import cli, fetchval, ledger_names, write

_FIRST = "CREATE TABLE IF NOT EXISTS first_patch (id int);\n"


@pytest.mark.parametrize(
    "text",
    [
        # the known open item: SET TRANSACTION outside a transaction is a WARNING, no more
        "-- tenantguard: no-transaction\nSET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n",
        "-- tenantguard: no-transaction\nSET LOCAL statement_timeout = 0;\n",
        "-- tenantguard: no-transaction\nSET statement_timeout = 0;\n",
        "-- tenantguard: no-transaction\nRESET ALL;\n",
        "-- tenantguard: no-transaction\nSET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;\n",
        "SET search_path = app, public;\nSET LOCAL lock_timeout = '1min';\n",
    ],
)
async def test_a_patch_that_only_sets_its_session_is_refused_before_anything_runs(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """1. A patch whose every statement only changes its session's settings — a no-transaction
    patch `SET TRANSACTION …`, `SET LOCAL …`, `SET …`, `RESET ALL` — changed nothing that stays
    (the runner cleans the session before each patch, and SET LOCAL and SET TRANSACTION outside
    a transaction are a WARNING): it was recorded as applied, exit 0, and its author believed
    the next patch ran with the setting. Before: applied ['0001_first.sql', '0002_set.sql']."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    write(patches, "0002_set.sql", text)
    line = 2 if text.startswith("--") else 1
    with pytest.raises(PatchError, match=rf"0002_set\.sql:{line}:1: .*only sets the session"):
        await apply_patches(database, patches)
    assert await fetchval(database, "SELECT to_regclass('first_patch')") is None
    assert await ledger_names(database) == []
    capsys.readouterr()
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(patches)) == 1
    err = capsys.readouterr().err
    assert "0002_set.sql" in err and "Traceback" not in err
    assert await ledger_names(database) == []


async def test_a_patch_with_a_setting_and_a_statement_is_applied(
    database: str, tmp_path: Path
) -> None:
    """1, safe twin: a setting followed by the statement it is for."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_first.sql",
        "SET LOCAL lock_timeout = '1min';\nCREATE TABLE IF NOT EXISTS first_patch (id int);\n",
    )
    write(patches, "0002_vacuum.sql", "-- tenantguard: no-transaction\nVACUUM first_patch;\n")
    assert (await apply_patches(database, patches)).applied == ["0001_first.sql", "0002_vacuum.sql"]


@pytest.mark.parametrize(
    "setting",
    [
        "SET client_encoding = 'LATIN1';",
        "SET NAMES 'WIN1252';",
        "SELECT set_config('client_encoding', 'LATIN1', true);",
    ],
)
async def test_a_patch_that_changes_client_encoding_is_rolled_back(
    database: str, tmp_path: Path, setting: str
) -> None:
    """2. The runner reads a patch as UTF-8 and sends it so; a patch's `SET client_encoding =
    'LATIN1'` (the first line of a pg_dump of a LATIN1 database) makes the server read the rest
    in that encoding. Before: applied, exit 0, and the seeded row held 'Ã©' where the file said
    'é'; the next run skipped it (recorded)."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    write(
        patches,
        "0002_seed.sql",
        f"CREATE TABLE IF NOT EXISTS words (w text);\n{setting}\n"
        "INSERT INTO words SELECT 'café' WHERE NOT EXISTS (SELECT 1 FROM words);\n",
    )
    with pytest.raises(PatchError, match=r"0002_seed\.sql:2:1: .*client_encoding") as raised:
        await apply_patches(database, patches)
    assert raised.value.applied == ["0001_first.sql"]
    assert await fetchval(database, "SELECT to_regclass('words')") is None
    assert await ledger_names(database) == ["0001_first.sql"]
    # the retry, once the line is gone, stores the file's text
    write(
        patches,
        "0002_seed.sql",
        "CREATE TABLE IF NOT EXISTS words (w text);\nSET client_encoding = 'UTF8';\n"
        "INSERT INTO words SELECT 'café' WHERE NOT EXISTS (SELECT 1 FROM words);\n",
    )
    assert (await apply_patches(database, patches)).applied == ["0002_seed.sql"]
    assert await fetchval(database, "SELECT array_agg(w) FROM words") == ["café"]


async def _holding(database: str, table: str) -> asyncpg.Connection:
    """An application connection whose open transaction holds ACCESS SHARE on `table`."""
    app = await asyncpg.connect(database)
    await app.execute(f"BEGIN; SELECT * FROM {table}")
    return app


@pytest.mark.parametrize(
    "reset",
    [
        "RESET ALL;",
        "RESET lock_timeout;",
        "SET lock_timeout TO DEFAULT;",
        "DO $$ BEGIN RESET ALL; END $$;",
    ],
)
async def test_a_patch_s_reset_all_keeps_the_runner_s_lock_timeout(
    database: str, tmp_path: Path, reset: str
) -> None:
    """3. `RESET ALL` in a patch (to start from the defaults) put lock_timeout back to the
    database's (0): the patch's ALTER TABLE behind an application transaction waited without
    end, holding the patch lock, and the application's queries on the table queued behind it
    — what the runner's own lock_timeout is for. Before: apply still waiting after 15 s, the
    application's `SELECT count(*) FROM accounts` blocked with it."""
    patches = tmp_path / "patches"
    write(patches, "0001_accounts.sql", "CREATE TABLE IF NOT EXISTS accounts (id int);\n")
    await apply_patches(database, patches)
    write(
        patches,
        "0002_column.sql",
        f"{reset}\nALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text;\n",
    )
    app = await _holding(database, "accounts")
    try:
        started = time.monotonic()
        with pytest.raises(PatchLockError, match=r"0002_column\.sql:2:1: .*could not lock"):
            await asyncio.wait_for(
                apply_patches(database, patches, ddl_lock_timeout=0.2, ddl_lock_retries=1), 15
            )
        assert time.monotonic() - started < 10
        assert (
            await fetchval(
                database,
                "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass "
                "AND attname = 'note'",
            )
            == 0
        )
    finally:
        await app.close()
    # the retry, once the application's transaction ended, applies it
    assert (await apply_patches(database, patches)).applied == ["0002_column.sql"]
    assert (
        await fetchval(
            database,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass "
            "AND attname = 'note'",
        )
        == 1
    )


@pytest.mark.parametrize(
    "path",
    [
        "SET search_path = pg_temp, public;",
        "SET search_path = nosuch, pg_temp, public;",
        "SET search_path = pg_temp;",
        "DO $$ BEGIN PERFORM set_config('search_path', 'pg_temp, public', false); END $$;",
    ],
)
async def test_a_patch_that_puts_pg_temp_first_in_its_search_path_is_rolled_back(
    database: str, tmp_path: Path, path: str
) -> None:
    """4. With pg_temp first on the search path, PostgreSQL creates unqualified tables, views,
    sequences, functions and types in the session's temporary schema: they vanished when the
    runner cleaned the session. Before: applied, exit 0, recorded — and no `accounts`, `v`,
    `s`, `f()` in the database; no later run made them (the patch is recorded)."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    write(
        patches,
        "0002_tables.sql",
        f"{path}\nCREATE TABLE IF NOT EXISTS accounts (id int);\n"
        "CREATE OR REPLACE VIEW v AS SELECT 1 AS a;\nCREATE SEQUENCE IF NOT EXISTS s;\n"
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n",
    )
    with pytest.raises(PatchError, match=r"0002_tables\.sql:2:1: .*pg_temp") as raised:
        await apply_patches(database, patches)
    assert raised.value.applied == ["0001_first.sql"]
    assert await ledger_names(database) == ["0001_first.sql"]
    assert (
        await fetchval(
            database, "SELECT count(*) FROM pg_class WHERE relname IN ('accounts', 'v', 's')"
        )
        == 0
    )


async def test_pg_temp_last_and_temporary_scratch_tables_are_applied(
    database: str, tmp_path: Path
) -> None:
    """4, safe twin: pg_temp last (the idiom of security definer functions), and a patch's
    own TEMP scratch table."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_tables.sql",
        "SET search_path = public, pg_temp;\nCREATE TABLE IF NOT EXISTS accounts (id int);\n"
        "CREATE TEMP TABLE scratch AS SELECT 1 AS id;\n"
        "INSERT INTO accounts SELECT id FROM scratch WHERE NOT EXISTS (SELECT 1 FROM accounts);\n",
    )
    write(
        patches,
        "0002_more.sql",
        "SET search_path = pg_temp, public;\nCREATE TEMP TABLE scratch2 AS SELECT 2 AS id;\n"
        "INSERT INTO public.accounts SELECT id FROM scratch2 WHERE id NOT IN "
        "(SELECT id FROM public.accounts);\n",
    )
    assert (await apply_patches(database, patches)).applied == ["0001_tables.sql", "0002_more.sql"]
    assert await fetchval(database, "SELECT array_agg(id ORDER BY id) FROM public.accounts") == [
        1,
        2,
    ]


_ATOMIC = """
CREATE TABLE IF NOT EXISTS notes (id int, body text, at timestamptz);
CREATE OR REPLACE FUNCTION greeting() RETURNS text LANGUAGE sql
BEGIN ATOMIC
    SELECT $q$hello$q$;
END;
CREATE OR REPLACE FUNCTION nested() RETURNS text LANGUAGE sql
BEGIN ATOMIC
    SELECT (SELECT $q$inner$q$);
END;
CREATE OR REPLACE FUNCTION stamp() RETURNS timestamptz LANGUAGE sql
BEGIN ATOMIC
    SELECT max(at) FROM (SELECT '2024-01-01'::timestamp with time zone AS at
                         UNION ALL SELECT at FROM notes) s;
END;
CREATE OR REPLACE PROCEDURE add_note() LANGUAGE sql
BEGIN ATOMIC
    INSERT INTO notes (id, body) SELECT 1, 'first' WHERE NOT EXISTS (SELECT 1 FROM notes);
END;
"""


async def test_sync_and_verify_read_a_begin_atomic_body_as_the_server_prints_it_back(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """5. (the known open item, 'BEGIN ATOMIC and the dump's limit') PostgreSQL stores a
    BEGIN ATOMIC body parsed and pg_dump prints it back: `SELECT $q$hello$q$` comes out as
    `SELECT 'hello'::text;`, and a new install that loads that text gets a column named after
    the cast, printed `SELECT 'hello'::text AS text;` — the same function. Before: `patches
    sync` refused to write any baseline ('the new baseline would not build the pipeline's
    schema: FUNCTION public.greeting() differs … + b'::text AS text;'), and verify failed on a
    baseline written by hand from the dump."""
    patches = tmp_path / "patches"
    write(patches, "0001_atomic.sql", _ATOMIC)
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    assert "'hello'::text" in baseline.read_text()
    assert _failed(await verify_pipeline(postgres.dsn, patches, baseline)) == {}
    # a real difference in such a body is still one, by object
    baseline.write_text(baseline.read_text().replace("'hello'::text", "'goodbye'::text"))
    failed = _failed(await verify_pipeline(postgres.dsn, patches, baseline))
    said = "\n".join(failed.values())
    assert "FUNCTION public.greeting()" in said and "goodbye" in said, failed


def _failed(report: object) -> dict[str, str]:
    return {name: said for name, passed, said in report.checks if not passed}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("printed", "read"),
    [
        (" SELECT 'hello'::text AS text;", " SELECT 'hello'::text;"),
        (
            " SELECT 1::integer AS int4, 'x'::character varying(10) AS \"varchar\"",
            " SELECT 1::integer, 'x'::character varying(10)",
        ),
        (
            " SELECT now()::timestamp with time zone AS timestamptz",
            " SELECT now()::timestamp with time zone",
        ),
        (" SELECT x::public.mood AS mood, y::text[] AS text", " SELECT x::public.mood, y::text[]"),
        (" SELECT ( SELECT 'a'::text) AS text;", " SELECT ( SELECT 'a'::text);"),
        (" SELECT ( SELECT 'a'::text AS text) AS text;", " SELECT ( SELECT 'a'::text);"),
        (" SELECT 'a'::text AS body;", " SELECT 'a'::text AS body;"),  # the patch's own alias
        (" SELECT 1::integer AS int8;", " SELECT 1::integer AS int8;"),  # not the cast's name
    ],
)
def test_a_cast_s_own_column_name_is_read_as_none(printed: str, read: str) -> None:
    """5, the reading alone: only an alias PostgreSQL itself gives the cast is set aside."""
    from tenantguard.patches.dump import schema_objects

    dump = (
        "--\n-- Name: f(); Type: FUNCTION; Schema: public; Owner: me\n--\n\n"
        "CREATE FUNCTION public.f() RETURNS text\n    LANGUAGE sql\n    BEGIN ATOMIC\n"
        f"{printed}\nEND;\n"
    )
    assert read in schema_objects(dump)["FUNCTION public.f()"]


async def test_a_runner_whose_own_search_path_puts_pg_temp_first_applies_nothing(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """4b. The same search path given to the runner (`ALTER DATABASE … SET search_path =
    pg_temp, public`, or the role's, or the DSN's options): on a database with a ledger, a new
    patch's `CREATE TABLE accounts` went to the temporary schema and was recorded. Before:
    applied ['0002_accounts.sql'], exit 0, no `accounts` anywhere; on a new database the
    ledger itself was made in pg_temp_N and the first patch failed on 'relation
    "pg_temp_N.tenantguard_patches" does not exist'."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    await apply_patches(database, patches)
    name = await fetchval(database, "SELECT current_database()")
    await fetchval(database, f"ALTER DATABASE {name} SET search_path = pg_temp, public")
    write(patches, "0002_accounts.sql", "CREATE TABLE IF NOT EXISTS accounts (id int);\n")
    capsys.readouterr()
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(patches)) == 2
    said = capsys.readouterr().err
    assert "pg_temp" in said and "search_path" in said and "Traceback" not in said, said
    assert await ledger_names(database) == ["0001_first.sql"]
    assert await fetchval(database, "SELECT count(*) FROM pg_class WHERE relname = 'accounts'") == 0
    # the retry with pg_temp last applies it, in public
    await fetchval(database, f"ALTER DATABASE {name} SET search_path = public, pg_temp")
    assert (await apply_patches(database, patches)).applied == ["0002_accounts.sql"]
    assert await fetchval(database, "SELECT to_regclass('public.accounts') IS NOT NULL") is True


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data + b"\n",  # an editor's blank line at the end
        lambda data: data.rstrip(b"\n"),  # a hook that strips the final newline
        lambda data: data + b"\n\n\n",
    ],
    ids=["blank-line-added", "final-newline-removed", "blank-lines-added"],
)
async def test_an_applied_patch_changed_only_at_its_end_says_so(
    database: str, tmp_path: Path, change: object
) -> None:
    """6. An applied patch whose file gained or lost only blank lines or the line break at its
    end (an editor, a pre-commit hook's end-of-file fixer) was refused as 'its file has changed
    since (checksum differs)': true of the bytes, but it sent people looking for an edit nobody
    made (as CRLF and BOM changes did before round 10's fix)."""
    path = write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\nSELECT 1;\n")
    await apply_patches(database, tmp_path)
    path.write_bytes(change(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(PatchError, match="has changed since") as refused:
        await apply_patches(database, tmp_path)
    assert "only blank lines or the line break at its end differ" in str(refused.value)
    assert await ledger_names(database) == ["0001_a.sql"]


async def test_a_runner_killed_mid_patch_after_its_reset_all_frees_the_lock_for_five_starters(
    database: str, tmp_path: Path
) -> None:
    """7. SIGKILL of the applying process while its patch runs a long statement, five other
    replicas starting meanwhile. The runner's `client_connection_check_interval` (1 s) ends the
    dead runner's backend — unless the patch's `RESET ALL` had put it back to 0: the backend
    slept on with the patch lock, and every replica with it (60 s here, or a backfill's hour).
    Before the fix of 3 the five were still waiting 20 s after the kill."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_backfill.sql",
        "RESET ALL;\nCREATE TABLE IF NOT EXISTS done_by (who text);\n"
        "INSERT INTO done_by SELECT current_setting('application_name');\n"
        "SELECT pg_sleep(CASE WHEN current_setting('application_name') = 'doomed' THEN 60 "
        "ELSE 0 END);\n",
    )
    doomed = _apply_process(f"{database}?application_name=doomed", patches)
    try:
        deadline = time.monotonic() + 30
        while not await fetchval(
            database,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'doomed' "
            "AND query LIKE '%pg_sleep%' AND state = 'active'",
        ):
            assert time.monotonic() < deadline and doomed.poll() is None
            await asyncio.sleep(0.1)
        starters = [asyncio.create_task(apply_patches(database, patches)) for _ in range(5)]
        await asyncio.sleep(0.5)  # all five waiting for the patch lock
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        killed = time.monotonic()
        runs = await asyncio.wait_for(asyncio.gather(*starters), 20)
        assert time.monotonic() - killed < 10
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
    assert sorted(len(run.applied) for run in runs) == [0, 0, 0, 0, 1]
    assert await ledger_names(database) == ["0001_backfill.sql"]
    assert await fetchval(database, "SELECT array_agg(who) FROM done_by") == [""]


async def test_a_new_enum_label_used_in_its_own_patch_says_how_to_split_it(
    database: str, tmp_path: Path
) -> None:
    """8. `ALTER TYPE mood ADD VALUE IF NOT EXISTS 'calm';` and an INSERT of 'calm' in one
    patch: PostgreSQL refuses the use ('unsafe use of new value', HINT: 'New enum values must
    be committed before they can be used'), which a patch cannot do: every run failed the
    same, with no word of the way out. Nothing of it is applied; split as told, it applies."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_mood.sql",
        "DO $$ BEGIN CREATE TYPE mood AS ENUM ('sad');\n"
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$;\n"
        "CREATE TABLE IF NOT EXISTS moods (m mood);\n",
    )
    write(
        patches,
        "0002_calm.sql",
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'calm';\n"
        "INSERT INTO moods SELECT 'calm' WHERE NOT EXISTS (SELECT 1 FROM moods);\n",
    )
    with pytest.raises(PatchError, match=r"0002_calm\.sql:2:\d+: ") as refused:
        await apply_patches(database, patches)
    assert "a patch of its own, numbered before" in str(refused.value)
    assert await ledger_names(database) == ["0001_mood.sql"]
    assert await fetchval(database, "SELECT enum_range(NULL::mood)::text") == "{sad}"
    (patches / "0002_calm.sql").write_text("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'calm';\n")
    write(
        patches,
        "0003_seed.sql",
        "INSERT INTO moods SELECT 'calm' WHERE NOT EXISTS (SELECT 1 FROM moods);\n",
    )
    assert (await apply_patches(database, patches)).applied == ["0002_calm.sql", "0003_seed.sql"]
    assert await fetchval(database, "SELECT array_agg(m::text) FROM moods") == ["calm"]


@pytest.mark.parametrize(
    "setting",
    [
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;",
        "SET LOCAL transaction_isolation = 'repeatable read';",
        "SET TRANSACTION READ ONLY, DEFERRABLE;",
    ],
)
async def test_a_transaction_setting_after_the_patch_s_first_query_is_refused_before_anything_runs(
    database: str, tmp_path: Path, setting: str
) -> None:
    """9. (the other half of the known open item) `SET TRANSACTION ISOLATION LEVEL …` below the
    patch's first statement: PostgreSQL takes it only before any query of the transaction, and
    the runner applies the patch in one. Before: the patches before it were applied, then it
    failed on 'SET TRANSACTION ISOLATION LEVEL must be called before any query' — every run."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    write(
        patches,
        "0002_backfill.sql",
        f"CREATE TABLE IF NOT EXISTS backfilled (id int);\n{setting}\n"
        "INSERT INTO backfilled SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM backfilled);\n",
    )
    with pytest.raises(PatchError, match=r"0002_backfill\.sql:2:1: .*first statement"):
        await apply_patches(database, patches)
    assert await ledger_names(database) == []
    assert await fetchval(database, "SELECT to_regclass('first_patch')") is None
