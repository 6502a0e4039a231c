"""TG006 unprovable-statement

## What it does
Finds a statement the proof cannot read: SQL that does not parse, a statement sqlglot keeps
opaque (`DO $$…$$`, `LOCK`, `EXPLAIN`, function bodies…) while naming a tenant table, a tenant
table in a position the proof does not understand, a call of a function that hands out every
tenant's rows (a SQL or PL/pgSQL function of the schema sources whose body does not pin them)
anywhere but in FROM, where its tenant column can be pinned, or input nested too deeply to analyse.

## Why is this bad?
What cannot be proven must not pass silently: the tool fails closed. An unparseable statement
that names no tenant table is reported as a warning (it cannot touch tenant rows, but it will not
run either).

## Example
```sql
SELECT * FROM patients WHERE tenant_id = $1 AND;   -- does not parse
DO $$ BEGIN DELETE FROM patients; END $$;          -- opaque body
```

## Use instead
Write the statement as plain SQL the analyzer can read, or move maintenance code into the patch
pipeline. When the statement is right and the tool is wrong, suppress it on that line with a
reason (`-- tenantguard: ignore[TG006] -- why`) and report the case.

## Options
`tenant_tables`.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.proof import identifier_name

RULE = RuleInfo("TG006", "unprovable-statement", Severity.ERROR)


def check(ctx: Context) -> Iterator[Finding]:
    if ctx.tree is None:
        named = ctx.named_tenant_tables
        reason = ctx.parse_error or "the statement could not be parsed"
        if named or ctx.may_spell_names:
            named = named or ["(spelled with escapes?)"]
            message = (
                f"cannot prove tenant isolation: {reason} (names tenant table {', '.join(named)})"
            )
        else:
            message = f"cannot parse the statement: {reason}"
        yield ctx.finding(
            RULE,
            None,
            message,
            "fix the SQL so that PostgreSQL (and the analyzer) can parse it",
            offset=ctx.parse_error_offset,
            severity=Severity.ERROR if named or ctx.may_spell_names else Severity.WARNING,
        )
        return
    if ctx.in_patch:
        return
    named = ctx.named_tenant_tables if isinstance(ctx.tree, exp.Command) else []
    if named:
        keyword = str(ctx.tree.this).upper()
        yield ctx.finding(
            RULE,
            None,
            f"{keyword} statement is opaque to the analyzer and names tenant table "
            f"{', '.join(named)}",
            "express it as plain SELECT/INSERT/UPDATE/DELETE pinned to one tenant, or move it "
            "to the patch pipeline",
        )
        return
    proof = ctx.proof
    for table in proof.unplaced if proof else []:
        if isinstance(table, exp.Anonymous):
            yield ctx.finding(
                RULE,
                table,
                f"function {identifier_name(table.this)} hands out rows of every tenant (its "
                f"body does not pin them) and is called where its rows cannot be pinned "
                f"({table.parent.key.upper() if table.parent else 'statement'})",
                "call it in FROM and pin its tenant column, or pin the rows inside the function "
                "(a parameter, or the tenant expression)",
            )
            continue
        yield ctx.finding(
            RULE,
            table,
            f"tenant table {identifier_name(table.this)} is used where the proof cannot follow "
            f"it ({table.parent.key.upper() if table.parent else 'statement'})",
            "rewrite the reference as a FROM/JOIN source with a tenant filter",
        )
