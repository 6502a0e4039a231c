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


@pytest.mark.parametrize("imported", [False, True])
def test_a_decorator_that_changes_the_sql_is_not_proven(
    imported: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "_stub.py").write_text(STUB, encoding="utf-8")
    if imported:
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
