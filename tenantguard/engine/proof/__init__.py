"""The tenant proof (DESIGN.md §1): is every reference to a tenant table pinned to one tenant?

For each query block, for each source that reads tenant rows: is it pinned? The package reads
in layers, each a module that can be read alone:

- `model`: the records — blocks, sources, facts, pin values, the proof;
- `syntax` and `values`: reading sqlglot trees, and what a pinning value is;
- `blocks`: the blocks of a statement, their sources and filters, and PostgreSQL's scoping;
- `names`: which source a column reference belongs to;
- `facts`: what each filtering conjunct says of tenant columns;
- `projections`: what a block outputs as its tenant column;
- `solve`: which sources end up pinned, and to which value.

Everything walks the tree with explicit stacks: depth comes from user input.
"""

from __future__ import annotations

from sqlglot import exp

from tenantguard.engine.policy import Policy
from tenantguard.engine.proof.blocks import DDL_TYPES, Model
from tenantguard.engine.proof.facts import SEVERAL, SHARED, FactCollector, values_column_pin
from tenantguard.engine.proof.model import (
    Block,
    Fact,
    PinValue,
    Proof,
    Role,
    Source,
    SourceKind,
    Span,
)
from tenantguard.engine.proof.names import Names, output_names
from tenantguard.engine.proof.projections import Projections, projection_item
from tenantguard.engine.proof.solve import Solver
from tenantguard.engine.proof.syntax import (
    conflict_key_names,
    conjuncts,
    function_name,
    identifier_name,
    is_default_keyword,
    is_table_name,
    positional_item,
    set_branches,
    walk,
)
from tenantguard.engine.proof.values import as_integer, pin_value

__all__ = [
    "Analysis",
    "Block",
    "Fact",
    "PinValue",
    "Proof",
    "Role",
    "Source",
    "SourceKind",
    "Span",
    "build_proof",
    "conflict_key_names",
    "conjuncts",
    "function_name",
    "identifier_name",
    "output_names",
    "pin_value",
    "projection_item",
    "set_branches",
    "walk",
]

_NOT_TENANTS = (SEVERAL, SHARED)


class ParameterUses:
    """What costs._retyped_parameter reads of one statement's tree, kept for the statement
    (s41: each pin asked it again per failing expression, and walked the whole tree): its
    answers by pin conjunct, each node's root, the parameters' uses by name, and those of a
    name that may type it numeric against a pin's columns. Each entry keeps the node it is
    about (an id is reused only once its node is gone)."""

    __slots__ = ("answers", "columns", "equivalences", "named", "retyping", "roots")

    def __init__(self) -> None:
        self.answers: dict[int, tuple[exp.Expr, bool]] = {}
        self.roots: dict[int, tuple[exp.Expr, exp.Expr]] = {}  # by node: (node, root)
        self.named: dict[int, dict[str, list[exp.Expr]]] = {}  # by root (kept in `roots`)
        self.retyping: dict[tuple[int, str, type, frozenset[str]], list[exp.Expr]] = {}
        # a VALUES list's column: the ids of its rows whose item may type it numeric
        self.columns: dict[tuple[int, int], tuple[exp.Expr, set[int]]] = {}
        self.equivalences: dict[tuple[int, bool], tuple[exp.Expr, bool]] = {}  # costs._equivalence


class Analysis:
    """One statement's proof in the making: the model, name resolution, projections and the
    solver, kept together for the rules that ask more of it (TG002, TG013)."""

    __slots__ = ("facts", "model", "names", "parameters", "policy", "projections", "tree")

    def __init__(self, tree: exp.Expression, policy: Policy, *, lossy_columns: bool = True) -> None:
        self.tree = tree
        self.policy = policy
        self.model = Model(tree, policy, lossy_columns=lossy_columns)
        self.names = Names(policy, frozenset(self.model.renamed), reads_root=self.model.reads_root)
        self.projections = Projections(self.model, self.names)
        self.facts = FactCollector(self.model, self.names)
        self.parameters = ParameterUses()  # what costs reads of the parameters, kept (s41)

    @property
    def block_of(self) -> dict[int, Block]:
        return self.model.block_of

    def resolve(
        self, block: Block | None, column: exp.Column, visible: Span | None = None
    ) -> Source | None:
        return self.names.resolve(block, column, visible)

    def projection_pinned(self, block: Block, column: str, index: int | None = None) -> bool:
        return self.projections.projection_pinned(block, column, index)

    def projected_value(
        self, block: Block, column: str, index: int | None = None
    ) -> PinValue | None:
        return self.projections.projected_value(block, column, index)

    def build(self) -> Proof:
        model = self.model
        self.facts.collect()
        self.projections.set_operation_facts()  # INTERSECT, EXCEPT (a look per block)
        inserts = model.index.get(exp.Insert, [])
        solver = Solver(model, self.projections)
        solver.solve()
        # only RETURNING and ON CONFLICT read an INSERT's target; one INSERT's RETURNING may
        # feed another INSERT's query
        readable = [i for i in inserts if i.args.get("returning") or i.args.get("conflict")]
        for _ in range(len(readable)):
            pinned = self._pin_insert_targets(readable)
            if not pinned:
                break
            solver.solve_more(pinned)
        unread = model.unread_ctes()  # their rows reach no one: nothing to pin
        references = [
            source
            for block in model.blocks
            for source in block.every_source
            if source.kind is SourceKind.TABLE
            and source.tenant
            and not (unread and model.inside(block.node, unread))
        ]
        if any(not r.pinned for r in references):  # only a finding (or explain) reads them
            self.facts.near_misses()
        # the operands of DDL are TG007's business; queries inside DDL (CREATE VIEW … AS
        # SELECT) are blocks like any other
        ddl = isinstance(self.tree, DDL_TYPES)
        handled = model.handled
        unplaced: list[exp.Expression] = [
            t
            for t in model.tenant_nodes
            if id(t) not in handled and not ddl and model.cte_definition(t) is None
        ]
        unplaced += [c for c in model.tenant_calls if id(c) not in handled and not ddl]
        if unread:
            unplaced = [u for u in unplaced if not model.inside(u, unread)]
        root = self.tree
        while isinstance(root, exp.Subquery | exp.Paren):
            root = root.this
        for block in model.blocks:  # the statement's own block; a set operation has none
            block.root = block.node is root
        insert_values = self._insert_values(inserts)
        pins, compared = self._pins(insert_values)
        return Proof(
            self.tree,
            model.blocks,
            references,
            unplaced,
            handled,
            [v for v, _ in insert_values],
            model.index,
            bool(model.tenant_nodes or model.tenant_calls),
            pins,
            compared,
        )

    def release(self) -> None:
        """Breaks the cycles between the statement's records once nothing reads them (a block
        holds its sources, each source points back at its block; a source holds its facts,
        each fact names its source): refcounting frees them as the statement ends, instead of
        the collector finding them among the next trees' nodes."""
        for block in self.model.blocks:
            for source in block.every_source:
                source.facts.clear()
                source.near_misses.clear()
                source.body.clear()
                source.pinned_by = None  # a fact names the source it pins
            block.sources.clear()
            block.every_source.clear()
            block.filters.clear()
            block.on_scopes.clear()
            block.named.clear()
            block.owners.clear()
            block.merged.clear()
            block.full_merged.clear()
            block.join_aliases.clear()
            block.join_lists.clear()
            block.using_aliases.clear()
            block.outer_joins.clear()
            block.outer = None
        self.names.forget()
        self.model.blocks.clear()
        self.model.block_of.clear()
        self.model.readers.clear()
        self.model.source_of_node.clear()

    # INSERT

    def _insert_columns(self, node: exp.Expression) -> list[str] | None:
        target = node.this
        if isinstance(target, exp.Schema):
            return [identifier_name(c) for c in target.expressions]
        if isinstance(target, exp.Tuple):  # MERGE … THEN INSERT (cols) VALUES (…)
            return [
                identifier_name(c.this if isinstance(c, exp.Column) else c)
                for c in target.expressions
            ]
        return None

    @staticmethod
    def _written_table(node: exp.Expression) -> exp.Table | None:
        """The table node an INSERT (or a MERGE's INSERT: the MERGE's target) writes."""
        target = node.this
        if isinstance(node, exp.Insert) and (target is None or isinstance(target, exp.Tuple)):
            # `MERGE … THEN INSERT [(cols)] VALUES (…)`: the MERGE's target
            merge = node.find_ancestor(exp.Merge)
            target = merge.this if merge is not None else None
        if isinstance(target, exp.Schema):
            target = target.this
        return target if isinstance(target, exp.Table) else None

    @classmethod
    def insert_target(cls, node: exp.Expression) -> str | None:
        """The name of the table an INSERT (or a MERGE's INSERT) writes."""
        target = cls._written_table(node)
        if target is None or not is_table_name(target):
            return None
        return identifier_name(target.this)

    def insert_place(self, node: exp.Expression, columns: list[str] | None) -> int | None:
        """Where an INSERT gives the tenant column its value: by its column list
        (`tenant_position`), or — with none — the tenant column's place among its target
        table's columns where the schema sources show their order (round 35, h35B; never a
        view's: its columns are the view's business); None when that cannot be told."""
        if columns is not None:
            return self.tenant_position(node, columns)
        target = self.insert_target(node)
        if target is None or target in self.policy.write_views:
            return None
        homes = self.policy.homed_tenant_places.get(target)
        if homes:  # a name of several schemas: the one written (h36B2)
            schema = self.insert_schema(node)
            return homes.get(schema) if schema is not None else None
        return self.policy.tenant_places.get(target)

    def insert_schema(self, node: exp.Expression) -> str | None:
        """The schema of the table an INSERT writes: the one it names (not one of another
        database), else the one the search path reads (`Policy.resolved_schema`)."""
        target = self._written_table(node)
        if target is None or target.args.get("catalog") is not None:
            return None
        name = identifier_name(target.this)
        db = target.args.get("db")
        if db is not None:
            return identifier_name(db)
        return self.policy.resolved_schema(name)

    def tenant_position(self, node: exp.Expression, columns: list[str]) -> int | None:
        """Where an INSERT's column list gives the tenant column its value: the tenant column's
        place, or — when the list leaves it out and the target's tenant column is generated as
        a copy of one column (`GENERATED ALWAYS AS (owner)`) — that column's; None when it
        gives it none."""
        column = self.policy.tenant_column
        if column in columns:
            return columns.index(column)
        copies = self.policy.tenant_copies
        if copies:
            copied = copies.get(self.insert_target(node) or "")
            if copied is not None and copied in columns:
                return columns.index(copied)
        return None

    def default_pin(self, node: exp.Expression) -> PinValue | None:
        """The tenant value an INSERT (or a MERGE's INSERT) that leaves the tenant column out
        writes: the tenant expression its target's column defaults to (schema sources), unless
        the statement changes the setting the expression reads."""
        defaults = self.policy.tenant_defaults
        if not defaults:
            return None
        target = self.insert_target(node)
        index = defaults.get(target) if target is not None else None
        if index is None or self.model.sets_tenant_setting():
            return None
        return PinValue("expression", index)

    def written_value(self, node: exp.Expression, item: exp.Expression) -> PinValue | None:
        """The pinning value an item of an INSERT's VALUES row writes: the item's own, or for
        the keyword `DEFAULT` the tenant expression the target's column defaults to (None when
        it defaults to anything else: `DEFAULT 2` writes another tenant's rows). Not for a
        target whose tenant column is generated: the item may be the copied column's."""
        if is_default_keyword(item):
            copies = self.policy.tenant_copies
            if copies and self.insert_target(node) in copies:
                return None
            return self.default_pin(node)
        return self.model.pin_value(item)

    def _insert_rows(self, node: exp.Expression) -> list[list[exp.Expression]] | None:
        """The items of each VALUES row, or None for an INSERT … SELECT."""
        rows = node.expression
        while isinstance(rows, exp.Subquery | exp.Paren):
            rows = rows.this
        if isinstance(rows, exp.Values | exp.Tuple):
            tuples = rows.expressions if isinstance(rows, exp.Values) else [rows]
            return [r.expressions if isinstance(r, exp.Tuple) else [r] for r in tuples]
        return None

    def _insert_values(
        self, inserts: list[exp.Expression]
    ) -> list[tuple[PinValue, exp.Expression]]:
        """The values written into tenant columns: VALUES rows, INSERT … SELECT projections,
        MERGE INSERT values — what the runtime must compare with the request's tenant."""
        values: list[tuple[PinValue, exp.Expression]] = []
        for node in inserts:
            columns = self._insert_columns(node)
            index = self.insert_place(node, columns)
            if node.args.get("default") or (columns is not None and index is None):
                default = self.default_pin(node)
                if default is not None:
                    values.append((default, node))
                continue
            if index is None:
                continue
            rows = self._insert_rows(node)
            located: list[tuple[list[exp.Expression], Block | None]]
            if rows is None:
                query = node.expression
                located = [
                    (list(b.expressions), self.model.block_of.get(id(b)))
                    for b in set_branches(query) if isinstance(b, exp.Select)
                ] if query is not None else []  # fmt: skip
            else:  # a MERGE INSERT's values may name the MERGE source's columns
                merge = node.find_ancestor(exp.Merge)
                block = self.model.block_of.get(id(merge)) if merge is not None else None
                located = [(items, block) for items in rows]
            for items, block in located:
                item = positional_item(items, index)  # none past an expanded `x.*`
                if item is not None:
                    bare = item.this if isinstance(item, exp.Alias) else item
                    value = self.written_value(node, bare) or values_column_pin(
                        self.model, self.names, block, bare
                    )
                    if value is not None:
                        values.append((value, item))
        return values

    def insert_value(self, node: exp.Insert) -> PinValue | None:
        """The one tenant value every row of an INSERT writes, or None."""
        column = self.policy.tenant_column
        columns = self._insert_columns(node)
        index = self.insert_place(node, columns)
        if node.args.get("default") or (columns is not None and index is None):
            return self.default_pin(node)  # `DEFAULT VALUES`, or the column left out
        if index is None:
            return None
        rows = self._insert_rows(node)
        found: list[PinValue | None] = []
        if rows is not None:
            found = [
                self.written_value(node, item)
                if (item := positional_item(r, index)) is not None
                else None
                for r in rows
            ]
        elif node.expression is not None:
            for branch in set_branches(node.expression):
                block = self.model.block_of.get(id(branch))
                found.append(
                    self.projections.projected_value(block, column, index) if block else None
                )
        if not found or any(v is None for v in found) or len(set(found)) != 1:
            return None
        return found[0]

    def _pin_insert_targets(self, inserts: list[exp.Expression]) -> list[Source]:
        """Pins an INSERT's target (what RETURNING and ON CONFLICT read) and `excluded` to the
        one value its rows carry. The target's rows include, under `DO UPDATE`, the existing row
        the conflict found: the same tenant only when the conflict target has the tenant column."""
        changed: list[Source] = []
        for node in inserts:
            block = self.model.block_of.get(id(node))
            if block is None or not isinstance(node, exp.Insert):
                continue
            value = self.insert_value(node)
            if value is None:
                continue
            conflict = node.args.get("conflict")
            updates = (
                isinstance(conflict, exp.OnConflict)
                and "UPDATE" in str(conflict.args.get("action") or "").upper()
            )
            for source in block.every_source:
                if source.pinned:
                    continue
                if source.name == "excluded" and source.node is conflict:
                    clause = "the row proposed for insertion"
                elif source.role is Role.TARGET:
                    if updates and not self._conflict_has_tenant(node.args["conflict"]):
                        continue
                    clause = "the rows the INSERT writes"
                else:
                    continue
                fact = Fact(source, node, clause, value=value)
                source.facts.append(fact)
                changed.append(source)
        return changed

    def _conflict_has_tenant(self, conflict: exp.Expression) -> bool:
        column = self.policy.tenant_column
        constraint = conflict.args.get("constraint")
        if constraint is not None:
            return self.policy.constraint_has_tenant(identifier_name(constraint))
        return column in conflict_key_names(conflict)

    # what the statement pins

    def _pins(
        self, insert_values: list[tuple[PinValue, exp.Expression]]
    ) -> tuple[list[tuple[PinValue, exp.Expression]], list[PinValue]]:
        """Every tenant value the statement pins (TG012: they must all be one), and every value
        it compares with a tenant column anywhere (the runtime checks those it can)."""
        pins: list[tuple[PinValue, exp.Expression]] = []
        compared: list[PinValue] = []
        root = self.policy.tenant_root
        column = self.policy.tenant_column
        integer_tables = self.policy.integer_tenant_tables
        setting_pinned = self.policy.setting_pinned
        one_expression = len(self.policy.tenant_expressions) == 1
        for block in self.model.blocks:
            for source in block.every_source:
                relevant = (
                    source.tenant
                    or source.kind in (SourceKind.DERIVED, SourceKind.CTE, SourceKind.VALUES)
                    or source.role is Role.TARGET
                    or (source.table is not None and source.table == root)
                )
                integer = source.table is not None and source.table in integer_tables
                name = _relation_name(source) if setting_pinned else None
                if name is not None and not source.tenant and name in setting_pinned:
                    pins.append((_setting_pin(name, one_expression, self.policy), source.node))
                for fact in source.facts:
                    value = fact.value
                    if value is None or value in _NOT_TENANTS or fact.pushed:
                        continue
                    if integer and value.kind == "literal":
                        value = as_integer(value)  # `' 1'`, `'+1'` on a bigint: tenant 1
                    compared.append(value)
                    if relevant:
                        pins.append((value, fact.conjunct))
                if source.kind in (SourceKind.DERIVED, SourceKind.CTE) and source.body:
                    found, index = self.projections.branch_index(source)
                    if not found:
                        continue
                    for body in source.body:
                        item, owner = self.projections.item_and_owner(
                            body, source.tenant_name or column, index
                        )
                        value = (
                            self.model.pin_value(item)
                            if item is not None and owner is None
                            else None
                        )
                        if value is not None:
                            pins.append((value, item))  # type: ignore[arg-type]
                            compared.append(value)
        if setting_pinned:
            # every call of one: outside FROM (`SELECT my_count()`: no source of its own), or
            # in `ROWS FROM (my_tasks())` (the source is the ROWS FROM)
            for call in self.model.tree.find_all(exp.Anonymous):
                name = identifier_name(call.this)
                if name in setting_pinned:
                    pins.append((_setting_pin(name, one_expression, self.policy), call))
        for value, node in insert_values:
            pins.append((value, node))
            compared.append(value)
        return pins, compared


def _setting_pin(name: str, one_expression: bool, policy: Policy) -> PinValue:
    """The pin of a read of a view or function pinned inside by the tenant setting: to the one
    tenant expression; of several, the one every query of it pins (`setting_indices`), or
    where that is not known, equal to no other pin but a read of the same relation (two
    relations may be pinned by two settings)."""
    if one_expression:
        return PinValue("expression", 0)
    index = policy.setting_indices.get(name)
    return PinValue("expression", f"the setting that pins {name}" if index is None else index)


def _relation_name(source: Source) -> str | None:
    """The table, view or function a FROM item reads (`f()` in FROM: the function's name)."""
    if source.table is not None:
        return source.table
    node = source.node
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous):
        return identifier_name(node.this.this)
    return None


def build_proof(
    tree: exp.Expression, policy: Policy, *, lossy_columns: bool = True
) -> tuple[Proof, Analysis]:
    """The proof of `tree`; `lossy_columns=False` when a screen of the text showed that it
    names none of `policy.lossy_columns`."""
    analysis = Analysis(tree, policy, lossy_columns=lossy_columns)
    proof = analysis.build()
    if analysis.facts.obligations and not analysis.facts.kept():
        # a key followed into a recursive CTE's anchor, whose recursive branches do not pass
        # it from rows pinned alike: proven again without following any
        analysis.release()
        analysis = Analysis(tree, policy, lossy_columns=lossy_columns)
        analysis.facts.follow_recursion = False
        proof = analysis.build()
    return proof, analysis
