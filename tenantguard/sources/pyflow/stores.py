"""What a module's code changes, read from its tree: the names and attributes it stores
(`_module_stores`, `_kept_methods`, `_kept_partials`), the lists and dicts it grows or mutates
(`_grown_names`, `_mutated`), the names rebound or shared between scopes (`_rebound`,
`_scan_scopes`, `_local_changes`), the functions that forward their arguments. Relies on
`model`, `names` and `syntax`.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from tenantguard.sources.pyflow.model import _sql_methodcaller
from tenantguard.sources.pyflow.names import (
    _MUTATORS,
    _all_subclasses,
    _called_name,
    _dotted,
    _is_name,
    _receiver_name,
    expression_name,
)
from tenantguard.sources.pyflow.syntax import _KEEPING

if TYPE_CHECKING:
    from typing import TypeGuard

    from tenantguard.sources.pyflow.index import ProjectIndex
    from tenantguard.sources.pyflow.model import FunctionInfo, ModuleInfo


def _added_display(items: ast.expr | None) -> bool:
    """A list or tuple display with no starred item: what `extend` / `+=` add, item by item."""
    return isinstance(items, ast.List | ast.Tuple) and not any(
        isinstance(e, ast.Starred) for e in items.elts
    )


def _concatenation_of(name: str, value: ast.expr | None) -> ast.expr | None:
    """The display `name + [x]` adds to `name` (assigned back to it: `name = name + [x]`)."""
    if (
        isinstance(value, ast.BinOp)
        and isinstance(value.op, ast.Add)
        and isinstance(value.left, ast.Name)
        and value.left.id == name
        and _added_display(value.right)
    ):
        return value.right
    return None


def _concatenated_name(statement: ast.AST | None) -> str | None:
    """The name a statement grows by a display (`name += [x]`, `name = name + [x]`)."""
    if (
        isinstance(statement, ast.AugAssign)
        and isinstance(statement.op, ast.Add)
        and isinstance(statement.target, ast.Name)
        and _added_display(statement.value)
    ):
        return statement.target.id
    if (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and _concatenation_of(statement.targets[0].id, statement.value) is not None
    ):
        return statement.targets[0].id
    return None


_GROWN_CACHE: dict[int, tuple[ast.AST, frozenset[str]]] = {}

_STORED_CACHE: dict[
    int, tuple[ast.AST, dict[str, list[ast.Attribute]], dict[str, list[ast.Attribute]]]
] = {}

_KEPT_CALLERS_CACHE: dict[int, tuple[ast.AST, dict[str, list[ast.Call]]]] = {}

_KEPT_PARTIALS_CACHE: dict[int, tuple[ast.AST, dict[str, list[ast.Call]]]] = {}


def _partial_of(node: ast.expr | None) -> TypeGuard[ast.Call]:
    """`partial(F, …)` / `functools.partial(F, …)` of a function named (not starred)."""
    return (
        isinstance(node, ast.Call)
        and _called_name(node) == "partial"
        and bool(node.args)
        and isinstance(node.args[0], ast.Name | ast.Attribute)
    )


def _kept_partials(tree: ast.Module) -> dict[str, list[ast.Call]]:
    """The `partial(F, …)` calls a module assigns to a name or an attribute (`q = …`,
    `self.q = …`, in any scope), by the name (the attribute's)."""
    cached = _KEPT_PARTIALS_CACHE.get(id(tree))
    if cached is not None and cached[0] is tree:
        return cached[1]
    found: dict[str, list[ast.Call]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and _partial_of(node.value):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                name = expression_name(target)
                if name:
                    found.setdefault(name, []).append(node.value)
    _KEPT_PARTIALS_CACHE[id(tree)] = (tree, found)
    return found


def _kept_methodcallers(tree: ast.Module) -> dict[str, list[ast.Call]]:
    """The query methodcallers a module assigns to a name (`M = methodcaller("fetch", sql)`,
    in any of its functions too), by that name."""
    cached = _KEPT_CALLERS_CACHE.get(id(tree))
    if cached is not None and cached[0] is tree:
        return cached[1]
    found: dict[str, list[ast.Call]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _sql_methodcaller(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
    _KEPT_CALLERS_CACHE[id(tree)] = (tree, found)
    return found


def _stored_items(tree: ast.Module) -> dict[str, list[ast.Attribute]]:
    """The methods a module stores as items of a name (`OPS["f"] = conn.fetch`,
    `OPS.update(f=conn.fetch)`, `OPS.update({"f": conn.fetch})`, `OPS.setdefault("f",
    conn.fetch)`, `OPS |= {"f": conn.fetch}`, in any of its functions), by that name."""
    return _module_stores(tree)[0]


def _item_holder(node: ast.expr) -> ast.Name | None:
    """The name an item is read from: `OPS["f"]`, `OPS.get("f")`."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return node.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
    ):
        return node.func.value
    return None


def _kept_methods(tree: ast.Module) -> dict[str, list[ast.Attribute]]:
    """The attributes a module assigns to a name or to an attribute (`F = conn.fetch` under
    `global F`, `self.q = conn.fetch`, in any scope), by the name (the attribute's)."""
    return _module_stores(tree)[1]


def _module_stores(
    tree: ast.Module,
) -> tuple[dict[str, list[ast.Attribute]], dict[str, list[ast.Attribute]]]:
    cached = _STORED_CACHE.get(id(tree))
    if cached is not None and cached[0] is tree:
        return cached[1], cached[2]
    items: dict[str, list[ast.Attribute]] = {}
    kept: dict[str, list[ast.Attribute]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    items.setdefault(target.value.id, []).append(node.value)
                elif isinstance(target, ast.Name | ast.Attribute):
                    kept.setdefault(expression_name(target), []).append(node.value)
            continue
        holder: ast.expr | None = None
        given: list[ast.expr] = []
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("update", "setdefault", "__setitem__", "__ior__")
        ):
            holder = node.func.value
            given = [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.BitOr):
            holder, given = node.target, [node.value]
        if not isinstance(holder, ast.Name):
            continue
        for value in given:
            values = value.values if isinstance(value, ast.Dict) else [value]
            for stored in values:
                if isinstance(stored, ast.Attribute):
                    items.setdefault(holder.id, []).append(stored)
    _STORED_CACHE[id(tree)] = (tree, items, kept)
    return items, kept


def _grown_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Local names a function binds to list displays and otherwise only grows (`.append(x)`,
    `.extend([…])` as statements), joins (`sep.join(name)`), measures (`len(name)`) or tests
    (`if name`): nothing else can change the list, so its items are what the paths give. A
    name used in any other way, or in a nested function, keeps the list unknown."""
    cached = _GROWN_CACHE.get(id(function))
    if cached is not None and cached[0] is function:
        return cached[1]
    candidates: set[str] = set()
    spoiled: set[str] = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    grows: set[int] = set()  # the names of `name.append(x)` written as statements
    through: set[int] = set()  # names joined through a comprehension or map() keeping text
    stack: list[tuple[ast.AST, ast.AST | None, bool]] = [
        (s, function, False) for s in function.body
    ]
    while stack:  # iterative: nesting depth is the user's
        node, parent, nested = stack.pop()
        if isinstance(node, ast.Global | ast.Nonlocal):
            spoiled.update(node.names)
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr in ("append", "extend")
        ):
            grows.add(id(node.value.func.value))
        if isinstance(node, ast.Call) and _called_name(node) == "join" and len(node.args) == 1:
            joined = _unwrapped_items(node.args[0])
            if joined is not node.args[0] and isinstance(joined, ast.Name) and not nested:
                # `sep.join(sql.SQL(c) for c in name)` joins name: the loop's list is read
                # where the join is, not inside the comprehension
                through.add(id(joined))
        if isinstance(node, ast.Name):
            if id(node) in through:
                pass
            elif nested or not (id(node) in grows or _growing_use(node, parent)):
                spoiled.add(node.id)
            elif isinstance(node.ctx, ast.Store):
                candidates.add(node.id)
        inner = nested or isinstance(
            node,
            ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef | ast.comprehension,
        )
        for child in ast.iter_child_nodes(node):
            stack.append((child, node, inner))
    found = frozenset(candidates - spoiled)
    _GROWN_CACHE[id(function)] = (function, found)
    return found


def _unwrapped_items(node: ast.expr) -> ast.expr:
    """The list a join's argument hands on item by item, each item's text unchanged: `(c for c
    in L)`, `[sql.SQL(c) for c in L]`, `map(sql.SQL, L)`, `map(str, L)` give L; anything
    else is itself."""
    if isinstance(node, ast.GeneratorExp | ast.ListComp) and len(node.generators) == 1:
        loop = node.generators[0]
        if (
            not loop.ifs
            and not loop.is_async
            and isinstance(loop.target, ast.Name)
            and _keeps_text(node.elt, loop.target.id)
        ):
            return loop.iter
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "map"
        and len(node.args) == 2
        and not node.keywords
        and _text_keeping(node.args[0])
    ):
        return node.args[1]
    return node


def _text_keeping(func: ast.expr) -> bool:
    """`sql.SQL` (psycopg renders its text as written) or `str` (of a string: itself)."""
    if isinstance(func, ast.Name):
        return func.id in ("SQL", "str")
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "SQL"
        and _receiver_name(func.value)
        in (
            "sql",
            "psycopg",
        )
    )


def _keeps_text(element: ast.expr, name: str) -> bool:
    if isinstance(element, ast.Name):
        return element.id == name
    return (
        isinstance(element, ast.Call)
        and _text_keeping(element.func)
        and len(element.args) == 1
        and not element.keywords
        and isinstance(element.args[0], ast.Name)
        and element.args[0].id == name
    )


def _growing_use(name: ast.Name, parent: ast.AST | None) -> bool:
    if isinstance(name.ctx, ast.Store):  # `name = [...]`, alone on the left
        return (
            isinstance(parent, ast.Assign)
            and len(parent.targets) == 1
            and isinstance(parent.value, ast.List)
        ) or _concatenated_name(parent) == name.id  # `name += [x]`, `name = name + [x]`
    if (
        isinstance(parent, ast.BinOp)
        and isinstance(parent.op, ast.Add)
        and parent.left is name
        and _added_display(parent.right)
    ):
        return True  # (`name + [x]`: read as a grown list where assigned back to the name)
    if isinstance(parent, ast.Call) and parent.args == [name] and not parent.keywords:
        func = parent.func
        return (isinstance(func, ast.Attribute) and func.attr == "join") or (
            isinstance(func, ast.Name) and func.id == "len"
        )
    if isinstance(parent, ast.If | ast.While | ast.IfExp):
        return parent.test is name
    if isinstance(parent, ast.Starred):
        # `where(*name)`, `[*name, x]` read: its items as they are then (a callee gets a
        # tuple of them, not the list: it cannot change it; h36G)
        return isinstance(name.ctx, ast.Load)
    if isinstance(parent, ast.Subscript) and isinstance(parent.slice, ast.Slice):
        # `name[:-1]` read: a new list (`name[:] = …` and `del name[1:]` change it)
        return parent.value is name and isinstance(parent.ctx, ast.Load)
    if isinstance(parent, ast.For | ast.AsyncFor):  # `for key in allowed:` reads each item
        return parent.iter is name
    return isinstance(parent, ast.UnaryOp | ast.BoolOp)


def _mutated(info: ModuleInfo) -> frozenset[str]:
    """Names (and attribute names) whose list or dict the module changes in place: `X[k] =`,
    `del X[k]`, `X.append(…)`. Worked out once per module, when it first builds one."""
    if info._mutated is None:
        _scan_scopes(info)
    assert info._mutated is not None
    return info._mutated


def _dotted_end(node: ast.expr) -> str | None:
    """The last name of `a`, `a.b.c` (`c`), or None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and _dotted_end(node.value) is not None:
        return node.attr
    return None


def _replaced(tree: ast.AST, name: str, attr: str) -> bool:
    """May the module read as `name` have its `attr` replaced, or the name itself rebound, by
    this module — so that `name.attr(…)` may call a driver's method (a pool's `fetch`)? `db.fetch
    = …`, also spelt `pkg.db.fetch = …` (the module by its dotted path) or `setattr(db, "fetch",
    …)` (or with a name computed at run time); `vars(db)` or `db.__dict__` (its namespace
    written as a mapping); the module's own global `db` written through its module object
    (`sys.modules[__name__].db = pool`, `setattr(sys.modules[__name__], "db", pool)`) — round
    28, outside review h28a of the rebinding check."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            if node.attr == attr and _dotted_end(node.value) == name:
                return True
            if node.attr == name and not isinstance(node.value, ast.Name | ast.Attribute):
                return True  # `sys.modules[__name__].db = …`: the global `db` rebound
        elif isinstance(node, ast.Attribute) and node.attr == "__dict__":
            if _dotted_end(node.value) == name:
                return True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            target = node.args[0]
            if node.func.id == "vars" and _dotted_end(target) == name:
                return True
            if node.func.id in ("setattr", "delattr") and len(node.args) >= 2:
                key = node.args[1]
                written = key.value if isinstance(key, ast.Constant) else None
                known = isinstance(written, str)
                if _dotted_end(target) == name and (not known or written == attr):
                    return True
                if not isinstance(target, ast.Name | ast.Attribute) and (
                    not known or written == name
                ):
                    return True  # `setattr(sys.modules[__name__], "db", pool)`
    return False


def _rebound(info: ModuleInfo) -> tuple[frozenset[str], frozenset[str]]:
    """Names a function assigns again through `global` (or `globals()["X"] = …`), and
    attribute names assigned through a class (`cls.X =`, `Repo.X =`, `setattr(Repo, "X", …)`)
    anywhere in the module: what the module body wrote there is not what a call reads."""
    if info._rebound is None:
        _scan_scopes(info)
    assert info._rebound is not None
    return info._rebound


def _global_writers(info: ModuleInfo, name: str) -> frozenset[int]:
    """The functions of a module that declare `name` `global` (their ids; 0 for a class
    body): those that may assign the module's name again."""
    if info._global_writers is None:
        _scan_scopes(info)
    assert info._global_writers is not None
    return info._global_writers.get(name, frozenset())


def _declared_global(
    info: ModuleInfo, function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
) -> frozenset[str]:
    """The names a function's body (nested scopes included) declares `global`, walked once per
    function: asked for every name the function binds, a walk each time was quadratic (a
    50 000-line function took minutes)."""
    cache = info._declared_globals
    if cache is None:
        cache = info._declared_globals = {}
    found = cache.get(id(function))
    if found is None:
        found = cache[id(function)] = frozenset(
            name for n in ast.walk(function) if isinstance(n, ast.Global) for name in n.names
        )
    return found


def _function_nonlocals(info: FunctionInfo) -> frozenset[str]:
    """Names the functions nested in this one assign again through `nonlocal`."""
    module = info.module
    if module._nonlocals is None:
        _scan_scopes(module)
    assert module._nonlocals is not None
    found = module._nonlocals.get(id(info.node))
    return found if found is not None else _nonlocals(info.node)


def _class_hook_stores(tree: ast.Module) -> set[int]:
    """The `cls.X = …` of the module that set an attribute of their own class or a subclass
    of it, the ids of their targets: in the body of a `@classmethod` (or `__init_subclass__`)
    taking `cls` first, defined directly in a class statement with plain bases (no metaclass,
    no `type` among them, none unpacked or called), `cls` not bound again there (nor in a
    function nested in it, which is not read). The index asks which classes share them
    (`ProjectIndex.hooked_attribute`)."""
    found: set[int] = set()
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef) or cls.keywords:
            continue
        if not all(isinstance(b, ast.Name | ast.Attribute | ast.Subscript) for b in cls.bases):
            continue
        if any(
            ast.unparse(b).split(".")[-1] == "type" or "Meta" in ast.unparse(b) for b in cls.bases
        ):
            continue
        for method in cls.body:
            if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            decorators = [ast.unparse(d) for d in method.decorator_list]
            hook = method.name == "__init_subclass__" and decorators in ([], ["classmethod"])
            if not hook and decorators != ["classmethod"]:
                continue
            first = [*method.args.posonlyargs, *method.args.args][:1]
            if not first or first[0].arg != "cls":
                continue
            if any(isinstance(n, ast.Nonlocal) and "cls" in n.names for n in ast.walk(method)):
                continue  # (a nested function binding `cls` again)
            stores: list[ast.Attribute] = []
            rebound = False
            todo: list[ast.AST] = list(method.body)
            while todo and not rebound:
                node = todo.pop()
                if isinstance(
                    node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
                ):
                    continue
                if (
                    isinstance(node, ast.Name)
                    and node.id == "cls"
                    and not isinstance(node.ctx, ast.Load)
                ) or (isinstance(node, ast.Global | ast.Nonlocal) and "cls" in node.names):
                    rebound = True
                elif (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Store | ast.Del)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "cls"
                    and not node.attr.startswith("__")
                ):
                    stores.append(node)
                todo.extend(ast.iter_child_nodes(node))
            if not rebound:
                found.update(id(s) for s in stores)
    return found


def _scan_scopes(info: ModuleInfo) -> None:
    """`_mutated`, `_rebound` and every function's nested `nonlocal` names, in one walk of the
    module (a walk per function cost as many walks of a body as it is deep)."""
    mutated: set[str] = set()
    names: set[str] = set()
    attributes: set[str] = set()
    classes: set[str] = set()
    through: list[tuple[str, str]] = []  # (name, attribute): `Name.attribute = …`
    declared: dict[int, set[str]] = {}  # outermost function -> its `global` names
    stored: dict[int, set[str]] = {}  # outermost function -> names it (or a nested one) assigns
    nonlocals: dict[int, set[str]] = {}
    # name -> the functions that declare it `global` (0: a class body), each maybe the one
    # that assigns it again between another function's assignment and its read
    writers: dict[str, set[int]] = {}
    Chain = tuple[ast.FunctionDef | ast.AsyncFunctionDef, ...]
    stack: list[tuple[ast.AST, Chain]] = [(info.tree, ())] if info.tree is not None else []
    recognized: set[int] = set()  # `globals()` read or changed where the walk reads it
    # a list or dict changed through another name for it (round 28, outside review h28e:
    # `ALIAS = QS; ALIAS.append(…)`, `add(QS, …)` with `def add(lst, q): lst.append(q)` left
    # QS read as its display or comprehension)
    aliases: list[tuple[str, str]] = []
    passed: list[tuple[str, int | str, str]] = []  # (function, position or keyword, name)
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    hooked = _class_hook_stores(info.tree) if info.tree is not None else set()
    # each function -> the names it (or a function nested in it) changes in place: gathered in
    # the one walk (a walk of each function's body cost as many walks as it is deep)
    changing: dict[int, set[str]] = {}
    while stack:
        node, chain = stack.pop()
        kind = type(node)
        if kind is ast.Name:  # (a name's only child is its context)
            if chain and isinstance(node.ctx, ast.Store | ast.Del):  # type: ignore[attr-defined]
                stored.setdefault(id(chain[0]), set()).add(node.id)  # type: ignore[attr-defined]
            continue
        if kind not in _SCOPE_READ:  # none of the cases below: its children (session 34)
            stack.extend((child, chain) for child in _scope_children(node))
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Name):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            aliases.extend((t.id, node.value.id) for t in targets if isinstance(t, ast.Name))
        elif (
            isinstance(
                node, ast.Assign | ast.AnnAssign | ast.For | ast.AsyncFor | ast.comprehension
            )
            and (node.value if isinstance(node, ast.Assign | ast.AnnAssign) else node.iter)
            is not None
        ):
            # a list held in another (outside review h31h): `REG = {"c": COLUMNS}` then
            # `REG["c"].pop(0)`, `for cols in [COLUMNS]: cols.pop(0)` (a comprehension's
            # `for` too) change COLUMNS
            held = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else node.iter
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(held, ast.List | ast.Tuple | ast.Set | ast.Dict):
                elements = held.values if isinstance(held, ast.Dict) else held.elts
                aliases.extend(
                    (t.id, e.id)
                    for t in targets
                    if isinstance(t, ast.Name)
                    for e in elements
                    if isinstance(e, ast.Name)
                )
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            # `def admin(cols=COLUMNS): cols.pop(0)`: the default is the module's list
            arguments = node.args
            ordered = [*arguments.posonlyargs, *arguments.args]
            pairs = [
                *zip(
                    ordered[len(ordered) - len(arguments.defaults) :],
                    arguments.defaults,
                    strict=False,
                ),
                *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
            ]
            aliases.extend(
                (a.arg, d.id) for a, d in pairs if d is not None and isinstance(d, ast.Name)
            )
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            passed.extend(
                (node.func.id, i, a.id) for i, a in enumerate(node.args) if isinstance(a, ast.Name)
            )
            passed.extend(
                (node.func.id, k.arg, k.value.id)
                for k in node.keywords
                if k.arg and isinstance(k.value, ast.Name)
            )
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.append(node)
            changing[id(node)] = set()
        if chain:
            # what the functions it is in change of their own names (their parameters)
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
                for outer in chain:
                    _changed(node.value, changing[id(outer)])
            elif isinstance(node, ast.AugAssign):
                for outer in chain:
                    _changed(node.target, changing[id(outer)])
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATORS
            ):
                for outer in chain:
                    _changed(node.func.value, changing[id(outer)])
        if chain and type(node) in _BINDING_KINDS:
            # what else binds a name a `global` may make the module's: an import, an
            # exception's name, a match's capture, a nested def (round 26b, outside attack)
            bound = _bound_names(node)
            if bound:
                stored.setdefault(id(chain[0]), set()).update(bound)
        if isinstance(node, ast.Subscript | ast.Attribute) and (
            isinstance(node, ast.Subscript) or node.attr in _NAMESPACE_METHODS
        ):
            recognized.add(id(node.value))
        elif isinstance(node, ast.Compare):
            recognized.update(id(c) for c in node.comparators)
        if (
            isinstance(node, ast.Call)
            and _dotted(node.func) in ("globals", "vars")
            and not node.args
            and id(node) not in recognized
        ):
            # `g = globals()` then `g["X"] = …`, `exec(code, globals())`: any name
            names.add(_ANY_NAME)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            chain = (*chain, node)
            nonlocals.setdefault(id(node), set())
        elif isinstance(node, ast.ClassDef):
            classes.add(node.name)
        elif isinstance(node, ast.Global) and chain:
            declared.setdefault(id(chain[0]), set()).update(node.names)
            for name in node.names:
                writers.setdefault(name, set()).add(id(chain[-1]))
        elif isinstance(node, ast.Global):  # in a class body: its assignments are the module's
            names.update(node.names)
            for name in node.names:
                writers.setdefault(name, set()).add(0)
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            # `[(p := x) for x in …]` binds p in the scope around the comprehension, not where
            # the walk reads it (round 25, outside attack: the pinned value stayed)
            for inner in ast.walk(node):
                if isinstance(inner, ast.NamedExpr) and isinstance(inner.target, ast.Name):
                    if chain:
                        nonlocals[id(chain[-1])].add(inner.target.id)
                    else:
                        names.add(inner.target.id)
        elif isinstance(node, ast.Nonlocal):
            for outer in chain[:-1]:  # the functions this one is nested in
                nonlocals[id(outer)].update(node.names)
        elif isinstance(node, ast.Name):
            if chain and isinstance(node.ctx, ast.Store | ast.Del):
                stored.setdefault(id(chain[0]), set()).add(node.id)
        elif isinstance(node, ast.Subscript):
            if isinstance(node.ctx, ast.Store | ast.Del):
                _changed(_subscripted(node.value), mutated)
            if (
                isinstance(node.ctx, ast.Store | ast.Del)
                and isinstance(node.value, ast.Call)
                and _dotted(node.value.func) in ("globals", "vars")
                and not node.value.args
            ):
                # `globals()["X"] = …`; by a key computed (`for k, v in os.environ.items():
                # globals()[k] = v`, h32j): any name
                key = node.slice.value if isinstance(node.slice, ast.Constant) else None
                names.add(key if isinstance(key, str) else _ANY_NAME)
                writers.setdefault(key if isinstance(key, str) else _ANY_NAME, set()).add(0)
        elif isinstance(node, ast.Attribute):
            if (
                isinstance(node.ctx, ast.Store | ast.Del)
                and isinstance(node.value, ast.Name)
                and id(node) not in hooked
            ):
                through.append((node.value.id, node.attr))
        elif isinstance(node, ast.AugAssign):
            _changed(node.target, mutated)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
                _changed(_subscripted(node.func.value), mutated)
            if (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in ("update", "__setitem__", "setdefault")
                and isinstance(node.func.value, ast.Call)
                and _dotted(node.func.value.func) in ("globals", "vars")
                and not node.func.value.args
            ):
                # `globals().update(X=…)`, `globals().update(table)`: the names given, or
                # any name when they are not written there
                given = [k.arg for k in node.keywords]
                for argument in node.args:
                    if isinstance(argument, ast.Dict) and all(
                        isinstance(k, ast.Constant) and isinstance(k.value, str)
                        for k in argument.keys
                    ):
                        given.extend(k.value for k in argument.keys)  # type: ignore[union-attr]
                    elif isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                        given.append(argument.value)
                    else:
                        given.append(None)
                names.update(_ANY_NAME if g is None else g for g in given)
                for g in given:
                    writers.setdefault(_ANY_NAME if g is None else g, set()).add(0)
            if (
                _dotted(node.func) in ("setattr", "delattr")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                attributes.add(node.args[1].value)
            elif (
                _dotted(node.func) in ("setattr", "delattr")
                and node.args
                and isinstance(node.args[0], ast.Name)
            ):
                # `setattr(Repo, name, …)`: which attribute is not written (a class of the
                # module's, or `cls`: checked below)
                through.append((node.args[0].id, _ANY_NAME))
        stack.extend((child, chain) for child in _scope_children(node))
    # a name assigned in a function whose outermost enclosing function declares it `global`
    # somewhere (`global X` without assigning X leaves the constant alone)
    for top, assigned in stored.items():
        names.update(assigned & declared.get(top, set()))
    attributes.update(a for n, a in through if n == "cls" or n in classes)
    changes_parameter: dict[str, set[int | str]] = {}
    for function in functions:
        inside = changing[id(function)]
        positional = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        every = [*positional, *(a.arg for a in function.args.kwonlyargs)]
        changed = changes_parameter.setdefault(function.name, set())
        changed.update(i for i, name in enumerate(positional) if name in inside)
        changed.update(name for name in every if name in inside)
    mutated.update(
        name
        for function_name, where, name in passed
        if where in changes_parameter.get(function_name, ())
    )
    # a name and its aliases are one collection: changed through any, all are (one walk of
    # the pairs as a graph, not a pass over every pair per name added)
    linked: dict[str, list[str]] = {}
    for alias, name in aliases:
        linked.setdefault(alias, []).append(name)
        linked.setdefault(name, []).append(alias)
    pending = [n for n in mutated if n in linked]
    while pending:
        for other in linked[pending.pop()]:
            if other not in mutated:
                mutated.add(other)
                pending.append(other)
    info._mutated = frozenset(mutated)
    info._rebound = (frozenset(names), frozenset(attributes))
    info._nonlocals = {key: frozenset(found) for key, found in nonlocals.items()}
    info._global_writers = {key: frozenset(found) for key, found in writers.items()}


_ANY_NAME = "*"  # `globals().update(table)`: which names it sets is not written

# `globals().get(…)` and the changes read by name (`update`, `__setitem__`, `setdefault`)
_NAMESPACE_METHODS = frozenset(
    {"get", "keys", "values", "items", "copy", "__getitem__", "__contains__"}
    | {"update", "__setitem__", "setdefault"}
)


# what `_scan_scopes` reads nothing of: constants, contexts, operators (a data module's most
# nodes, session 34)
_SCOPE_LEAVES = _all_subclasses(
    ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop
) | {ast.Constant, type(None), str, int}


_BINDING_KINDS = frozenset(
    {ast.Import, ast.ImportFrom, ast.ExceptHandler, ast.MatchAs, ast.MatchStar, ast.MatchMapping}
    | {ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef}
)  # (the nodes `_bound_names` reads a name of)


def _scope_children(node: ast.AST) -> list[ast.AST]:
    """A node's children for `_scan_scopes`, in `ast.iter_child_nodes`'s order, without the
    leaves it reads nothing of."""
    found: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if type(value) is list:
            found.extend(
                child
                for child in value
                if type(child) not in _SCOPE_LEAVES and isinstance(child, ast.AST)
            )
        elif type(value) not in _SCOPE_LEAVES and isinstance(value, ast.AST):
            found.append(value)
    return found


# the nodes `_scan_scopes` reads something of (any other: only its children)
_SCOPE_READ = frozenset(
    {ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.comprehension}
    | {ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Global, ast.Nonlocal}
    | {ast.Call, ast.Subscript, ast.Attribute, ast.Compare, ast.Name}
    | {ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp}
    | {ast.Import, ast.ImportFrom, ast.ExceptHandler, ast.MatchAs, ast.MatchStar}
    | {ast.MatchMapping}
)


def _bound_names(node: ast.AST) -> list[str]:
    """Names a statement or pattern binds other than as an `ast.Name` target."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [a.asname or a.name.split(".", 1)[0] for a in node.names if a.name != "*"]
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
        return [node.name] if node.name else []
    if isinstance(node, ast.MatchMapping):
        return [node.rest] if node.rest else []
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    return []


def _sets_any_attribute(node: ast.AST, this: str) -> bool:
    """`setattr(self, key, …)` (or `object.__setattr__(self, …)`) with a name not written,
    `self.__dict__.update(…)`, `vars(self).update(…)`, `self.__dict__[key] = …`: an attribute
    of `self` whose name only the run knows."""

    def is_this(expr: ast.expr) -> bool:
        return isinstance(expr, ast.Name) and expr.id == this

    def namespace(expr: ast.expr) -> bool:  # `self.__dict__`, `vars(self)`
        return (
            isinstance(expr, ast.Attribute) and expr.attr == "__dict__" and is_this(expr.value)
        ) or (
            isinstance(expr, ast.Call)
            and _is_name(expr.func, "vars")
            and len(expr.args) == 1
            and is_this(expr.args[0])
        )

    if isinstance(node, ast.Call):
        func = node.func
        key: ast.expr | None = None
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr"):
            if len(node.args) >= 2 and is_this(node.args[0]):  # `setattr(self, key, …)`
                key = node.args[1]
        elif isinstance(func, ast.Attribute) and func.attr in ("__setattr__", "__delattr__"):
            if is_this(func.value) or (  # `self.__setattr__(key, …)`, `super().__setattr__`
                isinstance(func.value, ast.Call) and _is_name(func.value.func, "super")
            ):
                key = node.args[0] if node.args else None
            elif len(node.args) >= 2 and is_this(node.args[0]):  # `object.__setattr__(self, …)`
                key = node.args[1]
        if key is not None:
            return not (isinstance(key, ast.Constant) and isinstance(key.value, str))
        if isinstance(func, ast.Attribute) and func.attr in _MUTATORS and namespace(func.value):
            return True
    if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        return any(
            isinstance(t, ast.Subscript)
            and namespace(t.value)
            and not (isinstance(t.slice, ast.Constant) and isinstance(t.slice.value, str))
            for t in targets
        )
    return False


_LOCAL_CHANGES: dict[int, tuple[ast.AST, ProjectIndex, frozenset[str]]] = {}

# calls that read a list or dict given to them and keep no hold of it
_READERS = frozenset(
    """len list tuple set frozenset sorted reversed enumerate zip iter any all min max sum str
    repr print isinstance dict map filter""".split()  # noqa: SIM905
)


def _shared_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Names a function (or one nested in it) declares `global` or `nonlocal`: not its own."""
    return frozenset(
        name
        for node in ast.walk(function)
        if isinstance(node, ast.Global | ast.Nonlocal)
        for name in node.names
    )


def _local_changes(
    function: ast.FunctionDef | ast.AsyncFunctionDef, index: ProjectIndex
) -> frozenset[str]:
    """Local names whose list or dict a function may change in place: changed there or in a
    function nested in it (`X.append(…)`, `X[k] = …`, `X += …`), bound to another name
    (`alias = X`), or handed to a function called by its name that is not a known reader
    (`add(X, q)`; a method, `conn.fetch(**kw)`, reads it, as for the module's names). Another
    function's local of the same name is another list (before, `fields.append(…)` in one
    method made every method's `fields = [...]` unknown)."""
    cached = _LOCAL_CHANGES.get(id(function))
    if cached is not None and cached[0] is function and cached[1] is index:
        return cached[2]
    found: set[str] = set()
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(function):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    for node in ast.walk(function):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            _changed(_subscripted(node.value), found)
        elif isinstance(node, ast.AugAssign):
            _changed(node.target, found)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
                _changed(_subscripted(node.func.value), found)
        elif (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and not _only_read(node, parents, index)
        ):
            # anything else may hand the list on (outside review h31h): `holder = {"a": X}`
            # then `holder["a"].append(…)`, `grow = X.append`, `for l in [X]: l.append(…)`,
            # `more = X or []`, `self.widen(X)` (a project method), `yield X` — what is done
            # with it there is not followed: changed
            found.add(node.id)
    result = frozenset(found)
    _LOCAL_CHANGES[id(function)] = (function, index, result)
    return result


# context managers that may end their body early, the code after them run (`suppressing`)
_SUPPRESSING = frozenset({"suppress", "move_on_after", "move_on_at", "CancelScope"})


def _subscripted(target: ast.expr) -> ast.expr:
    """The list or dict an item is taken from: `X` of `X["a"][0]` (changing the item changes
    what `X` holds)."""
    while isinstance(target, ast.Subscript):
        target = target.value
    return target


# methods that read a list or dict, keep no hold of it and return no view of it to change
_READING_METHODS = frozenset(
    """copy get items keys values index count join format""".split()  # noqa: SIM905
)


def _only_read(name: ast.Name, parents: dict[ast.AST, ast.AST], index: ProjectIndex) -> bool:
    """Whether this use of a local name only reads what it holds: an item (`X[k]`), a method
    that reads (`X.get(k)`, `X.items()`, `", ".join(X)`), a test (`k in X`, `if X`), a loop
    over it, a known reading builtin (`len(X)`, `sorted(X)`), text of it (`f"{X}"`), a new list
    made of it (`X + [..]`), or its `return`; a call of a mutator on it is a change counted
    elsewhere."""
    parent = parents.get(name)
    if isinstance(parent, ast.Starred | ast.keyword):  # `f(*X)`, `f(key=X)`, `f(**X)`
        name, parent = parent, parents.get(parent)  # type: ignore[assignment]
    if isinstance(parent, ast.Subscript) and parent.value is name:
        outer = parents.get(parent)
        # `X[k].append(…)` is counted as a change of X; `X[k]` otherwise reads an item
        return not (isinstance(outer, ast.Attribute) and outer.attr in _MUTATORS)
    if isinstance(parent, ast.Attribute):
        call = parents.get(parent)
        called = isinstance(call, ast.Call) and call.func is parent
        return called and parent.attr in _READING_METHODS | _MUTATORS
    if isinstance(parent, ast.Compare | ast.FormattedValue | ast.Return | ast.UnaryOp):
        return True
    if isinstance(parent, ast.BinOp):
        return True  # `X + [..]`, `X * 2`: a new list
    if isinstance(parent, ast.If | ast.While | ast.Assert) and parent.test is name:
        return True
    if isinstance(parent, ast.For | ast.AsyncFor | ast.comprehension) and parent.iter is name:
        return True
    if isinstance(parent, ast.Call) and parent.func is not name:
        func = parent.func
        if isinstance(func, ast.Name) and func.id in _READERS:
            return True
        # a driver's method reads what it is given (`conn.fetch(**kw)`, `", ".join(X)`); one
        # the project defines may change it (`self.widen(X)`)
        return isinstance(func, ast.Attribute) and (
            func.attr in _READING_METHODS or not index.may_define(func.attr)
        )
    return False


def _changed(target: ast.expr, found: set[str]) -> None:
    """The name (or attribute name) a change in place (`X[k] =`, `X.append(…)`) is made to."""
    if isinstance(target, ast.Name):
        found.add(target.id)
    elif isinstance(target, ast.Attribute):
        found.add(target.attr)


def _nonlocals(node: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Names the functions nested in this one assign again through `nonlocal`."""
    found: set[str] = set()
    for inner in ast.walk(node):
        if inner is not node and isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
            for statement in ast.walk(inner):
                if isinstance(statement, ast.Nonlocal):
                    found.update(statement.names)
    return frozenset(found)


# decorators that call the function with its callers' arguments, unchanged
_ARGUMENTS_KEPT = _KEEPING | frozenset(
    """contextmanager asynccontextmanager retry on_exception on_predicate singledispatch
    singledispatchmethod overload final deprecated total_ordering""".split()  # noqa: SIM905
)


def _forwards_arguments(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A decorator `def deco(fn)` whose functions call `fn` only as `fn(*args, **kwargs)` with
    their own `*args` / `**kwargs`, neither assigned anywhere in it."""
    if not node.args.args or node.args.vararg or node.args.kwarg:
        return False
    fn = node.args.args[0].arg
    assigned: set[str] = set()
    packs: set[str] = set()
    calls: list[ast.Call] = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store | ast.Del):
            assigned.add(inner.id)
        elif isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef) and inner is not node:
            for pack in (inner.args.vararg, inner.args.kwarg):
                if pack is not None:
                    packs.add(pack.arg)
        elif isinstance(inner, ast.Call) and _is_name(inner.func, fn):
            calls.append(inner)
    if fn in assigned or packs & assigned or not calls:
        return False
    for call in calls:
        starred = [a for a in call.args if isinstance(a, ast.Starred)]
        if not (
            len(call.args) == len(starred) <= 1
            and all(isinstance(a.value, ast.Name) and a.value.id in packs for a in starred)
            and all(
                k.arg is None and isinstance(k.value, ast.Name) and k.value.id in packs
                for k in call.keywords
            )
        ):
            return False
    # the packs are used only as they are passed (not `args[0].replace(…)`, not changed)
    for inner in ast.walk(node):
        if (
            isinstance(inner, ast.Subscript | ast.Attribute)
            and isinstance(inner.value, ast.Name)
            and inner.value.id in packs
        ):
            return False
    return True
