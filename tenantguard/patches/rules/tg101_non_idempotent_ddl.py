"""TG101 non-idempotent-ddl

## What it does
Finds top-level DDL in a patch that fails or changes something when the patch runs a second
time: CREATE TABLE / INDEX / SEQUENCE / SCHEMA / EXTENSION without `IF NOT EXISTS`, CREATE
FUNCTION / VIEW / TRIGGER / RULE / AGGREGATE without `OR REPLACE`, ADD / DROP COLUMN without `IF
[NOT] EXISTS`, `ALTER TYPE … ADD VALUE`, CREATE STATISTICS / COLLATION without `IF NOT EXISTS`,
DROP … without `IF EXISTS`, and statements PostgreSQL cannot guard at all — CREATE TYPE, CREATE
POLICY, CREATE OPERATOR / CAST / PUBLICATION / EVENT TRIGGER, ADD CONSTRAINT, ATTACH PARTITION,
RENAME, RENAME VALUE — unless a `DROP … IF EXISTS` of the same object comes first in
the patch. Those belong in a `DO $$` block with a catalog check (TG102 checks the block).

## Why is this bad?
Patches run at every startup against databases in every state: fresh installs built from the
baseline, old installations, a replica that crashed half-way. A patch that is not idempotent
breaks the next start of every one of them.

## Example
```sql
ALTER TABLE leads ADD CONSTRAINT leads_patient_fkey
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id);
```

## Use instead
```sql
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'leads_patient_fkey') THEN
        ALTER TABLE leads ADD CONSTRAINT leads_patient_fkey
            FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id);
    END IF;
END
$$;
```

## Options
`patch_dir`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.patches.rules import PatchContext

RULE = RuleInfo("TG101", "non-idempotent-ddl", Severity.ERROR)

_GUARD = "write it with IF NOT EXISTS / OR REPLACE, or inside a DO $$ block with a catalog check"


def _relname(relation: Any) -> str:
    return str(getattr(relation, "relname", "") or "")


def problems(node: Any, dropped: set[tuple[str, str]]) -> list[str]:
    """Why `node` is not idempotent (empty when it is). `dropped`: (kind, name) dropped before."""
    if isinstance(node, ast.CreateStmt) and not node.if_not_exists:
        return [f"CREATE TABLE {_relname(node.relation)} without IF NOT EXISTS"]
    if isinstance(node, ast.IndexStmt) and not node.if_not_exists:
        return [f"CREATE INDEX {node.idxname or ''} without IF NOT EXISTS".replace("  ", " ")]
    if isinstance(node, ast.CreateSeqStmt) and not node.if_not_exists:
        return [f"CREATE SEQUENCE {_relname(node.sequence)} without IF NOT EXISTS"]
    if isinstance(node, ast.CreateSchemaStmt) and not node.if_not_exists:
        return [f"CREATE SCHEMA {node.schemaname} without IF NOT EXISTS"]
    if isinstance(node, ast.CreateExtensionStmt) and not node.if_not_exists:
        return [f"CREATE EXTENSION {node.extname} without IF NOT EXISTS"]
    if isinstance(node, ast.CreateFunctionStmt) and not node.replace:
        return ["CREATE FUNCTION without OR REPLACE"]
    if isinstance(node, ast.ViewStmt) and not node.replace:
        return [f"CREATE VIEW {_relname(node.view)} without OR REPLACE"]
    if (
        isinstance(node, ast.CreateTrigStmt)
        and not node.replace
        and ("trigger", node.trigname) not in dropped
    ):
        return [f"CREATE TRIGGER {node.trigname} without OR REPLACE"]
    if isinstance(node, ast.CreatePolicyStmt) and ("policy", node.policy_name) not in dropped:
        return [f"CREATE POLICY {node.policy_name} (PostgreSQL has no IF NOT EXISTS for it)"]
    if any(key in dropped for key in _created(node)):
        # `DROP … IF EXISTS x; CREATE … x`: runs again as it ran first (round 34, helper h34I:
        # the kinds TG101 learned this round, and CREATE TYPE, were flagged after their DROP)
        return []
    if isinstance(
        node,
        ast.CreateEnumStmt | ast.CompositeTypeStmt | ast.CreateDomainStmt | ast.CreateRangeStmt,
    ):
        return ["CREATE TYPE/DOMAIN (PostgreSQL has no IF NOT EXISTS for it)"]
    found = _more_problems(node)
    if found:
        return [found]
    if isinstance(node, ast.RenameStmt):
        return ["RENAME (it fails once the old name is gone)"]
    if isinstance(node, ast.DropStmt) and not node.missing_ok:
        return ["DROP without IF EXISTS"]
    if isinstance(node, ast.AlterTableStmt):
        out = []
        for command in node.cmds or ():
            kind = command.subtype
            if kind == AlterTableType.AT_AddColumn and not command.missing_ok:
                out.append(f"ADD COLUMN {command.def_.colname} without IF NOT EXISTS")
            elif kind == AlterTableType.AT_DropColumn and not command.missing_ok:
                out.append(f"DROP COLUMN {command.name} without IF EXISTS")
            elif kind == AlterTableType.AT_DropConstraint and not command.missing_ok:
                out.append(f"DROP CONSTRAINT {command.name} without IF EXISTS")
            elif kind == AlterTableType.AT_AttachPartition:
                out.append("ATTACH PARTITION (it fails once the table is a partition)")
            elif kind == AlterTableType.AT_AddConstraint:
                name = getattr(command.def_, "conname", None) or ""
                if ("constraint", name) not in dropped or not name:
                    out.append(
                        f"ADD CONSTRAINT {name} (PostgreSQL has no IF NOT EXISTS for it)".replace(
                            "  ", " "
                        )
                    )
        return out
    return []


# what PostgreSQL cannot create twice, by its kind of DefineStmt: (the guard it has, or None)
_DEFINED = {
    "OBJECT_AGGREGATE": ("CREATE AGGREGATE", "OR REPLACE"),
    "OBJECT_COLLATION": ("CREATE COLLATION", "IF NOT EXISTS"),
    "OBJECT_OPERATOR": ("CREATE OPERATOR", None),
    "OBJECT_TSCONFIGURATION": ("CREATE TEXT SEARCH CONFIGURATION", None),
    "OBJECT_TSDICTIONARY": ("CREATE TEXT SEARCH DICTIONARY", None),
    "OBJECT_TSPARSER": ("CREATE TEXT SEARCH PARSER", None),
    "OBJECT_TSTEMPLATE": ("CREATE TEXT SEARCH TEMPLATE", None),
}
_UNGUARDED = {
    ast.CreateCastStmt: "CREATE CAST",
    ast.CreatePublicationStmt: "CREATE PUBLICATION",
    ast.CreateEventTrigStmt: "CREATE EVENT TRIGGER",
    ast.CreateConversionStmt: "CREATE CONVERSION",
    ast.CreateOpClassStmt: "CREATE OPERATOR CLASS",
    ast.CreateOpFamilyStmt: "CREATE OPERATOR FAMILY",
    ast.CreateTransformStmt: "CREATE TRANSFORM",
}


def _more_problems(node: Any) -> str | None:
    """The DDL of the rarer kinds that fails when the patch runs again (round 34, helper h34G:
    `ALTER TYPE mood ADD VALUE 'calm'` passed lint, and every new install built from the
    baseline, then patched, failed on 'enum label "calm" already exists'; so did a
    no-transaction patch killed after its commit, before its ledger row)."""
    if isinstance(node, ast.AlterEnumStmt):
        if node.oldVal:
            return "RENAME VALUE (it fails once the old label is gone)"
        if not node.skipIfNewValExists:
            return "ALTER TYPE … ADD VALUE without IF NOT EXISTS"
        return None
    if isinstance(node, ast.CreateStatsStmt) and not node.if_not_exists:
        return "CREATE STATISTICS without IF NOT EXISTS"
    if isinstance(node, ast.RuleStmt) and not node.replace:
        return f"CREATE RULE {node.rulename} without OR REPLACE"
    if isinstance(node, ast.DefineStmt):
        what, guard = _DEFINED.get(getattr(node.kind, "name", ""), ("", None))
        if not what or (guard == "OR REPLACE" and node.replace):
            return None
        if guard == "IF NOT EXISTS" and node.if_not_exists:
            return None
        return f"{what} without {guard}" if guard else f"{what} ({_NO_GUARD})"
    for kind, what in _UNGUARDED.items():
        if isinstance(node, kind):
            return f"{what} ({_NO_GUARD})"
    return None


_NO_GUARD = "PostgreSQL has no IF NOT EXISTS for it"


def _name(obj: Any) -> str:
    """The last name of a DROP's object (`app.mood`, `app.=== (int, int)`, `(text AS mood)`)."""
    if isinstance(obj, ast.String):
        return str(obj.sval)
    if isinstance(obj, ast.TypeName):
        return _name((obj.names or ())[-1]) if obj.names else ""
    if isinstance(obj, ast.ObjectWithArgs):
        return _name((obj.objname or ())[-1]) if obj.objname else ""
    if isinstance(obj, tuple | list) and obj:
        if all(isinstance(part, ast.TypeName) for part in obj):
            return "->".join(_name(part) for part in obj)  # a cast: (source AS target)
        return _name(obj[-1])
    return ""


def _created(node: Any) -> list[tuple[str, str]]:
    """(DROP's kind, name) of what a statement PostgreSQL cannot guard creates: a `DROP … IF
    EXISTS` of one of them earlier in the patch makes it safe to run again."""
    if isinstance(node, ast.CreateEnumStmt | ast.CreateRangeStmt):
        return [("OBJECT_TYPE", _name(node.typeName))]
    if isinstance(node, ast.CompositeTypeStmt):
        return [("OBJECT_TYPE", _relname(node.typevar))]
    if isinstance(node, ast.CreateDomainStmt):
        return [("OBJECT_DOMAIN", _name(node.domainname)), ("OBJECT_TYPE", _name(node.domainname))]
    named = {
        ast.DefineStmt: ("", "defnames"),
        ast.CreateStatsStmt: ("OBJECT_STATISTIC_EXT", "defnames"),
        ast.CreatePublicationStmt: ("OBJECT_PUBLICATION", "pubname"),
        ast.CreateEventTrigStmt: ("OBJECT_EVENT_TRIGGER", "trigname"),
        ast.CreateConversionStmt: ("OBJECT_CONVERSION", "conversion_name"),
        ast.CreateOpClassStmt: ("OBJECT_OPCLASS", "opclassname"),
        ast.CreateOpFamilyStmt: ("OBJECT_OPFAMILY", "opfamilyname"),
        ast.RuleStmt: ("OBJECT_RULE", "rulename"),
    }
    for kind, (dropped_as, field) in named.items():
        if isinstance(node, kind):
            value = getattr(node, field)
            name = value if isinstance(value, str) else _name(value)
            return [(dropped_as or getattr(getattr(node, "kind", None), "name", ""), name)]
    if isinstance(node, ast.CreateCastStmt):
        return [("OBJECT_CAST", _name((node.sourcetype, node.targettype)))]
    return []


def drops(node: Any) -> set[tuple[str, str]]:
    """(kind, name) of objects a guarded DROP removes, so that a re-create after it is safe."""
    out: set[tuple[str, str]] = set()
    if isinstance(node, ast.DropStmt) and node.missing_ok:
        remove = node.removeType.name if node.removeType is not None else ""
        kind = {"OBJECT_TRIGGER": "trigger", "OBJECT_POLICY": "policy"}.get(remove)
        if kind:
            for obj in node.objects or ():
                names = obj if isinstance(obj, tuple) else (obj,)
                out.add((kind, getattr(names[-1], "sval", "")))
        out |= {(remove, _name(obj)) for obj in node.objects or ()}
    if isinstance(node, ast.AlterTableStmt):
        for command in node.cmds or ():
            if command.subtype == AlterTableType.AT_DropConstraint and command.missing_ok:
                out.add(("constraint", command.name or ""))
    return out


def check(ctx: PatchContext) -> Iterator[Finding]:
    dropped: set[tuple[str, str]] = set()
    for statement in ctx.source.statements:
        if statement.in_do:
            continue  # TG102 reads DO blocks
        dropped |= drops(statement.node)
        for problem in problems(statement.node, dropped):
            yield ctx.finding(
                RULE,
                statement.line,
                statement.column,
                f"{problem}: the patch fails or changes things when it runs again",
                _GUARD,
            )
