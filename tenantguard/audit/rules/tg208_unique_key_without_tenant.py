"""TG208 unique-key-without-tenant

## What it does
Finds a primary key, unique constraint or unique index on a tenant table whose key columns do
not include the tenant column (an expression of it does not count). A key made only of columns
that a sequence fills (identity columns, `DEFAULT nextval(…)`: surrogate ids) is not reported.

## Why is this bad?
Uniqueness then spans tenants. One clinic's row blocks a value for every other clinic (two
clinics cannot both have a patient with DNI 12345678), and the unique violation answers a
question across tenants: "does any clinic have this phone number?" is one failed INSERT away.
An upsert on such a key (`ON CONFLICT (dni) DO UPDATE`) overwrites the other clinic's row.

A surrogate id drawn from one sequence collides with nothing unless a statement writes the id
itself, and tells nothing the sequence does not.

## Example
```sql
CREATE UNIQUE INDEX patients_dni_key ON patients (dni);
```

## Use instead
```sql
CREATE UNIQUE INDEX patients_dni_key ON patients (tenant_id, dni);
```
When a key spans tenants on purpose (a webhook's page id must route to exactly one clinic), say
so where the key is defined:
```sql
COMMENT ON INDEX integration_tokens_provider_page_key IS
    'tenantguard: ignore[TG208] -- a page routes to one clinic: the key spans clinics on purpose';
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

RULE = RuleInfo("TG208", "unique-key-without-tenant", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    tenant = ctx.policy.tenant_column
    for table in ctx.tenant_tables:
        for key in table.keys:
            if not key.unique or key.inherited or tenant in key.plain_columns:
                continue
            if None not in key.columns and all(
                (column := table.column(name)) is not None and column.sequence_filled
                for name in key.plain_columns
            ):
                continue  # a surrogate id from a sequence
            columns = ", ".join(sql_name(c) if c else "(expression)" for c in key.columns)
            yield from ctx.report(
                RULE,
                table,
                f"{key.describe()} on {table.qualified} does not include {sql_name(tenant)}: "
                "one tenant's value blocks it for every other tenant, and a failed insert tells "
                "one tenant what another holds",
                f"make the key ({sql_name(tenant)}, {columns}); if it spans tenants on purpose, "
                f"say why in its comment: 'tenantguard: ignore[{RULE.code}] -- reason'",
                on=key,
            )
