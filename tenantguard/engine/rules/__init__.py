"""The rules. Codes are permanent: a retired code is never reused."""

from __future__ import annotations

from tenantguard.engine.context import Context, Rule, rule_of
from tenantguard.engine.rules import (
    tg001_unpinned_reference,
    tg002_insert_without_tenant,
    tg003_upsert_conflict_target,
    tg004_tenant_reassignment,
    tg005_whole_table_operation,
    tg006_unprovable_statement,
    tg007_ddl_outside_patches,
    tg008_multi_tenant_filter,
    tg009_unresolved_dynamic_sql,
    tg010_suppression_without_reason,
    tg011_unused_suppression,
    tg012_several_tenants_in_one_statement,
    tg013_side_effect_on_unfiltered_rows,
)

__all__ = ["ALL_RULES", "STATEMENT_RULES", "Rule", "rule_by_code"]


ALL_RULES: tuple[Rule[Context], ...] = tuple(
    rule_of(m)
    for m in (
        tg001_unpinned_reference,
        tg002_insert_without_tenant,
        tg003_upsert_conflict_target,
        tg004_tenant_reassignment,
        tg005_whole_table_operation,
        tg006_unprovable_statement,
        tg007_ddl_outside_patches,
        tg008_multi_tenant_filter,
        tg009_unresolved_dynamic_sql,
        tg010_suppression_without_reason,
        tg011_unused_suppression,
        tg012_several_tenants_in_one_statement,
        tg013_side_effect_on_unfiltered_rows,
    )
)
STATEMENT_RULES: tuple[Rule[Context], ...] = tuple(r for r in ALL_RULES if r.check is not None)


def rule_by_code(code: str) -> Rule[Context] | None:
    wanted = code.strip().upper()
    return next((r for r in ALL_RULES if r.code == wanted or r.name.upper() == wanted), None)
