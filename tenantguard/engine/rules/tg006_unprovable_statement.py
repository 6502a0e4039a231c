"""TG006 unprovable-statement

## What it does
Finds a statement the proof cannot read: SQL that does not parse, a statement sqlglot keeps
opaque (`DO $$…$$`, `LOCK`, `EXPLAIN`, function bodies…) while naming a tenant table, a tenant
table in a position the proof does not understand, a call of a function that hands out every
tenant's rows (a SQL or PL/pgSQL function of the schema sources whose body does not pin them)
anywhere but in FROM, where its tenant column can be pinned, or input nested too deeply to analyse.

SQL that runs inside the server, out of the proof's sight, is unprovable too: `CALL`, `DO`
(whatever it names: its body can build the table name), `PREPARE` and `EXECUTE name` (the
statement that runs is not the one sent), functions that run a query or a table given as text
(`query_to_xml` and the other `*_to_xml` functions, `ts_stat`, `ts_rewrite`, `dblink`,
`crosstab`), functions that read the server's files (`pg_read_binary_file`), and reads
of the planner's statistics (`pg_stats`, `pg_stats_ext`, `pg_statistic`…), which hold sample
values of every tenant's rows.

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
from tenantguard.engine.proof import function_name, identifier_name

RULE = RuleInfo("TG006", "unprovable-statement", Severity.ERROR)

_SERVER_COMMANDS = {
    "CALL": "a procedure's body",
    "DO": "an anonymous code block",
    "PREPARE": "a statement prepared here runs later under EXECUTE, for whoever calls it",
    "EXECUTE": "a prepared statement's text",
}
# functions that run SQL (or read a whole table) given as text
_RUNS_TEXT = frozenset(
    {
        "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml",
        "cursor_to_xmlschema", "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema",
        "schema_to_xml", "schema_to_xmlschema", "schema_to_xml_and_xmlschema", "database_to_xml",
        "database_to_xmlschema", "database_to_xml_and_xmlschema", "ts_stat", "dblink",
        "dblink_exec", "dblink_open", "dblink_fetch", "dblink_send_query", "crosstab",
        "crosstab2", "crosstab3", "crosstab4", "connectby", "ts_rewrite",
        # read the server's files by name: a table's heap file holds every tenant's rows
        "pg_read_file", "pg_read_binary_file",
    }
)  # fmt: skip
# the planner's statistics: sample values of every row
_STATISTICS = frozenset(
    {
        "pg_stats", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic", "pg_statistic_ext",
        "pg_statistic_ext_data",
    }
)  # fmt: skip
# a cheap test of the text before the walk: every name above holds one of these
_HINTS = (
    "_to_xml",
    "ts_stat",
    "ts_rewrite",
    "dblink",
    "crosstab",
    "connectby",
    "pg_stat",
    "pg_read",
)


def _server_side(ctx: Context) -> Iterator[Finding]:
    """Calls that run SQL given as text, and reads of planner statistics."""
    if ctx.tree is None:
        return
    lowered = ctx.sql.lower()
    if not any(hint in lowered for hint in _HINTS):  # a few substring tests, not a regex
        return
    for node in ctx.tree.walk():
        if (
            isinstance(node, exp.Expression)
            and isinstance(node, exp.Func)
            and function_name(node) in _RUNS_TEXT
        ):
            yield ctx.finding(
                RULE,
                node,
                f"{function_name(node)}() runs SQL (or reads a table) given as text: the "
                "analyzer cannot see what it reads",
                "query the rows directly, pinned to one tenant",
            )
        elif isinstance(node, exp.Table) and identifier_name(node.this) in _STATISTICS:
            yield ctx.finding(
                RULE,
                node,
                f"{identifier_name(node.this)} holds sample values of every tenant's rows "
                "(planner statistics)",
                "do not read planner statistics from application code",
            )


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
    if isinstance(ctx.tree, exp.Command) and str(ctx.tree.this).upper() in _SERVER_COMMANDS:
        keyword = str(ctx.tree.this).upper()
        yield ctx.finding(
            RULE,
            None,
            f"{keyword} runs SQL inside the server that the analyzer cannot see "
            f"({_SERVER_COMMANDS[keyword]})",
            "send the statements themselves, pinned to one tenant; maintenance belongs in the "
            "patch pipeline",
        )
        return
    yield from _server_side(ctx)
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
