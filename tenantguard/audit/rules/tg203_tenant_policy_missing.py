"""TG203 tenant-policy-missing

## What it does
Finds a tenant table on which no Row-Level Security policy that applies to the audited role
(`--role`, by default the connecting role) compares the tenant column with the tenant setting
(`current_setting('app.tenant_id')`, any cast, also as `NULLIF(…, '')`) — in USING or WITH CHECK,
for any command.

The comparison is proven by the same proof as `tenantguard check`, asked about
`SELECT 1 FROM <table> WHERE <the policy's expression>`: the table's reference must be pinned by
a tenant expression. A literal (`tenant_id = 5`) is one fixed tenant for every session, a
subquery (`tenant_id IN (SELECT …)`) is not a pin, an `OR` must pin in every branch.

## Why is this bad?
RLS enabled with no tenant policy either refuses every row (no policy: PostgreSQL's default) or
lets through whatever the other policies let through. Either way it does not keep one clinic's
rows from another: the isolation rests on the application alone.

## Example
```sql
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
CREATE POLICY clinic_staff ON patients USING (current_user = 'clinic_app');
```

## Use instead
```sql
CREATE POLICY tenant_isolation ON patients
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
```

## Options
`tenant_column`, `tenant_expressions` (what counts as the tenant setting), `shared_rows`
(`OR tenant_id IS NULL` accepted), `allow_multi_tenant`.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.rowpolicy import COMMANDS, checked_expressions, covers
from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name

RULE = RuleInfo("TG203", "tenant-policy-missing", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    role = sql_name(ctx.catalog.role.name)
    column = sql_name(ctx.policy.tenant_column)
    for table in ctx.tenant_tables:
        applying = [p for p in table.policies if p.may_apply]
        if any(
            expression is not None and ctx.policies.verdict(table.name, expression).pins
            for policy in applying
            for command in COMMANDS
            if covers(command, policy.command)
            for expression in checked_expressions(command, policy.using, policy.check)
        ):
            continue
        if not table.policies:
            what = "has no Row-Level Security policy"
        elif not applying:
            what = f"has no Row-Level Security policy for role {role}"
        else:
            what = (
                f"has no Row-Level Security policy for role {role} that compares {column} "
                f"with {ctx.policy.tenant_expressions[0]}"
            )
        column_type = table.column(ctx.policy.tenant_column)
        cast = column_type.type if column_type is not None else "bigint"
        setting = _setting_name(ctx.policy.tenant_expressions[0])
        value = f"NULLIF(current_setting('{setting}', true), '')::{cast}"
        yield from ctx.report(
            RULE,
            table,
            f"tenant table {table.qualified} {what}",
            f"CREATE POLICY tenant_isolation ON {table.qualified} USING ({column} = {value}) "
            f"WITH CHECK ({column} = {value})",
        )


def _setting_name(expression: str) -> str:
    """`app.tenant_id` of `current_setting('app.tenant_id')`, for the suggested policy."""
    start = expression.find("'")
    end = expression.find("'", start + 1)
    return expression[start + 1 : end] if 0 <= start < end else "app.tenant_id"
