"""Reading table definitions out of the schema sources (patches, baseline).

Tables are created by plain statements and inside `DO $$ … $$` blocks alike, so CREATE TABLE and
ALTER TABLE statements are located by a regular expression wherever they stand, cut at their
end by the SQL splitter, and parsed by sqlglot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from tenantguard.engine.proof import identifier_name
from tenantguard.engine.sqltext import split_sql

__all__ = ["SchemaInfo", "read_schema"]

_TABLE_DDL = re.compile(
    r"\b(?:CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?TABLE|ALTER\s+TABLE)\b",
    re.IGNORECASE,
)
_LONGEST_DDL = 100_000  # characters: a table definition longer than this is not a definition


@dataclass
class SchemaInfo:
    columns: dict[str, set[str]] = field(default_factory=dict)
    constraints: dict[str, set[str]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def tables_with(self, column: str) -> set[str]:
        return {table for table, cols in self.columns.items() if column in cols}

    def add_sql(self, text: str) -> None:
        for match in _TABLE_DDL.finditer(text):
            statements, _ = split_sql(text[match.start() : match.start() + _LONGEST_DDL])
            if statements and statements[0].error is None:
                self._add_statement(statements[0].text)

    def _add_statement(self, sql: str) -> None:
        try:
            tree = sqlglot.parse_one(sql, read="postgres")
        except (SqlglotError, RecursionError):
            return
        if isinstance(tree, exp.Create) and isinstance(tree.this, exp.Schema):
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
