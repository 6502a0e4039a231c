"""Which build of the proof the suite runs on. CI runs the analyzer's tests a second time on the
proof compiled with mypyc (setup.py) and sets TENANTGUARD_EXPECT_COMPILED=1 there: that run
must really import the compiled modules, not the checkout's sources."""

from __future__ import annotations

import os

import pytest

from tenantguard.engine import proof_compiled


@pytest.mark.skipif(
    "TENANTGUARD_EXPECT_COMPILED" not in os.environ, reason="only in CI's compiled run"
)
def test_the_compiled_run_imports_the_compiled_proof() -> None:
    import tenantguard.engine.proof.blocks as blocks

    expected = os.environ["TENANTGUARD_EXPECT_COMPILED"] == "1"
    assert proof_compiled() is expected
    assert blocks.__file__ is not None
    assert blocks.__file__.endswith(".py") is not expected


def test_the_checkout_is_pure_python() -> None:
    """An editable install is never compiled (setup.py): an extension beside a source file
    would shadow the edits to it."""
    if os.environ.get("TENANTGUARD_EXPECT_COMPILED") == "1":
        pytest.skip("the compiled run")
    assert not proof_compiled()
