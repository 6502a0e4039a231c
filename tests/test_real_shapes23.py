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
