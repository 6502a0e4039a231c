"""Helper h32d: open items earlier reviews left documented but unfixed, each on the real server.

1. Triggers and rules a write runs beside itself, for a hand-written policy: the runtime guard
   read none (a view's INSTEAD OF trigger, a DO INSTEAD rule, a tenant table's AFTER trigger
   writing another tenant table's every row).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, tenant

SCHEMA = """
CREATE TABLE workspaces (id bigint PRIMARY KEY);
CREATE TABLE members (ws_id bigint NOT NULL REFERENCES workspaces (id), id bigint NOT NULL,
  email text NOT NULL UNIQUE, PRIMARY KEY (ws_id, id));
CREATE TABLE invites (ws_id bigint NOT NULL, email text REFERENCES members (email), note text);
CREATE TABLE counts (ws_id bigint NOT NULL, n bigint NOT NULL);
CREATE TABLE notes (ws_id bigint NOT NULL, body text);
INSERT INTO workspaces VALUES (1), (2);
INSERT INTO members VALUES (1, 10, 'a@me'), (2, 10, 'v@victim');
INSERT INTO counts VALUES (1, 0), (2, 0);
CREATE VIEW invite_form AS SELECT i.ws_id, i.email, w.id AS wid FROM invites i
  JOIN workspaces w ON w.id = i.ws_id;
"""
POLICY = Policy("ws_id", {"members", "invites", "counts", "notes"}, global_tables={"workspaces"})

# (the code a write runs beside itself, the request's write): each told workspace 1 whether
# workspace 2 had a member of that e-mail (invites.email's key checks every workspace's), or
# counted workspace 2's rows too
LEAKS = {
    "a join view's INSTEAD OF trigger": (
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
        " INSERT INTO invites (ws_id, email, note) VALUES (NEW.ws_id, NEW.email, 'x');"
        " RETURN NEW; END$$;"
        " CREATE TRIGGER t INSTEAD OF INSERT ON invite_form FOR EACH ROW EXECUTE FUNCTION f()",
        "INSERT INTO invite_form (ws_id, email, wid) VALUES ($1, $2, $1)",
    ),
    "a join view's DO INSTEAD rule": (
        "CREATE RULE r AS ON INSERT TO invite_form DO INSTEAD"
        " INSERT INTO invites (ws_id, email, note) VALUES (NEW.ws_id, NEW.email, 'x')",
        "INSERT INTO invite_form (ws_id, email, wid) VALUES ($1, $2, $1)",
    ),
    "an updatable view over a table with an AFTER trigger": (
        "CREATE TABLE drafts (ws_id bigint NOT NULL, email text);"
        " CREATE VIEW my_drafts AS SELECT ws_id, email FROM drafts;"
        " CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
        " INSERT INTO invites (ws_id, email, note) VALUES (NEW.ws_id, NEW.email, 'x');"
        " RETURN NEW; END$$;"
        " CREATE TRIGGER t AFTER INSERT ON drafts FOR EACH ROW EXECUTE FUNCTION f()",
        "INSERT INTO my_drafts (ws_id, email) VALUES ($1, $2)",
    ),
}


async def _told(dsn: str, sql: str, policy: Policy | None) -> list[str]:
    """What workspace 1's write answered for workspace 2's member's e-mail and nobody's."""
    conn = await (connect(dsn, policy=policy) if policy else asyncpg.connect(dsn))
    told = []
    try:
        for email in ("v@victim", "nobody@x"):
            transaction = conn.transaction()
            await transaction.start()
            try:
                with tenant(1):
                    told.append(await conn.execute(sql, 1, email))
            except TenantIsolationError:
                told.append("refused")
            except asyncpg.ForeignKeyViolationError:
                told.append("ForeignKeyViolationError")
            finally:
                await transaction.rollback()
    finally:
        await conn.close()
    return told


@pytest.mark.parametrize("shape", sorted(LEAKS))
async def test_a_write_running_a_trigger_or_rule_that_tells_is_refused(
    database: str, shape: str
) -> None:
    code, sql = LEAKS[shape]
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SCHEMA)
        await owner.execute(code)
    finally:
        await owner.close()
    # the premise: the answer tells workspace 2's member from nobody
    told = await _told(database, sql, None)
    assert told[0] != told[1] and "ForeignKeyViolationError" in told
    policy = Policy(
        "ws_id", {"members", "invites", "counts", "drafts"}, global_tables={"workspaces"}
    )
    assert await _told(database, sql, policy) == ["refused", "refused"]


async def test_an_after_trigger_writing_every_tenants_rows_is_refused(database: str) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SCHEMA)
        await owner.execute(
            "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
            " UPDATE counts SET n = n + 1; RETURN NEW; END$$;"
            " CREATE TRIGGER t AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION bump()"
        )
    finally:
        await owner.close()
    sql = "INSERT INTO notes (ws_id, body) VALUES ($1, 'b')"
    conn = await connect(database, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.execute(sql, 1)
        async with conn.transaction():  # the premise: workspace 2's count moves
            await asyncpg.Connection.execute(conn, sql, 1)
            counts = await asyncpg.Connection.fetch(conn, "SELECT ws_id, n FROM counts ORDER BY 1")
            assert [tuple(r) for r in counts] == [(1, 1), (2, 1)]
            raise_rollback = True
            if raise_rollback:
                raise _Rollback
    except _Rollback:
        pass
    finally:
        await conn.close()


class _Rollback(Exception):
    pass


# the safe twins: what the trigger or rule writes is pinned to the written row's tenant, and no
# key checks it against another tenant's rows
SAFE = {
    "an INSTEAD OF trigger writing the row's tenant": (
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
        " INSERT INTO counts (ws_id, n) VALUES (NEW.ws_id, 1); RETURN NEW; END$$;"
        " CREATE TRIGGER t INSTEAD OF INSERT ON invite_form FOR EACH ROW EXECUTE FUNCTION f()",
        "INSERT INTO invite_form (ws_id, email, wid) VALUES ($1, $2, $1)",
    ),
    "an AFTER trigger counting the row's tenant": (
        "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
        " UPDATE counts SET n = n + 1 WHERE ws_id = NEW.ws_id; RETURN NEW; END$$;"
        " CREATE TRIGGER t AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION bump()",
        "INSERT INTO notes (ws_id, body) VALUES ($1, $2)",
    ),
}


@pytest.mark.parametrize("shape", sorted(SAFE))
async def test_a_trigger_pinned_to_the_rows_tenant_runs(database: str, shape: str) -> None:
    code, sql = SAFE[shape]
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SCHEMA)
        await owner.execute(code)
    finally:
        await owner.close()
    conn = await connect(database, policy=POLICY)
    try:
        with tenant(1):
            assert (await conn.execute(sql, 1, "b@me")).startswith("INSERT 0")
        counts = await asyncpg.Connection.fetch(conn, "SELECT ws_id, n FROM counts ORDER BY 1")
        assert [tuple(r) for r in counts if r[0] == 2] == [(2, 0)]  # workspace 2's untouched
    finally:
        await conn.close()


# 1b. A UNION ALL (or UNION) view whose every branch passes its table's ws_id through row by
# row: PostgreSQL 15 pushes a filter on its ws_id into each branch (EXPLAIN shows it under the
# Append), so it is read like a tenant table. Branches of two types (bigint, integer) take no
# filter (it stays above the Append): still refused, as the proof cannot push the pin.
UNIONS = """
CREATE TABLE guests (ws_id bigint NOT NULL, email text);
CREATE TABLE old_guests (ws_id integer NOT NULL, email text);
INSERT INTO guests VALUES (1, 'g@me'), (2, 'g@victim');
INSERT INTO old_guests VALUES (2, 'o@victim');
CREATE VIEW people AS SELECT ws_id, email FROM members UNION ALL SELECT ws_id, email FROM guests;
CREATE VIEW people_distinct AS SELECT ws_id, email FROM members
  UNION SELECT ws_id, email FROM guests;
CREATE VIEW people_mixed AS SELECT ws_id, email FROM members
  UNION ALL SELECT ws_id, email FROM old_guests;
"""
UNION_POLICY = Policy("ws_id", {"members", "guests", "old_guests"}, global_tables={"workspaces"})


async def _pushed_into_each_branch(owner: asyncpg.Connection, view: str) -> bool:
    await owner.execute(
        "SET plan_cache_mode = force_generic_plan;"
        f" PREPARE read_{view}(bigint) AS SELECT email FROM {view} WHERE ws_id = $1"
    )
    plan = "\n".join(r[0] for r in await owner.fetch(f"EXPLAIN (COSTS OFF) EXECUTE read_{view}(1)"))
    # each branch's scan filters (or looks up) `(ws_id = $1)`; a filter left above the Append
    # reads `(people_mixed.ws_id = $1)`
    return plan.count("(ws_id = $1)") >= 2 and f"{view}.ws_id" not in plan


@pytest.mark.parametrize("view", ["people", "people_distinct"])
async def test_a_pinned_read_of_a_union_view_runs(database: str, view: str) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SCHEMA + UNIONS)
        assert await _pushed_into_each_branch(owner, view)
    finally:
        await owner.close()
    conn = await connect(database, policy=UNION_POLICY)
    try:
        with tenant(1):
            rows = await conn.fetch(f"SELECT email FROM {view} WHERE ws_id = $1", 1)
            assert sorted(r[0] for r in rows) == ["a@me", "g@me"]
            with pytest.raises(TenantIsolationError):  # unpinned: both workspaces' rows
                await conn.fetch(f"SELECT email FROM {view}")
    finally:
        await conn.close()


async def test_a_union_view_of_two_types_stays_refused(database: str) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SCHEMA + UNIONS)
        assert not await _pushed_into_each_branch(owner, "people_mixed")
    finally:
        await owner.close()
    conn = await connect(database, policy=UNION_POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.fetch("SELECT email FROM people_mixed WHERE ws_id = $1", 1)
    finally:
        await conn.close()


# 3. A unique index's INCLUDE columns and WHERE columns are no part of its key: `(code)
# INCLUDE (org_id)` and `(code) WHERE org_id IS NOT NULL` check a code against every tenant's
# rows (workspace 1's INSERT raised UniqueViolationError for workspace 2's code and ran for
# nobody's), and were read as keys holding the tenant column; `(code) INCLUDE (name)` was read
# as a key of name too (an UPDATE of name alone refused).
ITEMS = """
CREATE TABLE items (org_id bigint NOT NULL, id bigint NOT NULL, code text, name text,
  PRIMARY KEY (org_id, id));
INSERT INTO items VALUES (2, 1, 'X', 'n'), (1, 5, 'Y', 'n');
"""
ITEM_POLICY = Policy("org_id", {"items"})
SPANNING_INDEXES = {
    "INCLUDE the tenant column": "CREATE UNIQUE INDEX ON items (code) INCLUDE (org_id)",
    "a constraint INCLUDE the tenant column": "ALTER TABLE items ADD UNIQUE (code) INCLUDE (org_id)",
    "WHERE on the tenant column": "CREATE UNIQUE INDEX ON items (code) WHERE org_id IS NOT NULL",
    "an expression, WHERE on the tenant column": (
        "CREATE UNIQUE INDEX ON items (lower(code)) WHERE org_id > 0"
    ),
}
INSERT_ITEM = "INSERT INTO items (org_id, id, code, name) VALUES ($1, 6, $2, 'n')"


async def _inserted(conn: asyncpg.Connection, code: str) -> str:
    transaction = conn.transaction()
    await transaction.start()
    try:
        with tenant(1):
            return await conn.execute(INSERT_ITEM, 1, code)
    except TenantIsolationError:
        return "refused"
    except asyncpg.UniqueViolationError:
        return "UniqueViolationError"
    finally:
        await transaction.rollback()


@pytest.mark.parametrize("shape", sorted(SPANNING_INDEXES))
async def test_a_key_with_the_tenant_column_only_included_spans_tenants(
    database: str, shape: str
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(ITEMS)
        await owner.execute(SPANNING_INDEXES[shape])
    finally:
        await owner.close()
    conn = await connect(database, policy=ITEM_POLICY, mode="off")
    try:  # the premise: the answer tells workspace 2's code from nobody's
        assert [await _inserted(conn, c) for c in ("X", "Z")] == [
            "UniqueViolationError",
            "INSERT 0 1",
        ]
    finally:
        await conn.close()
    conn = await connect(database, policy=ITEM_POLICY)
    try:
        assert [await _inserted(conn, c) for c in ("X", "Z")] == ["refused", "refused"]
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "index",
    [
        "CREATE UNIQUE INDEX ON items (org_id, code) INCLUDE (name)",
        "ALTER TABLE items ADD UNIQUE (org_id, code) INCLUDE (name)",
        "CREATE UNIQUE INDEX ON items (code) INCLUDE (name)",
    ],
)
async def test_an_included_column_is_written_freely(database: str, index: str) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(ITEMS)
        await owner.execute(index)
    finally:
        await owner.close()
    conn = await connect(database, policy=ITEM_POLICY)
    try:
        with tenant(1):
            done = await conn.execute(
                "UPDATE items SET name = $2 WHERE org_id = $1 AND id = 5", 1, "m"
            )
            assert done == "UPDATE 1"
            if "org_id, code" in index:
                assert await _inserted(conn, "X") == "INSERT 0 1"
    finally:
        await conn.close()


# 5. A pool whose init= sets the role its connections run as (one Row-Level Security contains):
# a request's own `RESET ROLE` (or SET ROLE, SET SESSION AUTHORIZATION, set_config('role', …))
# ran its later statements as the login role — the pool's reset puts the init's role back only
# for the next request — and `SELECT * FROM all_names()` returned every clinic's patients.
ROLE_CHANGES = [
    "RESET ROLE",
    "SET ROLE postgres",
    "SET ROLE NONE",
    "SET SESSION ROLE postgres",
    "SET LOCAL ROLE postgres",
    "set  role  postgres",
    'SET "role" TO postgres',
    "SET SESSION AUTHORIZATION postgres",
    "SET SESSION AUTHORIZATION DEFAULT",
    "RESET SESSION AUTHORIZATION",
    "SELECT set_config('role', 'none', false)",
    "SELECT set_config('session_authorization', 'postgres', false)",
    "DO $$ BEGIN RESET ROLE; END $$",
]


@pytest.mark.parametrize("statement", ROLE_CHANGES)
async def test_a_request_cannot_leave_the_inits_role(two_clinics: str, statement: str) -> None:
    from tenantguard.runtime import create_pool, unscoped
    from tests.runtime.test_h31b_runtime_state import _ROLE, _all_names, _drop_privileges, _rls
    from tests.runtime.test_runtime import POLICY as CLINICS

    await _rls(two_clinics)
    pool = await create_pool(
        two_clinics,
        policy=CLINICS,
        min_size=1,
        max_size=1,
        init=_drop_privileges,
        set_tenant_setting=True,
    )
    try:
        async with pool.acquire() as connection:
            with tenant(1):
                # (the probe: what all_names() gives the session, past the guard, which
                # refuses the call since h34C as the CLI does: `_all_names`)
                assert await _all_names(connection) == ["Ana", "Bruno"]
                async with connection.transaction():
                    with pytest.raises(TenantIsolationError, match="role"):
                        await connection.execute(statement)
                    assert await connection.fetchval("SELECT current_user") == _ROLE
                    # the premise: run, the request's own next read has every clinic's rows
                    await asyncpg.Connection.execute(connection._con, "RESET ROLE")
                    assert await _all_names(connection) == ["Ana", "Bruno", "Carla"]
                    await asyncpg.Connection.execute(connection._con, f"SET ROLE {_ROLE}")
            with unscoped("maintenance may change roles"):
                await connection.execute("RESET ROLE")
                assert await connection.fetchval("SELECT current_user") == "postgres"
    finally:
        await pool.close()


async def test_without_an_inits_role_a_request_may_drop_privileges(two_clinics: str) -> None:
    from tenantguard.runtime import create_pool
    from tests.runtime.test_h31b_runtime_state import _ROLE, _rls
    from tests.runtime.test_runtime import POLICY as CLINICS

    await _rls(two_clinics)
    pool = await create_pool(two_clinics, policy=CLINICS, min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:
            with tenant(1):
                await connection.execute(f"SET ROLE {_ROLE}")
                assert await connection.fetchval("SELECT current_user") == _ROLE
    finally:
        await pool.close()


# 4. A join ON comparing a bigint tenant column with a float8 one compares in float8, where
# 9007199254740993 (2^53 + 1) equals 9007199254740992: workspace 2^53 + 1's pinned read of the
# join returned workspace 2^53's row. The equality no longer chains a pin across the two types
# (statically from the schema's types, at runtime from the catalog's).
FLOATS = """
CREATE TABLE accounts (ws_id bigint NOT NULL, email text);
CREATE TABLE scores (ws_id float8 NOT NULL, body text);
CREATE TABLE notes32 (ws_id integer NOT NULL, body text);
INSERT INTO accounts VALUES (9007199254740993, 'a@me');
INSERT INTO scores VALUES (9007199254740992, 'theirs');
INSERT INTO notes32 VALUES (7, 'mine');
INSERT INTO accounts VALUES (7, 'b@me');
CREATE DOMAIN wsid AS bigint;
CREATE TABLE dnotes (ws_id wsid NOT NULL, body text);
INSERT INTO dnotes VALUES (7, 'dmine'), (8, 'dtheirs');
"""
FLOAT_JOIN = "SELECT s.body FROM accounts a JOIN scores s ON a.ws_id = s.ws_id WHERE a.ws_id = $1"
INT_JOIN = "SELECT n.body FROM accounts a JOIN notes32 n ON a.ws_id = n.ws_id WHERE a.ws_id = $1"
# a domain over bigint compares as bigint: the chain stands
DOMAIN_JOIN = "SELECT n.body FROM accounts a JOIN dnotes n ON a.ws_id = n.ws_id WHERE a.ws_id = $1"


def test_a_lossy_join_chains_no_pin_statically(tmp_path: Path) -> None:
    from tenantguard.engine.analyze import analyze_statement
    from tests.proof.test_schema import policy_for

    policy = policy_for(tmp_path, FLOATS, tenant_column="ws_id")
    assert [f.code for f in analyze_statement(FLOAT_JOIN, policy).findings] == ["TG001"]  # type: ignore[arg-type]
    assert analyze_statement(INT_JOIN, policy).findings == ()  # type: ignore[arg-type]
    assert analyze_statement(DOMAIN_JOIN, policy).findings == ()  # type: ignore[arg-type]


async def test_a_lossy_join_chains_no_pin_at_runtime(database: str) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(FLOATS)
        # the premise: the join returns the other workspace's row
        rows = await owner.fetch(FLOAT_JOIN, 9007199254740993)
        assert [r[0] for r in rows] == ["theirs"]
    finally:
        await owner.close()
    conn = await connect(
        database, policy=Policy("ws_id", {"accounts", "scores", "notes32", "dnotes"})
    )
    try:
        with tenant(9007199254740993), pytest.raises(TenantIsolationError):
            await conn.fetch(FLOAT_JOIN, 9007199254740993)
        with tenant(7):
            assert [r[0] for r in await conn.fetch(INT_JOIN, 7)] == ["mine"]
            assert [r[0] for r in await conn.fetch(DOMAIN_JOIN, 7)] == ["dmine"]
    finally:
        await conn.close()


# 2. `tenant_id IS NOT DISTINCT FROM $1` on a nullable tenant column is the pin `= $1` is: the
# pinning value is the request's tenant, never NULL (the runtime guard refuses a NULL bound
# where it checks a pin), so it never matches the rows of no tenant in a request — with or
# without shared_rows. Verified on the server: in tenant(1) a NULL is refused, 1 reads 'mine'
# only (not the NULL row 'nobody').
NULLABLE = "CREATE TABLE notes (ws_id bigint, body text);"
NULL_SAFE = "SELECT body FROM notes WHERE ws_id IS NOT DISTINCT FROM $1"
EQUALS = "SELECT body FROM notes WHERE ws_id = $1"


@pytest.mark.parametrize("shared_rows", [False, True])
def test_is_not_distinct_from_pins_as_equals_does(tmp_path: Path, shared_rows: bool) -> None:
    from tenantguard.engine.analyze import analyze_statement
    from tests.proof.test_schema import policy_for

    policy: Any = policy_for(tmp_path, NULLABLE, tenant_column="ws_id", shared_rows=shared_rows)
    assert analyze_statement(NULL_SAFE, policy).findings == ()
    assert analyze_statement(EQUALS, policy).findings == ()
    unpinned = analyze_statement("SELECT body FROM notes WHERE ws_id IS NULL", policy)
    assert [f.code for f in unpinned.findings] == ([] if shared_rows else ["TG001"])


async def test_is_not_distinct_from_reads_no_row_of_no_tenant(database: str) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(
            NULLABLE + " INSERT INTO notes VALUES (1, 'mine'), (2, 'theirs'), (NULL, 'nobody')"
        )
        # the premise: a NULL given reads the row of no tenant
        assert [r[0] for r in await owner.fetch(NULL_SAFE, None)] == ["nobody"]
    finally:
        await owner.close()
    conn = await connect(database, policy=Policy("ws_id", {"notes"}))
    try:
        with tenant(1):
            for sql in (NULL_SAFE, EQUALS):
                assert [r[0] for r in await conn.fetch(sql, 1)] == ["mine"]
                with pytest.raises(TenantIsolationError):
                    await conn.fetch(sql, None)
    finally:
        await conn.close()


async def test_a_write_of_a_partial_keys_where_column_is_checked(database: str) -> None:
    """`UNIQUE (code) WHERE deleted_at IS NULL`: bringing back a deleted row puts its code
    under the key, checked against every tenant's live codes (a WHERE column stays among the
    columns whose write the key checks, only it makes no key per tenant)."""
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(
            ITEMS + "ALTER TABLE items ADD deleted_at timestamptz;"
            " INSERT INTO items VALUES (1, 7, 'X', 'n', now());"
            " CREATE UNIQUE INDEX ON items (code) WHERE deleted_at IS NULL"
        )
    finally:
        await owner.close()
    sql = "UPDATE items SET deleted_at = NULL WHERE org_id = $1 AND id = 7"
    conn = await connect(database, policy=ITEM_POLICY, mode="off")
    try:  # the premise: workspace 2's live 'X' refuses workspace 1's row back
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(sql, 1)
    finally:
        await conn.close()
    conn = await connect(database, policy=ITEM_POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.execute(sql, 1)
    finally:
        await conn.close()


@pytest.mark.parametrize("shape", sorted(SPANNING_INDEXES))
def test_a_key_with_the_tenant_column_only_included_spans_tenants_statically(
    tmp_path: Path, shape: str
) -> None:
    """From the schema sources too: `UNIQUE (code) WHERE org_id IS NOT NULL` was read as a key
    holding the tenant column (its WHERE's columns were the key's), the INSERT passed."""
    from tenantguard.engine.analyze import analyze_statement
    from tests.proof.test_schema import policy_for

    ddl = ITEMS.split("INSERT")[0] + SPANNING_INDEXES[shape] + ";"
    policy: Any = policy_for(tmp_path, ddl, tenant_column="org_id")
    assert [f.code for f in analyze_statement(INSERT_ITEM, policy).findings] == ["TG013"]
    named = (
        SPANNING_INDEXES[shape]
        .replace("INDEX ON", "INDEX k ON")
        .replace("ADD UNIQUE", "ADD CONSTRAINT k UNIQUE")
    )
    drop = "ALTER TABLE items DROP CONSTRAINT k" if "CONSTRAINT" in named else "DROP INDEX k"
    ddl = ITEMS.split("INSERT")[0] + named + ";" + drop + ";"
    dropped: Any = policy_for(tmp_path, ddl, tenant_column="org_id")  # (its key goes too)
    assert analyze_statement(INSERT_ITEM, dropped).findings == ()


@pytest.mark.parametrize("shape", sorted(LEAKS))
def test_a_write_running_a_trigger_or_rule_that_tells_is_flagged_statically(
    tmp_path: Path, shape: str
) -> None:
    """The schema sources read the same triggers and rules (TG005); the trigger pinned to the
    written row's tenant passes. (Not fixed: an INSERT into the join view is also TG002 there,
    `the view shows another column of its table under the name ws_id`, even when its INSTEAD
    OF trigger writes the row's own tenant.)"""
    from tenantguard.engine.analyze import analyze_statement
    from tests.proof.test_schema import policy_for

    code, sql = LEAKS[shape]
    policy: Any = policy_for(tmp_path, SCHEMA + code + ";", tenant_column="ws_id")
    assert "TG005" in [f.code for f in analyze_statement(sql, policy).findings]
    code, sql = SAFE["an AFTER trigger counting the row's tenant"]
    policy = policy_for(tmp_path, SCHEMA + code + ";", tenant_column="ws_id")
    assert analyze_statement(sql, policy).findings == ()


async def test_a_request_cannot_call_a_function_leaving_the_inits_role(two_clinics: str) -> None:
    from tenantguard.runtime import create_pool, unscoped
    from tests.runtime.test_h31b_runtime_state import _ROLE, _drop_privileges, _rls
    from tests.runtime.test_runtime import POLICY as CLINICS

    await _rls(two_clinics)
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(
            "CREATE FUNCTION escalate() RETURNS int LANGUAGE plpgsql AS"
            " $$BEGIN RESET ROLE; RETURN 1; END$$;"
            " CREATE FUNCTION helper() RETURNS int LANGUAGE sql AS 'SELECT escalate()';"
            f" GRANT EXECUTE ON FUNCTION escalate(), helper() TO {_ROLE}"
        )
    finally:
        await owner.close()
    pool = await create_pool(
        two_clinics, policy=CLINICS, min_size=1, max_size=1, init=_drop_privileges
    )
    try:
        async with pool.acquire() as connection:
            with tenant(1):
                for call in ("SELECT escalate()", "SELECT helper()"):
                    with pytest.raises(TenantIsolationError, match="role"):
                        await connection.fetchval(call)
                    assert await connection.fetchval("SELECT current_user") == _ROLE
            with unscoped("maintenance may change roles"):
                await connection.fetchval("SELECT escalate()")
                assert await connection.fetchval("SELECT current_user") == "postgres"
    finally:
        await pool.close()
