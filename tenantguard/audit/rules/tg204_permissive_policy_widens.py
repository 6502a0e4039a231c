"""TG204 permissive-policy-widens

## What it does
Finds a permissive Row-Level Security policy on a tenant table, applying to the audited role,
that lets a command through without comparing the tenant column with the tenant setting:
`USING (true)`, a policy on another column, a fixed tenant (`tenant_id = 5`), an `OR` with a
branch that does not pin. A restrictive policy (`AS RESTRICTIVE`) that does pin the tenant for
the same command neutralises it: restrictive policies are AND-ed with the permissive ones.

## Why is this bad?
PostgreSQL OR-s the permissive policies of a command together. One policy that admits rows of
every tenant widens the tenant policy next to it to those rows — typically an "admins see
everything" or a `FOR SELECT USING (true)` added for a report, which then applies to the
application's role too.

## Example
```sql
CREATE POLICY tenant_isolation ON patients USING (tenant_id = current_setting('app.tenant_id')::bigint);
CREATE POLICY reporting ON patients FOR SELECT USING (true);
```

## Use instead
```sql
-- give the report its own role, and the policy only to it
CREATE POLICY reporting ON patients FOR SELECT TO reporting_role USING (true);
-- or make the tenant policy restrictive, so that nothing widens it
CREATE POLICY tenant_isolation ON patients AS RESTRICTIVE
    USING (tenant_id = current_setting('app.tenant_id')::bigint);
```

## Options
`tenant_column`, `tenant_expressions`, `shared_rows`, `allow_multi_tenant`. A policy for roles
the audited role is not a member of does not apply to it and is not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.model import COMMANDS as COMMAND_NAMES
from tenantguard.audit.model import Relation, RowPolicy
from tenantguard.audit.rowpolicy import COMMANDS, checked_expressions, covers
from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name

RULE = RuleInfo("TG204", "permissive-policy-widens", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    for table in ctx.tenant_tables:
        for policy in table.policies:
            if not policy.permissive or not policy.may_apply:
                continue
            widened: list[str] = []
            reasons: list[str] = []
            for command in COMMANDS:
                if not covers(command, policy.command) or _restricted(ctx, table, command):
                    continue
                for expression in checked_expressions(command, policy.using, policy.check):
                    if expression is None:
                        continue  # no row through this policy for this command
                    verdict = ctx.policies.verdict(table.name, expression)
                    if not verdict.pins:
                        widened.append(COMMAND_NAMES[command])
                        reasons.append(_clause(policy, expression) + " " + verdict.reason)
                        break
            if not widened:
                continue
            others = [sql_name(p.name) for p in table.policies if p is not policy and p.may_apply]
            widens = (
                f", and permissive policies are OR-ed: it widens {', '.join(others)}"
                if (others)
                else ""
            )
            yield from ctx.report(
                RULE,
                table,
                f"{policy.describe()} on {table.qualified} lets {'/'.join(widened)} through "
                f"for every tenant: {reasons[0]}{widens}",
                f"add `{sql_name(ctx.policy.tenant_column)} = "
                f"{ctx.policy.tenant_expressions[0]}` to it, give it only to the roles that "
                "need it (TO role), or pin the tenant in a policy AS RESTRICTIVE",
                on=policy,
            )


def _clause(policy: RowPolicy, expression: str) -> str:
    return (
        "its WITH CHECK"
        if expression == policy.check and expression != policy.using
        else ("its USING")
    )


def _restricted(ctx: AuditContext, table: Relation, command: str) -> bool:
    """A restrictive policy that surely applies pins the tenant for this command."""
    return any(
        not policy.permissive
        and policy.applies
        and covers(command, policy.command)
        and all(
            expression is not None and ctx.policies.verdict(table.name, expression).pins
            for expression in checked_expressions(command, policy.using, policy.check)
        )
        for policy in table.policies
    )
