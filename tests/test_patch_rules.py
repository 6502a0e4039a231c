"""Patch rule cases (tests/cases/patch_rules.yaml), their catalogue, and positions in DO blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tenantguard import Policy
from tenantguard.patches.lint import lint_patch_text
from tenantguard.patches.rules import PATCH_RULES

from .conftest import assert_documented

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "cases" / "patch_rules.yaml").read_text(encoding="utf-8")
)
POLICY = Policy("tenant_id", global_tables={"tenants"})


@pytest.mark.parametrize("case", CASES, ids=[f"{c['rule']}-{c['name']}" for c in CASES])
def test_patch_rule_case(case: dict[str, Any]) -> None:
    findings = lint_patch_text(case["sql"], "9999_case.sql", POLICY)
    assert sorted(f.code for f in findings) == sorted(case["expect"]), [f.message for f in findings]


@pytest.mark.parametrize("rule", PATCH_RULES, ids=[r.code for r in PATCH_RULES])
def test_every_patch_rule_has_cases_and_docs(rule: Any) -> None:
    mine = [c for c in CASES if c["rule"] == rule.code]
    assert any(rule.code in c["expect"] for c in mine)
    assert any(rule.code not in c["expect"] for c in mine)
    assert_documented(rule)


def test_findings_inside_do_blocks_point_at_their_line() -> None:
    patch = (
        "-- header\n"
        "DO $$\n"
        "BEGIN\n"
        "    IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'a') THEN\n"
        "        CREATE TYPE a AS ENUM ('x');\n"
        "    END IF;\n"
        "    CREATE TYPE b AS ENUM ('y');\n"
        "    EXECUTE 'SELECT 1';\n"
        "END\n"
        "$$;\n"
    )
    found = {(f.code, f.line) for f in lint_patch_text(patch, "0001_x.sql", POLICY)}
    assert found == {("TG102", 7), ("TG103", 8)}


def test_shipped_patches_are_clean() -> None:
    directory = Path(__file__).resolve().parent.parent / "patches"
    policy = Policy("tenant_id", global_tables={"tenants"})
    for path in sorted(directory.glob("*.sql")):
        assert lint_patch_text(path.read_text(), str(path), policy, directory) == [], path.name


def test_parse_errors_point_at_the_error() -> None:
    patch = "CREATE TABLE IF NOT EXISTS tenants (id bigserial PRIMARY KEY);\n-- ñandú\nSELECT 'á',\n    1 +;\n"
    [finding] = lint_patch_text(patch, "0001_x.sql", POLICY)
    assert (finding.code, finding.line, finding.column) == ("TG006", 4, 8)
    assert 'syntax error at or near ";"' in finding.message


def test_positions_after_non_ascii_text_are_exact() -> None:
    patch = (
        "-- Añadir índices: ñ\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON notes (tenant_id);\n"
    )
    [finding] = lint_patch_text(patch, "0001_x.sql", POLICY)
    assert (finding.code, finding.line, finding.column) == ("TG108", 2, 1)


def test_transaction_control_finding_points_at_the_statement() -> None:
    patch = "ALTER TABLE patients ADD COLUMN IF NOT EXISTS a int;\n  COMMIT;\n"
    [finding] = lint_patch_text(patch, "0001_x.sql", POLICY)
    assert (finding.code, finding.line, finding.column) == ("TG107", 2, 3)
