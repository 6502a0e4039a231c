"""Webhook de-duplication: one claim per (tenant, event) for a window (default 120 s).

A delivery claims its event with one `SET key token NX EX ttl` round trip: exactly one of any
number of concurrent deliveries gets True. On success the claim is completed (the key stays for
the rest of the window, so late duplicates are dropped); on failure it is released (deleted, if
it is still this claim's), so the provider's retry can run.

Every command is bounded in time, retries included: by `timeout` seconds when given, else by the
client's own `socket_timeout`/`socket_connect_timeout` (redis-py's default: 5 s), else by 5 s.

When Redis cannot be reached, `on_unavailable` decides, never an accident:
`"fail_closed"` (default) raises `DedupUnavailableError`; `"fail_open"` logs a warning and lets
the delivery be processed — the database's unique key (`tenant_id, event_id`) must then stop
duplicates.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from asyncio import CancelledError
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tenantguard.redis.deadlines import Deadlines
from tenantguard.redis.keys import check_prefix, tenant_key

__all__ = ["DedupUnavailableError", "WebhookDeduplicator"]

log = logging.getLogger("tenantguard.redis")
T = TypeVar("T")
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError)

# delete the key only if it still holds this claim's token
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)
# mark done only if it still holds this claim's token; keep the window's remaining TTL
_COMPLETE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('set', KEYS[1], 'done', 'KEEPTTL') else return false end"
)


class DedupUnavailableError(RuntimeError):
    """Redis could not be reached and the deduplicator is configured to fail closed."""


def _retries(retry: Any) -> int:
    """How many times a redis-py `Retry` retries a failed command (-1: forever)."""
    if retry is None:
        return 0
    count = retry.get_retries() if hasattr(retry, "get_retries") else getattr(retry, "_retries", 1)
    return int(count) if isinstance(count, int) else 1


class WebhookDeduplicator:
    def __init__(
        self,
        client: Any,
        ttl: float = 120,
        prefix: str = "tg",
        *,
        on_unavailable: Literal["fail_closed", "fail_open"] = "fail_closed",
        timeout: float | None = None,
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive (seconds)")
        if on_unavailable not in ("fail_closed", "fail_open"):
            raise ValueError("on_unavailable must be 'fail_closed' or 'fail_open'")
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be positive (seconds), or None for the client's own")
        self.client = client
        self.ttl = ttl
        self.prefix = check_prefix(prefix)
        self.on_unavailable = on_unavailable
        self._tokens: dict[str, str] = {}
        self._nonce = secrets.token_hex(8)
        self._claims = itertools.count()
        # a client with socket timeouts bounds every command itself; otherwise `timeout` does
        pool = getattr(client, "connection_pool", None)
        kwargs = getattr(pool, "connection_kwargs", {}) or {}
        own = [kwargs.get("socket_timeout"), kwargs.get("socket_connect_timeout")]
        # ... one attempt: a client that retries (redis-py 6+ does, three times with backoff, by
        # default; retries=-1 is forever) takes several, so only a client without retries
        # bounds a command by its socket timeouts
        self._client_bound: float | None = max(own) if all(own) else None  # type: ignore[type-var]
        self._client_retries = _retries(kwargs.get("retry"))
        self.timeout = float(self._client_bound or 5.0) if timeout is None else timeout
        self._release = client.register_script(_RELEASE)
        self._complete = client.register_script(_COMPLETE)

    @property
    def timeout(self) -> float:
        """Seconds a command may take, retries included."""
        return self._deadlines.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        # one timer per event loop bounds every command the client does not bound itself
        self._deadlines = Deadlines(value)
        self._client_bounded = (
            self._client_bound is not None
            and self._client_bound <= value
            and self._client_retries == 0
        )

    def key(self, tenant_id: object, event_id: object) -> str:
        return tenant_key(self.prefix, tenant_id, "webhook", event_id, "event id")

    async def _call(self, operation: Awaitable[T], what: str, fail_open_result: T) -> T:
        """Runs one Redis command within `timeout`; Redis being unreachable is decided here."""
        try:
            if self._client_bounded:
                return await operation
            return await self._deadlines.run(operation)
        except _UNREACHABLE as error:
            return self._unreachable(error, what, fail_open_result)
        except RedisError as error:
            raise DedupUnavailableError(f"Redis refused {what}: {error}") from error

    def _unreachable(self, error: BaseException, what: str, fail_open_result: T) -> T:
        if self.on_unavailable == "fail_open":
            log.warning(
                "tenantguard: Redis unavailable during %s (%s: %s); failing open",
                what,
                type(error).__name__,
                error,
            )
            return fail_open_result
        raise DedupUnavailableError(
            f"Redis is unavailable ({type(error).__name__}: {error}); the webhook was not "
            "processed (fail_closed). Let the provider retry, or configure fail_open with a "
            "unique key in the database"
        ) from error

    async def claim(self, tenant_id: object, event_id: object) -> bool:
        """True for exactly one caller per (tenant, event) within the window."""
        key = self.key(tenant_id, event_id)
        # unique per claim: this deduplicator's random nonce and a counter
        token = f"processing:{self._nonce}:{next(self._claims)}"
        operation = self.client.set(key, token, nx=True, px=max(1, int(self.ttl * 1000)))
        try:  # (not through _call, nor Deadlines.run: no coroutine frame between this one and
            # the client's, through which each resumption of the command would pass)
            if self._client_bounded:  # the client bounds the command: no timer
                result = await operation
            else:
                deadlines = self._deadlines
                command = deadlines.begin(operation)
                try:
                    result = await operation
                except CancelledError as error:
                    deadlines.cancelled(command, error)  # TimeoutError: past the deadline
                    raise
                finally:
                    deadlines.end(command)
        except _UNREACHABLE as error:
            result = self._unreachable(error, "claim", True)  # fail open: process it
        except RedisError as error:
            raise DedupUnavailableError(f"Redis refused claim: {error}") from error
        if result:
            self._tokens[key] = token
            return True
        return False

    async def release(self, tenant_id: object, event_id: object) -> bool:
        """After a failure: frees the claim (only this process's own) so a retry can claim it."""
        key = self.key(tenant_id, event_id)
        token = self._tokens.pop(key, None)
        if token is None:
            return False
        return bool(await self._call(self._release(keys=[key], args=[token]), "release", 0))

    async def complete(self, tenant_id: object, event_id: object) -> bool:
        """After success: keeps the key for the rest of the window, so duplicates are dropped."""
        key = self.key(tenant_id, event_id)
        token = self._tokens.pop(key, None)
        if token is None:
            return False
        return bool(await self._call(self._complete(keys=[key], args=[token]), "complete", None))

    @asynccontextmanager
    async def once(self, tenant_id: object, event_id: object) -> AsyncIterator[bool]:
        """`async with dedup.once(t, e) as first:` — process only when `first`; released on
        exception, completed on success."""
        first = await self.claim(tenant_id, event_id)
        try:
            yield first
        except BaseException:
            if first:
                try:
                    await self.release(tenant_id, event_id)
                except DedupUnavailableError as error:  # the handler's error matters more
                    log.error("tenantguard: could not release webhook claim: %s", error)
            raise
        if first:
            await self.complete(tenant_id, event_id)
