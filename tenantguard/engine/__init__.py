"""The engine: the tenant proof and its rules, pure functions over SQL text (sqlglot only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantguard.engine.findings import Finding, Severity

if TYPE_CHECKING:
    from tenantguard.engine.analyze import Analyzer, Verdict, analyze_statement
    from tenantguard.engine.policy import Policy

__all__ = ["Analyzer", "Finding", "Policy", "Severity", "Verdict", "analyze_statement"]


def __getattr__(name: str) -> Any:
    # findings need no sqlglot; the rest is imported when first asked for
    if name == "Policy":
        from tenantguard.engine.policy import Policy

        return Policy
    if name in ("Analyzer", "Verdict", "analyze_statement"):
        from tenantguard.engine import analyze

        return getattr(analyze, name)
    raise AttributeError(f"module 'tenantguard.engine' has no attribute {name!r}")
