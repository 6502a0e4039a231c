"""Names and their values as Python computes them, and the calls that send SQL.

One pass over a module follows its statements in order, as the interpreter runs them: an
assignment replaces what a name held before; the bodies of `with`, `try`, `for` and `while` are
straight-line code; after an `if`, a name holds what either branch left in it (every such value
is checked); a loop runs until what its names can hold no longer grows. Function bodies run after
the module body (module constants are set by then), each with its parameters unknown.

Besides strings, a name can stand for a module (`import q`), a name of another module (`from q
import X`), a project function or class, an instance (`self`), or a database handle: a prepared
statement or cursor (their `fetch(…)` methods take values, not SQL) or a connection.

Calls recorded: SQL sinks (query methods, configured `sql_functions`) with the value of their SQL
argument, and calls of project functions and methods, whose arguments are kept until it is known
whether the callee passes a parameter unchanged into a sink (then the call is a sink too).

The package reads in layers, each a module that can be read alone (each one's docstring says
what it holds and what it relies on):

- `names`: the method and function names that send SQL, and the naming of receivers;
- `model`: the values a name can hold and the records a pass leaves (`Sink`, `Call`, …);
- `scan` and `changes`: the text pre-scan of a module (regular expressions over its source),
  and what code outside a name's scope may change, read from that text;
- `syntax`, `stores`, `loops`, `parameters`: questions asked of a module's tree — a piece of
  syntax, what the code changes, how loops and branches merge, how parameters reach SQL;
- the walker, one class in layers, each a subclass of the one below: `scopes` (state, name
  binding), `values` (string values of expressions), `texts` (calls that make text),
  `calls` (sinks, project calls, non-string bindings), `statements`, `walker` (runs a module:
  `analyze_module`);
- the project index, in layers too: `project` (files, texts, modules, imports) < `classes`
  (bases, attributes of classes and instances) < `index` (`ProjectIndex`: callees, returns,
  wrappers).

A module names `ProjectIndex` or `_Walker` below its layer for a type only (under
`TYPE_CHECKING`): no module imports one above it when it runs, but `project` (which runs a
module it loads) and `classes` (which evaluates an attribute's value) import `walker`.
"""

from __future__ import annotations

from tenantguard.sources.pyflow.changes import handed_changes
from tenantguard.sources.pyflow.index import ProjectIndex
from tenantguard.sources.pyflow.model import (
    Call,
    ClassInfo,
    Consulted,
    FunctionInfo,
    ModuleInfo,
    Sink,
    find_module,
)
from tenantguard.sources.pyflow.names import CERTAIN_METHODS, SQL_METHODS, expression_name
from tenantguard.sources.pyflow.parameters import completes_only, given_argument, sent_unchanged
from tenantguard.sources.pyflow.walker import analyze_module

__all__ = [
    "CERTAIN_METHODS",
    "SQL_METHODS",
    "Call",
    "ClassInfo",
    "Consulted",
    "FunctionInfo",
    "ModuleInfo",
    "ProjectIndex",
    "Sink",
    "analyze_module",
    "completes_only",
    "expression_name",
    "find_module",
    "given_argument",
    "handed_changes",
    "sent_unchanged",
]
