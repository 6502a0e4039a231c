"""What a benchmark measures: which builds of the proof and of sqlglot's parser are installed."""

from __future__ import annotations


def describe() -> str:
    """`proof: compiled (mypyc) | pure Python; sqlglot: compiled (sqlglotc) | pure Python`."""
    import sqlglot.parser

    from tenantguard._sqlglotc import compiled_mismatch
    from tenantguard.engine import proof_compiled

    proof = "compiled (mypyc)" if proof_compiled() else "pure Python"
    parser = "pure Python" if sqlglot.parser.__file__.endswith(".py") else "compiled (sqlglotc)"
    if compiled_mismatch() is not None:
        parser += ", sqlglotc ignored: its version is not sqlglot's"
    return f"proof: {proof}; sqlglot's parser: {parser}"
