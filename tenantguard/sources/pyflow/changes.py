"""What code may change a name from outside its own scope, read from the text (the other
half of the pre-scan): attributes stored or deleted through another object, collections
mutated in place, namespaces written by key, names handed to a function that changes them
(`_outside_changes`, `handed_changes`, `_read_outside_changes`, `_held_names_at`). Relies on
`names` and `scan`.
"""

from __future__ import annotations

import ast
import bisect
import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

from tenantguard._patterns import lazy_pattern
from tenantguard.sources.pyflow.names import _MUTATORS, _is_name
from tenantguard.sources.pyflow.scan import _blanked, _import_aliases, _uncommented

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


# attributes assigned and collections changed in place, anywhere in the project's files (a
# module's constant set from another module, `queries.SAFE = …`; a class's from a function,
# `Repo.table = …`, `repo.table = …`, `setattr(cls_, "table", …)`; `from q import STEPS` then
# `STEPS.append(…)`): read by `_outside_changes` over each file's code, its strings and comments
# blanked. Wider than Python's own reading of the file (a type annotation's `x.Y = None`
# counts): a name it finds is only known at run time where the module or class body set it.
_OP_EQUALS = r"(?:\*\*|//|>>|<<|[-+*/%&|^@])?=(?!=)"

# Each pattern starts at a character that a change needs (a dot, a bracket, an operator) and
# the name before it is read from there: the scan of a whole project reads its text once per
# pattern at C speed (a pattern led by `(\w+)` is tried at every character of every word).
# (a name as Python reads it: any letter first, a fullwidth `PIN` is `PIN` after NFKC)
# (not the last dot of an ellipsis: a stub's body, `def fetch(self, q): ...`, then `GET = "…"`
# on the next line is no attribute; `....X = …` would set Ellipsis's, which Python refuses)
_NOT_ELLIPSIS = r"(?<!\.\.)"

# (`(queries.X) = …` too)
_DOT_STORE = lazy_pattern(_NOT_ELLIPSIS + r"\.\s*([^\W\d]\w*)[\s)]*" + _OP_EQUALS)

# `a.X, b.Y = …` (no call before the `=`: not `f(a.X, key=1)`; a statement after a `;` too)
_TARGET_PART = r"[^=\n(#;]*"  # (a bracketed part, `q.X, (y) = …`: from its `)`, _CLOSED_STORE)

# (each led by a look for the `=` that must end the line's first run of target characters: a
# line with none, as a data module's are, is passed over in one scan, not backtracked over at
# each of its commas, session 34)
_TUPLE_TARGETS = lazy_pattern(
    r"^(?=[^=\n(#;]*=)[ \t]*(" + _TARGET_PART + "," + _TARGET_PART + r"?)[ \t]*(?<![=!<>])=(?!=)",
    re.M,
)

_TUPLE_TARGETS_AFTER = lazy_pattern(  # (led by the `;`: a pattern led by `(?:^|;)` is slow)
    r";(?=[^=\n(#;]*=)[ \t]*(" + _TARGET_PART + "," + _TARGET_PART + r"?)[ \t]*(?<![=!<>])=(?!=)"
)

# (`for(?<!\wfor)` is `\bfor`: a pattern led by a word's letters, not by `\b`, is found by
# searching for them, ~40x faster)
_FOR_TARGETS = lazy_pattern(r"for(?<!\wfor)\s+([^\n]*?)\s+in\b")

# `with … as q.X:`, `as (q.X):`, `as [q.X, y]:` (up to the statement's colon)
_AS_TARGET = lazy_pattern(r"as(?<!\was)(?:\s+((?:\w+\s*\.\s*)+\w+)|\s*[(\[]([^:]*))")

_DEL_TARGETS = lazy_pattern(r"del(?<!\wdel)\s+([^\n;]*)")

_ATTRIBUTE_IN = lazy_pattern(r"(?:(?<![\w.])(self|cls)\s*)?\.\s*([^\W\d]\w*)")

_SUBSCRIPTED_IN = lazy_pattern(r"(\w+)\s*\[")

# a string literal as an argument, in any spelling: `"X"`, `'''X'''`, `f"X"`, `"X" ""`, `"\x58"`
_STRING_ARGUMENT = (
    r"((?:[rRuUfF]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"
    r"|\"[^\"\\\n]*(?:\\.[^\"\\\n]*)*\")\s*)+)"
)

# the raw text (the name is a string): `setattr(obj, "X", …)`, `obj.__dict__["X"] = …`
# (found from `attr`: what comes before it, `setattr`, `__delattr__`, is read by _SETTER; the
# object may be a call's, `setattr(import_module("q"), "X", …)`)
_SETATTR = lazy_pattern(r"attr(?:__)?\s*\(\s*(?:(?:[^,()]|\([^()]*\))*,\s*)??" + _STRING_ARGUMENT)

_SETTER = lazy_pattern(r"(?<!\w)(?:__)?(?:set|del)$")

_DICT_ITEM = lazy_pattern(r"__(?:dict|globals)__\s*\[\s*" + _STRING_ARGUMENT)

_VARS_ITEM = lazy_pattern(r"vars(?<!\wvars)\s*\([^)]*\)\s*\[\s*" + _STRING_ARGUMENT)

_LOCALS_ITEM = lazy_pattern(r"locals(?<!\wlocals)\s*\(\s*\)\s*\[\s*" + _STRING_ARGUMENT)

# `type("X", (Repo,), {"PIN": …})`: a class made with its attributes (a subclass's)
_TYPE_NAMESPACE = lazy_pattern(
    r"type(?<!\wtype)\s*\(\s*[^,()]+,\s*\([^()]*\)\s*,\s*(\{[^{}]*\}|dict\s*\([^()]*\))"
)

_NAMED_CLASS = lazy_pattern(r"[ \t]*[^\W\d]\w*[ \t]*=[ \t]*")

# `q.X: str = …` (annotated, and so assigned: the statement starts with the target)
_ANNOTATED_STORE = lazy_pattern(
    _NOT_ELLIPSIS + r"\.\s*([^\W\d]\w*)[ \t)]*:[^=\n:]*(?<![=!<>])=(?!=)"
)

_TARGET_START = lazy_pattern(r"[ \t]*(?:\(\s*)*[\w.]*\Z")

# `sys.modules["q"] = …` (also `.update(q=…)`, `.setdefault("q", …)`, `.__setitem__`): what
# `import q` gives is not q's file; `q.__class__ = M` (a module's class made another)
_MODULE_SWAP = lazy_pattern(
    r"modules(?<=sys.modules)\s*(?:\[([^\]\n]*)\]\s*=(?!=)|\.\s*(?:update|setdefault|"
    r"__setitem__)\s*\(([^()]*))"
)

_CLASS_SWAP = lazy_pattern(r"__class__\s*=(?!=)")  # (its owner read before it: _SWAPPED)

_SWAPPED = lazy_pattern(r"(\w*)[\s\])]*\.\s*\Z")

# a namespace changed by a call: `q.__dict__.update(X=…)`, `vars(q).__setitem__("X", …)`:
# the names written in its arguments (raw text); `operator.setitem(vars(q), "X", …)`
_NAMESPACE_CHANGE = (
    r"\s*(?:\.\s*(?:update|__setitem__|setdefault|__ior__)\s*\(|\|=)([^()]*(?:\([^()]*\)[^()]*)*)"
)

_NAMESPACE_CALLS = (
    lazy_pattern(r"__(?:dict|globals)__" + _NAMESPACE_CHANGE),
    lazy_pattern(r"vars(?<!\wvars)\s*\([^()]*\)" + _NAMESPACE_CHANGE),
)

_SETITEM_NAMESPACE = lazy_pattern(
    r"item(?<=setitem)\s*\(\s*(?:vars\s*\([^()]*\)|[^,()]*__(?:dict|globals)__)\s*,\s*"
    + _STRING_ARGUMENT
)

_KEYWORD_OR_KEY = lazy_pattern(r"""(?:(?<![\w.])([^\W\d]\w*)\s*=(?!=)|["'](\w+)["'])""")

# `setattr` / `setitem` handed on as a value (`partial(setattr, q, "X")`, `map(setattr, …)`)
# or called with its arguments unpacked (`setattr(*args)`): every name the file writes as a
# string may be the one it sets
_SETTER_AS_VALUE = lazy_pattern(r"set(?<![^\W_]set)(?:attr|item)(?:__)?(?!\w)(?!\s*\((?![^()]*\*))")

# … or looked up by its name, and a namespace by `__dict__`'s (`vars(builtins)["setattr"]`,
# `getattr(q, "__dict__")[…] = …`)
_SETTER_NAMED = ("'setattr'", '"setattr"', "__setattr__'", '__setattr__"', "__dict__'", '__dict__"')

_IDENTIFIER_LITERAL = lazy_pattern(r"""(["'])([^\W\d]\w*)\1""")

# changed in place: `X[k] = …` (from its `]`), `X.append(…)` (from the dot; also handed on as a
# value, `map(X.append, …)`, and unbound, `list.extend(X, …)`), `X += […]`; a target in
# brackets over several lines (`(q.X,\n y) = …`) from its closing bracket
_CLOSED_STORE = lazy_pattern(r"[)\]]\s*" + _OP_EQUALS)

_SCAN_MUTATORS = _MUTATORS | {
    "__init__",
    "__delitem__",
    "__imul__",
    "__isub__",
    "__iand__",
    "__ixor__",
    "__iconcat__",
}

_MUTATOR_AFTER = lazy_pattern(r"\.\s*(?:" + "|".join(sorted(_SCAN_MUTATORS)) + r")(?!\w)")

_UNBOUND_OWNERS = frozenset({"list", "dict", "set", "bytearray", "deque", "OrderedDict"})

# `operator.setitem(X, …)`, `operator.iadd(X, …)`, `setitem(X, …)` imported by name: X
# changed in place
_OPERATOR_CHANGES = (
    lazy_pattern(r"item(?<=setitem|delitem)\s*\(\s*(?:\w+\s*\.\s*)*(\w+)\s*[,)\[]"),
    lazy_pattern(
        r"operator\s*\.\s*i(?:add|concat|or|mul|sub|and|xor)\s*\(\s*(?:\w+\s*\.\s*)*(\w+)\s*[,)\[]"
    ),
)

_FIRST_ARGUMENT_NAME = lazy_pattern(r"\s*\(\s*(?:\w+\s*\.\s*)*(\w+)\s*[,)\[]")

_AUGMENTING = lazy_pattern(r"(?:\+|\||-|&|\^|\*)=(?!=)")

_WORD_BEFORE = lazy_pattern(r"(\w+)\s*$")


_MAKERS = ("__new__", "__init__")

_DEF_LINE = lazy_pattern(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+(\w+)", re.M)


def _enclosing_function(code: str, at: int) -> str | None:
    """The name of the function whose body holds `at` (by indentation), if any."""
    line_start = code.rfind("\n", 0, at) + 1
    indent = len(code[line_start:at]) - len(code[line_start:at].lstrip(" \t"))
    found: str | None = None
    for match in _DEF_LINE.finditer(code, 0, line_start):
        if len(match.group(1)) < indent:
            found = match.group(2)  # (the last one above at a smaller indentation)
        # (a def at the same or a larger indentation is a sibling's or a nested one's)
    return found


_HOOK_DEF = lazy_pattern(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+(\w+)[ \t]*\(\s*(\w+)", re.M)

_HOOK_CLASS = lazy_pattern(r"^([ \t]*)class[ \t]+(\w+)[ \t]*(?:\(([^()]*)\))?[ \t]*:", re.M)

_BLOCK_LINE = lazy_pattern(r"^([ \t]*)(?:async[ \t]+)?(?:def|class)[ \t]", re.M)

# `cls` bound again in a method's body (`cls = Other`, `for cls in …`, `as cls`, a walrus)
_CLS_REBOUND = lazy_pattern(
    r"(?<![\w.])cls[ \t]*(?::=|=(?!=)|,)|(?:for|as|global|nonlocal)[ \t]+[^\n:]*?(?<![\w.])cls\b"
)


def _class_hook_owner(code: str, at: int) -> str | None:
    """The class C when `at` (a `cls.X = …`) is in the body of a method defined directly in
    `class C(…)` whose first parameter is `cls` — a `@classmethod` or `__init_subclass__` —,
    C a class statement with plain bases (no metaclass: a class deriving from `type`, or named
    `…Meta`), `cls` not bound again in that method; else None."""
    line_start = code.rfind("\n", 0, at) + 1
    indent = len(code[line_start:at]) - len(code[line_start:at].lstrip(" \t"))
    owner: re.Match[str] | None = None
    for block in _BLOCK_LINE.finditer(code, 0, line_start):
        if len(block.group(1)) < indent:
            owner = block  # the innermost block above at a smaller indentation
            indent_owner = len(block.group(1))
            # (blocks at the same or a larger indentation are siblings or nested ones)
    if owner is None:
        return None
    method = _HOOK_DEF.match(code, owner.start())
    if method is None or method.group(3) != "cls":
        return None
    parent: re.Match[str] | None = None
    for block in _BLOCK_LINE.finditer(code, 0, owner.start()):
        if len(block.group(1)) < indent_owner:
            parent = block
    if parent is None:
        return None
    cls = _HOOK_CLASS.match(code, parent.start())
    if cls is None:
        return None
    bases = cls.group(3) or ""
    if any(c in bases for c in "*=") or re.search(r"\btype\b|Meta\b", bases):
        return None
    decorators: list[str] = []  # the lines right above the `def` that start with `@`
    for line in reversed(code[: owner.start()].split("\n")[:-1]):
        if not line.strip().startswith("@"):
            break
        decorators.append(line.strip().replace(" ", ""))
    hook = method.group(2) == "__init_subclass__" and decorators in ([], ["@classmethod"])
    if not hook and decorators != ["@classmethod"]:
        return None
    end = len(code)
    for block in _BLOCK_LINE.finditer(code, owner.end()):
        if len(block.group(1)) <= indent_owner:
            end = block.start()
            break
    body = code[code.find("\n", owner.start()) + 1 : end]
    if _CLS_REBOUND.search(body) is not None:
        return None
    return cls.group(2)


def _word_before(code: str, end: int) -> str | None:
    """The name just before `end` (spaces between allowed), on its line."""
    match = _WORD_BEFORE.search(code, max(code.rfind("\n", 0, end) + 1, end - 200), end)
    return None if match is None else match.group(1)


_OUTSIDE_SEEN: dict[str, frozenset[str]] = {}  # `_outside_changes` by text, this process's


def _outside_changes(text: str) -> frozenset[str]:
    """`stored:X` for each attribute X a text assigns or deletes on something other than
    `self` / `cls` (a method's own `self.X = …` is read with its class), `mutated:X` for each
    name or attribute whose collection it changes in place. Each text is read once per process (the check cache's validation, then the index)."""
    known = _OUTSIDE_SEEN.get(text)
    if known is None:
        if len(_OUTSIDE_SEEN) >= 8192:
            _OUTSIDE_SEEN.clear()
        known = _OUTSIDE_SEEN[text] = frozenset(_read_outside_changes(text))
    return known


def handed_changes(keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """`mutated:X` for each collection X handed to a function (of any file) that changes the
    parameter it takes it as (outside attack h32g: `widen(PARTS)` where `def widen(cols):
    cols.append(…)` in another module), each with the two keys of `_outside_changes` that
    make it (`handed:widen:PARTS`, `changes-arg:widen`): the files a cached answer
    depends on."""
    keys = set(keys)
    # the functions that change a parameter, each with the keys that tell so: its own
    # `changes-arg:`, or `passes:a:widen` (it hands the parameter to one that does)
    changing: dict[str, tuple[str, ...]] = {
        k[12:]: (k,) for k in keys if k.startswith("changes-arg:")
    }
    passes = [k[7:].rpartition(":") for k in keys if k.startswith("passes:")]
    grown = bool(passes)
    while grown:
        grown = False
        for function, _, callee in passes:
            if callee in changing and function not in changing:
                changing[function] = (f"passes:{function}:{callee}", *changing[callee])
                grown = True
    # the functions that write a parameter's namespace by a key not spelt (`sets-arg:`, h32j)
    setting: dict[str, tuple[str, ...]] = {k[9:]: (k,) for k in keys if k.startswith("sets-arg:")}
    grown = bool(passes) and bool(setting)
    while grown:
        grown = False
        for function, _, callee in passes:
            if callee in setting and function not in setting:
                setting[function] = (f"passes:{function}:{callee}", *setting[callee])
                grown = True
    found: dict[str, tuple[str, ...]] = {}
    for key in keys:
        if key.startswith("handed:"):
            function, _, name = key[7:].rpartition(":")
            if function in changing:
                found.setdefault("mutated:" + name, (key, *changing[function]))
            if function in setting:
                # `put(queries, k, v)` / `put(repo.Repo, k, v)`: any name of the module, any
                # attribute of the class
                found.setdefault("replaced:" + name, (key, *setting[function]))
                found.setdefault("overrides-all:" + name, (key, *setting[function]))
        elif key.startswith("returns:"):
            # `get().append(…)` in one file, `def get(): return q.PARTS` in another
            function, _, name = key[8:].rpartition(":")
            if "mutated:" + function in keys:
                found.setdefault("mutated:" + name, (key, "mutated:" + function))
    return found


def _literal_text(source: str) -> str | None:
    """The text a string-literal argument spells (`"X"`, `'''X'''`, `f"X"`, `"X" ""`,
    `"\\x58"`), as Python evaluates it; None when it is no constant string."""
    if "{" in source:  # an f-string's field (or a brace): not a constant
        return None
    try:
        value = ast.literal_eval(re.sub(r"(?<![\"'\w])[fF]", "", source.strip()))
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _literal_names(source: str) -> list[str]:
    """The name a string-literal argument spells, or none when it is not a constant name."""
    value = _literal_text(source)
    return [value] if value is not None and value.isidentifier() else []


def _read_outside_changes(text: str, nested: bool = False) -> set[str]:
    raw = _uncommented(text)  # (names in strings, not in comments)
    found: set[str] = set()
    for match in _SETATTR.finditer(raw):
        start = match.start()
        if _SETTER.search(raw, max(0, start - 8), start) is not None:
            found.update("stored:" + n for n in _literal_names(match.group(1)))
    read_only: set[str] | None = None
    for pattern in (_DICT_ITEM, _VARS_ITEM, _LOCALS_ITEM, _SETITEM_NAMESPACE):
        for literal in pattern.findall(raw):
            names = _literal_names(literal)
            if pattern is _DICT_ITEM or pattern is _VARS_ITEM:
                # `p = vars(q)["PARTS"]` only reads it (h35D: every such item was a write)
                if read_only is None:
                    read_only = _namespace_items_read(text)
                names = [n for n in names if n not in read_only]
            found.update("stored:" + n for n in names)
    for made in _TYPE_NAMESPACE.finditer(raw):
        if _NAMED_CLASS.fullmatch(raw, raw.rfind("\n", 0, made.start()) + 1, made.start()):
            continue  # `Inv = type("Inv", (Repo,), {…})`: a subclass the index reads (round 24)
        namespace = made.group(1)
        for keyword, key in _KEYWORD_OR_KEY.findall(namespace):
            found.add("stored:" + (keyword or key))
    if "modules" in raw:
        # the module named (`sys.modules["q"] = …`, a docstring's too: for q only); one named
        # at run time (`sys.modules[name] = module`, an importer's) is a limit
        for key, arguments in _MODULE_SWAP.findall(raw):
            written = [k or q for k, q in _KEYWORD_OR_KEY.findall(arguments)]
            named = _literal_text(key) if key else None
            if named is not None:
                written.append(named)
            found.update("replaced:" + w.rsplit(".", 1)[-1] for w in written)
    for pattern in _NAMESPACE_CALLS:
        for arguments in pattern.findall(raw):
            for keyword, key in _KEYWORD_OR_KEY.findall(arguments):
                found.add("stored:" + (keyword or key))
    code = _blanked(text)
    if (
        _SETTER_AS_VALUE.search(code) is not None
        or any(n in raw for n in _SETTER_NAMED)
        or (_namespace_written_by_name(code))
    ):
        # (not a special name, `"__class__"`: one such string in a file that names `setattr`
        # — this module does — would unprove every `self.X` of the project; a special name
        # set through a string is read where it is written, `setattr(r, "__class__", …)`)
        found.update(
            "stored:" + m
            for _quote, m in _IDENTIFIER_LITERAL.findall(raw)
            if not (m.startswith("__") and m.endswith("__"))
        )
        if _EXEC_NAMESPACE.search(code) is not None:
            # `exec("SQL = …", vars(q))`: each name the file's text assigns
            found.update("stored:" + m for m in _ASSIGNED_IN_TEXT.findall(raw))
        # `d.update(SQL=…)` of a namespace kept in `d`: each keyword the file passes
        found.update("stored:" + m for m in _KEYWORD_ARGUMENT.findall(code))
    # a statement over lines joined by backslashes is one line; a name is what Python reads
    # (NFKC: `queries.PIN = …` in fullwidth letters sets `PIN`)
    if "\\" in code:
        code = code.replace("\\\r\n", "   ").replace("\\\n", "  ")
    if not code.isascii():
        code = unicodedata.normalize("NFKC", code)

    def attributes(part: str) -> None:
        for owner, name in _ATTRIBUTE_IN.findall(part):
            if not owner:
                found.add("stored:" + name)

    for match in _ANNOTATED_STORE.finditer(code):
        start = match.start()
        if _TARGET_START.match(code, code.rfind("\n", 0, start) + 1, start) is not None and (
            _word_before(code, start) != "self"  # (`self.x: T = …`: read with its class)
        ):
            found.add("stored:" + match.group(1))
    for match in _CLASS_SWAP.finditer(code):
        start = match.start()
        owner = _SWAPPED.search(code, max(0, start - 200), start)
        if owner is not None:
            found.add("replaced:" + (owner.group(1) or "*"))
    for match in _DOT_STORE.finditer(code):
        # (`self.X = …` is read with the class whose methods set it; `cls.X = …` is not:
        # a decorator's or a metaclass's `cls` is any class, round 26b)
        name = match.group(1)
        if name == "_value_" and _enclosing_function(code, match.start()) in _MAKERS:
            continue  # an enum's `__new__` making its member: that class's, read as computed
        before = _word_before(code, match.start())
        if before == "cls" and not name.startswith("__"):
            hooked = _class_hook_owner(code, match.start())
            if hooked is not None:
                # `cls.X = …` in a classmethod or `__init_subclass__` of class C: C's X or a
                # subclass's, not every class's (see `ProjectIndex.hooked_attribute`)
                found.update((f"class-set:{name}", f"class-set:{name}:{hooked}"))
                continue
        if before != "self" or (
            name.startswith("__") and name.endswith("__")  # (`self.__class__ = …`)
        ):
            found.add("stored:" + name)
    # `a.X, b = …`: a line that starts a statement (outside any bracket: not a call's
    # continuation line, `"", Kind.TABLE, key=…`), its brackets closed before the `=` (not
    # `f(a.X, key=1)`)
    depth, at = 0, 0
    lines = _TUPLE_TARGETS.finditer(code)
    if ";" in code:  # (in order: the depth is counted from one match to the next)
        lines = iter(sorted((*lines, *_TUPLE_TARGETS_AFTER.finditer(code)), key=_start))
    for match in lines:
        start = match.start()
        for opening, closing in ("()", "[]", "{}"):
            depth += code.count(opening, at, start) - code.count(closing, at, start)
        at = start
        part = match.group(1)
        if (
            depth <= 0
            and ":" not in part.split("[", 1)[0]  # (not `x: dict[K, a.V] = …`)
            and part.count("(") == part.count(")")
            and part.count("[") == part.count("]")
        ):
            attributes(part)
    for part in _FOR_TARGETS.findall(code):
        attributes(part)
    for dotted, bracketed in _AS_TARGET.findall(code):
        attributes(dotted or bracketed)
    for part in _DEL_TARGETS.findall(code):
        attributes(part)
        found.update("mutated:" + n for n in _SUBSCRIPTED_IN.findall(part))
    for match in _CLOSED_STORE.finditer(code):
        start = match.start()
        line = code.rfind("\n", 0, start) + 1
        if code[start] == "]":
            # the first name subscripted on the line before the `] =` (`X[k] = …`,
            # `q.X[k] = …`; not the types of an annotation's `Mapping[str, list[int]] = …`)
            first = _SUBSCRIPTED_IN.search(code, line, start)
            if first is not None:
                found.add("mutated:" + first.group(1))
        before = code[line : start + 1]
        opening = "[" if code[start] == "]" else "("
        if before.count(opening) < before.count(code[start]):
            # a bracket opened on an earlier line: `(q.X,\n y) = …`, `[q.X,\n y] = …`
            opened = _opening_bracket(code, start)
            if opened is not None:
                attributes(code[code.rfind("\n", 0, opened) + 1 : start])
        elif code[start] == ")":
            # a target closed by a bracket on its line: `q.X, (y) = …` (`f(x) = …` is no
            # Python; a keyword's `(…)` is followed by `,` or `)`, not by `=`)
            attributes(before)
    owners = _enclosing_functions(code)
    # `query += " LIMIT 50"` in a function (no `global`/`nonlocal` in the file) changes that
    # function's own `query`: an alias made in another function, `query = QUERIES[k]`, is
    # another variable (h34D: one such pair made every module's `QUERIES` unknown)
    # (a class body in a function reads a global by that name, `X += […]` extending it)
    scoped = _GLOBAL_OR_NONLOCAL.search(code) is None and _NESTED_CLASS.search(code) is None
    augmented: set[tuple[str, str]] = set()  # (name, function) changed only so
    for pattern in (_MUTATOR_AFTER, _AUGMENTING):
        for match in pattern.finditer(code):
            name = _word_before(code, match.start())
            if pattern is _AUGMENTING and name is not None and scoped:
                enclosing = owners(match.start())
                start = match.start()
                before = code[max(0, start - 200) : start].rstrip(" \t")[: -len(name)]
                if enclosing is not None and not before.rstrip(" \t").endswith("."):
                    augmented.add((name, enclosing[0]))
                    continue
            if name is None and pattern is _MUTATOR_AFTER:
                name = _changed_through(code, match.start(), found)
            if pattern is _MUTATOR_AFTER and (name in _UNBOUND_OWNERS or name in _TYPE_OF):
                # `list.extend(X, …)`, `dict.__setitem__(q.X, …)`, `type(X).append(X, …)`,
                # `X.__class__.append(X, …)`: its first argument's
                argument = _FIRST_ARGUMENT_NAME.match(code, match.end())
                name = None if argument is None else argument.group(1)
            if name is not None:
                found.add("mutated:" + name)
    for pattern in _OPERATOR_CHANGES:
        found.update("mutated:" + n for n in pattern.findall(code))
    if "getattr" in raw or "methodcaller" in raw:
        # `getattr(q.X, "append")(…)`, `operator.methodcaller("append", …)(q.X)`: a mutator
        # named by a constant string (h32g)
        for owner, method in _GETATTR_METHOD.findall(raw):
            if _literal_text(method) in _SCAN_MUTATORS:
                found.add("mutated:" + owner)
        for method, owner in _METHODCALLER_APPLIED.findall(raw):
            if _literal_text(method) in _SCAN_MUTATORS:
                found.add("mutated:" + owner)
    # a module's namespace written by a key from data (`for k, v in os.environ.items():
    # setattr(queries, k, v)`, `vars(queries).update(json.load(f))`): any of its names (h32j)
    # (`setattr(Repo, k, v)` on a class it imports: any of its attributes, `overrides-all:`)
    for stem in _namespace_written_from_data(code):
        found.update(("replaced:" + stem, "overrides-all:" + stem))
    # an object's attributes written so (`setattr(q.Q, k, v)`, `vars(cfg).update(data)`, a
    # local `setattr(q, k, over[k])`): any attribute of what a name of that spelling holds
    # (h33j: a dataclass made with no arguments read as holding its defaults)
    for target in _written_by_key(code):
        held = target.rsplit(".", 1)[-1].strip()
        if held not in ("self", "cls"):
            found.add("overrides-all:" + held)
    if _UNREAD_CLASS.search(code) is not None:
        found.add("class-set:*")  # a class made otherwise than by a class statement
    for made_in, attribute in _unread_subclass_attributes(code):
        # (the class itself: its own body's value is what it reads; `overrides:X` names the
        # files for the check cache, `overrides:X:C` which class, see `overridden_elsewhere`)
        found.update(("overrides:" + attribute, f"overrides:{attribute}:{made_in}"))
    for name, function in _imported_in_functions(code, owners):
        # `from q import PARTS` (or `… as p`) in the function's own body: its `+=` there
        # extends the module's object, not a local one (h34N)
        if (name, function) in augmented:
            augmented.discard((name, function))
            found.add("mutated:" + name)
    for match in _NAMESPACE_READ.finditer(raw):
        # `globals()["PARTS"].append(…)`, `vars(q).get("PARTS") += …`: PARTS itself (h34N)
        if _MUTATOR_AFTER.match(raw, _namespace_read_end(raw, match.end())) is not None:
            found.add("mutated:" + match.group(2))
    returned = _returned(code)
    found.update(f"returns:{function}:{name}" for function, name in returned)
    changed = {f[8:] for f in found if f.startswith("mutated:")}
    if changed or augmented:
        # a list changed through another name for it (outside attack h32g: `from q import
        # PARTS as P; X = P; X.append(…)`, `x = q.PARTS`, `(x := PARTS).append(…)`, `p =
        # self.PARTS`, `REG = {"p": PARTS}`, `for p in [PARTS]:`, `def f(p=PARTS)`): the
        # names it holds are changed too, through aliases of aliases
        # (names of the module and what functions return: a function's own `x += …`, `x`
        # local there, changes neither — `sql += " AND …"` is no change of what a function
        # `sql()` returns; the pairs below, kept in some function, may be that `x`)
        fixed = [(alias, original) for original, alias in _import_aliases(code)]
        fixed.extend(returned)
        pairs: list[tuple[str, str]] = []
        # (a name held in a function: changed there by its `+=`, or anywhere by the rest)
        local = [
            (holder, held, _scope_at(code, position, owners))
            for holder, held, position in (*_held_names_at(code), *_captured_names(code))
        ]
        for match in _WITH_AS.finditer(code):  # `with nullcontext(P) as x`: x may be P
            pairs.extend((match.group(2), n) for n in _HELD_WORD.findall(match.group(1)))
        for match in _NAMESPACE_READ.finditer(raw):  # `p = globals()["P"]`: p is P
            holder = _WORD_BEFORE_EQUALS.search(raw, max(0, match.start() - 80), match.start())
            if holder is not None:
                pairs.append((holder.group(1), match.group(2)))
        for match in _GETATTR_NAMED.finditer(raw):  # `getattr(q, "P")` is `q.P`
            name, after = match.group(2), raw[match.end() : match.end() + 40]
            if _MUTATOR_AFTER.match(after.lstrip()) is not None:
                changed.add(name)
            holder = _WORD_BEFORE_EQUALS.search(raw, max(0, match.start() - 80), match.start())
            if holder is not None:
                pairs.append((holder.group(1), name))
        anywhere = {name for name, _ in augmented}

        def spread(changed: set[str]) -> None:
            grown = True
            while grown:
                count = len(changed)
                changed.update(held for holder, held in fixed if holder in changed)
                changed.update(
                    held for holder, held in pairs if holder in changed or holder in anywhere
                )
                changed.update(
                    held
                    for holder, held, function in local
                    if holder in changed or (holder, function) in augmented
                )
                grown = len(changed) > count

        spread(changed)
        # (a function's own `x += …` changes no name of another scope: not said as a change
        # of `x` to the project — a parameter so extended changes what it is handed)
        found.update("mutated:" + n for n in changed)
        proper = set(changed)
        changed |= anywhere
        spans: list[tuple[str, frozenset[str], int, int]] | None = None
        for pattern in (_DEF_PARAMETERS, _LAMBDA_PARAMETERS):
            for defined in pattern.finditer(code):
                function, parameters = defined.group(1), defined.group(2)
                hit = changed.intersection(_HELD_WORD.findall(parameters))
                if hit and scoped and not nested and pattern is _DEF_PARAMETERS:
                    # `def run_all(conn, params)` does not change what it is handed because
                    # another function changes its own local `params = {…}` (h36D)
                    if spans is None:
                        spans = _def_spans(code)
                    hit = {
                        n
                        for n in hit
                        if not _changed_elsewhere_only(
                            code, n, defined.start(), spans, (n, function) in augmented
                        )
                    }
                if hit:
                    found.add("changes-arg:" + function)
                    if function in ("__init__", "__new__"):
                        # `Job(ARCHIVE)` hands ARCHIVE to Job's `__init__` (h36D: its
                        # `self.statements = statements`, then `self.statements.append(…)`)
                        maker = _class_of(code, defined.start())
                        if maker is not None:
                            found.add("changes-arg:" + maker)
        changing = {k[12:] for k in found if k.startswith("changes-arg:")}
        if changing:
            # `self.relax(p)` (or `self.relax(self.view())`) with `def relax(self, parts):
            # parts += …` in this file: what p holds (what view returns) is changed too, through
            # this file's aliases (h34N; another file's are `handed_changes`' names only)
            handed_here = {
                name
                for call in _HANDED_TO.finditer(code)
                if call.group(1) in changing
                for name in _held_in(code, call.end(), ";")
            }
            if handed_here - proper:
                proper |= handed_here
                spread(proper)
                found.update("mutated:" + n for n in proper)
    written_by_key = "setattr" in code or "vars" in code or "__dict__" in code
    for match in _WRITTEN_BY_KEY.finditer(code) if written_by_key else ():
        # `def put(obj, k, v): setattr(obj, k, v)`: put writes what it is handed by a key
        # not spelt (h32j; joined with `handed:put:X` in `handed_changes`)
        target = match.group(1) or match.group(2)
        enclosing = owners(match.start()) if target is not None else None
        if enclosing is not None and target in enclosing[1]:
            found.add("sets-arg:" + enclosing[0])
    for call in _HANDED_TO.finditer(code):
        handed = _held_in(code, call.end(), ";")
        found.update(f"handed:{call.group(1)}:{n}" for n in handed)
        applied = _APPLIED.match(code, call.end()) if call.group(1) in _APPLYING else None
        if applied is not None:
            # `map(widen, [q.PARTS])`, `partial(widen, PARTS)`: widen is handed them (h32g)
            function = applied.group(1)
            found.update(f"handed:{function}:{n}" for n in handed if n != function)
        enclosing = owners(call.start())
        if enclosing is not None and enclosing[1].intersection(handed):
            # `def a(x): widen(x)`: `a` changes what it is handed when `widen` does
            found.add(f"passes:{enclosing[0]}:{call.group(1)}")
    if not nested:
        mutated = [f[8:] for f in found if f.startswith("mutated:")]
        own = [n for n in mutated if _own_collection(code, raw, n)]
        found.difference_update("mutated:" + n for n in own)
        found.update("mutated-own:" + n for n in own)  # (see `ProjectIndex.changed_outside`)
    return found


# `TABLES = {…}` at a module's top level (a fresh display or an empty collection made there)
_OWN_DISPLAY = (
    r"^{name}[ \t]*(?::[^=\n]*)?=(?!=)[ \t]*(?:[\[{{(]|(?:dict|list|set|defaultdict|OrderedDict)\()"
)

# a use of a name that may make it another object's: an import, a parameter, a loop's or a
# `with`'s target, `global`, an attribute of that name, a walrus, an indented assignment
_OTHER_BINDING = (
    r"^[ \t]*(?:import|from|def|async|class|global|nonlocal|for|with|except)\b[^\n]*\b{name}\b"
    r"|\bfor\b[^\n]*\b{name}\b[^\n]*\bin\b|\blambda\b[^:\n]*\b{name}\b|\.[ \t]*{name}\b"
    r"|\b{name}[ \t]*:=|^[ \t]+{name}[ \t]*(?::[^=\n]*)?=(?!=)|\bas[ \t]+{name}\b"
)


def _own_collection(code: str, raw: str, name: str) -> bool:
    """Whether every change a file makes to the collection `name` is a change of its own
    module's object (said `mutated-own:`, not `mutated:`): the file makes it at its top level (`TABLES = {}`), has no star import,
    and binds or reaches no other object under that name (an import, a parameter, a loop's
    target, `q.TABLES`, `getattr(q, "TABLES")`). Another module's `TABLES` is not changed by
    it (h37Q: `TABLES["x"] = …` in an unrelated module made every project `TABLES` unknown,
    a TG001 of `{k: T.format(table=t) for k, t in TABLES.items()}` a TG009 warning)."""
    # (the plain string tests first: a file's mutated names are asked one by one, thousands in
    # a large project, and each pattern below is compiled for its name and runs over the file)
    if not code.startswith(name) and f"\n{name}" not in code:
        return False  # no line begins with the name: `_OWN_DISPLAY` cannot match
    if _star_imported(code):
        return False
    word = re.escape(name)
    if re.search(_OWN_DISPLAY.format(name=word), code, re.M) is None:
        return False
    if re.search(_OTHER_BINDING.format(name=word), code, re.M) is not None:
        return False
    display = re.compile(_OWN_DISPLAY.format(name=word))
    rebound = re.compile(rf"\b{word}\b(?![ \t]*[\[.])")
    for line in code.splitlines():
        if name not in line:
            continue  # `rebound` finds the name or nothing
        target = line.split("=", 1)[0] if "=" in line.replace("==", "") else ""
        if rebound.search(target) and not display.match(line):
            return False  # `TABLES = registry()`, `TABLES, X = …`: another object, maybe
    return re.search(rf"[\"']{word}[\"']", raw) is None


_STAR_IMPORT = lazy_pattern(r"^[ \t]*from[ \t]+\S+[ \t]+import[ \t]+(\*)", re.M)


@lru_cache(maxsize=16)
def _star_imported(code: str) -> bool:
    """Whether the file imports `*` from a module (asked once per file, not once per name)."""
    return "*" in "".join(_STAR_IMPORT.findall(code))


def _class_of(code: str, def_at: int) -> str | None:
    """The class whose body holds the `def` at `def_at` (the nearest `class` line before it
    less indented than it)."""
    line = code.rfind("\n", 0, def_at) + 1
    indent = len(code[line:def_at]) - len(code[line:def_at].lstrip(" \t"))
    for made in reversed(list(_CLASS_LINE.finditer(code, 0, line))):
        if len(made.group(1)) < indent:
            return made.group(2)
    return None


_CLASS_LINE = lazy_pattern(r"^([ \t]*)class[ \t]+(\w+)", re.M)


def _def_spans(code: str) -> list[tuple[str, frozenset[str], int, int]]:
    """Each `def` of the code: its name, its parameters' names, where it starts and where
    its body ends (by indentation, as `_enclosing_functions` reads it)."""
    spans: list[tuple[str, frozenset[str], int, int]] = []
    open_: list[tuple[int, str, frozenset[str], int]] = []
    at = 0
    depth = 0
    for line in code.split("\n"):
        body = line.lstrip(" \t")
        indent = len(line) - len(body)
        inside = depth > 0
        depth = max(
            0, depth + sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        )
        if body and not inside:
            while open_ and open_[-1][0] >= indent:
                _, name, names, start = open_.pop()
                spans.append((name, names, start, at))
            if (def_line := _DEF_LINE.match(line)) is not None:
                defined = _DEF_PARAMETERS.search(code, at, at + len(line) + 2000)
                names = frozenset(_HELD_WORD.findall(defined.group(2))) if defined else frozenset()
                open_.append((indent, def_line.group(2), names, at))
        at += len(line) + 1
    spans.extend((name, names, start, at) for _, name, names, start in open_)
    return spans


def _changed_elsewhere_only(
    code: str,
    name: str,
    def_at: int,
    spans: list[tuple[str, frozenset[str], int, int]],
    augmented_here: bool,
) -> bool:
    """Whether the parameter `name` of the `def` at `def_at` is unchanged by that function,
    every other use of the name in the file being a local of another function made there
    fresh (`params = {…}`, then `params["k"] = …`): that local is another variable, its
    changes none of the parameter's (h36D: one such dict made `run_all(conn, ARCHIVE,
    params)` read as changing ARCHIVE). False (changed, as before) when unsure: an
    attribute of that name anywhere (`self.params.append(…)` may change what the function
    stored), a use at module level or in a function that does not bind it fresh."""
    if augmented_here:
        return False
    own = [s for s in spans if s[2] == code.rfind("\n", 0, def_at) + 1]
    if not own:
        return False
    _, _, start, end = own[0]
    word = re.compile(r"(?<![\w])(\.\s*)?" + re.escape(name) + r"(?!\w)")
    for match in word.finditer(code):
        at = match.start()
        if match.group(1):
            return False  # an attribute of that name: may be the parameter stored
        if start <= at < end:
            continue
        holders = [s for s in spans if s[2] <= at < s[3]]
        if not holders:
            return False
        _, parameters, g_start, g_end = max(holders, key=lambda s: s[2])
        if name in parameters:
            # that function's own parameter (`def _page(self, sql, *args)` beside `def
            # _rows(self, sql, *args)` and a method growing its local `args`): another
            # variable, whatever that function does with it (h39D)
            continue
        first = word.search(code, g_start, g_end)
        if first is None or _FRESH_BINDING.match(code, first.end()) is None:
            return False
    # what the function itself does with it: its own text (strings blanked) read alone
    segment = _dedented(code[start:end])
    if segment is None:
        return False
    alone = _read_outside_changes(segment, nested=True)
    return "mutated:" + name not in alone and not any(k.startswith("changes-arg:") for k in alone)


# a name bound to a new object: `params = {…}`, `= […]`, `= dict(…)`, `= list(…)`, `= set(…)`
_FRESH_BINDING = lazy_pattern(r"[ \t]*(?::[^=\n]*)?=(?!=)[ \t]*(?:[\[{]|(?:dict|list|set)[ \t]*\()")


def _dedented(segment: str) -> str | None:
    """A function's text moved to column 0 (None when a line is less indented than its
    first: a continuation line, read as it stands)."""
    lines = segment.split("\n")
    indent = len(lines[0]) - len(lines[0].lstrip(" \t"))
    if any(line.strip() and not line.startswith(lines[0][:indent]) for line in lines):
        return None
    return "\n".join(line[indent:] for line in lines)


def _enclosing_functions(code: str) -> Callable[[int], tuple[str, frozenset[str]] | None]:
    """For a position of the code, the innermost `def` whose body holds it (by indentation)
    with its parameters' names: one pass over the lines."""
    starts: list[int] = []
    owners: list[tuple[str, frozenset[str]] | None] = []
    stack: list[tuple[int, tuple[str, frozenset[str]]]] = []
    at = 0
    depth = 0  # brackets open at the line's start (strings and comments are blanked)
    for line in code.split("\n"):
        body = line.lstrip(" \t")
        indent = len(line) - len(body)
        inside = depth > 0
        depth = max(
            0, depth + sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        )
        if body and not inside:
            # (a line inside brackets continues the one before: a signature's `) -> str:`
            # at the def's own indentation does not end it — h35G: the body after it was
            # read as the module's, its `sql += …` as a change of every `sql`)
            while stack and stack[-1][0] >= indent:
                stack.pop()
        starts.append(at)
        owners.append(stack[-1][1] if stack else None)
        if body and not inside and (def_line := _DEF_LINE.match(line)) is not None:
            defined = _DEF_PARAMETERS.search(code, at, at + len(line) + 2000)
            if defined is not None:
                names = frozenset(_HELD_WORD.findall(defined.group(2)))
                stack.append((indent, (defined.group(1), names)))
            else:  # parameters not read: the function still holds its body
                stack.append((indent, (def_line.group(2), frozenset())))
        at += len(line) + 1

    def owner(position: int) -> tuple[str, frozenset[str]] | None:
        return owners[bisect.bisect_right(starts, position) - 1]

    return owner


_LAMBDA_PARAMETERS = lazy_pattern(r"(?<!\w)(\w+)[ \t]*=[ \t]*lambda(?!\w)([^:\n]*):")

_TYPE_OF = frozenset({"__class__", "type"})

# calls whose result holds the objects they are given (`for cols in zip(…)`, `next(iter(…))`)
# and methods that hand on a collection's own items
_VIEW_METHODS = ("values", "items", "get", "pop", "setdefault", "popitem", "__getitem__")

_PASSING = frozenset(
    {"iter", "next", "zip", "enumerate", "reversed", "max", "min", "filter", "cast", "chain"}
    | set(_VIEW_METHODS)
)

_VIEW = lazy_pattern(r"\s*\.\s*(?:" + "|".join(_VIEW_METHODS) + r")\s*\(")

_GETATTR_METHOD = lazy_pattern(
    r"getattr\s*\(\s*(?:\w+\s*\.\s*)*(\w+)\s*,\s*((?:[rRbBuU]?(?:\"[^\"\n]*\"|'[^'\n]*')\s*)+)\)"
)

_METHODCALLER_APPLIED = lazy_pattern(
    r"methodcaller\s*\(\s*((?:[rRbBuU]?(?:\"[^\"\n]*\"|'[^'\n]*')\s*)+)[^()]*\)\s*\(\s*(?:\w+\s*\.\s*)*(\w+)"
)

_DEF_PARAMETERS = lazy_pattern(r"def(?<!\wdef)[ \t]+(\w+)[ \t]*\(([^)]*)\)")

_HANDED_TO = lazy_pattern(r"(?<!def )(?<!class )\b(\w+)[ \t]*\(")

# calls that call the function they are given first with what follows it
_APPLYING = frozenset({"map", "partial", "starmap", "to_thread"})

_APPLIED = lazy_pattern(r"\s*(?:\w+\s*\.\s*)*(\w+)\s*,")

# a name given a value: `x = …`, `x: T = …`, `x := …`, a keyword or a default `x=…`
_HOLDER = lazy_pattern(r"(?<!\w)(\w+)[ \t]*(?::[^=\n:]*)?(?::=|(?<![=!<>:])=(?!=))")

_FOR_HOLDER = lazy_pattern(r"for(?<!\wfor)[ \t]+([\w \t,()\[\]]+?)[ \t]+in(?!\w)")

_HELD_WORD = lazy_pattern(r"[A-Za-z_]\w*")

# a statement's target that starts with a bracket or ends with a comma: `[p] =`, `(p,) =`,
# `p, =` (the one `_HOLDER` does not see: no name right before its `=`)
_BRACKET_HOLDER = lazy_pattern(
    r"^[ \t]*((?:[\[(][\w \t.,*()\[\]]*[\])]|[\w \t.,*()\[\]]*,))[ \t]*=(?!=)", re.M
)

_GLOBAL_OR_NONLOCAL = lazy_pattern(r"(?<!\w)(?:global|nonlocal)(?!\w)")

_NESTED_CLASS = lazy_pattern(r"^[ \t]+class[ \t]", re.M)

_HELD_TOKEN = lazy_pattern(r"(?<![\w])[A-Za-z_]\w*|[()\[\]{}\n;,:]")

_WITH_AS = lazy_pattern(r"with(?<!\wwith)[ \t]+([^\n]+?)[ \t]+as[ \t]+(\w+)")

# a module's name read from its namespace by a key spelt: `globals()["P"]`, `vars(q)["P"]`,
# `q.__dict__.get("P")`, `locals()["P"]`
_NAMESPACE_READ = lazy_pattern(
    r"(?:(?<!\w)(?:globals|locals|vars)\s*\([^()]*\)|\.\s*__dict__)\s*"
    r"(?:\[|\.\s*get\s*\()\s*([\"'])(\w+)\1"
)


def _namespace_read_end(text: str, at: int) -> int:
    """Where what follows a namespace read starts: past the `]` or `)` that closes it (a
    default given to `.get(…)` included) and blanks."""
    depth = 0
    for index in range(at, min(len(text), at + 200)):
        char = text[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                end = index + 1
                while end < len(text) and text[end] in " \t":
                    end += 1
                return end
            depth -= 1
    return at


_GETATTR_NAMED = lazy_pattern(r"getattr\s*\(\s*[\w.]+\s*,\s*([\"'])(\w+)\1\s*\)")

_WORD_BEFORE_EQUALS = lazy_pattern(r"(\w+)[ \t]*(?::[^=\n]*)?=[ \t]*\Z")

_TUPLE_PREFIX = lazy_pattern(r"[ \t]*[\w \t.,*()\[\]]*,[ \t]*")

_NOT_HELD = frozenset(
    "and or not if else is in for async await lambda None True False yield".split()  # noqa: SIM905
)

_OPERATORS = "+-*/%@&|^~<>"


def _changed_through(code: str, end: int, found: set[str]) -> str | None:
    """The collection `X[k].append(…)` changes (X, through its item), or the names `(p :=
    P).append(…)` and `(a or P).append(…)` may change (added to `found`): what a bracket
    closed just before `end` leads to (outside attack h32g)."""
    closing = _index_before(code, end)
    while closing >= 0 and code[closing] == "]":
        opened = _opening_bracket(code, closing)
        if opened is None:
            return None
        closing = _index_before(code, opened)
        if closing >= 0 and (code[closing].isalnum() or code[closing] == "_"):
            return _word_before(code, closing + 1)
    if closing >= 0 and code[closing] == ")":
        opened = _opening_bracket(code, closing)
        before = _char_before(code, opened) if opened is not None else "("
        if opened is not None and (before.isalnum() or before == "_"):
            # `get().append(…)`: what `get` returns (`returns:get:X`, joined in
            # `handed_changes`); `next(iter([X])).append(…)`: X
            callee = _word_before(code, opened)
            if callee in _PASSING:
                found.update("mutated:" + n for n in _held_in(code, opened + 1, ";"))
            return callee
        if opened is not None and not (before.isalnum() or before in "_)]"):
            inner = code[opened + 1 : closing]
            walrus = _HOLDER.match(inner.lstrip())
            start = opened + 1 + (len(inner) - len(inner.lstrip()))
            if walrus is not None:
                found.add("mutated:" + walrus.group(1))
                start += walrus.end()
            found.update("mutated:" + n for n in _held_in(code, start))
    return None


def _returned(code: str) -> list[tuple[str, str]]:
    """(function, name) for each name a function's `return` may hand back as it is (`def
    get(): return q.PARTS`), the enclosing `def` by indentation (`_enclosing_functions`)."""
    found: list[tuple[str, str]] = []
    if "return" not in code:
        return found
    owners = _enclosing_functions(code)
    at = 0
    for line in code.split("\n"):
        body = line.lstrip(" \t")
        if body.startswith("return") and body[6:7] in (" ", "\t", "("):
            owner = owners(at)
            if owner is not None:
                start = at + len(line) - len(body) + 6
                found.extend((owner[0], n) for n in _held_in(code, start))
        at += len(line) + 1
    return found


_IMPORT_STATEMENT = lazy_pattern(
    r"^[ \t]+(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]+(\([^)]*\)|[^\n]*)", re.M
)

_MATCH_OR_CASE = lazy_pattern(r"^([ \t]*)(match|case)[ \t]+([^\n]*?)[ \t]*:[ \t]*$", re.M)


def _imported_in_functions(
    code: str, owners: Callable[[int], tuple[str, frozenset[str]] | None]
) -> list[tuple[str, str]]:
    """(name, function) for each name an import statement in a function's body binds there
    (`from q import PARTS`, `from q import PARTS as p`, `import q`)."""
    found: list[tuple[str, str]] = []
    for match in _IMPORT_STATEMENT.finditer(code):
        function = owners(match.start())
        if function is None:
            continue
        for item in match.group(1).strip("()").split(","):
            words = item.split()
            if len(words) >= 3 and words[-2] == "as":
                found.append((words[-1], function[0]))
            elif words:
                found.append((words[0].split(".")[0], function[0]))
    return found


def _captured_names(code: str) -> list[tuple[str, str, int]]:
    """(holder, held, where) for each name a `case` pattern binds and each name of its
    `match` subject: `match PARTS: case p:` makes `p` the very object (or an item of it)."""
    found: list[tuple[str, str, int]] = []
    subjects: list[tuple[int, list[str]]] = []
    for match in _MATCH_OR_CASE.finditer(code):
        indent, keyword, rest = len(match.group(1)), match.group(2), match.group(3)
        while subjects and subjects[-1][0] >= indent and keyword == "match":
            subjects.pop()
        if keyword == "match":
            subjects.append((indent, _HELD_WORD.findall(rest)))
            continue
        held = next((names for at, names in reversed(subjects) if at < indent), [])
        found.extend(
            (holder, name, match.start()) for holder in _HELD_WORD.findall(rest) for name in held
        )
    return found


def _scope_at(
    code: str, position: int, owners: Callable[[int], tuple[str, frozenset[str]] | None]
) -> str | None:
    """The function whose local a name bound at `position` is: the innermost `def` around it,
    or the one whose `def` line it is on (a parameter's default, `def f(p=PARTS):`)."""
    line = code.rfind("\n", 0, position) + 1
    defined = _DEF_LINE.match(code, line)
    if defined is not None and defined.end() <= position:
        return defined.group(2)
    found = owners(position)
    return None if found is None else found[0]


def _held_names_at(code: str) -> list[tuple[str, str, int]]:
    """(holder, held, where) for each name a value given to a name may be the very object of: `X =
    P` (also `q.P`, `P or []`, `P if c else Q`, `{"k": P}`, `[P]`, `P["k"]`), `x := P`, a
    default or a keyword `p=P`, `for p in [P]`. Not a name only read into a new object: a
    call's argument (`list(P)`, `f(P)`), an operand (`P + []`, `[*P]`), a slice (`P[:]`), a
    method's result (`P.copy()`), a comprehension's."""
    found: list[tuple[str, str, int]] = []
    for pattern in (_HOLDER, _FOR_HOLDER):
        for match in pattern.finditer(code):
            holders = _HELD_WORD.findall(match.group(1))
            stops = "\n;,"
            if pattern is _HOLDER:
                # `x, y = q.PARTS, 1`: each name of a tuple's target, any item of the value
                prefix = code[code.rfind("\n", 0, match.start()) + 1 : match.start()]
                if "," in prefix and _TUPLE_PREFIX.fullmatch(prefix) is not None:
                    holders.extend(_HELD_WORD.findall(prefix))
                    stops = "\n;"
            found.extend(
                (holder, held, match.start())
                for held in _held_in(code, match.end(), stops)
                for holder in holders
            )
    for match in _BRACKET_HOLDER.finditer(code):
        # `[p] = [P]`, `(p,) = (P,)`, `p, = [P]`, `[[p]] = [[P]]` (h35D): each name of the
        # target, any name of the value (a nested display's too)
        holders = [w for w in _HELD_WORD.findall(match.group(1)) if w not in _NOT_HELD]
        found.extend(
            (holder, held, match.start())
            for held in _held_in(code, match.end(), "\n;")
            for holder in holders
        )
    return found


def _held_in(code: str, start: int, stops: str = "\n;,") -> list[str]:
    """The names an expression starting at `start` (ending at a line's end, `,`, `;`, `:`
    or a closing bracket outside its own brackets) may hand on as they are."""
    held: list[str] = []
    stack: list[bool] = []  # each open bracket: a call's (or a subscript's slice) or not
    for token in _HELD_TOKEN.finditer(code, start, min(len(code), start + 2000)):
        char = token.group()
        position = token.start()
        if char in "([{":
            before = _char_before(code, position)
            call = char == "(" and (before.isalnum() or before in "_)]")
            if call and _word_before(code, _index_before(code, position) + 1) in _PASSING:
                call = False  # `zip(…)`, `next(iter(…))`, `D.values()`: the same objects
            stack.append(call or (char == "[" and _is_slice(code, position)))
        elif char in ")]}":
            if not stack:
                break
            stack.pop()
        elif char in "\n;,:":
            if not stack and (
                char in stops or (char == ":" and code[position + 1 : position + 2] != "=")
            ):
                break
        elif char == "for":
            return []  # a comprehension makes a new object
        elif char not in _NOT_HELD and not any(stack):
            end = token.end()
            rest = code[end : end + 40]
            after = rest.lstrip()[:1]
            before = _char_before(code, position)
            if (
                not (after == "[" and _is_slice(code, end + rest.index("[")))
                and (after != "." or _VIEW.match(code, end) is not None)
                # (a callee: `x = get()` holds what `get` returns; `D.values()` D's items)
                and not (before and before in _OPERATORS)
                and not (after and after in _OPERATORS)
            ):
                held.append(char)
    return held


def _index_before(code: str, end: int) -> int:
    """Where the last character before `end` that is no blank is (-1: none)."""
    position = end - 1
    while position >= 0 and code[position] in " \t\r\n":
        position -= 1
    return position


def _char_before(code: str, end: int) -> str:
    """The last character before `end` that is no blank ("" at the start)."""
    position = _index_before(code, end)
    return code[position] if position >= 0 else ""


def _is_slice(code: str, opening: int) -> bool:
    """Whether the subscript opened at `opening` is a slice (`P[:]`, `P[1:]`): a copy."""
    depth = 0
    for position in range(opening, min(len(code), opening + 400)):
        char = code[position]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return False
        elif char == ":" and depth == 1:
            return True
    return False


def _unread_subclass_attributes(code: str) -> list[tuple[str, str]]:
    """Each class with the names its body defines when the class's bases are not read
    (outside attack h32g): `class Admin(*BASES)`, or a base bound to something other than a
    class's name (`Base = getattr(r, "Repo")`, `Base = pick()`): it may override any other
    class's attribute. What a base subscripts (`Generic[T]`, `Repo[Model]`) is no base, and
    SQLAlchemy's `Base = declarative_base()` (no `cls=`) is a new class of no project class."""
    found: list[tuple[str, str]] = []
    if "class" not in code:
        return found
    otherwise: set[str] | None = None
    for match in _CLASS_STATEMENT.finditer(code):
        bases = _SUBSCRIPTS.sub("", match.group(3))
        if "*" not in bases:
            if otherwise is None:
                otherwise = _bound_otherwise(code)
            if not otherwise.intersection(_HELD_WORD.findall(bases)):
                continue
        indent = len(match.group(1))
        at = match.end() + 1
        while at < len(code):
            end = code.find("\n", at)
            end = len(code) if end < 0 else end
            line = code[at:end]
            at = end + 1
            body = line.lstrip(" \t")
            if not body:
                continue
            if len(line) - len(body) <= indent:
                break
            member = _MEMBER.match(body)
            if member is not None:
                found.append((match.group(2), member.group(1) or member.group(2)))
    return found


def _bound_otherwise(code: str) -> set[str]:
    """The names a file binds to something other than a (dotted) name, but for a base made
    by SQLAlchemy's `declarative_base()` / `automap_base()` imported from it without `cls=`
    (a class whose only base is SQLAlchemy's: it overrides no project class's attribute)."""
    found: set[str] = set()
    for match in _BOUND_OTHERWISE.finditer(code):
        line_end = code.find("\n", match.end())
        fresh = _FRESH_BASE.match(code, match.start(), len(code) if line_end < 0 else line_end)
        if (
            fresh is None
            or "cls" in fresh.group(2)
            or re.search(
                r"^[ \t]*from[ \t]+sqlalchemy[\w.]*[ \t]+import[^\n]*\b" + fresh.group(1) + r"\b",
                code,
                re.M,
            )
            is None
            or re.search(r"(?<!\w)(?:def|class)[ \t]+" + fresh.group(1) + r"\b", code) is not None
            or re.search(r"\bas[ \t]+" + fresh.group(1) + r"\b", code) is not None
        ):
            found.add(match.group(1))
    return found


# a class the project makes that its class statements do not show: `type(name, bases, ns)`,
# `types.new_class(…)`, a class statement whose bases are unpacked or called
_UNREAD_CLASS = lazy_pattern(
    r"type(?<!\wtype)[ \t]*\([^()\n]*,|new_class[ \t]*\("
    r"|class(?<![\w.]class)[ \t]+\w+[ \t]*\([^)=]*[*(]"
)

_CLASS_STATEMENT = lazy_pattern(r"^([ \t]*)class[ \t]+(\w+)[ \t]*\(([^)]*)\)[^\n]*$", re.M)

_SUBSCRIPTS = lazy_pattern(r"\[[^\[\]]*\]")

# a name bound to something other than a (dotted) name: `Base = getattr(r, "Repo")`
_BOUND_OTHERWISE = lazy_pattern(
    r"^[ \t]*(\w+)[ \t]*(?::[^=\n]*)?=(?!=)(?![ \t]*[\w.]+[ \t]*$)", re.M
)

_FRESH_BASE = lazy_pattern(
    r"[ \t]*\w+[ \t]*(?::[^=\n]*)?=[ \t]*(declarative_base|automap_base)[ \t]*\(([^()]*)\)[ \t]*$"
)

_MEMBER = lazy_pattern(
    r"(?:async[ \t]+)?def[ \t]+(\w+)|(?:self[ \t]*\.[ \t]*)?(\w+)[ \t]*(?::[^=\n]*)?=(?!=)"
)


def _namespace_items_read(text: str) -> set[str]:
    """The keys a file's code only reads from a namespace by subscript (`vars(q)["PARTS"]`,
    `q.__dict__["PARTS"]`, `f.__globals__["PARTS"]`): none of its subscripts by that key is
    assigned or deleted (nor the text unparsed: then none)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    read: set[str] = set()
    written: set[str] = set()
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            continue
        held = node.value
        if not (
            (isinstance(held, ast.Call) and _is_name(held.func, "vars"))
            or (isinstance(held, ast.Attribute) and held.attr in ("__dict__", "__globals__"))
        ):
            continue
        (read if isinstance(node.ctx, ast.Load) else written).add(node.slice.value)
    return read - written


def _namespace_written_by_name(code: str) -> bool:
    """Whether a file may write a module's names by a key it does not spell there (outside
    attack h32g): a namespace kept in a name and changed through it (`d = vars(q)`, `g =
    q.f.__globals__`, then `d["SQL"] = …`, `g.update(SQL=…)`), handed to `exec` (`exec(code,
    vars(q))`), or `setattr(q, key, …)` with a key computed, on a name the file imports: then
    each name it writes as a string may be the one set."""
    if "vars" not in code and "__" not in code and "setattr" not in code:
        return False
    kept = {m.group(1) for m in _NAMESPACE_KEPT.finditer(code)}
    if kept:
        for pattern in (_MUTATOR_AFTER, _AUGMENTING):
            for match in pattern.finditer(code):
                if _word_before(code, match.start()) in kept:
                    return True
        for match in _CLOSED_STORE.finditer(code):
            first = _SUBSCRIPTED_IN.search(code, code.rfind("\n", 0, match.start()) + 1)
            if first is not None and first.group(1) in kept and first.start() < match.start():
                return True
    if _EXEC_NAMESPACE.search(code) is not None or _NAMESPACE_KEY_COMPUTED.search(code):
        return True
    imported = None
    for match in _SETATTR_COMPUTED.finditer(code):
        if imported is None:
            imported = {alias for _original, alias in _import_aliases(code)}
            imported.update(w for m in _IMPORTED_NAMES.findall(code) for w in _HELD_WORD.findall(m))
        if match.group(1) in imported:
            return True
    return False


def _written_by_key(code: str) -> list[str]:
    """What a file writes the namespace of by a key not spelt at the write, as written
    (`setattr(q.Q, k, v)`: `q.Q`; `vars(cfg).update(data)`: `cfg`), also through a name kept
    for `vars(x)`."""
    if "vars" not in code and "__dict__" not in code and "setattr" not in code:
        return []
    targets = [m.group(1) or m.group(2) or m.group(3) for m in _WRITTEN_BY_KEY.finditer(code)]
    kept = {m.group(1): m.group(2) or m.group(3) for m in _KEPT_NAMESPACE_OF.finditer(code)}
    for match in _KEPT_WRITTEN_BY_KEY.finditer(code):
        if match.group(1) in kept:
            targets.append(kept[match.group(1)])
    return targets


def _namespace_written_from_data(code: str) -> set[str]:
    """The modules (by their file's stem) whose namespace a file writes by a key not spelt at
    the write, on a module it imports: `setattr(q, k, v)`, `vars(q)[k] = v`,
    `q.__dict__[k] = v`, `vars(q).update(data)` (not a display nor keywords: those are read
    by the names they spell), and the same through a name kept for `vars(q)`. The key may
    come from data the file reads (the environment, a file): any name of the module may be
    written, not only those the file spells (h32j). A namespace reached otherwise
    (`f.__globals__`, a parameter) is read by the names the file spells only."""
    targets = _written_by_key(code)
    if not targets:
        return set()
    aliases = dict((alias, original) for original, alias in _import_aliases(code))
    imported = {w for m in _IMPORTED_NAMES.findall(code) for w in _HELD_WORD.findall(m)}
    found: set[str] = set()
    for target in targets:
        parts = [p.strip() for p in target.split(".")]
        if parts[0] in aliases:
            found.add(parts[-1] if len(parts) > 1 else aliases[parts[0]].rsplit(".", 1)[-1])
        elif parts[0] in imported:
            found.add(parts[-1])
    return found


# `setattr(q, k, …)` / `vars(q)[k] = …` / `q.__dict__[k] = …`, `vars(q).update(data)` (a
# key or an argument that is not written there: not a string, a display nor a keyword)
_KEY_WRITTEN = r"\[\s*(?![\"'\s])(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]\s*=(?!=)"  # `[k[3:]] = …`

_DATA_ARGUMENT = r"\(\s*(?![)\s]|\{\s*[\"'}]|\w+\s*=(?!=))"  # no display of keys, no keyword

_WRITTEN_BY_KEY = lazy_pattern(
    r"(?:setattr(?<!\wsetattr)\s*\(\s*([\w.]+)\s*,\s*(?![\"'\s])"
    r"|vars(?<!\wvars)\s*\(\s*([\w.]+)\s*\)\s*(?:"
    + _KEY_WRITTEN
    + r"|\.\s*(?:update|__ior__)\s*"
    + _DATA_ARGUMENT
    + r"|\|=\s*(?!\{\s*[\"'}])))"
    r"|(?<![\w.])([\w.]+?)\s*\.\s*__dict__\s*(?:"
    + _KEY_WRITTEN
    + r"|\.\s*(?:update|__ior__)\s*"
    + _DATA_ARGUMENT
    + r"|\|=\s*(?!\{\s*[\"'}]))"
)

_KEPT_NAMESPACE_OF = lazy_pattern(
    r"(?<!\w)(\w+)[ \t]*(?::[^=\n]*)?=(?!=)[ \t]*(?:vars[ \t]*\([ \t]*([\w.]+)[ \t]*\)"
    r"|([\w.]+?)[ \t]*\.[ \t]*__dict__)[ \t]*$",
    re.M,
)

_KEPT_WRITTEN_BY_KEY = lazy_pattern(
    r"(?<![\w.])(\w+)\s*(?:"
    + _KEY_WRITTEN
    + r"|\.\s*(?:update|__ior__|__setitem__|setdefault)\s*"
    + r"\(\s*(?![)\s\"']|\{\s*[\"'}]|\w+\s*=(?!=))"
    + r"|\|=\s*(?!\{\s*[\"'}]))"
)

_NAMESPACE_KEPT = lazy_pattern(
    r"(?<!\w)(\w+)[ \t]*(?::[^=\n]*)?=(?!=)[ \t]*(?:vars[ \t]*\([^()\n]+\)|[\w.]+\.[ \t]*"
    r"__(?:dict|globals)__)[ \t]*$",
    re.M,
)

_EXEC_NAMESPACE = lazy_pattern(
    r"exec(?<!\wexec)\s*\((?:[^()]|\([^()]*\))*,\s*(?:vars\s*\(\s*[\w.]+|[\w.]+\.\s*__(?:dict|globals)__)"
)

_KEYWORD_ARGUMENT = lazy_pattern(r"[(,]\s*([^\W\d]\w*)\s*=(?!=)")

_NAMESPACE_KEY_COMPUTED = lazy_pattern(
    r"(?:vars\s*\([^()\n]*\)|__(?:dict|globals)__)\s*\[\s*(?![\"'\s])[^\]\n]*\]\s*=(?!=)"
)

_ASSIGNED_IN_TEXT = lazy_pattern(r"(?<![\w.])([^\W\d]\w*)\s*=(?!=)")

_SETATTR_COMPUTED = lazy_pattern(r"setattr(?<!\wsetattr)\s*\(\s*(\w+)\s*,\s*(?![\"'\s])")

_IMPORTED_NAMES = lazy_pattern(r"import(?<!\wimport)[ \t]+([\w \t,.]+)")


def _start(match: re.Match[str]) -> int:
    return match.start()


def _opening_bracket(code: str, closing: int) -> int | None:
    """Where the bracket closed at `closing` opens (looked for over 20,000 characters)."""
    depth = 0
    for position in range(closing, max(-1, closing - 20_000), -1):
        char = code[position]
        if char in ")]}":
            depth += 1
        elif char in "([{":
            depth -= 1
            if depth == 0:
                return position
    return None
