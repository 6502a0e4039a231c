"""Facts: what each filtering conjunct says of tenant columns.

`R.tenant_id = V` (either side; `IS NOT DISTINCT FROM`, `OPERATOR(pg_catalog.=)`, `BETWEEN V AND
V` or `>= V AND <= V`, `NOT (… <> V)`, `IN (V)`, `= ANY(ARRAY[V])`, a row equality pair by pair, a row-IN list whose rows all carry
the same value) pins `R` to V. `R.tenant_id = S.tenant_id` equates the two. An OR pins what every
branch pins to the same value (with `shared_rows`, a branch `R.tenant_id IS NULL` admits only
rows of no tenant and is allowed beside them). A composite foreign key `(tenant_id, x)
REFERENCES t (tenant_id, id)` of `a`, with `t.id` unique, makes `t.id = a.x` an equality of the
two tenant columns (pinning `t` from `a`, and `a` from `t` when `a`'s tenant column is NOT
NULL); so does `R.k IN (SELECT s.k FROM R s …)` with `k` unique by itself (the
same row). Anything else is a near miss when it mentions a tenant column: it explains a
reference left unpinned.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from tenantguard.engine.pgfunctions import AGGREGATE_FUNCTIONS, BUILTIN_FUNCTIONS
from tenantguard.engine.policy import Policy
from tenantguard.engine.proof.blocks import Model, exact_comparison
from tenantguard.engine.proof.model import Block, Fact, PinValue, Role, Source, SourceKind, Span
from tenantguard.engine.proof.names import Names, known_columns, projection_items
from tenantguard.engine.proof.syntax import (
    PARENS_AND_CASTS,
    calls_volatile,
    conjuncts,
    disjuncts,
    identifier_name,
    is_row,
    is_star,
    is_within,
    positional_item,
    set_branches,
    walk,
)
from tenantguard.engine.proof.values import multi_values

# what keeps a SELECT whole, a subquery of its own (not pulled up into its reader)
_KEPT_WHOLE = ("group", "having", "distinct", "limit", "offset", "fetch", "qualify", "locks")

__all__ = ["SEVERAL", "SHARED", "FactCollector"]

SEVERAL = PinValue("several", None)  # `= ANY($1)` where the policy allows several tenants
SHARED = PinValue("shared", None)  # rows of no tenant (`tenant_id IS NULL` with `shared_rows`)


# a union (`exp.A | exp.B`) written in an isinstance() is built anew at each call: tuples
_EQUALS = (exp.EQ, exp.NullSafeEQ)
_ARRAY_CONTAINS = (exp.ArrayContainedBy, exp.ArrayContainsAll)


def _equalities(conjunct: exp.Expression) -> list[tuple[exp.Expression, exp.Expression]] | None:
    """The (one side, other side) pairs an equality states, both ways round; None when the
    conjunct is no equality. A row equality `(a, b) = (x, y)` states `a = x` and `b = y`."""
    if isinstance(conjunct, _EQUALS) or _is_equals_operator(conjunct):
        left, right = conjunct.this, conjunct.expression
    elif isinstance(conjunct, exp.Not):
        # `NOT (a <> b)` is TRUE exactly where `a = b` is (NOT of NULL is NULL) (round 15)
        inner = conjunct.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        # `NOT (a IS DISTINCT FROM b)` is `a IS NOT DISTINCT FROM b` (see `_null_safe`) (round 16)
        if type(inner) is not exp.NEQ and type(inner) is not exp.NullSafeNEQ:
            return None
        left, right = inner.this, inner.expression
    elif isinstance(conjunct, exp.Case):
        compared = _case_equality(conjunct)
        if compared is None:
            return None
        left, right = compared
    elif isinstance(conjunct, _ARRAY_CONTAINS):
        left, right = _single_item(conjunct.this), _single_item(conjunct.expression)
        if left is None or right is None:
            return None
    elif isinstance(conjunct, exp.Between):
        low, high = conjunct.args.get("low"), conjunct.args.get("high")
        if low is None or high is None or low != high:
            return None
        left, right = conjunct.this, low  # `x BETWEEN V AND V` is `x = V`
    else:
        return None
    left_row, right_row = is_row(left), is_row(right)  # (asked once: most sides are none)
    if (left_row or right_row) and any(is_star(i) for i in (*left.expressions, *right.expressions)):
        return None  # `(x.*, tenant_id) = (…)`: the columns pair otherwise than the items
    if left_row and right_row and len(left.expressions) == len(right.expressions):
        sides = list(zip(left.expressions, right.expressions, strict=True))
        return [*sides, *((b, a) for a, b in sides)]
    return [(left, right), (right, left)]


def _in_own_on(condition: exp.Expression, source: Source) -> bool:
    """Is `condition` in the ON of the LEFT JOIN that joins `source` (its right side), where
    `R.tenant_id IS NULL` never holds for a row of R, and only R's rows are filtered?"""
    on: object = None
    node: object = condition
    while isinstance(node, exp.Expression) and not isinstance(node, exp.Join):
        if node.arg_key == "on":
            on = node
        node = node.parent
    if not isinstance(node, exp.Join) or on is None or node.args.get("on") is not on:
        return False
    if (node.args.get("side") or "").upper() != "LEFT":
        return False
    right = node.this
    inner: object = source.node
    while isinstance(inner, exp.Expression) and inner is not right:
        inner = inner.parent
    return inner is right


def _null_safe(conjunct: exp.Expression) -> bool:
    """`a IS NOT DISTINCT FROM b`, or `NOT (a IS DISTINCT FROM b)`: TRUE where both are NULL."""
    if isinstance(conjunct, exp.NullSafeEQ):
        return True
    if type(conjunct) is not exp.Not:
        return False
    inner = conjunct.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    return type(inner) is exp.NullSafeNEQ


def _names_full_merged(block: Block, column: exp.Column, name: str) -> bool:
    """Is `column` (qualified) `j.tenant_id` of `FULL JOIN b USING (tenant_id) AS j` (PostgreSQL
    14+), the join whose merged column `block.full_merged` holds: `j` the one name of that
    join alias the block knows (no source, no other join alias of the name), its USING list
    holding the column, its right side the merged pair's right source?"""
    if column.args.get("db") or column.args.get("catalog"):
        return False
    qualifier = identifier_name(column.args.get("table"))
    if (
        len(block.using_aliases.get(qualifier, ())) != 1
        or qualifier in block.named
        or qualifier in block.join_aliases
    ):
        return False
    right = block.full_merged[name][1].node
    for join in block.node.args.get("joins") or ():
        alias = join.args.get("using_alias")
        if not isinstance(alias, exp.Identifier) or identifier_name(alias) != qualifier:
            continue
        using = [identifier_name(c) for c in join.args.get("using") or ()]
        side = (join.args.get("side") or "").upper()
        return (
            side == "FULL" and name in using and right is not None and is_within(right, join.this)
        )
    return False


def _case_equality(case: exp.Case) -> tuple[exp.Expression, exp.Expression] | None:
    """`CASE x WHEN v THEN TRUE [ELSE FALSE | ELSE NULL] END`: TRUE exactly where `x = v` is
    (the simple CASE compares with `=`; NULL = v is not TRUE): (x, v). Anything else, None."""
    subject, ifs, default = case.this, case.args.get("ifs") or [], case.args.get("default")
    if subject is None or len(ifs) != 1:
        return None
    (branch,) = ifs
    result = branch.args.get("true")
    if not (isinstance(result, exp.Boolean) and result.this is True):
        return None
    if default is not None and not (
        type(default) is exp.Null or (type(default) is exp.Boolean and default.this is False)
    ):
        return None
    return subject, branch.this


def _null_defaulted(
    conjunct: exp.Expression,
) -> tuple[exp.Expression, exp.Expression, exp.Expression] | None:
    """(x, D, V) of `coalesce(x, D) = V` (either way round) or (x, D, D) of `nullif(x, D) IS
    NULL`: TRUE where `x = V` (D being V) or `x IS NULL`. None for anything else."""
    if type(conjunct) is exp.EQ:
        for side, other in (
            (conjunct.this, conjunct.expression),
            (conjunct.expression, conjunct.this),
        ):
            while isinstance(side, exp.Paren):
                side = side.this
            if type(side) is exp.Coalesce and len(side.expressions) == 1:
                return side.this, side.expressions[0], other
        return None
    if (
        type(conjunct) is exp.Is
        and type(conjunct.expression) is exp.Null
        and not conjunct.args.get("negate")  # `IS NOT NULL`
    ):
        inner = conjunct.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if type(inner) is exp.Nullif and inner.expression is not None:
            return inner.this, inner.expression, inner.expression
    return None


def _case_results(case: exp.Case) -> list[exp.Expression]:
    """The results of a CASE that may be TRUE: every THEN and the ELSE, but FALSE and NULL
    (a missing ELSE is NULL): a row the CASE filters passes only where the result of the
    branch it takes is TRUE. Empty when none may be."""
    results = [branch.args.get("true") for branch in case.args.get("ifs") or []]
    results.append(case.args.get("default"))
    kept: list[exp.Expression] = []
    for result in results:
        bare = result
        while isinstance(bare, exp.Paren):
            bare = bare.this
        if bare is None or type(bare) is exp.Null:
            continue
        if type(bare) is exp.Boolean and bare.this is False:
            continue
        kept.append(result)
    return kept


def _single_item(node: exp.Expression) -> exp.Expression | None:
    """The one item of `ARRAY[x]`, unless it is a bare parameter (an array, when the statement
    types it one elsewhere: then `ARRAY[$1]` holds all of its elements). `ARRAY[x] <@ ARRAY[y]`
    and `@>` are TRUE exactly where `x = y` is (a NULL element matches nothing)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if not isinstance(node, exp.Array) or len(node.expressions) != 1:
        return None
    item: exp.Expression = node.expressions[0]
    bare = item
    while isinstance(bare, exp.Paren):
        bare = bare.this
    if isinstance(bare, exp.Parameter | exp.Placeholder | exp.Select | exp.Subquery):
        return None
    return item


def _key_equalities(conjunct: exp.Expression) -> tuple[tuple[exp.Expression, exp.Expression], ...]:
    """The (left, right) pairs a conjunct equates for a foreign key's join: `=`, `OPERATOR(=)`,
    `BETWEEN x AND x`, a one-item `IN (x)`, a row equality pair by pair. Not `IS NOT DISTINCT
    FROM`: it matches a NULL key to a NULL key, which no foreign key points at."""
    kind = type(conjunct)
    if kind is exp.EQ:
        left, right = conjunct.this, conjunct.expression
        if type(left) is exp.Column and type(right) is exp.Column:
            return ((left, right),)  # the common case, without the general reading
    elif kind is exp.In:
        options = conjunct.expressions
        if len(options) == 1 and not conjunct.args.get("query"):
            return ((conjunct.this, options[0]),)
        return ()
    elif kind is not exp.Between and kind is not exp.Operator:
        return ()
    return tuple(_equalities(conjunct) or ())


# the conjuncts `_key_equalities` reads any pair of (exact types): for any other, none
_KEY_EQUALITY_KINDS: frozenset[type[exp.Expression]] = frozenset(
    {exp.EQ, exp.In, exp.Between, exp.Operator}
)


def _matching_items(items: list[exp.Expression]) -> list[exp.Expression]:
    """The items of an `IN (…)` list that may match: not NULL (also cast or in parentheses),
    which never equals anything — `x IN (V, NULL)` is TRUE exactly where `x = V` is."""
    kept = []
    for item in items:
        bare = item
        while isinstance(bare, PARENS_AND_CASTS):
            bare = bare.this
        if type(bare) is not exp.Null:
            kept.append(item)
    return kept


def _range_equalities(
    items: list[exp.Expression],
    model: Model,
    owner: Callable[[exp.Expression], Source | None] | None = None,
) -> list[tuple[exp.Expression, exp.Expression, exp.Expression]]:
    """`x >= V AND x <= V` (either side round, the two conjuncts anywhere among `items`) is
    `x = V`, as `x BETWEEN V AND V` is (round 15): (the later of the two conjuncts, x, V) for
    each such pair. V is a pinning value and the same one on both sides (an unnamed `%s` is a
    parameter of its own at each place: two of them are no pair). Two plain column references
    are one column when `owner` resolves both to the same source's tenant column
    (`d.tenant_id >= V AND tenant_id <= V`). Linear: bounds are keyed."""
    lows: dict[tuple[object, PinValue], int] = {}
    highs: dict[tuple[object, PinValue], int] = {}
    found = []
    for position, item in enumerate(items):
        kind = type(item)
        if kind is not exp.GTE and kind is not exp.LTE:
            continue
        left, right = item.this, item.expression
        # (x, V, is a lower bound of x) both ways round: `x >= V` is `V <= x`
        for column, other, low in ((left, right, kind is exp.GTE), (right, left, kind is exp.LTE)):
            value = model.pin_value(other)
            if value is None or not isinstance(column, exp.Expression):
                continue
            source = owner(column) if owner is not None and type(column) is exp.Column else None
            key = (id(source) if source is not None else column, value)
            mine, theirs = (lows, highs) if low else (highs, lows)
            mine.setdefault(key, position)
            if key in theirs:
                found.append((item, column, other))
    return found


def _may_be_key(side: exp.Expression, keys: frozenset[str]) -> bool:
    """Could `side` be a tenant column (or the tenant root's key) to the proof? Only a column
    of one of those names can, or a row holding one: a conservative screen that spares
    the resolution of both sides of the equalities that cannot."""
    kind = type(side)
    if kind is exp.Column:
        name = side.this
        return type(name) is exp.Identifier and identifier_name(name) in keys
    if kind is exp.Dot:  # `(p).tenant_id`
        field = side.expression
        return type(field) is exp.Identifier and identifier_name(field) in keys
    # a row `(tenant_id, id) = ($1, $2)`, or a column under parentheses, a cast or a collation
    return (
        kind is exp.Tuple
        or kind is exp.Paren
        or kind is exp.Cast
        or kind is exp.TryCast
        or kind is exp.Collate
        or (kind is exp.Coalesce and _may_be_key(side.this, keys))  # `coalesce(tenant_id, V)`
        or (kind is exp.Anonymous and (is_row(side) or _call_name(side) in keys))
    )


def _call_name(call: exp.Expression) -> str:
    """The name of a call `f(…)` as PostgreSQL folds it (`tenant_id(p)`: functional notation
    of a column)."""
    name = call.this
    return identifier_name(name) if isinstance(name, exp.Identifier) else str(name).lower()


def _is_equals_operator(node: exp.Expression) -> bool:
    """`a OPERATOR(pg_catalog.=) b`."""
    if not isinstance(node, exp.Operator):
        return False
    return str(node.args.get("operator")).replace(" ", "").lower() in ("=", "pg_catalog.=")


def values_column_pin(
    model: Model,
    names: Names,
    block: Block | None,
    side: exp.Expression,
    visible: Span | None = None,
    *,
    output: bool = False,
) -> PinValue | None:
    """A column of a `VALUES` list whose every row holds the same pinning value there:
    `(VALUES ($1, 'X-1')) v(t, e)` makes `v.t` the value `$1`, whatever the column's name.
    `output`: the column is projected or written, not compared with `=` — then a list on the
    nullable side of an outer join is no value (NULL in the rows the join extends)."""
    while isinstance(side, exp.Paren):
        side = side.this
    if type(side) is not exp.Column or block is None:
        return None
    source = names.resolve(block, side, visible)
    if source is None:
        return None
    if output and source.nullable:
        return None  # written to the tenant column, NULL makes a row of no tenant
    name = identifier_name(side.this)
    if source.kind is SourceKind.DERIVED or source.kind is SourceKind.CTE:
        return _constant_column(model, source, name)
    if source.kind is SourceKind.OTHER and type(source.node) is exp.Unnest:
        return _unnest_column(model, source, name, output)
    if source.kind is not SourceKind.VALUES or source.rows is None:
        return None
    columns = source.column_names
    if columns is None and name[:6] == "column" and name[6:7] in "123456789" and name[6:].isdigit():
        position = int(name[6:]) - 1  # `(VALUES ($1)) v`: PostgreSQL names it column1 (h36A)
    elif columns is None or name not in columns:
        return None
    else:
        position = columns.index(name)
    values = {
        model.pin_value(item)
        if isinstance(row, exp.Tuple)
        and (item := positional_item(row.expressions, position)) is not None
        else None
        for row in source.rows.expressions
    }
    return values.pop() if len(values) == 1 else None


def _unnest_column(model: Model, source: Source, name: str, output: bool) -> PinValue | None:
    """A column of `unnest(ARRAY[…], ARRAY[…]) AS k(o, i)` whose array lists the same pinning
    value in every element: `k.o` is that value in each row (round 42, h42A). The shorter
    arrays are padded with NULL, which equals nothing; projected or written (`output`), a
    NULL would make a row of no tenant, so then every array must be as long as that one."""
    columns = source.column_names
    node = source.node
    if columns is None or name not in columns or "unnest" in model.policy.functions:
        return None  # (a schema's own unnest, of exact argument types, beats pg_catalog's)
    position = columns.index(name)
    arrays = node.expressions
    if position >= len(arrays):
        return None  # WITH ORDINALITY's number
    array = arrays[position]
    if type(array) is not exp.Array or not array.expressions:
        return None
    if output and any(
        type(a) is not exp.Array or len(a.expressions) != len(array.expressions) for a in arrays
    ):
        return None
    values = {model.pin_value(item) for item in array.expressions}
    found = values.pop() if len(values) == 1 else None
    return found


def _constant_column(model: Model, source: Source, name: str) -> PinValue | None:
    """A derived table's or CTE's column that every branch of its body projects as one and the
    same pinning value: `(SELECT $1 AS o) p` makes `p.o` the value `$1` in every row it has
    (round 15). Set operations match by position: a column list, or the first branch's names,
    give it. Anything else (a column, a call, a `*`, another value), None."""
    if not source.body:
        return None
    index: int | None = None
    if source.column_names is not None:
        if name not in source.column_names:
            return None
        index = source.column_names.index(name)
    elif len(source.body) > 1:
        first = source.body[0].outputs
        if first is None or name not in first:
            return None
        index = first.index(name)
    values: set[PinValue | None] = set()
    for branch in source.body:
        items = projection_items(branch.node)
        if items is None:
            return None
        item: exp.Expression | None = None
        if index is not None:
            item = positional_item(items, index)
        else:
            named = [
                i
                for i in items
                if (isinstance(i, exp.Alias) and identifier_name(i.args.get("alias")) == name)
                or (type(i) is exp.Column and identifier_name(i.this) == name)
            ]
            item = named[0] if len(named) == 1 else None
        if item is None or is_star(item):
            return None
        if isinstance(item, exp.Alias):
            item = item.this
        values.add(model.pin_value(item))
        if None in values or len(values) > 1:
            return None
    return values.pop() if len(values) == 1 else None


# the conjuncts `_pin_fact` reads anything of (by `_equalities`, or as an IN, an OR, an IS;
# subclasses too, as its isinstance tests): any other kind says nothing of a tenant column
def _in_query(conjunct: exp.In) -> exp.Expression | None:
    """The query an IN compares with: `IN (SELECT …)`, or `IN (VALUES …)` (which sqlglot keeps
    as the list's one item)."""
    query = conjunct.args.get("query")
    if query is not None:
        return query  # type: ignore[no-any-return]
    items = conjunct.expressions
    if len(items) == 1 and type(items[0]) is exp.Values:
        return items[0]
    return None


def _subquery_operand(
    node: exp.Expression, *, scalar: bool = True, arrays: bool = False
) -> exp.Expression | None:
    """The subquery of `= ANY (SELECT …)` (and, `scalar`, of `= (SELECT …)`; and, `arrays`, of
    `= ANY (ARRAY(SELECT …))`, which holds the same values: a batch's `id = ANY (ARRAY(SELECT
    id … LIMIT n))`, round 34), or None."""
    if type(node) is exp.Any and isinstance(node.this, exp.Subquery):
        return node.this
    if scalar and type(node) is exp.Subquery:
        return node
    if arrays and type(node) is exp.Any:
        inner = _unwrapped(node.this)
        if type(inner) is exp.Array and len(inner.expressions) == 1:
            query = _unwrapped(inner.expressions[0])
            if isinstance(query, exp.Subquery):
                query = query.this
            if type(query) is exp.Select:  # one SELECT (of one column: the server's rule)
                return query
    return None


def _compared_query(conjunct: exp.Expression) -> tuple[exp.Expression, exp.Expression | None]:
    """The compared expression and the subquery of `x IN (SELECT …)`, `x = ANY (SELECT …)`, `x =
    (SELECT …)` (None for no subquery); the compared expression out of its parentheses, which
    change nothing (`(c.id) IN (…)`, h33q)."""
    if type(conjunct) is exp.In:
        return _unwrapped(conjunct.this), conjunct.args.get("query")
    return _unwrapped(conjunct.this), _subquery_operand(conjunct.expression, arrays=True)


def _unwrapped(node: exp.Expression) -> exp.Expression:
    """The expression inside its parentheses: `((c.id))` is `c.id`."""
    while type(node) is exp.Paren:
        node = node.this
    return node


def _item_name(item: exp.Expression) -> str | None:
    """A select item's name as written: its alias, or a bare column's (None otherwise)."""
    if type(item) is exp.Alias:
        return identifier_name(item.args.get("alias"))
    if type(item) is exp.Column and type(item.this) is exp.Identifier:
        return identifier_name(item.this)
    return None


def _star_key_row(
    policy: Policy, body: Block, items: list[exp.Expression], name: str
) -> tuple[Source, str] | None:
    """The table source and column a body's `*` (or `t.*`) outputs under `name`: the one source
    the stars cover that may have that column, a plain table whose columns the schema shows,
    covered by one star, and no written item of that name; every other source covered shows
    its columns, without that name. None otherwise (a name output twice is ambiguous, a join
    renamed by position, `USING` merging two tables' columns)."""
    if body.join_lists or any(_item_name(i) == name for i in items if not is_star(i)):
        return None
    covered: list[Source] = []
    for item in items:
        if not is_star(item):
            continue
        qualifier = identifier_name(item.args.get("table")) if type(item) is exp.Column else ""
        if qualifier:
            if qualifier not in body.sources:
                return None
            covered.append(body.sources[qualifier])
        else:
            covered.extend(body.every_source)
    owners = []
    for source in covered:
        columns = known_columns(policy, source)
        if columns is None:
            return None
        if name in columns:
            owners.append(source)
    if len(owners) != 1 or not _plain_table(owners[0]):
        return None
    return owners[0], name


def _key_table(source: Source) -> bool:
    """A table read whole by its name (no column list): the end of a foreign key."""
    return source.kind is SourceKind.TABLE and source.column_names is None and bool(source.table)


def _plain_table(source: Source) -> bool:
    """A table of the schema read by its name: no CTE, function or column list."""
    node = source.node
    return (
        source.kind is SourceKind.TABLE
        and source.table is not None
        and type(node) is exp.Table
        and type(node.this) is exp.Identifier
        and source.column_names is None
        and not node.args.get("rows_from")
    )


def _unchecked_key(statement: exp.Expression, column: str, changers: frozenset[str]) -> bool:
    """Does `statement`, an INSERT or UPDATE, write a row whose `column` (a foreign key's) the
    server has not checked yet where its RETURNING reads it? A key is checked at the end of the
    statement, after RETURNING (and a writable CTE's reader) computed its values from the new
    row: an INSERT's row, or an UPDATE's that SETs the column, may name another tenant's row
    until then, and an error of that computation (a CHECK's "Failing row contains (…)", a
    cast's "invalid input syntax …: …") shows that row's values (round 33, h33i). So may an
    UPDATE of a table in `changers`, whose BEFORE row trigger (or rule) may set the column."""
    kind = type(statement)
    if kind is exp.Insert:
        return True
    if kind is not exp.Update:
        return False
    target = statement.this
    if not isinstance(target, exp.Table) or identifier_name(target.this) in changers:
        return True
    for assignment in statement.args.get("expressions") or ():
        left = assignment.this if isinstance(assignment, exp.EQ) else None
        if not isinstance(left, exp.Column) or identifier_name(left.this) == column:
            return True  # (a row or a column not read: may be it)
    return False


def _same_schema(one: exp.Expression, other: exp.Expression) -> bool:
    """Two table names written with the same schema (and catalog), or both without."""
    return all(
        identifier_name(one.args.get(part)) == identifier_name(other.args.get(part))
        for part in ("db", "catalog")
    )


# types whose value an INSERT stores unchanged in a column of the very same type
_IDENTITY_TYPES = frozenset(("int2", "int4", "int8", "uuid", "text"))
_PIN_KINDS = (
    exp.EQ, exp.NullSafeEQ, exp.Operator, exp.Not, exp.Case, exp.ArrayContainedBy,
    exp.ArrayContainsAll, exp.Between, exp.In, exp.Or, exp.Is, exp.Exists,
)  # fmt: skip
_MAY_PIN: dict[type[exp.Expression], bool] = {}  # by kind met: is it one of _PIN_KINDS?


class Obligation:
    """What a key followed into a recursive CTE's anchor stands on: every recursive branch
    passes, at `index`, `column` of `row`'s table from a row pinned to `row`'s value."""

    __slots__ = ("column", "index", "recursive", "row")

    def __init__(self, row: Source, column: str, index: int, recursive: list[Block]) -> None:
        self.row = row
        self.column = column
        self.index = index
        self.recursive = recursive


class FactCollector:
    """Turns the filters of every block into facts on its sources."""

    __slots__ = (
        "_tenant_counts",
        "follow_recursion",
        "has_values",
        "keys",
        "misses",
        "model",
        "names",
        "obligations",
        "policy",
    )

    def __init__(self, model: Model, names: Names) -> None:
        self.model = model
        self.names = names
        self.policy = model.policy
        # a key followed into a recursive CTE's anchor (round 34): holds only where every
        # recursive branch passes the same key of a row pinned as the anchor's (`obligations`,
        # checked once solved: `Analysis.build` proves the statement again without them if not)
        self.follow_recursion = True
        self.obligations: list[Obligation] = []
        # the column names an equality must have on one side to say anything of a tenant
        root_key = self.policy.tenant_root_key if names.root is not None else None
        self.keys = frozenset(k for k in (self.policy.tenant_column, root_key) if k) | frozenset(
            model.renamed
        )
        # conjuncts that pin nothing: they explain a reference left unpinned (near misses)
        self.misses: list[tuple[Block, exp.Expression, Span, str, Span | None]] = []
        self.has_values = False  # a VALUES list among the sources: its columns may be pins
        self._tenant_counts: dict[str, int] | None = None  # tenant table -> times named

    def collect(self) -> None:
        # a VALUES list, or a derived table or CTE (a column of one value: round 15), or an
        # unnest of arrays (a column of one value in every element: round 42)
        self.has_values = any(
            s.kind is SourceKind.VALUES
            or s.kind is SourceKind.DERIVED
            or s.kind is SourceKind.CTE
            or (s.kind is SourceKind.OTHER and type(s.node) is exp.Unnest)
            for block in self.model.blocks
            for s in block.every_source
        )
        for block in self.model.blocks:
            for items, filtered, clause, visible in block.filters:
                if not filtered:
                    continue
                for conjunct in items:
                    if not self._pin_fact(block, conjunct, filtered, clause, visible):
                        self.misses.append((block, conjunct, filtered, clause, visible))

                def owner(
                    column: exp.Expression, b: Block = block, v: Span | None = visible
                ) -> Source | None:
                    return self.names.tenant_column_owner(b, column, v)

                for conjunct, column, value in _range_equalities(items, self.model, owner):
                    pairs = [(column, value), (value, column)]
                    self._equality_facts(block, conjunct, pairs, filtered, clause, visible)
                self._foreign_keys(block, items, filtered, clause, visible)
            if block.outer_joins:
                self._inner_by_where(block)
            for source in block.every_source:
                if source.lateral and source.kind is SourceKind.DERIVED and not source.nullable:
                    self._lateral_facts(block, source)
                if source.kind is SourceKind.VALUES:
                    self._values_fact(source)
                elif source.table is not None and source.table in self.policy.pinning_functions:
                    self._argument_facts(source)

    # conjuncts

    def _pin_fact(
        self,
        block: Block,
        conjunct: exp.Expression,
        filtered: Span,
        clause: str,
        visible: Span | None,
    ) -> bool:
        """Records what `conjunct` says of tenant columns; False when it says nothing."""
        kind = type(conjunct)
        may = _MAY_PIN.get(kind)
        if may is None:
            may = _MAY_PIN[kind] = issubclass(kind, _PIN_KINDS)
        if not may:
            return False  # `a > b`, `x LIKE y`, `EXISTS (…)`: read by none of the branches below
        if type(conjunct) is exp.EQ and not (
            _may_be_key(conjunct.this, self.keys) or _may_be_key(conjunct.expression, self.keys)
        ):
            if (
                self.policy.unique_keys
                and _subquery_operand(conjunct.expression, arrays=True) is not None
            ):
                # `id = (SELECT s.id FROM R s …)`, `id = ANY (SELECT …)`: the same row, or the
                # row a composite key of the subquery's rows points at
                return (
                    self._same_row_fact(block, conjunct, filtered, clause, visible)
                    or self._key_in_query_fact(block, conjunct, filtered, clause, visible)
                    or self._referencing_in_query_fact(block, conjunct, filtered, clause, visible)
                )
            if (
                self.has_values  # a derived table or CTE in the statement: a key may pass it
                and type(conjunct.this) is exp.Column
                and type(conjunct.expression) is exp.Column
                and self.policy.unique_keys
            ):
                # `j.id = b.id`, `b` passing the key of a pinned row of the same table
                return self._same_row_join(block, conjunct, filtered, clause, visible)
            return False  # `p.status = 'active'`, `t.patient_id = p.id`: most conjuncts
        if kind is exp.Exists:
            query = conjunct.this
            while isinstance(query, exp.Subquery | exp.Paren):
                query = query.this
            accept = filtered.__contains__
            return self._correlated_facts(block, query, accept, conjunct, f"EXISTS in {clause}")
        found = False
        if (
            isinstance(conjunct, exp.EQ)
            and type(conjunct.this) is exp.Tuple
            and _subquery_operand(conjunct.expression) is not None
        ):
            # `(tenant_id, id) = ANY (SELECT …)` is `(tenant_id, id) IN (SELECT …)`; so is
            # `(tenant_id, id) = (SELECT …)`, the one row a scalar subquery returns (round 33)
            return self._row_in_query_fact(block, conjunct, filtered, clause, visible)
        defaulted = _null_defaulted(conjunct)
        if defaulted is not None and self._null_default_fact(
            block, conjunct, defaulted, filtered, clause, visible
        ):
            return True
        pairs = _equalities(conjunct)
        if pairs is not None and block.full_merged:
            found = self._full_merged_fact(block, conjunct, pairs, filtered, clause, visible)
        if pairs is not None:
            found = self._equality_facts(block, conjunct, pairs, filtered, clause, visible) or found
        elif isinstance(conjunct, exp.In) and not _in_query(conjunct):
            found = self._in_fact(block, conjunct, filtered, clause, visible)
        elif isinstance(conjunct, exp.In) and isinstance(conjunct.this, exp.Tuple):
            found = self._row_in_query_fact(block, conjunct, filtered, clause, visible)
        elif isinstance(conjunct, exp.In) and (query := _in_query(conjunct)) is not None:
            source = self.names.tenant_column_owner(block, conjunct.this, visible)
            if source is not None and source in filtered:
                value, selected = self._subquery_pin(query)
                if value is not None:
                    source.facts.append(Fact(source, conjunct, clause, value=value))
                    found = True
                elif selected is not None and selected is not source:
                    source.facts.append(Fact(source, conjunct, clause, other=selected))
                    found = True
            elif source is None and self.policy.unique_keys:
                # `id IN (SELECT s.id FROM R s …)`: the same row; `id IN (SELECT a.x FROM a
                # …)`: the row a composite key of `a` points at
                found = (
                    self._same_row_fact(block, conjunct, filtered, clause, visible)
                    or self._key_in_query_fact(block, conjunct, filtered, clause, visible)
                    or self._referencing_in_query_fact(block, conjunct, filtered, clause, visible)
                )
        elif isinstance(conjunct, exp.Or):
            pinned, shared = self._pinned_in_every_branch(
                block, conjunct, filtered, visible, clause
            )
            for source, value in pinned:
                fact = Fact(source, conjunct, clause, value=value, null_safe=id(source) in shared)
                source.facts.append(fact)
                found = True
        elif isinstance(conjunct, exp.Case) and (results := _case_results(conjunct)):
            # `CASE WHEN c THEN tenant_id = $1 ELSE tenant_id = $1 END`: a row passes only
            # where the branch it takes is TRUE, so what every branch pins holds, as for an OR
            pinned, shared = self._pinned_in_every_branch(
                block, conjunct, filtered, visible, clause, results
            )
            for source, value in pinned:
                fact = Fact(source, conjunct, clause, value=value, null_safe=id(source) in shared)
                source.facts.append(fact)
                found = True
        elif self.policy.shared_rows and isinstance(conjunct, exp.Is):
            source = self._shared_branch(block, conjunct, visible)
            if source is not None and source in filtered:
                source.facts.append(Fact(source, conjunct, clause, value=SHARED, null_safe=True))
                found = True
        return found

    def _null_default_fact(
        self,
        block: Block,
        conjunct: exp.Expression,
        defaulted: tuple[exp.Expression, exp.Expression, exp.Expression],
        filtered: Span,
        clause: str,
        visible: Span | None,
    ) -> bool:
        """`coalesce(tenant_id, V) = V`, `nullif(tenant_id, V) IS NULL`: TRUE where `tenant_id
        = V` or `tenant_id IS NULL`, so `= V` on a table whose tenant column the schema
        declares NOT NULL (not on an outer join's nullable side, whose NULL-extended rows depend
        on every tenant's rows its ON matches); on a nullable one it also reads rows of no
        tenant: no pin."""
        column, default, compared = defaulted
        value = self.model.pin_value(default)
        if value is None or (compared is not default and self.model.pin_value(compared) != value):
            return False
        source = self.names.tenant_column_owner(block, column, visible)
        if (
            source is None
            or source not in filtered
            or source.nullable
            or source.kind is not SourceKind.TABLE
            or source.table not in self.policy.not_null_tenant_tables
        ):
            return False
        source.facts.append(Fact(source, conjunct, clause, value=value))
        return True

    def _equality_facts(
        self,
        block: Block,
        conjunct: exp.Expression,
        pairs: list[tuple[exp.Expression, exp.Expression]],
        filtered: Span,
        clause: str,
        visible: Span | None,
    ) -> bool:
        """Records what the (column side, other side) pairs of an equality say; False when
        they say nothing."""
        owner_of = self.names.tenant_column_owner
        found = False
        null_safe = _null_safe(conjunct)  # NULL IS NOT DISTINCT FROM NULL: rows of no tenant
        # each side is asked for twice (both ways round): resolved once
        owners: dict[int, Source | None] = {}
        for column_side, other_side in pairs:
            key = id(column_side)
            if key in owners:
                source = owners[key]
            else:
                source = owners[key] = owner_of(block, column_side, visible)
            if source is None or source not in filtered:
                continue
            fact: Fact | None = None
            # a bare column (`t.tenant_id = p.tenant_id`, the common other side) is no array,
            # ANY, ALL or subquery: of the readings below, only a tenant expression's (in
            # `pin_value`), a VALUES or derived table's column and another source's tenant
            # column may apply to it — the others are not asked (each would say None)
            bare_column = type(other_side) is exp.Column
            value = self.model.pin_value(other_side)
            if value is None and not bare_column:
                value = self.model.array_pin_value(other_side)
            if value is not None and null_safe and other_side.find(exp.Nullif):
                # `IS NOT DISTINCT FROM nullif($1, 0)`: NULL for tenant 0, then rows of no
                # tenant; `=` only reads nullif's NULL as matching nothing (h36B)
                value = None
            joined = False
            if value is None and self.has_values and not null_safe:
                value = self.values_pin(block, other_side, visible)
                joined = value is not None and self._joined(block, other_side, visible)
            selected: Source | None = None
            if value is None and not bare_column:
                value, selected = self._quantified_pin(conjunct, other_side, null_safe)
            if value is not None:
                fact = Fact(source, conjunct, clause, value=value, joined=joined)
            elif selected is not None and selected is not source:
                fact = Fact(source, conjunct, clause, other=selected)
            elif not bare_column and multi_values(other_side, self.policy, self.model.lossy):
                fact = Fact(source, conjunct, clause, multi=True)
            else:
                key = id(other_side)
                if key in owners:
                    other = owners[key]
                else:
                    other = owners[key] = owner_of(block, other_side, visible)
                if (
                    other is not None
                    and other is not source
                    and exact_comparison(
                        self.policy,
                        source,
                        other,
                        self.model.tenant_col,
                        self.model.column_types,
                    )
                ):
                    fact = Fact(source, conjunct, clause, other=other)
            if fact is not None:
                fact.null_safe = null_safe
                source.facts.append(fact)
                found = True
        return found

    def _quantified_pin(
        self, conjunct: exp.Expression, other_side: exp.Expression, null_safe: bool
    ) -> tuple[PinValue | None, Source | None]:
        """What the other side of an equality with a tenant column pins it to when it is a
        subquery: `= ANY (SELECT …)`, `= ALL (SELECT V)`, `= (SELECT …)` — a pinning value, or
        the source whose tenant column every row of the subquery holds (`_subquery_pin`)."""
        if (
            type(other_side) is exp.Any
            and type(conjunct) is exp.EQ
            and other_side.parent is conjunct
            and isinstance(other_side.this, exp.Subquery)
        ):
            # `= ANY (SELECT …)` is `IN (SELECT …)` (never ALL: TRUE for every row when the
            # subquery returns none)
            return self._subquery_pin(other_side.this)
        if (
            type(other_side) is exp.All
            and type(conjunct) is exp.EQ
            and other_side.parent is conjunct
        ):
            # `= ALL (SELECT V)` (round 35, h35B): a SELECT of one item and no clause returns
            # one row, so it is `= V`; ALL of no row is TRUE for every row: anything else
            # (a FROM, WHERE, LIMIT …, which may return none) pins nothing
            return self._one_row_value(other_side.this), None
        if isinstance(other_side, exp.Subquery) and not null_safe:
            # `= (SELECT V)`: the scalar subquery is V, or NULL (no row: nothing is
            # equal), or an error (several rows), as `IN (SELECT V)` is; so is
            # `= (SELECT p.tenant_id FROM p …)` once p is pinned to V
            return self._subquery_pin(other_side)
        return None, None

    def _full_merged_fact(
        self,
        block: Block,
        conjunct: exp.Expression,
        pairs: list[tuple[exp.Expression, exp.Expression]],
        filtered: Span,
        clause: str,
        visible: Span | None,
    ) -> bool:
        """`FULL JOIN b USING (tenant_id) WHERE tenant_id = $1`: matched rows have both tenant
        columns equal, unmatched rows one of them NULL: every row's non-NULL side is $1."""
        found = False
        column = self.policy.tenant_column
        for column_side, other_side in pairs:
            bare = column_side
            while isinstance(bare, exp.Paren):
                bare = bare.this
            if (
                not isinstance(bare, exp.Column)
                or identifier_name(bare.this) != column
                or column not in block.full_merged
                or _null_safe(conjunct)
            ):
                continue
            if bare.args.get("table") and not _names_full_merged(block, bare, column):
                continue
            if visible is not None and not all(s in visible for s in block.full_merged[column]):
                continue
            value = self.model.pin_value(other_side)
            if value is None:
                continue
            for source in block.full_merged[column]:
                if source in filtered:
                    source.facts.append(Fact(source, conjunct, clause, value=value))
                    found = True
        return found

    def _in_fact(
        self,
        block: Block,
        conjunct: exp.In,
        filtered: Span,
        clause: str,
        visible: Span | None,
    ) -> bool:
        items = conjunct.expressions
        left = conjunct.this
        if isinstance(left, exp.Tuple):
            # `(tenant_id, id) IN ((V, 1), (V, 2))`: one tenant when every row carries the same
            if any(is_star(i) for i in left.expressions):
                return False  # `(x.*, tenant_id) IN (…)`: the columns pair otherwise
            found = False
            for position, part in enumerate(left.expressions):
                source = self.names.tenant_column_owner(block, part, visible)
                if source is None or source not in filtered:
                    continue
                values = [
                    self.model.pin_value(item)
                    if isinstance(row, exp.Tuple)
                    and (item := positional_item(row.expressions, position)) is not None
                    else None
                    for row in items
                ]
                if values and all(values):
                    if len(set(values)) == 1:
                        source.facts.append(Fact(source, conjunct, clause, value=values[0]))
                    else:
                        source.facts.append(Fact(source, conjunct, clause, multi=True))
                    found = True
            return found
        items = _matching_items(items)
        if len(items) == 1 and self.model.pin_value(items[0]) is None:
            # `a.tenant_id IN (p.tenant_id)` is `a.tenant_id = p.tenant_id`: PostgreSQL turns
            # an IN of one item into `=` (round 27)
            one = items[0]
            pairs = [(left, one), (one, left)]
            if self._equality_facts(block, conjunct, pairs, filtered, clause, visible):
                return True
        source = self.names.tenant_column_owner(block, left, visible)
        if source is None or source not in filtered:
            return False
        values = [self.model.pin_value(item) for item in items]
        if values and values[0] is not None and all(v == values[0] for v in values):
            # `IN ($1)`, `IN ($1, $1)`: one value, however often it is written
            source.facts.append(Fact(source, conjunct, clause, value=values[0]))
            return True
        if items and all(values):
            source.facts.append(Fact(source, conjunct, clause, multi=True))
            return True
        return False

    def _row_in_query_fact(
        self,
        block: Block,
        conjunct: exp.In | exp.EQ,
        filtered: Span,
        clause: str,
        visible: Span | None,
    ) -> bool:
        """`(tenant_id, id) IN (SELECT $1, x FROM unnest($2) x)`: a row matches only a row of
        the subquery, every one of which holds V at the tenant column's place — one tenant."""
        parts = conjunct.this.expressions
        if any(is_star(p) for p in parts):
            return False
        query = (
            _in_query(conjunct)
            if type(conjunct) is exp.In
            else _subquery_operand(conjunct.expression)
        )
        if query is None:
            return False
        found = False
        for position, part in enumerate(parts):
            source = self.names.tenant_column_owner(block, part, visible)
            if source is None or source not in filtered:
                continue
            value = self._selected_value(query, position, len(parts))
            if value is not None:
                source.facts.append(Fact(source, conjunct, clause, value=value))
                found = True
                continue
            # `(tenant_id, id) IN (SELECT a.tenant_id, a.id FROM a …)`: a row matches only a
            # row of the subquery, whose item at that place is a's tenant column (round 27)
            selected = self._selected_source(query, position, len(parts))
            if selected is not None and selected is not source:
                source.facts.append(Fact(source, conjunct, clause, other=selected))
                found = True
        return found

    def _selected_value(
        self, query: exp.Expression, position: int = 0, width: int = 1
    ) -> PinValue | None:
        """`IN (SELECT V)`, `IN (SELECT V UNION SELECT V)`: every row of every branch is the
        pinning value V (its FROM, WHERE or LIMIT only repeat or drop it); anything else, None.
        With a row on the left, the item at `position` of select lists `width` items long (no
        `*`). Set operations nest as deep as the text does: an explicit stack."""
        values: set[PinValue | None] = set()
        stack = [query]
        while stack:
            node = stack.pop()
            if isinstance(node, exp.Subquery | exp.Paren):
                stack.append(node.this)
            elif isinstance(node, exp.SetOperation):
                stack.extend((node.this, node.expression))
            elif isinstance(node, exp.Values) and node.expressions:
                # `(VALUES (V))`, `IN (VALUES (V), (V))`: every row's item is V
                for row in node.expressions:
                    items = row.expressions if isinstance(row, exp.Tuple) else [row]
                    if len(items) != width:
                        return None
                    values.add(self.model.pin_value(items[position]))
            elif (
                isinstance(node, exp.Select)
                and len(node.expressions) == width
                and not any(is_star(i) for i in node.expressions)
            ):
                item = node.expressions[position]
                if isinstance(item, exp.Alias):
                    item = item.this
                values.add(self.model.pin_value(item))
            else:
                return None
            if None in values or len(values) > 1:
                return None
        return values.pop() if values else None

    def _one_row_value(self, query: object) -> PinValue | None:
        """V of `(SELECT V)`: one SELECT of one item and no other clause, which returns exactly
        one row; None for anything else."""
        while isinstance(query, exp.Subquery | exp.Paren) and not query.args.get("alias"):
            query = query.this
        if type(query) is not exp.Select or len(query.expressions) != 1:
            return None
        if any(value for key, value in query.args.items() if key != "expressions"):
            return None
        item = query.expressions[0]
        if isinstance(item, exp.Alias):
            item = item.this
        return self.model.pin_value(item)

    def _subquery_pin(self, query: exp.Expression) -> tuple[PinValue | None, Source | None]:
        """What every row of a subquery compared with (`IN`, `= ANY`, `=`) is: a pinning value
        V, or else the tenant column of one source of it (V once that source is pinned)."""
        value = self._selected_value(query)
        return value, None if value is not None else self._selected_source(query)

    def _selected_source(
        self, query: exp.Expression, position: int = 0, width: int = 1
    ) -> Source | None:
        """`(SELECT p.tenant_id FROM p …)`, one SELECT of one item: the source whose tenant
        column it selects. Every row it returns holds that source's tenant value — V once p is
        pinned to V, or NULL (an outer join's nullable side, a grouping set), which equals
        nothing. Not through a set operation (each branch would need its own). With a row on
        the left, the item at `position` of a select list `width` items long (no `*`)."""
        while isinstance(query, exp.Subquery | exp.Paren):
            query = query.this
        if not isinstance(query, exp.Select) or len(query.expressions) != width:
            return None
        if width > 1 and any(is_star(i) for i in query.expressions):
            return None
        inner = self.model.block_of.get(id(query))
        if inner is None:
            return None
        item = query.expressions[position]
        if isinstance(item, exp.Alias):
            item = item.this
        return self.names.tenant_column_owner(inner, item)

    def _single_column_query(self, query: exp.Expression) -> tuple[Block, exp.Column] | None:
        """The block and item of a subquery that is one SELECT of one bare column, or None."""
        while isinstance(query, exp.Subquery | exp.Paren):
            query = query.this
        if type(query) is not exp.Select or len(query.expressions) != 1:
            return None
        inner = self.model.block_of.get(id(query))
        item = query.expressions[0]
        if isinstance(item, exp.Alias):
            item = item.this
        item = _unwrapped(item)  # `SELECT (i.customer_id)`
        if inner is None or type(item) is not exp.Column:
            return None
        return inner, item

    def _same_row_fact(
        self,
        block: Block,
        conjunct: exp.Expression,
        filtered: Span,
        clause: str,
        visible: Span | None,
    ) -> bool:
        """`R.k IN (SELECT s.k FROM R s …)` (`= ANY (…)`, `= (…)`), where `s` reads R's very
        table by the same name (the same schema written, no CTE, no column list) and `k` is
        unique by itself there (policy.unique_keys: not deferrable, partial, nor of a table
        with children by inheritance or of a name in two schemas) and of no loose or lossy type
        (`policy.lossy_columns`: under citext or a nondeterministic collation `=` matches rows
        the key tells apart): a row of R passes only when
        its `k` equals the `k` of a row the subquery returned — that very row, whose tenant is
        `s`'s. So R's tenant column equals `s`'s (NULL where `s`'s is: read like `IS NOT
        DISTINCT FROM`, as the row is the same). Not `IS NOT DISTINCT FROM` (a NULL key, of
        any tenant's row, would match a subquery that returns none), `NOT IN`, `= ALL`, nor a
        set operation, an aggregate or a column of the outer row in the subquery."""
        column, query = _compared_query(conjunct)
        if type(column) is not exp.Column or query is None:
            return False
        name = identifier_name(column.this)
        source = self.names.resolve(block, column, visible, name)
        if (
            source is None
            or source not in filtered
            or not _plain_table(source)
            or frozenset((name,)) not in self.policy.unique_keys.get(source.table or "", ())
            or name in self.policy.lossy_columns  # citext, a loose collation: 'a' = 'A'
        ):
            return False
        single = self._single_column_query(query)
        if single is None or identifier_name(single[1].this) != name:
            return False
        inner, item = single
        selected = self.names.resolve(inner, item, None, name)
        if selected is None or selected.block is not inner:
            return False  # the outer row's own key: TRUE for every row
        if not _plain_table(selected):  # `IN (SELECT id FROM batch)`: the batch's own rows
            keyed = self._key_row(inner, item)
            selected = keyed[0] if keyed is not None and keyed[1] == name else None
        if (
            selected is None
            or selected is source
            or not _plain_table(selected)
            or selected.table != source.table
            or not _same_schema(selected.node, source.node)
        ):
            return False
        source.facts.append(Fact(source, conjunct, clause, other=selected, null_safe=True))
        return True

    def _key_in_query_fact(
        self,
        block: Block,
        conjunct: exp.Expression,
        filtered: Span,
        clause: str,
        visible: Span | None,
    ) -> bool:
        """`t.id IN (SELECT a.x FROM a …)` (`= ANY (…)`, `= (…)`) where `a` has `FOREIGN KEY
        (tenant_id, x) REFERENCES t (tenant_id, id)` and `t.id` is unique by itself (round 33):
        a row of `t` passes only where its id is the `x` of a row the subquery returned, the
        one row that key points at, which has that `a` row's tenant (NULL `x`: no match). One
        SELECT of one item, a column of a table read in the subquery itself (not the outer
        row's, nor through a set operation or an aggregate); the key of two columns only."""
        column, query = _compared_query(conjunct)
        if type(column) is not exp.Column or query is None or not self.policy.composite_keys:
            return False
        name = identifier_name(column.this)
        target = self.names.resolve(block, column, visible, name)
        if target is None or target not in filtered or not _key_table(target):
            return False
        selecting = self._query_key_column(query)
        if selecting is None:
            return False
        referencing, selected = selecting
        if not self._single_key(referencing, selected, name, target):
            return False
        target.facts.append(
            Fact(
                target,
                conjunct,
                f"{clause} (composite foreign key)",
                other=referencing,
                via_key=True,
            )
        )
        return True

    def _query_key_column(self, query: exp.Expression) -> tuple[Source, str] | None:
        """The row and column a one-column subquery of a key semi-join selects: a bare column of
        a table read in the subquery itself, or passed on by a derived table or CTE row by row
        (`IN (SELECT customer_id FROM recent)`, `recent` passing a pinned invoice's key on, as
        a join with it reads: round 34); None otherwise."""
        single = self._single_column_query(query)
        if single is None:
            return None
        inner, item = single
        selected = identifier_name(item.this)
        source = self.names.resolve(inner, item, None, selected)
        if source is None or source.block is not inner:
            return None
        if source.kind in (SourceKind.DERIVED, SourceKind.CTE):
            keyed = self._key_row(inner, item)
            if keyed is None:
                return None
            source, selected = keyed
        return (source, selected) if _key_table(source) else None

    def _single_key(self, referencing: Source, column: str, key: str, target: Source) -> bool:
        """Whether `referencing`'s table has a composite foreign key (tenant column, `column`)
        to `target`'s table (tenant column, `key`): of two columns only."""
        keys = self.policy.composite_keys_by_first.get((referencing.table or "", column, key), ())
        return any(ref == target.table and len(rest) == 1 for _, ref, rest in keys)

    def _referencing_in_query_fact(
        self,
        block: Block,
        conjunct: exp.Expression,
        filtered: Span,
        clause: str,
        visible: Span | None,
    ) -> bool:
        """`c.parent_id IN (SELECT p.id FROM categories p WHERE p.tenant_id = $1)` (`= ANY (…)`,
        `= (…)`), the other way round from `_key_in_query_fact` (round 34): the outer row has
        `FOREIGN KEY (tenant_id, parent_id) REFERENCES categories (tenant_id, id)` with `id`
        unique by itself and a NOT NULL tenant column (MATCH SIMPLE checks no row whose tenant
        column is NULL), so its key points at the one row of that id, the subquery's row, whose
        tenant it has (as the join `c.parent_id = p.id` reads). One SELECT of one bare column of
        a row read in the subquery itself, or passed through a derived table or CTE row by row
        (`_key_row`); the key of two columns only."""
        column, query = _compared_query(conjunct)
        if type(column) is not exp.Column or query is None or not self.policy.composite_keys:
            return False
        name = identifier_name(column.this)
        referencing = self.names.resolve(block, column, visible, name)
        if (
            referencing is None
            or referencing not in filtered
            or not _key_table(referencing)
            or (referencing.table or "") not in self.policy.not_null_tenant_tables
        ):
            return False
        selecting = self._query_key_column(query)
        if selecting is None:
            return False
        target, selected = selecting
        if not self._single_key(referencing, name, selected, target):
            return False
        referencing.facts.append(
            Fact(
                referencing,
                conjunct,
                f"{clause} (composite foreign key, referenced row)",
                other=target,
                via_key=True,
            )
        )
        return True

    def _same_row_join(
        self,
        block: Block,
        conjunct: exp.EQ,
        filtered: Span,
        clause: str,
        visible: Span | None,
    ) -> bool:
        """`UPDATE jobs j … FROM batch b WHERE j.id = b.id` where `batch` is `SELECT id FROM jobs
        WHERE tenant_id = $1 … LIMIT 10` (a derived table or CTE passing the key of a row of
        the same table through, row by row, under its name or another: `_key_row`) and `id`
        is unique by itself there (as `_same_row_fact` says): `j` is that very row, whose
        tenant is the body's pinned table's (round 27: a queue's claim, a batch's delete)."""
        found = False
        for key_side, other_side in (
            (conjunct.this, conjunct.expression),
            (conjunct.expression, conjunct.this),
        ):
            name = identifier_name(key_side.this)
            if name not in self.policy.unique_key_names or name in self.policy.lossy_columns:
                continue
            qualifier = other_side.args.get("table")
            if qualifier is not None:  # `a.patient_id = p.id`: most joins, told without resolving
                named = block.sources.get(identifier_name(qualifier))
                if named is not None and named.kind not in (SourceKind.DERIVED, SourceKind.CTE):
                    continue
            source = self.names.resolve(block, key_side, visible, name)
            if (
                source is None
                or source not in filtered
                or not _plain_table(source)
                or not source.tenant  # (a pin of anything else proves nothing here)
                or self._read_once(source.table or "")  # no other reading of it to be
                or frozenset((name,)) not in self.policy.unique_keys.get(source.table or "", ())
            ):
                continue
            other = self.names.resolve(block, other_side, visible)
            if other is None or other.kind not in (SourceKind.DERIVED, SourceKind.CTE):
                continue  # (two tables: a self-join by key is not read)
            guess = self._key_row(block, other_side, visible, exact=False, returning=True)
            if guess is None or guess[1] != name or guess[0].table != source.table:
                continue
            keyed = self._key_row(block, other_side, visible, returning=True)
            if keyed is None or keyed[1] != name:
                continue
            row = keyed[0]
            if (
                row is source
                or row.table != source.table
                or not _same_schema(row.node, source.node)
            ):
                continue
            source.facts.append(Fact(source, conjunct, clause, other=row, null_safe=True))
            found = True
        return found

    def _read_once(self, table: str) -> bool:
        """Is the tenant table named once only in the statement (so no other reading of it
        can be the same row)? Counted once per statement."""
        counts = self._tenant_counts
        if counts is None:
            counts = self._tenant_counts = {}
            for node in self.model.tenant_nodes:
                named = identifier_name(node.this)
                counts[named] = counts.get(named, 0) + 1
        return counts.get(table, 0) < 2

    def _key_row(
        self,
        block: Block,
        column: exp.Expression,
        visible: Span | None = None,
        *,
        exact: bool = True,
        returning: bool = False,
    ) -> tuple[Source, str] | None:
        """The table source and column a column reference passes through unchanged, row by
        row: itself when it names a table's column; through a derived table or CTE of one
        plain SELECT branch (no set operation) whose select item of that name (or place, under
        a column list) is a bare column, that column, followed on. A row of the reference is
        then a row of that table that passed the body's filters. None for anything else.
        Not `exact`: a quick look that may say yes where the exact one says no, never the
        reverse (the items are found by their written names, without telling duplicates).
        With `returning`, also through the RETURNING list of a CTE's INSERT, UPDATE or DELETE
        (a value of the row written: its new version; a new key not checked yet is followed
        only to the row an INSERT … SELECT copied it from, `_inserted_from`)."""
        for _ in range(64):  # one block deeper each step; a chain longer is not followed
            if type(column) is not exp.Column or type(column.this) is not exp.Identifier:
                return None
            name = identifier_name(column.this)
            source = self.names.resolve(block, column, visible, name)
            if source is None:
                return None
            if _plain_table(source):
                return source, name
            if source.kind is SourceKind.CTE and len(source.body) > 1 and self.follow_recursion:
                return self._recursive_key_row(source, name)
            if source.kind not in (SourceKind.DERIVED, SourceKind.CTE) or len(source.body) != 1:
                return None
            body = source.body[0]
            kind = type(body.node)
            written = returning and (kind is exp.Insert or kind is exp.Update or kind is exp.Delete)
            items = projection_items(body.node) if kind is exp.Select or written else None
            if not items:
                return None
            names = source.column_names
            if names is None and not written and body.starred:
                # `JOIN (SELECT * FROM products WHERE seller_id = $1) p ON t.product_id = p.id`
                # (round 38, h38P): the `*`'s one table of that column, when no other item or
                # source may output that name (exact either way: the answer is by the schema)
                return _star_key_row(self.policy, body, items, name)
            if names is None and not exact and not written:
                # a first look, for the item of that name only (most chains end elsewhere:
                # `pr.id = m.professional_id`): every item's name is computed on the second
                item = next((i for i in items if _item_name(i) == name), None)
                if isinstance(item, exp.Alias):
                    item = item.this
                if item is None:
                    return None
                block, column, visible = body, item, None
                continue
            if names is None:
                names = body.outputs
            if names is None or names.count(name) != 1:
                return None
            index = names.index(name)
            item = positional_item(items, index) if index < len(items) else None
            if isinstance(item, exp.Alias):
                item = item.this
            if item is None:
                return None
            if written and (
                type(item) is not exp.Column
                or _unchecked_key(body.node, identifier_name(item.this), self.policy.row_changers)
            ):
                # the new key of a row written, not checked yet (by its own name): followed
                # only to the pinned row an INSERT … SELECT copied it from
                inserted = self._inserted_from(body.node, item) if kind is exp.Insert else None
                if inserted is None:
                    return None
                block, column, visible = *inserted, None
                continue
            block, column, visible = body, item, None
        return None

    def _recursive_key_row(self, source: Source, name: str) -> tuple[Source, str] | None:
        """A column of a recursive CTE that follows a key without carrying the tenant column
        (round 34: `WITH RECURSIVE tree AS (SELECT id FROM categories WHERE tenant_id = $1 AND
        id = $2 UNION ALL SELECT c.id FROM categories c JOIN tree t ON c.parent_id = t.id)`):
        the anchor's row, where the one non-recursive branch's item at that place is a bare
        column of a table read there. Each row of the CTE is then a row of that table that
        passed the anchor's filters, or a recursive branch's; the fact drawn from it (`c` has
        the anchor row's tenant, through the composite key) holds by induction on the depth
        when every recursive branch, so proven, passes the same column of the same table at
        that place from a row pinned to the anchor's value: an `Obligation`, checked once
        solved."""
        node = source.node
        cte = self.model.cte_definition(node) if type(node) is exp.Table else None
        if cte is None or not isinstance(cte.parent, exp.With):
            return None
        if not cte.parent.args.get("recursive"):
            return None
        branches = [self.model.block_of.get(id(b)) for b in set_branches(cte.this)]
        if len(branches) < 2 or any(b is None for b in branches):
            return None
        recursive: list[Block] = []
        anchors: list[Block] = []
        for branch in branches:
            assert branch is not None
            reads_itself = any(
                self.model.cte_definition(t) is cte for t in branch.node.find_all(exp.Table)
            )
            (recursive if reads_itself else anchors).append(branch)
        if len(anchors) != 1 or not recursive:
            return None
        anchor = anchors[0]
        # the reader's names (`tree AS x(a, b)`), the CTE's list (`tree(a, b)`) or the anchor's,
        # by place (a partial list: a name past it is not followed)
        listed = [identifier_name(c) for c in cte.args["alias"].columns] if cte.alias else []
        names = source.column_names or listed or anchor.outputs
        if not names or names.count(name) != 1:
            return None
        index = names.index(name)
        row = self._place_row(anchor, index)
        if row is None:
            return None
        self.obligations.append(Obligation(row[0], row[1], index, recursive))
        return row

    def _place_row(self, block: Block, index: int) -> tuple[Source, str] | None:
        """The table source and column of a SELECT's item at `index`, when it is a bare column
        of a table read in that very block (a plain table: no CTE, function, column list)."""
        if type(block.node) is not exp.Select:
            return None
        items = projection_items(block.node)
        item = positional_item(items, index) if items and index < len(items) else None
        if isinstance(item, exp.Alias):
            item = item.this
        if type(item) is not exp.Column or type(item.this) is not exp.Identifier:
            return None
        column = identifier_name(item.this)
        found = self.names.resolve(block, item, None, column)
        if found is None or found.block is not block or not _plain_table(found):
            return None
        return found, column

    def kept(self) -> bool:
        """Does every `Obligation` hold, the statement solved?"""
        for duty in self.obligations:
            anchor = duty.row
            if not anchor.pinned or anchor.value is None or anchor.value in (SEVERAL, SHARED):
                return False
            for branch in duty.recursive:
                row = self._place_row(branch, duty.index)
                if (
                    row is None
                    or row[1] != duty.column
                    or row[0].table != anchor.table
                    or not row[0].pinned
                    or row[0].value != anchor.value
                ):
                    return False
        return True

    def _inserted_from(
        self, insert: exp.Expression, item: exp.Expression
    ) -> tuple[Block, exp.Column] | None:
        """The SELECT block and the bare column an INSERT … SELECT writes into the column its
        RETURNING reads (`item`), when the value RETURNING gives is that column's very value
        (round 33, h33q): a column list naming it once, one plain SELECT (no set operation,
        VALUES or star) whose item there is a bare column of a table read in it, both columns
        of the very same sure type (`typed_columns`: no assignment cast, which may round
        numeric into another row's id, or trim a varchar), no ON CONFLICT (DO UPDATE returns
        the row already there, maybe another tenant's) and a target no BEFORE row trigger or
        rule may change the row of (`row_changers`). None otherwise."""
        schema = insert.this
        if (
            type(item) is not exp.Column
            or insert.args.get("conflict") is not None
            or type(schema) is not exp.Schema
            or type(schema.this) is not exp.Table
            or schema.this.args.get("db") is not None
        ):
            return None
        table = identifier_name(schema.this.this)
        name = identifier_name(item.this)
        columns = [identifier_name(c) for c in schema.expressions]
        if table in self.policy.row_changers or columns.count(name) != 1:
            return None
        query = _unwrapped(insert.expression)
        while type(query) is exp.Subquery:
            query = _unwrapped(query.this)
        inner = self.model.block_of.get(id(query)) if type(query) is exp.Select else None
        if inner is None or len(query.expressions) != len(columns):
            return None
        value = query.expressions[columns.index(name)]
        value = _unwrapped(value.this if isinstance(value, exp.Alias) else value)
        if type(value) is not exp.Column:
            return None
        copied = identifier_name(value.this)
        source = self.names.resolve(inner, value, None, copied)
        typed = self.policy.typed_columns
        sort = typed.get(table, {}).get(name)
        if (
            source is None
            or source.block is not inner
            or not _plain_table(source)
            or sort not in _IDENTITY_TYPES
            or typed.get(source.table or "", {}).get(copied) != sort
        ):
            return None
        return inner, value

    def _key_pair(
        self, block: Block, one: exp.Column, other: exp.Column, visible: Span | None
    ) -> tuple[str, str] | None:
        """The names of two compared columns when a composite key's column pair may stand on
        them (`policy.composite_key_pairs`), or None: as written (`t.id = a.x`), or, for a
        column of a derived table or CTE named by its qualifier, as the table's column it
        passes through (`_key_row`: `c.id = x.cid` over `SELECT customer_id AS cid …`, h33q);
        what the pair then says is decided where the columns are resolved."""
        wanted = self.policy.composite_key_pairs
        la, lb = identifier_name(one.this), identifier_name(other.this)
        if (la, lb) in wanted:
            return la, lb
        # only a column named by a derived table's or CTE's qualifier may be renamed; one
        # that is not keeps its name, which must then stand in a pair (most do not: done
        # before following the other side through its body)
        names = self.policy.composite_key_names
        passed: list[bool] = []
        for side, name in ((one, la), (other, lb)):
            qualifier = side.args.get("table")
            source = block.sources.get(identifier_name(qualifier)) if qualifier else None
            through = source is not None and source.kind in (SourceKind.DERIVED, SourceKind.CTE)
            if not through and name not in names:
                return None
            passed.append(through)
        if not passed[0] and not passed[1]:
            return None  # both as written: not a pair (above)
        renamed = []
        for side, name, through in ((one, la, passed[0]), (other, lb, passed[1])):
            if through:
                keyed = self._key_row(block, side, visible, returning=True)
                name = keyed[1] if keyed is not None else name
            renamed.append(name)
        pair = (renamed[0], renamed[1])
        return pair if pair != (la, lb) and pair in wanted else None

    def _shared_branch(
        self, block: Block, condition: exp.Expression, visible: Span | None
    ) -> Source | None:
        """`R.tenant_id IS NULL`: the source whose rows of no tenant it admits. Shared rows
        are public to read, never to write: the target of an UPDATE, DELETE or MERGE has none."""
        if (
            not isinstance(condition, exp.Is)
            or not isinstance(condition.expression, exp.Null)
            or condition.args.get("negate")  # `IS NOT NULL` (sqlglot keeps it an Is)
        ):
            return None
        source = self.names.tenant_column_owner(block, condition.this, visible)
        if source is not None and (
            source.role is Role.TARGET
            or (source.kind is SourceKind.TABLE and source.table == self.policy.tenant_root)
        ):
            return None
        return source

    def _pinned_in_every_branch(
        self,
        block: Block,
        condition: exp.Or | exp.Case,
        filtered: Span,
        visible: Span | None,
        clause: str = "WHERE",
        branches: list[exp.Expression] | None = None,
    ) -> tuple[list[tuple[Source, PinValue]], set[int]]:
        """Sources that every branch of an OR (or `branches`, the results of a CASE that may
        be TRUE) pins to one and the same value.

        `(tenant_id = $1 AND a) OR (tenant_id = $1 AND b)` lets through only rows of tenant $1,
        as `tenant_id = $1 AND (a OR b)` does. A branch without that pin, or with another value,
        lets other tenants through: then nothing is pinned. With `shared_rows`, a branch that is
        `tenant_id IS NULL` lets through rows of no tenant only, and does not break the pin.
        """
        common: dict[tuple[int, PinValue], Source] | None = None
        shared: set[int] = set()
        for branch in disjuncts(condition) if branches is None else branches:
            source = self._shared_branch(block, branch, visible)
            if source is not None and source.nullable and not _in_own_on(condition, source):
                # the nullable side of an outer join, outside its own ON — the WHERE, HAVING,
                # a later join's ON, either side of a FULL JOIN (round 22, helpers 97, 102):
                # which rows the join NULL-extends depends on every tenant's rows its ON
                # matches (tenant 1's row left out because tenant 2 has a match): the ON must
                # pin it
                return [], set()
            if source is not None and (
                self.policy.shared_rows
                or (
                    source.kind is SourceKind.TABLE
                    and source.table in self.policy.not_null_tenant_tables
                )
            ):
                # with shared rows, rows of no tenant; on a NOT NULL tenant column of a table,
                # only the rows an outer join NULL-extends (none of its data)
                shared.add(id(source))
                continue
            pins: dict[tuple[int, PinValue], Source] = {}
            parts = conjuncts(branch)
            ranges = _range_equalities(
                parts, self.model, lambda c: self.names.tenant_column_owner(block, c, visible)
            )
            for part in parts:
                pairs = list(_equalities(part) or [])
                pairs.extend((c, v) for p, c, v in ranges if p is part)
                if isinstance(part, exp.In) and not part.args.get("query"):
                    items = _matching_items(part.expressions)
                    if len(items) == 1:
                        pairs.append((part.this, items[0]))  # `IN (V)` is `= V`
                for column_side, other_side in pairs:
                    source = self.names.tenant_column_owner(block, column_side, visible)
                    value = self.model.pin_value(other_side) if source else None
                    if source is not None and value is not None and source in filtered:
                        pins[(id(source), value)] = source
            common = pins if common is None else {k: common[k] for k in common.keys() & pins}
            if not common:
                return [], set()
        if common is None:
            return [], set()  # every branch was `IS NULL`: rows of no tenant, not a pin by value
        out = [(source, value) for (_, value), source in common.items()]
        if shared:
            # a shared branch is only allowed for the source it speaks of
            pinned = {id(source) for source, _ in out}
            if not shared <= pinned:
                return [], set()
        return out, shared

    # correlated subqueries whose rows must exist

    def _lateral_facts(self, block: Block, lateral: Source) -> None:
        """`FROM p JOIN LATERAL (SELECT … FROM a WHERE a.tenant_id = p.tenant_id …) x` (inner,
        comma or CROSS: `x` is not on an outer join's nullable side): a row of `p` is read on
        only where the subquery returns a row for it, so what the subquery's WHERE says of
        `p`'s tenant column holds for every row of `p` the block keeps (round 27)."""
        if len(lateral.body) != 1:
            return  # a set operation: a branch without the condition returns rows anyway
        before = lateral.index

        def accept(source: Source) -> bool:
            return source.block is block and source.index < before

        clause = f"WHERE of LATERAL {lateral.name}".rstrip()
        self._correlated_facts(block, lateral.body[0].node, accept, lateral.node, clause)

    def _correlated_facts(
        self,
        block: Block,
        query: exp.Expression,
        accept: Callable[[Source], bool],
        conjunct: exp.Expression,
        clause: str,
    ) -> bool:
        """`EXISTS (SELECT … WHERE a.tenant_id = $1 AND a.tenant_id = p.tenant_id)`: a subquery
        that must return a row for the outer row to be kept. Each equality of its WHERE (or of
        the ON of an inner join whose sources no outer join NULL-extends) between an outer
        source's tenant column (one `accept` takes, not on an outer join's nullable side) and
        a pinning value, or another source's tenant column, holds for every
        outer row kept: a fact on that source, said by `conjunct`. Only a plain SELECT whose
        rows are rows of its FROM that passed its WHERE: an aggregate, window function,
        GROUP BY or HAVING returns a row (`count(*)`: 0) where none matched."""
        if not isinstance(query, exp.Select) or query.args.get("group") or query.args.get("having"):
            return False
        inner = self.model.block_of.get(id(query))
        if inner is None or id(inner) in self.model.aggregating:
            return False
        # what every row of the subquery met: its WHERE, and the ON of each inner join none of
        # whose sources an outer join may NULL-extend (a row of a LEFT JOIN's nullable side, or
        # of a join inside it, is there whether its ON held or not) — round 28, outside review
        held: list[tuple[exp.Expression, Span | None]] = []
        where = query.args.get("where")
        if where is not None:
            held.extend((item, None) for item in conjuncts(where.this))
        for items, filtered, on, visible in inner.filters:
            if on.startswith("ON of JOIN") and filtered and not any(s.nullable for s in filtered):
                held.extend((item, visible) for item in items)
        if not held or self._may_aggregate(query, inner):
            return False
        owner_of = self.names.tenant_column_owner
        found = False
        for item, visible in held:
            null_safe = _null_safe(item)  # NULL IS NOT DISTINCT FROM NULL: rows of no tenant
            for column_side, other_side in _equalities(item) or ():
                source = owner_of(inner, column_side, visible)
                if source is None or source.nullable or not accept(source):
                    continue
                value = self.model.pin_value(other_side)
                other = None if value is not None else owner_of(inner, other_side, visible)
                if value is not None or (other is not None and other is not source):
                    fact = Fact(source, conjunct, clause, value=value, other=other)
                    fact.null_safe = null_safe
                    source.facts.append(fact)
                    found = True
        # a composite foreign key of the subquery's row to an outer row kept (round 33):
        # `EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = $1 AND i.customer_id = c.id)`
        # keeps only the customer that a pinned invoice's key points at
        if self.policy.composite_keys:

            def kept(source: Source) -> bool:
                return not source.nullable and accept(source)

            nowhere = Span(inner, 0, 0)
            groups: dict[int, tuple[Span | None, list[exp.Expression]]] = {}
            for item, visible in held:
                groups.setdefault(id(visible), (visible, []))[1].append(item)
            for visible, items in groups.values():
                keyed = self._foreign_keys(
                    inner, items, nowhere, clause, visible, kept=kept, said_by=conjunct
                )
                found = keyed or found
        return found

    def _may_aggregate(self, query: exp.Select, inner: Block) -> bool:
        """Could `query` aggregate its rows (one row where none matched) though no aggregate of
        its own block is known? A call sqlglot does not read as an aggregate may be one: a
        built-in one it parses as a plain call (`jsonb_agg`, `every`, `xmlagg`,
        `pg_catalog.count`), or a name that is no built-in function (a schema's CREATE
        AGGREGATE). And an aggregate in a nested block whose arguments name no column of
        that block belongs to the nearest outer level whose columns they name (PostgreSQL):
        `SELECT (SELECT max(a.id)) FROM a WHERE …` is an aggregate query of `a`'s level.
        Not read: the FROM, WHERE, GROUP BY, LIMIT and OFFSET, where an aggregate of the
        query's own level is an error (round 27)."""
        block_of = self.model.block_of
        skipped = ("from", "joins", "laterals", "where", "group", "limit", "offset")
        stack: list[exp.Expression] = []
        for key, value in query.args.items():
            if key in skipped:
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, exp.Expression):
                    stack.append(child)
        while stack:
            node = stack.pop()
            stack.extend(node.iter_expressions())
            if type(node) is exp.Anonymous:
                name = _call_name(node)
                if name in BUILTIN_FUNCTIONS and name not in AGGREGATE_FUNCTIONS:
                    continue
            elif not isinstance(node, exp.AggFunc):
                continue
            # a window function is computed at its own level (the own block's: `aggregating`)
            call: exp.Expression = node
            wrapper = call.parent
            while isinstance(wrapper, exp.Filter | exp.WithinGroup) and call.arg_key == "this":
                call, wrapper = wrapper, wrapper.parent
            if isinstance(call.parent, exp.Window) and call.arg_key == "this":
                continue
            level: exp.Expr | None = node.parent
            while level is not None and id(level) not in block_of:
                level = level.parent
            owner = block_of.get(id(level)) if level is not None else None
            if owner is None or owner is inner:
                return True  # an aggregate of the query's own level
            nested = False
            columns = []
            for part in walk(call):  # its FILTER and WITHIN GROUP too
                if id(part) in block_of:
                    nested = True
                elif type(part) is exp.Column:
                    columns.append(part)
            if nested:
                return True  # a subquery in its arguments: not told apart here
            if columns and not any(self._surely_of(owner, column) for column in columns):
                return True  # only columns of outer levels (or maybe): an aggregate of those
        return False

    def _surely_of(self, block: Block, column: exp.Column) -> bool:
        """Is `column` surely one of `block`'s own sources' (not an outer level's)? Qualified by
        one of them; or unqualified, resolved to one whose columns are known to include it (a
        table of unknown columns may lack it: the name is then an outer level's)."""
        found = self.names.resolve(block, column)
        if found is None or found.block is not block:
            return False
        if column.args.get("table") is not None:
            return True
        known = known_columns(self.policy, found)
        return known is not None and identifier_name(column.this) in known

    def _inner_by_where(self, block: Block) -> None:
        """`p LEFT JOIN a ON … WHERE a.tenant_id = $1`: the WHERE's `=` on the nullable side
        rejects the NULL-extended rows, so every row left had its ON hold (PostgreSQL reduces
        such a join to an inner one): the ON then filters the preserved side too. A FULL JOIN
        is here twice, each side as the nullable one: `WHERE p.tenant_id = $1` on its left
        side leaves a LEFT JOIN, whose ON filters the right side."""
        for join, nullable, preserved in block.outer_joins:
            strict = any(
                f.clause == "WHERE" and not f.null_safe and (f.value is not None or f.other)
                for source in nullable
                for f in source.facts
            )
            if not strict:
                continue
            condition = join.args.get("on")
            scope = block.on_scopes.get(id(join))
            first = next(iter(nullable)).name
            clause = f"ON of the outer join to {first}, made inner by the WHERE"
            for conjunct in conjuncts(condition) if condition is not None else ():
                self._pin_fact(block, conjunct, preserved, clause, scope)
            for source in nullable:  # `USING (tenant_id)`: the equality, the other way round
                for fact in list(source.facts):
                    if fact.conjunct is join and fact.other is not None:
                        fact.other.facts.append(Fact(fact.other, join, clause, other=source))
            # a FULL JOIN's USING filters neither side (no fact above): reduced to a LEFT JOIN
            # by the WHERE, it equates the preserved side's tenant column with the pinned one's
            pair = block.full_merged.get(self.policy.tenant_column)
            if pair is not None and (join.args.get("side") or "").upper() == "FULL":
                using = {identifier_name(c) for c in join.args.get("using") or ()}
                if self.policy.tenant_column in using and is_within(pair[1].node, join.this):
                    for source, other in (pair, pair[::-1]):
                        if source in nullable and other in preserved:
                            other.facts.append(Fact(other, join, clause, other=source))

    # composite foreign keys

    def _foreign_keys(
        self,
        block: Block,
        items: list[exp.Expression],
        filtered: Span,
        clause: str,
        visible: Span | None,
        kept: Callable[[Source], bool] | None = None,
        said_by: exp.Expression | None = None,
    ) -> bool:
        """`t.id = a.x` where `a` has `FOREIGN KEY (tenant_id, x) REFERENCES t (tenant_id, id)`
        and `t.id` is unique by itself: the `t` row is the one the key points at, which has
        `a`'s tenant. A single-column key, a key not validated (NOT VALID) or deferrable, or an
        `id` unique only per tenant proves nothing (the schema reader keeps only the sound ones).
        With `kept`, `items` are what a correlated subquery's rows met (`EXISTS`, an inner
        LATERAL) and `kept` takes the outer rows kept only where it returns a row: a target
        among them is the one the key of the subquery's row points at (a fact said by
        `said_by`); nothing is said of the referencing row. True when a fact was recorded.
        """
        policy = self.policy
        # a key relates two tables a block can see: a block of one source relates none of its
        # own, only (the other way round) its one source to an outer block's
        if not policy.composite_keys or (len(block.every_source) < 2 and block.parent is None):
            return False
        # the column equalities a key could stand on (most filters have none: done)
        equalities: list[tuple[exp.Expression, exp.Column, exp.Column, str, str]] = []
        column = exp.Column
        for conjunct in items:
            kind = type(conjunct)
            if kind not in _KEY_EQUALITY_KINDS:
                continue  # no equality a key stands on (`_key_equalities` reads none): no call
            if kind is exp.EQ:
                one, other = conjunct.this, conjunct.expression
                if type(one) is column and type(other) is column:
                    # `t.id = a.x`, the common case, read in place (as `_key_equalities` does)
                    named = self._key_pair(block, one, other, visible)
                    if named is not None:
                        equalities.append((conjunct, one, other, *named))
                    continue
            for left, right in _key_equalities(conjunct):
                if not (isinstance(left, exp.Column) and isinstance(right, exp.Column)):
                    continue
                named = self._key_pair(block, left, right, visible)
                if named is not None:
                    equalities.append((conjunct, left, right, *named))
        firsts = policy.composite_key_firsts
        if not any((la, lb) in firsts for _, _, _, la, lb in equalities):
            return False
        # each equality's two columns resolved, both ways round: (referencing, its column,
        # target, the target's column) -> the conjunct that says it
        pairs: dict[tuple[int, str, int, str], exp.Expression] = {}
        ends: list[tuple[Source, str, Source, str]] = []
        for conjunct, left, right, la, lb in equalities:
            a = self.names.resolve(block, left, visible, identifier_name(left.this))
            b = self.names.resolve(block, right, visible, identifier_name(right.this))
            if a is None or b is None or a is b:
                continue
            # a derived table or CTE passing a table's column through, row by row (`_key_row`):
            # its value is that column of a row of the table that passed the body's filters, so
            # the key of that row (round 33: `JOIN (SELECT customer_id … FROM invoices WHERE
            # account_id = $1 …) x ON c.id = x.customer_id`); only a referencing end comes out
            # of it (the target must be this block's, among those the clause filters)
            if a.kind is SourceKind.DERIVED or a.kind is SourceKind.CTE:
                a, la = self._key_row(block, left, visible, returning=True) or (a, la)
            if b.kind is SourceKind.DERIVED or b.kind is SourceKind.CTE:
                b, lb = self._key_row(block, right, visible, returning=True) or (b, lb)
            if a is b:
                continue
            for one, c, other, r in ((a, la, b, lb), (b, lb, a, la)):
                key = (id(one), c, id(other), r)
                if key not in pairs:
                    ends.append((one, c, other, r))
                pairs[key] = conjunct  # the last conjunct that says it, as keys are read
        # keys whose first column pair an equality states, between two tables of this block
        # read whole (the referencing one anywhere in it, the target among those filtered)
        found: list[tuple[int, int, int, Source, Source, tuple[tuple[str, str], ...]]] = []
        # the other way round: the referencing row filtered by the clause, the target read
        # wherever the clause can see it (`c.task_id = t.id`, `t` pinned, pins `c`)
        backward: list[tuple[int, int, int, Source, Source, tuple[tuple[str, str], ...]]] = []
        by_first = policy.composite_keys_by_first
        not_null = policy.not_null_tenant_tables
        for referencing, c, target, r in ends:
            if (
                referencing.kind is not SourceKind.TABLE
                or referencing.column_names is not None
                or target.kind is not SourceKind.TABLE
                or target.column_names is not None
                or not target.table
            ):
                continue
            # the referencing row may be this block's or an outer block's, read through a
            # correlation (`(SELECT c.name FROM customers c WHERE c.id = i.customer_id)`,
            # `i` outer): either way its key points at the one target row of that id (round 33)
            forward = kept(target) if kept is not None else target in filtered
            if forward and referencing.role is Role.TARGET:
                # the RETURNING of an INSERT or UPDATE reads the written row's new key, not
                # checked yet (`_unchecked_key`): `RETURNING (SELECT b.name FROM b WHERE b.id
                # = a.b_id)` may read another tenant's `b`
                written = referencing.block.node
                returning = written.args.get("returning")
                forward = not (
                    returning is not None
                    and is_within(target.node, returning)
                    and _unchecked_key(written, c, policy.row_changers)
                )
            # a row whose tenant column is NULL escapes its key (MATCH SIMPLE): only a NOT
            # NULL tenant column carries the target's tenant to the referencing row
            # (with `kept`: an outer row kept only where the subquery's pinned target row is
            # the one its key points at, `EXISTS (SELECT 1 FROM b WHERE b.id = a.b_id AND
            # b.tenant_id = $1)`: round 33, h33i)
            back = (referencing.table or "") in not_null and (
                kept(referencing)
                if kept is not None
                else referencing.block is block and referencing in filtered
            )
            if not forward and not back:
                continue
            for position, ref_table, rest in by_first.get((referencing.table or "", c, r), ()):
                if ref_table == target.table and all(
                    (id(referencing), kc, id(target), kr) in pairs for kc, kr in rest
                ):
                    entry = (referencing.index, position, target.index, referencing, target, rest)
                    if forward:
                        found.append(entry)
                    if back:
                        backward.append(entry)
        found.sort(key=lambda f: f[:3])  # FROM order, then the schema's order of keys
        for _, _, _, referencing, target, rest in found:
            first = pairs[(id(referencing), rest[0][0], id(target), rest[0][1])]
            target.facts.append(
                Fact(
                    target,
                    said_by if said_by is not None else first,
                    f"{clause} (composite foreign key)",
                    other=referencing,
                    via_key=True,
                )
            )
        backward.sort(key=lambda f: f[:3])
        for _, _, _, referencing, target, rest in backward:
            # the key's target row is the one row of its table with that id (unique by
            # itself), so the referencing row's tenant is the target's
            first = pairs[(id(referencing), rest[0][0], id(target), rest[0][1])]
            referencing.facts.append(
                Fact(
                    referencing,
                    said_by if said_by is not None else first,
                    f"{clause} (composite foreign key, referenced row)",
                    other=target,
                    via_key=True,
                )
            )
        return bool(found or backward)

    # sources that carry their own pin

    def _values_fact(self, source: Source) -> None:
        """`(VALUES ($1, …)) AS v(tenant_id, …)`: pinned when every row has the same pinning
        value in the tenant column's position."""
        names = source.column_names
        column = self.policy.tenant_column
        if names is None or column not in names:
            return
        position = names.index(column)
        rows = source.rows.expressions if source.rows is not None else []
        values = [
            self.model.pin_value(item)
            if isinstance(row, exp.Tuple)
            and (item := positional_item(row.expressions, position)) is not None
            else None
            for row in rows
        ]
        if not values or not all(values):
            return
        if len(set(values)) == 1:
            source.facts.append(Fact(source, source.node, "VALUES", value=values[0]))
        else:
            source.facts.append(Fact(source, source.node, "VALUES", multi=True))

    def values_pin(
        self,
        block: Block | None,
        side: exp.Expression,
        visible: Span | None = None,
        *,
        output: bool = False,
    ) -> PinValue | None:
        return values_column_pin(self.model, self.names, block, side, visible, output=output)

    def _joined(self, block: Block, side: exp.Expression, visible: Span | None) -> bool:
        """Is the VALUES list, derived table or CTE whose column `side` is (one pinning value
        in every row: `values_pin`) a scan of its own, joined — not pulled up into the block,
        its column then the value itself in the scans it meets (h39A)? Pulled up: a VALUES
        list of one row, a body of one plain SELECT row by row (not MATERIALIZED, a CTE read
        once), with no volatile call and no call that may return a set (any call of a name no
        built-in node is, to be sure). Joined, the pin is a join condition: a failing
        condition of the source's own scan runs on every tenant's rows before it."""
        while isinstance(side, exp.Paren):
            side = side.this
        source = self.names.resolve(block, side, visible) if type(side) is exp.Column else None
        if source is None:
            return True
        node: exp.Expression | None
        if source.kind is SourceKind.VALUES:
            node = source.rows
            if node is None or len(node.expressions) != 1:
                return True
        elif source.kind is SourceKind.DERIVED or source.kind is SourceKind.CTE:
            if len(source.body) != 1:
                return True
            body = source.body[0]
            node = body.node
            if (
                not isinstance(node, exp.Select)
                or any(node.args.get(c) for c in _KEPT_WHOLE)
                or id(body) in self.model.aggregating
            ):
                return True
            cte = node.parent
            if isinstance(cte, exp.CTE):
                materialized = cte.args.get("materialized")
                reads = len(self.model.readers.get(id(body), ()))
                if materialized or (materialized is None and reads > 1):
                    return True
        else:
            return True
        return calls_volatile(node, self.policy) or any(
            isinstance(call, exp.Anonymous | exp.Explode | exp.Unnest | exp.GenerateSeries)
            for call in node.find_all(exp.Func)
        )

    def _argument_facts(self, source: Source) -> None:
        """A function whose body pins its rows by a parameter: pinned by the argument given
        there — a pinning value, or the tenant column of a pinned source. `f(a.id)` over every
        `a` is not pinned."""
        pins = self.policy.pinning_functions[source.table or ""]
        call: exp.Expression | None = source.node
        rows_from = source.node.args.get("rows_from")
        if rows_from and len(rows_from) == 1 and isinstance(rows_from[0], exp.Table):
            call = rows_from[0].this  # `ROWS FROM (f($1))`: the one call (round 42)
        if not isinstance(call, exp.Anonymous):
            inner = source.node.this
            call = inner.this if isinstance(inner, exp.Lateral) else inner
        if not isinstance(call, exp.Anonymous):
            return
        block = source.block
        # the arguments of a function in FROM see the sources before it
        visible = Span(block, 0, source.index) if source.role is not Role.CALL else None
        # a body pinned by several parameters is pinned when every one of them is; a fact
        # pins alone, so then only pinning values count (a chain may stay unpinned)
        several = len(pins.positions) > 1
        facts: list[Fact] = []
        named: set[str] = set()
        for position, argument in enumerate(call.expressions):
            if isinstance(argument, exp.Kwarg | exp.PropertyEQ):
                named.add(identifier_name(argument.this))
                if identifier_name(argument.this) not in pins.names:
                    continue
                argument = argument.expression
            elif position not in pins.positions:
                continue
            value = self.model.pin_value(argument)
            clause = f"argument {position + 1} of {source.table}()"
            if value is not None:
                facts.append(Fact(source, argument, clause, value=value))
                continue
            other = self.names.tenant_column_owner(block, argument, visible)
            if other is not None and other is not source and not several:
                facts.append(Fact(source, argument, clause, other=other))
            else:
                source.near_misses.append(
                    (argument, f"the argument that pins {source.table}() is not a pinning value")
                )
                return
        # an argument left out is its default: a tenant expression's pins (evaluated here,
        # unless this statement changes the setting first), any other default nothing
        given = sum(1 for a in call.expressions if not isinstance(a, exp.Kwarg | exp.PropertyEQ))
        for position, name, key in pins.defaults:
            if position >= given and name not in named and not self.model.sets_tenant_setting():
                value = PinValue("expression", key)
                facts.append(
                    Fact(source, call, f"the default of {name or position + 1}", value=value)
                )
        if len(facts) == len(pins.positions):
            source.facts.extend(facts)

    # near misses

    def near_misses(self) -> None:
        for block, conjunct, filtered, clause, visible in self.misses:
            self._near_miss(block, conjunct, filtered, clause, visible)

    def _unpinned_setting(self, conjunct: exp.Expression) -> bool:
        """Does the conjunct compare with a tenant expression this statement unpins?"""
        sides = [conjunct.this, *conjunct.args.get("expressions", []), conjunct.expression]
        return (
            any(
                isinstance(side, exp.Expression) and self.policy.is_tenant_expression(side)
                for side in sides
            )
            and self.model.sets_tenant_setting()
        )

    def _near_miss(
        self,
        block: Block,
        conjunct: exp.Expression,
        filtered: Span,
        clause: str,
        visible: Span | None,
    ) -> None:
        seen: set[int] = set()
        for node in walk(conjunct):
            if isinstance(node, exp.Select):
                break  # a subquery's columns are its own
            if type(node) is not exp.Column:
                continue
            owner = self.names.tenant_column_owner(block, node, visible)
            if owner is None or id(owner) in seen or owner.block is not block:
                continue
            seen.add(id(owner))
            if owner not in filtered:
                reason = f"the {clause} does not filter {owner.name} (outer-join rules)"
            elif isinstance(conjunct, exp.Or):
                reason = "an OR pins only when every branch pins it to the same value"
            elif isinstance(conjunct, exp.EQ | exp.In) and self._unpinned_setting(conjunct):
                reason = (
                    "the tenant expression pins nothing here: the statement may change its "
                    "setting first (set_config, or a function or view of the schema that may)"
                )
            elif isinstance(conjunct, exp.EQ | exp.In):
                reason = "the other side is not a pinning value or a pinned tenant column"
            else:
                reason = f"a {conjunct.key.upper()} condition does not pin (only equality does)"
            owner.near_misses.append((conjunct, reason))
