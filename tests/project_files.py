"""Small projects written into a test's directory: a schema, a configuration and files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tenantguard.cli import main


def write_project(root: Path, schema: str, config: str, files: dict[str, str]) -> None:
    """`schema.sql` and `pyproject.toml` (given), then `files` (a name may hold folders)."""
    for name, text in {"schema.sql": schema, "pyproject.toml": config, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# a bot's tags per Discord guild: the project the real-shape tests of SQL in Python share
GUILD_SCHEMA = (
    "CREATE TABLE guilds (guild_id bigint PRIMARY KEY, prefix text);\n"
    "CREATE TABLE tags (id serial PRIMARY KEY, guild_id bigint NOT NULL REFERENCES "
    "guilds(guild_id), name text, uses int);\n"
)
GUILD_CONFIG = '[tool.tenantguard]\ntenant_column = "guild_id"\nschema_paths = ["schema.sql"]\n'


def write_guild_project(root: Path, files: dict[str, str]) -> None:
    """The guild project (`GUILD_SCHEMA`, `GUILD_CONFIG`, a `bot` package) with `files`."""
    write_project(root, GUILD_SCHEMA, GUILD_CONFIG, {"bot/__init__.py": "", **files})


def findings_of_check(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, int, str]]:
    """`tenantguard check .` in `root`, its findings as (path, line, rule), sorted; the exit
    code checked against them (1 with an error, else 0)."""
    return sorted((p, line, rule) for p, line, _, rule in findings_at(root, capsys, monkeypatch))


def findings_at(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, int, int, str]]:
    """`tenantguard check .` in `root`, its findings as (path, line, column, rule), sorted; the
    exit code checked against them (1 with an error, else 0)."""
    monkeypatch.chdir(root)
    code = main(["check", "--no-cache", "--format", "json", "."])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == (1 if any(f["severity"] == "error" for f in findings) else 0)
    return sorted((f["path"], f["line"], f["column"], f["rule"]) for f in findings)


# two guilds' rows for GUILD_SCHEMA: a leak returns 'theirs' beside 'mine'
GUILD_ROWS = (
    "INSERT INTO guilds VALUES (1, '!'), (2, '?');\n"
    "INSERT INTO tags (guild_id, name, uses) VALUES (1, 'mine', 0), (2, 'theirs', 0);\n"
)


def import_fresh_bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guild project written under `tmp_path` importable as `bot`, none of its modules
    left from another test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "bot" or m.startswith("bot.")]:
        monkeypatch.delitem(sys.modules, name)
