"""Round 35: this session's runtime changes attacked from outside (helper h35R), on a real
server. Each case asserts on the rows a statement read or changed.

1. FIXED: an UPDATE setting a FIELD or an ELEMENT of a column (`SET note.x = …` on a composite
   column, `SET tags[1] = …`, `SET (note) = ROW(…)`) is an UPDATE OF that column for
   PostgreSQL; the guard named the field (`x`: sqlglot reads `note.x` as column x of table
   note) or dropped the target, so a `BEFORE UPDATE OF note` trigger that stashes every
   clinic's names ran unseen (clinic 1's `UPDATE patients SET note.x = $2` returned UPDATE 2,
   the stash held 'Ana,Bruno,Carla'). The same reading made a foreign key's ON UPDATE action
   unseen for `UPDATE patients SET (id) = ROW(id + 1000)` (`cascades._changes` skipped a
   target it could not read).

2. FIXED: a foreign key's referential action two levels down. The cascade reading followed a
   chain only through keys that do not carry the tenant column, and with the verb of the
   first write: patients -> kids -> gkids, each key carrying tenant_id (all three tenant
   tables), gkids' AFTER DELETE trigger stashing every clinic's names: clinic 1's DELETE of
   Ana cascaded twice and stashed 'Bruno,Carla'. And ON DELETE SET NULL turns the DELETE into
   an UPDATE of kids, whose ON UPDATE CASCADE updates gkids (AFTER UPDATE trigger): the
   chain was followed as a DELETE of kids, found nothing: DELETE 1, 'Bruno,Carla' stashed.

3. FIXED: connect() / create_pool() take `connection_class=` a subclass of GuardedConnection
   (create_pool's error told to subclass it, but neither took one).

4. FIXED (a false refusal the bound of 55ad8fe made): a `CREATE TABLE IF NOT EXISTS` (INDEX,
   SEQUENCE, SCHEMA) that creates nothing, or a `REFRESH MATERIALIZED VIEW`, run in a loop by
   another session moved the catalog watch's count each time: every lease refused.

5. Probed, no false refusal: setting-pinned statements in tasks a block starts.

6. FIXED: a CHECK constraint (of the table, or of a column's domain) calling code that reads
   every tenant's rows ran unseen on an UPDATE, and through a foreign key's action.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import GuardedConnection, connect, create_pool, tenant
from tests.runtime.test_h33d_catalog_watch import CATALOG_WATCH, _owner_runs
from tests.runtime.test_runtime import POLICY

STASH_FN = (
    "CREATE FUNCTION stash_all() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " PERFORM set_config('my.stash', (SELECT string_agg(first_name, ',' ORDER BY first_name)"
    " FROM patients), false); RETURN NEW; END$$;"
)
READ_STASH = "SELECT current_setting('my.stash', true)"


async def _stash(conn: asyncpg.Connection) -> object:
    return await asyncpg.Connection.fetchval(conn, READ_STASH)


# ---------------------------------------------- 1. a field or element of a watched column

FIELDS = (
    STASH_FN + " CREATE TYPE addr AS (x text, y text, z text[]);"
    " ALTER TABLE patients ADD COLUMN note addr, ADD COLUMN tags text[], ADD COLUMN other addr;"
    " CREATE TRIGGER stash_on_note BEFORE UPDATE OF note, tags ON patients"
    " FOR EACH ROW EXECUTE FUNCTION stash_all()"
)
RUNS_IT = {
    "a field": "UPDATE patients SET note.x = $2 WHERE tenant_id = $1",
    "a quoted field": 'UPDATE patients SET "note".x = $2 WHERE tenant_id = $1',
    "a field in a list": "UPDATE patients SET (first_name, note.y) = (first_name, $2)"
    " WHERE tenant_id = $1",
    "an element": "UPDATE patients SET tags[1] = $2 WHERE tenant_id = $1",
    "an element of a field": "UPDATE patients SET note.z[1] = $2 WHERE tenant_id = $1",
    "a parenthesised column": "UPDATE patients SET (tags) = ROW(ARRAY[$2]) WHERE tenant_id = $1",
    "ON CONFLICT SET a field": "INSERT INTO patients (id, tenant_id, first_name, phone_number)"
    " SELECT id, tenant_id, first_name, phone_number FROM patients WHERE tenant_id = $1"
    " ON CONFLICT (tenant_id, phone_number) DO UPDATE SET note.x = $2",
    "MERGE SET a field": "MERGE INTO patients p USING (SELECT $1::bigint AS t) s"
    " ON p.tenant_id = s.t WHEN MATCHED THEN UPDATE SET note.x = $2",
}


@pytest.mark.parametrize("shape", sorted(RUNS_IT))
async def test_an_update_of_a_field_or_element_of_a_watched_column_is_refused(
    two_clinics: str, shape: str
) -> None:
    """Was (a field): UPDATE 2 and 'Ana,Bruno,Carla' stashed. Now TG005, nothing stashed, no
    row changed."""
    await _owner_runs(two_clinics, FIELDS)
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError, match="stash_on_note"):
                await conn.execute(RUNS_IT[shape], 1, "x")
            assert await _stash(conn) in ("", None)
            changed = await conn.fetchval(
                "SELECT count(*) FROM patients WHERE tenant_id = $1"
                " AND (note IS NOT NULL OR tags IS NOT NULL)",
                1,
            )
            assert changed == 0
    finally:
        await conn.close()


async def test_an_update_of_a_field_of_a_column_the_trigger_does_not_watch_runs(
    two_clinics: str,
) -> None:
    """The safe twin: a field of another composite column: UPDATE 2, nothing stashed."""
    await _owner_runs(two_clinics, FIELDS)
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            done = await conn.execute(
                "UPDATE patients SET other.x = $2 WHERE tenant_id = $1", 1, "x"
            )
            assert done == "UPDATE 2"
            assert await _stash(conn) in ("", None)
            rows = await conn.fetch(
                "SELECT (other).x FROM patients WHERE tenant_id = $1 ORDER BY id", 1
            )
            assert [r[0] for r in rows] == ["x", "x"]
    finally:
        await conn.close()


# a parenthesised target of a foreign key's referenced column: the ON UPDATE action fires
PAREN_KEY = (
    STASH_FN + " CREATE TABLE kids (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,"
    " pid bigint, FOREIGN KEY (tenant_id, pid) REFERENCES patients (tenant_id, id)"
    " ON UPDATE CASCADE);"
    " INSERT INTO kids (tenant_id, pid) SELECT tenant_id, id FROM patients;"
    " CREATE TRIGGER stash_on_kids AFTER UPDATE ON kids FOR EACH ROW EXECUTE FUNCTION stash_all()"
)


async def test_a_parenthesised_update_of_a_referenced_column_is_judged(two_clinics: str) -> None:
    """Was: `SET (id) = ROW(id + 1000)` read as changing no column: UPDATE 2, kids' trigger
    stashed 'Ana,Bruno,Carla'. Now TG005, nothing stashed, ids unchanged."""
    await _owner_runs(two_clinics, PAREN_KEY)
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError, match="TG005"):
                await conn.execute(
                    "UPDATE patients SET (id) = ROW(id + 1000) WHERE tenant_id = $1", 1
                )
            assert await _stash(conn) in ("", None)
            assert (
                await conn.fetchval("SELECT max(id) FROM patients WHERE tenant_id = $1", 1) < 1000
            )
    finally:
        await conn.close()


# --------------------------------------------- 2. a referential action two levels down

CHAIN_POLICY = POLICY.replace(tenant_tables={*POLICY.tenant_tables, "kids", "gkids"})
CHAINS = {
    # patients -> kids -> gkids, both keys carrying tenant_id, ON DELETE CASCADE twice
    "CASCADE, CASCADE": (
        "CREATE TABLE kids (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, pid bigint,"
        " UNIQUE (tenant_id, id), FOREIGN KEY (tenant_id, pid) REFERENCES patients"
        " (tenant_id, id) ON DELETE CASCADE);"
        " CREATE TABLE gkids (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, kid bigint,"
        " FOREIGN KEY (tenant_id, kid) REFERENCES kids (tenant_id, id) ON DELETE CASCADE);"
        " INSERT INTO kids (tenant_id, pid) SELECT tenant_id, id FROM patients;"
        " INSERT INTO gkids (tenant_id, kid) SELECT tenant_id, id FROM kids;",
        "DELETE",
    ),
    # ON DELETE SET NULL (pid): an UPDATE of kids, whose ON UPDATE CASCADE updates gkids
    "SET NULL, UPDATE CASCADE": (
        "CREATE TABLE kids (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, pid bigint,"
        " UNIQUE (tenant_id, pid), FOREIGN KEY (tenant_id, pid) REFERENCES patients"
        " (tenant_id, id) ON DELETE SET NULL (pid));"
        " CREATE TABLE gkids (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, kp bigint,"
        " FOREIGN KEY (tenant_id, kp) REFERENCES kids (tenant_id, pid) ON UPDATE CASCADE);"
        " INSERT INTO kids (tenant_id, pid) SELECT tenant_id, id FROM patients;"
        " INSERT INTO gkids (tenant_id, kp) SELECT tenant_id, pid FROM kids;",
        "UPDATE",
    ),
}
DELETE_ANA = "DELETE FROM patients WHERE tenant_id = $1 AND first_name = 'Ana'"


@pytest.mark.parametrize("chain", sorted(CHAINS))
async def test_a_trigger_two_referential_actions_down_is_judged(
    two_clinics: str, chain: str
) -> None:
    """Was: DELETE 1, gkids' trigger stashed 'Bruno,Carla' (clinic 2's Carla). Now TG005,
    nothing stashed, Ana still there."""
    tables, event = CHAINS[chain]
    await _owner_runs(
        two_clinics,
        STASH_FN + tables + f" CREATE TRIGGER stash_on_gkids AFTER {event} ON gkids"
        " FOR EACH ROW EXECUTE FUNCTION stash_all()",
    )
    conn = await connect(two_clinics, policy=CHAIN_POLICY)
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError, match="TG005"):
                await conn.execute(DELETE_ANA, 1)
            assert await _stash(conn) in ("", None)
            names = await conn.fetchval(
                "SELECT array_agg(first_name ORDER BY first_name) FROM patients"
                " WHERE tenant_id = $1",
                1,
            )
            assert names == ["Ana", "Bruno"]
    finally:
        await conn.close()


@pytest.mark.parametrize("chain", sorted(CHAINS))
async def test_a_chain_whose_last_table_runs_nothing_on_the_write_runs(
    two_clinics: str, chain: str
) -> None:
    """The safe twin: gkids' trigger runs on INSERT only: DELETE 1, nothing stashed, clinic 2's
    rows untouched."""
    tables, _ = CHAINS[chain]
    await _owner_runs(
        two_clinics,
        STASH_FN + tables + " CREATE TRIGGER stash_on_gkids AFTER INSERT ON gkids"
        " FOR EACH ROW EXECUTE FUNCTION stash_all()",
    )
    conn = await connect(two_clinics, policy=CHAIN_POLICY)
    try:
        with tenant(1):
            assert await conn.execute(DELETE_ANA, 1) == "DELETE 1"
            assert await _stash(conn) in ("", None)
        left = await asyncpg.Connection.fetch(
            conn, "SELECT tenant_id, count(*) FROM gkids GROUP BY 1 ORDER BY 1"
        )
        expected = [(1, 1), (2, 1)] if chain.startswith("CASCADE") else [(1, 2), (2, 1)]
        assert [tuple(r) for r in left] == expected
    finally:
        await conn.close()


# ------------------------------------------------- 3. connection_class= a subclass of the guard


class _AppConnection(GuardedConnection):
    """An application's own connection class: a helper method on the guarded connection."""

    async def names(self, clinic: int) -> object:
        return await self.fetchval(NAMES, clinic)


NAMES = "SELECT array_agg(first_name ORDER BY first_name) FROM patients WHERE tenant_id = $1"


async def test_connect_and_create_pool_take_a_subclass_of_the_guarded_connection(
    two_clinics: str,
) -> None:
    """Was: create_pool(connection_class=…) raised 'subclass GuardedConnection instead', and
    connect(connection_class=…) a TypeError of duplicate keywords, a subclass or not. Now a
    subclass is taken, guarded as the plain one: its helper reads clinic 1's rows, an
    unpinned read is refused."""
    conn = await connect(two_clinics, policy=POLICY, connection_class=_AppConnection)
    pool = await create_pool(
        two_clinics, policy=POLICY, connection_class=_AppConnection, min_size=1, max_size=1
    )
    try:
        assert isinstance(conn, _AppConnection)
        with tenant(1):
            assert await conn.names(1) == ["Ana", "Bruno"]
            with pytest.raises(TenantIsolationError):
                await conn.fetch("SELECT first_name FROM patients")
            async with pool.acquire() as leased:
                assert isinstance(leased, _AppConnection)
                assert await leased.names(1) == ["Ana", "Bruno"]
                with pytest.raises(TenantIsolationError):
                    await leased.fetch("SELECT first_name FROM patients")
        with tenant(2):
            async with pool.acquire() as leased:
                assert await leased.names(2) == ["Carla"]
    finally:
        await conn.close()
        await pool.close()


@pytest.mark.parametrize("factory", ["connect", "create_pool"])
async def test_a_connection_class_that_is_not_the_guard_s_is_refused_saying_what_to_do(
    two_clinics: str, factory: str
) -> None:
    """A subclass of asyncpg.Connection alone would run unguarded: refused before any
    connection is made, naming GuardedConnection."""

    class Plain(asyncpg.Connection):  # type: ignore[misc]
        pass

    with pytest.raises(TypeError, match=r"subclass of tenantguard\.runtime\.GuardedConnection"):
        if factory == "connect":
            await connect(two_clinics, policy=POLICY, connection_class=Plain)
        else:
            create_pool(two_clinics, policy=POLICY, connection_class=Plain)


# ------------------------------------ 4. the catalog watch and DDL that changes no definition

WATCHED = (
    CATALOG_WATCH + "; CREATE TABLE cache_x (a int); CREATE INDEX ix ON cache_x (a);"
    " CREATE MATERIALIZED VIEW mv AS SELECT 1 AS x"
)
NO_OP_DDL = [
    "CREATE TABLE IF NOT EXISTS cache_x (a int)",
    "CREATE INDEX IF NOT EXISTS ix ON cache_x (a)",
    "CREATE SEQUENCE IF NOT EXISTS cache_x_a_seq",
    "CREATE SCHEMA IF NOT EXISTS public",
    "REFRESH MATERIALIZED VIEW mv",
]
COUNT = "SELECT version FROM tenantguard.catalog_version"


@pytest.mark.parametrize("ddl", NO_OP_DDL)
async def test_ddl_that_changes_no_definition_repeated_elsewhere_does_not_refuse_leases(
    two_clinics: str, ddl: str
) -> None:
    """Was (with the bound of 55ad8fe): another session running `CREATE TABLE IF NOT EXISTS
    cache_x …` (or `CREATE INDEX IF NOT EXISTS`, `REFRESH MATERIALIZED VIEW mv`) in a loop, as
    an application's workers may, moved the watch's count each time (nothing created,
    ddl_commands() empty): every lease's first statement was refused after 8 catalog reads
    ('could not bring the session to a known state', ~0.3 s each; 3 of 3 leases). Now the
    count stays and each lease reads clinic 1's names."""
    await _owner_runs(two_clinics, WATCHED)
    owner = await asyncpg.connect(two_clinics)
    stop = asyncio.Event()

    async def churn() -> int:
        n = 0
        while not stop.is_set():
            await owner.execute(ddl)
            n += 1
        return n

    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    task: asyncio.Task[int] | None = None
    try:
        await owner.execute(ddl)  # the real one, if any, done once
        before = await owner.fetchval(COUNT)
        await owner.execute(ddl)
        assert await owner.fetchval(COUNT) == before
        with tenant(1):
            async with pool.acquire() as leased:
                assert await leased.fetchval(NAMES, 1) == ["Ana", "Bruno"]
        task = asyncio.create_task(churn())
        await asyncio.sleep(0.2)
        for _ in range(3):
            with tenant(1):
                async with pool.acquire() as leased:
                    assert await leased.fetchval(NAMES, 1) == ["Ana", "Bruno"]
        stop.set()
        assert await task > 10
    finally:
        stop.set()
        if task is not None:
            await task
        await pool.close()
        await owner.close()


CREATES = [
    "CREATE TABLE IF NOT EXISTS cache_y (a int)",
    "CREATE INDEX IF NOT EXISTS iy ON cache_x (a)",
    "CREATE INDEX CONCURRENTLY iz ON cache_x (a)",
    "CREATE SEQUENCE IF NOT EXISTS cache_y_seq",
    "CREATE SCHEMA IF NOT EXISTS other",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS mv2 AS SELECT 1 AS x",
    "CREATE EXTENSION IF NOT EXISTS pgcrypto",
]


@pytest.mark.parametrize("ddl", CREATES)
async def test_ddl_that_creates_something_still_moves_the_count(two_clinics: str, ddl: str) -> None:
    """The other side: the same statements when they create something move the count (a
    connection reads the catalog again)."""
    await _owner_runs(two_clinics, WATCHED)
    owner = await asyncpg.connect(two_clinics)
    try:
        before = await owner.fetchval(COUNT)
        await owner.execute(ddl)
        assert await owner.fetchval(COUNT) > before
    finally:
        await owner.close()


# ------------------------ 5. a statement pinned by the setting in code a block hands on (no refusal)

BY_SETTING = (
    "SELECT array_agg(first_name ORDER BY first_name) FROM patients"
    " WHERE tenant_id = current_setting('app.tenant_id')::bigint"
)


async def test_a_setting_pin_in_tasks_a_block_starts_reads_the_block_s_rows(
    two_clinics: str,
) -> None:
    """Probed for a false refusal of c6618a8 (none found): a TaskGroup's task, a task started
    in the block and awaited after it, a callback of loop.call_soon made in the block (run
    while the block lasts: one run after it ends is refused by the older ended-block check),
    each on its own connection, read the block's clinic; made outside a block, refused."""
    conns = [await connect(two_clinics, policy=POLICY) for _ in range(3)]
    loop = asyncio.get_running_loop()
    try:
        with tenant(1):
            async with asyncio.TaskGroup() as group:
                grouped = group.create_task(conns[0].fetchval(BY_SETTING))
            later = asyncio.create_task(conns[1].fetchval(BY_SETTING))
            called: asyncio.Future[object] = loop.create_future()

            def callback() -> None:
                task = loop.create_task(conns[2].fetchval(BY_SETTING))
                task.add_done_callback(lambda t: called.set_result(t.result()))

            loop.call_soon(callback)
            assert await asyncio.wait_for(called, 10) == ["Ana", "Bruno"]  # in the block
        assert grouped.result() == ["Ana", "Bruno"]
        assert await later == ["Ana", "Bruno"]  # made in the block, awaited after it
        with tenant(2):
            async with asyncio.TaskGroup() as group:
                grouped = group.create_task(conns[0].fetchval(BY_SETTING))
        assert grouped.result() == ["Carla"]
        with pytest.raises(TenantIsolationError, match="outside any tenant"):
            await conns[0].fetchval(BY_SETTING)
    finally:
        for conn in conns:
            await conn.close()


# ------------------------------------------ 6. a CHECK constraint that calls the database's code

CHECK_FN = (
    "CREATE FUNCTION stash_check(p bigint) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN"
    " PERFORM set_config('my.stash', (SELECT string_agg(first_name, ',' ORDER BY first_name)"
    " FROM patients), false); RETURN true; END$$;"
    " CREATE FUNCTION plain_check(p bigint) RETURNS boolean LANGUAGE sql IMMUTABLE"
    " AS $$SELECT $1 IS NULL OR $1 > 0$$;"
)
CHECKS = {
    "on the table written": (
        CHECK_FN + " ALTER TABLE patients ADD COLUMN note text CHECK ({fn}(length(note)))",
        "UPDATE patients SET note = 'x' WHERE tenant_id = $1",
        "UPDATE 2",
    ),
    "on a child, ON UPDATE CASCADE": (
        CHECK_FN + " CREATE TABLE kids (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,"
        " pid bigint CHECK ({fn}(pid)), FOREIGN KEY (tenant_id, pid) REFERENCES patients"
        " (tenant_id, id) ON UPDATE CASCADE);"
        " INSERT INTO kids (tenant_id, pid) SELECT tenant_id, id FROM patients",
        "UPDATE patients SET id = id + 1000 WHERE tenant_id = $1",
        "UPDATE 2",
    ),
    "on a child, ON DELETE SET NULL": (
        CHECK_FN + " CREATE TABLE kids (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,"
        " pid bigint CHECK ({fn}(pid)), FOREIGN KEY (tenant_id, pid) REFERENCES patients"
        " (tenant_id, id) ON DELETE SET NULL (pid));"
        " INSERT INTO kids (tenant_id, pid) SELECT tenant_id, id FROM patients",
        DELETE_ANA,
        "DELETE 1",
    ),
}


@pytest.mark.parametrize("shape", sorted(CHECKS))
async def test_a_check_constraint_calling_code_that_reads_every_tenant_is_judged(
    two_clinics: str, shape: str
) -> None:
    """Was: clinic 1's UPDATE returned UPDATE 2 (DELETE 1 through the key) and the CHECK's
    function stashed 'Ana,Bruno,Carla' ('Bruno,Carla'): the runtime read triggers, rules and
    defaults from the catalog, not CHECK constraints. Now TG005, nothing stashed."""
    setup, sql, _ = CHECKS[shape]
    await _owner_runs(
        two_clinics, setup.format(fn="stash_check") + "; SELECT set_config('my.stash', '', false)"
    )
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError, match="TG005"):
                await conn.execute(sql, 1)
            assert await _stash(conn) in ("", None)
    finally:
        await conn.close()


@pytest.mark.parametrize("shape", sorted(CHECKS))
async def test_a_check_constraint_calling_code_that_reads_no_table_runs(
    two_clinics: str, shape: str
) -> None:
    """The safe twin: the CHECK calls plain_check (reads no table): the write runs."""
    setup, sql, done = CHECKS[shape]
    await _owner_runs(two_clinics, setup.format(fn="plain_check"))
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            assert await conn.execute(sql, 1) == done
            assert await _stash(conn) in ("", None)
    finally:
        await conn.close()


DOMAIN_CHECK = (
    CHECK_FN + " CREATE DOMAIN checked_note AS text CHECK ({fn}(length(VALUE)));"
    " ALTER TABLE patients ADD COLUMN note checked_note"
)


async def test_a_domain_check_calling_code_that_reads_every_tenant_is_judged(
    two_clinics: str,
) -> None:
    """A domain's CHECK runs where a value of the column is written (INSERT, an UPDATE of
    the column). Leak: UPDATE 2, 'Ana,Bruno,Carla' stashed; now TG005, nothing stashed. Safe
    twin: an UPDATE of another column runs (UPDATE 2)."""
    await _owner_runs(
        two_clinics,
        DOMAIN_CHECK.format(fn="stash_check") + "; SELECT set_config('my.stash', '', false)",
    )
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError, match="TG005"):
                await conn.execute("UPDATE patients SET note = 'x' WHERE tenant_id = $1", 1)
            assert await _stash(conn) in ("", None)
            done = await conn.execute(
                "UPDATE patients SET first_name = first_name WHERE tenant_id = $1", 1
            )
            assert done == "UPDATE 2"
            assert await _stash(conn) in ("", None)
    finally:
        await conn.close()
