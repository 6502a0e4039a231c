"""The Python reader's cost on big generated modules (session 34, task M): no scan whose time or
memory grows faster than the file. Deterministic measures only (memory traced, matches
compared); timings are benchmarks/pathological.py --python's."""

from __future__ import annotations

import ast
import itertools
import tracemalloc

from tenantguard.sources.pyflow import ProjectIndex, analyze_module, changes, scan, stores


def _peak_traced(run: object) -> int:
    tracemalloc.start()
    try:
        run()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_huge_one_line_string_is_blanked_without_a_stack_per_character() -> None:
    # `TEXT = "…\n…"` of 2 MB: the old pattern (one alternation per character) kept ~120 MB of
    # backtracking stack for a 1 MB literal
    body = "\\n".join(f"word{i % 1000} and some more text, line {i}" for i in range(50_000))
    text = f"TEXT = \"{body}\"\nOTHER = 'a\\'b'  # note\n"
    peak = _peak_traced(lambda: scan._scanned(text + "\n"))
    assert peak < 12 * len(text), peak  # the two texts made, not a stack per character
    blanked, uncommented = scan._scanned(text + "\n")
    assert blanked == 'TEXT = ""\nOTHER = ""   \n\n'
    assert uncommented == text.replace("  # note", "   ") + "\n"


def test_tuple_targets_found_as_before() -> None:
    code = (
        "a.X, b = 1\nx = 1; q.Y, z = f()\nf(a.X, key=1)\na, b == c\n" + '{"k": 1, "v": 2},\n' * 50
    )
    found = [m.group(1) for m in changes._TUPLE_TARGETS.finditer(code)]
    after = [m.group(1) for m in changes._TUPLE_TARGETS_AFTER.finditer(code)]
    assert found == ["a.X, b"]
    assert after == ["q.Y, z"]


def _mutated(source: str) -> frozenset[str]:
    info = analyze_module(source, ast.parse(source), ProjectIndex())
    info.tree = ast.parse(source)
    info._mutated = None
    return stores._mutated(info)


def test_a_collection_changed_through_the_last_of_a_chain_of_aliases() -> None:
    # written so that each alias comes after the one it names: the closure over the pairs is
    # one walk, and every name of the chain is the changed list
    names = [f"A{i}" for i in range(300)]
    source = "A0 = ['SELECT 1']\n" + "".join(f"{b} = {a}\n" for a, b in itertools.pairwise(names))
    source += "A299.append('x')\nB = []\n"
    mutated = _mutated(source)
    assert set(names) <= mutated
    assert "B" not in mutated


def test_a_list_handed_to_a_function_that_changes_it_then_aliased() -> None:
    source = (
        "def widen(cols):\n    cols.append('x')\n"
        "PARTS = ['a']\nALIAS = PARTS\nOTHER = ['b']\nwiden(ALIAS)\n"
    )
    mutated = _mutated(source)
    assert {"PARTS", "ALIAS"} <= mutated
    assert "OTHER" not in mutated


def test_a_parameter_changed_by_a_function_nested_in_the_one_it_is_handed_to() -> None:
    source = (
        "def outer(cols, other):\n"
        "    def inner():\n        cols.append('x')\n        print(other[0])\n"
        "    inner()\n"
        "PARTS = ['a']\nKEPT = ['b']\nouter(PARTS, KEPT)\nouter(other=KEPT, cols=KEPT[:])\n"
    )
    mutated = _mutated(source)
    assert "PARTS" in mutated
    assert "KEPT" not in mutated  # (read only)
