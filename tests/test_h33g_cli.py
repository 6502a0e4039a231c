"""A newcomer's and a hostile user's configuration and command line (h33g): the real
`tenantguard` command in a subprocess in a temporary tree; misconfiguration fails closed with one
clear message, a configured tree is checked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TENANTGUARD = shutil.which("tenantguard", path=os.path.dirname(sys.executable))
FORMATS = ["text", "json", "sarif", "github", "concise"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert TENANTGUARD is not None
    result = subprocess.run(
        [TENANTGUARD, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def monorepo(root: Path, *, loose: bool) -> Path:
    """Two services, each with its own tenantguard.toml and schema, and no configuration at
    the root; `loose` adds a SQL file that no service's configuration covers."""
    write(root / "svc_a/db/s.sql", "CREATE TABLE notes (id int, tenant_id int);\n")
    write(root / "svc_a/tenantguard.toml", 'schema_paths = ["db"]\n')
    write(root / "svc_a/app/q.sql", "SELECT * FROM notes;\n")
    write(root / "svc_b/db/s.sql", "CREATE TABLE items (id int, org_id int);\n")
    write(root / "svc_b/tenantguard.toml", 'schema_paths = ["db"]\ntenant_column = "org_id"\n')
    write(root / "svc_b/app/q.sql", "SELECT * FROM items;\n")
    if loose:
        write(root / "tools/q.sql", "SELECT * FROM items;\n")
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_monorepo_root_without_configuration_checks_its_services(
    tmp_path: Path, fmt: str
) -> None:
    """`tenantguard check` at the root of a monorepo whose every file belongs to a service with
    its own configuration checks each with its own (README, Configuration), as ruff does: the
    root's missing configuration governs no file and is no error. It was exit 2, "no tenant
    tables … [no configuration file found from <root> upward]", in every format."""
    root = monorepo(tmp_path / "mono", loose=False)
    result = run("check", "--no-cache", "--format", fmt, cwd=root)
    assert result.returncode == 1, result.stderr
    assert "configuration error" not in result.stderr
    if fmt == "json":
        findings = json.loads(result.stdout)["findings"]
        assert sorted((f["path"], f["rule"]) for f in findings) == [
            ("svc_a/app/q.sql", "TG001"),
            ("svc_b/app/q.sql", "TG001"),
        ]
    else:
        assert "svc_a/app/q.sql" in result.stdout and "svc_b/app/q.sql" in result.stdout


def test_a_monorepo_file_no_configuration_covers_still_fails_closed(tmp_path: Path) -> None:
    """The twin: a file outside every service (tools/q.sql), under a root with no
    configuration, has no tenant table to be proven against: exit 2, not a pass."""
    root = monorepo(tmp_path / "mono", loose=True)
    result = run("check", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 2
    assert "no tenant tables" in result.stderr
    assert json.loads(result.stdout)["error"]["kind"] == "configuration"
