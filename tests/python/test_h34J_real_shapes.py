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
  attribute named `table` in the project TG009 (`Typed.table` of an unrelated class); now
  only the classes that share a class with it (its own, bases, subclasses, a class deriving
  from both: trees class_hooks_subclass / _diamond / _static keep those TG009).
- `class TagRepo(Base, table="tags")` with `Base.__init_subclass__(cls, table, **kw)`
  storing `cls.table = table`: `self.table` in Base's methods was TG009; now each class
  statement's keyword (or the parameter's default) — not when a class is made by `type(…)`
  in the project, another hook stands between, or `**opts` is passed (trees class_hooks,
  class_hooks_keywords, class_hooks_made).
- A suppression with its reason in a `.sql` file the program reads (`-- tenantguard:
  ignore[TG001] -- why`) covered the statement in the file's own check only: the Python read
  that sends it was still TG001 (tree loaders_suppressed).
- `pkgutil.get_data(__name__, "sql/stale.sql").decode()` was TG009: now the file's text, as
  `Path(__file__).parent.parent / …` and importlib.resources reads are.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TREES = Path(__file__).parent.parent / "fixtures" / "python" / "h34J"


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
    return check_in(root, "--no-cache")


def check_in(root: Path, *options: str) -> tuple[int, list[str]]:
    """`tenantguard check --format json .` in `root`, in a fresh process."""
    run = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", *options, "--format", "json", "."],
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
UNFIXED: dict[str, str] = {}


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


def test_a_class_hook_added_or_moved_is_seen_through_the_cache(tmp_path: Path) -> None:
    """The check cache keeps `Typed.table` proven until a file adds a classmethod setting
    `cls.table` on a subclass of Typed; then TG009; moved to an unrelated class, proven."""
    root = tmp_path / "tree"
    shutil.copytree(TREES / "class_hooks_subclass", root, ignore=shutil.ignore_patterns("*.txt"))
    hook = root / "app" / "configured.py"
    text = hook.read_text()
    hook.unlink()
    assert check_in(root) == (0, [])
    hook.write_text(text)
    assert check_in(root) == (0, ["app/typed.py:4:1: TG009"])
    hook.write_text(text.replace("class Configured(T):", "class Configured:"))
    assert check_in(root) == (0, [])


def test_a_hook_written_into_a_base_of_a_shared_subclass_is_seen_through_the_cache(
    tmp_path: Path,
) -> None:
    """`Mixed(Named, Typed)`: a `cls.table = …` added to `Named.__init_subclass__` (a file no
    other reading of Typed depends on) makes Typed's `self.table` TG009, cache or not."""
    root = tmp_path / "tree"
    shutil.copytree(TREES / "class_hooks_diamond", root, ignore=shutil.ignore_patterns("*.txt"))
    hooks = root / "app" / "hooks.py"
    text = hooks.read_text()
    hooks.write_text(text.replace("        cls.table = name\n", "        print(name)\n"))
    assert check_in(root) == (0, [])
    hooks.write_text(text)
    assert "app/typed.py:4:1: TG009" in check_in(root)[1]
