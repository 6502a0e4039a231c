"""Reading Python migrations (Alembic): the constants a module folds, the calls that run SQL or
create tables and columns (`op.create_table`, `batch_alter_table`…), and what they leave unread.

Python's `ast` only; relies on nothing else of the reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tenantguard._patterns import lazy_pattern

# functions of a migration that undo it, by name: alembic's `downgrade()`, the `up()`/`down()`
# and `forwards()`/`backwards()` of hand-written runners, `rollback`, `revert`, `undo`…
_ROLLBACK_NAME = lazy_pattern(
    r"(?:down(?:grade)?|backwards?|rollback|revert|undo|unapply|unmigrate|reverse)(?:_|\d|$)",
    re.IGNORECASE,
)


def constant_folds(tree: Any) -> tuple[dict[int, str], set[int]]:
    """Constant strings joined by `+` in a module (`"CREATE TABLE t (" + COLUMNS + ")"`, its
    operands string literals, f-strings without fields, parenthesised `+`, and names of module
    constants so made): the text of each outermost such `+` (by node id), and the ids of the
    nodes that text stands for — its operands, and the value of a module constant that only
    such folds read (read elsewhere too, it is a string of its own as well)."""
    import ast

    stores: dict[str, int] = {}
    loads: dict[str, list[Any]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store | ast.Del):
                stores[node.id] = stores.get(node.id, 0) + 1
            else:
                loads.setdefault(node.id, []).append(node)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                stores[name] = stores.get(name, 0) + 2  # rebound elsewhere: not a constant
    constants: dict[str, Any] = {}
    for statement in tree.body:
        target: Any = None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target = statement.target
        if isinstance(target, ast.Name) and stores.get(target.id) == 1:
            constants[target.id] = statement.value
    # a class's constant (`_TABLE = "schedules"` in its body, read as `self._TABLE`,
    # `cls._TABLE` or `Store._TABLE`): one of that name in the module, never assigned as an
    # attribute (`self._TABLE = …`) there
    attributes: dict[str, list[Any]] = {}
    assigned: set[str] = set()
    classes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            classes.add(node.name)
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)
                ):
                    attributes.setdefault(statement.targets[0].id, []).append(statement.value)
                elif isinstance(statement, ast.AnnAssign) and isinstance(
                    statement.target, ast.Name
                ):
                    attributes.setdefault(statement.target.id, []).extend([None, None])
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            assigned.add(node.attr)
    class_constants = {
        name: values[0]
        for name, values in attributes.items()
        if len(values) == 1 and name not in assigned
    }

    def fold(node: Any, depth: int = 0) -> str | None:
        if depth > 50:
            return None
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.JoinedStr):
            # `f"CREATE TABLE {self._TABLE} (…)"`: fields of constants, formatted as they are
            pieces: list[str] = []
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    if value.conversion not in (-1, ord("s")) or value.format_spec is not None:
                        return None
                    value = value.value
                piece = fold(value, depth + 1)
                if piece is None:
                    return None
                pieces.append(piece)
            return "".join(pieces)
        if isinstance(node, ast.Name) and node.id in constants:
            return fold(constants[node.id], depth + 1)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id in ("self", "cls") or node.value.id in classes)
            and node.attr in class_constants
        ):
            return fold(class_constants[node.attr], depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = fold(node.left, depth + 1), fold(node.right, depth + 1)
            return None if left is None or right is None else left + right
        return None

    folds: dict[int, str] = {}
    inside: set[int] = set()
    names_in_folds: set[int] = set()
    for node in ast.walk(tree):  # outer before inner
        if id(node) in inside or not (
            (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add))
            or (
                isinstance(node, ast.JoinedStr)
                and any(isinstance(v, ast.FormattedValue) for v in node.values)
            )
        ):
            continue
        text = fold(node)
        if text is None:
            continue
        folds[id(node)] = text
        for child in ast.walk(node):
            if child is not node:
                inside.add(id(child))
            if isinstance(child, ast.Name):
                names_in_folds.add(id(child))
    for name, value in constants.items():
        uses = loads.get(name, [])
        if uses and all(id(u) in names_in_folds for u in uses) and fold(value) is not None:
            inside.add(id(value))
            inside.update(id(child) for child in ast.walk(value))
    return folds, inside


def _forward(tree: Any) -> Iterator[Any]:
    """The nodes of a Python migration that move the schema forward, in source order: not
    a function that undoes it (`_ROLLBACK_NAME`: alembic's `downgrade()`, `down()`,
    `backwards()`…, or one Django's RunPython is given as its reverse), Django's `reverse_sql`
    (RunSQL's second argument) or yoyo's rollback (`step(apply, rollback)`)."""
    import ast

    reverse_code = {
        argument.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _called(node) == "RunPython"
        for argument in [
            *node.args[1:2],
            *(k.value for k in node.keywords if k.arg == "reverse_code"),
        ]
        if isinstance(argument, ast.Name)
    }
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            _ROLLBACK_NAME.match(node.name.lstrip("_")) or node.name in reverse_code
        ):
            continue
        yield node
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.Call):
            skipped = {id(k) for k in node.keywords if k.arg in ("reverse_sql", "rollback")}
            if _called(node) in ("RunSQL", "step"):
                skipped |= {id(a) for a in node.args[1:]}
            children = [c for c in children if id(c) not in skipped]
        stack.extend(reversed(children))


# batch operations (`batch_op.create_foreign_key(name, referent, local, remote)`): where the
# table goes among the arguments of the operation `op.` makes of it
_BATCH_TABLE_AT = {
    "create_foreign_key": 1, "add_column": 0, "drop_column": 0, "alter_column": 0,
    "create_unique_constraint": 1, "drop_constraint": 1,
}  # fmt: skip


def _first_text(call: Any, keyword: str) -> str | None:
    """A call's first argument (or that keyword's) when it is a string literal."""
    import ast

    given = (
        call.args[0]
        if call.args
        else next((k.value for k in call.keywords if k.arg == keyword), None)
    )
    return given.value if isinstance(given, ast.Constant) and isinstance(given.value, str) else None


# alembic operations' keyword names, in the order of their positional arguments
_ALEMBIC_KEYWORDS = {
    "add_column": ("table_name", "column"),
    "create_table": ("table_name",),
    "drop_table": ("table_name",),
}

# alembic operations and the positions of the table names they take
_ALEMBIC_TABLES = {
    "create_table": (0,), "add_column": (0,), "drop_table": (0,), "batch_alter_table": (0,),
    "create_foreign_key": (1, 2), "create_unique_constraint": (1,), "create_primary_key": (1,),
}  # fmt: skip


def _unread_alembic_table(call: Any, batches: dict[str, str]) -> str | None:
    """The source of a table name an alembic operation (on `op`, or a batch) is given that is
    no string literal, if any."""
    import ast

    func = call.func
    receiver = func.value.id if isinstance(func.value, ast.Name) else None
    positions = _ALEMBIC_TABLES.get(func.attr)
    if positions is None or (receiver != "op" and receiver not in batches):
        return None
    for at in positions:
        if at < len(call.args):
            given = call.args[at]
            if isinstance(given, ast.Starred):
                return ast.unparse(given)
            if not (isinstance(given, ast.Constant) and isinstance(given.value, str)):
                return ast.unparse(given)
    return None


# alembic operations whose arguments after the table are columns (and a table's constraints)
_ALEMBIC_COLUMNS = frozenset({"create_table", "add_column"})

_COLUMN_DEPTH = 8  # lists and helpers followed, one inside the other


class _ModuleColumns:
    """The columns a migration gives an alembic operation through its module's names: a list
    (`*COMMON`, `COMMON + [...]`), a function returning columns (`*tenant_columns()`,
    `owner_column()`), a column kept in a name (helper 116: the tenant column so given was not
    seen, the table read as no tenant table)."""

    def __init__(self, tree: Any) -> None:
        import ast

        self.values: dict[str, Any] = {}
        self.functions: dict[str, Any] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    self.values[target.id] = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if node.value is not None:
                    self.values[node.target.id] = node.value
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions[node.name] = node
        # a name bound twice at the top (or in a loop, a branch) is not one value
        counts: dict[str, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                counts[node.id] = counts.get(node.id, 0) + 1
        self.values = {k: v for k, v in self.values.items() if counts.get(k) == 1}

    def expanded(self, call: Any) -> tuple[Any, str | None]:
        """The call (`create_table` / `add_column` of a table named by a literal, on any
        receiver, as the schema reader reads them) with its columns written out, and the
        source of the first that cannot be (None when all can)."""
        import ast

        func = call.func
        first = call.args[0] if call.args else None
        if func.attr not in _ALEMBIC_COLUMNS or not (
            isinstance(first, ast.Constant) and isinstance(first.value, str)
        ):  # a table named at run time: said by _unread_alembic_table
            return call, None
        out: list[Any] = [first]
        for argument in call.args[1:]:
            if isinstance(argument, ast.Starred):
                found = self._items(argument, 0)
                if found is None:
                    return call, ast.unparse(argument)
                out.extend(found)
                continue
            single = self._column(argument, 0)
            if single is None:
                return call, ast.unparse(argument)
            out.append(single)
        return ast.Call(func, out, call.keywords), None

    def _column(self, node: Any, depth: int) -> Any:
        """The construct a column argument stands for, or None when it cannot be read."""
        import ast

        if depth > _COLUMN_DEPTH:
            return None
        if isinstance(node, ast.Name) and node.id in self.values:
            return self._column(self.values[node.id], depth + 1)
        if isinstance(node, ast.Call):
            called = _called(node)
            if isinstance(node.func, ast.Name) and called in self.functions:
                returned = self._returned(called)
                return None if returned is None else self._column(returned, depth + 1)
            if called[:1].isupper():  # `sa.Column(…)`, `UniqueConstraint(…)`: a construct
                return node
        return None

    def _items(self, node: Any, depth: int) -> list[Any] | None:
        """The items a sequence unpacked into the call holds, or None."""
        import ast

        if depth > _COLUMN_DEPTH:
            return None
        if isinstance(node, ast.Starred):
            return self._items(node.value, depth + 1)
        if isinstance(node, ast.List | ast.Tuple):
            out: list[Any] = []
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    inner = self._items(element.value, depth + 1)
                    if inner is None:
                        return None
                    out.extend(inner)
                    continue
                single = self._column(element, depth + 1)
                if single is None:
                    return None
                out.append(single)
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._items(node.left, depth + 1), self._items(node.right, depth + 1)
            return None if left is None or right is None else left + right
        if isinstance(node, ast.Name) and node.id in self.values:
            return self._items(self.values[node.id], depth + 1)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in self.functions:
                returned = self._returned(node.func.id)
                return None if returned is None else self._items(returned, depth + 1)
            if node.func.id in ("list", "tuple") and len(node.args) == 1 and not node.keywords:
                return self._items(node.args[0], depth + 1)
        return None

    def _returned(self, name: str) -> Any:
        """What a function of the module returns, when it has one `return` (else None)."""
        import ast

        returns = [
            n for n in ast.walk(self.functions[name]) if isinstance(n, ast.Return) and n.value
        ]
        return returns[0].value if len(returns) == 1 else None


def _alembic_call(call: Any, batches: dict[str, str]) -> Any:
    """An alembic call as `op.` makes it: its keyword arguments put in their places (helper
    115: `op.add_column(table_name=…, column=…)`), a batch operation's with its table."""
    import ast

    names = _ALEMBIC_KEYWORDS.get(call.func.attr)
    if names and len(call.args) < len(names):
        given = {k.arg: k.value for k in call.keywords if k.arg in names}
        if given:
            arguments = list(call.args)
            for name in names[len(arguments) :]:
                if name not in given:
                    break
                arguments.append(given[name])
            rest = [k for k in call.keywords if k.arg not in names[: len(arguments)]]
            call = ast.Call(call.func, arguments, rest)
    func = call.func
    table = batches.get(func.value.id) if isinstance(func.value, ast.Name) else None
    at = _BATCH_TABLE_AT.get(func.attr)
    if table is None or at is None:
        return call
    arguments = list(call.args)
    arguments.insert(min(at, len(arguments)), ast.Constant(table))
    return ast.Call(func, arguments, call.keywords)


# SQLAlchemy types (lower case) whose `=` folds case, and those that round, pad or truncate
_ALEMBIC_LOOSE = frozenset({"citext"})
# the type an `op.alter_column(…, type_=…)` gives a column, as the reader records it: a name no
# schema creates, so a type the proof knows nothing of (h36P)
_ALEMBIC_TYPE = '"tenantguard: an alembic type"'

_ALEMBIC_LOSSY = frozenset(
    {"float", "real", "double", "double_precision", "char", "nchar", "money"}
)

# alembic operations read as the SQL they send
_ALEMBIC_SQL = frozenset(
    {"rename_table", "alter_column", "drop_constraint", "drop_index", "drop_column"}
)


def _called(node: Any) -> str:
    func = node.func
    return str(getattr(func, "attr", None) or getattr(func, "id", ""))
