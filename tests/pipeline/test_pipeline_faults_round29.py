"""Round 29: the patch pipeline under fault injection by an outsider (helper h29d), on a real
server. Each test names what happened on the server before the fix.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tenantguard.patches.verify import sync_baseline, verify_pipeline
from tests.conftest import fresh_database
from tests.pipeline.test_pipeline_faults import fetchval, ledger_names, write

_EVERY_TABLE = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
        {action}
    END LOOP;
END $$;
"""


@pytest.mark.parametrize(
    ("action", "changed"),
    [
        # "start the demo data over": the ledger emptied with the rest
        ("EXECUTE format('TRUNCATE %I', r.tablename);", "its rows"),
        ("EXECUTE format('DELETE FROM %I', r.tablename);", "its rows"),
        # row-level security forced on every table: invisible to a role that does not bypass it
        (
            "EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', r.tablename); "
            "EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', r.tablename);",
            "its definition",
        ),
        (
            "EXECUTE format('ALTER TABLE %I ADD COLUMN IF NOT EXISTS tenant_id bigint', "
            "r.tablename);",
            "its definition",
        ),
    ],
)
async def test_a_patch_that_changes_the_ledger_is_rolled_back(
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    action: str,
    changed: str,
) -> None:
    """1. A patch acting on every table of its schema (a loop over pg_tables) reaches the ledger
    too. `TRUNCATE` of every table ('start the demo data over'): apply said '2 applied' (exit
    0) and the ledger held the second patch only; the next run called the first 'numbered below
    an applied patch' and offered --allow-out-of-order — which runs it again. Forced row-level
    security: a superuser runner saw nothing wrong, and a role that does not bypass it reads an
    empty ledger (every patch pending again)."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n")
    await apply_patches(database, tmp_path)
    await fetchval(database, "INSERT INTO t VALUES (1)")
    write(tmp_path, "0002_every_table.sql", _EVERY_TABLE.format(action=action))
    with pytest.raises(PatchError) as refused:
        await apply_patches(database, tmp_path)
    said = str(refused.value)
    assert "0002_every_table.sql" in said and "tenantguard_patches" in said
    assert changed in said and "rolled back" in said
    assert "tablename <> 'tenantguard_patches'" in said
    # rolled back: nothing of the patch, the ledger as it was
    assert await ledger_names(database) == ["0001_t.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 1
    assert (
        await fetchval(
            database,
            "SELECT relrowsecurity FROM pg_class WHERE oid = 'tenantguard_patches'::regclass",
        )
        is False
    )
    code = await asyncio.to_thread(
        main, ["patches", "apply", "--dsn", database, "--dir", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "0002_every_table.sql" in err
    # the loop that leaves the ledger out applies
    write(
        tmp_path,
        "0002_every_table.sql",
        _EVERY_TABLE.format(action=action).replace(
            "current_schema()", "current_schema() AND tablename <> 'tenantguard_patches'"
        ),
    )
    assert (await apply_patches(database, tmp_path)).applied == ["0002_every_table.sql"]
    assert await ledger_names(database) == ["0001_t.sql", "0002_every_table.sql"]


async def test_a_patch_that_reads_the_ledger_applies(database: str, tmp_path: Path) -> None:
    """1b. Reading the ledger (a patch that raises a NOTICE about what ran before) is no change."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n")
    write(
        tmp_path,
        "0002_read.sql",
        "DO $$ BEGIN RAISE NOTICE '% applied', (SELECT count(*) FROM tenantguard_patches); "
        "END $$;\n",
    )
    assert (await apply_patches(database, tmp_path)).applied == ["0001_t.sql", "0002_read.sql"]


_CHECK_BASELINE = "the pipeline's schema equals the baseline's"


async def test_verify_sees_an_extension_version_the_baseline_does_not_install(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """2. A patch installs an extension at a version of its choice (`CREATE EXTENSION IF NOT
    EXISTS hstore VERSION '1.4'`); pg_dump writes `CREATE EXTENSION … WITH SCHEMA public`
    without one, so the baseline installs the server's default (1.8) and the patch's IF NOT
    EXISTS skips it on top: upgraded databases have hstore 1.4, new installs 1.8 (`attrs['k']`
    subscripting works on one only) — and verify said ok to every check, sync wrote such a
    baseline without a word."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_attrs.sql",
        "CREATE EXTENSION IF NOT EXISTS hstore VERSION '1.4';\n"
        "CREATE TABLE IF NOT EXISTS t (id int, attrs hstore);\n",
    )
    baseline = tmp_path / "schema.sql"
    baseline.write_text(  # what sync wrote before: pg_dump's lines
        "CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public;\n"
        "CREATE TABLE public.t (id integer, attrs public.hstore);\n",
        encoding="utf-8",
    )
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    failed = {name: difference for name, passed, difference in report.checks if not passed}
    assert _CHECK_BASELINE in failed, report.checks
    assert "VERSION '1.4'" in failed[_CHECK_BASELINE]
    # sync pins the version the patches installed; a new install from the baseline has it
    await sync_baseline(postgres.dsn, patches, baseline)
    assert "VERSION '1.4'" in baseline.read_text(encoding="utf-8")
    assert (await verify_pipeline(postgres.dsn, patches, baseline)).ok
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(baseline.read_text(encoding="utf-8"))
    finally:
        await conn.close()
    assert (
        await fetchval(database, "SELECT extversion FROM pg_extension WHERE extname = 'hstore'")
        == "1.4"
    )
    # the live database: updated by hand past what its patches install
    await apply_patches(database, patches)
    await fetchval(database, "ALTER EXTENSION hstore UPDATE")
    report = await verify_pipeline(database, patches, baseline)
    failed = {name: difference for name, passed, difference in report.checks if not passed}
    assert any(name.startswith("the database's schema equals") for name in failed), report.checks


async def test_an_extension_at_the_server_s_default_version_is_not_pinned(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """2b. A patch that installs the default version: the baseline stays as pg_dump writes it
    (portable to a server whose default is newer, as the patch is)."""
    patches = tmp_path / "patches"
    write(patches, "0001_attrs.sql", "CREATE EXTENSION IF NOT EXISTS hstore;\n")
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    text = baseline.read_text(encoding="utf-8")
    assert "CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public;" in text
    assert "VERSION" not in text


async def test_verify_and_sync_run_with_the_schema_the_dsn_s_search_path_names(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """3. The database keeps the application in schema `app` (made by its administrator) and
    the DSN says `options=-csearch_path=app`: apply worked, but sync and verify failed (exit
    2) with 'the session's search_path names no existing schema … create the schema or fix
    search_path for the runner's user' — about their scratch databases, which the message did
    not name, while the database it was given has the schema. (With `search_path=app,public`
    they ran into public instead: a baseline of `public.t` for a database of `app.t`.)"""
    await fetchval(database, "CREATE SCHEMA app")
    separator = "&" if "?" in database else "?"
    dsn = f"{database}{separator}options=-csearch_path%3Dapp"
    patches = tmp_path / "patches"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY);\n")
    assert (await apply_patches(dsn, patches)).applied == ["0001_t.sql"]
    assert await fetchval(database, "SELECT to_regclass('app.t') IS NOT NULL") is True
    baseline = tmp_path / "schema.sql"
    code = await asyncio.to_thread(
        main,
        ["patches", "sync", "--dsn", dsn, "--dir", str(patches), "--baseline", str(baseline)],
    )
    assert code == 0, capsys.readouterr().err
    text = baseline.read_text(encoding="utf-8")
    assert "CREATE TABLE app.t" in text and "public.t" not in text
    # the schema is there already where the administrator made it: the baseline loads there too
    assert "CREATE SCHEMA IF NOT EXISTS app;" in text
    code = await asyncio.to_thread(
        main,
        ["patches", "verify", "--dsn", dsn, "--dir", str(patches), "--baseline", str(baseline)],
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ok    the database's schema equals what its applied patches build" in out
    for before in ("CREATE SCHEMA app;", ""):
        async with fresh_database(postgres, before) as new:
            conn = await asyncpg.connect(new)
            try:
                await conn.execute(text)
            finally:
                await conn.close()
            assert await fetchval(new, "SELECT to_regclass('app.t') IS NOT NULL") is True


@pytest.mark.parametrize("transaction", ["", "-- tenantguard: no-transaction\n"])
async def test_a_copy_from_stdin_is_refused_before_anything_runs(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], transaction: str
) -> None:
    """4. `COPY t FROM STDIN` (a seed written as psql runs it, its rows to come from the
    client): the runner has no rows to send, and hung there for good — its transaction open,
    the patch lock held, every replica starting after it waiting for the lock (killed after
    20 s, the patch before it applied)."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n")
    write(tmp_path, "0002_seed.sql", f"{transaction}COPY t (id) FROM STDIN;\n")
    with pytest.raises(PatchError) as refused:
        await asyncio.wait_for(apply_patches(database, tmp_path), 20)
    said = str(refused.value)
    line = 2 if transaction else 1
    assert f"0002_seed.sql:{line}:1: COPY … FROM STDIN" in said and "INSERT" in said
    assert await fetchval(database, "SELECT to_regclass('t') IS NULL") is True  # nothing ran


def test_psql_s_inline_copy_data_is_named_as_such(tmp_path: Path) -> None:
    """4b. A seed cut from pg_dump's data section (`COPY … FROM stdin;`, its rows, `\\.`) was
    refused as 'PostgreSQL cannot parse this: syntax error at or near "1"' at the first row,
    saying nothing of why a line of data is read as SQL."""
    write(tmp_path, "0001_seed.sql", "COPY public.t (id, name) FROM stdin;\n1\tAna\n\\.\n")
    from tenantguard.patches.files import read_patches

    (patch,) = read_patches(tmp_path)
    with pytest.raises(PatchError) as refused:
        patch.statements  # noqa: B018
    said = str(refused.value)
    assert "0001_seed.sql:2:1" in said and "psql" in said and "INSERT" in said


@pytest.mark.parametrize("transaction", ["", "-- tenantguard: no-transaction\n"])
async def test_a_patch_stopped_by_temp_file_limit_says_where_it_comes_from_and_what_to_do(
    database: str, tmp_path: Path, transaction: str
) -> None:
    """5. The database's `temp_file_limit` (there so that one report cannot fill the disk)
    stopped a patch's sort: 'patch 0002_sorted.sql failed and was rolled back:
    ConfigurationLimitExceededError: temporary file size exceeds temp_file_limit (64kB)', exit
    1 — neither where the limit comes from nor how to give the patch room (only a superuser can
    raise it; a statement_timeout gets both)."""
    write(
        tmp_path,
        "0001_t.sql",
        "CREATE TABLE IF NOT EXISTS t (id int, v text);\n"
        "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100000) g "
        "WHERE NOT EXISTS (SELECT FROM t);\n",
    )
    await apply_patches(database, tmp_path)
    write(
        tmp_path,
        "0002_sorted.sql",
        transaction + "CREATE TABLE IF NOT EXISTS sorted AS SELECT v FROM t ORDER BY v;\n",
    )
    name = database.rsplit("/", 1)[1]
    await fetchval(database, f"ALTER DATABASE {name} SET temp_file_limit = '64kB'")
    with pytest.raises(PatchError) as failed:
        await apply_patches(database, tmp_path)
    said = str(failed.value)
    assert "temp_file_limit is 64kB (set by the database" in said
    assert f"ALTER ROLE postgres IN DATABASE {name} SET temp_file_limit" in said
    if not transaction:
        assert "SET LOCAL temp_file_limit" in said
    assert await ledger_names(database) == ["0001_t.sql"]
    assert await fetchval(database, "SELECT to_regclass('sorted') IS NULL") is True
