"""Round 21, real code (helper-91, a first-time user's asyncpg application): SQL the Python
reader did not follow.

1. A wrapper's SQL parameter annotated with a type the reader did not know for text —
   `LiteralString` (PEP 675, the type meant for SQL APIs), `NewType("Sql", str)`, a `str`
   subclass, a `(str, Enum)` of queries — was taken for a value: the wrapper was no wrapper,
   and its callers' SQL was never checked ("No findings"). Now only annotations every name of
   which is a type no text can be (`int`, `UUID`, `list[int] | None`, `asyncpg.Connection`)
   make a value; any other name may be text.
2. A dataclass's, a NamedTuple's (attrs', pydantic's) annotated attribute was read as its
   default even where the constructor set another (`Query(sql="SELECT id FROM " + TABLE)`
   sent `SELECT id FROM patients`, unpinned: proven). A field is what its constructor was
   given: TG009 where it is sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.python.test_python_sources import findings

HEAD = """
from dataclasses import dataclass
from enum import Enum
from typing import LiteralString, NamedTuple, NewType
import typing
import uuid

Sql = NewType("Sql", str)
COLS = "id, name"
TABLE = "patients"


class Text(str):
    pass


"""

UNPINNED = 'await run(conn, f"SELECT {COLS} FROM {TABLE} ORDER BY id")'
PINNED = 'await run(conn, f"SELECT {COLS} FROM {TABLE} WHERE tenant_id = $1", t)'


@pytest.mark.parametrize(
    "annotation",
    ["LiteralString", "Sql", "Text", "typing.LiteralString", "'LiteralString'", "Sql | None"],
)
def test_a_wrappers_sql_parameter_of_any_text_type_has_its_callers_checked(
    annotation: str,
) -> None:
    source = (
        HEAD
        + f"async def run(conn, q: {annotation}, *args):\n"
        + "    return await conn.fetch(q, *args)\n\n\n"
        + "async def handler(conn, t):\n"
        + f"    {UNPINNED}\n"
        + f"    {PINNED}\n"
    )
    assert [code for _, _, code in findings(source)] == ["TG001"], annotation


@pytest.mark.parametrize(
    "annotation", ["int", "uuid.UUID", "list[int] | None", "typing.Optional[int]", "bytes"]
)
def test_a_parameter_no_text_can_be_is_a_value(annotation: str) -> None:
    """The value kind stays for what cannot be SQL: sent as the statement, it is no wrapper's
    text — the call is opaque (TG009), as before, not a wrapper whose callers are checked."""
    source = (
        HEAD
        + f"async def run(conn, q: {annotation}, *args):\n"
        + "    return await conn.fetch(q, *args)\n\n\n"
        + "async def handler(conn, t):\n"
        + "    await run(conn, 5)\n"
    )
    assert "TG001" not in [code for _, _, code in findings(source)]


RECORDS = [
    '@dataclass(frozen=True)\nclass Query:\n    sql: str = "SELECT id FROM patients WHERE tenant_id = $1"\n',
    'class Query(NamedTuple):\n    sql: str = "SELECT id FROM patients WHERE tenant_id = $1"\n',
    '@dataclass\nclass Query:\n    other: int = 0\n    sql: str = "SELECT id FROM patients WHERE tenant_id = $1"\n',
]


@pytest.mark.parametrize("record", RECORDS)
def test_a_records_field_is_what_its_constructor_was_given(record: str) -> None:
    source = (
        HEAD
        + record
        + "\n\nasync def handler(conn):\n"
        + '    q = Query(sql="SELECT id FROM " + TABLE)\n'
        + "    await conn.fetch(q.sql)\n"
    )
    # the constant it is given, `"SELECT id FROM " + TABLE`, is one string (round 24) and an
    # unpinned read (TG001); the field's value is followed to the call since h34D (no TG009
    # there: the call sends that constant, found where it is written)
    assert [code for _, _, code in findings(source)] == ["TG001"]


def test_a_class_constant_is_still_a_constant() -> None:
    """A plain class's attribute, and a ClassVar of a dataclass, are what the class says."""
    source = (
        HEAD
        + "class Queries:\n    ALL = 'SELECT id FROM patients'\n\n\n"
        + "@dataclass\nclass Repo:\n"
        + "    ONE: typing.ClassVar[str] = 'SELECT id FROM patients WHERE tenant_id = $1'\n\n\n"
        + "async def handler(conn, t):\n"
        + "    await conn.fetch(Queries.ALL)\n"
        + "    await conn.fetch(Repo.ONE, t)\n"
    )
    assert [code for _, _, code in findings(source)] == ["TG001"]


def test_a_suppression_written_as_a_sql_comment_in_the_string_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """helper-91: `-- tenantguard: ignore[TG001] -- reason` inside the query's own text was
    ignored, and nothing said so. It suppresses as a Python comment would (at its line), and
    one without a reason is TG010 as anywhere."""
    from tenantguard.cli import main

    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["patients"]\n', encoding="utf-8"
    )
    (tmp_path / "q.py").write_text(
        "async def report(conn):\n"
        '    return await conn.fetch("""\n'
        "        SELECT id FROM patients  -- tenantguard: ignore[TG001] -- spans clinics\n"
        '    """)\n\n\n'
        "async def other(conn):\n"
        '    return await conn.fetch("SELECT id FROM patients")\n\n\n'
        "async def third(conn):\n"
        '    return await conn.fetch("SELECT id FROM patients -- tenantguard: ignore[TG001]")\n',
        encoding="utf-8",
    )
    code = main(["check", "--no-cache", "--format", "concise", str(tmp_path / "q.py")])
    out = capsys.readouterr().out
    lines = sorted(line.split(": ")[0].rsplit(":", 2)[-2] + " " + line.split(" ")[1]
                   for line in out.splitlines() if ".py:" in line)  # fmt: skip
    assert code == 1
    assert lines == ["12 TG010", "8 TG001"]
