"""Every rule tenantguard has, for the faces (`tenantguard rule`, SARIF): query and patch rules."""

from __future__ import annotations

from dataclasses import dataclass

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.rules import ALL_RULES as QUERY_RULES
from tenantguard.patches.rules import PATCH_RULES

__all__ = ["CATALOG", "RuleDoc", "rule_doc"]


@dataclass(frozen=True, slots=True)
class RuleDoc:
    info: RuleInfo
    doc: str

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def name(self) -> str:
        return self.info.name


CATALOG: tuple[RuleDoc, ...] = (
    *(RuleDoc(r.info, r.doc) for r in QUERY_RULES),
    *(RuleDoc(r.info, r.doc) for r in PATCH_RULES),
)


def rule_doc(code: str) -> RuleDoc | None:
    wanted = code.strip().upper()
    return next((r for r in CATALOG if wanted in (r.code, r.name.upper())), None)
