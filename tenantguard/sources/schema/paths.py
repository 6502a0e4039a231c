"""search_path and schemas (`_Paths`): `SET search_path`, `set_config`, transactions and
`SET LOCAL`, roles' and databases' defaults, `CREATE`/`DROP`/`ALTER SCHEMA`, `CALL`, `DO`,
`DISCARD`, extensions.

A layer of `SchemaInfo` on `keys`.
"""

from __future__ import annotations

from typing import Any

from tenantguard.sources.schema.keys import _Keys
from tenantguard.sources.schema.nodes import _UNKNOWN_SCHEMA, _enum, _function_calls, _path_names
from tenantguard.sources.schema.texts import _SESSION_DEFAULTS


class _Paths(_Keys):
    """search_path, schemas, and the statements that change them."""

    def _search_path(self, node: Any, text: str, path: str) -> None:
        """`SET [LOCAL] search_path = a, b` / `RESET search_path`: where later unqualified
        tables are created — the first schema of the path that exists (round 27f: not one
        the sources never created); SET LOCAL until the block's end (outside one it does
        nothing, unless the runner opens one: unknown); `RESET ALL` / `SET ROLE` too."""
        from pglast.enums import VariableSetKind

        kind = _enum(node.kind)
        name = str(node.name or "").lower()
        if kind == VariableSetKind.VAR_RESET_ALL:
            if self._before_role is None:
                self._creation_schema = self._session_schema
            return
        if name in ("role", "session_authorization"):
            # the search path's "$user" is that role's schema now
            if kind in (VariableSetKind.VAR_RESET, VariableSetKind.VAR_SET_DEFAULT) or any(
                str(getattr(getattr(a, "val", None), "sval", "")).lower() == "none"
                for a in node.args or ()
            ):
                if self._before_role is not None:
                    self._creation_schema, self._before_role = self._before_role, None
            elif self._before_role is None:
                self._before_role = self._creation_schema
                self._creation_schema = _UNKNOWN_SCHEMA
            return
        if name != "search_path":
            return
        if kind in (VariableSetKind.VAR_RESET, VariableSetKind.VAR_SET_DEFAULT):
            schema = self._session_schema
        elif kind == VariableSetKind.VAR_SET_VALUE:
            values = [getattr(getattr(a, "val", None), "sval", None) for a in node.args or ()]
            names = None if None in values else [str(v) for v in values]
            schema = self._first_schema(names)
        else:
            schema = _UNKNOWN_SCHEMA
        if node.is_local:
            if self._transaction is None:  # a warning and no effect, or the runner's block
                if schema != self._creation_schema:
                    self._creation_schema = _UNKNOWN_SCHEMA
                return
            if self._before_local is None:
                self._before_local = self._creation_schema
        self._creation_schema = schema

    def _first_schema(self, names: list[str] | None) -> str:
        """Where an unqualified CREATE goes with this search path: its first schema that
        exists — one the sources create (or public); "$user" and a schema the sources never
        create: unknown; pg_temp: the session's temporary schema."""
        for name in names or ():
            if name.startswith("$"):
                return _UNKNOWN_SCHEMA
            if name == "pg_temp":
                return "pg_temp"
            if name in self._made_schemas:
                return name
            return _UNKNOWN_SCHEMA  # made outside the sources, or skipped (not there)
        return _UNKNOWN_SCHEMA  # '' (pg_dump's): nothing is created unqualified

    def _transaction_statement(self, node: Any, text: str, path: str) -> None:
        """BEGIN … COMMIT | ROLLBACK in a schema source: a rolled-back block's keys were never
        there (round 27f); SET LOCAL holds until the block ends."""
        from pglast.enums import TransactionStmtKind as Kind

        kind = _enum(node.kind)
        if kind in (Kind.TRANS_STMT_BEGIN, Kind.TRANS_STMT_START):
            if self._transaction is None:
                self._transaction = (
                    {t: list(keys) for t, keys in self.unique_keys.items()},
                    [k for keys in self.foreign_keys.values() for k in keys],
                    self._creation_schema,
                )
            return
        if self._transaction is None:
            return
        keys, foreign, schema = self._transaction
        if kind in (Kind.TRANS_STMT_ROLLBACK, Kind.TRANS_STMT_ROLLBACK_TO):
            for table, now in self.unique_keys.items():
                self.unique_keys[table] = [k for k in now if k in keys.get(table, ())]
            kept = {id(k) for k in foreign}
            for now_foreign in self.foreign_keys.values():
                for key in now_foreign:
                    if id(key) not in kept:
                        key.valid = False
            if kind == Kind.TRANS_STMT_ROLLBACK_TO:  # to a savepoint: what it undid, unknown
                if self._creation_schema != schema:
                    self._creation_schema = _UNKNOWN_SCHEMA
                return
            self._creation_schema = schema
        elif kind not in (Kind.TRANS_STMT_COMMIT, Kind.TRANS_STMT_PREPARE):
            return  # SAVEPOINT, RELEASE
        elif self._before_local is not None:
            self._creation_schema = self._before_local
        self._transaction = self._before_local = None

    def _path_changed(self, node: Any, text: str, path: str) -> None:
        """A search path set where the reader does not follow it (`UPDATE pg_settings`,
        `ALTER ROLE | DATABASE … SET search_path`: the next sessions'): unknown."""
        if "search_path" not in text.lower():
            return
        self._creation_schema = _UNKNOWN_SCHEMA
        if type(node).__name__ in ("AlterRoleSetStmt", "AlterDatabaseSetStmt"):
            self._session_schema = _UNKNOWN_SCHEMA
            # the application's sessions may run under that path, not config `search_path`:
            # no name is read by the path (h35P: `ALTER ROLE app SET search_path = archive,
            # public` made `countries` archive's tenant table for every session of app)
            self.names_unsure = True
            self.plain_tables.clear()

    def _schema_gone(self, schema: str, cascade: bool) -> None:
        """DROP SCHEMA … CASCADE: the relations in it are gone with it."""
        from pglast.enums import ObjectType

        self._made_schemas.discard(schema)
        if not cascade:
            return  # refused while it holds anything
        for name, seen in list(self.relation_schemas.items()):
            if schema in seen:
                seen.discard(schema)
                if not seen:
                    view = name in self.views and name not in self.columns
                    self._forget_relation(
                        name, ObjectType.OBJECT_VIEW if view else ObjectType.OBJECT_TABLE
                    )

    def _schema_renamed(self, old: str, new: str) -> None:
        """ALTER SCHEMA old RENAME TO new: its relations are in new now."""
        if old in self._made_schemas:
            self._made_schemas.discard(old)
        self._made_schemas.add(new)
        for name, seen in self.relation_schemas.items():
            if old in seen:
                seen.discard(old)
                seen.add(new)
                if len(seen) > 1:
                    self._mixed.add(name)
        if self._creation_schema == old:
            self._creation_schema = _UNKNOWN_SCHEMA

    def _called(self, node: Any, path: str) -> None:
        """A statement calling routines of the sources (`SELECT f()`, `CALL p()`): the DDL in
        their bodies runs (round 27f: a DROP INDEX there), a search path they set is unknown."""
        found = [name for name, _ in _function_calls(node)]
        for name in dict.fromkeys(found):
            for body in self._bodies.get(name, ()):
                if "search_path" in body.lower():
                    self._creation_schema = _UNKNOWN_SCHEMA
                self._scan_embedded(body, path)

    def _discard(self, node: Any, text: str, path: str) -> None:
        """DISCARD ALL: the session's settings and role as at its start."""
        from pglast.enums import DiscardMode

        if _enum(node.target) == DiscardMode.DISCARD_ALL:
            self._creation_schema = self._session_schema
            self._before_role = self._before_local = None

    def _call(self, node: Any, text: str, path: str) -> None:
        self._called(node, path)

    def _extension(self, node: Any, text: str, path: str) -> None:
        """CREATE EXTENSION: its functions' volatility, and their parameters of a lossy type, are
        known for PostgreSQL's contrib ones (`engine.pgextensions`)."""
        from tenantguard.engine.pgextensions import EXTENSION_REQUIRES

        options = {str(o.defname): o.arg for o in node.options or ()}
        where = str(getattr(options.get("schema"), "sval", "public"))
        name = str(node.extname)
        for required in EXTENSION_REQUIRES.get(name, ()):  # created first (CASCADE), or there
            self._extensions.append((required, where))
        self._extensions.append((name, where))

    def _do(self, node: Any, text: str, path: str) -> None:
        body = next((str(a.arg.sval) for a in node.args or () if a.defname == "as"), "")
        if "search_path" in body.lower():  # SET or set_config in the block: not followed
            self._creation_schema = _UNKNOWN_SCHEMA
            if _SESSION_DEFAULTS.search(body):
                self._session_schema = _UNKNOWN_SCHEMA
        self._scan_embedded(body, path)

    def _search_path_call(self, node: Any) -> None:
        """`SELECT set_config('search_path', 'app', false)` (pg_dump's form, `''`): as `SET
        search_path` (any other value: a schema the reader cannot tell)."""
        found = [call for name, call in _function_calls(node) if name.lower() == "set_config"]
        for call in found:
            arguments = list(call.args or ())
            setting = (
                getattr(getattr(arguments[0], "val", None), "sval", None) if arguments else None
            )
            if setting is None or str(setting).lower() != "search_path":
                if setting is None:
                    self._creation_schema = _UNKNOWN_SCHEMA  # a setting named at run time
                continue
            value = getattr(getattr(arguments[1], "val", None), "sval", None)
            is_local = getattr(getattr(arguments[2], "val", None), "boolval", None)
            if value is None or len(arguments) < 3 or is_local is not False:
                self._creation_schema = _UNKNOWN_SCHEMA  # at run time, or till the block ends
                continue
            self._creation_schema = self._first_schema(_path_names(str(value)))

    def _schema(self, node: Any, text: str, path: str) -> None:
        # `CREATE SCHEMA app CREATE TABLE t …`: t is app.t
        before = self._creation_schema
        if node.schemaname:
            self._made_schemas.add(str(node.schemaname))
        elif before == self._session_schema:
            # `CREATE SCHEMA AUTHORIZATION r`: named r — the "$user" of r's sessions
            before = _UNKNOWN_SCHEMA
        self._creation_schema = str(node.schemaname or _UNKNOWN_SCHEMA)
        try:
            for element in node.schemaElts or ():
                self._statement(element, text, path)
        finally:
            self._creation_schema = before
