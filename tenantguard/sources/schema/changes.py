"""Renames and drops (`_Changes`): `ALTER … RENAME` of tables, columns, views, functions,
constraints and schemas (with the views and calls bound to the old names), and `DROP`.

A layer of `SchemaInfo` on `tables`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from tenantguard.sources.schema.nodes import (
    _KEY_ONLY,
    _body_texts,
    _body_trees,
    _calls,
    _cte_names,
    _enum,
    _ordered_outputs,
    _range_vars,
    _relations_read,
    _relname,
    _schema_of,
    _strings,
    _type_key,
    namesake_functions,
)
from tenantguard.sources.schema.records import TriggerInfo, ViewInfo, WriteRule, _Renamed
from tenantguard.sources.schema.tables import _Tables


class _Changes(_Tables):
    """Renames and drops."""

    def _rename(self, node: Any, text: str, path: str) -> None:
        from pglast.enums import ObjectType

        kind = _enum(node.renameType)
        new = str(node.newname)
        if kind in (ObjectType.OBJECT_DOMAIN, ObjectType.OBJECT_TYPE):
            self.doubt_types(new, *list(_strings(node.object))[-1:])
            for was in list(_strings(node.object))[-1:]:  # its CHECKs: under both names
                if was in self.domain_calls:
                    self.domain_calls.setdefault(new, set()).update(self.domain_calls[was])
                if was in self._domain_bases:
                    self._domain_bases.setdefault(new, self._domain_bases[was])
                if was in self._domain_defaults:  # its default goes with it
                    self._domain_defaults.setdefault(new, self._domain_defaults[was])
        if kind == ObjectType.OBJECT_SCHEMA and node.subname:
            self._schema_renamed(str(node.subname), new)
            return
        if kind == ObjectType.OBJECT_FOREIGN_TABLE:
            kind = ObjectType.OBJECT_TABLE  # ALTER FOREIGN TABLE … RENAME TO: a table's rename
        if (
            kind == ObjectType.OBJECT_TABLE
            and node.relation is not None
            and _relname(node.relation) in self.views
        ):
            # ALTER TABLE renames a view (or materialized view) too; a table of that name in
            # another schema keeps both read under the new name (fail closed)
            if _relname(node.relation) not in self.columns:
                kind = ObjectType.OBJECT_VIEW
            else:
                view = self.views[_relname(node.relation)]
                self._add_view(_Renamed(new, node.relation.schemaname), view)
        if kind == ObjectType.OBJECT_TABLE and node.relation is not None:
            old = _relname(node.relation)
            self._heaps.discard(old)  # (and the new name is none: fail closed)
            self._rebind_views(old, new, node.relation.schemaname)
            # a name another schema has already: both tables are read under it (the search
            # path decides), so what the renamed one brings is added to the namesake's, as
            # CREATE TABLE of a namesake does (round 33, h33i: its columns replaced the
            # namesake's, and a tenant table lost its tenant column)
            namesake = self._defined(_Renamed(new, node.relation.schemaname))
            if namesake:
                self._no_defaults.add(new)
                self.defaults.pop(new, None)
            self._copy_loose(old, new)  # the old name stays marked: fail closed
            self._row_slots.setdefault(new, set()).update(self._row_slots.get(old, ()))
            self.like_sources.setdefault(new, set()).update(self.like_sources.get(old, ()))
            if old in self.row_changers:
                self.row_changers.add(new)  # (the old name too)
            self._copy_generated(old, new, expressions=False)  # read under its new name
            self.copies.pop(old, None)
            self.copies.pop(new, None)
            self.traits.pop(new, None)
            moved_traits = self.traits.pop(old, None)
            self.order.pop(new, None)
            for what, called in self.implicit_calls.get(old, {}).items():  # kept under both
                self.implicit_calls.setdefault(new, {}).setdefault(what, set()).update(called)
            if self._shared(node.relation):  # the same name in another schema stays
                if old in self.columns:
                    self.columns.setdefault(new, set()).update(self.columns[old])
                return
            if old in self.order:
                self.order[new] = self.order.pop(old)
            self.relation_schemas.pop(old, None)
            self.defaults.pop(new, None)  # left by ALTER TABLE IF EXISTS of a missing table
            self._forget_kin(new)
            moved = self.defaults.pop(old, None)
            if moved is not None and new not in self._no_defaults:
                self.defaults[new] = moved
            if moved_traits is not None and new not in self._no_defaults:
                self.traits[new] = moved_traits
            if namesake:  # (its unique and foreign keys are doubted: `settle_keys`)
                self.columns.setdefault(new, set()).update(self.columns.pop(old, set()))
                self.unique_keys.setdefault(new, []).extend(self.unique_keys.pop(old, []))
                self.spanning.setdefault(new, {}).update(self.spanning.pop(old, {}))
                self.foreign_keys.setdefault(new, []).extend(self.foreign_keys.pop(old, []))
            else:
                if old in self.columns:
                    self.columns[new] = self.columns.pop(old)
                if old in self.unique_keys:
                    self.unique_keys[new] = self.unique_keys.pop(old)
                if old in self.spanning:
                    self.spanning[new] = self.spanning.pop(old)
                if old in self.foreign_keys:
                    self.foreign_keys[new] = self.foreign_keys.pop(old)
            for keys in self.foreign_keys.values():
                for key in keys:
                    if key.ref_table == old:
                        key.ref_table = new
            if namesake:
                self.children.setdefault(new, set()).update(self.children.pop(old, set()))
            elif old in self.children:
                self.children[new] = self.children.pop(old)
            if old in self.filled:
                self.filled[new] = self.filled.pop(old)
            fired: list[TriggerInfo | WriteRule] = [*self.triggers, *self.write_rules]
            for one in fired:
                if one.relation == old:
                    one.relation = new
            for related in (*self.children.values(), *self.typed.values()):
                if old in related:
                    related.discard(old)
                    related.add(new)
        elif (
            kind
            in (
                ObjectType.OBJECT_FUNCTION,
                ObjectType.OBJECT_PROCEDURE,
                ObjectType.OBJECT_ROUTINE,
            )
            and node.object is not None
        ):
            self._rename_function(node.object, new)
            self._doubtful_functions.update(
                [new, *list(_strings(getattr(node.object, "objname", None)))[-1:]]
            )
        elif kind == ObjectType.OBJECT_TYPE and node.object:
            old = str(node.object[-1].sval)
            if old in self.types:
                self.types[new] = self.types.pop(old)
            self._row_slots.setdefault(new, set()).update(self._row_slots.get(old, ()))
            if old in self.typed:
                self.typed[new] = self.typed.pop(old)
        elif kind == ObjectType.OBJECT_ATTRIBUTE and node.relation is not None and node.subname:
            type_name = _relname(node.relation)  # ALTER TYPE … RENAME ATTRIBUTE … CASCADE
            attributes = self.types.get(type_name)
            if attributes is not None and node.subname in attributes:
                attributes.discard(str(node.subname))
                attributes.add(new)
            for table in self._of_type(type_name):
                self._rename_column(table, str(node.subname), new)
        elif kind in (ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW) and node.relation:
            old = _relname(node.relation)
            self._rebind_views(old, new, node.relation.schemaname)
            if old in self.views:
                view = self.views[old]
                moved = None
                if not self._shared(node.relation):
                    del self.views[old]
                    self.relation_schemas.pop(old, None)
                    moved = self.defaults.pop(old, None)
                self.defaults.pop(new, None)
                self._add_view(_Renamed(new, node.relation.schemaname), view)
                if old in self.materialized:
                    self.materialized.add(new)
                if old in self.stale_views:
                    self.stale_views.add(new)  # the old name stays marked too: fail closed
                if moved is not None and not self._shared(_Renamed(new, node.relation.schemaname)):
                    self.defaults[new] = moved  # the view's defaults go with it
        elif kind == ObjectType.OBJECT_COLUMN and node.relation is not None and node.subname:
            table = _relname(node.relation)
            if table in self.views:  # ALTER VIEW|TABLE v RENAME COLUMN: its output's name
                self._rename_view_column(table, str(node.subname), new, node.relation)
            if node.subname in self.lossy_columns:  # the type goes with the column
                self.lossy_columns.add(new)
            if self._shared(node.relation):  # the same name in another schema keeps its column
                self.columns.setdefault(table, set()).add(new)
                return
            for renamed in (table, *self._descendants(table)):  # inherited columns follow
                self._rename_column(renamed, str(node.subname), new)
        elif kind == ObjectType.OBJECT_TABCONSTRAINT and node.subname:
            owner = _relname(node.relation) if node.relation is not None else None
            self._rename_key(owner, str(node.subname), new)
            for keys in self.foreign_keys.values():  # a table the reader knows otherwise
                for key in keys:
                    if key.name == str(node.subname):
                        key.name = new
        elif kind == ObjectType.OBJECT_INDEX and node.relation is not None:
            self._rename_key(None, _relname(node.relation), new)
        elif kind in (ObjectType.OBJECT_TRIGGER, ObjectType.OBJECT_RULE) and node.relation:
            relation = _relname(node.relation)
            named: list[TriggerInfo | WriteRule] = [*self.triggers, *self.write_rules]
            for one in named:
                if one.relation == relation and one.name == node.subname:
                    one.name = new

    def _rebind_views(self, old: str, new: str, schema: str | None) -> None:
        """`ALTER TABLE|VIEW old RENAME TO new`: a view reading `old` is bound to that relation,
        not to its name — it reads `new` from now on. Its query is rewritten so; one that
        names a CTE `old` too (which of its `old`s is which is not told here) is stale."""
        from pglast.stream import RawStream

        for name, view in list(self.views.items()):
            trees = _body_trees([view.query])
            if trees is None:
                self.stale_views.add(name)  # fail closed
                continue
            tree = trees[0]
            if old not in _relations_read(tree):
                continue
            if old in _cte_names(tree):
                self.stale_views.add(name)
                continue
            for relation in _range_vars(tree):
                if relation.relname == old and relation.schemaname in (None, schema or "public"):
                    relation.relname = new
            self.views[name] = ViewInfo(RawStream()(tree), view.columns)
        for rule in self.write_rules:
            trees = _body_trees(rule.actions)
            if trees is None or any(
                old in _relations_read(tree) and old in _cte_names(tree) for tree in trees
            ):
                rule.stale = rule.stale or any(old in a for a in rule.actions)
                continue
            for tree in trees:
                for relation in _range_vars(tree):
                    if relation.relname == old and relation.schemaname in (
                        None,
                        schema or "public",
                    ):
                        relation.relname = new
            rule.actions = _body_texts(rule.actions, trees)
        for name in self.bound_functions:
            info = self.functions.get(name)
            if info is None:
                continue
            trees = _body_trees(info.body)
            if trees is None:
                if any(old in s for s in info.body):
                    self._unbind(name)
                continue
            if not any(old in _relations_read(tree) for tree in trees):
                continue
            if info.overloads or any(old in _cte_names(tree) for tree in trees):
                self._unbind(name)  # which body, or which `old`, is not told apart
                continue
            for tree in trees:
                for relation in _range_vars(tree):
                    if relation.relname == old and relation.schemaname in (
                        None,
                        schema or "public",
                    ):
                        relation.relname = new
            self.functions[name] = replace(info, body=_body_texts(info.body, trees))

    def _rebind_calls(self, old: str, new: str, schema: str) -> None:
        """`ALTER FUNCTION old(…) RENAME TO new`: a view, or a function bound when made, calls
        the function it was bound to — `new` from now on (a new `old` is another function)."""
        from pglast import ast
        from pglast.stream import RawStream

        def renamed(trees: list[Any]) -> bool:
            found = False
            for tree in trees:
                for call in _calls(tree):
                    parts = [str(getattr(n, "sval", "")) for n in call.funcname]
                    if parts[-1] == old and (len(parts) == 1 or parts[-2] == schema):
                        call.funcname = (*call.funcname[:-1], ast.String(sval=new))
                        found = True
            return found

        for name, view in list(self.views.items()):
            trees = _body_trees([view.query])
            if trees is None:
                self.stale_views.add(name)  # fail closed
            elif renamed(trees):
                self.views[name] = ViewInfo(RawStream()(trees[0]), view.columns)
        for rule in self.write_rules:
            trees = _body_trees(rule.actions)
            if trees is None:
                rule.stale = rule.stale or any(old in a for a in rule.actions)
            elif renamed(trees):
                rule.actions = _body_texts(rule.actions, trees)
        for defaults in (*self.defaults.values(), *self.generated_calls.values()):
            # a column default (or generated column) calls by oid too
            for column, text in list(defaults.items()):
                trees = _body_trees([f"SELECT {text}"]) if old in text else None
                if trees is not None and renamed(trees):
                    defaults[column] = RawStream()(trees[0])[len("SELECT ") :]
        renamed(list(self._domain_defaults.values()))  # nodes, printed when read
        called_sets = [
            *(f for c in self.implicit_calls.values() for f in c.values()),
            *self.domain_calls.values(),
            *self.aggregate_calls.values(),
        ]
        for called in called_sets:  # called by oid: the renamed function (and any new `old`)
            if old in called:
                called.add(new)
        for name in self.bound_functions:
            info = self.functions.get(name)
            if info is None or name == old:
                continue
            trees = _body_trees(info.body)
            if trees is None:
                if any(old in s for s in info.body):
                    self._unbind(name)
            elif renamed(trees):
                self.functions[name] = replace(info, body=_body_texts(info.body, trees))

    def _rename_view_column(self, name: str, old: str, new: str, relation: Any) -> None:
        """A view's output column renamed: its column list says so (a view whose outputs are
        not all in sight, or of a name in two schemas, is stale: pinned by nothing)."""
        view = self.views[name]
        given = list(view.columns or ())
        outputs = _ordered_outputs(view.query)
        if outputs is not None and len(outputs) >= len(given):
            names = given + outputs[len(given) :]
        elif old in given:
            names = given
        else:
            self.stale_views.add(name)
            return
        if self._shared(relation) or names.count(old) != 1:
            self.stale_views.add(name)
            return
        self.views[name] = ViewInfo(view.query, [new if n == old else n for n in names])

    def _unbind(self, function: str) -> None:
        """A function bound to a column renamed since (or to relations not told apart): its
        body is read as text that cannot be read (naming a tenant table hands out every
        tenant's rows; no parameter pins it)."""
        info = self.functions[function]
        opaque = " ".join([info.opaque, *info.body]).strip()
        self.functions[function] = replace(info, body=[], opaque=opaque)

    def _rename_function(self, target: Any, new: str) -> None:
        """`ALTER FUNCTION f(…) RENAME TO g`: the body moves to `g` (beside any `g` already
        there, read as overloads); overloads of `f` left behind keep `f` read as before. A
        trigger function moves with its triggers (they call it by its oid, not its name)."""
        names = getattr(target, "objname", None) or ()
        old = str(names[-1].sval) if names else ""
        self._rebind_calls(old, new, _schema_of(names))
        if old in self._function_texts:  # what its text names goes with it
            self._function_texts.setdefault(new, []).extend(self._function_texts[old])
        if old in self.trigger_functions:
            self.trigger_functions[new] = self.trigger_functions.pop(old)
            self.new_fields[new] = self.new_fields.pop(old, set())
            for trigger in self.triggers:
                if trigger.function == old:
                    trigger.function = new
        info = self.functions.get(old)
        if info is None:
            return
        schema = _schema_of(names)
        seen = self.signatures.get(old, set())
        if target.args_unspecified:  # the one function of that name in that schema
            moved = {s for s in seen if s[0] == schema}
        else:
            moved = {(schema, tuple(_type_key(t) for t in target.objargs or ()))}
        seen -= moved
        if not seen:
            self.functions.pop(old, None)
            self.signatures.pop(old, None)
        landed = self.signatures.setdefault(new, set())
        landed |= moved
        if old in self.row_returns:  # which of them returned rows is not told apart
            self.row_returns.setdefault(new, set()).update(self.row_returns[old])
        if old in self.declared_outputs:
            self.declared_outputs.add(new)
        if old in self.bound_functions:
            self.bound_functions.add(new)
        # several bodies under `f` were one unreadable body: the one moved is not told apart
        self.functions[new] = (
            info if len(landed) == 1 else namesake_functions(self.functions.get(new), info)
        )

    def _rename_column(self, table: str, old: str, new: str) -> None:
        for name, view in self.views.items():
            trees = _body_trees([view.query])
            if trees is None or table in _relations_read(trees[0]):
                self.stale_views.add(name)
        for name in self.bound_functions:
            info = self.functions.get(name)
            if info is None:
                continue
            trees = _body_trees(info.body)
            if trees is None or any(table in _relations_read(tree) for tree in trees):
                self._unbind(name)
        for rule in self.write_rules:
            trees = _body_trees(rule.actions)
            if rule.relation == table or trees is None:
                rule.stale = True  # NEW and OLD are rows of `table` too
            elif any(table in _relations_read(tree) for tree in trees):
                rule.stale = True
        self._drop_traits(table, old)  # children rename theirs too: forgotten, not followed
        self._drop_traits(table, new)
        self._forget_copies(table, old, new)
        for read in self.generated.get(table, {}).values():
            if old in read:
                read.add(new)  # the expression reads the column under its new name (the old
                # name stays marked too: fail closed)
        generated = self.generated.get(table)
        if generated is not None and old in generated:
            generated.setdefault(new, set()).update(generated[old])
        defaults = self.defaults.get(table)
        if defaults is not None:
            moved = defaults.pop(old, None)
            defaults.pop(new, None)
            if moved is not None:
                defaults[new] = moved
        columns = self.columns.get(table)
        if columns is not None and old in columns:
            columns.discard(old)
            columns.add(new)
        if table in self.order:  # the column keeps its place
            self.order[table] = [new if c == old else c for c in self.order[table]]
        loose = self.loose.get(table)
        if loose is not None and old in loose:
            loose.add(new)  # the old name stays marked too: fail closed

        def renamed(names: Iterable[str]) -> tuple[str, ...]:
            return tuple(new if n == old else n for n in names)

        if table in self.unique_keys:
            self.unique_keys[table] = [frozenset(renamed(k)) for k in self.unique_keys[table]]
        if table in self.spanning:
            self.spanning[table] = {
                n: frozenset(renamed(k)) for n, k in self.spanning[table].items()
            }
        for key in self.foreign_keys.get(table, []):
            key.columns = renamed(key.columns)
        for keys in self.foreign_keys.values():
            for key in keys:
                if key.ref_table == table:
                    key.ref_columns = renamed(key.ref_columns)

    def _drop(self, node: Any, text: str, path: str) -> None:
        from pglast.enums import DropBehavior, ObjectType

        kind = _enum(node.removeType)
        for target in node.objects or ():
            if kind in (ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN):
                names = getattr(target, "names", None) or ()
                if names:
                    if kind == ObjectType.OBJECT_TYPE:
                        self.types.pop(str(names[-1].sval), None)
                    self.doubt_types(str(names[-1].sval))
                continue
            if kind == ObjectType.OBJECT_FUNCTION:
                names = getattr(target, "objname", None) or ()
                if names:
                    name = str(names[-1].sval)
                    seen = self.signatures.get(name, set())
                    if target.args_unspecified:
                        seen.clear()
                    else:
                        types = tuple(_type_key(t) for t in target.objargs or ())
                        seen.discard((_schema_of(names), types))
                    # the overloads left stay read as one body that cannot be read
                    if not seen:
                        self.functions.pop(name, None)
                        self.signatures.pop(name, None)
                        self.row_returns.pop(name, None)
                        self.declared_outputs.discard(name)
                        self.bound_functions.discard(name)
                continue
            if kind == ObjectType.OBJECT_SCHEMA:  # DROP SCHEMA s [CASCADE]
                cascade = _enum(node.behavior) == DropBehavior.DROP_CASCADE
                self._schema_gone(str(getattr(target, "sval", "")), cascade)
                continue
            names = list(_strings(target)) if isinstance(target, tuple) else []
            if not names:
                continue
            name = names[-1]
            if kind in (ObjectType.OBJECT_TRIGGER, ObjectType.OBJECT_RULE) and len(names) > 1:
                relation, dropped = names[-2], names[-1]
                if kind == ObjectType.OBJECT_TRIGGER:
                    self.triggers = [
                        t
                        for t in self.triggers
                        if not (t.relation == relation and t.name == dropped)
                    ]
                else:
                    self.write_rules = [
                        r
                        for r in self.write_rules
                        if not (r.relation == relation and r.name == dropped)
                    ]
                continue
            if kind == ObjectType.OBJECT_INDEX:
                cascade = _enum(node.behavior) == DropBehavior.DROP_CASCADE
                if name in self._key_names:
                    self._drop_key(name, None, cascade)
                elif name not in self._indexes:  # named by PostgreSQL otherwise than guessed
                    self._forget_guessed(None, cascade, indexes_only=True)
                else:  # a partial unique index (no key of the table) goes from `spanning` too
                    for checked in self.spanning.values():
                        checked.pop(name, None)
                        checked.pop(name + _KEY_ONLY, None)
                self._indexes.discard(name)
                continue
            schemas = self.relation_schemas.get(name, set())
            schemas.discard(names[-2] if len(names) > 1 else "public")
            if schemas:  # the same name in another schema stays, read as both
                continue
            self._forget_relation(name, kind)

    def _forget_relation(self, name: str, kind: Any) -> None:
        """A table or view gone from every schema."""
        from pglast.enums import ObjectType

        self._mixed.discard(name)
        if kind in (ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW):
            self.views.pop(name, None)
            self.materialized.discard(name)
            self.stale_views.discard(name)
            self.defaults.pop(name, None)  # ALTER VIEW … SET DEFAULT goes with the view
        elif kind == ObjectType.OBJECT_TABLE:
            for gone in self._named.pop(name, set()):  # its constraints went with it
                if not any(gone in names for names in self._named.values()):
                    self.constraints.pop(gone, None)
            self.constraints.pop(f"{name}_pkey", None)
            self.columns.pop(name, None)
            self.order.pop(name, None)
            self.unique_keys.pop(name, None)
            self.spanning.pop(name, None)
            self.foreign_keys.pop(name, None)
            self._forget_references(name, None)  # CASCADE took them (or the DROP failed)
            self.filled.pop(name, None)
            self._partitions.discard(name)
            self._heaps.discard(name)
            self.defaults.pop(name, None)
            self.traits.pop(name, None)
            self.copies.pop(name, None)
            self._forget_kin(name)
