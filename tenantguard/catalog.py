"""Every rule tenantguard has, for the faces (`tenantguard rule`, SARIF): query, patch and
catalog (audit) rules."""

from __future__ import annotations

from typing import Any

from tenantguard.audit.rules import CATALOG_RULES
from tenantguard.engine.context import Rule, rule_of
from tenantguard.engine.rules import ALL_RULES as QUERY_RULES
from tenantguard.patches.rules import PATCH_RULES
from tenantguard.runtime import rule as runtime_rule

__all__ = ["CATALOG", "rule_doc", "rule_module"]

CATALOG: tuple[Rule[Any], ...] = (
    *QUERY_RULES,
    *PATCH_RULES,
    *CATALOG_RULES,
    rule_of(runtime_rule),
)


def rule_doc(code: str) -> Rule[Any] | None:
    """The rule with this code or name (case-insensitive), or None."""
    wanted = code.strip().upper()
    return next((r for r in CATALOG if wanted in (r.code, r.name.upper())), None)


def rule_module(code: str) -> str:
    """The repository path of the module that defines a rule (its docstring is the rule's doc):
    its source's path, also where the module is compiled (an extension beside the source)."""
    for rule in CATALOG:
        if rule.code == code and rule.module.startswith("tenantguard."):
            return rule.module.replace(".", "/") + ".py"
    raise KeyError(code)
