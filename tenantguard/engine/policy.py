"""The policy: which tables hold tenant rows, which column names the tenant, what pins it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from types import MappingProxyType

import sqlglot
from sqlglot import exp

from tenantguard._patterns import lazy_pattern
from tenantguard._records import frozen_record
from tenantguard.engine.sqltext import NAME_CHAR, NAME_START

__all__ = [
    "DEFAULT_TENANT_EXPRESSIONS",
    "HELD_ROWS",
    "INHERITED_ROWS",
    "LOOSE_COLUMN",
    "RENAMED_TENANT",
    "ForeignKey",
    "FunctionPins",
    "Policy",
    "clip_name",
    "fold_name",
    "names_in_text",
    "normalize_name",
    "split_table_name",
    "sql_name",
    "table_name",
]

DEFAULT_TENANT_EXPRESSIONS = ("current_setting('app.tenant_id')",)
# the body `inlined_functions` gives a function of the schema declared cheaper than PostgreSQL's
# default (`COST 1`): its body is not read, it may fail (or raise a notice) on any argument
CHEAP_FUNCTION = "-- a function declared cheap (COST below 100): its body is not read"
# why a tenant table is in `unpinnable` when its own tenant column is the cause
LOOSE_COLUMN = "its tenant column compares loosely"
# why a table with no tenant column is in `unpinnable`: tenant tables inherit from it (INHERITS),
# and a read without ONLY returns their rows
INHERITED_ROWS = "it has no tenant column and tenant tables inherit from it"
# why a table with no tenant column is in `unpinnable`: a column of it holds rows of a row type
# that has the tenant column (`history.old cards`): reading it hands out every tenant's rows
HELD_ROWS = "it has no tenant column and a column of it holds tenant rows"
# why a table with no tenant column is in `unpinnable`: a foreign key of it takes one of its
# columns to a tenant table's tenant column: that column is the tenant column under another name
RENAMED_TENANT = "it has no tenant column but a foreign key takes a column of it to one"


# a composite key's (column, referenced column) pairs besides the tenant column's
KeyPairs = tuple[tuple[str, str], ...]

_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_name(name: str) -> str:
    """An unquoted identifier as PostgreSQL folds it: ASCII letters only (a UTF-8 database
    keeps `Ü`: `Überweisungen` is the table `"Überweisungen"`, not `"überweisungen"`), cut to
    63 bytes (`clip_name`)."""
    folded = name.lower() if name.isascii() else name.translate(_ASCII_FOLD)
    return folded if len(folded) <= _SHORT else clip_name(folded)


# PostgreSQL keeps NAMEDATALEN - 1 bytes of an identifier; a name of up to 15 characters (at
# most 4 bytes each) is never cut
NAME_BYTES = 63
_SHORT = NAME_BYTES // 4


def clip_name(name: str) -> str:
    """An identifier as PostgreSQL keeps it, quoted or not: its first 63 bytes (UTF-8), cut at
    a character's end. `CREATE TABLE` and every query cut a longer name alike (with a NOTICE):
    two names alike in their first 63 bytes are one table, alias or column."""
    if len(name) <= _SHORT:
        return name
    if name.isascii():
        return name[:NAME_BYTES]
    data = name.encode("utf-8", "surrogatepass")
    if len(data) <= NAME_BYTES:
        return name
    return data[:NAME_BYTES].decode("utf-8", "ignore")


def normalize_name(name: str) -> str:
    """Folds a configured name the way PostgreSQL folds an unquoted identifier.

    A name written with double quotes (`"Patients"`) keeps its case, as in SQL.
    """
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return clip_name(name[1:-1].replace('""', '"'))
    return fold_name(name)


def table_name(name: str) -> str:
    """A configured table name, folded: a schema-qualified one (`billing.invoices`,
    `crm."Contacts"`) names its table, as a qualified reference in SQL is matched by its
    table's name (else it would match nothing, and its statements pass unchecked)."""
    return split_table_name(name)[1]


def split_table_name(name: str) -> tuple[str | None, str]:
    """A configured table name's schema (None when not qualified) and table, each folded."""
    name = name.strip()
    quoted, start = False, 0
    for at, char in enumerate(name):
        if char == '"':
            quoted = not quoted  # a doubled quote inside a quoted name toggles twice
        elif char == "." and not quoted:
            start = at + 1
    schema = table_name(name[: start - 1]) if start else None
    return schema, normalize_name(name[start:])


# a word as Python's regular expressions see one (letters of any script)
_IDENTIFIER_WORD = lazy_pattern(r"[^\W\d][\w$]*")
_PLAIN_NAME = lazy_pattern(r"[a-z_][a-z0-9_$]*\Z")


# an unquoted identifier as PostgreSQL's scanner reads one: every non-ASCII character is a
# letter to it (`données€` is one name), where Python's `\w` stops at `€` (sqltext.NAME_START)
_SERVER_WORD = lazy_pattern(f"{NAME_START}{NAME_CHAR}*")


def names_in_text(text: str, names: AbstractSet[str], *, escapes: bool = True) -> set[str]:
    """Which of `names` (exact names, as the catalog keeps them) `text` may name, for a text
    the proof does not read (dynamic SQL, a function's definition): a superset.

    A word counts as written (a quoted identifier, a value given to `%I` or `quote_ident`) and
    folded as PostgreSQL folds it (ASCII letters only); a name that is no word, by a substring
    test of its text, bare and as quoted: pairing double quotes is defeated by one in a string
    or a comment. Unicode escapes (`U&"…"`) may spell any name: all of them count (unless
    `escapes` is false: the caller says so of them itself)."""
    if not names:
        return set()
    if escapes and ('u&"' in text or 'U&"' in text):
        return set(names)
    written = {*_IDENTIFIER_WORD.findall(text), *_SERVER_WORD.findall(text)}
    found = {*written, *map(fold_name, written)} & names
    found.update(
        name
        for name in names
        if name not in found
        and not _IDENTIFIER_WORD.fullmatch(name)
        and not _SERVER_WORD.fullmatch(name)
        and (name in text or name.replace('"', '""') in text)
    )
    return found


def sql_name(name: str) -> str:
    """A name as it must be written in SQL to mean it: quoted unless it is all lower case
    (`userId` is written `"userId"`), for the fixes the rules suggest."""
    return name if _PLAIN_NAME.match(name) else '"' + name.replace('"', '""') + '"'


def _names(values: Iterable[str], fold: Callable[[str], str] = normalize_name) -> frozenset[str]:
    if isinstance(values, str):
        values = [part for part in values.split(",") if part.strip()]
    return frozenset(fold(value) for value in values)


@frozen_record
class ForeignKey:
    """A validated, immediate foreign key of the schema: `columns` of the referencing table
    reference `ref_columns` of `ref_table`, pair by pair."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]

    __slots__ = __match_args__ = ("columns", "ref_table", "ref_columns")

    def __init__(
        self, columns: tuple[str, ...], ref_table: str, ref_columns: tuple[str, ...]
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "columns", columns)
        set_field(self, "ref_table", ref_table)
        set_field(self, "ref_columns", ref_columns)


@frozen_record
class FunctionPins:
    """A function of the schema whose body pins its rows by some of its parameters: a call is
    pinned when the arguments in those positions (or given by those names) are."""

    positions: frozenset[int]  # 0-based
    names: frozenset[str]
    # of those parameters, the ones whose DEFAULT is a tenant expression: (position, name, the
    # expression's index in `tenant_expressions`) — a call that leaves it out is pinned by it
    defaults: frozenset[tuple[int, str, int]]

    __slots__ = __match_args__ = ("positions", "names", "defaults")

    def __init__(
        self,
        positions: frozenset[int],
        names: frozenset[str],
        defaults: frozenset[tuple[int, str, int]] = frozenset(),
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "positions", positions)
        set_field(self, "names", names)
        set_field(self, "defaults", defaults)


def strip_casts(node: exp.Expression) -> exp.Expression:
    while isinstance(node, (exp.Cast, exp.TryCast, exp.Paren)):
        node = node.this
    return node


def parse_tenant_expression(text: str) -> exp.Expression:
    """A configured tenant expression's tree (casts stripped); ValueError when it is none."""
    return _parse_expression(text)


def _parse_expression(text: str) -> exp.Expression:
    if not text.strip():
        raise ValueError("a tenant expression is empty")
    try:
        parsed = sqlglot.parse_one(text, read="postgres")
    except sqlglot.errors.SqlglotError as error:
        # the first line: the next ones are sqlglot's excerpt, with terminal underline codes
        said = str(error).split("\n")[0]
        raise ValueError(f"tenant expression {text!r} is not valid SQL: {said}") from error
    if not isinstance(parsed, exp.Expression):
        raise ValueError(f"tenant expression {text!r} is not an expression")
    return _plain_arguments(strip_casts(parsed))


# the nodes `tenant_expression_index` rewrites before comparing (`_setting_call`): calls, and
# `pg_catalog.current_setting(…)`; any other node is compared as it is
_CALL_SHAPES = (exp.Anonymous, exp.Dot)


def _plain_arguments(node: exp.Expression) -> exp.Expression:
    """`current_setting('app.tenant_id'::text)` -> `current_setting('app.tenant_id')`: a
    string literal cast to text is the same value, and it is how PostgreSQL prints the call
    back (pg_get_viewdef, pg_get_ruledef, pg_dump, psql's \\d+): a view, rule or dump pinned
    by the tenant setting reads so (s38: the runtime guard read such a view's pin as another
    value than the configured expression's). Only a call's direct arguments, only that cast."""
    if not isinstance(node, exp.Anonymous) or not any(
        isinstance(a, exp.Cast) for a in node.expressions
    ):
        return node
    arguments = [
        a.this
        if isinstance(a, exp.Cast)
        and isinstance(a.this, exp.Literal)
        and a.this.is_string
        and a.to.this in (exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR)
        and not a.to.expressions
        else a
        for a in node.expressions
    ]
    return exp.Anonymous(this=node.this, expressions=arguments)


# the columns of PostgreSQL 15's catalogs (pg_catalog, information_schema) of type name (63
# bytes: longer values are cut), "char" (one byte) or sql_identifier (a domain over name), and
# the SQL value functions PostgreSQL parses as columns (`current_role`, `user`: name): a
# parameter compared with one is typed so for the whole statement (round 12)
CATALOG_LOSSY_COLUMNS = frozenset(
    {
        "action_reference_new_row", "action_reference_new_table", "action_reference_old_row",
        "action_reference_old_table", "aggfinalmodify", "aggkind", "aggmfinalmodify", "amname",
        "amoppurpose", "amtype", "attalign", "attcompression", "attgenerated", "attidentity",
        "attname", "attribute_name", "attribute_udt_catalog", "attribute_udt_name",
        "attribute_udt_schema", "attstorage", "authorization_identifier", "castcontext",
        "castmethod", "catalog_name", "cfgname", "character_repertoire",
        "character_set_catalog", "character_set_name", "character_set_schema",
        "collation_catalog", "collation_name", "collation_schema", "collection_type_identifier",
        "collname", "collprovider", "column_name", "confdeltype", "confmatchtype",
        "confupdtype", "conname", "constraint_catalog", "constraint_name", "constraint_schema",
        "contype", "current_role", "database", "datlocprovider", "datname", "defaclobjtype",
        "default_character_set_catalog", "default_character_set_name",
        "default_character_set_schema", "default_collate_catalog", "default_collate_name",
        "default_collate_schema", "dependent_column", "deptype", "dictname", "domain_catalog",
        "domain_name", "domain_schema", "dtd_identifier", "enumlabel", "ev_enabled", "ev_type",
        "event_object_catalog", "event_object_column", "event_object_schema",
        "event_object_table", "evtenabled", "evtevent", "evtname", "extname", "fdwname",
        "foreign_data_wrapper_catalog", "foreign_data_wrapper_name", "foreign_server_catalog",
        "foreign_server_name", "foreign_table_catalog", "foreign_table_name",
        "foreign_table_schema", "form_of_use", "funcname", "grantee", "grantor", "groname",
        "group_name", "indexname", "indexrelname", "lanname", "matviewname", "matviewowner",
        "module_catalog", "module_name", "module_schema", "name", "nspname", "object_catalog",
        "object_name", "object_schema", "opcname", "opfname", "oprkind", "oprname",
        "option_name", "ordering_routine_catalog", "ordering_routine_name",
        "ordering_routine_schema", "owner", "parameter_name", "partstrat", "plugin", "polcmd",
        "policyname", "polname", "privtype", "prokind", "proname", "proparallel", "provolatile",
        "prsname", "pubname", "ref_dtd_identifier", "relkind", "relname", "relpersistence",
        "relreplident", "result_cast_char_set_catalog", "result_cast_char_set_name",
        "result_cast_char_set_schema", "result_cast_collation_catalog",
        "result_cast_collation_name", "result_cast_collation_schema",
        "result_cast_dtd_identifier", "result_cast_scope_catalog", "result_cast_scope_name",
        "result_cast_scope_schema", "result_cast_type_udt_catalog", "result_cast_type_udt_name",
        "result_cast_type_udt_schema", "role_name", "rolname", "routine_catalog",
        "routine_name", "routine_schema", "rulename", "schema", "schema_name", "schema_owner",
        "schemaname", "scope_catalog", "scope_name", "scope_schema",
        "self_referencing_column_name", "sequence_catalog", "sequence_name", "sequence_schema",
        "sequencename", "sequenceowner", "slot_name", "source_dtd_identifier", "spcname",
        "specific_catalog", "specific_name", "specific_schema", "srsubstate", "srvname",
        "srvowner", "statistics_name", "statistics_owner", "statistics_schemaname", "stxname",
        "subname", "subslotname", "subtwophasestate", "table_catalog", "table_name",
        "table_schema", "tablename", "tableowner", "tablespace", "tgenabled", "tgname",
        "tgnewtable", "tgoldtable", "tmplname", "to_sql_specific_catalog",
        "to_sql_specific_name", "to_sql_specific_schema", "trigger_catalog", "trigger_name",
        "trigger_schema", "typalign", "typcategory", "typdelim", "type_udt_catalog",
        "type_udt_name", "type_udt_schema", "typname", "typstorage", "typtype", "udt_catalog",
        "udt_name", "udt_schema", "unique_constraint_catalog", "unique_constraint_name",
        "unique_constraint_schema", "usename", "user", "user_defined_type_catalog",
        "user_defined_type_name", "user_defined_type_schema", "view_catalog", "view_name",
        "view_schema", "viewname", "viewowner",
    }
)  # fmt: skip


class Policy:
    """What the tenant proof needs to know about a schema.

    `tenant_tables` lists the tables that hold rows of many tenants (folded like unquoted SQL
    names); `table_columns` and `constraint_columns` are what the schema sources showed, used to
    tell which source owns an unqualified column and which `ON CONSTRAINT` covers the tenant.
    A policy is immutable once built.
    """

    __slots__ = (
        "_catalog_typed",
        "_content_key",
        "_expression_trees",
        "allow_multi_tenant",
        "cascades",
        "chained_columns",
        "checked_foreign_keys",
        "collated_tables",
        "composite_key_firsts",
        "composite_key_names",
        "composite_key_pairs",
        "composite_keys",
        "composite_keys_by_first",
        "constraint_columns",
        "exact_domains",
        "exact_functions",
        "extension_functions",
        "failing_columns",
        "failing_views",
        "foreign_keys",
        "functions",
        "global_homes",
        "global_tables",
        "hidden_writes",
        "homed_tenant_places",
        "inlined_functions",
        "integer_tenant_tables",
        "leaky_defaults",
        "leaky_operators",
        "leaky_types",
        "loose_arbiters",
        "lossy_arguments",
        "lossy_columns",
        "mixed_case_tables",
        "nontext_columns",
        "not_null_tenant_tables",
        "pinned_relations",
        "pinning_function_needles",
        "pinning_functions",
        "relation_homes",
        "renaming_views",
        "row_changers",
        "search_path",
        "setting_functions",
        "setting_indices",
        "setting_pinned",
        "setting_views",
        "shared_rows",
        "spanning_keys",
        "spelled_call_needles",
        "spelled_calls",
        "stable_functions",
        "table_columns",
        "tenant_column",
        "tenant_column_lengths",
        "tenant_column_types",
        "tenant_copies",
        "tenant_defaults",
        "tenant_expressions",
        "tenant_places",
        "tenant_root",
        "tenant_root_key",
        "tenant_sources",
        "tenant_table_needles",
        "tenant_tables",
        "tenant_types_exact",
        "typed_columns",
        "unique_key_names",
        "unique_keys",
        "unpinnable",
        "view_tenant_names",
        "volatile_operators",
        "volatile_views",
        "write_views",
    )

    tenant_column: str
    tenant_tables: frozenset[str]
    mixed_case_tables: bool  # a tenant table whose name is not all lower case (quoted)
    # the tenant tables' names folded, to screen a statement's folded text by substring; None
    # when that cannot decide (too many tables to test one by one, a name with a quote in it)
    tenant_table_needles: tuple[str, ...] | None
    global_tables: frozenset[str]
    tenant_expressions: tuple[str, ...]
    allow_multi_tenant: bool
    table_columns: Mapping[str, frozenset[str]]
    constraint_columns: Mapping[str, frozenset[str]]
    tenant_root: str | None
    tenant_root_key: str
    shared_rows: bool
    foreign_keys: Mapping[str, tuple[ForeignKey, ...]]
    # every foreign key of the schema sources, those NOT VALID (new rows are checked still) and
    # DEFERRABLE (checked at commit) too: a write giving one a value is checked against the
    # referenced rows (`engine.referencing_keys`)
    checked_foreign_keys: Mapping[str, tuple[ForeignKey, ...]]
    unique_keys: Mapping[str, tuple[frozenset[str], ...]]
    unique_key_names: frozenset[str]  # the columns of its one-column keys
    # per table, the column sets a write's value is checked against every tenant's rows by:
    # a unique key or exclusion constraint without the tenant column, but the primary key (the
    # runtime guard reads them in the catalog: `engine.spanning_keys`)
    spanning_keys: Mapping[str, tuple[frozenset[str], ...]]
    # the C functions of the database outside pg_catalog (extensions'), with their least
    # procost: the runtime guard reads them in the catalog (TG013: they may fail on a value)
    extension_functions: Mapping[str, float]
    unpinnable: Mapping[str, str]
    # tables whose tenant column the schema shows to be of an integer type / NOT NULL
    integer_tenant_tables: frozenset[str]
    not_null_tenant_tables: frozenset[str]
    # tables whose row an INSERT or UPDATE writes a BEFORE row trigger or a rule may change
    # before RETURNING reads it (schema sources): its new foreign key is not the one written
    row_changers: frozenset[str]
    pinning_functions: Mapping[str, FunctionPins]
    # those functions' names as written between double quotes, folded: a substring of the
    # statement's folded text however it writes them (`"CountOf"` keeps its case)
    pinning_function_needles: tuple[str, ...]
    # the names the schema sources create as functions (a tenant table may be one)
    functions: frozenset[str]
    # the schema's functions and views that may change a setting a tenant expression reads:
    # beside a call (or read) of one, the expression pins nothing
    setting_functions: frozenset[str]
    # views and functions known to filter their rows by the tenant setting (the runtime guard
    # finds them in the catalog): read as pinned inside by it (TG013), schema sources or not
    setting_views: frozenset[str]
    # views and functions of the schema sources pinned inside by the tenant setting: a read of
    # one pins the statement to the tenant expression (TG012 beside a pin to another value)
    setting_pinned: frozenset[str]
    # of those, the ones pinned by one tenant expression only, every query of theirs by the same
    # one (which, by index): a read of one is a pin to that expression, equal to its other pins
    setting_indices: Mapping[str, int]
    # names of columns (of any table) whose type rounds, pads, truncates or compares loosely
    # (real, double precision, char(n), name, citext…): a parameter compared with one is typed
    # so for the whole statement, and pins nothing (the tenant column is never among them)
    lossy_columns: frozenset[str]
    # tenant tables whose tenant column defaults to a tenant expression (which one, by index):
    # an INSERT that leaves the column out writes the setting's tenant
    tenant_defaults: Mapping[str, int]
    # tenant tables whose tenant column is generated (`GENERATED ALWAYS AS (owner) STORED`): the
    # columns its expression reads, whose UPDATE moves the row to another tenant
    tenant_sources: Mapping[str, frozenset[str]]
    # tenant tables whose tenant column is generated as a copy of one column (`GENERATED ALWAYS
    # AS (owner) STORED`, or an exact cast of it; `owner` of no lossy type): that column, which
    # an INSERT may give the tenant value in the tenant column's stead
    tenant_copies: Mapping[str, str]
    # the functions a statement must not call out of the proof's sight: tenant tables that are
    # functions, and pinning functions; and their names as written quoted, folded (a screen)
    spelled_calls: frozenset[str]
    spelled_call_needles: tuple[str, ...]
    # table -> what its DELETE / UPDATE (of these columns, "*" its key) does to tenant tables
    # through their foreign keys' ON DELETE / ON UPDATE actions
    cascades: Mapping[str, Mapping[str, frozenset[str]]]
    # relation -> kind of write (INSERT, UPDATE, DELETE, TRUNCATE) -> the trigger or rule it
    # runs that reaches tenant rows unpinned, and why (schema sources)
    hidden_writes: Mapping[str, Mapping[str, str]]
    # relation -> column -> why its default (evaluated by an INSERT that leaves the column out,
    # or writes DEFAULT) reads tenant rows unpinned (schema sources)
    leaky_defaults: Mapping[str, Mapping[str, str]]
    # domain -> why a value cast to it reaches tenant rows unpinned: its CHECK calls a function
    # that does (schema sources)
    leaky_types: Mapping[str, str]
    # operator symbol -> the function it calls, which reaches tenant rows (`CREATE OPERATOR <<<
    # (…, FUNCTION = zap)`; schema sources)
    leaky_operators: Mapping[str, str]
    # table -> (referenced table, its (column, referenced column) pairs besides the tenant's)
    composite_keys: Mapping[str, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]]
    # every (column, referenced column) of those keys, both ways round
    composite_key_pairs: frozenset[tuple[str, str]]
    # every column name of those pairs (a compared column of another name stands on no key)
    composite_key_names: frozenset[str]
    composite_keys_by_first: Mapping[tuple[str, str, str], tuple[tuple[int, str, KeyPairs], ...]]
    composite_key_firsts: frozenset[tuple[str, str]]
    # domains of the schema a cast to which keeps `=` exact (`CREATE DOMAIN acct_id AS bigint`):
    # name -> (schema, builtin base type: int2, int4, int8, numeric, text, varchar or uuid)
    exact_domains: Mapping[str, tuple[str, str]]
    # functions of the schema whose calls take and return exact types only (no built-in of the
    # name): a call is neither of a lossy type nor types its arguments so
    exact_functions: frozenset[str]
    # function names (and `schema.name`) every known definition of which is IMMUTABLE or
    # STABLE: the schema's, its contrib extensions' (see SchemaInfo.stable_functions); a call of
    # any other function the schema creates, or that is not built in, is VOLATILE, PostgreSQL's
    # default (a CTE calling one is materialized)
    stable_functions: frozenset[str]
    # each tenant table's tenant column type, where the schema is sure of it (`int8`, `text`,
    # a domain's name): a filter on a set operation's output is pushed into its branches only
    # when each branch's column is of the very same type
    tenant_column_types: Mapping[str, str]
    # each table's tenant column's place among its columns (0-based), where the schema sources
    # show every column in order and the name is one table's (round 35, h35B): an INSERT with no
    # column list, or a `*` of the table, gives or reads its tenant column at that place
    tenant_places: Mapping[str, int]
    # the same for a name held in several schemas (round 36, h36B2), name -> schema -> place,
    # where the schema sources show that schema's table's columns in order (a plain CREATE
    # TABLE named by no DDL since): an INSERT into the name reaches the schema it names, or
    # the one the search path reads (`resolved_schema`)
    homed_tenant_places: Mapping[str, Mapping[str, int]]
    # each table's tenant column's length where the schema shows one `varchar(n)` (round 36,
    # h36B): `org::varchar(m)` with m >= n is the column's value (nothing is cut)
    tenant_column_lengths: Mapping[str, int]
    # round 35 (h35B): a tenant table's name that a schema also holds without the tenant column
    # (schema sources: a plain table named by no DDL since), name -> those schemas; every schema
    # holding a name with one of them (name -> schemas); and the search path the application's
    # sessions run under (config `search_path`). An unqualified name is the table of the first
    # schema of the path that holds it (`countries` is public's, global, though
    # `archive.countries` has the tenant column); "$user" first: unknown
    global_homes: Mapping[str, frozenset[str]]
    relation_homes: Mapping[str, frozenset[str]]
    search_path: tuple[str, ...]
    # each table's columns the schema shows of a built-in type that is not text-like (a
    # timestamp, a number…): a cast of one never fails quoting a row's text (TG013)
    nontext_columns: Mapping[str, frozenset[str]]
    # each table's columns the schema shows of one built-in type, sure, with that type's
    # internal name (`int8`, `jsonb`, `timestamptz`): a cast of one that narrows it (`n::int`
    # of a bigint) or a sum that overflows fails on some values, one that widens it never (TG013)
    typed_columns: Mapping[str, Mapping[str, str]]
    # the schema's SQL functions PostgreSQL may inline into the query that calls them (LANGUAGE
    # sql, one expression, not a set): name -> the body's text. A call of one costs what its
    # body costs, and fails where its body fails (TG013). A function declared cheap (`COST 1`)
    # maps to CHEAP_FUNCTION: it may fail on anything
    inlined_functions: Mapping[str, str]
    # views whose query calls a volatile function (a CTE reading one is materialized)
    volatile_views: frozenset[str]
    # views of the schema sources pinned from outside whose own conditions may fail on a row
    # (`100 / (points - 8) <> 0`): PostgreSQL runs them in the view's scan before a pushed pin
    # that costs as much or more, on every tenant's rows -> the dearest pin known to run first
    # (in TG013's operator units, from above; TG013, round 33)
    failing_views: Mapping[str, float]
    # views of the schema sources pinned from outside -> their output columns computed by an
    # expression that may fail (`100 / (points - 8) AS r`): a reader's condition on one is
    # pushed into the view's scan, and runs there before any pin dearer than `tenant_id = V`
    # (TG013, round 33)
    failing_columns: Mapping[str, frozenset[str]]
    # views of the schema sources pinned from outside -> their output columns read from a
    # source of the view's query pinned only through a join (a key): a reader's condition on
    # one is pushed into that source's scan and runs there, on every tenant's rows, before the
    # join that pins them, whatever the pin costs (TG013, h38A: `v_lesson_org … WHERE org_id =
    # $1 AND 600 / minutes > 0` of `lessons l JOIN courses c ON c.id = l.course_id`)
    chained_columns: Mapping[str, frozenset[str]]
    # of the `unpinnable` tables whose tenant column compares loosely, those whose type is text
    # or varchar, loose by its collation only: an equality with an explicit deterministic
    # COLLATE ("C", "POSIX", "default", ucs_basic) compares it exactly, and pins it
    collated_tables: frozenset[str]
    # views of the tenant relations that show their tenant column under another name, pinned
    # from outside by that one (`v (email, org_id) AS SELECT org_id, email …`: `email`)
    view_tenant_names: Mapping[str, str]
    # tenant tables with a unique index comparing the tenant column otherwise than `=` does (a
    # collation that is not deterministic, an operator class): an ON CONFLICT target naming the
    # column plainly infers it, and 'acme''s insert lands on 'ACME''s row
    loose_arbiters: frozenset[str]
    # updatable views of the schema sources that show another column of their table under the
    # tenant column's name: an INSERT naming it writes that other column
    renaming_views: frozenset[str]
    # updatable views over a tenant table that are no tenant relation themselves (pinned inside
    # by the tenant setting, say) -> the names they show the table's tenant column under ((): not
    # shown; ("?",): unknown, the view's columns unread). A write through one is a write of the
    # table: PostgreSQL filters neither an INSERT's values, nor the row ON CONFLICT DO UPDATE
    # finds, nor an UPDATE's new values by the view's WHERE (round 22)
    write_views: Mapping[str, tuple[str, ...]]
    # relations every row of which is of the tenant one of `tenant_expressions` (by its text)
    # names: a trigger's transition tables (`REFERENCING NEW TABLE AS n`) hold the rows the
    # write of a tenant table wrote, as NEW does (round 22)
    pinned_relations: Mapping[str, str]
    # the schema's operators (symbols) and casts (`cast:type`, `cast:*`) of volatile functions
    volatile_operators: frozenset[str]
    # functions of the schema -> the positions of their parameters of a lossy type (`f(t real)`;
    # -(p + 1): p and every position after it): a bare bind parameter given there is typed so
    lossy_arguments: Mapping[str, frozenset[int]]
    _expression_trees: tuple[exp.Expression, ...]
    _catalog_typed: Policy | None
    _content_key: str | None
    # do two tables' tenant columns compare exactly whichever two they are (every tenant column
    # type told of one exact family)? None until the proof first asks (`blocks.exact_comparison`)
    tenant_types_exact: bool | None

    def __init__(
        self,
        tenant_column: str = "tenant_id",
        tenant_tables: Iterable[str] = (),
        *,
        global_tables: Iterable[str] = (),
        tenant_expressions: Iterable[str] = DEFAULT_TENANT_EXPRESSIONS,
        allow_multi_tenant: bool = False,
        table_columns: Mapping[str, Iterable[str]] | None = None,
        constraint_columns: Mapping[str, Iterable[str]] | None = None,
        tenant_root: str | None = None,
        tenant_root_key: str = "id",
        shared_rows: bool = False,
        foreign_keys: Mapping[str, Iterable[ForeignKey]] | None = None,
        checked_foreign_keys: Mapping[str, Iterable[ForeignKey]] | None = None,
        unique_keys: Mapping[str, Iterable[Iterable[str]]] | None = None,
        unpinnable: Mapping[str, str] | None = None,
        pinning_functions: Mapping[str, FunctionPins] | None = None,
        cascades: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
        functions: Iterable[str] = (),
        tenant_defaults: Mapping[str, int] | None = None,
        setting_functions: Iterable[str] = (),
        setting_views: Iterable[str] = (),
        setting_pinned: Iterable[str] = (),
        setting_indices: Mapping[str, int] | None = None,
        integer_tenant_tables: Iterable[str] = (),
        not_null_tenant_tables: Iterable[str] = (),
        row_changers: Iterable[str] = (),
        tenant_sources: Mapping[str, Iterable[str]] | None = None,
        lossy_columns: Iterable[str] = (),
        hidden_writes: Mapping[str, Mapping[str, str]] | None = None,
        leaky_defaults: Mapping[str, Mapping[str, str]] | None = None,
        leaky_types: Mapping[str, str] | None = None,
        leaky_operators: Mapping[str, str] | None = None,
        tenant_copies: Mapping[str, str] | None = None,
        exact_domains: Mapping[str, Iterable[str]] | None = None,
        exact_functions: Iterable[str] = (),
        lossy_arguments: Mapping[str, Iterable[int]] | None = None,
        stable_functions: Iterable[str] = (),
        volatile_views: Iterable[str] = (),
        failing_views: Mapping[str, float] | None = None,
        failing_columns: Mapping[str, Iterable[str]] | None = None,
        chained_columns: Mapping[str, Iterable[str]] | None = None,
        collated_tables: Iterable[str] = (),
        view_tenant_names: Mapping[str, str] | None = None,
        renaming_views: Iterable[str] = (),
        write_views: Mapping[str, Iterable[str]] | None = None,
        pinned_relations: Mapping[str, str] | None = None,
        loose_arbiters: Iterable[str] = (),
        volatile_operators: Iterable[str] = (),
        tenant_column_types: Mapping[str, str] | None = None,
        tenant_places: Mapping[str, int] | None = None,
        tenant_column_lengths: Mapping[str, int] | None = None,
        homed_tenant_places: Mapping[str, Mapping[str, int]] | None = None,
        global_homes: Mapping[str, Iterable[str]] | None = None,
        relation_homes: Mapping[str, Iterable[str]] | None = None,
        search_path: Iterable[str] = ("$user", "public"),
        nontext_columns: Mapping[str, Iterable[str]] | None = None,
        typed_columns: Mapping[str, Mapping[str, str]] | None = None,
        inlined_functions: Mapping[str, str] | None = None,
        spanning_keys: Mapping[str, Iterable[Iterable[str]]] | None = None,
        extension_functions: Mapping[str, float] | None = None,
    ) -> None:
        if not isinstance(tenant_column, str) or not tenant_column.strip():
            raise ValueError("tenant_column must be a non-empty column name")
        init = object.__setattr__
        init(self, "tenant_column", normalize_name(tenant_column))
        init(self, "global_tables", _names(global_tables, table_name))
        init(self, "tenant_tables", _names(tenant_tables, table_name) - self.global_tables)
        init(self, "mixed_case_tables", any(t != t.lower() for t in self.tenant_tables))
        screenable = len(self.tenant_tables) <= 256 and not any(
            '"' in t for t in self.tenant_tables
        )
        init(
            self,
            "tenant_table_needles",
            tuple(sorted({t.lower() for t in self.tenant_tables})) if screenable else None,
        )
        init(self, "tenant_expressions", tuple(tenant_expressions))
        init(
            self, "_expression_trees", tuple(_parse_expression(e) for e in self.tenant_expressions)
        )
        init(self, "allow_multi_tenant", bool(allow_multi_tenant))
        init(
            self,
            "table_columns",
            MappingProxyType(
                {normalize_name(k): _names(v) for k, v in (table_columns or {}).items()}
            ),
        )
        init(
            self,
            "constraint_columns",
            MappingProxyType(
                {normalize_name(k): _names(v) for k, v in (constraint_columns or {}).items()}
            ),
        )
        init(self, "tenant_root", normalize_name(tenant_root) if tenant_root else None)
        init(self, "tenant_root_key", normalize_name(tenant_root_key))
        init(self, "shared_rows", bool(shared_rows))
        init(
            self,
            "foreign_keys",
            MappingProxyType({k: tuple(v) for k, v in (foreign_keys or {}).items()}),
        )
        init(
            self,
            "checked_foreign_keys",
            MappingProxyType({k: tuple(v) for k, v in (checked_foreign_keys or {}).items()}),
        )
        init(
            self,
            "unique_keys",
            MappingProxyType(
                {k: tuple(frozenset(key) for key in v) for k, v in (unique_keys or {}).items()}
            ),
        )
        # the columns unique by themselves in some table (a screen of `j.id = b.id`)
        singles = {c for keys in self.unique_keys.values() for k in keys if len(k) == 1 for c in k}
        init(self, "unique_key_names", frozenset(singles))
        init(self, "spanning_keys", _spanning_keys(spanning_keys or {}))
        init(
            self,
            "extension_functions",
            MappingProxyType({str(k): float(v) for k, v in (extension_functions or {}).items()}),
        )
        init(self, "unpinnable", MappingProxyType(dict(unpinnable or {})))
        init(self, "integer_tenant_tables", _names(integer_tenant_tables))
        init(self, "not_null_tenant_tables", _names(not_null_tenant_tables))
        init(self, "row_changers", _names(row_changers))
        init(self, "pinning_functions", MappingProxyType(dict(pinning_functions or {})))
        init(
            self,
            "pinning_function_needles",
            tuple(sorted({f.replace('"', '""').lower() for f in self.pinning_functions})),
        )
        init(self, "functions", _names(functions))
        init(self, "setting_functions", _names(setting_functions))
        init(self, "setting_views", _names(setting_views))
        init(self, "setting_pinned", _names(setting_pinned))
        init(
            self,
            "setting_indices",
            MappingProxyType(
                {
                    normalize_name(k): int(v)
                    for k, v in (setting_indices or {}).items()
                    if 0 <= int(v) < len(self.tenant_expressions)
                }
            ),
        )
        init(self, "lossy_columns", _names(lossy_columns) - {self.tenant_column})
        init(self, "_catalog_typed", None)
        init(self, "_content_key", None)
        init(self, "tenant_types_exact", None)
        init(
            self,
            "tenant_defaults",
            MappingProxyType(
                {
                    normalize_name(k): int(v)
                    for k, v in (tenant_defaults or {}).items()
                    if 0 <= int(v) < len(self.tenant_expressions)
                }
            ),
        )
        init(
            self,
            "tenant_sources",
            MappingProxyType(
                {normalize_name(k): _names(v) for k, v in (tenant_sources or {}).items()}
            ),
        )
        init(
            self,
            "tenant_copies",
            MappingProxyType(
                {
                    normalize_name(k): normalize_name(v)
                    for k, v in (tenant_copies or {}).items()
                    if normalize_name(v) != self.tenant_column
                }
            ),
        )
        domains: dict[str, tuple[str, str]] = {}
        for name, where in (exact_domains or {}).items():
            schema, base = (normalize_name(part) for part in where)
            domains[normalize_name(name)] = (schema, base)
        init(self, "exact_domains", MappingProxyType(domains))
        init(self, "exact_functions", _names(exact_functions))
        init(self, "stable_functions", _names(stable_functions))
        init(self, "volatile_views", _names(volatile_views))
        init(
            self,
            "failing_views",
            MappingProxyType(
                {normalize_name(v): float(c) for v, c in (failing_views or {}).items()}
            ),
        )
        init(
            self,
            "failing_columns",
            MappingProxyType(
                {normalize_name(v): _names(cs) for v, cs in (failing_columns or {}).items()}
            ),
        )
        init(
            self,
            "chained_columns",
            MappingProxyType(
                {normalize_name(v): _names(cs) for v, cs in (chained_columns or {}).items()}
            ),
        )
        init(self, "collated_tables", _names(collated_tables, table_name))
        init(
            self,
            "view_tenant_names",
            MappingProxyType(
                {table_name(k): normalize_name(v) for k, v in (view_tenant_names or {}).items()}
            ),
        )
        init(self, "renaming_views", _names(renaming_views))
        init(
            self,
            "pinned_relations",
            MappingProxyType({table_name(r): e for r, e in (pinned_relations or {}).items()}),
        )
        init(
            self,
            "write_views",
            MappingProxyType(
                {
                    table_name(v): tuple(c if c == "?" else normalize_name(c) for c in names)
                    for v, names in (write_views or {}).items()
                }
            ),
        )
        init(self, "loose_arbiters", _names(loose_arbiters))
        init(self, "volatile_operators", frozenset(volatile_operators))
        init(
            self,
            "tenant_column_types",
            MappingProxyType(
                {table_name(t): str(k) for t, k in (tenant_column_types or {}).items()}
            ),
        )
        init(
            self,
            "global_homes",
            MappingProxyType(
                {table_name(t): frozenset(h) for t, h in (global_homes or {}).items() if h}
            ),
        )
        init(
            self,
            "relation_homes",
            MappingProxyType(
                {table_name(t): frozenset(h) for t, h in (relation_homes or {}).items()}
            ),
        )
        init(self, "search_path", tuple(normalize_name(e) for e in search_path))
        init(
            self,
            "tenant_places",
            MappingProxyType({table_name(t): int(k) for t, k in (tenant_places or {}).items()}),
        )
        init(
            self,
            "homed_tenant_places",
            MappingProxyType(
                {
                    table_name(t): MappingProxyType(
                        {normalize_name(h): int(k) for h, k in homes.items()}
                    )
                    for t, homes in (homed_tenant_places or {}).items()
                }
            ),
        )
        init(
            self,
            "tenant_column_lengths",
            MappingProxyType(
                {table_name(t): int(k) for t, k in (tenant_column_lengths or {}).items()}
            ),
        )
        init(
            self,
            "nontext_columns",
            MappingProxyType(
                {table_name(t): _names(c) for t, c in (nontext_columns or {}).items()}
            ),
        )
        init(
            self,
            "typed_columns",
            MappingProxyType(
                {
                    table_name(t): MappingProxyType(
                        {normalize_name(c): str(k).lower() for c, k in columns.items()}
                    )
                    for t, columns in (typed_columns or {}).items()
                }
            ),
        )
        init(
            self,
            "inlined_functions",
            MappingProxyType(
                {normalize_name(f): str(b) for f, b in (inlined_functions or {}).items()}
            ),
        )
        init(
            self,
            "lossy_arguments",
            MappingProxyType(
                {normalize_name(k): frozenset(v) for k, v in (lossy_arguments or {}).items()}
            ),
        )
        calls = (self.tenant_tables & self.functions) | self.pinning_functions.keys()
        init(self, "spelled_calls", frozenset(calls))
        init(
            self,
            "spelled_call_needles",
            tuple(sorted({f.replace('"', '""').lower() for f in calls})),
        )
        init(
            self,
            "cascades",
            MappingProxyType(
                {
                    t: MappingProxyType({k: frozenset(c) for k, c in kinds.items()})
                    for t, kinds in (cascades or {}).items()
                }
            ),
        )
        init(
            self,
            "hidden_writes",
            MappingProxyType(
                {
                    t: MappingProxyType(dict(kinds))
                    for t, kinds in (hidden_writes or {}).items()
                    if kinds
                }
            ),
        )
        init(
            self,
            "leaky_defaults",
            MappingProxyType(
                {
                    normalize_name(t): MappingProxyType(
                        {normalize_name(c): why for c, why in columns.items()}
                    )
                    for t, columns in (leaky_defaults or {}).items()
                    if columns
                }
            ),
        )
        init(
            self,
            "leaky_types",
            MappingProxyType({normalize_name(t): why for t, why in (leaky_types or {}).items()}),
        )
        init(self, "leaky_operators", MappingProxyType(dict(leaky_operators or {})))
        init(self, "composite_keys", MappingProxyType(self._composite_keys()))
        pairs = {p for keys in self.composite_keys.values() for _, rest in keys for p in rest}
        init(self, "composite_key_pairs", frozenset(pairs | {(r, c) for c, r in pairs}))
        init(self, "composite_key_names", frozenset(n for pair in pairs for n in pair))
        # the keys by (referencing table, first column, referenced column): the proof starts
        # from the equalities a statement has, not from every key of every table it reads
        by_first: dict[tuple[str, str, str], list[tuple[int, str, KeyPairs]]] = {}
        for table, keys in self.composite_keys.items():
            for position, (ref_table, rest) in enumerate(keys):
                column, referenced = rest[0]
                by_first.setdefault((table, column, referenced), []).append(
                    (position, ref_table, rest)
                )
        init(
            self,
            "composite_keys_by_first",
            MappingProxyType({k: tuple(v) for k, v in by_first.items()}),
        )
        firsts = {(c, r) for _, c, r in by_first}
        init(self, "composite_key_firsts", frozenset(firsts | {(r, c) for c, r in firsts}))

    def catalog_typed(self) -> Policy:
        """This policy with the columns of PostgreSQL's catalogs of a lossy type among
        `lossy_columns`, for a statement that may read a catalog (built once)."""
        found = self._catalog_typed
        if found is None:
            names = {sql_name(c) for c in self.lossy_columns | CATALOG_LOSSY_COLUMNS}
            found = self.replace(lossy_columns=names)
            object.__setattr__(found, "_catalog_typed", found)
            object.__setattr__(self, "_catalog_typed", found)
        return found

    def _composite_keys(
        self,
    ) -> dict[str, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]]:
        """The foreign keys that pin what they reference: those that carry the tenant column to
        itself and whose other referenced columns hold a key unique by itself."""
        tenant = self.tenant_column
        found: dict[str, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]] = {}
        for table, keys in self.foreign_keys.items():
            pinning = []
            for key in keys:
                mapping = dict(zip(key.columns, key.ref_columns, strict=True))
                if mapping.get(tenant) != tenant:
                    continue
                rest = tuple((c, r) for c, r in mapping.items() if c != tenant)
                unique = self.unique_keys.get(key.ref_table, ())
                # a key column compared loosely (a nondeterministic collation, citext: `=`
                # matches 'ABC' to 'abc'): the join's `a.x = t.id` also meets rows of other ids
                # than the key's target, another tenant's among them
                loose = any(c in self.lossy_columns or r in self.lossy_columns for c, r in rest)
                if (
                    rest
                    and not loose
                    and any(k <= {r for _, r in rest} for k in unique)
                    and (key.ref_table, rest) not in pinning  # a key declared twice
                ):
                    pinning.append((key.ref_table, rest))
            if pinning:
                found[table] = tuple(pinning)
        return found

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Policy is immutable: build a new one")

    def __repr__(self) -> str:
        return (
            f"Policy(tenant_column={self.tenant_column!r}, "
            f"tenant_tables={sorted(self.tenant_tables)!r}, "
            f"global_tables={sorted(self.global_tables)!r}, "
            f"allow_multi_tenant={self.allow_multi_tenant!r})"
        )

    def is_tenant_table(self, name: str) -> bool:
        return name in self.tenant_tables

    def is_tenant_expression(self, node: exp.Expression) -> bool:
        return self.tenant_expression_index(strip_casts(node)) is not None

    def tenant_expression_index(self, node: exp.Expression) -> int | None:
        """Which configured tenant expression `node` is (casts already removed), or None.

        `current_setting(name, true)` (NULL when unset: it matches no row) counts as
        `current_setting(name)`, and `pg_catalog.current_setting(…)` is the built-in itself.
        """
        if isinstance(node, _CALL_SHAPES):  # (a column, a parameter…: compared as it is)
            called = self._setting_call(node)
            if called is None:
                return None
            node = called
        for index, tree in enumerate(self._expression_trees):
            if node == tree:
                return index
        return None

    def _setting_call(self, node: exp.Expression) -> exp.Expression | None:
        """A call as `tenant_expression_index` compares it: `pg_catalog.current_setting(…)` as
        the built-in, `current_setting(name, true)` as `current_setting(name)`, a literal
        argument cast to text as the literal; None for a schema's function of the name."""
        if (
            isinstance(node, exp.Dot)
            and isinstance(node.this, exp.Identifier)
            and (node.this.name if node.this.quoted else node.this.name.lower()) == "pg_catalog"
            and isinstance(node.expression, exp.Anonymous)
            and str(node.expression.this).lower() == "current_setting"
        ):
            node = node.expression
        elif self._schema_namesake(node):
            return None
        node = _plain_arguments(node)
        if (
            isinstance(node, exp.Anonymous)
            and str(node.this).lower() == "current_setting"
            and len(node.expressions) == 2
            and isinstance(node.expressions[1], exp.Boolean)
            and node.expressions[1].this is True
        ):
            node = exp.Anonymous(this=node.this, expressions=[node.expressions[0]])
        return node

    def _schema_namesake(self, node: exp.Expression) -> bool:
        """Whether an unqualified call may be a function of the schema sources rather than the
        built-in of that name (round 40, h40A): PostgreSQL chooses a schema's
        `current_setting(setting varchar)` over pg_catalog's `current_setting(text)` for an
        argument of its exact type, so an argument cast to any type but text calls it. A bare
        literal (unknown: text, the preferred string type, wins) or one cast to text calls
        pg_catalog's, which comes first in the search path for the same argument types."""
        return (
            isinstance(node, exp.Anonymous)
            and str(node.this).lower() in self.functions
            and any(
                isinstance(a, exp.Cast)
                and (a.to.this != exp.DataType.Type.TEXT or bool(a.to.expressions))
                for a in node.expressions
            )
        )

    def surely_global(self, name: str, schema: str | None) -> bool:
        """Is the relation `name` (of `schema` as written, None: unqualified) one the schema
        sources show without the tenant column, though a table of that name elsewhere has it
        (round 35, h35B)? Unqualified, it is the first schema of the search path that holds the
        name; unknown (False) past a "$user" entry or when no schema of the path holds it."""
        homes = self.global_homes.get(name)
        if not homes:
            return False
        if schema is None:
            schema = self.resolved_schema(name)
        return schema is not None and schema in homes

    def computes_on_rows(self, relation: str | None) -> bool:
        """Is `relation` a view of the schema sources that computes something on each row it
        reads that may fail or act (`failing_views`, `failing_columns`, `volatile_views`)? A
        scan of it with no pin of its own — a branch of a set operation, a grouping-sets HAVING
        — runs that on every tenant's rows (h35P)."""
        name = relation or ""
        return (
            name in self.failing_views
            or name in self.failing_columns
            or name in self.volatile_views
        )

    def read_otherwise(self, path: Sequence[str] | None) -> list[str]:
        """The names the proof reads as a global table (`surely_global`, unqualified) that the
        search path `path` (None: one that cannot be read) may read elsewhere — a statement
        setting it changes what later statements of the session read (h35P: `SET search_path =
        archive, public`, then `SELECT … FROM countries` read archive's tenant rows)."""
        changed = []
        for name, homes in sorted(self.global_homes.items()):
            if not self.surely_global(name, None):
                continue
            if path is None or self.resolved_schema(name, path) not in homes:
                changed.append(name)
        return changed

    def is_tenant_relation(self, table: exp.Expression) -> bool:
        """Is this table reference (an `exp.Table`) a tenant table's: its name a tenant table's,
        and not the global table of that name the search path reads (`surely_global`)?"""
        from tenantguard.engine.proof.syntax import identifier_name

        name = identifier_name(table.this)
        if not self.is_tenant_table(name):
            return False
        if not self.global_homes or table.args.get("catalog"):
            return True
        db = table.args.get("db")
        return not self.surely_global(name, identifier_name(db) if db is not None else None)

    def resolved_schema(self, name: str, path: Sequence[str] | None = None) -> str | None:
        """The schema an unqualified relation name reads under the search path (`path`, else
        config `search_path`): the first of the path whose relations (schema sources) include
        it; None when none holds it, or without schema sources. A "$user" entry is the schema
        named like the session's role — any schema but public and pg_* may be one (h35P: the
        login role `postgres` read `postgres.regions`, another schema's tenant rows, where the
        path said public): None when one of them holds the name, skipped when none does."""
        held = self.relation_homes.get(name)
        if not held:
            return None
        for entry in self.search_path if path is None else path:
            if entry == "$user":
                if any(h != "public" and not h.startswith("pg_") for h in held):
                    return None
                continue
            if entry in held:
                return entry
        return None

    def is_root_table(self, name: str) -> bool:
        return name == self.tenant_root

    def columns_of(self, table: str) -> frozenset[str] | None:
        """The columns the schema sources showed for `table`, or None when it is unknown."""
        return self.table_columns.get(table)

    def constraint_has_tenant(self, name: str) -> bool:
        columns = self.constraint_columns.get(name)
        return columns is not None and self.tenant_column in columns

    def replace(self, **changes: object) -> Policy:
        """A copy with some fields changed (same keyword names as the constructor, names
        written as in configuration: quote a mixed-case one)."""
        fields = self.arguments()
        fields.update(changes)
        return Policy(**fields)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, object]:
        """The policy as JSON values: its constructor's arguments, each tagged with its type
        (`from_json` builds the same policy again; a cache keeps it by the content of what it
        was built from)."""
        return {name: _encode(value) for name, value in self.arguments().items()}

    def content_key(self) -> str:
        """The policy's whole content as one text (`to_json`, keys sorted), made once: a key for
        what is worked out from a policy, equal for two policies built alike."""
        key = self._content_key
        if key is None:
            key = json.dumps(self.to_json(), sort_keys=True, default=str)
            object.__setattr__(self, "_content_key", key)
        return key

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Policy:
        """The policy `to_json` gave; ValueError or TypeError for anything else."""
        if not isinstance(data, Mapping):
            raise TypeError("a policy is a JSON object")
        return cls(**{str(name): _decode(value) for name, value in data.items()})  # type: ignore[arg-type]

    def arguments(self) -> dict[str, object]:
        """The constructor's arguments that build this policy again."""
        # the names held are folded already: quoted again, the constructor keeps their case
        return {
            "tenant_column": sql_name(self.tenant_column),
            "tenant_tables": {sql_name(t) for t in self.tenant_tables},
            "global_tables": {sql_name(t) for t in self.global_tables},
            "tenant_expressions": self.tenant_expressions,
            "allow_multi_tenant": self.allow_multi_tenant,
            "table_columns": {
                sql_name(t): {sql_name(c) for c in cs} for t, cs in self.table_columns.items()
            },
            "constraint_columns": {
                sql_name(t): {sql_name(c) for c in cs} for t, cs in self.constraint_columns.items()
            },
            "tenant_root": sql_name(self.tenant_root) if self.tenant_root else None,
            "tenant_root_key": sql_name(self.tenant_root_key),
            "shared_rows": self.shared_rows,
            "foreign_keys": self.foreign_keys,
            "checked_foreign_keys": self.checked_foreign_keys,
            "unique_keys": self.unique_keys,
            "spanning_keys": self.spanning_keys,
            "extension_functions": dict(self.extension_functions),
            "unpinnable": self.unpinnable,
            "pinning_functions": self.pinning_functions,
            "cascades": self.cascades,
            "functions": {sql_name(f) for f in self.functions},
            "tenant_defaults": {sql_name(t): i for t, i in self.tenant_defaults.items()},
            "setting_indices": {sql_name(t): i for t, i in self.setting_indices.items()},
            "setting_functions": {sql_name(f) for f in self.setting_functions},
            "setting_views": {sql_name(v) for v in self.setting_views},
            "setting_pinned": {sql_name(v) for v in self.setting_pinned},
            "integer_tenant_tables": {sql_name(t) for t in self.integer_tenant_tables},
            "not_null_tenant_tables": {sql_name(t) for t in self.not_null_tenant_tables},
            "row_changers": {sql_name(t) for t in self.row_changers},
            "tenant_sources": {
                sql_name(t): {sql_name(c) for c in cs} for t, cs in self.tenant_sources.items()
            },
            "lossy_columns": {sql_name(c) for c in self.lossy_columns},
            "hidden_writes": self.hidden_writes,
            "leaky_defaults": {
                sql_name(t): {sql_name(c): why for c, why in columns.items()}
                for t, columns in self.leaky_defaults.items()
            },
            "leaky_types": {sql_name(t): why for t, why in self.leaky_types.items()},
            "leaky_operators": dict(self.leaky_operators),
            "tenant_copies": {sql_name(t): sql_name(c) for t, c in self.tenant_copies.items()},
            "exact_domains": {
                sql_name(n): (sql_name(schema), sql_name(base))
                for n, (schema, base) in self.exact_domains.items()
            },
            "exact_functions": {sql_name(f) for f in self.exact_functions},
            "stable_functions": {sql_name(f) for f in self.stable_functions},
            "volatile_views": {sql_name(v) for v in self.volatile_views},
            "failing_views": {sql_name(v): c for v, c in self.failing_views.items()},
            "failing_columns": {
                sql_name(v): {sql_name(c) for c in cs} for v, cs in self.failing_columns.items()
            },
            "chained_columns": {
                sql_name(v): {sql_name(c) for c in cs} for v, cs in self.chained_columns.items()
            },
            "collated_tables": {sql_name(t) for t in self.collated_tables},
            "view_tenant_names": {
                sql_name(t): sql_name(c) for t, c in self.view_tenant_names.items()
            },
            "renaming_views": {sql_name(v) for v in self.renaming_views},
            "pinned_relations": {sql_name(r): e for r, e in self.pinned_relations.items()},
            "write_views": {
                sql_name(v): tuple(c if c == "?" else sql_name(c) for c in names)
                for v, names in self.write_views.items()
            },
            "loose_arbiters": {sql_name(t) for t in self.loose_arbiters},
            "volatile_operators": set(self.volatile_operators),
            "tenant_column_types": {sql_name(t): k for t, k in self.tenant_column_types.items()},
            "tenant_places": {sql_name(t): k for t, k in self.tenant_places.items()},
            "homed_tenant_places": {
                sql_name(t): dict(h) for t, h in self.homed_tenant_places.items()
            },
            "tenant_column_lengths": {
                sql_name(t): k for t, k in self.tenant_column_lengths.items()
            },
            "global_homes": {sql_name(t): set(h) for t, h in self.global_homes.items()},
            "relation_homes": {sql_name(t): set(h) for t, h in self.relation_homes.items()},
            "search_path": self.search_path,
            "nontext_columns": {
                sql_name(t): {sql_name(c) for c in cs} for t, cs in self.nontext_columns.items()
            },
            "typed_columns": {
                sql_name(t): {sql_name(c): k for c, k in cs.items()}
                for t, cs in self.typed_columns.items()
            },
            "lossy_arguments": {sql_name(f): p for f, p in self.lossy_arguments.items()},
            "inlined_functions": {sql_name(f): b for f, b in self.inlined_functions.items()},
        }


def _spanning_keys(
    given: Mapping[str, Iterable[Iterable[str]]],
) -> Mapping[str, tuple[frozenset[str], ...]]:
    """`given` (names as the catalog spells them), each key once."""
    found: dict[str, list[frozenset[str]]] = {}
    for table, keys in given.items():
        for key in keys:
            columns = frozenset(key)
            if columns and columns not in found.setdefault(table, []):
                found[table].append(columns)
    return MappingProxyType({t: tuple(k) for t, k in found.items() if k})


# The tags of `Policy.to_json`: JSON has no tuples, sets, or keys other than strings.
_TUPLE, _SET, _MAP, _FOREIGN_KEY, _FUNCTION_PINS = "tuple", "set", "map", "foreign key", "pins"


def _encode(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, ForeignKey):
        return {_FOREIGN_KEY: [list(value.columns), value.ref_table, list(value.ref_columns)]}
    if isinstance(value, FunctionPins):
        defaults = sorted(list(d) for d in value.defaults)
        return {_FUNCTION_PINS: [sorted(value.positions), sorted(value.names), defaults]}
    if isinstance(value, tuple | list):
        return {_TUPLE: [_encode(v) for v in value]}
    if isinstance(value, AbstractSet):
        return {_SET: sorted((_encode(v) for v in value), key=repr)}
    if isinstance(value, Mapping):
        return {_MAP: [[_encode(k), _encode(v)] for k, v in value.items()]}
    raise TypeError(f"a policy holds no {type(value).__name__}")


def _decode(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("not a value of Policy.to_json")
    ((tag, body),) = value.items()
    if not isinstance(body, list):
        raise ValueError("not a value of Policy.to_json")
    if tag == _TUPLE:
        return tuple(_decode(v) for v in body)
    if tag == _SET:
        return frozenset(_decode(v) for v in body)
    if tag == _MAP:
        return {_decode(k): _decode(v) for k, v in body}
    if tag == _FOREIGN_KEY:
        columns, ref_table, ref_columns = body
        return ForeignKey(tuple(map(str, columns)), str(ref_table), tuple(map(str, ref_columns)))
    if tag == _FUNCTION_PINS:
        positions, names, *defaults = body  # (none: written before defaults were read)
        return FunctionPins(
            frozenset(map(int, positions)),
            frozenset(map(str, names)),
            frozenset((int(p), str(n), int(k)) for d in defaults for p, n, k in d),
        )
    raise ValueError(f"not a value of Policy.to_json: {tag!r}")
