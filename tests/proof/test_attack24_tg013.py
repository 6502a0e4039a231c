"""Round 24 (an outside attack on TG013): error channels left unread, each shown on PostgreSQL
15 by whether tenant 1's statement fails depending on tenant 2's row alone. Schema and statements
are in tests/fixtures/round24 (`oracles.q`: reported; `oracles_safe.q`: their twins, proven).

1. A cast that may fail on a value of its operand's type, though it quotes no text: a narrowing
   (`n::int` of a bigint, `x::numeric(3,0)`), a cast of text (`name::uuid`) or of a JSON value
   (`(j -> 'a')::int`, `(j ->> 'a')::numeric`). The schema's column types now tell a widening
   (int4 -> int8, any number -> numeric, a timestamp -> its date), which fails on no value.
2. Arithmetic that overflows on a row's value: a date plus a row's days, a timestamp plus a
   row's interval, an interval times a row's number, `i * i`, `n + <large constant>`. A column
   plus or minus a small constant overflows only at its type's very edge: not reported; numeric
   arithmetic never overflows.
3. to_char's format given by a row, of a number ("multiple decimal points"); of a timestamp no
   format fails.
4. generate_series with a row's step: PostgreSQL evaluates it after the row's pin in every form
   tried (a lateral FROM item, a derived table's select list): its twins pass.

Round 24b (helper 24f, after another outside attack): a choice's type is its branches' common
type (`GREATEST(i, n)::int` narrows an int8); a small constant is small for its column's type and
in all (`ts + interval '292 millennia 252 years'`, `ja - 1` of a jsonb are not); a numeric times
a huge literal overflows; a date is converted to a timestamp by `+ interval`, `date_trunc`,
`COALESCE(d, ts)`; cot('Infinity'), the array functions of a multidimensional array,
jsonb_array_length of an object and justify_* of a large interval fail.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy
from tests.proof.test_attack11_proof import _codes
from tests.proof.test_schema import policy_for

ROUND24 = Path(__file__).parent.parent / "fixtures" / "round24"
# tenant 1's row and tenant 2's harmless row: no statement fails on them
HARMLESS = (
    "5, 5, 5, 5, 5, '00000000-0000-0000-0000-000000000001', '2020-01-01', '2020-01-01', "
    "'2020-01-01', interval '1 day', '{\"a\": 1}', "
    "5, 1, interval '1 day', '[1]', '[1]', '{1,2}'"
)
# tenant 2's row that makes each reported statement fail
FAILING = (
    "3000000000, 3000000, 0, 1234.5, 1e10, '9.9.9', '5874000-01-01', '294000-01-01', "
    "'2020-01-01', interval '100000000 hours', '{\"a\": \"x\"}', "
    "50, 'Infinity', interval '2147483647 days 2147483647 hours 2147483647 months', "
    "'{\"a\": 1}', '{\"a\": 1}', '{{1},{2}}'"
)
COLUMNS = "(id, tenant_id, n, i, s, x, f, name, d, ts, tz, iv, j, xu, fl, iv2, ja, js, arr)"


def _statements(case: str) -> list[str]:
    text = (ROUND24 / f"{case}.q").read_text(encoding="utf-8")
    return [line.strip().rstrip(";") for line in text.splitlines() if line.strip()]


def test_error_channels_are_reported_and_their_twins_proven(tmp_path: Path) -> None:
    policy = policy_for(
        tmp_path, (ROUND24 / "oracles.sql").read_text(encoding="utf-8"), global_tables=("tenants",)
    )
    assert isinstance(policy, Policy)
    for statement in _statements("oracles"):
        assert _codes(statement, policy) == ["TG013"], statement
    for statement in _statements("oracles_safe"):
        assert _codes(statement, policy) == [], statement


@pytest.mark.parametrize("case", ["oracles", "oracles_safe"])
async def test_error_channels_on_the_server(database: str, case: str) -> None:
    """Each reported statement, run as tenant 1, succeeds while tenant 2's row is harmless and
    fails once it holds other values: the error tells tenant 2's data. Each twin succeeds on
    both, returning tenant 1's rows only."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND24 / "oracles.sql").read_text(encoding="utf-8"))
        await conn.execute("INSERT INTO tenants VALUES (1, 'one'), (2, 'two')")
        await conn.execute("SELECT set_config('app.tenant_id', '1', false)")
        for statement in _statements(case):
            for other in (HARMLESS, FAILING):
                await conn.execute(
                    f"DELETE FROM items; INSERT INTO items {COLUMNS} VALUES "
                    f"(1, 1, {HARMLESS}), (2, 2, {other})"
                )
                if case == "oracles" and other is FAILING:
                    with pytest.raises(asyncpg.PostgresError):
                        await conn.fetch(statement)
                    continue
                rows = [r[0] for r in await conn.fetch(statement)]
                # tenant 1's row only: no IS NULL holds of it; its step 5 gives 1 and 6 (tenant
                # 2's step 0 would fail: "step size cannot equal zero")
                assert sorted(rows) == ([1, 6] if "generate_series" in statement else []), statement
    finally:
        await conn.close()


# Helper 119: a JSON path written as a literal ran on every tenant's rows before the pin (the
# path functions cost what the pin costs, and PostgreSQL puts the pin last): its arithmetic,
# `strict` accessors and converting item methods fail on another tenant's value. Filters swallow
# their errors; `silent => true` swallows every one; jsonb_path_match also fails on a path that
# yields no single boolean.
JSON_PATHS = [
    ("jsonb_path_exists(j, 'strict $.k')", ["TG013"]),
    ("jsonb_path_exists_tz(j, '$.a + 1')", ["TG013"]),
    ("jsonb_path_exists(j, '$.a.keyvalue()')", ["TG013"]),
    ("jsonb_path_exists(j, '$.a.datetime(\"YYYY\")')", ["TG013"]),
    ("jsonb_path_match(j, '$.a')", ["TG013"]),
    ("jsonb_path_match(j, '$.a', '{}', false)", ["TG013"]),
    ("jsonb_path_exists(j, '$.\"a-b\" ? (@ - 1 > 0)')", []),
    ("jsonb_path_exists(j, '$.a', '{}', true)", []),
    ("jsonb_path_exists(j, 'strict $.a / 0', silent => true)", []),
    ("jsonb_path_match(j, 'exists($.a ? (@ starts with \"x\"))')", []),
    ("jsonb_path_exists(j, '$.a[*].size()')", []),
    ("jsonb_path_exists(j, '$.a ? (@ > 1')", ["TG013"]),  # unclosed: not read as plain
    # helper 125: a variable the path names and its vars lack fails in a filter and under
    # silent => true alike ("could not find jsonpath variable"); a parameter moves numeric's
    # edge onto a row's value; a smallint plus an integer literal is int4 arithmetic
    ("jsonb_path_exists(j, '$ ? (@.a > 1 && $\"x y\" == 1)', '{\"x\": 1}', true)", ["TG013"]),
    ("jsonb_path_exists(j, '$ ? (@.a > $min)', $2::jsonb)", ["TG013"]),
    ("jsonb_path_exists(j, '$ ? (@.a > $min)', vars => '{\"min\": 5}')", []),
    ("jsonb_path_exists(j, '$ ? (@.a == \"$x\")')", []),  # a string, no variable
    ("x + $2::numeric IS NULL", ["TG013"]),
    ("x + CAST($2 AS numeric) IS NULL", ["TG013"]),
    ("x * 1000000 IS NULL", []),
    ("s - 30000 > 5", []),
]


def _condition_codes(tmp_path: Path, condition: str) -> list[str]:
    """The codes of a read of `items` under the setting's pin with `condition` beside it."""
    policy = policy_for(
        tmp_path, (ROUND24 / "oracles.sql").read_text(encoding="utf-8"), global_tables=("tenants",)
    )
    assert isinstance(policy, Policy)
    statement = (
        f"SELECT id FROM items WHERE {condition} AND "
        "tenant_id = current_setting('app.tenant_id')::bigint"
    )
    return _codes(statement, policy)


@pytest.mark.parametrize(("condition", "expected"), JSON_PATHS)
def test_json_paths_that_may_fail(tmp_path: Path, condition: str, expected: list[str]) -> None:
    assert _condition_codes(tmp_path, condition) == expected, condition


# Helper 24f (round 24b): forms of the classes above the server fixtures do not witness. A small
# constant is small for its column's type and in all (an interval's units count); a date
# converted to a timestamp fails past 294276 AD; a choice's type is its branches' common type.
ROUND24B = [
    ("ja #- '{a}' IS NULL", ["TG013"]),  # a scalar: "cannot delete path in scalar"
    ("j - 'a' IS NULL", ["TG013"]),
    ("'1 year 100000000:00:00'::interval + ts IS NULL", ["TG013"]),
    ("interval '1 year 100000000:00:00' + ts IS NULL", ["TG013"]),  # sqlglot: '1' YEAR
    ("interval '1 day 10:00' + ts IS NULL", []),
    ("ts + interval '999 centuries' IS NULL", ["TG013"]),
    ("ts + '292252 years'::interval IS NULL", ["TG013"]),
    ("ts + interval '150000-0' IS NULL", ["TG013"]),  # years-months: not read, not small
    ("ts - interval '7 days' IS NULL", []),
    ("ts + interval '1 mon 2 days 03:04' IS NULL", []),
    ("tz + interval 'P1Y2M' IS NULL", []),
    ("iv + interval '1 day' IS NULL", []),
    # a smallint plus an integer literal is int4 arithmetic (int24pl): it overflows on no
    # smallint (helper 125; `32767::int2 + 1000` is 33767)
    ("s + 1000 IS NULL", []),
    ("s + 1 IS NULL", []),
    ("d - 1 IS NULL", []),
    ("x * 1e20 IS NULL", ["TG013"]),
    ("xu + 1e131071 IS NULL", ["TG013"]),
    ("x * 100 IS NULL", []),
    ("d AT TIME ZONE 'UTC' IS NULL", ["TG013"]),
    ("to_char(d, 'YYYY') = '2020'", ["TG013"]),
    ("to_char(ts, 'YYYY') = '2020'", []),
    ("age(d) IS NULL", ["TG013"]),
    ("age(ts) IS NULL", []),
    ("GREATEST(d, now()) IS NULL", ["TG013"]),
    ("COALESCE(d, current_date) IS NULL", []),
    ("date_trunc('day', ts) IS NULL", []),
    ("d < ts", []),  # a comparison converts no date
    ("cotd(fl) IS NULL", ["TG013"]),
    ("sind(fl) IS NULL", ["TG013"]),
    ("array_position(ARRAY['a', 'b'], name) = 1", []),
    ("array_positions(ARRAY[1, 2], i) IS NULL", []),
    ("array_append(ARRAY[i], 1) IS NULL", []),
    ("jsonb_set(ja, '{a}', '1') IS NULL", ["TG013"]),
    ("COALESCE(i, '5')::int IS NULL", []),
    ("COALESCE(i, length(name))::int IS NULL", []),
    ("(CASE WHEN s = 0 THEN n ELSE i END)::bigint IS NULL", []),
    ("NULLIF(n, i)::int IS NULL", ["TG013"]),
    ("LEAST(x, f)::numeric IS NULL", []),  # a float8 ('Infinity' too) casts into numeric
]


@pytest.mark.parametrize(("condition", "expected"), ROUND24B)
def test_round_24b_forms(tmp_path: Path, condition: str, expected: list[str]) -> None:
    assert _condition_codes(tmp_path, condition) == expected, condition
