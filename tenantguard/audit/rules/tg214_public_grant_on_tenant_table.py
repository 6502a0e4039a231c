"""TG214 public-grant-on-tenant-table

## What it does
Finds a privilege on a tenant table, or on one of its columns, granted to `PUBLIC`.

## Why is this bad?
`PUBLIC` is every role of the cluster, today's and tomorrow's: a reporting role, another
application's role, a role created for a contractor. Isolation then rests on Row-Level Security
alone, for roles nobody audited — and with RLS off (TG201), on nothing.

## Example
```sql
GRANT SELECT ON patients TO PUBLIC;
```

## Use instead
```sql
REVOKE ALL ON patients FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON patients TO clinic_app;
```

## Options
`tenant_column`, `tenant_tables`, `global_tables`.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity

RULE = RuleInfo("TG214", "public-grant-on-tenant-table", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    for table in ctx.tenant_tables:
        if not table.public_grants:
            continue
        yield from ctx.report(
            RULE,
            table,
            f"tenant table {table.qualified} grants {', '.join(table.public_grants)} to PUBLIC: "
            "every role of the server has it",
            f"REVOKE ALL ON {table.qualified} FROM PUBLIC, then GRANT the application's role "
            "what it needs",
        )
