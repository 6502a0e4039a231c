"""Mutation check of the proof's round-2 fixes: each mutation undoes one fix, and the rule
cases must catch every one (a test fails).

    .venv/bin/python scripts/mutations.py

Prints CAUGHT (as it must be) or MISSED for each, restores every file, exits 1 on a miss.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = [
    "tests/proof/test_rule_cases.py",
    "tests/proof/test_schema.py",
    "tests/cli/test_bad_input.py",
]

# (what the mutation undoes, file, text of the fix, text without it)
MUTATIONS = [
    (
        "the tenant-table screen matches whole statements only",
        "tenantguard/engine/context.py",
        "named = any(n in lowered for n in needles)",
        "named = any(n == lowered for n in needles)",
    ),
    (
        "a composite key's equality counts only as written",
        "tenantguard/engine/proof/facts.py",
        "for one, c, other, r in ((a, la, b, lb), (b, lb, a, la)):",
        "for one, c, other, r in ((a, la, b, lb),):",
    ),
    (
        "TG012 off",
        "tenantguard/engine/rules/tg012_several_tenants_in_one_statement.py",
        "    if len(tenants) < 2:",
        "    if True:",
    ),
    (
        "derived tables see siblings",
        "tenantguard/engine/proof/blocks.py",
        "                    return self._before(parent, child) if lateral else nothing\n            elif isinstance(node, exp.From)",
        "                    return None\n            elif isinstance(node, exp.From)",
    ),
    (
        "ON sees everything",
        "tenantguard/engine/proof/blocks.py",
        "                    return parent.on_scopes.get(id(node), nothing)",
        "                    return None",
    ),
    (
        "lossy casts pin",
        "tenantguard/engine/proof/values.py",
        "            if not exact_cast(node, policy=policy):  # type: ignore[arg-type]\n"
        "                return None",
        "            if False:\n                return None",
    ),
    (
        "set operations by name",
        "tenantguard/engine/proof/projections.py",
        "        if len(source.body) <= 1:\n            return True, None",
        "        if True:\n            return True, None",
    ),
    (
        "null-safe chain to nullable",
        "tenantguard/engine/proof/solve.py",
        "            if fact.null_safe and (other.maybe_null or other.nullable):",
        "            if False:",
    ),
    (
        "foreign key over NULL tenant",
        "tenantguard/engine/proof/solve.py",
        "            if fact.via_key and other.maybe_null:",
        "            if False:",
    ),
    (
        "DML target may be a CTE",
        "tenantguard/engine/proof/blocks.py",
        "cte = self.cte_definition(table) if role is not Role.TARGET else None",
        "cte = self.cte_definition(table)",
    ),
    (
        "TG013 trusts every pin",
        "tenantguard/engine/placement.py",
        "    if fact is None or fact.pushed or fact.in_having:",
        "    if fact is None:",
    ),
    (
        "join alias not hidden",
        "tenantguard/engine/proof/blocks.py",
        "            if alias:\n                self._hide(block, alias, group)",
        "            if False:\n                self._hide(block, alias, group)",
    ),
    (
        "schema-qualified columns ignore the schema",
        "tenantguard/engine/proof/names.py",
        "            if schema:\n                return self._schema_match(matches[0], schema)",
        "            if False:\n                return self._schema_match(matches[0], schema)",
    ),
    (
        "recursive readers keep their position",
        "tenantguard/engine/proof/solve.py",
        "        inside = [r for r in inside if self._reader_position(r) == index]",
        "        inside = inside",
    ),
    (
        "placeholders folded",
        "tenantguard/engine/proof/values.py",
        '"placeholder", str(name.this) if isinstance(name, exp.Identifier) else str(name)',
        '"placeholder", (str(name.this) if isinstance(name, exp.Identifier) else str(name)).lower()',
    ),
    (
        "branches need not agree on the value",
        "tenantguard/engine/proof/solve.py",
        "            if projected is None or (value is not None and projected != value):",
        "            if projected is None:",
    ),
    (
        "pushdown into DML",
        "tenantguard/engine/proof/projections.py",
        "        if not isinstance(node, exp.Select):\n            return False\n        if any(node.args.get(clause) for clause in _NOT_ROW_BY_ROW):",
        "        if not isinstance(node, exp.Select):\n            return True\n        if any(node.args.get(clause) for clause in _NOT_ROW_BY_ROW):",
    ),
    (
        "a carriage return does not end a line comment",
        "tenantguard/engine/sqltext.py",
        '_LINE_END = lazy_pattern(r"[\\n\\r]")',
        '_LINE_END = lazy_pattern(r"[\\n]")',
    ),
    (
        "dollar tags of ASCII only",
        "tenantguard/engine/sqltext.py",
        '_DOLLAR_TAG = lazy_pattern(rf"\\$(?:{NAME_START}{TAG_CHAR}*)?\\$")',
        '_DOLLAR_TAG = lazy_pattern(r"\\$(?:[A-Za-z_][A-Za-z_0-9]*)?\\$")',
    ),
    (
        "a composite foreign key pins without its other columns",
        "tenantguard/engine/proof/facts.py",
        "if ref_table == target.table and all(",
        "if ref_table == target.table and any(",
    ),
    (
        "a parameter cast lossily elsewhere still pins",
        "tenantguard/engine/proof/blocks.py",
        "        if self.lossy and value in self.lossy:\n            return None",
        "        if False:\n            return None",
    ),
    (
        "pushdown into a MATERIALIZED CTE",
        "tenantguard/engine/proof/solve.py",
        "        if self._materialized(block, len(readers)):\n",
        "        if False:\n",
    ),
    (
        "unparseable text running SQL is only a warning",
        "tenantguard/engine/rules/tg006_unprovable_statement.py",
        "runs_text = _runs_text(ctx.sql)",
        'runs_text = ""',
    ),
    (
        "COPY to a program passes",
        "tenantguard/engine/rules/tg006_unprovable_statement.py",
        "    yield from _outside_the_database(ctx)\n",
        "",
    ),
    (
        "TRUNCATE CASCADE of a global table passes",
        "tenantguard/engine/rules/tg005_whole_table_operation.py",
        'and str(node.args.get("option") or "").upper() == "CASCADE"',
        "and False",
    ),
    (
        "server file functions pass",
        "tenantguard/engine/rules/tg006_unprovable_statement.py",
        "    **dict.fromkeys(_SERVER_FILES, _FILES_SAY),\n",
        "",
    ),
    (
        "the registry's key is read off any table of a cascading write",
        "tenantguard/engine/cascades.py",
        "and (not side.table or side.table in names)",
        "",
    ),
    (
        "a cascading UPDATE is looked at whatever it changes",
        "tenantguard/engine/cascades.py",
        'return "*" in referenced or bool(changed & referenced)',
        "return True",
    ),
    (
        "DISTINCT ON is a grouping by the select list",
        "tenantguard/engine/proof/projections.py",
        "                keys = [_ordering_key(node, k) for k in listed]",
        "                keys = [e.this if isinstance(e, exp.Alias) else e for e in node.expressions]",
    ),
    (
        "a pin is pushed past a LIMIT of a set operation",
        "tenantguard/engine/proof/solve.py",
        "            not self._filter_commutes(block.node) or not self._set_pushdown_safe(reader)",
        "            not self._set_pushdown_safe(reader)",
    ),
]


def main() -> int:
    missed = 0
    for label, path, old, new in MUTATIONS:
        file = ROOT / path
        text = file.read_text(encoding="utf-8")
        if old not in text:
            print(f"?? {label}: the fix's text is not in {path} any more")
            missed += 1
            continue
        file.write_text(text.replace(old, new, 1), encoding="utf-8")
        try:
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *TESTS],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
        finally:
            file.write_text(text, encoding="utf-8")
        failed = [
            line.split("::")[-1] for line in run.stdout.splitlines() if line.startswith("FAILED")
        ]
        print(f"{'CAUGHT' if run.returncode else 'MISSED'} {label}: {failed[:1]}")
        missed += not run.returncode
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
