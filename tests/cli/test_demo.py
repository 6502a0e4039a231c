"""`tenantguard demo` end to end, from anywhere, and its message when PostgreSQL is missing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tenantguard import embedded
from tenantguard.demo import demo_policy, run_demo


def test_demo_shows_blocks_and_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # the directories this run creates, recorded (others' tg-* directories in /tmp come and go)
    created: list[str] = []
    make = tempfile.mkdtemp

    def recording(*args: Any, **kwargs: Any) -> str:
        path = make(*args, **kwargs)
        created.append(path)
        return path

    monkeypatch.setattr(tempfile, "mkdtemp", recording)
    out = io.StringIO()
    assert run_demo(out) == 0
    text = out.getvalue()
    assert "clinic 1: GET /patients -> Ana (active), Bruno (guest)" in text
    assert "clinic 2: GET /patients -> Carla (guest)" in text
    assert text.count("BLOCKED before reaching PostgreSQL") == 2
    assert "clinic 2's patient is untouched: status = 'guest'" in text
    assert "blocked=2" in text
    assert any(os.path.basename(p).startswith("tg-") for p in created)  # the cluster's, at least
    assert [p for p in created if os.path.exists(p)] == []


def test_demo_runs_from_another_directory_whatever_its_configuration(tmp_path: Path) -> None:
    """From a project of its own (another schema, a configuration with other tenant tables)
    the demo still runs on the schema shipped in the package: no patches of that project are
    applied, nothing there is read."""
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "0001.sql").write_text("CREATE TABLE other (x int);\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["other"]\npatch_dir = "patches"\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "tenantguard", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "clinic 2's patient is untouched: status = 'guest'" in run.stdout
    assert "internal error" not in run.stderr


def test_demo_policy_comes_from_the_packaged_schema() -> None:
    policy = demo_policy()
    assert set(policy.tenant_tables) == {"patients", "chat_messages"}


def test_demo_without_postgres_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(embedded, "find_postgres_bin", lambda: None)
    assert run_demo(io.StringIO()) == 2
    assert "install PostgreSQL" in capsys.readouterr().err
