"""Issue 13: the patch runner under faults, on a real PostgreSQL (concurrent where the fault is).

Each test names the failure of the fault-injection pass it reproduces.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.files import PatchError, PatchLockError, read_patches
from tenantguard.patches.locking import LOCK_KEY
from tenantguard.patches.runner import LEDGER, apply_patches
from tests.conftest import cluster_directory

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


async def fetchval(dsn: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def ledger_names(dsn: str) -> list[str]:
    names = await fetchval(
        dsn, f"SELECT coalesce(array_agg(name ORDER BY number), '{{}}') FROM {LEDGER}"
    )
    return list(names)  # type: ignore[call-overload]


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def wait_for_query(dsn: str, fragment: str, timeout: float = 20) -> int:
    """The pid of the backend running a query that contains `fragment` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = await fetchval(
            dsn,
            "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 "
            "AND pid <> pg_backend_pid() LIMIT 1",
            f"%{fragment}%",
        )
        if pid:
            return int(pid)  # type: ignore[call-overload]
        await asyncio.sleep(0.05)
    pytest.fail(f"no backend ever ran {fragment!r}")


# ---------------------------------------------------------------- 1. invalid concurrent indexes


async def test_failed_concurrent_index_is_rebuilt_by_the_next_run(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_codes.sql",
        """
        CREATE TABLE IF NOT EXISTS codes (tenant_id bigint NOT NULL, code text NOT NULL);
        INSERT INTO codes SELECT 1, 'A' WHERE NOT EXISTS (SELECT 1 FROM codes);
        INSERT INTO codes SELECT 1, 'A' WHERE (SELECT count(*) FROM codes) = 1;
        """,
    )
    write(
        patches,
        "0002_codes_unique.sql",
        """
        -- tenantguard: no-transaction
        CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS codes_key ON codes (tenant_id, code);
        """,
    )
    with pytest.raises(PatchError, match=r"0002_codes_unique\.sql:2:1: .*UniqueViolationError"):
        await apply_patches(database, patches)
    valid = "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('codes_key')"
    assert await fetchval(database, valid) is False  # what a failed build leaves behind
    assert await ledger_names(database) == ["0001_codes.sql"]
    assert await cli("patches", "status", "--dsn", database, "--dir", str(patches)) == 1
    assert 'INVALID   index "public"."codes_key" on codes (built by 0002_codes_unique.sql' in (
        capsys.readouterr().out
    )
    # the duplicate is still there: the next run drops the invalid index and fails again
    with pytest.raises(PatchError, match="UniqueViolationError"):
        await apply_patches(database, patches)
    await fetchval(database, "DELETE FROM codes WHERE ctid = (SELECT max(ctid) FROM codes)")
    run = await apply_patches(database, patches)
    assert run.applied == ["0002_codes_unique.sql"]
    assert await fetchval(database, valid) is True
    with pytest.raises(asyncpg.UniqueViolationError):
        await fetchval(database, "INSERT INTO codes VALUES (1, 'A')")
    assert await fetchval(database, "SELECT count(*) FROM codes") == 1


async def test_killed_concurrent_index_build_is_rebuilt_by_the_next_run(
    database: str, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL, x int);")
    await apply_patches(database, patches)
    write(
        patches,
        "0002_t_idx.sql",
        """
        -- tenantguard: no-transaction
        CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (tenant_id, x);
        """,
    )
    # a repeatable-read transaction holds a snapshot: the build waits for it (phase 3)
    reader = await asyncpg.connect(database)
    snapshot = reader.transaction(isolation="repeatable_read")
    await snapshot.start()
    await reader.fetchval("SELECT count(*) FROM t")
    script = (
        "import asyncio\nfrom tenantguard.patches.runner import apply_patches\n"
        f"asyncio.run(apply_patches({database!r}, {str(patches)!r}, ddl_lock_timeout=None))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        await wait_for_query(database, "CREATE INDEX CONCURRENTLY")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    valid = "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('t_x_idx')"
    deadline = time.monotonic() + 15  # the backend notices its client is gone within a second
    while await fetchval(
        database, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONC%'"
    ):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    await snapshot.rollback()
    await reader.close()
    assert await fetchval(database, valid) is False
    run = await apply_patches(database, patches)
    assert run.applied == ["0002_t_idx.sql"]
    assert await fetchval(database, valid) is True
    assert await fetchval(database, "SELECT count(*) FROM pg_indexes WHERE tablename = 't'") == 1


async def test_an_applied_patch_whose_index_is_invalid_is_rebuilt(
    database: str, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL, x int);")
    write(
        patches,
        "0002_t_idx.sql",
        "-- tenantguard: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (tenant_id, x);\n",
    )
    await apply_patches(database, patches)
    # what an older runner left: the patch recorded, its index invalid
    await fetchval(
        database, "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 't_x_idx'::regclass"
    )
    run = await apply_patches(database, patches)
    assert run.applied == [] and run.rebuilt == ['"public"."t_x_idx"']
    assert await fetchval(
        database, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass"
    )
    assert (await apply_patches(database, patches)).rebuilt == []


# ---------------------------------------------------------------- 2. transaction control


@pytest.mark.parametrize(
    ("statement", "word"),
    [
        ("COMMIT;", "COMMIT"),
        ("BEGIN;", "BEGIN"),
        ("START TRANSACTION;", "START TRANSACTION"),
        ("ROLLBACK;", "ROLLBACK"),
        ("end;", "COMMIT"),
        ("SAVEPOINT s;", "SAVEPOINT"),
    ],
)
async def test_transaction_control_in_a_transactional_patch_is_refused_before_it_runs(
    database: str, tmp_path: Path, statement: str, word: str
) -> None:
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_half.sql",
        f"""
        CREATE TABLE IF NOT EXISTS first_half (id int);
        {statement}
        CREATE TABLE IF NOT EXISTS second_half (id int);
        SELECT 1 / 0;
        """,
    )
    with pytest.raises(PatchError, match=rf"0001_half\.sql:2:1: {word} in a transactional patch"):
        await apply_patches(database, patches)
    assert await fetchval(database, "SELECT to_regclass('first_half')") is None
    assert await fetchval(database, "SELECT to_regclass('second_half')") is None
    assert await ledger_names(database) == []


async def test_a_begin_atomic_function_body_is_not_transaction_control(
    database: str, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_f.sql",
        """
        CREATE OR REPLACE FUNCTION two() RETURNS int LANGUAGE sql
        BEGIN ATOMIC
            SELECT 1;
            SELECT 2;
        END;
        CREATE TABLE IF NOT EXISTS after_f (id int);
        """,
    )
    assert (await apply_patches(database, patches)).applied == ["0001_f.sql"]
    assert await fetchval(database, "SELECT two()") == 2


# ---------------------------------------------------------------- 3. session state between patches


async def test_each_patch_starts_from_a_clean_session(database: str, tmp_path: Path) -> None:
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_staging.sql",
        """
        CREATE SCHEMA IF NOT EXISTS staging;
        SET search_path = staging, public;
        CREATE TABLE IF NOT EXISTS s1 (id int);
        SET statement_timeout = '10ms';
        CREATE TEMP TABLE scratch (id int);
        """,
    )
    write(
        patches, "0002_plain.sql", "CREATE TABLE IF NOT EXISTS p2 (id int);\nSELECT pg_sleep(0.05);"
    )
    write(
        patches,
        "0003_only_staging.sql",
        "SET search_path = staging;\nCREATE TABLE IF NOT EXISTS s3 (id int);",
    )
    write(
        patches,
        "0004_plain.sql",
        "CREATE TABLE IF NOT EXISTS p4 (id int);\nCREATE TEMP TABLE scratch (id int);",
    )
    run = await apply_patches(database, patches)
    assert run.applied == [p.name for p in read_patches(patches)]
    where = "SELECT relnamespace::regnamespace::text FROM pg_class WHERE relname = $1 AND relpersistence = 'p'"
    assert [await fetchval(database, where, t) for t in ("s1", "p2", "s3", "p4")] == [
        "staging",
        "public",
        "staging",
        "public",
    ]
    assert await fetchval(database, f"SELECT count(*) FROM public.{LEDGER}") == 4


async def test_session_role_is_reset_between_patches(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    role = f"tg_patch_role_{os.getpid()}"
    await fetchval(postgres.dsn, f"CREATE ROLE {role}")
    try:
        patches = tmp_path / "patches"
        write(patches, "0001_role.sql", f"SET ROLE {role};\nSELECT 1;")
        write(patches, "0002_table.sql", "CREATE TABLE IF NOT EXISTS owned (id int);")
        await apply_patches(database, patches)
        owner = "SELECT relowner::regrole::text FROM pg_class WHERE relname = 'owned'"
        assert await fetchval(database, owner) == "postgres"
    finally:
        await fetchval(postgres.dsn, f"DROP ROLE {role}")


# ---------------------------------------------------------------- 4. renamed and renumbered patches


async def test_a_renamed_or_renumbered_applied_patch_is_recorded_not_run(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patches = tmp_path / "patches"
    seed = write(
        patches,
        "0001_seed.sql",
        """
        CREATE TABLE IF NOT EXISTS clinics (id serial PRIMARY KEY, name text NOT NULL);
        INSERT INTO clinics (name) VALUES ('Seed clinic');
        """,
    )
    await apply_patches(database, patches)
    renamed = seed.rename(patches / "0001_seed_clinic.sql")
    assert await cli("patches", "status", "--dsn", database, "--dir", str(patches)) == 0
    assert "renamed   0001_seed_clinic.sql (applied as 0001_seed.sql, same checksum" in (
        capsys.readouterr().out
    )
    run = await apply_patches(database, patches)
    assert run.applied == [] and run.renamed == [("0001_seed.sql", "0001_seed_clinic.sql")]
    renamed.rename(patches / "0007_seed_clinic.sql")
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(patches)) == 0
    assert "renamed      0001_seed_clinic.sql -> 0007_seed_clinic.sql" in capsys.readouterr().out
    assert await fetchval(database, "SELECT count(*) FROM clinics") == 1
    assert await ledger_names(database) == ["0007_seed_clinic.sql"]
    assert await fetchval(database, f"SELECT number FROM {LEDGER}") == 7


# ---------------------------------------------------------------- 5. the runner's own lock_timeout


async def test_ddl_behind_an_idle_transaction_gives_up_naming_table_and_backend(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_patients.sql",
        "CREATE TABLE IF NOT EXISTS patients (tenant_id bigint NOT NULL, id int);",
    )
    await apply_patches(database, patches)
    write(patches, "0002_notes.sql", "ALTER TABLE patients ADD COLUMN IF NOT EXISTS notes text;")
    app = await asyncpg.connect(database, server_settings={"application_name": "crm-api"})
    try:
        await app.execute("BEGIN")
        await app.fetchval("SELECT count(*) FROM patients")  # then idle in transaction
        with pytest.raises(PatchLockError) as failure:  # not a wait without end (hang guard)
            await asyncio.wait_for(
                apply_patches(database, patches, ddl_lock_timeout=0.2, ddl_lock_retries=1), 60
            )
        message = str(failure.value)
        assert "0002_notes.sql:1:1: patch 0002_notes.sql could not lock patients" in message
        assert f"pid {app.get_server_pid()} (application_name 'crm-api'" in message
        assert "AccessShareLock on patients" in message and "idle in transaction" in message
        assert failure.value.exit_code == 2
        assert await cli(
            "patches", "apply", "--dsn", database, "--dir", str(patches),
            "--lock-timeout", "0.1", "--lock-retries", "0",
        ) == 2  # fmt: skip
        assert "'crm-api'" in capsys.readouterr().err
        assert (
            await fetchval(
                database,
                "SELECT count(*) FROM information_schema.columns WHERE column_name = 'notes'",
            )
            == 0
        )
    finally:
        await app.close()
    assert await ledger_names(database) == ["0001_patients.sql"]


async def test_the_application_is_not_queued_behind_waiting_ddl_and_the_retry_succeeds(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_patients.sql",
        "CREATE TABLE IF NOT EXISTS patients (tenant_id bigint NOT NULL, id int);",
    )
    await apply_patches(database, patches)
    write(patches, "0002_notes.sql", "ALTER TABLE patients ADD COLUMN IF NOT EXISTS notes text;")
    idle = await asyncpg.connect(database)
    other = await asyncpg.connect(database)
    caplog.set_level(logging.WARNING, "tenantguard")
    try:
        await idle.execute("BEGIN")
        await idle.fetchval("SELECT count(*) FROM patients")
        runner = asyncio.create_task(
            apply_patches(database, patches, ddl_lock_timeout=0.3, ddl_lock_retries=20)
        )
        for _ in range(6):  # while the runner waits and retries, the application reads on
            await asyncio.wait_for(other.fetchval("SELECT count(*) FROM patients"), timeout=5)
            await asyncio.sleep(0.2)
        assert not runner.done()
        await idle.execute("COMMIT")
        run = await asyncio.wait_for(runner, timeout=30)
    finally:
        await idle.close()
        await other.close()
    assert run.applied == ["0002_notes.sql"]
    assert any(
        "could not lock patients" in r.getMessage() and "retrying" in r.getMessage()
        for r in caplog.records
    )
    assert (
        await fetchval(
            database, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'notes'"
        )
        == 1
    )


# ---------------------------------------------------------------- 6, 7. waiting for the patch lock


async def test_a_waiting_replica_survives_database_lock_and_statement_timeouts(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    name = database.rsplit("/", 1)[1]
    await fetchval(postgres.dsn, f"ALTER DATABASE {name} SET lock_timeout = '100ms'")
    await fetchval(postgres.dsn, f"ALTER DATABASE {name} SET statement_timeout = '300ms'")
    holder = await asyncpg.connect(database)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        replica = asyncio.create_task(apply_patches(database, patches))
        await asyncio.sleep(1.2)  # four statement timeouts, twelve lock timeouts
        assert not replica.done()
        await holder.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        run = await asyncio.wait_for(replica, timeout=10)
    finally:
        await holder.close()
    assert run.applied == ["0001_t.sql"]


async def test_a_waiter_names_the_lock_holder_and_lock_wait_bounds_the_wait(
    database: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    patches = tmp_path / "patches"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    holder = await asyncpg.connect(database, server_settings={"application_name": "stuck-runner"})
    caplog.set_level(logging.WARNING, "tenantguard")
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        pid = holder.get_server_pid()
        started = time.monotonic()
        with pytest.raises(PatchLockError) as failure:
            await apply_patches(database, patches, lock_wait=0.8, report_every=0.2)
        assert time.monotonic() - started < 10  # bounded: it did not wait forever
        assert f"pid {pid} (application_name 'stuck-runner', idle" in str(failure.value)
        waits = [
            r.getMessage() for r in caplog.records if "waiting for the patch lock" in r.getMessage()
        ]
        assert len(waits) >= 2 and all(f"pid {pid}" in w for w in waits)
        assert (
            await cli(
                "patches", "apply", "--dsn", database, "--dir", str(patches), "--lock-wait", "0.3"
            )
            == 2
        )
        captured = capsys.readouterr()
        assert "warning: waiting for the patch lock" in captured.out
        assert "gave up waiting for the patch lock" in captured.err
    finally:
        await holder.close()
    assert await fetchval(database, "SELECT to_regclass('t')") is None


# ---------------------------------------------------------------- silent or wrong


async def test_an_applied_patch_whose_file_is_gone_is_reported(
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    patches = tmp_path / "patches"
    write(patches, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);")
    gone = write(patches, "0002_b.sql", "CREATE TABLE IF NOT EXISTS b (id int);")
    await apply_patches(database, patches)
    gone.unlink()
    assert await cli("patches", "status", "--dsn", database, "--dir", str(patches)) == 1
    out = capsys.readouterr().out
    assert "MISSING   0002_b.sql (applied " in out and "1 applied, 0 pending, 1 missing" in out
    caplog.set_level(logging.WARNING, "tenantguard")
    run = await apply_patches(database, patches)
    assert run.missing == ["0002_b.sql"]
    assert any("0002_b.sql was applied on" in r.getMessage() for r in caplog.records)
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(patches)) == 0
    assert "warning: patch 0002_b.sql was applied on" in capsys.readouterr().out


async def test_a_new_patch_below_the_highest_applied_is_refused_unless_allowed(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patches = tmp_path / "patches"
    write(patches, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);")
    write(patches, "0005_e.sql", "CREATE TABLE IF NOT EXISTS e (id int);")
    await apply_patches(database, patches)
    write(patches, "0003_c.sql", "CREATE TABLE IF NOT EXISTS c (id int);")
    write(patches, "0006_f.sql", "CREATE TABLE IF NOT EXISTS f (id int);")
    with pytest.raises(
        PatchError, match=r"0003_c\.sql: new patch 0003_c\.sql is numbered below 0005_e\.sql"
    ):
        await apply_patches(database, patches)
    assert await fetchval(database, "SELECT to_regclass('c')") is None
    assert await fetchval(database, "SELECT to_regclass('f')") is None  # nothing ran
    assert await cli("patches", "status", "--dsn", database, "--dir", str(patches)) == 1
    assert "pending   0003_c.sql (numbered below an applied patch" in capsys.readouterr().out
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(patches)) == 1
    assert await cli(
        "patches", "apply", "--dsn", database, "--dir", str(patches), "--allow-out-of-order"
    ) == 0  # fmt: skip
    assert await ledger_names(database) == ["0001_a.sql", "0003_c.sql", "0005_e.sql", "0006_f.sql"]


def test_upper_case_sql_suffix_is_an_error_not_a_skip(tmp_path: Path) -> None:
    write(tmp_path, "0001_a.sql", "SELECT 1;")
    write(tmp_path, "0042_x.SQL", "SELECT 1;")
    write(tmp_path, "notes.txt", "not a patch")
    write(tmp_path, ".#0001_a.sql", "an editor's lock file")
    with pytest.raises(PatchError, match=r"0042_x\.SQL: a patch file ends in lower-case \.sql"):
        read_patches(tmp_path)
    assert (
        main(["patches", "status", "--dsn", "postgresql://u@127.0.0.1:1/x", "--dir", str(tmp_path)])
        == 1
    )


def test_bom_is_accepted_and_nul_and_utf16_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "0001_bom.sql").write_bytes(b"\xef\xbb\xbfCREATE TABLE IF NOT EXISTS a (id int);\n")
    [patch] = read_patches(tmp_path)
    assert [s.text for s in patch.statements] == ["CREATE TABLE IF NOT EXISTS a (id int)"]
    (tmp_path / "0002_nul.sql").write_bytes(b"SELECT 1;\nSEL\x00ECT 2;\n")
    with pytest.raises(PatchError, match=r"0002_nul\.sql:2:4: a NUL character"):
        read_patches(tmp_path)
    (tmp_path / "0002_nul.sql").write_bytes("SELECT 1;".encode("utf-16"))
    with pytest.raises(PatchError, match=r"0002_nul\.sql: UTF-16 text .* save it as UTF-8"):
        read_patches(tmp_path)
    (tmp_path / "0002_nul.sql").write_bytes(b"SELECT 'caf\xe9';")
    with pytest.raises(PatchError, match=r"0002_nul\.sql:1:12: not UTF-8 text \(byte 0xe9\)"):
        read_patches(tmp_path)


async def test_a_patch_with_a_bom_applies(database: str, tmp_path: Path) -> None:
    (tmp_path / "0001_bom.sql").write_bytes(
        b"\xef\xbb\xbfCREATE TABLE IF NOT EXISTS bom (id int);\n"
    )
    assert (await apply_patches(database, tmp_path)).applied == ["0001_bom.sql"]


@pytest.mark.parametrize(
    "dsn",
    [
        "host=127.0.0.1 port=1 user=u password=hunter2 dbname=x",
        "host=127.0.0.1 port=1 user=u password='hunter 2' dbname=x",
        "postgresql://u@127.0.0.1:1/x?password=hunter2",
        "postgresql://u:hunter2@127.0.0.1:1/x",
        "postgresql://u:hunter2@127.0.0.1:99999/x",
    ],
)
def test_a_password_is_never_printed(
    dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "0001_a.sql", "SELECT 1;")
    for verb in ("status", "apply", "verify"):
        assert main(["patches", verb, "--dsn", dsn, "--dir", str(tmp_path)]) == 2
        captured = capsys.readouterr()
        shown = captured.out + captured.err
        assert "hunter" not in shown and "***" in shown, shown
        assert "internal error" not in shown


def test_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["patches", "status", "--dsn", "postgresql://u@127.0.0.1:99999/x"]) == 2
    assert "port 99999 is not a port number (1-65535)" in capsys.readouterr().err


def test_a_missing_patch_directory_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope"
    assert (
        main(["patches", "apply", "--dsn", "postgresql://u@127.0.0.1:1/x", "--dir", str(missing)])
        == 2
    )
    assert f"patch directory {missing} does not exist" in capsys.readouterr().err


async def test_a_keyword_dsn_connects(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);")
    name = database.rsplit("/", 1)[1]
    keywords = f"host=127.0.0.1 port={postgres.port} user=postgres dbname={name}"
    assert await cli("patches", "apply", "--dsn", keywords, "--dir", str(tmp_path)) == 0
    assert await ledger_names(database) == ["0001_a.sql"]


async def test_a_syntax_error_points_at_the_error_not_the_statement(
    database: str, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "0001_bad.sql",
        """
        CREATE TABLE IF NOT EXISTS a (id int);

        CREATE TABLE IF NOT EXISTS b (
            id int,
            name text
            note text
        );
        """,
    )
    with pytest.raises(
        PatchError,
        match=r'0001_bad\.sql:6:5: PostgreSQL cannot parse this: syntax error at or near "note"',
    ):
        await apply_patches(database, tmp_path)
    assert await fetchval(database, "SELECT to_regclass('a')") is None


async def test_a_server_error_points_at_postgresql_s_position(
    database: str, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "0001_bad.sql",
        """
        CREATE TABLE IF NOT EXISTS a (id int, name text);
        -- the rows for the report
        INSERT INTO a (id, name)
        SELECT id,
               nmae
        FROM a;
        """,
    )
    with pytest.raises(PatchError) as failure:
        await apply_patches(database, tmp_path)
    message = str(failure.value)
    assert (
        "0001_bad.sql:5:8: patch 0001_bad.sql failed and was rolled back: UndefinedColumnError"
        in message
    )
    assert 'HINT:  Perhaps you meant to reference the column "a.name"' in message


@pytest.fixture
def own_server() -> Iterator[ThrowawayPostgres]:
    """A cluster of its own, for a test that crashes it (commits reach the WAL before a crash)."""
    server = ThrowawayPostgres(directory=cluster_directory(), settings={"synchronous_commit": "on"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_a_server_crash_mid_patch_names_the_patch(
    own_server: ThrowawayPostgres, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patches = tmp_path / "patches"
    write(patches, "0001_ok.sql", "CREATE TABLE IF NOT EXISTS ok (id int);")
    write(
        patches, "0002_slow.sql", "CREATE TABLE IF NOT EXISTS half (id int);\nSELECT pg_sleep(30);"
    )
    dsn = own_server.dsn
    runner = asyncio.create_task(cli("patches", "apply", "--dsn", dsn, "--dir", str(patches)))
    backend = await wait_for_query(dsn, "pg_sleep(30)")
    os.kill(backend, signal.SIGKILL)  # the backend dies: the postmaster restarts every session
    assert await asyncio.wait_for(runner, timeout=30) == 2
    err = capsys.readouterr().err
    assert (
        "0002_slow.sql:2:1: the connection to the server was lost while patch 0002_slow.sql ran"
        in err
    )
    assert "nothing of it is recorded" in err and "Transaction.__aexit__" not in err
    assert "applied before the failure: 0001_ok.sql" in err
    write(patches, "0002_slow.sql", "CREATE TABLE IF NOT EXISTS half (id int);")
    deadline = time.monotonic() + 30
    while True:  # crash recovery
        try:
            run = await apply_patches(dsn, patches)
            break
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
    assert run.applied == ["0002_slow.sql"] and run.skipped == ["0001_ok.sql"]


# ---------------------------------------------------------------- progress


async def test_progress_is_logged_and_a_failure_lists_what_was_applied(
    database: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);")
    write(tmp_path, "0002_b.sql", "CREATE TABLE IF NOT EXISTS b (id int);")
    write(tmp_path, "0003_bad.sql", "INSERT INTO missing VALUES (1);")
    caplog.set_level(logging.INFO, "tenantguard")
    with pytest.raises(PatchError) as failure:
        await apply_patches(database, tmp_path)
    assert failure.value.applied == ["0001_a.sql", "0002_b.sql"]
    messages = [(r.name, r.getMessage()) for r in caplog.records]
    assert ("tenantguard.patches.runner", "applying     0001_a.sql") in messages
    assert any(
        m.startswith("applied      0002_b.sql in ") and m.endswith(" ms") for _, m in messages
    )
    assert ("tenantguard.patches.runner", "applying     0003_bad.sql") in messages
    await fetchval(database, f"DROP TABLE {LEDGER}, a, b")
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(tmp_path)) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "applying     0001_a.sql" and lines[1].startswith(
        "applied      0001_a.sql in "
    )
    assert lines[-1] == "applying     0003_bad.sql"
    assert "0003_bad.sql:1:13: patch 0003_bad.sql failed and was rolled back" in captured.err
    assert "applied before the failure: 0001_a.sql, 0002_b.sql" in captured.err


async def test_the_ledger_is_found_where_it_is_when_the_search_path_changes(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    write(
        tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\nINSERT INTO a VALUES (1);"
    )
    await apply_patches(database, tmp_path)
    name = database.rsplit("/", 1)[1]
    await fetchval(database, "CREATE SCHEMA app")
    await fetchval(postgres.dsn, f"ALTER DATABASE {name} SET search_path = app, public")
    run = await apply_patches(database, tmp_path)
    assert run.applied == [] and run.skipped == ["0001_a.sql"]
    assert await fetchval(database, "SELECT count(*) FROM public.a") == 1
    assert await fetchval(database, "SELECT to_regclass('app.tenantguard_patches')") is None


async def test_a_connection_inside_a_transaction_is_refused(database: str, tmp_path: Path) -> None:
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);")
    conn = await asyncpg.connect(database)
    try:
        async with conn.transaction():
            with pytest.raises(PatchError, match="outside a transaction"):
                await apply_patches(conn, tmp_path)
        assert (await apply_patches(conn, tmp_path)).applied == ["0001_a.sql"]
    finally:
        await conn.close()
