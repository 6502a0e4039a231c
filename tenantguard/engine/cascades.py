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

__all__ = ["CascadingWrite", "cascading_writes"]


@dataclass(frozen=True, slots=True)
class CascadingWrite:
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
    for node in tree.find_all(exp.Delete, exp.Update):
        table = node.this
        if not isinstance(table, exp.Table):
            continue
        name = identifier_name(table.this)
        kinds = policy.cascades.get(name)
        kind = "DELETE" if isinstance(node, exp.Delete) else "UPDATE"
        if not kinds or kind not in kinds:
            continue
        if kind == "UPDATE":
            referenced = kinds["UPDATE"]
            changed = {
                identifier_name(e.this.this)
                for e in node.expressions
                if isinstance(e, exp.EQ) and isinstance(e.this, exp.Column)
            }
            if "*" not in referenced and not changed & referenced:
                continue  # the referenced columns keep their values
        pin = _root_pin(node, table, policy) if name == policy.tenant_root else None
        found.append(CascadingWrite(kind, table, name, pin))
    return found


def _root_pin(node: exp.Expression, table: exp.Table, policy: Policy) -> PinValue | None:
    """`WHERE id = V` (the registry's key equal to a pinning value) on the registry's row."""
    where = node.args.get("where")
    if where is None:
        return None
    names = {identifier_name(table.this), table.alias_or_name}
    key = policy.tenant_root_key
    for conjunct in conjuncts(where.this):
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
