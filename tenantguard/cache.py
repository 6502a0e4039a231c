"""The check cache, `.tenantguard_cache/` at the project root, as ruff keeps one.

One JSON file per key; the key covers everything a file's findings depend on besides the file:
the project root and configuration file, the settings (command-line overrides included), the
rule selection, the content of every schema source the policy is built from, the installed
sqlglot, sqlglotc and pglast, and tenantguard's own files. With the key come what building the
policy said (the number of tenant tables, warnings, unreadable schema statements), so that a
run served from the cache says it too.

Inside, each checked file has an entry: a hash of its content, its findings (without path), its
statement count and notes. A Python file's findings also depend on other files (imported
constants, wrappers, base classes, the function names the project's files define): each run
that checks Python files stores what its checks read (a "world": files and their content
hashes, import look-ups, function names and the project's files defining them), and its Python
entries are valid only while that world is unchanged. The project's files are the same whatever
the command line names, so a file checked alone and in its tree share their entries. A file
whose entry is valid is not read by sqlglot again; when every file's is, sqlglot is not even
imported.

tenantguard's files enter the key by size and modification time (nanoseconds): an install from
another commit keeps the version number but not the times, and a cache committed to a repository
cannot predict them (it would otherwise be a way to make a leak pass a CI check).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from importlib.machinery import PathFinder
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenantguard._patterns import lazy_pattern
from tenantguard._records import frozen_record
from tenantguard.engine.findings import Finding, Severity
from tenantguard.sources.walk import FileReport, SourceFile, is_python, schema_files

try:  # hashlib's import loads OpenSSL (~2.5 ms of a run's start) for hashes not used here
    from _blake2 import blake2b
except ImportError:  # a Python without CPython's module
    from hashlib import blake2b

if TYPE_CHECKING:
    from tenantguard.config import Settings
    from tenantguard.engine.verdicts import Verdict
    from tenantguard.sources.pyflow import Consulted

__all__ = ["CheckCache", "PolicyFacts", "SchemaCache", "StoredVerdicts", "content_hash"]

FORMAT = 4
SCHEMA_FORMAT = 22  # 22: kept as {key, value}
POLICY_FORMAT = 1
VERDICTS_FORMAT = 1
VERDICTS_LIMIT = 100_000  # statements' verdicts kept in the store (see StoredVerdicts)
_VERDICTS_BATCH = 2_000  # new verdicts held in memory before they are written
_VERDICTS_WAIT = 2.0  # seconds a run waits for another's write to the store
# any `def NAME` (wider than the index's scan: a one-line `class A: def f` counts too)
# (led by the letters they need, not by `\b`: found by searching for them, ~40x faster)
_ANY_DEF = lazy_pattern(rb"def(?<!\wdef)\s+(\w+)")
# the names in the bases of a class statement, as the index keys them (`class:Base`)
_ANY_CLASS = lazy_pattern(rb"class(?<!\wclass)\s+\w+\s*\(([^)]*)\)")
_ANY_WORD = lazy_pattern(rb"\w+")
# a name an alias renames, as the index keys it (`alias:Repo`): `Repo as B`, `B = base.Repo`
_ANY_IMPORT_ALIAS = lazy_pattern(rb"\b(\w+)\s+as\s+\w+")
_ANY_NAME_ALIAS = lazy_pattern(
    rb"^[ \t]*\w+[ \t]*(?::[^=\n]*)?=[ \t]*(?:[A-Za-z_][\w]*\.)*(\w+)[ \t]*$", re.M
)
_KEEP_DAYS = 30  # entries (and key files) unused this long are dropped
# a name the cache writes: a key file, a schema, policy or TOML parse kept by content, and
# the temporary file one is written to (`_write_atomically`: left behind by a killed run)
_KEY_FILE = lazy_pattern(
    r"(?:(?:schema|policy|toml)-)?[0-9a-f]{20}\.json|\.(?:(?:schema|policy|toml)-)?[0-9a-f]{20}\.json\.\d+\.tmp"
)
_PACKAGE = Path(__file__).resolve().parent


def content_hash(data: bytes) -> str:
    return blake2b(data, digest_size=16).hexdigest()


def cache_directory(settings: Settings) -> Path:
    """Where every cache file of these settings lives (key files, verdict store, schema and
    policy): TENANTGUARD_CACHE_DIR moves every project's cache elsewhere (as RUFF_CACHE_DIR
    does), else the project's cache_dir; `~` is the home directory, as in ruff's cache-dir (a
    directory named `~` in the project is one `rm -rf ~` away from the user's home)."""
    elsewhere = os.environ.get("TENANTGUARD_CACHE_DIR")
    if elsewhere:
        return Path(os.path.expanduser(elsewhere))
    return settings.root / os.path.expanduser(settings.cache_dir)


def _digest(text: str) -> str:
    return blake2b(text.encode("utf-8"), digest_size=32).hexdigest()


_TOOL: list[object] = []  # computed once a process: the code it runs is the code it loaded


def _tool_fingerprint() -> list[object]:
    """tenantguard's files (size, mtime) and the installed parser packages' distributions."""
    if not _TOOL:
        _TOOL.extend(_read_tool_fingerprint())
    return _TOOL


def _read_tool_fingerprint() -> list[object]:
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
    """The content of every file the policy is read from, as `read_schema` finds them (Python
    migrations included), and which configured paths are missing."""
    found: list[object] = []
    for relative in settings.schema_paths:
        if not (settings.root / relative).exists():
            found.append((relative, "missing"))
    for file in schema_files(settings.root / p for p in settings.schema_paths):
        try:
            found.append((str(file), content_hash(file.read_bytes())))
        except OSError:
            found.append((str(file), "unreadable"))
    return found


def _basis(settings: Settings) -> str:
    """What every finding depends on besides its file: tenantguard and the parser packages (and
    the Python running them), the settings, the schema sources' content."""
    from tenantguard import __version__

    return json.dumps(
        [
            __version__,
            sys.version,
            _tool_fingerprint(),
            _settings_fingerprint(settings),
            _schema_fingerprint(settings),
        ]
    )


def _stable(value: object) -> str:
    """repr, with sets sorted (a set's order changes with each process's string hashing)."""
    if isinstance(value, set | frozenset):
        return repr(sorted(map(repr, value)))
    return repr(value)


def _settings_fingerprint(settings: Settings) -> list[object]:
    return [
        (f.name, _stable(getattr(settings, f.name)))
        for f in fields(settings)
        if f.name != "cache_dir"
    ]


def _today() -> int:
    return int(time.time() // 86_400)


@frozen_record
class PolicyFacts:
    """What building the policy of a key said besides the policy: a cached run says it again."""

    tenant_tables: int
    warnings: tuple[str, ...] = ()
    # unreadable schema statements: (path, line, column, message, text, read by PostgreSQL's
    # parser but creating a table of unknown columns)
    problems: tuple[tuple[str, int, int, str, str, bool], ...] = ()
    # the policy's tenant tables, as it names them (None: not known): a screen of a text for
    # them needs no policy built
    names: tuple[str, ...] | None = None

    __match_args__ = ("tenant_tables", "warnings", "problems", "names")

    def __init__(
        self,
        tenant_tables: int,
        warnings: tuple[str, ...] = (),
        problems: tuple[tuple[str, int, int, str, str, bool], ...] = (),
        names: tuple[str, ...] | None = None,
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "tenant_tables", tenant_tables)
        set_field(self, "warnings", warnings)
        set_field(self, "problems", problems)
        set_field(self, "names", names)


# an ASCII word of a file, as `\w` reads bytes (the whole-word match of `_files_of`)
_TOKEN = re.compile(rb"\w+")


# a plain class: a dataclass costs a fresh process ~1 M instructions to build at import
class CheckCache:
    """The entries of one key: `lookup` before checking, `store` after, `save` at the end."""

    def __init__(self, file: Path, basis: str = "", settings: Settings | None = None) -> None:
        self.file = file
        # what every verdict depends on besides its statement: the tool, the settings, the schema
        self.basis = basis
        self.settings = settings
        self.entries: dict[str, dict[str, Any]] = {}
        self.worlds: dict[str, dict[str, Any]] = {}
        self.facts: PolicyFacts | None = None  # None: not known for this key, build the policy
        self.changed = False
        self._hashes: dict[str, str] = {}  # path -> content hash, this run
        self._valid_worlds: dict[str, bool] = {}
        self._definitions: dict[str, list[str]] | None = None
        self._words: dict[str, list[str]] = {}
        self._tokens: dict[str, list[str]] | None = None  # word -> the files holding it
        self._changes: dict[str, list[str]] | None = None  # see `_changed`
        self._stored_python: list[str] = []
        self.unsaved: OSError | None = None  # why `save` could not write the cache

    @classmethod
    def open(cls, settings: Settings, options: str, directory: Path | None = None) -> CheckCache:
        """The cache of these settings and options (a text of whatever else shapes findings)."""
        basis = _basis(settings)
        key = json.dumps([FORMAT, basis, options])
        digest = _digest(key)[:20]
        where = directory if directory is not None else cache_directory(settings)
        cache = cls(where / f"{digest}.json", basis=basis, settings=settings)
        try:
            data = json.loads(cache.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cache
        if isinstance(data, dict) and data.get("format") == FORMAT:
            entries, worlds = data.get("files"), data.get("worlds")
            cache.entries = entries if isinstance(entries, dict) else {}
            cache.worlds = worlds if isinstance(worlds, dict) else {}
            cache.facts = _facts(data.get("policy"))
        return cache

    @staticmethod
    def _name(source: SourceFile) -> str:
        return source.relative if source.relative is not None else str(source.path)

    def lookup(
        self, sources: Sequence[SourceFile], project: Callable[[], Sequence[str]] = list
    ) -> tuple[dict[str, FileReport], dict[str, str]]:
        """The cached reports of `sources` (by display path) whose entry is valid, and the
        content hash of each other readable file (to `store` its report). `project`: the
        project's Python files (whose function definitions a lookup by name sees), listed
        when needed."""
        done: dict[str, FileReport] = {}
        digests: dict[str, str] = {}
        for source in sources:
            digest = self._hash(str(source.path))
            if digest is None:
                continue
            entry = self.entries.get(self._name(source))
            report = None
            if entry is not None and entry.get("hash") == digest:
                world = entry.get("world")
                if world is None or self._world_valid(str(world), project):
                    report = _report(entry, source.display)
            if report is None:
                digests[source.display] = digest
                continue
            done[source.display] = report
            if entry is not None and entry.get("seen") != _today():
                entry["seen"] = _today()
                self.changed = True
        return done, digests

    def store(self, source: SourceFile, digest: str, report: FileReport) -> None:
        prefix = f"{report.path}:"
        self.entries[self._name(source)] = {
            "hash": digest,
            "statements": report.statements,
            "schema": report.schema,
            "tenant_statements": report.tenant_statements,
            "findings": [_row(f) for f in report.findings],
            "sent": [_row(f) for f in report.sent],
            # a note names the file as displayed: kept without it, said with today's
            "notes": [[n.startswith(prefix), n.removeprefix(prefix)] for n in report.notes],
            "seen": _today(),
        }
        if is_python(source.path):
            self._stored_python.append(self._name(source))
        self.changed = True

    def save(
        self,
        facts: PolicyFacts | None,
        consulted: Iterable[Consulted | None] = (),
        project: Callable[[], Sequence[str]] = list,
    ) -> None:
        """Writes the entries (atomically), drops stale ones; a cache that cannot be written is
        simply not kept. `consulted`: what this run's Python checks read; `project`: as for
        `lookup`."""
        if facts is not None and facts != self.facts:
            self.facts, self.changed = facts, True
        if self._stored_python:
            world = self._world(consulted, project)
            world_id = _digest(json.dumps(world, sort_keys=True))[:16]
            self.worlds[world_id] = {**world, "seen": _today()}
            for name in self._stored_python:
                self.entries[name]["world"] = world_id
        if not self.changed:
            return
        oldest = _today() - _KEEP_DAYS
        kept = {k: v for k, v in self.entries.items() if int(v.get("seen", 0)) >= oldest}
        used = {str(v.get("world")) for v in kept.values()}
        worlds = {k: v for k, v in self.worlds.items() if k in used}
        directory = self.file.parent
        try:
            _prepare(directory)
            data = {
                "format": FORMAT,
                "policy": None
                if self.facts is None
                else {
                    "tenant_tables": self.facts.tenant_tables,
                    "warnings": list(self.facts.warnings),
                    "problems": [list(p) for p in self.facts.problems],
                    "names": None if self.facts.names is None else list(self.facts.names),
                },
                "worlds": worlds,
                "files": kept,
            }
            _write_atomically(self.file, data)
            self._drop_stale_keys(directory, oldest * 86_400)
        except OSError as error:
            self.unsaved = error  # said once by the run (h35H: it was said nowhere)

    # Python files' dependencies

    def _hash(self, path: str) -> str | None:
        """A file's content, or a directory's listing (one whose files a module lists:
        `SQL_DIR.glob("*.sql")` — a file added there changes the answer)."""
        if path not in self._hashes:
            try:
                if os.path.isdir(path):
                    listing = "\0".join(sorted(os.listdir(path)))
                    self._hashes[path] = content_hash(listing.encode("utf-8", "surrogateescape"))
                else:
                    with open(path, "rb") as handle:
                        self._hashes[path] = content_hash(handle.read())
            except OSError:
                return None
        return self._hashes[path]

    def _defined(self, project: Callable[[], Sequence[str]]) -> dict[str, list[str]]:
        """Function name -> the project's Python files (paths) whose text defines it."""
        if self._definitions is None:
            self._definitions = {}
            for path in sorted(project()):
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                names = {m.decode("ascii", "replace") for m in _ANY_DEF.findall(data)}
                for bases in _ANY_CLASS.findall(data):
                    names.update(
                        "class:" + w.decode("ascii", "replace") for w in _ANY_WORD.findall(bases)
                    )
                for alias in (*_ANY_IMPORT_ALIAS.findall(data), *_ANY_NAME_ALIAS.findall(data)):
                    names.add("alias:" + alias.decode("ascii", "replace"))
                for name in sorted(names):
                    self._definitions.setdefault(name, []).append(path)
        return self._definitions

    def _changed(self, project: Callable[[], Sequence[str]]) -> dict[str, list[str]]:
        """`stored:X` / `mutated:X` -> the project's files that may set the attribute X of
        another object or change a collection X in place, as the index reads them."""
        if self._changes is None:
            from tenantguard.sources.pyflow.changes import _outside_changes, handed_changes

            self._changes = {}
            for path in sorted(project()):
                try:
                    # (read as the index reads it: the same text, read once in the process)
                    with open(path, encoding="utf-8", errors="replace") as handle:
                        text = handle.read()
                except OSError:
                    continue
                for name in sorted(_outside_changes(text)):
                    self._changes.setdefault(name, []).append(path)
            # (a collection handed to a function that changes it: both files, h32g)
            for name, sources in sorted(handed_changes(list(self._changes)).items()):
                made = self._changes.setdefault(name, [])
                for path in [p for source in sources for p in self._changes[source]]:
                    if path not in made:
                        made.append(path)
                made.sort()
        return self._changes

    def _world(
        self, consulted: Iterable[Consulted | None], project: Callable[[], Sequence[str]]
    ) -> dict[str, Any]:
        modules: set[str] = set()
        lookups: set[tuple[str, str, int, str | None]] = set()
        names: set[str] = set()
        for item in consulted:
            if item:
                modules |= item.modules
                lookups |= item.lookups
                names |= item.names
        return {
            "modules": {m: self._hash(m) or "unreadable" for m in sorted(modules)},
            "lookups": sorted([list(k) for k in lookups], key=repr),
            # the files that may define each name, with their content (see `_check_world`)
            "names": {n: self._with_hashes(self._files_of(n, project)) for n in sorted(names)},
        }

    def _files_of(self, name: str, project: Callable[[], Sequence[str]]) -> list[str]:
        """The project's files a name's answer came from: those that define it, or (`word:X`,
        where a class may be made) those whose text holds the word X."""
        kind, _, word = name.partition(":")
        if kind in ("stored", "mutated", "replaced", "class-set"):
            return self._changed(project).get(name, [])
        if kind != "word":
            return self._defined(project).get(name, [])
        if word not in self._words and word.isascii() and word.isidentifier():
            # each file read once for every word asked (h35D: one read of every file per word
            # made a warm run of 300 files with 900 functions 7x slower): the files holding
            # it as a whole word, as the pattern below finds them
            if self._tokens is None:
                self._tokens = {}
                for path in sorted(project()):
                    try:
                        with open(path, "rb") as handle:
                            tokens = set(_TOKEN.findall(handle.read()))
                    except OSError:
                        continue
                    for token in tokens:
                        self._tokens.setdefault(token.decode("ascii"), []).append(path)
            self._words[word] = self._tokens.get(word, [])
        if word not in self._words:
            literal = re.escape(word.encode())  # (`\bX\b`, led by X)
            pattern = re.compile(literal + rb"(?<!\w" + literal + rb")(?!\w)")
            found: list[str] = []
            for path in sorted(project()):
                try:
                    with open(path, "rb") as handle:
                        if pattern.search(handle.read()):
                            found.append(path)
                except OSError:
                    continue
            self._words[word] = found
        return self._words[word]

    def _with_hashes(self, paths: list[str]) -> dict[str, str]:
        return {p: self._hash(p) or "unreadable" for p in paths}

    def _world_valid(self, world_id: str, project: Callable[[], Sequence[str]]) -> bool:
        if world_id not in self._valid_worlds:
            self._valid_worlds[world_id] = self._check_world(self.worlds.get(world_id), project)
        return self._valid_worlds[world_id]

    def _check_world(self, world: object, project: Callable[[], Sequence[str]]) -> bool:
        if not isinstance(world, dict):
            return False
        try:
            for path, digest in world["modules"].items():
                if (self._hash(path) or "unreadable") != digest:
                    return False
            names = world["names"]
            # same files, same contents: the index's narrower scan finds what it found
            if any(
                self._with_hashes(self._files_of(n, project)) != files for n, files in names.items()
            ):
                return False
            lookups = world["lookups"]
            if lookups:
                from tenantguard.sources.pyflow import find_module  # no sqlglot

                for directory, name, level, found in lookups:
                    if find_module(directory, name, int(level)) != found:
                        return False
        except (KeyError, TypeError, ValueError, AttributeError):
            return False
        if world.get("seen") != _today():
            world["seen"] = _today()
            self.changed = True
        return True

    def _drop_stale_keys(self, directory: Path, before: float) -> None:
        """Removes the cache's files of other keys unused since `before` (key files, kept
        schemas, policies and TOML parses, and temporary files of killed runs): files named as
        the cache names them only (the directory may be shared: TENANTGUARD_CACHE_DIR)."""
        for other in directory.iterdir():
            try:
                if (
                    other != self.file
                    and _KEY_FILE.fullmatch(other.name)
                    and other.stat().st_mtime < before
                ):
                    other.unlink()
            except OSError:
                continue


# a plain class: a dataclass costs a fresh process ~1 M instructions to build at import
class _KeptByContent:
    """One JSON value kept in the cache directory under a key that covers everything it was
    computed from; the key is written inside the file too, and checked when it is read."""

    PREFIX = ""

    def __init__(self, file: Path, key: str) -> None:
        self.file = file
        self.key = key

    @staticmethod
    def key_of(settings: Settings) -> str:
        raise NotImplementedError

    @classmethod
    def open(cls, settings: Settings, directory: Path | None = None) -> Any:
        key = cls.key_of(settings)
        where = directory if directory is not None else cache_directory(settings)
        return cls(where / f"{cls.PREFIX}-{key[:20]}.json", key)

    def load(self) -> Any | None:
        """The stored value of this key, or None."""
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("key") != self.key:
            return None
        with contextlib.suppress(OSError):  # still in use: not dropped as stale
            if self.file.stat().st_mtime < time.time() - 86_400:
                os.utime(self.file)
        return data.get("value")

    def store(self, settings: Settings, value: Any) -> None:
        """Kept when what it was computed from is still what the key says (no schema file
        changed while it was read); a cache that cannot be written is simply not kept."""
        if self.key_of(settings) != self.key:
            return
        try:
            _prepare(self.file.parent)
            _write_atomically(self.file, {"key": self.key, "value": value})
        except OSError:
            return


class SchemaCache(_KeptByContent):
    """What the schema sources say (`SchemaInfo` as JSON), kept by the content of every file
    it is read from: a run whose schema files are unchanged neither reads them with pglast
    nor imports it.

    The key also covers tenantguard's files and the parser packages, as the check cache's does
    (a cache committed to a repository cannot predict it).
    """

    PREFIX = "schema"

    @staticmethod
    def key_of(settings: Settings) -> str:
        return _schema_key(settings)


class PolicyCache(_KeptByContent):
    """The policy `build_policy` derives from the settings and the schema sources
    (`Policy.to_json`) and the warnings it gave, kept by the check cache's basis (tenantguard's
    files, the parser packages, every setting, the schema sources' content): a run whose
    schema and configuration are unchanged reads it in a millisecond, where deriving it again
    (views, functions, triggers, to their fixed points) takes tens."""

    PREFIX = "policy"

    @staticmethod
    def key_of(settings: Settings) -> str:
        return _digest(json.dumps(["policy", POLICY_FORMAT, _basis(settings)]))


class StoredVerdicts:
    """The verdict store: each statement's verdict, kept by a hash of its exact text under a key
    that covers everything else a verdict depends on (the check cache's `basis`: tenantguard's
    files, the parser packages, the settings, the content of every schema source; and whether
    the statement is a patch's). A file edited around unchanged statements (a comment, the
    Python code around its SQL, statements moved) gets their verdicts from here: nothing is
    parsed, and sqlglot is not imported. Findings are kept relative to their statement, as the
    engine gives them, and moved into the file as fresh ones are.

    One SQLite database per cache directory (`verdicts.sqlite3`): a lookup reads one row, so a
    small check does not read the whole store, and each save is one transaction (concurrent
    runs, such as pre-commit's parallel hooks, wait for each other a moment, or do not save).
    At most `VERDICTS_LIMIT` verdicts are kept: beyond, the least recently used (to the day),
    then the oldest, go; so does any unused for 30 days. A store that cannot be read (damaged,
    another format, not SQLite) is ignored, and replaced when this run saves. A forked worker
    uses a connection of its own and saves what it analysed itself. (sqlite3 is imported when
    the store is first read: a run served by the check cache never reads it.)
    """

    def __init__(self, file: Path, basis: str, settings: Settings | None = None) -> None:
        self.file = file
        self.basis = basis
        self.settings = settings  # given: saving checks that the basis still holds
        self._keys = {
            in_patch: bytes.fromhex(
                _digest(json.dumps(["verdicts", VERDICTS_FORMAT, basis, in_patch]))
            )
            for in_patch in (False, True)
        }
        self._pid = -1
        self._start()

    @classmethod
    def beside(cls, cache: CheckCache) -> StoredVerdicts:
        """The store of the cache's directory, under the cache's basis."""
        return cls(cache.file.parent / "verdicts.sqlite3", cache.basis, cache.settings)

    def _start(self) -> None:
        """A fresh state: at creation, and in a forked worker (the parent's connection and
        pending rows are not its own)."""
        self._pid = os.getpid()
        self._db: Any = None  # sqlite3.Connection, once opened
        self._state = "closed"  # "open" | "absent" | "busy" | "foreign"
        self._new: dict[tuple[bytes, bytes], str] = {}
        self._used: set[tuple[bytes, bytes]] = set()

    # the engine's VerdictStore

    def findings(self, text: str, in_patch: bool) -> tuple[Finding, ...] | None:
        data = self._lookup(text, in_patch)
        return None if data is None else data[0]

    def findings_touching(
        self, text: str, in_patch: bool
    ) -> tuple[tuple[Finding, ...], bool] | None:
        data = self._lookup(text, in_patch)
        return None if data is None else (data[0], bool(data[2]))

    def verdict(self, text: str, in_patch: bool) -> Verdict | None:
        data = self._lookup(text, in_patch)
        if data is None:
            return None
        from tenantguard.engine.verdicts import PinValue, Verdict

        findings, pins, touches, parsed = data
        return Verdict(findings, tuple(PinValue(*pin) for pin in pins), touches, parsed)

    def put(self, text: str, in_patch: bool, verdict: Verdict) -> None:
        if self._pid != os.getpid():
            self._start()
        if any(f.message.startswith("internal error") for f in verdict.findings):
            return  # a bug's outcome (or memory running out) is not kept: the next run retries
        row = [
            [
                # (code to end_column: a statement's verdict reads from no file)
                [*_row(f)[:9], f.path, None if f.statement == text else f.statement]
                for f in verdict.findings
            ],
            [[p.kind, p.key] for p in verdict.pin_values],
            verdict.touches_tenant_tables,
            verdict.parsed,
        ]
        self._new[self._slot(text, in_patch)] = json.dumps(row, separators=(",", ":"))
        if len(self._new) >= _VERDICTS_BATCH:
            self.save()  # a long run does not hold every new verdict to its end

    def save(self) -> None:
        """Writes the verdicts put since the last save and marks those read as used today; drops
        what is over the limit. A store that cannot be written is simply not kept."""
        if self._pid != os.getpid():
            self._start()
        if not self._new and not self._used:
            return
        import sqlite3

        new, used = self._new, self._used
        self._new, self._used = {}, set()
        if new and self.settings is not None and _basis(self.settings) != self.basis:
            return  # a schema file changed during the run: its verdicts may be of either
        today = _today()
        try:
            db = self._writable()
            if db is None:
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT OR REPLACE INTO verdicts (key, text, verdict, used) VALUES (?, ?, ?, ?)",
                    [(key, digest, row, today) for (key, digest), row in new.items()],
                )
                db.executemany(
                    "UPDATE verdicts SET used = ? WHERE key = ? AND text = ?",
                    [(today, key, digest) for key, digest in used],
                )
                if new:
                    self._trim(db, today)
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError):
            return

    # reading and writing

    def _slot(self, text: str, in_patch: bool) -> tuple[bytes, bytes]:
        # surrogatepass: a Python string may hold lone surrogates; distinct texts stay distinct
        data = text.encode("utf-8", "surrogatepass")
        return self._keys[in_patch], blake2b(data, digest_size=32).digest()

    def _lookup(self, text: str, in_patch: bool) -> _StoredRow | None:
        """The stored verdict of this statement, its pins as (kind, key); None when there is
        none, or none that reads as one."""
        if self._pid != os.getpid():
            self._start()
        slot = self._slot(text, in_patch)
        pending = self._new.get(slot)
        if pending is not None:
            return _stored_row(pending, text)
        import sqlite3

        db = self._readable()
        if db is None:
            return None
        try:
            found = db.execute(
                "SELECT verdict, used FROM verdicts WHERE key = ? AND text = ?", slot
            ).fetchone()
        except sqlite3.OperationalError:
            self._state = "busy"  # locked for longer than we wait: read nothing more
            return None
        except sqlite3.Error:
            self._state = "foreign"  # damaged: replaced when saving
            return None
        data = None if found is None else _stored_row(found[0], text)
        if data is not None and found[1] != _today():
            self._used.add(slot)
        return data

    def _readable(self) -> Any:
        """The connection, opened on first need; None when there is no store to read."""
        if self._state == "closed":
            if self.file.is_file():
                self._db = self._connect(create=False)
            else:
                self._state = "absent"
        return self._db if self._state == "open" else None

    def _connect(self, *, create: bool) -> Any:
        import sqlite3

        try:
            db = sqlite3.connect(self.file, timeout=_VERDICTS_WAIT, isolation_level=None)
        except sqlite3.Error:
            self._state = "busy"
            return None
        try:
            db.execute("PRAGMA synchronous = NORMAL")  # a cache: no sync at each commit
            if create:
                db.execute("PRAGMA journal_mode = WAL")  # readers do not wait for a writer
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS verdicts (key BLOB NOT NULL, text BLOB NOT NULL, "
                    "verdict TEXT NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (key, text))"
                )
                db.execute("CREATE INDEX IF NOT EXISTS verdicts_by_use ON verdicts (used)")
                db.execute(f"PRAGMA user_version = {VERDICTS_FORMAT}")
                db.execute("COMMIT")
            (version,) = db.execute("PRAGMA user_version").fetchone()
            (tables,) = db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'verdicts'"
            ).fetchone()
        except sqlite3.OperationalError:
            db.close()
            self._state = "busy"
            return None
        except sqlite3.Error:
            db.close()
            self._state = "foreign"
            return None
        if version != VERDICTS_FORMAT or tables != 1:
            db.close()
            self._state = "foreign"
            return None
        self._state = "open"
        return db

    def _writable(self) -> Any:
        if self._state == "busy":
            return None
        if self._state == "foreign":
            if self._db is not None:
                self._db.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.file}{suffix}")
        elif self._state == "open":
            return self._db
        _prepare(self.file.parent)
        self._db = self._connect(create=True)
        return self._db

    @staticmethod
    def _trim(db: Any, today: int) -> None:
        db.execute("DELETE FROM verdicts WHERE used < ?", (today - _KEEP_DAYS,))
        (count,) = db.execute("SELECT count(*) FROM verdicts").fetchone()
        if count > VERDICTS_LIMIT:
            db.execute(
                "DELETE FROM verdicts WHERE rowid IN "
                "(SELECT rowid FROM verdicts ORDER BY used, rowid LIMIT ?)",
                (count - VERDICTS_LIMIT,),
            )


# a stored verdict: findings, pin values as (kind, key), touches tenant tables, parsed
_StoredRow = tuple[tuple[Finding, ...], tuple[tuple[str, int | str | None], ...], bool, bool]


def _stored_row(data: str, text: str) -> _StoredRow | None:
    """The verdict a row of the store holds, checked to the last field: one damaged part and
    the whole row is no verdict."""
    try:
        rows, pins, touches, parsed = json.loads(data)
        findings = tuple(_stored_finding(row, text) for row in rows)
        pin_values = tuple((kind, key) for kind, key in pins)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    if not (isinstance(touches, bool) and isinstance(parsed, bool)) or not all(
        isinstance(kind, str) and (key is None or type(key) in (int, str))
        for kind, key in pin_values
    ):
        return None
    return findings, pin_values, touches, parsed


def _stored_finding(row: object, text: str) -> Finding:
    """A finding of the store: the result cache's row with the path, and the statement's text
    only when it is not the statement's own. Every field of its type, or ValueError."""
    if not isinstance(row, list) or len(row) != 11:
        raise ValueError("not a stored finding")
    code, name, severity, message, help_, *place, path, statement = row
    texts = (code, name, message, help_, path)
    if not all(isinstance(t, str) for t in texts) or not all(type(n) is int for n in place):
        raise ValueError("not a stored finding")
    if statement is not None and not isinstance(statement, str):
        raise ValueError("not a stored finding")
    line, column, end_line, end_column = place
    return Finding(
        code,
        name,
        Severity(severity),
        message,
        help_,
        line,
        column,
        end_line,
        end_column,
        path,
        text if statement is None else statement,
    )


def _schema_key(settings: Settings) -> str:
    from tenantguard import __version__

    text = json.dumps(
        [SCHEMA_FORMAT, __version__, _tool_fingerprint(), _schema_fingerprint(settings)]
    )
    return _digest(text)


def _prepare(directory: Path) -> None:
    """The cache directory, created with its .gitignore and cache tag the first time."""
    fresh = not directory.is_dir() or not any(directory.iterdir())  # made for it, or empty
    directory.mkdir(parents=True, exist_ok=True)
    if fresh:
        (directory / ".gitignore").write_text("# created by tenantguard\n*\n")
        (directory / "CACHEDIR.TAG").write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n"
            "# This file is a cache directory tag created by tenantguard.\n"
        )


def _write_atomically(file: Path, data: object) -> None:
    """Written beside, then renamed over: a reader sees the old file or the new one. (The
    process id names the temporary file: `tempfile` costs a few ms to import.)"""
    temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(data, out, separators=(",", ":"))
        os.replace(temporary, file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _facts(data: object) -> PolicyFacts | None:
    if not isinstance(data, dict):
        return None
    try:
        return PolicyFacts(
            int(data["tenant_tables"]),
            tuple(str(w) for w in data["warnings"]),
            tuple(
                (str(p), int(line), int(column), str(message), str(text), bool(parsed))
                for p, line, column, message, text, parsed in data["problems"]
            ),
            None if data.get("names") is None else tuple(str(n) for n in data["names"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _report(entry: dict[str, Any], display: str) -> FileReport | None:
    try:
        findings = tuple(_finding(row, display) for row in entry["findings"])
        notes = tuple(
            f"{display}:{text}" if prefixed else str(text)
            for prefixed, text in entry.get("notes", ())
        )
        tenant = entry.get("tenant_statements")
        return FileReport(
            display,
            findings,
            int(entry["statements"]),
            notes,
            schema=bool(entry.get("schema")),
            tenant_statements=None if tenant is None else int(tenant),
            sent=tuple(_finding(row, display) for row in entry.get("sent", ())),
        )
    except (KeyError, TypeError, ValueError):
        return None


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
        finding.read_from,
        list(finding.filled_from),
    ]


def _finding(row: list[Any], path: str) -> Finding:
    code, name, severity, message, help_, line, column, end_line, end_column, statement = row[:10]
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
        str(row[10]) if len(row) > 10 else "",
        tuple(str(f) for f in row[11]) if len(row) > 11 else (),
    )
