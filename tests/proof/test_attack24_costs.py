"""Round 24, helper 124: TG013 weighs a condition against the pin by what the planner charges
for each (`cost_qual_eval`), and had charged too much for three things, so that a failing
condition looked dearer than the pin and was taken to run after it:

1. `COLLATE`, which costs nothing (`current_setting(name COLLATE "C")` ran before `tenant_id =
   1`: "unrecognized configuration parameter "SECRET-Carla"", tenant 2's name);
2. a SQL function PostgreSQL inlines (`ident(t)`: `SELECT t`), which costs its body, not a call;
3. a function of the schema declared cheaper than a call (`COST 0.01`), which costs what it
   declares.

A call of the schema's own (not a built-in) is now charged nothing from below — inlined or
declared cheap, it may cost less than any pin — and PostgreSQL's default for a function of its
own (100) from above, where a pin calls one. Each statement of `costs.q` fails, run as tenant 1,
by tenant 2's row alone; each of `costs_safe.q` passes on both and is proven.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy
from tests.proof.test_attack11_proof import _codes
from tests.proof.test_schema import policy_for

ROUND24 = Path(__file__).parent.parent / "fixtures" / "round24"
HARMLESS = "'work_mem', '7'"  # tenant 2's row: a setting's name, a number
FAILING = "'SECRET-Carla', 'SECRET'"


def _statements(case: str) -> list[str]:
    text = (ROUND24 / f"{case}.q").read_text(encoding="utf-8")
    return [line.strip().rstrip(";") for line in text.splitlines() if line.strip()]


def test_conditions_the_planner_charges_less_are_reported(tmp_path: Path) -> None:
    policy = policy_for(
        tmp_path, (ROUND24 / "costs.sql").read_text(encoding="utf-8"), global_tables=("tenants",)
    )
    assert isinstance(policy, Policy)
    for statement in _statements("costs"):
        assert _codes(statement, policy) == ["TG013"], statement
    for statement in _statements("costs_safe"):
        assert _codes(statement, policy) == [], statement


@pytest.mark.parametrize("case", ["costs", "costs_safe"])
async def test_the_conditions_on_the_server(database: str, case: str) -> None:
    """Each reported statement, run as tenant 1, succeeds while tenant 2's row is harmless and
    fails on tenant 2's value once it is not; each twin succeeds on both."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND24 / "costs.sql").read_text(encoding="utf-8"))
        await conn.execute("INSERT INTO tenants VALUES (1, 'one'), (2, 'two')")
        await conn.execute("SELECT set_config('app.tenant_id', '1', false)")
        for statement in _statements(case):
            for other in (HARMLESS, FAILING):
                await conn.execute(
                    "DELETE FROM patients; INSERT INTO patients VALUES "
                    f"(1, 1, 'work_mem', '5'), (2, 2, {other})"
                )
                if case == "costs" and other is FAILING:
                    with pytest.raises(asyncpg.PostgresError, match=r"(?i)SECRET"):
                        await conn.fetch(statement)
                    continue
                rows = [r[0] for r in await conn.fetch(statement)]
                assert set(rows) <= {1}, statement  # tenant 1's row at most
    finally:
        await conn.close()


# Helper 126: forms without server witnesses here (the fixture's rows hold no date; a count
# large enough to fail allocates near 1 GB). `repeat(name, $2)` fails past 1 GB of the row's
# text times the caller's count ("requested length too large"): the caller reads the text's
# length by binary search. `current_date` and `now()` are evaluated on each row, not folded:
# they cost what a call costs (a cast from text, a comparison and the current date: four; with
# lower() and a sum, six: past the setting's pin).
UNWITNESSED = [
    ("SELECT id FROM patients WHERE repeat(name, $2) IS NULL AND tenant_id = $1", ["TG013"]),
    ("SELECT id FROM patients WHERE repeat(name, 46684427) IS NULL AND tenant_id = $1", ["TG013"]),
    ("SELECT id FROM patients WHERE repeat(name, 3) IS NULL AND tenant_id = $1", []),
    ("SELECT id FROM patients WHERE tenant_id = $1 AND repeat(code, 2) = $2", []),
    (
        "SELECT id FROM patients WHERE code::date < current_date "
        "AND tenant_id = current_setting('app.tenant_id')::bigint",
        ["TG013"],
    ),
    (
        "SELECT id FROM patients WHERE lower(code)::date < current_date + 1 "
        "AND tenant_id = current_setting('app.tenant_id')::bigint",
        [],
    ),
]


@pytest.mark.parametrize(("statement", "expected"), UNWITNESSED)
def test_forms_without_witnesses(tmp_path: Path, statement: str, expected: list[str]) -> None:
    policy = policy_for(
        tmp_path, (ROUND24 / "costs.sql").read_text(encoding="utf-8"), global_tables=("tenants",)
    )
    assert isinstance(policy, Policy)
    assert _codes(statement, policy) == expected, statement
