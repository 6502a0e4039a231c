"""An optional compiled build of the proof engine, the way sqlglot ships its parser (sqlglotc).

    TENANTGUARD_COMPILE=1 pip install .        # the proof and the rules compiled with mypyc
    pip install .                               # pure Python (the default; editable installs)

mypyc compiles the modules listed below from the same typed sources (mypy --strict) into C
extensions that sit beside them: same behaviour, about a third less time per statement in the
proof. Everything is in pyproject.toml; this file only adds the extensions when asked to.
An editable install is never compiled: an extension would shadow the source being edited.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from setuptools import setup

# what runs for every statement and pays compiled: the proof (its hot path), the statement
# rules, the context they read the proof through, the entry point that parses and runs them,
# and the knowledge TG013 reads on every statement (costs: the order PostgreSQL evaluates
# conditions in; failing: what an expression may raise on a row; subqueries: their shapes;
# placement: where a node runs relative to the tenant pin).
# (sqltext, bulk_values, verdicts, search_path and pgfunctions compile too, but gain nothing
# measurable: benchmarks/instructions.py.) A compiled module keeps no docstring: a rule's
# documentation, its module's docstring, is read from its source, installed beside the
# extension (`Rule.doc`, engine/findings.py)
COMPILED = [
    "tenantguard/engine/analyze.py",
    "tenantguard/engine/cascades.py",
    "tenantguard/engine/context.py",
    "tenantguard/engine/costs.py",
    "tenantguard/engine/failing.py",
    "tenantguard/engine/placement.py",
    "tenantguard/engine/subqueries.py",
    *sorted(str(p) for p in Path("tenantguard/engine/proof").glob("*.py")),
    *sorted(str(p) for p in Path("tenantguard/engine/rules").glob("tg*.py")),
]

# only when a wheel is built: an editable install (`editable_wheel`) or the metadata alone
# (`dist_info`) stay pure Python
ASKED = os.environ.get("TENANTGUARD_COMPILE", "") not in ("", "0")

if ASKED and "bdist_wheel" in sys.argv:
    from mypyc.build import mypycify

    # a build directory of its own: a later pure build must not pick up these extensions; emptied
    # first, or an extension left by an earlier build (of a module since dropped from COMPILED)
    # would go into the wheel and shadow that module's source
    shutil.rmtree("build/compiled", ignore_errors=True)
    extensions = mypycify(
        COMPILED,
        opt_level=os.environ.get("TENANTGUARD_COMPILE_OPT", "3"),
        target_dir="build/compiled",
    )
    if sys.platform != "win32":
        # Python's own CFLAGS hold -Wall, whose -Wmisleading-indentation tracks every line of
        # mypyc's one 24 MB C file: measured 97 s of gcc at -O0 with it, 24 s without (the
        # warning is of no use on generated code)
        for extension in extensions:
            extension.extra_compile_args.append("-Wno-misleading-indentation")
    setup(
        # TENANTGUARD_COMPILE_OPT: the C compiler's optimisation level (default 3, as released);
        # CI checks the compiled build's verdicts at 0, which compiles in a fraction of the time
        ext_modules=extensions,
        options={"build": {"build_base": "build/compiled"}},
    )
else:
    if ASKED and "editable_wheel" in sys.argv:
        print("TENANTGUARD_COMPILE ignored: an editable install stays pure Python", file=sys.stderr)
    setup()
