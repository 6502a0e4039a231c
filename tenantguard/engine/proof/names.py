"""Name resolution: the source a column reference belongs to, as PostgreSQL decides it.

A column is looked up level by level, innermost first: in its own block, among the sources the
clause it sits in can see (an ON sees the two sides it joins); then in each enclosing block,
among the sources that block shows to the one nested in it (see `blocks`). A qualified column
binds to the first level with a source of that name; an unqualified one to the first level where
some source has the column — more than one there is ambiguous. Whatever cannot be told for sure
is unresolved, and an unresolved column pins nothing.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlglot import exp

from tenantguard.engine.policy import Policy
from tenantguard.engine.proof.model import Block, Role, Source, SourceKind, Span
from tenantguard.engine.proof.syntax import defined_columns, identifier_name, is_star, subclasses
from tenantguard.engine.proof.values import (
    _ROW_CALLS,
    column_side,
    integer_cast_width,
    integer_column_side,
    own_type_column_side,
    varchar_cast_length,
)

__all__ = ["Names", "could_own", "known_columns", "output_names"]

_MISSING = object()
# values with no column under them: `tenant_column_owner` answers None for them at once (the
# other side of most pins, `tenant_id = $1`) — every reading it tries looks through casts,
# parentheses and collations only, and finds none of those here
_NO_COLUMN = subclasses(exp.Parameter, exp.Placeholder, exp.Literal, exp.Null, exp.Boolean)


def output_names(node: exp.Expression) -> list[str] | None:
    """The column names a query block outputs (a DML block: its RETURNING), or None when a `*`
    hides them."""
    items = projection_items(node)
    if items is None:
        return None
    names: list[str] = []
    for item in items:
        if is_star(item):
            return None
        names.append(
            identifier_name(item.args.get("alias"))
            if isinstance(item, exp.Alias)
            else identifier_name(item.this)
            if isinstance(item, exp.Column)
            else figured_name(item)
        )
    return names


# what PostgreSQL names an unaliased item of these kinds (FigureColnameInternal)
_FIXED_NAMES: tuple[tuple[type[exp.Expression], str], ...] = (
    (exp.Case, "case"),
    (exp.Array, "array"),
    (exp.Exists, "exists"),
    (exp.Coalesce, "coalesce"),
    (exp.Greatest, "greatest"),
    (exp.Least, "least"),
    (exp.Nullif, "nullif"),
)


def figured_name(item: exp.Expression) -> str:
    """The name PostgreSQL gives an unaliased select-list item (parse_target.c, FigureColname):
    a column's or a field's name, through parentheses, casts, collations and subscripts (a
    cast of something unnamed: the type's name); a scalar or ARRAY subquery's item's; a
    function's; `case`, `array`…; `?column?` for the rest. `(g.tenant_id)` and
    `(SELECT $1 AS tenant_id)` are columns named tenant_id."""
    while True:
        if isinstance(item, exp.Paren | exp.Bracket | exp.Collate):
            item = item.this
        elif isinstance(item, exp.Column):
            return identifier_name(item.this) if isinstance(item.this, exp.Identifier) else ""
        elif isinstance(item, exp.Dot):
            field = item.expression
            return identifier_name(field) if isinstance(field, exp.Identifier) else "?column?"
        elif isinstance(item, exp.Cast):
            name = figured_name(item.this)
            if name != "?column?":
                return name
            to = item.args.get("to")
            return to.sql(dialect="postgres").lower() if isinstance(to, exp.DataType) else name
        elif isinstance(item, exp.Subquery):
            query: exp.Expression | None = item.this
            while isinstance(query, exp.SetOperation | exp.Subquery | exp.Paren):
                query = query.this  # the leftmost branch names the columns
            names = output_names(query) if query is not None else None
            return names[0] if names else "?column?"
        elif isinstance(item, exp.Anonymous):
            return (
                identifier_name(item.this)
                if isinstance(item.this, exp.Identifier)
                else (str(item.this).lower())
            )
        else:
            for kind, name in _FIXED_NAMES:
                if isinstance(item, kind):
                    return name
            if isinstance(item, exp.Func):
                return item.sql_name().lower()
            return "?column?"


def projection_items(node: exp.Expression) -> list[exp.Expression] | None:
    """The select list of a SELECT, the RETURNING list of a DML block; None for anything else."""
    if isinstance(node, exp.Select):
        return list(node.expressions)
    if isinstance(node, exp.Insert | exp.Update | exp.Delete | exp.Merge):
        returning = node.args.get("returning")
        return list(returning.expressions) if isinstance(returning, exp.Returning) else None
    return None


def _unlisted(policy: Policy, source: Source) -> Collection[str] | None:
    """The columns `source` may have besides those its column list names: a list of bare names
    renames a table's first columns only (`users AS u(x)`: `email` and `tenant_id` keep their
    names), in an order the schema's column sets do not tell — so any of the table's columns,
    every name for a table the schema does not show (None). Nothing for a column definition
    list (`AS f(a int)`: every column), nor for a list as long as the table's columns (round 28,
    outside review h28a). A derived table's or CTE's list is completed from its body where
    built (`_renamed`), unless a `*` there hides the body's names: then any (None); a
    function's where its source is built."""
    if source.kind in (SourceKind.DERIVED, SourceKind.CTE):
        return None if not source.body or source.body[0].outputs is None else ()
    if source.kind is not SourceKind.TABLE or defined_columns(source.node):
        return ()
    listed = source.column_names or ()
    known = policy.columns_of(source.table) if source.table is not None else None
    if known is None:
        return None
    return known if len(listed) < len(known) else ()


def known_columns(policy: Policy, source: Source) -> Collection[str] | None:
    """Every column `source` has: those its alias list names (when they are all: `_unlisted`),
    its table's (the schema's), a derived table's or CTE's (first) branch's output names; None
    when they are not known (a `*`, a table the schema does not show, a function's row)."""
    if source.column_names is not None:
        return source.column_names if _unlisted(policy, source) == () else None
    if source.kind is SourceKind.TABLE and source.table is not None:
        return policy.columns_of(source.table)
    if source.kind in (SourceKind.DERIVED, SourceKind.CTE) and source.body:
        return source.body[0].outputs
    return None


# the system columns every table has (PostgreSQL refuses a user column of these names)
SYSTEM_COLUMNS = frozenset(("ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"))


def could_own(policy: Policy, source: Source, column: str) -> bool:
    """May `source` have a column of that name? Yes when unknown (conservative). Never a call
    outside FROM (`SELECT f(tenant_id) FROM t`): it is no FROM item, whose columns a name
    could mean."""
    if source.role is Role.CALL:
        return False
    if source.column_names is not None:
        if column in source.column_names:
            return True
        unlisted = _unlisted(policy, source)
        return unlisted is None or column in unlisted
    if source.kind is SourceKind.TABLE and source.table is not None:
        known = policy.columns_of(source.table)
        # a table's system columns are no column of its list: no user column takes their names
        return column in known or column in SYSTEM_COLUMNS if known is not None else True
    if source.kind in (SourceKind.DERIVED, SourceKind.CTE) and source.body:
        names = source.body[0].outputs
        return names is None or column in names
    if source.kind is SourceKind.VALUES:
        return True  # `VALUES` without a column list names its columns column1, column2…
    if source.kind is SourceKind.OTHER and source.lateral:
        return True  # a function in FROM whose columns are not known (a row type's)
    return not source.name or column == source.name


def _seen(sources: list[Source], scope: Span, block: Block) -> list[Source]:
    """Those of `block`'s `sources` that `scope` shows (`s in scope`, without the call)."""
    if scope.block is not block:
        return [s for s in sources if s in scope]
    start, end = scope.start, scope.end
    return [s for s in sources if start <= s.index < end]


class Names:
    """Resolves column references of one statement's blocks."""

    __slots__ = ("_resolved", "policy", "renamed", "root", "root_key", "tenant_col")

    def __init__(
        self, policy: Policy, renamed: frozenset[str] = frozenset(), *, reads_root: bool = True
    ) -> None:
        """`reads_root`: may a source of the statement be the tenant registry (`tenant_root`)?
        When none can, its key owns nothing (Model.reads_root)."""
        self.policy = policy
        self.tenant_col = policy.tenant_column
        # names under which a derived table or CTE outputs its tenant column (Source.tenant_name)
        self.renamed = renamed
        self.root = policy.tenant_root if reads_root else None
        self.root_key = policy.tenant_root_key
        # `resolve`'s answers: the facts, the projections and the solver ask for the same
        # column in the same place again and again (a third of the calls). Keyed by the ids of
        # the block, the column and the span, which the entry holds alive (so their ids name
        # no other object meanwhile); the blocks' sources do not change once the model is built
        self._resolved: dict[
            tuple[int, int, int],
            tuple[Block | None, exp.Expression, Span | None, Source | None],
        ] = {}

    def forget(self) -> None:
        """Drops the answers kept (the statement's records are being freed)."""
        self._resolved.clear()

    def resolve(
        self,
        block: Block | None,
        column: exp.Column,
        visible: Span | None = None,
        name: str | None = None,
    ) -> Source | None:
        """The source `column` belongs to, or None when it cannot be told for sure.

        `visible`: the sources of `block` the clause holding the column can see (None: all);
        `name`: the column's folded name (`identifier_name(column.this)`), when the caller has
        it already.
        """
        key = (id(block), id(column), id(visible))
        known = self._resolved.get(key)
        if known is not None:
            return known[3]
        args = column.args
        table, db = args.get("table"), args.get("db")
        qualifier = identifier_name(table) if table is not None else ""
        schema = identifier_name(db) if db is not None else ""
        if name is None:
            name = identifier_name(args.get("this"))
        found = self._resolve(block, visible, qualifier, name, schema)
        self._resolved[key] = (block, column, visible, found)
        return found

    def _resolve(
        self, block: Block | None, visible: Span | None, qualifier: str, name: str, schema: str
    ) -> Source | None:
        scope = visible
        while block is not None:
            found = self._in_level(block, scope, qualifier, name, schema)
            if found is not _MISSING:
                return found  # type: ignore[return-value]
            scope = block.outer
            block = block.parent
        return None

    def _in_level(
        self, block: Block, scope: Span | None, qualifier: str, name: str, schema: str = ""
    ) -> object:
        if scope is not None and scope.end <= scope.start:
            return _MISSING  # this level shows nothing (a derived table's parent)
        if qualifier:
            if block.using_aliases and qualifier in block.using_aliases:
                return self._using_alias(block, scope, qualifier, name)
            group = block.join_aliases.get(qualifier) if block.join_aliases else None
            if group is not None and (scope is None or all(s in scope for s in group)):
                if block.join_lists and any(
                    a == qualifier or any(s in group for s in block.join_aliases[a])
                    for a in block.join_lists
                ):
                    return None  # `AS j(x, y)` renames the join's columns by position
                merged = block.merged.get(name) if block.merged else None
                if merged is not None and all(s in group for s in merged[1]):
                    return merged[0]  # `(a JOIN b USING (x)) AS j`: `j.x` is the merged column
                # `(a JOIN b) AS j`: `j.col` is the one side that has the column
                owners = [s for s in group if could_own(self.policy, s, name)]
                return owners[0] if len(owners) == 1 else None
            matches = block.named.get(qualifier, ())
            if scope is not None and matches:
                matches = _seen(matches, scope, block)
            if len(matches) > 1:
                return None  # a name given twice: PostgreSQL refuses it, the proof cannot tell
            if not matches:
                return _MISSING
            if schema:
                return self._schema_match(matches[0], schema)
            return matches[0]
        if block.join_lists and self._renamed_by_a_join_list(block, scope, name):
            return None
        merged = block.merged.get(name) if block.merged else None
        if merged is not None:
            owner, merging = merged
            if scope is None or all(s in scope for s in merging):
                return owner  # the column of a JOIN … USING / NATURAL JOIN
        known = block.owners.get(name)
        if known is None:  # the same name is asked for again and again: once per block
            policy = self.policy
            known = [s for s in block.every_source if could_own(policy, s, name)]
            block.owners[name] = known
        owners = known
        if scope is not None and owners:
            owners = _seen(owners, scope, block)
        if len(owners) > 1:
            owners = self._surely_owned(owners, name)
        if len(owners) == 1:
            return owners[0] if owners[0].name not in block.ambiguous else None
        return None if owners else _MISSING

    def _surely_owned(self, owners: list[Source], name: str) -> list[Source]:
        """`FROM patients p, unnest(p.tags) t WHERE tenant_id = $1`: of the sources one level
        shows that may have a column of that name, one surely has it (the schema shows its
        columns) and the others are functions of unknown columns (a row type's, maybe). Were
        one of those to have it too, PostgreSQL would refuse the reference as ambiguous; a
        statement that runs names the one that surely has it (round 28, outside review h28a:
        an unnest of a column is no longer read as surely scalar). Otherwise `owners`."""
        policy = self.policy
        sure = [s for s in owners if name in (known_columns(policy, s) or ())]
        if len(sure) == 1 and all(
            s is sure[0] or (s.kind is SourceKind.OTHER and s.lateral) for s in owners
        ):
            return sure
        return owners

    def _renamed_by_a_join_list(self, block: Block, scope: Span | None, name: str) -> bool:
        """An unqualified name that may be a column of `(a JOIN b) AS j(x, y)`: one the list
        gives, or one of a joined table's (which the list may have renamed: by position)."""
        for alias, listed in block.join_lists.items():
            group = block.join_aliases[alias]
            if scope is not None and not all(s in scope for s in group):
                continue
            if name in listed or any(could_own(self.policy, s, name) for s in group):
                return True
        return False

    @staticmethod
    def _using_alias(block: Block, scope: Span | None, qualifier: str, name: str) -> object:
        """`j.x` of `JOIN … USING (x) AS j`: the merged column's owner, when `j` is the one source
        of that name the clause can see; None when the name is given twice (PostgreSQL refuses
        it) or `x` is not in the USING list."""
        aliases = block.using_aliases[qualifier]
        seen = [
            (owners, joined)
            for owners, joined in aliases
            if scope is None or all(s in scope for s in joined)
        ]
        if not seen:
            return _MISSING
        if len(seen) > 1 or qualifier in block.named or qualifier in block.join_aliases:
            return None
        return seen[0][0].get(name)

    def _schema_match(self, source: Source, schema: str) -> object:
        """`schema.table.col` names the table of that schema, read without an alias; a FROM
        item of another schema (or an alias) is not it, and one without a schema is it when
        the search path reads its name in that schema (round 35, h35B: `FROM cards WHERE
        public.cards.org = $1`, the sources holding `cards` in public alone), not when it
        reads another's; unresolved when that cannot be told."""
        node = source.node
        if not isinstance(node, exp.Table) or node.args.get("alias") is not None:
            return _MISSING
        written = identifier_name(node.args.get("db"))
        if not written:
            if node.args.get("catalog"):
                return None
            written = self.policy.resolved_schema(identifier_name(node.this)) or ""
            if not written:
                return None
        return source if written == schema else _MISSING

    def tenant_column_owner(
        self, block: Block, node: exp.Expression, visible: Span | None = None
    ) -> Source | None:
        """The source whose tenant column `node` is (under parentheses and casts to text), or
        the tenant root whose key it is; None for anything else.

        A table renamed by position (`t AS a(x, y)`) proves nothing by name.
        """
        # `tenant_id::bigint`: exact only on a column of an integer type at most as wide as the
        # narrowest integer cast (0: no cast; WIDE: casts to numeric or text)
        integer_cast = 0
        if type(node) is not exp.Column:
            if type(node) in _NO_COLUMN:
                return None
            bare = column_side(node)
            if type(bare) is exp.Dot:
                return self._field_owner(block, bare, visible, integer_cast)
            if type(bare) is exp.Anonymous:
                return self._call_owner(block, bare, visible, integer_cast)
            if type(bare) is not exp.Column:
                bare = integer_column_side(node)
                integer_cast = integer_cast_width(node)
                if type(bare) is exp.Dot:
                    return self._field_owner(block, bare, visible, integer_cast)
                if type(bare) is exp.Anonymous:
                    return self._call_owner(block, bare, visible, integer_cast)
                if type(bare) is not exp.Column:
                    return self._own_type_owner(block, node, visible)
            node = bare
        if type(node.this) is not exp.Identifier:
            return None
        name = identifier_name(node.this)
        if name == self.tenant_col:
            owner = self.resolve(block, node, visible, name)
            if owner is not None and owner.tenant_name is not None:
                return None  # its tenant column is under another name: this one is something else
            return self._tenant_owner(owner, integer_cast)
        if name in self.renamed:
            owner = self.resolve(block, node, visible, name)
            if owner is not None and owner.tenant_name == name:
                return self._tenant_owner(owner, integer_cast)
        if self.root is not None and name == self.root_key and not integer_cast:
            owner = self.resolve(block, node, visible, name)
            if (
                owner is not None
                and owner.kind is SourceKind.TABLE
                and owner.table == self.root
                and owner.column_names is None
            ):
                return owner
        return None

    def _own_type_owner(
        self, block: Block, node: exp.Expression, visible: Span | None
    ) -> Source | None:
        """`org::uuid` of a uuid column, `code::text` of a text one, `org::uuid` of a column of an
        exact domain over uuid (round 35, h35B): a cast of a table's tenant column to its very
        type (or a domain's to its base type) is the column's value. Not a cast to a domain (its
        CHECK runs on every row) nor to another type (`text::uuid` folds case, fails on others'
        rows); a column whose type the schema is not sure of proves nothing."""
        bare, kind = own_type_column_side(node)
        if kind == "uuid" and type(bare) is not exp.Column:
            # `org::text::uuid` of a uuid column: its text is the canonical spelling, which the
            # input of uuid reads back as that very uuid (round 42, h42A)
            inner = column_side(bare)
            if type(inner) is exp.Column and inner is not bare:
                bare = inner
        length: int | None = None
        if kind is None:
            # `org::varchar(40)` of a varchar(40) (or shorter) column: nothing is cut (h36B)
            cut = varchar_cast_length(node)
            if cut is not None:
                bare, length = cut
                kind = "varchar"
        if kind is None or type(bare) is not exp.Column or type(bare.this) is not exp.Identifier:
            return None
        name = identifier_name(bare.this)
        if name != self.tenant_col:
            return None
        owner = self.resolve(block, bare, visible, name)
        if owner is None or owner.kind is not SourceKind.TABLE or owner.table is None:
            return None
        if owner.tenant_name is not None:
            return None
        declared = self.policy.tenant_column_types.get(owner.table)
        if declared is not None and declared.startswith("domain:"):
            domain = self.policy.exact_domains.get(declared[len("domain:") :])
            declared = domain[1] if domain is not None else None
        if declared != kind:
            return None
        if length is not None:
            held = self.policy.tenant_column_lengths.get(owner.table)
            if held is None or held > length:
                return None
        return self._tenant_owner(owner, False)

    def _width(self, table: str) -> int:
        """The width of `table`'s tenant column's integer type (a domain's: its base's); the
        widest, int8's, when the schema is not sure of it."""
        declared = self.policy.tenant_column_types.get(table)
        if declared is not None and declared.startswith("domain:"):
            domain = self.policy.exact_domains.get(declared[len("domain:") :])
            declared = domain[1] if domain is not None else None
        return {"int2": 2, "int4": 4}.get(declared or "", 8)

    def _field_owner(
        self, block: Block, node: exp.Dot, visible: Span | None, integer_cast: int
    ) -> Source | None:
        """`(p).tenant_id` (or `(p.*).tenant_id`): the field of the row variable p, which is
        `p.tenant_id` — unless a source some level can see may have a column named p: then
        PostgreSQL reads `(p)` as that column (a composite's field), whatever the relations."""
        field, row = node.expression, node.this
        if type(field) is not exp.Identifier or identifier_name(field) != self.tenant_col:
            return None
        if type(row) is not exp.Paren:
            return None
        return self._row_field_owner(block, row, visible, integer_cast)

    def _call_owner(
        self, block: Block, call: exp.Anonymous, visible: Span | None, integer_cast: int
    ) -> Source | None:
        """`tenant_id(p)`, functional notation (round 15): PostgreSQL reads a call of one
        argument of a row type, by an unqualified name no function has, as that column of the
        row — `p.tenant_id`. A function of the schema of that name is called instead: then
        (and for any other shape of call) None."""
        name = call.this
        folded = identifier_name(name) if isinstance(name, exp.Identifier) else str(name).lower()
        if folded != self.tenant_col or folded in self.policy.functions or folded in _ROW_CALLS:
            return None
        if len(call.expressions) != 1 or call.args.get("distinct"):
            return None
        return self._row_field_owner(block, call.expressions[0], visible, integer_cast)

    def _row_field_owner(
        self, block: Block, row: exp.Expression, visible: Span | None, integer_cast: int
    ) -> Source | None:
        """The tenant column of the row variable `row` (`p`, `p.*`, in parentheses)."""
        while type(row) is exp.Paren:
            row = row.this
        if type(row) is not exp.Column or row.args.get("db") or row.args.get("catalog"):
            return None
        target = row.this
        if type(target) is exp.Star:
            qualifier = identifier_name(row.args.get("table"))  # `(p.*)`: the relation
            if not qualifier:
                return None
        elif type(target) is exp.Identifier and not row.args.get("table"):
            qualifier = identifier_name(target)
            if self._may_be_column(block, visible, qualifier):
                return None
        else:
            return None
        owner = self._resolve(block, visible, qualifier, self.tenant_col, "")
        return self._tenant_owner(owner, integer_cast)

    def row_star_qualifier(self, block: Block, star: exp.Expression) -> str | None:
        """The relation whose columns `(p).*` or `(p.*).*` (a Dot of `*`) expands, by its name
        in `block`; None when `p` may be a column (a composite's fields: PostgreSQL looks a
        lone name up as a column first), is qualified (`(t.col).*`) or is anything else."""
        if type(star) is not exp.Dot or type(star.expression) is not exp.Star:
            return None
        row = star.this
        while type(row) is exp.Paren:
            row = row.this
        if type(row) is not exp.Column or row.args.get("db") or row.args.get("catalog"):
            return None
        if type(row.this) is exp.Star:
            return identifier_name(row.args.get("table")) or None
        if type(row.this) is not exp.Identifier or row.args.get("table"):
            return None
        name = identifier_name(row.this)
        return None if self._may_be_column(block, None, name) else name

    def _may_be_column(self, block: Block | None, visible: Span | None, name: str) -> bool:
        """May a source of some level the clause sees have a column `name` (PostgreSQL looks
        a lone name up as a column at every level before it looks for a relation)?"""
        scope = visible
        while block is not None:
            if self._in_level(block, scope, "", name) is not _MISSING:
                return True
            scope = block.outer
            block = block.parent
        return False

    def _tenant_owner(self, owner: Source | None, integer_cast: int) -> Source | None:
        """The source whose tenant column a reference resolved to `owner` is, or None
        (`integer_cast`: the narrowest integer cast's width, 0 for none)."""
        if owner is None:
            return None
        if integer_cast and not (
            owner.kind is SourceKind.TABLE and owner.table in self.policy.integer_tenant_tables
        ):
            return None  # `text_col::int`: ' 1', '01' and '1' meet
        if integer_cast and owner.table is not None and integer_cast < self._width(owner.table):
            return None  # `int4_col::int2`: fails on another tenant's id 40000, before any pin
        if owner.kind is SourceKind.TABLE and owner.column_names is not None:
            return None
        if owner.table is not None and owner.table == self.root and owner.kind is SourceKind.TABLE:
            return None  # the registry's own tenant column (if any) is not its key
        return owner
