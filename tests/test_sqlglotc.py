"""sqlglotc is used only when its version is sqlglot's; otherwise the pure sqlglot runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tenantguard._sqlglotc import compiled_mismatch

PROBE = """
import importlib.metadata as metadata
real = metadata.version
FAKE = {fake!r}
metadata.version = lambda name: FAKE if FAKE and name == "sqlglotc" else real(name)
import tenantguard
from tenantguard import Analyzer, Policy
import sqlglot.parser, sqlglot.tokens
codes = [f.code for f in Analyzer(Policy("tenant_id", {{"patients"}})).statement_findings(
    "SELECT * FROM patients p JOIN visits v ON v.id = p.id WHERE v.tenant_id = $1")]
print(sqlglot.tokens.SQLGLOTC_INSTALLED, sqlglot.parser.__file__.endswith(".py"), codes)
"""


def probe(fake: str | None) -> tuple[str, str]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE.format(fake=fake)],
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.strip(), run.stderr


def test_a_sqlglotc_of_another_version_falls_back_to_pure_sqlglot() -> None:
    out, err = probe("0.0.1")
    assert out == "False True ['TG001']"
    assert "sqlglotc 0.0.1 does not match sqlglot" in err
    assert "pip install 'sqlglot[c]==" in err


def test_a_matching_sqlglotc_is_used() -> None:
    if compiled_mismatch() is not None:
        pytest.skip("this environment's sqlglotc does not match its sqlglot")
    try:
        from importlib import metadata

        metadata.version("sqlglotc")
    except metadata.PackageNotFoundError:
        out, err = probe(None)
        assert out == "False True ['TG001']" and not err  # pure sqlglot: no warning
        return
    out, err = probe(None)
    assert out == "True False ['TG001']"
    assert "does not match" not in err
