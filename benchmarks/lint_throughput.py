"""Lint throughput, memory and start-up: `tenantguard check` against the parse floor, like with like.

    python benchmarks/lint_throughput.py [--statements 4000] [--repeat 5] [--jobs 2]
                                         [--python-files 500] [--memory-statements 200000]
                                         [--only SECTION] [--also-python PYTHON]

The corpus (benchmarks/corpus.py) is realistic: distinct statements (no verdict-cache hit), long
ones, CTE chains, joins pinned on their last table, DML, 1 % of derived tables nested 20-40
deep, some leaks; the project's schema is the Dentalogic pipeline (18 files), inferred as in a
real project.

The floor is what any checker built on sqlglot must do with the same files: read each file,
split it into statements (the tool's splitter) and parse each statement with the tool's own
setup (`parse_statement`: placeholders normalised, one reused tokenizer and parser) under the
garbage-collector tuning `check` uses, on as many processes as the check it is compared with,
sharing the files the way `check` does (each process claims the next file, largest first).
Serial is compared with serial, parallel with parallel.

Printed, in one run:

  in-process   floor and `check --no-cache` on 1 process and on --jobs processes: medians of
               --repeat rounds in which the four take turns; each ratio is the median of the
               rounds' ratios (goals, issue 16: check / floor serial <= 1.3, speed-up of check on
               2 cores >= 1.8);
  builds       the in-process ratios again for the other builds, each in a child process:
               this venv with pure-Python sqlglot (a copy of it without sqlglotc's modules,
               first on the child's PYTHONPATH) when sqlglotc is installed here, and the venv
               of each --also-python interpreter (one with the proof compiled by mypyc, say);
               printed as one table. The ratio depends on the parser: the floor is sqlglot's
               parse, and sqlglotc makes it ~3.5x faster while the proof runs as before;
  processes    the same as whole processes (`python -m tenantguard check` against this script's
               `floor` mode), A B A B: wall and CPU time and peak RSS (the largest process);
  python       a tree of Python modules against parsing their SQL strings alone (serial);
  start-up     one small file in a fresh process, next to the interpreter alone and to
               importing sqlglot as check does: edited before each run (no result-cache hit; the
               schema cache is warm) either outside its statements (a comment: every verdict from
               the store, sqlglot not imported) or in one statement's literal (that statement
               parsed, sqlglot imported) — goal <= 150 ms, issue 16 —; with --no-cache; and
               unchanged (result cache hit, goal <= 120 ms);
  cache        a tree of Python modules cold against the same tree with one file changed
               (goal, issue 14: <= 0.20); one edited Python file checked alone in that tree's
               project (its Python files listed and indexed) against one in a project of its
               own (goal, issue 12: one small file <= 400 ms);
  memory       peak RSS of whole processes at --memory-statements (goal: check <= 1.2x the
               floor) and on one 5 MB statement (goal: what check adds to the floor <= 10x the
               statement's size).

Child processes run with bytecode caches (as an installed package has them), after a warm-up.
Figures are only comparable within one run: the machine may be shared; the load average is
printed before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402  (the benchmarks' own module, beside this file)
import engine_build  # noqa: E402

# ---------------------------------------------------------------------------- the floor


_FILES: list[Path] = []


def _parse_file(path: Path) -> int:
    from tenantguard.engine.analyze import parse_statement
    from tenantguard.engine.sqltext import split_sql

    text = path.read_bytes().decode("utf-8-sig")
    statements = split_sql(text)[0]
    for statement in statements:
        parse_statement(statement.text)
    return len(statements)


def _drain(claimed: object) -> int:
    """Parses files until none is left unclaimed (as `check_files` shares them)."""
    count = 0
    while True:
        with claimed.get_lock():  # type: ignore[attr-defined]
            index = claimed.value  # type: ignore[attr-defined]
            claimed.value = index + 1  # type: ignore[attr-defined]
        if index >= len(_FILES):
            return count
        count += _parse_file(_FILES[index])


_CLAIMED: object = None


def _drain_in_worker() -> int:
    return _drain(_CLAIMED)


def floor(files: Sequence[Path], jobs: int) -> int:
    """Reads, splits and parses every file on `jobs` processes; the number of statements."""
    global _CLAIMED
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tenantguard._collect import collecting_less

    _FILES[:] = sorted(files, key=lambda p: -p.stat().st_size)
    with collecting_less():
        if jobs <= 1:
            return sum(_parse_file(p) for p in _FILES)
        context = multiprocessing.get_context("fork")
        _CLAIMED = context.Value("l", 0)
        with ProcessPoolExecutor(max_workers=jobs - 1, mp_context=context) as pool:
            futures = [pool.submit(_drain_in_worker) for _ in range(jobs - 1)]
            count = _drain(_CLAIMED)
            return count + sum(f.result() for f in futures)


def read_and_split(files: Sequence[Path]) -> int:
    from tenantguard.engine.sqltext import split_sql

    return sum(len(split_sql(p.read_bytes().decode("utf-8-sig"))[0]) for p in files)


def parse_texts(texts: Sequence[str]) -> None:
    from tenantguard._collect import collecting_less
    from tenantguard.engine.analyze import parse_statement

    with collecting_less():
        for text in texts:
            parse_statement(text)


# ---------------------------------------------------------------------------- measuring


CPU: dict[int, list[float]] = {}  # this process's CPU seconds of each timed function, by id


def turns(repeat: int, *fns: Callable[[], object]) -> list[list[float]]:
    """Every time of each function over `repeat` rounds, the functions taking turns (after
    one warm-up round), so that a change in the machine's load hits all of them alike. The
    CPU time this process spent in each is kept in CPU (a serial run's is all of it)."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        CPU[id(fn)] = []
    for _ in range(repeat):
        for fn, mine in zip(fns, times, strict=True):
            started, cpu = time.perf_counter(), time.process_time()
            fn()
            mine.append(time.perf_counter() - started)
            CPU[id(fn)].append(time.process_time() - cpu)
    return times


def ratio(a: list[float], b: list[float]) -> float:
    """The median of the rounds' ratios a/b."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def in_process_check(argv: list[str], cwd: Path) -> Callable[[], object]:
    from tenantguard.cli import main

    def run() -> None:
        old = Path.cwd()
        os.chdir(cwd)
        try:
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                main(argv)
        finally:
            os.chdir(old)

    return run


CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class Spawner:
    """Starts the measured processes from a small Python process of its own.

    Linux keeps a process's peak RSS across exec, and a forked child starts with its parent's
    pages: a command started from this process (sqlglot imported, trees parsed) would report
    this process's peak as its own. The spawner is started first, small, and reports what the
    kernel accounts for each finished child (wait4): wall and CPU seconds, peak RSS of the
    largest process of the command (its own forked workers included).
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__)), "spawner"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=CHILD_ENV,
        )

    def run(self, argv: list[str], cwd: Path) -> tuple[float, float, float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps([argv, str(cwd)]) + "\n")
        self.process.stdin.flush()
        wall, cpu, rss, code = json.loads(self.process.stdout.readline())
        if code not in (0, 1):
            raise SystemExit(f"{' '.join(argv)}: exit {code}")
        return wall, cpu, rss

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


def spawner_command() -> int:
    """`spawner`: runs each [argv, cwd] line read from standard input, answers a line of
    [wall s, cpu s, peak RSS MiB, exit code]."""
    for line in sys.stdin:
        argv, cwd = json.loads(line)
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = code = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        print(json.dumps([wall, cpu, usage.ru_maxrss / 1024, code]), flush=True)
    return 0


SPAWNER: Spawner | None = None


class Process:
    """One command run as a whole process (by the spawner), its figures of each run."""

    def __init__(self, argv: list[str], cwd: Path, before: Callable[[], object] | None = None):
        self.argv, self.cwd, self.before = argv, cwd, before
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.rss: list[float] = []

    def __call__(self) -> None:
        assert SPAWNER is not None
        if self.before is not None:
            self.before()
        wall, cpu, rss = SPAWNER.run(self.argv, self.cwd)
        self.wall.append(wall)
        self.cpu.append(cpu)
        self.rss.append(rss)

    def reset(self) -> Process:
        self.wall, self.cpu, self.rss = [], [], []
        return self


def interleave(repeat: int, *processes: Process) -> None:
    for process in processes:
        process()  # warm-up (bytecode, page cache), not counted
        process.reset()
    for _ in range(repeat):
        for process in processes:
            process()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


# ---------------------------------------------------------------------------- sections


def section_throughput(
    root: Path, files: list[Path], statements: int, args: argparse.Namespace
) -> dict[str, float]:
    jobs = args.jobs
    base = ["check", "--no-cache", "--format", "text", "app"]
    floor_1 = lambda: floor(files, 1)  # noqa: E731
    check_1 = in_process_check([*base, "--jobs", "1"], root)
    floor_n = lambda: floor(files, jobs)  # noqa: E731
    check_n = in_process_check([*base, "--jobs", str(jobs)], root)
    split = lambda: read_and_split(files)  # noqa: E731
    f1, c1, fn, cn, sp = turns(args.repeat, floor_1, check_1, floor_n, check_n, split)
    per = statistics.median(f1) / statements * 1e6
    print(f"\nin-process, medians of {args.repeat} rounds taking turns")
    print(f"  floor, 1 process          {ms(statistics.median(f1))}  ({per:.0f} us/statement)")
    print(f"    of which read and split {ms(statistics.median(sp))}")
    print(f"  check --jobs 1            {ms(statistics.median(c1))}")
    print(f"  floor, {jobs} processes        {ms(statistics.median(fn))}")
    print(f"  check --jobs {jobs}            {ms(statistics.median(cn))}")
    print(f"  check / floor, serial     {ratio(c1, f1):8.2f}     (goal <= 1.3)")
    cpu = ratio(CPU[id(check_1)], CPU[id(floor_1)])
    print(f"    by CPU time             {cpu:8.2f}     (less sensitive to a shared machine)")
    print(f"  check / floor, {jobs} procs    {ratio(cn, fn):8.2f}")
    print(
        f"  speed-up of check, {jobs}      {ratio(c1, cn):8.2f}     (goal >= 1.8 on 2 idle cores)"
    )
    print(f"  speed-up of floor, {jobs}      {ratio(f1, fn):8.2f}     (what the machine gave)")
    return {
        "serial": ratio(c1, f1),
        "cpu": cpu,
        "parallel": ratio(cn, fn),
        "speedup": ratio(c1, cn),
        "floor_us": per,
    }


# ---------------------------------------------------------------------------- builds


def pure_sqlglot_copy(into: Path) -> Path | None:
    """A copy of the installed sqlglot without sqlglotc's compiled modules (None when it has
    none): first on a child's PYTHONPATH, it makes that child parse with pure-Python sqlglot.
    sqlglotc puts its extension modules beside sqlglot's sources, and an extension module
    wins over a source of the same name: a copy is the only way to have both in one venv."""
    import sqlglot

    package = Path(sqlglot.__file__).parent
    if not any(package.rglob("*.so")) and not any(package.rglob("*.pyd")):
        return None
    shutil.copytree(
        package, into / "sqlglot", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__")
    )
    return into


def section_builds(root: Path, args: argparse.Namespace, mine: dict[str, float]) -> None:
    """The in-process ratios again for the other builds, each in a child process: this
    interpreter with pure-Python sqlglot (when sqlglotc is installed here) and every
    --also-python interpreter (another venv: the proof compiled with mypyc, say)."""
    variants: list[tuple[str, list[str], dict[str, str]]] = []
    scratch = Path(tempfile.mkdtemp(prefix="tg-pure-sqlglot-"))
    try:
        pure = pure_sqlglot_copy(scratch)
        if pure is not None:
            env = {**CHILD_ENV, "PYTHONPATH": str(pure)}
            variants.append(("this venv, sqlglot copied without sqlglotc", [sys.executable], env))
        for python in args.also_python or []:
            variants.append((python, [python], dict(CHILD_ENV)))
        rows = [(engine_build.describe(), mine)]
        for label, command, env in variants:
            done = subprocess.run(
                [
                    *command,
                    str(Path(__file__)),
                    "--only",
                    "throughput",
                    "--statements",
                    str(args.statements),
                    "--repeat",
                    str(args.repeat),
                    "--jobs",
                    str(args.jobs),
                    "--result",
                ],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            found = re.search(r"^RESULT (.*)$", done.stdout, re.M)
            build = re.search(r"^(proof: .*)$", done.stdout, re.M)
            if done.returncode != 0 or found is None or build is None:
                print(f"\n{label}: failed\n{done.stderr[-1500:]}")
                continue
            rows.append((f"{build.group(1)} ({label})", json.loads(found.group(1))))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\nbuilds side by side (each row's ratios from its own interleaved rounds)")
    print("  serial  by CPU  2 procs  speed-up  floor us/stmt  build")
    for label, r in rows:
        print(
            f"  {r['serial']:6.2f}  {r['cpu']:6.2f}  {r['parallel']:7.2f}  {r['speedup']:8.2f}"
            f"  {r['floor_us']:13.0f}  {label}"
        )
    print("  (goals, issue 16: serial <= 1.3, speed-up >= 1.8; issues 10 and 12: serial <= 1.5)")


def section_processes(root: Path, args: argparse.Namespace) -> None:
    python = sys.executable
    jobs = str(args.jobs)
    rows = []
    for n in ("1", jobs):
        check = Process(
            [python, "-m", "tenantguard", "check", "--no-cache", "--jobs", n, "app"], root
        )
        floor_ = Process([python, str(Path(__file__)), "floor", "--jobs", n, "app"], root)
        interleave(args.repeat, check, floor_)
        rows.append((n, check, floor_))
    print(f"\nwhole processes, A B A B, medians of {args.repeat}   wall        cpu     peak RSS")
    for n, check, floor_ in rows:
        for name, p in ((f"floor --jobs {n}", floor_), (f"check --jobs {n}", check)):
            print(
                f"  {name:<20} {ms(statistics.median(p.wall))} {ms(statistics.median(p.cpu))}"
                f" {statistics.median(p.rss):7.1f} MiB"
            )
        print(
            f"  check / floor, jobs {n}: wall {ratio(check.wall, floor_.wall):.2f}, "
            f"cpu {ratio(check.cpu, floor_.cpu):.2f}, "
            f"peak RSS {ratio(check.rss, floor_.rss):.2f}"
        )
    (_, c1, f1), (_, cn, fn) = rows
    print(
        f"  speed-up on {jobs} (wall): check {statistics.median(c1.wall) / statistics.median(cn.wall):.2f}, "
        f"floor {statistics.median(f1.wall) / statistics.median(fn.wall):.2f}"
    )


def section_python(root: Path, args: argparse.Namespace) -> None:
    pyroot = root / "py"
    texts = corpus.generate_python(pyroot, args.python_files)
    check = in_process_check(["check", "--no-cache", "--jobs", "1", "--format", "text", "py"], root)
    parse, checked = turns(args.repeat, lambda: parse_texts(texts), check)
    print(f"\npython tree: {args.python_files} modules, {len(texts)} SQL strings (serial)")
    print(f"  parse the SQL strings     {ms(statistics.median(parse))}")
    print(f"  check --jobs 1            {ms(statistics.median(checked))}")
    print(f"  check / parse             {ratio(checked, parse):8.2f}")


def section_start(root: Path, args: argparse.Namespace) -> None:
    """One small file checked in a fresh process (pre-commit), after it was checked once: the
    schema cache and the verdict store are warm, the result cache misses (the file changed)."""
    python = sys.executable
    small = root / "small"
    small.mkdir()
    target = small / "q.sql"
    statements = list(corpus.statements(10, seed=3))
    original = ";\n\n".join(statements) + ";\n"
    target.write_text(original, encoding="utf-8")
    edits = iter(range(10**9))
    literal = re.search(r"\b\d+\b", statements[0])
    assert literal is not None, statements[0]

    def comment() -> None:  # no statement changed: every verdict comes from the store
        target.write_text(original + f"-- edit {next(edits)}\n", encoding="utf-8")

    def one_statement() -> None:  # a literal of the first statement: that one is parsed
        first = statements[0][: literal.start()] + str(7_000_000 + next(edits))
        changed = [first + statements[0][literal.end() :], *statements[1:]]
        target.write_text(";\n\n".join(changed) + ";\n", encoding="utf-8")

    check = [python, "-m", "tenantguard", "check"]
    bare = Process([python, "-c", "pass"], root)
    # as check imports it: tenantguard's package first (no scan for dialect plugins)
    sqlglot = Process(
        [
            python,
            "-c",
            "import tenantguard\n"
            "from sqlglot.dialects.dialect import Dialect\n"
            "Dialect.get_or_raise('postgres')",
        ],
        root,
    )
    commented = Process([*check, "small/q.sql"], root, before=comment)
    changed = Process([*check, "small/q.sql"], root, before=one_statement)
    uncached = Process([*check, "--no-cache", "small/q.sql"], root)
    cached = Process([*check, "small/q.sql"], root, before=lambda: None)
    runs = max(args.repeat, 7)
    interleave(runs, bare, sqlglot, commented, changed, uncached)
    target.write_text(original, encoding="utf-8")
    interleave(runs, cached)
    print(f"\nstart-up: one file of 10 statements, fresh processes, medians of {runs}")
    print("                                          wall        cpu")
    for name, p, goal in (
        ("python -c pass", bare, ""),
        ("import sqlglot + postgres, as check does", sqlglot, ""),
        (
            "check, edited, no statement changed",
            commented,
            "  (verdicts from the store; goal <= 150 ms)",
        ),
        (
            "check, edited, one statement changed",
            changed,
            "  (one statement parsed; goal <= 150 ms)",
        ),
        ("check --no-cache", uncached, "  (the schema inferred again)"),
        ("check, unchanged", cached, "  (result cache hit; goal <= 120 ms)"),
    ):
        wall = statistics.median(p.wall)
        verdict = ""
        if "goal <= " in goal:
            limit = float(goal.split("goal <= ")[1].split(" ms")[0]) / 1000
            verdict = "  met" if wall <= limit else "  NOT met"
        print(f"  {name:<40} {ms(wall)} {ms(statistics.median(p.cpu))}{goal}{verdict}")


def section_cache(root: Path, args: argparse.Namespace) -> None:
    python = sys.executable
    pyroot = root / "py"
    target = sorted(pyroot.glob("*.py"))[0]
    original = target.read_text(encoding="utf-8")
    edits = iter(range(10**9))
    cache_dir = root / ".tenantguard_cache"
    check = [python, "-m", "tenantguard", "check", "--jobs", "1", "py"]

    def clear() -> None:
        shutil.rmtree(cache_dir, ignore_errors=True)

    def edit() -> None:
        target.write_text(original + f"# edit {next(edits)}\n", encoding="utf-8")

    cold = Process(check, root, before=clear)
    warm = Process(check, root, before=edit)
    runs = max(args.repeat, 5)
    # the warm-up of `warm` runs after `cold`'s: the tree's entries exist when it is timed
    interleave(runs, cold, warm)
    files = len(list(pyroot.glob("*.py")))
    print(f"\ncache: {files}-file Python tree, fresh processes, medians of {runs}")
    print(f"  cold (no cache)           {ms(statistics.median(cold.wall))}")
    print(f"  one file changed          {ms(statistics.median(warm.wall))}")
    print(f"  changed / cold            {ratio(warm.wall, cold.wall):8.2f}     (goal <= 0.20)")
    section_python_file_alone(root, files, runs)


CALLER = (
    "async def handler(repo, conn, tenant):\n"
    "    await repo.find_one('SELECT id FROM patients WHERE tenant_id = $1', tenant)  # {n}\n"
)


def section_python_file_alone(root: Path, files: int, runs: int) -> None:
    """One edited Python file checked alone (pre-commit), in a fresh process: in the project of
    the Python tree (a method called on an object of unknown class makes the check list the
    project's Python files and index the functions they define) against the same file in a
    project of its own."""
    python = sys.executable
    alone = root / "alone"
    corpus.write_config(alone, REPOSITORY)
    edits = iter(range(10**9))
    targets = (root / "py" / "zz_caller.py", alone / "caller.py")

    def edit() -> None:
        text = CALLER.format(n=next(edits))
        for target in targets:
            target.write_text(text, encoding="utf-8")

    edit()
    check = [python, "-m", "tenantguard", "check"]
    in_tree = Process([*check, "py/zz_caller.py"], root, before=edit)
    own = Process([*check, "caller.py"], alone, before=edit)
    interleave(runs, in_tree, own)
    for target in targets:
        target.unlink()
    print(f"\none Python file checked alone, edited, fresh processes, medians of {runs}")
    print(f"  in a {files}-file project {ms(statistics.median(in_tree.wall))}  (goal <= 400 ms)")
    print(f"  in a project of its own   {ms(statistics.median(own.wall))}")
    print(f"  ratio                     {ratio(in_tree.wall, own.wall):8.2f}")


def section_memory(root: Path, args: argparse.Namespace) -> None:
    python = sys.executable
    if args.memory_statements:
        big = root / "memory"
        big.mkdir()
        corpus.write_config(big, REPOSITORY)
        corpus.generate_sql(big, args.memory_statements, seed=5)
        check = Process(
            [python, "-m", "tenantguard", "check", "--no-cache", "--jobs", "1", "app"], big
        )
        floor_ = Process([python, str(Path(__file__)), "floor", "--jobs", "1", "app"], big)
        for _ in range(args.memory_rounds):
            check()
            floor_()
        c, f = statistics.median(check.rss), statistics.median(floor_.rss)
        print(f"\nmemory: {args.memory_statements} statements, one process each, text report")
        print(f"  floor                     {f:8.1f} MiB  ({statistics.median(floor_.wall):.1f} s)")
        print(f"  check                     {c:8.1f} MiB  ({statistics.median(check.wall):.1f} s)")
        print(f"  check / floor             {c / f:8.2f}     (goal <= 1.2)")
    one = root / "one"
    one.mkdir()
    corpus.write_config(one, REPOSITORY)
    (one / "app").mkdir()
    row = "($1, 'a patient name that is not short at all, with some more text in it')"
    rows = ",\n".join([row] * int(5_000_000 / (len(row) + 2)))
    print("\nmemory: one 5 MB statement, one process each")
    for name in ("proven", "+ a leak"):
        sql = f"INSERT INTO patients (tenant_id, first_name) VALUES\n{rows};\n"
        if (
            name != "proven"
        ):  # a second statement reads every tenant's rows: the report reads the file
            sql += "SELECT * FROM patients;\n"
        (one / "app" / "big.sql").write_text(sql, encoding="utf-8")
        size = len(sql.encode()) / 2**20
        check = Process([python, "-m", "tenantguard", "check", "--no-cache", "app"], one)
        floor_ = Process([python, str(Path(__file__)), "floor", "--jobs", "1", "app"], one)
        check()
        floor_()
        c, f = check.rss[0], floor_.rss[0]
        print(
            f"  {name:<8} {size:.1f} MiB: floor {f:6.1f} MiB, check {c:6.1f} MiB; "
            f"check - floor = {(c - f) / size:5.1f}x its size (goal <= 10), "
            f"check = {c / size:5.1f}x"
        )


def floor_command(argv: list[str]) -> int:
    """`floor --jobs N PATH...`: the floor as a whole process, on the .sql files under PATHs."""
    parser = argparse.ArgumentParser(prog="lint_throughput.py floor")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    files = [f for p in args.paths for f in (sorted(p.rglob("*.sql")) if p.is_dir() else [p])]
    print(f"{floor(files, args.jobs)} statements parsed")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["floor"]:
        return floor_command(argv[1:])
    if argv[:1] == ["spawner"]:
        return spawner_command()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2, help="processes of the parallel runs")
    parser.add_argument("--python-files", type=int, default=500)
    parser.add_argument(
        "--memory-statements", type=int, default=200_000, help="0: skip (the 5 MB case runs)"
    )
    parser.add_argument("--memory-rounds", type=int, default=1)
    parser.add_argument(
        "--only",
        choices=("throughput", "builds", "processes", "python", "start", "cache", "memory"),
        action="append",
        help="run only these sections (repeatable)",
    )
    parser.add_argument(
        "--also-python",
        action="append",
        metavar="PYTHON",
        help="builds: measure the throughput in this interpreter's venv too (repeatable)",
    )
    parser.add_argument("--result", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    every = ("throughput", "builds", "processes", "python", "start", "cache", "memory")
    wanted = set(args.only or every)
    if "builds" in wanted:
        wanted.add("throughput")  # this build's row
    if "cache" in wanted:
        wanted.add("python")  # the cache section's tree
    global SPAWNER
    SPAWNER = Spawner()  # first, while this process is small
    print(f"before: {load()}")
    print(engine_build.describe())
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        print("note: PYTHONDONTWRITEBYTECODE is set here; child processes run without it")
    with tempfile.TemporaryDirectory(prefix="tg-bench-") as tmp:
        root = Path(tmp)
        corpus.write_config(root, REPOSITORY)
        files = corpus.generate_sql(root, args.statements)
        size = sum(f.stat().st_size for f in files)
        print(
            f"corpus: {args.statements} distinct statements in {len(files)} files "
            f"({size / 2**20:.1f} MiB); schema: {len(list((root / 'schema').glob('*.sql')))} files"
        )
        if "throughput" in wanted:
            mine = section_throughput(root, files, args.statements, args)
            if args.result:
                print("RESULT " + json.dumps(mine))
            if "builds" in wanted:
                section_builds(root, args, mine)
        if "processes" in wanted:
            section_processes(root, args)
        if "python" in wanted:
            section_python(root, args)
        if "start" in wanted:
            section_start(root, args)
        if "cache" in wanted:
            section_cache(root, args)
        if "memory" in wanted:
            section_memory(root, args)
    SPAWNER.close()
    print(f"\nafter: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
