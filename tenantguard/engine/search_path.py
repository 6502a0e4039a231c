"""Statements that set a search_path under which a name the proof trusts may call another
schema's object: one implementation for the runtime guard (`runtime.session`, which refuses such
a statement outside `unscoped()`) and the static check (TG006), so both give the same answer.

pg_catalog is searched first unless the search_path names it after another schema: then a
schema's `lower()`, `now()` or `=` operator is chosen in place of the built-in the proof reads
(a `SET search_path = public, pg_catalog` makes every later statement of the session run the
schema's functions and operators). A value the guard cannot read (not a plain string literal
given to set_config, an escape string that may spell pg_catalog) is refused too.

Pure: text in, answer out.
"""

from __future__ import annotations

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.sqltext import split_sql

__all__ = [
    "SEARCH_PATH",
    "code_text",
    "search_path_problem",
    "search_path_refused",
    "set_search_paths",
    "statement_sets_bad_search_path",
    "without_comments",
]

# (name, why it matters, what to do)
SEARCH_PATH = (
    "search_path",
    "which decides which schema's function a name calls: a schema named before pg_catalog "
    "turns a built-in the guard trusts (lower(), now() …) into that schema's function",
    "leave pg_catalog out of search_path (it is then searched first), or name it first",
)
# pg_catalog first in a SET or set_config() value (the code text: no blanks, no double quotes)
_CATALOG_FIRST = lazy_pattern(r"(?:search_path(?:=|to)|set_config\('search_path',)'?pg_catalog")
# set_config() of search_path whose value is not one plain string literal
_PATH_NOT_LITERAL = lazy_pattern(r"set_config\('search_path'(?!,'(?:[^'\\]|'')*',)")
# the first word, read in the text without its comments (`SET/**/search_path`)
_FIRST_WORD = lazy_pattern(r"[\s(]*([A-Za-z_]+)")
_SPACE_OR_QUOTE = lazy_pattern(r'[\s"]+')
_QUALIFIER = lazy_pattern(r"pg_catalog\.(?=[a-z_])")
# `SET [LOCAL | SESSION] search_path = | TO value` (code text), and set_config's literal value
_SET_PATH = lazy_pattern(r"set(?:local|session)?search_path(?:=|to)([^;]*)")
_CONFIG_PATH = lazy_pattern(r"set_config\('search_path',(?:'((?:[^'\\]|'')*)',)?")


def search_path_problem(value: str) -> bool:
    """True when a search_path value (or a text that sets one, lower-cased, without blanks
    and double quotes) names pg_catalog after another schema, or cannot be read plainly."""
    if "\\" in value:  # an escape string may spell pg_catalog (E'pg\x5fcatalog')
        return True
    # `pg_catalog.set_config(…)` (pg_dump's form) qualifies a name: no search_path's schema
    # (helper 111: a false alarm on every dump)
    return "pg_catalog" in _CATALOG_FIRST.sub("", _QUALIFIER.sub("", value))


def without_comments(text: str) -> str:
    """The statement with each comment (nested ones whole, as the server reads them) made a
    space: what separates two words for the server."""
    _, comments = split_sql(text)
    if not comments:
        return text
    parts, last = [], 0
    for comment in comments:
        parts.append(text[last : comment.start])
        last = comment.start + len(comment.text)
    parts.append(text[last:])
    return " ".join(parts)


def code_text(bare: str) -> str:
    """The comment-free statement lower-cased, without whitespace and double quotes: the form
    in which a name is found however it is spaced or quoted (`"app" . "tenant_id"`)."""
    return _SPACE_OR_QUOTE.sub("", bare.lower())


def search_path_refused(code: str, word: str) -> bool:
    """Does a statement (its `code_text`, its first word lower-cased) set a search_path naming
    pg_catalog after another schema, or one that cannot be read: `SET [LOCAL | SESSION]
    search_path …`, `set_config('search_path', …)` anywhere in it?"""
    if ("search_path" in code and word == "set") or "set_config('search_path'" in code:
        return search_path_problem(code) or _PATH_NOT_LITERAL.search(code) is not None
    return False


# what a statement's lowered text holds when it may set a search_path: the code text drops
# blanks, double quotes and comments, so only a comment can split the word `search`
SEARCH_PATH_WORDS = ("search", "/*")


def statement_sets_bad_search_path(text: str) -> bool:
    """`search_path_refused` of one statement's text (comments dropped)."""
    lowered = text.lower()
    if not any(word in lowered for word in SEARCH_PATH_WORDS):
        return False
    bare = without_comments(text)
    lead = _FIRST_WORD.match(bare)
    word = lead.group(1).lower() if lead else ""
    return search_path_refused(code_text(bare), word)


def set_search_paths(text: str) -> list[tuple[str, ...] | None]:
    """The search paths a statement sets (`SET search_path`, `set_config('search_path', …)`),
    each a tuple of its schema names lower-cased (None: a value that cannot be read — not a
    plain literal, a quoted name whose case the code text loses); `DEFAULT` sets none (the
    session's own path). Empty for a statement that sets none."""
    if "search" not in text.lower() and "/*" not in text:
        return []
    bare = without_comments(text)
    code = code_text(bare)
    lead = _FIRST_WORD.match(bare)
    found: list[tuple[str, ...] | None] = []
    values: list[str | None] = []
    if lead and lead.group(1).lower() == "set":
        match = _SET_PATH.match(code)
        if match:
            values.append(match.group(1))
    values += [m.group(1) for m in _CONFIG_PATH.finditer(code)]
    for value in values:
        if value is None or '"' in bare.replace('"$user"', "") or "\\" in value:
            found.append(None)
            continue
        names = tuple(n.strip("'") for n in value.replace("''", "'").split(","))
        if names != ("default",):
            found.append(names)
    return found
