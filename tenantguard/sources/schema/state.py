"""What the schema reader keeps (`_State`, the fields of `SchemaInfo`), and the questions asked of
it: tables with a column, inheritance, tenant roots and cascades, foreign keys, where a name
resolves on the search path.

The lowest layer of `SchemaInfo`: `domains`, `keys`, `paths`, `tables`, `changes`, `views` and
`reading` build on it, each calling only the layers below; the few calls up are declared here
once, abstract: `_statement` and `_scan_embedded` (`reading`), `_forget_relation`
(`changes`), which `paths` calls.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantguard.engine.policy import (
    ForeignKey,
)
from tenantguard.sources.schema.nodes import _last_name, _relname, _simple_view, namesake_views
from tenantguard.sources.schema.records import (
    ForeignKeyInfo,
    FunctionInfo,
    SchemaProblem,
    TriggerInfo,
    ViewInfo,
    WriteRule,
)
from tenantguard.sources.schema.texts import _CREATE_TABLE_NAME, _WORD, _changes_setting


@dataclass
class _State:
    """What the schema sources say: the fields, and the questions asked of them."""

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
    # table -> the row types its columns hold, at any depth (`block_history.old room_blocks`):
    # a table holding the rows of a table whose tenant column has another name (h42R)
    held_types: dict[str, set[str]] = field(default_factory=dict)
    # table -> the relations it copied its columns from (`CREATE TABLE x (LIKE room_blocks)`):
    # their tenant column under another name is its own too (h42R)
    like_sources: dict[str, set[str]] = field(default_factory=dict)
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

    def renaming_tenant(self, tables: Iterable[str], column: str) -> dict[str, str]:
        """Tables without `column` with a foreign key that takes a column of theirs to the
        tenant column of one of `tables` (`FOREIGN KEY (block_org, room_id) REFERENCES rooms
        (org_key, id)`), or to such a column of another of them (`FOREIGN KEY (note_org,
        block_id) REFERENCES room_blocks (block_org, id)`): that column is the tenant column
        under another name, so their rows are tenant rows (round 42, h42A). Which of their
        columns, for each (several, when a key names the referenced primary key, whose columns'
        order the sources do not keep)."""
        tenant_of: dict[str, str | None] = {t: column for t in tables}
        found: dict[str, str] = {}
        grown = True
        while grown:
            grown = False
            for table, keys in self.foreign_keys.items():
                if table in tenant_of or column in self.columns.get(table, ()):
                    continue
                if table not in self.columns:
                    continue
                for key in keys:
                    tenant = tenant_of.get(key.ref_table)
                    if tenant is None:
                        continue
                    local = self._renamed_by(key, tenant)
                    if local is not None:
                        found[table] = local
                        tenant_of[table] = local if local in key.columns else None
                        grown = True
                        break
        grown = True
        while grown:  # a LIKE copy has its columns, the key's column among them (h42R)
            grown = False
            for table, sources in self.like_sources.items():
                if table in tenant_of or column in self.columns.get(table, ()):
                    continue
                for source in sorted(sources):
                    local = found.get(source)
                    if local is not None and table in self.columns:
                        found[table] = local
                        tenant_of[table] = tenant_of.get(source)
                        grown = True
                        break
        for table, local in list(found.items()):
            # its children (INHERITS, partitions) hold its rows, their keys not inherited
            for child in self._descendants(table):
                if child not in tenant_of and column not in self.columns.get(child, ()):
                    found.setdefault(child, local)
        return found

    def _renamed_by(self, key: ForeignKeyInfo, tenant: str) -> str | None:
        """The column of `key` that references the tenant column `tenant` (by position), or
        the key's columns when it names a primary key of several columns that has it; None
        when the key does not reach `tenant`."""
        if key.ref_columns:
            if tenant in key.ref_columns and len(key.ref_columns) == len(key.columns):
                return key.columns[key.ref_columns.index(tenant)]
            return None
        name = self.primary_keys.get(key.ref_table, f"{key.ref_table}_pkey")
        primary = self.constraints.get(name) or ()
        if tenant not in primary or len(primary) != len(key.columns):
            return None
        return key.columns[0] if len(key.columns) == 1 else ", ".join(key.columns)

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
        root: tuple[str, str] | None = None,
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
        default may be another tenant). `root`: the tenant registry and its key — a tenant
        table's tenant column referencing it carries the tenant alike (the registry's row
        pinned to one tenant reaches that tenant's rows by it); another key referencing the
        registry (`visits.referred_by`) reaches other tenants' rows, and lists it (h42G)."""
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
            if not column or child not in tenant or len(ref) != len(key.columns):
                return False
            pairs = list(zip(key.columns, ref, strict=True))
            return (parent in tenant and (column, column) in pairs) or (
                root is not None and parent == root[0] and (column, root[1]) in pairs
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

    # calls up to the layers above (each defined once, there)

    @abstractmethod
    def _forget_relation(self, name: str, kind: Any) -> None:
        """Forget a dropped relation and what hangs on it (`changes`)."""

    @abstractmethod
    def _scan_embedded(self, text: str, path: str) -> None:
        """Read the DDL a text holds in strings and bodies (`reading`)."""

    @abstractmethod
    def _statement(self, node: Any, text: str, path: str) -> None:
        """Read one statement PostgreSQL's parser gave (`reading`)."""
