"""Round 19, real code (a first-time user's three projects): what a project's own shapes hid.

1. A Python migration's rollback was applied as if it moved the schema forward: `down()`,
   `backwards()`, `rollback()`… (only alembic's `downgrade()` was known), so its `DROP TABLE`
   took a tenant table out of the schema and every leak on it passed. Now any function named as
   a rollback, or given to Django's `RunPython` as its reverse, is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantguard.cli import main


def run_json(
    capsys: pytest.CaptureFixture[str], root: Path, *argv: str
) -> tuple[int, list[dict[str, object]]]:
    code = main(["check", "--no-cache", "--format", "json", str(root), *argv])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    findings = json.loads(out)["findings"]
    assert isinstance(findings, list)
    return code, findings


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


MIGRATION = """
async def {up}(conn):
    await conn.execute("CREATE TABLE tags (id int, guild_id bigint NOT NULL)")
    await conn.execute("CREATE TABLE notes (id int, guild_id bigint NOT NULL)")


async def {down}(conn):
    await conn.execute("DROP TABLE notes; DROP TABLE tags")
"""
APP = """
async def notes(conn):
    return await conn.fetch("SELECT * FROM notes")


async def tags(conn, guild):
    return await conn.fetch("SELECT * FROM tags WHERE guild_id = $1", guild)
"""
CONFIG = '[tool.tenantguard]\ntenant_column = "guild_id"\nschema_paths = ["migrations"]\n'


@pytest.mark.parametrize(
    ("up", "down"),
    [
        ("up", "down"),
        ("forwards", "backwards"),
        ("apply", "rollback"),
        ("migrate", "revert"),
        ("upgrade", "downgrade"),
        ("do_it", "undo"),
        ("up", "_down"),
        ("up", "down_0001"),
    ],
)
def test_a_migration_s_rollback_does_not_drop_its_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], up: str, down: str
) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": CONFIG,
            "migrations/m0001_init.py": MIGRATION.format(up=up, down=down),
            "app.py": APP,
        },
    )
    code, findings = run_json(capsys, tmp_path)
    assert code == 1
    assert [(f["rule"], f["line"]) for f in findings] == [("TG001", 3)]


def test_a_drop_that_moves_the_schema_forward_still_drops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same DROP in a later migration's forward step: `notes` is gone, `tags` stays."""
    write(
        tmp_path,
        {
            "pyproject.toml": CONFIG,
            "migrations/m0001_init.py": MIGRATION.format(up="up", down="down"),
            "migrations/m0002_drop.py": (
                'async def up(conn):\n    await conn.execute("DROP TABLE notes")\n'
            ),
            "app.py": APP
            + '\n\nasync def every_tag(conn):\n    return await conn.fetch("SELECT * FROM tags")\n',
        },
    )
    _, findings = run_json(capsys, tmp_path)
    assert [(f["rule"], f["line"]) for f in findings] == [("TG001", 11)]


def test_django_s_reverse_code_is_not_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migration = """
from django.db import migrations


def create(apps, schema_editor):
    schema_editor.execute("CREATE TABLE notes (id int, guild_id bigint NOT NULL)")


def drop_it(apps, schema_editor):
    schema_editor.execute("DROP TABLE notes")


class Migration(migrations.Migration):
    operations = [migrations.RunPython(create, reverse_code=drop_it)]
"""
    write(
        tmp_path,
        {"pyproject.toml": CONFIG, "migrations/0001_initial.py": migration, "app.py": APP},
    )
    _, findings = run_json(capsys, tmp_path)
    assert ("TG001", 3) in [(f["rule"], f["line"]) for f in findings]
