"""tenantguard: proves that every SQL statement on a tenant table is pinned to one tenant."""

from __future__ import annotations

from tenantguard.engine import Analyzer, Finding, Policy, Severity, Verdict, analyze_statement
from tenantguard.errors import TenantIsolationError

__version__ = "0.1.0"

__all__ = [
    "Analyzer",
    "Finding",
    "Policy",
    "Severity",
    "TenantIsolationError",
    "Verdict",
    "__version__",
    "analyze_statement",
]
