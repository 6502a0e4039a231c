"""TG108 non-transactional-statement-in-transactional-patch

## What it does
Finds statements PostgreSQL refuses inside a transaction block — `CREATE INDEX CONCURRENTLY`,
`DROP INDEX CONCURRENTLY`, `REINDEX … CONCURRENTLY`, `REINDEX SCHEMA/SYSTEM/DATABASE`, `VACUUM`,
`CLUSTER` with no table, `DISCARD ALL`, `CREATE DATABASE`, `DROP DATABASE`, `ALTER DATABASE …
SET TABLESPACE`, `ALTER SYSTEM`, `CREATE TABLESPACE`, `DROP TABLESPACE` — in a patch that runs in
a transaction (no `-- tenantguard: no-transaction` line), and a no-transaction patch that holds
more than one statement.

## Why is this bad?
The patch fails at every startup with "cannot run inside a transaction block". A no-transaction
patch runs its statement on its own, without a transaction to roll back: with several
statements, a failure in the middle would leave the first ones applied and the patch unrecorded.
(`tenantguard patches apply` refuses such a no-transaction patch before it runs.)

## Example
```sql
CREATE INDEX CONCURRENTLY IF NOT EXISTS patients_tenant_email_idx ON patients (tenant_id, email);
```

## Use instead
A patch of its own, marked, with that one statement:
```sql
-- tenantguard: no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS patients_tenant_email_idx ON patients (tenant_id, email);
```

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.patches.rules import PatchContext
from tenantguard.patches.statements import outside_transaction_only

RULE = RuleInfo("TG108", "non-transactional-statement-in-transactional-patch", Severity.ERROR)


def check(ctx: PatchContext) -> Iterator[Finding]:
    top_level = [s for s in ctx.source.statements if not s.in_do]
    if not ctx.source.transactional:
        if len(top_level) > 1:
            second = top_level[1]
            yield ctx.finding(
                RULE,
                second.line,
                second.column,
                f"a no-transaction patch holds exactly one statement (this one has {len(top_level)})",
                "move each further statement to a patch of its own",
            )
        return
    for statement in top_level:
        name = outside_transaction_only(statement.node)
        if name is not None:
            yield ctx.finding(
                RULE,
                statement.line,
                statement.column,
                f"{name} cannot run inside the transaction the runner applies this patch in",
                "put it alone in a patch whose first line is `-- tenantguard: no-transaction`",
            )
