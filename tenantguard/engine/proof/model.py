"""The proof's model of a statement: query blocks, the sources they read, the facts that filter
those sources, and what the statement pins. Plain records; the other modules fill them in."""

from __future__ import annotations

import enum
from collections.abc import Iterator

from sqlglot import exp

from tenantguard.engine.proof.syntax import SetChains, is_star
from tenantguard.engine.verdicts import PinValue

__all__ = ["Block", "Fact", "PinValue", "Proof", "Role", "Source", "SourceKind", "Span"]


class SourceKind(enum.Enum):
    TABLE = "table"  # a table, view or function of the schema, read by name
    DERIVED = "derived table"
    CTE = "CTE"
    VALUES = "VALUES list"
    OTHER = "row source"


class Role(enum.Enum):
    READ = "read"
    TARGET = "target"  # UPDATE / DELETE / MERGE target: rows it may change
    MERGE_SOURCE = "MERGE source"
    CALL = "call"  # a function pinned by one of its arguments, called outside FROM


class Fact:
    """A conjunct that filters `target`: pins it to a value, or equates it with `other`."""

    # a plain class with its own __init__ (not a dataclass): compiled, mypyc makes it a native
    # class whose construction is C; a dataclass's generated __init__ stays interpreted
    __slots__ = (
        "clause",
        "conjunct",
        "joined",
        "multi",
        "null_safe",
        "other",
        "pushed",
        "target",
        "value",
        "via_key",
    )

    target: Source
    conjunct: exp.Expression
    clause: str
    value: PinValue | None
    other: Source | None
    multi: bool  # several tenants at once (`= ANY($1)`, `IN ($1, $2)`)
    # pushed into a body from the pin of its reader: the rows are not filtered where they are read
    pushed: bool
    # admits a NULL tenant column: `IS NOT DISTINCT FROM`, or shared rows (`OR … IS NULL`)
    null_safe: bool
    via_key: bool  # an equality through a composite foreign key (MATCH SIMPLE)
    # the value is a column of a FROM item PostgreSQL keeps a scan of its own (a VALUES list of
    # several rows, a body it does not pull up): a join condition, not one of the source's scan
    joined: bool

    def __init__(
        self,
        target: Source,
        conjunct: exp.Expression,
        clause: str,
        value: PinValue | None = None,
        other: Source | None = None,
        multi: bool = False,
        pushed: bool = False,
        null_safe: bool = False,
        via_key: bool = False,
        joined: bool = False,
    ) -> None:
        self.target = target
        self.conjunct = conjunct
        self.clause = clause
        self.value = value
        self.other = other
        self.multi = multi
        self.pushed = pushed
        self.null_safe = null_safe
        self.via_key = via_key
        self.joined = joined

    @property
    def in_having(self) -> bool:
        """A condition of the block's HAVING: a plain one, or an EXISTS conjunct there (labelled
        "EXISTS in HAVING"): it filters groups, after the aggregates ran (h37A)."""
        return self.clause in ("HAVING", "EXISTS in HAVING")

    def __repr__(self) -> str:
        said = (
            self.value.describe()
            if self.value
            else self.other.describe()
            if self.other
            else "several"
        )
        return f"<Fact {self.target.describe()} = {said} ({self.clause})>"


class Source:
    """A row source of a block: a table, view or function read by name, a derived table, a
    CTE, a VALUES list, or another source of rows (a plain class: see `Fact`)."""

    __slots__ = (
        "block",
        "body",
        "column_names",
        "facts",
        "index",
        "kind",
        "lateral",
        "maybe_null",
        "name",
        "near_misses",
        "node",
        "nullable",
        "passthrough",
        "pinned_by",
        "role",
        "rows",
        "table",
        "tenant",
        "tenant_name",
        "unpinnable",
        "value",
    )

    name: str
    kind: SourceKind
    node: exp.Expression
    block: Block
    role: Role
    table: str | None
    tenant: bool  # reads tenant rows: must be pinned
    body: list[Block]
    column_names: list[str] | None  # `AS d(a, b)` column aliases
    index: int  # position among its block's sources (FROM order)
    lateral: bool  # LATERAL, or a function in FROM: sees the sources before it
    # a view or function that cannot be pinned from outside, and why
    unpinnable: str | None
    rows: exp.Expression | None  # a VALUES source: its VALUES node
    # on the nullable side of an outer join: read outside its ON, its columns may be NULL
    nullable: bool
    # pinned, but its tenant column may be NULL (`IS NOT DISTINCT FROM $1`, shared rows)
    maybe_null: bool
    pinned_by: Fact | None
    passthrough: bool  # pinned because every branch of its body projects a pinned tenant
    value: PinValue | None  # the one value its tenant column is pinned to, once pinned
    facts: list[Fact]
    # conjuncts that mention its tenant column but do not pin it, with the reason
    near_misses: list[tuple[exp.Expression, str]]
    # a derived table or CTE that outputs its one source's tenant column under another name
    # (`SELECT tenant_id AS tid …`): that name (None: the tenant column's own)
    tenant_name: str | None

    def __init__(
        self,
        name: str,
        kind: SourceKind,
        node: exp.Expression,
        block: Block,
        role: Role = Role.READ,
        table: str | None = None,
        tenant: bool = False,
        body: list[Block] | None = None,
        column_names: list[str] | None = None,
        index: int = 0,
        lateral: bool = False,
        unpinnable: str | None = None,
        rows: exp.Expression | None = None,
        nullable: bool = False,
        maybe_null: bool = False,
        pinned_by: Fact | None = None,
        passthrough: bool = False,
        value: PinValue | None = None,
        facts: list[Fact] | None = None,
        near_misses: list[tuple[exp.Expression, str]] | None = None,
        tenant_name: str | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.node = node
        self.block = block
        self.role = role
        self.table = table
        self.tenant = tenant
        self.body = [] if body is None else body
        self.column_names = column_names
        self.index = index
        self.lateral = lateral
        self.unpinnable = unpinnable
        self.rows = rows
        self.nullable = nullable
        self.maybe_null = maybe_null
        self.pinned_by = pinned_by
        self.passthrough = passthrough
        self.value = value
        self.facts = [] if facts is None else facts
        self.near_misses = [] if near_misses is None else near_misses
        self.tenant_name = tenant_name

    @property
    def multi_tenant(self) -> bool:
        return any(f.multi for f in self.facts)

    @property
    def pinned(self) -> bool:
        return self.pinned_by is not None or self.passthrough

    def __repr__(self) -> str:
        state = (
            f"pinned to {self.value.describe() if self.value else '?'}"
            if self.pinned
            else "unpinned"
        )
        return f"<Source {self.describe()} ({self.role.value}, {state})>"

    def describe(self) -> str:
        if self.role is Role.CALL:
            return f"call of {self.table}()"
        if self.kind is SourceKind.TABLE and self.table is not None:
            return self.table if self.name == self.table else f"{self.table} AS {self.name}"
        return f"{self.kind.value} {self.name}".rstrip()


class Span:
    """A run of a block's sources, in FROM order: what a clause filters or can see. A JOIN's ON
    sees its two sides, a LATERAL item the sources before it — always a contiguous run, so a
    clause of a block of n joins costs O(1) to describe, not O(n)."""

    __slots__ = ("block", "end", "start")

    def __init__(self, block: Block, start: int, end: int) -> None:
        self.block = block
        self.start = start
        self.end = max(start, end)

    def __contains__(self, source: object) -> bool:
        return (
            isinstance(source, Source)
            and source.block is self.block
            and self.start <= source.index < self.end
        )

    def __bool__(self) -> bool:
        return self.end > self.start

    def __iter__(self) -> Iterator[Source]:
        return iter(self.block.every_source[self.start : self.end])

    def __repr__(self) -> str:
        return f"<Span {self.start}:{self.end} of {self.block!r}>"

    @classmethod
    def of(cls, block: Block, sources: list[Source]) -> Span:
        """The run from the first to the last of `sources` (added one after the other)."""
        if not sources:
            return cls(block, 0, 0)
        return cls(block, sources[0].index, sources[-1].index + 1)


class Block:
    """A query block (SELECT, a DML statement, a set operation's branch…) and the sources it
    reads, with what its clauses filter and see (a plain class: see `Fact`)."""

    __slots__ = (
        "_label",
        "_outputs",
        "_outputs_known",
        "_starred",
        "ambiguous",
        "chains",
        "every_source",
        "filters",
        "full_merged",
        "join_aliases",
        "join_lists",
        "merged",
        "named",
        "node",
        "on_scopes",
        "outer",
        "outer_joins",
        "owners",
        "parent",
        "root",
        "sources",
        "using_aliases",
    )

    node: exp.Expression
    parent: Block | None
    sources: dict[str, Source]  # by the name columns use
    every_source: list[Source]  # duplicates of a name included
    ambiguous: set[str]  # names given to more than one source
    # (conjuncts, the sources they filter, the clause they come from, the sources its column
    # references can see — None: all of the block's)
    filters: list[tuple[list[exp.Expression], Span, str, Span | None]]
    # the parent's sources this block can see (PostgreSQL's scoping): None all, empty none
    outer: Span | None
    # what its ON clauses see, by the id of the JOIN node: the two sides joined so far
    on_scopes: dict[int, Span]
    # every source by the name columns use (duplicates included)
    named: dict[str, list[Source]]
    # could-own memo: the sources that may have a column of that name
    owners: dict[str, list[Source]]
    # the source each JOIN … USING / NATURAL column stands for (None: no one), and the sources
    # that merge it
    merged: dict[str, tuple[Source | None, tuple[Source, ...]]]
    # `FULL JOIN … USING (tenant_id)`: the merged column is coalesce(left, right) — a value it
    # equals is the value of each side's non-NULL column: it pins both
    full_merged: dict[str, tuple[Source, Source]]
    # `(a JOIN b) AS j`: the sources `j` names
    join_aliases: dict[str, list[Source]]
    # `(a JOIN b) AS j(x, y)`: the names the list gives the join's first columns, by position
    # (which columns they are depends on the tables' column order, unknown to the proof)
    join_lists: dict[str, list[str]]
    # `JOIN b USING (x) AS j`: what `j.x` stands for (None: no one), and the sources joined
    using_aliases: dict[str, list[tuple[dict[str, Source | None], Span]]]
    # LEFT/RIGHT joins: (the JOIN, its nullable side, its preserved side)
    outer_joins: list[tuple[exp.Expression, Span, Span]]
    root: bool  # the statement's own block
    # the statement's set operations, walked once for every block (shared by its blocks)
    chains: SetChains
    _label: str | None
    _outputs: list[str] | None
    _outputs_known: bool
    _starred: bool | None

    def __init__(
        self, node: exp.Expression, parent: Block | None, *, chains: SetChains | None = None
    ) -> None:
        self.node = node
        self.parent = parent
        self.sources = {}
        self.every_source = []
        self.ambiguous = set()
        self.filters = []
        self.outer = None
        self.on_scopes = {}
        self.named = {}
        self.owners = {}
        self.merged = {}
        self.full_merged = {}
        self.join_aliases = {}
        self.join_lists = {}
        self.using_aliases = {}
        self.outer_joins = []
        self.root = False
        self.chains = SetChains() if chains is None else chains
        self._label = None
        self._outputs = None
        self._outputs_known = False
        self._starred = None

    @property
    def label(self) -> str:
        """The block as findings name it (computed on demand: only findings need it)."""
        if self._label is None:
            from tenantguard.engine.proof.labels import block_label

            self._label = block_label(self)
        return self._label

    @property
    def outputs(self) -> list[str] | None:
        """`names.output_names` of the block's node, computed once: a reader's columns ask it
        again for each name they resolve (read only: the list is shared)."""
        if not self._outputs_known:
            from tenantguard.engine.proof.names import output_names

            self._outputs = output_names(self.node)
            self._outputs_known = True
        return self._outputs

    @property
    def starred(self) -> bool:
        """Does the block's select list hold a `*` (`is_star`), computed once: a key followed
        through a derived table or CTE asks it at each step (False for a block that is no
        SELECT)."""
        if self._starred is None:
            node = self.node
            self._starred = type(node) is exp.Select and any(is_star(i) for i in node.expressions)
        return self._starred

    @property
    def kind(self) -> str:
        return self.node.key.upper()

    def __repr__(self) -> str:
        return f"<Block {self.kind} with {len(self.every_source)} sources>"


class Proof:
    """What the proof found for one statement."""

    __slots__ = (
        "blocks",
        "compared",
        "handled_tables",
        "index",
        "insert_values",
        "names_tenant_table",
        "pins",
        "references",
        "tree",
        "unplaced",
    )

    tree: exp.Expression
    blocks: list[Block]
    references: list[Source]  # every tenant-table reference that must be pinned
    # tenant-table nodes (and calls of tenant functions) where the proof cannot follow them
    unplaced: list[exp.Expression]
    handled_tables: set[int]  # ids of Table nodes classified (sources, write targets, DDL)
    insert_values: list[PinValue]  # tenant values of INSERT rows
    # nodes of the kinds the write rules look at, in tree order (one walk serves every rule)
    index: dict[type[exp.Expression], list[exp.Expression]]
    names_tenant_table: bool  # any tenant table node at all (reads, writes, DDL)
    # every value the statement pins a tenant to, with the node that says so (TG012)
    pins: list[tuple[PinValue, exp.Expression]]
    # every value compared with a tenant column anywhere, global tables' included (the
    # runtime checks each bound one against the request's tenant)
    compared: list[PinValue]

    def __init__(
        self,
        tree: exp.Expression,
        blocks: list[Block],
        references: list[Source],
        unplaced: list[exp.Expression],
        handled_tables: set[int],
        insert_values: list[PinValue] | None = None,
        index: dict[type[exp.Expression], list[exp.Expression]] | None = None,
        names_tenant_table: bool = False,
        pins: list[tuple[PinValue, exp.Expression]] | None = None,
        compared: list[PinValue] | None = None,
    ) -> None:
        self.tree = tree
        self.blocks = blocks
        self.references = references
        self.unplaced = unplaced
        self.handled_tables = handled_tables
        self.insert_values = [] if insert_values is None else insert_values
        self.index = {} if index is None else index
        self.names_tenant_table = names_tenant_table
        self.pins = [] if pins is None else pins
        self.compared = [] if compared is None else compared

    def __repr__(self) -> str:
        return (
            f"<Proof of {len(self.references)} references, "
            f"{sum(not r.pinned for r in self.references)} unpinned>"
        )

    def find(self, *kinds: type[exp.Expression]) -> list[exp.Expression]:
        if len(kinds) == 1:
            return self.index.get(kinds[0], [])
        return [n for kind in kinds for n in self.index.get(kind, [])]

    @property
    def unpinned(self) -> list[Source]:
        return [ref for ref in self.references if not ref.pinned]

    def pin_values(self) -> list[PinValue]:
        """Every value the statement pins a tenant column to (for the runtime value check)."""
        return self.compared

    def distinct_tenants(self) -> list[tuple[PinValue, exp.Expression]]:
        """One (value, node) per distinct tenant value the statement pins, in tree order."""
        seen: set[PinValue] = set()
        out: list[tuple[PinValue, exp.Expression]] = []
        for value, node in self.pins:
            if value not in seen:
                seen.add(value)
                out.append((value, node))
        return out
