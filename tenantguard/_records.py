"""Frozen record classes as a frozen dataclass makes them, without building them at import.

`@dataclass(frozen=True)` writes the source of `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__` and `__delattr__` (and, with slots, `__getstate__`/`__setstate__`) and compiles
each anew in every process: ~0.5 ms a class, ~10 ms of a one-file check's start for the 17 it
imports. A class here writes its own `__init__` (setting its fields with `object.__setattr__`,
as a frozen dataclass's does) and names its fields in `__match_args__`; `frozen_record` adds the
other methods, the same as the dataclass's (equality and hash over the fields in order, only
between instances of the same class; `Name(field=value, ...)` as repr; assignment and deletion
raising `dataclasses.FrozenInstanceError`; pickling of slotted instances), built from closures:
nothing is compiled. What it does not give is the dataclass machinery itself
(`dataclasses.fields`, `replace`, `asdict`): a class that needs one stays a dataclass.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from operator import attrgetter
from reprlib import recursive_repr
from typing import Any, TypeVar

__all__ = ["frozen_record"]

C = TypeVar("C", bound=type)


def frozen_record(cls: C) -> C:
    """Adds a frozen dataclass's methods to `cls`, whose fields are its `__match_args__`."""
    names: tuple[str, ...] = cls.__dict__["__match_args__"]
    setters = (getattr(b, "__setattr__", None) for b in cls.__mro__[1:])
    if any(setter is not object.__setattr__ for setter in setters):
        raise TypeError("frozen_record: a base class has its own __setattr__")
    if len(names) < 2:
        raise TypeError("frozen_record: at least two fields (one would not give a tuple)")
    fields = frozenset(names)
    key = attrgetter(*names)  # the fields' values as a tuple (in C)

    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(key(self))

    @recursive_repr()
    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    def __setattr__(self: Any, name: str, value: object) -> None:
        if type(self) is cls or name in fields:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)  # (the bases': object's)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in fields:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    methods: dict[str, Any] = {
        "__eq__": __eq__,
        "__hash__": __hash__,
        "__repr__": __repr__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
    }
    if "__slots__" in cls.__dict__:  # no __dict__ to pickle: the fields' values, in order

        def __getstate__(self: Any) -> list[object]:
            return [getattr(self, name) for name in names]

        def __setstate__(self: Any, state: list[object]) -> None:
            for name, value in zip(names, state, strict=False):
                object.__setattr__(self, name, value)

        methods["__getstate__"] = __getstate__
        methods["__setstate__"] = __setstate__
    for name, method in methods.items():
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, method)
    return cls
