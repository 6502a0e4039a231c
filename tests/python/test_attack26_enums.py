"""An enum member written into SQL without `.value` is what its class makes of it: with its own
`__str__` or `__format__` (on the enum or a project base), `f"{Q.PIN}"`, `str(Q.PIN)`, `"%s" %
Q.PIN` and `"{}".format(Q.PIN)` send what that method returns, not the member's constant. The
tool read the constant and proved SQL that reads every tenant's rows (round 25's known leak).
Each project is run: `app.main` with a connection that records the SQL, which is the unpinned
one; the tool must not prove that call. The twins (`.value`, a `StrEnum` of its own) stay proven.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantguard.cli import main
from tests.python.test_attack25b_rebinding import LEAK, QUERY, SAFE, SENT, _sent, _write

ENUM = "from enum import Enum, StrEnum\n\n\n"
LEAK_TEXT = LEAK.strip('"')


def _project(members: str, expression: str) -> dict[str, str]:
    return {
        "app.py": ENUM
        + members
        + f"\n\nasync def main(conn, t):\n    return await conn.fetch({QUERY % expression}, t)\n"
    }


STR_OVERRIDE = (
    f"class Q(str, Enum):\n    PIN = {SAFE}\n\n    def __str__(self):\n        return {LEAK}\n"
)
FORMAT_OVERRIDE = (
    f"class Q(str, Enum):\n    PIN = {SAFE}\n\n    def __format__(self, spec):\n"
    f"        return {LEAK}\n"
)
STRENUM_OVERRIDE = (
    f"class Q(StrEnum):\n    PIN = {SAFE}\n\n    def __str__(self):\n        return {LEAK}\n"
)
BASE_OVERRIDE = (
    f"class Loud(str, Enum):\n    def __str__(self):\n        return {LEAK}\n\n\n"
    f"class Q(Loud):\n    PIN = {SAFE}\n"
)

LEAKS = {
    "__str__ in an f-string": (STR_OVERRIDE, "Q.PIN"),
    "__format__ in an f-string": (FORMAT_OVERRIDE, "Q.PIN"),
    "a StrEnum's own __str__": (STRENUM_OVERRIDE, "Q.PIN"),
    "a project base's __str__": (BASE_OVERRIDE, "Q.PIN"),
    "str() of the member": (STR_OVERRIDE, "str(Q.PIN)"),
    "%-formatting": (STR_OVERRIDE, '"%s" % Q.PIN'),
    "str.format": (STR_OVERRIDE, '"{}".format(Q.PIN)'),
}


@pytest.mark.parametrize("name", sorted(LEAKS))
def test_a_member_formatted_by_its_own_method_is_not_proven(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    members, expression = LEAKS[name]
    _write(tmp_path, _project(members, expression))
    assert _sent(tmp_path) == [SENT]  # what Python sends: the leak
    monkeypatch.chdir(tmp_path)
    main(["check", "--format", "json", "."])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert {f["rule"] for f in findings} & {"TG009", "TG001"}, findings


SAFE_TWINS = {
    ".value of a member whose class has __str__": (STR_OVERRIDE, "Q.PIN.value"),
    "a StrEnum without its own methods": (f"class Q(StrEnum):\n    PIN = {SAFE}\n", "Q.PIN"),
}


@pytest.mark.parametrize("name", sorted(SAFE_TWINS))
def test_a_member_written_as_its_value_is_still_proven(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    members, expression = SAFE_TWINS[name]
    _write(tmp_path, _project(members, expression))
    assert _sent(tmp_path) == [SENT.replace(" OR true", "")]
    monkeypatch.chdir(tmp_path)
    main(["check", "--format", "json", "."])
    assert json.loads(capsys.readouterr().out)["findings"] == []
