"""Start-up: no regular expression of the package spans a wide range of code points.

Python's regex compiler lists a character class's range one code point at a time when it must
case-fold it (IGNORECASE) and builds a large bitmap otherwise: `[A-Za-z_\\x80-\\U0010ffff]` took
63 ms to compile under IGNORECASE, a fifth of `tenantguard check` of one small file in a fresh
process (pre-commit's case, issue 16), and ~10 ms without it. The characters of a name are
written as the ASCII ones they leave out (`sqltext.NAME_START`, `NAME_CHAR`), which compiles
at once and matches the same characters. (A structural check, not a timed one: the patterns
themselves are read.)
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from re import _parser as sre_parse  # type: ignore[attr-defined]

import pytest

import tenantguard
from tenantguard._patterns import is_pattern, lazy_pattern
from tenantguard.engine.sqltext import NAME_CHAR, NAME_START

WIDE = 0x1000  # code points: no class of the package's needs more than ASCII plus a few


def _modules() -> list[str]:
    names = []
    for module in pkgutil.walk_packages(tenantguard.__path__, "tenantguard."):
        if module.name.endswith("__main__"):
            continue
        names.append(module.name)
    return names


def _wide_ranges(parsed: object) -> list[tuple[int, int]]:
    """The ranges wider than WIDE anywhere in a parsed pattern."""
    found: list[tuple[int, int]] = []
    stack = [parsed]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list) or type(item).__name__ == "SubPattern":
            items = list(item.data) if type(item).__name__ == "SubPattern" else list(item)  # type: ignore[attr-defined]
            if (
                len(items) == 2
                and str(items[0]) == "RANGE"
                and isinstance(items[1], tuple)
                and items[1][1] - items[1][0] > WIDE
            ):
                found.append(items[1])
            stack.extend(items)
    return found


def _patterns() -> list[tuple[str, str, re.Pattern[str]]]:
    patterns = []
    for name in _modules():
        try:
            module = importlib.import_module(name)
        except ImportError:  # an extra's module (asyncpg, redis) not installed here
            continue
        for attribute, value in vars(module).items():
            if is_pattern(value) and isinstance(value.pattern, str):  # compiles a lazy one
                patterns.append((name, attribute, value))
    return patterns


def test_the_checker_finds_a_wide_range() -> None:
    assert _wide_ranges(sre_parse.parse(r"[A-Za-z_\x80-\U0010ffff]+", re.IGNORECASE))
    assert not _wide_ranges(sre_parse.parse(rf"{NAME_START}{NAME_CHAR}*", re.IGNORECASE))


def test_name_classes_match_what_the_wide_ones_did() -> None:
    wide_start = re.compile(r"[A-Za-z_\x80-\U0010ffff]", re.IGNORECASE)
    wide_char = re.compile(r"[\w$\x80-\U0010ffff]", re.IGNORECASE)
    start, char = re.compile(NAME_START, re.IGNORECASE), re.compile(NAME_CHAR, re.IGNORECASE)
    samples = [chr(c) for c in range(0x300)] + ["€", "\u00a0", "\u212a", "\u017f", "\U0001f600"]
    for c in samples:
        assert bool(wide_start.fullmatch(c)) == bool(start.fullmatch(c)), hex(ord(c))
        assert bool(wide_char.fullmatch(c)) == bool(char.fullmatch(c)), hex(ord(c))


@pytest.mark.parametrize(
    ("module", "attribute", "pattern"),
    [pytest.param(*p, id=f"{p[0]}.{p[1]}") for p in _patterns()],
)
def test_no_pattern_spans_a_wide_range(
    module: str, attribute: str, pattern: re.Pattern[str]
) -> None:
    wide = _wide_ranges(sre_parse.parse(pattern.pattern, pattern.flags))
    assert not wide, (
        f"{module}.{attribute} has a character range of {len(wide)} wide span(s) "
        f"({', '.join(f'{lo:#x}-{hi:#x}' for lo, hi in wide)}): write the class as the ASCII "
        "characters it leaves out (sqltext.NAME_START, NAME_CHAR)"
    )


def test_the_package_finds_most_of_its_patterns() -> None:
    """The scan above reads module-level patterns, compiled or lazy: it sees them all."""
    assert len(_patterns()) >= 200


def test_a_lazy_pattern_compiles_on_first_use_and_behaves_as_compiled() -> None:
    lazy = lazy_pattern(r"(?P<word>[a-z]+)\s*=\s*(\d+)", re.IGNORECASE)
    assert "search" not in vars(lazy)  # nothing compiled yet
    compiled = re.compile(r"(?P<word>[a-z]+)\s*=\s*(\d+)", re.IGNORECASE)
    text = "a = 1, Tenant_ID=2; x=y"
    assert lazy.search(text).group(0) == compiled.search(text).group(0)  # type: ignore[union-attr]
    assert "search" in vars(lazy)  # compiled once, its methods kept
    assert lazy.findall(text) == compiled.findall(text)
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in compiled.finditer(text)]
    assert lazy.sub("_", text) == compiled.sub("_", text)
    assert lazy.split(text) == compiled.split(text)
    assert lazy.fullmatch("ab = 3") is not None and lazy.match(" ab=3") is None
    assert (lazy.pattern, lazy.flags, lazy.groups) == (compiled.pattern, compiled.flags, 2)
    assert lazy.groupindex == {"word": 1}
    assert lazy_pattern(rb"\d+").findall(b"a1b22") == [b"1", b"22"]
    with pytest.raises(AttributeError):
        lazy.no_such_attribute  # noqa: B018
    with pytest.raises(re.error):
        lazy_pattern("(unclosed").search("x")  # a bad pattern fails where it is used
