"""Round 28: the patch pipeline under fault injection by an outsider (helper h28d), on a real
server. Each test names what happened on the server before the fix.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.files import PatchError, PatchUsageError
from tenantguard.patches.runner import apply_patches
from tenantguard.patches.statements import split_patch
from tenantguard.patches.verify import sync_baseline, verify_pipeline
from tests.pipeline.test_pipeline_faults import fetchval, ledger_names, write


async def test_a_replica_with_a_ledger_and_a_pending_patch_is_a_usage_error(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1. A read replica (a hot standby of a primary that has applied patches; here the database's
    `default_transaction_read_only`) with one patch pending: the runner skipped the ledger's
    CREATE (it exists) and ran the patch, which failed with `ReadOnlySQLTransactionError:
    cannot execute CREATE TABLE in a read-only transaction`, exit 1 — 'the pipeline is wrong'
    — and nothing said to apply on the primary. (The round 10 test covered only a database
    without a ledger, whose CREATE TABLE of the ledger failed first.)"""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);")
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_b.sql", "CREATE TABLE IF NOT EXISTS b (id int);")
    name = database.rsplit("/", 1)[1]
    await fetchval(database, f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    try:
        with pytest.raises(PatchUsageError, match="read-only") as refused:
            await apply_patches(database, tmp_path)
        assert "primary" in str(refused.value)
        code = await asyncio.to_thread(
            main, ["patches", "apply", "--dsn", database, "--dir", str(tmp_path)]
        )
        assert code == 2 and "primary" in capsys.readouterr().err
        # nothing to do on a replica is no error (the startup of a read-only replica)
        (tmp_path / "0002_b.sql").unlink()
        assert (await apply_patches(database, tmp_path)).applied == []
    finally:
        conn = await asyncpg.connect(database)
        try:
            await conn.execute("SET default_transaction_read_only = off")
            await conn.execute(f"ALTER DATABASE {name} RESET default_transaction_read_only")
        finally:
            await conn.close()
    assert await ledger_names(database) == ["0001_a.sql"]


async def test_the_database_s_idle_session_timeout_does_not_end_a_run_waiting_to_retry(
    database: str, tmp_path: Path
) -> None:
    """2. `ALTER DATABASE … SET idle_session_timeout` (there to reap the application's leaked
    connections) ended the runner's session while it slept between two attempts at a patch
    blocked by a long transaction: the run died on `InterfaceError: connection is closed`
    (the CLI: 'database …: InterfaceError: connection is closed', exit 2), naming neither the
    patch nor the setting, while a retry a moment later would have succeeded."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_w.sql", "ALTER TABLE t ADD COLUMN IF NOT EXISTS w int;")
    name = database.rsplit("/", 1)[1]
    await fetchval(database, f"ALTER DATABASE {name} SET idle_session_timeout = '1s'")
    blocker = await asyncpg.connect(database)
    try:
        await blocker.execute("BEGIN; LOCK t IN ACCESS SHARE MODE")

        async def release() -> None:
            await asyncio.sleep(2.5)
            await blocker.execute("COMMIT")

        releasing = asyncio.create_task(release())
        # attempts at 0, ~0.7, ~1.9 s; the third sleep (2 s) outlasts idle_session_timeout
        run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=6)
        await releasing
        assert run.applied == ["0002_w.sql"]
    finally:
        await blocker.close()
        await fetchval(database, f"ALTER DATABASE {name} RESET idle_session_timeout")


async def test_a_baseline_load_cut_short_leaves_nothing_for_apply_to_build_on(
    database: str, tmp_path: Path, postgres: object
) -> None:
    """3. The baseline (pg_dump's text) was no transaction: a load cut short — the installer
    killed, the container stopped, `psql -f` going on after an error without ON_ERROR_STOP —
    left its tables without the foreign keys, triggers and policies pg_dump writes last. The
    patches' `CREATE TABLE IF NOT EXISTS` then skipped those tables: apply said '2 applied'
    (exit 0), status 'all applied' (exit 0), and the database had no foreign key. (With the
    shipped baseline cut before its FK section: 1 foreign key of 27, apply and status 0.)"""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_clinics.sql",
        "CREATE TABLE IF NOT EXISTS clinics (id int PRIMARY KEY);",
    )
    write(
        patches,
        "0002_patients.sql",
        "CREATE TABLE IF NOT EXISTS patients (id int PRIMARY KEY, "
        "clinic_id int NOT NULL REFERENCES clinics (id));",
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)  # type: ignore[attr-defined]
    text = baseline.read_text(encoding="utf-8")
    cut = text.index("Type: FK CONSTRAINT")
    # as psql -f sends it: statement by statement, each committed unless the file says BEGIN;
    # the loader dies before the foreign keys
    loader = await asyncpg.connect(database)
    try:
        for statement in split_patch(text, str(baseline)):
            if statement.offset > cut:
                break
            await loader.execute(statement.text)
    finally:
        await loader.close()  # a killed psql: the server ends the session
    run = await apply_patches(database, patches)
    assert run.applied == ["0001_clinics.sql", "0002_patients.sql"]
    assert await fetchval(database, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'") == 1


@pytest.mark.parametrize(
    ("marker", "statement"),
    [
        ("-- tenantguard: no-transaction (the table is big)\n", "CREATE INDEX CONCURRENTLY"),
        ("-- tenantguard no-transaction\n", "CREATE INDEX CONCURRENTLY"),
        ("/* tenantguard: no-transaction */\n", "CREATE INDEX CONCURRENTLY"),
        ("", "VACUUM"),
    ],
)
async def test_a_statement_that_cannot_run_in_a_transaction_is_refused_before_anything_runs(
    database: str, tmp_path: Path, marker: str, statement: str
) -> None:
    """4. A patch meant to run outside a transaction whose marker line was not the runner's
    (`-- tenantguard: no-transaction (the table is big)`, a missing colon, a block comment), or
    a `VACUUM` in an ordinary patch: the patches before it were applied, then it failed with
    PostgreSQL's 'CREATE INDEX CONCURRENTLY cannot run inside a transaction block' (exit 1), and
    nothing said that the runner had not seen the marker the author wrote, nor what it is."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int, v text);")
    body = (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_v ON t (v);"
        if statement.startswith("CREATE")
        else "VACUUM t;"
    )
    write(tmp_path, "0002_x.sql", marker + body + "\n")
    with pytest.raises(PatchError) as refused:
        await apply_patches(database, tmp_path)
    said = str(refused.value)
    assert f"0002_x.sql:{2 if marker else 1}:1: {statement}" in said
    assert "`-- tenantguard: no-transaction`" in said
    if marker:
        assert "Line 1 says" in said and "not the runner's marker" in said
    # refused before anything ran: the first patch is not applied either
    assert await fetchval(database, "SELECT to_regclass('t') IS NULL") is True


async def test_the_application_s_role_that_cannot_read_the_ledger_is_told_what_to_grant(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """5. The README's startup call, `apply_patches(pool)`, with the application's pool: its role
    (not the one that applied the patches) cannot read the ledger. The startup died on asyncpg's
    `InsufficientPrivilegeError: permission denied for table tenantguard_patches` (the CLI the
    same, as 'database …: InsufficientPrivilegeError'), saying neither whose ledger it is nor
    what to grant — status and apply alike."""
    await fetchval(
        postgres.dsn,
        "DO $$ BEGIN IF to_regrole('tg_round28_app') IS NULL THEN "
        "CREATE ROLE tg_round28_app LOGIN; END IF; END $$",
    )
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    await apply_patches(database, tmp_path)
    app = postgres.dsn_for(database.rsplit("/", 1)[1], "tg_round28_app")
    with pytest.raises(PatchUsageError) as refused:
        await apply_patches(app, tmp_path)
    said = str(refused.value)
    assert "tg_round28_app" in said and "GRANT SELECT ON" in said and "tenantguard_patches" in said
    for verb in ("apply", "status"):
        code = await asyncio.to_thread(
            main, ["patches", verb, "--dsn", app, "--dir", str(tmp_path)]
        )
        assert code == 2 and "GRANT SELECT ON" in capsys.readouterr().err
    # with the grant, a startup with nothing to apply passes
    name = database.rsplit("/", 1)[1]
    await fetchval(postgres.dsn_for(name), "GRANT SELECT ON tenantguard_patches TO tg_round28_app")
    assert (await apply_patches(app, tmp_path)).skipped == ["0001_t.sql"]


async def test_a_ledger_altered_by_hand_is_not_called_another_tool_s_table(
    database: str, tmp_path: Path
) -> None:
    """6. The ledger with a column renamed by hand (`duration_ms` -> `duration`): the error said
    'Another tool's table of that name? Rename it' — and renaming the ledger makes the next run
    take the database for a new one and run every patch again (shown: 2 applied, both already
    applied). The ledger is tenantguard's (it has name and checksum): the message names the
    missing column and says to restore it, never to rename the table."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    await apply_patches(database, tmp_path)
    await fetchval(
        database, "ALTER TABLE tenantguard_patches RENAME COLUMN duration_ms TO duration"
    )
    with pytest.raises(PatchUsageError) as refused:
        await apply_patches(database, tmp_path)
    said = str(refused.value)
    assert "duration_ms" in said and "Rename it" not in said
    assert "every patch" in said


async def test_verify_sees_a_sequence_a_new_install_numbers_from_elsewhere(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """7. A patch creates `invoices` and, inside its catalog guard, continues the old system's
    numbering (`setval('invoices_id_seq', 50000)`). pg_dump --schema-only keeps no sequence
    value, so the baseline's sequence starts at 1 and the guard skips the setval on top of it:
    an upgraded database's next invoice is 50001, a new install's is 1 (shown on the server) —
    and verify said ok to all six checks (sync wrote that baseline without a word)."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_invoices.sql",
        """
        DO $$
        BEGIN
            IF to_regclass('invoices') IS NULL THEN
                CREATE TABLE invoices (id bigserial PRIMARY KEY, total numeric NOT NULL);
                PERFORM setval('invoices_id_seq', 50000);
            END IF;
        END $$;
        """,
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    failed = {name: difference for name, passed, difference in report.checks if not passed}
    assert list(failed) == [
        "the baseline + pipeline has the same sequences and materialized views as the pipeline alone"
    ]
    said = next(iter(failed.values()))
    assert "public.invoices_id_seq" in said and "50001" in said and "START WITH" in said
    # a patch that numbers from its CREATE (pg_dump keeps START WITH) passes
    write(
        patches,
        "0001_invoices.sql",
        "CREATE TABLE IF NOT EXISTS invoices (id bigint GENERATED BY DEFAULT AS IDENTITY "
        "(START WITH 50001) PRIMARY KEY, total numeric NOT NULL);\n",
    )
    await sync_baseline(postgres.dsn, patches, baseline)
    assert (await verify_pipeline(postgres.dsn, patches, baseline)).ok


async def test_a_materialized_view_the_patches_populate_is_populated_by_the_baseline(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """8. `CREATE MATERIALIZED VIEW IF NOT EXISTS lead_sources AS …` is populated when the
    patch makes it; pg_dump --schema-only writes it `WITH NO DATA` (its REFRESH is in the data
    section), and the patch's IF NOT EXISTS skips it on top of the baseline: on a new install
    `SELECT * FROM lead_sources` failed with 'materialized view "lead_sources" has not been
    populated' (shown on the server), and verify said ok to every check."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_leads.sql",
        "CREATE TABLE IF NOT EXISTS leads (id bigserial PRIMARY KEY, source text NOT NULL);\n"
        "CREATE MATERIALIZED VIEW IF NOT EXISTS lead_sources AS "
        "SELECT source, count(*) AS n FROM leads GROUP BY source;\n"
        "CREATE MATERIALIZED VIEW IF NOT EXISTS lead_totals AS "
        "SELECT sum(n) AS n FROM lead_sources;\n",
    )
    baseline = tmp_path / "schema.sql"
    baseline.write_text(
        "CREATE TABLE public.leads (id bigserial PRIMARY KEY, source text NOT NULL);\n"
        "CREATE MATERIALIZED VIEW public.lead_sources AS SELECT leads.source, count(*) AS n "
        "FROM public.leads GROUP BY leads.source WITH NO DATA;\n"
        "CREATE MATERIALIZED VIEW public.lead_totals AS SELECT sum(lead_sources.n) AS n "
        "FROM public.lead_sources WITH NO DATA;\n",
        encoding="utf-8",
    )
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    failed = {name: difference for name, passed, difference in report.checks if not passed}
    name = "the baseline + pipeline has the same sequences and materialized views as the pipeline alone"
    assert name in failed, report.checks
    assert (
        "materialized view public.lead_sources: populated after the pipeline, not populated"
        in failed[name]
    )
    # sync writes the REFRESH pg_dump keeps in its data section, in the order of dependency
    await sync_baseline(postgres.dsn, patches, baseline)
    assert (await verify_pipeline(postgres.dsn, patches, baseline)).ok
    admin = await asyncpg.connect(postgres.dsn)
    try:
        await admin.execute("DROP DATABASE IF EXISTS tg_round28_mv")
        await admin.execute("CREATE DATABASE tg_round28_mv")
    finally:
        await admin.close()
    dsn = postgres.dsn_for("tg_round28_mv")
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(baseline.read_text(encoding="utf-8"))
        finally:
            await conn.close()
        await apply_patches(dsn, patches)
        assert await fetchval(dsn, "SELECT count(*) FROM lead_totals") == 1
    finally:
        admin = await asyncpg.connect(postgres.dsn)
        try:
            await admin.execute("DROP DATABASE IF EXISTS tg_round28_mv WITH (FORCE)")
        finally:
            await admin.close()


async def test_a_no_transaction_patch_cancelled_by_statement_timeout_gets_advice_it_can_follow(
    database: str, tmp_path: Path
) -> None:
    """9. The database's `statement_timeout` (300 ms here, for the application) cancelled a
    no-transaction `CREATE INDEX CONCURRENTLY` at every run. The error's advice — 'a patch that
    needs longer says `SET LOCAL statement_timeout = 0;` first' — cannot be followed there: a
    no-transaction patch holds one statement (a second is refused) and SET LOCAL outside a
    transaction does nothing. What works is the runner's own setting: `options=-c
    statement_timeout=0` in its DSN (shown: 4.6 s build, applied), or the runner's role."""
    write(
        tmp_path,
        "0001_t.sql",
        """
        CREATE TABLE IF NOT EXISTS t (id int, v text);
        CREATE OR REPLACE FUNCTION slow(text) RETURNS text IMMUTABLE LANGUAGE sql
            AS $$ SELECT $1 || pg_sleep(0.1)::text $$;
        INSERT INTO t SELECT g, g::text FROM generate_series(1, 10) g WHERE NOT EXISTS (SELECT FROM t);
        """,
    )
    write(
        tmp_path,
        "0002_idx.sql",
        "-- tenantguard: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_slow ON t (slow(v));\n",
    )
    name = database.rsplit("/", 1)[1]
    await fetchval(database, f"ALTER DATABASE {name} SET statement_timeout = '300ms'")
    with pytest.raises(PatchError) as caught:
        await apply_patches(database, tmp_path)
    said = str(caught.value)
    assert "statement timeout" in said and "SET LOCAL" not in said
    assert "options=-c statement_timeout=0" in said and "ALTER ROLE" in said
    separator = "&" if "?" in database else "?"
    run = await apply_patches(f"{database}{separator}options=-cstatement_timeout%3D0", tmp_path)
    assert run.applied == ["0002_idx.sql"]


async def test_the_no_transaction_marker_on_a_line_ended_by_a_lone_cr_is_seen(
    database: str, tmp_path: Path
) -> None:
    """10. A patch saved with lone CR line ends (an old Mac editor): PostgreSQL ends the `--`
    comment there, but the marker's `$` did not, so the marker went unseen and the concurrent
    build ran inside a transaction ('cannot run inside a transaction block')."""
    (tmp_path / "0001_t.sql").write_bytes(b"CREATE TABLE IF NOT EXISTS t (id int, v text);\r")
    (tmp_path / "0002_idx.sql").write_bytes(
        b"-- tenantguard: no-transaction\rCREATE INDEX CONCURRENTLY IF NOT EXISTS t_v ON t (v);\r"
    )
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0001_t.sql", "0002_idx.sql"]
    assert await fetchval(
        database, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v'::regclass"
    )


async def test_a_first_run_reads_each_statement_once_for_second_copies(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """11. A 3 MB seed patch (50,000 INSERTs) on a new database: the run took 18 s for a patch
    that ran in 7 s — the check for second copies of tables walked every statement twice
    (once before the ledger is created, once after, for the same patches)."""
    from tenantguard.patches import statements

    calls: list[int] = []
    real = statements.created_tables

    def counting(statement: statements.SqlStatement) -> list[str]:
        calls.append(1)
        return real(statement)

    monkeypatch.setattr(statements, "created_tables", counting)
    write(
        tmp_path,
        "0001_t.sql",
        "CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY);\n"
        "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING;\n"
        "INSERT INTO t VALUES (2) ON CONFLICT DO NOTHING;\n",
    )
    await apply_patches(database, tmp_path)
    assert len(calls) == 3


async def test_a_ledger_locked_for_a_moment_is_waited_for_like_a_table(
    database: str, tmp_path: Path
) -> None:
    """12. A maintenance job holding the ledger a moment (`vacuumdb --full`, a `LOCK TABLE` of
    a backup script) when a patch records itself: the INSERT hit the runner's lock_timeout and
    the run failed at once — exit 1, 'the pipeline is wrong', 'in: recording it in the ledger',
    no blocker named — where a patch's own table lock is retried with backoff."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_u.sql", "CREATE TABLE IF NOT EXISTS u (id int);")
    holder = await asyncpg.connect(database)
    try:
        await holder.execute("BEGIN; LOCK tenantguard_patches IN SHARE MODE")

        async def release() -> None:
            await asyncio.sleep(1.2)
            await holder.execute("COMMIT")

        releasing = asyncio.create_task(release())
        run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=6)
        await releasing
    finally:
        await holder.close()
    assert run.applied == ["0002_u.sql"]
    assert await ledger_names(database) == ["0001_t.sql", "0002_u.sql"]


async def test_sync_to_a_baseline_path_it_cannot_write_says_so_before_the_work(
    postgres: ThrowawayPostgres, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """13. `patches sync --baseline db/init` (the directory, not the file): the pipeline was
    built and checked on two scratch databases, then the write failed and the CLI blamed the
    server — 'database postgresql://…: IsADirectoryError: [Errno 21] Is a directory'. The
    baseline is written whole or not at all (a temporary file renamed over it)."""
    patches = tmp_path / "patches"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    target = tmp_path / "init"
    target.mkdir()
    code = await asyncio.to_thread(
        main,
        [
            "patches",
            "sync",
            "--dsn",
            postgres.dsn,
            "--dir",
            str(patches),
            "--baseline",
            str(target),
        ],
    )
    out = capsys.readouterr()
    assert code == 2
    assert "is a directory" in out.err and "database" not in out.err
    assert "applying" not in out.out
    baseline = target / "schema.sql"
    baseline.write_text("-- the old baseline\n", encoding="utf-8")
    await sync_baseline(postgres.dsn, patches, baseline)
    assert "CREATE TABLE public.t" in baseline.read_text(encoding="utf-8")
    assert sorted(p.name for p in target.iterdir()) == ["schema.sql"]  # no temporary left


async def test_a_backfill_that_loses_a_serialization_race_is_retried(
    database: str, tmp_path: Path
) -> None:
    """14. The database runs at `default_transaction_isolation = 'repeatable read'` (or
    serializable), for the application. A backfill patch's UPDATE waited for a row an
    application transaction was updating; when that committed, PostgreSQL refused the patch
    with 'could not serialize access due to concurrent update': exit 1, as if the pipeline were
    wrong, where a retry a moment later succeeds (a deadlock's victim is retried already)."""
    write(
        tmp_path,
        "0001_t.sql",
        "CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, v text);\n"
        "INSERT INTO t SELECT g, g::text FROM generate_series(1, 100) g ON CONFLICT DO NOTHING;\n",
    )
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_backfill.sql", "UPDATE t SET v = 'x' || v WHERE v NOT LIKE 'x%';\n")
    name = database.rsplit("/", 1)[1]
    await fetchval(
        database, f"ALTER DATABASE {name} SET default_transaction_isolation = 'repeatable read'"
    )
    app = await asyncpg.connect(database)
    try:
        await app.execute("BEGIN; UPDATE t SET v = 'app' WHERE id = 50")

        async def commit() -> None:
            await asyncio.sleep(0.5)
            await app.execute("COMMIT")

        committing = asyncio.create_task(commit())
        run = await apply_patches(database, tmp_path, ddl_lock_timeout=5)
        await committing
    finally:
        await app.close()
    assert run.applied == ["0002_backfill.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t WHERE v NOT LIKE 'x%'") == 0


async def test_a_patch_whose_session_does_not_hold_the_lock_is_not_run(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """15. Through PgBouncer in transaction mode (asyncpg's pool with statement_cache_size=0,
    as asyncpg advises for it), the session advisory lock is taken on one server connection and
    the patches run on others. Shown with four replicas starting at once: all four 'held' the
    lock and ran 0001 together — three failed on `duplicate key … pg_type_typname_nsp_index`,
    the fourth was told its patch 'released the pipeline's advisory lock
    (pg_advisory_unlock_all()) … take the unlock out of the patches', which it never did.
    Here the lock is taken on another session (as the pooler does): each patch's transaction
    now checks, before anything of the patch runs, that its own backend holds the lock."""
    from tenantguard.patches import runner

    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    other = await asyncpg.connect(database)
    try:

        async def elsewhere(conn: object, wait: object, report_every: object) -> None:
            await other.fetchval("SELECT pg_advisory_lock($1)", runner.LOCK_KEY)

        monkeypatch.setattr(runner, "take_patch_lock", elsewhere)
        with pytest.raises(PatchUsageError) as refused:
            await apply_patches(database, tmp_path)
    finally:
        await other.close()
    said = str(refused.value)
    assert "transaction mode" in said and "directly" in said
    assert await fetchval(database, "SELECT to_regclass('t') IS NULL") is True
    assert await ledger_names(database) == []
