"""Redis primitives against a real redis-server (and PostgreSQL for the webhook helper)."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantguard.embedded import ThrowawayRedis
from tenantguard.redis import (
    DedupUnavailableError,
    LockLostError,
    LockNotAcquiredError,
    TenantLock,
    WebhookDeduplicator,
    process_webhook_once,
    tenant_key,
)

SCHEMA = (
    Path(__file__).resolve().parent.parent.parent / "db" / "init" / "dentalogic_schema.sql"
).read_text()
_PREFIXES = itertools.count()


@pytest.fixture
async def client(redis_server: ThrowawayRedis) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis(port=redis_server.port, socket_timeout=2)
    yield connection
    await connection.aclose()


@pytest.fixture
def prefix() -> str:
    return f"test{next(_PREFIXES)}"


async def test_100_concurrent_claims_have_one_winner(client: aioredis.Redis, prefix: str) -> None:
    dedup = WebhookDeduplicator(client, prefix=prefix)
    results = await asyncio.gather(*(dedup.claim(1, "wamid.A") for _ in range(100)))
    assert results.count(True) == 1
    assert await client.ttl(dedup.key(1, "wamid.A")) in range(115, 121)


async def test_same_event_id_in_another_tenant_is_independent(
    client: aioredis.Redis, prefix: str
) -> None:
    dedup = WebhookDeduplicator(client, prefix=prefix)
    assert await dedup.claim(1, "evt-1")
    assert await dedup.claim(2, "evt-1")
    assert not await dedup.claim(1, "evt-1")


async def test_release_lets_a_retry_win_and_complete_keeps_the_window(
    client: aioredis.Redis, prefix: str
) -> None:
    dedup = WebhookDeduplicator(client, prefix=prefix)
    assert await dedup.claim(7, "e")
    assert await dedup.release(7, "e")
    assert await dedup.claim(7, "e")  # the retry
    assert await dedup.complete(7, "e")
    assert await client.get(dedup.key(7, "e")) == b"done"
    assert not await dedup.claim(7, "e")  # duplicates within the window are dropped
    assert not await dedup.release(7, "e")  # nothing of ours to release


async def test_release_never_deletes_someone_elses_claim(
    client: aioredis.Redis, prefix: str
) -> None:
    first = WebhookDeduplicator(client, prefix=prefix, ttl=0.2)
    second = WebhookDeduplicator(client, prefix=prefix, ttl=5)
    assert await first.claim(1, "slow")
    await asyncio.sleep(0.3)  # the first claim expired while its handler was slow
    assert await second.claim(1, "slow")
    assert not await first.release(1, "slow")
    assert await client.get(second.key(1, "slow")) is not None


async def test_claims_expire_after_the_ttl(client: aioredis.Redis, prefix: str) -> None:
    dedup = WebhookDeduplicator(client, prefix=prefix, ttl=0.2)
    assert await dedup.claim(1, "x")
    assert not await dedup.claim(1, "x")
    await asyncio.sleep(0.3)
    assert await dedup.claim(1, "x")


async def test_once_releases_on_error_and_completes_on_success(
    client: aioredis.Redis, prefix: str
) -> None:
    dedup = WebhookDeduplicator(client, prefix=prefix)
    with pytest.raises(RuntimeError):
        async with dedup.once(1, "evt") as first:
            assert first
            raise RuntimeError("handler failed")
    assert await client.get(dedup.key(1, "evt")) is None  # retryable
    async with dedup.once(1, "evt") as first:
        assert first
    async with dedup.once(1, "evt") as again:
        assert not again


async def test_lock_exclusivity_expiry_extend_and_foreign_release(
    client: aioredis.Redis, prefix: str
) -> None:
    a = TenantLock(client, 1, "agenda", ttl=0.5, prefix=prefix)
    b = TenantLock(client, 1, "agenda", ttl=0.5, prefix=prefix)
    other_tenant = TenantLock(client, 2, "agenda", ttl=0.5, prefix=prefix)
    assert await a.acquire(timeout=0)
    assert not await b.acquire(timeout=0)
    assert await other_tenant.acquire(timeout=0)  # locks are per tenant
    with pytest.raises(LockLostError):
        await b.release()  # not the owner: refused, the lock stays
    assert await a.owned()
    await asyncio.sleep(0.3)
    await a.extend(1.0)
    await asyncio.sleep(0.4)
    assert not await b.acquire(timeout=0)  # extended past the first TTL
    await a.release()
    assert await b.acquire(timeout=0.2)
    await asyncio.sleep(0.6)  # b's TTL runs out: its critical section was not exclusive
    with pytest.raises(LockLostError):
        await b.release()
    with pytest.raises(LockLostError):
        await b.extend()


async def test_lock_context_manager_and_timeout(client: aioredis.Redis, prefix: str) -> None:
    holder = TenantLock(client, 1, "slot:42", ttl=1.0, prefix=prefix)
    async with holder:
        with pytest.raises(LockNotAcquiredError):
            await TenantLock(client, 1, "slot:42", ttl=0.2, prefix=prefix).__aenter__()
    assert not await holder.owned()
    with pytest.raises(LockLostError):
        async with TenantLock(client, 1, "short", ttl=0.1, prefix=prefix):
            await asyncio.sleep(0.25)


async def test_redis_stopped_mid_test_fail_closed_and_fail_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = ThrowawayRedis().start()
    client = aioredis.Redis(port=server.port, socket_timeout=0.5, socket_connect_timeout=0.5)
    closed = WebhookDeduplicator(client, prefix="down", timeout=1.0)
    opened = WebhookDeduplicator(client, prefix="down", timeout=1.0, on_unavailable="fail_open")
    try:
        assert await closed.claim(1, "before")
        server.stop()
        with pytest.raises(DedupUnavailableError) as refused:
            await closed.claim(1, "during")
        assert "fail_closed" in str(refused.value)
        with caplog.at_level(logging.WARNING, logger="tenantguard.redis"):
            assert await opened.claim(1, "during") is True  # processed; the database decides
            async with opened.once(1, "during-2") as first:
                assert first
        assert any("failing open" in r.getMessage() for r in caplog.records)
    finally:
        server.stop()
        await client.aclose()


@pytest.mark.parametrize(
    "retry",
    [
        pytest.param("default", id="redis-py-default-retries"),
        pytest.param("none", id="no-retries"),
        pytest.param("forever", id="retries-forever"),
    ],
)
async def test_a_stopped_redis_is_decided_within_the_timeout_whatever_the_clients_retries(
    retry: str,
) -> None:
    """The client's socket timeouts bound one attempt, not a command: redis-py (6+) retries a
    refused connection three times with backoff by default (3.5 s here for a 0.5 s socket
    timeout), or forever with retries=-1. The deduplicator's `timeout` is the whole bound."""
    from redis.asyncio.retry import Retry
    from redis.backoff import ConstantBackoff

    server = ThrowawayRedis().start()
    options: dict[str, object] = {}
    if retry == "none":
        options["retry"] = Retry(ConstantBackoff(0), 0)
    elif retry == "forever":
        options["retry"] = Retry(ConstantBackoff(0.05), -1)
    client = aioredis.Redis(
        port=server.port, socket_timeout=0.2, socket_connect_timeout=0.2, **options
    )
    dedup = WebhookDeduplicator(client, prefix=f"bound{next(_PREFIXES)}", timeout=0.3)
    loop = asyncio.get_running_loop()
    try:
        assert await dedup.claim(1, "up")
        server.stop()
        started = loop.time()
        with pytest.raises(DedupUnavailableError):
            await dedup.claim(1, "down")
        assert loop.time() - started < 1.5  # 0.3 s and the scheduler's slack, not the retries
        # no timeout given: the client's socket timeout is the whole bound
        bounded = WebhookDeduplicator(client, prefix=f"bound{next(_PREFIXES)}")
        started = loop.time()
        with pytest.raises(DedupUnavailableError):
            await bounded.claim(1, "down")
        assert loop.time() - started < 1.5
    finally:
        server.stop()
        await client.aclose()


@pytest.mark.parametrize("bad", [None, "", b"bytes", 1.5, True, ["x"]])
def test_bad_ids_are_rejected_clearly(bad: object) -> None:
    with pytest.raises(ValueError, match="id"):
        tenant_key("tg", bad, "webhook", "e")
    with pytest.raises(ValueError, match="id"):
        tenant_key("tg", 1, "webhook", bad)


def test_awkward_ids_are_encoded_into_one_slot() -> None:
    key = tenant_key("tg", "a{b}:c d", "webhook", "x:y}{z")
    assert key.count("{") == 1 and key.count("}") == 1
    assert key.startswith("tg:{t:a%7Bb%7D%3Ac%20d}:webhook:")
    long_event = tenant_key("tg", 1, "webhook", "e" * 10_000)
    assert len(long_event) < 120 and "#" in long_event
    with pytest.raises(ValueError, match="at most"):
        tenant_key("tg", "t" * 10_000, "webhook", "e")


IDS = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12), st.text(min_size=1, max_size=600)
)


@settings(max_examples=500, deadline=None)
@given(IDS, IDS, IDS, IDS)
def test_two_different_pairs_never_share_a_key(
    t1: object, e1: object, t2: object, e2: object
) -> None:
    if (str(t1), str(e1)) == (str(t2), str(e2)):
        return  # 1 and "1" are the same tenant on purpose
    assert tenant_key("tg", t1, "webhook", e1) != tenant_key("tg", t2, "webhook", e2)


def test_colliding_looking_pairs() -> None:
    pairs = [
        ("1:webhook", "2"),
        ("1", "webhook:2"),
        ("1}", "2"),
        ("1", "}2"),
        ("a", "#" + "0" * 64),
        ("a b", "c"),
    ]
    keys = {tenant_key("tg", t, "webhook", e) for t, e in pairs}
    assert len(keys) == len(pairs)


async def test_duplicate_webhooks_processed_concurrently_leave_one_row(
    client: aioredis.Redis, prefix: str, database: str
) -> None:
    setup = await asyncpg.connect(database)
    await setup.execute(SCHEMA)
    await setup.execute("INSERT INTO tenants (id, name) VALUES (1, 'North')")
    await setup.close()
    pool = await asyncpg.create_pool(database, min_size=2, max_size=10)
    dedup = WebhookDeduplicator(client, prefix=prefix)

    async def handler(conn: asyncpg.Connection) -> None:
        await conn.execute(
            "INSERT INTO chat_messages (tenant_id, direction, body, external_id) VALUES ($1, 'inbound', 'hola', $2)",
            1,
            "wamid.1",
        )
        await asyncio.sleep(0.05)

    async def deliver() -> bool:
        async with pool.acquire() as conn:
            return await process_webhook_once(dedup, conn, 1, "wamid.1", handler)

    try:
        results = await asyncio.gather(*(deliver() for _ in range(20)))
        assert results.count(True) == 1
        assert (
            await pool.fetchval("SELECT count(*) FROM chat_messages WHERE external_id = 'wamid.1'")
            == 1
        )
        assert await pool.fetchval("SELECT count(*) FROM processed_webhooks") == 1

        async def write_second(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO chat_messages (tenant_id, direction, body, external_id) "
                "VALUES (1, 'inbound', 'retry', 'wamid.2')"
            )

        async def failing(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO chat_messages (tenant_id, direction, body) VALUES (1, 'inbound', 'x')"
            )
            raise RuntimeError("downstream failed")

        async with pool.acquire() as conn:
            with pytest.raises(RuntimeError):
                await process_webhook_once(dedup, conn, 1, "wamid.2", failing)
        assert (
            await pool.fetchval("SELECT count(*) FROM chat_messages WHERE body = 'x'") == 0
        )  # rolled back
        assert (
            await pool.fetchval(
                "SELECT count(*) FROM processed_webhooks WHERE event_id = 'wamid.2'"
            )
            == 0
        )
        async with pool.acquire() as conn:
            assert await process_webhook_once(dedup, conn, 1, "wamid.2", write_second)  # retry runs

        # fail-open, Redis forgets (window over): the database key still stops the duplicate
        await client.delete(dedup.key(1, "wamid.1"))
        async with pool.acquire() as conn:
            assert not await process_webhook_once(dedup, conn, 1, "wamid.1", handler)
        assert (
            await pool.fetchval("SELECT count(*) FROM chat_messages WHERE external_id = 'wamid.1'")
            == 1
        )
    finally:
        await pool.close()


async def test_a_hanging_redis_is_bounded_by_the_timeout() -> None:
    """A server that accepts and never answers: the claim gives up after `timeout`."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = aioredis.Redis(port=port)  # no socket timeouts of its own
    dedup = WebhookDeduplicator(client, prefix="hang", timeout=0.3)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(DedupUnavailableError):
            await dedup.claim(1, "e")
        assert asyncio.get_running_loop().time() - started < 2
    finally:
        await client.aclose()
        server.close()


async def test_concurrent_claims_on_a_hanging_redis_are_each_bounded_from_their_own_start() -> None:
    """Many claims in flight, started apart, on a server that never answers: one timer serves
    them all (tenantguard.redis.deadlines), and each gives up `timeout` after its own start."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = aioredis.Redis(port=port, max_connections=50)  # no socket timeouts of its own
    dedup = WebhookDeduplicator(client, prefix="hang-many", timeout=0.3)
    loop = asyncio.get_running_loop()

    async def claim(number: int) -> float:
        await asyncio.sleep(0.04 * number)
        started = loop.time()
        with pytest.raises(DedupUnavailableError):
            await dedup.claim(1, f"e{number}")
        return loop.time() - started

    try:
        # one claim first, alone: what the first one does once (imports, the client's
        # connection pool, the shared timer) took 1.1 s of a loaded CI host's time, which is not
        # what this measures
        await claim(0)
        took = await asyncio.gather(*(claim(n) for n in range(10)))
        assert all(0.29 <= t < 1.0 for t in took), took
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
    finally:
        await client.aclose()
        server.close()


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout must be positive"):
        WebhookDeduplicator(aioredis.Redis(), timeout=0)


async def test_changing_the_timeout_after_construction_takes_effect() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = aioredis.Redis(port=port)
    dedup = WebhookDeduplicator(client, prefix="retimed", timeout=5)
    dedup.timeout = 0.2
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        with pytest.raises(DedupUnavailableError):
            await dedup.claim(1, "e")
        assert loop.time() - started < 1.0
        with pytest.raises(ValueError, match="positive"):
            dedup.timeout = -1
    finally:
        await client.aclose()
        server.close()
