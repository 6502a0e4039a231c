"""Processing a webhook once against PostgreSQL: Redis claim first, the database key as backstop.

    done = await process_webhook_once(dedup, conn, tenant_id, event_id, handler)

1. claim the event in Redis (one round trip; duplicates stop here);
2. in one PostgreSQL transaction, insert (tenant_id, event_id) into the ledger table with
   `ON CONFLICT DO NOTHING` — the unique key catches what Redis cannot (fail-open mode, an
   expired window) — and run the handler's writes;
3. complete the claim after the commit; release it after a rollback so the retry can run.

`conn` is an asyncpg connection (plain or guarded). The ledger table needs a unique key on
(tenant_id, event_id); the Dentalogic schema has `processed_webhooks`.
"""

# tenantguard: ignore-file[TG009] -- the ledger table name is checked to be a plain identifier

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tenantguard.redis.dedup import WebhookDeduplicator

__all__ = ["process_webhook_once"]


async def process_webhook_once(
    dedup: WebhookDeduplicator,
    conn: Any,
    tenant_id: Any,
    event_id: str,
    handler: Callable[[Any], Awaitable[None]],
    *,
    ledger: str = "processed_webhooks",
) -> bool:
    """True when this call processed the event; False for a duplicate."""
    if not ledger.replace("_", "").isalnum():
        raise ValueError("ledger must be a plain table name")
    async with dedup.once(tenant_id, event_id) as first:
        if not first:
            return False
        async with conn.transaction():
            fresh = await conn.fetchval(
                f"INSERT INTO {ledger} (tenant_id, event_id) VALUES ($1, $2) "
                "ON CONFLICT (tenant_id, event_id) DO NOTHING RETURNING true",
                tenant_id,
                event_id,
            )
            if not fresh:
                return False  # processed before (the database remembers longer than Redis)
            await handler(conn)
    return True
