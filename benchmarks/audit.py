"""`tenantguard audit` on a large catalog and a large recorded traffic.

    python benchmarks/audit.py [--tables 2000] [--shapes 5] [--roles 5] [--rounds 3]

Starts a throwaway PostgreSQL with pg_stat_statements and the csv log (`log_statement = all`),
creates `--tables` tenant tables (RLS forced with a tenant policy, as the Dentalogic patches do;
a few views and SECURITY DEFINER functions among them), and runs a workload: `--shapes`
statement shapes per table (one in five leaks), each sent by `--roles` roles — so that
pg_stat_statements records tables x shapes x roles entries (50 000 by default) of
tables x shapes distinct texts (10 000), which the verdict cache analyses once each. Then it
measures, in one run, rounds interleaved, medians printed side by side:

  read      connecting and reading the catalog and pg_stat_statements (one transaction);
  policy    the engine's policy from the catalog (views and functions sorted by the proof);
  rules     the catalog rules TG201-TG216;
  floor     parsing every distinct text with the tool's own reader, one process: the floor;
  traffic   the proof of every recorded statement, one process (--jobs 1) and all cores;
  audit     `tenantguard audit` in-process, end to end (all cores), against the 10 s goal;
  log       the same traffic read from the server's csvlog instead (--statements).

The machine it runs on is shared: figures are noisy, hence rounds and medians, and the CPU time
of each step next to its wall time (the server's own work is not in it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from tenantguard.audit.catalog import AuditRead, read_database
from tenantguard.audit.rowpolicy import PolicyReader
from tenantguard.audit.rules import AuditContext, check_catalog
from tenantguard.audit.schema import live_policy
from tenantguard.audit.traffic import analyse_texts
from tenantguard.cli import main
from tenantguard.config import Settings
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import Analyzer, parse_statement
from tenantguard.runtime import rls_policy_sql

GOAL_SECONDS = 10.0

SHAPES = [
    "SELECT id, name, amount FROM {t} WHERE tenant_id = 1 AND id = 5",
    "SELECT a.id, b.name FROM {t} a JOIN {u} b ON b.tenant_id = a.tenant_id AND b.id = a.ref_id "
    "WHERE a.tenant_id = 1 AND a.created_at > now() - interval '1 day'",
    "UPDATE {t} SET amount = amount + 1, name = 'x' WHERE tenant_id = 1 AND id = 5",
    "INSERT INTO {t} (tenant_id, name, amount, ref_id) VALUES (1, 'n', 2, 3)",
    "SELECT count(*), sum(amount) FROM {t} WHERE name = 'leak'",  # leaks: no tenant
    "WITH recent AS (SELECT * FROM {t} WHERE tenant_id = 1 ORDER BY created_at DESC LIMIT 10) "
    "SELECT r.name FROM recent r WHERE r.amount > 3",
    "DELETE FROM {t} WHERE tenant_id = 1 AND id IN (SELECT ref_id FROM {u} WHERE tenant_id = 1)",
]


def table(i: int) -> str:
    return f"t{i:04d}_orders"


async def build(dsn: str, tables: int, shapes: int, roles: int) -> int:
    """The catalog and the workload; the number of statements sent."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE EXTENSION pg_stat_statements")
        for r in range(roles):
            await conn.execute(f"CREATE ROLE bench_r{r}")
        for start in range(0, tables, 100):
            names = [table(i) for i in range(start, min(start + 100, tables))]
            ddl = "".join(
                f"CREATE TABLE {n} (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, "
                f"name text, amount numeric DEFAULT 0, ref_id bigint, "
                f"created_at timestamptz DEFAULT now(), UNIQUE (tenant_id, id));"
                for n in names
            )
            await conn.execute(ddl + rls_policy_sql(names))
        await conn.execute(
            "CREATE VIEW recent_orders WITH (security_invoker) AS "
            f"SELECT * FROM {table(0)} WHERE created_at > now() - interval '1 day';"
            f"CREATE VIEW all_orders AS SELECT * FROM {table(1)};"
            "CREATE FUNCTION orders_of(p bigint) RETURNS SETOF "
            f"{table(2)} LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp "
            f"AS $$ SELECT * FROM {table(2)} WHERE tenant_id = p $$;"
        )
        for r in range(roles):
            await conn.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO bench_r{r};"
                f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO bench_r{r}"
            )
        await conn.execute(
            "SELECT pg_stat_statements_reset(0::oid, "
            "(SELECT oid FROM pg_database WHERE datname = current_database()), 0::bigint)"
        )
        sent = 0
        await conn.execute("SET app.tenant_id = '1'")
        texts = [
            SHAPES[s].format(t=table(i), u=table((i + 1) % tables))
            for i in range(tables)
            for s in range(shapes)
        ]
        for r in range(roles):
            await conn.execute(f"SET ROLE bench_r{r}")
            for start in range(0, len(texts), 500):
                batch = texts[start : start + 500]
                await conn.execute(";\n".join(batch))
                sent += len(batch)
            await conn.execute("RESET ROLE")
        return sent
    finally:
        await conn.close()


def _cpu() -> float:
    """CPU seconds of this process and of its waited-for children (forked workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class Clock:
    """Wall and CPU seconds per named step, one entry per round. On a shared machine the CPU
    time says what the work costs; the wall time, what the machine's other users left of it."""

    def __init__(self) -> None:
        self.figures: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start, cpu = time.perf_counter(), _cpu()
        yield
        self.figures.setdefault(name, []).append(time.perf_counter() - start)
        self.cpu.setdefault(name, []).append(_cpu() - cpu)


def one_round(clock: Clock, dsn: str, log: Path, settings: Settings) -> tuple[AuditRead, int]:
    with clock.step("read"):
        read = asyncio.run(_read(dsn))
    with clock.step("policy"):
        live = live_policy(settings, read.catalog)
    ctx = AuditContext(
        read.catalog,
        live.policy,
        live.tenant_tables,
        PolicyReader(live.policy),
        live.function_bodies,
    )
    with clock.step("rules"):
        check_catalog(ctx)
    texts = list(dict.fromkeys(s.text for s in read.statements))
    with clock.step("floor"):
        for text in texts:
            parse_statement(text)
    for jobs, name in ((1, "traffic, 1 process"), (None, "traffic, all cores")):
        with clock.step(name):  # serial and parallel take turns
            analyse_texts(texts, Analyzer(live.policy, maxsize=16_384), jobs=jobs)
    with clock.step("audit"):
        code = run_cli(["audit", "--dsn", dsn, "--isolated"])
    with clock.step("audit --statements"):
        run_cli(["audit", "--dsn", dsn, "--isolated", "--statements", str(log)])
    return read, code


def run_cli(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(argv)


def main_benchmark() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--shapes", type=int, default=5, choices=range(1, len(SHAPES) + 1))
    parser.add_argument("--roles", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    server = ThrowawayPostgres(
        settings={
            "shared_preload_libraries": "pg_stat_statements",
            "pg_stat_statements.max": str(max(5000, args.tables * args.shapes * args.roles + 2000)),
            "log_statement": "all",
            "logging_collector": "on",
            "log_destination": "csvlog",
            "log_directory": "log",
            "lc_messages": "C",
            "max_locks_per_transaction": "512",
        }
    )
    server.start()
    try:
        asyncio.run(_execute(server.dsn, "CREATE DATABASE bench"))
        dsn = server.dsn_for("bench")
        began = time.perf_counter()
        sent = asyncio.run(build(dsn, args.tables, args.shapes, args.roles))
        print(
            f"setup: {args.tables} tenant tables, {sent} statements sent by {args.roles} roles "
            f"({args.tables * args.shapes} distinct) in {time.perf_counter() - began:.1f} s; "
            f"{os.cpu_count()} cores, shared machine"
        )
        log = _log(server)
        settings = Settings(isolated=True)
        clock = Clock()
        for _ in range(args.rounds):
            read, code = one_round(clock, dsn, log, settings)
        figures = clock.figures
        texts = {s.text for s in read.statements}
        print(
            f"pg_stat_statements: {len(read.statements)} entries, "
            f"{sum(s.calls for s in read.statements)} calls, {len(texts)} distinct texts; "
            f"the log: {log.stat().st_size >> 20} MB; "
            f"audit exit code {code}"
        )
        print(
            f"{'':24}{'median':>10}{'min':>10}{'max':>10}{'cpu':>10}   "
            f"(wall seconds, {args.rounds} rounds; cpu: median, this process and its workers)"
        )
        for name, values in figures.items():
            print(
                f"{name:24}{statistics.median(values):10.2f}{min(values):10.2f}"
                f"{max(values):10.2f}{statistics.median(clock.cpu[name]):10.2f}"
            )
        median = {name: statistics.median(values) for name, values in figures.items()}
        floor = median["floor"]
        print(
            f"traffic / parse floor: {median['traffic, 1 process'] / floor:.2f} (1 process), "
            f"{median['traffic, all cores'] / floor:.2f} (all cores); parallel speed-up "
            f"{median['traffic, 1 process'] / median['traffic, all cores']:.2f}; "
            f"per distinct statement {median['traffic, 1 process'] / len(texts) * 1e6:.0f} µs"
        )
        print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        verdict = "met" if median["audit"] < GOAL_SECONDS else "NOT met"
        print(f"audit end to end: {median['audit']:.2f} s (goal < {GOAL_SECONDS:.0f} s: {verdict})")
        return 0
    finally:
        server.stop()


async def _execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _read(dsn: str) -> AuditRead:
    conn = await asyncpg.connect(dsn)
    try:
        return await read_database(conn, None)
    finally:
        await conn.close()


def _log(server: ThrowawayPostgres) -> Path:
    directory = server.directory / "data" / "log"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        files = sorted(directory.glob("*.csv"))
        if files:
            return files[-1]
        time.sleep(0.1)
    raise SystemExit("the server wrote no csv log")


if __name__ == "__main__":
    sys.exit(main_benchmark())
