"""Round 32: the patch pipeline under fault injection (helper h32e), on a real server. Each test
names what the database was left as, or what the user saw, before the fix.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import cli, fetchval, ledger_names, wait_for_query, write

_SWALLOWING_FUNCTION = """
CREATE OR REPLACE FUNCTION add_b() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    ALTER TABLE a ADD COLUMN b int;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'already there';
END $$;
SELECT add_b();
"""


async def _ledger(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn, server_settings={"statement_timeout": "0"})
    try:
        return list(
            await conn.fetchval("SELECT array_agg(name ORDER BY number) FROM tenantguard_patches")
        )
    finally:
        await conn.close()


async def _column_b(dsn: str) -> object:
    return await fetchval(
        dsn, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'a'::regclass AND attname = 'b'"
    )


@pytest.mark.parametrize(
    "call",
    ["SELECT add_b();", "DO $$ BEGIN PERFORM add_b(); END $$;", "SELECT public.add_b();"],
)
async def test_a_function_the_patch_creates_and_calls_may_not_swallow_the_lock_timeout(
    database: str, tmp_path: Path, call: str
) -> None:
    """The refusal of `EXCEPTION WHEN OTHERS` read DO blocks only: the same handler in a
    function the patch creates and then calls caught the runner's lock_timeout while the
    application held the table — applied, recorded, exit 0, and column b never made."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_f.sql", _SWALLOWING_FUNCTION.replace("SELECT add_b();", call))
    holder = await asyncpg.connect(database)
    try:
        await holder.execute("BEGIN; LOCK TABLE a")  # the application, in a long transaction
        with pytest.raises(PatchError) as refused:
            await apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=0)
    finally:
        await holder.close()
    said = str(refused.value)
    assert "0002_f.sql:4:11" in said and "add_b" in said and "WHEN others" in said
    assert await ledger_names(database) == ["0001_a.sql"]
    assert await _column_b(database) == 0
    # the lint says it too
    assert await cli("patches", "lint", str(tmp_path / "0002_f.sql")) == 1


async def test_a_function_that_names_its_conditions_or_is_not_called_is_applied(
    database: str, tmp_path: Path
) -> None:
    """Safe twins: a handler naming the condition it expects; a function with WHEN OTHERS the
    patch does not call (a trigger's, the application's)."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    write(
        tmp_path,
        "0002_f.sql",
        _SWALLOWING_FUNCTION.replace("WHEN OTHERS", "WHEN duplicate_column"),
    )
    write(
        tmp_path,
        "0003_g.sql",
        _SWALLOWING_FUNCTION.replace("add_b", "later_b").replace("SELECT later_b();", ""),
    )
    await apply_patches(database, tmp_path)
    write(tmp_path, "0004_h.sql", "CREATE TABLE IF NOT EXISTS h (id int);\n")
    await apply_patches(database, tmp_path)
    assert await ledger_names(database) == ["0001_a.sql", "0002_f.sql", "0003_g.sql", "0004_h.sql"]
    assert await _column_b(database) == 1


# what `patches apply` refuses before anything runs, and `patches lint` said nothing of
_REFUSED_BY_APPLY = {
    "do_when_others": (
        "CREATE TABLE IF NOT EXISTS a (id int);\n"
        "DO $$\nBEGIN\n    ALTER TABLE a ADD COLUMN b int;\n"
        "EXCEPTION WHEN OTHERS THEN\n    RAISE NOTICE 'there';\nEND $$;\n",
        "5:",
    ),
    "copy_from_stdin": ("CREATE TABLE IF NOT EXISTS a (id int);\nCOPY a FROM STDIN;\n", "2:1"),
    "blank": ("\n\n   \n", ""),
    "detach_concurrently": (
        "CREATE TABLE IF NOT EXISTS a (id int) PARTITION BY RANGE (id);\n"
        "ALTER TABLE a DETACH PARTITION a1 CONCURRENTLY;\n",
        "2:1",
    ),
}


@pytest.mark.parametrize("case", sorted(_REFUSED_BY_APPLY))
async def test_lint_fails_every_patch_apply_refuses(
    database: str, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`patches lint` passed (exit 0) patches that `patches apply` refuses before any runs."""
    text, where = _REFUSED_BY_APPLY[case]
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    await apply_patches(database, tmp_path)  # a database with a ledger: the application's
    (tmp_path / "0002_x.sql").write_text(text, encoding="utf-8")
    dsn = database
    assert await cli("patches", "apply", "--dsn", dsn, "--dir", str(tmp_path)) == 1
    applied = capsys.readouterr().err
    assert "Traceback" not in applied and "0002_x.sql" in applied
    assert await ledger_names(database) == ["0001_a.sql"]
    assert await cli("patches", "lint", "--no-cache", str(tmp_path / "0002_x.sql")) == 1
    linted = capsys.readouterr().out
    assert f"0002_x.sql:{where}" in linted


async def test_a_database_statement_timeout_does_not_cancel_the_runner_s_own_queries(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A patch's `ALTER DATABASE … SET statement_timeout = '1ms'` (or a DBA's): every later
    `apply` and `status` ended in 'tenantguard: error: database …: QueryCanceledError:
    canceling statement due to statement timeout' (exit 2), on the runner's own reads of the
    ledger, before any patch ran. The runner's own queries run without it; a patch keeps it
    (and is told where it comes from)."""
    name = await fetchval(database, "SELECT current_database()")
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    write(tmp_path, "0002_t.sql", f"ALTER DATABASE {name} SET statement_timeout = '1ms';\n")
    await apply_patches(database, tmp_path)
    try:
        assert await cli("patches", "status", "--dsn", database, "--dir", str(tmp_path)) == 0
        write(tmp_path, "0003_c.sql", "SELECT 1;\n")  # (well within 1 ms)
        assert await cli("patches", "apply", "--dsn", database, "--dir", str(tmp_path)) == 0
        assert "QueryCanceledError" not in capsys.readouterr().err
        assert await _ledger(database) == ["0001_a.sql", "0002_t.sql", "0003_c.sql"]
        # a patch still runs under it: cancelled, rolled back, told where it comes from
        write(tmp_path, "0004_slow.sql", "SELECT pg_sleep(0.2);\n")
        assert await cli("patches", "apply", "--dsn", database, "--dir", str(tmp_path)) == 1
        said = capsys.readouterr().err
        assert "0004_slow.sql:1:1" in said and "statement_timeout" in said
        assert "Traceback" not in said and "set by the database" in said
        assert await _ledger(database) == ["0001_a.sql", "0002_t.sql", "0003_c.sql"]
    finally:
        admin = await asyncpg.connect(database, server_settings={"statement_timeout": "0"})
        try:
            await admin.execute(f"ALTER DATABASE {name} RESET statement_timeout")
        finally:
            await admin.close()


@pytest.mark.parametrize(
    ("names", "refused"),
    [
        (("0001_a.sql", "0001_b.sql"), "patch number 1 is also used by"),
        (("0001_a.sql", "0002_b.SQL"), "lower-case .sql"),
        (("0001_a.sql", "02-b.sql"), "NNNN_description.sql"),
        (("0001_a.sql", "99999999999_b.sql"), "too big"),
    ],
)
async def test_lint_fails_a_patch_name_apply_refuses(
    database: str,
    tmp_path: Path,
    names: tuple[str, str],
    refused: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`patches lint DIR` passed (exit 0) a directory `patches apply` refuses to read: two
    patches of one number, `.SQL`, a name not `NNNN_description.sql`, a number the ledger's
    integer cannot hold."""
    for name in names:
        write(tmp_path, name, "CREATE TABLE IF NOT EXISTS a (id int);\n")
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(tmp_path)) == 1
    assert refused in capsys.readouterr().err
    assert await fetchval(database, "SELECT to_regclass('a') IS NULL") is True
    assert await cli("patches", "lint", "--no-cache", str(tmp_path)) == 1
    linted = capsys.readouterr().out
    assert "TG109" in linted and refused in linted


def test_lint_passes_distinct_numbers_with_gaps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Safe twin: gaps in the numbering, and a file that is not a patch beside them."""
    for name in ("0001_a.sql", "0007_b.sql", "0100_c.sql"):
        write(tmp_path, name, "COMMENT ON SCHEMA public IS 'x';\n")
    write(tmp_path, "README.md", "notes\n")
    from tenantguard.cli import main

    assert main(["patches", "lint", "--no-cache", str(tmp_path)]) == 0, capsys.readouterr().out


_HELPER = """
CREATE OR REPLACE FUNCTION add_col(t text, c text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %I ADD COLUMN %I int', t, c);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'already there';
END $$;
"""


@pytest.mark.parametrize(
    "call",
    [
        "SELECT add_col('a', 'b');",
        "-- the helper of 0002\nDO $$ BEGIN PERFORM public.add_col('a', 'b'); END $$;",
    ],
)
async def test_a_patch_calling_an_earlier_patch_s_swallowing_function_is_refused(
    database: str, tmp_path: Path, call: str
) -> None:
    """A helper made by an earlier patch (applied: its WHEN OTHERS never ran in the patch that
    made it) and called by a new one caught the runner's lock_timeout while the application
    held the table: 0003 applied, recorded, exit 0, column b never made. The runner reads the
    body of each PL/pgSQL function a pending patch calls, as the database holds it."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    write(tmp_path, "0002_helper.sql", _HELPER)
    await apply_patches(database, tmp_path)
    write(tmp_path, "0003_use.sql", call)
    # `status` says it too (exit 1), as it does of the patches apply refuses
    assert await cli("patches", "status", "--dsn", database, "--dir", str(tmp_path)) == 1
    holder = await asyncpg.connect(database)
    try:
        await holder.execute("BEGIN; LOCK TABLE a")
        with pytest.raises(PatchError) as refused:
            await apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=0)
    finally:
        await holder.close()
    said = str(refused.value)
    assert "0003_use.sql:" in said and "add_col" in said and "WHEN others" in said
    assert await ledger_names(database) == ["0001_a.sql", "0002_helper.sql"]
    assert await _column_b(database) == 0


async def test_a_patch_that_replaces_the_swallowing_function_before_calling_it_runs(
    database: str, tmp_path: Path
) -> None:
    """Safe twin: the patch replaces the helper by one that names its condition, then calls
    it (the database's old body never runs); and a patch that calls no helper."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    write(tmp_path, "0002_helper.sql", _HELPER)
    await apply_patches(database, tmp_path)
    write(
        tmp_path,
        "0003_use.sql",
        _HELPER.replace("WHEN OTHERS", "WHEN duplicate_column") + "SELECT add_col('a', 'b');\n",
    )
    write(tmp_path, "0004_other.sql", "SELECT count(*) FROM a;\n")
    await apply_patches(database, tmp_path)
    assert await _column_b(database) == 1


async def test_a_database_idle_in_transaction_timeout_does_not_end_the_runner_s_session(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ALTER DATABASE … SET idle_in_transaction_session_timeout = '1ms'` (there for the
    application's leaked transactions) ended the runner's session between two statements of a
    patch: 'the connection to the server was lost … Run apply again when the server is back'
    (exit 2) — the server never went, and every run failed the same way. The runner raises it
    to 5 s for its own session (not off: a runner cut off by the network must not hold a
    patch's locks); the application's sessions keep theirs."""
    name = await fetchval(database, "SELECT current_database()")
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    await apply_patches(database, tmp_path)
    body = "".join(
        f"CREATE TABLE IF NOT EXISTS t{i} (id int);\nINSERT INTO a SELECT {i} "
        f"WHERE NOT EXISTS (SELECT 1 FROM a WHERE id = {i});\n"
        for i in range(40)
    )
    write(tmp_path, "0002_many.sql", body)
    setting = "idle_in_transaction_session_timeout"
    await fetchval(database, f"ALTER DATABASE {name} SET {setting} = '1ms'")
    try:
        assert await cli("patches", "apply", "--dsn", database, "--dir", str(tmp_path)) == 0
        assert "connection to the server was lost" not in capsys.readouterr().err
        assert await ledger_names(database) == ["0001_a.sql", "0002_many.sql"]
        assert await fetchval(database, "SELECT count(*) FROM a") == 40
        assert await fetchval(database, f"SHOW {setting}") == "1ms"  # the application's
    finally:
        await fetchval(database, f"ALTER DATABASE {name} RESET {setting}")


async def test_a_table_named_as_a_swallowing_function_is_no_call(
    database: str, tmp_path: Path
) -> None:
    """Safe twin of the refusal of calls: an audit trigger's function named as its table (and
    swallowing errors so as never to break a write); a patch that writes `INSERT INTO
    audit_log (…)` or creates `audit_log (…)` calls no function."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS audit_log (id int, what text);\n")
    write(
        tmp_path,
        "0002_fn.sql",
        """
        CREATE OR REPLACE FUNCTION audit_log() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO audit_log (what) VALUES (TG_OP);
            RETURN NEW;
        EXCEPTION WHEN OTHERS THEN
            RETURN NEW;
        END $$;
        """,
    )
    await apply_patches(database, tmp_path)
    write(
        tmp_path,
        "0003_seed.sql",
        "CREATE TABLE IF NOT EXISTS audit_log (id int, what text);\n"
        "INSERT INTO audit_log (id, what) SELECT 1, 'x' WHERE NOT EXISTS (SELECT 1 FROM audit_log);\n",
    )
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=0)
    assert run.applied == ["0003_seed.sql"]


_RETURNING = """
CREATE OR REPLACE FUNCTION add_b() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    ALTER TABLE a ADD COLUMN b int;
    RETURN 1;
EXCEPTION WHEN OTHERS THEN
    RETURN 0;
END $$;
"""


@pytest.mark.parametrize("where", ["same patch", "earlier patch"])
async def test_a_swallowing_function_that_returns_a_value_is_read(
    database: str, tmp_path: Path, where: str
) -> None:
    """Function bodies were read as DO blocks', which refuse `RETURN 1`: unreadable, a
    function returning a value was taken for one without handlers — `SELECT add_b();` of an
    `int` function with `WHEN OTHERS THEN RETURN 0` was applied and recorded, column b never
    made. They are read as their CREATE FUNCTION declares them."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    if where == "earlier patch":
        write(tmp_path, "0002_fn.sql", _RETURNING)
        write(tmp_path, "0003_use.sql", "SELECT add_b();\n")
    else:
        write(tmp_path, "0002_x.sql", "SELECT 1;\n")
        write(tmp_path, "0003_use.sql", _RETURNING + "SELECT add_b();\n")
    (tmp_path / "0003_use.sql").rename(tmp_path / "use.later")
    await apply_patches(database, tmp_path)
    (tmp_path / "use.later").rename(tmp_path / "0003_use.sql")
    holder = await asyncpg.connect(database)
    try:
        await holder.execute("BEGIN; LOCK TABLE a")
        with pytest.raises(PatchError) as refused:
            await apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=0)
    finally:
        await holder.close()
    assert "0003_use.sql:" in str(refused.value) and "WHEN others" in str(refused.value)
    assert "0003_use.sql" not in await ledger_names(database)
    assert await _column_b(database) == 0


async def test_verify_reads_the_role_change_in_a_function_that_returns_a_value(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """verify refuses to run a patch that acts beyond its database (round 22) — reading the
    bodies of the functions a patch creates as DO blocks, which refuse `RETURN 1`: `CREATE
    FUNCTION retire() RETURNS int … ALTER ROLE r NOLOGIN; RETURN 1; …` then `SELECT retire();`
    passed the check, and verify ran it on the server it was given: the live role could no
    longer log in."""
    from tenantguard.patches.verify import sync_baseline, verify_pipeline

    role = "tg_h32e_rw"
    await fetchval(
        postgres.dsn,
        f"DO $$ BEGIN IF to_regrole('{role}') IS NULL THEN CREATE ROLE {role} LOGIN; END IF; "
        "END $$",
    )
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS notes (id int, tenant_id int);\n")
    await sync_baseline(postgres.dsn, patches, baseline)
    write(
        patches,
        "0002_retire.sql",
        f"""
        CREATE OR REPLACE FUNCTION retire() RETURNS int LANGUAGE plpgsql AS $$
        BEGIN
            ALTER ROLE {role} NOLOGIN;
            RETURN 1;
        END $$;
        SELECT retire();
        """,
    )
    try:
        report = await verify_pipeline(postgres.dsn, patches, baseline)
        failed = [difference for _name, passed, difference in report.checks if not passed]
        assert failed and "0002_retire.sql:1: ALTER ROLE" in failed[0]
        assert await fetchval(
            postgres.dsn, f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}'"
        )
    finally:
        await fetchval(postgres.dsn, f"ALTER ROLE {role} LOGIN")


# ---------------------------------------------------------------- faults that held (regression)


def _apply_process(dsn: str, directory: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tenantguard",
            "patches",
            "apply",
            "--dsn",
            dsn,
            "--dir",
            str(directory),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def test_a_runner_killed_inside_a_patch_leaves_the_previous_state_and_the_next_run_applies_it(
    database: str, tmp_path: Path
) -> None:
    """SIGKILL of `tenantguard patches apply` in the middle of a transactional patch (after its
    first statements ran): nothing of the patch stays, the ledger does not name it, the patch
    lock is free within seconds (client_connection_check_interval), the next run applies it."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    write(
        tmp_path,
        "0002_b.sql",
        "CREATE TABLE IF NOT EXISTS b (id int);\nINSERT INTO a SELECT 1 WHERE NOT EXISTS "
        "(SELECT 1 FROM a);\nSELECT pg_sleep(30);\nCREATE TABLE IF NOT EXISTS c (id int);\n",
    )
    child = _apply_process(database, tmp_path)
    try:
        await wait_for_query(database, "pg_sleep(30)")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    deadline = time.monotonic() + 15
    while await fetchval(database, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert await ledger_names(database) == ["0001_a.sql"]
    assert await fetchval(database, "SELECT count(*) FROM a") == 0
    assert await fetchval(database, "SELECT to_regclass('b') IS NULL") is True
    write(tmp_path, "0002_b.sql", (tmp_path / "0002_b.sql").read_text().replace("30", "0"))
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0002_b.sql"]
    assert await fetchval(database, "SELECT count(*) FROM a") == 1


async def test_an_old_and_a_new_version_starting_together(database: str, tmp_path: Path) -> None:
    """Two processes at once, an old version (patches 1-2) and a new one (1-3): each patch is
    applied once, both exit 0, and the old version then says the database is newer than it
    (a patch applied without its file: a warning from apply, exit 1 from status)."""
    old, new = tmp_path / "old", tmp_path / "new"
    for directory in (old, new):
        write(directory, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
        write(
            directory,
            "0002_b.sql",
            "INSERT INTO a SELECT 2 WHERE NOT EXISTS (SELECT 1 FROM a WHERE id = 2);\n"
            "SELECT pg_sleep(1);\n",
        )
    write(
        new,
        "0003_c.sql",
        "INSERT INTO a SELECT 3 WHERE NOT EXISTS (SELECT 1 FROM a WHERE id = 3);\n",
    )
    children = [_apply_process(database, old), _apply_process(database, new)]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    assert await ledger_names(database) == ["0001_a.sql", "0002_b.sql", "0003_c.sql"]
    assert await fetchval(database, "SELECT array_agg(id ORDER BY id)::text FROM a") == "{2,3}"
    again = _apply_process(database, old)
    said = b"".join(again.communicate(timeout=60))
    assert again.returncode == 0 and b"0003_c.sql was applied" in said and b"gone" in said
    assert await cli("patches", "status", "--dsn", database, "--dir", str(old)) == 1
