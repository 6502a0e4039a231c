"""Prints the proof's verdict of many statements as JSON lines, for comparing two builds of the
proof (pure Python and compiled with mypyc) statement by statement: run by
tests/package/test_compiled_differential.py under each interpreter, outside the checkout.

The statements: every rule case and patch-rule case (tests/cases/*.yaml), the benchmark
corpus, and seeded mutations of the rule cases (a statement's words swapped, cased, repeated,
non-ASCII names), each under the rule cases' policy.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


def _module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cases(name: str) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: the same data, faster
    data: list[dict[str, Any]] = yaml.load((HERE / "cases" / name).read_text("utf-8"), loader)
    return data


_SWAPS = [
    ("tenant_id", "TENANT_ID"),
    ("tenant_id", '"tenant_id"'),
    ("patients", "PATIENTS"),
    ("patients", "Patienten_Ü"),
    ("patients", '"Audit Log"'),
    ("$1", "$2"),
    (" AND ", " OR "),
    (" OR ", " AND "),
    ("=", "<>"),
    ("JOIN", "LEFT JOIN"),
    ("LEFT JOIN", "RIGHT JOIN"),
    ("UNION ALL", "UNION"),
    ("SELECT", "SELECT DISTINCT"),
    ("WHERE", "WHERE true AND"),
    ("FROM patients", "FROM patients p"),
    ("appointments", "leads"),
]


def _mutations(sqls: list[str], count: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        sql = rng.choice(sqls)
        for _ in range(rng.randint(1, 3)):
            old, new = rng.choice(_SWAPS)
            if old in sql:
                at = rng.choice([i for i in range(len(sql)) if sql.startswith(old, i)])
                sql = sql[:at] + new + sql[at + len(old) :]
        yield sql


def main(argv: list[str]) -> int:
    corpus_size = int(argv[0]) if argv else 400
    mutations = int(argv[1]) if len(argv) > 1 else 2000
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.policy import Policy

    conftest = _module("_tg_conftest", HERE / "conftest.py")
    corpus = _module("_tg_corpus", HERE.parent / "benchmarks" / "corpus.py")
    jobs: list[tuple[str, Policy, bool]] = []
    rules = _cases("rules.yaml")
    for case in rules:
        policy = conftest.case_policy(**case.get("config", {}))
        jobs.append((case["sql"], policy, bool(case.get("patch", False))))
    default = conftest.case_policy()
    for case in _cases("patch_rules.yaml"):
        jobs.append((case["sql"], default, True))
    jobs.extend((sql, default, False) for sql in corpus.statements(corpus_size))
    plain = [c["sql"] for c in rules if not c.get("config")]
    jobs.extend((sql, default, False) for sql in _mutations(plain, mutations, seed=5))
    for sql, policy, in_patch in jobs:
        try:
            verdict = analyze_statement(sql, policy, in_patch=in_patch)
            out: object = [
                [
                    [f.code, str(f.severity), f.message, f.help, f.line, f.column]
                    for f in verdict.findings
                ],
                # a placeholder's key is its node's identity: no value to compare
                [
                    [p.kind, "?" if p.kind == "placeholder" else repr(p.key)]
                    for p in verdict.pin_values
                ],
                verdict.touches_tenant_tables,
                verdict.parsed,
            ]
        except Exception as error:  # what one build raises and the other does not
            out = f"raised {type(error).__name__}: {error}"
        print(json.dumps([sql, in_patch, out], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
