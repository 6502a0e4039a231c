"""Round 11 attacks on the proof (issue 10), on a schema unlike the earlier ones: tenant column
`org uuid`, the registry `orgs (id uuid PRIMARY KEY)`, a partitioned table, INHERITS children,
a table in a second schema, a generated tenant column, a table made a view by a rule.

Each leak is shown on PostgreSQL 15 by the rows it returns or changes: org A's request
(`$1` = A) reads or writes org B's rows; each safe twin reads org A's rows only.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement
from tests.proof.test_schema import policy_for

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
CREATE TABLE billing.summary (id bigint, org uuid NOT NULL, name text);
CREATE VIEW summary AS SELECT p.id, o.id AS org, p.name FROM projects p CROSS JOIN orgs o;
CREATE VIEW billing.summary2 AS SELECT p.id, o.id AS org, p.name FROM projects p CROSS JOIN orgs o;
CREATE TABLE summary2 (id bigint, org uuid NOT NULL, name text);
CREATE TABLE billing.summary3 (id bigint, org uuid NOT NULL, name text);
CREATE FUNCTION summary3() RETURNS TABLE (id bigint, org uuid, name text) LANGUAGE sql STABLE
    AS $$ SELECT p.id, o.id, p.name FROM projects p CROSS JOIN orgs o $$;
CREATE FUNCTION crossed() RETURNS TABLE (id bigint, org uuid, name text) LANGUAGE sql STABLE
    AS $$ SELECT p.id, o.id, p.name FROM projects p CROSS JOIN orgs o $$;
CREATE FUNCTION crossed_setof() RETURNS SETOF projects LANGUAGE sql STABLE
    AS $$ SELECT p.id, o.id, p.name FROM projects p CROSS JOIN orgs o $$;
CREATE FUNCTION counted() RETURNS TABLE (org uuid, name text) LANGUAGE sql STABLE
    AS $$ SELECT o.id, (SELECT string_agg(name, ',') FROM projects) FROM orgs o $$;
CREATE FUNCTION labelled(x uuid) RETURNS TABLE (org uuid, name text) LANGUAGE sql STABLE
    AS $$ SELECT x, string_agg(name, ',') FROM projects $$;
CREATE FUNCTION first_project() RETURNS TABLE (org uuid, name text) LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN QUERY SELECT p.org, p.name FROM projects p ORDER BY p.name LIMIT 1; END $$;
CREATE FUNCTION renamed_out() RETURNS TABLE (org uuid, name text) LANGUAGE sql STABLE
    AS $$ SELECT o.id AS owner, p.name FROM projects p CROSS JOIN orgs o $$;
CREATE FUNCTION swapped() RETURNS TABLE (org uuid, real_org uuid, name text) LANGUAGE sql STABLE
    AS $$ SELECT o.id, p.org AS org, p.name FROM projects p CROSS JOIN orgs o $$;
CREATE FUNCTION dynamic() RETURNS TABLE (id bigint, org uuid, name text) LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN QUERY EXECUTE 'SELECT p.id, o.id, p.name FROM projects p, orgs o'; END $$;
CREATE FUNCTION twice() RETURNS TABLE (id bigint, org uuid, name text) LANGUAGE sql STABLE
    AS $$ SELECT p.id, o.id, p.name FROM projects p CROSS JOIN orgs o $$;
CREATE FUNCTION twice(x int) RETURNS TABLE (id bigint, org uuid, name text) LANGUAGE sql STABLE
    AS $$ SELECT p.id, p.org, p.name FROM projects p $$;
CREATE FUNCTION twice_through() RETURNS SETOF projects LANGUAGE sql STABLE
    AS $$ SELECT * FROM projects $$;
CREATE FUNCTION twice_through(x int) RETURNS SETOF projects LANGUAGE sql STABLE
    AS $$ SELECT * FROM projects WHERE id = x $$;
CREATE FUNCTION all_projects() RETURNS SETOF projects LANGUAGE sql STABLE
    AS $$ SELECT * FROM projects $$;
CREATE FUNCTION project_names() RETURNS TABLE (id bigint, org uuid, name text) LANGUAGE sql
    STABLE AS $$ SELECT id, org, name FROM projects $$;
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


async def _fetch(conn: asyncpg.Connection, sql: str, *args: object) -> list[str]:
    """The first column of each row, in a transaction rolled back."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        return sorted(str(r[0]) for r in await conn.fetch(sql, *args))
    finally:
        await transaction.rollback()


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


# ---------------------------------------------------------------- class 7: schema inference
# - A table with no tenant column inherited by a tenant table (INHERITS) returns the children's
#   rows, every org's, to a read without ONLY; nothing can pin it.
# - CREATE RULE "_RETURN" AS ON SELECT … DO INSTEAD makes a table a view (PostgreSQL 15): its
#   rows are the rule's query's, read like a view's body (one that takes org from a joined
#   table cannot be pinned; one that passes projects' org through can).
# (statement, server arguments)
LEAKS = [
    ("SELECT body FROM base_docs", ()),
    ("SELECT body FROM base_docs WHERE id > 0", ()),
    ("SELECT d.body FROM base_docs d JOIN orgs o ON o.id = $1", (A,)),
    ("UPDATE base_docs SET body = body || ' hacked' WHERE id = 2 RETURNING body", ()),
    ("DELETE FROM base_docs WHERE id = 2 RETURNING body", ()),
    ("SELECT name FROM proj_view WHERE org = $1", (A,)),
    ("SELECT v.name FROM orgs o JOIN proj_view v ON v.org = o.id WHERE o.id = $1", (A,)),
    # a view or function of one schema named like a tenant table of another is read as both
    ("SELECT name FROM summary WHERE org = $1", (A,)),
    ("SELECT name FROM billing.summary2 WHERE org = $1", (A,)),
    ("SELECT name FROM summary3() WHERE org = $1", (A,)),
    # the table public.summary2 on the default search path; billing's view under
    # SET search_path = billing, public (the proof knows a relation by its name only)
    ("SELECT name FROM summary2 WHERE org = $1", (A,)),
    # a function that reads tenant rows unpinned and does not pass their org through row by
    # row: a pin on its output org does not select one org's rows
    ("SELECT name FROM crossed() WHERE org = $1", (A,)),
    ("SELECT name FROM crossed_setof() WHERE org = $1", (A,)),
    ("SELECT name FROM counted() WHERE org = $1", (A,)),
    ("SELECT name FROM swapped() WHERE org = $1", (A,)),  # outputs match by position
    ("SELECT name FROM dynamic() WHERE org = $1", (A,)),  # its query is out of sight
    ("SELECT name FROM twice() WHERE org = $1", (A,)),  # overloads: each must pass org through
    ("SELECT name FROM labelled($1) WHERE org = $1", (A,)),
    ("SELECT c.name FROM orgs o, crossed() c WHERE c.org = o.id AND o.id = $1", (A,)),
]
SAFE = [
    ("SELECT body FROM ONLY base_docs", ()),
    ("UPDATE ONLY base_docs SET body = 'mine' WHERE id = 0 RETURNING body", ()),
    ("SELECT body FROM docs WHERE org = $1", (A,)),
    ("SELECT body FROM plain_docs", ()),
    ("SELECT name FROM proj_mirror WHERE org = $1", (A,)),
    ("SELECT name FROM projects WHERE org = $1", (A,)),
    ("SELECT name FROM all_projects() WHERE org = $1", (A,)),
    ("SELECT name FROM project_names() WHERE org = $1", (A,)),
    ("SELECT name FROM twice_through() WHERE org = $1", (A,)),
]
# a LIMIT before the pin picks among every org's rows (the first project by name is org B's:
# org A sees none of its own); a body that names its org output otherwise (`o.id AS owner`)
# still fills org by position
PICKS = [
    "SELECT name FROM first_project() WHERE org = $1",
    "SELECT name FROM renamed_out() WHERE org = $1",
]


@pytest.mark.parametrize(("sql", "args"), LEAKS)
def test_tables_that_hold_every_orgs_rows_are_reported(
    tmp_path: Path, sql: str, args: tuple[object, ...]
) -> None:
    assert "TG001" in _codes(sql, _policy(tmp_path)), sql


@pytest.mark.parametrize("sql", PICKS)
def test_functions_that_pick_or_rename_before_the_pin_are_reported(
    tmp_path: Path, sql: str
) -> None:
    assert "TG001" in _codes(sql, _policy(tmp_path)), sql


@pytest.mark.parametrize(("sql", "args"), SAFE)
def test_their_twins_are_proven(tmp_path: Path, sql: str, args: tuple[object, ...]) -> None:
    assert _codes(sql, _policy(tmp_path)) == [], sql


async def test_the_leaks_read_or_change_org_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for sql, args in LEAKS:
            rows = await _fetch(conn, sql, *args)
            if not any("VICTIM" in r for r in rows):  # the name's other relation
                await conn.execute("SET search_path = billing, public")
                rows = await _fetch(conn, sql, *args)
                await conn.execute("RESET search_path")
            assert any("VICTIM" in r for r in rows), (sql, rows)
        for sql, args in SAFE:
            rows = await _fetch(conn, sql, *args)
            assert not any("VICTIM" in r for r in rows), (sql, rows)
        # org A has a project, yet sees none: org B's came first
        assert await _fetch(conn, PICKS[0], A) == [], "org B's project no longer sorts first"
        assert await _fetch(conn, PICKS[1], A) == ["VICTIM", "own"]
    finally:
        await conn.close()


def test_inheritance_is_kept_in_the_schema_cache_and_follows_alter_table() -> None:
    from tenantguard.sources.schema.reading import SchemaInfo

    schema = SchemaInfo()
    schema.add_sql(
        SCHEMA + "CREATE TABLE later_docs (org uuid NOT NULL, id bigint, body text);\n"
        "CREATE TABLE plain_base (id bigint);\n"
        "ALTER TABLE later_docs INHERIT plain_base;\n"
        "ALTER TABLE docs NO INHERIT base_docs;\n"
    )
    expected = {"plain_base": {"later_docs"}}
    assert schema.inherited_by(schema.tables_with("org"), "org") == expected
    back = SchemaInfo.from_json(schema.to_json())
    assert back.inherited_by(back.tables_with("org"), "org") == expected


# ---------------------------------------------------------------- TG004: a generated tenant column
# `org uuid GENERATED ALWAYS AS (owner) STORED`: an UPDATE of owner moves the row to the org it
# names, though org is not in the SET list.
MOVES = [
    "UPDATE gen SET owner = $2 WHERE org = $1 RETURNING org",
    "UPDATE gen SET (body, owner) = ('x', $2) WHERE org = $1 RETURNING org",
    "INSERT INTO gen AS g (id, owner, body) VALUES (1, $1, 'x') "
    "ON CONFLICT (id) DO UPDATE SET owner = $2 WHERE g.org = $1 RETURNING g.org",
    "MERGE INTO gen g USING (SELECT 1 AS id) s ON g.org = $1 AND g.id = s.id "
    "WHEN MATCHED THEN UPDATE SET owner = $2",
]


@pytest.mark.parametrize("sql", MOVES)
def test_an_update_of_what_the_tenant_column_is_generated_from_moves_rows(
    tmp_path: Path, sql: str
) -> None:
    assert "TG004" in _codes(sql, _policy(tmp_path)), sql


def test_an_update_of_other_columns_of_that_table_is_proven(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    assert _codes("UPDATE gen SET body = $2 WHERE org = $1 RETURNING org", policy) == []
    # the column it is generated from, LIKE … INCLUDING GENERATED and INHERITS keep it
    child = SCHEMA + (
        "CREATE TABLE gen_copy (LIKE gen INCLUDING GENERATED);\n"
        "CREATE TABLE gen_child () INHERITS (gen);\n"
    )
    policy = policy_for(tmp_path, child, tenant_column="org")
    assert isinstance(policy, Policy)
    for table in ("gen_copy", "gen_child"):
        assert _codes(f"UPDATE {table} SET owner = $2 WHERE org = $1", policy) == ["TG004"]
        assert _codes(f"UPDATE {table} SET body = $2 WHERE org = $1", policy) == []


async def test_the_update_moves_a_row_to_org_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for sql in MOVES:
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(sql, A, B)
                orgs = await conn.fetch("SELECT org FROM gen ORDER BY id")
                assert [str(r["org"]) for r in orgs] == [B, B], sql  # org A's row is now B's
            finally:
                await transaction.rollback()
    finally:
        await conn.close()
