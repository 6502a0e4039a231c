"""TG004 tenant-reassignment

## What it does
Finds `UPDATE … SET tenant_id = …`, `ON CONFLICT … DO UPDATE SET tenant_id = …` and
`MERGE … WHEN MATCHED THEN UPDATE SET tenant_id = …` on a tenant table — and, where the schema
sources generate the tenant column (`org uuid GENERATED ALWAYS AS (owner) STORED`), a SET of a
column its expression reads (`SET owner = $2`): PostgreSQL computes the tenant column again.
The names read follow `RENAME COLUMN` and the table's `RENAME TO` (the old names stay flagged
too: fail closed).

## Why is this bad?
Changing the tenant column moves rows from one tenant to another: a patient's history appears in
another clinic. Even when the value equals the current tenant, the statement says something the
application must never do; moving data between tenants is a maintenance task for the patch
pipeline.

One spelling changes nothing and is accepted: `ON CONFLICT (tenant_id, …) DO UPDATE SET
tenant_id = EXCLUDED.tenant_id` (as upserts generated column by column write it). The conflict
target has the tenant column, so the existing row already has the proposed row's tenant.

## Example
```sql
UPDATE patients SET tenant_id = $2, phone_number = $3 WHERE tenant_id = $1 AND id = $4;
```

## Use instead
```sql
UPDATE patients SET phone_number = $2 WHERE tenant_id = $1 AND id = $3;
```

## Options
`tenant_column`.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.proof import conflict_key_names, identifier_name

RULE = RuleInfo("TG004", "tenant-reassignment", Severity.ERROR)
NEEDS = (exp.Update, exp.OnConflict)  # the node kinds check() looks at


def _target_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Schema):
        node = node.this
    return identifier_name(node.this) if isinstance(node, exp.Table) else ""


def _keeps_tenant(conflict: exp.OnConflict, assignment: exp.EQ, column: str, ctx: Context) -> bool:
    """`SET tenant_id = EXCLUDED.tenant_id` under a conflict target with the tenant column."""
    value = assignment.expression
    if not (
        isinstance(assignment.this, exp.Column)
        and isinstance(value, exp.Column)
        and identifier_name(value.this) == column
        and identifier_name(value.args.get("table")) == "excluded"
    ):
        return False
    constraint = conflict.args.get("constraint")
    if constraint is not None:
        return ctx.policy.constraint_has_tenant(identifier_name(constraint))
    return column in conflict_key_names(conflict)


def check(ctx: Context) -> Iterator[Finding]:
    if ctx.tree is None or ctx.in_patch:
        return
    column = ctx.policy.tenant_column
    for node in ctx.find(exp.Update, exp.OnConflict):
        if isinstance(node, exp.Update):
            parent = node.parent
            owner = node.find_ancestor(exp.Merge) if isinstance(parent, exp.When) else node
            table = _target_name(owner.this) if owner is not None else ""
            assignments = node.expressions
            what = "MERGE … UPDATE" if isinstance(parent, exp.When) else "UPDATE"
        else:
            insert = node.parent
            table = _target_name(insert.this) if isinstance(insert, exp.Insert) else ""
            assignments = node.expressions
            what = "ON CONFLICT DO UPDATE"
        shown = ctx.policy.write_views.get(table)
        if shown is not None:  # a view over a tenant table: its tenant column as it shows it
            moving = set(shown)  # (round 22; "?": unknown, any column may be it)
        elif not ctx.policy.is_tenant_table(table):
            continue
        else:
            # a generated tenant column changes with the columns its expression reads
            moving = {column} | ctx.policy.tenant_sources.get(table, frozenset())
        for assignment in assignments:
            if not isinstance(assignment, exp.EQ):
                continue
            own = min(shown) if shown else column
            if isinstance(node, exp.OnConflict) and _keeps_tenant(node, assignment, own, ctx):
                continue
            left = assignment.this
            while isinstance(left, exp.Paren):
                left = left.this  # `SET (tenant_id) = ROW($2)`: a list of one column
            names: list[exp.Expression] = (
                list(left.expressions) if isinstance(left, exp.Tuple) else [left]
            )
            for target in names:
                if isinstance(target, exp.Column) and (
                    identifier_name(target.this) in moving or "?" in moving
                ):
                    name = identifier_name(target.this)
                    if shown and "?" in shown:
                        assigns = f"{name}, which may be its table's {column} (the view's columns are unread)"
                    elif name == column:
                        assigns = column
                    elif shown:
                        assigns = f"{name}, the view's name for its table's {column}"
                    else:
                        assigns = f"{name}, which {column} is generated from"
                    yield ctx.finding(
                        RULE,
                        target,
                        f"{what} on {table} assigns {assigns}: rows move between tenants",
                        f"remove {name} from the SET list; move data between tenants only "
                        "in the patch pipeline",
                    )
