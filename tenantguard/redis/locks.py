"""Short per-tenant locks with an owner token (redis-py's Lock under a tenant-namespaced key).

Release and extend act only while the token still matches (Lua, atomic on the server). A lock
lost before release — its TTL ran out and someone else may hold it — raises `LockLostError`:
the caller learns that its critical section was not exclusive.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from redis.asyncio.lock import Lock
from redis.exceptions import LockError, LockNotOwnedError

from tenantguard.redis.keys import check_prefix, tenant_key

__all__ = ["LockLostError", "LockNotAcquiredError", "TenantLock"]

log = logging.getLogger("tenantguard.redis")


class LockNotAcquiredError(TimeoutError):
    """The lock was held by someone else for the whole timeout."""


class LockLostError(RuntimeError):
    """The lock expired (or was taken over) before it was released or extended."""


class TenantLock:
    def __init__(
        self,
        client: Any,
        tenant_id: object,
        name: str,
        ttl: float = 10.0,
        *,
        prefix: str = "tg",
        sleep: float = 0.05,
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive (seconds)")
        self.key = tenant_key(check_prefix(prefix), tenant_id, "lock", name, "lock name")
        self.ttl = ttl
        self._lock = Lock(client, self.key, timeout=ttl, sleep=sleep, thread_local=False)

    async def acquire(self, timeout: float | None = None) -> bool:
        """Waits up to `timeout` seconds (None: forever, 0: one try). True when acquired."""
        if timeout == 0:
            return bool(await self._lock.acquire(blocking=False))
        return bool(await self._lock.acquire(blocking=True, blocking_timeout=timeout))

    async def release(self) -> None:
        try:
            await self._lock.release()
        except LockNotOwnedError as error:
            raise LockLostError(
                f"lock {self.key} was lost before release (TTL {self.ttl}s)"
            ) from error
        except LockError as error:  # never acquired by this owner
            raise LockLostError(f"lock {self.key} is not held by this owner: {error}") from error

    async def extend(self, seconds: float | None = None) -> None:
        """Resets the TTL to `seconds` (default: the lock's ttl) while still the owner."""
        try:
            await self._lock.extend(seconds or self.ttl, replace_ttl=True)
        except LockError as error:
            raise LockLostError(f"lock {self.key} was lost before extend: {error}") from error

    async def owned(self) -> bool:
        return bool(await self._lock.owned())

    async def __aenter__(self) -> TenantLock:
        if not await self.acquire(timeout=self.ttl):
            raise LockNotAcquiredError(f"lock {self.key} is held by someone else")
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.release()
        except LockLostError:
            if error is None:
                raise
            log.error("tenantguard: lock %s was lost while the block failed", self.key)
