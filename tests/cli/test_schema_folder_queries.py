"""Queries kept in a schema folder (round 33, found by h33o): sqlc's layout keeps `db/schema.sql`
beside `db/query.sql` (`-- name: GetNotes :many` headers), and `tenantguard init` proposes
`schema_paths = ["db"]` for it. Every file under a schema path was read as schema, where no
rule of the proof runs: `SELECT * FROM notes` in the query file passed ("no application SQL
statement … not proven", exit 0). A schema-path file (not a patch) that makes no schema — every
statement a query or DML — and either heads its queries with `-- name:` or only reads is
application SQL, checked as such. A data migration (DML without query headers) and a seed file
stay schema sources: the pipeline runs them over every tenant's rows on purpose.

The real `tenantguard` command in a temporary tree."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_h33o_cli import run, write

SCHEMA = "CREATE TABLE notes (id int PRIMARY KEY, tenant_id int NOT NULL, body text);\n"


def _project(root: Path, name: str, text: str) -> Path:
    write(root / "db/schema.sql", SCHEMA)
    write(root / f"db/{name}", text)
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    return root


def test_a_sqlc_query_file_beside_the_schema_is_checked(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "p",
        "query.sql",
        "-- name: GetNotes :many\nSELECT * FROM notes;\n\n"
        "-- name: OwnNotes :many\nSELECT * FROM notes WHERE tenant_id = $1;\n\n"
        "-- name: DropNote :exec\nDELETE FROM notes WHERE id = $1;\n",
    )
    result = run("check", "--output-format", "concise", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    found = sorted(line.split(": ")[0] for line in result.stdout.splitlines() if " TG" in line)
    assert found == ["db/query.sql:2:15", "db/query.sql:8:13"], result.stdout


def test_a_read_only_file_in_a_schema_folder_is_checked(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "reports.sql", "SELECT body FROM notes;\n")
    result = run("check", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "db/reports.sql:1:" in result.stdout and "TG001" in result.stdout


def test_a_data_migration_and_a_seed_file_stay_schema_sources(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "0002_backfill.sql", "UPDATE notes SET body = '';\n")
    write(root / "db/seed.sql", "INSERT INTO notes (id, tenant_id, body) SELECT 1, 1, 'x';\n")
    result = run("check", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "TG001" not in result.stdout
