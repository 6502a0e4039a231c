"""Round 33: the patch pipeline attacked by an outsider (helper h33n), on a real server. Each
test names what happened on the server before the fix.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.runner import apply_patches
from tenantguard.patches.verify import sync_baseline, verify_pipeline
from tests.conftest import fresh_database
from tests.pipeline.test_h33f_pipeline import _prosrc
from tests.pipeline.test_pipeline_faults import write


def _failed(report: object) -> dict[str, str]:
    return {name: said for name, passed, said in report.checks if not passed}  # type: ignore[attr-defined]


async def _new_install(
    postgres: ThrowawayPostgres, baseline: Path, read: Callable[[str], Awaitable[object]]
) -> object:
    """What `read` reads of a new database the baseline (its bytes, as psql sends them) built."""
    async with fresh_database(postgres) as new_install:
        conn = await asyncpg.connect(new_install)
        try:
            await conn.execute(baseline.read_bytes().decode("utf-8"))
        finally:
            await conn.close()
        return await read(new_install)


_DATABASE_COMMENT = (
    "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
    "WHERE datname = current_database()"
)


async def _comment_of_a_new_install(
    postgres: ThrowawayPostgres, tmp_path: Path, comment: str
) -> str:
    """A patch sets `comment` on its database; sync; what the baseline's new install reads."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_comment.sql",
        "DO $$ BEGIN EXECUTE format('COMMENT ON DATABASE %I IS %L', current_database(),\n"
        f"    $c${comment}$c$); END $$;\n",
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    async with fresh_database(postgres) as new_install:
        conn = await asyncpg.connect(new_install)
        try:
            await conn.execute(baseline.read_bytes().decode("utf-8"))
            return str(await conn.fetchval(_DATABASE_COMMENT))
        finally:
            await conn.close()


async def test_verify_reads_the_baseline_s_carriage_returns_as_the_server_does(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """1. verify read the baseline with Python's universal newlines: every `\\r\\n` became `\\n`.
    A function whose body has CRLF line ends (a patch saved on Windows) is written by sync
    byte for byte, and loaded so by psql — but verify loaded it without its `\\r`s and said
    'the pipeline's schema equals the baseline's' failed on a baseline sync had just written;
    and a baseline checked out with CRLF line ends (git autocrlf), whose new installs get a
    `\\r` on every line of every body, passed."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_f.sql",
        "CREATE OR REPLACE FUNCTION public.crlf() RETURNS text LANGUAGE sql AS $$\r\n"
        "SELECT 'a\r\nb'\r\n$$;\n",
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    assert b"SELECT 'a\r\nb'\r\n" in baseline.read_bytes()
    await apply_patches(database, patches)
    assert await _new_install(postgres, baseline, _prosrc) == await _prosrc(database)
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    assert report.ok, report.checks
    # the twin: bodies without `\r`, a baseline whose every line ends in CRLF
    write(
        patches,
        "0001_f.sql",
        "CREATE OR REPLACE FUNCTION public.crlf() RETURNS text LANGUAGE sql AS $$\n"
        "SELECT 'a\nb'\n$$;\n",
    )
    await sync_baseline(postgres.dsn, patches, baseline)
    assert report.ok, report.checks
    baseline.write_bytes(baseline.read_bytes().replace(b"\n", b"\r\n"))
    failed = _failed(await verify_pipeline(postgres.dsn, patches, baseline))
    assert "the pipeline's schema equals the baseline's" in failed, failed
    assert "+ SELECT 'a\r" in failed["the pipeline's schema equals the baseline's"], failed


async def test_verify_sees_an_owner_change_written_inside_a_function_body(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """2. The live-database check leaves out `ALTER … OWNER TO <the verifying user or the
    ledger's owner>;` (a migration role owning what it made is no drift) — every line that
    read so, inside a function body too: a function edited by hand on the live database to
    hand a table to the migration role (`ALTER TABLE public.notes OWNER TO app;` in its body)
    was said to equal what the patches build. Only pg_dump's own owner lines are left out."""
    patches = tmp_path / "patches"
    function = (
        "CREATE OR REPLACE FUNCTION public.handover() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\n{body}END\n$$;\n"
    )
    write(
        patches,
        "0001_f.sql",
        "CREATE TABLE IF NOT EXISTS public.notes (id int);\n" + function.format(body="NULL;\n"),
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    await apply_patches(database, patches)
    conn = await asyncpg.connect(database)
    try:
        user = str(await conn.fetchval("SELECT quote_ident(current_user)"))
        # the safe twin: what the migration role owns is no drift
        await conn.execute(f"ALTER TABLE public.notes OWNER TO {user}")
    finally:
        await conn.close()
    report = await verify_pipeline(database, patches, baseline)
    assert report.ok, report.checks
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            function.format(body=f"NULL;\nALTER TABLE public.notes OWNER TO {user};\n")
        )
    finally:
        await conn.close()
    failed = _failed(await verify_pipeline(database, patches, baseline))
    live = [name for name in failed if name.startswith("the database's schema equals")]
    assert live, failed
    assert f"+ ALTER TABLE public.notes OWNER TO {user};" in failed[live[0]], failed


async def _populated(dsn: str) -> list[tuple[str, bool]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT relname, relispopulated FROM pg_class WHERE relkind = 'm' ORDER BY 1"
        )
        return [(str(r[0]), bool(r[1])) for r in rows]
    finally:
        await conn.close()


async def test_sync_reads_the_refreshes_of_the_data_dump_as_statements(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """4. sync took the baseline's `REFRESH MATERIALIZED VIEW` statements as the lines of
    pg_dump's post-data section that begin so: a comment on an index (post-data too) holding
    such a line, a runbook, wrote a refresh of a view the patches leave WITH NO DATA into the
    baseline (new installs populated, upgraded databases not: verify then failed on what sync
    had just written); a view whose name holds a newline got half its REFRESH — the baseline
    did not load and sync refused. They are read through the SQL lexer now."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_views.sql",
        "CREATE TABLE IF NOT EXISTS public.visits (id int);\n"
        "CREATE INDEX IF NOT EXISTS visits_id ON public.visits (id);\n"
        "COMMENT ON INDEX public.visits_id IS 'runbook, after a bulk load:\n"
        "REFRESH MATERIALIZED VIEW public.later;\n';\n"
        "CREATE MATERIALIZED VIEW IF NOT EXISTS public.later AS SELECT 1 AS one WITH NO DATA;\n"
        'CREATE MATERIALIZED VIEW IF NOT EXISTS public."daily\ntotals" AS\n'
        "    SELECT count(*) AS n FROM public.visits;\n",
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    await apply_patches(database, patches)
    assert await _populated(database) == [("daily\ntotals", True), ("later", False)]
    async with fresh_database(postgres) as new_install:
        conn = await asyncpg.connect(new_install)
        try:
            await conn.execute(baseline.read_bytes().decode("utf-8"))
        finally:
            await conn.close()
        assert await _populated(new_install) == await _populated(database)
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    assert report.ok, report.checks


async def test_a_pinned_extension_leaves_function_bodies_as_they_are(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """5. With an extension at another version than the server's default, sync's rewrite of
    pg_dump's `CREATE EXTENSION … WITH SCHEMA …;` (it adds the `VERSION`) went over the whole
    dump line by line with str.splitlines: a function body's `\\r\\n` became `\\n` (and so
    did a `\\u2028` in a literal), and a body's own `CREATE EXTENSION IF NOT EXISTS hstore WITH
    SCHEMA public;` line got a VERSION the patch never wrote — in the baseline and in what
    verify compared alike, so no check saw new installs' bodies differ."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_f.sql",
        "CREATE EXTENSION IF NOT EXISTS hstore VERSION '1.4';\n"
        "CREATE OR REPLACE FUNCTION public.setup() RETURNS text LANGUAGE sql AS $$\r\n"
        "SELECT 'to run by hand:\n"
        "CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public;\n"
        "done\u2028'\r\n$$;\n",
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    assert "VERSION '1.4'" in baseline.read_text(encoding="utf-8")
    await apply_patches(database, patches)
    assert await _new_install(postgres, baseline, _prosrc) == await _prosrc(database)
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    assert report.ok, report.checks


async def test_a_database_comment_keeps_its_lines_that_begin_with_a_backslash(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """6. What a patch sets on the database itself is read from `pg_dump --create`, without
    psql's `\\connect` lines: every line beginning with a backslash was dropped, a line of a
    multi-line `COMMENT ON DATABASE` literal too (a runbook's `\\set ON_ERROR_STOP on`) — from
    the baseline and from what sync and verify compare alike: new installs' comment lacked it."""
    comment = "psql runbook:\n\\set ON_ERROR_STOP on\n\\i fix.sql"
    assert await _comment_of_a_new_install(postgres, tmp_path, comment) == comment
    report = await verify_pipeline(postgres.dsn, tmp_path / "patches", tmp_path / "schema.sql")
    assert report.ok, report.checks


async def test_a_database_comment_may_say_database_in_angle_brackets(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """7. What is set on the database is written into the baseline for whichever database
    loads it: the scratch database's name is read as `<database>`, and every `<database>`
    then became `%1$I` of format() — inside a comment's literal too (`psql -d <database>`, a
    runbook's placeholder): new installs' comment named their database, and sync refused."""
    said = await _comment_of_a_new_install(postgres, tmp_path, "connect: psql -d <database>")
    assert said == "connect: psql -d <database>"


async def test_a_function_body_s_create_schema_line_stays_as_written(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """8. sync makes the baseline's `CREATE SCHEMA x;` of the search path's schemas `CREATE
    SCHEMA IF NOT EXISTS x;` (a new install's administrator may have made them): by a text
    replace over the whole baseline — a function body's own `CREATE SCHEMA public;` line (a
    demo reset) was rewritten too, and sync refused the baseline ('would not build the
    pipeline's schema'). pg_dump's own lines only now."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_f.sql",
        "CREATE OR REPLACE FUNCTION public.reset_demo() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\nDROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\nEND\n$$;\n",
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    await apply_patches(database, patches)
    assert await _new_install(postgres, baseline, _prosrc) == await _prosrc(database)


async def test_a_database_comment_may_hold_the_baseline_s_own_dollar_quote(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """9. The baseline sets what is set on the database through `EXECUTE format($tg_sql$…
    $tg_sql$, current_database())`: a comment holding `$tg_sql$` (one that documents how the
    baseline does it) ended the quote early — the baseline did not load and sync refused."""
    comment = "set by the baseline's $tg_sql$ … $tg_sql$ blocks"
    assert await _comment_of_a_new_install(postgres, tmp_path, comment) == comment


async def test_a_cycling_sequence_at_its_end_is_read_at_its_start(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """10. A sequence's next value was read as `last_value + increment` once called: a CYCLE
    sequence a patch leaves at its MAXVALUE (a ticket counter wrapping 1…9999, set to its end
    so that the next ticket is 1) was said to give 10000 next — verify failed on a baseline
    whose new installs give 1 next, as upgraded databases do, and told to change START WITH."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_tickets.sql",
        "DO $$ BEGIN\n"
        "    IF to_regclass('public.ticket_no') IS NULL THEN\n"
        "        CREATE SEQUENCE public.ticket_no MAXVALUE 9999 CYCLE;\n"
        "        PERFORM setval('public.ticket_no', 9999);\n"
        "    END IF;\n"
        "    IF to_regclass('public.countdown') IS NULL THEN\n"
        "        CREATE SEQUENCE public.countdown INCREMENT BY -1 MINVALUE 1 MAXVALUE 5 CYCLE;\n"
        "        PERFORM setval('public.countdown', 1);\n"
        "    END IF;\n"
        "END $$;\n",
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    await apply_patches(database, patches)
    async with fresh_database(postgres) as new_install:
        conn = await asyncpg.connect(new_install)
        try:
            await conn.execute(baseline.read_bytes().decode("utf-8"))
            fresh = await conn.fetchval(
                "SELECT (nextval('public.ticket_no'), nextval('public.countdown'))::text"
            )
        finally:
            await conn.close()
    conn = await asyncpg.connect(database)
    try:
        upgraded = await conn.fetchval(
            "SELECT (nextval('public.ticket_no'), nextval('public.countdown'))::text"
        )
    finally:
        await conn.close()
    assert fresh == upgraded == "(1,5)"
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    assert report.ok, report.checks
