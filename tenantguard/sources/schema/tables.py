"""Tables (`_Tables`): `CREATE TABLE` (`LIKE`, `INHERITS`, `PARTITION OF`, `OF type`), foreign
tables, composite types, `CREATE TABLE … AS` and `SELECT INTO`, `ALTER TABLE`, `TRUNCATE`, and
the columns a query (and a row it holds) outputs.

A layer of `SchemaInfo` on `paths`.
"""

from __future__ import annotations

from typing import Any

from tenantguard.sources.schema.nodes import (
    _DEEPEST_VIEW,
    _called_or_cast,
    _calls,
    _columns_read,
    _deferred,
    _enum,
    _expands_rows,
    _flatten,
    _integer_type,
    _length_trait,
    _nodes_named,
    _relations_read,
    _relname,
    _strings,
    _type_trait,
    copied_column,
)
from tenantguard.sources.schema.paths import _Paths
from tenantguard.sources.schema.records import ViewInfo
from tenantguard.sources.schema.texts import _output_columns


class _Tables(_Paths):
    """Tables and the columns queries output."""

    # tables

    def _create_table(self, node: Any, text: str, path: str) -> None:
        table = _relname(node.relation)
        if node.if_not_exists and self._exists(node.relation):
            return  # PostgreSQL skips it: the relation of that name stays as it was
        self.defaults.pop(table, None)  # what an earlier table of this name had is gone
        self.filled.pop(table, None)
        self.traits.pop(table, None)
        self.copies.pop(table, None)
        self._forget_kin(table)
        if self._defined(node.relation):
            self._no_defaults.add(table)
        columns = self.columns.setdefault(table, set())
        if node.ofTypename is not None:  # CREATE TABLE … OF type: the type's attributes
            type_name = str(node.ofTypename.names[-1].sval)
            attributes = self.types.get(type_name)
            if attributes is None:
                self._unknown(
                    text,
                    f"typed table {table} is of type {type_name}, which no schema source "
                    "creates (CREATE TYPE … AS (…)): its columns are unknown; create the type "
                    "in the schema sources, or name the table in tenant_tables",
                )
            else:
                columns |= attributes
                self._row_slots.setdefault(table, set()).update(self._row_slots.get(type_name, ()))
                if self.loose_attributes.get(type_name):
                    self.loose.setdefault(table, set()).update(self.loose_attributes[type_name])
            self.typed.setdefault(type_name, set()).add(table)
        if node.partbound is not None:  # PARTITION OF: its parent's keys are its own
            self._partitions.add(table)
        else:
            self._partitions.discard(table)
        # the columns in order: the parents' first, then its own (and LIKE's) as written
        order: list[str] | None = [] if node.ofTypename is None else None
        self.order.pop(table, None)
        for parent in node.inhRelations or ():  # INHERITS, PARTITION OF
            known = self.order.get(_relname(parent))
            if order is not None and known is not None:
                order.extend(c for c in known if c not in order)
            else:
                order = None
            columns |= self.columns.get(_relname(parent), set())
            self._copy_loose(_relname(parent), table)
            self._copy_generated(_relname(parent), table, expressions=True)
            self.children.setdefault(_relname(parent), set()).add(table)
            self._copy_defaults(_relname(parent), table)  # a column declared again has its own
            self._copy_traits(_relname(parent), table)  # types and NOT NULL are inherited
        if order is not None and len(self.relation_schemas.get(table, ())) <= 1:
            self.order[table] = order
        for element in node.tableElts or ():
            self._table_element(table, columns, element)
        if node.partspec is not None:
            self._implicit(table, "the partition key", node.partspec)
        if node.partspec is None and not node.accessMethod and node.ofTypename is None:
            self._heaps.add(table)
        else:
            self._heaps.discard(table)

    def _foreign_table(self, node: Any, text: str, path: str) -> None:
        self._create_table(node.base, text, path)
        self._heaps.discard(_relname(node.base.relation))  # its ctid is the server's, or none

    def _composite_type(self, node: Any, text: str, path: str) -> None:
        attributes = [c for c in node.coldeflist or () if type(c).__name__ == "ColumnDef"]
        self.types[_relname(node.typevar)] = {str(c.colname) for c in attributes}
        for attribute in attributes:
            self._slot(_relname(node.typevar), attribute.typeName)
        self.loose_attributes[_relname(node.typevar)] = {
            str(c.colname) for c in attributes if self._loose_type(c.typeName, c.collClause)
        }
        self.doubt_types(_relname(node.typevar))
        self.lossy_columns.update(  # a typed table's columns, a `(row).field`
            str(c.colname) for c in attributes if self._lossy_type(c.typeName, c.collClause)
        )

    def _import_foreign_schema(self, node: Any, text: str, path: str) -> None:
        self._unknown(
            text,
            "IMPORT FOREIGN SCHEMA creates foreign tables whose columns no schema source "
            "shows; create them with CREATE FOREIGN TABLE (their columns), or name the tenant "
            "ones in tenant_tables",
        )

    def _prepare(self, node: Any, text: str, path: str) -> None:
        self.prepared[str(node.name)] = node.query

    def _select_into(self, node: Any, text: str, path: str) -> None:
        """`SELECT … INTO [TEMP] t FROM …` creates t with the query's columns."""
        from pglast.stream import RawStream

        leaf = node  # INTO sits on the leftmost branch of a set operation
        while getattr(leaf, "larg", None) is not None and leaf.intoClause is None:
            leaf = leaf.larg
        into = leaf.intoClause
        if into is None:
            if "search_path" in text.lower():
                self._search_path_call(node)
            self._called(node, path)
            return  # a query, not DDL
        leaf.intoClause = None  # printed without it: the query alone
        try:
            query = RawStream()(node)
        finally:
            leaf.intoClause = into
        names = self._query_columns(node, query)
        self._defined(into.rel)  # a name in another schema too: its keys are in doubt
        self.columns.setdefault(_relname(into.rel), set()).update(names or ())
        self.order.pop(_relname(into.rel), None)  # its columns' order: not kept
        self._lossy_outputs(node, list(_strings(into.colNames)) or None)
        self.filled[_relname(into.rel)] = ViewInfo(query, list(_strings(into.colNames)) or None)
        if names and (
            any(self.loose.get(t) for t in _relations_read(node)) or self._loose_query(node)
        ):  # as CREATE TABLE AS: each column keeps its collation and domain
            self.loose.setdefault(_relname(into.rel), set()).update(names)

    def _table_element(self, table: str, columns: set[str], element: Any) -> None:
        from pglast.enums import ConstrType, TableLikeOption

        kind = type(element).__name__
        if kind == "ColumnDef":
            column = str(element.colname)
            columns.add(column)
            if table in self.order and column not in self.order[table]:
                self.order[table].append(column)
            if self._loose_type(element.typeName, element.collClause):
                self.loose.setdefault(table, set()).add(column)
            if self._lossy_type(element.typeName, element.collClause):
                self.lossy_columns.add(column)
            self._set_default(table, column, None)  # ADD COLUMN: a column of its own
            self._of_domain(table, column, element.typeName)
            self._slot(table, element.typeName)
            self.copies.get(table, {}).pop(column, None)  # unless its own expression copies
            constraints = list(element.constraints or ())
            traits = self.traits.setdefault(table, {}).setdefault(column, set())
            if _integer_type(element.typeName):
                traits.add("integer")  # a column declared again in a child keeps its parent's
            typed = _type_trait(element.typeName)
            if typed is not None and not any(t.startswith("type:") for t in traits):
                traits.add(typed)
                traits.update(_length_trait(element.typeName))  # varchar(n): h36B
            if element.is_not_null or any(
                _enum(c.contype)
                in (
                    ConstrType.CONSTR_NOTNULL,
                    ConstrType.CONSTR_PRIMARY,
                    ConstrType.CONSTR_IDENTITY,
                )
                for c in constraints
            ):
                traits.add("not_null")
            for index, constraint in enumerate(constraints):
                contype = _enum(constraint.contype)
                if contype == ConstrType.CONSTR_DEFAULT:
                    self._set_default(table, column, constraint.raw_expr)
                elif contype == ConstrType.CONSTR_GENERATED and constraint.raw_expr is not None:
                    casts = {c for c in _called_or_cast(constraint.raw_expr) if c[:2] == "::"}
                    if casts:  # computed at each write: a domain's CHECK runs (calls: below)
                        what = f"generated column {column}"
                        self.implicit_calls.setdefault(table, {}).setdefault(what, set()).update(
                            casts
                        )
                    read = _columns_read(constraint.raw_expr)
                    self.generated.setdefault(table, {})[column] = read
                    if _calls(constraint.raw_expr):
                        from pglast.stream import RawStream

                        printed = RawStream()(constraint.raw_expr)
                        self.generated_calls.setdefault(table, {})[column] = printed
                    copied = copied_column(constraint.raw_expr)
                    if copied is not None and table not in self._no_defaults:
                        self.copies.setdefault(table, {})[column] = copied
                elif contype == ConstrType.CONSTR_FOREIGN:
                    self._foreign_key(table, constraint, (column,), _deferred(constraints, index))
                else:
                    self._constraint(table, constraint, (column,), _deferred(constraints, index))
        elif kind == "Constraint":
            self._constraint(table, element, None)
        elif kind == "TableLikeClause":
            source = _relname(element.relation)
            self.like_sources.setdefault(table, set()).add(source)
            # LIKE takes a view's, a materialized view's or a composite type's columns too
            columns |= self._row_type_columns(source, 0)
            if source not in self.columns and source not in self.views and source not in self.types:
                # PostgreSQL would refuse it here: the sources create it later (they are read
                # in the order of their file names), or not at all (round 22, helper 108: a
                # history table `LIKE customers` in functions.sql, read before schema.sql,
                # had no tenant column, and its reads passed)
                self._unknown(
                    f"CREATE TABLE {table} (LIKE {source})",
                    f"CREATE TABLE {table} (LIKE {source}): {source} is not created before it "
                    "in the schema sources (read in the order of their file names, each from "
                    f"the top), so the columns of {table} are unknown\ncreate {source} first "
                    "(rename the files so that they sort in the order they run), or list the "
                    "columns",
                )
            known = self.order.get(_relname(element.relation))
            if table in self.order and known is not None:
                self.order[table].extend(c for c in known if c not in self.order[table])
            else:
                self.order.pop(table, None)
            self._copy_traits(_relname(element.relation), table)  # LIKE copies NOT NULL too
            self._copy_loose(_relname(element.relation), table)  # LIKE keeps the collations
            # the expressions only with INCLUDING GENERATED (without: plain columns); the names
            # read, always (fail closed)
            self._copy_generated(
                _relname(element.relation),
                table,
                expressions=bool(
                    element.options
                    & (
                        TableLikeOption.CREATE_TABLE_LIKE_GENERATED
                        | TableLikeOption.CREATE_TABLE_LIKE_ALL
                    )
                ),
            )
            if element.options & (
                TableLikeOption.CREATE_TABLE_LIKE_INDEXES | TableLikeOption.CREATE_TABLE_LIKE_ALL
            ):  # its unique indexes and exclusion constraints, under names of its own
                for name, key in self.spanning.get(source, {}).items():
                    self.spanning.setdefault(table, {})[f"{table} like {name}"] = key
            if element.options & TableLikeOption.CREATE_TABLE_LIKE_DEFAULTS:
                self._copy_defaults(_relname(element.relation), table)
            # INCLUDING CONSTRAINTS / INDEXES copy what they call (whatever the options: kept)
            for what, called in self.implicit_calls.get(_relname(element.relation), {}).items():
                self.implicit_calls.setdefault(table, {}).setdefault(what, set()).update(called)

    def _create_table_as(self, node: Any, text: str, path: str) -> None:
        from pglast.enums import ObjectType
        from pglast.stream import RawStream

        name = _relname(node.into.rel)
        source = node.query
        if type(source).__name__ == "ExecuteStmt":  # CREATE TABLE … AS EXECUTE name
            source = self.prepared.get(str(source.name))
            if source is None:
                self.columns.setdefault(name, set())
                self._unknown(
                    text,
                    f"CREATE TABLE {name} AS EXECUTE runs a prepared statement no schema "
                    "source prepares: its columns are unknown; write the query itself, or "
                    "name the table in tenant_tables",
                )
                return
        query = RawStream()(source)
        self._lossy_outputs(source, list(_strings(node.into.colNames)) or None)
        if _enum(node.objtype) == ObjectType.OBJECT_MATVIEW:
            aliases = list(_strings(node.into.colNames)) or None
            self._add_view(node.into.rel, ViewInfo(query, aliases))
            self.materialized.add(name)  # one of a name in two schemas: read as both
            return
        self._defined(node.into.rel)
        self.filled.pop(name, None)
        if not node.into.skipData:  # WITH NO DATA copies no row
            self.filled[name] = ViewInfo(query, list(_strings(node.into.colNames)) or None)
        names = list(_strings(node.into.colNames))
        if not names:
            names = sorted(self._query_columns(source, query))
        self.columns.setdefault(name, set()).update(names)
        self.order.pop(name, None)  # its columns' order: not kept
        for read in _relations_read(source):  # a row held there may be copied whole (superset)
            self._row_slots.setdefault(name, set()).update(self._row_slots.get(read, ()))
        if any(self.loose.get(t) for t in _relations_read(source)) or self._loose_query(source):
            # a column keeps its collation and domain, under any name: fail closed
            self.loose.setdefault(name, set()).update(names)

    def _query_columns(self, node: Any, query: str, depth: int = 0) -> set[str]:
        """The columns a query outputs — when a `*` or an expression hides them, every column
        of every relation its FROM items read, and the names it gives with AS: more than it
        outputs, never fewer (a source's tenant column makes it a tenant table: fail closed)."""
        outputs = _output_columns(query)
        if outputs is not None:
            return outputs
        names: set[str] = set()
        stack: list[Any] = [node]
        while stack:
            current = stack.pop()
            kind = type(current).__name__
            if kind == "SelectStmt":
                stack.extend(b for b in (current.larg, current.rarg) if b is not None)
                with_clause = current.withClause
                stack.extend(c.ctequery for c in (with_clause.ctes if with_clause else ()) or ())
                stack.extend(current.fromClause or ())
                names.update(str(t.name) for t in current.targetList or () if t.name)
            elif kind == "JoinExpr":
                stack.extend((current.larg, current.rarg))
            elif kind == "RangeSubselect":
                stack.append(current.subquery)
            elif kind == "RangeVar":
                table = _relname(current)
                names |= self.columns.get(table, set())
                view = self.views.get(table)
                if view is not None and depth < _DEEPEST_VIEW:
                    names |= set(view.columns or ()) | self._view_query_columns(view, depth)
            elif kind == "RangeFunction":
                for item in _flatten(current.functions):
                    call = getattr(item, "funcname", None)
                    function = self.functions.get(str(call[-1].sval)) if call else None
                    names |= set(function.columns or ()) if function else set()
        names |= self._named_row_columns(node, depth)
        if _expands_rows(node):
            # `(old).*`, `unnest(h.olds)`, `((NULL::wrap).card).*`: a row a column (or an
            # attribute) holds is expanded, whose type's columns it outputs (round 34, h34K)
            held = _relations_read(node) | {
                str(t.names[-1].sval)
                for t in _nodes_named(node, "TypeName", inside=True)
                if t.names
            }
            names |= self._held_row_columns(held, depth)
        return names

    def _named_row_columns(self, node: Any, depth: int) -> set[str]:
        """The names a query may output that no relation of its FROM items shows (round 34,
        helper A): those of a column alias list (`(SELECT …) s (org)`), of a column definition
        list (`jsonb_to_record(…) AS r (org uuid)`), and the columns of every row type the query
        names (`json_populate_record(NULL::cards, …)`, `unnest(ARRAY[]::cards[])`,
        `(NULL::card_row).*`): a superset (fail closed)."""
        names: set[str] = set()
        for alias in _nodes_named(node, "Alias", inside=True):
            names.update(_strings(alias.colnames))
        for column in _nodes_named(node, "ColumnDef", inside=True):
            names.add(str(column.colname))
        for type_name in _nodes_named(node, "TypeName", inside=True):
            if type_name.names:
                names |= self._row_type_columns(str(type_name.names[-1].sval), depth)
        return names

    def _row_type_columns(self, name: str, depth: int) -> set[str]:
        """The columns of the row type `name`: a table's, a view's (materialized too) or a
        composite type's, or those of the type a domain is over (`CREATE DOMAIN d AS
        card_row`: round 34, h34K); none for any other type."""
        seen = {name}
        while name in self._domain_bases and self._domain_bases[name] not in seen:
            name = self._domain_bases[name]
            seen.add(name)
        names = set(self.columns.get(name, ())) | self.types.get(name, set())
        view = self.views.get(name)
        if view is not None and depth < _DEEPEST_VIEW:
            names |= set(view.columns or ()) | self._view_query_columns(view, depth)
        return names

    def settle_held_rows(self) -> None:
        """Once every source is read: each table's `held_columns` (the tables still there)."""
        self.held_columns = {
            table: held
            for table in self.columns
            if table in self._row_slots and (held := self._held_row_columns({table}, 0))
        }
        self.held_types = {
            table: held
            for table in self.columns
            if table in self._row_slots and (held := self._held_row_types(table))
        }

    def _held_row_types(self, table: str) -> set[str]:
        """The row types a column (or attribute) of `table` is declared of, and those their
        columns hold in turn, domains followed (h42R)."""
        return set(self._reached_row_types({table})) - {table}

    def _reached_row_types(self, owners: set[str]) -> list[str]:
        """The row types a column (or attribute) of `owners` is declared of, and those their
        columns hold in turn, domains followed: each row type as often as a column holds it."""
        reached: list[str] = []
        seen: set[str] = set()
        stack = list(owners)
        while stack:
            owner = stack.pop()
            while owner in self._domain_bases and owner not in seen:
                seen.add(owner)
                owner = self._domain_bases[owner]
            if owner in seen:
                continue
            seen.add(owner)
            for held in self._row_slots.get(owner, ()):
                reached.append(held)
                stack.append(held)
        return reached

    def holding(self, column: str) -> set[str]:
        """Tables without `column` whose columns hold rows of a row type that has it."""
        return {
            table
            for table, held in self.held_columns.items()
            if column in held and column not in self.columns.get(table, ())
        }

    def _held_row_columns(self, owners: set[str], depth: int) -> set[str]:
        """The columns of every row type a column (or attribute) of `owners` is declared of,
        and of the row types their columns hold in turn: what expanding a held row may output
        (a superset)."""
        names: set[str] = set()
        for held in self._reached_row_types(owners):
            names |= self._row_type_columns(held, depth)
        return names

    def _view_query_columns(self, view: ViewInfo, depth: int) -> set[str]:
        from pglast import parse_sql
        from pglast.parser import ParseError

        try:
            parsed = parse_sql(view.query)
        except ParseError:
            return set()
        return self._query_columns(parsed[0].stmt, view.query, depth + 1) if parsed else set()

    def _alter_table(self, node: Any, text: str, path: str) -> None:
        from pglast.enums import AlterTableType, DropBehavior, ObjectType

        if _enum(node.objtype) == ObjectType.OBJECT_TYPE:
            self._alter_type(node)
            return
        table = _relname(node.relation)
        columns = self.columns.setdefault(table, set())
        for command in node.cmds or ():
            subtype = _enum(command.subtype)
            if subtype == AlterTableType.AT_AddColumn and command.def_ is not None:
                if command.missing_ok and str(getattr(command.def_, "colname", "")) in columns:
                    continue  # ADD COLUMN IF NOT EXISTS of a column there: PostgreSQL skips it
                self._table_element(table, columns, command.def_)
                if type(command.def_).__name__ == "ColumnDef":  # inherited by every child
                    for child in self._descendants(table):
                        self._slot(child, command.def_.typeName)
                        if child in self.columns:
                            self.columns[child].add(str(command.def_.colname))
                            if str(command.def_.colname) not in self.order.get(child, [""]):
                                self.order[child].append(str(command.def_.colname))
                            self._copy_generated(table, child, expressions=True)
            elif subtype == AlterTableType.AT_DropColumn and command.name:
                self._drop_traits(table, str(command.name))  # added again, it is another
                self._drop_column_keys(table, str(command.name))
                self._column_domains.pop((table, str(command.name)), None)
                self._forget_copies(table, str(command.name))
                if not self._shared(node.relation):  # another schema's table keeps it
                    columns.discard(str(command.name))
                # PostgreSQL's order skips a dropped column (attnum order, attisdropped rows
                # left out): the table's own order loses it; a child may keep its own (local)
                for changed in self._descendants(table):
                    self.order.pop(changed, None)
                if table in self.order and not self._shared(node.relation):
                    self.order[table] = [c for c in self.order[table] if c != command.name]
                else:
                    self.order.pop(table, None)
                self._set_default(table, str(command.name), None)
            elif subtype == AlterTableType.AT_ColumnDefault and command.name:
                # SET DEFAULT e / DROP DEFAULT: without ONLY, every descendant's too
                heirs = self._descendants(table) if node.relation.inh else set()
                for changed in (table, *heirs):
                    self._set_default(changed, str(command.name), command.def_)
            elif subtype in (AlterTableType.AT_AttachPartition, AlterTableType.AT_DetachPartition):
                child = _relname(command.def_.name)  # a child of this table from now on, or not
                self._inherit(child, table, subtype == AlterTableType.AT_AttachPartition)
                if subtype == AlterTableType.AT_AttachPartition:
                    self._partitions.add(child)
                else:
                    self._partitions.discard(child)
            elif subtype in (AlterTableType.AT_AddInherit, AlterTableType.AT_DropInherit):
                parent = _relname(command.def_)  # ALTER TABLE child [NO] INHERIT parent
                self._inherit(table, parent, subtype == AlterTableType.AT_AddInherit)
            elif subtype == AlterTableType.AT_SetNotNull and command.name:
                heirs = self._descendants(table) if node.relation.inh else set()
                for changed in (table, *heirs):  # children follow, unless ONLY
                    found = self.traits.setdefault(changed, {})
                    found.setdefault(str(command.name), set()).add("not_null")
            elif subtype == AlterTableType.AT_DropNotNull and command.name:
                self._drop_traits(table, str(command.name), "not_null")
            elif subtype in (AlterTableType.AT_DropExpression, AlterTableType.AT_SetExpression):
                self._forget_copies(table, str(command.name))  # no longer (the same) copy
            elif subtype == AlterTableType.AT_AlterColumnType and command.name:
                self._forget_copies(table, str(command.name))
                def_ = command.def_
                self._of_domain(table, str(command.name), def_.typeName)
                for changed in (table, *self._descendants(table)):
                    self._slot(changed, def_.typeName)
                self._drop_traits(table, str(command.name), "integer")
                for changed in (table, *self._descendants(table)):
                    kept = self.traits.get(changed, {}).get(str(command.name))
                    if kept is not None:
                        kept.difference_update(
                            [t for t in kept if t.startswith(("type:", "length:"))]
                        )
                if _integer_type(def_.typeName) and not self._shared(node.relation):
                    for changed in (table, *self._descendants(table)):
                        found = self.traits.setdefault(changed, {})
                        found.setdefault(str(command.name), set()).add("integer")
                typed = _type_trait(def_.typeName)
                if typed is not None and not self._shared(node.relation):
                    for changed in (table, *self._descendants(table)):
                        found = self.traits.setdefault(changed, {})
                        found.setdefault(str(command.name), set()).add(typed)
                        found[str(command.name)].update(_length_trait(def_.typeName))
                loose = self._loose_type(def_.typeName, def_.collClause)
                if self._lossy_type(def_.typeName, def_.collClause):
                    self.lossy_columns.add(str(command.name))
                for changed in (table, *self._descendants(table)):  # children follow
                    if loose:
                        self.loose.setdefault(changed, set()).add(str(command.name))
                    elif not self._shared(node.relation):
                        self.loose.get(changed, set()).discard(str(command.name))
            elif subtype == AlterTableType.AT_AddConstraint and command.def_ is not None:
                self._constraint(table, command.def_, None)
            elif subtype == AlterTableType.AT_DropConstraint and command.name:
                cascade = _enum(command.behavior) == DropBehavior.DROP_CASCADE
                self._drop_constraint(table, str(command.name), cascade)
                self._drop_traits(table, None, "not_null")  # perhaps a primary key's
            elif subtype == AlterTableType.AT_AlterConstraint and command.def_ is not None:
                self._alter_constraint(table, command)
            elif subtype == AlterTableType.AT_DisableTrigAll or (
                # ENABLE REPLICA: the trigger fires only when session_replication_role is
                # replica, so not in an ordinary session: disabled as much as DISABLE
                subtype in (AlterTableType.AT_DisableTrig, AlterTableType.AT_EnableReplicaTrig)
                and str(command.name or "").startswith("RI_ConstraintTrigger")
            ):
                self._unenforced.add(table)  # its foreign keys' checks, either way
            elif subtype == AlterTableType.AT_ValidateConstraint and command.name:
                for key in self.foreign_keys.get(table, []):
                    if key.name == command.name:
                        key.valid = True

    def _truncate(self, node: Any, text: str, path: str) -> None:
        """TRUNCATE of a table a query filled: no copied row is left (CASCADE reaches more)."""
        for relation in node.relations or ():
            self.filled.pop(_relname(relation), None)
