"""Round 10: statements sqlglot's parser reads otherwise than PostgreSQL's grammar.

Found by a differential of sqlglot's tree (printed back) against PostgreSQL's own parser
(pglast) over variations of a pinned query, each candidate run on the server. A statement the
two read differently is proven in one form and run in the other: the analyzer refuses it (TG006,
"read differently"), and a twin that both read alike still passes.

The server tests hold two tenants whose ids meet in double precision (9007199254740993 and
9007199254740992) and a third, small one (5): each statement, run for tenant 9007199254740993,
hands out another tenant's rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlglot import exp

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement, parse_statement
from tenantguard.engine.policy import Policy
from tests.conftest import fresh_database

POLICY = Policy("tenant_id", {"t"})
TENANT = 9007199254740993  # its neighbour 9007199254740992 is the same double precision value
SCHEMA = (
    "CREATE TABLE t (id int, tenant_id bigint);"
    "INSERT INTO t VALUES (1, 9007199254740993), (2, 9007199254740992), (3, 5)"
)


@pytest.fixture
async def database(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    """A database holding SCHEMA (most tests only read it: see tests/conftest.py)."""
    async with fresh_database(postgres, SCHEMA) as dsn:
        yield dsn


async def _ids(database: str, sql: str, *args: object) -> list[int]:
    conn = await asyncpg.connect(database)
    try:
        return sorted(r[0] for r in await conn.fetch(sql, *args))
    finally:
        await conn.close()


# ------------------------------------------------------------------ a prefix `@` is abs()
# sqlglot's tokenizer reads `@` as the start of a named parameter (`@name`, T-SQL's and MySQL's
# variables): `@tenant_id` is a parameter to the proof, a pin. PostgreSQL reads the prefix
# operator `@`, absolute value: `tenant_id = @tenant_id` is true on every row of a tenant >= 0,
# and `@$1` types `$1` as double precision.
AT_LEAKS = [
    pytest.param("SELECT id FROM t WHERE tenant_id = @tenant_id", (), [1, 2, 3], id="@column"),
    pytest.param("SELECT id FROM t WHERE tenant_id = @ tenant_id", (), [1, 2, 3], id="@ column"),
    pytest.param("SELECT id FROM t WHERE tenant_id = @$1", (TENANT,), [1, 2], id="@param"),
    pytest.param("SELECT id FROM t WHERE tenant_id = @($1)", (TENANT,), [1, 2], id="@(param)"),
    pytest.param(
        "SELECT id FROM t WHERE tenant_id = @'9007199254740993'", (), [1, 2], id="@string"
    ),
    pytest.param(
        # `@` anywhere types `$1` for the whole statement: the select list is read first
        "SELECT id, @$1 FROM t WHERE tenant_id = $1",
        (TENANT,),
        [1, 2],
        id="@param-elsewhere",
    ),
]


@pytest.mark.parametrize(("sql", "args", "rows"), AT_LEAKS)
def test_a_prefix_at_is_read_differently(
    sql: str, args: tuple[object, ...], rows: list[int]
) -> None:
    verdict = analyze_statement(sql, POLICY)
    assert not verdict.parsed
    assert [(f.code, f.severity.value) for f in verdict.findings] == [("TG006", "error")]
    assert "`@`" in verdict.findings[0].message and "PostgreSQL" in verdict.findings[0].message
    _, _, _, offset = parse_statement(sql)
    assert offset == sql.index("@")


@pytest.mark.parametrize(("sql", "args", "rows"), AT_LEAKS)
async def test_a_prefix_at_leaks_on_the_server(
    database: str, sql: str, args: tuple[object, ...], rows: list[int]
) -> None:
    assert await _ids(database, sql, *args) == rows  # tenant 9007199254740993 owns row 1 only


AT_SAFE = [
    # operators that hold an `@` are one token to both readers
    "SELECT id FROM t WHERE tenant_id = $1 AND '{\"a\": 1}'::jsonb @> '{}'",
    "SELECT id FROM t WHERE tenant_id = $1 AND ARRAY[1] <@ ARRAY[1, 2]",
    "SELECT id FROM t WHERE tenant_id = $1 AND to_tsvector('cats') @@ to_tsquery('cat')",
    "SELECT id FROM t WHERE tenant_id = $1 AND '{\"a\": 1}'::jsonb @? '$.a'",
    # an `@` inside a string, a quoted name or a comment
    "SELECT id AS \"a@b\" FROM t WHERE tenant_id = $1 AND 'x@y' <> '' -- @tenant_id",
]


@pytest.mark.parametrize("sql", AT_SAFE)
async def test_operators_holding_an_at_are_read_alike(database: str, sql: str) -> None:
    verdict = analyze_statement(sql, POLICY)
    assert verdict.parsed
    assert verdict.findings == ()
    assert await _ids(database, sql, TENANT) == [1]


# ------------------------------------ a parameter typed double precision by where else it is used
# PostgreSQL types a parameter once for the whole statement, from its first use (the select list
# is read before the WHERE): `sqrt($1)`, `$1 ^ 2`, `round($1)` … have only double precision and
# numeric forms, and an untyped parameter takes the preferred one, double precision. The
# tenant id is then sent as a float8, and 9007199254740993 arrives as 9007199254740992. The
# proof saw a plain `tenant_id = $1`, as it did for `$1::real` elsewhere (already refused).
FLOAT_TYPED = [
    pytest.param("SELECT id, sqrt($1) FROM t WHERE tenant_id = $1", id="sqrt"),
    pytest.param("SELECT id, |/ $1 FROM t WHERE tenant_id = $1", id="|/"),
    pytest.param("SELECT id, $1 ^ 2 FROM t WHERE tenant_id = $1", id="^"),
    pytest.param("SELECT id, power(($1), 1) FROM t WHERE tenant_id = $1", id="power"),
    pytest.param("SELECT id, round($1) FROM t WHERE tenant_id = $1", id="round"),
    pytest.param("SELECT id, abs($1) FROM t WHERE tenant_id = $1", id="abs"),
    pytest.param("SELECT id, log10($1) FROM t WHERE tenant_id = $1", id="log10"),
    pytest.param("SELECT id, degrees($1) FROM t WHERE tenant_id = $1", id="degrees"),
    pytest.param("SELECT id, sind($1) FROM t WHERE tenant_id = $1", id="sind"),
    pytest.param(
        "WITH c AS (SELECT floor($1) AS x) SELECT id FROM t, c WHERE tenant_id = $1", id="cte"
    ),
]


@pytest.mark.parametrize("sql", FLOAT_TYPED)
def test_a_parameter_a_float_function_types_does_not_pin(sql: str) -> None:
    verdict = analyze_statement(sql, POLICY)
    assert [f.code for f in verdict.errors] == ["TG001"]


@pytest.mark.parametrize("sql", FLOAT_TYPED)
async def test_a_parameter_a_float_function_types_leaks_on_the_server(
    database: str, sql: str
) -> None:
    assert await _ids(database, sql, TENANT) == [1, 2]  # and tenant 9007199254740992's row


FLOAT_SAFE = [
    # a cast types the parameter first; another parameter; two-argument round is numeric
    "SELECT id, sqrt($1::bigint) FROM t WHERE tenant_id = $1",
    "SELECT id, sqrt($2) FROM t WHERE tenant_id = $1",
    "SELECT id, round($1, 2) FROM t WHERE tenant_id = $1",
    "SELECT id, sqrt(id) FROM t WHERE tenant_id = $1",
]


@pytest.mark.parametrize("sql", FLOAT_SAFE)
async def test_a_float_function_of_something_else_still_passes(database: str, sql: str) -> None:
    verdict = analyze_statement(sql, POLICY)
    assert verdict.findings == ()
    args = (TENANT, 4) if "$2" in sql else (TENANT,)
    assert await _ids(database, sql, *args) == [1]


# … and a parameter that meets a floating point expression takes its type: `$1 = x::float8`,
# `coalesce($1, x::real)`, `CASE … THEN $1 ELSE x::float8 END`, `$1 = ANY(ARRAY[x::float8])`,
# `$1 = sqrt(…)`, `$1 = date_part(…)` (double precision; sqlglot reads it as EXTRACT).
MEETS_A_FLOAT = [
    pytest.param("SELECT id, $1 = 1::float8 FROM t WHERE tenant_id = $1", id="= float8"),
    pytest.param("SELECT id, 0.5::real < $1 FROM t WHERE tenant_id = $1", id="real <"),
    pytest.param("SELECT id, $1 + 0::float8 FROM t WHERE tenant_id = $1", id="+ float8"),
    pytest.param("SELECT id, coalesce($1, 1::float8) FROM t WHERE tenant_id = $1", id="coalesce"),
    pytest.param(
        "SELECT id, CASE WHEN id > 0 THEN $1 ELSE 1::float8 END FROM t WHERE tenant_id = $1",
        id="case",
    ),
    pytest.param(
        "SELECT id, $1 = ANY(ARRAY[(1::float8)]) FROM t WHERE tenant_id = $1", id="any-array"
    ),
    pytest.param("SELECT id, $1 IN (1, 2 * 1::float8) FROM t WHERE tenant_id = $1", id="in"),
    pytest.param("SELECT id, $1 = sqrt(id) FROM t WHERE tenant_id = $1", id="= sqrt"),
    pytest.param(
        "SELECT id, $1 = date_part('epoch', now()) FROM t WHERE tenant_id = $1", id="date_part"
    ),
]


@pytest.mark.parametrize("sql", MEETS_A_FLOAT)
def test_a_parameter_meeting_a_float_does_not_pin(sql: str) -> None:
    verdict = analyze_statement(sql, POLICY)
    assert [f.code for f in verdict.errors] == ["TG001"]


@pytest.mark.parametrize("sql", MEETS_A_FLOAT)
async def test_a_parameter_meeting_a_float_leaks_on_the_server(database: str, sql: str) -> None:
    assert await _ids(database, sql, TENANT) == [1, 2]


MEETS_NO_FLOAT = [
    # the float meets a column or another parameter; an exact cast types the pin first
    "SELECT id, id = 1::float8, $2 = 1::float8 FROM t WHERE tenant_id = $1",
    "SELECT id, coalesce($2, sqrt(id)) FROM t WHERE tenant_id = $1",
    "SELECT id, $1::bigint = 1::float8 FROM t WHERE tenant_id = $1",
    "SELECT id, $1 = 1.5 FROM t WHERE tenant_id = $1",  # numeric: exact
]


@pytest.mark.parametrize("sql", MEETS_NO_FLOAT)
async def test_a_float_beside_something_else_still_passes(database: str, sql: str) -> None:
    verdict = analyze_statement(sql, POLICY)
    assert verdict.findings == ()
    args = (TENANT, 4) if "$2" in sql else (TENANT,)
    assert await _ids(database, sql, *args) == [1]


# ---------------------------------------- false alarm: an empty string ending the statement
# sqlglot's tokenizer reads a `$` as the start of a dollar-quote tag up to the next `$`; when none
# follows and the text ends with `''`, it raises instead of backing off: `… AND note <> ''` after
# a `$1` was TG006 "cannot tokenize" though PostgreSQL reads it plainly.
ENDING_IN_EMPTY = [
    "SELECT id FROM t WHERE tenant_id = $1 AND note <> ''",
    "SELECT id FROM t WHERE tenant_id = $1 AND note <> E''",
    "SELECT id FROM t WHERE tenant_id = $1 AND note IS DISTINCT FROM 'a'''",
    "SELECT id, '' FROM t WHERE tenant_id = $2 AND id <> $1 AND note <> 'x' AND note <> ''",
]


@pytest.mark.parametrize("sql", ENDING_IN_EMPTY)
async def test_an_empty_string_ending_the_statement_is_read(database: str, sql: str) -> None:
    verdict = analyze_statement(sql, POLICY)
    assert verdict.parsed and verdict.findings == ()
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("ALTER TABLE t ADD COLUMN note text DEFAULT 'n'")
        args = (4, TENANT) if "$2" in sql else (TENANT,)
        assert sorted(r[0] for r in await conn.fetch(sql, *args)) == [1]
    finally:
        await conn.close()


def test_the_empty_string_is_read_as_one() -> None:
    tree, _, error, _ = parse_statement("SELECT $1 || ''")
    assert error is None and tree is not None
    assert [s.this for s in tree.find_all(exp.Literal) if s.is_string] == [""]
