"""Patch pipeline at startup: the no-op run every replica pays, and a full apply.

    python benchmarks/patch_startup.py [--runs 30]

Starts a throwaway PostgreSQL. Measures `apply_patches` of the shipped Dentalogic patches on an
empty database (full apply, each on a fresh database) and on a database where everything is
applied already (the no-op run at every start), both on an open connection and including the
connection a starting replica opens. Targets (issue 4): no-op <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.runner import apply_patches

PATCHES = Path(__file__).resolve().parent.parent / "patches"


async def measure(server: ThrowawayPostgres, runs: int) -> None:
    admin = await asyncpg.connect(server.dsn)
    full: list[float] = []
    for i in range(min(runs, 10)):
        await admin.execute(f"CREATE DATABASE bench_{i}")
        started = time.perf_counter()
        await apply_patches(server.dsn_for(f"bench_{i}"), PATCHES)
        full.append(time.perf_counter() - started)
    await admin.close()
    dsn = server.dsn_for("bench_0")
    with_connect: list[float] = []
    on_connection: list[float] = []
    conn = await asyncpg.connect(dsn)
    for _ in range(runs):
        started = time.perf_counter()
        await apply_patches(dsn, PATCHES)
        with_connect.append(time.perf_counter() - started)
        started = time.perf_counter()
        await apply_patches(conn, PATCHES)
        on_connection.append(time.perf_counter() - started)
    await conn.close()
    print(
        f"full apply on an empty database   median {statistics.median(full) * 1000:7.1f} ms ({len(full)} runs)"
    )
    print(
        f"no-op startup run, new connection median {statistics.median(with_connect) * 1000:7.1f} ms   (target <= 100 ms)"
    )
    print(
        f"no-op startup run, open connection median {statistics.median(on_connection) * 1000:6.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with ThrowawayPostgres() as server:
        asyncio.run(measure(server, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
