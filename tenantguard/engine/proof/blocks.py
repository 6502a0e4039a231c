"""The block/source model: the query blocks of a statement, the sources each one reads, the
clauses that filter them, and what each part of the statement can see (PostgreSQL's scoping).

A block is every SELECT, UPDATE, DELETE, MERGE and INSERT node, wherever it sits (root, CTE,
subquery, derived table, LATERAL, set-operation branch). Its sources are what its FROM, JOINs,
USING and DML target name, in FROM order. Its filters are the top-level AND-conjuncts of WHERE,
of join ONs for the sides they filter, of MERGE ON for the target.

Scoping follows PostgreSQL's parser: a JOIN's ON sees only the two sides it joins; a derived
table in FROM sees none of its siblings (a LATERAL one, and a function's arguments, see those
before it); a CTE body sees nothing of the query that owns the WITH; the query of an
INSERT sees nothing of the INSERT. Each block records which of its parent's sources it sees.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import sqlglot
from sqlglot import exp

from tenantguard.engine.pgfunctions import BUILTIN_FUNCTIONS
from tenantguard.engine.policy import INHERITED_ROWS, Policy, strip_casts
from tenantguard.engine.proof.model import Block, Fact, PinValue, Role, Source, SourceKind, Span
from tenantguard.engine.proof.names import could_own
from tenantguard.engine.proof.syntax import (
    PRUNED,
    SetChains,
    alias_columns,
    alias_name,
    conjuncts,
    defined_columns,
    identifier_name,
    is_star,
    is_table_name,
    set_branches,
    subclasses,
)
from tenantguard.engine.proof.values import (
    FLOAT_TYPING_NAMES,
    FLOAT_TYPING_SET,
    LOSSY_COLUMN_PARENTS,
    Seen,
    column_typed_parameters,
    float_neighbours,
    float_root,
    float_typed_parameters,
    lossy_arguments,
    lossy_parameter,
    pin_value,
    scalar_only,
    single_value_array,
)

__all__ = ["Model"]

_BLOCK_TYPES = (exp.Select, exp.Update, exp.Delete, exp.Merge, exp.Insert)
# (subqueries: TG013 reads those used as values from the index, not with a walk of its own)
_INDEXED_TYPES = (
    exp.Insert, exp.Merge, exp.OnConflict, exp.Update, exp.TruncateTable, exp.Copy, exp.Subquery
)  # fmt: skip
# calls that may be volatile whatever the schema (random(), gen_random_uuid(), OPERATOR(s.op)):
# noted by the walk, so that a statement with none of them and no other call is not searched
_MAYBE_VOLATILE = (exp.Rand, exp.Uuid, exp.Operator)
DDL_TYPES = (exp.Create, exp.Drop, exp.Alter, exp.Comment, exp.Grant, exp.Revoke)
# nodes whose table operands are not row sources: whole-table statements (TG005), DDL (TG007)
_WHOLE_TABLE_TYPES = (exp.Lock, exp.TruncateTable, exp.Copy, *DDL_TYPES)
_BLOCK_SET = subclasses(*_BLOCK_TYPES)
# calls whose error may quote their argument (TG013 reads them from the index: no walk of its own)
QUOTING_TYPES = (
    exp.Cast, exp.StrToDate, exp.StrToTime, exp.ToNumber, exp.AtTimeZone, exp.TimestampTrunc,
    exp.DateTrunc, exp.Extract, exp.Format, exp.Encode, exp.Decode, exp.Date, exp.Timestamp,
    exp.Time, exp.Interval, exp.UnixToTime, exp.Chr, exp.Length, exp.RegexpLike, exp.RegexpILike,
    exp.RegexpReplace, exp.RegexpCount, exp.RegexpSubstr, exp.RegexpInstr, exp.RegexpExtract,
    exp.RegexpExtractAll, exp.RegexpSplit, exp.JSONBDeleteAtPath,
    # "division by zero": not a value, but whether a row meets a predicate (`1/(CASE WHEN body
    # LIKE $2 THEN 0 ELSE 1 END)`), one prefix at a time (round 22)
    exp.Div, exp.Mod, exp.IntDiv,
    # errors of a function's domain, given a value a row computes (round 22, helper 104)
    exp.Ln, exp.Log, exp.Sqrt, exp.Pow, exp.Exp, exp.SplitPart, exp.Substring, exp.Repeat,
    exp.WidthBucket, exp.Factorial, exp.Array,
    # (round 23, helpers 109 and 110)
    exp.Acos, exp.Asin, exp.Atanh, exp.Acosh, exp.Cosh, exp.Sinh, exp.Pad, exp.Getbit,
    exp.Normalize, exp.Ntile, exp.NthValue, exp.Lag, exp.Lead, exp.JSONBObjectAgg,
    exp.PercentileCont, exp.PercentileDisc, exp.MakeInterval,
    # "input is out of range" of an infinite value, "integer out of range" of abs(INT_MIN),
    # "value out of range: overflow"; a LIKE pattern ending with its escape character
    # (helper 112)
    exp.Cos, exp.Sin, exp.Tan, exp.Abs, exp.Degrees, exp.Like, exp.ILike, exp.SimilarTo,
    # arithmetic on a row's numbers, dates or intervals: "integer out of range", "date out of
    # range" tell how large a row's value is (helper 114; round 24: any operand, not only a bound
    # one, and a negation); a format a row gives to_char ("multiple decimal points", round 24)
    exp.Add, exp.Sub, exp.Mul, exp.Neg, exp.TimeToStr,
    # (round 24b) cot of an infinite value ("input is out of range"); the array functions that
    # reject a multidimensional array ("searching for elements in multidimensional arrays is not
    # supported", "argument must be empty or one-dimensional array"); justify_* ("interval out
    # of range"); a choice among values of which one is a date and another a timestamp (the
    # date is converted: "date out of range for timestamp")
    exp.Cot, exp.ArrayAppend, exp.ArrayPrepend, exp.ArrayPosition, exp.ArrayRemove,
    exp.JustifyDays, exp.JustifyHours, exp.JustifyInterval, exp.Coalesce, exp.Greatest,
    exp.Least, exp.Case,
)  # fmt: skip
# Typed nodes sqlglot makes of PostgreSQL built-ins that fail on some value of any argument
# (`make_timestamp(ascii(name), 13, 1, 0, 0, 0)`: "date field value out of range: 67-13-1",
# helper 110), and those that fail on no argument's value. Every typed node a built-in's name
# parses to is in one of the two, or in QUOTING_TYPES (tests/test_rule_catalogue.py reads each
# built-in's name through sqlglot: a node a later sqlglot makes is caught there).
FAILING_TYPED_CALLS: frozenset[type[exp.Expr]] = frozenset(
    {
        exp.TimestampFromParts, exp.TimeFromParts, exp.JSONObject,
        exp.JSONObjectAgg, exp.DateBin, exp.Overlay, exp.ExplodingGenerateSeries,
        exp.ArrayConcat,
    }
)  # fmt: skip
TOTAL_TYPED_CALLS: frozenset[type[exp.Expr]] = frozenset(
    {
        exp.ArrayAgg, exp.ArraySize, exp.ArrayToString, exp.Ascii, exp.Asinh, exp.Atan,
        exp.Atan2, exp.Avg, exp.BitLength, exp.BitwiseAndAgg, exp.BitwiseOrAgg,
        exp.BitwiseXorAgg, exp.Cbrt, exp.Ceil, exp.Concat, exp.ConcatWs, exp.Corr, exp.Count,
        exp.CovarPop, exp.CovarSamp, exp.CumeDist, exp.CurrentSchema,
        exp.CurrentSchemas, exp.CurrentTimestamp, exp.CurrentUser, exp.DenseRank,
        exp.Explode, exp.FirstValue, exp.Floor, exp.GroupConcat, exp.Hex, exp.Initcap,
        exp.JSONArrayAgg, exp.JSONBContains, exp.JSONBExists, exp.JSONExtract,
        exp.JSONExtractScalar, exp.JSONStripNulls, exp.LastValue, exp.Left, exp.LogicalAnd,
        exp.LogicalOr,
        exp.Lower, exp.MD5, exp.Max, exp.Min, exp.Mode, exp.PercentRank, exp.Radians, exp.Rand,
        exp.Rank, exp.RegrAvgx, exp.RegrAvgy, exp.RegrCount, exp.RegrIntercept, exp.RegrR2,
        exp.RegrSlope, exp.RegrSxx, exp.RegrSxy, exp.RegrSyy, exp.Replace, exp.Reverse,
        exp.Right, exp.Round, exp.RowNumber, exp.SHA2Digest, exp.Sign, exp.StartsWith,
        exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.StrPosition, exp.StringToArray, exp.Sum,
        exp.Tanh, exp.Translate, exp.Trim, exp.Trunc, exp.Upper,
        exp.Uuid, exp.Variance, exp.VariancePop, exp.Aliases, exp.Host,
    }
)  # fmt: skip
_INDEXED_SET = subclasses(*_INDEXED_TYPES, *_MAYBE_VOLATILE, *QUOTING_TYPES, *FAILING_TYPED_CALLS)
_WHOLE_TABLE_SET = subclasses(*_WHOLE_TABLE_TYPES)
_CTE_SET = subclasses(exp.CTE)
# a CTE body that changes data runs whether or not anything reads it
_CHANGES_DATA = (exp.Insert, exp.Update, exp.Delete, exp.Merge)
_AGGREGATE_SET = subclasses(exp.AggFunc, exp.Window)
_WINDOW_SET = subclasses(exp.Window)
_GROUPING_SETS = (exp.Rollup, exp.Cube, exp.GroupingSets)
_CAST_SET = subclasses(exp.Cast, exp.TryCast)
# what a block whose only pins are its aggregates' FILTERs may not hold outside them
_FILTER_REFUSED = (exp.Select, exp.Subquery, exp.Window, exp.Table, exp.Lateral, exp.Unnest)
# what a FILTER's condition may hold (it is evaluated on every row of the source)
_PLAIN_CONDITION = frozenset(
    {
        exp.Column, exp.Identifier, exp.Literal, exp.Parameter, exp.Placeholder, exp.Boolean,
        exp.Null, exp.Paren, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ,
        exp.NullSafeNEQ, exp.And, exp.Or, exp.Not, exp.Is, exp.Between, exp.Neg,
    }
)  # fmt: skip
_CAST_VALUES = frozenset({exp.Parameter, exp.Placeholder, exp.Literal, exp.Null})
_FLOAT_KINDS = FLOAT_TYPING_SET | {exp.Extract}  # double precision whatever their arguments
_INTERESTING = (
    _BLOCK_SET
    | _INDEXED_SET
    | _WHOLE_TABLE_SET
    | _CTE_SET
    | subclasses(exp.Table)
    | _AGGREGATE_SET
    | _CAST_SET
    | _FLOAT_KINDS
) | {exp.Anonymous}


# argument values that are not nodes (most arguments are None, a flag or a string): passed by
# one set lookup
_SCALARS = frozenset({type(None), bool, str, int})
# what the walk never descends into: scalars and leaves, told apart by one set lookup
_SKIPPED = _SCALARS | PRUNED

# a union (`exp.A | exp.B`) written in an isinstance() is built anew at each call: tuples
_WITH_OR_CTE = (exp.With, exp.CTE)
_SET_WRAPPERS = (exp.SetOperation, exp.Paren, exp.Subquery)


# pushed below a block's children on the walk's stack: popping it leaves the block (no parse
# makes a bare `Expression`: its kind tells the marker apart with the walk's one set lookup)
_END_OF_BLOCK = exp.Expression()

# What the walk does with a node of an interesting kind, told by one lookup: most such nodes
# are only indexed (a `CASE`, a `-`) or are a table's name, and skip the tests of every other
# role; the rest take them all (`_PLAN_ALL`). With `_PLANS_COLUMNS` (the statement may name a
# column of a lossy type) the kinds of LOSSY_COLUMN_PARENTS are interesting too.
_PLAN_END, _PLAN_INDEX, _PLAN_TABLE, _PLAN_ALL = range(4)


def _plans(lossy_parents: frozenset[type[exp.Expr]]) -> dict[type[exp.Expr], int]:
    plans: dict[type[exp.Expr], int] = {}
    for kind in _INTERESTING | lossy_parents:
        if kind in lossy_parents:
            plans[kind] = _PLAN_ALL
        elif kind in _INDEXED_SET and not (
            kind in _FLOAT_KINDS
            or kind in _CTE_SET
            or kind in _WHOLE_TABLE_SET
            or kind in _BLOCK_SET
            or kind in _AGGREGATE_SET
            or kind in _CAST_SET
            or kind is exp.Table
            or kind is exp.Anonymous
        ):
            plans[kind] = _PLAN_INDEX
        elif kind is exp.Table and not (
            kind in _FLOAT_KINDS
            or kind in _INDEXED_SET
            or kind in _CTE_SET
            or kind in _WHOLE_TABLE_SET
            or kind in _BLOCK_SET
            or kind in _AGGREGATE_SET
            or kind in _CAST_SET
        ):
            plans[kind] = _PLAN_TABLE
        else:
            plans[kind] = _PLAN_ALL
    plans[type(_END_OF_BLOCK)] = _PLAN_END
    return plans


_PLANS = _plans(frozenset())
_PLANS_COLUMNS = _plans(LOSSY_COLUMN_PARENTS)


# set-returning built-ins whose columns have names of their own
_FUNCTION_COLUMNS = {
    **dict.fromkeys(
        ("json_array_elements", "jsonb_array_elements", "json_array_elements_text",
         "jsonb_array_elements_text"),
        ("value",),
    ),
    **dict.fromkeys(
        ("json_each", "jsonb_each", "json_each_text", "jsonb_each_text"), ("key", "value")
    ),
}  # fmt: skip


def function_columns(function: str, alias: str) -> list[str] | None:
    """The columns of `FROM function(…) [AS alias]` without a column list, as PostgreSQL names
    them: a built-in returning a scalar has one, named by the alias (else the function); a few
    set-returning built-ins name theirs. None (unknown: any column may be one of them) for a
    function of the schema or a built-in that may return a row type (`json_populate_record`,
    `pg_…`): its columns are that type's."""
    named = _FUNCTION_COLUMNS.get(function)
    if named is not None:
        return list(named)
    if (
        function not in BUILTIN_FUNCTIONS
        or function.startswith("pg_")
        or "record" in function
        or function in ("unnest", "xmltable", "json_table")
    ):
        return None
    return [alias or function]


def _function_column_names(node: exp.Expression, function: str) -> list[str] | None:
    """The columns of a function in FROM that hands out no tenant rows: its column definition
    list (`AS f(a int, b text)`: all of them), or the built-in's own (`function_columns`) with
    the first renamed by a list of bare names. None (any column may be one of them) for a
    function of unknown columns, with a list of bare names or without: the list renames the
    first columns of its row only (`jsonb_populate_record(NULL::users, …) AS f(x)` has
    `tenant_id` still: round 28, outside review h28a)."""
    listed = alias_columns(node)
    if listed is not None and defined_columns(node):
        return listed
    known = function_columns(function, alias_name(node))
    if known is None or listed is None:
        return known
    return listed + known[len(listed) :]


def _may_be_rows(argument: exp.Expression) -> bool:
    """May `argument` of unnest be an array of a row type (whose columns unnest returns)?
    Unless a cast to a built-in type stands over it: a query (`ARRAY(SELECT a FROM a)`,
    `ARRAY[(SELECT a …)]`), a column (a whole-row reference `ARRAY[a]`, or a column of an array
    of a row type) or a call of a function that is no built-in may give one (round 28, outside
    review h28a)."""
    stack = [argument]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Cast | exp.TryCast):
            to = node.args.get("to")
            if isinstance(to, exp.DataType) and not any(
                t.this is exp.DataType.Type.USERDEFINED for t in to.find_all(exp.DataType)
            ):
                continue  # a built-in type, whatever it is made of
            return True
        if isinstance(node, exp.Column | exp.Query | exp.Subquery | exp.Dot | exp.Star):
            return True
        if isinstance(node, exp.Anonymous) and identifier_name(node.this) not in BUILTIN_FUNCTIONS:
            return True
        stack.extend(node.iter_expressions())
    return False


def _is_comma(join: exp.Join) -> bool:
    """`FROM a, b`: sqlglot keeps `b` as a join with no kind, side, method or condition."""
    args = join.args
    return not (
        args.get("on")
        or args.get("using")
        or args.get("kind")
        or args.get("side")
        or args.get("method")
    )


def sets_tenant_setting(calls: Sequence[exp.Expression], policy: Policy) -> bool:
    """Is one of these `set_config` calls on a setting a tenant expression may read?

    A FROM item or CTE runs it before the rows are read: `current_setting(…)` then reads
    the new value. A name the text does not state may be any setting; GUC names ignore case.
    """
    read = settings_read(policy.tenant_expressions)
    for call in calls:
        name = call.expressions[0] if call.expressions else None
        if not (isinstance(name, exp.Literal) and name.is_string):
            return True
        if read is None or str(name.this).lower() in read:
            return True
    return False


@functools.lru_cache(maxsize=16)
def settings_read(expressions: tuple[str, ...]) -> frozenset[str] | None:
    """The settings the tenant expressions read (`current_setting('app.tenant_id')`), folded;
    None when one of them is something else (a function may read any setting)."""
    names: set[str] = set()
    for text in expressions:
        parsed = sqlglot.parse_one(text, read="postgres")  # the Policy parsed it already
        tree = strip_casts(parsed) if isinstance(parsed, exp.Expression) else parsed
        if isinstance(tree, exp.Column):
            continue  # a function's parameter, read as an expression in its body: no setting
        if not (
            isinstance(tree, exp.Anonymous) and identifier_name(tree.this) == "current_setting"
        ):
            return None
        argument = tree.expressions[0] if tree.expressions else None
        if not (isinstance(argument, exp.Literal) and argument.is_string):
            return None
        names.add(str(argument.this).lower())
    return frozenset(names)


def _never_true(condition: exp.Expression | None) -> bool:
    """A condition that is the constant FALSE or NULL (under parentheses): TRUE for no row."""
    while isinstance(condition, exp.Paren):
        condition = condition.this
    return type(condition) is exp.Null or (
        type(condition) is exp.Boolean and condition.this is False
    )


def _does_nothing(when: exp.Expression) -> bool:
    """A MERGE clause `THEN DO NOTHING`."""
    then = when.args.get("then")
    return isinstance(then, exp.Var) and str(then.this).upper() == "DO NOTHING"


def _renamed_by_position(source: Source, renamed: list[Source]) -> bool:
    """A table whose columns a list renames by position: its own (`t AS x(a, b)`) or a join
    alias's around it (`renamed`)."""
    return (
        source.kind is SourceKind.TABLE and source.column_names is not None
    ) or source in renamed


class Model:
    """Blocks and sources of one statement, built by one walk of the tree."""

    def __init__(self, tree: exp.Expression, policy: Policy, *, lossy_columns: bool = True) -> None:
        """`lossy_columns`: may the statement name one of `policy.lossy_columns` (False when a
        screen of its text says it cannot: the walk then skips columns)."""
        self.tree = tree
        self.policy = policy
        self.tenant_col = policy.tenant_column
        self.blocks: list[Block] = []
        self.block_of: dict[int, Block] = {}
        self.handled: set[int] = set()
        self.cte_names: set[str] = set()  # of every CTE in the statement (found by the walk)
        self.ctes: list[exp.CTE] = []  # every CTE, in walk order
        # the table references without a schema, by name
        self.unqualified: dict[str, list[exp.Table]] = {}
        self._unread: set[int] | None = None
        self.casts = False  # the walk saw a cast
        # (not `_volatile`: mypyc names the C field `__volatile`, a keyword of GCC)
        self._maybe_volatile: bool | None = None
        # the derived-table and CTE sources that read each body block (by the block's id)
        self.readers: dict[int, list[Source]] = {}
        # blocks with an aggregate or window function of their own (not a nested block's)
        self.aggregating: set[int] = set()
        self.tenant_nodes: list[exp.Table] = []  # tenant-table names anywhere
        # tables named by a placeholder (`FROM %s`): text pasted in before the statement runs
        self.pasted: list[exp.Table] = []
        self.tenant_calls: list[exp.Expression] = []  # calls of functions handing out rows
        self.pinned_calls: list[tuple[exp.Expression, Block | None]] = []  # pinned by arguments
        self.index: dict[type[exp.Expression], list[exp.Expression]] = {}
        self.source_of_node: dict[int, Source] = {}
        self._with_index: dict[int, tuple[dict[str, tuple[int, exp.CTE]], dict[int, int]]] = {}
        self.recursive = False  # a WITH RECURSIVE somewhere
        self.windows = False  # a window function somewhere
        self.lossy: set[PinValue] = set()  # parameters cast to a lossy type somewhere
        self.calls: dict[str, list[exp.Expression]] = {}  # function calls by name
        self._reads_setter: bool | None = None  # calls or reads a setting_functions entry
        self.chains = SetChains()  # shared by every block: each union walked once
        # `_column_type` of a source's column, by the source's id: syntax only, so fixed once
        # the walk is done (`exact_comparison` asks it of the same sources again and again)
        self.column_types: dict[tuple[int, str], tuple[str | None, int]] = {}
        self._walk(lossy_columns and bool(policy.lossy_columns))
        for block in self.blocks:
            self._collect_sources(block)
        # names under which a derived table or CTE outputs a tenant column (`tenant_id AS tid`)
        self.renamed: set[str] = set()
        for block in self.blocks:
            block.outer = self._outer_scope(block)
            for source in block.every_source:
                if source.kind in (SourceKind.DERIVED, SourceKind.CTE):
                    source.tenant_name = self._tenant_alias(source)
                if source.tenant_name is not None:
                    self.renamed.add(source.tenant_name)
        for call, holder in self.pinned_calls:
            if id(call) not in self.handled and holder is not None:
                self._call_source(holder, call)
        # the tenant registry's key says something of tenants only where the registry is read
        # (a source of that table): elsewhere `x.id = …` is no tenant equality, and the facts
        # skip it without resolving either side
        root = policy.tenant_root
        self.reads_root = root is not None and any(
            source.table == root for block in self.blocks for source in block.every_source
        )

    # the walk

    def _walk(self, columns: bool) -> None:
        """One pre-order walk (explicit stack: depth comes from user input) that finds the
        blocks, indexes the nodes the rules read, and notes each block's own aggregates.
        Leaves (columns, literals…) are neither visited nor descended into; with `columns`
        (the schema has columns of a lossy type, and the text may name one), the columns
        compared or computed with are looked at from their parent. The block a node sits in is
        kept by a marker pushed below each block's children (no tuple per node)."""
        policy = self.policy
        plans = _PLANS_COLUMNS if columns else _PLANS
        leaves = PRUNED
        lossy_parents = LOSSY_COLUMN_PARENTS if columns else frozenset()
        typed_parents: list[exp.Expression] = []  # looked at once the walk has seen every alias
        expression = exp.Expression
        end_of_block = _END_OF_BLOCK
        enclosing: list[Block | None] = []
        block: Block | None = None
        floats_seen: Seen = set()
        # leaves are never pushed: only the root can be one
        stack: list[exp.Expression] = [] if type(self.tree) in leaves else [self.tree]
        push = stack.append
        skipped = _SKIPPED
        index = self.index
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind not in plans:
                pass  # most nodes: only descended into
            elif (plan := plans[kind]) == _PLAN_INDEX:
                index.setdefault(kind, []).append(node)
            elif plan == _PLAN_TABLE:
                self._walked_table(node)
            elif plan == _PLAN_END:
                if node is end_of_block:
                    block = enclosing.pop()
                    continue
            else:
                if kind in _FLOAT_KINDS:  # `sqrt($1)`, `$1 = sqrt(x)`: $1 is double precision
                    self.lossy.update(float_typed_parameters(node, policy))
                    self.lossy.update(float_neighbours(node, policy, floats_seen))
                if kind in _INDEXED_SET:
                    index.setdefault(kind, []).append(node)
                if kind in _CTE_SET:
                    assert isinstance(node, exp.CTE)
                    self.ctes.append(node)
                    self.cte_names.add(alias_name(node))
                    if node.parent is not None and node.parent.args.get("recursive"):
                        self.recursive = True
                if kind in _WHOLE_TABLE_SET:
                    for operand in (node.this, *node.expressions):
                        table = operand.this if isinstance(operand, exp.Schema) else operand
                        if isinstance(table, exp.Table):
                            self.handled.add(id(table))
                if kind in _BLOCK_SET and not isinstance(node.parent, exp.When):
                    enclosing.append(block)
                    stack.append(end_of_block)  # popped once the block's children are done
                    block = Block(node, block, chains=self.chains)
                    self.blocks.append(block)
                    self.block_of[id(node)] = block
                elif kind in _AGGREGATE_SET:
                    if block is not None:
                        self.aggregating.add(id(block))
                    if kind in _WINDOW_SET:
                        self.windows = True
                elif kind in _CAST_SET:
                    self.casts = True
                    lossy = lossy_parameter(node, policy)
                    if lossy is not None:
                        self.lossy.add(lossy)
                    if float_root(node, policy):  # `$1 = x::real`: $1 is real everywhere
                        self.lossy.update(float_neighbours(node, policy, floats_seen))
                elif kind is exp.Table:
                    self._walked_table(node)
                elif kind is exp.Anonymous:
                    name = identifier_name(node.this)
                    self.calls.setdefault(name, []).append(node)
                    if name in FLOAT_TYPING_NAMES:
                        self.lossy.update(float_typed_parameters(node, policy))
                        self.lossy.update(float_neighbours(node, policy, floats_seen))
                    positions = policy.lossy_arguments.get(name) if policy.lossy_arguments else None
                    if positions:  # `f($1)` with the schema's `f(t real)`: $1 is real throughout
                        self.lossy.update(lossy_arguments(node, positions, policy))
                    if policy.is_tenant_table(name):
                        self.tenant_calls.append(node)
                    elif name in policy.pinning_functions:
                        self.pinned_calls.append((node, block))
                if kind in lossy_parents:  # `score > $1`, `score real`: $1 is real throughout
                    typed_parents.append(node)
            for value in node.args.values():
                held = type(value)
                if held in skipped:  # a leaf, None, a flag, a string: most arguments
                    continue
                if held is list:
                    for item in value:  # (a loop: a comprehension is a call per list)
                        if type(item) not in leaves and isinstance(item, expression):
                            push(item)
                elif isinstance(value, expression):
                    push(value)
        if typed_parents:  # once every alias is known (`WITH q AS (SELECT r AS x …)`)
            self.lossy.update(column_typed_parameters(typed_parents, policy, floats_seen))

    def _walked_table(self, node: exp.Expression) -> None:
        """A table the walk meets: noted by name (a tenant table's, one without a schema), or
        as pasted in (`FROM %s`)."""
        assert isinstance(node, exp.Table)
        args = node.args
        name = args.get("this")
        if isinstance(name, exp.Identifier):  # `is_table_name`
            table_name = identifier_name(name)
            if self.policy.is_tenant_table(table_name):
                self.tenant_nodes.append(node)
            if not args.get("db") and not args.get("catalog"):
                self.unqualified.setdefault(table_name, []).append(node)
        elif isinstance(name, exp.Placeholder | exp.Parameter):
            self.pasted.append(node)

    def pin_value(self, node: exp.Expression) -> PinValue | None:
        """`node` as a pinning value of this statement: not a parameter it casts lossily."""
        value = pin_value(node, self.policy)
        return None if value is None else self._of_this_statement(value)

    def _of_this_statement(self, value: PinValue | None) -> PinValue | None:
        """A pinning value, unless this statement casts it lossily (a parameter) or changes the
        setting it reads (a tenant expression)."""
        if value is None:
            return None
        if self.lossy and value in self.lossy:
            return None
        if value.kind == "expression" and self.sets_tenant_setting():
            return None
        return value

    def sets_tenant_setting(self) -> bool:
        """Does the statement call `set_config` on a setting a tenant expression may read?"""
        calls = self.calls.get("set_config")
        if calls is not None and sets_tenant_setting(calls, self.policy):
            return True
        changers = self.policy.setting_functions  # the schema's functions and views doing it
        if not changers:
            return False
        if self._reads_setter is None:  # the tree is walked once, whoever asks
            self._reads_setter = any(name in changers for name in self.calls) or any(
                is_table_name(t) and identifier_name(t.this) in changers
                for t in self.tree.find_all(exp.Table)
            )
        return self._reads_setter

    def array_pin_value(self, node: exp.Expression) -> PinValue | None:
        """`ANY(ARRAY[V])`, `ALL(ARRAY[V])` as a pinning value of this statement (see
        `pin_value`), unless a bare parameter in it is typed an array elsewhere."""
        found = single_value_array(node, self.policy)
        if found is None:
            return None
        value, bare = found
        if bare and not scalar_only(self.tree, value, self.policy):
            return None
        return self._of_this_statement(value)

    # CTEs

    def cte_definition(self, table: exp.Table) -> exp.CTE | None:
        """The CTE a table reference names, with WITH's visibility rules; None for a table.

        A CTE's own body sees only the CTEs defined before it (all of them under RECURSIVE);
        the query of a WITH sees all of them. A schema-qualified name is never a CTE.
        """
        if not self.cte_names:
            return None  # the statement has no CTE (most have none)
        if table.args.get("db") or table.args.get("catalog"):
            return None
        name = identifier_name(table.this)
        if name not in self.cte_names:
            return None  # no CTE of the statement has that name
        child: exp.Expr = table
        parent = table.parent
        while parent is not None:
            with_: exp.Expr | None = None
            before: int | None = None  # only the CTEs before this position are visible
            if isinstance(parent, exp.With):
                with_ = parent
                if not parent.args.get("recursive") and isinstance(child, exp.CTE):
                    before = self._ctes_of(parent)[1].get(id(child))
            else:
                candidate = parent.args.get("with_")
                if isinstance(candidate, exp.With) and child is not candidate:
                    with_ = candidate
            if with_ is not None:
                found = self._ctes_of(with_)[0].get(name)
                if found is not None and (before is None or found[0] < before):
                    return found[1]
            child, parent = parent, parent.parent
        return None

    def _tenant_alias(self, source: Source) -> str | None:
        """The name under which a derived table or CTE outputs a tenant column when it outputs
        none under the tenant column's own name: its first branch's one item `[q.]tenant_id`
        renamed — by an alias (`tenant_id AS tid`) without a column list, or by the column
        list's name at its position (`d(tid, pid)` over `SELECT tenant_id, id`). Two such
        items, or a name the column list gives twice: None. Whose tenant column it is in each
        branch (by position in a set operation), and whether it passes through, is the
        projections' to say, as for a column of the tenant column's own name."""
        if not source.body or source.rows is not None:
            return None
        node = source.body[0].node
        if not isinstance(node, exp.Select):
            return None
        listed = source.column_names
        found: list[str] = []
        # a branch reading the tenant registry alone: its key is its row's tenant (h36B2:
        # `(SELECT id FROM clinics WHERE id = $1) c JOIN patients p ON p.clinic_id = c.id`)
        registry = self._registry_key(source.body[0])
        for position, item in enumerate(node.expressions):
            inner = item.this if isinstance(item, exp.Alias) else item
            while isinstance(inner, exp.Paren):
                inner = inner.this
            if not (
                isinstance(inner, exp.Column)
                and isinstance(inner.this, exp.Identifier)
                and identifier_name(inner.this) in (self.tenant_col, registry)
            ):
                continue
            if listed is not None:
                found.append(listed[position] if position < len(listed) else "")
            elif isinstance(item, exp.Alias):
                found.append(identifier_name(item.args.get("alias")))
            else:
                found.append(identifier_name(inner.this))  # its own name
        # the tenant column's own name output too: only as another column, the one item of
        # the tenant column renamed (`d(email, org_id)` over `SELECT org_id, email`: h32n)
        if len(found) != 1 or not found[0] or found[0] == self.tenant_col:
            return None
        # (the names only now: most bodies output no renamed tenant column, and say None above
        # whatever their names are — a `*` among them included)
        names = source.body[0].outputs if listed is None else listed
        if names is None:
            return None
        if names.count(found[0]) != 1 or names.count(self.tenant_col) > 1:
            return None
        return found[0]

    def _registry_key(self, body: Block) -> str | None:
        """The registry's key (`tenant_root_key`) when `body` reads the tenant registry by
        name and nothing else (one source, no column list), else None."""
        root, key = self.policy.tenant_root, self.policy.tenant_root_key
        if root is None or not key or key == self.tenant_col:
            return None
        sources = list(body.every_source)
        if len(sources) != 1:
            return None
        only = sources[0]
        if only.kind is not SourceKind.TABLE or only.table != root or only.column_names is not None:
            return None
        return key

    def unread_ctes(self) -> set[int]:
        """The SELECT (or VALUES) CTEs PostgreSQL never runs (by id), so that their rows reach
        no one: a CTE whose reference count is 0 is skipped unless it changes data, and one that
        is planned runs when a scan of it first asks for a row. So a CTE runs when a reference
        that runs names it: one outside every CTE, or inside a CTE that runs (the innermost
        around it); a CTE that changes data always runs. A CTE named only by its own body
        (recursive) or from inside CTEs that never run never runs either. References count by
        name, whatever they resolve to (a name is enough for PostgreSQL's count, and a CTE
        elsewhere of that name is not told apart). (From what the walk noted; worked out once,
        in time linear in the references.)"""
        if self._unread is None:
            self._unread = self._never_run()
        return self._unread

    def _never_run(self) -> set[int]:
        if not self.ctes:
            return set()
        named: dict[str, list[exp.CTE]] = {}
        for cte in self.ctes:
            named.setdefault(alias_name(cte), []).append(cte)
        ids = {id(cte) for cte in self.ctes}
        waiting: dict[int, list[str]] = {}  # CTE id -> names referenced in it (innermost)
        running: list[str] = []  # names referenced from outside every CTE
        for name, tables in self.unqualified.items():
            if name not in named:
                continue
            for table in tables:
                holder = table.parent
                while holder is not None and id(holder) not in ids:
                    holder = holder.parent
                if holder is None:
                    running.append(name)
                else:
                    waiting.setdefault(id(holder), []).append(name)
        run: set[int] = set()
        for cte in self.ctes:
            if isinstance(cte.this, _CHANGES_DATA):
                run.add(id(cte))
                running.extend(waiting.pop(id(cte), ()))
        while running:
            for cte in named.get(running.pop(), ()):
                if id(cte) not in run:
                    run.add(id(cte))
                    running.extend(waiting.pop(id(cte), ()))
        return ids - run

    def may_call_volatile(self) -> bool:
        """Might a part of this statement call a VOLATILE function (see `calls_volatile`)? No
        when the walk saw no call of a name, no random(), gen_random_uuid() or OPERATOR(…), no
        cast while the schema has volatile casts — and the schema has no volatile view, and no
        function or operator sqlglot reads as a node of another kind (a `+`, a `lpad(…)`):
        then no CTE of it need be searched one by one."""
        if self._maybe_volatile is None:
            from tenantguard.engine.proof.syntax import unstable_kinds

            policy = self.policy
            operators = policy.volatile_operators
            self._maybe_volatile = bool(
                self.calls
                or any(kind in self.index for kind in _MAYBE_VOLATILE)
                or (self.casts and any(o.startswith("cast:") for o in operators))
                or bool(policy.volatile_views)  # (a qualified read is not noted by name)
                or "cast:*" in operators
                or ((policy.functions or operators) and unstable_kinds(policy))
            )
        return self._maybe_volatile

    def inside(self, node: exp.Expression, nodes: set[int]) -> bool:
        """Is `node` one of `nodes` (by id) or within one?"""
        current: exp.Expr | None = node
        while current is not None:
            if id(current) in nodes:
                return True
            current = current.parent
        return False

    def _ctes_of(self, with_: exp.Expr) -> tuple[dict[str, tuple[int, exp.CTE]], dict[int, int]]:
        """A WITH's CTEs by name (the first of a name) and the position of each: looked up once
        per WITH, not once per reference (500 chained CTEs make 500 references)."""
        found = self._with_index.get(id(with_))
        if found is None:
            names: dict[str, tuple[int, exp.CTE]] = {}
            positions: dict[int, int] = {}
            for position, cte in enumerate(with_.expressions):
                if isinstance(cte, exp.CTE):
                    names.setdefault(alias_name(cte), (position, cte))
                    positions[id(cte)] = position
            found = (names, positions)
            self._with_index[id(with_)] = found
        return found

    # sources

    def _add(self, block: Block, source: Source) -> Source:
        name = source.name
        if name:
            named = block.named.get(name)
            if named is None:
                block.named[name] = [source]
                block.sources[name] = source
            else:
                named.append(source)
                block.ambiguous.add(name)
        every = block.every_source
        source.index = len(every)
        every.append(source)  # a duplicate name still has to be pinned
        for body in source.body:
            self.readers.setdefault(id(body), []).append(source)
        self.source_of_node[id(source.node)] = source
        return source

    def _bodies(self, query: exp.Expression | None) -> list[Block]:
        if query is None:
            return []
        return [self.block_of[id(b)] for b in set_branches(query) if id(b) in self.block_of]

    def _item(self, block: Block, node: exp.Expression, role: Role) -> list[Source]:
        """The sources one FROM/JOIN/USING item contributes (a parenthesized join gives several)."""
        if type(node) is exp.Table and is_table_name(node) and not node.args.get("rows_from"):
            return self._table_group(block, node, role)  # most items: a table's name, first
        if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Table):
            # `(a JOIN b ON …)`: a join group, not a derived table
            group = self._item(block, node.this, role)
            alias = alias_name(node)
            if alias:
                self._hide(block, alias, group)
                listed = alias_columns(node)
                if listed is not None:
                    block.join_lists[alias] = listed
            return group
        lateral = isinstance(node, exp.Lateral)
        if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Values):
            values = node.this  # `(VALUES …) AS v(…)`
            source = Source(
                alias_name(node), SourceKind.VALUES, node, block, role,
                column_names=alias_columns(node), rows=values,
            )  # fmt: skip
            return [self._add(block, source)]
        inner = node.this if lateral else node
        if isinstance(node, exp.Table) and node.args.get("rows_from"):
            return [self._rows_from(block, node, role)]
        if isinstance(inner, exp.Anonymous) or (
            isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous)
        ):
            call = inner if isinstance(inner, exp.Anonymous) else node.this
            return [self._function_source(block, node, call, role)]
        if isinstance(node, exp.Table) and is_table_name(node):
            return self._table_group(block, node, role)
        if isinstance(inner, exp.Subquery):
            query = inner.this
            bodies = self._bodies(query)
            source = Source(
                alias_name(node) or alias_name(inner),
                SourceKind.DERIVED if bodies else SourceKind.OTHER,
                node,
                block,
                role,
                body=bodies,
                column_names=_renamed(alias_columns(node) or alias_columns(inner), bodies),
                lateral=lateral,
            )
            return [self._add(block, source)]
        if isinstance(node, exp.Values):
            name = alias_name(node)
            source = Source(
                name, SourceKind.VALUES, node, block, role,
                column_names=alias_columns(node), rows=node,
            )  # fmt: skip
            return [self._add(block, source)]
        name = alias_name(node) or identifier_name(node.args.get("this"))
        # a scalar (unnest of an array of scalars, generate_series): one column, named by the
        # alias; anything else sqlglot has a node of its own for (XMLTABLE's COLUMNS…): unknown
        scalars = (exp.Unnest, exp.GenerateSeries, exp.ExplodingGenerateSeries)
        call = node if isinstance(node, scalars) else node.args.get("this")
        # (not an unnest of an array of a row type: it has that type's columns)
        scalar = isinstance(call, scalars) and not any(
            isinstance(t, exp.DataType) and t.this is exp.DataType.Type.USERDEFINED
            for t in call.find_all(exp.DataType)
        )
        if scalar and isinstance(call, exp.Unnest):
            scalar = not any(_may_be_rows(a) for a in call.expressions)
        # a list of bare names renames a row's first columns only: the others keep theirs
        listed = alias_columns(node) if scalar or defined_columns(node) else None
        columns = listed or ([name] if name and scalar else None)
        # functions in FROM (unnest, jsonb_to_recordset…) see the sources before them
        other = Source(
            name, SourceKind.OTHER, node, block, role, column_names=columns, lateral=True
        )
        return [self._add(block, other)]

    def _table_group(self, block: Block, node: exp.Table, role: Role) -> list[Source]:
        """A table named in FROM, and the joins sqlglot hangs on it."""
        group = [self._table_source(block, node, role)]
        start = 0
        for join in node.args.get("joins") or []:
            if _is_comma(join):
                start = len(group)
            group = self._join(block, group, start, join, role)
        return group

    def _hide(self, block: Block, alias: str, group: list[Source]) -> None:
        """`(a JOIN b) AS j` hides `a` and `b`: the rest of the query reaches their columns as
        `j.col` (or unqualified) only. Their own names no longer resolve — conditions inside the
        group that use them pin nothing (conservative) — and `j` names the group."""
        for source in group:
            if block.sources.get(source.name) is source:
                del block.sources[source.name]
            same = block.named.get(source.name, [])
            if source in same:
                same.remove(source)
            source.name = f"{alias}.{source.name}"  # no qualifier can name it
        block.join_aliases[alias] = list(group)

    def _function_source(
        self, block: Block, node: exp.Expression, call: exp.Anonymous, role: Role
    ) -> Source:
        """`FROM f(…) [WITH ORDINALITY] [AS x(…)]`: a function read like a table. One that hands
        out tenant rows is a tenant reference; one pinned by its arguments gets its pin from
        them (the facts module reads them)."""
        function = identifier_name(call.this)
        policy = self.policy
        tenant = policy.is_tenant_table(function) or function in policy.pinning_functions
        self.handled.add(id(call))
        unpinnable = policy.unpinnable.get(function)
        if (
            unpinnable is None
            and node.args.get("ordinality")
            and policy.is_tenant_table(function)
            and function not in policy.pinning_functions
        ):
            # PostgreSQL does not inline a function read WITH ORDINALITY: it runs over every
            # tenant's rows and numbers them before the reader's filter (round 20)
            unpinnable = (
                f"WITH ORDINALITY numbers the rows {function}() returns for every tenant before "
                "a pin on its columns filters them: the numbers count other tenants' rows (pin "
                "the rows inside the function, or number them after the filter: row_number() "
                "OVER ())"
            )
        source = Source(
            alias_name(node) or function,
            SourceKind.TABLE if tenant else SourceKind.OTHER,
            node,
            block,
            role,
            function if tenant else None,
            tenant,
            column_names=alias_columns(node) if tenant else _function_column_names(node, function),
            lateral=True,
            unpinnable=unpinnable,
        )
        return self._add(block, source)

    def _rows_from(self, block: Block, node: exp.Table, role: Role) -> Source:
        """`ROWS FROM (f(), g())`: the functions' rows zipped by position. A pin on one
        function's column filters the zipped rows, not the other functions' own: one that
        hands out tenant rows cannot be proven here."""
        items = node.args.get("rows_from") or []
        if (
            len(items) == 1
            and isinstance(items[0], exp.Table)
            and isinstance(items[0].this, exp.Anonymous)
            and not items[0].args.get("alias")
        ):
            # `ROWS FROM (f(…))` of one function is `f(…)`: one range table entry, inlined
            # (and numbered WITH ORDINALITY) alike (round 42, h42A)
            return self._function_source(block, node, items[0].this, role)
        names = []
        calls = []
        for item in items:
            call = item.this if isinstance(item, exp.Table) else item
            if isinstance(call, exp.Anonymous):
                self.handled.add(id(call))
                names.append(identifier_name(call.this))
                calls.append(call)
        policy = self.policy
        tenant = [n for n in names if policy.is_tenant_table(n) or n in policy.pinning_functions]
        if tenant and not any(policy.is_tenant_table(n) for n in tenant):
            # every function handing out tenant rows is pinned by its arguments (fp14): each
            # call's rows are its tenant's whatever they are zipped with (the others' rows, or
            # NULLs past the end of the shorter): a reference pinned by its arguments alone,
            # like a call outside FROM; the zipped relation holds no other tenant's rows
            for call in calls:
                if identifier_name(call.this) in policy.pinning_functions:
                    self._call_source(block, call)
            # (a list of bare names renames the zipped row's first columns only: the others
            # are the functions' own, unknown here)
            zipped = Source(
                alias_name(node) or names[0],
                SourceKind.OTHER,
                node,
                block,
                role,
                column_names=alias_columns(node) if defined_columns(node) else None,
                lateral=True,
            )
            return self._add(block, zipped)
        source = Source(
            alias_name(node) or (names[0] if names else ""),
            SourceKind.TABLE if tenant else SourceKind.OTHER,
            node,
            block,
            role,
            tenant[0] if tenant else None,
            bool(tenant),
            column_names=alias_columns(node),
            lateral=True,
            unpinnable=(
                f"ROWS FROM zips {tenant[0]}() with other functions by position: a pin on its "
                "columns does not filter the others"
                if tenant
                else None
            ),
        )
        return self._add(block, source)

    def _call_source(self, block: Block, call: exp.Expression) -> None:
        """A call of a function pinned by its arguments, outside FROM (`SELECT count_of($1)`):
        a reference like any other, pinned when its arguments are."""
        function = identifier_name(call.this)
        self.handled.add(id(call))
        source = Source(
            "", SourceKind.TABLE, call, block, Role.CALL, function, True, column_names=[]
        )
        source.index = len(block.every_source)
        block.every_source.append(source)

    def _table_source(self, block: Block, table: exp.Table, role: Role) -> Source:
        self.handled.add(id(table))
        table_name = identifier_name(table.this)
        name = alias_name(table) or table_name
        columns = alias_columns(table)
        # PostgreSQL never resolves the target of UPDATE/DELETE/MERGE to a CTE
        cte = self.cte_definition(table) if role is not Role.TARGET else None
        rows = _values_body(cte.this) if cte is not None else None
        if cte is not None and rows is not None:
            source = Source(
                name, SourceKind.VALUES, table, block, role, table_name,
                column_names=columns or alias_columns(cte), rows=rows,
            )  # fmt: skip
            return self._add(block, source)
        if cte is not None:
            bodies = self._bodies(cte.this)
            columns = _renamed(columns or alias_columns(cte), bodies)
            source = Source(
                name,
                SourceKind.CTE,
                table,
                block,
                role,
                table_name,
                body=bodies,
                column_names=columns,
            )
        elif table_name in self.policy.pinned_relations and not table.args.get("db"):
            return self._pinned_relation(block, table, role, name, table_name, columns)
        else:
            unpinnable = self.policy.unpinnable.get(table_name)
            # ONLY: the parent's own rows, none of the tenant tables inheriting from it
            only = unpinnable is not None and unpinnable.startswith(INHERITED_ROWS)
            only = only and bool(table.args.get("only"))
            source = Source(
                name,
                SourceKind.TABLE,
                table,
                block,
                role,
                table_name,
                self.policy.is_tenant_table(table_name)
                and not only
                and not (
                    self.policy.global_homes
                    and self.policy.surely_global(
                        table_name,
                        identifier_name(table.args["db"]) if table.args.get("db") else None,
                    )
                ),
                column_names=columns,
                unpinnable=None if only else unpinnable,
                # a view showing its tenant column under another name (none under a column list)
                tenant_name=(
                    self.policy.view_tenant_names.get(table_name) if columns is None else None
                ),
            )
        return self._add(block, source)

    def _pinned_relation(
        self,
        block: Block,
        table: exp.Table,
        role: Role,
        name: str,
        table_name: str,
        columns: list[str] | None,
    ) -> Source:
        """A relation every row of which is of the tenant a tenant expression names (a
        trigger's transition table): a tenant source, pinned to that expression by itself."""
        text = self.policy.pinned_relations[table_name]
        expressions = self.policy.tenant_expressions
        source = Source(
            name, SourceKind.TABLE, table, block, role, table_name, True, column_names=columns
        )
        if text in expressions:
            value = PinValue("expression", expressions.index(text))
            source.facts.append(Fact(source, table, "its rows", value=value))
        return self._add(block, source)

    def _join(
        self, block: Block, everything: list[Source], start: int, join: exp.Join, role: Role
    ) -> list[Source]:
        """Adds a JOIN's right side to `everything`; `everything[start:]` is its left side (the
        FROM item it belongs to: a comma starts a new one)."""
        left = everything[start:]
        right = self._item(block, join.this, role)
        side = (join.args.get("side") or "").upper()
        if side == "LEFT":
            filtered = right
        elif side == "RIGHT":
            filtered = left
        elif side == "FULL":
            filtered = []
        else:
            filtered = left + right
        for source in right if side == "LEFT" else left if side == "RIGHT" else ():
            source.nullable = True
        if side == "FULL":
            for source in left + right:
                source.nullable = True
        if side in ("LEFT", "RIGHT"):
            nullable, preserved = (right, left) if side == "LEFT" else (left, right)
            block.outer_joins.append((join, Span.of(block, nullable), Span.of(block, preserved)))
        elif side == "FULL":
            # each side is the other's preserved one: a WHERE that rejects one side's
            # NULL-extended rows leaves a one-sided outer join (round 27)
            left_span, right_span = Span.of(block, left), Span.of(block, right)
            block.outer_joins.append((join, left_span, right_span))
            block.outer_joins.append((join, right_span, left_span))
        scope = Span.of(block, left + right)
        block.on_scopes[id(join)] = scope
        condition = join.args.get("on")
        kind = f"{side} JOIN" if side else "JOIN"
        name = right[0].name if right else ""
        if condition is not None:
            clause = f"ON of {kind} {name}".strip()
            block.filters.append((conjuncts(condition), Span.of(block, filtered), clause, scope))
        using = [identifier_name(u) for u in join.args.get("using") or []]
        if str(join.args.get("method") or "").upper() == "NATURAL":
            using = self._common_columns(left, right)
        if self.tenant_col in using:
            self._merge_tenant_columns(
                block, left, right, join, filtered, f"USING of {kind} {name}"
            )
        alias = join.args.get("using_alias")
        if alias is not None:
            self._using_alias(block, join, identifier_name(alias), using, left, right, side)
        return everything + right

    def _using_alias(
        self,
        block: Block,
        join: exp.Join,
        alias: str,
        using: list[str],
        left: list[Source],
        right: list[Source],
        side: str,
    ) -> None:
        """`JOIN b USING (tenant_id) AS j`: `j.tenant_id` is the merged column — the left one
        (the right one for a RIGHT JOIN; a FULL JOIN's coalesce is no one's) — and `j` names
        nothing else. Inside parentheses (`(a JOIN b USING (x) AS j) AS k` hides it) the alias
        is not followed: its columns resolve to nothing."""
        node: exp.Expr | None = join.parent
        while node is not None and node is not block.node:
            if isinstance(node, exp.Subquery | exp.Paren):
                return
            node = node.parent
        owners: dict[str, Source | None] = {}
        for column in using:
            if side == "FULL":
                owners[column] = None
            elif column == self.tenant_col:
                owners[column] = block.merged[column][0]
            else:
                candidates = [
                    s
                    for s in (right if side == "RIGHT" else left)
                    if could_own(self.policy, s, column)
                ]
                owners[column] = candidates[0] if len(candidates) == 1 else None
        block.using_aliases.setdefault(alias, []).append((owners, Span.of(block, left + right)))

    def _common_columns(self, left: list[Source], right: list[Source]) -> list[str]:
        """The columns a NATURAL JOIN equates: those both sides have, when the schema shows
        every column of both; otherwise none can be told (and none is assumed)."""
        from tenantguard.engine.proof.names import known_columns

        def known(sources: list[Source]) -> set[str] | None:
            names: set[str] = set()
            for source in sources:
                columns = known_columns(self.policy, source)
                if columns is None:
                    return None  # (a derived table's or CTE's names too: round 27)
                names.update(columns)
            return names

        a, b = known(left), known(right)
        return sorted(a & b) if a is not None and b is not None else []

    def _merge_tenant_columns(
        self,
        block: Block,
        left: list[Source],
        right: list[Source],
        join: exp.Join,
        filtered: list[Source],
        clause: str,
    ) -> None:
        """`JOIN b USING (tenant_id)`: `left.tenant_id = b.tenant_id` under the ON's side rules,
        and one merged `tenant_id` column for the rest of the block — the left one (the right
        one for a RIGHT JOIN; for a FULL JOIN a coalesce of both, which belongs to neither).

        The left column is the merged one of an earlier USING, or the only left source that has
        the column (PostgreSQL rejects a USING column that the left side has twice).
        """
        column = self.tenant_col
        policy = self.policy
        if column in block.merged and block.merged[column][1][0] in left:
            left_owner = block.merged[column][0]
        else:
            owners = [s for s in left if could_own(policy, s, column)]
            left_owner = owners[0] if len(owners) == 1 else None
        owners = [s for s in right if could_own(policy, s, column)]
        right_owner = owners[0] if len(owners) == 1 else None
        # a table renamed by position (`patients AS p(tenant_id, x)`, or inside `(…) AS j(…)`):
        # its column of that name is whichever the list put there — no tenant column (round 19)
        renamed = [s for a in block.join_lists for s in block.join_aliases[a]]
        if left_owner is not None and _renamed_by_position(left_owner, renamed):
            left_owner = None
        if right_owner is not None and _renamed_by_position(right_owner, renamed):
            right_owner = None
        # a source whose tenant column is under another name (`tenant_name`): its column of
        # the tenant column's name is another one
        if left_owner is not None and left_owner.tenant_name is not None:
            left_owner = None
        if right_owner is not None and right_owner.tenant_name is not None:
            right_owner = None
        side = (join.args.get("side") or "").upper()
        if (
            left_owner is not None
            and right_owner is not None
            and not _exact_merge(
                _based(policy, _column_type(policy, left_owner, column)),
                _based(policy, _column_type(policy, right_owner, column)),
            )
        ):
            # (an exact domain merges as its base: h36B2, `staff.clinic_id clinic_ref` over
            # integer USING patients' integer clinic_id)
            # `t LEFT JOIN s USING (tenant_id)` with `s.tenant_id real`: the merged column is
            # `t.tenant_id::real`, and 16777217 equals 16777216 there: no tenant column, and the
            # USING's equality (in float8) no chain either
            left_owner = right_owner = None
        merged = None if side == "FULL" else right_owner if side == "RIGHT" else left_owner
        block.merged[column] = (merged, (*left, *right))
        if side == "FULL" and left_owner is not None and right_owner is not None:
            block.full_merged[column] = (left_owner, right_owner)
        if left_owner is None or right_owner is None:
            return
        for target, other in ((right_owner, left_owner), (left_owner, right_owner)):
            if target in filtered:
                target.facts.append(Fact(target, join, clause, other=other))

    def _from_clause(
        self,
        block: Block,
        everything: list[Source],
        from_: exp.Expression | None,
        joins: list[exp.Join],
        role: Role,
    ) -> list[Source]:
        start = len(everything)
        if isinstance(from_, exp.From):
            everything = everything + self._item(block, from_.this, role)
        for join in joins:
            if _is_comma(join):
                start = len(everything)
            everything = self._join(block, everything, start, join, role)
        return everything

    def _collect_sources(self, block: Block) -> None:
        node = block.node
        everything: list[Source] = []
        if isinstance(node, exp.Select):
            everything = self._from_clause(
                block, [], node.args.get("from_"), node.args.get("joins") or [], Role.READ
            )
        elif isinstance(node, exp.Update | exp.Delete):
            target = node.this
            if isinstance(target, exp.Table):
                everything = self._item(block, target, Role.TARGET)
            for item in node.args.get("using") or []:
                everything = everything + self._item(block, item, Role.READ)
            everything = self._from_clause(
                block, everything, node.args.get("from_"), node.args.get("joins") or [], Role.READ
            )
        elif isinstance(node, exp.Merge):
            target = self._item(block, node.this, Role.TARGET)
            using = node.args.get("using")
            merge_source = self._item(block, using, Role.MERGE_SOURCE) if using is not None else []
            whens = node.args.get("whens")
            by_source = isinstance(whens, exp.Whens) and any(
                w.args.get("source") and not w.args.get("matched") for w in whens.expressions
            )
            if by_source:
                # WHEN NOT MATCHED BY SOURCE acts on the target rows the ON does *not* match:
                # the ON filters nothing then
                for source in target:
                    source.near_misses.append(
                        (node, "WHEN NOT MATCHED BY SOURCE acts on every target row the ON rejects")
                    )
            elif _never_true(node.args.get("on")):
                # `ON false`: no target row is matched, nor read (every source row is NOT
                # MATCHED: only its INSERT acts, whose tenant value TG002 checks)
                for source in target:
                    source.tenant = False
            else:
                # the ON filters the target; the source too where every action is on matched
                # rows (or does nothing): a source row the ON rejects is used by no clause, and
                # PostgreSQL joins the two inner (helper 119)
                matched_only = isinstance(whens, exp.Whens) and all(
                    w.args.get("matched") or _does_nothing(w) for w in whens.expressions
                )
                block.filters.append(
                    (
                        conjuncts(node.args.get("on")),
                        Span.of(block, target + merge_source if matched_only else target),
                        "MERGE ON",
                        Span.of(block, target + merge_source),
                    )
                )
            return
        elif isinstance(node, exp.Insert):
            self._insert_sources(block, node)
            return
        where = node.args.get("where")
        if isinstance(where, exp.Where):
            block.filters.append((conjuncts(where.this), Span.of(block, everything), "WHERE", None))
        having, group = node.args.get("having"), node.args.get("group")
        if (
            isinstance(having, exp.Having)
            and isinstance(group, exp.Group)
            and not any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup", "totals"))
            and (
                not any(isinstance(k, _GROUPING_SETS) for k in group.expressions)
                or self._sets_hold_the_tenant(node, group, everything)
            )
        ):
            # a column outside an aggregate is one value in a group: `HAVING tenant_id = V`
            # keeps the groups of V's rows only (no grouping sets: no super-aggregate rows;
            # or every set holding the tenant column, or `=` dropping the sets without it)
            block.filters.append(
                (conjuncts(having.this), Span.of(block, everything), "HAVING", None)
            )
        if (
            isinstance(node, exp.Select)
            and id(block) in self.aggregating
            and len(everything) == 1
            and everything[0].tenant
            and everything[0].kind is SourceKind.TABLE
            and everything[0].unpinnable is None
            and group is None
            and having is None
            # a view (or function) of the schema whose own conditions may fail or act runs
            # them on every tenant's row before any FILTER (no pin reaches its scan: h39A)
            and (everything[0].table or "") not in self.policy.failing_views
            and (everything[0].table or "") not in self.policy.volatile_views
        ):
            filters = self._aggregate_filters(node, everything[0])
            for condition in filters or ():
                block.filters.append(
                    (conjuncts(condition), Span.of(block, everything), "FILTER", None)
                )

    @staticmethod
    def _having_rejects_null_tenant(
        node: exp.Expression, tenant: Callable[[exp.Expression], bool]
    ) -> bool:
        """A top-level HAVING conjunct `tenant_id = X` (plain `=`): a row of a grouping set
        without the tenant column (ROLLUP's `()`, CUBE's sets, a GROUPING SETS set without it)
        has it NULL, which `=` never keeps — not `IS NOT DISTINCT FROM`, which keeps it for a
        NULL value (h35A)."""
        having = node.args.get("having")
        if not isinstance(having, exp.Having):
            return False
        for conjunct in conjuncts(having.this):
            while isinstance(conjunct, exp.Paren):
                conjunct = conjunct.this
            if isinstance(conjunct, exp.EQ) and (
                tenant(conjunct.this) or tenant(conjunct.expression)
            ):
                return True
        return False

    def _sets_hold_the_tenant(
        self, node: exp.Expression, group: exp.Group, everything: Sequence[Source]
    ) -> bool:
        """GROUP BY with grouping sets each holding the tenant column (a plain key, or in each
        set of a GROUPING SETS; ROLLUP and CUBE hold `()`): each group is one tenant's rows, and
        `HAVING tenant_id = V` keeps V's (helper h33m). PostgreSQL keeps that HAVING after
        the aggregation (with grouping sets it is not moved into the WHERE), so the keys and
        the aggregates run on every tenant's rows first: only keys of bare columns, and
        count(…), min(…), max(…) of a bare column or `*` with no FILTER (nothing that may fail:
        `sum(100 / (points - 8))` raises the error of another tenant's row). A set without
        the tenant column (ROLLUP's `()`) is one too when a HAVING conjunct is `tenant_id = X`:
        its rows have the column NULL, which `=` drops (h35A). And only over base tables: a
        derived table, CTE or view the pin would be pushed into computes its columns on every
        tenant's rows before the late HAVING (h35P: `FROM (SELECT org, title::int AS n FROM
        cards) s GROUP BY ROLLUP (org) HAVING org = $1` failed on another tenant's title)."""
        if not reads_tables_only(everything, self.policy):
            return False

        def tenant(key: exp.Expression) -> bool:
            while isinstance(key, exp.Paren):
                key = key.this
            return isinstance(key, exp.Column) and identifier_name(key.this) == self.tenant_col

        for key in group.expressions:
            for part in key.walk():
                if isinstance(part, exp.Expression) and not isinstance(
                    part, (exp.Column, exp.Identifier, exp.Tuple, exp.Paren, *_GROUPING_SETS)
                ):
                    return False
        held = any(
            tenant(k) for k in group.expressions if not isinstance(k, _GROUPING_SETS)
        ) or any(
            isinstance(k, exp.GroupingSets)
            and all(
                any(tenant(c) for c in (s.expressions if isinstance(s, exp.Tuple) else [s]))
                for s in k.expressions
            )
            for k in group.expressions
        )
        if not held and not (
            any(tenant(part) for key in group.expressions for part in key.walk())
            and self._having_rejects_null_tenant(node, tenant)
        ):
            return False
        having = node.args.get("having")
        if isinstance(having, exp.Having) and not never_fails(having.this):
            return False
        for call in node.find_all(exp.AggFunc, exp.Filter):
            if call.find_ancestor(exp.Select) is not node:
                continue  # a subquery's own
            argument = call.this
            while isinstance(argument, exp.Paren | exp.Distinct):
                argument = (
                    argument.expressions[0]
                    if isinstance(argument, exp.Distinct) and len(argument.expressions) == 1
                    else argument.this
                )
            if not (
                isinstance(call, exp.Count | exp.Min | exp.Max)
                and isinstance(argument, exp.Column | exp.Star)
                and not call.expressions
            ) and not self._integer_sum(call, argument, everything):
                return False
        return True

    def _integer_sum(
        self, call: exp.Expr, argument: exp.Expr, everything: Sequence[Source]
    ) -> bool:
        """`sum(n)` or `avg(n)` with no FILTER of a bare column that each table the block reads
        holding it types as an integer (`typed_columns`): a sum of int2 or int4 is an int8, of
        int8 a numeric, an average a numeric — none overflows, on any tenant's rows (h36A:
        `GROUP BY ROLLUP (clinic_id) … sum(balance) … HAVING clinic_id = $1` was flagged)."""
        if not isinstance(call, exp.Sum | exp.Avg) or call.expressions:
            return False
        if not isinstance(argument, exp.Column) or not isinstance(argument.this, exp.Identifier):
            return False
        column, qualifier = identifier_name(argument.this), argument.table
        kinds = set()
        for source in everything:
            if qualifier and source.name != qualifier:
                continue
            if source.kind is not SourceKind.TABLE or source.table is None:
                return False
            if source.column_names is not None:
                return False
            kind = self.policy.typed_columns.get(source.table, {}).get(column)
            columns = self.policy.columns_of(source.table)
            if kind is None and (columns is None or column in columns):
                return False  # the column of a type not known, or a table not known
            if kind is not None:
                kinds.add(kind)
        return bool(kinds) and kinds <= {"int2", "int4", "int8"}

    def _aggregate_filters(self, node: exp.Select, source: Source) -> list[exp.Expression] | None:
        """`SELECT count(*) FILTER (WHERE tenant_id = $1), sum(n) FILTER (…) FROM t` (fp14):
        the conditions of the FILTERs, when they alone decide what the block returns of its one
        source. The block is one row (no GROUP BY, no HAVING: the caller) whose every aggregate
        is filtered by a condition with a conjunct `tenant_col = V` on the source (a pinning
        value: a chain may stay unpinned, and one aggregate's pin must not pin another's
        rows), and that names no column, `*`, call or aggregate outside them (every other
        tenant's row feeds nothing returned). A filter condition is evaluated on every row: it
        may hold columns, values, comparisons and connectives only — no call, no cast of a
        column (a side effect, an error that tells another tenant's values). No nested query,
        no window. None: not so."""
        policy = self.policy
        tenant = policy.tenant_column
        filters: list[exp.Expression] = []
        stack: list[exp.Expression] = [
            v
            for key, value in node.args.items()
            if key != "from_"
            for v in (value if isinstance(value, list) else [value])
            if isinstance(v, exp.Expression)
        ]
        while stack:
            current = stack.pop()
            if isinstance(current, exp.Filter):
                aggregate, where = current.this, current.expression
                if not isinstance(aggregate, exp.AggFunc) or not isinstance(where, exp.Where):
                    return None
                condition = where.this
                if not self._plain_condition(condition) or self._reads_failing_column(
                    condition, source
                ):
                    return None
                if not any(
                    type(c) is exp.EQ and self._pins_by_value(c, source, tenant)
                    for c in conjuncts(condition)
                ):
                    return None
                filters.append(condition)  # its arguments are evaluated on its rows only
                continue
            if isinstance(current, exp.Column | exp.Star | exp.AggFunc | exp.Anonymous):
                if not policy.is_tenant_expression(current):
                    return None
                continue
            if isinstance(current, _FILTER_REFUSED):
                return None
            stack.extend(current.iter_expressions())
        return filters

    def _reads_failing_column(self, condition: exp.Expression, source: Source) -> bool:
        """Does a FILTER's condition read a column the view computes by an expression that
        may fail (`Policy.failing_columns`: `100 / (points - 8) AS r`)? The condition runs on
        every row, so the expression does too, unless a pin before it in an AND stops it there
        (PostgreSQL evaluates a FILTER's AND in order): in any order, to be sure (h39A)."""
        failing = self.policy.failing_columns.get(source.table or "") or frozenset()
        return bool(failing) and any(
            identifier_name(c.this) in failing for c in condition.find_all(exp.Column)
        )

    def _plain_condition(self, condition: exp.Expression) -> bool:
        """Columns, values, comparisons and connectives only (a tenant expression counts)."""
        stack = [condition]
        while stack:
            current = stack.pop()
            if self.policy.is_tenant_expression(current):
                continue
            if isinstance(current, exp.Cast | exp.TryCast):
                # a cast of a value only: a column's may fail on another tenant's row
                if type(strip_casts(current)) not in _CAST_VALUES:
                    return False
                continue
            if type(current) not in _PLAIN_CONDITION:
                return False
            stack.extend(current.iter_expressions())
        return True

    def _pins_by_value(self, conjunct: exp.EQ, source: Source, tenant: str) -> bool:
        """`tenant_col = V` on `source` (qualified by its name, or not), V a pinning value."""
        for column, other in ((conjunct.this, conjunct.expression),
                              (conjunct.expression, conjunct.this)):  # fmt: skip
            while isinstance(column, exp.Paren):
                column = column.this
            if (
                type(column) is exp.Column
                and identifier_name(column.this) == tenant
                and (not column.table or identifier_name(column.args.get("table")) == source.name)
                and not column.args.get("db")
                and self.pin_value(other) is not None
            ):
                return True
        return False

    def _insert_sources(self, block: Block, node: exp.Insert) -> None:
        """The rows an INSERT writes, as its target (for RETURNING and ON CONFLICT), and the
        proposed row as `excluded`. Neither is a reference to prove: TG002 and TG003 speak of
        what an INSERT writes; they are pinned when the rows written are (the solver)."""
        target = node.this.this if isinstance(node.this, exp.Schema) else node.this
        if not isinstance(target, exp.Table):
            return
        self.handled.add(id(target))
        table = identifier_name(target.this)
        name = alias_name(target) or table
        self._add(block, Source(name, SourceKind.TABLE, target, block, Role.TARGET, table, False))
        if isinstance(node.args.get("conflict"), exp.OnConflict):
            # `excluded` is always qualified: it owns no unqualified column
            self._add(
                block,
                Source("excluded", SourceKind.OTHER, node.args["conflict"], block, Role.READ,
                       table, False, column_names=[]),
            )  # fmt: skip

    # scoping

    def _outer_scope(self, block: Block) -> Span | None:
        """The sources of the parent block that `block` can see: None for all of them, none
        (a derived table, a CTE, the query of an INSERT), or the ON's two sides, or the sources
        before a LATERAL item."""
        parent = block.parent
        if parent is None:
            return None
        nothing = Span(parent, 0, 0)
        child: exp.Expr = block.node
        node = child.parent
        lateral = False
        while node is not None and node is not parent.node:
            if isinstance(node, _SET_WRAPPERS):
                # nothing in a chain of these changes what is seen: past it in one step
                child = block.chains.top(node, subqueries=True)
                node = child.parent
                continue
            if isinstance(node, exp.Lateral):
                lateral = True
            elif isinstance(node, exp.Table) and not is_table_name(node):
                lateral = True  # the arguments of a function in FROM see what is before it
            elif isinstance(node, _WITH_OR_CTE):
                return nothing
            elif isinstance(node, exp.Join):
                if child is node.args.get("on"):
                    return parent.on_scopes.get(id(node), nothing)
                if child is node.this:
                    return self._before(parent, child) if lateral else nothing
            elif isinstance(node, exp.From) and child is node.this:
                return self._before(parent, child) if lateral else nothing
            child, node = node, node.parent
        if node is None:
            return nothing
        key = child.arg_key
        if isinstance(node, exp.Insert) and key == "expression":
            return nothing  # INSERT … SELECT: the query does not see the table it writes
        if isinstance(node, exp.Merge) and key == "using":
            return self._before(parent, child) if lateral else nothing
        if isinstance(node, exp.Update | exp.Delete) and key in ("using", "this"):
            return self._before(parent, child) if lateral else nothing
        return None

    def _before(self, block: Block, item: exp.Expr) -> Span:
        """The sources of `block` before the FROM item `item` (what a LATERAL item sees)."""
        source = self.source_of_node.get(id(item))
        if source is None and isinstance(item, exp.Subquery | exp.Lateral):
            source = self.source_of_node.get(id(item.this))
        if source is None:
            return Span(block, 0, 0)
        return Span(block, 0, source.index)


def _renamed(names: list[str] | None, bodies: list[Block]) -> list[str] | None:
    """A column list renames the first columns only (`d(pid)` over `SELECT id, tenant_id`
    leaves `tenant_id`): the rest keep the first branch's names, when it shows them."""
    if names is None or not bodies:
        return names
    outputs = bodies[0].outputs
    if outputs is None or len(outputs) <= len(names):
        return names
    return names + outputs[len(names) :]


def _values_body(query: exp.Expression) -> exp.Values | None:
    """`WITH x(a) AS (VALUES …)`: the VALUES list (sqlglot reads it as `SELECT * FROM (VALUES
    …) AS _values`; a `*` passes its columns by position, which the CTE's list renames), or
    None for any other body."""
    if isinstance(query, exp.Values):
        return query
    if (
        isinstance(query, exp.Select)
        and len(query.expressions) == 1
        and isinstance(query.expressions[0], exp.Star)
        and isinstance(query.args.get("from_"), exp.From)
        and isinstance(query.args["from_"].this, exp.Values)
        and not alias_columns(query.args["from_"].this)
        and not any(query.args.get(k) for k in ("where", "joins", "group", "limit", "offset"))
    ):
        values: exp.Values = query.args["from_"].this
        return values
    return None


def reads_tables_only(sources: Sequence[Source], policy: Policy) -> bool:
    """Are `sources` all base relations read by name — no derived table, CTE, function or
    LATERAL item, no view computing on its rows (`Policy.computes_on_rows`)? A block whose
    rows are filtered late (a grouping-sets HAVING) or only compared (a branch of INTERSECT /
    EXCEPT) computes whatever those hold on every tenant's rows (h35P: `LATERAL
    generate_series(1, 100 / (c.n - 8))` divided by zero on another tenant's card)."""
    return all(
        source.kind is SourceKind.TABLE
        and isinstance(source.node, exp.Table)
        and isinstance(source.node.this, exp.Identifier)
        and not policy.computes_on_rows(source.table)
        for source in sources
    )


# the nodes of a HAVING condition that cannot fail whatever the group's values: comparisons of
# columns, values and count/min/max (their arguments are checked by the caller), and a
# parameter cast to text
_NEVER_FAILING = (
    exp.Column, exp.Identifier, exp.Literal, exp.Parameter, exp.Placeholder, exp.Null,
    exp.Boolean, exp.Paren, exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT,
    exp.LTE, exp.Is, exp.NullSafeEQ, exp.NullSafeNEQ, exp.Count, exp.Min, exp.Max, exp.Star,
)  # fmt: skip


def never_fails(condition: exp.Expression) -> bool:
    """Can `condition` raise no error on any group? A HAVING beside grouping sets runs after
    every tenant's aggregation, its conjuncts in the order written: one that may fail (`1 /
    (CASE WHEN max(title) = 'x' THEN 0 ELSE 1 END) > 0`) before the pin raises the error of
    another tenant's group, and a comparison that cannot fail may gate one that fails on a
    constant; so no other node than these, anywhere in it (h35A)."""
    for part in condition.walk():
        if isinstance(part, _NEVER_FAILING):
            continue
        if (
            isinstance(part, exp.Cast)
            and isinstance(part.this, exp.Parameter | exp.Placeholder)
            and part.to.this in (exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR)
        ):
            continue
        if isinstance(part, exp.DataType) and isinstance(part.parent, exp.Cast):
            continue
        return False
    return True


# types whose common type holds each value of either exactly (PostgreSQL's USING merges the two
# columns in it): the integers and numeric, text and varchar
_EXACT_FAMILIES = (frozenset({"int2", "int4", "int8", "numeric"}), frozenset({"text", "varchar"}))
_CAST_TYPES = {
    exp.DataType.Type.SMALLINT: "int2",
    exp.DataType.Type.INT: "int4",
    exp.DataType.Type.BIGINT: "int8",
    exp.DataType.Type.DECIMAL: "numeric",
    exp.DataType.Type.TEXT: "text",
    exp.DataType.Type.VARCHAR: "varchar",
    exp.DataType.Type.UUID: "uuid",
}
_SOME_TYPE = "?"  # a value of a type not told (a call, a cast to another type…)


def _exact_merge(left: str | None, right: str | None) -> bool:
    """May two USING columns of these types (None: not known) merge without folding two
    values into one? Not when either is of a type not told, nor for two known types of no
    common exact family (int4 and real: 16777217 and 16777216 are one real)."""
    if _SOME_TYPE in (left, right):
        return False
    if left is None or right is None or left == right:
        return True
    return any(left in family and right in family for family in _EXACT_FAMILIES)


def exact_comparison(
    policy: Policy,
    left: Source,
    right: Source,
    column: str,
    known: dict[tuple[int, str], tuple[str | None, int]] | None = None,
) -> bool:
    """May `left.column = right.column` chain a pin from one to the other? Not when their
    types compare in a lossy one (`bigint = float8`: 9007199254740993 equals 9007199254740992
    there, so a pinned side matches another tenant's rows on the other: helper h32d).
    `known`: the types found so far (`Model.column_types`: `_column_type`'s), filled in."""
    if not policy.tenant_column_types and not policy.typed_columns:
        return True
    if (
        left.kind is SourceKind.TABLE
        and right.kind is SourceKind.TABLE
        and column == policy.tenant_column
        and _tables_compare_exactly(policy)
    ):
        return True  # whichever two tables (the walk below finds two types of one family)

    return _exact_merge(
        _based(policy, _column_type(policy, left, column, known=known)),
        _based(policy, _column_type(policy, right, column, known=known)),
    )


def _based(policy: Policy, kind: str | None) -> str | None:
    """A domain's type that keeps `=` exact: its base's (any other type: itself)."""
    if kind is not None and kind.startswith("domain:"):
        found = policy.exact_domains.get(kind[len("domain:") :])
        return found[1] if found is not None else kind
    return kind


def _tables_compare_exactly(policy: Policy) -> bool:
    """Does `a.tenant_id = b.tenant_id` compare exactly for ANY two table sources a and b?
    So when every type `_column_type` may give a table's tenant column (each told in
    `tenant_column_types` or `typed_columns`, or None: not known) merges exactly with every
    other: the walk of `exact_comparison` could only say yes. Found once per policy."""
    found = policy.tenant_types_exact
    if found is None:
        tenant = policy.tenant_column
        kinds = {None, *policy.tenant_column_types.values()}
        kinds.update(c[tenant] for c in policy.typed_columns.values() if tenant in c)
        based = {_based(policy, k) for k in kinds}
        found = all(_exact_merge(a, b) for a in based for b in based)
        object.__setattr__(policy, "tenant_types_exact", found)
    return found


_DEEPEST = 8  # `_column_type` follows a column at most this many blocks down
_CUT = _DEEPEST + 1  # a height no answer reused may have: the walk was cut short below


def _column_type(
    policy: Policy,
    source: Source,
    column: str,
    depth: int = 0,
    known: dict[tuple[int, str], tuple[str | None, int]] | None = None,
) -> str | None:
    """The type of `source`'s column `column` as far as the schema and the SQL tell: a table's
    from the schema (None if not known), a derived table's or CTE's from each branch's item (a
    column followed to its one source, a cast, a number), `_SOME_TYPE` for anything else.
    `known` (`Model.column_types`, by the source's id): the answers found so far, each with its
    height (how many blocks down it looked), so that a column met again along a CTE chain is
    not followed again — an answer is reused only where it looked no deeper than `_DEEPEST`
    allows from there, so it is the one the walk would find again."""
    return _typed_column(policy, source, column, depth, known)[0]


def _typed_column(
    policy: Policy,
    source: Source,
    column: str,
    depth: int,
    known: dict[tuple[int, str], tuple[str | None, int]] | None,
) -> tuple[str | None, int]:
    """`_column_type` and its height (`_CUT` when the walk was cut short below)."""
    if depth > _DEEPEST:
        return None, _CUT
    if source.kind is SourceKind.TABLE:
        if source.column_names is not None or source.table is None:
            return None, 0
        if column == policy.tenant_column and source.table in policy.tenant_column_types:
            return policy.tenant_column_types[source.table], 0
        return policy.typed_columns.get(source.table, {}).get(column), 0
    key = (id(source), column)
    if known is not None:
        found_before = known.get(key)
        if found_before is not None and depth + found_before[1] <= _DEEPEST:
            return found_before
    answer = _followed_type(policy, source, column, depth, known)
    if known is not None and answer[1] < _CUT:
        known[key] = answer
    return answer


def _followed_type(
    policy: Policy,
    source: Source,
    column: str,
    depth: int,
    known: dict[tuple[int, str], tuple[str | None, int]] | None,
) -> tuple[str | None, int]:
    """`_typed_column` of a source that is no table: its items' types, followed down."""
    from tenantguard.engine.proof.projections import projection_item

    index = None
    if source.column_names is not None:
        if column not in source.column_names:
            return None, 0
        index = source.column_names.index(column)
    found: set[str | None] = set()
    height = 0
    items: list[tuple[exp.Expression | None, Block | None]] = []
    if source.kind is SourceKind.VALUES and isinstance(source.rows, exp.Values):
        if index is None and column.startswith("column") and column[6:].isdigit():
            index = int(column[6:]) - 1
        for row in source.rows.expressions:
            values = row.expressions if isinstance(row, exp.Tuple) else [row]
            items.append(
                (values[index] if index is not None and index < len(values) else None, None)
            )
    elif source.kind in (SourceKind.DERIVED, SourceKind.CTE) and source.body:
        items = [(projection_item(body.node, column, index), body) for body in source.body]
    else:
        return None, 0
    for item, body in items:
        if isinstance(item, exp.Alias):
            item = item.this
        while isinstance(item, exp.Paren):
            item = item.this
        if item is None:
            found.add(None)
        elif body is None:
            found.add(_SOME_TYPE if isinstance(item, exp.Column) else _value_type(item))
        elif isinstance(item, exp.Column) and not isinstance(item.this, exp.Star):
            name, qualifier = identifier_name(item.this), identifier_name(item.args.get("table"))
            owners = [
                s
                for s in body.every_source
                if (s.name == qualifier if qualifier else could_own(policy, s, name))
            ]
            if len(owners) == 1:
                kind, below = _typed_column(policy, owners[0], name, depth + 1, known)
                found.add(kind)
                height = max(height, below + 1)
            else:
                found.add(None)
        elif is_star(item):
            found.add(None)
        else:
            found.add(_value_type(item))
    known_kinds = {k for k in found if k is not None}
    if _SOME_TYPE in known_kinds or len(known_kinds) > 1:
        lossy = _SOME_TYPE in known_kinds or not _exact_merge(*sorted(known_kinds)[:2])
        return _SOME_TYPE if lossy else None, min(height, _CUT)
    return next(iter(known_kinds), None), min(height, _CUT)


def _value_type(item: exp.Expression) -> str | None:
    """The type of a select-list or VALUES item that is no column: a cast's, a number's
    (numeric: exact beside an integer), None for a parameter, a NULL or a string literal (of
    the type it meets), `_SOME_TYPE` for anything else."""
    if isinstance(item, exp.Cast):
        to = item.args.get("to")
        kind = to.this if isinstance(to, exp.DataType) else None
        return _CAST_TYPES.get(kind, _SOME_TYPE) if kind is not None else _SOME_TYPE
    if isinstance(item, exp.Literal):
        return None if item.is_string else "numeric"
    if isinstance(item, exp.Placeholder | exp.Parameter | exp.Null):
        return None
    return _SOME_TYPE
