"""Round 25 (an outside attack, second pass): a module's constant or a class's attribute set
again from where the tool did not look — another module (`queries.PIN = …`, `Repo.PIN = …`),
an instance (`repo.PIN = …`), a decorator (`cls_.PIN = …`), `setattr(queries, "PIN", …)`,
`sys.modules[__name__].PIN = …`, `globals().update(…)`, a walrus inside a comprehension,
`global` in a class body, a mixin's method (`self.PIN = …` in a class beside the base),
`setattr(self, key, …)` — or read through an order of bases Python does not use (a diamond:
`class C(B, B2)` with `B(A)` and `B2(A)` reads B2 before A). The tool proved the query with the
value it saw written while Python sends another one, reading every tenant's rows.

Each project below is run: its `main()` calls the query with a stub connection that records
the SQL, and the SQL it records is the unpinned one. The tool must not prove that call: TG009
(or TG001) at it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tenantguard.cli import main

PYPROJECT = '[tool.tenantguard]\ntenant_column = "account_id"\ntenant_tables = ["tasks"]\n'
SAFE = '"account_id = $1"'
LEAK = '"account_id = $1 OR true"'
QUERY = "f'SELECT title FROM tasks WHERE {%s}'"
SENT = "SELECT title FROM tasks WHERE account_id = $1 OR true"
STUB = """
import asyncio

SENT = []


class Conn:
    async def fetch(self, query, *args):
        SENT.append(query)
"""


def _call(expression: str) -> str:
    return f"async def main(conn, t):\n    return await conn.fetch({QUERY % expression}, t)\n"


PROJECTS: dict[str, dict[str, str]] = {
    "another module assigns the constant": {
        "queries.py": f"PIN = {SAFE}\n",
        "tweaks.py": f"import queries\n\nqueries.PIN = {LEAK}\n",
        "app.py": "import tweaks\nimport queries\n\n\n" + _call("queries.PIN"),
    },
    "another module assigns the constant, imported by name": {
        "queries.py": f"PIN = {SAFE}\n",
        "tweaks.py": f"import queries as q\n\nq.PIN = {LEAK}\n",
        "app.py": "import tweaks\nfrom queries import PIN\n\n\n" + _call("PIN"),
    },
    "setattr on a module": {
        "queries.py": f"PIN = {SAFE}\n",
        "app.py": f"import queries\n\nsetattr(queries, 'PIN', {LEAK})\n\n\n" + _call("queries.PIN"),
    },
    "the module through sys.modules": {
        "queries.py": f"import sys\n\nPIN = {SAFE}\nsys.modules[__name__].PIN = {LEAK}\n",
        "app.py": "from queries import PIN\n\n\n" + _call("PIN"),
    },
    "globals().update": {
        "app.py": f"PIN = {SAFE}\nglobals().update({{'PIN': {LEAK}}})\n\n\n" + _call("PIN"),
    },
    "a walrus in a comprehension at module level": {
        "app.py": f"PIN = {SAFE}\n[(PIN := x) for x in [{LEAK}]]\n\n\n" + _call("PIN"),
    },
    "a walrus in a comprehension in the function": {
        "app.py": "async def main(conn, t):\n"
        f"    pin = {SAFE}\n"
        f"    any((pin := x) for x in [{LEAK}])\n"
        f"    return await conn.fetch({QUERY % 'pin'}, t)\n",
    },
    "global in a class body": {
        "app.py": f"PIN = {SAFE}\n\n\nclass K:\n    global PIN\n    PIN = {LEAK}\n\n\n"
        + _call("PIN"),
    },
    "a list changed in place by another module": {
        "queries.py": "PARTS = ['SELECT title FROM tasks WHERE', 'account_id = $1']\n",
        "tweaks.py": "from queries import PARTS\n\nPARTS += ['OR true']\n",
        "app.py": "import tweaks\nfrom queries import PARTS\n\n\n"
        "async def main(conn, t):\n    return await conn.fetch(' '.join(PARTS), t)\n",
    },
    "a dict changed in place by another module": {
        "queries.py": f"PINS = {{'task': {SAFE}}}\n",
        "tweaks.py": f"import queries\n\nqueries.PINS['task'] = {LEAK}\n",
        "app.py": "import tweaks\nfrom queries import PINS\n\n\n" + _call('PINS["task"]'),
    },
    "a class attribute assigned by another module": {
        "repo.py": f"class Repo:\n    PIN = {SAFE}\n\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n",
        "app.py": f"from repo import Repo\n\nRepo.PIN = {LEAK}\n\n\n"
        "async def main(conn, t):\n    return await Repo().main(conn, t)\n",
    },
    "an instance's attribute assigned by a caller": {
        "repo.py": f"class Repo:\n    PIN = {SAFE}\n\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n",
        "app.py": "from repo import Repo\n\n\nasync def main(conn, t):\n"
        f"    repo = Repo()\n    repo.PIN = {LEAK}\n    return await repo.main(conn, t)\n",
    },
    "a class decorator": {
        "app.py": f"def unpinned(cls_):\n    cls_.PIN = {LEAK}\n    return cls_\n\n\n"
        f"@unpinned\nclass Repo:\n    PIN = {SAFE}\n\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
        "async def main(conn, t):\n    return await Repo().main(conn, t)\n",
    },
    "setattr on a class by a name computed": {
        "app.py": f"class Repo:\n    PIN = {SAFE}\n\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
        f"for key in ['PIN']:\n    setattr(Repo, key, {LEAK})\n\n\n"
        "async def main(conn, t):\n    return await Repo().main(conn, t)\n",
    },
    "a mixin's method sets self": {
        "app.py": f"class Repo:\n    PIN = {SAFE}\n\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
        f"class Loose:\n    def loosen(self):\n        self.PIN = {LEAK}\n\n\n"
        "class Both(Repo, Loose):\n    pass\n\n\n"
        "async def main(conn, t):\n    both = Both()\n    both.loosen()\n"
        "    return await both.main(conn, t)\n",
    },
    "setattr on self by a name computed": {
        "app.py": f"class Repo:\n    PIN = {SAFE}\n\n"
        "    def __init__(self, **given):\n        for key, value in given.items():\n"
        "            setattr(self, key, value)\n\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
        f"async def main(conn, t):\n    return await Repo(PIN={LEAK}).main(conn, t)\n",
    },
    "self.__dict__.update": {
        "app.py": f"class Repo:\n    PIN = {SAFE}\n\n"
        "    def __init__(self, **given):\n        self.__dict__.update(given)\n\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
        f"async def main(conn, t):\n    return await Repo(PIN={LEAK}).main(conn, t)\n",
    },
    "object.__setattr__ on self": {
        "app.py": f"class Repo:\n    PIN = {SAFE}\n\n"
        f"    def __init__(self):\n        object.__setattr__(self, 'PIN', {LEAK})\n\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
        "async def main(conn, t):\n    return await Repo().main(conn, t)\n",
    },
    "__getattribute__": {
        "app.py": f"class Repo:\n    PIN = {SAFE}\n\n"
        "    def __getattribute__(self, name):\n"
        f"        return {LEAK} if name == 'PIN' else object.__getattribute__(self, name)\n\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
        "async def main(conn, t):\n    return await Repo().main(conn, t)\n",
    },
    # the same classes written as the project-wide scan must still read them (session 26: the
    # scan was made ~5x faster, each pattern started at the dot, bracket or operator it needs)
    "a parenthesized target in another module": {
        "queries.py": f"PIN = {SAFE}\n",
        "tweaks.py": f"import queries\n\n(queries.PIN) = {LEAK}\n",
        "app.py": "import tweaks\nimport queries\n\n\n" + _call("queries.PIN"),
    },
    "an attribute target over two lines": {
        "queries.py": f"PIN = {SAFE}\n",
        "tweaks.py": f"import queries\n\n(queries\n    .PIN) = {LEAK}\n",
        "app.py": "import tweaks\nimport queries\n\n\n" + _call("queries.PIN"),
    },
    "a tuple target in another module": {
        "queries.py": f"PIN = {SAFE}\n",
        "tweaks.py": f"import queries\n\nqueries.PIN, other = {LEAK}, 1\n",
        "app.py": "import tweaks\nimport queries\n\n\n" + _call("queries.PIN"),
    },
    "a for target in another module": {
        "queries.py": f"PIN = {SAFE}\n",
        "tweaks.py": f"import queries\n\nfor queries.PIN in [{LEAK}]:\n    pass\n",
        "app.py": "import tweaks\nimport queries\n\n\n" + _call("queries.PIN"),
    },
    "augmented in another module": {
        "queries.py": f"PIN = {SAFE}\n",
        "tweaks.py": "import queries\n\nqueries.PIN += ' OR true'\n",
        "app.py": "import tweaks\nimport queries\n\n\n" + _call("queries.PIN"),
    },
    "a list extended by another module": {
        "queries.py": "PARTS = ['SELECT title FROM tasks WHERE', 'account_id = $1']\n",
        "tweaks.py": "import queries\n\nqueries.PARTS.extend(['OR true'])\n",
        "app.py": "import tweaks\nfrom queries import PARTS\n\n\n"
        "async def main(conn, t):\n    return await conn.fetch(' '.join(PARTS), t)\n",
    },
    "setattr through __setattr__ of the module": {
        "queries.py": f"PIN = {SAFE}\n",
        "tweaks.py": f"import queries\n\nqueries.__setattr__('PIN', {LEAK})\n",
        "app.py": "import tweaks\nimport queries\n\n\n" + _call("queries.PIN"),
    },
    "a diamond of bases": {
        "app.py": f"class Base:\n    PIN = {SAFE}\n\n\nclass Left(Base):\n    pass\n\n\n"
        f"class Right(Base):\n    PIN = {LEAK}\n\n\n"
        "class Both(Left, Right):\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
        "async def main(conn, t):\n    return await Both().main(conn, t)\n",
    },
}


def _write(root: Path, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "_stub.py").write_text(STUB, encoding="utf-8")
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")


def _sent(root: Path) -> list[str]:
    """What Python sends: `app.main` run with the recording connection."""
    script = (
        "import asyncio, _stub, app\n"
        "asyncio.run(app.main(_stub.Conn(), 1))\n"
        "print('\\n'.join(_stub.SENT))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    return run.stdout.splitlines()


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_a_value_set_again_is_not_proven(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = PROJECTS[name]
    _write(tmp_path, files)
    assert _sent(tmp_path) == [SENT]
    monkeypatch.chdir(tmp_path)
    main(["check", "--format", "json", "."])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert {f["rule"] for f in findings} & {"TG009", "TG001"}, findings


def test_the_constants_left_alone_are_still_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twins: an instance's other attribute set (`repo.limit = 5`), a method's own
    `self.PIN = "…"`, a module's other name set from outside, a list changed that is not the
    query's: proven as before."""
    _write(
        tmp_path,
        {
            "queries.py": f"PIN = {SAFE}\nLIMIT = 5\nSTEPS = ['a']\n",
            "tweaks.py": "import queries\n\nqueries.LIMIT = 10\nqueries.STEPS.append('b')\n",
            "app.py": "import tweaks\nimport queries\n\n\n"
            f"class Repo:\n    PIN = {SAFE}\n\n    def __init__(self):\n"
            f"        self.PIN = {SAFE}\n\n"
            "    async def main(self, conn, t):\n"
            f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
            "async def main(conn, t):\n    repo = Repo()\n    repo.limit = 5\n"
            f"    await repo.main(conn, t)\n    return await conn.fetch({QUERY % 'queries.PIN'}, t)\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    main(["check", "--format", "json", "."])
    assert json.loads(capsys.readouterr().out)["findings"] == []


def test_the_cache_sees_a_module_that_starts_to_assign_the_constant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached proof of `app.py` depends on every file that may assign its constant: a new
    `tweaks.py` setting `queries.PIN` makes the next run say TG009, with `app.py` unchanged."""
    files = dict(PROJECTS["another module assigns the constant"])
    tweaks = files.pop("tweaks.py")
    files["app.py"] = files["app.py"].replace("import tweaks\n", "")
    assert_cache_sees_new_tweaks(tmp_path, capsys, monkeypatch, files, tweaks)


def assert_cache_sees_new_tweaks(
    root: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
    tweaks: str,
) -> None:
    """`app.py` proven (and cached), then a new `tweaks.py` that sets its constant: the next
    run of `app.py` alone, unchanged, says TG009."""
    _write(root, files)
    monkeypatch.chdir(root)
    main(["check", "--format", "json", "app.py"])
    assert json.loads(capsys.readouterr().out)["findings"] == []
    (root / "tweaks.py").write_text(tweaks, encoding="utf-8")
    main(["check", "--format", "json", "app.py"])
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "TG009" in rules
