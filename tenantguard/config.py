"""Configuration: `[tool.tenantguard]` of pyproject.toml (or a `tenantguard.toml` of bare keys),
validated, then overridden by flags.

Two steps, as in ruff: the raw table is read and checked key by key into `Settings` (an unknown
key or a wrong type is an error naming the key), then `build_policy` turns settings and the
schema sources into the engine's `Policy`. The configuration of a checked path is the nearest one
from that path upward, then from the working directory upward.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenantguard._patterns import lazy_pattern
from tenantguard.errors import ConfigError
from tenantguard.selection import RuleSelection, parse_selectors

if TYPE_CHECKING:
    from tenantguard.engine.policy import Policy
    from tenantguard.sources.schema.reading import SchemaInfo
    from tenantguard.sources.schema.records import SchemaProblem

# the engine's default too (a test keeps them equal): not imported, the engine loads sqlglot
DEFAULT_TENANT_EXPRESSIONS = ("current_setting('app.tenant_id')",)

__all__ = [
    "Settings",
    "build_policy",
    "find_config",
    "find_pyproject",
    "load_settings",
    "require_tenant_tables",
    "settings_for_paths",
]


@dataclass(frozen=True)
class Settings:
    """Every setting, with its default. Paths are relative to `root`."""

    root: Path = field(default_factory=Path.cwd)
    config_file: Path | None = None
    tenant_column: str = "tenant_id"
    tenant_tables: tuple[str, ...] = ()
    global_tables: tuple[str, ...] = ()
    infer_tenant_tables: bool = True
    schema_paths: tuple[str, ...] = ("patches", "db/init")
    tenant_expressions: tuple[str, ...] = DEFAULT_TENANT_EXPRESSIONS
    allow_multi_tenant: bool = False
    tenant_root: str | None = None  # the tenant registry (`accounts`, or `accounts.id`)
    shared_rows: bool = False  # `tenant_id IS NULL` rows are public reference rows
    # the application sessions' search path: which schema an unqualified name reads (round 35)
    search_path: tuple[str, ...] = ("$user", "public")  # PostgreSQL's default
    include: tuple[str, ...] = ("*.sql", "*.py")
    exclude: tuple[str, ...] = ()
    force_exclude: bool = False
    respect_gitignore: bool = True
    patch_dir: str = "patches"
    baseline: str = "db/init/schema.sql"
    unresolved_severity: str = "warning"
    sql_functions: tuple[str, ...] = ()
    select: tuple[str, ...] = ("ALL",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    cache_dir: str = ".tenantguard_cache"
    configured: frozenset[str] = frozenset()  # the keys the configuration file sets
    flagged: frozenset[str] = frozenset()  # the keys the command line sets (they win)
    isolated: bool = False  # configuration files ignored (--isolated)

    def rule_selection(
        self,
        select: tuple[str, ...] | None = None,
        extend_select: tuple[str, ...] = (),
        ignore: tuple[str, ...] = (),
    ) -> RuleSelection:
        """The configured selection, then the command line's: as in ruff, `--select`
        replaces the configuration's `select`, `extend_select` and `ignore`."""
        if select is not None:
            chosen, dropped = (*select, *extend_select), ignore
        else:
            chosen = (*self.select, *self.extend_select, *extend_select)
            dropped = (*self.ignore, *ignore)
        return RuleSelection(chosen, dropped, dict(self.per_file_ignores))

    def with_overrides(self, **changes: object) -> Settings:
        given = {k: v for k, v in changes.items() if v is not None}
        _check_names(given, "--" + "/--".join(k.replace("_", "-") for k in given if k in _NAMES))
        return replace(self, **given, flagged=self.flagged | frozenset(given))  # type: ignore[arg-type]


_KEYS = {f.name for f in fields(Settings)} - {
    "root",
    "config_file",
    "configured",
    "flagged",
    "isolated",
}
_LIST_KEYS = {
    "tenant_tables",
    "global_tables",
    "schema_paths",
    "tenant_expressions",
    "include",
    "exclude",
    "sql_functions",
    "search_path",
}
_BOOL_KEYS = {
    "infer_tenant_tables",
    "allow_multi_tenant",
    "shared_rows",
    "force_exclude",
    "respect_gitignore",
}
_SELECTOR_KEYS = {"select", "extend_select", "ignore"}
# keys that name SQL objects: a column, tables (schema-qualified or not), the tenant registry
# (`accounts`, `accounts.code`, `crm."Accounts".id`)
_NAMES = {"tenant_column": 1, "tenant_tables": 2, "global_tables": 2, "tenant_root": 3}
_IDENTIFIER = r'(?:"(?:[^"]|"")+"|[^\W\d][\w$]*)'
_SQL_NAMES = {  # compiled when a configuration names such a thing
    parts: lazy_pattern(rf"\s*{_IDENTIFIER}(?:\s*\.\s*{_IDENTIFIER}){{0,{parts - 1}}}\s*")
    for parts in (1, 2, 3)
}


def _check_names(values: Mapping[str, object], source: str) -> None:
    """Names that PostgreSQL could not read as names match nothing: a configuration error, not
    a tenant table (or root) that silently pins nothing."""
    for key, parts in _NAMES.items():
        value = values.get(key)
        if value is None:
            continue
        names: tuple[object, ...] = (value,) if isinstance(value, str) else tuple(value)  # type: ignore[arg-type]
        for name in names:
            if not isinstance(name, str) or not _SQL_NAMES[parts].fullmatch(name):
                what = "a column name" if parts == 1 else "a table name (or schema.table)"
                if key == "tenant_root":
                    what = "a table name, or table.column"
                raise ConfigError(
                    f"{source}: {key}: {name!r} is not {what} as PostgreSQL reads it "
                    "(quote a name with other characters: '\"Odd name\"')"
                )


def _check_expressions(expressions: Sequence[str], source: str) -> None:
    from tenantguard.engine.policy import parse_tenant_expression  # sqlglot: only when given

    for text in expressions:
        try:
            parse_tenant_expression(text)
        except ValueError as error:
            raise ConfigError(f"{source}: tenant_expressions: {error}") from error


_CHOICES = {"unresolved_severity": ("warning", "error")}


_PARSED: dict[str, tuple[str, dict[str, Any]]] = {}  # path -> (its text, its TOML), this process
_TOML_FORMAT = 1


def _toml(path: Path, text: str, cache: bool = False) -> dict[str, Any]:
    """`tomllib.loads(text)`, `text` being the content of `path` (raises its TOMLDecodeError, a
    ValueError). The same text is parsed once a process; with `cache`, the parse is kept in
    the cache directory beside the file (`.tenantguard_cache/`, when it exists, or
    TENANTGUARD_CACHE_DIR), under the file's path, its size, modification time (ns) and inode,
    and a hash of its content: a run that finds it imports no TOML parser (~16 M instructions
    of a one-file check: the import and two parses). A checkout sets the times anew, so a
    kept parse committed to a repository is never used (it would be a way to change the
    configuration a CI check runs with). A kept parse that is unreadable, or of another file
    state, is ignored and written again. The value is shared: callers must not change it."""
    source = os.fspath(path)
    kept = _PARSED.get(source)
    if kept is not None and kept[0] == text:
        return kept[1]
    where = _toml_file(path) if cache else None
    state: list[object] = []
    if where is not None:
        try:
            found = path.stat()  # before the text is compared: an edit since is seen next run
        except OSError:
            where = None
        else:
            state = [source, found.st_size, found.st_mtime_ns, found.st_ino, _hash_of(text)]
    data = _stored_toml(where, state) if where is not None else None
    if data is None:
        import tomllib

        data = tomllib.loads(text)
        if where is not None:
            _store_toml(where, state, data)
    _PARSED[source] = (text, data)
    return data


def _toml_file(path: Path) -> Path | None:
    """Where the parse of `path` is kept: None when there is no cache directory to keep it in
    (none is made for it: a directory above the project is not the project's)."""
    from tenantguard.cache import content_hash

    elsewhere = os.environ.get("TENANTGUARD_CACHE_DIR")
    directory = (
        Path(os.path.expanduser(elsewhere)) if elsewhere else path.parent / ".tenantguard_cache"
    )
    if not directory.is_dir():
        return None
    name = content_hash(os.fspath(path.resolve()).encode("utf-8", "surrogateescape"))[:20]
    return directory / f"toml-{name}.json"


def _hash_of(text: str) -> str:
    from tenantguard.cache import content_hash

    return content_hash(text.encode("utf-8", "surrogateescape"))


def _stored_toml(where: Path, state: list[object]) -> dict[str, Any] | None:
    import json

    try:
        stored = json.loads(where.read_text(encoding="utf-8"))
        if (
            isinstance(stored, dict)
            and stored.get("format") == _TOML_FORMAT
            and stored.get("file") == state
            and isinstance(stored.get("data"), dict)
        ):
            data: dict[str, Any] = stored["data"]
            return data
    except (OSError, ValueError, RecursionError):
        pass
    return None


def _store_toml(where: Path, state: list[object], data: dict[str, Any]) -> None:
    """Kept only when JSON gives it back as TOML gave it (no dates and times)."""
    import contextlib
    import json

    from tenantguard.cache import _prepare, _write_atomically

    try:
        if json.loads(json.dumps(data)) != data:
            return
    except (TypeError, ValueError, RecursionError):  # a date or time: not kept
        return
    with contextlib.suppress(OSError):
        # tagged as any cache file's directory is: the first file written into an empty
        # TENANTGUARD_CACHE_DIR was this one, and the other caches then found the directory
        # not fresh and left it untagged, a directory of files that are not tenantguard's
        _prepare(where.parent)
        _write_atomically(
            where,
            {"format": _TOML_FORMAT, "file": state, "data": data},
        )


def find_config(start: Path, *, cache: bool = False) -> Path | None:
    """The nearest configuration from `start` (a file or directory) upward: in each directory a
    `tenantguard.toml`, else a pyproject.toml with a [tool.tenantguard] table (as ruff prefers
    its own file). `cache`: parses may be kept in the cache directory (see `_toml`)."""
    start = start.resolve()
    if not start.is_dir():
        start = start.parent
    for directory in (start, *start.parents):
        own = directory / "tenantguard.toml"
        if _is_file(own):
            return own
        candidate = directory / "pyproject.toml"
        if _is_file(candidate):
            try:
                text = candidate.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                # not UTF-8, so not TOML: ours (a Latin-1 `description = "café"` above its
                # [tool.tenantguard]) is loaded to say so; passed over, the run was configured
                # by another file above it, or by none, in silence
                if _names_tenantguard(candidate):
                    return candidate
                continue
            except OSError as error:  # it may be ours: passed over, a run is configured wrongly
                raise ConfigError(f"cannot read {candidate}: {error.strerror}") from None
            try:
                data = _toml(candidate, text, cache)
            except ValueError:  # TOMLDecodeError
                # ours, though broken: loading it says where; passed over, a run goes unconfigured
                if "tenantguard" in text:
                    return candidate
                continue
            if isinstance(data.get("tool"), dict) and "tenantguard" in data["tool"]:
                return candidate
    return None


def _names_tenantguard(path: Path) -> bool:
    try:
        return b"tenantguard" in path.read_bytes()
    except OSError:
        return False


def not_toml(source: str, text: str, error: ValueError) -> str:
    """What is wrong with a configuration file that `tomllib` (or its UTF-8 decoding) refused,
    `text` being what was read of it (nothing when it is not UTF-8)."""
    if isinstance(error, UnicodeDecodeError):
        line = error.object[: error.start].count(b"\n") + 1
        return (
            f"{source} is not UTF-8 text (byte 0x{error.object[error.start]:02x} on line "
            f"{line}), and a TOML file must be: save it as UTF-8"
        )
    mark = (
        " (it starts with a byte-order mark, U+FEFF, which TOML does not allow: save it as "
        "UTF-8 without a BOM)"
        if text.startswith("\ufeff")
        else ""
    )
    return f"{source} is not valid TOML: {error}{mark}"


def overridden_pyproject(config_file: Path | None, *, cache: bool = False) -> Path | None:
    """The pyproject.toml beside a `tenantguard.toml` whose [tool.tenantguard] it overrides
    (read in silence, a table someone edits to no effect), or None."""
    if config_file is None or config_file.name != "tenantguard.toml":
        return None
    beside = config_file.parent / "pyproject.toml"
    try:
        data = _toml(beside, beside.read_text(encoding="utf-8"), cache)
    except (OSError, ValueError):  # none, unreadable or broken: not a table in use either way
        return None
    tools = data.get("tool")
    return beside if isinstance(tools, dict) and "tenantguard" in tools else None


def _is_file(path: Path) -> bool:
    """`path.is_file()`, and a configuration error when it cannot be told (a directory that may
    not be searched: a configuration there would be passed over, another one used)."""
    try:
        return path.is_file()
    except OSError as error:
        raise ConfigError(
            f"cannot tell whether {path} exists: {error.strerror}; make its directory "
            "readable, or give the configuration with --config"
        ) from None


def find_pyproject(start: Path) -> Path | None:
    """Kept for callers of the first release: the nearest configuration (see `find_config`)."""
    return find_config(start)


def _validate(raw: Mapping[str, object], source: str) -> dict[str, object]:
    values: dict[str, object] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            table = "[tool.tenantguard]" if source.endswith("pyproject.toml") else "the file"
            import difflib  # only to name the key meant (~2 M instructions of every start)

            close = difflib.get_close_matches(name, _KEYS, n=1)
            meant = f"; did you mean {close[0]!r}?" if close else ""
            if name == "tool" and not source.endswith("pyproject.toml"):
                meant = (
                    "; tenantguard.toml takes the keys at its top level, without a "
                    "[tool.tenantguard] header (that header is for pyproject.toml)"
                )
            raise ConfigError(f"{source}: unknown key {key!r} in {table}{meant} (known: {known})")
        if name in _SELECTOR_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{source}: {key} must be a list of rule codes")
            values[name] = parse_selectors(value, f"{source}: {key}")
        elif name == "per_file_ignores":
            values[name] = _per_file_ignores(value, f"{source}: {key}")
        elif name in _LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{source}: {key} must be a list of strings")
            values[name] = tuple(value)
        elif name in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise ConfigError(f"{source}: {key} must be true or false")
            values[name] = value
        else:
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{source}: {key} must be a non-empty string")
            if name in _CHOICES and value not in _CHOICES[name]:
                raise ConfigError(f"{source}: {key} must be one of {', '.join(_CHOICES[name])}")
            values[name] = value
    _check_names(values, source)
    if "tenant_expressions" in values:
        _check_expressions(values["tenant_expressions"], source)  # type: ignore[arg-type]
    return values


def check_cache_environment() -> None:
    """TENANTGUARD_CACHE_DIR, when set, is held to what `cache_dir` is (`_check_cache_dir`): it
    moves every cache file there, and named a file (no cache kept, and nothing said) or the
    home directory (`~`: six cache files among the user's, and the pruning of stale key files
    run there). A relative one is read from the working directory, as the cache reads it."""
    elsewhere = os.environ.get("TENANTGUARD_CACHE_DIR")
    if elsewhere:
        _check_cache_dir(
            Path.cwd(),
            elsewhere,
            "",
            subject=f"TENANTGUARD_CACHE_DIR={elsewhere!r}",
            remedy="unset it, or set it to a directory for the cache alone (made if missing)",
        )


def _check_cache_dir(
    root: Path,
    cache_dir: str,
    source: str,
    *,
    subject: str = "",
    remedy: str = "name a directory for the cache alone, such as the default '.tenantguard_cache'",
) -> None:
    """A cache directory that exists is tenantguard's (its CACHEDIR.TAG or .gitignore) or empty:
    the cache writes its files there and drops its stale key files, and `cache_dir = "."`
    (the project, or any folder of it) would mix them with the project's files."""
    subject = subject or f"{source}: cache_dir {cache_dir!r}"
    directory = root / os.path.expanduser(cache_dir)  # as the cache reads it (`~`: home)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(
            f"{subject} is {directory}, which is not a directory: no cache could be kept "
            f"there; {remedy}"
        )
    try:
        names = set(os.listdir(directory)) if directory.is_dir() else set()
    except OSError:
        return  # not listable: not written either (a cache that cannot be kept is not kept)
    if not names:
        return
    for mark in ("CACHEDIR.TAG", ".gitignore"):
        if mark in names:
            try:
                with open(directory / mark, encoding="utf-8", errors="replace") as file:
                    if "tenantguard" in file.read(200):
                        return
            except OSError:
                continue
    raise ConfigError(
        f"{subject} is {directory}, a directory that holds files and is not a tenantguard "
        "cache (no CACHEDIR.TAG or .gitignore of tenantguard in it): the cache would put its "
        f"files among them; {remedy}"
    )


def _per_file_ignores(value: object, source: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f'{source} must be a table of globs, e.g. {{"app/admin/**" = ["TG001"]}}')
    entries = []
    for glob, codes in value.items():
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ConfigError(f"{source}: {glob!r} must map to a list of rule codes")
        entries.append((glob, parse_selectors(codes, f"{source} {glob!r}")))
    return tuple(entries)


def load_settings(
    start: Path | None = None,
    *,
    isolated: bool = False,
    config: Path | None = None,
    cache: bool = False,
) -> Settings:
    """Settings from the nearest configuration from `start` upward (or `config`), or defaults
    rooted at `start` when `isolated` or when there is none. `cache`: see `_toml`."""
    start = (start or Path.cwd()).resolve()
    if isolated:
        return Settings(root=start if start.is_dir() else start.parent, isolated=True)
    path = config or find_config(start, cache=cache)
    if path is None:
        return Settings(root=start if start.is_dir() else start.parent)
    source = os.fspath(path)
    text = ""
    try:
        text = path.read_text(encoding="utf-8")
        data = _toml(path, text, cache)
    except OSError as error:
        raise ConfigError(f"cannot read {source}: {error.strerror}") from error
    except ValueError as error:  # UnicodeDecodeError, TOMLDecodeError
        raise ConfigError(not_toml(source, text, error)) from error
    table = data.get("tool", {}).get("tenantguard", {}) if path.name == "pyproject.toml" else data
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.tenantguard] must be a table")
    values = _validate(table, source)
    if "cache_dir" in values:
        _check_cache_dir(path.parent.resolve(), str(values["cache_dir"]), source)
    return Settings(
        root=path.parent.resolve(),
        config_file=path,
        configured=frozenset(values),
        **values,  # type: ignore[arg-type]
    )


def settings_for_paths(
    paths: list[Path],
    *,
    isolated: bool = False,
    config: Path | None = None,
    cache: bool = False,
) -> list[tuple[Settings, list[Path]]]:
    """The settings of each checked path, paths grouped by the configuration they found.

    Each path's configuration is the nearest one from the path upward; a path with none takes the
    working directory's. `config` or `isolated` gives every path the same settings.
    """
    if isolated or config is not None or not paths:
        return [(load_settings(isolated=isolated, config=config, cache=cache), paths)]
    fallback: Path | None = None
    fallback_found = False
    groups: dict[Path | None, list[Path]] = {}
    for path in paths:
        found = find_config(path, cache=cache) if path.exists() else None
        if found is None:
            if not fallback_found:
                fallback, fallback_found = find_config(Path.cwd(), cache=cache), True
            found = fallback
        groups.setdefault(found, []).append(path)
    return [
        (load_settings(config=found, cache=cache) if found else load_settings(cache=cache), members)
        for found, members in groups.items()
    ]


def describe_settings(settings: Settings) -> str:
    """Where settings come from: their file, or why there is none."""
    return _describe(settings)


def _describe(settings: Settings) -> str:
    if settings.config_file is not None:
        return os.fspath(settings.config_file)
    if settings.isolated:
        return "configuration files ignored (--isolated)"
    near = _misspelt_table(settings.root)
    return f"no configuration file found from {settings.root} upward" + (
        f"; {near[0]} has [tool.{near[1]}]: did you mean [tool.tenantguard]?" if near else ""
    )


def _misspelt_table(start: Path) -> tuple[str, str] | None:
    """The nearest pyproject.toml with a [tool] table named almost `tenantguard`
    (`tenant-guard`, `tenant_guard`, `TenantGuard`, `tenantgaurd`…), and that name."""
    import difflib

    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            tools = _toml(candidate, candidate.read_text(encoding="utf-8")).get("tool")
        except (OSError, ValueError):  # UnicodeDecodeError, TOMLDecodeError
            continue
        if not isinstance(tools, dict):
            continue
        for name in tools:
            plain = re.sub(r"[-_.\s]", "", str(name)).lower()
            if (
                plain == "tenantguard"
                or difflib.SequenceMatcher(None, plain, "tenantguard").ratio() >= 0.85
            ):
                return os.fspath(candidate), str(name)
    return None


def _check_search_path(settings: Settings) -> None:
    """The sessions' search path naming pg_catalog after another schema is an error: the proof
    reads `=`, `lower()`, `COLLATE "C"` and the ICU collations initdb imports (`"de-x-icu"`) as
    pg_catalog's, true only while pg_catalog is searched first (h36P: under `public,
    pg_catalog`, public's nondeterministic "de-x-icu" matched 'ACME' for 'acme'). A statement
    setting such a path is TG006 alike (engine/search_path.py)."""
    from tenantguard.engine.policy import normalize_name

    path = [normalize_name(entry) for entry in settings.search_path]
    if "pg_catalog" in path and path[0] != "pg_catalog":
        raise ConfigError(
            f"{_describe(settings)}: search_path {', '.join(settings.search_path)!r} names "
            "pg_catalog after another schema: that schema's operators, functions and "
            "collations would stand for PostgreSQL's own, which the tenant proof reads; leave "
            "pg_catalog out (it is then searched first) or name it first"
        )


def build_policy(
    settings: Settings,
    warnings: list[str] | None = None,
    problems: list[SchemaProblem] | None = None,
    *,
    live_schema: SchemaInfo | None = None,
    cache: bool = False,
) -> Policy:
    """The engine's policy: explicit tenant tables plus those the schema sources show — tables
    with the tenant column, and views and functions that hand out every tenant's rows — with
    what the schema says of columns, constraints, unique keys, foreign keys and the tenant
    registry.

    The schema sources are read whenever they exist, so that an explicit tenant-table list and
    inference give the same verdicts when they name the same tables; `infer_tenant_tables`
    only decides whether tables with the tenant column are added. Statements of the schema
    that cannot be read are appended to `problems`.

    Fails closed: a schema path the configuration names that does not exist is an error (an
    absent default path is skipped). A configured tenant table that no schema source creates,
    while schema sources exist, is appended to `warnings`: a misspelt name protects nothing.

    `live_schema`: the schema as read elsewhere (`tenantguard audit` reads the live catalog);
    the schema paths are then not read. With `cache`, what the schema sources say is kept in
    the cache directory by their content (`SchemaCache`), and the policy built from them by
    that and the settings (`PolicyCache`), and read from there while they are unchanged.
    """
    _check_search_path(settings)
    explicit = "schema_paths" in settings.configured and live_schema is None
    named = [("schema_paths", p) for p in (settings.schema_paths if explicit else ())]
    if "patch_dir" in settings.configured:
        named.append(("patch_dir", settings.patch_dir))
    for key, path in named:
        if key == "schema_paths" and not (settings.root / path).exists():
            raise ConfigError(
                f"{_describe(settings)}: schema path {path!r} does not exist (relative to "
                f"{settings.root}); fix schema_paths or create it"
            )
        real, root = os.path.realpath(settings.root / path), os.path.realpath(settings.root)
        if real == root or root.startswith(real.rstrip(os.sep) + os.sep):
            # every .sql file would be a patch, none checked as the application's SQL
            raise ConfigError(
                f"{_describe(settings)}: {key}: schema path {path!r} is the whole project "
                f"({settings.root}): every file in it would be read as schema, none checked "
                "as application SQL; name the folders or files that hold the schema "
                '(schema_paths = ["db/migrations"], patch_dir = "patches")'
            )
    if not (cache and live_schema is None and settings.schema_paths and settings.config_file):
        return _build_policy(settings, warnings, problems, live_schema=live_schema, cache=cache)
    # kept by everything it is built from; not with no configuration file (a warning then
    # names a near miss found on disk, outside the key), nor a schema with unreadable statements
    from tenantguard.cache import PolicyCache
    from tenantguard.engine.policy import Policy

    stored = PolicyCache.open(settings)
    kept = stored.load()
    if isinstance(kept, dict) and isinstance(kept.get("warnings"), list):
        try:
            policy = Policy.from_json(kept["policy"])
        except (KeyError, TypeError, ValueError):
            pass  # damaged: built again, and rewritten
        else:
            if warnings is not None:
                warnings.extend(map(str, kept["warnings"]))
            return policy
    said: list[str] = []
    unread: list[SchemaProblem] = []
    policy = _build_policy(settings, said, unread, live_schema=None, cache=True)
    if warnings is not None:
        warnings.extend(said)
    if problems is not None:
        problems.extend(unread)
    if not unread:
        stored.store(settings, {"policy": policy.to_json(), "warnings": said})
    return policy


def _build_policy(
    settings: Settings,
    warnings: list[str] | None,
    problems: list[SchemaProblem] | None,
    *,
    live_schema: SchemaInfo | None,
    cache: bool,
) -> Policy:
    # sqlglot and pglast: only when a file must be analysed
    from tenantguard.engine.policy import (
        CHEAP_FUNCTION,
        Policy,
        names_in_text,
        normalize_name,
        sql_name,
        table_name,
    )
    from tenantguard.sources.schema.checks import (
        filled_tables,
        hidden_writes,
        implicit_calls,
        leaky_defaults,
        leaky_generated,
        through_views,
        view_facts,
    )

    tables = set(settings.tenant_tables)
    column = Policy(settings.tenant_column).tenant_column if settings.tenant_column else ""
    schema: SchemaInfo | None = live_schema
    try:
        if schema is None and settings.schema_paths:
            schema = _read_schema(settings, cache)
            if problems is not None:
                problems.extend(schema.problems)
            if warnings is not None and "schema_paths" in settings.configured:
                warnings.extend(_empty_schema_paths(settings))
            if warnings is not None:
                warnings.extend(_django_model_migrations(settings))
            if warnings is not None and schema.files:
                created = set(schema.columns) | set(schema.views) | set(schema.functions)
                for name in sorted(table_name(t) for t in settings.tenant_tables):
                    if name not in created:
                        warnings.append(
                            _not_created("tenant table", name, settings, "tenant_tables", created)
                        )
                    elif (
                        column and name in schema.columns and name not in schema.tables_with(column)
                    ):  # (round 27: a bot's `tags` keyed by location_id, named here)
                        spelt = [
                            c
                            for c in schema.columns[name]
                            if c != column and c.lower() == column.lower()
                        ]
                        warnings.append(
                            f"tenant table {name!r} ({_given(settings, 'tenant_tables')}) has "
                            "no column "
                            f"{column} in the schema sources"
                            f"{_spelling_hint(spelt) if spelt else ''}: no condition can pin "
                            "it, so every statement on it is a finding (check tenant_column; a "
                            "table keyed by another column cannot be proven)"
                        )
                # a NOT NULL tenant column: every row is some tenant's, none is shared
                holders = (
                    {t for t in schema.tables_with(column) if "not_null" in
                     schema.traits.get(t, {}).get(column, ())}
                    if column
                    else set()
                )  # fmt: skip
                for name in sorted(table_name(t) for t in settings.global_tables):
                    if name not in created:
                        warnings.append(
                            _not_created("global table", name, settings, "global_tables", created)
                        )
                    elif name in holders:
                        warnings.append(
                            f"global table {name!r} ({_given(settings, 'global_tables')}) has "
                            "the tenant "
                            f"column {column}, NOT NULL, in the schema sources: each of its rows "
                            "is a tenant's, yet no statement on it is checked; remove it from "
                            "global_tables"
                        )
                if settings.tenant_root is not None:
                    named = normalize_name(settings.tenant_root.rsplit(".", 1)[0])
                    if named not in created:
                        warnings.append(
                            f"tenant root {named!r} ({_describe(settings)}) is not created by "
                            f"any schema source ({', '.join(settings.schema_paths)}): check its "
                            "spelling; nothing is pinned through it"
                        )
        if schema is not None and settings.infer_tenant_tables:  # exact names: quote them
            tables |= {sql_name(t) for t in schema.tables_with(column)}
        root, root_key = settings.tenant_root, "id"
        if root is None and schema is not None:
            inferred = schema.tenant_root(column)
            if inferred is not None:
                root, root_key = sql_name(inferred[0]), sql_name(inferred[1])
        elif root is not None and "." in root:
            root, root_key = root.rsplit(".", 1)
        if schema is not None:  # a parent the tenant tables inherit from returns their rows
            tables |= {sql_name(t) for t in _inherited(schema, column, tables)}
            tables |= {sql_name(t) for t in _held(schema, column, tables)}
            tables |= {sql_name(t) for t in _renamed(schema, column, tables)}
        if warnings is not None and schema is not None and root is not None:
            warnings.extend(_registry_references(schema, column, root, tables, settings))
        if root is not None and normalize_name(root_key) == column:
            # a registry keyed by the tenant column itself (`servers(server_id)`) is a tenant
            # table like the others: that column pins it and chains to it
            tables.add(root)
            root = None
        policy = Policy(
            settings.tenant_column,
            tables,
            global_tables=_global_tables(settings, schema, column, warnings),
            tenant_expressions=settings.tenant_expressions,
            allow_multi_tenant=settings.allow_multi_tenant,
            table_columns=_quoted(schema.columns) if schema else None,
            constraint_columns=_quoted(schema.constraints) if schema else None,
            tenant_root=root,
            tenant_root_key=root_key,
            shared_rows=settings.shared_rows,
            foreign_keys=schema.sound_foreign_keys() if schema else None,
            checked_foreign_keys=schema.checked_foreign_keys() if schema else None,
            unique_keys=schema.unique_keys if schema else None,
            spanning_keys=_spanning_keys(schema, column, tables) if schema else None,
            cascades=(
                schema.cascades(
                    {table_name(t) for t in tables},
                    column,
                    root=(table_name(root), normalize_name(root_key)) if root else None,
                )
                if schema
                else None
            ),
            functions=_quoted_names(schema.functions) if schema else (),
            tenant_defaults=_tenant_defaults(schema, column, settings) if schema else None,
            setting_functions=_setting_functions(schema, settings) if schema else (),
            integer_tenant_tables=_integer_tables(schema, column) if schema else (),
            not_null_tenant_tables=_with_trait(schema, column, "not_null") if schema else (),
            row_changers=_quoted_names(schema.row_changers) if schema else (),
            tenant_sources=(
                {
                    sql_name(t): {sql_name(c) for c in g[column]}
                    for t, g in schema.generated.items()
                    if column in g
                }
                if schema
                else None
            ),
            tenant_copies=_tenant_copies(schema, column) if schema else None,
            unpinnable=(
                {
                    **_lossy_tenant_types(schema, column),
                    **_loose_tables(schema, column, tables),
                    **_inherited(schema, column, tables),
                    **_held(schema, column, tables),
                    **_renamed(schema, column, tables),
                }
                if schema
                else None
            ),
            lossy_columns=_quoted_names(schema.lossy_columns) if schema else (),
            exact_domains=(
                {
                    sql_name(n): (sql_name(where), sql_name(base))
                    for n, (where, base) in schema.exact_domains.items()
                }
                if schema
                else None
            ),
            exact_functions=_quoted_names(schema.exact_functions) if schema else (),
            stable_functions=_quoted_names(schema.stable_functions) if schema else (),
            volatile_views=_quoted_names(schema.volatile_views) if schema else (),
            collated_tables=_collated_tables(schema, column, tables) if schema else (),
            renaming_views=_quoted_names(schema.renaming_views(column)) if schema else (),
            loose_arbiters=(
                _quoted_names(t for t, c in schema.loose_keys.items() if column in c)
                if schema
                else ()
            ),
            volatile_operators=schema.volatile_operators if schema else (),
            tenant_column_types=_column_types(schema, column) if schema else None,
            tenant_places=_tenant_places(schema, column) if schema else None,
            homed_tenant_places=_homed_tenant_places(schema, column) if schema else None,
            tenant_column_lengths=_tenant_lengths(schema, column) if schema else None,
            global_homes=_global_homes(schema, column) if schema else None,
            relation_homes=(
                {sql_name(n): h for n, h in schema.relation_schemas.items()}
                if schema and not schema.names_unsure  # SQL text unseen, a path set unseen
                else None
            ),
            search_path=settings.search_path,
            nontext_columns=_nontext_columns(schema) if schema else None,
            typed_columns=_typed_columns(schema) if schema else None,
            inlined_functions=(
                {
                    sql_name(n): CHEAP_FUNCTION if f.cheap else ";\n".join(f.body)
                    for n, f in schema.functions.items()
                    if f.cheap or (f.inlined and f.body)
                }
                if schema
                else None
            ),
            lossy_arguments=(
                {sql_name(f): p for f, p in schema.lossy_arguments.items()} if schema else None
            ),
        )
    except ValueError as error:
        raise ConfigError(str(error)) from error
    by_setting: dict[str, str] = {}  # views and functions pinned inside by the tenant setting
    if schema is not None and (schema.views or schema.functions):
        policy, by_setting = _relations(schema, policy)
    if schema is not None and schema.views:
        # writes through views over tenant tables that are no tenant relation themselves
        # (pinned inside by the setting): judged as writes of the table (round 22)
        through: dict[str, tuple[str, ...]] = {}
        for view, (base, shown) in schema.write_views(column).items():
            if policy.is_tenant_table(table_name(sql_name(view))) and shown == (column,):
                continue  # a tenant relation showing the column as itself: judged as its own
            if base is None or shown is None:  # columns unread: reaches a tenant table?
                if names_in_text(schema.views[view].query, policy.tenant_tables):
                    through[view] = ("?",)
            elif policy.is_tenant_table(table_name(sql_name(base))):
                through[view] = shown
        if through:
            policy = policy.replace(
                write_views={
                    sql_name(v): tuple(c if c == "?" else sql_name(c) for c in names)
                    for v, names in through.items()
                }
            )
    if schema is not None and schema.filled:
        # a table a query filled once (CREATE TABLE … AS): its rows are that query's
        copied = filled_tables(schema, policy, by_setting)
        if copied:
            policy = policy.replace(
                tenant_tables=_quoted_names(policy.tenant_tables | copied.keys()),
                unpinnable={**policy.unpinnable, **copied},
            )
    implicit: dict[str, dict[str, str]] = {}
    if schema is not None and (
        schema.implicit_calls or schema.domain_calls or schema.aggregate_calls
    ):
        # functions the server calls unnamed (constraints, indexes, domains, aggregates); the
        # views and functions read again under them (a body that casts to such a domain,
        # writes such a table or calls such an aggregate), to a fixed point
        seen: object = None
        for _ in range(len(schema.functions) + 2):
            implicit, types, aggregates = implicit_calls(schema, policy)
            if (implicit, types, aggregates) == seen:
                break
            seen = (implicit, types, aggregates)
            policy = policy.replace(
                hidden_writes=implicit,
                leaky_types=types,
                tenant_tables=_quoted_names(policy.tenant_tables | aggregates.keys()),
                unpinnable={**policy.unpinnable, **aggregates},
            )
            if schema.views or schema.functions:
                policy, by_setting = _relations(schema, policy)
    if schema is not None and (schema.triggers or schema.write_rules):
        # what writes run beside themselves, read once the tenant relations are known; then
        # the views and functions read again under them (a function whose body writes a table
        # whose trigger or rule writes every tenant's rows hands them out: helper 109), to a
        # fixed point
        seen = None
        for _ in range(len(schema.functions) + 2):
            beside = hidden_writes(schema, policy, implicit)
            if beside and schema.children:
                # a write of a table is a write of its partitions and children: their
                # triggers run
                beside = _inherited_writes(schema, beside)
            if beside and schema.views:
                # a write of a view is a write of the table under it: what that runs, the
                # view runs
                beside = through_views(schema, beside)
            if beside == seen:
                break
            seen = beside
            policy = policy.replace(hidden_writes=beside)
            if not beside or not (schema.views or schema.functions):
                break
            policy, by_setting = _relations(schema, policy)
    elif schema is not None and policy.hidden_writes and schema.children:
        policy = policy.replace(hidden_writes=_inherited_writes(schema, policy.hidden_writes))
    if schema is not None and (schema.views or schema.functions) and policy.tenant_expressions:
        pinned, indices = _setting_pinned(schema, policy)
        if pinned:
            policy = policy.replace(
                setting_pinned=_quoted_names(pinned),
                setting_indices={sql_name(n): i for n, i in indices.items()},
            )
    if schema is not None and (schema.views or schema.functions):
        failing, tested, chained = view_facts(schema, policy)
        if failing:
            policy = policy.replace(failing_views={sql_name(v): c for v, c in failing.items()})
        if tested:
            policy = policy.replace(
                failing_columns={sql_name(v): {sql_name(c) for c in cs} for v, cs in tested.items()}
            )
        if chained:
            policy = policy.replace(
                chained_columns={
                    sql_name(v): {sql_name(c) for c in cs} for v, cs in chained.items()
                }
            )
    if schema is not None and schema.defaults:
        leaky = leaky_defaults(schema, policy)
        if leaky:
            policy = policy.replace(leaky_defaults=leaky)
    if schema is not None and schema.generated_calls:
        # a stored generated column computed from every tenant's rows: in each row for good
        tainted, computed = leaky_generated(schema, policy)
        if tainted:
            merged = {t: dict(c) for t, c in policy.leaky_defaults.items()}
            for table, columns in computed.items():  # an INSERT computes it: as a default
                merged.setdefault(table, {}).update(columns)
            policy = policy.replace(
                tenant_tables=_quoted_names(policy.tenant_tables | tainted.keys()),
                unpinnable={**policy.unpinnable, **tainted},
                leaky_defaults=merged,
            )
    if schema is not None and (policy.hidden_writes or policy.leaky_defaults):
        # a cascade into a table whose triggers, rules or CHECKs write unpinned, or whose
        # generated columns an UPDATE computes from every tenant's rows
        unclean = {t: dict(k) for t, k in policy.hidden_writes.items()}
        for table in policy.leaky_defaults:
            unclean.setdefault(table, {}).setdefault("UPDATE", "a generated column")
        found = {table_name(t) for t in tables}
        registry = (
            (table_name(policy.tenant_root), normalize_name(policy.tenant_root_key))
            if policy.tenant_root
            else None
        )
        policy = policy.replace(cascades=schema.cascades(found, column, unclean, registry))
    if schema is not None and schema.views and (policy.hidden_writes or policy.leaky_defaults):
        # a write of a view is a write of the table under it: what that runs, the view runs
        # (the triggers' and rules' writes were so read above; the implicit calls' are here)
        policy = policy.replace(
            hidden_writes=through_views(schema, policy.hidden_writes),
            leaky_defaults={
                sql_name(t): {sql_name(c): why for c, why in columns.items()}
                for t, columns in through_views(schema, policy.leaky_defaults).items()
            },
        )
    return policy


def _relations(schema: SchemaInfo, policy: Policy) -> tuple[Policy, dict[str, str]]:
    """`policy` with the schema's views and functions sorted (`tenant_relations`), and those
    pinned inside by the tenant setting (`Relations.by_setting`)."""
    from tenantguard.sources.schema.relations import tenant_relations

    found = tenant_relations(
        schema.views,
        schema.functions,
        policy,
        schema.materialized,
        schema.stale_views,
        copies=bool(schema.materialized or schema.filled or schema.stale_views),
        operators=schema.operators,
    )
    return policy.replace(
        tenant_tables=_quoted_names(policy.tenant_tables | found.tenant.keys()),
        table_columns=_quoted(
            {
                **policy.table_columns,
                **{view: names for view, names in found.tenant.items() if names is not None},
            }
        ),
        unpinnable={**policy.unpinnable, **found.unpinnable},
        pinning_functions=found.pinned_by_arguments,
        view_tenant_names=found.tenant_names(),
        leaky_operators=found.operators,
    ), found.by_setting


def _setting_pinned(schema: SchemaInfo, policy: Policy) -> tuple[set[str], dict[str, int]]:
    """The views and functions of the schema that read tenant rows pinned only by the tenant
    setting: every query of theirs is proven as it is, and is not without the tenant
    expressions. A read of one pins a statement to the tenant expression (TG012). With it, of
    several tenant expressions, the one (by index) that pins each whose queries pin that one
    and nothing else (h33h: else a read of it is pinned to an unknown one)."""
    from tenantguard.engine.analyze import analyze_statement, parse_statement
    from tenantguard.engine.findings import Severity
    from tenantguard.engine.policy import sql_name, table_name
    from tenantguard.engine.proof import build_proof
    from tenantguard.engine.proof.model import PinValue

    unset = policy.replace(tenant_expressions=())

    def proven(text: str, under: Policy) -> bool:
        findings = analyze_statement(text, under).findings
        return not any(f.severity is Severity.ERROR for f in findings)

    def pin_values(text: str, under: Policy) -> set[PinValue] | None:
        tree = parse_statement(text)[0]
        if tree is None:
            return None
        proof, analysis = build_proof(tree, under)
        try:
            return {value for value, _ in proof.pins}
        finally:
            analysis.release()

    def pins_expression(text: str, under: Policy) -> bool:
        return any(value.kind == "expression" for value in pin_values(text, under) or ())

    several = len(policy.tenant_expressions) > 1
    indices: dict[str, int] = {}

    def one_expression(name: str, queries: list[str], under: Policy) -> None:
        """Notes the one tenant expression every query of `name` pins, if there is one."""
        found: set[PinValue] = set()
        for query in queries:
            values = pin_values(query, under)
            if not values:
                return  # no pin of its own read (or unreadable): not known
            found |= values
        if len(found) == 1:
            (value,) = found
            if value.kind == "expression" and isinstance(value.key, int):
                indices[name] = value.key

    found: set[str] = set()
    candidates = [(n, [v.query]) for n, v in schema.views.items()]
    candidates += [(n, list(f.body)) for n, f in schema.functions.items() if not f.opaque]
    candidates = [
        (name, queries)
        for name, queries in candidates
        if queries and not policy.is_tenant_table(table_name(sql_name(name)))
    ]
    for name, queries in candidates:
        if all(proven(q, policy) for q in queries) and not all(proven(q, unset) for q in queries):
            found.add(name)
            if several:
                one_expression(name, queries, policy)
    # a view of one, a function calling one (`SELECT email FROM my_users`): pinned inside by
    # the setting too, though proven without it (the inner one is no tenant relation)
    fresh = set(found)
    while fresh:
        under = policy.replace(
            setting_pinned=_quoted_names(found),
            setting_indices={sql_name(n): i for n, i in indices.items()},
        )
        names = [n.lower() for n in fresh]
        fresh = set()
        for name, queries in candidates:
            if name in found or not any(n in q.lower() for q in queries for n in names):
                continue
            if all(proven(q, under) for q in queries) and any(
                pins_expression(q, under) for q in queries
            ):
                fresh.add(name)
                if several:
                    one_expression(name, queries, under)
        found |= fresh
    return found, indices


def _registry_references(
    schema: SchemaInfo, column: str, root: str, tables: set[str], settings: Settings
) -> list[str]:
    """Tables that reference the tenant registry by a column of another name and have no
    tenant column (`invoices.organization_id REFERENCES organizations`, after a rename of
    `org_id`): per-tenant rows, likely, that nothing checks — unless named a global table."""
    from tenantguard.engine.policy import normalize_name, sql_name, table_name

    registry = normalize_name(root) if root.startswith('"') else root
    known = {table_name(t) for t in settings.global_tables} | {table_name(t) for t in tables}
    out = []
    for table, keys in sorted(schema.foreign_keys.items()):
        if table == registry or column in schema.columns.get(table, ()) or table in known:
            continue
        via = sorted(k.columns[0] for k in keys if k.ref_table == registry and len(k.columns) == 1)
        if via:
            out.append(
                f"table {sql_name(table)!r} references the tenant registry {sql_name(registry)!r} "
                f"through {', '.join(via)} but has no {column} column: it is not checked as a "
                f"tenant table. If its rows belong to one tenant, name its column {column} "
                "(a renamed tenant column takes the table out of every check); if it is "
                "shared by all tenants, add it to global_tables"
            )
    return out


def _collated_tables(schema: SchemaInfo, column: str, tables: set[str]) -> set[str]:
    """Of the tables whose tenant column compares loosely (`_loose_tables`), those whose column
    the schema shows to be text or varchar (no domain, no citext): loose by a nondeterministic
    collation only, which an explicit `COLLATE "C"` overrides."""
    loose = _loose_tables(schema, column, tables)
    return _quoted_names(
        t
        for t in loose
        if {k for k in schema.traits.get(t, {}).get(column, ()) if k.startswith("type:")}
        in ({"type:text"}, {"type:varchar"})
    )


def _with_trait(schema: SchemaInfo, column: str, trait: str) -> set[str]:
    """The tables whose tenant column the schema shows to be sure of a trait (integer type,
    NOT NULL)."""
    return _quoted_names(
        t for t, traits in schema.traits.items() if trait in traits.get(column, ())
    )


def _integer_tables(schema: SchemaInfo, column: str) -> set[str]:
    """The tables whose tenant column is sure to be of an integer type: declared so (trait
    "integer"), or of a domain over one that `_column_types` is sure of (h36B2: staff's
    `clinic_id app.clinic_ref`, a domain over integer with a CHECK: `clinic_id::integer = $1`
    is the column's value, a cast from a domain to its base neither fails nor rounds)."""
    from tenantguard.engine.policy import sql_name

    found = _with_trait(schema, column, "integer")
    bases = {sql_name(n): sql_name(base) for n, (_, base) in schema.exact_domains.items()}
    for table, kind in _column_types(schema, column).items():
        if kind.startswith("domain:") and bases.get(kind[len("domain:") :]) in _INTEGERS:
            found.add(table)
    return found


_INTEGERS = frozenset({"int2", "int4", "int8"})


def _column_types(schema: SchemaInfo, column: str) -> dict[str, str]:
    """Each table's `column` type where the schema is sure of it: one `type:` trait, of a
    built-in type or of a domain defined once, never renamed, moved or dropped (a domain's name
    may mean two types: one per schema, or before and after a rename). Such a domain that is
    not exact (over char(n), a float, a nondeterministic collation) is kept too, as the catalog
    shows it: a type no other compares exactly with (h32i: left out, it was a type not known,
    and `text = d_char` chained a pin)."""
    from tenantguard.engine.policy import sql_name

    found: dict[str, str] = {}
    for table, traits in schema.traits.items():
        types = [t[len("type:") :] for t in traits.get(column, ()) if t.startswith("type:")]
        if len(types) != 1 or types[0] == "?":
            continue
        domain = types[0][7:].rstrip("[]") if types[0].startswith("domain:") else None
        if domain is not None and not (
            domain in schema.exact_domains or domain in schema.one_domains
        ):
            continue
        found[sql_name(table)] = types[0]
    return found


def _global_homes(schema: SchemaInfo, column: str) -> dict[str, set[str]]:
    """Each name's schemas whose table of that name the reader is sure has no `column` (a
    plain table named by no DDL since: `SchemaInfo.plain_tables`), where another schema's
    relation of the name may have it; nothing once a statement may run SQL text unseen."""
    from tenantguard.engine.policy import sql_name

    if schema.names_unsure:
        return {}
    found: dict[str, set[str]] = {}
    for name, homes in schema.plain_tables.items():
        held = schema.relation_schemas.get(name, set())
        sure = {h for h, columns in homes.items() if column not in columns and h in held}
        if sure and len(held) > 1:
            found[sql_name(name)] = sure
    return found


def _tenant_lengths(schema: SchemaInfo, column: str) -> dict[str, int]:
    """Each table's tenant column's declared length where the schema is sure it is one
    `varchar(n)` (one type, one length: h36B): a cast of it to varchar(m), m >= n, cuts none."""
    from tenantguard.engine.policy import sql_name

    found: dict[str, int] = {}
    for table, traits in schema.traits.items():
        kept = traits.get(column, ())
        types = [t for t in kept if t.startswith("type:")]
        lengths = [t[len("length:") :] for t in kept if t.startswith("length:")]
        if types == ["type:varchar"] and len(lengths) == 1 and lengths[0].isdigit():
            found[sql_name(table)] = int(lengths[0])
    return found


def _tenant_places(schema: SchemaInfo, column: str) -> dict[str, int]:
    """Each table's tenant column's place among its columns, where the reader is sure of their
    order (it forgets it at any doubt: a dropped column, a typed table, CREATE TABLE AS) and the
    name is one table's (in one schema)."""
    from tenantguard.engine.policy import sql_name

    if schema.names_unsure:
        return {}  # SQL text run out of sight may have changed any order (h36B2)
    return {
        sql_name(table): names.index(column)
        for table, names in schema.order.items()
        if column in names
        and names.count(column) == 1
        and len(schema.relation_schemas.get(table, ())) <= 1
        and table not in schema.views
    }


def _homed_tenant_places(schema: SchemaInfo, column: str) -> dict[str, dict[str, int]]:
    """For a name held in several schemas, each schema's tenant column place among its
    table's columns where the reader is sure of them (`SchemaInfo.plain_tables`: a plain
    CREATE TABLE named by no DDL since; nothing once a statement may run SQL text unseen)."""
    from tenantguard.engine.policy import sql_name

    if schema.names_unsure:
        return {}
    found: dict[str, dict[str, int]] = {}
    for name, homes in schema.plain_tables.items():
        held = schema.relation_schemas.get(name, set())
        if len(held) <= 1 or name in schema.views:
            continue
        places = {
            home: columns.index(column)
            for home, columns in homes.items()
            if home in held and columns.count(column) == 1
        }
        if places:
            found[sql_name(name)] = places
    return found


# built-in types whose text form a cast from reads (`text::int` quotes the text it fails on)
_TEXT_LIKE = frozenset({"text", "varchar", "bpchar", "char", "name", "unknown", "json", "xml"})


def _nontext_columns(schema: SchemaInfo) -> dict[str, set[str]]:
    """Each table's columns of one built-in type, sure, that is neither text-like nor an array
    (a cast of one fails quoting no row's text: `created_at::date`)."""
    found: dict[str, set[str]] = {}
    for table, columns in _typed_columns(schema).items():
        kept = {column for column, kind in columns.items() if kind not in _TEXT_LIKE}
        if kept:
            found[table] = kept
    return found


def _spanning_keys(
    schema: SchemaInfo, column: str, tables: set[str]
) -> dict[str, list[frozenset[str]]]:
    """The keys of tenant tables a write is checked by across every tenant's rows (TG013,
    `Policy.spanning_keys`, as the runtime guard reads them in the catalog): unique keys but
    the primary key, exclusion constraints, without the tenant column — with the columns a
    generated column among them is computed from (a write of those gives it its value)."""
    from tenantguard.engine.policy import table_name
    from tenantguard.engine.spanning_keys import through_views
    from tenantguard.sources.schema.nodes import KEY_ONLY as _KEY_ONLY

    tenant = {table_name(t) for t in tables}
    found: dict[str, list[frozenset[str]]] = {}
    for table in tenant:
        # a write of a table is one of its partitions and children too (an INSERT routed into
        # a partition, an UPDATE without ONLY reaching a child): their keys check it as well
        for holder in (table, *sorted(schema.descendants(table))):
            computed = schema.generated.get(holder, {})
            loosely = schema.loosely_keyed.get(holder, {})
            keys = dict(schema.spanning.get(holder, {}))
            # a tenant column that compares loosely (citext, a nondeterministic collation) tells
            # no tenants apart ('acme' = 'ACME'): a key holding it, the primary key too, is
            # checked across the tenants it merges (h35A)
            loose = column in schema.loose.get(holder, ())
            if loose:
                primary = schema.primary_keys.get(holder, f"{holder}_pkey")
                keys[primary] = frozenset(schema.constraints.get(primary, ()))
            for name, key in keys.items():
                full = set(key)
                merged = loose or column in loosely.get(name.removesuffix(_KEY_ONLY), ())
                if merged:
                    full.discard(column)  # `lower(org_id)`: not a key per tenant (h32i)
                    if not full and column in key:
                        full = {column}  # the tenant column alone: a write of it is checked
                for generated in key:
                    full |= computed.get(generated, set())
                spans = full and (merged or column not in full)
                if spans and frozenset(full) not in found.get(table, []):
                    found.setdefault(table, []).append(frozenset(full))
    # a write through a view (one table in its FROM) is one of its base table
    views = {name: (view.query, view.columns) for name, view in schema.views.items()}
    return through_views(found, views) if views else found


def _typed_columns(schema: SchemaInfo) -> dict[str, dict[str, str]]:
    """Each table's columns of one built-in type, sure, no array: column -> the type's name."""
    from tenantguard.engine.policy import sql_name

    found: dict[str, dict[str, str]] = {}
    for table, traits in schema.traits.items():
        for column, kept in traits.items():
            types = [t[len("type:") :] for t in kept if t.startswith("type:")]
            if len(types) != 1:
                continue
            kind = types[0]
            if kind == "?" or kind.startswith("domain:") or kind.endswith("]"):
                continue
            if column in schema.loose.get(table, ()):
                continue  # citext, a nondeterministic collation: `=` is loose (h35A)
            found.setdefault(sql_name(table), {})[sql_name(column)] = kind
    return found


def _global_tables(
    settings: Settings, schema: SchemaInfo | None, column: str, warnings: list[str] | None
) -> tuple[str, ...]:
    """The configured global tables, less each schema-qualified one (`a.notes`) whose table name
    the schema sources also create in another schema, one of them with the tenant column, a
    view (whose rows may be a tenant table's) or a configured tenant table: the proof knows a
    relation by its name only, so `a.notes` global made `b.notes`, a tenant table or a view of
    one, global too (its every read passed unpinned). Such a name stays a tenant relation
    (read as both), with a warning."""
    from tenantguard.engine.policy import split_table_name, table_name

    if schema is None or not column:
        return settings.global_tables
    # what may hold tenant rows under that name: a table with the tenant column, one named a
    # tenant table, or a view (its rows may be a tenant table's: `CREATE VIEW b.notes AS SELECT
    # * FROM t`, round 33, h33i)
    holders = set(schema.tables_with(column)) | set(schema.views)
    holders.update(table_name(t) for t in settings.tenant_tables)
    kept: list[str] = []
    for name in settings.global_tables:
        qualifier, table = split_table_name(name)
        others = sorted(schema.relation_schemas.get(table, set()) - {qualifier})
        if qualifier is not None and others and table in holders:
            if warnings is not None:
                warnings.append(
                    f"global table {name!r} ({_describe(settings)}): a table {table} is also "
                    f"created in schema {', '.join(others)}, and a relation of that name may "
                    f"hold tenant rows (it has the tenant column {column}, is a view or a named "
                    f"tenant table); relations are known by name only, so {table} stays a "
                    "tenant relation (rename one of them, or name it unqualified to make every "
                    f"{table} global)"
                )
            continue
        kept.append(name)
    return tuple(kept)


def _loose_tables(schema: SchemaInfo, column: str, tables: set[str]) -> dict[str, str]:
    """Tenant tables whose tenant column compares loosely (`citext`, a nondeterministic
    collation): `workspace = 'acme'` also matches 'ACME', so no equality pins them."""
    from tenantguard.engine.policy import LOOSE_COLUMN, table_name

    tenant = {table_name(t) for t in tables} | set(schema.tables_with(column))
    return {
        table: f"{LOOSE_COLUMN} ({column} is citext or has a nondeterministic collation: "
        "'acme' = 'ACME'), so no equality pins it to one tenant"
        for table, columns in schema.loose.items()
        if column in columns and table in tenant
    }


# tenant column types whose `=` holds between values stored apart: '1 day' = '24 hours' (an
# interval compares its length), 0 = -0 and NaN = NaN (floating point); or that store two
# tenants' ids alike: char(n) (`bpchar`, `character(n)`) pads and compares without trailing
# blanks ('acme' = 'acme '), `"char"` keeps one byte, `name` 63; money and numeric compare exact
# values (the value -> why two tenants' values meet)
_LOSSY_TENANT_TYPES = {
    "interval": "'1 day' = '24 hours'",
    "float4": "0 = -0",
    "float8": "0 = -0",
    "bpchar": "trailing blanks do not count, 'acme' = 'acme '",
    "char": "it keeps the first byte only",
    "name": "it keeps the first 63 bytes only",
}


def _lossy_tenant_types(schema: SchemaInfo, column: str) -> dict[str, str]:
    """Tenant tables whose tenant column is of a type whose equality joins several stored
    values (`_LOSSY_TENANT_TYPES`, or an array of one): `org_id = '1 day'` also returns the
    rows of '24 hours', so no equality pins them."""
    from tenantguard.engine.policy import LOOSE_COLUMN

    found: dict[str, str] = {}
    for table, traits in schema.traits.items():
        for trait in traits.get(column, ()):
            if not trait.startswith("type:"):
                continue
            kind, seen = trait[len("type:") :].rstrip("[]"), set()
            # a domain (over a domain…) stands on its base type
            while kind.startswith("domain:") or kind in schema._domain_bases:
                kind = kind.removeprefix("domain:").rstrip("[]")
                if kind in seen or kind not in schema._domain_bases:
                    break
                seen.add(kind)
                kind = schema._domain_bases[kind].rstrip("[]")
            if kind in _LOSSY_TENANT_TYPES:
                found[table] = (
                    f"{LOOSE_COLUMN} ({column} is {kind}: two tenants' values may be equal, "
                    f"{_LOSSY_TENANT_TYPES[kind]}), so no equality pins it to one tenant"
                )
    return found


def _inherited(schema: SchemaInfo, column: str, tables: set[str]) -> dict[str, str]:
    """Tables with no tenant column that tenant tables inherit from: a read without ONLY
    returns every tenant's rows of those, and nothing can pin it."""
    from tenantguard.engine.policy import INHERITED_ROWS, normalize_name

    tenant = {normalize_name(t) for t in tables} | set(schema.tables_with(column))
    return {
        table: f"{INHERITED_ROWS} ({', '.join(sorted(heirs))}): a read without ONLY returns "
        f"their rows of every tenant, and it has no {column} to pin"
        for table, heirs in schema.inherited_by(tenant, column).items()
    }


def _held(schema: SchemaInfo, column: str, tables: set[str]) -> dict[str, str]:
    """Tables with no tenant column whose columns hold rows of a row type that has it
    (`CREATE TABLE history (at timestamptz, old cards)`): `SELECT (old).* FROM history` returns
    every tenant's rows, and there is no column of it to pin (round 34, h34K)."""
    from tenantguard.engine.policy import HELD_ROWS

    del tables  # (a table named in tenant_tables without the column is held alike)
    return {
        table: f"{HELD_ROWS} (of a row type with {column}): a read hands out those rows of "
        f"every tenant, and it has no {column} to pin"
        for table in schema.holding(column)
    }


def _renamed(schema: SchemaInfo, column: str, tables: set[str]) -> dict[str, str]:
    """Tables with no tenant column whose foreign key takes a column of theirs to a tenant
    table's tenant column (`FOREIGN KEY (block_org, room_id) REFERENCES rooms (org_key, id)`):
    their rows are tenant rows, told by a column the proof does not read as the tenant's, so
    no read or write of them is pinned (round 42, h42A: `SELECT * FROM room_blocks` returned
    the other org's block)."""
    from tenantguard.engine.policy import HELD_ROWS, RENAMED_TENANT, normalize_name

    tenant = {normalize_name(t) for t in tables} | set(schema.tables_with(column))
    renamed = schema.renaming_tenant(tenant, column)
    found = {
        table: f"{RENAMED_TENANT} ({table} ({other}) references {column} by a foreign key): "
        f"its rows are tenant rows, and it has no {column} to pin"
        for table, other in renamed.items()
    }
    # a column of such a table's row type holds its rows whole (`history (old room_blocks)`),
    # as `_held` finds for a row type with the tenant column itself (h42R)
    for table, held in schema.held_types.items():
        holds = sorted(held & set(renamed))
        if holds and table not in found and column not in schema.columns.get(table, ()):
            found[table] = (
                f"{HELD_ROWS} (of the row type of {', '.join(holds)}, whose tenant column has "
                f"another name): a read hands out those rows of every tenant, and it has no "
                f"{column} to pin"
            )
    return found


def _read_schema(settings: Settings, cache: bool) -> SchemaInfo:
    from tenantguard.sources.schema.reading import SchemaInfo, read_schema

    paths = [settings.root / p for p in settings.schema_paths]
    if not cache:
        return read_schema(paths)
    from tenantguard.cache import SchemaCache

    stored = SchemaCache.open(settings)
    data = stored.load()
    if data is not None:
        try:
            return SchemaInfo.from_json(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # damaged: read again, and rewritten
    schema = read_schema(paths)
    stored.store(settings, schema.to_json())
    return schema


def _inherited_writes(
    schema: SchemaInfo, hidden: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """`hidden_writes` with each table's also given those of its partitions and children (a
    DELETE or an UPDATE of the parent deletes or updates their rows, and runs their triggers;
    an INSERT into a partitioned table runs its partition's row triggers: helper 112 — read
    so of an inheritance child too, where it does not, failing closed)."""
    from tenantguard.engine.policy import sql_name, table_name

    out = {t: dict(kinds) for t, kinds in hidden.items()}
    for child, kinds in hidden.items():
        for table in schema.ancestors(table_name(child)):
            for kind, why in kinds.items():
                if kind in ("DELETE", "UPDATE", "TRUNCATE", "INSERT", "INSERT and UPDATE"):
                    out.setdefault(sql_name(table), {}).setdefault(kind, why)
    # an UPDATE of a partitioned table that changes a row's partition key moves the row: the
    # old partition's DELETE triggers run, and the new one's INSERT triggers (helper 114)
    for table, kinds in out.items():
        if "UPDATE" not in kinds and schema.children.get(table_name(table)):
            moved = kinds.get("DELETE") or kinds.get("INSERT")
            if moved:
                kinds["UPDATE"] = moved + " (an UPDATE moving a row to another partition runs it)"
    return out


def _given(settings: Settings, key: str) -> str:
    """Where a key's value comes from: its flag (given to the project of a configuration file:
    a monorepo's run gives it to each service), or the configuration file."""
    if key not in settings.flagged:
        return _describe(settings)
    flag = "--" + key.replace("_", "-")
    return flag if settings.config_file is None else f"{flag}, for {settings.config_file}"


def _empty_schema_paths(settings: Settings) -> list[str]:
    """A configured schema folder that holds no schema file (only Prisma's schema.prisma, a
    dump in another format): nothing is read from it, which the run said nowhere."""
    from tenantguard.sources.walk import schema_files

    said = []
    for path in settings.schema_paths:
        folder = settings.root / path
        if folder.is_dir() and not schema_files([folder]):
            said.append(
                f"schema path {path!r} ({_given(settings, 'schema_paths')}) holds no .sql file "
                "nor Python migration: no schema is read from it (a schema made by Prisma or "
                "Django models cannot be read: dump it with `pg_dump --schema-only` into it)"
            )
    return said


# a Django migration's model operations: what they make is known to Django's models only
DJANGO_MODEL_OPERATION = lazy_pattern(
    r"\b(CreateModel|AddField|AlterField|RenameField|RenameModel|AlterModelTable|RemoveField"
    r"|DeleteModel)\s*\("
)


def _django_model_migrations(settings: Settings) -> list[str]:
    """Django migrations among the schema sources (h35H: `schema_paths =
    ["shop/migrations"]`): the SQL of their RunSQL is read, their models' operations are not —
    a CreateModel's table with the tenant column was no tenant table, and nothing said so. One
    warning per schema path, naming the operations and what to point at instead."""
    given = _given(settings, "schema_paths")
    said = (django_migrations_unread(settings.root, p, given) for p in settings.schema_paths)
    return [s for s in said if s is not None]


def django_migrations_unread(root: Path, path: str, given: str) -> str | None:
    """The warning for a schema path holding Django migrations with model operations (which
    the schema reader does not read), or None."""
    from tenantguard.sources.walk import is_python, schema_files

    found: dict[str, list[str]] = {}
    for file in schema_files([root / path]):
        if not is_python(file):
            continue
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "django" in text:
            for name in DJANGO_MODEL_OPERATION.findall(text):
                found.setdefault(name, []).append(os.path.relpath(file, root))
    if not found:
        return None
    files = sorted({f for names in found.values() for f in names})
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return (
        f"schema path {path!r} ({given}) holds Django migrations whose model operations "
        f"({', '.join(sorted(found))}: {shown}) are not read, only their RunSQL's SQL: the "
        "tables their models make are no tenant tables here. Point schema_paths at SQL "
        "instead: a dump of the migrated schema (`pg_dump --schema-only --no-owner DATABASE > "
        "db/schema.sql`) or each migration's SQL (`python manage.py sqlmigrate APP NUMBER > "
        "db/NUMBER.sql`)"
    )


def _not_created(kind: str, name: str, settings: Settings, key: str, created: Iterable[str]) -> str:
    from tenantguard.engine.policy import sql_name

    near = sorted(c for c in created if c.lower() == name.lower())
    hint = (
        f"the schema creates {near[0]!r}: write it {sql_name(near[0])}"
        if near
        else "check its spelling (quote mixed-case names: '\"Thread\"')"
    )
    return (
        f"{kind} {name!r} ({_given(settings, key)}) is not created by any schema source "
        f"({', '.join(settings.schema_paths)}): {hint}"
    )


def _tenant_defaults(schema: SchemaInfo, column: str, settings: Settings) -> dict[str, int]:
    """The tables whose tenant column defaults to a tenant expression (an exact cast of one):
    which expression, by its index."""
    found = {t: d[column] for t, d in schema.defaults.items() if column in d}
    if not found:
        return {}
    from tenantguard.engine.policy import Policy, sql_name
    from tenantguard.sources.schema.relations import pin_of

    # with the schema's function names: a default `current_setting('app.tenant_id'::varchar)`
    # made where a schema's `current_setting(varchar)` is seen calls that one (h40A)
    probe = Policy(
        settings.tenant_column,
        tenant_expressions=settings.tenant_expressions,
        functions=_quoted_names(schema.functions),
    )
    out: dict[str, int] = {}
    for table, expression in found.items():
        value = pin_of(expression, probe)
        if value is not None and value.kind == "expression" and isinstance(value.key, int):
            out[sql_name(table)] = value.key
    return out


def _tenant_copies(schema: SchemaInfo, column: str) -> dict[str, str]:
    """The tables whose tenant column is generated as a copy of one column (the schema's
    `copies`) in the table and in every table inheriting from it (PostgreSQL 15 gives them the
    parent's expression; an INSERT into a parent lands in them), of no lossy or loose type: a
    float8 `owner` is sent rounded, and two tenant ids meet."""
    from tenantguard.engine.policy import sql_name

    out: dict[str, str] = {}
    for table, copies in schema.copies.items():
        copied = copies.get(column)
        if copied is None or copied in schema.lossy_columns:
            continue
        kin = (table, *schema.descendants(table))
        if any(
            schema.copies.get(t, {}).get(column) != copied or copied in schema.loose.get(t, ())
            for t in kin
        ):
            continue
        out[sql_name(table)] = sql_name(copied)
    return out


def _setting_functions(schema: SchemaInfo, settings: Settings) -> set[str]:
    """The schema's functions and views that may change a setting the tenant expressions read."""
    from tenantguard.engine.proof.blocks import settings_read

    return _quoted_names(schema.setting_changers(settings_read(settings.tenant_expressions)))


def _quoted_names(names: Iterable[str]) -> set[str]:
    """Exact names (from the schema, or a policy) written so that the policy keeps them."""
    from tenantguard.engine.policy import sql_name

    return {sql_name(n) for n in names}


def _quoted(names: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    from tenantguard.engine.policy import sql_name

    return {sql_name(k): _quoted_names(v) for k, v in names.items()}


def require_tenant_tables(policy: Policy, settings: Settings) -> None:
    """No tenant table at all means nothing can be proven: a configuration error, not a pass."""
    if policy.tenant_tables:
        return
    paths = ", ".join(settings.schema_paths) if settings.infer_tenant_tables else "not read"
    hint = ""
    spelt = _column_spellings(settings, policy.tenant_column)
    if spelt:  # `tenant_column = "organizationId"` where Prisma made `"organizationId"`
        hint = _spelling_hint(spelt)
    made_global = _global_holders(settings, policy.tenant_column)
    if made_global:  # every table with the column is named in global_tables (h33g)
        hint += (
            f" but {', '.join(made_global)}, which global_tables (or --global-tables) makes "
            "global: a table with the tenant column holds tenants' rows; take it out of "
            "global_tables"
        )
    raise ConfigError(
        f"no tenant tables, so nothing can be proven: none configured, and the schema paths "
        f"({paths}) show no table with a column {policy.tenant_column}{hint} "
        f"[{_describe(settings)}]. Set tenant_tables or schema_paths in [tool.tenantguard] of "
        "pyproject.toml (or in tenantguard.toml), or pass --tenant-tables; `tenantguard init` "
        "proposes them from the schema"
    )


def _spelling_hint(spelt: Iterable[str]) -> str:
    """` (the schema has "organizationId", a quoted mixed-case name: write tenant_column =
    '"organizationId"')`."""
    names = sorted(spelt)
    written = " or ".join(f"""'"{name}"'""" for name in names)
    shown = ", ".join(f'"{name}"' for name in names)
    return (
        f" (the schema has {shown}, a quoted mixed-case name PostgreSQL does not fold: write "
        f"tenant_column = {written})"
    )


def _global_holders(settings: Settings, column: str) -> list[str]:
    """The schema's tables with the tenant column that global_tables names: read only when no
    tenant table was found (the run stops there)."""
    if not column or not settings.global_tables or not settings.infer_tenant_tables:
        return []
    from tenantguard.engine.policy import table_name

    try:
        schema = _read_schema(settings, False)
    except (ConfigError, OSError, ValueError):
        return []
    named = {table_name(t) for t in settings.global_tables}
    return sorted(t for t in schema.tables_with(column) if t in named)


def _column_spellings(settings: Settings, column: str) -> list[str]:
    """The schema's columns that are the tenant column but for case: a mixed-case name the
    schema quotes (`"organizationId"`) that the configuration wrote bare, which PostgreSQL
    folds to lower case. Read only when no tenant table was found (the run stops there)."""
    if not column or not settings.schema_paths or not settings.infer_tenant_tables:
        return []
    try:
        schema = _read_schema(settings, False)
    except (ConfigError, OSError, ValueError):
        return []
    names = {name for columns in schema.columns.values() for name in columns}
    return sorted(n for n in names if n != column and n.lower() == column.lower())
