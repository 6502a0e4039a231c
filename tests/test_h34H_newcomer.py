"""A newcomer on a fresh machine (h34H, issue 12 item 1): the real `tenantguard` command in a
fresh process on projects laid out as real ones are; misconfiguration exits 2 with one message
that says what to do, in every format, and never passes silently."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TENANTGUARD = shutil.which("tenantguard", path=os.path.dirname(sys.executable))
FORMATS = ["text", "json", "sarif", "github"]


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    assert TENANTGUARD is not None
    result = subprocess.run(
        [TENANTGUARD, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env if env is not None else os.environ.copy(),
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def project(root: Path) -> Path:
    write(root / "db/schema.sql", "CREATE TABLE notes (id int, tenant_id int, body text);\n")
    write(root / "app/q.sql", "SELECT body FROM notes;\n")
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    return root


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("fmt", FORMATS)
def test_tenantguard_cache_dir_naming_a_file_is_a_configuration_error(
    tmp_path: Path, fmt: str
) -> None:
    """TENANTGUARD_CACHE_DIR naming a file: the check ran without a cache and said nothing
    (exit 1, the cache never kept), where `cache_dir` naming a file is exit 2. The variable is
    the same setting: exit 2 in every format, naming the variable."""
    root = project(tmp_path / "p")
    taken = tmp_path / "a-file"
    taken.write_text("mine\n", encoding="utf-8")
    env = {**os.environ, "TENANTGUARD_CACHE_DIR": str(taken)}
    result = run("check", "--format", fmt, "app", cwd=root, env=env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "TENANTGUARD_CACHE_DIR" in result.stderr
    assert result.stderr.count("configuration error") == 1, result.stderr
    assert taken.read_text(encoding="utf-8") == "mine\n"
    if fmt == "json":
        assert json.loads(result.stdout)["error"]["kind"] == "configuration"
    # --no-cache keeps nothing: the variable does not matter then
    assert run("check", "--no-cache", "--format", fmt, "app", cwd=root, env=env).returncode == 1


@pytest.mark.parametrize("where", ["project", "home"])
def test_tenantguard_cache_dir_naming_a_folder_of_other_files_is_refused(
    tmp_path: Path, where: str
) -> None:
    """TENANTGUARD_CACHE_DIR=~ (or the project itself): the cache's key files, verdict store
    and schema and policy caches were written among the user's files (six files in the home
    directory), and its pruning of stale key files runs there. `cache_dir = "."` is refused
    for this; the variable was not checked at all."""
    root = project(tmp_path / "p")
    home = tmp_path / "home"
    write(home / ".bashrc", "# mine\n")
    env = {**os.environ, "HOME": str(home)}
    env["TENANTGUARD_CACHE_DIR"] = "~" if where == "home" else "."
    target = home if where == "home" else root
    before = listing(target)
    for fmt in FORMATS:
        result = run("check", "--format", fmt, "app", cwd=root, env=env)
        assert result.returncode == 2, (fmt, result.stdout, result.stderr)
        assert "TENANTGUARD_CACHE_DIR" in result.stderr, result.stderr
        assert listing(target) == before
    # a folder for the cache alone, made by the cache (missing) or empty, is fine
    for name in ("missing/cache", "empty"):
        env["TENANTGUARD_CACHE_DIR"] = str(tmp_path / name)
        if name == "empty":
            (tmp_path / name).mkdir()
        first = run("check", "app", cwd=root, env=env)
        assert first.returncode == 1, first.stderr
        assert "CACHEDIR.TAG" in listing(tmp_path / name)
        again = run("check", "app", cwd=root, env=env)
        assert again.returncode == 1 and again.stdout == first.stdout, again.stderr
