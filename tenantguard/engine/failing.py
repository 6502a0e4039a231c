"""What an expression may raise on a row: the calls and casts whose error shows a value it was
given (`revealing_parts`: a cast to a type that is not text-like, a division, a JSON path, a
date's format…), those that fail on no value (`total_cast`: widenings; `unbounded`: arithmetic
that stays in range, by the operands' types and ranges: `type_of`, `_range`, `_small_for`,
intervals), and those that fail alike on every row (a domain's error of a constant).

Read by TG013 (a condition PostgreSQL may run before the tenant pin tells, by its error, what
another tenant's row holds) and through it by the schema checks. Engine-level knowledge of
PostgreSQL: imports no rule.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Final, TypeGuard

from sqlglot import exp

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.context import Context
from tenantguard.engine.pgfunctions import BUILTIN_FUNCTIONS
from tenantguard.engine.policy import CHEAP_FUNCTION, Policy
from tenantguard.engine.proof import Analysis, Block, SourceKind, Span
from tenantguard.engine.proof.blocks import FAILING_TYPED_CALLS, QUOTING_TYPES
from tenantguard.engine.proof.syntax import identifier_name

SIDE_EFFECTS = frozenset(
    {
        "pg_notify", "set_config", "nextval", "setval", "dblink", "dblink_exec",
        "dblink_send_query", "lo_import", "lo_export", "lo_create", "lo_creat", "lo_unlink",
        "lo_put", "lo_from_bytea", "lowrite", "lo_truncate", "lo_open", "pg_advisory_lock",
        "pg_advisory_lock_shared", "pg_advisory_xact_lock", "pg_advisory_xact_lock_shared",
        "pg_try_advisory_lock", "pg_try_advisory_lock_shared", "pg_try_advisory_xact_lock",
        "pg_try_advisory_xact_lock_shared", "pg_advisory_unlock", "pg_advisory_unlock_shared",
        "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_terminate_backend",
        "pg_cancel_backend", "pg_logical_emit_message", "pg_file_write", "dblink_connect",
        "dblink_connect_u", "dblink_open",
        # the pgsql-http extension: a request per row sends the row out
        "http", "http_get", "http_post", "http_put", "http_patch", "http_delete", "http_head",
        # built-ins that change the server's state (h37A): a replication origin or slot named
        # by a row's value, a statistics reset of a row's oid, a WAL switch or a reload per
        # row, a large object's descriptor moved, adminpack's file writes
        "pg_replication_origin_create", "pg_replication_origin_drop",
        "pg_replication_origin_advance", "pg_replication_origin_session_setup",
        "pg_replication_origin_session_reset", "pg_replication_origin_xact_setup",
        "pg_replication_origin_xact_reset", "pg_create_logical_replication_slot",
        "pg_create_physical_replication_slot", "pg_drop_replication_slot",
        "pg_copy_logical_replication_slot", "pg_copy_physical_replication_slot",
        "pg_replication_slot_advance", "pg_logical_slot_get_changes",
        "pg_logical_slot_get_binary_changes", "pg_create_restore_point", "pg_switch_wal",
        "pg_reload_conf", "pg_rotate_logfile", "pg_rotate_logfile_old", "pg_promote",
        "pg_backup_start", "pg_backup_stop", "pg_wal_replay_pause", "pg_wal_replay_resume",
        "pg_stat_reset", "pg_stat_reset_shared", "pg_stat_reset_single_table_counters",
        "pg_stat_reset_single_function_counters", "pg_stat_reset_slru",
        "pg_stat_reset_replication_slot", "pg_stat_reset_subscription_stats",
        "pg_stat_force_next_flush", "pg_import_system_collations", "brin_summarize_range",
        "brin_summarize_new_values", "brin_desummarize_range", "gin_clean_pending_list",
        "pg_advisory_unlock_all", "pg_log_backend_memory_contexts", "pg_export_snapshot",
        "pg_nextoid", "lo_close", "lo_lseek", "lo_lseek64", "lo_truncate64", "loread",
        "pg_file_unlink", "pg_file_rename", "pg_file_sync",
    }
)  # fmt: skip


# text-like types: a cast to one never fails on a value (a cast from one to any other type
# runs that type's input function, whose error quotes the text)
TEXT_TYPES = frozenset(
    {
        exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR,
        exp.DataType.Type.NAME, exp.DataType.Type.NCHAR, exp.DataType.Type.NVARCHAR,
        exp.DataType.Type.BPCHAR,
    }
)  # fmt: skip
# built-in types that are not text-like: a value cast to one shows no text when cast again
_NONTEXT_TYPES = frozenset(
    getattr(exp.DataType.Type, name)
    for name in """TINYINT SMALLINT INT BIGINT UTINYINT USMALLINT UINT UBIGINT DECIMAL FLOAT
    DOUBLE MONEY SMALLMONEY BOOLEAN DATE DATETIME DATETIME64 TIMESTAMP TIMESTAMPTZ
    TIMESTAMPLTZ TIMESTAMP_S TIMESTAMP_MS TIMESTAMP_NS TIME TIMETZ INTERVAL UUID JSON JSONB
    SERIAL BIGSERIAL SMALLSERIAL INT4RANGE INT8RANGE NUMRANGE DATERANGE TSRANGE TSTZRANGE
    INET""".split()  # noqa: SIM905
    if hasattr(exp.DataType.Type, name)
)
_NO_BODIES: Mapping[str, str] = {}
_NO_COSTS: Mapping[str, float] = {}
# C functions of common extensions that fail on no value of their arguments (pg_trgm's
# similarities, fuzzystrmatch's soundex, uuid-ossp's name-based uuids)
_EXTENSIONS_NEVER_FAILING = frozenset(
    {
        "similarity", "word_similarity", "strict_word_similarity", "show_trgm", "soundex",
        "difference", "uuid_generate_v3", "uuid_generate_v5",
    }
)  # fmt: skip
_POSITIONAL = lazy_pattern(r"\$(\d+)")


# built-ins whose error quotes an argument (a date's text and its format, a time zone's or a
# unit's name, a privilege's relation, a JSON path's item, a setting's name): (the positions of
# the arguments that do, None: every one)
_QUOTING_CALLS: dict[str, tuple[int, ...] | None] = {
    "current_setting": (0,),
    "timezone": (0,),
    "make_date": None,
    "make_time": None,
    "make_timestamp": None,
    "make_timestamptz": None,
    "make_interval": None,
    "convert_from": None,
    "convert": None,
    "jsonb_path_exists": None,
    "jsonb_path_match": None,
    "jsonb_path_query": None,
    "jsonb_path_query_array": None,
    "jsonb_path_query_first": None,
    "to_regtype": None,
    "has_table_privilege": None,
    "has_column_privilege": None,
    "has_schema_privilege": None,
    "has_function_privilege": None,
    "has_database_privilege": None,
    "has_sequence_privilege": None,
    "has_any_column_privilege": None,
    "has_type_privilege": None,
    "has_tablespace_privilege": None,
    "has_foreign_data_wrapper_privilege": None,
    "has_server_privilege": None,
    "has_language_privilege": None,
    "pg_has_role": None,
    # a relation named by text (cast to regclass: "relation "…" does not exist")
    "pg_get_viewdef": (0,),
    "pg_relation_size": (0,),
    "pg_table_size": (0,),
    "pg_total_relation_size": (0,),
    "pg_indexes_size": (0,),
    "pg_relation_filepath": (0,),
    "pg_get_serial_sequence": None,
    "currval": (0,),
}
# calls sqlglot does not know (read by name) whose errors never show the value of an argument
# — a document, a text to compare, an array or a JSON value — but at the positions listed (a
# text search configuration, regular expression flags, a weight): every other such call may
# (a type's name called as a function is a cast: `int4(name)`, `regclass(name)`; an extension
# or a built-in of some other kind: "invalid size: "…"", "unrecognized encoding: "…"")
_NON_QUOTING_CALLS: dict[str, tuple[int, ...]] = {
    **dict.fromkeys(
        """unaccent similarity word_similarity strict_word_similarity show_trgm cardinality
        array_ndims array_dims array_lower array_upper array_replace jsonb_typeof json_typeof
        jsonb_extract_path jsonb_extract_path_text json_extract_path json_extract_path_text
        to_jsonb to_json row_to_json array_to_json jsonb_build_array json_build_array jsonb_strip_nulls json_strip_nulls jsonb_pretty
        jsonb_exists jsonb_exists_any jsonb_exists_all jsonb_contains jsonb_contained
        num_nulls num_nonnulls octet_length bit_length pg_column_size quote_literal
        quote_nullable quote_ident isfinite age ts_rank ts_rank_cd numnode strip length char_length character_length text varchar
        bpchar name int8larger int8smaller int4larger int4smaller textlen texteq textne
        starts_with strpos btrim ltrim rtrim lpad rpad reverse initcap sha224 sha256 sha384
        sha512 md5 hashtext gen_random_uuid uuid_generate_v4 now clock_timestamp
        statement_timestamp transaction_timestamp timeofday random pg_backend_pid
        array_length array_to_string lower upper concat
        concat_ws coalesce nullif greatest least abs ceil ceiling floor round trunc sign
        isempty lower_inf upper_inf lower_inc upper_inc range_merge xml_is_well_formed
        xml_is_well_formed_document xml_is_well_formed_content""".split(),  # noqa: SIM905
        (),
    ),
    # a text search configuration named first (when there are two arguments)
    "to_tsvector": (0,),
    "plainto_tsquery": (0,),
    "phraseto_tsquery": (0,),
    "websearch_to_tsquery": (0,),
    # regular expression flags ("invalid regular expression option: "…"")
    **dict.fromkeys(
        """regexp_match regexp_matches regexp_split_to_array regexp_split_to_table regexp_count
        regexp_instr regexp_like regexp_substr""".split(),  # noqa: SIM905
        (1, 2, 3, 4, 5),  # the pattern too: "invalid regular expression: …"
    ),
    "setweight": (1,),  # "unrecognized weight: "…""
    # the keys: "argument 1: key must not be null" (helper 109)
    "jsonb_build_object": tuple(range(0, 100, 2)),
    "json_build_object": tuple(range(0, 100, 2)),
    "unaccent": (0,),  # a dictionary named first (when there are two arguments)
    # the array: "searching for elements in multidimensional arrays is not supported" (round
    # 24b; array_append, array_prepend, array_position, array_remove, array_cat are typed)
    "array_positions": (0,),
}
_CONFIG_FIRST = frozenset(
    {"to_tsvector", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery", "unaccent"}
)
# PostGIS declares its functions' cost at 10 000 units or more: PostgreSQL evaluates them after
# any pin by a value
_EXPENSIVE_PREFIXES = ("st_", "postgis_", "_st_")
# calls sqlglot knows whose error shows an argument: type names called as functions
# (`date(name)`, `timestamp(name)`: casts), `decode(data, format)` ("invalid hexadecimal digit:
# "…"", "unrecognized encoding: "…""), `to_timestamp(seconds)` ("timestamp out of range: "…""),
# `chr(n)` ("requested character too large for encoding: …")
_TYPED_QUOTING = (
    exp.Date,
    exp.Timestamp,
    exp.Time,
    exp.Interval,
    exp.Decode,
    exp.UnixToTime,
    exp.Chr,
)
# calls sqlglot knows whose arguments but the data ones (`this`, `expression`, `replacement`)
# name an encoding or give regular expression flags, quoted by their errors
_TYPED_CONTROL = (
    exp.Length, exp.RegexpLike, exp.RegexpILike, exp.RegexpReplace, exp.RegexpCount,
    exp.RegexpSubstr, exp.RegexpInstr, exp.RegexpExtract, exp.RegexpExtractAll, exp.RegexpSplit,
)  # fmt: skip
# (a regular expression's pattern is no data: "invalid regular expression: …", helper 109)
_TYPED_DATA = frozenset({"this", "replacement"})
# type names PostgreSQL reads as a cast when called as a function of one argument: a value of a
# type that is not text cast so shows no text (`date(created_at)`)
_TYPE_CALLS = frozenset(
    """int2 int4 int8 smallint integer bigint float4 float8 numeric decimal bool boolean json
    jsonb xml inet cidr macaddr macaddr8 money regclass regtype regproc regprocedure regoper
    regoperator regnamespace regrole regconfig regdictionary regcollation oid tsvector tsquery
    timestamptz timetz bit varbit point line lseg box path polygon circle""".split()  # noqa: SIM905
)


# the units PostgreSQL knows (sqlglot reads `date_trunc(unit, …)`'s unit as a word, a column
# of that place included): another word is a column's value
_UNITS = frozenset(
    """microsecond microseconds millisecond milliseconds second seconds minute minutes hour hours
    day days week weeks month months quarter year years decade decades century centuries
    millennium millennia millenniums dow doy epoch isodow isoyear julian timezone
    timezone_hour timezone_minute""".split()  # noqa: SIM905 - a word list reads better as text
)


class _Branch:
    """Which reading of `revealing_parts` a node gets: told by its type alone. Plain int
    constants, not an `enum.Enum`: on Python 3.11 each read of an Enum member (`_Branch.CAST`)
    goes through a descriptor, some ten times a plain class attribute's cost, and
    `revealing_parts` compares a node's branch with up to seventeen of them (TG013 reads every
    indexed call and cast of a statement: a tenth of the rule's instructions)."""

    NONE: Final = 0
    CAST: Final = 1
    DIVISION: Final = 2
    ARITHMETIC: Final = 3
    REPEAT: Final = 4
    DOMAIN: Final = 5
    ARRAY: Final = 6
    FORMATTED: Final = 7
    ZONE: Final = 8
    UNIT: Final = 9
    PATH: Final = 10
    FORMAT: Final = 11
    ENCODING: Final = 12
    CONTROL: Final = 13
    QUOTING: Final = 14
    FAILING: Final = 15
    CALL: Final = 16


def _branch(kind: type[exp.Expression]) -> int:
    """The first reading whose types `kind` is one of, in `revealing_parts`' order."""
    readings: tuple[tuple[int, tuple[type[exp.Expression], ...]], ...] = (
        (_Branch.CAST, (exp.Cast,)),
        (_Branch.DIVISION, (exp.Div, exp.Mod, exp.IntDiv)),
        (_Branch.ARITHMETIC, (exp.Add, exp.Sub, exp.Mul, exp.Neg)),
        (_Branch.REPEAT, (exp.Repeat,)),
    )
    for branch, kinds in readings:
        if issubclass(kind, kinds):
            return branch
    if kind in _DOMAIN_ERRORS:  # exact types
        return _Branch.DOMAIN
    readings = (
        (_Branch.ARRAY, (exp.Array,)),
        (_Branch.FORMATTED, (exp.StrToDate, exp.StrToTime, exp.ToNumber)),
        (_Branch.ZONE, (exp.AtTimeZone,)),
        (_Branch.UNIT, (exp.TimestampTrunc, exp.DateTrunc, exp.Extract)),
        (_Branch.PATH, (exp.JSONBDeleteAtPath,)),
        (_Branch.FORMAT, (exp.Format,)),
        (_Branch.ENCODING, (exp.Encode,)),
        (_Branch.CONTROL, _TYPED_CONTROL),
        (_Branch.QUOTING, _TYPED_QUOTING),
    )
    for branch, kinds in readings:
        if issubclass(kind, kinds):
            return branch
    if kind in FAILING_TYPED_CALLS:  # exact types
        return _Branch.FAILING
    if issubclass(kind, exp.Anonymous):
        return _Branch.CALL
    return _Branch.NONE


def namesake_of(node: exp.Expression, functions: AbstractSet[str]) -> str:
    """The name of a call sqlglot reads as a built-in function of its own (`exp.Lower`) when
    the schema sources create a function of that name too (`functions`); "" otherwise."""
    if not functions or not isinstance(node, exp.Func) or isinstance(node, exp.Anonymous):
        return ""
    name = _SQL_NAMES.get(type(node))
    if name is None:
        name = _SQL_NAMES[type(node)] = type(node).sql_name().lower()
    return name if name in functions else ""


# the name of each typed call met (`exp.Lower`: "lower")
_SQL_NAMES: dict[type[exp.Expression], str] = {}


# `_branch` of each node type met (a node's type decides its reading: a chain of isinstance
# tests per node cost more than the rest of the rule on most statements)
_BRANCHES: dict[type[exp.Expression], int] = {}


def revealing_parts(
    node: exp.Expression,
    column: str,
    functions: frozenset[str] = frozenset(),
    inlined: Mapping[str, str] = _NO_BODIES,
    extensions: Mapping[str, float] = _NO_COSTS,
    column_casts: frozenset[str] = frozenset(),
) -> list[exp.Expression] | None:
    """The arguments of a call whose error message would show their value — a cast of
    something that is not a literal to a type that is not text-like (or a type's name called
    as a function: `int4(x)`, `date(x)`, `jsonb(x)`), a function of `_QUOTING_CALLS`,
    `to_date`/`to_timestamp`/`to_number`, a time zone, a unit or an encoding given by an
    expression, `format` with a format string that is not a literal, and any call sqlglot does
    not know but those of `_NON_QUOTING_CALLS` (at their other positions): a built-in or a
    type's name, not a function of the schema (`functions`) or an extension; None for any
    other node."""
    branch = _BRANCHES.get(type(node))
    if branch is None:
        branch = _BRANCHES[type(node)] = _branch(type(node))
    # a call sqlglot reads as a built-in's (`LOWER(x)`) of a name the schema sources also
    # create: PostgreSQL calls the schema's where its argument types match better
    # (`hr.lower(v varchar)` for `lower(email::varchar)`, h40A), and its body may fail
    namesake = namesake_of(node, functions) if inlined and branch != _Branch.CALL else ""
    if namesake in inlined and _body_fails(inlined[namesake]):
        return [a for a in node.iter_expressions() if not isinstance(a, exp.Literal)] or None
    if branch == _Branch.NONE:
        return None  # (a CASE, a coalesce…: most nodes indexed for this rule)
    if branch == _Branch.CAST:
        to = node.args.get("to")
        operand = node.this
        if (
            not isinstance(operand, exp.Literal | exp.Placeholder | exp.Parameter)
            # the tenant column is a number or a uuid: no text of a row to show — by a cast
            # that fails on none of its values (`column_casts`); `int4_col::int2` fails on
            # another tenant's id 40000 (h36A: "smallint out of range", before the pin)
            and not (
                isinstance(operand, exp.Column)
                and identifier_name(operand.this) == column
                and cast_target(node) in column_casts
            )
            and (
                (isinstance(to, exp.DataType) and to.this not in TEXT_TYPES)
                or isinstance(to, exp.ObjectIdentifier)  # `name::regclass`, `n::oid`
            )
        ):
            return [operand]
        return None
    if branch == _Branch.DIVISION:
        divisor = node.expression  # "division by zero" tells which rows make it zero
        return [divisor] if varies(divisor) and not _cannot_be_zero(divisor) else None
    if branch == _Branch.ARITHMETIC:
        # `n + $2`, `n + 2147483000`, `n * n`, `d + n`, `ts + n * interval '1 day'`, `-n`: a
        # row's number, date or interval overflows its type ("integer out of range", "date out
        # of range") by its size, and a chosen operand reads it by binary search (helper 114,
        # round 24). Arithmetic of numeric values never overflows: told by the operands' types
        # (`unbounded`)
        return [side for side in node.iter_expressions() if varies(side)] or None
    if branch == _Branch.REPEAT:
        # "requested length too large" past 1 GB, of the text's length times the count: a
        # row's text under a count the caller chooses (`repeat(name, $2)`, or a large literal)
        # tells its length by binary search (helper 126); a row's count, as any domain's
        times, text = node.args.get("times"), node.this
        sized = [times] if varies(times) else []
        small = _small_integer(times) if isinstance(times, exp.Expression) else None
        if (small is None or small >= _SMALL) and varies(text):
            sized.append(text)
        return sized or None
    if branch == _Branch.DOMAIN:
        # "cannot take logarithm of zero", "negative substring length not allowed", "field
        # position must not be zero"…: the arguments the function's domain rejects
        given: list[object] = [node.args.get(k) for k in _DOMAIN_ERRORS[type(node)]]
        rejected = [a for a in given if varies(a) and not _one_dimensional(a)]
        return rejected or None
    if branch == _Branch.ARRAY:
        # ARRAY[ARRAY[…], x]: "multidimensional arrays must have array expressions with
        # matching dimensions" when a row's value makes the sizes differ
        items = list(node.expressions)
        if any(isinstance(i, exp.Array) for i in items) and any(
            varies(i) and not isinstance(i, exp.Literal) for i in items
        ):
            return [i for i in items if varies(i)]
        return None
    if branch == _Branch.FORMATTED:
        return [p for p in (node.this, node.args.get("format")) if isinstance(p, exp.Expression)]
    if branch == _Branch.ZONE:
        zone = node.args.get("zone")
        return (
            [zone]
            if isinstance(zone, exp.Expression) and not isinstance(zone, exp.Literal)
            else None
        )
    if branch == _Branch.UNIT:
        unit = node.args.get("unit") if not isinstance(node, exp.Extract) else node.this
        found: list[exp.Expression] = []
        if isinstance(unit, exp.Var):
            if str(unit.this).lower() not in _UNITS:
                # a column where the unit goes (sqlglot keeps its name as a word): its value is
                # the unit named, quoted by the error
                found.append(exp.Column(this=exp.Identifier(this=str(unit.this))))
        elif varies(unit):  # `p.name`, `lower(name)`: "unit "…" not recognized"
            found.append(unit)
        zone = node.args.get("zone")  # `date_trunc('day', ts, zone)`
        if varies(zone):
            found.append(zone)
        return found or None
    if branch == _Branch.PATH:
        # `#-`: "path element … is not an integer: "…"" of a path a row gives; "cannot delete
        # path in scalar", "path element at position 1 is not an integer" of a document a row
        # gives, by its kind (round 24b)
        return [p for p in (node.this, node.expression) if varies(p)] or None
    if branch == _Branch.FORMAT:
        return [node.this] if not isinstance(node.this, exp.Literal) else None
    if branch == _Branch.ENCODING:  # `encode(data, name)`: "unrecognized encoding: "…""
        charset = node.args.get("charset")
        return [charset] if varies(charset) else None
    if branch == _Branch.CONTROL:
        # `length(bytes, encoding)`, `regexp_like(text, pattern, flags)`: the control arguments
        # ("invalid encoding name "…"", "invalid regular expression option: "…"")
        control = [v for k, v in node.args.items() if k not in _TYPED_DATA and varies(v)]
        return control or None
    if branch == _Branch.QUOTING:
        varying: list[exp.Expression] = [p for p in node.iter_expressions() if varies(p)]
        return varying or None
    if branch == _Branch.FAILING:
        varying = [p for p in node.iter_expressions() if varies(p)]
        return varying or None
    if branch == _Branch.CALL:
        name = identifier_name(node.this)
        arguments = list(node.expressions)
        positions: tuple[int, ...] | None
        if name.startswith("jsonb_path_") and len(arguments) > 1 and _plain_path(name, arguments):
            positions = (2, 3)  # a literal path that cannot fail: only its variables
        elif name in _QUOTING_CALLS:
            if name == "current_setting":
                missing_ok = arguments[1] if len(arguments) > 1 else None
                if isinstance(missing_ok, exp.Boolean) and missing_ok.this is True:
                    return None
            positions = _QUOTING_CALLS[name]
        elif name in inlined and _body_fails(inlined[name]):
            # a SQL function PostgreSQL inlines: its body's failing call runs in the condition
            positions = None
        elif name in _NON_QUOTING_CALLS and (
            name not in functions or name in BUILTIN_FUNCTIONS
        ):  # a schema's overload of a built-in's name: the built-in may be the one called
            positions = _NON_QUOTING_CALLS[name]
            if name in _CONFIG_FIRST and len(arguments) < 2:
                positions = ()  # `to_tsvector(document)`: no configuration named
        elif (
            name in extensions
            and name not in functions
            and name not in BUILTIN_FUNCTIONS
            and name not in _EXTENSIONS_NEVER_FAILING
        ):
            # a C function of an extension the runtime guard found in the catalog (round 30):
            # it costs what pg_proc says (1 by default, not 100) and its error may show any
            # argument (pgcrypto's `digest('x', name)`: "Cannot use "carla": No such hash
            # algorithm")
            positions = None
        elif (
            (name in functions and name not in BUILTIN_FUNCTIONS)
            or name in SIDE_EFFECTS  # reported as side effects already
            or name.startswith(_EXPENSIVE_PREFIXES)
            or (name not in BUILTIN_FUNCTIONS and name not in _TYPE_CALLS)
        ):
            # the schema's own functions, and those of extensions it does not show (PL/pgSQL
            # and SQL functions cost 100 units: PostgreSQL evaluates them after the pin)
            return None
        else:
            positions = None  # any other built-in: its error may show any argument
        chosen = (
            arguments
            if positions is None
            else [arguments[i] for i in positions if i < len(arguments)]
        )
        parts = [
            a
            for a in chosen
            if not isinstance(a, exp.Literal)
            and not (name == "array_positions" and _one_dimensional(a))
        ]
        return parts or None
    return None


@functools.lru_cache(maxsize=256)
def _cannot_be_zero(divisor: exp.Expression) -> bool:
    """A divisor that is never zero, whatever the row: `nullif(x, 0)` (NULL instead),
    `greatest(x, 1)`, `coalesce(nullif(x, 0), 1)`, `CASE WHEN x = 0 THEN 1 ELSE x END`, a
    literal other than zero (false alarms of round 22, helper 104)."""
    node = divisor
    while isinstance(node, exp.Paren | exp.Cast):
        node = node.this
    if isinstance(node, exp.Literal):
        return not node.is_string and node.this not in ("0", "0.0")
    if isinstance(node, exp.Nullif):
        zero = node.expression
        return isinstance(zero, exp.Literal) and zero.this in ("0", "0.0")
    if isinstance(node, exp.Greatest):
        return any(
            isinstance(a, exp.Literal) and not a.is_string and _positive(a.this)
            for a in (node.this, *node.expressions)
        )
    if isinstance(node, exp.Coalesce):
        # its first argument that is never NULL decides: every one before it is never zero
        for argument in (node.this, *node.expressions):
            if not _cannot_be_zero(argument):
                return False
            inner = argument.this if isinstance(argument, exp.Paren) else argument
            if not isinstance(inner, exp.Nullif):
                return True
        return True  # all NULL: NULL, no error
    if isinstance(node, exp.Case):
        ifs = node.args.get("ifs") or []
        default = node.args.get("default")
        results = [i.args.get("true") for i in ifs]
        if not all(r is not None and _cannot_be_zero(r) for r in results):
            return False
        if default is None or _cannot_be_zero(default):
            return True
        # `CASE WHEN x = 0 THEN 1 ELSE x END`: x reaches the ELSE only when it is not zero
        return any(
            isinstance(i.this, exp.EQ)
            and i.this.this == default
            and isinstance(i.this.expression, exp.Literal)
            and i.this.expression.this in ("0", "0.0")
            for i in ifs
        )
    return False


def _positive(text: object) -> bool:
    try:
        return float(str(text)) > 0
    except ValueError:
        return False


# typed functions whose domain errors depend on an argument: the arguments (sqlglot's keys)
_DOMAIN_ERRORS: dict[type[exp.Expression], tuple[str, ...]] = {
    exp.Ln: ("this",),
    exp.Log: ("this", "expression"),
    exp.Sqrt: ("this",),
    exp.Pow: ("this", "expression"),
    exp.Exp: ("this",),
    exp.SplitPart: ("part_index",),
    exp.Substring: ("length",),
    exp.WidthBucket: ("min_value", "max_value", "num_buckets"),
    exp.Factorial: ("this",),
    # "input is out of range", "value out of range: overflow" (helpers 109, 110)
    exp.Acos: ("this",),
    exp.Asin: ("this",),
    exp.Atanh: ("this",),
    exp.Acosh: ("this",),
    exp.Cosh: ("this",),
    exp.Sinh: ("this",),
    exp.Pad: ("expression",),  # lpad(x, n): "requested length too large"
    exp.Getbit: ("expression",),  # "index … out of valid range"
    exp.Normalize: ("form",),  # "invalid normalization form"
    exp.Ntile: ("this",),  # "argument of ntile must be greater than zero"
    exp.NthValue: ("offset",),
    exp.Lag: ("offset",),
    exp.Lead: ("offset",),
    exp.JSONBObjectAgg: ("this",),  # "field name must not be null"
    exp.PercentileCont: ("this",),  # "percentile value … is not between 0 and 1"
    exp.PercentileDisc: ("this",),
    # "interval out of range" of seconds NaN or infinite (PostgreSQL 15 wraps the other
    # fields' overflows silently)
    exp.MakeInterval: ("second",),
    exp.Cos: ("this",),
    exp.Sin: ("this",),
    exp.Tan: ("this",),
    exp.Abs: ("this",),
    exp.Degrees: ("this",),
    # the pattern: "LIKE pattern must not end with escape character" (helper 112)
    exp.Like: ("expression",),
    exp.ILike: ("expression",),
    exp.SimilarTo: ("expression",),  # "invalid regular expression" (helper 114)
    # to_char's format: "multiple decimal points", "cannot use "V" and decimal point together",
    # "invalid format specification for an interval value" (round 24)
    exp.TimeToStr: ("format",),
    # round 24b: cot('Infinity') ("input is out of range"); an array a row gives, which may be
    # multidimensional ("searching for elements in multidimensional arrays is not supported",
    # "argument must be empty or one-dimensional array"); justify_* ("interval out of range")
    exp.Cot: ("this",),
    exp.ArrayAppend: ("this",),
    exp.ArrayPrepend: ("this",),  # (sqlglot keeps the array as `this`)
    exp.ArrayPosition: ("this",),
    exp.ArrayRemove: ("this",),
    exp.JustifyDays: ("this",),
    exp.JustifyHours: ("this",),
    exp.JustifyInterval: ("this",),
}
# the calls above whose argument is an array: an ARRAY[…] of scalars has one dimension
_ARRAY_CALLS = (exp.ArrayAppend, exp.ArrayPrepend, exp.ArrayPosition, exp.ArrayRemove)


def _one_dimensional(node: object) -> bool:
    """An ARRAY[…] constructor none of whose items is itself an array constructor (a column
    holding an array, `ARRAY[arr]`, would make two dimensions: rare, not told apart)."""
    return isinstance(node, exp.Array) and not any(
        isinstance(i, exp.Array | exp.Query | exp.Subquery) for i in node.expressions
    )  # (`ARRAY(SELECT arr …)` of a query: of its rows' arrays, two dimensions)


@functools.lru_cache(maxsize=1024)
def body_trees(body: str) -> tuple[exp.Expression | None, ...]:
    """An inlined SQL function's body, parsed once: a SELECT of each definition's expression
    (`RETURN e` read as `SELECT e`; overloads: one each), its `$1`, `$2` as the columns
    `_argument_1`… (a cast of one fails on the value it is given); None where the parser cannot
    read one. Read, never changed, by `_body_fails` and `_body_cost`."""
    from tenantguard.engine.analyze import parse_statement
    from tenantguard.engine.sqltext import split_sql

    body = _POSITIONAL.sub(lambda m: f"_argument_{m.group(1)}", body)
    trees: list[exp.Expression | None] = []
    for statement in split_sql(body)[0]:
        text = statement.text.strip()
        if text[:6].upper() == "RETURN":
            text = "SELECT " + text[6:]
        trees.append(parse_statement(text)[0])
    return tuple(trees)


def _body_fails(body: str) -> bool:
    """Whether an inlined SQL function's body (`SELECT current_setting(t)`, `RETURN t::int`)
    holds a call whose error may show a value it is given — one of its parameters."""
    if body == CHEAP_FUNCTION:
        return True  # declared cheap, its body unread: it may fail (or notify) on anything
    for tree in body_trees(body):
        if tree is None:
            return True  # a body the parser cannot read may fail anyhow
        for node in tree.walk():
            if isinstance(node, exp.Expression):
                parts = revealing_parts(node, "")
                if not parts or all(isinstance(p, exp.Literal) for p in parts):
                    continue
                if is_cast(node) and len(parts) == 1 and _typed_not_text(parts[0]):
                    continue  # `date_trunc('week', $1)::date`: no text to show
                return True
    return False


def _plain_path(name: str, arguments: list[exp.Expression]) -> bool:
    """A JSON path written as a literal that fails on no value of the row, or one whose errors
    the call silences (`silent => true`, its fourth argument): lax accessors (`$.a.b`, `[*]`,
    `[3]`, `.*`) and filters (`? (…)`: an error in a filter is `unknown`, never raised). Not:
    `strict` (a missing key: "JSON object does not contain key"), arithmetic outside a filter
    (`$.a / ($.a - 2)`: "division by zero" on another tenant's row, helper 119), item methods
    that convert or check (`.double()`, `.keyvalue()`, `.datetime()` quote what they fail on;
    `.type()` and `.size()` never fail). `jsonb_path_match` fails too where its path yields no
    single boolean (`'$.a'`: "single boolean result is expected"): a predicate only."""
    path = arguments[1]
    if not isinstance(path, exp.Literal) or not path.is_string:
        return False
    variables = arguments[2] if len(arguments) > 2 else None
    silent = arguments[3] if len(arguments) > 3 else None
    for argument in arguments[2:]:
        if isinstance(argument, exp.Kwarg):
            named = str(argument.this.name).lower()
            if named == "silent":
                silent = argument.expression
            elif named == "vars":
                variables = argument.expression
    if not _path_variables_given(str(path.this), variables):
        # "could not find jsonpath variable": raised in a filter and under silent => true
        # alike, where the row's value reaches it (`? (@.salary > 5000 && $x == 1)`: helper 125)
        return False
    if isinstance(silent, exp.Boolean) and silent.this is True:
        return True
    outside = _json_path_outside_filters(str(path.this))
    if outside is not None:
        outside = _PATH_WILDCARD.sub("", outside)  # `[*]`, `.*`, `.**`: no multiplication
    if outside is None or _FAILING_PATH.search(outside):
        return False
    return name != "jsonb_path_match" or bool(_PATH_PREDICATE.search(outside))


def _path_variables_given(text: str, variables: exp.Expression | None) -> bool:
    """Whether every variable a JSON path names (`$x`, `$"x"`) is a key of its `vars`, given
    as a literal JSON object (`'{"x": 1}'`); a path naming none needs none."""
    names = {m.group(2) for m in _PATH_STRING.finditer(text) if m.group(1)}  # `$"x y"`
    names.update(_PATH_VARIABLE.findall(_PATH_STRING.sub('""', text)))
    if not names:
        return True
    if not isinstance(variables, exp.Literal) or not variables.is_string:
        return False  # a parameter, a column, none: a name it lacks fails
    try:
        given = json.loads(str(variables.this))
    except ValueError:
        return False
    return isinstance(given, dict) and names <= set(given)


# a JSON path's strings, and whether a `$` stands before one (a quoted variable's name)
_PATH_STRING = lazy_pattern(r'(\$\s*)?"((?:[^"\\]|\\.)*)"')
_PATH_VARIABLE = lazy_pattern(r"\$([A-Za-z_]\w*)")


# what a JSON path may fail on outside its filters: `strict`, arithmetic (a `-` of an index
# `[last - 1]` too: written out, conservative), an item method other than .type() and .size()
_FAILING_PATH = lazy_pattern(
    r"\bstrict\b|[-+*/%]|\.\s*(?!(?:type|size)\s*\()[A-Za-z_]\w*\s*\(", re.IGNORECASE
)
_PATH_WILDCARD = lazy_pattern(r"\[\s*\*\s*\]|\.\s*\*\*?")
# a path that is a predicate: one boolean for jsonb_path_match
_PATH_PREDICATE = lazy_pattern(
    r"==|!=|<>|<=|>=|<|>|\bexists\b|\blike_regex\b|\bstarts\s+with\b|\bis\s+unknown\b",
    re.IGNORECASE,
)


def _json_path_outside_filters(text: str) -> str | None:
    """A JSON path's text without its strings and the insides of its filters (`? (…)`); None
    when its quotes or parentheses do not close."""
    kept: list[str] = []
    depth, filtering, i = 0, 0, 0  # parentheses open; the depth a filter opened at (0: none)
    while i < len(text):
        char = text[i]
        if char == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                return None
            kept.append('""' if not filtering else "")
            i = end + 1
            continue
        if char == "(":
            depth += 1
            if not filtering and "".join(kept).rstrip().endswith("?"):
                filtering = depth
                kept.append("(")
        elif char == ")":
            if depth == 0:
                return None
            if filtering == depth:
                filtering = 0
                kept.append(")")
                depth -= 1
                i += 1
                continue
            depth -= 1
        if not filtering:
            kept.append(char)
        i += 1
    return None if depth or filtering else "".join(kept)


# kinds read in hot paths, as tuples: a union (`exp.A | exp.B`) written in an isinstance() is
# built anew at each call, in the compiled build too
_CONSTANTS = (exp.Literal, exp.Null, exp.Var, exp.DataType, exp.Boolean)
_NULL_OR_BOUND = (exp.Null, exp.Parameter, exp.Placeholder)


def varies(node: object) -> TypeGuard[exp.Expression]:
    """Not a literal: a value PostgreSQL computes from the row (or a parameter)."""
    return isinstance(node, exp.Expression) and not isinstance(node, _CONSTANTS)


def reads_a_column(parts: list[exp.Expression]) -> bool:
    """Whether a failing call's quoted parts read a column (or a whole row): only a row's
    value can be another tenant's (the sources read are told apart later)."""
    return any(
        type(p) is exp.Column or p.find(exp.Column, exp.Dot, exp.Star) is not None for p in parts
    )


def may_fail(kind: type[exp.Expression]) -> bool:
    """Is a node of this kind (one the model's walk indexed) a call or cast that may fail?"""
    found = _MAY_FAIL.get(kind)
    if found is None:
        found = _MAY_FAIL[kind] = issubclass(kind, QUOTING_TYPES) or kind in FAILING_TYPED_CALLS
    return found


# `may_fail` of each kind met (an issubclass test against some ninety types, once per kind)
_MAY_FAIL: dict[type[exp.Expression], bool] = {}


# the last policy's `tenant_column_casts` (a policy is immutable; read for every statement)
_CASTS_OF: list[tuple[Policy, frozenset[str]]] = []


def tenant_column_casts(policy: Policy) -> frozenset[str]:
    """The types a cast of the tenant column fails into on no value: those every tenant
    table's tenant column type (a domain's: its base's) casts to totally (`_TOTAL_CASTS`; none
    from a text); int8's where the schema is not sure of a type (a bigint id casts to them).
    Memoised for the last policy (`referencing_keys.checked_across_tenants` does the same)."""
    if _CASTS_OF and _CASTS_OF[0][0] is policy:
        return _CASTS_OF[0][1]
    casts = _tenant_column_casts(policy)
    _CASTS_OF[:] = [(policy, casts)]
    return casts


def _tenant_column_casts(policy: Policy) -> frozenset[str]:
    found: frozenset[str] | None = None
    for declared in policy.tenant_column_types.values():
        kind: str | None = declared
        if declared.startswith("domain:"):
            domain = policy.exact_domains.get(declared[len("domain:") :])
            kind = domain[1] if domain is not None else None
        if kind is None or kind in _TOTAL_CASTS:
            targets = _TOTAL_CASTS[kind or "int8"]
        else:
            targets = frozenset()  # `text_col::int` fails on another tenant's 'Acme'
        found = targets if found is None else found & targets
    return _TOTAL_CASTS["int8"] if found is None else found


def body_may_fail(node: exp.Subquery, column: str, policy: Policy) -> bool:
    """Does the subquery hold a call or cast that may fail (on any table's rows: its error,
    raised when a row first reaches the condition, tells that one did)?"""
    for inner in node.this.find_all(exp.Expression):
        if revealing_parts(
            inner,
            column,
            policy.functions,
            policy.inlined_functions,
            policy.extension_functions,
            tenant_column_casts(policy),
        ):
            return True
        if type(inner) in _DOMAIN_ERRORS and _fails_alike(inner, column, policy):
            return True
    return False


def _fails_alike(node: exp.Expression, column: str, policy: Policy) -> bool:
    """Does `node` fail on an argument that is no row's value: a constant in a position the
    function's domain may reject, or an argument `revealing_parts` names that reads no
    column (`json_build_object(NULL, …)`)?"""
    if type(node) in _DOMAIN_ERRORS:
        return fails_on_a_constant(node, None)
    parts = revealing_parts(
        node,
        column,
        policy.functions,
        policy.inlined_functions,
        policy.extension_functions,
        tenant_column_casts(policy),
    )
    return fails_on_a_constant(node, parts)


def fails_on_a_constant(node: exp.Expression, parts: list[exp.Expression] | None) -> bool:
    """`_fails_alike`, given `revealing_parts` of `node` (read for a kind of
    `_DOMAIN_ERRORS`, whose constants are read instead)."""
    kind = type(node)
    if kind in _DOMAIN_ERRORS:
        given = [node.args.get(k) for k in _DOMAIN_ERRORS[kind]]
        return any(_rejected_constant(a) for a in given)
    # NULL where a value is required, or a value the caller binds (`regexp_like(x, $2)` of a
    # pattern that does not compile): no row's
    return bool(parts) and all(
        isinstance(part, _NULL_OR_BOUND)
        for part in parts  # type: ignore[union-attr]
    )


def _rejected_constant(value: object) -> bool:
    """A constant a function's domain may reject: NULL, a number at most 0 or of a million
    and more (a field position of 0, a logarithm of 0, a length too large); a literal in the
    range of everyday arguments (`split_part(x, ',', 2)`, `lpad(x, 10)`) is not one."""
    if isinstance(value, exp.Paren):
        return _rejected_constant(value.this)
    if isinstance(value, exp.Null):
        return True
    negative = isinstance(value, exp.Neg)
    literal = value.this if isinstance(value, exp.Neg) else value
    if not isinstance(literal, exp.Literal) or literal.is_string:
        return False
    try:
        number = float(str(literal.this))
    except ValueError:
        return True
    if negative:
        number = -number
    return number <= 0 or number >= 1_000_000


def is_cast(node: exp.Expression) -> bool:
    """A cast, or a type's name called as a function (`date(x)`, `int4(x)`)."""
    if isinstance(node, exp.Cast | exp.Date | exp.Timestamp | exp.Time | exp.Interval):
        return True
    return (
        isinstance(node, exp.Anonymous)
        and len(node.expressions) == 1
        and identifier_name(node.this) in _TYPE_CALLS
    )


# a choice among values: of their common type
_CHOICES = (exp.Coalesce, exp.Greatest, exp.Least, exp.Case, exp.If)
_DT = exp.DataType.Type
# PostgreSQL's name of a cast's target (sqlglot's kinds); a kind left out is a type whose casts
# are not known total (a typmod: `numeric(3,0)` is named so, and is a target of no total cast)
_PG_TYPES: dict[object, str] = {
    _DT.SMALLINT: "int2", _DT.INT: "int4", _DT.BIGINT: "int8", _DT.DECIMAL: "numeric",
    _DT.FLOAT: "float4", _DT.DOUBLE: "float8", _DT.BOOLEAN: "bool", _DT.DATE: "date",
    _DT.TIMESTAMP: "timestamp", _DT.TIMESTAMPTZ: "timestamptz", _DT.TIME: "time",
    _DT.TIMETZ: "timetz", _DT.INTERVAL: "interval", _DT.UUID: "uuid", _DT.JSON: "json",
    _DT.JSONB: "jsonb", _DT.MONEY: "money", _DT.INET: "inet", _DT.VARBINARY: "bytea",
    _DT.XML: "xml", _DT.SERIAL: "int4", _DT.BIGSERIAL: "int8", _DT.SMALLSERIAL: "int2",
}  # fmt: skip
# a type's name called as a function: the cast's target (`int4(n)`, `date(ts)`)
_TYPE_CALL_TARGETS = {
    "int2": "int2", "smallint": "int2", "int4": "int4", "integer": "int4", "int8": "int8",
    "bigint": "int8", "float4": "float4", "float8": "float8", "numeric": "numeric",
    "decimal": "numeric", "bool": "bool", "boolean": "bool", "json": "json", "jsonb": "jsonb",
    "timestamptz": "timestamptz", "timetz": "timetz", "money": "money", "inet": "inet",
}  # fmt: skip
# the casts PostgreSQL 15 runs on every value of the source type without an error: widenings
# (int2 -> int4 -> int8 -> numeric, any integer or float -> float8, a timestamp -> its date or
# time). Any other cast between types that are not text may fail on some value, and whether it
# does tells the value: `n::int` of a bigint ("integer out of range"), `x::numeric(3,0)`
# ("numeric field overflow"), `f::float4`, `d::timestamp` of a date ("date out of range for
# timestamp"), `tz::timestamp` (a time zone's offset past the range), `(j->'a')::int` of a
# jsonb ("cannot cast jsonb string to type integer"), `json::jsonb` ("unsupported Unicode
# escape sequence"), `n::money` of a bigint (round 24, each seen on the server). A cast to a
# text-like type never fails (`varchar(2)` truncates an explicit cast, silently)
_TOTAL_CASTS: dict[str, frozenset[str]] = {
    source: frozenset(targets.split())
    for source, targets in {
        "int2": "int2 int4 int8 numeric float4 float8",
        "int4": "int4 int8 numeric float4 float8 bool money",
        "int8": "int8 numeric float4 float8",
        "float4": "float4 float8 numeric",
        "float8": "float8 numeric",
        "numeric": "numeric",
        "money": "money numeric",
        "bool": "bool int4",
        "date": "date",
        "timestamp": "timestamp date time",
        "timestamptz": "timestamptz date time timetz",
        "time": "time interval",
        "timetz": "timetz time",
        "interval": "interval time",
        "uuid": "uuid",
        "json": "json",
        "jsonb": "jsonb json",
        "inet": "inet cidr",
        "bytea": "bytea",
        "xml": "xml",
    }.items()
}
# targets no cast from a type that is neither text-like nor JSON fails into (a source whose
# very type the schema does not tell: a timestamp's date, a number's numeric)
_TOTAL_INTO = frozenset({"date", "time", "timetz", "numeric", "bool", "interval"})
# calls whose result is of one type whatever their arguments
_RESULT_TYPES: dict[type[exp.Expression], str] = {
    exp.Length: "int4", exp.Ascii: "int4", exp.ArraySize: "int4", exp.Count: "int8",
    exp.Extract: "numeric", exp.CurrentDate: "date", exp.CurrentTimestamp: "timestamptz",
    exp.JSONExtractScalar: "text", exp.JSONBExtractScalar: "text",
}  # fmt: skip
_INTEGERS = ("int2", "int4", "int8")
# calls that convert a date argument to a timestamp (round 24b, each seen on the server:
# "date out of range for timestamp" of a date past 294276 AD — a date's range goes on to
# 5874897 AD): date_trunc, AT TIME ZONE, to_char, age, and a choice among a date and a timestamp
# (`COALESCE(d, ts)`, `GREATEST(d, now())`). A comparison of a date with a timestamp does not
# fail; a date plus or minus an interval is arithmetic (`_small_for`)
DATE_CONVERTERS = (
    exp.TimestampTrunc, exp.DateTrunc, exp.AtTimeZone, exp.TimeToStr, exp.Anonymous, *_CHOICES
)  # fmt: skip
_DATE_CALLS = frozenset({"age"})


def date_operands(node: exp.Expression) -> list[exp.Expression]:
    """The arguments a date converter may convert."""
    if isinstance(node, _CHOICES):
        return _branches(node)
    if isinstance(node, exp.Anonymous):
        return list(node.expressions) if identifier_name(node.this) in _DATE_CALLS else []
    return [node.this] if isinstance(node.this, exp.Expression) else []


# by the policy's typed columns: the schema's date columns (lower case)
_DATE_COLUMNS: dict[int, tuple[object, tuple[str, ...]]] = {}


def may_hold_a_date(ctx: Context) -> bool:
    """Whether any value of the statement may be typed a date (`type_of`): its text names a
    date column of the schema, a cast or call to date (`::date`, `date(x)`, `CAST(x AS date)`)
    or the current date. A screen: most statements hold none, and a choice's branches are
    then not typed one by one."""
    lowered = ctx.lowered
    if "current_date" in lowered or _has_word(lowered, "date"):
        return True
    typed = ctx.policy.typed_columns
    kept = _DATE_COLUMNS.get(id(typed))
    if kept is None or kept[0] is not typed:
        names = {c.lower() for cs in typed.values() for c, kind in cs.items() if kind == "date"}
        kept = _DATE_COLUMNS[id(typed)] = (typed, tuple(sorted(names)))
    return any(_has_word(lowered, name) for name in kept[1])


def _has_word(text: str, word: str) -> bool:
    """`word` in `text` as a whole name (`day` is not in `days` nor in `to_day`): a search by
    `str.find` (a pattern with a look-behind first scans every character, ~10x slower)."""
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before in "_$") and not (after.isalnum() or after in "_$"):
            return True
        start = text.find(word, start + 1)
    return False


def converts_a_date(
    analysis: Analysis, block: Block, node: exp.Expression, visible: Span | None
) -> bool:
    """A date converter given a value the schema shows a date (of a choice: beside a value of
    a timestamp type, the common type)."""
    kinds = [type_of(analysis, block, p, visible) for p in date_operands(node)]
    if isinstance(node, _CHOICES):
        return "date" in kinds and any(k in ("timestamp", "timestamptz") for k in kinds)
    return "date" in kinds


_TYPED_CASTS: dict[type[exp.Expression], str] = {
    exp.Date: "date", exp.Timestamp: "timestamp", exp.Time: "time", exp.Interval: "interval"
}  # fmt: skip


def cast_target(node: exp.Expression) -> str | None:
    """The type a cast (or a type's name called as a function) converts to."""
    if isinstance(node, exp.Cast):
        to = node.args.get("to")
        if not isinstance(to, exp.DataType):
            return None
        name = _PG_TYPES.get(to.this)
        if name is not None and to.expressions and name == "numeric":
            return "numeric(…)"  # a precision: "numeric field overflow"
        return name
    if isinstance(node, exp.Date | exp.Timestamp | exp.Time | exp.Interval):
        return _TYPED_CASTS[type(node)]
    if isinstance(node, exp.Anonymous):
        return _TYPE_CALL_TARGETS.get(identifier_name(node.this))
    return None


def total_cast(
    analysis: Analysis, block: Block, node: exp.Expression, visible: Span | None
) -> bool:
    """A cast that fails on no value of its operand: a widening of a type the schema (or the
    operand's form) tells, or a cast into `_TOTAL_INTO` of a value that is neither text nor
    JSON."""
    target = cast_target(node)
    if target is None:
        return False
    operand = node.this if isinstance(node, exp.Cast) else next(node.iter_expressions(), None)
    if not isinstance(operand, exp.Expression):
        return False
    source = type_of(analysis, block, operand, visible)
    if source is not None:
        return target in _TOTAL_CASTS.get(source, ())
    while isinstance(operand, exp.Paren):
        operand = operand.this
    return (
        target in _TOTAL_INTO
        and not isinstance(operand, _JSON_OPERATORS)
        and _not_text(analysis, block, operand, visible)
    )


def unbounded(
    analysis: Analysis,
    block: Block,
    node: exp.Expression,
    visible: Span | None,
    *,
    collapsed: bool = False,
) -> bool:
    """Arithmetic that cannot overflow: of numeric values (a numeric and a numeric or an
    integer) and literals of a moderate size, or of integers whose range stays inside an int4's
    (`length(name) - 3`). Not `x * 1e131071`: a huge literal moves numeric's edge onto a row's
    value ("value overflows numeric format", round 24b)."""
    if _range(node) is not None or _at_the_edge_only(
        analysis, block, node, visible, collapsed=collapsed
    ):
        return True
    sides = list(node.iter_expressions())
    kinds = [type_of(analysis, block, side, visible) for side in sides]
    return (
        "numeric" in kinds
        and all(k == "numeric" or k in _INTEGERS for k in kinds)
        and all(_moderate(side) for side in sides)
    )


_MODERATE = 10**15


def _moderate(node: exp.Expression) -> bool:
    """Not a literal of a magnitude past 10**15, nor a parameter (`x + $2::numeric`: the caller
    chooses it, 10**131072 - T puts numeric's edge at T: helper 125); a value the row holds or
    computes: so."""
    while isinstance(node, exp.Paren | exp.Neg | exp.Cast):
        node = node.this
    if isinstance(node, exp.Placeholder | exp.Parameter):
        return False
    if isinstance(node, exp.Literal):
        return _moderate_literal(node)
    if isinstance(node, exp.Column):
        return True
    # anything else: a value the row computes, holding no parameter and no large literal — not
    # a constant the statement computes (`repeat('9', 131072)::numeric - T`: helper 125)
    reads_the_row = False
    for inner in node.walk():
        if isinstance(inner, exp.Placeholder | exp.Parameter):
            return False
        if isinstance(inner, exp.Literal) and not _moderate_literal(inner, strings=False):
            return False
        reads_the_row = reads_the_row or isinstance(inner, exp.Column)
    return reads_the_row


def _moderate_literal(node: exp.Literal, *, strings: bool = True) -> bool:
    """A literal of a magnitude under 10**15; `strings`: a string is read as the number it
    spells (else one that spells none is no magnitude: moderate)."""
    try:
        return abs(float(str(node.this))) < _MODERATE
    except (ValueError, OverflowError):
        # `1e131071`: past a float's range, and so past 10**15; a text that is no number
        return not strings and node.is_string


def _at_the_edge_only(
    analysis: Analysis,
    block: Block,
    node: exp.Expression,
    visible: Span | None,
    *,
    collapsed: bool = False,
) -> bool:
    """Arithmetic that overflows only on a stored value at the very edge of its type, which
    tells nothing a row chose: a column plus or minus a small constant (`id + 1`, `created_at
    - interval '1 day'`), a column negated. Not a value a row computes (`CASE WHEN name LIKE $2
    THEN 2147483647 ELSE 0 END + 1`), two row values (`n * n`, `d + n`), a parameter or a large
    constant (`n + 2147483000`, `ts + interval '292 millennia'`): those steer the overflow onto a
    row's value. The column's type decides what is small (round 24b): a jsonb's `j - 1`
    deletes an element ("cannot delete from object using integer index"), a date plus an
    interval is a timestamp ("date out of range for timestamp")."""
    if isinstance(node, exp.Neg):
        return _bare_column(node.this) is not None
    if isinstance(node, exp.Add | exp.Sub):
        left, right = node.this, node.expression
        pairs = [(left, right), (right, left)] if isinstance(node, exp.Add) else [(left, right)]
        for operand, constant in pairs:
            column = _bare_column(operand)
            if column is not None and _small_for(
                type_of(analysis, block, column, visible),
                constant,
                add=isinstance(node, exp.Add),
                collapsed=collapsed,
            ):
                return True
    return False


def _bare_column(node: exp.Expression) -> exp.Column | None:
    """The column `node` is, or stands for with a small number in its place when it is NULL
    (`coalesce(n, 0)`: at the edge of the type where `n` is, round 25): None for anything
    else."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Coalesce) and node.expressions:
        sizes = [_small_integer(d) for d in node.expressions]
        if not all(size is not None and size < _SMALL for size in sizes):
            return None  # a parameter, a row's value, a large constant: chosen, not at the edge
        node = node.this
        while isinstance(node, exp.Paren):
            node = node.this
    if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
        return node
    return None


_SMALL = 2**15
# (a smallint plus an integer literal is int4 arithmetic, `int24pl`: it overflows on no smallint,
# helper 125 — the literal is int4 however small)
_NUMBERS_OF = frozenset({"int4", "int8", "numeric", "float4", "float8", "date"})
_TIMES_OF = frozenset({"timestamp", "timestamptz", "interval", "time", "timetz"})


def _small_for(
    kind: str | None, constant: exp.Expression, *, add: bool, collapsed: bool = False
) -> bool:
    """A constant small for a column of a type (None: a type the schema does not show) it is
    added to or subtracted from."""
    while isinstance(constant, exp.Paren | exp.Neg):
        constant = constant.this
    integer = _small_integer(constant)
    if integer is not None:
        # a number: of a number's or a date's column (days); of an unknown one added (no `+`
        # of a number but a number's and a date's), not subtracted: jsonb's `-` deletes an
        # element ("cannot delete from object using integer index")
        return integer < _SMALL and (
            kind == "int2" or kind in _NUMBERS_OF or (kind is None and add)
        )
    if _small_interval(constant, collapsed=collapsed):
        # of a timestamp's or an interval's column; of a date's not (converted to a timestamp);
        # of an unknown one: taken for a timestamp's
        return kind is None or kind in _TIMES_OF
    return False


def _small_integer(node: exp.Expression) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string and str(node.this).isdigit():
        return int(str(node.this))
    return None


_INTERVAL_ITEM = lazy_pattern(
    r"\s*(?:(?P<clock>[+-]?\d+:\d+(?::\d+(?:\.\d*)?)?)"
    r"|(?P<number>[+-]?\d+(?:\.\d*)?)\s*(?P<unit>[a-z]*))\s*"
)
_ISO_ITEM = lazy_pattern(r"(\d+(?:\.\d*)?)([ymwdhs])")
# years per unit PostgreSQL's interval input knows (a month 1/12 of a year, a day 1/365)
_UNIT_YEARS: dict[str, float] = {
    **dict.fromkeys(("millennium", "millennia", "millenniums", "mil", "mils"), 1000.0),
    **dict.fromkeys(("century", "centuries", "c", "cent"), 100.0),
    **dict.fromkeys(("decade", "decades", "dec", "decs"), 10.0),
    **dict.fromkeys(("year", "years", "y", "yr", "yrs"), 1.0),
    **dict.fromkeys(("month", "months", "mon", "mons"), 1 / 12),
    **dict.fromkeys(("week", "weeks", "w"), 7 / 365),
    **dict.fromkeys(("day", "days", "d"), 1 / 365),
    **dict.fromkeys(("hour", "hours", "h", "hr", "hrs"), 1 / 8760),
    **dict.fromkeys(("minute", "minutes", "m", "min", "mins"), 1 / 525600),
    **dict.fromkeys(("second", "seconds", "s", "sec", "secs", ""), 1 / 31536000),
    **dict.fromkeys(
        ("millisecond", "milliseconds", "ms", "msec", "msecs", "microsecond", "microseconds",
         "us", "usec", "usecs"),
        1 / 31536000,
    ),
}  # fmt: skip
_SMALL_YEARS = 1000  # a timestamp plus 1000 years overflows only past 293 000 AD


def _interval_years(text: str) -> float | None:
    """The size in years of an interval literal's text, or None where it is not read (the
    SQL standard's `Y-M` form, ISO 8601's alternative form: not small)."""
    text = text.strip().lower().removeprefix("@").replace(" ago", "")
    if text.startswith("p"):
        body = text[1:]
        date_part, _, time_part = body.partition("t")
        total = 0.0
        for part, units in (
            (date_part, {"y": 1.0, "m": 1 / 12, "w": 7 / 365, "d": 1 / 365}),
            (time_part, {"h": 1 / 8760, "m": 1 / 525600, "s": 1 / 31536000}),
        ):
            if _ISO_ITEM.sub("", part):
                return None  # something else than number-designator pairs
            for number, unit in _ISO_ITEM.findall(part):
                if unit not in units:
                    return None
                total += float(number) * units[unit]
        return total
    total = 0.0
    position = 0
    while position < len(text):
        match = _INTERVAL_ITEM.match(text, position)
        if match is None or match.end() == position:
            return None
        position = match.end()
        if match.group("clock") is not None:
            fields = [abs(float(f)) for f in match.group("clock").split(":")]
            clock = (1 / 8760, 1 / 525600, 1 / 31536000)[: len(fields)]
            total += sum(f * u for f, u in zip(fields, clock, strict=True))
            continue
        years = _UNIT_YEARS.get(match.group("unit"))
        if years is None or (not match.group("unit") and (position < len(text) or total)):
            return None  # a number without a unit beside others (`'150000-0'`: years)
        total += abs(float(match.group("number"))) * years
    return total


_QUOTED = lazy_pattern(r"'((?:[^']|'')*)'")
_ONE_PAIR = lazy_pattern(r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]+)\s*")  # sqlglot's


def collapsed_intervals(text: str) -> bool:
    """Whether the statement quotes a text sqlglot would read as an interval of its one
    number and unit, dropping the rest (`interval '1 year 100000000:00:00'` is read `'1' YEAR`),
    where the whole is not small: every interval sqlglot read so is then taken for not small."""
    for quoted in _QUOTED.findall(text):
        pairs = _ONE_PAIR.findall(quoted)
        if len(pairs) != 1 or not _ONE_PAIR.sub("", quoted).strip(" @"):
            continue
        years = _interval_years(quoted)
        if years is None or years >= _SMALL_YEARS:
            return True
    return False


def _small_interval(node: exp.Expression, *, collapsed: bool = False) -> bool:
    """An interval literal under 1000 years in all (`'7 days'`; not `'292 millennia 252
    years'`, `'P292252Y'`, `'100000000:00:00'`, whose numbers are each small or not, round
    24b)."""
    if isinstance(node, exp.Cast) and (
        cast_target(node) != "interval" or not isinstance(node.this, exp.Literal)
    ):
        return False
    if not isinstance(node, exp.Interval | exp.Cast) or not isinstance(node.this, exp.Literal):
        return False
    text = str(node.this.this)
    unit = node.args.get("unit")
    if unit is not None:
        if not isinstance(unit, exp.Var) or collapsed:
            return False  # `interval '1' day to second`…: not read
        text = f"{text} {unit.this}"
    years = _interval_years(text)
    return years is not None and years < _SMALL_YEARS


# integer results of a bounded range whatever their arguments (a text is at most 1 GB long)
_SMALL_RESULTS = (exp.Length, exp.Ascii, exp.ArraySize, exp.BitLength, exp.StrPosition)
_INT4_MAX = 2**31 - 1


def _range(node: exp.Expression) -> tuple[int, int] | None:
    """The integer range of an expression of literals, small results and arithmetic on them,
    when inside an int4's (None: unknown, or past it)."""
    while isinstance(node, exp.Paren):
        node = node.this
    low: int
    high: int
    if isinstance(node, exp.Literal):
        text = str(node.this)
        if node.is_string or not text.isdigit():
            return None
        low = high = int(text)
    elif isinstance(node, _SMALL_RESULTS):
        low, high = 0, 2**30 - 1  # a text or an array is under 1 GB
    elif isinstance(node, exp.Neg):
        inner = _range(node.this)
        if inner is None:
            return None
        low, high = -inner[1], -inner[0]
    elif isinstance(node, exp.Add | exp.Sub | exp.Mul):
        left, right = _range(node.this), _range(node.expression)
        if left is None or right is None:
            return None
        if isinstance(node, exp.Add):
            low, high = left[0] + right[0], left[1] + right[1]
        elif isinstance(node, exp.Sub):
            low, high = left[0] - right[1], left[1] - right[0]
        else:
            corners = [a * b for a in left for b in right]
            low, high = min(corners), max(corners)
    else:
        return None
    return (low, high) if low >= -_INT4_MAX and high <= _INT4_MAX else None


def type_of(
    analysis: Analysis, block: Block, node: exp.Expression, visible: Span | None
) -> str | None:
    """The built-in type of a value, where its form or the schema tells it (None: unknown)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column):
        if isinstance(node.this, exp.Star):
            return None
        source = analysis.resolve(block, node, visible)
        if source is None or source.kind is not SourceKind.TABLE or source.table is None:
            return None
        return analysis.policy.typed_columns.get(source.table, {}).get(identifier_name(node.this))
    if isinstance(node, exp.Cast):
        return cast_target(node)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return None  # unknown: typed by its other operand
        text = str(node.this)
        if not text.isdigit():
            return "numeric"
        return "int4" if int(text) < 2**31 else "int8" if int(text) < 2**63 else "numeric"
    if isinstance(node, _JSON_OPERATORS):
        inner = type_of(analysis, block, node.this, visible)
        return inner if inner in ("json", "jsonb") else None
    if isinstance(node, exp.Nullif):
        return type_of(analysis, block, node.this, visible)  # its first argument's
    if isinstance(node, _CHOICES):
        # PostgreSQL's common type of every branch (`COALESCE(i, n)` of an int4 and an int8 is
        # an int8: round 24b); unknown if any branch's is (a NULL or a quoted literal aside)
        return _common_type(
            [
                _UNTYPED
                if isinstance(b, exp.Null) or (isinstance(b, exp.Literal) and b.is_string)
                else type_of(analysis, block, b, visible)
                for b in _branches(node)
            ]
        )
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        inner = type_of(analysis, block, node.this, visible)
        return "timestamptz" if inner == "date" else inner
    return _RESULT_TYPES.get(type(node))


# PostgreSQL's resolution of a common type within a category: the later type of each order
_WIDENING = (
    ("int2", "int4", "int8", "numeric", "float4", "float8"),
    ("date", "timestamp", "timestamptz"),
)
_UNTYPED = object()  # a NULL or a quoted literal: typed by the other branches


def _branches(node: exp.Expression) -> list[exp.Expression]:
    """The values a COALESCE, GREATEST, LEAST, CASE or IF may give."""
    if isinstance(node, exp.Case):
        found = [i.args.get("true") for i in node.args.get("ifs") or []]
        found.append(node.args.get("default"))  # (no ELSE: NULL)
    elif isinstance(node, exp.If):
        found = [node.args.get("true"), node.args.get("false")]
    else:
        found = [node.this, *node.expressions]
    return [b for b in found if isinstance(b, exp.Expression)]


def _common_type(kinds: list[object]) -> str | None:
    known = [k for k in kinds if k is not _UNTYPED]
    if not known or any(not isinstance(k, str) for k in known):
        return None
    names = [k for k in known if isinstance(k, str)]
    if len(set(names)) == 1:
        return names[0]
    for order in _WIDENING:
        if all(k in order for k in names):
            return max(names, key=order.index)
    return None


# values of a type that is not text-like whatever their operands (a cast of one quotes no text:
# "integer out of range", "cannot cast jsonb string to type integer")
_NONTEXT_RESULTS = (
    exp.TimestampTrunc, exp.DateTrunc, exp.AtTimeZone, exp.Extract, exp.Add, exp.Sub, exp.Mul,
    exp.Div, exp.Mod, exp.Pow, exp.Round, exp.Floor, exp.Ceil, exp.Abs, exp.Interval,
    exp.CurrentTimestamp, exp.CurrentDate, exp.Length, exp.ArraySize, exp.Predicate,
    exp.Connector, exp.Not,
)  # fmt: skip
# `->` and `#>` give JSON of a JSON value — but hstore's `->` gives text: only of a known JSON
_JSON_OPERATORS = (exp.JSONExtract, exp.JSONBExtract)
_JSON_TYPES = frozenset({exp.DataType.Type.JSON, exp.DataType.Type.JSONB})


def _cast_to_nontext(cast: exp.Cast) -> bool:
    """A cast to a built-in type that is not text-like (a domain, an enum, citext — a type of
    the schema — may be text: not so)."""
    to = cast.args.get("to")
    return isinstance(to, exp.DataType) and to.this in _NONTEXT_TYPES and not to.expressions


def _typed_not_text(operand: exp.Expression) -> bool:
    """`_not_text` without columns: by the expression's own form."""
    while isinstance(operand, exp.Paren):
        operand = operand.this
    if isinstance(operand, _NONTEXT_RESULTS) or (
        isinstance(operand, exp.Literal) and not operand.is_string
    ):
        return True
    if isinstance(operand, exp.Cast):
        return _cast_to_nontext(operand)
    if isinstance(operand, _JSON_OPERATORS):
        return _json_value(operand.this)
    return False


# built-ins that return json or jsonb
_JSON_CALLS = frozenset(
    """to_json to_jsonb row_to_json array_to_json json_build_object jsonb_build_object
    json_build_array jsonb_build_array json_object jsonb_object json_agg jsonb_agg
    json_object_agg jsonb_object_agg jsonb_set jsonb_insert jsonb_strip_nulls json_strip_nulls
    jsonb_path_query_array jsonb_path_query_first jsonb_extract_path json_extract_path""".split()  # noqa: SIM905
)


def _json_value(node: exp.Expression) -> bool:
    """A json or jsonb value by its form: a cast to one, a call returning one, `->`/`#>` of one."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Cast):
        to = node.args.get("to")
        return isinstance(to, exp.DataType) and to.this in _JSON_TYPES
    if isinstance(node, _JSON_OPERATORS):
        return _json_value(node.this)
    if isinstance(node, exp.Anonymous):
        return identifier_name(node.this) in _JSON_CALLS
    return isinstance(node, exp.JSONObject | exp.JSONArray | exp.JSONBObjectAgg | exp.JSONObjectAgg)


def _not_text(
    analysis: Analysis, block: Block, operand: exp.Expression, visible: Span | None
) -> bool:
    """A value of a type that is not text-like: a column the schema shows so, a number, the
    result of arithmetic, of a date or JSON operator, a cast to such a type (its own failure is
    another call's), or a coalesce/greatest/least of one."""
    while isinstance(operand, exp.Paren):
        operand = operand.this
    if _typed_not_text(operand):
        return True
    if isinstance(operand, _JSON_OPERATORS):  # `doc -> 'k'` of a column the schema types json
        return _not_text(analysis, block, operand.this, visible)
    if isinstance(operand, exp.Coalesce | exp.Greatest | exp.Least):
        # of one type: every argument not text (a NULL or a number aside)
        arguments = [
            e for e in (operand.this, *operand.expressions) if isinstance(e, exp.Expression)
        ]
        return bool(arguments) and all(
            isinstance(e, exp.Null) or _not_text(analysis, block, e, visible) for e in arguments
        )
    if not isinstance(operand, exp.Column) or isinstance(operand.this, exp.Star):
        return False
    source = analysis.resolve(block, operand, visible)
    if source is None or source.kind is not SourceKind.TABLE or source.table is None:
        return False
    typed = analysis.policy.nontext_columns.get(source.table)
    return typed is not None and identifier_name(operand.this) in typed
