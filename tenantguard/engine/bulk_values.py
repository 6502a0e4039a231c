"""Long VALUES lists of a bulk INSERT, read once per kind of row.

A 5 MB `INSERT INTO t (…) VALUES (…), (…), …` holds some 70 000 rows of constants: sqlglot takes
~0.7 s to tokenize it and ~1.2 s more to build its tree, and the proof then walks every row. The
proof reads a row of constants through its values only, column by column. So before parsing, the
rows that bring nothing new are taken out of the text; the tokens after each cut are moved back
to where they stand in the statement (`Thinned.shift`), so that every position in the tree is the
statement's:

- only the rows of `INSERT INTO name [AS alias] (columns) VALUES` at the start of the statement,
  and only while each row is a list of constants: a string (no backslash in it), a number, a
  parameter, NULL, TRUE, FALSE or DEFAULT, each with at most one cast to a one-word type. The
  first row that is anything else ends the run; it and the rest are parsed as written;
- the first two rows are always kept (a one-row VALUES is read otherwise than a longer one);
- a row is kept when its kind (which value is a string, a number, a parameter, a keyword, which
  casts: to which type, as the server reads its name: `"Dom"` is not `"dom"`) is not the first
  row's, or when it brings a value (as written) not seen before in a column whose every value
  counts: the tenant column and the columns the tenant value may come
  from (the registry's key, a generated tenant column's sources), columns of a lossy type, and
  every parameter in any column;
- in the other columns, a value not seen before is kept until the column has two different
  values among the kept rows: "one value in every row" and "not one value" read alike for them.

`number_rows` marks each row left in the tree with its number in the statement as written, for
the findings that name a row by its number.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import NamedTuple

from sqlglot import exp

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.policy import Policy, normalize_name, table_name
from tenantguard.engine.sqltext import original_offset

# statements shorter than this are parsed as written: the thinning pays for itself only on
# long lists, and a short statement's tree is what was written, row by row
MINIMUM = 65_536

_B = r"[ \t\n\r\f\v]"  # PostgreSQL's blanks (a no-break space is a letter of a name to it)
_NAME = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"[^"]+")'
_HEAD = lazy_pattern(
    rf"{_B}*INSERT{_B}+INTO{_B}+(?P<table>(?:{_NAME}{_B}*\.{_B}*)?{_NAME})(?:{_B}+AS{_B}+{_NAME})?"
    rf"{_B}*\((?P<columns>{_B}*{_NAME}(?:{_B}*,{_B}*{_NAME})*){_B}*\){_B}*VALUES{_B}*(?=\()",
    re.IGNORECASE,
)
_COLUMN = lazy_pattern(_NAME)
# one value: its constant, then at most one cast to a one-word type (`::uuid`, `::varchar(20)`)
_CONSTANT = (
    r"(?:'[^'\\]*(?:''[^'\\]*)*'"  # a string, no backslash: read alike whatever the settings
    r"|-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?(?![A-Za-z0-9_$.])"
    r"|\$[0-9]+(?![0-9])"
    r"|(?i:NULL|TRUE|FALSE|DEFAULT)(?![A-Za-z0-9_$]))"
)
_VALUE = (
    _CONSTANT + rf"(?:{_B}*::{_B}*{_NAME}(?:{_B}*\({_B}*[0-9]+(?:{_B}*,{_B}*[0-9]+)?{_B}*\))?)?"
)
_ROW = lazy_pattern(rf"\({_B}*{_VALUE}(?:{_B}*,{_B}*{_VALUE})*{_B}*\)")
_ITEM = lazy_pattern(_VALUE)
_CONSTANT_AT = lazy_pattern(_CONSTANT)
_SEPARATOR = lazy_pattern(rf"{_B}*,{_B}*(?=\()")


def _kind(item: str) -> str:
    """What a value is, beside which one: its first character's class and its cast (the type
    name as PostgreSQL reads it: folded unless quoted, `"Dom"` is not `"dom"`)."""
    constant = _CONSTANT_AT.match(item)
    assert constant is not None  # `item` is a _VALUE
    first = item[0]
    head = "'" if first == "'" else "$" if first == "$" else "k" if first.isalpha() else "0"
    if head == "k":  # NULL, TRUE, FALSE, DEFAULT: which one matters (DEFAULT runs the default)
        head = constant.group().upper()
    # after the constant: a string may hold `::`, a quoted type name `'`
    cast = item[constant.end() :].strip()
    if not cast:
        return head
    cast = cast[2:].strip()  # past `::`
    if not cast.startswith('"'):
        cast = cast.lower()
    return f"{head}::{cast}"


_KIND_PATTERNS = {
    "'": r"'[^'\\]*(?:''[^'\\]*)*'",
    "0": r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?(?![A-Za-z0-9_$.])",
    "$": r"\$[0-9]+(?![0-9])",
}


def _rows_of_kinds(kinds: tuple[str, ...]) -> re.Pattern[str]:
    """A separator and a row whose values are of these kinds, each value a group: the rows
    like the first are read by one match each."""
    values = []
    for kind in kinds:
        head, _, cast = kind.partition("::")
        pattern = _KIND_PATTERNS.get(head) or rf"(?i:{head})(?![A-Za-z0-9_$])"
        if cast:  # a quoted type name keeps its case
            name = re.escape(cast) if cast.startswith('"') else f"(?i:{re.escape(cast)})"
            pattern += rf"{_B}*::{_B}*{name}"
        values.append(f"({pattern})")
    return re.compile(rf"{_B}*,{_B}*\({_B}*" + rf"{_B}*,{_B}*".join(values) + rf"{_B}*\)")


class Thinned(NamedTuple):
    text: str  # the statement without the rows that bring nothing new
    # where rows were taken out: (offset in `text`, characters taken out up to there), in order
    cuts: tuple[tuple[int, int], ...]
    kept: tuple[int, ...]  # the numbers (1-based) of the rows of the run left in it
    read: int  # how many rows the run had: the rows after it are in the tree as written
    # the spaces `normalize_placeholders` put into `text` (its offsets there), once it has
    inserted: tuple[int, ...] = ()

    def shift(self, offset: int) -> int:
        """An offset in `text` as an offset in the statement as written."""
        offset = original_offset(offset, self.inserted)
        at = bisect_right(self.cuts, (offset, _MAX)) - 1
        return offset if at < 0 else offset + self.cuts[at][1]


_MAX = 1 << 62


def thin_rows(text: str, policy: Policy, *, minimum: int | None = None) -> Thinned | None:
    """The statement without the rows of its VALUES list that bring nothing new; None when
    none is taken out."""
    if len(text) < (MINIMUM if minimum is None else minimum) or not text.isascii():
        return None  # (past ASCII, the tokens are checked against the text between them)
    head = _HEAD.match(text)
    if head is None:
        return None
    columns = [normalize_name(m.group()) for m in _COLUMN.finditer(head.group("columns"))]
    counted = counted_columns(policy, table_name(head.group("table")))
    every = [name in counted for name in columns]
    seen: list[set[str]] = [set() for _ in columns]
    first_kinds: tuple[str, ...] = ()
    alike: re.Pattern[str] | None = None  # rows of the first row's kinds
    watched: list[int] = []  # the columns in which a row like the first may bring a new value
    pieces: list[str] = []
    cuts: list[tuple[int, int]] = []
    removed = 0
    kept: list[int] = []
    copied = 0  # text[:copied] is in pieces

    def cut(start: int, end: int) -> None:
        nonlocal copied, removed
        pieces.append(text[copied:start])
        position = start - removed  # where the cut falls in the text without the rows
        removed += end - start
        cuts.append((position, removed))
        copied = end

    drop_from = -1  # where the run of rows being taken out starts (its first separator)
    end = head.end()  # of the last row read
    number = 0
    while True:
        if alike is not None and (same := alike.match(text, end)) is not None:
            values = same.groups()
            if all(values[i] in seen[i] for i in watched):
                number += 1  # nothing new: taken out, with the separator before it
                if drop_from < 0:
                    drop_from = end
                end = same.end()
                continue
        start = end
        if number:
            separator = _SEPARATOR.match(text, end)
            if separator is None:
                break
            start = separator.end()
        row = _ROW.match(text, start)
        if row is None:
            break
        items = _ITEM.findall(row.group())
        if len(items) != len(columns):
            break  # the server rejects it; the parser says where
        kinds = tuple(_kind(item) for item in items)
        if not first_kinds:
            first_kinds = kinds
        keep = (
            number < 2
            or kinds != first_kinds
            or any(
                item not in seen[i] and (every[i] or kinds[i][0] == "$" or len(seen[i]) < 2)
                for i, item in enumerate(items)
            )
        )
        number += 1
        if keep:
            for i, item in enumerate(items):
                seen[i].add(item)
            kept.append(number)
            if drop_from >= 0:
                cut(drop_from, end)
                drop_from = -1
            if number >= 2:
                alike = alike or _rows_of_kinds(first_kinds)
                watched = [
                    i
                    for i, kind in enumerate(first_kinds)
                    if every[i] or kind[0] == "$" or len(seen[i]) < 2
                ]
        elif drop_from < 0:
            drop_from = end  # its separator and itself, and those after it
        end = row.end()
    if drop_from >= 0:
        cut(drop_from, end)
    if not cuts:
        return None
    pieces.append(text[copied:])
    return Thinned("".join(pieces), tuple(cuts), tuple(kept), number)


def counted_columns(policy: Policy, table: str) -> frozenset[str]:
    """The columns of `table` whose every value counts: the tenant column, the registry's key
    (the registry's), the columns its tenant column is generated from or copies, and columns
    of a lossy type."""
    names = {policy.tenant_column, *policy.lossy_columns}
    if table == policy.tenant_root:
        names.add(policy.tenant_root_key)
    if table in policy.tenant_copies:
        names.add(policy.tenant_copies[table])
    names.update(policy.tenant_sources.get(table, ()))
    return frozenset(names)


def number_rows(tree: exp.Expression, thinned: Thinned) -> None:
    """Marks each row of the thinned VALUES list with its number in the statement as written
    (`meta["row"]`), for the findings that name a row."""
    values = tree.expression if isinstance(tree, exp.Insert) else None
    while isinstance(values, exp.Subquery | exp.Paren):
        values = values.this
    if not isinstance(values, exp.Values):
        return
    for index, row in enumerate(values.expressions):
        if index < len(thinned.kept):
            row.meta["row"] = thinned.kept[index]
        else:
            row.meta["row"] = thinned.read + 1 + index - len(thinned.kept)
