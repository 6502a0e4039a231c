"""Findings: what a rule reports, where, and how to get out of it."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from tenantguard._records import frozen_record

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["Finding", "Rule", "RuleInfo", "Severity", "rule_of", "source_docstring"]

C = TypeVar("C")


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@frozen_record
class RuleInfo:
    """A rule's code, name and default severity (here, not beside the rules' context, so that
    the sources layer can name a rule without loading the parser)."""

    code: str
    name: str
    severity: Severity

    __slots__ = __match_args__ = ("code", "name", "severity")

    def __init__(self, code: str, name: str, severity: Severity) -> None:
        set_field = object.__setattr__
        set_field(self, "code", code)
        set_field(self, "name", name)
        set_field(self, "severity", severity)


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
    # a statement of a file the program reads (`(SQL_DIR / "q.sql").read_text()`), found
    # where Python sends it: that file's path and line, "app/sql/q.sql:1" (a run that checks
    # that file too reports it there, once, `sources.walk.merge_read_files`)
    read_from: str = ""
    # the other files whose text the statement holds, wherever the finding points (a module's
    # constant, a subclass's field filling an f-string, a file the program reads), relative to
    # the project's root: a run of one of them alone says it (`sources.walk.from_named`, h40E)
    filled_from: tuple[str, ...] = ()

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
            self.read_from,
            self.filled_from,
        )

    def in_file(self, path: str) -> Finding:
        return self.at(self.line, self.column, self.end_line, self.end_column, path)

    def shifted(self, line: int, column: int, path: str | None = None) -> Finding:
        """This finding moved so that its statement starts at (line, column) of a file."""
        first = self.column + column - 1 if self.line == 1 else self.column
        last = self.end_column + column - 1 if self.end_line == 1 else self.end_column
        return self.at(self.line + line - 1, first, self.end_line + line - 1, last, path)


@frozen_record
class Rule(Generic[C]):
    """A rule: permanent code and name, its documentation, and its check over a context `C`.

    `check` is None for rules the sources layer reports (about files, not statements).
    `needs`: node kinds the check only looks at (through `find`); when a statement has none of
    them, the rule has nothing to say and is not called. Empty: always called.
    `docstring`: its module's docstring, None when the module is compiled (mypyc keeps no
    docstring): `doc` then reads it from the module's source, installed beside the extension.
    """

    info: RuleInfo
    docstring: str | None
    check: Callable[[C], Iterator[Finding]] | None
    needs: frozenset[type[exp.Expression]]  # default: none
    module: str  # default ""

    __slots__ = __match_args__ = ("info", "docstring", "check", "needs", "module")

    def __init__(
        self,
        info: RuleInfo,
        docstring: str | None,
        check: Callable[[C], Iterator[Finding]] | None,
        needs: frozenset[type[exp.Expression]] = frozenset(),
        module: str = "",
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "info", info)
        set_field(self, "docstring", docstring)
        set_field(self, "check", check)
        set_field(self, "needs", needs)
        set_field(self, "module", module)

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def doc(self) -> str:
        """The rule's documentation: its module's docstring, stripped."""
        if self.docstring is not None:
            return self.docstring.strip()
        return source_docstring(self.module).strip()


def rule_of(module: ModuleType) -> Rule[Any]:
    """The rule a rule module defines: its RULE, its docstring, its check(), its NEEDS."""
    return Rule(
        module.RULE,
        module.__doc__,
        getattr(module, "check", None),
        frozenset(getattr(module, "NEEDS", ())),
        module.__name__,
    )


@functools.cache
def source_docstring(name: str) -> str:
    """The docstring of module `name` read from its source file: a module compiled with mypyc
    has none at run time, and its `.py` is installed beside the extension (setup.py). Read
    only when asked for (`tenantguard rule`, SARIF): not at every start."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec is not None else None
    if origin is None:
        raise RuntimeError(f"{name}: no module file, so no documentation")
    source = Path(origin).with_name(name.rpartition(".")[2] + ".py")
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise RuntimeError(
            f"{name} is compiled and its source, which holds its documentation, is missing: {error}"
        ) from error
    return ast.get_docstring(ast.parse(text, str(source)), clean=False) or ""
