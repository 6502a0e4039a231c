"""The proof's model of a statement: query blocks, the sources they read, the facts that filter
those sources, and what the statement pins. Plain records; the other modules fill them in."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlglot import exp

from tenantguard.engine.proof.syntax import SetChains
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


@dataclass(eq=False, slots=True)
class Fact:
    """A conjunct that filters `target`: pins it to a value, or equates it with `other`."""

    target: Source
    conjunct: exp.Expression
    clause: str
    value: PinValue | None = None
    other: Source | None = None
    multi: bool = False  # several tenants at once (`= ANY($1)`, `IN ($1, $2)`)
    # pushed into a body from the pin of its reader: the rows are not filtered where they are read
    pushed: bool = False
    # admits a NULL tenant column: `IS NOT DISTINCT FROM`, or shared rows (`OR … IS NULL`)
    null_safe: bool = False
    via_key: bool = False  # an equality through a composite foreign key (MATCH SIMPLE)

    def __repr__(self) -> str:
        said = (
            self.value.describe()
            if self.value
            else self.other.describe()
            if self.other
            else "several"
        )
        return f"<Fact {self.target.describe()} = {said} ({self.clause})>"


@dataclass(eq=False, slots=True)
class Source:
    name: str
    kind: SourceKind
    node: exp.Expression
    block: Block
    role: Role = Role.READ
    table: str | None = None
    tenant: bool = False  # reads tenant rows: must be pinned
    body: list[Block] = field(default_factory=list)
    column_names: list[str] | None = None  # `AS d(a, b)` column aliases
    index: int = 0  # position among its block's sources (FROM order)
    lateral: bool = False  # LATERAL, or a function in FROM: sees the sources before it
    # a view or function that cannot be pinned from outside, and why
    unpinnable: str | None = None
    rows: exp.Expression | None = None  # a VALUES source: its VALUES node
    # on the nullable side of an outer join: read outside its ON, its columns may be NULL
    nullable: bool = False
    # pinned, but its tenant column may be NULL (`IS NOT DISTINCT FROM $1`, shared rows)
    maybe_null: bool = False
    pinned_by: Fact | None = None
    passthrough: bool = False  # pinned because every branch of its body projects a pinned tenant
    value: PinValue | None = None  # the one value its tenant column is pinned to, once pinned
    facts: list[Fact] = field(default_factory=list)
    # conjuncts that mention its tenant column but do not pin it, with the reason
    near_misses: list[tuple[exp.Expression, str]] = field(default_factory=list)
    # a derived table or CTE that outputs its one source's tenant column under another name
    # (`SELECT tenant_id AS tid …`): that name (None: the tenant column's own)
    tenant_name: str | None = None

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


@dataclass(eq=False, slots=True)
class Block:
    node: exp.Expression
    parent: Block | None
    sources: dict[str, Source] = field(default_factory=dict)  # by the name columns use
    every_source: list[Source] = field(default_factory=list)  # duplicates of a name included
    ambiguous: set[str] = field(default_factory=set)  # names given to more than one source
    # (conjuncts, the sources they filter, the clause they come from, the sources its column
    # references can see — None: all of the block's)
    filters: list[tuple[list[exp.Expression], Span, str, Span | None]] = field(default_factory=list)
    # the parent's sources this block can see (PostgreSQL's scoping): None all, empty none
    outer: Span | None = None
    # what its ON clauses see, by the id of the JOIN node: the two sides joined so far
    on_scopes: dict[int, Span] = field(default_factory=dict)
    # every source by the name columns use (duplicates included)
    named: dict[str, list[Source]] = field(default_factory=dict)
    # could-own memo: the sources that may have a column of that name
    owners: dict[str, list[Source]] = field(default_factory=dict)
    # the source each JOIN … USING / NATURAL column stands for (None: no one), and the sources
    # that merge it
    merged: dict[str, tuple[Source | None, tuple[Source, ...]]] = field(default_factory=dict)
    # `FULL JOIN … USING (tenant_id)`: the merged column is coalesce(left, right) — a value it
    # equals is the value of each side's non-NULL column: it pins both
    full_merged: dict[str, tuple[Source, Source]] = field(default_factory=dict)
    # `(a JOIN b) AS j`: the sources `j` names
    join_aliases: dict[str, list[Source]] = field(default_factory=dict)
    # `(a JOIN b) AS j(x, y)`: the names the list gives the join's first columns, by position
    # (which columns they are depends on the tables' column order, unknown to the proof)
    join_lists: dict[str, list[str]] = field(default_factory=dict)
    # `JOIN b USING (x) AS j`: what `j.x` stands for (None: no one), and the sources joined
    using_aliases: dict[str, list[tuple[dict[str, Source | None], Span]]] = field(
        default_factory=dict
    )
    # LEFT/RIGHT joins: (the JOIN, its nullable side, its preserved side)
    outer_joins: list[tuple[exp.Expression, Span, Span]] = field(default_factory=list)
    root: bool = False  # the statement's own block
    # the statement's set operations, walked once for every block (shared by its blocks)
    chains: SetChains = field(default_factory=SetChains)
    _label: str | None = None

    @property
    def label(self) -> str:
        """The block as findings name it (computed on demand: only findings need it)."""
        if self._label is None:
            from tenantguard.engine.proof.labels import block_label

            self._label = block_label(self)
        return self._label

    @property
    def kind(self) -> str:
        return self.node.key.upper()

    def __repr__(self) -> str:
        return f"<Block {self.kind} with {len(self.every_source)} sources>"


@dataclass(eq=False, slots=True)
class Proof:
    """What the proof found for one statement."""

    tree: exp.Expression
    blocks: list[Block]
    references: list[Source]  # every tenant-table reference that must be pinned
    # tenant-table nodes (and calls of tenant functions) where the proof cannot follow them
    unplaced: list[exp.Expression]
    handled_tables: set[int]  # ids of Table nodes classified (sources, write targets, DDL)
    insert_values: list[PinValue] = field(default_factory=list)  # tenant values of INSERT rows
    # nodes of the kinds the write rules look at, in tree order (one walk serves every rule)
    index: dict[type[exp.Expression], list[exp.Expression]] = field(default_factory=dict)
    names_tenant_table: bool = False  # any tenant table node at all (reads, writes, DDL)
    # every value the statement pins a tenant to, with the node that says so (TG012)
    pins: list[tuple[PinValue, exp.Expression]] = field(default_factory=list)
    # every value compared with a tenant column anywhere, global tables' included (the
    # runtime checks each bound one against the request's tenant)
    compared: list[PinValue] = field(default_factory=list)

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
