"""TG003 upsert-conflict-target-without-tenant

## What it does
Finds `INSERT … ON CONFLICT … DO UPDATE` on a tenant table whose conflict target does not include
the tenant column: `ON CONFLICT (external_id)`, or `ON CONFLICT ON CONSTRAINT c` where the schema
does not show `c` to include it, or a target that names an expression over the tenant column,
a collation or an operator class in its stead (`((tenant_id % 1), label)`, `(tenant_id / 10)`,
`tenant_id COLLATE "x"`: the unique index it infers lets two tenants' rows conflict; only the
plain column, `(tenant_id)` too, counts), or any conflict target on a table whose tenant column
compares loosely (`citext`, a nondeterministic collation: its unique index finds 'ACME's row
for an insert of 'acme') or that has a unique index comparing it so (`CREATE UNIQUE INDEX … ON t
(tenant_id COLLATE ci, …)`, or under an operator class of its own: a target naming the column
plainly infers that index). `DO NOTHING` is not reported. A `DO UPDATE … WHERE` with the
conjunct `<target>.tenant_id = EXCLUDED.tenant_id` is reported too (round 25): the update lands
only on a row of the inserting tenant, but PostgreSQL locks the conflicting row FOR UPDATE
before it tests the WHERE and keeps the lock when it fails — another tenant's writes to its own
row wait for this transaction, and the empty RETURNING tells that the key is taken.

## Why is this bad?
The conflict target decides which existing row the update lands on. On a key that is unique
across tenants, one tenant's insert finds another tenant's row and overwrites it.

## Example
```sql
INSERT INTO leads (tenant_id, external_id, name) VALUES ($1, $2, $3)
ON CONFLICT (external_id) DO UPDATE SET name = EXCLUDED.name;
```

## Use instead
```sql
INSERT INTO leads (tenant_id, external_id, name) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, external_id) DO UPDATE SET name = EXCLUDED.name;
```

## Options
`tenant_column`; constraint columns come from the schema sources: a dropped table's constraints
go with it, `ADD CONSTRAINT c UNIQUE USING INDEX i` takes the index's columns, one name on
two tables (in two schemas, by a RENAME too) keeps only the columns both have, and an unnamed
key whose name PostgreSQL would guess is taken gets the name it gives (`t_a_key1`, `t_pkey1`).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import LOOSE_COLUMN, sql_name
from tenantguard.engine.proof import conflict_key_names, conjuncts, identifier_name

RULE = RuleInfo("TG003", "upsert-conflict-target-without-tenant", Severity.ERROR)
NEEDS = (exp.OnConflict,)  # the node kinds check() looks at


def check(ctx: Context) -> Iterator[Finding]:
    if ctx.tree is None or ctx.in_patch:
        return
    column = ctx.policy.tenant_column
    for node in ctx.find(exp.OnConflict):
        insert = node.parent
        if not isinstance(insert, exp.Insert):
            continue
        action = node.args.get("action")
        if not (isinstance(action, exp.Var) and "UPDATE" in str(action.this).upper()):
            continue
        target = insert.this.this if isinstance(insert.this, exp.Schema) else insert.this
        if not isinstance(target, exp.Table):
            continue
        name = identifier_name(target.this)
        # through a view over a tenant table (round 22): the table's unique index decides which
        # row DO UPDATE updates, whatever the view's WHERE says; the view may name the column
        # otherwise
        shown = ctx.policy.write_views.get(name)
        if shown is None and not ctx.policy.is_tenant_relation(target):
            continue
        # the names the target calls the table's tenant column by (none shown: its own name,
        # which the target cannot use; unknown: none will do)
        names = set(shown) if shown else {ctx.policy.tenant_column}
        column = min(names)
        loose = ctx.policy.unpinnable.get(name, "")
        if name in ctx.policy.loose_arbiters and not loose.startswith(LOOSE_COLUMN):
            loose = (
                f"{LOOSE_COLUMN} in a unique index of {name} (a collation that is not "
                "deterministic, or an operator class), which a conflict target naming the "
                "column plainly infers"
            )
        if loose.startswith(LOOSE_COLUMN):  # its unique index matches 'ACME' to 'acme'
            yield ctx.finding(
                RULE,
                target,
                f"ON CONFLICT DO UPDATE on {name}: {loose}; the conflict can land on another "
                "tenant's row",
                f"make {name}.{sql_name(column)} compare exactly (text with a deterministic "
                "collation), or use DO NOTHING",
            )
            continue
        constraint = node.args.get("constraint")
        if constraint is not None:
            cname = identifier_name(constraint)
            if ctx.policy.constraint_has_tenant(cname):
                continue
            known = cname in ctx.policy.constraint_columns
            yield ctx.finding(
                RULE,
                constraint,
                f"ON CONFLICT ON CONSTRAINT {cname} on {name}: "
                + (
                    "the constraint does not include " + column
                    if known
                    else f"the schema sources do not show that it includes {column}"
                ),
                f"use a conflict target that includes {column}: "
                f"ON CONFLICT ({sql_name(column)}, …)",
            )
            continue
        keys = conflict_key_names(node)
        if not (names & set(keys)):
            written = node.args.get("conflict_keys") or []
            target_text = ", ".join(k.sql("postgres") for k in written) if keys else "none"
            guarded = any(_guarded(node, target, n) for n in names)
            yield ctx.finding(
                RULE,
                node.args["conflict_keys"][0] if keys else target,
                f"ON CONFLICT DO UPDATE on {name} with conflict target ({target_text}) "
                + (
                    "locks another tenant's row it conflicts with, though its WHERE keeps the "
                    "update off it: that tenant's writes wait for this transaction"
                    if guarded
                    else "can overwrite another tenant's row"
                ),
                f"make the conflict target ({sql_name(column)}, {target_text}) and back it with "
                "a unique index",
            )


def _guarded(node: exp.Expression, target: exp.Table, column: str) -> bool:
    """`DO UPDATE … WHERE t.tenant_id = EXCLUDED.tenant_id` (a top-level conjunct): the
    existing row is updated only when its tenant column equals the inserted row's (but locked
    whatever it holds: only the message differs)."""
    where = node.args.get("where")
    if not isinstance(where, exp.Where):
        return False
    alias = target.args.get("alias")
    own = identifier_name(alias.this if isinstance(alias, exp.TableAlias) else target.this)
    for conjunct in conjuncts(where.this):
        if type(conjunct) is not exp.EQ:
            continue
        sides = (conjunct.this, conjunct.expression)
        if not all(
            type(side) is exp.Column
            and identifier_name(side.this) == column
            and not side.args.get("db")
            and not side.args.get("catalog")
            for side in sides
        ):
            continue
        tables = sorted(identifier_name(side.args.get("table")) for side in sides)
        if tables == sorted(["excluded", own]) and own != "excluded":
            return True
    return False
