"""The walker's statements: assignments, augmented assignments, `if`, loops, `try`,
`match`, `with`, definitions of functions and classes, imports (`statement`, `block`), and the
scan of an expression for the calls it makes (`scan`). Relies on `calls` and below.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import TYPE_CHECKING

from tenantguard.sources.pyflow.calls import _Calls
from tenantguard.sources.pyflow.loops import (
    _LOOP_ROUNDS,
    _PAST_FIRST,
    _UNROLLED,
    _appended_every_time,
    _appended_to,
    _iterated_name,
    _Loop,
    _loop_items,
    _merge,
    _merge_envs,
    _pass_sequences,
    _straight,
    _tested_for_items,
    _unknown,
    _unknown_item,
    _yielded,
)
from tenantguard.sources.pyflow.model import (
    _YIELDED,
    ClassInfo,
    ClassRef,
    FuncRef,
    FunctionInfo,
    Grown,
    ImportedRef,
    InstanceRef,
    Items,
    MethodCaller,
    ModuleRef,
    _made_class,
    _made_namespace,
)
from tenantguard.sources.pyflow.names import _dict_view, _short
from tenantguard.sources.pyflow.stores import (
    _ANY_NAME,
    _SUPPRESSING,
    _added_display,
    _concatenation_of,
    _declared_global,
    _dotted_end,
    _global_writers,
    _grown_names,
    _local_changes,
    _mutated,
    _rebound,
    _shared_names,
)
from tenantguard.sources.pyflow.syntax import (
    _INERT,
    _ITEMS,
    _NAMED_FIELDS,
    _added,
    _changes_name,
    _constructor_fields,
    _emptiness_test,
    _empty_guard,
    _formats_a_constant,
    _is_enum,
    _joins_a_name,
    _makes_records,
    _named_lambda,
    _plain_dataclass,
    _plain_named_tuple,
    _rows,
    _string_like,
)
from tenantguard.sources.pyvalues import Lit, concat, hole, union

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tenantguard.sources.pyflow.model import Binding
    from tenantguard.sources.pyvalues import Value


class _Statements(_Calls):
    """Statements, run in order (see the module docstring)."""

    def block(self, body: Iterable[ast.stmt]) -> bool:
        """Runs statements in order; False when the end of the block is not reached."""
        return all(self.statement(statement) for statement in body)

    def statement(self, node: ast.stmt) -> bool:
        self._node = node
        kind = type(node)
        if kind is ast.Expr:
            self.scan(node.value)  # type: ignore[attr-defined]
            self.grow(node.value)  # type: ignore[attr-defined]
        elif kind is ast.Assign and (made := _made_class(node)) is not None:  # type: ignore[arg-type]
            self.define_class(made)  # `Inv = type("Inv", (Repo,), {"table": "invoices"})`
        elif (
            kind is ast.Assign
            and self.standard_callee(node.value, "types", "SimpleNamespace")  # type: ignore[attr-defined]
            and (made := _made_namespace(node)) is not None  # type: ignore[arg-type]
        ):
            self.define_class(made)  # `NS = SimpleNamespace(list="SELECT …")`
        elif (
            kind is ast.Assign
            and not self._in_class_body
            and (defined := _named_lambda(node)) is not None  # type: ignore[arg-type]
        ):
            self.define_function(defined)  # `q = lambda sql, *a: conn.fetch(sql, *a)`
        elif kind is ast.Assign:
            self.scan(node.value)  # type: ignore[attr-defined]
            binding = self.binding(node.value)  # type: ignore[attr-defined]
            for target in node.targets:  # type: ignore[attr-defined]
                self._exports(target, node.value, augmented=False)  # type: ignore[attr-defined]
                self.assign(target, binding, node.value)  # type: ignore[attr-defined]
        elif kind is ast.AnnAssign:
            if node.value is not None:  # type: ignore[attr-defined]
                self.scan(node.value)  # type: ignore[attr-defined]
                self._exports(node.target, node.value, augmented=False)  # type: ignore[attr-defined]
                self.assign(node.target, self.binding(node.value), node.value)  # type: ignore[attr-defined]
        elif kind is ast.AugAssign:
            self.augmented(node)  # type: ignore[arg-type]
        elif kind in (ast.Return, ast.Raise):
            if kind is ast.Return:
                self.returned(node)  # type: ignore[arg-type]
            if kind is ast.Raise:
                for part in (node.exc, node.cause):  # type: ignore[attr-defined]
                    if part is not None:
                        self._messages(part)
            value = getattr(node, "value", None) or getattr(node, "exc", None)
            if value is not None:
                self.scan(value)
            if kind is ast.Raise and node.cause is not None:  # type: ignore[attr-defined]
                self.scan(node.cause)  # type: ignore[attr-defined]
            return False
        elif kind is ast.If:
            return self.branch(node)  # type: ignore[arg-type]
        elif kind in (ast.For, ast.AsyncFor, ast.While):
            return self.loop(node)  # type: ignore[arg-type]
        elif kind in (ast.With, ast.AsyncWith):
            for item in node.items:  # type: ignore[attr-defined]
                self.scan(item.context_expr)
                if item.optional_vars is not None:
                    self.assign(
                        item.optional_vars, self.binding(item.context_expr), item.context_expr
                    )
            if any(self.suppressing(item.context_expr) for item in node.items):  # type: ignore[attr-defined]
                return self.suppressed(node)  # type: ignore[arg-type]
            return self.block(node.body)  # type: ignore[attr-defined]
        elif kind is ast.Try or kind is getattr(ast, "TryStar", ast.Try):
            return self.attempt(node)  # type: ignore[arg-type]
        elif kind is ast.Match:
            return self.match(node)  # type: ignore[arg-type]
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            self.define_function(node)  # type: ignore[arg-type]
        elif kind is ast.ClassDef:
            self.define_class(node)  # type: ignore[arg-type]
        elif kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.asname:
                    self.bind(alias.asname, ModuleRef(alias.name, 0, self.origin.path))
                else:
                    top = alias.name.split(".")[0]
                    self.bind(top, ModuleRef(top, 0, self.origin.path))
        elif kind is ast.ImportFrom:
            module = ModuleRef(node.module or "", node.level, self.origin.path)  # type: ignore[attr-defined]
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.name != "*":
                    self.bind(alias.asname or alias.name, ImportedRef(module, alias.name))
                else:
                    self.star_import(module)
        elif kind is ast.Break:
            if self.loops:
                self.loops[-1].breaks.append(dict(self.env))
            return False
        elif kind is ast.Continue:
            if self.loops:
                self.loops[-1].continues.append(dict(self.env))
            return False
        elif kind is ast.Assert:
            if node.msg is not None:  # type: ignore[attr-defined]
                self._messages(node.msg)  # type: ignore[attr-defined]
            self.scan(node.test)  # type: ignore[attr-defined]
            for name, held, when in self.memberships(node.test):  # type: ignore[attr-defined]
                if when:  # `assert sort in SORTABLE`
                    self.env[name] = held
        elif kind is ast.Delete:
            for target in node.targets:  # type: ignore[attr-defined]
                self.scan(target)
        else:  # Global, Nonlocal, Pass, TypeAlias…: expressions only
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.scan(child)
        return True

    def star_import(self, module: ModuleRef) -> None:
        """`from q import *` binds, where it stands, the names q exports (its `__all__`, else
        its names without a leading underscore); a module that cannot be read binds none."""
        path = self.index.resolve(module)
        info = self.index.module(path) if path else None
        if info is None:
            return
        names = info.exports
        if (names is None and "__all__" in info.env) or (
            names is not None
            and (
                "__all__" in _mutated(info)
                or self.index.changed_outside("__all__", stored=False, dunder=True)
                or self.index.changed_outside("__all__", dunder=True)
            )
        ):
            # an `__all__` made at run time or changed in place (`__all__.extend([…])`, h32g):
            # it may name any of the module's names, a leading underscore's too
            names = [n for n in info.env if not (n.startswith("__") and n.endswith("__"))]
        elif names is None:
            names = [name for name in info.env if not name.startswith("_")]
        for name in names:
            self.bind(name, ImportedRef(module, name))

    def _exports(self, target: ast.expr, value: ast.expr | None, augmented: bool) -> None:
        """Records a module-level `__all__` of constant strings (None when it is not one)."""
        if not (isinstance(target, ast.Name) and target.id == "__all__"):
            return
        if self.function is not None or self.cls_stack:
            return
        names = None
        if isinstance(value, ast.List | ast.Tuple) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
        ):
            names = [e.value for e in value.elts]  # type: ignore[attr-defined]
            if augmented:
                before = self.module.exports
                names = None if before is None else [*before, *names]
        self.module.exports = names

    def yielded(self, node: ast.Yield | ast.YieldFrom) -> None:
        """Keeps what a `yield` of string-like text gives (a loop's last round wins)."""
        function = self.function
        if function is None or function.yields is None:
            return
        value = node.value
        if isinstance(node, ast.YieldFrom) or value is None or not _string_like(value):
            function.yields = None
        else:
            function.yields[id(node)] = self.evaluate(value)

    def returned(self, node: ast.Return) -> None:
        """Keeps what a `return` of string-like text gives (a loop's last round wins)."""
        function = self.function
        if function is not None and function.tuple_returns is not None:
            items = node.value.elts if isinstance(node.value, ast.Tuple | ast.List) else None
            if items is None or any(isinstance(e, ast.Starred) for e in items):
                function.tuple_returns = None
            else:  # `return sql, args` (helper 111: a builder's SQL was unknown at its call)
                function.tuple_returns[id(node)] = tuple(
                    self.evaluate(e) if _string_like(e) else None for e in items
                )
        if function is None or function.returns is None or node.value is None:
            return  # a bare `return` gives None: not SQL, the call fails
        value = node.value
        if not _string_like(value):
            function.returns = None
            return
        test = _emptiness_test(value.test) if isinstance(value, ast.IfExp) else None
        if test is not None and _a_parameter(function, test[0]):
            assert isinstance(value, ast.IfExp)
            # `return "WHERE " + " AND ".join(conds) if conds else ""`: each branch apart,
            # marked with when it is taken (h36G)
            for branch, taken_when_empty in ((value.body, not test[1]), (value.orelse, test[1])):
                function.returns[id(branch)] = self.evaluate(branch)
                function.guarded_returns[id(branch)] = (test[0], taken_when_empty)
            return
        function.returns[id(node)] = self.evaluate(value)
        guard = _empty_guard(function.node, node)
        if guard is not None and _a_parameter(function, guard[0]):
            function.guarded_returns[id(node)] = guard

    def assign(self, target: ast.expr, binding: Binding, value: ast.expr | None) -> None:
        if (
            isinstance(target, ast.Name)
            and self.function is None
            and not self._in_class_body
            and isinstance(value, ast.Dict | ast.List | ast.Tuple | ast.Set)
            and self.index.changed_outside(target.id, stored=False, home=self.module)
        ):
            # `REG = {"p": PARTS}` and `REG["p"].append(…)` in another module: PARTS itself is
            # changed (h34N; each file's alias scan is its own)
            held = value.values if isinstance(value, ast.Dict) else value.elts
            for element in held:
                if isinstance(element, ast.Name) and isinstance(self.lookup(element.id), Items):
                    reason = f"`{element.id}` is held by `{target.id}`, changed elsewhere"
                    self.bind(element.id, hole(element, self.origin, reason))
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.List)
            and self.function is not None
            and target.id in _grown_names(self.function.node)
        ):
            self.bind(target.id, Grown((tuple(self.evaluate(e) for e in value.elts),)))
            return
        if (
            isinstance(target, ast.Name)
            and (added := _concatenation_of(target.id, value)) is not None
            and self.concatenated(target, added)
        ):
            return  # `conds = conds + [x]`
        if isinstance(target, ast.Name):
            if (
                self.function is None
                and not self._in_class_body
                and isinstance(binding, ClassRef | ImportedRef | ModuleRef)
            ):
                self.module.renames.setdefault(target.id, []).append(binding)
            if isinstance(binding, Items) and (
                (
                    target.id in _mutated(self.module)
                    if self.function is None or target.id in _shared_names(self.function.node)
                    else target.id in _local_changes(self.function.node, self.index)
                )
                or (
                    self.function is None
                    and self.index.changed_outside(target.id, stored=False, home=self.module)
                )
            ):
                reason = f"`{target.id}` is changed after it is built"
                binding = hole(target, self.origin, reason)
            elif self._rebound_here(target.id):
                reason = f"`{target.id}` is assigned again where it is not written here"
                binding = hole(target, self.origin, reason)
            elif (
                self.function is None
                and not self._in_class_body
                and isinstance(binding, InstanceRef)
                and binding.given
                and (
                    self.index.changed_outside(target.id) or self.index.module_replaced(self.module)
                )
            ):
                # `queries.EVENTS = Query(…)` / `= dataclasses.replace(…)` in another module: the
                # record read is whichever was set last, its fields not the ones made here (h34N)
                binding = dataclasses.replace(binding, given=())
            elif (
                self.function is None
                and not self._in_class_body
                and isinstance(binding, tuple | Items | MethodCaller)
                and (
                    self.index.changed_outside(target.id) or self.index.module_replaced(self.module)
                )
            ):
                # `queries.X = …` in another module (or `setattr(queries, "X", …)`): what a
                # call reads is the last value set, from wherever (round 25, outside attack)
                reason = f"`{target.id}` is assigned again as an attribute of its module"
                binding = hole(target, self.origin, reason)
            self.bind(target.id, binding)
        elif isinstance(target, ast.Tuple | ast.List):
            elements = value.elts if isinstance(value, ast.Tuple | ast.List) else None
            if (
                elements is not None
                and len(elements) == len(target.elts)
                and not any(isinstance(e, ast.Starred) for e in (*elements, *target.elts))
            ):
                for sub, element in zip(target.elts, elements, strict=True):
                    self.assign(sub, self.binding(element), element)
                return
            items = self.items_of(value) if value is not None else None
            if (
                items is not None
                and items.ordered
                and items.keys is None
                and len(items.values) == len(target.elts)
                and not any(isinstance(e, ast.Starred) for e in target.elts)
            ):
                # `sql, kind = LISTING` of a tuple or list of constants (also a class's,
                # `self.QUERY`): each its item (before, TG009 at the call)
                for sub, item in zip(target.elts, items.values, strict=True):
                    self.assign(sub, item, None)
            else:
                call = value.value if isinstance(value, ast.Await) else value
                returns = (
                    self.returning(call.func)
                    if isinstance(call, ast.Call)
                    and not any(isinstance(e, ast.Starred) for e in target.elts)
                    else None
                )
                if returns is not None and call is not None:  # `sql, args = build(…)`
                    assert isinstance(call, ast.Call)
                    # what the call gives its parameters: `paged("SELECT …", 10)` returning
                    # `f"{sql} LIMIT {int(limit)}", limit` (before, `sql` stayed a hole: TG009)
                    given = self._arguments(call)
                    for position, sub in enumerate(target.elts):
                        reason = f"`{_short(sub)}` is unpacked from `{_short(call)}`"
                        self.assign(
                            sub,
                            hole(
                                sub,
                                self.origin,
                                reason,
                                returns=returns,
                                position=position,
                                given=given,
                            ),
                            None,
                        )
                    return
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        self.bind(
                            name.id,
                            hole(
                                name,
                                self.origin,
                                f"`{name.id}` is unpacked from a value computed at run time",
                            ),
                        )
        elif isinstance(target, ast.Starred):
            self.assign(target.value, hole(target, self.origin, "a starred target"), None)
        else:
            self.scan(target)

    def grow(self, node: ast.expr) -> None:
        """`name.append(x)` / `name.extend([…])` of a grown list: its items on this path."""
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
        ):
            return
        name = node.func.value.id
        grown = self.lookup(name)
        if not isinstance(grown, Grown):
            return
        added: tuple[Value, ...] | None = None
        if node.func.attr == "append" and len(node.args) == 1 and not node.keywords:
            added = (self.evaluate(node.args[0]),)
        elif node.func.attr == "extend" and len(node.args) == 1 and not node.keywords:
            added = self.displayed_items(node.args[0])
        if added is None:
            self.bind(name, hole(node, self.origin, f"`{name}` is changed at run time"))
        else:
            self.bind(name, Grown(tuple(items + added for items in grown.lists)))

    def displayed_items(self, items: ast.expr) -> tuple[Value, ...] | None:
        """The values of a list or tuple display with no starred item (`[a, b]`, `(a,)`)."""
        if not _added_display(items):
            return None
        assert isinstance(items, ast.List | ast.Tuple)
        return tuple(self.evaluate(e) for e in items.elts)

    def concatenated(self, target: ast.Name, added: ast.expr) -> bool:
        """`name += [x]` / `name = name + [x]` of a grown list: bound to its lists with the
        display's items after them (as `name.extend([x])`), True; False when not so."""
        grown = self.lookup(target.id)
        items = self.displayed_items(added) if isinstance(grown, Grown) else None
        if items is None or not isinstance(grown, Grown):
            return False
        self.bind(target.id, Grown(tuple(old + items for old in grown.lists)))
        return True

    def _rebound_here(self, name: str) -> bool:
        """Whether a name bound here is assigned again elsewhere: by `global` in a function or
        `globals()[…]` (a module's name), by `nonlocal` in a nested function; a name a
        function declares `global` and assigns, by another function that declares it `global`
        too or by `globals()` (h36Q: `global s; s = PIN; reset(); execute(… + s)` with `def
        reset(): global s; s = "true"` read `s` as PIN, no finding)."""
        if self.function is None:
            rebound = _rebound(self.module)[0]
            return not self._in_class_body and (name in rebound or _ANY_NAME in rebound)
        if name in self.nonlocals:
            return True
        node = self.function.node
        if name not in _declared_global(self.module, node):
            return False
        rebound = _rebound(self.module)[0]
        return (
            _ANY_NAME in rebound
            or bool(_global_writers(self.module, name) - {id(node)})
            or self.index.changed_outside(name)
        )

    def augmented(self, node: ast.AugAssign) -> None:
        self.scan(node.value)
        self._exports(node.target, node.value, augmented=isinstance(node.op, ast.Add))
        target = node.target
        if (
            isinstance(target, ast.Name)
            and isinstance(node.op, ast.Add | ast.Sub | ast.Mult)
            and self.numeric(target)
            and self.numeric(node.value)
        ):  # `i += 1`: a counter stays a number (`${i}` numbers a parameter)
            self.bind(target.id, self.counted(node, target, node.value))
        elif (
            isinstance(target, ast.Name)
            and isinstance(node.op, ast.Add)
            and self.concatenated(target, node.value)
        ):
            pass  # `conds += [f"name = ${n}"]` of a grown list
        elif isinstance(target, ast.Name) and isinstance(node.op, ast.Add):
            before = self.lookup(target.id)
            current = before if isinstance(before, tuple) else self.name_value(target)
            self.bind(target.id, concat((current, self.evaluate(node.value)), node, self.origin))
        elif isinstance(target, ast.Name):
            self.bind(
                target.id, hole(target, self.origin, f"`{target.id}` is computed at run time")
            )
        else:
            self.scan(target)

    def branch(self, node: ast.If) -> bool:
        self.scan(node.test)
        narrowed = self.narrowing(node.test)
        name, truthy, falsy = narrowed if narrowed is not None else ("", None, None)
        members = self.memberships(node.test)
        before, filled = self.env, self.filled
        tested = _tested_for_items(node.test, self.lookup("len") is None)
        ends: list[frozenset[str]] = []
        envs: list[dict[str, Binding] | None] = []
        for when, body, lists in ((True, node.body, truthy), (False, node.orelse, falsy)):
            self.env = dict(before)
            shown = tested is not None and tested[1] == when
            self.filled = filled | {tested[0]} if shown and tested is not None else filled
            if lists is not None and lists.lists:
                self.env[name] = lists
            for member, held, member_when in members:
                if member_when == when:  # `if sort in SORTABLE:` / its `else`
                    self.env[member] = held
            live = self.block(body)
            # a branch no list a path leaves can take is still read (its calls are checked)
            reachable = lists is None or bool(lists.lists)
            envs.append(self.env if live and reachable else None)
            if live and reachable:
                ends.append(self.filled)
        then_env, else_env = envs
        merged = _merge_envs([then_env, else_env], node, self.origin)
        self.env = merged if merged is not None else before
        self.filled = frozenset.intersection(*ends) if ends else filled
        return merged is not None

    def loop(self, node: ast.For | ast.AsyncFor | ast.While) -> bool:
        is_for = not isinstance(node, ast.While)
        self.scan(node.iter if is_for else node.test)  # type: ignore[union-attr]
        forever = (
            isinstance(node, ast.While)
            and isinstance(node.test, ast.Constant)
            and bool(node.test.value)
        )
        exact = None if isinstance(node, ast.While) else self.unrolled(node)
        entry = self.env
        head = dict(entry)
        loop = _Loop()
        # `for column in ("guild_id", "id")` runs its body at least once: what the loop leaves
        # is what one pass or more leaves (before, the list it grows could also be empty —
        # `WHERE ` with no condition: TG006 and TG001 on a safe query)
        # (or over a name a test showed to hold items: `if not rows: return` before it)
        filled = self.filled
        over = _iterated_name(node.iter) if is_for else None  # type: ignore[union-attr]
        once = is_for and (
            self.never_empty(node.iter)  # type: ignore[union-attr]
            or (over is not None and over in filled)
        )
        # rounds after the first read the passes after the first: from what passes leave,
        # never from the entry (`first = True` / `enumerate`'s index 0 is the first pass's
        # alone); a loop that may not run leaves the entry too
        seed: dict[str, Binding] | None = None
        # the `break`s of every round: with `once`, the first round's are the first pass's,
        # which the last round no longer starts from (outside review h31h: `if flag: break`
        # before `where = c` left `where` as it was before the loop, unread)
        breaks: list[dict[str, Binding]] = []
        first_pass: dict[str, Binding] = {}
        for round_ in range(_LOOP_ROUNDS + 1):
            loop = _Loop()
            self.loops.append(loop)
            self.env, self.filled = dict(head), filled
            if not isinstance(node, ast.While):
                self.assign_iteration(node.target, node.iter, first=round_ == 0)
            live = self.block(node.body)
            self.loops.pop()
            breaks.extend(loop.breaks)
            ends = [self.env if live else None, *loop.continues]
            widened = _merge_envs([seed, *ends], node, self.origin) or dict(head)
            if seed is None:
                seed = widened  # after one pass, then any number more
                first_pass = widened
            if widened == head:
                break
            if round_ == _LOOP_ROUNDS:  # still growing: what changes is unknown
                for name, binding in widened.items():
                    before = entry.get(name)
                    if isinstance(before, Grown) and _appended_to(before, binding):
                        # `clauses = ["tenant_id = $1"]` then `clauses.append(…)` in the loop:
                        # the list before it, then items computed at run time — or, when each
                        # item the loop appends is text of constants (`f"{field} = ${i}"` for
                        # `field` over constant names), any one of them, each checked
                        item = _loop_items(before, binding, node, self.origin)
                        # the first pass's items first (`"" if i == 0 else "OR "`)
                        passed = first_pass.get(name)
                        first = _loop_items(before, passed, node, self.origin)
                        later = (
                            _loop_items(passed, binding, node, self.origin)
                            if isinstance(passed, Grown) and first is not None
                            else None
                        )
                        # a list every pass grows holds all the items the passes give: read
                        # as one pass's items, then two passes' (`VALUES ($1, $2), ($1, $3)`,
                        # `… OR name = $2 OR name = $3`); a list some passes skip, as any one
                        reason = f"items appended to `{name}` in a loop"
                        unknown = _unknown_item(before, binding) if item is None else None
                        if unknown is not None:  # say which part (h40D: the list alone)
                            reason += f": {unknown.reason}"
                        # (the first pass's items, then a later pass's, when every pass
                        # appends: `"" if i == 0 else "OR "` is "" only on the first)
                        every = name in _appended_every_time(node.body)
                        sequences = _pass_sequences(before, passed, binding) if every else None
                        tails: tuple[tuple[Value, ...], ...] = (
                            sequences
                            if sequences is not None
                            else ((hole(node, self.origin, reason),),)
                            if item is None
                            else ((first,), (first, later))
                            if every and first is not None and later is not None
                            else ((item,), (item, item))
                            if every
                            else ((item,),)
                        )
                        # (the list as it was, unless every path appends to it)
                        kept = [
                            items
                            for items in before.lists
                            if isinstance(binding, Grown) and items in binding.lists
                        ]
                        grown = [(*items, *tail) for items in before.lists for tail in tails]
                        widened[name] = Grown(tuple(dict.fromkeys([*kept, *grown])))
                    elif head.get(name) != binding:
                        widened[name] = hole(
                            node, self.origin, f"`{name}` changes from one iteration to the next"
                        )
            head = widened
        if not once:
            head = _merge_envs([entry, head], node, self.origin) or head
        if exact is not None:
            head = exact  # a branchless loop over constants: what its passes leave, in order
        self.env, self.filled = dict(head), filled & self.filled
        else_live = self.block(node.orelse)
        exits = [] if forever else [self.env if else_live else None]
        merged = _merge_envs([*exits, *breaks], node, self.origin)
        self.env = merged if merged is not None else head
        return merged is not None

    def unrolled(self, node: ast.For | ast.AsyncFor) -> dict[str, Binding] | None:
        """What a branchless loop over a few constants leaves, each pass run in turn with its
        item: `for column in ("guild_id", "id"): keys.append(f"{column} = …")` leaves both
        conditions, in order (the rounds read the loop variable as any of its items: the list
        was any one of them, or items only known at run time; `where += f" AND {column} = …"`
        changed from one pass to the next). Only the names it leaves are taken from here: the
        calls of the body are read by the rounds that follow (a call's last reading wins:
        there, with each item its loop variable may hold)."""
        if node.orelse or not _straight(node.body):
            return None
        target = node.target
        passes = self.passes(node.iter)
        width = (
            len(target.elts)
            if isinstance(target, ast.Tuple | ast.List)
            and not any(isinstance(e, ast.Starred) for e in target.elts)
            else 0
        )
        if passes is None or not all(
            len(item) == width or (len(item) == 1 and not width) for item in passes
        ):
            return None
        entry = self.env
        self.env = dict(entry)
        try:
            for item in passes:
                if width:
                    for sub, value in zip(target.elts, item, strict=True):  # type: ignore[attr-defined]
                        self.assign(sub, value, None)
                else:
                    self.assign(target, item[0], None)
                if not self.block(node.body):
                    return None
            return self.env
        finally:
            self.env = entry

    def passes(self, iterable: ast.expr) -> list[tuple[Value, ...]] | None:
        """The item of each pass of a `for` over a few constants, in order: a tuple or list
        written with its items (a tuple of tuples of one width unpacked), or bound to a name
        (a dict's keys, `.items()` — key and value —, `.keys()`, `.values()`)."""
        origin = self.origin
        elements: list[tuple[Value, ...]] | None = None
        if (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Name)
            and iterable.func.id == "enumerate"
            and self.lookup("enumerate") is None
            and 1 <= len(iterable.args) <= 2
            and not iterable.keywords
            and not isinstance(iterable.args[0], ast.Starred)
        ):  # `for n, column in enumerate(COLUMNS, 1)`: each item with its number
            start = iterable.args[1] if len(iterable.args) == 2 else ast.Constant(0)
            inner = self.passes(iterable.args[0])
            if (
                inner is None
                or not isinstance(start, ast.Constant)
                or type(start.value) is not int
                or any(len(item) != 1 for item in inner)
            ):
                return None
            reason = "a number `enumerate` counts"
            return [
                (
                    hole(
                        iterable, origin, reason, kind="value", string=False, number=n, integer=True
                    ),
                    item[0],
                )
                for n, item in enumerate(inner, start.value)
            ]
        if isinstance(iterable, ast.Tuple | ast.List):
            if not iterable.elts or any(isinstance(e, ast.Starred) for e in iterable.elts):
                return None
            rows = _rows(iterable.elts)
            elements = (
                [tuple(map(self.evaluate, r)) for r in rows]
                if rows is not None
                else [(self.evaluate(e),) for e in iterable.elts]
            )
        else:
            how = "iter"
            named = iterable
            if _dict_view(iterable):
                how, named = iterable.func.attr, iterable.func.value
            items = self.items_of(named) if isinstance(named, ast.Name | ast.Attribute) else None
            if items is None or not items.ordered or not items.values or items.subset:
                return None
            if items.keys is None:
                if how != "iter":
                    return None
                elements = (
                    [tuple(r) for r in items.rows]
                    if items.rows is not None
                    else [(v,) for v in items.values]
                )
            else:
                if any(key.startswith("\0") for key in items.keys):
                    return None
                keys = [((Lit(key, origin, None, 0, iterable),),) for key in items.keys]
                if how == "items":
                    elements = [(k, v) for k, v in zip(keys, items.values, strict=True)]
                elif how == "values":
                    elements = [(v,) for v in items.values]
                else:
                    elements = [(k,) for k in keys]
        if elements is None or len(elements) > _UNROLLED:
            return None
        return elements

    def never_empty(self, iterable: ast.expr) -> bool:
        """Whether a `for` surely runs its body: over a tuple or list written with items (none
        unpacked), or a tuple, list or dict of constants the module binds (`.items()`,
        `.keys()`, `.values()` of one too)."""
        if isinstance(iterable, ast.Tuple | ast.List):
            return bool(iterable.elts) and not any(
                isinstance(e, ast.Starred) for e in iterable.elts
            )
        if _dict_view(iterable):
            items = self.items_of(iterable.func.value)
            return (
                items is not None
                and items.keys is not None
                and bool(items.values)
                and not items.subset
            )
        items = self.items_of(iterable) if isinstance(iterable, ast.Name | ast.Attribute) else None
        return items is not None and bool(items.values) and not items.subset

    def assign_iteration(
        self, target: ast.expr, iterable: ast.expr, first: bool | None = None
    ) -> None:
        """The loop variables of `for name, sql in QUERIES.items()` or of a sequence of tuples
        of constants (`for name, sql in (("a", "…"), …)`, or a name bound to one): each takes
        any value its place holds (each is checked)."""
        if isinstance(target, ast.Tuple | ast.List) and not any(
            isinstance(e, ast.Starred) for e in target.elts
        ):
            columns = self.unpacked(iterable, len(target.elts), first)
            if columns is not None:
                for sub, value in zip(target.elts, columns, strict=True):
                    self.assign(sub, value, None)
                return
        record = self.looped_record(iterable)
        if isinstance(target, ast.Name) and record is not None:
            self.assign(target, record, None)  # `for q in NAMED:` — any of its records
            return
        self.assign(target, self.iteration(iterable), None)

    def looped_record(self, iterable: ast.expr) -> InstanceRef | None:
        """What a loop over a tuple or list of records of the project (or a dict's
        `.values()`) binds: any one of them (`Items.records`)."""
        named = iterable
        if _dict_view(iterable):
            if iterable.func.attr != "values":
                return None
            named = iterable.func.value
        if isinstance(named, ast.Tuple | ast.List):
            # a display written in the loop itself, `for q in (Query("a", "…"), …)`
            made = self.binding(named)
            items = made if isinstance(made, Items) else None
        elif isinstance(named, ast.Name | ast.Attribute):
            items = self.items_of(named)
        else:
            return None
        if items is None or items.records is None or not items.ordered:
            return None
        if named is iterable and items.keys is not None:
            return None  # `for k in BY_NAME`: its keys
        return self.any_record(items.records, iterable)

    def unpacked(
        self, iterable: ast.expr, width: int, first: bool | None = None
    ) -> list[Value] | None:
        """The values of each of a loop's `width` variables; the index of `enumerate` is 0
        when `first` (a loop's first pass), past 0 when it is False (a later pass), else
        unknown (a comprehension)."""
        origin = self.origin
        if (
            width == 2
            and isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Attribute)
            and iterable.func.attr == "items"
            and not iterable.args
        ):
            items = self.items_of(iterable.func.value)
            if items is None or items.keys is None or not items.values:
                return None
            keys = [
                hole(iterable, origin, "a key of the dict")
                if key.startswith("\0")
                else ((Lit(key, origin, None, 0, iterable),),)
                for key in items.keys
            ]
            return [union(keys, iterable, origin), union(items.values, iterable, origin)]
        if (
            width == 2
            and isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Name)
            and iterable.func.id == "enumerate"
            and self.lookup("enumerate") is None
            and (
                len(iterable.args) == 1
                or (
                    len(iterable.args) == 2
                    and isinstance(iterable.args[1], ast.Constant)
                    and type(iterable.args[1].value) is int
                )
            )
            and not iterable.keywords
            and not isinstance(iterable.args[0], ast.Starred)
        ):  # `for i, row in enumerate(rows)`: `i` counts, whatever `rows` holds (from a
            # constant start: `enumerate(rows, 2)`)
            start = iterable.args[1].value if len(iterable.args) == 2 else 0  # type: ignore[attr-defined]
            reason = "a number `enumerate` counts"
            count = hole(
                iterable,
                origin,
                reason,
                kind="value",
                string=False,
                integer=True,
                number=start if first else None,
            )
            if first is False and start == 0:  # a later pass: the index is past 0
                count = hole(
                    iterable, origin, _PAST_FIRST, kind="value", string=False, integer=True
                )
            item = self.iteration(iterable.args[0])
            return [count, item] if isinstance(item, tuple) else None
        rows: list[tuple[Value, ...]] | None = None
        if isinstance(iterable, ast.Tuple | ast.List):
            found = _rows(iterable.elts)
            rows = None if found is None else [tuple(map(self.evaluate, r)) for r in found]
        else:
            items = self.items_of(iterable)
            if items is not None and items.rows is not None:
                rows = list(items.rows)
        if not rows or any(len(r) != width for r in rows):
            return None
        return [union([r[i] for r in rows], iterable, origin) for i in range(width)]

    def iteration(self, iterable: ast.expr) -> Binding:
        """The loop variable of `for q in ("…", "…")`: each constant; else unknown."""
        if (
            isinstance(iterable, ast.Tuple | ast.List | ast.Set)
            and iterable.elts
            and not any(isinstance(e, ast.Starred) for e in iterable.elts)
        ):
            return union([self.evaluate(e) for e in iterable.elts], iterable, self.origin)
        values = iterable
        if (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Attribute)
            and iterable.func.attr == "values"
            and not iterable.args
        ):
            values = iterable.func.value  # `for q in QUERIES.values()`
        items = self.items_of(values)
        if items is not None and (items.keys is not None) == (values is not iterable):
            return union(items.values, iterable, self.origin)
        keyed = iterable
        if (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Attribute)
            and iterable.func.attr == "keys"
            and not iterable.args
        ):
            keyed = iterable.func.value
        keys = self.items_of(keyed) if keyed is not iterable or items is not None else None
        if keys is not None and keys.keys and not any(k.startswith("\0") for k in keys.keys):
            # `for field in COLUMNS_BY_NAME:` (or `.keys()`): each constant key
            origin = self.origin
            return union(
                [((Lit(k, origin, None, 0, keyed),),) for k in keys.keys], iterable, origin
            )
        grown = self.lookup(iterable.id) if isinstance(iterable, ast.Name) else None
        if isinstance(grown, Grown) and any(grown.lists):
            # `allowed = ["title", "note"]` in the function: each item any list of it holds
            every = [item for items in grown.lists for item in items]
            return union(every, iterable, self.origin)
        if isinstance(iterable, ast.Call):
            returns = self.returning(iterable.func)
            if returns is not None:  # `for q in statements()`: each item its generator yields
                reason = f"an item of what `{_short(iterable)}` gives"
                given = self._arguments(iterable)  # (its parameters filled as for a return)
                return hole(
                    iterable,
                    self.origin,
                    reason,
                    returns=returns,
                    position=_YIELDED,
                    given=given,
                )
        if self.unchanged_parameter(iterable) and not _changes_name(
            self.function.node if self.function is not None else None, iterable
        ):
            # `for q in queries: conn.execute(q)`: each item of what the callers pass, checked
            # at each call (a wrapper, h35D); not a list it adds to (`queries.append(x)`)
            assert isinstance(iterable, ast.Name) and self.function is not None
            reason = f"an item of `{iterable.id}`, a parameter of {self.function.name}()"
            return hole(
                iterable, self.origin, reason, param=_ITEMS + iterable.id, owner=self.function
            )
        return hole(iterable, self.origin, "a loop variable")

    def suppressing(self, context: ast.expr) -> bool:
        """A context manager that may end its body early and let the code after it run:
        contextlib's `suppress(…)` (also imported under another name), anyio's or trio's
        `move_on_after` / `move_on_at` / `CancelScope` (a cancelled body ends at an `await`)."""
        if not isinstance(context, ast.Call):
            return False
        if _dotted_end(context.func) in _SUPPRESSING:
            return True
        bound = self.lookup(context.func.id) if isinstance(context.func, ast.Name) else None
        return isinstance(bound, ImportedRef) and bound.name in _SUPPRESSING

    def suppressed(self, node: ast.With | ast.AsyncWith) -> bool:
        """`with suppress(ValueError): …` (outside review h31h): an exception ends the body
        after any of its statements, and the code after the `with` runs — as a `try` whose
        handler passes (before, the body was read as run to its end: `where` bound in a loop
        the exception leaves after its first pass was read as the last pass left it)."""
        body_live, handler_entry = self.tried(node, node.body)
        del body_live
        self.env = handler_entry
        return True

    def tried(self, node: ast.AST, body: list[ast.stmt]) -> tuple[bool, dict[str, Binding]]:
        """Run a body an exception may end: whether it ends live (`self.env` is then what it
        leaves), and what a handler starts with (what any assignment left)."""
        before = self.env
        assigned: dict[str, list[Binding]] = {}
        self.tries.append(assigned)
        self.env = dict(before)
        body_live = self.block(body)
        self.tries.pop()
        body_env = self.env if body_live else None
        # a handler may start after any statement of the body: what any assignment left
        handler_entry = _merge_envs([before, body_env], node, self.origin) or dict(before)
        for name, bindings in assigned.items():
            current: Binding | None = handler_entry.get(name)
            for binding in bindings:
                current = _merge(current, binding, node, self.origin)
            if current is not None:
                handler_entry[name] = current
        return body_live, handler_entry

    def attempt(self, node: ast.Try) -> bool:
        before = self.env
        body_live, handler_entry = self.tried(node, node.body)
        body_env = self.env if body_live else None
        ends: list[dict[str, Binding] | None] = []
        for handler in node.handlers:
            self.env = dict(handler_entry)
            if handler.type is not None:
                self.scan(handler.type)
            if handler.name:
                self.bind(handler.name, hole(handler, self.origin, "an exception"))
            ends.append(self.env if self.block(handler.body) else None)
        if body_env is not None:
            self.env = body_env
            ends.append(self.env if self.block(node.orelse) else None)
        merged = _merge_envs(ends, node, self.origin)
        if node.finalbody:
            self.env = merged if merged is not None else dict(handler_entry)
            final_live = self.block(node.finalbody)
            return final_live and merged is not None
        self.env = merged if merged is not None else before
        return merged is not None

    def match(self, node: ast.Match) -> bool:
        self.scan(node.subject)
        before = self.env
        ends: list[dict[str, Binding] | None] = [before]  # no case may match
        for case in node.cases:
            self.env = dict(before)
            for name in ast.walk(case.pattern):
                # `case x`, `case [*rest]`, `case {**rest}` (round 26b: a mapping's rest)
                for captured in (getattr(name, "name", None), getattr(name, "rest", None)):
                    if isinstance(captured, str):
                        self.bind(captured, hole(case.pattern, self.origin, "a matched value"))
            for named in ast.walk(case.pattern):
                # `case ("SELECT …" as x)`, `case ("A" | "B") as x`: x holds what it matched,
                # one of those strings (h36D: TG009 "a matched value" at the call sending x)
                if isinstance(named, ast.MatchAs) and named.name and named.pattern is not None:
                    strings = self._case_strings(named.pattern)
                    if strings is not None:
                        self.bind(named.name, strings)
            held = self._case_strings(case.pattern)
            if held is not None and isinstance(node.subject, ast.Name):
                # `match sql: case "DELETE FROM t" | "SELECT …":` — as `if sql in (…)`, the
                # subject holds those in the case's body (h35Q: sent there, its text was
                # never read: TG009 only, for a DELETE of every tenant's rows)
                self.env[node.subject.id] = held
            if case.guard is not None:
                self.scan(case.guard)
            ends.append(self.env if self.block(case.body) else None)
        merged = _merge_envs(ends, node, self.origin)
        self.env = merged if merged is not None else before
        return merged is not None

    def _case_strings(self, pattern: ast.pattern) -> Value | None:
        """The strings a case pattern of literals matches (`case "a" | "b"`, `case ("a" as
        x)`); None for any other pattern (or a literal that is not a string)."""
        while isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
            pattern = pattern.pattern
        options = pattern.patterns if isinstance(pattern, ast.MatchOr) else [pattern]
        values: list[Value] = []
        for option in options:
            while isinstance(option, ast.MatchAs) and option.pattern is not None:
                option = option.pattern
            if not (
                isinstance(option, ast.MatchValue)
                and isinstance(option.value, ast.Constant)
                and isinstance(option.value.value, str)
            ):
                return None
            values.append(self.evaluate(option.value))
        if not values or not all(
            value and all(all(type(p) is Lit for p in a) for a in value) for value in values
        ):
            return None
        return union(values, pattern, self.origin)

    # definitions

    def define_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.scan(decorator)
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.scan(default)
        cls = self.cls_stack[-1] if self.cls_stack and self._in_class_body else None
        decorators = {
            d.id if isinstance(d, ast.Name) else d.attr if isinstance(d, ast.Attribute) else ""
            for d in node.decorator_list
        }
        kind = "function"
        if cls is not None:
            kind = (
                "staticmethod"
                if "staticmethod" in decorators
                else "classmethod"
                if "classmethod" in decorators
                else "method"
            )
        args = node.args
        every = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        if kind in ("method", "classmethod") and positional:
            positional = positional[1:]
        info = FunctionInfo(node.name, node, self.module, cls, every, positional, kind)
        if self.function is not None and not self._in_class_body:
            info.enclosing = self.function  # a closure: it reads the function's parameters
            self.function.nested.append(info)
        self.module.functions.append(info)
        if cls is not None:
            cls.methods[node.name] = info
        self.bind(node.name, FuncRef(info))
        # the body runs later, seeing what the enclosing scopes hold by then
        scopes = (
            [*self.outer, (self.env, self.ever)] if not self._in_class_body else list(self.outer)
        )
        self.pending.append((info, scopes))

    _in_class_body = False

    def define_class(self, node: ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.scan(decorator)
        for base in node.bases:
            self.scan(base)
        info = ClassInfo(node.name, node, self.module, base_exprs=list(node.bases))
        info.base_env = self.env
        info.top = self.function is None
        self.module.classes.append(info)
        self._docstring(node.body)
        saved = (self.env, self.ever, self.outer, self._in_class_body)
        self.outer = [*self.outer, (self.env, self.ever)]
        self.env, self.ever = {}, {}
        self.cls_stack.append(info)
        self._in_class_body = True
        self.block(node.body)
        self._in_class_body = False
        self.cls_stack.pop()
        info.attributes = self.env
        changed = _rebound(self.module)[1]
        computed = _is_enum(info) and bool({"__new__", "__init__"} & info.methods.keys())
        info.fields, info.kw_only = _constructor_fields(info)
        if _makes_records(info):
            # `sql: str = "…"` of a dataclass, a NamedTuple, an attrs or pydantic model: a
            # default each instance may replace (`Query(sql=…)`), not the attribute's value
            for statement in node.body:
                if (
                    isinstance(statement, ast.AnnAssign)
                    and statement.value is not None
                    and isinstance(statement.target, ast.Name)
                    and "ClassVar" not in ast.unparse(statement.annotation)
                ):
                    field_name = statement.target.id
                    if _plain_dataclass(info) or _plain_named_tuple(info):  # `Queries()`
                        given = _field_default(statement.value)
                        info.defaults[field_name] = (
                            info.attributes[field_name] if given is None else self.evaluate(given)
                        )
                    info.attributes[field_name] = hole(
                        statement,
                        self.origin,
                        f"`{info.name}.{field_name}` is a field: its default, unless the "
                        "constructor is given another",
                    )
        for name, binding in list(info.attributes.items()):
            if not isinstance(binding, tuple | Items):
                continue
            if (
                computed
                or name in changed
                or _ANY_NAME in changed
                # set on the class or an instance from anywhere in the project (`Repo.X = …`
                # in another module, `repo.X = …`, a decorator's `cls_.X = …`), or changed
                # there in place (round 25, outside attack)
                or self.index.changed_outside(name)
                or self.index.hooked_attribute(name, info)
                or self.index.overridden_elsewhere(name, info.name, self.origin)
                or self.index.class_written_by_key(info.name)
                or (isinstance(binding, Items) and self.index.changed_outside(name, stored=False))
            ):
                reason = (
                    f"`{info.name}` computes its members' values in `__new__`/`__init__`"
                    if computed
                    else f"`{info.name}.{name}` is assigned again outside the class body"
                )
                info.attributes[name] = hole(node, self.origin, reason)
                info.defaults.pop(name, None)
        self.env, self.ever, self.outer, self._in_class_body = saved
        self.bind(node.name, ClassRef(info))

    # expressions: calls, strings, messages

    def scan(self, node: ast.expr) -> None:
        """Records the calls and string literals of an expression."""
        stack: list[ast.AST] = [node]
        strings = self.module.strings
        while stack:
            current = stack.pop()
            kind = type(current)
            if kind is ast.Constant:
                if isinstance(current.value, str):  # type: ignore[attr-defined]
                    strings.append(current)  # type: ignore[arg-type]
                continue
            if kind is ast.Name:
                continue
            if kind is ast.JoinedStr:
                strings.append(current)  # type: ignore[arg-type]
                if any(
                    isinstance(v, ast.FormattedValue) and type(v.value) in _NAMED_FIELDS
                    for v in current.values  # type: ignore[attr-defined]
                ):
                    # `f"UPDATE {JOBS} SET …"` of a constant name: its text, as it is sent
                    # nowhere the check knows, is read with the values its fields hold
                    self.module.folds.append((current, self.evaluate(current)))  # type: ignore[arg-type]
                stack.extend(v.value for v in current.values if isinstance(v, ast.FormattedValue))  # type: ignore[attr-defined]
                for v in current.values:  # type: ignore[attr-defined]
                    if isinstance(v, ast.FormattedValue) and v.format_spec is not None:
                        stack.append(v.format_spec)
                continue
            if kind is ast.BinOp and type(current.op) is ast.Add:  # type: ignore[attr-defined]
                # written as constants: literals, f-strings, names (`BASE + "WHERE …"`); an
                # attribute or a call is followed where a call sends the result
                operands = _added(current)  # type: ignore[arg-type]
                if all(
                    type(o) in (ast.JoinedStr, ast.Name)
                    or (type(o) is ast.Constant and type(o.value) is str)
                    or _joins_a_name(o)
                    for o in operands
                ) and any(type(o) is not ast.Name for o in operands):
                    self.module.folds.append((current, self.evaluate(current)))  # type: ignore[arg-type]
                    for operand in operands:
                        if type(operand) is ast.JoinedStr:
                            for v in operand.values:
                                if isinstance(v, ast.FormattedValue):
                                    stack.append(v.value)
                                    if v.format_spec is not None:
                                        stack.append(v.format_spec)
                        elif type(operand) is not ast.Constant:
                            stack.append(operand)
                    continue
            if _formats_a_constant(current) or _joins_a_name(current):
                # `"UPDATE {} SET …".format(JOBS)`, `"… %s …" % JOBS`: read, as it is sent
                # nowhere the check knows, with the values it formats in (as an f-string)
                self.module.folds.append((current, self.evaluate(current)))  # type: ignore[arg-type]
            if kind is ast.Call:
                self.on_call(current)  # type: ignore[arg-type]
            elif kind is ast.Compare:
                # `"FROM t" in sql`, `sql in ("…", "…")`: text written to be looked for, not
                # sent (h35G: a test's assertion on the SQL a fake connection recorded was
                # TG001); a value it narrows a name to is checked where that name is sent
                self._compared(current)  # type: ignore[arg-type]
            elif kind is ast.NamedExpr:
                self.scan(current.value)  # type: ignore[attr-defined]
                self.assign(current.target, self.binding(current.value), current.value)  # type: ignore[attr-defined]
                continue
            elif kind is ast.Lambda:
                self._scoped(current.args, [current.body])  # type: ignore[attr-defined]
                continue
            elif kind is ast.Yield or kind is ast.YieldFrom:
                self.yielded(current)  # type: ignore[arg-type]
            elif kind in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
                self._comprehension(current)  # type: ignore[arg-type]
                continue
            for name in current._fields:
                value = getattr(current, name, None)
                for child in value if type(value) is list else (value,):
                    child_kind = type(child)
                    if child_kind is ast.Constant:
                        if type(child.value) is str:  # type: ignore[union-attr]
                            strings.append(child)  # type: ignore[arg-type]
                    elif child_kind not in _INERT and isinstance(child, ast.AST):
                        stack.append(child)

    def _scoped(self, args: ast.arguments, bodies: list[ast.expr]) -> None:
        saved = self.env
        self.env = dict(saved)
        for parameter in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if parameter is not None:
                self.env[parameter.arg] = hole(
                    parameter, self.origin, f"`{parameter.arg}` is a lambda parameter"
                )
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.scan(default)
        for body in bodies:
            self.scan(body)
        self.env = saved

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        saved = self.env
        self.env = dict(saved)
        for generator in node.generators:
            self.scan(generator.iter)
            self._comprehension_target(generator)
            for condition in generator.ifs:
                # (read whatever the target holds: `if await conn.fetchval(…)` is a call,
                # h33j — passed unread for a name over constants)
                self.scan(condition)
                walrus = condition.left if isinstance(condition, ast.Compare) else condition
                if isinstance(walrus, ast.NamedExpr) and isinstance(walrus.target, ast.Name):
                    # `if (q := "SELECT …")`: every item reaching what follows has set it (the
                    # name, bound in the function around, is not known after the
                    # comprehension: `_scan_scopes`)
                    self.env[walrus.target.id] = self.binding(walrus.value)
        if isinstance(node, ast.DictComp):
            self.scan(node.key)
            self.scan(node.value)
        else:
            self.scan(node.elt)
        self.env = saved

    def _comprehension_target(self, generator: ast.comprehension) -> None:
        """Binds what a comprehension's `for` gives its target, item by item."""
        target = generator.target
        if isinstance(target, ast.Name) and not generator.is_async:
            # `(fetch(q) for q in QUERIES)`: each item of constants, as a `for` gives it
            value = self.iteration(generator.iter)
            if not _unknown(value) or _yielded(value):
                # (`for q in statements()`: what the generator yields, read later)
                self.env[target.id] = value
                return
        columns = (
            self.unpacked(generator.iter, len(target.elts))
            if isinstance(target, ast.Tuple | ast.List)
            and all(isinstance(e, ast.Name) for e in target.elts)
            else None
        )
        if columns is not None:
            assert isinstance(target, ast.Tuple | ast.List)
            for element, value in zip(target.elts, columns, strict=True):
                assert isinstance(element, ast.Name)
                self.env[element.id] = value
            return
        for name in ast.walk(target):
            if isinstance(name, ast.Name):
                self.env[name.id] = hole(
                    name, self.origin, f"`{name.id}` is a comprehension variable"
                )


def _a_parameter(function: FunctionInfo, name: str) -> bool:
    """Whether a name is one of the function's parameters, its `*args` included."""
    vararg = function.node.args.vararg
    return name in function.parameters or (vararg is not None and vararg.arg == name)


def _field_default(value: ast.expr) -> ast.expr | None:
    """`default=` of a dataclass's `field(default="…")` (or `dataclasses.field`): the field's
    default (h36D: TG009 "computed at run time" for a constant); None for any other value."""
    if (
        isinstance(value, ast.Call)
        and (
            (isinstance(value.func, ast.Name) and value.func.id == "field")
            or (isinstance(value.func, ast.Attribute) and value.func.attr == "field")
        )
        and not value.args
    ):
        return next((k.value for k in value.keywords if k.arg == "default"), None)
    return None
