"""Long VALUES lists (engine/bulk_values.py): the rows that bring nothing new to the proof are
left out of the tree. The verdict — findings with their positions and messages, pin values — must
be the one of the statement read row by row; these tests compare the two on every INSERT … VALUES
of the rule cases, grown to many rows with rows changed at random, and on the attacker's shapes:
another tenant's value in one row deep in the list."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenantguard.engine import bulk_values
from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.policy import Policy
from tenantguard.engine.proof.model import PinValue
from tenantguard.engine.verdicts import Verdict

from .conftest import case_policy

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "cases" / "rules.yaml").read_text(encoding="utf-8")
)
_ROW = re.compile(r"\((?:[^()']|'[^']*')*\)")


def _verdicts(sql: str, policy: Policy, monkeypatch: pytest.MonkeyPatch) -> tuple[Verdict, Verdict]:
    """(thinned, as written): the same statement with the thinning on for any length, and off."""
    with monkeypatch.context() as patch:
        patch.setattr(bulk_values, "MINIMUM", 0)
        thinned = analyze_statement(sql, policy)
    with monkeypatch.context() as patch:
        patch.setattr(bulk_values, "MINIMUM", 1 << 40)
        written = analyze_statement(sql, policy)
    return thinned, written


def _grown(sql: str, rng: random.Random) -> str | None:
    """The statement with its VALUES list grown to 3-40 rows: copies of its rows, some with one
    value changed (another parameter, literal, NULL, DEFAULT, a cast, an expression)."""
    head = bulk_values._HEAD.match(sql)
    if head is None:
        return None
    rows = []
    pos = head.end()
    while (row := _ROW.match(sql, pos)) is not None:
        rows.append(row.group())
        comma = re.compile(r"\s*,\s*").match(sql, row.end())
        if comma is None or not sql.startswith("(", comma.end()):
            pos = row.end()
            break
        pos = comma.end()
    if not rows:
        return None
    tail = sql[pos:]
    changes = [
        "$1", "$2", "$4", "7", "8", "'7'", "07", "NULL", "DEFAULT", "TRUE", "-3",
        "$1::int", "$1::real", "7::numeric", "'x'::text", "(SELECT 1)", "$1 + 0",
    ]  # fmt: skip
    grown = []
    for _ in range(rng.randint(3, 40)):
        row = rng.choice(rows)
        if rng.random() < 0.3:
            items = [i.strip() for i in re.findall(r"'[^']*'|[^,()]+", row[1:-1])]
            if items:
                items[rng.randrange(len(items))] = rng.choice(changes)
                row = "(" + ", ".join(items) + ")"
        grown.append(row)
    separator = rng.choice([", ", ",\n  ", " ,", ",\n\t"])
    return sql[: head.end()] + separator.join(grown) + tail


def _same_verdict(thinned: Verdict, written: Verdict, about: object) -> None:
    """The verdict of the thinned statement is the statement's: the same pin values, every
    finding of it is one of the statement's, as it is (position, message); those it does not
    have are a row's finding (TG002) that the statement repeats for a row left out, with the
    same message but the row's number."""
    assert thinned.pin_values == written.pin_values, about
    assert thinned.touches_tenant_tables == written.touches_tenant_tables, about
    assert set(thinned.findings) <= set(written.findings), about
    shown = {(f.code, f.severity, _ROW_NUMBER.sub("row N ", f.message)) for f in thinned.findings}
    for finding in set(written.findings) - set(thinned.findings):
        assert finding.code == "TG002" and _ROW_NUMBER.search(finding.message), (about, finding)
        normal = (finding.code, finding.severity, _ROW_NUMBER.sub("row N ", finding.message))
        assert normal in shown, (about, finding)


_ROW_NUMBER = re.compile(r"\brow [0-9]+ ")


def _insert_cases() -> list[dict[str, Any]]:
    return [c for c in CASES if bulk_values._HEAD.match(c["sql"]) and "VALUES" in c["sql"]]


def test_the_rule_cases_grown_give_the_same_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20261203)
    compared = thinned_any = 0
    for case in _insert_cases():
        policy = case_policy(**case.get("config", {}))
        for _ in range(12):
            sql = _grown(case["sql"], rng)
            if sql is None:
                break  # a row this test's pattern does not read (nested parentheses)
            thinned, written = _verdicts(sql, policy, monkeypatch)
            _same_verdict(thinned, written, (case["name"], sql))
            compared += 1
            if bulk_values.thin_rows(sql, policy, minimum=0):
                thinned_any += 1
    # the comparison means something only if rows were in fact left out, often
    assert compared > 300
    assert thinned_any > compared // 3


def _bulk(rows: list[str], suffix: str = "") -> str:
    return "INSERT INTO patients (tenant_id, name, dni) VALUES " + ", ".join(rows) + suffix


def test_another_tenant_deep_in_a_long_list_is_seen() -> None:
    """20 000 rows of tenant $1, one of tenant 2 in the middle (as a literal, as another
    parameter, as the tenant expression of nothing, as DEFAULT): the statement spans tenants."""
    policy = case_policy()
    base = [f"($1, 'name {i}', '{i:08d}')" for i in range(20_000)]
    for intruder, code in [
        ("(2, 'x', '1')", "TG012"),
        ("($2, 'x', '1')", "TG012"),
        ("(DEFAULT, 'x', '1')", "TG002"),
        ("((SELECT 2), 'x', '1')", "TG002"),
        ("($1::real, 'x', '1')", "TG002"),
    ]:
        rows = [*base[:12_345], intruder, *base[12_345:]]
        verdict = analyze_statement(_bulk(rows), policy)
        assert code in {f.code for f in verdict.findings}, intruder
    clean = analyze_statement(_bulk(base, " RETURNING id"), policy)
    assert clean.findings == ()
    assert clean.pin_values == (PinValue("parameter", 1),)


def test_a_finding_in_a_long_list_is_placed_and_numbered_as_written() -> None:
    policy = case_policy()
    rows = [f"($1, 'name {i}', '{i:08d}')" for i in range(5_000)]
    rows[4_321] = "(DEFAULT,\n 'x', '1')"
    sql = _bulk(rows)
    (finding,) = [f for f in analyze_statement(sql, policy).findings if f.code == "TG002"]
    assert "row 4322 " in finding.message
    assert finding.end_column > sql.index("(DEFAULT")  # it reaches the row (after the cuts)
    # and the same finding, read row by row
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk_values, "MINIMUM", 1 << 40)
        (again,) = [f for f in analyze_statement(sql, policy).findings if f.code == "TG002"]
    assert again == finding


def test_what_is_not_a_list_of_constants_is_parsed_as_written() -> None:
    policy = case_policy()
    many = ", ".join(["($1, 'a', 'b')"] * 10_000)
    # no column list, a WITH before it, a function call, a backslash, an E'' string, a comment,
    # text past ASCII: nothing is left out before it
    for sql in [
        f"INSERT INTO patients VALUES {many}",
        f"WITH x AS (SELECT 1) INSERT INTO patients (tenant_id, name, dni) VALUES {many}",
        f"INSERT INTO patients (tenant_id, name, dni) VALUES (f($1), 'a', 'b'), {many}",
        f"INSERT INTO patients (tenant_id, name, dni) VALUES ($1, 'a\\', 'b'), {many}",
        f"INSERT INTO patients (tenant_id, name, dni) VALUES ($1, E'a', 'b'), {many}",
        f"INSERT INTO patients (tenant_id, name, dni) VALUES ($1, 'a', 'b') /* x */, {many}",
        f"INSERT INTO patients (tenant_id, name, dni) VALUES ($1, 'ä', 'b'), {many}",
    ]:
        assert bulk_values.thin_rows(sql, policy, minimum=0) is None, sql[:80]
    # a run stops at the first row that is not constants: the rows after it stay
    sql = f"INSERT INTO patients (tenant_id, name, dni) VALUES {many}, (f($1), 'a', 'b'), {many}"
    thinned = bulk_values.thin_rows(sql, policy, minimum=0)
    assert thinned is not None and thinned.read == 10_000
    assert thinned.text.endswith(f", (f($1), 'a', 'b'), {many}")


def test_the_columns_whose_every_value_counts() -> None:
    policy = case_policy(tenant_root="tenants", lossy_columns={"score"})
    assert {"tenant_id", "id", "score"} <= bulk_values.counted_columns(policy, "tenants")
    assert "name" not in bulk_values.counted_columns(policy, "tenants")
    assert "id" not in bulk_values.counted_columns(policy, "patients")
    # every distinct value of a counted column is kept, two of any other, every parameter
    rows = [f"({i % 5}, 'n{i}', ${1 + i % 3})" for i in range(100)]
    sql = "INSERT INTO tenants (id, name, score) VALUES " + ", ".join(rows)
    thinned = bulk_values.thin_rows(sql, policy, minimum=0)
    assert thinned is not None
    assert thinned.kept == (1, 2, 3, 4, 5)
