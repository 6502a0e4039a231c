"""Round 36 (helper h36R): the runtime's reads of the session's search path, attacked from
outside, on a real server. Each case asserts on the rows a statement read.

1. FIXED: a name the policy holds global, read by the session's path in a schema the
   policy's sources do not know, or with a policy written by hand (no `global_homes`). The
   h36C check (`Policy.read_otherwise`) resolves names by the schema sources' relations: with
   `ALTER DATABASE d SET search_path = reports, public` and `reports.countries` (every
   clinic's rows, made outside the sources), or a hand-written policy with `countries` in
   `global_tables` and `ALTER DATABASE d SET search_path = archive, public`, clinic 1's
   `SELECT code FROM countries` passed and returned ['mine', 'theirs']. The guard now
   resolves each global name in the catalog, by the session's path (`current_schemas(true)`)
   and by the configured one, at each catalog read (one query per connection and catalog
   read, nothing per call): another relation than the configured path's, outside the
   name's global homes, refuses the connection's statements outside unscoped().

2. FIXED: the same for a function's own `SET search_path` (h36C's `path_functions`): a
   hand-written policy, or a schema the sources do not know first in a SECURITY DEFINER
   function's path — `SELECT * FROM country_codes()` returned ['mine', 'theirs']. The
   catalog's homes resolve the function's path too ("$user": any role's schema).

3. FIXED: "$user" is the CURRENT role's schema. A pool whose init= or setup= runs `SET ROLE
   r` (r's schema holding `countries`) read r.countries, while the catalog was read as the
   login role: ['mine', 'theirs']. The path as set (`current_setting('search_path')`) is
   resolved too, "$user" unsure when the schema of another role the session user may become
   holds a global name. Twin: the login role's own schema holding the global table passes.

4. FIXED: a view over such a function (`CREATE VIEW cv AS SELECT * FROM country_codes() c`):
   the catalog's views were sorted before the path functions were marked, and clinic 1's
   `SELECT * FROM cv` returned ['mine', 'theirs']. Marked first now (Guard._with_path_functions).

5. FIXED: a search path set inside the block (`SET search_path = reports, public`,
   set_config(…, false), a SQL function calling it), TG006 judging it by the schema sources'
   relations only (Policy.read_otherwise): reports unknown to them, or archive under a policy
   written by hand, and the next read returned ['mine', 'theirs']. The guard's proof now
   takes the catalog's schemas of each global name (Guard._with_catalog_homes: relation_homes,
   a hand-written policy's global name homed where the configured path reads it, "$user" of
   config search_path read as the session's role).

FIXED in h37R (was documented staleness): a connection of connect() that is never reset read
the catalog only when it opened or ran DDL itself (README): after another session's `ALTER TABLE
notes DROP COLUMN tenant_id; … ADD COLUMN tenant_id bigint` (tenant_id now last), clinic 1's
`INSERT INTO notes SELECT $1::bigint, 2` (1) passed by the stale column order and wrote
(tenant_id 2, other 1): clinic 2's row — watch installed or not. A pool with the watch held
(refused at the next lease). Before h36C such an INSERT (no column list, policy by hand) was
refused; the catalog's column order widened that window to a write. With the catalog watch,
each connection now LISTENs to it (h37R): another session's DDL marks the catalog stale, read
again before the next statement.

HELD (probes, not kept as tests): a temporary `countries` made by SELECT … INTO TEMP, by a
function, by a trigger, a temporary view, one renamed into the name (refused or discarded by
the reset before the next block: ['es', 'fr']); SET LOCAL search_path and set_config(…, true)
in a CTE inside tenant() (TG006); a plpgsql function calling set_config('search_path', …,
true) before its query (refused, not pinnable); a "$user" schema with the policy's sources
(refused, TG001); a function in pg_temp made in unscoped() (discarded before the next block).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant, unscoped
from tests.runtime.test_h36C_attacks import COUNTRIES, PATH_POLICY, _raw
from tests.runtime.test_runtime import POLICY

READ = "SELECT code FROM countries ORDER BY 1"
HAND_POLICY = POLICY.replace(global_tables={*POLICY.global_tables, "countries"})
REPORTS = (
    "; CREATE SCHEMA reports;"
    " CREATE TABLE reports.countries AS SELECT tenant_id, code FROM archive.countries;"
)


def _database(dsn: str) -> str:
    return dsn.rsplit("/", 1)[-1].split("?")[0]


CASES = {
    # a schema the sources do not know, first on the database's path
    "unknown schema": (PATH_POLICY, REPORTS, "reports, public"),
    # a policy written by hand: countries global, no homes
    "hand-written policy": (HAND_POLICY, ";", "archive, public"),
    # the same, archive read through a "$user" entry... of a schema named like the role
    "hand-written, $user": (
        HAND_POLICY,
        "; CREATE SCHEMA {role}; CREATE TABLE {role}.countries AS SELECT * FROM archive.countries;",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_global_name_the_session_path_reads_elsewhere_is_refused(
    two_clinics: str, case: str
) -> None:
    policy, extra, path = CASES[case]
    role = (await _raw(two_clinics, "SELECT current_user::text"))[0][0]
    await _raw(two_clinics, COUNTRIES + extra.format(role=role))
    if path is not None:
        await _raw(
            two_clinics, f"ALTER DATABASE {_database(two_clinics)} SET search_path = {path};"
        )
    conn = await connect(two_clinics, policy=policy.replace(search_path=("public",)))
    try:
        rows: list[object] = []
        with tenant(1), pytest.raises(TenantIsolationError, match="search_path"):
            rows = [r[0] for r in await conn.fetch(READ)]
        assert rows == []  # was ['mine', 'theirs']: every clinic's rows
        with unscoped("maintenance"):  # a job may still read what it names
            rows = [r[0] for r in await conn.fetch("SELECT code FROM public.countries ORDER BY 1")]
        assert rows == ["es", "fr"]
    finally:
        await conn.close()


@pytest.mark.parametrize("policy", ["sources", "hand-written"])
async def test_a_path_reading_the_global_table_passes(two_clinics: str, policy: str) -> None:
    """The twins: the same schemas, the database's path reading public's table first (a
    schema on the path that holds no `countries`; "$user" with no such schema)."""
    await _raw(two_clinics, COUNTRIES + REPORTS.replace("reports.countries", "reports.other"))
    await _raw(
        two_clinics,
        f'ALTER DATABASE {_database(two_clinics)} SET search_path = reports, "$user", public;',
    )
    chosen = PATH_POLICY if policy == "sources" else HAND_POLICY
    conn = await connect(two_clinics, policy=chosen.replace(search_path=("public",)))
    try:
        with tenant(1):
            rows = [r[0] for r in await conn.fetch(READ)]
        assert rows == ["es", "fr"]
    finally:
        await conn.close()


# ------------------------------------------- 2. a function's own path, resolved by the catalog
FUNCTION_CASES = {
    # a policy written by hand (no homes): archive first in the function's path
    "hand-written policy": (
        HAND_POLICY,
        "; CREATE FUNCTION country_codes() RETURNS SETOF text LANGUAGE sql"
        " SET search_path = archive, public AS $$ SELECT code FROM countries $$;",
    ),
    # a schema the sources do not know, first in a SECURITY DEFINER function's path
    "unknown schema": (
        PATH_POLICY,
        REPORTS + " CREATE FUNCTION country_codes() RETURNS SETOF text LANGUAGE plpgsql"
        " SECURITY DEFINER SET search_path = reports, public"
        " AS $$ BEGIN RETURN QUERY SELECT code FROM countries; END $$;",
    ),
}


@pytest.mark.parametrize("case", sorted(FUNCTION_CASES))
async def test_a_function_path_reading_a_global_name_elsewhere_is_refused(
    two_clinics: str, case: str
) -> None:
    """h36C's check of a function's `SET search_path` resolved names by the schema sources'
    relations: a schema they do not know (or a policy written by hand, with no homes) let
    clinic 1's `SELECT * FROM country_codes()` return ['mine', 'theirs']."""
    policy, extra = FUNCTION_CASES[case]
    await _raw(two_clinics, COUNTRIES + extra)
    conn = await connect(two_clinics, policy=policy)
    try:
        rows: list[object] = []
        with tenant(1), pytest.raises(TenantIsolationError):
            rows = [r[0] for r in await conn.fetch("SELECT * FROM country_codes() ORDER BY 1")]
        assert rows == []  # was ['mine', 'theirs']
    finally:
        await conn.close()


@pytest.mark.parametrize("policy", ["sources", "hand-written"])
async def test_a_function_path_reading_the_global_table_passes(
    two_clinics: str, policy: str
) -> None:
    """The twin: the function's path puts a schema holding no `countries` first."""
    await _raw(
        two_clinics,
        COUNTRIES + REPORTS.replace("reports.countries", "reports.other") + " CREATE FUNCTION"
        " country_codes() RETURNS SETOF text LANGUAGE sql SET search_path = reports, public"
        " AS $$ SELECT code FROM countries $$;",
    )
    conn = await connect(two_clinics, policy=PATH_POLICY if policy == "sources" else HAND_POLICY)
    try:
        with tenant(1):
            rows = [r[0] for r in await conn.fetch("SELECT * FROM country_codes() ORDER BY 1")]
        assert rows == ["es", "fr"]
    finally:
        await conn.close()


# ------------------------------------------- 3. "$user" read as another role's schema
@pytest.mark.parametrize("hook", ["init", "setup"])
async def test_a_role_set_by_a_pool_hook_reads_its_schema_through_user(
    two_clinics: str, hook: str
) -> None:
    """The path `"$user", public` reads the schema named like the CURRENT role: a pool whose
    init= or setup= runs `SET ROLE r` (r's schema holding `countries`: every clinic's rows)
    read r.countries where the guard, reading the catalog as the login role before the hook,
    saw public's global table: clinic 1's read returned ['mine', 'theirs']."""
    from tenantguard.runtime import create_pool

    role = f"r36_{_database(two_clinics)}"
    await _raw(
        two_clinics,
        COUNTRIES + f"; CREATE ROLE {role}; GRANT USAGE ON SCHEMA archive TO {role};"
        f" GRANT SELECT ON ALL TABLES IN SCHEMA public, archive TO {role};"
        f" CREATE SCHEMA {role} AUTHORIZATION {role};"
        f" CREATE TABLE {role}.countries AS SELECT * FROM archive.countries;"
        f" GRANT SELECT ON {role}.countries TO {role};",
    )

    async def set_role(connection: asyncpg.Connection) -> None:
        await connection.execute(f"SET ROLE {role}")

    policy = HAND_POLICY.replace(search_path=("$user", "public"))
    try:
        rows: list[object] = []
        try:
            pool = await create_pool(
                two_clinics, policy=policy, min_size=1, max_size=1, **{hook: set_role}
            )
        except TenantIsolationError:
            rows = ["refused"]
        else:
            try:
                with tenant(1):
                    try:
                        rows = [r[0] for r in await pool.fetch(READ)]
                    except TenantIsolationError:
                        rows = ["refused"]
            finally:
                await pool.close()
        assert rows == ["refused"]  # was ['mine', 'theirs']
    finally:
        await _raw(
            two_clinics,
            f"DROP SCHEMA {role} CASCADE; REVOKE ALL ON ALL TABLES IN SCHEMA public, archive"
            f" FROM {role}; REVOKE ALL ON SCHEMA archive FROM {role}; DROP ROLE {role};",
        )


async def test_the_login_roles_own_schema_passes(two_clinics: str) -> None:
    """The twin: the global table in the schema named like the login role itself (a schema per
    application role), read through "$user" as config `search_path` says."""
    role = (await _raw(two_clinics, "SELECT current_user::text"))[0][0]
    await _raw(
        two_clinics,
        f"CREATE SCHEMA {role}; CREATE TABLE {role}.countries (code text);"
        f" INSERT INTO {role}.countries VALUES ('es'), ('fr');",
    )
    policy = HAND_POLICY.replace(search_path=("$user", "public"))
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1):
            rows = [r[0] for r in await conn.fetch(READ)]
        assert rows == ["es", "fr"]
    finally:
        await conn.close()


# ------------------------------------------- 4. a view over a function reading under its own path
@pytest.mark.parametrize("policy", ["sources", "hand-written"])
async def test_a_view_over_a_function_reading_under_its_own_path_is_refused(
    two_clinics: str, policy: str
) -> None:
    """h36C made `country_codes()` (SET search_path = archive, public; body `SELECT code FROM
    countries`) unpinnable, but the catalog's views were sorted before: `CREATE VIEW cv AS
    SELECT * FROM country_codes() c`, and clinic 1's `SELECT * FROM cv` returned ['mine',
    'theirs']."""
    await _raw(
        two_clinics,
        COUNTRIES + "; CREATE FUNCTION country_codes() RETURNS SETOF text LANGUAGE sql"
        " SET search_path = archive, public AS $$ SELECT code FROM countries $$;"
        " CREATE VIEW cv AS SELECT * FROM country_codes() c;",
    )
    conn = await connect(two_clinics, policy=PATH_POLICY if policy == "sources" else HAND_POLICY)
    try:
        rows: list[object] = []
        with tenant(1), pytest.raises(TenantIsolationError):
            rows = [r[0] for r in await conn.fetch("SELECT * FROM cv ORDER BY 1")]
        assert rows == []  # was ['mine', 'theirs']
    finally:
        await conn.close()


async def test_a_view_over_a_function_reading_the_global_table_passes(two_clinics: str) -> None:
    await _raw(
        two_clinics,
        COUNTRIES + "; CREATE FUNCTION country_codes() RETURNS SETOF text LANGUAGE sql"
        " SET search_path = public, archive AS $$ SELECT code FROM countries $$;"
        " CREATE VIEW cv AS SELECT * FROM country_codes() c;",
    )
    conn = await connect(two_clinics, policy=PATH_POLICY)
    try:
        with tenant(1):
            rows = [r[0] for r in await conn.fetch("SELECT * FROM cv ORDER BY 1")]
        assert rows == ["es", "fr"]
    finally:
        await conn.close()


# ------------------------------------------- the resolution itself (no server)
def test_read_elsewhere_resolves_as_postgresql_does() -> None:
    from tenantguard.runtime.schema_code import catalog_homes, read_elsewhere

    # countries in public (global), archive, and alice's schema (a role the session may become)
    homes = catalog_homes(
        [
            ("countries", "public", False, False),
            ("countries", "archive", False, False),
            ("countries", "alice", True, True),
        ]
    )
    policy = HAND_POLICY.replace(search_path=("$user", "public"))
    assert read_elsewhere(["public"], policy, homes, "app", "app") == []
    assert read_elsewhere(["archive", "public"], policy, homes, "app", "app") == ["countries"]
    assert read_elsewhere(["nothing_here", "public"], policy, homes, "app", "app") == []
    # "$user" as the current role: app has no schema; alice's is read once SET ROLE alice ran
    assert read_elsewhere(["$user", "public"], policy, homes, "app", "app") == []
    assert read_elsewhere(["$user", "public"], policy, homes, "app", "app", roles=True) == [
        "countries"
    ]
    assert read_elsewhere(["$user", "public"], policy, homes, "alice", "app") == ["countries"]
    # a global home the policy knows is no other relation
    homed = policy.replace(global_homes={"countries": {"public", "archive"}})
    assert read_elsewhere(["archive", "public"], homed, homes, "app", "app") == []


# ------------------------------------------- 5. a path the session sets, judged by the catalog
@pytest.mark.parametrize("change", ["SET", "set_config", "a function's SET"])
@pytest.mark.parametrize("policy", ["unknown schema", "hand-written policy"])
async def test_a_path_set_in_the_block_reading_a_global_name_elsewhere_is_refused(
    two_clinics: str, change: str, policy: str
) -> None:
    """TG006 judges a statement setting a search_path by `Policy.read_otherwise`, which knew
    only the schema sources' relations: inside clinic 1's block, `SET search_path = reports,
    public` (reports unknown to the sources), `set_config('search_path', …, false)` or a SQL
    function calling it — or the same with archive under a policy written by hand — and the
    next `SELECT code FROM countries` returned ['mine', 'theirs']. The guard's proof now
    resolves names by the catalog's schemas (Guard._with_catalog_homes)."""
    schema = "reports" if policy == "unknown schema" else "archive"
    await _raw(
        two_clinics,
        COUNTRIES + REPORTS + " CREATE FUNCTION set_path() RETURNS void LANGUAGE sql AS"
        f" $$ SELECT set_config('search_path', '{schema}, public', false) $$;",
    )
    sql = {
        "SET": f"SET search_path = {schema}, public",
        "set_config": f"SELECT set_config('search_path', '{schema}, public', false)",
        "a function's SET": "SELECT set_path()",
    }[change]
    conn = await connect(two_clinics, policy=PATH_POLICY if schema == "reports" else HAND_POLICY)
    try:
        rows: list[object] = []
        with tenant(1):
            try:
                await conn.execute(sql)
                rows = [r[0] for r in await conn.fetch(READ)]
            except TenantIsolationError:
                rows = ["refused"]
        assert rows == ["refused"]  # was ['mine', 'theirs']
    finally:
        await conn.close()


@pytest.mark.parametrize("policy", ["sources", "hand-written"])
async def test_a_path_set_in_the_block_reading_the_global_table_passes(
    two_clinics: str, policy: str
) -> None:
    """The twin: a path whose first schema holds no `countries`."""
    await _raw(two_clinics, COUNTRIES + REPORTS.replace("reports.countries", "reports.other"))
    conn = await connect(two_clinics, policy=PATH_POLICY if policy == "sources" else HAND_POLICY)
    try:
        with tenant(1):
            await conn.execute("SET search_path = reports, public")
            rows = [r[0] for r in await conn.fetch(READ)]
        assert rows == ["es", "fr"]
    finally:
        await conn.close()


# ------------------------------------------- fixed (h37R): a column order changed behind connect()
async def test_a_column_order_changed_by_another_session_is_read_again(two_clinics: str) -> None:
    from tenantguard.runtime.schema_code import CATALOG_WATCH
    from tests.runtime.test_h32h_attack import _owner_runs
    from tests.runtime.test_runtime import POLICY

    await _owner_runs(two_clinics, "CREATE TABLE notes (tenant_id bigint, other bigint)")
    await _owner_runs(two_clinics, CATALOG_WATCH)
    policy = POLICY.replace(tenant_tables={*POLICY.tenant_tables, "notes"})
    insert = "INSERT INTO notes SELECT $1::bigint, 2"
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1):
            await conn.execute(insert, 1)
        await _owner_runs(two_clinics, "ALTER TABLE notes DROP COLUMN tenant_id")
        await _owner_runs(two_clinics, "ALTER TABLE notes ADD COLUMN tenant_id bigint")
        await asyncio.sleep(0.05)  # the watch's notification on its way (h37R)
        with tenant(1), contextlib.suppress(TenantIsolationError):
            await conn.execute(insert, 1)
    finally:
        await conn.close()
    # clinic 2 has no row (was [(2, 1)]: clinic 1's INSERT wrote clinic 2's row); clinic 1's
    # second INSERT, read by the new order (2 in tenant_id), is refused; its first row lost its
    # tenant_id with the dropped column (NULL)
    theirs = await _raw(two_clinics, "SELECT tenant_id, other FROM notes WHERE tenant_id = 2")
    assert [tuple(r) for r in theirs] == []
    mine = await _raw(two_clinics, "SELECT tenant_id, other FROM notes WHERE tenant_id = 1")
    assert [tuple(r) for r in mine] == []
    every = await _raw(two_clinics, "SELECT tenant_id, other FROM notes")
    assert [tuple(r) for r in every] == [(None, 2)]
