"""The screen that decides whether a statement needs a proof at all: it may let through a
statement that names no tenant table (the proof then finds nothing), never stop one that does."""

from __future__ import annotations

import pytest

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement, parse_statement
from tenantguard.engine.context import Context

FEW = Policy(tenant_tables={"patients", "appointments"})
# more tables than the substring screen tests one by one: the word scan decides
MANY = Policy(tenant_tables={"patients", "appointments", *(f"t{i}" for i in range(300))})
QUOTED = Policy(tenant_tables={'odd"name', "patients"})
MIXED = Policy(tenant_tables={'"Patients"', "appointments"})


def _ctx(sql: str, policy: Policy) -> Context:
    return Context(sql, policy, *parse_statement(sql))


def test_the_policies_take_the_paths_they_are_meant_to() -> None:
    assert FEW.tenant_table_needles == ("appointments", "patients")
    assert MANY.tenant_table_needles is None
    assert QUOTED.tenant_table_needles is None
    assert MIXED.mixed_case_tables


@pytest.mark.parametrize("policy", [FEW, MANY], ids=["screen", "word-scan"])
@pytest.mark.parametrize(
    ("sql", "leaks"),
    [
        ("SELECT * FROM patients", True),
        ("SELECT * FROM PATIENTS", True),
        ('SELECT * FROM "patients"', True),
        ("SELECT * FROM public.patients p JOIN x ON true", True),
        ("SELECT * FROM patients WHERE tenant_id = $1", False),
        ("SELECT * FROM patients_archive", False),  # a longer word: no tenant table
        ("SELECT * FROM my_patients", False),
        ("SELECT 1", False),
        # non-ASCII text: the word scan, whatever the policy
        ("SELECT 'café' AS x, * FROM patients", True),
        ("SELECT 'café' AS x FROM patients_archive", False),
    ],
)
def test_same_verdicts_through_the_screen_and_the_word_scan(
    policy: Policy, sql: str, leaks: bool
) -> None:
    verdict = analyze_statement(sql, policy)
    assert any(f.code == "TG001" for f in verdict.findings) is leaks
    assert verdict.touches_tenant_tables is (leaks or "tenant_id = $1" in sql)


def test_a_longer_word_passes_the_screen_and_the_proof_finds_nothing() -> None:
    ctx = _ctx("SELECT * FROM patients_archive", FEW)
    assert ctx.may_name_tenant_table  # the substring screen lets it through...
    assert ctx.named_tenant_tables == []  # ...the words name no tenant table
    verdict = analyze_statement(ctx.sql, FEW)
    assert verdict.findings == () and not verdict.touches_tenant_tables


def test_a_name_with_a_quote_is_found_by_the_word_scan() -> None:
    ctx = _ctx('SELECT * FROM "odd""name"', QUOTED)
    assert ctx.may_name_tenant_table
    assert ctx.named_tenant_tables == ['odd"name']
    assert any(f.code == "TG001" for f in analyze_statement(ctx.sql, QUOTED).findings)


def test_a_unicode_escape_always_needs_the_proof() -> None:
    ctx = _ctx('SELECT * FROM U&"p\\0061tients"', FEW)
    assert ctx.may_name_tenant_table


def test_an_unparsable_statement_reports_the_tenant_tables_it_names() -> None:
    verdict = analyze_statement("SELECT * FROM patients WHERE (", FEW)
    (finding,) = verdict.findings
    assert finding.code == "TG006" and "patients" in finding.message
    assert verdict.touches_tenant_tables
