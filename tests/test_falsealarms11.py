"""Round 11 (issue 10, class f): safe spellings of a pin the proof flagged, and their unsafe twins,
on PostgreSQL 15. Each safe statement is proven and reads the own tenant's rows only; each twin is
flagged and, run on the server, reads another tenant's rows.

- `= ALL(ARRAY[V])` is `= V`; `= ALL` over an empty array (`'{}'`, or `ARRAY[$1]` with `$1` typed
  an array elsewhere in the statement) is TRUE for every row.
- `IN (SELECT V)` (also `SELECT V UNION SELECT V`) is `= V`.
- `= V COLLATE "C"` (PostgreSQL's own deterministic collations) is `= V`; a collation created
  `deterministic = false` matches 'ACME' for 'acme'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement

from .test_schema import policy_for

# ---------------------------------------------------------------- bigint tenant column
NUMBERS = """
CREATE TABLE tenants (id bigint PRIMARY KEY);
CREATE TABLE notes (id bigint PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants (id),
    body text);
INSERT INTO tenants VALUES (101), (202);
INSERT INTO notes VALUES (101, 101, 'own'), (202, 202, 'VICTIM');
CREATE FUNCTION "some"(bigint[]) RETURNS bigint LANGUAGE sql AS $$ SELECT $1[1] + 101 $$;
CREATE FUNCTION "all"(bigint[]) RETURNS bigint LANGUAGE sql AS $$ SELECT $1[1] + 101 $$;
"""

# (statement, $1): proven, and the own tenant's rows only
NUMBER_SAFE: list[tuple[str, Any]] = [
    ("SELECT body FROM notes WHERE tenant_id = ALL(ARRAY[$1::bigint])", 101),
    ("SELECT body FROM notes WHERE tenant_id = ALL(ARRAY[$1]::bigint[])", 101),
    ("SELECT body FROM notes WHERE tenant_id = ALL(ARRAY[$1::bigint, $1::bigint])", 101),
    ("SELECT body FROM notes WHERE $1::bigint IS NOT NULL AND tenant_id = ALL(ARRAY[$1])", 101),
    ("SELECT body FROM notes WHERE tenant_id IN (SELECT $1::bigint)", 101),
    ("SELECT body FROM notes WHERE tenant_id IN (SELECT $1::bigint UNION SELECT $1::bigint)", 101),
    ("SELECT body FROM notes WHERE tenant_id = ANY(ARRAY[$1::bigint])", 101),
]
# (statement, $1, the finding): flagged, and the victim's rows come back
NUMBER_LEAKS: list[tuple[str, Any, str]] = [
    ("SELECT body FROM notes WHERE tenant_id = ALL(ARRAY[]::bigint[]) AND $1::int IS NULL", None, "TG001"),
    ("SELECT body FROM notes WHERE tenant_id = ALL('{}') AND $1::int IS NULL", None, "TG001"),
    ("SELECT body FROM notes WHERE tenant_id = ALL($1::bigint[])", [], "TG001"),
    (
        "SELECT body FROM notes WHERE $1::bigint[] IS NOT NULL AND tenant_id = ALL(ARRAY[$1])",
        [],
        "TG001",
    ),
    (
        "SELECT body FROM notes WHERE $1::bigint[] IS NOT NULL AND tenant_id = ANY(ARRAY[$1])",
        [101, 202],
        "TG008",
    ),
    (
        "SELECT body FROM notes WHERE id = ANY($1::bigint[]) "
        "AND tenant_id = ANY(ARRAY[$1]::bigint[])",
        [101, 202],
        "TG008",
    ),
    ('SELECT body FROM notes WHERE tenant_id = "some"(ARRAY[$1::bigint])', 101, "TG001"),
    ('SELECT body FROM notes WHERE tenant_id = "all"(ARRAY[$1::bigint])', 101, "TG001"),
    (
        "SELECT body FROM notes WHERE tenant_id IN (SELECT unnest($1::bigint[]))",
        [101, 202],
        "TG001",
    ),
    (
        "SELECT body FROM notes WHERE tenant_id IN (SELECT $1::bigint UNION SELECT id FROM tenants)",
        101,
        "TG001",
    ),
]  # fmt: skip

# ---------------------------------------------------------------- text tenant column
WORDS = """
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE docs (id bigint PRIMARY KEY, workspace text NOT NULL, body text);
INSERT INTO docs VALUES (1, 'acme', 'own'), (2, 'ACME', 'VICTIM');
"""
WORD_SAFE = [
    'SELECT body FROM docs WHERE workspace = $1 COLLATE "C"',
    'SELECT body FROM docs WHERE workspace = $1 COLLATE "POSIX"',
    'SELECT body FROM docs WHERE workspace = $1 COLLATE "default"',
    "SELECT body FROM docs WHERE workspace = $1 COLLATE ucs_basic",
    'SELECT body FROM docs WHERE workspace = $1 COLLATE pg_catalog."C"',
    'SELECT body FROM docs WHERE workspace COLLATE "C" = $1',
    'SELECT body FROM docs WHERE workspace::text COLLATE "C" = $1::text COLLATE "C"',
    "SELECT body FROM docs WHERE workspace IN (SELECT $1)",
    "SELECT body FROM docs WHERE workspace = ALL(ARRAY[$1])",
]
WORD_LEAKS = [
    "SELECT body FROM docs WHERE workspace = $1 COLLATE ci",
    "SELECT body FROM docs WHERE workspace COLLATE ci = $1",
    "SELECT body FROM docs WHERE workspace = $1 COLLATE public.ci",
]


def _numbers_policy() -> Policy:
    return Policy("tenant_id", {"notes"}, global_tables={"tenants"})


def _words_policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, WORDS, tenant_column="workspace")
    assert isinstance(policy, Policy)
    return policy


@pytest.mark.parametrize(("sql", "tenant"), NUMBER_SAFE)
def test_safe_spellings_on_a_bigint_column_are_proven(sql: str, tenant: Any) -> None:
    assert analyze_statement(sql, _numbers_policy()).findings == (), sql


@pytest.mark.parametrize(("sql", "value", "code"), NUMBER_LEAKS)
def test_their_twins_on_a_bigint_column_are_flagged(sql: str, value: Any, code: str) -> None:
    assert [f.code for f in analyze_statement(sql, _numbers_policy()).findings] == [code], sql


@pytest.mark.parametrize("sql", WORD_SAFE)
def test_safe_collations_are_proven(tmp_path: Path, sql: str) -> None:
    assert analyze_statement(sql, _words_policy(tmp_path)).findings == (), sql


@pytest.mark.parametrize("sql", WORD_LEAKS)
def test_a_collation_of_the_schema_pins_nothing(tmp_path: Path, sql: str) -> None:
    assert [f.code for f in analyze_statement(sql, _words_policy(tmp_path)).findings] == [
        "TG001"
    ], sql


async def _rows(conn: asyncpg.Connection, sql: str, value: Any) -> list[str]:
    return sorted(str(r[0]) for r in await conn.fetch(sql, value))


async def test_the_rows_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(NUMBERS)
        for sql, tenant in NUMBER_SAFE:
            assert await _rows(conn, sql, tenant) == ["own"], sql
        for sql, value, _ in NUMBER_LEAKS:
            assert "VICTIM" in await _rows(conn, sql, value), sql
        await conn.execute(WORDS)
        for sql in WORD_SAFE:
            assert await _rows(conn, sql, "acme") == ["own"], sql
        for sql in WORD_LEAKS:
            assert await _rows(conn, sql, "acme") == ["VICTIM", "own"], sql
    finally:
        await conn.close()
