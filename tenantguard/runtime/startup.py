"""What a guarded connection checks of its server and session before it trusts its own reading
of statements: the settings it was opened with (the startup packet: `server_settings=`, a DSN's
parameters, `options`) and the ones the server reports (standard_conforming_strings,
client_encoding), which decide whether the server lexes statements as the guard does.
"""

from __future__ import annotations

import asyncpg

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.search_path import set_search_paths
from tenantguard.runtime.session import RELIED_ON_SETTINGS, SEARCH_PATH, search_path_problem

# asyncpg's own get_settings (the guarded one returns a view)
_get_settings = asyncpg.Connection.get_settings

_SPACE_OR_QUOTE = lazy_pattern(r'[\s"]+')


def _reported(connection: asyncpg.Connection, name: str) -> object:
    """A setting the server reports (ParameterStatus), or None."""
    settings = _get_settings(connection)  # asyncpg's own (the guarded one returns a view)
    try:  # its __getattr__ directly: a plain getattr first fails inside, 1 us lost
        return type(settings).__getattr__(settings, name)
    except AttributeError:  # another asyncpg, or not reported (then None: refuse all)
        return getattr(settings, name, None)


# PostgreSQL's names of UTF-8 (`pg_char_to_encoding`: case and punctuation ignored): PgBouncer
# reports the client's own spelling, asyncpg's `utf-8` (h37V: every statement was refused)
_UTF8_NAMES = frozenset({"utf8", "unicode"})
_NOT_ALNUM = lazy_pattern(r"[^a-z0-9]")


def _utf8(encoding: object) -> bool:
    """The reported client_encoding names UTF-8 as PostgreSQL reads encoding names."""
    return encoding == "UTF8" or (
        type(encoding) is str and _NOT_ALNUM.sub("", encoding.lower()) in _UTF8_NAMES
    )


def lexes_standard(connection: asyncpg.Connection) -> bool:
    """True when the server reads the statements asyncpg sends as the guard does: strings
    with standard_conforming_strings on, bytes as UTF-8 (what asyncpg sends the text in)."""
    return _reported(connection, "standard_conforming_strings") == "on" and _utf8(
        _reported(connection, "client_encoding")
    )


def startup_problem(connection: asyncpg.Connection) -> tuple[str, str] | None:
    """A setting the guard relies on (`RELIED_ON_SETTINGS`) that the connection was opened
    with: `server_settings=`, a DSN's query parameters (asyncpg sends both in the startup
    packet, and `pool.set_connect_args()` changes them for the pool's next connections) or
    `options` (command-line switches: `-c name=value`, `--name=value`, `-` read as `_`).
    Not every such setting is reported back (`session_replication_role` is not), so the
    names are read here: one given at all is not trusted, whatever its value; a search_path
    only when it names pg_catalog after another schema (`session.search_path_problem`)."""
    params = getattr(connection, "_params", None)
    settings = getattr(params, "server_settings", None)
    if params is None or (settings is not None and not isinstance(settings, dict)):
        return (
            "the connection's startup settings cannot be read (another asyncpg?)",
            "report this to the tenantguard maintainers",
        )
    relied_on = {**RELIED_ON_SETTINGS, SEARCH_PATH[0]: SEARCH_PATH[1:]}
    for name, value in (settings or {}).items():
        key = str(name).lower().replace("-", "_")
        text = _SPACE_OR_QUOTE.sub("", str(value).lower())
        if key == "options":
            # PostgreSQL splits the switches at blanks, `\` escaping the next character
            text = text.replace("\\", "").replace("-", "_")
            named = [relied for relied in RELIED_ON_SETTINGS if relied in text]
            if "search_path" in text and search_path_problem(text):
                named.append("search_path")
        elif key == "search_path":
            named = [key] if search_path_problem(f"search_path={text}") else []
        else:
            named = [key] if key in RELIED_ON_SETTINGS else []
        if (
            not named
            and "search_path" in key + text
            and _reads_names_elsewhere(connection, key, text)
        ):
            return (
                "the connection was opened with a search_path in its startup settings under "
                "which a name the proof reads as a global table (config `search_path`) may be "
                "another schema's, a tenant table's (h35P)",
                "set config `search_path` to the sessions' path, or do not pass search_path in "
                "server_settings=, the DSN or pool.set_connect_args()",
            )
        if named:
            why, hint = relied_on[named[0]]
            return (
                f"the connection was opened with {named[0]} in its startup settings "
                f"({'options' if key == 'options' else 'server_settings or the DSN'}), {why}",
                f"{hint}: do not pass it in server_settings=, the DSN or pool.set_connect_args()",
            )
    return None


def _reads_names_elsewhere(connection: asyncpg.Connection, key: str, text: str) -> bool:
    """Does a search_path given at startup (`text`: the setting's value lower-cased without
    blanks) read a name the guard's policy holds global (`Policy.global_homes`) in another
    schema? One in `options` (switches the guard does not split) or that cannot be read does."""
    guard = getattr(type(connection), "_tg_guard", None)
    policy = getattr(guard, "policy", None)
    if policy is None or not policy.global_homes:
        return False
    if key != "search_path":
        return True
    paths = set_search_paths(f"SET search_path = {text}")
    return any(policy.read_otherwise(path) for path in paths) or not paths


# the settings the proof relies on that no ParameterStatus reports, read from the session as
# it starts (the server's, the database's and the role's defaults: `server_setting_problem`)
_COSTS = (
    "cpu_operator_cost",
    "cpu_tuple_cost",
    "cpu_index_tuple_cost",
    "seq_page_cost",
    "random_page_cost",
)
SERVER_RELIED_ON = ("session_replication_role", *_COSTS)


def server_setting_problem(values: dict[str, object]) -> tuple[str, str] | None:
    """A setting the proof relies on (`RELIED_ON_SETTINGS`) whose value the session starts
    with breaks what the proof assumes: set for the database or the role (`ALTER DATABASE |
    ROLE … SET`) or in postgresql.conf, it reaches every session unseen by its startup packet
    (`startup_problem`) and by its statements. `session_replication_role` other than origin
    (foreign keys unchecked); a planner cost of 0, at which PostgreSQL evaluates a scan's
    conditions in the order written, a failing one before the tenant pin (h39R: `ALTER
    DATABASE d SET cpu_operator_cost = 0`, and clinic 1's proven read failed with `invalid
    input syntax for type integer: "Carla"`, clinic 2's patient). Tuned costs above 0 keep
    the order by cost the proof relies on: they pass."""
    role = values.get("session_replication_role")
    if role != "origin":
        return (
            f"the session starts with session_replication_role = {role} (set for the "
            f"database or the role, or in postgresql.conf), {RELIED_ON_SETTINGS['session_replication_role'][0]}",
            "ALTER ROLE / ALTER DATABASE … RESET session_replication_role (replication tools "
            "connect unguarded)",
        )
    for name in _COSTS:
        try:
            zero = not float(str(values.get(name))) > 0  # (NaN too)
        except ValueError:
            zero = True
        if zero:
            return (
                f"the session starts with {name} = {values.get(name)} (set for the database "
                f"or the role, or in postgresql.conf), {RELIED_ON_SETTINGS[name][0]}",
                f"ALTER ROLE / ALTER DATABASE … RESET {name}, or tune it above 0",
            )
    return None


def session_problem(connection: asyncpg.Connection) -> tuple[str, str] | None:
    """Why the server would not read statements as the guard does, and what to do."""
    startup = getattr(connection, "_tg_startup", None)
    if startup is not None:
        return startup  # type: ignore[no-any-return]
    if _reported(connection, "standard_conforming_strings") != "on":
        return (
            "standard_conforming_strings is off in this session: the server ends strings "
            "where the guard does not (`'a\\''`)",
            "turn it on for the application's role or database "
            "(ALTER ROLE … SET standard_conforming_strings = on)",
        )
    encoding = _reported(connection, "client_encoding")
    if not _utf8(encoding):
        return (
            f"client_encoding is {encoding} in this session: asyncpg sends statements in "
            "UTF-8, which the server reads in that encoding, where a character may swallow "
            "the `\\` after it and end a string where the guard does not",
            "leave client_encoding at UTF8, asyncpg's (RESET client_encoding)",
        )
    return None
