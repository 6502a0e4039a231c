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
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy

from .test_attack11_proof import _codes
from .test_schema import policy_for

ROUND24 = Path(__file__).parent / "fixtures" / "round24"
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
]


@pytest.mark.parametrize(("condition", "expected"), JSON_PATHS)
def test_json_paths_that_may_fail(tmp_path: Path, condition: str, expected: list[str]) -> None:
    policy = policy_for(
        tmp_path, (ROUND24 / "oracles.sql").read_text(encoding="utf-8"), global_tables=("tenants",)
    )
    assert isinstance(policy, Policy)
    statement = (
        f"SELECT id FROM items WHERE {condition} AND "
        "tenant_id = current_setting('app.tenant_id')::bigint"
    )
    assert _codes(statement, policy) == expected, statement
