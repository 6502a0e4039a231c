"""A hostile user's command line, cache and configuration after h33g's changes (h33o): the real
`tenantguard` command in a subprocess in a temporary tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TENANTGUARD = shutil.which("tenantguard", path=os.path.dirname(sys.executable))


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    assert TENANTGUARD is not None
    result = subprocess.run(
        [TENANTGUARD, *args],
        cwd=cwd,
        capture_output=True,
        timeout=120,
        env=env,
        input=input,
    )
    out = result.stdout.decode("utf-8", "replace")
    err = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out + err
    return subprocess.CompletedProcess(result.args, result.returncode, out, err)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def configured(root: Path, extra: str = "") -> Path:
    write(root / "db/s.sql", "CREATE TABLE notes (id int, tenant_id int);\n")
    write(root / "app/q.sql", "SELECT * FROM notes;\n")
    write(root / "pyproject.toml", f'[tool.tenantguard]\nschema_paths = ["db"]\n{extra}')
    return root


def test_tenantguard_cache_dir_moves_every_cache_file(tmp_path: Path) -> None:
    """TENANTGUARD_CACHE_DIR moved the check cache's key files and verdict store, but the
    schema and policy caches (`schema-*.json`, `policy-*.json`) were still written into the
    project's `.tenantguard_cache/`: a read-only checkout, or a CI cache keyed on the variable,
    got a directory in the project anyway. One rule for every cache file."""
    root = configured(tmp_path / "p")
    shared = tmp_path / "shared"
    env = {**os.environ, "TENANTGUARD_CACHE_DIR": str(shared)}
    result = run("check", "app", cwd=root, env=env)
    assert result.returncode == 1, result.stderr
    assert not (root / ".tenantguard_cache").exists()
    names = sorted(p.name for p in shared.iterdir())
    assert any(n.startswith("schema-") for n in names), names
    assert any(n.startswith("policy-") for n in names), names
    again = run("check", "app", cwd=root, env=env)
    assert again.returncode == 1 and again.stdout == result.stdout
    assert not (root / ".tenantguard_cache").exists()
