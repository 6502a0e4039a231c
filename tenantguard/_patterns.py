"""Regular expressions compiled on first use.

The package holds some 250 patterns at module level; a check of one edited statement in a
fresh process (pre-commit's case) uses about ten of them, and compiling the others cost ~11 ms
of its start. `lazy_pattern` gives a stand-in that compiles its pattern the first time any of
its attributes is read, then holds the compiled pattern's bound methods as its own attributes:
later calls cost what calls of the compiled pattern do (a plain attribute read, then the call).
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast

__all__ = ["lazy_pattern"]

# what a compiled pattern offers; each is copied onto the stand-in when it compiles
_ATTRIBUTES = (
    "search",
    "match",
    "fullmatch",
    "finditer",
    "findall",
    "sub",
    "subn",
    "split",
    "scanner",
    "pattern",
    "flags",
    "groups",
    "groupindex",
)


class _Lazy:
    """A pattern not compiled yet (see the module's docstring)."""

    def __init__(self, pattern: Any, flags: int) -> None:  # str or bytes
        self._source: tuple[Any, int] = (pattern, flags)

    def __getattr__(self, name: str) -> Any:  # only for attributes not set yet
        if name.startswith("__") or name not in _ATTRIBUTES:
            raise AttributeError(name)
        compiled = re.compile(self._source[0], self._source[1])
        for attribute in _ATTRIBUTES:
            self.__dict__[attribute] = getattr(compiled, attribute)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy_pattern({self._source[0]!r}, {self._source[1]!r})"


def lazy_pattern(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """`re.compile(pattern, flags)`, compiled when first used."""
    return cast("re.Pattern[AnyStr]", _Lazy(pattern, flags))


def is_pattern(value: object) -> bool:
    """A compiled pattern, or a stand-in of `lazy_pattern`."""
    return isinstance(value, re.Pattern | _Lazy)
