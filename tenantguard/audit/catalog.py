"""Reading the live catalog (and pg_stat_statements) in one short read-only transaction.

Every query reads `pg_catalog` only (and the extension's view); `"char"` columns are cast to
text (asyncpg returns them as bytes). Objects of system schemas and of extensions are left out.
The caller analyses after the transaction has ended: nothing is held open while the proof runs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from tenantguard._patterns import lazy_pattern
from tenantguard.audit.model import (
    Catalog,
    Column,
    ForeignKey,
    Function,
    Key,
    Relation,
    RewriteRule,
    Role,
    RowPolicy,
    SchemaCode,
)
from tenantguard.audit.traffic import RecordedStatement
from tenantguard.runtime.schema_code import DANGER

__all__ = ["AuditRead", "UnknownRole", "read_database"]

# objects of these schemas, and of extensions, are not the application's
_USER_OBJECT = """
    n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    AND NOT EXISTS (
        SELECT 1 FROM pg_depend e
        WHERE e.classid = {catalog}::regclass AND e.objid = {oid} AND e.deptype = 'e'
    )
"""

# the relations audited (also the filter of the queries about them: no array parameter, whose
# type asyncpg would look up with a query the proof cannot parse; arrays come back as text[],
# the one array type asyncpg decodes without such a look-up)
_AUDITED = f"""
    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND {_USER_OBJECT.format(catalog="'pg_class'", oid="c.oid")}
"""

_RELATIONS = f"""
SELECT c.oid::bigint AS oid, n.nspname::text AS schema, c.relname::text AS name,
       c.relkind::text AS kind, pg_get_userbyid(c.relowner)::text AS owner,
       pg_has_role($1, c.relowner, 'MEMBER') AS owned_by_role,
       c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls,
       coalesce(c.reloptions, '{{}}')::text[] AS options,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition,
       obj_description(c.oid, 'pg_class') AS comment
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid IN ({_AUDITED})
ORDER BY n.nspname, c.relname
"""

# the types whose values a comparison converts so that two tenant ids may meet: they round
# (real, double precision), pad or truncate (char(n), "char", name), money, or compare loosely
# (citext, a nondeterministic collation); through domains and arrays (the schema reader's
# lossy_types and loose_types)
_LOSSY_TYPE_NAMES = "'float4', 'float8', 'bpchar', 'char', 'name', 'money', 'citext'"


def _lossy_type(type_oid: str) -> str:
    """SQL: whether a value of the type `type_oid` is of a lossy type (through domains, array
    elements, and the collation a domain gives)."""
    return f"""EXISTS (WITH RECURSIVE b(oid) AS (
                   SELECT {type_oid}
                   UNION SELECT x.oid FROM b JOIN pg_type t ON t.oid = b.oid
                   CROSS JOIN LATERAL (VALUES (t.typbasetype),
                       (CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE 0 END)) AS x(oid)
                   WHERE x.oid <> 0)
               SELECT 1 FROM b JOIN pg_type t ON t.oid = b.oid
               WHERE t.typname IN ({_LOSSY_TYPE_NAMES})
                  OR NOT coalesce((SELECT co.collisdeterministic FROM pg_collation co
                                   WHERE co.oid = t.typcollation), true))"""


# `generated`: a generated column's expression reads these columns (its pg_attrdef depends on
# them), NULL for any other column
_COLUMNS = f"""
SELECT a.attrelid::bigint AS rel, a.attname::text AS name,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       (a.attidentity::text <> ''
        OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false)) AS sequence_filled,
       (NOT coalesce((SELECT co.collisdeterministic FROM pg_collation co
                      WHERE co.oid = a.attcollation), true)
        OR EXISTS (WITH RECURSIVE b(oid) AS (
                       SELECT a.atttypid
                       UNION SELECT t.typbasetype FROM pg_type t JOIN b ON t.oid = b.oid
                       WHERE t.typbasetype <> 0)
                   SELECT 1 FROM b JOIN pg_type t ON t.oid = b.oid
                   WHERE t.typname = 'citext')) AS loose,
       {_lossy_type("a.atttypid")} AS lossy,
       CASE WHEN a.attgenerated::text <> '' THEN ARRAY(
           SELECT DISTINCT r.attname::text FROM pg_depend e
           JOIN pg_attribute r ON r.attrelid = e.refobjid AND r.attnum = e.refobjsubid
           WHERE e.classid = 'pg_attrdef'::regclass AND e.objid = d.oid
             AND e.refclassid = 'pg_class'::regclass AND e.refobjid = a.attrelid
             AND e.refobjsubid > 0 AND e.refobjsubid <> a.attnum
           ORDER BY 1) END AS generated,
       CASE WHEN a.attgenerated::text <> '' THEN pg_get_expr(d.adbin, d.adrelid) END
           AS generation
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid IN ({_AUDITED}) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

# each table's parents (INHERITS, PARTITION OF)
_PARENTS = f"""
SELECT h.inhrelid::bigint AS rel, h.inhparent::bigint AS parent
FROM pg_inherits h
WHERE h.inhrelid IN ({_AUDITED})
ORDER BY h.inhrelid, h.inhseqno
"""

# the rules on writes (ON INSERT, UPDATE, DELETE; a view's _RETURN rule is its query), with the
# relations and functions their actions name (pg_depend: the rule's own relation left out, as
# NEW and OLD name it too); `acts` is false for DO INSTEAD NOTHING (one query of CMD_NOTHING,
# 7 since PostgreSQL 15 added MERGE, 6 before)
_RULES = f"""
SELECT r.ev_class::bigint AS rel, r.rulename::text AS name, r.ev_type::text AS event,
       r.is_instead AS instead,
       r.ev_action::text NOT LIKE '({{QUERY :commandType ' || CASE  -- CMD_NOTHING
           WHEN current_setting('server_version_num')::int >= 150000 THEN '7' ELSE '6' END
           || ' %' AS acts,  -- text only: a schema's own `||` (text, bigint) makes int ambiguous
       pg_get_ruledef(r.oid) AS definition, obj_description(r.oid, 'pg_rewrite') AS comment,
       ARRAY(SELECT DISTINCT d.refobjid::bigint::text FROM pg_depend d
             WHERE d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
               AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
             ORDER BY 1) AS relations,
       ARRAY(SELECT DISTINCT d.refobjid::bigint::text FROM pg_depend d
             WHERE d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
               AND d.refclassid = 'pg_proc'::regclass
             ORDER BY 1) AS functions
FROM pg_rewrite r
WHERE r.rulename <> '_RETURN' AND r.ev_class IN ({_AUDITED})
ORDER BY r.ev_class, r.rulename
"""

# key columns in order (NULL for an expression); INCLUDE columns left out
_KEYS = f"""
SELECT i.indrelid::bigint AS rel, ic.relname::text AS name, i.indisunique AS unique,
       i.indisprimary AS primary, con.contype::text AS constraint_type,
       i.indpred IS NOT NULL AS partial, i.indimmediate AS immediate, i.indisvalid AS valid,
       EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid) AS inherited,
       (SELECT array_agg(a.attname::text ORDER BY k.position)
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
        LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE k.position <= i.indnkeyatts) AS columns,
       nullif(concat_ws(E'\\n', obj_description(ic.oid, 'pg_class'),
                        obj_description(con.oid, 'pg_constraint')), '') AS comment
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_constraint con
       ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u')
WHERE i.indrelid IN ({_AUDITED})
ORDER BY i.indrelid, ic.relname
"""

# a partition's copies of its parent's keys (conparentid) are reported on the parent
_FOREIGN_KEYS = f"""
SELECT con.conrelid::bigint AS rel, con.conname::text AS name,
       (SELECT array_agg(a.attname::text ORDER BY k.position)
        FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, position)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,
       rn.nspname::text AS ref_schema, rc.relname::text AS ref_table,
       (SELECT array_agg(a.attname::text ORDER BY k.position)
        FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, position)
        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS ref_columns,
       con.confmatchtype::text = 'f' AS match_full, con.convalidated AS valid,
       con.condeferrable AS deferrable, obj_description(con.oid, 'pg_constraint') AS comment,
       con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update
FROM pg_constraint con
JOIN pg_class rc ON rc.oid = con.confrelid
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype = 'f' AND con.conrelid IN ({_AUDITED}) AND con.conparentid = 0
ORDER BY con.conrelid, con.conname
"""

# 0 in polroles is PUBLIC; a member of a policy's role may SET ROLE to it (`may_apply`), one
# with its privileges is subject to it as it is (`applies`)
_POLICIES = f"""
SELECT p.polrelid::bigint AS rel, p.polname::text AS name, p.polcmd::text AS command,
       p.polpermissive AS permissive,
       (SELECT array_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END)
        FROM unnest(p.polroles) AS r) AS roles,
       EXISTS (SELECT 1 FROM unnest(p.polroles) AS r
               WHERE r = 0 OR pg_has_role($1, r, 'MEMBER')) AS may_apply,
       EXISTS (SELECT 1 FROM unnest(p.polroles) AS r
               WHERE r = 0 OR pg_has_role($1, r, 'USAGE')) AS applies,
       pg_get_expr(p.polqual, p.polrelid) AS using,
       pg_get_expr(p.polwithcheck, p.polrelid) AS check,
       obj_description(p.oid, 'pg_policy') AS comment
FROM pg_policy p
WHERE p.polrelid IN ({_AUDITED})
ORDER BY p.polrelid, p.polname
"""

_PUBLIC_GRANTS = f"""
SELECT c.oid::bigint AS rel, g.privilege_type AS privilege, NULL::text AS column_name
FROM pg_class c, aclexplode(c.relacl) AS g
WHERE c.oid IN ({_AUDITED}) AND g.grantee = 0
UNION ALL
SELECT a.attrelid::bigint, g.privilege_type, a.attname::text
FROM pg_attribute a, aclexplode(a.attacl) AS g
WHERE a.attrelid IN ({_AUDITED}) AND NOT a.attisdropped AND g.grantee = 0
ORDER BY 1, 3 NULLS FIRST, 2
"""

# the relations each view's rewrite rule reads
_VIEW_READS = f"""
SELECT DISTINCT r.ev_class::bigint AS view, d.refobjid::bigint AS reads
FROM pg_rewrite r
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
  AND r.ev_class IN ({_AUDITED})
"""

# the schema's functions, and those created in pg_catalog or information_schema after initdb
# (oid >= FirstNormalObjectId): a built-in's name there is the schema's function, not the built-in
_FUNCTIONS = f"""
SELECT p.oid::bigint AS oid, n.nspname::text AS schema, p.proname::text AS name,
       quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '('
           || oidvectortypes(p.proargtypes) || ')' AS signature,
       l.lanname::text AS language,
       p.prosecdef AS security_definer, coalesce(p.proconfig, '{{}}')::text[] AS config,
       pg_get_userbyid(p.proowner)::text AS owner,
       p.prorettype = 'trigger'::regtype AS returns_trigger,
       pg_get_functiondef(p.oid) AS definition,
       obj_description(p.oid, 'pg_proc') AS comment,
       p.prosrc AS source,
       ARRAY(SELECT k::text FROM generate_series(0, p.pronargs - 1) AS k
             WHERE {_lossy_type("p.proargtypes[k]")} ORDER BY k) AS lossy_arguments,
       ARRAY(SELECT k.name FROM unnest(p.proallargtypes, p.proargmodes::text[], p.proargnames)
                 WITH ORDINALITY AS k(type, mode, name, n)
             WHERE k.mode IN ('o', 'b', 't') AND k.name <> '' AND {_lossy_type("k.type")}
             ORDER BY k.n) AS lossy_outputs,
       CASE WHEN p.proallargtypes IS NULL THEN ARRAY(
           SELECT a.attname::text FROM pg_type t
           JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
           WHERE t.oid = p.prorettype ORDER BY a.attnum) END AS row_columns
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.prokind IN ('f', 'p')
  AND (
    {_USER_OBJECT.format(catalog="'pg_proc'", oid="p.oid")}
    OR (p.oid >= 16384 AND n.nspname IN ('pg_catalog', 'information_schema') AND NOT EXISTS (
        SELECT 1 FROM pg_depend e
        WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e'
    ))
  )
ORDER BY n.nspname, p.proname, p.oid
"""


# the attributes of lossy types of the schema's composite types (`(row).cap`, a typed table's
# columns, the columns of a function returning the type)
_LOSSY_ATTRIBUTES = f"""
SELECT DISTINCT a.attname::text AS name
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind = 'c' AND {_USER_OBJECT.format(catalog="'pg_type'", oid="c.reltype")}
  AND ({_lossy_type("a.atttypid")}
       OR NOT coalesce((SELECT co.collisdeterministic FROM pg_collation co
                        WHERE co.oid = a.attcollation), true))
ORDER BY 1
"""


# the schema's types, for the domains a cast to which keeps `=` exact (the schema reader's
# exact_domains): every domain with its base type and the typmod and collation it gives, and
# the other types of the schema that may have a domain's name (not arrays, not a table's row)
_TYPES = f"""
SELECT t.oid::bigint AS oid, n.nspname::text AS schema, t.typname::text AS name,
       t.typtype::text AS kind, t.typbasetype::bigint AS base, bn.nspname::text AS base_schema,
       b.typname::text AS base_name, t.typtypmod AS typmod,
       (t.typcollation = 0 OR EXISTS (
           SELECT 1 FROM pg_collation co
           WHERE co.oid = t.typcollation AND co.collnamespace = 'pg_catalog'::regnamespace
             AND co.collname IN ('C', 'POSIX', 'default', 'ucs_basic'))) AS byte_collation
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_type b ON b.oid = t.typbasetype
LEFT JOIN pg_namespace bn ON bn.oid = b.typnamespace
WHERE t.typtype = 'd'
   OR ({_USER_OBJECT.format(catalog="'pg_type'", oid="t.oid")}
       AND NOT (t.typcategory = 'A' AND t.typelem <> 0)
       AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c'))
ORDER BY 1
"""
# the builtin types an exact domain may stand on (schema.py's _EXACT_BASES)
_EXACT_BASES = frozenset({"int2", "int4", "int8", "numeric", "text", "varchar", "uuid"})


# the schema's routines (and its extensions'), for the functions whose calls take and return
# exact types only (the schema reader's exact_functions); `builtin`: pg_catalog has the name.
# An extension's function (`member`: not in _FUNCTIONS) with parameters of a lossy type
# (`lossy`, 0-based; `variadic`: its last is VARIADIC) types a bare parameter given there so
_ROUTINES = f"""
SELECT p.proname::text AS name, p.prokind::text AS kind, p.proretset AS set,
       p.prorettype::bigint AS returns, p.proallargtypes IS NOT NULL AS outputs,
       ARRAY(SELECT p.proargtypes[k]::text FROM generate_series(0, p.pronargs - 1) AS k
             ORDER BY k) AS arguments,
       EXISTS (SELECT 1 FROM pg_proc b
               WHERE b.proname = p.proname AND b.pronamespace = 'pg_catalog'::regnamespace)
           AS builtin,
       EXISTS (SELECT 1 FROM pg_depend e
               WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')
           AS member,
       ARRAY(SELECT k::text FROM generate_series(0, p.pronargs - 1) AS k
             WHERE {_lossy_type("p.proargtypes[k]")} ORDER BY k) AS lossy,
       p.provariadic <> 0 AS variadic, p.pronargs::int AS arity,
       p.provolatile::text AS volatility, n.nspname::text AS schema
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
ORDER BY 1
"""
# the schema's operators and casts of a VOLATILE function: a CTE using one is materialized (a
# cast applied without `::`, or to a built-in type: `cast:*`, as the schema reader keys it);
# casts made after initdb have oids from 16384 (FirstNormalObjectId)
_VOLATILE_OPERATORS = """
SELECT o.oprname::text AS symbol
FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode
JOIN pg_namespace n ON n.oid = o.oprnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.provolatile = 'v'
UNION
SELECT CASE WHEN c.castcontext <> 'e' OR t.typnamespace = 'pg_catalog'::regnamespace
            THEN 'cast:*' ELSE 'cast:' || t.typname::text END
FROM pg_cast c JOIN pg_proc p ON p.oid = c.castfunc JOIN pg_type t ON t.oid = c.casttarget
WHERE c.oid >= 16384 AND p.provolatile = 'v'
ORDER BY 1
"""
# the oids of the exact builtin types (fixed in every PostgreSQL)
_EXACT_OIDS = {21: "int2", 23: "int4", 20: "int8", 1700: "numeric", 25: "text", 1043: "varchar",
               2950: "uuid"}  # fmt: skip


def _exact_functions(rows: list[Any], domains: dict[int, str]) -> tuple[tuple[str, str], ...]:
    """(name, builtin type returned) of each function name whose every routine is a plain
    function taking and returning exact types (`domains`: the exact domains' oids), the same
    type returned by all, and which no built-in function has."""
    types = {**_EXACT_OIDS, **domains}
    returned: dict[str, set[str | None]] = defaultdict(set)
    for row in rows:
        arguments = [int(a) for a in row["arguments"] or ()]
        plain = row["kind"] == "f" and not row["set"] and not row["outputs"] and not row["builtin"]
        if not plain or any(a not in types for a in arguments):
            returned[row["name"]].add(None)
        else:
            returned[row["name"]].add(types.get(row["returns"]))
    return tuple(
        (name, str(next(iter(found))))
        for name, found in returned.items()
        if len(found) == 1 and None not in found
    )


# the pseudo-types of functions no query calls (support, handler, trigger functions), by oid:
# internal, trigger, event_trigger, fdw_handler, index_am_handler, tsm_handler,
# language_handler, table_am_handler; and a type's input/output functions, by name
_NOT_CALLED = frozenset({2281, 2279, 3838, 3115, 325, 3310, 2280, 269})
_TYPE_IO = lazy_pattern(r"_(?:in|out|recv|send|typmod_in|typmod_out)$")


def _stable_functions(rows: list[Any]) -> tuple[str, ...]:
    """The names every routine of which (outside pg_catalog) is IMMUTABLE or STABLE, and
    `schema.name` for each schema whose routines of the name all are (as the schema reader's
    stable_functions)."""
    from tenantguard.sources.schema.nodes import stable_names

    return tuple(
        sorted(
            stable_names(
                (str(row["schema"]), str(row["name"]), str(row["volatility"]))
                for row in rows
                # no query calls it (as pgextensions lists an extension's functions)
                if row["returns"] not in _NOT_CALLED and not _TYPE_IO.search(row["name"])
            )
        )
    )


def _extension_lossy_arguments(rows: list[Any]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(name, positions) of the extensions' functions with parameters of a lossy type
    (`ST_DWithin(geometry, geometry, float8)`: 2), as the schema's functions' are read
    (Policy.lossy_arguments: -(p + 1) for a VARIADIC last parameter p, every position from
    it). The schema's own functions are read from _FUNCTIONS."""
    found = []
    for row in rows:
        lossy = [int(k) for k in row["lossy"] or ()]
        if not row["member"] or not lossy or row["kind"] not in ("f", "a", "w"):
            continue
        last = int(row["arity"]) - 1
        if row["variadic"] and lossy[-1] == last:
            lossy.append(-(last + 1))
        found.append((str(row["name"]), tuple(lossy)))
    return tuple(found)


def _exact_domain_rows(rows: list[Any]) -> list[tuple[int, str, str, str]]:
    """(oid, name, schema, builtin base) of each domain of the schema a cast to which is exact:
    its name no other type's of the schema, over an exact builtin type (or such a domain) with
    no typmod or collation of its own but PostgreSQL's byte-comparing ones."""
    domains = {r["oid"]: r for r in rows if r["kind"] == "d"}
    user = [r for r in rows if r["schema"] not in ("pg_catalog", "information_schema")]
    names: defaultdict[str, int] = defaultdict(int)
    for row in user:
        names[row["name"]] += 1
    found = []
    for row in user:
        if row["kind"] != "d" or names[row["name"]] != 1:
            continue
        current, base = row, None
        for _ in range(16):
            if current["typmod"] != -1 or not current["byte_collation"]:
                break
            below = domains.get(current["base"])
            if below is None:
                if current["base_schema"] == "pg_catalog" and current["base_name"] in _EXACT_BASES:
                    base = current["base_name"]
                break
            current = below
        if base is not None:
            found.append((row["oid"], row["name"], row["schema"], base))
    return found


# an object of the schema, or one created in pg_catalog or information_schema after initdb (oid
# >= FirstNormalObjectId), not an extension's: the functions' filter, for any catalog
def _own(catalog: str, oid: str) -> str:
    return f"""(
        n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
        AND (n.nspname NOT IN ('pg_catalog', 'information_schema') OR {oid} >= 16384)
        AND NOT EXISTS (
            SELECT 1 FROM pg_depend e
            WHERE e.classid = '{catalog}'::regclass AND e.objid = {oid} AND e.deptype = 'e'
        )
    )"""


def _calling(tree: str) -> str:
    """The built-ins an expression stored as a node tree calls (`{FUNCEXPR :funcid 2078 …`), or
    the pg_settings it reads or writes (`:relid 12104 `). (No WITH: the audit sends SELECTs.)"""
    return f"""CROSS JOIN LATERAL (
        SELECT ARRAY(SELECT DISTINCT b.name FROM ({_DANGER}) AS b(pattern, name)
                     WHERE strpos({tree}, b.pattern) > 0 ORDER BY 1) AS calls
    ) x"""


# the built-ins that change a setting or run text as SQL, as the runtime guard reads them
_DANGER = DANGER
_RELATION_PATH = "quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
_SIGNATURE = (
    "quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' "
    "|| oidvectortypes(p.proargtypes) || ')'"
)
_OPERAND = "CASE WHEN o.{0} = 0 THEN 'NONE' ELSE format_type(o.{0}, NULL) END"
_OPERATOR = (
    f"quote_ident(n.nspname) || '.' || o.oprname || '(' || {_OPERAND.format('oprleft')} || ', ' "
    f"|| {_OPERAND.format('oprright')} || ')'"
)
_AGGREGATE_FUNCTIONS = " || ' ' || ".join(
    f"':funcid ' || a.{column}::oid"
    for column in (
        "aggtransfn",
        "aggfinalfn",
        "aggcombinefn",
        "aggserialfn",
        "aggdeserialfn",
        "aggmtransfn",
        "aggminvtransfn",
        "aggmfinalfn",
    )
)

# the schema code that calls a built-in changing a setting or running text as SQL, read from the
# stored expressions: pg_depend records no dependency on a built-in (they are pinned). Each row:
# kind, name (an object of a table: as named; else as SQL writes it), calls, definition (as
# PostgreSQL prints it), path, relation, function, comment.
# Not read: a materialized view (REFRESH and CREATE restore the settings its query changes),
# index and partition-key expressions, generated columns and casts (PostgreSQL refuses these
# built-ins there: volatile, or of the wrong signature).
_SCHEMA_CODE = f"""
SELECT 'view' AS kind, c.relname::text AS name, x.calls, pg_get_viewdef(c.oid) AS definition,
       {_RELATION_PATH} AS path, c.oid::bigint AS relation, NULL::bigint AS function,
       NULL::text AS comment
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
{_calling("r.ev_action::text")}
WHERE r.rulename = '_RETURN' AND c.relkind = 'v' AND c.oid IN ({_AUDITED})
  AND cardinality(x.calls) > 0
UNION ALL
SELECT 'rule', r.rulename::text, x.calls, pg_get_ruledef(r.oid), {_RELATION_PATH},
       c.oid::bigint, NULL, NULL  -- its comment is read with the relation's rules
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
{_calling("r.ev_action::text || ' ' || r.ev_qual::text")}
WHERE r.rulename <> '_RETURN' AND c.oid IN ({_AUDITED}) AND cardinality(x.calls) > 0
UNION ALL
SELECT 'default of column', a.attname::text, x.calls, pg_get_expr(d.adbin, d.adrelid),
       {_RELATION_PATH}, c.oid::bigint, NULL, col_description(c.oid, a.attnum)
FROM pg_attrdef d
JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
JOIN pg_class c ON c.oid = d.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace
{_calling("d.adbin::text")}
WHERE c.oid IN ({_AUDITED}) AND NOT a.attisdropped AND cardinality(x.calls) > 0
UNION ALL
SELECT 'check constraint', con.conname::text, x.calls, pg_get_constraintdef(con.oid),
       {_RELATION_PATH}, c.oid::bigint, NULL, obj_description(con.oid, 'pg_constraint')
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
{_calling("con.conbin::text")}
WHERE con.contype = 'c' AND con.conislocal AND c.oid IN ({_AUDITED})
  AND cardinality(x.calls) > 0
UNION ALL
SELECT 'policy', p.polname::text, x.calls,
       concat_ws(' ', 'USING (' || pg_get_expr(p.polqual, p.polrelid) || ')',
                 'WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')'),
       {_RELATION_PATH}, c.oid::bigint, NULL, NULL
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
{_calling("coalesce(p.polqual::text, '') || ' ' || coalesce(p.polwithcheck::text, '')")}
WHERE c.oid IN ({_AUDITED}) AND cardinality(x.calls) > 0
UNION ALL
SELECT 'trigger', t.tgname::text, x.calls, pg_get_triggerdef(t.oid), {_RELATION_PATH},
       c.oid::bigint, NULL, obj_description(t.oid, 'pg_trigger')
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
{_calling("coalesce(t.tgqual::text, '')")}
WHERE NOT t.tgisinternal AND c.oid IN ({_AUDITED}) AND cardinality(x.calls) > 0
  AND NOT EXISTS (  -- a partition's clone of its parent's trigger: reported on the parent
      SELECT 1 FROM pg_depend e
      WHERE e.classid = 'pg_trigger'::regclass AND e.objid = t.oid AND e.deptype = 'P'
  )
UNION ALL
SELECT 'check constraint', quote_ident(con.conname) || ' of domain '
           || quote_ident(n.nspname) || '.' || quote_ident(t.typname),
       x.calls, pg_get_constraintdef(con.oid),
       quote_ident(n.nspname) || '.' || quote_ident(t.typname), NULL, NULL,
       obj_description(con.oid, 'pg_constraint')
FROM pg_constraint con
JOIN pg_type t ON t.oid = con.contypid JOIN pg_namespace n ON n.oid = t.typnamespace
{_calling("con.conbin::text")}
WHERE con.contype = 'c' AND {_own("pg_type", "t.oid")} AND cardinality(x.calls) > 0
UNION ALL
SELECT 'default of domain', quote_ident(n.nspname) || '.' || quote_ident(t.typname), x.calls,
       pg_get_expr(t.typdefaultbin, 0), quote_ident(n.nspname) || '.' || quote_ident(t.typname),
       NULL, NULL, obj_description(t.oid, 'pg_type')
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
{_calling("coalesce(t.typdefaultbin::text, '')")}
WHERE t.typtype = 'd' AND {_own("pg_type", "t.oid")} AND cardinality(x.calls) > 0
UNION ALL
SELECT 'argument defaults of', {_SIGNATURE}, x.calls, pg_get_function_arguments(p.oid),
       {_SIGNATURE}, NULL, p.oid::bigint, NULL
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
{_calling("coalesce(p.proargdefaults::text, '')")}
WHERE p.prokind IN ('f', 'p') AND {_own("pg_proc", "p.oid")} AND cardinality(x.calls) > 0
UNION ALL
SELECT 'aggregate', {_SIGNATURE}, x.calls, NULL, {_SIGNATURE}, NULL, NULL,
       obj_description(p.oid, 'pg_proc')
FROM pg_aggregate a
JOIN pg_proc p ON p.oid = a.aggfnoid JOIN pg_namespace n ON n.oid = p.pronamespace
{_calling(f"{_AGGREGATE_FUNCTIONS} || ' '")}
WHERE {_own("pg_proc", "p.oid")} AND cardinality(x.calls) > 0
UNION ALL
SELECT 'operator', {_OPERATOR}, x.calls, NULL, {_OPERATOR}, NULL, NULL,
       obj_description(o.oid, 'pg_operator')
FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
{_calling("':funcid ' || o.oprcode::oid || ' '")}
WHERE {_own("pg_operator", "o.oid")} AND cardinality(x.calls) > 0
ORDER BY 5, 1, 2
"""

_ROLE = """
SELECT r.rolname::text AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
       shobj_description(r.oid, 'pg_authid') AS comment,
       (SELECT array_agg(o.rolname::text ORDER BY o.rolname) FROM pg_roles o
        WHERE o.oid <> r.oid AND o.rolsuper AND pg_has_role(r.oid, o.oid, 'MEMBER')) AS superusers,
       (SELECT array_agg(o.rolname::text ORDER BY o.rolname) FROM pg_roles o
        WHERE o.oid <> r.oid AND o.rolbypassrls AND pg_has_role(r.oid, o.oid, 'MEMBER')
       ) AS bypassers
FROM pg_roles r WHERE r.rolname = $1
"""


class UnknownRole(Exception):
    """The role to audit does not exist on the server."""


@dataclass
class AuditRead:
    """What one transaction read: the catalog, and the recorded traffic if any."""

    catalog: Catalog
    statements: list[RecordedStatement] = field(default_factory=list)
    unreadable: int = 0  # recorded statements whose text this role may not see
    notes: list[str] = field(default_factory=list)


async def read_database(
    conn: asyncpg.Connection, role: str | None, *, read_traffic: bool = True
) -> AuditRead:
    """Everything the audit needs, in one REPEATABLE READ, READ ONLY transaction.

    Every statement sent here is one the proof reads without a finding: an audit leaves no
    trace in the next audit's traffic.
    """
    await conn.execute("BEGIN")
    try:
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        await conn.execute("SET LOCAL lock_timeout = '5s'")
        await conn.execute("SET LOCAL statement_timeout = '120s'")
        # the catalog queries' subplans look costly to the planner, which would JIT-compile
        # them: a second of compiling for a few milliseconds of reading
        await conn.execute("SET LOCAL jit = off")
        database = await conn.fetchval("SELECT current_database()::text")
        version = await conn.fetchval("SELECT current_setting('server_version_num')::int")
        name = role or await conn.fetchval("SELECT current_user::text")
        role_row = await conn.fetchrow(_ROLE, name)
        if role_row is None:
            raise UnknownRole(name)
        audited = Role(
            role_row["name"],
            role_row["superuser"],
            role_row["bypassrls"],
            tuple((r, "superuser") for r in role_row["superusers"] or ())
            + tuple((r, "bypassrls") for r in role_row["bypassers"] or ()),
            role_row["comment"],
        )
        relation_rows = await conn.fetch(_RELATIONS, name)
        parts = {
            "columns": await conn.fetch(_COLUMNS),
            "keys": await conn.fetch(_KEYS),
            "foreign_keys": await conn.fetch(_FOREIGN_KEYS),
            "policies": await conn.fetch(_POLICIES, name),
            "grants": await conn.fetch(_PUBLIC_GRANTS),
            "reads": await conn.fetch(_VIEW_READS),
            "parents": await conn.fetch(_PARENTS),
            "rules": await conn.fetch(_RULES),
        }
        function_rows = await conn.fetch(_FUNCTIONS)
        code_rows = await conn.fetch(_SCHEMA_CODE)
        attribute_rows = await conn.fetch(_LOSSY_ATTRIBUTES)
        type_rows = await conn.fetch(_TYPES)
        routine_rows = await conn.fetch(_ROUTINES)
        operator_rows = await conn.fetch(_VOLATILE_OPERATORS)
        exact = _exact_domain_rows(type_rows)
        read = AuditRead(
            Catalog(
                database,
                version,
                audited,
                _relations(relation_rows, parts),
                tuple(_function(r) for r in function_rows),
                tuple(_schema_code(r) for r in code_rows),
                tuple(r["name"] for r in attribute_rows),
                tuple((n, s, b) for _, n, s, b in exact),
                _exact_functions(routine_rows, {oid: b for oid, _, _, b in exact}),
                _extension_lossy_arguments(routine_rows),
                _stable_functions(routine_rows),
                tuple(str(r["symbol"]) for r in operator_rows),
            )
        )
        if read_traffic:
            await _read_statements(conn, read)
    finally:
        await conn.execute("ROLLBACK")  # it wrote nothing: nothing to keep
    return read


def _relations(rows: list[Any], parts: dict[str, list[Any]]) -> tuple[Relation, ...]:
    by_relation: dict[str, defaultdict[int, list[Any]]] = {}
    for part, part_rows in parts.items():
        grouped: defaultdict[int, list[Any]] = defaultdict(list)
        for row in part_rows:
            grouped[row[0]].append(row)
        by_relation[part] = grouped
    relations = []
    for row in rows:
        oid = row["oid"]
        options = {
            key.strip().lower(): value.strip().lower()
            for key, _, value in (o.partition("=") for o in row["options"])
        }
        relations.append(
            Relation(
                oid,
                row["schema"],
                row["name"],
                row["kind"],
                row["owner"],
                row["owned_by_role"],
                row["rls"],
                row["force_rls"],
                columns=tuple(
                    Column(
                        c["name"],
                        c["type"],
                        c["not_null"],
                        c["sequence_filled"],
                        c["loose"],
                        c["lossy"] or c["loose"],
                        None if c["generated"] is None else tuple(c["generated"]),
                        _copied(c["generation"]),
                    )
                    for c in by_relation["columns"][oid]
                ),
                keys=tuple(_key(k) for k in by_relation["keys"][oid]),
                foreign_keys=tuple(
                    ForeignKey(
                        f["name"],
                        tuple(f["columns"] or ()),
                        f["ref_schema"],
                        f["ref_table"],
                        tuple(f["ref_columns"] or ()),
                        f["match_full"],
                        f["valid"],
                        f["deferrable"],
                        f["comment"],
                        f["on_delete"],
                        f["on_update"],
                    )
                    for f in by_relation["foreign_keys"][oid]
                ),
                policies=tuple(
                    RowPolicy(
                        p["name"],
                        p["command"],
                        p["permissive"],
                        tuple(p["roles"] or ()),
                        p["using"],
                        p["check"],
                        p["may_apply"],
                        p["applies"],
                        p["comment"],
                    )
                    for p in by_relation["policies"][oid]
                ),
                public_grants=tuple(
                    g["privilege"] + (f" ({g['column_name']})" if g["column_name"] else "")
                    for g in by_relation["grants"][oid]
                ),
                definition=row["definition"],
                security_invoker=options.get("security_invoker") in ("true", "on", "yes", "1"),
                reads=tuple(sorted(r["reads"] for r in by_relation["reads"][oid])),
                comment=row["comment"],
                parents=tuple(p["parent"] for p in by_relation["parents"][oid]),
                rules=tuple(
                    RewriteRule(
                        r["name"],
                        r["event"],
                        r["instead"],
                        r["acts"],
                        r["definition"],
                        tuple(int(o) for o in r["relations"]),
                        tuple(int(o) for o in r["functions"]),
                        r["comment"],
                    )
                    for r in by_relation["rules"][oid]
                ),
            )
        )
    return tuple(relations)


def _key(row: Any) -> Key:
    if row["primary"]:
        kind = "primary key"
    elif row["constraint_type"] == "u":
        kind = "unique constraint"
    else:
        kind = "unique index" if row["unique"] else "index"
    return Key(
        row["name"],
        kind,
        tuple(row["columns"] or ()),
        row["unique"],
        row["partial"],
        row["immediate"],
        row["valid"],
        row["inherited"],
        row["comment"],
    )


def _function(row: Any) -> Function:
    return Function(
        row["oid"],
        row["schema"],
        row["name"],
        row["signature"],
        row["language"],
        row["security_definer"],
        tuple(row["config"]),
        row["definition"] or "",
        row["owner"],
        row["returns_trigger"],
        row["comment"],
        row["source"] or "",
        tuple(int(n) for n in row["lossy_arguments"]),
        tuple(row["lossy_outputs"]),
        None if row["row_columns"] is None else tuple(row["row_columns"]),
    )


def _schema_code(row: Any) -> SchemaCode:
    return SchemaCode(
        row["kind"],
        row["name"],
        tuple(row["calls"]),
        row["definition"],
        row["path"],
        row["relation"],
        row["function"],
        row["comment"],
    )


_EXTENSION = """
SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'
"""
_INSUFFICIENT = "<insufficient privilege>"


async def _read_statements(conn: asyncpg.Connection, read: AuditRead) -> None:
    """The statements pg_stat_statements recorded for this database, one per (queryid, text),
    with the calls and time of every role that sent them."""
    schema = await conn.fetchval(_EXTENSION)
    database = read.catalog.database
    if schema is None:
        read.notes.append(
            f"pg_stat_statements is not installed in database {database}: its traffic is not "
            "audited (CREATE EXTENSION pg_stat_statements, with shared_preload_libraries = "
            "pg_stat_statements; or pass --statements FILE with a csvlog or jsonlog)"
        )
        return
    view = f'"{schema.replace(chr(34), chr(34) * 2)}".pg_stat_statements'
    columns = {
        r[0]
        for r in await conn.fetch(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0",
            view,
        )
    }
    # PostgreSQL 13 split total_time into planning and execution
    time = (
        "s.total_exec_time + s.total_plan_time" if "total_exec_time" in columns else "s.total_time"
    )
    query = f"""
        SELECT s.queryid, s.query, sum(s.calls)::bigint AS calls, sum({time})::float8 AS total_ms,
               array_agg(DISTINCT pg_get_userbyid(s.userid)::text ORDER BY
                         pg_get_userbyid(s.userid)::text) AS roles
        FROM {view} AS s
        WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        GROUP BY s.queryid, s.query
    """
    await conn.execute("SAVEPOINT tenantguard_traffic")  # what was read stays if this fails
    try:
        rows = await conn.fetch(query)
    except asyncpg.PostgresError as error:
        await conn.execute("ROLLBACK TO SAVEPOINT tenantguard_traffic")
        read.notes.append(
            f"pg_stat_statements cannot be read in database {database} ({error}): its traffic "
            "is not audited"
        )
        return
    for row in rows:
        text = row["query"]
        if text is None or text == _INSUFFICIENT:
            read.unreadable += 1
            continue
        if text.strip() == query.strip():  # the server keeps it without the outer blanks
            continue  # this very read, recorded by an earlier audit: not the application's
        read.statements.append(
            RecordedStatement(
                text,
                int(row["calls"] or 0),
                float(row["total_ms"] or 0.0),
                row["queryid"],
                tuple(row["roles"] or ()),
            )
        )


def _copied(generation: str | None) -> str | None:
    """The column a generated column's expression (as pg_get_expr prints it) copies, read as
    the schema reader reads one from files: `owner`, `(owner)::uuid`; else None."""
    if not generation:
        return None
    from pglast import parse_sql
    from pglast.parser import ParseError

    from tenantguard.sources.schema.nodes import copied_column

    try:
        statements = parse_sql(f"SELECT {generation}")
    except ParseError:
        return None
    targets = getattr(statements[0].stmt, "targetList", None) if len(statements) == 1 else None
    if not targets or len(targets) != 1:
        return None
    return copied_column(getattr(targets[0], "val", None))
