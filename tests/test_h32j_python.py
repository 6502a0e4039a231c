"""Helper h32j on the Python reader after h32g: noise the h32g changes made on real shapes, and
leaks they missed.

- A class whose bases are not read (h32g, 0e91f52) marked each name its body defines as set
  from outside, for every class of the project: its own attributes included (`class
  BaseRepo(Generic[ModelT]): COUNT = "SELECT …"` with `ModelT = TypeVar(…)` read its own
  `self.COUNT` as TG009: `ModelT` is bound to a call), and every SQLAlchemy model of `Base =
  declarative_base()` unproved the same-named class attributes of every repository."""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres

from .conftest import fresh_database
from .project_files import GUILD_SCHEMA, findings_of_check, write_guild_project

_found = findings_of_check
_project = write_guild_project

UNRESOLVED = '"SELECT name FROM tags WHERE guild_id = $1"[:21]'  # `SELECT name FROM tags`
GUILDS = (
    "INSERT INTO guilds VALUES (1, '!'), (2, '?');\n"
    "INSERT INTO tags (guild_id, name, uses) VALUES (1, 'mine', 0), (2, 'theirs', 0);\n"
)


@pytest.fixture
async def guilds(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, GUILD_SCHEMA + GUILDS) as dsn:
        yield dsn


def _fresh_bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "bot" or m.startswith("bot.")]:
        monkeypatch.delitem(sys.modules, name)


# a class whose bases are not read: its own attributes, and classes that cannot be subclasses

REPO = (
    'class Repo:\n    SQL = "SELECT name FROM tags WHERE guild_id = $1"\n\n'
    "    async def tags(self, conn, guild_id):\n"
    "        return await conn.fetch(self.SQL, guild_id)\n"  # 5
)
OWN = (
    "    SQL = 'SELECT name FROM tags WHERE guild_id = $1'\n\n"
    "    async def tags(self, conn, guild_id):\n"
    "        return await conn.fetch(self.SQL, guild_id)\n"
)


@pytest.mark.parametrize(
    "files",
    [
        # a generic repository: `Generic[ModelT]` is no base bound to a call
        {
            "bot/generic.py": 'from typing import Generic, TypeVar\n\nModelT = TypeVar("ModelT")\n'
            "\n\nclass BaseRepo(Generic[ModelT]):\n" + OWN
        },
        # the class itself reads its own attribute: no base's value
        {
            "bot/admin.py": "from bot import repo\n\n\ndef pick():\n    return repo.Repo\n\n\n"
            "Base = pick()\n\n\nclass Admin(Base):\n" + OWN,
            "bot/repo.py": "class Repo:\n    pass\n",
        },
        # SQLAlchemy models: `declarative_base()` makes a class of SQLAlchemy's only
        {
            "bot/models.py": "from sqlalchemy import Column, Integer\n"
            "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n"
            "class Tag(Base):\n    __tablename__ = 'tags'\n    id = Column(Integer)\n"
            "    SQL = Column(Integer)\n    query = None\n",
            "bot/repo.py": REPO,
        },
    ],
    ids=["generic_repository", "own_attribute", "sqlalchemy_model"],
)
def test_a_class_of_unread_bases_does_not_unprove_what_it_cannot_override(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
) -> None:
    _project(tmp_path, files)
    assert _found(tmp_path, capsys, monkeypatch) == []


ADMIN_BODY = f"    SQL = {UNRESOLVED}\n"
OVERRIDERS = {
    # `declarative_base(cls=Repo)` makes a subclass of Repo
    "declarative_base_of_a_project_class": "from sqlalchemy.orm import declarative_base\n"
    "from bot.repo import Repo\n\nBase = declarative_base(cls=Repo)\n\n\nclass Admin(Base):\n",
    # a project function named so is not SQLAlchemy's
    "declarative_base_of_the_project": "from bot import repo\n\n\ndef declarative_base():\n"
    "    return repo.Repo\n\n\nBase = declarative_base()\n\n\nclass Admin(Base):\n",
    # what a base subscripts is left out, the base is not
    "subscripted_base": "from bot import repo\n\nBase = getattr(repo, 'Repo')\n\n\n"
    "class Admin(Base[int]):\n",
    # a class of the same name in another file is another class
    "same_name_elsewhere": "from bot import repo\n\nBase = getattr(repo, 'Repo')\n\n\n"
    "class Repo(Base):\n",
}


@pytest.mark.parametrize("header", OVERRIDERS.values(), ids=OVERRIDERS.keys())
def test_a_class_of_unread_bases_still_unproves_what_it_may_override(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    header: str,
) -> None:
    _project(tmp_path, {"bot/repo.py": REPO, "bot/admin.py": header + ADMIN_BODY})
    assert ("bot/repo.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)


async def test_a_same_named_subclass_elsewhere_sends_its_own_sql(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    guilds: str,
) -> None:
    header = OVERRIDERS["same_name_elsewhere"]
    body = "    SQL = 'SELECT name FROM tags WHERE guild_id = $1 OR TRUE'[:99]\n"
    _project(tmp_path, {"bot/repo.py": REPO, "bot/admin.py": header + body})
    assert ("bot/repo.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)
    _fresh_bot(tmp_path, monkeypatch)
    admin = importlib.import_module("bot.admin")
    conn = await asyncpg.connect(guilds)
    try:
        rows = await admin.Repo().tags(conn, 1)
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


# an attribute the base sets on its instances in `__init__`, overridden by a class whose
# bases are not read: a class attribute with an `__init__` that leaves it unset, or its own
# `self.SQL = …` (a silent pass before h32j, the subclass index not following that base)

INIT_REPO = (
    "class Repo:\n    def __init__(self):\n"
    '        self.SQL = "SELECT name FROM tags WHERE guild_id = $1"\n\n'
    "    async def tags(self, conn, guild_id):\n"
    "        return await conn.fetch(self.SQL, guild_id)\n"  # 6
)
WIDE = "'SELECT name FROM tags WHERE guild_id = $1 OR TRUE'[:99]"
INIT_OVERRIDERS = {
    "class_attribute": f"    SQL = {WIDE}\n\n    def __init__(self):\n        pass\n",
    "own_init": f"    def __init__(self):\n        self.SQL = {WIDE}\n",
}


@pytest.mark.parametrize("body", INIT_OVERRIDERS.values(), ids=INIT_OVERRIDERS.keys())
async def test_an_instance_attribute_overridden_by_an_unread_subclass_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    guilds: str,
    body: str,
) -> None:
    header = "from bot import repo\n\nBase = getattr(repo, 'Repo')\n\n\nclass Admin(Base):\n"
    _project(tmp_path, {"bot/repo.py": INIT_REPO, "bot/admin.py": header + body})
    assert ("bot/repo.py", 6, "TG009") in _found(tmp_path, capsys, monkeypatch)
    _fresh_bot(tmp_path, monkeypatch)
    admin = importlib.import_module("bot.admin")
    conn = await asyncpg.connect(guilds)
    try:
        rows = await admin.Admin().tags(conn, 1)
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


def test_an_instance_attribute_of_an_unread_subclass_itself_stays_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    own = (
        "from bot import repo\n\nBase = getattr(repo, 'Repo')\n\n\nclass Admin(Base):\n"
        + INIT_REPO.split("\n", 1)[1]
    )
    _project(tmp_path, {"bot/repo.py": "class Repo:\n    pass\n", "bot/admin.py": own})
    assert _found(tmp_path, capsys, monkeypatch) == []
