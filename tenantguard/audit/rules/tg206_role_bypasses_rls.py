"""TG206 role-bypasses-rls

## What it does
Finds that the audited role (`--role`, by default the connecting role) is a superuser, has
BYPASSRLS, or is a member of a role that has either (it can `SET ROLE` to it).

## Why is this bad?
Row-Level Security never applies to superusers and BYPASSRLS roles, forced or not: every policy
of every tenant table is void for the application. It is also the usual state of a development
setup that reached production unchanged.

## Example
```sql
CREATE ROLE clinic_app LOGIN SUPERUSER;
GRANT postgres TO clinic_app;
```

## Use instead
```sql
CREATE ROLE clinic_app LOGIN NOSUPERUSER NOBYPASSRLS;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO clinic_app;
```
Audit the role the application uses: `tenantguard audit --role clinic_app` (an auditing
connection as a superuser is fine; the application's is not).

## Options
`tenantguard audit --role ROLE`.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name

RULE = RuleInfo("TG206", "role-bypasses-rls", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    role = ctx.catalog.role
    name = sql_name(role.name)
    reasons = []
    if role.superuser:
        reasons.append("is a superuser")
    if role.bypassrls:
        reasons.append("has BYPASSRLS")
    for other, attribute in role.through:
        what = "a superuser" if attribute == "superuser" else "BYPASSRLS"
        reasons.append(f"can SET ROLE {sql_name(other)} ({what})")
    if not reasons:
        return
    yield from ctx.report(
        RULE,
        role,
        f"role {name} {' and '.join(reasons)}: Row-Level Security never applies to it",
        f"serve the application as a role with NOSUPERUSER NOBYPASSRLS and no such membership "
        f"(ALTER ROLE {name} NOSUPERUSER NOBYPASSRLS), or audit the application's role with "
        "--role",
    )
