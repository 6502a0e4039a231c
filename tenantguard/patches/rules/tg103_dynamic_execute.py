"""TG103 dynamic-execute-in-do-block

## What it does
Finds `EXECUTE '…'` (dynamic SQL) inside a DO block of a patch.

## Why is this bad?
The statement is a string built at run time: neither the patch linter nor a reviewer can see
what it does, whether it is guarded, or whether it touches every tenant's rows.

## Example
```sql
DO $$ BEGIN EXECUTE 'ALTER TABLE ' || tbl || ' ADD COLUMN x int'; END $$;
```

## Use instead
Write the statement out, guarded by a catalog check; one statement per table.

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.patches.rules import PatchContext

RULE = RuleInfo("TG103", "dynamic-execute-in-do-block", Severity.ERROR)


def check(ctx: PatchContext) -> Iterator[Finding]:
    for dynamic in ctx.source.dynamic:
        shown = " ".join(dynamic.query.split())[:80]
        yield ctx.finding(
            RULE,
            dynamic.line,
            dynamic.column,
            f"EXECUTE {shown} runs SQL built at run time: it cannot be proven",
            "write the statement itself, guarded by an IF on a catalog check",
        )
