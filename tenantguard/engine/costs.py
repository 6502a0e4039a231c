"""The order PostgreSQL evaluates a scan's conditions in (cost_qual_eval): what a condition
costs (`_cost`, `condition_cost`: its operators, casts and calls, a SQL function's inlined body),
what the tenant pin of a source costs (`pin_cost`: its chain of equalities, the root's retyped
parameter, a derived table's pin pushed down into its body) and which source's pin a condition
of a given cost may run before (`pinned_after`; a tie goes to the condition).

Read by TG013 and by the schema checks (`sources.schema.checks.failing_views`). Imports no rule.
"""

from __future__ import annotations

import functools
from collections.abc import Set as AbstractSet

from sqlglot import exp

from tenantguard.engine.failing import TEXT_TYPES, body_trees
from tenantguard.engine.pgfunctions import BUILTIN_FUNCTIONS
from tenantguard.engine.policy import CHEAP_FUNCTION, Policy
from tenantguard.engine.proof import Analysis, Block, ParameterUses, Source, SourceKind
from tenantguard.engine.proof.syntax import disjuncts, identifier_name, is_row, is_within

UNBOUNDED = float("inf")
# nodes PostgreSQL evaluates at no cost of their own (cost_qual_eval): their children count
_FREE = (
    exp.Column, exp.Literal, exp.Placeholder, exp.Parameter, exp.Null, exp.Boolean,
    exp.Identifier, exp.Star, exp.Paren, exp.Not, exp.And, exp.Or, exp.Is, exp.Alias,
    exp.DataType, exp.Var, exp.Tuple, exp.Case, exp.If, exp.Coalesce, exp.Array, exp.Dot,
    exp.Collate,  # a collation is a label of the value: nothing to run (helper 124)
)  # fmt: skip


# what keeps a sub-expression from being folded to a constant when the statement is planned
_VARYING = (exp.Column, exp.Parameter, exp.Placeholder, exp.Subquery, exp.Select, exp.Star)


def _cost(
    node: exp.Expression,
    *,
    upper: bool,
    policy: Policy | None = None,
    within: exp.Expression | None = None,
) -> float:
    """PostgreSQL's cost of evaluating a condition, in operator units (cost_qual_eval, about):
    each operator, function and cast 1, a cast from text 2 (an output and an input function),
    a cast of a literal nothing (folded). `upper`: a bound from above (a subquery: unbounded);
    else from below (a subquery run once before the scan costs it nothing). A function of the
    schema's own (no built-in) costs from below what `_own_function_cost` tells with `policy`
    (nothing without it) — a SQL function PostgreSQL inlines costs its body, one declared
    `COST 0.01` what it declares (helper 124) — and PostgreSQL's default for one, 100, from
    above.

    From below, a condition PostgreSQL splits into several, each placed among the scan's
    conditions by its own cost (`split_condition`), costs the part holding `within` (a node
    of the condition), the cheapest where that is in several or none."""
    parts = None if upper else split_condition(node)
    if parts:
        held = [p for p in parts if within is not None and any(is_within(within, o) for o in p[1])]
        costs: list[float] = []
        for operator, part in held or parts:
            operands: list[exp.Expression] = [o for o in part if isinstance(o, exp.Expression)]
            costs.append(
                operator + sum((_cost(o, upper=False, policy=policy) for o in operands), 0.0)
            )
        return min(costs)
    total = 0.0
    varying = set() if upper else _varying(node)
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, exp.Subquery | exp.Select | exp.Exists):
            if upper:
                return UNBOUNDED
            continue
        if not upper and id(item) not in varying:
            continue  # no column, parameter or subquery: folded to a constant when planned
        if upper and numeric_constant(item):
            # an integer column compared with a numeric constant is converted to numeric on
            # every row (int8 -> numeric, then numeric_eq): one function more (h37A)
            total += 1
            continue
        if isinstance(item, exp.Cast):
            operand = item.this
            if isinstance(operand, exp.Literal):
                continue  # folded when planned
            if isinstance(operand, exp.Placeholder | exp.Parameter):
                total += 1 if upper else 0  # typed by the cast itself, or one conversion
            else:
                total += 2 if upper else _cast_cost(item)
            stack.append(operand)
            continue
        if upper and isinstance(item, exp.Binary) and isinstance(item.expression, exp.Any):
            elements = _array_elements(item.expression)
            if elements is None:
                return UNBOUNDED  # an array PostgreSQL guesses ten long, or one of any length
            # a ScalarArrayOpExpr: the operator on about half of the array (one element: a
            # half, as `= ANY(ARRAY[$1])` costs; six: three, a tie with `a / (b - 8) <> 0`)
            total += 0.5 * len(elements)
            stack.append(item.this)
            stack.extend(elements)
            continue
        if isinstance(item, exp.In) and not item.args.get("query"):
            listed = item.expressions
            if upper and len(listed) == 1:
                total += 1  # `x IN (a)` is parsed as `x = a`
            elif upper and any(e.find(exp.Column) is not None for e in listed):
                total += len(listed)  # the items reading a column: an OR of `=` each
            else:
                total += 0.5 * len(listed)  # the operator on about half of the list
        elif isinstance(item, exp.Anonymous) and (
            identifier_name(item.this) not in BUILTIN_FUNCTIONS
        ):
            if upper:
                total += _OWN_FUNCTION_COST
            elif policy is not None:
                total += _own_function_cost(identifier_name(item.this), policy)
        elif not isinstance(item, _FREE) and isinstance(
            item, exp.Func | exp.Binary | exp.Unary | exp.Anonymous | exp.Between
        ):
            total += 2 if isinstance(item, exp.Between) else 1
        stack.extend(item.iter_expressions())
    return total


def _array_elements(node: exp.Any) -> list[exp.Expression] | None:
    """The elements of `ANY(ARRAY[…])` whose costs PostgreSQL adds to the operator's (the
    array written out, or cast as a whole when its elements are bare parameters or literals:
    typed by the cast, nothing to run); None for any other array (a parameter, a column, a
    subquery, a cast of each element)."""
    array = node.this
    while isinstance(array, exp.Paren):
        array = array.this
    if isinstance(array, exp.Cast):
        array = array.this
        if not isinstance(array, exp.Array) or not all(
            isinstance(e, exp.Placeholder | exp.Parameter | exp.Literal) for e in array.expressions
        ):
            return None
    return list(array.expressions) if isinstance(array, exp.Array) else None


def split_condition(node: exp.Expr) -> list[tuple[int, tuple[exp.Expr, ...]]] | None:
    """The conditions PostgreSQL makes a condition into when it parses and plans it, each with
    the cost of its own operator and its operands: `x BETWEEN low AND high` is `x >= low AND
    x <= high`, `(a, b) = (c, d)` (or `ROW(…)`) is `a = c AND b = d`, `NOT (a OR b)` is `NOT a
    AND NOT b` (the negations cost nothing more) — at the top of a WHERE, separate conditions
    (round 29). None for any other."""
    if isinstance(node, exp.Between):
        if node.args.get("symmetric"):
            return None  # an OR of both orders: one condition
        bounds = (node.args.get("low"), node.args.get("high"))
        return [(1, (node.this, b)) for b in bounds if b is not None]
    if isinstance(node, exp.EQ):
        left, right = node.this, node.expression
        if is_row(left) and is_row(right) and len(left.expressions) == len(right.expressions):
            return [(1, pair) for pair in zip(left.expressions, right.expressions, strict=True)]
    if isinstance(node, exp.Not):
        inner = node.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Or):
            return [(0, (branch,)) for branch in disjuncts(inner)]
    return None


_OWN_FUNCTION_COST = 100.0  # PostgreSQL's default COST of a SQL or PL/pgSQL function


def _own_function_cost(name: str, policy: Policy) -> float:
    """A call of a function that is no built-in, from below: one the schema does not show (an
    extension's) or declares cheaper than the default (`COST 0.01`) nothing; a SQL function
    PostgreSQL inlines what its body costs (helper 126: `invoice_total(…)`, `round((amount -
    discount) * (1 + tax_rate), 2)`, costs 4, not nothing); any other of the schema's the
    default 100."""
    body = policy.inlined_functions.get(name)
    if name not in policy.functions:
        if body is not None:  # a SQL function the runtime guard found in the catalog
            return _body_cost(body)
        # an extension's C function the runtime guard found in the catalog: its procost
        return policy.extension_functions.get(name, 0.0)
    if body is None:
        return _OWN_FUNCTION_COST
    return _body_cost(body)


@functools.lru_cache(maxsize=1024)
def _body_cost(body: str) -> float:
    """What an inlined SQL function's body costs from below (the cheapest of its overloads;
    nothing for one declared cheap or one the parser cannot read)."""
    if body == CHEAP_FUNCTION:
        return 0.0
    costs: list[float] = []
    for tree in body_trees(body):
        if not isinstance(tree, exp.Select) or tree.args.get("from_") is not None:
            return 0.0
        costs.append(sum((_cost(e, upper=False) for e in tree.expressions), 0.0))
    return min(costs, default=0.0)


# calls PostgreSQL does not fold when it plans (stable or volatile: evaluated on each row,
# costed — helper 126: `(data->>'trial_ends')::date < current_date` costs five, not four)
_UNFOLDED = (
    exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime, exp.Localtimestamp, exp.Localtime,
    exp.Rand,
)  # fmt: skip
_UNFOLDED_CALLS = frozenset(
    {"clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday",
     "current_setting", "txid_current", "pg_backend_pid", "inet_client_addr"}
)  # fmt: skip


def _varying(node: exp.Expression) -> set[int]:
    """The nodes of `node` (by id) holding a column, a parameter, a subquery or a call
    PostgreSQL evaluates on each row (`now()`, `current_date`): the others are constants,
    folded when planned. One walk, each node marked once from the leaves up."""
    marked: set[int] = set()
    for leaf in node.find_all(*_VARYING, *_UNFOLDED, exp.Anonymous):
        if type(leaf) is exp.Anonymous and identifier_name(leaf.this) not in _UNFOLDED_CALLS:
            continue
        current: exp.Expr | None = leaf
        while current is not None and id(current) not in marked:
            marked.add(id(current))
            if current is node:
                break
            current = current.parent
    return marked


# calls whose result is text: a cast of one to another type runs two functions
_TEXT_RESULTS = (
    exp.Lower, exp.Upper, exp.Concat, exp.ConcatWs, exp.Trim, exp.Substring, exp.Initcap,
    exp.DPipe, exp.Left, exp.Right, exp.Pad, exp.Replace,
)  # fmt: skip


def _is_text(node: exp.Expression) -> bool | None:
    """Whether a value is text-like (None: the proof cannot tell without the column's type)."""
    if isinstance(node, exp.Cast):
        to = node.args.get("to")
        return isinstance(to, exp.DataType) and to.this in TEXT_TYPES
    if isinstance(node, _TEXT_RESULTS) or (isinstance(node, exp.Literal) and node.is_string):
        return True
    if isinstance(node, exp.Literal):
        return False
    return None


def _cast_cost(cast: exp.Cast) -> float:
    """A cast's cost from below: between text and another type an output and an input
    function (2); of an operand whose type is unknown, 1 to another type, 0 to text."""
    to = cast.args.get("to")
    to_text = isinstance(to, exp.DataType) and to.this in TEXT_TYPES
    from_text = _is_text(cast.this)
    if from_text is None:
        return 0 if to_text else 1
    return 0 if from_text == to_text else 2


def pin_cost(source: Source, analysis: Analysis | None = None) -> float:
    """What the condition pinning `source` in its own scan costs (its chain of equalities
    summed, from above); unbounded when no condition of the scan pins it. A derived table or
    CTE PostgreSQL inlines (one plain SELECT, row by row, not MATERIALIZED) pinned inside: a
    condition on its rows is pushed down into the scans of its body, whose pins cost what
    they cost there (with `analysis`; helper 120)."""
    if analysis is not None and (
        source.passthrough
        or (source.pinned_by is None and source.kind in (SourceKind.DERIVED, SourceKind.CTE))
    ):
        return _inlined_pin_cost(source, analysis)
    total = 0.0
    seen: set[int] = set()
    current: Source | None = source
    chained = False  # reached through an equality with another source's tenant column
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        fact = current.pinned_by
        if (
            fact is None
            or current.passthrough
            or fact.via_key
            or fact.joined  # a join condition with a scan of its own (h39A)
            or fact.multi
            or fact.in_having
            or (isinstance(fact.conjunct, exp.In) and fact.conjunct.args.get("query"))
            or _in_values(fact.conjunct)
            or fact.conjunct.find(exp.Subquery) is not None  # a SubPlan: evaluated last
        ):
            return UNBOUNDED
        if fact.pushed:  # the reader's pin, pushed into (or pulled up with) this body
            current = fact.other
            continue
        # the planner gives a chained source's scan the pin's value only through an
        # equivalence class: plain `=` all along, the root comparing the bare column (not
        # BETWEEN, `IS TRUE`, `tenant_id::text = $1`, IS NOT DISTINCT FROM: round 22)
        link = fact.value is None
        kept = analysis.parameters if analysis is not None else None
        if (link or chained) and not _equivalence(fact.conjunct, link=link, kept=kept):
            return UNBOUNDED
        if fact.value is not None:
            # a chain of plain `=` puts the pin's own comparison into each scan it reaches (an
            # equivalence class): what the root costs, not the links (round 22)
            root = _root_cost(fact.conjunct, kept)
            return root if chained else total + root
        total += _cost(fact.conjunct, upper=True)
        current = fact.other
        chained = True
    return UNBOUNDED


def _in_values(conjunct: exp.Expression) -> bool:
    """`x IN (VALUES (V), (V))` (sqlglot keeps the VALUES as the list's one item): a semi-join
    with a VALUES list of several rows, a scan of its own, not a condition of x's scan (h39A;
    one row is pulled up, `x = V`)."""
    if not isinstance(conjunct, exp.In) or len(conjunct.expressions) != 1:
        return False
    values = conjunct.expressions[0]
    while isinstance(values, exp.Paren | exp.Subquery):
        values = values.this
    return type(values) is exp.Values and len(values.expressions) > 1


def _root_cost(conjunct: exp.Expression, kept: ParameterUses | None = None) -> float:
    """What the pin's own condition costs from above in its scan: a row comparison PostgreSQL
    parses into one `=` per column (`ROW(v.tenant_id, 1) = ROW($1, 1)`) the dearest of the
    parts reading a column (helper h33m), any other its whole; one more when the statement
    may type the pin's parameter numeric (the column converted on every row, h37A)."""
    retyped = 1.0 if _retyped_parameter(conjunct, kept) else 0.0
    parts = split_condition(conjunct) if isinstance(conjunct, exp.EQ) else None
    if not parts:
        return _cost(conjunct, upper=True) + retyped
    return retyped + max(
        (
            operator
            + sum((_cost(o, upper=True) for o in part if isinstance(o, exp.Expression)), 0.0)
            for operator, part in parts
            if any(isinstance(o, exp.Expr) and o.find(exp.Column) is not None for o in part)
        ),
        default=UNBOUNDED,
    )


# what compares or computes its operands in one type: a bare parameter among them is typed
# by the others (`points <> $1`, `$1 + 0.5`, `coalesce($1, x)`, `x IN ($1, …)`)
_TYPING_PARENTS = (
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ, exp.In,
    exp.Between, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Coalesce, exp.Greatest,
    exp.Least, exp.Nullif, exp.If, exp.Case, exp.Array,
)  # fmt: skip
_INTEGER_TYPES = frozenset(
    {exp.DataType.Type.BIGINT, exp.DataType.Type.INT, exp.DataType.Type.SMALLINT}
)


def unwrapped(node: exp.Expr | None) -> exp.Expr | None:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


# the order PostgreSQL transforms a SELECT's clauses in (transformSelectStmt): a parameter is
# typed by the first use it meets
_CLAUSE_ORDER = {
    "with_": 0, "from_": 1, "joins": 1, "expressions": 2, "where": 3, "having": 4, "order": 5,
    "group": 6, "distinct": 7, "limit": 8, "offset": 8, "windows": 9,
}  # fmt: skip
# a window's PARTITION BY and ORDER BY, written in an OVER (…) of the select list, are
# transformed with the WINDOW clause, last (transformWindowDefinitions, h37B: `sum(estimate)
# OVER (PARTITION BY $1 + 0.5)` left $1 a bigint typed by the WHERE's pin)
_WINDOW_RANK = 9


def _parameter_start(node: exp.Expr) -> int | None:
    inner = node.this
    meta = inner.meta if isinstance(inner, exp.Expr) else None
    start = meta.get("start") if meta else None
    return start if isinstance(start, int) else None


def _clause_in(select: exp.Select, node: exp.Expr) -> int | None:
    """The rank of the clause of `select` holding `node` (None: not known)."""
    current: exp.Expr = node
    in_window = False
    while current.parent is not None and current.parent is not select:
        if isinstance(current.parent, exp.Select):
            return None  # (a nested query: not this block's clause)
        if isinstance(current.parent, exp.Window) and current.arg_key in ("partition_by", "order"):
            in_window = True
        current = current.parent
    if current.parent is not select:
        return None
    rank = _CLAUSE_ORDER.get(current.arg_key or "")
    return _WINDOW_RANK if in_window and rank == _CLAUSE_ORDER["expressions"] else rank


def _typed_after(use: exp.Expr, pin: exp.Expr) -> bool:
    """Whether PostgreSQL surely transforms `use` after `pin`, two uses of one parameter in one
    plain SELECT block (no set operation, CTE or other block between them): a later clause
    (the select list before the WHERE), or the same clause further right. Any other pair: not
    known (the use may type the parameter first)."""
    block = pin.find_ancestor(exp.Select)
    if block is None or use.find_ancestor(exp.Select) is not block:
        return False
    if block.find_ancestor(exp.SetOperation, exp.CTE) is not None or isinstance(
        block.parent, exp.SetOperation
    ):
        return False
    use_rank, pin_rank = _clause_in(block, use), _clause_in(block, pin)
    if use_rank is None or pin_rank is None:
        return False
    if use_rank != pin_rank:
        return use_rank > pin_rank
    use_start, pin_start = _parameter_start(use), _parameter_start(pin)
    return use_start is not None and pin_start is not None and use_start > pin_start


def _parameter_name(node: exp.Expr) -> str:
    """A parameter's number as PostgreSQL reads it: `$01` is `$1` (h37B)."""
    name = node.name
    return str(int(name)) if isinstance(node, exp.Parameter) and name.isdigit() else name


def _values_column_retypes(
    row: exp.Tuple, item: exp.Expr, kept: ParameterUses | None = None
) -> bool:
    """Whether the column of a VALUES list holding `item` of `row` may be typed numeric by
    another row: any item there that is not a parameter, NULL, an integer literal or a cast to
    an integer type (a string literal is unknown). With `kept`, the rows whose item retypes
    are listed once per column for the statement (2 000 rows `($1, i)`: each use of `$1` read
    every row, s41)."""
    index = next((i for i, e in enumerate(row.expressions) if e is item), None)
    values = row.parent
    if index is None or values is None:
        return True
    if kept is None:
        return any(
            _values_item_retypes(other, index) for other in values.expressions if other is not row
        )
    known = kept.columns.get((id(values), index))
    if known is None or known[0] is not values:
        retyping = {id(o) for o in values.expressions if _values_item_retypes(o, index)}
        known = kept.columns[(id(values), index)] = (values, retyping)
    retyping = known[1]
    return len(retyping) > 1 or (len(retyping) == 1 and id(row) not in retyping)


def _values_item_retypes(row: exp.Expr, index: int) -> bool:
    """Whether a VALUES row's item at `index` may type its column numeric
    (`_values_column_retypes`)."""
    items = row.expressions if isinstance(row, exp.Tuple) else [row]
    other = unwrapped(items[index]) if index < len(items) else None
    if other is None or isinstance(other, exp.Parameter | exp.Placeholder | exp.Null):
        return False
    if isinstance(other, exp.Literal) and (other.is_string or not numeric_constant(other)):
        return False
    return not (isinstance(other, exp.Cast) and other.to.this in _INTEGER_TYPES)


def _row_item_retypes(row: exp.Tuple, item: exp.Expr, columns: AbstractSet[str]) -> bool:
    """Whether the item at `item`'s place in the rows `row` is compared with (a row
    comparison, a row IN list) may type it numeric: unknown for anything but a row of items
    (a subquery), else as an operator's operand (`_numeric_operand`)."""
    index = next((i for i, e in enumerate(row.expressions) if e is item), None)
    comparison = row.parent
    if index is None or comparison is None:
        return True
    for side in comparison.iter_expressions():
        if side is row:
            continue
        if not isinstance(side, exp.Tuple) or index >= len(side.expressions):
            return True  # a subquery, an array: not read here
        if _numeric_operand(side.expressions[index], columns):
            return True
    return False


def _numeric_operand(operand: exp.Expr | None, columns: AbstractSet[str]) -> bool:
    """Whether an operand met by a parameter may type it numeric: anything but a parameter,
    NULL, an integer or string literal, a cast to an integer type or a column of the pin's
    own column name (`columns`)."""
    other = unwrapped(operand)
    if other is None or isinstance(other, exp.Parameter | exp.Placeholder | exp.Null):
        return False
    if isinstance(other, exp.Literal) and (other.is_string or not numeric_constant(other)):
        return False
    if isinstance(other, exp.Cast) and other.to.this in _INTEGER_TYPES:
        return False
    return not (type(other) is exp.Column and other.name in columns)


def _retyped_parameter(conjunct: exp.Expression, kept: ParameterUses | None = None) -> bool:
    """`_retyped_parameter_in`, kept in `kept` (the statement's Analysis.parameters) when
    given: TG013 weighs each failing expression against the pin, and each answer walked the
    whole statement (1 000 divisions `10 / id > i` ANDed with the pin: 7 s, s41). The answer
    reads nothing but the conjunct and the statement's tree, which the proof does not change:
    the same by construction."""
    if kept is None:
        return _retyped_parameter_in(conjunct)
    known = kept.answers.get(id(conjunct))
    if known is None or known[0] is not conjunct:
        known = kept.answers[id(conjunct)] = (conjunct, _retyped_parameter_in(conjunct, kept))
    return known[1]


def _root_of(node: exp.Expr, kept: ParameterUses) -> exp.Expr:
    """`node.root()`, each step up taken once for the statement (a node's root is its
    parent's): the pins of 2 000 branches of a UNION each walked up the chain of branches."""
    path: list[exp.Expr] = []
    current = node
    while True:
        known = kept.roots.get(id(current))
        if known is not None and known[0] is current:
            root = known[1]
            break
        path.append(current)
        if current.parent is None:
            root = current
            break
        current = current.parent
    for step in path:
        kept.roots[id(step)] = (step, root)
    return root


def _retyping_uses(
    root: exp.Expr, name: str, kind: type, columns: frozenset[str], kept: ParameterUses
) -> list[exp.Expr]:
    """The uses of parameter `name` (of `kind`) in the tree of `root` that may type it numeric
    against a pin over `columns` (`_use_retypes`): one walk of the tree per statement, one pass
    over a name's uses per set of pin columns, shared by every pin (2 000 pins of the branches
    of a UNION each read the 2 000 uses of `$1`, s41)."""
    named = kept.named.get(id(root))
    if named is None:
        named = kept.named[id(root)] = {}
        for node in root.find_all(exp.Parameter, exp.Placeholder):
            named.setdefault(_parameter_name(node), []).append(node)
    key = (id(root), name, kind, columns)
    found = kept.retyping.get(key)
    if found is None:
        found = kept.retyping[key] = [
            n for n in named.get(name, ()) if type(n) is kind and _use_retypes(n, columns, kept)
        ]
    return found


def _retyped_parameter_in(conjunct: exp.Expression, kept: ParameterUses | None = None) -> bool:
    """Whether a named parameter the pin compares bare with a column (`tenant_id = $1`) may
    be typed numeric by another use in the statement: PostgreSQL types a parameter once, by
    its first use (the select list is parsed before the WHERE), and `tenant_id = $1` of a
    numeric `$1` converts the column on every row. A use may type it numeric when it is cast
    to numeric, or met by an operand that is neither a parameter, an integer or string literal,
    NULL, a cast to an integer type, nor a column of the pin's own column name (`points <>
    $1`, `$1 + 0.5`: of a type the proof does not know or numeric) — unless PostgreSQL surely
    reads it after the pin's own use (`_typed_after`) (h37A)."""
    names: dict[str, exp.Expr] = {}
    columns: set[str] = set()
    for node in conjunct.find_all(exp.Parameter, exp.Placeholder):
        parent = node.parent
        while isinstance(parent, exp.Paren):
            parent = parent.parent
        if node.name and isinstance(parent, exp.EQ | exp.NullSafeEQ | exp.In | exp.Between):
            names.setdefault(_parameter_name(node), node)
            columns.update(c.name for c in parent.find_all(exp.Column))
    if not names:
        return False
    if kept is not None:  # (the same test, its parts in another order: each is pure)
        root, pinned = _root_of(conjunct, kept), frozenset(columns)
        return any(
            not is_within(node, conjunct) and not _typed_after(node, pin)
            for name, pin in names.items()
            for node in _retyping_uses(root, name, type(pin), pinned, kept)
        )
    for node in conjunct.root().find_all(exp.Parameter, exp.Placeholder):
        pin = names.get(_parameter_name(node))
        if pin is None or type(pin) is not type(node) or is_within(node, conjunct):
            continue
        if _typed_after(node, pin):
            continue  # the pin's use comes first: it types the parameter as the column
        if _use_retypes(node, columns):
            return True
    return False


def _use_retypes(
    node: exp.Expr, columns: AbstractSet[str], kept: ParameterUses | None = None
) -> bool:
    """Whether this use of a parameter may type it numeric (`_retyped_parameter_in`), the pin
    comparing it with columns named `columns`."""
    parent = node.parent
    child: exp.Expr = node
    while isinstance(parent, exp.Paren):
        child, parent = parent, parent.parent
    if isinstance(parent, exp.Cast | exp.TryCast):
        return parent.to.this in NUMERIC_TYPES
    if isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values):
        # a VALUES column takes the common type of its rows (h37B: `(VALUES ($1),
        # (0.5))` types $1 numeric in FROM, before the WHERE)
        return bool(_values_column_retypes(parent, child, kept))
    if isinstance(parent, exp.Tuple) and isinstance(parent.parent, _TYPING_PARENTS):
        # a row compared with rows: typed by the item at its place in each other row
        # (h37B: `(points + 7770000, 1) = ($1, 1)`, `($1, 1) = (7770001.0, 1)`)
        return bool(_row_item_retypes(parent, child, columns))
    if isinstance(parent, exp.Func) and not isinstance(parent, _TYPING_PARENTS):
        # an argument of a function: typed by the function's parameter (h37B:
        # `round($1, 2)`, `scale($1)` are numeric), not known here
        return True
    if not isinstance(parent, _TYPING_PARENTS):
        return False
    operands: list[exp.Expr | None] = list(parent.iter_expressions())
    case = parent.parent if isinstance(parent, exp.If) else parent
    if isinstance(case, exp.Case) and (
        (parent is case and child.arg_key == "default")
        or (parent is not case and child.arg_key == "true")
    ):
        # a CASE's results take their common type (h37B: `CASE WHEN … THEN 0.5 ELSE $1
        # END` types $1 numeric): every branch's result is an operand
        operands = [i.args.get("true") for i in case.args.get("ifs") or ()]
        operands.append(case.args.get("default"))
    for operand in operands:
        other = unwrapped(operand)
        if other is None or other is node or isinstance(other, exp.If):
            continue
        if isinstance(other, exp.Parameter | exp.Placeholder | exp.Null):
            continue
        if isinstance(other, exp.Literal) and (other.is_string or not numeric_constant(other)):
            continue
        if isinstance(other, exp.Cast) and other.to.this in _INTEGER_TYPES:
            continue
        if type(other) is exp.Column and other.name in columns:
            continue
        return True
    return False


def _equivalence(
    conjunct: exp.Expression, *, link: bool, kept: ParameterUses | None = None
) -> bool:
    """`_equivalence_of`, kept in `kept` (the statement's) when given: asked again for each
    failing expression, it walks up from the pin through the ANDs above it (2 000 conditions
    ANDed in one ON, s41); it reads only the conjunct and the tree."""
    if kept is None:
        return _equivalence_of(conjunct, link=link)
    known = kept.equivalences.get((id(conjunct), link))
    if known is None or known[0] is not conjunct:
        answer = _equivalence_of(conjunct, link=link, kept=kept)
        known = kept.equivalences[(id(conjunct), link)] = (conjunct, answer)
    return known[1]


def _equivalence_of(
    conjunct: exp.Expression, *, link: bool, kept: ParameterUses | None = None
) -> bool:
    """A plain `=` PostgreSQL makes an equivalence class of: between two columns (a link of
    a chain, or a join's USING but a FULL one's), or with a bare column on one side (its root;
    `x IN (a)`, parsed as `x = a`, and a row comparison of bare columns, parsed as one `=` per
    column, too: helper h33m). Not `x = ANY(…)`: a ScalarArrayOpExpr, no equivalence."""
    if isinstance(conjunct, exp.Join):
        return link and bool(conjunct.args.get("using")) and conjunct.side != "FULL"
    if isinstance(conjunct, exp.Exists):
        return link and pulled_up(conjunct)
    above = conjunct.parent
    while isinstance(above, exp.Paren | exp.And):
        above = above.parent
    if isinstance(above, exp.Is | exp.Not | exp.Or | exp.Case | exp.If | exp.Coalesce):
        return False  # `(tenant_id = $1) IS TRUE`: a condition, not an equality the planner sees
    if not link and isinstance(conjunct, exp.In) and len(conjunct.expressions) == 1:
        pairs = [(conjunct.this, conjunct.expressions[0])]
    elif not link and isinstance(conjunct, exp.EQ) and split_condition(conjunct):
        pairs = [p for _, p in split_condition(conjunct) or () if len(p) == 2]
        return all(  # each pair reading a column an `=` with a bare one (`1 = 1`: folded)
            any(_bare(o) for o in pair)
            for pair in pairs
            if any(isinstance(o, exp.Expr) and o.find(exp.Column) for o in pair)
        )
    elif type(conjunct) is exp.EQ and not isinstance(conjunct.expression, exp.Any):
        pairs = [(conjunct.this, conjunct.expression)]
    else:
        return False
    if any(
        (isinstance(s, exp.Cast) and s.to.this in _INEXACT_TYPES) or numeric_constant(s)
        for s in pairs[0]
    ):
        return False  # `t.tenant_id = $1::numeric`, `= 7.0`: the column is cast (h33m, h37A)
    if _retyped_parameter(conjunct, kept):
        return False  # `$1` typed numeric by another use: the column is cast too (h37A)
    bare = [_bare(s) for s in pairs[0]]
    return all(bare) if link else any(bare)


# what an EXISTS subquery PostgreSQL pulls up into a semi join may hold (its WHERE, FROM)
_PLAIN_PARTS = (
    exp.Column, exp.Identifier, exp.Placeholder, exp.Parameter, exp.Literal, exp.Paren, exp.And,
    exp.EQ, exp.Boolean, exp.Table, exp.TableAlias, exp.From, exp.Where,
)  # fmt: skip


def pulled_up(node: exp.Exists) -> bool:
    """An EXISTS PostgreSQL makes a semi join of whatever the plan (convert_EXISTS_sublink_to_join
    after simplify_EXISTS_query): a conjunct of the WHERE, over a plain SELECT of one table (no
    grouping, aggregate, window, DISTINCT, LIMIT, OFFSET, ORDER BY, CTE, lock), whose WHERE is
    an AND of plain `=` of columns, parameters and literals with a correlation `=` of two
    columns: then the correlation joins an equivalence class, and the outer source's scan gets
    the inner pin's value (`EXISTS (SELECT 1 FROM m WHERE m.tenant_id = $1 AND m.tenant_id =
    v.tenant_id)`: helper h33m). A LIMIT $n, a HAVING, an OR around it: a SubPlan, run last."""
    above = node.parent
    while isinstance(above, exp.Paren | exp.And):
        above = above.parent
    query = node.this
    if not isinstance(above, exp.Where) or not isinstance(query, exp.Select):
        return False
    kept = ("expressions", "from_", "from", "where")
    if any(value for key, value in query.args.items() if key not in kept):
        return False
    where, source = query.args.get("where"), query.args.get("from_") or query.args.get("from")
    if not isinstance(where, exp.Where) or not isinstance(source, exp.From):
        return False
    if any(not isinstance(n, _PLAIN_PARTS) for part in (where, source) for n in part.walk()):
        return False
    if any(not isinstance(e, exp.Literal | exp.Star | exp.Column) for e in query.expressions):
        return False  # (a set-returning function in the list: not pulled up)
    return any(
        isinstance(c, exp.EQ) and _bare(c.this) and _bare(c.expression)
        for c in _top_conjuncts(where.this)
    )


def _top_conjuncts(node: exp.Expression) -> list[exp.Expression]:
    """The conjuncts of an AND tree (parentheses unwrapped)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _top_conjuncts(node.this) + _top_conjuncts(node.expression)
    return [node]


def _bare(side: exp.Expr) -> bool:
    """A bare column (in parentheses or not)."""
    return isinstance(side.this if isinstance(side, exp.Paren) else side, exp.Column)


NUMERIC_TYPES = frozenset({exp.DataType.Type.DECIMAL, exp.DataType.Type.MONEY})
# a value of these types compared with an integer column casts the column
_INEXACT_TYPES = NUMERIC_TYPES | {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}


def numeric_constant(node: exp.Expr) -> bool:
    """A constant of a numeric type: a literal with a decimal point or an exponent (`7.0`,
    `7e0`), or a literal cast to numeric (`'7'::numeric`): compared with an integer column,
    PostgreSQL converts the column, not the constant (h37A)."""
    if isinstance(node, exp.Literal):
        return not node.is_string and any(c in node.name for c in ".eE")
    return (
        isinstance(node, exp.Cast)
        and isinstance(node.this, exp.Literal)
        and node.to.this in _INEXACT_TYPES
    )


def condition_cost(condition: exp.Expression) -> float:
    """What a pin costs PostgreSQL, from above (as `pin_cost` reads a source's pin)."""
    return _cost(condition, upper=True)


def pinned_after(
    sources: list[Source], cost: float, analysis: Analysis | None = None
) -> Source | None:
    """The first source whose pin costs at least `cost`: PostgreSQL may run a condition of that
    cost before it (a tie goes to the condition when the pin is a parameter's or a literal's)."""
    return next((s for s in sources if cost <= pin_cost(s, analysis)), None)


def _inlined_pin_cost(source: Source, analysis: Analysis) -> float:
    """The pin cost of a derived table or CTE pinned inside, for a condition of its reader:
    PostgreSQL pushes the condition into the scan of its body's table (a plain SELECT, row by
    row, not MATERIALIZED, one branch), where it is ordered by cost with that table's pin —
    the dearest pin of the body's sources, which must all be pinned there; unbounded (the
    condition first) for any other body."""
    bodies = source.body
    if len(bodies) != 1 or not analysis.projections.row_by_row(bodies[0]):
        return UNBOUNDED
    cte = bodies[0].node.parent
    if isinstance(cte, exp.CTE) and cte.args.get("materialized"):
        return UNBOUNDED  # MATERIALIZED: pinned inside, exempt by the caller
    inner = body_sources(bodies[0])
    if inner is None:
        return UNBOUNDED
    return max(pin_cost(s, analysis) for s in inner)


def body_sources(body: Block) -> list[Source] | None:
    """The sources of a derived table's or CTE's body that carry tenant rows, when there are
    some and every one is pinned in the body itself; else None."""
    inner = [s for s in body.every_source if carries_tenant_rows(s)]
    if not inner or not all(s.pinned and s.block is body for s in inner):
        return None
    return inner


def carries_tenant_rows(source: Source) -> bool:
    return source.tenant or source.kind in (SourceKind.DERIVED, SourceKind.CTE)
