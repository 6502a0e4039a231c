"""SQL inside Python sources: string arguments of asyncpg's query methods, found with `ast`.

The SQL argument is resolved when it is a constant: a literal, implicit or `+` concatenation of
literals, or a name assigned a constant once at module or function level. Anything else (an
f-string with expressions, `%` or `.format()` building, a name assigned in several places)
cannot be proven and is reported as TG006 at the `unresolved_severity` level.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.rules import tg006_unprovable_statement

__all__ = ["QUERY_METHODS", "check_python_text"]

QUERY_METHODS = frozenset(
    {
        "execute",
        "executemany",
        "fetch",
        "fetchrow",
        "fetchval",
        "fetchmany",
        "prepare",
        "cursor",
        "copy_from_query",
    }
)


def _constant_names(tree: ast.AST) -> dict[str, ast.expr | None]:
    """Names assigned exactly once anywhere in the module (None when assigned more often)."""
    seen: dict[str, ast.expr | None] = {}
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.AugAssign):
            targets, value = [node.target], None
        for target in targets:
            if isinstance(target, ast.Name):
                seen[target.id] = value if target.id not in seen else None
    return seen


def _resolve(node: ast.expr, names: dict[str, ast.expr | None], depth: int = 0) -> str | None:
    if depth > 50:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _resolve(node.left, names, depth + 1), _resolve(node.right, names, depth + 1)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.Name) and names.get(node.id) is not None:
        value = names[node.id]
        return _resolve(value, names, depth + 1) if value is not None else None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "dedent"
        and len(node.args) == 1
    ):
        import textwrap

        inner = _resolve(node.args[0], names, depth + 1)
        return textwrap.dedent(inner) if inner is not None else None
    return None


def check_python_text(text: str, analyzer: Analyzer) -> tuple[list[Finding], int]:
    info = tg006_unprovable_statement.RULE
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        return [
            Finding(
                info.code,
                info.name,
                Severity.ERROR,
                f"cannot parse Python: {error.msg}; its SQL cannot be checked",
                "fix the syntax error",
                error.lineno or 1,
                error.offset or 1,
                error.lineno or 1,
                error.offset or 1,
            )
        ], 0
    except (RecursionError, MemoryError, ValueError):
        return [
            Finding(
                info.code,
                info.name,
                Severity.ERROR,
                "cannot parse Python source",
                "simplify the file",
                1,
                1,
                1,
                1,
            )
        ], 0
    names = _constant_names(tree)
    findings: list[Finding] = []
    count = 0
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_METHODS
            and node.args
        ):
            continue
        argument = node.args[0]
        sql = _resolve(argument, names)
        if sql is None:
            if isinstance(argument, ast.Constant):
                continue  # not a string: not SQL
            findings.append(
                Finding(
                    info.code,
                    info.name,
                    Severity.WARNING,
                    f"SQL passed to .{node.func.attr}() is built at run time and cannot be proven",
                    "pass a constant SQL string with parameters ($1, $2…) for the values",
                    argument.lineno,
                    argument.col_offset + 1,
                    argument.end_lineno or argument.lineno,
                    (argument.end_col_offset or 0) + 1,
                )
            )
            continue
        count += 1
        line, column = argument.lineno, argument.col_offset + 1
        literal = isinstance(argument, ast.Constant)
        for finding in analyzer.script(sql):
            if literal and finding.line > 1:
                # a multi-line string: point at the offending line inside it
                findings.append(
                    replace(
                        finding, line=line + finding.line - 1, end_line=line + finding.end_line - 1
                    )
                )
            else:
                findings.append(
                    replace(finding, line=line, column=column, end_line=line, end_column=column)
                )
    return findings, count
