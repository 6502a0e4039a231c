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
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from tenantguard.engine.policy import Policy
from tenantguard.engine.proof import identifier_name
from tenantguard.engine.sqltext import split_sql

__all__ = ["FunctionInfo", "SchemaInfo", "ViewInfo", "read_schema", "tenant_relations"]

_TABLE_DDL = re.compile(
    r"\b(?:CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?TABLE|ALTER\s+TABLE)\b",
    re.IGNORECASE,
)
_VIEW_DDL = re.compile(
    r"\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY)\s+)?(?:RECURSIVE\s+)?"
    r"(?:MATERIALIZED\s+)?VIEW|DROP\s+(?:MATERIALIZED\s+)?VIEW)\b",
    re.IGNORECASE,
)
_FUNCTION_DDL = re.compile(
    r"\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION|DROP\s+FUNCTION)\b", re.IGNORECASE
)
_LANGUAGE = re.compile(r"\bLANGUAGE\s+'?(sql|plpgsql)'?(?![\w$])", re.IGNORECASE)
_ASSIGNED = re.compile(r"^\s*[\w$\".]+(?:\[[^\]]*\])?\s*:?=\s*")
_SELECT_WORD = re.compile(r"\bSELECT\b", re.IGNORECASE)
_RETURNS_TRIGGER = re.compile(r"\bRETURNS\s+(?:event_)?trigger\b", re.IGNORECASE)
_BEGIN_ATOMIC = re.compile(r"\bBEGIN\s+ATOMIC\b", re.IGNORECASE)
_FUNCTION_NAME = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+((?:\"[^\"]+\"|[\w$]+)(?:\s*\.\s*(?:\"[^\"]+\"|[\w$]+))?)",
    re.IGNORECASE,
)
_NEXT_DDL = re.compile(
    r"^\s*(?:CREATE|ALTER|DROP|DO|COMMENT|GRANT)\b", re.IGNORECASE | re.MULTILINE
)
_ANY_DDL = re.compile(r"\b(?:CREATE|ALTER|DROP)\s", re.IGNORECASE)
_LONGEST_DDL = 100_000  # characters: a table definition longer than this is not a definition


@dataclass(frozen=True)
class ViewInfo:
    """A view (or materialized view) of the schema sources: its query, and its column list."""

    query: str
    columns: list[str] | None  # `CREATE VIEW v (a, b)`; None: the query's own names


@dataclass(frozen=True)
class FunctionInfo:
    """A SQL or PL/pgSQL function of the schema sources: the statements of its body the proof
    can read, the text of what it cannot (dynamic SQL, a `BEGIN ATOMIC` body), its parameter
    names, and its output columns if known."""

    body: list[str]
    opaque: str
    parameters: list[str]
    columns: set[str] | None
    # PL/pgSQL variables set once, where declared, and never written again: (name, value)
    constants: tuple[tuple[str, str], ...] = ()


@dataclass
class SchemaInfo:
    columns: dict[str, set[str]] = field(default_factory=dict)
    constraints: dict[str, set[str]] = field(default_factory=dict)
    views: dict[str, ViewInfo] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def tables_with(self, column: str) -> set[str]:
        return {table for table, cols in self.columns.items() if column in cols}

    def add_sql(self, text: str) -> None:
        found = sorted(
            [*_TABLE_DDL.finditer(text), *_VIEW_DDL.finditer(text), *_FUNCTION_DDL.finditer(text)],
            key=lambda m: m.start(),
        )
        for match in found:
            start = match.start()
            chunk = text[start : start + _LONGEST_DDL]
            if match.re is _FUNCTION_DDL:
                self._add_function(chunk)
                continue
            if text.count("'", text.rfind("\n", 0, start) + 1, start) % 2:
                # inside a string (`EXECUTE 'CREATE VIEW …'`): it ends at the closing quote
                self._add_statement(_string_body(chunk))
                continue
            statements, _ = split_sql(chunk)
            if statements and statements[0].error is None:
                self._add_statement(statements[0].text)

    def add_python(self, text: str) -> bool:
        """A Python migration (alembic, or any script sending DDL): the DDL in its string
        constants, and alembic's `op.create_table` / `op.add_column` /
        `op.create_unique_constraint` / `op.drop_table`. False when it does not parse."""
        import ast

        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _ANY_DDL.search(node.value):
                    self.add_sql(node.value)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                self._alembic(node.func.attr, node)
        return True

    def _alembic(self, operation: str, call: Any) -> None:
        import ast

        def text(node: Any) -> str | None:
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                return node.value
            return None

        def column(node: Any) -> str | None:
            if isinstance(node, ast.Call) and _called(node) == "Column" and node.args:
                return text(node.args[0])
            return None

        arguments = list(call.args)
        if operation == "create_table" and arguments and text(arguments[0]):
            table = str(text(arguments[0]))
            columns = self.columns.setdefault(table, set())
            for argument in arguments[1:]:
                name = column(argument)
                if name is not None:
                    columns.add(name)
                elif isinstance(argument, ast.Call) and _called(argument) in (
                    "UniqueConstraint",
                    "PrimaryKeyConstraint",
                ):
                    names = {t for t in map(text, argument.args) if t}
                    label = next(
                        (text(k.value) for k in argument.keywords if k.arg == "name"), None
                    )
                    key = label or (
                        f"{table}_pkey" if _called(argument) == "PrimaryKeyConstraint" else None
                    )
                    if key:
                        self.constraints[key] = names
        elif operation == "add_column" and len(arguments) >= 2 and text(arguments[0]):
            name = column(arguments[1])
            if name is not None:
                self.columns.setdefault(str(text(arguments[0])), set()).add(name)
        elif operation == "drop_table" and arguments and text(arguments[0]):
            self.columns.pop(str(text(arguments[0])), None)
        elif operation == "create_unique_constraint" and len(arguments) >= 3:
            label, names = text(arguments[0]), arguments[2]
            if label and isinstance(names, ast.List | ast.Tuple):
                self.constraints[label] = {t for t in map(text, names.elts) if t}

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

    def _add_function(self, chunk: str) -> None:
        """CREATE FUNCTION … LANGUAGE sql or plpgsql, read by PostgreSQL's own parsers (pglast,
        loaded only when there is one); DROP FUNCTION forgets the name. Other languages (C,
        Python) are not followed."""
        statements, _ = split_sql(chunk)
        if not statements or statements[0].error is not None:
            return
        text = statements[0].text
        is_drop = text[:4].upper() == "DROP"
        language = _LANGUAGE.search(text)
        if not is_drop and (language is None or _RETURNS_TRIGGER.search(text)):
            return  # other languages are not followed; triggers are not called by queries
        atomic = _BEGIN_ATOMIC.search(text)
        if atomic is not None:
            # a SQL-standard body holds `;`s: keep the text to the next DDL statement and treat
            # the body as opaque (it is a tenant function when it names a tenant table)
            named = _FUNCTION_NAME.match(text)
            if named is not None:
                rest = chunk[atomic.end() :]
                following = _NEXT_DDL.search(rest)
                window = chunk[: atomic.end() + (following.start() if following else len(rest))]
                self.functions[_function_name(named.group(1))] = FunctionInfo([], window, [], None)
            return
        from pglast import ast, parse_sql
        from pglast.parser import ParseError

        try:
            parsed = parse_sql(text)
        except ParseError:
            return
        statement = parsed[0].stmt if parsed else None
        if isinstance(statement, ast.DropStmt):
            for target in statement.objects or ():
                names = getattr(target, "objname", None) or ()
                if names:
                    self.functions.pop(str(names[-1].sval).lower(), None)
            return
        if not isinstance(statement, ast.CreateFunctionStmt) or not statement.funcname:
            return
        name = str(statement.funcname[-1].sval).lower()
        parameters, outputs = [], []
        for parameter in statement.parameters or ():
            mode = str(getattr(parameter.mode, "value", parameter.mode))
            if parameter.name and mode in ("d", "i", "b", "v"):  # in, inout, variadic
                parameters.append(str(parameter.name).lower())
            if parameter.name and mode in ("o", "b", "t"):  # out, inout, TABLE columns
                outputs.append(str(parameter.name).lower())
        columns: set[str] | None = set(outputs) if outputs else None
        returned = statement.returnType
        returns = str(returned.names[-1].sval).lower() if returned and returned.names else ""
        if returns in ("trigger", "event_trigger"):
            return  # called by the database on a row or an event, never by a query
        if columns is None and returned is not None and returned.setof:
            columns = self.columns.get(returns)
        constants: tuple[tuple[str, str], ...] = ()
        if language is not None and language.group(1).lower() == "plpgsql":
            body, opaque, constants = _plpgsql_queries(text)
        else:
            source = next(
                (
                    str(option.arg[0].sval)
                    for option in statement.options or ()
                    if option.defname == "as" and isinstance(option.arg, tuple) and option.arg
                ),
                "",
            )
            body, opaque = [s.text for s in split_sql(source)[0]], ""
        self.functions[name] = FunctionInfo(body, opaque, parameters, columns, constants)

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


def tenant_relations(
    views: Mapping[str, ViewInfo], functions: Mapping[str, FunctionInfo], policy: Policy
) -> dict[str, set[str] | None]:
    """The views and SQL functions that are tenant tables themselves, with their columns (None:
    unknown).

    A view or function whose query reads tenant rows without pinning them (the proof reports an
    error on it: `SELECT * FROM patients WHERE status = 'a'`) hands every tenant's rows to whoever
    reads it; reading it must then be pinned like reading a table. One pinned inside is safe as
    it is: by the tenant expression (`WHERE tenant_id = current_setting('app.tenant_id')::bigint`)
    or, for a function, by one of its parameters (`WHERE tenant_id = p_tenant`: trusted like a
    query's `$1`, though the runtime cannot see the value passed) or by a PL/pgSQL variable
    given a pinning value where declared and never written again. A parameter or variable named
    like a column of the schema is not counted: in a SQL function the column wins. A body that is not a
    string (`BEGIN ATOMIC`) is opaque: naming a tenant table is enough. Followed to a fixed point.
    """
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    known_columns = {c for columns in policy.table_columns.values() for c in columns}
    found: dict[str, set[str] | None] = {}
    changed = True
    while changed:
        changed = False
        current = policy.replace(tenant_tables=policy.tenant_tables | found.keys())
        candidates: list[tuple[str, list[str], Policy, set[str] | None, str]] = [
            (name, [view.query], current, _view_columns(view), "") for name, view in views.items()
        ]
        for name, function in functions.items():
            parameters = [
                p
                for p in function.parameters
                if p != policy.tenant_column and p not in known_columns
            ]
            pinned_by = current.replace(
                tenant_expressions=(*current.tenant_expressions, *parameters)
            )
            constants = [
                variable
                for variable, value in function.constants
                if variable != policy.tenant_column
                and variable not in known_columns
                and _pins(value, pinned_by)
            ]
            if constants:
                pinned_by = pinned_by.replace(
                    tenant_expressions=(*pinned_by.tenant_expressions, *constants)
                )
            candidates.append((name, function.body, pinned_by, function.columns, function.opaque))
        for name, body, rules, columns, opaque in candidates:
            if name in found or name in policy.tenant_tables or name in policy.global_tables:
                continue
            words = set(re.findall(r"[a-z_][\w$]*", opaque.lower()))
            unpinned = bool(words & current.tenant_tables) or any(
                f.severity is Severity.ERROR
                for statement in body
                for f in analyze_statement(statement, rules).findings
            )
            if unpinned:
                found[name] = columns
                changed = True
    return found


def _pins(expression: str, policy: Policy) -> bool:
    """Is this expression a pinning value (a parameter, a literal, the tenant expression)?"""
    from tenantguard.engine.proof import pin_value

    try:
        tree = sqlglot.parse_one(f"SELECT {expression}", read="postgres")
    except (SqlglotError, RecursionError):
        return False
    items = tree.expressions if isinstance(tree, exp.Select) else []
    return len(items) == 1 and pin_value(items[0], policy) is not None


def _view_columns(view: ViewInfo) -> set[str] | None:
    return set(view.columns) if view.columns else _output_columns(view.query)


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


def _plpgsql_queries(text: str) -> tuple[list[str], str, tuple[tuple[str, str], ...]]:
    """The SQL a PL/pgSQL function runs: its statements and the queries inside its expressions
    (`n := (SELECT …)`, `IF EXISTS (SELECT …)`) as statements the proof can read, the text of
    its dynamic SQL (`EXECUTE …`), which it cannot, and its constants. A body pglast rejects is
    all opaque."""
    import pglast

    try:
        tree = pglast.parse_plpgsql(text)
    except Exception:  # pglast raises its own and PostgreSQL's errors
        return [], text, ()
    queries: list[str] = []
    dynamic: list[str] = []
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, is_dynamic = stack.pop()
        if isinstance(node, list):
            stack.extend((item, is_dynamic) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key == "PLpgSQL_expr" and isinstance(value, dict):
                query = str(value.get("query", ""))
                if is_dynamic:
                    dynamic.append(query)
                elif value.get("parseMode", 0) == 0:
                    queries.append(query)
                elif _SELECT_WORD.search(query):
                    queries.append("SELECT " + _ASSIGNED.sub("", query, count=1))
            elif key in _DYNAMIC_STATEMENTS and isinstance(value, dict):
                # the string they execute is built at run time
                stack.append((value.get("query"), True))
                stack.extend((v, is_dynamic) for k, v in value.items() if k != "query")
            else:
                stack.append((value, is_dynamic or key == "dynquery"))
    return queries, " ".join(dynamic), _constants(tree)


def _constants(tree: Any) -> tuple[tuple[str, str], ...]:
    """Variables given a value where declared and never written again — no assignment, no
    INTO, no loop over them — nor declared twice (shadowing): (name, the value's expression).

    Every variable number the body mentions anywhere counts as a write (conservative: reads are
    inside query texts, not numbers)."""
    function = tree[0].get("PLpgSQL_function", {}) if isinstance(tree, list) and tree else {}
    datums = function.get("datums", []) if isinstance(function, dict) else []
    mentioned: set[int] = set()
    stack: list[Any] = [function.get("action"), [d for d in datums if "PLpgSQL_var" not in d]]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                is_number = isinstance(value, int) and not isinstance(value, bool)
                if is_number and ("varno" in key or key in ("target", "dno")):
                    mentioned.add(value)
                else:
                    stack.append(value)
    declared: dict[str, int] = {}
    for datum in datums:
        variable = datum.get("PLpgSQL_var") if isinstance(datum, dict) else None
        if isinstance(variable, dict):
            name = str(variable.get("refname", "")).lower()
            declared[name] = declared.get(name, 0) + 1
    found: list[tuple[str, str]] = []
    for index, datum in enumerate(datums):
        variable = datum.get("PLpgSQL_var") if isinstance(datum, dict) else None
        if not isinstance(variable, dict) or index in mentioned:
            continue
        name = str(variable.get("refname", "")).lower()
        value = variable.get("default_val", {}).get("PLpgSQL_expr", {}).get("query")
        if value and declared.get(name) == 1:
            found.append((name, str(value)))
    return tuple(found)


_DYNAMIC_STATEMENTS = ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors")


def _function_name(qualified: str) -> str:
    """The function's own name, without its schema, folded like PostgreSQL folds it."""
    name = re.split(r"\s*\.\s*(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", qualified)[-1]
    return name[1:-1] if name.startswith('"') else name.lower()


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
    """Reads every `.sql` file, and every Python migration, under the given files and
    directories (missing ones are skipped)."""
    schema = SchemaInfo()
    for path in paths:
        if path.is_dir():
            files = sorted([*path.rglob("*.sql"), *path.rglob("*.py")])
        else:
            files = [path] if path.is_file() else []
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if file.suffix == ".py":
                if schema.add_python(text):
                    schema.files.append(file)
                continue
            schema.files.append(file)
            schema.add_sql(text)
    return schema


def _called(node: Any) -> str:
    func = node.func
    return str(getattr(func, "attr", None) or getattr(func, "id", ""))
