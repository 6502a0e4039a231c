"""sqlglot's compiled parser (sqlglotc) only when it matches the installed sqlglot.

sqlglotc installs compiled modules into sqlglot's own package directory, and Python prefers
them to the `.py` files beside them. When sqlglot alone is upgraded (or downgraded), the compiled
modules of the other version stay behind and sqlglot would run as a mix of two versions. So,
when sqlglotc's version is not sqlglot's, a finder placed first on `sys.meta_path` loads every
`sqlglot` module from its `.py` source instead: pure sqlglot, slower, and correct. Nothing is
looked up until something imports sqlglot (a run served from the cache never does).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec, PathFinder
from types import ModuleType

__all__ = ["compiled_mismatch", "install"]


def compiled_mismatch() -> tuple[str, str] | None:
    """(sqlglot's version, sqlglotc's version) when both are installed and differ, else None."""
    from importlib import metadata  # costs some 15 ms: only when sqlglot is imported

    try:
        compiled = metadata.version("sqlglotc")
    except metadata.PackageNotFoundError:
        return None
    try:
        pure = metadata.version("sqlglot")
    except metadata.PackageNotFoundError:
        return None
    return None if compiled == pure else (pure, compiled)


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
            if mismatch is None:
                uninstall()
                return None
            self.pure = True
            import logging

            logging.getLogger("tenantguard").warning(
                "sqlglotc %s does not match sqlglot %s: using the pure-Python sqlglot (slower); "
                "to use the compiled one, run: pip install 'sqlglot[c]==%s'",
                mismatch[1],
                mismatch[0],
                mismatch[0],
            )
        spec = PathFinder.find_spec(fullname, path)
        if spec is None:
            return None
        source = _source_of(spec)
        if source is None:
            return spec
        from importlib.util import spec_from_file_location

        return spec_from_file_location(
            fullname, source, submodule_search_locations=spec.submodule_search_locations
        )


_FINDER = _PureSqlglot()


def install() -> None:
    """Put the finder first, unless sqlglot is imported already (then it is too late)."""
    if "sqlglot" not in sys.modules and _FINDER not in sys.meta_path and not _FINDER.decided:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
