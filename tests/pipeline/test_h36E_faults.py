"""Round 36 (helper h36E): fault injection on the patch pipeline, on a real PostgreSQL. For each
fault: the database's state (catalog, rows), the command's output and exit code, and whether
the next run finishes the job."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import asyncpg
import pytest

from tenantguard.patches.locking import LOCK_KEY
from tests.pipeline.test_pipeline_faults import cli, fetchval, ledger_names, write

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


async def _apply(
    database: str, patches: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    code = await cli("patches", "apply", "--dsn", database, "--dir", str(patches))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def _labels(database: str) -> str:
    return str(
        await fetchval(
            database,
            "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum "
            "WHERE enumtypid = 'mood'::regtype",
        )
    )


@pytest.mark.parametrize(
    ("by_hand", "patch"),
    [
        ("ALTER TYPE mood ADD VALUE 'c'", "ALTER TYPE mood ADD VALUE 'c';"),
        (
            "ALTER TYPE mood ADD VALUE 'c' BEFORE 'b'",
            "ALTER TYPE public.mood ADD VALUE 'c' BEFORE 'b';",
        ),
        ("ALTER TYPE mood ADD VALUE 'c' AFTER 'a'", "alter type mood add value 'c' after 'a';"),
    ],
    ids=["end", "before", "after"],
)
async def test_a_runner_killed_after_a_no_transaction_enum_value_and_before_its_row(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], by_hand: str, patch: str
) -> None:
    """What a runner SIGKILLed after a no-transaction `ALTER TYPE … ADD VALUE` committed and
    before its ledger row leaves: the label, no row (made here by running the statement as the
    killed run did). Before: every later run failed, exit 1, 'enum label "c" already exists' —
    the pipeline stuck for good (an index or a detach so left is recognised already). Now the
    label where the patch puts it is recorded without running it again, exit 0."""
    write(tmp_path, "0001_t.sql", "CREATE TYPE mood AS ENUM ('a', 'b');\n")
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    await fetchval(database, by_hand)
    labels = await _labels(database)
    write(tmp_path, "0002_c.sql", f"-- tenantguard: no-transaction\n{patch}\n")
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert "has the label 'c' already" in out
    assert await ledger_names(database) == ["0001_t.sql", "0002_c.sql"]
    assert await _labels(database) == labels  # not added twice, not moved
    assert (await _apply(database, tmp_path, capsys))[0] == 0


async def test_an_enum_label_made_elsewhere_is_not_taken_for_the_patch_s(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin: 'c' is there, but not after 'a' as the patch adds it (made by hand at the end):
    not the patch's — the patch runs and fails as before, nothing recorded, exit 1."""
    write(tmp_path, "0001_t.sql", "CREATE TYPE mood AS ENUM ('a', 'b');\n")
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    await fetchval(database, "ALTER TYPE mood ADD VALUE 'c'")
    write(
        tmp_path,
        "0002_c.sql",
        "-- tenantguard: no-transaction\nALTER TYPE mood ADD VALUE 'c' AFTER 'a';\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1 and 'enum label "c" already exists' in out
    assert await ledger_names(database) == ["0001_t.sql"]
    assert await _labels(database) == "a,b,c"


async def test_a_tablespace_that_is_not_there(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The patch's second statement names a tablespace the server does not have: rolled back
    (no a), exit 1, the error at its line; the same again on a retry, and once the patch is
    fixed (it is not applied: it may change) the run finishes."""
    write(
        tmp_path,
        "0001_t.sql",
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int) TABLESPACE nowhere;\n",
    )
    for _ in range(2):
        code, out = await _apply(database, tmp_path, capsys)
        assert code == 1
        assert "0001_t.sql:2:1: patch 0001_t.sql failed and was rolled back" in out
        assert 'tablespace "nowhere" does not exist' in out
        assert await fetchval(database, "SELECT to_regclass('a')") is None
        assert await ledger_names(database) == []
    write(tmp_path, "0001_t.sql", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n")
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    assert await ledger_names(database) == ["0001_t.sql"]


async def test_a_tablespace_whose_directory_is_gone_fails_like_a_full_disk(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file-system error from the server mid-patch (the tablespace's directory removed under
    it, as a failed disk would): the patch's INSERT before it is rolled back with it (a keeps
    1 row), exit 1 naming the patch, its line and the server's error; once the directory is
    back, the same run finishes (2 rows, b in the tablespace)."""
    where = Path(tempfile.mkdtemp(prefix="tg-ts-", dir="/tmp"))
    shutil.chown(where, "postgres", "postgres")
    try:
        await fetchval(database, f"CREATE TABLESPACE h36e_ts LOCATION '{where}'")
        write(tmp_path, "0001_t.sql", "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n")
        assert (await _apply(database, tmp_path, capsys))[0] == 0
        version_dirs = [child.name for child in where.iterdir()]
        for child in where.iterdir():
            shutil.rmtree(child)
        write(
            tmp_path,
            "0002_b.sql",
            "INSERT INTO a VALUES (2);\nCREATE TABLE b (id int) TABLESPACE h36e_ts;\n",
        )
        code, out = await _apply(database, tmp_path, capsys)
        assert code == 1
        assert "0002_b.sql:2:1: patch 0002_b.sql failed and was rolled back" in out
        assert "could not create directory" in out
        assert await fetchval(database, "SELECT count(*) FROM a") == 1
        assert await ledger_names(database) == ["0001_t.sql"]
        for name in version_dirs:
            (where / name).mkdir()
            shutil.chown(where / name, "postgres", "postgres")
        assert (await _apply(database, tmp_path, capsys))[0] == 0
        assert await fetchval(database, "SELECT count(*) FROM a") == 2
        assert (
            await fetchval(
                database,
                "SELECT t.spcname FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace "
                "WHERE c.oid = 'b'::regclass",
            )
            == "h36e_ts"
        )
    finally:
        await fetchval(database, "DROP TABLE IF EXISTS b")
        await fetchval(database, "DROP TABLESPACE IF EXISTS h36e_ts")
        shutil.rmtree(where, ignore_errors=True)


async def test_a_no_transaction_patch_making_a_function_then_its_trigger(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A no-transaction patch of two statements (the function, then the trigger using it):
    refused before any patch of the run executes (0001 not applied either), exit 1, saying it
    holds one statement; as two patches the run finishes and the trigger fires."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE t (id int, note text);\n")
    function = (
        "CREATE FUNCTION t_f() RETURNS trigger LANGUAGE plpgsql AS "
        "$f$ BEGIN NEW.note := 'seen'; RETURN NEW; END $f$;\n"
    )
    trigger = "CREATE TRIGGER t_f BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_f();\n"
    write(tmp_path, "0002_trg.sql", "-- tenantguard: no-transaction\n" + function + trigger)
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1
    assert "a no-transaction patch holds exactly one statement (found 2)" in out
    assert await fetchval(database, "SELECT to_regclass('t')") is None
    (tmp_path / "0002_trg.sql").unlink()
    write(tmp_path, "0002_f.sql", "-- tenantguard: no-transaction\n" + function)
    write(tmp_path, "0003_trg.sql", "-- tenantguard: no-transaction\n" + trigger)
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    await fetchval(database, "INSERT INTO t (id) VALUES (1)")
    assert await fetchval(database, "SELECT note FROM t") == "seen"


async def test_a_failing_last_statement_after_a_concurrent_index_patch(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0002 builds an index concurrently (committed, recorded); 0003's last statement fails:
    0003 rolled back whole (no u), exit 1 naming what was applied; the index stays valid and is
    not built again by the retry after the fix."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1), (1);\n")
    write(
        tmp_path,
        "0002_i.sql",
        "-- tenantguard: no-transaction\nCREATE INDEX CONCURRENTLY t_i ON t (id);\n",
    )
    write(tmp_path, "0003_u.sql", "CREATE TABLE u (id int);\nALTER TABLE t ADD PRIMARY KEY (id);\n")
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1
    assert "applied before the failure: 0001_t.sql, 0002_i.sql" in out
    assert "0003_u.sql:2:1: patch 0003_u.sql failed and was rolled back" in out
    assert await ledger_names(database) == ["0001_t.sql", "0002_i.sql"]
    assert await fetchval(database, "SELECT to_regclass('u')") is None
    oid = await fetchval(database, "SELECT 't_i'::regclass::oid")
    assert await fetchval(database, "SELECT indisvalid FROM pg_index WHERE indexrelid = $1", oid)
    await fetchval(database, "DELETE FROM t WHERE ctid = (SELECT max(ctid) FROM t)")
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    assert await ledger_names(database) == ["0001_t.sql", "0002_i.sql", "0003_u.sql"]
    assert await fetchval(database, "SELECT 't_i'::regclass::oid") == oid


async def test_pg_terminate_backend_of_a_runner_waiting_for_the_lock(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another session holds the pipeline lock; the waiting runner's backend is terminated
    from a third session: exit 2 (no patch ran: t absent, no ledger), and a retry once the
    lock is free applies the patch."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE t (id int);\n")
    holder = await asyncpg.connect(database)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        waiter = asyncio.create_task(_apply(database, tmp_path, capsys))
        for _ in range(200):
            pid = await fetchval(
                database,
                "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_try_advisory_lock%' "
                "AND pid <> pg_backend_pid() LIMIT 1",
            )
            if pid:
                break
            await asyncio.sleep(0.05)
        assert pid
        assert await fetchval(database, "SELECT pg_terminate_backend($1)", pid)
        code, out = await asyncio.wait_for(waiter, timeout=30)
    finally:
        await holder.close()
    assert code == 2, out
    assert "terminat" in out.lower() or "connection" in out.lower(), out
    assert await fetchval(database, "SELECT to_regclass('t')") is None
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    assert await ledger_names(database) == ["0001_t.sql"]


async def test_five_starters_under_a_shadowing_database_path_and_a_two_second_patch(
    database: str, tmp_path: Path
) -> None:
    """Five `patches apply` processes at once against a database whose search_path puts a
    schema of shadows (functions of pg_catalog's names that RAISE, an empty pg_locks and
    pg_stat_activity) before pg_catalog, while one patch sleeps 2 s: the waiters poll the lock
    and report its holder with locking.py's queries under that path. Each exits 0, each patch
    runs once (counter 1), one process applied both."""
    from tests.pipeline.test_h35E_faults import _apply as spawn
    from tests.pipeline.test_h35E_faults import _finished

    write(
        tmp_path,
        "0001_shadows.sql",
        "CREATE SCHEMA app;\n"
        + "".join(
            f"CREATE FUNCTION app.{name}({args}) RETURNS {ret} LANGUAGE plpgsql AS "
            f"$f$ BEGIN RAISE EXCEPTION 'shadow {name} called'; END $f$;\n"
            for name, args, ret in [
                ("pg_try_advisory_lock", "bigint", "bool"),
                ("pg_backend_pid", "", "int"),
                ("current_database", "", "name"),
                ("now", "", "timestamptz"),
                ("left", "text, int", "text"),
                ("make_interval", "secs double precision", "interval"),
            ]
        )
        + "CREATE TABLE app.pg_locks (x int);\nCREATE TABLE app.pg_stat_activity (x int);\n"
        "CREATE TABLE counter (n int);\n",
    )
    assert (await _finished(spawn(database, tmp_path)))[0] == 0
    name = database.rsplit("/", 1)[1]
    await fetchval(database, f'ALTER DATABASE "{name}" SET search_path = app, public, pg_catalog')
    write(
        tmp_path,
        "0002_slow.sql",
        "SELECT pg_catalog.pg_sleep(2);\nINSERT INTO public.counter VALUES (1);\n",
    )
    write(tmp_path, "0003_more.sql", "INSERT INTO public.counter VALUES (2);\n")
    starters = [spawn(database, tmp_path, "--lock-wait", "60") for _ in range(5)]
    results = [await _finished(starter) for starter in starters]
    assert [code for code, _ in results] == [0] * 5, results
    applied = sorted(int(said.split(" applied,")[0].split()[-1]) for _, said in results)
    assert applied == [0, 0, 0, 0, 2], results
    assert any("waiting for the patch lock" in said for _, said in results), results
    rows = await fetchval(database, "SELECT pg_catalog.array_agg(n ORDER BY n) FROM public.counter")
    assert list(rows) == [1, 2]  # type: ignore[call-overload]
