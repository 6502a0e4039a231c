"""Redis primitives keyed per tenant: webhook de-duplication and short locks (redis-py asyncio)."""

from __future__ import annotations

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
