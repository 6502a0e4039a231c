"""TG216 rule-rewrites-writes

## What it does
Finds a rule on a write (`CREATE RULE … AS ON INSERT | UPDATE | DELETE TO … DO [INSTEAD | ALSO]
…`) that the proof cannot follow: one on a tenant table or on a view of tenant rows, or one whose
actions name a tenant table (or a view or a function handing out tenant rows) or call a function
of the schema. `DO INSTEAD NOTHING` is not reported. A view's `_RETURN` rule is its query, read
as the view.

## Why is this bad?
PostgreSQL rewrites a statement on such a relation into the rule's actions, run in place of it
(`INSTEAD`) or beside it (`ALSO`). The proof reads the statement sent: `UPDATE inbox SET body = $2
WHERE org = $1` is pinned to one tenant, yet a rule `ON UPDATE TO inbox DO INSTEAD UPDATE
projects SET name = NEW.body` renames every tenant's projects. `check` (and the audit's own
reading of statements) reads a rule's actions since round 12 and reports a write that fires one
unpinned (TG005); this rule reports the rule itself, wherever it is fired from.

## Example
```sql
CREATE RULE inbox_redirect AS ON UPDATE TO inbox
    DO INSTEAD UPDATE projects SET name = NEW.body;
```

## Use instead
```sql
DROP RULE inbox_redirect ON inbox;
-- and send the write the rule stood for, pinned:
--   UPDATE projects SET name = $2 WHERE org = $1 AND id = $3
```
A rule the database needs on purpose is accepted with a reason in its comment: `COMMENT ON RULE
inbox_redirect ON inbox IS 'tenantguard: ignore[TG216] -- …'`.

## Options
`tenant_column`, `tenant_tables`, `global_tables`.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.model import Relation
from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity

RULE = RuleInfo("TG216", "rule-rewrites-writes", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    functions = {f.oid: f for f in ctx.catalog.functions}
    for relation in ctx.catalog.relations:
        for rule in relation.rules:
            if not rule.acts:
                continue  # DO INSTEAD NOTHING: the write is dropped
            named = [
                r.qualified
                for r in (ctx.catalog.relation(oid) for oid in rule.relations)
                if r is not None and _hands_out_tenant_rows(ctx, r)
            ]
            called = [functions[oid].signature for oid in rule.functions if oid in functions]
            reasons = []
            if _hands_out_tenant_rows(ctx, relation):
                reasons.append(f"{relation.qualified} holds tenant rows")
            if named:
                reasons.append(f"its actions name {', '.join(named[:3])}")
            if called:
                reasons.append(f"its actions call {', '.join(called[:3])}")
            if not reasons:
                continue
            run = "in place of" if rule.instead else "beside"
            yield from ctx.report(
                RULE,
                relation,
                f"{rule.describe()} of {relation.qualified} runs its own statements {run} the "
                f"write sent ({'; '.join(reasons)}): what it writes, and for which tenant, is "
                "out of the proof's sight",
                f"DROP RULE {rule.describe().split()[1]} ON {relation.qualified}, and send the "
                "write it stood for, pinned to one tenant",
                on=rule,
            )


def _hands_out_tenant_rows(ctx: AuditContext, relation: Relation) -> bool:
    return (
        ctx.is_tenant_table(relation)
        or relation.name in ctx.tenant_relation_names
        or (relation.is_view and bool(ctx.tenant_tables_read(relation)))
    )
