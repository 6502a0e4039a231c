"""Views, rules, triggers and functions (`_Code`): `CREATE VIEW`, `CREATE RULE`, `CREATE TRIGGER`,
`CREATE`/`ALTER FUNCTION` (SQL and PL/pgSQL bodies, what they return), the updatable views a
write goes through, and what a view inherits or outputs.

A layer of `SchemaInfo` on `changes`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tenantguard.engine.sqltext import split_sql
from tenantguard.sources.schema.changes import _Changes
from tenantguard.sources.schema.nodes import (
    _custom_settings_set,
    _domain_base,
    _enum,
    _flatten,
    _relname,
    _schema_of,
    _single_table_select,
    _strings,
    _type_key,
    _updatable_view_base,
    fills_by_name,
    namesake_functions,
)
from tenantguard.sources.schema.records import (
    _TRIGGER_AFTER,
    _TRIGGER_EVENTS,
    FunctionInfo,
    TriggerInfo,
    ViewInfo,
    WriteRule,
)
from tenantguard.sources.schema.relations import _view_columns
from tenantguard.sources.schema.texts import (
    _FUNCTION_DDL,
    _TYPE_DDL,
    _assigned_new_fields,
    _plpgsql_queries,
    _qualified_parameters,
    _returned_queries,
    _row_copies,
    _written_variables,
)


class _Code(_Changes):
    """Views, rules, triggers and functions."""

    # views and functions

    def _view(self, node: Any, text: str, path: str) -> None:
        from pglast.stream import RawStream

        aliases = list(_strings(node.aliases)) or None
        if not self._shared(node.view):
            self.stale_views.discard(_relname(node.view))  # bound to the names of now
        self._add_view(node.view, ViewInfo(RawStream()(node.query), aliases))
        self._lossy_outputs(node.query, aliases)

    def _trigger_or_rule(self, node: Any, text: str, path: str) -> None:
        """CREATE TRIGGER, CREATE RULE: the relation is rewritten for good (a DROP of one is
        not followed there); a trigger is kept with its events and function."""
        if node.relation is None:
            return
        relation = _relname(node.relation)
        self.rewritten.add(relation)
        if type(node).__name__ != "CreateTrigStmt" or not node.funcname:
            return
        name = str(node.trigname or "")
        if node.replace:  # CREATE OR REPLACE TRIGGER: the old one of that name goes
            self.triggers = [
                t for t in self.triggers if not (t.relation == relation and t.name == name)
            ]
        events = tuple(e for e, bit in _TRIGGER_EVENTS if int(node.events or 0) & bit)
        if "UPDATE" in events and node.columns:
            # `UPDATE OF a, b`: run by an UPDATE setting a or b only (h33l's false alarm: a
            # column's default, read as such a trigger, judged for every UPDATE of the table);
            # the kinds `engine.cascades._fired` gives each write
            events = tuple(
                kind
                for event in events
                for kind in (
                    [f"UPDATE OF {str(c.sval).lower()}" for c in node.columns]
                    if event == "UPDATE"
                    else [event]
                )
            )
        function = str(node.funcname[-1].sval)
        if (
            node.row
            and int(node.timing or 0) != _TRIGGER_AFTER
            and any(e in ("INSERT", "UPDATE") or e.startswith("UPDATE OF ") for e in events)
        ):  # BEFORE or INSTEAD OF: the function may change NEW (round 33, h33i)
            self.row_changers.add(relation)
        if node.whenClause is not None:  # run on each row, whatever the function does
            self._implicit(relation, f"the WHEN of trigger {name} ({', '.join(events)})", node)
        args = tuple(str(getattr(a, "sval", "")) for a in node.args or ())
        transitions = tuple(str(t.name) for t in node.transitionRels or () if t.name)
        self.triggers.append(
            TriggerInfo(name, relation, events, function, bool(node.row), args, transitions)
        )

    def renaming_views(self, column: str) -> set[str]:
        """The automatically updatable views (of views too) that show another column of their
        table under the tenant column's name (`CREATE VIEW v (id, tenant_id) AS SELECT
        tenant_id, id …`, `id AS tenant_id`): an INSERT naming the view's `tenant_id` writes
        the table's `id`, and an ON CONFLICT target named by the view's columns infers an index
        on other columns. A view showing no column under that name is not one of them (an
        INSERT naming it fails)."""
        found: set[str] = set()
        for name in self.views:
            wanted, current, seen = {column}, name, set()
            while wanted and current in self.views and current not in seen:
                seen.add(current)
                based = (
                    None
                    if current in self.stale_views
                    else _updatable_view_base(self.views[current])
                )
                if based is None:
                    # not read (a `*` under a column list, a FROM alias's columns, a `*` bound
                    # before a rename, a view PostgreSQL does not update itself): a view showing
                    # a column of the name may show any column under it (fail closed)
                    shows = _view_columns(self.views[name])
                    if shows is None or column in shows:  # (unknown: may show it)
                        found.add(name)
                    wanted = set()
                    break
                current, shown = based
                # the columns under it shown with the wanted names (`*`: each as itself)
                wanted = {c for c, names in shown.items() if c != "*" and names & wanted} | (
                    wanted if "*" in shown else set()
                )
            if wanted and wanted != {column}:
                found.add(name)
        return found

    def write_views(self, column: str) -> dict[str, tuple[str | None, tuple[str, ...] | None]]:
        """The views an INSERT, UPDATE or upsert may write through, views of views followed
        down to a table: view -> (that table, the names the view shows the table's `column`
        under, sorted; () when it shows it under none). A view PostgreSQL updates itself whose
        chain cannot be read (a column list over `*`, a column renamed since, a stale view)
        maps to (None, None): which column is the tenant column is unknown. Not a view a
        trigger or rule rewrites (its writes are theirs: `hidden_writes`), nor one that is no
        single-table SELECT (PostgreSQL refuses to write it)."""
        found: dict[str, tuple[str | None, tuple[str, ...] | None]] = {}
        for name in self.views:
            if name in self.rewritten:
                continue
            levels: list[dict[str, set[str]]] = []
            current, seen = name, set()
            readable = True
            while current in self.views and current not in seen:
                seen.add(current)
                view = self.views[current]
                based = None if current in self.stale_views else _updatable_view_base(view)
                if based is None:
                    if _single_table_select(view):
                        found[name] = (None, None)  # updatable, its columns unread
                    readable = False
                    break
                current, shown = based
                levels.append(shown)
            if not readable or not levels or current in self.views:
                continue
            wanted = {column}  # the names the column goes by, level by level, upwards
            for shown in reversed(levels):
                wanted = set().union(*(shown.get(c, set()) for c in wanted)) | (
                    wanted if "*" in shown else set()
                )
            found[name] = (current, tuple(sorted(wanted)))
        return found

    def inherit_view_defaults(self) -> None:
        """An INSERT into an automatically updatable view gives the base table's columns it
        does not name their base defaults (PostgreSQL 15, also for `DEFAULT` in VALUES): the
        view takes the default of each base column it leaves out or shows under its own name.
        Not a view with a default of its own on that column, a trigger or a rule (they write
        what they like), nor a column it shows renamed (`tenant_id AS t`: the INSERT names it
        `t`). Views of views follow, in as many rounds as there are views."""
        for _ in range(len(self.views)):
            changed = False
            for name, view in self.views.items():
                if name in self.rewritten or name in self._no_defaults:
                    continue
                found = _updatable_view_base(view)
                if found is None:
                    continue
                base, shown = found
                own = self.defaults.get(name, {})
                for column, text in list(self.defaults.get(base, {}).items()):
                    if column in own or not shown.get(column, {column}) <= {column}:
                        continue
                    self.defaults.setdefault(name, {})[column] = text
                    own = self.defaults[name]
                    changed = True
            if not changed:
                return

    def resolve_row_outputs(self) -> None:
        """A function returning a table's rows (`RETURNS SETOF t`) has t's columns filled by
        position, whatever its query names its outputs: its outputs are t's columns in order,
        as they are after every source has been read (a later RENAME COLUMN renames them in
        place). Unless its queries output them in that order under those names anyway (`*` of
        t itself), where reading them by name is the same. Where the order is unknown (the
        sources do not show it, or the name's definitions return different rows): outputs
        named so that no column of them is the tenant column, and nothing pins it."""
        orders = {table: [tuple(columns)] for table, columns in self.order.items()}
        for name, tables in self.row_returns.items():
            info = self.functions.get(name)
            if info is None or (info.outputs and name not in self.declared_outputs):
                continue
            table = next(iter(tables))
            order = self.order.get(table)
            if (
                len(tables) == 1
                and name not in self.declared_outputs
                and order is not None
                and set(order) == self.columns.get(table)
            ):
                row = tuple(order)
                if not fills_by_name(info.body, row, orders):
                    self.functions[name] = replace(info, outputs=row)
                continue
            width = max(len(self.columns.get(t, ())) for t in tables)
            unknown = tuple(f"?column{i}?" for i in range(1, width + 1))
            self.functions[name] = replace(info, outputs=unknown)

    def _rule(self, node: Any, text: str, path: str) -> None:
        """CREATE RULE "_RETURN" AS ON SELECT … DO INSTEAD SELECT: PostgreSQL (15 and before)
        makes the table a view whose rows are the rule's query's, whatever its columns say."""
        from pglast.enums import CmdType
        from pglast.stream import RawStream

        self._trigger_or_rule(node, text, path)  # an INSERT into it writes what the rule does
        actions = list(node.actions or ())
        event = _enum(node.event)
        if event != CmdType.CMD_SELECT:  # what a write runs beside itself: its statements
            kind = {
                CmdType.CMD_INSERT: "INSERT",
                CmdType.CMD_UPDATE: "UPDATE",
                CmdType.CMD_DELETE: "DELETE",
            }.get(CmdType(event))
            relation, name = _relname(node.relation), str(node.rulename or "")
            if node.replace:
                self.write_rules = [
                    r for r in self.write_rules if not (r.relation == relation and r.name == name)
                ]
            if kind is not None and actions:
                statements = [RawStream()(a) for a in actions]
                self.write_rules.append(WriteRule(name, relation, kind, statements))
            if kind in ("INSERT", "UPDATE") and node.instead:
                self.row_changers.add(relation)  # another write's RETURNING (DO ALSO: the same)
            return
        if not node.instead or len(actions) != 1:
            return
        table = _relname(node.relation)
        if len(self.relation_schemas.get(table, ())) > 1:
            return  # one of several of its name (h36A): the other's columns stay (tenant's)
        self.columns.pop(table, None)  # no longer a table: the view's verdict decides
        self.order.pop(table, None)
        self.loose.pop(table, None)
        self.defaults.pop(table, None)
        self._add_view(node.relation, ViewInfo(RawStream()(actions[0]), None))

    def _function(self, node: Any, text: str, path: str) -> None:
        """CREATE FUNCTION … LANGUAGE sql or plpgsql; other languages (C, Python) are not
        followed; trigger functions are called by the database on rows, never by a query."""
        from pglast.stream import RawStream

        if _TYPE_DDL.search(text):  # run when it is called: out of the reader's sight
            self._hidden_types = True
        if len(_FUNCTION_DDL.findall(text)) > 1:  # one more function, made when it is called
            self._hidden_functions = True
        if not node.funcname:
            return
        name = str(node.funcname[-1].sval)
        options = {str(o.defname): o.arg for o in node.options or ()}
        language = str(getattr(options.get("language"), "sval", "sql")).lower()
        volatility = str(getattr(options.get("volatility"), "sval", "volatile")).lower()
        returned = node.returnType
        returns = str(returned.names[-1].sval) if returned and returned.names else ""  # folded
        if language in ("sql", "plpgsql") and isinstance(options.get("as"), tuple):
            self._bodies.setdefault(name, []).append(" ".join(_strings(options["as"])))
        if returns == "event_trigger":
            return
        self._function_texts.setdefault(name, []).append(text)
        if returns == "trigger":
            self._trigger_function(name, _schema_of(node.funcname), language, options, text)
            return
        parameters: list[str] = []
        outputs: list[str] = []
        types: list[str] = []
        lossy: list[int] = []
        defaults: list[tuple[int, str]] = []
        for parameter in node.parameters or ():
            mode = str(getattr(parameter.mode, "value", parameter.mode))
            if mode in ("d", "i", "b", "v"):  # in, inout, variadic: positions in a call
                if parameter.defexpr is not None:
                    defaults.append((len(parameters), RawStream()(parameter.defexpr)))
                type_key = _type_key(parameter.argType)
                element = type_key.rstrip("[]")  # `real[]` for `= ANY(p)` rounds alike
                if element in self.lossy_types or element in self.loose_types:
                    lossy.append(len(parameters))
                parameters.append(str(parameter.name or ""))
                types.append(type_key)
            if parameter.name and mode in ("o", "b", "t"):  # out, inout, TABLE columns
                outputs.append(str(parameter.name))
                if self._lossy_type(parameter.argType, None):
                    self.lossy_columns.add(str(parameter.name))
        signature = (_schema_of(node.funcname), tuple(types))
        self._volatility.setdefault(name, {})[signature] = volatility[:1]
        if self.signatures.get(name, set()) <= {signature}:
            self.row_returns.pop(name, None)  # none before, or this one replaced: from now
            self.declared_outputs.discard(name)
        columns: set[str] | None = set(outputs) if outputs else None
        if columns is None and returned is not None and returned.setof:
            columns = self.columns.get(returns)
            if columns is not None:  # filled by position: see resolve_row_outputs
                self.row_returns.setdefault(name, set()).add(returns)
        if outputs:
            self.declared_outputs.add(name)
        constants: tuple[tuple[str, str], ...] = ()
        row_queries: tuple[str, ...] | None = None
        if node.sql_body is not None:  # RETURN …, BEGIN ATOMIC … END
            body = [RawStream()(s) for s in _flatten(node.sql_body)]
            opaque = ""
        elif language == "plpgsql":
            body, opaque, constants = _plpgsql_queries(text)
            row_queries = _returned_queries(text)
            written = _written_variables(text)  # a parameter the body writes pins nothing
            lossy.extend(
                i
                for i, p in enumerate(parameters)
                if written is None or (p and p.lower() in written) or f"${i + 1}" in written
            )
        elif language != "sql":
            # PL/Python, PL/Perl, C…: its queries are out of sight — naming a tenant table hands
            # out every tenant's rows, and it may change any setting (opaque: fail closed)
            source = options.get("as")
            strings = list(_strings(source)) if isinstance(source, tuple) else []
            body, opaque = [], " ".join(strings) or f"LANGUAGE {language}"
        else:
            source = options.get("as")
            strings = list(_strings(source)) if isinstance(source, tuple) else []
            body, opaque = [s.text for s in split_sql(strings[0] if strings else "")[0]], ""
        fixed = _custom_settings_set(node.options)
        if fixed:
            # `SET app.tenant_id = '…'` on the function (h32i): its body runs under that
            # value, not the request's: read as text that cannot be read (fail closed)
            opaque = " ".join([opaque, *body, *fixed]).strip()
            body, row_queries = [], None
        if any(parameters):
            # `notes_of.tenant_id`: the parameter, named by its function (helper 109)
            body = [_qualified_parameters(s, name, parameters) for s in body]
            if row_queries is not None:
                row_queries = tuple(_qualified_parameters(s, name, parameters) for s in row_queries)
        inlined = (
            language == "sql"
            and len(body) == 1
            and not opaque
            and not outputs
            and returned is not None
            and not returned.setof
            and returns not in ("record", "void")
        )
        declared = options.get("cost")
        cost = getattr(declared, "fval", None) or getattr(declared, "ival", None)
        try:
            cheap = cost is not None and float(cost) < 100
        except ValueError:
            cheap = True
        info = FunctionInfo(
            body,
            opaque,
            parameters,
            columns,
            constants,
            tuple(lossy),
            tuple(outputs),
            inlined=inlined,
            cheap=cheap,
            returned=row_queries,
            defaults=tuple(defaults),
        )
        # the types of its return and of its parameters (any output but the return: "?")
        exact = [_domain_base(returned, None) if returned is not None else ("", "?")]
        for parameter in node.parameters or ():
            mode = str(getattr(parameter.mode, "value", parameter.mode))
            exact.append(_domain_base(parameter.argType, None) if mode in ("d", "i") else ("", "?"))
        self._function_types.setdefault(name, set()).add(tuple(exact))
        if lossy:
            self.lossy_arguments.setdefault(name, set()).update(
                [*lossy, *([-len(parameters)] if lossy[-1] == len(parameters) - 1 else [])]
            )
        seen = self.signatures.setdefault(name, set())
        seen.add((_schema_of(node.funcname), tuple(types)))
        if node.sql_body is not None:
            self.bound_functions.add(name)
        elif len(seen) == 1:
            self.bound_functions.discard(name)
        if len(seen) > 1:  # overloads, or one name in two schemas: a call may run any of them
            info = namesake_functions(self.functions.get(name), info)
        self.functions[name] = info

    def _alter_function(self, node: Any, text: str, path: str) -> None:
        """ALTER FUNCTION … IMMUTABLE | STABLE | VOLATILE: the definition's new volatility. One
        not told apart from the others (no argument list, types spelled otherwise): VOLATILE
        counts for the name, IMMUTABLE or STABLE for nothing."""
        names = list(_strings(getattr(node.func, "objname", None)))
        if not names:
            return
        definitions = self._volatility.setdefault(names[-1], {})
        signature: tuple[str, tuple[str, ...]] | None = None
        if not node.func.args_unspecified:
            arguments = tuple(_type_key(a) for a in node.func.objargs or ())
            signature = (_schema_of(node.func.objname), arguments)
        elif len(definitions) == 1:
            signature = next(iter(definitions))
        known = self.functions.get(names[-1])
        fixed = _custom_settings_set(node.actions)
        if fixed and known is not None:
            # `ALTER FUNCTION f SET app.tenant_id = …` (h32i): see `_function`
            opaque = " ".join([known.opaque, *known.body, *fixed]).strip()
            self.functions[names[-1]] = replace(known, body=[], opaque=opaque, returned=None)
        for action in node.actions or ():
            if str(action.defname) == "cost":
                # `ALTER FUNCTION f COST 0.01`: cheaper than the default, evaluated before
                # dearer conditions (TG013 costs it so); any definition of the name
                declared = getattr(action.arg, "fval", None) or getattr(action.arg, "ival", None)
                try:
                    cheap = declared is None or float(declared) < 100
                except ValueError:
                    cheap = True
                known = self.functions.get(names[-1])
                if cheap and known is not None and not known.cheap:
                    self.functions[names[-1]] = replace(known, cheap=True)
                continue
            if str(action.defname) != "volatility":
                continue
            kind = str(getattr(action.arg, "sval", "volatile")).lower()[:1]
            if signature is not None and signature in definitions:
                definitions[signature] = kind
            elif kind == "v":
                definitions[("*", ())] = kind

    def _trigger_function(
        self, name: str, schema: str, language: str, options: dict[str, Any], text: str
    ) -> None:
        """A trigger function: the SQL it runs (PL/pgSQL), or its text (another language,
        dynamic SQL), and the fields of NEW it assigns. One name in two schemas: both (a
        trigger names its function's schema, the proof knows it by name)."""
        copies: tuple[tuple[str, str], ...] = ()
        if language == "plpgsql":
            body, opaque, _ = _plpgsql_queries(text)
            assigned = _assigned_new_fields(text)
            copies = _row_copies(text)
        else:  # C, PL/Python…: out of sight — what it names is all there is to go on
            source = options.get("as")
            strings = list(_strings(source)) if isinstance(source, tuple) else []
            body, opaque, assigned = [], " ".join(strings) or f"LANGUAGE {language}", {"*"}
        versions = self._trigger_versions.setdefault(name, {})
        versions[schema] = (FunctionInfo(body, opaque, [], None, row_copies=copies), assigned)
        shared = [f.row_copies for f, _ in versions.values()]
        self.trigger_functions[name] = FunctionInfo(
            [q for f, _ in versions.values() for q in f.body],
            " ".join(f.opaque for f, _ in versions.values() if f.opaque),
            [],
            None,
            # (one name in two schemas: only what both say)
            row_copies=tuple(c for c in shared[0] if all(c in o for o in shared[1:])),
        )
        self.new_fields[name] = {n for _, a in versions.values() for n in a}
