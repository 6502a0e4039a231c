"""Round 28, real code (a first-time user's asyncpg Discord bot keyed by `guild_id`, a SaaS
backend, a FastAPI app, a job-queue worker): shapes the Python reader got wrong, each with its
leaking twin, through the command line.

1. A stub's body — `async def fetch(self, query: str, *args) -> list: ...` in a `Protocol`, an
   `@overload`, an abstract method — followed on the next line by a module constant or a class
   attribute (`GET = "SELECT …"`, `TABLE_SQL = "…"`) was read as the attribute store
   `Ellipsis.GET = …` by the scan for attributes set from outside (the ellipsis's last dot,
   then the line break, then the name): every such constant was TG009, "assigned again as an
   attribute of its module". The last dot of an ellipsis is no attribute's dot now; a real
   store (`queries.GET = …`) on the line after a stub still is.
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


# 1. a stub's `...` before a constant


STUB_THEN_CONSTANTS = (
    "from typing import Protocol\n"
    "\n"
    "\n"
    "class Fetcher(Protocol):\n"
    "    async def fetch(self, query: str, *args) -> list: ...\n"
    "\n"
    "\n"
    'COLUMNS = ("id", "name", "uses")\n'
    'GET = "SELECT name FROM tags WHERE guild_id = $1"\n'
    'BY_USES = "SELECT " + ", ".join(COLUMNS) + " FROM tags WHERE guild_id = $1"\n'
    "\n"
    "\n"
    "class Repo:\n"
    "    def stub(self): ...\n"
    '    TABLE_SQL = "SELECT name FROM tags WHERE guild_id = $1"\n'
    "\n"
    "    async def get(self, db: Fetcher, guild_id: int):\n"
    "        await db.fetch(GET, guild_id)\n"
    "        await db.fetch(BY_USES, guild_id)\n"
    "        return await db.fetch(self.TABLE_SQL, guild_id)\n"
)


def test_a_stub_body_before_a_constant_is_no_attribute_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/repo.py": STUB_THEN_CONSTANTS})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_a_store_on_the_line_after_a_stub_is_still_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leaking twin: another module sets the constants, the first store right after a
    stub's `...`: what the calls send is the last value set (TG009 each)."""
    patcher = (
        "from bot import repo\n"
        "\n"
        "\n"
        "class P:\n"
        "    def f(self): ...\n"
        'repo.GET = "SELECT name FROM tags"\n'
        "def g(): ...\n"
        'repo.Repo.TABLE_SQL = "SELECT name FROM tags"\n'
        "def h(): ...\n"
        'repo.COLUMNS = ("id", "name FROM tags --")\n'
    )
    _project(tmp_path, {"bot/repo.py": STUB_THEN_CONSTANTS, "bot/patch.py": patcher})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/patch.py", 6, "TG001"),  # (the strings set read as SQL where they are written)
        ("bot/patch.py", 8, "TG001"),
        ("bot/repo.py", 10, "TG009"),  # BY_USES: the join of COLUMNS
        ("bot/repo.py", 18, "TG009"),
        ("bot/repo.py", 20, "TG009"),
    ]
