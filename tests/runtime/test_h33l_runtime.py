"""Round 33: the runtime guard's fresh rules attacked from outside (helper h33l), on a real
server.

1. FIXED: a cursor factory made in clinic 1's pool lease (`held.cursor(NAMES, 1)`, or a
   prepared statement's `cursor(1)`) and iterated or awaited in clinic 2's lease: asyncpg
   refuses it, but only after the guard had set the tenant setting to clinic 1's value in
   clinic 2's open transaction (`current_setting('app.tenant_id')` read '1' there). The
   factory (and the cursor it opens) now checks its lease before setting anything. A cursor
   opened in clinic 1's transaction and fetched in clinic 2's held already.

2. FIXED: state left outside any block by a schema function the text calls under a built-in's
   name or no name (h33c's rule counted only names that are no built-in's): with
   `public.upper(integer)` reading every patient, `SELECT set_config('my.stash', upper(42),
   false)` outside any block, then clinic 1's `current_setting('my.stash')` read
   'Ana,Bruno,Carla'; the same through `CREATE OPERATOR || (integer, integer)` (`42 || 42`).
   The catalog read now tells the names of schema functions named like a built-in (they count
   as the schema's), and whether an operator, cast, domain CHECK, policy or type runs one
   (then any non-plain statement outside a block counts). A cast held already (its field
   access `(42::stash_t).names` names the schema's type). A domain whose CHECK stashes every
   clinic's names (`SELECT 'x'::stashed` outside any block) leaked the same way before h33l's
   fix (shown with tenantguard/ at 7af15d3) and is fixed by it. Safe twins: `lower('W')` beside
   `public.upper(integer)` stays for both clinics; and (a false alarm the first version of the
   fix made) a transaction's `set_config('app.user_id', '7', true)` outside any block before
   clinic 1's block, on a database whose RLS policy calls `current_clinic()`: a policy's
   function no longer counts as one any statement may run.

3. FIXED: a function that runs as another role, under a pool whose init= set the role (h33d
   refused a call naming a function configured with `SET role`): (a) the same function behind
   `CREATE OPERATOR ||`: `SELECT 1 || 1` in clinic 1's request returned 'Ana,Bruno,Carla';
   (b) a SECURITY DEFINER function owned by the login superuser (no configuration): `SELECT
   peek2(1, 1)` returned 'Ana,Bruno,Carla'. A SECURITY DEFINER function whose owner is out of
   RLS now counts as configured with its owner's role, and a role changer an operator, cast,
   domain CHECK, policy or type runs has every statement refused (the fast path off). Twins:
   SECURITY DEFINER owned by the init's role, an operator over a function changing no role
   (clinic 1's names, twice), and an RLS policy calling a SECURITY DEFINER function owned by
   the superuser (refused by the first version of this fix: a policy's function runs within
   its check only, so it does not count as run unnamed for the role).

4. FIXED: an UPDATE of a partitioned table that sets a column of its partition key moves the
   row (a DELETE from one partition, an INSERT into another) and runs those partitions' DELETE
   and INSERT triggers; h33d judged a parent's write by its partitions' triggers of the same
   kind only. Workspace 1's `UPDATE knotes SET kind = 'b' WHERE ws_id = $1` ran knotes_b's
   BEFORE INSERT trigger (knotes_a's AFTER DELETE likewise), moving every workspace's count
   ([(1, 1), (2, 1)]). Also through `SET (body, kind) = …`, a quoted `"kind"`, MERGE's UPDATE,
   and a sub-partition attached later (ATTACH PARTITION) in a two-level tree. Such triggers
   now count for the ancestors' `UPDATE OF <key column>` (any UPDATE for a key expression);
   the safe twin (an UPDATE of a column outside the key) runs.

5. HELD: a write whose AFTER INSERT trigger stashes every clinic's names in a setting
   (`execute` and `executemany` in clinic 1's block; a write of a table outside the policy,
   outside any block): refused (TG005), the stash holds no other clinic's name.

6. FIXED: a function configured with the tenant setting (`ALTER FUNCTION peek3(integer,
   integer) SET app.tenant_id = '2'`; its call by name is refused since round 22) behind
   `CREATE OPERATOR ||`: clinic 1's `SELECT 1 || 1` returned clinic 2's 'Carla'. Such a
   function run by an operator, a cast, a domain CHECK, a policy or a type has every statement
   refused on that database (as for the role changers of 3).

7. FIXED (h33r): a column DEFAULT calling a PL/pgSQL function that reads every clinic's names
   (and stashes them with set_config): clinic 1's pinned INSERT passed and its block then read
   'Ana,Bruno,Carla'. The catalog read now gives each column default, stored generated
   expression and domain default calling a function of the database as a row trigger (INSERT,
   UPDATE OF the column; any UPDATE for a generated one): INSERT, UPDATE SET DEFAULT, MERGE
   INSERT and COPY are refused. An UPDATE of another column was refused too (TriggerInfo kept
   no `UPDATE OF` columns): runs since round 35 (h35C: a trigger's events keep them). Under a hand-written policy a
   direct `SELECT all_names()` in tenant(1) passed (the runtime did not read schema functions'
   bodies): refused since h34C/h34L (tests/runtime/test_h34C_runtime.py, section 2).

8. FIXED (h33r, found by h33k): a schema function whose body runs DDL (`EXECUTE 'CREATE
   TRIGGER …'`), called by `SELECT setup_ws()` in a block, made a trigger the guard never read
   without the catalog watch; such a call now marks the catalog out of date, and a stale
   catalog is read again before the connection's next statement. (Since h34C a request's call
   of it is refused for its dynamic SQL, as the CLI refuses it, with the CLI's help: the tests
   make the call in `unscoped()`, as that help says maintenance should.)
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant, unscoped
from tests.runtime.test_runtime import POLICY

NAMES = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY first_name"
SETTING = "SELECT current_setting('app.tenant_id', true)"


@pytest.mark.parametrize("how", ["iterate", "open", "prepared", "opened"])
async def test_a_kept_cursor_of_clinic_1_sets_nothing_in_clinic_2s_session(
    two_clinics: str, how: str
) -> None:
    pool = await create_pool(
        two_clinics, policy=POLICY, min_size=1, max_size=1, set_tenant_setting=True
    )
    try:
        with tenant(1):
            async with pool.acquire() as held:
                kept: Any = held.cursor(NAMES, 1)
                if how == "prepared":
                    kept = (await held.prepare(NAMES)).cursor(1)
                elif how == "opened":
                    async with held.transaction():
                        kept = await held.cursor(NAMES, 1)
        with tenant(2):
            async with pool.acquire() as conn, conn.transaction():
                assert await conn.fetchval(NAMES, 2) == "Carla"
                assert await conn.fetchval(SETTING) == "2"
                with pytest.raises((asyncpg.InterfaceError, TenantIsolationError)):
                    if how in ("iterate", "prepared"):
                        _ = [row async for row in kept]
                    elif how == "open":
                        await kept
                    else:
                        await kept.fetch(1)
                raw = conn._con  # type: ignore[attr-defined]
                seen = await asyncpg.Connection.fetchval(raw, SETTING)
                assert seen == "2"
    finally:
        await pool.close()


# --- 2. state left outside any block by schema code the text names by a built-in's name, an
# operator or a cast ---------------------------------------------------------------------------

READ_STASH = "SELECT current_setting('my.stash', true)"
NAMES_OF = """CREATE FUNCTION {name}(integer) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN RETURN (SELECT string_agg(first_name, ',' ORDER BY first_name) FROM patients); END $$"""
HIDDEN: dict[str, tuple[str, str]] = {
    # a built-in's name overloaded in public: upper(42) runs public.upper(integer)
    "built-in name": (NAMES_OF.format(name="public.upper"), "upper(42)"),
    "operator": (
        NAMES_OF.format(name="names_of").replace("(integer)", "(integer, integer)")
        + ";\nCREATE OPERATOR || (LEFTARG = integer, RIGHTARG = integer, FUNCTION = names_of)",
        "42 || 42",
    ),
    "cast": (
        NAMES_OF.format(name="names_of")
        + ";\nCREATE TYPE stash_t AS (names text)"
        + ";\nCREATE FUNCTION to_stash(integer) RETURNS stash_t LANGUAGE sql"
        + " AS $$ SELECT ROW(names_of($1))::stash_t $$"
        + ";\nCREATE CAST (integer AS stash_t) WITH FUNCTION to_stash(integer)",
        "(42::stash_t).names",
    ),
}


@pytest.mark.parametrize("how", sorted(HIDDEN))
async def test_hidden_schema_code_stash_outside_any_block_is_not_read_by_a_clinic(
    two_clinics: str, how: str
) -> None:
    ddl, call = HIDDEN[how]
    owner = await asyncpg.connect(two_clinics)  # a migration's code
    try:
        await owner.execute(ddl)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        stash = f"SELECT set_config('my.stash', {call}, false)"
        assert await conn.fetchval(stash) == "Ana,Bruno,Carla"  # outside any block: unchecked
        with tenant(1):
            assert await conn.fetchval(READ_STASH) in ("", None)
    finally:
        await conn.close()


async def test_a_built_in_stash_beside_a_shadowed_name_stays_for_the_clinics(
    two_clinics: str,
) -> None:
    """The safe twin: with `public.upper(integer)` in the schema, a worker's setting made with
    other built-ins outside any block is no tenant's state: no reset, it stays."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(NAMES_OF.format(name="public.upper"))
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        assert await conn.fetchval("SELECT set_config('my.stash', lower('W'), false)") == "w"
        with tenant(1):
            assert await conn.fetchval(READ_STASH) == "w"
        with tenant(2):
            assert await conn.fetchval(READ_STASH) == "w"
    finally:
        await conn.close()


# --- 3. a function configured with a role (h33d), run where the text does not name it --------

# (its body read every clinic's patients, filtered by RLS alone: since h34C the runtime refuses
# such a body for itself, as the CLI does; pinned by the tenant setting, it passes that sort, and
# what is checked here stays the role the call runs as)
PEEK2 = (
    "CREATE FUNCTION peek2(integer, integer) RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN"
    " (SELECT string_agg(first_name, ',' ORDER BY first_name) FROM patients"
    " WHERE tenant_id = current_setting('app.tenant_id')::bigint); END$$"
)
ROLE_HIDDEN: dict[str, tuple[str, str]] = {
    "by name": (PEEK2 + "; ALTER FUNCTION peek2(integer, integer) SET role = {su}",
                "SELECT peek2(1, 1)"),
    "operator": (
        PEEK2 + "; ALTER FUNCTION peek2(integer, integer) SET role = {su}"
        "; CREATE OPERATOR || (LEFTARG = integer, RIGHTARG = integer, FUNCTION = peek2)",
        "SELECT 1 || 1",
    ),
    "security definer": (PEEK2 + "; ALTER FUNCTION peek2(integer, integer) SECURITY DEFINER",
                         "SELECT peek2(1, 1)"),
}  # fmt: skip


@pytest.mark.parametrize("how", sorted(ROLE_HIDDEN))
async def test_a_role_configured_function_run_unnamed_is_refused(
    two_clinics: str, how: str
) -> None:
    from tests.runtime.test_h32h_attack import _role_pool

    owner = await asyncpg.connect(two_clinics)
    try:
        superuser = await owner.fetchval("SELECT current_user")
    finally:
        await owner.close()
    ddl, call = ROLE_HIDDEN[how]
    pool, _ = await _role_pool(two_clinics, ddl.format(su=f'"{superuser}"'))
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                try:
                    got = await connection.fetchval(call)
                except TenantIsolationError as error:
                    assert "role" in str(error), error
                    got = "refused"
                assert got == "refused"  # leaked: 'Ana,Bruno,Carla' (body unpinned)
                with pytest.raises(TenantIsolationError, match="role"):
                    await connection.fetchval(call)  # the verdict cached
    finally:
        await pool.close()  # type: ignore[attr-defined]


ROLE_SAFE: dict[str, tuple[str, str]] = {
    # SECURITY DEFINER owned by the init's own role (inside RLS): runs, clinic 1's names
    "security definer of the app's role": (
        PEEK2 + "; ALTER FUNCTION peek2(integer, integer) SECURITY DEFINER"
        "; ALTER FUNCTION peek2(integer, integer) OWNER TO {role}",
        "SELECT peek2(1, 1)",
    ),
    # an operator over a function that changes no role
    "operator": (
        PEEK2 + "; CREATE OPERATOR || (LEFTARG = integer, RIGHTARG = integer, FUNCTION = peek2)",
        "SELECT 1 || 1",
    ),
}


@pytest.mark.parametrize("how", sorted(ROLE_SAFE))
async def test_a_function_running_as_the_init_role_runs(two_clinics: str, how: str) -> None:
    """The safe twins: clinic 1's own names (RLS holds)."""
    from tests.runtime.test_h31b_runtime_state import _ROLE
    from tests.runtime.test_h32h_attack import _role_pool

    ddl, call = ROLE_SAFE[how]
    pool, _ = await _role_pool(two_clinics, ddl.format(role=_ROLE))
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                assert await connection.fetchval(call) == "Ana,Bruno"
                assert await connection.fetchval(call) == "Ana,Bruno"  # cached verdict
    finally:
        await pool.close()  # type: ignore[attr-defined]


# --- 4. a partition's INSERT or DELETE trigger run by an UPDATE that moves the row ------------

KINDS = (
    "CREATE TABLE knotes (ws_id bigint NOT NULL, kind text NOT NULL, body text)"
    " PARTITION BY LIST (kind);"
    " CREATE TABLE knotes_a PARTITION OF knotes FOR VALUES IN ('a');"
    " CREATE TABLE knotes_b PARTITION OF knotes FOR VALUES IN ('b');"
    " INSERT INTO knotes VALUES (1, 'a', 'x'), (2, 'a', 'y');"
    " CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " UPDATE counts SET n = n + 1; RETURN {ret}; END$$;"
)
MOVES = {
    "destination's BEFORE INSERT": KINDS.format(ret="NEW")
    + " CREATE TRIGGER t BEFORE INSERT ON knotes_b FOR EACH ROW EXECUTE FUNCTION bump()",
    "source's AFTER DELETE": KINDS.format(ret="OLD")
    + " CREATE TRIGGER t AFTER DELETE ON knotes_a FOR EACH ROW EXECUTE FUNCTION bump()",
}
MOVE = "UPDATE knotes SET kind = 'b' WHERE ws_id = $1"
SUB_PARTITIONED = (
    "CREATE TABLE knotes (ws_id bigint NOT NULL, kind text NOT NULL, body text)"
    " PARTITION BY LIST (kind);"
    " CREATE TABLE knotes_a PARTITION OF knotes FOR VALUES IN ('a');"
    " CREATE TABLE knotes_b PARTITION OF knotes FOR VALUES IN ('b') PARTITION BY LIST (ws_id);"
    " CREATE TABLE knotes_b1 (ws_id bigint NOT NULL, kind text NOT NULL, body text);"
    " INSERT INTO knotes VALUES (1, 'a', 'x'), (2, 'a', 'y');"
    " CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " UPDATE counts SET n = n + 1; RETURN NEW; END$$;"
    " CREATE TRIGGER t BEFORE INSERT ON knotes_b1 FOR EACH ROW EXECUTE FUNCTION bump();"
    # attached after its trigger was made
    " ALTER TABLE knotes_b ATTACH PARTITION knotes_b1 FOR VALUES IN (1);"
    " CREATE TABLE knotes_b2 PARTITION OF knotes_b FOR VALUES IN (2)"
)
MOVED: dict[str, tuple[str, str]] = {
    "destination's BEFORE INSERT": (MOVES["destination's BEFORE INSERT"], MOVE),
    "source's AFTER DELETE": (MOVES["source's AFTER DELETE"], MOVE),
    "a row of columns set": (
        MOVES["destination's BEFORE INSERT"],
        "UPDATE knotes SET (body, kind) = ('z', 'b') WHERE ws_id = $1",
    ),
    "a quoted column": (
        MOVES["destination's BEFORE INSERT"],
        "UPDATE knotes SET \"kind\" = 'b' WHERE ws_id = $1",
    ),
    "a sub-partition attached later": (SUB_PARTITIONED, MOVE),
    "MERGE": (
        MOVES["destination's BEFORE INSERT"],
        "MERGE INTO knotes k USING (SELECT $1::bigint AS ws_id) s ON k.ws_id = s.ws_id"
        " WHEN MATCHED AND k.ws_id = $1 THEN UPDATE SET kind = 'b'",
    ),
}


async def _moved(database: str, ddl: str, sql: str) -> object:
    from tenantguard import Policy
    from tests.runtime.test_h32d_open_items import SCHEMA as WORKSPACE_SCHEMA
    from tests.runtime.test_h32h_attack import _owner_runs

    await _owner_runs(database, WORKSPACE_SCHEMA + ";" + ddl)
    policy = Policy(
        "ws_id",
        {"members", "invites", "counts", "notes", "knotes", "knotes_a", "knotes_b"}
        | {"knotes_b1", "knotes_b2"},
        global_tables={"workspaces"},
    )
    conn = await connect(database, policy=policy)
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            with tenant(1):
                try:
                    await conn.execute(sql, 1)
                except TenantIsolationError:
                    return "refused"
            rows = await asyncpg.Connection.fetch(conn, "SELECT ws_id, n FROM counts ORDER BY 1")
            return [tuple(r) for r in rows]
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


@pytest.mark.parametrize("shape", sorted(MOVED))
async def test_an_update_moving_a_row_runs_the_partitions_other_triggers(
    database: str, shape: str
) -> None:
    ddl, sql = MOVED[shape]
    assert await _moved(database, ddl, sql) == "refused"  # leaks: [(1, 1), (2, 1)]


async def test_an_update_moving_no_row_under_an_insert_trigger_runs(database: str) -> None:
    """The safe twin: an UPDATE that leaves the partition key alone fires no INSERT trigger."""
    got = await _moved(
        database,
        MOVES["destination's BEFORE INSERT"],
        "UPDATE knotes SET body = 'z' WHERE ws_id = $1",
    )
    assert got == [(1, 0), (2, 0)]


# --- 5. a trigger that stashes every clinic's names, run by a clinic's write ------------------

STASH_TRIGGER = (
    "CREATE FUNCTION stash() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " PERFORM set_config('my.stash', (SELECT string_agg(first_name, ',' ORDER BY first_name)"
    " FROM patients), false); RETURN NEW; END$$;"
    " CREATE TRIGGER s AFTER INSERT ON patients FOR EACH ROW EXECUTE FUNCTION stash()"
)
INSERT = "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES ($1, $2, $3)"


@pytest.mark.parametrize("how", ["execute", "executemany"])
async def test_a_write_whose_trigger_stashes_every_clinic_is_refused(
    two_clinics: str, how: str
) -> None:
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(STASH_TRIGGER)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            try:
                if how == "execute":
                    await conn.execute(INSERT, 1, "Zed", "555")
                else:
                    await conn.executemany(INSERT, [(1, "Zed", "555"), (1, "Zoe", "556")])
            except TenantIsolationError:
                pass
            stash = await asyncpg.Connection.fetchval(conn, READ_STASH)
            assert "Carla" not in (stash or "")
    finally:
        await conn.close()


# --- 6. a function configured with the tenant setting, run where no name shows it -------------

PEEK3 = (
    "CREATE FUNCTION peek3(integer, integer) RETURNS text LANGUAGE sql AS $$SELECT"
    " string_agg(first_name, ',' ORDER BY first_name) FROM patients"
    " WHERE tenant_id = current_setting('app.tenant_id')::bigint$$;"
    " ALTER FUNCTION peek3(integer, integer) SET app.tenant_id = '2'"
)
SETTING_HIDDEN = {
    "by name": (PEEK3, "SELECT peek3(1, 1)"),
    "operator": (
        PEEK3 + "; CREATE OPERATOR || (LEFTARG = integer, RIGHTARG = integer, FUNCTION = peek3)",
        "SELECT 1 || 1",
    ),
}


@pytest.mark.parametrize("how", sorted(SETTING_HIDDEN))
async def test_a_function_configured_with_the_tenant_setting_is_refused(
    two_clinics: str, how: str
) -> None:
    ddl, call = SETTING_HIDDEN[how]
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(ddl)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY, set_tenant_setting=True)
    try:
        with tenant(1):
            for _ in range(2):  # the second: the verdict cached
                try:
                    got = await conn.fetchval(call)
                except TenantIsolationError:
                    got = "refused"
                assert got == "refused"  # leaked: 'Carla', clinic 2's
    finally:
        await conn.close()


STASHING_CHECK = (
    "CREATE FUNCTION stash_check(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN"
    " PERFORM set_config('my.stash', (SELECT string_agg(first_name, ',' ORDER BY first_name)"
    " FROM patients), false); RETURN true; END$$;"
    " CREATE DOMAIN stashed AS text CHECK (stash_check(VALUE))"
)


async def test_a_domain_check_stash_outside_any_block_is_not_read_by_a_clinic(
    two_clinics: str,
) -> None:
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(STASHING_CHECK)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        assert await conn.fetchval("SELECT 'x'::stashed") == "x"  # outside any block
        assert await asyncpg.Connection.fetchval(conn, READ_STASH) == "Ana,Bruno,Carla"
        with tenant(1):
            assert await conn.fetchval(READ_STASH) in ("", None)
    finally:
        await conn.close()


STASHING_DEFAULT = (
    "CREATE FUNCTION stash_default() RETURNS text LANGUAGE plpgsql AS $$BEGIN"
    " PERFORM set_config('my.stash', (SELECT string_agg(first_name, ',' ORDER BY first_name)"
    " FROM patients), false); RETURN 'n'; END$$;"
    " ALTER TABLE patients ADD COLUMN note text DEFAULT stash_default()"
)


DEFAULT_WRITES = {
    "INSERT": INSERT,
    "UPDATE SET DEFAULT": "UPDATE patients SET note = DEFAULT WHERE tenant_id = $1 AND $2 <> $3",
    "MERGE INSERT": "MERGE INTO patients p USING (SELECT $1::bigint AS t, $2 AS f, $3 AS n) s"
    " ON false WHEN NOT MATCHED THEN INSERT (tenant_id, first_name, phone_number)"
    " VALUES (s.t, s.f, s.n)",
    "COPY": "",  # copy_records_to_table
}
DEFAULT_KINDS = {
    "column default": STASHING_DEFAULT,
    # a domain's DEFAULT, taken by a column of the domain without one of its own
    "domain default": STASHING_DEFAULT.replace(
        "ALTER TABLE", "CREATE DOMAIN note_t AS text DEFAULT stash_default(); ALTER TABLE"
    ).replace("note text DEFAULT stash_default()", "note note_t"),
    # a stored generated column's expression (run again by any UPDATE)
    "generated column": STASHING_DEFAULT.replace("RETURNS text", "RETURNS text IMMUTABLE")
    .replace("() RETURNS", "(text) RETURNS")
    .replace("DEFAULT stash_default()", "GENERATED ALWAYS AS (stash_default(first_name)) STORED"),
}


@pytest.mark.parametrize("kind", sorted(DEFAULT_KINDS))
@pytest.mark.parametrize("write", sorted(DEFAULT_WRITES))
async def test_a_column_default_stashing_every_clinic_is_refused(
    two_clinics: str, kind: str, write: str
) -> None:
    """7: clinic 1's pinned write of a table whose column default (or domain default, or
    generated column) calls a function reading every clinic's names is judged as a trigger
    running that function: refused (TG005), nothing stashed (leaked: 'Ana,Bruno,Carla')."""
    sql = DEFAULT_WRITES[write]
    if kind == "generated column" and write == "UPDATE SET DEFAULT":
        sql = "UPDATE patients SET phone_number = $3 WHERE tenant_id = $1 AND $2 <> ''"
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(DEFAULT_KINDS[kind])
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError, match="TG005"):
                if write == "COPY":
                    await conn.copy_records_to_table(
                        "patients",
                        records=[(1, "Zed", "555")],
                        columns=["tenant_id", "first_name", "phone_number"],
                    )
                else:
                    await conn.execute(sql, 1, "Zed", "555")
            stash = await asyncpg.Connection.fetchval(conn, READ_STASH)
            assert "Carla" not in (stash or "")
    finally:
        await conn.close()


HARMLESS_DEFAULTS = {
    "now()": "ALTER TABLE patients ADD COLUMN note text DEFAULT now()::text",
    # a schema function reading no table
    "a plain SQL function": "CREATE FUNCTION tag() RETURNS text LANGUAGE sql AS $$SELECT 'n'$$;"
    " ALTER TABLE patients ADD COLUMN note text DEFAULT tag()",
}


async def test_an_update_leaving_a_stashing_default_alone_runs(two_clinics: str) -> None:
    """The safe twin of 7: an UPDATE that does not set the column to its default runs no
    default (a generated column's would run): clinic 1's row changes, nothing stashed."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(STASHING_DEFAULT)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            done = await conn.execute(
                "UPDATE patients SET phone_number = phone_number || $2 WHERE tenant_id = $1", 1, "9"
            )
            assert done == "UPDATE 2"
            assert await asyncpg.Connection.fetchval(conn, READ_STASH) in ("", None)
    finally:
        await conn.close()


@pytest.mark.parametrize("kind", sorted(HARMLESS_DEFAULTS))
async def test_a_column_default_calling_a_harmless_function_runs(
    two_clinics: str, kind: str
) -> None:
    """The safe twin of 7: the default runs, the row is written with it."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(HARMLESS_DEFAULTS[kind])
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            await conn.execute(INSERT, 1, "Zed", "555")
            await conn.execute(DEFAULT_WRITES["UPDATE SET DEFAULT"], 1, "Zed", "555")
            got = await conn.fetchval(
                "SELECT note FROM patients WHERE tenant_id = $1 AND first_name = 'Zed'", 1
            )
            assert got
    finally:
        await conn.close()


async def test_a_built_in_setting_before_a_block_in_a_transaction_beside_a_policy_function(
    two_clinics: str,
) -> None:
    """The safe twin of 2 on a database whose RLS policy calls a function of the schema (it runs
    only where a statement reads the policy's table): a request's transaction sets its own
    setting with built-ins outside any block, then clinic 1's block reads in it."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(
            "CREATE FUNCTION current_clinic() RETURNS bigint LANGUAGE sql STABLE AS"
            " $$SELECT current_setting('app.tenant_id', true)::bigint$$;"
            " ALTER TABLE patients ENABLE ROW LEVEL SECURITY;"
            " CREATE POLICY clinic ON patients USING (tenant_id = current_clinic())"
        )
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY, set_tenant_setting=True)
    try:
        async with conn.transaction():
            await conn.fetchval("SELECT set_config('app.user_id', '7', true)")
            with tenant(1):
                assert await conn.fetchval(READ_STASH.replace("my.stash", "app.user_id")) == "7"
    finally:
        await conn.close()


STASHING_JOB = (
    "CREATE TABLE jobs (x integer);"
    " CREATE FUNCTION stash_job() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " PERFORM set_config('my.stash', (SELECT string_agg(first_name, ',' ORDER BY first_name)"
    " FROM patients), false); RETURN NEW; END$$;"
    " CREATE TRIGGER s AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION stash_job()"
)


async def test_a_trigger_stash_of_a_write_outside_any_block_is_not_read_by_a_clinic(
    two_clinics: str,
) -> None:
    """A write outside any block of a table no policy names, whose trigger stashes every
    clinic's names: refused (TG005: the trigger reads every clinic's rows), nothing stashed."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(STASHING_JOB)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with pytest.raises(TenantIsolationError, match="TG005"):
            await conn.execute("INSERT INTO jobs VALUES (1)")  # outside any block
        with tenant(1):
            assert await conn.fetchval(READ_STASH) in ("", None)
    finally:
        await conn.close()


async def test_a_security_definer_policy_function_leaves_requests_alone(two_clinics: str) -> None:
    """The safe twin of 3: an RLS policy calling a SECURITY DEFINER function owned by the
    superuser (a common way to read a membership table out of RLS) runs only as the policy's
    check; clinic 1's request reads its own patients under the init's role."""
    from tests.runtime.test_h32h_attack import _role_pool

    helper = (
        "CREATE FUNCTION clinic_of_session() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER"
        " AS $$SELECT current_setting('app.tenant_id', true)::bigint$$;"
        " CREATE POLICY by_helper ON patients AS RESTRICTIVE"
        " USING (tenant_id = clinic_of_session())"
    )
    pool, _ = await _role_pool(two_clinics, helper)
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                rows = await connection.fetch(NAMES, 1)
                assert [r[0] for r in rows] == ["Ana", "Bruno"]
    finally:
        await pool.close()  # type: ignore[attr-defined]


DDL_FUNCTION = (
    STASH_TRIGGER[: STASH_TRIGGER.index(" CREATE TRIGGER")]
    + " CREATE FUNCTION setup_ws() RETURNS void LANGUAGE plpgsql AS $$BEGIN EXECUTE"
    " 'CREATE TRIGGER s AFTER INSERT ON patients FOR EACH ROW EXECUTE FUNCTION stash()'; END$$"
)
# Since h34C a request's call of it is refused for itself, as the CLI refuses it (TG006: its body
# builds its SQL at run time, so no proof can show which tenant's rows it reads or writes); the
# refusal says why and what to do (the CLI's help: `unscoped()` for maintenance). Made there, the
# call runs, and what is checked stays the catalog read again before the request's next INSERT.
SETUP_REFUSED = r"TG006: function setup_ws .*builds its SQL at run time.*`unscoped\(\)` at run time"


async def _setup_ws(conn: Any) -> None:
    """Clinic 1's request calls setup_ws(): refused; its maintenance code (`unscoped()`) runs it."""
    with pytest.raises(TenantIsolationError, match=SETUP_REFUSED):
        await conn.fetchval("SELECT setup_ws()")
    with unscoped("a workspace's setup"):
        await conn.fetchval("SELECT setup_ws()")


async def test_a_trigger_made_by_a_function_call_in_a_block_is_read(two_clinics: str) -> None:
    """h33k's: a schema function whose body runs DDL (`EXECUTE 'CREATE TRIGGER …'`), called by
    a plain-looking `SELECT setup_ws()` in clinic 1's request, made a trigger the guard never
    read (without the catalog watch): clinic 1's next request's INSERT ran it, stashing every
    clinic's names. A call of such a function now marks the catalog out of date, as DDL in a
    statement's text does: the next lease reads it again, the INSERT is refused (TG005) by
    the trigger it made, nothing stashed."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(DDL_FUNCTION)
    finally:
        await owner.close()
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            async with pool.acquire() as conn:
                await _setup_ws(conn)
            async with pool.acquire() as conn:
                with pytest.raises(TenantIsolationError, match="TG005"):
                    await conn.execute(INSERT, 1, "Zed", "555")
                stash = await asyncpg.Connection.fetchval(conn._con, READ_STASH)
                assert "Carla" not in (stash or "")  # leaked: 'Ana,Bruno,Carla,Zed'
    finally:
        await pool.close()


async def test_a_trigger_made_by_a_function_call_is_read_in_the_same_lease(
    two_clinics: str,
) -> None:
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(DDL_FUNCTION)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            await _setup_ws(conn)
            with pytest.raises(TenantIsolationError, match="TG005"):
                await conn.execute(INSERT, 1, "Zed", "555")
            stash = await asyncpg.Connection.fetchval(conn, READ_STASH)
            assert "Carla" not in (stash or "")  # leaked: 'Ana,Bruno,Carla,Zed'
    finally:
        await conn.close()


async def test_a_function_call_making_no_ddl_leaves_the_catalog_read(two_clinics: str) -> None:
    """The twin: a PL/pgSQL function with an upsert's `DO NOTHING` and no DDL, called in clinic
    1's block: it runs, no catalog read follows, the INSERT after it runs."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(
            "CREATE FUNCTION touch(t bigint) RETURNS integer LANGUAGE plpgsql AS $$BEGIN"
            " INSERT INTO patients (tenant_id, first_name, phone_number) VALUES (t, 'Tod', '1')"
            " ON CONFLICT DO NOTHING; RETURN 1; END$$"
        )
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            assert await conn.fetchval("SELECT touch($1)", 1) == 1
            assert not conn._tg_catalog_stale  # type: ignore[attr-defined]
            await conn.execute(INSERT, 1, "Zed", "555")
            rows = await conn.fetch(NAMES, 1)
            assert [r[0] for r in rows] == ["Ana", "Bruno", "Tod", "Zed"]
    finally:
        await conn.close()
