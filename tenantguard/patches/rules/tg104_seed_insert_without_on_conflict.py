"""TG104 seed-insert-without-on-conflict

## What it does
Finds an INSERT in a patch (seed or reference data) without an `ON CONFLICT` clause.

## Why is this bad?
The second run of the patch inserts the rows again — or fails on a unique key and stops every
later patch at every startup.

## Example
```sql
INSERT INTO message_templates (tenant_id, name, body) VALUES (1, 'welcome', 'Hola');
```

## Use instead
```sql
INSERT INTO message_templates (tenant_id, name, body) VALUES (1, 'welcome', 'Hola')
ON CONFLICT (tenant_id, name) DO NOTHING;
```

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.patches.rules import PatchContext

RULE = RuleInfo("TG104", "seed-insert-without-on-conflict", Severity.ERROR)


def check(ctx: PatchContext) -> Iterator[Finding]:
    for statement in ctx.source.statements:
        node = statement.node
        if isinstance(node, ast.InsertStmt) and node.onConflictClause is None:
            yield ctx.finding(
                RULE,
                statement.line,
                statement.column,
                f"INSERT INTO {getattr(node.relation, 'relname', '')} without ON CONFLICT inserts again "
                "on every run",
                "add ON CONFLICT (…) DO NOTHING (or DO UPDATE) on the row's natural key",
            )
