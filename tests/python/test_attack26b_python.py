"""Round 26b (an outside attack on round 25b's fix): a module's constant, a class's attribute or
a collection set again from another file in a spelling the project-wide scan did not read — a
statement continued by a backslash (`queries.PIN \\` then `= …`), a name Python reads after
NFKC (`queries.PIN = …` in fullwidth letters sets `PIN`), a target in brackets (`q.PIN, (y) = …`, over two
lines, after a `;`, `with … as (q.PIN)`), `setattr` with its name spelled another way
(`f"PIN"`, `"P" "IN"`, `'''PIN'''`, `"\\x50IN"`) or on a call's result, handed on as a value
(`partial(setattr, q, "PIN")`, `map(setattr, …)`, `setattr(*args)`), the module's namespace
changed by a call (`vars(q).update(PIN=…)`, `q.__dict__.update(…)`, `operator.setitem(vars(q),
"PIN", …)`), a collection changed by an unbound method or `operator` (`list.extend(q.PARTS,
…)`, `dict.update(q.PINS, …)`, `operator.iadd(…)`, `q.PARTS.__init__(…)`, `map(q.PARTS.append,
…)`). The tool proved SQL that reads every tenant's rows.

Each project is run: `app.main` with a connection that records the SQL it is sent, which is the
unpinned one; the tool must not prove that call (TG009 or TG001 there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tenantguard.cli import main
from tests.python.test_attack25b_rebinding import (
    LEAK,
    QUERY,
    SAFE,
    SENT,
    _call,
    _sent,
    _write,
    assert_cache_sees_new_tweaks,
)

QUERIES = {"queries.py": f"PIN = {SAFE}\n"}
APP = "import tweaks\nimport queries\n\n\n" + _call("queries.PIN")
PARTS = {"queries.py": "PARTS = ['SELECT title FROM tasks WHERE', 'account_id = $1']\n"}
PARTS_APP = (
    "import tweaks\nfrom queries import PARTS\n\n\n"
    "async def main(conn, t):\n    return await conn.fetch(' '.join(PARTS), t)\n"
)
PINS = {"queries.py": f"PINS = {{'task': {SAFE}}}\n"}
PINS_TASK = 'PINS["task"]'
PINS_K = 'pins["k"]'
PINS_APP = "import tweaks\nfrom queries import PINS\n\n\n" + _call(PINS_TASK)
REPO = (
    f"class Repo:\n    PIN = {SAFE}\n\n    async def main(self, conn, t):\n"
    f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n"
)


def _tweaks(code: str) -> dict[str, str]:
    return {**QUERIES, "tweaks.py": "import queries\n" + code, "app.py": APP}


def _parts(code: str) -> dict[str, str]:
    return {**PARTS, "tweaks.py": "import queries\n" + code, "app.py": PARTS_APP}


def _pins(code: str) -> dict[str, str]:
    return {**PINS, "tweaks.py": "import queries\n" + code, "app.py": PINS_APP}


PROJECTS: dict[str, dict[str, str]] = {
    # a statement continued by a backslash
    "a backslash before the =": _tweaks(f"queries.PIN \\\n    = {LEAK}\n"),
    "a backslash after the dot": _tweaks(f"queries. \\\n    PIN = {LEAK}\n"),
    "a for target after a backslash": _tweaks(f"for \\\n queries.PIN in [{LEAK}]:\n    pass\n"),
    "a dict's update after a backslash": _pins(f"queries.PINS \\\n   .update(task={LEAK})\n"),
    "a dict's item after a backslash": _pins(f"queries.PINS['task'] \\\n   = {LEAK}\n"),
    # a name as Python reads it (NFKC)
    "a fullwidth name": _tweaks(f"queries.\uff30\uff29\uff2e = {LEAK}\n"),
    "a name with one fullwidth letter": _tweaks(f"queries.PI\uff2e = {LEAK}\n"),
    "a mathematical bold name": _tweaks(f"queries.\U0001d40f\U0001d408\U0001d40d = {LEAK}\n"),
    # targets in brackets
    "a tuple target after a semicolon": _tweaks(f"z = 0; queries.PIN, y = {LEAK}, 1\n"),
    "a tuple target with a bracket": _tweaks(f"queries.PIN, (y) = {LEAK}, 1\n"),
    "a tuple target over two lines": _tweaks(f"(queries.PIN,\n y) = ({LEAK}, 1)\n"),
    "a list target over two lines": _tweaks(f"[queries.PIN,\n y] = [{LEAK}, 1]\n"),
    "with as a bracketed attribute": _tweaks(
        f"import contextlib\nwith contextlib.nullcontext({LEAK}) as (queries.PIN):\n    pass\n"
    ),
    "with as a list of an attribute": _tweaks(
        f"import contextlib\nwith contextlib.nullcontext([{LEAK}]) as [queries.PIN]:\n    pass\n"
    ),
    # setattr: the name spelled another way, the object a call's, setattr as a value
    "setattr with an f-string name": _tweaks(f"setattr(queries, f'PIN', {LEAK})\n"),
    "setattr with a concatenated name": _tweaks(f"setattr(queries, 'P' 'IN', {LEAK})\n"),
    "setattr with a triple-quoted name": _tweaks(f"setattr(queries, '''PIN''', {LEAK})\n"),
    "setattr with an escaped name": _tweaks(f"setattr(queries, '\\x50IN', {LEAK})\n"),
    "setattr on a call's result": _tweaks(
        f"import importlib\nsetattr(importlib.import_module('queries'), 'PIN', {LEAK})\n"
    ),
    "functools.partial of setattr": _tweaks(
        f"import functools\nfunctools.partial(setattr, queries, 'PIN')({LEAK})\n"
    ),
    "map of setattr": _tweaks(f"list(map(setattr, [queries], ['PIN'], [{LEAK}]))\n"),
    "setattr with its arguments unpacked": _tweaks(f"setattr(*(queries, 'PIN', {LEAK}))\n"),
    "setattr with its name unpacked": _tweaks(f"setattr(queries, *['PIN', {LEAK}])\n"),
    "setattr looked up by its name": _tweaks(
        f"import builtins\nvars(builtins)['setattr'](queries, 'PIN', {LEAK})\n"
    ),
    "the namespace looked up by its name": _tweaks(
        f"getattr(queries, '__dict__')['PIN'] = {LEAK}\n"
    ),
    # the module's namespace changed by a call
    "vars(module).update": _tweaks(f"vars(queries).update(PIN={LEAK})\n"),
    "module.__dict__.update": _tweaks(f"queries.__dict__.update(PIN={LEAK})\n"),
    "module.__dict__.__setitem__": _tweaks(f"queries.__dict__.__setitem__('PIN', {LEAK})\n"),
    "operator.setitem of vars(module)": _tweaks(
        f"import operator\noperator.setitem(vars(queries), 'PIN', {LEAK})\n"
    ),
    "an instance's __dict__.update": {
        "repo.py": REPO,
        "app.py": "from repo import Repo\n\n\nasync def main(conn, t):\n    r = Repo()\n"
        f"    r.__dict__.update(PIN={LEAK})\n    return await r.main(conn, t)\n",
    },
    # a collection changed by an unbound method, operator, __init__, a method as a value
    "list.extend unbound": _parts("list.extend(queries.PARTS, ['OR true'])\n"),
    "operator.iadd of a list": _parts(
        "import operator\noperator.iadd(queries.PARTS, ['OR true'])\n"
    ),
    "a list's append handed to map": _parts("list(map(queries.PARTS.append, ['OR true']))\n"),
    "a list's __init__ called again": _parts(
        "queries.PARTS.__init__(['SELECT title FROM tasks WHERE', 'account_id = $1 OR true'])\n"
    ),
    "operator.setitem of a dict": _pins(
        f"import operator\noperator.setitem(queries.PINS, 'task', {LEAK})\n"
    ),
    "dict.__setitem__ unbound": _pins(f"dict.__setitem__(queries.PINS, 'task', {LEAK})\n"),
    "dict.update unbound": _pins(f"dict.update(queries.PINS, task={LEAK})\n"),
    "a dict's __init__ called again": _pins(f"queries.PINS.__init__(task={LEAK})\n"),
}


def _findings(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    monkeypatch.chdir(root)
    main(["check", "--format", "json", "."])
    findings: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["findings"]
    return findings


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_a_value_set_again_in_another_spelling_is_not_proven(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _write(tmp_path, PROJECTS[name])
    assert _sent(tmp_path) == [SENT]
    findings = _findings(tmp_path, capsys, monkeypatch)
    assert {f["rule"] for f in findings} & {"TG009", "TG001"}, findings


def test_other_names_set_in_those_spellings_leave_the_constants_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twins: the same spellings set another name of the module, change another list or
    dict (`LIMIT`, `STEPS`, `OTHER`): `queries.PIN`, `PARTS` and `PINS` stay proven."""
    _write(
        tmp_path,
        {
            "queries.py": f"PIN = {SAFE}\nLIMIT = 5\nSTEPS = ['a']\nOTHER = {{'k': 1}}\n"
            "PARTS = ['SELECT title FROM tasks WHERE', 'account_id = $1']\n"
            f"PINS = {{'task': {SAFE}}}\n",
            "tweaks.py": "import contextlib\nimport functools\nimport operator\nimport queries\n"
            "queries.LIMIT \\\n    = 10\nqueries.\uff2c\uff29\uff2d\uff29\uff34 = 10\n"
            "z = 0; queries.LIMIT, y = 10, 1\n(queries.LIMIT,\n y) = (10, 1)\n"
            "with contextlib.nullcontext(10) as (queries.LIMIT):\n    pass\n"
            "setattr(queries, f'LIMIT', 10)\nfunctools.partial(setattr, queries, 'LIMIT')(10)\n"
            "vars(queries).update(LIMIT=10)\nqueries.__dict__.update(LIMIT=10)\n"
            "list.extend(queries.STEPS, ['b'])\noperator.iadd(queries.STEPS, ['c'])\n"
            "operator.setitem(queries.OTHER, 'k', 2)\ndict.update(queries.OTHER, k=3)\n"
            "queries.STEPS.__init__(['d'])\nlist(map(queries.STEPS.append, ['e']))\n",
            "app.py": "import tweaks\nimport queries\nfrom queries import PARTS, PINS\n\n\n"
            "async def main(conn, t):\n"
            f"    await conn.fetch({QUERY % 'queries.PIN'}, t)\n"
            f"    await conn.fetch({QUERY % PINS_TASK}, t)\n"
            "    return await conn.fetch(' '.join(PARTS), t)\n",
        },
    )
    assert _findings(tmp_path, capsys, monkeypatch) == []


# An enum member written without `.value` is what its class makes of it — round 26's fix read
# only `def __str__` / `def __format__` of a class it knew as an `Enum` by its base's name
ENUM = "from enum import Enum\n\n\n"


def _enum(head: str, members: str, expression: str) -> dict[str, str]:
    return {
        "app.py": head
        + members
        + f"\n\nasync def main(conn, t):\n    return await conn.fetch({QUERY % expression}, t)\n"
    }


STR_METHOD = f"\n    def __str__(self):\n        return {LEAK}\n"
ENUMS: dict[str, dict[str, str]] = {
    "__str__ assigned a lambda": _enum(
        ENUM, f"class Q(str, Enum):\n    PIN = {SAFE}\n    __str__ = lambda self: {LEAK}\n", "Q.PIN"
    ),
    "__format__ assigned a function": _enum(
        ENUM,
        f"def loud(self, spec):\n    return {LEAK}\n\n\n"
        f"class Q(str, Enum):\n    PIN = {SAFE}\n    __format__ = loud\n",
        "Q.PIN",
    ),
    "Enum imported under another name": _enum(
        "from enum import Enum as E\n\n\n",
        f"class Q(str, E):\n    PIN = {SAFE}\n" + STR_METHOD,
        "Q.PIN",
    ),
    "StrEnum imported under another name": _enum(
        "from enum import StrEnum as S\n\n\n",
        f"class Q(S):\n    PIN = {SAFE}\n" + STR_METHOD,
        "Q.PIN",
    ),
    "a module name bound to Enum": _enum(
        ENUM + "Base = Enum\n\n\n", f"class Q(str, Base):\n    PIN = {SAFE}\n" + STR_METHOD, "Q.PIN"
    ),
    "a class decorator sets __str__": _enum(
        ENUM,
        f"def loud(cls):\n    cls.__str__ = lambda self: {LEAK}\n    return cls\n\n\n"
        f"@loud\nclass Q(str, Enum):\n    PIN = {SAFE}\n",
        "Q.PIN",
    ),
    "the module sets Q.__str__": _enum(
        ENUM,
        f"class Q(str, Enum):\n    PIN = {SAFE}\n\n\nQ.__str__ = lambda self: {LEAK}\n",
        "Q.PIN",
    ),
    "setattr of __format__": _enum(
        ENUM,
        f"class Q(str, Enum):\n    PIN = {SAFE}\n\n\n"
        f"setattr(Q, '__format__', lambda self, spec: {LEAK})\n",
        "Q.PIN",
    ),
    "__add__ of the member": _enum(
        ENUM,
        f"class Q(str, Enum):\n    PIN = {SAFE}\n\n    def __add__(self, other):\n"
        f"        return {LEAK}\n",
        'Q.PIN + ""',
    ),
    "a value property": _enum(
        ENUM,
        f"class Q(str, Enum):\n    PIN = {SAFE}\n\n    @property\n    def value(self):\n"
        f"        return {LEAK}\n",
        "Q.PIN.value",
    ),
    # a metaclass of the project makes or computes the class's attributes
    "a metaclass's property": _enum(
        "",
        f"class Meta(type):\n    @property\n    def PIN(cls):\n        return {LEAK}\n\n\n"
        f"class Q(metaclass=Meta):\n    PIN = {SAFE}\n",
        "Q.PIN",
    ),
    "a metaclass's __getattribute__": _enum(
        "",
        "class Meta(type):\n    def __getattribute__(cls, name):\n"
        f"        return {LEAK} if name == 'PIN' else super().__getattribute__(name)\n\n\n"
        f"class Q(metaclass=Meta):\n    PIN = {SAFE}\n",
        "Q.PIN",
    ),
    "a metaclass's __init__ sets cls.PIN": {
        "meta.py": "class Meta(type):\n    def __init__(cls, *args, **kwargs):\n"
        f"        super().__init__(*args, **kwargs)\n        cls.PIN = {LEAK}\n",
        "app.py": f"from meta import Meta\n\n\nclass Repo(metaclass=Meta):\n    PIN = {SAFE}\n\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
        "async def main(conn, t):\n    return await Repo().main(conn, t)\n",
    },
    "a metaclass's __new__ changes the namespace": {
        "meta.py": "class Meta(type):\n    def __new__(mcs, name, bases, ns):\n"
        f"        ns['PIN'] = {LEAK}\n        return super().__new__(mcs, name, bases, ns)\n",
        "app.py": f"from meta import Meta\n\n\nclass Repo(metaclass=Meta):\n    PIN = {SAFE}\n\n"
        "    async def main(self, conn, t):\n"
        f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
        "async def main(conn, t):\n    return await Repo().main(conn, t)\n",
    },
}


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_a_member_or_attribute_made_by_its_class_is_not_proven(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _write(tmp_path, ENUMS[name])
    assert _sent(tmp_path) == [SENT]
    findings = _findings(tmp_path, capsys, monkeypatch)
    assert {f["rule"] for f in findings} & {"TG009", "TG001"}, findings


def test_enums_and_metaclasses_that_leave_the_constant_alone_stay_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twins: `.value` of an enum imported under another name with `__eq__`/`__hash__` of
    its own (while a decorator sets another class's `__str__`), and an attribute of a class
    whose project metaclass makes nothing (`__call__`, a singleton's): proven."""
    _write(
        tmp_path,
        {
            "app.py": "from enum import Enum as E\n\n\n"
            f"def loud(cls):\n    cls.__str__ = lambda self: {LEAK}\n    return cls\n\n\n"
            "@loud\nclass Other:\n    pass\n\n\n"
            f"class Q(str, E):\n    PIN = {SAFE}\n\n    def __eq__(self, other):\n"
            "        return self is other\n\n    __hash__ = E.__hash__\n\n\n"
            "class Once(type):\n    def __call__(cls, *args, **kwargs):\n"
            "        return super().__call__(*args, **kwargs)\n\n\n"
            f"class Repo(metaclass=Once):\n    PIN = {SAFE}\n\n\n"
            "async def main(conn, t):\n"
            f"    await conn.fetch({QUERY % 'Q.PIN.value'}, t)\n"
            f"    return await conn.fetch({QUERY % 'Repo.PIN'}, t)\n",
        },
    )
    assert _findings(tmp_path, capsys, monkeypatch) == []


# a class's `cls` outside its own methods, an object's class swapped, names a `global` makes the
# module's through an import or a match, the module's namespace kept in a name
SCOPES: dict[str, dict[str, str]] = {
    "a decorator in another module names its class cls": {
        "deco.py": f"def unpinned(cls):\n    cls.PIN = {LEAK}\n    return cls\n",
        "repo.py": "from deco import unpinned\n\n\n@unpinned\n" + REPO,
        "app.py": "from repo import Repo\n\n\nasync def main(conn, t):\n"
        "    return await Repo().main(conn, t)\n",
    },
    "an object's __class__ swapped": {
        "repo.py": REPO,
        "app.py": f"from repo import Repo\n\n\nclass Other:\n    PIN = {LEAK}\n\n\n"
        "async def main(conn, t):\n    r = Repo()\n    r.__class__ = Other\n"
        "    return await Repo.main(r, conn, t)\n",
    },
    "a global imported in a function": {
        "other.py": f"PIN = {LEAK}\n",
        "app.py": f"PIN = {SAFE}\n\n\ndef f():\n    global PIN\n    from other import PIN\n\n\n"
        "f()\n\n\n" + _call("PIN"),
    },
    "a global captured by a match": {
        "app.py": f"PIN = {SAFE}\n\n\ndef f():\n    global PIN\n    match [{LEAK}]:\n"
        "        case [str() as PIN]:\n            pass\n\n\nf()\n\n\n" + _call("PIN"),
    },
    "the module's namespace kept in a name": {
        "app.py": f"PIN = {SAFE}\nnamespace = globals()\nnamespace['PIN'] = {LEAK}\n\n\n"
        + _call("PIN"),
    },
    "a mapping's rest captured by a match": {
        "app.py": "async def main(conn, t):\n"
        f"    pins = {{'k': {SAFE}}}\n"
        f"    match {{'k': {LEAK}}}:\n"
        "        case {**pins}:\n            pass\n"
        f"    return await conn.fetch({QUERY % PINS_K}, t)\n",
    },
}


@pytest.mark.parametrize("name", sorted(SCOPES))
def test_a_value_bound_where_the_reader_did_not_look_is_not_proven(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _write(tmp_path, SCOPES[name])
    assert _sent(tmp_path) == [SENT]
    findings = _findings(tmp_path, capsys, monkeypatch)
    assert {f["rule"] for f in findings} & {"TG009", "TG001"}, findings


def test_scopes_that_leave_the_constant_alone_stay_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twins: a classmethod's `cls.LIMIT = …`, another module's `globals()` kept in a
    name, a function importing a name it does not declare `global`, `globals().get(…)`: the
    constant and the class's attribute stay proven."""
    _write(
        tmp_path,
        {
            "other.py": "namespace = globals()\nnamespace['LIMIT'] = 5\n",
            "app.py": f"import other\n\nPIN = {SAFE}\nLIMIT = globals().get('LIMIT')\n\n\n"
            "def f():\n    from other import namespace as PIN\n    return PIN\n\n\n"
            f"class Repo:\n    PIN = {SAFE}\n    LIMIT = 5\n\n    @classmethod\n"
            "    def grow(cls):\n        cls.LIMIT = 10\n\n"
            "    async def main(self, conn, t):\n"
            f"        return await conn.fetch({QUERY % 'self.PIN'}, t)\n\n\n"
            "async def main(conn, t):\n    await Repo().main(conn, t)\n"
            f"    return await conn.fetch({QUERY % 'PIN'}, t)\n",
        },
    )
    assert _findings(tmp_path, capsys, monkeypatch) == []


ENUM_Q = f"from enum import Enum\n\n\nclass Q(str, Enum):\n    PIN = {SAFE}\n"
ENUM_APP = "import tweaks\nfrom q import Q\n\n\n" + _call("Q.PIN.value")
REPO_APP = (
    "from repo import Repo\n\n\nasync def main(conn, t):\n    return await Repo().main(conn, t)\n"
)
# an annotated attribute target, the module itself put in another's place, a member's `_value_`
# set, a class made by `type()` with the attribute, a class body's `locals()`
OTHERS: dict[str, dict[str, str]] = {
    "an annotated attribute target": _tweaks(f"queries.PIN: str = {LEAK}\n"),
    "an annotated attribute target in brackets": _tweaks(f"(queries.PIN): str = {LEAK}\n"),
    "sys.modules given another object": {
        **QUERIES,
        "tweaks.py": "import sys\nimport types\n\n"
        f"sys.modules['queries'] = types.SimpleNamespace(PIN={LEAK})\n",
        "app.py": APP,
    },
    "sys.modules updated": {
        **QUERIES,
        "tweaks.py": "import sys\nimport types\n\n"
        f"sys.modules.update(queries=types.SimpleNamespace(PIN={LEAK}))\n",
        "app.py": APP,
    },
    "the module's class swapped": {
        **QUERIES,
        "tweaks.py": "import sys\nimport types\n\nimport queries\n\n\n"
        f"class Loud(types.ModuleType):\n    @property\n    def PIN(self):\n        return {LEAK}\n\n\n"
        "sys.modules['queries'].__class__ = Loud\n",
        "app.py": APP,
    },
    "a member's _value_ set": {
        "q.py": ENUM_Q,
        "tweaks.py": f"from q import Q\n\nQ.PIN._value_ = {LEAK}\n",
        "app.py": ENUM_APP,
    },
    "a member's _value_ set by object.__setattr__": {
        "q.py": ENUM_Q,
        "tweaks.py": f"from q import Q\n\nobject.__setattr__(Q.PIN, '_value_', {LEAK})\n",
        "app.py": ENUM_APP,
    },
    "a member's __dict__": {
        "q.py": ENUM_Q,
        "tweaks.py": f"from q import Q\n\nQ.PIN.__dict__['_value_'] = {LEAK}\n",
        "app.py": ENUM_APP,
    },
    "a subclass made by type() with the attribute": {
        "repo.py": REPO,
        "app.py": "from repo import Repo\n\n\nasync def main(conn, t):\n"
        f"    return await type('Loose', (Repo,), {{'PIN': {LEAK}}})().main(conn, t)\n",
    },
    "locals() of a class body": {
        "repo.py": REPO.replace("\n\n    async", f"\n    locals()['PIN'] = {LEAK}\n\n    async"),
        "app.py": REPO_APP,
    },
}


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_a_value_replaced_another_way_is_not_proven(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _write(tmp_path, OTHERS[name])
    assert _sent(tmp_path) == [SENT]
    findings = _findings(tmp_path, capsys, monkeypatch)
    assert {f["rule"] for f in findings} & {"TG009", "TG001"}, findings


def test_other_modules_and_names_replaced_leave_the_constants_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twins: `if queries.PIN: y = 1` (no annotation: a test), another module put in
    `sys.modules`, `sys.modules[…] = …` written in a docstring, a class made by `type()` with
    another attribute, an enum's `.value` with no `_value_` set anywhere: proven."""
    _write(
        tmp_path,
        {
            **QUERIES,
            "q.py": ENUM_Q,
            "repo.py": REPO,
            "tweaks.py": '"""Tests put fakes in place: `sys.modules[name] = fake`."""\n\n'
            "import sys\nimport types\n\nimport queries\nfrom repo import Repo\n\n"
            "if queries.PIN: y = 1\n"
            "sys.modules['other'] = types.SimpleNamespace(PIN=1)\n"
            "Loose = type('Loose', (Repo,), {'LIMIT': 5})\n",
            "app.py": "import tweaks\nimport queries\nfrom q import Q\nfrom repo import Repo\n\n\n"
            "async def main(conn, t):\n"
            f"    await conn.fetch({QUERY % 'Q.PIN.value'}, t)\n"
            "    await Repo().main(conn, t)\n"
            f"    return await conn.fetch({QUERY % 'queries.PIN'}, t)\n",
        },
    )
    assert _findings(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize(
    "tweaks",
    [
        f"import functools\nimport queries\n\nfunctools.partial(setattr, queries, 'PIN')({LEAK})\n",
        f"import sys\nimport types\n\nsys.modules['queries'] = types.SimpleNamespace(PIN={LEAK})\n",
    ],
    ids=["setattr as a value", "sys.modules"],
)
def test_the_cache_sees_a_module_that_starts_to_replace_the_constant(
    tweaks: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cached proof of `app.py` is checked again when a new file sets its constant in one
    of these spellings, `app.py` unchanged."""
    files = {**QUERIES, "app.py": "import queries\n\n\n" + _call("queries.PIN")}
    assert_cache_sees_new_tweaks(tmp_path, capsys, monkeypatch, files, tweaks)
