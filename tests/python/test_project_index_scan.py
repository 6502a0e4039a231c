"""The project index's scan of a file for the names it defines (`def f`, `class C(Base)`) finds
exactly what the line-anchored regular expressions find, on any text (it looks for the keyword
first, then checks that only blanks, or `async`, come before it on its line)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tenantguard.sources.pyflow.scan import (
    _CLASS_BASES,
    _CLASS_LEAD,
    _DEF,
    _DEF_LEAD,
    _at_line_starts,
)

ANCHORED_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)
ANCHORED_CLASS = re.compile(r"^[ \t]*class[ \t]+\w+[ \t]*\(([^)]*)\)", re.MULTILINE)
PIECES = [
    "def ",
    "async ",
    "class ",
    "A",
    "(",
    ")",
    "\n",
    " ",
    "\t",
    "x",
    "def",
    "B,",
    "'class C('",
]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=16).map("".join))
def test_the_scan_finds_what_the_anchored_expressions_find(text: str) -> None:
    assert list(_at_line_starts(_DEF, _DEF_LEAD, text)) == ANCHORED_DEF.findall(text)
    assert list(_at_line_starts(_CLASS_BASES, _CLASS_LEAD, text)) == ANCHORED_CLASS.findall(text)


def test_a_keyword_inside_a_line_is_not_a_definition() -> None:
    text = "x = 'class A(' \nclass B(Base):\n    async def run(self): pass\nundef f\n"
    assert list(_at_line_starts(_DEF, _DEF_LEAD, text)) == ["run"]
    assert list(_at_line_starts(_CLASS_BASES, _CLASS_LEAD, text)) == ["Base"]
