"""Writes whose value a foreign key checks against every tenant's rows (helper h31a).

A foreign key referencing a tenant table by a key without the tenant column (`email text
REFERENCES members (email)`, `members.email` unique in the whole table) is checked by
PostgreSQL against the referenced rows of every tenant, whatever pins the statement: an INSERT
or UPDATE giving one of its columns a value succeeds when another tenant holds the value and
fails ("violates foreign key constraint") when no tenant does — the same oracle as a unique
key without the tenant column (`engine.spanning_keys`), and the row written now points at
another tenant's. Not a key that carries the row's tenant column to the referenced one
(checked within the row's own tenant; one that fills the referenced tenant column from another
column is checked in whichever tenant that column names), nor the referenced table's primary
key (the rows' identity, which applications give explicitly, as round 30 reads a unique key),
nor a reference to the registry or to a global table. The keys are the policy's `checked_foreign_keys`, from the schema sources (NOT VALID keys
check new rows, DEFERRABLE ones at commit; those referencing the primary key left out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlglot import exp

from tenantguard.engine.policy import ForeignKey, Policy
from tenantguard.engine.proof import identifier_name
from tenantguard.engine.spanning_keys import key_writes

__all__ = ["ReferencedWrite", "ReferencingWrite", "referenced_writes", "referencing_writes"]


@dataclass(frozen=True, slots=True)
class ReferencingWrite:
    """A write giving `column` of `table` a value that `key` checks in another tenant table."""

    node: exp.Expression  # the INSERT, UPDATE, MERGE action or ON CONFLICT … DO UPDATE
    table: str
    column: str
    key: ForeignKey


@dataclass(frozen=True, slots=True)
class ReferencedWrite:
    """A DELETE of rows of `key.ref_table`, or an UPDATE of its referenced columns, that rows
    of `table` of another tenant may reference by `key`."""

    node: exp.Expression  # the DELETE, UPDATE, MERGE action or ON CONFLICT … DO UPDATE
    table: str
    key: ForeignKey


_CACHE: list[tuple[Policy, dict[str, tuple[ForeignKey, ...]]]] = []


def checked_across_tenants(policy: Policy) -> dict[str, tuple[ForeignKey, ...]]:
    """Per table, its foreign keys checked against the rows of every tenant of a tenant
    table (memoised for the last policy: a policy is immutable)."""
    if _CACHE and _CACHE[0][0] is policy:
        return _CACHE[0][1]
    found: dict[str, tuple[ForeignKey, ...]] = {}
    tenant = policy.tenant_column
    for table, keys in policy.checked_foreign_keys.items():
        checked = []
        for key in keys:
            referenced = frozenset(key.ref_columns)
            if (
                not referenced
                # the row's own tenant column to the referenced one: checked in its tenant (a
                # key mapping another column to it, `(from_ws, email) REFERENCES members
                # (ws_id, email)`, is checked in whichever tenant that column names)
                or dict(zip(key.columns, key.ref_columns, strict=False)).get(tenant) == tenant
                or not policy.is_tenant_table(key.ref_table)
                or policy.is_root_table(key.ref_table)
                or referenced == policy.constraint_columns.get(f"{key.ref_table}_pkey")
            ):
                continue
            checked.append(key)
        if checked:
            found[table] = tuple(checked)
    _CACHE[:] = [(policy, found)]
    return found


def referencing_writes(
    tree: exp.Expression, policy: Policy, nodes: Sequence[exp.Expression] | None = None
) -> list[ReferencingWrite]:
    """The statement's writes (in CTEs too) that give a column of such a key a value
    (`nodes`: as for `spanning_keys.key_writes`)."""
    checked = checked_across_tenants(policy)
    if not checked:
        return []
    keys_of = {t: tuple(frozenset(k.columns) for k in keys) for t, keys in checked.items()}
    writes = []
    for write in key_writes(tree, keys_of, nodes):
        key = next(k for k in checked[write.table] if frozenset(k.columns) == write.key)
        writes.append(ReferencingWrite(write.node, write.table, write.column, key))
    return writes


def referenced_writes(tree: exp.Expression, policy: Policy) -> list[ReferencedWrite]:
    """The statement's DELETEs (and UPDATEs of the referenced columns) of a table that such a
    key references: another tenant's row referencing one of the rows makes it fail ("is still
    referenced from table") — or, with ON DELETE / ON UPDATE CASCADE, SET NULL or SET DEFAULT,
    changes that row (TG005 says so too)."""
    referencing: dict[str, list[tuple[str, ForeignKey]]] = {}
    for table, keys in checked_across_tenants(policy).items():
        for key in keys:
            referencing.setdefault(key.ref_table, []).append((table, key))
    if not referencing:
        return []
    actions: list[tuple[exp.Expression, exp.Expression, set[str] | None]] = []
    for node in tree.find_all(exp.Delete, exp.Update, exp.Merge, exp.Insert):
        if isinstance(node, exp.Insert):  # `ON CONFLICT … DO UPDATE SET …`
            conflict = node.args.get("conflict")
            target = node.this.this if isinstance(node.this, exp.Schema) else node.this
            if isinstance(conflict, exp.OnConflict) and conflict.expressions:
                actions.append((conflict, target, _assigned(conflict)))
        elif isinstance(node, exp.Merge):  # its actions: `THEN DELETE`, `THEN UPDATE SET …`
            for when in node.find_all(exp.When):
                then = when.args.get("then")
                if isinstance(then, exp.Update):
                    actions.append((then, node.this, _assigned(then)))
                elif isinstance(then, exp.Var) and then.name.upper() == "DELETE":
                    actions.append((when, node.this, None))
        elif not isinstance(node.parent, exp.When):
            assigned = _assigned(node) if isinstance(node, exp.Update) else None
            actions.append((node, node.this, assigned))
    writes = []
    for node, target, assigned in actions:
        if not isinstance(target, exp.Table):
            continue
        for table, key in referencing.get(identifier_name(target.this), []):
            if assigned is None or assigned & set(key.ref_columns):
                writes.append(ReferencedWrite(node, table, key))
                break
    return writes


def _assigned(update: exp.Update | exp.OnConflict) -> set[str]:
    """The columns an UPDATE's SET gives a value (`a = …`, `(a, b) = …`)."""
    columns: set[str] = set()
    for assignment in update.expressions:
        if isinstance(assignment, exp.EQ):
            left = assignment.this
            for target in left.expressions if isinstance(left, exp.Tuple) else [left]:
                if isinstance(target, exp.Column):
                    columns.add(identifier_name(target.this))
    return columns


def keys_through_views(
    keys: dict[str, tuple[ForeignKey, ...]], views: Mapping[str, tuple[str, list[str] | None]]
) -> dict[str, tuple[ForeignKey, ...]]:
    """`keys` (table -> foreign keys) with those a write through a view is checked by: a view
    of one table (`spanning_keys.view_base`) writes its base's rows — checked by the base's
    keys under the names the view gives their columns, and by the keys referencing the base
    when the view shows the referenced columns (for the runtime guard: the schema sources'
    reader maps them itself, `SchemaInfo.checked_foreign_keys`)."""
    from tenantguard.engine.spanning_keys import view_base

    found = dict(keys)
    for view, (query, listed) in views.items():
        based = view_base(query, listed)
        if based is None:
            continue
        base, names = based
        shown = {b: v for v, b in names.items()} if names is not None else None

        def named(
            columns: tuple[str, ...], shown: dict[str, str] | None = shown
        ) -> tuple[str, ...] | None:
            if shown is None:
                return columns
            mapped = tuple(shown.get(c) for c in columns)
            return mapped if all(mapped) else None  # type: ignore[return-value]

        own = [
            ForeignKey(columns, k.ref_table, k.ref_columns)
            for k in keys.get(base, ())
            if (columns := named(k.columns)) is not None
        ]
        if own:
            found[view] = found.get(view, ()) + tuple(own)
        for table, referencing in keys.items():
            through = [
                ForeignKey(k.columns, view, ref)
                for k in referencing
                if k.ref_table == base and (ref := named(k.ref_columns)) is not None
            ]
            if through:
                found[table] = found.get(table, ()) + tuple(through)
    return found
