"""The check cache: same findings as a cold run, invalidated by everything findings depend on,
and a run with every file cached does not import sqlglot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tenantguard.cli import main

CONFIG = '[tool.tenantguard]\nschema_paths = ["schema"]\nglobal_tables = ["tenants"]\n'
SCHEMA = "CREATE TABLE patients (id int, tenant_id int);\nCREATE TABLE notes (id int, body text);\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "tables.sql").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "a.sql").write_text("SELECT * FROM patients;\n", encoding="utf-8")
    (tmp_path / "app" / "b.sql").write_text("SELECT * FROM notes;\n", encoding="utf-8")
    (tmp_path / "app" / "c.py").write_text(
        'async def f(c, t):\n    await c.fetch("SELECT * FROM patients WHERE tenant_id = $1", t)\n',
        encoding="utf-8",
    )
    return tmp_path


def findings(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, list[tuple[str, int, str]]]:
    code = main(["check", "--format", "json", *argv, "app"])
    data = json.loads(capsys.readouterr().out)
    return code, sorted((f["path"], f["line"], f["rule"]) for f in data["findings"])


def test_cached_run_reports_what_the_cold_run_did(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cold = findings(capsys)
    assert cold == (1, [("app/a.sql", 1, "TG001")])
    assert (project / ".tenantguard_cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert findings(capsys) == cold
    assert findings(capsys, "--no-cache") == cold


def test_an_edited_file_is_checked_again(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings(capsys)
    (project / "app" / "b.sql").write_text(
        "SELECT 1;\nSELECT * FROM patients WHERE dni = $1;\n", encoding="utf-8"
    )
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001"), ("app/b.sql", 2, "TG001")]


def test_a_schema_change_makes_a_cached_clean_file_a_finding(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """notes gains the tenant column: `SELECT * FROM notes` leaks now, though b.sql is unchanged."""
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001")]
    (project / "schema" / "tables.sql").write_text(
        SCHEMA + "ALTER TABLE notes ADD COLUMN tenant_id int;\n", encoding="utf-8"
    )
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001"), ("app/b.sql", 1, "TG001")]
    # a new schema file in the directory counts too
    (project / "schema" / "tables.sql").write_text(SCHEMA, encoding="utf-8")
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001")]
    (project / "schema" / "more.sql").write_text(
        "ALTER TABLE notes ADD COLUMN tenant_id int;\n", encoding="utf-8"
    )
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001"), ("app/b.sql", 1, "TG001")]


def test_configuration_flags_and_selection_are_part_of_the_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    findings(capsys)
    assert findings(capsys, "--tenant-tables", "notes")[1] == [
        ("app/a.sql", 1, "TG001"),
        ("app/b.sql", 1, "TG001"),
    ]
    assert findings(capsys, "--ignore", "TG001") == (0, [])
    (project / "pyproject.toml").write_text(
        CONFIG + 'tenant_tables = ["notes"]\n', encoding="utf-8"
    )
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001"), ("app/b.sql", 1, "TG001")]


def test_a_damaged_cache_is_ignored_and_rewritten(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cold = findings(capsys)
    for file in (project / ".tenantguard_cache").glob("*.json"):
        file.write_text('{"format": 1, "files": {"app/a.sql": {"hash": 3}}', encoding="utf-8")
    assert findings(capsys) == cold
    for file in (project / ".tenantguard_cache").glob("*.json"):
        entry = json.loads(file.read_text())["files"]["app/a.sql"]
        entry["findings"] = "nonsense"
        file.write_text(json.dumps({"format": 1, "files": {"app/a.sql": entry}}))
    assert findings(capsys) == cold


def test_no_cache_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings(capsys, "--no-cache")
    assert not (project / ".tenantguard_cache").exists()


def test_a_fully_cached_run_does_not_import_sqlglot(project: Path) -> None:
    script = (
        "import sys\n"
        "from tenantguard.cli import main\n"
        "code = main(['check', '--format', 'json', 'app'])\n"
        "print('SQLGLOT' if 'sqlglot' in sys.modules else 'NO-SQLGLOT', code, file=sys.stderr)\n"
    )

    def run() -> tuple[str, str]:
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        return done.stderr.strip().splitlines()[-1], done.stdout

    cold, cold_out = run()
    warm, warm_out = run()
    assert cold == "SQLGLOT 1"
    assert warm == "NO-SQLGLOT 1"
    assert json.loads(warm_out)["findings"] == json.loads(cold_out)["findings"]
    (project / "app" / "b.sql").write_text("SELECT * FROM patients;\n", encoding="utf-8")
    assert run()[0] == "SQLGLOT 1"
