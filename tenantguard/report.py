"""Report formats: text or full (for people), concise (one line each), json, sarif (code
scanning), github (annotations); and `--statistics`."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final, TextIO

from tenantguard import __version__
from tenantguard.engine.findings import Finding, Severity
from tenantguard.sources.walk import is_python

__all__ = [
    "FORMATS",
    "PROJECT_URL",
    "SourceLines",
    "Style",
    "Summary",
    "colour_wanted",
    "render",
    "render_statistics",
    "write_report",
]

# `full` is `text` under ruff's name
FORMATS = ("text", "full", "concise", "json", "sarif", "github")
PROJECT_URL = "https://github.com/tenantguard/tenantguard"


def colour_wanted(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Colours on a terminal; `NO_COLOR` (non-empty) turns them off, `FORCE_COLOR` (non-empty)
    on even when the output is not a terminal; NO_COLOR wins (no-color.org)."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


# a plain class: a dataclass costs a fresh process ~1 M instructions to build at import
class Style:
    """How text is drawn: ANSI colours or none, the summary or not, known file contents."""

    __slots__ = ("colour", "quiet", "texts")
    colour: Final[bool]
    quiet: Final[bool]
    texts: Final[Mapping[str, str]]  # path -> content (standard input)

    def __init__(
        self, colour: bool = False, quiet: bool = False, texts: Mapping[str, str] | None = None
    ) -> None:
        self.colour = colour
        self.quiet = quiet
        self.texts = {} if texts is None else texts

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text


_BOLD, _RED, _YELLOW, _CYAN, _BLUE = "1", "1;31", "1;33", "36", "1;34"


def _level_colour(finding: Finding) -> str:
    return _RED if finding.severity is Severity.ERROR else _YELLOW


# C0 and C1 control characters of a checked file (its text, its name, an identifier in a
# message) as visible symbols, one column each: raw, an escape sequence would run on the
# reader's terminal (clear it, retitle it, hide the rest of a line)
_VISIBLE = (
    {c: 0x2400 + c for c in range(32)} | {0x7F: 0x2421} | {c: 0xFFFD for c in range(0x80, 0xA0)}
)
_VISIBLE.pop(9)  # a tab: expanded where source is shown


def _visible(text: str) -> str:
    return text.translate(_VISIBLE) if not text.isprintable() else text


def _location(f: Finding, style: Style) -> str:
    return (
        f"{style.paint(_visible(f.path), _BOLD)}:{f.line}:{f.column}: "
        f"{style.paint(f.code, _level_colour(f))}"
    )


# a plain class: a dataclass costs a fresh process ~1 M instructions to build at import
class Summary:
    """What a run read, beyond its findings: only application statements can be "proven"."""

    __slots__ = (
        "files",
        "hidden",
        "left_out",
        "left_out_in",
        "notes",
        "schema_statements",
        "statements",
        "subject",
        "tenant_statements",
    )
    files: Final[int]
    statements: Final[int]
    schema_statements: Final[int]  # of `statements`, those of schema sources (patches, migrations)
    hidden: Final[int]  # findings the baseline hid: the run is not clean, it is accepted
    subject: Final[str]  # what was checked, when it is not files (`audit`: "database …")
    # of the application statements, those that read or write tenant tables (None: not known)
    tenant_statements: Final[int | None]
    left_out: Final[tuple[str, ...]]  # rules deciding proof that the selection did not run
    # of those, the ones left out only in some files (`per_file_ignores`): the files, by rule
    left_out_in: Final[dict[str, tuple[str, ...]]]
    # the files' notes (said on standard error as each file comes: psql meta-commands skipped,
    # a query builder's statement not proven…), for the machine formats
    notes: Final[tuple[str, ...]]

    def __init__(
        self,
        files: int,
        statements: int,
        schema_statements: int = 0,
        hidden: int = 0,
        subject: str = "",
        tenant_statements: int | None = None,
        left_out: tuple[str, ...] = (),
        left_out_in: dict[str, tuple[str, ...]] | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.files = files
        self.statements = statements
        self.schema_statements = schema_statements
        self.hidden = hidden
        self.subject = subject
        self.tenant_statements = tenant_statements
        self.left_out = left_out
        self.left_out_in = left_out_in or {}
        self.notes = notes

    @property
    def application_statements(self) -> int:
        return self.statements - self.schema_statements

    def closing_line(self, errors: int, warnings: int) -> str:
        if self.subject:
            if not errors and not warnings:
                return f"No findings in {self.subject}."
            return (
                f"Found {errors} error{'s' * (errors != 1)} and "
                f"{warnings} warning{'s' * (warnings != 1)} in {self.subject}."
            )
        files = f"{self.files} file{'s' * (self.files != 1)}"
        schema = (
            f"; {self.schema_statements} schema statement"
            f"{'s' * (self.schema_statements != 1)} read, not proven"
            if self.schema_statements
            else ""
        )
        hidden = (
            f" {self.hidden} finding{'s' * (self.hidden != 1)} hidden by the baseline."
            if self.hidden
            else ""
        )
        # the application's statements, the schema's said apart (as the clean run's line, and
        # as the JSON summary's `schema_statements`): "4 statements; 2 schema statements" read
        # as six (h32k)
        checked = self.application_statements
        statements = f"{checked} statement{'s' * (checked != 1)}"
        if errors or warnings:
            return (
                f"Found {errors} error{'s' * (errors != 1)} and "
                f"{warnings} warning{'s' * (warnings != 1)} in {files} "
                f"({statements}{schema}).{hidden}"
            )
        if self.hidden:
            return f"No new findings: {statements} checked in {files}{schema}.{hidden}"
        if not checked:
            return f"No findings: no application SQL statement in {files}{schema}."
        if self.tenant_statements == 0:
            # nothing was proven: said, so that a misnamed tenant table does not look like a pass
            return (
                f"No findings: {statements} in {files}{schema}, none of them on a tenant table "
                "(if some should be, check tenant_tables and tenant_column)."
            )
        if self.left_out:
            # `--ignore TG001` silences a leak: nothing unchecked is called proven
            return (
                f"No findings: {statements} in {files}, not proven: the rule selection leaves "
                f"out {_left_out_where(self.left_out, self.left_out_in)}{schema}."
            )
        return f"No findings: {statements} in {files} proven{schema}."


def _left_out_where(left_out: tuple[str, ...], left_out_in: dict[str, tuple[str, ...]]) -> str:
    """`TG001`, or for rules left out in some files only (`per_file_ignores`: admin code),
    where: `TG001 in replay/admin/internal.py` (h35G: the run seemed to leave TG001 out of
    every file), the files counted beyond three."""
    everywhere = ", ".join(code for code in left_out if not left_out_in.get(code))
    somewhere = []
    for code in left_out:
        files = left_out_in.get(code)
        if files:
            more = f" and {len(files) - 3} more" if len(files) > 3 else ""
            somewhere.append(f"{code} in {', '.join(files[:3])}{more}")
    return "; ".join(part for part in (everywhere, *somewhere) if part)


# the summary, or a function giving it once the last finding is written (a run that streams
# its reports counts its statements as they come)
SummaryLike = Summary | Callable[[], Summary] | None


def _summary(summary: SummaryLike, files: int, statements: int) -> Summary:
    if summary is None:
        return Summary(files, statements)
    return summary() if callable(summary) else summary


class SourceLines:
    """The source lines findings point at, read as the report goes: findings come sorted by
    file and line, so each file is read once, forward, and let go when the next one starts
    (a report over a large tree holds one line, not every file).

    Lines are counted as the positions were: a Python file's as Python's tokenizer counts them
    (`\\n`, `\\r\\n` or `\\r`), any other's at `\\n` only (`str.splitlines` also breaks at form
    feeds and Unicode separators, and showed the wrong line after one).
    """

    def __init__(self, texts: Mapping[str, str] | None = None) -> None:
        self.texts = texts or {}
        self.path: str | None = None
        self.lines: Iterator[str] = iter(())
        self.number = 0
        self.current: str | None = None

    def line(self, path: str, line: int) -> str | None:
        if path != self.path or line < self.number:
            self.close()
            self.path, self.number, self.current = path, 0, None
            self.lines = _lines(path, self.texts.get(path))
        while self.number < line:
            self.current = next(self.lines, None)
            if self.current is None:
                self.number = line  # past the end: nothing to show for later lines either
                return None
            self.number += 1
        return self.current if self.number == line else None

    def close(self) -> None:
        """Lets the open file go (a generator's `close` leaves its `with` block)."""
        close = getattr(self.lines, "close", None)
        if close is not None:
            close()


def _lines(path: str, text: str | None) -> Iterator[str]:
    python = is_python(path)
    if text is not None:  # standard input's
        if python:
            yield from re.split(r"\r\n|\r|\n", text)
        else:
            yield from (line.removesuffix("\r") for line in text.split("\n"))
        return
    try:
        if python:  # universal newlines, as Python reads source
            with open(path, encoding="utf-8-sig", errors="replace") as handle:
                for line in handle:
                    yield line.removesuffix("\n")
            return
        with open(path, "rb") as binary:
            first = True
            for raw in binary:
                decoded = raw.decode("utf-8", errors="replace")
                decoded = decoded.removesuffix("\n").removesuffix("\r")
                if first:
                    decoded, first = decoded.removeprefix("\ufeff"), False
                yield decoded
    except OSError:
        return


def render_text(
    findings: Sequence[Finding],
    files: int,
    statements: int,
    style: Style = Style(),
    summary: Summary | None = None,
) -> str:
    out = io.StringIO()
    write_text(out, findings, files, statements, style, summary)
    return out.getvalue()


def write_text(
    out: TextIO,
    findings: Iterable[Finding],
    files: int,
    statements: int,
    style: Style = Style(),
    summary: SummaryLike = None,
) -> None:
    """The text report, written finding by finding."""
    sources = SourceLines(style.texts)
    errors = total = 0
    try:
        for f in findings:
            if total and style.quiet:
                out.write("\n")
            block = [f"{_location(f, style)} {_visible(f.message)}"]
            source = sources.line(f.path, f.line)
            if source is not None and len(source) < 400:
                width = max(1, (f.end_column - f.column) if f.end_line == f.line else 1)
                block.append(f"    {_visible(source.expandtabs(1))}")
                block.append(
                    f"    {' ' * (f.column - 1)}{style.paint('^' * width, _level_colour(f))}"
                )
            block.append(f"    {style.paint('= help:', _CYAN)} {_visible(f.help)}")
            if f.severity is Severity.WARNING:
                block[-1] += " (warning)"
            out.write("\n".join(block) + ("\n" if style.quiet else "\n\n"))
            total += 1
            errors += f.severity is Severity.ERROR
    finally:
        sources.close()
    if not style.quiet:
        closing = _summary(summary, files, statements).closing_line(errors, total - errors)
        out.write(closing + "\n")


def render_concise(
    findings: Sequence[Finding],
    files: int,
    statements: int,
    style: Style = Style(),
    summary: Summary | None = None,
) -> str:
    """One line per finding, as ruff's concise format."""
    out = io.StringIO()
    write_concise(out, findings, files, statements, style, summary)
    return out.getvalue()


def write_concise(
    out: TextIO,
    findings: Iterable[Finding],
    files: int,
    statements: int,
    style: Style = Style(),
    summary: SummaryLike = None,
) -> None:
    errors = total = 0
    for f in findings:
        # a warning says so (it does not fail the run): the line stays `path:line:col: CODE …`
        mark = "" if f.severity is Severity.ERROR else " (warning)"
        out.write(f"{_location(f, style)} {_visible(f.message)}{mark}\n")
        total += 1
        errors += f.severity is Severity.ERROR
    if not style.quiet:
        closing = _summary(summary, files, statements).closing_line(errors, total - errors)
        out.write(closing + "\n")


def render_statistics(fmt: str, findings: Sequence[Finding], style: Style = Style()) -> str:
    """How many findings of each rule, most frequent first."""
    counts = Counter((f.code, f.name) for f in findings)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if fmt == "json":
        rows = [{"code": code, "name": name, "count": n} for (code, name), n in ranked]
        return json.dumps(rows, indent=2) + "\n"
    width = max((len(str(n)) for n in counts.values()), default=1)
    lines = [f"{n:>{width}}\t{style.paint(code, _RED)}\t{name}" for (code, name), n in ranked]
    return "".join(line + "\n" for line in lines)


def render_json(
    findings: Sequence[Finding], files: int, statements: int, summary: Summary | None = None
) -> str:
    out = io.StringIO()
    write_json(out, findings, files, statements, summary)
    return out.getvalue()


def write_json(
    out: TextIO,
    findings: Iterable[Finding],
    files: int,
    statements: int,
    summary: SummaryLike = None,
    notices: tuple[str, ...] = (),
) -> None:
    """One JSON document: the findings one per line (json's C encoder writes each; `indent`
    would switch the whole document to the pure-Python encoder), then a summary."""
    out.write(f'{{\n  "version": {json.dumps(__version__)},\n  "findings": [')
    errors = total = 0
    for f in findings:
        row = {
            "path": f.path,
            "line": f.line,
            "column": f.column,
            "end_line": f.end_line,
            "end_column": f.end_column,
            "rule": f.code,
            "name": f.name,
            "severity": str(f.severity),
            "message": f.message,
            "help": f.help,
        }
        out.write(("\n    " if total == 0 else ",\n    ") + json.dumps(row))
        total += 1
        errors += f.severity is Severity.ERROR
    counts = _summary(summary, files, statements)
    totals = json.dumps(
        {
            "files": counts.files,
            "statements": counts.statements,
            "errors": errors,
            "warnings": total - errors,
            "schema_statements": counts.schema_statements,
            "tenant_statements": counts.tenant_statements,
            "hidden_by_baseline": counts.hidden,
            "rules_left_out": list(counts.left_out),
            # (only when some rule is left out of some files only: `per_file_ignores`)
            **(
                {"rules_left_out_in": {k: list(v) for k, v in counts.left_out_in.items()}}
                if counts.left_out_in
                else {}
            ),
            # (only when the configuration drew warnings: a tenant table no schema creates…)
            **({"configuration_warnings": list(notices)} if notices else {}),
            # (only when a file's check left a note: a query builder's statement not proven…)
            **({"notes": list(counts.notes)} if counts.notes else {}),
        }
    )
    closing = "\n  ]" if total else "]"
    out.write(f'{closing},\n  "summary": {totals}\n}}\n')


def _escape_github(value: str, *, property_: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def render_github(
    findings: Sequence[Finding], files: int, statements: int, summary: Summary | None = None
) -> str:
    out = io.StringIO()
    write_github(out, findings)
    return out.getvalue()


def _workspace_path(path: str) -> str:
    """A finding's path as GitHub names the file: relative to the checkout (`GITHUB_WORKSPACE`,
    set in a workflow) when it is inside it — a step run in a subdirectory (`working-directory:`)
    has paths relative to that directory, which annotations would not attach to; else as given."""
    base = os.environ.get("GITHUB_WORKSPACE")
    if not base:
        return path
    full = os.path.abspath(path)
    root = os.path.abspath(base)
    if full == root or not full.startswith(root.rstrip(os.sep) + os.sep):
        return path
    return Path(os.path.relpath(full, root)).as_posix()


def write_github(out: TextIO, findings: Iterable[Finding], notices: tuple[str, ...] = ()) -> None:
    title = _escape_github("tenantguard configuration", property_=True)
    for notice in notices:
        out.write(f"::warning title={title}::{_escape_github(notice)}\n")
    for f in findings:
        level = "error" if f.severity is Severity.ERROR else "warning"
        props = (
            f"file={_escape_github(_workspace_path(f.path), property_=True)},"
            f"line={f.line},col={f.column},"
            f"endLine={f.end_line},endColumn={f.end_column},"
            f"title={_escape_github(f'{f.code} {f.name}', property_=True)}"
        )
        out.write(f"::{level} {props}::{_escape_github(f.message + ' — ' + f.help)}\n")


def help_uri(code: str) -> str:
    """Where a rule's documentation lives: its own module, whose docstring is the doc."""
    from tenantguard.catalog import rule_module  # patch rules load pglast

    return f"{PROJECT_URL}/blob/main/{rule_module(code)}"


def render_sarif(
    findings: Sequence[Finding], files: int, statements: int, summary: Summary | None = None
) -> str:
    out = io.StringIO()
    write_sarif(out, findings)
    return out.getvalue()


def write_sarif(out: TextIO, findings: Iterable[Finding], notices: tuple[str, ...] = ()) -> None:
    """A SARIF 2.1.0 log; the results written one at a time (the document as `json.dumps`
    with `indent=2` would print it)."""
    from tenantguard.baseline import fingerprint
    from tenantguard.catalog import CATALOG  # patch rules load pglast: only for SARIF

    rules = []
    for rule in CATALOG:
        title, _, body = rule.doc.partition("\n")
        first_para = body.strip().split("\n\n")[1] if "\n\n" in body.strip() else body.strip()
        rules.append(
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": title.strip()},
                "fullDescription": {"text": " ".join(first_para.split())},
                "help": {"text": rule.doc, "markdown": rule.doc},
                "helpUri": help_uri(rule.code),
                "defaultConfiguration": {"level": str(rule.info.severity)},
            }
        )
    index = {rule.code: i for i, rule in enumerate(CATALOG)}
    driver = {"name": "tenantguard", "version": __version__, "informationUri": PROJECT_URL}
    document = json.dumps(
        {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {"driver": {**driver, "rules": rules}},
                    # columns count characters (as the text report's), not UTF-16 code units
                    "columnKind": "unicodeCodePoints",
                    **(
                        {
                            "invocations": [
                                {
                                    "executionSuccessful": True,
                                    "toolConfigurationNotifications": [
                                        {"level": "warning", "message": {"text": notice}}
                                        for notice in notices
                                    ],
                                }
                            ]
                        }
                        if notices
                        else {}
                    ),
                    "results": [None],
                }
            ],
        },
        indent=2,
    )
    # the document around one placeholder result: each result is written in its place
    head, _, tail = document.partition("\n        null\n")
    out.write(head)
    first = True
    for f in findings:
        result = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": "error" if f.severity is Severity.ERROR else "warning",
            "message": {"text": f"{f.message}. Fix: {f.help}"},
            # the baseline's key: the same finding keeps it when lines move
            "partialFingerprints": {"tenantguardFinding/v1": fingerprint(f)},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": Path(_workspace_path(f.path)).as_posix()},
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": max(f.end_line, f.line),
                            "endColumn": max(f.end_column, f.column + 1)
                            if f.end_line <= f.line
                            else f.end_column,
                        },
                    }
                }
            ],
        }
        text = json.dumps(result, indent=2).replace("\n", "\n        ")
        out.write(("\n        " if first else ",\n        ") + text)
        first = False
    if first:  # no result: `"results": []`, as json.dumps prints an empty list
        out.write("]" + tail.removeprefix("      ]") + "\n")
    else:
        out.write("\n" + tail + "\n")


def error_document(fmt: str | None, kind: str, message: str) -> None:
    """`write_error` on standard output in the machine formats (json, sarif, github); a
    closed standard output is passed over (standard error said the message already)."""
    if fmt not in ("json", "sarif", "github"):
        return
    with contextlib.suppress(OSError, ValueError):
        write_error(sys.stdout, fmt, kind, message)
        sys.stdout.flush()


def write_error(out: TextIO, fmt: str, kind: str, message: str) -> None:
    """The document of a run that stopped before its report (a configuration error: exit 2),
    in the machine formats, so that a step reading it (a SARIF upload) gets a valid file that
    names the failure rather than an empty one: json an `error` object, SARIF a run whose
    invocation failed with the message as a notification, github an error annotation. Nothing
    that reads as "no findings": json has no `findings` nor `summary`, the SARIF run no
    `results` (absent: the tool produced none; `[]` would say it found none). The text formats
    print nothing here (the message is on stderr)."""
    if fmt == "json":
        document = {"version": __version__, "error": {"kind": kind, "message": message}}
        out.write(json.dumps(document, indent=2) + "\n")
    elif fmt == "sarif":
        driver = {"name": "tenantguard", "version": __version__, "informationUri": PROJECT_URL}
        run: dict[str, object] = {
            "tool": {"driver": driver},
            "invocations": [
                {
                    "executionSuccessful": False,
                    "toolExecutionNotifications": [
                        {
                            "level": "error",
                            "descriptor": {"id": f"{kind}-error"},
                            "message": {"text": f"{kind} error: {message}"},
                        }
                    ],
                }
            ],
        }
        sarif = {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [run],
        }
        out.write(json.dumps(sarif, indent=2) + "\n")
    elif fmt == "github":
        title = _escape_github(f"tenantguard {kind} error", property_=True)
        out.write(f"::error title={title}::{_escape_github(message)}\n")


def write_report(
    out: TextIO,
    fmt: str,
    findings: Iterable[Finding],
    files: int,
    statements: int,
    style: Style = Style(),
    *,
    summary: SummaryLike = None,
    notices: tuple[str, ...] = (),
) -> None:
    """Writes the report to `out` as it goes, one finding at a time, taking each from
    `findings` only when the one before is written: nothing holds the report whole.
    `notices`: the configuration's warnings (said on standard error already): the machine
    formats carry them too, where a CI reads them — json in `configuration_warnings`, SARIF as
    the run's toolConfigurationNotifications, github as warning annotations; the text formats
    leave them on standard error."""
    if fmt in ("text", "full"):
        write_text(out, findings, files, statements, style, summary)
    elif fmt == "concise":
        write_concise(out, findings, files, statements, style, summary)
    elif fmt == "json":
        write_json(out, findings, files, statements, summary, notices)
    elif fmt == "sarif":
        write_sarif(out, findings, notices)
    else:
        write_github(out, findings, notices)


def render(
    fmt: str,
    findings: Sequence[Finding],
    files: int,
    statements: int,
    style: Style = Style(),
    *,
    summary: Summary | None = None,
) -> str:
    out = io.StringIO()
    write_report(out, fmt, findings, files, statements, style, summary=summary)
    return out.getvalue()
