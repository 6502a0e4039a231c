"""Which build of the proof the suite runs on. CI runs the analyzer's tests a second time on the
proof compiled with mypyc (setup.py) and sets TENANTGUARD_EXPECT_COMPILED=1 there: that run
must really import the compiled modules, not the checkout's sources."""

from __future__ import annotations

import os

import pytest

from tenantguard.engine import proof_compiled

# the engine's modules setup.py compiles besides the proof's package and the statement rules
COMPILED_ENGINE = (
    *("analyze", "cascades", "context"),
    *("costs", "failing", "placement", "subqueries"),  # TG013's knowledge (engine level)
)


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
    """The wheel's extensions are the modules setup.py compiles (the proof's package,
    cascades.py, the statement rules and the engine modules listed there), no more: an
    extension left in the build directory by an earlier build, of a module since taken off the
    list, would shadow that module's source once installed."""
    from importlib.machinery import EXTENSION_SUFFIXES
    from pathlib import Path

    import tenantguard

    package = Path(tenantguard.__file__).parent
    proof = package / "engine" / "proof"
    extensions = {p for p in package.rglob("*") if p.name.endswith(tuple(EXTENSION_SUFFIXES))}
    engine = package / "engine"
    expected = {
        *(engine / f"{name}.py" for name in COMPILED_ENGINE),
        *proof.glob("*.py"),
        *(engine / "rules").glob("tg*.py"),
    }
    assert {p.parent / (p.name.split(".", 1)[0] + ".py") for p in extensions} == expected


def _checkout_docstring(module: str) -> str:
    """A module's docstring as this checkout's source has it (the pure build's `__doc__`)."""
    import ast
    from pathlib import Path

    source = (
        Path(__file__)
        .resolve()
        .parent.parent.parent.joinpath(*module.split("."))
        .with_suffix(".py")
    )
    return ast.get_docstring(ast.parse(source.read_text(encoding="utf-8")), clean=False) or ""


def test_tenantguard_rule_prints_the_docstring_on_either_build(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`tenantguard rule CODE` prints the rule module's docstring, the same on the compiled
    build, whose modules keep none at run time (`Rule.doc` reads it from the source installed
    beside the extension), as on the pure one."""
    import importlib

    from tenantguard.catalog import CATALOG, rule_module
    from tenantguard.cli import main

    compiled = os.environ.get("TENANTGUARD_EXPECT_COMPILED") == "1"
    assert len(CATALOG) > 30
    for rule in CATALOG:
        module = importlib.import_module(rule.module)
        if rule.module.startswith("tenantguard.engine.rules."):
            # the statement rules are compiled there: their docstrings are read from the source
            assert (module.__doc__ is None) is compiled, rule.code
        expected = _checkout_docstring(rule.module).strip()
        assert rule.doc == expected, rule.code
        assert rule_module(rule.code) == rule.module.replace(".", "/") + ".py"
        assert main(["rule", rule.code]) == 0
        assert capsys.readouterr().out == expected + "\n", rule.code


def test_a_docstring_read_from_the_source_is_the_modules_own() -> None:
    """What the compiled build reads from a rule's source is what the interpreter makes of the
    same source (`__doc__`), for every rule, on the pure build."""
    import importlib

    from tenantguard.catalog import CATALOG
    from tenantguard.engine.findings import source_docstring

    for rule in CATALOG:
        module = importlib.import_module(rule.module)
        if module.__doc__ is not None:
            assert source_docstring(rule.module) == module.__doc__, rule.code
