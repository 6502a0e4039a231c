"""Findings: what a rule reports, where, and how to get out of it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Finding", "RuleInfo", "Severity"]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule's code, name and default severity (here, not beside the rules' context, so that
    the sources layer can name a rule without loading the parser)."""

    code: str
    name: str
    severity: Severity


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place.

    Positions are 1-based. The engine reports them relative to the statement it was given
    (line 1, column 1 is the statement's first character); `sources` moves them into the file.
    """

    code: str
    name: str
    severity: Severity
    message: str
    help: str
    line: int = 1
    column: int = 1
    end_line: int = 1
    end_column: int = 1
    path: str = ""
    statement: str = ""  # the statement's text, for fingerprints and runtime errors

    def at(
        self, line: int, column: int, end_line: int, end_column: int, path: str | None = None
    ) -> Finding:
        """This finding at another place (built directly: `dataclasses.replace` costs 4x more,
        and findings are moved twice each on their way to a report)."""
        return Finding(
            self.code,
            self.name,
            self.severity,
            self.message,
            self.help,
            line,
            column,
            end_line,
            end_column,
            self.path if path is None else path,
            self.statement,
        )

    def in_file(self, path: str) -> Finding:
        return self.at(self.line, self.column, self.end_line, self.end_column, path)

    def shifted(self, line: int, column: int, path: str | None = None) -> Finding:
        """This finding moved so that its statement starts at (line, column) of a file."""
        first = self.column + column - 1 if self.line == 1 else self.column
        last = self.end_column + column - 1 if self.end_line == 1 else self.end_column
        return self.at(self.line + line - 1, first, self.end_line + line - 1, last, path)
