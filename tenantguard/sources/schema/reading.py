"""`SchemaInfo`, the reader: SQL text (split, psql-free, undo-free) and Python migrations in,
each statement dispatched to its layer (`_HANDLERS`), DDL embedded in strings and bodies;
the schema cache's JSON; `read_schema`, the files in revision order.

The top layer of `SchemaInfo` on `views`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.policy import (
    fold_name,
    names_in_text,
)
from tenantguard.engine.sqltext import LineIndex, split_sql
from tenantguard.sources.schema.alembic import (
    _ALEMBIC_LOOSE,
    _ALEMBIC_LOSSY,
    _ALEMBIC_SQL,
    _ALEMBIC_TYPE,
    _alembic_call,
    _called,
    _first_text,
    _forward,
    _ModuleColumns,
    _unread_alembic_table,
    constant_folds,
)
from tenantguard.sources.schema.nodes import _UNKNOWN_SCHEMA, _origin_role, _quote_name, _relname
from tenantguard.sources.schema.records import (
    ForeignKeyInfo,
    FunctionInfo,
    SchemaProblem,
    TriggerInfo,
    ViewInfo,
    WriteRule,
)
from tenantguard.sources.schema.texts import (
    _ANY_DDL,
    _FUNCTION_DDL,
    _HIDDEN_DDL,
    _INDEX_DDL,
    _LONGEST_DDL,
    _OTHER_DDL,
    _TABLE_DDL,
    _TYPE_DDL,
    _VIEW_DDL,
    _formatted,
    _psql_free,
    _string_body,
    _undo_free,
    is_undo_script,
)
from tenantguard.sources.schema.views import _Code
from tenantguard.sources.walk import schema_files


class SchemaInfo(_Code):
    """What the schema sources say of tables, keys, views and functions."""

    # kept between runs (the schema cache): JSON, read back equal

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": {t: sorted(c) for t, c in self.columns.items()},
            "constraints": {n: sorted(c) for n, c in self.constraints.items()},
            "unique_keys": {t: [sorted(k) for k in keys] for t, keys in self.unique_keys.items()},
            "foreign_keys": {
                t: [
                    [
                        k.name,
                        list(k.columns),
                        k.ref_table,
                        list(k.ref_columns),
                        k.valid,
                        k.deferrable,
                        k.on_delete,
                        k.on_update,
                        list(k.on_delete_columns),
                    ]
                    for k in keys
                ]
                for t, keys in self.foreign_keys.items()
            },
            "views": {n: [v.query, v.columns] for n, v in self.views.items()},
            "functions": {
                n: [
                    f.body,
                    f.opaque,
                    f.parameters,
                    None if f.columns is None else sorted(f.columns),
                    [list(c) for c in f.constants],
                    list(f.lossy),
                    list(f.outputs),
                    f.overloads,
                    f.inlined,
                    f.cheap,
                    None if f.returned is None else list(f.returned),
                    [list(d) for d in f.defaults],
                ]
                for n, f in self.functions.items()
            },
            "problems": [
                [p.path, p.line, p.column, p.message, p.text, p.parsed] for p in self.problems
            ],
            "files": [str(f) for f in self.files],
            "defaults": {t: dict(d) for t, d in self.defaults.items()},
            "loose": {t: sorted(c) for t, c in self.loose.items()},
            "traits": {t: {c: sorted(k) for c, k in d.items()} for t, d in self.traits.items()},
            "lossy_columns": sorted(self.lossy_columns),
            "children": {t: sorted(c) for t, c in self.children.items() if c},
            "generated": {
                t: {c: sorted(r) for c, r in g.items()} for t, g in self.generated.items() if g
            },
            "triggers": [
                [
                    t.name,
                    t.relation,
                    list(t.events),
                    t.function,
                    t.row,
                    list(t.args),
                    list(t.transitions),
                ]
                for t in self.triggers
            ],
            "trigger_functions": {
                n: [f.body, f.opaque, [list(c) for c in f.row_copies]]
                for n, f in self.trigger_functions.items()
            },
            "new_fields": {n: sorted(f) for n, f in self.new_fields.items()},
            "write_rules": [
                [r.name, r.relation, r.event, r.actions, r.stale] for r in self.write_rules
            ],
            "filled": {n: [v.query, v.columns] for n, v in self.filled.items()},
            "materialized": sorted(self.materialized),
            "stale_views": sorted(self.stale_views),
            "bound_functions": sorted(self.bound_functions),
            "copies": {t: dict(c) for t, c in self.copies.items() if c},
            "exact_domains": {n: list(d) for n, d in self.exact_domains.items()},
            "one_domains": sorted(self.one_domains),
            "exact_functions": dict(self.exact_functions),
            "stable_functions": sorted(self.stable_functions),
            "volatile_views": sorted(self.volatile_views),
            "volatile_operators": sorted(self.volatile_operators),
            "operators": [list(o) for o in self.operators],
            "lossy_arguments": {n: sorted(p) for n, p in self.lossy_arguments.items()},
            "generated_calls": {t: dict(c) for t, c in self.generated_calls.items() if c},
            "implicit_calls": {
                t: {w: sorted(f) for w, f in c.items()} for t, c in self.implicit_calls.items()
            },
            "domain_calls": {d: sorted(f) for d, f in self.domain_calls.items()},
            "aggregate_calls": {a: sorted(f) for a, f in self.aggregate_calls.items()},
            "function_domains": {f: sorted(d) for f, d in self.function_domains.items()},
            "loose_keys": {t: sorted(c) for t, c in self.loose_keys.items()},
            "loosely_keyed": {
                t: {n: sorted(c) for n, c in keys.items()} for t, keys in self.loosely_keyed.items()
            },
            "spanning": {
                t: {n: sorted(k) for n, k in keys.items()} for t, keys in self.spanning.items()
            },
            "primary_keys": dict(self.primary_keys),
            "row_changers": sorted(self.row_changers),
            "held_columns": {t: sorted(c) for t, c in self.held_columns.items()},
            "held_types": {t: sorted(c) for t, c in self.held_types.items()},
            "like_sources": {t: sorted(c) for t, c in self.like_sources.items()},
            "relation_schemas": {n: sorted(s) for n, s in self.relation_schemas.items()},
            "order": {t: list(c) for t, c in self.order.items()},
            "plain_tables": {n: dict(h) for n, h in self.plain_tables.items()},
            "names_unsure": self.names_unsure,
        }

    @classmethod
    def from_json(cls, data: Any) -> SchemaInfo:
        """The schema `to_json` gave; KeyError, TypeError or ValueError when it is not that."""

        def texts(items: Any) -> list[str]:
            if not isinstance(items, list):
                raise TypeError("a list of names")
            return [str(i) for i in items]

        return cls(
            {str(t): set(texts(c)) for t, c in data["columns"].items()},
            {str(n): set(texts(c)) for n, c in data["constraints"].items()},
            {
                str(t): [frozenset(texts(k)) for k in keys]
                for t, keys in data["unique_keys"].items()
            },
            {
                str(t): [
                    ForeignKeyInfo(
                        str(name),
                        tuple(texts(columns)),
                        str(ref_table),
                        tuple(texts(ref_columns)),
                        bool(valid),
                        bool(deferrable),
                        str(on_delete),
                        str(on_update),
                        tuple(texts(on_delete_columns)),
                    )
                    for (
                        name,
                        columns,
                        ref_table,
                        ref_columns,
                        valid,
                        deferrable,
                        on_delete,
                        on_update,
                        on_delete_columns,
                    ) in keys
                ]
                for t, keys in data["foreign_keys"].items()
            },
            {
                str(n): ViewInfo(str(query), None if columns is None else texts(columns))
                for n, (query, columns) in data["views"].items()
            },
            {
                str(n): FunctionInfo(
                    texts(body),
                    str(opaque),
                    texts(parameters),
                    None if columns is None else set(texts(columns)),
                    tuple((str(a), str(b)) for a, b in constants),
                    tuple(int(i) for i in lossy),
                    tuple(texts(outputs)),
                    bool(overloads),
                    bool(inlined),
                    bool(cheap),
                    None if returned is None else tuple(texts(returned)),
                    defaults=tuple((int(i), str(d)) for i, d in defaults),
                )
                for n, (
                    body,
                    opaque,
                    parameters,
                    columns,
                    constants,
                    lossy,
                    outputs,
                    overloads,
                    inlined,
                    cheap,
                    returned,
                    defaults,
                ) in data["functions"].items()
            },
            [
                SchemaProblem(
                    str(path), int(line), int(column), str(message), str(text), bool(parsed)
                )
                for path, line, column, message, text, parsed in data["problems"]
            ],
            [Path(str(f)) for f in data["files"]],
            {str(t): {str(c): str(e) for c, e in d.items()} for t, d in data["defaults"].items()},
            {str(t): set(texts(c)) for t, c in data["loose"].items()},
            {
                str(t): {str(c): set(texts(k)) for c, k in d.items()}
                for t, d in data["traits"].items()
            },
            set(texts(data["lossy_columns"])),
            children={str(t): set(texts(c)) for t, c in data["children"].items()},
            generated={
                str(t): {str(c): set(texts(r)) for c, r in g.items()}
                for t, g in data["generated"].items()
            },
            triggers=[
                TriggerInfo(
                    str(name),
                    str(relation),
                    tuple(texts(events)),
                    str(f),
                    bool(row),
                    tuple(texts(args)),
                    tuple(texts(transitions)),
                )
                for name, relation, events, f, row, args, transitions in data["triggers"]
            ],
            trigger_functions={
                str(n): FunctionInfo(
                    texts(body),
                    str(opaque),
                    [],
                    None,
                    row_copies=tuple((str(a), str(b)) for a, b in copies),
                )
                for n, (body, opaque, copies) in data["trigger_functions"].items()
            },
            new_fields={str(n): set(texts(f)) for n, f in data["new_fields"].items()},
            write_rules=[
                WriteRule(str(name), str(relation), str(event), texts(actions), bool(stale))
                for name, relation, event, actions, stale in data["write_rules"]
            ],
            filled={
                str(n): ViewInfo(str(query), None if columns is None else texts(columns))
                for n, (query, columns) in data["filled"].items()
            },
            materialized=set(texts(data["materialized"])),
            stale_views=set(texts(data["stale_views"])),
            bound_functions=set(texts(data["bound_functions"])),
            copies={
                str(t): {str(c): str(r) for c, r in g.items()} for t, g in data["copies"].items()
            },
            exact_domains={
                str(n): (str(schema), str(base))
                for n, (schema, base) in data["exact_domains"].items()
            },
            one_domains=set(texts(data.get("one_domains", ()))),
            exact_functions={str(n): str(b) for n, b in data["exact_functions"].items()},
            stable_functions=set(texts(data["stable_functions"])),
            volatile_views=set(texts(data["volatile_views"])),
            volatile_operators=set(texts(data["volatile_operators"])),
            operators=[(str(o[0]), str(o[1])) for o in data.get("operators", ())],
            lossy_arguments={
                str(n): {int(i) for i in p} for n, p in data["lossy_arguments"].items()
            },
            generated_calls={
                str(t): {str(c): str(r) for c, r in g.items()}
                for t, g in data["generated_calls"].items()
            },
            implicit_calls={
                str(t): {str(w): set(texts(f)) for w, f in c.items()}
                for t, c in data["implicit_calls"].items()
            },
            domain_calls={str(d): set(texts(f)) for d, f in data["domain_calls"].items()},
            aggregate_calls={str(a): set(texts(f)) for a, f in data["aggregate_calls"].items()},
            function_domains={str(f): set(texts(d)) for f, d in data["function_domains"].items()},
            loose_keys={str(t): set(texts(c)) for t, c in data["loose_keys"].items()},
            loosely_keyed={
                str(t): {str(n): frozenset(texts(c)) for n, c in keys.items()}
                for t, keys in data.get("loosely_keyed", {}).items()
            },
            spanning={
                str(t): {str(n): frozenset(texts(k)) for n, k in keys.items()}
                for t, keys in data["spanning"].items()
            },
            primary_keys={str(t): str(n) for t, n in data.get("primary_keys", {}).items()},
            row_changers=set(texts(data.get("row_changers", []))),
            held_columns={str(t): set(texts(c)) for t, c in data.get("held_columns", {}).items()},
            held_types={str(t): set(texts(c)) for t, c in data.get("held_types", {}).items()},
            like_sources={str(t): set(texts(c)) for t, c in data.get("like_sources", {}).items()},
            relation_schemas={
                str(n): set(texts(s)) for n, s in data.get("relation_schemas", {}).items()
            },
            order={str(t): texts(c) for t, c in data.get("order", {}).items()},
            plain_tables={
                str(n): {str(h): texts(c) for h, c in homes.items()}
                for n, homes in data.get("plain_tables", {}).items()
            },
            names_unsure=bool(data.get("names_unsure", True)),
        )

    # reading

    def add_sql(self, text: str, path: str = "") -> None:
        """Reads one file's (or one string's) statements: not the undo sections of a
        migration (goose's `-- +goose Down`, dbmate's `-- migrate:down`)."""
        self._new_session()  # each file in a session of its own (pg_dump's '')
        text = _psql_free(_undo_free(text))
        from pglast import parse_sql
        from pglast.parser import ParseError

        try:
            statements = parse_sql(text)
        except ParseError:
            self._add_one_by_one(text, path)
            return
        lines = LineIndex(text)
        for raw in statements:
            start = raw.stmt_location or 0  # pglast gives character offsets, not bytes
            end = start + raw.stmt_len if raw.stmt_len else len(text)
            self._at = (path, *lines.position(start))
            self._statement(raw.stmt, text[start:end], path)

    def _new_session(self) -> None:
        self._creation_schema = self._session_schema
        self._transaction = self._before_local = self._before_role = None

    def add_python(self, text: str, path: str = "") -> bool:
        """A Python migration (alembic, or any script sending DDL): the DDL in its string
        constants, and alembic's `op.create_table` / `op.add_column` /
        `op.create_unique_constraint` / `op.drop_table`, and as the SQL they send
        `op.rename_table` / `op.alter_column(…, new_column_name=…)` / `op.drop_constraint` /
        `op.drop_index` / `op.drop_column`. False when it does not parse."""
        self._new_session()
        import ast

        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
        docstrings = {
            id(body[0].value)
            for body in (
                getattr(n, "body", None)
                for n in ast.walk(tree)
                if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            )
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        }  # prose: alembic's "create visits table" is not a statement
        # `with op.batch_alter_table("invoices") as batch_op:`: batch_op's operations are the
        # table's (helper 113: its foreign keys were not read)
        batches = {
            item.optional_vars.id: table
            for n in ast.walk(tree)
            if isinstance(n, ast.With | ast.AsyncWith)
            for item in n.items
            if isinstance(item.context_expr, ast.Call)
            and isinstance(item.context_expr.func, ast.Attribute)
            and item.context_expr.func.attr == "batch_alter_table"
            and isinstance(item.optional_vars, ast.Name)
            and (table := _first_text(item.context_expr, "table_name")) is not None
        }
        columns = _ModuleColumns(tree)
        # `"CREATE TABLE t (" + COLUMNS + ")"`: constant strings joined by `+` are one
        # statement (helper 124: each operand was read alone, TG006, its table unseen)
        folds, folded = constant_folds(tree)
        for node in _forward(tree):
            if id(node) in folded:
                continue  # an operand of a fold, or a module constant only folds use
            constant = folds.get(id(node))
            if constant is None and isinstance(node, ast.Constant) and isinstance(node.value, str):
                constant = node.value
            if constant is not None:
                if id(node) not in docstrings and _ANY_DDL.search(constant):
                    known = len(self.problems)
                    self.add_sql(constant, path)
                    for index in range(known, len(self.problems)):  # lines of the file
                        problem = self.problems[index]
                        self.problems[index] = replace(problem, line=problem.line + node.lineno - 1)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                call = _alembic_call(node, batches)
                unread = _unread_alembic_table(call, batches)
                if unread is not None:
                    # `op.add_column(t, …)` with t a variable: what it makes cannot be read
                    # (helper 115: a tenant column added so went unseen, its table's reads
                    # "on no tenant table")
                    self.problems.append(
                        SchemaProblem(
                            path,
                            node.lineno,
                            node.col_offset + 1,
                            f"alembic's {call.func.attr}() names its table by `{unread}`, "
                            "known at run time: the columns and keys it makes cannot be read\n"
                            "name the table with a string literal",
                            ast.unparse(node)[:300],
                            parsed=True,
                        )
                    )
                call, hidden = columns.expanded(call)
                if hidden is not None:
                    # `op.create_table("t", *COMMON, *audit_columns())` with a list or helper
                    # the module does not show: a tenant column may be among them (helper 116)
                    self.problems.append(
                        SchemaProblem(
                            path,
                            node.lineno,
                            node.col_offset + 1,
                            f"alembic's {call.func.attr}() takes columns from `{hidden}`, "
                            "which this module does not show: whether the table has the "
                            "tenant column cannot be read\nwrite its columns in the call, or in "
                            "a list or a function of this module that returns them",
                            ast.unparse(node)[:300],
                            parsed=True,
                        )
                    )
                self._alembic(call.func.attr, call)
        return True

    def _alembic(self, operation: str, call: Any) -> None:
        import ast

        def text(node: Any) -> str | None:
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                return node.value
            return None

        def column(node: Any) -> str | None:
            if isinstance(node, ast.Call) and _called(node) == "Column":
                if node.args and text(node.args[0]) is not None:
                    return text(node.args[0])
                return text(next((k.value for k in node.keywords if k.arg == "name"), None))
            return None

        def typed(table: str, node: Any, type_: Any = None) -> None:
            """A column's SQLAlchemy type, where it compares loosely or rounds (`CITEXT`,
            `Float`, `CHAR`…): marked as the SQL reader marks such a column."""
            if type_ is None and isinstance(node, ast.Call):
                given = [a for a in node.args[1:2]]
                given += [k.value for k in node.keywords if k.arg == "type_"]
                type_ = given[0] if given else None
            name = column(node) if node is not None else None
            if name is None or type_ is None:
                return
            called = type_.func if isinstance(type_, ast.Call) else type_
            kind = (
                called.attr
                if isinstance(called, ast.Attribute)
                else called.id
                if isinstance(called, ast.Name)
                else ""
            ).lower()
            collation = next(
                (text(k.value) for k in getattr(type_, "keywords", ()) if k.arg == "collation"),
                None,
            )  # `sa.Text(collation="ci")` of a collation created `deterministic = false`
            if kind in _ALEMBIC_LOOSE or collation in self.loose_collations:
                self.loose.setdefault(table, set()).add(name)
                self.lossy_columns.add(name)
            elif kind in _ALEMBIC_LOSSY:
                self.lossy_columns.add(name)

        def names(node: Any) -> list[str] | None:
            if isinstance(node, ast.List | ast.Tuple):
                found = [text(e) for e in node.elts]
                return None if None in found or not found else [str(f) for f in found]
            return None

        def actions(node: Any) -> str:
            """`ondelete="CASCADE"`, `onupdate="SET NULL"`: the SQL of the key's actions (a
            value known only at run time: CASCADE, which reaches the most rows)."""
            out = ""
            for keyword in node.keywords:
                if keyword.arg in ("ondelete", "onupdate"):
                    given = text(keyword.value)
                    action = given.upper() if given else "CASCADE"
                    if not re.fullmatch(r"CASCADE|SET NULL|SET DEFAULT|RESTRICT|NO ACTION", action):
                        action = "CASCADE"
                    out += f" ON {keyword.arg[2:].upper()} {action}"
            return out + deferred(node)

        def deferred(node: Any) -> str:
            """`deferrable=True`, `initially="DEFERRED"`: checked at commit (helper 113: a
            deferrable key was read as one a pin may stand on)."""
            given = {k.arg: k.value for k in node.keywords if k.arg}
            deferrable = given.get("deferrable")
            if deferrable is None or (
                isinstance(deferrable, ast.Constant) and deferrable.value in (False, None)
            ):
                return ""
            initially = text(given["initially"]) if "initially" in given else None
            return " DEFERRABLE" + (
                " INITIALLY DEFERRED"
                if initially is None or initially.upper() == "DEFERRED"
                else ""
            )

        def foreign_key(
            table: str, local: list[str], referenced: str, remote: list[str], how: str
        ) -> None:
            """A foreign key alembic makes, read as the SQL it sends (helper 111: its ON DELETE
            CASCADE and its composite keys were not read)."""
            if len(local) != len(remote):
                return
            cols = ", ".join(map(_quote_name, local))
            refs = ", ".join(map(_quote_name, remote))
            self.add_sql(
                f"ALTER TABLE {_quote_name(table)} ADD FOREIGN KEY ({cols}) REFERENCES "
                f"{_quote_name(referenced)} ({refs}){how};"
            )

        def column_keys(name: str, node: Any) -> list[tuple[list[str], str, list[str], str]]:
            """`sa.Column("c", T, sa.ForeignKey("t.id", ondelete=…))`: its foreign keys."""
            out = []
            start = 1 if node.args and text(node.args[0]) is not None else 0  # `name=` given
            for key in node.args[start:]:
                if isinstance(key, ast.Call) and _called(key) == "ForeignKey":
                    given = key.args[0] if key.args else keyword(key, "column")
                    target = dotted(text(given))
                    if target is not None:
                        out.append(([name], target[0], [target[1]], actions(key)))
            return out

        def keyword(node: Any, name: str) -> Any:
            return next((k.value for k in node.keywords if k.arg == name), None)

        def dotted(target: str | None) -> tuple[str, str] | None:
            if target is None or "." not in target:
                return None
            referenced, _, remote = target.rpartition(".")
            return referenced.rpartition(".")[2], remote

        arguments = list(call.args)
        if operation == "create_table" and arguments and text(arguments[0]):
            table = str(text(arguments[0]))
            columns = self.columns.setdefault(table, set())
            keys: list[tuple[list[str], str, list[str], str]] = []
            primary: list[str] = []
            uniques: list[list[str]] = []
            for argument in arguments[1:]:
                name = column(argument)
                if name is not None:
                    columns.add(name)
                    typed(table, argument)
                    flags = {
                        k.arg: k.value.value
                        for k in argument.keywords
                        if isinstance(k.value, ast.Constant)
                    }
                    if flags.get("primary_key") is True:
                        primary.append(name)
                    if flags.get("unique") is True:
                        uniques.append([name])
                    keys.extend(column_keys(name, argument))
                elif isinstance(argument, ast.Call) and _called(argument) == "ForeignKeyConstraint":
                    given = [*argument.args, None, None]
                    local = names(given[0] if argument.args else keyword(argument, "columns"))
                    remote = names(
                        given[1] if len(argument.args) > 1 else keyword(argument, "refcolumns")
                    )
                    targets = [dotted(r) for r in remote or ()]
                    if local and remote and all(targets) and len({t[0] for t in targets if t}) == 1:
                        referenced = str(targets[0][0]) if targets[0] else ""
                        keys.append(
                            (local, referenced, [t[1] for t in targets if t], actions(argument))
                        )
                elif isinstance(argument, ast.Call) and _called(argument) in (
                    "UniqueConstraint",
                    "PrimaryKeyConstraint",
                ):
                    unique = {t for t in map(text, argument.args) if t}
                    if unique and len(unique) == len(argument.args) and not deferred(argument):
                        if _called(argument) == "PrimaryKeyConstraint":
                            primary = [str(text(a)) for a in argument.args]
                        else:
                            uniques.append([str(text(a)) for a in argument.args])
                    label = next(
                        (text(k.value) for k in argument.keywords if k.arg == "name"), None
                    )
                    key = label or (
                        f"{table}_pkey" if _called(argument) == "PrimaryKeyConstraint" else None
                    )
                    if key:
                        self.constraints[key] = unique
            # its keys, read as the SQL alembic sends (a composite key's referenced columns
            # must be unique for it to pin: helper 111)
            quoted = _quote_name(table)
            if primary:
                cols = ", ".join(map(_quote_name, primary))
                self.add_sql(f"ALTER TABLE {quoted} ADD PRIMARY KEY ({cols});")
            for unique_columns in uniques:
                cols = ", ".join(map(_quote_name, unique_columns))
                self.add_sql(f"ALTER TABLE {quoted} ADD UNIQUE ({cols});")
            for local, referenced, remote, how in keys:
                foreign_key(table, local, referenced, remote, how)
        elif operation == "create_foreign_key":
            labels = ("constraint_name", "source_table", "referent_table", "local_cols")
            given = [
                *arguments,
                *(keyword(call, n) for n in (*labels, "remote_cols")[len(arguments) :]),
            ]
            if len(given) >= 5:
                source, into = text(given[1]), text(given[2])
                local, remote = names(given[3]), names(given[4])
                if source and into and local and remote:
                    foreign_key(source, local, into, remote, actions(call))
        elif operation == "add_column" and len(arguments) >= 2 and text(arguments[0]):
            name = column(arguments[1])
            if name is not None:
                self.columns.setdefault(str(text(arguments[0])), set()).add(name)
                typed(str(text(arguments[0])), arguments[1])
                for local, referenced, remote, how in column_keys(name, arguments[1]):
                    foreign_key(str(text(arguments[0])), local, referenced, remote, how)
        elif operation == "drop_table" and arguments and text(arguments[0]):
            self.columns.pop(str(text(arguments[0])), None)
        elif operation in _ALEMBIC_SQL and arguments:
            # read as the SQL alembic sends: what a key, view, rule or bound function stood on
            # goes as it does on the server
            keywords = {k.arg: text(k.value) for k in call.keywords if k.arg}
            first = text(arguments[0])
            second = text(arguments[1]) if len(arguments) > 1 else keywords.get("table_name")
            if first is None or (second is None and operation != "drop_index"):
                return
            schema = keywords.get("schema")
            prefix = "" if schema is None else f"{_quote_name(schema)}."
            one, two = _quote_name(first), _quote_name(second or "")
            if operation == "rename_table":
                sql = f"ALTER TABLE {prefix}{one} RENAME TO {two}"
            elif operation == "alter_column":
                type_ = next((k.value for k in call.keywords if k.arg == "type_"), None)
                if type_ is not None:  # `op.alter_column(t, c, type_=CITEXT())`
                    # another type now, one this reader does not render: what the SQL said of
                    # the column goes (h36P: `type_=sa.String(80)` kept `varchar(40)`'s length,
                    # and `org::varchar(40)` cut another tenant's longer id to this one's);
                    # then what the SQLAlchemy type tells (citext: loose)
                    self.add_sql(
                        f"ALTER TABLE {prefix}{one} ALTER COLUMN {two} TYPE {_ALEMBIC_TYPE};"
                    )
                    column_call = ast.Call(ast.Name("Column"), [arguments[1]], [])
                    typed(first, column_call, type_)
                nullable = next((k.value for k in call.keywords if k.arg == "nullable"), None)
                if nullable is not None and not (
                    isinstance(nullable, ast.Constant) and nullable.value is False
                ):  # `nullable=True` (or a value known at run time): NOT NULL goes
                    self.add_sql(f"ALTER TABLE {prefix}{one} ALTER COLUMN {two} DROP NOT NULL;")
                renamed = keywords.get("new_column_name")
                if not renamed:
                    return
                sql = f"ALTER TABLE {prefix}{one} RENAME COLUMN {two} TO {_quote_name(renamed)}"
            elif operation == "drop_constraint":
                sql = f"ALTER TABLE {prefix}{two} DROP CONSTRAINT {one}"
            elif operation == "drop_index":
                sql = f"DROP INDEX {prefix}{one}"
            else:  # drop_column
                sql = f"ALTER TABLE {prefix}{one} DROP COLUMN {two}"
            self.add_sql(sql + ";")
        elif operation == "create_unique_constraint" and len(arguments) >= 3:
            label, names = text(arguments[0]), arguments[2]
            if label and isinstance(names, ast.List | ast.Tuple):
                self.constraints[label] = {t for t in map(text, names.elts) if t}
                owner = text(arguments[1])
                if owner and self.constraints[label]:  # checked across the table (TG013)
                    self.spanning.setdefault(owner, {})[label] = frozenset(self.constraints[label])

    def _add_one_by_one(self, text: str, path: str) -> None:
        """A file pglast rejects as a whole: statement by statement, each failure a problem."""
        from pglast import parse_sql
        from pglast.parser import ParseError

        lines = LineIndex(text)
        for statement in split_sql(text)[0]:
            try:
                parsed = parse_sql(statement.text)
            except ParseError as error:
                # pglast gives the message and the error's byte offset in the statement
                message = str(error.args[0]) if error.args else str(error)
                offset = error.args[1] if len(error.args) > 1 else 0
                offset = len(
                    statement.text.encode()[: offset if isinstance(offset, int) else 0].decode(
                        "utf-8", "ignore"
                    )
                )
                line, column = lines.position(statement.start + offset)
                self.problems.append(SchemaProblem(path, line, column, message, statement.text))
                continue
            self._at = (path, *lines.position(statement.start))
            for raw in parsed:
                self._statement(raw.stmt, statement.text, path)

    def _scan_embedded(self, text: str, path: str) -> None:
        """DDL inside a DO body or an EXECUTE string: located by a scan, then read."""
        types = list(_TYPE_DDL.finditer(text))
        found = sorted(
            {
                m.start(): m
                for m in (
                    *_TABLE_DDL.finditer(text),
                    *_VIEW_DDL.finditer(text),
                    *_FUNCTION_DDL.finditer(text),
                    *types,
                    *_OTHER_DDL.finditer(text),
                    *_INDEX_DDL.finditer(text),
                )
            }.values(),
            key=lambda m: m.start(),
        )
        starts = {m.start() for m in types}
        routines = {m.start() for m in _FUNCTION_DDL.finditer(text)}
        for match in found:
            start = match.start()
            chunk = text[start : start + _LONGEST_DDL]
            in_string = bool(text.count("'", text.rfind("\n", 0, start) + 1, start) % 2)
            if in_string:
                # inside a string (`EXECUTE 'CREATE VIEW …'`): it ends at the closing quote
                piece = _string_body(chunk)
                # `EXECUTE format('ALTER TABLE %I ADD CHECK (…)', 'dyn')` of constant
                # arguments: the statement it runs (round 15)
                piece = _formatted(text, start, piece) or piece
            else:
                statements, _ = split_sql(chunk)
                if not statements or statements[0].error is not None:
                    self._hidden_types |= start in starts
                    self._hidden_functions |= start in routines
                    continue
                piece = statements[0].text
            from pglast import parse_sql
            from pglast.parser import ParseError

            try:
                parsed = parse_sql(piece)
            except ParseError:
                self._hidden_types |= start in starts
                self._hidden_functions |= start in routines
                if _HIDDEN_DDL.match(match.group(0)) or (in_string and piece):
                    # `EXECUTE format('CREATE TRIGGER … ON %I …', t)`: what it makes run beside
                    # a write, or what `=` and `::` mean, is out of sight
                    where, line, column = self._at
                    message = (
                        f"{' '.join(match.group(0).split()).upper()} in dynamic SQL: what it "
                        "creates (a trigger or rule that runs beside writes, an operator or cast "
                        "that changes what a pin compares, a table, a CHECK, an index or a "
                        "default that calls a function on each row written) cannot be "
                        "read\nwrite it as a "
                        "statement of its own (in the DO block, without format()), or leave "
                        "TG006 out for this file once it reaches no tenant rows"
                    )
                    self.problems.append(
                        SchemaProblem(where, line, column, message, text, parsed=True)
                    )
                continue  # a fragment of dynamic SQL, not a statement of its own
            for raw in parsed[:1]:
                self._statement(raw.stmt, piece, path)

    def _statement(self, node: Any, text: str, path: str) -> None:
        kind = type(node).__name__
        if "session_replication_role" in text.lower() and not _origin_role(node):
            # replica (or local): the server skips every foreign key's trigger, so rows written
            # then (here, in a function or a session of a role this sets) may break any key
            self._replica = True
        if not self.names_unsure:
            self._forget_plain(node, kind, text)
        # `CREATE TABLE IF NOT EXISTS` of a name a schema holds already may do nothing: the
        # table of that name stays as it was (h35P: public.countries made with the tenant
        # column, then `IF NOT EXISTS countries (code text)` read as a plain global table)
        kept = (
            kind == "CreateStmt"
            and bool(getattr(node, "if_not_exists", False))
            and self._schema_of(node.relation)
            in self.relation_schemas.get(_relname(node.relation), {_UNKNOWN_SCHEMA})
        )
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, node, text, path)
        if kind == "CreateStmt" and not self.names_unsure:
            if kept:
                self.plain_tables.pop(_relname(node.relation), None)
            else:
                self._remember_plain(node)

    def _forget_plain(self, node: Any, kind: str, text: str) -> None:
        """Forgets the plain tables (`plain_tables`) a statement may change: any it names but
        by DML (INSERT, UPDATE, DELETE, COPY); a CREATE TABLE's parents and LIKE sources; any
        table of a schema a statement renames, drops or moves things of. A statement that may run
        text the reader does not see (EXECUTE, in a function, a DO block, a PREPARE) makes every
        name unsure."""
        lowered = text.lower()
        if kind in _TRIGGERS:  # `EXECUTE FUNCTION f()`: a trigger's syntax, no text run unseen
            lowered = _TRIGGER_EXECUTE.sub(" ", lowered)
        if "execute" in lowered or _HANDED_ON.search(lowered) or _unread_code(node, kind):
            # (h36B2: SQL text handed to dblink, run in another session, or code in a
            # language the reader does not read: DDL it runs is out of sight)
            self.names_unsure = True
            self.plain_tables.clear()
            return
        if kind == "CreateFunctionStmt":
            strings = _rows_only_strings(node, text)
            if strings is not None and not (
                {"*", *self.plain_tables} & _written_words(strings) or "\\" in strings
            ):
                # its rows change when it runs, never a table's columns (h36B2); a name in one
                # of its strings may be SQL text it hands on (`dblink_exec(…, 'ALTER …')`)
                return
        if kind in _CODE:
            self._code_texts.append(text)
            self._code_words.update(_written_words(text))
        if not self.plain_tables or kind in _PLAIN_SAFE:
            return
        if kind == "CreateStmt":
            named = {_relname(r) for r in node.inhRelations or ()}
            for element in node.tableElts or ():
                if type(element).__name__ == "TableLikeClause":
                    named.add(_relname(element.relation))
            if node.ofTypename is not None:
                named.add(str(node.ofTypename.names[-1].sval))
        else:
            words = _written_words(text)
            if "*" in words:
                named = set(self.plain_tables)
            else:
                named = {w for w in words if w in self.plain_tables}
                odd = [n for n in self._odd_plain if n in self.plain_tables]
                if odd:
                    named |= names_in_text(text, set(odd))
        for name in named:
            self.plain_tables.pop(name, None)
        if kind in _SCHEMA_CHANGES:
            for name, homes in list(self.plain_tables.items()):
                for schema in [h for h in homes if names_in_text(text, {h})]:
                    del homes[schema]
                if not homes:
                    del self.plain_tables[name]

    def _remember_plain(self, node: Any) -> None:
        """Notes a plain CREATE TABLE's columns in its schema (see `plain_tables`)."""
        relation = node.relation
        if (
            node.inhRelations
            or node.ofTypename is not None
            or node.partbound is not None
            or str(getattr(relation, "relpersistence", "p") or "p") != "p"
        ):
            return
        schema = self._schema_of(relation)
        if not schema or schema == _UNKNOWN_SCHEMA:
            return
        name = _relname(relation)
        if (
            name in self._code_words
            or "*" in self._code_words
            or (
                self._code_texts
                and not _PLAIN_WORD.fullmatch(name)
                and any(names_in_text(code, {name}) for code in self._code_texts)
            )
        ):
            return  # code defined before it names it: a call may change it
        columns = []
        for element in node.tableElts or ():
            kind = type(element).__name__
            if kind == "ColumnDef":
                columns.append(str(element.colname))
            elif kind != "Constraint":
                return  # LIKE, or anything the reader does not know
        self.plain_tables.setdefault(name, {})[schema] = columns
        if not _PLAIN_WORD.fullmatch(name):
            self._odd_plain.add(name)  # not a plain word: found by `names_in_text` alone


def _rows_only_strings(node: Any, text: str) -> str | None:
    """The string constants (joined) of a CREATE FUNCTION (SQL or PL/pgSQL) whose every
    statement is a query or a row change (SELECT without INTO, INSERT, UPDATE, DELETE, MERGE),
    none built at run time; None for any other. Run, such a function changes rows, not a
    table's columns: the tables it names stay plain (round 36, h36B2: `app.bump` inserting into
    public.audit_log made the global namesake a tenant table's) — unless a string of it names
    one (SQL text it may hand on). A function it calls is read where it is defined."""
    from pglast.parser import scan
    from pglast.stream import RawStream

    from tenantguard.sources.schema.nodes import _flatten, _strings
    from tenantguard.sources.schema.texts import _plpgsql_queries

    options = {str(o.defname): o.arg for o in node.options or ()}
    language = str(getattr(options.get("language"), "sval", "sql")).lower()
    source = options.get("as")
    strings = list(_strings(source)) if isinstance(source, tuple) else []
    if node.sql_body is not None:
        body = [RawStream()(s) for s in _flatten(node.sql_body)]
        strings = body
    elif language == "plpgsql" and len(strings) == 1:
        body, opaque, _ = _plpgsql_queries(text)
        if opaque.strip():
            return None
    elif language == "sql" and len(strings) == 1:
        body = [s.text for s in split_sql(strings[0])[0]]
    else:
        return None
    if not all(_row_statement(statement) for statement in body):
        return None
    try:
        return " ".join(
            s[t.start : t.end + 1] for s in strings for t in scan(s) if t.name == "SCONST"
        )
    except Exception:  # pglast raises its own and PostgreSQL's errors
        return None


@functools.lru_cache(maxsize=2048)
def _row_statement(statement: str) -> bool:
    """One statement that is a query or a row change (see `_rows_only_strings`; once per text:
    the runtime guard reads the catalog's functions again at each connection's read)."""
    import pglast

    text = "SELECT " + statement[len("RETURN") :] if statement.startswith("RETURN") else statement
    try:
        trees = pglast.parse_sql(text)
    except Exception:  # pglast raises its own and PostgreSQL's errors
        return False
    for raw in trees:
        tree = raw.stmt
        kind = type(tree).__name__
        if kind not in _ROW_STATEMENTS:
            return False
        if kind == "SelectStmt" and getattr(tree, "intoClause", None) is not None:
            return False  # SELECT … INTO t: CREATE TABLE AS
    return True


_ROW_STATEMENTS = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})


# a call of a dblink function (`dblink_exec(…)`, `dblink(…)`): SQL text run in another session
_HANDED_ON = re.compile(r'\bdblink\w*"?\s*\(')

# languages whose function bodies the reader reads (internal: a built-in C function by name)
_READ_LANGUAGES = frozenset({"sql", "plpgsql", "internal"})


def _unread_code(node: Any, kind: str) -> bool:
    """A CREATE FUNCTION in a language whose text the reader does not read (C, PL/Perl,
    PL/Python…): it may run any SQL, DDL included, when called or fired."""
    if kind != "CreateFunctionStmt":
        return False
    options = {str(o.defname): o.arg for o in node.options or ()}
    language = str(getattr(options.get("language"), "sval", "sql")).lower()
    return language not in _READ_LANGUAGES


# statements that change no table's columns (round 35: `plain_tables`)
_PLAIN_SAFE = frozenset(
    {"InsertStmt", "UpdateStmt", "DeleteStmt", "CopyStmt", "TransactionStmt", "CommentStmt"}
)

_PLAIN_WORD = re.compile(r"[a-z_][a-z0-9_$]*")


def _written_words(text: str) -> set[str]:
    """The names a text may write, as `names_in_text` finds them (words as written and folded;
    every name — "*" — when a Unicode escape may spell any)."""
    if 'u&"' in text or 'U&"' in text:
        return {"*"}
    words = set(re.findall(r"[^\W\d][\w$]*", text))
    quoted = {q.replace('""', '"') for q in re.findall(r'"((?:[^"]|"")+)"', text)}
    return {*words, *map(fold_name, words), *quoted}


# statements that define code a later statement may run (round 35: `plain_tables`)
_CODE = frozenset(
    {"CreateFunctionStmt", "CreateTrigStmt", "RuleStmt", "CreateEventTrigStmt", "PrepareStmt"}
)
_TRIGGERS = frozenset({"CreateTrigStmt", "CreateEventTrigStmt"})
_TRIGGER_EXECUTE = re.compile(r"\bexecute\s+(?:function|procedure)\b")

# statements that may rename, drop or move what a schema holds (its name in their text)
_SCHEMA_CHANGES = frozenset(
    {"RenameStmt", "DropStmt", "AlterObjectSchemaStmt", "CreateSchemaStmt", "DoStmt"}
)

_HANDLERS = {
    "CreateStmt": SchemaInfo._create_table,
    "CreateForeignTableStmt": SchemaInfo._foreign_table,
    "CompositeTypeStmt": SchemaInfo._composite_type,
    "ImportForeignSchemaStmt": SchemaInfo._import_foreign_schema,
    "PrepareStmt": SchemaInfo._prepare,
    "SelectStmt": SchemaInfo._select_into,
    "CreateTableAsStmt": SchemaInfo._create_table_as,
    "AlterTableStmt": SchemaInfo._alter_table,
    "RenameStmt": SchemaInfo._rename,
    "IndexStmt": SchemaInfo._index,
    "DropStmt": SchemaInfo._drop,
    "ViewStmt": SchemaInfo._view,
    "CreateTrigStmt": SchemaInfo._trigger_or_rule,
    "RuleStmt": SchemaInfo._rule,
    "CreateFunctionStmt": SchemaInfo._function,
    "AlterFunctionStmt": SchemaInfo._alter_function,
    "CreateExtensionStmt": SchemaInfo._extension,
    "DoStmt": SchemaInfo._do,
    "CreateSchemaStmt": SchemaInfo._schema,
    "VariableSetStmt": SchemaInfo._search_path,
    "TransactionStmt": SchemaInfo._transaction_statement,
    "UpdateStmt": SchemaInfo._path_changed,
    "AlterRoleSetStmt": SchemaInfo._path_changed,
    "AlterDatabaseSetStmt": SchemaInfo._path_changed,
    "CallStmt": SchemaInfo._call,
    "DiscardStmt": SchemaInfo._discard,
    "CreateDomainStmt": SchemaInfo._domain,
    "DefineStmt": SchemaInfo._define,
    "CreateCastStmt": SchemaInfo._cast,
    "AlterDomainStmt": SchemaInfo._alter_domain,
    "CreateEnumStmt": SchemaInfo._other_type,
    "CreateRangeStmt": SchemaInfo._other_type,
    "AlterObjectSchemaStmt": SchemaInfo._type_moved,
    "TruncateStmt": SchemaInfo._truncate,
}


def read_schema(paths: Iterable[Path]) -> SchemaInfo:
    """Reads every `.sql` file, and every Python migration, under the given files and
    directories (missing ones are skipped)."""
    schema = SchemaInfo()
    texts: list[tuple[Path, str]] = []
    for file in schema_files(paths):
        text = _schema_text(file, schema.problems)
        if text is not None:
            texts.append((file, text))
    for file, text in _in_revision_order(texts):
        if file.suffix.lower() in (".py", ".pyw"):
            if schema.add_python(text, str(file)):
                schema.files.append(file)
            continue
        if is_undo_script(file):
            continue  # a down migration drops what its up created
        schema.files.append(file)
        schema.add_sql(text, str(file))
    for name in schema._no_defaults:  # a name in two schemas: which one a query reads is
        schema.traits.pop(name, None)  # the search path's business
    schema.domain_defaults()
    schema.settle_calls()
    schema.settle_domains()
    schema.settle_functions()
    schema.settle_views()
    schema.inherit_view_defaults()
    schema.settle_keys()
    schema.resolve_row_outputs()
    schema.settle_held_rows()
    return schema


def _schema_text(file: Path, problems: list[SchemaProblem]) -> str | None:
    """A schema file's text, read as a checked file is (`decode_source`: a Python migration's
    coding declaration, a byte-order mark). One that cannot be read so is a problem at the file,
    reported at every check (the file's own check says the same, and then it alone): skipped in
    silence, the tables it creates were no tenant tables, and a check of the application's
    files alone (pre-commit) proved their queries. Text that is not UTF-8 is still read, its
    stray bytes replaced (a Latin-1 comment): the tables it creates are known."""
    from tenantguard.sources.files import MAX_FILE_BYTES, decode_source

    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            data = b""
            error: str | None = f"file is over the {MAX_FILE_BYTES >> 20} MB limit"
            offset = 0
        else:
            data = file.read_bytes()
            text, error, offset = decode_source(data, file)
            if error is None:
                return text
    except OSError as failure:
        data, error, offset = b"", f"cannot read file: {failure.strerror}", 0
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[data.rfind(b"\n", 0, offset) + 1 : offset].decode("utf-8", "replace")) + 1
    readable = bool(data) and b"\0" not in data and not data.startswith((b"\xff\xfe", b"\xfe\xff"))
    problems.append(
        SchemaProblem(
            str(file),
            line,
            column,
            # a message with its help after a line break: reported as written
            f"schema file: {(error or 'cannot be read').split('; ')[0]}, "
            + (
                "read with those bytes replaced"
                if readable
                else "not read: the tables it creates are not known"
            )
            + "\nsave it as UTF-8 text (or name the tables it creates in tenant_tables)",
            "",
        )
    )
    return data.decode("utf-8", "replace") if readable else None


_REVISION = lazy_pattern(r"^(?:down_)?revision\b", re.MULTILINE)


def _revision_ids(text: str) -> tuple[str, tuple[str, ...]] | None:
    """An alembic revision's id and the ids it follows (`down_revision`: None, one id, or a
    tuple for a merge); None for any other file."""
    if len(_REVISION.findall(text)) < 2:
        return None
    import ast

    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found: dict[str, object] = {}
    for statement in module.body:
        target: ast.expr | None = None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
        elif isinstance(statement, ast.AnnAssign):
            target = statement.target
        value = getattr(statement, "value", None)
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            try:
                found[target.id] = ast.literal_eval(value) if value is not None else None
            except (ValueError, TypeError, SyntaxError, RecursionError):
                return None
    revision, down = found.get("revision"), found.get("down_revision", ...)
    if not isinstance(revision, str) or down is ...:
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    return None


def _in_revision_order(texts: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """The schema files with alembic revisions in the order alembic applies them — each after
    the revisions it follows (`down_revision`), ties by file name — in the places the revisions
    take among the other files. Their file names are random (`3f2a9c_add_orgs.py`): read by
    name, an ADD COLUMN tenant_id could come before its CREATE TABLE and the table be read as
    no tenant table."""
    revisions: dict[int, tuple[str, tuple[str, ...]]] = {}
    for position, (file, text) in enumerate(texts):
        if file.suffix.lower() in (".py", ".pyw"):
            ids = _revision_ids(text)
            if ids is not None:
                revisions[position] = ids
    if len(revisions) < 2:
        return texts
    by_id = {ids[0]: position for position, ids in revisions.items()}
    waiting = {
        position: {by_id[d] for d in ids[1] if d in by_id and by_id[d] != position}
        for position, ids in revisions.items()
    }
    ordered: list[int] = []
    while waiting:
        ready = sorted(p for p, before in waiting.items() if not before)
        if not ready:  # a cycle: the rest by file name
            ordered.extend(sorted(waiting))
            break
        for position in ready:
            ordered.append(position)
            del waiting[position]
        for before in waiting.values():
            before.difference_update(ready)
    slots = iter(ordered)
    return [texts[next(slots)] if i in revisions else item for i, item in enumerate(texts)]
