"""Pre-commit hook, SARIF, baselines, and large Python inputs."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tenantguard.cli import main

REPO = Path(__file__).resolve().parent.parent.parent
POLICY = ["--isolated", "--tenant-tables", "patients,appointments"]


def test_pre_commit_hook_runs_like_pre_commit(tmp_path: Path) -> None:
    """pre-commit runs `entry` with the staged file names appended, in the repository root."""
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "tenantguard")
    assert set(hook["types_or"]) == {"python", "sql", "toml"}  # toml: the configuration (h36H)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["patients"]\n', encoding="utf-8"
    )
    (tmp_path / "good.sql").write_text(
        "SELECT * FROM patients WHERE tenant_id = $1;\n", encoding="utf-8"
    )
    (tmp_path / "bad.py").write_text(
        'async def f(c):\n    await c.fetch("SELECT * FROM patients")\n', encoding="utf-8"
    )
    entry = shlex.split(hook["entry"])
    executable = str(Path(sys.executable).parent / entry[0])
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    clean = subprocess.run(
        [executable, *entry[1:], "good.sql"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    dirty = subprocess.run(
        [executable, *entry[1:], "good.sql", "bad.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert dirty.returncode == 1
    assert dirty.stdout.startswith(
        "bad.py:2:34: TG001 patients in the SELECT statement is not pinned"
    )


def test_sarif_validates_against_the_2_1_0_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.sql").write_text("SELECT * FROM patients;\nSELECT (1;\n", encoding="utf-8")
    (tmp_path / "b.py").write_text(
        "async def f(c, q):\n    await c.fetch(g(q))\n", encoding="utf-8"
    )
    code = main(["check", *POLICY, "--format", "sarif", str(tmp_path)])
    sarif = json.loads(capsys.readouterr().out)
    schema = json.loads(
        (REPO / "tests" / "fixtures" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
    )
    jsonschema.validate(sarif, schema)
    assert code == 1
    run = sarif["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert {"TG001", "TG006", "TG009"} <= set(rules)
    assert "## Use instead" in rules["TG001"]["help"]["markdown"]
    results = {
        (r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in run["results"]
    }
    assert results == {("TG001", "error", 1), ("TG006", "warning", 2), ("TG009", "warning", 2)}
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_baseline_reports_only_new_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("q.sql").write_text(
        "SELECT * FROM patients;\nSELECT * FROM appointments;\n", encoding="utf-8"
    )
    assert main(["check", *POLICY, "--write-baseline", "baseline.json", "q.sql"]) == 0
    capsys.readouterr()
    assert len(json.loads(Path("baseline.json").read_text())["findings"]) == 2
    # edits elsewhere move the lines: the baseline still holds
    Path("q.sql").write_text(
        "-- header\n\nSELECT * FROM patients;\nSELECT 1;\nSELECT * FROM appointments;\n",
        encoding="utf-8",
    )
    assert main(["check", *POLICY, "--baseline", "baseline.json", "q.sql"]) == 0
    capsys.readouterr()
    # a new leak, and a second copy of a baselined one, are reported
    Path("q.sql").write_text(
        "SELECT * FROM patients;\nSELECT * FROM appointments;\nSELECT * FROM patients;\nDELETE FROM patients;\n",
        encoding="utf-8",
    )
    assert main(["check", *POLICY, "--baseline", "baseline.json", "--format", "json", "q.sql"]) == 1
    lines = sorted(f["line"] for f in json.loads(capsys.readouterr().out)["findings"])
    assert len(lines) == 2 and 4 in lines
    Path("bad.json").write_text("{}", encoding="utf-8")
    assert main(["check", *POLICY, "--baseline", "bad.json", "q.sql"]) == 2
    assert "not a tenantguard baseline" in capsys.readouterr().err


def test_binary_and_latin1_python_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bin.py").write_bytes(b"\x00\x01import os")
    (tmp_path / "latin.py").write_bytes(
        "# caf\xe9\nx = 'SELECT * FROM patients'\n".encode("latin-1")
    )
    (tmp_path / "ok.py").write_text(
        'async def f(c):\n    await c.fetch("SELECT * FROM appointments")\n', encoding="utf-8"
    )
    code = main(["check", *POLICY, "--format", "json", str(tmp_path)])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    got = sorted((Path(f["path"]).name, f["rule"], f["line"]) for f in findings)
    assert got == [("bin.py", "TG006", 1), ("latin.py", "TG006", 1), ("ok.py", "TG001", 2)]


def test_50000_line_module_and_1_mb_string(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["import asyncpg", "", "async def f(conn, t):"]
    lines += [f"    x{i} = {i}" for i in range(50_000)]
    lines += ['    await conn.fetch("SELECT * FROM patients")']
    (tmp_path / "long.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    big = "SELECT * FROM patients WHERE tenant_id = $1 AND note = '" + "x" * (1024 * 1024) + "'"
    (tmp_path / "big.py").write_text(
        f"async def g(conn):\n    await conn.fetch({big!r}, 1)\n    await conn.fetch('SELECT * FROM appointments')\n",
        encoding="utf-8",
    )
    code = main(["check", *POLICY, "--format", "json", str(tmp_path)])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert sorted((Path(f["path"]).name, f["line"]) for f in findings) == [
        ("big.py", 3),
        ("long.py", 50_004),
    ]


def test_json_report_is_one_document_with_every_field() -> None:
    from tenantguard.engine.findings import Finding, Severity
    from tenantguard.report import render_json

    tricky = Finding(
        "TG001",
        "unpinned-tenant-reference",
        Severity.ERROR,
        'quote " backslash \\ newline \n tab \t ñ 🦷',
        "help with </script> and \u2028",
        3,
        7,
        4,
        9,
        path="dir/naïve file.py",
    )
    warning = Finding("TG006", "unprovable-statement", Severity.WARNING, "m", "h", path="a.sql")
    data = json.loads(render_json([tricky, warning], 2, 5))
    assert data["summary"] == {
        "files": 2,
        "statements": 5,
        "errors": 1,
        "warnings": 1,
        "schema_statements": 0,
        "tenant_statements": None,  # not known: no run counted them
        "hidden_by_baseline": 0,
        "rules_left_out": [],
    }
    assert data["findings"][0] == {
        "path": "dir/naïve file.py",
        "line": 3,
        "column": 7,
        "end_line": 4,
        "end_column": 9,
        "rule": "TG001",
        "name": "unpinned-tenant-reference",
        "severity": "error",
        "message": 'quote " backslash \\ newline \n tab \t ñ 🦷',
        "help": "help with </script> and \u2028",
    }
    assert data["findings"][1]["severity"] == "warning"
    assert json.loads(render_json([], 0, 0))["findings"] == []
