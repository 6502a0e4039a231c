"""Round 35, helper F: the compiled build (setup.py, TENANTGUARD_COMPILE=1) gives the pure
build's verdicts on h33a's corpus of views, functions and pins (tests/fixtures/h33a_corpus.sql,
under the schema its header gives) — findings, lines and messages alike.

A compiled module checks its declared types at run time: `max(operator + sum(costs) …)` of a
row comparison's parts (TG013's `_root_cost`) summed floats from an int start, and the compiled
build raised "int object expected; got float" on `(v.workspace_id, v.id) = ($1, 1)` against a
security-barrier view (TG006 "internal error" where the pure build proves the statement).
Runs when TENANTGUARD_COMPILED_PYTHON names an interpreter with the compiled build installed
(tests/package/test_compiled_differential.py says how; .ci/run runs both).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "h33a_corpus.sql"
COMPILED = os.environ.get("TENANTGUARD_COMPILED_PYTHON")
CONFIG = """[tool.tenantguard]
tenant_column = "workspace_id"
schema_paths = ["schema"]
global_tables = ["workspaces"]
"""
CHECK = "import sys; from tenantguard.cli import main; sys.exit(main(sys.argv[1:]))"


def _project(root: Path) -> None:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    start, end = lines.index("-- ---- schema.sql"), lines.index("-- ---- data_common.sql")
    (root / "schema").mkdir(parents=True)
    schema = "\n".join(line[3:] for line in lines[start + 1 : end]) + "\n"
    (root / "schema" / "schema.sql").write_text(schema, encoding="utf-8")
    (root / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    (root / "q.sql").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _report(python: str, root: Path, *, pure_checkout: bool) -> str:
    env = dict(os.environ)
    if pure_checkout:  # this checkout's sources, whatever is installed
        env["PYTHONPATH"] = str(CORPUS.parent.parent.parent)
    else:
        env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [python, "-c", CHECK, "check", "--no-cache", "--jobs", "1", "--format", "json", "q.sql"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


@pytest.mark.skipif(COMPILED is None, reason="TENANTGUARD_COMPILED_PYTHON is not set")
def test_the_compiled_build_judges_h33a_s_corpus_as_the_pure_build(tmp_path: Path) -> None:
    assert COMPILED is not None
    _project(tmp_path)
    pure = _report(sys.executable, tmp_path, pure_checkout=True)
    compiled = _report(COMPILED, tmp_path, pure_checkout=False)
    assert "internal error" not in compiled
    assert compiled == pure
