"""Round 33, helper b: false alarms of the static proof an outside reviewer found in ~280 safe
statements of an invoicing/scheduling/CRM backend (tenant column `account_id bigint NOT NULL`,
registry `accounts`, composite foreign keys `(account_id, x_id)`), each decided on the server
first: the safe statement returns (or changes) only the pinned tenant's rows, and its near-twin
that leaks stays a finding.

1. A composite foreign key read through a correlation: `(SELECT c.name FROM customers c WHERE
   c.id = i.customer_id)` with `i` the outer, pinned invoice, and `EXISTS (… WHERE c.id =
   i.customer_id …)`. The key `(account_id, customer_id) REFERENCES customers (account_id, id)`
   points at the one customer of that id, which is the invoice's tenant's, whichever block the
   invoice is read in; the proof knew it only when both sat in one block. Twin: a single-column
   key (`notes.customer_id REFERENCES customers (id)`) reaches another tenant's customer.
2. A row equality with a scalar subquery: a job queue's claim `UPDATE jobs SET … WHERE
   (account_id, id) = (SELECT account_id, id FROM jobs WHERE account_id = $1 … LIMIT 1 FOR
   UPDATE SKIP LOCKED)`. A row passes only where it equals the one row the subquery returns, as
   with `IN (SELECT …)` or `= ANY (SELECT …)`, which were proven; `=` was not read. Twin: the
   subquery's row of any tenant.
3. A composite foreign key read through a semi-join, the other way round from 1: the outer row is
   the key's target, the subquery reads the referencing rows, pinned: `c.id IN (SELECT
   i.customer_id FROM invoices i WHERE i.account_id = $1)` (`= ANY`, `= (SELECT …)`), `EXISTS
   (SELECT 1 FROM invoices i WHERE i.account_id = $1 AND i.customer_id = c.id)`, an inner
   LATERAL. A customer passes only as the one row a pinned invoice's key points at. Twins: the
   single-column key of notes, NOT IN / NOT EXISTS, an aggregate, the subquery unpinned.
4. The same key passed through a derived table or CTE that hands the referencing column on row
   by row: `JOIN (SELECT customer_id, count(*) FROM invoices WHERE account_id = $1 GROUP BY
   customer_id) x ON c.id = x.customer_id`, `WITH recent AS (SELECT customer_id FROM invoices
   WHERE account_id = $1 … LIMIT 3)`. Its value is a pinned invoice's customer_id. Twins: the
   body unpinned, another column renamed to the key's name, an aggregate, a set operation.
5. The same through a writable CTE's RETURNING: `WITH x AS (UPDATE invoices … WHERE account_id
   = $1 RETURNING customer_id) SELECT c.name FROM customers c JOIN x ON c.id =
   x.customer_id`. The value is the written row's (its new version: a SET or an INSERT of
   another tenant's customer fails the key's check before the statement returns a row, shown
   on the server). Twin: the UPDATE pinned by its id only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import fresh_database
from tests.proof.test_schema import policy_for

SCHEMA = """
CREATE TABLE accounts (id bigint PRIMARY KEY, name text);
CREATE TABLE customers (account_id bigint NOT NULL REFERENCES accounts (id),
  id bigint PRIMARY KEY, name text, deleted_at timestamptz, UNIQUE (account_id, id));
CREATE TABLE invoices (account_id bigint NOT NULL REFERENCES accounts (id),
  id bigint PRIMARY KEY, customer_id bigint NOT NULL, number text,
  UNIQUE (account_id, id),
  FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id));
CREATE TABLE jobs (account_id bigint NOT NULL REFERENCES accounts (id),
  id bigint PRIMARY KEY, state text NOT NULL, run_at int NOT NULL);
CREATE TABLE notes (account_id bigint NOT NULL REFERENCES accounts (id),
  id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id), body text);
"""
DATA = """
INSERT INTO accounts VALUES (1, 'mine'), (2, 'theirs');
INSERT INTO customers VALUES (1, 11, 'mine', NULL), (2, 21, 'theirs', NULL);
INSERT INTO invoices VALUES (1, 101, 11, 'INV-1'), (2, 201, 21, 'INV-2');
-- tenant 2's job runs first
INSERT INTO jobs VALUES (2, 1, 'queued', 1), (1, 2, 'queued', 2);
-- a single-column key lets a note of tenant 1 point at tenant 2's customer
INSERT INTO notes VALUES (1, 1001, 21, 'crossed');
"""


@pytest.fixture
async def db(postgres: ThrowawayPostgres) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(postgres, SCHEMA + DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            yield conn
        finally:
            await conn.close()


def _codes(sql: str, tmp_path: Path) -> list[str]:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="account_id")
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


# ---------------------------------------------------------------- 1. a key through a correlation
KEY_SCALAR = (
    "SELECT i.number, (SELECT c.name FROM customers c WHERE c.id = i.customer_id) "
    "FROM invoices i WHERE i.account_id = $1"
)
KEY_EXISTS = (
    "SELECT i.number FROM invoices i WHERE i.account_id = $1 AND EXISTS "
    "(SELECT 1 FROM customers c WHERE c.id = i.customer_id AND c.deleted_at IS NULL)"
)
KEY_UPDATE = (
    "UPDATE invoices i SET number = (SELECT c.name FROM customers c WHERE c.id = i.customer_id) "
    "WHERE i.account_id = $1 RETURNING i.number"
)
# twin: notes.customer_id is a single-column key, free to point at another tenant's customer
SINGLE_KEY_SCALAR = (
    "SELECT n.body, (SELECT c.name FROM customers c WHERE c.id = n.customer_id) "
    "FROM notes n WHERE n.account_id = $1"
)


async def test_a_key_through_a_correlation_reads_one_tenant(db: asyncpg.Connection) -> None:
    for tenant, name in ((1, "mine"), (2, "theirs")):
        assert [tuple(r) for r in await db.fetch(KEY_SCALAR, tenant)] == [(f"INV-{tenant}", name)]
        assert [r[0] for r in await db.fetch(KEY_EXISTS, tenant)] == [f"INV-{tenant}"]
        writing = db.transaction()
        await writing.start()
        try:
            assert [r[0] for r in await db.fetch(KEY_UPDATE, tenant)] == [name]
            assert await db.fetchval("SELECT count(*) FROM invoices WHERE number = 'theirs'") == (
                tenant - 1
            )
        finally:
            await writing.rollback()
    # the twin's note of tenant 1 reads tenant 2's customer
    assert [tuple(r) for r in await db.fetch(SINGLE_KEY_SCALAR, 1)] == [("crossed", "theirs")]


def test_a_key_through_a_correlation_pins(tmp_path: Path) -> None:
    assert _codes(KEY_SCALAR, tmp_path) == []
    assert _codes(KEY_EXISTS, tmp_path) == []
    assert _codes(KEY_UPDATE, tmp_path) == []
    # twins: a single-column key, an outer row left unpinned, a non-key column: findings
    assert _codes(SINGLE_KEY_SCALAR, tmp_path) == ["TG001"]
    assert _codes(KEY_SCALAR.replace("i.account_id = $1", "i.number = $1"), tmp_path) == [
        "TG001",
        "TG001",
    ]
    assert _codes(KEY_EXISTS.replace("c.id = i.customer_id", "c.id = i.id"), tmp_path) == ["TG001"]


# ---------------------------------------------------------------- 2. a row equal to a subquery's row
CLAIM = (
    "UPDATE jobs SET state = 'running' WHERE (account_id, id) = (SELECT account_id, id FROM jobs "
    "WHERE account_id = $1 AND state = 'queued' ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "RETURNING account_id"
)
# twin: the subquery's row is the first queued job of any tenant
CLAIM_ANY = CLAIM.replace("WHERE account_id = $1 AND state", "WHERE $1::bigint > 0 AND state")


async def test_a_row_equal_to_a_pinned_subquerys_row_is_one_tenants(
    db: asyncpg.Connection,
) -> None:
    for tenant in (1, 2):
        writing = db.transaction()
        await writing.start()
        try:
            assert [r[0] for r in await db.fetch(CLAIM, tenant)] == [tenant]
        finally:
            await writing.rollback()
    writing = db.transaction()
    await writing.start()
    try:
        assert [r[0] for r in await db.fetch(CLAIM_ANY, 1)] == [2]  # tenant 2's job
    finally:
        await writing.rollback()


def test_a_row_equal_to_a_pinned_subquerys_row_pins(tmp_path: Path) -> None:
    assert _codes(CLAIM, tmp_path) == []
    assert (
        _codes(
            CLAIM.replace("(account_id, id) =", "(id, account_id) =").replace(
                "SELECT account_id, id", "SELECT id, account_id"
            ),
            tmp_path,
        )
        == []
    )
    assert _codes(CLAIM_ANY, tmp_path) == ["TG001", "TG001"]
    # the places crossed: the tenant column equated with the subquery's id
    crossed = CLAIM.replace("SELECT account_id, id", "SELECT id, account_id")
    assert _codes(crossed, tmp_path) == ["TG001"]
    # not equal is no pin
    assert _codes(CLAIM.replace(") = (SELECT", ") <> (SELECT"), tmp_path) == ["TG001"]


# ---------------------------------------------------------------- 3. a key through a semi-join
SEMI_IN = (
    "SELECT c.name FROM customers c WHERE c.id IN (SELECT i.customer_id FROM invoices i "
    "WHERE i.account_id = $1)"
)
SEMI_ONE = (
    "SELECT c.name FROM customers c WHERE c.id = (SELECT i.customer_id FROM invoices i "
    "WHERE i.account_id = $1 AND i.number LIKE 'INV-%')"
)
SEMI_EXISTS = (
    "SELECT c.name FROM customers c WHERE EXISTS (SELECT 1 FROM invoices i "
    "WHERE i.account_id = $1 AND i.customer_id = c.id)"
)
SEMI_UPDATE = (
    "UPDATE customers c SET name = name || '!' WHERE c.id IN (SELECT i.customer_id "
    "FROM invoices i WHERE i.account_id = $1) RETURNING c.name"
)
# twin: notes.customer_id is a single-column key (tenant 1's note names tenant 2's customer)
SEMI_SINGLE_KEY = (
    "SELECT c.name FROM customers c WHERE c.id IN (SELECT n.customer_id FROM notes n "
    "WHERE n.account_id = $1)"
)


async def test_a_key_through_a_semi_join_reads_one_tenant(db: asyncpg.Connection) -> None:
    for tenant, name in ((1, "mine"), (2, "theirs")):
        for sql in (SEMI_IN, SEMI_ONE, SEMI_EXISTS):
            assert [r[0] for r in await db.fetch(sql, tenant)] == [name], sql
        writing = db.transaction()
        await writing.start()
        try:
            assert [r[0] for r in await db.fetch(SEMI_UPDATE, tenant)] == [name + "!"]
        finally:
            await writing.rollback()
    assert [r[0] for r in await db.fetch(SEMI_SINGLE_KEY, 1)] == ["theirs"]


def test_a_key_through_a_semi_join_pins(tmp_path: Path) -> None:
    for sql in (SEMI_IN, SEMI_ONE, SEMI_EXISTS, SEMI_UPDATE):
        assert _codes(sql, tmp_path) == [], sql
    assert _codes(SEMI_IN.replace("IN (SELECT", "= ANY (SELECT"), tmp_path) == []
    lateral = (
        "SELECT c.name FROM customers c CROSS JOIN LATERAL (SELECT i.id FROM invoices i "
        "WHERE i.account_id = $1 AND i.customer_id = c.id LIMIT 1) x"
    )
    assert _codes(lateral, tmp_path) == []
    # twins: findings
    assert _codes(SEMI_SINGLE_KEY, tmp_path) == ["TG001"]
    assert _codes(SEMI_IN.replace("c.id IN", "c.id NOT IN"), tmp_path) == ["TG001"]
    assert _codes(SEMI_EXISTS.replace("WHERE EXISTS", "WHERE NOT EXISTS"), tmp_path) == ["TG001"]
    assert _codes(
        SEMI_IN.replace("SELECT i.customer_id", "SELECT max(i.customer_id)"), tmp_path
    ) == ["TG001"]
    assert _codes(SEMI_IN.replace("SELECT i.customer_id", "SELECT i.id"), tmp_path) == ["TG001"]
    assert _codes(SEMI_IN.replace("i.account_id = $1", "i.number = $1"), tmp_path) == [
        "TG001",
        "TG001",
    ]
    assert _codes(
        lateral.replace("CROSS JOIN LATERAL", "LEFT JOIN LATERAL") + " ON true", tmp_path
    ) == ["TG001"]


# ---------------------------------------------------------------- 4. a key through a derived table
DERIVED_KEY = (
    "SELECT c.name, x.n FROM (SELECT customer_id, count(*) AS n FROM invoices "
    "WHERE account_id = $1 GROUP BY customer_id) x JOIN customers c ON c.id = x.customer_id"
)
CTE_KEY = (
    "WITH recent AS (SELECT customer_id FROM invoices WHERE account_id = $1 ORDER BY id DESC "
    "LIMIT 3) SELECT c.name FROM customers c JOIN recent r ON r.customer_id = c.id"
)
# twin: the body reads every tenant's invoices, LIMIT before any pin
CTE_KEY_UNPINNED = (
    "WITH recent AS (SELECT customer_id FROM invoices WHERE $1::bigint > 0 ORDER BY id DESC "
    "LIMIT 1) SELECT c.name FROM customers c JOIN recent r ON r.customer_id = c.id"
)


async def test_a_key_through_a_derived_table_reads_one_tenant(db: asyncpg.Connection) -> None:
    for tenant, name in ((1, "mine"), (2, "theirs")):
        assert [tuple(r) for r in await db.fetch(DERIVED_KEY, tenant)] == [(name, 1)]
        assert [r[0] for r in await db.fetch(CTE_KEY, tenant)] == [name]
    assert [r[0] for r in await db.fetch(CTE_KEY_UNPINNED, 1)] == ["theirs"]


def test_a_key_through_a_derived_table_pins(tmp_path: Path) -> None:
    assert _codes(DERIVED_KEY, tmp_path) == []
    assert _codes(CTE_KEY, tmp_path) == []
    assert _codes(CTE_KEY_UNPINNED, tmp_path) == ["TG001", "TG001"]
    for body in (
        "SELECT id AS customer_id FROM invoices WHERE account_id = $1",
        "SELECT max(customer_id) AS customer_id FROM invoices WHERE account_id = $1",
        "SELECT customer_id FROM invoices WHERE account_id = $1 UNION SELECT 21",
    ):
        sql = f"SELECT c.name FROM ({body}) x JOIN customers c ON c.id = x.customer_id"
        assert _codes(sql, tmp_path) == ["TG001"], body


# ---------------------------------------------------------------- 5. a key through RETURNING
RETURNING_KEY = (
    "WITH x AS (UPDATE invoices SET number = number || '+' WHERE account_id = $1 "
    "RETURNING customer_id) SELECT c.name FROM customers c JOIN x ON c.id = x.customer_id"
)
# the written row's new customer is another tenant's: the key's check fails the statement
RETURNING_MOVED = RETURNING_KEY.replace("SET number = number || '+'", "SET customer_id = 21")
INSERTED_KEY = (
    "WITH x AS (INSERT INTO invoices (account_id, id, customer_id, number) VALUES ($1, 999, $2, "
    "'N') RETURNING customer_id) SELECT c.name FROM customers c JOIN x ON c.id = x.customer_id"
)
# twin: the UPDATE is pinned by nothing but an id
RETURNING_UNPINNED = RETURNING_KEY.replace("WHERE account_id = $1", "WHERE id = $1")


async def test_a_key_through_returning_reads_one_tenant(db: asyncpg.Connection) -> None:
    async def rows(sql: str, *args: object) -> list[object]:
        writing = db.transaction()
        await writing.start()
        try:
            return [r[0] for r in await db.fetch(sql, *args)]
        finally:
            await writing.rollback()

    for tenant, name in ((1, "mine"), (2, "theirs")):
        assert await rows(RETURNING_KEY, tenant) == [name]
    assert await rows(INSERTED_KEY, 1, 11) == ["mine"]
    for sql, args in ((RETURNING_MOVED, (1,)), (INSERTED_KEY, (1, 21))):
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await rows(sql, *args)
    assert await rows(RETURNING_UNPINNED, 201) == ["theirs"]


def test_a_key_through_returning_pins(tmp_path: Path) -> None:
    assert _codes(RETURNING_KEY, tmp_path) == []
    # the new key of an UPDATE that SETs it, or of an INSERT, is read before the server checks
    # it: an error before the check shows the other tenant's row (h33i, tests/proof/test_h33i_proof.py)
    assert _codes(RETURNING_MOVED, tmp_path) == ["TG001"]
    assert _codes(INSERTED_KEY, tmp_path) == ["TG001"]
    assert _codes(RETURNING_UNPINNED, tmp_path) == ["TG001", "TG001"]
    other = RETURNING_KEY.replace("RETURNING customer_id", "RETURNING id AS customer_id")
    assert _codes(other, tmp_path) == ["TG001"]
