"""Where `tenantguard check --jobs 1` spends its instructions, phase by phase (callgrind).

    python benchmarks/check_phases.py [--statements 400] [--python PYTHON] [PHASE ...]

instructions.py counts parse and analysis alone; this counts the whole command, in phases:
`check --no-cache --jobs 1` runs twice in one process on the lint-throughput corpus
(benchmarks/corpus.py), and the second (warm) run is measured. For each phase one process runs
under valgrind's callgrind with collection off (--collect-atstart=no); the phase's function is
wrapped so that its outermost entry turns collection on and its exit off again (a valgrind
client request, CALLGRIND_TOGGLE_COLLECT, in a small C library built here with gcc). The
wrapper's own cost is measured (`calib`) and taken off. Phases nest (analysis is inside
analyze_statement); `other` is what the total holds outside the phases that do not nest.

Functions are wrapped by replacing the module attribute their callers read: this sees the
pure-Python build of tenantguard (mypyc's compiled modules call each other directly, past
the attribute), so --python should name a venv without the compiled proof. Needs valgrind
(with its headers, valgrind/callgrind.h) and gcc; each phase takes ~1-2 minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

# name: (module, attribute) of the function whose calls are the phase
PHASES: dict[str, tuple[str, str]] = {
    "read": ("tenantguard.sources.files", "read_source"),
    "statements": ("tenantguard.sources.files", "check_sql_text"),
    "split": ("tenantguard.sources.files", "split_sql"),
    "policy": ("tenantguard.cli", "_policy"),
    "analyze_statement": ("tenantguard.engine.analyze", "analyze_statement"),
    "parse": ("tenantguard.engine.analyze", "_parse_statement"),
    "analysis": ("tenantguard.engine.analyze", "_run_rules"),
    "release": ("tenantguard.engine.context", "Context.release"),
    "suppressions": ("tenantguard.sources.files", "apply_suppressions"),
}
# phases that do not nest in one another: the total less these is `other`. `statements` is a
# file's statements (split, each one's verdict, the findings placed); the policy analyses a
# few statements of the schema too (views, functions), counted in analyze_statement
DISJOINT = ("read", "statements", "policy", "suppressions")

TOGGLE_C = "#include <valgrind/callgrind.h>\nvoid tg_toggle(void) { CALLGRIND_TOGGLE_COLLECT; }\n"

CHILD = """
import contextlib, ctypes, importlib, os, sys
library, phase, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
toggle = ctypes.CDLL(library).tg_toggle
from tenantguard.cli import main
depth = 0
def wrapped(fn):
    def call(*args, **kwargs):
        global depth
        if depth == 0:
            toggle()
        depth += 1
        try:
            return fn(*args, **kwargs)
        finally:
            depth -= 1
            if depth == 0:
                toggle()
    return call
argv = ["check", "--no-cache", "--format", "text", "--jobs", "1", "app"]
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    main(argv)  # the first run: imports and lazy set-up
    if phase == "calib":
        empty = wrapped(lambda: None)
        for _ in range(calls):
            empty()
    elif phase == "total":
        toggle(); main(argv); toggle()
    else:
        module, attribute = sys.argv[4], sys.argv[5]
        owner = importlib.import_module(module)
        if "." in attribute:
            owner_name, attribute = attribute.split(".")
            owner = getattr(owner, owner_name)
        setattr(owner, attribute, wrapped(getattr(owner, attribute)))
        main(argv)
"""


def collected(python: str, root: Path, library: Path, phase: str, calls: int) -> int:
    extra = list(PHASES[phase]) if phase in PHASES else []
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--callgrind-out-file=/dev/null",
            python,
            "-c",
            CHILD,
            str(library),
            phase,
            str(calls),
            *extra,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        cwd=root,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=400)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("phases", nargs="*", default=list(PHASES))
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("gcc") is None:
        print("needs valgrind and gcc", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tg-phases-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        corpus.write_config(root, REPOSITORY)
        corpus.generate_sql(root, args.statements)
        source = Path(tmp) / "toggle.c"
        source.write_text(TOGGLE_C)
        library = Path(tmp) / "libtoggle.so"
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", library, source], check=True)
        calib = collected(args.python, root, library, "calib", 1000) / 1000  # per call
        total = collected(args.python, root, library, "total", 0)
        print(f"check --jobs 1 --no-cache, {args.statements} corpus statements (callgrind)")
        print(f"  {'total':<20} {total / 1e6:9.1f} M  100.0 %")
        disjoint = 0.0
        for phase in args.phases:
            count = collected(args.python, root, library, phase, 0)
            # the wrapper's cost, once per outermost call: measured per statement or file
            # is unknown here, so the calibration is printed and left to the reader
            if phase in DISJOINT:
                disjoint += count
            print(f"  {phase:<20} {count / 1e6:9.1f} M  {100 * count / total:5.1f} %")
        if set(DISJOINT) <= set(args.phases):
            other = total - disjoint
            print(f"  {'other':<20} {other / 1e6:9.1f} M  {100 * other / total:5.1f} %")
        print(f"  (each wrapped call adds ~{calib / 1e3:.1f} K instructions to its phase)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
