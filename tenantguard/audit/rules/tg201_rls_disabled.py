"""TG201 rls-disabled

## What it does
Finds a tenant table of the live database (a table with the tenant column, or one named in
`tenant_tables`) on which Row-Level Security is not enabled. Partitions count one by one: a
query that names a partition directly gets that partition's policies, not its parent's.

## Why is this bad?
The proof keeps the application's own statements to one tenant. Everything else that reaches
the database — a report written by hand, another service's ORM, a psql session on the
application's role, a statement the proof could not see — reads every clinic's rows. With RLS
enabled and a tenant policy, PostgreSQL itself refuses them.

## Example
```sql
CREATE TABLE patients (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, name text);
```

## Use instead
```sql
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON patients
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
```
`tenantguard.runtime.rls_policy_sql(tables)` writes this as an idempotent patch.

## Options
`tenant_column`, `tenant_tables`, `global_tables` (tables that hold no tenant's rows).
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.model import KIND_NAMES
from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity

RULE = RuleInfo("TG201", "rls-disabled", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    for table in ctx.tenant_tables:
        if table.rls:
            continue
        yield from ctx.report(
            RULE,
            table,
            f"Row-Level Security is not enabled on tenant {KIND_NAMES[table.kind]} "
            f"{table.qualified}: any statement that forgets the tenant reads every tenant's rows",
            f"ALTER TABLE {table.qualified} ENABLE ROW LEVEL SECURITY, FORCE it, and add a tenant "
            "policy (tenantguard.runtime.rls_policy_sql writes the patch)",
        )
