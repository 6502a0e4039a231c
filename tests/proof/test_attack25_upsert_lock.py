"""Round 25 (an outside attack): an upsert on a key unique across tenants whose DO UPDATE is
guarded by `WHERE <target>.tenant_id = EXCLUDED.tenant_id` (accepted since round 12: "on another
tenant's row nothing happens") does touch that row: PostgreSQL locks the conflicting row FOR
UPDATE before it tests the WHERE, and keeps the lock when the WHERE fails. Tenant 2's own writes
to its row wait for tenant 1's transaction (or fail under a lock timeout), and tenant 1's
RETURNING comes back empty exactly when tenant 2 holds the key. The guard is reported (TG003)
again; its twins, a conflict target with the tenant column and `DO NOTHING`, are not.
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement

POLICY = Policy("account_id", {"users"})
TABLE = (
    "CREATE TABLE users (id int PRIMARY KEY, account_id int NOT NULL, email text UNIQUE, "
    "role text, UNIQUE (account_id, email));"
    "INSERT INTO users VALUES (20, 2, 'a@two', 'admin')"
)
GUARDED = (
    "INSERT INTO users AS u (id, account_id, email, role) VALUES (30, $1, $2, 'member') "
    "ON CONFLICT (email) DO UPDATE SET role = EXCLUDED.role "
    "WHERE u.account_id = EXCLUDED.account_id RETURNING id"
)
TWINS = [
    GUARDED.replace("ON CONFLICT (email)", "ON CONFLICT (account_id, email)"),
    GUARDED.replace("INSERT INTO users AS u", "INSERT INTO users")
    .replace(" WHERE u.account_id", " WHERE users.account_id")
    .replace("ON CONFLICT (email)", "ON CONFLICT (account_id, email)"),
]


def _codes(sql: str) -> list[str]:
    return [f.code for f in analyze_statement(sql, POLICY).findings]


@pytest.mark.parametrize(
    "sql",
    [
        GUARDED,
        GUARDED.replace("INSERT INTO users AS u", "INSERT INTO users").replace(
            "u.account_id", "users.account_id"
        ),
        GUARDED.replace("WHERE u.account_id = EXCLUDED.account_id", "WHERE FALSE"),
    ],
    ids=["alias", "table name", "where false"],
)
def test_a_guarded_upsert_on_a_global_key_is_reported(sql: str) -> None:
    assert _codes(sql) == ["TG003"]


@pytest.mark.parametrize("sql", TWINS, ids=["alias", "table name"])
def test_its_twins_on_the_tenant_key_are_proven(sql: str) -> None:
    assert _codes(sql) == []


async def test_the_guarded_upsert_locks_the_other_tenants_row(database: str) -> None:
    tenant1 = await asyncpg.connect(database)
    tenant2 = await asyncpg.connect(database)
    try:
        await tenant1.execute(TABLE)
        await tenant2.execute("SET lock_timeout = '100ms'")
        async with tenant1.transaction():
            # tenant 2 holds the key: nothing comes back, and the row is now locked
            assert await tenant1.fetch(GUARDED, 1, "a@two") == []
            with pytest.raises(asyncpg.LockNotAvailableError):
                await tenant2.execute("UPDATE users SET role = 'owner' WHERE email = 'a@two'")
            await tenant1.execute("SELECT 1")  # (the transaction is tenant 1's, still open)
        async with tenant1.transaction():
            # the twin on the tenant's own key: a row of its own; tenant 2's row stays free
            assert [r["id"] for r in await tenant1.fetch(TWINS[0], 1, "b@one")] == [30]
            assert await tenant2.execute("UPDATE users SET role = 'owner' WHERE id = 20")
        rows = await tenant1.fetch("SELECT account_id, email, role FROM users ORDER BY id")
        assert [tuple(r) for r in rows] == [(2, "a@two", "owner"), (1, "b@one", "member")]
    finally:
        await tenant1.close()
        await tenant2.close()
