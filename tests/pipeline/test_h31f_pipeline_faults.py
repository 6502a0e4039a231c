"""Round 31: the patch pipeline under fault injection (helper h31f), on a real server. Each test
names what the database was left as before the fix.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest

from tenantguard.patches.files import PatchError
from tenantguard.patches.locking import LOCK_KEY
from tenantguard.patches.runner import LEDGER, apply_patches
from tests.pipeline.test_pipeline_faults import fetchval, ledger_names, write

_EVERY_TABLE_COMMITTING = """
-- tenantguard: no-transaction
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
        {action}
        COMMIT;
    END LOOP;
END $$;
"""


@pytest.mark.parametrize(
    ("action", "changed"),
    [
        # "start the demo data over", in batches that commit: the ledger emptied with the rest
        ("EXECUTE format('TRUNCATE %I', r.tablename);", "its rows"),
        ("EXECUTE format('DELETE FROM %I', r.tablename);", "its rows"),
        ("EXECUTE format('DROP TABLE %I', r.tablename);", "dropped or renamed it"),
    ],
)
async def test_a_no_transaction_patch_that_changes_the_ledger_is_not_recorded_and_the_ledger_is_restored(
    database: str, tmp_path: Path, action: str, changed: str
) -> None:
    """Round 29 rolled back a transactional patch that changed the ledger; a no-transaction
    patch (a DO block that commits as it goes) escaped the check: `TRUNCATE` of every table
    emptied the ledger, apply said '1 applied' (exit 0), the ledger held that patch alone, and
    the next run called the two applied patches 'numbered below an applied patch' and offered
    --allow-out-of-order, which runs them again. Its statement committed and cannot be rolled
    back: the runner puts the ledger's rows back, does not record the patch, and says why."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    write(tmp_path, "0002_b.sql", "CREATE TABLE IF NOT EXISTS b (id int);\n")
    await apply_patches(database, tmp_path)
    before = await fetchval(
        database,
        f"SELECT array_agg((name, number, checksum, applied_at) ORDER BY name)::text FROM {LEDGER}",
    )
    write(tmp_path, "0003_reset.sql", _EVERY_TABLE_COMMITTING.format(action=action))
    for _ in range(2):  # and the next run says the same, instead of "out of order"
        with pytest.raises(PatchError) as refused:
            await apply_patches(database, tmp_path)
        said = str(refused.value)
        assert "0003_reset.sql" in said and LEDGER in said and changed in said
        assert "rows back as they were" in said and "not recorded" in said
        assert f"tablename <> '{LEDGER}'" in said
        assert refused.value.applied == []
        assert await ledger_names(database) == ["0001_a.sql", "0002_b.sql"]
        after = await fetchval(
            database,
            f"SELECT array_agg((name, number, checksum, applied_at) ORDER BY name)::text "
            f"FROM {LEDGER}",
        )
        assert after == before


async def test_a_patch_that_makes_the_ledger_unlogged_is_rolled_back(
    database: str, tmp_path: Path
) -> None:
    """A loop making every table UNLOGGED (a bulk load's speed-up) reached the ledger: applied,
    exit 0, and an UNLOGGED table is emptied by the crash recovery after a server crash — the
    next run took every applied patch for a new one. The ledger's persistence is part of what
    the runner checks: the patch is rolled back."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    await apply_patches(database, tmp_path)
    write(
        tmp_path,
        "0002_unlogged.sql",
        """
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
                EXECUTE format('ALTER TABLE %I SET UNLOGGED', r.tablename);
            END LOOP;
        END $$;
        """,
    )
    with pytest.raises(PatchError, match="rolled back") as refused:
        await apply_patches(database, tmp_path)
    assert LEDGER in str(refused.value)
    assert await ledger_names(database) == ["0001_a.sql"]
    persistence = await fetchval(
        database,
        "SELECT string_agg(relname || ' ' || relpersistence::text, ', ' ORDER BY relname) "
        f"FROM pg_class WHERE relname IN ('a', '{LEDGER}')",
    )
    assert persistence == f"a p, {LEDGER} p"


_PIPELINE_LOCK_HELD = """
SELECT coalesce(string_agg(mode, ', ' ORDER BY mode), '') FROM pg_locks
WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 1
  AND classid::bigint = $1 AND objid::bigint = $2
"""


@pytest.mark.parametrize(
    "takes",
    [
        f"SELECT pg_advisory_lock({LOCK_KEY});\n",  # once more: released once by the runner
        f"SELECT pg_advisory_lock_shared({LOCK_KEY});\n",
        f"SELECT pg_advisory_lock({LOCK_KEY});\nSELECT pg_advisory_lock_shared({LOCK_KEY});\n",
    ],
)
async def test_a_patch_that_takes_the_pipeline_lock_does_not_leave_it_on_the_callers_connection(
    database: str, tmp_path: Path, takes: str
) -> None:
    """The runner released what a patch left of other advisory locks but skipped its own key:
    a patch taking the pipeline's lock once more (or shared) left it held by the application's
    connection after `apply_patches(conn)`, and every other replica's runner waited for it as
    long as that connection lived."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n" + takes)
    write(tmp_path, "0002_b.sql", "CREATE TABLE IF NOT EXISTS b (id int);\n")
    conn = await asyncpg.connect(database)
    other = await asyncpg.connect(database)
    try:
        run = await apply_patches(conn, tmp_path)
        assert run.applied == ["0001_a.sql", "0002_b.sql"]
        held = await conn.fetchval(_PIPELINE_LOCK_HELD, LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF)
        assert held == ""
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
        await other.execute("SELECT pg_advisory_unlock_all()")
        # a lock the caller held before the run is the caller's: it keeps it
        await conn.execute(f"SELECT pg_advisory_lock({LOCK_KEY})")
        write(tmp_path, "0003_c.sql", "CREATE TABLE IF NOT EXISTS c (id int);\n" + takes)
        await apply_patches(conn, tmp_path)
        held = await conn.fetchval(_PIPELINE_LOCK_HELD, LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF)
        assert held == "ExclusiveLock"
    finally:
        await other.close()
        await conn.close()


_ADD_CHECK = """
DO $$
BEGIN
    ALTER TABLE t ADD CONSTRAINT t_n_positive CHECK (n > 0);
EXCEPTION {handler}
END $$;
"""


@pytest.mark.parametrize(
    ("handler", "condition"),
    [
        ("WHEN others THEN\n    RAISE NOTICE 'already there';", "others"),
        ("WHEN duplicate_object OR others THEN NULL;", "others"),
        ("WHEN lock_not_available THEN NULL;", "lock_not_available"),
        ("WHEN SQLSTATE '40P01' THEN RAISE WARNING 'deadlock: skipped';", "40p01"),
        ("WHEN transaction_rollback THEN NULL;", "transaction_rollback"),
    ],
)
async def test_a_do_block_that_swallows_the_runner_s_lock_timeout_is_refused(
    database: str, tmp_path: Path, handler: str, condition: str
) -> None:
    """The runner ends DDL that waits for a table's lock with its own lock_timeout and retries
    the patch. `EXCEPTION WHEN others THEN RAISE NOTICE 'already there'` around an `ALTER TABLE
    … ADD CONSTRAINT` caught that timeout while the application held the table: apply said
    'applied 0002_check.sql in 2015 ms' (exit 0), the ledger recorded it, and the constraint was
    never made — the database called up to date for good. Refused before anything runs, at the
    handler's line."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int, n int);\n")
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_check.sql", _ADD_CHECK.format(handler=handler))
    write(tmp_path, "0003_u.sql", "CREATE TABLE IF NOT EXISTS u (id int);\n")
    app = await asyncpg.connect(database)
    try:
        await app.execute("BEGIN; SELECT * FROM t")  # the application reads t, and stays
        with pytest.raises(PatchError) as refused:
            await apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=0)
    finally:
        await app.close()
    said = str(refused.value)
    assert f"0002_check.sql:4:11: the DO block's EXCEPTION WHEN {condition}" in said
    assert "nothing was applied" in said and refused.value.applied == []
    assert await ledger_names(database) == ["0001_t.sql"]
    assert await fetchval(database, "SELECT to_regclass('u')") is None
    assert (
        await fetchval(
            database, "SELECT count(*) FROM pg_constraint WHERE conrelid = 't'::regclass"
        )
        == 0
    )


@pytest.mark.parametrize(
    "handler",
    [
        "WHEN duplicate_object THEN NULL;",
        "WHEN others THEN RAISE;",
        "WHEN others THEN\n    IF SQLSTATE <> '42710' THEN RAISE; END IF;",
    ],
)
async def test_a_do_block_that_lets_the_lock_timeout_through_waits_and_applies(
    database: str, tmp_path: Path, handler: str
) -> None:
    """A handler that names what it expects, or raises again, lets the runner's lock_timeout
    through: the patch is retried while the application holds the table, and applied once it
    lets go — with its constraint."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int, n int);\n")
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_check.sql", _ADD_CHECK.format(handler=handler))
    app = await asyncpg.connect(database)
    try:
        await app.execute("BEGIN; SELECT * FROM t")

        async def let_go() -> None:
            await asyncio.sleep(1.0)
            await app.execute("COMMIT")

        releasing = asyncio.create_task(let_go())
        run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=5)
        await releasing
    finally:
        await app.close()
    assert run.applied == ["0002_check.sql"]
    assert (
        await fetchval(database, "SELECT conname FROM pg_constraint WHERE conrelid = 't'::regclass")
        == "t_n_positive"
    )


async def test_a_connection_lost_while_the_runner_waits_to_retry_names_the_patch_and_what_ran(
    database: str, tmp_path: Path
) -> None:
    """The server ended the runner's session (a restart, pg_terminate_backend) while it waited
    to retry a patch the application blocked: apply_patches raised asyncpg's
    ConnectionDoesNotExistError — no patch named, not the patch it had applied (the CLI said
    'database …: ConnectionDoesNotExistError' and no 'applied before the failure'). Now a
    PatchConnectionError names the patch, says nothing of it is applied, and lists the first."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n")
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    write(tmp_path, "0003_x.sql", "ALTER TABLE t ADD COLUMN IF NOT EXISTS x int;\n")
    app = await asyncpg.connect(database)
    admin = await asyncpg.connect(database)
    try:
        await app.execute("BEGIN; SELECT * FROM t")
        running = asyncio.create_task(
            apply_patches(database, tmp_path, ddl_lock_timeout=0.1, ddl_lock_retries=20)
        )
        runner = None
        for _ in range(1500):  # the runner asleep between two attempts (backoff 0.5 s, 1 s, …)
            runner = await admin.fetchval(
                "SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.objid = $1 AND a.state = 'idle' "
                "AND now() - a.state_change > interval '150 ms' "
                "AND EXISTS (SELECT FROM tenantguard_patches WHERE name = '0002_a.sql')",
                LOCK_KEY & 0xFFFFFFFF,
            )
            if runner:
                break
            await asyncio.sleep(0.02)
        assert runner, "the runner never waited between attempts"
        await admin.execute("SELECT pg_terminate_backend($1)", runner)
        with pytest.raises(PatchError) as lost:
            await running
    finally:
        await app.close()
        await admin.close()
    said = str(lost.value)
    assert "0003_x.sql" in said and "connection to the server was lost" in said
    # (asleep before a retry: "nothing of it is applied"; on a starved host the runner may be
    # caught between its session reset and BEGIN: "nothing of it is recorded")
    assert "nothing of it is" in said
    assert lost.value.applied == ["0002_a.sql"]
    assert lost.value.exit_code == 2
    assert await ledger_names(database) == ["0001_t.sql", "0002_a.sql"]
    assert (
        await fetchval(
            database,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'x'",
        )
        == 0
    )
    run = await apply_patches(database, tmp_path)  # the next run applies it
    assert run.applied == ["0003_x.sql"]


async def test_a_commit_in_a_do_block_of_a_transactional_patch_is_refused_before_anything_runs(
    database: str, tmp_path: Path
) -> None:
    """A transactional patch's DO block says COMMIT: the patches before it in the run were
    applied, and then PostgreSQL refused it ('invalid transaction termination'). The README
    promises transaction control in a transactional patch is refused before anything runs."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    write(
        tmp_path,
        "0002_fill.sql",
        """
        CREATE TABLE IF NOT EXISTS b (id int);
        DO $$ BEGIN
            INSERT INTO b VALUES (1);
            COMMIT;
        END $$;
        """,
    )
    with pytest.raises(PatchError) as refused:
        await apply_patches(database, tmp_path)
    said = str(refused.value)
    assert "0002_fill.sql:2:1: COMMIT or ROLLBACK in a DO block" in said
    assert "no-transaction" in said and "nothing was applied" in said
    assert await fetchval(database, "SELECT to_regclass('a')") is None
    assert await ledger_names(database) == []


async def test_a_no_transaction_batch_that_fails_after_commits_says_what_it_left(
    database: str, tmp_path: Path
) -> None:
    """A no-transaction DO block committing in batches failed after three COMMITs: the error
    said 'patch 0002_fill.sql failed', as a transactional patch's does — the three rows stayed,
    and the next run runs the block again from the start."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int PRIMARY KEY);\n")
    write(
        tmp_path,
        "0002_fill.sql",
        """
        -- tenantguard: no-transaction
        DO $$
        BEGIN
            FOR i IN 1..3 LOOP
                INSERT INTO a VALUES (i);
                COMMIT;
            END LOOP;
            INSERT INTO a VALUES (1);
        END $$;
        """,
    )
    with pytest.raises(PatchError) as failed:
        await apply_patches(database, tmp_path)
    said = str(failed.value)
    assert "0002_fill.sql" in said and "UniqueViolationError" in said
    assert "not rolled back as a whole" in said and "committed before the error stays" in said
    assert await fetchval(database, "SELECT count(*) FROM a") == 3
    assert await ledger_names(database) == ["0001_a.sql"]


async def test_a_procedure_that_commits_called_by_a_transactional_patch_says_why(
    database: str, tmp_path: Path
) -> None:
    """`CALL backfill()` of a procedure that commits, in a transactional patch: rolled back
    with PostgreSQL's bare 'invalid transaction termination'. The error now says why and what
    to do; nothing of the patch is applied."""
    write(
        tmp_path,
        "0001_proc.sql",
        """
        CREATE TABLE IF NOT EXISTS a (id int);
        CREATE OR REPLACE PROCEDURE backfill() LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO a VALUES (1);
            COMMIT;
        END $$;
        """,
    )
    await apply_patches(database, tmp_path)
    write(
        tmp_path,
        "0002_call.sql",
        "CREATE TABLE IF NOT EXISTS b (id int);\nCALL backfill();\n",
    )
    with pytest.raises(PatchError) as failed:
        await apply_patches(database, tmp_path)
    said = str(failed.value)
    # (refused before any patch runs since round 32, helper h32l: the runtime error came after
    # the patches before it in the run were applied)
    assert "0002_call.sql:2:1" in said and "backfill()" in said
    assert "says COMMIT or ROLLBACK" in said and "no-transaction" in said
    assert await fetchval(database, "SELECT count(*) FROM a") == 0
    assert await fetchval(database, "SELECT to_regclass('b')") is None
    assert await ledger_names(database) == ["0001_proc.sql"]


@pytest.mark.parametrize("change", ["owner", "inherits"])
async def test_a_patch_that_gives_the_ledger_away_or_inherits_it_is_rolled_back(
    database: str, tmp_path: Path, change: str
) -> None:
    """Two changes to the ledger its definition check missed. A loop giving every table to the
    application's role (`ALTER TABLE %I OWNER TO app`) gave it the ledger too: applied, and the
    application's role could rewrite the record of what is applied. A table inheriting the
    ledger (`CREATE TABLE forged () INHERITS (tenantguard_patches)`) with a row of its own: the
    runner read the ledger without ONLY, took '0009_future.sql' for applied, and refused the
    next patch 0004 as 'numbered below an applied patch'. Both are rolled back now."""
    role = f"tg_h31f_owner_{os.getpid()}"
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    await apply_patches(database, tmp_path)
    if change == "owner":
        await fetchval(database, f"DROP ROLE IF EXISTS {role}")
        await fetchval(database, f"CREATE ROLE {role} NOLOGIN")
        write(
            tmp_path,
            "0002_change.sql",
            f"""
            DO $$
            DECLARE r record;
            BEGIN
                FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
                    EXECUTE format('ALTER TABLE %I OWNER TO {role}', r.tablename);
                END LOOP;
            END $$;
            """,
        )
    else:
        write(
            tmp_path,
            "0002_change.sql",
            f"""
            CREATE TABLE IF NOT EXISTS forged () INHERITS ({LEDGER});
            INSERT INTO forged (name, number, checksum, duration_ms)
                VALUES ('0009_future.sql', 9, 'x', 0) ON CONFLICT DO NOTHING;
            """,
        )
    try:
        with pytest.raises(PatchError, match="rolled back") as refused:
            await apply_patches(database, tmp_path)
        assert "its definition changed" in str(refused.value)
        assert await ledger_names(database) == ["0001_a.sql"]
        owners = await fetchval(
            database,
            "SELECT string_agg(pg_get_userbyid(relowner)::text, ',') FROM pg_class "
            f"WHERE relname IN ('a', '{LEDGER}')",
        )
        assert owners == "postgres,postgres"
        assert await fetchval(database, "SELECT to_regclass('forged')") is None
    finally:
        if change == "owner":
            await fetchval(database, f"DROP OWNED BY {role}")
            await fetchval(database, f"DROP ROLE {role}")


async def test_on_a_new_database_a_do_block_that_swallows_the_lock_timeout_waits_instead(
    database: str, tmp_path: Path
) -> None:
    """A new install (the baseline loaded, no patch applied yet) runs every patch, also ones
    applied long ago elsewhere with an `EXCEPTION WHEN others` — refusing them would stop
    every new install. There such a patch runs without the runner's lock_timeout: it waits for
    the table and makes its constraint, never skipping it."""
    await fetchval(database, "CREATE TABLE t (id int, n int)")  # what the baseline made
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int, n int);\n")
    write(tmp_path, "0002_check.sql", _ADD_CHECK.format(handler="WHEN others THEN NULL;"))
    app = await asyncpg.connect(database)
    try:
        await app.execute("BEGIN; SELECT * FROM t")

        async def let_go() -> None:
            await asyncio.sleep(1.0)
            await app.execute("COMMIT")

        releasing = asyncio.create_task(let_go())
        run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=0)
        await releasing
    finally:
        await app.close()
    assert run.applied == ["0001_t.sql", "0002_check.sql"]
    assert (
        await fetchval(database, "SELECT conname FROM pg_constraint WHERE conrelid = 't'::regclass")
        == "t_n_positive"
    )
