"""The engine: the tenant proof and its rules, pure functions over SQL text (sqlglot only)."""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenantguard.engine.findings import Finding, Severity

if TYPE_CHECKING:
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.policy import Policy
    from tenantguard.engine.verdicts import Analyzer, Verdict

__all__ = [
    "Analyzer",
    "Finding",
    "Policy",
    "Severity",
    "Verdict",
    "analyze_statement",
    "proof_compiled",
]


def proof_compiled() -> bool:
    """Does the proof run compiled (an install built with TENANTGUARD_COMPILE=1, see setup.py)?
    Told by the files beside it, without importing it (nor sqlglot)."""
    proof = Path(__file__).parent / "proof"
    return any((proof / f"blocks{suffix}").exists() for suffix in EXTENSION_SUFFIXES)


def __getattr__(name: str) -> Any:
    # findings need no sqlglot; the rest is imported when first asked for
    if name == "Policy":
        from tenantguard.engine.policy import Policy

        return Policy
    if name in ("Analyzer", "Verdict"):
        from tenantguard.engine import verdicts

        return getattr(verdicts, name)
    if name == "analyze_statement":
        from tenantguard.engine.analyze import analyze_statement

        return analyze_statement
    raise AttributeError(f"module 'tenantguard.engine' has no attribute {name!r}")
