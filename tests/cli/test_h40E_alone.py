"""A file checked alone (pre-commit: `check --force-exclude --check-dependents <staged>`) must
not say "proven" of a leak the tree's check says elsewhere because of that file's text (h40E,
attacking s40's `_lent_files`: the base classes' and importers' files checked for the named
files' sake, their findings "… (in SQL from <named file>)" said).

app/queries.py writes `OPEN = "SELECT * FROM patients WHERE tenant_id = $1"`; another module
completes it at a call (`OPEN + " OR urgent"`): the tree says TG001 there (in SQL from
app/queries.py). Each case is a real shape in which a --check-dependents run of queries.py
alone said "No findings", exit 0; its twin (`notes`, no tenant table) says nothing anywhere."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.test_h34H_newcomer import run, write
from tests.cli.test_precommit import git

LEAK = 'OPEN = "SELECT * FROM patients WHERE tenant_id = $1"\n'
SAFE = LEAK.replace("patients", "notes")


def _use(imports: str, expression: str) -> str:
    return f'{imports}\n\n\nasync def f(conn):\n    return await conn.fetch({expression} + " OR urgent")\n'


USE = _use("from app.queries import OPEN", "OPEN")


def _project(root: Path, files: dict[str, str], queries: str = LEAK) -> Path:
    write(root / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    write(root / "app/__init__.py", "")
    write(root / "app/queries.py", queries)
    for name, text in files.items():
        write(root / name, text)
    return root


def _found(cwd: Path, *args: str) -> tuple[int, list[tuple[str, int, str]]]:
    result = run("check", "--format", "json", *args, cwd=cwd)
    document = json.loads(result.stdout)
    return result.returncode, [(f["path"], f["line"], f["rule"]) for f in document["findings"]]


DEPENDENTS = ("--no-cache", "--force-exclude", "--check-dependents")


@pytest.mark.parametrize(
    ("below", "named"),
    [
        ("backend", "backend/app/queries.py"),  # the configuration below the git root
        ("", "queries.py"),  # run from a subfolder of the project (app/)
    ],
    ids=["config-below-cwd", "from-a-subfolder"],
)
def test_a_named_file_given_relative_to_another_directory(
    tmp_path: Path, below: str, named: str
) -> None:
    """pre-commit runs at the git root and names `backend/app/queries.py` when the project
    (its pyproject.toml) is `backend/`: the importer's finding says "(in SQL from
    app/queries.py)", relative to the project; the run's name of the file is relative to the
    working directory: `from_named` matched nothing and the run said "proven", exit 0."""
    root = _project(tmp_path / "repo" / below if below else tmp_path / "repo", {"app/use.py": USE})
    cwd = tmp_path / "repo" if below else root / "app"
    tree = _found(root, "--no-cache", "app")
    assert tree == (1, [("app/use.py", 5, "TG001")])
    code, found = _found(cwd, *DEPENDENTS, named)
    assert code == 1
    assert [(os.path.relpath(cwd / p, root), line, rule) for p, line, rule in found] == [
        (os.path.join("app", "use.py"), 5, "TG001")
    ]
    safe = _project(tmp_path / "safe", {"app/use.py": USE}, SAFE)
    assert _found(safe, *DEPENDENTS, "app/queries.py") == (0, [])


REEXPORTS = {
    # a module (not a package's __init__) re-exporting the constant
    "module": {
        "app/consts.py": "from app.queries import OPEN\n",
        "app/use.py": _use("from app.consts import OPEN", "OPEN"),
    },
    # a package __init__ re-exporting it, itself re-exported by a module
    "init-then-module": {
        "app/sub/__init__.py": "from app.queries import OPEN\n",
        "app/top.py": "from app.sub import OPEN as X\n",
        "app/use.py": _use("from app.top import X", "X"),
    },
    # an import continued by a backslash
    "backslash": {"app/use.py": _use("from app import \\\n    queries", "queries.OPEN")},
}


@pytest.mark.parametrize("shape", sorted(REEXPORTS))
def test_an_importer_through_a_re_export_or_a_continued_line(tmp_path: Path, shape: str) -> None:
    """`importing_files` followed a re-export through a package's `__init__.py` only, and read
    an import statement's first line only: the tree says the completed constant at app/use.py
    (through app/consts.py's `from app.queries import OPEN`), queries.py alone said nothing."""
    root = _project(tmp_path / "p", REEXPORTS[shape])
    line = 6 if shape == "backslash" else 5
    assert _found(root, "--no-cache", "app") == (1, [("app/use.py", line, "TG001")])
    assert _found(root, *DEPENDENTS, "app/queries.py") == (1, [("app/use.py", line, "TG001")])
    safe = _project(tmp_path / "safe", REEXPORTS[shape], SAFE)
    assert _found(safe, *DEPENDENTS, "app/queries.py") == (0, [])


def test_an_untracked_importer_does_not_block_the_commit(tmp_path: Path) -> None:
    """A scratch script left untracked (not the commit's) that completes OPEN: checked for
    queries.py's sake, it made a pre-commit run of queries.py fail (exit 1) where the CI's
    tree, a checkout of the commit, does not hold it; a run checking the project's dependents
    leaves untracked files out (h36H, `_tracked`). Once added, it blocks."""
    root = _project(tmp_path / "p", {})
    git(root, "init", "-q")
    git(root, "add", "-A")
    write(root / "app/scratch.py", USE)
    assert _found(root, *DEPENDENTS, "app/queries.py") == (0, [])
    git(root, "add", "app/scratch.py")
    assert _found(root, *DEPENDENTS, "app/queries.py") == (1, [("app/scratch.py", 5, "TG001")])


FILLED = {
    # a module's condition completing this file's statement: the finding points at `patients`,
    # text of app/use.py
    "concatenated": (
        "app/use.py",
        "from app.queries import COND\n\n\nasync def f(conn):\n"
        "    return await conn.fetch('SELECT * FROM patients WHERE ' + COND)\n",
        "COND = 'archived OR tenant_id = $1'\n",
        "COND = 'tenant_id = $1'\n",
    ),
    "f-string": (
        "app/use.py",
        "from app.queries import COND\n\n\nasync def f(conn):\n"
        "    return await conn.fetch(f'SELECT * FROM patients WHERE {COND}')\n",
        "COND = 'true'\n",
        "COND = 'tenant_id = $1'\n",
    ),
    # a subclass's field filling the condition of the base class's f-string
    "subclass-field": (
        "app/base.py",
        "class Repo:\n    cond = 'tenant_id = $1'\n\n    async def run(self, conn):\n"
        "        return await conn.fetch(f'SELECT * FROM patients WHERE {self.cond}')\n",
        "from app.base import Repo\n\n\nclass Items(Repo):\n    cond = 'true'\n",
        "from app.base import Repo\n\n\nclass Items(Repo):\n    cond = 'tenant_id = $1 AND true'\n",
    ),
}


@pytest.mark.parametrize("shape", sorted(FILLED))
def test_a_named_file_filling_part_of_a_statement_pointed_at_elsewhere(
    tmp_path: Path, shape: str
) -> None:
    """queries.py's `COND` fills the WHERE of `'SELECT * FROM patients WHERE ' + COND` in
    use.py: the tree says TG001 at use.py:5, pointing at `patients` (use.py's text), so its
    message does not end "(in SQL from app/queries.py)" and `from_named` dropped it: a run of
    queries.py alone said "proven" of `COND = 'true'`. Findings now carry the files their
    statement holds text of (`Finding.filled_from`)."""
    other, text, leak, safe = FILLED[shape]
    root = _project(tmp_path / "p", {other: text}, leak)
    assert _found(root, "--no-cache", "app") == (1, [(other, 5, "TG001")])
    for cache in ([], []):  # cold, then the stored reports
        found = _found(root, *cache, "--check-dependents", "app/queries.py")
        assert found == (1, [(other, 5, "TG001")])
    twin = _project(tmp_path / "safe", {other: text}, safe)
    assert _found(twin, "--no-cache", "app") == (0, [])
    assert _found(twin, *DEPENDENTS, "app/queries.py") == (0, [])


READ = {
    # read beside the module, completed there
    "read-by-name": (
        "app/open.sql",
        {
            "app/use.py": "from pathlib import Path\n\n"
            "SQL = (Path(__file__).parent / 'open.sql').read_text()\n\n\n"
            "async def f(conn):\n    return await conn.fetch(SQL + ' OR urgent')\n\n\n"
            "async def g(conn):\n    return await conn.fetch('DELETE FROM patients')\n"
        },
        "SELECT * FROM patients WHERE tenant_id = $1\n",
        [("app/use.py", 3, "TG001")],
    ),
    # a condition read from a file, after this file's `WHERE `
    "condition": (
        "app/cond.sql",
        {
            "app/use.py": "from pathlib import Path\n\n"
            "COND = (Path(__file__).parent / 'cond.sql').read_text()\n\n\n"
            "async def f(conn):\n    return await conn.fetch('SELECT * FROM patients WHERE ' + COND)\n"
        },
        "true\n",
        [("app/use.py", 7, "TG001")],
    ),
    # every file of a folder read by its package, completed by another module
    "folder": (
        "app/sql/open.sql",
        {
            "app/sql/__init__.py": "from pathlib import Path\n\n"
            "QUERIES = {p.stem: p.read_text() for p in Path(__file__).parent.glob('*.sql')}\n",
            "app/use.py": _use("from app.sql import QUERIES", "QUERIES['open']"),
        },
        "SELECT * FROM patients WHERE tenant_id = $1\n",
        [("app/use.py", 5, "TG001")],
    ),
}


@pytest.mark.parametrize("shape", sorted(READ))
def test_a_sql_file_read_and_completed_by_python(tmp_path: Path, shape: str) -> None:
    """app/open.sql (pinned) read by app/use.py and completed there (`SQL + ' OR urgent'`):
    the tree says TG001 at use.py; a pre-commit run of open.sql alone checked no Python file
    for it (only named Python files had importers) and said "proven", exit 0. Now the Python
    files that may read it (naming it, or beside it naming `.sql`) and their importers are
    checked for it, and their findings in statements holding its text said; the reader's own
    unrelated leak (`DELETE FROM patients`) is not this run's."""
    named, files, sql, said = READ[shape]
    root = _project(tmp_path / "p", {**files, named: sql})
    tree = _found(root, "--no-cache", "app")
    assert tree[0] == 1 and set(said) <= set(tree[1])
    for cache in ([], []):  # cold, then the stored reports
        assert _found(root, *cache, "--force-exclude", "--check-dependents", named) == (1, said)
    twin = _project(tmp_path / "safe", {**files, named: sql.replace("patients", "notes")})
    twin_sql = "tenant_id = $1\n" if shape == "condition" else None
    if twin_sql:
        (twin / named).write_text(twin_sql, encoding="utf-8")
    assert _found(twin, *DEPENDENTS, named) == (0, [])
