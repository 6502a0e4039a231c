"""Round 32, helper o: `a.tenant_id = b.tenant_id` between two tables skips the walk of both
sides' column types when every tenant column type the policy tells is of one exact family
(`blocks._tables_compare_exactly`, found once per policy). The shortcut must give the walk's
verdict: two tables of one exact type chain a pin; a table of a lossy type (float8) or a derived
table casting to one still does not (`bigint = float8`: 9007199254740993 equals 9007199254740992
there, helper h32d's leak)."""

from __future__ import annotations

import pytest

from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.proof.blocks import _tables_compare_exactly
from tests.conftest import case_policy

JOINED = (
    "SELECT * FROM patients x JOIN appointments y ON y.tenant_id = x.tenant_id"
    " WHERE x.tenant_id = $1"
)
CAST = (
    "SELECT * FROM patients x JOIN (SELECT tenant_id::float8 AS tenant_id FROM appointments) y"
    " ON y.tenant_id = x.tenant_id WHERE x.tenant_id = $1"
)


@pytest.mark.parametrize(
    ("types", "exact"),
    [
        ({"patients": "int8", "appointments": "int8"}, True),
        ({"patients": "int8", "appointments": "int4"}, True),  # one family: exact
        ({"patients": "int8", "appointments": "float8"}, False),
        ({"patients": "int8", "appointments": "text"}, False),  # no common family
    ],
)
def test_the_shortcut_gives_the_walks_verdict(types: dict[str, str], exact: bool) -> None:
    policy = case_policy(tenant_column_types=types)
    assert _tables_compare_exactly(policy) is exact
    assert policy.tenant_types_exact is exact  # found once, kept on the policy
    codes = [f.code for f in analyze_statement(JOINED, policy).findings]
    assert (codes == []) is exact
    # a derived table casting to a lossy type is walked whatever the tables' types
    assert "TG001" in [f.code for f in analyze_statement(CAST, policy).findings]


def test_a_typed_column_of_a_lossy_type_turns_the_shortcut_off() -> None:
    policy = case_policy(
        tenant_column_types={"patients": "int8"}, typed_columns={"memos": {"tenant_id": "real"}}
    )
    assert not _tables_compare_exactly(policy)
    sql = JOINED.replace("appointments", "memos")
    assert "TG001" in [f.code for f in analyze_statement(sql, policy).findings]
