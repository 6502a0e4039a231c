"""Session 42 (helper h42G): the tenant registry's row of one tenant, referenced with an action by
a key that is not a tenant table's tenant column, in the static proof (schema sources).

`DELETE FROM clinics WHERE id = $1` is the registry's row of one tenant: it passed (TG005's
exemption, its value checked at run time), taken to reach that tenant's rows only. A key of a
tenant table referencing the registry from another column (`visits.referred_by REFERENCES
clinics ON DELETE CASCADE`: a referral between clinics) reaches other tenants' rows: on the
server clinic 1's pinned DELETE deleted clinic 2's visit it referred, and the UPDATE of its key
rewrote it (tests/runtime/test_h42G_runtime.py). The registry is now listed in the cascades
for such keys only, and a listed registry's write is TG005 pinned or not; the keys carrying
the registry's key to the tenant column are left out, as a tenant table's own are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.config import Settings, build_policy
from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.policy import Policy

SCHEMA = """
CREATE TABLE clinics (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE visits (
  id serial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES clinics (id) ON UPDATE CASCADE ON DELETE CASCADE,
  referred_by bigint{referral},
  note text NOT NULL);
"""
REFERRAL = " REFERENCES clinics (id) ON UPDATE CASCADE ON DELETE CASCADE"
WRITES = [
    "DELETE FROM clinics WHERE id = $1",
    "UPDATE clinics SET id = $2 WHERE id = $1",
]


def _policy(tmp_path: Path, referral: str) -> Policy:
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "0001.sql").write_text(SCHEMA.format(referral=referral), encoding="utf-8")
    policy = build_policy(Settings(root=tmp_path, schema_paths=("schema",)))
    assert policy.tenant_root == "clinics"
    return policy


def _codes(sql: str, policy: Policy) -> list[str]:
    return [f.code for f in analyze_statement(sql, policy).findings]


@pytest.mark.parametrize("sql", WRITES)
def test_a_registry_row_referenced_by_other_tenants_rows_is_a_cascade(
    tmp_path: Path, sql: str
) -> None:
    assert _codes(sql, _policy(tmp_path, REFERRAL)) == ["TG005"]


@pytest.mark.parametrize("sql", WRITES)
def test_a_registry_row_referenced_by_the_tenant_column_only_passes(
    tmp_path: Path, sql: str
) -> None:
    policy = _policy(tmp_path, "")
    assert _codes(sql, policy) == []
    assert analyze_statement(sql, policy).pin_values  # the key's value, checked at run time


def test_the_registrys_unpinned_write_is_still_a_finding(tmp_path: Path) -> None:
    assert "TG005" in _codes("DELETE FROM clinics WHERE name = $1", _policy(tmp_path, ""))
