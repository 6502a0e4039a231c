"""Round 32: helper h32h attacks the runtime's tenant-switch reset (6494be4) and h32d's role,
trigger and catalog changes, on a real server.

1. State left by statements outside any tenant() block (`_tg_owner` None: "a worker's SET at
   start-up") that read tenant tables: outside any block, `SELECT set_config('my.stash',
   (SELECT string_agg(first_name, ',') FROM patients WHERE tenant_id = 1), false)` (pinned by
   its literal, admitted) and then clinic 2's `current_setting('my.stash')` returned
   'Ana,Bruno'; an INSERT of clinic 1's made outside any block, then clinic 2's `lastval()`
   returned its id. FIXED: such state is `_OUTSIDE_OWNER`'s, reset before any tenant's first
   statement; a start-up SET reading no tenant table stays (owner None).
2. A call kept (created in one block, awaited later): clinic 1's `fetchval(STASH, 1)` made in
   its block, clinic 2's block then ran (reset first), the kept call awaited afterwards set
   the stash and clinic 2's next read returned 'Ana,Bruno': the state was marked as the
   awaiting block's. FIXED: the plan carries the owner decided at the call (`_Forget.owner`),
   and state of two blocks is no one's (reset before any tenant's next statement).
   NOT FIXED (strict xfail): clinic 2's read made while the connection is clean and awaited
   after clinic 1's stash ran: the switch is decided at the call, and the hot path returns
   asyncpg's own coroutine (no hook when it is awaited).
3. h32d's role kept (a pool whose init= runs SET ROLE h31b_clinic_app, under Row-Level
   Security): a function hiding its role change from the body's text — `EXECUTE
   format('RESET %s', 'role')`, `set_config('ro' || 'le', 'none', false)` — was called by
   clinic 1's request and its next `all_names()` returned Ana, Bruno and Carla. FIXED:
   `schema_code.role_changers` takes a function with dynamic SQL, a set_config() of a name that
   is not a plain literal, a U& escape or a procedural language the guard does not read as one
   that may change the role (compiled code trusted as the built-ins). Held: `EXECUTE 'RE' ||
   'SET ROLE'` (the text shows `set role`). A view calling such a function (`SELECT done
   FROM escalation` returned every clinic's names next): FIXED, a statement naming a view whose
   definition calls a role changer is refused (`Guard.learn_role_views`), and so is a write of
   a table whose trigger runs one (`INSERT INTO visits …`, BEFORE trigger `RESET ROLE`). FIXED
   (h33d, with the catalog watch installed): a function a migration made from another session
   after the pool's connection read the catalog (read again before the next lease).
4. h32d's triggers and rules read from the catalog: a write of workspace 1's notes whose
   trigger moves every workspace's counts. Held (refused): dynamic SQL in the trigger
   function, a statement-level trigger, a DO ALSO rule on a table, a BEFORE trigger. FIXED
   (h32p): the trigger function calling a SQL function that updates every workspace's counts
   (`PERFORM bump_all()`: the functions a trigger's function names are read too, 4 deep). FIXED
   (h33d, with the catalog watch): a trigger a migration made from another session after the
   connection read the catalog (read again before the first statement after reset()).
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant, unscoped
from tenantguard.runtime.schema_code import CATALOG_WATCH
from tests.runtime.test_h31b_runtime_state import _all_names
from tests.runtime.test_h32b_runtime import INSERT, NAMES, READ_STASH, STASH
from tests.runtime.test_runtime import POLICY

STASH_1 = (
    "SELECT set_config('my.stash', (SELECT string_agg(first_name, ',' ORDER BY first_name) "
    "FROM patients WHERE tenant_id = 1), false)"
)


async def test_outside_any_block_a_pinned_stash_is_not_read_by_a_clinic(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        assert await conn.fetchval(STASH_1) == "Ana,Bruno"  # outside any block: admitted
        with tenant(2):
            assert await conn.fetchval(READ_STASH) in ("", None)  # was: 'Ana,Bruno'
            assert [r[0] for r in await conn.fetch(NAMES, 2)] == ["Carla"]
    finally:
        await conn.close()


async def test_outside_any_block_state_in_a_transaction_refuses_the_clinic(
    two_clinics: str,
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        async with conn.transaction():
            assert await conn.fetchval(STASH_1) == "Ana,Bruno"
            with tenant(2), pytest.raises(TenantIsolationError) as refused:
                await conn.fetchval(READ_STASH)
            assert "no tenant() block's" in refused.value.args[0]
    finally:
        await conn.close()


@pytest.mark.parametrize("fast", [False, True])
async def test_outside_any_block_an_insert_lastval_is_not_read_by_a_clinic(
    two_clinics: str, fast: bool
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        if fast:  # the INSERT's verdict cached: the hot path makes the call
            await conn.fetchval(INSERT, 1, "Eva", "114")
            await conn.reset()
            hits = conn.tenantguard.fast_hits
        new_id = await conn.fetchval(INSERT, 1, "Dora", "113")
        if fast:
            assert conn.tenantguard.fast_hits == hits + 1
        assert await conn.fetchval("SELECT lastval()") == new_id
        with tenant(2), pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
            await conn.fetchval("SELECT lastval()")  # was: clinic 1's new patient's id
    finally:
        await conn.close()


async def test_a_start_up_setting_outside_any_block_stays_for_the_clinics(
    two_clinics: str,
) -> None:
    """The safe twin: a worker's SET reading no tenant table, outside any block, is no
    tenant's state: the clinics' reads find it (no reset between them)."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        await conn.execute("SET statement_timeout = '7s'")
        for clinic in (1, 2):
            with tenant(clinic):
                assert await conn.fetchval("SHOW statement_timeout") == "7s"
    finally:
        await conn.close()


@pytest.mark.parametrize("where", ["outside", "in clinic 2"])
async def test_a_kept_call_of_clinic_1_awaited_after_clinic_2_began(
    two_clinics: str, where: str
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            kept = conn.fetchval(STASH, 1)  # called in clinic 1's block, not awaited yet
        with tenant(2):
            assert await conn.fetchval(NAMES, 2) == "Carla"
            if where == "in clinic 2":
                assert await kept == "Ana,Bruno"
        if where == "outside":
            assert await kept == "Ana,Bruno"
        with tenant(2):
            assert await conn.fetchval(READ_STASH) in ("", None)  # was: 'Ana,Bruno'
    finally:
        await conn.close()


async def test_clinic_1_state_made_with_the_guard_off_is_reset_after_unscoped(
    two_clinics: str,
) -> None:
    """State of two blocks (an unscoped() job's TEMP table, then clinic 1's statements made
    with the guard off) is no one's: clinic 1's next statement with the guard on resets."""
    conn = await connect(two_clinics, policy=POLICY)
    guard = conn.tenantguard
    try:
        with unscoped("a report over every clinic"):
            await conn.execute("CREATE TEMP TABLE stash AS SELECT first_name FROM patients")
        guard.mode = "off"
        try:
            with tenant(1):
                await conn.execute("SELECT set_config('my.other', 'x', false)")
        finally:
            guard.mode = "enforce"
        with tenant(1), pytest.raises(asyncpg.UndefinedTableError):
            await conn.fetch("SELECT first_name FROM stash")  # was: Ana, Bruno and Carla
    finally:
        await conn.close()


@pytest.mark.xfail(
    strict=True,
    reason="h32h (weighed again in h36C): a call's tenant switch is decided when it is made; a "
    "read made while the connection is clean and awaited after another clinic's state was left "
    "is not reset — the hot path hands back asyncpg's own coroutine, and a wrapper to see the "
    "await costs ~0.3 us per call (of the ~0.5 us budget)",
)
async def test_a_read_of_clinic_2_made_before_clinic_1_stashes(two_clinics: str) -> None:
    """Not fixed (h33d weighed it): clinic 2's read is plain and the session clean when it is
    made, so the hot path returns asyncpg's own coroutine — nothing of the guard runs when it
    is awaited, after clinic 1's stash. Seeing it then needs a wrapper coroutine on every call
    (the frame the hot path saves: ~0.3 us of the 0.8 us budget of benchmarks section 2), or a
    record of each call made (an unstarted coroutine is known to no one: asyncpg registers it
    with the protocol only when it starts), and the stash's admission could not tell a call
    still to be awaited from one already done. Await each call in the block that makes it."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(2):
            kept = conn.fetchval(READ_STASH)
        with tenant(1):
            assert await conn.fetchval(STASH, 1) == "Ana,Bruno"
        assert await kept in ("", None)  # leaks 'Ana,Bruno'
    finally:
        await conn.close()


async def test_a_statement_prepared_in_clinic_1_run_in_clinic_2(two_clinics: str) -> None:
    """Held: the prepared statement's run in clinic 2's block resets first."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            assert await conn.fetchval(STASH, 1) == "Ana,Bruno"
            read = await conn.prepare(READ_STASH)
        with tenant(2):
            assert await read.fetchval() in ("", None)
    finally:
        await conn.close()


# 3. h32d: a request cannot leave the role a pool's init= set. Functions whose body changes
# the role in a spelling the body's text hides, or made after the connection read the catalog.
ESCAPES = {
    "dynamic SQL": "CREATE FUNCTION escape_{n}() RETURNS int LANGUAGE plpgsql AS"
    " $$BEGIN EXECUTE 'RE' || 'SET ROLE'; RETURN 1; END$$",
    "format()": "CREATE FUNCTION escape_{n}() RETURNS int LANGUAGE plpgsql AS"
    " $$BEGIN EXECUTE format('RESET %s', 'role'); RETURN 1; END$$",
    "a computed set_config name": "CREATE FUNCTION escape_{n}() RETURNS text LANGUAGE sql AS"
    " $$SELECT set_config('ro' || 'le', 'none', false)$$",
}


async def _owner_runs(dsn: str, sql: str) -> None:
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute(sql)
    finally:
        await owner.close()


async def _role_pool(dsn: str, code: str | None) -> tuple[object, str]:
    from tenantguard.runtime import create_pool
    from tests.runtime.test_h31b_runtime_state import _ROLE, _drop_privileges, _rls
    from tests.runtime.test_runtime import POLICY as CLINICS

    await _rls(dsn)
    if code is not None:
        owner = await asyncpg.connect(dsn)
        try:
            await owner.execute(code)
            await owner.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {_ROLE}")
        finally:
            await owner.close()
    pool = await create_pool(
        dsn, policy=CLINICS, min_size=1, max_size=1, init=_drop_privileges,
        set_tenant_setting=True,
    )  # fmt: skip
    return pool, _ROLE


async def _escaped(connection: object, call: str, role: str) -> list[str]:
    """Clinic 1's request calls `call`: the names all_names() gives it next (RLS: its own),
    unless the call was refused."""
    try:
        await connection.fetchval(call)  # type: ignore[attr-defined]
    except TenantIsolationError as error:
        # refused for the role it changes (since h34C a function whose body reads tenant rows
        # unpinned is refused for that alone, as the CLI does: not what these tests check), or
        # (escape_1's computed set_config name) for SQL built at run time, as the CLI refuses it
        assert "role" in str(error) or "builds its SQL at run time" in str(error), error
        assert await connection.fetchval("SELECT current_user") == role  # type: ignore[attr-defined]
        return ["refused"]
    return await _all_names(connection)


@pytest.mark.parametrize("how", sorted(ESCAPES))
async def test_a_function_hiding_its_role_change_is_refused(two_clinics: str, how: str) -> None:
    pool, role = await _role_pool(two_clinics, ESCAPES[how].format(n=1))
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                assert await _all_names(connection) == [
                    "Ana", "Bruno",
                ]  # fmt: skip
                assert await _escaped(connection, "SELECT escape_1()", role) == ["refused"]
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_role_changing_function_made_after_the_catalog_read_is_refused(
    two_clinics: str,
) -> None:
    """FIXED (h33d) with the catalog watch installed (`schema_code.CATALOG_WATCH`): the pool's
    next lease checks the watch's count before its first statement and reads the catalog
    again. Without the watch it still leaks (tests/runtime/test_h33d_catalog_watch.py)."""
    await _owner_runs(two_clinics, CATALOG_WATCH)
    pool, role = await _role_pool(two_clinics, None)
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                assert await _all_names(connection) == [
                    "Ana", "Bruno",
                ]  # fmt: skip
        owner = await asyncpg.connect(two_clinics)  # a migration, from another session
        try:
            await owner.execute(
                "CREATE FUNCTION late() RETURNS int LANGUAGE plpgsql AS"
                " $$BEGIN RESET ROLE; RETURN 1; END$$;"
                f" GRANT EXECUTE ON FUNCTION late() TO {role}"
            )
        finally:
            await owner.close()
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                # leaks: ['Ana', 'Bruno', 'Carla'] (run as the login role)
                assert await _escaped(connection, "SELECT late()", role) == ["refused"]
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_function_setting_a_named_setting_stays_callable(two_clinics: str) -> None:
    """The safe twin: set_config() of a plain literal name other than role, no dynamic SQL."""
    code = (
        "CREATE FUNCTION remember_1() RETURNS text LANGUAGE plpgsql AS"
        " $$BEGIN RETURN set_config('my.note', 'x', false); END$$"
    )
    pool, role = await _role_pool(two_clinics, code)
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                assert await _escaped(connection, "SELECT remember_1()", role) == ["Ana", "Bruno"]
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_view_calling_a_role_changer_is_refused(two_clinics: str) -> None:
    code = (
        "CREATE FUNCTION escalate_v() RETURNS int LANGUAGE plpgsql AS"
        " $$BEGIN RESET ROLE; RETURN 1; END$$;"
        " CREATE VIEW escalation AS SELECT escalate_v() AS done"
    )
    pool, role = await _role_pool(two_clinics, code)
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                for _ in range(2):  # the verdict cached: refused again
                    got = await _escaped(connection, "SELECT done FROM escalation", role)
                    assert got == ["refused"]  # was: ['Ana', 'Bruno', 'Carla']
    finally:
        await pool.close()  # type: ignore[attr-defined]


# 4. h32d: the runtime reads triggers and rules from the catalog (TG005). A write of workspace
# 1's notes whose trigger or rule moves every workspace's counts, in shapes the catalog read
# may miss.
from tests.runtime.test_h32d_open_items import POLICY as WORKSPACES  # noqa: E402
from tests.runtime.test_h32d_open_items import SCHEMA as WORKSPACE_SCHEMA  # noqa: E402

NOTE = "INSERT INTO notes (ws_id, body) VALUES ($1, 'b')"
BUMPS = {
    "dynamic SQL": "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " EXECUTE 'UPDATE counts SET n = n + 1'; RETURN NEW; END$$;"
    " CREATE TRIGGER t AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION bump()",
    "a statement-level trigger": "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN UPDATE counts SET n = n + 1; RETURN NULL; END$$;"
    " CREATE TRIGGER t AFTER INSERT ON notes FOR EACH STATEMENT EXECUTE FUNCTION bump()",
    "a rule on a table": "CREATE RULE r AS ON INSERT TO notes DO ALSO UPDATE counts SET n = n + 1",
    "a helper function": "CREATE FUNCTION bump_all() RETURNS void LANGUAGE sql AS"
    " 'UPDATE counts SET n = n + 1';"
    " CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN PERFORM bump_all(); RETURN NEW; END$$;"
    " CREATE TRIGGER t AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION bump()",
    "a BEFORE trigger": "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " UPDATE counts SET n = n + 1; RETURN NEW; END$$;"
    " CREATE TRIGGER t BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION bump()",
}


async def _counts_after_note(conn: asyncpg.Connection) -> object:
    """Workspace 1's note under the guard, rolled back: 'refused' or the counts it left."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        with tenant(1):
            try:
                await conn.execute(NOTE, 1)
            except TenantIsolationError:
                return "refused"
        rows = await asyncpg.Connection.fetch(conn, "SELECT ws_id, n FROM counts ORDER BY 1")
        return [tuple(r) for r in rows]
    finally:
        await transaction.rollback()


@pytest.mark.parametrize("shape", sorted(BUMPS))
async def test_a_write_whose_trigger_moves_every_workspace_is_refused(
    database: str, shape: str
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(WORKSPACE_SCHEMA)
        await owner.execute(BUMPS[shape])
    finally:
        await owner.close()
    conn = await connect(database, policy=WORKSPACES)
    try:
        assert await _counts_after_note(conn) == "refused"
    finally:
        await conn.close()


async def test_a_trigger_helper_moves_every_workspace_on_the_server(database: str) -> None:
    """The leak the catalog read now follows (h32p): the trigger's `PERFORM bump_all()` moves
    workspace 2's count on workspace 1's note (no guard)."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(WORKSPACE_SCHEMA)
        await conn.execute(BUMPS["a helper function"])
        await conn.execute("INSERT INTO notes (ws_id, body) VALUES (1, 'b')")
        assert await conn.fetchval("SELECT n FROM counts WHERE ws_id = 2") == 1
    finally:
        await conn.close()


async def test_a_trigger_helper_pinned_by_new_runs(database: str) -> None:
    """The safe twin: the helper pinned by its parameter, called with NEW's tenant."""
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(WORKSPACE_SCHEMA)
        await owner.execute(
            "CREATE FUNCTION bump_one(w bigint) RETURNS void LANGUAGE sql AS"
            " 'UPDATE counts SET n = n + 1 WHERE ws_id = w';"
            " CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS"
            " $$BEGIN PERFORM bump_one(NEW.ws_id); RETURN NEW; END$$;"
            " CREATE TRIGGER t AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION bump()"
        )
    finally:
        await owner.close()
    conn = await connect(database, policy=WORKSPACES)
    try:
        assert await _counts_after_note(conn) == [(1, 1), (2, 0)]
    finally:
        await conn.close()


async def test_a_trigger_made_after_the_catalog_read_is_judged(database: str) -> None:
    """FIXED (h33d) with the catalog watch: the first statement after reset() checks it."""
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(WORKSPACE_SCHEMA)
        await owner.execute(CATALOG_WATCH)
        conn = await connect(database, policy=WORKSPACES)
        try:
            assert await _counts_after_note(conn) == [(1, 0), (2, 0)]  # no trigger yet
            await owner.execute(BUMPS["a BEFORE trigger"])  # a migration, another session
            await conn.reset()
            assert await _counts_after_note(conn) == "refused"
        finally:
            await conn.close()
    finally:
        await owner.close()


# 5. False alarm of 6494be4: the COMMIT (or ROLLBACK) that ends a transaction in which an
# unscoped() step (or another block) left state was refused as another block's first statement:
# the transaction stayed open (tests/runtime/test_h31b_runtime_state.py's
# test_the_inits_role_stays_for_every_request failed so). Ending the transaction reads
# nothing of the session: it passes, and the reset comes before the next statement.
@pytest.mark.parametrize("end", ["commit", "rollback"])
async def test_a_transaction_with_an_unscoped_step_ends(two_clinics: str, end: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            try:
                async with conn.transaction():
                    with unscoped("one step of maintenance"):
                        await conn.execute(
                            "CREATE TEMP TABLE stash AS SELECT first_name FROM patients"
                        )
                    if end == "rollback":
                        raise _Undo
            except _Undo:
                pass
            assert not conn.is_in_transaction()
            with pytest.raises(asyncpg.UndefinedTableError):  # reset (or rolled back) first
                await conn.fetch("SELECT first_name FROM stash")
            assert [r[0] for r in await conn.fetch(NAMES, 1)] == ["Ana", "Bruno"]
    finally:
        await conn.close()


class _Undo(Exception):
    pass


async def test_a_write_whose_trigger_changes_the_role_is_refused(two_clinics: str) -> None:
    from tests.runtime.test_h31b_runtime_state import _ROLE

    code = (
        "CREATE TABLE visits (tenant_id bigint NOT NULL, note text);"
        " CREATE FUNCTION escalate_t() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN RESET ROLE; RETURN NEW; END$$;"
        " CREATE TRIGGER t BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION escalate_t();"
        f" GRANT ALL ON visits TO {_ROLE}"
    )
    pool, role = await _role_pool(two_clinics, code)
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                got = await _escaped(
                    connection, "INSERT INTO visits (tenant_id, note) VALUES (1, 'x')", role
                )
                assert got == ["refused"]  # was: ['Ana', 'Bruno', 'Carla']
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_a_write_whose_trigger_keeps_the_role_runs(two_clinics: str) -> None:
    """The safe twin: a trigger whose function leaves the role alone."""
    from tests.runtime.test_h31b_runtime_state import _ROLE

    code = (
        "CREATE TABLE visits (tenant_id bigint NOT NULL, note text);"
        " CREATE FUNCTION stamp_t() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN NEW.note := NEW.note || '!'; RETURN NEW; END$$;"
        " CREATE TRIGGER t BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION stamp_t();"
        f" GRANT ALL ON visits TO {_ROLE}"
    )
    pool, role = await _role_pool(two_clinics, code)
    try:
        async with pool.acquire() as connection:  # type: ignore[attr-defined]
            with tenant(1):
                got = await _escaped(
                    connection, "INSERT INTO visits (tenant_id, note) VALUES (1, 'x')", role
                )
                assert got == ["Ana", "Bruno"]
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_outside_any_block_a_copy_lastval_is_not_read_by_a_clinic(two_clinics: str) -> None:
    """COPY into a serial table outside any block advances the sequence (lastval): checked as
    its INSERT, the state is no block's (held since this round's fix)."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        await conn.copy_records_to_table(
            "patients", records=[(1, "Dora", "113")],
            columns=["tenant_id", "first_name", "phone_number"],
        )  # fmt: skip
        assert await conn.fetchval("SELECT lastval()") > 0
        with tenant(2), pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
            await conn.fetchval("SELECT lastval()")
    finally:
        await conn.close()


# h32p: the helper's shapes, read by the schema sources' hidden_writes (the runtime reads the
# catalog's definitions through it): a leak each, and the pinned twin
HELPERS = {
    "a quoted schema": ("bump_all()", "UPDATE counts SET n = n + 1", '"public".bump_all()'),
    "a quoted name": ('"Bump"()', "UPDATE counts SET n = n + 1", '"Bump"()'),
    "a helper's helper": ("bump_all()", "SELECT b2()", "bump_all()"),
    # a SQL function's body reads the column, not the parameter: every workspace's row
    "a parameter named as the column": (
        "bump_all(ws_id bigint)",
        "UPDATE counts SET n = n + 1 WHERE ws_id = ws_id",
        "bump_all(NEW.ws_id)",
    ),
    "a positional parameter, not plain": (
        "bump_all(w bigint)",
        "UPDATE counts SET n = n + 1 WHERE ws_id = $1",
        "bump_all(abs(NEW.ws_id))",
    ),
    "pinned": (
        "bump_all(w bigint)",
        "UPDATE counts SET n = n + 1 WHERE ws_id = $1",
        "bump_all(NEW.ws_id)",
    ),
}


@pytest.mark.parametrize("shape", sorted(HELPERS))
def test_a_trigger_helper_is_followed(shape: str) -> None:
    from tenantguard.sources.schema.checks import hidden_writes
    from tenantguard.sources.schema.reading import SchemaInfo

    signature, body, call = HELPERS[shape]
    schema = SchemaInfo()
    schema.add_sql(WORKSPACE_SCHEMA)
    schema.add_sql(
        "CREATE FUNCTION b2() RETURNS void LANGUAGE sql AS 'UPDATE counts SET n = n + 1';"
        f" CREATE FUNCTION {signature} RETURNS void LANGUAGE sql AS '{body}';"
        " CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS"
        f" $$BEGIN PERFORM {call}; RETURN NEW; END$$;"
        " CREATE TRIGGER t AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION bump()"
    )
    found = hidden_writes(schema, WORKSPACES)
    assert bool(found) is (shape != "pinned"), found
