"""Token-level rewrites of SQL text: parameters replaced by literals, literals hidden in logs.

A small PostgreSQL lexer (with `standard_conforming_strings = on`, the only setting the guard
accepts): comments (nested `/* */` too), strings (`'…'`, `E'…'` with backslash escapes, `U&'…'`,
`B'…'`, `X'…'`, `N'…'`), quoted names, dollar-quoted bodies, `$n` parameters, words and numbers.
A `$1` inside a string, a comment or a quoted name is text, not a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.sqltext import NAME_CHAR, NAME_START, TAG_CHAR

__all__ = ["code_lexemes", "inline_parameters", "redact_literals"]

# As PostgreSQL's scan.l: a `--` comment ends at `\n` or `\r`; a name or a dollar-quote tag
# starts with a letter, `_` or any non-ASCII character (outside the BMP too) and goes on with
# those and ASCII digits (a name with `$` too); blanks and digits are ASCII only
_LEXEME = lazy_pattern(
    rf"""
      (?P<space>[ \t\n\r\f\v]+)
    | (?P<line>--[^\n\r]*)
    | (?P<block>/\*)
    | (?P<escaped>[Ee]'(?:[^'\\]|\\.|'')*')
    | (?P<string>(?:[Uu]&|[NnBbXx])?'(?:[^']|'')*')
    | (?P<name>(?:[Uu]&)?"(?:[^"]|"")*")
    | (?P<param>\$[0-9]+)
    | (?P<dollar>\$(?:{NAME_START}{TAG_CHAR}*)?\$)
    | (?P<word>{NAME_START}{NAME_CHAR}*)
    | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[Ee][+-]?[0-9]+)?)
    | (?P<other>.)
    """,
    re.X | re.S,
)
_COMMENT_MARK = lazy_pattern(r"/\*|\*/")
_LITERAL_KINDS = frozenset({"escaped", "string", "dollar", "number"})


def _lexemes(text: str) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of each lexeme; ValueError for what never closes."""
    pos, length = 0, len(text)
    while pos < length:
        match = _LEXEME.match(text, pos)
        assert match is not None and match.lastgroup is not None  # `other` matches any char
        kind, end = match.lastgroup, match.end()
        if kind == "block":
            depth = 0
            for mark in _COMMENT_MARK.finditer(text, pos):
                depth += 1 if mark.group() == "/*" else -1
                if depth == 0:
                    end = mark.end()
                    break
            else:
                raise ValueError("unterminated /* comment")
        elif kind == "dollar":
            closing = text.find(match.group(), end)
            if closing < 0:
                raise ValueError(f"unterminated dollar-quoted string {match.group()}")
            end = closing + len(match.group())
        elif kind == "other" and text[pos] in "'\"":
            raise ValueError("unterminated quoted string or name")
        yield kind, pos, end
        pos = end


def code_lexemes(text: str) -> list[tuple[str, str]]:
    """(kind, text) of each lexeme but blanks and comments, in order: `word`, `name` (a quoted
    name), `string`, `escaped`, `dollar` (a dollar-quoted body, its tags included), `param`,
    `number`, `other` (one character). ValueError for what never closes."""
    return [
        (kind, text[start:end])
        for kind, start, end in _lexemes(text)
        if kind not in ("space", "line", "block")
    ]


def inline_parameters(query: str, literals: Sequence[str]) -> str:
    """`query` with each real `$n` replaced by `literals[n - 1]` (already quoted SQL).

    Raises ValueError when the text does not lex or names a parameter with no literal.
    """
    parts: list[str] = []
    last = 0
    for kind, start, end in _lexemes(query):
        if kind != "param":
            continue
        number = int(query[start + 1 : end])
        if not 1 <= number <= len(literals):
            raise ValueError(f"${number} has no argument")
        parts.append(query[last:start])
        parts.append(literals[number - 1])
        last = end
    parts.append(query[last:])
    return "".join(parts)


def redact_literals(sql: str, limit: int = 2000) -> str:
    """`sql` with every literal (string, number, dollar-quoted body) shown as `?` and comments
    dropped: what a log may keep of a statement about patients. Parameters stay (`$1`)."""
    parts: list[str] = []
    size = 0
    try:
        for kind, start, end in _lexemes(sql):
            if kind in ("line", "block", "space"):
                part = " "
            else:
                part = "?" if kind in _LITERAL_KINDS else sql[start:end]
            parts.append(part)
            size += len(part)
            if size > limit:
                break
    except ValueError:
        return f"<statement of {len(sql)} characters that does not lex>"
    redacted = re.sub(r"\s{2,}", " ", "".join(parts)).strip()
    return redacted if len(redacted) <= limit else redacted[:limit] + "…"
