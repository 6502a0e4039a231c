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
    from tests.proof.test_schema import SCHEMA, policy_for

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


# --- PostgreSQL folds an unquoted name's ASCII letters only ----------------------------------

# `CREATE TABLE Überweisungen` makes the table `Überweisungen` (a UTF-8 database keeps `Ü`):
# the proof folded the unquoted name to `überweisungen`, another table, and proved nothing
TRANSFERS = (
    "CREATE TABLE tenants (id bigserial PRIMARY KEY);\n"
    "CREATE TABLE Überweisungen (id bigserial, tenant_id bigint NOT NULL "
    "REFERENCES tenants(id), betrag int);\n"
)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM Überweisungen", ["TG001"]),
        ("SELECT * FROM ÜBERWEISUNGEN", ["TG001"]),  # folds to the same name
        ('SELECT * FROM "Überweisungen"', ["TG001"]),
        ("SELECT * FROM Überweisungen WHERE tenant_id = $1", []),
        ("SELECT * FROM überweisungen", []),  # another table, as PostgreSQL reads it
    ],
)
def test_an_unquoted_non_ascii_name_folds_as_postgresql_folds_it(
    tmp_path: Path, sql: str, expected: list[str]
) -> None:
    from tests.proof.test_schema import policy_for

    policy = policy_for(tmp_path, TRANSFERS)
    assert isinstance(policy, Policy) and policy.tenant_tables == {"Überweisungen"}
    assert [f.code for f in analyze_statement(sql, policy).findings] == expected
    # the configuration reads an unquoted name the same way
    listed = Policy(tenant_tables={"Überweisungen"}, global_tables={"tenants"})
    assert listed.tenant_tables == {"Überweisungen"}
    assert [f.code for f in analyze_statement(sql, listed).findings] == expected


async def test_the_guard_does_not_hand_out_transfers_named_without_quotes(database: str) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(TRANSFERS)
        await owner.execute("INSERT INTO tenants VALUES (1), (2)")
        await owner.execute("INSERT INTO Überweisungen (tenant_id, betrag) VALUES (1, 10), (2, 20)")
        # the server's own reading: the unquoted name is the table with `Ü`
        assert await owner.fetchval('SELECT count(*) FROM "Überweisungen"') == 2
    finally:
        await owner.close()
    policy = Policy(tenant_tables={'"Überweisungen"'}, global_tables={"tenants"})
    conn = await connect(database, policy=policy)
    amounts: list[int] = []
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            amounts = [r[0] for r in await conn.fetch("SELECT betrag FROM Überweisungen")]
        with tenant(1):  # pinned, it runs
            pinned = "SELECT betrag FROM Überweisungen WHERE tenant_id = $1"
            assert [r[0] for r in await conn.fetch(pinned, 1)] == [10]
    finally:
        await conn.close()
    assert 20 not in amounts
