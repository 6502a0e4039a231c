"""Fixture files with inline expectations (`# expect: TG001` / `-- expect: TG001, TG011`).

Each fixture is checked as the CLI checks it; the set of (line, code) reported must equal the set
written in the file. A line inside a multi-line SQL string carries its marker as a SQL comment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.engine.rules import ALL_RULES, STATEMENT_RULES

FIXTURES = Path(__file__).parent.parent / "fixtures"
FILES = sorted([*FIXTURES.glob("python/*.py"), *FIXTURES.glob("sql/*.sql")])
POLICY = [
    "--isolated",
    "--tenant-tables",
    "patients,appointments,leads,chat_messages,clinical_records",
    "--global-tables",
    "tenants",
]
_MARKER = re.compile(r"expect:\s*((?:TG\d{3}\s*,?\s*)+)")


def expected(path: Path) -> set[tuple[int, str]]:
    out = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for match in _MARKER.finditer(line):
            out |= {(number, code) for code in re.findall(r"TG\d{3}", match.group(1))}
    return out


def reported(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> set[tuple[int, str]]:
    # the fixtures are a project of their own (`--isolated` takes the working directory as the
    # root): not this repository, whose tests hold attacks on the index in their strings
    monkeypatch.chdir(FIXTURES)
    main(["check", *POLICY, "--format", "json", str(path)])
    data = json.loads(capsys.readouterr().out)
    return {(f["line"], f["rule"]) for f in data["findings"]}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixture(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert reported(path, capsys, monkeypatch) == expected(path)


def test_source_rules_have_pass_and_fail_fixtures() -> None:
    """Rules about files (not statements) get their cases from the fixtures."""
    statement_codes = {r.code for r in STATEMENT_RULES}
    markers = {code for path in FILES for _, code in expected(path)}
    for rule in ALL_RULES:
        if rule.code not in statement_codes:
            assert rule.code in markers, f"{rule.code} has no failing fixture"
    # passing cases: the suppressions with a reason that are used, the dynamic SQL that resolves
    assert "ignore[TG001] -- admin report" in (FIXTURES / "python" / "suppressions.py").read_text()
