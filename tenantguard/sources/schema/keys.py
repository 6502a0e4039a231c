"""Keys (`_Keys`): unique and primary keys, partial and loose ones, constraint names, foreign keys
(validated, deferred), unique indexes, and what dropping or renaming one takes with it.

A layer of `SchemaInfo` on `domains`.
"""

from __future__ import annotations

from typing import Any

from tenantguard.sources.schema.domains import _Types
from tenantguard.sources.schema.nodes import (
    _EXACT_OPCLASSES,
    _KEY_ONLY,
    _columns_read,
    _enum,
    _index_element_columns,
    _relname,
    _strings,
)
from tenantguard.sources.schema.records import ForeignKeyInfo


class _Keys(_Types):
    """Keys, constraints, foreign keys and unique indexes."""

    def _constraint(
        self, table: str, node: Any, on: tuple[str, ...] | None, deferrable: bool = False
    ) -> None:
        from pglast.enums import ConstrType

        contype = _enum(node.contype)
        if contype in (ConstrType.CONSTR_CHECK, ConstrType.CONSTR_EXCLUSION):
            kind = "CHECK" if contype == ConstrType.CONSTR_CHECK else "EXCLUDE"
            self._implicit(table, f"{kind} constraint {node.conname or '(unnamed)'}", node)
        if contype == ConstrType.CONSTR_FOREIGN:
            columns = tuple(_strings(node.fk_attrs)) or (on or ())
            self._foreign_key(table, node, columns, bool(node.deferrable))
            return
        if contype == ConstrType.CONSTR_EXCLUSION:
            checked = set()
            for element, _ in node.exclusions or ():
                checked |= _index_element_columns(element)
            keyed = set(checked)
            checked |= _columns_read(node.where_clause)
            if checked:
                name = node.conname or f"{table}_{'_'.join(sorted(checked))}_excl"
                self.spanning.setdefault(table, {})[str(name)] = frozenset(checked)
                if keyed and keyed != checked:  # (the WHERE's columns: see `_index`)
                    self.spanning[table][str(name) + _KEY_ONLY] = frozenset(keyed)
        if contype not in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE):
            if node.conname:  # CHECK, EXCLUDE…: a name a DROP CONSTRAINT may give
                self._named.setdefault(table, set()).add(str(node.conname))
            return
        columns = tuple(_strings(node.keys)) or (on or ())
        if not columns and node.indexname:  # `ADD CONSTRAINT uk UNIQUE USING INDEX idx`
            owned = [k for t, k in self._key_names.get(str(node.indexname), []) if t == table]
            columns = tuple(sorted(owned[0])) if len(owned) == 1 else ()
            if not columns and node.conname:  # columns unknown: an older `uk` is not this one
                self.constraints.pop(str(node.conname), None)
        if not columns:
            return
        if contype == ConstrType.CONSTR_PRIMARY:
            name = node.conname or f"{table}_pkey"
            for column in columns:  # a primary key's columns are NOT NULL
                self.traits.setdefault(table, {}).setdefault(column, set()).add("not_null")
        else:
            name = node.conname or f"{table}_{'_'.join(columns)}_key"
        if not node.conname:
            # PostgreSQL's choice when the name is taken (by a constraint or index named so
            # explicitly): the next free of `name1`, `name2`…
            # (only a name of this table's: one of another table may be in another schema,
            # where PostgreSQL keeps the name — the two are then read as one, see below)
            guess, number, mine = name, 0, self._named.get(table, set())
            if len(self.relation_schemas.get(table, ())) > 1:
                mine = set()  # tables of this name in two schemas: which one's name, unknown
            while guess in mine:
                number += 1
                guess = f"{name}{number}"
            name = guess
        if contype == ConstrType.CONSTR_PRIMARY:
            self.primary_keys[table] = str(name)
        before = self.constraints.get(str(name))
        if before is not None and any(
            str(name) in names for owner, names in self._named.items() if owner != table
        ):
            # one name on two tables (in two schemas: the reader does not tell them apart) —
            # `ON CONFLICT ON CONSTRAINT uk` may mean either: only the columns both have
            self.constraints[str(name)] = before & set(columns)
        else:
            self.constraints[str(name)] = set(columns)
        key = frozenset(columns)
        self._name_key(table, str(name), key, guessed=not node.conname, index=True)
        if contype == ConstrType.CONSTR_UNIQUE:  # deferred or not: checked, at commit at last
            self.spanning.setdefault(table, {})[str(name)] = key
        if deferrable or node.deferrable or node.initdeferred:
            if node.indexname:  # `UNIQUE USING INDEX idx DEFERRABLE`: the index is deferred too
                self._drop_key(str(node.indexname), table, cascade=False)
            return  # checked at commit: until then two rows may share the key
        self.unique_keys.setdefault(table, []).append(key)

    def _name_key(
        self, table: str, name: str, key: frozenset[str] | None, *, guessed: bool, index: bool
    ) -> None:
        """Notes a constraint's or a unique index's name (PostgreSQL's choice when `guessed`:
        `t_a_key`, `t_a_b_fkey`, `t_a_idx` — longer or clashing names it chooses otherwise)."""
        self._named.setdefault(table, set()).add(name)
        if index:
            self._indexes.add(name)  # a unique constraint's index has its name
        if key is not None:
            self._key_names.setdefault(name, []).append((table, key))
        if guessed:
            self._guessed.add((table, name))

    def _foreign_key(
        self, table: str, node: Any, columns: tuple[str, ...], deferrable: bool
    ) -> None:
        if node.pktable is None:
            return
        name = str(node.conname or f"{table}_{'_'.join(columns)}_fkey")
        self._name_key(table, name, None, guessed=not node.conname, index=False)
        self.foreign_keys.setdefault(table, []).append(
            ForeignKeyInfo(
                name,
                columns,
                _relname(node.pktable),
                tuple(_strings(node.pk_attrs)),
                valid=not node.skip_validation,
                deferrable=deferrable or bool(getattr(node, "initdeferred", False)),
                on_delete=str(node.fk_del_action or "a"),
                on_update=str(node.fk_upd_action or "a"),
                on_delete_columns=tuple(_strings(getattr(node, "fk_del_set_cols", None))),
            )
        )

    def _drop_constraint(self, table: str, name: str, cascade: bool = False) -> None:
        known = name in self._named.get(table, ()) or name in self.constraints
        dropped = self.constraints.pop(name, None)
        if dropped is not None and table in self.unique_keys and name not in self._key_names:
            keys = self.unique_keys[table]  # a key the schema cache kept without its name
            if frozenset(dropped) in keys:
                keys.remove(frozenset(dropped))
        self._drop_key(name, table, cascade)
        if table in self.foreign_keys:
            self.foreign_keys[table] = [k for k in self.foreign_keys[table] if k.name != name]
        if not known:
            # a name PostgreSQL chose otherwise than guessed (a long or clashing one): every
            # key of this table whose name was a guess may be the one gone
            self._forget_guessed(table, cascade, indexes_only=False)

    # the keys a composite foreign key's pin stands on (round 12)

    def _drop_key(self, name: str, table: str | None, cascade: bool, *, known: bool = True) -> None:
        """A unique key dropped by its constraint's or index's name (on `table`, or any); with
        CASCADE, the foreign keys that referenced those columns go with it. Not `known`: a
        name PostgreSQL chose and the reader guessed, one of which a DROP of an unknown name
        may have removed — gone from the keys a pin stands on, kept in `spanning`."""
        for owner, checked in self.spanning.items():
            if known and (table is None or owner == table):  # (a guess: kept, fail closed)
                checked.pop(name, None)
                checked.pop(name + _KEY_ONLY, None)
        kept: list[tuple[str, frozenset[str]]] = []
        for owner, key in self._key_names.pop(name, []):
            if table is not None and owner != table:
                kept.append((owner, key))
                continue
            keys = self.unique_keys.get(owner, [])
            if key in keys:
                keys.remove(key)
            if cascade:
                self._forget_references(owner, key)
        if kept:
            self._key_names[name] = kept
        self._guessed.discard((table or "", name))

    def _forget_guessed(self, table: str | None, cascade: bool, *, indexes_only: bool) -> None:
        """Drops every key (of `table`, or of any table) whose name PostgreSQL chose: one of
        them is what a DROP of a name the reader does not know removed."""
        for owner, name in sorted(self._guessed):
            if table is not None and owner != table:
                continue
            if indexes_only and name not in self._key_names:
                continue
            self._guessed.discard((owner, name))
            self._drop_key(name, owner, cascade, known=False)
            if owner in self.foreign_keys:
                self.foreign_keys[owner] = [k for k in self.foreign_keys[owner] if k.name != name]

    def _forget_references(self, table: str, columns: frozenset[str] | None) -> None:
        """The foreign keys referencing `table` (on these columns; None: any) are gone."""
        primary = frozenset(self.constraints.get(f"{table}_pkey", ()))
        for owner, keys in self.foreign_keys.items():
            self.foreign_keys[owner] = [
                k
                for k in keys
                if k.ref_table != table
                or (columns is not None and (frozenset(k.ref_columns) or primary) != columns)
            ]

    def _drop_column_keys(self, table: str, column: str) -> None:
        """DROP COLUMN takes the keys on it along: its table's unique and foreign keys that
        hold it, and (CASCADE) the foreign keys of other tables that reference it."""
        if table in self.unique_keys:
            self.unique_keys[table] = [k for k in self.unique_keys[table] if column not in k]
        if table in self.spanning:  # an index goes with any of its columns
            kept = {n: k for n, k in self.spanning[table].items() if column not in k}
            self.spanning[table] = {  # (a key goes with a column of its WHERE too)
                n: k
                for n, k in kept.items()
                if not n.endswith(_KEY_ONLY) or n[: -len(_KEY_ONLY)] in kept
            }
        if table in self.foreign_keys:
            self.foreign_keys[table] = [
                k for k in self.foreign_keys[table] if column not in k.columns
            ]
        primary = self.constraints.get(f"{table}_pkey", set())
        for owner, keys in self.foreign_keys.items():
            self.foreign_keys[owner] = [
                k
                for k in keys
                if k.ref_table != table or column not in (k.ref_columns or tuple(primary))
            ]

    def _rename_key(self, table: str | None, old: str, new: str) -> None:
        """RENAME CONSTRAINT, ALTER INDEX … RENAME: a unique constraint and its index are
        renamed together."""
        if old in self.constraints:
            moved = self.constraints.pop(old)
            before = self.constraints.get(new)
            # a name another table's constraint bears too (in another schema): either may be
            # meant by `ON CONFLICT ON CONSTRAINT new` — only the columns both have
            self.constraints[new] = moved if before is None else before & moved
        for owner, keys in self.spanning.items():
            if old in keys and (table is None or owner == table):
                keys[new] = keys.pop(old)
        for owner, name in list(self.primary_keys.items()):  # (ALTER INDEX t_pkey RENAME too)
            if name == old and (table is None or owner == table):
                self.primary_keys[owner] = new
        if old in self._key_names:
            self._key_names.setdefault(new, []).extend(self._key_names.pop(old))
        if old in self._indexes:
            self._indexes.add(new)
        for owner, name in list(self._guessed):
            if name == old and (table is None or owner == table):
                self._guessed.discard((owner, name))
                self._named.setdefault(owner, set()).add(new)
        if table is not None:
            self._named.setdefault(table, set()).add(new)
            for key in self.foreign_keys.get(table, []):
                if key.name == old:
                    key.name = new

    def _alter_constraint(self, table: str, command: Any) -> None:
        """ALTER CONSTRAINT … [NOT] DEFERRABLE (foreign keys only, in PostgreSQL 15)."""
        change = command.def_
        name = str(getattr(change, "conname", "") or "")
        deferrable = bool(getattr(change, "deferrable", False)) or bool(
            getattr(change, "initdeferred", False)
        )
        found = [k for k in self.foreign_keys.get(table, []) if k.name == name]
        if not found and name not in self._named.get(table, ()):
            guessed = {n for t, n in self._guessed if t == table}
            found = [k for k in self.foreign_keys.get(table, []) if k.name in guessed]
            deferrable = True  # which one is not known: each may be deferred now
        for key in found:
            key.deferrable = deferrable

    def settle_keys(self) -> None:
        """Once every source is read: what a composite foreign key's pin may not stand on. A
        table with children by inheritance (not partitions) is read with their rows, which its
        unique keys do not cover and its foreign keys do not check (PostgreSQL copies neither
        to such a child); a foreign key whose triggers were disabled (DISABLE TRIGGER ALL, or
        its RI_ConstraintTrigger by name, or ENABLE REPLICA: it fires in replica sessions only)
        was not checked on the rows written meanwhile, and enabling them again checks none of
        those. A name in two schemas is read as both (the
        search path decides): the keys of one are not the other's."""
        inherited = {
            table
            for table in self.children
            if any(child not in self._partitions for child in self._descendants(table))
        }
        doubtful = inherited | {t for t, s in self.relation_schemas.items() if len(s) > 1}
        doubtful |= self._mixed
        for table in doubtful:
            self.unique_keys.pop(table, None)
        # a row's place (ctid) tells the row apart in the one heap of a table: not across a
        # partitioned table's partitions or an inheritance tree (each numbers its own pages),
        # so a table read with others' rows (any child, any partition) has no such key
        for table in sorted(self._heaps):
            if (
                table in self.columns
                and table not in doubtful
                and table not in self.views
                and not self.children.get(table)
                and frozenset(("ctid",)) not in self.unique_keys.get(table, [])
            ):
                self.unique_keys.setdefault(table, []).append(frozenset(("ctid",)))
        for table, keys in self.foreign_keys.items():
            for key in keys:
                if (
                    self._replica
                    or table in doubtful
                    or key.ref_table in doubtful
                    or table in self._unenforced
                    or key.ref_table in self._unenforced
                ):
                    key.valid = False

    def _index(self, node: Any, text: str, path: str) -> None:
        table = _relname(node.relation)
        names = [p.name for p in node.indexParams or ()]
        default = f"{table}_{'_'.join(str(n) if n else 'expr' for n in names)}_idx"
        name = str(node.idxname or default)
        self._indexes.add(name)
        self._implicit(table, f"index {name}", (node.indexParams, node.whereClause))
        if node.unique:
            exact: set[str] = set()  # a column itself, compared exactly
            for param in node.indexParams or ():
                collation = [str(c.sval) for c in param.collation or ()]
                opclass = [str(c.sval) for c in param.opclass or ()]
                if param.name and (
                    (collation and collation[-1] in self.loose_collations)
                    or (opclass and opclass[-1] not in _EXACT_OPCLASSES)
                ):
                    self.loose_keys.setdefault(table, set()).add(str(param.name))
                elif param.name:
                    exact.add(str(param.name))
            checked = _columns_read(node.whereClause)
            keyed: set[str] = set()
            for param in node.indexParams or ():
                keyed |= _index_element_columns(param)
            checked |= keyed
            if keyed - exact:
                # `(code, lower(org_id))`, `(code, org_id COLLATE ci)`: two tenants' values may
                # be one key value: no key per tenant of those columns (h32i)
                self.loosely_keyed.setdefault(table, {})[name] = frozenset(keyed - exact)
            if checked:
                self.spanning.setdefault(table, {})[name] = frozenset(checked)
            if keyed and keyed != checked:
                # the key itself (h32d): the tenant column in the WHERE only makes no key per
                # tenant (`UNIQUE (code) WHERE org_id IS NOT NULL` checks every tenant's codes)
                self.spanning[table][name + _KEY_ONLY] = frozenset(keyed)
        if not node.unique or node.whereClause is not None:
            return  # a partial unique index says nothing of the whole table
        if not node.relation.inh:
            return  # ON ONLY a partitioned table: its partitions' rows are not held to it
        if names and all(names):
            key = frozenset(str(n) for n in names)
            self._name_key(table, name, key, guessed=not node.idxname, index=True)
            self.unique_keys.setdefault(table, []).append(key)
