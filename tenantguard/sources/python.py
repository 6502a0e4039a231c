"""SQL inside Python sources, found with the standard `ast` module.

What is checked (see `pyflow` for how names get their values):

* the SQL argument of a query method — `execute`, `executemany`, `fetch`, `fetchrow`, `fetchval`,
  `fetchmany`, `prepare`, `cursor`, `copy_from_query` (and `fetch_all`, `fetch_one`,
  `fetch_val`, `execute_many`, `exec_driver_sql`) on any receiver —, of the configured
  `sql_functions`, and of project functions and methods that pass a parameter unchanged into one
  of those (wrappers, found transitively); the table of `copy_to_table` /
  `copy_records_to_table`, whose `columns=` must include the tenant column;
* every value that can reach the argument: each constant is checked (every one must be proven);
  a value that is not constant is TG009;
* an f-string (or a `+`, `%`, `.format()` with a value known only at run time) is checked with
  each unknown part filled by neutral text fitting its place — a placeholder, a name, nothing —
  and a finding that holds for every fill that parses is reported inside the string; the unknown
  part itself is TG009;
* any other string literal (f-strings included) that starts like a query, names a tenant table
  and parses, wherever it stands — except in log and exception messages.

Not SQL: the methods of a prepared statement or asyncpg cursor (`stmt.fetchval(tenant)`,
`cur.fetch(100)`), a DB-API cursor's `fetchmany(n)`, and a constant at an unknown receiver's
`execute()` that does not start like SQL (GraphQL at `schema.execute()`).
"""

from __future__ import annotations

import ast
import dataclasses
import io
import itertools
import os
import re
import sys
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.findings import Finding, RuleInfo, Severity
from tenantguard.engine.rules import tg009_unresolved_dynamic_sql
from tenantguard.engine.sqltext import split_sql
from tenantguard.sources.files import python_migration
from tenantguard.sources.pyflow import (
    SQL_METHODS,
    Call,
    FunctionInfo,
    ModuleInfo,
    ProjectIndex,
    Sink,
    analyze_module,
    completes_only,
    expression_name,
    given_argument,
    sent_unchanged,
)
from tenantguard.sources.pyflow.names import _BUILT
from tenantguard.sources.pyflow.syntax import _joins_a_name
from tenantguard.sources.pyvalues import Hole, Lit, Origin, Part, Value, starts_like_sql
from tenantguard.sources.suppressions import (
    Suppression,
    covers,
    python_suppressions,
    sql_suppressions,
)

# a table's name, as pandas' read_sql reads it (not SQL)
_TABLE_NAME = lazy_pattern(r"[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?")

if TYPE_CHECKING:
    from tenantguard.engine.verdicts import Analyzer

# (sqlglot, and the rules that need it, are loaded when a statement must be analysed: a file
# whose verdicts all come from the store never loads them)

__all__ = ["QUERY_METHODS", "check_python_text"]

_UNPROVABLE = "TG006"  # tg006_unprovable_statement's code, known without loading it

QUERY_METHODS = SQL_METHODS

_MAX_VARIANTS = 8  # fills tried per alternative: beyond, each hole keeps its first fill
_PLACEHOLDER = "$99"  # a bind parameter: pins like any parameter (numbered per hole below)
_NAME = "tg_unknown"  # an identifier no tenant table is called
_NUMBERED = 60000  # `$60000`, `$60001`…: placeholders numbered at run time, by their order
_DOLLAR_END = lazy_pattern(r"(?<![\w$])\$\Z")  # a `$` that starts a placeholder


@dataclass(frozen=True, slots=True)
class _Segment:
    start: int
    end: int
    part: Part


class _Variant:
    """One filled text of an alternative, and where each of its characters comes from."""

    __slots__ = ("_segments", "fills", "parts", "text")

    def __init__(self, parts: Sequence[Part], fills: dict[int, str]) -> None:
        self.parts = parts
        self.fills = fills
        self._segments: list[_Segment] | None = None
        if len(parts) == 1 and type(parts[0]) is Lit:
            self.text = parts[0].text  # the common case: one constant
        else:
            self.text = "".join(
                p.text if type(p) is Lit else fills.get(i, "") for i, p in enumerate(parts)
            )

    def locate(self, offset: int) -> tuple[Part | None, int]:
        """The part at an offset of the text, and the offset inside it."""
        segments = self._segments
        if segments is None:
            segments = []
            start = 0
            for index, part in enumerate(self.parts):
                length = len(part.text if type(part) is Lit else self.fills.get(index, ""))
                segments.append(_Segment(start, start + length, part))
                start += length
            self._segments = segments
        if not segments:
            return None, 0
        best = segments[0]
        for segment in segments:
            if segment.start > offset:
                break
            if segment.end > segment.start or segment.start == offset:
                best = segment
        return best.part, offset - best.start


def _written(part: Part) -> str:
    """A hole as the code writes it: `{expression}` (shortened)."""
    try:
        text = ast.unparse(part.node) if isinstance(part.node, ast.expr) else ""
    except (ValueError, TypeError, AttributeError, RecursionError):
        text = ""
    text = " ".join(text.split())
    if not text:
        return "{…}"
    return "{" + (text if len(text) <= 40 else text[:37] + "...") + "}"


def _literal(replacement: str) -> str:
    """A replacement text for `re.sub`, taken as it is."""
    return replacement.replace("\\", "\\\\")


# psycopg's placeholders as psycopg finds them: anywhere in the text, quotes and comments
# included (`%%` is a percent sign; `%(name)s` a named one; any other `%` an error)
_PYFORMAT = lazy_pattern(r"%(?:%|\(|[sbt]|.|\Z)", re.DOTALL)
_NUMBERED_PARAMETER = lazy_pattern(r"\$\d")
# what may stand in a parameter tuple beside a repeated name: nothing that runs code of its
# own (a call, a walrus, a subscript's __getitem__…) between the two readings of the name
_PLAIN_ITEMS = (ast.Name, ast.Constant, ast.Attribute, ast.Load, ast.UnaryOp, ast.USub)


def _driver_params(call: ast.Call, argument: ast.expr, method: str) -> ast.expr | None:
    """What a DB-API `execute(query, params)` / `mogrify(query, params)` call sends as its
    query's parameters (psycopg: `params`, psycopg2: `vars`), or None."""
    if method not in (".execute()", ".mogrify()"):
        return None
    for index, given in enumerate(call.args):
        if given is argument:
            following = call.args[index + 1 : index + 2]
            if following and not isinstance(following[0], ast.Starred):
                return following[0]
            break
    return next((k.value for k in call.keywords if k.arg in ("params", "vars")), None)


def _param_keys(params: ast.expr) -> list[tuple[str, str] | None] | None:
    """For a tuple or list display of parameters, what each item surely is: the same name
    (read twice in one display, with nothing run between: the same object) or the same
    constant; None for an item told apart from no other. None when the display is not one."""
    if not isinstance(params, ast.Tuple | ast.List):
        return None
    keys: list[tuple[str, str] | None] = []
    for item in params.elts:
        if not all(isinstance(node, _PLAIN_ITEMS) for node in ast.walk(item)):
            return None
        if isinstance(item, ast.Name):
            keys.append(("name", item.id))
        elif isinstance(item, ast.Constant) and isinstance(item.value, str | int):
            keys.append(("constant", repr(item.value)))
        else:
            keys.append(None)
    return keys


_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def _binds(node: ast.AST, name: str) -> bool:
    """Whether a node binds `name` otherwise than as a `Name` (a nested function's or a
    lambda's parameter, `except … as`, a `match` capture, an import, a `def` or `class`)."""
    if isinstance(node, ast.arg):
        return node.arg == name
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
        return node.name == name
    if isinstance(node, ast.MatchMapping):
        return node.rest == name
    if isinstance(node, ast.alias):
        return (node.asname or node.name.split(".")[0]) == name
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name == name
    return False


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    """A function's own parameters, every kind."""
    arguments = function.args
    every = (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
    return [*every, *(a for a in (arguments.vararg, arguments.kwarg) if a is not None)]


def _read_once(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """Is `name` (a parameter of the function) read at one place of it and bound nowhere else
    in it — not even as a nested function's or a lambda's own parameter, whose reading of the
    name is not the function's (a parameter the function passes on unchanged)?"""
    own = {id(a) for a in _parameters(function)}
    seen = 0
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == name:
            seen += 1
        elif isinstance(node, ast.Global | ast.Nonlocal):
            if name in node.names:
                return False
        elif node is not function and id(node) not in own and _binds(node, name):
            return False
    return seen == 1


def _own_scope(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body that run in its own scope (not in a nested function,
    lambda, class or comprehension)."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))


def _fast_locals(owner: FunctionInfo | None, params: ast.expr) -> frozenset[str]:
    """The names a parameter display reads as local variables of the function it runs in:
    bound in its own scope and declared `global` or `nonlocal` nowhere in it (a module's or a
    closure's name may be rebound by another thread between the two readings — CPython
    switches threads in a property's call — or by that call itself)."""
    if owner is None:
        return frozenset()
    function = owner.node
    body = list(_own_scope(function))
    if not any(node is params for node in body):
        return frozenset()  # in a lambda or comprehension: a closure's name
    bound = {a.arg for a in _parameters(function)}
    for node in body:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
    declared: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
    return frozenset(bound - declared)


def _same_placeholders(
    text: str, keys: list[tuple[str, str] | None]
) -> tuple[str, frozenset[str]] | None:
    """The text with each `%s` that surely receives the same value as another `%s` (the same
    name or constant in the parameters) written `$1`…`$9`, one number per value: the same
    length, so every offset stays where it was (psycopg numbers nothing: `(club, club)` for two
    `%s` was two tenants, TG012). None when nothing is shared, or the text is not psycopg's
    positional form with as many placeholders as parameters."""
    places: list[tuple[int, str]] = []
    for match in _PYFORMAT.finditer(text):
        token = match.group()
        if token == "%%":
            continue
        if token not in ("%s", "%b", "%t"):
            return None  # `%(name)s`, or a `%` psycopg rejects
        places.append((match.start(), token))
    if len(places) != len(keys) or _NUMBERED_PARAMETER.search(text) is not None:
        return None
    groups: dict[tuple[str, str], list[int]] = {}
    for (start, token), key in zip(places, keys, strict=True):
        if key is not None and token == "%s":
            groups.setdefault(key, []).append(start)
    shared = [starts for starts in groups.values() if len(starts) > 1][:9]
    if not shared:
        return None
    chars = list(text)
    numbers: set[str] = set()
    for number, starts in enumerate(shared, 1):
        for start in starts:
            chars[start : start + 2] = f"${number}"
        numbers.add(f"${number}")
    return "".join(chars), frozenset(numbers)


def _unnumbered(text: str, numbers: frozenset[str]) -> str:
    """A message about a text `_same_placeholders` numbered, with `%s` where the code has it."""
    return re.sub(r"\$\d(?!\d)", lambda m: "%s" if m.group() in numbers else m.group(), text)


def _project_method(index: ProjectIndex, method: str) -> bool:
    """Whether a method of the project has the name of a driver's `.execute()` sink: called on
    an object of unknown class, it may be the project's, which may send other values."""
    return bool(index.named_callees(method.strip(".()"))())


def _sent_params(sink: Sink, index: ProjectIndex) -> list[tuple[str, str] | None] | None:
    """What the parameters sent with a sink's SQL surely are (see `_param_keys`); a name
    only when it is a local variable of the function the display runs in."""
    params = sink.params
    if params is None:
        params = _driver_params(sink.call, sink.argument, sink.method)
        if params is not None and _project_method(index, sink.method):
            return None
    keys = None if params is None else _param_keys(params)
    if keys is None or params is None:
        return None
    local = _fast_locals(sink.owner, params)
    return [None if k is not None and k[0] == "name" and k[1] not in local else k for k in keys]


def _passed_params(
    call: Call, callee: FunctionInfo, parameter: str, index: ProjectIndex
) -> ast.expr | None:
    """`fetch(conn, Q, (club, club))` where `fetch(conn, sql, args)` runs `cur.execute(sql,
    args)`: the parameters the call gives the driver through the wrapper (its SQL parameter
    and its parameters' parameter each read there only — the SQL sent once, with them — and
    passed on unchanged, under no decorator that may change them), or None."""
    if index.rewrapped(callee) or not _read_once(callee.node, parameter):
        return None
    for inner in callee.sinks:
        if not (isinstance(inner.argument, ast.Name) and inner.argument.id == parameter):
            continue
        sent = _driver_params(inner.call, inner.argument, inner.method)
        if sent is not None and _project_method(index, inner.method):
            return None
        if (
            isinstance(sent, ast.Name)
            and sent.id in callee.parameters
            and _read_once(callee.node, sent.id)
        ):
            return given_argument(call, callee, sent.id)
    return None


def _spoken(text: str, variant: _Variant) -> str:
    """A message about a filled text, naming each hole as the code writes it (`${len(args)}`,
    `{sort}`) rather than by its fill: the `$60000`s and `tg_unknown`s the check puts in
    its place are nowhere in the user's code (helper 124: TG012 "pins tenants to $60000")."""
    if not variant.fills or not text:
        return text
    names: set[str] = set()
    for index, fill in variant.fills.items():
        if not fill:
            continue
        written = _written(variant.parts[index])
        if fill == _NAME:
            names.add(written)
        elif fill.startswith("$"):  # a bind parameter standing for the hole
            text = re.sub(rf"(?<![\w$]){re.escape(fill)}(?!\d)", _literal(written), text)
        elif fill.isdigit():  # the number after a `$` written in the code
            text = re.sub(rf"(?<![\w]){re.escape(fill)}(?!\d)", _literal(written), text)
    if names and _NAME in text:
        name = names.pop() if len(names) == 1 else "{…}"
        text = re.sub(rf"\b{_NAME}\b", _literal(name), text)
    return text


def _fill_candidates(before: _Before, hole_: Hole, serial: int) -> list[str]:
    """Neutral texts for a hole, by what its place in the SQL (the text before it) asks for;
    `serial` numbers the holes of the text."""
    number = str(_NUMBERED + serial)  # each hole a parameter of its own: `{a} OR {b}` are two
    if hole_.kind in ("number", "integer") or (
        _DOLLAR_END.search(before.raw) and not before.quoted
    ):
        # `= $` + a number made at run time, numbered by its order in the text (not by its
        # line: baselines keep the text)
        return [number]
    return ["$" + number if fill == _PLACEHOLDER else fill for fill in _fills(before, hole_)]


def _fills(before: _Before, hole_: Hole) -> list[str]:
    if hole_.kind in ("value", "literal"):
        return [_PLACEHOLDER]
    if hole_.kind == "name":
        return [_NAME]
    if before.quoted:
        return [""]
    tail = before.stripped
    word = re.search(r"([A-Za-z_]+)\s*$", tail)
    # a word as long as the window is no keyword (its start is out of sight)
    last = word.group(1).lower() if word and (word.start() or len(tail) < _WINDOW) else ""
    if tail.endswith(".") or last in (
        "from",
        "join",
        "update",
        "into",
        "table",
        "truncate",
        "only",
    ):
        return [_NAME]
    if last in ("select", "distinct", "by"):
        return [_NAME, _PLACEHOLDER]
    if tail[-1:] in ("=", "<", ">", "(", ",", "+", "-", "*", "/", "%", "|", "[") or last in (
        "limit", "offset", "in", "like", "ilike", "between", "then", "else", "when", "values",
        "is", "any", "all", "where", "and", "or", "on", "having", "not", "set", "returning",
    ):  # fmt: skip
        return [_PLACEHOLDER, _NAME]
    if not tail:
        return [""]
    return ["", _NAME]


_WINDOW = 256  # characters of the text before a hole that its fill reads (a word, a `$`)
# where a quoted text, a quoted name or a comment ends, by what opened it
_CLOSER = {"'": "'", '"': '"', "--": "\n", "/*": "*/"}
_OPENER = lazy_pattern(r"'|\"|--|/\*")


class _Before:
    """The text before a hole, read once as holes are filled in order (helper h32k: each hole
    rescanned all the text before it, and an f-string of 20 000 holes took a minute): a
    window of its end, and whether that end is inside a quoted text or name, as
    SQL's quotes read it: `'…'`, `"…"`, `--` to the line's end, `/* … */` (a comment not
    yet closed is a comment here)."""

    __slots__ = ("carry", "opened_after", "raw", "state", "stripped")

    def __init__(self) -> None:
        self.raw = ""  # the last _WINDOW characters
        self.stripped = ""  # the last _WINDOW characters before trailing whitespace
        self.state = ""  # "": SQL; else the opener of the quote or comment the text is in
        self.carry = ""  # a last character that may begin an opener or closer with the next
        self.opened_after = ""  # the character before the opener of `state`

    @property
    def in_string(self) -> bool:
        """Whether the end is inside a string literal written `'…'` (not `E'…'`, whose
        backslashes escape: there digits after `\\` are an escape)."""
        return self.state == "'" and not (self.opened_after and self.opened_after in "eE$\\")

    @property
    def quoted(self) -> bool:
        return self.state in ("'", '"')

    def add(self, text: str) -> None:
        if text.strip():
            self.stripped = (self.raw + text.rstrip())[-_WINDOW:]
        full = self.raw + text
        self.raw = full[-_WINDOW:]
        text = self.carry + text
        offset = len(full) - len(text)  # where `text` starts in `full`
        self.carry = ""
        at = 0
        while at < len(text):
            if not self.state:
                found = _OPENER.search(text, at)
                if found is None:
                    self.carry = text[-1] if text[-1] in "-/" else ""
                    return
                self.state, at = found.group(), found.end()
                before = offset + found.start() - 1
                self.opened_after = full[before] if before >= 0 else ""
                continue
            end = text.find(_CLOSER[self.state], at)
            if end < 0:
                if self.state == "/*" and text.endswith("*") and len(text) - 1 >= at:
                    self.carry = "*"
                return
            at, self.state = end + len(_CLOSER[self.state]), ""


# what may stand right before an int formatted into SQL: it stays one number token, whatever
# its value (`= -5`, `(3`, `, 10`); not a letter, digit, `_`, `$` or `.` (it would become part
# of a name or another number: `logs_{n}`), nor `-` (`-{n}` with n < 0 starts a `--` comment)
_BEFORE_INTEGER = frozenset(" \t\r\n(,=<>[+*/")


def _fitting_integers(alternative: tuple[Part, ...]) -> set[int]:
    """The indexes of the integer holes (digits and perhaps a leading minus) of `alternative`
    that are one number token of the SQL, whatever their value: outside quotes, after a
    character of _BEFORE_INTEGER (or a placeholder's `$`), before none of a name or number, or
    inside a string literal. Then the int cannot change what the SQL says (it is filled as a
    number) and needs no TG009. Read in one pass (h32k: each hole rescanned the text before it, and `\"… IN (%d, %d, …)\" % (…)` of
    8 000 ints took 39 s)."""
    fitting: set[int] = set()
    before = _Before()
    candidates: list[int] = []
    for index, part in enumerate(alternative):
        if not isinstance(part, Hole):
            before.add(part.text)
            continue
        if part.kind not in ("number", "integer"):
            break  # text known at run time: where a later int stands is unknown
        if part.kind == "integer":
            text = before.raw
            placeholder = text.endswith("$") and (
                len(text) == 1 or not (text[-2].isalnum() or text[-2] in "_$")
            )
            if before.in_string:
                fitting.add(index)  # digits in a string literal: its text, a value
            elif text and (text[-1] in _BEFORE_INTEGER or placeholder) and not before.quoted:
                candidates.append(index)
        before.add("0")  # digits: no quote, no comment
    for index in candidates:
        for part in alternative[index + 1 :]:
            if not isinstance(part, Lit):
                break
            if part.text:
                first = part.text[0]
                if not (first.isalnum() or first in "_$.'\""):
                    fitting.add(index)
                break
        else:
            fitting.add(index)
    return fitting


def _variants(alternative: tuple[Part, ...]) -> list[_Variant]:
    holes = [i for i, p in enumerate(alternative) if type(p) is Hole]
    if not holes:
        return [_Variant(alternative, {})]
    before = _Before()
    options: list[list[str]] = []
    for part in alternative:
        if not isinstance(part, Hole):
            before.add(part.text)
            continue
        candidates = _fill_candidates(before, part, len(options))
        options.append(candidates)
        # a later hole reads its place after this one's first fill (`ORDER BY {a} {b}`: `b`
        # follows a name, not `BY`)
        before.add(candidates[0] if candidates and candidates[0] else " ")
    combinations: list[tuple[str, ...]] = []
    for combination in itertools.product(*options):
        combinations.append(combination)
        if len(combinations) >= _MAX_VARIANTS:
            break
    return [_Variant(alternative, dict(zip(holes, c, strict=True))) for c in combinations]


@dataclass
class _Checked:
    finding: Finding
    anchors: tuple[int, ...]
    # the call that sends text written away from it: (line, column) of its argument
    call: tuple[int, int] | None = None


class _ModuleCheck:
    """Turns one module's sinks and strings into findings."""

    def __init__(
        self,
        info: ModuleInfo,
        analyzer: Analyzer,
        index: ProjectIndex,
        unresolved_severity: Severity,
    ) -> None:
        self.info = info
        self.origin = info.origin
        self.analyzer = analyzer
        self.index = index
        self.severity = unresolved_severity
        self.out: list[_Checked] = []
        self.seen: set[tuple[int, int, str, str, str]] = set()
        # literals of this file sent to a call (by place: the text may come from another
        # reading of this file, through another module's value)
        self.consumed: set[tuple[int, int, int | None, int | None]] = set()
        self.reported_holes: set[tuple[int, str]] = set()
        self.same: dict[int, bool] = {}  # origin id -> is this file
        self.checked = 0
        # lines of the calls that send a query builder's statement (`select(Invoice)…`): no
        # SQL text to prove there, said in a note (h40D: never a silent pass)
        self.built: set[int] = set()
        # a free `+` of constants being checked: where text written in another module is said
        self.anchor: ast.AST | None = None
        # a constant of another module being checked at a call that sends it as it is: its
        # findings are that module's (`said_where_written`), said here only when a run does
        # not check that module (`Finding.read_from`)
        self.sending_written = False
        self._formatting: dict[int, ast.expr] | None = None
        # the values of the module's assignments, by id (a constant of its own: `_joined_part`)
        self._assigned_values: set[int] | None = None

    def run(self) -> None:
        for sink in self.sinks():
            self.sink(sink)
        for fold, value in self.info.folds:
            self.free_fold(fold, value)
        for node in self.info.strings:
            if type(node) is ast.Constant and not starts_like_sql(str(node.value), query_only=True):
                continue  # (what `free_alternative` asks first: a data module's strings)
            if (
                _place(node) in self.consumed
                or id(node) in self.info.messages
                or id(node) in self.info.docstrings
            ):
                continue
            self.free_string(node)
        self.out = _at_the_calls(self.out)

    def local(self, origin: Origin) -> bool:
        """Text of this file (read by this check, or before it by another module's)."""
        if origin is self.origin:
            return True
        known = self.same.get(id(origin))
        if known is None:
            known = self.same[id(origin)] = self.origin.same_file(origin)
        return known

    def sinks(self) -> Iterator[Sink]:
        functions: list[FunctionInfo | None] = [None, *self.info.functions]
        for function in functions:
            sinks = self.info.sinks if function is None else function.sinks
            calls = self.info.calls if function is None else function.calls
            yield from sinks
            for call in calls:
                wrapped = False
                for callee, parameter, (argument, value), (
                    through,
                    certain,
                    template,
                ) in self.index.wrapped_arguments(call, self.origin):
                    if call.beside_driver and sent_unchanged(template):
                        continue  # the driver's reading of the call, its own sink, says it
                    wrapped = True
                    called = callee.name
                    if called == "__init__" and callee.cls is not None:
                        called = callee.cls.name  # `Pages(pool, "SELECT …")`
                    method = f"{called}() (it passes it to {through})"
                    certain = certain and not call.guessed
                    params = _passed_params(call, callee, parameter, self.index)
                    yield Sink(call.call, argument, method, value, certain, function, params)
                for callee, built, value in self.index.built_statements(call):
                    method = f"{callee.name}() (it sends it to {built.method})"
                    yield Sink(
                        call.call, call.call, method, value, built.certain, function, built=True
                    )
                if (
                    not wrapped
                    and call.driver
                    and call.positional
                    and call.positional[0]
                    and not self.index.sends_nothing(call)
                ):
                    # a project method named like a driver's that is no wrapper the reader
                    # follows: its first argument, where it reads as SQL (as before round 28)
                    first, value = call.positional[0]
                    func = call.call.func
                    name = func.attr if isinstance(func, ast.Attribute) else "call"
                    yield Sink(call.call, first, f".{name}()", value, False, function)

    # sinks

    def sink(self, sink: Sink) -> None:
        returned = self.index.returned(sink.value)
        if returned is not sink.value:  # calls of project functions: what they return
            sink = dataclasses.replace(sink, value=returned)
        for alternative in sink.value:
            for part in alternative:
                if type(part) is Lit and part.node is not None and self.local(part.origin):
                    self.consumed.add(_place(part.node))
        unknown: list[Hole] = []  # values wholly computed at run time: said once per call
        owners: dict[int, frozenset[str]] = {}

        def completed(owner: object) -> frozenset[str]:
            if id(owner) not in owners:
                owners[id(owner)] = self.completed(sink, owner)
            return owners[id(owner)]

        for alternative in sink.value:
            if sink.built:
                # a callee's statement with this call's constants: its text is checked, what
                # it holds known only at run time is said in the callee
                skeleton = "".join(p.text if type(p) is Lit else " " for p in alternative)
                if starts_like_sql(skeleton):
                    self.checked += 1
                    self.statement_findings(alternative, sink, at_sink=True)
                continue
            if any(
                type(p) is Hole
                and p.param is not None
                and p.param in completed(p.owner)
                and completes_only(alternative, p.param, p.owner)
                for p in alternative
            ):
                continue  # a wrapper's SQL completed (`f"{query} LIMIT 50"`): checked at its calls
            if not any(type(p) is Lit and p.text.strip() for p in alternative):
                for part in alternative:
                    if type(part) is not Hole:
                        continue
                    if self.own_parameter(sink, part, whole=True):
                        continue  # a wrapper's parameter: its callers' SQL is checked
                    if sink.certain and part.string:
                        unknown.append(part)
                    elif not part.string and part.reason.endswith(_BUILT):
                        self.built.add(sink.call.lineno)
                continue
            skeleton = "".join(p.text if type(p) is Lit else " " for p in alternative)
            if (
                sink.method.endswith(".read_sql())") or sink.method in (".read_sql()", "read_sql()")
            ) and self.table_read(sink, alternative, skeleton):
                continue
            if not sink.certain and not starts_like_sql(skeleton):
                continue  # `schema.execute("query { … }")`: not SQL
            self.checked += 1
            if self.said_where_written(alternative):
                # a constant of another module, sent as it is: reported there, once, when the
                # run checks that module; here when it does not (a pre-commit run of this file
                # alone said "proven": s38) — each finding names where it is written
                self.sending_written = True
                try:
                    self.statement_findings(alternative, sink, at_sink=True)
                finally:
                    self.sending_written = False
                continue
            read = self.statement_findings(alternative, sink, at_sink=True)
            if not read and self._names_tenant_table(skeleton):
                self.unfillable(sink, skeleton)  # else the tenant check would pass in silence
            fitting = _fitting_integers(alternative)
            for at, part in enumerate(alternative):
                if (
                    type(part) is Hole
                    and part.kind not in ("number", "literal")
                    and not (part.kind == "integer" and at in fitting)
                    and not self.own_parameter(sink, part, whole=False)
                ):
                    self.unresolved(sink, part, whole=False)
        if unknown:
            first = unknown[0]
            if len(unknown) > 1:
                others = len({p.reason for p in unknown}) - 1
                if others:
                    reason = f"{first.reason} (and {others} other value{'s' * (others > 1)})"
                    first = Hole(first.node, first.origin, reason)
            self.unresolved(sink, first, whole=True)

    def table_read(self, sink: Sink, alternative: tuple[Part, ...], text: str) -> bool:
        """`load("tags")` where `load(q)` passes `q` to pandas' `read_sql(q, con)`: pandas reads
        the table of that name, as `read_sql("tags", con)` does (round 25: a wrapper's caller
        passing a table's name passed in silence, its text read as no SQL). Whether it is
        one."""
        if not all(type(p) is Lit for p in alternative) or not _TABLE_NAME.fullmatch(text.strip()):
            return False
        first = alternative[0]
        assert type(first) is Lit
        where: ast.AST = sink.call
        if first.node is not None and self.local(first.origin):
            where = first.node
        call = ast.copy_location(
            ast.Call(
                ast.Attribute(ast.Name("pandas", ast.Load()), "read_sql", ast.Load()),
                [ast.Constant(text.strip())],
                [],
            ),
            where,
        )
        call.end_lineno = getattr(where, "end_lineno", None)
        call.end_col_offset = getattr(where, "end_col_offset", None)
        for finding in _copy_findings([call], self.analyzer, self.origin, None):
            self.add(finding, (sink.call.lineno - 1, sink.call.lineno, finding.line - 1))
        return True

    def said_where_written(self, alternative: tuple[Part, ...]) -> bool:
        """A string constant of another module of the project (`from .queries import X`, a
        subclass's class attribute), sent unchanged: that module's check reads it as SQL standing
        alone and finds there all this call would find. It is said once, where it is written,
        not once more at each call (the check of this file alone does not show it then: the
        tree's check does, as it shows the constant's other faults)."""
        texts = [p for p in alternative if type(p) is Lit]
        part = texts[0] if texts else None
        if type(part) is not Lit or self.local(part.origin):
            return False
        if isinstance(part.node, ast.JoinedStr):
            # an f-string of a base class's method, `f"DELETE FROM {self.table} …"`, sent by a
            # subclass's: its fields filled by what they hold here, as that module's check
            # fills them with each subclass's (h38D: said there, and at `table = "items"`)
            ends = (texts[0], texts[-1])
            if any(p.node is not part.node or p.origin is not part.origin for p in ends):
                return False
        elif not isinstance(part.node, ast.Constant) or any(
            p.node is not part.node or p.origin is not part.origin for p in texts
        ):
            return False
        path = part.origin.path
        if path is None or not self.index.in_project(path):
            return False
        info = self.index.module(path)
        if info is None:
            return False
        said = self._alone(info).get(_place(part.node))
        if not said or _suppressed_near(info, part.node, {code for code, _, _ in said}):
            # a suppression there (`X = "SELECT …"  # tenantguard: ignore[TG001] -- admin
            # report`) is that module's reason for its own use: a call sending X from here is
            # another use, said here, where its own reason must be written (s38)
            return False
        probe = _ModuleCheck(info, self.analyzer, self.index, self.severity)
        if isinstance(part.node, ast.JoinedStr):
            probe.anchor = part.node  # where that module's check says it: at the f-string
        probe.statement_findings(alternative, None, at_sink=True)
        return {(c.finding.code, c.finding.line, c.finding.column) for c in probe.out} <= said

    def _alone(
        self, info: ModuleInfo
    ) -> dict[tuple[int, int, int | None, int | None], frozenset[tuple[str, int, int]]]:
        """What the check of another module finds at each literal it reads as SQL standing
        alone (none while that module's own check asks: an import cycle keeps both reports)."""
        key = id(self.analyzer)
        if key in info.alone:
            return info.alone[key]
        found: dict[tuple[int, int, int | None, int | None], frozenset[tuple[str, int, int]]] = {}
        info.alone[key] = found
        if info.path is None or python_migration(Path(info.path), "".join(info.origin.lines)):
            return found  # a schema source: read by other rules
        try:
            self.index.finished(info)
            other = _ModuleCheck(info, self.analyzer, self.index, self.severity)
            other.report_unresolved = False
            for sink in other.sinks():
                other.sink(sink)
            for fold, value in info.folds:
                # an f-string read with what its fields hold (`{self.table}` of each subclass)
                other.out = []
                other.seen = set()
                other.free_fold(fold, value)
                said = frozenset(
                    (c.finding.code, c.finding.line, c.finding.column) for c in other.out
                )
                if said:
                    found[_place(fold)] = said
            for node in info.strings:
                place = _place(node)
                if place in other.consumed or id(node) in info.messages:
                    continue
                if id(node) in info.docstrings:
                    continue
                other.out = []
                other.seen = set()
                other.free_string(node)
                said = frozenset(
                    (c.finding.code, c.finding.line, c.finding.column) for c in other.out
                )
                if said:
                    found[place] = said
        except RecursionError:
            found.clear()
        return found

    def unfillable(self, sink: Sink, skeleton: str) -> None:
        """TG006 at the SQL a call sends when no fill of its parts known at run time parses."""
        from tenantguard.engine.rules import tg006_unprovable_statement

        info = tg006_unprovable_statement.RULE
        node = sink.argument
        line, column = node.lineno, node.col_offset + 1
        end_line = node.end_lineno or line
        end_column = (node.end_col_offset or node.col_offset) + 1 if end_line == line else 1
        message = (
            f"cannot prove tenant isolation: the SQL passed to {sink.method} does not parse "
            "whatever its parts known at run time hold"
        )
        fix = "fix the SQL around the parts built at run time, or build it from constants"
        found = Finding(
            info.code, info.name, Severity.ERROR, message, fix, line, column, end_line,
            end_column, statement=" ".join(skeleton.split()),
        )  # fmt: skip
        self.add(found, (line - 1, line, sink.call.lineno - 1, sink.call.lineno))

    def completed(self, sink: Sink, owner: object) -> frozenset[str]:
        """The parameters of the function that sends it (or of its class's `__init__`, which
        keeps them on `self`) whose SQL it completes: the callers' SQL is checked with what
        it adds."""
        if not (
            isinstance(owner, FunctionInfo)
            and isinstance(sink.owner, FunctionInfo)
            and (owner is sink.owner or (owner.name == "__init__" and sink.owner.reads_from(owner)))
        ) or self.index.entry_point(owner):
            return frozenset()  # (a framework's handler: no caller of the project completes it)
        return frozenset(
            name
            for name, (_, _, template) in self.index.wrapper(owner).items()
            if not (len(template) == 1 and len(template[0]) == 1)
        )

    def own_parameter(self, sink: Sink, part: Hole, *, whole: bool) -> bool:
        """A parameter of the function that sends it: passed unchanged (a wrapper), or inside
        a function named in `sql_functions` (`query + " LIMIT %s"`); its callers are checked."""
        owner = sink.owner
        if part.param is None or not (
            isinstance(owner, FunctionInfo) and owner.reads_from(part.owner)
        ):
            return False
        if isinstance(part.owner, FunctionInfo) and self.index.entry_point(part.owner):
            return False  # a framework's handler: the SQL comes from outside (TG009)
        return whole or self.index.configured_function(sink.owner)

    report_unresolved = True

    def unresolved(self, sink: Sink, part: Hole, *, whole: bool) -> None:
        if not self.report_unresolved:
            return
        reported = (id(sink.call), part.reason)
        if reported in self.reported_holes:
            return  # one unknown reaching a call through several paths: said once
        self.reported_holes.add(reported)
        info = tg009_unresolved_dynamic_sql.RULE
        if (
            part.param is not None
            and isinstance(part.owner, FunctionInfo)
            and self.index.rewrapped(part.owner)
        ):
            part = part._replace(
                reason=f"{part.reason}, under a decorator that may call it with other arguments "
                "than its callers give"
            )
        elif (
            part.param is not None
            and isinstance(part.owner, FunctionInfo)
            and self.index.entry_point(part.owner)
        ):
            part = part._replace(
                reason=f"{part.reason}, a handler whose caller is not the project (it never "
                "calls it, or passes it on): its arguments come from outside"
            )
        node = sink.argument if whole or not self.local(part.origin) else part.node
        line, column = self.origin.node_position(node)
        end_line, end_column = self.origin.node_end(node)
        message = (
            f"SQL passed to {sink.method} cannot be proven: {part.reason}"
            if whole
            else f"part of the SQL passed to {sink.method} is only known at run time: {part.reason}"
        )
        self.add(
            Finding(
                info.code,
                info.name,
                self.severity,
                message,
                "pass a constant SQL string and bind every value as a parameter ($1, $2, …)",
                line,
                column,
                end_line,
                end_column,
            ),
            (sink.call.lineno - 1, sink.call.lineno, line - 1, line),
        )

    def add(
        self, finding: Finding, anchors: tuple[int, ...], call: tuple[int, int] | None = None
    ) -> None:
        key = (finding.line, finding.column, finding.code, finding.message, finding.help)
        if key in self.seen:
            return
        self.seen.add(key)
        self.out.append(_Checked(finding, tuple(sorted(set(anchors))), call))

    def statement_findings(
        self, alternative: tuple[Part, ...], sink: Sink | None, *, at_sink: bool
    ) -> bool:
        """Checks an alternative under every fill of its holes; reports what holds for all
        fills that parse. False when no fill parses as SQL."""
        common: dict[tuple[str, int, int], _Checked] | None = None
        filled = any(type(p) is Hole for p in alternative)
        unprovable = _UNPROVABLE
        params = None if sink is None else _sent_params(sink, self.index)
        for variant in _variants(alternative):
            found: dict[tuple[str, int, int], _Checked] = {}
            text, numbers = variant.text, frozenset[str]()
            if params:
                numbered = _same_placeholders(text, params)
                if numbered is not None:
                    text, numbers = numbered
            statements, _ = split_sql(text)
            parsed = bool(statements)
            for statement in statements:
                if not at_sink and not self.analyzer.verdict(statement.text).parsed:
                    parsed = False
                for finding in self.analyzer.statement_findings(statement.text, statement.error):
                    if filled and finding.code == unprovable and _syntax(finding):
                        parsed = False  # this fill does not fit: others decide
                        continue
                    if _suppressed_in_read_file(finding, statement.start, statement.text, variant):
                        continue  # (the file's own check says whether the suppression is used)
                    located = self.locate(finding, statement.start, statement.text, variant, sink)
                    if numbers:
                        said = located.finding
                        located.finding = dataclasses.replace(
                            said,
                            message=_unnumbered(said.message, numbers),
                            help=_unnumbered(said.help, numbers),
                        )
                    moved = located.finding
                    found.setdefault((moved.code, moved.line, moved.column), located)
            if not parsed:
                continue
            common = found if common is None else {k: v for k, v in common.items() if k in found}
        if common is None:
            return False
        for checked in common.values():
            self.add(checked.finding, checked.anchors, checked.call)
        return True

    def locate(
        self, finding: Finding, start: int, text: str, variant: _Variant, sink: Sink | None
    ) -> _Checked:
        begin = start + _offset_in(text, finding.line, finding.column)
        end = start + _offset_in(text, finding.end_line, finding.end_column)
        line, column, foreign = self.position(variant, begin, sink)
        end_line, end_column, _ = self.position(variant, max(begin, end), sink)
        if (end_line, end_column) < (line, column):
            end_line, end_column = line, column
        # where the text is written and which call sends it go in the help: line numbers in
        # the message would change a baseline's fingerprints with every edit above them
        message, fix = _spoken(finding.message, variant), _spoken(finding.help, variant)
        call: tuple[int, int] | None = None
        if foreign is not None:
            message += f" (in SQL from {foreign[0]})"
            fix += f" (the SQL is written at {foreign[1]})"
        elif sink is not None and not (
            sink.call.lineno <= line <= (sink.call.end_lineno or sink.call.lineno)
        ):  # text written away from the call: one finding per call that sends it
            fix += f" (this SQL is sent by {sink.method} at line {sink.call.lineno})"
            if _completed_at_the_call(variant, sink):
                # completed at the call (`PINNED + " OR …"`): said there when several calls
                # do so (`_at_the_calls`); text sent as it is stays said where written
                call = self.origin.node_position(sink.argument)
        read_from = self.read_at(variant, begin, start, len(text))
        if not read_from and self.sending_written:
            read_from = self.written_at(variant, begin)
            if foreign is None and read_from:
                # (text of this file filling another's f-string: said here, and there the
                # help names where: h39E)
                fix += f" (the SQL is written at {read_from})"
        anchors = {line - 1, line}
        statement_line, _, _ = self.position(variant, start, sink)
        anchors |= {statement_line - 1, statement_line}
        anchors |= self.literal_lines(variant, start, len(text))
        if sink is not None:
            anchors |= {sink.call.lineno - 1, sink.call.lineno}
            anchors |= {sink.argument.lineno - 1, sink.argument.lineno}
            # the call's last line: a suppression after its closing bracket, `)  # tenantguard:
            # ignore[…]` (a formatter's layout of a long call), covers it
            end = sink.call.end_lineno or sink.call.lineno
            if self.nothing_else_after(end, sink.call.end_col_offset):
                anchors |= {end - 1, end}
        moved = Finding(
            finding.code,
            finding.name,
            finding.severity,
            message,
            fix,
            line,
            column,
            end_line,
            end_column,
            finding.path,
            finding.statement,
            read_from,
            self.filled_from(variant),
        )
        return _Checked(moved, tuple(anchors), call)

    def filled_from(self, variant: _Variant) -> tuple[str, ...]:
        """The other files whose text a statement holds (`Finding.filled_from`): of its parts,
        the modules other than this one they are written in, and the files read (h40E: a
        condition of queries.py completing this file's `SELECT … WHERE `, the finding at this
        file's text, did not name queries.py)."""
        names: set[str] = set()
        for part in variant.parts:
            if not self.local(part.origin):
                names.add(part.origin.display)
            if type(part) is Lit and part.read_from is not None:
                names.add(self.index.display(part.read_from))
        return tuple(sorted(names))

    def written_at(self, variant: _Variant, offset: int) -> str:
        """For an offset in a constant of another module of the project, that module and the
        line there ("app/queries.py:3", relative to the project's root): where its own check
        says what this call's check finds (`said_where_written`). An f-string of a base class
        filled here (`f"DELETE FROM {self.table} …"`, `table = "items"`): that module says
        what falls in text written elsewhere at the f-string, as it says a subclass's (h39E:
        this file's line was named, and a run of this file alone said "proven")."""
        written = next((p for p in variant.parts if type(p) is Lit), None)
        if written is None or written.node is None:
            return ""
        path = written.origin.path
        if path is None or self.index.root is None:
            return ""
        part, inside = variant.locate(offset)
        if type(part) is Lit and part.origin is written.origin and part.node is not None:
            line = part.position(inside)[0]
        elif type(part) is Hole and part.origin is written.origin:
            line = written.origin.node_position(part.node)[0]
        else:
            line = written.origin.node_position(written.node)[0]
        relative = os.path.relpath(os.path.realpath(path), self.index.root)
        return f"{relative.replace(os.sep, '/')}:{line}"

    def read_at(self, variant: _Variant, offset: int, start: int, length: int) -> str:
        """For an offset in a statement that is all text of a file the program reads (`(SQL_DIR
        / "q.sql").read_text()`), that file and the line there, "app/sql/q.sql:1", when a
        check of the tree checks that file itself (the same statement, the same findings):
        the finding is said there, once (`files.check_file`, `walk.merge_read_files`). ""
        otherwise (text the code writes or completes, a file of the schema pipeline, a file
        the walk leaves out): said where Python sends it."""
        part, inside = variant.locate(offset)
        first, _ = variant.locate(start)
        last, _ = variant.locate(start + max(length - 1, 0))
        if first is not part or last is not part:
            return ""
        listed = self.index.checked_sql_files
        if (
            type(part) is not Lit
            or part.node is not None
            or part.read_from is None
            or listed is None
            or self.index.root is None
        ):
            return ""
        real = os.path.realpath(part.read_from)
        if real not in listed():
            return ""
        whole = self.index.read_file(part.read_from) or part.text
        line = whole[: part.offset + inside].count("\n") + 1
        return f"{os.path.relpath(real, self.index.root).replace(os.sep, '/')}:{line}"

    def literal_lines(self, variant: _Variant, start: int, length: int) -> set[int]:
        """The first and last lines of the string literal of this file that a statement is
        written in, when the statement is all it holds (blanks and a `;` aside), as anchors:
        a suppression alone on the line before `CLAIM = \"\"\"` — the line after it starts
        the statement, whose SQL starts a line lower — or after the closing quotes covers it
        (as ruff reads a multi-line string's `noqa`)."""
        part, inside = variant.locate(start)
        node = part.node if type(part) is Lit else None
        if (
            part is None
            or node is None
            or not isinstance(node, ast.Constant)
            or not isinstance(node.value, str)
            or not self.local(part.origin)
        ):
            return set()
        last, last_inside = variant.locate(start + max(length - 1, 0))
        if type(last) is not Lit or last.node is not node:
            return set()
        value = node.value
        assert type(part) is Lit
        if value[: part.offset + inside].strip() or value[last.offset + last_inside + 1 :].strip(
            " \t\r\n\f;"
        ):
            return set()  # (one statement of several in the literal: its own lines only)
        first, end = node.lineno, node.end_lineno or node.lineno
        if not self.nothing_else_after(end, node.end_col_offset):
            # a literal then `% {"days": N}  # tenantguard: …` or `.strip()  # …`: the
            # suppression after what formats the literal is the statement's (h39D: it was the
            # dict key's, TG011, and the statement's TG001 stayed)
            outer = self.formatting().get(id(node))
            if outer is None:
                return {first - 1, first}
            end = outer.end_lineno or outer.lineno
            if not self.nothing_else_after(end, outer.end_col_offset):
                return {first - 1, first}
        return {first - 1, first, end - 1, end}

    def formatting(self) -> dict[int, ast.expr]:
        """For each string literal of the module, by id, the outermost expression that only
        formats it: `%` with it on the left, `.format(…)`, `.strip()`, `.replace(…)` and
        other methods called on it, chained (`CLAIM.strip() % args` of a literal); made on
        first need."""
        if self._formatting is None:
            made: dict[int, ast.expr] = {}
            inner: dict[int, int] = {}  # an expression's id -> the literal's it formats
            tree = self.info.tree
            # children before their parents (a parent is walked before them): the outermost
            # expression of a chain is recorded last
            for node in reversed(list(ast.walk(tree))) if tree is not None else ():
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
                    held = node.left
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    held = node.func.value
                else:
                    continue
                if isinstance(held, ast.Constant) and isinstance(held.value, str):
                    inner[id(node)] = id(held)
                elif id(held) in inner:
                    inner[id(node)] = inner[id(held)]
                else:
                    continue
                made[inner[id(node)]] = node
            self._formatting = made
        return self._formatting

    def nothing_else_after(self, line: int, column: int | None) -> bool:
        """Whether the rest of a line after a call or literal ends holds no other string or
        call before its comment: a suppression after a literal's closing quotes followed by
        `, "stats": "SELECT …",  # …`, or after `); await conn.fetch(STATS)  # …`, was
        written for what follows on that line, not for
        the statement or call that ends there (round 28, outside review h28e: it silenced
        both)."""
        lines = self.origin.lines
        if column is None or not 0 < line <= len(lines):
            return False
        rest = lines[line - 1].encode("utf-8")[column:].decode("utf-8", errors="replace")
        code = rest.split("#", 1)[0]
        return not any(c in code for c in "'\"(")

    def position(
        self, variant: _Variant, offset: int, sink: Sink | None
    ) -> tuple[int, int, tuple[str, str] | None]:
        """(line, column, where) of an offset; `where` names the other module the text is
        written in, and the line there (the position is then the call's)."""
        part, inside = variant.locate(offset)
        if part is None:
            node: ast.AST = sink.argument if sink is not None else self.anchor or ast.Pass()
            line, column = self.origin.node_position(node)
            return line, column, None
        if not self.local(part.origin):
            shown = part.origin.display
            written = shown
            if type(part) is Lit and part.node is not None:
                written += f":{part.position(inside)[0]}"
            elif type(part) is Lit and part.read_from is not None:
                # text of a file another module reads (`QUERIES = {p.stem: p.read_text() …}`
                # in sql/__init__.py): named by that file and its line, not by the module
                # (h35G: "the SQL is written at replay/sql/__init__.py")
                shown = self.index.display(part.read_from)
                whole = self.index.read_file(part.read_from) or part.text
                written = f"{shown}:{whole[: part.offset + inside].count(chr(10)) + 1}"
            node = sink.argument if sink is not None else self.anchor or ast.Pass()
            line, column = self.origin.node_position(node)
            return line, column, (shown, written)
        if isinstance(part, Hole):
            line, column = self.origin.node_position(part.node)
            return line, column, None
        line, column = part.position(inside)
        return line, column, None

    # strings that are not at a sink

    def free_fold(self, node: ast.expr, value: Value) -> None:
        """Constant strings joined by `+` (or an f-string, a `.format` or `%` template read
        with the constants it holds) and sent nowhere the check knows: one string (its parts
        are no strings of their own), unless a call sent it."""
        # its own operands: a module constant it reads (`BASE + "WHERE …"`) may be sent alone
        # elsewhere (another module's call), and is checked where it is written as before
        inside = {id(n) for n in ast.walk(node)}
        # a join of a list kept in a name (`"\\n".join(parts)`, `head + " AND ".join(where)`):
        # its parts, written in the function that joins them, are no strings of their own —
        # when what it makes is a statement (a report's lines stay read one by one)
        scope = self._joining_function(node, value)
        places = [
            _place(p.node)
            for alternative in value
            for p in alternative
            if type(p) is Lit
            and p.node is not None
            and (id(p.node) in inside or (scope is not None and self._joined_part(p, scope)))
        ]
        if not places:
            # its value is not known piece by piece (too many alternatives): its literals are
            # checked one by one, as before constants were joined
            inner = {id(v) for v in _fstring_parts(node)}
            for operand in ast.walk(node):
                literal = isinstance(operand, ast.JoinedStr) or (
                    isinstance(operand, ast.Constant)
                    and isinstance(operand.value, str)
                    and id(operand) not in inner
                )
                if (
                    literal
                    and _place(operand) not in self.consumed
                    and id(operand) not in self.info.messages
                ):
                    self.free_string(operand)  # type: ignore[arg-type]
            return
        if all(place in self.consumed for place in places):
            return
        self.consumed.update(places)
        if any(id(n) in self.info.messages for n in ast.walk(node)):
            return  # prose of a log or error message
        self.anchor = node
        try:
            for alternative in value:
                self.free_alternative(alternative)
        finally:
            self.anchor = None

    def _joining_function(self, node: ast.expr, value: Value) -> ast.AST | None:
        """The function a free fold that joins a list kept in a name is written in, when
        every statement it may make starts like SQL (its parts are then read together)."""
        if not any(_joins_a_name(n) for n in ast.walk(node)):
            return None
        for alternative in value:
            skeleton = "".join(p.text if type(p) is Lit else " " for p in alternative)
            if not starts_like_sql(skeleton, query_only=True):
                return None
        around = [f.node for f in self.info.functions if _within(node, f.node)]
        if around:
            return min(around, key=lambda f: (f.end_lineno or 0) - f.lineno)
        # at the module's top (`SQL = " ".join(_PARTS)`): its parts written there in a list
        # or a call, not a constant of their own (`BASE = "SELECT …"` may be sent alone)
        return self.info.tree

    def _joined_part(self, part: Lit, scope: ast.AST) -> bool:
        """A literal of this file that a join written in `scope` reads as one of its parts."""
        node = part.node
        if node is None or not self.local(part.origin):
            return False
        if scope is not self.info.tree:
            return _within(node, scope)
        if any(_within(node, f.node) for f in self.info.functions):
            return False
        if self._assigned_values is None:
            tree = self.info.tree
            self._assigned_values = {
                id(statement.value)
                for statement in (ast.walk(tree) if tree is not None else ())
                if isinstance(statement, ast.Assign | ast.AnnAssign)
            }
        return self.info.tree is not None and id(node) not in self._assigned_values

    def free_string(self, node: ast.Constant | ast.JoinedStr) -> None:
        if isinstance(node, ast.Constant):
            text = str(node.value)
            alternative: tuple[Part, ...] = (Lit(text, self.origin, node),)
        else:
            parts: list[Part] = []
            offset = 0
            for value in node.values:
                if isinstance(value, ast.Constant):
                    parts.append(Lit(str(value.value), self.origin, node, offset))
                    offset += len(str(value.value))
                elif isinstance(value, ast.FormattedValue):
                    parts.append(Hole(value.value, self.origin, "a field of an f-string"))
            alternative = tuple(parts)
        self.free_alternative(alternative)

    def free_alternative(self, alternative: tuple[Part, ...]) -> None:
        skeleton = "".join(p.text if type(p) is Lit else " " for p in alternative)
        if not starts_like_sql(skeleton, query_only=True) or not self._names_tenant_table(skeleton):
            return
        if _PROSE.match(skeleton) or _SENTENCE.fullmatch(skeleton):
            # "Update levels from the dashboard": sqlglot reads it, PostgreSQL would not;
            # "Delete from comments done" (a response body, a chat reply, an argparse help):
            # a sentence — its first word capitalized, no operator, list, call or parameter
            return
        if not self._reads_as_sql(alternative):
            return
        self.checked += 1
        self.statement_findings(alternative, None, at_sink=False)

    def _names_tenant_table(self, text: str) -> bool:
        lowered = text.lower()
        return any(t in text or t.lower() in lowered for t in self.analyzer.tenant_tables)

    def _reads_as_sql(self, alternative: tuple[Part, ...]) -> bool:
        """A free string counts as SQL when one of its fills parses as a statement sqlglot
        understands (not an opaque `Command`, not a bare expression)."""
        for variant in _variants(alternative):
            statements, _ = split_sql(variant.text)
            if not statements or statements[0].error:
                continue
            verdict = self.analyzer.verdict(statements[0].text)
            if not verdict.parsed or not verdict.touches_tenant_tables:
                continue
            if any(f.code != _UNPROVABLE for f in verdict.findings):
                return True  # rules other than TG006 read a tree sqlglot understood
            if not verdict.findings:
                return True
            from sqlglot import exp

            from tenantguard.engine.analyze import parse_statement

            tree, _, _, _ = parse_statement(statements[0].text)
            if tree is not None and not isinstance(tree, exp.Command):
                return True
        return False


# what sqlglot accepts and PostgreSQL does not, as prose often reads: an UPDATE with no SET
# (`UPDATE levels SET  FROM the AS dashboard`) or with no `=` after it (h35G: a test's
# `"UPDATE sessions SET is_starred"`, the start of what it expects), a DELETE with no FROM (MySQL's `DELETE t FROM
# …`); a loose string so written is a sentence, not SQL (at a call, SQL is read as it is sent)
_SENTENCE = lazy_pattern(r"\s*[A-Z][a-z]+\s[^*=(),;$%?:'\"\n\\{}\[\]<>|]*")
_PROSE = lazy_pattern(
    r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*\(*\s*(?:update\b(?![\s\S]*\bset\b[\s\S]*=)|delete\s+(?!from\b))",
    re.IGNORECASE | re.DOTALL,
)


def _fstring_parts(node: ast.AST) -> list[ast.AST]:
    """The constant parts of the f-strings inside a node (read with their f-string)."""
    return [
        value
        for inner in ast.walk(node)
        if isinstance(inner, ast.JoinedStr)
        for value in inner.values
        if isinstance(value, ast.Constant)
    ]


def _completed_at_the_call(variant: _Variant, sink: Sink) -> bool:
    """Whether text written in the call itself (a literal of its argument) completes the SQL."""
    first, last = sink.call.lineno, sink.call.end_lineno or sink.call.lineno
    return any(
        type(part) is Lit
        and part.text.strip()
        and isinstance(part.node, ast.Constant | ast.JoinedStr)
        and first <= part.node.lineno <= last
        for part in variant.parts
    )


_SENT_BY = lazy_pattern(r" \(this SQL is sent by .+ at line \d+\)$")


def _at_the_calls(found: list[_Checked]) -> list[_Checked]:
    """One text written away from the calls that send it (a module's constant completed at
    each: `PINNED + " OR uses > 100"`) found at fault by several: each finding said at its
    call, not all at the text (helper 111: seven findings on one line); one call's stays at
    the text, which it names."""
    where: dict[tuple[str, int, int, str], int] = {}
    for checked in found:
        if checked.call is not None:
            f = checked.finding
            key = (f.code, f.line, f.column, f.message)
            where[key] = where.get(key, 0) + 1
    if not any(count > 1 for count in where.values()):
        return found
    out = []
    for checked in found:
        f = checked.finding
        if checked.call is None or where.get((f.code, f.line, f.column, f.message), 0) < 2:
            out.append(checked)
            continue
        line, column = checked.call
        fix = _SENT_BY.sub("", f.help) + f" (the text it flags is written at line {f.line})"
        moved = dataclasses.replace(
            f, help=fix, line=line, column=column, end_line=line, end_column=column + 1
        )
        out.append(_Checked(moved, tuple(sorted({*checked.anchors, line - 1, line}))))
    return out


_READ_FILE_SUPPRESSIONS: dict[str, list[Suppression]] = {}


def _suppressed_near(info: ModuleInfo, node: ast.AST, codes: set[str]) -> bool:
    """Whether the module holding `node` (a literal sent from another module) has a suppression
    of one of `codes` for the whole file, or on the literal's lines or the line before them."""
    text = "".join(info.origin.lines)
    if "tenantguard" not in text:
        return False
    first = getattr(node, "lineno", 0)
    last = getattr(node, "end_lineno", None) or first
    return any(
        s.codes & codes and (s.whole_file or first - 1 <= s.line <= last)
        for s in python_suppressions(text)
    )


def _suppressed_in_read_file(finding: Finding, start: int, text: str, variant: _Variant) -> bool:
    """Whether a finding in text a file of the project gave (`(SQL_DIR / "x.sql").read_text()`:
    a literal of no node) is covered by a suppression written in that text, `-- tenantguard:
    ignore[TG001] -- reason`, as the file's own check reads it: the same statement is
    suppressed where the program reads it too."""
    begin = start + _offset_in(text, finding.line, finding.column)
    part, inside = variant.locate(begin)
    if type(part) is not Lit or part.node is not None or "tenantguard" not in part.text:
        return False
    held = part.text
    found = _READ_FILE_SUPPRESSIONS.get(held)
    if found is None:
        if len(_READ_FILE_SUPPRESSIONS) >= 256:
            _READ_FILE_SUPPRESSIONS.clear()
        _, comments = split_sql(held)
        found = sql_suppressions(((c.text, c.line, c.column) for c in comments), held)
        _READ_FILE_SUPPRESSIONS[held] = found
    if not found:
        return False
    line = held.count("\n", 0, inside) + 1
    statement_part, statement_inside = variant.locate(start + len(text) - len(text.lstrip()))
    first = held.count("\n", 0, statement_inside) + 1 if statement_part is part else line
    located = dataclasses.replace(finding, line=line, end_line=line)
    anchors = (first - 1, first, line - 1, line)
    return any(s.reason and finding.code in s.codes and covers(s, located, anchors) for s in found)


def _within(node: ast.AST, outer: ast.AST) -> bool:
    """Whether a node is written inside another (by their positions in one file)."""
    start = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
    first = (getattr(outer, "lineno", 0), getattr(outer, "col_offset", 0))
    end = (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)
    last = (getattr(outer, "end_lineno", 0) or 0, getattr(outer, "end_col_offset", 0) or 0)
    return first <= start and end <= last


def _place(node: ast.AST) -> tuple[int, int, int | None, int | None]:
    return (
        getattr(node, "lineno", 0),
        getattr(node, "col_offset", 0),
        getattr(node, "end_lineno", None),
        getattr(node, "end_col_offset", None),
    )


def _syntax(finding: Finding) -> bool:
    return (
        "parse" in finding.message or "tokenize" in finding.message or "syntax" in finding.message
    )


def _offset_in(text: str, line: int, column: int) -> int:
    offset = 0
    for _ in range(line - 1):
        newline = text.find("\n", offset)
        if newline < 0:
            return len(text)
        offset = newline + 1
    return min(len(text), offset + column - 1)


def _finding_at(node: ast.AST, origin: Origin, rule: RuleInfo, message: str, help: str) -> Finding:
    """A finding of `rule` spanning `node` in the file."""
    line, column = origin.node_position(node)
    end_line, end_column = origin.node_end(node)
    return Finding(
        rule.code, rule.name, rule.severity, message, help, line, column, end_line, end_column
    )


# the pandas/polars calls whose table named at run time is TG009 (asyncpg's and psycopg2's
# copies of a table a helper is given stay unsaid, as before)
_FRAME_SINKS = frozenset({"read_sql_table", "to_sql", "write_database"})
# asyncpg's copies of a table (their names are asyncpg's own)
_ASYNCPG_COPIES = frozenset({"copy_to_table", "copy_records_to_table", "copy_from_table"})


def _source_of(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _copy_findings(
    calls: list[ast.Call],
    analyzer: Analyzer,
    origin: Origin,
    unresolved: Severity | None = Severity.WARNING,
) -> Iterator[Finding]:
    """`copy_to_table(table, columns=[…])`: a tenant table needs the tenant column listed.
    `copy_from_table(table, …)` (asyncpg) and `copy_to(file, table)` (psycopg2) write out
    every tenant's rows, as `COPY table TO` does.

    asyncpg quotes the table and column names it is given: they are matched exactly.
    """
    if not calls:
        return
    from tenantguard.engine.rules import tg002_insert_without_tenant, tg005_whole_table_operation

    info = tg002_insert_without_tenant.RULE
    policy = analyzer.policy
    for call in calls:
        method = expression_name(call.func) or "copy"
        psycopg2 = method in ("copy_from", "copy_to")  # (file, table, …)
        keyword = "table" if psycopg2 else ("name" if method == "to_sql" else "table_name")
        write = method in ("to_sql", "write_database")
        position = 1 if psycopg2 else 0
        table = (
            call.args[position]
            if len(call.args) > position
            and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1])
            else next((k.value for k in call.keywords if k.arg == keyword), None)
        )
        if not (isinstance(table, ast.Constant) and isinstance(table.value, str)):
            if (
                table is not None
                and unresolved is not None
                and (
                    method in _ASYNCPG_COPIES
                    or (
                        method in _FRAME_SINKS
                        and (
                            len(call.args) >= 2
                            or any(k.arg in ("con", "connection", "uri") for k in call.keywords)
                        )
                    )
                )
            ):  # given a connection, as pandas' and polars' are (not `ibis.to_sql(expr)`)
                # round 25: a pandas/polars table named at run time passed in silence; h35G:
                # so did asyncpg's `copy_records_to_table(table, …)`
                info9 = tg009_unresolved_dynamic_sql.RULE
                yield dataclasses.replace(
                    _finding_at(
                        table,
                        origin,
                        info9,
                        f"the table {method}() is given cannot be proven: "
                        f"`{_source_of(table)}` is only known at run time",
                        "name the table by a constant, or read a query pinned to one tenant",
                    ),
                    severity=unresolved,
                )
            continue
        name = table.value.split(".")[-1]
        if not policy.is_tenant_table(name):
            continue
        if method in ("copy_from_table", "copy_to", "read_sql_table", "read_sql"):
            yield _finding_at(
                call,
                origin,
                tg005_whole_table_operation.RULE,
                f"{method}() of tenant table {name} moves every tenant's rows",
                (
                    f'read a query pinned to one tenant instead: read_sql(text("SELECT … FROM '
                    f'{name} WHERE {policy.tenant_column} = :t"), con, params={{"t": tenant}})'
                    if method.startswith("read_sql")
                    else f"copy a query pinned to one tenant instead: copy_from_query("
                    f'"SELECT … FROM {name} WHERE {policy.tenant_column} = $1", tenant, …) or '
                    "COPY (SELECT …) TO"
                ),
            )
            continue
        if write:
            yield _finding_at(
                call,
                origin,
                info,
                f"{method}() into tenant table {name} writes the frame's rows with whatever "
                f"{policy.tenant_column} they hold: none is pinned to one tenant",
                f"insert the rows with an INSERT that sets {policy.tenant_column} = $n "
                "(executemany), or copy_records_to_table with the tenant in every record",
            )
            continue
        columns = next((k.value for k in call.keywords if k.arg == "columns"), None)
        names: list[str] | None = None
        if isinstance(columns, ast.List | ast.Tuple) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in columns.elts
        ):
            names = [str(e.value) for e in columns.elts if isinstance(e, ast.Constant)]
        if names is not None and policy.tenant_column in names:
            continue
        what = (
            "lists no columns"
            if columns is None
            else (
                f"does not list {policy.tenant_column}"
                if names is not None
                else "has columns computed at run time"
            )
        )
        yield _finding_at(
            call,
            origin,
            info,
            f"{method}() into tenant table {name} {what}",
            f"pass columns=[..., {policy.tenant_column!r}, ...] and the tenant in every record",
        )


def check_python_text(
    text: str,
    analyzer: Analyzer,
    *,
    unresolved_severity: Severity = Severity.WARNING,
    path: str | None = None,
    index: ProjectIndex | None = None,
    schema_source: bool = False,
    built: list[int] | None = None,
) -> tuple[list[Finding], int, list[tuple[int, ...]]]:
    """(findings, SQL strings checked, anchor lines per finding) of one Python source.

    A schema source (a migration) sends DDL and maintenance SQL built as it likes: no TG009.
    `built`, when given, receives the lines of the calls that send a query builder's
    statement (`session.execute(select(Invoice).where(…))`): no text there to prove.
    """

    def unprovable(message: str, fix: str, line: int = 1, column: int = 1) -> Finding:
        from tenantguard.engine.rules import tg006_unprovable_statement

        info = tg006_unprovable_statement.RULE
        return Finding(
            info.code, info.name, Severity.ERROR, message, fix, line, column, line, column
        )

    literals_only = False
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        # a project on a newer Python (PEP 701 f-strings, PEP 695 `type X = …`) must not read
        # as its own mistake; its string literals are still checked, each standing alone (as
        # any literal that reads as SQL is), from the file's tokens
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        fix = "fix the syntax error; a newer Python's syntax needs tenantguard installed on that Python"
        literals = _literals_of_tokens(text)
        what = (
            "only its string literals are checked, each standing alone"
            if literals is not None and literals.body
            else "the SQL in this file cannot be checked"
        )
        message = f"cannot parse Python as Python {version} reads it ({error.msg}): {what}"
        found = unprovable(message, fix, error.lineno or 1, error.offset or 1)
        if literals is None or not literals.body:
            return [found], 0, [()]
        tree, literals_only = literals, True
    except (RecursionError, MemoryError, ValueError) as error:
        message = f"cannot parse Python ({type(error).__name__}): its SQL cannot be checked"
        return [unprovable(message, "simplify the file")], 0, [()]
    index = index or ProjectIndex()
    try:
        module = analyze_module(text, tree, index, path=path)
        check = _ModuleCheck(module, analyzer, index, unresolved_severity)
        check.report_unresolved = not schema_source
        check.run()
    except (RecursionError, MemoryError) as error:  # fail closed on this file only
        message = (
            f"cannot follow the values of this file ({type(error).__name__}): its SQL cannot "
            "be checked"
        )
        return [unprovable(message, "simplify the file")], 0, [()]
    findings = [c.finding for c in check.out]
    anchors = [c.anchors for c in check.out]
    if built is not None:
        built.extend(sorted(check.built))
    if literals_only:
        findings.insert(0, found)
        anchors.insert(0, ())
    severity = None if schema_source else unresolved_severity
    for finding in _copy_findings(module.copies, analyzer, module.origin, severity):
        findings.append(finding)
        anchors.append((finding.line - 1, finding.line))
    module.tree = None  # the tree is not needed by the modules that import this one
    return findings, check.checked, anchors


def _literals_of_tokens(text: str) -> ast.Module | None:
    """The string literals of a file this Python cannot parse, read from its tokens: a module
    of expression statements, each the constant Python would make of one literal (adjacent
    literals joined, as `"a" "b"` is), placed where it is written. f-strings and bytes are
    left out; None when the text does not even tokenize."""
    body: list[ast.stmt] = []
    lines = text.splitlines(keepends=True)
    group: list[tokenize.TokenInfo] = []

    def column(row: int, col: int) -> int:  # (the ast counts UTF-8 bytes)
        line = lines[row - 1] if 0 < row <= len(lines) else ""
        return len(line[:col].encode("utf-8"))

    def flush() -> None:
        if not group:
            return
        parts, first, last = [t.string for t in group], group[0], group[-1]
        group.clear()
        if any(re.match(r"[A-Za-z]*[fFbB]", p) for p in parts):
            return
        try:
            value = ast.literal_eval(" ".join(parts))
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return
        if not isinstance(value, str):
            return
        constant = ast.Constant(value=value)
        constant.lineno, constant.col_offset = first.start[0], column(*first.start)
        constant.end_lineno, constant.end_col_offset = last.end[0], column(*last.end)
        statement = ast.Expr(value=constant)
        ast.copy_location(statement, constant)
        body.append(statement)

    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING:
                group.append(token)
            elif token.type not in (tokenize.NL, tokenize.COMMENT):
                flush()
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    flush()
    return ast.Module(body=body, type_ignores=[])
