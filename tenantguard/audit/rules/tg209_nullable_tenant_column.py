"""TG209 nullable-tenant-column

## What it does
Finds a tenant table whose tenant column accepts NULL.

## Why is this bad?
A row with no tenant belongs to nobody: no tenant policy admits it (`NULL = 5` is not true), so
it vanishes for the clinic that wrote it, while every statement that filters with
`IS NOT DISTINCT FROM`, `COALESCE` or `OR tenant_id IS NULL` serves it to every clinic. Composite
foreign keys that carry the tenant column do not check a row whose tenant is NULL
(`MATCH SIMPLE`).

## Example
```sql
CREATE TABLE notes (id bigserial PRIMARY KEY, tenant_id bigint REFERENCES tenants (id));
```

## Use instead
```sql
ALTER TABLE notes ALTER COLUMN tenant_id SET NOT NULL;
```

## Options
`tenant_column`; with `shared_rows = true` (rows of no tenant are public reference rows, by
design) a nullable tenant column is not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name

RULE = RuleInfo("TG209", "nullable-tenant-column", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    if ctx.policy.shared_rows:
        return
    tenant = sql_name(ctx.policy.tenant_column)
    for table in ctx.tenant_tables:
        column = table.column(ctx.policy.tenant_column)
        if column is None or column.not_null:
            continue
        yield from ctx.report(
            RULE,
            table,
            f"{table.qualified}.{tenant} is nullable: a row can belong to no tenant",
            f"ALTER TABLE {table.qualified} ALTER COLUMN {tenant} SET NOT NULL (set the rows "
            f"that have none first: SELECT count(*) FROM {table.qualified} WHERE {tenant} IS NULL)",
        )
