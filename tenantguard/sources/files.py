"""Turning each file to check into findings with file positions (`walk` finds the files)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tenantguard._collect import collecting_less, young_collections_less
from tenantguard._patterns import lazy_pattern
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.sqltext import Comment, LineIndex, Statement, split_sql
from tenantguard.sources.suppressions import (
    Suppression,
    apply_suppressions,
    python_suppressions,
    sql_suppressions,
)
from tenantguard.sources.walk import FileReport, SourceFile, discover, is_python, unknown_language

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized

    from tenantguard.engine.verdicts import Analyzer
    from tenantguard.selection import EnabledRules
    from tenantguard.sources.pyflow import Consulted, ProjectIndex

__all__ = [
    "FileReport",
    "SourceFile",
    "check_file",
    "check_files",
    "discover",
    "iter_checked",
    "read_source",
]

MAX_FILE_BYTES = 50 * 1024 * 1024


def read_source(path: Path) -> tuple[str | None, str | None, int]:
    """(text, error, error offset): the file's text, or why it cannot be read as UTF-8 text."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return (
                None,
                f"file is {size >> 20} MB, over the {MAX_FILE_BYTES >> 20} MB limit",
                0,
            )
        data = path.read_bytes()
    except OSError as error:
        return None, f"cannot read file: {error.strerror}", 0
    return decode_source(data, path)


def decode_source(data: bytes, path: Path) -> tuple[str | None, str | None, int]:
    """(text, error, error offset) of a file's bytes (or standard input's, read as `path`)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # a byte order mark: text, not binary
        return None, "UTF-16 (or UTF-32) text: save the file as UTF-8", 0
    if b"\0" in data:
        return None, "binary file (contains NUL bytes): not SQL or Python source", data.index(b"\0")
    encoding = (
        _declared_encoding(data) if path.suffix.lower() == ".pyi" or is_python(path) else None
    )
    if encoding is not None:  # `# -*- coding: latin-1 -*-`: Python reads the file that way
        try:
            return data.decode(encoding), None, 0
        except LookupError:
            return None, f"unknown encoding {encoding!r} in its coding declaration", 0
        except UnicodeDecodeError as error:
            return (
                None,
                f"not {encoding} text as its coding declaration says "
                f"(byte 0x{data[error.start]:02x})",
                error.start,
            )
    try:
        return data.decode("utf-8-sig"), None, 0
    except UnicodeDecodeError as error:
        return (
            None,
            f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the file as UTF-8",
            error.start,
        )


def _declared_encoding(data: bytes) -> str | None:
    """The encoding a Python file declares (PEP 263), read as Python reads it
    (`tokenize.detect_encoding`), when it is not UTF-8; None for UTF-8 or no declaration."""
    import io
    import tokenize  # already loaded by the standard library's own modules: no cost

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        return None  # an unknown or conflicting declaration: read as UTF-8, the error says why
    return None if encoding in ("utf-8", "utf-8-sig") else encoding


def file_error(source: SourceFile, message: str, prefix: str = "") -> Finding:
    """A file that cannot be read cannot be proven: a TG006 finding at the offending place."""
    line, column = LineIndex(prefix).position(len(prefix))
    fix = "fix the file, or exclude it (exclude = [...] in [tool.tenantguard])"
    return _unprovable_at(source, message, fix, line, column, column)


def _unprovable_at(
    source: SourceFile, message: str, fix: str, line: int, column: int, end_column: int
) -> Finding:
    """TG006, an error, at one place of a file."""
    from tenantguard.engine.rules import tg006_unprovable_statement  # sqlglot: this case only

    info = tg006_unprovable_statement.RULE
    return Finding(
        info.code, info.name, Severity.ERROR, message, fix, line, column, line, end_column,
        path=source.display,
    )  # fmt: skip


# psql: a backslash command runs to the end of its line; `\g`, `\gset`, `\gx`, `\gexec`… send
# the query buffer as `;` does. Outside strings, comments and dollar quotes only.
_PSQL_SPECIAL = lazy_pattern(r"--|/\*|[Ee]'|'|\"|\$(?!\d)|\\|(?<!:):(?='|\"|[A-Za-z_])")
# what psql runs that the script does not show (round 12): `\gexec` runs each value its query
# returns as a statement, `\!` a shell command (psql itself, say)
_PSQL_RUNS = lazy_pattern(r"\\(gexec|!)")
_PSQL_RUNS_SAYS = {
    "gexec": "psql runs each value the query before `\\gexec` returns as a statement: SQL built "
    "at run time cannot be proven",
    "!": "`\\!` runs a shell command, which can run any SQL (psql itself): it cannot be proven",
}
_PSQL_NAME_SAYS = (
    "psql pastes the value of variable {} here as a quoted name: the relation or column it "
    "names is not in the file, so the statement cannot be proven"
)
_PSQL_TEXT_SAYS = (
    "psql pastes the text of variable {} here (this file is a psql script): what it adds to "
    "the statement cannot be proven; use :'{}' for a value"
)
_PSQL_SENDS = lazy_pattern(r"\\(?:g|gx|gset|gexec|gdesc|crosstabview|watch)\b")
# `\copy SOURCE to|from FILE [options]` (one line): psql sends `COPY SOURCE TO STDOUT` (or FROM
# STDIN) and moves the rows itself; what SOURCE reads is checked as that statement
_PSQL_COPY = lazy_pattern(r"\\copy\b", re.IGNORECASE)
_COPY_DIRECTION = lazy_pattern(r"\s+(to|from)\s", re.IGNORECASE)


def _psql_copy(line: str) -> str | None:
    """A `\\copy` line as the COPY statement psql sends for it (as long as the line up to its
    direction; the file and options become STDOUT/STDIN), or None when it cannot be read."""
    pos, depth = len("\\copy"), 0
    variables: list[int] = []  # `:'var'`: psql's quoting of a value, read as a string
    while pos < len(line):
        char = line[pos]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char.isspace():
            direction = _COPY_DIRECTION.match(line, pos) if depth == 0 else None
            if direction is not None:
                source = list(line[5 : direction.start()])
                for at in variables:
                    source[at - 5] = " "
                to = direction.group(1).upper() == "TO"
                return f" copy{''.join(source)} {'TO STDOUT' if to else 'FROM STDIN'};"
        else:
            special = _PSQL_SPECIAL.match(line, pos)
            if special is not None and special.group() == ":":
                variables.append(pos)
            elif special is not None and special.group() != "\\":
                pos = _skip_quoted(line, pos, special.group())
                if pos < 0:
                    return None
                continue
        pos += 1
    return None


# `COPY … FROM stdin;` then its rows, to a line `\.` (pg_dump's data): rows, not statements
# (helper 111: each row read as SQL, "cannot parse")
_COPY_DATA = lazy_pattern(
    r"(^[ \t]*COPY\b[^;]*?\bFROM\s+stdin\b[^;]*;[^\n]*\n)(.*?^\\\.[ \t]*$)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)


def _blank_data(match: re.Match[str]) -> str:
    return match.group(1) + re.sub(r"[^\n]", " ", match.group(2))


def strip_psql(text: str) -> tuple[str, int | None, list[tuple[int, str, bool]]]:
    """The script with psql meta-commands blanked (positions kept) and `:'var'` read as a
    string; the line of the first meta-command, if any; and what psql would run that the
    text does not show, (offset, why, whether it runs statements of its own): `\\gexec`,
    `\\!`, `:"var"` (a name), and in a psql script (one with meta-commands) `:var` (text
    pasted in; elsewhere a driver's bind)."""
    if "\\" not in text and ":" not in text:
        return text, None, []
    if "\\." in text:
        text = _COPY_DATA.sub(_blank_data, text)
    out: list[str] = []
    first: int | None = None
    pasted: list[int] = []
    commands: list[str] = []  # the meta-commands, each to the end of its line
    unseen: list[tuple[int, str, bool]] = []
    pos = last = 0
    length = len(text)
    while pos < length:
        match = _PSQL_SPECIAL.search(text, pos)
        if match is None:
            break
        token, at = match.group(), match.start()
        if token == "\\":
            end = text.find("\n", at)
            end = length if end < 0 else end
            copy = _psql_copy(text[at:end]) if _PSQL_COPY.match(text, at) else None
            if first is None:
                first = text.count("\n", 0, at) + 1
            commands.append(text[at:end])
            if copy is not None:
                out.append(text[last:at] + copy)
                pos = last = end
                continue
            runs = _PSQL_RUNS.match(text, at)
            if runs is not None:
                unseen.append((at, _PSQL_RUNS_SAYS[runs.group(1)], True))
            sends = _PSQL_SENDS.match(text, at) is not None
            out.append(text[last:at])
            out.append((";" if sends else " ") + " " * (end - at - 1))
            pos = last = end
            continue
        if token == ":":
            quote = text[at + 1]
            if quote == '"':
                name = re.match(r':"(?:[^"]|"")*"', text[at:])
                says = _PSQL_NAME_SAYS.format(name.group(0) if name else ':"…"')
                unseen.append((at, says, False))
            elif quote != "'":  # `:name`: a psql variable, or a driver's named bind
                pasted.append(at)
                pos = at + 1
                continue
            out.append(text[last:at] + " ")  # `:'tenant'` is psql's quoting of a value
            last = pos = at + 1
            continue
        pos = _skip_quoted(text, at, token)
        if pos < 0:
            break
    out.append(text[last:])
    if first is not None:  # a psql script: `:name` is psql's, the text of a variable
        values, unset_are_values = _psql_values(commands)
        for at in pasted:
            name = re.match(r":([A-Za-z_]\w*)", text[at:])
            label = name.group(1) if name else "…"
            if values.get(label, unset_are_values):
                continue  # a number, or the caller's value (`-v`): one value, as a bind is
            unseen.append((at, _PSQL_TEXT_SAYS.format(f":{label}", label), False))
    return "".join(out), first, sorted(unseen)


_PSQL_SETS = lazy_pattern(r"\\(set|gset|getenv|prompt)\b(.*)", re.IGNORECASE)
_PSQL_NUMBER = lazy_pattern(r"'?-?\d+'?")


def _psql_values(commands: list[str]) -> tuple[dict[str, bool], bool]:
    """Which psql variables a statement of the script may read as one value, like a bind:
    those the script sets only to a number (`\\set tenant 42`: True); not those it sets to any
    other text, or from the environment or a prompt (False). And whether a variable it never
    sets is one (the caller's `-v name=…`): not when a `\\gset` may set it from a query's
    columns."""
    values: dict[str, bool] = {}
    gset = False
    for line in commands:
        match = _PSQL_SETS.match(line)
        if match is None:
            continue
        command, rest = match.group(1).lower(), match.group(2).split()
        if command == "gset":
            gset = True
        elif command == "set" and rest:
            number = len(rest) == 2 and _PSQL_NUMBER.fullmatch(rest[1]) is not None
            values[rest[0]] = values.get(rest[0], True) and number
        elif rest:  # \getenv NAME ENV, \prompt [TEXT] NAME: text from outside
            values[rest[0] if command == "getenv" else rest[-1]] = False
    return values, not gset


def _psql_unprovable(source: SourceFile, message: str, line: int, column: int) -> Finding:
    """TG006 where psql would run what the script does not show."""
    fix = (
        "write the statements themselves, pinned to one tenant (a value from a psql variable "
        "as :'name'); scripts that build SQL belong to operations, not to checked code"
    )
    return _unprovable_at(source, message, fix, line, column, column + 1)


def _skip_quoted(text: str, at: int, token: str) -> int:
    """The offset after the comment, string or dollar-quoted body opened at `at` (-1: never
    closes; the SQL splitter reports it)."""
    if token == "--":
        end = text.find("\n", at)
        return len(text) if end < 0 else end
    if token == "/*":
        end = text.find("*/", at + 2)
        return -1 if end < 0 else end + 2
    if token == "$":
        tag = re.match(r"\$(?:[A-Za-z_][\w]*)?\$", text[at:])
        if tag is None:
            return at + 1
        end = text.find(tag.group(), at + len(tag.group()))
        return -1 if end < 0 else end + len(tag.group())
    if token[0] in "Ee":
        if at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_"):
            return at + 1
        quoted = re.compile(r"[Ee]'(?:[^'\\]|\\.|'')*'", re.DOTALL).match(text, at)
    elif token == '"':
        quoted = re.compile(r'"(?:[^"]|"")*"').match(text, at)
    else:
        quoted = re.compile(r"'(?:[^']|'')*'").match(text, at)
    return -1 if quoted is None else quoted.end()


_DDL_RULE = "TG007"  # DDL outside the schema sources

_MIGRATION_MARKERS = lazy_pattern(r"^(?:down_revision|revision)\s*(?::[^=\n]*)?=", re.MULTILINE)
# Django's migration class (`from django.db import migrations` or `models, migrations`), and
# yoyo's module-level `steps = [step(…)]` (`__depends__` beside it)
_DJANGO_MIGRATION = lazy_pattern(
    r"^class\s+Migration\s*\(\s*migrations\.Migration\s*\)", re.MULTILINE
)
_YOYO_STEPS = lazy_pattern(r"^from yoyo import\b[^\n]*\bstep\b(?s:.*)^steps\s*=", re.MULTILINE)


# a migration framework's entry points, in a `migrations` folder: alembic's and aerich's
# `upgrade`/`downgrade`, peewee-migrate's `migrate(migrator, …)`
_MIGRATION_FUNCTIONS = lazy_pattern(
    r"^(?:async\s+)?def\s+(?:upgrade|downgrade|migrate|rollback)\s*\(", re.MULTILINE
)


def python_migration(path: Path, text: str) -> bool:
    """A Python migration: an alembic revision (module-level `revision` and `down_revision`,
    an `upgrade` function), a Django migration (a `Migration` class of `migrations.Migration`),
    a yoyo migration (module-level `steps`), or a module of a `migrations` folder defining a
    framework's entry points (`upgrade`, `downgrade`, `migrate`). Its SQL changes the schema:
    it is a schema source, not application code. Any other module — one that imports yoyo to
    apply migrations at startup, a backfill runner in a `migrations` folder — is application
    code, checked (helpers 111, 113)."""
    found = {m.group().split()[0].rstrip(":=") for m in _MIGRATION_MARKERS.finditer(text)}
    entry_points = _MIGRATION_FUNCTIONS.search(text) is not None
    if {"revision", "down_revision"} <= found and entry_points:
        return True  # alembic
    if _DJANGO_MIGRATION.search(text) or _YOYO_STEPS.search(text):
        return True
    return path.parent.name == "migrations" and entry_points and _runner_entry_points(text)


def _runner_entry_points(text: str) -> bool:
    """Whether a module of a `migrations` folder has a migration runner's shape: its entry
    points defined at the module's top, none decorated (a `@click.command()` named `upgrade`,
    a task named `migrate`, is called by something else), and handed what the runner gives —
    one takes a parameter (alembic's `op`, aerich's `db`, peewee-migrate's `migrator`, a
    connection) — or the pair of a forward and its reverse (`upgrade`/`downgrade`). A module
    with another shape runs the application's queries: checked (helper 116)."""
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    entries = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name in ("upgrade", "downgrade", "migrate", "rollback")
    ]
    if not entries or any(node.decorator_list for node in entries):
        return False
    names = {node.name for node in entries}
    given = any(
        node.args.posonlyargs or node.args.args or node.args.vararg or node.args.kwonlyargs
        for node in entries
    )
    return given or {"upgrade", "downgrade"} <= names or {"migrate", "rollback"} <= names


def check_sql_text(
    text: str, analyzer: Analyzer, *, schema_source: bool = False, patch_linted: bool = False
) -> tuple[list[Finding], int, list[tuple[int, ...]], list[Suppression]]:
    """(findings, statements, anchor lines per finding, suppressions) of one SQL script.

    In a schema source PostgreSQL's own parser (pglast) has the last word on what reads, as
    it has for the schema reader: a statement sqlglot cannot parse but it reads (`t bigint
    ARRAY, body text`) is no finding — no rule of the proof runs on schema statements — and
    one sqlglot accepts but it rejects (`x int,, y int`) is TG006 at its error (unless the
    patch rules, `patch_linted`, said so already)."""
    statements, comments = split_sql(text)
    if comments and not schema_source:
        statements = _query_file_pieces(text, statements, comments, analyzer)
    findings: list[Finding] = []
    anchors: list[tuple[int, ...]] = []
    for statement in statements:
        found = analyzer.statement_findings(statement.text, statement.error)
        if schema_source and statement.error is None:
            found = _as_postgresql_reads(statement.text, analyzer, found, patch_linted)
        for finding in found:
            moved = finding.shifted(statement.line, statement.column)
            findings.append(moved)
            anchors.append((statement.line - 1, statement.line, moved.line - 1, moved.line))
    suppressions = sql_suppressions(((c.text, c.line, c.column) for c in comments), text)
    return findings, len(statements), anchors, suppressions


# the first word of a statement that queries or changes rows (after any opening parentheses)
_QUERY_WORD = lazy_pattern(r"[\s(]*(select|with|values|table|insert|update|delete|merge)\b", re.I)
_READ_WORD = ("select", "with", "values", "table")


def application_queries(text: str) -> bool:
    """Whether a file under the schema paths (not a patch) holds an application's queries, not
    schema: it makes nothing (each statement a query or DML) and either heads its queries with
    `-- name:` (sqlc, aiosql) or only reads. sqlc keeps `db/query.sql` beside `db/schema.sql`,
    and `init` proposes `db` as the schema path: its queries were read as schema, where no rule
    of the proof runs, and passed (round 33, h33o). A data migration (DML without query
    headers) or a seed file stays a schema source: the pipeline runs it over every tenant's
    rows on purpose. A text that does not split is left to the schema reading."""
    statements, comments = split_sql(text)
    if not statements or any(s.error is not None for s in statements):
        return False
    words = []
    for statement in statements:
        match = _QUERY_WORD.match(statement.text)
        if match is None:
            return False
        words.append(match.group(1).lower())
    if all(word in _READ_WORD for word in words):
        return True
    return any(_NAME_HEADER.match(c.text) for c in comments)


# a comment line that heads a query in a query file: after a blank line, or aiosql's `-- name:`
_HEADER_AFTER_BLANK = lazy_pattern(r"\n[ \t\r\f\v]*\n[ \t\r\f\v]*\Z")
_NAME_HEADER = lazy_pattern(r"--\s*name\s*:", re.IGNORECASE)
_LINE_START = lazy_pattern(r"(?:\A|\n)[ \t\r\f\v]*\Z")


def _query_file_pieces(
    text: str, statements: list[Statement], comments: list[Comment], analyzer: Analyzer
) -> list[Statement]:
    """The statements of a query file that separates its queries by comment headers, not by
    `;` (aiosql's `-- name: get_patient`, procrastinate's `-- defer_job --`): a statement that
    does not parse, cut at the comment lines that head a query — a line comment alone on its
    line after a blank line, or `-- name:` — when every piece parses on its own. PostgreSQL
    would refuse the text as one statement; the application sends the pieces, one by one.
    Anything else stays as it was (and unprovable)."""
    out: list[Statement] = []
    lines: LineIndex | None = None
    for statement in statements:
        end = statement.start + len(statement.text)
        cuts = [
            c.start
            for c in comments
            if statement.start < c.start < end
            and c.text.startswith("--")
            and _LINE_START.search(text, 0, c.start) is not None
            and (
                _HEADER_AFTER_BLANK.search(text, 0, c.start) is not None
                or _NAME_HEADER.match(c.text) is not None
            )
        ]
        if not cuts or statement.error is not None or analyzer.verdict(statement.text).parsed:
            out.append(statement)
            continue
        lines = lines or LineIndex(text)
        pieces: list[Statement] = []
        for begin, stop in zip([statement.start, *cuts], [*cuts, end], strict=True):
            found, _ = split_sql(text[begin:stop])
            if not found:
                continue  # a header with nothing under it
            if len(found) != 1 or found[0].error is not None:
                break
            piece = found[0]
            if not analyzer.verdict(piece.text).parsed:
                break
            line, column = lines.position(begin + piece.start)
            pieces.append(Statement(piece.text, begin + piece.start, line, column))
        else:
            if len(pieces) > 1:
                out.extend(pieces)
                continue
        out.append(statement)
    return out


def _as_postgresql_reads(
    sql: str, analyzer: Analyzer, found: tuple[Finding, ...], patch_linted: bool
) -> tuple[Finding, ...]:
    from tenantguard.engine.context import Context
    from tenantguard.engine.rules import tg006_unprovable_statement
    from tenantguard.sources.schema.texts import postgres_error  # pglast: schema sources only

    rejected = postgres_error(sql)
    parsed = analyzer.verdict(sql).parsed
    if rejected is None:
        return found if parsed else ()
    if not parsed or patch_linted:
        return found  # TG006 already: sqlglot's, or the patch rules' at PostgreSQL's error
    message, offset = rejected
    ctx = Context(sql, analyzer.policy, None, (), message, offset, analyzer.in_patch)
    return (*found, *tg006_unprovable_statement.check(ctx))


# a plain class: a dataclass costs a fresh process ~1 M instructions to build at import
class CheckOptions:
    """How files are checked, besides the policy."""

    __slots__ = ("patch_linter", "patch_rules_only", "python_index", "rules", "unresolved_severity")
    unresolved_severity: Final[Severity]
    # the patch rules, given by the caller (sources do not depend on the patch package):
    # (text, path) -> findings; and whether only they run (`patches lint`)
    patch_linter: Final[Callable[[str, Path], list[Finding]] | None]
    patch_rules_only: Final[bool]
    rules: Final[EnabledRules | None]  # None: every rule
    # what the project's Python files define (wrappers, constants, classes), shared by all files
    python_index: Final[ProjectIndex | None]

    def __init__(
        self,
        unresolved_severity: Severity = Severity.WARNING,
        patch_linter: Callable[[str, Path], list[Finding]] | None = None,
        patch_rules_only: bool = False,
        rules: EnabledRules | None = None,
        python_index: ProjectIndex | None = None,
    ) -> None:
        self.unresolved_severity = unresolved_severity
        self.patch_linter = patch_linter
        self.patch_rules_only = patch_rules_only
        self.rules = rules
        self.python_index = python_index


def check_file(
    source: SourceFile,
    analyzer: Analyzer,
    patch_analyzer: Analyzer,
    options: CheckOptions = CheckOptions(),
) -> FileReport:
    given = source.text  # standard input's: its bytes are read as a file's are
    text: str | None = given if isinstance(given, str) else None
    error: str | None = None
    offset = 0
    if isinstance(given, bytes):
        text, error, offset = decode_source(given, source.path)
    elif text is None:
        text, error, offset = read_source(source.path)
    enabled = options.rules.in_file(source.relative) if options.rules is not None else None
    if text is None:
        prefix = ""
        if offset:
            try:
                raw = given if isinstance(given, bytes) else source.path.read_bytes()
                prefix = raw[:offset].decode("utf-8", "replace")
            except OSError:
                prefix = ""
        finding = file_error(source, error or "cannot read the file", prefix)
        selected = (finding,) if enabled is None or finding.code in enabled else ()
        return FileReport(source.display, selected, 0)
    chosen = patch_analyzer if source.in_patch else analyzer
    if options.patch_rules_only or (source.is_patch and options.patch_linter is not None):
        patch_findings = (
            options.patch_linter(text, source.path)
            if options.patch_linter is not None and source.path.suffix.lower() == ".sql"
            else []
        )
        if options.patch_rules_only:
            located = tuple(
                f.in_file(source.display)
                for f in patch_findings
                if enabled is None or f.code in enabled
            )
            return FileReport(source.display, located, len(split_sql(text)[0]), schema=True)
    else:
        patch_findings = []
    linted = source.is_patch and options.patch_linter is not None
    notes: tuple[str, ...] = ()
    consulted: Consulted | None = None
    schema = source.in_patch
    if is_python(source.path):
        from tenantguard.sources.python import check_python_text  # not for SQL files

        migration = python_migration(source.path, text)
        # a module named in the schema sources that is no migration (a bot that creates its
        # tables at startup): the schema comes from it, and its queries are application code
        makes_tables = schema and not migration and not source.is_patch
        if makes_tables:
            schema, chosen = False, analyzer
        elif migration:
            schema, chosen = True, patch_analyzer  # a schema source, not application code
        touching = chosen.touching

        built: list[int] = []
        findings, count, anchors = check_python_text(
            text,
            chosen,
            unresolved_severity=options.unresolved_severity,
            path=os.fspath(source.path),
            index=options.python_index,
            schema_source=schema,
            built=built,
        )
        if built and not schema:
            # a query builder's statement (SQLAlchemy's `select(…)`): no SQL text to prove,
            # never a silent pass (h40D)
            many = len(built) != 1
            listed = ", ".join(str(n) for n in built)
            notes = (
                f"{source.display}:{built[0]}: {len(built)} call{'s' * many} (line{'s' * many} "
                f"{listed}) send{'' if many else 's'} a query builder's statement (SQLAlchemy's "
                "`select(…)`), not SQL text: it is not proven pinned to one tenant here; the "
                "runtime guard checks the SQL it becomes",
            )
        if makes_tables:  # its DDL is where the configuration says the schema is made
            kept_ddl = [i for i, f in enumerate(findings) if f.code != _DDL_RULE]
            findings, anchors = [findings[i] for i in kept_ddl], [anchors[i] for i in kept_ddl]
        if options.python_index is not None:  # the cache's dependencies
            consulted = options.python_index.take_consulted()
        suppressions = python_suppressions(text)
    else:
        if schema and not source.is_patch and application_queries(text):
            schema, chosen = False, analyzer  # queries kept in a schema folder (sqlc's layout)
        touching = chosen.touching
        text, meta_line, unseen = strip_psql(text)
        if meta_line is not None:
            notes = (
                f"{source.display}:{meta_line}: psql meta-commands (from a backslash to the end of the "
                "line) are skipped (`\\copy` is checked as the COPY it sends); the SQL around them "
                "is checked",
            )
        findings, count, anchors, suppressions = check_sql_text(
            text, chosen, schema_source=schema, patch_linted=linted
        )
        if source.text is None and unknown_language(source.path):
            findings, anchors = _unknown_language(findings, anchors)
        elif not schema:
            findings, anchors, template_line = _templates(findings, anchors)
            if template_line is not None:
                notes = (
                    *notes,
                    f"{source.display}:{template_line}: a template (`{{table}}`, `{{{{ x }}}}`, "
                    "`{% … %}`: braces outside quotes, which PostgreSQL never reads) is not "
                    "checked as it stands; the program that fills it is checked where it sends "
                    "the text it makes",
                )
        if schema:  # the reader takes a variable for its name; statements built at run time
            unseen = [u for u in unseen if u[2]]  # create what no source shows
        if unseen:  # what psql runs beyond the text: never a silent pass
            lines = LineIndex(text)
            for offset, message, _ in unseen:
                line, column = lines.position(offset)
                findings.append(_psql_unprovable(source, message, line, column))
                anchors.append((line - 1, line))
    findings = [*findings, *patch_findings]
    anchors = [*anchors, *((f.line - 1, f.line) for f in patch_findings)]
    if enabled is not None:
        reported = [i for i, f in enumerate(findings) if f.code in enabled]
        findings, anchors = [findings[i] for i in reported], [anchors[i] for i in reported]
        for suppression in suppressions:
            if suppression.codes and not suppression.codes & enabled:
                suppression.used = True  # about rules not run here: cannot tell it is unused
    kept = apply_suppressions(findings, anchors, suppressions)
    located = tuple(f.in_file(source.display) for f in kept if enabled is None or f.code in enabled)
    sent: tuple[Finding, ...] = ()
    if any(f.read_from for f in located):  # said by the check of the file it reads (h36D)
        sent = tuple(f for f in located if f.read_from)
        located = tuple(f for f in located if not f.read_from)
    # texts analysed that touch a tenant table: a Python call site may send several (each
    # value a name can hold, each fill of an f-string), so at most the statements counted
    tenant = None if schema else min(chosen.touching - touching, count)
    return FileReport(source.display, located, count, notes, consulted, schema, tenant, sent)


# what PostgreSQL reads as quoted or commented (braces there are text)
_QUOTED_OR_COMMENT = lazy_pattern(
    r"--[^\n]*|/\*[\s\S]*?\*/|[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\""
    r"|\$(\w*)\$[\s\S]*?\$\1\$"
)


def _parse_failure(finding: Finding) -> bool:
    """A TG006 that says the statement cannot be read (not one about what it does)."""
    return finding.code == "TG006" and (
        "syntax" in finding.message or "parse" in finding.message or "tokenize" in finding.message
    )


def _templates(
    findings: list[Finding], anchors: list[tuple[int, ...]]
) -> tuple[list[Finding], list[tuple[int, ...]], int | None]:
    """An application `.sql` file's statements that do not parse because they are templates
    a program fills before sending (`SELECT id FROM {table}` read by Python and `.format`ted,
    Jinja's `{{ x }}` / `{% if %}`): a brace outside quotes and comments, which PostgreSQL
    never reads, so the text cannot run as it stands. Not TG006 there (h38D): the program's
    call is checked with the text it makes; the line of the first, for a note."""
    dropped = [
        i
        for i, f in enumerate(findings)
        if _parse_failure(f) and re.search(r"[{}]", _QUOTED_OR_COMMENT.sub(" ", f.statement))
    ]
    if not dropped:
        return findings, anchors, None
    line = min(findings[i].line for i in dropped)
    kept = [i for i in range(len(findings)) if i not in set(dropped)]
    return [findings[i] for i in kept], [anchors[i] for i in kept], line


def _unknown_language(
    findings: list[Finding], anchors: list[tuple[int, ...]]
) -> tuple[list[Finding], list[tuple[int, ...]]]:
    """A file named on the command line whose language nothing says (no `.sql`/`.py`
    suffix, no Python shebang) is read as SQL; where that reading fails, one finding says so
    (at the first failure, as severe as the worst), not a syntax error per statement (helper
    124: a Python script `bin/manage` was a pile of them)."""
    failed = [i for i, f in enumerate(findings) if _parse_failure(f)]
    if not failed:
        return findings, anchors
    first = findings[failed[0]]
    severity = (
        Severity.ERROR
        if any(findings[i].severity is Severity.ERROR for i in failed)
        else first.severity
    )
    said = Finding(
        first.code,
        first.name,
        severity,
        "cannot tell what language this file is in (no .sql or .py suffix, no `#!…python` "
        f"line), and read as SQL it does not parse: {first.message}",
        "name it .sql or .py, start a Python script with `#!/usr/bin/env python3`, or leave it "
        "out of the check",
        first.line,
        first.column,
        first.end_line,
        first.end_column,
        first.path,
        first.statement,
    )
    dropped = set(failed)
    kept = [i for i in range(len(findings)) if i not in dropped]
    return (
        [said, *(findings[i] for i in kept)],
        [tuple(a for i in failed for a in anchors[i]), *(anchors[i] for i in kept)],
    )


def iter_reports(
    files: Iterable[SourceFile],
    analyzer: Analyzer,
    patch_analyzer: Analyzer,
    options: CheckOptions = CheckOptions(),
) -> Iterator[FileReport]:
    for source in files:
        yield check_file(source, analyzer, patch_analyzer, options)


_PARALLEL_MIN_BYTES = 256_000  # below this, starting a process costs more than it saves


# a plain class: a dataclass costs a fresh process ~1 M instructions to build at import
class _Batch:
    """What every process of one parallel check shares. Forked workers inherit it (no pickling):
    the files, largest first, and a counter in shared memory from which each process claims the
    next file to check."""

    __slots__ = ("analyzer", "claimed", "files", "options", "patch_analyzer")
    files: Final[list[SourceFile]]
    claimed: Final[Synchronized[int]]
    analyzer: Final[Analyzer]
    patch_analyzer: Final[Analyzer]
    options: Final[CheckOptions]

    def __init__(
        self,
        files: list[SourceFile],
        claimed: Synchronized[int],
        analyzer: Analyzer,
        patch_analyzer: Analyzer,
        options: CheckOptions,
    ) -> None:
        self.files = files
        self.claimed = claimed
        self.analyzer = analyzer
        self.patch_analyzer = patch_analyzer
        self.options = options

    def drain(self) -> list[FileReport]:
        """Checks files until none is left unclaimed."""
        reports: list[FileReport] = []
        while True:
            with self.claimed.get_lock():
                index = self.claimed.value
                self.claimed.value = index + 1
            if index >= len(self.files):
                return reports
            reports.append(
                check_file(self.files[index], self.analyzer, self.patch_analyzer, self.options)
            )


_BATCH: _Batch | None = None


def _drain_in_worker() -> list[FileReport]:
    assert _BATCH is not None
    reports = _BATCH.drain()
    for analyzer in (_BATCH.analyzer, _BATCH.patch_analyzer):
        if analyzer.store is not None:
            analyzer.store.save()  # the verdicts this worker found: the parent never sees them
    return reports


def check_files(
    files: list[SourceFile],
    analyzer: Analyzer,
    patch_analyzer: Analyzer,
    *,
    jobs: int | None = None,
    options: CheckOptions = CheckOptions(),
) -> list[FileReport]:
    """The reports of `files`, in their order (see `iter_checked`)."""
    return list(iter_checked(files, analyzer, patch_analyzer, jobs=jobs, options=options))


def iter_checked(
    files: list[SourceFile],
    analyzer: Analyzer,
    patch_analyzer: Analyzer,
    *,
    jobs: int | None = None,
    options: CheckOptions = CheckOptions(),
) -> Iterator[FileReport]:
    """Checks files on `jobs` processes, this one included, when the input is large enough;
    yields their reports in the order of `files`. On one process each report comes as soon as
    its file is checked (a report can be written and let go); on several, once all are.

    Every process, this one and `jobs - 1` forked workers, claims files one at a time from a
    shared counter over the files sorted largest first: no process waits for work to be handed
    to it, and they finish together on the smallest files. Each worker sends its reports back
    once, at the end. Files a worker claimed but did not report (it died) are checked here.
    """
    global _BATCH
    total = sum(f.size for f in files)
    # no more processes than files (h35H: `--jobs 999` on two files forked 998 workers, each
    # claiming nothing: 65 s where 2 processes take 13 s)
    processes = min(jobs if jobs is not None else (os.cpu_count() or 1), len(files))
    one_process = processes <= 1 or len(files) < 2 or total < _PARALLEL_MIN_BYTES
    if not one_process:
        import multiprocessing

        # fork: workers inherit the imported sqlglot, the policy and the batch
        context = multiprocessing.get_context("fork")
        try:
            claimed = context.Value("l", 0)
        except OSError:  # no POSIX semaphores (some sandboxes): one process does it all
            one_process = True
    if one_process:
        # tuned around each file's work only: a consumer that stops reading (an error while
        # writing the report), or reads another stream meanwhile, finds the collector as it
        # was; freezing is the run's (`frozen_heap`, in cli): per file, it would freeze the garbage of
        # the file before and keep it to the end
        reports = iter_reports(files, analyzer, patch_analyzer, options)
        while True:
            with young_collections_less():
                report = next(reports, None)
            if report is None:
                return
            yield report
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    analyzer.prepare()  # inherited by every worker, not built again in each
    patch_analyzer.prepare()
    largest_first = sorted(files, key=lambda f: -f.size)
    batch = _Batch(largest_first, claimed, analyzer, patch_analyzer, options)
    done: dict[str, FileReport] = {}
    _BATCH = batch
    try:
        with (
            collecting_less(),
            ProcessPoolExecutor(max_workers=processes - 1, mp_context=context) as pool,
        ):
            futures = []
            with suppress(OSError, BrokenProcessPool):  # cannot fork: this process does it all
                for _ in range(processes - 1):
                    futures.append(pool.submit(_drain_in_worker))
            done.update((r.path, r) for r in batch.drain())
            for future in futures:
                with suppress(BrokenProcessPool):  # a worker died: its files are checked below
                    done.update((r.path, r) for r in future.result())
    finally:
        _BATCH = None
    left = [f for f in files if f.display not in done]
    done.update((r.path, r) for r in iter_reports(left, analyzer, patch_analyzer, options))
    for source in files:
        yield done[source.display]
