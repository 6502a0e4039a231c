"""Token-level rewrites of SQL text: parameters replaced by literals, literals hidden in logs.

Both work on sqlglot's PostgreSQL tokens, which skip comments and keep strings, quoted names
and dollar-quoted bodies whole: a `$1` inside any of those is text, not a parameter.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlglot.dialects.dialect import Dialect
from sqlglot.tokenizer_core import Token, TokenType
from sqlglot.tokens import Tokenizer

from tenantguard.engine.sqltext import normalize_placeholders

__all__ = ["inline_parameters", "redact_literals"]

_LITERALS = frozenset(
    {
        TokenType.STRING,
        TokenType.NUMBER,
        TokenType.NATIONAL_STRING,
        TokenType.BIT_STRING,
        TokenType.HEX_STRING,
        TokenType.BYTE_STRING,
        TokenType.RAW_STRING,
        TokenType.HEREDOC_STRING,
        TokenType.UNICODE_STRING,
    }
)


class _Tokenizers(threading.local):
    def __init__(self) -> None:
        self.tokenizer: Tokenizer = Dialect.get_or_raise("postgres").tokenizer()


_LOCAL = _Tokenizers()


def _tokens(text: str) -> list[Token]:
    return _LOCAL.tokenizer.tokenize(text)


def _parameters(tokens: Sequence[Token]) -> list[tuple[int, int, int]]:
    """(start, end, number) of each `$n` parameter: a `$` token with its digits right after."""
    found = []
    for index, token in enumerate(tokens[:-1]):
        after = tokens[index + 1]
        if (
            token.token_type is TokenType.PARAMETER
            and after.token_type is TokenType.NUMBER
            and after.start == token.end + 1
            and after.text.isdigit()
        ):
            found.append((token.start, after.end + 1, int(after.text)))
    return found


def inline_parameters(query: str, literals: Sequence[str]) -> str:
    """`query` with each real `$n` replaced by `literals[n - 1]` (already quoted SQL).

    Raises ValueError when the text cannot be tokenized or names a parameter with no literal.
    """
    text, _ = normalize_placeholders(query)
    try:
        tokens = _tokens(text)
    except Exception as error:  # sqlglot's TokenError, or a tokenizer bug: refuse, never guess
        raise ValueError(f"the query cannot be tokenized ({type(error).__name__})") from error
    parts: list[str] = []
    last = 0
    for start, end, number in _parameters(tokens):
        if not 1 <= number <= len(literals):
            raise ValueError(f"${number} has no argument")
        parts.append(text[last:start])
        parts.append(literals[number - 1])
        last = end
    parts.append(text[last:])
    return "".join(parts)


def redact_literals(sql: str, limit: int = 2000) -> str:
    """`sql` with every literal (string, number, dollar-quoted body) shown as `?` and comments
    dropped: what a log may keep of a statement about patients. Parameters stay (`$1`)."""
    text, _ = normalize_placeholders(sql[: limit * 4])
    try:
        tokens = _tokens(text)
    except Exception:
        return f"<statement of {len(sql)} characters that could not be tokenized>"
    parameters = {start for start, _, _ in _parameters(tokens)}
    parts: list[str] = []
    last = 0
    previous: Token | None = None
    for token in tokens:
        gap = text[last : token.start]
        parts.append(gap if not gap.strip() else " ")
        hidden = token.token_type in _LITERALS and not (
            previous is not None and previous.start in parameters
        )
        parts.append("?" if hidden else text[token.start : token.end + 1])
        last = token.end + 1
        previous = token
    redacted = "".join(parts).strip()
    return redacted if len(redacted) <= limit else redacted[:limit] + "…"
