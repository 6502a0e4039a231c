"""What a statement does to its session, beyond the rows it reads and writes.

The guard owns the tenant setting (`app.tenant_id`) and relies on the session lexing strings as
it does (`standard_conforming_strings = on`) and checking foreign keys (`session_replication_role
= origin`: the proof takes composite keys as pins). This module tells, for one statement, whether
it

- would change any of them (a *refusal*, outside `unscoped()`): `SET`/`SET LOCAL`/`RESET`
  of the setting, `RESET ALL`, `DISCARD ALL` (however their words are separated), `set_config(…)`
  of it or of a name the guard cannot read, a mention of it anywhere else (a `DO` body, a string
  run as SQL); SQL-level `PREPARE`/
  `EXECUTE` (the statement an `EXECUTE name` runs is out of sight) and `DEALLOCATE` (it frees
  the name of a statement asyncpg binds for a proven text); `U&` escapes (not decoded);
- is *plain*: a query or a transaction statement calling only built-in functions that touch no
  session state, so that the guard's knowledge of the session (the setting's value, the lexer)
  still holds after it and the pool's reset has nothing to undo;
- ends a transaction (`COMMIT`, `ROLLBACK`, `ROLLBACK TO`, …), which reverts a setting made
  inside it.

Pure: text in, `Effects` out (sqlglot through the engine's parser; no asyncpg).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlglot import exp

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.analyze import parse_statement
from tenantguard.engine.pgfunctions import BUILTIN_FUNCTIONS
from tenantguard.engine.relied_settings import RELIED_ON_SETTINGS, SET_NAMES
from tenantguard.engine.search_path import (
    SEARCH_PATH,
    code_text,
    search_path_problem,
    search_path_refused,
    without_comments,
)
from tenantguard.engine.sqltext import BLANK, NAME_CHAR, NAME_START

__all__ = [
    "LEXER_SETTINGS",
    "RELIED_ON_SETTINGS",
    "SAFE_FUNCTIONS",
    "SEARCH_PATH",
    "Effects",
    "changes_role",
    "is_control_statement",
    "script_effects",
    "search_path_problem",
    "statement_effects",
]

LEXER_SETTINGS = ("standard_conforming_strings",)


# settings that send the server's internals to the client as messages: each plan tree (with the
# planner's estimates, from statistics over every tenant's rows) at LOG level, which
# `client_min_messages` below NOTICE lets through (round 19)
_SHOWING_SETTINGS = (
    "debug_print_plan",
    "debug_print_parse",
    "debug_print_rewritten",
    "client_min_messages",
    # auto_explain's (`log_level = notice`, `log_analyze`): each plan, with its actual rows and
    # the rows its filters removed — other tenants' — sent as a NOTICE (round 21)
    "auto_explain.",
)
# `SET client_min_messages TO warning` (a word or a string), `set_config('client_min_messages',
# 'warning', …)` (a string only: a word there is a column, any value)
_MESSAGE_LEVEL = lazy_pattern(r"client_min_messages(?:(?:to|=)'?([\w$]*)|',?'([\w$]*)'(?=,))")
_QUIET_LEVELS = frozenset({"notice", "warning", "error", "fatal", "panic", "info"})


def _shows_log_lines(code: str) -> bool:
    """Does a change of client_min_messages (in the code text) set a level below NOTICE, or one
    the guard cannot read?"""
    mentions = code.count("client_min_messages") - code.count("current_setting('client_min")
    levels = [a or b for a, b in _MESSAGE_LEVEL.findall(code)]
    return len(levels) < mentions or any(level not in _QUIET_LEVELS for level in levels)


@dataclass(frozen=True, slots=True)
class Effects:
    plain: bool = True
    ends_transaction: bool = False
    refusal: str | None = None  # why the statement is refused outside unscoped()
    hint: str = ""
    # it writes rows: a column's default (`serial`'s nextval), a trigger or a rule may advance a
    # sequence, whose currval()/lastval() stay with the session until the pool's reset
    # (DISCARD SEQUENCES) drops them (helper 110: clinic 2 read clinic 1's new patient id)
    writes: bool = False
    # it opens a transaction (`BEGIN`, `START TRANSACTION`): the statements after it, whoever
    # sends them, run inside it — a call kept past the pool's release and awaited after it put
    # the next request's writes in a transaction the pool's reset rolled back (round 31, h31b)
    opens_transaction: bool = False


PLAIN = Effects()
OPENS = Effects(opens_transaction=True)
OPAQUE = Effects(plain=False)
WRITES = Effects(writes=True)

# Built-in functions (names sqlglot keeps as Anonymous) that read or compute and leave no session
# state behind. Anything else (a project's function, set_config, advisory locks, dblink, …) makes
# the statement non-plain: the guard re-reads what it knows of the session before trusting it.
SAFE_FUNCTIONS = frozenset(
    """
    abs age array_agg array_append array_cat array_dims array_length array_lower array_position
    array_positions array_prepend array_remove array_replace array_to_json array_to_string
    array_upper avg bit_length bool_and bool_or btrim cardinality cbrt ceil ceiling char_length
    character_length chr clock_timestamp coalesce concat concat_ws count cume_dist
    current_database current_date current_schema current_setting current_time current_timestamp
    date_bin date_part date_trunc decode degrees dense_rank div encode every exp extract
    first_value floor format gen_random_uuid generate_series generate_subscripts greatest
    initcap isfinite json_agg json_array_elements json_array_elements_text json_array_length
    json_build_array json_build_object json_each json_each_text json_extract_path
    json_extract_path_text json_object_agg json_object_keys json_populate_record
    json_strip_nulls json_typeof jsonb_agg jsonb_array_elements jsonb_array_elements_text
    jsonb_array_length jsonb_build_array jsonb_build_object jsonb_each jsonb_each_text
    jsonb_extract_path jsonb_extract_path_text jsonb_insert jsonb_object_agg jsonb_object_keys
    jsonb_path_exists jsonb_path_match jsonb_path_query jsonb_path_query_array
    jsonb_path_query_first jsonb_populate_record jsonb_pretty jsonb_set jsonb_strip_nulls
    jsonb_typeof justify_days justify_hours justify_interval lag last_value lead least left
    length ln localtime localtimestamp log log10 lower lpad ltrim make_date make_interval
    make_time make_timestamp make_timestamptz max md5 min mod mode now nth_value ntile nullif
    num_nonnulls num_nulls octet_length overlay percent_rank percentile_cont percentile_disc
    pi plainto_tsquery phraseto_tsquery position power quote_ident quote_literal quote_nullable
    radians random rank regexp_count regexp_instr regexp_like regexp_match regexp_matches
    regexp_replace regexp_split_to_array regexp_split_to_table regexp_substr repeat replace
    reverse right round row_number row_to_json rpad rtrim setweight sha224 sha256 sha384 sha512
    sign split_part sqrt starts_with statement_timestamp string_agg string_to_array strpos
    substr substring sum timeofday to_char to_date to_hex to_json to_jsonb to_number
    to_timestamp to_tsquery to_tsvector transaction_timestamp translate trim trunc ts_headline
    ts_rank ts_rank_cd unnest upper websearch_to_tsquery width_bucket
    """.split()  # noqa: SIM905 - a word list reads better as text
)

# sqlglot gives these a typed node in some dialect; in PostgreSQL they are not plain
_TYPED_NOT_PLAIN = frozenset({"set_config", "read_csv"})

_DML = frozenset({"select", "with", "insert", "update", "delete", "merge", "values", "table"})
_TRANSACTION = frozenset({"begin", "start", "savepoint", "release"})
_ENDS_TRANSACTION = frozenset({"commit", "end", "rollback", "abort"})
# the first two words, read in the text without its comments (`RESET/**/ALL`, nested `/* */`)
_LEADING = lazy_pattern(r"[\s(]*([A-Za-z_]+)(?:\s+([A-Za-z_]+))?")
_SET_CONFIG = lazy_pattern(r"set_config\(")
_HARMLESS_SET_CONFIG = lazy_pattern(r"set_config\('([a-z_][a-z0-9_.]*)',")
# the `seed` setting, whose assignment calls setseed() (`SET [SESSION | LOCAL] seed …`, `RESET
# seed`, `set_config('seed', …)`), in `code_text` form (lower case, no blanks nor `"`)
_SETS_SEED = lazy_pattern(r"^\(*(?:re)?set(?:session|local)?seed(?:=|to|;|$)|set_config\('seed',")
# PostgreSQL's blanks, and the characters of a name it does not quote: every character past
# ASCII is a letter to it (`lower\u00a0(` calls the function "lower\u00a0", where Python's `\s`
# and sqlglot see lower and a space)
_BLANK = BLANK
_LETTER = NAME_START  # A-Z, a-z, _ and every character past ASCII
_LETTER_OR_DIGIT = NAME_CHAR  # and 0-9, $
_BARE = rf"{_LETTER}{_LETTER_OR_DIGIT}*"
_QUOTED = r'"(?:[^"]|"")*"'
# a name with a parenthesis after it: a call, unless it is a table's column list or a type's
# modifier after `INTO t`, `AS t`, `WITH t`, `RECURSIVE t`, `::varchar`, `REFERENCES t` or
# `TABLE t`, the name qualified or not — group 1; the called name unquoted (2) or quoted (3),
# qualified or not (a qualifier is the tree's to check). Other column lists (`FROM t x(a)`,
# `) d(a)`, a second CTE's) read as calls: such a statement is not plain, which costs the guard
# a little, never a wrong trust
_CALL = lazy_pattern(
    rf"(?i)(?:(\binto|\bas|\bwith|\brecursive|::|\breferences|\btable){_BLANK}*"
    rf"(?:(?:{_BARE}|{_QUOTED}){_BLANK}*\.{_BLANK}*)*)?"
    rf'(?:(?<!{_LETTER_OR_DIGIT})({_BARE})|"((?:[^"]|"")*)"){_BLANK}*\('
)
# words of PostgreSQL's grammar that a parenthesis follows without making them calls (or that
# are the built-ins' own syntax: CAST, EXTRACT, COALESCE…)
_SYNTAX_WORDS = frozenset(
    """
    all and any array as between by case cast char character check coalesce collate conflict
    constraint cube current_date current_time current_timestamp dec decimal default delete
    distinct do else except exists extract filter float foreign from greatest grouping having in
    insert interval intersect into is join key lateral least like ilike limit localtime
    localtimestamp matched materialized merge national nchar normalize not nothing nullif
    numeric offset on operator or over overlay partition position precision primary recursive
    references returning rollup row select set sets similar some substring table tablesample
    then time timestamp to treat trim union unique update using values varchar varying when
    where window with within xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlparse
    xmlpi xmlroot xmlserialize xmltable zone
    """.split()  # noqa: SIM905 - a word list reads better as text
)
# `SET NAMES x` is `SET client_encoding TO x` (read in the comment-free text)

_SETTING_HINT = (
    "the guard owns the tenant setting: tenant() sets it; run session maintenance inside "
    "`with unscoped(reason):`"
)


_READS = frozenset({"select", "values", "table", "show"})
# `SELECT … INTO t` creates a table (a TEMP one stays on a pooled connection until the pool's
# reset drops it); `INTO` in any other place of such a statement only makes it not plain
_MAY_CREATE = frozenset({"select", "with", "values", "table"})
_INTO = lazy_pattern(r"(?i)(?<![\w$])into(?![\w$])")
_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge)


def _only_reads(word: str, text: str) -> bool:
    """True when the statement can only read (a data-modifying CTE makes a WITH a write)."""
    if word in _READS:
        return True
    if word != "with":
        return False
    tree, _, error, _ = parse_statement(text)
    return tree is not None and error is None and tree.find(*_WRITES) is None


# one implementation with the static check (TG006): engine.search_path
_without_comments = without_comments
_code_text = code_text


def unsafe_calls(bare: str) -> set[str]:
    """The names a text (without comments) calls that are neither safe built-ins nor words of
    PostgreSQL's grammar (unquoted ones folded to lower case), read as `_functions_plain` reads
    a statement's: what makes it not plain. A string holding `name(` counts too (the cost of
    a reset, never a wrong trust)."""
    found: set[str] = set()
    for match in _CALL.finditer(bare):
        if match.group(1) is not None:
            continue
        unquoted = match.group(2)
        if unquoted is not None:
            name = unquoted.lower()
            if name not in SAFE_FUNCTIONS and name not in _SYNTAX_WORDS:
                found.add(name)
        elif (name := match.group(3).replace('""', '"')) not in SAFE_FUNCTIONS:
            found.add(name)
    return found


def schema_calls(calls: Iterable[str], shadowed: frozenset[str] | None = frozenset()) -> bool:
    """True when some of the names a statement calls (`RuntimeVerdict.calls`) is neither a
    PostgreSQL built-in nor a word of its grammar, or is one of the schema's functions named
    like a built-in (`shadowed`; None: the schema's code may run where no name shows it, under
    an operator or a cast): a function of the schema, whose body the guard does not read — it
    may read tenant tables (a PL/pgSQL `all_names()`)."""
    if shadowed is None:
        return True
    return any(
        name in shadowed or (name not in BUILTIN_FUNCTIONS and name not in _SYNTAX_WORDS)
        for name in calls
    )


def _calls_setseed(bare: str) -> bool:
    """Does the text (without comments) call setseed(), spelled as PostgreSQL reads it
    (`"setseed" (…)`, `pg_catalog.setseed(…)`)? A call in a string counts too (a refusal,
    never a wrong trust)."""
    for match in _CALL.finditer(bare):
        if match.group(1) is not None:
            continue
        unquoted = match.group(2)
        name = unquoted.lower() if unquoted is not None else match.group(3).replace('""', '"')
        if name == "setseed":
            return True
    return False


def _functions_plain(text: str, bare: str) -> bool:
    """True when every function the statement calls is a built-in that leaves no state."""
    if "(" not in text:
        return True
    # sqlglot reads many names as its own built-ins and drops how they were spelled: `"Now"()`
    # (the schema's function "Now") as now(), `nvl(x, 1)` or `date_add(…)` (which PostgreSQL
    # does not have: a project's or an extension's function) as typed nodes. So the text is
    # read too: every name called must be a safe built-in, spelled as PostgreSQL names it
    for match in _CALL.finditer(bare):  # the text without its comments
        if match.group(1) is not None:
            continue
        unquoted = match.group(2)
        if unquoted is not None:
            name = unquoted.lower()
            if name not in SAFE_FUNCTIONS and name not in _SYNTAX_WORDS:
                return False
        elif match.group(3).replace('""', '"') not in SAFE_FUNCTIONS:
            return False
    tree, _, error, _ = parse_statement(text)
    if tree is None or error is not None:
        return False
    for node in tree.find_all(exp.Func):
        parent = node.parent
        qualified = isinstance(parent, exp.Dot) and parent.expression is node
        if qualified:
            schema = parent.this  # type: ignore[union-attr]
            if not (
                isinstance(schema, exp.Identifier | exp.Column) and schema.name == "pg_catalog"
            ):
                return False
        if isinstance(node, exp.Anonymous):
            if str(node.name).lower() not in SAFE_FUNCTIONS:
                return False
        elif node.sql_name().lower() in _TYPED_NOT_PLAIN:
            return False
    return True


def statement_effects(text: str, setting: str) -> Effects:
    """The effects of one statement (no `;` separating several) on its session."""
    bare = _without_comments(text)
    lead = _LEADING.match(bare)
    if lead is None:
        return OPAQUE
    word, second = lead.group(1).lower(), (lead.group(2) or "").lower()
    code = _code_text(bare)
    setting = setting.lower()
    if "u&'" in code or 'u&"' in text.lower():
        return Effects(
            False,
            False,
            "the statement spells a name or a string with Unicode escapes (U&…), which the "
            "guard does not decode: it cannot tell what the statement touches",
            "write the name or string plainly",
        )
    if (word == "prepare" and second != "transaction") or word == "execute":
        return Effects(
            False,
            False,
            "SQL-level PREPARE/EXECUTE: the statement an EXECUTE runs was prepared out of the "
            "guard's sight (it may read every tenant, and it outlives the pool's reset)",
            "use `conn.prepare(sql)`: the guard checks the prepared statement's values at each run",
        )
    if word == "deallocate":
        return Effects(
            False,
            False,
            "SQL-level DEALLOCATE drops a prepared statement: asyncpg keeps the statement of "
            "each text it has run under a name on the server (__asyncpg_stmt_N__) and binds "
            "that name whenever the text comes again, so a name dropped and prepared again with "
            "other SQL runs that SQL for the text the guard proved",
            "leave prepared statements to asyncpg (a `conn.prepare()` statement is closed when "
            "it is no longer used); run maintenance inside `with unscoped(reason):`",
        )
    if word == "show":
        return PLAIN
    mentions = code.count(setting)
    reads = code.count(f"current_setting('{setting}'")
    if (
        mentions > reads
        or (word == "reset" and second == "all")
        or (word == "discard" and second == "all")
    ):
        return Effects(
            False, False, f"the statement changes the tenant setting {setting}", _SETTING_HINT
        )
    for relied_on, (why, hint) in RELIED_ON_SETTINGS.items():
        if code.count(relied_on) > code.count(f"current_setting('{relied_on}'") or (
            relied_on == "client_encoding" and SET_NAMES.match(bare)
        ):
            return Effects(False, False, f"the statement changes {relied_on}, {why}", hint)
    for shown in _SHOWING_SETTINGS:
        # (RESET too: the role's or the database's default may be a level that shows them)
        if code.count(shown) > code.count(f"current_setting('{shown}'") and (
            shown != "client_min_messages" or _shows_log_lines(code)
        ):
            return Effects(
                False,
                False,
                f"the statement changes {shown}, which makes the server send its plans or log "
                "lines to the client: planner estimates computed from every tenant's rows",
                f"leave {shown} at its default in requests; read plans in a maintenance "
                "session (`with unscoped(reason):`)",
            )
    if search_path_refused(code, word):
        name, why, hint = SEARCH_PATH
        return Effects(
            False,
            False,
            f"the statement sets a {name} naming pg_catalog after another schema, or one "
            f"the guard cannot read: {name} {why}",
            hint,
        )
    if "pg_settings" in code and not _only_reads(word, text):
        return Effects(
            False,
            False,
            "the statement writes pg_settings, whose update rule calls set_config() for each "
            "row: it can change the tenant setting or standard_conforming_strings without "
            "naming them",
            "read settings with current_setting(); " + _SETTING_HINT,
        )
    calls = len(_SET_CONFIG.findall(code))
    if calls and calls > sum(
        1
        for name in _HARMLESS_SET_CONFIG.findall(code)
        if name != setting and name not in RELIED_ON_SETTINGS
    ):
        return Effects(
            False,
            False,
            "set_config() with a setting name the guard cannot read (not a plain string "
            "literal): it may change the tenant setting",
            "name the setting with a plain string literal; " + _SETTING_HINT,
        )
    if ("setseed" in code and _calls_setseed(bare)) or ("seed" in code and _SETS_SEED.search(code)):
        return Effects(
            False,
            False,
            "setseed() (or the seed setting) seeds the session's random(), which no reset "
            "reseeds (RESET ALL and "
            "DISCARD ALL leave it): the next request on the pooled connection would draw "
            "numbers this one can compute — a token another tenant's request makes with "
            "random() and stores in its rows",
            "leave random() unseeded in requests (gen_random_uuid() or pgcrypto for tokens); "
            "a reproducible sample runs inside `with unscoped(reason):`",
        )
    if word in _DML:
        if word in _MAY_CREATE and _INTO.search(bare):
            return OPAQUE  # `SELECT … INTO [TEMP] t`: a table the pool's reset must drop
        if not _functions_plain(text, bare):
            return OPAQUE
        return PLAIN if _only_reads(word, text) else WRITES
    if word in ("begin", "start"):
        return OPENS
    if word in _TRANSACTION:
        return PLAIN
    if word in _ENDS_TRANSACTION:
        return Effects(plain=True, ends_transaction=True)
    if word == "prepare":  # PREPARE TRANSACTION: the transaction leaves the session
        return Effects(plain=False, ends_transaction=True)
    return OPAQUE


# Session and transaction control the guard reads itself (sqlglot parses some forms only): the
# statement, comments dropped, lower-cased, its blanks made one space. Nothing in it reads rows.
_NAME = r'(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")'
_MODE = (
    r"(?:isolation level (?:serializable|repeatable read|read committed|read uncommitted)"
    r"|read only|read write|(?:not )?deferrable)"
)
_MODES = rf"(?: {_MODE}(?:,? {_MODE})*)?"
_CHAIN = r"(?: (?:work|transaction))?(?: and(?: no)? chain)?"
_CONTROL = lazy_pattern(
    "|".join(
        (
            rf"begin(?: work| transaction)?{_MODES}",
            rf"start transaction{_MODES}",
            rf"(?:commit|end|rollback|abort){_CHAIN}",
            rf"(?:rollback|abort)(?: work| transaction)? to(?: savepoint)? {_NAME}",
            rf"savepoint {_NAME}",
            rf"release(?: savepoint)? {_NAME}",
            rf"listen {_NAME}",
            rf"unlisten (?:{_NAME}|\*)",
            rf"notify {_NAME}(?:, '(?:[^']|'')*')?",
        )
    )
)
_BLANKS = lazy_pattern(f"{BLANK}+")
_COMMA = lazy_pattern(r" ?, ?")


def is_control_statement(text: str) -> bool:
    """True for one transaction or notification control statement (`BEGIN READ ONLY`,
    `RELEASE SAVEPOINT x`, `UNLISTEN *`, `NOTIFY c, 'x'`…), read by the guard itself."""
    text = _without_comments(text)
    normal = _COMMA.sub(", ", _BLANKS.sub(" ", text.lower()).strip().rstrip(";").rstrip())
    return _CONTROL.fullmatch(normal) is not None


def script_effects(texts: Iterable[str], setting: str) -> Effects:
    """The effects of several statements sent together: the first refusal, all plain or not."""
    return combined_effects(statement_effects(text, setting) for text in texts)


# a change of who the session runs as: `SET [SESSION | LOCAL] ROLE`, `RESET ROLE`, `SET
# [SESSION | LOCAL] SESSION AUTHORIZATION`, `RESET SESSION AUTHORIZATION`, set_config('role' or
# 'session_authorization', …), anywhere in the statement (a DO block's too)
_ROLE_CHANGE = lazy_pattern(
    r"(?<![\w$])(?:re)?set\s+(?:(?:session|local)\s+)?(?:\"?role\"?|session\s+authorization)"
    r"(?![\w$.])|set_config\s*\(\s*'(?:role|session_authorization)'"
)


def changes_role(text: str) -> bool:
    """Does the statement change the session's role or session user? A pool whose `init=`
    set a role (`SET ROLE app`, which Row-Level Security contains) relies on it: a request's
    `RESET ROLE` ran its own later statements as the login role (helper h32d)."""
    lowered = text.lower()
    if "role" not in lowered and "authorization" not in lowered:
        return False
    return _ROLE_CHANGE.search(_without_comments(text).lower()) is not None


def combined_effects(each: Iterable[Effects]) -> Effects:
    """The effects of a script from its statements' (`statement_effects`), in order."""
    plain, ends, writes, opens = True, False, False, False
    for effects in each:
        if effects.refusal is not None:
            return effects
        plain = plain and effects.plain
        ends = ends or effects.ends_transaction
        writes = writes or effects.writes
        opens = opens or effects.opens_transaction
    return Effects(plain, ends, writes=writes, opens_transaction=opens)
