"""Round 5 attacks on the tenant-table screen (`Context.may_name_tenant_table`): statements
that name a tenant table the screen does not see, so no proof is built and no rule runs.

Each leak is shown by the analyzer's verdict and, on a real PostgreSQL, by the rows a
`tenant(1)` request gets through the runtime guard in enforce mode.
"""

from __future__ import annotations

import contextlib

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.engine.analyze import analyze_statement, parse_statement
from tenantguard.engine.context import Context
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
