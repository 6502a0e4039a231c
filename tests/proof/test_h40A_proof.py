"""Round 40, helper A: an outside attack on the static proof (issue 10) with a fresh corpus on a
payroll / HR SaaS whose tenant column is a QUOTED mixed-case name, `"CompanyId" integer`
(tests/fixtures/h40a/): `companyid` unquoted is another column (hr.payslips.companyid, a legacy
number equal to tenant 1's id in another company's rows); tables in public and hr, a
same-named global `public.payslips`; an ENUM status, DOMAINs, row-level security (the owner
bypasses it: no pin), a RULE rewriting inserts on a view, triggers, an updatable view WITH
CHECK OPTION, materialized views, an exclusion constraint, a sequence per table. Query shapes
first of what the proof accepts: pins through scalar subqueries, functions of the parameter,
row constructors and arrays, negations and NULL semantics, CASE; recursive CTEs with SEARCH /
CYCLE, TABLE, ROWS FROM, GROUP BY DISTINCT, DELETE USING, UPDATE FROM, writable CTE chains,
upserts, MERGE, sub-selects in VALUES and SET, casts of the tenant column to text, LIKE /
SIMILAR TO, lateral set-returning functions over arrays of company ids.

The corpus (574 statements, 150 LEAK on the server, 424 safe): at 3d60059 10 LEAKs passed —
2 by design (a literal of another company) and 8 of one family, a schema function named like a
built-in that PostgreSQL calls for its argument types (1-3 below: `current_setting(…::varchar)`
as a pin and in a tenant column's DEFAULT, a cheap `lower(varchar)` failing before the pin) —
and 193 safe statements were flagged; now the 2 by design pass and 194 are flagged (+1:
`lower(email)` of a text column, pg_catalog's, beside the schema's `lower(varchar)`: the proof
reads no types). Most flagged safe statements are safe on this data only (arithmetic on the
parameter, `= ALL (…)` of a subquery that may be empty, joins through a single-column key,
global primary keys and exclusion constraints on insert, rules and triggers); the provably safe
ones: reads of the global public.payslips (named like the tenant hr.payslips, whose trigger,
views and rule name it: the schema reader forgets it is global), `(c <> $1) IS FALSE`,
`NOT (c <> $1 OR false)`, a row-comparison range, `IS NOT DISTINCT FROM (SELECT $1)`, a view
renaming the tenant column (`v_lower.companyid`), an insert through a view's DO INSTEAD rule
that writes NEW's row.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database
from tests.leak_corpus import Corpus, codes, load, missed_but_by_design
from tests.proof.test_schema import policy_for

CORPUS = Path(__file__).parent.parent / "fixtures" / "h40a"
PATH = ("hr", "public")


def corpus_of() -> Corpus:
    return load(
        CORPUS,
        "40001",
        "40002",
        column='"CompanyId"',
        others=("40003",),
        schemas=PATH,
        search_path=", ".join(PATH),
        numbers=("company_ref", "cents"),
    )


def corpus_policy(tmp_path: Path, corpus: Corpus) -> object:
    return policy_for(tmp_path, corpus.schema, tenant_column='"CompanyId"', search_path=PATH)


async def test_the_corpus_has_no_missed_leak(postgres: ThrowawayPostgres, tmp_path: Path) -> None:
    corpus = corpus_of()
    missed = await missed_but_by_design(
        postgres,
        corpus,
        corpus_policy(tmp_path, corpus),
        _by_design,
        dump="H40A_DUMP",
        cases=400,
        leaking=100,
    )
    assert missed == KNOWN_MISSED


KNOWN_MISSED: list[str] = []


def _by_design(missed: str) -> bool:
    # a literal of another company is a pin (rules.yaml "pinned by literal")
    return "40002" in missed.split(":", 1)[1] and "$" not in missed.split(":", 1)[1]


# 1. A schema function named like the built-in of the tenant expression: `CREATE FUNCTION
# hr.current_setting(setting varchar) RETURNS text` (a compatibility shim) is what PostgreSQL
# calls for `current_setting('app.tenant_id'::varchar)` — an argument of its exact type beats
# pg_catalog's `current_setting(text)` — so `"CompanyId" = current_setting('app.tenant_id'::
# varchar)::int` compares with whatever the shim returns: here another company's id, whose rows
# came back. The proof read the call as the tenant expression (the varchar cast stripped as
# PostgreSQL's print of the name). Now a call of a name the schema sources create, with an
# argument cast to any type but text, is no tenant expression. Twins: a bare literal or one
# cast to text (pg_catalog's is chosen), the qualified built-in.
SHIM = """
CREATE SCHEMA hr;
CREATE TABLE employees (id integer PRIMARY KEY, "CompanyId" integer NOT NULL, name text NOT NULL);
CREATE FUNCTION hr.current_setting(setting varchar) RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT '40002' $$;
INSERT INTO employees VALUES (1, 40001, 'mine'), (11, 40002, 'theirs');
"""
SHIM_READS = [
    "SELECT name FROM employees WHERE \"CompanyId\" = current_setting('app.tenant_id'::varchar)::int",
    'SELECT name FROM employees WHERE "CompanyId"'
    " = current_setting(CAST('app.tenant_id' AS varchar))::int",
    "SELECT name FROM employees WHERE \"CompanyId\"::text = current_setting('app.tenant_id'::varchar)",
]
SHIM_TWINS = [
    "SELECT name FROM employees WHERE \"CompanyId\" = current_setting('app.tenant_id')::int",
    "SELECT name FROM employees WHERE \"CompanyId\" = current_setting('app.tenant_id'::text)::int",
    "SELECT name FROM employees WHERE \"CompanyId\" = current_setting('app.tenant_id', true)::int",
    'SELECT name FROM employees WHERE "CompanyId"'
    " = pg_catalog.current_setting('app.tenant_id'::varchar)::int",
]


async def test_a_schema_function_named_like_the_tenant_expression(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, SHIM) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET search_path = hr, public")
            await conn.execute("SET app.tenant_id = '40001'")
            for sql in SHIM_READS:
                assert [r["name"] for r in await conn.fetch(sql)] == ["theirs"], sql
            for sql in SHIM_TWINS:
                assert [r["name"] for r in await conn.fetch(sql)] == ["mine"], sql
        finally:
            await conn.close()


def test_a_schema_function_named_like_the_tenant_expression_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SHIM, tenant_column='"CompanyId"', search_path=PATH)
    for sql in SHIM_READS:
        assert codes(sql, policy) == ["TG001"], sql
    for sql in SHIM_TWINS:
        assert codes(sql, policy) == [], sql


# 2. The same shim in a tenant column's DEFAULT: `"CompanyId" integer NOT NULL DEFAULT
# current_setting('app.tenant_id'::varchar)::int`, made under a search path that sees
# hr.current_setting, is bound to the shim: `INSERT INTO hr.notes (id, body) VALUES (…)` writes
# a row of another company (RETURNING showed 40002). The tenant defaults were read with a
# policy that knew no schema function (TG002 said nothing: the default was the tenant
# expression). Now that policy holds the schema's function names. Twin: a default of the bare
# literal (pg_catalog's current_setting), 40001.
DEFAULTED = (
    SHIM
    + """
SET search_path = hr, public;
CREATE TABLE hr.notes (id integer PRIMARY KEY,
  "CompanyId" integer NOT NULL DEFAULT current_setting('app.tenant_id'::varchar)::int, body text);
RESET search_path;
CREATE TABLE hr.memos (id integer PRIMARY KEY,
  "CompanyId" integer NOT NULL DEFAULT current_setting('app.tenant_id')::int, body text);
"""
)
DEFAULTED_WRITE = "INSERT INTO hr.notes (id, body) VALUES (50, 'new') RETURNING \"CompanyId\""
DEFAULTED_TWIN = "INSERT INTO hr.memos (id, body) VALUES (50, 'new') RETURNING \"CompanyId\""


async def test_a_tenant_default_through_a_schema_namesake(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, DEFAULTED) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET app.tenant_id = '40001'")
            assert await conn.fetchval(DEFAULTED_WRITE) == 40002
            assert await conn.fetchval(DEFAULTED_TWIN) == 40001
        finally:
            await conn.close()


def test_a_tenant_default_through_a_schema_namesake_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, DEFAULTED, tenant_column='"CompanyId"', search_path=PATH)
    assert codes(DEFAULTED_WRITE, policy) == ["TG002"]
    assert codes(DEFAULTED_TWIN, policy) == []
