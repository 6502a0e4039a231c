"""Round 10: the patch runner attacked from outside, on a real PostgreSQL started by the suite.

Each test asserts on the database afterwards (catalog, ledger rows, data), not only on what the
runner said.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.files import (
    PatchConnectionError,
    PatchError,
    PatchLockError,
    PatchUsageError,
    read_patches,
)
from tenantguard.patches.locking import LOCK_KEY
from tenantguard.patches.runner import LEDGER, apply_patches, pipeline_status
from tenantguard.patches.verify import sync_baseline, verify_pipeline
from tests.pipeline.test_pipeline_faults import fetchval, write

SCHEMA_CHECK = "the pipeline's schema equals the baseline's"

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


async def lock_holders(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = $1 AND objid = $2",
            LOCK_KEY >> 32,
            LOCK_KEY & 0xFFFF_FFFF,
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


# ------------------------------------------------- the caller's own connection (the startup API)


async def test_a_run_cancelled_on_the_callers_connection_rolls_back_and_frees_the_lock(
    database: str, tmp_path: Path
) -> None:
    """An application's startup timeout (`wait_for(apply_patches(conn), …)`) cancelled the run
    mid-patch: the connection was left idle in an aborted transaction holding the patch lock, so
    every other replica waited for it, and a retry on it was refused as 'inside a transaction'."""
    write(
        tmp_path,
        "0001_slow.sql",
        """
        CREATE TABLE IF NOT EXISTS half (id int);
        INSERT INTO half VALUES (1);
        SELECT pg_sleep(5);
        """,
    )
    conn = await asyncpg.connect(database)
    try:
        pid = conn.get_server_pid()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(apply_patches(conn, tmp_path), 1.0)
        assert not conn.is_in_transaction()
        assert pid not in await lock_holders(database)
        assert await fetchval(database, "SELECT to_regclass('half')") is None
        assert await fetchval(database, f"SELECT count(*) FROM {LEDGER}") == 0
        # another replica is not kept waiting, and the same connection can run again
        write(tmp_path, "0001_slow.sql", "CREATE TABLE IF NOT EXISTS half (id int);")
        run = await apply_patches(database, tmp_path, lock_wait=2)
        assert run.applied == ["0001_slow.sql"]
        write(tmp_path, "0002_more.sql", "CREATE TABLE IF NOT EXISTS more (id int);")
        assert (await apply_patches(conn, tmp_path)).applied == ["0002_more.sql"]
    finally:
        await conn.close()


async def test_a_patch_s_session_state_does_not_leak_into_the_callers_connection(
    database: str, tmp_path: Path
) -> None:
    """The last patch's `SET session_replication_role = replica` (or search_path, or the
    runner's own lock_timeout) stayed on the application's connection: its triggers — the
    business rules the database keeps — stopped firing for the application."""
    write(
        tmp_path,
        "0001_rule.sql",
        """
        CREATE TABLE IF NOT EXISTS patients (id int, name text);
        CREATE OR REPLACE FUNCTION upper_name() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$;
        CREATE OR REPLACE TRIGGER patients_upper BEFORE INSERT ON patients
            FOR EACH ROW EXECUTE FUNCTION upper_name();
        """,
    )
    write(
        tmp_path,
        "0002_backfill.sql",
        """
        UPDATE public.patients SET name = name WHERE id < 0;
        SET session_replication_role = replica;
        SET search_path = pg_temp;
        SET statement_timeout = '1ms';
        """,
    )
    conn = await asyncpg.connect(database)
    try:
        assert (await apply_patches(conn, tmp_path)).applied == [
            "0001_rule.sql",
            "0002_backfill.sql",
        ]
        await conn.execute("INSERT INTO public.patients VALUES (1, 'ana'); SELECT pg_sleep(0.01)")
        assert await conn.fetchval("SELECT name FROM public.patients WHERE id = 1") == "ANA"
        assert await conn.fetchval("SELECT current_setting('session_replication_role')") == "origin"
        assert await conn.fetchval("SHOW lock_timeout") == "0"
        assert await conn.fetchval("SELECT to_regclass('patients')") is not None
    finally:
        await conn.close()


# ------------------------------------------------- invalid indexes seen at startup


async def test_an_invalid_index_with_a_quoted_name_is_rebuilt_at_startup(
    database: str, tmp_path: Path
) -> None:
    """The startup's quick look matched invalid indexes to patches by a lower-cased unquoted
    name: `"Leads_Phone"` was never matched, apply said '0 applied' and left it INVALID (while
    status said 'apply rebuilds it')."""
    write(
        tmp_path,
        "0001_t.sql",
        'CREATE SCHEMA IF NOT EXISTS "Crm";\nCREATE TABLE IF NOT EXISTS "Crm".leads (phone text);',
    )
    write(
        tmp_path,
        "0002_idx.sql",
        '-- tenantguard: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "Leads_Phone" ON "Crm".leads (phone);\n',
    )
    await apply_patches(database, tmp_path)
    # what an interrupted rebuild or an older runner leaves: the patch recorded, its index invalid
    await fetchval(
        database,
        """UPDATE pg_index SET indisvalid = false WHERE indexrelid = '"Crm"."Leads_Phone"'::regclass""",
    )
    status = await pipeline_status(database, tmp_path)
    assert [i.patch for i in status.invalid_indexes] == ["0002_idx.sql"]
    run = await apply_patches(database, tmp_path)
    assert run.rebuilt == ['"Crm"."Leads_Phone"']
    assert await fetchval(
        database,
        """SELECT indisvalid FROM pg_index WHERE indexrelid = '"Crm"."Leads_Phone"'::regclass""",
    )


# ------------------------------------------------- patch files


async def test_a_patch_number_the_ledger_cannot_hold_is_refused_before_anything_runs(
    database: str, tmp_path: Path
) -> None:
    """`99999999999_x.sql` ran every time and failed at its ledger row (integer column): the
    patches before it were applied first, and the message blamed 'recording it in the ledger'."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);")
    write(tmp_path, "99999999999_big.sql", "CREATE TABLE IF NOT EXISTS big (id int);")
    with pytest.raises(
        PatchError, match=r"99999999999_big\.sql: patch number 99999999999 is too big"
    ):
        read_patches(tmp_path)
    with pytest.raises(PatchError):
        await apply_patches(database, tmp_path)
    assert await fetchval(database, "SELECT to_regclass('a')") is None
    assert await fetchval(database, "SELECT to_regclass('big')") is None


# ------------------------------------------------- where the ledger is


async def test_a_runner_whose_search_path_misses_the_ledger_refuses_instead_of_starting_over(
    database: str, tmp_path: Path
) -> None:
    """`ALTER ROLE … SET search_path = app` (a schema without the ledger) made the runner take
    the database for a new one: every patch ran again, into `app`, under a second ledger; status
    called the applied patch 'pending' and exited 0."""
    write(
        tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\nINSERT INTO a VALUES (1);"
    )
    await apply_patches(database, tmp_path)
    name = database.rsplit("/", 1)[1]
    await fetchval(database, "CREATE SCHEMA app")
    await fetchval(database, f"ALTER ROLE CURRENT_USER IN DATABASE {name} SET search_path = app")
    try:
        with pytest.raises(PatchUsageError, match=r"\"public\"\.tenantguard_patches") as refused:
            await apply_patches(database, tmp_path)
        assert refused.value.exit_code == 2 and "search_path" in str(refused.value)
        with pytest.raises(PatchUsageError, match=r"\"public\"\.tenantguard_patches"):
            await pipeline_status(database, tmp_path)
        assert await fetchval(database, "SELECT to_regclass('app.a')") is None
        assert await fetchval(database, "SELECT to_regclass('app.tenantguard_patches')") is None
        assert await fetchval(database, "SELECT count(*) FROM public.a") == 1
    finally:
        await fetchval(database, f"ALTER ROLE CURRENT_USER IN DATABASE {name} RESET search_path")
    run = await apply_patches(database, tmp_path)
    assert run.applied == [] and run.skipped == ["0001_a.sql"]


# ------------------------------------------------- verify: what pg_dump --no-owner hid


async def test_verify_sees_an_owner_a_patch_sets_and_sync_keeps_it(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """A patch's `ALTER TABLE … OWNER TO` was dropped from the baseline (pg_dump --no-owner) and
    verify still said 'the pipeline's schema equals the baseline's': a new install's table was
    owned by the installing user, who bypasses the table's row-level security unless forced."""
    await fetchval(
        postgres.dsn,
        "DO $$ BEGIN IF to_regrole('tg_round10_owner') IS NULL THEN "
        "CREATE ROLE tg_round10_owner; END IF; END $$",
    )
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(
        patches,
        "0001_notes.sql",
        "CREATE TABLE IF NOT EXISTS notes (tenant_id bigint NOT NULL, body text);\n"
        "ALTER TABLE notes ENABLE ROW LEVEL SECURITY;\n"
        "CREATE TABLE IF NOT EXISTS plain (id int);\n",
    )
    write(patches, "0002_owner.sql", "ALTER TABLE notes OWNER TO tg_round10_owner;\n")
    await sync_baseline(postgres.dsn, patches, baseline)
    text = baseline.read_text()
    assert "ALTER TABLE public.notes OWNER TO tg_round10_owner;" in text
    assert "OWNER TO postgres" not in text and "Owner: postgres" not in text  # portable
    assert (await verify_pipeline(postgres.dsn, patches, baseline)).ok
    # a new install from this baseline: the table belongs to the owner the patch names
    name = f"tg_round10_{os.getpid()}"
    await fetchval(postgres.dsn, f"CREATE DATABASE {name}")
    try:
        installed = postgres.dsn_for(name)
        conn = await asyncpg.connect(installed)
        try:
            await conn.execute(text)
            owner = await conn.fetchval(
                "SELECT relowner::regrole::text FROM pg_class WHERE oid = 'notes'::regclass"
            )
        finally:
            await conn.close()
        assert owner == "tg_round10_owner"
    finally:
        await fetchval(postgres.dsn, f"DROP DATABASE {name} WITH (FORCE)")
    # the baseline an older sync wrote (no owner): verify must say so, naming the table
    baseline.write_text(text.replace("ALTER TABLE public.notes OWNER TO tg_round10_owner;\n", ""))
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    passed, difference = next((p, d) for n, p, d in report.checks if n == SCHEMA_CHECK)
    assert not passed
    assert "TABLE public.notes" in difference and "OWNER TO tg_round10_owner" in difference


# ------------------------------------------------- no-transaction patches under the lock timeout


async def test_a_concurrent_index_that_gives_up_does_not_leave_a_half_built_index(
    database: str, tmp_path: Path
) -> None:
    """CREATE UNIQUE INDEX CONCURRENTLY waiting on an application's open snapshot hit the
    runner's lock_timeout: the error said 'it was rolled back' while an INVALID but ready
    unique index stayed behind — refusing the application's duplicate rows although the patch
    'never ran' (and for good, if the deploy was rolled back to code without that patch)."""
    await fetchval(database, "CREATE TABLE t AS SELECT 1 AS x")
    write(
        tmp_path,
        "0001_t_x.sql",
        "-- tenantguard: no-transaction\n"
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_x_key ON t (x);\n",
    )
    app = await asyncpg.connect(database)
    try:
        await app.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        await app.fetchval("SELECT count(*) FROM pg_class")  # an open snapshot
        with pytest.raises(PatchLockError) as gave_up:
            await apply_patches(database, tmp_path, ddl_lock_timeout=0.3, ddl_lock_retries=0)
        message = str(gave_up.value)
        assert await fetchval(database, "SELECT to_regclass('t_x_key')") is None
        await fetchval(database, "INSERT INTO t VALUES (1)")  # the application's write
        assert await fetchval(database, "SELECT count(*) FROM t WHERE x = 1") == 2
        assert "rolled back" not in message
        assert 'dropped the INVALID index "public"."t_x_key" it had begun' in message
    finally:
        await app.close()
    assert await fetchval(database, f"SELECT count(*) FROM {LEDGER}") == 0
    await fetchval(database, "DELETE FROM t WHERE ctid = (SELECT max(ctid) FROM t)")
    assert (await apply_patches(database, tmp_path)).applied == ["0001_t_x.sql"]
    assert await fetchval(
        database, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_key'::regclass"
    )


async def test_a_failed_concurrent_index_says_it_left_an_invalid_index(
    database: str, tmp_path: Path
) -> None:
    """A unique CREATE INDEX CONCURRENTLY that fails on duplicate rows leaves an INVALID index
    (not yet ready: no write updates it) that the message did not mention."""
    await fetchval(database, "CREATE TABLE t AS SELECT 1 AS x UNION ALL SELECT 1")
    write(
        tmp_path,
        "0001_t_x.sql",
        "-- tenantguard: no-transaction\n"
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_x_key ON t (x);\n",
    )
    with pytest.raises(PatchError) as failed:
        await apply_patches(database, tmp_path)
    assert "UniqueViolationError" in str(failed.value)
    assert 'failed and left the INVALID index "public"."t_x_key" (not used nor updated' in str(
        failed.value
    )
    assert await fetchval(
        database,
        "SELECT NOT indisvalid AND NOT indisready FROM pg_index WHERE indexrelid = 't_x_key'::regclass",
    )


# ------------------------------------------------- a table of the ledger's name that is not one


async def test_a_table_of_the_ledger_s_name_that_is_not_the_ledger_is_a_clear_error(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another tool's (or a hand-made) `tenantguard_patches` table: the run ended on asyncpg's
    `UndefinedColumnError: column "name" does not exist`, naming neither the table nor a fix."""
    await fetchval(database, f"CREATE TABLE {LEDGER} (id serial PRIMARY KEY, version text)")
    await fetchval(database, f"INSERT INTO {LEDGER} (version) VALUES ('v1')")
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);")
    with pytest.raises(PatchUsageError, match=r'"public"\.tenantguard_patches is not') as refused:
        await apply_patches(database, tmp_path)
    assert "name, number, checksum" in str(refused.value)
    with pytest.raises(PatchUsageError, match=r'"public"\.tenantguard_patches is not'):
        await pipeline_status(database, tmp_path)
    assert await fetchval(database, "SELECT to_regclass('a')") is None
    assert await fetchval(database, f"SELECT version FROM {LEDGER}") == "v1"
    assert (
        await asyncio.to_thread(
            main, ["patches", "status", "--dsn", database, "--dir", str(tmp_path)]
        )
        == 2
    )
    assert "Traceback" not in capsys.readouterr().err


# ------------------------------------------------- verify: roles pg_dump does not dump


async def test_a_role_the_patches_create_is_created_by_the_baseline_too(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """A patch creates a role and grants it a table. pg_dump dumps the GRANT but never the role
    (roles belong to the server): verify, run where the pipeline had just created the role,
    said everything was ok, and the baseline then failed on a new server ('role … does not
    exist')."""
    role = "tg_round10_reader"
    await fetchval(postgres.dsn, f"DROP ROLE IF EXISTS {role}")
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(
        patches,
        "0001_reader.sql",
        f"""
        DO $$ BEGIN
            IF to_regrole('{role}') IS NULL THEN CREATE ROLE {role} NOLOGIN; END IF;
        END $$;
        CREATE TABLE IF NOT EXISTS notes (tenant_id bigint NOT NULL, body text);
        GRANT SELECT ON notes TO {role};
        """,
    )
    await sync_baseline(postgres.dsn, patches, baseline)
    text = baseline.read_text()
    assert (await verify_pipeline(postgres.dsn, patches, baseline)).ok
    # a new server: the role does not exist there yet
    await fetchval(postgres.dsn, f"DROP OWNED BY {role}")  # in the databases verify left: none
    await fetchval(postgres.dsn, f"DROP ROLE {role}")
    name = f"tg_round10_roles_{os.getpid()}"
    await fetchval(postgres.dsn, f"CREATE DATABASE {name}")
    try:
        conn = await asyncpg.connect(postgres.dsn_for(name))
        try:
            await conn.execute(text)
            assert await conn.fetchval(
                "SELECT has_table_privilege($1, 'public.notes', 'SELECT')", role
            )
        finally:
            await conn.close()
    finally:
        await fetchval(postgres.dsn, f"DROP DATABASE {name} WITH (FORCE)")
    # a baseline without the role (what sync wrote before): verify says so
    start = text.index("DO $tg_role$")
    stale = text[:start] + text[text.index("$tg_role$;", start) + len("$tg_role$;") :]
    baseline.write_text(stale)
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    failed = {name: difference for name, passed, difference in report.checks if not passed}
    assert list(failed) == ["the baseline creates the roles the patches create"]
    assert f"role {role}" in failed["the baseline creates the roles the patches create"]


# ------------------------------------------------- an applied patch whose bytes changed, not its SQL


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda data: data.replace(b"\n", b"\r\n"), "only its line endings differ (CRLF"),
        (lambda data: b"\xef\xbb\xbf" + data, "only a UTF-8 byte-order mark differs"),
    ],
    ids=["crlf", "bom"],
)
async def test_an_applied_patch_changed_only_in_line_endings_says_so(
    database: str, tmp_path: Path, change: object, said: str
) -> None:
    """A checkout with `core.autocrlf` (or an editor adding a BOM) was reported as 'its file has
    changed since': true of the bytes, but it sent people looking for an edit nobody made."""
    path = write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\nSELECT 1;\n")
    await apply_patches(database, tmp_path)
    path.write_bytes(change(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(PatchError, match="has changed since") as refused:
        await apply_patches(database, tmp_path)
    assert said in str(refused.value)
    assert await fetchval(database, f"SELECT count(*) FROM {LEDGER}") == 1


# ------------------------------------------------- a deadlock with the application's traffic


async def test_a_patch_that_deadlocks_with_the_application_is_retried(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The application's transaction writes `b` then `a`; the patch alters `a` then `b`.
    PostgreSQL picks the patch as the deadlock's victim: the run failed (exit 1, as if the
    pipeline were wrong) although a retry a moment later succeeds, like a lock timeout's."""
    for table in ("a", "b"):
        await fetchval(database, f"CREATE TABLE {table} AS SELECT 1 AS id")
    write(
        tmp_path,
        "0001_x.sql",
        "ALTER TABLE a ADD COLUMN IF NOT EXISTS x int;\nALTER TABLE b ADD COLUMN IF NOT EXISTS x int;\n",
    )
    # the runner's deadlock check comes after the application waits too, and it is the
    # application's that never comes: PostgreSQL ends the patch's transaction
    name = database.rsplit("/", 1)[1]
    await fetchval(database, f"ALTER DATABASE {name} SET deadlock_timeout = '3s'")
    app = await asyncpg.connect(database)
    try:
        await app.execute("SET deadlock_timeout = '60s'; BEGIN; UPDATE b SET id = 2")
        runner = asyncio.create_task(apply_patches(database, tmp_path, ddl_lock_timeout=10))
        deadline = asyncio.get_running_loop().time() + 20
        while not await fetchval(  # the patch holds a and waits for b
            database,
            "SELECT count(*) FROM pg_locks WHERE relation = 'b'::regclass AND NOT granted",
        ):
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        await app.execute("UPDATE a SET id = 2")
        await app.execute("COMMIT")
        run = await asyncio.wait_for(runner, 30)
    finally:
        await app.close()
    assert run.applied == ["0001_x.sql"]
    assert await fetchval(database, "SELECT (SELECT id FROM a) + (SELECT id FROM b)") == 4
    assert (
        await fetchval(
            database,
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'x'",
        )
        == 2
    )
    assert any(
        "deadlock" in r.getMessage() and "retrying" in r.getMessage() for r in caplog.records
    )


# ------------------------------------------------- the connection lost during COMMIT


async def test_a_connection_lost_during_commit_does_not_claim_the_patch_was_rolled_back(
    database: str, tmp_path: Path
) -> None:
    """The connection died while the patch's deferred trigger ran. It ran at COMMIT: whether
    the server committed was unknown to the runner — its answer was lost — yet the error said
    'rolled back by the server and nothing of it is recorded'. Since round 36 (helper h36U: a
    deferred trigger emptied the ledger at COMMIT, after the runner's check) the runner fires
    the patch's deferred triggers before its ledger check (`SET CONSTRAINTS ALL IMMEDIATE`),
    before COMMIT is sent: the server rolls the transaction back, and the error says so."""
    write(
        tmp_path,
        "0001_t.sql",
        """
        CREATE TABLE IF NOT EXISTS t (id int);
        CREATE OR REPLACE FUNCTION t_slow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER t_slow AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION t_slow();
        INSERT INTO t VALUES (1);
        """,
    )
    runner = asyncio.create_task(apply_patches(database, tmp_path))
    deadline = asyncio.get_running_loop().time() + 20
    while not (
        pid := await fetchval(
            database,
            "SELECT pid FROM pg_stat_activity WHERE query LIKE '%SET CONSTRAINTS ALL IMMEDIATE%' "
            "AND state = 'active' AND pid <> pg_backend_pid()",
        )
    ):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    await fetchval(database, "SELECT pg_terminate_backend($1)", pid)
    with pytest.raises(PatchConnectionError) as lost:
        await asyncio.wait_for(runner, 30)
    message = str(lost.value)
    assert "nothing of it is recorded" in message
    assert "whether the server committed it is unknown" not in message
    # the server had not committed: the next run applies it (the trigger made quick)
    assert await fetchval(database, "SELECT to_regclass('t')") is None
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    assert (await apply_patches(database, tmp_path)).applied == ["0001_t.sql"]


# ------------------------------------------------- an empty patch file


@pytest.mark.parametrize("content", [b"", b"\n  \r\n\t\n"], ids=["zero-bytes", "blank"])
async def test_an_empty_patch_file_is_refused_before_anything_runs(
    database: str, tmp_path: Path, content: bytes
) -> None:
    """A patch file truncated to nothing (a failed checkout, an editor crash, `> file`) was
    applied without a word: recorded with the checksum of nothing, so that its real content was
    later refused as 'edited' — or, re-baselined, never ran."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);")
    (tmp_path / "0002_b.sql").write_bytes(content)
    with pytest.raises(PatchError, match=r"0002_b\.sql: the patch is empty"):
        await apply_patches(database, tmp_path)
    assert await fetchval(database, "SELECT to_regclass('a')") is None
    assert await fetchval(database, f"SELECT count(*) FROM {LEDGER}") == 0
    status = await pipeline_status(database, tmp_path)
    assert [(p.name, "empty" in reason) for p, reason in status.refused] == [("0002_b.sql", True)]
    # a patch that says why it holds nothing is a patch
    (tmp_path / "0002_b.sql").write_text("-- replaced by 0003, kept so that numbers stay\n")
    assert (await apply_patches(database, tmp_path)).applied == ["0001_a.sql", "0002_b.sql"]


# ------------------------------------------------- a read-only server


async def test_a_read_only_database_is_a_clear_usage_error(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pointed at a replica (here: `default_transaction_read_only` for the runner's user), the
    run ended on `ReadOnlySQLTransactionError: cannot execute CREATE TABLE …` from the ledger,
    saying neither where to apply nor why."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);")
    name = database.rsplit("/", 1)[1]
    await fetchval(
        database,
        f"ALTER ROLE CURRENT_USER IN DATABASE {name} SET default_transaction_read_only = on",
    )
    try:
        with pytest.raises(PatchUsageError, match="read-only") as refused:
            await apply_patches(database, tmp_path)
        assert "primary" in str(refused.value)
        code = await asyncio.to_thread(
            main, ["patches", "apply", "--dsn", database, "--dir", str(tmp_path)]
        )
        assert code == 2 and "read-only" in capsys.readouterr().err
    finally:
        conn = await asyncpg.connect(database)
        try:
            await conn.execute("SET default_transaction_read_only = off")
            await conn.execute(
                f"ALTER ROLE CURRENT_USER IN DATABASE {name} RESET default_transaction_read_only"
            )
        finally:
            await conn.close()
    assert await fetchval(database, "SELECT to_regclass('a')") is None
    assert (await apply_patches(database, tmp_path)).applied == ["0001_a.sql"]


# ------------------------------------------------- open: a patch run in part by hand


async def test_status_sees_a_hand_made_index_of_another_shape(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone ran part of a patch by hand, differently: the index exists under the patch's
    name without the tenant column. The patch's `CREATE INDEX IF NOT EXISTS` skips it, the
    ledger records the patch, and status says all is applied (exit 0)."""
    write(
        tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL, x int);"
    )
    await apply_patches(database, tmp_path)
    await fetchval(database, "CREATE INDEX t_x_idx ON t (x)")  # by hand, before the patch
    write(tmp_path, "0002_t_x.sql", "CREATE INDEX IF NOT EXISTS t_x_idx ON t (tenant_id, x);")
    assert (await apply_patches(database, tmp_path)).applied == ["0002_t_x.sql"]
    assert "tenant_id" not in str(
        await fetchval(database, "SELECT pg_get_indexdef('t_x_idx'::regclass)")
    )
    code = await asyncio.to_thread(
        main, ["patches", "status", "--dsn", database, "--dir", str(tmp_path)]
    )
    assert code == 1 and "t_x_idx" in capsys.readouterr().out
