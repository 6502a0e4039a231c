"""Runtime guard overhead: guarded vs raw asyncpg `fetchrow` on a real PostgreSQL.

    python benchmarks/runtime_overhead.py [--rounds 30] [--queries 400]

Starts a throwaway PostgreSQL and opens one guarded connection. "Raw" calls asyncpg's own
`Connection.fetchrow` on that same connection (same socket, same server backend, same statement
cache), "guarded" calls the guarded method; rounds alternate between the two, so drift in the
machine and the CPU placement of the backend hit both alike. Prints the median per-query time of each and their ratio (warm verdict cache), the
median cost of analysing a statement seen for the first time, and the memory the verdict cache
holds at its bound. Targets (issue 5): ratio <= 1.05, first-seen <= 1 ms, memory bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
import tracemalloc

import asyncpg

from tenantguard import Policy
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.runtime import Guard, connect, tenant

POLICY = Policy("tenant_id", {"patients", "appointments"}, global_tables={"tenants"})
QUERY = "SELECT id, first_name FROM patients WHERE tenant_id = $1 AND id = $2"


async def measure(dsn: str, rounds: int, queries: int) -> None:
    setup = await asyncpg.connect(dsn)
    await setup.execute(
        "CREATE TABLE patients (id bigint, tenant_id bigint, first_name text, PRIMARY KEY (tenant_id, id));"
        "INSERT INTO patients SELECT g, 1 + g % 2, 'p' || g FROM generate_series(1, 1000) g;"
    )
    await setup.close()
    guarded = await connect(dsn, policy=POLICY)
    raw_fetchrow = asyncpg.Connection.fetchrow  # asyncpg's method, bypassing the guard
    raw_times: list[float] = []
    guarded_times: list[float] = []

    async def run_raw() -> None:
        for i in range(queries):
            await raw_fetchrow(guarded, QUERY, 1, 1 + 2 * (i % 400))

    async def run_guarded() -> None:
        for i in range(queries):
            await guarded.fetchrow(QUERY, 1, 1 + 2 * (i % 400))

    with tenant(1):
        await run_raw()  # warm: statement cache, verdict cache
        await run_guarded()
        for round_ in range(rounds):
            order = [(run_raw, raw_times), (run_guarded, guarded_times)]
            if round_ % 2:
                order.reverse()
            for runner, sink in order:
                started = time.perf_counter()
                await runner()
                sink.append((time.perf_counter() - started) / queries)
    await guarded.close()
    raw_median = statistics.median(raw_times)
    guarded_median = statistics.median(guarded_times)
    print(f"fetchrow raw        median {raw_median * 1e6:8.1f} us")
    print(f"fetchrow guarded    median {guarded_median * 1e6:8.1f} us")
    print(
        f"ratio guarded / raw        {guarded_median / raw_median:8.3f}   (target <= 1.05, aim 1.02)"
    )

    guard = Guard(POLICY)
    first_seen = []
    with tenant(1):
        for i in range(500):
            sql = f"SELECT p.id, a.starts_at FROM patients p JOIN appointments a ON a.patient_id = p.id AND a.tenant_id = p.tenant_id WHERE p.tenant_id = $1 AND p.id = {i}"
            started = time.perf_counter()
            guard.check(sql, [(1,)])
            first_seen.append(time.perf_counter() - started)
    print(
        f"first-seen analysis median {statistics.median(first_seen) * 1e3:8.3f} ms   (target <= 1 ms)"
    )

    for size in (1_000, 10_000):
        gc.collect()
        tracemalloc.start()
        bounded = Guard(POLICY, cache_size=size)
        with tenant(1):
            for i in range(3 * size):
                bounded.check(f"SELECT * FROM patients WHERE tenant_id = $1 AND id = {i}", [(1,)])
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"verdict cache {size:>6} entries after {3 * size} statements: {current / 1e6:6.2f} MB "
            f"({bounded.counters['cache_entries']} kept)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    with ThrowawayPostgres() as server:
        asyncio.run(measure(server.dsn, args.rounds, args.queries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
