"""The values a Python string expression can take, as far as they can be known before it runs.

A `Value` is a tuple of alternatives (the strings an expression may hold: one per reaching
assignment, branch of a conditional, …); an alternative is a tuple of parts, each a `Lit` (text
that is in the source, with where it stands) or a `Hole` (text only known at run time, with where
it enters and why it is unknown). A plain constant is one alternative of one `Lit`.

`%` and `str.format` templates, `" ".join([...])` and psycopg's `sql.SQL(...).format(...)` are
computed part by part, so every character keeps its place in the file.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, cast

from tenantguard._patterns import lazy_pattern
from tenantguard.sources.pystrings import Positions, char_column, constant_pieces, fstring_pieces

__all__ = [
    "MAX_ALTERNATIVES",
    "Collapse",
    "Hole",
    "Lit",
    "Origin",
    "Part",
    "Value",
    "concat",
    "format_percent",
    "format_template",
    "formatted",
    "hole",
    "integer_value",
    "join_values",
    "skeleton",
    "starts_like_sql",
    "substitute_template",
    "union",
]

# beyond this many possible strings, the value counts as unknown (32 until round 22: a search
# with four optional filters, three sort keys and two directions is 48 — helper 101)
MAX_ALTERNATIVES = 128


class Origin:
    """A Python source file as values refer to it: its lines, and positions memoized per node."""

    __slots__ = ("_memo", "display", "lines", "path")

    def __init__(self, lines: list[str], path: str | None = None, display: str = "") -> None:
        self.lines = lines
        self.path = path
        self.display = display or path or "<source>"
        self._memo: dict[int, tuple[Positions, list[int]]] = {}

    def positions(self, node: ast.expr) -> tuple[Positions, list[int]]:
        """Positions of a literal's value (an f-string: of its constant parts, and where each
        part starts in them)."""
        memo = self._memo.get(id(node))
        if memo is None:
            if isinstance(node, ast.JoinedStr):
                memo = fstring_pieces(self.lines, node)
            else:
                assert isinstance(node, ast.Constant)
                memo = (constant_pieces(self.lines, node), [0])
            self._memo[id(node)] = memo
        return memo

    def same_file(self, other: Origin) -> bool:
        """Whether `other` is this file, read again (a module read before the check of its own
        file, whose text comes back through another module's value)."""
        return self is other or (
            self.path is not None and other.path == self.path and other.lines == self.lines
        )

    def node_position(self, node: ast.AST) -> tuple[int, int]:
        line: int = getattr(node, "lineno", None) or 1
        column: int = getattr(node, "col_offset", None) or 0
        if 0 < line <= len(self.lines):
            column = char_column(self.lines[line - 1], column)
        return line, column + 1

    def node_end(self, node: ast.AST) -> tuple[int, int]:
        line: int = getattr(node, "end_lineno", None) or getattr(node, "lineno", None) or 1
        column: int = getattr(node, "end_col_offset", None) or 0
        if 0 < line <= len(self.lines):
            column = char_column(self.lines[line - 1], column)
        return line, column + 1


class Lit(NamedTuple):
    """Text that stands in the source: `text` starts at `offset` of `node`'s value.

    (Named tuples: built by the thousand while a module is read, they cost less than frozen
    dataclasses; equal when their fields are — nodes and origins compare by identity.)
    """

    text: str
    origin: Origin
    node: ast.expr | None  # the Constant or JoinedStr it is part of; None: no literal holds it
    offset: int = 0
    anchor: ast.AST | None = None  # where text with no literal of its own points
    read_from: str | None = None  # the file whose text this is (`(SQL_DIR / "x.sql").read_text()`)

    def position(self, inside: int) -> tuple[int, int]:
        if self.node is None:
            return self.origin.node_position(self.anchor) if self.anchor else (1, 1)
        positions, _ = self.origin.positions(self.node)
        return positions.position(self.offset + inside)

    def sliced(self, start: int, end: int | None = None) -> Lit:
        end = len(self.text) if end is None else end
        return Lit(
            self.text[start:end],
            self.origin,
            self.node,
            self.offset + start,
            self.anchor,
            self.read_from,
        )


class Hole(NamedTuple):
    """Text only known at run time."""

    node: ast.AST  # where the unknown value enters the string
    origin: Origin
    reason: str
    param: str | None = None  # a parameter of `owner`, passed on unchanged
    owner: object | None = None  # the function `param` belongs to
    kind: str | None = None  # "value", "name" or "clause" when the code says which; "literal":
    # a value psycopg quotes (`sql.Literal(x)`), "number"/"integer": formatted numbers
    string: bool = True  # False when it is known not to be a string (a number, an int parameter)
    # a call of project functions (a callable giving them): what their `return`s give, read
    # once every function body has run
    returns: object | None = None
    # a constant number or bool: formatted into a string (f-string, `.format`, `%`) it is text
    number: int | float | None = None
    # surely an `int` (exactly): an int literal, `int(…)`, `len(…)`, `+ - *` of those (never
    # an annotation, which Python does not enforce): formatted, digits and a leading minus
    integer: bool = False
    # with `returns`: the item of the tuple the call returns (`sql, args = build(…)`)
    position: int | None = None
    # a constant Python reads as false (None, False, 0): `x or "id"` gives "id" in its place
    false: bool = False
    # with `returns`: the arguments the call gives — (bound, each positional's value or None
    # when unpacked, (keyword, value) pairs) —, for the parameters its callee returns unchanged (`def q(text): return dedent(text).strip()`, then `q("SELECT …")`)
    given: object | None = None
    # with `param`: what the function does to the parameter's text before it is sent or
    # returned (`" ".join(sql.split())`: a `Collapse`), done to the argument put in its place
    transform: Callable[[Value], Value] | None = None


Part = Lit | Hole
Alternative = tuple[Part, ...]
Value = tuple[Alternative, ...]


def hole(
    node: ast.AST,
    origin: Origin,
    reason: str,
    *,
    param: str | None = None,
    owner: object | None = None,
    kind: str | None = None,
    string: bool = True,
    returns: object | None = None,
    number: int | float | None = None,
    integer: bool = False,
    position: int | None = None,
    false: bool = False,
    given: object | None = None,
) -> Value:
    return (
        (
            Hole(
                node,
                origin,
                reason,
                param,
                owner,
                kind,
                string,
                returns,
                number,
                integer,
                position,
                false,
                given,
            ),
        ),
    )


def integer_value(value: Value) -> bool:
    """Whether every alternative of a value is surely an `int` (see `Hole.integer`)."""
    return bool(value) and all(len(a) == 1 and type(a[0]) is Hole and a[0].integer for a in value)


def formatted_numbers(value: Value, spec: str, at: Lit | ast.AST, origin: Origin) -> Value:
    """The value formatted into a string with `spec` (a format spec, or a `%` field): each
    alternative that is a constant number becomes its text, placed where it is written in."""
    out: list[Alternative] = []
    for alternative in value:
        first = alternative[0] if len(alternative) == 1 else None
        number = first.number if type(first) is Hole else None
        text = None if number is None else _number_text(number, spec)
        if text is None:
            out.append(alternative)
        elif isinstance(at, Lit):
            out.append((Lit(text, at.origin, at.node, at.offset, at.anchor),))
        else:
            out.append((Lit(text, origin, None, 0, at),))
    return tuple(out)


def formatted(value: Value, conversion: str, spec: str, at: Lit | ast.AST, origin: Origin) -> Value:
    """The value formatted into a string as Python formats it: `!r`/`!a`/`!s` (`conversion`),
    then a format spec (`>5`, `.3`) or a `%` field (`%5s`, `%r`). A constant alternative (text
    or number) becomes the text Python makes, placed where the field is written; one known at
    run time stays as it is. A constant Python would refuse to format is left to run time."""
    if conversion in ("", "s") and spec in ("", "s", "%s"):
        return formatted_numbers(value, spec, at, origin)  # text as it is: positions kept
    out: list[Alternative] = []
    for alternative in value:
        first = alternative[0] if len(alternative) == 1 else None
        constant: object
        if is_constant(alternative):
            constant = text_of(alternative)
        elif type(first) is Hole and first.number is not None:
            constant = first.number
        else:
            out.append(alternative)
            continue
        text = _python_format(constant, conversion, spec)
        if text is None:
            where = (at.node or at.anchor or ast.Pass()) if isinstance(at, Lit) else at
            reason = "Python cannot format this value with this spec"
            out.append((Hole(where, origin, reason, kind="value"),))
        elif isinstance(at, Lit):
            out.append((Lit(text, at.origin, at.node, at.offset, at.anchor),))
        else:
            out.append((Lit(text, origin, None, 0, at),))
    return tuple(out)


def _python_format(value: object, conversion: str, spec: str) -> str | None:
    try:
        if spec.startswith("%"):
            return re.sub(r"^%\([^)]*\)", "%", spec) % (value,)
        if conversion == "r":
            value = repr(value)
        elif conversion == "a":
            value = ascii(value)
        elif conversion == "s":
            value = str(value)
        return format(value, spec)
    except (TypeError, ValueError, OverflowError):
        return None


def _number_text(number: int | float, spec: str) -> str | None:
    try:
        if spec.startswith("%"):
            return re.sub(r"^%\([^)]*\)", "%", spec) % number
        return format(number, spec)
    except (TypeError, ValueError):
        return None  # a spec Python rejects for this value: left to run time


def _capped(alternatives: list[Alternative], node: ast.AST, origin: Origin) -> Value:
    if len(alternatives) > MAX_ALTERNATIVES:
        return hole(
            node, origin, f"the string can take more than {MAX_ALTERNATIVES} different values"
        )
    return tuple(alternatives)


def union(values: Sequence[Value], node: ast.AST, origin: Origin) -> Value:
    """Any of the values: their alternatives, each once, in order."""
    # each once, compared in full only with those of its length and last part: hashing every
    # alternative whole made `q += "…"` n times cost n² (helper h32k)
    kept: list[Alternative] = []
    buckets: dict[tuple[int, Alternative], list[Alternative]] = {}
    for value in values:
        for alternative in value:
            bucket = buckets.setdefault((len(alternative), alternative[-1:]), [])
            if not any(alternative is other or alternative == other for other in bucket):
                bucket.append(alternative)
                kept.append(alternative)
    return _capped(kept, node, origin)


def concat(values: Sequence[Value], node: ast.AST, origin: Origin) -> Value:
    """The values one after the other: every combination of their alternatives."""
    result: list[Alternative] = [()]
    # parts of single values, joined to each alternative once a value of several comes (or at
    # the end): appended one by one, an f-string of n parts cost n² (helper h32k)
    pending: list[Part] = []
    for value in values:
        if len(result) * len(value) > MAX_ALTERNATIVES:
            # over the cap: this part is a hole, the text around it is still read
            reason = f"the string can take more than {MAX_ALTERNATIVES} different values"
            value = hole(node, origin, reason)
        if len(value) == 1:
            pending.extend(value[0])
            continue
        if pending:
            tail = tuple(pending)
            result = [a + tail for a in result]
            pending = []
        result = [a + b for a in result for b in value]
    if pending:
        tail = tuple(pending)
        result = [a + tail for a in result]
    return tuple(result)


def is_constant(alternative: Alternative) -> bool:
    return all(type(p) is Lit for p in alternative)


def text_of(alternative: Alternative) -> str:
    return "".join(p.text if type(p) is Lit else "" for p in alternative)


def skeleton(alternative: Alternative) -> str:
    """The text with every hole left empty (to see how the string starts)."""
    return text_of(alternative)


_SQL_START = lazy_pattern(
    r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*\(*\s*"
    r"(SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|TABLE|VALUES|CREATE|ALTER|DROP|"
    r"GRANT|REVOKE|COMMENT|DO|LOCK|SET|RESET|SHOW|BEGIN|START|COMMIT|ROLLBACK|END|SAVEPOINT|"
    r"RELEASE|PREPARE|EXECUTE|DEALLOCATE|DECLARE|FETCH|MOVE|CLOSE|LISTEN|NOTIFY|UNLISTEN|"
    r"DISCARD|VACUUM|ANALYZE|ANALYSE|EXPLAIN|REFRESH|REINDEX|CLUSTER|CALL|ABORT|CHECKPOINT|"
    r"IMPORT|SECURITY|LOAD|REASSIGN)\b",
    re.IGNORECASE | re.DOTALL,
)
_QUERY_START = lazy_pattern(
    r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*\(*\s*(SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|TRUNCATE|"
    r"COPY|TABLE)\s",
    re.IGNORECASE | re.DOTALL,
)


def starts_like_sql(text: str, *, query_only: bool = False) -> bool:
    """Whether text begins with a SQL statement keyword (`query_only`: a query or DML one)."""
    return (_QUERY_START if query_only else _SQL_START).match(text) is not None


# templates


_PERCENT = lazy_pattern(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)
_FIELD = lazy_pattern(r"\{\{|\}\}|\{(?P<field>[^{}]*)\}")
_NAME = lazy_pattern(r"[A-Za-z_]\w*\Z")

# what a value's place in a template says about it: `%d` and `{:d}` are numbers
_NUMERIC = frozenset("diouxXeEfFgG")


@dataclass(frozen=True, slots=True)
class _Field:
    key: int | str | None  # position, keyword, or None for the next positional argument
    converted: bool  # `%d`, `%r`, `{:d}`: the argument's text is made at run time (a value)
    lit: Lit  # the field's text, for positions
    conversion: str = ""  # `{!r}`: "r"


def _split(
    alternative: Alternative,
    pattern: re.Pattern[str],
    field: Callable[[re.Match[str], Lit], _Field | Lit | None],
) -> list[Part | _Field] | None:
    """Splits the template's literal text at its fields; None when a field cannot be read."""
    out: list[Part | _Field] = []
    for part in alternative:
        if type(part) is not Lit:
            out.append(part)
            continue
        last = 0
        for match in pattern.finditer(part.text):
            if match.start() > last:
                out.append(part.sliced(last, match.start()))
            found = field(match, part.sliced(match.start(), match.end()))
            if found is None:
                return None
            out.append(found)
            last = match.end()
        if last < len(part.text):
            out.append(part.sliced(last))
    return out


def _fill(
    pieces: list[Part | _Field],
    positional: Sequence[Value],
    keywords: dict[str, Value],
    node: ast.AST,
    origin: Origin,
) -> Value | str:
    """The template with each field replaced by its argument's value, or why it cannot be."""
    parts: list[Value] = []
    automatic = 0
    for piece in pieces:
        if not isinstance(piece, _Field):
            parts.append(((piece,),))
            continue
        key = piece.key
        if key is None:
            key = automatic
            automatic += 1
        if isinstance(key, int):
            if key >= len(positional):
                return "the template has more fields than arguments"
            argument = positional[key]
        elif key in keywords:
            argument = keywords[key]
        else:
            return f"the template's field {key!r} has no argument"
        spec = _spec_of(piece.lit.text)
        value = formatted(argument, piece.conversion, spec, piece.lit, origin)
        if spec in _DIGITS_SPECS and integer_value(value):
            # an int known at run time (`"LIMIT {}".format(int(n))`, `"LIMIT %d" % len(xs)`):
            # digits and a minus, as in an f-string (python.py checks its place)
            value = tuple((a[0]._replace(kind="integer"),) for a in value if type(a[0]) is Hole)
        elif spec in ("%d", "%i", "%u"):
            # `%d` takes a number only (or raises): any value is written as digits and a minus
            value = tuple(
                a
                if is_constant(a)
                else (
                    Hole(
                        a[0].node if len(a) == 1 and type(a[0]) is Hole else node,
                        origin,
                        "a number formatted into the string with `%d` at run time",
                        kind="integer",
                        string=False,
                        integer=True,
                    ),
                )
                for a in value
            )
        elif piece.converted:
            # constants are formatted as Python formats them: what is left is made at run time
            value = tuple(a if is_constant(a) else _as_value(a, node, origin) for a in value)
        parts.append(value)
    return concat(parts, node, origin)


# formats that write an int as its digits (and a minus)
_DIGITS_SPECS = frozenset({"", "d", "%d", "%i", "%s", "%u"})


def _spec_of(field: str) -> str:
    """A template field's format: `%5d` as written, `{n:>5}` its spec."""
    if field.startswith("%"):
        return re.sub(r"^%\([^)]*\)", "%", field)  # `%(n)d`: read as `%d` (helper 113)
    _, _, spec = field[1:-1].partition(":")
    return spec


def _as_value(alternative: Alternative, node: ast.AST, origin: Origin) -> Alternative:
    """An argument formatted by a conversion: a value known at run time."""
    holes = [p for p in alternative if isinstance(p, Hole)]
    if len(holes) == len(alternative):
        return tuple(p._replace(kind="value") for p in holes)
    return (Hole(node, origin, "a value formatted into the string at run time", kind="value"),)


def format_percent(
    template: Value,
    arguments: Sequence[Value] | dict[str, Value],
    node: ast.AST,
    origin: Origin,
) -> Value:
    """`template % arguments`: a tuple of values, or a mapping for `%(name)s` fields."""
    out: list[Value] = []
    for alternative in template:

        def field(match: re.Match[str], lit: Lit) -> _Field | Lit | None:
            conv = match.group("conv")
            if conv == "%":
                return lit.sliced(0, 1)
            key = match.group("key")
            if "*" in match.group():
                return None
            return _Field(key, conv != "s" or match.group() not in ("%s", f"%({key})s"), lit)

        pieces = _split(alternative, _PERCENT, field)
        if pieces is None:
            out.append(hole(node, origin, "the `%` template has a field the tool does not read"))
            continue
        if isinstance(arguments, dict):
            filled = _fill(pieces, [], arguments, node, origin)
        else:
            filled = _fill(pieces, arguments, {}, node, origin)
            fields = sum(1 for p in pieces if isinstance(p, _Field))
            if not isinstance(filled, str) and fields != len(arguments):
                filled = "the template's fields and the arguments do not match"
        out.append(hole(node, origin, filled) if isinstance(filled, str) else filled)
    return union(out, node, origin)


def format_template(
    template: Value,
    positional: Sequence[Value],
    keywords: dict[str, Value],
    node: ast.AST,
    origin: Origin,
) -> Value:
    """`template.format(*positional, **keywords)` (also psycopg's `sql.SQL(...).format`)."""
    out: list[Value] = []
    for alternative in template:

        def field(match: re.Match[str], lit: Lit) -> _Field | Lit | None:
            text = match.group()
            if text in ("{{", "}}"):
                return lit.sliced(0, 1)
            spec = match.group("field") or ""
            name, _, format_spec = spec.partition(":")
            name, bang, conversion = name.partition("!")
            if bang and conversion not in ("s", "r", "a"):
                return None
            key: int | str | None
            if name == "":
                key = None
            elif name.isdigit():
                key = int(name)
            elif _NAME.match(name):
                key = name
            else:
                return None  # `{0.attr}`, `{a[0]}`: computed at run time
            # a spec or `!r` of a value known at run time: a value made by Python
            converted = (bool(format_spec) and format_spec[-1:] in _NUMERIC) or conversion in (
                "r",
                "a",
            )
            return _Field(key, converted, lit, conversion)

        pieces = _split(alternative, _FIELD, field)
        if pieces is None:
            out.append(hole(node, origin, "the template has a field the tool does not read"))
            continue
        filled = _fill(pieces, positional, keywords, node, origin)
        out.append(hole(node, origin, filled) if isinstance(filled, str) else filled)
    return union(out, node, origin)


# `string.Template`'s placeholders: `$$`, `$name`, `${name}`, and a `$` before anything else
_TEMPLATE_FIELD = lazy_pattern(
    r"\$(?:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)|\{(?P<braced>[_a-z][_a-z0-9]*)\}|(?P<invalid>))",
    re.IGNORECASE | re.ASCII,
)


def substitute_template(
    template: Value, keywords: dict[str, Value], node: ast.AST, origin: Origin, *, safe: bool
) -> Value:
    """`string.Template(template).substitute(**keywords)` (`safe`: `safe_substitute`, which
    leaves a `$` it cannot read, and a name it is not given, as they are written)."""
    out: list[Value] = []
    for alternative in template:

        def field(match: re.Match[str], lit: Lit) -> _Field | Lit | None:
            if match.group("escaped") is not None:
                return lit.sliced(0, 1)
            name = match.group("named") or match.group("braced")
            if name is None or (safe and name not in keywords):
                # `$1` (an asyncpg placeholder): `substitute` raises, `safe_substitute` keeps it
                return lit if safe else None
            return _Field(name, False, lit)

        pieces = _split(alternative, _TEMPLATE_FIELD, field)
        if pieces is None:
            out.append(hole(node, origin, "the template has a `$` Python cannot substitute"))
            continue
        filled = _fill(pieces, (), keywords, node, origin)
        out.append(hole(node, origin, filled) if isinstance(filled, str) else filled)
    return union(out, node, origin)


# a Jinja template's tags: `{{ expression }}`, `{% statement %}`, `{# comment #}` (the `-`
# of whitespace control read past: blanks change nothing PostgreSQL reads here)
# `{%- … -%}` strips the blanks (newlines too) before / after the tag; `trim_blocks` drops the
# newline right after a block or comment tag, `lstrip_blocks` the spaces and tabs before one
# alone on its line (`{%+` / `+%}` keep them): a `-- comment` before such a tag then runs on
# into the text after it (h35Q: 'WHERE uses >= 0 -- narrowed below\n{%- if g -%}\nAND
# guild_id = $1' renders 'WHERE uses >= 0 -- narrowed belowAND guild_id = $1', read pinned)
_JINJA_TAG = lazy_pattern(
    r"\{\{[-+]?(.*?)[-+]?\}\}|\{%[-+]?(.*?)[-+]?%\}|\{#[-+]?.*?[-+]?#\}", re.DOTALL
)
_JINJA_NAME = lazy_pattern(r"[_A-Za-z][_A-Za-z0-9]*")


class _JinjaTag(NamedTuple):
    kind: str  # "expression", "statement" or "comment"
    text: str  # what is inside the braces, stripped
    lit: Lit
    raw: str = ""  # the tag as written (its `-` / `+` marks)


class _JinjaUnread(Exception):
    """A tag the reader does not follow (`{% set %}`, `{% macro %}`, `{% include %}`…)."""


def render_jinja(
    template: Value,
    keywords: dict[str, Value],
    node: ast.AST,
    origin: Origin,
    *,
    trim_blocks: bool = False,
    lstrip_blocks: bool = False,
) -> Value:
    """`jinja2.Template(text).render(**keywords)` (h35G: a SQL template whose tenant filter
    sits under `{% if tenant_id %}` was TG009, a warning, whatever it left out): the text each
    path through its `{% if %}` / `{% elif %}` / `{% else %}` makes, each branch one
    alternative (no `{% else %}`: also nothing); `{{ name }}` is the value a keyword gives
    `render`, anything else a value known at run time (its neutral fill for its place); a
    `{% for %}` block is text known at run time; any other statement makes the whole text
    unknown."""
    out: list[Value] = []
    for alternative in template:
        items: list[Part | _JinjaTag] = []
        for part in alternative:
            if type(part) is not Lit:
                items.append(part)
                continue
            last = 0
            for match in _JINJA_TAG.finditer(part.text):
                if match.start() > last:
                    items.append(part.sliced(last, match.start()))
                last = match.end()
                raw = match.group(0)
                if match.group(1) is not None:
                    items.append(_JinjaTag("expression", match.group(1).strip(), part, raw))
                elif match.group(2) is not None:
                    items.append(_JinjaTag("statement", match.group(2).strip(), part, raw))
                else:
                    items.append(_JinjaTag("comment", "", part, raw))
            if last < len(part.text):
                items.append(part.sliced(last))
        items = _jinja_blanks(items, trim_blocks=trim_blocks, lstrip_blocks=lstrip_blocks)
        try:
            value, end, stop = _jinja_block(items, 0, frozenset(), keywords, node, origin)
            if stop is not None or end != len(items):
                raise _JinjaUnread(f"`{{% {stop} %}}` closes no block")
        except _JinjaUnread as unread:
            out.append(
                hole(node, origin, f"the Jinja template has {unread}, which the tool does not read")
            )
            continue
        out.append(value)
    return union(out, node, origin)


def _jinja_blanks(
    items: list[Part | _JinjaTag], *, trim_blocks: bool, lstrip_blocks: bool
) -> list[Part | _JinjaTag]:
    """The texts between tags as Jinja leaves them: `-` of a tag strips the blanks next to it
    on that side; `trim_blocks` drops the newline after a block or comment tag (not `+%}`),
    `lstrip_blocks` the spaces and tabs between a line's start and such a tag (not `{%+`)."""
    out: list[Part | _JinjaTag] = list(items)
    for index, item in enumerate(out):
        if not isinstance(item, _JinjaTag):
            continue
        block = item.kind != "expression"
        left, right = item.raw[2:3], item.raw[-3:-2]
        if left == "-" or (block and lstrip_blocks and left != "+"):
            at = index - 1
            while at >= 0 and type(out[at]) is Lit:
                text = cast("Lit", out[at])
                if left == "-":
                    kept = text.text.rstrip()
                else:  # only blanks of the tag's own line, the line's start in this text
                    tail = text.text[len(text.text.rstrip(" \t")) :]
                    start = len(text.text) - len(tail)
                    if not (start == 0 and at == 0) and not text.text[:start].endswith("\n"):
                        break
                    kept = text.text[:start]
                out[at] = text.sliced(0, len(kept))
                if kept or left != "-":
                    break
                at -= 1
        if right == "-" or (block and trim_blocks and right != "+"):
            at = index + 1
            while at < len(out) and type(out[at]) is Lit:
                text = cast("Lit", out[at])
                if right == "-":
                    dropped = len(text.text) - len(text.text.lstrip())
                else:
                    dropped = 1 if text.text.startswith("\n") else 0
                out[at] = text.sliced(dropped)
                if dropped < len(text.text) or right != "-":
                    break
                at += 1
    return out


def _jinja_block(
    items: list[Part | _JinjaTag],
    start: int,
    stops: frozenset[str],
    keywords: dict[str, Value],
    node: ast.AST,
    origin: Origin,
) -> tuple[Value, int, str | None]:
    """The value of the items from `start` to a statement whose first word is in `stops`:
    (value, index of that statement, its word) — (value, len(items), None) at the end."""
    values: list[Value] = []
    index = start
    while index < len(items):
        item = items[index]
        if not isinstance(item, _JinjaTag):
            values.append(((item,),))
            index += 1
            continue
        if item.kind == "comment":
            index += 1
            continue
        if item.kind == "expression":
            given = keywords.get(item.text) if _JINJA_NAME.fullmatch(item.text) else None
            values.append(
                given
                if given is not None
                else hole(
                    node,
                    origin,
                    f"`{{{{ {item.text} }}}}` of a Jinja template is computed at run time",
                )
            )
            index += 1
            continue
        word = item.text.split(None, 1)[0] if item.text else ""
        if word in stops:
            return concat(values, node, origin), index, word
        if word == "if":
            branches: list[Value] = []
            index += 1
            final = False
            while True:
                body, index, stop = _jinja_block(
                    items, index, frozenset({"elif", "else", "endif"}), keywords, node, origin
                )
                branches.append(body)
                if stop is None:
                    raise _JinjaUnread("an `{% if %}` without `{% endif %}`")
                index += 1
                if stop == "endif":
                    break
                final = final or stop == "else"
            if not final:
                branches.append(((),))
            values.append(union(branches, node, origin))
            continue
        if word == "for":
            _, index, stop = _jinja_block(
                items, index + 1, frozenset({"endfor"}), keywords, node, origin
            )
            if stop is None:
                raise _JinjaUnread("a `{% for %}` without `{% endfor %}`")
            index += 1
            values.append(
                hole(node, origin, "a `{% for %}` loop of a Jinja template", kind="clause")
            )
            continue
        raise _JinjaUnread(f"`{{% {word} %}}`")
    return concat(values, node, origin), index, None


class Collapse:
    """What a whitespace normaliser makes of a text: `" ".join(sql.split())` (`strip`: no
    whitespace at either end), `re.sub(r"\\s+", " ", sql)` — each run of at least `minimum`
    whitespace characters one blank. Computed on the constant text (what PostgreSQL gets: a
    `-- comment` line joined to the next comments it out), each word keeping its place; a
    parameter of the function is given this as its `transform`, done to the argument its
    callers give (a value known at run time stays unknown: its fill is neutral text)."""

    __slots__ = ("minimum", "node", "origin", "strip")

    def __init__(self, node: ast.AST, origin: Origin, *, strip: bool, minimum: int = 1) -> None:
        self.node, self.origin, self.strip, self.minimum = node, origin, strip, minimum

    def __call__(self, value: Value) -> Value:
        runs = _WHITESPACE_RUNS if self.minimum == 1 else _LONG_WHITESPACE_RUNS
        blank = Lit(" ", self.origin, None, 0, self.node)
        out: list[Alternative] = []
        for alternative in value:
            parts: list[Part] = []
            for part in alternative:
                if type(part) is Hole:
                    if part.param is not None:
                        # the parameter's own text is collapsed once the call gives it (at an
                        # end of the whole text, stripped there too)
                        alone = Collapse(
                            self.node,
                            self.origin,
                            strip=self.strip and len(alternative) == 1,
                            minimum=self.minimum,
                        )
                        part = part._replace(transform=_then(part.transform, alone))
                    parts.append(part)
                    continue
                text = cast("Lit", part)
                start = 0
                for match in runs.finditer(text.text):
                    if match.start() > start:
                        parts.append(text.sliced(start, match.start()))
                    single = match.group() == " "
                    parts.append(text.sliced(match.start(), match.end()) if single else blank)
                    start = match.end()
                if start < len(text.text) or not text.text:
                    parts.append(text.sliced(start))
            if self.strip:
                while parts and type(parts[0]) is Lit and not parts[0].text.strip():
                    parts.pop(0)
                while parts and type(parts[-1]) is Lit and not parts[-1].text.strip():
                    parts.pop()
            out.append(tuple(parts) or (Lit("", self.origin, None, 0, self.node),))
        return tuple(dict.fromkeys(out))


_WHITESPACE_RUNS = lazy_pattern(r"\s+")
_LONG_WHITESPACE_RUNS = lazy_pattern(r"\s{2,}")


def _then(
    first: Callable[[Value], Value] | None, second: Callable[[Value], Value]
) -> Callable[[Value], Value]:
    """`second` done after `first` (a parameter normalised twice)."""
    if first is None:
        return second
    return lambda value: second(first(value))


def join_values(separator: Value, items: Sequence[Value], node: ast.AST, origin: Origin) -> Value:
    """`separator.join([items…])`."""
    parts: list[Value] = []
    for index, item in enumerate(items):
        if index:
            parts.append(separator)
        parts.append(item)
    if not parts:
        return ((Lit("", origin, None, 0, node),),)
    return concat(parts, node, origin)
