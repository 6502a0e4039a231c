"""TG006's substring screen (`_may_hint`) answers as one test per hint would, whatever its
gates: a gate only decides which hints are looked for, never what is found (h41R)."""

from __future__ import annotations

from tenantguard.engine.rules import tg006_unprovable_statement as tg006
from tests.conftest import read_cases


def _naive(lowered: str) -> bool:
    return any(hint in lowered for hint in tg006._HINTS)


def _texts(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


def test_every_hint_is_found_in_any_surrounding() -> None:
    for hint in tg006._HINTS:
        for text in (hint, f"select {hint}(x) from t", f"select a.x{hint}y from t a"):
            assert tg006._may_hint(text), text


def test_the_screen_answers_as_one_test_per_hint() -> None:
    texts = [t.lower() for t in _texts(read_cases("rules.yaml"))]
    assert len(texts) > 1000
    differ = [t for t in texts if tg006._may_hint(t) != _naive(t)]
    assert differ == []
