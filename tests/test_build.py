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


@pytest.mark.skipif(
    os.environ.get("TENANTGUARD_EXPECT_COMPILED") != "1", reason="only in CI's compiled run"
)
def test_the_compiled_build_holds_only_the_listed_modules() -> None:
    """The wheel's extensions are the modules setup.py compiles (the proof's package and
    cascades.py), no more: an extension left in the build directory by an earlier build, of a
    module since taken off the list, would shadow that module's source once installed."""
    from importlib.machinery import EXTENSION_SUFFIXES
    from pathlib import Path

    import tenantguard

    package = Path(tenantguard.__file__).parent
    proof = package / "engine" / "proof"
    extensions = {p for p in package.rglob("*") if p.name.endswith(tuple(EXTENSION_SUFFIXES))}
    expected = {package / "engine" / "cascades.py", *proof.glob("*.py")}
    assert {p.parent / (p.name.split(".", 1)[0] + ".py") for p in extensions} == expected
