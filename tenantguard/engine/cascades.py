"""Writes that reach tables they do not name: a DELETE or UPDATE of a table that tenant tables
reference with an action (`ON DELETE CASCADE`, `SET NULL`, `SET DEFAULT`; the same `ON UPDATE`
for a change of the referenced columns) acts on every tenant's rows that reference the rows it
changes. The tenant registry's row pinned to one tenant (`DELETE FROM tenants WHERE id = $1`)
reaches that tenant's rows only: its value is a pin of the statement, checked at run time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from tenantguard.engine.policy import Policy
from tenantguard.engine.proof import PinValue, conjuncts, identifier_name, pin_value
from tenantguard.engine.proof.values import lossy_parameters

__all__ = ["CascadingWrite", "HiddenWrite", "cascading_writes", "hidden_writes"]


@dataclass(frozen=True, slots=True)
class CascadingWrite:
    """A DELETE or UPDATE whose foreign-key actions reach the rows of tenant tables."""

    kind: str  # "DELETE" or "UPDATE"
    table: exp.Table  # the table written, as the statement names it
    name: str
    pin: PinValue | None  # the registry's key equal to a pinning value; None: every tenant


def cascading_writes(tree: exp.Expression, sql: str, policy: Policy) -> list[CascadingWrite]:
    """The statement's DELETEs and UPDATEs (in CTEs too) whose foreign-key actions reach tenant
    tables."""
    if not policy.cascades:
        return []
    lowered = sql.lower()
    if not any(name.lower() in lowered for name in policy.cascades):
        return []  # a few substring tests before any walk
    found = []
    for node in tree.find_all(exp.Delete, exp.Update, exp.Merge, exp.Insert):
        table = node.this
        if isinstance(node, exp.Insert) and isinstance(table, exp.Schema):
            table = table.this
        if not isinstance(table, exp.Table):
            continue  # a MERGE's own UPDATE action, an INSERT into a function…
        name = identifier_name(table.this)
        kinds = policy.cascades.get(name)
        if not kinds:
            continue
        root = name == policy.tenant_root
        for kind, assignments, condition, pinnable in _actions(node):
            if kind not in kinds:
                continue
            if kind == "UPDATE" and not _changes(assignments, kinds["UPDATE"]):
                continue  # the referenced columns keep their values
            pin = _root_pin(condition, table, policy) if root and pinnable else None
            if pin is not None and pin in lossy_parameters(tree, policy):
                pin = None  # `id = $1` with `$1::real`: a float comparison picks several rows
            found.append(CascadingWrite(kind, table, name, pin))
    return found


_Action = tuple[str, list[exp.Expression], exp.Expression | None, bool]


def _actions(node: exp.Expression) -> list[_Action]:
    """What a statement does to its target's rows: (DELETE or UPDATE, the assignments, the
    condition that picks the rows, whether that condition can pin them)."""
    if isinstance(node, exp.Delete):
        where = node.args.get("where")
        return [("DELETE", [], where.this if where else None, True)]
    if isinstance(node, exp.Update):
        where = node.args.get("where")
        return [("UPDATE", node.expressions, where.this if where else None, True)]
    if isinstance(node, exp.Merge):
        whens = node.args.get("whens")
        out: list[_Action] = []
        for when in whens.expressions if whens is not None else ():
            if not when.args.get("matched"):
                continue  # INSERT of a new row
            # WHEN NOT MATCHED BY SOURCE acts on the target rows the ON does not pick
            pinnable = not when.args.get("source")
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                out.append(("UPDATE", then.expressions, node.args.get("on"), pinnable))
            elif isinstance(then, exp.Var) and then.name.upper() == "DELETE":
                out.append(("DELETE", [], node.args.get("on"), pinnable))
        return out
    conflict = node.args.get("conflict")
    if (
        isinstance(conflict, exp.OnConflict)
        and "UPDATE" in str(conflict.args.get("action")).upper()
    ):
        # the row updated is the one the new row collides with: not pinned by a filter
        return [("UPDATE", conflict.expressions, None, False)]
    return []


def _changes(assignments: list[exp.Expression], referenced: frozenset[str]) -> bool:
    changed: set[str] = set()
    for assignment in assignments:
        if isinstance(assignment, exp.EQ):
            target = assignment.this
            columns = target.expressions if isinstance(target, exp.Tuple) else [target]
            changed.update(identifier_name(c.this) for c in columns if isinstance(c, exp.Column))
        else:
            return True  # a form not read: it may change anything
    return "*" in referenced or bool(changed & referenced)


def _root_pin(
    condition: exp.Expression | None, table: exp.Table, policy: Policy
) -> PinValue | None:
    """`id = V` (the registry's key equal to a pinning value) picking the registry's row."""
    if condition is None:
        return None
    names = {identifier_name(table.this), table.alias_or_name}
    key = policy.tenant_root_key
    for conjunct in conjuncts(condition):
        if not isinstance(conjunct, exp.EQ):
            continue
        pair = (conjunct.this, conjunct.expression)
        for side, other in (pair, pair[::-1]):
            if (
                isinstance(side, exp.Column)
                and identifier_name(side.this) == key
                and (not side.table or side.table in names)
            ):
                value = pin_value(other, policy)
                if value is not None:
                    return value
    return None


@dataclass(frozen=True, slots=True)
class HiddenWrite:
    """A write whose relation's triggers or rules reach tenant rows the statement does not pin."""

    kind: str  # INSERT, UPDATE, DELETE or TRUNCATE ("INSERT and UPDATE": an upsert)
    table: exp.Table
    name: str
    what: str  # the trigger or rule, and why it is not pinned


def hidden_writes(tree: exp.Expression, sql: str, policy: Policy) -> list[HiddenWrite]:
    """The statement's writes (in CTEs too; COPY … FROM fires INSERT triggers) of relations
    whose triggers or rules (`policy.hidden_writes`) reach tenant rows unpinned."""
    known = policy.hidden_writes
    if not known:
        return []
    lowered = sql.lower()
    if not any(name.lower() in lowered for name in known):
        return []  # a few substring tests before any walk
    found = []
    for node in tree.find_all(
        exp.Delete, exp.Update, exp.Merge, exp.Insert, exp.TruncateTable, exp.Copy
    ):
        targets = node.expressions if isinstance(node, exp.TruncateTable) else [node.this]
        for table in targets:
            if isinstance(table, exp.Schema):
                table = table.this
            if not isinstance(table, exp.Table):
                continue
            name = identifier_name(table.this)
            kinds = known.get(name)
            if not kinds:
                continue
            fired: dict[str, list[str]] = {}  # what runs -> the kinds of write that run it
            for kind in _fired(node):
                if kind in kinds:
                    fired.setdefault(kinds[kind], []).append(kind)
            for what, written in fired.items():
                found.append(HiddenWrite(" and ".join(written), table, name, what))
    return found


def _fired(node: exp.Expression) -> list[str]:
    """The kinds of write a statement does to its target, as triggers and rules see them."""
    if isinstance(node, exp.TruncateTable):
        return ["TRUNCATE"]
    if isinstance(node, exp.Copy):
        return ["INSERT"] if node.args.get("kind") else []  # FROM: rows inserted; TO: read
    if isinstance(node, exp.Insert):
        kinds = ["INSERT"]
        conflict = node.args.get("conflict")
        if conflict is not None and "UPDATE" in str(conflict.args.get("action")).upper():
            kinds.append("UPDATE")
        return kinds
    if isinstance(node, exp.Merge):
        whens = node.args.get("whens")
        kinds = []
        for when in whens.expressions if whens is not None else ():
            then = when.args.get("then")
            if isinstance(then, exp.Insert):
                kinds.append("INSERT")
            elif isinstance(then, exp.Update):
                kinds.append("UPDATE")
            elif isinstance(then, exp.Var) and then.name.upper() == "DELETE":
                kinds.append("DELETE")
        return kinds
    return ["DELETE" if isinstance(node, exp.Delete) else "UPDATE"]
