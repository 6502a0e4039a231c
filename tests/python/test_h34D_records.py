"""Session 34 (helper D), issue 12: SQL held by a dataclass or a NamedTuple made with it.

`EVENTS = Query("SELECT … WHERE org_id = $1", "events")` in `queries.py`, then
`conn.fetch(queries.EVENTS.text, org)` — a registry of named queries as frozen dataclasses or
NamedTuples — was TG009 ("`queries.EVENTS.text` is read at run time") at every call, though
the SQL is a constant written once. A field of an object made by calling a plain dataclass or
a NamedTuple of the project (no project base, no `__init__`/`__post_init__`, no validator, no
`field(…)`, `InitVar` or `KW_ONLY`) holds the argument given for it, positional or keyword.
Where another value can reach it (`q.text = …` anywhere, a constructor the reader cannot map)
it stays TG009; a leak in the SQL is found where it is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text
from tests.project_files import findings_of_check, write_guild_project

ORGS = Policy("org_id", ["events"])
PINNED = '"SELECT id FROM events WHERE org_id = $1"'
LEAK = '"SELECT id FROM events"'

CLASSES = """\
import dataclasses
from dataclasses import InitVar, dataclass, field
from typing import ClassVar, NamedTuple


@dataclass(frozen=True)
class Query:
    text: str
    name: str = "q"
    kind: ClassVar[str] = "sql"


class Row(NamedTuple):
    name: str
    text: str


@dataclass
class Normalised:
    text: str

    def __post_init__(self):
        self.text = self.text + " OR true"


@dataclass
class Later:
    name: str
    text: str = field(default="")


@dataclass(kw_only=True)
class Keywords:
    text: str


"""


def found(made: str, read: str = "Q.text") -> list[str]:
    source = (
        CLASSES + f"Q = {made}\n\n\nasync def run(conn, org):\n    await conn.fetch({read}, org)\n"
    )
    out, _, _ = check_python_text(source, Analyzer(ORGS))
    return sorted(f.code for f in out)


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (f"Query({PINNED})", []),
        (f'Query({PINNED}, "events")', []),
        (f'Query(name="events", text={PINNED})', []),
        (f'Row("events", {PINNED})', []),
        (f"Keywords(text={PINNED})", []),
        # the leak, where it is written
        (f"Query({LEAK})", ["TG001"]),
        (f'Row(text={LEAK}, name="all")', ["TG001"]),
        # what the reader cannot map to the field: not proven
        (f"Normalised({PINNED})", ["TG009"]),  # __post_init__ gives it another value
        (f'Later("x", {PINNED})', []),  # a field(default=…) is a default (s41)
        (f"Keywords({PINNED})", ["TG009"]),  # positional to kw_only: Python raises
        (f"Query(*[{PINNED}])", ["TG009"]),
        (f'Query({PINNED}, "a", "b")', ["TG009"]),  # too many arguments
        (f"Query(sql={PINNED})", ["TG009"]),  # no such field
    ],
)
def test_a_field_of_a_record_made_with_constant_sql(made: str, expected: list[str]) -> None:
    assert found(made) == expected


@pytest.mark.parametrize(
    "caller", ["", "async def page(conn, org):\n    await run(conn, org, {sql})\n"]
)
@pytest.mark.parametrize("sql", [PINNED, LEAK])
def test_a_field_given_by_a_parameter_is_the_parameter(caller: str, sql: str) -> None:
    """`Query(sql).text` is read as `sql` itself (a wrapper's parameter, a handler's)."""
    through, direct = (
        CLASSES + f"async def run(conn, org, sql):\n    {send}\n\n\n" + caller.format(sql=sql)
        for send in (
            "q = Query(sql)\n    await conn.fetch(q.text, org)",
            "await conn.fetch(sql, org)",
        )
    )
    found_through, _, _ = check_python_text(through, Analyzer(ORGS))
    found_direct, _, _ = check_python_text(direct, Analyzer(ORGS))
    assert [f.code for f in found_through] == [f.code for f in found_direct]


QUERIES = (
    "from dataclasses import dataclass\n"
    "\n"
    "\n"
    "@dataclass\n"
    "class Query:\n"
    "    text: str\n"
    "    name: str\n"
    "\n"
    "\n"
    'TAGS = Query("SELECT name FROM tags WHERE guild_id = $1", "tags")\n'
)
SENDER = (
    "from bot import queries\n"
    "from bot.queries import TAGS\n"
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    "    await conn.fetch(queries.TAGS.text, guild_id)\n"  # 6
    "    return await conn.fetch(TAGS.text, guild_id)\n"  # 7
)


def test_a_record_of_another_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/queries.py": QUERIES, "bot/tags.py": SENDER})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


def test_a_record_whose_field_is_assigned_elsewhere_is_not_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = 'from bot import queries\n\nqueries.TAGS.text = "SELECT name FROM tags"\n'
    files = {"bot/queries.py": QUERIES, "bot/tags.py": SENDER, "bot/admin.py": admin}
    write_guild_project(tmp_path, files)
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert ("bot/tags.py", 6, "TG009") in found
    assert ("bot/tags.py", 7, "TG009") in found
