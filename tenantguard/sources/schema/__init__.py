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

The package reads in layers, each a module that can be read alone:

- `records`: the records kept — views, functions, foreign keys, triggers, rules, problems;
- `nodes`: helpers over pglast's nodes (names, types, bodies, namesakes);
- `texts`: reading text no parser reads (embedded DDL, psql, dynamic SQL, PL/pgSQL bodies);
- `alembic`: reading Python migrations;
- `SchemaInfo`, a linear stack of classes, each calling only those below it (the few calls up
  are declared once, abstract, in `state`): `state` (the fields and the questions asked of
  them), `domains` (types, domains, casts), `keys`, `paths` (search_path, schemas), `tables`,
  `changes` (renames, drops), `views` (views, rules, triggers, functions), `reading` (the
  statements dispatched, the files read: `read_schema`);
- `relations`: what the policy is built from (`tenant_relations`, `pin_of`);
- `checks`: what the policy asks of a read schema (failing views, hidden writes…).
"""

from __future__ import annotations

from tenantguard.sources.schema.checks import (
    chained_columns,
    failing_columns,
    failing_views,
    filled_tables,
    hidden_writes,
    implicit_calls,
    leaky_defaults,
    leaky_generated,
    through_views,
)
from tenantguard.sources.schema.nodes import (
    BUILTIN_TYPES,
    KEY_ONLY,
    copied_column,
    fills_by_name,
    namesake_functions,
    namesake_views,
    stable_names,
    type_trait,
)
from tenantguard.sources.schema.reading import SchemaInfo, read_schema
from tenantguard.sources.schema.records import (
    ForeignKeyInfo,
    FunctionInfo,
    SchemaProblem,
    ViewInfo,
)
from tenantguard.sources.schema.relations import Relations, pin_of, tenant_relations
from tenantguard.sources.schema.texts import (
    _normalized_dynamic,
    is_undo_script,
    postgres_error,
)

__all__ = [
    "BUILTIN_TYPES",
    "KEY_ONLY",
    "ForeignKeyInfo",
    "FunctionInfo",
    "Relations",
    "SchemaInfo",
    "SchemaProblem",
    "ViewInfo",
    "_normalized_dynamic",
    "chained_columns",
    "copied_column",
    "failing_columns",
    "failing_views",
    "filled_tables",
    "fills_by_name",
    "hidden_writes",
    "implicit_calls",
    "is_undo_script",
    "leaky_defaults",
    "leaky_generated",
    "namesake_functions",
    "namesake_views",
    "pin_of",
    "postgres_error",
    "read_schema",
    "stable_names",
    "tenant_relations",
    "through_views",
    "type_trait",
]
