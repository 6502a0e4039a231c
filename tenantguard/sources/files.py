"""Finding the files to check and turning each into findings with file positions."""

from __future__ import annotations

import fnmatch
import gc
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.rules import tg006_unprovable_statement
from tenantguard.engine.sqltext import LineIndex, split_sql
from tenantguard.sources.python import check_python_text
from tenantguard.sources.suppressions import (
    Suppression,
    apply_suppressions,
    python_suppressions,
    sql_suppressions,
)

__all__ = ["FileReport", "SourceFile", "check_file", "discover", "read_source"]

ALWAYS_SKIPPED = {
    ".git",
    ".hg",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".tox",
    ".mypy_cache",
}
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    display: str  # the path as reported (relative to the working directory when possible)
    in_patch: bool  # under the schema pipeline (patch directory or schema paths)
    is_patch: bool = False  # under the patch directory itself: the patch rules apply
    size: int = 0  # bytes, as found by `discover` (to share work among processes)


@dataclass(frozen=True, slots=True)
class FileReport:
    path: str
    findings: tuple[Finding, ...]
    statements: int


def _matches(relative: str, patterns: Iterable[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return any(
        fnmatch.fnmatch(relative, p)
        or fnmatch.fnmatch(name, p)
        or relative.startswith(p.rstrip("*").rstrip("/") + "/")
        for p in patterns
    )


def discover(
    paths: Iterable[Path],
    *,
    root: Path,
    include: Iterable[str],
    exclude: Iterable[str],
    pipeline: Iterable[str],
    patch_dir: str | None = None,
) -> tuple[list[SourceFile], list[str]]:
    """Files to check, and the paths that do not exist.

    A file named explicitly is checked whatever its name (pre-commit passes exact files); files
    found by walking a directory must match `include` and not `exclude`. Files under a
    `pipeline` path (patch directory, schema paths) are analysed as patches.

    Paths are handled as strings, each directory resolved once (pathlib costs more than the
    walk itself on large trees).
    """
    include, exclude = list(include), list(exclude)
    root_text = os.path.realpath(root)
    # the schema pipeline (patches, baseline): maintenance spans tenants, DDL belongs there
    pipeline_paths = [os.path.realpath(os.path.join(root_text, p)) for p in pipeline]
    patches = os.path.realpath(os.path.join(root_text, patch_dir)) if patch_dir else None
    cwd = os.getcwd()
    found: dict[str, SourceFile] = {}
    missing: list[str] = []

    def add(file: str, resolved: str, size: int) -> None:
        if resolved in found:
            return
        display = _relative(resolved, cwd)
        found[resolved] = SourceFile(
            Path(resolved),
            file if display is None else display,
            any(_relative(resolved, p) is not None for p in pipeline_paths),
            patches is not None and _relative(resolved, patches) is not None,
            size,
        )

    for path in paths:
        text = os.fspath(path)
        if os.path.isfile(text):
            resolved = os.path.realpath(text)
            add(text, resolved, _size(resolved))
        elif os.path.isdir(text):
            for directory, subdirs, names in os.walk(text):
                subdirs[:] = sorted(d for d in subdirs if d not in ALWAYS_SKIPPED)
                real_directory = os.path.realpath(directory)
                for name in sorted(names):
                    if not _matches(name, include):
                        continue
                    file = os.path.normpath(os.path.join(directory, name))
                    resolved = os.path.join(real_directory, name)
                    if os.path.islink(resolved):
                        resolved = os.path.realpath(resolved)
                    relative = _relative(resolved, root_text)
                    if not _matches(file if relative is None else relative, exclude):
                        add(file, resolved, _size(resolved))
        else:
            missing.append(text)
    return list(found.values()), missing


def _relative(path: str, base: str) -> str | None:
    """`path` relative to `base` (both absolute and resolved), or None when it is not under it."""
    if path == base:
        return "."
    prefix = base if base.endswith(os.sep) else base + os.sep
    return path[len(prefix) :] if path.startswith(prefix) else None


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


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
    if b"\0" in data:
        return None, "binary file (contains NUL bytes): not SQL or Python source", data.index(b"\0")
    try:
        return data.decode("utf-8-sig"), None, 0
    except UnicodeDecodeError as error:
        return (
            None,
            f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the file as UTF-8",
            error.start,
        )


def file_error(source: SourceFile, message: str, prefix: str = "") -> Finding:
    """A file that cannot be read cannot be proven: a TG006 finding at the offending place."""
    line, column = LineIndex(prefix).position(len(prefix))
    info = tg006_unprovable_statement.RULE
    return Finding(
        info.code,
        info.name,
        Severity.ERROR,
        message,
        "fix the file, or exclude it (exclude = [...] in [tool.tenantguard])",
        line,
        column,
        line,
        column,
        path=source.display,
    )


def check_sql_text(
    text: str, analyzer: Analyzer
) -> tuple[list[Finding], int, list[tuple[int, ...]], list[Suppression]]:
    """(findings, statements, anchor lines per finding, suppressions) of one SQL script."""
    statements, comments = split_sql(text)
    findings: list[Finding] = []
    anchors: list[tuple[int, ...]] = []
    for statement in statements:
        for finding in analyzer.statement_findings(statement.text, statement.error):
            moved = finding.shifted(statement.line, statement.column)
            findings.append(moved)
            anchors.append((statement.line - 1, statement.line, moved.line - 1, moved.line))
    suppressions = sql_suppressions((c.text, c.line, c.column) for c in comments)
    return findings, len(statements), anchors, suppressions


@dataclass(frozen=True, slots=True)
class CheckOptions:
    unresolved_severity: Severity = Severity.WARNING
    # the patch rules, given by the caller (sources do not depend on the patch package):
    # (text, path) -> findings; and whether only they run (`patches lint`)
    patch_linter: Callable[[str, Path], list[Finding]] | None = None
    patch_rules_only: bool = False


def check_file(
    source: SourceFile,
    analyzer: Analyzer,
    patch_analyzer: Analyzer,
    options: CheckOptions = CheckOptions(),
) -> FileReport:
    text, error, offset = read_source(source.path)
    if text is None:
        prefix = ""
        if offset:
            try:
                prefix = source.path.read_bytes()[:offset].decode("utf-8", "replace")
            except OSError:
                prefix = ""
        finding = file_error(source, error or "cannot read the file", prefix)
        return FileReport(source.display, (finding,), 0)
    chosen = patch_analyzer if source.in_patch else analyzer
    if options.patch_rules_only or (source.is_patch and options.patch_linter is not None):
        patch_findings = (
            options.patch_linter(text, source.path)
            if options.patch_linter is not None and source.path.suffix == ".sql"
            else []
        )
        if options.patch_rules_only:
            located = tuple(f.in_file(source.display) for f in patch_findings)
            return FileReport(source.display, located, len(split_sql(text)[0]))
    else:
        patch_findings = []
    if source.path.suffix == ".py":
        findings, count, anchors = check_python_text(
            text, chosen, unresolved_severity=options.unresolved_severity
        )
        suppressions = python_suppressions(text)
    else:
        findings, count, anchors, suppressions = check_sql_text(text, chosen)
    findings = [*findings, *patch_findings]
    anchors = [*anchors, *((f.line - 1, f.line) for f in patch_findings)]
    kept = apply_suppressions(findings, anchors, suppressions)
    located = tuple(f.in_file(source.display) for f in kept)
    return FileReport(source.display, located, count)


def iter_reports(
    files: Iterable[SourceFile],
    analyzer: Analyzer,
    patch_analyzer: Analyzer,
    options: CheckOptions = CheckOptions(),
) -> Iterator[FileReport]:
    for source in files:
        yield check_file(source, analyzer, patch_analyzer, options)


_WORKER: tuple[Analyzer, Analyzer, CheckOptions] | None = None


def _start_worker() -> None:
    """Garbage collection in a forked worker: leave the inherited heap alone, collect less often.

    The worker inherits the parent's objects (sqlglot's tables, the policy); `gc.freeze()` keeps
    collections from walking them again (and from touching their pages: copy-on-write). Parsed
    trees are cyclic garbage (nodes point at their parents), so young collections are frequent;
    a larger first threshold runs them less often. Measured on the 500-file benchmark (A/B):
    about 6 % of the wall time. Only the workers, which are ours, are tuned.
    """
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _check_in_worker(source: SourceFile) -> FileReport:
    assert _WORKER is not None
    return check_file(source, *_WORKER)


def check_files(
    files: list[SourceFile],
    analyzer: Analyzer,
    patch_analyzer: Analyzer,
    *,
    jobs: int | None = None,
    options: CheckOptions = CheckOptions(),
) -> list[FileReport]:
    """Checks files, on several processes when there is enough work to pay for them."""
    global _WORKER
    total = sum(f.size for f in files)
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers <= 1 or len(files) < 2 or total < 256_000:
        return list(iter_reports(files, analyzer, patch_analyzer, options))
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _WORKER = (analyzer, patch_analyzer, options)
    # fork: workers inherit the imported sqlglot and the policy instead of rebuilding them
    context = multiprocessing.get_context("fork")
    largest_first = sorted(files, key=lambda f: -f.size)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker
    ) as pool:
        reports = {
            r.path: r
            for r in pool.map(
                _check_in_worker, largest_first, chunksize=max(1, len(files) // (workers * 4))
            )
        }
    _WORKER = None
    return [reports[f.display] for f in files]
