"""Round 25 (an outside attack): an absolute import (`from queries import Q`, `import queries`)
was looked up in the importer's own directory first, then in its ancestors, and the nearest
file taken. Python does not look there: an absolute import searches `sys.path` (the project's
root, for a package run as one), so in a package `pkg/` holding its own `queries.py`, `from
queries import Q` in `pkg/handler.py` loads the root's `queries.py`, not `pkg/queries.py`. The
tool proved the handler's SQL with the sibling's safe constant while the server ran the root's
unpinned one (shown below by importing the handler). A name that more than one ancestor
directory holds is now resolved to none of them: the SQL is not known (TG009), never proven
with a guess; a name only one of them holds is read as before.

Same class, second form: a directory holding both `queries.py` and a package `queries/` (with
`__init__.py`). Python's path finder takes the package; the tool took the module file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tenantguard.cli import main

PYPROJECT = '[tool.tenantguard]\ntenant_column = "account_id"\ntenant_tables = ["tasks"]\n'
SAFE = 'Q = "SELECT title FROM tasks WHERE account_id = $1"\n'
LEAK = 'Q = "SELECT title FROM " + "tasks WHERE $1::bigint > 0"\n'
HANDLERS = {
    "from_import.py": "from queries import Q\n\n\nasync def a(conn, t):\n"
    "    return await conn.fetch(Q, t)\n",
    "plain_import.py": "import queries\n\n\nasync def a(conn, t):\n"
    "    return await conn.fetch(queries.Q, t)\n",
}


def _project(root: Path, *, root_module: bool) -> None:
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (root / "pkg" / "queries.py").write_text(SAFE, encoding="utf-8")
    if root_module:
        (root / "queries.py").write_text(LEAK, encoding="utf-8")
    for name, text in HANDLERS.items():
        (root / "pkg" / name).write_text(text, encoding="utf-8")


def _findings(root: Path, name: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    main(["check", "--format", "json", str(Path("pkg") / name)])
    return [f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]]


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_an_import_two_directories_answer_is_not_proven(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _project(tmp_path, root_module=True)
    monkeypatch.chdir(tmp_path)
    assert _findings(tmp_path, name, capsys) == ["TG009"]
    # what Python runs: the root's module, whose SQL reads every tenant's tasks
    module = "pkg." + name.removesuffix(".py")
    shown = subprocess.run(
        [sys.executable, "-c", f"import {module} as m, queries; print(queries.Q)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert shown == "SELECT title FROM tasks WHERE $1::bigint > 0"


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_an_import_one_directory_answers_is_read(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The twin: no `queries.py` at the root, only the package's (a script run from `pkg/`
    imports it): proven as before."""
    _project(tmp_path, root_module=False)
    monkeypatch.chdir(tmp_path)
    assert _findings(tmp_path, name, capsys) == []


def test_a_package_wins_over_a_module_of_the_same_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    app = tmp_path / "app"
    (app / "queries").mkdir(parents=True)
    (app / "__init__.py").write_text("", encoding="utf-8")
    (app / "queries.py").write_text(SAFE, encoding="utf-8")
    (app / "queries" / "__init__.py").write_text(LEAK, encoding="utf-8")
    (app / "handler.py").write_text(
        "from app.queries import Q\nfrom . import queries as rq\n\n\n"
        "async def a(conn, t):\n    return await conn.fetch(Q, t)\n\n\n"
        "async def b(conn, t):\n    return await conn.fetch(rq.Q, t)\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    main(["check", "--format", "json", str(Path("app") / "handler.py")])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["line"], f["rule"]) for f in findings] == [(6, "TG001"), (10, "TG001")]
    shown = subprocess.run(
        [sys.executable, "-c", "import app.handler as h; print(h.Q, h.rq.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert shown.startswith("SELECT title FROM tasks WHERE $1::bigint > 0 ")
    assert shown.endswith("__init__.py")
