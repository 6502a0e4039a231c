"""The walker, whole: runs a module's body, then its functions' bodies (`run_module`,
`run_body`, `run_functions`), each with its parameters unknown; `analyze_module` runs one
module with it. Relies on `statements` and below (`ProjectIndex` for a type only).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from tenantguard.sources.pyflow.model import ClassRef, ImportedRef, InstanceRef, ModuleInfo, Sink
from tenantguard.sources.pyflow.names import expression_name
from tenantguard.sources.pyflow.statements import _Statements
from tenantguard.sources.pyflow.stores import _function_nonlocals
from tenantguard.sources.pyflow.syntax import _alias_of, _string_annotation
from tenantguard.sources.pyvalues import Lit, Origin, hole, union

if TYPE_CHECKING:
    from tenantguard.sources.pyflow.index import ProjectIndex
    from tenantguard.sources.pyflow.model import Binding, FunctionInfo


class _Walker(_Statements):
    """Runs one module's statements over abstract values (see the package docstring)."""

    # statements

    def run_module(self, tree: ast.Module) -> None:
        self.run_body(tree)
        self.run_functions()

    def run_body(self, tree: ast.Module) -> None:
        """The module's own statements: what its names hold once it is imported. A module that
        reads this one while it runs (an import cycle) sees the names bound so far, as in
        Python."""
        self._docstring(tree.body)
        for statement in tree.body:
            live = self.statement(statement)
            self.module.env = self.env  # a branch or a handler leaves its names in a new dict
            if not live:
                break

    def run_functions(self) -> None:
        """The function bodies, seeing the module's names as its body left them."""
        self._run_pending()
        for recorded in [*self.recorded.values(), *self.beside.values()]:
            owner = recorded.owner
            if isinstance(recorded, Sink):
                (owner.sinks if owner else self.module.sinks).append(recorded)
            else:
                (owner.calls if owner else self.module.calls).append(recorded)

    def _run_pending(self) -> None:
        index = 0
        while index < len(self.pending):  # bodies may define functions: the list grows
            info, outer = self.pending[index]
            index += 1
            self._run_function(info, outer)
        self.pending.clear()

    def _run_function(
        self, info: FunctionInfo, outer: list[tuple[dict[str, Binding], dict[str, Binding]]]
    ) -> None:
        saved = (self.env, self.ever, self.outer, self.function, self.loops, self.tries)
        saved_nonlocals, saved_filled, saved_initial = self.nonlocals, self.filled, self.initial
        self.env, self.ever, self.outer, self.filled = {}, {}, outer, frozenset()
        self.function, self.loops, self.tries = info, [], []
        self.nonlocals = _function_nonlocals(info)
        node = info.node
        args = node.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if args.vararg:
            every.append(args.vararg)
        if args.kwarg:
            every.append(args.kwarg)
        positional = [*args.posonlyargs, *args.args]
        defaults: dict[str, ast.expr] = {
            p.arg: d
            for p, d in zip(
                positional[len(positional) - len(args.defaults) :], args.defaults, strict=True
            )
        }
        defaults.update(
            (p.arg, d)
            for p, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
            if d is not None
        )
        for index, parameter in enumerate(every):
            name = parameter.arg
            if (
                index == 0
                and info.cls is not None
                and info.method_kind in ("method", "classmethod")
            ):
                ref = (
                    InstanceRef(info.cls)
                    if info.method_kind == "method"
                    else ClassRef(info.cls, any_subclass=True)
                )
                self.env[name] = ref
                continue
            literal = (
                None
                if parameter is args.vararg or parameter is args.kwarg
                else self.literal_values(parameter.annotation, self.module)
            )
            if literal is not None:
                # `sort: Literal["name", "created_at"]` (an alias of it, `| None`): the
                # literal's strings, each checked, and its default (helper 124: a TG009
                # warning on every typed sort parameter)
                default = defaults.get(name)
                if isinstance(default, ast.Constant) and all(
                    c.value != default.value for c in literal
                ):
                    literal.append(default)
                self.env[name] = union(
                    [
                        ((Lit(c.value, self.origin, c),),)
                        if isinstance(c.value, str)
                        else hole(
                            c,
                            self.origin,
                            f"`{name}` may be None",
                            kind="value",
                            string=False,
                            false=True,
                        )
                        for c in literal
                    ],
                    parameter,
                    self.origin,
                )
            elif parameter is args.vararg or parameter is args.kwarg:
                reason = f"`{name}` collects arguments of {info.name}()"
                self.env[name] = hole(parameter, self.origin, reason)
            elif _string_annotation(parameter.annotation):
                self.env[name] = hole(
                    parameter,
                    self.origin,
                    f"`{name}` is a parameter of {info.name}()",
                    param=name,
                    owner=info,
                )
            else:
                annotation = ast.unparse(parameter.annotation) if parameter.annotation else ""
                self.env[name] = hole(
                    parameter,
                    self.origin,
                    f"`{name}` is a parameter of {info.name}() ({annotation})",
                    kind="value",
                    string=False,
                )
        self.ever.update(self.env)  # the parameters, as closures defined in the body see them
        self.initial = dict(self.env)
        self._docstring(node.body)
        self.block(node.body)
        self.env, self.ever, self.outer, self.function, self.loops, self.tries = saved
        self.nonlocals, self.filled, self.initial = saved_nonlocals, saved_filled, saved_initial

    def literal_values(
        self, annotation: ast.expr | None, module: ModuleInfo, depth: int = 0
    ) -> list[ast.Constant] | None:
        """The constants a `Literal[…]` annotation allows (strings and None): `Literal["a",
        "b"]`, `typing.Literal`, `Literal[…] | None`, `Optional[…]`, `Union[…]`, `Annotated[…]`,
        a nested Literal, a string annotation, an alias (`Sort = Literal[…]`, here or
        imported). None
        when the annotation is anything else (`str` among them: any text)."""
        if annotation is None or depth > 8:
            return None
        node = annotation
        if isinstance(node, ast.Constant):
            if node.value is None:
                return [node]
            if isinstance(node.value, str):  # `"Literal['a']"`: a forward reference
                try:
                    parsed = ast.parse(node.value, mode="eval").body
                except (SyntaxError, ValueError):
                    return None
                return self.literal_values(parsed, module, depth + 1)
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left = self.literal_values(node.left, module, depth + 1)
            right = self.literal_values(node.right, module, depth + 1)
            if left is None or right is None:
                return None
            both = left + right
            return both if any(isinstance(c.value, str) for c in both) else None
        if isinstance(node, ast.Subscript):
            form = expression_name(node.value).rsplit(".", 1)[-1]
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if form == "Annotated" and items:  # `Annotated[Literal[…], Query()]`: the type
                return self.literal_values(items[0], module, depth + 1)
            out: list[ast.Constant] = []
            for item in items:
                if form == "Literal" and isinstance(item, ast.Constant):
                    if item.value is not None and not isinstance(item.value, str):
                        return None  # a number: not text
                    out.append(item)
                elif form in ("Literal", "Optional", "Union"):
                    found = self.literal_values(item, module, depth + 1)
                    if found is None:
                        return None
                    out.extend(found)
                else:
                    return None
            if form == "Optional":
                out.append(ast.copy_location(ast.Constant(None), node))
            return out if any(isinstance(c.value, str) for c in out) else None
        if isinstance(node, ast.Name):
            binding = module.env.get(node.id)
            if isinstance(binding, ImportedRef):
                path = self.index.resolve(binding.module)
                found_in = self.index.module(path) if path else None
                if found_in is None:
                    return None
                module, name = found_in, binding.name
            else:
                name = node.id
            alias = _alias_of(module.tree, name)
            return None if alias is None else self.literal_values(alias, module, depth + 1)
        return None


def _load(path: str, index: ProjectIndex) -> ModuleInfo | None:
    from tenantguard.sources.files import read_source  # its coding declaration, as Python

    text, _, _ = read_source(Path(path))
    if text is None:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return analyze_module(text, tree, index, path=path, functions=False)


def analyze_module(
    text: str,
    tree: ast.Module,
    index: ProjectIndex,
    *,
    path: str | None = None,
    display: str = "",
    functions: bool = True,
) -> ModuleInfo:
    """Runs a module's statements; its sinks, calls and strings are in the result. Without
    `functions`, only its body: the function bodies run when `index.finished` is asked."""
    if not display and path is not None:
        display = index.display(path)
    origin = Origin(text.splitlines(keepends=True), path, display)
    info = ModuleInfo(origin, tree)
    if path is not None:
        index.register(info)
    walker = _Walker(info, index)
    try:
        walker.run_body(tree)
        if functions:
            walker.run_functions()
        else:
            info.functions_pending = walker
    except RecursionError:
        info.sinks.clear()
        if path is not None:
            index.unfollowable(path)
        raise
    return info
