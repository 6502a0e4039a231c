"""tenantguard: proves that every SQL statement on a tenant table is pinned to one tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantguard import _sqlglotc
from tenantguard.errors import TenantIsolationError

if TYPE_CHECKING:
    from tenantguard.engine import Analyzer, Finding, Policy, Severity, Verdict, analyze_statement

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

# before anything imports sqlglot: a sqlglotc of another version is not used
_sqlglotc.install()


def __getattr__(name: str) -> Any:
    # the engine imports sqlglot (~130 ms): only when asked for (a cached check never is)
    if name in __all__:
        from tenantguard import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'tenantguard' has no attribute {name!r}")
