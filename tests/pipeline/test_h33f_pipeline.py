"""Round 33: the patch pipeline under fault injection by an outsider (helper h33f), on a real
server. Each test names what happened on the server before the fix.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.files import PatchError
from tenantguard.patches.locking import LOCK_KEY
from tenantguard.patches.runner import apply_patches
from tenantguard.patches.verify import sync_baseline, verify_pipeline
from tests.conftest import fresh_database
from tests.pipeline.test_h32e_pipeline import _apply_process
from tests.pipeline.test_pipeline_faults import fetchval, ledger_names, write

# a Markdown template: two trailing spaces are a hard line break, two blank lines are kept;
# an SQL function that empties its search path the way pg_dump's preamble does
_BODIES = (
    "CREATE OR REPLACE FUNCTION public.reminder() RETURNS text LANGUAGE sql IMMUTABLE AS $$\n"
    "SELECT 'Dear patient,  \n"
    "your appointment is tomorrow.\n"
    "\n"
    "\n"
    "\n"
    "The clinic'\n"
    "$$;\n"
    "CREATE OR REPLACE FUNCTION public.hardened() RETURNS text LANGUAGE sql AS $$\n"
    "SELECT pg_catalog.set_config('search_path', '', false);\n"
    "SELECT 'ok'::text;\n"
    "$$;\n"
)

_PROSRC = (
    "SELECT string_agg(proname || ':' || prosrc, E'\\n---\\n' ORDER BY proname) FROM pg_proc "
    "WHERE pronamespace = 'public'::regnamespace"
)


async def _prosrc(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval(_PROSRC))
    finally:
        await conn.close()


async def test_sync_keeps_function_bodies_byte_for_byte_and_verify_sees_them(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """1. `sync` wrote the baseline from pg_dump without trailing blanks on every line, with
    runs of blank lines squeezed to one, and without any line that reads like pg_dump's
    preamble — inside function bodies too: a Markdown template lost its hard line break
    (`'Dear patient,  '`) and two of its blank lines, an SQL function lost its
    `SELECT pg_catalog.set_config('search_path', '', false);`. New installs got other functions
    than upgraded databases, and `verify` said ok: it dropped the same lines before comparing."""
    patches = tmp_path / "patches"
    write(patches, "0001_templates.sql", _BODIES)
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    await apply_patches(database, patches)
    async with fresh_database(postgres) as new_install:
        conn = await asyncpg.connect(new_install)
        try:
            await conn.execute(baseline.read_text(encoding="utf-8"))
        finally:
            await conn.close()
        assert await _prosrc(new_install) == await _prosrc(database)
    # a baseline that lost them, as sync wrote it before: verify says so
    text = baseline.read_text(encoding="utf-8")
    lost = text.replace("Dear patient,  \n", "Dear patient,\n").replace(
        "SELECT pg_catalog.set_config('search_path', '', false);\n", ""
    )
    assert lost != text
    baseline.write_text(lost, encoding="utf-8")
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    failed = {name: difference for name, passed, difference in report.checks if not passed}
    assert any("baseline" in name for name in failed), report.checks


async def test_verify_sees_a_sequence_a_patch_sets_to_be_called_later(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """2. A patch that moves a sequence it creates for the next `nextval` — `setval(s, 1000,
    false)` or `ALTER SEQUENCE s RESTART WITH 500` (not yet called: `pg_sequences.last_value`
    is NULL) — was read as standing at its START WITH: verify said ok to a baseline whose new
    installs number invoices from 1 while upgraded databases number them from 1000 (the
    patch's guard skips a sequence the baseline made)."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_numbers.sql",
        "DO $$ BEGIN\n"
        "    IF to_regclass('public.invoice_no') IS NULL THEN\n"
        "        CREATE SEQUENCE public.invoice_no;\n"
        "        PERFORM setval('public.invoice_no', 1000, false);\n"
        "    END IF;\n"
        "    IF to_regclass('public.receipt_no') IS NULL THEN\n"
        "        CREATE SEQUENCE public.receipt_no;\n"
        "        ALTER SEQUENCE public.receipt_no RESTART WITH 500;\n"
        "    END IF;\n"
        "END $$;\n",
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    await apply_patches(database, patches)
    conn = await asyncpg.connect(database)
    try:
        assert await conn.fetchval("SELECT nextval('public.invoice_no')") == 1000
        assert await conn.fetchval("SELECT nextval('public.receipt_no')") == 500
    finally:
        await conn.close()
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    failed = {name: difference for name, passed, difference in report.checks if not passed}
    said = "\n".join(failed.values())
    assert "sequence public.invoice_no: next value 1000" in said, report.checks
    assert "sequence public.receipt_no: next value 500" in said, report.checks


async def test_verify_sees_a_patch_that_moves_a_sequence_each_time_it_runs(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """3. `SELECT setval('invoice_no', nextval('invoice_no') + 50000)` ("invoice numbers go on
    after the legacy system's") moves the sequence by 50001 each time the patch runs: run
    again on a database with a lost ledger, it skips another 50001 numbers. verify's "applied
    twice changes nothing" compared the schema and the tables' rows, not where sequences
    stand, and said ok (the baseline check could not see it either: it runs the patch once on
    top of the baseline, as the pipeline alone does)."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_numbers.sql",
        "CREATE SEQUENCE IF NOT EXISTS public.invoice_no;\n"
        "SELECT setval('public.invoice_no', nextval('public.invoice_no') + 50000);\n",
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    await apply_patches(database, patches)
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("DELETE FROM tenantguard_patches")  # the ledger lost
    finally:
        await conn.close()
    await apply_patches(database, patches)
    conn = await asyncpg.connect(database)
    try:
        assert await conn.fetchval("SELECT nextval('public.invoice_no')") == 100003
    finally:
        await conn.close()
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    failed = {name: difference for name, passed, difference in report.checks if not passed}
    twice = [name for name in failed if name.startswith("the pipeline applied twice")]
    assert twice, report.checks
    assert (
        "sequence public.invoice_no: next value 50002 after the first run, next value 100003"
        in (failed[twice[0]])
    )
    # the same patch guarded (only where it creates the sequence) passes every check
    write(
        patches,
        "0001_numbers.sql",
        "DO $$ BEGIN\n"
        "    IF to_regclass('public.invoice_no') IS NULL THEN\n"
        "        CREATE SEQUENCE public.invoice_no START WITH 50002;\n"
        "    END IF;\n"
        "END $$;\n",
    )
    await sync_baseline(postgres.dsn, patches, baseline)
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    assert report.ok, report.checks


async def test_a_patch_that_sets_its_transaction_s_isolation_first_runs_at_it(
    database: str, tmp_path: Path
) -> None:
    """4. A backfill patch that begins `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;` (or
    `SET LOCAL transaction_isolation = …`) — its first statement — failed: 'SET TRANSACTION
    ISOLATION LEVEL must be called before any query', pointing at its line 1, where nothing
    came before it: the runner's own queries (the lock check, the ledger read) ran first in
    the patch's transaction. The runner now runs those first statements right after BEGIN."""
    patches = tmp_path / "patches"
    check = (
        "INSERT INTO public.levels SELECT {n}, current_setting('transaction_isolation') "
        "WHERE NOT EXISTS (SELECT FROM public.levels WHERE n = {n});\n"
    )
    write(
        patches,
        "0001_levels.sql",
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n"
        "CREATE TABLE IF NOT EXISTS public.levels (n int, level text);\n" + check.format(n=1),
    )
    write(
        patches,
        "0002_levels.sql",
        "SET LOCAL transaction_isolation = 'repeatable read';\n"
        "SET TRANSACTION READ WRITE;\n" + check.format(n=2),
    )
    await apply_patches(database, patches)
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch("SELECT n, level FROM public.levels ORDER BY n")
        assert [tuple(r) for r in rows] == [(1, "serializable"), (2, "repeatable read")]
        assert await conn.fetchval("SELECT count(*) FROM tenantguard_patches") == 2
    finally:
        await conn.close()


async def test_a_runner_whose_connection_ends_while_it_waits_for_the_lock_says_so(
    database: str, tmp_path: Path
) -> None:
    """5. A runner waiting for the patch lock whose backend is ended (a server restart, or the
    `pg_terminate_backend(pid)` the holder's message suggests, given the waiter's pid) said
    only `database …: InterfaceError: connection is closed`: not what it was doing, that
    nothing of the run was applied, nor what to do."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    holder = await asyncpg.connect(database)
    try:
        await holder.execute(f"SELECT pg_advisory_lock({LOCK_KEY})")
        child = _apply_process(database, tmp_path)
        try:
            deadline = time.monotonic() + 20
            sql = (
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND query LIKE '%pg_try_advisory_lock%'"
            )
            while (pid := await holder.fetchval(sql)) is None:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            await holder.execute("SELECT pg_terminate_backend($1)", pid)
            _, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    finally:
        await holder.close()
    said = err.decode()
    assert child.returncode == 2, said
    assert "Traceback" not in said
    assert "lost while the runner waited for the patch lock" in said, said
    assert "no patch of this run was applied" in said, said
    assert "Run apply again" in said, said
    assert await fetchval(database, "SELECT to_regclass('a') IS NULL") is True


async def test_a_patch_that_makes_its_transaction_read_only_is_told_where(
    database: str, tmp_path: Path
) -> None:
    """4b. The twin of 4: `SET TRANSACTION READ ONLY` first, run right after BEGIN, made the
    runner's ledger row fail ('cannot execute INSERT in a read-only transaction … in: recording
    it in the ledger', no line): it is named at its line, and nothing is applied."""
    write(
        tmp_path,
        "0001_a.sql",
        "CREATE TABLE IF NOT EXISTS public.a (id int);\n",
    )
    write(
        tmp_path,
        "0002_b.sql",
        "-- reads only\nSET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY;\nSELECT 1;\n",
    )
    with pytest.raises(PatchError) as caught:
        await apply_patches(database, tmp_path)
    said = str(caught.value)
    assert "0002_b.sql:2:1: patch 0002_b.sql makes its transaction READ ONLY" in said, said
    assert caught.value.applied == ["0001_a.sql"]
    assert await ledger_names(database) == ["0001_a.sql"]
    # later in the patch (PostgreSQL lets a transaction turn read-only after its queries)
    write(
        tmp_path,
        "0002_b.sql",
        "INSERT INTO public.a VALUES (1);\nSET LOCAL transaction_read_only = on;\nSELECT 1;\n",
    )
    with pytest.raises(PatchError) as caught:
        await apply_patches(database, tmp_path)
    said = str(caught.value)
    assert "0002_b.sql:2:1: patch 0002_b.sql makes its transaction READ ONLY" in said, said
    assert await fetchval(database, "SELECT count(*) FROM public.a") == 0


async def test_sequences_a_role_cannot_read_are_read_as_pg_sequences_shows_them(
    database: str,
) -> None:
    """2b. Reading a sequence's own `last_value, is_called` (2.) needs SELECT on it: a
    sequence another role keeps to itself is read as pg_sequences shows it, not an error."""
    from tenantguard.patches.dump import derived_states

    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "DO $$ BEGIN IF to_regrole('h33f_reader') IS NULL THEN "
            "CREATE ROLE h33f_reader LOGIN; END IF; END $$;"
            "CREATE SEQUENCE public.kept START WITH 7; CREATE SEQUENCE public.shared;"
            "SELECT setval('public.shared', 40, false);"
            "GRANT SELECT ON public.shared TO h33f_reader"
        )
        reader = await asyncpg.connect(database, user="h33f_reader")
        try:
            states = await derived_states(reader)
        finally:
            await reader.close()
    finally:
        await conn.close()
    assert states["sequence public.kept"] == "next value 7"
    assert states["sequence public.shared"] == "next value 40"


async def test_a_lock_holder_outside_a_transaction_is_not_said_to_have_one_open(
    database: str, tmp_path: Path
) -> None:
    """6. The patch lock is a session lock: its holder (another runner between two patches, a
    psql session that took it) is mostly idle outside any transaction, and the waiter said
    'idle for 1 s, transaction open 1 s' — the connection's age, sending the operator after
    a transaction that does not exist. It says 'no transaction open, connected …' then."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    holder = await asyncpg.connect(database)
    try:
        await holder.execute(f"SELECT pg_advisory_lock({LOCK_KEY})")
        with pytest.raises(PatchError) as caught:
            await apply_patches(database, tmp_path, lock_wait=0.5)
        said = str(caught.value)
        assert "idle for" in said and "no transaction open, connected" in said, said
        assert "transaction open 0 s" not in said.replace("no transaction open", ""), said
        await holder.execute("BEGIN")
        await holder.execute("SELECT 1")
        with pytest.raises(PatchError) as caught:
            await apply_patches(database, tmp_path, lock_wait=0.5)
        said = str(caught.value)
        assert "idle in transaction for" in said and ", transaction open " in said, said
        assert "no transaction open" not in said, said
        await holder.execute("ROLLBACK")
    finally:
        await holder.close()


def test_psql_lines_of_a_create_dump_are_no_statement() -> None:
    """1b. `pg_dump --create` writes `\\connect …` lines: read by the SQL lexer of 1. as part of
    the statement that follows them, which made that statement's lines (and the blank line
    between) "a statement's own" — kept in the database's properties, and in what sync writes
    of them. They are psql's, like `\\restrict`: masked before the split."""
    from tenantguard.patches.dump import schema_objects

    dump = (
        "\\restrict abc\n\nSET statement_timeout = 0;\n\n--\n"
        "-- Name: x; Type: DATABASE PROPERTIES; Schema: -; Owner: -\n--\n\n"
        "ALTER DATABASE x SET search_path TO 'app', 'public';\n\n\n"
        "\\connect -reuse-previous=on \"dbname='x'\"\n\nSET statement_timeout = 0;\n\n"
        "--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n"
    )
    assert schema_objects(dump) == {
        "DATABASE PROPERTIES x": [
            "ALTER DATABASE x SET search_path TO 'app', 'public';",
            "\\connect -reuse-previous=on \"dbname='x'\"",
            "SET statement_timeout = 0;",
        ]
    }
