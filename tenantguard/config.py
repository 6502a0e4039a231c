"""Configuration: `[tool.tenantguard]` of pyproject.toml, validated, then overridden by flags.

Two steps, as in ruff: the raw table is read and checked key by key into `Settings` (an unknown
key or a wrong type is an error naming the key), then `build_policy` turns settings and the
schema sources into the engine's `Policy`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tenantguard.errors import ConfigError
from tenantguard.selection import RuleSelection, parse_selectors

if TYPE_CHECKING:
    from tenantguard.engine.policy import Policy
    from tenantguard.sources.schema import FunctionInfo, ViewInfo

# the engine's default too (a test keeps them equal): not imported, the engine loads sqlglot
DEFAULT_TENANT_EXPRESSIONS = ("current_setting('app.tenant_id')",)

__all__ = ["Settings", "build_policy", "find_pyproject", "load_settings"]


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
    include: tuple[str, ...] = ("*.sql", "*.py")
    exclude: tuple[str, ...] = ()
    force_exclude: bool = False
    respect_gitignore: bool = True
    patch_dir: str = "patches"
    baseline: str = "db/init/schema.sql"
    unresolved_severity: str = "warning"
    select: tuple[str, ...] = ("ALL",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    cache_dir: str = ".tenantguard_cache"

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
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


_KEYS = {f.name for f in fields(Settings)} - {"root", "config_file"}
_LIST_KEYS = {
    "tenant_tables",
    "global_tables",
    "schema_paths",
    "tenant_expressions",
    "include",
    "exclude",
}
_BOOL_KEYS = {"infer_tenant_tables", "allow_multi_tenant", "force_exclude", "respect_gitignore"}
_SELECTOR_KEYS = {"select", "extend_select", "ignore"}
_CHOICES = {"unresolved_severity": ("warning", "error")}


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.tenantguard] table, from `start` upward."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if isinstance(data.get("tool"), dict) and "tenantguard" in data["tool"]:
                return candidate
    return None


def _validate(raw: Mapping[str, object], source: str) -> dict[str, object]:
    values: dict[str, object] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(
                f"{source}: unknown key {key!r} in [tool.tenantguard] (known: {known})"
            )
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
    return values


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
    start: Path | None = None, *, isolated: bool = False, config: Path | None = None
) -> Settings:
    """Settings from the nearest configuration (or `config`), or defaults when `isolated`."""
    start = (start or Path.cwd()).resolve()
    if isolated:
        return Settings(root=start)
    path = config or find_pyproject(start)
    if path is None:
        return Settings(root=start)
    source = os.fspath(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read {source}: {error.strerror}") from error
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{source} is not valid TOML: {error}") from error
    table = data.get("tool", {}).get("tenantguard", {}) if path.name == "pyproject.toml" else data
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.tenantguard] must be a table")
    return Settings(root=path.parent.resolve(), config_file=path, **_validate(table, source))  # type: ignore[arg-type]


def build_policy(settings: Settings) -> Policy:
    """The engine's policy: explicit tenant tables plus those the schema sources show — tables
    with the tenant column, and views and SQL functions that hand out every tenant's rows."""
    from tenantguard.engine.policy import Policy  # sqlglot: only when a file must be analysed
    from tenantguard.sources.schema import read_schema, tenant_relations

    tables = set(settings.tenant_tables)
    columns: dict[str, set[str]] = {}
    constraints: dict[str, set[str]] = {}
    views: dict[str, ViewInfo] = {}
    functions: dict[str, FunctionInfo] = {}
    try:
        if settings.infer_tenant_tables and settings.schema_paths:
            schema = read_schema(settings.root / p for p in settings.schema_paths)
            tables |= schema.tables_with(Policy(settings.tenant_column).tenant_column)
            columns, constraints = schema.columns, schema.constraints
            views, functions = schema.views, schema.functions
        policy = Policy(
            settings.tenant_column,
            tables,
            global_tables=settings.global_tables,
            tenant_expressions=settings.tenant_expressions,
            allow_multi_tenant=settings.allow_multi_tenant,
            table_columns=columns,
            constraint_columns=constraints,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from error
    found = tenant_relations(views, functions, policy) if views or functions else {}
    if not found:
        return policy
    return policy.replace(
        tenant_tables=policy.tenant_tables | found.keys(),
        table_columns={
            **policy.table_columns,
            **{view: names for view, names in found.items() if names is not None},
        },
    )
