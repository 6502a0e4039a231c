"""Statements from a PostgreSQL log, for servers without pg_stat_statements.

The server must log every statement (`log_statement = all`) in the csv or json format
(`log_destination = 'csvlog'` or `'jsonlog'`, PostgreSQL 15 and later for json). What is read:
the `statement: …` records of the simple protocol (several statements in one record are split
as a `.sql` file is) and the `execute <name>: …` records of the extended one, with their
duration when `log_min_duration_statement` adds it. Other records (`parse`, `bind`, errors,
checkpoints…) are skipped; so are the records of other databases. Messages must be in English
(`lc_messages = 'C'`, the default of most servers): the prefixes are matched as written.

A record that is not what the format says it is, or bytes that are not UTF-8, stop the read with
the file, line and column: a statement that cannot be read cannot be proven.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tenantguard._patterns import lazy_pattern
from tenantguard.audit.traffic import RecordedStatement

__all__ = ["LogError", "StatementLog", "read_statement_log"]

# `statement: …`, `execute <unnamed>: …`, `execute S_1/C_2: …`, `execute fetch from S_1: …`,
# each possibly after `duration: 0.123 ms  `
_STATEMENT = lazy_pattern(
    r"(?:duration: (?P<ms>\d+(?:\.\d+)?) ms\s+)?(?:statement|execute(?: fetch from)? [^\n]*?): ",
)
# csvlog columns (the same positions from PostgreSQL 9.0 to 17)
_USER, _DATABASE, _SEVERITY, _MESSAGE, _QUERY_ID = 1, 2, 11, 13, 25


class LogError(Exception):
    """The log cannot be read; `str()` is `file:line:column: what`."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {message}")


@dataclass
class StatementLog:
    """What a log held for one database."""

    statements: list[RecordedStatement] = field(default_factory=list)
    records: int = 0  # statement records of this database
    other_databases: int = 0  # statement records of other databases, skipped


@dataclass
class _Seen:
    calls: int
    total_ms: float | None
    roles: set[str]
    line: int
    queryid: int | None


def read_statement_log(path: Path, database: str, display: str | None = None) -> StatementLog:
    """The statements of `database` in a csvlog or jsonlog file, one per distinct text."""
    shown = display or str(path)
    kind = _format(path, shown)
    seen: dict[str, _Seen] = {}
    log = StatementLog()
    records = _json_records(path, shown) if kind == "json" else _csv_records(path, shown)
    for line, user, dbname, severity, message, queryid in records:
        if severity != "LOG":
            continue
        match = _STATEMENT.match(message)
        if match is None:
            continue
        if dbname and dbname != database:
            log.other_databases += 1
            continue
        log.records += 1
        text = message[match.end() :]
        ms = float(match.group("ms")) if match.group("ms") else None
        entry = seen.get(text)
        if entry is None:
            seen[text] = _Seen(1, ms, {user} if user else set(), line, queryid or None)
            continue
        entry.calls += 1
        if ms is not None:
            entry.total_ms = (entry.total_ms or 0.0) + ms
        if user:
            entry.roles.add(user)
    log.statements = [
        RecordedStatement(
            text, e.calls, e.total_ms, e.queryid, tuple(sorted(e.roles)), shown, e.line
        )
        for text, e in seen.items()
    ]
    return log


_Record = tuple[int, str, str, str, str, int]  # line, user, database, severity, message, queryid


def _format(path: Path, shown: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".json", ".csv"):
        return suffix[1:]
    try:
        with path.open("rb") as stream:
            head = stream.read(4096).lstrip()
    except OSError as error:
        raise LogError(shown, 1, 1, f"cannot read the file: {error.strerror}") from None
    if head.startswith(b"{"):
        return "json"
    if re.match(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+,", head) or not head:
        return "csv"
    raise LogError(
        shown,
        1,
        1,
        "not a csvlog or jsonlog file: log with log_destination = 'csvlog' (or 'jsonlog') and "
        "log_statement = 'all', and pass the .csv or .json file",
    )


@contextmanager
def _utf8(shown: str, lines: list[int]) -> Iterator[None]:
    try:
        yield
    except UnicodeDecodeError as error:
        line = lines[0] + 1
        raise LogError(
            shown, line, 1, f"not UTF-8 (byte 0x{error.object[error.start]:02x})"
        ) from None
    except OSError as error:
        raise LogError(shown, lines[0] or 1, 1, f"cannot read the file: {error.strerror}") from None


def _json_records(path: Path, shown: str) -> Iterator[_Record]:
    position = [0]
    with _utf8(shown, position), path.open(encoding="utf-8") as stream:
        for number, raw in enumerate(stream, 1):
            position[0] = number
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.rstrip("\r\n"))
            except json.JSONDecodeError as error:
                raise LogError(
                    shown, number, error.colno, f"not a jsonlog record: {error.msg}"
                ) from None
            if not isinstance(record, dict) or not isinstance(record.get("message"), str):
                raise LogError(shown, number, 1, 'not a jsonlog record: no "message" string')
            queryid = record.get("query_id")
            yield (
                number,
                str(record.get("user") or ""),
                str(record.get("dbname") or ""),
                str(record.get("error_severity") or ""),
                record["message"],
                queryid if isinstance(queryid, int) else 0,
            )


def _csv_records(path: Path, shown: str) -> Iterator[_Record]:
    position = [0]
    with _utf8(shown, position), _large_fields(), path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        start = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise LogError(shown, reader.line_num, 1, f"not a csvlog record: {error}") from None
            line, start, position[0] = start, reader.line_num + 1, reader.line_num
            if not row:
                continue
            if len(row) <= _MESSAGE:
                raise LogError(
                    shown,
                    line,
                    1,
                    f"not a csvlog record: {len(row)} fields, a PostgreSQL csvlog record has "
                    "at least 23",
                )
            queryid = row[_QUERY_ID] if len(row) > _QUERY_ID else ""
            yield (
                line,
                row[_USER],
                row[_DATABASE],
                row[_SEVERITY],
                row[_MESSAGE],
                int(queryid) if re.fullmatch(r"-?\d+", queryid) else 0,
            )


@contextmanager
def _large_fields() -> Iterator[None]:
    """Statements longer than the csv module's 128 KiB field limit, for one read."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, 1 << 30))
    try:
        yield
    finally:
        csv.field_size_limit(previous)
