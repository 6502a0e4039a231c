"""Projections: what a block outputs as a tenant column, and whether it works row by row.

A derived table, CTE or DML `RETURNING` is read through what its branches project. Set
operations match columns by position, never by name: the tenant column of `A UNION B` is where
the first branch puts it, and every other branch is read at that position.
"""

from __future__ import annotations

from sqlglot import exp

from tenantguard.engine.proof.blocks import (
    Model,
    exact_comparison,
    never_fails,
    reads_tables_only,
)
from tenantguard.engine.proof.facts import values_column_pin
from tenantguard.engine.proof.model import Block, Fact, PinValue, Source, SourceKind
from tenantguard.engine.proof.names import Names, could_own, projection_items
from tenantguard.engine.proof.syntax import identifier_name, is_star, positional_item
from tenantguard.engine.proof.values import functional_column

__all__ = ["Projections", "projection_item"]

# clauses after which a block's rows depend on other rows than their own
_NOT_ROW_BY_ROW = ("group", "having", "distinct", "limit", "offset", "fetch", "qualify", "locks")
_GROUPING_SETS = (exp.Rollup, exp.Cube, exp.GroupingSets)


def projection_item(
    node: exp.Expression, column: str, index: int | None = None
) -> exp.Expression | None:
    """The select-list (or RETURNING) item that outputs `column` (by position when `index` is
    given)."""
    items = projection_items(node)
    if items is None:
        return None
    if index is not None:
        if len(items) == 1 and is_star(items[0]):
            return items[0]
        # by position up to the first `*` (`SELECT $1, * FROM unnest(…)`: $1 is column 1;
        # past it the place is another column's) (h36B)
        return positional_item(items, index)
    for item in items:
        if isinstance(item, exp.Alias) and identifier_name(item.args.get("alias")) == column:
            return item
        if (
            isinstance(item, exp.Column)
            and not isinstance(item.this, exp.Star)
            and identifier_name(item.this) == column
        ):
            return item
    star = [i for i in items if is_star(i)]
    return star[0] if len(star) == 1 else None


def column_index(source: Source, column: str) -> int | None:
    """The position of `column` in the source's column list (`AS d(a, b)`), if it has one."""
    names = source.column_names
    if names is None or column not in names:
        return None
    return names.index(column)


def _unparenthesized(key: exp.Expression) -> exp.Expression:
    while isinstance(key, exp.Paren):
        key = key.this
    return key


def _positional(select: exp.Select, key: exp.Expression) -> exp.Expression:
    """A GROUP BY key as PostgreSQL reads it: an integer constant `n` is the select list's
    n-th item (its expression, without the alias); anything else is itself."""
    if isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit():
        items = select.expressions
        position = int(key.this)
        if 1 <= position <= len(items):
            item: exp.Expression = items[position - 1]
            return item.this if isinstance(item, exp.Alias) else item
    return key


def _ordering_key(select: exp.Select, key: exp.Expression) -> exp.Expression:
    """A DISTINCT ON key as PostgreSQL reads it, by ORDER BY's rules: an integer constant `n` is
    the select list's n-th item, and a bare name that an item of the select list outputs is that
    item (before any input column of the name: `x AS tenant_id … DISTINCT ON (tenant_id)`
    groups by x); anything else is itself."""
    positional = _positional(select, key)
    if positional is not key:
        return positional
    if isinstance(key, exp.Column) and not key.args.get("table"):
        name = identifier_name(key.this)
        for item in select.expressions:
            if isinstance(item, exp.Alias):
                if identifier_name(item.args.get("alias")) == name:
                    aliased: exp.Expression = item.this
                    return aliased
            elif isinstance(item, exp.Column) and identifier_name(item.this) == name:
                return item
    return key


def _partition_of(window: exp.Window) -> list[exp.Expression]:
    """A window's PARTITION BY, also when it names a window of its SELECT's WINDOW clause
    (`OVER w`, `OVER (w ORDER BY …)`: the partition is the named window's, never added to)."""
    seen: set[str] = set()
    while not window.args.get("partition_by"):
        name = window.args.get("alias")  # `OVER w`, `OVER (w …)`, `WINDOW w2 AS (w …)`
        select = window.find_ancestor(exp.Select)
        if not isinstance(name, exp.Identifier) or select is None:
            return []
        wanted = identifier_name(name)  # folded as PostgreSQL folds it: `W` is `w`, not `"W"`
        if wanted in seen:
            return []
        seen.add(wanted)
        named = [
            w
            for w in select.args.get("windows") or []
            if isinstance(w, exp.Window)
            and isinstance(w.this, exp.Identifier)
            and identifier_name(w.this) == wanted
        ]
        if len(named) != 1:
            return []
        window = named[0]
    return list(window.args.get("partition_by") or [])


# aggregates a branch compared by a set operation may compute over every tenant's rows (of
# a column: no call that may fail, notify, count a sequence… on another tenant's value)
_PLAIN_AGGREGATES = (exp.Count, exp.Max, exp.Min)
_PLAIN_VALUES = (exp.Column, exp.Star, exp.Literal, exp.Parameter, exp.Placeholder, exp.Null)


def _plain_output(item: exp.Expression) -> bool:
    """A select-list item that computes nothing on its row but reading it (round 35, h35B): a
    column, a star, a constant or parameter, count/max/min of a column (`count(*)`). A set
    operation's branch computes its select list on every row it reads, before the rows are
    compared: `pg_notify('c', title)` or `title::int` there would run on other tenants' rows."""
    if isinstance(item, exp.Alias):
        item = item.this
    while isinstance(item, exp.Paren):
        item = item.this
    if isinstance(item, _PLAIN_AGGREGATES):
        inner = item.this
        return isinstance(inner, exp.Column | exp.Star) and not item.args.get("expressions")
    return isinstance(item, _PLAIN_VALUES)


# what a GROUP BY of a compared branch may hold: bare columns (or select-list places), in plain
# lists, ROLLUP, CUBE or GROUPING SETS
_PLAIN_GROUPING = (
    exp.Group, exp.Column, exp.Identifier, exp.Literal, exp.Paren, exp.Tuple, exp.Rollup,
    exp.Cube, exp.GroupingSets,
)  # fmt: skip


def _plain_grouping(node: exp.Expression) -> bool:
    """Does a branch compute nothing on its groups but reading them (round 35, h35P)? Its GROUP
    BY keys bare columns, its HAVING one that cannot fail (`blocks.never_fails`): a set
    operation's branch runs both on every tenant's rows and groups before the rows are
    compared, so `GROUP BY org, title::int` or `HAVING 1 / (count(*) - 2) > 0` raises the error
    of another tenant's row or group (shown on the server)."""
    group = node.args.get("group")
    if group is not None and not all(isinstance(n, _PLAIN_GROUPING) for n in group.walk()):
        return False
    having = node.args.get("having")
    return not isinstance(having, exp.Having) or never_fails(having.this)


class Projections:
    """What the blocks of one statement project; memoised (the solver asks many times)."""

    __slots__ = ("_indexes", "_owners", "model", "names", "policy", "tenant_col")

    def __init__(self, model: Model, names: Names) -> None:
        self.model = model
        self.names = names
        self.policy = model.policy
        self.tenant_col = model.policy.tenant_column
        self._owners: dict[
            tuple[int, str, int | None], tuple[exp.Expression | None, Source | None]
        ] = {}
        self._indexes: dict[int, tuple[bool, int | None]] = {}  # branch_index by source

    def row_by_row(self, block: Block) -> bool:
        """Does this block compute each output row from its own input row alone?

        A plain SELECT: no GROUP BY, HAVING, DISTINCT, LIMIT/OFFSET/FETCH or locking clause, and
        no aggregate or window function of its own (the walk noted those once).
        """
        node = block.node
        if not isinstance(node, exp.Select):
            return False
        if any(node.args.get(clause) for clause in _NOT_ROW_BY_ROW):
            return False
        return id(block) not in self.model.aggregating

    def grouped_by_owner(self, block: Block, owner: Source) -> bool:
        """A SELECT grouped by `owner`'s tenant column (among plain columns; no grouping sets,
        window, LIMIT/OFFSET or locking), by GROUP BY, DISTINCT over a select list that holds
        it or DISTINCT ON a list that holds it: each group holds one tenant's rows, so a pin on the
        group key is a pin on the rows it aggregates (PostgreSQL pushes such a filter below
        the aggregate itself)."""
        node = block.node
        if not isinstance(node, exp.Select):
            return False
        group = node.args.get("group")
        distinct = node.args.get("distinct")
        keys: list[exp.Expression]
        if isinstance(group, exp.Group):
            if any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup", "totals")):
                return False
            keys = [_positional(node, k) for k in group.expressions]
            if isinstance(distinct, exp.Distinct):
                return False  # DISTINCT over groups: kept simple
        elif isinstance(distinct, exp.Distinct):
            # DISTINCT is a grouping by the whole select list, DISTINCT ON by its list
            on = distinct.args.get("on")
            if on is not None:
                listed = list(on.expressions) if isinstance(on, exp.Tuple) else [on]
                keys = [_ordering_key(node, k) for k in listed]
            else:
                keys = [e.this if isinstance(e, exp.Alias) else e for e in node.expressions]
            if id(block) in self.model.aggregating:
                return False
        elif self.model.windows and id(block) in self.model.aggregating:
            return self._windows_partitioned_by(block, owner)
        else:
            return False
        if any(node.args.get(k) for k in ("limit", "offset", "fetch", "qualify", "locks")):
            return False
        if self.model.windows and any(True for _ in node.find_all(exp.Window)):
            return False
        for key in keys:
            while isinstance(key, exp.Paren):
                key = key.this
            if (
                isinstance(key, exp.Column)
                and identifier_name(key.this) == self.tenant_col
                and self.names.resolve(block, key) is owner
            ):
                return True
        return False

    def set_operation_facts(self) -> None:
        """Round 35 (h35B): a branch of INTERSECT or EXCEPT compared with a pinned operand.

        INTERSECT and EXCEPT compare whole rows, position by position: where one operand of
        `X INTERSECT Y` (the left one of `X EXCEPT Y`) outputs at place k the tenant column of a
        source pinned to V, a row of the other operand that outputs its own tenant column at k
        meets only rows of tenant V — another tenant's row meets none, and so changes nothing
        (a filter on one column commutes with every set operation over it). So the tenant
        column of that source equals the pinned one's, as a join's `b.tenant_id = a.tenant_id`
        says. Only where the branch computes its rows one by one or grouped by that tenant column
        (a window, LIMIT or aggregate over every tenant's rows is not), where no LIMIT, OFFSET
        or FETCH of a set operation between the branch and the comparison picks rows first, and
        the place's types compare exactly. The right operand of EXCEPT pins nothing of the left:
        `A EXCEPT B` of an unpinned A is A's every row (B removing V's only).
        """
        above: dict[int, exp.Expression | None] = {}
        below: dict[int, exp.Select | None] = {}
        for block in self.model.blocks:
            node = block.node
            if not isinstance(node, exp.Select) or not isinstance(
                node.parent, exp.SetOperation | exp.Subquery | exp.Paren
            ):
                continue
            counterpart = self._compared_operand(node, above, below)
            if counterpart is None:
                continue
            other = self.model.block_of.get(id(counterpart))
            mine, theirs = projection_items(node), projection_items(counterpart)
            if other is None or not mine or not theirs or len(mine) != len(theirs):
                continue
            if node.args.get("order") or not all(_plain_output(i) for i in mine):
                continue  # computed on every tenant's rows before the comparison
            if not _plain_grouping(node) or not reads_tables_only(block.every_source, self.policy):
                continue  # computed on every tenant's rows or groups: keys, HAVING, LATERAL…
            if any(is_star(i) for i in (*mine, *theirs)):
                self._star_set_fact(block, other, mine, theirs)
                continue
            for item, compared in zip(mine, theirs, strict=True):
                source = self._bare_owner(block, item)
                pinned = self._bare_owner(other, compared)
                if source is None or pinned is None or source.nullable:
                    continue
                if source.kind is not SourceKind.TABLE or not (
                    self.row_by_row(block) or self.grouped_by_owner(block, source)
                ):
                    continue
                if self.policy.computes_on_rows(source.table):
                    continue  # a view computing on every tenant's rows it scans (h35P)
                column = self.tenant_col
                if not exact_comparison(
                    self.policy, source, pinned, column, self.model.column_types
                ):
                    continue
                source.facts.append(
                    Fact(source, item, "a set operation", other=pinned, null_safe=True)
                )

    def _star_set_fact(
        self, block: Block, other: Block, mine: list[exp.Expression], theirs: list[exp.Expression]
    ) -> None:
        """`SELECT * FROM a … INTERSECT SELECT * FROM b …`: each a lone `*` of one table whose
        tenant column stands at the same place among its columns (`tenant_places`, schema
        sources): as above, at that place."""
        if len(mine) != 1 or len(theirs) != 1 or not self.policy.tenant_places:
            return
        place = self.policy.tenant_places
        source = self._star_place_owner_of(block, mine[0])
        pinned = self._star_place_owner_of(other, theirs[0])
        if source is None or pinned is None or source.nullable:
            return
        if place.get(source.table or "") != place.get(pinned.table or ""):
            return
        if not (self.row_by_row(block) or self.grouped_by_owner(block, source)):
            return
        if self.policy.computes_on_rows(source.table):
            return
        if exact_comparison(self.policy, source, pinned, self.tenant_col, self.model.column_types):
            source.facts.append(
                Fact(source, mine[0], "a set operation", other=pinned, null_safe=True)
            )

    def _star_place_owner_of(self, block: Block, star: exp.Expression) -> Source | None:
        """The one table a lone `*` of `block` reads whose tenant column's place is known."""
        sources = block.every_source
        if len(sources) != 1 or block.join_lists:
            return None
        owner = sources[0]
        place = self.policy.tenant_places.get(owner.table or "")
        if owner.kind is not SourceKind.TABLE or place is None:
            return None
        found = self._star_place_owner(block, star, self.tenant_col, place)
        return found if found is owner else None

    def _bare_owner(self, block: Block, item: exp.Expression) -> Source | None:
        """The source whose tenant column a select-list item is, under an alias and parentheses
        (no cast: the two places must be of one type)."""
        if isinstance(item, exp.Alias):
            item = item.this
        while isinstance(item, exp.Paren):
            item = item.this
        if type(item) is not exp.Column:
            return None
        owner = self.names.tenant_column_owner(block, item)
        return owner if owner is not None and owner in block.every_source else None

    @staticmethod
    def _compared_operand(
        branch: exp.Select,
        above: dict[int, exp.Expression | None],
        below: dict[int, exp.Select | None],
    ) -> exp.Select | None:
        """The SELECT whose rows the rows of `branch` are compared with by the nearest INTERSECT
        (either operand) or EXCEPT (`branch` in its right operand) above it: that operand, under
        parentheses and the left operands of INTERSECT or EXCEPT (their rows are a subset of
        it); None where there is none, or a LIMIT, OFFSET or FETCH comes between.

        Both walks are kept (`above`: a node -> the operand found going up from it; `below`:
        an operand -> the SELECT found going down from it, by id), shared by every branch of the
        statement: the branches of a chain of n UNIONs (or INTERSECTs) share their ancestors, and
        walking them again for each branch cost n^2 (2 000 branches: 3 s, s41)."""
        node: exp.Expression = branch
        path: list[int] = []  # the nodes whose answer is the one found at the end of the walk
        operand: exp.Expression | None
        while True:
            if id(node) in above:
                operand = above[id(node)]
                break
            path.append(id(node))
            parent = node.parent
            if isinstance(parent, exp.Subquery | exp.Paren):
                if any(parent.args.get(k) for k in ("limit", "offset", "fetch")):
                    operand = None
                    break
                node = parent
                continue
            if not isinstance(parent, exp.SetOperation):
                operand = None
                break
            inside_right = parent.args.get("expression") is node
            if isinstance(parent, exp.Intersect) or (
                isinstance(parent, exp.Except) and inside_right
            ):
                operand = parent.this if inside_right else parent.expression
                break
            if any(parent.args.get(k) for k in ("limit", "offset", "fetch")):
                operand = None
                break
            node = parent
        for key in path:
            above[key] = operand
        if operand is None:
            return None
        path = []
        found: exp.Select | None
        while True:
            if id(operand) in below:
                found = below[id(operand)]
                break
            path.append(id(operand))
            if isinstance(operand, exp.Subquery | exp.Paren | exp.Intersect | exp.Except):
                if any(operand.args.get(k) for k in ("limit", "offset", "fetch")):
                    found = None
                    break
                operand = operand.this
            else:
                found = operand if isinstance(operand, exp.Select) else None
                break
        for key in path:
            below[key] = found
        return found

    def grouping_null(self, block: Block, item: exp.Expression) -> bool:
        """May `block` output `item` (a select-list item) as NULL in a row that is no row of
        one tenant: under ROLLUP, CUBE or GROUPING SETS, a key is NULL in the rows of a set
        without it (`ROLLUP (tenant_id)`'s `()` set totals every row the WHERE kept, with
        tenant_id NULL). Not when `item` is a plain key of the GROUP BY (in every set), nor when
        no key inside a grouping set may be it (a constant stays itself)."""
        node = block.node
        if not isinstance(node, exp.Select):
            return False
        group = node.args.get("group")
        if not isinstance(group, exp.Group):
            return False
        if any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup", "totals")):
            return True
        sets = [k for k in group.expressions if isinstance(k, _GROUPING_SETS)]
        if not sets:
            return False
        item = _unparenthesized(item.this if isinstance(item, exp.Alias) else item)
        for key in group.expressions:
            if not isinstance(key, _GROUPING_SETS) and self._same_key(
                block, _unparenthesized(_positional(node, key)), item
            ):
                return False  # in every grouping set: never NULLed
        for construct in sets:
            for key in construct.walk():
                if not isinstance(key, exp.Expression):
                    continue
                if isinstance(key, exp.Literal) and not key.is_string:
                    return True  # a position, perhaps (`ROLLUP (1)`): fail closed
                if self._same_key(block, key, item):
                    return True
        return False

    def _same_key(self, block: Block, key: exp.Expression, item: exp.Expression) -> bool:
        """Is the GROUP BY key `key` the select-list item `item`: the same column (by what it
        resolves to), or the same expression?"""
        if isinstance(key, exp.Column) and isinstance(item, exp.Column):
            return identifier_name(key.this) == identifier_name(item.this) and (
                self.names.resolve(block, key) is self.names.resolve(block, item)
            )
        return key == item

    def _windows_partitioned_by(self, block: Block, owner: Source) -> bool:
        """Row by row but for window functions, each partitioned by `owner`'s tenant column:
        a row's window values come from its own tenant's rows only (like GROUP BY)."""
        node = block.node
        if any(node.args.get(k) for k in _NOT_ROW_BY_ROW):
            return False
        windows = 0
        for found in node.find_all(exp.Window, exp.AggFunc):
            if isinstance(found, exp.AggFunc):
                parent = found.parent
                if isinstance(parent, exp.Filter):  # `sum(x) FILTER (WHERE …) OVER (…)`
                    parent = parent.parent
                if not isinstance(parent, exp.Window):
                    return False  # an aggregate of its own: one row of every tenant's rows
                continue
            windows += 1
            partition = _partition_of(found) if isinstance(found, exp.Window) else []
            partition = [_unparenthesized(key) for key in partition]
            if not any(
                isinstance(key, exp.Column)
                and identifier_name(key.this) == self.tenant_col
                and self.names.resolve(block, key) is owner
                for key in partition
            ):
                return False
        return windows > 0

    def branch_index(self, source: Source) -> tuple[bool, int | None]:
        """Where a derived table's or CTE's tenant column is in each branch of its body: (found,
        position). By name for a single branch (position None); by position otherwise — a
        column list gives it, or the first branch's names do. Not found: no tenant column."""
        found = self._indexes.get(id(source))
        if found is None:  # asked for each branch of a union: its first branch read once
            found = self._indexes[id(source)] = self._branch_index(source)
        return found

    def _branch_index(self, source: Source) -> tuple[bool, int | None]:
        column = source.tenant_name or self.tenant_col
        if source.column_names is not None:
            if column not in source.column_names:
                return False, None
            return True, source.column_names.index(column)
        if len(source.body) <= 1:
            return True, None
        names = source.body[0].outputs
        if names is None or column not in names:
            return False, None  # a `*` in the first branch hides the position
        return True, names.index(column)

    def item_and_owner(
        self, block: Block, column: str, index: int | None
    ) -> tuple[exp.Expression | None, Source | None]:
        """The item that `block` outputs as `column` (at `index`), with parentheses and an
        alias removed, and the source of this block whose tenant column it is (None when it
        is something else)."""
        key = (id(block), column, index)
        found = self._owners.get(key)
        if found is None:
            found = self._item_and_owner(block, column, index)
            self._owners[key] = found
        return found

    def _item_and_owner(
        self, block: Block, column: str, index: int | None
    ) -> tuple[exp.Expression | None, Source | None]:
        item = projection_item(block.node, column, index)
        if item is None:
            return None, None
        if is_star(item):
            if column != self.tenant_col:
                return item, None
            return item, self.star_owner(block, item, column, index)
        if isinstance(item, exp.Alias):
            item = item.this
        while isinstance(item, exp.Paren):
            item = item.this
        if type(item) is exp.Anonymous and functional_column(item, self.policy):
            return item, self.names.tenant_column_owner(block, item)  # `tenant_id(p)`
        if isinstance(item, exp.Column) and identifier_name(item.this) == self.tenant_col:
            owner = self.names.resolve(block, item)
            if (
                owner is not None
                and owner.column_names is not None
                and owner.kind is SourceKind.TABLE
            ):
                owner = None  # `t AS a(x, y)` renames by position
            if owner is not None and owner.tenant_name is not None:
                owner = None  # its tenant column is under another name: this is another column
            return item, owner
        if isinstance(item, exp.Column) and identifier_name(item.this) in self.names.renamed:
            # `d.tid`, a derived table's or CTE's tenant column under another name
            renamed = self.names.tenant_column_owner(block, item)
            if renamed is not None:
                return item, renamed
        if (
            isinstance(item, exp.Column)
            and self.policy.tenant_root is not None
            and identifier_name(item.this) == self.policy.tenant_root_key
        ):
            # the registry's key is its row's tenant: pinned (`r.id = $1`), one value
            owner = self.names.tenant_column_owner(block, item)
            return (
                item,
                owner if owner is not None and owner.table == self.policy.tenant_root else None,
            )
        return item, None

    def star_owner(
        self, block: Block, star: exp.Expression, column: str, index: int | None
    ) -> Source | None:
        """The one source whose `column` a `*` (or `t.*`, `(t).*`, `(t.*).*`) of `block`
        outputs, or None. `(x).*` expands the fields of x: the relation t's columns only where
        x names t and may be no column (`(owner).*` of a composite column `owner` holding a
        field carrier_ref, or `(m).*` of `manifests m` with a column m, is that column's
        fields, h41A) — else None."""
        if isinstance(star, exp.Dot):
            qualifier = self.names.row_star_qualifier(block, star)
            if qualifier is None:
                return None
            star = exp.column(exp.Star(), table=qualifier)
        if index is not None:
            # a `*` renamed by position: which column lands there is unknown, but where the
            # `*` reads one derived table or CTE of known names (round 34: `INSERT INTO t (…)
            # SELECT * FROM moved`, `moved` a DELETE … RETURNING account_id, …)
            return self._star_place_owner(block, star, column, index)
        qualifier = identifier_name(star.args.get("table")) if isinstance(star, exp.Column) else ""
        if qualifier:
            if qualifier in block.join_lists:
                return None  # `j.*` of `(a JOIN b) AS j(x, y)`: renamed by position
            owners = [block.sources[qualifier]] if qualifier in block.sources else []
        else:
            owners = [s for s in block.every_source if could_own(self.policy, s, column)]
            renamed = [s for a in block.join_lists for s in block.join_aliases[a]]
            if any(s in renamed for s in owners):
                return None  # a `*` over `(a JOIN b) AS j(x, y)`: renamed by position
        if len(owners) != 1:
            return None
        owner = owners[0]
        if owner.kind is SourceKind.TABLE and owner.column_names is not None:
            return None  # `t AS x(a, b)`: the column of that name is another one, by position
        if owner.tenant_name is not None:
            return None  # its tenant column is under another name
        return owner

    def _star_place_owner(
        self, block: Block, star: exp.Expression, column: str, index: int
    ) -> Source | None:
        """The source whose tenant column a lone `*` of `block` puts at `index`: the block's one
        source, a derived table or CTE whose names are known by place (its column list, or its
        body's select list or RETURNING without a `*`) and name that column once, there."""
        sources = block.every_source
        if len(sources) != 1 or block.join_lists:
            return None
        owner = sources[0]
        qualifier = identifier_name(star.args.get("table")) if isinstance(star, exp.Column) else ""
        if qualifier and block.sources.get(qualifier) is not owner:
            return None
        if owner.tenant_name is not None:
            return None  # its tenant column is under another name
        if owner.kind is SourceKind.TABLE and owner.table is not None:
            # a table whose columns' order the schema sources show (round 35, h35B): `*` puts
            # its tenant column at its place among them; not renamed by place (`t AS x(a, b)`)
            place = self.policy.tenant_places.get(owner.table)
            if place is None or owner.column_names is not None or column != self.tenant_col:
                return None
            return owner if place == index else None
        if owner.kind not in (SourceKind.DERIVED, SourceKind.CTE) or not owner.body:
            return None
        names = owner.column_names
        node = owner.node
        cte = self.model.cte_definition(node) if type(node) is exp.Table else None
        if cte is not None and cte.args["alias"].columns:
            return None  # `WITH c(a, b) AS …`: its names by place are the list's
        if names is None:
            first = owner.body[0]
            items = projection_items(first.node)
            if items is None or any(is_star(i) for i in items):
                return None
            names = first.outputs
        if names is None or index >= len(names) or names.count(column) != 1:
            return None
        return owner if names[index] == column else None

    def projected_value(
        self, block: Block, column: str, index: int | None = None
    ) -> PinValue | None:
        """The one tenant value `block` outputs as `column` (at `index`): a pinning value, or
        the tenant column of a pinned source; None when it outputs anything else."""
        item, owner = self.item_and_owner(block, column, index)
        if item is None:
            return None
        if owner is not None:
            if owner.unpinnable is not None:  # a collated table pinned by a COLLATE "C"
                return None  # (its column still compares under its own collation)
            return owner.value if owner.pinned else None
        if is_star(item):
            return None
        return self.model.pin_value(item) or values_column_pin(
            self.model, self.names, block, item, output=True
        )

    def projection_pinned(self, block: Block, column: str, index: int | None = None) -> bool:
        """Does `block` output, under `column` (or at `index`), a pinning value or a pinned
        tenant column?"""
        return self.projected_value(block, column, index) is not None
