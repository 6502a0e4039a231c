"""The session settings the proof relies on, one list for the static check and the runtime
guard: where the server ends a string (`standard_conforming_strings`), how it reads the bytes
it is sent (`client_encoding`), whether foreign keys are checked (`session_replication_role`)
and the planner's costs that order a scan's conditions (TG013). A statement of application code
that changes one leaves it changed for the session's later statements, which the proof then
reads otherwise than the server does: the runtime guard refuses it (`runtime.session`), and the
static check reports it (TG006; `session_replication_role` by its value: `origin` and `local`
leave the keys on, `statement_turns_off_keys`). Pure: text in, answer out.
"""

from __future__ import annotations

import re

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.search_path import SEARCH_PATH_WORDS, code_text, without_comments
from tenantguard.engine.sqltext import STRING_LITERAL

__all__ = [
    "RELIED_ON_SETTINGS",
    "REPLICATION_ROLE",
    "SET_NAMES",
    "changed_relied_on",
    "statement_turns_off_keys",
]

# the settings whose change breaks what the guard relies on: (why, what to do)
RELIED_ON_SETTINGS = {
    "standard_conforming_strings": (
        "which decides where the server ends a string: the guard would no longer read "
        "statements as the server does",
        "leave standard_conforming_strings on",
    ),
    "client_encoding": (
        "which decides how the server reads the bytes asyncpg sends in UTF-8: in SJIS, GBK "
        "or GB18030 a character swallows the `\\` after it, and a string ends where the "
        "guard did not end it",
        "leave client_encoding at UTF8, asyncpg's",
    ),
    "session_replication_role": (
        "whose `replica` turns off foreign keys and triggers: the proof takes a composite "
        "foreign key (tenant_id, x) as pinning the row it references, which then need not be "
        "the same tenant's",
        "leave session_replication_role at origin (replication tools run unscoped)",
    ),
    # the planner's cost constants (round 30): PostgreSQL evaluates a scan's conditions
    # cheapest first, each function and operator costing its procost times cpu_operator_cost
    # (a SubPlan its plan's cost, of the others too); TG013 places a condition that may fail
    # after the tenant pin by the default costs. At cpu_operator_cost = 0 every condition costs
    # nothing and runs in the order written: `(name IN ('Ana') OR name::int > 0) AND tenant_id
    # = $1` read "invalid input syntax for type integer: "Carla"" (another clinic's patient)
    **dict.fromkeys(
        (
            "cpu_operator_cost",
            "cpu_tuple_cost",
            "cpu_index_tuple_cost",
            "seq_page_cost",
            "random_page_cost",
        ),
        (
            "a cost the planner orders a scan's conditions by: the proof (TG013) places a "
            "condition that may fail after the tenant pin by PostgreSQL's default costs, and at "
            "other costs (every one 0) it runs first, on every tenant's rows, its error showing "
            "their values",
            "leave the planner's cost settings at the server's values in requests (tune them above 0 "
            "in postgresql.conf or for the role: ALTER ROLE … SET)",
        ),
    ),
}

# `SET NAMES 'SJIS'`: client_encoding by its SQL-standard name
SET_NAMES = lazy_pattern(r"[\s(]*set\s+(?:(?:local|session)\s+)?names\b", re.I)
# a statement that sets settings: SET (RESET goes back to the server's value; ALTER ROLE … SET
# is DDL: TG007), set_config(), a write of pg_settings (its rule calls set_config())
_SETTING_WRITE = lazy_pattern(
    r"[\s(]*set\b|.*?\bset_config\s*\(|.*?\b(?:update|into)\s+(?:only\s+)?"
    r"(?:pg_catalog\s*\.\s*)?pg_settings\b",
    re.I | re.S,
)
_WORDS = ("standard_conforming", "client_encoding", "names", "_cost")


def changed_relied_on(text: str) -> tuple[str, str, str] | None:
    """(name, why, what to do) of a setting the proof relies on that one statement sets
    (session_replication_role aside: `statement_turns_off_keys` reads its value); None when it
    sets none. A name given to set_config() that is not a plain literal is that module's."""
    lowered = text.lower()
    if not any(word in lowered for word in _WORDS):
        return None
    bare = without_comments(text)
    if _SETTING_WRITE.match(bare) is None:
        return None
    code = code_text(bare)
    for name, (why, hint) in RELIED_ON_SETTINGS.items():
        if name == "session_replication_role":
            continue
        if code.count(name) > code.count(f"current_setting('{name}'") or (
            name == "client_encoding" and SET_NAMES.match(bare)
        ):
            return name, why, hint
    return None


# (name, why it matters, what to do)
REPLICATION_ROLE = (
    "session_replication_role",
    "whose `replica` makes the server skip the foreign keys' checks: a row written then may "
    "point at another tenant's row, and a pin through a composite key reads that tenant's row",
    "leave session_replication_role at origin in application code; bulk loads that need it "
    "belong in the patch pipeline or a maintenance session (the runtime guard refuses it too)",
)
# in the statement lower-cased, without double quotes, each run of blanks one space: `SET …
# session_replication_role = v` or `TO v` (ALTER ROLE | DATABASE | FUNCTION … SET too), the
# value's quote and first word
_SET_VALUE = lazy_pattern(r"session_replication_role(?: ?=| to(?=[ '])) ?(e?'?)([a-z_]*)")
# the first two arguments of set_config() bound parameters: `$1, $2`
_BOUND_NAME = lazy_pattern(r" ?\$\d+ ?, ?\$\d+(?!\d)")
# set_config( and its first argument when a plain string literal, then the second's
_SET_CONFIG = lazy_pattern(r"set_config ?\((?: ?'((?:[^'\\]|'')*)' ?, ?(e?'?)([a-z_]*))?")
# an UPDATE of pg_settings (its rule calls set_config() for each row), or an INSERT into it
_PG_SETTINGS_WRITE = lazy_pattern(
    r"(?:update(?: only)?|into) (?:pg_catalog ?\. ?)?pg_settings(?![\w$])"
)
_BLANKS = lazy_pattern(r"\s+")
_KEYS_ON = ("origin", "local", "default")


def _keys_on(quote: str, value: str, *, bare_word: bool) -> bool:
    """A value read whole (`origin`, `'local'`; a bare DEFAULT in SET only) that leaves keys on."""
    if quote not in ("", "'"):  # an escape string: E'…' may spell anything
        return False
    return value in _KEYS_ON and (value != "default" or (bare_word and not quote))


_KEYS_WORDS = ("replication", "set_config", "pg_settings", "/*")
# every word statement_sets_bad_search_path, changed_relied_on or statement_turns_off_keys
# looks for first in a statement's lowered text: a text holding none of them is refused by
# none of the three (TG006 tests this, not each of them, on every statement)
SETTING_WORDS = tuple(dict.fromkeys((*SEARCH_PATH_WORDS, *_WORDS, *_KEYS_WORDS)))


def statement_turns_off_keys(text: str) -> bool:
    """Does one statement (its text, comments and all) set session_replication_role to
    anything but origin or local, or to a value the analyzer cannot read?"""
    lowered = text.lower()
    if not any(word in lowered for word in _KEYS_WORDS):
        return False
    code = _BLANKS.sub(" ", without_comments(text).lower().replace('"', ""))
    # where the words stand outside string literals (a catalog query's `'set_config'` is no
    # call); what follows them is read from the text itself, at the same places
    masked = STRING_LITERAL.sub(lambda m: " " * len(m.group()), code)
    if _PG_SETTINGS_WRITE.search(masked):
        return True
    for found in _SET_VALUE.finditer(masked):
        match = _SET_VALUE.match(code, found.start())
        if match is None:
            continue
        quote, value = match.groups()
        end = match.end()
        whole = end == len(code) or not (code[end].isalnum() or code[end] in "_$")
        if not (whole and _keys_on(quote, value, bare_word=True)):
            return True
    for found in _SET_CONFIG.finditer(masked):
        match = _SET_CONFIG.match(code, found.start())
        if match is None:
            continue
        name, quote, value = match.groups()
        if name is None:  # a name that is not a plain string literal: it may be this one
            if _BOUND_NAME.match(code, match.end(0)):
                # but bound parameters' (`set_config($1, $2, false)`): what pg_stat_statements
                # makes of every set_config() an audit reads (the guard's own tenant setting
                # among them), and the runtime guard refuses a name it cannot read at run time
                continue
            return True
        if name == "session_replication_role":
            end = match.end()
            closed = quote == "'" and code[end : end + 1] == "'"
            if not (closed and _keys_on(quote, value, bare_word=False)):
                return True
    return False
