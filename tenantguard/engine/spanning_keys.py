"""Writes whose value the server checks against every tenant's rows (round 30).

A unique key or an exclusion constraint without the tenant column (`email text UNIQUE`, a
unique index on `lower(handle)`, `EXCLUDE USING gist (room WITH =, during WITH &&)`) is
checked by PostgreSQL over the whole table, whatever pins the statement: an INSERT or UPDATE
that gives one of its columns a value fails ("duplicate key value violates unique
constraint", "conflicting key value violates exclusion constraint"), or an `ON CONFLICT DO
NOTHING` skips its row, exactly when another tenant holds the value. `Policy.spanning_keys`
holds those column sets; the runtime guard reads them in the catalog. Not the primary key: the
rows' identity, which applications give explicitly (a value the shared sequence hands out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from tenantguard.engine.policy import Policy
from tenantguard.engine.proof import identifier_name

__all__ = ["SpanningWrite", "key_writes", "spanning_writes", "through_views", "view_base"]


@dataclass(frozen=True, slots=True)
class SpanningWrite:
    """A write giving `column` of `table` a value, checked by `key` across every tenant."""

    node: exp.Expression  # the INSERT, UPDATE, MERGE action or ON CONFLICT … DO UPDATE
    table: str
    column: str
    key: frozenset[str]


def spanning_writes(
    tree: exp.Expression, policy: Policy, nodes: Sequence[exp.Expression] | None = None
) -> list[SpanningWrite]:
    """The statement's writes (in CTEs too) that give a column of a spanning key a value
    (`nodes`: as for `key_writes`)."""
    return key_writes(tree, policy.spanning_keys, nodes)


def key_writes(
    tree: exp.Expression,
    keys_of: Mapping[str, tuple[frozenset[str], ...]],
    nodes: Sequence[exp.Expression] | None = None,
) -> list[SpanningWrite]:
    """The statement's writes (in CTEs too) that give a column of one of `keys_of`'s column
    sets (table -> sets) a value: the INSERT, UPDATE, MERGE action or ON CONFLICT … DO
    UPDATE, the table, the column and the set. `nodes`: the tree's INSERT and UPDATE nodes
    as `tree.find_all(exp.Insert, exp.Update)` gives them, when the caller holds them
    (`Context.inserts_and_updates`); None: the tree is walked for them."""
    if not keys_of:
        return []
    found: list[SpanningWrite] = []
    for node in tree.find_all(exp.Insert, exp.Update) if nodes is None else nodes:
        assert isinstance(node, exp.Insert | exp.Update)
        when = node.parent
        merge = when.parent.parent if isinstance(when, exp.When) and when.parent else None
        target = node.this
        if isinstance(merge, exp.Merge):
            target = merge.this  # a MERGE's action: an INSERT or UPDATE node without a table
        elif isinstance(target, exp.Schema):
            target = target.this
        if not isinstance(target, exp.Table):
            continue
        name = identifier_name(target.this)
        keys = keys_of.get(name)
        if not keys:
            continue
        written = _written(node, isinstance(merge, exp.Merge))
        for column in written:
            key = next((k for k in keys if column is None or column in k), None)
            if key is not None:
                found.append(SpanningWrite(node, name, column or sorted(key)[0], key))
                break
        if isinstance(node, exp.Insert):
            conflict = node.args.get("conflict")
            if isinstance(conflict, exp.OnConflict):
                for column in _assigned(conflict.expressions):
                    key = next((k for k in keys if column in k), None)
                    if key is not None:
                        found.append(SpanningWrite(conflict, name, column, key))
                        break
    return found


def _written(node: exp.Insert | exp.Update, in_merge: bool) -> list[str | None]:
    """The columns a write gives a value (None: every column — an INSERT without a list)."""
    if isinstance(node, exp.Update):
        return list(_assigned(node.expressions))
    listed = node.this
    if in_merge:
        if isinstance(listed, exp.Tuple):
            return _names(listed.expressions)
        return [None] if node.expression is not None else []
    if isinstance(listed, exp.Schema):
        return _names(listed.expressions)
    source = node.expression
    if source is None or node.args.get("default"):
        return []  # DEFAULT VALUES: the server's own values
    return [None]


def _names(columns: list[exp.Expression]) -> list[str | None]:
    return [name for name in map(_column_name, columns) if name is not None]


def _assigned(assignments: list[exp.Expression]) -> list[str]:
    columns: list[str] = []
    for assignment in assignments:
        if not isinstance(assignment, exp.EQ):
            continue
        left = assignment.this
        targets = left.expressions if isinstance(left, exp.Tuple) else [left]
        for target in targets:
            name = _column_name(target)
            if name is not None:
                columns.append(name)
    return columns


def _column_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Column):
        return identifier_name(node.this)
    if isinstance(node, exp.Identifier):
        return identifier_name(node)
    return None


def view_base(
    query: str, listed: list[str] | None = None
) -> tuple[str, dict[str, str] | None] | None:
    """The one table (or view) a view's query reads — PostgreSQL writes through such a view —,
    and its columns by the view's names (None: `*`, the same names); None when the query is
    no single-table SELECT."""
    from tenantguard.engine.policy import table_name

    try:
        tree = sqlglot.parse_one(query, read="postgres")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, RecursionError):
        return None
    if not isinstance(tree, exp.Select) or tree.args.get("joins"):
        return None
    source = tree.args.get("from_") or tree.args.get("from")
    table = source.this if isinstance(source, exp.From) else None
    if not isinstance(table, exp.Table):
        return None
    base = table_name(identifier_name(table.this))
    names: dict[str, str] = {}
    for position, item in enumerate(tree.expressions):
        if isinstance(item, exp.Star) or (
            isinstance(item, exp.Column) and isinstance(item.this, exp.Star)
        ):
            if len(tree.expressions) != 1 or listed:
                return None
            return base, None
        inner = item.this if isinstance(item, exp.Alias) else item
        if not isinstance(inner, exp.Column):
            continue
        shown = item.alias_or_name if isinstance(item, exp.Alias) else identifier_name(inner.this)
        if listed is not None and position < len(listed):
            shown = listed[position]
        names[table_name(shown)] = table_name(identifier_name(inner.this))
    return base, names


def through_views(
    keys: dict[str, list[frozenset[str]]], views: Mapping[str, tuple[str, list[str] | None]]
) -> dict[str, list[frozenset[str]]]:
    """`keys` (table -> spanning keys) with those a write through a view is checked by: its
    base's (views of views followed), under the names the view gives the key's columns."""
    found = {table: list(k) for table, k in keys.items()}
    bases = {name: view_base(query, listed) for name, (query, listed) in views.items()}

    def of(name: str, depth: int) -> list[frozenset[str]]:
        base = bases.get(name)
        if base is None or depth > 16:
            return list(keys.get(name, ()))
        table, names = base
        own: list[frozenset[str]] = []
        for key in of(table, depth + 1):
            shown = frozenset(v for v, b in names.items() if b in key) if names is not None else key
            if shown and shown not in own:
                own.append(shown)
        return own

    for name in views:
        through = of(name, 0)
        if through:
            found[name] = through
    return found
