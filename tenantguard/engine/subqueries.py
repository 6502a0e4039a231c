"""The shapes of subqueries the proof reads: whether one may return several rows
(`several_rows`: no LIMIT 1, no single aggregate row, no equality on a unique key), whether one
returns a set, and whether it reads a column of an enclosing query (`_correlated`).

Read by TG013 (a scalar subquery's "more than one row returned by a subquery used as an
expression" fails alike on every tenant's rows). Imports no rule.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from tenantguard.engine.failing import cast_target
from tenantguard.engine.pgfunctions import (
    AGGREGATE_FUNCTIONS,
    BUILTIN_FUNCTIONS,
    SET_RETURNING_FUNCTIONS,
)
from tenantguard.engine.proof import Analysis, Block, Source, SourceKind, function_name
from tenantguard.engine.proof.syntax import conjuncts, identifier_name, is_row
from tenantguard.engine.proof.values import lossy_parameters, pin_value

_NOT_A_VALUE_UNDER = (
    *(exp.Exists, exp.Any, exp.All, exp.Array, exp.From),
    *(exp.Join, exp.Lateral, exp.Union, exp.Intersect, exp.Except),
)


def used_as_a_value(node: exp.Subquery) -> bool:
    """A subquery used as a value: not a FROM item, nor under EXISTS, IN (but an item of its
    list), ANY, ALL or ARRAY (but an element of `ARRAY[…]`)."""
    parent = node.parent
    if isinstance(parent, exp.In):
        return node.arg_key != "query"  # an item of an IN list is a value
    if isinstance(parent, exp.Array):
        # an element of `ARRAY[…]` is a value; `ARRAY((SELECT …))` is an array subquery (sqlglot
        # marks a constructor of several elements so only at times)
        return bool(parent.args.get("value_constructor")) or len(parent.expressions) > 1
    if isinstance(parent, _NOT_A_VALUE_UNDER):
        return False
    return node.args.get("alias") is None  # else a derived table


def several_rows(analysis: Analysis, node: exp.Subquery) -> bool:
    """A subquery that may return more than one row: no `LIMIT 1` (`FETCH FIRST [1] ROW
    ONLY`), and not one aggregate row (an aggregate of its own in its select list — not one
    of a subquery there —, no GROUP BY but `GROUP BY ()`) nor one row of no FROM — unless its
    select list calls a set-returning function (`SELECT unnest(…)`: a row per element) — nor
    the one row of a table whose unique key its WHERE fixes; a set operation, or a VALUES
    list of several rows."""
    body = node.this
    if isinstance(body, exp.Values):
        return len(body.expressions) > 1
    if not isinstance(body, exp.Select):
        return isinstance(body, exp.Union | exp.Intersect | exp.Except)
    limit = body.args.get("limit")
    options = limit.args.get("limit_options") if isinstance(limit, exp.Fetch) else None
    if options is not None and (options.args.get("with_ties") or options.args.get("percent")):
        pass  # FETCH FIRST 1 ROW WITH TIES: every row tied with the first
    elif isinstance(limit, exp.Limit | exp.Fetch):
        count = limit.args.get("expression" if isinstance(limit, exp.Limit) else "count")
        if count is None and isinstance(limit, exp.Fetch):
            return False  # FETCH FIRST ROW ONLY: one
        if isinstance(count, exp.Literal) and not count.is_string and _at_most_one(count):
            return False
    group = body.args.get("group")
    if group is not None and not _empty_grouping(group):
        return True
    calls = [n for e in body.expressions for n in e.walk(prune=_nested_query) if _is_call(n)]
    # a set-returning call of ORDER BY or DISTINCT ON adds rows as one of the select list does
    # (`SELECT max(x) FROM t ORDER BY generate_series(1, 2)`: two rows)
    more = list(calls)
    for key in ("order", "distinct"):
        beside = body.args.get(key)
        if beside is not None:
            more.extend(n for n in beside.walk(prune=_nested_query) if _is_call(n))
    if any(returns_a_set(c) for c in more):
        return True
    if body.args.get("from_") is None:
        return False  # SELECT expr: one row
    if any(_is_aggregate(c) for c in calls):
        return body.find(exp.Window) is not None
    return not _one_row_by_a_key(analysis, body)


def _at_most_one(count: exp.Literal) -> bool:
    """A row count of 0 or 1, however written (`01`)."""
    try:
        return int(str(count.this)) <= 1
    except ValueError:
        return False


def _empty_grouping(group: exp.Expression) -> bool:
    """`GROUP BY ()`: one group of every row (one aggregate row, as with no GROUP BY)."""
    if any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup", "totals")):
        return False
    keys = group.expressions
    return bool(keys) and all(isinstance(k, exp.Tuple) and not k.expressions for k in keys)


def _one_row_by_a_key(analysis: Analysis, body: exp.Select) -> bool:
    """`SELECT … FROM t WHERE t.k = V AND …`: one table read by its name (no join), whose
    WHERE equates, in top-level conditions (`=`, of rows too, or IS NOT DISTINCT FROM a
    literal, or of the tenant column where it is NOT NULL: `_key_equality`), each column of
    one of its unique keys
    (policy.unique_keys: not deferrable nor partial) to a value reading no column — a
    parameter or a literal, of the key column's own type (`_of_the_key_type`): at most one
    row. Not a key column of a loose type
    (`lossy_columns`: citext or a nondeterministic collation, where `=` matches rows the
    key tells apart)."""
    policy = analysis.policy
    if body.args.get("joins") or body.args.get("laterals") or not policy.unique_keys:
        return False
    block = analysis.block_of.get(id(body))
    if block is None or len(block.every_source) != 1:
        return False
    source = block.every_source[0]
    keys = policy.unique_keys.get(source.table or "", ())
    node = source.node
    if (
        not keys
        or source.kind is not SourceKind.TABLE
        or type(node) is not exp.Table
        or source.column_names is not None
        or node.args.get("rows_from")
    ):
        return False
    where = body.args.get("where")
    fixed: set[str] = set()
    never_null = source.table in policy.not_null_tenant_tables
    for conjunct in conjuncts(where.this) if isinstance(where, exp.Where) else ():
        compared = _key_equality(conjunct)
        if compared is None:
            continue
        null_safe, pairs = compared
        for left, right in pairs:
            for column, value in ((left, right), (right, left)):
                if (
                    type(column) is exp.Column
                    and analysis.resolve(block, column) is source
                    and _of_the_key_type(analysis, source, column, value)
                ):
                    name = identifier_name(column.this)
                    if null_safe and not (
                        _not_null_value(value) or (never_null and name == policy.tenant_column)
                    ):
                        continue  # NULL IS NOT DISTINCT FROM NULL: a key's NULLs are many
                    if name not in policy.lossy_columns:
                        fixed.add(name)
    return any(key <= fixed for key in keys)


def _key_equality(
    conjunct: exp.Expression,
) -> tuple[bool, list[tuple[exp.Expression, exp.Expression]]] | None:
    """The (left, right) pairs a conjunct equates, and whether it does so null-safely: `a =
    b`, `a IS NOT DISTINCT FROM b`, `NOT (a IS DISTINCT FROM b)`, and of rows of as many items
    (`(a, b) = ($1, 'x')`, `ROW(a, b) IS NOT DISTINCT FROM ROW($1, 'x')`: item by item)."""
    if type(conjunct) is exp.EQ or type(conjunct) is exp.NullSafeEQ:
        null_safe = type(conjunct) is exp.NullSafeEQ
        left, right = conjunct.this, conjunct.expression
    elif type(conjunct) is exp.Not:
        inner = conjunct.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if type(inner) is not exp.NullSafeNEQ:
            return None
        null_safe, left, right = True, inner.this, inner.expression
    else:
        return None
    if not (is_row(left) or is_row(right)):
        return null_safe, [(left, right)]
    if not (is_row(left) and is_row(right)) or len(left.expressions) != len(right.expressions):
        return None
    if any(isinstance(i, exp.Star) for i in (*left.expressions, *right.expressions)):
        return None  # `(t.*, x) = (…)`: the items pair otherwise
    return null_safe, list(zip(left.expressions, right.expressions, strict=True))


def _not_null_value(value: exp.Expression) -> bool:
    """A literal (cast, negated or in parentheses), which is never NULL."""
    while isinstance(value, exp.Paren | exp.Cast | exp.Neg):
        value = value.this
    return isinstance(value, exp.Literal)


def _of_the_key_type(
    analysis: Analysis, source: Source, column: exp.Column, value: exp.Expression
) -> bool:
    """A value that `=` compares with the key column by the column's own equality: a parameter
    (typed by the column), a literal (a string is typed by the column, a number converts
    exactly: an integer or numeric column compared with a number, a float column with the
    exact float8 promotion), or a cast of one to the column's own type (text or varchar for
    either: `code = 'a'::text`). Not a value of
    another type the column is converted to (`amount = 0.1::float8` with `amount numeric`,
    `big = 1e16::float8` with `big bigint`: several keys round to one value), nor a value with
    an explicit COLLATE (`code = 'a' COLLATE ci`, a nondeterministic collation: 'a' and 'A',
    two keys, are equal)."""
    while isinstance(value, exp.Paren):
        value = value.this
    if isinstance(value, exp.Cast):
        declared = analysis.policy.typed_columns.get(source.table or "", {})
        kind = declared.get(identifier_name(column.this))
        if kind is None or (cast_target(value) != kind and not _text_cast(value, kind)):
            return False
        value = value.this
        while isinstance(value, exp.Paren):
            value = value.this
    if isinstance(value, exp.Neg):
        value = value.this
        return isinstance(value, exp.Literal) and not value.is_string
    if isinstance(value, exp.Placeholder | exp.Parameter):
        # PostgreSQL types a parameter once, by its first use: `$2::float8` (or `$2` beside a
        # real column) anywhere makes `big = $2` compare in floating point
        pin = pin_value(value, analysis.policy)
        return pin is not None and pin not in lossy_parameters(analysis.tree, analysis.policy)
    return isinstance(value, exp.Literal)


# text and varchar compare as text (varchar has no `=` of its own): a cast of a literal or a
# parameter to either keeps a text key's own equality, under the column's collation (a loose
# column is in `lossy_columns`; an explicit COLLATE is no cast)
_TEXT_KEY_TYPES = frozenset({"text", "varchar"})
_TEXT_CASTS = frozenset({exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR})


def _text_cast(cast: exp.Cast, kind: str) -> bool:
    """A cast to text or varchar (any length: a shorter one truncates the value, still one
    value) of a value compared with a text or varchar column."""
    to = cast.args.get("to")
    return kind in _TEXT_KEY_TYPES and isinstance(to, exp.DataType) and to.this in _TEXT_CASTS


_SET_RETURNING_NODES = (exp.Explode, exp.ExplodingGenerateSeries, exp.GenerateSeries)


def _nested_query(node: exp.Expression) -> bool:
    """A query inside a select list item (its calls are another block's)."""
    return isinstance(node, exp.Subquery | exp.Select | exp.Exists)


def _is_call(node: exp.Expression) -> bool:
    return isinstance(node, exp.Func)


def _is_aggregate(call: exp.Expression) -> bool:
    """An aggregate call (sqlglot reads some as plain calls: `jsonb_agg`)."""
    if isinstance(call, exp.AggFunc):
        return True
    return isinstance(call, exp.Anonymous) and function_name(call) in AGGREGATE_FUNCTIONS


def returns_a_set(call: exp.Expression) -> bool:
    """A call of a function that may return a set: a built-in set-returning one, or one that
    is no built-in (the schema's may be declared `RETURNS SETOF`)."""
    if isinstance(call, _SET_RETURNING_NODES):
        return True
    if not isinstance(call, exp.Anonymous):
        return False
    name = function_name(call)
    return name in SET_RETURNING_FUNCTIONS or name not in BUILTIN_FUNCTIONS


def _correlated(analysis: Analysis, node: exp.Subquery) -> bool:
    """Does the subquery read a column of the block whose condition holds it (a SubPlan, run per
    row: it costs more than a pin, after which PostgreSQL runs it)? Each column is resolved as
    PostgreSQL does (`WHERE id = org_id` reads the outer row where the subquery's sources have
    no `org_id`); one that cannot be told is that block's where its qualifier names no source
    of the subquery but one of that block (a qualifier of neither — `unnest.unnest` of an
    unnamed function — is the subquery's own). A subquery reading only blocks further out is
    an initPlan of its block, run when a row first reaches it, as an uncorrelated one is. The
    body of a set operation is its branches' blocks; a VALUES list has no sources: any column
    it reads is outer."""
    holder = enclosing_block(node, analysis.block_of)
    if holder is None:
        return True
    if isinstance(node.this, exp.Values):
        return any(_column_owner(analysis, holder, c) is holder for c in node.find_all(exp.Column))
    inner: dict[int, Block] = {}
    for sub in node.find_all(exp.Select):
        found = analysis.block_of.get(id(sub))
        if found is not None:
            inner[id(sub)] = found
    if not inner:
        return True
    names = {name for block in inner.values() for name in block.named}
    for column in node.find_all(exp.Column):
        block = enclosing_block(column, inner)
        if block is None:
            continue
        owner = analysis.resolve(block, column)
        if owner is not None:
            if owner.block is holder:
                return True
            continue
        qualifier = identifier_name(column.args.get("table"))
        if qualifier and qualifier not in names and qualifier in holder.named:
            return True
    return False


def _column_owner(analysis: Analysis, block: Block, column: exp.Column) -> Block | None:
    """The block of the source `column` (read in `block`) belongs to, None if not told."""
    owner = analysis.resolve(block, column)
    return owner.block if owner is not None else None


def enclosing_block(node: exp.Expression, blocks: Mapping[int, Block]) -> Block | None:
    """The block of `blocks` (by their node) whose clauses hold `node`."""
    current = node.parent
    while current is not None:
        found = blocks.get(id(current))
        if found is not None:
            return found
        current = current.parent
    return None
