"""Patch pipeline at startup: the no-op run every replica pays, and a full apply.

    python benchmarks/patch_startup.py [--runs 30]

Starts a throwaway PostgreSQL. Measures, interleaved in one loop so that a busy machine weighs
on every figure alike:
- the no-op startup run (everything applied already) through a new connection, against opening
  and closing that connection alone — the runner's own cost is the difference;
- the no-op run on an open connection, against a `SELECT 1` round trip on it;
- a full apply of the shipped Dentalogic patches on an empty database (a fresh one each time).
Prints medians and the ratios. Target (issue 4): no-op startup <= 100 ms.
Then, with no server, the checks `apply` makes of a patch before it runs, on seed patches of
2 000 and 8 000 INSERTs: the CPU time per statement of each and their ratio (linear: about 1; the
call-following of round 32 was quadratic for a moment: 2 minutes for 20 000 statements).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.runner import apply_patches

PATCHES = Path(__file__).resolve().parent.parent / "patches"


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def measure(server: ThrowawayPostgres, runs: int) -> None:
    admin = await asyncpg.connect(server.dsn)
    await admin.execute("CREATE DATABASE bench_applied")
    dsn = server.dsn_for("bench_applied")
    await apply_patches(dsn, PATCHES)
    conn = await asyncpg.connect(dsn)

    async def connect_only() -> None:
        await (await asyncpg.connect(dsn)).close()

    async def select_one() -> None:
        await conn.fetchval("SELECT 1")

    figures: dict[str, list[float]] = {
        k: [] for k in ("connect", "noop_dsn", "select1", "noop_conn", "full")
    }
    for i in range(runs):  # A B A B: every figure shares the machine's moments
        figures["connect"].append(await timed(connect_only))
        figures["noop_dsn"].append(await timed(lambda: apply_patches(dsn, PATCHES)))
        figures["select1"].append(await timed(select_one))
        figures["noop_conn"].append(await timed(lambda: apply_patches(conn, PATCHES)))
        if i < min(runs, 10):
            await admin.execute(f"CREATE DATABASE bench_{i}")
            fresh = server.dsn_for(f"bench_{i}")
            figures["full"].append(await timed(lambda f=fresh: apply_patches(f, PATCHES)))
    await conn.close()
    await admin.close()
    m = {k: statistics.median(v) * 1000 for k, v in figures.items()}
    print(f"{len(list(PATCHES.glob('*.sql')))} patches, {runs} interleaved runs, medians:")
    print(
        f"  no-op startup, new connection  {m['noop_dsn']:8.2f} ms   connect+close alone "
        f"{m['connect']:7.2f} ms   ratio {m['noop_dsn'] / m['connect']:5.2f}x   (target <= 100 ms)"
    )
    print(
        f"  no-op startup, open connection {m['noop_conn']:8.2f} ms   SELECT 1 alone      "
        f"{m['select1']:7.2f} ms   ratio {m['noop_conn'] / m['select1']:5.1f}x"
    )
    print(f"  full apply on an empty database {m['full']:7.1f} ms   ({len(figures['full'])} runs)")


def seed_checks() -> None:
    """The static checks of a seed patch, per statement, at two sizes (interleaved, medians)."""
    from tenantguard.patches.files import PatchFile
    from tenantguard.patches.statements import (
        check_patch_statements,
        refuse_swallowed_retries,
        split_patch,
    )

    def run(count: int) -> float:
        text = "CREATE TABLE IF NOT EXISTS s (id int);\n" + "".join(
            f"INSERT INTO s VALUES ({i}) ON CONFLICT DO NOTHING;\n" for i in range(count)
        )
        statements = split_patch(text, "0002_s.sql")
        patch = PatchFile(2, "0002_s.sql", Path("0002_s.sql"), text, "", True)
        started = time.process_time()  # CPU: the checks wait on nothing
        check_patch_statements(patch, statements)
        refuse_swallowed_retries(patch, statements)
        return (time.process_time() - started) / count

    small: list[float] = []
    large: list[float] = []
    for _ in range(3):
        small.append(run(2000))
        large.append(run(8000))
    a, b = statistics.median(small) * 1e6, statistics.median(large) * 1e6
    print(
        f"  a seed patch's checks (CPU): 2 000 INSERTs {a:6.2f} us/statement, 8 000 {b:6.2f} "
        f"us/statement, ratio {b / a:4.2f} (linear: ~1)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with ThrowawayPostgres() as server:
        asyncio.run(measure(server, args.runs))
    seed_checks()
    return 0


if __name__ == "__main__":
    sys.exit(main())
