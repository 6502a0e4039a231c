"""The request's tenant: a context variable, set by `tenant()` and lifted by `unscoped()`.

Both are context managers usable in sync and async code (a contextvar follows asyncio tasks),
nest, and restore the previous scope on exit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["Scope", "current_scope", "tenant", "tenant_key", "unscoped"]

log = logging.getLogger("tenantguard")


@dataclass(frozen=True, slots=True)
class Scope:
    """`tenant(value)` or `unscoped(reason)`; `key` is the tenant value as the guard compares it."""

    value: object
    key: str | None
    unscoped_reason: str | None = None


_SCOPE: ContextVar[Scope | None] = ContextVar("tenantguard_scope", default=None)


def tenant_key(value: object) -> str | None:
    """A tenant value as the tenant column would compare it, or None when it cannot be one.

    `42`, `"42"` and `" 42 "` are one tenant; a UUID object and its string are one tenant.
    Booleans, floats, None and containers are not tenant values.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.lstrip("-").isdigit():
            return str(int(text))
        if (len(text) in (32, 36, 38) and "-" in text) or len(text) == 32:
            try:
                return str(uuid.UUID(text))
            except ValueError:
                return text
        return text
    return None


def current_scope() -> Scope | None:
    return _SCOPE.get()


@contextmanager
def tenant(value: object) -> Iterator[object]:
    """Runs the block for one tenant: the guard checks every pinning value against `value`.

    A value that cannot be a tenant (None, a float, a list…) is accepted here and blocks every
    statement on a tenant table inside the block, with a clear error.
    """
    token = _SCOPE.set(Scope(value, tenant_key(value)))
    try:
        yield value
    finally:
        _SCOPE.reset(token)


@contextmanager
def unscoped(reason: str) -> Iterator[None]:
    """An explicit, logged escape hatch for maintenance and cross-tenant admin work."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("unscoped() needs a reason: say why this code may span tenants")
    log.warning(
        "tenantguard: entering unscoped block: %s",
        reason,
        extra={"tenantguard": {"event": "unscoped", "reason": reason}},
    )
    token = _SCOPE.set(Scope(None, None, reason.strip()))
    try:
        yield
    finally:
        _SCOPE.reset(token)
