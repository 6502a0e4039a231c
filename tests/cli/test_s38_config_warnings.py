"""The configuration's warnings reach the machine formats (session 38).

`tenantguard check --format github` in a CI printed a warning such as "tenant table 'patients'
is not created by any schema source" on standard error only: GitHub shows no annotation for it,
and a json or SARIF consumer never saw it (the warning that says the configuration is likely
wrong was invisible exactly where the tool runs unattended). Now json carries them in
`summary.configuration_warnings`, SARIF as the run's `toolConfigurationNotifications` (valid
SARIF 2.1.0), github as `::warning` annotations; standard error still says them; a run without
warnings is unchanged (no key, no invocation)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.cli.test_h33o_cli import _sarif_schema
from tests.cli.test_h34H_newcomer import run

WARNED = "tenant table 'visits'"


def _project(root: Path, *, misspelt: bool) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "schema").mkdir()
    tables = '["patients", "visits"]' if misspelt else '["patients"]'
    (root / "pyproject.toml").write_text(
        f'[tool.tenantguard]\ntenant_tables = {tables}\nschema_paths = ["schema"]\n',
        encoding="utf-8",
    )
    (root / "schema" / "s.sql").write_text(
        "CREATE TABLE patients (id int, tenant_id int NOT NULL);\n", encoding="utf-8"
    )
    (root / "app" / "q.sql").write_text("SELECT * FROM patients;\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_a_configuration_warning_is_in_the_machine_format(tmp_path: Path, fmt: str) -> None:
    root = _project(tmp_path / "p", misspelt=True)
    result = run("check", "--format", fmt, "app", cwd=root)
    assert result.returncode == 1, result.stderr  # the finding; the warning fails nothing
    assert WARNED in result.stderr
    if fmt == "json":
        summary = json.loads(result.stdout)["summary"]
        assert len(summary["configuration_warnings"]) == 1
        assert WARNED in summary["configuration_warnings"][0]
        assert summary["errors"] == 1 and summary["warnings"] == 0  # findings' counts unchanged
    elif fmt == "sarif":
        document = json.loads(result.stdout)
        jsonschema.validate(document, _sarif_schema())
        run_ = document["runs"][0]
        (invocation,) = run_["invocations"]
        assert invocation["executionSuccessful"] is True
        (notice,) = invocation["toolConfigurationNotifications"]
        assert notice["level"] == "warning" and WARNED in notice["message"]["text"]
        assert [r["ruleId"] for r in run_["results"]] == ["TG001"]
    else:
        lines = result.stdout.splitlines()
        assert lines[0].startswith("::warning title=tenantguard configuration::"), lines
        assert WARNED in lines[0]
        assert lines[1].startswith("::error file=app/q.sql,line=1,"), lines


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_no_warning_no_trace(tmp_path: Path, fmt: str) -> None:
    root = _project(tmp_path / "p", misspelt=False)
    result = run("check", "--format", fmt, "app", cwd=root)
    assert result.returncode == 1 and "warning" not in result.stderr, result.stderr
    if fmt == "json":
        assert "configuration_warnings" not in json.loads(result.stdout)["summary"]
    elif fmt == "sarif":
        assert "invocations" not in json.loads(result.stdout)["runs"][0]
    else:
        assert result.stdout.startswith("::error file=app/q.sql"), result.stdout
