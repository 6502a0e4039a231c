"""The pre-commit hook on a commit that changes the schema or the configuration (h36H): the files
the commit leaves alone are judged by the new schema too. pre-commit names the staged files
only, and the hook checked just those: a migration giving `tags` the tenant column committed
while app/tags.py read every account's tags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.test_h34H_newcomer import run, write
from tests.cli.test_precommit import git, hook_source

__all__ = ["hook_source"]  # the fixture, shared with test_precommit.py

CONFIG = (
    '[tool.tenantguard]\ntenant_column = "account_id"\nschema_paths = ["db/migrations"]\n'
    'tenant_root = "accounts"\nglobal_tables = ["accounts"]\nexclude = ["scripts"]\n'
)
TAGS = 'async def tags(conn):\n    return await conn.fetch("SELECT name FROM tags")\n'
TENANT_TAGS = "ALTER TABLE tags ADD COLUMN account_id bigint NOT NULL REFERENCES accounts(id);\n"


def billing(root: Path) -> Path:
    """A service whose `tags` are global (no account_id) and read whole by app/tags.py."""
    write(root / "pyproject.toml", CONFIG)
    write(
        root / "db/migrations/001_init.sql",
        "CREATE TABLE accounts (id bigserial PRIMARY KEY, name text);\n"
        "CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id bigint NOT NULL "
        "REFERENCES accounts(id), number text);\n"
        "CREATE TABLE tags (id bigserial PRIMARY KEY, name text);\n",
    )
    write(root / "app/__init__.py", "")
    write(root / "app/tags.py", TAGS)
    write(
        root / "scripts/dump.py", 'async def d(c):\n    await c.fetch("SELECT * FROM invoices")\n'
    )
    return root


def test_a_named_migration_checks_the_files_it_changes_the_verdict_of(tmp_path: Path) -> None:
    root = billing(tmp_path)
    write(root / "db/migrations/002_tags_per_account.sql", TENANT_TAGS)
    hook = ("check", "--force-exclude", "--check-dependents")
    result = run(*hook, "db/migrations/002_tags_per_account.sql", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "app/tags.py:2:" in result.stdout
    assert "scripts/dump.py" not in result.stdout  # exclude still holds
    assert "db/migrations/002_tags_per_account.sql is a schema source" in result.stderr
    # an application file alone is checked alone, as before
    alone = run(*hook, "app/__init__.py", cwd=root)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert "in 1 file" in alone.stdout
    # and without the flag, a named file is what is checked (the contract of `check PATH`)
    plain = run("check", "db/migrations/002_tags_per_account.sql", cwd=root)
    assert plain.returncode == 0, plain.stdout + plain.stderr


def test_a_named_configuration_checks_the_project_and_other_toml_is_passed_over(
    tmp_path: Path,
) -> None:
    """A commit of pyproject.toml alone (here: the migration committed before with
    `--no-verify`, the configuration next) is the project's check; another tool's .toml that
    pre-commit names beside it is no file to check (it was TG006, not SQL)."""
    root = billing(tmp_path)
    write(root / "db/migrations/002_tags_per_account.sql", TENANT_TAGS)
    write(root / "ruff.toml", "line-length = 100\n")
    hook = ("check", "--force-exclude", "--check-dependents")
    result = run(*hook, "pyproject.toml", "ruff.toml", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "app/tags.py:2:" in result.stdout
    assert "ruff.toml" not in result.stdout
    other = run(*hook, "ruff.toml", cwd=root)
    assert other.returncode == 0, other.stdout + other.stderr
    assert "ruff.toml" not in other.stdout + other.stderr


def test_the_hook_blocks_a_migration_that_makes_an_unchanged_query_leak(
    tmp_path: Path, hook_source: tuple[Path, str]
) -> None:
    source, rev = hook_source
    app = billing(tmp_path / "billing")
    (app / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n      - id: tenantguard\n",
        encoding="utf-8",
    )
    git(app, "init", "-q")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    pre_commit = [sys.executable, "-m", "pre_commit"]
    subprocess.run([*pre_commit, "install"], cwd=app, env=env, check=True, capture_output=True)
    git(app, "add", "-A")
    first = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-m", "init"],
        cwd=app, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr
    write(app / "db/migrations/002_tags_per_account.sql", TENANT_TAGS)
    git(app, "add", "db/migrations/002_tags_per_account.sql")
    # a scratch file left untracked is not the commit's: it does not block it
    write(app / "app/scratch.py", 'async def s(c):\n    await c.fetch("SELECT * FROM invoices")\n')
    blocked = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-m", "tags"],
        cwd=app, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    said = blocked.stdout + blocked.stderr
    assert "app/tags.py:2:47: TG001 tags in the SELECT statement" in said
    assert "scratch.py" not in said
    assert git(app, "log", "--oneline").stdout.count("\n") == 1  # the migration not committed
    # every file: one process (require_serial), each finding said once
    every = subprocess.run(
        [*pre_commit, "run", "--all-files"], cwd=app, env=env, capture_output=True, text=True
    )
    assert every.returncode == 1
    assert (every.stdout + every.stderr).count("app/tags.py:2:47: TG001") == 1
    # the configuration alone, staged: pyproject.toml is the hook's too
    git(app, "reset", "-q")
    (app / "db/migrations/002_tags_per_account.sql").unlink()
    write(app / "pyproject.toml", CONFIG.replace('exclude = ["scripts"]', "exclude = []"))
    git(app, "add", "pyproject.toml")
    config = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-m", "cfg"],
        cwd=app, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert config.returncode == 1, config.stdout + config.stderr
    assert "scripts/dump.py:2:" in config.stdout + config.stderr
