"""Small projects written into a test's directory: a schema, a configuration and files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantguard.cli import main


def write_project(root: Path, schema: str, config: str, files: dict[str, str]) -> None:
    """`schema.sql` and `pyproject.toml` (given), then `files` (a name may hold folders)."""
    for name, text in {"schema.sql": schema, "pyproject.toml": config, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def findings_of_check(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, int, str]]:
    """`tenantguard check .` in `root`, its findings as (path, line, rule), sorted; the exit
    code checked against them (1 with an error, else 0)."""
    monkeypatch.chdir(root)
    code = main(["check", "--no-cache", "--format", "json", "."])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == (1 if any(f["severity"] == "error" for f in findings) else 0)
    return sorted((f["path"], f["line"], f["rule"]) for f in findings)
