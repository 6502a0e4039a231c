"""Lint throughput: tenantguard's wall time over sqlglot's parse time on the same statements.

    python benchmarks/lint_throughput.py [--files 40] [--statements 100]

Generates a corpus of realistic statements over the Dentalogic tables (joins, CTEs, subqueries,
DML, upserts; some leaking) in a temporary directory, then measures, in one run and side by side:

  sqlglot   parsing every statement with sqlglot alone (one core, the baseline);
  check     `tenantguard check` on the corpus in-process (splitting, proof, rules, report),
            on all cores, then with --jobs 1;
  small     `tenantguard check` on one small file as a fresh process (pre-commit's case);
  cache     the same file unchanged, fresh process, with the cache (.tenantguard_cache) warm;
  tree      a 500-file tree, fresh process: cold (no cache), then warm with one file changed.

Each timing is the best of --repeat rounds; in each round the timings compared take turns;
the cache figures also print the median. Targets (issue 2): check / sqlglot <= 1.5 and small
<= 400 ms; (issue 14): cache <= 120 ms, tree with one change <= 20 % of its cold check.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlglot

from tenantguard.cli import main
from tenantguard.engine.sqltext import normalize_placeholders, split_sql

TEMPLATES = [
    "SELECT a.id, a.starts_at, p.first_name FROM appointments a JOIN patients p ON p.id = a.patient_id AND p.tenant_id = a.tenant_id WHERE a.tenant_id = $1 AND a.professional_id = {n} ORDER BY a.starts_at",
    "SELECT id, first_name, last_name FROM patients WHERE tenant_id = $1 AND dni = '{n}'",
    "SELECT p.id FROM patients p WHERE p.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.tenant_id = p.tenant_id AND a.patient_id = p.id AND a.starts_at > now() - interval '{n} days')",
    "WITH m AS (SELECT * FROM appointments WHERE tenant_id = $1 AND professional_id = {n}) SELECT pr.full_name, count(*) FROM m JOIN professionals pr ON pr.id = m.professional_id AND pr.tenant_id = m.tenant_id GROUP BY pr.full_name",
    "UPDATE patients SET status = 'active', phone_number = $3 WHERE tenant_id = $1 AND id = {n}",
    "INSERT INTO chat_messages (tenant_id, patient_id, direction, body) VALUES ($1, {n}, 'inbound', $2)",
    "INSERT INTO leads (tenant_id, external_id, name) VALUES ($1, 'wa-{n}', $2) ON CONFLICT (tenant_id, external_id) DO UPDATE SET name = EXCLUDED.name",
    "DELETE FROM chat_messages WHERE tenant_id = $1 AND patient_id = {n}",
    "SELECT l.name, p.status FROM leads l LEFT JOIN patients p ON p.id = l.patient_id AND p.tenant_id = l.tenant_id WHERE l.tenant_id = $1 AND l.id > {n}",
    "SELECT id FROM patients WHERE tenant_id = $1 AND id = {n} UNION ALL SELECT patient_id FROM appointments WHERE tenant_id = $1 AND id = {n}",
    "SELECT * FROM patients WHERE phone_number = '{n}'",
    "SELECT m.body FROM chat_messages m WHERE m.tenant_id = $1 AND m.patient_id IN (SELECT id FROM patients WHERE dni = '{n}')",
    "SELECT count(*) FROM tenants WHERE id = {n}",
]


def generate(root: Path, files: int, per_file: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    statements: list[str] = []
    for f in range(files):
        lines = [
            TEMPLATES[rng.randrange(len(TEMPLATES))].format(n=rng.randrange(10_000))
            for _ in range(per_file)
        ]
        statements.extend(lines)
        (root / f"queries_{f:03d}.sql").write_text(";\n".join(lines) + ";\n", encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["patients", "appointments", "professionals", '
        '"chat_messages", "leads"]\nglobal_tables = ["tenants"]\n',
        encoding="utf-8",
    )
    return statements


PY_TEMPLATE = '''"""Generated service module {f}."""

import asyncpg

HEADER = "SELECT id, first_name FROM patients "


async def handler_{f}(conn: asyncpg.Connection, tenant: int, value: str) -> object:
{calls}
    return None
'''


def generate_python(root: Path, files: int, per_file: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    statements: list[str] = []
    for f in range(files):
        calls = []
        for _ in range(per_file):
            sql = TEMPLATES[rng.randrange(len(TEMPLATES))].format(n=rng.randrange(10_000))
            statements.append(sql)
            calls.append(f"    await conn.fetch({sql!r}, tenant, value)")
        (root / f"service_{f:03d}.py").write_text(
            PY_TEMPLATE.format(f=f, calls="\n".join(calls)), encoding="utf-8"
        )
    return statements


def best(repeat: int, *fns: Callable[[], object]) -> list[float]:
    """The best time of each function over `repeat` rounds, the functions taking turns in each
    round, so that a change in the machine's load affects all of them alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, mine in zip(fns, times, strict=True):
            started = time.perf_counter()
            fn()
            mine.append(time.perf_counter() - started)
    return [min(t) for t in times]


def turns(repeat: int, *fns: Callable[[], object]) -> list[list[float]]:
    """Every time of each function over `repeat` rounds, the functions taking turns."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, mine in zip(fns, times, strict=True):
            started = time.perf_counter()
            fn()
            mine.append(time.perf_counter() - started)
    return times


def cache_figures(root: Path, pyroot: Path, small: Path, repeat: int) -> list[str]:
    """Fresh processes: one small file cached vs not; a 500-file tree cold vs one change."""
    config = str(root / "pyproject.toml")
    base = [sys.executable, "-m", "tenantguard", "check", "--config", config]

    def run(*argv: str) -> None:
        subprocess.run([*base, *argv], capture_output=True, check=False, cwd=root)

    run(str(small / "q.sql"))  # warms the cache of the small file
    uncached, cached = turns(
        repeat,
        lambda: run("--no-cache", str(small / "q.sql")),
        lambda: run(str(small / "q.sql")),
    )
    cache_dir = root / ".tenantguard_cache"
    target = pyroot / "service_000.py"
    original = target.read_text(encoding="utf-8")
    edits = iter(range(1_000_000))

    def cold_tree() -> None:
        shutil.rmtree(cache_dir, ignore_errors=True)
        run("--jobs", "1", str(pyroot))

    def one_changed() -> None:
        target.write_text(original + f"# edit {next(edits)}\n", encoding="utf-8")
        run("--jobs", "1", str(pyroot))

    cold_tree()
    one_changed()  # the tree's entries exist: each timed run changes one file
    cold, warm = turns(repeat, cold_tree, one_changed)
    ratio = statistics.median(w / c for w, c in zip(warm, cold, strict=True))

    def ms(times: list[float]) -> str:
        return f"best {min(times) * 1000:7.1f} ms, median {statistics.median(times) * 1000:7.1f} ms"

    return [
        f"small file, no cache      {ms(uncached)}  (fresh process)",
        f"small file, cached        {ms(cached)}  (fresh process, target <= 120 ms)",
        f"{len(list(pyroot.glob('*.py')))}-file tree, cold        {ms(cold)}  (fresh process, one core)",
        f"same tree, one changed    {ms(warm)}",
        f"one changed / cold        {ratio:9.2f}   (median of pairs, target <= 0.20)",
    ]


def main_() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--statements", type=int, default=100, help="statements per file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python-files", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tg-bench-") as tmp:
        root = Path(tmp)
        corpus = generate(root, args.files, args.statements)
        texts = [
            s.text for path in sorted(root.glob("*.sql")) for s in split_sql(path.read_text())[0]
        ]

        def parse_only() -> None:
            for text in texts:
                sqlglot.parse(normalize_placeholders(text)[0], read="postgres")

        def check() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                main(["check", "--no-cache", "--format", "json", str(root)])

        def check_serial() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                main(["check", "--no-cache", "--jobs", "1", "--format", "json", str(root)])

        old = Path.cwd()
        os.chdir(root)
        try:
            parse_time, check_time, serial_time = best(args.repeat, parse_only, check, check_serial)
        finally:
            os.chdir(old)

        pyroot = root / "py"
        pyroot.mkdir()
        py_statements = generate_python(pyroot, args.python_files, 8)

        def parse_python_sql() -> None:
            for text in py_statements:
                sqlglot.parse(normalize_placeholders(text)[0], read="postgres")

        def check_python() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                main(
                    [
                        "check",
                        "--no-cache",
                        "--config",
                        str(root / "pyproject.toml"),
                        "--format",
                        "json",
                        str(pyroot),
                    ]
                )

        py_parse_time, py_check_time = best(args.repeat, parse_python_sql, check_python)

        small = root / "small"
        small.mkdir()
        (small / "q.sql").write_text(";\n".join(corpus[:10]) + ";\n", encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "tenantguard",
            "check",
            "--config",
            str(root / "pyproject.toml"),
            str(small / "q.sql"),
        ]
        (small_time,) = best(
            args.repeat,
            lambda: subprocess.run([*command, "--no-cache"], capture_output=True, check=False),
        )
        cached_lines = cache_figures(root, pyroot, small, max(args.repeat, 5))

    print(f"corpus: {len(corpus)} statements in {args.files} files; cores: {os.cpu_count()}")
    print(
        f"sqlglot parse only      {parse_time * 1000:9.1f} ms  ({parse_time / len(texts) * 1e6:.0f} us/statement)"
    )
    print(f"tenantguard check       {check_time * 1000:9.1f} ms")
    print(f"ratio check / parse     {check_time / parse_time:9.2f}   (target <= 1.5)")
    print(
        f"check, one process      {serial_time * 1000:9.1f} ms  (ratio {serial_time / parse_time:.2f})"
    )
    print(f"python tree: {args.python_files} files, {len(py_statements)} SQL strings")
    print(f"sqlglot parse only      {py_parse_time * 1000:9.1f} ms")
    print(f"tenantguard check       {py_check_time * 1000:9.1f} ms")
    print(f"ratio check / parse     {py_check_time / py_parse_time:9.2f}   (target <= 1.5)")
    print(f"check one small file    {small_time * 1000:9.1f} ms  (fresh process, target <= 400 ms)")
    print("cache (issue 14):")
    for line in cached_lines:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
