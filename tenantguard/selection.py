"""Rule selection as ruff spells it: `select`, `extend_select`, `ignore`, `per_file_ignores`.

A selector is `ALL`, a rule code (`TG001`), a code prefix (`TG0`, `TG1`) or a rule name
(`unpinned-tenant-reference`). A rule is enabled when the most specific selector that matches it
comes from `select`/`extend_select`; at equal specificity `ignore` wins. `per_file_ignores` maps
globs (gitignore syntax, relative to the project root; a pattern without `/` matches a file name
anywhere) to selectors disabled in the files it matches.

Pure: no sqlglot, so a check served from the cache does not import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from tenantguard._patterns import lazy_pattern
from tenantguard._records import frozen_record
from tenantguard.errors import ConfigError

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

__all__ = ["EnabledRules", "RuleSelection", "parse_selectors", "resolve"]

_CODE = lazy_pattern(r"^[A-Z]+\d*$")


def parse_selectors(values: Iterable[str], source: str) -> tuple[str, ...]:
    """Selectors as written (`TG001`, `tg0`, a rule name), upper-cased codes; bad ones raise."""
    parsed: list[str] = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        upper = text.upper()
        if _CODE.match(upper):
            parsed.append(upper)  # a code or prefix; one that selects no rule fails in resolve
        elif re.fullmatch(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+", text.lower()):
            parsed.append(text.lower())  # a rule name, checked against the rules when resolved
        else:
            raise ConfigError(
                f"{source}: {value!r} is not a rule selector "
                "(write ALL, a code such as TG001, a prefix such as TG0, or a rule name)"
            )
    return tuple(parsed)


def _specificity(selector: str, code: str, name: str) -> int | None:
    """How specifically `selector` matches the rule (higher: more specific), or None."""
    if selector == "ALL":
        return 0
    if selector == name:
        return 10
    if code.startswith(selector):
        return len(selector)
    return None


def resolve(
    rules: Sequence[tuple[str, str]],
    select: Sequence[str],
    ignore: Sequence[str],
    source: str = "rule selection",
) -> frozenset[str]:
    """The codes enabled among `rules` ((code, name) pairs) by `select` minus `ignore`."""
    known_names = {name for _, name in rules}
    for selector in (*select, *ignore):
        if selector == "ALL" or selector in known_names:
            continue
        if any(code.startswith(selector) for code, _ in rules):
            continue
        codes = ", ".join(code for code, _ in rules)
        raise ConfigError(f"{source}: {selector!r} selects no rule (rules: {codes})")
    enabled: set[str] = set()
    for code, name in rules:
        chosen = _best(select, code, name)
        dropped = _best(ignore, code, name)
        if chosen is not None and (dropped is None or chosen > dropped):
            enabled.add(code)
    return frozenset(enabled)


def _best(selectors: Sequence[str], code: str, name: str) -> int | None:
    found = [s for s in (_specificity(x, code, name) for x in selectors) if s is not None]
    return max(found, default=None)


@frozen_record
class RuleSelection:
    """The selectors of one run: from configuration, then from the command line."""

    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]]  # default: a new empty dict

    __match_args__ = ("select", "ignore", "per_file_ignores")

    def __init__(
        self,
        select: tuple[str, ...] = ("ALL",),
        ignore: tuple[str, ...] = (),
        per_file_ignores: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "select", select)
        set_field(self, "ignore", ignore)
        set_field(self, "per_file_ignores", {} if per_file_ignores is None else per_file_ignores)

    @property
    def is_default(self) -> bool:
        return self.select == ("ALL",) and not self.ignore and not self.per_file_ignores

    def key(self) -> str:
        """A stable text of the selection, for the cache key."""
        files = sorted((glob, sorted(codes)) for glob, codes in self.per_file_ignores.items())
        return repr((sorted(self.select), sorted(self.ignore), files))

    @cached_property
    def _specs(self) -> list[tuple[GitIgnoreSpec, tuple[str, ...]]]:
        from pathspec import GitIgnoreSpec  # only when per-file ignores are configured

        return [
            (GitIgnoreSpec.from_lines([glob]), codes)
            for glob, codes in self.per_file_ignores.items()
        ]

    def unmatched_patterns(self, relatives: list[str]) -> list[str]:
        """The `per_file_ignores` patterns none of these files (relative to the root) match."""
        return [
            glob
            for (spec, _), glob in zip(self._specs, self.per_file_ignores, strict=True)
            if not any(spec.match_file(r) for r in relatives)
        ]

    def ignored_in(self, relative: str | None) -> tuple[str, ...]:
        """The selectors `per_file_ignores` disables in the file at `relative` (to the root)."""
        if not self.per_file_ignores or relative is None:
            return ()
        found: list[str] = []
        for spec, codes in self._specs:
            if spec.match_file(relative):
                found.extend(codes)
        return tuple(found)


@frozen_record
class EnabledRules:
    """The rules a run reports: `codes` everywhere, less each file's `per_file_ignores`."""

    codes: frozenset[str]
    rules: tuple[tuple[str, str], ...]  # every (code, name)
    selection: RuleSelection

    __match_args__ = ("codes", "rules", "selection")

    def __init__(
        self, codes: frozenset[str], rules: tuple[tuple[str, str], ...], selection: RuleSelection
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "codes", codes)
        set_field(self, "rules", rules)
        set_field(self, "selection", selection)

    @classmethod
    def build(cls, rules: Sequence[tuple[str, str]], selection: RuleSelection) -> EnabledRules:
        codes = resolve(rules, selection.select, selection.ignore)
        for glob, selectors in selection.per_file_ignores.items():
            resolve(rules, (), selectors, f"per_file_ignores {glob!r}")  # each must select a rule
        return cls(codes, tuple(rules), selection)

    @property
    def everything(self) -> bool:
        """Every rule, in every file: nothing to filter."""
        return len(self.codes) == len(self.rules) and not self.selection.per_file_ignores

    def in_file(self, relative: str | None) -> frozenset[str]:
        ignored = self.selection.ignored_in(relative)
        if not ignored:
            return self.codes
        return frozenset(
            code
            for code, name in self.rules
            if code in self.codes and _best(ignored, code, name) is None
        )
