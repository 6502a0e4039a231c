"""TG211 view-without-security-invoker

## What it does
Finds a view that reads tenant rows — a tenant table, or a view that reads one, at any depth —
without `security_invoker` (PostgreSQL 15 and later), and a materialized view that stores them.

## Why is this bad?
A view checks permissions and Row-Level Security as its owner, not as the role that queries it,
unless it is created `WITH (security_invoker = on)`. Owned by the role that ran the migrations —
usually a superuser or the tables' owner — it reads every tenant's rows past every policy, and
hands them to whoever may select from it. A materialized view is a table of every tenant's rows
that Row-Level Security cannot cover at all.

## Example
```sql
CREATE VIEW upcoming AS
    SELECT a.*, p.first_name FROM appointments a JOIN patients p ON p.id = a.patient_id;
```

## Use instead
```sql
CREATE VIEW upcoming WITH (security_invoker = on) AS
    SELECT a.*, p.first_name FROM appointments a JOIN patients p ON p.id = a.patient_id;
-- or: ALTER VIEW upcoming SET (security_invoker = on);
```
Replace a materialized view of tenant rows with a table that has the tenant column and a tenant
policy, refreshed by a job.

## Options
`tenant_column`, `tenant_tables`, `global_tables`.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.model import MATERIALIZED
from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name

RULE = RuleInfo("TG211", "view-without-security-invoker", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    for view in ctx.catalog.relations:
        if not view.is_view or (view.security_invoker and view.kind != MATERIALIZED):
            continue
        tables = ctx.tenant_tables_read(view)
        if not tables:
            continue
        shown = ", ".join(t.qualified for t in tables[:3]) + (", …" if len(tables) > 3 else "")
        if view.kind == MATERIALIZED:
            yield from ctx.report(
                RULE,
                view,
                f"materialized view {view.qualified} stores the rows of {shown} for every "
                "tenant: Row-Level Security cannot apply to it",
                "replace it with a table that has the tenant column and a tenant policy, or a "
                "view WITH (security_invoker = on)",
            )
            continue
        version = (
            " (PostgreSQL before 15 has no security_invoker: upgrade, or replace the view)"
            if ctx.catalog.server_version < 150000
            else ""
        )
        yield from ctx.report(
            RULE,
            view,
            f"view {view.qualified} reads {shown} as its owner {sql_name(view.owner)}, not as "
            f"the role that queries it: Row-Level Security is checked for the owner{version}",
            f"ALTER VIEW {view.qualified} SET (security_invoker = on)",
        )
