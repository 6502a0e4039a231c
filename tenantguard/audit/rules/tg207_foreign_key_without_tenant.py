"""TG207 foreign-key-without-tenant

## What it does
Finds a foreign key from a tenant table to a tenant table that does not pair the tenant column
with the tenant column (`FOREIGN KEY (patient_id) REFERENCES patients (id)`), or pairs it while
the referencing tenant column may be NULL under `MATCH SIMPLE` (a NULL in any column of the key
switches the whole check off).

## Why is this bad?
The key lets a row of one clinic point at a row of another: an appointment of clinic 1 for a
patient of clinic 2. A join along it (`JOIN patients p ON p.id = a.patient_id`) then serves the
other clinic's patient to whoever reads the appointment, and the proof cannot follow such a key
to pin the join. With the tenant column in the key, the database refuses the cross-tenant row.

## Example
```sql
ALTER TABLE appointments ADD FOREIGN KEY (patient_id) REFERENCES patients (id);
```

## Use instead
```sql
ALTER TABLE patients ADD UNIQUE (tenant_id, id);
ALTER TABLE appointments
    ADD FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id);
```

## Options
`tenant_column`, `tenant_tables`, `global_tables` (a key to a global table, such as the tenant
registry itself, is not reported).
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.model import qualified
from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name

RULE = RuleInfo("TG207", "foreign-key-without-tenant", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    tenant = ctx.policy.tenant_column
    for table in ctx.tenant_tables:
        for key in table.foreign_keys:
            target = ctx.catalog.relation_named(key.ref_schema, key.ref_table)
            if target is None or not ctx.is_tenant_table(target):
                continue
            pairs = dict(zip(key.columns, key.ref_columns, strict=False))
            column = table.column(tenant)
            referenced = f"{qualified(key.ref_schema, key.ref_table)} ({_names(key.ref_columns)})"
            shown = f"foreign key {sql_name(key.name)} ({_names(key.columns)}) → {referenced}"
            if pairs.get(tenant) != tenant:
                message = (
                    f"{shown} does not pair {sql_name(tenant)} with {sql_name(tenant)}: a row "
                    "of one tenant can point at another tenant's row"
                )
            elif column is not None and not column.not_null and not key.match_full:
                message = (
                    f"{shown} is MATCH SIMPLE and {table.qualified}.{sql_name(tenant)} is "
                    "nullable: a row with no tenant can point at any tenant's row"
                )
            else:
                continue
            rest = [c for c in key.columns if c != tenant]
            ref_rest = [pairs[c] for c in rest]
            yield from ctx.report(
                RULE,
                table,
                message,
                f"make it FOREIGN KEY ({_names([tenant, *rest])}) REFERENCES "
                f"{qualified(key.ref_schema, key.ref_table)} ({_names([tenant, *ref_rest])}), "
                f"with {sql_name(tenant)} NOT NULL (it needs UNIQUE ({_names([tenant, *ref_rest])})"
                f" on {qualified(key.ref_schema, key.ref_table)})",
                on=key,
            )


def _names(columns: object) -> str:
    return ", ".join(sql_name(c) for c in columns)  # type: ignore[attr-defined]
