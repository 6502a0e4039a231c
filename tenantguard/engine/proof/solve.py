"""Pin solving: which sources are pinned, and to which value.

A source is pinned by a fact with a pinning value, or by an equality with a pinned source (its
value is that source's). A derived table or CTE is pinned when every branch of its body projects,
where its tenant column stands, the same value: a pinned tenant column or a pinning value (its
rows are then filtered inside). The other way round, the pin of every reader of a one-branch,
row-by-row body is pushed into it, onto the source whose tenant column the body passes through.
A recursive CTE is pinned when its anchor projects one value and its recursive term, reading the
CTE as pinned to that value, projects it again (induction on the recursion's depth).

A worklist: a source is looked at again only when something it depends on got pinned, so each
shape of statement costs about linearly in its size.
"""

from __future__ import annotations

from collections import deque

from sqlglot import exp

from tenantguard.engine.policy import LOOSE_COLUMN, Policy
from tenantguard.engine.proof.blocks import Model
from tenantguard.engine.proof.facts import SEVERAL
from tenantguard.engine.proof.model import Block, Fact, PinValue, Source, SourceKind
from tenantguard.engine.proof.projections import Projections, column_index, projection_item
from tenantguard.engine.proof.syntax import (
    alias_columns,
    calls_volatile,
    is_within,
    set_branches,
)
from tenantguard.engine.proof.values import CATALOG_TYPES as _CATALOG_TYPES
from tenantguard.engine.proof.values import deterministic_collate, pin_value

__all__ = ["Solver"]


def _plain_equality(conjunct: exp.Expression) -> bool:
    """`a = b`, or `a IN (b)` (PostgreSQL reads a one-item IN list as `=`)."""
    if type(conjunct) is exp.EQ:
        return True
    return (
        type(conjunct) is exp.In
        and not conjunct.args.get("query")
        and len(conjunct.expressions) == 1
    )


def collated(source: Source, policy: Policy) -> bool:
    """A table whose tenant column is loose by its collation only (`Policy.collated_tables`):
    pinned by an equality with an explicit deterministic COLLATE, and chaining a pin only
    through one (its column's implicit collation wins over the default: `t.org_id =
    ci.org_id` compares under `ci`, and matches 'ACME' to 'acme')."""
    unpinnable = source.unpinnable
    return (
        unpinnable is not None
        and source.kind is SourceKind.TABLE
        and source.table in policy.collated_tables
        and unpinnable.startswith(LOOSE_COLUMN)
    )


def exact_collation(conjunct: exp.Expression) -> bool:
    """`a = b COLLATE "C"` (either side, under parentheses): compared under that collation."""
    if type(conjunct) is not exp.EQ:
        return False
    for side in (conjunct.this, conjunct.expression):
        while type(side) is exp.Paren:
            side = side.this
        if deterministic_collate(side):
            return True
    return False


class Solver:
    __slots__ = (
        "_bodies",
        "_commutes",
        "_dependents",
        "_linked",
        "_materialized_ctes",
        "_reprojections",
        "_set_safe",
        "model",
        "projections",
        "sources",
        "tenant_col",
    )

    def __init__(self, model: Model, projections: Projections) -> None:
        self.model = model
        self.projections = projections
        self.tenant_col = model.policy.tenant_column
        self.sources = [s for b in model.blocks for s in b.every_source]
        # memos of the set-operation pushdown: a reader's body blocks; whether a filter on a
        # set operation's output commutes down to a node (both linear in the union's size)
        self._bodies: dict[int, frozenset[int]] = {}
        self._commutes: dict[int, bool] = {}
        self._dependents: dict[int, list[Source]] = {}
        # a table's id -> the LATERAL derived tables re-projecting its tenant column
        self._reprojections: dict[int, list[Source]] = {}
        self._linked = False
        self._materialized_ctes: dict[int, bool] = {}  # CTE id -> PostgreSQL materializes it
        self._set_safe: dict[int, bool] = {}  # reader id -> a filter goes into its branches

    def solve(self) -> None:
        # one pass in FROM order pins most statements (a pin before the chains that use it);
        # the dependency graph is built only when something is left to propagate
        left = [
            s
            for s in self.sources
            if not s.pinned
            and (s.unpinnable is None or collated(s, self.model.policy))
            and not self._try(s)
        ]
        if left:
            self._link()
            self._drain(deque(left))
        if self.model.recursive:
            self._recursive_ctes()

    def solve_more(self, sources: list[Source]) -> None:
        """Pins found after solving (an INSERT's target): what depends on them follows."""
        if not self._linked:
            self._link()
        queue: deque[Source] = deque()
        for source in sources:
            queue.extend(self._dependents.get(id(source), ()))
            queue.append(source)
        self._drain(queue)

    def _column(self, source: Source) -> str:
        """The name under which a derived table or CTE outputs its tenant column."""
        return source.tenant_name or self.tenant_col

    # dependencies

    def _depends(self, on: Source | None, source: Source) -> None:
        if on is not None and on is not source:
            self._dependents.setdefault(id(on), []).append(source)

    def _link(self) -> None:
        """Who may become pinned when a source does: the targets of its equalities, the derived
        tables and CTEs whose bodies project its tenant column, and the sources a reader's pin
        is pushed onto."""
        self._linked = True
        projections = self.projections
        for source in self.sources:
            for fact in source.facts:
                self._depends(fact.other, source)
            if source.kind in (SourceKind.DERIVED, SourceKind.CTE) and source.body:
                found, index = projections.branch_index(source)
                if found:
                    for body in source.body:
                        _, owner = projections.item_and_owner(body, self._column(source), index)
                        self._depends(owner, source)
                outer = self._reprojected(source)
                if outer is not None:
                    self._depends(source, outer)
                    self._reprojections.setdefault(id(outer), []).append(source)
        for block in self.model.blocks:
            readers = self.model.readers.get(id(block))
            if not readers:
                continue
            for reader in readers:
                owner = self._projected_owner(block, reader)
                if owner is not None:
                    self._depends(reader, owner)

    # the worklist

    def _drain(self, queue: deque[Source]) -> None:
        dependents = self._dependents
        while queue:
            source = queue.popleft()
            if source.pinned or (
                source.unpinnable is not None and not collated(source, self.model.policy)
            ):
                continue
            if self._try(source):
                queue.extend(dependents.get(id(source), ()))

    def _try(self, source: Source) -> bool:
        policy = self.model.policy
        multi_ok = policy.allow_multi_tenant
        loose = source.unpinnable is not None  # (collated: by an explicit COLLATE only)
        for fact in source.facts:
            if (loose or (fact.other is not None and collated(fact.other, policy))) and not (
                exact_collation(fact.conjunct)
            ):
                continue  # compared under the loose column's collation: 'acme' = 'ACME'
            if fact.value is not None:
                return self._pin(source, fact, fact.value, fact.null_safe)
            if fact.multi and multi_ok:
                return self._pin(source, fact, SEVERAL)
            other = fact.other
            if other is None or not other.pinned or other is source:
                continue
            if fact.null_safe and (other.maybe_null or other.nullable):
                continue  # NULL IS NOT DISTINCT FROM NULL: rows of no tenant would match
            if fact.via_key and other.maybe_null:
                continue  # a foreign key is not checked on a row whose tenant_id is NULL
            return self._pin(source, fact, other.value, fact.null_safe and other.maybe_null)
        if loose:
            return False  # a reader's pin pushed down compares under the column's collation
        for lateral in self._reprojections.get(id(source), ()):
            # a pin of its own (not one it took from `source`) that filters `source`'s rows
            # too: the WHERE, or the ON of an inner join (`t LEFT JOIN LATERAL (…) x ON x.c =
            # $1` keeps every t row, x NULL-extended)
            by = lateral.pinned_by
            if (
                by is not None
                and lateral.value is not None
                and by.other is not source
                and (
                    by.clause == "WHERE"
                    or (
                        by.clause.startswith("ON of JOIN")
                        and not lateral.nullable
                        and not source.nullable
                    )
                )
            ):
                return self._pin(
                    source,
                    Fact(source, by.conjunct, by.clause, other=lateral, value=lateral.value),
                    lateral.value,
                    lateral.maybe_null,
                )
        if source.kind in (SourceKind.DERIVED, SourceKind.CTE) and source.body:
            value = self._branch_value(source)
            if value is not None:
                source.passthrough = True
                source.value = value
                source.maybe_null = self._projects_null(source)
                return True
        if id(source.block) in self.model.readers:
            pushed = self._pushed_pin(source)
            if pushed is not None and pushed.other is not None:
                return self._pin(source, pushed, pushed.value, pushed.other.maybe_null)
        return False

    def _reprojected(self, source: Source) -> Source | None:
        """The source of `source`'s own block whose tenant column a LATERAL derived table of
        one bare row re-projects unchanged (`FROM t, LATERAL (SELECT t.tenant_id AS c) x`):
        each row of x carries its t row's tenant column, so a pin of x.c pins t (h36B). Only a
        SELECT of no FROM, WHERE or other clause whose items are columns, parameters or
        literals: nothing is computed on other tenants' rows before the pin; None otherwise."""
        if source.kind is not SourceKind.DERIVED or len(source.body) != 1:
            return None
        body = source.body[0]
        node = body.node
        if type(node) is not exp.Select or any(
            value for key, value in node.args.items() if key != "expressions"
        ):
            return None  # a FROM, WHERE, DISTINCT, LIMIT, … of its own: only a bare row
        for item in node.expressions:
            bare = item.this if type(item) is exp.Alias else item
            if type(bare) not in _BARE_ITEMS:
                return None
        _, index = self.projections.branch_index(source)
        _, owner = self.projections.item_and_owner(body, self._column(source), index)
        if owner is None or owner.block is not source.block or owner.kind is not SourceKind.TABLE:
            return None
        return owner

    def _projects_null(self, source: Source) -> bool:
        """May a branch project a NULL tenant column (a nullable side, rows of no tenant, the
        row of a grouping set without it)?"""
        _, index = self.projections.branch_index(source)
        column = self._column(source)
        for body in source.body:
            item, owner = self.projections.item_and_owner(body, column, index)
            if owner is not None and (owner.maybe_null or owner.nullable):
                return True
            if item is not None and self.projections.grouping_null(body, item):
                return True
        return False

    @staticmethod
    def _pin(source: Source, fact: Fact, value: PinValue | None, maybe_null: bool = False) -> bool:
        source.pinned_by = fact
        source.value = value
        source.maybe_null = maybe_null
        return True

    # derived tables and CTEs

    def _branch_value(self, source: Source) -> PinValue | None:
        """The one value every branch of the body projects as the tenant column, or None."""
        found, index = self.projections.branch_index(source)
        if not found:
            return None
        value: PinValue | None = None
        column = self._column(source)
        for body in source.body:
            projected = self.projections.projected_value(body, column, index)
            if projected is None or (value is not None and projected != value):
                return None
            value = projected
        return value

    def _reader_index(self, reader: Source) -> tuple[bool, int | None]:
        """Where the body's branches put `reader`'s tenant column: (found, position); by name
        (None) for one branch without a column list, by position otherwise."""
        if len(reader.body) == 1:
            index = column_index(reader, self._column(reader))
            return index is not None or reader.column_names is None, index
        found, index = self.projections.branch_index(reader)
        return found and index is not None, index

    def _projected_owner(self, block: Block, reader: Source) -> Source | None:
        """The source of `block` (the body, or one branch of it) whose tenant column it
        outputs, unchanged, as `reader`'s tenant column; None otherwise."""
        bodies = self._bodies.get(id(reader))
        if bodies is None:
            bodies = self._bodies[id(reader)] = frozenset(id(b) for b in reader.body)
        if id(block) not in bodies:
            return None
        if len(reader.body) > 1 and (
            not self._filter_commutes(block.node) or not self._set_pushdown_safe(reader)
        ):
            return None
        found, index = self._reader_index(reader)
        if not found:
            return None
        _, owner = self.projections.item_and_owner(block, self._column(reader), index)
        return owner if owner is not None and owner.block is block else None

    def _set_pushdown_safe(self, reader: Source) -> bool:
        """Does PostgreSQL push a filter on a set operation's output into its branches? Not
        when an EXCEPT is in it, nor when a branch's column is not of the output's very type
        (allpaths.c: recurse_pushdown_safe, compare_tlist_datatypes): every branch must then
        output the tenant column of a table whose type the schema is sure of, the same in all.
        Otherwise each branch runs over every tenant's rows before the filter."""
        known = self._set_safe.get(id(reader))
        if known is None:
            known = self._set_safe[id(reader)] = self._work_out_set_safe(reader)
        return known

    def _work_out_set_safe(self, reader: Source) -> bool:
        top: exp.Expression = reader.body[0].node
        while isinstance(top.parent, exp.SetOperation | exp.Paren) or (
            isinstance(top.parent, exp.Subquery) and isinstance(top.parent.parent, exp.SetOperation)
        ):
            top = top.parent
        stack = [top]
        while stack:
            node = stack.pop()
            if isinstance(node, exp.Except):
                return False
            if isinstance(node, exp.SetOperation):
                if node is not top and any(node.args.get(k) for k in _ROW_CLAUSES):
                    return False  # a leaf with components of its own: none is pushed into
                stack.extend((node.this, node.expression))
            elif isinstance(node, exp.Paren | exp.Subquery):
                stack.append(node.this)
        types = self.model.policy.tenant_column_types
        found, index = self._reader_index(reader)
        if not found:
            return False
        column = self._column(reader)
        seen: set[str] = set()
        for body in reader.body:
            item, owner = self.projections.item_and_owner(body, column, index)
            if owner is None:
                # a branch of a pinning value cast to a builtin type (`SELECT $1::uuid, 0`, a
                # synthetic row): its output type is that type, as a table's column's is
                valued = self._value_type(item)
                if valued is None or not self.projections.row_by_row(body):
                    return False
                seen.add(valued)
                continue
            if owner.kind is not SourceKind.TABLE or owner.table is None:
                return False
            # PostgreSQL decides for the whole set operation: one branch that would not take the
            # filter (a LIMIT, a window or DISTINCT ON not over the column) keeps it from all
            if not (
                self.projections.row_by_row(body) or self.projections.grouped_by_owner(body, owner)
            ):
                return False
            kind = types.get(owner.table)
            if kind is None:
                return False
            seen.add(kind)
        return len(seen) == 1

    def _value_type(self, item: exp.Expression | None) -> str | None:
        """The catalog name of the type a branch's item outputs when it is a pinning value
        under a cast to a builtin type with no length (`$1::uuid`, `CAST($1 AS int8)`); None
        for anything else (an uncast parameter's type is the server's guess)."""
        if not isinstance(item, exp.Cast) or pin_value(item, self.model.policy) is None:
            return None
        to = item.args.get("to")
        if not isinstance(to, exp.DataType) or to.expressions or to.args.get("nested"):
            return None
        return _CATALOG_TYPES.get(to.this)

    def _filter_commutes(self, branch: exp.Expression) -> bool:
        """Does a filter on a set operation's output commute with the set operations above
        this branch? Not past a LIMIT, OFFSET or FETCH of one of them (it picks rows of any
        tenant). Memoised along the chain: a union of n branches costs n steps, not n²."""
        path: list[exp.Expression] = []
        node: exp.Expression = branch
        answer = True
        while isinstance(node.parent, exp.SetOperation | exp.Subquery | exp.Paren):
            node = node.parent
            known = self._commutes.get(id(node))
            if known is not None:
                answer = known
                break
            path.append(node)
        for above in reversed(path):  # from the top of the chain down
            if isinstance(above, exp.SetOperation) and any(
                above.args.get(k) for k in ("limit", "offset", "fetch")
            ):
                answer = False
            self._commutes[id(above)] = answer
        return answer

    def _pushed_pin(self, source: Source) -> Fact | None:
        """The outer pin of a derived table or CTE, pushed down to `source` in its body.

        `SELECT … FROM (SELECT * FROM patients) d WHERE d.tenant_id = $1` pins `patients`: the
        body passes `patients.tenant_id` through unchanged as `d.tenant_id`, and it works row by
        row (no aggregate, window, DISTINCT, GROUP BY, LIMIT/OFFSET, locking), so the only rows
        that leave it are the pinned tenant's. A body of several branches (UNION [ALL],
        INTERSECT, which compare whole rows, the tenant column among them) is pinned branch by
        branch, each passing its own tenant column through at the reader's position, where
        PostgreSQL pushes the filter (`_set_pushdown_safe`), unless a LIMIT/OFFSET of the set
        operation picks rows before the pin. Every reader of the body
        must be pinned by a condition of its own: a CTE read twice, once unpinned, leaks through
        the other read. A DML body (`WITH d AS (DELETE … RETURNING *)`) runs in full whatever
        reads it, and so does a MATERIALIZED CTE (its errors — `name::int` failing on another
        tenant's row — and side effects see every row): never pushed into.
        """
        block = source.block
        readers = self.model.readers[id(block)]
        if any(reader.pinned_by is None for reader in readers):
            return None  # (asked again once they are: the cheap test first)
        if not self.projections.row_by_row(block):
            if not self.projections.grouped_by_owner(block, source):
                return None
            # a grouped or windowed body is not merged into its reader: only a condition
            # PostgreSQL pushes into it filters its rows before its aggregates run (else they
            # run over every tenant's rows, and an error there shows them)
            if not all(self._pushed_by_postgres(reader) for reader in readers):
                return None
        for reader in readers:
            if self._projected_owner(block, reader) is not source:
                return None
        if self._materialized(block, len(readers)):
            return None  # it runs over every row first: its errors and effects see them all
        first = readers[0]
        _, index = self._reader_index(first)
        item = projection_item(block.node, self._column(first), index)
        assert item is not None  # _projected_owner found it
        return Fact(source, item, "select list", other=first, value=first.value, pushed=True)

    def _pushed_by_postgres(self, reader: Source) -> bool:
        """Does PostgreSQL push the reader's pin into the body it reads? A plain `=` of the
        reader's tenant column and a value with no subquery and no volatile call, or a chain
        of plain `=` between tenant columns ending in one (an equivalence class: PostgreSQL
        derives `reader.tenant_id = V`). Not `BETWEEN V AND V`, `IN (SELECT V)`, `IS TRUE`,
        `IS NOT DISTINCT FROM` and the other spellings the proof reads as a pin: PostgreSQL
        keeps those above the body."""
        seen: set[int] = set()
        current: Source | None = reader
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            fact = current.pinned_by
            if fact is None or fact.via_key or fact.multi or fact.in_having:
                return False
            conjunct = fact.conjunct
            if fact.pushed:  # pinned by its own reader's pin, pushed once more
                current = fact.other
                continue
            if isinstance(conjunct, exp.Join):
                # `JOIN d USING (tenant_id)`: a plain = of the two columns
                if not conjunct.args.get("using") or fact.value is not None:
                    return False
            elif not _plain_equality(conjunct) or conjunct.find(exp.Subquery, exp.Select):
                return False
            if self.model.may_call_volatile() and calls_volatile(conjunct, self.model.policy):
                return False
            if fact.value is not None:
                return True
            current = fact.other
        return False

    def _materialized(self, block: Block, reads: int) -> bool:
        """The body of a CTE PostgreSQL materializes: `WITH x AS MATERIALIZED (…)`; one read more
        than once and not `NOT MATERIALIZED` (PostgreSQL 12+ folds a CTE into its reader only
        when it is read once); one that calls a VOLATILE function anywhere, `NOT MATERIALIZED`
        or not (it is never folded: the call would run another number of times)."""
        node = block.chains.above(block.node.parent, subqueries=True)  # once per union
        if not isinstance(node, exp.CTE):
            return False
        materialized = node.args.get("materialized")
        if materialized or (materialized is None and reads > 1):
            return True
        if not self.model.may_call_volatile():
            return False  # nothing in the statement may be volatile: no CTE need be searched
        known = self._materialized_ctes.get(id(node))
        if known is None:
            known = self._materialized_ctes[id(node)] = calls_volatile(node, self.model.policy)
        return known

    # recursive CTEs

    def _reader_position(self, reader: Source) -> int | None:
        """Where a reader of a recursive CTE takes its tenant column from, by position."""
        if reader.column_names is not None:
            return _position(reader.column_names, self._column(reader))
        first = reader.body[0] if reader.body else None
        return _position(first.outputs, self._column(reader)) if first else None

    def _recursive_ctes(self) -> None:
        groups: dict[int, tuple[exp.CTE, list[Source]]] = {}
        for source in self.sources:
            if source.kind is not SourceKind.CTE or source.pinned:
                continue
            cte = (
                self.model.cte_definition(source.node)
                if isinstance(source.node, exp.Table)
                else None
            )
            if (
                cte is None
                or not isinstance(cte.parent, exp.With)
                or not cte.parent.args.get("recursive")
            ):
                continue
            groups.setdefault(id(cte), (cte, []))[1].append(source)
        for cte, readers in groups.values():
            self._prove_recursive(cte, readers)

    def _prove_recursive(self, cte: exp.CTE, readers: list[Source]) -> None:
        if any(r.pinned for r in readers):
            return
        branches = [self.model.block_of.get(id(b)) for b in set_branches(cte.this)]
        if not branches or any(b is None for b in branches):
            return
        inside = [r for r in readers if is_within(r.block.node, cte)]
        recursive = {
            id(b)
            for b in branches
            for r in inside
            if b is not None and is_within(r.block.node, b.node)
        }
        # the tenant column's position in the CTE: its column list (under the name it gives the
        # anchor's tenant column: `c(tid, …)`), or the anchor's names
        listed = alias_columns(cte)
        column = self.tenant_col
        if listed is not None and column not in listed:
            renamed = {
                r.tenant_name
                for r in readers
                if r.tenant_name is not None
                and r.column_names is not None
                and r.column_names[: len(listed)] == listed
            }
            column = renamed.pop() if len(renamed) == 1 else column
        index = _position(listed, column)
        if index is None and not listed:
            first = branches[0]
            assert first is not None
            index = _position(first.outputs, self.tenant_col)
        if index is None or not inside:
            return
        # a reader that renames the columns (`t AS x(id, tenant_id)`) reads another column as
        # its tenant column: the hypothesis is not about it
        inside = [r for r in inside if self._reader_position(r) == index]
        if not inside:
            return
        anchor: PinValue | None = None
        for branch in branches:
            assert branch is not None
            if id(branch) in recursive:
                continue
            value = self.projections.projected_value(branch, column, index)
            if value is None or (anchor is not None and value != anchor):
                return
            anchor = value
        if anchor is None:
            return
        saved = [(s, s.pinned_by, s.passthrough, s.value) for s in self.sources]
        queue: deque[Source] = deque()
        for reader in inside:
            self._pin(
                reader, Fact(reader, cte, "recursive CTE (its anchor's pin)", value=anchor), anchor
            )
            queue.extend(self._dependents.get(id(reader), ()))
        queue.extend(self.sources)
        self._drain(queue)
        for branch in branches:
            assert branch is not None
            if id(branch) in recursive and (
                self.projections.projected_value(branch, column, index) != anchor
            ):
                for source, pinned_by, passthrough, value in saved:  # the hypothesis fails
                    source.pinned_by, source.passthrough, source.value = (
                        pinned_by,
                        passthrough,
                        value,
                    )
                return


# what a nested set operation may carry of its own: then it is no part of the outer one
_ROW_CLAUSES = ("order", "limit", "offset", "fetch")
_BARE_ITEMS = (exp.Column, exp.Literal, exp.Parameter, exp.Placeholder, exp.Null)

# builtin types by their catalog names, as Policy.tenant_column_types names a column's type


def _position(names: list[str] | None, column: str) -> int | None:
    return names.index(column) if names is not None and column in names else None
