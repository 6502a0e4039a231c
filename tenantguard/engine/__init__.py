"""The engine: the tenant proof and its rules, pure functions over SQL text (sqlglot only)."""

from __future__ import annotations

from tenantguard.engine.analyze import Analyzer, Verdict, analyze_statement
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import Policy

__all__ = ["Analyzer", "Finding", "Policy", "Severity", "Verdict", "analyze_statement"]
