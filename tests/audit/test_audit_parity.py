"""`tenantguard audit` knows what `check` knows: the same DDL, applied on PostgreSQL 15 and read
from its catalog, or read as a schema file, gives the same verdict on the same statement.

Each class is a place where the live catalog said less than the schema reader: a parent table
its tenant children INHERIT from, a generated tenant column, a lossy type reached through a
view's, a function's or a composite type's column name (or a domain of a function parameter),
overloaded functions, a function returning a table's rows (matched by position), and rules that
rewrite writes. Each leak is shown on the server by the rows it returns or changes.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tenantguard.audit.catalog import read_database
from tenantguard.audit.model import Catalog
from tenantguard.audit.rowpolicy import PolicyReader
from tenantguard.audit.rules import AuditContext, check_catalog
from tenantguard.audit.schema import live_policy
from tenantguard.config import Settings
from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.policy import Policy
from tests.proof import test_attack11_proof as round11
from tests.proof.test_schema import policy_for

A, B = round11.A, round11.B


async def _catalog(dsn: str, ddl: str) -> Catalog:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(ddl)
        return (await read_database(conn, None, read_traffic=False)).catalog
    finally:
        await conn.close()


def _live(catalog: Catalog, column: str) -> Policy:
    return live_policy(Settings(tenant_column=column, isolated=True), catalog).policy


def _static(tmp_path: Path, ddl: str, column: str) -> Policy:
    policy = policy_for(tmp_path, ddl, tenant_column=column)
    assert isinstance(policy, Policy)
    return policy


def _codes(sql: str, policy: Policy) -> list[str]:
    return sorted(f.code for f in analyze_statement(sql, policy).findings)


async def _policies(
    dsn: str, tmp_path: Path, ddl: str, column: str
) -> tuple[Policy, Policy, Catalog]:
    """(check's policy, audit's policy, the catalog) of one DDL."""
    catalog = await _catalog(dsn, ddl)
    return _static(tmp_path, ddl, column), _live(catalog, column), catalog


def _agree(static: Policy, live: Policy, statements: list[str], code: str | None) -> None:
    """Both policies give each statement the same findings: `code` among them (None: none)."""
    for sql in statements:
        found = _codes(sql, static)
        assert _codes(sql, live) == found, sql
        if code is None:
            assert found == [], sql
        else:
            assert code in found, sql


_rows = round11._fetch  # the first column of each row, in a transaction rolled back


# ---------------------------------------------------------------- round 11's schema
# (tests/proof/test_attack11_proof.py shows each of these leaks and twins on the server's rows)


async def test_audit_and_check_agree_on_round_11s_schema(database: str, tmp_path: Path) -> None:
    static, live, _ = await _policies(database, tmp_path, round11.SCHEMA, "org")
    _agree(static, live, [s for s, _ in round11.LEAKS] + round11.PICKS, "TG001")
    _agree(static, live, [s for s, _ in round11.SAFE], None)
    _agree(static, live, round11.MOVES, "TG004")
    _agree(static, live, ["UPDATE gen SET body = $2 WHERE org = $1 RETURNING org"], None)


# ---------------------------------------------------------------- inheritance, generated columns
KIN = f"""
CREATE TABLE orgs (id uuid PRIMARY KEY, name text);
CREATE TABLE top_docs (id bigint, body text);
CREATE TABLE mid_docs (extra int) INHERITS (top_docs);
CREATE TABLE leaf_docs (org uuid NOT NULL) INHERITS (mid_docs);
CREATE TABLE late_base (id bigint, body text);
CREATE TABLE late_docs (id bigint, body text, org uuid NOT NULL);
ALTER TABLE late_docs INHERIT late_base;
CREATE TABLE events (id bigint, org uuid NOT NULL, body text) PARTITION BY LIST (org);
CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('{A}');
CREATE TABLE events_rest PARTITION OF events DEFAULT;
CREATE TABLE gen (id bigint PRIMARY KEY, owner uuid NOT NULL,
    org uuid GENERATED ALWAYS AS (owner) STORED, body text);
CREATE TABLE gen_child (note text) INHERITS (gen);
CREATE TABLE gen2 (id bigint PRIMARY KEY, a uuid, b uuid,
    org uuid GENERATED ALWAYS AS (coalesce(a, b)) STORED, body text);
"""
KIN_DATA = f"""
INSERT INTO orgs VALUES ('{A}', 'own'), ('{B}', 'VICTIM');
INSERT INTO leaf_docs (id, body, org) VALUES (1, 'own', '{A}'), (2, 'VICTIM', '{B}');
INSERT INTO late_docs VALUES (1, 'own', '{A}'), (2, 'VICTIM', '{B}');
INSERT INTO events VALUES (1, '{A}', 'own'), (2, '{B}', 'VICTIM');
INSERT INTO gen_child (id, owner, body) VALUES (1, '{A}', 'own'), (2, '{B}', 'VICTIM');
INSERT INTO gen2 (id, a, body) VALUES (1, '{A}', 'own'), (2, '{B}', 'VICTIM');
"""
# a parent without org returns its children's rows of every org (not with ONLY)
INHERITED = [
    "SELECT body FROM top_docs",
    "SELECT body FROM mid_docs WHERE id > 0",
    "SELECT body FROM late_base",
    "DELETE FROM top_docs WHERE id = 2 RETURNING body",
]
INHERITED_SAFE = [
    "SELECT body FROM ONLY top_docs",
    "SELECT body FROM ONLY late_base",
    "SELECT body FROM leaf_docs WHERE org = $1",
    "SELECT body FROM events WHERE org = $1",
    "SELECT body FROM events_rest WHERE org = $1",
]
# an UPDATE of what a generated org is computed from moves the row to another org
MOVES = [
    "UPDATE gen_child SET owner = $2 WHERE org = $1",
    "UPDATE gen2 SET a = NULL, b = $2 WHERE org = $1",
]
MOVES_SAFE = [
    "UPDATE gen_child SET body = $2 WHERE org = $1",
    "UPDATE gen2 SET body = $2 WHERE org = $1",
]


async def test_inheritance_and_generated_columns_of_the_catalog(
    database: str, tmp_path: Path
) -> None:
    static, live, _ = await _policies(database, tmp_path, KIN, "org")
    _agree(static, live, INHERITED, "TG001")
    _agree(static, live, INHERITED_SAFE, None)
    _agree(static, live, MOVES, "TG004")
    _agree(static, live, MOVES_SAFE, None)
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(KIN_DATA)
        for sql in INHERITED:
            assert "VICTIM" in await _rows(conn, sql), sql
        for sql in INHERITED_SAFE:
            assert "VICTIM" not in await _rows(conn, sql, *([A] if "$1" in sql else [])), sql
        for sql, table in zip(MOVES, ("gen_child", "gen2"), strict=True):
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(sql, A, B)
                orgs = await conn.fetch(f"SELECT org FROM {table} ORDER BY id")
                assert [str(r[0]) for r in orgs] == [B, B], sql  # org A's row is B's now
            finally:
                await transaction.rollback()
    finally:
        await conn.close()


# ---------------------------------------------------------------- lossy types under other names
# `x < $1` with x real types $1 real for the whole statement: `tenant_id = $1` then compares in
# double precision, and 16777217 reads tenant 16777216's rows. The schema reader marks every
# name such a value goes by; the catalog knows the types of view columns, function outputs,
# composite attributes and parameters (a domain over real).
LOSSY = """
CREATE DOMAIN rating AS real;
CREATE TYPE bounds AS (cap real, label text);
CREATE TABLE scores (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, score real, body text);
CREATE VIEW scored AS SELECT id, tenant_id, score AS pts, body FROM scores;
CREATE TABLE snap AS SELECT id, tenant_id, score AS snap_pts, body FROM scores;
CREATE FUNCTION limits(OUT cap_out real) RETURNS real LANGUAGE sql IMMUTABLE
    AS $$ SELECT 1e9::real $$;
CREATE FUNCTION limit_rows() RETURNS TABLE (row_cap rating, row_label text) LANGUAGE sql
    IMMUTABLE AS $$ SELECT 1e9::real, 'x' $$;
CREATE FUNCTION caps() RETURNS SETOF bounds LANGUAGE sql IMMUTABLE AS $$ SELECT 1e9::real, 'x' $$;
CREATE FUNCTION scores_of(t rating) RETURNS SETOF scores LANGUAGE sql STABLE
    AS $$ SELECT * FROM scores WHERE tenant_id = t $$;
CREATE FUNCTION scores_of_exact(t bigint) RETURNS SETOF scores LANGUAGE sql STABLE
    AS $$ SELECT * FROM scores WHERE tenant_id = t $$;
"""
LOSSY_DATA = """
INSERT INTO scores (tenant_id, score, body) VALUES (16777217, 1, 'own'), (16777216, 1, 'VICTIM');
INSERT INTO snap SELECT id, tenant_id, score, body FROM scores;
"""
LOSSY_LEAKS = [
    "SELECT body FROM scored WHERE pts < $1 AND tenant_id = $1",  # a view's column
    "SELECT body FROM snap WHERE snap_pts < $1 AND tenant_id = $1",  # CREATE TABLE AS
    "SELECT s.body FROM scores s, limits() l WHERE l.cap_out > $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s, limit_rows() l WHERE l.row_cap > $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s, caps() c WHERE c.cap > $1 AND s.tenant_id = $1",
    "SELECT body FROM scores_of($1)",  # its parameter is a domain over real
]
# (statement, arguments)
LOSSY_SAFE = [
    ("SELECT body FROM scored WHERE pts < $2 AND tenant_id = $1", (16777217, 1e9)),
    ("SELECT body FROM snap WHERE snap_pts < $2 AND tenant_id = $1", (16777217, 1e9)),
    (
        "SELECT s.body FROM scores s, limits() l WHERE l.cap_out > $2 AND s.tenant_id = $1",
        (16777217, 0.0),
    ),
    (
        "SELECT s.body FROM scores s, limit_rows() l WHERE l.row_label > $1 AND s.tenant_id = $2",
        ("a", 16777217),
    ),
    (
        "SELECT s.body FROM scores s, caps() c WHERE c.label > $2 AND s.tenant_id = $1",
        (16777217, "a"),
    ),
    ("SELECT body FROM scores_of_exact($1)", (16777217,)),
]


async def test_lossy_names_of_the_catalog(database: str, tmp_path: Path) -> None:
    static, live, _ = await _policies(database, tmp_path, LOSSY, "tenant_id")
    _agree(static, live, LOSSY_LEAKS, "TG001")
    _agree(static, live, [s for s, _ in LOSSY_SAFE], None)
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(LOSSY_DATA)
        for sql in LOSSY_LEAKS:
            assert await _rows(conn, sql, 16777217) == ["VICTIM"], sql
        for sql, args in LOSSY_SAFE:
            assert await _rows(conn, sql, *args) == ["own"], sql
    finally:
        await conn.close()


# ---------------------------------------------------------------- one name, several definitions
# A call or a read names neither the schema nor the argument types: the proof reads every
# definition of a name (overloads, other schemas) and pins it only if each passes org through.
NAMESAKES = """
CREATE SCHEMA other;
CREATE TABLE orgs (id uuid PRIMARY KEY, name text);
CREATE TABLE projects (id bigint PRIMARY KEY, org uuid NOT NULL, name text);
CREATE VIEW feed AS SELECT p.id, p.org, p.name FROM projects p;
CREATE VIEW other.feed AS SELECT p.id, o.id AS org, p.name FROM projects p CROSS JOIN orgs o;
CREATE FUNCTION listing() RETURNS TABLE (id bigint, org uuid, name text) LANGUAGE sql STABLE
    AS $$ SELECT p.id, p.org, p.name FROM projects p $$;
CREATE FUNCTION other.listing() RETURNS TABLE (id bigint, org uuid, name text) LANGUAGE sql
    STABLE AS $$ SELECT p.id, o.id, p.name FROM projects p CROSS JOIN orgs o $$;
CREATE FUNCTION listing(x int) RETURNS TABLE (id bigint, org uuid, name text) LANGUAGE sql
    STABLE AS $$ SELECT p.id, p.org, p.name FROM projects p $$;
CREATE FUNCTION plain_listing() RETURNS TABLE (id bigint, org uuid, name text) LANGUAGE sql
    STABLE AS $$ SELECT p.id, p.org, p.name FROM projects p $$;
CREATE FUNCTION plain_listing(x int) RETURNS TABLE (id bigint, org uuid, name text)
    LANGUAGE sql STABLE AS $$ SELECT p.id, p.org, p.name FROM projects p WHERE p.id > x $$;
"""
NAMESAKES_DATA = f"""
INSERT INTO orgs VALUES ('{A}', 'own'), ('{B}', 'VICTIM');
INSERT INTO projects VALUES (1, '{A}', 'own'), (2, '{B}', 'VICTIM');
"""
NAMESAKE_LEAKS = [
    "SELECT name FROM feed WHERE org = $1",
    "SELECT name FROM listing() WHERE org = $1",
]
NAMESAKE_SAFE = ["SELECT name FROM plain_listing() WHERE org = $1"]


async def test_names_defined_twice_in_the_catalog(database: str, tmp_path: Path) -> None:
    static, live, _ = await _policies(database, tmp_path, NAMESAKES, "org")
    _agree(static, live, NAMESAKE_LEAKS, "TG001")
    _agree(static, live, NAMESAKE_SAFE, None)
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(NAMESAKES_DATA)
        await conn.execute("SET search_path = other, public")
        for sql in NAMESAKE_LEAKS:
            assert "VICTIM" in await _rows(conn, sql, A), sql
        await conn.execute("RESET search_path")
        for sql in NAMESAKE_SAFE:
            assert await _rows(conn, sql, A) == ["own"], sql
    finally:
        await conn.close()


# ---------------------------------------------------------------- RETURNS SETOF a table
# PostgreSQL fills a table's columns from the body's outputs by position, whatever the body
# names them: `o.id AS user_org, m.org AS org` puts every org's id in org.
SETOF = """
CREATE TABLE orgs (id uuid PRIMARY KEY, name text);
CREATE TABLE memberships (id bigint, org uuid NOT NULL, user_org uuid, note text);
CREATE FUNCTION swapped_setof() RETURNS SETOF memberships LANGUAGE sql STABLE
    AS $$ SELECT m.id, o.id AS user_org, m.org AS org, m.note
          FROM memberships m CROSS JOIN orgs o $$;
CREATE FUNCTION swapped_plpgsql() RETURNS SETOF memberships LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN QUERY SELECT m.id, o.id AS user_org, m.org AS org, m.note
          FROM memberships m CROSS JOIN orgs o; END $$;
CREATE FUNCTION straight_setof() RETURNS SETOF memberships LANGUAGE sql STABLE
    AS $$ SELECT m.id, m.org AS user_org, o.id AS org, m.note
          FROM memberships m JOIN orgs o ON o.id = m.org $$;
CREATE FUNCTION starred_setof() RETURNS SETOF memberships LANGUAGE sql STABLE
    AS $$ SELECT * FROM memberships $$;
CREATE TABLE base_notes (id bigint, note text);
CREATE TABLE kid_notes (org uuid NOT NULL, user_org uuid) INHERITS (base_notes);
CREATE FUNCTION kids_swapped() RETURNS SETOF kid_notes LANGUAGE sql STABLE
    AS $$ SELECT k.id, k.note, o.id AS user_org, k.org AS org
          FROM ONLY kid_notes k CROSS JOIN orgs o $$;
CREATE FUNCTION kids_starred() RETURNS SETOF kid_notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM ONLY kid_notes $$;
CREATE TABLE base_cards (org uuid NOT NULL, id bigint, note text);
CREATE TABLE kid_cards (extra uuid) INHERITS (base_cards);
CREATE FUNCTION kids_first() RETURNS SETOF kid_cards LANGUAGE sql STABLE
    AS $$ SELECT k.org, k.id, k.note, NULL::uuid FROM ONLY kid_cards k $$;
CREATE TABLE swaps (id bigint, org uuid NOT NULL, user_org uuid, note text);
CREATE FUNCTION by_names() RETURNS SETOF swaps LANGUAGE sql STABLE
    AS $$ SELECT s.id, s.org, s.user_org, s.note FROM swaps s $$;
ALTER TABLE swaps RENAME COLUMN org TO tmp;
ALTER TABLE swaps RENAME COLUMN user_org TO org;
ALTER TABLE swaps RENAME COLUMN tmp TO user_org;
"""
SETOF_DATA = f"""
INSERT INTO orgs VALUES ('{A}', 'own'), ('{B}', 'VICTIM');
INSERT INTO memberships VALUES (1, '{A}', '{A}', 'own'), (2, '{B}', '{B}', 'VICTIM');
INSERT INTO kid_notes (id, note, org) VALUES (1, 'own', '{A}'), (2, 'VICTIM', '{B}');
INSERT INTO kid_cards (org, id, note) VALUES ('{A}', 1, 'own'), ('{B}', 2, 'VICTIM');
INSERT INTO swaps (id, user_org, org, note) VALUES (1, '{B}', '{A}', 'own'), (2, '{A}', '{B}', 'VICTIM');
"""
SETOF_LEAKS = [
    "SELECT note FROM swapped_setof() WHERE org = $1",
    "SELECT note FROM swapped_plpgsql() WHERE org = $1",
    "SELECT note FROM kids_swapped() WHERE org = $1",  # inherited columns come first
    # renamed after the function: the body's `s.org` is the tenant column, but the row's org
    # (third now) is filled from `s.user_org`
    "SELECT note FROM by_names() WHERE org = $1",
]
SETOF_SAFE = [
    "SELECT note FROM straight_setof() WHERE org = $1",
    "SELECT note FROM starred_setof() WHERE org = $1",
    "SELECT note FROM kids_starred() WHERE org = $1",
    "SELECT note FROM kids_first() WHERE org = $1",
]


async def test_a_function_returning_a_tables_rows_fills_them_by_position(
    database: str, tmp_path: Path
) -> None:
    static, live, _ = await _policies(database, tmp_path, SETOF, "org")
    _agree(static, live, SETOF_LEAKS, "TG001")
    _agree(static, live, SETOF_SAFE, None)
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SETOF_DATA)
        for sql in SETOF_LEAKS:
            assert "VICTIM" in await _rows(conn, sql, A), sql
        for sql in SETOF_SAFE:
            assert await _rows(conn, sql, A) == ["own"], sql
    finally:
        await conn.close()


# ---------------------------------------------------------------- rules on writes
# A rule ON INSERT/UPDATE/DELETE runs its own statements in place of (INSTEAD) or beside (ALSO)
# the one sent: `UPDATE inbox … WHERE org = $1` is proven, yet renames every org's projects.
RULES = f"""
CREATE TABLE orgs (id uuid PRIMARY KEY, name text);
CREATE TABLE projects (id bigint PRIMARY KEY, org uuid NOT NULL, name text);
CREATE TABLE inbox (id bigint, org uuid NOT NULL, body text);
CREATE RULE inbox_redirect AS ON UPDATE TO inbox DO INSTEAD UPDATE projects SET name = NEW.body;
CREATE VIEW project_feed AS SELECT id, org, name FROM projects;
CREATE RULE project_feed_insert AS ON INSERT TO project_feed
    DO INSTEAD INSERT INTO projects VALUES (NEW.id, '{B}', NEW.name);
CREATE TABLE outbox (id bigint, org uuid NOT NULL, body text);
CREATE RULE outbox_keep AS ON DELETE TO outbox DO INSTEAD NOTHING;
CREATE TABLE countries (code text PRIMARY KEY, name text);
CREATE TABLE country_log (code text, name text);
CREATE RULE countries_log AS ON UPDATE TO countries
    DO ALSO INSERT INTO country_log VALUES (NEW.code, NEW.name);
"""
RULES_DATA = f"""
INSERT INTO orgs VALUES ('{A}', 'own'), ('{B}', 'VICTIM');
INSERT INTO projects VALUES (1, '{A}', 'own'), (2, '{B}', 'VICTIM');
INSERT INTO inbox VALUES (1, '{A}', 'mine');
"""
RULE_WRITES = [
    "UPDATE inbox SET body = 'hacked' WHERE org = $1",
    "INSERT INTO project_feed (id, org, name) VALUES (3, $1, 'planted')",
]


async def test_rules_on_writes_are_reported_by_the_audit(database: str, tmp_path: Path) -> None:
    static, live, catalog = await _policies(database, tmp_path, RULES, "org")
    # the proof reads what the rule runs beside (or instead of) the statement sent (round 12)
    _agree(static, live, RULE_WRITES, "TG005")
    found = live_policy(Settings(tenant_column="org", isolated=True), catalog)
    ctx = AuditContext(catalog, live, found.tenant_tables, PolicyReader(live))
    flagged = {f.path for f in check_catalog(ctx) if f.code == "TG216"}
    assert flagged == {"db:public.inbox", "db:public.project_feed"}
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(RULES_DATA)
        await conn.execute(RULE_WRITES[0], A)
        assert await _rows(conn, "SELECT name FROM projects WHERE org = $1", B) == ["hacked"]
        await conn.execute(RULE_WRITES[1], A)
        assert await _rows(conn, "SELECT name FROM projects WHERE org = $1", B) == [
            "hacked",
            "planted",
        ]
    finally:
        await conn.close()


# where the schema files do not show a table's column order (CREATE TABLE AS, a typed table, a
# name in two schemas), check cannot tell which output lands in org: it pins nothing (a false
# alarm, sound); the catalog knows the order
UNORDERED = """
CREATE TABLE memberships (id bigint, org uuid NOT NULL, note text);
CREATE TABLE snap AS SELECT * FROM memberships;
CREATE FUNCTION snaps() RETURNS SETOF snap LANGUAGE sql STABLE AS $$ SELECT * FROM snap $$;
"""


async def test_check_fails_closed_where_the_column_order_is_unknown(
    database: str, tmp_path: Path
) -> None:
    static, live, _ = await _policies(database, tmp_path, UNORDERED, "org")
    sql = "SELECT note FROM snaps() WHERE org = $1"
    assert "TG001" in _codes(sql, static)
    assert _codes(sql, live) == []


# a function in another language is read from its CREATE FUNCTION as from a file: its queries
# are out of sight, and naming a tenant table is enough (a namesake of it in SQL is read with
# it). This server has no PL/Python: `plhidden` runs PL/pgSQL under another name.
OTHER_LANGUAGE = f"""
CREATE TABLE orgs (id uuid PRIMARY KEY, name text);
CREATE TABLE projects (id bigint PRIMARY KEY, org uuid NOT NULL, name text);
CREATE FUNCTION hidden_handler() RETURNS language_handler LANGUAGE c
    AS '$libdir/plpgsql', 'plpgsql_call_handler';
CREATE LANGUAGE plhidden HANDLER hidden_handler;
CREATE FUNCTION hidden_rows() RETURNS TABLE (id bigint, org uuid, name text) LANGUAGE plhidden
    AS $$ BEGIN RETURN QUERY SELECT p.id, o.id, p.name FROM projects p CROSS JOIN orgs o; END $$;
CREATE FUNCTION mixed() RETURNS SETOF projects LANGUAGE sql STABLE
    AS $$ SELECT * FROM projects $$;
CREATE FUNCTION mixed(x int) RETURNS SETOF projects LANGUAGE plhidden
    AS $$ BEGIN RETURN QUERY SELECT p.id, o.id, p.name FROM projects p CROSS JOIN orgs o; END $$;
INSERT INTO orgs VALUES ('{A}', 'own'), ('{B}', 'VICTIM');
INSERT INTO projects VALUES (1, '{A}', 'own'), (2, '{B}', 'VICTIM');
"""
OTHER_LANGUAGE_LEAKS = [
    "SELECT name FROM hidden_rows() WHERE org = $1",
    "SELECT name FROM mixed(1) WHERE org = $1",
]


async def test_functions_in_other_languages(database: str, tmp_path: Path) -> None:
    static, live, _ = await _policies(database, tmp_path, OTHER_LANGUAGE, "org")
    _agree(static, live, OTHER_LANGUAGE_LEAKS, "TG001")
    conn = await asyncpg.connect(database)
    try:
        for sql in OTHER_LANGUAGE_LEAKS:
            assert "VICTIM" in await _rows(conn, sql, A), sql
    finally:
        await conn.close()
