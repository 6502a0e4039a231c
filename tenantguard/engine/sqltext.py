"""Splitting SQL text into statements with exact positions.

PostgreSQL lexing rules that matter for finding statement boundaries: `--` and nested `/* */`
comments, `'…'` strings with `''` escapes, `E'…'` strings with backslash escapes, `"…"`
identifiers and `$tag$…$tag$` bodies. A regular expression jumps from one special character to
the next, so long stretches of plain SQL cost C speed, not a Python loop per character.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping

from tenantguard._patterns import lazy_pattern
from tenantguard._records import frozen_record

__all__ = [
    "BLANK",
    "Comment",
    "LineIndex",
    "Statement",
    "cursor_query_start",
    "declared_query",
    "normalize_placeholders",
    "split_sql",
]

# PostgreSQL's blanks, as a character class: not Python's `\s` (U+00A0 and the other Unicode
# spaces are letters of a name to PostgreSQL); \v is a blank from PostgreSQL 16 (before, an error)
BLANK = r"[ \t\n\r\f\v]"

# The characters of a name PostgreSQL's scanner reads unquoted (scan.l): a letter, `_` or any
# non-ASCII character to start it; those, digits and `$` to go on. Written as the ASCII
# characters they leave out: a class spanning \x80-\U0010ffff takes ~10 ms to compile, ~60 ms
# under IGNORECASE (every character of the range case-folded), at every start-up
NAME_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"
NAME_CHAR = r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
TAG_CHAR = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"  # of a dollar quote's tag: no `$`

# `$` followed by a digit is a positional parameter, never a dollar quote: not special (an
# ASCII digit: `$\u0661$` is a dollar quote to PostgreSQL, whose tags take any non-ASCII letter)
_SPECIAL = lazy_pattern(r"--|/\*|[Ee]'|'|\"|\$(?![0-9])|;")
_SINGLE = lazy_pattern(r"'[^']*(?:''[^']*)*'")
_ESCAPED = lazy_pattern(r"[Ee]'[^'\\]*(?:(?:''|\\.)[^'\\]*)*'", re.DOTALL)
_DOUBLE = lazy_pattern(r'"[^"]*(?:""[^"]*)*"')
# scan.l: a tag starts with a letter, `_` or a byte >= 0x80 (any non-ASCII character), and
# goes on with those and digits; written as what is not allowed in ASCII (a class spanning
# \u0080-\uffff takes ~8 ms to compile, a fifth of importing the engine)
_DOLLAR_TAG = lazy_pattern(rf"\$(?:{NAME_START}{TAG_CHAR}*)?\$")
_NESTED_COMMENT = lazy_pattern(r"/\*|\*/")
# a `--` comment ends at a line feed or a carriage return, for PostgreSQL (and sqlglot); the
# server's blanks are ASCII ones: a no-break space (`\s` to Python) is a letter of a name to it
_BLANKS = " \t\n\r\f\v"
_LEADING_SPACE = lazy_pattern(r"(?:[ \t\n\r\f\v]+|--[^\n\r]*)*")
_LINE_END = lazy_pattern(r"[\n\r]")
# a character that continues a name for PostgreSQL's scanner: every non-ASCII one too (`x\u00a0$a$`
# and `y€e` are names, where Python's `\w` stops at the no-break space and the euro sign)
_IDENT_CHAR = lazy_pattern(NAME_CHAR)
# `$1,$2` makes sqlglot's tokenizer fail (NOTES.md): a space after a positional parameter fixes it.
# (The `$` comes first so that the regex engine can jump between dollars: 4x faster than a
# leading lookbehind, which is tried at every character.)
_TIGHT_PARAM = lazy_pattern(rf"\$(?<!{NAME_CHAR}\$)[0-9]+(?=[^\s0-9])")


@frozen_record
class Statement:
    """One statement of a script: its text without the terminating `;`, and where it starts."""

    text: str
    start: int
    line: int
    column: int
    error: str | None  # set when the lexer could not finish the statement (default None)

    __slots__ = __match_args__ = ("text", "start", "line", "column", "error")

    def __init__(
        self, text: str, start: int, line: int, column: int, error: str | None = None
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "text", text)
        set_field(self, "start", start)
        set_field(self, "line", line)
        set_field(self, "column", column)
        set_field(self, "error", error)


@frozen_record
class Comment:
    """A SQL comment and where it starts in the text."""

    text: str
    start: int
    line: int
    column: int

    __slots__ = __match_args__ = ("text", "start", "line", "column")

    def __init__(self, text: str, start: int, line: int, column: int) -> None:
        set_field = object.__setattr__
        set_field(self, "text", text)
        set_field(self, "start", start)
        set_field(self, "line", line)
        set_field(self, "column", column)


class LineIndex:
    """Maps character offsets of one text to 1-based (line, column)."""

    __slots__ = ("_starts",)

    def __init__(self, text: str) -> None:
        self._starts = [0]
        self._starts.extend(m.end() for m in re.finditer("\n", text))

    def position(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1


def _skip_nested_comment(text: str, pos: int) -> int:
    """Returns the offset after the comment opened at `pos`, or -1 when it never closes."""
    depth = 0
    for match in _NESTED_COMMENT.finditer(text, pos):
        depth += 1 if match.group() == "/*" else -1
        if depth == 0:
            return match.end()
    return -1


def _skip_leading_noise(text: str, start: int, end: int) -> int:
    """The offset of the first token at or after `start`: whitespace and comments skipped."""
    while True:
        match = _LEADING_SPACE.match(text, start, end)
        start = match.end() if match else start
        if not text.startswith("/*", start) or start >= end:
            return start
        after = _skip_nested_comment(text, start)
        if after < 0 or after > end:
            return start
        start = after


# a word as PostgreSQL's scanner reads one (a letter, `_` or any non-ASCII character, then those,
# digits and `$`), or a quoted name
_WORD = lazy_pattern(
    r'"[^"]*(?:""[^"]*)*"'
    rf"|{NAME_START}{NAME_CHAR}*"
)
_CURSOR_OPTIONS = frozenset({"binary", "asensitive", "insensitive", "scroll"})


def cursor_query_start(text: str) -> int | None:
    """Where the query of `DECLARE name [BINARY] [ASENSITIVE | INSENSITIVE] [[NO] SCROLL]
    CURSOR [{WITH | WITHOUT} HOLD] FOR query` starts in `text`; None for any other statement.

    Read word by word as the server reads them (blanks and comments between words, keywords
    in ASCII letters of any case, the cursor's name plain or quoted); anything else, None.
    """
    words = 0
    position = 0
    end = len(text)
    state = "declare"
    while words < 12:  # DECLARE, the name, the options, CURSOR, WITH HOLD, FOR: a few words
        position = _skip_leading_noise(text, position, end)
        match = _WORD.match(text, position)
        if match is None:
            return None
        word = match.group()
        position = match.end()
        words += 1
        keyword = word.lower() if word.isascii() and word[0] != '"' else ""
        if state == "declare":
            if keyword != "declare":
                return None
            state = "name"
        elif state == "name":
            state = "options"
        elif state == "options":
            if keyword == "cursor":
                state = "hold"
            elif keyword == "no":
                state = "no"
            elif keyword not in _CURSOR_OPTIONS:
                return None
        elif state == "no":
            if keyword != "scroll":
                return None
            state = "options"
        elif state == "hold":
            if keyword == "for":
                return position
            if keyword not in ("with", "without"):
                return None
            state = "held"
        elif state == "held":
            if keyword != "hold":
                return None
            state = "for"
        elif keyword == "for":  # state "for"
            return position
        else:
            return None
    return None


_PG_BLANKS = " \t\n\r\f\v"
_WITH_HOLD = lazy_pattern(r"\bWITH\s+HOLD\b", re.IGNORECASE)


def _folded_name(word: str) -> str:
    """A name as the server keeps it: a quoted one as written (`""` one `"`), a plain one with
    ASCII letters folded to lower case; cut to 63 bytes (NAMEDATALEN), as the server cuts
    both (`DECLARE` of a 64-byte name and `FETCH` of its first 63 bytes name one cursor)."""
    if word.startswith('"'):
        name = word[1:-1].replace('""', '"')
    else:
        name = "".join(c.lower() if "A" <= c <= "Z" else c for c in word)
    raw = name.encode("utf-8")
    if len(raw) > 63:
        name = raw[:63].decode("utf-8", "ignore")
    return name


def cursor_use(text: str) -> tuple[str, str] | None:
    """("declare", name) for a cursor's declaration ("declare held" WITH HOLD), ("read", name)
    for `FETCH` or `MOVE`
    (their cursor is their last word: `FETCH [direction] [FROM | IN] name`), ("read", "") for
    a FETCH or MOVE whose cursor cannot be read; None for any other statement. `text` without
    its comments (round 22: a cursor declared by one request, fetched by another's)."""
    end = len(text)
    position = _skip_leading_noise(text, 0, end)
    match = _WORD.match(text, position)
    if match is None:
        return None
    keyword = match.group().lower() if match.group().isascii() else ""
    if keyword == "declare":
        start = cursor_query_start(text)
        if start is None:
            return None
        name = _WORD.match(text, _skip_leading_noise(text, match.end(), end))
        if name is None:
            return None
        held = _WITH_HOLD.search(text, name.end(), start) is not None
        return ("declare held" if held else "declare", _folded_name(name.group()))
    if keyword not in ("fetch", "move"):
        return None
    # PostgreSQL's blanks only: U+00A0 and the other spaces Python strips are name characters
    # to the server (`FETCH ALL FROM page\u00a0` reads cursor "page\u00a0": round 22)
    tail = text[match.end() :].rstrip(_PG_BLANKS).rstrip(";").rstrip(_PG_BLANKS)
    words = _WORD.findall(tail)
    if not words or not tail.endswith(words[-1]):
        return ("read", "")
    return ("read", _folded_name(words[-1]))


def declared_query(text: str) -> str | None:
    """The query of a cursor's declaration where it stands in `text`, the words before it
    blanked (lines and positions kept); None when `text` declares no cursor."""
    start = cursor_query_start(text)
    if start is None:
        return None
    return "".join(c if c in "\n\r" else " " for c in text[:start]) + text[start:]


# `EXPLAIN [(options)] [ANALYZE] [VERBOSE]`: the words before the statement an EXPLAIN explains
_EXPLAIN_PREFIX = lazy_pattern(
    r"[ \t\n\r\f\v]*explain(?![\w$])[ \t\n\r\f\v]*"
    r"(?:\((?:[^()'\"]|'[^']*')*\)[ \t\n\r\f\v]*)?"
    r"(?:(?:analy[sz]e|verbose)(?![\w$])[ \t\n\r\f\v]*)*",
    re.IGNORECASE,
)


def explained_statement(bare: str) -> str | None:
    """The statement an EXPLAIN explains (`bare`: its text without comments); None when `bare`
    is no EXPLAIN of a statement. Its plan (`Rows Removed by Filter`, the planner's estimates)
    tells of every tenant's rows the statement reads, pinned or not (h40R)."""
    prefix = _EXPLAIN_PREFIX.match(bare)
    if prefix is None or not bare[prefix.end() :].strip():
        return None
    return bare[prefix.end() :]


_DOLLAR_QUOTE = lazy_pattern(r"\$(?![0-9])")  # a `$` that may open a dollar quote
_SPACE = lazy_pattern(r"[ \t\n\r\f\v]*")


def split_sql(text: str) -> tuple[list[Statement], list[Comment]]:
    """Splits a script into statements and comments.

    Empty statements (only whitespace or comments between two `;`) are dropped. A string, quoted
    identifier, dollar-quoted body or comment that never closes ends the script: the statement it
    sits in is returned with `error` set, as PostgreSQL would reject it.
    """
    if (
        ";" not in text
        and "--" not in text
        and "/*" not in text
        and "\\" not in text
        and not ("'" in text and '"' in text)
        and text.count("'") % 2 == 0
        and text.count('"') % 2 == 0
        and _DOLLAR_QUOTE.search(text) is None
    ):
        # The common case of SQL in Python, one statement: no separator, no comment, no
        # backslash escape, no dollar quote, one kind of quote and in pairs (a quote that never
        # closes leaves an odd count: `''` inside a string is a pair; with both kinds, one can
        # hide the other). The text is the statement.
        start = _SPACE.match(text).end()  # type: ignore[union-attr]  # `…*` always matches
        body = text[start:].rstrip(_BLANKS)
        if not body:
            return [], []
        line_start = text.rfind("\n", 0, start) + 1
        return [Statement(body, start, text.count("\n", 0, start) + 1, start - line_start + 1)], []
    return _split_script(text)


def _split_script(text: str) -> tuple[list[Statement], list[Comment]]:
    lines = LineIndex(text)
    statements: list[Statement] = []
    comments: list[Comment] = []
    begin = 0
    pos = 0
    length = len(text)
    error: str | None = None

    def close(end: int) -> None:
        start = _skip_leading_noise(text, begin, end)
        body = text[start:end].rstrip(_BLANKS)
        if body:
            line, column = lines.position(start)
            statements.append(Statement(body, start, line, column, error))

    while pos < length:
        match = _SPECIAL.search(text, pos)
        if match is None:
            break
        token = match.group()
        at = match.start()
        if token == ";":
            close(at)
            begin = pos = at + 1
            continue
        if token == "--":
            newline = _LINE_END.search(text, at)
            end = length if newline is None else newline.start()
            line, column = lines.position(at)
            comments.append(Comment(text[at:end], at, line, column))
            pos = end
            continue
        if token == "/*":
            end = _skip_nested_comment(text, at)
            if end < 0:
                error = "unterminated /* comment"
                break
            line, column = lines.position(at)
            comments.append(Comment(text[at:end], at, line, column))
            pos = end
            continue
        if token in ("'", '"') or token[0] in "Ee":
            if token[0] in "Ee" and at > 0 and _IDENT_CHAR.match(text, at - 1):
                pos = at + 1  # an identifier ending in e, followed by a quote: not an E-string
                continue
            pattern = _DOUBLE if token == '"' else _ESCAPED if token[0] in "Ee" else _SINGLE
            quoted = pattern.match(text, at)
            if quoted is None:
                error = "unterminated quoted identifier" if token == '"' else "unterminated string"
                break
            pos = quoted.end()
            continue
        # token == "$": a dollar-quoted body, a positional parameter, or part of an identifier
        if at > 0 and _IDENT_CHAR.match(text, at - 1):
            pos = at + 1
            continue
        tag = _DOLLAR_TAG.match(text, at)
        if tag is None:
            pos = at + 1
            continue
        closing = text.find(tag.group(), tag.end())
        if closing < 0:
            error = f"unterminated dollar-quoted string {tag.group()}"
            break
        pos = closing + len(tag.group())
    close(length)
    return statements, comments


def normalize_placeholders(sql: str) -> tuple[str, tuple[int, ...]]:
    """Inserts a space after `$N` parameters that touch the next token.

    Returns the text for sqlglot and the offsets (in the returned text) of inserted characters,
    so that positions can be mapped back to the caller's text.
    """
    if "$" not in sql:
        return sql, ()
    inserted: list[int] = []
    parts: list[str] = []
    last = 0
    for match in _TIGHT_PARAM.finditer(sql):
        parts.append(sql[last : match.end()])
        inserted.append(match.end() + len(inserted))
        parts.append(" ")
        last = match.end()
    if not inserted:
        return sql, ()
    parts.append(sql[last:])
    return "".join(parts), tuple(inserted)


def original_offset(offset: int, inserted: tuple[int, ...]) -> int:
    """Maps an offset in normalized text back to the text given to `normalize_placeholders`."""
    if not inserted:
        return offset
    return offset - bisect_right(inserted, offset - 1)


# a string literal (E'…', U&'…', N'…', X'…', B'…') or a dollar-quoted one
STRING_LITERAL = lazy_pattern(
    r"(?i:[EUN]&?|X|B)?'(?:[^']|'')*'|\$([A-Za-z_]\w*)?\$.*?\$\1\$", re.DOTALL
)
_COMMENTS = lazy_pattern(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def operators_in(text: str, operators: Mapping[str, str]) -> list[tuple[int, str]]:
    """(offset, symbol) of each symbol of `operators` that `text` holds outside strings and
    comments, first place: each runs its function (`a <<< b` calls the function `CREATE
    OPERATOR <<<` names; round 23, helper 109). A longer operator holding the symbol counts
    too (no false pass)."""
    if not any(symbol in text for symbol in operators):
        return []

    def blank(match: re.Match[str]) -> str:
        return " " * len(match.group(0))

    code = _COMMENTS.sub(blank, STRING_LITERAL.sub(blank, text))
    return sorted((code.index(s), s) for s in operators if s in code)
