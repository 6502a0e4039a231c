"""scripts/mutations.py undoes each round-2 fix of the proof and expects the rule cases to
fail. A mutation whose fix's text moved (a refactor, a module split) no longer applies: the
script said so only when run, and 8 of its 30 had gone stale (session 38). Pure and fast:
each mutation's text is in its file exactly once, and the mutated text differs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("mutations", ROOT / "scripts" / "mutations.py")
assert _spec is not None and _spec.loader is not None
mutations = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mutations)


@pytest.mark.parametrize("label, path, old, new", mutations.MUTATIONS, ids=lambda v: str(v)[:40])
def test_each_mutation_still_applies(label: str, path: str, old: str, new: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{label}: the fix's text is not (once) in {path}"
    assert old != new
