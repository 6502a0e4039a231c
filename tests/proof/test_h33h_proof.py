"""Round 33, helper h: the static tenant proof's open items (issue 10), each decided on a real
PostgreSQL 15 by the rows that come back, then attacked with other spellings.

1. A tenant column that stores two tenants' ids alike: char(n) (`bpchar`, `character(8)`, a
   domain over one, a domain over that domain, an array of one) pads, and its `=` ignores
   trailing blanks: tenant 'acme''s `org_id = $1` reads the rows written for tenant 'acme '.
   `"char"` keeps one byte ('ab' and 'ac' are one value), `name` 63. Its own pin was taken as
   exact; now no equality pins such a table (TG001). Twins: text, varchar(8), a domain over text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.config import Settings, build_policy
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import fresh_database
from tests.proof.test_h32a_proof import VIEW_DATA, VIEWS
from tests.proof.test_schema import policy_for
from tests.runtime.test_h32i_attack import SCHEMA as ATTACK_SCHEMA
from tests.runtime.test_h32i_attack import TWO_SETTINGS


def _codes(sql: str, policy: object) -> list[str]:
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


# ---------------------------------------------------------------- 1. a tenant column that pads
PADDED = """
CREATE DOMAIN d_char AS char(8);
CREATE DOMAIN d_char2 AS d_char;
CREATE DOMAIN d_text AS text;
CREATE TABLE p_bpchar (id int, org_id bpchar NOT NULL, v text);
CREATE TABLE p_character (id int, org_id character(8) NOT NULL, v text);
CREATE TABLE p_char1 (id int, org_id char NOT NULL, v text);
CREATE TABLE p_dchar2 (id int, org_id d_char2 NOT NULL, v text);
CREATE TABLE p_arr (id int, org_id char(8)[] NOT NULL, v text);
CREATE TABLE "P Quoted" (id int, org_id pg_catalog.bpchar(8) NOT NULL, v text);
CREATE TABLE p_byte (id int, org_id "char" NOT NULL, v text);
CREATE TABLE p_name (id int, org_id name NOT NULL, v text);
CREATE TABLE s_text (id int, org_id text NOT NULL, v text);
CREATE TABLE s_varchar (id int, org_id varchar(8) NOT NULL, v text);
CREATE TABLE s_dtext (id int, org_id d_text NOT NULL, v text);
"""
LONG = "x" * 63
# table -> (the tenant that asks, the other tenant whose row it must not read)
PADDED_TENANTS = {
    "p_bpchar": ("a", "a  "),
    "p_character": ("acme", "acme "),
    "p_char1": ("a", "a "),
    "p_dchar2": ("acme", "acme   "),
    '"P Quoted"': ("acme", "acme "),
    "p_byte": ("ab", "ac"),
    "p_name": (LONG + "a", LONG + "b"),
}
SAFE_TENANTS = {t: ("acme", "acme ") for t in ("s_text", "s_varchar", "s_dtext")}
PADDED_READ = "SELECT v FROM {} WHERE org_id = $1"
ARRAY_READ = "SELECT v FROM p_arr WHERE org_id = $1::char(8)[]"


def _padded_data() -> str:
    rows = []
    for table, (mine, theirs) in {**PADDED_TENANTS, **SAFE_TENANTS}.items():
        rows.append(f"INSERT INTO {table} VALUES (1, '{mine}', 'mine'), (2, '{theirs}', 'theirs');")
    rows.append("INSERT INTO p_arr VALUES (1, '{acme}', 'mine'), (2, '{\"acme \"}', 'theirs');")
    return "\n".join(rows)


@pytest.fixture
async def padded(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, PADDED + _padded_data()) as dsn:
        yield dsn


async def test_a_padded_tenant_column_returns_the_other_tenants_rows(padded: str) -> None:
    conn = await asyncpg.connect(padded)
    try:
        for table, (mine, _) in PADDED_TENANTS.items():  # a literal: typed as the column
            literal = PADDED_READ.format(table).replace("$1", f"'{mine}'")
            assert sorted(r[0] for r in await conn.fetch(literal)) == ["mine", "theirs"], table
            if table not in ("p_byte", "p_name"):  # binary input: bytes, or refused
                rows = sorted(r[0] for r in await conn.fetch(PADDED_READ.format(table), mine))
                assert rows == ["mine", "theirs"], table
        rows = sorted(r[0] for r in await conn.fetch(ARRAY_READ, ["acme"]))
        assert rows == ["mine", "theirs"]
        for table, (mine, _) in SAFE_TENANTS.items():
            rows = [r[0] for r in await conn.fetch(PADDED_READ.format(table), mine)]
            assert rows == ["mine"], table
    finally:
        await conn.close()


def test_a_padded_tenant_column_is_pinned_by_no_equality(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, PADDED, tenant_column="org_id")
    for table in PADDED_TENANTS:
        assert _codes(PADDED_READ.format(table), policy) == ["TG001"], table
        assert _codes(PADDED_READ.format(table) + " AND org_id = $1", policy) == ["TG001"]
    assert _codes(ARRAY_READ, policy) == ["TG001"]
    assert _codes("SELECT v FROM public.p_character WHERE org_id = $1", policy) == ["TG001"]
    for table in SAFE_TENANTS:
        assert _codes(PADDED_READ.format(table), policy) == [], table


# ---------------------------------------------------------------- 2. a parameter's default
# `def_titles(t uuid DEFAULT current_setting('app.tenant_id')::uuid)`, pinned inside by `t`,
# called without it reads the request's tenant only (h32i's xfail): the default is evaluated in
# the caller's statement. Now a left-out argument whose default is a tenant expression pins like
# that expression. Twins: a literal default is a fixed tenant, another setting's no pin, a
# statement that sets the setting first unpins it, and beside `org_id = $1` it is two tenants.
A = "aaaaaaaa-0000-0000-0000-00000000000a"
B = "bbbbbbbb-0000-0000-0000-00000000000b"
DEFAULTS = (
    VIEWS
    + f"""
CREATE FUNCTION def_titles(t uuid DEFAULT current_setting('app.tenant_id')::uuid)
  RETURNS SETOF text LANGUAGE sql STABLE AS $$ SELECT title FROM tasks WHERE org_id = t $$;
CREATE FUNCTION "Def Two"(x int, t2 uuid = pg_catalog.current_setting('app.tenant_id')::uuid)
  RETURNS SETOF text LANGUAGE sql STABLE AS $$ SELECT title FROM tasks WHERE org_id = t2 $$;
CREATE FUNCTION def_fixed(t uuid DEFAULT '{B}')
  RETURNS SETOF text LANGUAGE sql STABLE AS $$ SELECT title FROM tasks WHERE org_id = t $$;
CREATE FUNCTION def_other(t uuid DEFAULT current_setting('app.other')::uuid)
  RETURNS SETOF text LANGUAGE sql STABLE AS $$ SELECT title FROM tasks WHERE org_id = t $$;
CREATE FUNCTION def_count(t uuid DEFAULT current_setting('app.tenant_id')::uuid)
  RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM tasks WHERE org_id = t $$;
CREATE VIEW def_view AS SELECT * FROM def_titles() AS d(title);
"""
)
# shape -> (sql, its arguments, the rows the server returns with app.tenant_id = A, other = B)
ONE_TENANT = {
    "left out": ("SELECT * FROM def_titles()", (), ["my task"]),
    "quoted, second left out": ('SELECT * FROM "Def Two"(1)', (), ["my task"]),
    "given by name": ("SELECT * FROM def_titles(t => $1)", (B,), ["their task"]),
    "given by position": ("SELECT * FROM def_titles($1)", (B,), ["their task"]),
    "a call outside FROM": ("SELECT def_count()", (), [1]),
    "a view of the call": ("SELECT title FROM def_view", (), ["my task"]),
    "twice": ("SELECT * FROM def_titles() UNION ALL SELECT * FROM def_titles()", (), None),
}
OTHER_TENANT = {
    "a literal default": ("SELECT * FROM def_fixed()", (), ["their task"], ["TG001"]),
    "another setting": ("SELECT * FROM def_other()", (), ["their task"], ["TG001"]),
    "beside a parameter": (
        "SELECT * FROM def_titles() UNION ALL SELECT title FROM tasks WHERE org_id = $1",
        (B,),
        ["my task", "their task"],
        ["TG012"],
    ),
    "the setting set first": (
        f"SELECT t.* FROM (SELECT set_config('app.tenant_id', '{B}', true)) s, def_titles() t",
        (),
        None,
        ["TG001"],
    ),
}


@pytest.fixture
async def defaulted(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, DEFAULTS + VIEW_DATA) as dsn:
        yield dsn


async def test_a_left_out_argument_takes_the_callers_setting(defaulted: str) -> None:
    conn = await asyncpg.connect(defaulted)
    try:
        await conn.execute(f"SET app.tenant_id = '{A}'; SET app.other = '{B}'")
        for shape, (sql, args, rows) in ONE_TENANT.items():
            found = sorted(r[0] for r in await conn.fetch(sql, *args))
            assert rows is None or found == rows, shape
        for shape, (sql, args, rows, _) in OTHER_TENANT.items():
            if rows is not None:
                assert sorted(r[0] for r in await conn.fetch(sql, *args)) == rows, shape
    finally:
        await conn.close()


def test_a_tenant_expression_default_pins_a_left_out_argument(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, DEFAULTS, tenant_column="org_id")
    for shape, (sql, _, _) in ONE_TENANT.items():
        assert _codes(sql, policy) == [], shape
    for shape, (sql, _, _, codes) in OTHER_TENANT.items():
        assert _codes(sql, policy) == codes, shape


# ---------------------------------------------------------------- 3. which setting pins a view
# Of two tenant expressions (`app.tenant_id`, `app.other`), a read of a view pinned inside by
# one of them was a pin to "an unknown one", equal to no other: `SELECT email FROM my_emails
# UNION ALL SELECT email FROM users WHERE org_id = current_setting('app.tenant_id')::uuid` is one
# tenant on the server, yet TG012 (h32i's xfail). A relation every query of which pins one and
# the same expression (and nothing else) is now pinned to that one (Policy.setting_indices),
# through views of views and functions calling functions. Twins: beside the other setting it
# stays TG012, and a view pinned by both settings is no setting-pinned relation at all.
SETTINGS = (
    ATTACK_SCHEMA
    + """
CREATE VIEW other_emails2 AS SELECT o.email FROM other_emails o;
CREATE VIEW "Both Emails" AS SELECT email FROM users
  WHERE org_id = current_setting('app.tenant_id')::uuid
  UNION ALL SELECT email FROM users WHERE org_id = current_setting('app.other')::uuid;
"""
)
BY_FIRST = "SELECT email FROM users WHERE org_id = current_setting('app.tenant_id')::uuid"
BY_SECOND = "SELECT email FROM users WHERE org_id = current_setting('app.other')::uuid"
# sql -> (the rows with app.tenant_id = A and app.other = B, the codes)
SETTING_READS = {
    f"SELECT email FROM my_emails2 UNION ALL {BY_FIRST}": (["mine", "mine"], []),
    f"SELECT e.email FROM public.my_emails3 e UNION ALL {BY_FIRST}": (["mine", "mine"], []),
    f"SELECT email FROM other_emails2 UNION ALL {BY_SECOND}": (["theirs", "theirs"], []),
    "SELECT * FROM my_titles2() UNION ALL SELECT title FROM tasks"
    " WHERE org_id = current_setting('app.tenant_id')::uuid": (["my task", "my task"], []),
    "SELECT title || my_count2() FROM tasks"
    " WHERE org_id = current_setting('app.tenant_id')::uuid": (["my task1"], []),
    f"SELECT email FROM other_emails2 UNION ALL {BY_FIRST}": (["mine", "theirs"], ["TG012"]),
    f"SELECT email FROM my_emails3 UNION ALL {BY_SECOND}": (["mine", "theirs"], ["TG012"]),
    "SELECT email FROM my_emails2 UNION ALL SELECT email FROM other_emails": (
        ["mine", "theirs"],
        ["TG012"],
    ),
}


@pytest.fixture
async def settings(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, SETTINGS + VIEW_DATA) as dsn:
        yield dsn


async def test_views_pinned_by_one_of_two_settings_on_the_server(settings: str) -> None:
    conn = await asyncpg.connect(settings)
    try:
        await conn.execute(f"SET app.tenant_id = '{A}'; SET app.other = '{B}'")
        for sql, (rows, _) in SETTING_READS.items():
            assert sorted(str(r[0]) for r in await conn.fetch(sql)) == rows, sql
        both = sorted(r[0] for r in await conn.fetch('SELECT email FROM "Both Emails"'))
        assert both == ["mine", "theirs"]
    finally:
        await conn.close()


def test_a_view_is_pinned_to_the_setting_its_queries_pin(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SETTINGS, tenant_column="org_id", tenant_expressions=TWO_SETTINGS)
    for sql, (_, codes) in SETTING_READS.items():
        assert _codes(sql, policy) == codes, sql
    assert "Both Emails" not in policy.setting_indices  # type: ignore[attr-defined]
    assert _codes('SELECT email FROM "Both Emails"', policy) != []


# ---------------------------------------------------------------- 4. a global name in two schemas
# `global_tables = ["a.notes"]` with `a.notes` (no tenant column) and `b.notes` (a tenant table)
# in the schema sources: the proof knows a table by its name only, so `b.notes` was global too,
# and `SELECT body FROM b.notes` (every tenant's rows on the server) passed, as did an
# unqualified `notes` that the search path resolves to `b.notes`. Such a qualified global name
# now leaves the table a tenant table, with a warning. Twins: a qualified global table whose name
# no other schema creates stays global; an unqualified global name makes every one global (the
# user's choice, warned of already when it has a NOT NULL tenant column).
TWO_SCHEMAS = """
CREATE SCHEMA a;
CREATE SCHEMA "B";
CREATE TABLE a.notes (id int, body text);
CREATE TABLE "B".notes (id int, org_id uuid NOT NULL, body text);
CREATE TABLE a."Lone" (id int, body text);
"""
TWO_SCHEMAS_DATA = f"""
INSERT INTO a.notes VALUES (1, 'shared');
INSERT INTO "B".notes VALUES (1, '{A}', 'mine'), (2, '{B}', 'theirs');
INSERT INTO a."Lone" VALUES (1, 'lone');
"""
B_READS = ['SELECT body FROM "B".notes', "SELECT body FROM notes"]


@pytest.fixture
async def two_schemas(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, TWO_SCHEMAS + TWO_SCHEMAS_DATA) as dsn:
        yield dsn


async def test_a_name_in_two_schemas_returns_every_tenants_rows(two_schemas: str) -> None:
    conn = await asyncpg.connect(two_schemas)
    try:
        await conn.execute('SET search_path = "B", a')
        for sql in B_READS:
            assert sorted(r[0] for r in await conn.fetch(sql)) == ["mine", "theirs"], sql
        await conn.execute('SET search_path = a, "B"')
        assert [r[0] for r in await conn.fetch("SELECT body FROM notes")] == ["shared"]
    finally:
        await conn.close()


@pytest.mark.parametrize("name", ["a.notes", '"a".notes', 'a."notes"', "A.NOTES"])
def test_a_qualified_global_name_does_not_cover_another_schemas_tenant_table(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "0001.sql").write_text(TWO_SCHEMAS, encoding="utf-8")
    settings = Settings(
        root=tmp_path,
        schema_paths=("patches",),
        tenant_column="org_id",
        global_tables=(name, 'a."Lone"'),
    )
    warnings: list[str] = []
    policy = build_policy(settings, warnings)
    for sql in B_READS:
        assert _codes(sql, policy) == ["TG001"], (name, sql)
    assert _codes('SELECT body FROM "B".notes WHERE org_id = $1', policy) == []
    assert _codes('SELECT body FROM a."Lone"', policy) == []
    assert any("also created in schema B" in w for w in warnings), warnings


def test_an_unqualified_global_name_covers_every_schema(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, TWO_SCHEMAS, tenant_column="org_id", global_tables=("notes",))
    assert _codes("SELECT body FROM a.notes", policy) == []


# the padded type reached by other DDL: ALTER … TYPE (to char(n), to a domain over it, and
# back to text), LIKE, INHERITS, a partition, CREATE TABLE AS
PADDED_DDL = """
CREATE DOMAIN dc AS char(8);
CREATE TABLE t_alt (id int, org_id text NOT NULL, v text);
ALTER TABLE t_alt ALTER COLUMN org_id TYPE char(8);
CREATE TABLE t_base (id int, org_id char(8) NOT NULL, v text);
CREATE TABLE t_like (LIKE t_base);
CREATE TABLE t_inh (extra int) INHERITS (t_base);
CREATE TABLE t_part (id int, org_id character(8) NOT NULL, v text) PARTITION BY LIST (org_id);
CREATE TABLE t_part_a PARTITION OF t_part FOR VALUES IN ('a');
CREATE TABLE t_as AS SELECT * FROM t_base;
CREATE TABLE t_dom (id int, org_id text NOT NULL, v text);
ALTER TABLE t_dom ALTER COLUMN org_id TYPE dc;
CREATE TABLE t_back (id int, org_id char(8) NOT NULL, v text);
ALTER TABLE t_back ALTER COLUMN org_id TYPE text;
"""


def test_a_padded_tenant_column_made_by_other_ddl(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, PADDED_DDL, tenant_column="org_id")
    for table in ("t_alt", "t_base", "t_like", "t_inh", "t_part", "t_part_a", "t_as", "t_dom"):
        assert _codes(PADDED_READ.format(table), policy) == ["TG001"], table
    assert _codes(PADDED_READ.format("t_back"), policy) == []


# ---------------------------------------------------------------- 5. an explicit COLLATE "C"
# A tenant column of a nondeterministic collation (`org_id text COLLATE ci`: 'mine' = 'MINE') is
# pinned by no plain equality. But `x.org_id = y.org_id COLLATE "C"` (or `= $1 COLLATE "C"`)
# compares under the explicit collation, exactly (server: 'mine' only), and was no pin (h32i's
# xfail). Now an equality with an explicit deterministic COLLATE on either side pins such a table
# (text or varchar loose by its collation only: Policy.collated_tables) and chains from or to it;
# nothing else chains from it: its column keeps its implicit collation, which wins over the
# default one, so `y.org_id = x.org_id` (a join, USING, IN, a scalar subquery, a derived table
# or CTE passing it on) matches 'MINE' to 'mine' (server: the other tenant's row). A domain with
# the collation stays unpinnable (a false alarm kept: the domain's type is not told apart here).
COLLATED = """
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE DOMAIN dci AS text COLLATE ci;
CREATE TABLE t_txt (id int, org_id text NOT NULL, v text);
CREATE TABLE t_ci (id int, org_id text COLLATE ci NOT NULL, v text);
CREATE TABLE "T Ci2" (id int, org_id varchar(20) COLLATE ci NOT NULL, v text);
CREATE TABLE t_dci (id int, org_id dci NOT NULL, v text);
CREATE TABLE t_alt (id int, org_id text NOT NULL, v text);
ALTER TABLE t_alt ALTER COLUMN org_id TYPE text COLLATE ci;
CREATE VIEW ci_view AS SELECT id, org_id, v FROM t_ci;
"""
COLLATED_DATA = """
INSERT INTO t_txt VALUES (1, 'mine', 'mine'), (2, 'MINE', 'theirs');
INSERT INTO t_ci VALUES (1, 'mine', 'mine'), (2, 'MINE', 'theirs');
INSERT INTO "T Ci2" VALUES (1, 'mine', 'mine'), (2, 'MINE', 'theirs');
INSERT INTO t_dci VALUES (1, 'mine', 'mine'), (2, 'MINE', 'theirs');
INSERT INTO t_alt VALUES (1, 'mine', 'mine'), (2, 'MINE', 'theirs');
"""
COLLATED_SAFE = [
    'SELECT x.v FROM t_txt y JOIN t_ci x ON x.org_id = y.org_id COLLATE "C" WHERE y.org_id = $1',
    'SELECT x.v FROM t_ci x WHERE x.org_id = $1 COLLATE "C"',
    'SELECT x.v FROM t_ci x WHERE x.org_id COLLATE "C" = $1',
    'SELECT x.v FROM t_ci x WHERE (x.org_id) = ($1::text COLLATE pg_catalog."POSIX")',
    'SELECT z.v FROM t_ci x JOIN "T Ci2" z ON z.org_id = x.org_id COLLATE "C"'
    ' WHERE x.org_id = $1 COLLATE "C"',
    'SELECT y.v FROM t_ci x JOIN t_txt y ON y.org_id = x.org_id COLLATE "default"'
    " WHERE x.org_id = $1 COLLATE ucs_basic",
    'WITH d AS (SELECT org_id, v FROM t_ci WHERE org_id = $1 COLLATE "C") SELECT v FROM d',
    'SELECT v FROM t_alt WHERE org_id = $1 COLLATE "C"',
]
COLLATED_LEAKS = [
    "SELECT x.v FROM t_ci x WHERE x.org_id = $1",
    "SELECT x.v FROM t_ci x WHERE x.org_id = $1 COLLATE ci",
    'SELECT y.v FROM t_ci x JOIN t_txt y ON y.org_id = x.org_id WHERE x.org_id = $1 COLLATE "C"',
    'SELECT y.v FROM t_txt y JOIN t_ci x USING (org_id) WHERE x.org_id = $1 COLLATE "C"',
    'SELECT y.v FROM (SELECT org_id FROM t_ci WHERE org_id = $1 COLLATE "C") d'
    " JOIN t_txt y ON y.org_id = d.org_id",
    "SELECT y.v FROM t_txt y WHERE y.org_id IN"
    ' (SELECT org_id FROM t_ci WHERE org_id = $1 COLLATE "C")',
    "SELECT y.v FROM t_txt y WHERE y.org_id ="
    ' (SELECT org_id FROM t_ci WHERE org_id = $1 COLLATE "C" LIMIT 1)',
    'WITH d AS (SELECT org_id FROM t_ci WHERE org_id = $1 COLLATE "C")'
    " SELECT y.v FROM t_txt y, d WHERE y.org_id = d.org_id",
    'SELECT z.v FROM t_ci x JOIN "T Ci2" z ON z.org_id = x.org_id WHERE x.org_id = $1 COLLATE "C"',
    "SELECT x.v FROM t_ci x WHERE x.org_id = $1 COLLATE \"C\" OR x.v = 'theirs'",
]
COLLATED_LEAKS += [  # a reader's pin pushed down compares under the column's collation
    "SELECT v FROM ci_view WHERE org_id = $1",
    "SELECT d.v FROM (SELECT * FROM t_ci) d WHERE d.org_id = $1",
    "WITH d AS (SELECT org_id, v FROM t_ci) SELECT v FROM d WHERE org_id = $1",
]
KEPT_ALARM = 'SELECT v FROM t_dci WHERE org_id = $1 COLLATE "C"'


@pytest.fixture
async def collated(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, COLLATED + COLLATED_DATA) as dsn:
        yield dsn


async def test_an_explicit_collate_compares_exactly_and_nothing_else_does(collated: str) -> None:
    conn = await asyncpg.connect(collated)
    try:
        for sql in [*COLLATED_SAFE, KEPT_ALARM]:
            assert {r[0] for r in await conn.fetch(sql, "mine")} == {"mine"}, sql
        for sql in COLLATED_LEAKS:
            assert "theirs" in {r[0] for r in await conn.fetch(sql, "mine")}, sql
    finally:
        await conn.close()


def test_an_explicit_collate_pins_a_collated_tenant_column(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, COLLATED, tenant_column="org_id")
    for sql in COLLATED_SAFE:
        assert _codes(sql, policy) == [], sql
    for sql in [*COLLATED_LEAKS, KEPT_ALARM]:
        assert _codes(sql, policy) == ["TG001"], sql


# ---------------------------------------------------------------- 6. a view that renames
# `CREATE VIEW v_swap (email, org_id) AS SELECT org_id, email FROM users` shows users.org_id as
# `email`: `SELECT org_id FROM v_swap WHERE email = $1` is one tenant's rows on the server, yet
# every read of it was TG001 (h32n): a view was pinned from outside by the tenant column's own
# name only. Such a view (one item of the tenant column, renamed by the column list or an alias,
# the wrapped query proven pinned by that name) is now pinned by that name
# (Policy.view_tenant_names); its column of the tenant column's name is another column (a pin
# on it, `USING (org_id)`, `NATURAL JOIN`, a `*` or item passing it on: no tenant column). Twins:
# `WHERE org_id = $1` reads another tenant's rows and stays TG001; views over it keep the
# (sound) unpinnable verdict; a column list on the read renames again (TG001).
RENAMING = """
CREATE TABLE users (id int, org_id uuid NOT NULL, email text);
CREATE VIEW v_swap (email, org_id) AS SELECT org_id, email FROM users;
CREATE VIEW v_alias AS SELECT org_id AS email, email AS org_id FROM users;
CREATE VIEW "V Q" (email, org_id) AS SELECT org_id, email FROM users;
CREATE VIEW v_over AS SELECT org_id, email FROM v_swap;
"""
RENAMING_DATA = f"""
INSERT INTO users VALUES (1, '{A}', 'mine'), (2, '{B}', 'theirs');
"""
# sql, its argument -> (rows on the server, codes)
RENAMED_READS = {
    ("SELECT org_id FROM v_swap WHERE email = $1", A): (["mine"], []),
    ("SELECT org_id FROM v_alias WHERE email = $1", A): (["mine"], []),
    ('SELECT q.org_id FROM "V Q" q WHERE q.email = $1', A): (["mine"], []),
    ("SELECT s.org_id FROM public.v_swap s WHERE s.email = $1", A): (["mine"], []),
    ("SELECT org_id FROM v_swap WHERE org_id = $1 OR email = email", "theirs"): (
        ["mine", "theirs"],
        ["TG001"],
    ),
    ("SELECT email::text FROM v_swap WHERE org_id = $1", "theirs"): ([B], ["TG001"]),
    ("SELECT org_id FROM v_alias WHERE org_id = $1", "theirs"): (["theirs"], ["TG001"]),
    ("SELECT org_id FROM v_over WHERE org_id = $1", "theirs"): (["theirs"], ["TG001"]),
    ("SELECT d.org_id FROM (SELECT * FROM v_swap) d WHERE d.org_id = $1", "theirs"): (
        ["theirs"],
        ["TG001"],
    ),
    ("SELECT s.b FROM v_swap s(a, b) WHERE s.b = $1", "theirs"): (["theirs"], ["TG001"]),
    ("SELECT u.org_id::text FROM users u JOIN v_swap s ON s.org_id = u.email"
     " WHERE s.org_id = $1", "theirs"): ([B], ["TG001", "TG001"]),
}  # fmt: skip
RENAMED_READS[("DELETE FROM v_swap WHERE email = $1 RETURNING org_id", A)] = (["mine"], [])


@pytest.fixture
async def renaming(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, RENAMING + RENAMING_DATA) as dsn:
        yield dsn


async def test_a_view_renaming_its_tenant_column_on_the_server(renaming: str) -> None:
    conn = await asyncpg.connect(renaming)
    try:
        async with conn.transaction():
            for (sql, argument), (rows, _) in RENAMED_READS.items():
                found = sorted(str(r[0]) for r in await conn.fetch(sql, argument))
                assert found == rows, sql
            raise asyncpg.exceptions.UniqueViolationError("roll back")  # undo the DELETE
    except asyncpg.exceptions.UniqueViolationError:
        pass
    finally:
        await conn.close()


def test_a_view_renaming_its_tenant_column_is_pinned_by_the_new_name(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, RENAMING, tenant_column="org_id")
    for (sql, _), (_, codes) in RENAMED_READS.items():
        assert _codes(sql, policy) == codes, sql
    assert _codes("UPDATE v_swap SET email = $2 WHERE email = $1", policy) == ["TG004"]
    assert _codes("INSERT INTO v_swap (email) VALUES (1)", policy) == ["TG002"]
    for sql in (
        "SELECT u.email FROM users u JOIN v_swap s USING (org_id) WHERE u.org_id = $1",
        "SELECT * FROM users u NATURAL JOIN v_swap s WHERE u.org_id = $1",
    ):
        assert _codes(sql, policy) == ["TG001"], sql
