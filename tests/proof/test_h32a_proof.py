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
from tests.conftest import fresh_database
from tests.proof.test_schema import policy_for

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


# ---------------------------------------------------------------- 2. a view's aggregate or cast
# An output of a view that is not a bare column or constant was read as maybe of a lossy type
# under its name (`max(r)` of a real `r`), and the name marked lossy for every table: after
# `CREATE VIEW … AS SELECT max(id) AS id …`, `orgs.id = $1` pinned nothing (a parameter compared
# with an `id` might round), so the registry's pins and every composite key on `id` were lost
# (false alarms in every statement of the schema). A cast's output is of the cast's type; count()
# is a bigint; min() and max() keep their argument's type. Twin: a cast to real stays lossy.
VIEWS = """
CREATE TABLE orgs (id uuid PRIMARY KEY, name text);
CREATE TABLE users (id serial PRIMARY KEY, org_id uuid NOT NULL REFERENCES orgs (id),
  email text, score real, UNIQUE (org_id, id));
CREATE TABLE tasks (id serial PRIMARY KEY, org_id uuid NOT NULL REFERENCES orgs (id),
  assignee_id int, title text, FOREIGN KEY (org_id, assignee_id) REFERENCES users (org_id, id));
CREATE VIEW user_stats AS SELECT max(id) AS id, count(*) AS n, min(org_id::text)::uuid AS root
  FROM users GROUP BY email;
"""
VIEW_DATA = """
INSERT INTO orgs VALUES ('aaaaaaaa-0000-0000-0000-00000000000a', 'A'),
  ('bbbbbbbb-0000-0000-0000-00000000000b', 'B');
INSERT INTO users (id, org_id, email) VALUES (1, 'aaaaaaaa-0000-0000-0000-00000000000a', 'mine'),
  (2, 'bbbbbbbb-0000-0000-0000-00000000000b', 'theirs');
INSERT INTO tasks (org_id, assignee_id, title) VALUES ('aaaaaaaa-0000-0000-0000-00000000000a', 1,
  'my task'), ('bbbbbbbb-0000-0000-0000-00000000000b', 2, 'their task');
"""
ROOT_PINNED = {
    "the registry's key": (
        "SELECT u.email FROM orgs o JOIN users u ON u.org_id = o.id WHERE o.id = $1"
    ),
    "a composite key on id": (
        "SELECT t.title FROM users u JOIN tasks t ON t.assignee_id = u.id WHERE u.org_id = $1"
    ),
}
MINE = {"the registry's key": ["mine"], "a composite key on id": ["my task"]}


@pytest.fixture
async def viewed(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, VIEWS + VIEW_DATA) as dsn:
        yield dsn


async def test_pins_on_id_return_the_tenants_rows_only(viewed: str) -> None:
    conn = await asyncpg.connect(viewed)
    try:
        for shape, sql in ROOT_PINNED.items():
            rows = [r[0] for r in await conn.fetch(sql, "aaaaaaaa-0000-0000-0000-00000000000a")]
            assert rows == MINE[shape], shape
    finally:
        await conn.close()


def test_a_views_aggregate_or_cast_does_not_make_id_lossy(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, VIEWS, tenant_column="org_id")
    assert "id" not in policy.lossy_columns  # type: ignore[attr-defined]
    for shape, sql in ROOT_PINNED.items():
        assert sorted(f.code for f in analyze_statement(sql, policy).findings) == [], shape  # type: ignore[arg-type]
    lossy = (
        VIEWS + "CREATE VIEW scores AS SELECT score::real AS id, max(score) AS top FROM users;\n"
    )
    policy = policy_for(tmp_path, lossy, tenant_column="org_id")
    assert {"id", "top"} <= policy.lossy_columns  # type: ignore[attr-defined]


# ---------------------------------------------------------------- 3. one tenant per statement
# A view or function pinned inside by the tenant setting pins the statement to the tenant
# expression: beside `org_id = $1` that is two tenants (app.tenant_id = A, $1 = B: both
# tenants' rows), as `org_id = current_setting(…) AND … = $1` written out is (TG012). It was
# read as no tenant relation, and its pin went unseen.
SETTING = (
    VIEWS
    + """
CREATE VIEW my_users AS SELECT id, org_id, email FROM users
  WHERE org_id = current_setting('app.tenant_id')::uuid;
CREATE FUNCTION my_tasks() RETURNS SETOF tasks LANGUAGE sql STABLE
  AS $$ SELECT * FROM tasks WHERE org_id = current_setting('app.tenant_id')::uuid $$;
CREATE FUNCTION my_count() RETURNS bigint LANGUAGE sql STABLE
  AS $$ SELECT count(*) FROM tasks WHERE org_id = current_setting('app.tenant_id')::uuid $$;
"""
)
TWO_TENANTS = {
    "a view": "SELECT email FROM my_users UNION ALL SELECT email FROM users WHERE org_id = $1",
    "a function": "SELECT title FROM my_tasks() UNION ALL SELECT title FROM tasks WHERE org_id = $1",
    "a call in the select list": "SELECT title || my_count() FROM tasks WHERE org_id = $1",
}
ONE_TENANT = [
    "SELECT email FROM my_users",
    "SELECT my_count()",
    "SELECT title FROM my_tasks() t WHERE t.title <> $1",
    "SELECT email FROM my_users UNION ALL SELECT email FROM users"
    " WHERE org_id = current_setting('app.tenant_id')::uuid",
]


@pytest.fixture
async def setting(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, SETTING + VIEW_DATA) as dsn:
        yield dsn


async def test_a_relation_pinned_by_the_setting_beside_a_parameter_reads_two_tenants(
    setting: str,
) -> None:
    conn = await asyncpg.connect(setting)
    try:
        await conn.execute("SET app.tenant_id = 'aaaaaaaa-0000-0000-0000-00000000000a'")
        victim = "bbbbbbbb-0000-0000-0000-00000000000b"
        for shape, sql in TWO_TENANTS.items():
            rows = sorted(r[0] for r in await conn.fetch(sql, victim))
            # (the victim's title beside the request's count)
            assert rows in (["mine", "theirs"], ["my task", "their task"], ["their task1"]), shape
    finally:
        await conn.close()


def test_a_relation_pinned_by_the_setting_is_a_pin_to_the_tenant_expression(
    tmp_path: Path,
) -> None:
    policy = policy_for(tmp_path, SETTING, tenant_column="org_id")
    for shape, sql in TWO_TENANTS.items():
        codes = sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]
        assert codes == ["TG012"], shape
    for sql in ONE_TENANT:
        assert [f.code for f in analyze_statement(sql, policy).findings] == [], sql  # type: ignore[arg-type]
