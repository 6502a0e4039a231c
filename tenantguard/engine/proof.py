"""The tenant proof (DESIGN.md §1): is every reference to a tenant table pinned to one tenant?

The statement is cut into query blocks — every SELECT, UPDATE, DELETE, MERGE and INSERT node,
wherever it sits (root, CTE, subquery, derived table, LATERAL, set-operation branch). Each block
has sources (what its FROM, JOINs, USING and DML target name) and filters (top-level
AND-conjuncts of WHERE, of join ONs for the sides they filter, of MERGE ON for the target).

A source is pinned when a conjunct that filters it says `source.tenant_col = V` with V a pinning
value, or `source.tenant_col = other.tenant_col` with `other` pinned (in the same block or, by
correlation, in an enclosing one). A derived table or CTE counts as a source whose tenant column
is pinned when every branch producing it projects a pinned tenant column or a pinning value
unchanged under that name — a sound refinement that lets joins on CTEs be proven.

Everything here walks the tree with explicit stacks: depth comes from user input.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlglot import exp

from tenantguard.engine.policy import Policy, strip_casts

__all__ = [
    "Block",
    "Fact",
    "PinValue",
    "Proof",
    "Source",
    "SourceKind",
    "build_proof",
    "conjuncts",
    "identifier_name",
    "pin_value",
    "set_branches",
    "walk",
]


class SourceKind(enum.Enum):
    TABLE = "table"
    DERIVED = "derived table"
    CTE = "CTE"
    OTHER = "row source"


class Role(enum.Enum):
    READ = "read"
    TARGET = "target"  # UPDATE / DELETE / MERGE target: rows it may change
    MERGE_SOURCE = "MERGE source"


@dataclass(frozen=True, slots=True)
class PinValue:
    """A value a tenant column is pinned to: `$2`, `%(tenant)s`, `42`, a tenant expression."""

    kind: str  # "parameter" | "placeholder" | "literal" | "expression"
    key: int | str | None  # parameter number, placeholder name, or literal text


@dataclass(eq=False, slots=True)
class Fact:
    """A conjunct that filters `target`: pins it to a value, or equates it with `other`."""

    target: Source
    conjunct: exp.Expression
    clause: str
    value: PinValue | None = None
    other: Source | None = None
    multi: bool = False  # several tenants at once (`= ANY($1)`, `IN ($1, $2)`)


@dataclass(eq=False, slots=True)
class Source:
    name: str
    kind: SourceKind
    node: exp.Expression
    block: Block
    role: Role = Role.READ
    table: str | None = None
    tenant: bool = False
    body: list[Block] = field(default_factory=list)
    column_names: list[str] | None = None  # `AS d(a, b)` column aliases
    pinned_by: Fact | None = None
    passthrough: bool = False  # pinned because every branch of its body projects a pinned tenant
    facts: list[Fact] = field(default_factory=list)
    # conjuncts that mention its tenant column but do not pin it, with the reason
    near_misses: list[tuple[exp.Expression, str]] = field(default_factory=list)

    @property
    def multi_tenant(self) -> bool:
        return any(f.multi for f in self.facts)

    @property
    def pinned(self) -> bool:
        return self.pinned_by is not None or self.passthrough

    def describe(self) -> str:
        if self.kind is SourceKind.TABLE and self.table is not None:
            return self.table if self.name == self.table else f"{self.table} AS {self.name}"
        return f"{self.kind.value} {self.name}"


@dataclass(eq=False, slots=True)
class Block:
    node: exp.Expression
    parent: Block | None
    sources: dict[str, Source] = field(default_factory=dict)  # by the name columns use
    every_source: list[Source] = field(default_factory=list)  # duplicates of a name included
    ambiguous: set[str] = field(default_factory=set)  # names given to more than one source
    # (conjuncts, the sources they filter, the clause they come from)
    filters: list[tuple[list[exp.Expression], list[Source], str]] = field(default_factory=list)
    root: bool = False  # the statement's own block
    _label: str | None = None

    @property
    def label(self) -> str:
        """The block as findings name it (computed on demand: only findings need it)."""
        if self._label is None:
            self._label = _label(self)
        return self._label

    @property
    def kind(self) -> str:
        return self.node.key.upper()


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

    def find(self, *kinds: type[exp.Expression]) -> list[exp.Expression]:
        if len(kinds) == 1:
            return self.index.get(kinds[0], [])
        return [n for kind in kinds for n in self.index.get(kind, [])]

    @property
    def unpinned(self) -> list[Source]:
        return [ref for ref in self.references if not ref.pinned]

    def pin_values(self) -> list[PinValue]:
        """Every value the statement pins a tenant column to (for the runtime value check)."""
        values: list[PinValue] = []
        for block in self.blocks:
            for source in block.every_source:
                values.extend(f.value for f in source.facts if f.value is not None)
        values.extend(self.insert_values)
        return values


# --- tree helpers ---------------------------------------------------------------------------

_CLAUSES = {
    "where": "WHERE",
    "expressions": "select list",
    "joins": "JOIN",
    "having": "HAVING",
    "from_": "FROM",
    "order": "ORDER BY",
    "group": "GROUP BY",
    "using": "USING",
    "on": "ON",
}
_BLOCK_TYPES = (exp.Select, exp.Update, exp.Delete, exp.Merge, exp.Insert)
_INDEXED_TYPES = (
    exp.Insert,
    exp.Merge,
    exp.OnConflict,
    exp.Update,
    exp.TruncateTable,
    exp.Copy,
)


def _subclasses(*kinds: type[exp.Expression]) -> frozenset[type[exp.Expression]]:
    """Each kind and its subclasses: the walk dispatches on exact node types."""
    found: set[type[exp.Expression]] = set()
    stack = list(kinds)
    while stack:
        kind = stack.pop()
        if kind not in found:
            found.add(kind)
            stack.extend(kind.__subclasses__())
    return frozenset(found)


_DDL_TYPES = (exp.Create, exp.Drop, exp.Alter, exp.Comment, exp.Grant, exp.Revoke)
# nodes whose table operands are not row sources: whole-table statements (TG005), DDL (TG007),
# and `FOR UPDATE OF t`, which names a source of its block
_WHOLE_TABLE_TYPES = (
    exp.Lock,
    exp.TruncateTable,
    exp.Copy,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Comment,
    exp.Grant,
    exp.Revoke,
)
_BLOCK_SET = _subclasses(*_BLOCK_TYPES)
_INDEXED_SET = _subclasses(*_INDEXED_TYPES)
_WHOLE_TABLE_SET = _subclasses(*_WHOLE_TABLE_TYPES)
_CTE_SET = _subclasses(exp.CTE)
_INTERESTING = (
    _BLOCK_SET | _INDEXED_SET | _WHOLE_TABLE_SET | _CTE_SET | _subclasses(exp.Table)
) | {exp.Anonymous}


# leaves for the proof: nothing below them can be a table, a query block or a write
_PRUNED = frozenset().union(
    *(
        _subclasses(kind)
        for kind in (
            exp.Column, exp.Identifier, exp.Literal, exp.Parameter, exp.Placeholder,
            exp.DataType, exp.Star, exp.Var, exp.Boolean, exp.Null,
        )
    )
)  # fmt: skip


def _structural_nodes(root: exp.Expression) -> Iterator[exp.Expression]:
    """Every node that can hold a table or a query block, parents before children.

    An explicit stack, so depth cannot overflow; columns, literals and other leaves (about half
    of a statement's nodes) are neither yielded nor descended into.
    """
    stack: list[exp.Expression] = [root]
    leaves = _PRUNED
    expression = exp.Expression
    while stack:
        node = stack.pop()
        yield node
        if type(node) in leaves:
            continue  # only the root can be one
        for value in node.args.values():
            if type(value) is list:
                stack.extend(
                    [v for v in value if isinstance(v, expression) and type(v) not in leaves]
                )
            elif isinstance(value, expression) and type(value) not in leaves:
                stack.append(value)


def walk(node: exp.Expression) -> Iterator[exp.Expression]:
    """Pre-order walk; sqlglot's own walk uses an explicit stack, so depth cannot overflow."""
    for child in node.walk(bfs=False):
        if isinstance(child, exp.Expression):
            yield child


def conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    """The top-level AND-conjuncts of a condition, parentheses ignored, in source order."""
    return _operands(node, exp.And)


def _disjuncts(node: exp.Expression) -> list[exp.Expression]:
    """The top-level OR-branches of a condition, parentheses ignored, in source order."""
    return _operands(node, exp.Or)


def _operands(node: exp.Expression | None, kind: type[exp.Connector]) -> list[exp.Expression]:
    out: list[exp.Expression] = []
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        while isinstance(current, exp.Paren):
            current = current.this
        if isinstance(current, kind):
            stack.append(current.expression)
            stack.append(current.this)
        else:
            out.append(current)
    return out


def identifier_name(node: exp.Expression | str | None) -> str:
    """A name as PostgreSQL sees it: folded to lower case unless quoted."""
    if type(node) is exp.Identifier:
        text = str(node.this)
        return text if node.args.get("quoted") else text.lower()
    if node is None:
        return ""
    if isinstance(node, str):
        return node.lower()
    if isinstance(node, exp.Identifier):
        text = str(node.this)
        return text if node.quoted else text.lower()
    return identifier_name(node.args.get("this")) if isinstance(node, exp.Expression) else ""


def _alias_name(node: exp.Expression) -> str:
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias):
        return identifier_name(alias.args.get("this"))
    return ""


def _alias_columns(node: exp.Expression) -> list[str] | None:
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.args.get("columns"):
        return [identifier_name(c) for c in alias.args["columns"]]
    return None


def set_branches(node: exp.Expression) -> list[exp.Expression]:
    """The leaf query blocks of a set operation (or the node itself), left to right."""
    out: list[exp.Expression] = []
    stack = [node]
    while stack:
        current = stack.pop()
        while isinstance(current, exp.Subquery | exp.Paren) and not isinstance(
            current.this, exp.Table
        ):
            current = current.this
        if isinstance(current, exp.SetOperation):
            stack.append(current.expression)
            stack.append(current.this)
        else:
            out.append(current)
    return out


def _is_table_name(node: exp.Table) -> bool:
    return isinstance(node.this, exp.Identifier)


# --- pinning values -------------------------------------------------------------------------


def pin_value(node: exp.Expression, policy: Policy) -> PinValue | None:
    """`node` as a pinning value: a parameter, a literal, a tenant expression, or a cast of one."""
    bare = strip_casts(node)
    if isinstance(bare, exp.Parameter):
        inner = bare.this
        key: int | str | None = None
        if isinstance(inner, exp.Literal) and inner.this.isdigit():
            key = int(inner.this)
        elif inner is not None:
            key = identifier_name(inner)
        return PinValue("parameter", key)
    if isinstance(bare, exp.Placeholder):
        name = bare.this
        return PinValue("placeholder", identifier_name(name) if name else None)
    if isinstance(bare, exp.Literal):
        return PinValue("literal", str(bare.this))
    if isinstance(bare, exp.Neg) and isinstance(bare.this, exp.Literal):
        return PinValue("literal", "-" + str(bare.this.this))
    if policy.is_tenant_expression(bare):
        return PinValue("expression", None)
    return None


def _multi_values(node: exp.Expression, policy: Policy) -> bool:
    """`ANY(…)` of pinning values or of an array parameter: a filter on several tenants."""
    if not isinstance(node, exp.Any):
        return False
    inner = node.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if isinstance(strip_casts(inner), exp.Array):
        return all(pin_value(item, policy) for item in strip_casts(inner).expressions)
    return pin_value(inner, policy) is not None


# --- building blocks and sources ------------------------------------------------------------


class _Builder:
    def __init__(self, tree: exp.Expression, policy: Policy) -> None:
        self.tree = tree
        self.policy = policy
        self.blocks: list[Block] = []
        self.block_of: dict[int, Block] = {}
        self.handled: set[int] = set()
        self.cte_names: set[str] = set()  # of every CTE in the statement (found by the walk)
        # the derived-table and CTE sources that read each body block (by the block's id)
        self.readers: dict[int, list[Source]] = {}
        # per block (by id): the source each JOIN … USING column stands for (None: no one)
        self.merged: dict[int, dict[str, Source | None]] = {}
        # conjuncts that pin nothing: they explain a reference left unpinned (near misses)
        self._misses: list[tuple[Block, exp.Expression, set[int], str]] = []
        self.tenant_col = policy.tenant_column

    # blocks

    def build(self) -> Proof:
        tenant_tables: list[exp.Table] = []
        tenant_calls: list[exp.Expression] = []
        index: dict[type[exp.Expression], list[exp.Expression]] = {}
        interesting = _INTERESTING
        for node in _structural_nodes(self.tree):
            kind = type(node)
            if kind not in interesting:
                continue
            if kind in _INDEXED_SET:
                index.setdefault(kind, []).append(node)
            if kind in _CTE_SET:
                self.cte_names.add(_alias_name(node))
            if kind in _WHOLE_TABLE_SET:
                for operand in (node.this, *node.expressions):
                    table = operand.this if isinstance(operand, exp.Schema) else operand
                    if isinstance(table, exp.Table):
                        self.handled.add(id(table))
            if kind in _BLOCK_SET and not isinstance(node.parent, exp.When):
                block = Block(node, self._enclosing_block(node))
                self.blocks.append(block)
                self.block_of[id(node)] = block
            elif (
                kind is exp.Table
                and isinstance(node, exp.Table)
                and _is_table_name(node)
                and self.policy.is_tenant_table(identifier_name(node.this))
            ):
                tenant_tables.append(node)
            elif kind is exp.Anonymous and self.policy.is_tenant_table(
                identifier_name(node.this)
            ):  # a function that hands out tenant rows (read from the schema sources)
                tenant_calls.append(node)
        for block in self.blocks:
            self._collect_sources(block)
        for block in self.blocks:
            self._collect_facts(block)
        self._solve()
        references = [
            source
            for block in self.blocks
            for source in block.every_source
            if source.kind is SourceKind.TABLE and source.tenant
        ]
        if any(not r.pinned for r in references):  # only a finding (or explain) reads them
            for miss in self._misses:
                self._near_miss(*miss)
        # the operands of DDL are TG007's business; queries inside DDL (CREATE VIEW … AS
        # SELECT) are blocks like any other
        ddl = isinstance(self.tree, _DDL_TYPES)
        unplaced: list[exp.Expression] = [
            t
            for t in tenant_tables
            if id(t) not in self.handled and not ddl and not self._is_cte_reference(t)
        ]
        unplaced += [c for c in tenant_calls if id(c) not in self.handled and not ddl]
        root = self.tree
        while isinstance(root, exp.Subquery | exp.Paren):
            root = root.this
        for block in self.blocks:  # the statement's own block; a set operation has none
            block.root = block.node is root
        return Proof(
            self.tree,
            self.blocks,
            references,
            unplaced,
            self.handled,
            self._insert_values(index.get(exp.Insert, [])),
            index,
            bool(tenant_tables or tenant_calls),
        )

    def _insert_values(self, inserts: list[exp.Expression]) -> list[PinValue]:
        """The values written into tenant columns: VALUES rows, INSERT … SELECT projections,
        MERGE INSERT values — what the runtime must compare with the request's tenant."""
        values: list[PinValue] = []
        for node in inserts:
            target = node.this
            if isinstance(target, exp.Schema):
                columns = [identifier_name(c) for c in target.expressions]
            elif isinstance(target, exp.Tuple):  # MERGE … THEN INSERT (cols) VALUES (…)
                columns = [
                    identifier_name(c.this if isinstance(c, exp.Column) else c)
                    for c in target.expressions
                ]
            else:
                continue
            if self.tenant_col not in columns:
                continue
            index = columns.index(self.tenant_col)
            rows = node.expression
            while isinstance(rows, exp.Subquery | exp.Paren):
                rows = rows.this
            if isinstance(rows, exp.Values | exp.Tuple):
                tuples = rows.expressions if isinstance(rows, exp.Values) else [rows]
                items_per_row = [r.expressions if isinstance(r, exp.Tuple) else [r] for r in tuples]
            else:
                items_per_row = (
                    [b.expressions for b in set_branches(rows) if isinstance(b, exp.Select)]
                    if rows is not None
                    else []
                )
            for items in items_per_row:
                if index < len(items):
                    item = items[index]
                    value = pin_value(
                        item.this if isinstance(item, exp.Alias) else item, self.policy
                    )
                    if value is not None:
                        values.append(value)
        return values

    def _enclosing_block(self, node: exp.Expression) -> Block | None:
        parent = node.parent
        while parent is not None:
            block = self.block_of.get(id(parent))
            if block is not None:
                return block
            parent = parent.parent
        return None

    def _is_cte_reference(self, table: exp.Table) -> bool:
        return self._cte_definition(table) is not None

    def _cte_definition(self, table: exp.Table) -> exp.CTE | None:
        """The CTE a table reference names, with WITH's visibility rules; None for a table.

        A CTE's own body sees only the CTEs defined before it (all of them under RECURSIVE);
        the query of a WITH sees all of them. A schema-qualified name is never a CTE.
        """
        if table.args.get("db") or table.args.get("catalog"):
            return None
        name = identifier_name(table.this)
        if name not in self.cte_names:
            return None  # no CTE of the statement has that name
        child: exp.Expr = table
        parent = table.parent
        while parent is not None:
            visible: list[exp.Expression] = []
            if isinstance(parent, exp.With):
                ctes = parent.expressions
                if parent.args.get("recursive") or not isinstance(child, exp.CTE):
                    visible = ctes
                else:
                    visible = ctes[: next(i for i, c in enumerate(ctes) if c is child)]
            else:
                with_ = parent.args.get("with_")
                if isinstance(with_, exp.With) and child is not with_:
                    visible = with_.expressions
            for cte in visible:
                if isinstance(cte, exp.CTE) and _alias_name(cte) == name:
                    return cte
            child, parent = parent, parent.parent
        return None

    # sources

    def _add(self, block: Block, source: Source) -> Source:
        if source.name in block.sources:
            block.ambiguous.add(source.name)
        block.sources.setdefault(source.name, source)
        block.every_source.append(source)  # a duplicate name still has to be pinned
        for body in source.body:
            self.readers.setdefault(id(body), []).append(source)
        return source

    def _source(self, block: Block, node: exp.Expression, role: Role) -> list[Source]:
        """The sources one FROM/JOIN/USING item contributes (a parenthesized join gives several)."""
        if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Table):
            node = node.this  # `(a JOIN b ON …)`: a join group, not a derived table
        if (
            isinstance(node, exp.Table)
            and isinstance(node.this, exp.Anonymous)
            and self.policy.is_tenant_table(identifier_name(node.this.this))
        ):  # `FROM all_patients() f`: a function that hands out tenant rows, read like a table
            self.handled.add(id(node.this))
            function = identifier_name(node.this.this)
            source = Source(
                _alias_name(node) or function,
                SourceKind.TABLE,
                node,
                block,
                role,
                function,
                True,
                column_names=_alias_columns(node),
            )
            return [self._add(block, source)]
        if isinstance(node, exp.Table) and _is_table_name(node):
            group = [self._table_source(block, node, role)]
            for join in node.args.get("joins") or []:
                group = self._join(block, group, join, role)
            return group
        if isinstance(node, exp.Subquery | exp.Lateral):
            inner = node.this if isinstance(node, exp.Lateral) else node
            query = inner.this if isinstance(inner, exp.Subquery) else inner
            bodies = [self.block_of[id(b)] for b in set_branches(query) if id(b) in self.block_of]
            source = Source(
                _alias_name(node) or _alias_name(inner),
                SourceKind.DERIVED if bodies else SourceKind.OTHER,
                node,
                block,
                role,
                body=bodies,
                column_names=_alias_columns(node) or _alias_columns(inner),
            )
            return [self._add(block, source)]
        name = _alias_name(node) or identifier_name(node.args.get("this"))
        columns = _alias_columns(node) or ([name] if name else None)
        return [
            self._add(
                block, Source(name, SourceKind.OTHER, node, block, role, column_names=columns)
            )
        ]

    def _table_source(self, block: Block, table: exp.Table, role: Role) -> Source:
        self.handled.add(id(table))
        table_name = identifier_name(table.this)
        name = _alias_name(table) or table_name
        columns = _alias_columns(table)
        cte = self._cte_definition(table)
        if cte is not None:
            bodies = [
                self.block_of[id(b)] for b in set_branches(cte.this) if id(b) in self.block_of
            ]
            columns = columns or _alias_columns(cte)
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
        else:
            source = Source(
                name,
                SourceKind.TABLE,
                table,
                block,
                role,
                table_name,
                self.policy.is_tenant_table(table_name),
                column_names=columns,
            )
        return self._add(block, source)

    def _join(self, block: Block, left: list[Source], join: exp.Join, role: Role) -> list[Source]:
        right = self._source(block, join.this, role)
        side = (join.args.get("side") or "").upper()
        if side == "LEFT":
            filtered = right
        elif side == "RIGHT":
            filtered = left
        elif side == "FULL":
            filtered = []
        else:
            filtered = left + right
        condition = join.args.get("on")
        kind = f"{side} JOIN" if side else "JOIN"
        name = right[0].name if right else ""
        if condition is not None:
            block.filters.append((conjuncts(condition), filtered, f"ON of {kind} {name}".strip()))
        using = join.args.get("using") or []
        if any(identifier_name(u) == self.tenant_col for u in using):
            self._join_using(block, left, right, join, filtered, f"USING of {kind} {name}")
        return left + right

    def _join_using(
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
        merged = self.merged.setdefault(id(block), {})
        if column in merged:
            left_owner = merged[column]
        else:
            owners = [s for s in left if self._could_own(s, column)]
            left_owner = owners[0] if len(owners) == 1 else None
        owners = [s for s in right if self._could_own(s, column)]
        right_owner = owners[0] if len(owners) == 1 else None
        side = (join.args.get("side") or "").upper()
        merged[column] = None if side == "FULL" else right_owner if side == "RIGHT" else left_owner
        if left_owner is None or right_owner is None:
            return
        ids = {id(s) for s in filtered}
        for target, other in ((right_owner, left_owner), (left_owner, right_owner)):
            if id(target) in ids:
                target.facts.append(Fact(target, join, clause, other=other))

    def _collect_sources(self, block: Block) -> None:
        node = block.node
        everything: list[Source] = []
        if isinstance(node, exp.Select):
            from_ = node.args.get("from_")
            if isinstance(from_, exp.From):
                everything = self._source(block, from_.this, Role.READ)
            for join in node.args.get("joins") or []:
                everything = self._join(block, everything, join, Role.READ)
        elif isinstance(node, exp.Update | exp.Delete):
            target = node.this
            if isinstance(target, exp.Table):
                everything = self._source(block, target, Role.TARGET)
            from_ = node.args.get("from_")
            if isinstance(from_, exp.From):
                everything += self._source(block, from_.this, Role.READ)
            for item in node.args.get("using") or []:
                everything += self._source(block, item, Role.READ)
            for join in node.args.get("joins") or []:
                everything = self._join(block, everything, join, Role.READ)
        elif isinstance(node, exp.Merge):
            target = self._source(block, node.this, Role.TARGET)
            using = node.args.get("using")
            if using is not None:
                self._source(block, using, Role.MERGE_SOURCE)
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
            else:
                block.filters.append((conjuncts(node.args.get("on")), target, "MERGE ON"))
            return
        elif isinstance(node, exp.Insert):
            target = node.this
            if isinstance(target, exp.Schema):
                target = target.this
            if isinstance(target, exp.Table):
                self.handled.add(id(target))
            return
        where = node.args.get("where")
        if isinstance(where, exp.Where):
            block.filters.append((conjuncts(where.this), everything, "WHERE"))

    # facts

    def _collect_facts(self, block: Block) -> None:
        for items, filtered, clause in block.filters:
            if not filtered:
                continue
            ids = {id(s) for s in filtered}
            for conjunct in items:
                self._fact(block, conjunct, ids, clause)

    def _fact(
        self, block: Block, conjunct: exp.Expression, filtered: set[int], clause: str
    ) -> None:
        if not self._pin_fact(block, conjunct, filtered, clause):
            self._misses.append((block, conjunct, filtered, clause))

    def _near_miss(
        self, block: Block, conjunct: exp.Expression, filtered: set[int], clause: str
    ) -> None:
        seen: set[int] = set()
        for node in walk(conjunct):
            if isinstance(node, exp.Select):
                break  # a subquery's columns are its own
            if type(node) is not exp.Column:
                continue
            owner = self._tenant_column_owner(block, node)
            if owner is None or id(owner) in seen or owner.block is not block:
                continue
            seen.add(id(owner))
            if id(owner) not in filtered:
                reason = f"the {clause} does not filter {owner.name} (outer-join rules)"
            elif isinstance(conjunct, exp.Or):
                reason = "an OR pins only when every branch pins it to the same value"
            elif isinstance(conjunct, exp.EQ | exp.In):
                reason = "the other side is not a pinning value or a pinned tenant column"
            else:
                reason = f"a {conjunct.key.upper()} condition does not pin (only equality does)"
            owner.near_misses.append((conjunct, reason))

    def _pin_fact(
        self, block: Block, conjunct: exp.Expression, filtered: set[int], clause: str
    ) -> bool:
        """Records what `conjunct` says of tenant columns; False when it says nothing."""
        found = False
        if isinstance(conjunct, exp.EQ):
            for column_side, other_side in _equated(conjunct):
                source = self._tenant_column_owner(block, column_side)
                if source is None or id(source) not in filtered:
                    continue
                fact: Fact | None = None
                value = pin_value(other_side, self.policy)
                if value is not None:
                    fact = Fact(source, conjunct, clause, value=value)
                elif _multi_values(other_side, self.policy):
                    fact = Fact(source, conjunct, clause, multi=True)
                else:
                    other = self._tenant_column_owner(block, other_side)
                    if other is not None and other is not source:
                        fact = Fact(source, conjunct, clause, other=other)
                if fact is not None:
                    source.facts.append(fact)
                    found = True
        elif isinstance(conjunct, exp.In) and not conjunct.args.get("query"):
            source = self._tenant_column_owner(block, conjunct.this)
            if source is None or id(source) not in filtered:
                return False
            items = conjunct.expressions
            values = [pin_value(item, self.policy) for item in items]
            if len(items) == 1 and values[0] is not None:
                source.facts.append(Fact(source, conjunct, clause, value=values[0]))
                found = True
            elif items and all(values):
                source.facts.append(Fact(source, conjunct, clause, multi=True))
                found = True
        elif isinstance(conjunct, exp.Or):
            for source, value in self._pinned_in_every_branch(block, conjunct, filtered):
                source.facts.append(Fact(source, conjunct, clause, value=value))
                found = True
        return found

    def _pinned_in_every_branch(
        self, block: Block, condition: exp.Or, filtered: set[int]
    ) -> list[tuple[Source, PinValue]]:
        """Sources that every branch of an OR pins to one and the same value.

        `(tenant_id = $1 AND a) OR (tenant_id = $1 AND b)` lets through only rows of tenant $1,
        as `tenant_id = $1 AND (a OR b)` does. A branch without that pin, or with another value,
        lets other tenants through: then nothing is pinned.
        """
        common: dict[tuple[int, PinValue], Source] | None = None
        for branch in _disjuncts(condition):
            pins: dict[tuple[int, PinValue], Source] = {}
            for part in conjuncts(branch):
                if isinstance(part, exp.EQ):
                    for column_side, other_side in _equated(part):
                        source = self._tenant_column_owner(block, column_side)
                        value = pin_value(other_side, self.policy) if source else None
                        if source is not None and value is not None and id(source) in filtered:
                            pins[(id(source), value)] = source
            common = pins if common is None else {k: common[k] for k in common.keys() & pins}
            if not common:
                return []
        return [(source, value) for (_, value), source in (common or {}).items()]

    def _tenant_column_owner(self, block: Block, node: exp.Expression) -> Source | None:
        while type(node) is exp.Paren:
            node = node.this
        if type(node) is not exp.Column or type(node.this) is not exp.Identifier:
            return None
        if identifier_name(node.this) != self.tenant_col:
            return None
        owner = self.resolve(block, node)
        if owner is not None and owner.kind is SourceKind.TABLE and owner.column_names is not None:
            return None  # `t AS a(x, y)` renames columns by position: the name proves nothing
        return owner

    def resolve(self, block: Block | None, column: exp.Column) -> Source | None:
        """The source a column belongs to, or None when it cannot be told for sure."""
        qualifier = identifier_name(column.args.get("table"))
        name = identifier_name(column.this)
        while block is not None:
            merged = self.merged.get(id(block)) if not qualifier and self.merged else None
            if merged is not None and name in merged:
                return merged[name]  # the column of a JOIN … USING
            if qualifier:
                if qualifier in block.ambiguous:
                    return None
                found = block.sources.get(qualifier)
                if found is not None:
                    return found
            else:
                owners = [s for s in block.every_source if self._could_own(s, name)]
                if len(owners) == 1 and owners[0].name not in block.ambiguous:
                    return owners[0]
                if owners:
                    return None
            block = block.parent
        return None

    def _could_own(self, source: Source, column: str) -> bool:
        if source.column_names is not None:
            return column in source.column_names
        if source.kind is SourceKind.TABLE and source.table is not None:
            known = self.policy.columns_of(source.table)
            if known is not None:
                return column in known
            return True
        if source.kind in (SourceKind.DERIVED, SourceKind.CTE) and source.body:
            names = _output_names(source.body[0].node)
            return names is None or column in names
        return source.kind is not SourceKind.OTHER or not source.name or column == source.name

    # solving

    def _solve(self) -> None:
        sources = [s for b in self.blocks for s in b.every_source]
        multi_ok = self.policy.allow_multi_tenant
        changed = True
        while changed:
            changed = False
            for source in sources:
                if source.pinned:
                    continue
                if (
                    source.kind in (SourceKind.DERIVED, SourceKind.CTE)
                    and source.body
                    and self._passes_tenant_through(source)
                ):
                    source.passthrough = True
                    changed = True
                    continue
                for fact in source.facts:
                    if (
                        fact.value is not None
                        or (fact.multi and multi_ok)
                        or (
                            fact.other is not None
                            and fact.other.pinned
                            and fact.other is not source
                        )
                    ):
                        source.pinned_by = fact
                        changed = True
                        break
                else:
                    pushed = self._pushed_pin(source) if id(source.block) in self.readers else None
                    if pushed is not None:
                        source.pinned_by = pushed
                        changed = True

    def _pushed_pin(self, source: Source) -> Fact | None:
        """The outer pin of a derived table or CTE, pushed down to `source` in its body.

        `SELECT … FROM (SELECT * FROM patients) d WHERE d.tenant_id = $1` pins `patients`: the
        body passes `patients.tenant_id` through unchanged as `d.tenant_id`, and it works row by
        row (no aggregate, window, DISTINCT, GROUP BY, LIMIT/OFFSET, locking) and has one
        branch, so the only rows that leave it are the pinned tenant's. Every reader of the body
        must be pinned by a condition of its own: a CTE read twice, once unpinned, leaks through
        the other read. (Every read of a CTE is a FROM/JOIN item, so a source here — sqlglot
        reads `TABLE x` as `SELECT * FROM x` — and a recursive CTE has two branches.)
        """
        block = source.block
        readers = self.readers[id(block)]
        if not _row_by_row(block.node):
            return None
        for reader in readers:
            if reader.pinned_by is None or len(reader.body) != 1:
                return None
            if self._projected_owner(block, reader) is not source:
                return None
        first = readers[0]
        item = projection_item(block.node, self.tenant_col, _column_index(first, self.tenant_col))
        assert item is not None  # _projected_owner found it
        return Fact(source, item, "select list", other=first)  # `first` is pinned outside

    def _projected_owner(self, block: Block, reader: Source) -> Source | None:
        """The source whose tenant column `block` outputs, unchanged, as `reader`'s tenant
        column (by name, or by position under a column list); None when it is anything else."""
        index = _column_index(reader, self.tenant_col)
        if index is None and reader.column_names is not None:
            return None
        item = projection_item(block.node, self.tenant_col, index)
        if item is None:
            return None
        if _is_star(item):
            return self._star_owner(block, item, self.tenant_col, index)
        if isinstance(item, exp.Alias):
            item = item.this
        while isinstance(item, exp.Paren):
            item = item.this
        if not isinstance(item, exp.Column) or identifier_name(item.this) != self.tenant_col:
            return None
        owner = self.resolve(block, item)
        return owner if owner is not None and owner.block is block else None

    def _star_owner(
        self, block: Block, star: exp.Expression, column: str, index: int | None
    ) -> Source | None:
        """The one source whose `column` a `*` (or `t.*`) of `block` outputs, or None."""
        if index is not None:
            return None  # a `*` renamed by position: which column lands there is unknown
        qualifier = identifier_name(star.args.get("table")) if isinstance(star, exp.Column) else ""
        if qualifier:
            owners = [block.sources[qualifier]] if qualifier in block.sources else []
        else:
            owners = [s for s in block.every_source if self._could_own(s, column)]
        return owners[0] if len(owners) == 1 else None

    def _passes_tenant_through(self, source: Source) -> bool:
        """Does every branch of a derived table / CTE output a pinned tenant column?

        A column list (`d(a, b)`, `WITH x(a, b)`) renames the outputs by position.
        """
        index: int | None = None
        if source.column_names is not None:
            if self.tenant_col not in source.column_names:
                return False
            index = source.column_names.index(self.tenant_col)
        return all(self.projection_pinned(b, self.tenant_col, index) for b in source.body)

    def projection_pinned(self, block: Block, column: str, index: int | None = None) -> bool:
        """Does `block` output, under `column` (or at `index`), a pinning value or pinned tenant?"""
        item = projection_item(block.node, column, index)
        if item is None:
            return False
        if _is_star(item):
            owner = self._star_owner(block, item, column, index)
            return owner is not None and owner.pinned and column == self.tenant_col
        if isinstance(item, exp.Alias):
            item = item.this
        if pin_value(item, self.policy) is not None:
            return True
        while isinstance(item, exp.Paren):
            item = item.this
        if isinstance(item, exp.Column) and identifier_name(item.this) == self.tenant_col:
            owner = self.resolve(block, item)
            return owner is not None and owner.pinned
        return False


def _equated(condition: exp.EQ) -> list[tuple[exp.Expression, exp.Expression]]:
    """The (one side, other side) pairs an equality states, both ways round; a row equality
    `(a, b) = (x, y)` states `a = x` and `b = y`."""
    left, right = condition.this, condition.expression
    if (
        isinstance(left, exp.Tuple)
        and isinstance(right, exp.Tuple)
        and len(left.expressions) == len(right.expressions)
    ):
        sides = list(zip(left.expressions, right.expressions, strict=True))
    else:
        sides = [(left, right)]
    return [*sides, *((b, a) for a, b in sides)]


def _column_index(source: Source, column: str) -> int | None:
    """The position of `column` in the source's column list (`AS d(a, b)`), if it has one."""
    names = source.column_names
    if names is None or column not in names:
        return None
    return names.index(column)


# clauses after which a block's rows depend on other rows than their own
_NOT_ROW_BY_ROW = ("group", "having", "distinct", "limit", "offset", "fetch", "qualify", "locks")


def _row_by_row(node: exp.Expression) -> bool:
    """Does this query block compute each output row from its own input rows alone?

    A plain SELECT: no GROUP BY, HAVING, DISTINCT, LIMIT/OFFSET/FETCH or locking clause, and no
    aggregate or window function anywhere below it (nested subqueries included: conservative).
    """
    if not isinstance(node, exp.Select):
        return False
    if any(node.args.get(clause) for clause in _NOT_ROW_BY_ROW):
        return False
    return not any(isinstance(n, exp.AggFunc | exp.Window) for n in walk(node))


def _output_names(node: exp.Expression) -> list[str] | None:
    """The column names a query block outputs, or None when a `*` hides them."""
    if not isinstance(node, exp.Select):
        return None
    names: list[str] = []
    for item in node.expressions:
        if _is_star(item):
            return None
        names.append(
            identifier_name(item.args.get("alias"))
            if isinstance(item, exp.Alias)
            else identifier_name(item.this)
            if isinstance(item, exp.Column)
            else ""
        )
    return names


def projection_item(
    node: exp.Expression, column: str, index: int | None = None
) -> exp.Expression | None:
    """The select-list item that outputs `column` (by position when `index` is given)."""
    if not isinstance(node, exp.Select):
        return None
    items = node.expressions
    if index is not None:
        stars = [i for i in items if _is_star(i)]
        if stars:
            return stars[0] if len(items) == 1 else None
        return items[index] if index < len(items) else None
    for item in items:
        if isinstance(item, exp.Alias) and identifier_name(item.args.get("alias")) == column:
            return item
        if (
            isinstance(item, exp.Column)
            and not isinstance(item.this, exp.Star)
            and identifier_name(item.this) == column
        ):
            return item
    star = [i for i in items if _is_star(i)]
    return star[0] if len(star) == 1 else None


def _is_star(item: exp.Expression) -> bool:
    """`*` or `t.*` in a select list."""
    return isinstance(item, exp.Star) or (
        isinstance(item, exp.Column) and isinstance(item.this, exp.Star)
    )


def _label(block: Block) -> str:
    """How a finding names a block: 'CTE "recent"', 'a subquery in the WHERE of …'."""
    node = block.node
    if block.parent is None and block.root:
        return f"the {block.kind} statement"
    holder = node.parent
    branch = ""
    while isinstance(holder, exp.SetOperation | exp.Paren):
        if not branch:
            branches = set_branches(holder)
            position = next((i for i, b in enumerate(branches) if b is node), None)
            if position is not None:
                branch = f"branch {position + 1} of {holder.key.upper()} in "
        holder = holder.parent
    if isinstance(holder, exp.CTE):
        return f'{branch}CTE "{_alias_name(holder)}"'
    if isinstance(holder, exp.Subquery):
        lateral = holder.parent
        name = _alias_name(holder) or (
            _alias_name(lateral) if isinstance(lateral, exp.Lateral) else ""
        )
        if isinstance(lateral, exp.Lateral):
            return f'{branch}LATERAL subquery "{name}"'
        if name:
            return f'{branch}derived table "{name}"'
    if isinstance(holder, exp.Insert | exp.Copy):
        return f"{branch}the query of the {holder.key.upper()}"
    if branch and holder is None:
        return branch.removesuffix(" in ") + " of the statement"
    return f"{branch}a subquery in {_clause_of(node, block.parent)}"


def _clause_of(node: exp.Expression, parent: Block | None) -> str:
    """Where in its enclosing block a subquery sits: 'the WHERE of the SELECT statement'."""
    if parent is None:
        return "the statement"
    current: exp.Expr = node
    while current.parent is not None and current.parent is not parent.node:
        current = current.parent
    clause = _CLAUSES.get(current.arg_key or "", (current.arg_key or "").upper())
    return f"the {clause} of {parent.label}"


def build_proof(tree: exp.Expression, policy: Policy) -> tuple[Proof, _Builder]:
    builder = _Builder(tree, policy)
    return builder.build(), builder
