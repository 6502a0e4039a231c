"""Round 33, helper q: foreign keys turned off by the application's own statements.

1. `SET session_replication_role = replica` (`SET LOCAL`, `set_config('session_replication_role',
   'replica', …)`, an UPDATE of pg_settings, `ALTER ROLE | DATABASE … SET` it) in application
   code makes the server skip every foreign key's trigger for the session: tenant 1's request
   stores an invoice pointing at tenant 2's customer (`INSERT INTO invoices VALUES (1, 999, 21,
   …)` passes), and every later read through the composite key (the proof's pin) returns
   tenant 2's customer. The runtime guard refused the statement; the static check passed it
   (h33i made such a statement in the schema sources leave no key to pin through, not in the
   application's). It is TG006 now, as a search_path naming pg_catalog late is (one
   implementation: `tenantguard.engine.search_path`). Twins: `origin`, `local` (it skips only
   the triggers made ENABLE REPLICA, not the keys': checked on the server), DEFAULT, RESET and a
   read of the setting pass.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database
from tests.project_files import write_project
from tests.proof.test_h33i_proof import KEYED, KEYED_DATA, THROUGH_KEYS, _codes
from tests.proof.test_schema import policy_for

TURNING_OFF = [
    "SET session_replication_role = replica",
    "SET LOCAL session_replication_role TO 'replica'",
    'SET "session_replication_role" = "replica"',
    "SET session_replication_role = E'replica'",
    "SELECT set_config('session_replication_role', 'replica', true)",
    "SELECT pg_catalog.set_config( 'session_replication_role' , 'replica', false)",
    "SELECT set_config('session_replication_role', $1, false)",
    "SELECT set_config($1, 'replica', false)",
    "UPDATE pg_settings SET setting = 'replica' WHERE name = 'session_replication_role'",
    "UPDATE pg_catalog.pg_settings SET setting = $1 WHERE name = $2",
    "SET /* x */ session_replication_role = replica",
]
ALTERED = [
    "ALTER ROLE app SET session_replication_role = replica",
    "ALTER DATABASE app SET session_replication_role TO 'replica'",
]
LEFT_ON = [
    "SET session_replication_role = origin",
    "SET SESSION session_replication_role = local",
    "SET LOCAL session_replication_role TO 'origin'",
    "SET session_replication_role TO DEFAULT",
    "RESET session_replication_role",
    "SELECT set_config('session_replication_role', 'origin', true)",
    "SELECT set_config('app.tenant_id', $1, true)",
    "SELECT current_setting('session_replication_role')",
    "SELECT name, setting FROM pg_settings WHERE name = 'session_replication_role'",
]


@pytest.fixture
async def keyed(postgres: ThrowawayPostgres) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(postgres, KEYED + KEYED_DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            yield conn
        finally:
            await conn.close()


@pytest.mark.parametrize("turn_off", [s for s in TURNING_OFF if "$" not in s])
async def test_replica_lets_a_request_point_at_another_tenants_row(
    keyed: asyncpg.Connection, turn_off: str
) -> None:
    writing = keyed.transaction()
    await writing.start()
    try:
        await keyed.execute(turn_off)
        # tenant 1's invoice naming tenant 2's customer: no key's check runs
        await keyed.execute("INSERT INTO invoices VALUES (1, 999, 21, 'INV-X')")
        await keyed.execute("SET LOCAL session_replication_role = origin")
        for sql in THROUGH_KEYS:
            rows = [tuple(r) for r in await keyed.fetch(sql, 1)]
            assert rows == [("INV-1", "me"), ("INV-X", "their secret")], (turn_off, sql)
    finally:
        await writing.rollback()


@pytest.mark.parametrize("left_on", [s for s in LEFT_ON if s.startswith(("SET", "RESET"))])
async def test_origin_or_local_checks_the_key(keyed: asyncpg.Connection, left_on: str) -> None:
    # twin: origin and local fire the keys' triggers (local skips ENABLE REPLICA ones only)
    writing = keyed.transaction()
    await writing.start()
    try:
        await keyed.execute(left_on)
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await keyed.execute("INSERT INTO invoices VALUES (1, 999, 21, 'INV-X')")
    finally:
        await writing.rollback()


def test_turning_keys_off_in_application_code_is_a_finding(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, KEYED, tenant_column="account_id")
    for sql in TURNING_OFF:
        assert "TG006" in _codes(sql, policy), sql
    for sql in ALTERED:  # schema changes in application code: TG007 already, TG006 too
        assert _codes(sql, policy) == ["TG006", "TG007"], sql
    for sql in LEFT_ON:
        assert _codes(sql, policy) == [], sql
    # the pins through the composite key stay (the schema sources leave the keys on)
    for sql in THROUGH_KEYS:
        assert _codes(sql, policy) == [], sql


def test_turning_keys_off_in_python_and_sql_files_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "app/bulk.py": (
            "async def bulk(conn, rows):\n"
            '    await conn.execute("SET session_replication_role = replica")\n'
            "    await conn.executemany(\n"
            '        "INSERT INTO invoices (account_id, id, customer_id, number) "\n'
            '        "VALUES ($1, $2, $3, $4)",\n'
            "        rows,\n"
            "    )\n"
        ),
        "app/bulk.sql": "SET LOCAL session_replication_role = 'replica';\n",
    }
    config = '[tool.tenantguard]\ntenant_column = "account_id"\nschema_paths = ["schema.sql"]\n'
    write_project(tmp_path, KEYED, config, files)
    monkeypatch.chdir(tmp_path)
    main(["check", "--no-cache", "--format", "json", "."])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert sorted((f["path"], f["line"], f["rule"]) for f in found) == [
        ("app/bulk.py", 2, "TG006"),
        ("app/bulk.sql", 1, "TG006"),
    ]


# ------------------------------------------------- 2. keys read through parentheses and renames
# (false alarms) a composite key read by `(c.id) IN (SELECT (i.customer_id) …)` (parentheses
# change nothing), and through a CTE whose item renames the key's column (`customer_id AS cid`,
# also in the RETURNING of an UPDATE that does not SET it): each pins the customer as the plain
# spelling does. Leak twins: no pin inside, the RETURNING of an UPDATE that SETs the key renamed.
PARENS = (
    "SELECT c.name FROM customers c WHERE (c.id) IN "
    "(SELECT (i.customer_id) FROM invoices i WHERE i.account_id = $1)"
)
RENAMED_SELECT = (
    "WITH x AS (SELECT customer_id AS cid FROM invoices WHERE account_id = $1) "
    "SELECT c.name FROM customers c JOIN x ON c.id = x.cid"
)
RENAMED_KEPT = (
    "WITH x AS (UPDATE invoices SET number = number || '+' WHERE account_id = $1 "
    "RETURNING customer_id AS cid) SELECT c.name FROM customers c JOIN x ON x.cid = c.id"
)
RENAMED_DERIVED = (
    "SELECT c.name FROM customers c JOIN (SELECT i.customer_id AS cid FROM invoices i "
    "WHERE i.account_id = $1) x ON c.id = x.cid"
)
SPELLED_SAFE = [PARENS, RENAMED_SELECT, RENAMED_KEPT, RENAMED_DERIVED]
UNPINNED_PARENS = (
    "SELECT c.name FROM customers c WHERE (c.id) IN (SELECT (i.customer_id) FROM invoices i)"
)
RENAMED_MOVED = (
    "WITH x AS (UPDATE invoices SET customer_id = $2 WHERE account_id = $1 "
    "RETURNING customer_id AS cid) SELECT c.name::int FROM customers c JOIN x ON c.id = x.cid"
)


async def test_parentheses_and_renames_read_the_tenants_own_customer(
    keyed: asyncpg.Connection,
) -> None:
    for sql in SPELLED_SAFE:
        for tenant, name in ((1, "me"), (2, "their secret")):
            writing = keyed.transaction()
            await writing.start()
            try:
                assert [r[0] for r in await keyed.fetch(sql, tenant)] == [name], sql
            finally:
                await writing.rollback()
    assert sorted(r[0] for r in await keyed.fetch(UNPINNED_PARENS)) == ["me", "their secret"]
    writing = keyed.transaction()
    await writing.start()
    try:
        with pytest.raises(asyncpg.PostgresError) as raised:
            await keyed.fetch(RENAMED_MOVED, 1, 21)  # the new key read before its check
    finally:
        await writing.rollback()
    assert "their secret" in str(raised.value)


def test_parentheses_and_renames_pin_through_the_key(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, KEYED, tenant_column="account_id")
    for sql in SPELLED_SAFE:
        assert _codes(sql, policy) == [], sql
    for sql in (UNPINNED_PARENS, RENAMED_MOVED):
        assert set(_codes(sql, policy)) == {"TG001"}, sql


# ------------------------------------------------- 3. the RETURNING of an INSERT … SELECT
# (false alarm) `WITH x AS (INSERT INTO invoices (…, customer_id, …) SELECT …, c.id, … FROM
# customers c WHERE c.account_id = $1 RETURNING customer_id) … JOIN x ON c2.id = x.customer_id`:
# the key inserted is the id of a pinned customer (same type, no cast), so c2 is that very row;
# h33i made every INSERT's RETURNING key pin nothing (it is checked at the statement's end).
# Leak twins, on the server: ON CONFLICT (id) DO UPDATE returns the existing row of another
# tenant (its key), a BEFORE trigger moves the key (`NEW.customer_id := 21`), VALUES ($1, …, $2).
FROM_PINNED = (
    "WITH x AS (INSERT INTO invoices (account_id, id, customer_id, number) "
    "SELECT $1, 900 + c.id, c.id, 'n' FROM customers c WHERE c.account_id = $1 "
    "RETURNING customer_id) SELECT c2.name FROM customers c2 JOIN x ON c2.id = x.customer_id"
)
FROM_PINNED_RENAMED = FROM_PINNED.replace("RETURNING customer_id)", "RETURNING customer_id AS k)")
FROM_PINNED_RENAMED = FROM_PINNED_RENAMED.replace("= x.customer_id", "= x.k")
ON_CONFLICT = FROM_PINNED.replace("900 + c.id", "201").replace(
    "RETURNING", "ON CONFLICT (id) DO UPDATE SET number = 'z' RETURNING"
)
MOVING_TRIGGER = (
    "CREATE FUNCTION move() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "NEW.customer_id := 21; RETURN NEW; END $$;\n"
    "CREATE TRIGGER m BEFORE INSERT ON invoices FOR EACH ROW EXECUTE FUNCTION move();\n"
)
WIDENED = KEYED.replace("customer_id bigint NOT NULL", "customer_id numeric NOT NULL")


async def test_an_insert_from_a_pinned_customer_returns_that_customer(
    keyed: asyncpg.Connection,
) -> None:
    for sql in (FROM_PINNED, FROM_PINNED_RENAMED):
        for tenant, name in ((1, "me"), (2, "their secret")):
            writing = keyed.transaction()
            await writing.start()
            try:
                assert [r[0] for r in await keyed.fetch(sql, tenant)] == [name], sql
            finally:
                await writing.rollback()
    writing = keyed.transaction()
    await writing.start()
    try:  # invoice 201 is tenant 2's: the conflict returns its customer to tenant 1
        assert [r[0] for r in await keyed.fetch(ON_CONFLICT, 1)] == ["their secret"]
    finally:
        await writing.rollback()
    writing = keyed.transaction()
    await writing.start()
    try:
        await keyed.execute(MOVING_TRIGGER)
        with pytest.raises(asyncpg.PostgresError) as raised:
            await keyed.fetch(FROM_PINNED.replace("c2.name", "c2.name::int"), 1)
    finally:
        await writing.rollback()
    assert "their secret" in str(raised.value)


def test_an_insert_from_a_pinned_customer_pins_through_its_returning(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, KEYED, tenant_column="account_id")
    for sql in (FROM_PINNED, FROM_PINNED_RENAMED):
        assert _codes(sql, policy) == [], sql
    assert "TG001" in _codes(ON_CONFLICT, policy)
    unpinned = FROM_PINNED.replace(" WHERE c.account_id = $1", "")
    assert "TG001" in _codes(unpinned, policy)
    (tmp_path / "trigger").mkdir()
    moved = policy_for(tmp_path / "trigger", KEYED + MOVING_TRIGGER, tenant_column="account_id")
    assert _codes(FROM_PINNED, moved) == ["TG001"]
    # a key of another type than the id it is given: an assignment cast (numeric to bigint
    # rounds) may make it another row's id; only the very same sure type is followed
    (tmp_path / "widened").mkdir()
    widened = policy_for(tmp_path / "widened", WIDENED, tenant_column="account_id")
    assert _codes(FROM_PINNED, widened) == ["TG001"]
