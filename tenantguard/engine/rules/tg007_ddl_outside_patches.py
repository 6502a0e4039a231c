"""TG007 ddl-outside-patches

## What it does
Finds schema changes (CREATE, ALTER, DROP, COMMENT ON, GRANT, REVOKE, REINDEX, CLUSTER,
SECURITY LABEL, REASSIGN OWNED, IMPORT FOREIGN SCHEMA…) in application code, that is anywhere outside the configured patch directory — `SELECT … INTO
[TEMP] t` and `CREATE [TEMP] TABLE … AS` included: they create tables (a temporary one outlives
the request on a pooled connection and serves the next tenant). Not a temporary table dropped
at commit and made from a column list alone (`CREATE TEMP TABLE staging (LIKE tasks) ON COMMIT
DROP`, a staging table for a bulk load): it outlives nothing and reads no rows. A call of
`setval` is `ALTER SEQUENCE … RESTART` by a function: rewinding a sequence that every tenant's
inserts draw from makes the next inserts of every tenant collide with rows that exist.

## Why is this bad?
The golden rule of the schema pipeline: every structural change goes through a numbered,
idempotent patch applied at startup under a lock, and the baseline schema is kept equal to what
the patches build. DDL run from application code drifts the schema of some installations away
from the others, and bypasses the review the patch linter gives.

## Example
```python
await conn.execute("ALTER TABLE patients ADD COLUMN notes text")
```

## Use instead
A new file in `patches/` (`0042_patient_notes.sql`) with
`ALTER TABLE patients ADD COLUMN IF NOT EXISTS notes text;`, then `tenantguard patches sync`.

## Options
`patch_dir` (files under it are patches, not application code).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.proof import identifier_name

RULE = RuleInfo("TG007", "ddl-outside-patches", Severity.ERROR)

_DDL_TYPES = (exp.Create, exp.Drop, exp.Alter, exp.Comment, exp.Grant, exp.Revoke)
_DDL_COMMANDS = {
    "CREATE",
    "ALTER",
    "DROP",
    "COMMENT",
    "GRANT",
    "REVOKE",
    "REINDEX",
    "CLUSTER",
    "SECURITY",
    "REASSIGN",  # REASSIGN OWNED: every object of a role given to another
    "IMPORT",  # IMPORT FOREIGN SCHEMA: creates foreign tables
}


def check(ctx: Context) -> Iterator[Finding]:
    if ctx.tree is None or ctx.in_patch:
        return
    tree = ctx.tree
    keyword = ""
    if isinstance(tree, _DDL_TYPES):
        keyword = tree.key.upper()
        kind = tree.args.get("kind")
        if isinstance(kind, str):
            keyword += f" {kind.upper()}"
    elif isinstance(tree, exp.Command) and str(tree.this).upper() in _DDL_COMMANDS:
        keyword = str(tree.this).upper()
    elif _selects_into(tree):
        keyword = "SELECT INTO"  # creates a table, like CREATE TABLE AS
    elif "setval" in ctx.lowered and _sets_a_sequence(tree):
        yield ctx.finding(
            RULE,
            None,
            "setval in application code moves a sequence every tenant's inserts draw from "
            "(ALTER SEQUENCE … RESTART by a function): sequence changes belong in the patch "
            "pipeline",
            "move it to a numbered, idempotent patch in the patch directory",
        )
        return
    if keyword:
        yield ctx.finding(
            RULE,
            None,
            f"{keyword} in application code: schema changes belong in the patch pipeline",
            "move it to a numbered, idempotent patch in the patch directory",
        )


def _sets_a_sequence(tree: exp.Expression) -> bool:
    """A call of `setval` (or `pg_catalog.setval`) anywhere in the statement (round 22)."""
    return any(identifier_name(call.this) == "setval" for call in tree.find_all(exp.Anonymous))


def _selects_into(tree: exp.Expression) -> bool:
    """`SELECT … INTO t`, also as a branch of a set operation (`SELECT … INTO t … UNION …`)."""
    stack = [tree]
    while stack:  # iterative: a chain of set operations is as deep as the user writes it
        node = stack.pop()
        if isinstance(node, exp.SetOperation):
            stack.extend((node.this, node.expression))
        elif isinstance(node, exp.Subquery):
            stack.append(node.this)
        elif isinstance(node, exp.Select) and isinstance(node.args.get("into"), exp.Into):
            return True
    return False
