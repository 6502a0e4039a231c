"""The proof on pathological statements: does its cost grow about linearly with the statement?

    python benchmarks/pathological.py [--repeat 5] [--scale 1.0] [--only UNION] [--lossy]

For each shape, the statement is parsed with the tool's own parser setup (`parse_statement`:
the reused tokenizer and parser) and analysed in full (`analyze_statement`: parse, proof and
every rule), taking turns, `--repeat` times; the medians are printed side by side with their
ratio. The runtime guard runs the same proof in the request path: a statement that takes
seconds here is a denial of service there.

Targets (issue 10): every shape <= 0.5 s to analyse, and <= 3x the time to parse it.
`--scale` multiplies every size (0.5 to look at the trend, 2 to look further).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
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
    ("20 000-item IN list", lambda s: in_list(int(20000 * s))),
    ("5 MB INSERT", lambda s: big_insert(5 * s)),
    ("5 MB INSERT, every row different", lambda s: big_insert_distinct(5 * s)),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
