"""Where PostgreSQL runs a node of a statement relative to the tenant pin of the rows it
reads: the block and clause a call sits in (`_placement`, `Locator`: before, with or after the
block's filters), the tenant sources it reads (`sources_in`, `tenant_sources`), whether those
are filtered first (`filtered_before`; a view or function pinned inside by the tenant setting:
`pinned_by_setting`), and whether the planner brings a condition into the scan of a pinned
source, where it is ordered by cost with the pin (`run_before_the_pin`): a subquery or derived
table pulled up (`pulled_up_before_the_pin`, `reprojected_before_the_pin`, `tests_of_column`),
a correlated subquery (`correlated_before_the_pin`), a semi join (`held_above`), a join filter
(`join_filter_after_the_scan`).

Read by TG013's checks. Imports no rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from sqlglot import exp

from tenantguard.engine.context import Context
from tenantguard.engine.costs import (
    UNBOUNDED,
    _cost,
    body_sources,
    carries_tenant_rows,
    pin_cost,
    unwrapped,
)
from tenantguard.engine.policy import Policy
from tenantguard.engine.proof import Analysis, Block, Source, SourceKind, Span
from tenantguard.engine.proof.names import output_names
from tenantguard.engine.proof.syntax import calls_volatile, conjuncts, identifier_name, is_within
from tenantguard.engine.subqueries import (
    _correlated,
    enclosing_block,
    returns_a_set,
    used_as_a_value,
)

# clauses evaluated on the rows that passed the block's filters
_AFTER_FILTERS = frozenset(
    {"expressions", "order", "group", "having", "distinct", "returning", "windows", "qualify"}
)


def pinned_readers(
    analysis: Analysis,
    block: Block,
    parts: list[exp.Expression],
    visible: Span | None,
    conjunct: exp.Expr,
    locate: Locator | None = None,
) -> list[Source]:
    """Of the block's sources a condition's `parts` read, those pinned (unpinned: TG001's),
    not by this very condition; not a MATERIALIZED CTE pinned inside, whose rows are pinned
    before any reader's condition runs (helper 120: the shape this rule's help recommends was
    reported). (`locate`: the statement's Locator, which keeps each source's pinning
    conditions: a source pinned 2 000 times read all its facts for each condition, s41.)"""
    if locate is not None:
        return [
            s
            for s in sources_of(analysis, block, parts, visible)
            if s.block is block
            and carries_tenant_rows(s)
            and (s.pinned or pinned_inside(s))
            and id(conjunct) not in locate.pinning(s)
            and not _materialized_and_pinned_inside(s)
        ]
    return [
        s
        for s in sources_of(analysis, block, parts, visible)
        if s.block is block
        and carries_tenant_rows(s)
        and (s.pinned or pinned_inside(s))
        and not any(f.conjunct is conjunct for f in s.facts)
        and not _materialized_and_pinned_inside(s)
    ]


# what PostgreSQL evaluates whole on each row, its parts in their written order: a CASE (its
# WHEN tests and operand before any result), coalesce, IS TRUE, IS NOT DISTINCT FROM TRUE —
# never split into conditions ordered by cost, as the ANDs of a WHERE are (`NOT NOT c` and
# `c = TRUE` are simplified to `c`, and split)
_EVALUATED_WHOLE = (exp.Case, exp.Coalesce, exp.Is, exp.NullSafeEQ)
# where a condition's walk up stops: its clause, its block
_CLAUSES = (exp.Where, exp.Having, exp.Join, exp.Select, exp.Subquery, exp.Merge)


def pinned_with(
    analysis: Analysis,
    block: Block,
    node: exp.Expression,
    visible: Span | None,
    locate: Locator | None = None,
) -> Source | None:
    """A source whose pin sits with `node` in one expression PostgreSQL evaluates whole on
    every row (h39A: `CASE WHEN 10 / estimate > 0 THEN workspace_key = $1 ELSE workspace_key =
    $1 END`, `(10 / estimate > 0 AND workspace_key = $1) IS TRUE`, `coalesce(…, FALSE)`): the
    proof reads the pin out of the form, but the server runs the form's parts in order on
    each row, `node` before (or without) the pin. None when `node` is under no such form, or
    no source the form reads is pinned inside it. (`locate`: the statement's Locator, whose
    walks up and reads of each form are shared by its nodes: 2 000 failing casts in one
    condition of 2 000 ORs walked 2 000 levels each, s41.)"""
    locate = locate if locate is not None else Locator(analysis)
    wrapper = locate.whole_form(node)
    if wrapper is None:
        return None
    return next(
        (
            s
            for s in locate.form_sources(block, wrapper, visible)
            if any(
                id(wrapper) in locate.ancestors(f.conjunct)  # is_within, the walk kept
                and not locate.after_in_an_and(f.conjunct, node, wrapper)
                for f in s.facts
            )
        ),
        None,
    )


def join_filter_after_the_scan(
    analysis: Analysis,
    block: Block,
    conjunct: exp.Expr,
    source: Source,
    locate: Locator | None = None,
) -> bool:
    """Is `conjunct` a condition of an outer join's ON that reads `source` on the join's
    preserved side, pinned in its own scan, the join kept outer (no other condition of the
    block reads its nullable side: a strict one would make it an inner join, `… WHERE p.id =
    1`, and the ON condition a filter of the scan)? PostgreSQL cannot push such a condition
    into the preserved side's scan (it would drop rows the join keeps): it is a join filter,
    run on the rows that scan's pin kept (h37B: `tasks t LEFT JOIN plans p ON (10 /
    t.estimate) IS NOT NULL WHERE t.tenant_key = $1` returned [('mine',)] with another
    account's zero present; with `AND p.id = 1` it divided by that zero). (`locate`: the
    statement's Locator, which keeps the walks up to the join: each of 2 000 ANDed conditions
    walked up the chain of ANDs above it, s41.)"""
    if not block.outer_joins:
        return False  # no entries below: the walk up is not needed
    join = locate.join_of(conjunct) if locate is not None else conjunct.find_ancestor(exp.Join)
    on = join.args.get("on") if join is not None else None
    if join is None or on is None:
        return False
    if not (locate.within(conjunct, on) if locate is not None else is_within(conjunct, on)):
        return False
    entries = [(nullable, preserved) for j, nullable, preserved in block.outer_joins if j is join]
    if (
        not entries
        or any(source in nullable for nullable, _ in entries)  # (FULL: both sides)
        or not any(source in preserved for _, preserved in entries)
        or pin_cost(source) == UNBOUNDED
        or not _pinned_here(source, set())
    ):
        return False
    if locate is None:
        return _kept_outer(analysis, block, entries, on)
    key = (id(block), id(join))  # (what follows reads only the block and the join)
    if key not in locate.outer:
        locate.outer[key] = _kept_outer(analysis, block, entries, on, locate)
    return locate.outer[key]


def _kept_outer(
    analysis: Analysis,
    block: Block,
    entries: list[tuple[Span, Span]],
    on: exp.Expression,
    locate: Locator | None = None,
) -> bool:
    """`join_filter_after_the_scan`'s last test: no condition of the block outside the join's
    ON reads its nullable side (`entries`), nor anything else does."""
    nullable = [s for n, _ in entries for s in n]
    for items, _, _, seen in block.filters:
        for item in items:
            if locate.within(item, on) if locate is not None else is_within(item, on):
                continue
            for column in item.find_all(exp.Column):
                if analysis.resolve(block, column, seen) in nullable:
                    return False
    return not _nullable_side_read_elsewhere(analysis, block, nullable, on)


def _unresolved_or_in(
    analysis: Analysis, block: Block, column: exp.Column, sources: Sequence[Source]
) -> bool:
    """Whether `column` resolves to no source of `block`, or to one of `sources`. (Not written
    `resolve(…) in (None, *sources)`: mypyc cannot compile a starred item there.)"""
    source = analysis.resolve(block, column)
    return source is None or source in sources


def _nullable_side_read_elsewhere(
    analysis: Analysis, block: Block, nullable: Sequence[Source], on: exp.Expression
) -> bool:
    """Whether a condition outside `block`'s own may test its outer join's nullable side: the
    block is another's body (a derived table, a CTE, a subquery: the enclosing condition on
    its output is pulled down onto that side), or another block reads a nullable source (a
    LATERAL re-projection `LATERAL (SELECT p.id AS pid) z … z.pid = 1` is pulled up). Either
    makes the join inner in PostgreSQL's reduce_outer_joins, and the ON condition a filter of
    the preserved side's scan, tied with the pin (h37C: `SELECT s.title FROM (SELECT t.title,
    p.id AS pid FROM tasks t LEFT JOIN plans p ON (10 / t.estimate) IS NOT NULL WHERE
    t.tenant_key = $1) s WHERE s.pid = 1` divided by another account's zero). Counted whatever
    reads it (a false alarm at worst). In the block itself, beyond the conditions the proof
    models: a whole-row reference (`row_to_json(p) IS NOT NULL`, `(p).id = 1`, `to_jsonb(p)
    ->> 'id' = '1'`, `p::text = …`), an unqualified or unresolved column, a HAVING condition
    (moved to WHERE), a USING or NATURAL join (its equality strict on the merged column): each
    made the join inner on the server (h37C)."""
    if block.parent is not None:
        return True
    names = {s.name for s in nullable}
    joins = block.node.args.get("joins") or []
    if any(j.args.get("using") or j.args.get("method") for j in joins):
        return True
    conditions = [block.node.args.get(k) for k in ("where", "having")]
    conditions += [j.args.get("on") for j in joins]
    for condition in conditions:
        if not isinstance(condition, exp.Expression) or condition is on:
            continue
        for column in condition.find_all(exp.Column):
            if column.table in names or (
                not column.table
                and (column.name in names or _unresolved_or_in(analysis, block, column, nullable))
            ):
                return True
    for item in block.every_source:  # a LATERAL VALUES or function re-projecting it
        if item not in nullable and any(c.table in names for c in item.node.find_all(exp.Column)):
            return True
    for other in analysis.model.blocks:
        if other is block:
            continue
        if any(body is block for s in other.every_source for body in s.body):
            return True
        for column in other.node.find_all(exp.Column):
            if analysis.resolve(other, column) in nullable:
                return True
    return False


def run_before_the_pin(
    ctx: Context,
    analysis: Analysis,
    nodes: list[exp.Expression],
    decided: Callable[[Analysis, exp.Expression, exp.Expr, Block, Source], bool] | None = None,
) -> Iterator[tuple[exp.Expression, Source]]:
    """Each node (once per condition) that sits in a condition reading a tenant source's
    columns which PostgreSQL may evaluate before that source's pin, with the source."""
    if not nodes:
        return
    locate = Locator(analysis)
    reported: set[int] = set()
    for node in sorted(nodes, key=_position):
        block, position, visible, conjunct, _ = locate(node)
        if block is None or conjunct is None or position == "from":
            continue
        if position == "after" and not moved_to_where(ctx, block, conjunct):
            continue
        parts: list[exp.Expression] = list(conjunct.find_all(exp.Column))
        wrapped = pinned_with(
            analysis, block, node, visible, locate
        )  # in one form with a pin (h39A)
        if (
            wrapped is not None
            and id(conjunct) not in reported
            and (decided is None or decided(analysis, node, conjunct, block, wrapped))
        ):
            reported.add(id(conjunct))
            yield node, wrapped
            continue
        if not parts:
            continue
        key: exp.Expr = conjunct
        correlated = correlated_before_the_pin(analysis, locate, block, parts, visible)
        if correlated is not None:
            source, key = correlated
            candidates = [source]
        else:
            reading = pinned_readers(analysis, block, parts, visible, conjunct, locate)
            cost = _cost(conjunct, upper=False, policy=ctx.policy, within=node)  # type: ignore[arg-type]
            # each source the condition may run before the pin of (the first that a row's
            # value decides it on: a column of a subquery in it may name another source too)
            candidates = [s for s in reading if cost <= pin_cost(s, analysis)]
            if not candidates:
                pulled = pulled_up_before_the_pin(analysis, locate, block, parts, visible, cost)
                if pulled is not None:
                    source, key = pulled
                    candidates = [source]
        if id(key) in reported:
            continue
        found = next(
            (
                s
                for s in candidates
                if decided is None or decided(analysis, node, conjunct, block, s)
            ),
            None,
        )
        if found is None:
            continue
        reported.add(id(key))
        yield node, found


def reprojected_before_the_pin(
    analysis: Analysis,
    block: Block,
    parts: list[exp.Expression],
    visible: Span | None,
    cost: float,
    depth: int = 0,
    reader: Block | None = None,
) -> Source | None:
    """A condition on a column of a LATERAL select (without FROM, or with one, pulled up
    alike: h37C, `LATERAL (SELECT t.estimate AS e FROM plans p) x … (10 / x.e) IS NOT NULL`
    divided by another account's zero) that re-projects a column of a source before it (`tasks t, LATERAL (SELECT t.estimate AS e) x WHERE t.tenant_key = $1
    AND (10 / x.e) IS NOT NULL`): PostgreSQL pulls the select up, `x.e` is `t.estimate`, and
    the condition is one of the scan of tasks, ordered by cost with its pin (h37A). That
    source; None for any other. A re-projection of a re-projection is followed (h37B:
    `LATERAL (VALUES (t.estimate)) x(e), LATERAL (VALUES (x.e)) y(f) … (10 / y.f)`)."""
    for column in parts:
        if not isinstance(column, exp.Column):
            continue
        derived = analysis.resolve(reader or block, column, visible)
        if derived is None:
            continue
        values = pulled_up_values(analysis, derived)
        if values is not None:
            # a VALUES row pulled up (h37B): `LATERAL (VALUES (t.estimate)) x(e) … (10 /
            # x.e) IS NOT NULL`, or in a body pulled up into the block of `t`
            index = _values_index(derived, column.name)
            if index is None or index >= len(values):
                continue
            for inner in values[index].find_all(exp.Column):
                source = analysis.resolve(derived.block, inner, None)
                found = _reprojected_source(analysis, block, inner, source, cost, depth)
                if found is not None:
                    return found
            continue
        if (not derived.lateral and reader is None) or len(derived.body) != 1:
            continue  # (nested in a body pulled up, h37C: any derived table of it)
        body = derived.body[0]
        node = body.node
        if (
            not isinstance(node, exp.Select)
            or any(node.args.get(k) for k in ("limit", "offset", "fetch"))
            or not analysis.projections.row_by_row(body)
        ):
            continue  # (kept whole, OFFSET 0: run for the pinned rows only)
        if node.args.get("from_") is not None and any(
            derived in nullable for _, nullable, _ in (reader or block).outer_joins
        ):
            # a body with FROM pulled up on an outer join's nullable side: its output is a
            # placeholder evaluated at that join, not in the scan of `t` (h37C: `tasks t
            # LEFT JOIN LATERAL (SELECT t.estimate AS e FROM plans p) x ON true WHERE (10 /
            # x.e) IS NOT NULL` returned [('mine',)] with another account's zero present)
            continue
        for item in node.expressions:
            if item.alias_or_name != column.name:
                continue
            for inner in item.find_all(exp.Column):
                source = analysis.resolve(body, inner, None)
                if source is not None and source.block is body and depth < 8:
                    # a derived table of the body, pulled up with it (h37C: `LATERAL (SELECT
                    # q.e FROM (SELECT t.estimate AS e FROM plans p) q) x … (10 / x.e)`)
                    chained = reprojected_before_the_pin(
                        analysis, block, [inner], None, cost, depth + 1, body
                    )
                    if chained is not None:
                        return chained
                found = _reprojected_source(
                    analysis, block, inner, source, cost, depth, pulled=False
                )
                if found is not None:
                    return found
    return None


def _reprojected_source(
    analysis: Analysis,
    block: Block,
    inner: exp.Column,
    source: Source | None,
    cost: float,
    depth: int,
    *,
    pulled: bool = True,
) -> Source | None:
    """Of a column a re-projection passes on bare (`inner`, resolved to `source`): the pinned
    source of `block` it reads, through further re-projections of that block, whose pin the
    condition of `cost` ties with or precedes; with `pulled`, also a source of a body pulled up
    into `block` (a VALUES row's)."""
    if source is None:
        return None
    if source.block is block and depth < 8 and source.lateral:
        chained = reprojected_before_the_pin(analysis, block, [inner], None, cost, depth + 1)
        if chained is not None:
            return chained
    if (
        (source.block is block or (pulled and _pulled_into(analysis, block, source.block)))
        and source.pinned
        and carries_tenant_rows(source)
        and cost <= pin_cost(source, analysis)
    ):
        return source
    return None


def _pulled_into(analysis: Analysis, body: Block, outer: Block) -> bool:
    """Is `body` a body PostgreSQL pulls up into `outer` (one plain SELECT, row by row, read
    as a derived table of `outer`)? Its conditions then join the scans of `outer`'s sources."""
    readers = analysis.model.readers.get(id(body))
    return (
        bool(readers)
        and all(r.block is outer for r in readers or ())
        and analysis.projections.row_by_row(body)
        and not not_pulled_up(body.node)
    )


def pulled_up_values(analysis: Analysis, source: Source) -> list[exp.Expression] | None:
    """The items of the one row of a VALUES list in FROM that PostgreSQL pulls up into the
    block reading it, as it pulls up a select without FROM (h37B: `tasks t, LATERAL (VALUES
    (10 / t.estimate)) x(r) WHERE t.tenant_key = $1 AND x.r IS NOT NULL` divided on every
    account's rows): one row, no volatile or set-returning call. None for any other source (a
    VALUES of several rows is a scan of its own, run for the rows already filtered)."""
    node = source.node
    if isinstance(node, exp.Lateral):
        node = node.this
    values = node.this if isinstance(node, exp.Subquery) else node
    if not isinstance(values, exp.Values) or len(values.expressions) != 1:
        return None
    if calls_volatile(values, analysis.policy) or any(
        returns_a_set(call)  # type: ignore[arg-type]
        for call in values.find_all(exp.Func)
    ):
        return None
    row = values.expressions[0]
    return list(row.expressions) if isinstance(row, exp.Tuple) else [row]


def values_column(source: Source, index: int) -> str:
    """The name a VALUES item's column goes by (its alias list, else `columnN`)."""
    names = source.column_names
    if names is not None and index < len(names):
        return names[index]
    return f"column{index + 1}"


def _values_index(source: Source, name: str) -> int | None:
    if source.column_names is not None and name in source.column_names:
        return source.column_names.index(name)
    if name.startswith("column") and name[6:].isdigit():
        return int(name[6:]) - 1
    return None


# the ON of an outer join: a join filter, evaluated at the join (after the scans)
_OUTER_ON = ("ON of LEFT", "ON of RIGHT", "ON of FULL")


def tests_of_column(
    analysis: Analysis, reader: Source, name: str, depth: int = 0
) -> Iterator[exp.Expr]:
    """The conditions that test column `name` of `reader` where PostgreSQL merges them with
    the conditions of the scans `reader` is pulled up into: its own block's WHERE and inner
    joins' ON, and so on up through each select list that passes the column on bare (or by
    `*`) in a body PostgreSQL pulls up into its reader (one plain SELECT, row by row)."""
    block = reader.block
    for items, _, clause, seen in block.filters:
        if clause.startswith(_OUTER_ON):
            continue
        for conjunct in items:
            if any(
                identifier_name(c.this) == name and analysis.resolve(block, c, seen) is reader
                for c in conjunct.find_all(exp.Column)
            ):
                yield conjunct
    if depth > 16:
        return
    # re-projected bare by a later LATERAL item pulled up alike (`LATERAL (VALUES (x.r)) y(s)`,
    # `LATERAL (SELECT x.r AS s) y`): its column is the same value
    for other in block.every_source:
        if other is reader or not other.lateral:
            continue
        values = pulled_up_values(analysis, other)
        if values is not None:
            for index, item in enumerate(values):
                inner = unwrapped(item)
                if (
                    isinstance(inner, exp.Column)
                    and identifier_name(inner.this) == name
                    and analysis.resolve(block, inner, None) is reader
                ):
                    yield from tests_of_column(
                        analysis, other, values_column(other, index), depth + 1
                    )
            continue
        if len(other.body) != 1 or not _pulled_into(analysis, other.body[0], block):
            continue
        body = other.body[0]
        for position, item in enumerate(body.node.expressions):
            inner = unwrapped(item.this if isinstance(item, exp.Alias) else item)
            if (
                isinstance(inner, exp.Column)
                and identifier_name(inner.this) == name
                and analysis.resolve(body, inner, None) is reader
            ):
                outer_name = read_as(other, position)
                if outer_name:
                    yield from tests_of_column(analysis, other, outer_name, depth + 1)
    readers = analysis.model.readers.get(id(block))
    if not readers or not analysis.projections.row_by_row(block) or not_pulled_up(block.node):
        return
    for position, item in enumerate(block.node.expressions):
        inner = item.this if isinstance(item, exp.Alias) else item
        if isinstance(inner, exp.Star) or (
            isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star)
        ):
            passed = [(outer, name) for outer in readers if outer.column_names is None]
        elif (
            isinstance(inner, exp.Column)
            and identifier_name(inner.this) == name
            and analysis.resolve(block, inner, None) is reader
        ):
            passed = [(outer, read_as(outer, position)) for outer in readers]
        else:
            continue
        for outer, outer_name in passed:
            if outer_name:
                yield from tests_of_column(analysis, outer, outer_name, depth + 1)


def pulled_up_before_the_pin(
    analysis: Analysis,
    locate: Locator,
    block: Block,
    parts: list[exp.Expression],
    visible: Span | None,
    cost: float,
) -> tuple[Source, exp.Expr] | None:
    """A condition of a subquery that reads only an enclosing block's source, pinned in its own
    scan: where PostgreSQL pulls the subquery up (an EXISTS conjunct made a semi join, a
    LATERAL FROM item), the condition joins that source's scan and is ordered by cost with its
    pin (h37A: `t.tenant_key = $1 AND EXISTS (SELECT 1 FROM plans p WHERE (10 / t.estimate) IS
    NOT NULL)`, `tasks t, LATERAL (SELECT … FROM plans p WHERE (10 / t.estimate) IS NOT NULL)`
    divided on every account's rows). Read so in any condition of the enclosing block (a
    subquery kept as a SubPlan runs after the pin: a false alarm at worst) and in a FROM item.
    The source, and the enclosing block's condition or FROM item; None for any other."""
    if block.parent is None:
        return None
    read = sources_of(analysis, block, parts, visible)
    if not read:
        return None
    for column in parts:
        if not isinstance(column, exp.Column):
            continue
        own = analysis.resolve(block, column, visible)
        if own is None or own.block is block:
            return None  # the subquery's own rows (or a name not resolved): a join's condition
    holder = block.node.parent
    if holder is None:
        return None
    outer, position, _, conjunct, _ = locate(holder)  # type: ignore[arg-type]
    if outer is None or position not in ("from", "filter"):
        return None
    key: exp.Expr | None = holder if position == "from" else conjunct
    if key is None:
        return None
    for source in read:
        if (
            source.block is outer
            and source.pinned
            and carries_tenant_rows(source)
            and cost <= pin_cost(source, analysis)
        ):
            return source, key
    return None


def correlated_before_the_pin(
    analysis: Analysis,
    locate: Locator,
    block: Block,
    parts: list[exp.Expression],
    visible: Span | None,
) -> tuple[Source, exp.Expr] | None:
    """A failing call in a subquery that reads a column of an enclosing block's source whose
    pin is no filter of its own scan (a composite foreign key's join, an IN, a HAVING…): the
    subquery, in a condition of that block (WHERE, a join's ON), is a SubPlan PostgreSQL runs
    in that source's scan, on every tenant's rows, before the join that pins them (outside
    review h28b: `EXISTS (SELECT 1 WHERE p.first_name::int > 0)` of patients pinned by an
    appointment's key failed on another clinic's name). The source, and the enclosing
    block's condition holding the subquery; None when there is none (a subquery of the select
    list runs on the joined rows only; a source pinned in its own scan is filtered first: the
    SubPlan costs more than the pin)."""
    if block.parent is None:
        return None
    # the failing call's own columns, and those by which the subquery reads the enclosing
    # rows (a FROM item of its own fed by them: `unnest(ARRAY[p.first_name]) q`)
    read = list(parts) + [c for c in block.node.find_all(exp.Column) if c not in parts]
    outer_sources = [
        s
        for s in sources_of(analysis, block, read, visible)
        if s.block is not block
        and carries_tenant_rows(s)
        and (s.pinned or pinned_inside(s))
        and pin_cost(s, analysis) == UNBOUNDED
    ]
    if not outer_sources:
        return None
    current: Block | None = block
    while current is not None and current.parent is not None:
        holder = current.node.parent  # the Subquery, Exists, In… in the enclosing block
        if holder is None:
            return None
        outer, position, _, conjunct, _ = locate(holder)  # type: ignore[arg-type]
        if outer is not None and position == "from":
            # a FROM item correlated to the sources before it is LATERAL: pulled up, its WHERE
            # joins the scans of the sources it reads; kept, it runs for each row of theirs in a
            # nested loop the planner may make before the join that pins them — either way on
            # every tenant's rows
            for source in outer_sources:
                if source.block is outer:
                    return source, holder
            current = outer
            continue
        if outer is None or position != "filter" or conjunct is None:
            return None
        for source in outer_sources:
            if source.block is outer and not any(f.conjunct is conjunct for f in source.facts):
                return source, conjunct
        current = outer
    return None


def moved_to_where(ctx: Context, block: Block, conjunct: exp.Expr | None) -> bool:
    """Is `conjunct` a HAVING condition PostgreSQL moves to WHERE: one of a GROUP BY without
    grouping sets (the proof's HAVING filters), with no aggregate, subquery or volatile call."""
    if conjunct is None:
        return False
    if not any(
        clause == "HAVING" and any(c is conjunct for c in items)
        for items, _, clause, _ in block.filters
    ):
        return False
    if conjunct.find(exp.AggFunc, exp.Subquery, exp.Select, exp.Exists, exp.Window) is not None:
        return False
    return not calls_volatile(conjunct, ctx.policy)  # type: ignore[arg-type]


def sources_of(
    analysis: Analysis, block: Block, parts: list[exp.Expression], visible: Span | None
) -> list[Source]:
    """The sources carrying tenant rows whose columns the parts read."""
    return sources_in(analysis, block, list(parts), visible)


def setting_pinned_inside(analysis: Analysis, source: Source, seen: frozenset[int]) -> bool:
    """A derived table or CTE (not MATERIALIZED) whose body reads a view or function pinned
    inside by the tenant setting: PostgreSQL pushes its reader's condition down into that
    view's scan, beside the view's filter (round 26: `(SELECT first_name FROM clinic_patients)
    x WHERE x.first_name::int > 0` failed on another clinic's name)."""
    if source.kind not in (SourceKind.DERIVED, SourceKind.CTE) or id(source) in seen:
        return False
    seen = seen | {id(source)}
    for body in source.body or ():
        cte = body.node.parent
        if isinstance(cte, exp.CTE) and cte.args.get("materialized"):
            continue  # its rows are made, filtered, before any reader's condition runs
        for inner in body.every_source:
            if inner.block is body and (
                pinned_by_setting(analysis.policy, inner)
                or setting_pinned_inside(analysis, inner, seen)
            ):
                return True
    return False


def pinned_inside(source: Source) -> bool:
    """A derived table or CTE whose body pins every row it reads, whether or not it shows the
    tenant column (`WITH mine AS (SELECT id, n FROM items WHERE tenant_id = $1)`): a condition
    of its reader may run on those rows before their pin all the same."""
    if source.passthrough:
        return True
    if source.kind not in (SourceKind.DERIVED, SourceKind.CTE) or not source.body:
        return False
    return all(body_sources(body) is not None for body in source.body)


class Locator:
    """`_placement` and `_conjunct_of` of many nodes of one statement, each step of the way up
    taken once: the failing calls of a condition of 2 000 ORs share their way to its block.
    A node's (block, position, visible sources, condition, the block's child holding it)."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.memo: dict[int, tuple[Block | None, str, Span | None, exp.Expr | None, exp.Expr]] = {}
        self.tops: dict[int, set[int]] = {}
        self.forms: dict[int, exp.Expr | None] = {}  # `whole_form`, by node
        self.sources: dict[tuple[int, int, int], list[Source]] = {}  # `form_sources`
        # `after_in_an_and`, by pin and form: each node's answer, and where a walk up stops
        self.after: dict[tuple[int, int], tuple[dict[int, bool], dict[int, bool]]] = {}
        self.lines: dict[int, set[int]] = {}  # `ancestors`, by node
        self.joins: dict[int, exp.Join | None] = {}  # `join_of`, by node
        # `_under_join`: the placement by join and its child, the conjunct by node below one
        self.joined: dict[tuple[int, int], tuple[Block | None, str, Span | None]] = {}
        self.under: dict[int, exp.Expr | None] = {}
        self.hung: dict[int, tuple[exp.Join, exp.Expr]] = {}  # by node: its join and child
        self.subtrees: dict[int, set[int]] = {}  # `within`, by ancestor
        self.facts: dict[int, set[int]] = {}  # `pinning`, by source
        self.outer: dict[tuple[int, int], bool] = {}  # `_kept_outer`, by block and join

    def __call__(
        self, node: exp.Expression
    ) -> tuple[Block | None, str, Span | None, exp.Expr | None, exp.Expr]:
        blocks = self.analysis.block_of
        path: list[exp.Expr] = []
        current: exp.Expr | None = node
        while current is not None and id(current) not in self.memo and id(current) not in blocks:
            hung = self.hung.get(id(current))
            if hung is not None:  # under a join, walked before
                return self._under_join(node, path, *hung, current)
            if isinstance(current, exp.Join):  # a join's ON changes the position
                if path:
                    return self._under_join(node, path, current, path[-1], None)
                block, position, visible = _placement(self.analysis, node)
                conjunct = (
                    _conjunct_in(self._tops(block), block, node) if block is not None else None
                )
                return block, position, visible, conjunct, node
            path.append(current)
            current = current.parent
        if current is not None and id(current) in self.memo:
            block, position, visible, conjunct, top = self.memo[id(current)]
        else:  # reached the block (or the root): the walk up once, for the topmost
            block, position, visible = _placement(self.analysis, node)
            conjunct, top = None, path[-1] if path else node
        tops = self._tops(block) if block is not None else set()
        for step in reversed(path):  # from the block down to the node
            if conjunct is None and id(step) in tops:
                conjunct = step
            self.memo[id(step)] = (block, position, visible, conjunct, top)
        return self.memo[id(node)] if path else (block, position, visible, conjunct, top)

    def whole_form(self, node: exp.Expression) -> exp.Expr | None:
        """The outermost expression PostgreSQL evaluates whole on each row (`_EVALUATED_WHOLE`)
        above `node` in its clause, or None; each step up taken once for the statement (a
        node's answer is its nearest ancestor's, unless that has none and it is such a form)."""
        path: list[exp.Expr] = []
        found: exp.Expr | None = None
        current: exp.Expr | None = node.parent
        while current is not None and not isinstance(current, _CLAUSES):
            if id(current) in self.forms:
                found = self.forms[id(current)]
                break
            path.append(current)
            current = current.parent
        for step in reversed(path):  # from the top down: the outermost form wins
            if found is None and isinstance(step, _EVALUATED_WHOLE):
                found = step
            self.forms[id(step)] = found
        return found

    def ancestors(self, node: exp.Expr) -> set[int]:
        """The ids of `node` and every expression above it (`is_within(node, x)` is `id(x) in
        ancestors(node)`), walked once per node for the statement: a pin at the bottom of a
        chain of 2 000 ANDs was walked up again for each failing expression of the chain."""
        found = self.lines.get(id(node))
        if found is None:
            found = self.lines[id(node)] = set()
            current: exp.Expr | None = node
            while current is not None:
                found.add(id(current))
                current = current.parent
        return found

    def pinning(self, source: Source) -> set[int]:
        """The ids of the conditions of `source`'s facts (`pinned_readers`), read once per
        source for the statement."""
        found = self.facts.get(id(source))
        if found is None:
            found = self.facts[id(source)] = {id(f.conjunct) for f in source.facts}
        return found

    def within(self, node: exp.Expr, ancestor: exp.Expr) -> bool:
        """`is_within(node, ancestor)`, by the ids of `ancestor`'s subtree, read once per
        ancestor for the statement (each of 2 000 conditions of one ON walked up to it, s41)."""
        inside = self.subtrees.get(id(ancestor))
        if inside is None:
            inside = self.subtrees[id(ancestor)] = {id(n) for n in ancestor.walk()}
        return id(node) in inside

    def join_of(self, node: exp.Expr) -> exp.Join | None:
        """`node.find_ancestor(exp.Join)`, each step up taken once for the statement (a node's
        answer is its parent's, unless the parent is a join)."""
        path: list[exp.Expr] = []
        found: exp.Join | None = None
        current = node.parent
        while current is not None:
            if id(current) in self.joins:
                found = self.joins[id(current)]
                break
            if isinstance(current, exp.Join):
                found = current
                break
            path.append(current)
            current = current.parent
        for step in path:
            self.joins[id(step)] = found
        return found

    def after_in_an_and(self, pin: exp.Expr, node: exp.Expression, wrapper: exp.Expr) -> bool:
        """Is `node` in the right operand of an AND (inside `wrapper`) whose left operand holds
        `pin`? The AND evaluates its left first and stops there where it is FALSE: `(workspace_key
        = $1 AND 10 / estimate > 0) IS TRUE` divides on the pinned rows only. Those right
        operands are found once per pin (the ANDs on its way up, it on their left), and each
        node's answer once (its nearest ancestor's, unless it is one of them)."""
        key = (id(pin), id(wrapper))
        known = self.after.get(key)
        if known is None:
            rights: set[int] = set()
            child: exp.Expr = pin
            parent = pin.parent
            while parent is not None and child is not wrapper:
                if isinstance(parent, exp.And) and parent.this is child:
                    rights.add(id(parent.expression))
                child, parent = parent, parent.parent
            known = self.after[key] = ({i: True for i in rights}, {id(wrapper): False})
        answers, stops = known
        path: list[int] = []
        current: exp.Expr | None = node
        found = False
        while current is not None:
            if id(current) in answers:
                found = answers[id(current)]
                break
            if id(current) in stops:
                break
            path.append(id(current))
            current = current.parent
        for step in path:
            answers[step] = found
        return found

    def form_sources(self, block: Block, form: exp.Expr, visible: Span | None) -> list[Source]:
        """The block's tenant sources the columns of `form` read (`pinned_with`), read once
        per form."""
        key = (id(block), id(form), id(visible))
        found = self.sources.get(key)
        if found is None:
            columns: list[exp.Expression] = list(form.find_all(exp.Column))
            found = self.sources[key] = [
                s
                for s in sources_of(self.analysis, block, columns, visible)
                if s.block is block and carries_tenant_rows(s)
            ]
        return found

    def _under_join(
        self,
        node: exp.Expression,
        path: list[exp.Expr],
        join: exp.Join,
        child: exp.Expr,
        stop: exp.Expr | None,
    ) -> tuple[Block | None, str, Span | None, exp.Expr | None, exp.Expr]:
        """`__call__` for a node under `join`, through its child `child` (`path`: the nodes
        walked up from it, none a block, to the join's child or to `stop`, one walked before):
        `_placement` and `_conjunct_of`, each step taken once for the statement (each of 2 000
        conditions ANDed in one ON walked up the chain of ANDs above it, s41). Same answers by
        construction: `_placement`'s walk up reads only the join's child it comes through and
        what lies above the join; `_conjunct_of`'s answer is a node's own when it is a
        top-level condition, else its parent's."""
        key = (id(join), id(child))
        place = self.joined.get(key)
        if place is None:
            place = self.joined[key] = _placement(self.analysis, node)
        block: Block | None = place[0]  # (typed apart: mypyc infers None from the unpacking)
        position, visible = place[1], place[2]
        for step in path:
            self.hung[id(step)] = (join, child)
        if block is None:
            return block, position, visible, None, node
        tops = self._tops(block)
        conjunct = self.under[id(stop)] if stop is not None else _conjunct_in(tops, block, join)
        for step in reversed(path):  # from the join down: the innermost top-level condition
            if id(step) in tops:
                conjunct = step
            self.under[id(step)] = conjunct
        return block, position, visible, conjunct, node

    def _tops(self, block: Block) -> set[int]:
        found = self.tops.get(id(block))
        if found is None:
            found = self.tops[id(block)] = {
                id(c) for items, _, _, _ in block.filters for c in items
            }
        return found


def not_pulled_up(body: exp.Expression) -> bool:
    """Is `body` a branch of a set operation other than UNION ALL (UNION, INTERSECT, EXCEPT,
    INTERSECT ALL…)? PostgreSQL pulls up only a UNION ALL into its reader (an append of its
    branches, each given the reader's conditions); any other stays a subquery, into which it
    pushes only the conditions holding no SubPlan (`qual_is_pushdown_safe`)."""
    top: exp.Expression | None = None
    node = body.parent
    while isinstance(node, exp.Union | exp.Intersect | exp.Except | exp.Subquery):
        if not isinstance(node, exp.Subquery):
            top = node
        node = node.parent
    if top is None:
        return False
    return not (type(top) is exp.Union and not top.args.get("distinct"))


def held_above(analysis: Analysis, conjunct: exp.Expr) -> bool:
    """Does the reader's condition hold a subquery PostgreSQL runs as a SubPlan or turns into a
    semi-join — `IN (SELECT …)`, `= ANY / ALL (SELECT …)`, a correlated EXISTS or scalar
    subquery — never pushed into a subquery it keeps whole (EXPLAIN: a filter of the
    Subquery Scan, a join above it)? Not an uncorrelated EXISTS or scalar subquery: an
    initPlan, a parameter, which is pushed down. A condition that is itself an EXISTS, an IN
    or an `op ANY` of a subquery is pulled up into a semi-join (`_semi_join_held`): only what
    its join condition ties to the subquery's own rows stays above."""
    top = conjunct
    while isinstance(top, exp.Paren):
        top = top.this
    pulled = _pulled_up_sublink(top)
    if pulled is not None:
        return _semi_join_held(analysis, top, pulled)
    for node in conjunct.find_all(exp.In, exp.Any, exp.All, exp.Exists, exp.Subquery):
        if isinstance(node, exp.In):
            held = node.args.get("query") is not None
        elif isinstance(node, exp.Any | exp.All):
            held = isinstance(node.this, exp.Subquery)
        else:
            value = isinstance(node, exp.Exists) or used_as_a_value(node)  # type: ignore[arg-type]
            held = value and _correlated(analysis, node)  # type: ignore[arg-type]
        if held:
            return True
    return False


def _pulled_up_sublink(top: exp.Expr) -> exp.Select | None:
    """The subquery of a condition PostgreSQL may pull up into a semi-join (a top-level
    conjunct of a WHERE or an inner join's ON, `pull_up_sublinks`): `EXISTS (SELECT …)`,
    `x IN (SELECT …)`, `x op ANY (SELECT …)`. None for anything else."""
    query: exp.Expression | None = None
    if isinstance(top, exp.Exists):
        query = top.this
    elif isinstance(top, exp.In):
        query = top.args.get("query")
    elif isinstance(top, exp.Binary) and not isinstance(top, exp.Connector):
        for side in (top.this, top.expression):
            if isinstance(side, exp.Any) and isinstance(side.this, exp.Subquery):
                query = side.this
    while isinstance(query, exp.Subquery | exp.Paren):
        query = query.this
    return query if isinstance(query, exp.Select) else None


def _semi_join_held(analysis: Analysis, top: exp.Expr, select: exp.Select) -> bool:
    """Is a pulled-up subquery's test of the reader's row kept above the set operation? A
    correlated IN stays a SubPlan (held). Otherwise PostgreSQL makes a semi-join, and each of
    its conditions that reads the reader's columns but no column of the subquery's own tables
    is a filter of the reader, pushed into its branches like any other condition: the
    conjuncts of an EXISTS's WHERE (`EXISTS (SELECT 1 FROM orgs o WHERE d.s IS NULL)`), the
    equality of an IN's value with an item of the subquery's list that reads none of its
    tables (`d.s IN (SELECT 'a')`; a FROM-less one or a derived table's item is pulled up to
    its value). Measured on PostgreSQL 15: each such filter sits in the branches' scans."""
    inner = analysis.block_of.get(id(select))
    if inner is None:
        return False
    if isinstance(top, exp.Exists):
        where = select.args.get("where")
        for part in conjuncts(where.this) if isinstance(where, exp.Where) else ():
            outer, own = _semi_join_reads(analysis, inner, part)
            if outer and not own and not held_above(analysis, part):
                return False
        return True
    subquery = select.parent
    if isinstance(subquery, exp.Subquery) and _correlated(analysis, subquery):
        return True
    return all(_semi_join_reads(analysis, inner, item)[1] for item in select.expressions)


def _semi_join_reads(analysis: Analysis, inner: Block, part: exp.Expression) -> tuple[bool, bool]:
    """Whether `part` (of the subquery `inner`) reads a column of an enclosing block (or one
    not told), and whether it reads a column of one of `inner`'s own tables."""
    outer = own = False
    for column in part.find_all(exp.Column):
        block = enclosing_block(column, analysis.block_of) or inner
        found = analysis.resolve(block, column)
        if found is None:
            outer = True
        elif found.block is inner:
            own = own or found.kind is SourceKind.TABLE
        elif found.block is not block:
            outer = True
    return outer, own


def read_as(reader: Source, position: int) -> str:
    """The name the reader gives the body's select-list item at `position` ("" when none or
    when PostgreSQL tests it where the rows are already pinned). A set operation's branches
    stand for its columns by position, named by the column alias list or by the first branch;
    PostgreSQL pushes the reader's conditions into every branch of a UNION or INTERSECT (a
    UNION ALL: pulled up, an append of its branches' scans), never into an EXCEPT or below a
    LIMIT or OFFSET of the whole; nor into a MATERIALIZED CTE (made, then read)."""
    operation = reader.body[0].node.parent
    while isinstance(operation, exp.SetOperation | exp.Subquery) and operation is not reader.node:
        if isinstance(operation, exp.Except) or any(
            operation.args.get(clause) for clause in ("limit", "offset", "fetch")
        ):
            return ""
        operation = operation.parent
    if isinstance(operation, exp.CTE) and operation.args.get("materialized"):
        return ""
    if reader.column_names is not None:
        names = reader.column_names
    else:
        names = output_names(reader.body[0].node) or []
    return names[position] if position < len(names) else ""


def _conjunct_of(block: Block, node: exp.Expression) -> exp.Expr | None:
    """The top-level condition of `block`'s filters that holds `node`."""
    return _conjunct_in({id(c) for items, _, _, _ in block.filters for c in items}, block, node)


def _conjunct_in(tops: set[int], block: Block, node: exp.Expression) -> exp.Expr | None:
    """`_conjunct_of`, the ids of the block's top-level conditions given (`Locator._tops`)."""
    current: exp.Expr | None = node
    while current is not None and current is not block.node:
        if id(current) in tops:
            return current
        current = current.parent
    return None


def _position(node: exp.Expression) -> int:
    """Where a call starts in the text (the walk found them in no particular order)."""
    return int(node.meta.get("start", 0)) if node.meta else 0


def _placement(analysis: Analysis, node: exp.Expression) -> tuple[Block | None, str, Span | None]:
    """The block a call sits in, whether it is evaluated after the block's filters ("after"),
    may be evaluated with them ("filter"), or is (part of) a FROM item outside any condition
    ("from": run with the rows, but once, not per row, when it reads no column), and the
    sources its clause sees."""
    child: exp.Expr = node
    parent = node.parent
    visible: Span | None = None
    position = "after"
    block_of = analysis.block_of
    while parent is not None:
        if isinstance(parent, exp.Join) and child is parent.args.get("on"):
            position = "filter"
        block = block_of.get(id(parent))
        if block is not None:
            key = child.arg_key or ""
            if isinstance(parent, exp.Update) and key == "expressions":
                key = "expressions"  # SET is computed on the rows the WHERE kept
            elif key in ("from_", "joins") and position == "after":
                position = "from"
            elif (
                key in ("where", "on", "from_", "joins", "using", "this")
                or key not in _AFTER_FILTERS
            ):
                position = "filter"
            if isinstance(child, exp.Join):
                visible = block.on_scopes.get(id(child))
            return block, position, visible
        child, parent = parent, parent.parent
    return None, position, None


def tenant_sources(
    analysis: Analysis, block: Block, call: exp.Expression, visible: Span | None
) -> list[Source]:
    """The sources carrying tenant rows whose columns (or whole rows) the call's arguments
    read."""
    return sources_in(analysis, block, list(call.iter_expressions()), visible)


def sources_in(
    analysis: Analysis, block: Block, roots: list[exp.Expr], visible: Span | None
) -> list[Source]:
    found: list[Source] = []
    stack: list[exp.Expr] = roots
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Select | exp.Subquery):
            continue  # a subquery's rows are its own
        if isinstance(node, exp.Column):
            source = _column_source(analysis, block, node, visible)
            if (
                source is not None
                and (carries_tenant_rows(source) or pinned_by_setting(analysis.policy, source))
                and source not in found
            ):
                found.append(source)
            continue
        stack.extend(node.iter_expressions())
    return found


def _column_source(
    analysis: Analysis, block: Block, column: exp.Column, visible: Span | None
) -> Source | None:
    if isinstance(column.this, exp.Star):
        qualifier = identifier_name(column.args.get("table"))
        return _named(block, qualifier)
    source = analysis.resolve(block, column, visible)
    if source is None and not column.args.get("table"):
        # a whole-row reference: `row_to_json(p)`
        return _named(block, identifier_name(column.this))
    return source


def _named(block: Block | None, name: str) -> Source | None:
    while block is not None:
        if name in block.sources:
            return block.sources[name]
        block = block.parent
    return None


def pinned_by_setting(policy: Policy, source: Source) -> bool:
    """A view or function that may be pinned inside by the tenant setting, read as it is: one
    of the schema's functions, or a relation the schema sources show as no table (a view
    pinned by `current_setting(…)` is neither a tenant table nor a table). PostgreSQL merges
    its filter with the reader's WHERE and may run a call there first, on every tenant's rows."""
    if source.tenant or not (policy.table_columns or policy.setting_views):
        return False  # a tenant table has its own pin; without a schema nothing can be told
    node = source.node
    if source.kind is SourceKind.TABLE and source.table is not None:
        name = source.table
        if name in policy.setting_views:
            pass  # known to filter by the setting (the runtime guard read the catalog)
        elif not policy.table_columns:
            return False
        elif name not in policy.functions and name in policy.table_columns:
            return False  # a table of the schema
    elif (
        source.kind is SourceKind.OTHER
        and isinstance(node, exp.Table)
        and isinstance(node.this, exp.Anonymous)
    ):
        name = identifier_name(node.this.this)
        if name not in policy.functions and name not in policy.setting_views:
            return False  # a built-in set-returning function
    else:
        return False
    return not (
        name in policy.global_tables
        or policy.is_root_table(name)
        or name in policy.pinning_functions
    )


def catalog_relation(source: Source) -> bool:
    """PostgreSQL's own relations (`pg_roles`, `information_schema.tables`): no tenant rows."""
    node = source.node
    schema = identifier_name(node.args.get("db")) if isinstance(node, exp.Table) else ""
    name = source.table or ""
    return name.startswith("pg_") or schema in ("pg_catalog", "information_schema")


def filtered_before(analysis: Analysis, source: Source, block: Block, position: str) -> bool:
    """Are `source`'s rows filtered by tenant before the call sees them?"""
    if _materialized_and_pinned_inside(source):
        return True
    if position != "after":
        return False
    # every block between the call and the source's block is evaluated after its parent's
    # filters (a subquery in a select list), so the source's own filters come first
    level: Block | None = block
    while level is not None and level is not source.block:
        if _placement(analysis, level.node)[1] != "after":
            return False
        level = level.parent
    return level is not None and _pinned_here(source, set())


def _pinned_here(source: Source, seen: set[int]) -> bool:
    """Pinned by its own block's filters (not by a pin pushed in from a reader)."""
    if id(source) in seen:
        return False
    seen.add(id(source))
    if source.passthrough:
        return True
    fact = source.pinned_by
    # a HAVING pin filters groups: the aggregates' arguments ran on every row before it
    if fact is None or fact.pushed or fact.in_having:
        return False
    return fact.other is None or _pinned_here(fact.other, seen)


def _materialized_and_pinned_inside(source: Source) -> bool:
    """A MATERIALIZED CTE whose rows are all pinned inside: evaluated in full, then read."""
    if source.kind is not SourceKind.CTE or not pinned_inside(source):
        return False
    node = source.node
    if not isinstance(node, exp.Table):
        return False
    bodies = source.body
    cte = bodies[0].node.find_ancestor(exp.CTE) if bodies else None
    return cte is not None and bool(cte.args.get("materialized"))
