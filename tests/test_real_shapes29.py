"""Outside review h29c: shapes of real application code the Python reader got wrong.

1. The `.value` of a member of a project `Enum` known only at run time — a parameter annotated
   with the enum (FastAPI's `sort: Sort = Sort.NAME` query parameter), `Sort(text).value`,
   `Sort[name].value`, a name bound to `Sort(text)` — is one of the members' values (Python
   raises for anything else; the annotation is trusted as a `Literal[…]` one is): the TG009 it
   drew on every sort column chosen by an enum was noise, and a member whose value leaks
   (`"name OR true"`…) was only a warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .project_files import findings_of_check, write_project

SCHEMA = (
    "CREATE TABLE guilds (guild_id bigint PRIMARY KEY, prefix text);\n"
    "CREATE TABLE tags (id serial PRIMARY KEY, guild_id bigint NOT NULL REFERENCES "
    "guilds(guild_id), name text, uses int);\n"
)
CONFIG = '[tool.tenantguard]\ntenant_column = "guild_id"\nschema_paths = ["schema.sql"]\n'

_found = findings_of_check


def _project(root: Path, files: dict[str, str]) -> None:
    write_project(root, SCHEMA, CONFIG, {"bot/__init__.py": "", **files})


# 1. an enum member known at run time: `.value` is one of the members' values

ENUM_SORT = (
    "from enum import Enum\n"
    "from typing import Annotated, Optional\n"
    "\n"
    "\n"
    "class Sort(str, Enum):\n"
    '    NAME = "name"\n'
    '    USES = "USES_COLUMN"\n'
    "\n"
    "\n"
    "async def listing(conn, guild_id, PARAMETER):\n"
    "    SETUP\n"
    "    return await conn.fetch(\n"
    '        f"SELECT name FROM tags WHERE guild_id = $1 ORDER BY {MEMBER.value}", guild_id\n'  # 13
    "    )\n"
)

ENUM_SHAPES = [
    ("sort: Sort", "pass", "sort"),
    ("sort: Sort = Sort.NAME", "pass", "sort"),
    ("sort: Sort | None = None", "pass", "sort"),
    ("sort: Optional[Sort] = None", "pass", "sort"),
    ("sort: Annotated[Sort, 'query'] = Sort.NAME", "pass", "sort"),
    ("sort: 'Sort'", "pass", "sort"),
    ("sort", "pass", "Sort(sort)"),
    ("sort", "pass", "Sort[sort]"),
    ("sort", "order = Sort(sort)", "order"),
]


def _enum_app(parameter: str, setup: str, member: str, uses: str) -> str:
    return (
        ENUM_SORT.replace("PARAMETER", parameter)
        .replace("SETUP", setup)
        .replace("MEMBER", member)
        .replace("USES_COLUMN", uses)
    )


@pytest.mark.parametrize(("parameter", "setup", "member"), ENUM_SHAPES)
def test_an_enum_member_known_at_run_time_is_one_of_its_values(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    parameter: str,
    setup: str,
    member: str,
) -> None:
    _project(tmp_path, {"bot/q.py": _enum_app(parameter, setup, member, "uses")})
    assert _found(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize(("parameter", "setup", "member"), ENUM_SHAPES)
def test_an_enum_member_whose_value_leaks_is_found(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    parameter: str,
    setup: str,
    member: str,
) -> None:
    app = _enum_app(parameter, setup, member, "uses OR true").replace(
        "WHERE guild_id = $1 ORDER BY", "WHERE guild_id = $1 AND"
    )
    _project(tmp_path, {"bot/q.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 13, "TG001")]


@pytest.mark.parametrize(
    ("parameter", "setup", "member"),
    [
        ("sort: str", "pass", "sort"),  # not an enum: anything with a `.value`
        ("sort: Sort", "sort = make(sort)", "sort"),  # assigned again
        ("sort", "pass", "Sort(sort, 'x')"),  # not one value looked up
    ],
)
def test_what_is_not_surely_a_member_stays_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    parameter: str,
    setup: str,
    member: str,
) -> None:
    _project(tmp_path, {"bot/q.py": _enum_app(parameter, setup, member, "uses")})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 13, "TG009")]


def test_an_enum_whose_members_are_computed_stays_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _enum_app("sort: Sort", "pass", "sort", "uses").replace(
        '    NAME = "name"\n',
        '    NAME = "name"\n\n    def __new__(cls, value):\n        return str.__new__(cls)\n',
    )
    _project(tmp_path, {"bot/q.py": app})
    assert [f[2] for f in _found(tmp_path, capsys, monkeypatch)] == ["TG009"]
