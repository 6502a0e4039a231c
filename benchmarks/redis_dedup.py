"""Webhook claim latency vs a raw `SET NX EX`, on a real redis-server, interleaved.

    python benchmarks/redis_dedup.py [--rounds 30] [--claims 500]

Starts a throwaway redis-server and alternates rounds of `WebhookDeduplicator.claim` and of the
bare `SET key value NX EX 120` it wraps, on one client, with fresh keys each time. Prints both
medians and their ratio (target: ratio <= 1.1), and the client process's CPU time per command
of each (steadier than wall time when the machine is shared). Twice: with redis-py's default
client (it retries, so the deduplicator bounds each claim itself: one timer per event loop for
all claims, tenantguard.redis.deadlines), and with a client that does not retry (its socket
timeouts bound a command: no timer).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import time

import redis.asyncio as aioredis

from tenantguard.embedded import ThrowawayRedis
from tenantguard.redis import WebhookDeduplicator


async def measure(port: int, rounds: int, claims: int, *, retries: bool) -> None:
    options: dict[str, object] = {}
    if not retries:
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        options["retry"] = Retry(NoBackoff(), 0)
    client = aioredis.Redis(port=port, socket_timeout=1.0, socket_connect_timeout=1.0, **options)
    dedup = WebhookDeduplicator(client, prefix="bench")
    print(
        "a client with redis-py's default retries (the deduplicator's deadlines bound a claim)"
        if retries
        else "a client without retries (its socket timeouts bound a claim)"
    )
    counter = itertools.count()
    raw_times: list[float] = []
    claim_times: list[float] = []
    raw_cpu: list[float] = []
    claim_cpu: list[float] = []

    async def raw_round() -> None:
        for _ in range(claims):
            await client.set(f"raw:{{t:1}}:webhook:{next(counter)}", "processing", nx=True, ex=120)

    async def claim_round() -> None:
        for _ in range(claims):
            await dedup.claim(1, f"wamid.{next(counter)}")

    await raw_round()
    await claim_round()
    for round_ in range(rounds):
        order = [(raw_round, raw_times, raw_cpu), (claim_round, claim_times, claim_cpu)]
        if round_ % 2:
            order.reverse()
        for runner, sink, cpu_sink in order:
            started, cpu = time.perf_counter(), time.process_time()
            await runner()
            sink.append((time.perf_counter() - started) / claims)
            cpu_sink.append((time.process_time() - cpu) / claims)
    await client.aclose()
    raw, claim = statistics.median(raw_times), statistics.median(claim_times)
    print(f"raw SET NX EX     median {raw * 1e6:7.1f} us")
    print(f"dedup.claim       median {claim * 1e6:7.1f} us")
    print(f"ratio claim / raw        {claim / raw:7.3f}   (target <= 1.1)")
    # the client's own CPU per command: steadier than wall time on a shared machine
    raw_c, claim_c = statistics.median(raw_cpu), statistics.median(claim_cpu)
    print(f"client CPU per command   raw {raw_c * 1e6:6.1f} us, claim {claim_c * 1e6:6.1f} us")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--claims", type=int, default=500)
    args = parser.parse_args()
    with ThrowawayRedis() as server:
        asyncio.run(measure(server.port, args.rounds, args.claims, retries=True))
        asyncio.run(measure(server.port, args.rounds, args.claims, retries=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
