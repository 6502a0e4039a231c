"""Which files `check` looks at: the walk of directories, `.gitignore`, `exclude`, `force_exclude`.

A walk skips what is not the project's own code: tool and build directories (ruff's list),
any directory holding a `pyvenv.cfg` (a virtualenv, whatever its name), `site-packages`,
`node_modules`, and what the repository's `.gitignore` files ignore (read with pathspec, as git
reads them: each file applies below its directory, deeper files win, `!` re-includes).

Light on purpose (no sqlglot): a check served from the cache needs only this and the cache.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tenantguard._patterns import lazy_pattern
from tenantguard._records import frozen_record

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

    from tenantguard.engine.findings import Finding
    from tenantguard.sources.pyflow import Consulted

__all__ = [
    "ALWAYS_SKIPPED",
    "FileReport",
    "SourceFile",
    "discover",
    "is_python",
    "merge_read_files",
    "schema_files",
    "stdin_source",
]

# ruff's default exclusions, and our own cache: never the project's code
ALWAYS_SKIPPED = frozenset(
    {
        ".bzr",
        ".direnv",
        ".eggs",
        ".git",
        ".git-rewrite",
        ".hg",
        ".ipynb_checkpoints",
        ".mypy_cache",
        ".nox",
        ".pants.d",
        ".pyenv",
        ".pytest_cache",
        ".pytype",
        ".ruff_cache",
        ".svn",
        ".tenantguard_cache",
        ".tox",
        ".venv",
        ".vscode",
        "__pycache__",
        "__pypackages__",
        "_build",
        "buck-out",
        "build",
        "dist",
        "node_modules",
        "site-packages",
        "venv",
    }
)


@frozen_record
class SourceFile:
    """A file to check, as the walk found it (or standard input)."""

    path: Path
    display: str  # the path as reported (relative to the working directory when possible)
    in_patch: bool  # under the schema pipeline (patch directory or schema paths)
    is_patch: bool  # under the patch directory itself: the patch rules apply (default False)
    size: int  # bytes, as found by `discover` (to share work among processes; default 0)
    relative: str | None  # relative to the project root ('/'-separated), None outside it
    # the content when it does not come from the file: standard input's bytes, read as a
    # file's are (text given as str is taken as it is)
    text: str | bytes | None

    __slots__ = __match_args__ = (
        "path",
        "display",
        "in_patch",
        "is_patch",
        "size",
        "relative",
        "text",
    )

    def __init__(
        self,
        path: Path,
        display: str,
        in_patch: bool,
        is_patch: bool = False,
        size: int = 0,
        relative: str | None = None,
        text: str | bytes | None = None,
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "path", path)
        set_field(self, "display", display)
        set_field(self, "in_patch", in_patch)
        set_field(self, "is_patch", is_patch)
        set_field(self, "size", size)
        set_field(self, "relative", relative)
        set_field(self, "text", text)


@frozen_record
class FileReport:
    """A checked file's findings, statement count and notes."""

    path: str
    findings: tuple[Finding, ...]
    statements: int
    notes: tuple[str, ...]  # said once per file, on standard error (default none)
    consulted: Consulted | None  # other files a Python file's check read (the cache)
    schema: bool  # a schema source (patch, migration): its statements are not "proven"
    # of `statements`, those that read or write tenant tables (None: not known, an older cache)
    tenant_statements: int | None
    # findings in statements of a file the program reads and sends that the tree's check of
    # that file reports itself (`Finding.read_from`): said there, not here (h36D)
    sent: tuple[Finding, ...]

    __slots__ = __match_args__ = (
        "path",
        "findings",
        "statements",
        "notes",
        "consulted",
        "schema",
        "tenant_statements",
        "sent",
    )

    def __init__(
        self,
        path: str,
        findings: tuple[Finding, ...],
        statements: int,
        notes: tuple[str, ...] = (),
        consulted: Consulted | None = None,
        schema: bool = False,
        tenant_statements: int | None = None,
        sent: tuple[Finding, ...] = (),
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "path", path)
        set_field(self, "findings", findings)
        set_field(self, "statements", statements)
        set_field(self, "notes", notes)
        set_field(self, "consulted", consulted)
        set_field(self, "schema", schema)
        set_field(self, "tenant_statements", tenant_statements)
        set_field(self, "sent", sent)


def merge_read_files(reports: Iterable[FileReport]) -> list[FileReport]:
    """The findings a Python file leaves to the check of a file it reads and sends
    (`FileReport.sent`: `(SQL_DIR / "q.sql").read_text()`, the statement all that file's
    text) named in that file's finding of the same rule at the same line, when this run
    reports it: its help says which lines of which Python files send it (h36D)."""
    listed = list(reports)
    senders: dict[tuple[str, str, int], list[str]] = {}
    for report in listed:
        for finding in report.sent:
            file, _, line = finding.read_from.rpartition(":")
            if line.isdigit():
                key = (file, finding.code, int(line))
                senders.setdefault(key, []).append(f"{report.path}:{finding.line}")
    if not senders:
        return listed
    out: list[FileReport] = []
    for report in listed:
        relative = report.path.replace(os.sep, "/")
        findings = tuple(
            _sent_by(f, senders.get((k, f.code, f.line)))
            for f in report.findings
            for k in (_read_key(relative, senders, f),)
        )
        if findings != report.findings:
            report = FileReport(
                report.path,
                findings,
                report.statements,
                report.notes,
                report.consulted,
                report.schema,
                report.tenant_statements,
                report.sent,
            )
        out.append(report)
    return out


def said_at_the_calls(report: FileReport, said_there: Callable[[str, str], bool]) -> FileReport:
    """`report` with the findings it leaves to the check of the file their SQL is written in
    (`FileReport.sent`: a `.sql` file it reads, a constant of another module it sends) said
    here, at the calls, when `said_there(file, rule)` is false (that file, relative to the
    project's root, is not checked by this run as application code with the rule running in
    it, and its report says nothing of that rule: the file is not among this run's, the rule
    does not run there, or the file is read with other rules — a module under the patch
    directory, h39E; the command line's `_check_group`): a pre-commit run checks the changed
    files only, and the check of `handlers.py` alone said "proven" of an unpinned query
    written in `queries.py` (s38)."""
    here = tuple(f for f in report.sent if not said_there(f.read_from.rpartition(":")[0], f.code))
    if not here:
        return report
    return FileReport(
        report.path,
        tuple(sorted((*report.findings, *here), key=lambda f: (f.line, f.column, f.code))),
        report.statements,
        report.notes,
        report.consulted,
        report.schema,
        report.tenant_statements,
        tuple(f for f in report.sent if f not in here),
    )


# `class Name(Bases…)` at any indentation (bases across lines: up to the closing parenthesis)
_CLASS_WITH_BASES = lazy_pattern(rb"^[ \t]*class[ \t]+(\w+)[ \t]*(?:\(([^)]*)\))?", re.MULTILINE)
_WORD = lazy_pattern(rb"\w+")


def base_class_files(named: Iterable[str], project: Callable[[], Iterable[str]]) -> list[str]:
    """Of the project's Python files (paths) other than `named`, those defining a class a class
    of a named file derives from, directly or through others (by name: two classes named
    alike are both taken). Their check fills a base class's SQL with a named file's subclass
    (`table = "patients"` here, `f"DELETE FROM {self.table} …"` sent there): a run of the
    subclass's file alone said "proven" of what the tree says at the base class (h39E)."""

    def classes(path: str) -> list[tuple[bytes, bytes]]:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return []
        return [(m[1], m[2] or b"") for m in _CLASS_WITH_BASES.finditer(data)]

    done = {os.path.realpath(p) for p in named}
    wanted = {w for p in done for _, bases in classes(p) for w in _WORD.findall(bases)}
    if not wanted:
        return []
    defined: dict[bytes, list[tuple[str, bytes]]] = {}
    for path in project():
        if os.path.realpath(path) not in done:
            for name, bases in classes(path):
                defined.setdefault(name, []).append((path, bases))
    found: list[str] = []
    seen: set[bytes] = set()
    while wanted - seen:
        name = min(wanted - seen)
        seen.add(name)
        for path, bases in defined.get(name, ()):
            if path not in found:
                found.append(path)
            wanted.update(_WORD.findall(bases))
    return sorted(found)


def importing_files(
    named: Iterable[str], project: Callable[[], Iterable[str]], root: str
) -> list[str]:
    """Of the project's Python files (paths) other than `named`, those importing a named module
    (by its name, in an import statement: an over-approximation), and those importing a module
    that does at its top level (a re-export: `from app.queries import OPEN` in a package's
    `__init__.py` or in any module, h40E), transitively. A change to `queries.py` alone can
    make an unchanged call elsewhere leak (`queries.OPEN + " OR …"`, said at that call):
    `--check-dependents` checks them for it. An import continued by a backslash is read as one
    line (h40E)."""
    done = {os.path.realpath(p) for p in named}
    # each word of the project's import statements: the files naming it, and whether at their
    # top level there (read once: a word at a time over every file was 300 by 300 searches)
    index: dict[bytes, dict[str, bool]] = {}
    for path in project():
        if os.path.realpath(path) not in done:
            try:
                with open(path, "rb") as handle:
                    data = _CONTINUED.sub(b" ", handle.read())
            except OSError:
                continue
            for statement in _IMPORT.finditer(data):
                for word in _WORD.findall(statement[0]):
                    files = index.setdefault(word, {})
                    files[path] = files.get(path, False) or not statement[1]
    wanted = [w.encode() for w in sorted({_module_word(p, root) for p in done} - {""})]
    seen = set(wanted)
    found: set[str] = set()
    while wanted:
        for path, top in index.get(wanted.pop(), {}).items():
            found.add(path)
            word = _module_word(path, root).encode() if top else b""
            if word and word not in seen:  # at the top level: importable from it in turn
                seen.add(word)
                wanted.append(word)
    return sorted(found)


def reading_files(named: Iterable[str], project: Callable[[], Iterable[str]]) -> list[str]:
    """Of the project's Python files (paths), those that may read a named file (`.sql` of the
    application): naming it (`"open.sql"`), or beside it or in its parent folder naming its
    suffix (`Path(__file__).parent.glob("*.sql")`): an over-approximation. A statement they
    complete with its text (`(HERE / "cond.sql").read_text()` after `WHERE `) is said there
    by the tree, and by a `--check-dependents` run of the file alone (h40E)."""
    wanted = [
        (os.path.basename(real).encode(), os.path.splitext(real)[1].encode(), os.path.dirname(real))
        for real in map(os.path.realpath, named)
    ]
    found: list[str] = []
    for path in project():
        real = os.path.realpath(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        folder = os.path.dirname(real)
        for name, suffix, where in wanted:
            beside = folder in (where, os.path.dirname(where))
            if name in data or (beside and suffix and suffix in data):
                found.append(path)
                break
    return sorted(found)


# an import statement (its indentation first): to the line's end, or a parenthesized list's
_IMPORT = lazy_pattern(
    rb"^([ \t]*)(?:from\b[^\n(]*\([^)]*\)[^\n]*|(?:from|import)\b[^\n]*)", re.MULTILINE
)
_CONTINUED = lazy_pattern(rb"\\\r?\n")  # a backslash ending a line: the line goes on


def _module_word(path: str, root: str) -> str:
    """The last part of a module's dotted name (`queries` of app/queries.py, `app` of
    app/__init__.py); "" for a file outside `root` or at its top as `__init__.py`."""
    relative = os.path.relpath(os.path.realpath(path), root)
    parts = Path(relative).with_suffix("").parts
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or parts[0] == os.pardir:
        return ""
    return parts[-1]


def from_named(report: FileReport, named: Iterable[str]) -> FileReport | None:
    """Of the report of a file checked for the named files' sake (`base_class_files`), the
    findings in SQL taken from one of them ("… (in SQL from app/items.py)", as the tree says
    them there), or in a statement holding text of one of them wherever the finding points
    (`Finding.filled_from`: `"SELECT … WHERE " + COND`, COND written in a named file, h40E);
    None when there are none."""
    names = set(named)
    ends = tuple(f" (in SQL from {d})" for d in names)
    kept = tuple(
        f for f in report.findings if f.message.endswith(ends) or names.intersection(f.filled_from)
    )
    if not kept:
        return None
    return FileReport(report.path, kept, 0, (), report.consulted, report.schema, 0)


def _read_key(displayed: str, senders: dict[tuple[str, str, int], list[str]], f: Finding) -> str:
    """The key (relative to the project root) of a report's path as displayed (relative to
    the working directory): the one of the senders' files its path ends with."""
    for file, code, line in senders:
        if (
            code == f.code
            and line == f.line
            and (
                displayed == file
                or displayed.endswith("/" + file)
                or file.endswith("/" + displayed)
            )
        ):
            return file
    return ""


def _sent_by(finding: Finding, calls: list[str] | None) -> Finding:
    if not calls:
        return finding
    said = ", ".join(dict.fromkeys(calls))
    return dataclasses.replace(finding, help=f"{finding.help} (this SQL is sent by {said})")


def _matches(relative: str, patterns: Iterable[str]) -> bool:
    """Whether a path (relative to the project's root, `/`-separated) matches one of the
    patterns, as ruff reads `include` and `exclude`: a pattern without a slash matches a name
    anywhere (`*.py`, `generated`: a file, or a directory and all below it); one with a slash
    matches from the root (`app/*.py` the files directly in app, `app/**/*.py` at any depth,
    `app/generated` all below it). A `*` never crosses a slash (helper 113: `app/*.py` left
    out `app/admin/a.py`, a leak unchecked)."""
    parts = relative.split("/")
    for pattern in patterns:
        compiled = _glob(pattern)
        if "/" not in pattern.strip("/"):
            if any(compiled.fullmatch(part) for part in parts):
                return True
        elif any(compiled.fullmatch("/".join(parts[:end])) for end in range(1, len(parts) + 1)):
            return True
    return False


@functools.lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """A glob as a regular expression: `**` any path, `*` and `?` within one name."""
    text = pattern.strip()
    text = text[2:] if text.startswith("./") else text
    text = text.strip("/")
    out, at = [], 0
    while at < len(text):
        if text.startswith("**/", at):
            out.append("(?:.*/)?")
            at += 3
        elif text.startswith("**", at):
            out.append(".*")
            at += 2
        elif text[at] == "*":
            out.append("[^/]*")
            at += 1
        elif text[at] == "?":
            out.append("[^/]")
            at += 1
        elif text[at] == "[":
            end = text.find("]", at + 1)
            if end < 0:
                out.append(re.escape("["))
                at += 1
            else:
                body = text[at + 1 : end]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                at = end + 1
        else:
            out.append(re.escape(text[at]))
            at += 1
    return re.compile("".join(out))


# what a walk may read: SQL scripts and Python sources (a pattern like `app/**` names the
# README and images too: helper 113), whatever the case of the suffix (`Q.SQL`, `TOOL.PY`:
# Windows and macOS open them as any other; helper 116), and `.pyw` (Python without a console)
CHECKABLE_SUFFIXES = (".sql", ".py", ".pgsql", ".psql", ".pyw")
PYTHON_SUFFIXES = (".py", ".pyw")


def is_python(path: str | os.PathLike[str]) -> bool:
    """Whether a file is read as Python source: `.py` or `.pyw`, in any case, or one without
    a suffix the check knows whose first line is a Python shebang (`bin/manage`, named on the
    command line)."""
    name = os.fspath(path)
    if name.lower().endswith(PYTHON_SUFFIXES):
        return True
    return not _checkable(os.path.basename(name)) and _shebang_python(name)


def _checkable(name: str) -> bool:
    return name.lower().endswith(CHECKABLE_SUFFIXES)


def _as_included(name: str) -> str:
    """A file's name as `include` matches it: its suffix in lower case, `.pyw` as `.py` (the
    default `*.py` reads `gui.pyw` and `TOOL.PY`)."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in CHECKABLE_SUFFIXES:
        return name
    suffix = suffix.lower()
    return f"{stem}.{'py' if suffix == 'pyw' else suffix}"


# `#!/usr/bin/env python3`, `#!/usr/bin/python3.12 -u`, `#!/usr/bin/env -S uv run --script`
_PYTHON_SHEBANG = lazy_pattern(
    rb"#![^\n]*?(?:[/\s]|^)(?:python[\d.]*|pypy[\d.]*|uv\s+run)(?:\s|$)", re.MULTILINE
)


@functools.lru_cache(maxsize=4096)
def _shebang_python(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            first = handle.readline(512)
    except OSError:
        return False
    return first.startswith(b"#!") and _PYTHON_SHEBANG.match(first.rstrip(b"\r\n")) is not None


def unknown_language(path: Path) -> bool:
    """Whether nothing says what a file is written in: no suffix the check knows, no Python
    shebang (it is read as SQL, the existing reading, and said so when that fails)."""
    return not _checkable(path.name) and not is_python(path)


def _skipped_directory(name: str) -> bool:
    return name in ALWAYS_SKIPPED or name.endswith(".egg-info")


# names of ruff's list an application may give its own package (`app/build/steps.py`, a
# `dist` module of a distribution service): ruff skips them anywhere, silently; a gate must not
# (helper 116). Inside a Python package, or a package themselves, they are the application's
# code and are walked; elsewhere (setuptools' `build/lib` copy, a wheel's `dist`) skipped, and
# said when they hold SQL or Python files
_APPLICATION_NAMES = frozenset({"build", "dist", "_build", "buck-out", "venv"})
# skipped without a word: tools' caches, dependencies, version control
_UNSAID = frozenset({"__pycache__", "node_modules", "site-packages", "__pypackages__"})


def _package_directory(parent: str, name: str, parent_names: Iterable[str] | None = None) -> bool:
    """Whether `parent/name`, a directory with a name of ruff's list, is a Python package's
    code: it holds `__init__.py`, or its parent does."""
    if name not in _APPLICATION_NAMES:
        return False
    names = os.listdir(parent) if parent_names is None else parent_names
    return "__init__.py" in names or os.path.isfile(os.path.join(parent, name, "__init__.py"))


def _holds_sources(top: str, limit: int = 5000) -> bool:
    """Whether a directory holds a file a walk would read (at most `limit` entries looked at)."""
    seen = 0
    for _, subdirs, names in os.walk(top):
        subdirs[:] = [d for d in subdirs if d not in _UNSAID and not d.startswith(".")]
        if any(_checkable(n) for n in names):
            return True
        seen += len(names) + len(subdirs)
        if seen > limit:
            return False
    return False


class _GitIgnore:
    """The `.gitignore` files that apply to one walk: from the repository's top down."""

    def __init__(self) -> None:
        self.specs: dict[str, GitIgnoreSpec] = {}  # directory (real path) -> its patterns

    def read(self, directory: str, path: str | None = None) -> None:
        """The patterns of `path` (default: `directory`'s .gitignore), applying below
        `directory`."""
        path = path or os.path.join(directory, ".gitignore")
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            return
        from pathspec import GitIgnoreSpec  # only for walks that meet a .gitignore

        spec = GitIgnoreSpec.from_lines(lines)
        if directory in self.specs:  # .git/info/exclude, then the .gitignore beside it
            spec = GitIgnoreSpec(list(self.specs[directory].patterns) + list(spec.patterns))
        self.specs[directory] = spec

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Whether git ignores `path` (absolute, resolved): the deepest deciding file wins."""
        verdict: bool | None = None
        for base, spec in self.specs.items():  # inserted top-down: deeper ones come later
            relative = _relative(path, base)
            if relative is None or relative == ".":
                continue
            result = spec.check_file(relative + "/" if is_dir else relative)
            if result.include is not None:
                verdict = result.include
        return bool(verdict)


def _repository_top(directory: str) -> str | None:
    for candidate in (directory, *(str(p) for p in Path(directory).parents)):
        if os.path.exists(os.path.join(candidate, ".git")):
            return candidate
    return None


def _gitignore_for(directory: str) -> _GitIgnore:
    """The ignore files above `directory` up to its repository's top (and that top's
    `.git/info/exclude`); those below are read as the walk meets them."""
    ignore = _GitIgnore()
    top = _repository_top(directory)
    if top is None:
        return ignore
    ignore.read(top, os.path.join(top, ".git", "info", "exclude"))
    chain = [directory, *(str(p) for p in Path(directory).parents)]
    for ancestor in reversed(chain[1 : chain.index(top) + 1]):
        ignore.read(ancestor)
    return ignore


def _walk(
    top: str,
    ignore: _GitIgnore | None,
    skipped: list[str] | None = None,
    unreadable: list[str] | None = None,
    nested: Callable[[str, list[str]], bool] | None = None,
    projects: list[str] | None = None,
) -> Iterator[tuple[str, str, list[str]]]:
    """(directory as given, its real path, its file names) below `top`, pruned. Directories
    skipped by their name alone that hold SQL or Python files are added to `skipped`; those
    that cannot be listed, with why, to `unreadable` (a gate does not pass what it did not
    read). A symbolic link to a directory is followed (a shared package linked into the tree is
    the application's code), each real directory walked once (a link up the tree is a loop).
    A directory below `top` that `nested` says is a project of its own (its configuration) is
    not walked: it is added to `projects`, to be checked with that configuration."""

    def cannot_list(error: OSError) -> None:
        if unreadable is not None:
            unreadable.append(
                f"{os.path.normpath(error.filename)}: cannot read directory: {error.strerror}"
            )

    seen: set[str] = set()
    real_top = os.path.realpath(top)
    for directory, subdirs, names in os.walk(top, onerror=cannot_list, followlinks=True):
        real_directory = os.path.realpath(directory)
        if real_directory in seen or (
            # a link to a directory that holds the tree (`up -> ..`, `root -> /`) is a loop too:
            # followed, it walked the whole disk — other projects, /proc — and never ended (h32k)
            directory != top and _holds(real_directory, real_top)
        ):
            subdirs[:] = []
            continue
        seen.add(real_directory)
        if directory != top and nested is not None and nested(real_directory, names):
            subdirs[:] = []
            if projects is not None:
                projects.append(os.path.normpath(directory))
            continue
        if directory != top and "pyvenv.cfg" in names:
            subdirs[:] = []  # a virtualenv, whatever its name
            continue
        if ignore is not None and ".gitignore" in names:
            ignore.read(real_directory)
        kept = []
        for d in subdirs:
            if (
                ignore is not None
                and ignore.specs
                and ignore.ignored(os.path.join(real_directory, d), is_dir=True)
            ):
                continue  # the repository's own choice: not said
            if _skipped_directory(d) and not _package_directory(directory, d, names):
                if (
                    skipped is not None
                    and d not in _UNSAID
                    and not d.startswith(".")
                    and _holds_sources(os.path.join(directory, d))
                ):
                    skipped.append(os.path.normpath(os.path.join(directory, d)))
                continue
            kept.append(d)
        subdirs[:] = sorted(kept)
        yield directory, real_directory, names


def _holds(outer: str, inner: str) -> bool:
    """Whether the real directory `outer` is `inner` or holds it."""
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def discover(
    paths: Iterable[Path],
    *,
    root: Path,
    include: Iterable[str],
    exclude: Iterable[str],
    pipeline: Iterable[str],
    patch_dir: str | None = None,
    force_exclude: bool = False,
    respect_gitignore: bool = True,
    skipped: list[str] | None = None,
    unreadable: list[str] | None = None,
    nested: Callable[[str, list[str]], bool] | None = None,
    projects: list[str] | None = None,
    special: list[str] | None = None,
) -> tuple[list[SourceFile], list[str]]:
    """Files to check, and the paths that do not exist (directories that cannot be listed are
    added to `unreadable`, each with why; directories `nested` says hold a configuration of
    their own are left out of a walk and added to `projects`, unless `exclude` names them;
    named pipes, sockets and devices a walk finds are left out and added to `special`).

    A file named explicitly is checked whatever its name (pre-commit passes exact files), unless
    `force_exclude` is set and `exclude` (or a skipped directory) covers it; files found by
    walking a directory must match `include` and not `exclude` nor `.gitignore`. Files under a
    `pipeline` path (patch directory, schema paths) are analysed as patches. Directories the
    walk skipped by their name alone (ruff's list: `build`, `dist`…, outside a Python package)
    that hold SQL or Python files, and that `exclude` does not name, are added to `skipped`.

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
        relative = _relative(resolved, root_text)
        # under a schema path as named, or as linked into one (`db/common -> ../shared`)
        named = os.path.abspath(file)
        found[resolved] = SourceFile(
            Path(resolved),
            file if display is None else display,
            any(
                _relative(resolved, p) is not None or _relative(named, p) is not None
                for p in pipeline_paths
            ),
            patches is not None
            and (_relative(resolved, patches) is not None or _relative(named, patches) is not None),
            size,
            None if relative is None else relative.replace(os.sep, "/"),
        )

    def force_excluded(text: str) -> bool:
        resolved = os.path.realpath(text)
        relative = _relative(resolved, root_text)
        name = relative if relative is not None else text
        parts = name.replace(os.sep, "/").split("/")
        folders = []  # (parent, name) of each directory above the file, up to the root
        where = os.path.dirname(resolved)
        for _ in parts[:-1]:
            folders.append((os.path.dirname(where), os.path.basename(where)))
            where = os.path.dirname(where)
        return any(
            _skipped_directory(part) and not _package_directory(parent, part)
            for parent, part in folders
        ) or _matches(name, exclude)

    for path in paths:
        text = os.fspath(path)
        if force_exclude and os.path.exists(text) and force_excluded(text):
            continue
        if os.path.isfile(text):
            resolved = os.path.realpath(text)
            add(text, resolved, _size(resolved) or 0)
        elif os.path.isdir(text):
            real_top = os.path.realpath(text)
            ignore = _gitignore_for(real_top) if respect_gitignore else None
            passed: list[str] = []
            own_projects: list[str] = []
            for directory, real_directory, names in _walk(
                text, ignore, passed, unreadable, nested, own_projects
            ):
                # `include` as ruff reads it: a pattern with a slash matches the path from the
                # project's root (`worker/**/*.py`), one without matches a name (`*.py`)
                under = _relative(real_directory, root_text)
                for name in sorted(names):
                    if not _checkable(name):
                        continue
                    if not (
                        _matches(
                            name
                            if under is None or under == "."
                            else f"{under.replace(os.sep, '/')}/{name}",
                            include,
                        )
                        or _matches(
                            _as_included(name)
                            if under is None or under == "."
                            else f"{under.replace(os.sep, '/')}/{_as_included(name)}",
                            include,
                        )
                    ):
                        continue
                    file = os.path.normpath(os.path.join(directory, name))
                    resolved = os.path.join(real_directory, name)
                    if ignore is not None and ignore.specs and ignore.ignored(resolved, False):
                        continue
                    if os.path.islink(resolved):
                        target = os.path.realpath(resolved)
                        # a link to nothing keeps its own name: the target is found nowhere
                        resolved = target if os.path.exists(target) else resolved
                    relative = _relative(resolved, root_text)
                    if not _matches(file if relative is None else relative, exclude):
                        size = _size(resolved)
                        if size is None:  # no file to read: said, not waited on
                            if special is not None:
                                special.append(f"{file}: {special_kind(resolved)}")
                            continue
                        add(file, resolved, size)
            if projects is not None:
                for folder in own_projects:
                    relative = _relative(os.path.realpath(folder), root_text)
                    if not _matches(folder if relative is None else relative, exclude):
                        projects.append(folder)
            if skipped is not None:
                for folder in passed:
                    relative = _relative(os.path.realpath(folder), root_text)
                    if not _matches(folder if relative is None else relative, exclude):
                        skipped.append(folder)
        else:
            missing.append(text)
    return list(found.values()), missing


def stdin_source(
    name: str,
    text: bytes,
    *,
    root: Path,
    exclude: Iterable[str],
    pipeline: Iterable[str],
    patch_dir: str | None = None,
) -> SourceFile | None:
    """Standard input as the file `name` (which need not exist), or None when `exclude` (given
    only with force_exclude) covers that name."""
    root_text = os.path.realpath(root)
    resolved = os.path.realpath(name) if name != "-" else os.path.join(os.getcwd(), "-")
    relative = _relative(resolved, root_text)
    posix = None if relative is None else relative.replace(os.sep, "/")
    if posix is not None and _matches(posix, exclude):
        return None
    under = [os.path.realpath(os.path.join(root_text, p)) for p in pipeline]
    patches = os.path.realpath(os.path.join(root_text, patch_dir)) if patch_dir else None
    return SourceFile(
        Path(resolved) if name != "-" else Path("-.sql"),
        name,
        any(_relative(resolved, p) is not None for p in under),
        patches is not None and _relative(resolved, patches) is not None,
        len(text),
        posix,
        text,
    )


def schema_files(paths: Iterable[Path]) -> list[Path]:
    """The files the schema is read from, in the order it reads them: every `.sql` and `.py`
    file under each directory (sorted; `.py` for Python migrations; any case of the suffix),
    each file given, missing paths skipped."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(_schema_folder_files(path)))
        elif path.is_file():
            files.append(path)
    return files


def _schema_folder_files(top: Path) -> Iterator[Path]:
    """The schema files under a folder, links to folders followed as a check's walk follows
    them (`db/common -> ../../shared/schema`: Path.rglob followed none, and the tables made
    there were no tenant tables), each real folder once, a link to a folder holding `top` (`up
    -> ..`) not followed."""
    seen: set[str] = set()
    real_top = os.path.realpath(top)
    for directory, subdirs, names in os.walk(top, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen or (directory != os.fspath(top) and _holds(real, real_top)):
            subdirs[:] = []
            continue
        seen.add(real)
        for name in names:
            if name.lower().endswith((".sql", *PYTHON_SUFFIXES)):
                file = Path(directory, name)
                if file.is_file():
                    yield file


def _relative(path: str, base: str) -> str | None:
    """`path` relative to `base` (both absolute and resolved), or None when it is not under it."""
    if path == base:
        return "."
    prefix = base if base.endswith(os.sep) else base + os.sep
    return path[len(prefix) :] if path.startswith(prefix) else None


def _size(path: str) -> int | None:
    """A file's size; None for what is no regular file (a named pipe, a socket, a device),
    which reading would wait on for ever (a FIFO waits for a writer); 0 when it cannot be told
    (reading it says why)."""
    try:
        found = os.stat(path)
    except OSError:
        return 0
    return found.st_size if stat.S_ISREG(found.st_mode) else None


def special_kind(path: str) -> str | None:
    """What a path that exists and is no regular file nor directory is, or None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"
