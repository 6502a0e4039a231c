"""TG005 whole-table-operation

## What it does
Finds `TRUNCATE` of a tenant table, `TRUNCATE … CASCADE` of any table, `COPY tenant_table
TO/FROM …`, and a DELETE or UPDATE of a table that tenant tables reference with an action
(`ON DELETE CASCADE`, `SET NULL`, `SET DEFAULT`, and the same `ON UPDATE` for a change of the
referenced columns): the action reaches every tenant's rows that reference the rows changed.
The tenant registry (`tenant_root`) pinned to one tenant (`DELETE FROM tenants WHERE id = $1`)
reaches that tenant's rows only, and passes. `COPY (query) TO …` is not reported here: its query is checked like any other.

## Why is this bad?
Both act on every tenant's rows at once: TRUNCATE erases every clinic's data, COPY TO exports it
and COPY FROM writes rows whose tenant nothing checks. `CASCADE` also truncates every table whose
foreign key references the tables named, and with them the tables that reference those: from a
global table (`TRUNCATE tenants CASCADE`) it reaches every tenant table.

## Example
```sql
TRUNCATE appointments;
COPY patients TO STDOUT;
```

## Use instead
```sql
DELETE FROM appointments WHERE tenant_id = $1;
COPY (SELECT * FROM patients WHERE tenant_id = 7) TO STDOUT;
```

## Options
`tenant_tables`, `tenant_root`; the foreign keys' actions come from the schema sources.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name
from tenantguard.engine.proof import identifier_name

RULE = RuleInfo("TG005", "whole-table-operation", Severity.ERROR)
NEEDS = ()  # TRUNCATE and COPY are whole statements: check() reads the tree's root


def _tables(node: exp.Expression) -> list[exp.Table]:
    if isinstance(node, exp.TruncateTable):
        return [t for t in node.expressions if isinstance(t, exp.Table)]
    target = node.this
    if isinstance(target, exp.Schema):
        target = target.this
    return [target] if isinstance(target, exp.Table) else []


def check(ctx: Context) -> Iterator[Finding]:
    if ctx.tree is None or ctx.in_patch:
        return
    column = ctx.policy.tenant_column
    node = ctx.tree
    if ctx.policy.cascades:
        yield from _cascades(ctx)
    if not isinstance(node, exp.TruncateTable | exp.Copy):
        return
    if (
        isinstance(node, exp.TruncateTable)
        and str(node.args.get("option") or "").upper() == "CASCADE"
        and ctx.policy.tenant_tables
    ):
        named = ", ".join(identifier_name(t.this) for t in _tables(node))
        yield ctx.finding(
            RULE,
            None,
            f"TRUNCATE {named} CASCADE also empties every table whose foreign key references "
            "them, tenant tables among them: every tenant's rows",
            "DELETE the rows of one tenant (its foreign keys' ON DELETE do the rest), or run "
            "maintenance in the patch pipeline",
        )
        return
    for table in _tables(node):
        name = identifier_name(table.this)
        if not ctx.policy.is_tenant_table(name):
            continue
        if isinstance(node, exp.TruncateTable):
            yield ctx.finding(
                RULE,
                table,
                f"TRUNCATE {name} erases every tenant's rows",
                f"DELETE FROM {sql_name(name)} WHERE {sql_name(column)} = $n",
            )
        else:
            yield ctx.finding(
                RULE,
                table,
                f"COPY {name} moves every tenant's rows",
                f"COPY (SELECT … FROM {sql_name(name)} WHERE {sql_name(column)} = $n) TO …; "
                "for writes use "
                f"INSERT with {column}",
            )


def _cascades(ctx: Context) -> Iterator[Finding]:
    """DELETE and UPDATE of a table tenant tables reference with an action, unless it is the
    registry's row of one tenant."""
    policy = ctx.policy
    for write in ctx.cascading_writes:
        if write.pin is not None:
            continue
        yield ctx.finding(
            RULE,
            write.table,
            f"{write.kind} of {write.name} reaches every tenant's rows that reference the rows "
            f"it {'deletes' if write.kind == 'DELETE' else 'changes'} (the ON {write.kind} "
            "action of tenant tables' foreign keys)",
            f"pin it to one tenant's row ({sql_name(policy.tenant_root or write.name)}."
            f"{sql_name(policy.tenant_root_key)} = $n), or run it in the patch pipeline",
        )
