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

from .test_schema import policy_for

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


async def test_the_column_typed_parameter_reads_another_tenant_on_the_server(
    database: str,
) -> None:
    conn = await asyncpg.connect(database)
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(SCHEMA + DATA)
            for sql in LEAKS:
                rows = sorted(str(r[0]) for r in await conn.fetch(sql, 16777217))
                assert "VICTIM" in rows, (sql, rows)
            for sql in FLOAT8_LEAKS:
                rows = sorted(str(r[0]) for r in await conn.fetch(sql, 9007199254740993))
                assert "VICTIM" in rows, (sql, rows)
            for sql in SAFE:
                args = (16777217, 5) if "$2" in sql else (16777217,)
                rows = [str(r[0]) for r in await conn.fetch(sql, *args)]
                assert rows == ["own"], (sql, rows)
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
