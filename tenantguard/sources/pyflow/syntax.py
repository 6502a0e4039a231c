"""Small questions asked of a piece of syntax by the walker and the index: whether a value
is a constant or None, what a class's records and enums are (`_constructor_fields`, `_is_enum`,
`_c3_merge`), a placeholder list, a jinja option, a file named by a path (`FileNamed`). Relies
on `model`, `names` and `changes` (one pattern).
"""

from __future__ import annotations

import ast
import os
import re
from typing import TYPE_CHECKING

from tenantguard._patterns import lazy_pattern
from tenantguard.sources.pyflow.changes import _HELD_WORD
from tenantguard.sources.pyflow.model import ImportedRef, ModuleRef
from tenantguard.sources.pyflow.names import (
    _LOG_METHODS,
    _MUTATORS,
    _SQL_MODULES,
    _all_subclasses,
    _dotted,
    _is_name,
    _psycopg_part,
    _receiver_name,
    _short,
)
from tenantguard.sources.pyvalues import Hole, Lit, hole, skeleton, starts_like_sql

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tenantguard.sources.pyflow.index import ProjectIndex
    from tenantguard.sources.pyflow.model import Binding, ClassInfo, FunctionInfo
    from tenantguard.sources.pyvalues import Alternative, Origin, Value


# the annotations of values that cannot be SQL text; any other name may be (a `str` subclass, an
# enum of queries, `LiteralString`, `NewType("Sql", str)`, a protocol): a parameter so annotated
# is followed as text, and a function sending it is a wrapper whose callers' SQL is checked
_VALUE_TYPES = frozenset(
    """int float bool bytes bytearray complex memoryview None NoneType Decimal Fraction UUID
    datetime date time timedelta timezone tzinfo Connection Pool PoolConnectionProxy Record
    Transaction Redis Request Response Logger Path PurePath Callable Awaitable Coroutine
    Iterator AsyncIterator Generator AsyncGenerator Event Lock Semaphore""".split()  # noqa: SIM905
)

# names whose arguments decide (a container, a union): `list[int]`, `Optional[UUID]`
_TYPE_FORMS = frozenset(
    """Optional Union list List tuple Tuple dict Dict set Set frozenset FrozenSet Sequence
    MutableSequence Iterable Collection Mapping MutableMapping typing abc collections
    datetime decimal uuid asyncpg pool connection pathlib fractions""".split()  # noqa: SIM905
)


def _alias_of(tree: ast.Module | None, name: str) -> ast.expr | None:
    """What a module-level type alias `name` stands for (`Sort = Literal[…]`, `Sort:
    TypeAlias = …`, `type Sort = …`), when the module's body binds the name once."""
    if tree is None:
        return None
    found: list[ast.expr] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in statement.targets):
                found.append(statement.value)
        elif isinstance(statement, ast.AnnAssign):
            if isinstance(statement.target, ast.Name) and statement.target.id == name:
                found.append(statement.value or statement.target)
        elif type(statement).__name__ == "TypeAlias":  # Python 3.12
            target = getattr(statement, "name", None)
            if isinstance(target, ast.Name) and target.id == name:
                found.append(statement.value)  # type: ignore[attr-defined]
    return found[0] if len(found) == 1 else None


def _surely_false(alternative: Alternative) -> bool:
    """Whether an alternative is a value Python reads as false: the empty string, or a
    constant None, False, 0 (as a hole where it is written)."""
    if all(type(p) is Lit for p in alternative):
        return not "".join(p.text for p in alternative if type(p) is Lit)
    return len(alternative) == 1 and type(alternative[0]) is Hole and alternative[0].false


def _none_value(binding: Binding) -> bool:
    """Whether a binding is the constant None (`table = None`, `table: str | None = None`)."""
    return (
        isinstance(binding, tuple)
        and len(binding) == 1
        and len(binding[0]) == 1
        and type(binding[0][0]) is Hole
        and isinstance(binding[0][0].node, ast.Constant)
        and binding[0][0].node.value is None
    )


# the fields of an f-string read with the values they hold where it is sent nowhere known:
# `{JOBS}`, `{self.TABLE}`, `{TABLES["jobs"]}`
_NAMED_FIELDS = (ast.Name, ast.Attribute, ast.Subscript)


def _formats_a_constant(node: ast.AST) -> bool:
    """`"… {} …".format(…)` or `"… %s …" % …` of a string written there, or its `.join` of a
    list or tuple written there (`" ".join(["UPDATE", JOBS, "SET …"])`)."""
    if isinstance(node, ast.Call):
        func = node.func
        return (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Constant)
            and type(func.value.value) is str
            and (
                func.attr == "format"
                or (
                    func.attr == "join"
                    and len(node.args) == 1
                    and isinstance(node.args[0], ast.List | ast.Tuple)
                )
            )
        )
    return (
        isinstance(node, ast.BinOp)
        and type(node.op) is ast.Mod
        and isinstance(node.left, ast.Constant)
        and type(node.left.value) is str
    )


def _joins_a_name(node: ast.AST) -> bool:
    """`"\\n".join(parts)` of a constant separator and a list kept in a name (its parts
    appended on conditions): one statement, read with every combination of its parts."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "join"
        and isinstance(node.func.value, ast.Constant)
        and type(node.func.value.value) is str
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.Name)
    )


def _added(node: ast.BinOp) -> list[ast.expr]:
    """The operands of a `+` chain, in order (flattened without recursion)."""
    operands: list[ast.expr] = []
    stack: list[ast.expr] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
            stack.append(current.right)
            stack.append(current.left)
        else:
            operands.append(current)
    return operands


# built-ins that read a list without changing it (and `print`)
_READERS_OF_A_LIST = frozenset(
    "len list tuple enumerate sorted iter reversed print repr str any all".split()  # noqa: SIM905
)


def _changes_name(function: ast.AST | None, name: ast.expr) -> bool:
    """Whether a function's body changes in place (or may: hands to a call's method, stores
    an item, extends) the object a name holds: `x.append(…)`, `x[k] = …`, `x += […]`,
    `del x[k]`, `x.extend` kept, `f(x)` of a function that may change it — any call given
    it but a built-in that only reads it (`len`, `list`, `sorted`…) or a log call."""
    if function is None or not isinstance(name, ast.Name):
        return True
    held = name.id
    for inner in ast.walk(function):
        if isinstance(inner, ast.Attribute) and _is_name(inner.value, held):
            if inner.attr in _MUTATORS or not isinstance(inner.ctx, ast.Load):
                return True
        elif isinstance(inner, ast.Subscript) and _is_name(inner.value, held):
            if not isinstance(inner.ctx, ast.Load):
                return True
        elif isinstance(inner, ast.AugAssign) and _is_name(inner.target, held):
            return True
        elif isinstance(inner, ast.Call) and not (
            (isinstance(inner.func, ast.Name) and inner.func.id in _READERS_OF_A_LIST)
            or (isinstance(inner.func, ast.Attribute) and inner.func.attr in _LOG_METHODS)
        ):
            given = [*inner.args, *(k.value for k in inner.keywords)]
            if any(
                _is_name(a, held) or (isinstance(a, ast.Starred) and _is_name(a.value, held))
                for a in given
            ):
                return True
    return False


# jinja2 options that leave the text as the reader renders it (the two it follows apart)
_JINJA_KEPT = frozenset(
    """autoescape undefined keep_trailing_newline newline_sequence enable_async auto_reload
    cache_size loader optimized""".split()  # noqa: SIM905
)


# an option that changes what a template renders, written somewhere in a module
_JINJA_OPTION = lazy_pattern(
    r"(?<!\w)(?:trim_blocks|lstrip_blocks|line_(?:statement|comment)_prefix|finalize"
    r"|(?:block|variable|comment)_(?:start|end)_string)(?!\w)"
)


def _jinja_options(call: ast.Call) -> tuple[bool, bool] | None:
    """`(trim_blocks, lstrip_blocks)` of a jinja2 `Template(…)` / `Environment(…)` call; None
    when another option may change what it renders (`line_statement_prefix`, other
    delimiters, `finalize`, extensions, `**options`) or one of the two is not a constant."""
    found = {"trim_blocks": False, "lstrip_blocks": False}
    for given in call.keywords:
        if given.arg in found:
            if not isinstance(given.value, ast.Constant):
                return None
            found[given.arg] = bool(given.value.value)
        elif given.arg not in _JINJA_KEPT:
            return None
    positional = call.args[1:] if _dotted(call.func).endswith("Template") else call.args
    if positional:
        return None  # (Template's and Environment's options by their place: not read)
    return found["trim_blocks"], found["lstrip_blocks"]


def _makes_its_own(node: ast.ClassDef) -> bool:
    """Whether a class's body makes objects of its class by another name than its own:
    `cls(…)`, `type(self)(…)`, `self.__class__(…)`."""
    for inner in ast.walk(node):
        if not isinstance(inner, ast.Call):
            continue
        func = inner.func
        if (
            _is_name(func, "cls")
            or (isinstance(func, ast.Call) and _is_name(func.func, "type"))
            or (isinstance(func, ast.Attribute) and func.attr == "__class__")
        ):
            return True
    return False


def _annotation_of(info: FunctionInfo, name: str) -> ast.expr | None:
    """The annotation of a function's parameter of that name, if any."""
    args = info.node.args
    for parameter in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if parameter.arg == name:
            return parameter.annotation
    return None


def _string_annotation(annotation: ast.expr | None) -> bool:
    """Whether a parameter annotated so may hold SQL text: unless every name the annotation
    spells is a type no text can be (`int`, `UUID`, `list[int] | None`). No annotation, or a
    name not known to be such a type, may."""
    stack = [annotation]
    while stack:
        node = stack.pop()
        if node is None:
            return True
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            stack.append(node.value)  # `datetime.date`, `asyncpg.Connection`
            name = node.attr
        elif isinstance(node, ast.Constant):
            if node.value is None or isinstance(node.value, int | float):
                continue  # `X | None`; a Literal's numbers
            name = str(node.value)  # a forward reference (or a Literal's string: text)
        elif isinstance(node, ast.Subscript):
            stack.extend((node.value, node.slice))
            continue
        elif isinstance(node, ast.BinOp):
            stack.extend((node.left, node.right))
            continue
        elif isinstance(node, ast.Tuple):
            stack.extend(node.elts)
            continue
        else:
            return True
        if name not in _VALUE_TYPES and name not in _TYPE_FORMS:
            return True
    return False


# contexts, operators and names hold no call, string or assignment: the scan skips them
_INERT = _all_subclasses(
    ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.Name
) | {type(None), str, int, float, complex, bytes, bool}


def _constant_value(value: Value) -> bool:
    """Whether each alternative of a value is text written in the code (no part known only at
    run time)."""
    return bool(value) and all(type(p) is Lit for alternative in value for p in alternative)


def _definition_order(info: FunctionInfo) -> tuple[str, int, int, str]:
    node = info.node
    return (info.module.path or "", node.lineno, node.col_offset, info.name)


# the name under which a function's `*args` is a wrapper's parameter: the first argument it
# collects (no parameter's name starts with it)
_VARARGS = "*"

# the name under which one key of a function's `**kwargs` is a wrapper's parameter: what
# `kwargs.pop("sql")`, `kwargs.get("sql")` or `kwargs["sql"]` reads, given by the caller as
# `sql=` (`**sql`)
_KWARG = "**"

# the key of `_KWARG` when a function passes its `**kwargs` on whole into a sink,
# `conn.fetch_all(**kw)`: the SQL is what the caller gives as `query=` (or `sql=`,
# `statement=`, `operation=`)
_ANY_SQL_KEY = "?"

# the name under which the items of a parameter a loop goes over are a wrapper's parameter
# (`for q in queries: conn.execute(q)`: `[]queries`)
_ITEMS = "[]"

# the name under which a parameter's items joined into text are a returned value's parameter
# (`return " AND ".join(conds)`, `conds` a list or `*conds`: `+conds`), filled at a call that
# gives each item
_JOINED = "+"

_MARK = lazy_pattern(r"%s|\?")

_DOLLAR_END = lazy_pattern(r"(?<![\w$])\$\Z")  # text ending in a `$` that starts a placeholder


def _placeholder_list(items: ast.expr, origin: Origin) -> list[Value] | None:
    """Two of the bind placeholders repeated by `["%s"] * n`, `"?" * n`, `("%s" for _ in
    ids)`, `(f"${i}" for i in …)` or `("$%d" % i for i in …)` (two: a list of tenants is several tenants), or None.
    Only the placeholder's own text is read: a comprehension's names are its own."""
    element: ast.expr | None = None
    if isinstance(items, ast.BinOp) and isinstance(items.op, ast.Mult):
        for side in (items.left, items.right):
            if isinstance(side, ast.List | ast.Tuple) and len(side.elts) == 1:
                element = side.elts[0]
            elif isinstance(side, ast.Constant) and side.value == "?":
                element = side
            elif isinstance(side, ast.Call) and _psycopg_part(side) == "Placeholder":
                element = side  # `sql.Placeholder() * len(ids)`: psycopg repeats it
    elif isinstance(items, ast.GeneratorExp | ast.ListComp):
        element = items.elt
    elif (
        isinstance(items, ast.Call)
        and isinstance(items.func, ast.Name)
        and items.func.id == "map"
        and len(items.args) == 2
        and not items.keywords
        and isinstance(items.args[0], ast.Attribute)
        and items.args[0].attr == "Literal"
        and _receiver_name(items.args[0].value) in _SQL_MODULES
    ):  # `map(sql.Literal, ids)`: each item a value psycopg quotes
        reason = f"`{_short(items)}` are values psycopg quotes (`sql.Literal`)"
        return [hole(items, origin, reason, kind="literal")] * 2
    if isinstance(element, ast.Call):
        part = _psycopg_part(element)
        if part == "Placeholder" and not element.args and not element.keywords:
            return [((Lit("%s", origin, None, 0, element),),)] * 2
        if part == "Literal" and len(element.args) == 1 and not element.keywords:
            reason = f"`{_short(element)}` is a value psycopg quotes (`sql.Literal`)"
            return [hole(element, origin, reason, kind="literal")] * 2
        return None
    if (
        isinstance(element, ast.Constant)
        and isinstance(element.value, str)
        and _MARK.fullmatch(element.value)
    ):
        return [((Lit(element.value, origin, element),),)] * 2
    if (
        isinstance(element, ast.JoinedStr)
        and len(element.values) == 2
        and isinstance(element.values[0], ast.Constant)
        and element.values[0].value == "$"
        and isinstance(element.values[1], ast.FormattedValue)
        and element.values[1].format_spec is None
    ) or (
        isinstance(element, ast.BinOp)
        and isinstance(element.op, ast.Mod)
        and isinstance(element.left, ast.Constant)
        and element.left.value == "$%d"
    ):
        # numbered at run time: two parameters no other placeholder of the statement uses
        return [((Lit(f"${n}", origin, None, 0, element),),) for n in (65534, 65535)]
    return None


def _c3_merge(lines: list[list[ClassInfo]]) -> list[ClassInfo] | None:
    """C3's merge of the bases' linearizations and the list of the bases (None: no order
    keeps every list's, and Python raises TypeError)."""
    lines = [list(line) for line in lines if line]
    out: list[ClassInfo] = []
    while lines:
        for line in lines:
            head = line[0]
            if not any(head in other[1:] for other in lines):
                break
        else:
            return None
        out.append(head)
        lines = [rest for rest in ([c for c in line if c is not head] for line in lines) if rest]
    return out


# decorators that keep what the function returns
_KEEPING = frozenset(
    {"property", "cached_property", "staticmethod", "classmethod", "abstractmethod"}
    | {"cache", "lru_cache", "override", "wraps"}
)


def _decorated(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a decorator may put another function in its place (`@swap`): what the body
    returns is then not what a call gives."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if _dotted(target).rsplit(".", 1)[-1] not in _KEEPING:
            return True
    return False


def _string_like(node: ast.expr) -> bool:
    """Whether a returned expression may be SQL text worth following (not `await fetch()`)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr | ast.Name | ast.Attribute | ast.IfExp | ast.Subscript):
        return True
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.Add | ast.Mod)
    return isinstance(node, ast.Call)  # `" ".join(…)`, `build()`: read; `await …` is not


def _is_property(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """`@property`, `@functools.cached_property`: reading the attribute runs the getter."""
    for decorator in node.decorator_list:
        name = _dotted(decorator).rsplit(".", 1)[-1]
        if name in ("property", "cached_property"):
            return True
    return False


# decorators and bases of classes whose annotated attributes are fields set by the constructor
_RECORD_DECORATORS = frozenset({"dataclass", "define", "frozen", "mutable", "attrs", "s", "Struct"})

_RECORD_BASES = frozenset({"NamedTuple", "BaseModel", "BaseSettings", "Struct", "SQLModel"})


def _makes_records(info: ClassInfo) -> bool:
    """A dataclass, a NamedTuple, an attrs class, a pydantic model, a msgspec struct."""
    for decorator in info.node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if _dotted(target).rsplit(".", 1)[-1] in _RECORD_DECORATORS:
            return True
    return any(_dotted(base).rsplit(".", 1)[-1] in _RECORD_BASES for base in info.base_exprs)


def _plain_dataclass(info: ClassInfo) -> bool:
    """A class made a dataclass by the standard library's decorator (no other way to make it a
    record, as a pydantic settings class's fields read the environment)."""
    decorators = [d.func if isinstance(d, ast.Call) else d for d in info.node.decorator_list]
    # (the standard library's, as the module imports it, and no other decorator: a project's
    # own `dataclass`, or one more that wraps `__init__`, may make the fields what it likes)
    return (
        bool(decorators)
        and any(_standard(info, d, ("dataclasses",), "dataclass") for d in decorators)
        and all(
            _standard(info, d, ("dataclasses",), "dataclass")
            or _standard(info, d, ("typing", "typing_extensions"), "final")
            or _standard(info, d, ("functools",), "total_ordering")
            for d in decorators
        )
        and not any(_dotted(b).rsplit(".", 1)[-1] in _RECORD_BASES for b in info.base_exprs)
    )


def _plain_named_tuple(info: ClassInfo) -> bool:
    """A `typing.NamedTuple` class with no decorator and no other base: `Q()` holds its fields'
    defaults (the class cannot replace `__new__`/`__init__`, typing refuses it)."""
    bases = info.base_exprs
    return (
        not info.node.decorator_list
        and len(bases) == 1
        and _standard(info, bases[0], ("typing", "typing_extensions"), "NamedTuple")
    )


def _standard(info: ClassInfo, node: ast.expr, modules: tuple[str, ...], name: str) -> bool:
    """Whether `node` (a decorator, a base) is `name` of one of the standard library's
    `modules` as the class's module imports it (`from dataclasses import dataclass`,
    `import dataclasses as dc; dc.dataclass`), not a project's own of that name."""
    if isinstance(node, ast.Name):
        bound = info.base_env.get(node.id) or info.module.env.get(node.id)
        return (
            isinstance(bound, ImportedRef)
            and bound.name == name
            and bound.module.level == 0
            and bound.module.name in modules
        )
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr == name:
        bound = info.base_env.get(node.value.id) or info.module.env.get(node.value.id)
        return isinstance(bound, ModuleRef) and bound.level == 0 and bound.name in modules
    return False


def _is_enum(info: ClassInfo) -> bool:
    """A class with an `Enum` base (`Enum`, `StrEnum`, `enum.IntEnum`…), also under another
    name (`from enum import Enum as E`, `Base = Enum`)."""
    for base in info.base_exprs:
        if _dotted(base).rsplit(".", 1)[-1].endswith("Enum"):
            return True
        if isinstance(base, ast.Name):
            bound = info.base_env.get(base.id) or info.module.env.get(base.id)
            if isinstance(bound, ImportedRef) and bound.name.endswith("Enum"):
                return True
    return False


# flags that leave what `\s` matches as it is (not `re.ASCII`: then `\s` is ASCII only)
_SAME_BLANKS = frozenset(
    f"re.{name}"
    for name in ("M", "MULTILINE", "I", "IGNORECASE", "S", "DOTALL", "U", "UNICODE", "X")
)


def _flags(nodes: Sequence[ast.expr]) -> list[ast.expr]:
    """The flags `re.M | re.I` names, each (an expression that is no `|` of names: itself)."""
    out: list[ast.expr] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            stack.extend((node.left, node.right))
        else:
            out.append(node)
    return out


# a text file larger than this read by the program (`Path(…).read_text()`) is not read here
_MAX_READ_FILE = 1 << 20

# the whitespace patterns a normaliser replaces by one blank, and the shortest run each matches
_WHITESPACE_PATTERNS = {r"\s+": 1, r"\s{1,}": 1, r"[\s]+": 1, r"\s{2,}": 2, r"\s\s+": 2}


# what a record's constructor or attribute reads run: assigned on the class from outside, a
# field is not what the call gave it
_RECORD_MAKERS = ("__init__", "__new__", "__post_init__", "__setattr__", "__getattribute__")


def _constructor_fields(info: ClassInfo) -> tuple[tuple[str, ...] | None, bool]:
    """The fields a plain dataclass's or a `NamedTuple`'s generated constructor takes, in
    order, and whether they are keyword-only; None where the reader cannot tell: a project
    base (its fields come first), a base it cannot read, its own `__init__`/`__post_init__`,
    a validator, `InitVar`, `field(init=False)`, a `KW_ONLY` marker."""
    bases = info.base_exprs
    named_tuple = len(bases) == 1 and _standard(
        info, bases[0], ("typing", "typing_extensions"), "NamedTuple"
    )
    if named_tuple and not _plain_named_tuple(info):
        return None, False  # (a decorator may wrap what the class makes)
    kw_only = False
    if not named_tuple:
        if bases or not _plain_dataclass(info):
            return None, False
        for decorator in info.node.decorator_list:
            if isinstance(decorator, ast.Call):
                for keyword in decorator.keywords:
                    if keyword.arg is None:
                        return None, False
                    if keyword.arg == "kw_only":
                        if not isinstance(keyword.value, ast.Constant):
                            return None, False
                        kw_only = bool(keyword.value.value)
                    if keyword.arg == "init" and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is True
                    ):
                        return None, False
    if info.node.keywords or _may_change_fields(info):
        return None, False
    fields: list[str] = []
    for statement in info.node.body:
        if isinstance(
            statement, ast.If | ast.Try | ast.TryStar | ast.With | ast.For | ast.While | ast.Match
        ) and any(isinstance(sub, ast.AnnAssign) for sub in ast.walk(statement)):
            # a field annotated under `if`/`try` of the class body is a field too, in the
            # order Python meets it (h34N): not read
            return None, False
        if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
            continue
        annotation = ast.unparse(statement.annotation)
        # (the markers also under another name: `from typing import ClassVar as CV`)
        for word in _HELD_WORD.findall(annotation):
            bound = info.base_env.get(word) or info.module.env.get(word)
            if isinstance(bound, ImportedRef) and bound.name in _FIELD_MARKERS:
                annotation += " " + bound.name
        if "ClassVar" in annotation:
            continue
        if "InitVar" in annotation or "KW_ONLY" in annotation:
            return None, False
        if (
            statement.value is not None
            and not named_tuple
            and not _plain_default(info, statement.value)
            and not _plain_field(info, statement.value)
        ):
            # `field(…)` (init=False, kw_only, a factory…), also held by a name (`F = field(…)`,
            # `text: str = F`): only a default written as a literal or a string's name is read
            return None, False
        fields.append(statement.target.id)
    return tuple(fields), kw_only


_FIELD_MARKERS = frozenset({"ClassVar", "InitVar", "KW_ONLY"})


def _plain_default(info: ClassInfo, node: ast.expr) -> bool:
    """A field's default that is no `field(…)`: no call in it, and no name the module binds to
    a call's result (`hidden = field(init=False)`, `text: str = hidden`) or imports."""
    calls = _names_bound_to_calls(info.module.tree)
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call | ast.Lambda | ast.NamedExpr | ast.Await | ast.Yield):
            return False
        if isinstance(sub, ast.Name) and (
            sub.id in calls or isinstance(info.module.env.get(sub.id), ImportedRef)
        ):
            return False
    return True


# what `dataclasses.field(…)` may be given beside `default=` and stay a plain default
_FIELD_DISPLAY = frozenset({"default", "repr", "compare", "hash", "metadata", "doc"})


def _plain_field(info: ClassInfo, node: ast.expr) -> bool:
    """`field(default="SELECT …", repr=False)` of the standard library's dataclasses: a
    default as `= "SELECT …"` is (no `default_factory`, `init=False` nor `kw_only`, which
    change what the constructor takes)."""
    if not (
        isinstance(node, ast.Call)
        and not node.args
        and _standard(info, node.func, ("dataclasses",), "field")
    ):
        return False
    given = {k.arg for k in node.keywords}
    if "default" not in given or not given <= _FIELD_DISPLAY:
        return False
    default = next(k.value for k in node.keywords if k.arg == "default")
    return _plain_default(info, default)


def _names_bound_to_calls(tree: ast.Module | None) -> frozenset[str]:
    """The names a module's body binds to the result of a call (`F = field(…)`)."""
    if tree is None:
        return frozenset()
    return frozenset(
        target.id
        for statement in tree.body
        if isinstance(statement, ast.Assign | ast.AnnAssign)
        and isinstance(statement.value, ast.Call)
        for target in (
            statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        )
        if isinstance(target, ast.Name)
    )


def _may_change_fields(info: ClassInfo) -> bool:
    """Whether a record class may give a field another value than the one it was made with:
    its own `__init__`, `__post_init__`, `model_post_init`, `__setattr__`, or a validator
    (`@field_validator`, `@validator`, `@model_validator`, attrs' `@x.validator`…)."""
    for name, method in info.methods.items():
        if name in ("__init__", "__post_init__", "model_post_init", "__setattr__", "__new__"):
            return True
        for decorator in method.node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if "validator" in _dotted(target).lower() or "converter" in _dotted(target).lower():
                return True
    return False


class FileNamed:
    """What `(SQL_DIR / f"{name}.sql").read_text()` reads for each name a call gives its
    function: that file's text (placed at the reading), or a value known only at run time
    where the name is not constant or no such file is there."""

    __slots__ = ("after", "before", "directory", "index", "node", "origin")

    def __init__(
        self,
        index: ProjectIndex,
        directory: str,
        before: str,
        after: str,
        node: ast.AST,
        origin: Origin,
    ) -> None:
        self.index, self.directory, self.before, self.after = index, directory, before, after
        self.node, self.origin = node, origin

    def __call__(self, value: Value) -> Value:
        out: list[Alternative] = []
        for alternative in value:
            name = _constant_text(alternative)
            path = (
                None
                if name is None
                else os.path.join(self.directory, self.before + name + self.after)
            )
            text = None if path is None else self.index.read_file(path)
            if text is None:
                reason = "the file it reads is only known at run time, or is not there"
                out.extend(hole(self.node, self.origin, reason))
            else:
                out.append((Lit(text, self.origin, None, 0, self.node, path),))
        return tuple(dict.fromkeys(out))


def _named_lambda(node: ast.Assign) -> ast.FunctionDef | None:
    """`q = lambda sql, *a: conn.fetch(sql, *a)` as the function it stands for (`def q(sql,
    *a): return conn.fetch(sql, *a)`), so that it is a wrapper as a `def` is: the SQL its
    callers give is checked at their calls (before, TG009 at the lambda's parameter, the
    SQL itself unchecked). None for any other assignment."""
    if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
        return None
    lam = node.value
    if not isinstance(lam, ast.Lambda):
        return None
    returned = ast.copy_location(ast.Return(value=lam.body), lam.body)
    defined = ast.FunctionDef(
        name=node.targets[0].id, args=lam.args, body=[returned], decorator_list=[], returns=None
    )
    return ast.copy_location(defined, lam)


def _enum_member_name(name: str) -> bool:
    """Whether a name an enum's body binds is one of its members: not a `_sunder_`, a
    `__dunder__` nor a private `__name`."""
    return not (name.startswith("__") or (name.startswith("_") and name.endswith("_")))


def _generator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function's own body yields (calling it gives a generator)."""
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Yield | ast.YieldFrom):
            return True
        if not isinstance(
            current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            stack.extend(ast.iter_child_nodes(current))
    return False


# uses of a class's name that do not make an object of it (see `_may_be_made`)
_ANNOTATED = lazy_pattern(r"(?:(?<!lambda)\b\w+\s*:|->)\s*[\"']?(?:[\w.]+\[)*\Z")

_CHECKED = lazy_pattern(
    r"\bisinstance\([^()]*\Z|\bsuper\(\s*\Z|(?:\bis(?:\s+not)?|[!=]=)\s*(?:\w+\.)*\Z"
)

# `issubclass(c, Repository)`: true of Repository itself, a registry's filter lets it in
# (`{n: c for n, c in getmembers(m, isclass) if issubclass(c, Repository)}`) unless the file
# leaves it out by name (`c is not Repository`)
_SUBCLASS_TEST = lazy_pattern(r"\bissubclass\([^()]*\Z")

# a class statement's own name, or a positional base of one written on its line (a keyword,
# `class S(Service, repo=Repository)`, or a body on the line, may make an object of it)
_CLASS_HEAD = lazy_pattern(r"^\s*class\s+(?:\w+\s*\([^=()]*)?\Z")


def _makes_by_name(text: str, name: str, pattern: re.Pattern[str]) -> bool:
    """Whether a file's text uses a class's name in a way that may make an object of it."""
    for line in text.splitlines():
        stripped = line.lstrip()
        if name not in line or stripped.startswith(("#", "import ", "from ")):
            continue
        for match in pattern.finditer(line):
            before, after = line[: match.start()], line[match.end() :].lstrip()
            if after.startswith("."):
                continue  # `Name.__init__(self, …)`, `Name.X`
            if _CHECKED.search(before) or _CLASS_HEAD.search(before):
                continue
            if _SUBCLASS_TEST.search(before) and re.search(
                rf"(?:\bis\s+not|!=)\s*(?:\w+\.)*{re.escape(name)}\b", text
            ):
                continue
            if (
                not after.startswith("(")
                and _ANNOTATED.search(before)
                and (stripped.startswith(("def ", "async def ")) or re.match(r"\w+\s*:", stripped))
            ):
                continue  # `repo: Name`, `-> Name`, `-> Optional[Name]`
            return True
    return False


def _makes_its_class(method: FunctionInfo) -> bool:
    """`cls(…)`, `type(self)(…)`, `self.__class__(…)`, `X.__new__(…)` in a method."""
    args = method.node.args.args
    first = args[0].arg if args and method.method_kind == "classmethod" else None
    for node in ast.walk(method.node):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            (first is not None and _is_name(func, first))
            or (isinstance(func, ast.Call) and _is_name(func.func, "type"))
            or (isinstance(func, ast.Attribute) and func.attr in ("__class__", "__new__"))
        ):
            return True
    return False


def _rows(elements: list[ast.expr]) -> list[list[ast.expr]] | None:
    """The elements of tuple (or list) displays of one width, none starred."""
    if not elements or not all(isinstance(e, ast.Tuple | ast.List) for e in elements):
        return None
    rows = [list(e.elts) for e in elements if isinstance(e, ast.Tuple | ast.List)]
    width = len(rows[0])
    if (
        not width
        or any(len(r) != width for r in rows)
        or any(isinstance(x, ast.Starred) for r in rows for x in r)
    ):
        return None
    return rows


def _constant_spec(spec: ast.expr | None) -> str | None:
    """An f-string field's format spec when it is written whole (`{n:>5}`); None when a part
    of it is computed (`{n:{width}}`)."""
    if spec is None:
        return ""
    if isinstance(spec, ast.JoinedStr) and all(
        isinstance(v, ast.Constant) and isinstance(v.value, str) for v in spec.values
    ):
        return "".join(str(v.value) for v in spec.values if isinstance(v, ast.Constant))
    return None


def _constant_text(alternative: tuple[Lit | Hole, ...]) -> str | None:
    """The text of an alternative made of constants only, else None."""
    texts = []
    for part in alternative:
        if type(part) is not Lit:
            return None
        texts.append(part.text)
    return "".join(texts)


def _sql_like(value: Value) -> bool:
    """Whether some alternative of a value starts like SQL (its unknown parts left empty)."""
    return any(starts_like_sql(skeleton(alternative)) for alternative in value)


def _own_calls(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Call]:
    """The calls a function's body makes itself (not those of functions it defines)."""
    out: list[ast.Call] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Call):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _init_parameter(init: FunctionInfo, attribute: str, *, stores: bool = False) -> str | None:
    """The parameter `__init__` stores as `self.<attribute>` and never rebinds, when every
    assignment of that attribute there is of it. With `stores`: any text if the method assigns
    the attribute at all (else None)."""
    args = init.node.args.args
    if not args:
        return None
    this, stored = args[0].arg, set()
    rebound: set[str] = set()
    for node in ast.walk(init.node):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            rebound.add(node.id)
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets, value = [node.target], node.value if isinstance(node, ast.AnnAssign) else None
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and target.attr == attribute
                and _is_name(target.value, this)
            ):
                if stores:
                    return attribute
                if isinstance(node, ast.AugAssign) or not isinstance(value, ast.Name):
                    return None
                stored.add(value.id)
    if len(stored) != 1:
        return None
    (parameter,) = stored
    ok = parameter in init.parameters and parameter != this and parameter not in rebound
    return parameter if ok else None


def _constant_slice(node: ast.expr) -> slice | None:
    """The slice of `X[1:]`, `X[:-1]`, `X[::2]` written with constant integers (or none)."""
    if not isinstance(node, ast.Subscript) or not isinstance(node.slice, ast.Slice):
        return None
    bounds: list[int | None] = []
    for bound in (node.slice.lower, node.slice.upper, node.slice.step):
        if bound is None:
            bounds.append(None)
            continue
        value = bound
        negative = isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub)
        if negative:
            value = value.operand  # type: ignore[attr-defined]
        if not isinstance(value, ast.Constant) or type(value.value) is not int:
            return None
        bounds.append(-value.value if negative else value.value)
    if bounds[2] == 0:
        return None  # Python raises ValueError
    return slice(*bounds)


def _emptiness_test(test: ast.expr) -> tuple[str, bool] | None:
    """(name, true when it is non-empty) of a test of a name's emptiness: `conds`,
    `len(conds)` (true when non-empty), `not conds`, `not len(conds)`, `len(conds) == 0`
    (true when empty); None for any other test."""
    negated = False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        negated, test = True, test.operand
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == 0
        and type(test.comparators[0].value) is int
    ):
        negated, test = not negated, test.left
    if (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Name)
        and test.func.id == "len"
        and len(test.args) == 1
        and not test.keywords
    ):
        test = test.args[0]
    if isinstance(test, ast.Name):
        return test.id, not negated
    return None


_BINDS_LEN: dict[int, tuple[ast.Module, bool]] = {}


def _binds_len(tree: ast.Module) -> bool:
    """Whether a module may bind the name `len` anywhere (a `def`, a class, an assignment, a
    parameter, an import, a star import, `builtins.len = …`, the string "len"): `len(conds)`
    there may not be the builtin."""
    cached = _BINDS_LEN.get(id(tree))
    if cached is not None and cached[0] is tree:
        return cached[1]
    found = False
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found = node.name == "len"
        elif isinstance(node, ast.Name):
            found = node.id == "len" and not isinstance(node.ctx, ast.Load)
        elif isinstance(node, ast.arg):
            found = node.arg == "len"
        elif isinstance(node, ast.alias):
            found = (node.asname or node.name) in ("len", "*")
        elif isinstance(node, ast.Global | ast.Nonlocal):
            found = "len" in node.names
        elif isinstance(node, ast.Attribute):  # `builtins.len = …`
            found = node.attr == "len" and not isinstance(node.ctx, ast.Load)
        elif isinstance(node, ast.Constant):  # `setattr(builtins, "len", …)`
            found = node.value == "len"
        if found:
            break
    _BINDS_LEN[id(tree)] = (tree, found)
    return found


_ATTRIBUTE_STORES: dict[int, tuple[ast.Module, frozenset[str]]] = {}


def _attribute_stores(tree: ast.Module) -> frozenset[str]:
    """The attribute names a module assigns on any object (`self.where = any_of`, `r.where =
    …`, `setattr(self, "where", …)`): a method of that name may not be what a call runs."""
    cached = _ATTRIBUTE_STORES.get(id(tree))
    if cached is not None and cached[0] is tree:
        return cached[1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            found.add(node.attr)
        elif (
            isinstance(node, ast.Call)
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "setattr")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "__setattr__")
            )
        ):
            found.add(node.args[1].value)
    _ATTRIBUTE_STORES[id(tree)] = (tree, frozenset(found))
    return frozenset(found)


def _empty_guard(
    function: ast.FunctionDef | ast.AsyncFunctionDef, node: ast.Return
) -> tuple[str, bool] | None:
    """The parameter a `return` at the top of a function's body, or at the top of an `if`
    there, is reached only when it is empty (True: `if not conds: return ""`, the `else` of
    `if conds:`, after an `if conds:` whose body ends in a `return` or `raise`) or only when
    it is not (False: the body of `if conds:`)."""
    body = function.body
    for index, statement in enumerate(body):
        if statement is node:
            for before in body[:index]:
                if not isinstance(before, ast.If) or before.orelse:
                    continue
                test = _emptiness_test(before.test)
                if test is not None and isinstance(before.body[-1], ast.Return | ast.Raise):
                    return test[0], test[1]  # `if conds: return …` before it: empty here
            return None
        if isinstance(statement, ast.If):
            test = _emptiness_test(statement.test)
            if test is None:
                continue
            if node in statement.body:
                return test[0], not test[1]
            if node in statement.orelse:
                return test[0], test[1]
    return None
