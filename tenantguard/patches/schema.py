"""The schema of a database, read from the catalogs: a comparable snapshot and baseline DDL.

`snapshot()` lists, one line each and sorted, what defines the schema — tables and their row
security, columns (order, type, nullability, default, identity), constraints, indexes, triggers,
functions, policies, views, sequences, enum types — so that two databases compare as text and
differ as a readable diff. `baseline_sql()` writes DDL that rebuilds the same schema. The patch
ledger is not part of the schema.
"""

# tenantguard: ignore-file[TG009] -- catalog queries; the schema name is a module constant

from __future__ import annotations

import difflib

import asyncpg

from tenantguard.patches.runner import LEDGER

__all__ = ["baseline_sql", "diff", "snapshot"]

_SCHEMA = "current_schema()"


async def snapshot(conn: asyncpg.Connection) -> list[str]:
    lines: list[str] = []
    tables = await conn.fetch(
        f"""SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = {_SCHEMA} AND c.relkind IN ('r', 'p') AND c.relname <> $1
            ORDER BY c.relname""",
        LEDGER,
    )
    for t in tables:
        name = t["relname"]
        rls = " ROW LEVEL SECURITY" if t["relrowsecurity"] else ""
        rls += " FORCED" if t["relforcerowsecurity"] else ""
        lines.append(f"table {name}{rls}")
        columns = await conn.fetch(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
                      pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS attidentity, a.attgenerated::text AS attgenerated
               FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
               ORDER BY a.attnum""",
            t["oid"],
        )
        for position, c in enumerate(columns, 1):
            parts = [f"table {name} column {position:02d} {c['attname']} {c['type']}"]
            if c["attnotnull"]:
                parts.append("NOT NULL")
            if c["default"] is not None:
                parts.append(f"DEFAULT {c['default']}")
            if c["attidentity"]:
                parts.append(f"IDENTITY {c['attidentity']}")
            if c["attgenerated"]:
                parts.append(f"GENERATED {c['attgenerated']}")
            lines.append(" ".join(parts))
        for con in await conn.fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1",
            t["oid"],
        ):
            lines.append(f"table {name} constraint {con['conname']} {con['def']}")
    for row in await conn.fetch(
        f"SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = {_SCHEMA} AND tablename <> $1",
        LEDGER,
    ):
        lines.append(f"table {row['tablename']} index {row['indexname']} {row['indexdef']}")
    for row in await conn.fetch(
        f"""SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) AS def
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT t.tgisinternal AND n.nspname = {_SCHEMA}"""
    ):
        lines.append(f"table {row['relname']} trigger {row['tgname']} {row['def']}")
    for row in await conn.fetch(
        f"""SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
                   pg_get_functiondef(p.oid) AS def
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = {_SCHEMA} AND p.prokind IN ('f', 'p')"""
    ):
        body = " ".join(row["def"].split())
        lines.append(f"function {row['proname']}({row['args']}) {body}")
    for row in await conn.fetch(
        f"""SELECT tablename, policyname, permissive, roles::text AS roles, cmd, qual, with_check
            FROM pg_policies WHERE schemaname = {_SCHEMA}"""
    ):
        lines.append(
            f"table {row['tablename']} policy {row['policyname']} {row['permissive']} "
            f"{row['cmd']} TO {row['roles']} USING ({row['qual']}) WITH CHECK ({row['with_check']})"
        )
    for row in await conn.fetch(
        f"""SELECT c.relname, pg_get_viewdef(c.oid) AS def FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = {_SCHEMA} AND c.relkind IN ('v', 'm')"""
    ):
        lines.append(f"view {row['relname']} {' '.join(row['def'].split())}")
    for row in await conn.fetch(
        f"""SELECT s.sequencename, s.data_type, s.increment_by, s.start_value
            FROM pg_sequences s WHERE s.schemaname = {_SCHEMA} AND s.sequencename NOT LIKE $1""",
        f"{LEDGER}%",
    ):
        lines.append(
            f"sequence {row['sequencename']} {row['data_type']} increment {row['increment_by']} "
            f"start {row['start_value']}"
        )
    for row in await conn.fetch(
        f"""SELECT t.typname, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) AS labels
            FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
            JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = {_SCHEMA} GROUP BY t.typname"""
    ):
        lines.append(f"enum {row['typname']} ({row['labels']})")
    return sorted(lines)


def diff(left: list[str], right: list[str], left_name: str, right_name: str) -> str:
    return "\n".join(difflib.unified_diff(left, right, left_name, right_name, lineterm="", n=0))


def _ident(name: str) -> str:
    return (
        name
        if name.isidentifier() and name == name.lower()
        else '"' + name.replace('"', '""') + '"'
    )


async def baseline_sql(conn: asyncpg.Connection, header: str) -> str:
    """DDL that builds this database's schema on an empty database (the baseline for installs)."""
    out = [header.rstrip(), ""]
    for row in await conn.fetch(
        f"""SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels
            FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
            JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = {_SCHEMA} GROUP BY t.typname ORDER BY t.typname"""
    ):
        labels = ", ".join("'" + label.replace("'", "''") + "'" for label in row["labels"])
        out += [f"CREATE TYPE {_ident(row['typname'])} AS ENUM ({labels});", ""]
    tables = await conn.fetch(
        f"""SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = {_SCHEMA} AND c.relkind = 'r' AND c.relname <> $1
            ORDER BY c.oid""",
        LEDGER,
    )
    foreign_keys: list[str] = []
    for t in tables:
        columns = await conn.fetch(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
                      pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS attidentity,
                      (SELECT s.relname FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid
                       WHERE dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum
                         AND dep.classid = 'pg_class'::regclass AND s.relkind = 'S'
                       LIMIT 1) AS owned_sequence
               FROM pg_attribute a
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
               ORDER BY a.attnum""",
            t["oid"],
        )
        body: list[str] = []
        for c in columns:
            kind = c["type"]
            default = c["default"]
            serial = {"bigint": "bigserial", "integer": "serial", "smallint": "smallserial"}
            if (
                c["owned_sequence"]
                and default == f"nextval('{c['owned_sequence']}'::regclass)"
                and kind in serial
            ):
                kind, default = serial[kind], None
            line = f"    {_ident(c['attname'])} {kind}"
            if c["attidentity"]:
                line += (
                    " GENERATED ALWAYS AS IDENTITY"
                    if c["attidentity"] == "a"
                    else " GENERATED BY DEFAULT AS IDENTITY"
                )
            if c["attnotnull"] and kind not in serial.values() and not c["attidentity"]:
                line += " NOT NULL"
            if default is not None:
                line += f" DEFAULT {default}"
            body.append(line)
        for con in await conn.fetch(
            """SELECT conname, contype::text AS contype, pg_get_constraintdef(oid) AS def FROM pg_constraint
               WHERE conrelid = $1 ORDER BY contype = 'f', conname""",
            t["oid"],
        ):
            definition = f"CONSTRAINT {_ident(con['conname'])} {con['def']}"
            if con["contype"] == "f":
                foreign_keys.append(f"ALTER TABLE {_ident(t['relname'])} ADD {definition};")
            else:
                body.append(f"    {definition}")
        out.append(f"CREATE TABLE {_ident(t['relname'])} (")
        out.append(",\n".join(body))
        out.append(");")
        out.append("")
    if foreign_keys:
        out += [*foreign_keys, ""]
    for row in await conn.fetch(
        f"""SELECT i.indexdef FROM pg_indexes i
            WHERE i.schemaname = {_SCHEMA} AND i.tablename <> $1
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            ORDER BY i.tablename, i.indexname""",
        LEDGER,
    ):
        out.append(row["indexdef"] + ";")
    out.append("")
    for row in await conn.fetch(
        f"""SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = {_SCHEMA} AND p.prokind IN ('f', 'p') ORDER BY p.proname"""
    ):
        out += [row["def"].rstrip() + ";", ""]
    for row in await conn.fetch(
        f"""SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT t.tgisinternal AND n.nspname = {_SCHEMA} ORDER BY c.relname, t.tgname"""
    ):
        out.append(row["def"] + ";")
    for t in tables:
        if t["relrowsecurity"]:
            out.append(f"ALTER TABLE {_ident(t['relname'])} ENABLE ROW LEVEL SECURITY;")
        if t["relforcerowsecurity"]:
            out.append(f"ALTER TABLE {_ident(t['relname'])} FORCE ROW LEVEL SECURITY;")
    for row in await conn.fetch(
        f"""SELECT tablename, policyname, permissive, roles, cmd, qual, with_check
            FROM pg_policies WHERE schemaname = {_SCHEMA} ORDER BY tablename, policyname"""
    ):
        roles = ", ".join(row["roles"])
        statement = (
            f"CREATE POLICY {_ident(row['policyname'])} ON {_ident(row['tablename'])} "
            f"AS {row['permissive']} FOR {row['cmd']} TO {roles}"
        )
        if row["qual"]:
            statement += f" USING ({row['qual']})"
        if row["with_check"]:
            statement += f" WITH CHECK ({row['with_check']})"
        out.append(statement + ";")
    for row in await conn.fetch(
        f"""SELECT c.relname, pg_get_viewdef(c.oid) AS def FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = {_SCHEMA} AND c.relkind = 'v' ORDER BY c.oid"""
    ):
        out.append(f"CREATE VIEW {_ident(row['relname'])} AS {row['def'].strip()}")
    return "\n".join(out).rstrip() + "\n"
