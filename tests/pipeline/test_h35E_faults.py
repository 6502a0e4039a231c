"""Round 35 (helper h35E): fault injection on the patch runner, each fault with the database
state after it (catalog and rows), the command's output and exit code, and whether the next run
finishes the job. The CLI runs in a process of its own, killed with SIGKILL where named."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from tenantguard.patches.locking import LOCK_KEY
from tests.pipeline.test_pipeline_faults import fetchval, ledger_names, write

_PATCHES = {
    "0001_accounts.sql": "CREATE TABLE IF NOT EXISTS accounts (id int PRIMARY KEY, tenant_id int);\n",
    # a backfill whose rows come before a long statement: killed there, none may stay
    "0002_seed.sql": "INSERT INTO accounts VALUES (1, 1), (2, 1) ON CONFLICT DO NOTHING;\n"
    "SELECT pg_sleep(CASE WHEN current_setting('application_name') = 'doomed' "
    "THEN 60 ELSE 0 END);\n"
    "INSERT INTO accounts VALUES (3, 2) ON CONFLICT DO NOTHING;\n",
    "0003_index.sql": "CREATE INDEX IF NOT EXISTS accounts_tenant ON accounts (tenant_id);\n",
}


def _patches(directory: Path) -> Path:
    for name, text in _PATCHES.items():
        write(directory, name, text)
    return directory


def _apply(dsn: str, directory: Path, *extra: str) -> subprocess.Popen[bytes]:
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
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def _finished(process: subprocess.Popen[bytes], timeout: float = 60) -> tuple[int, str]:
    out, err = await asyncio.to_thread(process.communicate, timeout=timeout)
    return process.returncode, (out + err).decode()


async def _wait_for(dsn: str, sql: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await fetchval(dsn, sql):
        assert time.monotonic() < deadline, sql
        await asyncio.sleep(0.05)


_LOCK_HELD = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    f"AND classid::bigint = {LOCK_KEY >> 32} AND objid::bigint = {LOCK_KEY & 0xFFFFFFFF}"
)


async def _state(dsn: str) -> tuple[list[str], list[int], bool]:
    rows = await fetchval(dsn, "SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM accounts")
    index = await fetchval(dsn, "SELECT to_regclass('accounts_tenant') IS NOT NULL")
    return await ledger_names(dsn), list(rows), bool(index)  # type: ignore[call-overload]


async def test_sigkill_inside_a_patch_leaves_it_out_frees_the_lock_and_the_next_run_finishes(
    database: str, tmp_path: Path
) -> None:
    directory = _patches(tmp_path)
    doomed = _apply(f"{database}?application_name=doomed", directory)
    try:
        await _wait_for(
            database,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'doomed' "
            "AND state = 'active' AND query LIKE '%pg_sleep%'",
        )
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    finally:
        if doomed.poll() is None:
            doomed.kill()
    killed = time.monotonic()
    # the dead runner's backend notices (client_connection_check_interval): its patch's
    # transaction is rolled back and the patch lock freed within seconds
    deadline = killed + 15
    while await fetchval(database, _LOCK_HELD):
        assert time.monotonic() < deadline, "the dead runner's backend kept the patch lock"
        await asyncio.sleep(0.1)
    assert await _state(database) == (["0001_accounts.sql"], [], False)
    code, said = await _finished(_apply(database, directory))
    assert code == 0, said
    assert "2 applied, 1 already applied" in said
    assert await _state(database) == (
        ["0001_accounts.sql", "0002_seed.sql", "0003_index.sql"],
        [1, 2, 3],
        True,
    )


async def test_sigkill_while_the_runner_waits_to_retry_frees_the_lock_at_once(
    database: str, tmp_path: Path
) -> None:
    """Killed between two attempts at a blocked patch: the runner holds the patch lock on an
    idle session, which the server ends as soon as the socket closes."""
    directory = tmp_path
    write(directory, "0001_accounts.sql", _PATCHES["0001_accounts.sql"])
    code, said = await _finished(_apply(database, directory))
    assert code == 0, said
    write(
        directory, "0002_column.sql", "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text;\n"
    )
    app = await asyncpg.connect(database)
    await app.execute("BEGIN; SELECT * FROM accounts")
    try:
        runner = _apply(database, directory, "--lock-timeout", "0.2", "--lock-retries", "5")
        await _wait_for(database, _LOCK_HELD)
        await asyncio.sleep(1.0)  # past its first attempt: sleeping before the next
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        deadline = time.monotonic() + 5
        while await fetchval(database, _LOCK_HELD):
            assert time.monotonic() < deadline, "the patch lock outlived the killed runner"
            await asyncio.sleep(0.05)
    finally:
        await app.close()
    assert await ledger_names(database) == ["0001_accounts.sql"]
    assert not await fetchval(
        database,
        "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass "
        "AND attname = 'note'",
    )
    code, said = await _finished(_apply(database, directory))
    assert code == 0, said
    assert await ledger_names(database) == ["0001_accounts.sql", "0002_column.sql"]


async def test_pg_terminate_backend_mid_patch_says_what_is_left_and_the_next_run_finishes(
    database: str, tmp_path: Path
) -> None:
    directory = _patches(tmp_path)
    runner = _apply(f"{database}?application_name=doomed", directory)
    await _wait_for(
        database,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'doomed' "
        "AND state = 'active' AND query LIKE '%pg_sleep%'",
    )
    assert await fetchval(
        database,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'doomed'",
    )
    code, said = await _finished(runner)
    assert code == 2, said
    assert "0002_seed.sql" in said and "connection to the server was lost" in said
    assert "applied before the failure: 0001_accounts.sql" in said
    assert "Traceback" not in said
    assert await _state(database) == (["0001_accounts.sql"], [], False)
    code, said = await _finished(_apply(database, directory))
    assert code == 0, said
    assert (await _state(database))[1] == [1, 2, 3]


async def test_a_patch_failing_in_its_last_statement_leaves_nothing_of_it(
    database: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_accounts.sql", _PATCHES["0001_accounts.sql"])
    path = write(
        tmp_path,
        "0002_seed.sql",
        "INSERT INTO accounts VALUES (1, 1), (2, 1);\n"
        "CREATE INDEX IF NOT EXISTS accounts_tenant ON accounts (tenant_id);\n"
        "INSERT INTO accounts VALUES (2, 9);\n",  # a duplicate key: fails last
    )
    code, said = await _finished(_apply(database, tmp_path))
    assert code == 1, said
    assert "0002_seed.sql:3:1" in said and "UniqueViolationError" in said
    assert "applied before the failure: 0001_accounts.sql" in said
    assert await _state(database) == (["0001_accounts.sql"], [], False)
    # fixed (a new patch is never applied until it works: editing it is fine)
    path.write_text(path.read_text().replace("(2, 9)", "(3, 9)"))
    code, said = await _finished(_apply(database, tmp_path))
    assert code == 0, said
    assert await _state(database) == (["0001_accounts.sql", "0002_seed.sql"], [1, 2, 3], True)


async def test_five_starters_at_once_apply_each_patch_once(database: str, tmp_path: Path) -> None:
    directory = tmp_path
    for name, text in _PATCHES.items():
        write(directory, name, text.replace("ON CONFLICT DO NOTHING", ""))  # not idempotent
    runners = [_apply(database, directory) for _ in range(5)]
    results = [await _finished(runner) for runner in runners]
    assert [code for code, _ in results] == [0] * 5, results
    applied = sorted(int(said.split(" applied,")[0].split()[-1]) for _, said in results)
    assert applied == [0, 0, 0, 0, 3], results
    assert await _state(database) == (list(_PATCHES), [1, 2, 3], True)


async def test_crlf_and_bom_patches_apply_and_name_the_right_line(
    database: str, tmp_path: Path
) -> None:
    text = (
        "\ufeff-- seed\r\nCREATE TABLE IF NOT EXISTS notes (id int, body text);\r\n"
        "CREATE OR REPLACE FUNCTION two() RETURNS int LANGUAGE plpgsql AS $f$\r\n"
        "BEGIN\r\n  RETURN 2;\r\nEND $f$;\r\n"
        "INSERT INTO notes VALUES (two(), 'x');\r\n"
    )
    (tmp_path / "0001_notes.sql").write_bytes(text.encode())
    code, said = await _finished(_apply(database, tmp_path))
    assert code == 0, said
    assert await fetchval(database, "SELECT id FROM notes") == 2
    (tmp_path / "0002_bad.sql").write_bytes(
        "\ufeff-- bad\r\n\r\nINSERT INTO notes VALUES ('x', 'y');\r\n".encode()
    )
    code, said = await _finished(_apply(database, tmp_path))
    assert code == 1 and "0002_bad.sql:3:" in said, said
    assert await ledger_names(database) == ["0001_notes.sql"]


async def test_a_runner_without_the_privilege_leaves_nothing_and_no_lock(
    database: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_accounts.sql", _PATCHES["0001_accounts.sql"])
    code, said = await _finished(_apply(database, tmp_path))
    assert code == 0, said
    admin = await asyncpg.connect(database)
    try:
        await admin.execute(
            "DO $$ BEGIN CREATE ROLE h35e_app LOGIN; EXCEPTION WHEN duplicate_object THEN "
            "NULL; END $$; GRANT SELECT, INSERT ON tenantguard_patches TO h35e_app; "
            "GRANT USAGE ON SCHEMA public TO h35e_app"
        )
        write(tmp_path, "0002_column.sql", "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS n int;\n")
        dsn = database.replace("postgres@", "h35e_app@", 1)
        code, said = await _finished(_apply(dsn, tmp_path))
        assert code == 1, said
        assert "0002_column.sql:1:1" in said and "must be owner of table accounts" in said
        assert not await fetchval(database, _LOCK_HELD)
        assert await ledger_names(database) == ["0001_accounts.sql"]
        code, said = await _finished(_apply(database, tmp_path))  # as the owner: applied
        assert code == 0, said
        assert await ledger_names(database) == ["0001_accounts.sql", "0002_column.sql"]
    finally:
        await admin.execute("REVOKE ALL ON tenantguard_patches FROM h35e_app")
        await admin.execute("REVOKE ALL ON SCHEMA public FROM h35e_app")
        await admin.execute("DROP ROLE IF EXISTS h35e_app")
        await admin.close()
