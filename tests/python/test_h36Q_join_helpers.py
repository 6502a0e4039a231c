"""Session 36 (helper Q), issue 12: an outsider's attack on the reading of helpers that join
their arguments into a condition (`def where(*conds): return "WHERE " + " AND ".join(conds)`,
guards on emptiness, lists grown and unpacked into them; helper G's commits e3d6f4f, 160bcf7,
caf341e). Each case is a leak twin: the statement reaches the sink unpinned at run time, and
the reader must say so (a finding at the call, or TG009 where it gives up). Pinned twins show
the reading still resolves what it should (no false alarm)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text

PIN = 'PIN = "org_id = %(org)s"\n\n\n'


def _labs(source: str) -> list[tuple[int, str]]:
    policy = Policy("org_id", ["samples"])
    out, _, _ = check_python_text(PIN + source, Analyzer(policy))
    return sorted((f.line, f.code) for f in out)


# class 1: the emptiness guard spelt with `len` where `len` is not the builtin (a module
# function, an import, a local, `builtins.len = …`): `len(conds) == 0` is then not a test of
# emptiness, and `where(PIN)` may take the `return ""` branch (`SELECT id FROM samples `).
# It was read as the builtin: the empty branch dropped for a call that gives items, no finding.

LEN_GUARD = """\
def where(*conds):
    if len(conds) == 0:
        return ""
    return "WHERE " + " AND ".join(conds)


async def f(conn):
    await conn.execute("SELECT id FROM samples " + where(PIN), {})
"""

LEN_SHADOWS = {
    "a module function": "def len(x):\n    return 0\n\n\n",
    "an import": "from mylib import len\n\n\n",
    "a module assignment": "len = lambda c: 0\n\n\n",
    "builtins": "import builtins\n\nbuiltins.len = lambda c: 0\n",
}


@pytest.mark.parametrize("shadow", sorted(LEN_SHADOWS))
def test_a_len_that_is_not_the_builtin_is_no_emptiness_guard(shadow: str) -> None:
    source = LEN_SHADOWS[shadow] + LEN_GUARD
    line = PIN.count("\n") + source.count("\n")
    found = _labs(source)
    assert (line, "TG001") in found or any(code == "TG009" for _, code in found), found


def test_a_len_shadowed_inside_the_helper_is_no_emptiness_guard() -> None:
    source = LEN_GUARD.replace("def where(*conds):\n", "def where(*conds):\n    len = abs\n")
    found = _labs(source)
    assert found and all(code in ("TG001", "TG009") for _, code in found), found


def test_the_builtin_len_guard_still_resolves() -> None:
    # the pinned twin: `where(PIN)` proven, `where()` takes the empty branch (TG001)
    source = LEN_GUARD + (
        '\n\nasync def g(conn):\n    await conn.execute("SELECT id FROM samples " + where(), {})\n'
    )
    assert _labs(source) == [(PIN.count("\n") + source.count("\n"), "TG001")]


def test_builtins_len_set_in_another_module_is_seen_by_the_command(tmp_path: Path) -> None:
    # `app/boot.py` sets `builtins.len = lambda c: 0`: `where(PIN)` in `app/q.py` runs
    # `SELECT id FROM samples ` (every organisation's rows); `tenantguard check` in a fresh
    # process said "No findings: 1 statement in 2 files proven" (exit 0)
    (tmp_path / "app").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "org_id"\ntenant_tables = ["samples"]\n'
    )
    (tmp_path / "app" / "boot.py").write_text("import builtins\n\nbuiltins.len = lambda c: 0\n")
    (tmp_path / "app" / "q.py").write_text(
        LEN_GUARD.replace("where(PIN)", 'where("org_id = %(org)s")')
    )
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "app/q.py:8:40: TG001" in done.stdout


# class 2: a name a function declares `global` and assigns, assigned again by another function
# that declares it `global` (or by `globals()`), called between the assignment and the read:
# the read is what the other function wrote. It was read as the first assignment (a pinned
# condition, a pinned list) — no finding, for a plain `+` as for the joining helper.

GLOBAL_REBOUND = {
    "text": (
        's = ""\n\n\ndef reset():\n    global s\n    s = "true"\n\n\n'
        "async def f(conn):\n    global s\n    s = PIN\n    reset()\n"
        '    await conn.execute("SELECT id FROM samples WHERE " + s, {})\n'
    ),
    "joined item": (
        's = ""\n\n\ndef reset():\n    global s\n    s = "code = 1 OR true"\n\n\n'
        'def where(*c):\n    return "WHERE " + " AND ".join(c)\n\n\n'
        "async def f(conn):\n    global s\n    s = PIN\n    reset()\n"
        '    await conn.execute("SELECT id FROM samples " + where(s), {})\n'
    ),
    "unpacked tuple": (
        "conds = ()\n\n\ndef reset():\n    global conds\n    conds = ()\n\n\n"
        'def where(*c):\n    return "WHERE " + " AND ".join(c)\n\n\n'
        "async def f(conn):\n    global conds\n    conds = (PIN,)\n    reset()\n"
        '    await conn.execute("SELECT id FROM samples " + where("code = 1", *conds), {})\n'
    ),
    "joined list": (
        "conds = []\n\n\ndef reset():\n    global conds\n    conds = ['code = 1']\n\n\n"
        'def all_of(c):\n    return "WHERE " + " AND ".join(c)\n\n\n'
        "async def f(conn):\n    global conds\n    conds = [PIN]\n    reset()\n"
        '    await conn.execute("SELECT id FROM samples " + all_of(conds), {})\n'
    ),
    "nested function": (
        's = ""\n\n\nasync def f(conn):\n    global s\n    s = PIN\n\n'
        '    def reset():\n        global s\n        s = "true"\n\n    reset()\n'
        '    await conn.execute("SELECT id FROM samples WHERE " + s, {})\n'
    ),
    "globals()": (
        's = ""\n\n\ndef reset():\n    globals()["s"] = "true"\n\n\n'
        "async def f(conn):\n    global s\n    s = PIN\n    reset()\n"
        '    await conn.execute("SELECT id FROM samples WHERE " + s, {})\n'
    ),
}


@pytest.mark.parametrize("shape", sorted(GLOBAL_REBOUND))
def test_a_global_assigned_again_by_another_function_is_not_the_first_assignment(
    shape: str,
) -> None:
    source = GLOBAL_REBOUND[shape]
    found = _labs(source)
    line = PIN.count("\n") + source.count("\n")
    assert (line, "TG001") in found or any(code == "TG009" for _, code in found), found


def test_a_global_only_this_function_assigns_stays_read() -> None:
    # the pinned twin: no other function writes `s`
    source = (
        's = ""\n\n\nasync def f(conn):\n    global s\n    s = PIN\n'
        '    await conn.execute("SELECT id FROM samples WHERE " + s, {})\n'
    )
    assert _labs(source) == []


def test_a_global_set_from_another_module_is_seen_by_the_command(tmp_path: Path) -> None:
    # `app/other.py`: `q.s = "true"`; `app/q.py`: `global s; s = PIN; reset(); … + s` runs
    # `SELECT id FROM samples WHERE true`. `tenantguard check` said "No findings: 1 statement
    # in 2 files proven" (exit 0)
    (tmp_path / "app").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "org_id"\ntenant_tables = ["samples"]\n'
    )
    (tmp_path / "app" / "other.py").write_text(
        'from app import q\n\n\ndef reset():\n    q.s = "true"\n'
    )
    (tmp_path / "app" / "q.py").write_text(
        's = ""\n\n\nasync def f(conn, reset):\n    global s\n    s = "org_id = %(org)s"\n'
        '    reset()\n    await conn.execute("SELECT id FROM samples WHERE " + s, {})\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "--format", "concise", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "app/q.py:8:40: TG001" in done.stdout


# class 3: a module's function replaced from another file (`helpers.where = any_of`, in a
# module imported at start-up): `helpers.where(PIN, "true")` runs `any_of`, `WHERE org_id =
# … OR true`. The call was read as the function `helpers.py` defines (joined with AND, pinned)
# — no finding, `tenantguard check` exit 0; the same for a function returning a constant pin.

REPLACED = {
    "joining helper": (
        'def where(*conds):\n    return "WHERE " + " AND ".join(conds)\n',
        'def any_of(*conds):\n    return "WHERE " + " OR ".join(conds)\n',
        "any_of",
        'helpers.where("org_id = %(org)s", "true")',
    ),
    "constant pin": (
        'def where():\n    return "WHERE org_id = %(org)s"\n',
        'def loose():\n    return "WHERE true"\n',
        "loose",
        "helpers.where()",
    ),
    "setattr": (
        'def where():\n    return "WHERE org_id = %(org)s"\n',
        'def loose():\n    return "WHERE true"\n',
        None,
        "helpers.where()",
    ),
}


@pytest.mark.parametrize("shape", sorted(REPLACED))
def test_a_module_function_replaced_from_another_file_is_not_read_as_defined(
    tmp_path: Path, shape: str
) -> None:
    helper, other, name, call = REPLACED[shape]
    (tmp_path / "app").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "org_id"\ntenant_tables = ["samples"]\n'
    )
    (tmp_path / "app" / "helpers.py").write_text(helper)
    setter = f"helpers.where = {name}\n" if name else 'setattr(helpers, "where", loose)\n'
    (tmp_path / "app" / "patch.py").write_text(f"from app import helpers\n\n\n{other}\n\n{setter}")
    (tmp_path / "app" / "q.py").write_text(
        "from app import helpers\n\n\nasync def f(conn):\n"
        f'    await conn.execute("SELECT id FROM samples " + {call}, {{}})\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "--format", "concise", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "app/q.py:5:40: TG001" in done.stdout


def test_a_module_function_nobody_replaces_is_still_read(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "org_id"\ntenant_tables = ["samples"]\n'
    )
    (tmp_path / "app" / "helpers.py").write_text(REPLACED["joining helper"][0])
    (tmp_path / "app" / "q.py").write_text(
        "from app import helpers\n\n\nasync def f(conn):\n"
        '    await conn.execute("SELECT id FROM samples " + helpers.where("org_id = %(org)s"), {})\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# class 4: a method replaced on its class (`Repo.where = any_of`, in another module or below the
# class): `self.where(PIN, "true")` and `Repo().where(PIN, "true")` run any_of (`… OR true`).
# They were read as the method the class body defines — no finding.

METHOD_HELPERS = (
    "class Repo:\n    def where(self, *conds):\n"
    '        return "WHERE " + " AND ".join(conds)\n\n'
    "    async def one(self, conn):\n"
    '        await conn.execute("SELECT id FROM samples " + self.where(PIN, "true"), {})\n\n\n'
    "async def two(conn):\n"
    '    await conn.execute("SELECT id FROM samples " + Repo().where(PIN, "true"), {})\n'
)

ANY_OF = 'def any_of(self, *conds):\n    return "WHERE " + " OR ".join(conds)\n'


def test_a_method_replaced_below_its_class_is_not_read_as_defined() -> None:
    source = METHOD_HELPERS + "\n\n" + ANY_OF + "\n\nRepo.where = any_of\n"
    found = _labs(source)
    assert (9, "TG001") in found and (13, "TG001") in found, found


def test_a_method_replaced_from_another_module_is_seen_by_the_command(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "org_id"\ntenant_tables = ["samples"]\n'
    )
    (tmp_path / "app" / "helpers.py").write_text(
        METHOD_HELPERS.replace("PIN", '"org_id = %(org)s"')
    )
    (tmp_path / "app" / "patch.py").write_text(
        f"from app.helpers import Repo\n\n\n{ANY_OF}\n\nRepo.where = any_of\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "--format", "concise", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "app/helpers.py:6:44: TG001" in done.stdout
    assert "app/helpers.py:10:40: TG001" in done.stdout


def test_a_method_nobody_replaces_is_still_read() -> None:
    assert _labs(METHOD_HELPERS.replace('"true"', '"code = 1"')) == []


# class 5: a method shadowed on an instance or set by name in the module (`self.where = any_of`
# in `__init__`, `r.where = any_of`, `type.__setattr__(Repo, "where", …)`): the call runs the
# OR join. It was read as the method (no finding).

ANY_OF_FREE = 'def any_of(*conds):\n    return "WHERE " + " OR ".join(conds)\n\n\n'

SHADOWED = {
    "self in __init__": (
        ANY_OF_FREE + "class Repo:\n    def __init__(self):\n        self.where = any_of\n\n"
        '    def where(self, *conds):\n        return "WHERE " + " AND ".join(conds)\n\n'
        "    async def one(self, conn):\n"
        '        await conn.execute("SELECT id FROM samples " + self.where(PIN, "true"), {})\n'
    ),
    "an instance": (
        ANY_OF_FREE + "class Repo:\n"
        '    def where(self, *conds):\n        return "WHERE " + " AND ".join(conds)\n\n\n'
        "async def one(conn):\n    r = Repo()\n    r.where = any_of\n"
        '    await conn.execute("SELECT id FROM samples " + r.where(PIN, "true"), {})\n'
    ),
    "type.__setattr__": (
        "class Repo:\n"
        '    def where(self, *conds):\n        return "WHERE " + " AND ".join(conds)\n\n'
        "    async def one(self, conn):\n"
        '        await conn.execute("SELECT id FROM samples " + self.where(PIN, "true"), {})\n\n\n'
        'type.__setattr__(Repo, "where", lambda self, *c: "WHERE " + " OR ".join(c))\n'
    ),
}


@pytest.mark.parametrize("shape", sorted(SHADOWED))
def test_a_method_shadowed_or_set_by_name_is_not_read_as_defined(shape: str) -> None:
    source = SHADOWED[shape]
    found = _labs(source)
    assert any(code == "TG001" for _, code in found), found
