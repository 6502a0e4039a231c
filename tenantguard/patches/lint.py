"""Reading patches for the patch rules: statements (pglast), DO-block bodies (PL/pgSQL), tables.

pglast is PostgreSQL's own parser: every statement PostgreSQL accepts is read exactly, and the
body of a `DO $$ … $$` block is parsed as PL/pgSQL, with its IF conditions, EXCEPTION handlers
and dynamic EXECUTEs visible. The rules in `tenantguard.patches.rules` look at what this module
extracts; they do not parse.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any

import pglast
from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.findings import Finding
from tenantguard.engine.policy import Policy
from tenantguard.engine.sqltext import LineIndex

__all__ = ["PatchSource", "PatchStatement", "TableShape", "lint_patch_text", "read_patch_source"]

_CATALOG = lazy_pattern(
    r"\b(pg_\w+|information_schema|to_regclass|to_regtype|to_regproc|to_regprocedure|to_regnamespace)\b",
    re.IGNORECASE,
)


@dataclass
class PatchStatement:
    """One DDL/DML statement of a patch, top-level or inside a DO block."""

    node: Any  # a pglast.ast statement
    line: int
    column: int
    text: str
    in_do: bool = False
    guarded: bool = False  # inside an IF on a catalog check, or a block with an EXCEPTION handler


@dataclass
class DynamicExecute:
    line: int
    column: int
    query: str


@dataclass
class TableShape:
    """What the patch set says of one table: its columns, NOT NULLs, and leading index columns."""

    name: str
    line: int = 0
    column: int = 0
    path: str = ""
    columns: set[str] = field(default_factory=set)
    not_null: set[str] = field(default_factory=set)
    index_leads: set[str] = field(default_factory=set)


@dataclass
class PatchSource:
    path: str
    statements: list[PatchStatement] = field(default_factory=list)
    dynamic: list[DynamicExecute] = field(default_factory=list)
    errors: list[tuple[int, int, str]] = field(default_factory=list)
    transactional: bool = True  # no `-- tenantguard: no-transaction` line
    do_transaction_control: list[tuple[int, int, str]] = field(default_factory=list)  # COMMIT in DO
    text: str = ""  # as read (what `patches apply` checks too: TG109)


def _walk_plpgsql(node: Any, guarded: bool, found: list[tuple[dict[str, Any], bool, str]]) -> None:
    """Collects (statement, guarded, kind) from a PL/pgSQL JSON tree, iteratively."""
    stack: list[tuple[Any, bool]] = [(node, guarded)]
    while stack:
        current, inside = stack.pop()
        if isinstance(current, list):
            stack.extend((item, inside) for item in reversed(current))
            continue
        if not isinstance(current, dict):
            continue
        for kind, body in current.items():
            if not isinstance(body, dict):
                stack.append((body, inside))
                continue
            if kind == "PLpgSQL_stmt_execsql":
                found.append((body, inside, "sql"))
            elif kind in ("PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback"):
                found.append((body, inside, kind.rsplit("_", 1)[1].upper()))
            elif kind == "PLpgSQL_stmt_dynexecute":
                found.append((body, inside, "dynamic"))
            elif kind == "PLpgSQL_stmt_block":
                handled = inside or bool(body.get("exceptions"))
                stack.append((body.get("body", []), handled))
            elif kind == "PLpgSQL_stmt_if":
                condition = body.get("cond", {}).get("PLpgSQL_expr", {}).get("query", "")
                checked = inside or bool(_CATALOG.search(condition))
                stack.append((body.get("then_body", []), checked))
                for elsif in body.get("elsif_list", []) or []:
                    stack.append((elsif, checked))
                stack.append((body.get("else_body", []), checked))
            else:
                stack.append((body, inside))


def read_patch_source(text: str, path: str) -> PatchSource:
    """Every statement of a patch file with its position, DO-block bodies included."""
    from tenantguard.patches.files import says_no_transaction

    source = PatchSource(path, transactional=not says_no_transaction(text), text=text)
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # a UTF-8 byte-order mark is not SQL; a space keeps every position
        source.text = text
    lines = LineIndex(text)
    nul = text.find("\x00")
    if nul >= 0:
        line, column = lines.position(nul)
        source.errors.append((line, column, "a NUL character: a patch is text (saved as UTF-16?)"))
        return source
    try:
        raw_statements = pglast.parse_sql(text)
    except pglast.parser.ParseError as error:
        location = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else 0
        line, column = lines.position(min(max(location, 0), len(text)))  # pglast counts characters
        message = error.args[0] if error.args else str(error)
        source.errors.append((line, column, f"PostgreSQL cannot parse this patch: {message}"))
        return source
    for raw in raw_statements:
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(text)
        statement_text = text[start:end]
        skip = len(statement_text) - len(statement_text.lstrip())
        line, column = lines.position(start + skip)
        node = raw.stmt
        if isinstance(node, ast.DoStmt):
            _read_do_block(node, statement_text, start, text, lines, source)
            continue
        source.statements.append(PatchStatement(node, line, column, statement_text.strip()))
    return source


def _read_do_block(
    node: ast.DoStmt,
    statement_text: str,
    start: int,
    text: str,
    lines: LineIndex,
    source: PatchSource,
) -> None:
    body_arg = next((d for d in node.args or () if d.defname == "as"), None)
    body = body_arg.arg.sval if body_arg is not None else ""
    body_offset = text.find(body, start) if body else start
    body_line = lines.position(max(body_offset, start))[0]
    try:
        tree = pglast.parse_plpgsql(f"DO $tg_body$ {body} $tg_body$")
    except Exception as error:
        line, column = lines.position(start)
        source.errors.append((line, column, f"PostgreSQL cannot parse this DO block: {error}"))
        return
    found: list[tuple[dict[str, Any], bool, str]] = []
    _walk_plpgsql(tree, False, found)
    for item, guarded, kind in found:
        line = body_line + max(0, int(item.get("lineno", 1)) - 1)
        if kind == "dynamic":
            query = item.get("query", {}).get("PLpgSQL_expr", {}).get("query", "")
            source.dynamic.append(DynamicExecute(line, 1, query))
            continue
        if kind in ("COMMIT", "ROLLBACK"):
            source.do_transaction_control.append((line, 1, kind))
            continue
        query = item.get("sqlstmt", {}).get("PLpgSQL_expr", {}).get("query", "")
        try:
            parsed = pglast.parse_sql(query)
        except pglast.parser.ParseError:
            continue  # PL/pgSQL statements (PERFORM …) that are not plain SQL
        for raw in parsed:
            source.statements.append(PatchStatement(raw.stmt, line, 1, query, True, guarded))


def table_shapes(sources: list[PatchSource]) -> dict[str, TableShape]:
    """Tables the patch set creates, with what later patches add to them."""
    shapes: dict[str, TableShape] = {}
    for source in sources:
        for statement in source.statements:
            node = statement.node
            if isinstance(node, ast.CreateStmt) and node.relation is not None:
                name = str(node.relation.relname)
                shape = shapes.setdefault(name, TableShape(name))
                if not shape.path:
                    shape.line, shape.column, shape.path = (
                        statement.line,
                        statement.column,
                        source.path,
                    )
                for element in node.tableElts or ():
                    _table_element(shape, element)
            elif isinstance(node, ast.AlterTableStmt) and node.relation is not None:
                name = str(node.relation.relname)
                shape = shapes.setdefault(name, TableShape(name))
                adds = (AlterTableType.AT_AddColumn, AlterTableType.AT_AddConstraint)
                for command in node.cmds or ():
                    if command.subtype in adds and command.def_ is not None:
                        _table_element(shape, command.def_)
                    elif command.subtype == AlterTableType.AT_SetNotNull and command.name:
                        shape.not_null.add(str(command.name))
            elif isinstance(node, ast.IndexStmt) and node.relation is not None:
                name = str(node.relation.relname)
                shape = shapes.setdefault(name, TableShape(name))
                params = node.indexParams or ()
                if params and getattr(params[0], "name", None):
                    shape.index_leads.add(params[0].name)
    return shapes


def _table_element(shape: TableShape, element: Any) -> None:
    if isinstance(element, ast.ColumnDef):
        column = str(element.colname)
        shape.columns.add(column)
        for constraint in element.constraints or ():
            if constraint.contype in (ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_PRIMARY):
                shape.not_null.add(column)
            if constraint.contype in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE):
                shape.index_leads.add(column)
    elif isinstance(element, ast.Constraint) and element.keys:
        keys = [k.sval for k in element.keys]
        if element.contype in (
            ConstrType.CONSTR_PRIMARY,
            ConstrType.CONSTR_UNIQUE,
            ConstrType.CONSTR_EXCLUSION,
        ):
            shape.index_leads.add(keys[0])
        if element.contype == ConstrType.CONSTR_PRIMARY:
            shape.not_null.update(keys)


def lint_patch_text(
    text: str, path: str, policy: Policy, directory: Path | None = None
) -> list[Finding]:
    """Findings of the patch rules for one patch file (`directory` gives the whole patch set)."""
    from tenantguard.patches.rules import PatchContext, check_patch

    source = read_patch_source(text, path)
    others: list[PatchSource] = [source]
    if directory is not None:
        this = os.path.realpath(path)
        others.extend(s for p, s in _patch_set(directory) if p != this)
    return list(check_patch(PatchContext(source, table_shapes(others), policy)))


# A patch directory's sources, each file read and parsed once per process while it is unchanged
# (the same size, modification time and inode): every patch of a set is checked against all the
# others, and parsing them all again for each one made a check of n patches n² parses.
_read: dict[str, tuple[tuple[int, int, int], PatchSource]] = {}


def _patch_set(directory: Path) -> list[tuple[str, PatchSource]]:
    """The `*.sql` files of a patch directory, in name order, as (real path, source); a file that
    cannot be read as UTF-8 text is left out (it is reported when it is checked itself)."""
    try:
        entries = sorted(
            (e for e in os.scandir(directory) if e.name.endswith(".sql")), key=lambda e: e.name
        )
    except OSError:
        return []
    found: list[tuple[str, PatchSource]] = []
    # a file that is no symbolic link is at its name in the directory's real path: one realpath
    # for the directory, not one per file (n per patch checked, n² per check)
    real_directory = os.path.realpath(directory)
    for entry in entries:
        try:
            if entry.is_symlink():
                real = os.path.realpath(entry.path)
            else:
                real = os.path.join(real_directory, entry.name)
            stat = os.stat(real)
        except OSError:
            continue
        if not S_ISREG(stat.st_mode):
            continue
        signature = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        known = _read.get(real)
        if known is None or known[0] != signature:
            try:
                text = Path(real).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                _read.pop(real, None)
                continue
            known = (signature, read_patch_source(text, entry.path))
            _read[real] = known
        found.append((real, known[1]))
    return found
