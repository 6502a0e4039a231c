"""Report formats: text or full (for people), concise (one line each), json, sarif (code
scanning), github (annotations); and `--statistics`."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tenantguard import __version__
from tenantguard.engine.findings import Finding, Severity

__all__ = [
    "FORMATS",
    "PROJECT_URL",
    "Style",
    "Summary",
    "colour_wanted",
    "render",
    "render_statistics",
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


@dataclass(frozen=True)
class Style:
    """How text is drawn: ANSI colours or none, the summary or not, known file contents."""

    colour: bool = False
    quiet: bool = False
    texts: Mapping[str, str] = field(default_factory=dict)  # path -> content (standard input)

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text


_BOLD, _RED, _YELLOW, _CYAN, _BLUE = "1", "1;31", "1;33", "36", "1;34"


def _level_colour(finding: Finding) -> str:
    return _RED if finding.severity is Severity.ERROR else _YELLOW


def _location(f: Finding, style: Style) -> str:
    return (
        f"{style.paint(f.path, _BOLD)}:{f.line}:{f.column}: {style.paint(f.code, _level_colour(f))}"
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """What a run read, beyond its findings: only application statements can be "proven"."""

    files: int
    statements: int
    schema_statements: int = 0  # of `statements`, those of schema sources (patches, migrations)
    hidden: int = 0  # findings the baseline hid: the run is not clean, it is accepted
    subject: str = ""  # what was checked, when it is not files (`audit`: "database …")

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
        if errors or warnings:
            return (
                f"Found {errors} error{'s' * (errors != 1)} and "
                f"{warnings} warning{'s' * (warnings != 1)} in {files} "
                f"({self.statements} statements{schema}).{hidden}"
            )
        checked = self.application_statements
        if self.hidden:
            return f"No new findings: {checked} statements checked in {files}{schema}.{hidden}"
        if not checked:
            return f"No findings: no application SQL statement in {files}{schema}."
        return f"No findings: {checked} statements in {files} proven{schema}."


def _closing_line(
    findings: Sequence[Finding], files: int, statements: int, summary: Summary | None
) -> str:
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    return (summary or Summary(files, statements)).closing_line(errors, len(findings) - errors)


def _source_line(path: str, line: int, cache: dict[str, list[str]]) -> str | None:
    if path not in cache:
        try:
            cache[path] = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1] if 0 < line <= len(lines) else None


def render_text(
    findings: Sequence[Finding],
    files: int,
    statements: int,
    style: Style = Style(),
    summary: Summary | None = None,
) -> str:
    out: list[str] = []
    cache = {path: text.splitlines() for path, text in style.texts.items()}
    for f in findings:
        out.append(f"{_location(f, style)} {f.message}")
        source = _source_line(f.path, f.line, cache)
        if source is not None and len(source) < 400:
            width = max(1, (f.end_column - f.column) if f.end_line == f.line else 1)
            out.append(f"    {source.expandtabs(1)}")
            out.append(f"    {' ' * (f.column - 1)}{style.paint('^' * width, _level_colour(f))}")
        out.append(f"    {style.paint('= help:', _CYAN)} {f.help}")
        if f.severity is Severity.WARNING:
            out[-1] += " (warning)"
        out.append("")
    if style.quiet:
        return "\n".join(out[:-1]) + "\n" if out else ""
    out.append(_closing_line(findings, files, statements, summary))
    return "\n".join(out) + "\n"


def render_concise(
    findings: Sequence[Finding],
    files: int,
    statements: int,
    style: Style = Style(),
    summary: Summary | None = None,
) -> str:
    """One line per finding, as ruff's concise format."""
    out = [f"{_location(f, style)} {f.message}" for f in findings]
    if not style.quiet:
        out.append(_closing_line(findings, files, statements, summary))
    return "".join(line + "\n" for line in out)


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
    """One JSON document: the findings one per line (json's C encoder writes each; `indent`
    would switch the whole document to the pure-Python encoder), then a summary."""
    rows = ",\n".join(
        "    "
        + json.dumps(
            {
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
        )
        for f in findings
    )
    counts = summary or Summary(files, statements)
    totals = json.dumps(
        {
            "files": files,
            "statements": statements,
            "errors": sum(1 for f in findings if f.severity is Severity.ERROR),
            "warnings": sum(1 for f in findings if f.severity is Severity.WARNING),
            "schema_statements": counts.schema_statements,
            "hidden_by_baseline": counts.hidden,
        }
    )
    listed = f"[\n{rows}\n  ]" if rows else "[]"
    return (
        f'{{\n  "version": {json.dumps(__version__)},\n  "findings": {listed},\n'
        f'  "summary": {totals}\n}}\n'
    )


def _escape_github(value: str, *, property_: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def render_github(
    findings: Sequence[Finding], files: int, statements: int, summary: Summary | None = None
) -> str:
    lines = []
    for f in findings:
        level = "error" if f.severity is Severity.ERROR else "warning"
        props = (
            f"file={_escape_github(f.path, property_=True)},line={f.line},col={f.column},"
            f"endLine={f.end_line},endColumn={f.end_column},"
            f"title={_escape_github(f'{f.code} {f.name}', property_=True)}"
        )
        lines.append(f"::{level} {props}::{_escape_github(f.message + ' — ' + f.help)}")
    return "\n".join(lines) + ("\n" if lines else "")


def help_uri(code: str) -> str:
    """Where a rule's documentation lives: its own module, whose docstring is the doc."""
    from tenantguard.catalog import rule_module  # patch rules load pglast

    return f"{PROJECT_URL}/blob/main/{rule_module(code)}"


def render_sarif(
    findings: Sequence[Finding], files: int, statements: int, summary: Summary | None = None
) -> str:
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
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": "error" if f.severity is Severity.ERROR else "warning",
            "message": {"text": f"{f.message}. Fix: {f.help}"},
            # the baseline's key: the same finding keeps it when lines move
            "partialFingerprints": {"tenantguardFinding/v1": fingerprint(f)},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": Path(f.path).as_posix()},
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
        for f in findings
    ]
    return (
        json.dumps(
            {
                "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
                "version": "2.1.0",
                "runs": [
                    {
                        "tool": {
                            "driver": {
                                "name": "tenantguard",
                                "version": __version__,
                                "informationUri": PROJECT_URL,
                                "rules": rules,
                            }
                        },
                        "results": results,
                    }
                ],
            },
            indent=2,
        )
        + "\n"
    )


def render(
    fmt: str,
    findings: Sequence[Finding],
    files: int,
    statements: int,
    style: Style = Style(),
    *,
    summary: Summary | None = None,
) -> str:
    if fmt in ("text", "full"):
        return render_text(findings, files, statements, style, summary)
    if fmt == "concise":
        return render_concise(findings, files, statements, style, summary)
    renderer = {"json": render_json, "sarif": render_sarif, "github": render_github}[fmt]
    return renderer(findings, files, statements, summary)
