"""TG013: a side effect that reads no tenant column still runs once per row it is evaluated on.

`nextval('counter')` in a CTE read with the pin outside it runs on every account's rows: a CTE
whose body calls a volatile function is never inlined, so the pin filters only its output, and
the counter then tells how many rows the other accounts have. Shown on PostgreSQL by the value
the sequence reaches; the guard in enforce mode refuses the statement before it runs, and the
safe twins (the call in the select list or SET of a pinned block) count account 1's rows only.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.engine.analyze import analyze_statement
from tenantguard.runtime import connect, tenant
from tests.proof.test_schema import policy_for

SCHEMA = """
CREATE TABLE accounts (id bigint PRIMARY KEY, name text);
CREATE TABLE notes (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id), body text);
CREATE SEQUENCE counter;
"""

DATA = """
INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');
INSERT INTO notes (account_id, body) SELECT 1, 'own' FROM generate_series(1, 3);
INSERT INTO notes (account_id, body) SELECT 2, 'victim' FROM generate_series(1, 40);
"""

OWN_ROWS, ALL_ROWS = 3, 43

# each counts every account's rows on PostgreSQL 15 (the counter reaches ALL_ROWS)
LEAKS = [
    "WITH x AS (SELECT nextval('counter') AS n, * FROM notes) SELECT id FROM x "
    "WHERE account_id = $1",
    "WITH x AS MATERIALIZED (SELECT nextval('counter') AS n, account_id FROM notes) "
    "SELECT n FROM x WHERE account_id = $1",
]

# the call where PostgreSQL runs it on account 1's rows only
SAFE = [
    "SELECT nextval('counter'), id FROM notes WHERE account_id = $1",
    "UPDATE notes SET body = nextval('counter')::text WHERE account_id = $1",
]


def _policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="account_id")
    assert isinstance(policy, Policy)
    return policy


@pytest.mark.parametrize("sql", LEAKS)
def test_a_side_effect_without_a_tenant_column_is_reported(tmp_path: Path, sql: str) -> None:
    assert "TG013" in [f.code for f in analyze_statement(sql, _policy(tmp_path)).findings]


@pytest.mark.parametrize("sql", SAFE)
def test_the_same_call_on_pinned_rows_passes(tmp_path: Path, sql: str) -> None:
    assert analyze_statement(sql, _policy(tmp_path)).findings == ()


async def _calls(conn: asyncpg.Connection, sql: str) -> int:
    """How many times `sql` (run for account 1, then rolled back) called nextval."""
    await conn.execute("SELECT setval('counter', 1, false)")
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.fetch(sql, 1)
    finally:
        await transaction.rollback()  # nextval is not rolled back: the counter keeps the count
    value = await conn.fetchval("SELECT last_value FROM counter")
    called = await conn.fetchval("SELECT is_called FROM counter")
    return int(value) if called else 0


async def test_the_counter_counts_other_accounts_rows_and_the_guard_refuses(
    database: str, tmp_path: Path
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SCHEMA + DATA)
        for sql in LEAKS:  # as they are: every account's rows counted
            assert await _calls(owner, sql) == ALL_ROWS, sql
        for sql in SAFE:
            assert await _calls(owner, sql) == OWN_ROWS, sql
        await owner.execute("SELECT setval('counter', 1, false)")
    finally:
        await owner.close()
    conn = await connect(database, policy=_policy(tmp_path))
    try:
        for sql in LEAKS:
            with tenant(1), pytest.raises(TenantIsolationError):
                await conn.fetch(sql, 1)
        # refused before it left the process: the counter was never called (read by the
        # owner: the guard refuses a sequence's columns too, a count of every account's rows)
        with pytest.raises(TenantIsolationError, match="sequence"):
            await conn.fetchval("SELECT is_called FROM counter")
        assert await _counter(database, "is_called") is False
        with tenant(1):
            rows = await conn.fetch(SAFE[0], 1)
        assert len(rows) == OWN_ROWS
        assert await _counter(database, "last_value") == OWN_ROWS
    finally:
        await conn.close()


async def _counter(database: str, column: str) -> object:
    owner = await asyncpg.connect(database)
    try:
        return await owner.fetchval(f"SELECT {column} FROM counter")
    finally:
        await owner.close()
