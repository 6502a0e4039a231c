"""The proof on pathological statements: does its cost grow about linearly with the statement?

    python benchmarks/pathological.py [--repeat 5] [--scale 1.0] [--only UNION] [--lossy]

For each shape, the statement is parsed with the tool's own parser setup (`parse_statement`:
the reused tokenizer and parser) and analysed in full (`analyze_statement`: parse, proof and
every rule), taking turns, `--repeat` times; the medians are printed side by side with their
ratio. The runtime guard runs the same proof in the request path: a statement that takes
seconds here is a denial of service there.

Targets (issue 10): every shape <= 0.5 s to analyse, and <= 3x the time to parse it.
`--scale` multiplies every size (0.5 to look at the trend, 2 to look further).

    python benchmarks/pathological.py --python [--megabytes 1,9] [--only DATA]

Big generated Python modules instead (a data module `DATA = [{...}, ...]`, many constants, many
small functions, one huge string; none sends SQL): each is checked by `tenantguard check
--no-cache` in a child process of its own (one project holding that one file), next to
`ast.parse` of the same text in another child; printed: size, seconds and peak RSS of both and
their ratio. A pre-commit hook on a repository with one generated data file must not take 20 s
(session 34): the check's cost should stay about linear in the size.
"""

from __future__ import annotations

import argparse
import ast
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement, parse_statement

sys.path.insert(0, __file__.rsplit("/", 1)[0])  # the benchmarks' own modules
import engine_build

POLICY = Policy(
    "tenant_id",
    {"patients", "appointments", "leads"},
    global_tables={"tenants"},
    table_columns={"patients": ["id", "tenant_id", "name", "status", "referrer_id"]},
    # as schema files show them: a filter on a union's output goes into branches of one type
    tenant_column_types=dict.fromkeys(("patients", "appointments", "leads"), "int8"),
)


def nested_derived(n: int) -> str:
    sql = "SELECT * FROM patients"
    for level in range(n):
        sql = f"SELECT * FROM ({sql}) d{level}"
    return f"{sql} WHERE d{n - 1}.tenant_id = $1"


def or_branches(n: int) -> str:
    branches = " OR ".join(f"(tenant_id = $1 AND status = 's{i}')" for i in range(n))
    return f"SELECT * FROM patients WHERE {branches}"


def or_filter(n: int) -> str:
    branches = " OR ".join(f"status = 's{i}'" for i in range(n))
    return f"SELECT * FROM patients WHERE tenant_id = $1 AND ({branches})"


def or_casts(n: int) -> str:
    """Casts of a text column in every branch: conditions that may fail before the pin (TG013
    costs the condition once, not once per cast)."""
    branches = " OR ".join(f"dni::int = {i}" for i in range(n))
    return f"SELECT id FROM patients WHERE tenant_id = $1 AND ({branches})"


def join_chain_pinned_last(n: int) -> str:
    joins = " ".join(
        f"JOIN patients p{i} ON p{i}.referrer_id = p{i - 1}.id AND p{i}.tenant_id = p{i - 1}.tenant_id"
        for i in range(1, n)
    )
    return f"SELECT p0.id FROM patients p0 {joins} WHERE p{n - 1}.tenant_id = $1"


def cte_chain(n: int) -> str:
    ctes = ["c0 AS (SELECT * FROM patients)"]
    ctes += [f"c{i} AS (SELECT * FROM c{i - 1})" for i in range(1, n)]
    return f"WITH {', '.join(ctes)} SELECT * FROM c{n - 1} WHERE tenant_id = $1"


def union_branches(n: int) -> str:
    return " UNION ALL ".join(
        f"SELECT id, name FROM patients WHERE tenant_id = $1 AND status = 's{i}'" for i in range(n)
    )


def _branches(n: int, pin: str) -> str:
    return " UNION ALL ".join(f"SELECT tenant_id, name FROM patients{pin}" for _ in range(n))


def union_in_derived(n: int) -> str:
    return f"SELECT * FROM ({_branches(n, ' WHERE tenant_id = $1')}) u"


def union_in_derived_pinned_outside(n: int) -> str:
    return f"SELECT * FROM ({_branches(n, '')}) u WHERE tenant_id = $1"


def union_in_cte(n: int) -> str:
    return f"WITH u AS ({_branches(n, ' WHERE tenant_id = $1')}) SELECT name FROM u"


def union_in_subquery(n: int) -> str:
    inner = " UNION ALL ".join(
        f"SELECT id FROM patients WHERE tenant_id = $1 AND status = 's{i}'" for i in range(n)
    )
    return f"SELECT name FROM patients WHERE tenant_id = $1 AND id IN ({inner})"


def intersect_chain(n: int) -> str:
    """Each branch compared with its left neighbours' rows (INTERSECT): the operand each is
    compared with is found by walks up and down the chain that the branches share."""
    return " INTERSECT ".join(
        f"SELECT tenant_id, name FROM patients WHERE tenant_id = $1 AND status = 's{i}'"
        for i in range(n)
    )


def casts_with_the_pin(n: int) -> str:
    """Failing casts in one form PostgreSQL evaluates whole, with the pin (`coalesce(pin AND
    (…), false)`): where each runs relative to the pin is asked of the same ANDs and ORs."""
    branches = " OR ".join(f"dni::int = {i}" for i in range(n))
    return f"SELECT id FROM patients WHERE coalesce(tenant_id = $1 AND ({branches}), false)"


def divisions_after_the_pin(n: int) -> str:
    """Divisions ANDed after the pin: TG013 weighs each against the pin's cost, and whether
    the statement retypes the pin's parameter (a walk of the whole tree) was asked again
    each time; each walk up from the pin, at the bottom of the chain of ANDs, too (s41)."""
    divisions = " AND ".join(f"10 / id > {i}" for i in range(n))
    return f"SELECT id FROM patients WHERE tenant_id = $1 AND {divisions}"


def case_divisions_after_the_pin(n: int) -> str:
    """Each division in a CASE of its own (a form evaluated whole): whether the pin is inside
    that form was a walk up from the pin for each (s41)."""
    cases = " AND ".join(f"CASE WHEN id > {i} THEN 10 / id ELSE 1 END > 0" for i in range(n))
    return f"SELECT id FROM patients WHERE tenant_id = $1 AND {cases}"


def union_of_divisions(n: int) -> str:
    """A division in each branch, each branch pinned: whether each pin's `$1` is retyped read
    every use of `$1` in the statement, each walked up the chain of branches (s41)."""
    return " UNION ALL ".join(
        f"SELECT id FROM patients WHERE 10 / id > {i} AND tenant_id = $1" for i in range(n)
    )


def values_of_the_parameter(n: int) -> str:
    """A VALUES list whose rows all use the pin's `$1`, and a division: whether a use types
    `$1` numeric read every other row of its column, for each use (s41)."""
    rows = ", ".join(f"($1, {i})" for i in range(n))
    return (
        f"SELECT p.id FROM patients p JOIN (VALUES {rows}) v(t, k) ON v.k = p.id "
        "WHERE p.tenant_id = $1 AND 10 / p.id > 0"
    )


def divisions_in_an_outer_join(n: int) -> str:
    """Divisions ANDed in a LEFT JOIN's ON: where each runs (the Locator shared nothing under
    a join), whether the pin is a plain equality and whether each is a join filter walked up
    the chain of ANDs for each (s41)."""
    divisions = " AND ".join(f"10 / a.id > {i}" for i in range(n))
    return (
        "SELECT p.id FROM patients p LEFT JOIN appointments a ON a.tenant_id = p.tenant_id "
        f"AND {divisions} WHERE p.tenant_id = $1"
    )


def joins_with_a_division(n: int) -> str:
    """Joins each with a division in its ON: each join's top-level condition was found by
    gathering all the block's conditions again (s41)."""
    joins = " ".join(
        f"JOIN appointments a{i} ON a{i}.tenant_id = p.tenant_id AND 10 / a{i}.id > 0"
        for i in range(n)
    )
    return f"SELECT p.id FROM patients p {joins} WHERE p.tenant_id = $1"


def pins_and_divisions(n: int) -> str:
    """One source pinned again and again, a division after each pin: whether a condition is
    one of the source's pins read all its pins, for each (s41)."""
    parts = " AND ".join(f"tenant_id = ${i % 50 + 1} AND 10 / id > {i}" for i in range(n))
    return f"SELECT id FROM patients WHERE {parts}"


def in_list(n: int) -> str:
    items = ", ".join(str(i) for i in range(n))
    return f"SELECT * FROM patients WHERE tenant_id = $1 AND id IN ({items})"


def big_insert(megabytes: float) -> str:
    row = "($1, 'patient name that is not short at all, with some more text in it')"
    count = int(megabytes * 1_000_000 / (len(row) + 2))
    return f"INSERT INTO patients (tenant_id, name) VALUES {', '.join([row] * count)}"


def big_insert_distinct(megabytes: float) -> str:
    """A bulk INSERT whose rows all differ (a name and a number each), of one tenant."""
    count = int(megabytes * 1_000_000 / 58)
    rows = ", ".join(f"($1, 'patient {i:08d}, with a longer name', {i})" for i in range(count))
    return f"INSERT INTO patients (tenant_id, name, id) VALUES {rows}"


SHAPES: list[tuple[str, Callable[[float], str]]] = [
    ("nested derived tables, 400 deep", lambda s: nested_derived(int(400 * s))),
    ("2 000 ORs, each pinning", lambda s: or_branches(int(2000 * s))),
    ("2 000 ORs under a pin", lambda s: or_filter(int(2000 * s))),
    ("2 000 ORs of text casts under a pin", lambda s: or_casts(int(2000 * s))),
    ("300 joins pinned on the last", lambda s: join_chain_pinned_last(int(300 * s))),
    ("500 chained CTEs", lambda s: cte_chain(int(500 * s))),
    ("2 000-branch UNION", lambda s: union_branches(int(2000 * s))),
    ("2 000-branch UNION in a derived table", lambda s: union_in_derived(int(2000 * s))),
    (
        "2 000-branch UNION pinned outside it",
        lambda s: union_in_derived_pinned_outside(int(2000 * s)),
    ),
    ("2 000-branch UNION in a CTE", lambda s: union_in_cte(int(2000 * s))),
    ("2 000-branch UNION in IN (…)", lambda s: union_in_subquery(int(2000 * s))),
    ("2 000-branch INTERSECT", lambda s: intersect_chain(int(2000 * s))),
    ("2 000 casts in one form with the pin", lambda s: casts_with_the_pin(int(2000 * s))),
    ("2 000 divisions ANDed after the pin", lambda s: divisions_after_the_pin(int(2000 * s))),
    (
        "2 000 CASE divisions ANDed after the pin",
        lambda s: case_divisions_after_the_pin(int(2000 * s)),
    ),
    ("1 000-branch UNION, a division in each", lambda s: union_of_divisions(int(1000 * s))),
    ("2 000 VALUES rows of the pin's $1", lambda s: values_of_the_parameter(int(2000 * s))),
    ("2 000 divisions in a LEFT JOIN's ON", lambda s: divisions_in_an_outer_join(int(2000 * s))),
    ("1 000 joins, a division in each ON", lambda s: joins_with_a_division(int(1000 * s))),
    ("4 000 pins, a division after each", lambda s: pins_and_divisions(int(4000 * s))),
    ("20 000-item IN list", lambda s: in_list(int(20000 * s))),
    ("5 MB INSERT", lambda s: big_insert(5 * s)),
    ("5 MB INSERT, every row different", lambda s: big_insert_distinct(5 * s)),
]


def _until(megabytes: float, line: Callable[[int], str]) -> list[str]:
    lines: list[str] = []
    size, i = 0, 0
    while size < megabytes * 1_000_000:
        lines.append(line(i))
        size += len(lines[-1]) + 1
        i += 1
    return lines


def py_data_module(megabytes: float) -> str:
    """`DATA = [{...}, ...]`: a generated fixture, records of strings and numbers."""
    rows = _until(
        megabytes,
        lambda i: (
            f'    {{"id": {i}, "name": "item number {i}", "city": "Town {i % 97}", '
            f'"score": {i * 7 % 1000}.5, "tags": ["a{i % 13}", "b{i % 7}"], "ok": {i % 2 == 0}}},'
        ),
    )
    return '"""Generated data."""\n\nDATA = [\n' + "\n".join(rows) + "\n]\n"


def py_constants(megabytes: float) -> str:
    """A module of many constants: strings, numbers, tuples, some referring to earlier ones."""
    lines = _until(
        megabytes,
        lambda i: (
            f'LABEL_{i} = "label text {i}"'
            if i % 3 == 0
            else f"VALUE_{i} = ({i}, {i * 2}, LABEL_{i - i % 3})"
            if i % 3 == 1
            else f'PATH_{i} = LABEL_{i - 2} + "/{i}"'
        ),
    )
    return "\n".join(lines) + "\n"


def py_functions(megabytes: float) -> str:
    """Many small functions, each with a local, a branch and a call of the one before."""
    lines = _until(
        megabytes,
        lambda i: (
            f"def f{i}(x, y=1):\n    z = x + {i}\n    if z > y:\n        return "
            f'f{max(i - 1, 0)}(z - 1) if {i} else z\n    return "v{i}" + str(y)\n'
        ),
    )
    return "\n".join(lines) + "\n"


def py_huge_string(megabytes: float) -> str:
    """One huge string constant (an embedded document)."""
    words = _until(megabytes, lambda i: f"word{i % 1000} and some more text, line {i}")
    return "TEXT = " + repr("\n".join(words)) + "\n"


PYTHON_SHAPES: list[tuple[str, Callable[[float], str]]] = [
    ("data module", py_data_module),
    ("constants", py_constants),
    ("small functions", py_functions),
    ("huge string", py_huge_string),
]

CONFIG = '[tool.tenantguard]\ntenant_tables = ["patients", "appointments"]\n'


def _python_child(what: str, directory: str) -> int:
    """In a child of its own: `parse` or `check` the project in `directory`; prints seconds and
    peak RSS (MB) on one line."""
    path = os.path.join(directory, "app", "data.py")
    if what == "parse":
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        gc.collect()
        start = time.perf_counter()
        ast.parse(text)
    else:
        from tenantguard.cli import main as cli_main

        os.chdir(directory)
        gc.collect()
        start = time.perf_counter()
        cli_main(["check", "--no-cache", "--jobs", "1", "--format", "text", "app"])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RESULT {seconds:.3f} {peak:.0f}")
    return 0


def _measure(what: str, directory: str) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--python-child", what, directory],
        capture_output=True,
        text=True,
        check=False,
    )
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if not line:
        raise SystemExit(f"child failed: {done.stderr[-2000:]}")
    seconds, peak = line[-1].split()[1:]
    return float(seconds), float(peak)


def python_main(args: argparse.Namespace) -> int:
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(
        f"{'shape':<18} {'size':>7} {'ast.parse':>10} {'check':>9} {'ratio':>6} "
        f"{'RSS parse':>10} {'RSS check':>10}"
    )
    for name, build in PYTHON_SHAPES:
        if args.only.lower() not in name.lower():
            continue
        for megabytes in (float(m) for m in args.megabytes.split(",")):
            with tempfile.TemporaryDirectory() as directory:
                os.mkdir(os.path.join(directory, "app"))
                text = build(megabytes)
                with open(os.path.join(directory, "app", "data.py"), "w") as handle:
                    handle.write(text)
                with open(os.path.join(directory, "pyproject.toml"), "w") as handle:
                    handle.write(CONFIG)
                parse, parse_rss = _measure("parse", directory)
                check, check_rss = _measure("check", directory)
            print(
                f"{name:<18} {len(text) / 1e6:>5.1f}MB {parse:>9.2f}s {check:>8.2f}s "
                f"{check / parse:>5.1f}x {parse_rss:>8.0f}MB {check_rss:>8.0f}MB"
            )
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="store_true", help="big Python modules instead")
    parser.add_argument("--megabytes", default="1,9", help="with --python: the sizes")
    parser.add_argument("--python-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", default="", help="the shapes whose name holds this text")
    parser.add_argument(
        "--lossy",
        action="store_true",
        help="with `name` and `status` columns of a lossy type (real, char(n)…): the proof "
        "then follows every column compared, computed or projected with them",
    )
    args = parser.parse_args(argv)
    if args.python_child:
        return _python_child(*args.python_child)
    if args.python:
        return python_main(args)
    policy = POLICY.replace(lossy_columns={"name", "status"}) if args.lossy else POLICY
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    print(engine_build.describe())
    print(f"{'shape':<40} {'size':>9} {'parse':>9} {'analyse':>9} {'ratio':>6}  verdict")
    worst = 0.0
    slowest = 0.0
    for name, build in SHAPES:
        if args.only.lower() not in name.lower():
            continue
        sql = build(args.scale)
        parses: list[float] = []
        analyses: list[float] = []
        codes: list[str] = []
        for _ in range(args.repeat):  # take turns: drift hits both alike
            gc.collect()
            start = time.perf_counter()
            parse_statement(sql)
            parses.append(time.perf_counter() - start)
            gc.collect()
            start = time.perf_counter()
            verdict = analyze_statement(sql, policy)
            analyses.append(time.perf_counter() - start)
            codes = sorted({f.code for f in verdict.findings})
        parse, analyse = statistics.median(parses), statistics.median(analyses)
        ratio = analyse / parse if parse else float("inf")
        worst, slowest = max(worst, ratio), max(slowest, analyse)
        print(
            f"{name:<40} {len(sql) / 1000:>8.0f}k {parse * 1000:>7.1f}ms {analyse * 1000:>7.1f}ms "
            f"{ratio:>5.2f}x  {', '.join(codes) or 'proven'}"
        )
    print(
        f"\nworst ratio {worst:.2f}x (target <= 3), slowest {slowest * 1000:.0f} ms (target <= 500)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
