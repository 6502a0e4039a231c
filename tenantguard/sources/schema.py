"""Reading table and view definitions out of the schema sources (patches, baseline).

Tables and views are created by plain statements and inside `DO $$ … $$` blocks alike (also as
`EXECUTE '…'` strings), so CREATE/ALTER TABLE, CREATE/DROP VIEW statements are located by a
regular expression wherever they stand, cut at their end by the SQL splitter, and parsed by
sqlglot. Files are read in order, so a later patch's DROP VIEW removes an earlier view.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from tenantguard.engine.policy import Policy
from tenantguard.engine.proof import identifier_name
from tenantguard.engine.sqltext import split_sql

__all__ = ["SchemaInfo", "ViewInfo", "read_schema", "tenant_views"]

_TABLE_DDL = re.compile(
    r"\b(?:CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?TABLE|ALTER\s+TABLE)\b",
    re.IGNORECASE,
)
_VIEW_DDL = re.compile(
    r"\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY)\s+)?(?:RECURSIVE\s+)?"
    r"(?:MATERIALIZED\s+)?VIEW|DROP\s+(?:MATERIALIZED\s+)?VIEW)\b",
    re.IGNORECASE,
)
_LONGEST_DDL = 100_000  # characters: a table definition longer than this is not a definition


@dataclass(frozen=True)
class ViewInfo:
    """A view (or materialized view) of the schema sources: its query, and its column list."""

    query: str
    columns: list[str] | None  # `CREATE VIEW v (a, b)`; None: the query's own names


@dataclass
class SchemaInfo:
    columns: dict[str, set[str]] = field(default_factory=dict)
    constraints: dict[str, set[str]] = field(default_factory=dict)
    views: dict[str, ViewInfo] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def tables_with(self, column: str) -> set[str]:
        return {table for table, cols in self.columns.items() if column in cols}

    def add_sql(self, text: str) -> None:
        found = sorted(
            [*_TABLE_DDL.finditer(text), *_VIEW_DDL.finditer(text)], key=lambda m: m.start()
        )
        for match in found:
            start = match.start()
            chunk = text[start : start + _LONGEST_DDL]
            if text.count("'", text.rfind("\n", 0, start) + 1, start) % 2:
                # inside a string (`EXECUTE 'CREATE VIEW …'`): it ends at the closing quote
                self._add_statement(_string_body(chunk))
                continue
            statements, _ = split_sql(chunk)
            if statements and statements[0].error is None:
                self._add_statement(statements[0].text)

    def _add_statement(self, sql: str) -> None:
        try:
            tree = sqlglot.parse_one(sql, read="postgres")
        except (SqlglotError, RecursionError):
            return
        if isinstance(tree, exp.Create) and str(tree.args.get("kind")).upper() == "VIEW":
            self._add_view(tree)
        elif isinstance(tree, exp.Drop) and str(tree.args.get("kind")).upper() == "VIEW":
            for dropped in tree.args.get("tables") or [tree.this]:
                if isinstance(dropped, exp.Table):
                    self.views.pop(identifier_name(dropped.this), None)
        elif isinstance(tree, exp.Create) and isinstance(tree.this, exp.Schema):
            table = tree.this.this
            if not isinstance(table, exp.Table):
                return
            name = identifier_name(table.this)
            columns = self.columns.setdefault(name, set())
            self._add_elements(name, columns, tree.this.expressions)
        elif isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table):
            name = identifier_name(tree.this.this)
            columns = self.columns.setdefault(name, set())
            actions: list[exp.Expression] = []
            for action in tree.args.get("actions") or []:
                actions.extend(
                    action.expressions if isinstance(action, exp.AddConstraint) else [action]
                )
            self._add_elements(name, columns, actions)

    def _add_view(self, tree: exp.Create) -> None:
        target, columns = tree.this, None
        if isinstance(target, exp.Schema):
            columns = [identifier_name(c) for c in target.expressions]
            target = target.this
        query = tree.expression
        if isinstance(target, exp.Table) and isinstance(query, exp.Expression):
            self.views[identifier_name(target.this)] = ViewInfo(query.sql("postgres"), columns)

    def _add_elements(
        self, table: str, columns: set[str], elements: Iterable[exp.Expression]
    ) -> None:
        for element in elements:
            if isinstance(element, exp.ColumnDef):
                column = identifier_name(element.this)
                columns.add(column)
                for constraint in element.args.get("constraints") or []:
                    if isinstance(constraint.args.get("kind"), exp.PrimaryKeyColumnConstraint):
                        self.constraints[f"{table}_pkey"] = {column}
            elif isinstance(element, exp.PrimaryKey):
                self.constraints[f"{table}_pkey"] = {
                    identifier_name(c) for c in element.expressions
                }
            elif isinstance(element, exp.Constraint):
                name = identifier_name(element.this)
                for kind in element.expressions:
                    if isinstance(kind, exp.PrimaryKey):
                        self.constraints[name] = {identifier_name(c) for c in kind.expressions}
                    elif isinstance(kind, exp.UniqueColumnConstraint) and isinstance(
                        kind.this, exp.Schema
                    ):
                        self.constraints[name] = {identifier_name(c) for c in kind.this.expressions}


def tenant_views(views: Mapping[str, ViewInfo], policy: Policy) -> dict[str, set[str] | None]:
    """The views that are tenant tables themselves, with their columns (None: unknown).

    A view whose query reads tenant rows without pinning them (the proof reports an error on it:
    `SELECT * FROM patients WHERE status = 'a'`) hands every tenant's rows to whoever reads it;
    reading it must then be pinned like reading a table. A view pinned inside (by the tenant
    expression: `WHERE tenant_id = current_setting('app.tenant_id')::bigint`) is safe as it is,
    and so is one that reads no tenant table. Views of views are followed to a fixed point.
    """
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    found: dict[str, set[str] | None] = {}
    changed = True
    while changed:
        changed = False
        current = policy.replace(tenant_tables=policy.tenant_tables | found.keys())
        for name, view in views.items():
            if name in found or name in policy.tenant_tables or name in policy.global_tables:
                continue
            verdict = analyze_statement(view.query, current)
            if any(f.severity is Severity.ERROR for f in verdict.findings):
                found[name] = set(view.columns) if view.columns else _output_columns(view.query)
                changed = True
    return found


def _output_columns(query: str) -> set[str] | None:
    """The names a view's query outputs, or None when a `*` or an expression hides them."""
    try:
        tree = sqlglot.parse_one(query, read="postgres")
    except (SqlglotError, RecursionError):
        return None
    if not isinstance(tree, exp.Select):
        return None
    names: set[str] = set()
    for item in tree.expressions:
        if isinstance(item, exp.Alias):
            names.add(identifier_name(item.args.get("alias")))
        elif isinstance(item, exp.Column) and not isinstance(item.this, exp.Star):
            names.add(identifier_name(item.this))
        else:
            return None
    return names


def _string_body(text: str) -> str:
    """The rest of a '…' string literal that `text` starts inside of, `''` read as `'`."""
    out: list[str] = []
    position = 0
    while True:
        quote = text.find("'", position)
        if quote < 0:
            return ""  # never closes: not a statement
        out.append(text[position:quote])
        if text.startswith("''", quote):
            out.append("'")
            position = quote + 2
            continue
        return "".join(out)


def read_schema(paths: Iterable[Path]) -> SchemaInfo:
    """Reads every `.sql` file under the given files and directories (missing ones are skipped)."""
    schema = SchemaInfo()
    for path in paths:
        files = sorted(path.rglob("*.sql")) if path.is_dir() else [path] if path.is_file() else []
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            schema.files.append(file)
            schema.add_sql(text)
    return schema
