"""`tenantguard demo` end to end, and its message when PostgreSQL is missing."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tenantguard import embedded
from tenantguard.config import load_settings
from tenantguard.demo import run_demo

REPO = Path(__file__).resolve().parent.parent


def test_demo_shows_blocks_and_cleans_up() -> None:
    before = set(os.listdir("/tmp"))
    out = io.StringIO()
    assert run_demo(load_settings(REPO), out) == 0
    text = out.getvalue()
    assert "clinic 1: GET /patients -> Ana (active), Bruno (guest)" in text
    assert "clinic 2: GET /patients -> Carla (guest)" in text
    assert text.count("BLOCKED before reaching PostgreSQL") == 2
    assert "clinic 2's patient is untouched: status = 'guest'" in text
    assert "blocked=2" in text
    leftovers = {d for d in set(os.listdir("/tmp")) - before if d.startswith("tg-")}
    assert not leftovers


def test_demo_without_postgres_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(embedded, "find_postgres_bin", lambda: None)
    assert run_demo(load_settings(REPO), io.StringIO()) == 2
    assert "install PostgreSQL" in capsys.readouterr().err
