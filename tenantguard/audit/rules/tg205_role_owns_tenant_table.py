"""TG205 role-owns-tenant-table

## What it does
Finds a tenant table owned by the audited role (`--role`, by default the connecting role), or by
a role it is a member of.

## Why is this bad?
Row-Level Security does not apply to a table's owner unless it is forced (TG202), and even
forced, the owner can switch it off: `ALTER TABLE … NO FORCE ROW LEVEL SECURITY`,
`DISABLE ROW LEVEL SECURITY`, `DROP POLICY`. An application role that owns its tables is one
injected statement away from every tenant's rows. Ownership belongs to the role that runs the
patch pipeline.

## Example
```sql
-- the application connects as the role that created the schema
ALTER TABLE patients OWNER TO clinic_app;
```

## Use instead
```sql
ALTER TABLE patients OWNER TO clinic_owner;  -- runs migrations, never serves requests
GRANT SELECT, INSERT, UPDATE, DELETE ON patients TO clinic_app;
```

## Options
`tenant_column`, `tenant_tables`, `global_tables`; `tenantguard audit --role ROLE` names the
role the application connects as.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name

RULE = RuleInfo("TG205", "role-owns-tenant-table", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    role = ctx.catalog.role.name
    if ctx.catalog.role.superuser:
        return  # a superuser is a member of every role: TG206 says what matters
    for table in ctx.tenant_tables:
        if not table.owned_by_role:
            continue
        through = "" if table.owner == role else f" through its membership in {table.owner}"
        yield from ctx.report(
            RULE,
            table,
            f"role {sql_name(role)} owns tenant table {table.qualified}{through}: it can turn "
            "Row-Level Security off (NO FORCE, DISABLE, DROP POLICY)",
            f"ALTER TABLE {table.qualified} OWNER TO the role that runs the patches, and GRANT "
            f"{sql_name(role)} only SELECT, INSERT, UPDATE, DELETE",
        )
