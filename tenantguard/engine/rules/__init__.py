"""The rules. Codes are permanent: a retired code is never reused.

The catalogue (`ALL_RULES`, `STATEMENT_RULES`) is built on first use: importing one rule's
module (`from tenantguard.engine.rules import tg009_unresolved_dynamic_sql`) loads that module
alone, so that a check whose verdicts all come from the store never loads the parser the
statement rules need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tenantguard.engine.context import Context, Rule

    ALL_RULES: tuple[Rule[Context], ...]
    STATEMENT_RULES: tuple[Rule[Context], ...]

__all__ = ["ALL_RULES", "STATEMENT_RULES", "Rule", "rule_by_code"]

_MODULES = (
    "tg001_unpinned_reference",
    "tg002_insert_without_tenant",
    "tg003_upsert_conflict_target",
    "tg004_tenant_reassignment",
    "tg005_whole_table_operation",
    "tg006_unprovable_statement",
    "tg007_ddl_outside_patches",
    "tg008_multi_tenant_filter",
    "tg009_unresolved_dynamic_sql",
    "tg010_suppression_without_reason",
    "tg011_unused_suppression",
    "tg012_several_tenants_in_one_statement",
    "tg013_side_effect_on_unfiltered_rows",
)


def _catalogue() -> tuple[Rule[Context], ...]:
    every: tuple[Rule[Context], ...] | None = globals().get("ALL_RULES")
    if every is None:
        from tenantguard.engine.context import rule_of

        every = tuple(rule_of(importlib.import_module(f"{__name__}.{m}")) for m in _MODULES)
        globals()["ALL_RULES"] = every
        globals()["STATEMENT_RULES"] = tuple(r for r in every if r.check is not None)
    return every


def __getattr__(name: str) -> Any:
    if name in ("ALL_RULES", "STATEMENT_RULES"):
        _catalogue()
        return globals()[name]
    if name == "Rule":
        from tenantguard.engine.context import Rule

        return Rule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def rule_by_code(code: str) -> Rule[Context] | None:
    wanted = code.strip().upper()
    return next((r for r in _catalogue() if r.code == wanted or r.name.upper() == wanted), None)
