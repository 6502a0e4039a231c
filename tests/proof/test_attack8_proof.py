"""Round 8 attacks on the proof (issue 10): a `VALUES` column holding one pinning value is that
value (class d), but not where an outer join NULL-extends it.

On a schema unlike Dentalogic's (tenant column `account_id`, public rows of no account with
`shared_rows`), the leak is shown by the rows PostgreSQL writes when the statement runs as it
is, and by the runtime guard in enforce mode refusing it for account 1: an account-1 request
that copied its notes under a NULL account would publish them to every account.
"""

from __future__ import annotations

import contextlib
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
    account_id bigint REFERENCES accounts (id), body text);
"""

DATA = """
INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');
INSERT INTO notes (account_id, body) VALUES (1, 'own note'), (2, 'VICTIM note'),
    (NULL, 'public note');
"""

# each copies account 1's notes with the VALUES column NULL in every row the join extends
LEAKS = [
    "INSERT INTO notes (account_id, body) SELECT v.a, n.body FROM notes n "
    "LEFT JOIN (VALUES ($1::bigint, 'x')) v(a, tag) ON v.tag = n.body WHERE n.account_id = $1",
    "INSERT INTO notes (account_id, body) SELECT v.a, n.body "
    "FROM (VALUES ($1::bigint, 'x')) v(a, tag) RIGHT JOIN notes n ON v.tag = n.body "
    "WHERE n.account_id = $1",
    "INSERT INTO notes (account_id, body) SELECT s.account_id, s.body FROM (SELECT v.a AS "
    "account_id, n.body FROM notes n LEFT JOIN (VALUES ($1::bigint, 'x')) v(a, tag) "
    "ON v.tag = n.body WHERE n.account_id = $1) s",
    "MERGE INTO notes t USING (accounts a LEFT JOIN (VALUES ($1::bigint, 'x')) v(a, tag) "
    "ON v.tag = a.name) ON t.account_id = $1 AND t.body = a.name "
    "WHEN NOT MATCHED THEN INSERT (account_id, body) VALUES (v.a, a.name)",
]

# the same VALUES column, never NULL-extended: account 1's value in every row written
SAFE = [
    "INSERT INTO notes (account_id, body) SELECT v.a, n.body FROM notes n "
    "JOIN (VALUES ($1::bigint)) v(a) ON true WHERE n.account_id = $1",
    "INSERT INTO notes (account_id, body) SELECT v.a, coalesce(n.body, 'none') "
    "FROM (VALUES ($1::bigint)) v(a) LEFT JOIN notes n ON n.account_id = v.a",
]


def _policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="account_id", shared_rows=True)
    assert isinstance(policy, Policy)
    return policy


@pytest.mark.parametrize("sql", LEAKS)
def test_a_null_extended_values_column_is_no_tenant_value(tmp_path: Path, sql: str) -> None:
    codes = [f.code for f in analyze_statement(sql, _policy(tmp_path)).findings]
    assert codes == ["TG002"], sql


@pytest.mark.parametrize("sql", SAFE)
def test_a_values_column_in_every_row_is_its_value(tmp_path: Path, sql: str) -> None:
    assert analyze_statement(sql, _policy(tmp_path)).findings == (), sql


async def _public_bodies(database: str) -> list[str]:
    owner = await asyncpg.connect(database)
    try:
        rows = await owner.fetch("SELECT body FROM notes WHERE account_id IS NULL ORDER BY id")
    finally:
        await owner.close()
    return [r["body"] for r in rows]


async def test_the_leaks_publish_account_1s_notes_and_the_guard_refuses_them(
    database: str, tmp_path: Path
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SCHEMA + DATA)
        # as they are, on PostgreSQL: each writes rows of no account (public to every
        # account) holding what account 1 owns; rolled back
        for sql in LEAKS:
            transaction = owner.transaction()
            await transaction.start()
            try:
                await owner.execute(sql, 1)
                published = await owner.fetch(
                    "SELECT body FROM notes WHERE account_id IS NULL AND body <> 'public note'"
                )
            finally:
                await transaction.rollback()
            assert {r["body"] for r in published} & {"own note", "own"}, sql
    finally:
        await owner.close()
    conn = await connect(database, policy=_policy(tmp_path))
    try:
        for sql in LEAKS:
            with tenant(1), contextlib.suppress(TenantIsolationError):
                await conn.execute(sql, 1)
        with tenant(1):  # the safe twins still run, and write account 1's rows only
            for sql in SAFE:
                await conn.execute(sql, 1)
    finally:
        await conn.close()
    assert await _public_bodies(database) == ["public note"]
    owner = await asyncpg.connect(database)
    try:
        written = await owner.fetch("SELECT account_id, body FROM notes WHERE id > 3")
    finally:
        await owner.close()
    assert written and {r["account_id"] for r in written} == {1}


# class 5/7: ALTER FUNCTION … RENAME TO moves the function. The schema's reading kept it under
# its old name: the new name was unknown (a call passed unchecked) and the old one kept the body
RENAMES = """
CREATE FUNCTION notes_all(a bigint) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes $$;
CREATE FUNCTION notes_pinned(a bigint) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes WHERE account_id = a $$;
-- swap: the name the application calls now runs the pinned body; the other reads everything
ALTER FUNCTION notes_all(bigint) RENAME TO notes_everyone;
ALTER FUNCTION notes_pinned RENAME TO notes_all;
CREATE FUNCTION by_acct(a bigint) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes WHERE account_id = a $$;
ALTER FUNCTION by_acct(a bigint) RENAME TO of_acct;
"""

RENAMED_LEAKS = [
    "SELECT body FROM notes_everyone($1)",  # every account's notes
    "SELECT n.body FROM accounts a, LATERAL of_acct(a.id) n WHERE a.id > $1",  # every account
]
RENAMED_SAFE = [
    "SELECT body FROM notes_all($1)",
    "SELECT body FROM of_acct($1)",
]


def _renamed_policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, SCHEMA + RENAMES, tenant_column="account_id")
    assert isinstance(policy, Policy)
    return policy


@pytest.mark.parametrize("sql", RENAMED_LEAKS)
def test_a_renamed_function_is_read_under_its_new_name(tmp_path: Path, sql: str) -> None:
    codes = [f.code for f in analyze_statement(sql, _renamed_policy(tmp_path)).findings]
    assert codes == ["TG001"], sql


@pytest.mark.parametrize("sql", RENAMED_SAFE)
def test_a_renamed_pinned_function_pins_under_its_new_name(tmp_path: Path, sql: str) -> None:
    assert analyze_statement(sql, _renamed_policy(tmp_path)).findings == (), sql


async def test_the_guard_does_not_hand_out_notes_through_a_renamed_function(
    database: str, tmp_path: Path
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SCHEMA + RENAMES + DATA)
        # as they are, on PostgreSQL: account 2's note comes back to a request of account 1
        for sql in RENAMED_LEAKS:
            bodies = {r["body"] for r in await owner.fetch(sql, 1)}
            assert "VICTIM note" in bodies, sql
    finally:
        await owner.close()
    conn = await connect(database, policy=_renamed_policy(tmp_path))
    seen: list[str] = []
    try:
        for sql in RENAMED_LEAKS:
            with tenant(1), contextlib.suppress(TenantIsolationError):
                seen += [r["body"] for r in await conn.fetch(sql, 1)]
        with tenant(1):  # the pinned ones still run, and see account 1's note only
            for sql in RENAMED_SAFE:
                assert {r["body"] for r in await conn.fetch(sql, 1)} == {"own note"}, sql
    finally:
        await conn.close()
    assert seen == []
