"""Round 41, helper F (speed of the proof's facts, issues 10 and 12): what a faster fact
collection must keep.

A composite foreign key's fact (`a.patient_id = p.id` with `FOREIGN KEY (tenant_id,
patient_id) REFERENCES patients (tenant_id, id)`) is read even where every reference is
pinned without it: the solver takes a source's facts in the order they were collected (an ON's
before the WHERE's), so `a` below is pinned by the key from `p`, not by its own `a.tenant_id =
$1`; and TG013 reads which conditions are pins of `a`. Collecting the key's facts only for
references still unpinned after the cheap facts (a proposal of round 40) drops the TG013
finding of the first statement: these tests keep that from passing unnoticed. And the
shortcuts taken for speed answer as the general readings did: a bare column is no tenant
expression's call, a call still is one after its rewritings.
"""

from __future__ import annotations

from pathlib import Path

from sqlglot import exp, parse_one

from tenantguard.engine.analyze import analyze_statement, parse_statement
from tenantguard.engine.proof import build_proof
from tests.proof.test_schema import policy_for

SCHEMA = (
    "CREATE TABLE tenants (id bigserial PRIMARY KEY, name text);\n"
    "CREATE TABLE patients (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL "
    "REFERENCES tenants(id), name text, UNIQUE (tenant_id, id));\n"
    "CREATE TABLE appointments (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL "
    "REFERENCES tenants(id), patient_id bigint, duration_minutes int, "
    "FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id));\n"
)

# every reference pinned by its own `= $1`; the division reads `a` before (or beside) its pin
DIVIDES = (
    "SELECT a.id FROM patients p JOIN appointments a ON a.patient_id = p.id "
    "WHERE p.tenant_id = $1 AND a.tenant_id = $1 AND 100 / a.duration_minutes > 1"
)


def test_a_key_fact_is_read_where_every_reference_is_pinned_without_it(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SCHEMA)
    tree = parse_statement(DIVIDES)[0]
    assert tree is not None
    proof, analysis = build_proof(tree, policy)  # type: ignore[arg-type]
    assert all(r.pinned for r in proof.references)
    (a,) = [s for s in proof.references if s.table == "appointments"]
    # the ON's key fact comes first among a's facts, and p is pinned when a is tried
    assert a.pinned_by is not None and a.pinned_by.via_key
    assert any(f.value is not None for f in a.facts)  # its own `a.tenant_id = $1`, after it
    analysis.release()
    codes = [f.code for f in analyze_statement(DIVIDES, policy).findings]  # type: ignore[arg-type]
    assert codes == ["TG013"]


def test_a_pin_without_a_key_is_read_as_before(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SCHEMA)
    safe = (
        "SELECT a.id FROM patients p JOIN appointments a ON a.patient_id = p.id "
        "AND a.tenant_id = p.tenant_id WHERE p.tenant_id = $1"
    )
    assert analyze_statement(safe, policy).findings == ()  # type: ignore[arg-type]
    leak = (
        "SELECT a.id FROM patients p JOIN appointments a ON a.duration_minutes = p.id "
        "WHERE p.tenant_id = $1"
    )
    codes = [f.code for f in analyze_statement(leak, policy).findings]  # type: ignore[arg-type]
    assert "TG001" in codes


def test_tenant_expressions_are_told_by_shape(tmp_path: Path) -> None:
    policy = policy_for(
        tmp_path, SCHEMA, tenant_expressions=("current_setting('app.tenant_id')::bigint",)
    )
    index = policy.tenant_expression_index  # type: ignore[attr-defined]
    for text in (
        "current_setting('app.tenant_id')",
        "current_setting('app.tenant_id', true)",
        "pg_catalog.current_setting('app.tenant_id')",
        "current_setting('app.tenant_id'::text)",
    ):
        assert index(parse_one(text, read="postgres")) == 0, text
    for text in ("current_setting('app.other')", "tenant_id", "$1", "'app.tenant_id'"):
        assert index(parse_one(text, read="postgres")) is None, text
    assert index(exp.column("current_setting")) is None
