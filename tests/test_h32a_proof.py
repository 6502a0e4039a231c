"""Round 32, helper a: an outside attack on the static proof with a fresh corpus (tenant column
`org_id`, uuid or text; organisation 'acme' the request's, 'ACME' the victim's where the column
is text). Each class: the leak shown on the server (the rows that come back), then the verdict.

1. Lossy pins, typed tables: `CREATE TABLE t OF some_type` takes its columns from the composite
   type, and with them the attributes' collations. A tenant attribute of a nondeterministic
   collation (written on the attribute, through a domain, or given later by `ALTER TYPE … ALTER
   ATTRIBUTE … TYPE` or `ADD ATTRIBUTE … CASCADE`) compares loosely: `org_id = $1` with 'acme'
   returns the rows of 'ACME' too. The schema reader kept the attributes' names only, so the
   typed table's `org_id = $1` was read as a pin. Twin: a typed table of a type whose attribute
   compares exactly stays pinned.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement

from .conftest import fresh_database
from .test_schema import policy_for

SCHEMA = """
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE DOMAIN org_ci AS text COLLATE ci;
CREATE TYPE by_domain AS (id int, org_id org_ci, v text);
CREATE TABLE typed_domain OF by_domain;
CREATE TYPE by_collate AS (id int, org_id text COLLATE ci, v text);
CREATE TABLE typed_collate OF by_collate (PRIMARY KEY (id));
CREATE TYPE altered AS (id int, org_id text, v text);
ALTER TYPE altered ALTER ATTRIBUTE org_id TYPE text COLLATE ci;
CREATE TABLE typed_altered OF altered;
CREATE TYPE added AS (id int, v text);
CREATE TABLE typed_added OF added;
ALTER TYPE added ADD ATTRIBUTE org_id org_ci CASCADE;
CREATE TABLE typed_inherited (extra int) INHERITS (typed_domain);
CREATE TYPE exact AS (id int, org_id text, v text);
CREATE TABLE typed_exact OF exact;
CREATE TYPE made_exact AS (id int, org_id org_ci, v text);
CREATE TABLE typed_made_exact OF made_exact;
ALTER TYPE made_exact ALTER ATTRIBUTE org_id TYPE text COLLATE "C" CASCADE;
"""
LOOSE = ["typed_domain", "typed_collate", "typed_altered", "typed_added", "typed_inherited"]
EXACT = ["typed_exact", "typed_made_exact"]
DATA = "".join(
    f"INSERT INTO {t} (id, org_id, v) VALUES (1, 'acme', 'mine'), (2, 'ACME', 'theirs');\n"
    for t in LOOSE + EXACT
    if t != "typed_inherited"
) + ("INSERT INTO typed_inherited (id, org_id, v) VALUES (3, 'ACME', 'theirs too');\n")

PINNED = "SELECT v FROM {} WHERE org_id = $1"


@pytest.fixture
async def typed(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, SCHEMA + DATA) as dsn:
        yield dsn


def _codes(sql: str, tmp_path: Path) -> list[str]:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org_id")
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


async def test_a_typed_table_of_a_loose_attribute_returns_the_victims_rows(typed: str) -> None:
    conn = await asyncpg.connect(typed)
    try:
        for table in LOOSE:
            rows = {r["v"] for r in await conn.fetch(PINNED.format(table), "acme")}
            assert "theirs" in rows or "theirs too" in rows, table
        for table in EXACT:
            rows = [r["v"] for r in await conn.fetch(PINNED.format(table), "acme")]
            assert rows == ["mine"], table
    finally:
        await conn.close()


def test_a_typed_table_of_a_loose_attribute_is_not_pinned(tmp_path: Path) -> None:
    for table in LOOSE:
        assert _codes(PINNED.format(table), tmp_path) == ["TG001"], table
    for table in EXACT:
        assert _codes(PINNED.format(table), tmp_path) == [], table
        assert _codes(f"SELECT v FROM {table}", tmp_path) == ["TG001"], table
