"""The check cache, `.tenantguard_cache/` at the project root, as ruff keeps one.

One JSON file per key; the key covers everything a file's findings depend on besides the file:
the settings (command-line overrides included), the rule selection, the content of every schema
source the policy is built from, the installed sqlglot, sqlglotc and pglast, and tenantguard's own
files. Inside, each checked file has an entry: a hash of its content, its findings (without
path) and its statement count. A file whose content hash matches is not read by sqlglot again;
when every file matches, sqlglot is not even imported.

tenantguard's files enter the key by size and modification time (nanoseconds): an install from
another commit keeps the version number but not the times, and a cache committed to a repository
cannot predict them (it would otherwise be a way to make a leak pass a CI check).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field, fields
from importlib.machinery import PathFinder
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenantguard.engine.findings import Finding, Severity
from tenantguard.sources.walk import FileReport, SourceFile

if TYPE_CHECKING:
    from tenantguard.config import Settings

__all__ = ["CheckCache", "content_hash"]

FORMAT = 1
_KEEP_DAYS = 30  # entries (and key files) unused this long are dropped
_PACKAGE = Path(__file__).resolve().parent


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _tool_fingerprint() -> list[object]:
    """tenantguard's files (size, mtime) and the installed parser packages' distributions."""
    own = []
    for directory, subdirs, names in os.walk(_PACKAGE):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".sql")):
                stat = os.stat(os.path.join(directory, name))
                own.append((os.path.join(directory, name), stat.st_size, stat.st_mtime_ns))
    distributions: list[str] = []
    sites: set[str] = set()
    for package in ("sqlglot", "pglast"):
        spec = PathFinder.find_spec(package)  # finds without importing it
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        if not locations:
            distributions.append(f"{package}: absent")
            continue
        sites.add(os.path.dirname(locations[0]))
    wanted = ("sqlglot-", "sqlglotc-", "pglast-")
    for site in sorted(sites):
        try:
            entries = os.listdir(site)
        except OSError:
            continue
        distributions.extend(
            sorted(e for e in entries if e.endswith(".dist-info") and e.lower().startswith(wanted))
        )
    return [own, distributions]


def _schema_fingerprint(settings: Settings) -> list[object]:
    """The content of every file the policy is read from, as `read_schema` finds them."""
    found: list[object] = []
    for relative in settings.schema_paths:
        path = settings.root / relative
        if path.is_dir():
            files = sorted(path.rglob("*.sql"))
        elif path.is_file():
            files = [path]
        else:
            found.append((relative, "missing"))
            continue
        for file in files:
            try:
                found.append((str(file), content_hash(file.read_bytes())))
            except OSError:
                found.append((str(file), "unreadable"))
    return found


def _settings_fingerprint(settings: Settings) -> list[object]:
    return [
        (f.name, repr(getattr(settings, f.name)))
        for f in fields(settings)
        if f.name not in ("root", "config_file", "cache_dir")
    ]


def _today() -> int:
    return int(time.time() // 86_400)


@dataclass
class CheckCache:
    """The entries of one key; `lookup` before checking a file, `store` after, `save` at the end."""

    file: Path
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    tenant_tables: int | None = None  # how many the policy had when the entries were written
    changed: bool = False

    @classmethod
    def open(cls, settings: Settings, options: str, directory: Path | None = None) -> CheckCache:
        """The cache of these settings and options (a text of whatever else shapes findings)."""
        from tenantguard import __version__

        key = json.dumps(
            [
                FORMAT,
                __version__,
                _tool_fingerprint(),
                _settings_fingerprint(settings),
                _schema_fingerprint(settings),
                options,
            ]
        )
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
        where = directory if directory is not None else settings.root / settings.cache_dir
        cache = cls(where / f"{digest}.json")
        try:
            data = json.loads(cache.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cache
        if isinstance(data, dict) and data.get("format") == FORMAT:
            entries = data.get("files")
            cache.entries = entries if isinstance(entries, dict) else {}
            tables = data.get("tenant_tables")
            cache.tenant_tables = tables if isinstance(tables, int) else None
        return cache

    @staticmethod
    def _name(source: SourceFile) -> str:
        return source.relative if source.relative is not None else str(source.path)

    def lookup(self, source: SourceFile) -> tuple[FileReport | None, str | None]:
        """(the cached report, or None; the file's content hash, or None if unreadable)."""
        try:
            data = source.path.read_bytes()
        except OSError:
            return None, None
        digest = content_hash(data)
        entry = self.entries.get(self._name(source))
        if entry is None or entry.get("hash") != digest:
            return None, digest
        try:
            findings = tuple(_finding(row, source.display) for row in entry["findings"])
            report = FileReport(source.display, findings, int(entry["statements"]))
        except (KeyError, TypeError, ValueError):
            return None, digest
        if entry.get("seen") != _today():
            entry["seen"] = _today()
            self.changed = True
        return report, digest

    def store(self, source: SourceFile, digest: str, report: FileReport) -> None:
        self.entries[self._name(source)] = {
            "hash": digest,
            "statements": report.statements,
            "findings": [_row(f) for f in report.findings],
            "seen": _today(),
        }
        self.changed = True

    def save(self, tenant_tables: int | None) -> None:
        """Writes the entries (atomically), drops stale ones; a cache that cannot be written is
        simply not kept."""
        if tenant_tables is not None and tenant_tables != self.tenant_tables:
            self.tenant_tables, self.changed = tenant_tables, True
        if not self.changed:
            return
        oldest = _today() - _KEEP_DAYS
        kept = {k: v for k, v in self.entries.items() if int(v.get("seen", 0)) >= oldest}
        directory = self.file.parent
        try:
            fresh = not directory.is_dir()
            directory.mkdir(parents=True, exist_ok=True)
            if fresh:
                (directory / ".gitignore").write_text("# created by tenantguard\n*\n")
                (directory / "CACHEDIR.TAG").write_text(
                    "Signature: 8a477f597d28d172789f06886806bc55\n"
                    "# This file is a cache directory tag created by tenantguard.\n"
                )
            data = {"format": FORMAT, "tenant_tables": self.tenant_tables, "files": kept}
            handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, separators=(",", ":"))
            os.replace(temporary, self.file)
            self._drop_stale_keys(directory, oldest * 86_400)
        except OSError:
            return

    def _drop_stale_keys(self, directory: Path, before: float) -> None:
        for other in directory.glob("*.json"):
            try:
                if other != self.file and other.stat().st_mtime < before:
                    other.unlink()
            except OSError:
                continue


def _row(finding: Finding) -> list[object]:
    return [
        finding.code,
        finding.name,
        str(finding.severity),
        finding.message,
        finding.help,
        finding.line,
        finding.column,
        finding.end_line,
        finding.end_column,
        finding.statement,
    ]


def _finding(row: list[Any], path: str) -> Finding:
    code, name, severity, message, help_, line, column, end_line, end_column, statement = row
    return Finding(
        str(code),
        str(name),
        Severity(severity),
        str(message),
        str(help_),
        int(line),
        int(column),
        int(end_line),
        int(end_column),
        path,
        str(statement),
    )
