"""The proof's cost in instructions, not seconds: a figure a shared machine does not move.

    python benchmarks/instructions.py [--statements 400]

Wall-clock ratios on a machine shared with other work move by ±15 % from run to run (the
floor and the check are not slowed alike). Instruction counts do not: this runs, under
valgrind's callgrind, the same statements of the lint-throughput corpus (one in ten of its
4 000, every file represented) three times in fresh processes — set-up only, parse only
(`parse_statement`, the floor), parse and full analysis (`analyze_statement`: the proof and
every rule) — and prints the instructions of each, set-up subtracted, and their ratio. It says
which builds it measures (the proof compiled or not, sqlglot's parser compiled or not).

Instructions are not time (a cache miss costs more than an add), so this complements
lint_throughput.py, it does not replace it. Needs valgrind (apt install valgrind). With gcc and
valgrind's headers (valgrind/callgrind.h) the processes start with callgrind's instrumentation
off and turn it on for the loop alone (a client request, CALLGRIND_START_INSTRUMENTATION, in a
small C library built here): the set-up (the policy, imports) runs uninstrumented, some 4x
faster, and the whole takes about half a minute; without them every process is instrumented
from its start (about a minute and a half: each runs some 50 times slower) and the set-up is
subtracted. Both count the same instructions, give or take the toggle's own few thousand.
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
import engine_build  # noqa: E402

CHILD = """
import sys
from pathlib import Path
from tenantguard._collect import collecting_less
from tenantguard.config import build_policy, load_settings
from tenantguard.engine.analyze import analyze_statement, parse_statement
from tenantguard.engine.sqltext import split_sql

root, mode, every, library = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
if library:
    import ctypes
    toggles = ctypes.CDLL(library)
    start, stop = toggles.tg_start, toggles.tg_stop
else:
    start = stop = lambda: None
policy = build_policy(load_settings(root))
texts = [s.text for p in sorted((root / "app").glob("*.sql")) for s in split_sql(p.read_text())[0]]
texts = texts[::every]
parse_statement(texts[0]); analyze_statement(texts[1], policy)  # first calls: lazy set-up
with collecting_less():
    start()
    if mode == "parse":
        for text in texts:
            parse_statement(text)
    elif mode == "check":
        for text in texts:
            analyze_statement(text, policy)
    stop()
print(len(texts))
"""

TOGGLES_C = """#include <valgrind/callgrind.h>
void tg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void tg_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
"""


def toggles(into: Path) -> Path | None:
    """The C library whose calls turn callgrind's instrumentation on and off (None without gcc
    or valgrind's headers: then every process is instrumented from its start)."""
    if shutil.which("gcc") is None or not Path("/usr/include/valgrind/callgrind.h").exists():
        return None
    source, library = into / "toggles.c", into / "libtoggles.so"
    source.write_text(TOGGLES_C)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", library, source], check=True)
    return library


def instructions(root: Path, mode: str, every: int, library: Path | None) -> int:
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--instr-atstart={'no' if library else 'yes'}",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            CHILD,
            str(root),
            mode,
            str(every),
            str(library or ""),
        ],
        capture_output=True,
        text=True,
        check=True,
        # one hash seed: set and dict orders (and so the instructions) are the same every run
        env={**os.environ, "PYTHONHASHSEED": "0"},
        cwd=root,  # not the checkout: `-c` puts the working directory first on sys.path
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=400, help="how many are measured")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    print(engine_build.describe())
    with tempfile.TemporaryDirectory(prefix="tg-instructions-") as tmp:
        root = Path(tmp)
        corpus.write_config(root, REPOSITORY)
        corpus.generate_sql(root, 4000)
        every = max(1, 4000 // args.statements)
        library = toggles(root)
        # `none`: the set-up (instrumented from the start) or the toggles alone (the loop only)
        none, parse, check = (
            instructions(root, m, every, library) for m in ("none", "parse", "check")
        )
    parsed, checked = parse - none, check - none
    n = 4000 // every
    print(f"{n} statements of the lint-throughput corpus, instructions (callgrind)")
    print(
        f"  parse (the floor)         {parsed / 1e6:8.0f} M  ({parsed / n / 1e6:.2f} M/statement)"
    )
    print(f"  parse + proof + rules     {checked / 1e6:8.0f} M")
    print(f"  of which the analysis     {(checked - parsed) / 1e6:8.0f} M")
    print(f"  check / parse             {checked / parsed:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
