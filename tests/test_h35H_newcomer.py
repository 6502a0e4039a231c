"""A newcomer on a fresh machine, round 35 (h35H, issue 12 item 1): the real `tenantguard`
command in a fresh process on projects laid out as real ones are; misconfiguration never passes
silently, in any format, and standard output keeps only the report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.test_h34H_newcomer import FORMATS, run, write

DJANGO_INITIAL = """from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(primary_key=True)),
                ("tenant_id", models.IntegerField()),
                ("total", models.IntegerField()),
            ],
        ),
    ]
"""
DJANGO_RUNSQL = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "CREATE TABLE shop_invoice (id bigserial PRIMARY KEY, tenant_id int NOT NULL,"
            " amount int);",
            reverse_sql="DROP TABLE shop_invoice;",
        ),
    ]
"""
DJANGO_VIEWS = """from django.db import connection


def totals():
    with connection.cursor() as cur:
        cur.execute("SELECT amount FROM shop_invoice")
        return cur.fetchall()


def orders():
    with connection.cursor() as cur:
        cur.execute("SELECT total FROM shop_order")
        return cur.fetchall()
"""


def django_project(root: Path, *, models: bool = True) -> Path:
    """A Django app `shop` whose migrations are the configured schema path: 0001 a CreateModel
    (the table shop_order, with tenant_id), 0002 a RunSQL making shop_invoice."""
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["shop/migrations"]\n')
    write(root / "shop/__init__.py", "")
    write(root / "shop/migrations/__init__.py", "")
    if models:
        write(root / "shop/migrations/0001_initial.py", DJANGO_INITIAL)
    write(root / "shop/migrations/0002_invoices.py", DJANGO_RUNSQL)
    write(root / "shop/views.py", DJANGO_VIEWS)
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_django_migrations_models_as_schema_are_said_not_read(tmp_path: Path, fmt: str) -> None:
    """`schema_paths = ["shop/migrations"]` of a Django app: the RunSQL's `shop_invoice` was
    read (its SELECT a TG001), the CreateModel's `shop_order` (with tenant_id) was not, and
    nothing said so — `SELECT total FROM shop_order` passed, the folder counted as a schema
    read. A warning names the Django migrations and what to point at instead (a pg_dump or
    sqlmigrate SQL file); standard output stays the report alone."""
    root = django_project(tmp_path / "p")
    for cache in (["--no-cache"], [], []):  # said again from the cache
        result = run("check", *cache, "--format", fmt, cwd=root)
        assert result.returncode == 1, result.stderr
        assert result.stderr.count("CreateModel") == 1, result.stderr
        assert "shop/migrations" in result.stderr and "pg_dump" in result.stderr, result.stderr
        assert "sqlmigrate" in result.stderr, result.stderr
        assert "CreateModel" not in result.stdout
        if fmt == "json":
            found = {(f["path"], f["rule"]) for f in json.loads(result.stdout)["findings"]}
            assert found == {("shop/views.py", "TG001")}, found
    if fmt == "text":  # init proposing that folder says the same
        (root / "pyproject.toml").unlink()
        proposed = run("init", "--dry-run", cwd=root)
        assert proposed.returncode == 0, proposed.stderr
        assert "CreateModel" in proposed.stderr and "pg_dump" in proposed.stderr


def test_django_migrations_of_sql_alone_are_read_without_a_warning(tmp_path: Path) -> None:
    """The twin: migrations holding only RunSQL are read whole; nothing to warn of."""
    root = django_project(tmp_path / "p", models=False)
    result = run("check", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    assert "warning" not in result.stderr, result.stderr


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_a_cache_directory_that_cannot_be_written_is_said_once(
    tmp_path: Path, fmt: str, where: str
) -> None:
    """TENANTGUARD_CACHE_DIR where nothing can be made (under a file, in /proc): the run went
    on without a cache and said nothing — every run checked every file again. One warning line
    on standard error; the report (and exit code) as without a cache."""
    root = django_project(tmp_path / "p")
    (tmp_path / "a-file").write_text("x\n", encoding="utf-8")
    cache = str(tmp_path / "a-file/cache") if where == "under-a-file" else "/proc/tg-h35H-cache"
    env = {**os.environ, "TENANTGUARD_CACHE_DIR": cache}
    plain = run("check", "--no-cache", "--format", fmt, cwd=root, env=env)
    result = run("check", "--format", fmt, cwd=root, env=env)
    assert result.returncode == plain.returncode == 1
    assert result.stdout == plain.stdout
    said = [line for line in result.stderr.splitlines() if "cache" in line and cache in line]
    assert len(said) == 1 and said[0].startswith("tenantguard: warning:"), result.stderr
    assert "--no-cache" in said[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a folder of mode 0o555")
def test_a_cache_directory_without_write_permission_is_said(tmp_path: Path) -> None:
    root = django_project(tmp_path / "p")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    env = {**os.environ, "TENANTGUARD_CACHE_DIR": str(locked / "cache")}
    result = run("check", cwd=root, env=env)
    assert result.returncode == 1
    assert result.stderr.count("tenantguard: warning: the cache") == 1, result.stderr


def test_a_writable_cache_says_nothing(tmp_path: Path) -> None:
    root = django_project(tmp_path / "p", models=False)
    env = {**os.environ, "TENANTGUARD_CACHE_DIR": str(tmp_path / "cache")}
    for _ in range(2):
        result = run("check", cwd=root, env=env)
        assert result.returncode == 1 and "warning" not in result.stderr, result.stderr


EXPLAIN_SCHEMA = "CREATE TABLE notes (id int, tenant_id int, body text);\n"


@pytest.mark.parametrize(
    ("sql", "code", "verdict"),
    [
        ("SELECT body FROM notes WHERE tenant_id = $1", 0, "proven"),
        ("SELECT body FROM notes", 1, "not proven"),
        ("SELECT 1", 0, "nothing to prove"),
        ("SELEC body FROM notes", 1, "not proven"),
    ],
)
def test_explain_prints_json_with_the_same_exit_codes(
    tmp_path: Path, sql: str, code: int, verdict: str
) -> None:
    """`explain` had no --format (check has text/json/sarif/github): an editor or a script had
    to scrape its prose. `--format json` is one document, its exit code the text's."""
    root = tmp_path / "p"
    write(root / "db/schema.sql", EXPLAIN_SCHEMA)
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    text = run("explain", sql, cwd=root)
    result = run("explain", "--format", "json", sql, cwd=root)
    assert result.returncode == text.returncode == code, (result.stderr, text.stdout)
    document = json.loads(result.stdout)
    assert document["version"] and len(document["statements"]) == 1
    statement = document["statements"][0]
    assert statement["verdict"] == verdict and statement["line"] == 1
    assert document["failed"] is bool(code)
    if ("FROM notes" in sql and verdict != "not proven") or sql == "SELECT body FROM notes":
        (reference,) = statement["references"]
        assert reference["table"] == "notes" and reference["pinned"] is (code == 0)
    if sql == "SELECT body FROM notes":
        assert [f["rule"] for f in statement["findings"]] == ["TG001"]
    assert run("explain", "--format", "text", sql, cwd=root).stdout == text.stdout


def test_explain_json_errors_are_documents(tmp_path: Path) -> None:
    """A usage or configuration error of `explain --format json` prints a document naming it
    (as check's do), exit 2; an unknown format is a usage error."""
    root = tmp_path / "p"
    write(root / "db/schema.sql", EXPLAIN_SCHEMA)
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    empty = run("explain", "--format", "json", "-- nothing", cwd=root)
    assert empty.returncode == 2
    assert json.loads(empty.stdout)["error"]["kind"] == "usage"
    bare = tmp_path / "bare"
    bare.mkdir()
    unconfigured = run("explain", "--format", "json", "SELECT 1", cwd=bare)
    assert unconfigured.returncode == 2, unconfigured.stderr
    assert json.loads(unconfigured.stdout)["error"]["kind"] == "configuration"
    assert run("explain", "--format", "sarif", "SELECT 1", cwd=root).returncode == 2
    assert "--format" in run("explain", "--help", cwd=root).stdout
