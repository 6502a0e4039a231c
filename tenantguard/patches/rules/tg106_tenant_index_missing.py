"""TG106 tenant-index-missing

## What it does
Finds a tenant table of the patch set with no index (or primary key / unique constraint) whose
first column is the tenant column.

## Why is this bad?
Every query on a tenant table filters by tenant first. Without an index leading with it, each
clinic's request scans every clinic's rows: slow at first, then an outage as tenants grow.

## Example
```sql
CREATE TABLE IF NOT EXISTS notes (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, body text);
```

## Use instead
```sql
CREATE INDEX IF NOT EXISTS notes_tenant_idx ON notes (tenant_id);
-- or a composite key: CONSTRAINT notes_tenant_id_id_key UNIQUE (tenant_id, id)
```

## Options
`tenant_column`, `global_tables`.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.patches.rules import PatchContext
from tenantguard.patches.rules.tg105_tenant_column_missing import tenant_tables_created_here

RULE = RuleInfo("TG106", "tenant-index-missing", Severity.ERROR)


def check(ctx: PatchContext) -> Iterator[Finding]:
    column = ctx.policy.tenant_column
    for name, line, col in tenant_tables_created_here(ctx):
        shape = ctx.tables[name]
        if column in shape.columns and column not in shape.index_leads:
            yield ctx.finding(
                RULE,
                line,
                col,
                f"no index of {name} leads with {column}",
                f"CREATE INDEX IF NOT EXISTS {name}_{column}_idx ON {name} ({column}, …)",
            )
