"""TG008 multi-tenant-filter

## What it does
Finds a tenant-table reference whose only tenant filter admits several tenants at once:
`tenant_id = ANY($1)`, `tenant_id IN ($1, $2)`.

## Why is this bad?
The value check of the runtime guard and the reviewer both expect one tenant per statement. A
list parameter is filled by code far from the query; one wrong element leaks another tenant's
rows. Cross-tenant reports belong in explicitly unscoped maintenance code.

## Example
```sql
SELECT * FROM patients WHERE tenant_id = ANY($1);
```

## Use instead
```sql
SELECT * FROM patients WHERE tenant_id = $1;
```

## Options
`allow_multi_tenant = true` accepts these filters as pins.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name

RULE = RuleInfo("TG008", "multi-tenant-filter", Severity.ERROR)


def check(ctx: Context) -> Iterator[Finding]:
    proof = ctx.proof
    if proof is None or ctx.in_patch or ctx.policy.allow_multi_tenant:
        return
    column = ctx.policy.tenant_column
    for source in proof.unpinned:
        if source.multi_tenant:
            yield ctx.finding(
                RULE,
                source.node.this,
                f"{source.describe()} in {source.block.label} is filtered on several tenants at "
                f"once",
                f"pin one tenant (`{sql_name(source.name)}.{sql_name(column)} = $n`), or set "
                "allow_multi_tenant "
                f"if cross-tenant reads are intended here",
            )
