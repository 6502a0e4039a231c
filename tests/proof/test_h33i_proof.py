"""Round 33, helper i: an outside attack on the proof's round-33 changes (h33b's composite-key
pins, h33h's schema-qualified global tables), each leak decided on a real PostgreSQL 15 by the
rows that come back.

1. A qualified global name (`global_tables = ["a.notes"]`) whose name another schema gives a
   VIEW over a tenant table: `b.notes AS SELECT * FROM t` (t has the tenant column). h33h kept
   a qualified global name from covering another schema's table of that name only when that
   table has the tenant column itself; a view never does, so `notes` stayed global and `SELECT
   body FROM b.notes` (every tenant's rows on the server) passed. Twin: with no namesake view,
   `a.notes` stays global.
2. A table renamed into a name another schema has (`ALTER TABLE a.memo RENAME TO notes` beside
   a tenant table `b.notes`): the schema reader moved the renamed table's columns over the
   namesake's, so `notes` lost its tenant column and stopped being a tenant table; `SELECT body
   FROM b.notes` (every tenant's rows) passed. A name in two schemas is read as both (as CREATE
   TABLE of a namesake already did): the columns of both.
3. A composite foreign key read through the RETURNING of an INSERT or an UPDATE that SETs the
   key's column (h33b's writable-CTE reading, and `RETURNING (SELECT c.name FROM customers c
   WHERE c.id = i.customer_id)`): the new row's key is checked at the end of the statement,
   after RETURNING and the CTE's reader computed their values, so a row of another tenant's
   customer is read first; the key's error comes last, and any error before it shows that
   customer: a CHECK of the main INSERT (`Failing row contains (1, their secret)`), a cast
   (`invalid input syntax for type integer: "their secret"`). Such a key pins nothing there
   (TG001). Twins: an UPDATE that SETs other columns, a DELETE (old rows, checked), the SET's
   own subquery (the old row) still pin.
4. A composite foreign key whose checks a patch turned off while it wrote: `SET
   session_replication_role = replica` (or `ALTER ROLE | DATABASE … SET` it, a function's `SET`
   clause, `set_config`) makes the server skip every key's trigger, so a row written then may
   point at another tenant's row for good (`INSERT INTO invoices VALUES (1, 102, 21, …)`), and
   every pin through a key reads it. The reader kept such keys as checked; a schema source
   that sets the role to anything but origin now leaves no key to pin through. Twin: setting it
   back to origin (or DEFAULT, RESET) changes nothing.
5. (false alarm) The key read backward through a semi-join: `SELECT i.number FROM invoices i
   WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = i.customer_id AND c.account_id = $1)`
   (and an inner LATERAL) keeps an invoice only where its key points at a customer of tenant
   $1, so (its tenant column NOT NULL) the invoice is tenant $1's; the same in one block was
   proven, through EXISTS it was TG001. Twins: NOT EXISTS, OR, LEFT JOIN LATERAL, an
   aggregate, a set operation, a non-key column, a single-column key (`notes`), no pin inside.
6. Section 3's UPDATE of other columns, on a table with a BEFORE row trigger (or a rule) on
   INSERT or UPDATE: the trigger may set the key's column (`NEW.customer_id := 21`), unchecked
   until the statement's end, and RETURNING reads it first. Such a table's UPDATE RETURNING
   pins nothing through the key; an AFTER trigger (it cannot change the row) changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.config import Settings, build_policy
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import fresh_database
from tests.proof.test_schema import policy_for


def _codes(sql: str, policy: object) -> list[str]:
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


# ---------------------------------------------------------------- 1. a namesake view
NAMESAKE_VIEW = """
CREATE SCHEMA a;
CREATE SCHEMA b;
CREATE TABLE a.notes (id int, body text);
CREATE TABLE t (id int, org_id bigint NOT NULL, body text);
CREATE VIEW b.notes AS SELECT * FROM t;
"""
NAMESAKE_VIEW_DATA = """
INSERT INTO a.notes VALUES (1, 'shared');
INSERT INTO t VALUES (1, 1, 'mine'), (2, 2, 'theirs');
"""
VIEW_READS = ["SELECT body FROM b.notes", "SELECT body FROM notes"]


@pytest.fixture
async def namesake_view(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, NAMESAKE_VIEW + NAMESAKE_VIEW_DATA) as dsn:
        yield dsn


async def test_a_namesake_view_returns_every_tenants_rows(namesake_view: str) -> None:
    conn = await asyncpg.connect(namesake_view)
    try:
        await conn.execute("SET search_path = b, a, public")
        for sql in VIEW_READS:
            assert sorted(r[0] for r in await conn.fetch(sql)) == ["mine", "theirs"], sql
    finally:
        await conn.close()


def _global_a_notes(tmp_path: Path, ddl: str, warnings: list[str]) -> object:
    (tmp_path / "patches").mkdir(exist_ok=True)
    (tmp_path / "patches" / "0001.sql").write_text(ddl, encoding="utf-8")
    settings = Settings(
        root=tmp_path, schema_paths=("patches",), tenant_column="org_id", global_tables=("a.notes",)
    )
    return build_policy(settings, warnings)


def test_a_qualified_global_name_does_not_cover_a_namesake_view(tmp_path: Path) -> None:
    warnings: list[str] = []
    policy = _global_a_notes(tmp_path, NAMESAKE_VIEW, warnings)
    for sql in VIEW_READS:
        assert _codes(sql, policy) == ["TG001"], sql
    # read as with no global table at all: a name that is a table here and a view there is
    # read as both (each pinned read of it stays a finding: rename one of them)
    pinned = "SELECT body FROM b.notes WHERE org_id = $1"
    (tmp_path / "plain" / "patches").mkdir(parents=True)
    (tmp_path / "plain" / "patches" / "0001.sql").write_text(NAMESAKE_VIEW, encoding="utf-8")
    plain = build_policy(
        Settings(root=tmp_path / "plain", schema_paths=("patches",), tenant_column="org_id")
    )
    assert _codes(pinned, policy) == _codes(pinned, plain)
    assert any("also created in schema b" in w for w in warnings), warnings
    # twin: no namesake view, `a.notes` stays global
    alone = NAMESAKE_VIEW.replace("CREATE VIEW b.notes", "CREATE VIEW b.memos")
    (tmp_path / "twin").mkdir()
    policy = _global_a_notes(tmp_path / "twin", alone, [])
    assert _codes("SELECT body FROM a.notes", policy) == []
    assert _codes("SELECT body FROM b.memos", policy) == ["TG001"]


# ---------------------------------------------------------------- 2. a rename into a namesake
RENAMED_INTO = """
CREATE SCHEMA a;
CREATE SCHEMA b;
CREATE TABLE a.memo (id int, body text);
CREATE TABLE b.notes (id int, org_id bigint NOT NULL, body text);
CREATE TABLE visits (id int, org_id bigint NOT NULL);
ALTER TABLE a.memo RENAME TO notes;
"""
RENAMED_INTO_DATA = """
INSERT INTO a.notes VALUES (1, 'shared');
INSERT INTO b.notes VALUES (1, 1, 'mine'), (2, 2, 'theirs');
"""


@pytest.fixture
async def renamed_into(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, RENAMED_INTO + RENAMED_INTO_DATA) as dsn:
        yield dsn


async def test_a_rename_into_a_namesake_keeps_its_tenant_rows(renamed_into: str) -> None:
    conn = await asyncpg.connect(renamed_into)
    try:
        rows = await conn.fetch("SELECT body FROM b.notes")
        assert sorted(r[0] for r in rows) == ["mine", "theirs"]
        assert [r[0] for r in await conn.fetch("SELECT body FROM a.notes")] == ["shared"]
    finally:
        await conn.close()


def test_a_rename_into_a_namesake_keeps_it_a_tenant_table(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, RENAMED_INTO, tenant_column="org_id")
    for sql in ("SELECT body FROM b.notes", "SELECT body FROM notes"):
        assert _codes(sql, policy) == ["TG001"], sql
    assert _codes("SELECT body FROM b.notes WHERE org_id = $1", policy) == []
    # twin: a rename into a name no other schema has moves the table (no tenant column)
    (tmp_path / "twin").mkdir()
    alone = RENAMED_INTO.replace("b.notes", "b.other")
    policy = policy_for(tmp_path / "twin", alone, tenant_column="org_id")
    assert _codes("SELECT body FROM a.notes", policy) == []
    assert _codes("SELECT body FROM b.other", policy) == ["TG001"]


# ---------------------------------------------------------------- 3. a key read before its check
KEYED = """
CREATE TABLE accounts (id bigint PRIMARY KEY, name text);
CREATE TABLE customers (account_id bigint NOT NULL REFERENCES accounts (id),
  id bigint PRIMARY KEY, name text, UNIQUE (account_id, id));
CREATE TABLE invoices (account_id bigint NOT NULL REFERENCES accounts (id),
  id bigint PRIMARY KEY, customer_id bigint NOT NULL, number text, UNIQUE (account_id, id),
  FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id));
CREATE TABLE snapshots (account_id bigint NOT NULL,
  customer_name text NOT NULL CHECK (length(customer_name) < 4));
"""
KEYED_DATA = """
INSERT INTO accounts VALUES (1, 'mine'), (2, 'theirs');
INSERT INTO customers VALUES (1, 11, 'me'), (2, 21, 'their secret');
INSERT INTO invoices VALUES (1, 101, 11, 'INV-1'), (2, 201, 21, 'INV-2');
"""
SNAPSHOT = (
    "INSERT INTO snapshots (account_id, customer_name) "
    "SELECT $1, c.name FROM customers c JOIN x ON c.id = x.customer_id"
)
INSERTED = (
    "WITH x AS (INSERT INTO invoices (account_id, id, customer_id, number) "
    f"VALUES ($1, 999, $2, 'N') RETURNING customer_id) {SNAPSHOT}"
)
MOVED = (
    "WITH x AS (UPDATE invoices SET customer_id = $2 WHERE account_id = $1 "
    f"RETURNING customer_id) {SNAPSHOT}"
)
CAST = (
    "UPDATE invoices i SET customer_id = $2 WHERE i.account_id = $1 "
    "RETURNING (SELECT c.name::int FROM customers c WHERE c.id = i.customer_id)"
)
INSERT_CAST = (
    "INSERT INTO invoices AS i (account_id, id, customer_id, number) VALUES ($1, 999, $2, 'N') "
    "RETURNING (SELECT c.name::int FROM customers c WHERE c.id = i.customer_id)"
)
RENAMED = (
    "WITH x(cid) AS (UPDATE invoices SET customer_id = $2 WHERE account_id = $1 "
    "RETURNING customer_id) SELECT c.name::int FROM customers c JOIN x ON c.id = x.cid"
)
LEAKS = [INSERTED, MOVED, CAST, INSERT_CAST, RENAMED]
# twins: the key is a row's the server checked (an UPDATE of other columns, a DELETE's old row,
# the SET's subquery reading the old row)
KEPT = (
    "WITH x AS (UPDATE invoices SET number = number || '+' WHERE account_id = $1 "
    "RETURNING customer_id) SELECT c.name FROM customers c JOIN x ON c.id = x.customer_id"
)
DELETED = (
    "WITH x AS (DELETE FROM invoices WHERE account_id = $1 "
    "RETURNING customer_id) SELECT c.name FROM customers c JOIN x ON c.id = x.customer_id"
)
RETURNED = (
    "UPDATE invoices i SET number = 'x' WHERE i.account_id = $1 "
    "RETURNING (SELECT c.name FROM customers c WHERE c.id = i.customer_id)"
)
OLD_ROW = (
    "UPDATE invoices i SET customer_id = $2, number = (SELECT c.name FROM customers c "
    "WHERE c.id = i.customer_id) WHERE i.account_id = $1 RETURNING number"
)
SAFE = [KEPT, DELETED, RETURNED]


@pytest.fixture
async def keyed(postgres: ThrowawayPostgres) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(postgres, KEYED + KEYED_DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            yield conn
        finally:
            await conn.close()


async def test_a_key_read_before_its_check_shows_another_tenants_row(
    keyed: asyncpg.Connection,
) -> None:
    for sql in LEAKS:
        writing = keyed.transaction()
        await writing.start()
        try:
            with pytest.raises(asyncpg.PostgresError) as raised:
                await keyed.fetch(sql, 1, 21)  # tenant 1 names tenant 2's customer
        finally:
            await writing.rollback()
        error = raised.value
        shown = f"{error} {getattr(error, 'detail', '') or ''}"
        assert "their secret" in shown, (sql, shown)  # tenant 2's customer, read by tenant 1
    for sql in SAFE:
        for tenant, name in ((1, "me"), (2, "their secret")):
            writing = keyed.transaction()
            await writing.start()
            try:
                assert [r[0] for r in await keyed.fetch(sql, tenant)] == [name], sql
            finally:
                await writing.rollback()
    writing = keyed.transaction()
    await writing.start()
    try:  # the SET's subquery reads the old row's customer; the moved key fails its check
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await keyed.fetch(OLD_ROW, 1, 21)
    finally:
        await writing.rollback()


def test_a_key_read_before_its_check_pins_nothing(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, KEYED, tenant_column="account_id")
    for sql in LEAKS:
        assert _codes(sql, policy) == ["TG001"], sql
    for sql in [*SAFE, OLD_ROW]:
        assert _codes(sql, policy) == [], sql


# ---------------------------------------------------------------- 4. keys a patch turned off
REPLICA_PATCH = (
    KEYED
    + """
SET session_replication_role = replica;
INSERT INTO accounts VALUES (1, 'mine'), (2, 'theirs');
INSERT INTO customers VALUES (1, 11, 'me'), (2, 21, 'their secret');
INSERT INTO invoices VALUES (1, 101, 11, 'INV-1'), (1, 102, 21, 'INV-X');
RESET session_replication_role;
"""
)
THROUGH_KEYS = [
    "SELECT i.number, (SELECT c.name FROM customers c WHERE c.id = i.customer_id) "
    "FROM invoices i WHERE i.account_id = $1 ORDER BY i.id",
    "SELECT i.number, c.name FROM invoices i JOIN customers c ON c.id = i.customer_id "
    "WHERE i.account_id = $1 ORDER BY i.id",
]


@pytest.fixture
async def replica_patched(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, REPLICA_PATCH) as dsn:
        yield dsn


async def test_a_key_written_past_reads_another_tenants_row(replica_patched: str) -> None:
    conn = await asyncpg.connect(replica_patched)
    try:
        for sql in THROUGH_KEYS:
            rows = [tuple(r) for r in await conn.fetch(sql, 1)]
            assert rows == [("INV-1", "me"), ("INV-X", "their secret")], sql
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "turned_off",
    [
        "SET session_replication_role = replica;",
        "SET LOCAL session_replication_role TO 'replica';",
        "SELECT set_config('session_replication_role', 'replica', false);",
        "ALTER ROLE app SET session_replication_role = replica;",
        "ALTER DATABASE app SET session_replication_role = 'local';",
        "CREATE FUNCTION bulk() RETURNS void LANGUAGE sql SET session_replication_role = replica "
        "AS $$ SELECT 1 $$;",
        "DO $$ BEGIN SET session_replication_role = replica; END $$;",
    ],
)
def test_a_key_a_patch_turned_off_pins_nothing(tmp_path: Path, turned_off: str) -> None:
    policy = policy_for(tmp_path, KEYED + turned_off, tenant_column="account_id")
    for sql in THROUGH_KEYS:
        assert _codes(sql, policy) == ["TG001"], (turned_off, sql)


@pytest.mark.parametrize(
    "kept_on",
    [
        "",
        "SET session_replication_role = origin;",
        "SET session_replication_role TO DEFAULT;",
        "RESET session_replication_role;",
    ],
)
def test_a_key_left_on_pins(tmp_path: Path, kept_on: str) -> None:
    policy = policy_for(tmp_path, KEYED + kept_on, tenant_column="account_id")
    for sql in THROUGH_KEYS:
        assert _codes(sql, policy) == [], (kept_on, sql)


# ---------------------------------------------------------------- 5. a key backward through EXISTS
BACKWARD = KEYED.replace(
    "CREATE TABLE snapshots",
    "CREATE TABLE notes (account_id bigint NOT NULL REFERENCES accounts (id), id bigint "
    "PRIMARY KEY, customer_id bigint REFERENCES customers (id), body text);\nCREATE TABLE snapshots",
)
BACKWARD_DATA = """
INSERT INTO accounts VALUES (1, 'mine'), (2, 'theirs');
INSERT INTO customers VALUES (1, 11, 'me'), (2, 21, 'their secret');
INSERT INTO invoices VALUES (1, 101, 11, 'INV-1'), (2, 201, 21, 'INV-2'), (2, 11, 21, 'INV-3');
-- a single-column key: tenant 2's note points at tenant 1's customer
INSERT INTO notes VALUES (2, 1001, 11, 'crossed');
"""
MINE_BY_CUSTOMER = {
    "exists": "SELECT i.number FROM invoices i WHERE EXISTS (SELECT 1 FROM customers c "
    "WHERE c.id = i.customer_id AND c.account_id = $1) ORDER BY i.id",
    "lateral": "SELECT i.number FROM invoices i JOIN LATERAL (SELECT c.name FROM customers c "
    "WHERE c.id = i.customer_id AND c.account_id = $1) x ON true ORDER BY i.id",
    "update": "UPDATE invoices i SET number = number || '+' WHERE EXISTS (SELECT 1 FROM "
    "customers c WHERE c.id = i.customer_id AND c.account_id = $1) RETURNING i.number",
}
# twin -> the rows tenant 1 gets on the server (another tenant's among them)
NOT_MINE = {
    "not exists": (
        MINE_BY_CUSTOMER["exists"].replace("WHERE EXISTS", "WHERE NOT EXISTS"),
        ["INV-3", "INV-2"],
    ),
    "or": (
        MINE_BY_CUSTOMER["exists"].replace(" ORDER BY", " OR i.id > 0 ORDER BY"),
        ["INV-3", "INV-1", "INV-2"],
    ),
    "left lateral": (
        MINE_BY_CUSTOMER["lateral"].replace("JOIN LATERAL", "LEFT JOIN LATERAL"),
        ["INV-3", "INV-1", "INV-2"],
    ),
    "aggregate": (
        MINE_BY_CUSTOMER["exists"].replace("SELECT 1 FROM", "SELECT count(*) FROM"),
        ["INV-3", "INV-1", "INV-2"],
    ),
    "set operation": (
        MINE_BY_CUSTOMER["exists"].replace(") ORDER BY", " UNION ALL SELECT 1) ORDER BY"),
        ["INV-3", "INV-1", "INV-2"],
    ),
    "not the key": (
        MINE_BY_CUSTOMER["exists"].replace("c.id = i.customer_id", "c.id = i.id"),
        ["INV-3"],
    ),
    "single-column key": (
        "SELECT n.body FROM notes n WHERE EXISTS (SELECT 1 FROM customers c "
        "WHERE c.id = n.customer_id AND c.account_id = $1)",
        ["crossed"],
    ),
}


@pytest.fixture
async def backward(postgres: ThrowawayPostgres) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(postgres, BACKWARD + BACKWARD_DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            yield conn
        finally:
            await conn.close()


async def test_a_key_backward_through_a_semi_join_keeps_one_tenant(
    backward: asyncpg.Connection,
) -> None:
    for tenant, mine in ((1, ["INV-1"]), (2, ["INV-3", "INV-2"])):
        for shape, sql in MINE_BY_CUSTOMER.items():
            writing = backward.transaction()
            await writing.start()
            try:
                rows = [r[0].rstrip("+") for r in await backward.fetch(sql, tenant)]
            finally:
                await writing.rollback()
            assert sorted(rows) == sorted(mine), (shape, tenant)
    for shape, (sql, rows) in NOT_MINE.items():
        assert [r[0] for r in await backward.fetch(sql, 1)] == rows, shape


def test_a_key_backward_through_a_semi_join_pins(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, BACKWARD, tenant_column="account_id")
    for shape, sql in MINE_BY_CUSTOMER.items():
        assert _codes(sql, policy) == [], shape
    for shape, (sql, _) in NOT_MINE.items():
        assert "TG001" in _codes(sql, policy), shape


# ---------------------------------------------------------------- 6. a trigger that moves the key
SWAPPING = (
    KEYED
    + """
CREATE FUNCTION swap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.number = 'swap' THEN NEW.customer_id := 21; END IF; RETURN NEW; END $$;
CREATE TRIGGER invoices_swap BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION swap();
"""
)
SWAPPED = (
    "WITH x AS (UPDATE invoices SET number = $2 WHERE account_id = $1 "
    f"RETURNING customer_id) {SNAPSHOT}"
)


@pytest.fixture
async def swapping(postgres: ThrowawayPostgres) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(postgres, SWAPPING + KEYED_DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            yield conn
        finally:
            await conn.close()


async def test_a_trigger_that_moves_the_key_shows_another_tenants_row(
    swapping: asyncpg.Connection,
) -> None:
    writing = swapping.transaction()
    await writing.start()
    try:
        with pytest.raises(asyncpg.CheckViolationError) as raised:
            await swapping.fetch(SWAPPED, 1, "swap")
    finally:
        await writing.rollback()
    assert "their secret" in str(raised.value.detail)  # tenant 2's customer, read by tenant 1


@pytest.mark.parametrize(
    ("changer", "codes"),
    [
        ("BEFORE UPDATE ON invoices FOR EACH ROW", ["TG001"]),
        ("BEFORE INSERT OR UPDATE ON invoices FOR EACH ROW", ["TG001"]),
        ("AFTER UPDATE ON invoices FOR EACH ROW", []),
        ("BEFORE UPDATE ON invoices FOR EACH STATEMENT", []),
        ("BEFORE UPDATE ON customers FOR EACH ROW", []),
    ],
)
def test_a_table_whose_trigger_may_move_the_key_pins_nothing_through_returning(
    tmp_path: Path, changer: str, codes: list[str]
) -> None:
    ddl = SWAPPING.replace("BEFORE UPDATE ON invoices FOR EACH ROW", changer)
    policy = policy_for(tmp_path, ddl, tenant_column="account_id")
    assert _codes(SWAPPED, policy) == codes
    assert _codes(RETURNED, policy) == codes  # RETURNING (SELECT … WHERE c.id = i.customer_id)
    assert _codes(DELETED, policy) == []  # a DELETE's old row: no trigger changes it


def test_an_instead_rule_on_update_pins_nothing_through_returning(tmp_path: Path) -> None:
    rule = (
        "CREATE RULE invoices_moved AS ON UPDATE TO invoices DO INSTEAD UPDATE invoices SET "
        "number = NEW.number, customer_id = 21 WHERE id = OLD.id RETURNING invoices.*;"
    )
    policy = policy_for(tmp_path, KEYED + rule, tenant_column="account_id")
    assert "TG001" in _codes(KEPT, policy)
    assert _codes(DELETED, policy) == []
    # twin: a DO ALSO rule runs beside the UPDATE, whose row it does not change
    also = rule.replace("DO INSTEAD", "DO ALSO").replace(" RETURNING invoices.*", "")
    (tmp_path / "also").mkdir()
    policy = policy_for(tmp_path / "also", KEYED + also, tenant_column="account_id")
    assert "TG001" not in _codes(KEPT, policy)
