"""The project as the walker follows it: `ProjectIndex`, in layers (`project`: files and
modules; `classes`: classes and attributes; here: the callees of a call, what a function
returns, which functions wrap a sink or send nothing). The top of the package: relies on
`classes` and everything below it.
"""

from __future__ import annotations

import ast
import builtins
import itertools
from typing import TYPE_CHECKING

from tenantguard.sources.pyflow.classes import _Classes
from tenantguard.sources.pyflow.model import (
    _RETURN_DEPTH,
    _YIELDED,
    Call,
    ClassRef,
    FuncRef,
    ImportedRef,
    ModuleRef,
)
from tenantguard.sources.pyflow.names import _LIBRARY_SQL_METHODS, _LOG_METHODS, SQL_METHODS
from tenantguard.sources.pyflow.parameters import (
    _argument_for,
    _carries_parameters,
    _default,
    _default_expression,
    _positional,
    _substituted,
    joined_items,
    passed_parameters,
    sent_unchanged,
)
from tenantguard.sources.pyflow.stores import _function_nonlocals
from tenantguard.sources.pyflow.syntax import (
    _JOINED,
    _constant_value,
    _decorated,
    _definition_order,
    _generator,
)
from tenantguard.sources.pyvalues import MAX_ALTERNATIVES, Hole, hole, is_constant, union

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tenantguard.sources.pyflow.model import (
        Binding,
        ClassInfo,
        FunctionInfo,
        ModuleInfo,
        Reach,
        Sink,
    )
    from tenantguard.sources.pyvalues import Alternative, Lit, Origin, Value


class ProjectIndex(_Classes):
    """What the project defines, shared by every file of one run.

    What a file's findings depend on is the content of the project's files, never which files
    the run checks nor in which order (pre-commit passes the staged files, CI the tree):

    * `files` are the project's Python files (the configuration root's tree, walked as a check
      of it walks it), not the files named on the command line; the names of the functions they
      define are indexed in one pass over their text, on first need (a call of a method on an
      object of unknown class);
    * a module read for its names runs its body only; its function bodies run when a caller
      needs them (is this function a wrapper?), after every module body they read has run;
    * whether a function is a wrapper is worked out for each set of mutually recursive
      functions together, in the order of their definitions, not of the first question.

    Modules are read once per process and kept in a bounded cache: a module imported by many
    files is read once, not once per importer. A parallel check's forked workers inherit what
    the parent built before the fork, and build the rest once each.
    """

    # calls

    def callees(self, ref: FuncRef | ImportedRef) -> Callable[[], list[FunctionInfo]]:
        def resolve() -> list[FunctionInfo]:
            binding: Binding | None = ref
            if isinstance(binding, ImportedRef):
                binding = self.imported(binding)
            if isinstance(binding, ClassRef):  # `from .pages import Pages`, then `Pages(…)`
                return self.overrides(binding.info, "__init__", exact=True)()
            return [binding.info] if isinstance(binding, FuncRef) else []

        return resolve

    def method_callees(self, info: ClassInfo, name: str) -> Callable[[], list[FunctionInfo]]:
        def resolve() -> list[FunctionInfo]:
            order, complete = self.bases(info)
            for cls in order:
                if name in cls.methods:
                    return [cls.methods[name]]
            return self.named_callees(name, info.module)() if not complete else []

        return resolve

    def overrides(
        self, info: ClassInfo, name: str, *, exact: bool = False
    ) -> Callable[[], list[FunctionInfo]]:
        """The method a class finds by its name, and (unless the object is `exact`ly of that
        class) those of its subclasses in the same module; none when a base outside the
        project may come first."""

        def resolve() -> list[FunctionInfo]:
            order, complete = self.bases(info)
            found = next((cls.methods[name] for cls in order if name in cls.methods), None)
            if found is None or not (complete or name in info.methods):
                return []  # a base outside the project may define it first
            if exact:
                return [found]
            return [found, *(c.methods[name] for c in self._subclasses(info) if name in c.methods)]

        return resolve

    def returned(self, value: Value, depth: int = 0, seen: frozenset[int] = frozenset()) -> Value:
        """A value with the calls of project functions in it replaced by what they return
        (each `return` one alternative); a call whose returns are not all read stays a hole."""
        if not any(type(p) is Hole and p.returns is not None for a in value for p in a):
            return value
        out: list[tuple[Lit | Hole, ...]] = []
        for alternative in value:
            choices: list[Value] = []
            for part in alternative:
                given = self._given(part, depth, seen) if type(part) is Hole else None
                choices.append(given if given is not None else ((part,),))
            for combination in itertools.product(*choices):
                out.append(tuple(p for piece in combination for p in piece))
                if len(out) > MAX_ALTERNATIVES:
                    return value  # too many strings: the calls stay unknown
        return tuple(out)

    def _given(self, part: Hole, depth: int, seen: frozenset[int]) -> Value | None:
        if part.returns is None or depth >= _RETURN_DEPTH:
            return None
        targets = part.returns()  # type: ignore[operator]
        if not targets:
            return None
        values: list[Value] = []
        for info in targets:
            if id(info) in seen:
                return None  # a recursion: what it returns is not followed
            self.finished(info.module)
            if part.position == _YIELDED:  # an item of the generator it makes
                if not _generator(info.node) or _decorated(info.node) or not info.yields:
                    return None
                for value in info.yields.values():
                    # a parameter it yields (`yield BASE + extra`) holds what the call gives
                    # it, as for a return (round 28, outside review h28e: `gen(" OR true")`
                    # was only a warning)
                    value = self._filled(value, info, part, depth, seen, None)
                    values.append(self.returned(value, depth + 1, seen | {id(info)}))
                continue
            if _generator(info.node) or _decorated(info.node):
                return None
            if part.position is not None:  # an item of the tuples it returns
                if not info.tuple_returns:
                    return None
                for items in info.tuple_returns.values():
                    item = items[part.position] if part.position < len(items) else None
                    if item is None:
                        return None
                    # its parameters as the call gives them (`return f"{sql} LIMIT …", n`)
                    item = self._filled(item, info, part, depth, seen, None)
                    values.append(self.returned(item, depth + 1, seen | {id(info)}))
                continue
            if not info.returns:
                return None
            for key, value in info.returns.items():
                if self._not_taken(info, key, part):
                    continue  # `if not conds: return ""` where the call gives conds items
                guard = info.guarded_returns.get(key)
                value = self._filled(value, info, part, depth, seen, guard)
                values.append(self.returned(value, depth + 1, seen | {id(info)}))
        return union(values, part.node, part.origin)

    def _not_taken(self, info: FunctionInfo, key: int, part: Hole) -> bool:
        """Whether a `return` reached only when a parameter is empty (or only when it is not)
        is not reached by this call: it gives that parameter items (`where(PIN)`) (or none),
        and the function reads the parameter only to join it and to test it (its returns hold
        it as a joined hole)."""
        guard = info.guarded_returns.get(key)
        if guard is None or info.returns is None:
            return False
        name, when_empty = guard
        if not any(
            type(p) is Hole and p.owner is info and p.param == _JOINED + name
            for value in info.returns.values()
            for alternative in value
            for p in alternative
        ):
            return False
        call = _call_given(part, info)
        if call is None:
            return False
        given = joined_items(call, info, _positional(call, info), name)
        return given is not None and all((len(a) == 0) is not when_empty for a in given[1])

    def _filled(
        self,
        value: Value,
        info: FunctionInfo,
        part: Hole,
        depth: int,
        seen: frozenset[int],
        guard: tuple[str, bool] | None,
    ) -> Value:
        """What a function returns with each of its parameters it returns unchanged (a hole of
        that parameter: `return dedent(text).strip()`) given the call's argument for it, or
        its constant default, when that is constant; a parameter the call gives no sure
        argument for, or one only partly known, stays a hole."""
        if not any(
            type(p) is Hole and p.param is not None and p.owner is info for a in value for p in a
        ):
            return value
        # a parameter a nested function assigns again through `nonlocal` (`def add(): nonlocal
        # text; text += " OR true"`, then `add(); return text`) is not what the call gave
        # (round 28, outside review h28e: it was read as the argument)
        rebound = _function_nonlocals(info)
        call: Call | None = None
        unpacked = False
        if isinstance(part.given, tuple):
            unpacked = bool(part.given[3])
            call = _call_given(part, info)
            if call is None:
                return value  # which argument is `self` is not known: the parameter stays
        else:
            call = _call_given(part, info)  # a function's call that gives nothing
        out: list[Alternative] = []
        # the parameters its SQL starts with (`f"{sql} LIMIT …"`): a caller's own parameter
        # given there stands in their place (a wrapper of the caller's, see below); not one
        # inside its text (`"… WHERE " + where`: the helper builds SQL from it, TG009 there)
        completing = {
            name
            for name, alternatives in passed_parameters(value, info).items()
            if all(_starts_with(a, name, info) for a in alternatives)
        }
        for alternative in value:
            choices: list[Value] = []
            for piece in alternative:
                argument: Value | None = None
                if (
                    type(piece) is Hole
                    and piece.param is not None
                    and piece.owner is info
                    and piece.param not in rebound
                ):
                    found = (
                        None
                        if call is None
                        else _argument_for(
                            call,
                            info,
                            _positional(call, info),
                            piece.param,
                            # a return reached only when the joined parameter is empty (or is
                            # not): the lists the call may give that reach it
                            guard[1]
                            if guard is not None and piece.param == _JOINED + guard[0]
                            else None,
                        )
                    )
                    if found is not None:
                        argument = found[1]
                    elif not unpacked and (call is None or None not in call.positional):
                        # the call surely gives nothing for it: its default is what it holds
                        argument = _default(info, piece)
                    if argument is not None:
                        argument = self.returned(argument, depth + 1, seen | {id(info)})
                        if (
                            piece.param in completing
                            and piece.transform is None
                            and _a_callers_parameter(argument)
                        ):
                            # `paginate(sql, …)` in a wrapper `fetch_page(conn, sql)`: the
                            # caller's own parameter, whose callers' SQL is checked, stands
                            # where the helper puts it (h38D: TG009 "`sql` is a parameter of
                            # paginate()" inside a wrapper that only adds a tail)
                            pass
                        elif not all(is_constant(a) for a in argument):
                            # a part only known at run time: TG009 stays at the parameter,
                            # where the function leaves it to run time (as before)
                            argument = None
                        elif piece.transform is not None:  # `" ".join(text.split())`
                            argument = piece.transform(argument)
                choices.append(argument if argument is not None else ((piece,),))
            for combination in itertools.product(*choices):
                out.append(tuple(p for chosen in combination for p in chosen))
        return tuple(dict.fromkeys(out))

    def module_callees(
        self, ref: ModuleRef | ImportedRef, name: str
    ) -> Callable[[], list[FunctionInfo]]:
        def resolve() -> list[FunctionInfo]:
            if isinstance(ref, ImportedRef):
                target = self.imported(ref)
                if isinstance(target, ClassRef):  # `from m import Repo`: Repo.method(…)
                    return self.method_callees(target.info, name)()
            binding = self.attribute_of(ref, name)
            if isinstance(binding, ImportedRef):
                binding = self.imported(binding)
            if isinstance(binding, ClassRef):  # `pages.Pages(…)`: its constructor
                return self.overrides(binding.info, "__init__", exact=True)()
            return [binding.info] if isinstance(binding, FuncRef) else []

        return resolve

    def named_callees(
        self, name: str, module: ModuleInfo | None = None
    ) -> Callable[[], list[FunctionInfo]]:
        """A method called on an object of unknown class: every project method of that name."""

        def resolve() -> list[FunctionInfo]:
            self.prepare()
            assert self._defined is not None
            self._consulted_names.add(name)
            out: list[FunctionInfo] = []
            paths = sorted(set(self._defined.get(name, ())))
            if module is not None and module.path not in paths:  # a file outside the project
                out.extend(f for f in module.functions if f.name == name and f.cls is not None)
            for path in paths:
                info = self.module(path)
                if info is not None:
                    functions = self.finished(info).functions
                    out.extend(f for f in functions if f.name == name and f.cls is not None)
            return out

        return resolve

    def wrapper(self, info: FunctionInfo) -> dict[str, Reach]:
        """The parameters a function passes unchanged into a sink (directly, or through other
        project functions), with what they reach and whether that is certainly SQL.

        Functions that call each other (a strongly connected component of the call graph,
        found as Tarjan does) are settled together once the first of them to be asked is done:
        from nothing, in the order they are defined, until no answer grows. The answer is the
        same whichever of them was asked first.
        """
        if info.wrapper is not None:
            return info.wrapper
        key = id(info)
        if key in self._number:  # being worked out: what is known so far
            self._asked_again.add(key)
            return self._provisional.get(key, {})
        number = len(self._number)
        self._number[key] = self._low[key] = number
        self._unsettled.append(info)
        try:
            found = self._provisional[key] = self._wrapper_of(info)
            if self._low[key] < number:
                return found  # part of a recursion through a function asked before: settled there
            start = self._unsettled.index(info)
            members = self._unsettled[start:]
            if len(members) > 1 or key in self._asked_again:  # a recursion: settled together
                self._settle(sorted(members, key=_definition_order))
            # (a module read again while settling, evicted from the cache, may have added some)
            for member in self._unsettled[start:]:
                member.wrapper = self._provisional.get(id(member), {})
            self._forget(start)
            return info.wrapper if info.wrapper is not None else {}
        except BaseException:  # nothing half-worked-out stays to answer a later question
            if info in self._unsettled:
                self._forget(self._unsettled.index(info))
            raise

    def _settle(self, members: list[FunctionInfo]) -> None:
        """The answers of functions that call each other: from nothing, in a fixed order,
        until none grows."""
        for member in members:
            self._provisional[id(member)] = {}
        for _ in range(4 * len(members) + 4):  # answers only grow: a bound, not a guess
            changed = False
            for member in members:
                answer = self._wrapper_of(member)
                if answer != self._provisional[id(member)]:
                    self._provisional[id(member)] = answer
                    changed = True
            if not changed:
                return

    def _forget(self, start: int) -> None:
        """Drops what is kept about the unsettled functions from `start` on (settled now, or
        their question failed)."""
        for member in self._unsettled[start:]:
            key = id(member)
            self._number.pop(key, None)
            self._low.pop(key, None)
            self._provisional.pop(key, None)
            self._asked_again.discard(key)
        del self._unsettled[start:]

    def _wrapper_of(self, info: FunctionInfo) -> dict[str, Reach]:
        """One function's answer, given what its callees' answers are now."""
        self.finished(info.module)
        self._frames.append(id(info))
        try:
            found: dict[str, Reach] = {}

            def reaches(parameter: str, through: str, certain: bool, template: Value) -> None:
                known = found.get(parameter)
                if known is None:
                    found[parameter] = (through, certain, template)
                elif not set(template) <= set(known[2]):  # sent in several ways: each is one
                    merged = union((known[2], template), info.node, info.module.origin)
                    found[parameter] = (known[0], known[1], merged)

            # the functions its body defines send what they read of its parameters too (a
            # callback handed to a retry helper or a circuit breaker)
            inner = [info]
            if info.name == "__init__" and info.cls is not None:
                # its class's methods send what it keeps of its parameters (`self.query`)
                inner.extend(m for m in info.cls.methods.values() if m is not info)
            for function in inner:
                inner.extend(function.nested)
            for sink in (s for function in inner for s in function.sinks):
                # through a project helper's return too: `conn.fetch(paginate(sql, …))` (h38D)
                sent = self.returned(sink.value)
                for parameter, template in passed_parameters(sent, info).items():
                    reaches(parameter, sink.method, sink.certain, template)
            for call in (c for function in inner for c in function.calls):
                if not _carries_parameters(call, info):
                    continue  # none of its arguments holds one of them: whatever the callee does
                for callee, _, argument, (through, certain, _) in self.wrapped_arguments(call):
                    for own, template in passed_parameters(argument[1], info).items():
                        reaches(own, f"{callee.name}() -> {through}", certain, template)
            return found
        finally:
            self._frames.pop()

    def wrapped_arguments(
        self, call: Call, unpacked: Origin | None = None
    ) -> Iterator[tuple[FunctionInfo, str, tuple[ast.expr, Value], Reach]]:
        """(callee, its parameter, the argument given for it, what it reaches) for each
        parameter of a wrapper that this call fills. The argument's value is the SQL the
        callee sends with it: its template with the argument in the parameter's place, and
        the callee's other parameters there filled by what this call gives them.

        `unpacked` (the calling file): a parameter the call may fill from `*args` or
        `**kwargs` is given a value only known at run time, there (not left out)."""
        unpacks = unpacked is not None and (
            any(p is None for p in call.positional)
            or any(k.arg is None for k in call.call.keywords)
        )
        for callee in call.targets():
            wrapped = self.wrapper(callee)
            if self._frames and id(callee) in self._low:  # still unsettled: one recursion
                frame = self._frames[-1]
                self._low[frame] = min(self._low[frame], self._low[id(callee)])
            if not wrapped:
                continue
            positional = _positional(call, callee)
            for parameter, reach in wrapped.items():
                argument = _argument_for(call, callee, positional, parameter)
                if argument is None and unpacks and parameter not in call.keywords:
                    assert unpacked is not None
                    reason = f"the SQL {callee.name}() gets is unpacked from `*`/`**` arguments"
                    argument = (call.call, hole(call.call, unpacked, reason))
                if argument is None:
                    default = _default_expression(callee, parameter)
                    if default is None or isinstance(default, ast.Constant) or unpacks:
                        continue
                    # left out, its default sent: one computed when the function was made
                    # (`def run(conn, q=PREFIX[:21])`, h32g) is only known at run time
                    reason = f"the default of `{parameter}` in {callee.name}() is computed"
                    argument = (default, hole(default, callee.module.origin, reason))
                template = reach[2]
                if sent_unchanged(template):
                    yield callee, parameter, argument, reach
                    continue
                filled = {parameter: argument[1]}
                for alternative in template:
                    for part in alternative:
                        if (
                            type(part) is Hole
                            and part.owner is callee
                            and part.param is not None
                            and part.param not in filled
                        ):
                            other = _argument_for(call, callee, positional, part.param)
                            given = other[1] if other is not None else _default(callee, part)
                            if given is not None:
                                filled[part.param] = given
                value = _substituted(template, callee, filled, argument[0])
                yield callee, parameter, (argument[0], value), reach

    def sends_nothing(self, call: Call) -> bool:
        """Whether a call of a project method named like a driver's (`Shell().execute(text)`,
        the receiver's class known) surely sends nothing of its first argument as SQL: each
        callee is no wrapper, sends no SQL of its own, and hands what it is given (and any
        name made from it) only to what is outside the project (`subprocess.run`, `print`,
        a log call) or back by `return` — never to an object's attribute, a container, a
        callable it holds or one looked up by a name (h35D: such text was TG006 as a
        driver's SQL, `"update users and invoices …"`)."""
        if call.guessed or not call.positional or call.positional[0] is None:
            return False
        callees = call.targets()
        if not callees:
            return False
        for callee in callees:
            positional = _positional(call, callee)
            if not positional or self.wrapper(callee) or callee.sinks or callee.nested:
                return False
            if not self._keeps_to_itself(callee, positional[0]):
                return False
        return True

    def _keeps_to_itself(self, info: FunctionInfo, parameter: str) -> bool:
        """Whether a function hands its parameter (and what it makes of it) to nothing but
        callables from outside the project or a log call, or back by `return`."""
        body = list(ast.walk(info.node))
        tainted = {parameter}

        def uses(node: ast.AST | None) -> bool:
            return node is not None and any(
                isinstance(n, ast.Name) and n.id in tainted for n in ast.walk(node)
            )

        grown = True
        while grown:
            grown = False
            for node in body:
                value: ast.AST | None = None
                targets: list[ast.AST] = []
                if isinstance(node, ast.Assign):
                    value, targets = node.value, list(node.targets)
                elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
                    value, targets = node.value, [node.target]
                elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                    value, targets = node.iter, [node.target]
                elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                    value, targets = node.context_expr, [node.optional_vars]
                if not uses(value):
                    continue
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name) and name.id not in tainted:
                            tainted.add(name.id)
                            grown = True
        local = {
            n.id for n in body if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        } | set(info.parameters)
        for node in body:
            if isinstance(node, ast.Global | ast.Nonlocal) and tainted & set(node.names):
                return False
            if isinstance(node, ast.Yield | ast.YieldFrom | ast.Lambda) and uses(node):
                return False
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and uses(node.value):
                stored = node.targets if isinstance(node, ast.Assign) else [node.target]
                if not all(isinstance(t, ast.Name) for t in stored):
                    return False  # kept on an object or in a container: sent later, maybe
            if (
                isinstance(node, ast.Call)
                and (any(uses(a) for a in node.args) or any(uses(k.value) for k in node.keywords))
                and (
                    not self._outside_callable(node.func, info, local)
                    or (
                        not isinstance(node.func, ast.Name)  # (`print(…, file=self.out)`)
                        and not (
                            isinstance(node.func, ast.Attribute) and node.func.attr in _LOG_METHODS
                        )
                        and any(
                            self._a_sender(a, info)
                            for a in (*node.args, *(k.value for k in node.keywords))
                        )
                    )
                )
            ):
                return False
        return True

    def _a_sender(self, given: ast.expr, info: FunctionInfo) -> bool:
        """Whether an argument handed to a call beside the text is a callable that may send
        it: a driver's method (`asyncio.to_thread(self.pool.execute, command)`,
        `Thread(target=cur.execute, args=(command,))`), a project function, or what the object
        holds (`self.runner`: a method or a callable kept) — h35Q: the text reached the
        database through such a call in silence."""
        if isinstance(given, ast.Starred):
            given = given.value
        if isinstance(given, ast.Attribute):
            if given.attr in SQL_METHODS or given.attr in _LIBRARY_SQL_METHODS:
                return True
            # a method of the object, or a callable it holds (`self.runner`)
            return isinstance(given.value, ast.Name) and given.value.id in ("self", "cls")
        if isinstance(given, ast.Name):
            if given.id in SQL_METHODS:
                return True
            binding = info.module.env.get(given.id)
            return isinstance(binding, FuncRef | ClassRef | ImportedRef) and not (
                isinstance(binding, ImportedRef) and self.imported(binding) is None
            )
        return False

    def _outside_callable(self, func: ast.expr, info: FunctionInfo, local: set[str]) -> bool:
        """A built-in, a log call, or a callable reached through a module from outside the
        project (`subprocess.run`, `shlex.split`): not one that may send SQL."""
        if isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS:
            return True
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or root.id in local:
            return False
        binding = info.module.env.get(root.id)
        if binding is None:
            return isinstance(func, ast.Name) and hasattr(builtins, root.id)
        if isinstance(binding, ImportedRef):
            binding = binding.module
        if isinstance(binding, ModuleRef):
            return binding.level == 0 and self.resolve(binding) is None
        return False

    def built_statements(self, call: Call) -> Iterator[tuple[FunctionInfo, Sink, Value]]:
        """(callee, its sink, the SQL it sends) for each statement a callee of this call builds
        from parameters the call gives constants for: `exists(curs, "workspace", id)` where
        `exists(curs, tablename, _id)` sends `f'SELECT … FROM "{tablename}" WHERE id = …'`.
        A parameter inside the text is no wrapper's (its callee builds its SQL from it: TG009
        stays there), but the statement a constant makes of it is checked at the call, as a
        function's `return` is (before, a caller's `"workspace"` read the victim's rows
        unseen). Only the callee's own sinks, and only constants: a value known at run time
        is that function's TG009, not said again at each call."""
        for callee in call.targets():
            if not callee.sinks:
                continue
            wrapped = self.wrapper(callee)
            positional = _positional(call, callee)
            for sink in callee.sinks:
                if any(
                    type(part) is Hole and part.owner is callee and part.param in wrapped
                    for alternative in sink.value
                    for part in alternative
                ):
                    continue  # a wrapper's statement: checked at the call with all it is given
                filled: dict[str, Value] = {}
                for alternative in sink.value:
                    for part in alternative:
                        if (
                            type(part) is not Hole
                            or part.owner is not callee
                            or part.param is None
                            or part.param in filled
                        ):
                            continue
                        given = _argument_for(call, callee, positional, part.param)
                        if given is not None and _constant_value(given[1]):
                            filled[part.param] = given[1]
                if filled:
                    yield callee, sink, _substituted(sink.value, callee, filled, call.call)


def _call_given(part: Hole, info: FunctionInfo) -> Call | None:
    """The call a hole of a project call's result stands for, with the arguments it gives
    (`Hole.given`, None when it gives none), as `_argument_for` reads them; None when which
    argument is `self` is not known (a method's call that gives none too)."""
    given = part.given
    if given is None and info.method_kind in ("function", "staticmethod"):
        return Call(part.node, lambda: [], [], {}, None, False)  # type: ignore[arg-type]
    if not isinstance(given, tuple):
        return None
    bound, positional, keywords, _, known, sequences = given
    if not known and info.method_kind == "method":
        return None
    call = Call(
        part.node,  # type: ignore[arg-type]
        lambda: [],
        [None if v is None else (part.node, v) for v in positional],  # type: ignore[misc]
        {k: (part.node, v) for k, v in keywords},  # type: ignore[misc]
        None,
        bool(bound),
    )
    call.sequences.update(dict(sequences))
    return call


def _a_callers_parameter(value: Value) -> bool:
    """Whether a value is one whole parameter of a function, unchanged (a string one)."""
    if len(value) != 1 or len(value[0]) != 1:
        return False
    part = value[0][0]
    return type(part) is Hole and part.param is not None and part.string


def _starts_with(alternative: Alternative, parameter: str, owner: FunctionInfo) -> bool:
    """Whether a text starts with a parameter of `owner` (blanks aside)."""
    for part in alternative:
        if isinstance(part, Hole):
            return part.param == parameter and part.owner is owner
        if part.text.strip():
            return False
    return False
