"""A tenant column whose default is the tenant expression (`DEFAULT current_setting(…)::bigint`,
the way RLS applications write it): an INSERT that leaves the column out writes the setting's
tenant. The schema reader keeps each column's default (CREATE TABLE, ADD COLUMN, SET/DROP
DEFAULT, renames, drops); the proof takes such an INSERT as pinned by the tenant expression,
which the runtime guard sets to the request's tenant — unless the statement changes the setting
itself. Asserted on the rows PostgreSQL writes.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.engine.analyze import analyze_statement
from tenantguard.explain import explain
from tenantguard.runtime import connect, tenant
from tests.proof.test_schema import policy_for

SCHEMA = """
CREATE TABLE accounts (id bigint PRIMARY KEY, name text);
CREATE TABLE memos (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id)
        DEFAULT current_setting('app.tenant_id')::bigint,
    body text);
CREATE TABLE notes (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts (id),
    body text);
"""


def _policy(tmp_path: Path, schema: str = SCHEMA) -> Policy:
    policy = policy_for(tmp_path, schema, tenant_column="account_id")
    assert isinstance(policy, Policy)
    return policy


def _codes(sql: str, policy: Policy) -> list[str]:
    return [f.code for f in analyze_statement(sql, policy).findings]


@pytest.mark.parametrize(
    ("later", "defaulted"),
    [
        ("", True),
        ("ALTER TABLE memos ALTER COLUMN account_id DROP DEFAULT;", False),
        ("ALTER TABLE memos ALTER COLUMN account_id SET DEFAULT 1;", False),  # one tenant for all
        (
            "ALTER TABLE memos RENAME COLUMN account_id TO owner_id;"
            "ALTER TABLE memos ADD COLUMN account_id bigint;",
            False,
        ),
        (
            "ALTER TABLE notes ALTER COLUMN account_id "
            "SET DEFAULT current_setting('app.tenant_id', true)::bigint;",
            True,
        ),
        (
            "ALTER TABLE memos ALTER COLUMN account_id "
            "SET DEFAULT current_setting('app.tenant_id')::real::bigint;",
            False,
        ),
        (
            "DROP TABLE memos; CREATE TABLE memos (id bigserial, account_id bigint, body text);",
            False,
        ),
        (
            "CREATE SCHEMA other; CREATE TABLE other.memos (id bigserial, account_id bigint, "
            "body text);",
            False,
        ),
    ],
)
def test_the_schema_reader_keeps_the_default_as_ddl_leaves_it(
    tmp_path: Path, later: str, defaulted: bool
) -> None:
    policy = _policy(tmp_path, SCHEMA + later)
    table = "notes" if "notes" in later else "memos"
    assert (table in policy.tenant_defaults) is defaulted
    codes = _codes(f"INSERT INTO {table} (body) VALUES ('x')", policy)
    assert codes == ([] if defaulted else ["TG002"])


def test_a_defaulted_insert_is_pinned_by_the_tenant_expression(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    verdict = analyze_statement("INSERT INTO memos (body) VALUES ('x')", policy)
    assert verdict.findings == ()
    assert [p.kind for p in verdict.pin_values] == ["expression"]  # the guard sets it
    assert _codes("INSERT INTO notes (body) VALUES ('x')", policy) == ["TG002"]
    # the statement changes the setting first: the default then writes another tenant's id
    moved = "INSERT INTO memos (body) SELECT 'moved' FROM set_config('app.tenant_id', $1, true) s"
    assert "TG002" in _codes(moved, policy)


async def test_the_guard_writes_the_requests_tenant_through_the_default(
    database: str, tmp_path: Path
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SCHEMA + "INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');")
    finally:
        await owner.close()
    conn = await connect(database, policy=_policy(tmp_path), set_tenant_setting=True)
    try:
        with tenant(1):
            await conn.execute("INSERT INTO memos (body) VALUES ('mine')")
            rows = await conn.fetch(
                "INSERT INTO memos (body) VALUES ('mine too') RETURNING account_id"
            )
            assert [r["account_id"] for r in rows] == [1]
            with contextlib.suppress(TenantIsolationError):  # refused before it runs
                await conn.execute(
                    "INSERT INTO memos (body) SELECT 'moved' "
                    "FROM set_config('app.tenant_id', '2', true) s"
                )
    finally:
        await conn.close()
    owner = await asyncpg.connect(database)
    try:
        written = await owner.fetch("SELECT account_id, body FROM memos ORDER BY id")
    finally:
        await owner.close()
    assert [(r["account_id"], r["body"]) for r in written] == [(1, "mine"), (1, "mine too")]


def test_explain_says_what_an_insert_writes(tmp_path: Path) -> None:
    """`explain` of an INSERT into a tenant table says what its rows carry (it said "reads and
    writes no tenant table"), through the column's default too, and what it cannot show."""
    policy = _policy(tmp_path)
    out, failed = explain("INSERT INTO memos (body) VALUES ('a')", policy)
    assert not failed
    assert (
        "memos (rows the INSERT writes): account_id is the tenant expression (the column's "
        "default) in every row" in out
    )
    assert "Verdict: proven — every row it writes carries one tenant." in out
    assert "nothing to prove" not in out
    out, failed = explain("INSERT INTO memos (account_id, body) VALUES ($1, 'a')", policy)
    assert "memos (rows the INSERT writes): account_id is $1 in every row" in out
    assert "(the column's default)" not in out and not failed
    out, failed = explain(
        "INSERT INTO memos (account_id, body) SELECT account_id, body FROM memos", policy
    )
    assert failed
    assert "memos (rows the INSERT writes): NOT SHOWN to carry one tenant in account_id" in out
    assert "proven" not in out


async def test_the_default_keyword_writes_the_requests_tenant(
    database: str, tmp_path: Path
) -> None:
    """`DEFAULT VALUES` and `VALUES (DEFAULT, …)` write the column's default: the request's
    tenant where it is the tenant expression (accepted), another tenant where it is a constant
    (refused before it runs: the rows show what it would have written)."""
    schema = SCHEMA + "ALTER TABLE notes ALTER COLUMN account_id SET DEFAULT 2;"
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(schema + "INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');")
    finally:
        await owner.close()
    policy = _policy(tmp_path, schema)
    conn = await connect(database, policy=policy, set_tenant_setting=True)
    refused = 0
    try:
        with tenant(1):
            await conn.execute("INSERT INTO memos DEFAULT VALUES")
            await conn.execute("INSERT INTO memos (account_id, body) VALUES (DEFAULT, 'kw')")
            for sql in (
                "INSERT INTO notes DEFAULT VALUES",
                "INSERT INTO notes (account_id, body) VALUES (DEFAULT, 'kw')",
            ):
                try:
                    await conn.execute(sql)
                except TenantIsolationError:
                    refused += 1
    finally:
        await conn.close()
    owner = await asyncpg.connect(database)
    try:
        memos = await owner.fetch("SELECT account_id, body FROM memos ORDER BY id")
        notes = await owner.fetch("SELECT account_id FROM notes")
        # what the refused statements would have written: clinic 2's rows
        await owner.execute("INSERT INTO notes DEFAULT VALUES")
        would = await owner.fetchval("SELECT account_id FROM notes")
    finally:
        await owner.close()
    assert [(r["account_id"], r["body"]) for r in memos] == [(1, None), (1, "kw")]
    assert refused == 2 and notes == [] and would == 2
