"""TG210 no-tenant-leading-index

## What it does
Finds a tenant table of the live database with no valid index (primary key and unique
constraints included) whose first column is the tenant column. The live counterpart of TG106,
which checks the patches.

## Why is this bad?
Every statement on a tenant table filters by tenant first, and so does every tenant policy.
Without an index leading with the tenant column, each clinic's request scans every clinic's
rows: slow at first, then an outage as tenants grow — and a long scan under RLS holds locks
other tenants wait for.

## Example
```sql
CREATE TABLE notes (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, body text);
```

## Use instead
```sql
CREATE INDEX CONCURRENTLY notes_tenant_idx ON notes (tenant_id);
```

## Options
`tenant_column`, `tenant_tables`, `global_tables`.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name

RULE = RuleInfo("TG210", "no-tenant-leading-index", Severity.WARNING)


def check(ctx: AuditContext) -> Iterator[Finding]:
    tenant = ctx.policy.tenant_column
    for table in ctx.tenant_tables:
        if table.column(tenant) is None:
            continue
        if any(k.valid and k.columns[:1] == (tenant,) for k in table.keys):
            continue
        invalid = [k for k in table.keys if not k.valid and k.columns[:1] == (tenant,)]
        note = f" ({invalid[0].describe()} is not valid: its build failed)" if invalid else ""
        yield from ctx.report(
            RULE,
            table,
            f"no index of tenant table {table.qualified} leads with {sql_name(tenant)}{note}: "
            "every tenant's statement scans every tenant's rows",
            f"CREATE INDEX CONCURRENTLY ON {table.qualified} ({sql_name(tenant)}, …)",
        )
