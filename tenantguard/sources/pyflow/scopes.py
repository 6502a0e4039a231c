"""The lowest layer of the walker: its state (the scopes of names, the function being run,
the loops and tries open, what was recorded) and name binding (`lookup`, `bind`).

The two upward calls of the layers are declared here: `items_of` (answered by `calls`) and
`call_value` (answered by `texts`). Relies on `loops` (`_merge`).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from tenantguard.sources.pyflow.loops import _merge

if TYPE_CHECKING:
    from tenantguard.sources.pyflow.index import ProjectIndex
    from tenantguard.sources.pyflow.loops import _Loop
    from tenantguard.sources.pyflow.model import (
        Binding,
        Call,
        ClassInfo,
        FunctionInfo,
        Items,
        ModuleInfo,
        Sink,
    )
    from tenantguard.sources.pyvalues import Value


class _Scopes:
    """State and scopes of names of one module's run (see the module docstring)."""

    def __init__(self, module: ModuleInfo, index: ProjectIndex) -> None:
        self.module = module
        self.origin = module.origin
        self.index = index
        self.env: dict[str, Binding] = module.env
        self.ever: dict[str, Binding] = module.ever
        self.outer: list[tuple[dict[str, Binding], dict[str, Binding]]] = []  # (env, ever)
        self.function: FunctionInfo | None = None
        self.cls_stack: list[ClassInfo] = []
        self.loops: list[_Loop] = []
        self.tries: list[dict[str, list[Binding]]] = []
        self.pending: list[
            tuple[FunctionInfo, list[tuple[dict[str, Binding], dict[str, Binding]]]]
        ] = []
        self.recorded: dict[int, Sink | Call] = {}  # by call id: a loop's last round wins
        # calls of a driver's method that a project method of that name may be (see on_call)
        self.beside: dict[int, Call] = {}
        self._synthetic: dict[int, ast.Call] = {}  # the call a `partial(…)` stands for
        self._partials_open: set[int] = set()  # the partials whose call is being read
        self._unwrapped_calls: dict[int, ast.Call] = {}  # the pandas call a getattr/partial makes
        self.depth = 0
        self.nonlocals: frozenset[str] = frozenset()  # names nested functions assign again
        # names a test showed to hold items, not bound since (`if not rows: return`, then
        # `for row in rows:` runs at least once)
        self.filled: frozenset[str] = frozenset()
        # the function's parameters as bound on entry (`for q in queries` of one unchanged)
        self.initial: dict[str, Binding] = {}

    # names

    def lookup(self, name: str) -> Binding | None:
        found = self.env.get(name)
        if found is not None:
            return found
        for _, ever in reversed(self.outer):
            found = ever.get(name)
            if found is not None:
                return found
        return None

    def bind(self, name: str, binding: Binding) -> None:
        self.env[name] = binding
        if name in self.filled:
            self.filled = self.filled - {name}
        before = self.ever.get(name)
        merged = binding if before is None else _merge(before, binding, self._node, self.origin)
        self.ever[name] = binding if merged is None else merged
        for assigned in self.tries:
            assigned.setdefault(name, []).append(binding)

    _node: ast.AST = ast.Pass()

    def _docstring(self, body: list[ast.stmt]) -> None:
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            self.module.docstrings.add(id(body[0].value))

    def unchanged_parameter(self, node: ast.expr) -> bool:
        """A name that still holds what the function's parameter of that name was given."""
        return (
            isinstance(node, ast.Name)
            and self.function is not None
            and node.id in self.function.parameters
            and node.id in self.initial
            and node.id not in self.nonlocals
            and self.env.get(node.id) is self.initial[node.id]
        )

    # answered by a higher layer: declared here, so that every layer may ask

    def items_of(self, node: ast.expr) -> Items | None:
        """The tuple, list or dict of constants an expression names (`_Calls.items_of`)."""
        raise NotImplementedError

    def call_value(self, node: ast.Call) -> Value:
        """What a call evaluates to (`_Texts.call_value`)."""
        raise NotImplementedError
