"""Round 32, helper i: an outside attack on the reads of views and functions pinned inside by the
tenant setting (Policy.setting_pinned), on the schema of tests/proof/test_h32a_proof.py (tenant column
`org_id`, a uuid). Each class: the leak shown on the server (app.tenant_id = A, the parameter or
the other setting = B: both tenants' rows come back), then the verdict.

1. A view of such a view, a function calling such a function (`CREATE VIEW my_emails2 AS SELECT
   email FROM my_emails`): pinned inside by the setting as well, yet its body is proven without
   the tenant expression (the inner relation is no tenant relation), so it was not counted as a
   pin, and beside `org_id = $1` it passed. The inference now runs to a fixpoint.
2. `ROWS FROM (my_titles())`: the call sits under the ROWS FROM item, not itself a FROM item,
   and neither the FROM-item nor the outside-FROM reading saw it.
3. Of several tenant expressions, a relation pinned by one of them was a pin to "an unknown one",
   and every such pin was equal to every other: a view pinned by `app.tenant_id` beside one pinned
   by `app.other` passed. The unknown one is now a value of the relation read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import fresh_database
from tests.proof.test_h32a_proof import VIEW_DATA, VIEWS
from tests.proof.test_schema import policy_for

SCHEMA = (
    VIEWS
    + """
CREATE VIEW my_emails AS SELECT email FROM users
  WHERE org_id = current_setting('app.tenant_id')::uuid;
CREATE VIEW my_emails2 AS SELECT email FROM my_emails;
CREATE VIEW my_emails3 AS SELECT e.email FROM my_emails2 e;
CREATE VIEW other_emails AS SELECT email FROM users
  WHERE org_id = current_setting('app.other')::uuid;
CREATE FUNCTION my_titles() RETURNS SETOF text LANGUAGE sql STABLE
  AS $$ SELECT title FROM tasks WHERE org_id = current_setting('app.tenant_id')::uuid $$;
CREATE FUNCTION my_titles2() RETURNS SETOF text LANGUAGE sql STABLE
  AS $$ SELECT * FROM my_titles() $$;
CREATE FUNCTION my_count() RETURNS bigint LANGUAGE sql STABLE
  AS $$ SELECT count(*) FROM tasks WHERE org_id = current_setting('app.tenant_id')::uuid $$;
CREATE FUNCTION my_count2() RETURNS bigint LANGUAGE sql STABLE
  AS $$ SELECT my_count() $$;
"""
)
A = "aaaaaaaa-0000-0000-0000-00000000000a"
B = "bbbbbbbb-0000-0000-0000-00000000000b"
TWO_SETTINGS = ("current_setting('app.tenant_id')", "current_setting('app.other')")

# shape: (sql, both tenants' rows as the server returns them)
TWO_TENANTS = {
    "a view of a view": (
        "SELECT email FROM my_emails2 UNION ALL SELECT email FROM users WHERE org_id = $1",
        ["mine", "theirs"],
    ),
    "a view of a view of a view": (
        "SELECT email FROM my_emails3 UNION ALL SELECT email FROM users WHERE org_id = $1",
        ["mine", "theirs"],
    ),
    "a function calling one": (
        "SELECT * FROM my_titles2() UNION ALL SELECT title FROM tasks WHERE org_id = $1",
        ["my task", "their task"],
    ),
    "a call of a function calling one": (
        "SELECT title || my_count2() FROM tasks WHERE org_id = $1",
        ["their task1"],
    ),
    "ROWS FROM": (
        "SELECT x FROM ROWS FROM (my_titles()) x UNION ALL SELECT title FROM tasks"
        " WHERE org_id = $1",
        ["my task", "their task"],
    ),
}
ONE_TENANT = [
    "SELECT email FROM my_emails2",
    "SELECT email FROM my_emails3 UNION ALL SELECT email FROM my_emails",
    "SELECT * FROM my_titles2()",
    "SELECT my_count2()",
    "SELECT x FROM ROWS FROM (my_titles()) x",
    "SELECT email FROM my_emails2 UNION ALL SELECT email FROM users"
    " WHERE org_id = current_setting('app.tenant_id')::uuid",
]
# several tenant expressions: the two settings hold two tenants
TWO_SETTINGS_READ = "SELECT email FROM other_emails UNION ALL SELECT email FROM my_emails"
ONE_SETTING_READ_TWICE = "SELECT email FROM my_emails UNION ALL SELECT e.email FROM my_emails e"


@pytest.fixture
async def setting(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, SCHEMA + VIEW_DATA) as dsn:
        yield dsn


async def test_nested_and_rows_from_reads_beside_a_parameter_return_two_tenants(
    setting: str,
) -> None:
    conn = await asyncpg.connect(setting)
    try:
        await conn.execute(f"SET app.tenant_id = '{A}'; SET app.other = '{B}'")
        for shape, (sql, both) in TWO_TENANTS.items():
            assert sorted(r[0] for r in await conn.fetch(sql, B)) == both, shape
        for sql in ONE_TENANT[:5]:
            rows = [r[0] for r in await conn.fetch(sql)]
            assert rows and not {"theirs", "their task"} & set(rows), sql
        rows = sorted(r[0] for r in await conn.fetch(TWO_SETTINGS_READ))
        assert rows == ["mine", "theirs"]
        assert [r[0] for r in await conn.fetch(ONE_SETTING_READ_TWICE)] == ["mine", "mine"]
    finally:
        await conn.close()


def _codes(sql: str, policy: object) -> list[str]:
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


def test_nested_and_rows_from_reads_are_pins_to_the_tenant_expression(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org_id")
    assert {"my_emails2", "my_emails3", "my_titles2", "my_count2"} <= policy.setting_pinned  # type: ignore[attr-defined]
    for shape, (sql, _) in TWO_TENANTS.items():
        assert _codes(sql, policy) == ["TG012"], shape
    for sql in ONE_TENANT:
        assert _codes(sql, policy) == [], sql


def test_relations_pinned_by_one_of_several_settings_are_two_tenants(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org_id", tenant_expressions=TWO_SETTINGS)
    assert _codes(TWO_SETTINGS_READ, policy) == ["TG012"]
    assert _codes(ONE_SETTING_READ_TWICE, policy) == []


# ---------------------------------------------------------------- 4. a domain that is not exact
# A tenant column of a domain over char(n) (or another type that is not exact) was a type not
# known to the chain check (only the exact domains were kept), so `x.org_id = a.org_id` with `a`
# pinned chained the pin: text = bpchar compares without trailing blanks, and 'acme ''s rows came
# back for 'acme'. The plain char(8) column was refused already. Twins: a domain over text
# chains, as the same domain on both sides does.
DOMAINS = """
CREATE DOMAIN d_char AS char(8);
CREATE DOMAIN d_text AS text;
CREATE TABLE a (id int PRIMARY KEY, org_id text NOT NULL, v text);
CREATE TABLE b_char (id int, org_id char(8) NOT NULL, v text);
CREATE TABLE b_dchar (id int, org_id d_char NOT NULL, v text);
CREATE TABLE b_dtext (id int, org_id d_text NOT NULL, v text);
"""
DOMAIN_DATA = """
INSERT INTO a VALUES (1, 'acme', 'mine'), (3, 'acme ', 'theirs');
INSERT INTO b_char VALUES (1, 'acme', 'mine'), (3, 'acme ', 'theirs');
INSERT INTO b_dchar VALUES (1, 'acme', 'mine'), (3, 'acme ', 'theirs');
INSERT INTO b_dtext VALUES (1, 'acme', 'mine'), (3, 'acme ', 'theirs');
"""
CHAINED = "SELECT x.v FROM a JOIN {} x ON x.org_id = a.org_id WHERE a.org_id = $1"
LOOSE = {"b_char": ["mine", "theirs"], "b_dchar": ["mine", "theirs"]}
EXACT = {"b_dtext": ["mine"]}


@pytest.fixture
async def domains(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, DOMAINS + DOMAIN_DATA) as dsn:
        yield dsn


async def test_a_join_on_a_char_domain_returns_the_other_tenants_rows(domains: str) -> None:
    conn = await asyncpg.connect(domains)
    try:
        for table, rows in {**LOOSE, **EXACT}.items():
            sql = CHAINED.format(table)
            assert sorted(r[0] for r in await conn.fetch(sql, "acme")) == rows, table
    finally:
        await conn.close()


def test_a_join_on_a_domain_that_is_not_exact_chains_no_pin(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, DOMAINS, tenant_column="org_id")
    for table in LOOSE:
        assert _codes(CHAINED.format(table), policy) == ["TG001"], table
    for table in EXACT:
        assert _codes(CHAINED.format(table), policy) == [], table


# Found by h32i, fixed by h33h: a char(n) tenant column (or a domain over one) pads, so `org_id =
# $1` with 'acme' reads the rows written for tenant 'acme ' (stored alike: the server test above
# shows both rows of b_char and b_dchar for 'acme'); the direct pin is no pin (TG001).
def test_a_pin_on_a_char_tenant_column_is_no_pin(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, DOMAINS, tenant_column="org_id")
    for table in LOOSE:
        assert _codes(f"SELECT v FROM {table} WHERE org_id = $1", policy) == ["TG001"], table


# ---------------------------------------------------------------- 5. a key of a lossy tenant part
# `CREATE UNIQUE INDEX ON items (code, lower(org_id))` (or `org_id COLLATE ci`, `left(org_id,
# 2)`, `org_id::varchar(2)`) was read as a key per tenant, as `(code, org_id)` is: its columns
# hold the tenant column. But 'acme' and 'ACME' are one key value: tenant 'acme''s INSERT of code
# 'X' fails on 'ACME''s row (the other tenant's code shows). Twin: `(org_id, code)` is per tenant.
KEYS = """
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE items_low (id int, org_id text NOT NULL, code text);
CREATE UNIQUE INDEX items_low_code ON items_low (code, lower(org_id));
CREATE TABLE items_coll (id int, org_id text NOT NULL, code text);
CREATE UNIQUE INDEX items_coll_code ON items_coll (code, org_id COLLATE ci);
CREATE TABLE items_ok (id int, org_id text NOT NULL, code text);
CREATE UNIQUE INDEX items_ok_code ON items_ok (org_id, code);
CREATE UNIQUE INDEX items_ok_low ON items_ok (lower(code), org_id);
"""
KEY_DATA = "".join(
    f"INSERT INTO {t} VALUES (1, 'ACME', 'X');\n" for t in ("items_low", "items_coll", "items_ok")
)
WRITE = "INSERT INTO {} (org_id, id, code) VALUES ($1, 6, 'X')"


@pytest.fixture
async def keys(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, KEYS + KEY_DATA) as dsn:
        yield dsn


async def test_a_key_of_a_lossy_tenant_part_fails_on_the_other_tenants_row(keys: str) -> None:
    conn = await asyncpg.connect(keys)
    try:
        for table in ("items_low", "items_coll"):
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute(WRITE.format(table), "acme")
        await conn.execute(WRITE.format("items_ok"), "acme")
    finally:
        await conn.close()


def test_a_key_of_a_lossy_tenant_part_spans_tenants(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, KEYS, tenant_column="org_id")
    for table in ("items_low", "items_coll"):
        assert _codes(WRITE.format(table), policy) == ["TG013"], table
    assert _codes(WRITE.format("items_ok"), policy) == []


# ---------------------------------------------------------------- found, not fixed (false alarms)
# Of two tenant expressions, a view pinned by the first read beside the first written out is one
# tenant (server: 'mine' twice), but which setting pins the view is not kept: TG012.
def test_a_view_pinned_by_one_of_two_settings_beside_the_same_setting(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org_id", tenant_expressions=TWO_SETTINGS)
    sql = (
        "SELECT email FROM my_emails UNION ALL SELECT email FROM users"
        " WHERE org_id = current_setting('app.tenant_id')::uuid"
    )
    assert _codes(sql, policy) == []


# A function pinned by a parameter whose default is the tenant setting, called without it, reads
# the request's tenant only (server: 'my task'), yet is TG001.
DEFAULTED = (
    VIEWS
    + """
CREATE FUNCTION def_titles(t uuid DEFAULT current_setting('app.tenant_id')::uuid)
  RETURNS SETOF text LANGUAGE sql STABLE AS $$ SELECT title FROM tasks WHERE org_id = t $$;
"""
)


def test_a_function_called_with_the_setting_as_default_is_pinned(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, DEFAULTED, tenant_column="org_id")
    assert _codes("SELECT * FROM def_titles()", policy) == []


# `x.org_id COLLATE "C" = y.org_id` with x.org_id of a nondeterministic collation compares
# exactly (server: 'mine' only), yet chains no pin.
def test_an_explicit_deterministic_collation_chains_a_pin(tmp_path: Path) -> None:
    ddl = (
        "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);"
        "\nCREATE TABLE t_txt (id int, org_id text NOT NULL, v text);"
        "\nCREATE TABLE t_ci (id int, org_id text COLLATE ci NOT NULL, v text);\n"
    )
    policy = policy_for(tmp_path, ddl, tenant_column="org_id")
    sql = (
        'SELECT x.v FROM t_txt y JOIN t_ci x ON x.org_id = y.org_id COLLATE "C"'
        " WHERE y.org_id = $1::text"
    )
    assert _codes(sql, policy) == []


# ---------------------------------------------------------------- 6. a function that sets it
# `CREATE FUNCTION b_titles() … SET app.tenant_id = 'B…' AS $$ … WHERE org_id =
# current_setting('app.tenant_id')::uuid $$` (or `ALTER FUNCTION … SET`) runs its body under
# tenant B's value whoever calls it: `SELECT * FROM b_titles()` in tenant A's session returned
# B's rows, and passed (read as pinned inside by the request's setting). A function that sets a
# custom setting is now read as a body that cannot be read. Twin: `SET search_path` keeps it.
FIXED = (
    VIEWS
    + f"""
CREATE FUNCTION b_titles() RETURNS SETOF text LANGUAGE sql STABLE SET app.tenant_id = '{B}'
  AS $$ SELECT title FROM tasks WHERE org_id = current_setting('app.tenant_id')::uuid $$;
CREATE FUNCTION b_later() RETURNS SETOF text LANGUAGE sql STABLE
  AS $$ SELECT title FROM tasks WHERE org_id = current_setting('app.tenant_id')::uuid $$;
ALTER FUNCTION b_later() SET app.tenant_id = '{B}';
CREATE FUNCTION a_path() RETURNS SETOF text LANGUAGE sql STABLE SET search_path = public
  AS $$ SELECT title FROM tasks WHERE org_id = current_setting('app.tenant_id')::uuid $$;
"""
)


@pytest.fixture
async def fixed(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, FIXED + VIEW_DATA) as dsn:
        yield dsn


async def test_a_function_setting_the_tenant_returns_that_tenants_rows(fixed: str) -> None:
    conn = await asyncpg.connect(fixed)
    try:
        await conn.execute(f"SET app.tenant_id = '{A}'")
        for function in ("b_titles", "b_later"):
            assert [r[0] for r in await conn.fetch(f"SELECT * FROM {function}()")] == ["their task"]
        assert [r[0] for r in await conn.fetch("SELECT * FROM a_path()")] == ["my task"]
    finally:
        await conn.close()


def test_a_function_setting_the_tenant_is_not_pinned_by_it(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, FIXED, tenant_column="org_id")
    for function in ("b_titles", "b_later"):
        assert _codes(f"SELECT * FROM {function}()", policy) == ["TG001"], function
    assert _codes("SELECT * FROM a_path()", policy) == []
