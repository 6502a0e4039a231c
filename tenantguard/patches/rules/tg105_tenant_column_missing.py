"""TG105 tenant-column-missing

## What it does
Finds a table the patch set creates that is not a global table (`global_tables`) but has no
tenant column, or has it without NOT NULL (in its CREATE TABLE or any later patch).

## Why is this bad?
Every core table carries the tenant: it is the only thing that keeps one clinic's clinical data
away from another. A table without it cannot be filtered by tenant; a nullable tenant column
lets rows belong to no clinic — and to every query that forgets the filter.

## Example
```sql
CREATE TABLE IF NOT EXISTS notes (id bigserial PRIMARY KEY, body text);
```

## Use instead
```sql
CREATE TABLE IF NOT EXISTS notes (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    body text
);
```

## Options
`tenant_column`, `global_tables` (tables that hold no tenant rows, like `tenants` itself).
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.patches.files import LEDGER
from tenantguard.patches.rules import PatchContext

RULE = RuleInfo("TG105", "tenant-column-missing", Severity.ERROR)


def tenant_tables_created_here(ctx: PatchContext) -> Iterator[tuple[str, int, int]]:
    for name, shape in ctx.tables.items():
        if shape.path != ctx.source.path or name == LEDGER or name in ctx.policy.global_tables:
            continue
        yield name, shape.line, shape.column


def check(ctx: PatchContext) -> Iterator[Finding]:
    column = ctx.policy.tenant_column
    for name, line, col in tenant_tables_created_here(ctx):
        shape = ctx.tables[name]
        if column not in shape.columns:
            yield ctx.finding(
                RULE,
                line,
                col,
                f"table {name} has no {column} column",
                f"add `{column} bigint NOT NULL REFERENCES tenants (id)`, or list {name} in "
                "global_tables if it holds no tenant's rows",
            )
        elif column not in shape.not_null:
            yield ctx.finding(
                RULE,
                line,
                col,
                f"{name}.{column} is nullable: rows could belong to no tenant",
                f"declare {column} NOT NULL",
            )
