"""Where a reader's condition on a derived table's (or a view's) column runs: PostgreSQL pulls
up a plain body (one SELECT, row by row, no LIMIT/OFFSET, not MATERIALIZED, not a branch of a
set operation other than UNION ALL), and the condition joins the scan of the body's source the
column comes from — not the scan the reader's pin is pushed into. When that source is pinned
only through a join (a key, `lessons l JOIN courses c ON c.id = l.course_id`, the pin on
`c.org_id`), its scan runs the condition on every tenant's rows before the join (h38A:
`SELECT * FROM v_lesson_org WHERE org_id = $1 AND 600 / minutes > 0` failed exactly when
another org held a lesson of 0 minutes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlglot import exp

from tenantguard.engine.proof.model import Block, Source, SourceKind, Span
from tenantguard.engine.proof.names import Names
from tenantguard.engine.proof.syntax import is_star

__all__ = ["chained_scan_source"]


def chained_scan_source(
    names: Names,
    row_by_row: Callable[[Block], bool],
    block: Block,
    parts: list[exp.Expression],
    visible: Span | None,
    runs_before: Callable[[Source], bool],
    chained_columns: Mapping[str, frozenset[str]],
    depth: int = 0,
) -> Source | None:
    """The source of `block` (a derived table, CTE or view) a condition's `parts` read a column
    of, when PostgreSQL pushes the condition into the scan of a source of its body that
    `runs_before` says runs it before its pin (its pin cost unbounded: reached through a key);
    a view whose column `chained_columns` lists (found so by the schema reader, through this
    very function on the view's query). None for any other."""
    for column in parts:
        if not isinstance(column, exp.Column) or not column.name:
            continue
        derived = names.resolve(block, column, visible)
        if derived is None:
            continue
        if derived.kind is SourceKind.OTHER and column.name in _rows_from_one(
            derived, chained_columns
        ):
            return derived  # `ROWS FROM (f($1))`: one function, inlined as `f($1)` is
        if not derived.pinned and not derived.body:
            # (a derived table pinned inside — a LATERAL subquery correlated by a key,
            # `LATERAL (SELECT … FROM lessons l WHERE l.course_id = c.id) x`, a body pinned by
            # its own `c.org_id = $1` — is pulled up alike: its sources' pins are judged
            # below, by the condition's cost; h38B)
            continue
        if any(derived in nullable for _, nullable, _ in block.outer_joins):
            continue  # a placeholder evaluated at the outer join, not in the body's scan
        if derived.kind is SourceKind.TABLE:
            shown = chained_columns.get(derived.table or "")
            if (
                shown is not None
                and column.name in shown
                and not derived.node.args.get("ordinality")  # a function run whole
            ):
                return derived
            continue
        if derived.kind not in (SourceKind.DERIVED, SourceKind.CTE) or not derived.body:
            continue
        for body, item in _items_of(derived, column.name):
            node = body.node
            if not _pushed_into(node, item, row_by_row(body)):
                continue
            for inner in _columns(item):
                source = names.resolve(body, inner, None)
                if source is None or source.block is not body:
                    continue
                if source.kind is not SourceKind.TABLE or source.table in chained_columns:
                    if depth < 8 and chained_scan_source(
                        names,
                        row_by_row,
                        body,
                        [inner],
                        None,
                        runs_before,
                        chained_columns,
                        depth + 1,
                    ):
                        return derived
                    continue
                if source.pinned and source.tenant and runs_before(source):
                    return derived
    return None


def _rows_from_one(source: Source, chained_columns: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The chained columns of the one function of a `ROWS FROM (f(…))` without ORDINALITY
    (PostgreSQL inlines it as it does `f(…)`); empty for any other source."""
    node = source.node
    calls = node.args.get("rows_from") if isinstance(node, exp.Table) else None
    if not calls or len(calls) != 1 or node.args.get("ordinality"):
        return frozenset()
    call = calls[0].this if isinstance(calls[0], exp.Table) else calls[0]
    if not isinstance(call, exp.Anonymous | exp.Func):
        return frozenset()
    name = call.name if isinstance(call, exp.Anonymous) else call.sql_name()
    return chained_columns.get(name.lower(), frozenset())


def _items_of(derived: Source, name: str) -> list[tuple[Block, exp.Expression]]:
    """Each body branch of a derived table or CTE with its select-list item that outputs the
    reader's column `name`: a UNION ALL's branches by the position the first branch (or the
    column list) gives it — PostgreSQL pushes the condition into each branch."""
    bodies = derived.body
    if len(bodies) == 1:
        node = bodies[0].node
        item = _item_of(node, derived, name) if isinstance(node, exp.Select) else None
        return [] if item is None else [(bodies[0], item)]
    rows = [list(b.node.expressions) if isinstance(b.node, exp.Select) else [] for b in bodies]
    if any(not r or any(is_star(i) for i in r) for r in rows):
        return []
    if derived.column_names:
        if name not in derived.column_names:
            return []
        index = derived.column_names.index(name)
    else:
        index = next((k for k, i in enumerate(rows[0]) if i.alias_or_name == name), -1)
    if index < 0:
        return []
    return [(b, r[index]) for b, r in zip(bodies, rows, strict=True) if index < len(r)]


def _item_of(node: exp.Select, derived: Source, name: str) -> exp.Expression | None:
    """The select-list item of a body that outputs the reader's column `name` (by position
    under a column list); under a star (no column list), the bare column of that name, as
    the body's sources show it; None when unsure."""
    items = list(node.expressions)
    if any(is_star(i) for i in items):
        if derived.column_names or any(i.alias_or_name == name for i in items if not is_star(i)):
            return None
        stars = [i for i in items if is_star(i)]
        qualifier = stars[0].table if len(stars) == 1 and isinstance(stars[0], exp.Column) else ""
        column = exp.column(name, table=qualifier or None)
        column.parent = node  # resolved in the body's scope, never printed
        return column
    if derived.column_names:
        if name not in derived.column_names:
            return None
        index = derived.column_names.index(name)
        return items[index] if index < len(items) else None
    return next((i for i in items if i.alias_or_name == name), None)


def _columns(item: exp.Expression) -> list[exp.Column]:
    """The columns an item reads (the item itself when it is one)."""
    if isinstance(item, exp.Column):
        return [item]
    return list(item.find_all(exp.Column))


# clauses that keep a reader's condition out of a body (`subquery_is_pushdown_safe`)
_HELD_OUT = ("limit", "offset", "fetch", "locks", "qualify")


def _pushed_into(node: exp.Expression, item: exp.Expression, row_by_row: bool) -> bool:
    """Does PostgreSQL push a reader's condition on `item`'s column into the scans of this
    body (a branch of a set operation — UNION, INTERSECT, EXCEPT, ALL or not —: into each)?
    Row by row, yes; under DISTINCT (not ON) or GROUP BY, when the item is a plain column (a
    grouping key of GROUP BY): the condition filters the rows before they are grouped. Not
    past LIMIT/OFFSET, a locking clause, a window function, HAVING or an aggregate, nor into
    a MATERIALIZED CTE (h38A: `(SELECT DISTINCT l.title, l.minutes, c.org_id …)`, `(… UNION
    SELECT …)` divided on every org's lessons)."""
    if not isinstance(node, exp.Select):
        return False
    if isinstance(node.parent, exp.CTE) and node.parent.args.get("materialized") is True:
        return False
    if row_by_row:
        return True
    if any(node.args.get(k) for k in _HELD_OUT) or node.find(exp.Window) is not None:
        return False
    column = item.unalias()
    if not isinstance(column, exp.Column) or node.args.get("having") is not None:
        return False
    distinct = node.args.get("distinct")
    if isinstance(distinct, exp.Distinct) and distinct.args.get("on") is not None:
        return False
    group = node.args.get("group")
    if isinstance(group, exp.Group):
        if any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup", "totals")):
            return False
        return any(isinstance(k, exp.Column) and k == column for k in group.expressions)
    return isinstance(distinct, exp.Distinct)
