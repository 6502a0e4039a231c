"""TG102 unguarded-ddl-in-do-block

## What it does
Reads the PL/pgSQL of each `DO $$ … $$` block of a patch and finds DDL that is not idempotent by
itself and is neither inside an `IF` whose condition checks the catalog (`pg_constraint`,
`pg_class`, `information_schema`, `to_regclass(…)`, …) nor inside a block with an `EXCEPTION`
handler.

## Why is this bad?
A DO block is how a patch guards what PostgreSQL cannot guard natively. Without the check it is
just a wrapper: the second run fails exactly as the bare statement would.

## Example
```sql
DO $$ BEGIN
    ALTER TABLE patients ADD CONSTRAINT patients_active_has_data CHECK (...);
END $$;
```

## Use instead
```sql
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'patients_active_has_data') THEN
        ALTER TABLE patients ADD CONSTRAINT patients_active_has_data CHECK (...);
    END IF;
END $$;
```

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.patches.rules import PatchContext
from tenantguard.patches.rules.tg101_non_idempotent_ddl import problems

RULE = RuleInfo("TG102", "unguarded-ddl-in-do-block", Severity.ERROR)


def check(ctx: PatchContext) -> Iterator[Finding]:
    for statement in ctx.source.statements:
        if not statement.in_do or statement.guarded:
            continue
        for problem in problems(statement.node, set()):
            yield ctx.finding(
                RULE,
                statement.line,
                statement.column,
                f"{problem} inside a DO block, with no catalog check or EXCEPTION handler",
                "wrap it in IF NOT EXISTS (SELECT 1 FROM pg_… WHERE …) THEN … END IF",
            )
