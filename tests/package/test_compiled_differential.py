"""The compiled proof (setup.py, TENANTGUARD_COMPILE=1) gives the pure proof's verdicts: every
rule case, the benchmark corpus and seeded mutations of the cases, statement by statement
(tests/verdict_dump.py under each build).

A compiled module checks its declared types at run time: a typing lie the pure build never
notices raises there (and the proof fails closed: TG006 "internal error"). Runs when
TENANTGUARD_COMPILED_PYTHON names an interpreter with the compiled build installed, e.g.
`TENANTGUARD_COMPILE=1 /work/cvenv/bin/pip install --no-build-isolation --no-deps .` then
`TENANTGUARD_COMPILED_PYTHON=/work/cvenv/bin/python pytest tests/package/test_compiled_differential.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DUMP = Path(__file__).resolve().parent.parent / "verdict_dump.py"
COMPILED = os.environ.get("TENANTGUARD_COMPILED_PYTHON")


def _verdicts(python: str, cwd: Path, *, pure_checkout: bool) -> list[object]:
    env = dict(os.environ)
    if pure_checkout:  # this checkout's sources, whatever is installed
        env["PYTHONPATH"] = str(DUMP.parent.parent)
    else:
        env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [python, str(DUMP), "400", "3000"],
        cwd=cwd,  # outside the checkout: the installed build is the one imported
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.skipif(COMPILED is None, reason="TENANTGUARD_COMPILED_PYTHON is not set")
def test_the_compiled_proof_gives_the_pure_proofs_verdicts(tmp_path: Path) -> None:
    assert COMPILED is not None
    probe = subprocess.run(
        [COMPILED, "-c", "from tenantguard.engine import proof_compiled; print(proof_compiled())"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "True", "the interpreter has no compiled build"
    pure = _verdicts(sys.executable, tmp_path, pure_checkout=True)
    compiled = _verdicts(COMPILED, tmp_path, pure_checkout=False)
    assert len(pure) == len(compiled) > 3000
    differ = [(p, c) for p, c in zip(pure, compiled, strict=True) if p != c]
    assert not differ, json.dumps(differ[:5], ensure_ascii=False, indent=1)


RULE_DOCS = """
import contextlib, io, json
from tenantguard.catalog import CATALOG
from tenantguard.cli import main
printed = {}
for rule in CATALOG:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["rule", rule.code])
    printed[rule.code] = out.getvalue()
print(json.dumps(printed))
"""


@pytest.mark.skipif(COMPILED is None, reason="TENANTGUARD_COMPILED_PYTHON is not set")
def test_tenantguard_rule_prints_the_same_on_both_builds(tmp_path: Path) -> None:
    """A compiled module keeps no docstring, and a rule's documentation is its module's
    docstring: the compiled build reads it from the source beside the extension, and
    `tenantguard rule CODE` prints the same for every rule."""
    assert COMPILED is not None
    printed = []
    for python, pure in ((sys.executable, True), (COMPILED, False)):
        env = dict(os.environ)
        if pure:
            env["PYTHONPATH"] = str(DUMP.parent.parent)
        else:
            env.pop("PYTHONPATH", None)
        done = subprocess.run(
            [python, "-c", RULE_DOCS], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        printed.append(json.loads(done.stdout))
    assert len(printed[0]) > 30
    assert printed[0] == printed[1]
