"""Round 22: the patch pipeline under fault injection by an outsider (helper-100), on a real
server.

1. What a patch leaves in its session besides settings: a statement of SQL's PREPARE made the
   next patch's `PREPARE seed` fail on a fresh database (and pass on the next run, split
   otherwise), and the caller's connection came back holding the patch's advisory lock, its
   prepared statement, its held cursor and its LISTEN.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.files import PatchError, PatchUsageError
from tenantguard.patches.runner import apply_patches
from tenantguard.patches.verify import sync_baseline, verify_pipeline
from tests.pipeline.test_pipeline_faults import fetchval, ledger_names, write


async def test_a_patch_leaves_nothing_in_the_session_for_the_next_or_the_caller(
    database: str, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    seed = (
        "PREPARE seed(text) AS INSERT INTO clinics (name) VALUES ($1) "
        "ON CONFLICT (name) DO NOTHING;\n"
    )
    write(
        patches,
        "0001_clinics.sql",
        "CREATE TABLE IF NOT EXISTS clinics (id serial PRIMARY KEY, name text NOT NULL UNIQUE);\n"
        + seed
        + "EXECUTE seed('a');\n"
        "SELECT pg_advisory_lock(4242);\n"
        "SELECT pg_advisory_lock(4242);\n"  # taken twice: released twice
        "SELECT pg_advisory_lock_shared(7, 8);\n"
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1;\n"
        "LISTEN patch_events;\n",
    )
    write(patches, "0002_more.sql", seed + "EXECUTE seed('b');\n")
    conn = await asyncpg.connect(database)
    try:
        run = await apply_patches(conn, patches)
        assert run.applied == ["0001_clinics.sql", "0002_more.sql"]
        assert [r[0] for r in await conn.fetch("SELECT name FROM clinics ORDER BY name")] == [
            "a",
            "b",
        ]
        # the caller's connection: nothing of the patches' left
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_prepared_statements WHERE from_sql") == 0
        )
        assert await conn.fetchval("SELECT count(*) FROM pg_cursors WHERE is_holdable") == 0
        assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 0
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid()"
            )
            == 0
        )
        # and the connection still works with asyncpg's own prepared statements
        assert await conn.fetchval("SELECT $1::int + 1", 1) == 2
    finally:
        await conn.close()
    # another session takes the lock the patch took
    assert await fetchval(database, "SELECT pg_try_advisory_lock(4242)") is True
    assert await ledger_names(database) == ["0001_clinics.sql", "0002_more.sql"]


async def test_an_invalid_index_of_the_name_in_another_schema_is_not_the_patchs(
    database: str, tmp_path: Path
) -> None:
    """2. An INVALID index named like a patch's (unqualified) concurrent index, on a table of
    the same name in another schema, was "rebuilt" with the patch at every start (exit 0, the
    index still invalid, the startup's fast path never taken again). It is not the patch's: the
    patch builds its index beside the table the search path finds."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_t.sql",
        "CREATE TABLE IF NOT EXISTS leads (id serial PRIMARY KEY, phone text);\n",
    )
    write(
        patches,
        "0002_idx.sql",
        "-- tenantguard: no-transaction\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS leads_phone_idx ON leads (phone);\n",
    )
    conn = await asyncpg.connect(database)
    try:
        await apply_patches(conn, patches)
        await conn.execute(
            "CREATE SCHEMA archive; CREATE TABLE archive.leads (id int, phone text);"
            "INSERT INTO archive.leads VALUES (1, 'a'), (2, 'a')"
        )
        with contextlib.suppress(asyncpg.UniqueViolationError):
            await conn.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY leads_phone_idx ON archive.leads (phone)"
            )
        assert (
            await conn.fetchval(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = 'archive.leads_phone_idx'::regclass"
            )
            is False
        )
        for _ in range(2):
            run = await apply_patches(conn, patches)
            assert run.rebuilt == [] and run.applied == []
    finally:
        await conn.close()


async def test_verify_and_sync_run_no_role_change_on_the_server_they_are_given(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """3. verify and sync run the patches (and the baseline) on scratch databases of the server
    they are given: a pending patch's `ALTER ROLE app_rw NOLOGIN`, or a baseline's `GRANT
    pg_read_all_data TO app_rw`, changed the live server's role (the application could not log
    in; the role read every table) while verify said ok. They refuse now, before running
    anything; `--throwaway-server` says the server is one to change."""
    role = "tg_round22_rw"
    await fetchval(
        postgres.dsn,
        f"DO $$ BEGIN IF to_regrole('{role}') IS NULL THEN CREATE ROLE {role} LOGIN; END IF; "
        "END $$",
    )
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS notes (id int, tenant_id int);\n")
    await sync_baseline(postgres.dsn, patches, baseline)
    assert (await verify_pipeline(postgres.dsn, patches, baseline)).ok
    write(patches, "0002_retire.sql", f"ALTER ROLE {role} NOLOGIN;\n")
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    failed = {name: difference for name, passed, difference in report.checks if not passed}
    assert list(failed) == ["the patches and the baseline change nothing outside their database"]
    assert "0002_retire.sql:1: ALTER ROLE" in failed[next(iter(failed))]
    assert await fetchval(
        postgres.dsn, f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}'"
    )
    with pytest.raises(PatchUsageError, match="beyond their database"):
        await sync_baseline(postgres.dsn, patches, baseline)
    # the same in a DO block's dynamic SQL, and in the baseline
    write(
        patches,
        "0002_retire.sql",
        f"DO $$ BEGIN EXECUTE 'ALTER ROLE ' || '{role}' || ' NOLOGIN'; END $$;\n",
    )
    assert not (await verify_pipeline(postgres.dsn, patches, baseline)).ok
    (patches / "0002_retire.sql").unlink()
    baseline.write_text(baseline.read_text() + f"\nGRANT pg_read_all_data TO {role};\n")
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    assert not report.ok
    assert (
        await fetchval(postgres.dsn, f"SELECT pg_has_role('{role}', 'pg_read_all_data', 'MEMBER')")
        is False
    )
    # on a throwaway server it runs them
    write(patches, "0002_retire.sql", f"ALTER ROLE {role} NOLOGIN;\n")
    baseline.write_text(baseline.read_text().replace(f"GRANT pg_read_all_data TO {role};", ""))
    await sync_baseline(postgres.dsn, patches, baseline, throwaway_server=True)
    await verify_pipeline(postgres.dsn, patches, baseline, throwaway_server=True)
    assert not await fetchval(
        postgres.dsn, f"SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}'"
    )
    await fetchval(postgres.dsn, f"ALTER ROLE {role} LOGIN")


REPOSITORY = Path(__file__).resolve().parent.parent.parent


@contextlib.asynccontextmanager
async def role_and_database(
    postgres: ThrowawayPostgres, label: str, *, owned: bool
) -> AsyncIterator[str]:
    """A login role and a database of one name (owned by the role, or by postgres), dropped
    after."""
    name = f"tg_round22_{label}_{os.getpid()}"
    await fetchval(postgres.dsn, f"DROP DATABASE IF EXISTS {name}")
    await fetchval(
        postgres.dsn,
        f"DO $$ BEGIN IF to_regrole('{name}') IS NULL THEN CREATE ROLE {name} LOGIN; END IF; END $$",
    )
    await fetchval(postgres.dsn, f"CREATE DATABASE {name}" + (f" OWNER {name}" if owned else ""))
    try:
        yield name
    finally:
        await fetchval(postgres.dsn, f"DROP DATABASE {name} WITH (FORCE)")
        await fetchval(postgres.dsn, f"DROP ROLE {name}")


async def test_a_baseline_in_public_and_patches_in_the_roles_own_schema(
    postgres: ThrowawayPostgres,
) -> None:
    """4. The baseline pg_dump writes names every object `public.…`; the patches follow the
    search path. A role with a schema of its own name (`"$user", public`: PostgreSQL's advice)
    loading the baseline, then applying the patches, got the whole schema twice — the
    application on the empty copy in its own schema. The runner refuses to build the second
    copy, and says how to run it; with the search path set, the patches find the baseline's."""
    async with role_and_database(postgres, "dl", owned=True) as name:
        dsn = postgres.dsn_for(name, user=name)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"CREATE SCHEMA {name} AUTHORIZATION {name}")
            baseline = (REPOSITORY / "db/init/dentalogic_schema.sql").read_text(encoding="utf-8")
            await conn.execute(baseline)
            with pytest.raises(PatchUsageError, match="built twice"):
                await apply_patches(conn, REPOSITORY / "patches")
            tables = await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = $1", name
            )
            assert tables == 0  # nothing was built in the role's schema
        finally:
            await conn.close()
        # the runner resets the session (RESET ALL): the search path given at connection time
        conn = await asyncpg.connect(dsn, server_settings={"search_path": "public"})
        try:
            run = await apply_patches(conn, REPOSITORY / "patches")
            assert run.applied  # recorded, each changing nothing the baseline built
            assert (
                await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = $1", name)
                == 0
            )
        finally:
            await conn.close()


async def test_a_runner_that_owns_the_ledger_but_not_the_schema(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """5. A runner that owns the tables and the ledger, without CREATE on the schema, was told it
    cannot create the ledger (CREATE TABLE IF NOT EXISTS asks for CREATE first)."""
    patches = tmp_path / "patches"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS clinics (id int PRIMARY KEY);\n")
    async with role_and_database(postgres, "mig", owned=False) as name:
        owner = await asyncpg.connect(postgres.dsn_for(name))
        try:
            await apply_patches(owner, patches)
            await owner.execute(
                f"ALTER TABLE clinics OWNER TO {name}; ALTER TABLE tenantguard_patches OWNER TO {name};"
                f"REVOKE CREATE ON SCHEMA public FROM PUBLIC"
            )
        finally:
            await owner.close()
        write(patches, "0002_x.sql", "ALTER TABLE clinics ADD COLUMN IF NOT EXISTS phone text;\n")
        conn = await asyncpg.connect(postgres.dsn_for(name, user=name))
        try:
            run = await apply_patches(conn, patches)
            assert run.applied == ["0002_x.sql"]
        finally:
            await conn.close()


# helper-105, on the fixes above: verify and sync still changed the live server through
# dynamic SQL the first screen did not read (ALTER DATABASE, REVOKE … ON DATABASE, a comment
# or `||` splitting the words, an escape string), a function a patch creates and calls, CREATE
# ROLE … IN ROLE (a grant), dblink, COPY TO a file or a program, pg_reload_conf,
# pg_terminate_backend; and refused patches whose DO block said "alter role" in a comment.
SERVER_WIDE = {
    "DO $$ BEGIN EXECUTE 'ALTER DATABASE prod CONNECTION LIMIT 0'; END $$;": True,
    "DO $$ BEGIN EXECUTE 'REVOKE CONNECT ON DATABASE prod FROM PUBLIC'; END $$;": True,
    "DO $$ BEGIN EXECUTE 'COMMENT ON DATABASE prod IS $c$x$c$'; END $$;": True,
    "DO $$ BEGIN EXECUTE 'ALTER/**/ROLE app_rw NOLOGIN'; END $$;": True,
    "DO $$ BEGIN EXECUTE E'ALTER\\x20ROLE app_rw NOLOGIN'; END $$;": True,
    "DO $$ BEGIN EXECUTE 'ALTER' || ' ROLE app_rw NOLOGIN'; END $$;": True,
    "DO $$ BEGIN EXECUTE 'ALTER ROLE app_rw NOLOGIN /* IN DATABASE */'; END $$;": True,
    "DO $$ BEGIN EXECUTE 'ALTER ROLE app_rw IN DATABASE prod SET work_mem = 1'; END $$;": True,
    "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN ALTER ROLE app_rw NOLOGIN; "
    "END $f$;": True,
    "CREATE FUNCTION g() RETURNS void LANGUAGE sql AS $f$ SELECT pg_reload_conf() $f$;": True,
    "CREATE ROLE tg_reader NOLOGIN IN ROLE pg_execute_server_program;": True,
    "SELECT dblink_exec('host=x', 'DROP TABLE important');": True,
    "COPY (SELECT 1) TO PROGRAM 'id';": True,
    "COPY (SELECT 'work_mem = 1') TO '/tmp/postgresql.auto.conf';": True,
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity;": True,
    # what stays in the database (`patches sync` writes the first ones)
    "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET app.strict = on', current_database()); "
    "EXECUTE format('ALTER ROLE r IN DATABASE %I SET work_mem = %L', current_database(), '8MB'); "
    "EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', current_database()); END $$;": False,
    "DO $$ BEGIN -- staff alter role-specific dashboards\n"
    "EXECUTE 'CREATE TABLE stats (id bigint)'; END $$;": False,
    "DO $$ BEGIN RAISE NOTICE 'grant read access to analysts'; "
    "EXECUTE 'CREATE TABLE stats (id bigint)'; END $$;": False,
    "DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables LOOP "
    "EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t); END LOOP; END $$;": False,
    "DO $$ BEGIN IF to_regrole('reader') IS NULL THEN CREATE ROLE reader NOLOGIN; END IF; END $$;": False,
    "COPY clinics FROM STDIN;": False,
}


@pytest.mark.parametrize(("sql", "beyond"), SERVER_WIDE.items())
def test_what_acts_beyond_the_database(sql: str, beyond: bool) -> None:
    from tenantguard.patches.statements import server_wide, split_patch

    found = [what for statement in split_patch(sql, "p.sql") for what in server_wide(statement)]
    assert bool(found) == beyond, found


async def test_a_patch_that_releases_the_pipeline_lock_stops_the_run(
    database: str, tmp_path: Path
) -> None:
    """A patch ending with `pg_advisory_unlock_all()` released the runner's lock: a replica
    starting then applied the next patch at the same time (a unique violation on the ledger,
    or a non-idempotent patch run twice). The run stops after that patch."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_a.sql",
        "CREATE TABLE IF NOT EXISTS a (id int);\nSELECT pg_advisory_unlock_all();\n",
    )
    write(patches, "0002_b.sql", "CREATE TABLE IF NOT EXISTS b (id int);\n")
    conn = await asyncpg.connect(database)
    try:
        with pytest.raises(PatchError, match="released the pipeline's advisory lock") as raised:
            await apply_patches(conn, patches)
        assert raised.value.applied == ["0001_a.sql"]
        assert await ledger_names(database) == ["0001_a.sql"]
        assert await conn.fetchval("SELECT to_regclass('b')") is None
    finally:
        await conn.close()


async def test_a_patch_that_sets_its_search_path_is_no_second_copy(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """A patch that sets its own search path (`SET search_path = public`) creates where it
    says: the check of second copies (which reads the runner's search path) refused it."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_base.sql",
        "SET search_path = public;\nCREATE TABLE IF NOT EXISTS clinics (id int);\n",
    )
    async with role_and_database(postgres, "sp", owned=True) as name:
        dsn = postgres.dsn_for(name, user=name)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"CREATE TABLE public.clinics (id int); CREATE SCHEMA {name}")
            run = await apply_patches(conn, patches)
            assert run.applied == ["0001_base.sql"]
            assert (
                await conn.fetchval("SELECT count(*) FROM pg_tables WHERE tablename = 'clinics'")
                == 1
            )
        finally:
            await conn.close()
