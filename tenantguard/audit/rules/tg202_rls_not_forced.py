"""TG202 rls-not-forced

## What it does
Finds a tenant table with Row-Level Security enabled but not forced
(`relforcerowsecurity` off).

## Why is this bad?
Without `FORCE ROW LEVEL SECURITY`, RLS does not apply to the table's owner. An application
(or a job, or a migration tool reused for a report) that connects as the owner reads and writes
every tenant's rows as if RLS were off — and nothing says so.

## Example
```sql
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
```

## Use instead
```sql
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients FORCE ROW LEVEL SECURITY;
```
Superusers and roles with BYPASSRLS are never subject to RLS, forced or not (TG206).

## Options
`tenant_column`, `tenant_tables`, `global_tables`.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name

RULE = RuleInfo("TG202", "rls-not-forced", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    for table in ctx.tenant_tables:
        if not table.rls or table.force_rls:
            continue
        yield from ctx.report(
            RULE,
            table,
            f"Row-Level Security on {table.qualified} is enabled but not forced: its owner "
            f"{sql_name(table.owner)} reads and writes every tenant's rows",
            f"ALTER TABLE {table.qualified} FORCE ROW LEVEL SECURITY",
        )
