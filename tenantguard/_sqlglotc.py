"""How sqlglot is imported: its compiled parser (sqlglotc) only when it matches the installed
sqlglot, and without the scan for dialect plugins.

sqlglotc installs compiled modules into sqlglot's own package directory, and Python prefers
them to the `.py` files beside them. When sqlglot alone is upgraded (or downgraded), the compiled
modules of the other version stay behind and sqlglot would run as a mix of two versions. So,
when sqlglotc's version is not sqlglot's, a finder placed first on `sys.meta_path` loads every
`sqlglot` module from its `.py` source instead: pure sqlglot, slower, and correct. Nothing is
looked up until something imports sqlglot (a run served from the cache never does).

sqlglot's dialect module imports `importlib.metadata` to find dialect plugins by entry point, and
calls it only for a dialect it does not ship (the proof asks for postgres alone); the import
costs about a fifth of sqlglot's (email, zipfile, csv, socket...). While sqlglot's package
imports, a stand-in is in its place whose `entry_points` imports the real module when called.
Likewise `sqlglot.diff` (the tree differ, ~3 ms of the import, never used here): the package
imports its `diff` function to offer it as `sqlglot.diff`; it gets one that imports the module
when called.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec, PathFinder
from types import ModuleType
from typing import Any

__all__ = ["compiled_mismatch", "install", "prefer_source"]


def installed_version(distribution: str) -> str | None:
    """A distribution's version, from importlib.metadata (only when `_versions` cannot tell)."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _versions() -> tuple[str | None, str | None] | None:
    """(sqlglot's, sqlglotc's) versions from the `.dist-info` directories beside sqlglot's
    package, or None when they do not tell (another layout: ask importlib.metadata)."""
    spec = PathFinder.find_spec("sqlglot")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return versions_beside(locations[0]) if len(locations) == 1 else None


def versions_beside(package: str) -> tuple[str | None, str | None] | None:
    """(sqlglot's, sqlglotc's) versions as the `.dist-info` directories beside this package
    directory give them; (None, None) when nothing compiled is in it; None when they do not
    tell (none, or several, of either)."""
    try:
        compiled = any(name.endswith(tuple(EXTENSION_SUFFIXES)) for name in os.listdir(package))
        entries = os.listdir(os.path.dirname(package))
    except OSError:
        return None
    if not compiled:
        return None, None  # nothing compiled beside sqlglot: nothing can mismatch it
    found: dict[str, list[str]] = {"sqlglot": [], "sqlglotc": []}
    for entry in entries:
        name, _, rest = entry.partition("-")
        key = name.lower().replace("_", "-").replace(".", "-")
        if key in found and rest.endswith(".dist-info"):
            found[key].append(os.path.join(os.path.dirname(package), entry, "METADATA"))
    if len(found["sqlglot"]) != 1 or len(found["sqlglotc"]) != 1:
        return None
    versions = []
    for metadata in (found["sqlglot"][0], found["sqlglotc"][0]):
        try:
            with open(metadata, encoding="utf-8") as handle:
                version = next((ln[8:].strip() for ln in handle if ln.startswith("Version:")), None)
        except (OSError, UnicodeDecodeError):
            return None
        if version is None:
            return None
        versions.append(version)
    return versions[0], versions[1]


def compiled_mismatch() -> tuple[str, str] | None:
    """(sqlglot's version, sqlglotc's version) when both are installed and differ, else None."""
    versions = _versions()
    if versions is None:
        versions = installed_version("sqlglot"), installed_version("sqlglotc")
    pure, compiled = versions
    if pure is None or compiled is None:
        return None
    return None if compiled == pure else (pure, compiled)


class _DeferredMetadata(ModuleType):
    """Stands for `importlib.metadata` while sqlglot's package imports: `entry_points` imports
    the real module when called; anything else imports it at once."""

    def __getattr__(self, name: str) -> Any:
        if name == "entry_points":
            return _entry_points
        if name.startswith("__"):  # `__path__`: the import system asks whether it is a package
            raise AttributeError(name)
        return getattr(_real_metadata(), name)


def _real_metadata() -> ModuleType:
    if isinstance(sys.modules.get("importlib.metadata"), _DeferredMetadata):
        del sys.modules["importlib.metadata"]
    import importlib.metadata

    return importlib.metadata


def _entry_points(*args: Any, **kwargs: Any) -> Any:
    return _real_metadata().entry_points(*args, **kwargs)


class _DeferredDiff(ModuleType):
    """Stands for `sqlglot.diff` until the module is needed: its `diff` imports the real module
    when called; any other name imports it at once (and the real one takes its place)."""

    def __getattr__(self, name: str) -> Any:
        if name == "diff":
            return _diff
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_real_diff(), name)


def _real_diff() -> ModuleType:
    if isinstance(sys.modules.get("sqlglot.diff"), _DeferredDiff):
        del sys.modules["sqlglot.diff"]
    import importlib

    module = importlib.import_module("sqlglot.diff")
    # importing a submodule sets the package's attribute to it: `sqlglot.diff` is the function
    sys.modules["sqlglot"].diff = module.diff  # type: ignore[attr-defined]
    return module


def _diff(*args: Any, **kwargs: Any) -> Any:
    """sqlglot's `diff` (the module is imported at the first call)."""
    return _real_diff().diff(*args, **kwargs)


class _WithoutPluginScan:  # a loader, wrapping the one that loads sqlglot's package
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self.loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        import importlib

        from tenantguard._collect import collections_paused, set_aside_import

        stand_in = None
        if "importlib.metadata" not in sys.modules:
            stand_in = _DeferredMetadata("importlib.metadata")
            sys.modules["importlib.metadata"] = stand_in
        if "sqlglot.diff" not in sys.modules:  # stays until a name other than `diff` is read
            sys.modules["sqlglot.diff"] = _DeferredDiff("sqlglot.diff")
        try:
            # no collection while sqlglot's ~1 000 classes and tables are built (they all stay
            # alive), and in a run (`frozen_heap`) they are set aside with the rest: collections
            # would walk them again and again (~9 M instructions of a one-file check)
            with collections_paused():
                self.loader.exec_module(module)
            set_aside_import()
        finally:
            # sqlglot keeps `_entry_points`; nothing else sees the stand-in
            if stand_in is not None and sys.modules.get("importlib.metadata") is stand_in:
                del sys.modules["importlib.metadata"]
            if getattr(importlib, "metadata", None) is stand_in:
                del importlib.metadata
            module.__loader__ = self.loader
            if module.__spec__ is not None:
                module.__spec__.loader = self.loader


def _source_of(spec: ModuleSpec) -> str | None:
    """The `.py` file beside a compiled module, if there is one."""
    origin = spec.origin or ""
    for suffix in EXTENSION_SUFFIXES:
        if origin.endswith(suffix):
            source = origin[: -len(suffix)] + ".py"
            return source if os.path.isfile(source) else None
    return None


class _PureSqlglot:  # a meta path finder (importlib.abc costs more to import than it gives)
    """Decides at sqlglot's first import; on a version mismatch, finds sqlglot's `.py` files."""

    def __init__(self) -> None:
        self.decided = False
        self.pure = False
        self.source_preferred = False  # `prefer_source`: a run that parses little

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname != "sqlglot" and not fullname.startswith("sqlglot."):
            return None
        if not self.decided:
            self.decided = True
            mismatch = compiled_mismatch()
            if mismatch is None and not self.source_preferred:
                uninstall()
                return self._package(fullname, PathFinder.find_spec(fullname, path))
            self.pure = True
            if mismatch is not None:
                import logging

                logging.getLogger("tenantguard").warning(
                    "sqlglotc %s does not match sqlglot %s: using the pure-Python sqlglot "
                    "(slower); to use the compiled one, run: pip install 'sqlglot[c]==%s'",
                    mismatch[1],
                    mismatch[0],
                    mismatch[0],
                )
        spec = PathFinder.find_spec(fullname, path)
        if spec is None:
            return None
        source = _source_of(spec)
        if source is None:
            return self._package(fullname, spec)
        from importlib.util import spec_from_file_location

        return self._package(
            fullname,
            spec_from_file_location(
                fullname, source, submodule_search_locations=spec.submodule_search_locations
            ),
        )

    @staticmethod
    def _package(fullname: str, spec: ModuleSpec | None) -> ModuleSpec | None:
        """sqlglot's package itself is loaded without the scan for dialect plugins."""
        if fullname == "sqlglot" and spec is not None and spec.loader is not None:
            spec.loader = _WithoutPluginScan(spec.loader)  # type: ignore[assignment]
        return spec


_FINDER = _PureSqlglot()


def install() -> None:
    """Put the finder first, unless sqlglot is imported already (then it is too late)."""
    if "sqlglot" not in sys.modules and _FINDER not in sys.meta_path and not _FINDER.decided:
        sys.meta_path.insert(0, _FINDER)


def prefer_source() -> None:
    """For a run that parses little (pre-commit on an edited file): sqlglot's `.py` modules,
    even where sqlglotc's compiled ones are installed. Loading the compiled modules (some sixty
    extension modules) costs ~15 ms more than the pure ones from their bytecode caches, and
    parsing with them saves ~1 ms a statement: below a dozen statements parsed, the pure
    parser finishes first. Same trees, same verdicts (CI runs the analyzer's tests on both).
    No effect once sqlglot is imported."""
    _FINDER.source_preferred = True


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
