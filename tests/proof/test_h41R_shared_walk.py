"""What the rules read from the proof's walk instead of walking the tree again is what their
own walk would find, in its order (h41R): `Context.inserts_and_updates` against
`tree.find_all(exp.Insert, exp.Update)` on every case of tests/cases/rules.yaml."""

from __future__ import annotations

from sqlglot import exp

from tenantguard.engine.analyze import _parse_statement
from tenantguard.engine.context import Context
from tests.conftest import case_policy, read_cases

WRITES = """
WITH a AS (INSERT INTO patients (tenant_id, name) VALUES ($1, 'x') RETURNING id),
     b AS (UPDATE appointments SET note = 'y' WHERE tenant_id = $1 RETURNING id)
INSERT INTO leads (tenant_id, source) SELECT $1, 'z' FROM a, b;
MERGE INTO patients p USING leads l ON p.id = l.id AND p.tenant_id = $1
WHEN MATCHED THEN UPDATE SET name = l.source
WHEN NOT MATCHED THEN INSERT (tenant_id, name) VALUES ($1, l.source);
INSERT INTO patients (tenant_id, name) VALUES ($1, 'a') ON CONFLICT (id) DO UPDATE SET name = 'b';
UPDATE patients SET name = 'n' WHERE tenant_id = $1;
SELECT * FROM patients WHERE tenant_id = $1
"""


def _checked(sql: str, policy: object) -> int:
    tree = _parse_statement(sql, policy)[0]  # type: ignore[arg-type]
    if tree is None:
        return 0
    ctx = Context(sql, policy, tree)  # type: ignore[arg-type]
    known = ctx.inserts_and_updates()
    if known is None:
        return 0
    walked = list(tree.find_all(exp.Insert, exp.Update))
    assert [id(n) for n in known] == [id(n) for n in walked], sql
    return 1


def test_the_walks_agree_on_every_rule_case() -> None:
    told = sum(
        _checked(case["sql"], case_policy(**case.get("config", {})))
        for case in read_cases("rules.yaml")
        if not case.get("patch")
    )
    assert told > 500  # (statements naming no tenant table have no proof: walked)


def test_the_walks_agree_on_writes_in_ctes_merges_and_upserts() -> None:
    policy = case_policy()
    for sql in WRITES.split(";"):
        tree = _parse_statement(sql, policy)[0]
        assert tree is not None
        ctx = Context(sql, policy, tree)
        walked = list(tree.find_all(exp.Insert, exp.Update))
        known = ctx.inserts_and_updates()
        assert ctx.proof is not None
        assert (
            known is None
            if len(walked) > 1
            else [id(n) for n in known or []] == [id(n) for n in walked]
        )
