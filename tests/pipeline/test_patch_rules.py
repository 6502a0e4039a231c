"""Patch rule cases (tests/cases/patch_rules.yaml), their catalogue, and positions in DO blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tenantguard import Policy
from tenantguard.patches.lint import lint_patch_text
from tenantguard.patches.rules import PATCH_RULES
from tests.conftest import assert_documented, read_cases

CASES = read_cases("patch_rules.yaml")
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
    directory = Path(__file__).resolve().parent.parent.parent / "patches"
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


# ---------------------------------------------------------------- the patch set, read once


def test_a_patch_set_is_parsed_once_not_once_per_patch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each patch is checked against the tables the whole set builds: reading the set again for
    every patch made n patches cost n² parses (the store test's 82 patches: 6 806 parses)."""
    from tenantguard.patches import lint

    count = 40
    for n in range(count):
        (tmp_path / f"{n:04d}_t{n}.sql").write_text(
            f"CREATE TABLE IF NOT EXISTS t{n} (id bigint, tenant_id bigint NOT NULL);\n"
            f"CREATE INDEX IF NOT EXISTS t{n}_tenant_idx ON t{n} (tenant_id);\n",
            encoding="utf-8",
        )
    parsed: list[str] = []
    real = lint.read_patch_source

    def counting(text: str, path: str) -> lint.PatchSource:
        parsed.append(Path(path).name)
        return real(text, path)

    monkeypatch.setattr(lint, "read_patch_source", counting)
    monkeypatch.setattr(lint, "_read", {})
    for path in sorted(tmp_path.glob("*.sql")):
        assert lint_patch_text(path.read_text(), str(path), POLICY, tmp_path) == []
    # each file parsed as the one checked, and once more as one of the set
    assert len(parsed) == 2 * count
    assert sorted(parsed) == sorted(p.name for p in tmp_path.glob("*.sql") for _ in (1, 2))


def test_a_patch_of_the_set_edited_during_the_run_is_read_again(tmp_path: Path) -> None:
    """The index of a table lives in another patch: removing it there is seen by the next check
    in the same process (the set is cached by each file's size, time and inode)."""
    table = tmp_path / "0001_notes.sql"
    index = tmp_path / "0002_notes_index.sql"
    table.write_text(
        "CREATE TABLE IF NOT EXISTS notes (id bigint, tenant_id bigint NOT NULL);\n",
        encoding="utf-8",
    )
    index.write_text(
        "CREATE INDEX IF NOT EXISTS notes_tenant_idx ON notes (tenant_id);\n", encoding="utf-8"
    )
    assert lint_patch_text(table.read_text(), str(table), POLICY, tmp_path) == []
    index.write_text("CREATE INDEX IF NOT EXISTS notes_id_idx ON notes (id);\n", encoding="utf-8")
    [finding] = lint_patch_text(table.read_text(), str(table), POLICY, tmp_path)
    assert (finding.code, finding.line) == ("TG106", 1)
    index.unlink()  # gone: not read from the cache either
    [finding] = lint_patch_text(table.read_text(), str(table), POLICY, tmp_path)
    assert finding.code == "TG106"
    index.write_text(
        "CREATE INDEX IF NOT EXISTS notes_tenant_idx ON notes (tenant_id);\n", encoding="utf-8"
    )
    assert lint_patch_text(table.read_text(), str(table), POLICY, tmp_path) == []
