"""Round 25 (an outside attack, second pass): a project wrapper under a decorator whose inner
function calls it with other arguments than its callers give (`q.replace("WHERE account_id =
$1", "")`) was proven with the callers' pinned SQL, while Python sends what the decorator made
of it. A decorator the tool cannot show to pass the arguments on unchanged — a project function
whose inner function calls the decorated one as `fn(*args, **kwargs)` only, or a known one
(`staticmethod`, `functools.wraps`, `lru_cache`, `contextmanager`, a retry) — makes the
wrapper's parameter SQL from outside: TG009 where it is sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tenantguard.cli import main

PYPROJECT = '[tool.tenantguard]\ntenant_column = "account_id"\ntenant_tables = ["tasks"]\n'
STUB = "SENT = []\n\n\nclass Conn:\n    async def fetch(self, query, *args):\n        SENT.append(query)\n"
WRAPPER = (
    "async def run(conn, q, *a):\n    return await conn.fetch(q, *a)\n\n\n"
    "async def main(conn, t):\n"
    "    return await run(conn, 'SELECT title FROM tasks WHERE account_id = $1', t)\n"
)
LOOSEN = (
    "import functools\n\n\ndef loosen(fn):\n    @functools.wraps(fn)\n"
    "    async def inner(conn, q, *a):\n"
    "        return await fn(conn, q.replace('WHERE account_id = $1', ''), *a)\n\n"
    "    return inner\n"
)
KEEP = (
    "import functools\n\n\ndef keep(fn):\n    @functools.wraps(fn)\n"
    "    async def inner(*args, **kwargs):\n        return await fn(*args, **kwargs)\n\n"
    "    return inner\n"
)


def _run(root: Path) -> list[str]:
    script = (
        "import asyncio, _stub, app\nasyncio.run(app.main(_stub.Conn(), 1))\nprint(_stub.SENT)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    return list(eval(out))  # the list the stub printed


def _check(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    main(["check", "--format", "json", "."])
    return [f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]]


@pytest.mark.parametrize("imported", [False, True, "alias", "factory", "module"])
def test_a_decorator_that_changes_the_sql_is_not_proven(
    imported: bool | str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "_stub.py").write_text(STUB, encoding="utf-8")
    if imported == "alias":  # the project's decorator under another name
        app = LOOSEN + "\n\nloose = loosen\n\n\n@loose\n" + WRAPPER
    elif imported == "factory":  # a project's factory of it
        app = LOOSEN + "\n\ndef loosened():\n    return loosen\n\n\n@loosened()\n" + WRAPPER
    elif imported == "module":  # read on the project's module
        (tmp_path / "deco.py").write_text(LOOSEN, encoding="utf-8")
        app = "import deco\n\n\n@deco.loosen\n" + WRAPPER
    elif imported:
        (tmp_path / "deco.py").write_text(LOOSEN, encoding="utf-8")
        app = "from deco import loosen\n\n\n@loosen\n" + WRAPPER
    else:
        app = LOOSEN + "\n\n@loosen\n" + WRAPPER
    (tmp_path / "app.py").write_text(app, encoding="utf-8")
    assert _run(tmp_path) == ["SELECT title FROM tasks "]  # every tenant's tasks
    monkeypatch.chdir(tmp_path)
    assert _check(tmp_path, capsys) == ["TG009"]


def test_a_decorator_that_passes_the_arguments_on_is_transparent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "_stub.py").write_text(STUB, encoding="utf-8")
    (tmp_path / "app.py").write_text(KEEP + "\n\n@keep\n" + WRAPPER, encoding="utf-8")
    assert _run(tmp_path) == ["SELECT title FROM tasks WHERE account_id = $1"]
    monkeypatch.chdir(tmp_path)
    assert _check(tmp_path, capsys) == []


@pytest.mark.parametrize(
    "decorator",
    [
        "import opentelemetry_stub as trace\n\n\ntracer = trace.get_tracer(__name__)\n\n\n"
        "@tracer.start_as_current_span('db')\n",
        "from opentelemetry_stub import timed\n\n\n@timed\n",
        "import opentelemetry_stub\n\n\n@opentelemetry_stub.timed\n",
        "from opentelemetry_stub import timed_with\n\n\n@timed_with('db')\n",
    ],
    ids=["a tracer's span", "a library's decorator", "by its module", "a library's factory"],
)
def test_a_decorator_from_outside_the_project_keeps_the_wrapper_transparent(
    decorator: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tracer, a timer, a library's retry: only the project's own decorators are read (a
    library that rewrote its callers' SQL is not the mistake this guards against); the callers'
    SQL is checked through the wrapper as before — its leaks found, its pins proven — and the
    wrapper itself gives no TG009."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "_stub.py").write_text(STUB, encoding="utf-8")
    site = tmp_path / "site"  # outside the checked project, as an installed package is
    site.mkdir()
    (site / "opentelemetry_stub.py").write_text(
        "import functools\n\n\ndef timed(fn):\n    @functools.wraps(fn)\n"
        "    async def inner(*a, **k):\n        return await fn(*a, **k)\n\n    return inner\n\n\n"
        "def timed_with(name):\n    return timed\n\n\nclass _Tracer:\n"
        "    def start_as_current_span(self, name):\n        return timed\n\n\n"
        "def get_tracer(name):\n    return _Tracer()\n",
        encoding="utf-8",
    )
    project = tmp_path / "proj"
    project.mkdir()
    for name in ("pyproject.toml", "_stub.py"):
        (project / name).write_text((tmp_path / name).read_text(), encoding="utf-8")
    (project / "app.py").write_text(decorator + WRAPPER, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(site))
    assert _run(project) == ["SELECT title FROM tasks WHERE account_id = $1"]
    monkeypatch.chdir(project)
    assert _check(project, capsys) == []
    leaky = WRAPPER.replace("WHERE account_id = $1", "WHERE title = $1")
    (project / "app.py").write_text(decorator + leaky, encoding="utf-8")
    assert _check(project, capsys) == ["TG001"]  # the caller's leak, seen through the wrapper
