"""Runtime guard overhead against raw asyncpg on a real PostgreSQL, side by side in one run.

    python benchmarks/runtime_overhead.py [--rounds 15] [--queries 400] [--pool-calls 20]
        [--hot-path-only] [--connect-only] [--watch]

Starts a throwaway PostgreSQL (64 clinics, 16 patients each) and prints:

1. warm `fetchrow` on one connection: asyncpg's own method vs the guarded one on the same
   connection (same socket, backend and statement cache), rounds alternating; median per query
   and the ratio, for an int tenant and for a uuid-keyed table with a `uuid.UUID` argument.
   Target <= 1.05. (asyncpg's method on the guarded connection still gets its
   statement from the guarded `_get_statement`: item 2 measures that part alone; item 3 compares
   with a pool of plain asyncpg connections.)
2. the guard's cost on a verdict-cache hit: creating (and closing, unsent) the coroutine of the
   guarded `fetchrow` minus that of asyncpg's own; then the check of the parameters' inferred
   types on a hit of asyncpg's statement cache (the guarded `_get_statement` minus asyncpg's,
   both run to completion without the server); for both tenants, with the share of the uuid
   checks the hot path decided. Target for the sum <= 0.8 us.
3. a pool of 8 connections shared by 64 tasks, each task its own clinic: raw asyncpg pool, a
   second raw pool (the control: the noise floor), guarded pool, guarded pool with
   `set_tenant_setting=True` (each task a different clinic: the worst case, the setting changes
   on almost every acquire); rounds interleaved; queries per second, ratios (of the medians, and
   the median of each round's ratio), client CPU per query and per acquire/release cycle
   without a query. Targets >= 0.98 and >= 0.95. In the same rounds, the raw and the guarded
   pool on the uuid-keyed table (a `uuid.UUID` tenant argument), the guarded one against raw
   asyncpg on that table.
4. the first sight of a statement (its proof) and, for long statements of several shapes, the
   time the proof holds the event loop at the default `max_statement_bytes`. Target <= 50 ms.
5. the verdict cache's memory under many distinct statements, with `cache_bytes` as its bound.
6. connecting: `asyncpg.connect` against the guarded `connect` (which reads the catalog before
   handing the connection out), and `asyncpg.create_pool(min_size=8)` against the guarded
   `create_pool` (8 connections opened at once, sharing one catalog read), each opened and
   closed in turn; wall medians and the median of each round's ratio. `--connect-only` runs
   this section alone.

Rounds alternate between the variants so that drift in a shared machine hits all alike; the
figures are medians. On a machine shared with other work, run it twice and compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from tenantguard import Policy
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.runtime import Guard, connect, create_pool, tenant
from tenantguard.runtime.guard import DEFAULT_MAX_STATEMENT_BYTES
from tenantguard.runtime.schema_code import CATALOG_WATCH

POLICY = Policy("tenant_id", {"patients", "appointments", "documents"}, global_tables={"tenants"})
QUERY = "SELECT id, first_name FROM patients WHERE tenant_id = $1 AND id = $2"
# the same workload on a uuid-keyed table, the tenant bound as a uuid.UUID (what most
# uuid-keyed applications pass): the guard freezes it into asyncpg's own UUID before the check
UUID_QUERY = "SELECT id, title FROM documents WHERE tenant_id = $1 AND id = $2"
CLINICS = 64
PER_CLINIC = 16


def clinic_uuid(clinic: int) -> uuid.UUID:
    return uuid.UUID(int=0x0F0E_0000_0000_4000_8000_0000_0000_0000 + clinic)


T = TypeVar("T")


async def _rounds(
    rounds: int, variants: dict[str, Callable[[], Awaitable[T]]]
) -> dict[str, list[T]]:
    """Each variant's figures over rounds, the order rotating each round, after one run of
    each that is not kept (warm-up: connections, statement caches, proofs)."""
    figures: dict[str, list[T]] = {name: [] for name in variants}
    names = list(variants)
    for name in names:
        await variants[name]()
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            figures[name].append(await variants[name]())
    return figures


async def _interleave(
    rounds: int, variants: dict[str, Callable[[], Awaitable[float]]]
) -> dict[str, float]:
    """Median of each variant's figure over rounds (`_rounds`)."""
    figures = await _rounds(rounds, variants)
    return {name: statistics.median(values) for name, values in figures.items()}


async def single_connection(dsn: str, rounds: int, queries: int) -> None:
    guarded = await connect(dsn, policy=POLICY)
    raw_fetchrow = asyncpg.Connection.fetchrow  # asyncpg's method, bypassing the guard

    async def raw() -> float:
        started = time.perf_counter()
        for i in range(queries):
            await raw_fetchrow(guarded, QUERY, 1, 1 + i % PER_CLINIC)
        return (time.perf_counter() - started) / queries

    async def guard() -> float:
        started = time.perf_counter()
        for i in range(queries):
            await guarded.fetchrow(QUERY, 1, 1 + i % PER_CLINIC)
        return (time.perf_counter() - started) / queries

    clinic = clinic_uuid(1)

    async def raw_uuid() -> float:
        started = time.perf_counter()
        for i in range(queries):
            await raw_fetchrow(guarded, UUID_QUERY, clinic, 1 + i % PER_CLINIC)
        return (time.perf_counter() - started) / queries

    async def guard_uuid() -> float:
        started = time.perf_counter()
        for i in range(queries):
            await guarded.fetchrow(UUID_QUERY, clinic, 1 + i % PER_CLINIC)
        return (time.perf_counter() - started) / queries

    with tenant(1):
        medians = await _interleave(rounds, {"raw": raw, "guarded": guard})
        overhead = _call_overhead(guarded, QUERY, (1, 7))
        typed = _statement_overhead(guarded, QUERY)
    with tenant(clinic):
        medians_uuid = await _interleave(rounds, {"raw": raw_uuid, "guarded": guard_uuid})
        hits, checked = guarded.tenantguard.fast_hits, guarded.tenantguard.checked
        overhead_uuid = _call_overhead(guarded, UUID_QUERY, (clinic, 7))
        fast_share = (guarded.tenantguard.fast_hits - hits) / (
            guarded.tenantguard.checked - checked
        )
        typed_uuid = _statement_overhead(guarded, UUID_QUERY)
    await guarded.close()
    print("1. warm fetchrow, one connection")
    for label, figures in (("int tenant", medians), ("uuid tenant", medians_uuid)):
        ratio = figures["guarded"] / figures["raw"]
        print(
            f"   {label:<12} raw {figures['raw'] * 1e6:7.1f} us  guarded "
            f"{figures['guarded'] * 1e6:7.1f} us  ratio {ratio:6.3f}  (target <= 1.05)"
        )
    print("2. guard overhead of a cache hit (coroutine made and closed, nothing sent)")
    for label, call, types in (
        ("int tenant", overhead, typed),
        ("uuid tenant", overhead_uuid, typed_uuid),
    ):
        print(
            f"   {label:<12} guarded - raw {call * 1e6:6.3f} us + parameter types "
            f"{types * 1e6:6.3f} us = {(call + types) * 1e6:6.3f} us  (target <= 0.8 us)"
        )
    print(
        f"   (uuid: a uuid.UUID argument; {fast_share:.0%} of its checks took the hot path;"
        " asyncpg's raw call encodes the uuid.UUID later, reading its .bytes then)"
    )


def _call_overhead(
    conn: asyncpg.Connection,
    query: str,
    args: tuple[Any, ...],
    calls: int = 20000,
    rounds: int = 15,
) -> float:
    raw_fetchrow = asyncpg.Connection.fetchrow
    guarded_fetchrow = conn.fetchrow
    differences = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            raw_fetchrow(conn, query, *args).close()
        raw = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(calls):
            guarded_fetchrow(query, *args).close()
        guarded = time.perf_counter() - started
        differences.append((guarded - raw) / calls)
    return statistics.median(differences)


def _statement_overhead(
    conn: asyncpg.Connection, query: str, calls: int = 20000, rounds: int = 15
) -> float:
    """The guarded `_get_statement` minus asyncpg's on a hit of its statement cache (what every
    execution of a cached statement calls); each coroutine finishes on its first step."""
    raw_get = asyncpg.Connection._get_statement  # type: ignore[attr-defined]
    guarded_get = conn._get_statement  # type: ignore[attr-defined]

    def run(coroutine: Any) -> None:
        try:
            coroutine.send(None)
        except StopIteration:
            return
        raise RuntimeError("the statement was not in asyncpg's cache")

    differences = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            run(raw_get(conn, query, None))
        raw = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(calls):
            run(guarded_get(query, None))
        guarded = time.perf_counter() - started
        differences.append((guarded - raw) / calls)
    return statistics.median(differences)


async def pools(dsn: str, rounds: int, calls: int) -> None:
    """Section 3: four pools, each run alone in turn, the order rotating each round.

    Two plain asyncpg pools (the second is the control: what the same code scores against
    itself here, connections on other backends, the figure's noise floor), the guarded pool,
    and the guarded pool with the tenant setting. Each pool has its 8 connections open and its
    statement prepared on each before the first measured round; garbage is collected before
    each run so that one pool's is not collected in another's. Two workloads: `fetchrow` through
    the pool (acquire, query, release: what an application does), and the cycle alone (acquire
    and release with no query: the pool's reset, and what the guard adds to it).
    """
    tasks = 64
    kwargs: dict[str, Any] = {"min_size": 8, "max_size": 8}
    raw_pool = await asyncpg.create_pool(dsn, **kwargs)
    control_pool = await asyncpg.create_pool(dsn, **kwargs)
    guarded_pool = await create_pool(dsn, policy=POLICY, **kwargs)
    setting_pool = await create_pool(dsn, policy=POLICY, set_tenant_setting=True, **kwargs)
    named = {"raw": raw_pool, "control": control_pool, "guarded": guarded_pool}
    named["setting"] = setting_pool
    for pool in named.values():
        await _prepare_everywhere(pool)

    def workload(
        pool: asyncpg.Pool, query: bool, uuid_keyed: bool = False
    ) -> Callable[[], Awaitable[tuple[float, float]]]:
        async def worker(clinic: int) -> None:
            key: int | uuid.UUID = clinic_uuid(clinic) if uuid_keyed else clinic
            sql = UUID_QUERY if uuid_keyed else QUERY
            with tenant(key):
                for i in range(calls):
                    if query:
                        await pool.fetchrow(
                            sql, key, (clinic - 1) * PER_CLINIC + 1 + i % PER_CLINIC
                        )
                    else:
                        async with pool.acquire():
                            pass

        async def run() -> tuple[float, float]:
            gc.collect()
            started, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker(1 + n % CLINICS) for n in range(tasks)))
            cpu_used, wall = time.process_time() - cpu, time.perf_counter() - started
            return tasks * calls / wall, cpu_used / (tasks * calls)

        return run

    query_variants = {n: workload(p, True) for n, p in named.items()}
    # the uuid-keyed table through the same raw and guarded pools, in the same rounds
    query_variants["raw uuid"] = workload(raw_pool, True, uuid_keyed=True)
    query_variants["guarded uuid"] = workload(guarded_pool, True, uuid_keyed=True)
    queries = await _rounds(rounds, query_variants)
    syncs = setting_pool.tenantguard.setting_syncs
    skipped = setting_pool.tenantguard.resets_skipped
    cycles = await _rounds(rounds, {n: workload(p, False) for n, p in named.items()})
    for pool in named.values():
        await pool.close()

    def median(figures: list[tuple[float, float]], index: int) -> float:
        return statistics.median(figure[index] for figure in figures)

    print(
        f"3. pool of 8 connections, {tasks} tasks x {calls} fetchrow each, one clinic per task;"
        f" medians of {rounds} rounds"
    )
    print("   (ratio: of the medians; paired: median of each round's ratio to raw in that round;")
    print("    CPU: raw's client CPU per query over this one's, the ratio a CPU-bound client gets;")
    print("    a cycle is acquire + release with no query: the pool's reset and the guard's part)")
    print(
        f"   {'':27} {'queries/s':>9} {'ratio':>6} {'paired':>6} {'CPU':>6}"
        f" {'CPU/query':>10} {'CPU/cycle':>10}"
    )
    labels = {
        "raw": "raw asyncpg pool",
        "control": "raw again (control)",
        "guarded": "guarded pool",
        "setting": "guarded, tenant setting",
    }
    targets = {
        "control": "",
        "guarded": "target >= 0.98",
        "setting": "target >= 0.95",
        "guarded uuid": "target >= 0.98 (to raw uuid)",
    }
    labels["raw uuid"] = "raw asyncpg pool, uuid"
    labels["guarded uuid"] = "guarded pool, uuid"
    for name, label in labels.items():
        # the uuid rows against raw asyncpg on the uuid-keyed table
        base = "raw uuid" if name.endswith("uuid") else "raw"
        base_rate, base_cpu = median(queries[base], 0), median(queries[base], 1)
        rate = median(queries[name], 0)
        paired = statistics.median(
            mine[0] / raw[0] for mine, raw in zip(queries[name], queries[base], strict=True)
        )
        cpu = median(queries[name], 1)
        cycle = f"{median(cycles[name], 1) * 1e6:7.1f} us" if name in cycles else f"{'':10}"
        line = (
            f"   {label:<27} {rate:9.0f} {rate / base_rate:6.3f} {paired:6.3f}"
            f" {base_cpu / cpu:6.3f} {cpu * 1e6:7.1f} us {cycle}  {targets.get(name, '')}"
        )
        print(line.rstrip())
    print(f"   (setting round trips {syncs}, pool resets skipped {skipped};")
    print("    client CPU is steadier than wall time on a shared machine)")


async def _prepare_everywhere(pool: asyncpg.Pool) -> None:
    """Runs the query once on each of the pool's connections, all held at once."""
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    with tenant(1):
        for connection in held:
            await connection.fetchrow(QUERY, 1, 1)
    with tenant(clinic_uuid(1)):
        for connection in held:
            await connection.fetchrow(UUID_QUERY, clinic_uuid(1), 1)
    for connection in held:
        await pool.release(connection)


def _shapes(n: int) -> dict[str, str]:
    return {
        "AND chain": "SELECT * FROM patients WHERE tenant_id = $1 AND "
        + " AND ".join(f"first_name <> 'x{i}'" for i in range(n)),
        "IN list": "SELECT * FROM patients WHERE tenant_id = $1 AND id IN ("
        + ", ".join(str(i) for i in range(n))
        + ")",
        "VALUES rows": "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES "
        + ", ".join(f"($1, 'n{i}', '{i}')" for i in range(n)),
        "UNION": " UNION ALL ".join(
            f"SELECT id FROM patients WHERE tenant_id = $1 AND id = {i}" for i in range(n)
        ),
        "joins": "SELECT * FROM patients p "
        + " ".join(
            f"JOIN appointments a{i} ON a{i}.tenant_id = p.tenant_id AND a{i}.patient_id = p.id"
            for i in range(n)
        )
        + " WHERE p.tenant_id = $1",
        "CTE chain": "WITH c0 AS (SELECT * FROM patients WHERE tenant_id = $1), "
        + ", ".join(f"c{i} AS (SELECT * FROM c{i - 1})" for i in range(1, n))
        + f" SELECT * FROM c{n - 1}",
        "long string": "SELECT * FROM patients WHERE tenant_id = $1 AND first_name = '"
        + "x" * (n * 20)
        + "'",
    }


def _largest_under(shape: str, limit: int) -> str:
    low, high = 1, 2
    while len(_shapes(high)[shape].encode()) <= limit:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if len(_shapes(middle)[shape].encode()) <= limit:
            low = middle
        else:
            high = middle
    return _shapes(low)[shape]


def proofs() -> None:
    guard = Guard(POLICY)
    first_seen = []
    with tenant(1):
        for i in range(300):
            sql = (
                "SELECT p.id, a.starts_at FROM patients p JOIN appointments a ON a.patient_id = "
                f"p.id AND a.tenant_id = p.tenant_id WHERE p.tenant_id = $1 AND p.id = {i}"
            )
            started = time.perf_counter()
            guard.check(sql, [(1,)])
            first_seen.append(time.perf_counter() - started)
    print("4. the proof of a statement seen for the first time (holds the event loop)")
    print(f"   a two-table join          median {statistics.median(first_seen) * 1e3:8.3f} ms")
    limit = DEFAULT_MAX_STATEMENT_BYTES
    print(f"   longest statements under max_statement_bytes = {limit} (target <= 50 ms):")
    for shape in _shapes(1):
        sql = _largest_under(shape, limit)
        times = []
        for _ in range(3):
            fresh = Guard(POLICY)
            started = time.perf_counter()
            with tenant(1), contextlib.suppress(Exception):
                fresh.check(sql, [(1,)])
            times.append(time.perf_counter() - started)
        worst = statistics.median(times) * 1e3
        mark = "" if worst <= 50 else "   ABOVE TARGET"
        print(f"   {shape:<14} {len(sql.encode()):>6} bytes {worst:8.1f} ms{mark}")


def cache_memory() -> None:
    print("5. verdict cache memory (tracemalloc), 2 KiB statements, all distinct")
    filler = "y" * 2000
    for bound in (1 << 20, 8 << 20):
        gc.collect()
        tracemalloc.start()
        guard = Guard(POLICY, cache_bytes=bound)
        with tenant(1):
            for i in range(3 * bound // 2048):
                guard.check(
                    f"SELECT * FROM patients WHERE tenant_id = $1 AND id = {i} AND "
                    f"first_name <> '{filler}'",
                    [(1,)],
                )
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        counters = guard.counters
        print(
            f"   cache_bytes {bound >> 20:>2} MiB: {counters['cache_entries']:>5} entries, "
            f"accounted {counters['cache_bytes'] / 2**20:5.2f} MiB, traced {current / 2**20:5.2f} MiB"
        )


async def connecting(dsn: str, rounds: int) -> None:
    """Section 6: the time to a usable connection and to a ready pool of 8, raw and guarded."""
    kwargs: dict[str, Any] = {"min_size": 8, "max_size": 8}

    def timed(
        open_: Callable[[], Awaitable[Any]],
    ) -> Callable[[], Awaitable[float]]:
        async def run() -> float:
            started = time.perf_counter()
            opened = await open_()
            took = time.perf_counter() - started
            await opened.close()
            return took

        return run

    figures = await _rounds(
        rounds,
        {
            "connect raw": timed(lambda: asyncpg.connect(dsn)),
            "connect guarded": timed(lambda: connect(dsn, policy=POLICY)),
            "pool raw": timed(lambda: asyncpg.create_pool(dsn, **kwargs)),
            "pool guarded": timed(lambda: create_pool(dsn, policy=POLICY, **kwargs)),
        },
    )
    print(f"6. connecting (medians of {rounds} rounds, wall)")
    for kind in ("connect", "pool"):
        raw, guarded = figures[f"{kind} raw"], figures[f"{kind} guarded"]
        paired = statistics.median(g / r for g, r in zip(guarded, raw, strict=True))
        what = "one connection" if kind == "connect" else "pool of 8 (min_size=8)"
        print(
            f"   {what:<24} raw {statistics.median(raw) * 1e3:7.2f} ms   guarded "
            f"{statistics.median(guarded) * 1e3:7.2f} ms   guarded/raw {paired:5.2f}"
        )


async def measure(dsn: str, args: argparse.Namespace) -> None:
    setup = await asyncpg.connect(dsn)
    await setup.execute(
        "CREATE TABLE patients (id bigint, tenant_id bigint, first_name text, phone_number text,"
        " PRIMARY KEY (tenant_id, id));"
        f"INSERT INTO patients SELECT g, 1 + (g - 1) / {PER_CLINIC}, 'p' || g, g::text "
        f"FROM generate_series(1, {CLINICS * PER_CLINIC}) g;"
        "CREATE TABLE appointments (id bigint, tenant_id bigint, patient_id bigint,"
        " starts_at timestamptz);"
        "CREATE TABLE documents (id bigint, tenant_id uuid, title text,"
        " PRIMARY KEY (tenant_id, id));"
    )
    # the same rows keyed by uuid: clinic n is clinic_uuid(n)
    await setup.executemany(
        "INSERT INTO documents VALUES ($1, $2, $3)",
        [
            (g, clinic_uuid(1 + (g - 1) // PER_CLINIC), f"d{g}")
            for g in range(1, CLINICS * PER_CLINIC + 1)
        ],
    )
    if args.watch:  # the catalog watch: each lease's first round trip checks its count
        await setup.execute(CATALOG_WATCH)
    await setup.close()
    if args.connect_only:
        await connecting(dsn, args.rounds)
        return
    await single_connection(dsn, args.rounds, args.queries)
    await pools(dsn, args.rounds, args.pool_calls)
    if args.hot_path_only:
        return
    proofs()
    cache_memory()
    await connecting(dsn, args.rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--pool-calls", type=int, default=20)
    parser.add_argument(
        "--hot-path-only", action="store_true", help="sections 1-3 only (the guard's hot path)"
    )
    parser.add_argument("--connect-only", action="store_true", help="section 6 only")
    parser.add_argument(
        "--watch", action="store_true", help="install the catalog watch (schema_code.CATALOG_WATCH)"
    )
    args = parser.parse_args()
    with ThrowawayPostgres() as server:
        asyncio.run(measure(server.dsn, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
