"""Round 22: the runtime guard attacked by an outsider (helper-99), on a real server.

1. A script that ends a transaction before a statement pinned by the tenant setting: the guard
   sets the setting inside the open transaction before the script runs; the script's own
   `ROLLBACK` puts back the value an earlier request left (clinic 2's), and the statement after
   it read and changed clinic 2's rows under clinic 1's tenant(). Refused now: a script in
   which a statement reading the setting follows COMMIT/ROLLBACK/ABORT/END (also ROLLBACK TO a
   savepoint, PREPARE TRANSACTION).
2. A cursor declared WITH HOLD by clinic 2's request outlives it on a connection that serves
   request after request: clinic 1's `FETCH ALL FROM page` read clinic 2's patients. FETCH and
   MOVE now read only a cursor declared on the connection under the same tenant().
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant, unscoped
from tests.runtime.test_runtime import POLICY

BY_SETTING = (
    "SELECT first_name FROM patients "
    "WHERE tenant_id = current_setting('app.tenant_id')::bigint ORDER BY id"
)


async def test_a_rollback_in_the_script_puts_back_another_clinics_setting(
    two_clinics: str,
) -> None:
    # the witness, unguarded: what the guard did before (set inside the transaction, then the
    # script) reads clinic 2's rows
    raw = await asyncpg.connect(two_clinics)
    try:
        await raw.execute("SELECT set_config('app.tenant_id', '2', false)")
        await raw.execute("BEGIN")
        await raw.execute("SELECT set_config('app.tenant_id', '1', false)")
        await raw.execute(
            "ROLLBACK; CREATE TEMP TABLE seen AS SELECT first_name FROM patients "
            "WHERE tenant_id = current_setting('app.tenant_id')::bigint"
        )
        assert [r[0] for r in await raw.fetch("SELECT * FROM seen")] == ["Carla"]
    finally:
        await raw.close()

    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(2):  # an earlier request of clinic 2 leaves the setting at '2'
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == ["Carla"]
        with tenant(1):
            await conn.execute("BEGIN")
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == ["Ana", "Bruno"]
            for script in (
                "ROLLBACK; UPDATE patients SET phone_number = 'PWNED' "
                "WHERE tenant_id = current_setting('app.tenant_id')::bigint",
                "COMMIT; UPDATE patients SET phone_number = 'PWNED' "
                "WHERE tenant_id = current_setting('app.tenant_id')::bigint",
                "ABORT /* c */; DELETE FROM patients "
                "WHERE tenant_id = current_setting('app.tenant_id')::bigint",
                "SAVEPOINT s; ROLLBACK TO SAVEPOINT s; UPDATE patients SET phone_number = 'PWNED' "
                "WHERE tenant_id = current_setting('app.tenant_id')::bigint",
            ):
                with pytest.raises(TenantIsolationError, match="ends a transaction"):
                    await conn.execute(script)
            # the same statements as separate calls: the guard sets the setting again after
            # the rollback, and clinic 1's rows are the ones read
            await conn.execute("ROLLBACK")
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == ["Ana", "Bruno"]
            # a script whose statements after the end do not read the setting still runs
            await conn.execute("BEGIN; SELECT 1; COMMIT; SELECT 2")
    finally:
        await conn.close()
    raw = await asyncpg.connect(two_clinics)
    try:
        rows = await raw.fetch("SELECT tenant_id, phone_number FROM patients ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, "111"), (1, "112"), (2, "221")]
    finally:
        await raw.close()


async def test_row_level_security_setting_after_a_rollback_in_the_script(
    two_clinics: str,
) -> None:
    """With `set_tenant_setting=True` (row-level security reads the setting) every statement
    after the end of a transaction in the script reads it."""
    conn = await connect(two_clinics, policy=POLICY, set_tenant_setting=True)
    try:
        with tenant(1):
            await conn.execute("BEGIN")
            with pytest.raises(TenantIsolationError, match="ends a transaction"):
                await conn.execute(
                    "ROLLBACK AND NO CHAIN; UPDATE patients SET phone_number = 'x' "
                    "WHERE tenant_id = 1"
                )
            await conn.execute("ROLLBACK")
    finally:
        await conn.close()


async def test_a_cursor_declared_for_another_clinic_is_not_fetched(two_clinics: str) -> None:
    declare = (
        "DECLARE page CURSOR WITH HOLD FOR SELECT first_name FROM patients "
        "WHERE tenant_id = $1 ORDER BY id"
    )
    in_transaction = declare.replace("WITH HOLD ", "")
    # the witness, unguarded: a held cursor outlives the request that declared it
    raw = await asyncpg.connect(two_clinics)
    try:
        await raw.execute(declare.replace("$1", "2"))
        assert [r[0] for r in await raw.fetch("FETCH ALL FROM page")] == ["Carla"]
    finally:
        await raw.close()

    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(2), pytest.raises(TenantIsolationError, match="WITH HOLD"):
            await conn.execute(declare, 2)  # it would outlive clinic 2's request
        # a transaction that spans two requests (an application's bug): clinic 2's cursor
        await conn.execute("BEGIN")
        with tenant(2):
            await conn.execute(in_transaction, 2)
        with tenant(1):  # clinic 1's request on the same connection, in that transaction
            # (since round 32 refused as a whole, before the cursor is looked at: the session
            # holds state clinic 2's statements left, in a transaction a reset would end)
            for fetch in (
                "FETCH ALL FROM page",
                "fetch forward 5 in PAGE;",
                'FETCH NEXT FROM "page" -- the same cursor',
                "FETCH ALL FROM other_cursor",
            ):
                with pytest.raises(TenantIsolationError, match="to another's"):
                    await conn.fetch(fetch)
            with pytest.raises(TenantIsolationError):
                await conn.execute("MOVE ABSOLUTE 0 IN page")
            with pytest.raises(TenantIsolationError, match="to another's"):
                await conn.prepare(in_transaction)
        await conn.execute("ROLLBACK")
        with tenant(1):  # clinic 1's own cursor, in its own transaction
            async with conn.transaction():
                await conn.execute(in_transaction, 1)
                assert [r[0] for r in await conn.fetch("FETCH ALL FROM page")] == ["Ana", "Bruno"]
            async with conn.transaction():  # the next transaction: the name is free again
                await conn.execute(in_transaction, 1)
                assert [r[0] for r in await conn.fetch("FETCH 1 FROM page")] == ["Ana"]
        with unscoped("maintenance"):  # held and read outside any tenant, on purpose
            await conn.execute(declare.replace("page", "every"), 2)
            assert [r[0] for r in await conn.fetch("FETCH ALL FROM every")] == ["Carla"]
        with tenant(1), pytest.raises(TenantIsolationError, match="cursor"):
            await conn.fetch("FETCH ALL FROM every")  # maintenance's cursor is no tenant's
        with unscoped("maintenance"), pytest.raises(asyncpg.InvalidCursorNameError):
            # (since round 32 the connection is reset before clinic 1's first statement after
            # unscoped()'s: CLOSE ALL closed the held cursor)
            await conn.execute("CLOSE every")
    finally:
        await conn.close()


async def test_a_statement_of_another_task_between_the_setting_and_the_call(
    two_clinics: str,
) -> None:
    """Two tasks on one connection (asyncpg refuses the second's call while the first's runs,
    and tells only one of them): a ROLLBACK that ran between the guard's setting and the
    pinned call reverted the setting to clinic 2's, and the guard went on trusting '1'. A call
    that fails forgets what the guard knew of the session."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(2):
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == ["Carla"]

        async def pinned() -> None:
            with contextlib.suppress(asyncpg.InterfaceError):
                await conn.fetch(BY_SETTING)

        async def rollback() -> None:
            for _ in range(1000):
                try:
                    await conn.execute("ROLLBACK")
                    return
                except asyncpg.InterfaceError:
                    await asyncio.sleep(0)

        with tenant(1):
            for _ in range(3):
                await conn.execute("BEGIN")
                await asyncio.gather(pinned(), rollback())
                assert [r[0] for r in await conn.fetch(BY_SETTING)] == ["Ana", "Bruno"]
    finally:
        await conn.close()


async def test_scripts_after_a_commit_that_read_no_tenant_rows_run(two_clinics: str) -> None:
    """With `set_tenant_setting=True` only statements on tenant tables read the setting (the
    row-level security of those tables): a script of session settings after COMMIT runs."""
    conn = await connect(two_clinics, policy=POLICY, set_tenant_setting=True)
    try:
        with tenant(1):
            for script in (
                "BEGIN; SELECT 1; COMMIT; SELECT 2",
                "COMMIT; SET statement_timeout = 0",
                "ROLLBACK; SET TIME ZONE 'UTC'",
            ):
                await conn.execute(script)
    finally:
        await conn.close()


def test_the_cursor_a_statement_names() -> None:
    from tenantguard.engine.sqltext import cursor_use

    assert cursor_use("FETCH ALL FROM page") == ("read", "page")
    assert cursor_use("fetch next Page;") == ("read", "page")
    assert cursor_use('MOVE 5 IN "My""C"') == ("read", 'My"C')
    assert cursor_use('FETCH -1 FROM "a b" ; ') == ("read", "a b")
    assert cursor_use("FETCH 1") == ("read", "")
    # the server's blanks only: U+00A0 is a name character to PostgreSQL
    assert cursor_use("FETCH ALL FROM page\u00a0") == ("read", "page\u00a0")
    assert cursor_use("DECLARE p CURSOR WITH HOLD FOR SELECT 1") == ("declare held", "p")
    assert cursor_use("DECLARE Page NO SCROLL CURSOR WITHOUT HOLD FOR SELECT 1") == (
        "declare",
        "page",
    )
    assert cursor_use('DECLARE "P" BINARY CURSOR FOR SELECT 1') == ("declare", "P")
    assert cursor_use("SELECT 1") is None
    # the server keeps 63 bytes of a name: a longer one and its cut are one cursor
    long = "c" * 70
    assert cursor_use(f"DECLARE {long} CURSOR FOR SELECT 1") == ("declare", long[:63])
    assert cursor_use(f"FETCH ALL IN {long}") == ("read", long[:63])


async def test_a_tenant_value_of_other_digits_is_refused_not_a_traceback(two_clinics: str) -> None:
    """`"²".isdigit()` is True and `int("²")` raised ValueError from `tenant()` itself."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        for value in ("\u00b2", "\u0661"):  # superscript two, Arabic-Indic digit one
            with tenant(value), pytest.raises(TenantIsolationError):
                await conn.fetch("SELECT first_name FROM patients WHERE tenant_id = $1", 2)
    finally:
        await conn.close()


SETTING_CODE = """
CREATE FUNCTION set_clinic(c bigint) RETURNS void LANGUAGE sql AS $$
  SELECT set_config('app.tenant_id', c::text, true) $$;
CREATE FUNCTION use_clinic(c bigint) RETURNS void LANGUAGE sql AS $$ SELECT set_clinic(c) $$;
CREATE VIEW my_patients AS SELECT id, tenant_id, first_name FROM patients
  WHERE tenant_id = current_setting('app.tenant_id')::bigint;
"""


async def test_schema_code_that_sets_or_reads_the_tenant_setting(two_clinics: str) -> None:
    """helper-106 (and 103): `SELECT set_workspace($1)` — a project function calling
    set_config on the tenant setting — then a read of a view filtered by the setting returned
    another workspace's rows through the guard (a direct set_config is refused; the function
    was not), and the guard did not set the setting before a statement reading such a view
    (`unrecognized configuration parameter`). The guard reads both from the catalog now: a call
    of a function that sets the setting is refused outside unscoped(), a statement naming a
    view or function that reads it has the setting set to tenant() first."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(SETTING_CODE)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            assert [r["first_name"] for r in await conn.fetch("SELECT * FROM my_patients")] == [
                "Ana",
                "Bruno",
            ]
            async with conn.transaction():
                # by itself: the guard sets the setting again before the next read of it
                for call in ("SELECT set_clinic($1)", "SELECT use_clinic($1)"):
                    await conn.execute(call, 2)
                    rows = await conn.fetch("SELECT first_name FROM my_patients ORDER BY id")
                    assert [r[0] for r in rows] == ["Ana", "Bruno"]
                # beside a read of it, in one statement or one script: refused
                for both in (
                    "SELECT use_clinic(2); SELECT first_name FROM my_patients",
                    "WITH s AS MATERIALIZED (SELECT set_clinic(2)) "
                    "SELECT p.first_name FROM s, my_patients p",
                    "WITH s AS MATERIALIZED (SELECT set_clinic(2)) SELECT first_name FROM "
                    "patients WHERE tenant_id = current_setting('app.tenant_id')::bigint",
                ):
                    with pytest.raises(TenantIsolationError, match="sets the tenant setting"):
                        await conn.execute(both)
        with tenant(2):
            assert [r[0] for r in await conn.fetch("SELECT first_name FROM my_patients")] == [
                "Carla"
            ]
        with unscoped("a maintenance job picks the clinic itself"):
            async with conn.transaction():
                await conn.execute("SELECT set_clinic($1)", 2)
    finally:
        await conn.close()


MORE_SETTING_CODE = """
CREATE VIEW my_outer AS SELECT * FROM my_patients;
CREATE FUNCTION report(c bigint) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('app.tenant_id', c::text, true);
  RETURN QUERY SELECT first_name FROM my_patients;
END $$;
CREATE FUNCTION configured() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT first_name FROM patients WHERE tenant_id = current_setting('app.tenant_id')::bigint $$;
ALTER FUNCTION configured() SET app.tenant_id = '2';
CREATE TABLE clinic_log (clinic bigint);
CREATE FUNCTION log_sets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM set_config('app.tenant_id', NEW.clinic::text, false); RETURN NEW; END $$;
CREATE TRIGGER log_sets BEFORE INSERT ON clinic_log FOR EACH ROW EXECUTE FUNCTION log_sets();
CREATE TABLE seen (name text);
"""


async def test_setting_code_the_catalog_read_missed(two_clinics: str) -> None:
    """helper-107: a view of a view filtered by the setting, a function that sets the setting
    and reads under it, one run with the setting in its own configuration, a trigger setting it
    between two statements of a script. On a database whose code reads or sets the setting, the
    guard sets it before every statement, refuses scripts of several statements, and refuses
    each call of a function that reads under the value it is given; strings, comments and
    columns named like a setter are no calls."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(SETTING_CODE + MORE_SETTING_CODE)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(2):  # an earlier request leaves the setting at '2'
            assert [r[0] for r in await conn.fetch("SELECT first_name FROM my_patients")] == [
                "Carla"
            ]
        with tenant(1):
            rows = await conn.fetch("SELECT first_name FROM my_outer ORDER BY id")
            assert [r[0] for r in rows] == ["Ana", "Bruno"]
            with pytest.raises(TenantIsolationError, match="sets the tenant setting"):
                await conn.fetch("SELECT * FROM report($1)", 2)
            # since h34C the runtime reads the functions' definitions as the CLI reads schema
            # sources: a body run under its own `SET app.tenant_id` is out of the proof's sight
            # (TG001, as the CLI says), found before the setting code is
            with pytest.raises(
                TenantIsolationError, match=r"sets the tenant setting|out of the proof's sight"
            ):
                await conn.fetch("SELECT * FROM configured()")
            with pytest.raises(TenantIsolationError, match="several statements"):
                await conn.execute(
                    "INSERT INTO clinic_log VALUES (2); INSERT INTO seen SELECT first_name "
                    "FROM my_patients"
                )
            # a script touching no tenant table nor the setting passes untouched (DESIGN §3)
            await conn.execute("SET LOCAL statement_timeout = 0; SELECT 1")
            # a setter's name in a string, a comment or a column is no call of it
            assert await conn.fetchval("SELECT 'set_clinic(2)' -- set_clinic(2)") == "set_clinic(2)"
    finally:
        await conn.close()
    raw = await asyncpg.connect(two_clinics)
    try:
        assert await raw.fetch("SELECT * FROM seen") == []
    finally:
        await raw.close()
