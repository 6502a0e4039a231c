"""The pre-commit hook as users run it: pre-commit itself, on a throwaway git repository that
takes this repository (at a commit) as its hook source. pre-commit installs the hook's package
into an environment of its own, from the registry, as it would for any user."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
    )


@pytest.fixture(scope="module")
def hook_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This repository's working tree as a git repository of its own, committed: pre-commit
    clones the hook source at a `rev`, so the code under test must be in a commit."""
    source = tmp_path_factory.mktemp("hook-source")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    git(source, "init", "-q")
    git(source, "add", "-A")
    git(source, "commit", "-q", "-m", "hook source")
    return source, git(source, "rev-parse", "HEAD").stdout.strip()


def test_hook_from_a_commit_rev_blocks_a_leak_and_accepts_clean_and_excluded_files(
    tmp_path: Path, hook_source: tuple[Path, str]
) -> None:
    source, rev = hook_source
    app = tmp_path / "app"
    app.mkdir()
    git(app, "init", "-q")
    (app / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n      - id: tenantguard\n",
        encoding="utf-8",
    )
    (app / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["patients"]\nexclude = ["legacy/**"]\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    pre_commit = [sys.executable, "-m", "pre_commit"]
    subprocess.run([*pre_commit, "install"], cwd=app, env=env, check=True, capture_output=True)
    git(app, "add", ".pre-commit-config.yaml", "pyproject.toml")
    (app / "handlers.py").write_text(
        'async def find(conn, phone):\n    return await conn.fetch("SELECT * FROM patients WHERE phone = $1", phone)\n',
        encoding="utf-8",
    )
    git(app, "add", "handlers.py")
    blocked = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-m", "leak"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert blocked.returncode != 0, blocked.stdout + blocked.stderr
    said = blocked.stdout + blocked.stderr  # git shows a hook's output on either
    assert "handlers.py:2:44: TG001 patients in the SELECT statement is not pinned" in said, said
    assert git(app, "rev-parse", "--verify", "HEAD", check=False).returncode != 0  # no commit

    (app / "handlers.py").write_text(
        "async def find(conn, tenant, phone):\n"
        '    return await conn.fetch("SELECT * FROM patients WHERE tenant_id = $1 AND phone = $2", tenant, phone)\n',
        encoding="utf-8",
    )
    # a leaky file under `exclude`, named by pre-commit: --force-exclude keeps it out
    (app / "legacy").mkdir()
    (app / "legacy" / "old.sql").write_text("SELECT * FROM patients;\n", encoding="utf-8")
    git(app, "add", "handlers.py", "legacy/old.sql")
    accepted = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-m", "clean"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    said = accepted.stdout + accepted.stderr
    assert "tenantguard (tenant isolation of SQL)" in said and "Passed" in said, said

    # adopting on existing code, as README says: today's findings in a baseline, given to the
    # hook as `args`; the old leak is accepted, a new one is still blocked
    (app / "reports.py").write_text(
        'async def everyone(conn):\n    return await conn.fetch("SELECT * FROM patients")\n',
        encoding="utf-8",
    )
    subprocess.run(
        [sys.executable, "-m", "tenantguard.cli", "check", "--write-baseline", "baseline.json"],
        cwd=app,
        check=True,
        capture_output=True,
    )
    (app / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n      - id: tenantguard\n"
        "        args: [--baseline, baseline.json]\n",
        encoding="utf-8",
    )
    git(app, "add", "reports.py", "baseline.json", ".pre-commit-config.yaml")
    commit = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-m"]
    kept = subprocess.run(
        [*commit, "baseline"], cwd=app, env=env, capture_output=True, text=True, timeout=600
    )
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert '"path": "reports.py"' in (app / "baseline.json").read_text(encoding="utf-8")
    (app / "more.py").write_text(
        'async def all_of_them(conn):\n    return await conn.fetch("SELECT id FROM patients")\n',
        encoding="utf-8",
    )
    git(app, "add", "more.py")
    new = subprocess.run(
        [*commit, "new leak"], cwd=app, env=env, capture_output=True, text=True, timeout=600
    )
    assert new.returncode != 0
    assert "more.py:2:45: TG001" in new.stdout + new.stderr, new.stdout + new.stderr
