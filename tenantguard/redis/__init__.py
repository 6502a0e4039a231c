"""Redis primitives keyed per tenant: webhook de-duplication and short locks (redis-py asyncio)."""

from __future__ import annotations

try:
    import redis.asyncio  # noqa: F401  (the primitives are built on redis-py's asyncio client)
except ModuleNotFoundError as error:  # pragma: no cover - the core install has no redis-py
    if error.name not in ("redis", "redis.asyncio"):
        raise
    raise ModuleNotFoundError(
        "tenantguard.redis needs redis-py, which is not installed: pip install 'tenantguard[redis]'",
        name="redis",
    ) from error

from tenantguard.redis.dedup import DedupUnavailableError, WebhookDeduplicator
from tenantguard.redis.keys import encode_id, tenant_key
from tenantguard.redis.locks import LockLostError, LockNotAcquiredError, TenantLock
from tenantguard.redis.webhooks import process_webhook_once

__all__ = [
    "DedupUnavailableError",
    "LockLostError",
    "LockNotAcquiredError",
    "TenantLock",
    "WebhookDeduplicator",
    "encode_id",
    "process_webhook_once",
    "tenant_key",
]
