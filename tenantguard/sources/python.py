"""SQL inside Python sources, found with the standard `ast` module.

Two kinds of strings are checked:

* the SQL argument of a query method — `execute`, `executemany`, `fetch`, `fetchrow`,
  `fetchval`, `fetchmany`, `prepare`, `cursor`, `copy_from_query` on any receiver (connection,
  pool, transaction, whatever it is called) — and the table of `copy_to_table` /
  `copy_records_to_table`, whose `columns=` must include the tenant column;
* any other string literal that reads as SQL (starts with a statement keyword and parses) and
  names a tenant table — constants used elsewhere. Prose that merely contains "select" or "from"
  does not parse as SQL and is left alone.

The argument is resolved when it is a constant: a literal (implicit concatenation included), `+`
of constants, `textwrap.dedent(constant)`, or a name assigned a constant exactly once, outside any
branch, in the enclosing function or at module level. Anything else cannot be proven: TG009.

Findings point at the exact line and column inside the string literal that holds the offending
SQL; escapes inside a literal fall back to the literal's start.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.proof import identifier_name
from tenantguard.engine.rules import tg006_unprovable_statement, tg009_unresolved_dynamic_sql
from tenantguard.engine.sqltext import split_sql

__all__ = ["QUERY_METHODS", "PythonSQL", "check_python_text", "extract_sql"]

QUERY_METHODS = frozenset(
    {
        "execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany", "prepare",
        "cursor", "copy_from_query",
    }
)  # fmt: skip
# asyncpg-only names: a non-constant argument there is certainly SQL
_ASYNCPG_ONLY = frozenset({"fetch", "fetchrow", "fetchval", "fetchmany", "copy_from_query"})
_COPY_TO_TABLE = frozenset({"copy_to_table", "copy_records_to_table"})
_DB_RECEIVER = re.compile(r"(conn|connection|pool|db|database|tx|transaction|con|pg|cur)", re.I)
_SQL_START = re.compile(
    r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|TABLE)\s",
    re.IGNORECASE | re.DOTALL,
)


def _all_subclasses(*bases: type) -> frozenset[type]:
    found: set[type] = set()
    stack = list(bases)
    while stack:
        kind = stack.pop()
        found.add(kind)
        stack.extend(kind.__subclasses__())
    return frozenset(found)


# contexts, operators and names hold no call, string or assignment: the walk skips them
_INERT = _all_subclasses(
    ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.Name
)
_FUNCTIONS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda})
_ASSIGNMENTS = frozenset(
    {
        ast.Assign,
        ast.AnnAssign,
        ast.AugAssign,
        ast.For,
        ast.AsyncFor,
        ast.With,
        ast.AsyncWith,
        ast.NamedExpr,
    }
)
_BRANCHES = (
    ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith, ast.Match,
)  # fmt: skip
_BRANCH_TYPES = frozenset(_BRANCHES) | {getattr(ast, "TryStar", ast.Try)}


@dataclass(frozen=True, slots=True)
class _Piece:
    """A run of SQL text and where it stands in the file."""

    start: int  # offset of this piece in the resolved SQL
    text: str
    line: int
    column: int  # 1-based column of the piece's first character
    exact: bool  # False when escapes make character positions unknowable


@dataclass
class PythonSQL:
    """One SQL string found in a Python file."""

    sql: str
    pieces: list[_Piece]
    line: int
    column: int
    method: str | None  # the query method, None for a free-standing literal
    anchor_lines: tuple[int, ...] = ()  # lines a suppression may sit on (call, definition)

    def position(self, offset: int) -> tuple[int, int]:
        """File (line, column) of an offset in `sql`."""
        piece = self.pieces[0] if self.pieces else None
        for candidate in self.pieces:
            if candidate.start <= offset:
                piece = candidate
        if piece is None:
            return self.line, self.column
        if not piece.exact:
            return piece.line, piece.column
        inside = min(offset - piece.start, len(piece.text))
        before = piece.text[:inside]
        newlines = before.count("\n")
        if newlines == 0:
            return piece.line, piece.column + inside
        return piece.line + newlines, inside - before.rfind("\n")


@dataclass
class _Unresolved:
    node: ast.expr
    method: str
    reason: str


@dataclass(eq=False)
class _Scope:
    """Names assigned in one function (or the module): the value, or None when not constant."""

    parent: _Scope | None = None
    values: dict[str, ast.expr | None] = field(default_factory=dict)

    def assign(self, name: str, value: ast.expr | None, branched: bool) -> None:
        first = name not in self.values
        self.values[name] = value if first and not branched else None

    def lookup(self, name: str) -> tuple[ast.expr | None, bool]:
        """(value, found): the constant a name holds, here or in an enclosing scope."""
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.values:
                return scope.values[name], True
            scope = scope.parent
        return None, False


class _Extractor:
    """One pass over the module: scopes, query calls, copy calls, string constants."""

    def __init__(self, source: str, tree: ast.Module) -> None:
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.found: list[PythonSQL] = []
        self.unresolved: list[_Unresolved] = []
        self.copy_calls: list[tuple[ast.Call, str]] = []
        self.used_constants: set[int] = set()
        self.docstrings: set[int] = set()
        self.constants: list[ast.Constant] = []
        self.calls: list[tuple[ast.Call, ast.Attribute, ast.expr, _Scope]] = []
        self.scope = _Scope()
        self._walk(tree)

    def _walk(self, tree: ast.Module) -> None:
        module = _Scope()
        self._docstring(tree)
        stack: list[tuple[ast.AST, _Scope, bool]] = [
            (c, module, False) for c in reversed(tree.body)
        ]
        constants = self.constants
        skipped = _INERT  # names and constants are handled below, without a trip on the stack
        while stack:
            node, scope, branched = stack.pop()
            kind = type(node)
            if kind is ast.Constant:  # a default value or a lambda's body
                if isinstance(node.value, str):  # type: ignore[attr-defined]
                    constants.append(node)  # type: ignore[arg-type]
                continue
            if kind in _FUNCTIONS:
                self._enter_function(node, scope, branched, stack)  # type: ignore[arg-type]
                continue
            if kind is ast.ClassDef:
                self._docstring(node)
                # a class body is its own namespace; its methods see the enclosing scope
                body = node.body  # type: ignore[attr-defined]
                stack.extend([(c, _Scope(parent=scope), False) for c in reversed(body)])
                continue
            if kind in _ASSIGNMENTS:
                self._record_assignment(node, scope, branched)
            elif kind is ast.Call:
                self._record_call(node, scope)  # type: ignore[arg-type]
            inner_branched = branched or kind in _BRANCH_TYPES
            children: list[ast.AST] = []
            for name in node._fields:
                value = getattr(node, name, None)
                for child in value if type(value) is list else (value,):
                    if type(child) is ast.Constant:
                        if isinstance(child.value, str):
                            constants.append(child)
                    elif type(child) in skipped or not isinstance(child, ast.AST):
                        continue
                    else:
                        children.append(child)
            stack.extend([(c, scope, inner_branched) for c in reversed(children)])
        for call, func, argument, scope in self.calls:
            self.scope = scope
            self._query_argument(call, func, argument)

    def _enter_function(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
        scope: _Scope,
        branched: bool,
        stack: list[tuple[ast.AST, _Scope, bool]],
    ) -> None:
        inner = _Scope(parent=scope)
        args = node.args
        for parameter in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if parameter is not None:
                inner.values[parameter.arg] = None  # whatever the caller passes
        if isinstance(node, ast.Lambda):
            stack.append((node.body, inner, False))
        else:
            self._docstring(node)
            stack.extend((d, scope, branched) for d in node.decorator_list)
            stack.extend((c, inner, False) for c in reversed(node.body))
        stack.extend((d, scope, branched) for d in args.defaults)

    @staticmethod
    def _record_assignment(node: ast.AST, scope: _Scope, branched: bool) -> None:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.AugAssign | ast.For | ast.AsyncFor):
            targets = [node.target]
        elif isinstance(node, ast.With | ast.AsyncWith):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        elif isinstance(node, ast.NamedExpr):
            targets, value = [node.target], node.value
        else:
            return
        for target in targets:
            if isinstance(target, ast.Name):
                scope.assign(target.id, value, branched)
                continue
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    scope.assign(name.id, None, branched)  # unpacking: not one constant

    def _record_call(self, node: ast.Call, scope: _Scope) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute):
            return
        if func.attr in _COPY_TO_TABLE:
            self.copy_calls.append((node, func.attr))
        elif func.attr in QUERY_METHODS:
            argument = (
                node.args[0]
                if node.args
                else next((k.value for k in node.keywords if k.arg in ("query", "sql")), None)
            )
            if argument is not None:
                self.calls.append((node, func, argument, scope))

    def _lookup(self, name: str) -> tuple[ast.expr | None, bool]:
        return self.scope.lookup(name)

    # resolution

    def _literal_pieces(self, node: ast.Constant) -> list[tuple[str, int, int, bool]]:
        """(text, line, column, exact) for each part of an (implicitly concatenated) literal."""
        segment_lines = self.lines[node.lineno - 1 : (node.end_lineno or node.lineno)]
        if len(segment_lines) == 1 and node.end_col_offset is not None:
            single = self._single_literal(
                segment_lines[0][node.col_offset : node.end_col_offset], node
            )
            if single is not None:
                return [single]
        if not segment_lines:
            return [(str(node.value), node.lineno, node.col_offset + 1, False)]
        segment = "".join(segment_lines)
        start = node.col_offset
        end_line = (node.end_lineno or node.lineno) - node.lineno
        parts: list[tuple[str, int, int, bool]] = []
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(segment).readline))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            return [(str(node.value), node.lineno, node.col_offset + 1, False)]
        for token in tokens:
            if token.type != tokenize.STRING:
                continue
            (row, col), (erow, ecol) = token.start, token.end
            if (row - 1, col) < (0, start) or (erow - 1) > end_line:
                continue
            if erow - 1 == end_line and ecol > (node.end_col_offset or ecol):
                continue
            raw = token.string
            prefix = re.match(r"[A-Za-z]*", raw)
            prefix_len = prefix.end() if prefix else 0
            quote = (
                raw[prefix_len : prefix_len + 3]
                if raw[prefix_len : prefix_len + 3] in ('"""', "'''")
                else raw[prefix_len]
            )
            body = raw[prefix_len + len(quote) : len(raw) - len(quote)]
            try:
                value = ast.literal_eval(raw)
            except (ValueError, SyntaxError):
                return [(str(node.value), node.lineno, node.col_offset + 1, False)]
            if not isinstance(value, str):
                return [(str(node.value), node.lineno, node.col_offset + 1, False)]
            exact = value == body
            line = node.lineno + row - 1
            column = col + prefix_len + len(quote) + 1
            parts.append((value, line, column, exact))
        if "".join(p[0] for p in parts) != node.value:
            return [(str(node.value), node.lineno, node.col_offset + 1, False)]
        return parts

    @staticmethod
    def _single_literal(raw: str, node: ast.Constant) -> tuple[str, int, int, bool] | None:
        """Fast path: one plain literal on one line (no tokenizer needed)."""
        prefix = len(raw) - len(raw.lstrip("rRbBuUfF"))
        quote = (
            raw[prefix : prefix + 3]
            if raw[prefix : prefix + 3] in ('"""', "'''")
            else raw[prefix : prefix + 1]
        )
        if not quote or not raw.endswith(quote) or len(raw) < prefix + 2 * len(quote):
            return None
        body = raw[prefix + len(quote) : len(raw) - len(quote)]
        if quote in body or not isinstance(node.value, str):
            return None  # implicit concatenation on one line, or an escaped quote
        exact = body == node.value
        if not exact and "\\" not in body:
            return None
        return node.value, node.lineno, node.col_offset + prefix + len(quote) + 1, exact

    def resolve(self, node: ast.expr, depth: int = 0) -> tuple[list[_Piece], str] | str:
        """The pieces of a constant string, or the reason it cannot be resolved."""
        pieces: list[_Piece] = []
        stack: list[ast.expr] = [node]
        offset = 0
        steps = 0
        while stack:
            steps += 1
            if steps > 10_000:
                return "the string expression is too large to resolve"
            current = stack.pop()
            if isinstance(current, ast.Constant) and isinstance(current.value, str):
                self.used_constants.add(id(current))
                for text, line, column, exact in self._literal_pieces(current):
                    pieces.append(_Piece(offset, text, line, column, exact))
                    offset += len(text)
            elif isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
                stack.append(current.right)
                stack.append(current.left)
            elif isinstance(current, ast.Name):
                value, found = self._lookup(current.id)
                if value is None:
                    if found:
                        return f"`{current.id}` is assigned in several places or under a branch"
                    return (
                        f"`{current.id}` is not a constant of this module (a parameter or import?)"
                    )
                if depth > 20:
                    return "the constant refers to itself"
                resolved = self.resolve(value, depth + 1)
                if isinstance(resolved, str):
                    return resolved
                for piece in resolved[0]:
                    pieces.append(replace(piece, start=offset + piece.start))
                offset += len(resolved[1])
            elif (
                isinstance(current, ast.Call)
                and (
                    (isinstance(current.func, ast.Attribute) and current.func.attr == "dedent")
                    or (isinstance(current.func, ast.Name) and current.func.id == "dedent")
                )
                and len(current.args) == 1
                and not current.keywords
            ):
                resolved = self.resolve(current.args[0], depth + 1)
                if isinstance(resolved, str):
                    return resolved
                import textwrap

                text = textwrap.dedent(resolved[1])
                first = resolved[0][0] if resolved[0] else None
                line, column = (
                    (first.line, first.column)
                    if first
                    else (current.lineno, current.col_offset + 1)
                )
                pieces.append(_Piece(offset, text, line, column, False))
                offset += len(text)
            elif isinstance(current, ast.JoinedStr):
                names = [
                    v.value.id
                    for v in current.values
                    if isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Name)
                ]
                formatted = [v for v in current.values if isinstance(v, ast.FormattedValue)]
                if formatted and len(names) == len(formatted):
                    return (
                        f"an f-string interpolates {', '.join(names)}: even when they only hold "
                        "placeholders, the SQL text is decided at run time"
                    )
                return "an f-string with expressions builds the SQL at run time"
            elif isinstance(current, ast.BinOp) and isinstance(current.op, ast.Mod):
                return "`%` formatting builds the SQL at run time"
            elif (
                isinstance(current, ast.Call)
                and isinstance(current.func, ast.Attribute)
                and current.func.attr == "format"
            ):
                return "`.format()` builds the SQL at run time"
            else:
                return f"the SQL is computed at run time ({type(current).__name__.lower()})"
        return pieces, "".join(p.text for p in pieces)

    # visiting

    def _docstring(self, node: ast.AST) -> None:
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            self.docstrings.add(id(body[0].value))

    def _query_argument(self, call: ast.Call, func: ast.Attribute, argument: ast.expr) -> None:
        if isinstance(argument, ast.Constant) and not isinstance(argument.value, str):
            return
        resolved = self.resolve(argument)
        if isinstance(resolved, str):
            building = isinstance(argument, ast.JoinedStr | ast.BinOp) or (
                isinstance(argument, ast.Call)
                and isinstance(argument.func, ast.Attribute)
                and argument.func.attr == "format"
            )
            receiver = _receiver_name(func.value)
            if building or func.attr in _ASYNCPG_ONLY or _DB_RECEIVER.search(receiver):
                self.unresolved.append(_Unresolved(argument, func.attr, resolved))
                # its literal fragments are not statements of their own: TG009 covers them
                self.used_constants.update(id(n) for n in ast.walk(argument))
            return
        pieces, sql = resolved
        anchors = {call.lineno, call.lineno - 1, argument.lineno, argument.lineno - 1}
        if pieces:
            anchors |= {pieces[0].line, pieces[0].line - 1}
        self.found.append(
            PythonSQL(
                sql,
                pieces,
                argument.lineno,
                argument.col_offset + 1,
                func.attr,
                tuple(sorted(anchors)),
            )
        )

    def free_literals(self) -> Iterator[PythonSQL]:
        """String literals that read as SQL but are not passed to a query method here."""
        for node in self.constants:
            if (
                isinstance(node.value, str)
                and id(node) not in self.used_constants
                and id(node) not in self.docstrings
                and _SQL_START.match(node.value)
            ):
                pieces: list[_Piece] = []
                offset = 0
                for text, line, column, exact in self._literal_pieces(node):
                    pieces.append(_Piece(offset, text, line, column, exact))
                    offset += len(text)
                anchors = (node.lineno - 1, node.lineno)
                yield PythonSQL(node.value, pieces, node.lineno, node.col_offset + 1, None, anchors)


def _receiver_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _receiver_name(node.func)
    return ""


def extract_sql(
    source: str,
) -> tuple[list[PythonSQL], list[_Unresolved], list[tuple[ast.Call, str]], ast.Module]:
    tree = ast.parse(source)
    extractor = _Extractor(source, tree)
    found = extractor.found + list(extractor.free_literals())
    return found, extractor.unresolved, extractor.copy_calls, tree


def _copy_findings(calls: list[tuple[ast.Call, str]], analyzer: Analyzer) -> Iterator[Finding]:
    """`copy_to_table(table, columns=[…])`: a tenant table needs the tenant column listed."""
    from tenantguard.engine.rules import tg002_insert_without_tenant

    info = tg002_insert_without_tenant.RULE
    policy = analyzer.policy
    for call, method in calls:
        table = (
            call.args[0]
            if call.args
            else next((k.value for k in call.keywords if k.arg == "table_name"), None)
        )
        if not (isinstance(table, ast.Constant) and isinstance(table.value, str)):
            continue
        name = identifier_name(table.value.split(".")[-1])
        if not policy.is_tenant_table(name):
            continue
        columns = next((k.value for k in call.keywords if k.arg == "columns"), None)
        names: list[str] | None = None
        if isinstance(columns, ast.List | ast.Tuple) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in columns.elts
        ):
            names = [
                identifier_name(str(e.value)) for e in columns.elts if isinstance(e, ast.Constant)
            ]
        if names is not None and policy.tenant_column in names:
            continue
        what = (
            "lists no columns"
            if columns is None
            else (
                f"does not list {policy.tenant_column}"
                if names is not None
                else "has columns computed at run time"
            )
        )
        yield Finding(
            info.code,
            info.name,
            info.severity,
            f"{method}() into tenant table {name} {what}",
            f"pass columns=[..., '{policy.tenant_column}', ...] and the tenant in every record",
            call.lineno,
            call.col_offset + 1,
            call.end_lineno or call.lineno,
            (call.end_col_offset or 0) + 1,
        )


def check_python_text(
    text: str, analyzer: Analyzer, *, unresolved_severity: Severity = Severity.WARNING
) -> tuple[list[Finding], int, list[tuple[int, ...]]]:
    """(findings, SQL strings checked, anchor lines per finding) of one Python source."""
    info = tg006_unprovable_statement.RULE
    try:
        found, unresolved, copies, _ = extract_sql(text)
    except SyntaxError as error:
        line = error.lineno or 1
        return (
            [
                Finding(
                    info.code,
                    info.name,
                    Severity.ERROR,
                    f"cannot parse Python ({error.msg}): the SQL in this file cannot be checked",
                    "fix the syntax error",
                    line,
                    error.offset or 1,
                    line,
                    error.offset or 1,
                )
            ],
            0,
            [()],
        )
    except (RecursionError, MemoryError, ValueError) as error:
        return (
            [
                Finding(
                    info.code,
                    info.name,
                    Severity.ERROR,
                    f"cannot parse Python ({type(error).__name__}): its SQL cannot be checked",
                    "simplify the file",
                    1,
                    1,
                    1,
                    1,
                )
            ],
            0,
            [()],
        )
    findings: list[Finding] = []
    anchors: list[tuple[int, ...]] = []
    dynamic = tg009_unresolved_dynamic_sql.RULE
    for dynamic_site in unresolved:
        node = dynamic_site.node
        findings.append(
            Finding(
                dynamic.code,
                dynamic.name,
                unresolved_severity,
                f"SQL passed to .{dynamic_site.method}() cannot be proven: {dynamic_site.reason}",
                "pass a constant SQL string and bind every value as a parameter ($1, $2, …)",
                node.lineno,
                node.col_offset + 1,
                node.end_lineno or node.lineno,
                (node.end_col_offset or 0) + 1,
            )
        )
        anchors.append((node.lineno - 1, node.lineno))
    for finding in _copy_findings(copies, analyzer):
        findings.append(finding)
        anchors.append((finding.line - 1, finding.line))
    seen: set[tuple[int, int, str, str]] = set()
    checked = 0
    for item in found:
        if item.method is None and not _worth_checking(item.sql, analyzer):
            continue
        checked += 1
        statements, _ = split_sql(item.sql)
        for statement in statements:
            for finding in analyzer.statement_findings(statement.text, statement.error):
                offset = statement.start + _offset_in(statement.text, finding.line, finding.column)
                end = statement.start + _offset_in(
                    statement.text, finding.end_line, finding.end_column
                )
                line, column = item.position(offset)
                end_line, end_column = item.position(end)
                key = (line, column, finding.code, finding.message)
                if key in seen:
                    continue
                seen.add(key)
                findings.append(finding.at(line, column, end_line, end_column))
                stmt_line = item.position(statement.start)[0]
                anchors.append(
                    tuple(sorted({*item.anchor_lines, line - 1, line, stmt_line - 1, stmt_line}))
                )
    return findings, checked, anchors


def _offset_in(text: str, line: int, column: int) -> int:
    offset = 0
    for _ in range(line - 1):
        newline = text.find("\n", offset)
        if newline < 0:
            return len(text)
        offset = newline + 1
    return min(len(text), offset + column - 1)


def _worth_checking(sql: str, analyzer: Analyzer) -> bool:
    """A free-standing literal is checked when it parses as SQL and names a tenant table."""
    lowered = sql.lower()
    if not any(table in lowered for table in analyzer.policy.tenant_tables):
        return False
    statements, _ = split_sql(sql)
    if not statements:
        return False
    verdict = analyzer.verdict(statements[0].text)
    return verdict.parsed and verdict.touches_tenant_tables
