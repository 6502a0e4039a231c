"""Round 11 attacks on the proof (issue 10), on a schema unlike the earlier ones: tenant column
`org uuid`, the registry `orgs (id uuid PRIMARY KEY)`, a partitioned table, INHERITS children,
a table in a second schema, a generated tenant column, a table made a view by a rule.

Each leak is shown on PostgreSQL 15 by the rows it returns or changes: org A's request
(`$1` = A) reads or writes org B's rows; each safe twin reads org A's rows only.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement

from .test_schema import policy_for

A = "aaaaaaaa-0000-0000-0000-000000000001"
B = "bbbbbbbb-0000-0000-0000-000000000002"

SCHEMA = f"""
CREATE SCHEMA billing;
CREATE TABLE orgs (id uuid PRIMARY KEY, name text);
CREATE TABLE projects (id bigint PRIMARY KEY, org uuid NOT NULL REFERENCES orgs (id), name text,
    UNIQUE (org, id));
CREATE TABLE tasks (id bigint PRIMARY KEY, org uuid NOT NULL REFERENCES orgs (id),
    project_id bigint, title text, FOREIGN KEY (org, project_id) REFERENCES projects (org, id));
CREATE TABLE events (id bigint, org uuid NOT NULL, body text) PARTITION BY LIST (org);
CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('{A}');
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE TABLE billing.invoices (id bigint, org uuid NOT NULL, body text);
CREATE TABLE invoices (id bigint, body text);
CREATE TABLE base_docs (id bigint, body text);
CREATE TABLE docs (org uuid NOT NULL) INHERITS (base_docs);
CREATE TABLE plain_docs (id bigint, body text);
CREATE TABLE gen (id bigint PRIMARY KEY, owner uuid NOT NULL,
    org uuid GENERATED ALWAYS AS (owner) STORED, body text);
CREATE TABLE proj_view (id bigint, org uuid, name text);
CREATE RULE "_RETURN" AS ON SELECT TO proj_view DO INSTEAD
    SELECT p.id, o.id AS org, p.name FROM projects p CROSS JOIN orgs o;
CREATE TABLE proj_mirror (id bigint, org uuid, name text);
CREATE RULE "_RETURN" AS ON SELECT TO proj_mirror DO INSTEAD
    SELECT p.id, p.org, p.name FROM projects p;
"""

DATA = f"""
INSERT INTO orgs VALUES ('{A}', 'own'), ('{B}', 'VICTIM');
INSERT INTO projects VALUES (1, '{A}', 'own'), (2, '{B}', 'VICTIM');
INSERT INTO tasks VALUES (1, '{A}', 1, 'own'), (2, '{B}', 2, 'VICTIM');
INSERT INTO events VALUES (1, '{A}', 'own'), (2, '{B}', 'VICTIM');
INSERT INTO billing.invoices VALUES (1, '{A}', 'own'), (2, '{B}', 'VICTIM');
INSERT INTO invoices VALUES (1, 'global');
INSERT INTO base_docs VALUES (0, 'global');
INSERT INTO docs VALUES (1, 'own', '{A}'), (2, 'VICTIM', '{B}');
INSERT INTO plain_docs VALUES (1, 'global');
INSERT INTO gen (id, owner, body) VALUES (1, '{A}', 'own'), (2, '{B}', 'VICTIM');
"""


def _policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org")
    assert isinstance(policy, Policy)
    return policy


def _codes(sql: str, policy: Policy) -> list[str]:
    return sorted(f.code for f in analyze_statement(sql, policy).findings)


async def _fetch(database: str, sql: str, *args: object) -> list[str]:
    """The first column of each row, in a transaction rolled back."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        transaction = conn.transaction()
        await transaction.start()
        try:
            return sorted(str(r[0]) for r in await conn.fetch(sql, *args))
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 8: opaque commands
# sqlglot keeps DECLARE and EXPLAIN opaque; a `U&"…"` identifier spells any table's name
# (tests/cases/rules.yaml has the cases on the default schema)
CURSOR = 'DECLARE c CURSOR FOR SELECT name FROM U&"\\0070rojects"'
EXPLAIN_WRITE = "EXPLAIN ANALYZE UPDATE U&\"\\0074asks\" SET title = 'hacked'"


def test_opaque_commands_spelled_with_escapes_are_unprovable(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    assert _codes(CURSOR, policy) == ["TG006"]
    assert _codes(EXPLAIN_WRITE, policy) == ["TG006"]
    assert _codes("DECLARE c CURSOR FOR SELECT name FROM orgs", policy) == []


async def test_the_cursor_and_the_explain_reach_every_org_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        async with conn.transaction():
            await conn.execute(CURSOR)
            rows = await conn.fetch("FETCH ALL FROM c")
        assert sorted(r[0] for r in rows) == ["VICTIM", "own"]
        await conn.execute(EXPLAIN_WRITE)
        assert await conn.fetchval("SELECT title FROM tasks WHERE org = $1", B) == "hacked"
    finally:
        await conn.close()
