"""TG107 transaction-control-in-patch

## What it does
Finds `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`,
`PREPARE TRANSACTION` among the statements of a patch, and `COMMIT` / `ROLLBACK` inside a
`DO` block of a transactional patch.

## Why is this bad?
The runner applies each patch in one transaction together with its ledger row, so that a patch
is applied completely or not at all. A `COMMIT` inside makes the statements before it permanent
while the rest of the patch fails and rolls back: the database is half patched, the ledger says
the patch never ran, and the next run applies the first half again. (`tenantguard patches apply`
refuses such a patch before any of it runs, a DO block's `COMMIT` included, which PostgreSQL
would refuse at run time, after the patches before it were applied.)

## Example
```sql
ALTER TABLE patients ADD COLUMN IF NOT EXISTS notes text;
COMMIT;
UPDATE patients SET notes = '' WHERE notes IS NULL;
```

## Use instead
Leave transactions to the runner; when two parts must commit separately, make them two patches:
```sql
-- 0042_patients_notes.sql
ALTER TABLE patients ADD COLUMN IF NOT EXISTS notes text;
-- 0043_patients_notes_backfill.sql
UPDATE patients SET notes = '' WHERE notes IS NULL;
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

RULE = RuleInfo("TG107", "transaction-control-in-patch", Severity.ERROR)

_HELP = (
    "remove it: the runner commits each patch with its ledger row; split the patch in two instead"
)


def check(ctx: PatchContext) -> Iterator[Finding]:
    from tenantguard.patches.statements import TRANSACTION_WORDS

    for statement in ctx.source.statements:
        node = statement.node
        if statement.in_do or not isinstance(node, ast.TransactionStmt):
            continue
        word = TRANSACTION_WORDS.get(node.kind, "BEGIN") if node.kind else "BEGIN"
        yield ctx.finding(
            RULE,
            statement.line,
            statement.column,
            f"{word} in a patch: the runner applies each patch in one transaction with its "
            "ledger row, and this would commit or end part of it on its own",
            _HELP,
        )
    if ctx.source.transactional:
        for line, column, word in ctx.source.do_transaction_control:
            yield ctx.finding(
                RULE,
                line,
                column,
                f"{word} inside a DO block of a transactional patch: PostgreSQL refuses it "
                "inside the runner's transaction",
                _HELP,
            )
