"""Redis keys namespaced per tenant, safe for any id and for Redis Cluster.

`{prefix}:{t:<tenant>}:<kind>:<id>`: the braces are a Cluster hash tag, so one tenant's keys
share a slot. Ids are percent-encoded (`urllib.parse.quote` with no safe characters), so no
encoded id contains `{`, `}`, `:` or `#`; an id longer than `MAX_ID` is replaced by `#` and its
SHA-256, which no encoded id can start with. The mapping is injective: two different
(tenant, kind, id) triples never give one key.
"""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import quote

from tenantguard._patterns import lazy_pattern

__all__ = ["MAX_ID", "MAX_TENANT", "encode_id", "tenant_key"]

MAX_TENANT = 256
MAX_ID = 512


def _text(value: object, what: str) -> str:
    kind = type(value)
    if kind is str and value:  # the common cases first: one type check each
        return value  # type: ignore[return-value]
    if kind is int or kind is uuid.UUID:
        return str(value)
    if value is None or isinstance(value, bool):
        raise ValueError(f"{what} must be a non-empty str, int or UUID, not {value!r}")
    if isinstance(value, int | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        raise ValueError(f"{what} must be text, not bytes (decode it first)")
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a str, int or UUID, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value


# the characters `quote(…, safe="")` leaves as they are: such ids need no quoting
_UNRESERVED = lazy_pattern(r"[A-Za-z0-9_.~-]+")


def _quoted(text: str) -> str:
    return text if _UNRESERVED.fullmatch(text) else quote(text, safe="")


def encode_id(value: object, what: str = "id") -> str:
    text = _text(value, what)
    if len(text) > MAX_ID:
        return "#" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _quoted(text)


def tenant_key(prefix: str, tenant: object, kind: str, identifier: object, what: str = "id") -> str:
    tenant_text = _text(tenant, "tenant id")
    if len(tenant_text) > MAX_TENANT:
        raise ValueError(f"tenant id is {len(tenant_text)} characters long; at most {MAX_TENANT}")
    return f"{prefix}:{{t:{_quoted(tenant_text)}}}:{kind}:{encode_id(identifier, what)}"


def check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "{}"):
        raise ValueError("prefix must be a non-empty string without { or }")
    return prefix
