"""Suppression comments: `tenantguard: ignore[CODE] -- reason` and `ignore-file[CODE]`.

In Python the comment is a `#` comment — or a SQL comment inside the query's own string, read
at its line —, in SQL a `--` or `/* */` comment. A line suppression
alone on its line covers findings on its own line and on the line after it (and the statement or
call that starts there); one written after code on its line (trailing) covers that line's
statement or call only — not the next line's, where another leak may stand. A file suppression
covers the whole file. Every suppression needs a reason after `--`
(TG010) and must suppress something (TG011).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.findings import Finding

__all__ = ["Suppression", "apply_suppressions", "python_suppressions", "sql_suppressions"]

_PATTERN = lazy_pattern(
    r"tenantguard:\s*(?P<kind>ignore-file|ignore)\s*(?:\[(?P<codes>[^\]]*)\])?(?P<rest>.*)",
    re.IGNORECASE,
)


@dataclass
class Suppression:
    """A `tenantguard: ignore[...]` comment: where it is, its codes and reason."""

    line: int
    column: int
    codes: frozenset[str]
    reason: str
    whole_file: bool
    used: bool = False
    trailing: bool = False  # written after code on its line: that line only


def _parse(text: str, line: int, column: int, trailing: bool = False) -> Suppression | None:
    match = _PATTERN.search(text)
    if match is None:
        return None
    codes = frozenset(
        c.strip().upper() for c in (match.group("codes") or "").split(",") if c.strip()
    )
    rest = match.group("rest").strip().rstrip("*/").strip()
    reason = rest[2:].strip() if rest.startswith("--") else ""
    whole_file = match.group("kind").lower() == "ignore-file"
    return Suppression(line, column + match.start(), codes, reason, whole_file, trailing=trailing)


def python_suppressions(source: str) -> list[Suppression]:
    found: list[Suppression] = []
    if "tenantguard" not in source:
        return found  # tokenizing a whole module is costly: most files have no suppression
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and "tenantguard" in token.string:
                trailing = bool(token.line[: token.start[1]].strip())
                parsed = _parse(token.string, token.start[0], token.start[1] + 1, trailing)
                if parsed is not None:
                    found.append(parsed)
            elif token.type == tokenize.STRING and "tenantguard" in token.string:
                found.extend(_in_sql_text(token))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # the file does not parse: TG006 says so already
    return found


_SQL_COMMENT = lazy_pattern(r"--[^\n]*tenantguard:[^\n]*|/\*.*?tenantguard:.*?\*/", re.DOTALL)


def _in_sql_text(token: tokenize.TokenInfo) -> list[Suppression]:
    """`-- tenantguard: ignore[…] -- reason` written as a SQL comment inside the string of a
    query: the same suppression, at its own line (alone there, or after the SQL of its line)."""
    found = []
    text = token.string
    for match in _SQL_COMMENT.finditer(text):
        before = text[: match.start()]
        line = token.start[0] + before.count("\n")
        start_of_line = before.rfind("\n") + 1
        column = (token.start[1] if start_of_line == 0 else 0) + match.start() - start_of_line
        # what precedes on its line: the string's opening and SQL text count, quotes do not
        ahead = before[start_of_line:].lstrip("rRbBfFuU").strip("'\" ")
        parsed = _parse(match.group(0), line, column + 1, bool(ahead))
        if parsed is not None:
            found.append(parsed)
    return found


def sql_suppressions(
    comments: Iterable[tuple[str, int, int]], source: str | None = None
) -> list[Suppression]:
    """The suppressions among a script's comments; `source`, the script, tells which are
    trailing (after code on their line)."""
    found = []
    lines = source.split("\n") if source is not None and "tenantguard" in source else None
    for text, line, column in comments:
        if "tenantguard" in text:
            trailing = lines is not None and bool(lines[line - 1][: column - 1].strip())
            parsed = _parse(text, line, column, trailing)
            if parsed is not None:
                found.append(parsed)
    return found


def apply_suppressions(
    findings: Sequence[Finding], anchors: Sequence[tuple[int, ...]], suppressions: list[Suppression]
) -> list[Finding]:
    """The findings no suppression covers, plus TG010/TG011 about the suppressions themselves."""
    kept: list[Finding] = []
    for finding, lines in zip(findings, anchors, strict=True):
        covering = [
            s for s in suppressions if finding.code in s.codes and covers(s, finding, lines)
        ]
        if covering:
            for s in covering:
                s.used = True
        else:
            kept.append(finding)
    faulty = [s for s in suppressions if not s.codes or not s.reason or not s.used]
    if not faulty:
        return kept
    # the rules package loads sqlglot: imported for a faulty suppression only
    from tenantguard.engine.rules import tg010_suppression_without_reason, tg011_unused_suppression

    missing = tg010_suppression_without_reason.RULE
    unused = tg011_unused_suppression.RULE
    for s in faulty:
        if not s.codes or not s.reason:
            what = "names no rule code" if not s.codes else "gives no reason"
            kept.append(
                Finding(
                    missing.code,
                    missing.name,
                    missing.severity,
                    f"suppression {what}",
                    "write `tenantguard: ignore[TG001] -- why this is safe`",
                    s.line,
                    s.column,
                    s.line,
                    s.column + 1,
                )
            )
        elif not s.used:
            message, fix = _unused(s.codes)
            kept.append(
                Finding(
                    unused.code,
                    unused.name,
                    unused.severity,
                    message,
                    fix,
                    s.line,
                    s.column,
                    s.line,
                    s.column + 1,
                )
            )
    return kept


def covers(s: Suppression, finding: Finding, lines: tuple[int, ...]) -> bool:
    """`lines`: for each place the finding is anchored at (its statement's or call's first
    line, its own line), that line and the one before it."""
    if s.whole_file:
        return True
    if not s.trailing:
        return s.line in lines or s.line in (finding.line, finding.line - 1)
    # a trailing one: the finding's own line, or an anchor line itself (its line before in
    # the anchors too), not the line before an anchor
    return s.line == finding.line or (s.line in lines and s.line - 1 in lines)


def _unused(codes: frozenset[str]) -> tuple[str, str]:
    """What an unused suppression says: a code that is no rule, or a rule written by its name,
    is named as such (a typo would otherwise read as a finding that went away)."""
    from tenantguard.catalog import CATALOG, rule_doc

    known = {r.code for r in CATALOG}
    strange = sorted(c for c in codes if c not in known)
    if not strange:
        return (
            f"suppression of {', '.join(sorted(codes))} suppresses nothing",
            "remove the comment (or move it to the line of the finding)",
        )
    named = [(c, rule_doc(c)) for c in strange]
    by_name = [f"{r.name} is rule {r.code}" for _, r in named if r is not None]
    if by_name:
        return (
            f"suppression names a rule by its name ({'; '.join(by_name)}): it suppresses nothing",
            "write the rule's code: `tenantguard: ignore[TG001] -- why this is safe`",
        )
    return (
        f"suppression names {', '.join(strange)}, which is no tenantguard rule: it suppresses "
        "nothing",
        "write a rule's code (`tenantguard rule --all` lists them)",
    )
