"""Round 23: real code read by an outsider (helper 111) — a project's shapes the check got
wrong, each with its leak and its safe twin, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantguard.cli import main

SCHEMA = (
    "CREATE TABLE guilds (guild_id bigint PRIMARY KEY);\n"
    "CREATE TABLE tags (id serial PRIMARY KEY, guild_id bigint NOT NULL REFERENCES "
    "guilds(guild_id), name text, uses int);\n"
)
CONFIG = '[tool.tenantguard]\ntenant_column = "guild_id"\nschema_paths = ["schema.sql"]\n'


def _project(root: Path, files: dict[str, str]) -> None:
    for name, text in {"schema.sql": SCHEMA, "pyproject.toml": CONFIG, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _found(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, int, str]]:
    monkeypatch.chdir(root)
    code = main(["check", "--no-cache", "--format", "json", "."])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == (1 if findings else 0)
    return sorted((f["path"], f["line"], f["rule"]) for f in findings)


def test_a_migrations_folder_holding_application_code_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every Python module of a folder named `migrations` was read as a schema source: a
    runner of data backfills at startup passed its unpinned UPDATEs. Only a framework's
    migration (alembic, Django, yoyo, or a module defining upgrade/downgrade/migrate) is."""
    runner = (
        "async def backfill_uses(pool, guild_id):\n"
        '    await pool.execute("UPDATE tags SET uses = 0 WHERE uses IS NULL")\n'
    )
    revision = (
        "def upgrade(op):\n"
        '    op.execute("UPDATE tags SET uses = 0 WHERE uses IS NULL")\n'
        "def downgrade(op):\n"
        "    pass\n"
    )
    _project(
        tmp_path,
        {"bot/migrations/runner.py": runner, "bot/migrations/0002_uses.py": revision},
    )
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/migrations/runner.py", 2, "TG001")]


def test_a_query_imported_from_another_module_grown_in_a_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`query = TAGS_FOR_GUILD` (imported) then `query += " OR …"` in a branch: the name held
    a reference on one path and a string on the other — a TG009 warning where the OR leaked,
    and where a pinned filter or ORDER BY was added, a false warning."""
    queries = 'TAGS_FOR_GUILD = "SELECT name, uses FROM tags WHERE guild_id = $1"\n'
    leak = (
        "from .queries import TAGS_FOR_GUILD\n"
        "\n"
        "async def tags(pool, guild_id, name, fuzzy=False):\n"
        "    query = TAGS_FOR_GUILD\n"
        "    if fuzzy:\n"
        '        query += " OR name ILIKE $2"\n'
        "    return await pool.fetch(query, guild_id, name)\n"
    )
    safe = (
        "from pkg.queries import TAGS_FOR_GUILD\n"
        "\n"
        "async def tags(pool, guild_id, name, exact=False, limit=10):\n"
        "    query = TAGS_FOR_GUILD\n"
        "    if exact:\n"
        '        query += " AND name = $2"\n'
        '    query += f" ORDER BY uses DESC LIMIT {int(limit)}"\n'
        "    return await pool.fetch(query, guild_id, name)\n"
    )
    _project(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/queries.py": queries,
            "pkg/leak.py": leak,
            "pkg/safe.py": safe,
        },
    )
    assert _found(tmp_path, capsys, monkeypatch) == [("pkg/leak.py", 7, "TG001")]
