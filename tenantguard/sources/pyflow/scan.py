"""The text pre-scan of a module, before (and beside) its tree: regular expressions over its
source. Which names a module reads through a value (`_values_read`), its import aliases
(`_import_aliases`), the words of its code (`_code_words`), its text with strings and comments
blanked (`_scanned`). Relies on nothing else of the package.
"""

from __future__ import annotations

import re
from collections import Counter
from keyword import iskeyword
from typing import TYPE_CHECKING

from tenantguard._patterns import lazy_pattern

if TYPE_CHECKING:
    from collections.abc import Iterator


# the project: modules found from imports, wrappers, class attributes


# `def name` (or `async def name`) at the start of a line; `class Name(Base, other.Base):`,
# each name in its bases, as `class:Base` (see _subclasses). Found by the keyword first (a
# literal: the regular expression engine skips to it), then checked to start its line.
_DEF = lazy_pattern(r"def[ \t]+(\w+)")

_CLASS_BASES = lazy_pattern(r"class[ \t]+\w+[ \t]*\(([^)]*)\)")

# `import a.Repo as B`, `from m import Repo as B, X as Y`: a base named by its alias (helper 116)
# (each pattern led by the letters it needs, not by `\b` or `\w+`: found by searching for them)
_AS_ALIAS = lazy_pattern(r"as(?<=[ \t]as)[ \t]+(\w+)")

_WORD_AND_SPACE_BEFORE = lazy_pattern(r"(?<!\w)(\w+)[ \t]+\Z")


def _import_aliases(text: str) -> list[tuple[str, str]]:
    """`(Repo, B)` for each `Repo as B` of a text (`import a.Repo as B`, `from m import Repo as
    B, X as Y`; a `with … as` too, as a base's alias it is harmless)."""
    found: list[tuple[str, str]] = []
    for match in _AS_ALIAS.finditer(text):
        start = match.start()
        before = _WORD_AND_SPACE_BEFORE.search(text, max(0, start - 120), start)
        if before is not None:
            found.append((before.group(1), match.group(1)))
    return found


# `Base = Repo`, `Base: type = base.Repo` at a line's start: a base named by another name
# (round 25: such a subclass's table never reached the base's queries)
_NAME_ALIAS = lazy_pattern(r"^[ \t]*(\w+)[ \t]*(?::[^=\n]*)?=[ \t]*([A-Za-z_][\w.]*)[ \t]*$", re.M)

_TYPE_BASES = lazy_pattern(
    r"type(?<!\wtype)\(\s*(?:[rRuU]?[\"'][^\"'\n]*[\"']|\w+)\s*,\s*\(([^)]*)\)"
)

_DEF_LEAD = lazy_pattern(r"[ \t]*(?:async[ \t]+)?\Z")

_CLASS_LEAD = lazy_pattern(r"[ \t]*\Z")

_WORD = lazy_pattern(r"\w+")

_UNBOUND = object()

# a Python string literal (prefixes, triple quotes) or a comment; a one-line literal is read
# as runs of plain characters between escapes, not one alternation per character (that cost a
# 1 MB string literal a second and ~100 MB of the regex engine's backtracking stack, session 34)
_TRIPLE_SINGLE = "'" * 3

_TRIPLE_DOUBLE = '"' * 3

_STRING_OR_COMMENT = lazy_pattern(
    r"(?:\b[rRbBuUfF]{1,2})?(?:"
    + _TRIPLE_SINGLE
    + r"[\s\S]*?"
    + _TRIPLE_SINGLE
    + "|"
    + _TRIPLE_DOUBLE
    + r"[\s\S]*?"
    + _TRIPLE_DOUBLE
    + "|"
    + r"'[^'\\\n]*(?:\\.[^'\\\n]*)*'"
    + "|"
    + r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
    + r")|#[^\n]*"
)

# a call: `name(` (its qualifier kept: `jobs.run_sql(` is a method's, not the function's)
_CALLED = lazy_pattern(r"(?<![\w])((?:\w+\s*\.\s*)*)([A-Za-z_]\w*)\s*\(")

# a name handed on as a value, not called there — an argument (`add_api_route(PATH, run_sql)`,
# `app.add_route(run_sql)`, `signal.connect(run_sql)`), a list's, set's or dict's item, a keyword
# (`endpoint=run_kw`, `on_message=…`): someone else calls it (an alias, `f = run_sql`, is not:
# the project calls it by that name).
# Not the first argument of a helper that calls it with the project's arguments (`retry(f, SQL)`,
# `partial(f, …)`, `to_thread(f, …)`, `gather`…: `_FORWARDERS`), nor `run_in_executor(None, f)`
_VALUE_USE = lazy_pattern(
    # (no `\s*` before the punctuation: a match may start at any space, the same matches)
    r"(?:(?<!\bNone)[,\[:{]|\b\w+\s*=(?!=))"
    r"\s*((?:\w+\s*\.\s*)*)([A-Za-z_]\w*)\s*(?=[,)\]}])"
)

_FIRST_ARGUMENT = lazy_pattern(
    r"((?<!\w)\w+|\))\s*\(\s*((?:\w+\s*\.\s*)*)([A-Za-z_]\w*)\s*(?=[,)])"
)

# helpers that call the function they are given with the arguments the project gives them
_FORWARDERS = frozenset(
    """partial partialmethod retry with_retry retrying to_thread run_in_threadpool
    run_in_executor sync_to_async async_to_sync run_sync gather create_task ensure_future
    wait_for shield wraps map filter sorted min max reduce submit apply call_soon
    call_later run_until_complete run timeit cache lru_cache""".split()  # noqa: SIM905
)

_GETATTR = lazy_pattern(r"""getattr(?<!\wgetattr)\s*\(\s*[^,()]+,\s*["'](\w+)["']""")

_IMPORT = lazy_pattern(r"^[ \t]*(?:from[ \t]+\S+[ \t]+)?import[ \t]+(?:\([^)]*\)|[^\n]*)", re.M)


# any name read as a value, not called (`name(`), read into (`name.x`), assigned (`name =`),
# defined (`def name`, `class name`), a return annotation (`-> Name`) nor a keyword:
# `return run_all`, `run_all if x else …`, `x or run_all`, `(run_all, )`, `(k := Pages)` — a
# function or class handed on so is called by whoever gets it (h35Q: a wrapper read as one
# the project alone calls passed their SQL in silence)
_NAME_TOKEN = lazy_pattern(r"[A-Za-z_]\w*")

# forwarders that call the function with the items of what they are given, not with it
_MAPPERS = frozenset({"map", "filter", "reduce", "starmap"})

# the start of `P = functools.partial(` (up to the callee)
_PARTIAL_BOUND = lazy_pattern(r"[ \t]*(\w+)[ \t]*=[ \t]*(?:\w+[ \t]*\.[ \t]*)*")

_NOT_A_VALUE_AFTER = frozenset({"def", "class", "as", "global", "nonlocal", "del", "import"})

_OPERATOR_BEFORE_EQUALS = frozenset("=!<>:+-*/%&|^@~")

# a `partial(f, …)` call standing where a value is handed on: `{"p": partial(f, c)}`,
# `return partial(f, c)`, `register(partial(f, c))` (not `P = partial(f, c)`: called by P)
_HANDED_CALL = lazy_pattern(r"(?:[\[{(,:]|\breturn|\byield)\s*(?:\w+\s*\.\s*)*\Z")

# objects made by their class taken from another object: `type(p)(…)`, `p.__class__(…)` (not
# `type(self)(…)`, `self.__class__(…)`: the class whose method it is or a subclass, read
# with that class, `made_by_the_project` — h36D: one such call anywhere left
# every constructor of the project unknown)
_MADE_BY_TYPE = lazy_pattern(
    r"(?<![\w.])type\s*\((?!\s*self\s*\))[^()]*\)\s*\(|(?<!(?<![\w.])self\.)__class__\s*\("
)


def _values_read(code: str, counts: Counter[str]) -> list[tuple[str, str]]:
    """The names a code (strings, comments and imports blanked) reads as values, as
    (qualifier, name): any name not called (`name(`), read into (`name.x`), assigned
    (`name =`), defined (`def name`, `class name`), a return annotation (`-> Name`) nor a
    keyword — `return run_all`, `run_all if x else …`, `x or run_all`, `(run_all, )`, `(k :=
    Pages)`: a function or class handed on so is called by whoever gets it (h35Q: a wrapper
    read as one the project alone calls passed their SQL in silence). The qualifier is the
    last name before a dot (`views.run_sql`: `views`). A plain alias alone on its line
    (`sender = wrappers.send`) is a value only if the alias is one. A forwarder's first
    argument (`to_thread(f, …)`, `partial(Pages, pool)`, `map(Pages, …)`) is counted as
    `forwarded name` instead — a value too when the forwarder is `partial` handed on itself.
    `made by type` counts the objects made by another object's class (`type(p)(…)`).
    One pass of a plain name pattern, the neighbours read by hand (a pattern holding them was
    three times slower on a file of 10 000 lines)."""
    found: list[tuple[str, str]] = []
    counts["made by type"] += len(_MADE_BY_TYPE.findall(code))
    aliases: dict[str, list[tuple[str, str]]] = {}
    size = len(code)
    for match in _NAME_TOKEN.finditer(code):
        begin, end = match.span()
        if begin and (code[begin - 1].isalnum() or code[begin - 1] == "_"):
            continue  # (inside a word: `2x`)
        after = end
        while after < size and code[after] in " \t":
            after += 1
        following = code[after] if after < size else "\n"
        if following in "(.'\"" or (
            following == "=" and (after + 1 >= size or code[after + 1] != "=")
        ):
            continue
        name = match.group()
        if iskeyword(name):
            continue
        before = begin - 1
        while before >= 0 and code[before] in " \t":
            before -= 1
        previous = code[before] if before >= 0 else "\n"
        qualifier = ""
        start = begin  # where the dotted chain starts
        if previous == ".":
            at = before - 1
            while at >= 0 and code[at] in " \t":
                at -= 1
            owner = _NAME_TOKEN.search(code, max(0, at - 80), at + 1)
            while owner is not None and owner.end() < at + 1:
                owner = _NAME_TOKEN.search(code, owner.end(), at + 1)
            if owner is None or owner.end() != at + 1:
                continue  # `f().name`, `x[0].name`: not read
            qualifier = owner.group()
            # (the chain's start: back over `a.b.`)
            start = owner.start()
            while True:
                at = start - 1
                while at >= 0 and code[at] in " \t":
                    at -= 1
                if at < 0 or code[at] != ".":
                    break
                at -= 1
                while at >= 0 and code[at] in " \t":
                    at -= 1
                head = at
                while head >= 0 and (code[head].isalnum() or code[head] == "_"):
                    head -= 1
                if head == at:
                    break
                start = head + 1
            before = start - 1
            while before >= 0 and code[before] in " \t":
                before -= 1
            previous = code[before] if before >= 0 else "\n"
        if previous == ">" and before > 0 and code[before - 1] == "-":
            continue  # `-> Name`
        if previous.isalnum() or previous == "_":
            head = before
            while head >= 0 and (code[head].isalnum() or code[head] == "_"):
                head -= 1
            if code[head + 1 : before + 1] in _NOT_A_VALUE_AFTER:
                continue
        elif previous == "=" and (before == 0 or code[before - 1] not in _OPERATOR_BEFORE_EQUALS):
            line = code.rfind("\n", 0, before) + 1
            target = code[line:before].strip()
            rest = after
            while rest < size and code[rest] in " \t;":
                rest += 1
            if target.isidentifier() and (rest >= size or code[rest] == "\n"):
                # `sender = wrappers.send`: called by the project under another name; a
                # value only if that name is one (`ROUTES = {"x": sender}`)
                aliases.setdefault(target, []).append((qualifier, name))
                continue
        elif previous in "(,":
            at = before
            if previous == ",":  # `run_in_executor(None, f)`
                at -= 1
                while at >= 0 and code[at] in " \t\n":
                    at -= 1
                if code[max(0, at - 3) : at + 1] != "None":
                    at = -1
                else:
                    at -= 4
                    while at >= 0 and code[at] in " \t\n":
                        at -= 1
                    if at < 0 or code[at] != "(":
                        at = -1
            if at >= 0:
                head = at - 1
                while head >= 0 and code[head] in " \t":
                    head -= 1
                tail = head
                while head >= 0 and (code[head].isalnum() or code[head] == "_"):
                    head -= 1
                callee = code[head + 1 : tail + 1]
                if callee in _FORWARDERS:
                    counts["forwarded " + name] += 1
                    if callee in _MAPPERS:  # `map(run_all, [conn], lists)`: each item's
                        counts["mapped " + name] += 1
                    if callee not in ("partial", "partialmethod"):
                        continue
                    line = code.rfind("\n", 0, head + 1) + 1
                    assigned = _PARTIAL_BOUND.fullmatch(code, line, head + 1)
                    if assigned is not None:
                        # `P = partial(run_all, conn)`: an alias of it (`ROUTES = {"p": P}`)
                        aliases.setdefault(assigned.group(1), []).append((qualifier, name))
                        continue
                    if not _HANDED_CALL.search(code, max(0, head - 120), head + 1):
                        continue
        found.append((qualifier, name))
    handed = {name for qualifier, name in found if not qualifier}
    grown = True
    while grown:  # (`a = run_all; b = a; ROUTES = [b]`)
        grown = False
        for held in [h for h in aliases if h in handed]:
            for aliased in aliases.pop(held):
                found.append(aliased)
                if not aliased[0] and aliased[1] not in handed:
                    handed.add(aliased[1])
                    grown = True
    return found


def _blank_but_quotes(match: re.Match[str]) -> str:
    """A string literal as `""` (a comment as a blank): its words gone, its place kept."""
    literal = match.group(0)
    return " " if literal.startswith("#") else '""'


def _code_words(text: str, blanked: str | None = None) -> Counter[str]:
    """How a Python text uses each name as code (not inside its comments or strings, not in
    its imports): `name` the calls (`name(`, `obj.name(`), `def name` the definitions (whose
    `name(` counts as a call), `value name` the other uses (passed on: `add_api_route("/run",
    name)`, `{"run": name}`, `callback=obj.name`). `blanked`: the text's `_blanked`, when
    already made."""
    counts: Counter[str] = Counter(
        "getattr " + name for name in _GETATTR.findall(text)
    )  # `getattr(repo, "find")(…)`: called by a name the code computes with
    if blanked is None:
        blanked = _STRING_OR_COMMENT.sub(_blank_but_quotes, text)
    code = _IMPORT.sub(" ", blanked)
    for qualifier, name in _CALLED.findall(code):
        counts[name] += 1  # any call of the name (a method's, by `obj.name(`)
        if not qualifier:
            counts["bare " + name] += 1  # a function's, by its name alone
        else:  # `views.run_sql(`: by its module's (or object's) last name
            counts["call " + qualifier.rstrip(". \t").rsplit(".", 1)[-1].strip() + "." + name] += 1
    for name in _DEF.findall(code):
        counts["def " + name] += 1
    uses = _VALUE_USE.findall(code) + [
        (qualifier, name)
        for callee, qualifier, name in _FIRST_ARGUMENT.findall(code)
        if callee not in _FORWARDERS
    ]
    uses += _values_read(code, counts)
    imported = {
        word for line in _IMPORT.findall(text) for word in _WORD.findall(line.split("import", 1)[1])
    }
    for original, alias in _import_aliases(text):
        # `from bot.loops import run_all as ra`, then `ra` handed on: run_all is (h35Q)
        if any(not q and n == alias for q, n in uses):
            uses.append(("", original))
            imported.add(original)
    for qualifier, name in uses:
        if not qualifier:
            counts["value " + name] += 1
            if name in imported:  # `from handlers import run_sql` then registered here
                counts["imported value " + name] += 1
        else:  # `views.run_sql`, `self.fetch_all`: the module's (or the object's) last name
            counts["value " + qualifier.rstrip(". \t").rsplit(".", 1)[-1].strip() + "." + name] += 1
    return counts


# the last word of a decorator call that makes a function a framework's handler: web routes,
# chat commands, event listeners — the framework passes its arguments, from outside
_FRAMEWORK_HOOKS = frozenset(
    """get post put patch delete head options route api_route websocket command
    slash_command hybrid_command message_command user_command listener event on_event
    on_message subscriber""".split()  # noqa: SIM905
)


def _at_line_starts(pattern: re.Pattern[str], lead: re.Pattern[str], text: str) -> Iterator[str]:
    """Group 1 of each match of `pattern` preceded on its line by `lead` only (as
    `^lead pattern` with re.MULTILINE finds them, several times faster on a large file)."""
    position = 0
    while True:
        match = pattern.search(text, position)
        if match is None:
            return
        start = match.start()
        if lead.match(text, text.rfind("\n", 0, start) + 1, start):
            yield match.group(1)
            position = match.end()
        else:
            position = start + 1  # not at a line's start: a match may begin inside it


_BLANKED_SEEN: dict[str, tuple[str, str]] = {}  # `_scanned` by text


def _blanked(text: str) -> str:
    """A project file's text with its strings and comments blanked (`""`, a space), made once
    per process for the scans that read it (the check cache's and the index's)."""
    return _scanned(text)[0]


def _uncommented(text: str) -> str:
    """A project file's text without its comments (a space each), its strings kept: what the
    scans that read names in strings read (`setattr(q, "X", …)`; not a comment saying so)."""
    return _scanned(text)[1]


def _scanned(text: str) -> tuple[str, str]:
    """`_blanked` and `_uncommented`, made in one pass and kept for the process."""
    made = _BLANKED_SEEN.get(text)
    if made is None:
        if len(_BLANKED_SEEN) >= 8192:
            _BLANKED_SEEN.clear()
        code: list[str] = []
        kept: list[str] = []
        at = 0
        for match in _STRING_OR_COMMENT.finditer(text):
            start = match.start()
            before = text[at:start]
            literal = match.group(0)
            comment = literal.startswith("#")
            code.append(before)
            code.append(" " if comment else '""')
            kept.append(before)
            kept.append(" " if comment else literal)
            at = match.end()
        code.append(text[at:])
        kept.append(text[at:])
        made = _BLANKED_SEEN[text] = ("".join(code), "".join(kept))
    return made
