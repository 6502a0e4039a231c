"""Round 13 (fp13): false alarms of the proof closed, each beside its unsafe twin, on PostgreSQL 15.

1. A cast to a domain over an exact type (`CREATE DOMAIN acct_id AS bigint`, a domain over such
   a domain, over text in the "C" collation) keeps `=` exact: `org = $1::acct_id` pins. A
   domain over real, varchar(3) or citext does not (its rows show another tenant's), nor a
   domain name in doubt (defined twice, in two schemas, renamed, moved, dropped, made by DDL
   the reader cannot read). `check` (the schema files) and `audit` (the catalog) agree.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.engine.policy import Policy
from tenantguard.sources.schema.reading import SchemaInfo, read_schema
from tests.audit.test_audit_parity import _agree, _policies
from tests.proof.test_attack11_proof import _codes, _fetch
from tests.proof.test_schema import policy_for

# ---------------------------------------------------------------- 1. casts to a domain
# tenant ids chosen so that a lossy type makes two of them meet: real has 24 bits (16777217 is
# read 16777216), varchar(3) cuts '1011' to '101'
OWN, FLOAT_TWIN, CUT_TWIN = 16777217, 16777216, 101
DOMAINS = """
CREATE EXTENSION IF NOT EXISTS citext;
CREATE DOMAIN acct_id AS bigint;
CREATE DOMAIN acct_ref AS acct_id NOT NULL CHECK (VALUE > 0);
CREATE DOMAIN acct_int AS int8;
CREATE DOMAIN acct_text AS text COLLATE "C";
CREATE DOMAIN acct_plain_text AS pg_catalog.text;
CREATE DOMAIN acct_real AS real;
CREATE DOMAIN acct_real_ref AS acct_real;
CREATE DOMAIN acct_code AS varchar(3);
CREATE DOMAIN acct_code_ref AS acct_code;
CREATE DOMAIN acct_ci AS citext;
CREATE DOMAIN acct_num AS numeric(20, 0);
CREATE TABLE tasks (id bigint PRIMARY KEY, org bigint NOT NULL, title text);
"""
DOMAIN_DATA = f"""
INSERT INTO tasks VALUES (1, {OWN}, 'own'), (2, {FLOAT_TWIN}, 'VICTIM float'),
    (3, {CUT_TWIN}, 'VICTIM cut'), (4, 1011, 'own 1011');
"""
# $1 is the tenant OWN (as text where the statement compares text): only its rows come back
DOMAIN_SAFE = [
    "SELECT title FROM tasks WHERE org = $1::acct_id",
    "SELECT title FROM tasks WHERE org = CAST($1 AS acct_ref)",
    "SELECT title FROM tasks WHERE org = $1::public.acct_id",
    "SELECT title FROM tasks WHERE org = $1::acct_int::bigint",
    "SELECT title FROM tasks WHERE org::text = $1::acct_text",
    "SELECT title FROM tasks WHERE org::text = $1::acct_plain_text",
    "SELECT title FROM tasks t WHERE t.org = $1::acct_ref AND t.title <> $2::acct_text",
]
# (statement, the tenant bound to $1): another tenant's rows come back
DOMAIN_LEAKS = [
    ("SELECT title FROM tasks WHERE org = $1::acct_real", OWN),
    ("SELECT title FROM tasks WHERE org = $1::acct_real_ref", OWN),
    # typed text by its first use, $1 is cut by the explicit cast ('1011' is '101'; typed
    # acct_code, the server refuses a longer value)
    ("SELECT title FROM tasks WHERE $1::text <> '' AND org::text = $1::acct_code", "1011"),
    ("SELECT title FROM tasks WHERE $1::text <> '' AND org::text = $1::acct_code_ref", "1011"),
    # PostgreSQL types $1 by its first use: real, then cast to the exact domain
    ("SELECT title FROM tasks WHERE $1::acct_real IS NOT NULL AND org = $1::acct_id", OWN),
]
# lossy too, though the data does not show it here (citext folds case; numeric(20, 0) rounds);
# a domain of another schema, an array of the domain; $1 typed by its first use as acct_id
DOMAIN_FLAGGED = [
    "SELECT title FROM tasks WHERE org::text = $1::acct_code",
    "SELECT title FROM tasks WHERE org::text = $1::acct_ci",
    "SELECT title FROM tasks WHERE org = $1::acct_num",
    "SELECT title FROM tasks WHERE org = $1::other.acct_id",
    "SELECT title FROM tasks WHERE org = ANY($1::acct_id[])",
    "SELECT title FROM tasks WHERE org = $1::acct_id AND $1::acct_real IS NOT NULL",
]
# a table and an exact domain, for the DDL that puts the domain's name in doubt
BASE = """
CREATE DOMAIN acct_id AS bigint;
CREATE TABLE tasks (id bigint PRIMARY KEY, org bigint NOT NULL, title text);
"""


def _policy(tmp_path: Path, ddl: str = DOMAINS) -> Policy:
    policy = policy_for(tmp_path, ddl, tenant_column="org")
    assert isinstance(policy, Policy)
    return policy


def test_the_schema_reader_knows_the_exact_domains(tmp_path: Path) -> None:
    (tmp_path / "s.sql").write_text(DOMAINS, encoding="utf-8")
    assert read_schema([tmp_path]).exact_domains == {
        "acct_id": ("public", "int8"),
        "acct_ref": ("public", "int8"),
        "acct_int": ("public", "int8"),
        "acct_text": ("public", "text"),
        "acct_plain_text": ("public", "text"),
    }


@pytest.mark.parametrize("sql", DOMAIN_SAFE)
def test_a_cast_to_an_exact_domain_pins(tmp_path: Path, sql: str) -> None:
    assert _codes(sql, _policy(tmp_path)) == [], sql


@pytest.mark.parametrize("sql", [s for s, _ in DOMAIN_LEAKS] + DOMAIN_FLAGGED)
def test_a_cast_to_a_lossy_domain_does_not_pin(tmp_path: Path, sql: str) -> None:
    assert _codes(sql, _policy(tmp_path)) == ["TG001"], sql


async def test_the_rows_of_casts_to_domains(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(DOMAINS + DOMAIN_DATA)
        for sql in DOMAIN_SAFE:
            args: tuple[object, ...] = (str(OWN),) if "org::text" in sql else (OWN,)
            if "$2" in sql:
                args = (*args, "x")
            assert await _fetch(conn, sql, *args) == ["own"], sql
        for sql, own in DOMAIN_LEAKS:
            rows = await _fetch(conn, sql, own)
            assert any(r.startswith("VICTIM") for r in rows), (sql, rows)
    finally:
        await conn.close()


# a domain's name in doubt: no cast to it pins (each DDL's `acct_id` was over bigint first)
DOUBTS = {
    "defined again over real": "DROP DOMAIN acct_id; CREATE DOMAIN acct_id AS real;",
    "dropped": "DROP DOMAIN acct_id;",
    "in two schemas": "CREATE SCHEMA other; CREATE DOMAIN other.acct_id AS real;",
    "renamed": "ALTER DOMAIN acct_id RENAME TO acct_old; CREATE DOMAIN acct_id AS real;",
    "renamed away": "ALTER DOMAIN acct_id RENAME TO acct_old;",
    "moved": "CREATE SCHEMA other; ALTER DOMAIN acct_id SET SCHEMA other;",
    "an enum of that name": "CREATE SCHEMA other; CREATE TYPE other.acct_id AS ENUM ('1');",
    "a range of that name": (
        "CREATE SCHEMA other; CREATE TYPE other.acct_id AS RANGE (subtype = float8);"
    ),
    "a composite of that name": "CREATE SCHEMA other; CREATE TYPE other.acct_id AS (x real);",
    "a shell type of that name": "CREATE SCHEMA other; CREATE TYPE other.acct_id;",
    "dropped as a type": "DROP TYPE acct_id;",
    "made by dynamic SQL": (
        "DO $$ BEGIN EXECUTE 'DROP DOMAIN acct_id; CREATE DOMAIN ' || 'acct_id AS real'; END $$;"
    ),
    "made by a function": (
        "CREATE FUNCTION remake() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
        "DROP DOMAIN acct_id; CREATE DOMAIN acct_id AS real; END $$;"
    ),
}


@pytest.mark.parametrize("ddl", DOUBTS.values(), ids=DOUBTS.keys())
def test_a_domain_name_in_doubt_is_not_exact(tmp_path: Path, ddl: str) -> None:
    policy = _policy(tmp_path, BASE + ddl)
    assert "acct_id" not in policy.exact_domains
    assert _codes("SELECT title FROM tasks WHERE org = $1::acct_id", policy) == ["TG001"]


def test_a_domain_made_in_a_do_block_is_read(tmp_path: Path) -> None:
    """An idempotent patch creates its domain in a DO block: read as the statement it runs."""
    ddl = (
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_type WHERE typname = 'acct_id') THEN\n"
        "  CREATE DOMAIN acct_id AS bigint;\nEND IF; END $$;\n"
        "CREATE TABLE tasks (id bigint PRIMARY KEY, org bigint NOT NULL, title text);\n"
    )
    policy = _policy(tmp_path, ddl)
    assert policy.exact_domains == {"acct_id": ("public", "int8")}
    assert _codes("SELECT title FROM tasks WHERE org = $1::acct_id", policy) == []


def test_the_exact_domains_are_kept_in_the_schema_cache(tmp_path: Path) -> None:
    (tmp_path / "s.sql").write_text(DOMAINS, encoding="utf-8")
    schema = read_schema([tmp_path])
    assert SchemaInfo.from_json(schema.to_json()).exact_domains == schema.exact_domains


async def test_audit_and_check_agree_on_domains(database: str, tmp_path: Path) -> None:
    static, live, _ = await _policies(database, tmp_path, DOMAINS, "org")
    assert dict(live.exact_domains) == dict(static.exact_domains)
    _agree(static, live, DOMAIN_SAFE, None)
    _agree(static, live, [s for s, _ in DOMAIN_LEAKS] + DOMAIN_FLAGGED, "TG001")


async def test_audit_sees_a_domain_name_in_two_schemas(database: str, tmp_path: Path) -> None:
    ddl = DOMAINS + "CREATE SCHEMA other; CREATE DOMAIN other.acct_id AS real;"
    static, live, _ = await _policies(database, tmp_path, ddl, "org")
    assert "acct_id" not in live.exact_domains
    assert "acct_id" not in static.exact_domains
    _agree(static, live, ["SELECT title FROM tasks WHERE org = $1::acct_id"], "TG001")


# ---------------------------------------------------------------- 2. grouping sets
# org 101's rows and org 202's; notes has a row of no org. Tenant 202's n = 5 makes
# `1 / (n - 5)` fail on its row.
GROUPS = """
CREATE TABLE items (id bigint PRIMARY KEY, org bigint NOT NULL, kind text, n int);
CREATE TABLE notes (id bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 100) PRIMARY KEY,
    org bigint, title text);
"""
GROUPS_DATA = """
INSERT INTO items VALUES (1, 101, 'a', 1), (2, 101, 'b', 2), (3, 202, 'VICTIM', 5);
INSERT INTO notes VALUES (1, 101, 'own'), (2, 202, 'VICTIM'), (3, NULL, 'NOTENANT');
"""
# the tenant column of a grouping set without it is NULL in the total's row: a null-safe
# comparison with it reads the rows of no tenant, a copy of it writes one
NULL_SAFE_LEAK = (
    "SELECT n.title FROM (SELECT org FROM items WHERE org = $1 GROUP BY ROLLUP (org)) d "
    "JOIN notes n ON n.org IS NOT DISTINCT FROM d.org"
)
NULL_SAFE_TWINS = [
    "SELECT n.title FROM (SELECT org, kind FROM items WHERE org = $1 GROUP BY org, ROLLUP (kind)) d "
    "JOIN notes n ON n.org IS NOT DISTINCT FROM d.org",
    "SELECT n.title FROM (SELECT org FROM items WHERE org = $1 GROUP BY ROLLUP (org)) d "
    "JOIN notes n ON n.org = d.org",
]
INSERT_LEAKS = [
    "INSERT INTO notes (org, title) SELECT org, 'x' FROM items WHERE org = $1 "
    "GROUP BY ROLLUP (org)",
    "INSERT INTO notes (org, title) SELECT $1::bigint, 'x' FROM items WHERE org = $1 "
    "GROUP BY CUBE ($1::bigint)",
    "INSERT INTO notes (org, title) SELECT d.org, 'x' FROM "
    "(SELECT org FROM items WHERE org = $1 GROUP BY GROUPING SETS ((org), ())) d",
]
INSERT_TWIN = (
    "INSERT INTO notes (org, title) SELECT org, 'x' FROM items WHERE org = $1 "
    "GROUP BY org, ROLLUP (kind)"
)
# pinned from outside or by HAVING, grouping sets see every tenant's rows: stays flagged
OUTSIDE = [
    "SELECT * FROM (SELECT org, sum(1 / (n - 5)) AS s FROM items "
    "GROUP BY GROUPING SETS ((org, kind), (org))) d WHERE d.org = $1",
    "SELECT org, sum(1 / (n - 5)) FROM items GROUP BY org, ROLLUP (kind) HAVING org = $1",
]
OUTSIDE_PLAIN = [  # a plain GROUP BY org: the filter goes below the aggregate
    "SELECT * FROM (SELECT org, sum(1 / (n - 5)) AS s FROM items GROUP BY org) d WHERE d.org = $1",
    "SELECT org, sum(1 / (n - 5)) FROM items GROUP BY org HAVING org = $1",
]


def _groups(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, GROUPS, tenant_column="org")
    assert isinstance(policy, Policy)
    return policy


def test_the_verdicts_on_grouping_sets(tmp_path: Path) -> None:
    policy = _groups(tmp_path)
    assert _codes(NULL_SAFE_LEAK, policy) == ["TG001"]
    for sql in NULL_SAFE_TWINS:
        assert _codes(sql, policy) == [], sql
    for sql in INSERT_LEAKS:
        assert _codes(sql, policy) == ["TG002"], sql
    assert _codes(INSERT_TWIN, policy) == []
    for sql in OUTSIDE:
        assert _codes(sql, policy) == ["TG001"], sql
    for sql in OUTSIDE_PLAIN:
        assert _codes(sql, policy) == [], sql


async def test_the_rows_of_grouping_sets(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(GROUPS + GROUPS_DATA)
        assert "NOTENANT" in await _fetch(conn, NULL_SAFE_LEAK, 101)
        for sql in NULL_SAFE_TWINS:
            assert set(await _fetch(conn, sql, 101)) == {"own"}, sql
        for sql in [*INSERT_LEAKS, INSERT_TWIN]:
            async with conn.transaction():
                await conn.execute(sql, 101)
                written = await conn.fetch("SELECT org FROM notes WHERE title = 'x'")
                no_tenant = [r for r in written if r["org"] is None]
                assert bool(no_tenant) == (sql != INSERT_TWIN), (sql, written)
                assert {r["org"] for r in written} <= {101, None}, sql
                await conn.execute("DELETE FROM notes WHERE title = 'x'")
        for sql in OUTSIDE:  # every tenant's aggregates: tenant 202's row fails the division
            with pytest.raises(asyncpg.DivisionByZeroError):
                await _fetch(conn, sql, 101)
        for sql in OUTSIDE_PLAIN:
            assert await _fetch(conn, sql, 101) == ["101"], sql
    finally:
        await conn.close()


# ---------------------------------------------------------------- 3. calls of typed functions
# `title` is of a lossy type in another table (legacy.title char(10)): a parameter compared with
# it is typed so. `f_text(title)` is text whatever its argument (the schema's f_text(text)
# RETURNS text, no built-in of that name): `org::text = $1 AND f_text(title) = $1` types $1
# text, the pin is exact. A function returning real, a polymorphic one, or a name in doubt
# stays a value of unknown type.
CALLS = """
CREATE TABLE tasks (id bigint PRIMARY KEY, org bigint NOT NULL, title text);
CREATE TABLE legacy (id bigint PRIMARY KEY, title char(10));
CREATE FUNCTION f_text(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE FUNCTION f_text(t text, u int4) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT t $$;
CREATE FUNCTION f_real(t text) RETURNS real LANGUAGE sql IMMUTABLE AS $$ SELECT t::real $$;
CREATE FUNCTION f_poly(t anyelement) RETURNS anyelement LANGUAGE sql IMMUTABLE AS $$ SELECT t $$;
CREATE FUNCTION f_mixed(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT t $$;
CREATE FUNCTION f_mixed(t real) RETURNS real LANGUAGE sql IMMUTABLE AS $$ SELECT t $$;
"""
CALLS_DATA = f"""
INSERT INTO tasks VALUES (1, {OWN}, '{OWN}'), (2, {FLOAT_TWIN}, '{FLOAT_TWIN}');
"""
CALLS_SAFE = [
    "SELECT id FROM tasks WHERE org::text = $1 AND f_text(title) = $1",
    "SELECT id FROM tasks WHERE f_text(title, 1) = $1 AND org::text = $1",
]
CALLS_LEAKS = [  # $1 typed real by its first use: 16777217 meets 16777216
    "SELECT id FROM tasks WHERE f_real(title) = $1 AND org = $1",
]
CALLS_FLAGGED = [
    "SELECT id FROM tasks WHERE org::text = $1 AND f_poly(title) = $1",
    "SELECT id FROM tasks WHERE org::text = $1 AND f_mixed(title) = $1",
    "SELECT id FROM tasks WHERE org::text = $1 AND f_text(title) = $1 AND title = $1",
]


def test_the_schema_reader_knows_the_exact_functions(tmp_path: Path) -> None:
    (tmp_path / "s.sql").write_text(CALLS, encoding="utf-8")
    assert read_schema([tmp_path]).exact_functions == {"f_text": "text"}


def test_calls_of_typed_functions(tmp_path: Path) -> None:
    policy = _policy(tmp_path, CALLS)
    for sql in CALLS_SAFE:
        assert _codes(sql, policy) == [], sql
    for sql in CALLS_LEAKS + CALLS_FLAGGED:
        assert _codes(sql, policy) == ["TG001"], sql


async def test_the_rows_of_calls_of_typed_functions(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(CALLS + CALLS_DATA)
        for sql in CALLS_SAFE:
            assert await _fetch(conn, sql, str(OWN)) == ["1"], sql
        for sql in CALLS_LEAKS:  # tenant OWN's request returns tenant FLOAT_TWIN's row
            assert await _fetch(conn, sql, OWN) == ["2"], sql
    finally:
        await conn.close()


# a function name in doubt: its calls are of unknown type (each DDL's f_text was exact first)
FUNCTION_DOUBTS = {
    "a built-in's name": "CREATE FUNCTION lower(t text, u text) RETURNS text "
    "LANGUAGE sql AS $$ SELECT t $$;",
    "renamed": "ALTER FUNCTION f_text(text) RENAME TO f_old; "
    "CREATE FUNCTION f_text(t text) RETURNS text LANGUAGE sql AS $$ SELECT t $$;",
    "moved": "CREATE SCHEMA other; ALTER FUNCTION f_text(text) SET SCHEMA other;",
    "an aggregate of that name": "CREATE AGGREGATE f_text(real) (sfunc = float4pl, stype = real);",
    "returning a set": "CREATE FUNCTION f_text(t int8) RETURNS SETOF text LANGUAGE sql "
    "AS $$ SELECT '1' $$;",
    "with an output parameter": "CREATE FUNCTION f_text(t int8, OUT u text) LANGUAGE sql "
    "AS $$ SELECT '1' $$;",
    "returning a varchar of three": "CREATE FUNCTION f_text(t int8) RETURNS varchar(3) "
    "LANGUAGE sql AS $$ SELECT '1' $$;",
    "made by a function": "CREATE FUNCTION remake() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
    "EXECUTE 'CREATE FUNCTION f_text(t real) RETURNS real LANGUAGE sql AS ''SELECT t'''; "
    "END $$;",
    "made by dynamic SQL": "DO $$ BEGIN EXECUTE 'CREATE FUNCTION ' || 'f_text(t real) "
    "RETURNS real LANGUAGE sql AS ''SELECT t'''; END $$;",
}
CALLS_BASE = """
CREATE TABLE tasks (id bigint PRIMARY KEY, org bigint NOT NULL, title text);
CREATE TABLE legacy (id bigint PRIMARY KEY, title char(10));
CREATE FUNCTION f_text(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
"""


@pytest.mark.parametrize("ddl", FUNCTION_DOUBTS.values(), ids=FUNCTION_DOUBTS.keys())
def test_a_function_name_in_doubt_is_of_unknown_type(tmp_path: Path, ddl: str) -> None:
    if "lower(" in ddl:  # the built-in's name, as the schema's only function of it
        policy = _policy(tmp_path, CALLS_BASE.replace("f_text", "lower") + ddl)
        assert "lower" not in policy.exact_functions
        return
    policy = _policy(tmp_path, CALLS_BASE + ddl)
    assert "f_text" not in policy.exact_functions
    assert _codes(CALLS_SAFE[0], policy) == ["TG001"]


async def test_audit_and_check_agree_on_functions(database: str, tmp_path: Path) -> None:
    static, live, _ = await _policies(database, tmp_path, CALLS, "org")
    assert live.exact_functions == static.exact_functions == {"f_text"}
    _agree(static, live, CALLS_SAFE, None)
    _agree(static, live, CALLS_LEAKS + CALLS_FLAGGED, "TG001")


# ---------------------------------------------------------------- 4. lossy parameters of calls
# LEAK found on the way: a bind parameter given bare to a schema function's parameter of a
# lossy type (`f_realp(t real)`) is typed real for the whole statement when that is its first
# use: `f_realp($1) AND org = $1` compares org in floating point, and tenant 16777217's request
# returned tenant 16777216's row (proven clean before).
ARGUMENTS = """
CREATE TABLE tasks (id bigint PRIMARY KEY, org bigint NOT NULL, title text);
CREATE FUNCTION f_realp(t real) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT t > 0 $$;
CREATE FUNCTION f_two(a text, b real) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS $$ SELECT b > 0 $$;
CREATE FUNCTION f_var(a int, VARIADIC v real[]) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS $$ SELECT true $$;
"""
ARGUMENTS_DATA = f"INSERT INTO tasks VALUES (1, {OWN}, 'own'), (2, {FLOAT_TWIN}, 'VICTIM');"
ARGUMENT_LEAKS = [
    "SELECT title FROM tasks WHERE f_realp($1) AND org = $1",
    "SELECT title FROM tasks WHERE f_two('x', ($1)) AND org = $1",
    "SELECT title FROM tasks WHERE f_two(b => $1, a => 'x') AND org = $1",
    "SELECT title FROM tasks WHERE f_var(1, 2, $1) AND org = $1",
]
ARGUMENT_SAFE = [  # $2 is no tenant value; $1 is typed bigint
    "SELECT title FROM tasks WHERE f_two($2, 1) AND org = $1",
    "SELECT title FROM tasks WHERE f_realp($2) AND org = $1",
]


def test_the_verdicts_on_lossy_arguments(tmp_path: Path) -> None:
    policy = _policy(tmp_path, ARGUMENTS)
    assert dict(policy.lossy_arguments) == {
        "f_realp": {0, -1},
        "f_two": {1, -2},
        "f_var": {1, -2},
    }
    for sql in ARGUMENT_LEAKS:
        assert _codes(sql, policy) == ["TG001"], sql
    for sql in ARGUMENT_SAFE:
        assert _codes(sql, policy) == [], sql


async def test_the_rows_of_lossy_arguments(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(ARGUMENTS + ARGUMENTS_DATA)
        for sql in ARGUMENT_LEAKS:
            assert await _fetch(conn, sql, OWN) == ["VICTIM"], sql
        for sql in ARGUMENT_SAFE:
            second: object = "x" if "f_two" in sql else 1.5
            assert await _fetch(conn, sql, OWN, second) == ["own"], sql
    finally:
        await conn.close()


async def test_audit_and_check_agree_on_lossy_arguments(database: str, tmp_path: Path) -> None:
    static, live, _ = await _policies(database, tmp_path, ARGUMENTS, "org")
    assert dict(live.lossy_arguments) == dict(static.lossy_arguments)
    _agree(static, live, ARGUMENT_SAFE, None)
    _agree(static, live, ARGUMENT_LEAKS, "TG001")


# ---------------------------------------------------------------- 5. ints formatted into SQL
# TG009 said "part of the SQL is only known at run time" of an f-string field that is surely an
# `int` — an int literal, `int(…)`, `len(…)` (the built-ins, not rebound), `+ - *` of those,
# through names: formatted, it is digits with perhaps a leading minus, one number token where
# the text around it keeps it one (outside quotes, after a blank, `(`, `,`, `=`, `<`, `>`, `[`,
# `+`, `*` or `/`, before no name or number). The statement is checked with a number there.
# Twins: an annotation (`n: int` is not enforced), a value of unknown type, an int where it
# would join a name (`logs_{n}`), follow a minus (`-{n}` with n < 0 starts a `--` comment),
# stand in quotes, or be formatted with a spec or `!r`.
from tenantguard.engine.analyze import Analyzer  # noqa: E402
from tenantguard.sources.python import check_python_text  # noqa: E402

_PY_POLICY = Policy("tenant_id", ["notes"])
_HEAD = "async def f(conn, tenant, n, page, size, items, text: str, m: int):\n"


def _python(body: str) -> list[str]:
    source = _HEAD + "".join(f"    {line}\n" for line in body.splitlines())
    found, _, _ = check_python_text(source, Analyzer(_PY_POLICY))
    return sorted(f.code for f in found)


INT_SAFE = [
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {int(n)}", tenant)',
    "page = int(page)\nsize = int(size)\n"
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 OFFSET {page * size}", tenant)',
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {len(items)}", tenant)',
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 '
    'LIMIT {int(size)} OFFSET {(int(page) - 1) * int(size)}", tenant)',
    "limit = len(items) + 1\n"
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {limit}", tenant)',
    "k = 10\nk += int(n)\n"
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {k!s}", tenant)',
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 AND id IN ({int(n)},{int(page)})",'
    " tenant)",
]
INT_FLAGGED = [
    # an annotation is not enforced: a str may come
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {m}", tenant)',
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {n}", tenant)',
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {n + 1}", tenant)',
    # `str * int` repeats the string
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {text * int(n)}", tenant)',
    # rebound: not the built-in
    'int = str\nawait conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {int(n)}", tenant)',
    # joined to a name, after a minus, in quoted names or escape strings, with a spec or !r
    # (round 15: in a plain '…' literal, digits are its text: they cannot end it)
    'await conn.fetch(f"SELECT body FROM notes_{int(n)} WHERE tenant_id = $1", tenant)',
    'await conn.fetch(f"SELECT body FROM notes WHERE id = 5-{int(n)} AND tenant_id = $1", tenant)',
    "await conn.fetch(f\"SELECT body FROM notes WHERE tenant_id = $1 AND body = E'\\\\{int(n)}'\", tenant)",
    'await conn.fetch(f"SELECT \\"c{int(n)}\\" FROM notes WHERE tenant_id = $1", tenant)',
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {int(n):x}", tenant)',
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {int(n)!r}", tenant)',
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {int(n)}e2", tenant)',
    # a name assigned a str first and an int later: every value it may hold counts
    "x = text\nif n:\n    x = int(n)\n"
    'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = $1 LIMIT {x}", tenant)',
]


@pytest.mark.parametrize("body", INT_SAFE)
def test_an_int_formatted_into_sql_is_no_unresolved_part(body: str) -> None:
    assert _python(body) == [], body


@pytest.mark.parametrize("body", INT_FLAGGED)
def test_a_value_not_surely_an_int_stays_unresolved(body: str) -> None:
    assert "TG009" in _python(body), body


def test_an_int_that_pins_is_checked_as_a_pin() -> None:
    """The statement is proven with a number in the field's place: unpinned stays TG001, and
    two fields pinning are two tenants (TG012)."""
    assert _python('await conn.fetch(f"SELECT body FROM notes LIMIT {int(n)}")') == ["TG001"]
    both = 'await conn.fetch(f"SELECT body FROM notes WHERE tenant_id = {int(n)} AND tenant_id = {int(page)}")'
    assert _python(both) == ["TG012"]


async def test_an_int_after_a_minus_comments_out_the_pin(database: str) -> None:
    """Why `-{n}` is no number token: n = -1 makes `--`, the rest of the line a comment (and
    the pin with it)."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(GROUPS + GROUPS_DATA)
        for n, expected in ((1, ["a", "b"]), (-1, ["VICTIM", "a", "b"])):
            sql = f"SELECT kind FROM items WHERE n <> 0-{n} AND org = 101"
            assert await _fetch(conn, sql) == expected, sql
    finally:
        await conn.close()


def test_a_placeholder_numbered_by_an_annotated_int_is_unresolved() -> None:
    """`${m}` with `m: int`: the annotation is not enforced (it was trusted before fp13)."""
    body = 'await conn.fetch(f"SELECT body FROM notes WHERE id = ${m} AND tenant_id = $1", tenant)'
    assert "TG009" in _python(body)
    assert _python(body.replace("${m}", "${int(m)}")) == []


async def test_a_str_as_the_number_of_a_placeholder(database: str) -> None:
    """What a str given for such an int does: `$1 OR true --`, every tenant's rows."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(GROUPS + GROUPS_DATA)
        m = "1 OR true --"
        sql = f"SELECT kind FROM items WHERE id = ${m} AND org = $1"
        assert "VICTIM" in await _fetch(conn, sql, 101)
    finally:
        await conn.close()
