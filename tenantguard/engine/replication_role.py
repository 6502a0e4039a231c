"""Statements that turn foreign keys off: `session_replication_role = replica` makes the server
skip every trigger but those made ENABLE REPLICA or ALWAYS, the keys' among them, so a row
written then may point at another tenant's row (tenant 1's invoice naming tenant 2's customer),
and every pin the proof takes through a composite key (`a.b_id = b.id`) reads that row later.
`origin` (the default) and `local` (it skips only the ENABLE REPLICA triggers, which origin
skips too) leave the keys on.

The static check (TG006) flags such a statement in application code, as the runtime guard
refuses it (`runtime.session`, which refuses any change of the setting); the schema sources'
own are read by `sources.schema` (no key pins after one). A value the analyzer cannot read (a
parameter, an escape string, set_config() of a name that is not a plain literal) is flagged
too. Pure: text in, answer out.
"""

from __future__ import annotations

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.search_path import without_comments

__all__ = ["REPLICATION_ROLE", "statement_turns_off_keys"]

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


def statement_turns_off_keys(text: str) -> bool:
    """Does one statement (its text, comments and all) set session_replication_role to
    anything but origin or local, or to a value the analyzer cannot read?"""
    lowered = text.lower()
    if not any(word in lowered for word in ("replication", "set_config", "pg_settings", "/*")):
        return False
    code = _BLANKS.sub(" ", without_comments(text).lower().replace('"', ""))
    if _PG_SETTINGS_WRITE.search(code):
        return True
    for match in _SET_VALUE.finditer(code):
        quote, value = match.groups()
        end = match.end()
        whole = end == len(code) or not (code[end].isalnum() or code[end] in "_$")
        if not (whole and _keys_on(quote, value, bare_word=True)):
            return True
    for match in _SET_CONFIG.finditer(code):
        name, quote, value = match.groups()
        if name is None:  # a name that is not a plain string literal: it may be this one
            return True
        if name == "session_replication_role":
            end = match.end()
            closed = quote == "'" and code[end : end + 1] == "'"
            if not (closed and _keys_on(quote, value, bare_word=False)):
                return True
    return False
