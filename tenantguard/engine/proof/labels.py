"""How findings name a block: 'CTE "recent"', 'a subquery in the WHERE of the SELECT statement'."""

from __future__ import annotations

from sqlglot import exp

from tenantguard.engine.proof.model import Block
from tenantguard.engine.proof.syntax import alias_name

__all__ = ["block_label"]

_CLAUSES = {
    "where": "WHERE",
    "expressions": "select list",
    "joins": "JOIN",
    "having": "HAVING",
    "from_": "FROM",
    "order": "ORDER BY",
    "group": "GROUP BY",
    "using": "USING",
    "on": "ON",
}


def block_label(block: Block) -> str:
    node = block.node
    if block.parent is None and block.root:
        return f"the {block.kind} statement"
    holder = node.parent
    branch = ""
    chains = block.chains  # a union's branches and what holds it: walked once, not per block
    if isinstance(holder, exp.SetOperation | exp.Paren):
        place: exp.Expr | None = holder
        while isinstance(place, exp.SetOperation | exp.Paren):  # found at the first, as a rule
            position = chains.position(place, node)
            if position is not None:
                branch = f"branch {position + 1} of {place.key.upper()} in "
                break
            place = place.parent
        holder = chains.above(holder, subqueries=False)
    if isinstance(holder, exp.CTE):
        return f'{branch}CTE "{alias_name(holder)}"'
    if isinstance(holder, exp.Subquery):
        lateral = holder.parent
        name = alias_name(holder) or (
            alias_name(lateral) if isinstance(lateral, exp.Lateral) else ""
        )
        if isinstance(lateral, exp.Lateral):
            return f'{branch}LATERAL subquery "{name}"'
        if name:
            return f'{branch}derived table "{name}"'
    if isinstance(holder, exp.Insert | exp.Copy):
        return f"{branch}the query of the {holder.key.upper()}"
    if branch and holder is None:
        return branch.removesuffix(" in ") + " of the statement"
    return f"{branch}a subquery in {_clause_of(node, block.parent)}"


def _clause_of(node: exp.Expression, parent: Block | None) -> str:
    """Where in its enclosing block a subquery sits: 'the WHERE of the SELECT statement'."""
    if parent is None:
        return "the statement"
    current: exp.Expr = node
    while current.parent is not None and current.parent is not parent.node:
        current = current.parent
    clause = _CLAUSES.get(current.arg_key or "", (current.arg_key or "").upper())
    return f"the {clause} of {parent.label}"
