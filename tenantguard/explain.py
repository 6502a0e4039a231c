"""`tenantguard explain`: the proof of one statement, written out for a person."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from tenantguard.engine.analyze import NOT_A_STATEMENT, analyze_statement, parse_statement
from tenantguard.engine.context import Context
from tenantguard.engine.findings import Severity
from tenantguard.engine.policy import Policy, sql_name
from tenantguard.engine.proof import Fact, Source, SourceKind
from tenantguard.engine.proof.syntax import identifier_name, is_table_name
from tenantguard.engine.sqltext import LineIndex, split_sql

__all__ = ["explain"]


def _sql(node: exp.Expression) -> str:
    try:
        text = node.sql("postgres")
    except RecursionError:
        return "(too deep to print)"
    return text if len(text) <= 120 else text[:117] + "..."


def _pin_chain(source: Source) -> str:
    """Why `source` is pinned, following equality chains to the value."""
    parts: list[str] = []
    seen: set[int] = set()
    current: Source | None = source
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.passthrough:
            parts.append(f"{current.describe()} projects a pinned tenant column in every branch")
            break
        fact: Fact | None = current.pinned_by
        if fact is None:
            break
        said = f"`{_sql(fact.conjunct)}` ({fact.clause} of {current.block.label})"
        if fact.pushed:
            said = f"the pin of its reader, pushed into {current.block.label} through {said}"
        parts.append(said)
        current = fact.other
    return " -> ".join(parts)


def _written(ctx: Context, policy: Policy) -> list[str]:
    """What each INSERT (or MERGE's INSERT) into a tenant table writes into its tenant column."""
    analysis, proof = ctx.builder, ctx.proof
    if analysis is None or proof is None:
        return []
    column = sql_name(policy.tenant_column)
    lines: list[str] = []
    for node in proof.find(exp.Insert):
        assert isinstance(node, exp.Insert)
        target = node.this
        merge = node.find_ancestor(exp.Merge) if isinstance(target, exp.Tuple) else None
        if merge is not None:
            target = merge.this
        if isinstance(target, exp.Schema):
            target = target.this
        if not isinstance(target, exp.Table) or not is_table_name(target):
            continue
        table = identifier_name(target.this)
        if not policy.is_tenant_table(table):
            continue
        value = analysis.insert_value(node)
        label = (
            f"  {sql_name(table)} (rows the {'MERGE' if merge is not None else 'INSERT'} writes)"
        )
        if value is None:
            lines.append(f"{label}: NOT SHOWN to carry one tenant in {column}")
            continue
        listed = node.this.expressions if isinstance(node.this, exp.Schema | exp.Tuple) else None
        names = [identifier_name(c.this if isinstance(c, exp.Column) else c) for c in listed or ()]
        omitted = node.args.get("default") or (listed and policy.tenant_column not in names)
        how = " (the column's default)" if omitted else ""
        lines.append(f"{label}: {column} is {value.describe()}{how} in every row")
    return lines


def explain(
    sql: str,
    policy: Policy,
    records: list[dict[str, Any]] | None = None,
    path: str | None = None,
) -> tuple[str, bool]:
    """The proof as text, and whether any error-level finding stands; `records`, when given,
    gets each statement's proof as data (`explain --format json`): its line, references (what
    pins each, or why nothing does), the rows it writes, findings and verdict. Findings and
    text that does not parse are placed at their line and column, as `check` places them
    (`path:line:column` when the SQL was read from the file `path`)."""

    def at(line: int, column: int) -> str:
        return f"{path}:{line}:{column}" if path else f"line {line}, column {column}"

    out: list[str] = []
    failed = False
    statements, _ = split_sql(sql)
    if not statements:
        return "No statement given.\n", False
    for number, statement in enumerate(statements, 1):
        if len(statements) > 1:
            out.append(f"Statement {number} (line {statement.line}):")
        record: dict[str, Any] = {
            "line": statement.line,
            "sql": statement.text,
            "references": [],
            "writes": [],
            "findings": [],
        }
        if records is not None:
            records.append(record)
        tree, inserted, error, offset = parse_statement(statement.text)
        if tree is None or isinstance(tree, NOT_A_STATEMENT):
            # what does not parse is not proven, whether or not it names a tenant table
            reason = (
                error
                or f"sqlglot read it as an expression ({type(tree).__name__}), not a statement"
            )
            where = ""
            if offset is not None:  # as check places its TG006 (h42N)
                line, column = LineIndex(statement.text).position(
                    max(0, min(offset, len(statement.text)))
                )
                if line == 1:
                    column += statement.column - 1
                line += statement.line - 1
                where = f" at {at(line, column)}"
                record.update(error_line=line, error_column=column)
            out.append(f"  Verdict: NOT PROVEN — the text does not parse as SQL{where}: {reason}.")
            out.append("")
            record.update(verdict="not proven", reason=f"the text does not parse as SQL: {reason}")
            failed = True
            continue
        ctx = Context(statement.text, policy, tree, inserted, error, offset)
        proof = ctx.proof if tree is not None else None
        writes: list[str] = []
        if proof is not None:
            if not proof.references:
                out.append("  No tenant-table reference to pin.")
            for source in proof.references:
                status = "NOT PINNED"
                value = source.value if source.pinned else None
                if source.pinned:
                    status = f"PINNED to {value.describe()}" if value is not None else "PINNED"
                out.append(
                    f"  {source.describe()} in {source.block.label} ({source.role.value}): {status}"
                )
                known = len(out)
                record["references"].append(
                    {
                        "reference": source.describe(),
                        "table": source.name,
                        "block": source.block.label,
                        "role": source.role.value,
                        "pinned": bool(source.pinned),
                        "value": value.describe() if value is not None else None,
                        "reasons": [],
                    }
                )
                if source.pinned:
                    out.append(f"      by {_pin_chain(source)}")
                else:
                    for conjunct, reason in source.near_misses:
                        out.append(f"      `{_sql(conjunct)}`: {reason}")
                    for fact in source.facts:
                        if fact.other is not None:
                            out.append(
                                f"      `{_sql(fact.conjunct)}` equates it with "
                                f"{fact.other.describe()}, which is not pinned"
                            )
                        elif fact.multi:
                            out.append(f"      `{_sql(fact.conjunct)}` admits several tenants")
                    if not source.near_misses and not source.facts:
                        out.append(
                            f"      no condition on {sql_name(source.name)}."
                            f"{sql_name(policy.tenant_column)} filters it"
                        )
                record["references"][-1]["reasons"] = [line.strip() for line in out[known:]]
            derived = [
                s
                for b in proof.blocks
                for s in b.every_source
                if s.kind in (SourceKind.DERIVED, SourceKind.CTE) and s.passthrough
            ]
            for source in derived:
                out.append(
                    f"  {source.describe()}: its {policy.tenant_column} is pinned in every branch"
                )
            writes = _written(ctx, policy)
            out.extend(writes)
            record["writes"] = [line.strip() for line in writes]
        verdict = analyze_statement(statement.text, policy)
        for finding in verdict.findings:
            failed = failed or finding.severity is Severity.ERROR
            placed = finding.shifted(statement.line, statement.column)
            line, column = placed.line, placed.column
            out.append(
                f"  {finding.code} ({finding.severity}) at {at(line, column)}: {finding.message}"
            )
            out.append(f"      fix: {finding.help}")
            record["findings"].append(
                {
                    "rule": finding.code,
                    "severity": str(finding.severity),
                    "line": line,
                    "column": column,
                    "message": finding.message,
                    "help": finding.help,
                }
            )
        record["verdict"] = "not proven" if verdict.findings else "proven"
        if not verdict.findings and (proof is None or not proof.references) and not writes:
            out.append(
                "  Verdict: nothing to prove — the statement reads and writes no tenant table."
            )
            record["verdict"] = "nothing to prove"
        elif not verdict.findings and writes and (proof is None or not proof.references):
            out.append("  Verdict: proven — every row it writes carries one tenant.")
        elif not verdict.findings and writes:
            out.append(
                "  Verdict: proven — every tenant-table reference is pinned to one tenant, "
                "and every row it writes carries one tenant."
            )
        elif not verdict.findings:
            out.append("  Verdict: proven — every tenant-table reference is pinned to one tenant.")
        out.append("")
    return "\n".join(out), failed
