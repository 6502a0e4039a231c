"""Reading the schema out of the schema sources (patches, baseline), with PostgreSQL's own parser.

pglast parses each file as PostgreSQL would, so every DDL form is read for what it is: `CREATE
TABLE` with `LIKE`, `INHERITS` and `PARTITION OF` (a partition of a tenant table is one), `CREATE
TABLE … AS`, `ALTER TABLE` (columns, constraints, `VALIDATE`, renames), `CREATE UNIQUE INDEX`,
views and materialized views, `DROP`, SQL functions (`AS $$…$$`, `RETURN …`, `BEGIN ATOMIC`)
and PL/pgSQL ones (`ALTER FUNCTION … RENAME TO` moves one), quoted names with their case kept,
types sqlglot does not know. Files are read in order, so a later patch's DROP or RENAME changes what an earlier one made.

What it keeps: columns per table, unique keys, constraint names, foreign keys (with whether
they are validated and immediate), views, functions — and the statements it could not read,
each a problem at its file and line. A table such a statement names is a tenant table when its
text holds the tenant column (fail closed). psql meta-commands (`\\set`, `\\gset`…) are skipped;
`:'var'` and `:"var"` interpolations are read as a string and a name.

DDL inside `DO $$ … $$` bodies and `EXECUTE '…'` strings is found by a scan of the text and read
the same way.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.pgfunctions import RUNS_TEXT
from tenantguard.engine.policy import (
    ForeignKey,
    FunctionPins,
    Policy,
    clip_name,
    fold_name,
    names_in_text,
    sql_name,
    table_name,
)
from tenantguard.engine.proof import PinValue, identifier_name
from tenantguard.engine.sqltext import STRING_LITERAL, LineIndex, operators_in, split_sql
from tenantguard.sources.walk import schema_files

__all__ = [
    "ForeignKeyInfo",
    "FunctionInfo",
    "SchemaInfo",
    "SchemaProblem",
    "ViewInfo",
    "fills_by_name",
    "namesake_functions",
    "namesake_views",
    "pin_of",
    "postgres_error",
    "read_schema",
    "tenant_relations",
]

_TABLE_DDL = lazy_pattern(
    r"\b(?:CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+|FOREIGN\s+)?TABLE"
    r"|ALTER\s+TABLE|CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+TABLE|(?:CREATE|ALTER)\s+TYPE"
    r"|IMPORT\s+FOREIGN\s+SCHEMA)\b",
    re.IGNORECASE,
)
_VIEW_DDL = lazy_pattern(
    r"\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY)\s+)?(?:RECURSIVE\s+)?"
    r"(?:MATERIALIZED\s+)?VIEW|DROP\s+(?:MATERIALIZED\s+)?VIEW)\b",
    re.IGNORECASE,
)
_FUNCTION_DDL = lazy_pattern(
    r"\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION|DROP\s+FUNCTION)\b", re.IGNORECASE
)
# type DDL in a DO body, an EXECUTE string or a function's body: what it does to a domain's
# name is read when it parses as a statement, and makes every domain inexact when not
_TYPE_DDL = lazy_pattern(r"\b(?:CREATE|ALTER|DROP)\s+(?:DOMAIN|TYPE)\b", re.IGNORECASE)
# the rest of what the reader follows, looked for in DO bodies too (an idempotent patch creates
# a trigger or rule there, as PostgreSQL 15 has no CREATE TRIGGER IF NOT EXISTS)
# DDL that drops or moves keys and relations (round 27f: DROP INDEX in a DO block)
_INDEX_DDL = lazy_pattern(
    r"\b(?:(?:DROP|ALTER)\s+INDEX|(?:CREATE|DROP|ALTER)\s+SCHEMA)\b", re.IGNORECASE
)
_SESSION_DEFAULTS = lazy_pattern(r"\bALTER\s+(?:ROLE|USER|DATABASE)\b", re.IGNORECASE)
_OTHER_DDL = lazy_pattern(
    r"\b(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?(?:TRIGGER|RULE)"
    r"|DROP\s+(?:TRIGGER|RULE)|CREATE\s+(?:OR\s+REPLACE\s+)?PROCEDURE"
    r"|ALTER\s+(?:(?:MATERIALIZED\s+)?VIEW|FOREIGN\s+TABLE|FUNCTION|PROCEDURE|ROUTINE|DOMAIN)"
    r"|CREATE\s+(?:DOMAIN|COLLATION|OPERATOR|CAST)|CREATE\s+(?:OR\s+REPLACE\s+)?AGGREGATE)\b",
    re.IGNORECASE,
)
_HIDDEN_DDL = lazy_pattern(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?(?:TRIGGER|RULE)|CREATE\s+(?:OPERATOR|CAST)",
    re.IGNORECASE,
)
_CREATE_TABLE_NAME = lazy_pattern(
    r"\bCREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+|FOREIGN\s+)?TABLE\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?((?:\"(?:[^\"]|\"\")+\"|[\w$]+)(?:\s*\.\s*(?:\"(?:[^\"]|\"\")+\"|[\w$]+))?)",
    re.IGNORECASE,
)
_ASSIGNED = lazy_pattern(r"^\s*[\w$\".]+(?:\[[^\]]*\])?\s*:?=\s*")
_SELECT_WORD = lazy_pattern(r"\bSELECT\b", re.IGNORECASE)
_WORD = lazy_pattern(r"[a-z_][a-z0-9_$]*")
_SET_CONFIG_CALL = lazy_pattern(
    r"\bset_config\s*\(\s*(?:E?'((?:[^']|'')*)'\s*[,)])?", re.IGNORECASE
)
_SET_STATEMENT = lazy_pattern(
    r"^\s*(?:set|reset)\s+(?:(?:local|session)\s+)?(\"(?:[^\"]|\"\")*\"|[\w.$]+)", re.IGNORECASE
)
_META_COMMAND = lazy_pattern(r"^[ \t]*\\[^\n]*", re.MULTILINE)
_PSQL_VARIABLE = lazy_pattern(r"(?<!:):(['\"])([A-Za-z_]\w*)\1")
_LONGEST_DDL = 100_000  # characters: a definition longer than this is not a definition
_ANY_DDL = lazy_pattern(r"\b(?:CREATE|ALTER|DROP)\s", re.IGNORECASE)
_DEEPEST_VIEW = 32  # views of views followed for the columns of a query; deeper: unknown


@dataclass(frozen=True)
class ViewInfo:
    """A view (or materialized view) of the schema sources: its query, and its column list."""

    query: str
    columns: list[str] | None  # `CREATE VIEW v (a, b)`; None: the query's own names


@dataclass(frozen=True)
class _Volatility:
    """What `calls_volatile` reads of a policy, while the schema is read."""

    stable_functions: frozenset[str]
    functions: frozenset[str]
    volatile_views: frozenset[str]
    volatile_operators: frozenset[str]


@dataclass(frozen=True)
class FunctionInfo:
    """A SQL or PL/pgSQL function of the schema sources: the statements of its body the proof
    can read, the text of what it cannot (dynamic SQL), its parameter names, and its output
    columns if known."""

    body: list[str]
    opaque: str
    parameters: list[str]  # in call order; "" for a parameter without a name
    columns: set[str] | None
    # PL/pgSQL variables set once, where declared, and never written again: (name, value)
    constants: tuple[tuple[str, str], ...] = ()
    # positions (call order) of parameters whose type compares loosely or rounds (`real`,
    # `char(n)`, `citext`, a domain over one): the argument is converted before the body
    # compares it, so two tenants' ids can meet — such a parameter pins nothing; nor does one
    # a PL/pgSQL body writes (its queries compare what was put there)
    lossy: tuple[int, ...] = ()
    # its declared output columns in order (RETURNS TABLE, OUT, INOUT): the body's columns are
    # matched to them by position; empty when not declared so (RETURNS SETOF a table)
    outputs: tuple[str, ...] = ()
    # several functions of this name whose bodies are all readable: `body` holds every one's
    # queries, `opaque` their text (a call may run any of them; none pins by its parameters)
    overloads: bool = False
    # LANGUAGE sql returning one value, its body one statement: PostgreSQL may inline it into
    # the query that calls it (its cost and its errors are its body's)
    inlined: bool = False
    # declared `COST n` below PostgreSQL's default of 100 for such functions: evaluated before
    # dearer conditions (its errors and notices, on rows not filtered yet)
    cheap: bool = False
    # PL/pgSQL: the queries of its RETURN QUERY statements outside any loop, whose rows are the
    # function's own; the rows of its other queries go into variables (FOR … IN, INTO, cursors,
    # expressions), which may carry another tenant's value or a count of every tenant's rows
    # into the rows it returns (RETURN NEXT, a RETURN QUERY reading them). None: LANGUAGE sql
    returned: tuple[str, ...] | None = None
    # a trigger function's variables that only ever hold the written row (`r := coalesce(NEW,
    # OLD)`: "row") or its column f (`v := NEW.f`, `coalesce(NEW.f, OLD.f)`: "field:f")
    row_copies: tuple[tuple[str, str], ...] = ()
    # the parameters declared with a DEFAULT: (position in call order, the default's text); a
    # call that leaves the argument out is given the default, evaluated where it is called
    defaults: tuple[tuple[int, str], ...] = ()


@dataclass
class ForeignKeyInfo:
    """A foreign key of the schema sources, as declared."""

    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]  # empty: the referenced table's primary key
    valid: bool = True  # NOT VALID until a VALIDATE CONSTRAINT
    deferrable: bool = False
    # ON DELETE / ON UPDATE, as PostgreSQL's codes: a no action, r restrict, c cascade,
    # n set null, d set default
    on_delete: str = "a"
    on_update: str = "a"
    # `ON DELETE SET NULL (patient_id)` (PostgreSQL 15): the only columns the action sets
    on_delete_columns: tuple[str, ...] = ()


@dataclass
class TriggerInfo:
    """A trigger of the schema sources: the writes of its relation that fire it, the function
    it runs, and whether it runs for each row (NEW and OLD are the rows written)."""

    name: str
    relation: str
    events: tuple[str, ...]  # INSERT, UPDATE, DELETE, TRUNCATE
    function: str
    row: bool
    args: tuple[str, ...] = ()  # `EXECUTE FUNCTION f('notes')`: what the body reads as TG_ARGV
    # `REFERENCING NEW TABLE AS n OLD TABLE AS o`: the names its body reads the rows written by
    transitions: tuple[str, ...] = ()


@dataclass
class WriteRule:
    """A rule on a write (`CREATE RULE … AS ON INSERT | UPDATE | DELETE TO r DO …`): the
    statements it runs beside (or instead of) the write."""

    name: str
    relation: str
    event: str
    actions: list[str]
    # bound to a column renamed since (PostgreSQL binds a rule's actions when it is made):
    # read as text out of sight
    stale: bool = False


# CreateTrigStmt.events: the bits of the writes that fire a trigger
_TRIGGER_EVENTS = (("INSERT", 4), ("DELETE", 8), ("UPDATE", 16), ("TRUNCATE", 32))
_TRIGGER_AFTER = 0  # CreateTrigStmt.timing: TRIGGER_TYPE_BEFORE 2, AFTER 0, INSTEAD 64


@dataclass(frozen=True)
class _Renamed:
    """A relation's new name, in its schema (what `RENAME TO` leaves)."""

    relname: str
    schemaname: str | None


@dataclass(frozen=True)
class SchemaProblem:
    """A schema statement that could not be read: where, why, and the tables it may create."""

    path: str
    line: int
    column: int
    message: str
    text: str
    # PostgreSQL's parser read it, but what it creates is unknown: a check of the file, which
    # reports only statements that do not parse, does not report it
    parsed: bool = False


@dataclass
class SchemaInfo:
    """What the schema sources say of tables, keys, views and functions."""

    columns: dict[str, set[str]] = field(default_factory=dict)
    constraints: dict[str, set[str]] = field(default_factory=dict)
    unique_keys: dict[str, list[frozenset[str]]] = field(default_factory=dict)
    foreign_keys: dict[str, list[ForeignKeyInfo]] = field(default_factory=dict)
    views: dict[str, ViewInfo] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    problems: list[SchemaProblem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # each table's column defaults, as PostgreSQL prints them (a table whose name is in two
    # schemas has none: which one an INSERT names is the search path's business)
    defaults: dict[str, dict[str, str]] = field(default_factory=dict)
    # each table's columns whose `=` is not exact: `citext`, a nondeterministic collation, a
    # domain over either ('acme' = 'ACME'); kept through a drop or a second definition (fail
    # closed), cleared by an ALTER COLUMN … TYPE to an exact one
    loose: dict[str, set[str]] = field(default_factory=dict)
    # what is sure of each table's columns: "integer" (int2, int4, int8 or a serial: a cast to
    # another integer type keeps `=` exact, or fails) and "not_null"; dropped at any doubt (a
    # name in two schemas, a child's column added again, a rename, a dropped constraint)
    traits: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # names of columns (any table) declared with a type that rounds, pads, truncates or compares
    # loosely (the lossy types below, the loose ones): a parameter compared with one is typed so
    # for the whole statement. Kept through drops and type changes (fail closed: a name)
    lossy_columns: set[str] = field(default_factory=set)
    # each table's generated columns (`GENERATED ALWAYS AS (owner) STORED`) and the columns
    # their expressions read: an UPDATE of one of those changes the generated column
    generated: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # each table's generated columns that copy one column (`GENERATED ALWAYS AS (owner)`, or an
    # exact cast of it: `owner::uuid`): the column copied. An INSERT giving it a value gives the
    # generated column that value. Forgotten at any doubt: a rename, a type change, DROP or SET
    # EXPRESSION, a drop, a second definition, a name in two schemas, LIKE without INCLUDING
    # GENERATED
    copies: dict[str, dict[str, str]] = field(default_factory=dict)
    # domains a cast to which keeps `=` exact (`CREATE DOMAIN acct_id AS bigint`): name ->
    # (schema, base type: int2, int4, int8, numeric, text, varchar or uuid without a length,
    # precision, array or collation of its own, through domains over domains). Only a name
    # defined once and never renamed, moved, dropped or made another type (see `settle_domains`)
    exact_domains: dict[str, tuple[str, str]] = field(default_factory=dict)
    # domains each name of which means one type: defined once, never renamed, moved or dropped,
    # no type hidden from the reader (exact or not: `CREATE DOMAIN code AS char(8)` too)
    one_domains: set[str] = field(default_factory=set)
    # functions a call of which is of an exact type and types its arguments exactly: name ->
    # the builtin type it returns. Every definition of the name takes and returns exact types
    # (as above: a domain of `exact_domains` counts), no built-in function has the name, and it
    # was never renamed, moved or made by DDL the reader cannot read (see `settle_functions`)
    exact_functions: dict[str, str] = field(default_factory=dict)
    # function names every definition of which is declared IMMUTABLE or STABLE (PostgreSQL's
    # default is VOLATILE) — the schema's own and those of the contrib extensions it creates —,
    # never renamed, moved, altered to VOLATILE, nor made by DDL the reader cannot read; and
    # `schema.name` for each schema whose definitions of the name all are: a CTE calling only
    # such functions (or built-in ones the schema does not overload) may be folded into its
    # reader, a volatile call keeps it materialized
    stable_functions: set[str] = field(default_factory=set)
    # the views (not materialized) whose query calls a volatile function, or reads such a view:
    # PostgreSQL expands a view into the query that reads it, so a CTE reading one is
    # materialized
    volatile_views: set[str] = field(default_factory=set)
    # the schema's operators whose function is not stable (their symbols: `||`, `+`…), and its
    # casts with such a function (`cast:target type`; `cast:*` for one applied implicitly)
    volatile_operators: set[str] = field(default_factory=set)
    # each function name's parameter positions (call order, 0-based, any definition) of a lossy
    # type (`f(t real)`): a bare bind parameter given there is typed so for the whole statement.
    # -(p + 1): position p and every one after it (the last parameter, VARIADIC perhaps)
    lossy_arguments: dict[str, set[int]] = field(default_factory=dict)
    # the tables inheriting from (or partitions of) each table: a read of a parent returns them
    children: dict[str, set[str]] = field(default_factory=dict, compare=False, repr=False)
    # what a write runs beside itself: triggers and the functions they call (with the fields
    # of NEW each function assigns, "*" for NEW whole), rules on INSERT, UPDATE, DELETE
    triggers: list[TriggerInfo] = field(default_factory=list)
    trigger_functions: dict[str, FunctionInfo] = field(default_factory=dict)
    new_fields: dict[str, set[str]] = field(default_factory=dict)
    write_rules: list[WriteRule] = field(default_factory=list)
    # tables made by CREATE TABLE … AS / SELECT … INTO (with data): the query that filled them,
    # held to the view conditions (a copy of every tenant's rows without their tenant column)
    filled: dict[str, ViewInfo] = field(default_factory=dict)
    # the materialized views among the views: their rows are their query's when last refreshed,
    # under the tenant setting of the session that refreshed them
    materialized: set[str] = field(default_factory=set)
    # views made before a column of a relation they read was renamed: PostgreSQL binds a view
    # to the columns it read when it was made (by number), so the view reads the renamed column
    # under its old name, which the view's text now gives another column (or none)
    stale_views: set[str] = field(default_factory=set)
    # SQL functions with a body of the standard's form (`RETURN …`, `BEGIN ATOMIC … END`):
    # bound like a view when made (a late-bound `AS $$…$$` body looks its names up per call)
    bound_functions: set[str] = field(default_factory=set)
    # each table's stored generated columns' expressions that call a function (as printed):
    # computed into every row written, and kept in it
    generated_calls: dict[str, dict[str, str]] = field(default_factory=dict)
    # functions the server calls where no statement names them (by oid: a renamed one is kept
    # under both names): on each row a write gives a relation, those of its CHECK and EXCLUDE
    # constraints, of its indexes' expressions and predicates, of its partition key (relation
    # -> what -> the functions' names); on each value cast to a domain or written in a column
    # of it, those of the domain's CHECK constraints (and of the domains it is over); on each
    # row an aggregate reads, its support functions
    implicit_calls: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    domain_calls: dict[str, set[str]] = field(default_factory=dict)
    aggregate_calls: dict[str, set[str]] = field(default_factory=dict)
    # the domains of `domain_calls` each function's text names (a parameter, the return, a
    # PL/pgSQL variable of one, a cast to one): a call (a trigger's run) runs their CHECKs
    function_domains: dict[str, set[str]] = field(default_factory=dict)
    # each table's columns a unique index compares otherwise than `=` does: under a collation
    # that is not deterministic, or an operator class (`CREATE UNIQUE INDEX … (tenant_id
    # COLLATE ci, …)`): an ON CONFLICT target naming the column plainly infers that index
    loose_keys: dict[str, set[str]] = field(default_factory=dict)
    # table -> unique index -> the columns it keys only through an expression or a loose
    # collation or operator class (`(code, lower(org_id))`): the index is no key per tenant
    loosely_keyed: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    # each table's unique constraints and indexes but the primary key, and its exclusion
    # constraints (deferrable, partial or on expressions too), by name: the columns a write is
    # checked by across the whole table — the key's, those its expressions and predicate read
    # (`Policy.spanning_keys` keeps those of tenant tables without the tenant column, as the
    # runtime guard reads them in the catalog). Dropped with their name, column or table
    spanning: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    # table -> the name of its primary key's constraint (`CONSTRAINT t_pk PRIMARY KEY (id)`)
    primary_keys: dict[str, str] = field(default_factory=dict)
    # while reading only (not kept in the cache): composite types' attributes, the typed tables
    # of each type, PREPAREd queries
    types: dict[str, set[str]] = field(default_factory=dict, compare=False, repr=False)
    typed: dict[str, set[str]] = field(default_factory=dict, compare=False, repr=False)
    # while reading only: each composite type's attributes that compare loosely (a
    # nondeterministic collation, citext, a domain of them): its typed tables' columns do too
    loose_attributes: dict[str, set[str]] = field(default_factory=dict, compare=False, repr=False)
    prepared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # relations with a trigger or a rule: an INSERT into such a view writes what they write
    rewritten: set[str] = field(default_factory=set, compare=False, repr=False)
    # relations whose row an INSERT or UPDATE writes may be changed by the server before the
    # statement's RETURNING reads it: a BEFORE (or INSTEAD OF) row trigger on INSERT or UPDATE,
    # a rule on INSERT or UPDATE (a drop of one is not followed: fail closed)
    row_changers: set[str] = field(default_factory=set)
    # table -> the columns of the row types its columns hold (`history.old cards`: cards's
    # columns), at any depth: a table holding a tenant table's rows whole (round 34, h34K)
    held_columns: dict[str, set[str]] = field(default_factory=dict)
    # while reading only: each table's columns in order, where the sources show it (dropped at
    # any doubt); the tables whose rows each function returns without naming its outputs
    # (RETURNS SETOF t: PostgreSQL fills t's columns by position), and the functions that name
    # theirs (RETURNS TABLE, OUT) — see `resolve_row_outputs`
    order: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)
    row_returns: dict[str, set[str]] = field(default_factory=dict, compare=False, repr=False)
    declared_outputs: set[str] = field(default_factory=set, compare=False, repr=False)
    # types (citext, domains over a loose type or with a loose collation) and collations
    # (`deterministic = false`, or FROM one) whose equality folds several values into one
    loose_types: set[str] = field(default_factory=lambda: {"citext"}, compare=False, repr=False)
    loose_collations: set[str] = field(default_factory=set, compare=False, repr=False)
    # types a value converted to may meet another tenant's id: the loose ones, those that round
    # (float4, float8), pad or truncate (bpchar, "char", name), and domains over any of them
    lossy_types: set[str] = field(
        default_factory=lambda: {"float4", "float8", "bpchar", "char", "name", "money"},
        compare=False,
        repr=False,
    )
    # the schemas each table or view name is defined in: the proof knows a relation by its name
    # only, so one name in two schemas is read as both (a drop or rename of one keeps the other)
    relation_schemas: dict[str, set[str]] = field(default_factory=dict, compare=False, repr=False)
    # where an unqualified CREATE puts a relation: the search path the sources set (`_schema_of`)
    _creation_schema: str = field(default="public", compare=False, repr=False)
    # where a new file's session starts (ALTER ROLE | DATABASE … SET search_path: unknown), the
    # schemas the sources create (an unqualified CREATE goes to the first of the search path
    # that exists), names once in two schemas at a time (their keys are not told apart, whatever
    # is dropped or moved later), an open transaction block (the keys and the creation schema at
    # BEGIN) and the creation schema before SET LOCAL or SET ROLE
    _session_schema: str = field(default="public", compare=False, repr=False)
    _made_schemas: set[str] = field(default_factory=lambda: {"public"}, compare=False, repr=False)
    _mixed: set[str] = field(default_factory=set, compare=False, repr=False)
    _transaction: Any = field(default=None, compare=False, repr=False)
    _before_local: str | None = field(default=None, compare=False, repr=False)
    _before_role: str | None = field(default=None, compare=False, repr=False)
    # the body of each SQL or PL/pgSQL routine: its DDL runs where a statement calls it
    _bodies: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)
    # each function name's definitions, (schema, argument types): a call names neither
    signatures: dict[str, set[tuple[str, tuple[str, ...]]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # names whose defaults are not kept (a table of that name in two schemas)
    _no_defaults: set[str] = field(default_factory=set, compare=False, repr=False)
    # round 35 (h35B): the tables whose columns each schema surely holds, name -> schema ->
    # columns: made by a plain CREATE TABLE (its own column definitions only: no INHERITS, LIKE,
    # PARTITION OF, OF type) in a schema the reader is sure of, and named by no statement since
    # but DML (an ALTER, rename, rule, trigger, a function's or DO block's text naming it, a
    # table inheriting from it…; a rename, drop or move of its schema) — `names_unsure` once a
    # statement may run SQL text the reader cannot see (EXECUTE): then none is sure
    plain_tables: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    names_unsure: bool = False
    # the texts of the code the sources define (functions, procedures, triggers, rules, event
    # triggers): one may change a table made after it, by name, when called
    _code_texts: list[str] = field(default_factory=list, compare=False, repr=False)
    # their words, as `names_in_text` reads them (one set, not a walk of each text per table)
    _code_words: set[str] = field(default_factory=set, compare=False, repr=False)
    _odd_plain: set[str] = field(default_factory=set, compare=False, repr=False)
    # while reading only: what a composite foreign key's pin stands on (`settle_keys`) — each
    # unique key's constraint or index name (name -> [(table, columns)]), the names PostgreSQL
    # chose (computed here: a guess), every constraint and index name seen, the tables whose
    # foreign-key triggers were disabled, and the tables that are partitions
    _key_names: dict[str, list[tuple[str, frozenset[str]]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _guessed: set[tuple[str, str]] = field(default_factory=set, compare=False, repr=False)
    _named: dict[str, set[str]] = field(default_factory=dict, compare=False, repr=False)
    _indexes: set[str] = field(default_factory=set, compare=False, repr=False)
    _unenforced: set[str] = field(default_factory=set, compare=False, repr=False)
    # a source sets session_replication_role to replica or local somewhere (SET, set_config,
    # ALTER ROLE | DATABASE … SET, a function's SET clause, a DO block): no key was enforced
    _replica: bool = field(default=False, compare=False, repr=False)
    _trigger_versions: dict[str, dict[str, tuple[FunctionInfo, set[str]]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # each domain's default (a pglast node, None: none), each column declared of a domain: a
    # column without a default of its own takes its domain's, as it is when the rows are written
    _domain_defaults: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # while reading only: each domain's base type's name
    _domain_bases: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    # while reading only: each function's (and trigger function's) texts
    _function_texts: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)
    # while reading only: each domain name's definitions, (schema, base type's schema or "",
    # base type's name; "?" for a base that cannot be exact), and the type names in doubt
    _domain_defs: dict[str, set[tuple[str, str, str]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _doubtful_types: set[str] = field(default_factory=set, compare=False, repr=False)
    # type DDL the reader saw and could not read (dynamic SQL, a function's body): no domain
    # is known to be exact
    _hidden_types: bool = field(default=False, compare=False, repr=False)
    # while reading only: each function name's definitions, the types (schema or "", name; "?"
    # for one that cannot be exact) of its return and its parameters; the function names in
    # doubt; function DDL the reader could not read
    _function_types: dict[str, set[tuple[tuple[str, str], ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _doubtful_functions: set[str] = field(default_factory=set, compare=False, repr=False)
    # each function name's definitions (schema, parameter types) -> volatility (i, s or v), as
    # ALTER FUNCTION leaves it; "*": an ALTER … VOLATILE of a definition not told apart
    _volatility: dict[str, dict[tuple[str, tuple[str, ...]], str]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _aggregates: set[str] = field(default_factory=set, compare=False, repr=False)
    # CREATE OPERATOR and CREATE CAST: (symbol, or cast:target, or cast:*; the function's name)
    # the schema's operators: (symbol, the function it calls)
    operators: list[tuple[str, str]] = field(default_factory=list, compare=False, repr=False)
    # CREATE EXTENSION: (extension, the schema its objects go to)
    _extensions: list[tuple[str, str]] = field(default_factory=list, compare=False, repr=False)
    _hidden_functions: bool = field(default=False, compare=False, repr=False)
    _column_domains: dict[tuple[str, str], str] = field(
        default_factory=dict, compare=False, repr=False
    )
    _partitions: set[str] = field(default_factory=set, compare=False, repr=False)
    # tables created as plain heaps (CREATE TABLE: no PARTITION BY, no FOREIGN TABLE, no other
    # access method), under the name they were created with: `settle_keys` gives them `ctid`
    # as a unique key when nothing inherits from them (round 34, h34B)
    _heaps: set[str] = field(default_factory=set, compare=False, repr=False)
    # the types, not built in, that a relation's columns (a composite type's attributes) are
    # declared of, arrays aside, ever (a superset): a query that expands a row held there
    # (`(old).*`, `unnest(olds)`) outputs that row type's columns (round 34, h34K)
    _row_slots: dict[str, set[str]] = field(default_factory=dict, compare=False, repr=False)
    # where the statement being read starts: (path, line, column)
    _at: tuple[str, int, int] = field(default=("", 1, 1), compare=False, repr=False)

    # kept between runs (the schema cache): JSON, read back equal

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": {t: sorted(c) for t, c in self.columns.items()},
            "constraints": {n: sorted(c) for n, c in self.constraints.items()},
            "unique_keys": {t: [sorted(k) for k in keys] for t, keys in self.unique_keys.items()},
            "foreign_keys": {
                t: [
                    [
                        k.name,
                        list(k.columns),
                        k.ref_table,
                        list(k.ref_columns),
                        k.valid,
                        k.deferrable,
                        k.on_delete,
                        k.on_update,
                        list(k.on_delete_columns),
                    ]
                    for k in keys
                ]
                for t, keys in self.foreign_keys.items()
            },
            "views": {n: [v.query, v.columns] for n, v in self.views.items()},
            "functions": {
                n: [
                    f.body,
                    f.opaque,
                    f.parameters,
                    None if f.columns is None else sorted(f.columns),
                    [list(c) for c in f.constants],
                    list(f.lossy),
                    list(f.outputs),
                    f.overloads,
                    f.inlined,
                    f.cheap,
                    None if f.returned is None else list(f.returned),
                    [list(d) for d in f.defaults],
                ]
                for n, f in self.functions.items()
            },
            "problems": [
                [p.path, p.line, p.column, p.message, p.text, p.parsed] for p in self.problems
            ],
            "files": [str(f) for f in self.files],
            "defaults": {t: dict(d) for t, d in self.defaults.items()},
            "loose": {t: sorted(c) for t, c in self.loose.items()},
            "traits": {t: {c: sorted(k) for c, k in d.items()} for t, d in self.traits.items()},
            "lossy_columns": sorted(self.lossy_columns),
            "children": {t: sorted(c) for t, c in self.children.items() if c},
            "generated": {
                t: {c: sorted(r) for c, r in g.items()} for t, g in self.generated.items() if g
            },
            "triggers": [
                [
                    t.name,
                    t.relation,
                    list(t.events),
                    t.function,
                    t.row,
                    list(t.args),
                    list(t.transitions),
                ]
                for t in self.triggers
            ],
            "trigger_functions": {
                n: [f.body, f.opaque, [list(c) for c in f.row_copies]]
                for n, f in self.trigger_functions.items()
            },
            "new_fields": {n: sorted(f) for n, f in self.new_fields.items()},
            "write_rules": [
                [r.name, r.relation, r.event, r.actions, r.stale] for r in self.write_rules
            ],
            "filled": {n: [v.query, v.columns] for n, v in self.filled.items()},
            "materialized": sorted(self.materialized),
            "stale_views": sorted(self.stale_views),
            "bound_functions": sorted(self.bound_functions),
            "copies": {t: dict(c) for t, c in self.copies.items() if c},
            "exact_domains": {n: list(d) for n, d in self.exact_domains.items()},
            "one_domains": sorted(self.one_domains),
            "exact_functions": dict(self.exact_functions),
            "stable_functions": sorted(self.stable_functions),
            "volatile_views": sorted(self.volatile_views),
            "volatile_operators": sorted(self.volatile_operators),
            "operators": [list(o) for o in self.operators],
            "lossy_arguments": {n: sorted(p) for n, p in self.lossy_arguments.items()},
            "generated_calls": {t: dict(c) for t, c in self.generated_calls.items() if c},
            "implicit_calls": {
                t: {w: sorted(f) for w, f in c.items()} for t, c in self.implicit_calls.items()
            },
            "domain_calls": {d: sorted(f) for d, f in self.domain_calls.items()},
            "aggregate_calls": {a: sorted(f) for a, f in self.aggregate_calls.items()},
            "function_domains": {f: sorted(d) for f, d in self.function_domains.items()},
            "loose_keys": {t: sorted(c) for t, c in self.loose_keys.items()},
            "loosely_keyed": {
                t: {n: sorted(c) for n, c in keys.items()} for t, keys in self.loosely_keyed.items()
            },
            "spanning": {
                t: {n: sorted(k) for n, k in keys.items()} for t, keys in self.spanning.items()
            },
            "primary_keys": dict(self.primary_keys),
            "row_changers": sorted(self.row_changers),
            "held_columns": {t: sorted(c) for t, c in self.held_columns.items()},
            "relation_schemas": {n: sorted(s) for n, s in self.relation_schemas.items()},
            "order": {t: list(c) for t, c in self.order.items()},
            "plain_tables": {n: dict(h) for n, h in self.plain_tables.items()},
            "names_unsure": self.names_unsure,
        }

    @classmethod
    def from_json(cls, data: Any) -> SchemaInfo:
        """The schema `to_json` gave; KeyError, TypeError or ValueError when it is not that."""

        def texts(items: Any) -> list[str]:
            if not isinstance(items, list):
                raise TypeError("a list of names")
            return [str(i) for i in items]

        return cls(
            {str(t): set(texts(c)) for t, c in data["columns"].items()},
            {str(n): set(texts(c)) for n, c in data["constraints"].items()},
            {
                str(t): [frozenset(texts(k)) for k in keys]
                for t, keys in data["unique_keys"].items()
            },
            {
                str(t): [
                    ForeignKeyInfo(
                        str(name),
                        tuple(texts(columns)),
                        str(ref_table),
                        tuple(texts(ref_columns)),
                        bool(valid),
                        bool(deferrable),
                        str(on_delete),
                        str(on_update),
                        tuple(texts(on_delete_columns)),
                    )
                    for (
                        name,
                        columns,
                        ref_table,
                        ref_columns,
                        valid,
                        deferrable,
                        on_delete,
                        on_update,
                        on_delete_columns,
                    ) in keys
                ]
                for t, keys in data["foreign_keys"].items()
            },
            {
                str(n): ViewInfo(str(query), None if columns is None else texts(columns))
                for n, (query, columns) in data["views"].items()
            },
            {
                str(n): FunctionInfo(
                    texts(body),
                    str(opaque),
                    texts(parameters),
                    None if columns is None else set(texts(columns)),
                    tuple((str(a), str(b)) for a, b in constants),
                    tuple(int(i) for i in lossy),
                    tuple(texts(outputs)),
                    bool(overloads),
                    bool(inlined),
                    bool(cheap),
                    None if returned is None else tuple(texts(returned)),
                    defaults=tuple((int(i), str(d)) for i, d in defaults),
                )
                for n, (
                    body,
                    opaque,
                    parameters,
                    columns,
                    constants,
                    lossy,
                    outputs,
                    overloads,
                    inlined,
                    cheap,
                    returned,
                    defaults,
                ) in data["functions"].items()
            },
            [
                SchemaProblem(
                    str(path), int(line), int(column), str(message), str(text), bool(parsed)
                )
                for path, line, column, message, text, parsed in data["problems"]
            ],
            [Path(str(f)) for f in data["files"]],
            {str(t): {str(c): str(e) for c, e in d.items()} for t, d in data["defaults"].items()},
            {str(t): set(texts(c)) for t, c in data["loose"].items()},
            {
                str(t): {str(c): set(texts(k)) for c, k in d.items()}
                for t, d in data["traits"].items()
            },
            set(texts(data["lossy_columns"])),
            children={str(t): set(texts(c)) for t, c in data["children"].items()},
            generated={
                str(t): {str(c): set(texts(r)) for c, r in g.items()}
                for t, g in data["generated"].items()
            },
            triggers=[
                TriggerInfo(
                    str(name),
                    str(relation),
                    tuple(texts(events)),
                    str(f),
                    bool(row),
                    tuple(texts(args)),
                    tuple(texts(transitions)),
                )
                for name, relation, events, f, row, args, transitions in data["triggers"]
            ],
            trigger_functions={
                str(n): FunctionInfo(
                    texts(body),
                    str(opaque),
                    [],
                    None,
                    row_copies=tuple((str(a), str(b)) for a, b in copies),
                )
                for n, (body, opaque, copies) in data["trigger_functions"].items()
            },
            new_fields={str(n): set(texts(f)) for n, f in data["new_fields"].items()},
            write_rules=[
                WriteRule(str(name), str(relation), str(event), texts(actions), bool(stale))
                for name, relation, event, actions, stale in data["write_rules"]
            ],
            filled={
                str(n): ViewInfo(str(query), None if columns is None else texts(columns))
                for n, (query, columns) in data["filled"].items()
            },
            materialized=set(texts(data["materialized"])),
            stale_views=set(texts(data["stale_views"])),
            bound_functions=set(texts(data["bound_functions"])),
            copies={
                str(t): {str(c): str(r) for c, r in g.items()} for t, g in data["copies"].items()
            },
            exact_domains={
                str(n): (str(schema), str(base))
                for n, (schema, base) in data["exact_domains"].items()
            },
            one_domains=set(texts(data.get("one_domains", ()))),
            exact_functions={str(n): str(b) for n, b in data["exact_functions"].items()},
            stable_functions=set(texts(data["stable_functions"])),
            volatile_views=set(texts(data["volatile_views"])),
            volatile_operators=set(texts(data["volatile_operators"])),
            operators=[(str(o[0]), str(o[1])) for o in data.get("operators", ())],
            lossy_arguments={
                str(n): {int(i) for i in p} for n, p in data["lossy_arguments"].items()
            },
            generated_calls={
                str(t): {str(c): str(r) for c, r in g.items()}
                for t, g in data["generated_calls"].items()
            },
            implicit_calls={
                str(t): {str(w): set(texts(f)) for w, f in c.items()}
                for t, c in data["implicit_calls"].items()
            },
            domain_calls={str(d): set(texts(f)) for d, f in data["domain_calls"].items()},
            aggregate_calls={str(a): set(texts(f)) for a, f in data["aggregate_calls"].items()},
            function_domains={str(f): set(texts(d)) for f, d in data["function_domains"].items()},
            loose_keys={str(t): set(texts(c)) for t, c in data["loose_keys"].items()},
            loosely_keyed={
                str(t): {str(n): frozenset(texts(c)) for n, c in keys.items()}
                for t, keys in data.get("loosely_keyed", {}).items()
            },
            spanning={
                str(t): {str(n): frozenset(texts(k)) for n, k in keys.items()}
                for t, keys in data["spanning"].items()
            },
            primary_keys={str(t): str(n) for t, n in data.get("primary_keys", {}).items()},
            row_changers=set(texts(data.get("row_changers", []))),
            held_columns={str(t): set(texts(c)) for t, c in data.get("held_columns", {}).items()},
            relation_schemas={
                str(n): set(texts(s)) for n, s in data.get("relation_schemas", {}).items()
            },
            order={str(t): texts(c) for t, c in data.get("order", {}).items()},
            plain_tables={
                str(n): {str(h): texts(c) for h, c in homes.items()}
                for n, homes in data.get("plain_tables", {}).items()
            },
            names_unsure=bool(data.get("names_unsure", True)),
        )

    # what the schema says

    def setting_changers(self, settings: frozenset[str] | None) -> set[str]:
        """The functions and views whose bodies may change one of these settings (folded;
        None: any): `set_config` of it (or of a name not written as a string), `SET`/`RESET`
        of it, dynamic SQL, or a call or read of one that does (to a fixed point)."""
        texts = {name: (*f.body, f.opaque) for name, f in self.functions.items()}
        for name, view in self.views.items():
            texts[name] = (*texts.get(name, ()), view.query)
        found = {
            name
            for name, parts in texts.items()
            if any(_changes_setting(part, settings) for part in parts)
            or bool(name in self.functions and self.functions[name].opaque)
        }
        words = {name: set(_WORD.findall(" ".join(parts).lower())) for name, parts in texts.items()}
        grown = True
        while grown:  # a function calling (or a view reading) one that changes the setting
            folded = {f.lower() for f in found}
            more = {n for n, w in words.items() if n not in found and w & folded}
            found |= more
            grown = bool(more)
        return found

    def tables_with(self, column: str) -> set[str]:
        """Tables that have `column` — and those a statement that could not be read would
        create, when its text holds the column's name (fail closed)."""
        found = {table for table, cols in self.columns.items() if column in cols}
        word = re.compile(rf"(?<![\w$]){re.escape(column)}(?![\w$])", re.IGNORECASE)
        for problem in self.problems:
            named = _CREATE_TABLE_NAME.search(problem.text)
            if named is not None and word.search(problem.text):
                found.add(_last_name(named.group(1)))
        return found

    def inherited_by(self, tables: Iterable[str], column: str) -> dict[str, set[str]]:
        """Tables without `column` that some of `tables` inherit from (INHERITS, at any depth):
        a read of one without ONLY returns those tables' rows too. Which of them, for each."""
        wanted = set(tables)
        return {
            table: heirs
            for table, columns in self.columns.items()
            if column not in columns and (heirs := self._descendants(table) & wanted)
        }

    def tenant_root(self, column: str) -> tuple[str, str] | None:
        """The tenant registry: the one (table, key column) every foreign key on the tenant
        column alone references; None when there is none or more than one."""
        targets: set[tuple[str, str]] = set()
        for table, keys in self.foreign_keys.items():
            if column not in self.columns.get(table, ()):
                continue
            for key in keys:
                if key.columns == (column,):
                    ref = key.ref_columns or self._primary_key(key.ref_table)
                    if len(ref) == 1:
                        targets.add((key.ref_table, ref[0]))
        return next(iter(targets)) if len(targets) == 1 else None

    def cascades(
        self,
        tenant_tables: Iterable[str],
        column: str = "",
        hidden: Mapping[str, Mapping[str, str]] | None = None,
    ) -> dict[str, dict[str, frozenset[str]]]:
        """What a DELETE or an UPDATE of a table does to the tenant tables whose foreign keys
        reference it with an action (CASCADE, SET NULL, SET DEFAULT): table -> {"DELETE": …,
        "UPDATE": the referenced columns whose change reaches them, "*" when they are unknown}.

        A key that carries the tenant column to the tenant column of another tenant table, with
        CASCADE, is left out when the rows it reaches are the written row's tenant's and go no
        further: the key makes their tenant column equal to the written row's (`servers
        (server_id)` referenced by every table's `server_id`; `FOREIGN KEY (tenant_id, task_id)
        REFERENCES tasks (tenant_id, id) ON DELETE CASCADE`) — and the child it deletes or
        updates is itself clean: no trigger or rule of its runs an unpinned write (`hidden`:
        relation -> write kinds), and every key referencing it is left out alike (a child
        referenced by `comments.note_id` alone deletes other tenants' comments). Not SET NULL
        (the rows become no tenant's, every tenant's under `shared_rows`) nor SET DEFAULT (the
        default may be another tenant)."""
        acting = ("c", "n", "d")
        tenant = set(tenant_tables)
        hidden = hidden or {}
        # (referenced table, child, key, its referenced columns): the acting keys of every
        # table — a child without the tenant column may run triggers of its own, or pass the
        # cascade on (round 21)
        keys: list[tuple[str, str, ForeignKeyInfo, tuple[str, ...]]] = []
        # a write of a table is a write of its partitions and children: a key referencing one
        # of them is reached from the table too
        for table, table_keys in self.foreign_keys.items():
            for key in table_keys:
                if key.on_delete in acting or key.on_update in acting:
                    ref = tuple(key.ref_columns or self._primary_key(key.ref_table))
                    for parent in (key.ref_table, *sorted(self.ancestors(key.ref_table))):
                        keys.append((parent, table, key, ref))

        def carries(key: ForeignKeyInfo, ref: tuple[str, ...], parent: str, child: str) -> bool:
            return (
                bool(column)
                and parent in tenant
                and child in tenant
                and len(ref) == len(key.columns)
                and (column, column) in zip(key.columns, ref, strict=True)
            )

        def writes(table: str, verb: str) -> bool:
            """A trigger, rule or CHECK of the table, or of a partition or child of it (a write
            of the table is one of theirs), writes unpinned."""
            return any(
                kind == verb or kind.startswith(f"{verb} OF ")  # `UPDATE OF c` (h35C)
                for t in (table, *self.descendants(table))
                for kind in hidden.get(t, {})
            )

        children = {child for _, child, _, _ in keys}
        contained: dict[str, set[int]] = {}  # verb -> ids of the keys left out
        for verb, action in (("DELETE", "on_delete"), ("UPDATE", "on_update")):
            # the greatest fixed point: clean until shown otherwise (a self-reference stays clean)
            clean = {t for t in tenant | children if not writes(t, verb)}
            while True:
                left = {
                    id(key)
                    for parent, child, key, ref in keys
                    if getattr(key, action) == "c"
                    and carries(key, ref, parent, child)
                    and child in clean
                }
                if verb == "DELETE":
                    # `ON DELETE SET NULL (x)` of a key carrying the tenant column: the rows it
                    # reaches are the deleted row's tenant's, and keep their tenant column; an
                    # UPDATE of them, so the child's updates must be clean (round 22)
                    left |= {
                        id(key)
                        for parent, child, key, ref in keys
                        if key.on_delete in ("n", "d")
                        and key.on_delete_columns
                        and column not in key.on_delete_columns
                        and carries(key, ref, parent, child)
                        and not writes(child, "UPDATE")
                        and not any(p == child for p, _, _, _ in keys)
                    }
                dirty = {
                    parent
                    for parent, _, key, _ in keys
                    if getattr(key, action) in acting and id(key) not in left
                }
                if not (clean & dirty):
                    break
                clean -= dirty
            contained[verb] = left
        out: dict[str, dict[str, frozenset[str]]] = {}
        for parent, child, key, _ in keys:
            if (
                child not in tenant
                and not (writes(child, "DELETE") or writes(child, "UPDATE"))
                and not any(p == child for p, _, _, _ in keys)
            ):
                continue  # rows of no tenant, reached by a key that runs nothing further
            kinds = out.setdefault(parent, {})
            if key.on_delete in acting and id(key) not in contained["DELETE"]:
                kinds["DELETE"] = frozenset()
            if key.on_update in acting and id(key) not in contained["UPDATE"]:
                ref = key.ref_columns or self._primary_key(key.ref_table) or ("*",)
                kinds["UPDATE"] = kinds.get("UPDATE", frozenset()) | set(ref)
            if not kinds:
                del out[parent]
        return out

    def sound_foreign_keys(self) -> dict[str, tuple[ForeignKey, ...]]:
        """The foreign keys a pin may follow: validated, immediate, columns known."""
        out: dict[str, tuple[ForeignKey, ...]] = {}
        for table, keys in self.foreign_keys.items():
            sound = []
            for key in keys:
                ref = key.ref_columns or self._primary_key(key.ref_table)
                if key.valid and not key.deferrable and len(ref) == len(key.columns):
                    sound.append(ForeignKey(key.columns, key.ref_table, tuple(ref)))
            if sound:
                out[table] = tuple(sound)
        return out

    def checked_foreign_keys(self) -> dict[str, tuple[ForeignKey, ...]]:
        """Every foreign key whose columns are known, NOT VALID and DEFERRABLE ones too (the
        server checks a new row's values by each, at commit for a deferred one), but those
        referencing the primary key (the rows' identity: `engine.referencing_keys`)."""
        out: dict[str, tuple[ForeignKey, ...]] = {}
        for table, keys in self.foreign_keys.items():
            checked = []
            for key in keys:
                ref = key.ref_columns or self._primary_key(key.ref_table)
                name = self.primary_keys.get(key.ref_table, f"{key.ref_table}_pkey")
                primary = self.constraints.get(name) or self.constraints.get(
                    f"{key.ref_table}_pkey"
                )
                if key.ref_columns and primary is not None and set(ref) == primary:
                    continue
                if len(ref) == len(key.columns):
                    checked.append(ForeignKey(key.columns, key.ref_table, tuple(ref)))
            if checked:
                out[table] = tuple(checked)
        self._view_foreign_keys(out)
        return out

    def _view_foreign_keys(self, keys: dict[str, tuple[ForeignKey, ...]]) -> None:
        """A write through an updatable view (one table, its columns passed through) is the
        table's: checked by the table's keys, and — a DELETE or an UPDATE of the referenced
        columns through it — by the keys referencing the table (helper h31a)."""
        for name, view in self.views.items():
            if name in self.materialized:
                continue
            simple = _simple_view(view, self.columns)
            if simple is None:
                continue
            base, shown = simple  # the table's column -> the view's
            found = [
                ForeignKey(tuple(shown[c] for c in k.columns), k.ref_table, k.ref_columns)
                for k in keys.get(base, ())
                if all(c in shown for c in k.columns)
            ]
            if found:
                keys[name] = keys.get(name, ()) + tuple(found)
            for table, own in list(keys.items()):
                referencing = [
                    ForeignKey(k.columns, name, tuple(shown[c] for c in k.ref_columns))
                    for k in own
                    if k.ref_table == base and all(c in shown for c in k.ref_columns)
                ]
                if referencing:
                    keys[table] = own + tuple(referencing)

    def _primary_key(self, table: str) -> tuple[str, ...]:
        columns = self.constraints.get(f"{table}_pkey")
        return tuple(sorted(columns)) if columns and len(columns) == 1 else ()

    # reading

    def add_sql(self, text: str, path: str = "") -> None:
        """Reads one file's (or one string's) statements: not the undo sections of a
        migration (goose's `-- +goose Down`, dbmate's `-- migrate:down`)."""
        self._new_session()  # each file in a session of its own (pg_dump's '')
        text = _psql_free(_undo_free(text))
        from pglast import parse_sql
        from pglast.parser import ParseError

        try:
            statements = parse_sql(text)
        except ParseError:
            self._add_one_by_one(text, path)
            return
        lines = LineIndex(text)
        for raw in statements:
            start = raw.stmt_location or 0  # pglast gives character offsets, not bytes
            end = start + raw.stmt_len if raw.stmt_len else len(text)
            self._at = (path, *lines.position(start))
            self._statement(raw.stmt, text[start:end], path)

    def _new_session(self) -> None:
        self._creation_schema = self._session_schema
        self._transaction = self._before_local = self._before_role = None

    def add_python(self, text: str, path: str = "") -> bool:
        """A Python migration (alembic, or any script sending DDL): the DDL in its string
        constants, and alembic's `op.create_table` / `op.add_column` /
        `op.create_unique_constraint` / `op.drop_table`, and as the SQL they send
        `op.rename_table` / `op.alter_column(…, new_column_name=…)` / `op.drop_constraint` /
        `op.drop_index` / `op.drop_column`. False when it does not parse."""
        self._new_session()
        import ast

        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
        docstrings = {
            id(body[0].value)
            for body in (
                getattr(n, "body", None)
                for n in ast.walk(tree)
                if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            )
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        }  # prose: alembic's "create visits table" is not a statement
        # `with op.batch_alter_table("invoices") as batch_op:`: batch_op's operations are the
        # table's (helper 113: its foreign keys were not read)
        batches = {
            item.optional_vars.id: table
            for n in ast.walk(tree)
            if isinstance(n, ast.With | ast.AsyncWith)
            for item in n.items
            if isinstance(item.context_expr, ast.Call)
            and isinstance(item.context_expr.func, ast.Attribute)
            and item.context_expr.func.attr == "batch_alter_table"
            and isinstance(item.optional_vars, ast.Name)
            and (table := _first_text(item.context_expr, "table_name")) is not None
        }
        columns = _ModuleColumns(tree)
        # `"CREATE TABLE t (" + COLUMNS + ")"`: constant strings joined by `+` are one
        # statement (helper 124: each operand was read alone, TG006, its table unseen)
        folds, folded = constant_folds(tree)
        for node in _forward(tree):
            if id(node) in folded:
                continue  # an operand of a fold, or a module constant only folds use
            constant = folds.get(id(node))
            if constant is None and isinstance(node, ast.Constant) and isinstance(node.value, str):
                constant = node.value
            if constant is not None:
                if id(node) not in docstrings and _ANY_DDL.search(constant):
                    known = len(self.problems)
                    self.add_sql(constant, path)
                    for index in range(known, len(self.problems)):  # lines of the file
                        problem = self.problems[index]
                        self.problems[index] = replace(problem, line=problem.line + node.lineno - 1)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                call = _alembic_call(node, batches)
                unread = _unread_alembic_table(call, batches)
                if unread is not None:
                    # `op.add_column(t, …)` with t a variable: what it makes cannot be read
                    # (helper 115: a tenant column added so went unseen, its table's reads
                    # "on no tenant table")
                    self.problems.append(
                        SchemaProblem(
                            path,
                            node.lineno,
                            node.col_offset + 1,
                            f"alembic's {call.func.attr}() names its table by `{unread}`, "
                            "known at run time: the columns and keys it makes cannot be read\n"
                            "name the table with a string literal",
                            ast.unparse(node)[:300],
                            parsed=True,
                        )
                    )
                call, hidden = columns.expanded(call)
                if hidden is not None:
                    # `op.create_table("t", *COMMON, *audit_columns())` with a list or helper
                    # the module does not show: a tenant column may be among them (helper 116)
                    self.problems.append(
                        SchemaProblem(
                            path,
                            node.lineno,
                            node.col_offset + 1,
                            f"alembic's {call.func.attr}() takes columns from `{hidden}`, "
                            "which this module does not show: whether the table has the "
                            "tenant column cannot be read\nwrite its columns in the call, or in "
                            "a list or a function of this module that returns them",
                            ast.unparse(node)[:300],
                            parsed=True,
                        )
                    )
                self._alembic(call.func.attr, call)
        return True

    def _alembic(self, operation: str, call: Any) -> None:
        import ast

        def text(node: Any) -> str | None:
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                return node.value
            return None

        def column(node: Any) -> str | None:
            if isinstance(node, ast.Call) and _called(node) == "Column":
                if node.args and text(node.args[0]) is not None:
                    return text(node.args[0])
                return text(next((k.value for k in node.keywords if k.arg == "name"), None))
            return None

        def typed(table: str, node: Any, type_: Any = None) -> None:
            """A column's SQLAlchemy type, where it compares loosely or rounds (`CITEXT`,
            `Float`, `CHAR`…): marked as the SQL reader marks such a column."""
            if type_ is None and isinstance(node, ast.Call):
                given = [a for a in node.args[1:2]]
                given += [k.value for k in node.keywords if k.arg == "type_"]
                type_ = given[0] if given else None
            name = column(node) if node is not None else None
            if name is None or type_ is None:
                return
            called = type_.func if isinstance(type_, ast.Call) else type_
            kind = (
                called.attr
                if isinstance(called, ast.Attribute)
                else called.id
                if isinstance(called, ast.Name)
                else ""
            ).lower()
            collation = next(
                (text(k.value) for k in getattr(type_, "keywords", ()) if k.arg == "collation"),
                None,
            )  # `sa.Text(collation="ci")` of a collation created `deterministic = false`
            if kind in _ALEMBIC_LOOSE or collation in self.loose_collations:
                self.loose.setdefault(table, set()).add(name)
                self.lossy_columns.add(name)
            elif kind in _ALEMBIC_LOSSY:
                self.lossy_columns.add(name)

        def names(node: Any) -> list[str] | None:
            if isinstance(node, ast.List | ast.Tuple):
                found = [text(e) for e in node.elts]
                return None if None in found or not found else [str(f) for f in found]
            return None

        def actions(node: Any) -> str:
            """`ondelete="CASCADE"`, `onupdate="SET NULL"`: the SQL of the key's actions (a
            value known only at run time: CASCADE, which reaches the most rows)."""
            out = ""
            for keyword in node.keywords:
                if keyword.arg in ("ondelete", "onupdate"):
                    given = text(keyword.value)
                    action = given.upper() if given else "CASCADE"
                    if not re.fullmatch(r"CASCADE|SET NULL|SET DEFAULT|RESTRICT|NO ACTION", action):
                        action = "CASCADE"
                    out += f" ON {keyword.arg[2:].upper()} {action}"
            return out + deferred(node)

        def deferred(node: Any) -> str:
            """`deferrable=True`, `initially="DEFERRED"`: checked at commit (helper 113: a
            deferrable key was read as one a pin may stand on)."""
            given = {k.arg: k.value for k in node.keywords if k.arg}
            deferrable = given.get("deferrable")
            if deferrable is None or (
                isinstance(deferrable, ast.Constant) and deferrable.value in (False, None)
            ):
                return ""
            initially = text(given["initially"]) if "initially" in given else None
            return " DEFERRABLE" + (
                " INITIALLY DEFERRED"
                if initially is None or initially.upper() == "DEFERRED"
                else ""
            )

        def foreign_key(
            table: str, local: list[str], referenced: str, remote: list[str], how: str
        ) -> None:
            """A foreign key alembic makes, read as the SQL it sends (helper 111: its ON DELETE
            CASCADE and its composite keys were not read)."""
            if len(local) != len(remote):
                return
            cols = ", ".join(map(_quote_name, local))
            refs = ", ".join(map(_quote_name, remote))
            self.add_sql(
                f"ALTER TABLE {_quote_name(table)} ADD FOREIGN KEY ({cols}) REFERENCES "
                f"{_quote_name(referenced)} ({refs}){how};"
            )

        def column_keys(name: str, node: Any) -> list[tuple[list[str], str, list[str], str]]:
            """`sa.Column("c", T, sa.ForeignKey("t.id", ondelete=…))`: its foreign keys."""
            out = []
            start = 1 if node.args and text(node.args[0]) is not None else 0  # `name=` given
            for key in node.args[start:]:
                if isinstance(key, ast.Call) and _called(key) == "ForeignKey":
                    given = key.args[0] if key.args else keyword(key, "column")
                    target = dotted(text(given))
                    if target is not None:
                        out.append(([name], target[0], [target[1]], actions(key)))
            return out

        def keyword(node: Any, name: str) -> Any:
            return next((k.value for k in node.keywords if k.arg == name), None)

        def dotted(target: str | None) -> tuple[str, str] | None:
            if target is None or "." not in target:
                return None
            referenced, _, remote = target.rpartition(".")
            return referenced.rpartition(".")[2], remote

        arguments = list(call.args)
        if operation == "create_table" and arguments and text(arguments[0]):
            table = str(text(arguments[0]))
            columns = self.columns.setdefault(table, set())
            keys: list[tuple[list[str], str, list[str], str]] = []
            primary: list[str] = []
            uniques: list[list[str]] = []
            for argument in arguments[1:]:
                name = column(argument)
                if name is not None:
                    columns.add(name)
                    typed(table, argument)
                    flags = {
                        k.arg: k.value.value
                        for k in argument.keywords
                        if isinstance(k.value, ast.Constant)
                    }
                    if flags.get("primary_key") is True:
                        primary.append(name)
                    if flags.get("unique") is True:
                        uniques.append([name])
                    keys.extend(column_keys(name, argument))
                elif isinstance(argument, ast.Call) and _called(argument) == "ForeignKeyConstraint":
                    given = [*argument.args, None, None]
                    local = names(given[0] if argument.args else keyword(argument, "columns"))
                    remote = names(
                        given[1] if len(argument.args) > 1 else keyword(argument, "refcolumns")
                    )
                    targets = [dotted(r) for r in remote or ()]
                    if local and remote and all(targets) and len({t[0] for t in targets if t}) == 1:
                        referenced = str(targets[0][0]) if targets[0] else ""
                        keys.append(
                            (local, referenced, [t[1] for t in targets if t], actions(argument))
                        )
                elif isinstance(argument, ast.Call) and _called(argument) in (
                    "UniqueConstraint",
                    "PrimaryKeyConstraint",
                ):
                    unique = {t for t in map(text, argument.args) if t}
                    if unique and len(unique) == len(argument.args) and not deferred(argument):
                        if _called(argument) == "PrimaryKeyConstraint":
                            primary = [str(text(a)) for a in argument.args]
                        else:
                            uniques.append([str(text(a)) for a in argument.args])
                    label = next(
                        (text(k.value) for k in argument.keywords if k.arg == "name"), None
                    )
                    key = label or (
                        f"{table}_pkey" if _called(argument) == "PrimaryKeyConstraint" else None
                    )
                    if key:
                        self.constraints[key] = unique
            # its keys, read as the SQL alembic sends (a composite key's referenced columns
            # must be unique for it to pin: helper 111)
            quoted = _quote_name(table)
            if primary:
                cols = ", ".join(map(_quote_name, primary))
                self.add_sql(f"ALTER TABLE {quoted} ADD PRIMARY KEY ({cols});")
            for unique_columns in uniques:
                cols = ", ".join(map(_quote_name, unique_columns))
                self.add_sql(f"ALTER TABLE {quoted} ADD UNIQUE ({cols});")
            for local, referenced, remote, how in keys:
                foreign_key(table, local, referenced, remote, how)
        elif operation == "create_foreign_key":
            labels = ("constraint_name", "source_table", "referent_table", "local_cols")
            given = [
                *arguments,
                *(keyword(call, n) for n in (*labels, "remote_cols")[len(arguments) :]),
            ]
            if len(given) >= 5:
                source, into = text(given[1]), text(given[2])
                local, remote = names(given[3]), names(given[4])
                if source and into and local and remote:
                    foreign_key(source, local, into, remote, actions(call))
        elif operation == "add_column" and len(arguments) >= 2 and text(arguments[0]):
            name = column(arguments[1])
            if name is not None:
                self.columns.setdefault(str(text(arguments[0])), set()).add(name)
                typed(str(text(arguments[0])), arguments[1])
                for local, referenced, remote, how in column_keys(name, arguments[1]):
                    foreign_key(str(text(arguments[0])), local, referenced, remote, how)
        elif operation == "drop_table" and arguments and text(arguments[0]):
            self.columns.pop(str(text(arguments[0])), None)
        elif operation in _ALEMBIC_SQL and arguments:
            # read as the SQL alembic sends: what a key, view, rule or bound function stood on
            # goes as it does on the server
            keywords = {k.arg: text(k.value) for k in call.keywords if k.arg}
            first = text(arguments[0])
            second = text(arguments[1]) if len(arguments) > 1 else keywords.get("table_name")
            if first is None or (second is None and operation != "drop_index"):
                return
            schema = keywords.get("schema")
            prefix = "" if schema is None else f"{_quote_name(schema)}."
            one, two = _quote_name(first), _quote_name(second or "")
            if operation == "rename_table":
                sql = f"ALTER TABLE {prefix}{one} RENAME TO {two}"
            elif operation == "alter_column":
                type_ = next((k.value for k in call.keywords if k.arg == "type_"), None)
                if type_ is not None:  # `op.alter_column(t, c, type_=CITEXT())`
                    column_call = ast.Call(ast.Name("Column"), [arguments[1]], [])
                    typed(first, column_call, type_)
                nullable = next((k.value for k in call.keywords if k.arg == "nullable"), None)
                if nullable is not None and not (
                    isinstance(nullable, ast.Constant) and nullable.value is False
                ):  # `nullable=True` (or a value known at run time): NOT NULL goes
                    self.add_sql(f"ALTER TABLE {prefix}{one} ALTER COLUMN {two} DROP NOT NULL;")
                renamed = keywords.get("new_column_name")
                if not renamed:
                    return
                sql = f"ALTER TABLE {prefix}{one} RENAME COLUMN {two} TO {_quote_name(renamed)}"
            elif operation == "drop_constraint":
                sql = f"ALTER TABLE {prefix}{two} DROP CONSTRAINT {one}"
            elif operation == "drop_index":
                sql = f"DROP INDEX {prefix}{one}"
            else:  # drop_column
                sql = f"ALTER TABLE {prefix}{one} DROP COLUMN {two}"
            self.add_sql(sql + ";")
        elif operation == "create_unique_constraint" and len(arguments) >= 3:
            label, names = text(arguments[0]), arguments[2]
            if label and isinstance(names, ast.List | ast.Tuple):
                self.constraints[label] = {t for t in map(text, names.elts) if t}
                owner = text(arguments[1])
                if owner and self.constraints[label]:  # checked across the table (TG013)
                    self.spanning.setdefault(owner, {})[label] = frozenset(self.constraints[label])

    def _add_one_by_one(self, text: str, path: str) -> None:
        """A file pglast rejects as a whole: statement by statement, each failure a problem."""
        from pglast import parse_sql
        from pglast.parser import ParseError

        lines = LineIndex(text)
        for statement in split_sql(text)[0]:
            try:
                parsed = parse_sql(statement.text)
            except ParseError as error:
                # pglast gives the message and the error's byte offset in the statement
                message = str(error.args[0]) if error.args else str(error)
                offset = error.args[1] if len(error.args) > 1 else 0
                offset = len(
                    statement.text.encode()[: offset if isinstance(offset, int) else 0].decode(
                        "utf-8", "ignore"
                    )
                )
                line, column = lines.position(statement.start + offset)
                self.problems.append(SchemaProblem(path, line, column, message, statement.text))
                continue
            self._at = (path, *lines.position(statement.start))
            for raw in parsed:
                self._statement(raw.stmt, statement.text, path)

    def _scan_embedded(self, text: str, path: str) -> None:
        """DDL inside a DO body or an EXECUTE string: located by a scan, then read."""
        types = list(_TYPE_DDL.finditer(text))
        found = sorted(
            {
                m.start(): m
                for m in (
                    *_TABLE_DDL.finditer(text),
                    *_VIEW_DDL.finditer(text),
                    *_FUNCTION_DDL.finditer(text),
                    *types,
                    *_OTHER_DDL.finditer(text),
                    *_INDEX_DDL.finditer(text),
                )
            }.values(),
            key=lambda m: m.start(),
        )
        starts = {m.start() for m in types}
        routines = {m.start() for m in _FUNCTION_DDL.finditer(text)}
        for match in found:
            start = match.start()
            chunk = text[start : start + _LONGEST_DDL]
            in_string = bool(text.count("'", text.rfind("\n", 0, start) + 1, start) % 2)
            if in_string:
                # inside a string (`EXECUTE 'CREATE VIEW …'`): it ends at the closing quote
                piece = _string_body(chunk)
                # `EXECUTE format('ALTER TABLE %I ADD CHECK (…)', 'dyn')` of constant
                # arguments: the statement it runs (round 15)
                piece = _formatted(text, start, piece) or piece
            else:
                statements, _ = split_sql(chunk)
                if not statements or statements[0].error is not None:
                    self._hidden_types |= start in starts
                    self._hidden_functions |= start in routines
                    continue
                piece = statements[0].text
            from pglast import parse_sql
            from pglast.parser import ParseError

            try:
                parsed = parse_sql(piece)
            except ParseError:
                self._hidden_types |= start in starts
                self._hidden_functions |= start in routines
                if _HIDDEN_DDL.match(match.group(0)) or (in_string and piece):
                    # `EXECUTE format('CREATE TRIGGER … ON %I …', t)`: what it makes run beside
                    # a write, or what `=` and `::` mean, is out of sight
                    where, line, column = self._at
                    message = (
                        f"{' '.join(match.group(0).split()).upper()} in dynamic SQL: what it "
                        "creates (a trigger or rule that runs beside writes, an operator or cast "
                        "that changes what a pin compares, a table, a CHECK, an index or a "
                        "default that calls a function on each row written) cannot be "
                        "read\nwrite it as a "
                        "statement of its own (in the DO block, without format()), or leave "
                        "TG006 out for this file once it reaches no tenant rows"
                    )
                    self.problems.append(
                        SchemaProblem(where, line, column, message, text, parsed=True)
                    )
                continue  # a fragment of dynamic SQL, not a statement of its own
            for raw in parsed[:1]:
                self._statement(raw.stmt, piece, path)

    def _statement(self, node: Any, text: str, path: str) -> None:
        kind = type(node).__name__
        if "session_replication_role" in text.lower() and not _origin_role(node):
            # replica (or local): the server skips every foreign key's trigger, so rows written
            # then (here, in a function or a session of a role this sets) may break any key
            self._replica = True
        if not self.names_unsure:
            self._forget_plain(node, kind, text)
        # `CREATE TABLE IF NOT EXISTS` of a name a schema holds already may do nothing: the
        # table of that name stays as it was (h35P: public.countries made with the tenant
        # column, then `IF NOT EXISTS countries (code text)` read as a plain global table)
        kept = (
            kind == "CreateStmt"
            and bool(getattr(node, "if_not_exists", False))
            and self._schema_of(node.relation)
            in self.relation_schemas.get(_relname(node.relation), {_UNKNOWN_SCHEMA})
        )
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, node, text, path)
        if kind == "CreateStmt" and not self.names_unsure:
            if kept:
                self.plain_tables.pop(_relname(node.relation), None)
            else:
                self._remember_plain(node)

    def _forget_plain(self, node: Any, kind: str, text: str) -> None:
        """Forgets the plain tables (`plain_tables`) a statement may change: any it names but
        by DML (INSERT, UPDATE, DELETE, COPY); a CREATE TABLE's parents and LIKE sources; any
        table of a schema a statement renames, drops or moves things of. A statement that may run
        text the reader does not see (EXECUTE, in a function, a DO block, a PREPARE) makes every
        name unsure."""
        lowered = text.lower()
        if "execute" in lowered:
            self.names_unsure = True
            self.plain_tables.clear()
            return
        if kind in _CODE:
            self._code_texts.append(text)
            self._code_words.update(_written_words(text))
        if not self.plain_tables or kind in _PLAIN_SAFE:
            return
        if kind == "CreateStmt":
            named = {_relname(r) for r in node.inhRelations or ()}
            for element in node.tableElts or ():
                if type(element).__name__ == "TableLikeClause":
                    named.add(_relname(element.relation))
            if node.ofTypename is not None:
                named.add(str(node.ofTypename.names[-1].sval))
        else:
            words = _written_words(text)
            if "*" in words:
                named = set(self.plain_tables)
            else:
                named = {w for w in words if w in self.plain_tables}
                odd = [n for n in self._odd_plain if n in self.plain_tables]
                if odd:
                    named |= names_in_text(text, set(odd))
        for name in named:
            self.plain_tables.pop(name, None)
        if kind in _SCHEMA_CHANGES:
            for name, homes in list(self.plain_tables.items()):
                for schema in [h for h in homes if names_in_text(text, {h})]:
                    del homes[schema]
                if not homes:
                    del self.plain_tables[name]

    def _remember_plain(self, node: Any) -> None:
        """Notes a plain CREATE TABLE's columns in its schema (see `plain_tables`)."""
        relation = node.relation
        if (
            node.inhRelations
            or node.ofTypename is not None
            or node.partbound is not None
            or str(getattr(relation, "relpersistence", "p") or "p") != "p"
        ):
            return
        schema = self._schema_of(relation)
        if not schema or schema == _UNKNOWN_SCHEMA:
            return
        name = _relname(relation)
        if (
            name in self._code_words
            or "*" in self._code_words
            or (
                self._code_texts
                and not _PLAIN_WORD.fullmatch(name)
                and any(names_in_text(code, {name}) for code in self._code_texts)
            )
        ):
            return  # code defined before it names it: a call may change it
        columns = []
        for element in node.tableElts or ():
            kind = type(element).__name__
            if kind == "ColumnDef":
                columns.append(str(element.colname))
            elif kind != "Constraint":
                return  # LIKE, or anything the reader does not know
        self.plain_tables.setdefault(name, {})[schema] = columns
        if not _PLAIN_WORD.fullmatch(name):
            self._odd_plain.add(name)  # not a plain word: found by `names_in_text` alone

    def _unknown(self, text: str, message: str) -> None:
        """A statement PostgreSQL reads that creates a table whose columns the sources do not
        show: an error at the statement (its text names the table, for `tables_with`)."""
        where, line, column = self._at
        self.problems.append(SchemaProblem(where, line, column, message, text, parsed=True))

    def descendants(self, table: str) -> set[str]:
        """The tables inheriting from `table`, at any depth (partitions included)."""
        return self._descendants(table)

    def _descendants(self, table: str) -> set[str]:
        """The tables inheriting from `table`, at any depth (partitions included)."""
        found: set[str] = set()
        stack = [table]
        while stack:
            for child in self.children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def ancestors(self, table: str) -> set[str]:
        """The tables `table` inherits from (or is a partition of), at any depth."""
        found: set[str] = set()
        stack = [p for p, children in self.children.items() if table in children]
        while stack:
            parent = stack.pop()
            if parent not in found:
                found.add(parent)
                stack.extend(p for p, children in self.children.items() if parent in children)
        return found

    def _of_type(self, name: str) -> set[str]:
        """The typed tables of a composite type, and the tables inheriting from them."""
        tables = set(self.typed.get(name, ()))
        for table in list(tables):
            tables |= self._descendants(table)
        return tables

    # tables

    def _create_table(self, node: Any, text: str, path: str) -> None:
        table = _relname(node.relation)
        if node.if_not_exists and self._exists(node.relation):
            return  # PostgreSQL skips it: the relation of that name stays as it was
        self.defaults.pop(table, None)  # what an earlier table of this name had is gone
        self.filled.pop(table, None)
        self.traits.pop(table, None)
        self.copies.pop(table, None)
        self._forget_kin(table)
        if self._defined(node.relation):
            self._no_defaults.add(table)
        columns = self.columns.setdefault(table, set())
        if node.ofTypename is not None:  # CREATE TABLE … OF type: the type's attributes
            type_name = str(node.ofTypename.names[-1].sval)
            attributes = self.types.get(type_name)
            if attributes is None:
                self._unknown(
                    text,
                    f"typed table {table} is of type {type_name}, which no schema source "
                    "creates (CREATE TYPE … AS (…)): its columns are unknown; create the type "
                    "in the schema sources, or name the table in tenant_tables",
                )
            else:
                columns |= attributes
                self._row_slots.setdefault(table, set()).update(self._row_slots.get(type_name, ()))
                if self.loose_attributes.get(type_name):
                    self.loose.setdefault(table, set()).update(self.loose_attributes[type_name])
            self.typed.setdefault(type_name, set()).add(table)
        if node.partbound is not None:  # PARTITION OF: its parent's keys are its own
            self._partitions.add(table)
        else:
            self._partitions.discard(table)
        # the columns in order: the parents' first, then its own (and LIKE's) as written
        order: list[str] | None = [] if node.ofTypename is None else None
        self.order.pop(table, None)
        for parent in node.inhRelations or ():  # INHERITS, PARTITION OF
            known = self.order.get(_relname(parent))
            if order is not None and known is not None:
                order.extend(c for c in known if c not in order)
            else:
                order = None
            columns |= self.columns.get(_relname(parent), set())
            self._copy_loose(_relname(parent), table)
            self._copy_generated(_relname(parent), table, expressions=True)
            self.children.setdefault(_relname(parent), set()).add(table)
            self._copy_defaults(_relname(parent), table)  # a column declared again has its own
            self._copy_traits(_relname(parent), table)  # types and NOT NULL are inherited
        if order is not None and len(self.relation_schemas.get(table, ())) <= 1:
            self.order[table] = order
        for element in node.tableElts or ():
            self._table_element(table, columns, element)
        if node.partspec is not None:
            self._implicit(table, "the partition key", node.partspec)
        if node.partspec is None and not node.accessMethod and node.ofTypename is None:
            self._heaps.add(table)
        else:
            self._heaps.discard(table)

    def _foreign_table(self, node: Any, text: str, path: str) -> None:
        self._create_table(node.base, text, path)
        self._heaps.discard(_relname(node.base.relation))  # its ctid is the server's, or none

    def _composite_type(self, node: Any, text: str, path: str) -> None:
        attributes = [c for c in node.coldeflist or () if type(c).__name__ == "ColumnDef"]
        self.types[_relname(node.typevar)] = {str(c.colname) for c in attributes}
        for attribute in attributes:
            self._slot(_relname(node.typevar), attribute.typeName)
        self.loose_attributes[_relname(node.typevar)] = {
            str(c.colname) for c in attributes if self._loose_type(c.typeName, c.collClause)
        }
        self.doubt_types(_relname(node.typevar))
        self.lossy_columns.update(  # a typed table's columns, a `(row).field`
            str(c.colname) for c in attributes if self._lossy_type(c.typeName, c.collClause)
        )

    def _import_foreign_schema(self, node: Any, text: str, path: str) -> None:
        self._unknown(
            text,
            "IMPORT FOREIGN SCHEMA creates foreign tables whose columns no schema source "
            "shows; create them with CREATE FOREIGN TABLE (their columns), or name the tenant "
            "ones in tenant_tables",
        )

    def _prepare(self, node: Any, text: str, path: str) -> None:
        self.prepared[str(node.name)] = node.query

    def _select_into(self, node: Any, text: str, path: str) -> None:
        """`SELECT … INTO [TEMP] t FROM …` creates t with the query's columns."""
        from pglast.stream import RawStream

        leaf = node  # INTO sits on the leftmost branch of a set operation
        while getattr(leaf, "larg", None) is not None and leaf.intoClause is None:
            leaf = leaf.larg
        into = leaf.intoClause
        if into is None:
            if "search_path" in text.lower():
                self._search_path_call(node)
            self._called(node, path)
            return  # a query, not DDL
        leaf.intoClause = None  # printed without it: the query alone
        try:
            query = RawStream()(node)
        finally:
            leaf.intoClause = into
        names = self._query_columns(node, query)
        self._defined(into.rel)  # a name in another schema too: its keys are in doubt
        self.columns.setdefault(_relname(into.rel), set()).update(names or ())
        self.order.pop(_relname(into.rel), None)  # its columns' order: not kept
        self._lossy_outputs(node, list(_strings(into.colNames)) or None)
        self.filled[_relname(into.rel)] = ViewInfo(query, list(_strings(into.colNames)) or None)

    def _table_element(self, table: str, columns: set[str], element: Any) -> None:
        from pglast.enums import ConstrType, TableLikeOption

        kind = type(element).__name__
        if kind == "ColumnDef":
            column = str(element.colname)
            columns.add(column)
            if table in self.order and column not in self.order[table]:
                self.order[table].append(column)
            if self._loose_type(element.typeName, element.collClause):
                self.loose.setdefault(table, set()).add(column)
            if self._lossy_type(element.typeName, element.collClause):
                self.lossy_columns.add(column)
            self._set_default(table, column, None)  # ADD COLUMN: a column of its own
            self._of_domain(table, column, element.typeName)
            self._slot(table, element.typeName)
            self.copies.get(table, {}).pop(column, None)  # unless its own expression copies
            constraints = list(element.constraints or ())
            traits = self.traits.setdefault(table, {}).setdefault(column, set())
            if _integer_type(element.typeName):
                traits.add("integer")  # a column declared again in a child keeps its parent's
            typed = _type_trait(element.typeName)
            if typed is not None and not any(t.startswith("type:") for t in traits):
                traits.add(typed)
            if element.is_not_null or any(
                _enum(c.contype)
                in (
                    ConstrType.CONSTR_NOTNULL,
                    ConstrType.CONSTR_PRIMARY,
                    ConstrType.CONSTR_IDENTITY,
                )
                for c in constraints
            ):
                traits.add("not_null")
            for index, constraint in enumerate(constraints):
                contype = _enum(constraint.contype)
                if contype == ConstrType.CONSTR_DEFAULT:
                    self._set_default(table, column, constraint.raw_expr)
                elif contype == ConstrType.CONSTR_GENERATED and constraint.raw_expr is not None:
                    casts = {c for c in _called_or_cast(constraint.raw_expr) if c[:2] == "::"}
                    if casts:  # computed at each write: a domain's CHECK runs (calls: below)
                        what = f"generated column {column}"
                        self.implicit_calls.setdefault(table, {}).setdefault(what, set()).update(
                            casts
                        )
                    read = _columns_read(constraint.raw_expr)
                    self.generated.setdefault(table, {})[column] = read
                    if _calls(constraint.raw_expr):
                        from pglast.stream import RawStream

                        printed = RawStream()(constraint.raw_expr)
                        self.generated_calls.setdefault(table, {})[column] = printed
                    copied = copied_column(constraint.raw_expr)
                    if copied is not None and table not in self._no_defaults:
                        self.copies.setdefault(table, {})[column] = copied
                elif contype == ConstrType.CONSTR_FOREIGN:
                    self._foreign_key(table, constraint, (column,), _deferred(constraints, index))
                else:
                    self._constraint(table, constraint, (column,), _deferred(constraints, index))
        elif kind == "Constraint":
            self._constraint(table, element, None)
        elif kind == "TableLikeClause":
            source = _relname(element.relation)
            # LIKE takes a view's, a materialized view's or a composite type's columns too
            columns |= self._row_type_columns(source, 0)
            if source not in self.columns and source not in self.views and source not in self.types:
                # PostgreSQL would refuse it here: the sources create it later (they are read
                # in the order of their file names), or not at all (round 22, helper 108: a
                # history table `LIKE customers` in functions.sql, read before schema.sql,
                # had no tenant column, and its reads passed)
                self._unknown(
                    f"CREATE TABLE {table} (LIKE {source})",
                    f"CREATE TABLE {table} (LIKE {source}): {source} is not created before it "
                    "in the schema sources (read in the order of their file names, each from "
                    f"the top), so the columns of {table} are unknown\ncreate {source} first "
                    "(rename the files so that they sort in the order they run), or list the "
                    "columns",
                )
            known = self.order.get(_relname(element.relation))
            if table in self.order and known is not None:
                self.order[table].extend(c for c in known if c not in self.order[table])
            else:
                self.order.pop(table, None)
            self._copy_traits(_relname(element.relation), table)  # LIKE copies NOT NULL too
            self._copy_loose(_relname(element.relation), table)  # LIKE keeps the collations
            # the expressions only with INCLUDING GENERATED (without: plain columns); the names
            # read, always (fail closed)
            self._copy_generated(
                _relname(element.relation),
                table,
                expressions=bool(
                    element.options
                    & (
                        TableLikeOption.CREATE_TABLE_LIKE_GENERATED
                        | TableLikeOption.CREATE_TABLE_LIKE_ALL
                    )
                ),
            )
            if element.options & (
                TableLikeOption.CREATE_TABLE_LIKE_INDEXES | TableLikeOption.CREATE_TABLE_LIKE_ALL
            ):  # its unique indexes and exclusion constraints, under names of its own
                for name, key in self.spanning.get(source, {}).items():
                    self.spanning.setdefault(table, {})[f"{table} like {name}"] = key
            if element.options & TableLikeOption.CREATE_TABLE_LIKE_DEFAULTS:
                self._copy_defaults(_relname(element.relation), table)
            # INCLUDING CONSTRAINTS / INDEXES copy what they call (whatever the options: kept)
            for what, called in self.implicit_calls.get(_relname(element.relation), {}).items():
                self.implicit_calls.setdefault(table, {}).setdefault(what, set()).update(called)

    def _of_domain(self, table: str, column: str, type_name: Any) -> None:
        """Notes (or forgets) that a column is of a domain: it may take the domain's default."""
        domain = _type_key(type_name)
        if domain.rstrip("[]") in self._domain_defaults:
            # an array of a domain (`leaky_dom[]`) runs the domain's CHECK on each element it
            # is given (round 15); it takes no default of the domain's (settled below)
            self._column_domains[(table, column)] = domain
        else:
            self._column_domains.pop((table, column), None)

    def _copy_traits(self, source: str, table: str) -> None:
        for column, traits in self.traits.get(source, {}).items():
            self.traits.setdefault(table, {}).setdefault(column, set()).update(traits)
        if source in self._row_slots:  # (LIKE, INHERITS: the columns' types come along)
            self._row_slots.setdefault(table, set()).update(self._row_slots[source])

    def _slot(self, owner: str, type_name: Any) -> None:
        """A column of `owner` (or an attribute) declared of `type_name`: remembered when it
        may be a row type (no built-in type), arrays aside."""
        names = list(_strings(getattr(type_name, "names", None) or ()))
        if not names or (len(names) == 1 and names[0] in BUILTIN_TYPES):
            return
        if len(names) > 1 and names[0] == "pg_catalog":
            return
        self._row_slots.setdefault(owner, set()).add(names[-1])

    def _drop_traits(self, table: str, column: str | None, trait: str | None = None) -> None:
        """Forgets a trait (all: None) of a column (all: None) of a table and its descendants."""
        for changed in (table, *self._descendants(table)):
            found = self.traits.get(changed)
            if found is None:
                continue
            for name in [column] if column is not None else list(found):
                if trait is None:
                    found.pop(name, None)
                elif name in found:
                    found[name].discard(trait)

    def _copy_generated(self, source: str, table: str, *, expressions: bool) -> None:
        """`table` gets `source`'s generated columns (INHERITS, PARTITION OF, LIKE): the names
        they read, and with `expressions` the columns they copy."""
        for column, read in self.generated.get(source, {}).items():
            self.generated.setdefault(table, {}).setdefault(column, set()).update(read)
            copied = self.copies.get(source, {}).get(column)
            if expressions and copied is not None and table not in self._no_defaults:
                self.copies.setdefault(table, {})[column] = copied
            else:
                self._forget_copies(table, column)

    def _forget_copies(self, table: str, *columns: str) -> None:
        """Forgets the copies of `table` (and its descendants) that name one of `columns`, as
        the generated column or the column copied."""
        for changed in (table, *self._descendants(table)):
            copies = self.copies.get(changed)
            if copies:
                for generated, copied in list(copies.items()):
                    if generated in columns or copied in columns:
                        del copies[generated]

    def _copy_loose(self, source: str, table: str) -> None:
        if source in self.loose:
            self.loose.setdefault(table, set()).update(self.loose[source])

    def _loose_type(self, type_name: Any, collate: Any) -> bool:
        """Whether a column (or domain) of this type and COLLATE clause compares loosely."""
        if collate is not None:
            names = list(_strings(collate.collname))
            if names and names[-1] in self.loose_collations:
                return True
        names = list(_strings(getattr(type_name, "names", None) or ()))
        return bool(names) and names[-1] in self.loose_types

    def _lossy_type(self, type_name: Any, collate: Any) -> bool:
        """Whether a parameter compared with a column of this type (or an array of it) is typed
        so that two tenant ids may meet: it rounds, pads, truncates or compares loosely."""
        element = _type_key(type_name).rstrip("[]")
        return element in self.lossy_types or self._loose_type(type_name, collate)

    def _lossy_outputs(self, query: Any, aliases: list[str] | None) -> None:
        """The output names of a view's (or CREATE TABLE AS's) query that may be of a lossy
        type under another name (`r AS pts`, `max(r)`): anything but a column of an exact
        name or a constant, in any branch of a set operation, at that position."""
        leaves: list[Any] = []
        stack = [query]
        while stack:
            current = stack.pop()
            if type(current).__name__ != "SelectStmt":
                continue
            if current.larg is not None:
                stack.extend((current.rarg, current.larg))
            else:
                leaves.append(current)
        names: list[str | None] = list(aliases or ())
        for number, leaf in enumerate(leaves):
            rows = [list(v) for v in leaf.valuesLists or ()]
            if not rows:
                rows = [[t.val for t in leaf.targetList or ()]]
                if number == 0 and not aliases:
                    names = [_output_name(t) for t in leaf.targetList or ()]
            for row in rows:
                if any(_star(item) for item in row):  # positions unknown: every alias
                    self.lossy_columns.update(n for n in names if n)
                    return
                for position, item in enumerate(row):
                    if position < len(names) and not self._exact_output(item):
                        name = names[position]
                        if name:
                            self.lossy_columns.add(name)

    def _exact_output(self, item: Any) -> bool:
        kind = type(item).__name__
        if kind == "A_Const":
            return True
        if kind == "TypeCast":  # of the cast's type, whatever it casts
            return item.typeName is not None and not self._lossy_type(item.typeName, None)
        if kind == "FuncCall":
            return self._exact_aggregate(item)
        if kind != "ColumnRef":
            return False
        fields = list(item.fields or ())
        return bool(fields) and str(getattr(fields[-1], "sval", "")) not in self.lossy_columns

    def _exact_aggregate(self, call: Any) -> bool:
        """A built-in aggregate whose type is surely exact: `count(…)` (bigint), `min` and `max`
        of an exact output (its type). Not a name the schema defines a function or aggregate
        of (it may be the one called)."""
        names = [str(getattr(n, "sval", "")) for n in call.funcname or ()]
        if not names or names[:-1] not in ([], ["pg_catalog"]):
            return False
        name = names[-1]
        if name in self.functions or name in self._aggregates:
            return False
        arguments = list(call.args or ())
        if name == "count":
            return True
        return name in ("min", "max") and len(arguments) == 1 and self._exact_output(arguments[0])

    def _domain(self, node: Any, text: str, path: str) -> None:
        from pglast.enums import ConstrType

        names = list(_strings(node.domainname))
        if names:
            self._domain_defaults[names[-1]] = next(
                (
                    c.raw_expr
                    for c in node.constraints or ()
                    if _enum(c.contype) == ConstrType.CONSTR_DEFAULT
                ),
                None,
            )
        if names:
            self._domain_bases[names[-1]] = _type_key(node.typeName).rstrip("[]")
            for constraint in node.constraints or ():
                self._domain_check(names[-1], constraint)
        if names and self._loose_type(node.typeName, node.collClause):
            self.loose_types.add(names[-1])
        if names and _type_key(node.typeName) in self.lossy_types:
            self.lossy_types.add(names[-1])
        if names:
            self._domain_defs.setdefault(names[-1], set()).add(
                (_schema_of(node.domainname), *_domain_base(node.typeName, node.collClause))
            )

    def _other_type(self, node: Any, text: str, path: str) -> None:
        """CREATE TYPE … AS ENUM | RANGE: a type name a cast may mean instead of a domain."""
        self.doubt_types(*list(_strings(node.typeName))[-1:])

    def _type_moved(self, node: Any, text: str, path: str) -> None:
        """ALTER DOMAIN | TYPE | FUNCTION … SET SCHEMA: which one the name means is in doubt."""
        from pglast.enums import ObjectType

        kind = _enum(node.objectType)
        if node.relation is not None and kind in (
            ObjectType.OBJECT_TABLE,
            ObjectType.OBJECT_FOREIGN_TABLE,
            ObjectType.OBJECT_VIEW,
            ObjectType.OBJECT_MATVIEW,
        ):
            # ALTER TABLE | VIEW … SET SCHEMA: the name is in the new schema now (a table of
            # that name created again in the old one is another table: round 27)
            seen = self.relation_schemas.get(_relname(node.relation))
            if seen is not None:
                if len(seen) > 1:
                    self._mixed.add(_relname(node.relation))
                seen.discard(str(node.relation.schemaname or "public"))
                seen.add(str(node.newschema))
            return
        if kind in (ObjectType.OBJECT_DOMAIN, ObjectType.OBJECT_TYPE):
            self.doubt_types(*list(_strings(node.object))[-1:])
        elif kind in (
            ObjectType.OBJECT_FUNCTION,
            ObjectType.OBJECT_ROUTINE,
            ObjectType.OBJECT_AGGREGATE,
        ):  # which function a call means is then in doubt
            names = list(_strings(getattr(node.object, "objname", None)))
            self._doubtful_functions.update(names[-1:])

    def doubt_types(self, *names: str) -> None:
        """Type names a statement other than CREATE DOMAIN makes, renames, moves or drops
        (CREATE TYPE, ALTER DOMAIN … RENAME, DROP DOMAIN …): no cast to one is read as exact."""
        self._doubtful_types.update(names)

    def settle_domains(self) -> None:
        """Once every source is read: the domains a cast to which is exact (`exact_domains`)."""
        self.exact_domains = {}
        self.one_domains = set()
        if self._hidden_types:
            return
        self.one_domains = {
            name
            for name, defs in self._domain_defs.items()
            if len(defs) == 1 and name not in self._doubtful_types
        }
        for name in self._domain_defs:
            found = self._exact_domain(name, "", 0)
            if found is not None:
                self.exact_domains[name] = found

    def settle_functions(self) -> None:
        """Once every source is read (and the domains settled): `exact_functions`,
        `stable_functions`."""
        from tenantguard.engine.pgextensions import EXTENSION_LOSSY_ARGUMENTS
        from tenantguard.engine.pgfunctions import BUILTIN_FUNCTIONS

        for extension, _ in self._extensions:  # a bare parameter given there is typed so
            for name, positions in EXTENSION_LOSSY_ARGUMENTS.get(extension, {}).items():
                self.lossy_arguments.setdefault(name, set()).update(positions)
        self.exact_functions = {}
        self.stable_functions = set()
        if self._hidden_functions:
            return
        self._settle_volatility()
        for name, definitions in self._function_types.items():
            if name in BUILTIN_FUNCTIONS or name in self._doubtful_functions:
                continue
            returned: set[str | None] = set()
            for types in definitions:
                bases = [self._exact_type(schema, type_name) for schema, type_name in types]
                if None in bases:
                    returned = {None}
                    break
                returned.add(bases[0])
            if len(returned) == 1 and None not in returned:
                self.exact_functions[name] = str(next(iter(returned)))

    def _settle_volatility(self) -> None:
        from tenantguard.engine.pgextensions import EXTENSION_FUNCTIONS

        definitions = {name: dict(found) for name, found in self._volatility.items()}
        for extension, where in self._extensions:
            stable, volatile = EXTENSION_FUNCTIONS.get(extension, ((), ()))
            for names, kind in ((stable, "s"), (volatile, "v")):
                for name in names:
                    definitions.setdefault(name, {})[(where, ("extension", extension))] = kind
        doubtful = self._doubtful_functions - self._aggregates
        self.stable_functions = stable_names(
            (where, name, kind)
            for name, found in definitions.items()
            if name not in doubtful
            for (where, _), kind in found.items()
        )

    def settle_views(self) -> None:
        """Once the functions are settled: `volatile_operators`, `volatile_views` (a view whose
        query cannot be read is counted among them)."""
        from tenantguard.engine.analyze import parse_statement
        from tenantguard.engine.proof.syntax import calls_volatile

        self.volatile_operators |= {  # (audit gives them from the catalog)
            symbol for symbol, function in self.operators if function not in self.stable_functions
        }
        trees: dict[str, exp.Expression] = {}
        volatile: set[str] = set()
        for name, view in self.views.items():
            if name in self.materialized:
                continue
            tree = parse_statement(view.query)[0]
            if tree is None:
                volatile.add(name)
            else:
                trees[name] = tree
        known = _Volatility(
            frozenset(self.stable_functions),
            frozenset(self.functions),
            frozenset(volatile),
            frozenset(self.volatile_operators),
        )
        changed = True
        while changed:  # a view reading a volatile view is one
            changed = False
            for name, tree in trees.items():
                if name not in volatile and calls_volatile(tree, known):
                    volatile.add(name)
                    known = replace(known, volatile_views=frozenset(volatile))
                    changed = True
        self.volatile_views = volatile

    def _exact_type(self, schema: str, name: str) -> str | None:
        """The builtin type of an exact type (or exact domain) `schema.name`, else None."""
        if name in _EXACT_BASES and schema in ("", "pg_catalog"):
            return name
        domain = self.exact_domains.get(name)
        if domain is None or schema not in ("", domain[0]):
            return None
        return domain[1]

    def _exact_domain(self, name: str, schema: str, depth: int) -> tuple[str, str] | None:
        """(schema, builtin base) of the domain `name` (in `schema`, "" for any) if a cast to
        it is exact: defined once, never in doubt, over an exact type or such a domain."""
        defs = self._domain_defs.get(name)
        if depth > 8 or not defs or len(defs) != 1 or name in self._doubtful_types:
            return None
        ((own, base_schema, base),) = defs
        if schema and schema != own:
            return None
        if base in _EXACT_BASES and base_schema in ("", "pg_catalog"):
            return own, base
        if base == "?" or base_schema == "pg_catalog":
            return None
        found = self._exact_domain(base, base_schema, depth + 1)
        return None if found is None else (own, found[1])

    def _alter_domain(self, node: Any, text: str, path: str) -> None:
        """ALTER DOMAIN … SET | DROP DEFAULT: the default of its columns without their own."""
        names = list(_strings(node.typeName))
        if names and str(node.subtype) == "T":
            self._domain_defaults[names[-1]] = node.def_
        elif names and str(node.subtype) == "C" and node.def_ is not None:
            self._domain_check(names[-1], node.def_)  # ADD CONSTRAINT (a DROP is not followed)

    def _domain_check(self, domain: str, constraint: Any) -> None:
        """A domain's constraint: the functions its CHECK calls on each value."""
        from pglast.enums import ConstrType

        if _enum(constraint.contype) == ConstrType.CONSTR_CHECK:
            called = _called_or_cast(constraint)
            if called:
                self.domain_calls.setdefault(domain, set()).update(called)

    def _implicit(self, table: str, what: str, tree: Any) -> None:
        """The functions an expression of a table (a constraint, an index, the partition key)
        calls on each row written."""
        called = _called_or_cast(tree)
        if called:
            called |= _row_calls(tree)
            self.implicit_calls.setdefault(table, {}).setdefault(what, set()).update(called)

    def settle_calls(self) -> None:
        """Once every source is read: a domain runs the CHECKs of the domains it is over; a
        column of a domain runs them on each row written."""
        for domain in list(self._domain_bases):
            seen, base = {domain}, self._domain_bases.get(domain)
            while base is not None and base not in seen:
                seen.add(base)
                if base in self.domain_calls:
                    self.domain_calls.setdefault(domain, set()).update(self.domain_calls[base])
                base = self._domain_bases.get(base)
        if self.domain_calls:
            pattern = re.compile(
                r"(?<![\w$])(?:"
                + "|".join(re.escape(d) for d in sorted(self.domain_calls, key=len, reverse=True))
                + r")(?![\w$])",
                re.IGNORECASE,
            )
            for function, texts in self._function_texts.items():
                named = {m.group(0).lower() for t in texts for m in pattern.finditer(t)}
                found = {d for d in self.domain_calls if d.lower() in named}
                if found:
                    self.function_domains.setdefault(function, set()).update(found)
        for (table, column), domain in self._column_domains.items():
            called = self.domain_calls.get(domain.rstrip("[]"))
            if called:
                what = f"the CHECK of domain {domain} (column {column})"
                self.implicit_calls.setdefault(table, {}).setdefault(what, set()).update(called)

    def domain_defaults(self) -> None:
        """Once every source is read: a column of a domain with a default, without a default
        of its own, defaults to the domain's."""
        for (table, column), domain in self._column_domains.items():
            expression = self._domain_defaults.get(domain)  # not an array's: `x[]` is no key
            if expression is not None and column not in self.defaults.get(table, {}):
                self._set_default(table, column, expression)

    def _define(self, node: Any, text: str, path: str) -> None:
        """CREATE COLLATION: nondeterministic unless `deterministic` is plainly true (or it
        copies a deterministic one). CREATE OPERATOR of a comparison the proof reads as a pin:
        an error at the statement (`_own_comparison`)."""
        from pglast.enums import ObjectType

        names = list(_strings(node.defnames))
        if _enum(node.kind) == ObjectType.OBJECT_TYPE and names:
            self.doubt_types(names[-1])  # a base or shell type: a cast to it may be anything
        if _enum(node.kind) == ObjectType.OBJECT_AGGREGATE and names:
            self._doubtful_functions.add(names[-1])  # called like a function of that name
            self._aggregates.add(names[-1])  # an aggregate is IMMUTABLE for the planner
            self._volatility.setdefault(names[-1], {})[
                (_schema_of(node.defnames), ("aggregate",))
            ] = "i"
            support = set()  # sfunc, finalfunc, combinefunc, msfunc, minvfunc, mfinalfunc…
            for option in node.definition or ():
                if str(option.defname).lower().endswith("func") and option.arg is not None:
                    arg = option.arg
                    parts = getattr(arg, "names", None) or (arg if isinstance(arg, tuple) else ())
                    found = [str(getattr(n, "sval", "")) for n in parts] or [
                        str(getattr(arg, "sval", ""))
                    ]
                    if found[-1]:
                        support.add(found[-1])
            if support:
                self.aggregate_calls.setdefault(names[-1], set()).update(support)
        if _enum(node.kind) == ObjectType.OBJECT_OPERATOR and names:
            for option in node.definition or ():  # its function: volatile unless declared not
                if str(option.defname).lower() in ("function", "procedure"):
                    called = [str(getattr(n, "sval", "")) for n in getattr(option.arg, "names", ())]
                    self.operators.append((names[-1], called[-1] if called else ""))
        if _enum(node.kind) == ObjectType.OBJECT_OPERATOR and names and names[-1] in _PINNING:
            types = {
                str(o.defname).lower(): _type_key(o.arg)
                for o in node.definition or ()
                if str(o.defname).lower() in ("leftarg", "rightarg")
                and type(o.arg).__name__ == "TypeName"
            }
            self._own_comparison(
                text,
                f"CREATE OPERATOR {names[-1]} ({types.get('leftarg', 'NONE')}, "
                f"{types.get('rightarg', 'NONE')}): the proof reads `{names[-1]}` as "
                "PostgreSQL's own, and the schema's is chosen where its operand types match "
                "better (always for types pg_catalog does not compare, `uuid = text`): "
                "`tenant_id = $1::text`, the tenant setting without a cast, a parameter "
                "typed text elsewhere in the statement, a function's text parameter may then "
                "match other tenants' rows",
            )
            return
        if _enum(node.kind) != ObjectType.OBJECT_COLLATION or not names:
            return
        loose = False
        for option in node.definition or ():
            if option.defname == "from":
                source = list(_strings(option.arg))
                loose = not source or source[-1] in self.loose_collations
            elif option.defname == "deterministic" and option.arg is not None:
                arg = option.arg
                value = getattr(arg, "sval", getattr(arg, "ival", getattr(arg, "boolval", None)))
                loose = str(value).lower() not in ("true", "on", "1")
        if loose:
            self.loose_collations.add(names[-1])

    def _cast(self, node: Any, text: str, path: str) -> None:
        """CREATE CAST: an error at the statement (`_own_comparison`). Its function, volatile
        unless declared not, makes a CTE casting so materialized (`cast:*` when it is applied
        without `::`, or to a built-in type)."""
        from pglast.enums import CoercionContext

        source, target = _type_key(node.sourcetype), _type_key(node.targettype)
        if node.func is not None:
            called = list(_strings(getattr(node.func, "objname", None)))
            implicit = _enum(node.context) != CoercionContext.COERCION_EXPLICIT
            builtin = (
                len(node.targettype.names or ()) > 1
                and str(node.targettype.names[0].sval) == "pg_catalog"
            )
            where = "cast:*" if implicit or builtin else f"cast:{target}"
            self.operators.append((where, called[-1] if called else ""))
        self._own_comparison(
            text,
            f"CREATE CAST ({source} AS {target}): the proof reads `::` and the conversions of "
            "a comparison as PostgreSQL's own; this one decides what `tenant_id::text = "
            "x.tenant_id::text` or, implicit, `tenant_id = $1::text` compares, which may then "
            "match other tenants' rows",
        )

    def _own_comparison(self, text: str, message: str) -> None:
        """An operator or cast of the schema that changes what a pin compares: the proof
        assumes PostgreSQL's own and cannot tell where this one is chosen (it reads no types),
        so the statement is an error, reported whatever is checked (TG006 at the statement),
        to be removed or acknowledged (per_file_ignores, a baseline)."""
        where, line, column = self._at
        help = (
            "compare through a function named for what it does (the proof reads none as a "
            "pin); once no pin can reach it, leave TG006 out for this file (per_file_ignores) "
            "or record it in a baseline"
        )
        self.problems.append(
            SchemaProblem(where, line, column, f"{message}\n{help}", text, parsed=True)
        )

    def _copy_defaults(self, source: str, table: str) -> None:
        """A parent's (or a LIKE source's) column defaults, taken by a new table."""
        if table in self._no_defaults:
            return
        for column, text in self.defaults.get(source, {}).items():
            self.defaults.setdefault(table, {})[column] = text

    def _set_default(self, table: str, column: str, expression: Any) -> None:
        """A column's default set (`expression`, a pglast node) or dropped (None)."""
        # none for a table no source created (ALTER TABLE IF EXISTS of a missing one)
        if expression is None or table in self._no_defaults or not self.relation_schemas.get(table):
            found = self.defaults.get(table)
            if found is not None:
                found.pop(column, None)
            return
        from pglast.stream import RawStream

        try:
            text = RawStream()(expression)
        except Exception:  # a default pglast cannot print: none kept
            self._set_default(table, column, None)
            return
        self.defaults.setdefault(table, {})[column] = text

    def _constraint(
        self, table: str, node: Any, on: tuple[str, ...] | None, deferrable: bool = False
    ) -> None:
        from pglast.enums import ConstrType

        contype = _enum(node.contype)
        if contype in (ConstrType.CONSTR_CHECK, ConstrType.CONSTR_EXCLUSION):
            kind = "CHECK" if contype == ConstrType.CONSTR_CHECK else "EXCLUDE"
            self._implicit(table, f"{kind} constraint {node.conname or '(unnamed)'}", node)
        if contype == ConstrType.CONSTR_FOREIGN:
            columns = tuple(_strings(node.fk_attrs)) or (on or ())
            self._foreign_key(table, node, columns, bool(node.deferrable))
            return
        if contype == ConstrType.CONSTR_EXCLUSION:
            checked = set()
            for element, _ in node.exclusions or ():
                checked |= _index_element_columns(element)
            keyed = set(checked)
            checked |= _columns_read(node.where_clause)
            if checked:
                name = node.conname or f"{table}_{'_'.join(sorted(checked))}_excl"
                self.spanning.setdefault(table, {})[str(name)] = frozenset(checked)
                if keyed and keyed != checked:  # (the WHERE's columns: see `_index`)
                    self.spanning[table][str(name) + _KEY_ONLY] = frozenset(keyed)
        if contype not in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE):
            if node.conname:  # CHECK, EXCLUDE…: a name a DROP CONSTRAINT may give
                self._named.setdefault(table, set()).add(str(node.conname))
            return
        columns = tuple(_strings(node.keys)) or (on or ())
        if not columns and node.indexname:  # `ADD CONSTRAINT uk UNIQUE USING INDEX idx`
            owned = [k for t, k in self._key_names.get(str(node.indexname), []) if t == table]
            columns = tuple(sorted(owned[0])) if len(owned) == 1 else ()
            if not columns and node.conname:  # columns unknown: an older `uk` is not this one
                self.constraints.pop(str(node.conname), None)
        if not columns:
            return
        if contype == ConstrType.CONSTR_PRIMARY:
            name = node.conname or f"{table}_pkey"
            for column in columns:  # a primary key's columns are NOT NULL
                self.traits.setdefault(table, {}).setdefault(column, set()).add("not_null")
        else:
            name = node.conname or f"{table}_{'_'.join(columns)}_key"
        if not node.conname:
            # PostgreSQL's choice when the name is taken (by a constraint or index named so
            # explicitly): the next free of `name1`, `name2`…
            # (only a name of this table's: one of another table may be in another schema,
            # where PostgreSQL keeps the name — the two are then read as one, see below)
            guess, number, mine = name, 0, self._named.get(table, set())
            if len(self.relation_schemas.get(table, ())) > 1:
                mine = set()  # tables of this name in two schemas: which one's name, unknown
            while guess in mine:
                number += 1
                guess = f"{name}{number}"
            name = guess
        if contype == ConstrType.CONSTR_PRIMARY:
            self.primary_keys[table] = str(name)
        before = self.constraints.get(str(name))
        if before is not None and any(
            str(name) in names for owner, names in self._named.items() if owner != table
        ):
            # one name on two tables (in two schemas: the reader does not tell them apart) —
            # `ON CONFLICT ON CONSTRAINT uk` may mean either: only the columns both have
            self.constraints[str(name)] = before & set(columns)
        else:
            self.constraints[str(name)] = set(columns)
        key = frozenset(columns)
        self._name_key(table, str(name), key, guessed=not node.conname, index=True)
        if contype == ConstrType.CONSTR_UNIQUE:  # deferred or not: checked, at commit at last
            self.spanning.setdefault(table, {})[str(name)] = key
        if deferrable or node.deferrable or node.initdeferred:
            if node.indexname:  # `UNIQUE USING INDEX idx DEFERRABLE`: the index is deferred too
                self._drop_key(str(node.indexname), table, cascade=False)
            return  # checked at commit: until then two rows may share the key
        self.unique_keys.setdefault(table, []).append(key)

    def _name_key(
        self, table: str, name: str, key: frozenset[str] | None, *, guessed: bool, index: bool
    ) -> None:
        """Notes a constraint's or a unique index's name (PostgreSQL's choice when `guessed`:
        `t_a_key`, `t_a_b_fkey`, `t_a_idx` — longer or clashing names it chooses otherwise)."""
        self._named.setdefault(table, set()).add(name)
        if index:
            self._indexes.add(name)  # a unique constraint's index has its name
        if key is not None:
            self._key_names.setdefault(name, []).append((table, key))
        if guessed:
            self._guessed.add((table, name))

    def _foreign_key(
        self, table: str, node: Any, columns: tuple[str, ...], deferrable: bool
    ) -> None:
        if node.pktable is None:
            return
        name = str(node.conname or f"{table}_{'_'.join(columns)}_fkey")
        self._name_key(table, name, None, guessed=not node.conname, index=False)
        self.foreign_keys.setdefault(table, []).append(
            ForeignKeyInfo(
                name,
                columns,
                _relname(node.pktable),
                tuple(_strings(node.pk_attrs)),
                valid=not node.skip_validation,
                deferrable=deferrable or bool(getattr(node, "initdeferred", False)),
                on_delete=str(node.fk_del_action or "a"),
                on_update=str(node.fk_upd_action or "a"),
                on_delete_columns=tuple(_strings(getattr(node, "fk_del_set_cols", None))),
            )
        )

    def _create_table_as(self, node: Any, text: str, path: str) -> None:
        from pglast.enums import ObjectType
        from pglast.stream import RawStream

        name = _relname(node.into.rel)
        source = node.query
        if type(source).__name__ == "ExecuteStmt":  # CREATE TABLE … AS EXECUTE name
            source = self.prepared.get(str(source.name))
            if source is None:
                self.columns.setdefault(name, set())
                self._unknown(
                    text,
                    f"CREATE TABLE {name} AS EXECUTE runs a prepared statement no schema "
                    "source prepares: its columns are unknown; write the query itself, or "
                    "name the table in tenant_tables",
                )
                return
        query = RawStream()(source)
        self._lossy_outputs(source, list(_strings(node.into.colNames)) or None)
        if _enum(node.objtype) == ObjectType.OBJECT_MATVIEW:
            aliases = list(_strings(node.into.colNames)) or None
            self._add_view(node.into.rel, ViewInfo(query, aliases))
            self.materialized.add(name)  # one of a name in two schemas: read as both
            return
        self._defined(node.into.rel)
        self.filled.pop(name, None)
        if not node.into.skipData:  # WITH NO DATA copies no row
            self.filled[name] = ViewInfo(query, list(_strings(node.into.colNames)) or None)
        names = list(_strings(node.into.colNames))
        if not names:
            names = sorted(self._query_columns(source, query))
        self.columns.setdefault(name, set()).update(names)
        self.order.pop(name, None)  # its columns' order: not kept
        for read in _relations_read(source):  # a row held there may be copied whole (superset)
            self._row_slots.setdefault(name, set()).update(self._row_slots.get(read, ()))
        if any(self.loose.get(t) for t in _relations_read(source)):
            # a column keeps its collation and domain, under any name: fail closed
            self.loose.setdefault(name, set()).update(names)

    def _query_columns(self, node: Any, query: str, depth: int = 0) -> set[str]:
        """The columns a query outputs — when a `*` or an expression hides them, every column
        of every relation its FROM items read, and the names it gives with AS: more than it
        outputs, never fewer (a source's tenant column makes it a tenant table: fail closed)."""
        outputs = _output_columns(query)
        if outputs is not None:
            return outputs
        names: set[str] = set()
        stack: list[Any] = [node]
        while stack:
            current = stack.pop()
            kind = type(current).__name__
            if kind == "SelectStmt":
                stack.extend(b for b in (current.larg, current.rarg) if b is not None)
                with_clause = current.withClause
                stack.extend(c.ctequery for c in (with_clause.ctes if with_clause else ()) or ())
                stack.extend(current.fromClause or ())
                names.update(str(t.name) for t in current.targetList or () if t.name)
            elif kind == "JoinExpr":
                stack.extend((current.larg, current.rarg))
            elif kind == "RangeSubselect":
                stack.append(current.subquery)
            elif kind == "RangeVar":
                table = _relname(current)
                names |= self.columns.get(table, set())
                view = self.views.get(table)
                if view is not None and depth < _DEEPEST_VIEW:
                    names |= set(view.columns or ()) | self._view_query_columns(view, depth)
            elif kind == "RangeFunction":
                for item in _flatten(current.functions):
                    call = getattr(item, "funcname", None)
                    function = self.functions.get(str(call[-1].sval)) if call else None
                    names |= set(function.columns or ()) if function else set()
        names |= self._named_row_columns(node, depth)
        if _expands_rows(node):
            # `(old).*`, `unnest(h.olds)`, `((NULL::wrap).card).*`: a row a column (or an
            # attribute) holds is expanded, whose type's columns it outputs (round 34, h34K)
            held = _relations_read(node) | {
                str(t.names[-1].sval)
                for t in _nodes_named(node, "TypeName", inside=True)
                if t.names
            }
            names |= self._held_row_columns(held, depth)
        return names

    def _named_row_columns(self, node: Any, depth: int) -> set[str]:
        """The names a query may output that no relation of its FROM items shows (round 34,
        helper A): those of a column alias list (`(SELECT …) s (org)`), of a column definition
        list (`jsonb_to_record(…) AS r (org uuid)`), and the columns of every row type the query
        names (`json_populate_record(NULL::cards, …)`, `unnest(ARRAY[]::cards[])`,
        `(NULL::card_row).*`): a superset (fail closed)."""
        names: set[str] = set()
        for alias in _nodes_named(node, "Alias", inside=True):
            names.update(_strings(alias.colnames))
        for column in _nodes_named(node, "ColumnDef", inside=True):
            names.add(str(column.colname))
        for type_name in _nodes_named(node, "TypeName", inside=True):
            if type_name.names:
                names |= self._row_type_columns(str(type_name.names[-1].sval), depth)
        return names

    def _row_type_columns(self, name: str, depth: int) -> set[str]:
        """The columns of the row type `name`: a table's, a view's (materialized too) or a
        composite type's, or those of the type a domain is over (`CREATE DOMAIN d AS
        card_row`: round 34, h34K); none for any other type."""
        seen = {name}
        while name in self._domain_bases and self._domain_bases[name] not in seen:
            name = self._domain_bases[name]
            seen.add(name)
        names = set(self.columns.get(name, ())) | self.types.get(name, set())
        view = self.views.get(name)
        if view is not None and depth < _DEEPEST_VIEW:
            names |= set(view.columns or ()) | self._view_query_columns(view, depth)
        return names

    def settle_held_rows(self) -> None:
        """Once every source is read: each table's `held_columns` (the tables still there)."""
        self.held_columns = {
            table: held
            for table in self.columns
            if table in self._row_slots and (held := self._held_row_columns({table}, 0))
        }

    def holding(self, column: str) -> set[str]:
        """Tables without `column` whose columns hold rows of a row type that has it."""
        return {
            table
            for table, held in self.held_columns.items()
            if column in held and column not in self.columns.get(table, ())
        }

    def _held_row_columns(self, owners: set[str], depth: int) -> set[str]:
        """The columns of every row type a column (or attribute) of `owners` is declared of,
        and of the row types their columns hold in turn: what expanding a held row may output
        (a superset)."""
        names: set[str] = set()
        seen: set[str] = set()
        stack = list(owners)
        while stack:
            owner = stack.pop()
            while owner in self._domain_bases and owner not in seen:
                seen.add(owner)
                owner = self._domain_bases[owner]
            if owner in seen:
                continue
            seen.add(owner)
            for held in self._row_slots.get(owner, ()):
                names |= self._row_type_columns(held, depth)
                stack.append(held)
        return names

    def _view_query_columns(self, view: ViewInfo, depth: int) -> set[str]:
        from pglast import parse_sql
        from pglast.parser import ParseError

        try:
            parsed = parse_sql(view.query)
        except ParseError:
            return set()
        return self._query_columns(parsed[0].stmt, view.query, depth + 1) if parsed else set()

    def _alter_table(self, node: Any, text: str, path: str) -> None:
        from pglast.enums import AlterTableType, DropBehavior, ObjectType

        if _enum(node.objtype) == ObjectType.OBJECT_TYPE:
            self._alter_type(node)
            return
        table = _relname(node.relation)
        columns = self.columns.setdefault(table, set())
        for command in node.cmds or ():
            subtype = _enum(command.subtype)
            if subtype == AlterTableType.AT_AddColumn and command.def_ is not None:
                if command.missing_ok and str(getattr(command.def_, "colname", "")) in columns:
                    continue  # ADD COLUMN IF NOT EXISTS of a column there: PostgreSQL skips it
                self._table_element(table, columns, command.def_)
                if type(command.def_).__name__ == "ColumnDef":  # inherited by every child
                    for child in self._descendants(table):
                        self._slot(child, command.def_.typeName)
                        if child in self.columns:
                            self.columns[child].add(str(command.def_.colname))
                            if str(command.def_.colname) not in self.order.get(child, [""]):
                                self.order[child].append(str(command.def_.colname))
                            self._copy_generated(table, child, expressions=True)
            elif subtype == AlterTableType.AT_DropColumn and command.name:
                self._drop_traits(table, str(command.name))  # added again, it is another
                self._drop_column_keys(table, str(command.name))
                self._column_domains.pop((table, str(command.name)), None)
                self._forget_copies(table, str(command.name))
                if not self._shared(node.relation):  # another schema's table keeps it
                    columns.discard(str(command.name))
                for changed in (table, *self._descendants(table)):  # a child may keep its own
                    self.order.pop(changed, None)
                self._set_default(table, str(command.name), None)
            elif subtype == AlterTableType.AT_ColumnDefault and command.name:
                # SET DEFAULT e / DROP DEFAULT: without ONLY, every descendant's too
                heirs = self._descendants(table) if node.relation.inh else set()
                for changed in (table, *heirs):
                    self._set_default(changed, str(command.name), command.def_)
            elif subtype in (AlterTableType.AT_AttachPartition, AlterTableType.AT_DetachPartition):
                child = _relname(command.def_.name)  # a child of this table from now on, or not
                self._inherit(child, table, subtype == AlterTableType.AT_AttachPartition)
                if subtype == AlterTableType.AT_AttachPartition:
                    self._partitions.add(child)
                else:
                    self._partitions.discard(child)
            elif subtype in (AlterTableType.AT_AddInherit, AlterTableType.AT_DropInherit):
                parent = _relname(command.def_)  # ALTER TABLE child [NO] INHERIT parent
                self._inherit(table, parent, subtype == AlterTableType.AT_AddInherit)
            elif subtype == AlterTableType.AT_SetNotNull and command.name:
                heirs = self._descendants(table) if node.relation.inh else set()
                for changed in (table, *heirs):  # children follow, unless ONLY
                    found = self.traits.setdefault(changed, {})
                    found.setdefault(str(command.name), set()).add("not_null")
            elif subtype == AlterTableType.AT_DropNotNull and command.name:
                self._drop_traits(table, str(command.name), "not_null")
            elif subtype in (AlterTableType.AT_DropExpression, AlterTableType.AT_SetExpression):
                self._forget_copies(table, str(command.name))  # no longer (the same) copy
            elif subtype == AlterTableType.AT_AlterColumnType and command.name:
                self._forget_copies(table, str(command.name))
                def_ = command.def_
                self._of_domain(table, str(command.name), def_.typeName)
                for changed in (table, *self._descendants(table)):
                    self._slot(changed, def_.typeName)
                self._drop_traits(table, str(command.name), "integer")
                for changed in (table, *self._descendants(table)):
                    kept = self.traits.get(changed, {}).get(str(command.name))
                    if kept is not None:
                        kept.difference_update([t for t in kept if t.startswith("type:")])
                if _integer_type(def_.typeName) and not self._shared(node.relation):
                    for changed in (table, *self._descendants(table)):
                        found = self.traits.setdefault(changed, {})
                        found.setdefault(str(command.name), set()).add("integer")
                typed = _type_trait(def_.typeName)
                if typed is not None and not self._shared(node.relation):
                    for changed in (table, *self._descendants(table)):
                        found = self.traits.setdefault(changed, {})
                        found.setdefault(str(command.name), set()).add(typed)
                loose = self._loose_type(def_.typeName, def_.collClause)
                if self._lossy_type(def_.typeName, def_.collClause):
                    self.lossy_columns.add(str(command.name))
                for changed in (table, *self._descendants(table)):  # children follow
                    if loose:
                        self.loose.setdefault(changed, set()).add(str(command.name))
                    elif not self._shared(node.relation):
                        self.loose.get(changed, set()).discard(str(command.name))
            elif subtype == AlterTableType.AT_AddConstraint and command.def_ is not None:
                self._constraint(table, command.def_, None)
            elif subtype == AlterTableType.AT_DropConstraint and command.name:
                cascade = _enum(command.behavior) == DropBehavior.DROP_CASCADE
                self._drop_constraint(table, str(command.name), cascade)
                self._drop_traits(table, None, "not_null")  # perhaps a primary key's
            elif subtype == AlterTableType.AT_AlterConstraint and command.def_ is not None:
                self._alter_constraint(table, command)
            elif subtype == AlterTableType.AT_DisableTrigAll or (
                # ENABLE REPLICA: the trigger fires only when session_replication_role is
                # replica, so not in an ordinary session: disabled as much as DISABLE
                subtype in (AlterTableType.AT_DisableTrig, AlterTableType.AT_EnableReplicaTrig)
                and str(command.name or "").startswith("RI_ConstraintTrigger")
            ):
                self._unenforced.add(table)  # its foreign keys' checks, either way
            elif subtype == AlterTableType.AT_ValidateConstraint and command.name:
                for key in self.foreign_keys.get(table, []):
                    if key.name == command.name:
                        key.valid = True

    def _alter_type(self, node: Any) -> None:
        """`ALTER TYPE … ADD | DROP ATTRIBUTE`: the type's typed tables follow (CASCADE; without
        it PostgreSQL refuses while typed tables exist)."""
        from pglast.enums import AlterTableType

        name = _relname(node.relation)
        attributes = self.types.get(name)
        if attributes is None:
            return
        typed = [t for t in self._of_type(name) if t in self.columns]
        tables = [self.columns[t] for t in typed]
        loose = self.loose_attributes.setdefault(name, set())
        for command in node.cmds or ():
            subtype = _enum(command.subtype)
            if subtype == AlterTableType.AT_AddColumn and command.def_ is not None:
                for columns in (attributes, *tables):
                    columns.add(str(command.def_.colname))
            elif subtype == AlterTableType.AT_DropColumn and command.name:
                for columns in (attributes, *tables):
                    columns.discard(str(command.name))
            if (
                subtype in (AlterTableType.AT_AddColumn, AlterTableType.AT_AlterColumnType)
                and command.def_ is not None
            ):
                # the attribute's (new) type and collation are its typed tables' columns' too
                attribute = str(command.def_.colname or command.name)
                def_ = command.def_
                for holder in (name, *typed):
                    self._slot(holder, def_.typeName)
                if self._lossy_type(def_.typeName, def_.collClause):
                    self.lossy_columns.add(attribute)
                is_loose = self._loose_type(def_.typeName, def_.collClause)
                for changed in (None, *typed):
                    found = loose if changed is None else self.loose.setdefault(changed, set())
                    if is_loose:
                        found.add(attribute)
                    else:
                        found.discard(attribute)
            elif subtype == AlterTableType.AT_DropColumn and command.name:
                for changed in (None, *typed):
                    found = loose if changed is None else self.loose.get(changed, set())
                    found.discard(str(command.name))

    def _drop_constraint(self, table: str, name: str, cascade: bool = False) -> None:
        known = name in self._named.get(table, ()) or name in self.constraints
        dropped = self.constraints.pop(name, None)
        if dropped is not None and table in self.unique_keys and name not in self._key_names:
            keys = self.unique_keys[table]  # a key the schema cache kept without its name
            if frozenset(dropped) in keys:
                keys.remove(frozenset(dropped))
        self._drop_key(name, table, cascade)
        if table in self.foreign_keys:
            self.foreign_keys[table] = [k for k in self.foreign_keys[table] if k.name != name]
        if not known:
            # a name PostgreSQL chose otherwise than guessed (a long or clashing one): every
            # key of this table whose name was a guess may be the one gone
            self._forget_guessed(table, cascade, indexes_only=False)

    # the keys a composite foreign key's pin stands on (round 12)

    def _drop_key(self, name: str, table: str | None, cascade: bool, *, known: bool = True) -> None:
        """A unique key dropped by its constraint's or index's name (on `table`, or any); with
        CASCADE, the foreign keys that referenced those columns go with it. Not `known`: a
        name PostgreSQL chose and the reader guessed, one of which a DROP of an unknown name
        may have removed — gone from the keys a pin stands on, kept in `spanning`."""
        for owner, checked in self.spanning.items():
            if known and (table is None or owner == table):  # (a guess: kept, fail closed)
                checked.pop(name, None)
                checked.pop(name + _KEY_ONLY, None)
        kept: list[tuple[str, frozenset[str]]] = []
        for owner, key in self._key_names.pop(name, []):
            if table is not None and owner != table:
                kept.append((owner, key))
                continue
            keys = self.unique_keys.get(owner, [])
            if key in keys:
                keys.remove(key)
            if cascade:
                self._forget_references(owner, key)
        if kept:
            self._key_names[name] = kept
        self._guessed.discard((table or "", name))

    def _forget_guessed(self, table: str | None, cascade: bool, *, indexes_only: bool) -> None:
        """Drops every key (of `table`, or of any table) whose name PostgreSQL chose: one of
        them is what a DROP of a name the reader does not know removed."""
        for owner, name in sorted(self._guessed):
            if table is not None and owner != table:
                continue
            if indexes_only and name not in self._key_names:
                continue
            self._guessed.discard((owner, name))
            self._drop_key(name, owner, cascade, known=False)
            if owner in self.foreign_keys:
                self.foreign_keys[owner] = [k for k in self.foreign_keys[owner] if k.name != name]

    def _forget_references(self, table: str, columns: frozenset[str] | None) -> None:
        """The foreign keys referencing `table` (on these columns; None: any) are gone."""
        primary = frozenset(self.constraints.get(f"{table}_pkey", ()))
        for owner, keys in self.foreign_keys.items():
            self.foreign_keys[owner] = [
                k
                for k in keys
                if k.ref_table != table
                or (columns is not None and (frozenset(k.ref_columns) or primary) != columns)
            ]

    def _drop_column_keys(self, table: str, column: str) -> None:
        """DROP COLUMN takes the keys on it along: its table's unique and foreign keys that
        hold it, and (CASCADE) the foreign keys of other tables that reference it."""
        if table in self.unique_keys:
            self.unique_keys[table] = [k for k in self.unique_keys[table] if column not in k]
        if table in self.spanning:  # an index goes with any of its columns
            kept = {n: k for n, k in self.spanning[table].items() if column not in k}
            self.spanning[table] = {  # (a key goes with a column of its WHERE too)
                n: k
                for n, k in kept.items()
                if not n.endswith(_KEY_ONLY) or n[: -len(_KEY_ONLY)] in kept
            }
        if table in self.foreign_keys:
            self.foreign_keys[table] = [
                k for k in self.foreign_keys[table] if column not in k.columns
            ]
        primary = self.constraints.get(f"{table}_pkey", set())
        for owner, keys in self.foreign_keys.items():
            self.foreign_keys[owner] = [
                k
                for k in keys
                if k.ref_table != table or column not in (k.ref_columns or tuple(primary))
            ]

    def _rename_key(self, table: str | None, old: str, new: str) -> None:
        """RENAME CONSTRAINT, ALTER INDEX … RENAME: a unique constraint and its index are
        renamed together."""
        if old in self.constraints:
            moved = self.constraints.pop(old)
            before = self.constraints.get(new)
            # a name another table's constraint bears too (in another schema): either may be
            # meant by `ON CONFLICT ON CONSTRAINT new` — only the columns both have
            self.constraints[new] = moved if before is None else before & moved
        for owner, keys in self.spanning.items():
            if old in keys and (table is None or owner == table):
                keys[new] = keys.pop(old)
        for owner, name in list(self.primary_keys.items()):  # (ALTER INDEX t_pkey RENAME too)
            if name == old and (table is None or owner == table):
                self.primary_keys[owner] = new
        if old in self._key_names:
            self._key_names.setdefault(new, []).extend(self._key_names.pop(old))
        if old in self._indexes:
            self._indexes.add(new)
        for owner, name in list(self._guessed):
            if name == old and (table is None or owner == table):
                self._guessed.discard((owner, name))
                self._named.setdefault(owner, set()).add(new)
        if table is not None:
            self._named.setdefault(table, set()).add(new)
            for key in self.foreign_keys.get(table, []):
                if key.name == old:
                    key.name = new

    def _alter_constraint(self, table: str, command: Any) -> None:
        """ALTER CONSTRAINT … [NOT] DEFERRABLE (foreign keys only, in PostgreSQL 15)."""
        change = command.def_
        name = str(getattr(change, "conname", "") or "")
        deferrable = bool(getattr(change, "deferrable", False)) or bool(
            getattr(change, "initdeferred", False)
        )
        found = [k for k in self.foreign_keys.get(table, []) if k.name == name]
        if not found and name not in self._named.get(table, ()):
            guessed = {n for t, n in self._guessed if t == table}
            found = [k for k in self.foreign_keys.get(table, []) if k.name in guessed]
            deferrable = True  # which one is not known: each may be deferred now
        for key in found:
            key.deferrable = deferrable

    def settle_keys(self) -> None:
        """Once every source is read: what a composite foreign key's pin may not stand on. A
        table with children by inheritance (not partitions) is read with their rows, which its
        unique keys do not cover and its foreign keys do not check (PostgreSQL copies neither
        to such a child); a foreign key whose triggers were disabled (DISABLE TRIGGER ALL, or
        its RI_ConstraintTrigger by name, or ENABLE REPLICA: it fires in replica sessions only)
        was not checked on the rows written meanwhile, and enabling them again checks none of
        those. A name in two schemas is read as both (the
        search path decides): the keys of one are not the other's."""
        inherited = {
            table
            for table in self.children
            if any(child not in self._partitions for child in self._descendants(table))
        }
        doubtful = inherited | {t for t, s in self.relation_schemas.items() if len(s) > 1}
        doubtful |= self._mixed
        for table in doubtful:
            self.unique_keys.pop(table, None)
        # a row's place (ctid) tells the row apart in the one heap of a table: not across a
        # partitioned table's partitions or an inheritance tree (each numbers its own pages),
        # so a table read with others' rows (any child, any partition) has no such key
        for table in sorted(self._heaps):
            if (
                table in self.columns
                and table not in doubtful
                and table not in self.views
                and not self.children.get(table)
                and frozenset(("ctid",)) not in self.unique_keys.get(table, [])
            ):
                self.unique_keys.setdefault(table, []).append(frozenset(("ctid",)))
        for table, keys in self.foreign_keys.items():
            for key in keys:
                if (
                    self._replica
                    or table in doubtful
                    or key.ref_table in doubtful
                    or table in self._unenforced
                    or key.ref_table in self._unenforced
                ):
                    key.valid = False

    def _rename(self, node: Any, text: str, path: str) -> None:
        from pglast.enums import ObjectType

        kind = _enum(node.renameType)
        new = str(node.newname)
        if kind in (ObjectType.OBJECT_DOMAIN, ObjectType.OBJECT_TYPE):
            self.doubt_types(new, *list(_strings(node.object))[-1:])
            for was in list(_strings(node.object))[-1:]:  # its CHECKs: under both names
                if was in self.domain_calls:
                    self.domain_calls.setdefault(new, set()).update(self.domain_calls[was])
                if was in self._domain_bases:
                    self._domain_bases.setdefault(new, self._domain_bases[was])
                if was in self._domain_defaults:  # its default goes with it
                    self._domain_defaults.setdefault(new, self._domain_defaults[was])
        if kind == ObjectType.OBJECT_SCHEMA and node.subname:
            self._schema_renamed(str(node.subname), new)
            return
        if kind == ObjectType.OBJECT_FOREIGN_TABLE:
            kind = ObjectType.OBJECT_TABLE  # ALTER FOREIGN TABLE … RENAME TO: a table's rename
        if (
            kind == ObjectType.OBJECT_TABLE
            and node.relation is not None
            and _relname(node.relation) in self.views
        ):
            # ALTER TABLE renames a view (or materialized view) too; a table of that name in
            # another schema keeps both read under the new name (fail closed)
            if _relname(node.relation) not in self.columns:
                kind = ObjectType.OBJECT_VIEW
            else:
                view = self.views[_relname(node.relation)]
                self._add_view(_Renamed(new, node.relation.schemaname), view)
        if kind == ObjectType.OBJECT_TABLE and node.relation is not None:
            old = _relname(node.relation)
            self._heaps.discard(old)  # (and the new name is none: fail closed)
            self._rebind_views(old, new, node.relation.schemaname)
            # a name another schema has already: both tables are read under it (the search
            # path decides), so what the renamed one brings is added to the namesake's, as
            # CREATE TABLE of a namesake does (round 33, h33i: its columns replaced the
            # namesake's, and a tenant table lost its tenant column)
            namesake = self._defined(_Renamed(new, node.relation.schemaname))
            if namesake:
                self._no_defaults.add(new)
                self.defaults.pop(new, None)
            self._copy_loose(old, new)  # the old name stays marked: fail closed
            self._row_slots.setdefault(new, set()).update(self._row_slots.get(old, ()))
            if old in self.row_changers:
                self.row_changers.add(new)  # (the old name too)
            self._copy_generated(old, new, expressions=False)  # read under its new name
            self.copies.pop(old, None)
            self.copies.pop(new, None)
            self.traits.pop(new, None)
            moved_traits = self.traits.pop(old, None)
            self.order.pop(new, None)
            for what, called in self.implicit_calls.get(old, {}).items():  # kept under both
                self.implicit_calls.setdefault(new, {}).setdefault(what, set()).update(called)
            if self._shared(node.relation):  # the same name in another schema stays
                if old in self.columns:
                    self.columns.setdefault(new, set()).update(self.columns[old])
                return
            if old in self.order:
                self.order[new] = self.order.pop(old)
            self.relation_schemas.pop(old, None)
            self.defaults.pop(new, None)  # left by ALTER TABLE IF EXISTS of a missing table
            self._forget_kin(new)
            moved = self.defaults.pop(old, None)
            if moved is not None and new not in self._no_defaults:
                self.defaults[new] = moved
            if moved_traits is not None and new not in self._no_defaults:
                self.traits[new] = moved_traits
            if namesake:  # (its unique and foreign keys are doubted: `settle_keys`)
                self.columns.setdefault(new, set()).update(self.columns.pop(old, set()))
                self.unique_keys.setdefault(new, []).extend(self.unique_keys.pop(old, []))
                self.spanning.setdefault(new, {}).update(self.spanning.pop(old, {}))
                self.foreign_keys.setdefault(new, []).extend(self.foreign_keys.pop(old, []))
            else:
                if old in self.columns:
                    self.columns[new] = self.columns.pop(old)
                if old in self.unique_keys:
                    self.unique_keys[new] = self.unique_keys.pop(old)
                if old in self.spanning:
                    self.spanning[new] = self.spanning.pop(old)
                if old in self.foreign_keys:
                    self.foreign_keys[new] = self.foreign_keys.pop(old)
            for keys in self.foreign_keys.values():
                for key in keys:
                    if key.ref_table == old:
                        key.ref_table = new
            if namesake:
                self.children.setdefault(new, set()).update(self.children.pop(old, set()))
            elif old in self.children:
                self.children[new] = self.children.pop(old)
            if old in self.filled:
                self.filled[new] = self.filled.pop(old)
            fired: list[TriggerInfo | WriteRule] = [*self.triggers, *self.write_rules]
            for one in fired:
                if one.relation == old:
                    one.relation = new
            for related in (*self.children.values(), *self.typed.values()):
                if old in related:
                    related.discard(old)
                    related.add(new)
        elif (
            kind
            in (
                ObjectType.OBJECT_FUNCTION,
                ObjectType.OBJECT_PROCEDURE,
                ObjectType.OBJECT_ROUTINE,
            )
            and node.object is not None
        ):
            self._rename_function(node.object, new)
            self._doubtful_functions.update(
                [new, *list(_strings(getattr(node.object, "objname", None)))[-1:]]
            )
        elif kind == ObjectType.OBJECT_TYPE and node.object:
            old = str(node.object[-1].sval)
            if old in self.types:
                self.types[new] = self.types.pop(old)
            self._row_slots.setdefault(new, set()).update(self._row_slots.get(old, ()))
            if old in self.typed:
                self.typed[new] = self.typed.pop(old)
        elif kind == ObjectType.OBJECT_ATTRIBUTE and node.relation is not None and node.subname:
            type_name = _relname(node.relation)  # ALTER TYPE … RENAME ATTRIBUTE … CASCADE
            attributes = self.types.get(type_name)
            if attributes is not None and node.subname in attributes:
                attributes.discard(str(node.subname))
                attributes.add(new)
            for table in self._of_type(type_name):
                self._rename_column(table, str(node.subname), new)
        elif kind in (ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW) and node.relation:
            old = _relname(node.relation)
            self._rebind_views(old, new, node.relation.schemaname)
            if old in self.views:
                view = self.views[old]
                moved = None
                if not self._shared(node.relation):
                    del self.views[old]
                    self.relation_schemas.pop(old, None)
                    moved = self.defaults.pop(old, None)
                self.defaults.pop(new, None)
                self._add_view(_Renamed(new, node.relation.schemaname), view)
                if old in self.materialized:
                    self.materialized.add(new)
                if old in self.stale_views:
                    self.stale_views.add(new)  # the old name stays marked too: fail closed
                if moved is not None and not self._shared(_Renamed(new, node.relation.schemaname)):
                    self.defaults[new] = moved  # the view's defaults go with it
        elif kind == ObjectType.OBJECT_COLUMN and node.relation is not None and node.subname:
            table = _relname(node.relation)
            if table in self.views:  # ALTER VIEW|TABLE v RENAME COLUMN: its output's name
                self._rename_view_column(table, str(node.subname), new, node.relation)
            if node.subname in self.lossy_columns:  # the type goes with the column
                self.lossy_columns.add(new)
            if self._shared(node.relation):  # the same name in another schema keeps its column
                self.columns.setdefault(table, set()).add(new)
                return
            for renamed in (table, *self._descendants(table)):  # inherited columns follow
                self._rename_column(renamed, str(node.subname), new)
        elif kind == ObjectType.OBJECT_TABCONSTRAINT and node.subname:
            owner = _relname(node.relation) if node.relation is not None else None
            self._rename_key(owner, str(node.subname), new)
            for keys in self.foreign_keys.values():  # a table the reader knows otherwise
                for key in keys:
                    if key.name == str(node.subname):
                        key.name = new
        elif kind == ObjectType.OBJECT_INDEX and node.relation is not None:
            self._rename_key(None, _relname(node.relation), new)
        elif kind in (ObjectType.OBJECT_TRIGGER, ObjectType.OBJECT_RULE) and node.relation:
            relation = _relname(node.relation)
            named: list[TriggerInfo | WriteRule] = [*self.triggers, *self.write_rules]
            for one in named:
                if one.relation == relation and one.name == node.subname:
                    one.name = new

    def _rebind_views(self, old: str, new: str, schema: str | None) -> None:
        """`ALTER TABLE|VIEW old RENAME TO new`: a view reading `old` is bound to that relation,
        not to its name — it reads `new` from now on. Its query is rewritten so; one that
        names a CTE `old` too (which of its `old`s is which is not told here) is stale."""
        from pglast.stream import RawStream

        for name, view in list(self.views.items()):
            trees = _body_trees([view.query])
            if trees is None:
                self.stale_views.add(name)  # fail closed
                continue
            tree = trees[0]
            if old not in _relations_read(tree):
                continue
            if old in _cte_names(tree):
                self.stale_views.add(name)
                continue
            for relation in _range_vars(tree):
                if relation.relname == old and relation.schemaname in (None, schema or "public"):
                    relation.relname = new
            self.views[name] = ViewInfo(RawStream()(tree), view.columns)
        for rule in self.write_rules:
            trees = _body_trees(rule.actions)
            if trees is None or any(
                old in _relations_read(tree) and old in _cte_names(tree) for tree in trees
            ):
                rule.stale = rule.stale or any(old in a for a in rule.actions)
                continue
            for tree in trees:
                for relation in _range_vars(tree):
                    if relation.relname == old and relation.schemaname in (
                        None,
                        schema or "public",
                    ):
                        relation.relname = new
            rule.actions = _body_texts(rule.actions, trees)
        for name in self.bound_functions:
            info = self.functions.get(name)
            if info is None:
                continue
            trees = _body_trees(info.body)
            if trees is None:
                if any(old in s for s in info.body):
                    self._unbind(name)
                continue
            if not any(old in _relations_read(tree) for tree in trees):
                continue
            if info.overloads or any(old in _cte_names(tree) for tree in trees):
                self._unbind(name)  # which body, or which `old`, is not told apart
                continue
            for tree in trees:
                for relation in _range_vars(tree):
                    if relation.relname == old and relation.schemaname in (
                        None,
                        schema or "public",
                    ):
                        relation.relname = new
            self.functions[name] = replace(info, body=_body_texts(info.body, trees))

    def _rebind_calls(self, old: str, new: str, schema: str) -> None:
        """`ALTER FUNCTION old(…) RENAME TO new`: a view, or a function bound when made, calls
        the function it was bound to — `new` from now on (a new `old` is another function)."""
        from pglast import ast
        from pglast.stream import RawStream

        def renamed(trees: list[Any]) -> bool:
            found = False
            for tree in trees:
                for call in _calls(tree):
                    parts = [str(getattr(n, "sval", "")) for n in call.funcname]
                    if parts[-1] == old and (len(parts) == 1 or parts[-2] == schema):
                        call.funcname = (*call.funcname[:-1], ast.String(sval=new))
                        found = True
            return found

        for name, view in list(self.views.items()):
            trees = _body_trees([view.query])
            if trees is None:
                self.stale_views.add(name)  # fail closed
            elif renamed(trees):
                self.views[name] = ViewInfo(RawStream()(trees[0]), view.columns)
        for rule in self.write_rules:
            trees = _body_trees(rule.actions)
            if trees is None:
                rule.stale = rule.stale or any(old in a for a in rule.actions)
            elif renamed(trees):
                rule.actions = _body_texts(rule.actions, trees)
        for defaults in (*self.defaults.values(), *self.generated_calls.values()):
            # a column default (or generated column) calls by oid too
            for column, text in list(defaults.items()):
                trees = _body_trees([f"SELECT {text}"]) if old in text else None
                if trees is not None and renamed(trees):
                    defaults[column] = RawStream()(trees[0])[len("SELECT ") :]
        renamed(list(self._domain_defaults.values()))  # nodes, printed when read
        called_sets = [
            *(f for c in self.implicit_calls.values() for f in c.values()),
            *self.domain_calls.values(),
            *self.aggregate_calls.values(),
        ]
        for called in called_sets:  # called by oid: the renamed function (and any new `old`)
            if old in called:
                called.add(new)
        for name in self.bound_functions:
            info = self.functions.get(name)
            if info is None or name == old:
                continue
            trees = _body_trees(info.body)
            if trees is None:
                if any(old in s for s in info.body):
                    self._unbind(name)
            elif renamed(trees):
                self.functions[name] = replace(info, body=_body_texts(info.body, trees))

    def _rename_view_column(self, name: str, old: str, new: str, relation: Any) -> None:
        """A view's output column renamed: its column list says so (a view whose outputs are
        not all in sight, or of a name in two schemas, is stale: pinned by nothing)."""
        view = self.views[name]
        given = list(view.columns or ())
        outputs = _ordered_outputs(view.query)
        if outputs is not None and len(outputs) >= len(given):
            names = given + outputs[len(given) :]
        elif old in given:
            names = given
        else:
            self.stale_views.add(name)
            return
        if self._shared(relation) or names.count(old) != 1:
            self.stale_views.add(name)
            return
        self.views[name] = ViewInfo(view.query, [new if n == old else n for n in names])

    def _unbind(self, function: str) -> None:
        """A function bound to a column renamed since (or to relations not told apart): its
        body is read as text that cannot be read (naming a tenant table hands out every
        tenant's rows; no parameter pins it)."""
        info = self.functions[function]
        opaque = " ".join([info.opaque, *info.body]).strip()
        self.functions[function] = replace(info, body=[], opaque=opaque)

    def _rename_function(self, target: Any, new: str) -> None:
        """`ALTER FUNCTION f(…) RENAME TO g`: the body moves to `g` (beside any `g` already
        there, read as overloads); overloads of `f` left behind keep `f` read as before. A
        trigger function moves with its triggers (they call it by its oid, not its name)."""
        names = getattr(target, "objname", None) or ()
        old = str(names[-1].sval) if names else ""
        self._rebind_calls(old, new, _schema_of(names))
        if old in self._function_texts:  # what its text names goes with it
            self._function_texts.setdefault(new, []).extend(self._function_texts[old])
        if old in self.trigger_functions:
            self.trigger_functions[new] = self.trigger_functions.pop(old)
            self.new_fields[new] = self.new_fields.pop(old, set())
            for trigger in self.triggers:
                if trigger.function == old:
                    trigger.function = new
        info = self.functions.get(old)
        if info is None:
            return
        schema = _schema_of(names)
        seen = self.signatures.get(old, set())
        if target.args_unspecified:  # the one function of that name in that schema
            moved = {s for s in seen if s[0] == schema}
        else:
            moved = {(schema, tuple(_type_key(t) for t in target.objargs or ()))}
        seen -= moved
        if not seen:
            self.functions.pop(old, None)
            self.signatures.pop(old, None)
        landed = self.signatures.setdefault(new, set())
        landed |= moved
        if old in self.row_returns:  # which of them returned rows is not told apart
            self.row_returns.setdefault(new, set()).update(self.row_returns[old])
        if old in self.declared_outputs:
            self.declared_outputs.add(new)
        if old in self.bound_functions:
            self.bound_functions.add(new)
        # several bodies under `f` were one unreadable body: the one moved is not told apart
        self.functions[new] = (
            info if len(landed) == 1 else namesake_functions(self.functions.get(new), info)
        )

    def _rename_column(self, table: str, old: str, new: str) -> None:
        for name, view in self.views.items():
            trees = _body_trees([view.query])
            if trees is None or table in _relations_read(trees[0]):
                self.stale_views.add(name)
        for name in self.bound_functions:
            info = self.functions.get(name)
            if info is None:
                continue
            trees = _body_trees(info.body)
            if trees is None or any(table in _relations_read(tree) for tree in trees):
                self._unbind(name)
        for rule in self.write_rules:
            trees = _body_trees(rule.actions)
            if rule.relation == table or trees is None:
                rule.stale = True  # NEW and OLD are rows of `table` too
            elif any(table in _relations_read(tree) for tree in trees):
                rule.stale = True
        self._drop_traits(table, old)  # children rename theirs too: forgotten, not followed
        self._drop_traits(table, new)
        self._forget_copies(table, old, new)
        for read in self.generated.get(table, {}).values():
            if old in read:
                read.add(new)  # the expression reads the column under its new name (the old
                # name stays marked too: fail closed)
        generated = self.generated.get(table)
        if generated is not None and old in generated:
            generated.setdefault(new, set()).update(generated[old])
        defaults = self.defaults.get(table)
        if defaults is not None:
            moved = defaults.pop(old, None)
            defaults.pop(new, None)
            if moved is not None:
                defaults[new] = moved
        columns = self.columns.get(table)
        if columns is not None and old in columns:
            columns.discard(old)
            columns.add(new)
        if table in self.order:  # the column keeps its place
            self.order[table] = [new if c == old else c for c in self.order[table]]
        loose = self.loose.get(table)
        if loose is not None and old in loose:
            loose.add(new)  # the old name stays marked too: fail closed

        def renamed(names: Iterable[str]) -> tuple[str, ...]:
            return tuple(new if n == old else n for n in names)

        if table in self.unique_keys:
            self.unique_keys[table] = [frozenset(renamed(k)) for k in self.unique_keys[table]]
        if table in self.spanning:
            self.spanning[table] = {
                n: frozenset(renamed(k)) for n, k in self.spanning[table].items()
            }
        for key in self.foreign_keys.get(table, []):
            key.columns = renamed(key.columns)
        for keys in self.foreign_keys.values():
            for key in keys:
                if key.ref_table == table:
                    key.ref_columns = renamed(key.ref_columns)

    def _index(self, node: Any, text: str, path: str) -> None:
        table = _relname(node.relation)
        names = [p.name for p in node.indexParams or ()]
        default = f"{table}_{'_'.join(str(n) if n else 'expr' for n in names)}_idx"
        name = str(node.idxname or default)
        self._indexes.add(name)
        self._implicit(table, f"index {name}", (node.indexParams, node.whereClause))
        if node.unique:
            exact: set[str] = set()  # a column itself, compared exactly
            for param in node.indexParams or ():
                collation = [str(c.sval) for c in param.collation or ()]
                opclass = [str(c.sval) for c in param.opclass or ()]
                if param.name and (
                    (collation and collation[-1] in self.loose_collations)
                    or (opclass and opclass[-1] not in _EXACT_OPCLASSES)
                ):
                    self.loose_keys.setdefault(table, set()).add(str(param.name))
                elif param.name:
                    exact.add(str(param.name))
            checked = _columns_read(node.whereClause)
            keyed: set[str] = set()
            for param in node.indexParams or ():
                keyed |= _index_element_columns(param)
            checked |= keyed
            if keyed - exact:
                # `(code, lower(org_id))`, `(code, org_id COLLATE ci)`: two tenants' values may
                # be one key value: no key per tenant of those columns (h32i)
                self.loosely_keyed.setdefault(table, {})[name] = frozenset(keyed - exact)
            if checked:
                self.spanning.setdefault(table, {})[name] = frozenset(checked)
            if keyed and keyed != checked:
                # the key itself (h32d): the tenant column in the WHERE only makes no key per
                # tenant (`UNIQUE (code) WHERE org_id IS NOT NULL` checks every tenant's codes)
                self.spanning[table][name + _KEY_ONLY] = frozenset(keyed)
        if not node.unique or node.whereClause is not None:
            return  # a partial unique index says nothing of the whole table
        if not node.relation.inh:
            return  # ON ONLY a partitioned table: its partitions' rows are not held to it
        if names and all(names):
            key = frozenset(str(n) for n in names)
            self._name_key(table, name, key, guessed=not node.idxname, index=True)
            self.unique_keys.setdefault(table, []).append(key)

    def _drop(self, node: Any, text: str, path: str) -> None:
        from pglast.enums import DropBehavior, ObjectType

        kind = _enum(node.removeType)
        for target in node.objects or ():
            if kind in (ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN):
                names = getattr(target, "names", None) or ()
                if names:
                    if kind == ObjectType.OBJECT_TYPE:
                        self.types.pop(str(names[-1].sval), None)
                    self.doubt_types(str(names[-1].sval))
                continue
            if kind == ObjectType.OBJECT_FUNCTION:
                names = getattr(target, "objname", None) or ()
                if names:
                    name = str(names[-1].sval)
                    seen = self.signatures.get(name, set())
                    if target.args_unspecified:
                        seen.clear()
                    else:
                        types = tuple(_type_key(t) for t in target.objargs or ())
                        seen.discard((_schema_of(names), types))
                    # the overloads left stay read as one body that cannot be read
                    if not seen:
                        self.functions.pop(name, None)
                        self.signatures.pop(name, None)
                        self.row_returns.pop(name, None)
                        self.declared_outputs.discard(name)
                        self.bound_functions.discard(name)
                continue
            if kind == ObjectType.OBJECT_SCHEMA:  # DROP SCHEMA s [CASCADE]
                cascade = _enum(node.behavior) == DropBehavior.DROP_CASCADE
                self._schema_gone(str(getattr(target, "sval", "")), cascade)
                continue
            names = list(_strings(target)) if isinstance(target, tuple) else []
            if not names:
                continue
            name = names[-1]
            if kind in (ObjectType.OBJECT_TRIGGER, ObjectType.OBJECT_RULE) and len(names) > 1:
                relation, dropped = names[-2], names[-1]
                if kind == ObjectType.OBJECT_TRIGGER:
                    self.triggers = [
                        t
                        for t in self.triggers
                        if not (t.relation == relation and t.name == dropped)
                    ]
                else:
                    self.write_rules = [
                        r
                        for r in self.write_rules
                        if not (r.relation == relation and r.name == dropped)
                    ]
                continue
            if kind == ObjectType.OBJECT_INDEX:
                cascade = _enum(node.behavior) == DropBehavior.DROP_CASCADE
                if name in self._key_names:
                    self._drop_key(name, None, cascade)
                elif name not in self._indexes:  # named by PostgreSQL otherwise than guessed
                    self._forget_guessed(None, cascade, indexes_only=True)
                else:  # a partial unique index (no key of the table) goes from `spanning` too
                    for checked in self.spanning.values():
                        checked.pop(name, None)
                        checked.pop(name + _KEY_ONLY, None)
                self._indexes.discard(name)
                continue
            schemas = self.relation_schemas.get(name, set())
            schemas.discard(names[-2] if len(names) > 1 else "public")
            if schemas:  # the same name in another schema stays, read as both
                continue
            self._forget_relation(name, kind)

    def _forget_relation(self, name: str, kind: Any) -> None:
        """A table or view gone from every schema."""
        from pglast.enums import ObjectType

        self._mixed.discard(name)
        if kind in (ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW):
            self.views.pop(name, None)
            self.materialized.discard(name)
            self.stale_views.discard(name)
            self.defaults.pop(name, None)  # ALTER VIEW … SET DEFAULT goes with the view
        elif kind == ObjectType.OBJECT_TABLE:
            for gone in self._named.pop(name, set()):  # its constraints went with it
                if not any(gone in names for names in self._named.values()):
                    self.constraints.pop(gone, None)
            self.constraints.pop(f"{name}_pkey", None)
            self.columns.pop(name, None)
            self.order.pop(name, None)
            self.unique_keys.pop(name, None)
            self.spanning.pop(name, None)
            self.foreign_keys.pop(name, None)
            self._forget_references(name, None)  # CASCADE took them (or the DROP failed)
            self.filled.pop(name, None)
            self._partitions.discard(name)
            self._heaps.discard(name)
            self.defaults.pop(name, None)
            self.traits.pop(name, None)
            self.copies.pop(name, None)
            self._forget_kin(name)

    # views and functions

    def _view(self, node: Any, text: str, path: str) -> None:
        from pglast.stream import RawStream

        aliases = list(_strings(node.aliases)) or None
        if not self._shared(node.view):
            self.stale_views.discard(_relname(node.view))  # bound to the names of now
        self._add_view(node.view, ViewInfo(RawStream()(node.query), aliases))
        self._lossy_outputs(node.query, aliases)

    def _trigger_or_rule(self, node: Any, text: str, path: str) -> None:
        """CREATE TRIGGER, CREATE RULE: the relation is rewritten for good (a DROP of one is
        not followed there); a trigger is kept with its events and function."""
        if node.relation is None:
            return
        relation = _relname(node.relation)
        self.rewritten.add(relation)
        if type(node).__name__ != "CreateTrigStmt" or not node.funcname:
            return
        name = str(node.trigname or "")
        if node.replace:  # CREATE OR REPLACE TRIGGER: the old one of that name goes
            self.triggers = [
                t for t in self.triggers if not (t.relation == relation and t.name == name)
            ]
        events = tuple(e for e, bit in _TRIGGER_EVENTS if int(node.events or 0) & bit)
        if "UPDATE" in events and node.columns:
            # `UPDATE OF a, b`: run by an UPDATE setting a or b only (h33l's false alarm: a
            # column's default, read as such a trigger, judged for every UPDATE of the table);
            # the kinds `engine.cascades._fired` gives each write
            events = tuple(
                kind
                for event in events
                for kind in (
                    [f"UPDATE OF {str(c.sval).lower()}" for c in node.columns]
                    if event == "UPDATE"
                    else [event]
                )
            )
        function = str(node.funcname[-1].sval)
        if (
            node.row
            and int(node.timing or 0) != _TRIGGER_AFTER
            and any(e in ("INSERT", "UPDATE") or e.startswith("UPDATE OF ") for e in events)
        ):  # BEFORE or INSTEAD OF: the function may change NEW (round 33, h33i)
            self.row_changers.add(relation)
        if node.whenClause is not None:  # run on each row, whatever the function does
            self._implicit(relation, f"the WHEN of trigger {name} ({', '.join(events)})", node)
        args = tuple(str(getattr(a, "sval", "")) for a in node.args or ())
        transitions = tuple(str(t.name) for t in node.transitionRels or () if t.name)
        self.triggers.append(
            TriggerInfo(name, relation, events, function, bool(node.row), args, transitions)
        )

    def renaming_views(self, column: str) -> set[str]:
        """The automatically updatable views (of views too) that show another column of their
        table under the tenant column's name (`CREATE VIEW v (id, tenant_id) AS SELECT
        tenant_id, id …`, `id AS tenant_id`): an INSERT naming the view's `tenant_id` writes
        the table's `id`, and an ON CONFLICT target named by the view's columns infers an index
        on other columns. A view showing no column under that name is not one of them (an
        INSERT naming it fails)."""
        found: set[str] = set()
        for name in self.views:
            wanted, current, seen = {column}, name, set()
            while wanted and current in self.views and current not in seen:
                seen.add(current)
                based = (
                    None
                    if current in self.stale_views
                    else _updatable_view_base(self.views[current])
                )
                if based is None:
                    # not read (a `*` under a column list, a FROM alias's columns, a `*` bound
                    # before a rename, a view PostgreSQL does not update itself): a view showing
                    # a column of the name may show any column under it (fail closed)
                    shows = _view_columns(self.views[name])
                    if shows is None or column in shows:  # (unknown: may show it)
                        found.add(name)
                    wanted = set()
                    break
                current, shown = based
                # the columns under it shown with the wanted names (`*`: each as itself)
                wanted = {c for c, names in shown.items() if c != "*" and names & wanted} | (
                    wanted if "*" in shown else set()
                )
            if wanted and wanted != {column}:
                found.add(name)
        return found

    def write_views(self, column: str) -> dict[str, tuple[str | None, tuple[str, ...] | None]]:
        """The views an INSERT, UPDATE or upsert may write through, views of views followed
        down to a table: view -> (that table, the names the view shows the table's `column`
        under, sorted; () when it shows it under none). A view PostgreSQL updates itself whose
        chain cannot be read (a column list over `*`, a column renamed since, a stale view)
        maps to (None, None): which column is the tenant column is unknown. Not a view a
        trigger or rule rewrites (its writes are theirs: `hidden_writes`), nor one that is no
        single-table SELECT (PostgreSQL refuses to write it)."""
        found: dict[str, tuple[str | None, tuple[str, ...] | None]] = {}
        for name in self.views:
            if name in self.rewritten:
                continue
            levels: list[dict[str, set[str]]] = []
            current, seen = name, set()
            readable = True
            while current in self.views and current not in seen:
                seen.add(current)
                view = self.views[current]
                based = None if current in self.stale_views else _updatable_view_base(view)
                if based is None:
                    if _single_table_select(view):
                        found[name] = (None, None)  # updatable, its columns unread
                    readable = False
                    break
                current, shown = based
                levels.append(shown)
            if not readable or not levels or current in self.views:
                continue
            wanted = {column}  # the names the column goes by, level by level, upwards
            for shown in reversed(levels):
                wanted = set().union(*(shown.get(c, set()) for c in wanted)) | (
                    wanted if "*" in shown else set()
                )
            found[name] = (current, tuple(sorted(wanted)))
        return found

    def inherit_view_defaults(self) -> None:
        """An INSERT into an automatically updatable view gives the base table's columns it
        does not name their base defaults (PostgreSQL 15, also for `DEFAULT` in VALUES): the
        view takes the default of each base column it leaves out or shows under its own name.
        Not a view with a default of its own on that column, a trigger or a rule (they write
        what they like), nor a column it shows renamed (`tenant_id AS t`: the INSERT names it
        `t`). Views of views follow, in as many rounds as there are views."""
        for _ in range(len(self.views)):
            changed = False
            for name, view in self.views.items():
                if name in self.rewritten or name in self._no_defaults:
                    continue
                found = _updatable_view_base(view)
                if found is None:
                    continue
                base, shown = found
                own = self.defaults.get(name, {})
                for column, text in list(self.defaults.get(base, {}).items()):
                    if column in own or not shown.get(column, {column}) <= {column}:
                        continue
                    self.defaults.setdefault(name, {})[column] = text
                    own = self.defaults[name]
                    changed = True
            if not changed:
                return

    def resolve_row_outputs(self) -> None:
        """A function returning a table's rows (`RETURNS SETOF t`) has t's columns filled by
        position, whatever its query names its outputs: its outputs are t's columns in order,
        as they are after every source has been read (a later RENAME COLUMN renames them in
        place). Unless its queries output them in that order under those names anyway (`*` of
        t itself), where reading them by name is the same. Where the order is unknown (the
        sources do not show it, or the name's definitions return different rows): outputs
        named so that no column of them is the tenant column, and nothing pins it."""
        orders = {table: [tuple(columns)] for table, columns in self.order.items()}
        for name, tables in self.row_returns.items():
            info = self.functions.get(name)
            if info is None or (info.outputs and name not in self.declared_outputs):
                continue
            table = next(iter(tables))
            order = self.order.get(table)
            if (
                len(tables) == 1
                and name not in self.declared_outputs
                and order is not None
                and set(order) == self.columns.get(table)
            ):
                row = tuple(order)
                if not fills_by_name(info.body, row, orders):
                    self.functions[name] = replace(info, outputs=row)
                continue
            width = max(len(self.columns.get(t, ())) for t in tables)
            unknown = tuple(f"?column{i}?" for i in range(1, width + 1))
            self.functions[name] = replace(info, outputs=unknown)

    def _rule(self, node: Any, text: str, path: str) -> None:
        """CREATE RULE "_RETURN" AS ON SELECT … DO INSTEAD SELECT: PostgreSQL (15 and before)
        makes the table a view whose rows are the rule's query's, whatever its columns say."""
        from pglast.enums import CmdType
        from pglast.stream import RawStream

        self._trigger_or_rule(node, text, path)  # an INSERT into it writes what the rule does
        actions = list(node.actions or ())
        event = _enum(node.event)
        if event != CmdType.CMD_SELECT:  # what a write runs beside itself: its statements
            kind = {
                CmdType.CMD_INSERT: "INSERT",
                CmdType.CMD_UPDATE: "UPDATE",
                CmdType.CMD_DELETE: "DELETE",
            }.get(CmdType(event))
            relation, name = _relname(node.relation), str(node.rulename or "")
            if node.replace:
                self.write_rules = [
                    r for r in self.write_rules if not (r.relation == relation and r.name == name)
                ]
            if kind is not None and actions:
                statements = [RawStream()(a) for a in actions]
                self.write_rules.append(WriteRule(name, relation, kind, statements))
            if kind in ("INSERT", "UPDATE") and node.instead:
                self.row_changers.add(relation)  # another write's RETURNING (DO ALSO: the same)
            return
        if not node.instead or len(actions) != 1:
            return
        table = _relname(node.relation)
        self.columns.pop(table, None)  # no longer a table: the view's verdict decides
        self.order.pop(table, None)
        self.loose.pop(table, None)
        self.defaults.pop(table, None)
        self._add_view(node.relation, ViewInfo(RawStream()(actions[0]), None))

    def _defined(self, relation: Any) -> bool:
        """Notes where a table or view is created; whether its name is in another schema too."""
        name = _relname(relation)
        seen = self.relation_schemas.setdefault(name, set())
        seen.add(self._schema_of(relation))
        if len(seen) > 1:  # which one an INSERT names is the search path's: no default kept
            self._mixed.add(name)
            self._no_defaults.add(name)
            self.defaults.pop(name, None)
        return len(seen) > 1

    def _exists(self, relation: Any) -> bool:
        """Whether a table or view of this name is in the relation's schema already."""
        seen = self.relation_schemas.get(_relname(relation), set())
        return self._schema_of(relation) in seen

    def _schema_of(self, relation: Any) -> str:
        """The schema a relation is created in: the one written, else the first of the
        search path the schema sources set (`SET search_path = app`; `CREATE SCHEMA app
        CREATE TABLE …`), else public (round 27: two tables of one name were read as one)."""
        if str(getattr(relation, "relpersistence", "p") or "p") == "t":
            return "pg_temp"  # CREATE TEMP TABLE: the session's own, gone at its end
        return str(relation.schemaname or self._creation_schema)

    def _search_path(self, node: Any, text: str, path: str) -> None:
        """`SET [LOCAL] search_path = a, b` / `RESET search_path`: where later unqualified
        tables are created — the first schema of the path that exists (round 27f: not one
        the sources never created); SET LOCAL until the block's end (outside one it does
        nothing, unless the runner opens one: unknown); `RESET ALL` / `SET ROLE` too."""
        from pglast.enums import VariableSetKind

        kind = _enum(node.kind)
        name = str(node.name or "").lower()
        if kind == VariableSetKind.VAR_RESET_ALL:
            if self._before_role is None:
                self._creation_schema = self._session_schema
            return
        if name in ("role", "session_authorization"):
            # the search path's "$user" is that role's schema now
            if kind in (VariableSetKind.VAR_RESET, VariableSetKind.VAR_SET_DEFAULT) or any(
                str(getattr(getattr(a, "val", None), "sval", "")).lower() == "none"
                for a in node.args or ()
            ):
                if self._before_role is not None:
                    self._creation_schema, self._before_role = self._before_role, None
            elif self._before_role is None:
                self._before_role = self._creation_schema
                self._creation_schema = _UNKNOWN_SCHEMA
            return
        if name != "search_path":
            return
        if kind in (VariableSetKind.VAR_RESET, VariableSetKind.VAR_SET_DEFAULT):
            schema = self._session_schema
        elif kind == VariableSetKind.VAR_SET_VALUE:
            values = [getattr(getattr(a, "val", None), "sval", None) for a in node.args or ()]
            names = None if None in values else [str(v) for v in values]
            schema = self._first_schema(names)
        else:
            schema = _UNKNOWN_SCHEMA
        if node.is_local:
            if self._transaction is None:  # a warning and no effect, or the runner's block
                if schema != self._creation_schema:
                    self._creation_schema = _UNKNOWN_SCHEMA
                return
            if self._before_local is None:
                self._before_local = self._creation_schema
        self._creation_schema = schema

    def _first_schema(self, names: list[str] | None) -> str:
        """Where an unqualified CREATE goes with this search path: its first schema that
        exists — one the sources create (or public); "$user" and a schema the sources never
        create: unknown; pg_temp: the session's temporary schema."""
        for name in names or ():
            if name.startswith("$"):
                return _UNKNOWN_SCHEMA
            if name == "pg_temp":
                return "pg_temp"
            if name in self._made_schemas:
                return name
            return _UNKNOWN_SCHEMA  # made outside the sources, or skipped (not there)
        return _UNKNOWN_SCHEMA  # '' (pg_dump's): nothing is created unqualified

    def _transaction_statement(self, node: Any, text: str, path: str) -> None:
        """BEGIN … COMMIT | ROLLBACK in a schema source: a rolled-back block's keys were never
        there (round 27f); SET LOCAL holds until the block ends."""
        from pglast.enums import TransactionStmtKind as Kind

        kind = _enum(node.kind)
        if kind in (Kind.TRANS_STMT_BEGIN, Kind.TRANS_STMT_START):
            if self._transaction is None:
                self._transaction = (
                    {t: list(keys) for t, keys in self.unique_keys.items()},
                    [k for keys in self.foreign_keys.values() for k in keys],
                    self._creation_schema,
                )
            return
        if self._transaction is None:
            return
        keys, foreign, schema = self._transaction
        if kind in (Kind.TRANS_STMT_ROLLBACK, Kind.TRANS_STMT_ROLLBACK_TO):
            for table, now in self.unique_keys.items():
                self.unique_keys[table] = [k for k in now if k in keys.get(table, ())]
            kept = {id(k) for k in foreign}
            for now_foreign in self.foreign_keys.values():
                for key in now_foreign:
                    if id(key) not in kept:
                        key.valid = False
            if kind == Kind.TRANS_STMT_ROLLBACK_TO:  # to a savepoint: what it undid, unknown
                if self._creation_schema != schema:
                    self._creation_schema = _UNKNOWN_SCHEMA
                return
            self._creation_schema = schema
        elif kind not in (Kind.TRANS_STMT_COMMIT, Kind.TRANS_STMT_PREPARE):
            return  # SAVEPOINT, RELEASE
        elif self._before_local is not None:
            self._creation_schema = self._before_local
        self._transaction = self._before_local = None

    def _path_changed(self, node: Any, text: str, path: str) -> None:
        """A search path set where the reader does not follow it (`UPDATE pg_settings`,
        `ALTER ROLE | DATABASE … SET search_path`: the next sessions'): unknown."""
        if "search_path" not in text.lower():
            return
        self._creation_schema = _UNKNOWN_SCHEMA
        if type(node).__name__ in ("AlterRoleSetStmt", "AlterDatabaseSetStmt"):
            self._session_schema = _UNKNOWN_SCHEMA
            # the application's sessions may run under that path, not config `search_path`:
            # no name is read by the path (h35P: `ALTER ROLE app SET search_path = archive,
            # public` made `countries` archive's tenant table for every session of app)
            self.names_unsure = True
            self.plain_tables.clear()

    def _schema_gone(self, schema: str, cascade: bool) -> None:
        """DROP SCHEMA … CASCADE: the relations in it are gone with it."""
        from pglast.enums import ObjectType

        self._made_schemas.discard(schema)
        if not cascade:
            return  # refused while it holds anything
        for name, seen in list(self.relation_schemas.items()):
            if schema in seen:
                seen.discard(schema)
                if not seen:
                    view = name in self.views and name not in self.columns
                    self._forget_relation(
                        name, ObjectType.OBJECT_VIEW if view else ObjectType.OBJECT_TABLE
                    )

    def _schema_renamed(self, old: str, new: str) -> None:
        """ALTER SCHEMA old RENAME TO new: its relations are in new now."""
        if old in self._made_schemas:
            self._made_schemas.discard(old)
        self._made_schemas.add(new)
        for name, seen in self.relation_schemas.items():
            if old in seen:
                seen.discard(old)
                seen.add(new)
                if len(seen) > 1:
                    self._mixed.add(name)
        if self._creation_schema == old:
            self._creation_schema = _UNKNOWN_SCHEMA

    def _called(self, node: Any, path: str) -> None:
        """A statement calling routines of the sources (`SELECT f()`, `CALL p()`): the DDL in
        their bodies runs (round 27f: a DROP INDEX there), a search path they set is unknown."""
        found = [name for name, _ in _function_calls(node)]
        for name in dict.fromkeys(found):
            for body in self._bodies.get(name, ()):
                if "search_path" in body.lower():
                    self._creation_schema = _UNKNOWN_SCHEMA
                self._scan_embedded(body, path)

    def _discard(self, node: Any, text: str, path: str) -> None:
        """DISCARD ALL: the session's settings and role as at its start."""
        from pglast.enums import DiscardMode

        if _enum(node.target) == DiscardMode.DISCARD_ALL:
            self._creation_schema = self._session_schema
            self._before_role = self._before_local = None

    def _call(self, node: Any, text: str, path: str) -> None:
        self._called(node, path)

    def _inherit(self, child: str, parent: str, added: bool) -> None:
        """ATTACH / DETACH PARTITION, [NO] INHERIT: whom the parent's changes reach."""
        if added:
            self.children.setdefault(parent, set()).add(child)
        else:
            self.children.get(parent, set()).discard(child)

    def _forget_kin(self, table: str) -> None:
        """A table gone (or new): neither a parent nor a child of anything it was before."""
        self.children.pop(table, None)
        for children in self.children.values():
            children.discard(table)

    def _shared(self, relation: Any) -> bool:
        """Whether this name is also a relation of another schema (kept when this one goes)."""
        seen = self.relation_schemas.get(_relname(relation), set())
        return bool(seen - {str(relation.schemaname or "public")})

    def _add_view(self, relation: Any, view: ViewInfo) -> None:
        name = _relname(relation)
        old = self.views.get(name)
        if self._defined(relation) and old is not None:
            view = namesake_views(old, view)
        self.views[name] = view

    def _function(self, node: Any, text: str, path: str) -> None:
        """CREATE FUNCTION … LANGUAGE sql or plpgsql; other languages (C, Python) are not
        followed; trigger functions are called by the database on rows, never by a query."""
        from pglast.stream import RawStream

        if _TYPE_DDL.search(text):  # run when it is called: out of the reader's sight
            self._hidden_types = True
        if len(_FUNCTION_DDL.findall(text)) > 1:  # one more function, made when it is called
            self._hidden_functions = True
        if not node.funcname:
            return
        name = str(node.funcname[-1].sval)
        options = {str(o.defname): o.arg for o in node.options or ()}
        language = str(getattr(options.get("language"), "sval", "sql")).lower()
        volatility = str(getattr(options.get("volatility"), "sval", "volatile")).lower()
        returned = node.returnType
        returns = str(returned.names[-1].sval) if returned and returned.names else ""  # folded
        if language in ("sql", "plpgsql") and isinstance(options.get("as"), tuple):
            self._bodies.setdefault(name, []).append(" ".join(_strings(options["as"])))
        if returns == "event_trigger":
            return
        self._function_texts.setdefault(name, []).append(text)
        if returns == "trigger":
            self._trigger_function(name, _schema_of(node.funcname), language, options, text)
            return
        parameters: list[str] = []
        outputs: list[str] = []
        types: list[str] = []
        lossy: list[int] = []
        defaults: list[tuple[int, str]] = []
        for parameter in node.parameters or ():
            mode = str(getattr(parameter.mode, "value", parameter.mode))
            if mode in ("d", "i", "b", "v"):  # in, inout, variadic: positions in a call
                if parameter.defexpr is not None:
                    defaults.append((len(parameters), RawStream()(parameter.defexpr)))
                type_key = _type_key(parameter.argType)
                element = type_key.rstrip("[]")  # `real[]` for `= ANY(p)` rounds alike
                if element in self.lossy_types or element in self.loose_types:
                    lossy.append(len(parameters))
                parameters.append(str(parameter.name or ""))
                types.append(type_key)
            if parameter.name and mode in ("o", "b", "t"):  # out, inout, TABLE columns
                outputs.append(str(parameter.name))
                if self._lossy_type(parameter.argType, None):
                    self.lossy_columns.add(str(parameter.name))
        signature = (_schema_of(node.funcname), tuple(types))
        self._volatility.setdefault(name, {})[signature] = volatility[:1]
        if self.signatures.get(name, set()) <= {signature}:
            self.row_returns.pop(name, None)  # none before, or this one replaced: from now
            self.declared_outputs.discard(name)
        columns: set[str] | None = set(outputs) if outputs else None
        if columns is None and returned is not None and returned.setof:
            columns = self.columns.get(returns)
            if columns is not None:  # filled by position: see resolve_row_outputs
                self.row_returns.setdefault(name, set()).add(returns)
        if outputs:
            self.declared_outputs.add(name)
        constants: tuple[tuple[str, str], ...] = ()
        row_queries: tuple[str, ...] | None = None
        if node.sql_body is not None:  # RETURN …, BEGIN ATOMIC … END
            body = [RawStream()(s) for s in _flatten(node.sql_body)]
            opaque = ""
        elif language == "plpgsql":
            body, opaque, constants = _plpgsql_queries(text)
            row_queries = _returned_queries(text)
            written = _written_variables(text)  # a parameter the body writes pins nothing
            lossy.extend(
                i
                for i, p in enumerate(parameters)
                if written is None or (p and p.lower() in written) or f"${i + 1}" in written
            )
        elif language != "sql":
            # PL/Python, PL/Perl, C…: its queries are out of sight — naming a tenant table hands
            # out every tenant's rows, and it may change any setting (opaque: fail closed)
            source = options.get("as")
            strings = list(_strings(source)) if isinstance(source, tuple) else []
            body, opaque = [], " ".join(strings) or f"LANGUAGE {language}"
        else:
            source = options.get("as")
            strings = list(_strings(source)) if isinstance(source, tuple) else []
            body, opaque = [s.text for s in split_sql(strings[0] if strings else "")[0]], ""
        fixed = _custom_settings_set(node.options)
        if fixed:
            # `SET app.tenant_id = '…'` on the function (h32i): its body runs under that
            # value, not the request's: read as text that cannot be read (fail closed)
            opaque = " ".join([opaque, *body, *fixed]).strip()
            body, row_queries = [], None
        if any(parameters):
            # `notes_of.tenant_id`: the parameter, named by its function (helper 109)
            body = [_qualified_parameters(s, name, parameters) for s in body]
            if row_queries is not None:
                row_queries = tuple(_qualified_parameters(s, name, parameters) for s in row_queries)
        inlined = (
            language == "sql"
            and len(body) == 1
            and not opaque
            and not outputs
            and returned is not None
            and not returned.setof
            and returns not in ("record", "void")
        )
        declared = options.get("cost")
        cost = getattr(declared, "fval", None) or getattr(declared, "ival", None)
        try:
            cheap = cost is not None and float(cost) < 100
        except ValueError:
            cheap = True
        info = FunctionInfo(
            body,
            opaque,
            parameters,
            columns,
            constants,
            tuple(lossy),
            tuple(outputs),
            inlined=inlined,
            cheap=cheap,
            returned=row_queries,
            defaults=tuple(defaults),
        )
        # the types of its return and of its parameters (any output but the return: "?")
        exact = [_domain_base(returned, None) if returned is not None else ("", "?")]
        for parameter in node.parameters or ():
            mode = str(getattr(parameter.mode, "value", parameter.mode))
            exact.append(_domain_base(parameter.argType, None) if mode in ("d", "i") else ("", "?"))
        self._function_types.setdefault(name, set()).add(tuple(exact))
        if lossy:
            self.lossy_arguments.setdefault(name, set()).update(
                [*lossy, *([-len(parameters)] if lossy[-1] == len(parameters) - 1 else [])]
            )
        seen = self.signatures.setdefault(name, set())
        seen.add((_schema_of(node.funcname), tuple(types)))
        if node.sql_body is not None:
            self.bound_functions.add(name)
        elif len(seen) == 1:
            self.bound_functions.discard(name)
        if len(seen) > 1:  # overloads, or one name in two schemas: a call may run any of them
            info = namesake_functions(self.functions.get(name), info)
        self.functions[name] = info

    def _alter_function(self, node: Any, text: str, path: str) -> None:
        """ALTER FUNCTION … IMMUTABLE | STABLE | VOLATILE: the definition's new volatility. One
        not told apart from the others (no argument list, types spelled otherwise): VOLATILE
        counts for the name, IMMUTABLE or STABLE for nothing."""
        names = list(_strings(getattr(node.func, "objname", None)))
        if not names:
            return
        definitions = self._volatility.setdefault(names[-1], {})
        signature: tuple[str, tuple[str, ...]] | None = None
        if not node.func.args_unspecified:
            arguments = tuple(_type_key(a) for a in node.func.objargs or ())
            signature = (_schema_of(node.func.objname), arguments)
        elif len(definitions) == 1:
            signature = next(iter(definitions))
        known = self.functions.get(names[-1])
        fixed = _custom_settings_set(node.actions)
        if fixed and known is not None:
            # `ALTER FUNCTION f SET app.tenant_id = …` (h32i): see `_function`
            opaque = " ".join([known.opaque, *known.body, *fixed]).strip()
            self.functions[names[-1]] = replace(known, body=[], opaque=opaque, returned=None)
        for action in node.actions or ():
            if str(action.defname) == "cost":
                # `ALTER FUNCTION f COST 0.01`: cheaper than the default, evaluated before
                # dearer conditions (TG013 costs it so); any definition of the name
                declared = getattr(action.arg, "fval", None) or getattr(action.arg, "ival", None)
                try:
                    cheap = declared is None or float(declared) < 100
                except ValueError:
                    cheap = True
                known = self.functions.get(names[-1])
                if cheap and known is not None and not known.cheap:
                    self.functions[names[-1]] = replace(known, cheap=True)
                continue
            if str(action.defname) != "volatility":
                continue
            kind = str(getattr(action.arg, "sval", "volatile")).lower()[:1]
            if signature is not None and signature in definitions:
                definitions[signature] = kind
            elif kind == "v":
                definitions[("*", ())] = kind

    def _extension(self, node: Any, text: str, path: str) -> None:
        """CREATE EXTENSION: its functions' volatility, and their parameters of a lossy type, are
        known for PostgreSQL's contrib ones (`engine.pgextensions`)."""
        from tenantguard.engine.pgextensions import EXTENSION_REQUIRES

        options = {str(o.defname): o.arg for o in node.options or ()}
        where = str(getattr(options.get("schema"), "sval", "public"))
        name = str(node.extname)
        for required in EXTENSION_REQUIRES.get(name, ()):  # created first (CASCADE), or there
            self._extensions.append((required, where))
        self._extensions.append((name, where))

    def _trigger_function(
        self, name: str, schema: str, language: str, options: dict[str, Any], text: str
    ) -> None:
        """A trigger function: the SQL it runs (PL/pgSQL), or its text (another language,
        dynamic SQL), and the fields of NEW it assigns. One name in two schemas: both (a
        trigger names its function's schema, the proof knows it by name)."""
        copies: tuple[tuple[str, str], ...] = ()
        if language == "plpgsql":
            body, opaque, _ = _plpgsql_queries(text)
            assigned = _assigned_new_fields(text)
            copies = _row_copies(text)
        else:  # C, PL/Python…: out of sight — what it names is all there is to go on
            source = options.get("as")
            strings = list(_strings(source)) if isinstance(source, tuple) else []
            body, opaque, assigned = [], " ".join(strings) or f"LANGUAGE {language}", {"*"}
        versions = self._trigger_versions.setdefault(name, {})
        versions[schema] = (FunctionInfo(body, opaque, [], None, row_copies=copies), assigned)
        shared = [f.row_copies for f, _ in versions.values()]
        self.trigger_functions[name] = FunctionInfo(
            [q for f, _ in versions.values() for q in f.body],
            " ".join(f.opaque for f, _ in versions.values() if f.opaque),
            [],
            None,
            # (one name in two schemas: only what both say)
            row_copies=tuple(c for c in shared[0] if all(c in o for o in shared[1:])),
        )
        self.new_fields[name] = {n for _, a in versions.values() for n in a}

    def _truncate(self, node: Any, text: str, path: str) -> None:
        """TRUNCATE of a table a query filled: no copied row is left (CASCADE reaches more)."""
        for relation in node.relations or ():
            self.filled.pop(_relname(relation), None)

    def _do(self, node: Any, text: str, path: str) -> None:
        body = next((str(a.arg.sval) for a in node.args or () if a.defname == "as"), "")
        if "search_path" in body.lower():  # SET or set_config in the block: not followed
            self._creation_schema = _UNKNOWN_SCHEMA
            if _SESSION_DEFAULTS.search(body):
                self._session_schema = _UNKNOWN_SCHEMA
        self._scan_embedded(body, path)

    def _search_path_call(self, node: Any) -> None:
        """`SELECT set_config('search_path', 'app', false)` (pg_dump's form, `''`): as `SET
        search_path` (any other value: a schema the reader cannot tell)."""
        found = [call for name, call in _function_calls(node) if name.lower() == "set_config"]
        for call in found:
            arguments = list(call.args or ())
            setting = (
                getattr(getattr(arguments[0], "val", None), "sval", None) if arguments else None
            )
            if setting is None or str(setting).lower() != "search_path":
                if setting is None:
                    self._creation_schema = _UNKNOWN_SCHEMA  # a setting named at run time
                continue
            value = getattr(getattr(arguments[1], "val", None), "sval", None)
            is_local = getattr(getattr(arguments[2], "val", None), "boolval", None)
            if value is None or len(arguments) < 3 or is_local is not False:
                self._creation_schema = _UNKNOWN_SCHEMA  # at run time, or till the block ends
                continue
            self._creation_schema = self._first_schema(_path_names(str(value)))

    def _schema(self, node: Any, text: str, path: str) -> None:
        # `CREATE SCHEMA app CREATE TABLE t …`: t is app.t
        before = self._creation_schema
        if node.schemaname:
            self._made_schemas.add(str(node.schemaname))
        elif before == self._session_schema:
            # `CREATE SCHEMA AUTHORIZATION r`: named r — the "$user" of r's sessions
            before = _UNKNOWN_SCHEMA
        self._creation_schema = str(node.schemaname or _UNKNOWN_SCHEMA)
        try:
            for element in node.schemaElts or ():
                self._statement(element, text, path)
        finally:
            self._creation_schema = before


def _function_calls(node: Any) -> list[tuple[str, Any]]:
    """The function calls in a statement: (the name called, without its schema; the call)."""
    from pglast.visitors import Visitor

    found: list[tuple[str, Any]] = []

    class _Calls(Visitor):
        def visit_FuncCall(self, ancestors: Any, call: Any) -> None:
            names = [str(getattr(n, "sval", "")) for n in call.funcname or ()]
            if names:
                found.append((names[-1], call))

    _Calls()(node)
    return found


# a schema the reader cannot tell (`SET search_path = "$user", …`: the role's)
_UNKNOWN_SCHEMA = "?"


def _path_names(value: str) -> list[str] | None:
    """The schemas of a search path's text, as PostgreSQL splits it (SplitIdentifierString):
    unquoted names folded to lower case, `"App"` kept; None when it does not split."""
    names: list[str] = []
    i, n = 0, len(value)
    if not value.strip():
        return names
    while True:
        while i < n and value[i].isspace():
            i += 1
        if i < n and value[i] == '"':
            parts, j = [], i + 1
            while True:
                k = value.find('"', j)
                if k < 0:
                    return None
                if value[k + 1 : k + 2] == '"':
                    parts.append(value[j : k + 1])
                    j = k + 2
                    continue
                parts.append(value[j:k])
                i = k + 1
                break
            names.append("".join(parts))
        else:
            j = i
            while i < n and value[i] != "," and not value[i].isspace():
                i += 1
            if i == j:
                return None
            names.append(value[j:i].lower())
        while i < n and value[i].isspace():
            i += 1
        if i >= n:
            return names
        if value[i] != ",":
            return None
        i += 1


def _origin_role(node: Any) -> bool:
    """`SET session_replication_role = origin` (TO DEFAULT, RESET): the keys' triggers fire."""
    from pglast.enums import VariableSetKind

    if type(node).__name__ != "VariableSetStmt" or node.name != "session_replication_role":
        return False
    if _enum(node.kind) in (VariableSetKind.VAR_SET_DEFAULT, VariableSetKind.VAR_RESET):
        return True
    values = [getattr(getattr(a, "val", None), "sval", None) for a in node.args or ()]
    return values == ["origin"]


# statements that change no table's columns (round 35: `plain_tables`)
_PLAIN_SAFE = frozenset(
    {"InsertStmt", "UpdateStmt", "DeleteStmt", "CopyStmt", "TransactionStmt", "CommentStmt"}
)
_PLAIN_WORD = re.compile(r"[a-z_][a-z0-9_$]*")


def _written_words(text: str) -> set[str]:
    """The names a text may write, as `names_in_text` finds them (words as written and folded;
    every name — "*" — when a Unicode escape may spell any)."""
    if 'u&"' in text or 'U&"' in text:
        return {"*"}
    words = set(re.findall(r"[^\W\d][\w$]*", text))
    quoted = {q.replace('""', '"') for q in re.findall(r'"((?:[^"]|"")+)"', text)}
    return {*words, *map(fold_name, words), *quoted}


# statements that define code a later statement may run (round 35: `plain_tables`)
_CODE = frozenset(
    {"CreateFunctionStmt", "CreateTrigStmt", "RuleStmt", "CreateEventTrigStmt", "PrepareStmt"}
)
# statements that may rename, drop or move what a schema holds (its name in their text)
_SCHEMA_CHANGES = frozenset(
    {"RenameStmt", "DropStmt", "AlterObjectSchemaStmt", "CreateSchemaStmt", "DoStmt"}
)

_HANDLERS = {
    "CreateStmt": SchemaInfo._create_table,
    "CreateForeignTableStmt": SchemaInfo._foreign_table,
    "CompositeTypeStmt": SchemaInfo._composite_type,
    "ImportForeignSchemaStmt": SchemaInfo._import_foreign_schema,
    "PrepareStmt": SchemaInfo._prepare,
    "SelectStmt": SchemaInfo._select_into,
    "CreateTableAsStmt": SchemaInfo._create_table_as,
    "AlterTableStmt": SchemaInfo._alter_table,
    "RenameStmt": SchemaInfo._rename,
    "IndexStmt": SchemaInfo._index,
    "DropStmt": SchemaInfo._drop,
    "ViewStmt": SchemaInfo._view,
    "CreateTrigStmt": SchemaInfo._trigger_or_rule,
    "RuleStmt": SchemaInfo._rule,
    "CreateFunctionStmt": SchemaInfo._function,
    "AlterFunctionStmt": SchemaInfo._alter_function,
    "CreateExtensionStmt": SchemaInfo._extension,
    "DoStmt": SchemaInfo._do,
    "CreateSchemaStmt": SchemaInfo._schema,
    "VariableSetStmt": SchemaInfo._search_path,
    "TransactionStmt": SchemaInfo._transaction_statement,
    "UpdateStmt": SchemaInfo._path_changed,
    "AlterRoleSetStmt": SchemaInfo._path_changed,
    "AlterDatabaseSetStmt": SchemaInfo._path_changed,
    "CallStmt": SchemaInfo._call,
    "DiscardStmt": SchemaInfo._discard,
    "CreateDomainStmt": SchemaInfo._domain,
    "DefineStmt": SchemaInfo._define,
    "CreateCastStmt": SchemaInfo._cast,
    "AlterDomainStmt": SchemaInfo._alter_domain,
    "CreateEnumStmt": SchemaInfo._other_type,
    "CreateRangeStmt": SchemaInfo._other_type,
    "AlterObjectSchemaStmt": SchemaInfo._type_moved,
    "TruncateStmt": SchemaInfo._truncate,
}


# `SchemaInfo.spanning`'s entry of a partial key's own columns (its name, then this), beside
# the entry of every column it checks (its WHERE's too)
_KEY_ONLY = "\x00key"
KEY_ONLY = _KEY_ONLY  # (the suffix of a key's own entry in SchemaInfo.spanning)


def _enum(value: Any) -> int:
    return int(getattr(value, "value", value))


def _deferred(constraints: list[Any], index: int) -> bool:
    """Whether a column's constraint at `index` is made DEFERRABLE (or INITIALLY DEFERRED) by
    the attributes that follow it in the column's list."""
    from pglast.enums import ConstrType

    return any(
        _enum(c.contype) in (ConstrType.CONSTR_ATTR_DEFERRABLE, ConstrType.CONSTR_ATTR_DEFERRED)
        for c in constraints[index + 1 : index + 3]
    )


def _custom_settings_set(options: Any) -> list[str]:
    """The custom settings (`app.tenant_id`: a dotted name) a function's `SET name = …` or
    `SET name FROM CURRENT` options give a value of its own while it runs."""
    found = []
    for option in options or ():
        name = getattr(option.arg, "name", None) if str(option.defname) == "set" else None
        if name and "." in str(name):
            found.append(f"SET {name}")
    return found


def _index_element_columns(element: Any) -> set[str]:
    """The columns an index's element (a pglast IndexElem) reads: its column, or those its
    expression reads."""
    if getattr(element, "name", None):
        return {str(element.name)}
    return _columns_read(getattr(element, "expr", None))


def _columns_read(expression: Any) -> set[str]:
    """The names of the columns an expression (a pglast node) reads."""
    found: set[str] = set()
    stack = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple | list):
            stack.extend(node)
        elif type(node).__name__ == "ColumnRef":
            names = list(_strings(node.fields))
            if names:
                found.add(names[-1])
        elif hasattr(node, "__slots__"):
            stack.extend(getattr(node, name, None) for name in node.__slots__)
    return found


# casts that keep a copy exact: to integers, numeric without a typmod, text, varchar without a
# length, uuid (as PostgreSQL's parser names them)
_EXACT_CASTS = frozenset(
    {"int2", "int4", "int8", "numeric", "text", "varchar", "uuid", "smallint", "integer",
     "bigint", "int"}
)  # fmt: skip


def copied_column(expression: Any) -> str | None:
    """The column a generation expression copies: `owner`, or `owner::uuid` (a cast to a type
    of `_EXACT_CASTS`, no typmod, no array; pg_catalog's or unqualified); None otherwise."""
    if type(expression).__name__ == "TypeCast":
        type_name = expression.typeName
        names = list(_strings(type_name.names)) if type_name is not None else []
        if (
            not names
            or names[-1] not in _EXACT_CASTS
            or names[:-1] not in ([], ["pg_catalog"])
            or type_name.typmods
            or type_name.arrayBounds
            or type_name.setof
            or type_name.pct_type
        ):
            return None
        expression = expression.arg
    if type(expression).__name__ != "ColumnRef":
        return None
    fields = list(expression.fields or ())
    if len(fields) != 1 or type(fields[0]).__name__ != "String":
        return None
    return str(fields[0].sval)


def _relname(node: Any) -> str:
    return str(node.relname)


_INTEGER_TYPES = frozenset(
    {"int2", "int4", "int8", "smallint", "integer", "int", "bigint", "serial", "bigserial",
     "smallserial", "serial2", "serial4", "serial8"}
)  # fmt: skip


# serials are integers of these types
_SERIALS = {"smallserial": "int2", "serial2": "int2", "serial": "int4", "serial4": "int4",
            "bigserial": "int8", "serial8": "int8"}  # fmt: skip


# pg_catalog's types a column's declaration may name without its schema (PostgreSQL's parser
# writes the SQL-standard ones — int, varchar, numeric… — as pg_catalog.<name> already)
BUILTIN_TYPES = frozenset(
    [
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "numeric",
        "bool",
        "text",
        "varchar",
        "bpchar",
        "uuid",
        "bytea",
        "json",
        "jsonb",
        "date",
        "time",
        "timetz",
        "timestamp",
        "timestamptz",
        "interval",
        "inet",
        "cidr",
        "macaddr",
        "macaddr8",
        "money",
        "oid",
        "name",
        "char",
        "bit",
        "varbit",
        "xml",
        "tsvector",
        "tsquery",
        "point",
    ]
)


def type_trait(base: str, arrays: int, builtin: bool) -> str:
    """`type:<name>` of a built-in type, `type:domain:<name>` of any other (counted only when
    the schema is sure of it: `exact_domains`), `[]` per array level."""
    return f"type:{'' if builtin else 'domain:'}{base}{'[]' * arrays}"


def stable_names(definitions: Iterable[tuple[str, str, str]]) -> set[str]:
    """Of (schema, name, volatility i/s/v) definitions: each name, and `schema.name`, every
    definition of which is IMMUTABLE or STABLE (the schema reader's and audit's
    stable_functions)."""
    kinds: dict[str, set[str]] = {}
    for where, name, kind in definitions:
        kinds.setdefault(name, set()).add(kind)
        kinds.setdefault(f"{where}.{name}", set()).add(kind)
    return {name for name, found in kinds.items() if found <= {"i", "s"}}


def _type_trait(type_name: Any) -> str | None:
    """The `type:` trait of a column's declared type, as PostgreSQL compares types (by oid: a
    typmod does not count, a serial is its integer type), for set operations, which push a
    filter into their branches only when each branch's column is of the output's very type.
    None: not sure (%TYPE)."""
    if type_name is None or getattr(type_name, "pct_type", False):
        return None
    names = list(_strings(getattr(type_name, "names", None) or ()))
    if not names:
        return None
    base = _SERIALS.get(names[-1], names[-1]) if len(names) == 1 else names[-1]
    builtin = names[0] == "pg_catalog" if len(names) > 1 else base in BUILTIN_TYPES
    return type_trait(base, len(getattr(type_name, "arrayBounds", None) or ()), builtin)


def _integer_type(type_name: Any) -> bool:
    """int2, int4, int8 or a serial, no array (a domain over one is not followed)."""
    if type_name is None or getattr(type_name, "arrayBounds", None):
        return False
    names = list(_strings(getattr(type_name, "names", None) or ()))
    if len(names) > 1 and names[0] != "pg_catalog":
        return False  # a type of that name in another schema
    return bool(names) and names[-1] in _INTEGER_TYPES


# PostgreSQL's own operator classes of the types a tenant column has, whose equality is `=`
_EXACT_OPCLASSES = frozenset(
    """int2_ops int4_ops int8_ops integer_ops text_ops varchar_ops bpchar_ops uuid_ops
    text_pattern_ops varchar_pattern_ops bpchar_pattern_ops numeric_ops bytea_ops""".split()  # noqa: SIM905
)


def _simple_select(view: ViewInfo) -> Any:
    """The view's query when PostgreSQL updates the view itself — a SELECT of one table with no
    WITH, DISTINCT, GROUP BY, HAVING, window, LIMIT/OFFSET, locking or set operation — else
    None (or when pglast cannot read it back)."""
    import pglast

    try:
        statements = pglast.parse_sql(view.query)
    except Exception:  # a query pglast printed and cannot read back
        return None
    if len(statements) != 1:
        return None
    select: Any = statements[0].stmt
    if type(select).__name__ != "SelectStmt" or _enum(select.op) != 0:
        return None
    if any(
        getattr(select, clause) is not None
        for clause in (
            "withClause", "distinctClause", "groupClause", "havingClause", "windowClause",
            "limitCount", "limitOffset", "lockingClause", "valuesLists", "intoClause",
        )
    ):  # fmt: skip
        return None
    sources: Any = select.fromClause or ()
    if len(sources) != 1 or type(sources[0]).__name__ != "RangeVar":
        return None
    return select


def _updatable_view_base(view: ViewInfo) -> tuple[str, dict[str, set[str]]] | None:
    """(the one table a view selects from, the names it shows each base column under by a
    plain reference) when PostgreSQL updates the view itself: one FROM item, a table, and no
    WITH, DISTINCT, GROUP BY, HAVING, window, LIMIT/OFFSET, locking or set operation; None
    otherwise. `*` under a column list renames by positions the reader does not keep: None."""
    select = _simple_select(view)
    if select is None:
        return None
    sources: Any = select.fromClause
    alias = getattr(sources[0], "alias", None)
    if alias is not None and getattr(alias, "colnames", None):
        return None  # `FROM t AS x (a, b)` renames by positions the reader does not keep
    shown: dict[str, set[str]] = {}
    renames = view.columns or []
    for index, target in enumerate(select.targetList or ()):
        value = target.val
        while type(value).__name__ == "TypeCast":
            # `tenant_id::bigint AS tenant_id`: PostgreSQL drops a cast to the column's own
            # type, and the view's column is the table's, updatable (round 22, helper 104); to
            # another type it is not, and a write naming it fails: read as the column either way
            value = value.arg
        if type(value).__name__ != "ColumnRef":
            continue  # an expression: a column an INSERT cannot name
        last = value.fields[-1]
        if type(last).__name__ == "A_Star":
            if renames:
                return None
            shown.setdefault("*", set())  # every base column under its own name
            continue
        column = str(last.sval)
        name = renames[index] if index < len(renames) else (target.name or column)
        shown.setdefault(column, set()).add(str(name))
    return _relname(sources[0]), shown


def _single_table_select(view: ViewInfo) -> bool:
    """Is the view's query a SELECT of one table that PostgreSQL may update itself, whatever
    its columns?"""
    return _simple_select(view) is not None


def fills_by_name(
    body: list[str], row: tuple[str, ...], orders: Mapping[str, list[tuple[str, ...]]]
) -> bool:
    """Whether each query of a function returning a row type outputs the row's columns under
    their own names, at their own positions — a select list naming them in order, or `*` (`t.*`)
    of one relation whose columns (every relation of that name's, in `orders`) are the row's, in
    order — so that reading its outputs by name is reading them by position, as PostgreSQL fills
    the row. (A `*` renamed by position hides which column lands where: the proof pins none.)"""
    from tenantguard.engine.proof.names import output_names

    for statement in body:
        try:
            tree = sqlglot.parse_one(statement, read="postgres")
        except (SqlglotError, RecursionError):
            return False
        if not isinstance(tree, exp.Select):
            return False
        names = output_names(tree)
        if names is not None:
            if tuple(names) != row:
                return False
            continue
        source = tree.args.get("from_")
        if (
            len(tree.expressions) != 1
            or tree.args.get("joins")
            or source is None
            or not isinstance(source.this, exp.Table)
        ):
            return False
        qualifier = tree.expressions[0].args.get("table")
        table = source.this
        if qualifier is not None and identifier_name(qualifier) not in (
            table.alias_or_name,
            identifier_name(table.this),
        ):
            return False
        alias = table.args.get("alias")
        if alias is not None and alias.columns:
            return False  # `t AS a(x, y)` renames by position
        found = orders.get(identifier_name(table.this))
        if not found or any(columns != row for columns in found):
            return False
    return True


def namesake_views(old: ViewInfo, new: ViewInfo) -> ViewInfo:
    """One name, two views (in two schemas, or one replacing the other): read as the rows of
    both, pinned only if both pass their tenant column through; with different column lists,
    positions differ: read so that nothing pins it."""
    if old.columns == new.columns:
        return ViewInfo(f"({old.query}) UNION ALL ({new.query})", new.columns)
    return ViewInfo(
        f"SELECT * FROM ({old.query}) AS {_aliased('a', old)} "
        f"UNION ALL SELECT * FROM ({new.query}) AS {_aliased('b', new)}",
        None,
    )


def _aliased(alias: str, view: ViewInfo) -> str:
    if not view.columns:
        return alias
    return f"{alias}({', '.join(_quote_name(c) for c in view.columns)})"


def _quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# the types a domain may stand on for a cast to it to be exact (see values.py's _EXACT)
_EXACT_BASES = frozenset({"int2", "int4", "int8", "numeric", "text", "varchar", "uuid"})
# collations of PostgreSQL's own whose `=` compares bytes (values.py's _DETERMINISTIC_COLLATIONS)
_BYTE_COLLATIONS = frozenset({"C", "POSIX", "default", "ucs_basic"})


def _domain_base(type_name: Any, collate: Any) -> tuple[str, str]:
    """A domain's base type as (schema or "", name); name "?" when no cast to the domain can
    be exact whatever the type: a length, precision or array, SETOF or %TYPE, or a COLLATE
    of a collation not PostgreSQL's own deterministic one."""
    if collate is not None:
        collation = list(_strings(collate.collname))
        if (
            not collation
            or collation[-1] not in _BYTE_COLLATIONS
            or collation[:-1] not in ([], ["pg_catalog"])
        ):
            return "", "?"
    names = list(_strings(getattr(type_name, "names", None) or ()))
    if (
        not names
        or len(names) > 2
        or getattr(type_name, "typmods", None)
        or getattr(type_name, "arrayBounds", None)
        or getattr(type_name, "setof", False)
        or getattr(type_name, "pct_type", False)
    ):
        return "", "?"
    return (names[0] if len(names) == 2 else ""), names[-1]


def _schema_of(names: Any) -> str:
    """The schema of a function's qualified name; unqualified is the default `public`."""
    return str(names[-2].sval) if len(names) > 1 else "public"


def _expands_rows(node: Any) -> bool:
    """Does a query expand a row value (`(x).*`) or read a function's rows in FROM?"""
    if _nodes_named(node, "RangeFunction", inside=False):
        return True
    return any(
        any(type(i).__name__ == "A_Star" for i in indirection.indirection or ())
        for indirection in _nodes_named(node, "A_Indirection", inside=True)
    )


def _relations_read(node: Any) -> set[str]:
    """The names of every relation a query reads (FROM items, joins, subqueries, CTEs, set
    operations, sublinks), found by walking pglast's node tree."""
    from pglast.ast import Node

    names: set[str] = set()
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple | list):
            stack.extend(current)
        elif isinstance(current, Node):
            if type(current).__name__ == "RangeVar":
                names.add(_relname(current))
                continue
            stack.extend(getattr(current, f) for f in current if getattr(current, f) is not None)
    return names


def _parsed(query: str) -> Any:
    """A view's query (as the reader printed it) as pglast's tree."""
    import pglast

    return pglast.parse_sql(query)[0].stmt


def _body_trees(body: list[str]) -> list[Any] | None:
    """A view's query or a bound function's statements as pglast's trees (`RETURN x` as
    `SELECT x`); None when one does not parse so."""
    from pglast.parser import ParseError

    trees = []
    for statement in body:
        text = (
            "SELECT " + statement[len("RETURN") :] if statement.startswith("RETURN") else statement
        )
        try:
            trees.append(_parsed(text))
        except (ParseError, IndexError):
            return None
    return trees


def _ordered_outputs(query: str) -> list[str] | None:
    """The names a view's query gives its columns, in order (its first branch's), or None
    where a `*` hides them."""
    trees = _body_trees([query])
    if trees is None:
        return None
    select = trees[0]
    while getattr(select, "larg", None) is not None:
        select = select.larg
    names = []
    for target in getattr(select, "targetList", None) or ():
        value = target.val
        if type(value).__name__ == "ColumnRef" and any(
            type(f).__name__ == "A_Star" for f in value.fields or ()
        ):
            return None
        names.append(_output_name(target) or "?column?")
    return names or None


def _named_outputs(query: str) -> set[str]:
    """The names a view's query gives its columns where it names them (its first branch's;
    a `*` among them left out)."""
    trees = _body_trees([query])
    if trees is None:
        return set()
    select = trees[0]
    while getattr(select, "larg", None) is not None:
        select = select.larg
    return {
        name
        for target in getattr(select, "targetList", None) or ()
        if (name := _output_name(target))
    }


def _body_texts(body: list[str], trees: list[Any]) -> list[str]:
    """The statements `_body_trees` read, printed again from their (rewritten) trees."""
    from pglast.stream import RawStream

    return [
        "RETURN " + RawStream()(tree)[len("SELECT ") :]
        if s.startswith("RETURN")
        else RawStream()(tree)
        for s, tree in zip(body, trees, strict=True)
    ]


def _called_or_cast(tree: Any) -> set[str]:
    """The functions an expression calls, and the types it casts to (`::name`: a domain's
    CHECK runs on the value)."""
    called = {str(c.funcname[-1].sval) for c in _calls(tree)}
    for cast in _nodes_named(tree, "TypeCast", inside=True):
        if cast.typeName is not None:
            called.add("::" + _type_key(cast.typeName).rstrip("[]"))
    return called


def _row_calls(tree: Any) -> set[str]:
    """Each call of an expression on the row written, spelled `f(a,,b)`: an argument that is a
    column of the row (`a`, `NEW.a`) by its name, any other argument empty. Beside the names
    `_called_or_cast` gives: a function pinned by its parameters, called only with the row's
    own tenant column there, reads the rows of the tenant the write is pinned to (round 15)."""
    out = set()
    for call in _calls(tree):
        spelled = []
        for argument in call.args or ():
            fields = [str(getattr(f, "sval", "")) for f in getattr(argument, "fields", None) or ()]
            if type(argument).__name__ != "ColumnRef" or not fields or not all(fields):
                spelled.append("")
            elif len(fields) == 1:
                spelled.append(fields[0])
            elif len(fields) == 2 and fields[0].lower() in ("new", "old"):
                spelled.append(fields[1])
            else:
                spelled.append("")
        if call.agg_star or call.agg_distinct or call.func_variadic or call.over is not None:
            spelled = ["*"]
        out.add(f"{call.funcname[-1].sval}({','.join(spelled)})")
    return out


def _calls(node: Any) -> list[Any]:
    """Every function call of a tree (FuncCall), at any depth."""
    return _nodes_named(node, "FuncCall", inside=True)


def _range_vars(node: Any) -> list[Any]:
    """Every relation a tree names (RangeVar), at any depth."""
    return _nodes_named(node, "RangeVar", inside=False)


def _nodes_named(node: Any, name: str, *, inside: bool) -> list[Any]:
    """The nodes of a tree of that type name, at any depth (`inside`: those within them too)."""
    from pglast.ast import Node

    found = []
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple | list):
            stack.extend(current)
        elif isinstance(current, Node):
            if type(current).__name__ == name:
                found.append(current)
                if not inside:
                    continue
            stack.extend(getattr(current, f) for f in current if getattr(current, f) is not None)
    return found


def _cte_names(node: Any) -> set[str]:
    """The names of the CTEs a tree defines, at any depth."""
    from pglast.ast import Node

    names: set[str] = set()
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple | list):
            stack.extend(current)
        elif isinstance(current, Node):
            if type(current).__name__ == "CommonTableExpr":
                names.add(str(getattr(current, "ctename", "")))
            stack.extend(getattr(current, f) for f in current if getattr(current, f) is not None)
    return names


def _output_name(target: Any) -> str | None:
    """The name PostgreSQL gives a select list item: its alias, a column's or a call's name."""
    if target.name:
        return str(target.name)
    value = target.val
    kind = type(value).__name__
    if kind == "ColumnRef":
        fields = list(value.fields or ())
        return (str(getattr(fields[-1], "sval", "")) or None) if fields else None
    if kind == "FuncCall" and value.funcname:
        return str(value.funcname[-1].sval)
    return None


def _star(item: Any) -> bool:
    return type(item).__name__ == "ColumnRef" and any(
        type(f).__name__ == "A_Star" for f in item.fields or ()
    )


def _type_key(type_name: Any) -> str:
    """A parameter's type as a signature compares it: `bigint` and `int8` alike."""
    names = getattr(type_name, "names", None) or ()
    base = str(names[-1].sval) if names else "?"
    return base + "[]" * len(getattr(type_name, "arrayBounds", None) or ())


def namesake_functions(old: FunctionInfo | None, new: FunctionInfo) -> FunctionInfo:
    """Several functions under one name (overloads, or in two schemas), which is all a call
    shows: read as one function
    whose body cannot be read (naming a tenant table hands out every tenant's rows)."""
    parts = [part for f in (old, new) if f is not None for part in (*f.body, f.opaque) if part]
    columns = None
    if old is not None and old.columns is not None and new.columns is not None:
        columns = old.columns | new.columns
    # every body readable: kept, so that whether a pin from outside selects rows can be shown
    readable = old is not None and (not old.opaque or old.overloads) and not new.opaque
    body = [*old.body, *new.body] if readable and old is not None else []
    outputs = new.outputs if old is not None and old.outputs == new.outputs else ()
    inlined = (old is not None and old.inlined) or new.inlined  # a call may run either
    cheap = (old is not None and old.cheap) or new.cheap
    return FunctionInfo(
        body,
        "\n".join(parts),
        [],
        columns,
        outputs=outputs,
        overloads=readable,
        inlined=inlined,
        cheap=cheap,
        returned=_returned_of_namesakes(old, new),
    )


def _strings(nodes: Any) -> Iterable[str]:
    for node in nodes or ():
        value = getattr(node, "sval", None)
        if value is not None:
            yield str(value)


def _flatten(nodes: Any) -> list[Any]:
    out: list[Any] = []
    stack = [nodes]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple | list):
            stack.extend(reversed(current))
        elif current is not None:
            out.append(current)
    return out


def _last_name(qualified: str) -> str:
    """The last part of a possibly schema-qualified name, folded like PostgreSQL folds it."""
    name = re.split(r"\s*\.\s*(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", qualified)[-1]
    return clip_name(name[1:-1].replace('""', '"')) if name.startswith('"') else fold_name(name)


_UNDO_MARKER = lazy_pattern(
    r"^[ \t]*--[ \t]*(?:\+goose[ \t]+|\+migrate[ \t]+|migrate:)(up|down)\b",
    re.IGNORECASE | re.MULTILINE,
)
# undo scripts: diesel's and golang-migrate's `down.sql`, flyway's `U1__…`, sqitch's `revert/`
_UNDO_FILE = lazy_pattern(r"(?:^|\.)down\.sql$|^U\d[\w.]*__.*\.sql$", re.IGNORECASE)


def is_undo_script(path: Path) -> bool:
    """Whether a schema file undoes a migration (it describes no schema the app runs on)."""
    return bool(_UNDO_FILE.search(path.name)) or path.parent.name.lower() == "revert"


def _undo_free(text: str) -> str:
    """The text without the undo sections of a migration file (from a down marker to the next
    up marker or the end), kept as blank space: positions stay."""
    if "migrate" not in text.lower() and "goose" not in text.lower():
        return text
    out: list[str] = []
    position = 0
    down_from: int | None = None
    for marker in _UNDO_MARKER.finditer(text):
        down = marker.group(1).lower() == "down"
        if down and down_from is None:
            out.append(text[position : marker.start()])
            down_from = marker.start()
        elif not down and down_from is not None:
            out.append(re.sub(r"[^\n]", " ", text[down_from : marker.start()]))
            position, down_from = marker.start(), None
    if down_from is None:
        out.append(text[position:])
    else:
        out.append(re.sub(r"[^\n]", " ", text[down_from:]))
    return "".join(out)


# functions of a migration that undo it, by name: alembic's `downgrade()`, the `up()`/`down()`
# and `forwards()`/`backwards()` of hand-written runners, `rollback`, `revert`, `undo`…
_ROLLBACK_NAME = lazy_pattern(
    r"(?:down(?:grade)?|backwards?|rollback|revert|undo|unapply|unmigrate|reverse)(?:_|\d|$)",
    re.IGNORECASE,
)


def constant_folds(tree: Any) -> tuple[dict[int, str], set[int]]:
    """Constant strings joined by `+` in a module (`"CREATE TABLE t (" + COLUMNS + ")"`, its
    operands string literals, f-strings without fields, parenthesised `+`, and names of module
    constants so made): the text of each outermost such `+` (by node id), and the ids of the
    nodes that text stands for — its operands, and the value of a module constant that only
    such folds read (read elsewhere too, it is a string of its own as well)."""
    import ast

    stores: dict[str, int] = {}
    loads: dict[str, list[Any]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store | ast.Del):
                stores[node.id] = stores.get(node.id, 0) + 1
            else:
                loads.setdefault(node.id, []).append(node)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                stores[name] = stores.get(name, 0) + 2  # rebound elsewhere: not a constant
    constants: dict[str, Any] = {}
    for statement in tree.body:
        target: Any = None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target = statement.target
        if isinstance(target, ast.Name) and stores.get(target.id) == 1:
            constants[target.id] = statement.value
    # a class's constant (`_TABLE = "schedules"` in its body, read as `self._TABLE`,
    # `cls._TABLE` or `Store._TABLE`): one of that name in the module, never assigned as an
    # attribute (`self._TABLE = …`) there
    attributes: dict[str, list[Any]] = {}
    assigned: set[str] = set()
    classes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            classes.add(node.name)
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)
                ):
                    attributes.setdefault(statement.targets[0].id, []).append(statement.value)
                elif isinstance(statement, ast.AnnAssign) and isinstance(
                    statement.target, ast.Name
                ):
                    attributes.setdefault(statement.target.id, []).extend([None, None])
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            assigned.add(node.attr)
    class_constants = {
        name: values[0]
        for name, values in attributes.items()
        if len(values) == 1 and name not in assigned
    }

    def fold(node: Any, depth: int = 0) -> str | None:
        if depth > 50:
            return None
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.JoinedStr):
            # `f"CREATE TABLE {self._TABLE} (…)"`: fields of constants, formatted as they are
            pieces: list[str] = []
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    if value.conversion not in (-1, ord("s")) or value.format_spec is not None:
                        return None
                    value = value.value
                piece = fold(value, depth + 1)
                if piece is None:
                    return None
                pieces.append(piece)
            return "".join(pieces)
        if isinstance(node, ast.Name) and node.id in constants:
            return fold(constants[node.id], depth + 1)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id in ("self", "cls") or node.value.id in classes)
            and node.attr in class_constants
        ):
            return fold(class_constants[node.attr], depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = fold(node.left, depth + 1), fold(node.right, depth + 1)
            return None if left is None or right is None else left + right
        return None

    folds: dict[int, str] = {}
    inside: set[int] = set()
    names_in_folds: set[int] = set()
    for node in ast.walk(tree):  # outer before inner
        if id(node) in inside or not (
            (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add))
            or (
                isinstance(node, ast.JoinedStr)
                and any(isinstance(v, ast.FormattedValue) for v in node.values)
            )
        ):
            continue
        text = fold(node)
        if text is None:
            continue
        folds[id(node)] = text
        for child in ast.walk(node):
            if child is not node:
                inside.add(id(child))
            if isinstance(child, ast.Name):
                names_in_folds.add(id(child))
    for name, value in constants.items():
        uses = loads.get(name, [])
        if uses and all(id(u) in names_in_folds for u in uses) and fold(value) is not None:
            inside.add(id(value))
            inside.update(id(child) for child in ast.walk(value))
    return folds, inside


def _forward(tree: Any) -> Iterator[Any]:
    """The nodes of a Python migration that move the schema forward, in source order: not
    a function that undoes it (`_ROLLBACK_NAME`: alembic's `downgrade()`, `down()`,
    `backwards()`…, or one Django's RunPython is given as its reverse), Django's `reverse_sql`
    (RunSQL's second argument) or yoyo's rollback (`step(apply, rollback)`)."""
    import ast

    reverse_code = {
        argument.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _called(node) == "RunPython"
        for argument in [
            *node.args[1:2],
            *(k.value for k in node.keywords if k.arg == "reverse_code"),
        ]
        if isinstance(argument, ast.Name)
    }
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            _ROLLBACK_NAME.match(node.name.lstrip("_")) or node.name in reverse_code
        ):
            continue
        yield node
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.Call):
            skipped = {id(k) for k in node.keywords if k.arg in ("reverse_sql", "rollback")}
            if _called(node) in ("RunSQL", "step"):
                skipped |= {id(a) for a in node.args[1:]}
            children = [c for c in children if id(c) not in skipped]
        stack.extend(reversed(children))


def _psql_free(text: str) -> str:
    """The text without psql meta-commands (kept as blank space: positions stay), with
    `:'var'` read as a string and `:"var"` as a name."""
    if "\\" in text:
        text = _META_COMMAND.sub(lambda m: " " * len(m.group(0)), text)
    if ":'" in text or ':"' in text:
        text = _PSQL_VARIABLE.sub(lambda m: f" {m.group(1)}{m.group(2)}{m.group(1)}", text)
    return text


_FORMAT_CALL = lazy_pattern(r"\bformat\s*\(\s*'$", re.IGNORECASE)
_FORMAT_ARGUMENTS = lazy_pattern(r"\s*((?:,\s*'(?:[^']|'')*'\s*)*)\)")
_FORMAT_SPEC = lazy_pattern(r"%(?:(\d+)\$)?([sIL%])")


def _formatted(text: str, start: int, body: str) -> str | None:
    """The statement `format('…', 'a', …)` makes, when the DDL at `start` opens the string
    that is format()'s first argument and every other argument is a string constant:
    `%s` the argument, `%I` it quoted as an identifier, `%L` as a literal. None for anything
    else (a width, a flag, an argument that is not a constant)."""
    if not _FORMAT_CALL.search(text, max(0, start - 40), start):
        return None
    end = start + len(body) + body.count("'") + 1  # the closing quote (`''` read as `'`)
    if end > len(text) or text[end - 1] != "'":
        return None
    tail = _FORMAT_ARGUMENTS.match(text, end)
    if tail is None:
        return None
    arguments: list[str] = [
        a.replace("''", "'") for a in re.findall(r"'((?:[^']|'')*)'", tail.group(1))
    ]
    position = 0

    def spell(match: re.Match[str]) -> str:
        nonlocal position
        kind = match.group(2)
        if kind == "%":
            return "%"
        index = int(match.group(1)) - 1 if match.group(1) else position
        position = index + 1
        if not 0 <= index < len(arguments) or "\\" in arguments[index]:
            raise ValueError(match.group(0))
        value: str = arguments[index]
        if kind == "I":
            return '"' + value.replace('"', '""') + '"'
        if kind == "L":
            return "'" + value.replace("'", "''") + "'"
        return value

    if re.search(r"%(?!(?:\d+\$)?[sIL])", body.replace("%%", "")):
        return None  # a width or a flag: not followed
    try:
        return _FORMAT_SPEC.sub(spell, body)
    except ValueError:
        return None


def _string_body(text: str) -> str:
    """The rest of a '…' string literal that `text` starts inside of, `''` read as `'`."""
    out: list[str] = []
    position = 0
    while True:
        quote = text.find("'", position)
        if quote < 0:
            return ""  # never closes: not a statement
        out.append(text[position:quote])
        if text.startswith("''", quote):
            out.append("'")
            position = quote + 2
            continue
        return "".join(out)


def _output_columns(query: str) -> set[str] | None:
    """The names a query outputs, or None when a `*` or an expression hides them."""
    try:
        tree = sqlglot.parse_one(query, read="postgres")
    except (SqlglotError, RecursionError):
        return None
    if not isinstance(tree, exp.Select):
        return None
    names: set[str] = set()
    for item in tree.expressions:
        if isinstance(item, exp.Alias):
            names.add(identifier_name(item.args.get("alias")))
        elif isinstance(item, exp.Column) and not isinstance(item.this, exp.Star):
            names.add(identifier_name(item.this))
        else:
            return None
    return names


_WORDS = lazy_pattern(r"[a-z_][a-z0-9_$]*")


# batch operations (`batch_op.create_foreign_key(name, referent, local, remote)`): where the
# table goes among the arguments of the operation `op.` makes of it
_BATCH_TABLE_AT = {
    "create_foreign_key": 1, "add_column": 0, "drop_column": 0, "alter_column": 0,
    "create_unique_constraint": 1, "drop_constraint": 1,
}  # fmt: skip


def _first_text(call: Any, keyword: str) -> str | None:
    """A call's first argument (or that keyword's) when it is a string literal."""
    import ast

    given = (
        call.args[0]
        if call.args
        else next((k.value for k in call.keywords if k.arg == keyword), None)
    )
    return given.value if isinstance(given, ast.Constant) and isinstance(given.value, str) else None


# alembic operations' keyword names, in the order of their positional arguments
_ALEMBIC_KEYWORDS = {
    "add_column": ("table_name", "column"),
    "create_table": ("table_name",),
    "drop_table": ("table_name",),
}


# alembic operations and the positions of the table names they take
_ALEMBIC_TABLES = {
    "create_table": (0,), "add_column": (0,), "drop_table": (0,), "batch_alter_table": (0,),
    "create_foreign_key": (1, 2), "create_unique_constraint": (1,), "create_primary_key": (1,),
}  # fmt: skip


def _unread_alembic_table(call: Any, batches: dict[str, str]) -> str | None:
    """The source of a table name an alembic operation (on `op`, or a batch) is given that is
    no string literal, if any."""
    import ast

    func = call.func
    receiver = func.value.id if isinstance(func.value, ast.Name) else None
    positions = _ALEMBIC_TABLES.get(func.attr)
    if positions is None or (receiver != "op" and receiver not in batches):
        return None
    for at in positions:
        if at < len(call.args):
            given = call.args[at]
            if isinstance(given, ast.Starred):
                return ast.unparse(given)
            if not (isinstance(given, ast.Constant) and isinstance(given.value, str)):
                return ast.unparse(given)
    return None


# alembic operations whose arguments after the table are columns (and a table's constraints)
_ALEMBIC_COLUMNS = frozenset({"create_table", "add_column"})
_COLUMN_DEPTH = 8  # lists and helpers followed, one inside the other


class _ModuleColumns:
    """The columns a migration gives an alembic operation through its module's names: a list
    (`*COMMON`, `COMMON + [...]`), a function returning columns (`*tenant_columns()`,
    `owner_column()`), a column kept in a name (helper 116: the tenant column so given was not
    seen, the table read as no tenant table)."""

    def __init__(self, tree: Any) -> None:
        import ast

        self.values: dict[str, Any] = {}
        self.functions: dict[str, Any] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    self.values[target.id] = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if node.value is not None:
                    self.values[node.target.id] = node.value
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions[node.name] = node
        # a name bound twice at the top (or in a loop, a branch) is not one value
        counts: dict[str, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                counts[node.id] = counts.get(node.id, 0) + 1
        self.values = {k: v for k, v in self.values.items() if counts.get(k) == 1}

    def expanded(self, call: Any) -> tuple[Any, str | None]:
        """The call (`create_table` / `add_column` of a table named by a literal, on any
        receiver, as the schema reader reads them) with its columns written out, and the
        source of the first that cannot be (None when all can)."""
        import ast

        func = call.func
        first = call.args[0] if call.args else None
        if func.attr not in _ALEMBIC_COLUMNS or not (
            isinstance(first, ast.Constant) and isinstance(first.value, str)
        ):  # a table named at run time: said by _unread_alembic_table
            return call, None
        out: list[Any] = [first]
        for argument in call.args[1:]:
            if isinstance(argument, ast.Starred):
                found = self._items(argument, 0)
                if found is None:
                    return call, ast.unparse(argument)
                out.extend(found)
                continue
            single = self._column(argument, 0)
            if single is None:
                return call, ast.unparse(argument)
            out.append(single)
        return ast.Call(func, out, call.keywords), None

    def _column(self, node: Any, depth: int) -> Any:
        """The construct a column argument stands for, or None when it cannot be read."""
        import ast

        if depth > _COLUMN_DEPTH:
            return None
        if isinstance(node, ast.Name) and node.id in self.values:
            return self._column(self.values[node.id], depth + 1)
        if isinstance(node, ast.Call):
            called = _called(node)
            if isinstance(node.func, ast.Name) and called in self.functions:
                returned = self._returned(called)
                return None if returned is None else self._column(returned, depth + 1)
            if called[:1].isupper():  # `sa.Column(…)`, `UniqueConstraint(…)`: a construct
                return node
        return None

    def _items(self, node: Any, depth: int) -> list[Any] | None:
        """The items a sequence unpacked into the call holds, or None."""
        import ast

        if depth > _COLUMN_DEPTH:
            return None
        if isinstance(node, ast.Starred):
            return self._items(node.value, depth + 1)
        if isinstance(node, ast.List | ast.Tuple):
            out: list[Any] = []
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    inner = self._items(element.value, depth + 1)
                    if inner is None:
                        return None
                    out.extend(inner)
                    continue
                single = self._column(element, depth + 1)
                if single is None:
                    return None
                out.append(single)
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._items(node.left, depth + 1), self._items(node.right, depth + 1)
            return None if left is None or right is None else left + right
        if isinstance(node, ast.Name) and node.id in self.values:
            return self._items(self.values[node.id], depth + 1)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in self.functions:
                returned = self._returned(node.func.id)
                return None if returned is None else self._items(returned, depth + 1)
            if node.func.id in ("list", "tuple") and len(node.args) == 1 and not node.keywords:
                return self._items(node.args[0], depth + 1)
        return None

    def _returned(self, name: str) -> Any:
        """What a function of the module returns, when it has one `return` (else None)."""
        import ast

        returns = [
            n for n in ast.walk(self.functions[name]) if isinstance(n, ast.Return) and n.value
        ]
        return returns[0].value if len(returns) == 1 else None


def _alembic_call(call: Any, batches: dict[str, str]) -> Any:
    """An alembic call as `op.` makes it: its keyword arguments put in their places (helper
    115: `op.add_column(table_name=…, column=…)`), a batch operation's with its table."""
    import ast

    names = _ALEMBIC_KEYWORDS.get(call.func.attr)
    if names and len(call.args) < len(names):
        given = {k.arg: k.value for k in call.keywords if k.arg in names}
        if given:
            arguments = list(call.args)
            for name in names[len(arguments) :]:
                if name not in given:
                    break
                arguments.append(given[name])
            rest = [k for k in call.keywords if k.arg not in names[: len(arguments)]]
            call = ast.Call(call.func, arguments, rest)
    func = call.func
    table = batches.get(func.value.id) if isinstance(func.value, ast.Name) else None
    at = _BATCH_TABLE_AT.get(func.attr)
    if table is None or at is None:
        return call
    arguments = list(call.args)
    arguments.insert(min(at, len(arguments)), ast.Constant(table))
    return ast.Call(func, arguments, call.keywords)


def _qualified_parameters(statement: str, function: str, parameters: list[str]) -> str:
    """The statement of a function's body with each parameter it names qualified by the
    function's name (`notes_of.tenant_id`, as PostgreSQL allows where a column has the
    parameter's name) written as its position (`$1`): a pin by it is a pin by the argument
    (helper 109: read as a column, a false alarm). Left as it is when the function's name is
    also used otherwise there (a table's alias of that name, a recursive call)."""
    if function.lower() not in statement.lower():
        return statement
    name = re.escape(function)
    if re.search(rf'(?<![\w$."]){name}(?![\w$])(?!\s*\.)', statement, re.IGNORECASE):
        return statement
    positions = {p.lower(): i for i, p in reversed(list(enumerate(parameters))) if p}

    def position(match: re.Match[str]) -> str:
        index = positions.get(match.group(1).lower())
        return match.group(0) if index is None else f"${index + 1}"

    return re.sub(
        rf'(?<![\w$."]){name}\s*\.\s*([a-z_][\w$]*)(?![\w$])',
        position,
        statement,
        flags=re.IGNORECASE,
    )


def _block_labels(tree: Any) -> list[str]:
    """The labels of a PL/pgSQL body's blocks (`<<blk>> DECLARE … BEGIN … END`)."""
    found: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            label = node.get("label")
            if isinstance(label, str) and label and label not in found:
                found.append(label)
            stack.extend(v for v in node.values() if isinstance(v, list | dict))
    return found


def _aliases_any(query: str, labels: list[str]) -> bool:
    """Whether a query names a table or alias like one of the labels (then `x.col` may be
    the table's column: left as it is)."""
    return any(
        re.search(rf"\b(?:from|join|as|,)\s+(?:\w+\s+)?{re.escape(label)}\b", query, re.IGNORECASE)
        for label in labels
    )


def _shadowed_trigger_names(tree: Any) -> set[str]:
    """The trigger's names (`tg_table_name`, `tg_argv`…) a PL/pgSQL function declares itself
    (a variable, a parameter) or reads outside a trigger function: there they hold any value,
    and dynamic SQL built from them names any table (helper 109)."""
    try:
        datums = tree[0]["PLpgSQL_function"]["datums"]
    except (LookupError, TypeError):
        return set()
    names = [(next(iter(d.values())), d) for d in datums if isinstance(d, dict) and d]
    trigger = any(v.get("refname") == "tg_op" and "lineno" not in v for v, _ in names)
    return {
        str(v.get("refname"))
        for v, _ in names
        if str(v.get("refname") or "").startswith("tg_") and ("lineno" in v or not trigger)
    }


def _plpgsql_queries(text: str) -> tuple[list[str], str, tuple[tuple[str, str], ...]]:
    """The SQL a PL/pgSQL function runs: its statements and the queries inside its expressions
    (`n := (SELECT …)`, `IF EXISTS (SELECT …)`) as statements the proof can read, the text of
    its dynamic SQL (`EXECUTE …`), which it cannot, and its constants. A body pglast rejects is
    all opaque."""
    import pglast

    try:
        tree = pglast.parse_plpgsql(text)
    except Exception:  # pglast raises its own and PostgreSQL's errors
        return [], text, ()
    queries: list[str] = []
    dynamic: list[str] = []
    shadowed = _shadowed_trigger_names(tree)
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, is_dynamic = stack.pop()
        if isinstance(node, list):
            stack.extend((item, is_dynamic) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key == "PLpgSQL_expr" and isinstance(value, dict):
                query = str(value.get("query", ""))
                if is_dynamic:
                    # `'UPDATE pati' || 'ents …'`, `format('%s%s', 'no', 'tes')`: the literals
                    # read as the one text they make
                    text, escaped = _normalized_dynamic(query)
                    dynamic.append(text)
                    if escaped or _computed_sql(text):  # a table it names may come from anywhere
                        dynamic.append(COMPUTED_SQL)
                    elif shadowed and shadowed & set(_WORDS.findall(query.lower())):
                        # `TG_TABLE_NAME` declared as a variable, `tg_argv` a parameter: a
                        # value, not the trigger's name (helper 109)
                        dynamic.append(COMPUTED_SQL)
                elif value.get("parseMode", 0) == 0:
                    queries.append(query)
                elif "(" in query or _SELECT_WORD.search(query) or _OPERATOR_CHARS.search(query):
                    # a call reads and writes like a query (`IF purge(OLD.id) THEN`, `ok :=
                    # purge(p)`, `RETURN name_of(p)`: round 22), as does a subquery
                    queries.append("SELECT " + _ASSIGNED.sub("", query, count=1))
            elif key in _DYNAMIC_STATEMENTS and isinstance(value, dict):
                # the string they execute is built at run time
                stack.append((value.get("query"), True))
                stack.extend((v, is_dynamic) for k, v in value.items() if k != "query")
            else:
                stack.append((value, is_dynamic or key == "dynquery"))
    labels = _block_labels(tree)
    if labels:
        # `blk.t`: the variable t of the block labelled blk (helper 112: read as a column of
        # a table aliased blk, a false TG001)
        qualified = re.compile(
            r"(?<![\w$.\"])(?:" + "|".join(map(re.escape, labels)) + r")\s*\.\s*(?=[a-z_])",
            re.IGNORECASE,
        )
        queries = [q if _aliases_any(q, labels) else qualified.sub("", q) for q in queries]
    return queries, " ".join(dynamic), _constants(tree)


_JOINED_LITERALS = lazy_pattern(r"'\s*\|\|\s*'")
# a run of operator characters no built-in operator spells (`<<<`, `@@@`, `~>`): a call of
# the function a schema's CREATE OPERATOR names (helper 109: `IF p <<< 0 THEN`)
_OPERATOR_CHARS = lazy_pattern(r"[-+*/<>=~!@#%^&|`?]{3,}|[~!@#%^&|`?][-+*/<>=~!@#%^&|`?]")

# A word put in a function's dynamic-SQL text when that SQL is built at run time from more than
# literals (round 22, helper 98: `format('DELETE FROM %I …', r.tbl)` with the table read from
# data, `concat(…)`, a variable): the tables it reaches cannot be read from the text, so it
# counts as reaching tenant rows unpinned (`reaches_tenant_rows`). Literals, `format` with
# values only (`%L`), `quote_literal(…)`/`quote_nullable(…)` of a value, and the trigger's own
# relation or arguments (`TG_TABLE_NAME`, `TG_ARGV[n]`: read as the trigger's) are not.
COMPUTED_SQL = "tg_sql_built_at_run_time"
_SQL_LITERAL = STRING_LITERAL
_NAME_FORMAT = lazy_pattern(r"%(?:\d+\$)?-?(?:\d+|\*(?:\d+\$)?)?[Is]")
_VALUE_QUOTED = lazy_pattern(
    r"\bquote_(?:literal|nullable)\s*\((?:[^()]|\([^()]*\))*\)", re.IGNORECASE
)  # (one level of parentheses inside: `quote_literal(coalesce(v, ''))`, helper 114)
_TRIGGER_NAMES = lazy_pattern(
    r"\b(?:tg_table_name|tg_table_schema|tg_relname|tg_relid|tg_argv\s*\[\s*\d+\s*\])",
    re.IGNORECASE,
)
_SQL_BUILDING = lazy_pattern(r"'L'|\|\||[\s(),]|::\s*\w+|\b(?:format|quote_ident)\b", re.IGNORECASE)


# dynamic SQL that runs more dynamic SQL: its text is code that builds names at run time
_NESTED_DYNAMIC = lazy_pattern(r"\bEXECUTE\b|\bDO\s*\$|\bDO\s+'|^\s*DO\b", re.IGNORECASE)
# dynamic statements that read and write no table, whatever their values (`SET LOCAL
# app.tenant_id = ` || p, `NOTIFY %I, %L`)
_NO_TABLE_STATEMENT = lazy_pattern(
    r"\s*'\s*(?:SET|RESET|NOTIFY|LISTEN|UNLISTEN|SHOW)\b", re.IGNORECASE
)


def _no_table_statement(expression: str, first: str) -> bool:
    """A dynamic statement that reads and writes no table whatever its values: its text starts
    with a literal `SET …`, `NOTIFY …` (or is `format` of one), joined to nothing but values —
    literals, variables, parameters, `quote_literal(…)`, `quote_ident(…)`, casts. Any other
    call may make it another statement (helper 109: `replace('SET x', 'SET x', 'DELETE …')`,
    `'SHOW x' || chr(59) || 'DELETE …'`)."""
    if not _NO_TABLE_STATEMENT.match(first):
        return False
    text = _VALUE_QUOTED.sub("'L'", _SQL_LITERAL.sub("'L'", expression))
    text = _IDENT_QUOTED.sub("'L'", text).strip()
    formatted = _FORMAT_WHOLE.fullmatch(text)
    if formatted is not None:
        # `format('SET x = %L', v)`: each value quoted (%L, %I); `%s` pastes text (helper 112:
        # `format('SET LOCAL x = %s', v)` with v = '1; DELETE FROM notes'), in any spelling
        # (`%*s`, `%1$*2$s`: helper 114)
        if re.search(r"%[^%a-zA-Z]*s", first):
            return False
        text = formatted.group(1).strip()
        # the format string is the one literal (helper 114: `format('SET x = ' || v)`), then
        # its arguments: any value, each quoted by its specifier
        return re.match(r"'L'\s*(?:,|$)", text) is not None and "(" not in text and ")" not in text
    # `'SET LOCAL x = ' || quote_literal(v)`: literals and quoted values only — a variable
    # pasted in is SQL text (helper 112: it ran `1; DELETE FROM notes`)
    return text.startswith("'L'") and re.fullmatch(r"'L'(?:\s*\|\|\s*'L')*", text) is not None


_IDENT_QUOTED = lazy_pattern(r"\bquote_ident\s*\([^()]*\)", re.IGNORECASE)
_FORMAT_WHOLE = lazy_pattern(r"format\s*\((.*)\)", re.IGNORECASE | re.DOTALL)


def _computed_sql(expression: str) -> bool:
    """Is the text of a dynamic statement (`EXECUTE expression`) built from more than
    literals, values and the trigger's own names (see COMPUTED_SQL)? Fail closed: anything
    but a literal, `format` of a literal format string with values only, literals joined by
    `||` with `quote_literal(…)` values, or the trigger's names placed as whole words."""
    literals = [m.group() for m in _SQL_LITERAL.finditer(expression)]
    joined = " ".join(literals)
    if _NESTED_DYNAMIC.search(joined):
        return True  # `'DO $d$ BEGIN EXECUTE …'`: code that runs code (round 22, helper 102)
    if RUNS_TEXT & set(_WORDS.findall(joined.lower())):
        return True  # `'SELECT query_to_xml(%L, …)'`: it runs the text it is given (helper 109)
    if literals and ";" not in joined and _no_table_statement(expression, literals[0]):
        return False  # `SET LOCAL x = ` || v, `format('NOTIFY %I, %L', …)`: no table
    names = any(_NAME_FORMAT.search(literal) for literal in literals)
    text = _SQL_LITERAL.sub("'L'", expression)
    text = _VALUE_QUOTED.sub("'L'", text)
    if (
        not names
        and "||" not in text
        and re.fullmatch(
            r"\s*format\s*\(\s*'L'\s*(?:,[^()]*(?:\([^()]*\)[^()]*)*)?\)\s*", text, re.IGNORECASE
        )
    ):
        return False  # `format('… %L …', v)`: a literal format string, values only
    return bool(_SQL_BUILDING.sub("", _TRIGGER_NAMES.sub("", text)))


def _reaching(policy: Policy) -> AbstractSet[str]:
    """The relations whose writes reach tenant rows: the tenant tables, and those whose
    triggers or rules write tenant rows unpinned (helper 109: dynamic SQL updating such a
    table)."""
    if not policy.hidden_writes:
        return policy.tenant_tables
    return policy.tenant_tables | policy.hidden_writes.keys()


def reaches_tenant_rows(opaque: str, tenant_tables: AbstractSet[str]) -> set[str]:
    """The tenant tables a function's or trigger's opaque text may reach: those it names, and
    when it builds SQL at run time (COMPUTED_SQL), a description of that."""
    named = names_in_text(opaque, tenant_tables) if opaque else set()
    if COMPUTED_SQL in opaque:
        named.add("a table chosen at run time (SQL built from values)")
    return named


_LOOPS = frozenset(
    (
        "PLpgSQL_stmt_loop",
        "PLpgSQL_stmt_while",
        "PLpgSQL_stmt_fori",
        "PLpgSQL_stmt_fors",
        "PLpgSQL_stmt_forc",
        "PLpgSQL_stmt_foreach_a",
        "PLpgSQL_stmt_dynfors",
    )
)


def _returned_queries(text: str) -> tuple[str, ...]:
    """The queries of a PL/pgSQL body's RETURN QUERY statements outside any loop (a loop's
    may read its variables); () for a body pglast rejects (opaque anyway)."""
    import pglast

    try:
        tree = pglast.parse_plpgsql(text)
    except Exception:  # pglast raises its own and PostgreSQL's errors
        return ()
    found: list[str] = []
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, in_loop = stack.pop()
        if isinstance(node, list):
            stack.extend((item, in_loop) for item in node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "PLpgSQL_stmt_return_query" and isinstance(value, dict) and not in_loop:
                    expr = (value.get("query") or {}).get("PLpgSQL_expr") or {}
                    if expr.get("query"):
                        found.append(str(expr["query"]))
                stack.append((value, in_loop or key in _LOOPS))
    return tuple(found)


def _returned_of_namesakes(old: FunctionInfo | None, new: FunctionInfo) -> tuple[str, ...] | None:
    """The returned queries of functions read as one (a SQL function's are all its queries)."""
    if old is None or (old.returned is None and new.returned is None):
        return new.returned
    return (
        *(old.body if old.returned is None else old.returned),
        *(new.body if new.returned is None else new.returned),
    )


def _plpgsql_function(text: str) -> tuple[dict[str, Any], list[Any]] | None:
    """A PL/pgSQL body as pglast reads it: the function and its datums (variables, by number);
    None when pglast rejects it."""
    import pglast

    try:
        tree = pglast.parse_plpgsql(text)
    except Exception:  # pglast raises its own and PostgreSQL's errors
        return None
    function = tree[0].get("PLpgSQL_function", {}) if isinstance(tree, list) and tree else {}
    if not isinstance(function, dict):
        return {}, []
    return function, function.get("datums", [])


_ROW_FIELD_EXPR = lazy_pattern(
    r"\s*(?:(?:new|old)\s*\.\s*(\w+)|coalesce\s*\(\s*(?:new|old)\s*\.\s*(\w+)\s*,"
    r"\s*(?:new|old)\s*\.\s*(\w+)\s*\))\s*",
    re.IGNORECASE,
)


def _row_copies(text: str) -> tuple[tuple[str, str], ...]:
    """A trigger function's variables that only ever hold the row written — a record given
    NEW, OLD or `coalesce(NEW, OLD)` ("row") — or one column of it, `NEW.f`, `OLD.f` or
    `coalesce(NEW.f, OLD.f)` ("field:f"): where declared and in every assignment, never read
    INTO, looped over, or written field by field (round 22, helper 108: `r := coalesce(NEW,
    OLD)` then `WHERE tenant_id = r.tenant_id` was TG005 on every write)."""
    parsed = _plpgsql_function(text)
    if parsed is None:
        return ()
    function, datums = parsed
    names: dict[int, tuple[str, str]] = {}  # number -> (name, "var" | "rec")
    parents: dict[int, int] = {}  # a record field's number -> its record's
    values: dict[int, list[str]] = {}
    for index, datum in enumerate(datums):
        if not isinstance(datum, dict):
            continue
        for kind, key in (("PLpgSQL_var", "var"), ("PLpgSQL_rec", "rec")):
            item = datum.get(kind)
            if isinstance(item, dict):
                names[index] = (str(item.get("refname", "")).lower(), key)
                default = (item.get("default_val") or {}).get("PLpgSQL_expr", {}).get("query")
                if default:
                    values.setdefault(index, []).append(str(default))
        field_ = datum.get("PLpgSQL_recfield")
        if isinstance(field_, dict):
            parents[index] = int(field_.get("recparentno", 0))
    # every number the body mentions, against those its assignments mention as their target:
    # a number mentioned more often is written otherwise too (INTO, a loop, a field)
    mentioned: Counter[int] = Counter()
    assigned: Counter[int] = Counter()
    for key, value in _action_items(function):
        if key == "PLpgSQL_stmt_assign" and isinstance(value, dict):
            number = int(value.get("varno", 0))
            query = (value.get("expr") or {}).get("PLpgSQL_expr", {}).get("query", "")
            assigned[number] += "varno" in value
            if number in parents:
                assigned[number] -= 1  # `r.tenant_id := …`: a write of r, field by field
                mentioned[parents[number]] += 1
            else:
                values.setdefault(number, []).append(_ASSIGNED.sub("", str(query), count=1))
        elif key in ("varno", "dno") and isinstance(value, int) and not isinstance(value, bool):
            mentioned[parents.get(value, value)] += 1
    written = {n for n, count in mentioned.items() if count > assigned[n]}
    found: list[tuple[str, str]] = []
    for number, given in values.items():
        if number in written or number not in names or not given:
            continue
        name, kind = names[number]
        if name in ("new", "old"):
            continue
        if kind == "rec" and all(_ROW_ITSELF.fullmatch(v.strip()) for v in given):
            found.append((name, "row"))
        elif kind == "var":
            fields: set[str] = set()
            for value in given:
                match = _ROW_FIELD_EXPR.fullmatch(value)
                if match is None:
                    break
                parts = {p.lower() for p in match.groups() if p}
                fields |= parts
            else:
                if len(fields) == 1:
                    found.append((name, f"field:{fields.pop()}"))
    return tuple(sorted(found))


def _action_items(function: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of the function's statements, at any depth (each value is walked
    after it is handed out)."""
    stack: list[Any] = [function.get("action")]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                yield key, value
                stack.append(value)


def _assigned_new_fields(text: str) -> set[str]:
    """The fields of the trigger's NEW row a PL/pgSQL function assigns (`NEW.x := …`, `SELECT
    … INTO NEW.x`, `FOREACH NEW.x IN ARRAY …`, `GET DIAGNOSTICS NEW.x = …`), "*" for NEW whole
    (`NEW := …`, `INTO NEW`); "*" too when pglast rejects the body (what it assigns is not
    known) or when it CALLs a procedure (an INOUT argument)."""
    parsed = _plpgsql_function(text)
    if parsed is None:
        return {"*"}
    function, datums = parsed
    new = function.get("new_varno", 0)
    fields: dict[int, str] = {new: "*"}
    for index, datum in enumerate(datums):
        field_ = datum.get("PLpgSQL_recfield") if isinstance(datum, dict) else None
        if isinstance(field_, dict) and field_.get("recparentno", 0) == new:
            fields[index] = str(field_.get("fieldname", "*"))
    assigned: set[str] = set()
    for key, value in _action_items(function):
        if key in _WRITES_BY_NUMBER and isinstance(value, dict):
            # `NEW.x := …`, `FOREACH NEW.x IN ARRAY …`, `GET DIAGNOSTICS NEW.x = …`
            varno = value.get(_WRITES_BY_NUMBER[key], 0)
            if varno in fields:
                assigned.add(fields[varno])
        elif key == "PLpgSQL_stmt_call":
            assigned.add("*")  # an INOUT argument may be NEW or a field of it
        elif key == "fields" and isinstance(value, list):  # an INTO target's row
            for item in value:
                if isinstance(item, dict) and item.get("varno", -1) in fields:
                    assigned.add(fields[item["varno"]])
        elif (
            key == "PLpgSQL_rec"
            and isinstance(value, dict)
            and str(value.get("refname", "")).lower() == "new"
        ):
            assigned.add("*")  # `INTO NEW`
        elif key == "PLpgSQL_stmt_return" and isinstance(value, dict):
            query = (value.get("expr") or {}).get("PLpgSQL_expr", {}).get("query", "")
            if query and not _ROW_ITSELF.fullmatch(str(query).strip()):
                assigned.add("*")  # `RETURN jsonb_populate_record(NEW, …)`: another row
    # `RETURN r` of a record variable (pglast's JSON does not say which variable a RETURN
    # gives): a row built from NEW with other fields is written in NEW's stead (round 21)
    for returned in _RETURNED.findall(text):
        if not _ROW_ITSELF.fullmatch(returned.strip()):
            assigned.add("*")
    return assigned


_RETURNED = lazy_pattern(r"\bRETURN\s+(?!NEXT\b|QUERY\b)([^;]+?)\s*;", re.IGNORECASE)
# what returns the row written itself: NEW, OLD, NULL, or `coalesce(NEW, OLD)` (the same row:
# round 22, helper 106 — a shared INSERT OR DELETE trigger's usual return)
_ROW_ITSELF = lazy_pattern(
    r"\(?\s*(?:new|old|null|coalesce\s*\(\s*(?:new|old)\s*,\s*(?:new|old)\s*\))\s*\)?",
    re.IGNORECASE,
)


# PL/pgSQL statements that write a variable given by number (pglast's JSON leaves out a number
# that is 0: the function's first parameter)
_WRITES_BY_NUMBER = {
    "PLpgSQL_stmt_assign": "varno",
    "PLpgSQL_stmt_foreach_a": "varno",
    "PLpgSQL_diag_item": "target",
    "PLpgSQL_stmt_open": "curvar",
}


def _written_variables(text: str) -> set[str] | None:
    """The names of the variables (parameters among them; `$n` for one without a name) a
    PL/pgSQL body writes — assigns, selects or fetches INTO, loops over, gets diagnostics
    into, or declares again in an inner block (shadowing) — and every parameter when it CALLs
    a procedure (an INOUT argument is written). None when pglast rejects the body."""
    parsed = _plpgsql_function(text)
    if parsed is None:
        return None
    function, datums = parsed
    names = []
    for datum in datums:
        inner: Any = next(iter(datum.values()), {}) if isinstance(datum, dict) and datum else {}
        names.append(str(inner.get("refname", "")).lower() if isinstance(inner, dict) else "")
    written: set[int] = set()
    for key, value in _action_items(function):
        if key in _WRITES_BY_NUMBER and isinstance(value, dict):
            written.add(int(value.get(_WRITES_BY_NUMBER[key], 0)))
        elif key == "PLpgSQL_stmt_call":
            return {n for n in names if n} | {f"${i + 1}" for i in range(len(names))}
        elif key in ("target", "var") and isinstance(value, dict):
            row = value.get("PLpgSQL_row")
            if isinstance(row, dict):  # INTO a, b; FOR a, b IN …
                written.update(
                    int(f.get("varno", 0)) for f in row.get("fields", []) if isinstance(f, dict)
                )
            record = value.get("PLpgSQL_rec")
            if isinstance(record, dict):
                written.add(int(record.get("dno", 0)))
    found = {names[i] for i in written if 0 <= i < len(names)}
    # a name declared twice: an inner block's variable shadows the parameter in its queries
    found.update(n for n in names if n and names.count(n) > 1)
    return found


def _constants(tree: Any) -> tuple[tuple[str, str], ...]:
    """Variables given a value where declared and never written again — no assignment, no
    INTO, no loop over them — nor declared twice (shadowing): (name, the value's expression).

    Every variable number the body mentions anywhere counts as a write (conservative: reads are
    inside query texts, not numbers)."""
    function = tree[0].get("PLpgSQL_function", {}) if isinstance(tree, list) and tree else {}
    datums = function.get("datums", []) if isinstance(function, dict) else []
    mentioned: set[int] = set()
    stack: list[Any] = [function.get("action"), [d for d in datums if "PLpgSQL_var" not in d]]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                is_number = isinstance(value, int) and not isinstance(value, bool)
                if is_number and ("varno" in key or key in ("target", "dno")):
                    mentioned.add(value)
                else:
                    stack.append(value)
    declared: dict[str, int] = {}
    for datum in datums:
        variable = datum.get("PLpgSQL_var") if isinstance(datum, dict) else None
        if isinstance(variable, dict):
            name = str(variable.get("refname", "")).lower()
            declared[name] = declared.get(name, 0) + 1
    found: list[tuple[str, str]] = []
    for index, datum in enumerate(datums):
        variable = datum.get("PLpgSQL_var") if isinstance(datum, dict) else None
        if not isinstance(variable, dict) or index in mentioned:
            continue
        name = str(variable.get("refname", "")).lower()
        value = variable.get("default_val", {}).get("PLpgSQL_expr", {}).get("query")
        if value and declared.get(name) == 1:
            found.append((name, str(value)))
    return tuple(found)


# SQLAlchemy types (lower case) whose `=` folds case, and those that round, pad or truncate
_ALEMBIC_LOOSE = frozenset({"citext"})
_ALEMBIC_LOSSY = frozenset(
    {"float", "real", "double", "double_precision", "char", "nchar", "money"}
)
# alembic operations read as the SQL they send
_ALEMBIC_SQL = frozenset(
    {"rename_table", "alter_column", "drop_constraint", "drop_index", "drop_column"}
)
# the operators a pin is spelled with: `=` (also of IN, ANY, IS NOT DISTINCT FROM), BETWEEN's `<=`
# and `>=`, the containment of one-element arrays
_PINNING = frozenset({"=", "<=", ">=", "<@", "@>"})
_DYNAMIC_STATEMENTS = ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors")


# which views and functions hand out tenant rows


# a plain class: a dataclass costs a fresh process ~1 M instructions to build at import
class Relations:
    """What the views and functions of the schema are to the proof."""

    __slots__ = (
        "by_setting",
        "operators",
        "pinned_by_arguments",
        "renamed",
        "tenant",
        "unpinnable",
    )

    def __init__(self) -> None:
        # read like tenant tables, with their columns if known
        self.tenant: dict[str, set[str] | None] = {}
        # of those, the ones that cannot be pinned from outside: every read is a finding (and why)
        self.unpinnable: dict[str, str] = {}
        # pinned by some of their parameters: a call is pinned when those arguments are
        self.pinned_by_arguments: dict[str, FunctionPins] = {}
        # safe as they are, pinned inside by the tenant setting: read by a query that ran once
        # (a materialized view's), they hand out the rows of that session's tenant — "" when a
        # pin on their tenant column selects the rows, else why none does
        self.by_setting: dict[str, str] = {}
        # the schema's operators whose function reaches tenant rows (hands them out, or is
        # pinned by its arguments — an operator's operands are no pin): symbol -> function
        self.operators: dict[str, str] = {}
        # views pinned from outside by the one column they show the tenant column as, another
        # name (`v (email, org_id) AS SELECT org_id, email …`: `email`), when not unpinnable
        self.renamed: dict[str, str] = {}

    def tenant_names(self) -> dict[str, str]:
        """`renamed`, less the views found unpinnable since (names as written in SQL)."""
        return {
            sql_name(n): sql_name(r) for n, r in self.renamed.items() if n not in self.unpinnable
        }


def tenant_relations(
    views: Mapping[str, ViewInfo],
    functions: Mapping[str, FunctionInfo],
    policy: Policy,
    materialized: Iterable[str] = (),
    stale: Iterable[str] = (),
    *,
    copies: bool = True,
    operators: Iterable[tuple[str, str]] = (),
) -> Relations:
    """Sorts the views and functions of the schema for the proof, to a fixed point (a view of
    a view is read under what the first one turned out to be). `copies`: the schema has
    relations filled by a query that ran once (materialized views, CREATE TABLE … AS, views
    bound to a renamed column): each view and function is then also judged as they read it.

    - A view or function whose every query pins its rows by the tenant expression is safe to
      read as it is.
    - A view whose query passes one source's tenant column through, row by row (the pushdown
      conditions of TG001), is read like a tenant table: a pin on its tenant column is pushed
      into it. One that aggregates, ranks, takes its tenant column from a joined table or pins
      a fixed tenant cannot be pinned from outside: every read of it is a finding.
    - A function whose queries pin their rows by its parameters (or by `$n`) is pinned by the
      arguments given there: `patients_of($1)` is, `patients_of(a.id)` over every `a` is not.
      A parameter named like a column of a relation its text names (of a view: also of the
      relations the view's query names), of a function's output, or of a column
      the body names itself (an alias, `(…) AS x(o)`) is that column in a SQL function: it
      does not count. A PL/pgSQL variable given a pinning value where declared and never written
      again counts like the value.
    - Any other function whose queries read tenant rows hands out every tenant's rows: a tenant
      table (pinned in FROM by its tenant column; called elsewhere, TG006). A body it cannot
      read (dynamic SQL) is opaque: naming a tenant table is enough.
    """
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    # the columns of each relation a body may read: a table's, a view's (and those of the
    # relations its query names: a `*` there hides them), to a fixed point through views
    columns_of: dict[str, set[str]] = {t: set(c) for t, c in policy.table_columns.items()}
    for name, view in views.items():
        columns_of.setdefault(name, set()).update(view.columns or (), _named_outputs(view.query))
    relations = set(columns_of)
    under = {name: names_in_text(view.query, relations) - {name} for name, view in views.items()}
    changed = True
    while changed:
        changed = False
        for name, named in under.items():
            extra = set().union(*(columns_of[r] for r in named)) - columns_of[name]
            if extra:
                columns_of[name] |= extra
                changed = True
    # a set-returning function's output columns (RETURNS TABLE, OUT, INOUT) are columns of a
    # body that reads it, of no other: a body that may name the function (a superset, read in
    # its text) has them shadow its parameters (fp14: another function's `OUT ws` hid `ws`)
    outputs = {name: f.columns for name, f in functions.items() if f.columns}
    shadowing: dict[str, set[str]] = {}
    for name, function in functions.items():
        text = "\n".join((*function.body, function.opaque))
        read = names_in_text(text, outputs.keys()) if outputs else set()
        # a parameter is shadowed by a column of a relation its query reads, of no other
        # (round 15: a typed table's column `w` elsewhere hid every function's `w`)
        tables = names_in_text(text, relations)
        shadowing[name] = set().union(*(columns_of[r] for r in tables), *(outputs[r] for r in read))
    stored = set(materialized)
    # views bound to a column renamed since: read without the tenant setting (a filter inside
    # may be on the old column), and never pinned from outside
    bound = set(stale)
    found = Relations()
    handing_out: set[str] = set()  # functions whose own queries read tenant rows unpinned
    changed = True
    while changed:
        changed = False
        current = policy.replace(  # exact names, quoted so that the policy keeps their case
            tenant_tables={sql_name(t) for t in policy.tenant_tables | found.tenant.keys()},
            unpinnable={**policy.unpinnable, **found.unpinnable},  # loose tables stay
            pinning_functions=found.pinned_by_arguments,
            view_tenant_names=found.tenant_names(),
        )
        once = fixed_tenant_policy(current, found.by_setting)
        for symbol, called in operators:
            if symbol not in found.operators and (
                called in found.tenant
                or called in found.pinned_by_arguments
                or current.is_tenant_table(called)
            ):
                found.operators[symbol] = called
                changed = True
        for name, view in views.items():
            if name in policy.global_tables or found.unpinnable.get(name):
                continue  # (reported at every read already: no verdict is worse)
            # a materialized view's rows are its query's under the setting it was refreshed
            # with: the tenant expression pins nothing there
            reading = once if name in stored or name in bound else current
            # judged again in every pass, under what the views and functions its query reads
            # turned out to be (judged once, a view joining `v_patients` before that view was
            # known passed every tenant's rows: round 20); a verdict only gets worse
            reason = _view_verdict(view, reading, policy.tenant_column)
            if reason == "" and name in bound:
                reason = STALE_VIEW
            if reason and name not in bound and name not in policy.tenant_tables:
                renamed = _renamed_pin(view, reading, policy.tenant_column)
                if renamed is not None:
                    found.renamed[name] = renamed
                    reason = ""
            if name in policy.tenant_tables:  # a table of this name in another schema
                if name not in found.tenant:
                    found.tenant[name] = None  # read as both: the table's columns stay
                    changed = True
                if reason and name not in found.unpinnable:
                    found.unpinnable[name] = reason
                    changed = True
                continue
            if (
                copies
                and reading is current
                and reason != STALE_VIEW
                and not found.unpinnable.get(name)
            ):
                # read by a query that ran once (a materialized view's), under another tenant's
                # setting: safe as it is, or pinned from outside for a request — a copy of it may
                # not be (it reads a view pinned inside by the setting: helper-88)
                fixed = _view_verdict(view, once, policy.tenant_column)
                if (reason is None or (fixed and not reason)) and _setting_pinned(
                    name, fixed, found
                ):
                    changed = True
            if reason is None:
                continue
            if name in found.tenant:
                if reason and name not in found.unpinnable:  # no longer pinnable from outside
                    found.unpinnable[name] = reason
                    changed = True
                continue
            changed = True
            found.tenant[name] = _view_columns(view)
            if reason:
                found.unpinnable[name] = reason
        for name, function in functions.items():
            if name in policy.global_tables:
                continue
            if name in policy.tenant_tables or name in found.tenant:
                # a table of this name in another schema, or a view of this name (read as both),
                # or a function handing out every tenant's rows: judged again whether it can be
                # pinned from outside
                if name not in found.tenant:
                    found.tenant[name] = None
                    changed = True
                if name not in found.unpinnable:  # (at the worst verdict: not judged again)
                    reason = _function_verdict(function, current, policy.tenant_column)
                    if reason:
                        found.unpinnable[name] = reason
                        changed = True
                if (
                    copies
                    and not found.unpinnable.get(name)
                    and _setting_pinned(
                        name, _function_verdict(function, once, policy.tenant_column) or None, found
                    )
                ):
                    changed = True  # pinnable from outside for a request, not in a copy
            if name in handing_out:
                continue
            # a body pinned by its parameter is judged again in each pass too, also when a view
            # of its name made the name a tenant relation (helper-87: `qx($1)` whose body also
            # read `y()`, known to hand out every tenant's rows only after a first pass)
            defined = _columns_defined(function.body)
            parameters = [
                p
                for i, p in enumerate(function.parameters)
                if p
                and i not in function.lossy  # converted first: two tenants' ids may meet
                and p != policy.tenant_column
                and p not in shadowing[name]
                and p not in defined
            ]
            # a function that may set the tenant setting itself reads the tenant it set, not the
            # caller's: the tenant expression pins nothing in it (helper-88)
            own = (
                current.replace(tenant_expressions=())
                if name in policy.setting_functions
                else current
            )
            first = len(own.tenant_expressions)  # the parameters' expressions start there
            pinned_by = own.replace(tenant_expressions=(*own.tenant_expressions, *parameters))
            # a variable set once pins like the value it was set from: the tenant expression,
            # a parameter (that parameter's argument), or a literal (a fixed tenant)
            given: dict[str, str | None] = {}
            for variable, value in function.constants:
                if variable == policy.tenant_column or variable in shadowing[name] | defined:
                    continue
                pin = pin_of(value, pinned_by)
                if pin is None:
                    continue
                if pin.kind == "expression" and isinstance(pin.key, int):
                    given[variable] = pinned_by.tenant_expressions[pin.key]
                elif pin.kind == "literal":
                    given[variable] = None
            if given:
                pinned_by = pinned_by.replace(
                    tenant_expressions=(*pinned_by.tenant_expressions, *given)
                )
            # a word in dynamic SQL is an identifier (folded as PostgreSQL folds it) or a value
            # given to %I or quote_ident (kept as written): either counts
            unpinned = bool(reaches_tenant_rows(function.opaque, _reaching(current)))
            if found.operators and not unpinned:
                # an operator whose function reaches tenant rows (helper 109: `IF p <<< 0`)
                unpinned = bool(
                    operators_in("\n".join((*function.body, function.opaque)), found.operators)
                )
            positions: set[int] = set()
            names: set[str] = set()
            for statement in function.body:
                verdict = analyze_statement(statement, pinned_by)
                if any(f.severity is Severity.ERROR for f in verdict.findings):
                    unpinned = True
                    break
                for pin in verdict.pin_values:
                    if pin.kind == "parameter" and isinstance(pin.key, int) and pin.key >= 1:
                        if pin.key - 1 in function.lossy:
                            unpinned = True  # `$1` of a `real` parameter: no pin
                            continue
                        positions.add(pin.key - 1)
                        if (
                            pin.key - 1 < len(function.parameters)
                            and function.parameters[pin.key - 1]
                        ):
                            names.add(function.parameters[pin.key - 1])
                    elif pin.kind == "expression" and isinstance(pin.key, int) and pin.key >= first:
                        label: str | None = pinned_by.tenant_expressions[pin.key]
                        if label in given:  # a constant: what it was given from
                            label = given[label]
                            if label is None:
                                unpinned = True  # a fixed tenant, whoever calls it
                                continue
                        if label in function.parameters:
                            positions.add(function.parameters.index(label))
                            names.add(label)
                    elif pin.kind == "literal":
                        unpinned = True  # a fixed tenant, whoever calls it
            if unpinned:
                # (judged pinned by its arguments in an earlier pass, before a view or function
                # its body reads was known to hand out every tenant's rows: round 20)
                handing_out.add(name)
                found.pinned_by_arguments.pop(name, None)
                if name not in found.tenant:
                    found.tenant[name] = function.columns
                elif found.tenant[name] != function.columns:
                    found.tenant[name] = None  # a view's of this name too: either's columns
                reason = _function_verdict(function, current, policy.tenant_column)
                if reason:
                    found.unpinnable[name] = reason
                changed = True
            else:
                if positions:
                    # every position must be given a pin (facts.py): an earlier pass's stay
                    earlier = found.pinned_by_arguments.get(name)
                    pins = FunctionPins(
                        frozenset(positions),
                        frozenset(names),
                        _tenant_defaults_of(function, positions, current),
                    )
                    if earlier is not None:
                        pins = FunctionPins(
                            earlier.positions | pins.positions,
                            earlier.names | pins.names,
                            earlier.defaults & pins.defaults,
                        )
                    if pins != earlier:
                        found.pinned_by_arguments[name] = pins
                        changed = True
                # safe as it is (pinned by the tenant setting, or reading no tenant rows), or
                # pinned by its arguments: in a copy made by another tenant's session, a view or
                # function pinned by the setting that it reads hands out that tenant's rows
                by_arguments = once.replace(tenant_expressions=tuple(parameters))
                if copies and any(
                    f.severity is Severity.ERROR
                    for statement in function.body
                    for f in analyze_statement(statement, by_arguments).findings
                ):
                    copied = _function_verdict(function, once, policy.tenant_column)
                    if (copied or not positions) and _setting_pinned(name, copied, found):
                        changed = True
    return found


def _tenant_defaults_of(
    function: FunctionInfo, positions: set[int], policy: Policy
) -> frozenset[tuple[int, str, int]]:
    """The pinning parameters (`positions`) whose DEFAULT is a tenant expression of `policy`
    (`t uuid DEFAULT current_setting('app.tenant_id')::uuid`): (position, name, the
    expression's index). A call that leaves the argument out is given that expression,
    evaluated in the caller's statement (h32i). A default that is a literal is a fixed tenant,
    a parameter's no value of the call: neither is kept."""
    found: set[tuple[int, str, int]] = set()
    for position, text in function.defaults:
        if position not in positions:
            continue
        pin = pin_of(text, policy)
        if (
            pin is not None
            and pin.kind == "expression"
            and isinstance(pin.key, int)
            and pin.key < len(policy.tenant_expressions)
        ):
            found.add((position, function.parameters[position], pin.key))
    return frozenset(found)


def fixed_tenant_policy(policy: Policy, by_setting: Mapping[str, str]) -> Policy:
    """`policy` for a query that ran once, under whatever tenant setting its session had (a
    materialized view's, a table's filled by a query): the tenant expression pins nothing, and the
    views and functions pinned inside by it (`by_setting`) hand out that one tenant's rows —
    tenant relations, pinned from outside by their tenant column where they pass it through."""
    if not by_setting:
        return policy.replace(tenant_expressions=())
    return policy.replace(
        tenant_expressions=(),
        tenant_tables={sql_name(t) for t in policy.tenant_tables | by_setting.keys()},
        unpinnable={**policy.unpinnable, **{n: r for n, r in by_setting.items() if r}},
    )


def _setting_pinned(name: str, reason: str | None, found: Relations) -> bool:
    """Records that `name`, safe under the tenant setting, reads tenant rows without it
    (`reason`: its verdict then; None: it reads none); True when that is new or worse."""
    if reason is None:
        return False
    earlier = found.by_setting.get(name)
    if earlier is not None and (earlier or not reason):
        return False
    found.by_setting[name] = reason
    return True


def _columns_defined(statements: list[str]) -> set[str]:
    """The names the statements give to columns of their own: aliases, a derived table's or a
    function's alias and column list (`(…) AS x(o)`, `unnest(…) AS o`). In a SQL function such a
    column wins over a parameter of the same name (PL/pgSQL calls the clash an error)."""
    names: set[str] = set()
    for statement in statements:
        try:
            trees = sqlglot.parse(statement, read="postgres")
        except (SqlglotError, RecursionError):
            continue  # the proof reports what it cannot read
        for tree in trees:
            if tree is None:
                continue
            for node in tree.find_all(exp.TableAlias, exp.Alias):
                if isinstance(node, exp.Alias):
                    names.add(identifier_name(node.args.get("alias")))
                    continue
                names.add(identifier_name(node.this))
                names.update(identifier_name(c) for c in node.args.get("columns") or ())
    names.discard("")
    return names


STALE_VIEW = (
    "a column of a table it reads was renamed after it was made, and PostgreSQL keeps the view "
    "on that column under the name it had (its text now names another column, or none): "
    "make it again (CREATE OR REPLACE VIEW) after the rename"
)


def _view_verdict(view: ViewInfo, policy: Policy, column: str) -> str | None:
    """None: safe as it is (pinned inside by the tenant expression, or no tenant rows); "": a
    tenant table, pinned from outside; otherwise why it cannot be pinned from outside."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    verdict = analyze_statement(view.query, policy)
    errors = [f for f in verdict.findings if f.severity is Severity.ERROR]
    fixed = [p for p in verdict.pin_values if p.kind == "literal"]
    if not errors and not fixed:
        return None
    columns = f" AS v({', '.join(_quoted(c) for c in view.columns)})" if view.columns else " AS v"
    wrapped = f"SELECT * FROM ({view.query}){columns} WHERE v.{_quoted(column)} = $1"
    outside = analyze_statement(wrapped, policy)
    blocking = [f for f in outside.findings if f.severity is Severity.ERROR]
    if not blocking:
        return ""
    if fixed:
        return "its query pins a fixed tenant"
    renamed = _renamed_tenant_column(view, column)
    if renamed is not None:
        return (
            f"its query passes {column} through renamed {renamed}, and only a column named "
            f"{column} pins a view from outside: keep the name {column} in the view, or pin "
            "its rows inside it"
        )
    return (
        f"its query does not pass the {column} of the rows it reads through row by row "
        "(it aggregates, ranks, limits, or takes the column from another table)"
    )


def _dearest_pin(column: str) -> str:
    """A pin of `v` TG013 reads as unbounded in cost (a subquery): the probe of whether a
    view's conditions may fail before some pin. (Not `IN ($1)`: PostgreSQL parses it as `=
    $1`, and TG013 costs it so — helper h33m.)"""
    return f"v.{column} = (SELECT $1)"


def failing_views(schema: SchemaInfo, policy: Policy) -> dict[str, float]:
    """The views pinned from outside (`_view_verdict` ""), whose own conditions may fail on a
    row before a dear pin runs (TG013 with a pin read as unbounded in cost, `_dearest_pin`)
    -> the dearest pin known to run first. A read pinned dearer
    (`v.tenant_id::text = $1`, an array, a CASE…) has the view's `100 / (n - 8) <> 0` run on
    every tenant's rows first (round 33). That pin is found by proving the view pinned by
    `v.tenant_id = $1`, then by that parameter cast to bigint once, twice… (each cast costs
    more; TG013 compares the costs as it does for a derived table); the first pin that is not
    proven ends the search (a tenant column of another type: the plain pin's cost)."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity
    from tenantguard.engine.rules.tg013_side_effect_on_unfiltered_rows import condition_cost

    column = _quoted(policy.tenant_column)

    def proven(view: ViewInfo, pin: str, reading: Policy) -> bool | None:
        """True: no finding; False: TG013's; None: another finding."""
        listed = ", ".join(_quoted(c) for c in view.columns or ())
        alias = f"v({listed})" if listed else "v"
        query = f"SELECT * FROM ({view.query}) AS {alias} WHERE {pin}"
        findings = [
            f for f in analyze_statement(query, reading).findings if f.severity is Severity.ERROR
        ]
        if not findings:
            return True
        return False if any(f.code == "TG013" for f in findings) else None

    # what a read runs: a view's query (inlined), a function's queries without parameters
    # (one SELECT of a STABLE or IMMUTABLE SQL function is inlined; any other body runs whole,
    # on every tenant's rows, before the reader's pin: -1, every pin too dear)
    bodies: dict[str, tuple[list[ViewInfo], bool]] = {
        name: ([view], True)
        for name, view in schema.views.items()
        if name not in schema.materialized
    }
    for name, function in schema.functions.items():
        if name in bodies or function.parameters or function.overloads:
            continue
        statements = list(function.body if function.returned is None else function.returned)
        outputs = list(function.outputs) or None
        inlined = (
            function.returned is None
            and len(statements) == 1
            and table_name(sql_name(name)) in policy.stable_functions
        )
        bodies[name] = ([ViewInfo(q, outputs) for q in statements], inlined)
    found: dict[str, float] = {}
    fresh: set[str] | None = None  # found by the last pass (None: no pass yet)
    while fresh is None or fresh:  # a view over such a view is one too, in any order
        reading = policy.replace(failing_views={sql_name(v): c for v, c in found.items()})
        before = set(found)
        for name, (queries, inlined) in bodies.items():
            if (
                name in found
                or (fresh is not None and not _mentions((q.query for q in queries), fresh))
                or not policy.is_tenant_table(table_name(sql_name(name)))
                or policy.unpinnable.get(table_name(sql_name(name)))
                or not any(proven(q, _dearest_pin(column), reading) is False for q in queries)
            ):
                continue
            cost = 0.0 if inlined else -1.0
            for casts in range(8 if inlined else 0):
                pin = f"v.{column} = $1" + "::bigint" * casts
                if proven(queries[0], pin, reading) is not True:
                    break
                parsed = sqlglot.parse_one(pin, read="postgres")
                if isinstance(parsed, exp.Expression):
                    cost = condition_cost(parsed)
            found[name] = cost
        fresh = set(found) - before
    return found


def _mentions(texts: Iterable[str], names: AbstractSet[str]) -> bool:
    """Whether these queries may name one of these relations: a word of theirs is one's table
    name, case folded (a superset: a fixed point re-reads only the bodies a new fact can
    change, whose verdict is otherwise the one it had)."""
    words = {table_name(sql_name(n)).strip('"').lower() for n in names}
    text = " ".join(texts).lower()
    return any(
        re.search(rf"(?<![\w$]){re.escape(word)}(?![\w$])", text)
        if word.isidentifier()
        else word in text
        for word in words
    )


def failing_columns(schema: SchemaInfo, policy: Policy) -> dict[str, set[str]]:
    """The output columns of the views pinned from outside (and of the SQL functions inlined as
    views are) computed by an expression that may fail: TG013 when a reader tests one beside a pin read as unbounded in cost (`WHERE v.r IS
    NULL AND v.tenant_id = (SELECT $1)`), to a fixed point over views of views. A reader's condition on
    one is pushed into the view's scan, where it runs before any pin dearer than the plain one
    (round 33: `WHERE r <> 0 AND workspace_id::text = $1` of a view showing `100 / (points -
    8) AS r`)."""
    column = policy.tenant_column
    found: dict[str, set[str]] = {}
    queries = {name: view for name, view in schema.views.items() if name not in schema.materialized}
    for name, function in schema.functions.items():
        # one SELECT of a STABLE or IMMUTABLE SQL function without parameters: inlined as a
        # view is (its outputs by position)
        if (
            name not in queries
            and not function.parameters
            and not function.overloads
            and function.returned is None
            and len(function.body) == 1
            and table_name(sql_name(name)) in policy.stable_functions
        ):
            queries[name] = ViewInfo(function.body[0], list(function.outputs) or None)
    fresh: set[str] | None = None  # found by the last pass (None: no pass yet)
    while fresh is None or fresh:  # a view over such a view shows them too
        reading = policy.replace(
            failing_columns={sql_name(v): {sql_name(c) for c in cs} for v, cs in found.items()}
        )
        before = set(found)
        for name in sorted(queries.keys() - found.keys()):
            if fresh is None or _mentions([queries[name].query], fresh):
                _failing_columns_of(name, queries[name], reading, column, found)
        fresh = set(found) - before
    return found


def _failing_columns_of(
    name: str, view: ViewInfo, policy: Policy, column: str, found: dict[str, set[str]]
) -> bool:
    """`failing_columns` of one view, into `found`: whether it has some."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    relation = table_name(sql_name(name))
    # (columns unknown, `SELECT *` over another view: those that view's failing ones may be)
    shown = policy.table_columns.get(relation) or set().union(*found.values())
    if not policy.is_tenant_table(relation) or policy.unpinnable.get(relation) or not shown:
        return False
    listed = ", ".join(_quoted(c) for c in view.columns or ())
    alias = f"v({listed})" if listed else "v"

    def tested(names: list[str]) -> bool:
        """TG013 for a test of these columns beside the dearest pin."""
        test = " OR ".join(f"v.{_quoted(n)} IS NULL" for n in names)
        probe = (
            f"SELECT * FROM ({view.query}) AS {alias} WHERE ({test}) "
            f"AND {_dearest_pin(_quoted(column))}"
        )
        return any(
            f.code == "TG013" and f.severity is Severity.ERROR
            for f in analyze_statement(probe, policy).findings
        )

    others = sorted(shown - {column})
    if others and tested(others):  # (one probe for them all first: most views have none)
        found[name] = {n for n in others if tested([n])}
        return True
    return False


def _renamed_pin(view: ViewInfo, policy: Policy, column: str) -> str | None:
    """The name a view shows its one tenant column under when that is another name, and a pin
    on it from outside selects the rows (`CREATE VIEW v (email, org_id) AS SELECT org_id, email
    FROM users`: `v.email = $1`, h32n); None otherwise."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    renamed = _renamed_tenant_column(view, column, kept=True)
    if renamed is None or renamed == column:
        return None
    columns = f" AS v({', '.join(_quoted(c) for c in view.columns)})" if view.columns else " AS v"
    wrapped = f"SELECT * FROM ({view.query}){columns} WHERE v.{_quoted(renamed)} = $1"
    verdict = analyze_statement(wrapped, policy)
    if any(f.severity is Severity.ERROR for f in verdict.findings):
        return None
    return renamed


def filled_tables(
    schema: SchemaInfo, policy: Policy, by_setting: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Tables a query filled when the schema made them (CREATE TABLE … AS, SELECT … INTO,
    with data) whose rows no pin on their tenant column selects: name -> why. Held to the view
    conditions, with one difference: the query ran once, under whatever tenant setting the
    migration had, so the tenant expression pins nothing there."""
    column = policy.tenant_column
    once = fixed_tenant_policy(policy, by_setting or {})
    found: dict[str, str] = {}
    for name, copy in schema.filled.items():
        if name in schema.views:
            continue
        reason = _view_verdict(copy, once, column)
        if reason:
            found[name] = f"it holds rows its query copied once, when the schema made it: {reason}"
    return found


# calls that run SQL given as text (TG006's): a default naming one is read too
_TEXT_RUNNERS = lazy_pattern(r"_to_xml|ts_stat|ts_rewrite|dblink|crosstab|connectby|select")


def leaky_defaults(schema: SchemaInfo, policy: Policy) -> dict[str, dict[str, str]]:
    """Column defaults that read tenant rows they do not pin (a schema function handing out
    every tenant's rows, a subquery): table -> column -> why, names as written in configuration.
    An INSERT that leaves the column out (or writes DEFAULT), an UPDATE that sets it to
    DEFAULT, evaluates it into the row it writes — every tenant's rows copied into it."""
    return _leaky_expressions(schema, schema.defaults, policy)


def _leaky_expressions(
    schema: SchemaInfo, expressions: dict[str, dict[str, str]], policy: Policy
) -> dict[str, dict[str, str]]:
    """`leaky_defaults` of these column expressions (defaults, or generated columns')."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    functions = {f.lower() for f in schema.functions}
    found: dict[str, dict[str, str]] = {}
    for table, defaults in expressions.items():
        for column, text in defaults.items():
            lowered = text.lower()
            words = set(_WORD.findall(lowered))
            if (
                not _TEXT_RUNNERS.search(lowered)
                and not functions & words
                and not words & policy.leaky_types.keys()  # a cast to such a domain
            ):
                continue  # built-ins only (now(), nextval(…), the tenant setting)
            verdict = analyze_statement(f"SELECT {text}", policy)
            errors = [f for f in verdict.findings if f.severity is Severity.ERROR]
            fixed = [p for p in verdict.pin_values if p.kind == "literal"]
            if errors or fixed:
                why = errors[0].message if errors else "it pins a fixed tenant"
                found.setdefault(sql_name(table), {})[sql_name(column)] = f"`{text}`: {why}"
    return found


def leaky_generated(
    schema: SchemaInfo, policy: Policy
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Tables with a stored generated column computed by a call that reads tenant rows it does
    not pin (a schema function, labelled IMMUTABLE or not, handing out every tenant's rows):
    table -> why (every row written holds that data, and keeps it: no pin selects it out), and
    those columns as `leaky_defaults` gives them (an INSERT computes them)."""
    computed = _leaky_expressions(schema, schema.generated_calls, policy)
    found: dict[str, str] = {}
    for table, reads in computed.items():
        column, why = sorted(reads.items())[0]
        found[table] = f"its generated column {column} is computed by {why}"
    return found, computed


def implicit_calls(
    schema: SchemaInfo, policy: Policy
) -> tuple[dict[str, dict[str, str]], dict[str, str], dict[str, str]]:
    """What the functions the server calls unnamed (`SchemaInfo.implicit_calls`,
    `domain_calls`, `aggregate_calls`) do, once the functions that reach tenant rows unpinned
    are known (`policy.unpinnable`, or pinned by arguments the server chooses): the writes that
    run one (relation -> INSERT, UPDATE -> why; a relation's ancestors and descendants too: a
    write of a parent is routed to its partitions, constraints and partitioned indexes are
    inherited), the domains a cast to which runs one, the aggregates that run one."""
    functions = set(schema.functions)
    leaky = {
        name: (
            policy.unpinnable.get(name)
            or "is pinned by its arguments, and the server passes it values of its choosing"
        )
        for name in functions
        if name in policy.unpinnable or name in policy.pinning_functions
    }

    def pinned_by_row(name: str, called: set[str], table: str | None) -> bool:
        """Is every call of `name` (pinned by its parameters) given the written row's own
        tenant column at each of them, on a tenant table (whose writes are pinned)? Then it
        reads the rows of the tenant the write is pinned to: harmless (round 15)."""
        pins = policy.pinning_functions.get(name)
        if table is None or pins is None or name in policy.unpinnable or not pins.positions:
            return False
        if table not in policy.tenant_tables:
            return False
        spelled = [c[len(name) + 1 : -1] for c in called if c.startswith(name + "(")]
        if not spelled:
            return False
        column = policy.tenant_column
        for arguments in spelled:
            given = arguments.split(",")
            if not all(p < len(given) and given[p] == column for p in pins.positions):
                return False
        return True

    def why(called: set[str], domains: Mapping[str, str], table: str | None = None) -> str | None:
        bad = sorted(n for n in called & leaky.keys() if not pinned_by_row(n, called, table))
        if bad:
            reason = leaky[bad[0]]
            return f"calls {bad[0]}, which reaches tenant rows unpinned ({reason})"
        cast = sorted(c[2:] for c in called if c.startswith("::") and c[2:] in domains)
        if cast:
            return f"casts to domain {cast[0]}, whose CHECK {domains[cast[0]]}"
        return None

    # the domains whose CHECK calls such a function or casts to such a domain (a fixed point)
    bad_domains: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for domain, called in schema.domain_calls.items():
            if domain not in bad_domains and (because := why(called, bad_domains)) is not None:
                bad_domains[domain] = because
                changed = True

    writes: dict[str, dict[str, str]] = {}
    when = re.compile(r"^the WHEN of trigger .* \(([A-Z, ]*)\)$")
    for relation, found in schema.implicit_calls.items():
        for what, called in sorted(found.items()):
            because = why(called, bad_domains, relation)
            if because is None:
                continue
            kin = {relation, *schema.descendants(relation), *schema.ancestors(relation)}
            fired = when.match(what)
            if fired is not None:  # a trigger's: its events, on its relation (partitions: clones)
                kinds: tuple[str, ...] = tuple(k for k in fired.group(1).split(", ") if k)
                kin = {relation, *schema.descendants(relation)}
            else:
                kinds = ("INSERT", "UPDATE")
            for table in kin:
                for kind in kinds:
                    writes.setdefault(table, {}).setdefault(kind, f"{what} {because}")
    types = {
        sql_name(domain): f"the CHECK of domain {domain} {because}"
        for domain, because in bad_domains.items()
    }
    aggregates = {
        name: f"aggregate {name} {because}"
        for name, called in schema.aggregate_calls.items()
        if (because := why(called, bad_domains)) is not None
    }
    leaky_domains = set(bad_domains)
    for function, domains in sorted(schema.function_domains.items()):
        bad = sorted(domains & leaky_domains)
        if not bad:
            continue
        because = f"names domain {bad[0]}, whose CHECK {bad_domains[bad[0]]}"
        if function in schema.functions:
            aggregates.setdefault(function, f"function {function} {because}")
        for trigger in schema.triggers:
            if trigger.function == function:
                for kind in trigger_events(schema, trigger):
                    writes.setdefault(trigger.relation, {}).setdefault(
                        kind, f"trigger {trigger.name} (function {function}) {because}"
                    )
    return writes, types, aggregates


def trigger_events(schema: SchemaInfo, trigger: TriggerInfo) -> tuple[str, ...]:
    """The kinds of write that fire `trigger` (`engine.cascades._fired`'s): its events, and
    any UPDATE when its `UPDATE OF` list names a stored generated column — PostgreSQL 15 fires
    it on every UPDATE of the table (measured, h35C: `UPDATE OF g`, g computed from
    phone_number, ran on `SET first_name = …`)."""
    generated = schema.generated.get(trigger.relation)
    if generated and any(
        event.startswith("UPDATE OF ") and event[10:] in generated for event in trigger.events
    ):
        return (*trigger.events, "UPDATE")
    return trigger.events


def view_bases(schema: SchemaInfo) -> dict[str, set[str]]:
    """The relations a write of each (not materialized) view may be a write of: those its
    query's outermost FROM names (an automatically updatable view has one; a view that is not
    cannot be written, but through its own triggers and rules)."""
    from tenantguard.engine.proof import identifier_name

    out: dict[str, set[str]] = {}
    for name, view in schema.views.items():
        if name in schema.materialized:
            continue
        try:
            tree = sqlglot.parse_one(view.query, read="postgres")
        except SqlglotError:
            tree = None
        if not isinstance(tree, exp.Select):
            out[name] = set(names_in_text(view.query, set(schema.columns) | set(schema.views)))
            continue
        found = set()
        sources = [tree.args.get("from_"), *(tree.args.get("joins") or ())]
        for source in sources:
            table = source.this if source is not None else None
            if isinstance(table, exp.Table) and isinstance(table.this, exp.Identifier):
                found.add(identifier_name(table.this))
        out[name] = found
    return out


def through_views(
    schema: SchemaInfo, writes: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """`writes` (relation -> kind -> why: hidden writes, or leaky defaults by column) with each
    view's own beside those of the relations under it (to a fixed point: views of views)."""
    out = {t: dict(k) for t, k in writes.items()}
    bases = view_bases(schema)
    changed = True
    while changed:
        changed = False
        for view, under in bases.items():
            for base in sorted(under):
                for kind_under, why in out.get(base, {}).items():
                    # a trigger of `UPDATE OF note` under it: the view may show note by
                    # another name (`note AS n`: h35C, `UPDATE pv SET n = …` ran it unseen),
                    # so any UPDATE of the view
                    kind = "UPDATE" if kind_under.startswith("UPDATE OF ") else kind_under
                    mine = out.setdefault(view, {})
                    if kind not in mine:
                        mine[kind] = f"{why} (a write of view {view} writes {base})"
                        changed = True
    return out


def hidden_writes(
    schema: SchemaInfo, policy: Policy, seed: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """What a write runs beside itself that reaches tenant rows unpinned: relation -> the kind
    of write (INSERT, UPDATE, DELETE, TRUNCATE) -> what runs and why it is not pinned.

    A trigger's function (PL/pgSQL: its statements; any other language, or dynamic SQL: its
    text naming a tenant table) and a rule's actions are read like the statements of a
    function. On a tenant table, for each row, NEW and OLD are the rows the write changes:
    proven pinned to one tenant, they carry that tenant, so `NEW.tenant_id` (or OLD's) pins
    like the statement's own value — unless a trigger function assigns NEW's tenant column
    (or NEW whole: a row moved to another tenant). A trigger whose function no schema source
    defines (a built-in, an extension's) is not followed. A statement they run fires the
    triggers and rules of what it writes in turn: read to a fixed point."""
    start = {t: dict(k) for t, k in (seed or {}).items()}
    found: dict[str, dict[str, str]] = start
    for _ in range(len(schema.triggers) + len(schema.write_rules) + 1):
        again = _hidden_writes_once(schema, policy.replace(hidden_writes=found), start)
        if again == found:
            break
        found = again
    return found


def _hidden_writes_once(
    schema: SchemaInfo, policy: Policy, start: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """`hidden_writes`, the statements triggers and rules run read under `policy` (whose own
    hidden writes are those the round before found)."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    column = policy.tenant_column
    own = f"new.{sql_name(column)}"
    rows = policy.replace(tenant_expressions=(*policy.tenant_expressions, own))
    pattern = re.compile(
        rf"\b(?i:new|old)\s*\.\s*(?:(?i:{re.escape(column)})\b|\"{re.escape(column)}\")"
        if column == column.lower() and re.fullmatch(r"[a-z_][a-z0-9_$]*", column)
        else rf"\b(?i:new|old)\s*\.\s*\"{re.escape(column)}\""
    )

    def unpinned(
        statements: list[str],
        opaque: str,
        by_row: bool,
        transitions: tuple[str, ...] = (),
        copies: tuple[tuple[str, str], ...] = (),
        relation: str = "",
    ) -> str | None:
        named = reaches_tenant_rows(opaque, _reaching(policy))
        if named:
            return f"its text out of the proof's sight names {', '.join(sorted(named))}"
        # the transition tables of a write of a tenant table hold the rows it wrote: rows of
        # its one tenant, as NEW is (round 22, helper 98: an audit trigger's `INSERT … SELECT
        # n.tenant_id … FROM newrows n` was a finding)
        moved = (
            rows.replace(pinned_relations={sql_name(t): own for t in transitions})
            if transitions
            else rows
        )
        for statement in statements:
            # a table aliased `new` or `old` in the statement (`UPDATE patients AS new …`, with
            # `#variable_conflict use_column` the column wins): NEW is not read there
            plain = _ROW_ALIASED.search(statement) is not None
            if by_row and not plain and relation:
                statement = _row_star_listed(statement, relation, schema)
            text = pattern.sub(own, statement) if by_row and not plain else statement
            if by_row and not plain and copies:
                text = _row_copies_read(text, copies, column, own)
            if transitions and not by_row:
                verdict = analyze_statement(text, moved)
            else:
                verdict = analyze_statement(
                    text, (moved if transitions else rows) if by_row and not plain else policy
                )
            errors = [f for f in verdict.findings if f.severity is Severity.ERROR]
            short = " ".join(statement.split())
            short = short if len(short) <= 80 else short[:77] + "..."
            if errors:
                return f"`{short}`: {errors[0].message}"
            if any(p.kind == "literal" for p in verdict.pin_values):
                return f"`{short}` pins a fixed tenant, whoever writes"
        return None

    found: dict[str, dict[str, str]] = {t: dict(k) for t, k in start.items()}
    # a function shared by triggers declaring different transition tables (`IF TG_OP =
    # 'DELETE' THEN … FROM old_rows ELSE … FROM new_rows`): a branch naming another trigger's
    # runs only for that trigger — unless a relation of the name exists, which it would read
    # (round 22, helper 106)
    relations = set(schema.columns) | set(schema.views)
    shared: dict[str, tuple[str, ...]] = {}
    for trigger in schema.triggers:
        if policy.is_tenant_table(trigger.relation):
            names = set(shared.get(trigger.function, ())) | {
                t for t in trigger.transitions if t not in relations
            }
            shared[trigger.function] = tuple(sorted(names))
    for trigger in schema.triggers:
        function = schema.trigger_functions.get(trigger.function)
        if function is None:
            continue
        tenant_rows = trigger.row and policy.is_tenant_table(trigger.relation)
        assigned = schema.new_fields.get(trigger.function, set()) & {column, "*"}
        if tenant_rows and assigned:
            why: str | None = f"it assigns NEW.{'*' if '*' in assigned else column}"
        else:
            # TG_ARGV[n] is the trigger's argument n: a table named there is named (round 21)
            body, opaque = function.body, function.opaque
            if "tg_" in (opaque + " ".join(body)).lower():
                body = [_trigger_arguments(s, trigger) for s in body]
                opaque = _trigger_arguments(opaque, trigger)
            transitions = (
                trigger.transitions + shared.get(trigger.function, ())
                if policy.is_tenant_table(trigger.relation)
                else ()
            )
            why = unpinned(
                body, opaque, tenant_rows, transitions, function.row_copies, trigger.relation
            )
            if why is None:  # what the functions it calls run (helper h32h: PERFORM bump_all())
                called, hidden = _called_bodies(body, schema)
                why = unpinned(called, hidden, tenant_rows)
        if why is not None:
            what = f"trigger {trigger.name} (function {trigger.function}): {why}"
            for event in trigger_events(schema, trigger):
                found.setdefault(trigger.relation, {}).setdefault(event, what)
    for rule in schema.write_rules:
        stale = " ".join(rule.actions) if rule.stale else ""  # bound to a renamed column
        why = unpinned(rule.actions, stale, policy.is_tenant_table(rule.relation))
        if why is not None:
            found.setdefault(rule.relation, {}).setdefault(rule.event, f"rule {rule.name}: {why}")
    return found


_CALL_ARGUMENTS = lazy_pattern(r"\(([^()]*)\)")


def _called_bodies(
    statements: list[str], schema: SchemaInfo, depth: int = 4
) -> tuple[list[str], str]:
    """The statements (and the text out of the proof's sight) of the schema's functions that
    `statements` call, and of those they call, `depth` calls deep (a trigger's `PERFORM
    bump_all()` running an unpinned UPDATE: helper h32h). A parameter is read as the call's
    argument when the arguments are plain (no parentheses, no commas in them): `PERFORM
    bump(NEW.ws_id)` pins the helper's `WHERE ws_id = ws` as NEW's own; otherwise the parameter
    pins nothing. Past `depth`, a call of a schema function is out of sight (its name)."""
    found: list[str] = []
    hidden: list[str] = []
    seen: set[tuple[str, str]] = set()
    columns = {c.lower() for known in schema.columns.values() for c in known}
    todo = [(s, 0) for s in statements]
    while todo:
        statement, level = todo.pop()
        for name, info in schema.functions.items():
            # (a name in any case, quoted or not, after a schema or not: read if it may be it)
            pattern = rf"(?<![\w$])\"?(?i:{re.escape(name)})\"?\s*(\()"
            for call in re.finditer(pattern, statement):
                if level >= depth:
                    hidden.append(name)
                    continue
                inner = _CALL_ARGUMENTS.match(statement, call.start(1))
                arguments = inner.group(1).split(",") if inner and inner.group(1).strip() else []
                key = (name, inner.group(0) if inner else "")
                if key in seen:
                    continue
                seen.add(key)
                hidden.append(info.opaque)
                plain = inner is not None and len(arguments) == len(info.parameters)
                for text in info.body:
                    for n, parameter in enumerate(info.parameters):
                        value = (
                            arguments[n].strip()
                            if plain and not info.overloads
                            else "pg_catalog.random()"
                        )
                        escaped = value.replace("\\", "\\\\")  # (a replacement string)
                        text = re.sub(rf"\${n + 1}(?!\d)", escaped, text)
                        # (a parameter named as a column: PostgreSQL reads the column in a SQL
                        # function's body, `WHERE ws_id = ws_id` every row: left as written)
                        if parameter and parameter.lower() not in columns:
                            text = re.sub(
                                rf"(?<![\w$.\"])(?i:{re.escape(parameter)})\b(?!\s*\()",
                                escaped,
                                text,
                            )
                    found.append(text)
                    todo.append((text, level + 1))
    return found, " ".join(h for h in hidden if h)


_ROW_ALIASED = lazy_pattern(
    r"(?:\bAS\s+|\b(?:FROM|JOIN|UPDATE|INTO|USING|ONLY)\s+[\w.\"]+\s+|,\s*[\w.\"]+\s+)"
    r"(?:new|old)\b(?!\s*\.\s*\w+\s*(?::=|=))",
    re.IGNORECASE,
)
_TG_ARGV = lazy_pattern(r"\btg_argv\s*\[\s*(\d+)\s*\]", re.IGNORECASE)
_TG_RELATION = lazy_pattern(
    r"\b(?:tg_table_name|tg_relname|tg_relid(?:\s*::\s*regclass)?)\b", re.IGNORECASE
)


_ROW_STAR_INSERT = lazy_pattern(
    r"^\s*INSERT\s+INTO\s+((?:[\w$]+|\"(?:[^\"]|\"\")+\")(?:\s*\.\s*(?:[\w$]+|\"(?:[^\"]|\"\")+\"))?)"
    r"\s+(SELECT\s+|VALUES\s*\(\s*)\(?\s*(NEW|OLD)\s*\)?\s*\.\s*\*",
    re.IGNORECASE,
)


def _row_star_listed(statement: str, relation: str, schema: SchemaInfo) -> str:
    """`INSERT INTO h SELECT OLD.*, now()` (a history table `LIKE` the trigger's, no column
    list): with the column lists the schema shows — h's first columns the relation's, in order
    — written out, so that the row's tenant column is read where it lands (round 22, helper
    108: TG002 "no column list" at every write of the audited table)."""
    match = _ROW_STAR_INSERT.match(statement)
    if match is None:
        return statement
    target = match.group(1).split(".")[-1].strip()
    target = target[1:-1].replace('""', '"') if target.startswith('"') else target.lower()
    own_columns = schema.order.get(relation)
    target_columns = schema.order.get(target)
    if not own_columns or not target_columns or target_columns[: len(own_columns)] != own_columns:
        return statement
    row = match.group(3)
    listed = ", ".join(_quoted(c) for c in target_columns)
    values = ", ".join(f"{row}.{_quoted(c)}" for c in own_columns)
    return (
        f"INSERT INTO {match.group(1)} ({listed}) {match.group(2)}{values}"
        + statement[match.end() :]
    )


def _row_copies_read(text: str, copies: tuple[tuple[str, str], ...], column: str, own: str) -> str:
    """The statement with the trigger function's copies of the written row read as NEW: `r.
    tenant_id` of a record holding the row, a variable holding its tenant column, as the row's
    own tenant (`_row_copies`)."""
    for name, kind in copies:
        if kind == "row":
            text = re.sub(
                rf"(?<![\w$.\"])\b{re.escape(name)}\s*\.\s*{re.escape(column)}\b",
                own,
                text,
                flags=re.IGNORECASE,
            )
        elif kind == f"field:{column}":
            text = re.sub(
                rf"(?<![\w$.\"])\b{re.escape(name)}\b(?!\s*\.)", own, text, flags=re.IGNORECASE
            )
    return text


def _trigger_arguments(text: str, trigger: TriggerInfo) -> str:
    """The text with what a trigger's function reads of the trigger as literals: `TG_ARGV[n]`
    its argument n (NULL past the last), `TG_TABLE_NAME` / `TG_RELID` its relation — a table a
    dynamic statement names so is named (round 21)."""
    args = trigger.args

    def literal(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return "'" + args[index].replace("'", "''") + "'" if index < len(args) else "NULL"

    relation = "'" + trigger.relation.replace("'", "''") + "'"
    text = _TG_RELATION.sub(relation, _TG_ARGV.sub(literal, text))
    # the names they make, whole: `'audit_' || TG_TABLE_NAME`, `format('%s%s', TG_ARGV[0],
    # TG_ARGV[1])` (round 22, helper 102: 'no' and 'tes' were searched apart)
    return _normalized_dynamic(text)[0]


_DOLLAR_QUOTED = lazy_pattern(r"\$([A-Za-z_]\w*)?\$(.*?)\$\1\$", re.DOTALL)
_ESCAPE_STRING = lazy_pattern(r"\b[Ee]'((?:[^'\\]|''|\\.)*)'")
_LITERAL = r"'(?:[^']|'')*'"
_TEXT_CAST = lazy_pattern(
    rf"({_LITERAL})\s*::\s*(?:text|varchar|character\s+varying|name|bpchar)\b", re.IGNORECASE
)
_PAREN_LITERAL = lazy_pattern(rf"(?<![\w$])\(\s*({_LITERAL})\s*\)")  # not a call's
_ADJACENT = lazy_pattern(r"'[ \t\r\f]*\n\s*'")  # `'no'<newline>'tes'`: one literal to PostgreSQL


def _normalized_dynamic(text: str) -> tuple[str, bool]:
    """The text of dynamic SQL with its literals joined as PostgreSQL joins them — dollar
    quotes as plain literals, `::text` of a literal dropped, parentheses around one literal,
    adjacent literals, `'a' || 'b'`, `format` of literals evaluated — and whether it holds an
    escape string with a backslash (`E'no\\164es'`: not decoded here, so not read: round 22,
    helper 104)."""
    escaped = False

    def escape(match: re.Match[str]) -> str:
        nonlocal escaped
        if "\\" in match.group(1):
            escaped = True
        return "'" + match.group(1) + "'"

    text = _DOLLAR_QUOTED.sub(lambda m: "'" + m.group(2).replace("'", "''") + "'", text)
    text = _ESCAPE_STRING.sub(escape, text)
    for _ in range(20):
        before = text
        text = _TEXT_CAST.sub(r"\1", text)
        text = _PAREN_LITERAL.sub(r"\1", text)
        text = _ADJACENT.sub("", text)
        text = _JOINED_LITERALS.sub("", text)
        text = _formatted_literals(text)
        if text == before:
            break
    return text, escaped


_LITERAL_FORMAT_CALL = lazy_pattern(
    r"\bformat\s*\(\s*'((?:[^']|'')*)'((?:\s*,\s*'(?:[^']|'')*')*)\s*\)", re.IGNORECASE
)
_FORMAT_ARGUMENT = lazy_pattern(r"'((?:[^']|'')*)'")
_SPECIFIER = lazy_pattern(r"%(?:(\d+)\$)?-?\d*([sIL%])")


def _formatted_literals(text: str) -> str:
    """`format('…', 'a', 'b')` of literals only, as the literal PostgreSQL makes of it (`%s`
    and `%I` the argument's text, `%L` quoted); other calls as they are."""

    def call(match: re.Match[str]) -> str:
        pattern = match.group(1).replace("''", "'")
        arguments = [a.replace("''", "'") for a in _FORMAT_ARGUMENT.findall(match.group(2))]
        position = 0

        def specifier(spec: re.Match[str]) -> str:
            nonlocal position
            if spec.group(2) == "%":
                return "%"
            if spec.group(1):
                position = int(spec.group(1)) - 1
            value = arguments[position] if position < len(arguments) else ""
            position += 1
            return "'" + value.replace("'", "''") + "'" if spec.group(2) == "L" else value

        return "'" + _SPECIFIER.sub(specifier, pattern).replace("'", "''") + "'"

    return _LITERAL_FORMAT_CALL.sub(call, text)


def _function_verdict(function: FunctionInfo, policy: Policy, column: str) -> str:
    """ "": a function whose rows a pin on its tenant column selects (each query that reads
    tenant rows unpinned passes their tenant column through row by row, at that column's
    position among the declared outputs); otherwise why a pin from outside does not."""
    from tenantguard.engine.analyze import analyze_statement
    from tenantguard.engine.findings import Severity

    if function.opaque and not function.overloads:  # dynamic SQL, another language
        return (
            f"its queries are out of the proof's sight (dynamic SQL, a language other than SQL "
            f"and PL/pgSQL): whether its {column} is the rows' own cannot be shown"
        )
    aliases = f"({', '.join(_quoted(c) for c in function.outputs)})" if function.outputs else ""
    for statement in function.body:
        verdict = analyze_statement(statement, policy)
        if not any(f.severity is Severity.ERROR for f in verdict.findings):
            continue  # reads no tenant row unpinned
        if function.returned is not None and statement not in function.returned:
            return (
                "a query of it reads every tenant's rows into variables (FOR … IN, INTO, a "
                "cursor, a loop's RETURN QUERY), which may carry another tenant's value or a "
                f"count of every tenant's rows into the rows it returns: a pin on its {column} "
                "does not show they are the rows' own (pin that query inside it)"
            )
        wrapped = f"SELECT * FROM ({statement}) AS v{aliases} WHERE v.{_quoted(column)} = $1"
        outside = analyze_statement(wrapped, policy)
        if any(f.severity is Severity.ERROR for f in outside.findings):
            return (
                f"its query does not pass the {column} of the rows it reads through row by row "
                "to its own output of that name (it aggregates, ranks, limits, or takes the "
                "column from another table)"
            )
    return ""


def _renamed_tenant_column(view: ViewInfo, column: str, kept: bool = False) -> str | None:
    """The name a view gives the tenant column it selects under another name (`created_by AS
    admin_id`, or a column list), when none of its columns keeps the tenant column's name (with
    `kept`, also when one does: another column then)."""
    from tenantguard.engine.proof import identifier_name

    try:
        tree = sqlglot.parse_one(view.query, read="postgres")
    except SqlglotError:
        return None
    if not isinstance(tree, exp.Select):
        return None
    names = [e.alias_or_name for e in tree.expressions]
    if view.columns:
        names = [*view.columns, *names[len(view.columns) :]]
    if column in names and not kept:
        return None
    for index, item in enumerate(tree.expressions):
        inner = item.this if isinstance(item, exp.Alias) else item
        if isinstance(inner, exp.Column) and identifier_name(inner.this) == column:
            return names[index] if index < len(names) else None
    return None


def _quoted(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'


def pin_of(expression: str, policy: Policy) -> PinValue | None:
    """This expression as a pinning value (a parameter, a literal, the tenant expression)."""
    from tenantguard.engine.proof import pin_value

    try:
        tree = sqlglot.parse_one(f"SELECT {expression}", read="postgres")
    except (SqlglotError, RecursionError):
        return None
    items = tree.expressions if isinstance(tree, exp.Select) else []
    return pin_value(items[0], policy) if len(items) == 1 else None


def _view_columns(view: ViewInfo) -> set[str] | None:
    return set(view.columns) if view.columns else _output_columns(view.query)


def postgres_error(sql: str) -> tuple[str, int] | None:
    """Why PostgreSQL's parser rejects this text, and where (an offset in it); None when it
    reads it (psql meta-commands and `:'var'` interpolations aside)."""
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        parse_sql(_psql_free(sql))
    except ParseError as error:
        message = str(error.args[0]) if error.args else str(error)
        offset = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else 0
        return message, len(sql.encode()[:offset].decode("utf-8", "ignore"))
    except Exception as error:  # pglast's own errors: not read
        return f"PostgreSQL's parser failed ({type(error).__name__})", 0
    return None


def read_schema(paths: Iterable[Path]) -> SchemaInfo:
    """Reads every `.sql` file, and every Python migration, under the given files and
    directories (missing ones are skipped)."""
    schema = SchemaInfo()
    texts: list[tuple[Path, str]] = []
    for file in schema_files(paths):
        text = _schema_text(file, schema.problems)
        if text is not None:
            texts.append((file, text))
    for file, text in _in_revision_order(texts):
        if file.suffix.lower() in (".py", ".pyw"):
            if schema.add_python(text, str(file)):
                schema.files.append(file)
            continue
        if is_undo_script(file):
            continue  # a down migration drops what its up created
        schema.files.append(file)
        schema.add_sql(text, str(file))
    for name in schema._no_defaults:  # a name in two schemas: which one a query reads is
        schema.traits.pop(name, None)  # the search path's business
    schema.domain_defaults()
    schema.settle_calls()
    schema.settle_domains()
    schema.settle_functions()
    schema.settle_views()
    schema.inherit_view_defaults()
    schema.settle_keys()
    schema.resolve_row_outputs()
    schema.settle_held_rows()
    return schema


def _schema_text(file: Path, problems: list[SchemaProblem]) -> str | None:
    """A schema file's text, read as a checked file is (`decode_source`: a Python migration's
    coding declaration, a byte-order mark). One that cannot be read so is a problem at the file,
    reported at every check (the file's own check says the same, and then it alone): skipped in
    silence, the tables it creates were no tenant tables, and a check of the application's
    files alone (pre-commit) proved their queries. Text that is not UTF-8 is still read, its
    stray bytes replaced (a Latin-1 comment): the tables it creates are known."""
    from tenantguard.sources.files import MAX_FILE_BYTES, decode_source

    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            data = b""
            error: str | None = f"file is over the {MAX_FILE_BYTES >> 20} MB limit"
            offset = 0
        else:
            data = file.read_bytes()
            text, error, offset = decode_source(data, file)
            if error is None:
                return text
    except OSError as failure:
        data, error, offset = b"", f"cannot read file: {failure.strerror}", 0
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[data.rfind(b"\n", 0, offset) + 1 : offset].decode("utf-8", "replace")) + 1
    readable = bool(data) and b"\0" not in data and not data.startswith((b"\xff\xfe", b"\xfe\xff"))
    problems.append(
        SchemaProblem(
            str(file),
            line,
            column,
            # a message with its help after a line break: reported as written
            f"schema file: {(error or 'cannot be read').split('; ')[0]}, "
            + (
                "read with those bytes replaced"
                if readable
                else "not read: the tables it creates are not known"
            )
            + "\nsave it as UTF-8 text (or name the tables it creates in tenant_tables)",
            "",
        )
    )
    return data.decode("utf-8", "replace") if readable else None


_REVISION = lazy_pattern(r"^(?:down_)?revision\b", re.MULTILINE)


def _revision_ids(text: str) -> tuple[str, tuple[str, ...]] | None:
    """An alembic revision's id and the ids it follows (`down_revision`: None, one id, or a
    tuple for a merge); None for any other file."""
    if len(_REVISION.findall(text)) < 2:
        return None
    import ast

    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found: dict[str, object] = {}
    for statement in module.body:
        target: ast.expr | None = None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
        elif isinstance(statement, ast.AnnAssign):
            target = statement.target
        value = getattr(statement, "value", None)
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            try:
                found[target.id] = ast.literal_eval(value) if value is not None else None
            except (ValueError, TypeError, SyntaxError, RecursionError):
                return None
    revision, down = found.get("revision"), found.get("down_revision", ...)
    if not isinstance(revision, str) or down is ...:
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    return None


def _in_revision_order(texts: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """The schema files with alembic revisions in the order alembic applies them — each after
    the revisions it follows (`down_revision`), ties by file name — in the places the revisions
    take among the other files. Their file names are random (`3f2a9c_add_orgs.py`): read by
    name, an ADD COLUMN tenant_id could come before its CREATE TABLE and the table be read as
    no tenant table."""
    revisions: dict[int, tuple[str, tuple[str, ...]]] = {}
    for position, (file, text) in enumerate(texts):
        if file.suffix.lower() in (".py", ".pyw"):
            ids = _revision_ids(text)
            if ids is not None:
                revisions[position] = ids
    if len(revisions) < 2:
        return texts
    by_id = {ids[0]: position for position, ids in revisions.items()}
    waiting = {
        position: {by_id[d] for d in ids[1] if d in by_id and by_id[d] != position}
        for position, ids in revisions.items()
    }
    ordered: list[int] = []
    while waiting:
        ready = sorted(p for p, before in waiting.items() if not before)
        if not ready:  # a cycle: the rest by file name
            ordered.extend(sorted(waiting))
            break
        for position in ready:
            ordered.append(position)
            del waiting[position]
        for before in waiting.values():
            before.difference_update(ready)
    slots = iter(ordered)
    return [texts[next(slots)] if i in revisions else item for i, item in enumerate(texts)]


def _called(node: Any) -> str:
    func = node.func
    return str(getattr(func, "attr", None) or getattr(func, "id", ""))


def _changes_setting(text: str, settings: frozenset[str] | None) -> bool:
    """Does this statement text call `set_config` on, `SET` or `RESET` one of these settings
    (None: any setting)? A name that is not a plain string may be any."""
    for match in _SET_CONFIG_CALL.finditer(text):
        name = match.group(1)
        if name is None or settings is None or name.replace("''", "'").lower() in settings:
            return True
    statement = _SET_STATEMENT.match(text)
    if statement is not None:
        name = statement.group(1).strip('"').lower()
        if settings is None or name in settings or name == "all":  # RESET ALL
            return True
    return False


def _simple_view(
    view: ViewInfo, columns: Mapping[str, set[str]]
) -> tuple[str, dict[str, str]] | None:
    """An automatically updatable view's table and the columns it shows ({table's: view's}):
    one table, no join, grouping, DISTINCT, LIMIT, set operation nor WITH (None otherwise)."""
    try:
        tree = sqlglot.parse_one(view.query, read="postgres")
    except (SqlglotError, RecursionError):
        return None
    if not isinstance(tree, exp.Select) or any(
        tree.args.get(k)
        for k in ("joins", "group", "having", "distinct", "limit", "offset", "with", "laterals")
    ):
        return None
    source = tree.args.get("from_")
    table = source.this if isinstance(source, exp.From) else None
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        return None
    base = identifier_name(table.this)
    shown: dict[str, str] = {}
    for item in tree.expressions:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and item.is_star):
            if view.columns is not None or base not in columns:
                return None  # renamed by position: which is which, unknown
            shown.update({c: c for c in columns[base]})
        elif isinstance(item, exp.Column) and identifier_name(item.this) not in shown:
            shown[identifier_name(item.this)] = identifier_name(item.this)
        elif isinstance(item, exp.Alias) and isinstance(item.this, exp.Column):
            if identifier_name(item.this.this) in shown:
                return None  # one column shown twice
            shown[identifier_name(item.this.this)] = identifier_name(item.args["alias"])
        else:
            return None  # an expression: which column is at which position, kept simple
    if view.columns is not None:
        if len(view.columns) > len(shown):
            return None
        shown = dict(zip(shown, view.columns, strict=False))  # (items in order, by position)
    return base, shown
