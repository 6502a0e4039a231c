"""Where each character of a Python string literal stands in the file.

`ast` gives a literal's value and the span of the whole expression (implicit concatenation
included); the parts of an f-string all carry the span of the f-string (Python 3.11). To point a
finding at the offending word inside the string, the literal's source is scanned here: each run of
literal text becomes a `Piece` (its offset in the value, its text, its line and column, and
whether positions inside it are exact — escapes make them unknowable, the piece's start is used).

For an f-string the value is the concatenation of its constant parts; replacement fields are
skipped (their expressions keep their own positions in the tree).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from tenantguard._patterns import lazy_pattern

__all__ = ["Piece", "Positions", "char_column", "constant_pieces", "fstring_pieces"]


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of literal text and where it stands in the file."""

    start: int  # offset of this piece in the value
    text: str
    line: int
    column: int  # 1-based column of the piece's first character
    exact: bool  # False when escapes make character positions unknowable


class Positions:
    """Maps offsets in a literal's value to file (line, column)."""

    __slots__ = ("column", "line", "pieces")

    def __init__(self, pieces: list[Piece], line: int, column: int) -> None:
        self.pieces = pieces
        self.line = line  # the literal's own start, when there is no piece
        self.column = column

    def position(self, offset: int) -> tuple[int, int]:
        piece: Piece | None = None
        for candidate in self.pieces:
            if candidate.start > offset:
                break
            piece = candidate
        if piece is None:
            return self.line, self.column
        if not piece.exact:
            return piece.line, piece.column
        inside = min(offset - piece.start, len(piece.text))
        before = piece.text[:inside]
        newlines = before.count("\n")
        if newlines == 0:
            return piece.line, piece.column + inside
        return piece.line + newlines, inside - before.rfind("\n")


def char_column(line: str, byte_column: int) -> int:
    """`ast` columns count UTF-8 bytes; findings count characters."""
    if line.isascii():
        return byte_column
    return len(line.encode("utf-8")[:byte_column].decode("utf-8", "replace"))


_PREFIX = lazy_pattern(r"[rRbBuUfF]{0,2}")
_SPACE = lazy_pattern(r"(?:[ \t\f\r\n]+|\\\r?\n|#[^\n]*)*")
_QUOTES = ('"""', "'''", '"', "'")


@dataclass(slots=True)
class _Run:
    raw: str
    offset: int  # offset of `raw` in the segment
    raw_string: bool  # an r-string: backslashes are text
    prefix: str
    quote: str


class _Scan:
    """Literal runs and replacement fields of a sequence of (f-)string tokens, in order."""

    def __init__(self, segment: str) -> None:
        self.segment = segment
        self.items: list[_Run | None] = []  # None marks a replacement field
        self.ok = True
        self._scan()

    def _scan(self) -> None:
        text = self.segment
        pos = 0
        while True:
            pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]  # `*` always matches
            if pos >= len(text):
                return
            prefix = _PREFIX.match(text, pos).group()  # type: ignore[union-attr]
            at = pos + len(prefix)
            quote = next((q for q in _QUOTES if text.startswith(q, at)), None)
            if quote is None or "b" in prefix.lower():
                self.ok = False
                return
            pos = self._body(at + len(quote), prefix.lower(), quote)
            if pos < 0:
                self.ok = False
                return

    def _body(self, start: int, prefix: str, quote: str) -> int:
        """Scans one literal's body; returns the offset after its closing quote, or -1."""
        text = self.segment
        formatted, raw = "f" in prefix, "r" in prefix
        run_start = i = start
        while i < len(text):
            if text.startswith(quote, i):
                self._emit(run_start, i, raw, prefix, quote)
                return i + len(quote)
            char = text[i]
            if char == "\\":
                i += 2
                continue
            if formatted and char in "{}":
                if text.startswith(char * 2, i):  # a doubled brace is one brace of text
                    self._emit(run_start, i + 1, raw, prefix, quote)
                    run_start = i = i + 2
                    continue
                if char == "}":
                    return -1
                self._emit(run_start, i, raw, prefix, quote)
                i = _field_end(text, i, quote)
                if i < 0:
                    return -1
                self.items.append(None)
                run_start = i
                continue
            i += 1
        return -1

    def _emit(self, start: int, end: int, raw: bool, prefix: str, quote: str) -> None:
        if end > start:
            self.items.append(_Run(self.segment[start:end], start, raw, prefix, quote))


def _field_end(text: str, start: int, quote: str) -> int:
    """The offset after the `}` closing the replacement field opened at `start`, or -1."""
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if text.startswith(quote, i):
            return -1  # the literal ends inside the field
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
        elif char in "'\"":
            close = text.find(char, i + 1)
            if close < 0:
                return -1
            i = close
        i += 1
    return -1


def _decoded(run: _Run) -> tuple[str, bool] | None:
    """(value, exact) of one literal run."""
    raw = run.raw
    if run.raw_string or "\\" not in raw:
        return raw, True  # doubled braces were split off by the scan: the text is the value
    try:
        value = ast.literal_eval(run.prefix.replace("f", "") + run.quote + raw + run.quote)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return (value, False) if isinstance(value, str) else None


class _Source:
    """A node's source segment and how offsets in it map to file positions."""

    def __init__(self, lines: list[str], node: ast.expr) -> None:
        first = node.lineno - 1
        last = (node.end_lineno or node.lineno) - 1
        self.ok = 0 <= first <= last < len(lines) and node.end_col_offset is not None
        if not self.ok:
            self.text = ""
            return
        self.line = node.lineno
        start = char_column(lines[first], node.col_offset)
        end = char_column(lines[last], node.end_col_offset or 0)
        if first == last:
            self.text = lines[first][start:end]
        else:
            self.text = lines[first][start:] + "".join(lines[first + 1 : last]) + lines[last][:end]
        self.start_column = start + 1
        self._starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def position(self, offset: int) -> tuple[int, int]:
        index = 0
        for index_candidate, start in enumerate(self._starts):
            if start > offset:
                break
            index = index_candidate
        column = offset - self._starts[index] + 1
        if index == 0:
            column += self.start_column - 1
        return self.line + index, column


# a Python escape sequence of a (non-raw) string literal
_ESCAPE = lazy_pattern(
    r"\\(?:\r\n|\n|[0-7]{1,3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|.)",
    re.DOTALL,
)


def _pieces(source: _Source, runs: list[_Run]) -> list[Piece] | None:
    pieces: list[Piece] = []
    offset = 0
    for run in runs:
        if not run.raw_string and "\\" in run.raw:
            # each escape a piece of its own, the text between exact (helper 111: one `\n`
            # put every finding of the literal at its first character)
            split = _escaped_pieces(source, run, offset)
            if split is not None:
                pieces.extend(split)
                offset += sum(len(p.text) for p in split)
                continue
        decoded = _decoded(run)
        if decoded is None:
            return None
        value, exact = decoded
        line, column = source.position(run.offset)
        pieces.append(Piece(offset, value, line, column, exact))
        offset += len(value)
    return pieces


def _escaped_pieces(source: _Source, run: _Run, offset: int) -> list[Piece] | None:
    """A run with escapes as pieces: each stretch of plain text exact, each escape its value."""
    out: list[Piece] = []
    last = 0
    raw = run.raw
    for match in _ESCAPE.finditer(raw):
        if match.start() > last:
            line, column = source.position(run.offset + last)
            out.append(Piece(offset, raw[last : match.start()], line, column, True))
            offset += match.start() - last
        decoded = _decoded(_Run(match.group(), 0, False, run.prefix, run.quote))
        if decoded is None:
            return None
        value = decoded[0]
        if value:
            line, column = source.position(run.offset + match.start())
            out.append(Piece(offset, value, line, column, False))
            offset += len(value)
        last = match.end()
    if last < len(raw):
        line, column = source.position(run.offset + last)
        out.append(Piece(offset, raw[last:], line, column, True))
    return out


def constant_pieces(lines: list[str], node: ast.Constant) -> Positions:
    """Positions of a string constant's value (implicit concatenation included)."""
    value = node.value if isinstance(node.value, str) else ""
    fallback = Positions(
        [],
        node.lineno,
        char_column(lines[node.lineno - 1], node.col_offset) + 1
        if 0 < node.lineno <= len(lines)
        else node.col_offset + 1,
    )
    if node.end_lineno == node.lineno and 0 < node.lineno <= len(lines):
        fast = _single_line(lines[node.lineno - 1], node, value)
        if fast is not None:
            return fast
    source = _Source(lines, node)
    if not source.ok:
        return fallback
    scan = _Scan(source.text)
    if not scan.ok or None in scan.items:
        return fallback
    pieces = _pieces(source, [r for r in scan.items if r is not None])
    if pieces is None or "".join(p.text for p in pieces) != value:
        return Positions(
            [Piece(0, value, fallback.line, fallback.column, False)], fallback.line, fallback.column
        )
    return Positions(pieces, fallback.line, fallback.column)


def _single_line(line: str, node: ast.Constant, value: str) -> Positions | None:
    """Fast path: one plain literal on one line, without escapes."""
    start = char_column(line, node.col_offset)
    raw = line[start : char_column(line, node.end_col_offset or 0)]
    prefix = len(raw) - len(raw.lstrip("rRuU"))
    quote = (
        raw[prefix : prefix + 3]
        if raw[prefix : prefix + 3] in ('"""', "'''")
        else raw[prefix : prefix + 1]
    )
    if quote not in _QUOTES or len(raw) < prefix + 2 * len(quote) or not raw.endswith(quote):
        return None
    body = raw[prefix + len(quote) : len(raw) - len(quote)]
    if body != value or quote[0] in body:
        return None  # escapes, or an implicit concatenation on one line
    column = start + prefix + len(quote) + 1
    return Positions([Piece(0, value, node.lineno, column, True)], node.lineno, column)


def fstring_pieces(lines: list[str], node: ast.JoinedStr) -> tuple[Positions, list[int]]:
    """Positions over the concatenated constant parts of an f-string, and the offset in that
    text at which each of its constant parts (in `node.values` order) starts."""
    parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
    starts: list[int] = []
    total = 0
    for part in parts:
        starts.append(total)
        total += len(str(part))
    line = node.lineno
    column = (
        char_column(lines[line - 1], node.col_offset) + 1
        if 0 < line <= len(lines)
        else node.col_offset + 1
    )
    fallback = Positions([Piece(0, "".join(map(str, parts)), line, column, False)], line, column)
    source = _Source(lines, node)
    if not source.ok:
        return fallback, starts
    scan = _Scan(source.text)
    if not scan.ok:
        return fallback, starts
    # the tree merges adjacent runs into one constant and leaves out empty ones: compare so
    groups: list[str] = []
    current: list[_Run] = []
    runs: list[_Run] = []
    fields = 0
    for item in [*scan.items, None]:
        if item is None:
            if current:
                decoded = [_decoded(r) for r in current]
                if any(d is None for d in decoded):
                    return fallback, starts
                groups.append("".join(d[0] for d in decoded if d is not None))
                runs.extend(current)
                current = []
            fields += 1
        else:
            current.append(item)
    formatted = sum(1 for v in node.values if isinstance(v, ast.FormattedValue))
    if groups != [str(p) for p in parts] or fields - 1 != formatted:
        return fallback, starts
    pieces = _pieces(source, runs)
    if pieces is None:
        return fallback, starts
    return Positions(pieces, line, column), starts
