"""Every verdict of the proof written to files, to tell that a change for speed changed none.

    python benchmarks/verdict_identity.py OUT [--against BEFORE]

Writes into OUT: `verdict_dump.jsonl` (tests/verdict_dump.py: the rule and patch-rule cases,
4 000 corpus statements and 3 000 seeded mutations of the cases, each verdict's findings with
their codes, messages, lines and columns, its pins), `corpus.json` (`tenantguard check --format
json` on the lint-throughput corpus of 4 000 statements, under the policy inferred from the
Dentalogic schema) and `h33a.json` (the same on tests/fixtures/h33a_corpus.sql, under the
schema its header gives). With `--against`, compares each with BEFORE's byte for byte and
exits 1 at the first difference. Run it on the commit before the change, then after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

FILES = ("verdict_dump.jsonl", "corpus.json", "h33a.json")
H33A = REPOSITORY / "tests" / "fixtures" / "h33a_corpus.sql"
H33A_CONFIG = """[tool.tenantguard]
tenant_column = "workspace_id"
schema_paths = ["schema"]
global_tables = ["workspaces"]
"""


def _check(root: Path, target: str, out: Path) -> None:
    """`tenantguard check` of `target` in `root`, its JSON into `out` (findings exit 1)."""
    with out.open("w", encoding="utf-8") as sink:
        subprocess.run(
            [
                str(Path(sys.executable).with_name("tenantguard")),
                "check",
                "--no-cache",
                "--jobs",
                "1",
                "--format",
                "json",
                target,
            ],
            cwd=root,
            stdout=sink,
            check=False,
        )


def write(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    with (out / "verdict_dump.jsonl").open("w", encoding="utf-8") as sink:
        subprocess.run(
            [sys.executable, str(REPOSITORY / "tests" / "verdict_dump.py"), "4000", "3000"],
            stdout=sink,
            env=env,
            check=True,
        )
    with tempfile.TemporaryDirectory(prefix="tg-identity-") as tmp:
        root = Path(tmp)
        corpus.write_config(root, REPOSITORY)
        corpus.generate_sql(root, 4000)
        _check(root, "app", out / "corpus.json")
        project = root / "h33a"
        (project / "schema").mkdir(parents=True)
        lines = H33A.read_text(encoding="utf-8").splitlines()
        start, end = lines.index("-- ---- schema.sql"), lines.index("-- ---- data_common.sql")
        schema = "\n".join(line[3:] for line in lines[start + 1 : end]) + "\n"
        (project / "schema" / "schema.sql").write_text(schema, encoding="utf-8")
        (project / "pyproject.toml").write_text(H33A_CONFIG, encoding="utf-8")
        (project / "q.sql").write_text("\n".join(lines) + "\n", encoding="utf-8")
        _check(project, "q.sql", out / "h33a.json")


def compare(out: Path, before: Path) -> int:
    for name in FILES:
        new = (out / name).read_text(encoding="utf-8").splitlines()
        old = (before / name).read_text(encoding="utf-8").splitlines()
        for number, (a, b) in enumerate(zip(old, new, strict=False), 1):
            if a != b:
                print(f"{name}:{number} differs:\n- {a[:400]}\n+ {b[:400]}")
                return 1
        if len(new) != len(old):
            print(f"{name}: {len(old)} lines before, {len(new)} now")
            return 1
        print(f"{name}: {len(new)} lines, identical")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--against", type=Path, help="the files written before the change")
    args = parser.parse_args(argv)
    write(args.out)
    return compare(args.out, args.against) if args.against is not None else 0


if __name__ == "__main__":
    sys.exit(main())
