"""What the audit reads from a live database: plain records, no driver, no SQL.

`tenantguard.audit.catalog` fills them from PostgreSQL's catalog in one read-only transaction;
the catalog rules (`tenantguard.audit.rules`) and the policy (`tenantguard.audit.schema`) only
read them, so that both can be tested on hand-built records too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tenantguard.engine.policy import sql_name

__all__ = [
    "Catalog",
    "Column",
    "ForeignKey",
    "Function",
    "Key",
    "Relation",
    "RewriteRule",
    "Role",
    "RowPolicy",
    "SchemaCode",
]

# pg_class.relkind
TABLE, PARTITIONED, VIEW, MATERIALIZED, FOREIGN = "r", "p", "v", "m", "f"
KIND_NAMES = {
    TABLE: "table",
    PARTITIONED: "partitioned table",
    VIEW: "view",
    MATERIALIZED: "materialized view",
    FOREIGN: "foreign table",
}
# the built-ins that change a setting or run text as SQL, by their internal (C) names
SETTING_BUILTINS = {
    "set_config_by_name": "set_config",
    "query_to_xml": "query_to_xml",
    "query_to_xmlschema": "query_to_xmlschema",
    "query_to_xml_and_xmlschema": "query_to_xml_and_xmlschema",
    "ts_stat1": "ts_stat",
    "ts_stat2": "ts_stat",
    "tsquery_rewrite_query": "ts_rewrite",  # (tsquery, text): the 3-argument one runs no text
}
# pg_policy.polcmd
COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}


def qualified(schema: str, name: str) -> str:
    """`schema.name`, each part written as SQL needs it (`public."Audit Log"`)."""
    return f"{sql_name(schema)}.{sql_name(name)}"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # format_type(): `bigint`, `character varying(20)`
    not_null: bool
    sequence_filled: bool = False  # an identity column, or a default of nextval(): a surrogate key
    # `=` folds distinct values: citext (through domains) or a nondeterministic collation
    loose: bool = False
    # a parameter compared with it is typed so that two tenant ids may meet: it rounds, pads,
    # truncates or folds (real, double precision, char(n), name, money, loose; domains, arrays)
    lossy: bool = False
    # a generated column (`GENERATED ALWAYS AS (owner) STORED`): the columns its expression reads
    generated: tuple[str, ...] | None = None
    # the column the generation expression copies (`owner`, `owner::uuid`), else None
    copies: str | None = None


@dataclass(frozen=True, slots=True)
class Key:
    """A primary key, a unique constraint or an index. `columns` holds the key columns in order,
    None for an expression; INCLUDE columns are not key columns."""

    name: str
    kind: str  # "primary key" | "unique constraint" | "unique index" | "index"
    columns: tuple[str | None, ...]
    unique: bool
    partial: bool = False
    immediate: bool = True  # not DEFERRABLE
    valid: bool = True  # an index being built CONCURRENTLY, or whose build failed, is not
    inherited: bool = False  # a partition's copy of its parent's index: reported on the parent
    comment: str | None = None

    @property
    def plain_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c is not None)

    def describe(self) -> str:
        shown = ", ".join(sql_name(c) if c is not None else "(expression)" for c in self.columns)
        return f"{self.kind} {sql_name(self.name)} ({shown})"


@dataclass(frozen=True, slots=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    match_full: bool = False  # MATCH FULL: no column of the key may be NULL alone
    valid: bool = True  # NOT VALID until validated: old rows were never checked
    deferrable: bool = False
    comment: str | None = None
    on_delete: str = "a"  # pg_constraint.confdeltype: a no action, r, c cascade, n, d
    on_update: str = "a"  # confupdtype


@dataclass(frozen=True, slots=True)
class RowPolicy:
    """A Row-Level Security policy, with what it means for the audited role: `may_apply` when
    the role is a member of one of its roles (or it is for PUBLIC; a member can SET ROLE),
    `applies` when the role has their privileges without SET ROLE."""

    name: str
    command: str  # pg_policy.polcmd: * r a w d
    permissive: bool
    roles: tuple[str, ...]  # "public" for PUBLIC
    using: str | None  # pg_get_expr(polqual): None when the policy has no USING
    check: str | None  # pg_get_expr(polwithcheck)
    may_apply: bool = True
    applies: bool = True
    comment: str | None = None

    def describe(self) -> str:
        kind = "permissive" if self.permissive else "restrictive"
        return (
            f"policy {sql_name(self.name)} ({kind}, FOR {COMMANDS.get(self.command, '?')}, "
            f"TO {', '.join(self.roles) or 'public'})"
        )


# pg_rewrite.ev_type
EVENTS = {"1": "SELECT", "2": "UPDATE", "3": "INSERT", "4": "DELETE"}


@dataclass(frozen=True, slots=True)
class RewriteRule:
    """A rule on a write (`CREATE RULE … AS ON UPDATE TO t DO INSTEAD …`): PostgreSQL runs its
    actions in place of (INSTEAD) or beside (ALSO) the statement sent."""

    name: str
    event: str  # pg_rewrite.ev_type: 2 UPDATE, 3 INSERT, 4 DELETE
    instead: bool
    acts: bool  # False: DO INSTEAD NOTHING (or DO ALSO NOTHING)
    definition: str  # pg_get_ruledef
    relations: tuple[int, ...] = ()  # the other relations its actions (and WHERE) name
    functions: tuple[int, ...] = ()  # the functions they call
    comment: str | None = None

    def describe(self) -> str:
        kind = "INSTEAD" if self.instead else "ALSO"
        return f"rule {sql_name(self.name)} (ON {EVENTS.get(self.event, '?')} DO {kind})"


@dataclass(frozen=True, slots=True)
class Relation:
    """A table, view, materialized view or foreign table of a user schema."""

    oid: int
    schema: str
    name: str
    kind: str  # pg_class.relkind
    owner: str
    owned_by_role: bool = False  # the audited role is (a member of) the owner
    rls: bool = False
    force_rls: bool = False
    columns: tuple[Column, ...] = ()
    keys: tuple[Key, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    policies: tuple[RowPolicy, ...] = ()
    public_grants: tuple[str, ...] = ()  # `SELECT`, `UPDATE (phone_number)`
    definition: str | None = None  # a view's query (pg_get_viewdef)
    security_invoker: bool = False
    reads: tuple[int, ...] = ()  # a view's: the relations its query reads (pg_depend)
    comment: str | None = None
    parents: tuple[int, ...] = ()  # the tables it inherits from, or is a partition of
    rules: tuple[RewriteRule, ...] = ()  # its rules on writes

    @property
    def qualified(self) -> str:
        return qualified(self.schema, self.name)

    @property
    def is_table(self) -> bool:
        return self.kind in (TABLE, PARTITIONED)

    @property
    def is_view(self) -> bool:
        return self.kind in (VIEW, MATERIALIZED)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True, slots=True)
class Function:
    """A function or procedure of a user schema, or one created in pg_catalog after initdb (not
    an extension's)."""

    oid: int
    schema: str
    name: str
    signature: str  # `public.patients_of(bigint)`
    language: str
    security_definer: bool
    config: tuple[str, ...]  # proconfig: `search_path=public, pg_temp`
    definition: str  # pg_get_functiondef, or the source for languages it cannot show
    owner: str
    returns_trigger: bool = False
    comment: str | None = None
    source: str = ""  # prosrc: the body as written; empty for a SQL-standard body (BEGIN ATOMIC)
    # positions (call order) of its parameters of a lossy type (as Column.lossy: a domain over
    # real…), and the names of its outputs (OUT, INOUT, RETURNS TABLE) of one
    lossy_arguments: tuple[int, ...] = ()
    lossy_outputs: tuple[str, ...] = ()
    # without declared outputs, the columns of the row type it returns (a table's, a view's, a
    # composite type's), in order: PostgreSQL fills them by position; None for a scalar
    row_columns: tuple[str, ...] | None = None

    @property
    def search_path(self) -> str | None:
        for setting in self.config:
            name, _, value = setting.partition("=")
            if name.strip().lower() == "search_path":
                return value
        return None


@dataclass(frozen=True, slots=True)
class SchemaCode:
    """Schema code that is no function of its own, found calling a built-in that can change a
    setting (`set_config`, an UPDATE of `pg_settings`) or runs text as SQL (`query_to_xml`…):
    a view, a rule, a column or domain default, a CHECK, a policy, a trigger's WHEN, a
    function's argument defaults; an aggregate or operator built on such a built-in."""

    kind: str  # "view", "rule", "default of column", "check constraint", "policy", "trigger"…
    name: str  # a table's view, rule, column…: its name; else as SQL writes it: `public.max(text)`
    calls: tuple[str, ...]  # the built-ins its stored expression calls: `set_config`, `pg_settings`
    definition: str | None  # as PostgreSQL prints it; None for an aggregate or an operator
    path: str  # where its findings are: its table, its function, or itself (a domain…)
    relation: int | None = None  # the table or view it belongs to
    function: int | None = None  # the function whose argument defaults it is
    comment: str | None = None  # its own (the constraint's, rule's, column's, domain's…)

    def describe(self) -> str:
        return f"{self.kind} {sql_name(self.name) if self.relation is not None else self.name}"


@dataclass(frozen=True, slots=True)
class Role:
    """The audited role: its own attributes, and the roles it can become that bypass RLS."""

    name: str
    superuser: bool = False
    bypassrls: bool = False
    # (role, "superuser" | "bypassrls") for each role it is a member of (SET ROLE) that has them
    through: tuple[tuple[str, str], ...] = ()
    comment: str | None = None


@dataclass(frozen=True)
class Catalog:
    """One database, as read in one snapshot."""

    database: str
    server_version: int  # server_version_num: 150004
    role: Role
    relations: tuple[Relation, ...] = ()
    functions: tuple[Function, ...] = ()
    schema_code: tuple[SchemaCode, ...] = ()
    # names of the composite types' attributes of a lossy type (as Column.lossy)
    lossy_attributes: tuple[str, ...] = ()
    # (name, schema, builtin base) of the domains a cast to which keeps `=` exact
    exact_domains: tuple[tuple[str, str, str], ...] = ()
    # (name, builtin type returned) of the functions whose calls take and return exact types
    exact_functions: tuple[tuple[str, str], ...] = ()
    # (name, positions) of the extensions' functions with parameters of a lossy type (as
    # Policy.lossy_arguments; the schema's own functions carry theirs in Function)
    extension_lossy_arguments: tuple[tuple[str, tuple[int, ...]], ...] = ()
    # the names of the functions every routine of which is IMMUTABLE or STABLE and which no
    # built-in function has (as the schema reader's stable_functions)
    stable_functions: tuple[str, ...] = ()
    # the schema's operators (symbols) and casts (`cast:type`, `cast:*`) of a VOLATILE function
    # (as the schema reader's volatile_operators)
    volatile_operators: tuple[str, ...] = ()
    _by_oid: dict[int, Relation] = field(default_factory=dict, init=False, repr=False)
    _by_name: dict[tuple[str, str], Relation] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_oid.update((r.oid, r) for r in self.relations)
        self._by_name.update(((r.schema, r.name), r) for r in self.relations)

    def relation(self, oid: int) -> Relation | None:
        return self._by_oid.get(oid)

    def relation_named(self, schema: str, name: str) -> Relation | None:
        return self._by_name.get((schema, name))
