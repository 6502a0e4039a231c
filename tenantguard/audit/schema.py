"""The engine's policy for a live database: its catalog read as the schema, through the same
`build_policy` as `check` (configuration first: tenant column, configured and global tables,
tenant expressions, shared rows).

Tenant tables are the tables of the catalog with the tenant column, plus the configured ones;
the catalog gives every table's columns, unique keys and foreign keys (so that unqualified
columns resolve and composite keys pin joins as they do from the schema files), and its views
and SQL or PL/pgSQL functions are sorted as the schema reader sorts those of the files: read
like tenant tables, pinned by their arguments, or safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from tenantguard.audit.model import FOREIGN, Catalog, Relation
from tenantguard.config import Settings, build_policy
from tenantguard.engine.policy import Policy, normalize_name
from tenantguard.errors import ConfigError
from tenantguard.sources.schema.nodes import (
    BUILTIN_TYPES,
    fills_by_name,
    namesake_functions,
    namesake_views,
    type_trait,
)
from tenantguard.sources.schema.reading import SchemaInfo
from tenantguard.sources.schema.records import ForeignKeyInfo, FunctionInfo, ViewInfo

__all__ = ["LivePolicy", "live_policy", "live_schema"]


@dataclass(frozen=True)
class LivePolicy:
    policy: Policy
    tenant_tables: tuple[Relation, ...]  # the catalog's tables the catalog rules look at
    function_bodies: dict[int, FunctionInfo]
    warnings: tuple[str, ...]


# format_type()'s names of the built-in types whose name in pg_type differs
_TYPE_NAMES = {
    "integer": "int4", "bigint": "int8", "smallint": "int2", "character varying": "varchar",
    "character": "bpchar", "boolean": "bool", "real": "float4", "double precision": "float8",
    "timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz",
    "time without time zone": "time", "time with time zone": "timetz", "bit varying": "varbit",
}  # fmt: skip


def type_key(formatted: str) -> str:
    """A column's type (format_type()) as the schema reader keys it from DDL (its `type:`
    trait): pg_type's name, no typmod, `[]` per array level (`character varying(20)[]`:
    `type:varchar[]`); any other than a built-in as a domain, by its last name."""
    arrays = 0
    while formatted.endswith("[]"):
        formatted, arrays = formatted[:-2], arrays + 1
    base = re.sub(r"\(.*?\)", "", formatted).strip()
    base = _TYPE_NAMES.get(base, base)
    if base not in BUILTIN_TYPES:
        base = base.rsplit(".", 1)[-1].strip('"')
        return type_trait(base, arrays, builtin=False)
    return type_trait(base, arrays, builtin=True)


def live_schema(catalog: Catalog) -> tuple[SchemaInfo, dict[int, FunctionInfo]]:
    """The catalog as the schema reader would have read it from files; and what the reader
    makes of each function (by oid).

    As from files: a table's parents (INHERITS, PARTITION OF) and generated columns; the names
    of lossy values, whatever carries them (a table's, a view's or a composite type's column, a
    function's output); a name defined twice (views or functions in two schemas, overloads)
    read as both. Better than from files: a parameter's type through its domains, and the
    columns a function returning a row type fills, by position. Rules on writes are read from
    their definitions (what a write runs beside itself); triggers and column defaults are not
    (yet): the audit's TG216 and TG215 speak of those."""
    schema = SchemaInfo()
    for relation in catalog.relations:
        # a view's column, as a table's, carries its type to a parameter compared with it
        schema.lossy_columns.update(c.name for c in relation.columns if c.lossy)
        if relation.is_table or relation.kind == FOREIGN:
            schema.columns.setdefault(relation.name, set()).update(c.name for c in relation.columns)
            for column in relation.columns:  # its type, as the reader keys it (set operations)
                traits = schema.traits.setdefault(relation.name, {})
                kinds = traits.setdefault(column.name, set())
                typed = type_key(column.type)
                if any(k.startswith("type:") and k != typed for k in kinds):
                    kinds.difference_update([k for k in kinds if k.startswith("type:")])
                    kinds.add("type:?")  # a name in two schemas: not sure
                else:
                    kinds.add(typed)
            loose = {c.name for c in relation.columns if c.loose}
            if loose:  # no equality on such a tenant column pins it (`'acme' = 'ACME'`)
                schema.loose.setdefault(relation.name, set()).update(loose)
            for column in relation.columns:
                if column.generated is not None:  # an UPDATE of these moves the row
                    generated = schema.generated.setdefault(relation.name, {})
                    generated.setdefault(column.name, set()).update(column.generated)
                if column.copies is not None:  # an INSERT sets it through that column
                    schema.copies.setdefault(relation.name, {})[column.name] = column.copies
            for oid in relation.parents:  # a read of the parent returns this table's rows
                parent = catalog.relation(oid)
                if parent is not None:
                    schema.children.setdefault(parent.name, set()).add(relation.name)
            for key in relation.keys:
                if key.kind in ("primary key", "unique constraint"):
                    schema.constraints[key.name] = set(key.plain_columns)
                # a key the proof may rely on: unique over the whole table, at every moment
                whole = key.valid and key.immediate and not key.partial and None not in key.columns
                if key.unique and whole:
                    schema.unique_keys.setdefault(relation.name, []).append(
                        frozenset(key.plain_columns)
                    )
            for fk in relation.foreign_keys:
                schema.foreign_keys.setdefault(relation.name, []).append(
                    ForeignKeyInfo(
                        fk.name,
                        fk.columns,
                        fk.ref_table,
                        fk.ref_columns,
                        valid=fk.valid,
                        deferrable=fk.deferrable,
                        on_delete=fk.on_delete,
                        on_update=fk.on_update,
                    )
                )
        elif relation.is_view and relation.definition:
            view = ViewInfo(
                relation.definition.strip().rstrip(";"), [c.name for c in relation.columns]
            )
            old = schema.views.get(relation.name)
            schema.views[relation.name] = view if old is None else namesake_views(old, view)
    schema.lossy_columns.update(catalog.lossy_attributes)
    schema.exact_domains = {name: (where, base) for name, where, base in catalog.exact_domains}
    schema.exact_functions = dict(catalog.exact_functions)
    schema.stable_functions = set(catalog.stable_functions)
    orders: dict[str, list[tuple[str, ...]]] = {}  # each relation name's columns, in order
    for relation in catalog.relations:
        orders.setdefault(relation.name, []).append(tuple(c.name for c in relation.columns))
    for relation in catalog.relations:
        for rule in relation.rules:  # its statements run with a write: read as check reads them
            if rule.acts:
                schema.add_sql(rule.definition)
    bodies: dict[int, FunctionInfo] = {}
    # an extension's function is no body to read, but a bare parameter given to its `real` or
    # `float8` parameter is typed so (fp14: `ll_to_earth($1, 0) AND tenant_id = $1`)
    for name, lossy in catalog.extension_lossy_arguments:
        schema.lossy_arguments.setdefault(name, set()).update(lossy)
    for function in catalog.functions:
        schema.lossy_columns.update(function.lossy_outputs)
        if function.lossy_arguments and not function.returns_trigger:
            positions = schema.lossy_arguments.setdefault(function.name, set())
            positions.update(function.lossy_arguments)
            # `public.f(real, text)`: oidvectortypes lists the types, none with a comma
            listed = function.signature.rsplit("(", 1)[-1].rstrip(")")
            last = len(listed.split(",")) - 1 if listed.strip() else -1
            if function.lossy_arguments[-1] == last:  # the last: VARIADIC perhaps
                positions.add(-(last + 1))
    for function in catalog.functions:
        if function.returns_trigger:
            continue
        # read as the schema reader reads its CREATE FUNCTION: in another language (C,
        # PL/Python…), its queries are out of sight — opaque, naming a tenant table is enough
        one = SchemaInfo(columns=schema.columns)
        one.add_sql(function.definition)
        info = one.functions.get(function.name)
        if info is None:
            continue
        # the parameters' types through their domains; a row type's columns, by position
        info = replace(info, lossy=tuple(sorted(set(info.lossy) | set(function.lossy_arguments))))
        row = function.row_columns
        if not info.outputs and row and not fills_by_name(info.body, row, orders):
            info = replace(info, outputs=row)
        if function.language in ("sql", "plpgsql"):
            bodies[function.oid] = info
        known = schema.functions.get(function.name)
        schema.functions[function.name] = info if known is None else namesake_functions(known, info)
    schema.volatile_operators = set(catalog.volatile_operators)
    schema.settle_views()  # the views whose query calls a volatile function
    return schema, bodies


def live_policy(settings: Settings, catalog: Catalog) -> LivePolicy:
    """The policy, the tenant tables of the catalog rules, and warnings about the
    configuration; a ConfigError when there is no tenant table at all."""
    schema, bodies = live_schema(catalog)
    policy = build_policy(settings, live_schema=schema)
    configured = {normalize_name(t) for t in settings.tenant_tables}
    tenant_tables = tuple(
        r
        for r in catalog.relations
        if r.is_table
        and r.name in policy.tenant_tables
        and (r.column(policy.tenant_column) is not None or r.name in configured)
    )
    names = {r.name for r in catalog.relations}
    warnings = tuple(
        f"tenant table {name!r} of the configuration is not in database {catalog.database}: "
        "check its spelling (quote mixed-case names: '\"Thread\"')"
        for name in sorted(configured - names)
    )
    if not tenant_tables:
        where = settings.config_file or "no configuration file"
        raise ConfigError(
            f"no tenant tables in database {catalog.database}, so nothing can be proven: no "
            f"table has a column {policy.tenant_column} and none is configured [{where}]. Pass "
            "--tenant-column or --tenant-tables, or set them in [tool.tenantguard] of "
            "pyproject.toml"
        )
    return LivePolicy(policy, tenant_tables, bodies, warnings)
