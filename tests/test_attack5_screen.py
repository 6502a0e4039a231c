"""Round 5 attacks on the tenant-table screen (`Context.may_name_tenant_table`): statements
that name a tenant table the screen does not see, so no proof is built and no rule runs.

Each leak is shown by the analyzer's verdict and, on a real PostgreSQL, by the rows a
`tenant(1)` request gets through the runtime guard in enforce mode.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.engine.analyze import analyze_statement, parse_statement
from tenantguard.engine.context import Context
from tenantguard.engine.policy import FunctionPins
from tenantguard.runtime import connect, tenant

# a tenant table whose name is no word (a space): only the quoted-identifier scan finds it
FEW = Policy(tenant_tables={'"Audit Log"', "patients"})
# a live catalog's size: the substring screen steps aside and the word scan decides
MANY = Policy(tenant_tables={'"Audit Log"', "patients", *(f"t{i}" for i in range(300))})

# a double quote in a string or a comment before the identifier: a scan of `"…"` pairs that
# does not know strings and comments pairs the wrong quotes and never sees `"Audit Log"`
STRAY_QUOTES = [
    pytest.param(FEW, 'SELECT \'"é\' AS x, note FROM "Audit Log"', id="non-ascii-string"),
    pytest.param(FEW, '/* é " */ SELECT note FROM "Audit Log"', id="non-ascii-comment"),
    pytest.param(FEW, 'SELECT note FROM "Audit Log" -- "é"', id="quote-after"),
    pytest.param(MANY, 'SELECT \'"\' AS x, note FROM "Audit Log"', id="many-tables-string"),
    pytest.param(MANY, 'SELECT $$"$$ AS x, note FROM "Audit Log"', id="many-tables-dollar"),
    pytest.param(MANY, 'SELECT note FROM "x""y" , "Audit Log"', id="many-tables-escaped"),
]


@pytest.mark.parametrize(("policy", "sql"), STRAY_QUOTES)
def test_a_stray_double_quote_does_not_hide_a_quoted_tenant_table(policy: Policy, sql: str) -> None:
    ctx = Context(sql, policy, *parse_statement(sql))
    assert ctx.may_name_tenant_table
    assert "Audit Log" in ctx.named_tenant_tables
    verdict = analyze_statement(sql, policy)
    assert [f.code for f in verdict.findings] == ["TG001"]
    assert verdict.touches_tenant_tables


AUDIT_LOG = """
CREATE TABLE "Audit Log" (tenant_id bigint NOT NULL, note text);
INSERT INTO "Audit Log" VALUES (1, 'north audit'), (2, 'south audit');
"""


@pytest.mark.parametrize(("policy", "sql"), STRAY_QUOTES)
async def test_the_guard_does_not_hand_out_the_other_tenants_audit_log(
    database: str, policy: Policy, sql: str
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(AUDIT_LOG)
    finally:
        await owner.close()
    conn = await connect(database, policy=policy)
    notes: list[str] = []
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            notes = [r["note"] for r in await conn.fetch(sql)]
    finally:
        await conn.close()
    assert "south audit" not in notes


# --- a function pinned by its arguments, whose name keeps its case --------------------------

PEOPLE_OF = (
    'CREATE FUNCTION "PeopleOf"(p_tenant bigint) RETURNS SETOF patients LANGUAGE sql '
    "AS $$ SELECT * FROM patients WHERE tenant_id = p_tenant $$;\n"
)
# every clinic's patients: the function's argument is each tenant's id in turn
EVERY_CLINIC = 'SELECT p.first_name FROM tenants t, LATERAL "PeopleOf"(t.id) p'


def test_a_mixed_case_pinning_function_is_not_screened_out(tmp_path: Path) -> None:
    from tests.test_schema import SCHEMA, policy_for

    policy = policy_for(tmp_path, SCHEMA + PEOPLE_OF)
    assert isinstance(policy, Policy) and "PeopleOf" in policy.pinning_functions
    assert [f.code for f in analyze_statement(EVERY_CLINIC, policy).findings] == ["TG001"]
    assert analyze_statement('SELECT * FROM "PeopleOf"($1)', policy).findings == ()


async def test_the_guard_does_not_hand_out_every_clinic_through_a_mixed_case_function(
    two_clinics: str,
) -> None:
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(PEOPLE_OF)
    finally:
        await owner.close()
    policy = Policy(
        tenant_tables={"patients", "appointments"},
        global_tables={"tenants"},
        pinning_functions={"PeopleOf": FunctionPins(frozenset({0}), frozenset({"p_tenant"}))},
    )
    conn = await connect(two_clinics, policy=policy)
    names: list[str] = []
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            names = [r[0] for r in await conn.fetch(EVERY_CLINIC)]
        with tenant(1):  # the function pinned by the request's tenant still runs
            assert [r[0] for r in await conn.fetch('SELECT first_name FROM "PeopleOf"($1)', 1)]
    finally:
        await conn.close()
    assert "Carla" not in names
