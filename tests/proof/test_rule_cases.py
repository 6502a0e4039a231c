"""Every rule case of tests/cases/rules.yaml, and the rule catalogue's own completeness."""

from __future__ import annotations

from typing import Any

import pytest

from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.rules import ALL_RULES, STATEMENT_RULES
from tests.conftest import assert_documented, case_policy, read_cases

CASES = read_cases("rules.yaml")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['rule']}-{c['name']}" for c in CASES])
def test_rule_case(case: dict[str, Any]) -> None:
    policy = case_policy(**case.get("config", {}))
    verdict = analyze_statement(case["sql"], policy, in_patch=case.get("patch", False))
    got = sorted(f.code for f in verdict.findings)
    assert got == sorted(case["expect"]), [f"{f.code}: {f.message}" for f in verdict.findings]
    for finding in verdict.findings:
        assert finding.message and finding.help
        assert finding.severity == case.get("severity", finding.severity)
        assert finding.line >= 1 and finding.column >= 1


def test_case_names_are_unique() -> None:
    names = [(c["rule"], c["name"]) for c in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule", STATEMENT_RULES, ids=[r.code for r in STATEMENT_RULES])
def test_every_rule_has_pass_and_fail_cases(rule: Any) -> None:
    mine = [c for c in CASES if c["rule"] == rule.code]
    assert any(rule.code in c["expect"] for c in mine), f"{rule.code} has no failing case"
    assert any(rule.code not in c["expect"] for c in mine), f"{rule.code} has no passing case"


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.code for r in ALL_RULES])
def test_every_rule_is_documented(rule: Any) -> None:
    assert_documented(rule)


def test_rules_skipped_by_their_needs_would_have_found_nothing() -> None:
    """A rule's NEEDS lets the engine skip it on statements without those nodes: over every
    case, running every rule regardless gives the same findings."""
    from tenantguard.engine.analyze import _run_rules, parse_statement
    from tenantguard.engine.context import Context

    assert any(rule.needs for rule in STATEMENT_RULES)
    for case in CASES:
        policy = case_policy(**case.get("config", {}))
        results = []
        for skip in (True, False):
            tree, inserted, error, offset = parse_statement(case["sql"])
            ctx = Context(
                case["sql"], policy, tree, inserted, error, offset, case.get("patch", False)
            )
            results.append(
                [(f.code, f.message, f.line, f.column) for f in _run_rules(ctx, skip_by_needs=skip)]
            )
        assert results[0] == results[1], case["name"]


@pytest.mark.parametrize(
    "sql, where",
    [
        ("SELECT * FROM patients", "in the SELECT statement"),
        # the statement is a UNION: its CTE body is not "the statement"
        (
            "WITH x AS (SELECT id, tenant_id FROM patients) "
            "SELECT * FROM x WHERE tenant_id = $1 UNION ALL SELECT * FROM x",
            'in CTE "x"',
        ),
        (
            "SELECT id FROM appointments WHERE tenant_id = $1 UNION SELECT id FROM patients",
            "in branch 2 of UNION of the statement",
        ),
        (
            "SELECT * FROM appointments a WHERE a.tenant_id = $1 AND EXISTS "
            "(SELECT 1 FROM patients p WHERE p.id = a.patient_id)",
            "in a subquery in the WHERE of the SELECT statement",
        ),
    ],
)
def test_findings_name_the_block_they_are_in(sql: str, where: str) -> None:
    verdict = analyze_statement(sql, case_policy())
    messages = [f.message for f in verdict.findings if f.code == "TG001"]
    assert len(messages) == 1 and where in messages[0], messages
