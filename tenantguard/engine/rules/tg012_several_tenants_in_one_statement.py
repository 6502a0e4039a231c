"""TG012 several-tenants-in-one-statement

## What it does
Finds a statement that pins tenant columns to two different values: two parameters (`$1` and
`$2`), a parameter and a literal, a parameter and the tenant expression, two positional
placeholders (`%s`, `?`: each is a parameter of its own), two named placeholders of different
keys — a key is what the driver looks up, every character between `%(` and `)`: `%(tenant)s`,
`%(tenant )s`, `%("tenant")s` and `%(Tenant)s` are four parameters. Every pin counts — in the
WHERE, a join's ON, a subquery, a CTE, a branch of a set operation, the values an INSERT writes,
what a derived table projects as its tenant column, and a read of a view or function of the
schema sources pinned inside by the tenant setting (a pin to the tenant expression).

## Why is this bad?
Each reference may be pinned, yet to different tenants: `INSERT INTO notes (tenant_id, body)
SELECT $1, body FROM notes WHERE tenant_id = $2` copies tenant `$2`'s rows into tenant `$1`;
`… UNION ALL SELECT … WHERE tenant_id = 7` serves a "demo" tenant's rows to everyone. Whoever
fills the parameters decides which tenants meet in one statement — the proof cannot show it is
one. The runtime guard checks every bound pin against the request's tenant; the static proof
asks for one value.

## Example
```sql
SELECT p.name, a.starts_at
FROM patients p JOIN appointments a ON a.patient_id = p.id
WHERE p.tenant_id = $1 AND a.tenant_id = $2;
```

## Use instead
```sql
SELECT p.name, a.starts_at
FROM patients p JOIN appointments a ON a.patient_id = p.id AND a.tenant_id = p.tenant_id
WHERE p.tenant_id = $1;
```
Repeat the same parameter (`$1` twice, or one named placeholder `%(tenant_id)s`), or chain
the tenant columns to one pin.

## Options
`allow_multi_tenant = true` accepts statements that span tenants (with TG008's filters).
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity

RULE = RuleInfo("TG012", "several-tenants-in-one-statement", Severity.ERROR)


def check(ctx: Context) -> Iterator[Finding]:
    proof = ctx.proof
    if proof is None or ctx.in_patch or ctx.policy.allow_multi_tenant:
        return
    tenants = proof.distinct_tenants()
    if len(tenants) < 2:
        return
    first = tenants[0][0].describe()
    for value, node in tenants[1:]:
        yield ctx.finding(
            RULE,
            node,
            f"the statement pins tenants to {first} and to {value.describe()}: one statement, "
            "one tenant",
            f"pin every tenant column to {first} (the same parameter), or chain it to a pinned "
            "tenant column",
        )
