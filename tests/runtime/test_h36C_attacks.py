"""Round 36 (helper h36C): attacks on the runtime guard from outside, on a real server. Each
case asserts on the rows a statement read or changed.

1. FIXED: a search path set by the server behind the guard's back. `countries` is a global
   table in public and a tenant table in archive (the policy's `global_homes`, from schema
   sources, with config search_path ['public']); `ALTER DATABASE … SET search_path = archive,
   public` (or ALTER ROLE … SET), made by a DBA outside the sources, is the path of every new
   session. The guard read `SELECT code FROM countries` as public's global table: clinic 1 got
   every clinic's archive rows. The guard now reads the session's real path
   (`current_schemas(true)`) with the catalog, and refuses every statement of a connection
   whose path reads a name it holds global elsewhere (as for a path in startup settings).

2. FIXED (the open item of h34): a statement pinned by the tenant setting inside
   `unscoped()` ran with the setting '' (the guard sets it to the block's tenant: none) and
   failed casting '' or returned no row, silently wrong for a maintenance job. Refused now,
   saying why; a parameter pin in unscoped() still runs.

3. FIXED: a function with its own `SET search_path = archive, public` (LANGUAGE sql, or
   plpgsql SECURITY DEFINER) whose body reads `countries`: the guard sorted the body by the
   configured path (public's global table) and passed `SELECT * FROM country_codes()`, which
   returned ['mine', 'theirs']. Such a function (its path reading a name held global
   elsewhere) is now a relation that cannot be pinned: refused. (The static check does not
   leak here: a function of the sources with a search_path makes its reader drop every
   name's resolution by the path — `countries` is then a tenant name everywhere.)

4. FIXED: a temporary table shadowing a global table. pg_temp is searched first for
   relations; a job in unscoped() made `CREATE TEMP TABLE countries AS SELECT tenant_id, code
   FROM archive.countries`, and clinic 1's `SELECT code FROM countries` on that session
   passed (public's global table for the guard) and returned ['mine', 'theirs']. The catalog
   read (made again after a statement that may change the schema) now reads the session's
   own temporary relations; one named like a global table refuses the connection's
   statements outside unscoped() until it is dropped.

5. HELD: a setting-pinned read of clinic 1 cancelled while it runs (asyncio.wait_for, a
   TaskGroup whose sibling fails, a shield around it): clinic 2's next read on the
   connection returns ['Carla'] only, and the connection stays usable.

6. HELD: the session's path changed by the session itself — `SET search_path = archive,
   public`, set_config('search_path', …, false), a SQL function calling set_config, a
   plpgsql function's `EXECUTE 'SET sea' || 'rch_path = …'` — in an unscoped() job before a
   request, or inside the request's block before its read: `SELECT code FROM countries`
   returns ['es', 'fr'] or is refused, never archive's rows (the switch reset, TG006, the
   function sorting).

7. HELD: a pool whose init= or setup= runs `SET search_path = archive, public`: the read of
   `countries` is refused or returns ['es', 'fr'].

8. HELD: copy_from_table / copy_records_to_table("countries", schema_name="archive") in
   clinic 1's block are refused (archive's rows unchanged, none read); public's copies.

9. HELD (catalog watch installed): a view passing patients' tenant_id through, replaced in
   place by another session between two pool leases with `SELECT 1::bigint AS tenant_id,
   first_name FROM patients`: the next lease's cached, already-prepared read is refused
   (it would return Ana, Bruno and Carla to clinic 1).
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant
from tests.runtime.test_runtime import POLICY

COUNTRIES = (
    "CREATE TABLE countries (code text);"
    " INSERT INTO countries VALUES ('es'), ('fr');"
    " CREATE SCHEMA archive;"
    " CREATE TABLE archive.countries (tenant_id bigint NOT NULL, code text);"
    " INSERT INTO archive.countries VALUES (1, 'mine'), (2, 'theirs')"
)
PATH_POLICY = POLICY.replace(
    tenant_tables={*POLICY.tenant_tables, "countries"},
    global_homes={"countries": {"public"}},
    relation_homes={"countries": {"public", "archive"}},
    search_path=("public",),
)


async def _raw(dsn: str, sql: str) -> list[asyncpg.Record]:
    raw = await asyncpg.connect(dsn)
    try:
        if ";" in sql:
            await raw.execute(sql)
            return []
        return list(await raw.fetch(sql))
    finally:
        await raw.close()


@pytest.mark.parametrize("where", ["database", "role"])
async def test_a_search_path_set_by_the_server_is_read(two_clinics: str, where: str) -> None:
    await _raw(two_clinics, COUNTRIES + ";")
    database = two_clinics.rsplit("/", 1)[-1].split("?")[0]
    role = (await _raw(two_clinics, "SELECT current_user::text"))[0][0]
    if where == "database":
        await _raw(two_clinics, f"ALTER DATABASE {database} SET search_path = archive, public;")
    else:
        await _raw(
            two_clinics,
            f"ALTER ROLE {role} IN DATABASE {database} SET search_path = archive, public;",
        )
    try:
        conn = await connect(two_clinics, policy=PATH_POLICY)
        try:
            rows: list[object] = []
            with tenant(1), pytest.raises(TenantIsolationError, match="search_path"):
                rows = [r[0] for r in await conn.fetch("SELECT code FROM countries ORDER BY 1")]
            assert rows == []  # was ['mine', 'theirs']: every clinic's archive rows
        finally:
            await conn.close()
    finally:
        if where == "role":
            await _raw(two_clinics, f"ALTER ROLE {role} IN DATABASE {database} RESET ALL;")


async def test_the_default_path_reads_public(two_clinics: str) -> None:
    """The twin: the path the policy says, the global table read as global."""
    await _raw(two_clinics, COUNTRIES + ";")
    conn = await connect(two_clinics, policy=PATH_POLICY)
    try:
        with tenant(1):
            rows = [r[0] for r in await conn.fetch("SELECT code FROM countries ORDER BY 1")]
        assert rows == ["es", "fr"]
    finally:
        await conn.close()


# ------------------------------------- 2. a statement pinned by the setting inside unscoped()
SETTING_PINNED = (
    "SELECT first_name FROM patients"
    " WHERE tenant_id = current_setting('app.tenant_id', true)::bigint ORDER BY 1"
)


async def test_a_setting_pinned_statement_inside_unscoped_is_refused(two_clinics: str) -> None:
    """unscoped() holds no tenant: the guard sets the setting to '' for the statement, which
    then reads NULL and returns no row, silently (h34 noted it). Refused now, saying why;
    a parameter pin inside unscoped() still runs."""
    from tenantguard.runtime import unscoped

    conn = await connect(two_clinics, policy=POLICY)
    try:
        rows: list[object] = ["unset"]
        with unscoped("nightly job"):
            with pytest.raises(TenantIsolationError, match="unscoped"):
                rows = await conn.fetch(SETTING_PINNED)
            assert rows == ["unset"]  # was []: no row, no error
            twin = await conn.fetch(
                "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY 1", 2
            )
            assert [r[0] for r in twin] == ["Carla"]
        with tenant(1):
            assert [r[0] for r in await conn.fetch(SETTING_PINNED)] == ["Ana", "Bruno"]
    finally:
        await conn.close()


# ------------------------------------------- 3. a function's own SET search_path clause
FUNCTION_PATH = {
    "set clause": "CREATE FUNCTION country_codes() RETURNS SETOF text LANGUAGE sql"
    " SET search_path = archive, public AS $$ SELECT code FROM countries $$",
    "security definer": "CREATE FUNCTION country_codes() RETURNS SETOF text LANGUAGE plpgsql"
    " SECURITY DEFINER SET search_path = archive, public"
    " AS $$ BEGIN RETURN QUERY SELECT code FROM countries; END $$",
}


@pytest.mark.parametrize("shape", sorted(FUNCTION_PATH))
async def test_a_function_reading_under_its_own_path_is_refused(
    two_clinics: str, shape: str
) -> None:
    await _raw(two_clinics, COUNTRIES + "; " + FUNCTION_PATH[shape] + ";")
    conn = await connect(two_clinics, policy=PATH_POLICY)
    try:
        rows: list[object] = []
        with tenant(1), pytest.raises(TenantIsolationError):
            rows = [r[0] for r in await conn.fetch("SELECT * FROM country_codes() ORDER BY 1")]
        assert rows == []
    finally:
        await conn.close()


async def test_a_function_whose_path_reads_the_global_table_passes(two_clinics: str) -> None:
    await _raw(
        two_clinics,
        COUNTRIES + "; CREATE FUNCTION country_codes() RETURNS SETOF text LANGUAGE sql"
        " SET search_path = public, archive AS $$ SELECT code FROM countries $$;",
    )
    conn = await connect(two_clinics, policy=PATH_POLICY)
    try:
        with tenant(1):
            rows = [r[0] for r in await conn.fetch("SELECT * FROM country_codes() ORDER BY 1")]
        assert rows == ["es", "fr"]
    finally:
        await conn.close()


# ------------------------------------------- 4. a temporary table shadowing a global name
async def test_a_temporary_table_shadowing_a_global_table_is_not_read_as_global(
    two_clinics: str,
) -> None:
    """pg_temp is searched first for relations: a temporary `countries` made by a job in
    unscoped() from every clinic's archive rows is what a later request's `SELECT code FROM
    countries` reads on that session."""
    from tenantguard.runtime import unscoped

    await _raw(two_clinics, COUNTRIES + ";")
    conn = await connect(two_clinics, policy=PATH_POLICY)
    try:
        with unscoped("report job"):
            await conn.execute(
                "CREATE TEMP TABLE countries AS SELECT tenant_id, code FROM archive.countries"
            )
        rows: list[object] = []
        with tenant(1), pytest.raises(TenantIsolationError):
            rows = [r[0] for r in await conn.fetch("SELECT code FROM countries ORDER BY 1")]
        assert rows == []  # was ['mine', 'theirs']: the temporary copy of every clinic's rows
        with unscoped("report job done"):
            await conn.execute("DROP TABLE pg_temp.countries")
        with tenant(1):  # the twin: the global table again
            rows = [r[0] for r in await conn.fetch("SELECT code FROM countries ORDER BY 1")]
        assert rows == ["es", "fr"]
    finally:
        await conn.close()


# ------------------------------------------- 5. a guarded call cancelled in its middle
SLOW_SETTING_READ = (
    "SELECT p.first_name FROM patients p, pg_sleep($1::float8)"
    " WHERE p.tenant_id = current_setting('app.tenant_id')::bigint ORDER BY 1"
)


@pytest.mark.parametrize("how", ["wait_for", "task_group", "shield"])
async def test_a_cancelled_call_leaves_no_tenant_behind(two_clinics: str, how: str) -> None:
    """Clinic 1's setting-pinned read cancelled while it runs (the guard set the setting to
    1 for it); clinic 2's next read on the connection gets clinic 2's rows only."""
    import asyncio

    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            call = conn.fetch(SLOW_SETTING_READ, 0.5)
            if how == "wait_for":
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(call, 0.1)
            elif how == "task_group":
                with pytest.raises(ExceptionGroup):
                    async with asyncio.TaskGroup() as group:
                        group.create_task(call)

                        async def fail() -> None:
                            await asyncio.sleep(0.1)
                            raise RuntimeError("sibling failed")

                        group.create_task(fail())
            else:
                task = asyncio.ensure_future(call)
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), 0.1)
                # the shielded call goes on: clinic 1's rows, in clinic 1's block
                assert [r[0] for r in await task] == ["Ana", "Bruno"]
        with tenant(2):
            rows = [r[0] for r in await conn.fetch(SLOW_SETTING_READ, 0)]
        assert rows == ["Carla"]
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


# ------------------------------------------- 6. a path a job of the session left behind
PATH_CHANGES = {
    "SET": "SET search_path = archive, public",
    "set_config": "SELECT set_config('search_path', 'archive, public', false)",
    "a function's SET": "SELECT set_path()",
    "dynamic SQL": "SELECT set_path_hidden()",
}
PATH_FUNCTIONS = (
    "; CREATE FUNCTION set_path() RETURNS void LANGUAGE sql AS"
    " $$ SELECT set_config('search_path', 'archive, public', false) $$;"
    " CREATE FUNCTION set_path_hidden() RETURNS void LANGUAGE plpgsql AS"
    " $$ BEGIN EXECUTE 'SET sea' || 'rch_path = archive, public'; END $$;"
)


@pytest.mark.parametrize("change", sorted(PATH_CHANGES))
async def test_a_path_an_unscoped_job_set_is_not_read_by_the_next_request(
    two_clinics: str, change: str
) -> None:
    await _raw(
        two_clinics,
        COUNTRIES + PATH_FUNCTIONS,
    )
    from tenantguard.runtime import unscoped

    conn = await connect(two_clinics, policy=PATH_POLICY)
    try:
        with unscoped("archive job"):
            await conn.execute(PATH_CHANGES[change])
        rows: list[object] = []
        with tenant(1):
            try:
                rows = [r[0] for r in await conn.fetch("SELECT code FROM countries ORDER BY 1")]
            except TenantIsolationError:
                rows = ["refused"]
        assert rows in (["es", "fr"], ["refused"])  # never ['mine', 'theirs']
    finally:
        await conn.close()


@pytest.mark.parametrize("change", sorted(PATH_CHANGES))
async def test_a_path_changed_inside_the_request_is_not_read(two_clinics: str, change: str) -> None:
    await _raw(
        two_clinics,
        COUNTRIES + PATH_FUNCTIONS,
    )
    conn = await connect(two_clinics, policy=PATH_POLICY)
    try:
        rows: list[object] = []
        with tenant(1):
            try:
                await conn.execute(PATH_CHANGES[change])
                rows = [r[0] for r in await conn.fetch("SELECT code FROM countries ORDER BY 1")]
            except TenantIsolationError:
                rows = ["refused"]
        assert rows in (["es", "fr"], ["refused"])  # never ['mine', 'theirs']
    finally:
        await conn.close()


# ------------------------------------------- 7. a pool's init= / setup= setting the path
@pytest.mark.parametrize("hook", ["init", "setup"])
async def test_a_path_a_pool_hook_sets_is_not_read_as_the_configured_one(
    two_clinics: str, hook: str
) -> None:
    from tenantguard.runtime import create_pool

    await _raw(two_clinics, COUNTRIES + ";")

    async def set_path(connection: asyncpg.Connection) -> None:
        await connection.execute("SET search_path = archive, public")

    try:
        pool = await create_pool(
            two_clinics, policy=PATH_POLICY, min_size=1, max_size=1, **{hook: set_path}
        )
    except TenantIsolationError:
        return  # refused where the hook runs: no row read
    try:
        rows: list[object] = []
        with tenant(1):
            try:
                rows = [r[0] for r in await pool.fetch("SELECT code FROM countries ORDER BY 1")]
            except TenantIsolationError:
                rows = ["refused"]
        assert rows in (["es", "fr"], ["refused"])  # never ['mine', 'theirs']
    finally:
        await pool.close()


# ------------------------------------------- 8. copy_*(schema_name=…) of a name global elsewhere
async def test_copy_of_the_tenant_schemas_table_is_checked(two_clinics: str) -> None:
    import io

    await _raw(two_clinics, COUNTRIES + ";")
    conn = await connect(two_clinics, policy=PATH_POLICY)
    try:
        out = io.BytesIO()
        with tenant(1):
            with pytest.raises(TenantIsolationError):
                await conn.copy_from_table("countries", schema_name="archive", output=out)
            with pytest.raises(TenantIsolationError):
                await conn.copy_records_to_table(
                    "countries", schema_name="archive", records=[(2, "planted")]
                )
            # the twin: public's global table
            await conn.copy_from_table("countries", output=out)
        assert b"theirs" not in out.getvalue() and b"es" in out.getvalue()
    finally:
        await conn.close()
    rows = await _raw(two_clinics, "SELECT tenant_id, code FROM archive.countries ORDER BY 1")
    assert [tuple(r) for r in rows] == [(1, "mine"), (2, "theirs")]


# ------------------------------------------- 9. a view replaced by another session between leases
async def test_a_view_replaced_between_two_leases_is_judged_again(two_clinics: str) -> None:
    """`names` passes patients' tenant_id through (pinned by its own column); a migration
    from another session replaces it in place with one whose tenant_id is a constant over
    every clinic's rows. The next lease's `SELECT first_name FROM names WHERE tenant_id = $1`
    (verdict cached, statement prepared in the lease before) must not return Carla to
    clinic 1."""
    from tenantguard.runtime import create_pool
    from tenantguard.runtime.schema_code import CATALOG_WATCH
    from tests.runtime.test_h32h_attack import _owner_runs

    await _owner_runs(
        two_clinics, "CREATE VIEW names AS SELECT tenant_id, first_name FROM patients"
    )
    await _owner_runs(two_clinics, CATALOG_WATCH)
    read = "SELECT first_name FROM names WHERE tenant_id = $1 ORDER BY 1"
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:
            with tenant(1):
                assert [r[0] for r in await connection.fetch(read, 1)] == ["Ana", "Bruno"]
        await _owner_runs(
            two_clinics,
            "CREATE OR REPLACE VIEW names AS SELECT 1::bigint AS tenant_id, first_name"
            " FROM patients",
        )
        async with pool.acquire() as connection:
            rows: list[object] = []
            with tenant(1):
                try:
                    rows = [r[0] for r in await connection.fetch(read, 1)]
                except TenantIsolationError:
                    rows = ["refused"]
            assert rows == ["refused"]  # never ['Ana', 'Bruno', 'Carla']
    finally:
        await pool.close()
