"""Fix-attack round 8: schema DDL sequences after which PostgreSQL gives the tenant column of a
table another default than the reader kept. An INSERT that leaves the column out is pinned by the
tenant expression only where PostgreSQL writes the setting's tenant: each case runs its DDL on the
server, inserts as tenant 1 and asserts on the tenant the row got, then on the verdict.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement
from tests.proof.test_schema import policy_for

GOOD = "DEFAULT current_setting('app.tenant_id')::bigint"
ACCOUNTS = "CREATE TABLE accounts (id bigint PRIMARY KEY, name text);\n"
COLUMNS = "id bigint, account_id bigint REFERENCES accounts (id)"
INSERT = "INSERT INTO memos (body) VALUES ('x') RETURNING account_id"

CASES = {
    # class 1: ALTER TABLE parent … SET DEFAULT (no ONLY) sets it on every child too
    "inherits, parent set default": (
        f"CREATE TABLE base ({COLUMNS}, body text);"
        f"CREATE TABLE memos (account_id bigint {GOOD}) INHERITS (base);"
        "ALTER TABLE base ALTER COLUMN account_id SET DEFAULT 2;",
        2,
    ),
    "partition of, parent set default": (
        f"CREATE TABLE base ({COLUMNS}, body text) PARTITION BY LIST (body);"
        f"CREATE TABLE memos PARTITION OF base (account_id {GOOD}) FOR VALUES IN ('x');"
        "ALTER TABLE base ALTER COLUMN account_id SET DEFAULT 2;",
        2,
    ),
    "attach partition, parent set default": (
        f"CREATE TABLE base ({COLUMNS}, body text) PARTITION BY LIST (body);"
        f"CREATE TABLE memos (id bigint, account_id bigint REFERENCES accounts (id) {GOOD},"
        " body text);"
        "ALTER TABLE base ATTACH PARTITION memos FOR VALUES IN ('x');"
        "ALTER TABLE base ALTER COLUMN account_id SET DEFAULT 2;",
        2,
    ),
    "alter inherit, renamed parent set default": (
        f"CREATE TABLE base ({COLUMNS}, body text);"
        f"CREATE TABLE memos (id bigint, account_id bigint REFERENCES accounts (id) {GOOD},"
        " body text);"
        "ALTER TABLE memos INHERIT base; ALTER TABLE base RENAME TO base2;"
        "ALTER TABLE base2 ALTER COLUMN account_id SET DEFAULT 2;",
        2,
    ),
    "grandchild, parent set default": (
        f"CREATE TABLE base ({COLUMNS}, body text);"
        "CREATE TABLE middle () INHERITS (base);"
        f"CREATE TABLE memos (account_id bigint {GOOD}) INHERITS (middle);"
        "ALTER TABLE base ALTER COLUMN account_id SET DEFAULT 2;",
        2,
    ),
    "a child dropped, a new table of its name, parent set to the tenant expression": (
        f"CREATE TABLE base ({COLUMNS}, body text);"
        "CREATE TABLE memos () INHERITS (base); DROP TABLE memos;"
        f"CREATE TABLE memos ({COLUMNS} DEFAULT 2, body text);"
        f"ALTER TABLE base ALTER COLUMN account_id SET {GOOD};",
        2,
    ),
    "a parent dropped, a new parent of its name set to the tenant expression": (
        f"CREATE TABLE base ({COLUMNS}, body text);"
        "CREATE TABLE memos (account_id bigint DEFAULT 2) INHERITS (base);"
        "ALTER TABLE memos NO INHERIT base; DROP TABLE base;"
        f"CREATE TABLE base ({COLUMNS}, body text);"
        f"ALTER TABLE base ALTER COLUMN account_id SET {GOOD};",
        2,
    ),
    # ALTER TABLE IF EXISTS of a table that is not there sets no default on a later one
    "alter if exists of a missing table, then a rename to its name": (
        f"ALTER TABLE IF EXISTS memos ALTER COLUMN account_id SET {GOOD};"
        f"CREATE TABLE memos0 ({COLUMNS} DEFAULT 2, body text);"
        "ALTER TABLE memos0 RENAME TO memos;",
        2,
    ),
    "alter if exists of a missing table, then create table as": (
        f"ALTER TABLE IF EXISTS memos ALTER COLUMN account_id SET {GOOD};"
        "CREATE TABLE memos AS SELECT 1::bigint AS id, 2::bigint AS account_id, 'x' AS body;",
        None,  # a row of no tenant
    ),
    # safe twins: ONLY, a detached child, the parent set to the tenant expression
    "only parent set default": (
        f"CREATE TABLE base ({COLUMNS}, body text);"
        f"CREATE TABLE memos (account_id bigint {GOOD}) INHERITS (base);"
        "ALTER TABLE ONLY base ALTER COLUMN account_id SET DEFAULT 2;",
        1,
    ),
    "detached partition, parent set default": (
        f"CREATE TABLE base ({COLUMNS}, body text) PARTITION BY LIST (body);"
        f"CREATE TABLE memos PARTITION OF base (account_id {GOOD}) FOR VALUES IN ('x');"
        "ALTER TABLE base DETACH PARTITION memos;"
        "ALTER TABLE base ALTER COLUMN account_id SET DEFAULT 2;",
        1,
    ),
    "no inherit, parent set default": (
        f"CREATE TABLE base ({COLUMNS}, body text);"
        f"CREATE TABLE memos (account_id bigint {GOOD}) INHERITS (base);"
        "ALTER TABLE memos NO INHERIT base;"
        "ALTER TABLE base ALTER COLUMN account_id SET DEFAULT 2;",
        1,
    ),
    "inherits, parent set to the tenant expression": (
        f"CREATE TABLE base ({COLUMNS}, body text);"
        "CREATE TABLE memos (account_id bigint DEFAULT 2) INHERITS (base);"
        f"ALTER TABLE base ALTER COLUMN account_id SET {GOOD};",
        1,
    ),
    # class 2: CREATE TABLE IF NOT EXISTS over a table of that name does nothing
    "if not exists over a table defaulting to another tenant": (
        f"CREATE TABLE memos ({COLUMNS} DEFAULT 2, body text);"
        f"CREATE TABLE IF NOT EXISTS memos ({COLUMNS} {GOOD}, body text);",
        2,
    ),
    "if not exists over a table defaulting to the tenant expression": (
        f"CREATE TABLE memos ({COLUMNS} {GOOD}, body text);"
        f"CREATE TABLE IF NOT EXISTS memos ({COLUMNS}, body text);",
        1,
    ),
    # class 5: ADD COLUMN IF NOT EXISTS of a column that is there does nothing
    "add column if not exists over a column defaulting to another tenant": (
        f"CREATE TABLE memos ({COLUMNS} DEFAULT 2, body text);"
        f"ALTER TABLE memos ADD COLUMN IF NOT EXISTS account_id bigint {GOOD};",
        2,
    ),
    "add column if not exists of a new column": (
        "CREATE TABLE memos (id bigint, body text);"
        "ALTER TABLE memos ADD COLUMN IF NOT EXISTS account_id bigint REFERENCES accounts (id)"
        " DEFAULT current_setting('app.tenant_id', true)::bigint;",
        1,
    ),
    # class 6: a view's default goes with the view (DROP VIEW, ALTER VIEW … RENAME)
    "a view dropped, a new view of its name": (
        f"CREATE TABLE good ({COLUMNS} {GOOD}, body text);"
        f"CREATE TABLE bad ({COLUMNS} DEFAULT 2, body text);"
        "CREATE VIEW memos AS SELECT * FROM good;"
        f"ALTER VIEW memos ALTER COLUMN account_id SET {GOOD};"
        "DROP VIEW memos; CREATE VIEW memos AS SELECT * FROM bad;",
        2,
    ),
    "a view renamed, a new view of its name": (
        f"CREATE TABLE good ({COLUMNS} {GOOD}, body text);"
        f"CREATE TABLE bad ({COLUMNS} DEFAULT 2, body text);"
        "CREATE VIEW memos AS SELECT * FROM good;"
        f"ALTER VIEW memos ALTER COLUMN account_id SET {GOOD};"
        "ALTER VIEW memos RENAME TO memos_old; CREATE VIEW memos AS SELECT * FROM bad;",
        2,
    ),
    "a view with the default, replaced (it keeps the default)": (
        f"CREATE TABLE bad ({COLUMNS} DEFAULT 2, body text);"
        "CREATE VIEW memos AS SELECT * FROM bad;"
        f"ALTER VIEW memos ALTER COLUMN account_id SET {GOOD};"
        "CREATE OR REPLACE VIEW memos AS SELECT * FROM bad WHERE body IS NOT NULL;",
        1,
    ),
    "a renamed view keeps its default": (
        f"CREATE TABLE bad ({COLUMNS} DEFAULT 2, body text);"
        "CREATE VIEW memos0 AS SELECT * FROM bad;"
        f"ALTER VIEW memos0 ALTER COLUMN account_id SET {GOOD};"
        "ALTER VIEW memos0 RENAME TO memos;",
        1,
    ),
    "a view of that name in another schema": (
        f"CREATE TABLE bad ({COLUMNS} DEFAULT 2, body text);"
        "CREATE SCHEMA a; CREATE VIEW a.memos AS SELECT * FROM bad;"
        f"ALTER VIEW a.memos ALTER COLUMN account_id SET {GOOD};"
        "CREATE VIEW memos AS SELECT * FROM bad;",
        2,
    ),
    # false alarms: a child, partition or LIKE … INCLUDING DEFAULTS copy takes the default
    "a partition of a defaulted parent": (
        f"CREATE TABLE base ({COLUMNS} {GOOD}, body text) PARTITION BY LIST (body);"
        "CREATE TABLE memos PARTITION OF base FOR VALUES IN ('x');",
        1,
    ),
    "a child of a defaulted parent": (
        f"CREATE TABLE base ({COLUMNS} {GOOD}, body text);CREATE TABLE memos () INHERITS (base);",
        1,
    ),
    "a child of a parent defaulting to another tenant": (
        f"CREATE TABLE base ({COLUMNS} DEFAULT 2, body text);"
        "CREATE TABLE memos () INHERITS (base);",
        2,
    ),
    "like including defaults": (
        f"CREATE TABLE base ({COLUMNS} {GOOD}, body text);"
        "CREATE TABLE memos (LIKE base INCLUDING DEFAULTS);",
        1,
    ),
    "like including all": (
        f"CREATE TABLE base ({COLUMNS} {GOOD}, body text);"
        "CREATE TABLE memos (LIKE base INCLUDING ALL);",
        1,
    ),
    "like without its defaults": (
        f"CREATE TABLE base ({COLUMNS} {GOOD}, body text);CREATE TABLE memos (LIKE base);",
        None,
    ),
    # class 3 (false alarm): a schema with a function (or a view) lost every default
    "a schema with a function": (
        f"CREATE TABLE memos ({COLUMNS} {GOOD}, body text);"
        "CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS $$ SELECT 42 $$;",
        1,
    ),
    "a schema with a view": (
        f"CREATE TABLE memos ({COLUMNS} {GOOD}, body text);"
        "CREATE VIEW bodies AS SELECT body FROM memos;",
        1,
    ),
}


@pytest.mark.parametrize(("ddl", "written"), CASES.values(), ids=CASES.keys())
async def test_a_default_is_read_as_postgresql_leaves_it(
    database: str, tmp_path: Path, ddl: str, written: int | None
) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(ACCOUNTS + "INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');")
        await conn.execute(ddl)
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', '1', true)")
            rows = await conn.fetch(INSERT)
    finally:
        await conn.close()
    assert [r["account_id"] for r in rows] == [written]  # what the server wrote, as tenant 1
    policy = policy_for(tmp_path, ACCOUNTS + ddl, tenant_column="account_id")
    assert isinstance(policy, Policy)
    codes = [f.code for f in analyze_statement(INSERT, policy).findings]
    assert codes == ([] if written == 1 else ["TG002"])


# class 4: a function (or view) of the schema that changes the tenant setting before the
# tenant expression is read: the INSERT … SELECT's default, or a read pinned by the expression
SETTERS = (
    ACCOUNTS
    + f"CREATE TABLE memos (id bigserial, account_id bigint REFERENCES accounts (id) {GOOD},"
    " body text);"
    "CREATE FUNCTION be(t text) RETURNS text LANGUAGE sql AS "
    "$$ SELECT set_config('app.tenant_id', t, true) $$;"
    "CREATE FUNCTION bp(t text) RETURNS text LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM set_config('app.tenant_id', t, true); RETURN t; END $$;"
    "CREATE FUNCTION bs() RETURNS text LANGUAGE sql AS "
    "$$ SET app.tenant_id = '2'; SELECT 'x' $$;"
    "CREATE FUNCTION caller(t text) RETURNS text LANGUAGE sql AS $$ SELECT be(t) $$;"
    "CREATE FUNCTION outer_caller(t text) RETURNS text LANGUAGE sql AS $$ SELECT caller(t) $$;"
    "CREATE VIEW bev AS SELECT set_config('app.tenant_id', '2', true) AS s;"
    "CREATE FUNCTION other(t text) RETURNS text LANGUAGE sql AS "
    "$$ SELECT set_config('app.other', t, true) $$;"
    "CREATE FUNCTION reader() RETURNS text LANGUAGE sql AS "
    "$$ SELECT current_setting('app.tenant_id') $$;"
)
PINNED = "m.account_id = current_setting('app.tenant_id')::bigint"
SETTER_CASES = {
    "sql function": ("INSERT INTO memos (body) SELECT be('2') RETURNING account_id", [2]),
    "plpgsql function": (
        "INSERT INTO memos (body) SELECT 'x' FROM bp('2') RETURNING account_id",
        [2],
    ),
    "sql function with SET": ("INSERT INTO memos (body) SELECT bs() RETURNING account_id", [2]),
    "a function calling one": (
        "INSERT INTO memos (body) SELECT caller('2') RETURNING account_id",
        [2],
    ),
    "two calls deep": (
        "INSERT INTO memos (body) SELECT outer_caller('2') RETURNING account_id",
        [2],
    ),
    "a view": ("INSERT INTO memos (body) SELECT s FROM bev RETURNING account_id", [2]),
    "a read pinned by the expression": (
        f"SELECT m.account_id FROM bp('2') x, memos m WHERE {PINNED}",
        [2],
    ),
    # safe twins: another setting, a function reading the setting
    "another setting": ("INSERT INTO memos (body) SELECT other('2') RETURNING account_id", [1]),
    "a function reading it": (
        "INSERT INTO memos (body) SELECT reader() RETURNING account_id",
        [1],
    ),
    "a read beside another setting": (
        f"SELECT m.account_id FROM other('2') x, memos m WHERE {PINNED}",
        [1],
    ),
}


@pytest.mark.parametrize(("sql", "tenants"), SETTER_CASES.values(), ids=SETTER_CASES.keys())
async def test_a_schema_function_that_sets_the_tenant_setting_unpins_the_expression(
    database: str, tmp_path: Path, sql: str, tenants: list[int]
) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SETTERS + "INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');")
        await conn.execute("INSERT INTO memos (account_id, body) VALUES (1, 'own'), (2, 'VICTIM')")
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', '1', true)")
            rows = await conn.fetch(sql)
    finally:
        await conn.close()
    assert [r["account_id"] for r in rows] == tenants  # as tenant 1, on the server
    policy = policy_for(tmp_path, SETTERS, tenant_column="account_id")
    assert isinstance(policy, Policy)
    assert "memos" in policy.tenant_defaults
    codes = [f.code for f in analyze_statement(sql, policy).findings]
    assert bool(codes) is (tenants != [1]), codes
