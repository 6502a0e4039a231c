"""The values a name can hold, besides strings, and the records one pass leaves behind.

`ModuleRef`, `ImportedRef`, `FuncRef`, `ClassRef`, `InstanceRef`, `Handle`, `Items`, `Grown`
(and the rest of `Binding`); the records `Sink`, `Call`, `FunctionInfo`, `ClassInfo`,
`ModuleInfo`, `Consulted`; `find_module`, the file an import names. Relies on `names` only.
"""

from __future__ import annotations

import ast
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tenantguard.sources.pyflow.names import SQL_METHODS, _called_name
from tenantguard.sources.pyvalues import Value

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeGuard

    from tenantguard.sources.pyflow.walker import _Walker
    from tenantguard.sources.pyvalues import Origin


_T = TypeVar("_T")

# `Hole.position` of an item a project generator yields (`for q in statements()`)
_YIELDED = -1

_MAX_DEPTH = 60  # nesting of one string expression the evaluation follows

_RETURN_DEPTH = 4  # calls inside returned values followed, one inside the other


# what a name can stand for besides a string


@dataclass(frozen=True, slots=True)
class ModuleRef:
    """`import a.b` or `from . import b`: resolved to a file when used."""

    name: str  # dotted name as written after `from`/`import` (may be empty with `level`)
    level: int
    importer: str | None  # the importing file


@dataclass(frozen=True, slots=True)
class ImportedRef:
    """`from q import X`: X's binding in q, resolved when used."""

    module: ModuleRef
    name: str


@dataclass(frozen=True, slots=True, eq=False)
class FuncRef:
    info: FunctionInfo
    # a method read off an object (`fetch = self._fetch`): calling it passes no `self`
    bound: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class ClassRef:
    info: ClassInfo
    # `cls` in a classmethod: the class it is called on, which may be any project subclass
    any_subclass: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class InstanceRef:
    info: ClassInfo
    # made here by calling the class (`Queries()`): of that class itself, so a subclass's
    # override is not what it runs (`self` in a method may be of any subclass)
    exact: bool = False
    # made by calling the class with no arguments: a dataclass's fields hold their defaults
    bare: bool = False
    # made by calling a dataclass or a NamedTuple with arguments the reader maps to its
    # fields (`Query("SELECT …", name="x")`): each field given, with its value
    given: tuple[tuple[str, Value], ...] = ()


@dataclass(frozen=True, slots=True)
class Handle:
    """A database object: "prepared" and "cursor" (asyncpg: their methods take values, not
    SQL), "dbapi-cursor" (`execute(sql)` takes SQL, `fetchmany(n)` does not), "connection"."""

    kind: str


@dataclass(frozen=True, slots=True, eq=False)
class Items:
    """A tuple, list or dict display whose items are read one by one (`QUERIES["lead"]`,
    `for q in STEPS`, `" ".join(CLAUSES)`): each item's value, a dict's by its key."""

    values: tuple[Value, ...]
    keys: tuple[str, ...] | None  # a dict's constant keys; None for a tuple or a list
    # False for a set (`{"a", "b"}`, `frozenset(…)`): its order is not the order written, so
    # it is read item by item (`in`, `for`) but never joined or indexed
    ordered: bool = True
    # items that are tuples of one width (`[("patients", "SELECT …"), …]`): each one's values,
    # for `for name, sql in ROWS`
    rows: tuple[tuple[Value, ...], ...] | None = None
    # some of these items, in this order: a dict comprehension with a condition kept those
    # that passed it (`{k: v for k, v in fields.items() if v is not None}`)
    subset: bool = False
    # items that are each an object of a record class of the project made with its fields
    # given (`NAMED = (Query("tags", "SELECT …"), …)`): each one, for `NAMED[0].sql`,
    # `BY_NAME[k].sql`, `for q in NAMED: q.sql`
    records: tuple[InstanceRef, ...] | None = None


@dataclass(frozen=True, slots=True)
class Grown:
    """A list a function builds and grows with `.append()` / `.extend()` as it runs
    (`constraints.append("…")` under the filters a request sets): its items on each path."""

    lists: tuple[tuple[Value, ...], ...]


@dataclass(frozen=True, slots=True)
class QueryMethod:
    """A query method kept in a name (`execute = conn.execute`): calling it sends SQL."""

    attr: str
    certain: bool


@dataclass(frozen=True, slots=True)
class FrameMethod:
    """A pandas/polars (or table-copy) call kept in a name with what it is given so far
    (`write = df.to_sql`, `reader = partial(pd.read_sql_table, con=engine)`,
    `write = getattr(df, "to_sql")`): calling the name makes that call."""

    func: ast.expr
    args: tuple[ast.expr, ...] = ()
    keywords: tuple[ast.keyword, ...] = ()


# what a wrapper's parameter reaches: (the call it reaches, whether that is surely SQL, the
# alternatives it is sent in, its hole in each: `((hole,),)` when it is sent unchanged)
Reach = tuple[str, bool, Value]


@dataclass(frozen=True, slots=True)
class FilePath:
    """A file of the project a loop goes over (`for p in SQL_DIR.glob("*.sql")`): its
    absolute path, so that `p.stem` and `p.read_text()` are known."""

    path: str


@dataclass(frozen=True, slots=True, eq=False)
class MethodCaller:
    """`operator.methodcaller("fetch", sql)` kept in a name: calling the name with a
    connection calls its query method (h32g); one of several, as paths bind the name
    (`M = methodcaller(…)` then again, or under an `if`)."""

    makers: tuple[ast.Call, ...]


def _sql_methodcaller(node: ast.expr) -> TypeGuard[ast.Call]:
    """`operator.methodcaller("fetch", …)`: a caller of a query method."""
    return (
        isinstance(node, ast.Call)
        and _called_name(node) == "methodcaller"
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value in SQL_METHODS
    )


Binding = (
    Value
    | MethodCaller
    | FilePath
    | ModuleRef
    | ImportedRef
    | FuncRef
    | ClassRef
    | InstanceRef
    | Handle
    | Items
    | Grown
    | QueryMethod
    | FrameMethod
)


@dataclass(eq=False)
class Sink:
    """A call that sends the SQL of `argument`."""

    call: ast.Call
    argument: ast.expr
    method: str  # what it is called, for messages (`.fetch()`, `execute_query()`)
    value: Value
    certain: bool  # the argument is SQL whatever it holds (else: only when it reads like SQL)
    owner: FunctionInfo | None  # the function it sits in
    # the parameters sent with the SQL, as the call that reaches the driver gives them (a
    # wrapper's caller: what it passes for the wrapper's parameter the driver gets unchanged)
    params: ast.expr | None = None
    # a statement a callee builds from constants this call gives (`exists(curs, "workspace",
    # id)`): its text is checked here, what it holds known only at run time is said there
    built: bool = False


@dataclass(eq=False)
class Call:
    """A call of a project function or method: a sink when the callee is a wrapper."""

    call: ast.Call
    targets: Callable[[], list[FunctionInfo]]  # the callees, resolved when needed
    positional: list[tuple[ast.expr, Value] | None]  # None: a starred argument
    keywords: dict[str, tuple[ast.expr, Value]]
    owner: FunctionInfo | None
    bound: bool  # called on an instance or class: the callee's first parameter is not passed
    # the callee is guessed by the method's name (the receiver's class is unknown), and the
    # receiver does not look like a database: a value computed at run time there may not be SQL
    guessed: bool = False
    # a project method named like a driver's (`self.fetchval(Q, g)`): where no callee turns
    # out a wrapper (it sends through `getattr(self.pool, name)`), its first argument is read
    # where it reads as SQL, as the driver's method was (round 28, outside review h28e)
    driver: bool = False
    # a driver's method on a receiver of unknown class, read as the driver's too (its own
    # sink): a callee that sends the SQL unchanged adds nothing to that reading
    beside_driver: bool = False
    # the items each argument holds, by position or keyword, where known (`["UPDATE …"]`)
    elements: dict[int | str, Value] = field(default_factory=dict)
    # the items each argument holds in order, where they are (`[PIN, "code = $2"]`, a
    # module's list of constants, each list a grown list may hold; under "*" those of a last
    # `*conds`): for a callee that joins its parameter (`_JOINED`)
    sequences: dict[int | str, tuple[tuple[Value, ...], ...]] = field(default_factory=dict)


@dataclass(eq=False)
class FunctionInfo:
    name: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    module: ModuleInfo
    cls: ClassInfo | None
    parameters: list[str]  # every parameter, in order
    positional: list[str]  # those a caller can pass by position
    method_kind: str  # "function", "method", "classmethod", "staticmethod"
    sinks: list[Sink] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    # parameter -> (what it reaches, certain, the SQL sent with it: its template, see
    # passed_parameters)
    wrapper: dict[str, Reach] | None = None
    # what its `return`s give, by statement (None: one gives something that is not read)
    returns: dict[int, Value] | None = field(default_factory=dict)
    # what its `return a, b` give, item by item (None for an item that is not text; the dict
    # None: a return of something else, or of another width)
    tuple_returns: dict[int, tuple[Value | None, ...]] | None = field(default_factory=dict)
    # what its `yield`s give, by expression (None: one gives something that is not read, or
    # it has a `yield from`): the items of the generator a call makes
    yields: dict[int, Value] | None = field(default_factory=dict)
    # the `returns` reached only when a parameter is empty (`if not conds: return ""`, the
    # `else` of `… if conds else ""`: True), or only when it is not (False), by statement:
    # that parameter's name, and which
    guarded_returns: dict[int, tuple[str, bool]] = field(default_factory=dict)
    # the function whose body defines this one (its parameters are this one's closure)
    enclosing: FunctionInfo | None = None
    nested: list[FunctionInfo] = field(default_factory=list)

    def within(self, owner: object) -> bool:
        """Whether this function is `owner` or is defined in its body (at any depth)."""
        current: FunctionInfo | None = self
        while current is not None:
            if current is owner:
                return True
            current = current.enclosing
        return False

    def reads_from(self, owner: object) -> bool:
        """Whether this function reads `owner`'s parameters: it is `owner` or defined in its
        body, or `owner` is its class's `__init__` (what it keeps on `self`, h35D)."""
        if self.within(owner):
            return True
        if not (isinstance(owner, FunctionInfo) and owner.name == "__init__" and owner.cls):
            return False
        current: FunctionInfo | None = self
        while current is not None:
            if current.cls is owner.cls:
                return True
            current = current.enclosing
        return False


@dataclass(eq=False)
class ClassInfo:
    name: str
    node: ast.ClassDef
    module: ModuleInfo
    attributes: dict[str, Binding] = field(default_factory=dict)
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    base_exprs: list[ast.expr] = field(default_factory=list)
    base_env: dict[str, Binding] = field(default_factory=dict)  # names the bases are read in
    top: bool = True  # defined by the module's body (not inside a function, whose body runs later)
    # a dataclass's fields' defaults (an attribute is a hole: a constructor may give another)
    defaults: dict[str, Binding] = field(default_factory=dict)
    # the fields its constructor takes, in order, when the reader knows them (a dataclass or a
    # NamedTuple of the project with no project base, no `__init__`/`__post_init__`…): None
    # otherwise; `kw_only` when positional arguments do not map to them
    fields: tuple[str, ...] | None = None
    kw_only: bool = False
    _instance: dict[str, Value] | None = None
    _order: tuple[list[ClassInfo], bool] | None = None


@dataclass(eq=False)
class ModuleInfo:
    origin: Origin
    tree: ast.Module | None
    env: dict[str, Binding] = field(default_factory=dict)
    ever: dict[str, Binding] = field(default_factory=dict)
    # each class (or import) a module-level name is bound to on some path (`try: Base = Repo
    # except ImportError: Base = object`): a base named by it is each of those
    renames: dict[str, list[Binding]] = field(default_factory=dict)
    classes: list[ClassInfo] = field(default_factory=list)
    functions: list[FunctionInfo] = field(default_factory=list)
    sinks: list[Sink] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    copies: list[ast.Call] = field(default_factory=list)
    strings: list[ast.Constant | ast.JoinedStr] = field(default_factory=list)
    # constant strings joined by `+` (`BASE + "WHERE tenant_id = $1"`): one string each, with
    # what it evaluates to where it stands (its operands are not strings of their own)
    folds: list[tuple[ast.expr, Value]] = field(default_factory=list)
    messages: set[int] = field(default_factory=set)  # ids of strings in log and error messages
    docstrings: set[int] = field(default_factory=set)
    exports: list[str] | None = None  # `__all__` when it is a list of constant strings
    _mutated: frozenset[str] | None = None  # names whose list or dict the module changes
    _rebound: tuple[frozenset[str], frozenset[str]] | None = None  # see _rebound()
    _nonlocals: dict[int, frozenset[str]] | None = None  # see _function_nonlocals()
    _global_writers: dict[str, frozenset[int]] | None = None  # see _global_writers()
    _declared_globals: dict[int, frozenset[str]] | None = None  # see _declared_global()
    # function bodies not run yet (a module read for its names runs them when they are needed)
    functions_pending: _Walker | None = None
    unfollowable: bool = False  # its function bodies could not be followed (nested too deeply)
    # the literals its check reads as SQL standing alone, and what it finds at each (by the
    # analyzer asked: see python.py's `_ModuleCheck.said_where_written`)
    alone: dict[
        int, dict[tuple[int, int, int | None, int | None], frozenset[tuple[str, int, int]]]
    ] = field(default_factory=dict)

    @property
    def path(self) -> str | None:
        return self.origin.path


def _imports_django(module: ModuleInfo) -> bool:
    """Whether the module's body imports Django (`from django.db import models`)."""
    return module.tree is not None and any(
        (isinstance(s, ast.ImportFrom) and (s.module or "").split(".")[0] == "django")
        or (isinstance(s, ast.Import) and any(a.name.split(".")[0] == "django" for a in s.names))
        for s in module.tree.body
    )


def _made_class(node: ast.Assign) -> ast.ClassDef | None:
    """`Inv = type("Inv", (Repo,), {"table": "invoices"})` (or `dict(table=…)`) as the class
    statement it makes: its bases, and its attributes assigned in its body (helper 116: the
    table it set never reached the base's query)."""
    value = node.value
    if not (
        len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "type"
        and len(value.args) == 3
        and not value.keywords
        and isinstance(value.args[1], ast.Tuple)
        and not any(isinstance(b, ast.Starred) for b in value.args[1].elts)
    ):
        return None
    given = value.args[2]
    items: list[tuple[str, ast.expr]] = []
    if isinstance(given, ast.Dict):
        for key, item in zip(given.keys, given.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return None  # `**more`, a key computed: not the class the text shows
            items.append((key.value, item))
    elif (
        isinstance(given, ast.Call)
        and isinstance(given.func, ast.Name)
        and given.func.id == "dict"
        and not given.args
        and all(k.arg for k in given.keywords)
    ):
        items = [(str(k.arg), k.value) for k in given.keywords]
    else:
        return None
    body: list[ast.stmt] = [
        ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], item), item)
        for name, item in items
        if name.isidentifier()
    ]
    made = ast.ClassDef(
        name=node.targets[0].id,
        bases=list(value.args[1].elts),
        keywords=[],
        body=body or [ast.copy_location(ast.Pass(), node)],
        decorator_list=[],
    )
    return ast.fix_missing_locations(ast.copy_location(made, node))


def _made_namespace(node: ast.Assign) -> ast.ClassDef | None:
    """`NS = SimpleNamespace(list="SELECT …", by_id="…")` (keywords only) as a class statement
    assigning those names in its body: `NS.list` reads as a class's constant does (h42D: TG009
    "read at run time"); what writes `NS.list = …` elsewhere is read as for a class. Whether
    the callee is the standard library's is for the caller to tell."""
    value = node.value
    if not (
        len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(value, ast.Call)
        and not value.args
        and value.keywords
        and all(k.arg is not None and k.arg.isidentifier() for k in value.keywords)
    ):
        return None
    body: list[ast.stmt] = [
        ast.copy_location(ast.Assign([ast.Name(str(k.arg), ast.Store())], k.value), k.value)
        for k in value.keywords
    ]
    made = ast.ClassDef(
        name=node.targets[0].id, bases=[], keywords=[], body=body, decorator_list=[]
    )
    return ast.fix_missing_locations(ast.copy_location(made, node))


@dataclass(frozen=True, slots=True)
class Consulted:
    """What checks read besides their own file: the check cache's dependencies.

    `modules`: files whose content was used (memoized facts of a module count for every later
    check of the process: a process's union is what its checks depended on); `lookups`:
    imports resolved on disk (directory, name, level, the file found or None); `names`:
    function names looked up among the project's files (which files define them matters).
    """

    modules: frozenset[str] = frozenset()
    lookups: frozenset[tuple[str, str, int, str | None]] = frozenset()
    names: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.modules or self.lookups or self.names)


@functools.lru_cache(maxsize=1024)
def _module_stem(path: str) -> str:
    """The name `import` gives the module at `path` (its package's, for an `__init__.py`):
    asked once per module-level assignment, worked out once per file (session 34)."""
    found = Path(path)
    return found.parent.name if found.stem == "__init__" else found.stem


def find_module(directory: str, name: str, level: int) -> str | None:
    """The file of module `name` imported from `directory`: relative to it (`level` dots), or
    in it or its ancestor directories (absolute imports) — none when both a package's own
    directory and one above it hold the name (Python may load either)."""
    parts = [p for p in name.split(".") if p]
    if level:
        base = directory
        for _ in range(level - 1):
            base = os.path.dirname(base)
        return _module_file(os.path.join(base, *parts)) if parts else _module_file(base)
    if not parts:
        return None
    base = directory
    found = None
    for _ in range(12):
        here = _module_file(os.path.join(base, *parts))
        if here is not None:
            if found is not None:
                return None  # two directories answer: which one sys.path holds is unknown
            found = here
            # a package's own directory (`pkg/queries.py` beside `pkg/__init__.py`) is on
            # sys.path only for a script run from it: run as `pkg.x`, Python looks above
            # (round 25), so go on looking; elsewhere the nearest one is the one found
            if not os.path.isfile(os.path.join(base, "__init__.py")):
                return found
        parent = os.path.dirname(base)
        if parent == base:
            return found
        base = parent
    return found


def _module_file(base: str) -> str | None:
    """The file of a module, `__init__.py` of a package, or the directory of a namespace
    package (it holds no names, only submodules) — in the order Python's path finder tries
    them: a package `q/__init__.py` before a module `q.py` beside it (round 25)."""
    init = os.path.join(base, "__init__.py")
    if os.path.isfile(init):
        return init
    if os.path.isfile(base + ".py"):
        return base + ".py"
    return base if os.path.isdir(base) else None
