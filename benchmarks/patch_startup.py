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
Then a seed patch applied: 5 000 single-row INSERTs into one table, and the same into a table
with a (trivial) row trigger, on the throwaway server: the wall time of `apply_patches` and the
queries it sends per statement (round trips, counted on the connection). With `--against DIR`
(a checkout of another commit, e.g. 2d31602, importable from DIR; repeatable) the same figures for that
tree, interleaved run by run, side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


SEED_ROWS = 5000


class CountingConnection(asyncpg.Connection):  # type: ignore[misc]
    """Counts the queries sent (each one a round trip to the server)."""

    sent = 0

    async def execute(self, *args: object, **kwargs: object) -> object:
        CountingConnection.sent += 1
        return await super().execute(*args, **kwargs)

    async def fetch(self, *args: object, **kwargs: object) -> object:
        CountingConnection.sent += 1
        return await super().fetch(*args, **kwargs)

    async def fetchval(self, *args: object, **kwargs: object) -> object:
        CountingConnection.sent += 1
        return await super().fetchval(*args, **kwargs)

    async def fetchrow(self, *args: object, **kwargs: object) -> object:
        CountingConnection.sent += 1
        return await super().fetchrow(*args, **kwargs)


async def seed_apply(dsn: str, database: str, trigger: bool) -> tuple[float, int]:
    """One seed patch of SEED_ROWS INSERTs applied on a fresh database: (seconds, queries)."""
    admin = await asyncpg.connect(dsn)
    await admin.execute(f"CREATE DATABASE {database}")
    await admin.close()
    target = dsn.rsplit("/", 1)[0] + "/" + database
    conn = await asyncpg.connect(target, connection_class=CountingConnection)
    await conn.execute("CREATE TABLE s (id int PRIMARY KEY, note text)")
    if trigger:
        await conn.execute(
            "CREATE FUNCTION s_touch() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN NEW.note := 'seen'; RETURN NEW; END $$;"
            "CREATE TRIGGER s_touch BEFORE INSERT ON s FOR EACH ROW EXECUTE FUNCTION s_touch()"
        )
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "0001_seed.sql").write_text(
            "".join(f"INSERT INTO s VALUES ({i}, 'n{i}');\n" for i in range(SEED_ROWS))
        )
        CountingConnection.sent = 0
        started = time.perf_counter()
        await apply_patches(conn, folder)
        took = time.perf_counter() - started
        sent = CountingConnection.sent
    rows = await conn.fetchval("SELECT count(*) FROM s")
    await conn.close()
    assert rows == SEED_ROWS, rows
    return took, sent


def seed_worker(dsn: str, database: str, trigger: bool) -> None:
    took, sent = asyncio.run(seed_apply(dsn, database, trigger))
    print(json.dumps({"seconds": took, "queries": sent}))


def seed_figures(server: ThrowawayPostgres, runs: int, against: list[str]) -> None:
    """Each tree's seed apply in a process of its own (its `tenantguard` first on the path),
    interleaved: this tree, the other, this tree, …"""
    trees = {"this tree": str(Path(__file__).resolve().parent.parent)}
    for other in against:
        trees[f"{Path(other).name} ({_commit(other)})"] = str(Path(other).resolve())
    figures: dict[tuple[str, bool], list[tuple[float, int]]] = {}
    for i in range(runs):
        for trigger in (False, True):
            for label, root in trees.items():
                database = f"seed_{i}_{int(trigger)}_{len(figures) % 97}_{abs(hash(label)) % 997}"
                out = subprocess.run(
                    [sys.executable, __file__, "--seed-worker", server.dsn, database]
                    + (["--trigger"] if trigger else []),
                    check=True,
                    capture_output=True,
                    text=True,
                    env={**os.environ, "PYTHONPATH": root},
                ).stdout
                got = json.loads(out.strip().splitlines()[-1])
                figures.setdefault((label, trigger), []).append((got["seconds"], got["queries"]))
    print(
        f"  seed patch applied, {SEED_ROWS} single-row INSERTs, {runs} interleaved runs, medians:"
    )
    for trigger in (False, True):
        table = "table with a row trigger" if trigger else "plain table             "
        cells = []
        for label in trees:
            runs_of = figures[(label, trigger)]
            seconds = statistics.median(r[0] for r in runs_of)
            per = statistics.median(r[1] for r in runs_of) / SEED_ROWS
            cells.append(f"{label:>20}: {seconds:6.2f} s, {per:4.2f} queries/statement")
        print(f"    {table}\n      " + "\n      ".join(cells))


def _commit(root: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed-runs", type=int, default=3)
    parser.add_argument(
        "--against",
        action="append",
        default=[],
        help="another checkout whose seed apply to measure beside (repeatable)",
    )
    parser.add_argument("--seed-only", action="store_true", help="only the seed patch figures")
    parser.add_argument(
        "--seed-worker", nargs=2, metavar=("DSN", "DATABASE"), help=argparse.SUPPRESS
    )
    parser.add_argument("--trigger", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_worker:
        seed_worker(*args.seed_worker, args.trigger)
        return 0
    with ThrowawayPostgres() as server:
        if not args.seed_only:
            asyncio.run(measure(server, args.runs))
        seed_figures(server, args.seed_runs, args.against)
    if not args.seed_only:
        seed_checks()
    return 0


if __name__ == "__main__":
    sys.exit(main())
