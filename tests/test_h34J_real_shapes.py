"""Helper h34J: real Python code of a second style (issue 12) — Discord bots (discord.py
cogs, hikari), Django raw SQL, psycopg 3 sync and async, the `databases` library, repository
base classes, pagination wrappers, SQL in `.sql` files read at import, aiosql named queries,
Python migrations, and strings that are not SQL at `execute()`.

Each tree under tests/fixtures/python/h34J/ holds a small project (`pyproject.toml`, a schema,
code) and `expected.txt`: the findings a demanding user expects, `path:line:column: RULE`,
one a line (`#` starts a comment). `tenantguard check` runs on a copy of each tree in a
fresh process, as a user runs it, and must report exactly those.

Classes fixed here:
- Django's `Model._meta.db_table` (`f"SELECT … FROM {Tag._meta.db_table} WHERE …"`) was
  TG009 although the model's own `class Meta: db_table = "tags"` makes it a constant.
- `cls.table = …` in a class's own classmethod / `__init_subclass__` made every class
  attribute named `table` in the project TG009 (`Typed.table` of an unrelated class).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TREES = Path(__file__).parent / "fixtures" / "python" / "h34J"


def expected_findings(tree: Path) -> list[str]:
    """The `expected.txt` of a tree: `path:line:column: RULE` lines, comments dropped."""
    lines = (
        line.split("#", 1)[0].strip() for line in (tree / "expected.txt").read_text().splitlines()
    )
    return sorted(line for line in lines if line)


def check_tree(tree: Path, tmp_path: Path) -> tuple[int, list[str]]:
    """`tenantguard check --no-cache --format json .` in a copy of `tree` (without its
    expected.txt), in a fresh process: (exit code, findings as `path:line:column: RULE`)."""
    root = tmp_path / tree.name
    shutil.copytree(tree, root, ignore=shutil.ignore_patterns("expected.txt", "__pycache__"))
    run = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "--format", "json", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    found = json.loads(run.stdout)["findings"]
    return run.returncode, sorted(
        f"{f['path']}:{f['line']}:{f['column']}: {f['rule']}" for f in found
    )


# trees whose expected findings the check does not report yet, with the reason
UNFIXED = {
    "class_hooks": "cls.table set in Base.__init_subclass__ makes the unrelated Typed.table TG009",
    "loaders": "pkgutil.get_data(__name__, 'sql/x.sql').decode() is not read as the file",
}


def _trees() -> list[object]:
    return [
        pytest.param(p.name, marks=pytest.mark.xfail(strict=True, reason=UNFIXED[p.name]))
        if p.name in UNFIXED
        else p.name
        for p in sorted(TREES.iterdir())
        if p.is_dir()
    ]


@pytest.mark.parametrize("name", _trees())
def test_tree_reports_what_a_user_expects(name: str, tmp_path: Path) -> None:
    tree = TREES / name
    code, found = check_tree(tree, tmp_path)
    expected = expected_findings(tree)
    assert found == expected
    errors = [f for f in expected if not f.endswith("TG009")]
    assert code == (1 if errors else 0)
