"""Round 11: the patch pipeline attacked from outside, on a real PostgreSQL started by the suite.

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
from tenantguard.patches.files import PatchError, PatchUsageError, read_patches
from tenantguard.patches.runner import LEDGER, apply_patches
from tenantguard.patches.statements import (
    SqlStatement,
    concurrent_detach,
    concurrent_reindex,
    split_patch,
)
from tenantguard.patches.verify import VerifyReport, sync_baseline, verify_pipeline
from tests.pipeline.test_pipeline_faults import fetchval, ledger_names, write

LIVE_CHECK = "the database's schema equals what its applied patches build"

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _check(report: VerifyReport, name: str) -> tuple[bool, str]:
    found = [(passed, diff) for n, passed, diff in report.checks if n.startswith(name)]
    assert found, [n for n, _, _ in report.checks]
    return found[0]


# ------------------------------------------------- a hand-made object of a patch's name


async def test_verify_sees_a_hand_made_index_of_another_shape_in_the_database(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone ran part of a patch by hand, differently: the index exists under the patch's
    name without the tenant column. `CREATE INDEX IF NOT EXISTS` skips it, the ledger records
    the patch, and verify said ok: it compared only scratch databases, never the database."""
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL, x int);")
    await apply_patches(database, patches)
    await fetchval(database, "CREATE INDEX t_x_idx ON t (x)")  # by hand, before the patch
    write(patches, "0002_t_x.sql", "CREATE INDEX IF NOT EXISTS t_x_idx ON t (tenant_id, x);")
    assert (await apply_patches(database, patches)).applied == ["0002_t_x.sql"]
    await sync_baseline(database, patches, baseline)
    assert "tenant_id" not in str(
        await fetchval(database, "SELECT pg_get_indexdef('t_x_idx'::regclass)")
    )
    report = await verify_pipeline(database, patches, baseline)
    passed, difference = _check(report, LIVE_CHECK)
    assert not passed and not report.ok
    assert "INDEX public.t_x_idx" in difference and "(tenant_id, x)" in difference
    code = await asyncio.to_thread(
        main,
        [
            "patches",
            "verify",
            "--dsn",
            database,
            "--dir",
            str(patches),
            "--baseline",
            str(baseline),
        ],
    )
    out = capsys.readouterr().out
    assert code == 1 and "FAIL" in out and "t_x_idx" in out
    # once repaired by hand, the same database verifies
    await fetchval(database, "DROP INDEX t_x_idx")
    await fetchval(database, "CREATE INDEX t_x_idx ON t (tenant_id, x)")
    assert _check(await verify_pipeline(database, patches, baseline), LIVE_CHECK)[0]


async def test_verify_sees_each_kind_of_hand_made_drift(database: str, tmp_path: Path) -> None:
    """A column of another type, a constraint not validated, a policy with another USING, a
    table the patches never made: each one a difference, named by its object."""
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(
        patches,
        "0001_t.sql",
        """
        CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL, amount numeric(10, 2));
        ALTER TABLE t ENABLE ROW LEVEL SECURITY;
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 't_amount_positive') THEN
                ALTER TABLE t ADD CONSTRAINT t_amount_positive CHECK (amount > 0);
            END IF;
        END $$;
        DROP POLICY IF EXISTS t_tenant ON t;
        CREATE POLICY t_tenant ON t
            USING (tenant_id = current_setting('app.tenant_id')::bigint);
        """,
    )
    await sync_baseline(database, patches, baseline)
    conn = await asyncpg.connect(database)
    try:  # built by hand before the patch ran: every IF NOT EXISTS / catalog check skips them
        await conn.execute(
            """
            CREATE TABLE t (tenant_id bigint NOT NULL, amount real);
            ALTER TABLE t ADD CONSTRAINT t_amount_positive CHECK (amount > 0) NOT VALID;
            CREATE POLICY t_tenant ON t USING (true);
            CREATE TABLE scratch_copy (id int);
            """
        )
    finally:
        await conn.close()
    # the policy is dropped and made again by the patch: only that one is put right
    assert (await apply_patches(database, patches)).applied == ["0001_t.sql"]
    passed, difference = _check(await verify_pipeline(database, patches, baseline), LIVE_CHECK)
    assert not passed
    assert "TABLE public.t: differs" in difference and "amount real" in difference
    assert "CONSTRAINT public.t t_amount_positive" in difference and "NOT VALID" in difference
    assert "TABLE public.scratch_copy: only in" in difference
    assert "POLICY public.t t_tenant" not in difference  # the patch re-made it


async def test_verify_compares_a_database_with_pending_patches_to_those_it_applied(
    database: str, tmp_path: Path
) -> None:
    """A database one patch behind is not 'different': it is compared with what its applied
    patches build, and says which patches it still lacks."""
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL);")
    await apply_patches(database, patches)
    write(patches, "0002_u.sql", "CREATE TABLE IF NOT EXISTS u (tenant_id bigint NOT NULL);")
    await sync_baseline(database, patches, baseline)
    report = await verify_pipeline(database, patches, baseline)
    assert report.ok, report.checks
    names = [n for n, _, _ in report.checks if n.startswith(LIVE_CHECK)]
    assert names and "0002_u.sql" in names[0]  # 'pending: 0002_u.sql'
    await fetchval(database, "ALTER TABLE t ADD COLUMN extra int")
    passed, difference = _check(await verify_pipeline(database, patches, baseline), LIVE_CHECK)
    assert not passed and "extra integer" in difference and "TABLE public.u" not in difference


async def test_verify_of_a_database_applied_by_another_owner_has_no_false_alarm(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """The patches were applied by a migration role that owns everything; verify runs as the
    superuser: ownership by the role that applied them is not drift."""
    dsn = postgres.dsn
    await fetchval(
        dsn,
        "DO $$ BEGIN IF to_regrole('tg_round11_migrator') IS NULL THEN "
        "CREATE ROLE tg_round11_migrator LOGIN; END IF; END $$",
    )
    name = database.rsplit("/", 1)[1]
    await fetchval(database, f"ALTER DATABASE {name} OWNER TO tg_round11_migrator")
    await fetchval(database, "ALTER SCHEMA public OWNER TO tg_round11_migrator")
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL);")
    migrator = postgres.dsn_for(name, "tg_round11_migrator")
    await apply_patches(migrator, patches)
    assert (
        await fetchval(database, "SELECT relowner::regrole::text FROM pg_class WHERE relname = 't'")
        == "tg_round11_migrator"
    )
    await sync_baseline(dsn, patches, baseline)
    report = await verify_pipeline(database, patches, baseline)
    assert report.ok, [c for c in report.checks if not c[1]]
    assert any(n.startswith(LIVE_CHECK) for n, _, _ in report.checks)


# ------------------------------------------------- patch files that are not what they seem


@pytest.mark.parametrize("kind", ["dangling symlink", "directory"])
async def test_a_patch_name_that_is_not_a_readable_file_is_refused(
    database: str, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`0002_seed.sql` as a symlink whose target is gone (a checkout that missed it) was skipped
    without a word: apply said '1 applied', exit 0, and the database never got the patch."""
    patches = tmp_path / "patches"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    if kind == "directory":
        (patches / "0002_seed.sql").mkdir()
    else:
        (patches / "0002_seed.sql").symlink_to(tmp_path / "gone" / "0002_seed.sql")
    with pytest.raises(PatchError, match=r"0002_seed\.sql"):
        read_patches(patches)
    code = await asyncio.to_thread(
        main, ["patches", "apply", "--dsn", database, "--dir", str(patches)]
    )
    err = capsys.readouterr().err
    assert code == 1 and "0002_seed.sql" in err and "Traceback" not in err
    assert await fetchval(database, "SELECT to_regclass('t')") is None  # nothing ran


# ------------------------------------------------- an applied patch renamed and edited


async def test_an_applied_patch_renamed_and_edited_is_refused_not_run_again(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`0002_seed.sql` renamed `0002_seed_rows.sql` and given a comment: its checksum differs,
    so it was taken for a new patch and ran again (a second seed row), exit 0."""
    patches = tmp_path / "patches"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS s (a int);")
    write(patches, "0002_seed.sql", "INSERT INTO s VALUES (1);")
    await apply_patches(database, patches)
    (patches / "0002_seed.sql").unlink()
    write(patches, "0002_seed_rows.sql", "-- the first row\nINSERT INTO s VALUES (1);")
    with pytest.raises(PatchError, match=r"0002_seed_rows\.sql.*0002_seed\.sql") as caught:
        await apply_patches(database, patches)
    assert "--rebaseline 0002_seed_rows.sql" in str(caught.value)
    assert await fetchval(database, "SELECT count(*) FROM s") == 1
    code = await asyncio.to_thread(
        main, ["patches", "status", "--dsn", database, "--dir", str(patches)]
    )
    out = capsys.readouterr().out
    assert code == 1 and "0002_seed_rows.sql" in out and "0002_seed.sql" in out
    # accepted as the applied patch's new name and bytes: recorded, not run
    run = await apply_patches(database, patches, rebaseline=["0002_seed_rows.sql"])
    assert run.applied == [] and run.renamed == [("0002_seed.sql", "0002_seed_rows.sql")]
    assert await fetchval(database, "SELECT count(*) FROM s") == 1
    assert await ledger_names(database) == ["0001_t.sql", "0002_seed_rows.sql"]
    checksum = read_patches(patches)[1].checksum
    assert (
        await fetchval(database, f"SELECT checksum FROM {LEDGER} WHERE name = '0002_seed_rows.sql'")
        == checksum
    )
    assert (await apply_patches(database, patches)).applied == []


async def test_a_new_patch_taking_a_deleted_patch_s_number_is_refused(
    database: str, tmp_path: Path
) -> None:
    """The same number, another patch: refused too (the ledger cannot tell it from an edit);
    the message says to number it above the applied ones."""
    patches = tmp_path / "patches"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS s (a int);")
    write(patches, "0002_u.sql", "CREATE TABLE IF NOT EXISTS u (a int);")
    await apply_patches(database, patches)
    (patches / "0002_u.sql").unlink()
    write(patches, "0002_v.sql", "CREATE TABLE IF NOT EXISTS v (a int);")
    with pytest.raises(PatchError, match="number it above 2"):
        await apply_patches(database, patches)
    assert await fetchval(database, "SELECT to_regclass('v')") is None


# ------------------------------------------------- a DETACH PARTITION CONCURRENTLY cut short


async def test_a_detach_partition_concurrently_cut_short_is_finalized_by_the_next_run(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ALTER TABLE … DETACH PARTITION … CONCURRENTLY` commits its first step (the partition
    'pending detach') before it waits for older snapshots; when that wait ends (the runner's
    lock_timeout, a kill) the retry and every later run failed with 'already pending detach'
    (exit 1, 'the pipeline is wrong'), the runner said 'did not complete', and status exit 0."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_events.sql",
        """
        CREATE TABLE IF NOT EXISTS events (tenant_id bigint NOT NULL, at date NOT NULL)
            PARTITION BY RANGE (at);
        CREATE TABLE IF NOT EXISTS events_2020 PARTITION OF events
            FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
        """,
    )
    await apply_patches(database, patches)
    write(
        patches,
        "0002_detach.sql",
        "-- tenantguard: no-transaction\nALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;",
    )
    app = await asyncpg.connect(database)
    try:  # the application's snapshot that has read the table: the detach waits for it
        transaction = app.transaction(isolation="repeatable_read")
        await transaction.start()
        await app.fetch("SELECT count(*) FROM events")
        code = await asyncio.to_thread(
            main,
            [
                "patches", "apply", "--dsn", database, "--dir", str(patches),
                "--lock-timeout", "0.5", "--lock-retries", "1",
            ],
        )  # fmt: skip
        err = capsys.readouterr()
        assert code == 2, err
        assert "pending detach" in err.err and "events_2020" in err.err
        pending = (
            "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'events_2020'::regclass"
        )
        assert await fetchval(database, pending) is True
        code = await asyncio.to_thread(
            main, ["patches", "status", "--dsn", database, "--dir", str(patches)]
        )
        out = capsys.readouterr().out
        assert code == 1 and "events_2020" in out
    finally:
        await app.close()
    run = await apply_patches(database, patches)
    assert run.applied == ["0002_detach.sql"]
    assert await fetchval(database, "SELECT count(*) FROM pg_inherits") == 0
    assert await fetchval(database, "SELECT to_regclass('events_2020')") is not None
    assert await ledger_names(database) == ["0001_events.sql", "0002_detach.sql"]


# ------------------------------------------------- what a patch sets on the database itself


async def test_database_settings_grants_and_comment_a_patch_sets_reach_the_baseline(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """`ALTER DATABASE … SET`, `REVOKE CONNECT ON DATABASE … FROM PUBLIC`, `COMMENT ON DATABASE`:
    pg_dump without --create leaves them out, so sync wrote a baseline without them and verify
    said 'the pipeline's schema equals the baseline's' — a new install kept PUBLIC's CONNECT
    and ran without the setting the application relies on."""
    await fetchval(
        postgres.dsn,
        "DO $$ BEGIN IF to_regrole('tg_round11_app') IS NULL THEN "
        "CREATE ROLE tg_round11_app; END IF; END $$",
    )
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(
        patches,
        "0001_database.sql",
        """
        CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL);
        DO $$ BEGIN
            EXECUTE format('ALTER DATABASE %I SET app.strict = on', current_database());
            EXECUTE format('ALTER DATABASE %I SET search_path = public, "$user"', current_database());
            EXECUTE format('ALTER ROLE tg_round11_app IN DATABASE %I SET work_mem = %L',
                           current_database(), '8MB');
            EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', current_database());
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO tg_round11_app', current_database());
            EXECUTE format('COMMENT ON DATABASE %I IS %L', current_database(), 'the 50% CRM''s');
        END $$;
        """,
    )
    # the baseline of an older sync: the table only
    baseline.write_text("CREATE TABLE public.t (\n    tenant_id bigint NOT NULL\n);\n")
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    passed, difference = _check(report, "the pipeline's schema equals the baseline's")
    assert not passed
    assert "app.strict" in difference and "REVOKE CONNECT" in difference
    assert "COMMENT ON DATABASE" in difference and "work_mem" in difference
    # sync writes them, for whatever database the baseline is loaded into
    await sync_baseline(postgres.dsn, patches, baseline)
    assert (await verify_pipeline(postgres.dsn, patches, baseline)).ok
    name = f"tg_round11_{os.getpid()}"
    await fetchval(postgres.dsn, f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(postgres.dsn_for(name))
        try:
            await conn.execute(baseline.read_text())
        finally:
            await conn.close()
        conn = await asyncpg.connect(postgres.dsn_for(name))
        try:
            assert await conn.fetchval("SELECT current_setting('app.strict', true)") == "on"
            assert await conn.fetchval("SHOW search_path") == 'public, "$user"'
            assert (
                await conn.fetchval(
                    "SELECT has_database_privilege('public', current_database(), 'CONNECT')"
                )
                is False
            )
            assert (
                await conn.fetchval(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                    "WHERE datname = current_database()"
                )
                == "the 50% CRM's"
            )
        finally:
            await conn.close()
    finally:
        await fetchval(postgres.dsn, f'DROP DATABASE "{name}" WITH (FORCE)')


# ------------------------------------------------- a REINDEX CONCURRENTLY cut short


async def test_a_reindex_concurrently_cut_short_leaves_no_invalid_copies(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`REINDEX INDEX CONCURRENTLY` that gives up (the runner's lock_timeout) leaves its copy
    `<index>_ccnew` INVALID but updated by every write (a unique one checks every insert),
    one more per retry; the runner said 'it did not complete', the next run succeeded and left
    them, and status said 'not built by a patch: DROP … and build it again'."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_t.sql",
        "CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL, k int);\n"
        "CREATE UNIQUE INDEX IF NOT EXISTS t_k ON t (tenant_id, k);",
    )
    await apply_patches(database, patches)
    write(
        patches,
        "0002_reindex.sql",
        "-- tenantguard: no-transaction\nREINDEX INDEX CONCURRENTLY t_k;",
    )
    invalid = "SELECT count(*) FROM pg_index WHERE NOT indisvalid"
    app = await asyncpg.connect(database)
    try:  # an application snapshot that has read the table: the reindex waits for it
        transaction = app.transaction(isolation="repeatable_read")
        await transaction.start()
        await app.fetch("SELECT count(*) FROM t")
        code = await asyncio.to_thread(
            main,
            [
                "patches", "apply", "--dsn", database, "--dir", str(patches),
                "--lock-timeout", "0.5", "--lock-retries", "1",
            ],
        )  # fmt: skip
        err = capsys.readouterr()
        assert code == 2, err
        assert "t_k_ccnew" in err.err and "did not complete" not in err.err
    finally:
        await app.close()
    assert await fetchval(database, invalid) != 0  # the blocker kept them from being dropped
    assert (await apply_patches(database, patches)).applied == ["0002_reindex.sql"]
    assert await fetchval(database, invalid) == 0
    assert (
        await fetchval(database, "SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass")
        == 1
    )
    await fetchval(database, f"DELETE FROM {LEDGER} WHERE name = '0002_reindex.sql'")
    # a copy left by a runner that was killed: the next run drops it before it reindexes
    await fetchval(database, "CREATE UNIQUE INDEX t_k_ccnew ON t (tenant_id, k)")
    await fetchval(
        database, "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 't_k_ccnew'::regclass"
    )
    code = await asyncio.to_thread(
        main, ["patches", "status", "--dsn", database, "--dir", str(patches)]
    )
    out = capsys.readouterr().out
    assert code == 1 and "REINDEX CONCURRENTLY" in out and "build it again" not in out
    assert (await apply_patches(database, patches)).applied == ["0002_reindex.sql"]
    assert await fetchval(database, invalid) == 0
    assert (
        await fetchval(database, "SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass")
        == 1
    )


def test_the_concurrent_statements_the_runner_finishes_or_cleans_up_are_recognised() -> None:
    def first(sql: str) -> SqlStatement:
        return split_patch(sql, "patch.sql")[0]

    assert concurrent_reindex(first("REINDEX INDEX CONCURRENTLY s.t_k")) == '"s"."t_k"'
    assert concurrent_reindex(first('REINDEX (CONCURRENTLY) TABLE "T"')) == '"T"'
    assert concurrent_reindex(first("REINDEX (CONCURRENTLY false) INDEX t_k")) is None
    assert concurrent_reindex(first("REINDEX INDEX t_k")) is None
    assert concurrent_detach(
        first('ALTER TABLE s.events DETACH PARTITION "Events_2020" CONCURRENTLY')
    ) == ('"s"."events"', '"Events_2020"')
    assert concurrent_detach(first("ALTER TABLE events DETACH PARTITION events_2020")) is None


# ------------------------------------------------- a role that cannot create the ledger


async def test_a_role_that_cannot_create_the_ledger_gets_a_usage_error_saying_so(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL 15 gives PUBLIC no CREATE on schema public: the application's role running
    apply at startup got `InsufficientPrivilegeError: permission denied for schema public` from
    asyncpg (the API) — nothing said it was the ledger, nor what to grant."""
    await fetchval(
        postgres.dsn,
        "DO $$ BEGIN IF to_regrole('tg_round11_reader') IS NULL THEN "
        "CREATE ROLE tg_round11_reader LOGIN; END IF; END $$",
    )
    patches = tmp_path / "patches"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    reader = postgres.dsn_for(database.rsplit("/", 1)[1], "tg_round11_reader")
    with pytest.raises(PatchUsageError, match=r"tenantguard_patches.*GRANT CREATE ON SCHEMA"):
        await apply_patches(reader, patches)
    code = await asyncio.to_thread(
        main, ["patches", "apply", "--dsn", reader, "--dir", str(patches)]
    )
    assert code == 2 and "GRANT CREATE ON SCHEMA" in capsys.readouterr().err
    assert await fetchval(database, "SELECT to_regclass('t')") is None


# ------------------------------------------------- the database's statement_timeout


async def test_a_patch_cancelled_by_the_database_s_statement_timeout_says_where_it_comes_from(
    database: str, tmp_path: Path
) -> None:
    """`ALTER DATABASE … SET statement_timeout` (there for the application) cancels a long
    backfill: the error said 'canceling statement due to statement timeout' and nothing about
    which setting, its value, or how the patch can have its own."""
    name = database.rsplit("/", 1)[1]
    await fetchval(database, f"ALTER DATABASE {name} SET statement_timeout = '300ms'")
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_backfill.sql",
        "CREATE TABLE IF NOT EXISTS t (id int);\nINSERT INTO t SELECT 1 FROM pg_sleep(1);",
    )
    with pytest.raises(PatchError) as caught:
        await apply_patches(database, patches)
    message = str(caught.value)
    assert "0001_backfill.sql:2:" in message and "statement_timeout is 300ms" in message
    assert "SET LOCAL statement_timeout" in message
    assert await fetchval(database, "SELECT to_regclass('t')") is None
    write(
        patches,
        "0001_backfill.sql",
        "SET LOCAL statement_timeout = 0;\nCREATE TABLE IF NOT EXISTS t (id int);\n"
        "INSERT INTO t SELECT 1 FROM pg_sleep(1);",
    )
    assert (await apply_patches(database, patches)).applied == ["0001_backfill.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 1


# ------------------------------------------------- killed between a build and its ledger row


async def _killed_after_build(database: str, tmp_path: Path, built: str, patch: str) -> Path:
    """What a runner killed after its `CREATE INDEX CONCURRENTLY` finished and before it wrote
    the ledger row leaves: the index `built` (valid), no row for the patch `patch`."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_t.sql",
        "CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL, k int, email text);\n"
        "CREATE TABLE IF NOT EXISTS u (tenant_id bigint NOT NULL, k int);",
    )
    await apply_patches(database, patches)
    await fetchval(database, built)
    write(patches, "0002_t_k.sql", f"-- tenantguard: no-transaction\n{patch}")
    return patches


@pytest.mark.parametrize(
    ("built", "patch"),
    [
        (
            "CREATE INDEX t_k ON t (tenant_id, k)",
            "CREATE INDEX CONCURRENTLY t_k ON t (tenant_id, k);",
        ),
        (
            "CREATE UNIQUE INDEX t_k ON public.t USING btree (tenant_id, k DESC) WHERE k > 0",
            "create unique index concurrently t_k on t (tenant_id, k desc) where k > 0;",
        ),
    ],
    ids=["plain", "unique, partial, ordered"],
)
async def test_a_runner_killed_between_a_concurrent_build_and_its_ledger_row_recovers(
    database: str, tmp_path: Path, built: str, patch: str
) -> None:
    """The index the patch builds is there, valid and of the patch's definition: the next run
    records the patch without building it again (before: every later run failed on 'already
    exists', the pipeline stuck)."""
    patches = await _killed_after_build(database, tmp_path, built, patch)
    oid = await fetchval(database, "SELECT 't_k'::regclass::oid")
    assert (await apply_patches(database, patches)).applied == ["0002_t_k.sql"]
    assert await ledger_names(database) == ["0001_t.sql", "0002_t_k.sql"]
    assert await fetchval(database, "SELECT 't_k'::regclass::oid") == oid  # not rebuilt
    assert (await apply_patches(database, patches)).applied == []


@pytest.mark.parametrize(
    "built",
    [
        "CREATE INDEX t_k ON t (k)",  # without the tenant column
        "CREATE UNIQUE INDEX t_k ON t (tenant_id, k)",  # unique where the patch's is not
        "CREATE INDEX t_k ON t (tenant_id, k) WHERE k > 0",  # partial
        "CREATE INDEX t_k ON t USING hash (k)",  # another access method
        "CREATE INDEX t_k ON u (tenant_id, k)",  # on another table
        "CREATE INDEX t_k ON t (tenant_id, lower(email))",  # an expression
    ],
)
async def test_an_index_of_the_patchs_name_and_another_definition_is_refused(
    database: str, tmp_path: Path, built: str
) -> None:
    """The same name, another index (made by hand, or by an earlier version of the patch):
    the run stops at that patch with both definitions and what to do, and records nothing —
    it is not taken as the patch's own."""
    patches = await _killed_after_build(
        database, tmp_path, built, "CREATE INDEX CONCURRENTLY t_k ON t (tenant_id, k);"
    )
    with pytest.raises(PatchError) as raised:
        await apply_patches(database, patches)
    message = str(raised.value)
    assert "0002_t_k.sql" in message and "t_k" in message
    assert "DROP INDEX CONCURRENTLY" in message
    assert await ledger_names(database) == ["0001_t.sql"]
    definition = await fetchval(database, "SELECT pg_get_indexdef('t_k'::regclass)")
    assert str(definition).replace("public.", "") in message.replace("public.", "")


async def test_an_invalid_index_of_the_patchs_name_is_still_rebuilt(
    database: str, tmp_path: Path
) -> None:
    """The recovery above takes valid indexes only: an INVALID one (the build itself was cut
    short) is dropped and built again, as before."""
    patches = await _killed_after_build(
        database,
        tmp_path,
        "CREATE INDEX t_k ON t (tenant_id, k)",
        "CREATE INDEX CONCURRENTLY t_k ON t (tenant_id, k);",
    )
    await fetchval(
        database,
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 't_k'::regclass",
    )
    assert (await apply_patches(database, patches)).applied == ["0002_t_k.sql"]
    assert await fetchval(
        database, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_k'::regclass"
    )
