"""Class 6 through a column's type (issue 10): PostgreSQL types a parameter once for the whole
statement, by its first use. `score > $1` with `score real` types `$1` real, and the pin
`tenant_id = $1` in the same statement then compares in floating point: 16777217 (a tenant
id float4 cannot hold) is sent as 16777216, another tenant's id. The same goes for a column of
double precision, char(n), "char", name, money or citext, or of a domain over one of them.

The proof has no column types; the schema reader keeps the names of columns declared with such
a type (any table: a name is all a statement's column shows before resolution), and a parameter
that meets one of them — compared with it, or carried to it through arithmetic, COALESCE, CASE,
IN or BETWEEN — pins nothing. The tenant column is left out of those names: a table whose tenant
column is char(n) has the padded values for its own tenants (the runtime guard compares the
bound value itself), and marking the name would unpin every statement of the schema.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.engine.analyze import analyze_statement
from tests.proof.test_schema import policy_for

SCHEMA = """
CREATE DOMAIN rating AS real;
CREATE TABLE tenants (id bigint PRIMARY KEY);
CREATE TABLE scores (id bigint PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants (id),
    score real, weight double precision, grade rating, label text, amount numeric, body text);
CREATE TABLE extras (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, note text);
ALTER TABLE extras ADD COLUMN ratio float4;
ALTER TABLE extras ALTER COLUMN note TYPE char(12);
"""

# tenant 16777217 asks; float4 cannot hold 16777217 and rounds it to 16777216, the victim
# (and float8 rounds 2^53 + 1 to 2^53)
DATA = """
INSERT INTO tenants VALUES (16777216), (16777217), (9007199254740992), (9007199254740993);
INSERT INTO scores VALUES (1, 16777217, 1, 1, 1, 'x', 1, 'own'),
    (2, 16777216, 1, 1, 1, 'x', 1, 'VICTIM'),
    (3, 9007199254740993, 1, 1, 1, 'x', 1, 'own'),
    (4, 9007199254740992, 1, 1, 1, 'x', 1, 'VICTIM');
INSERT INTO extras VALUES (1, 16777217, 'x', 1), (2, 16777216, 'x', 1);
"""

# a double precision column: asked by tenant 2^53 + 1, reads 2^53's row
FLOAT8_LEAKS = [
    "SELECT body FROM scores WHERE coalesce(weight, $1) > 0 AND tenant_id = $1",
    "SELECT body FROM scores WHERE weight <> $1 AND tenant_id = $1",
]

# each reads tenant 16777216's row with $1 = 16777217 (the select list is typed first)
LEAKS = [
    "SELECT body, score > $1 AS above FROM scores WHERE tenant_id = $1",
    "SELECT body FROM scores WHERE score < $1 AND tenant_id = $1",
    "SELECT body FROM scores WHERE score + $1 > 0 AND tenant_id = $1",
    "SELECT body FROM scores WHERE coalesce(score, $1) > 0 AND tenant_id = $1",
    "SELECT body FROM scores WHERE grade <> $1 AND tenant_id = $1",
    "SELECT body FROM scores WHERE $1 NOT IN (score, grade) AND tenant_id = $1",
    "SELECT body FROM scores s WHERE s.score BETWEEN 0 AND $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s JOIN extras e ON e.id = s.id "
    "WHERE e.ratio <= $1 AND s.tenant_id = $1 AND e.tenant_id = $1",
]

# the same shapes with a column of an exact type, or another parameter: own row only
SAFE = [
    "SELECT body, amount > $1 AS above FROM scores WHERE tenant_id = $1",
    "SELECT body FROM scores WHERE id < $1 AND tenant_id = $1",
    "SELECT body FROM scores WHERE score < $2 AND tenant_id = $1",
    "SELECT body FROM scores WHERE tenant_id = $1 AND score < 5",
]


def _policy(tmp_path: Path) -> object:
    return policy_for(tmp_path, SCHEMA, tenant_column="tenant_id")


@pytest.mark.parametrize("sql", LEAKS + FLOAT8_LEAKS)
def test_a_parameter_typed_by_a_lossy_column_pins_nothing(tmp_path: Path, sql: str) -> None:
    codes = [f.code for f in analyze_statement(sql, _policy(tmp_path)).findings]  # type: ignore[arg-type]
    assert codes and set(codes) == {"TG001"}, sql


@pytest.mark.parametrize("sql", SAFE)
def test_a_parameter_typed_exactly_pins(tmp_path: Path, sql: str) -> None:
    assert analyze_statement(sql, _policy(tmp_path)).findings == (), sql  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ddl", "sql"),
    [
        # char(n) pads: `code = $1` types $1 bpchar, and text = bpchar drops trailing blanks
        (
            "CREATE TABLE docs (workspace text NOT NULL, code char(8), body text);",
            "SELECT body FROM docs WHERE code <> $1 AND workspace = $1",
        ),
        (
            "CREATE EXTENSION citext; CREATE TABLE docs (workspace text NOT NULL, "
            "handle citext, body text);",
            "SELECT body FROM docs WHERE handle <> $1 AND workspace = $1",
        ),
        (
            "CREATE TABLE docs (workspace text NOT NULL, tag name, body text);",
            "SELECT body FROM docs WHERE tag <> $1 AND workspace = $1",
        ),
    ],
)
def test_text_types_that_pad_truncate_or_fold(tmp_path: Path, ddl: str, sql: str) -> None:
    policy = policy_for(tmp_path, ddl, tenant_column="workspace", tenant_tables=["docs"])
    assert [f.code for f in analyze_statement(sql, policy).findings] == ["TG001"]  # type: ignore[arg-type]


def test_a_tenant_column_of_a_padded_type_is_not_marked(tmp_path: Path) -> None:
    """`workspace char(8)` in one table: every `workspace = $1` of the schema stays a pin."""
    ddl = (
        "CREATE TABLE docs (workspace text NOT NULL, body text);"
        "CREATE TABLE legacy (workspace char(8) NOT NULL, body text);"
    )
    policy = policy_for(tmp_path, ddl, tenant_column="workspace", tenant_tables=["docs"])
    sql = "SELECT body FROM docs WHERE workspace = $1"
    assert analyze_statement(sql, policy).findings == ()  # type: ignore[arg-type]


async def assert_rows_on_the_server(
    database: str, ddl: str, leaks: list[str], float8_leaks: list[str], safe: list[str]
) -> None:
    """Each leak reads the victim's row (16777217 as real, 2^53 + 1 as double precision), each
    safe twin the asking tenant's own rows only."""
    conn = await asyncpg.connect(database)
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(ddl)
            for sqls, tenant in ((leaks, 16777217), (float8_leaks, 9007199254740993)):
                for sql in sqls:
                    rows = sorted(str(r[0]) for r in await conn.fetch(sql, tenant))
                    assert "VICTIM" in rows, (sql, rows)
            for sql in safe:
                args = (16777217, 5) if "$2" in sql else (16777217,)
                rows = [str(r[0]) for r in await conn.fetch(sql, *args)]
                assert rows and set(rows) == {"own"}, (sql, rows)
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


async def test_the_column_typed_parameter_reads_another_tenant_on_the_server(
    database: str,
) -> None:
    await assert_rows_on_the_server(database, SCHEMA + DATA, LEAKS, FLOAT8_LEAKS, SAFE)


# Round 11's attack: a lossy column's type reaches the parameter through something other than
# a bare column beside it — an aggregate or window over it, a subscript, a scalar subquery, a
# row comparison, a cast to a domain, or another name (an alias in the statement, a view's or
# a CREATE TABLE AS's output, a function's OUT column, a composite type's attribute, a renamed
# column). Each read tenant 16777216's row with $1 = 16777217 on PostgreSQL 15.
HIDDEN_SCHEMA = """
CREATE DOMAIN rating AS real;
CREATE TABLE tenants (id bigint PRIMARY KEY);
CREATE TABLE scores (id bigint PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants (id),
    score real, weight double precision, arr real[], amount numeric, body text);
CREATE TABLE rates (id bigint PRIMARY KEY, r real, n bigint);
CREATE TABLE extras (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, ratio float4);
ALTER TABLE extras RENAME COLUMN ratio TO factor;
CREATE VIEW rates_v AS SELECT id, r AS pts, n AS cnt FROM rates;
CREATE FUNCTION rate_fn() RETURNS TABLE (fid bigint, outpts real) LANGUAGE sql STABLE
    AS $$ SELECT id, r FROM rates $$;
CREATE TABLE snap AS SELECT id, r AS snappts FROM rates;
CREATE TYPE pt AS (px real, py real);
CREATE TABLE points OF pt;
CREATE TABLE quoted (id bigint, "Score" real);
"""

HIDDEN_DATA = """
INSERT INTO tenants VALUES (16777216), (16777217), (9007199254740992), (9007199254740993);
INSERT INTO scores VALUES (1, 16777217, 1, 1, '{1}', 1, 'own'),
    (2, 16777216, 1, 1, '{1}', 1, 'VICTIM'),
    (3, 9007199254740993, 1, 1, '{1}', 1, 'own'),
    (4, 9007199254740992, 1, 1, '{1}', 1, 'VICTIM');
INSERT INTO rates VALUES (1, 1, 1);
INSERT INTO extras VALUES (1, 16777217, 1), (2, 16777216, 1);
INSERT INTO snap VALUES (1, 1);
INSERT INTO points VALUES (1, 1);
INSERT INTO quoted VALUES (1, 1);
"""

HIDDEN_LEAKS = [
    # through an expression the proof cannot type (the select list is typed before WHERE)
    "SELECT body, max(score) OVER () < $1 FROM scores WHERE tenant_id = $1",
    "SELECT body, sum(score) OVER () < $1 FROM scores WHERE tenant_id = $1",
    "SELECT body, lag(score) OVER () IS DISTINCT FROM $1 FROM scores WHERE tenant_id = $1",
    "SELECT body, arr[1] < $1 FROM scores WHERE tenant_id = $1",
    "SELECT body FROM scores WHERE score::rating < $1 AND tenant_id = $1",
    "SELECT body FROM scores WHERE (score, 1) < ($1, 2) AND tenant_id = $1",
    "SELECT body, (SELECT r FROM rates LIMIT 1) < $1 FROM scores WHERE tenant_id = $1",
    "SELECT body, $1 > ALL (SELECT r FROM rates) FROM scores WHERE tenant_id = $1",
    "SELECT body, $1 IN (SELECT r FROM rates) FROM scores WHERE tenant_id = $1",
    "SELECT body, (SELECT max(r) FROM rates) < $1 FROM scores WHERE tenant_id = $1",
    "SELECT max(body) FROM scores GROUP BY tenant_id HAVING max(score) < $1 AND tenant_id = $1",
    'SELECT s.body FROM scores s, quoted q WHERE q."Score" < $1 AND s.tenant_id = $1',
    # through another name given in the statement
    "WITH q AS (SELECT r AS x FROM rates) "
    "SELECT s.body FROM scores s, q WHERE q.x < $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s, (SELECT r FROM rates) q(x) WHERE q.x < $1 AND s.tenant_id = $1",
    "SELECT d.body FROM (SELECT score AS x, tenant_id, body FROM scores) d "
    "WHERE d.x < $1 AND d.tenant_id = $1",
    # through another name given in the schema
    "SELECT s.body FROM scores s, rates_v v WHERE v.pts < $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s, rate_fn() f WHERE f.outpts < $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s, snap n WHERE n.snappts < $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s, points p WHERE p.px < $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s JOIN extras e ON e.id = s.id "
    "WHERE e.factor <= $1 AND s.tenant_id = $1 AND e.tenant_id = $1",
    "SELECT s.body FROM scores s, points p WHERE (p).px < $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s, unnest(s.arr) x WHERE x < $1 AND s.tenant_id = $1",
    "WITH a AS (SELECT r AS x FROM rates), b AS (SELECT x AS y FROM a) "
    "SELECT s.body FROM scores s, b WHERE b.y < $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s, (SELECT n FROM rates UNION SELECT r FROM rates) q "
    "WHERE q.n < $1 AND s.tenant_id = $1",
    # a column's branches, rows or WHENs meet in one type
    "SELECT s.body FROM (SELECT $1 AS v UNION SELECT r FROM rates) u, scores s "
    "WHERE s.tenant_id = $1",
    "SELECT s.body FROM scores s, LATERAL (VALUES ($1), (s.score)) v(x) WHERE s.tenant_id = $1",
    "SELECT s.body FROM (VALUES ($1), (1.5::real)) v(x), scores s WHERE s.tenant_id = $1",
    "SELECT body FROM scores WHERE ROW(score) <> ROW($1) AND tenant_id = $1",
    "SELECT body FROM scores WHERE CASE score WHEN $1 THEN false ELSE true END AND tenant_id = $1",
    # a polymorphic function: $1 takes arr's element type
    "SELECT body, array_position(arr, $1) FROM scores WHERE tenant_id = $1",
    "SELECT body, (array_agg(score) OVER ())[1] < $1 FROM scores WHERE tenant_id = $1",
]

# double precision through a function or aggregate: asked by tenant 2^53 + 1, reads 2^53's row
HIDDEN_FLOAT8_LEAKS = [
    "SELECT body, avg(weight) OVER () < $1 FROM scores WHERE tenant_id = $1",
    "SELECT body, trunc(score) < $1 FROM scores WHERE tenant_id = $1",
]

# the same shapes over exact columns, or with another parameter: own row only
HIDDEN_SAFE = [
    "SELECT body, max(amount) OVER () < $1 FROM scores WHERE tenant_id = $1",
    "SELECT body, count(*) OVER () < $1 FROM scores WHERE tenant_id = $1",
    "SELECT body, (SELECT n FROM rates LIMIT 1) < $1 FROM scores WHERE tenant_id = $1",
    "SELECT body, $1 IN (SELECT n FROM rates) FROM scores WHERE tenant_id = $1",
    "SELECT body, (SELECT r FROM rates LIMIT 1) < $2 FROM scores WHERE tenant_id = $1",
    "WITH q AS (SELECT n AS x FROM rates) "
    "SELECT s.body FROM scores s, q WHERE q.x < $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s, rates_v v WHERE v.cnt < $1 AND s.tenant_id = $1",
    "SELECT s.body FROM scores s, rates_v v WHERE v.pts < $2 AND s.tenant_id = $1",
    "SELECT d.body FROM (SELECT amount AS x, tenant_id, body FROM scores) d "
    "WHERE d.x < $1 AND d.tenant_id = $1",
    "SELECT s.body FROM (SELECT $1 AS v UNION SELECT n FROM rates) u, scores s "
    "WHERE s.tenant_id = $1",
    "SELECT s.body FROM scores s, LATERAL (VALUES ($1), (s.amount)) v(x) WHERE s.tenant_id = $1",
    "SELECT body, array_position(arr, $2) FROM scores WHERE tenant_id = $1",
]

# ordinary statements beside lossy columns that must stay proven: the tenant parameter used as
# a pin only, whatever else the statement computes with lossy columns
HIDDEN_ORDINARY = [
    "INSERT INTO scores (id, tenant_id, score, body) VALUES (9, $1, 1, 'x'), "
    "(10, $1, 2::real, 'y')",
    "SELECT s.body, max(s.score) OVER (), v.pts FROM scores s, rates_v v "
    "WHERE s.tenant_id = $1 AND v.pts > $2",
    "WITH t AS (SELECT tenant_id, score AS x, body FROM scores WHERE tenant_id = $1) "
    "SELECT body FROM t WHERE x < $2",
    "SELECT body FROM scores WHERE tenant_id = $1 UNION ALL "
    "SELECT body FROM scores WHERE tenant_id = $1 AND score > 2",
]


def _hidden_policy(tmp_path: Path) -> object:
    return policy_for(tmp_path, HIDDEN_SCHEMA, tenant_column="tenant_id")


@pytest.mark.parametrize("sql", HIDDEN_LEAKS + HIDDEN_FLOAT8_LEAKS)
def test_a_lossy_type_reached_through_another_expression_or_name_pins_nothing(
    tmp_path: Path, sql: str
) -> None:
    codes = [f.code for f in analyze_statement(sql, _hidden_policy(tmp_path)).findings]  # type: ignore[arg-type]
    assert codes and set(codes) == {"TG001"}, sql


@pytest.mark.parametrize("sql", HIDDEN_SAFE + HIDDEN_ORDINARY)
def test_an_exact_type_reached_through_another_expression_or_name_pins(
    tmp_path: Path, sql: str
) -> None:
    assert analyze_statement(sql, _hidden_policy(tmp_path)).findings == (), sql  # type: ignore[arg-type]


async def test_a_lossy_type_reached_through_another_expression_reads_another_tenant(
    database: str,
) -> None:
    await assert_rows_on_the_server(
        database, HIDDEN_SCHEMA + HIDDEN_DATA, HIDDEN_LEAKS, HIDDEN_FLOAT8_LEAKS, HIDDEN_SAFE
    )
