"""The walker's calls: which calls are SQL sinks (query methods, `sql_functions`, driver
wrappers, pandas and polars frames, stored procedures) and what they send, calls of project
functions kept for later (`on_call`, `sink`, `project_call`), and what a name binds to besides
a string: handles, cursors, methods, items (`binding`, `items_of`). Relies on `texts` and
below, and on `parameters`.
"""

from __future__ import annotations

import ast
import itertools
import re
from typing import TYPE_CHECKING

from tenantguard.sources.pyflow.model import (
    Call,
    ClassRef,
    FrameMethod,
    FuncRef,
    Grown,
    Handle,
    ImportedRef,
    InstanceRef,
    Items,
    MethodCaller,
    ModuleRef,
    QueryMethod,
    Sink,
    _sql_methodcaller,
)
from tenantguard.sources.pyflow.names import (
    _BUILDERS,
    _CONSOLE_WRITES,
    _CURSOR_METHODS,
    _CURSOR_RECEIVER,
    _DBAPI_DRIVERS,
    _DRIVER_OBJECT,
    _EXCEPTION_NAME,
    _EXTRAS_PATHS,
    _EXTRAS_SENDERS,
    _FRAME_FIRST,
    _FRAME_WRITES,
    _HTTP_CLIENTS,
    _LIBRARY_SQL_METHODS,
    _LOG_METHODS,
    _MESSAGE_FUNCTIONS,
    _PROSE_KEYWORDS,
    _SQL_KEYWORDS,
    _TABLE_COPIES,
    _TABLE_NAME,
    _TELEMETRY_METHODS,
    _TELEMETRY_RECEIVER,
    _TEXT_PROBES,
    _URL_OR_PATH,
    CERTAIN_METHODS,
    SQL_METHODS,
    _called_name,
    _db_named,
    _django_manager,
    _dotted,
    _getattr_of,
    _given_a_connection,
    _http_named,
    _is_name,
    _receiver_chain,
    _receiver_name,
    _set_display,
    _short,
    expression_name,
)
from tenantguard.sources.pyflow.parameters import _constant_text_of
from tenantguard.sources.pyflow.stores import (
    _ANY_NAME,
    _declared_global,
    _item_holder,
    _kept_methodcallers,
    _kept_methods,
    _kept_partials,
    _partial_of,
    _rebound,
    _replaced,
    _stored_items,
)
from tenantguard.sources.pyflow.syntax import (
    _ANY_SQL_KEY,
    _ITEMS,
    _KWARG,
    _VARARGS,
    _none_value,
    _rows,
    _sql_like,
)
from tenantguard.sources.pyflow.texts import _Texts
from tenantguard.sources.pyvalues import (
    Hole,
    Lit,
    concat,
    hole,
    is_constant,
    skeleton,
    starts_like_sql,
    union,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from tenantguard.sources.pyflow.model import Binding, ClassInfo, FunctionInfo, ModuleInfo
    from tenantguard.sources.pyvalues import Value


# callables that take text for people under a prose keyword and keep it as such: argparse's,
# click's and typer's, pydantic's and FastAPI's parameter makers (their result is kept: a
# parser, a field's default)
_PROSE_CALLEES = frozenset(
    {
        "ArgumentParser",
        "add_parser",
        "add_subparsers",
        "add_argument_group",
        "add_mutually_exclusive_group",
        "add_argument",
        "Option",
        "Argument",
        "Field",
        "Query",
        "Path",
        "Body",
        "Header",
        "Cookie",
        "Form",
        "File",
        "Typer",
        "command",
        "group",
        "option",
        "argument",
    }
)

# the calls of a module whose result is dropped (`_Calls._result_dropped`), by its tree
_DROPPED: dict[int, tuple[ast.Module | None, set[int]]] = {}


class _Calls(_Texts):
    """Sinks, project calls and non-string bindings (see the module docstring)."""

    def elements(self, argument: ast.expr, value: Value) -> Value | None:
        """The items a call's argument holds, any of them (`["UPDATE …", "DELETE …"]`, a
        module's tuple of constants), for a callee that loops over its parameter; an unchanged
        parameter's items; None when they are unknown."""
        if (
            isinstance(argument, ast.List | ast.Tuple | ast.Set)
            and argument.elts
            and not any(isinstance(e, ast.Starred) for e in argument.elts)
        ):
            return union([self.evaluate(e) for e in argument.elts], argument, self.origin)
        if isinstance(argument, ast.Name | ast.Attribute):
            items = self.items_of(argument)
            if items is not None and items.keys is None and items.values:
                return union(list(items.values), argument, self.origin)
        if self.unchanged_parameter(argument):
            assert isinstance(argument, ast.Name) and self.function is not None
            reason = f"an item of `{argument.id}`, a parameter of {self.function.name}()"
            return hole(
                argument, self.origin, reason, param=_ITEMS + argument.id, owner=self.function
            )
        return None

    def _compared(self, node: ast.Compare | ast.Call) -> None:
        """The strings written as operands of a comparison or as the text a string method
        looks for (`.startswith("UPDATE t SET")`): written there, never sent. Only literals
        standing as the operands themselves (or items of a tuple, list or set display there):
        a call inside one (`await conn.fetchval("SELECT …") == 1`) sends its SQL."""
        if isinstance(node, ast.Compare):
            # `"FROM t" in sql` (a fragment looked for) and `sql in ("…", "…")` (a name
            # narrowed to those, checked where it is sent); not `sql == "DELETE FROM t"`,
            # which may be the very text sent (`if sql == "…": conn.execute(sql)`)
            if not all(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
                return
            operands = [node.left, *node.comparators]
        else:
            operands = list(node.args)
        for operand in operands:
            items = (
                operand.elts if isinstance(operand, ast.Tuple | ast.List | ast.Set) else [operand]
            )
            for item in items:
                if isinstance(item, ast.JoinedStr) or (
                    isinstance(item, ast.Constant) and isinstance(item.value, str)
                ):
                    self.module.messages.add(id(item))

    def _messages(self, node: ast.AST) -> None:
        """Strings inside a log or error message are prose, whatever words they use."""
        for inner in ast.walk(node):
            if isinstance(inner, ast.JoinedStr) or (
                isinstance(inner, ast.Constant) and isinstance(inner.value, str)
            ):
                self.module.messages.add(id(inner))

    def _outside_call(self, node: ast.Call) -> bool:
        """Whether a call is of a callable outside the project (argparse, click, pydantic's
        `Field`), whose `help=` / `description=` is text for people. A project class or
        function's keyword of that name is its parameter, which may hold SQL the project
        sends (h37Q: `Check(title="orphans", summary="DELETE FROM tickets …")`, sent as
        `conn.execute(check.summary)`, passed in silence as prose); so is a call of a name
        the module binds to a value (`Check = namedtuple(…)`)."""
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name not in _PROSE_CALLEES and id(node) not in self._result_dropped():
            # a library object kept with the text (`SimpleNamespace(summary="DELETE …")`, a
            # job's `description=`) may hand it on to a sink: read as any string
            return False
        if isinstance(func, ast.Name):
            if self.index.may_define(func.id):
                return False
            bound = self.lookup(func.id)
            if isinstance(bound, ImportedRef):
                return self.index.imported(bound) is None
            return bound is None or isinstance(bound, ModuleRef)
        if isinstance(func, ast.Attribute):
            if self.index.may_define(func.attr):
                return False
            return not isinstance(self.binding_of_receiver(func), ClassRef | FuncRef)
        return False

    def _result_dropped(self) -> set[int]:
        """The calls of the module whose result the code does not keep: a statement of its
        own (`p.add_argument(…)`) or a decorator (`@click.option(…)`, `@app.get(…)`)."""
        tree = self.module.tree
        known = _DROPPED.get(id(tree))
        if known is None or known[0] is not tree:
            found: set[int] = set()
            for node in ast.walk(tree) if tree is not None else ():
                if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                    found.add(id(node.value))
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    found.update(id(d) for d in node.decorator_list if isinstance(d, ast.Call))
            if len(_DROPPED) > 256:
                _DROPPED.clear()
            known = _DROPPED[id(tree)] = (tree, found)
        return known[1]

    def on_call(self, node: ast.Call) -> None:
        node = self._unwrapped(node)
        if self.indirect(node):
            return
        command = _psql_command(node)
        if command is not None:
            # `subprocess.run(["psql", "-c", sql])`: psql sends it (h36D: a method that
            # "sends nothing" handed its SQL to psql unseen, a parameter's callers unchecked)
            value = self.evaluate(command)
            self.recorded[id(node)] = Sink(node, command, "psql -c", value, True, self.function)
            return
        node = self._frame_call(node)
        if any(k.arg in _PROSE_KEYWORDS for k in node.keywords) and self._outside_call(node):
            for keyword in node.keywords:
                if keyword.arg in _PROSE_KEYWORDS:
                    self._messages(keyword.value)  # `add_argument("--older", help="select …")`
        func = node.func
        named = self._named_attribute(func)
        if named is not None:
            # `getattr(self, "_fetch")(sql)`: `self._fetch(sql)`, placed where it is
            call = self._synthetic.get(id(node))
            if call is None:
                call = ast.copy_location(ast.Call(named, node.args, node.keywords), node)
                call.end_lineno, call.end_col_offset = node.end_lineno, node.end_col_offset
                self._synthetic[id(node)] = call
            node, func = call, call.func
        if isinstance(func, ast.Attribute):
            name = func.attr
            if name in _LOG_METHODS and "log" in _receiver_name(func.value).lower():
                self._messages(node)
                return
            if name in _TELEMETRY_METHODS and _TELEMETRY_RECEIVER.search(
                _receiver_name(func.value).lower()
            ):
                # a span's or an error tracker's record of the statement: prose for whoever
                # reads the trace, not sent (h35G: `span.set_attribute("db.statement", …)`);
                # read on as any call (a project method of that name may send SQL)
                self._messages(node)
            if name in _TEXT_PROBES and node.args:
                self._compared(node)
            if name == "warn" or (
                isinstance(func.value, ast.Name) and func.value.id in ("click", "typer")
            ):
                self._messages(node)
                return
            console = _CONSOLE_WRITES.get(name)
            if console is not None and console.search(_receiver_name(func.value).lower()):
                self._messages(node)  # `console.print(…)`, `self.stdout.write(…)`
                return
            if name in _TABLE_COPIES:
                self.module.copies.extend(self._named_tables(node))
                return
            if name == "read_sql" and node.args and not isinstance(node.args[0], ast.Starred):
                # `pd.read_sql("invoices", con)`, `pd.read_sql(TABLE, con)`: pandas reads a
                # table by that name (round 25: through a name it was read as SQL "tags")
                texts = self._texts(node.args[0])
                if texts and all(_TABLE_NAME.fullmatch(t.strip()) for t in texts):
                    self.module.copies.extend(self._named_tables(node))
                    return
            if name in SQL_METHODS:
                if self._module_function(func) or self._own_method(func):
                    self.project_call(node, func)  # `db.fetch(conn, Q, args)`: the project's
                    recorded = self.recorded.get(id(node))
                    if isinstance(recorded, Call) and isinstance(func, ast.Attribute):
                        recorded.driver = True
                    return
                self.beside_driver(node, func)
                self.sql_method(node, func)
                return
            if (
                name == "callproc"
                and (node.args or any(k.arg == "procname" for k in node.keywords))
                and not self._module_function(func)
                and not self._own_method(func)
            ):
                self.callproc(node)  # a DB-API cursor's `callproc("purge", (org,))`
                return
            if name in _CURSOR_METHODS and node.args:
                handle = self.handle_of(func.value)
                if handle is not None and handle.kind == "dbapi-cursor":
                    self.sink(node, f".{name}()", certain=True)
                    return
                if handle is None and _CURSOR_RECEIVER.search(_receiver_name(func.value).lower()):
                    self.sink(node, f".{name}()", certain=False)
                    return
            if name in _EXTRAS_SENDERS and self._psycopg2_extras(func):
                self.sink(node, f"{name}()", certain=True, position=1)
                return
            if self.index.is_sql_function(name, func):
                self.sink(node, f"{name}()", certain=True, configured=True)
                return
            if (
                name in _LIBRARY_SQL_METHODS
                and not self.index.may_define(name)
                and not any(f.name == name for f in self.module.functions)
                and not isinstance(self.binding_of_receiver(func.value), ModuleRef | ImportedRef)
            ):
                # (surely SQL on a receiver named like a database; elsewhere only what reads
                # as SQL: another client's `execute_query(graphql)` is not)
                # (the whole chain: Tortoise's `connections.get("default").execute_query(sql)`
                # is named by `connections`, not by `get` — round 28, outside review h28e)
                receiver = _receiver_chain(func.value)
                certain = _db_named(receiver)
                self.sink(node, f".{name}()", certain=certain)
                return
            self.project_call(node, func)
            return
        if isinstance(func, ast.Name):
            name = func.id
            if name in _MESSAGE_FUNCTIONS or _EXCEPTION_NAME.search(name):
                self._messages(node)
                return
            imported = self.lookup(name)
            if (
                isinstance(imported, ImportedRef)
                and imported.module.name.split(".")[0] == "pandas"
                and imported.name in ("read_sql", "read_sql_query", "read_sql_table")
                and imported.name == name
            ):  # `from pandas import read_sql_table` (helper 115); now read as
                # `pandas.read_sql_table(…)` by _frame_call, kept for an alias
                first = node.args[0] if node.args else None
                if name == "read_sql_table" or (
                    isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                    and _TABLE_NAME.fullmatch(first.value.strip())
                ):
                    self.module.copies.extend(self._named_tables(node))
                else:
                    self.sink(node, f"{name}()", certain=True)
                return
            if self._psycopg2_extras(func):  # (imported under any name)
                self.sink(node, f"{name}()", certain=True, position=1)
                return
            if self.index.is_sql_function(name, func):
                self.sink(node, f"{name}()", certain=True, configured=True)
                return
            self.project_call(node, func)

    def callproc(self, node: ast.Call) -> None:
        """A DB-API cursor's `callproc(name, params)` (psycopg2, aiopg): it sends `SELECT *
        FROM name(%s, …)`, one placeholder per parameter, the name written in as given — read
        as that SQL (a function that reads every tenant's rows is found as at any call). A
        parameter list of a length known only at run time is a hole where it goes."""
        origin = self.origin
        # (`callproc(procname="purge")`, `callproc(*call)`: the same SQL sent — round 28,
        # outside review h28e: both passed in silence)
        if not node.args:
            name: ast.expr = next(k.value for k in node.keywords if k.arg == "procname")
        else:
            name = node.args[0]
        if isinstance(name, ast.Starred):
            reason = f"the procedure of `{_short(node)}` is unpacked at run time"
            unpacked = hole(name, origin, reason)
            self.recorded[id(node)] = Sink(node, name, ".callproc()", unpacked, True, self.function)
            return
        params: ast.expr | None = node.args[1] if len(node.args) > 1 else None
        if params is None:
            params = next((k.value for k in node.keywords if k.arg == "parameters"), None)
        if params is None:
            arguments: Value = ((Lit("()", origin, None, 0, node),),)
        elif isinstance(params, ast.Tuple | ast.List) and not any(
            isinstance(e, ast.Starred) for e in params.elts
        ):
            marks = ", ".join(["%s"] * len(params.elts))
            arguments = ((Lit(f"({marks})", origin, None, 0, node),),)
        else:
            reason = f"the parameters of `{_short(node)}` are only known at run time"
            arguments = concat(
                (
                    ((Lit("(", origin, None, 0, node),),),
                    hole(params, origin, reason, kind="value"),
                    ((Lit(")", origin, None, 0, node),),),
                ),
                node,
                origin,
            )
        value = concat(
            (((Lit("SELECT * FROM ", origin, None, 0, node),),), self.evaluate(name), arguments),
            node,
            origin,
        )
        self.recorded[id(node)] = Sink(node, name, ".callproc()", value, True, self.function)

    def _psycopg2_extras(self, func: ast.expr) -> bool:
        """Whether a call's function is psycopg2.extras' `execute_values` / `execute_batch`
        (imported by name, under another name, or reached through the module)."""
        path = self._external_path(func)
        return path is not None and path in _EXTRAS_PATHS

    def _external_path(self, node: ast.expr) -> str | None:
        """The dotted path of a name imported from outside, as written from its module
        (`pd.io.sql.to_sql` → `pandas.io.sql.to_sql`), or None."""
        if isinstance(node, ast.Attribute):
            base = self._external_path(node.value)
            return None if base is None else f"{base}.{node.attr}"
        if isinstance(node, ast.Name):
            bound = self.lookup(node.id)
            if isinstance(bound, ModuleRef) and not bound.level:
                return bound.name
            if isinstance(bound, ImportedRef) and not bound.module.level:
                return f"{bound.module.name}.{bound.name}"
        return None

    def _frame_call(self, node: ast.Call) -> ast.Call:
        """A pandas or polars call in any spelling as the call the checks read: its function
        form with the frame first (`pd.io.sql.to_sql(df, "t", con)`,
        `pandas.DataFrame.to_sql(df, "t", …)`, `from pandas.io.sql import to_sql`) as the frame's
        method, its table or query given by keyword (`read_sql(sql="t", con=…)`) in its place
        (helper 116: these passed in silence)."""
        name = expression_name(node.func)
        path = self._external_path(node.func) if isinstance(node.func, ast.Name) else None
        if path is not None and path.split(".")[0] in ("pandas", "polars"):
            name = path.rsplit(".", 1)[-1]  # `from pandas import read_sql_table as rst`
        if name not in _FRAME_FIRST:
            return node
        path = path or self._external_path(node.func)
        module = "" if path is None else path.split(".")[0]
        args, keywords = list(node.args), list(node.keywords)
        if module in ("pandas", "polars") and name in _FRAME_WRITES:
            owner = path.split(".")[-2] if path and path.count(".") else ""
            if owner in ("sql", "DataFrame", "LazyFrame", "pandas", "polars"):
                if args and not isinstance(args[0], ast.Starred):
                    args = args[1:]  # the frame
                else:
                    keywords = [k for k in keywords if k.arg not in ("frame", "self")]
        elif module not in ("pandas", "polars") and not isinstance(node.func, ast.Attribute):
            return node  # a function of the project's own of that name
        if not args and any(k.arg == _FRAME_FIRST[name] for k in keywords):
            args = [next(k.value for k in keywords if k.arg == _FRAME_FIRST[name])]
            keywords = [k for k in keywords if k.arg != _FRAME_FIRST[name]]
        if module not in ("pandas", "polars"):
            if args == node.args and keywords == node.keywords:
                return node
            func = node.func  # `df.to_sql(name="t", …)`: the frame's method
        else:  # read as `pandas.to_sql(…)`: the module's own call, on no project object
            func = ast.copy_location(
                ast.Attribute(ast.Name(module, ast.Load()), name, ast.Load()), node.func
            )
        return ast.copy_location(ast.Call(func, args, keywords), node)

    def _texts(self, node: ast.expr) -> list[str] | None:
        """The strings an expression may hold, each wholly constant; None when any part of
        one is known only at run time."""
        if isinstance(node, ast.Constant):
            return [node.value] if isinstance(node.value, str) else None
        texts: list[str] = []
        for alternative in self.evaluate(node):
            if not alternative or any(type(part) is not Lit for part in alternative):
                return None
            texts.append("".join(part.text for part in alternative))  # type: ignore[union-attr]
        return sorted(set(texts)) or None

    def _named_tables(self, node: ast.Call) -> list[ast.Call]:
        """A call naming its table through the module's names (`read_sql_table(T, con)`,
        `Cfg.table`, `names.T`, `f"{T}"`): the same call with each name it may hold written
        in (helper 115: only a literal was read); unchanged when it is not known."""
        node = self._named_columns(node)
        func = node.func
        method = expression_name(func)
        at = 1 if method in ("copy_from", "copy_to") else 0
        if len(node.args) > at and not isinstance(node.args[at], ast.Constant | ast.Starred):
            if any(isinstance(a, ast.Starred) for a in node.args[:at]):
                return [node]
            texts = self._texts(node.args[at])
            if texts:
                calls = []
                for text in texts:
                    named = ast.copy_location(ast.Constant(text), node.args[at])
                    args = [*node.args[:at], named, *node.args[at + 1 :]]
                    call = ast.copy_location(ast.Call(func, args, node.keywords), node)
                    call.end_lineno, call.end_col_offset = node.end_lineno, node.end_col_offset
                    calls.append(call)
                return calls
        return [node]

    def _named_columns(self, node: ast.Call) -> ast.Call:
        """`copy_records_to_table("events", records=rows, columns=EVENT_COLUMNS)` (also
        `self.COLUMNS`, `list(COLUMNS)`, `tuple(…)`) of a tuple or list of constant names: the
        same call with that list written in (h35G: the tenant column listed in a module
        constant was "columns computed at run time", TG002); unchanged when it is not known."""
        keyword = next((k for k in node.keywords if k.arg == "columns"), None)
        if keyword is None or isinstance(keyword.value, ast.List | ast.Tuple):
            return node
        named = keyword.value
        if (
            isinstance(named, ast.Call)
            and isinstance(named.func, ast.Name)
            and named.func.id in ("list", "tuple")
            and self.lookup(named.func.id) is None
            and len(named.args) == 1
            and not named.keywords
        ):
            named = named.args[0]
        if not isinstance(named, ast.Name | ast.Attribute):
            return node
        items = self.items_of(named)
        if items is None or items.keys is not None or not items.ordered or items.subset:
            return node
        names: list[str] = []
        for value in items.values:
            text = _constant_text_of(value)
            if text is None:
                return node
            names.append(text)
        written = ast.copy_location(
            ast.List(
                [ast.copy_location(ast.Constant(n), keyword.value) for n in names], ast.Load()
            ),
            keyword.value,
        )
        keywords = [ast.keyword("columns", written) if k is keyword else k for k in node.keywords]
        call = ast.copy_location(ast.Call(node.func, node.args, keywords), node)
        call.end_lineno, call.end_col_offset = node.end_lineno, node.end_col_offset
        return call

    def _named_attribute(self, node: ast.expr) -> ast.Attribute | None:
        """`getattr(obj, "name")` (the built-in, the name a constant): `obj.name`, placed
        where it is; else None."""
        chosen = _getattr_of(node) if isinstance(node, ast.Call) else None
        if chosen is None or not isinstance(chosen[1], str) or self.lookup("getattr") is not None:
            return None
        return ast.copy_location(ast.Attribute(chosen[0], chosen[1], ast.Load()), node)

    def _unwrapped(self, node: ast.Call) -> ast.Call:
        """The pandas/polars (or table-copy) call a call makes through `getattr(pd,
        "read_sql_table")(…)`, `partial(pd.read_sql_table, con=e)(…)` or a name keeping one
        (`write = df.to_sql; write(…)`): that call, placed where this one is (round 25: these
        passed in silence). One choosing a pandas function at run time is TG009."""
        made = self._unwrapped_calls.get(id(node))
        if made is not None:
            return made
        func, args, keywords = node.func, list(node.args), list(node.keywords)
        for _ in range(8):
            if isinstance(func, ast.Name):
                kept = self.lookup(func.id)
                if not isinstance(kept, FrameMethod):
                    break
                func, args = kept.func, [*kept.args, *args]
                keywords = [*kept.keywords, *keywords]
                continue
            if not isinstance(func, ast.Call):
                break
            inner = self._frame_function(func)
            if inner is None:
                chosen = _getattr_of(func)
                if (
                    chosen is not None
                    and not isinstance(chosen[1], str)
                    and _given_a_connection(args, keywords)
                    and self._may_name_a_sink(chosen[1])
                ):
                    path = self._external_path(chosen[0])
                    if path is not None and path.split(".")[0] in ("pandas", "polars"):
                        reason = (
                            f"the {path.split('.')[0]} function is chosen at run time by "
                            f"`{_short(chosen[1])}`"
                        )
                        self.recorded[id(node)] = Sink(
                            node,
                            func,
                            f"{_short(func)}()",
                            hole(func, self.origin, reason),
                            True,
                            self.function,
                        )
                break
            func = inner.func
            args, keywords = [*inner.args, *args], [*inner.keywords, *keywords]
        if func is node.func or not self._frame_name(func):
            return node
        call = ast.copy_location(ast.Call(func, args, keywords), node)
        call.end_lineno, call.end_col_offset = node.end_lineno, node.end_col_offset
        self._unwrapped_calls[id(node)] = call
        return call

    def _may_name_a_sink(self, node: ast.expr) -> bool:
        """Whether a name computed at run time may be a pandas/polars sink's
        (`getattr(pd, how)`; not `getattr(pd, f"to_{fmt}")`, which only names to_csv and the
        like if no sink name fits it)."""
        for alternative in self.evaluate(node):
            pattern = "".join(
                re.escape(part.text) if type(part) is Lit else ".*" for part in alternative
            )
            if any(re.fullmatch(pattern, name) for name in _FRAME_FIRST):
                return True
        return False

    def _frame_name(self, func: ast.expr) -> bool:
        """Whether a function is a pandas/polars sink or a table copy, by name or as
        imported (`from pandas import read_sql_table as rst`)."""
        name = expression_name(func)
        if name in _FRAME_FIRST or name in _TABLE_COPIES:
            return True
        path = self._external_path(func)
        return path is not None and path.rsplit(".", 1)[-1] in _FRAME_FIRST

    def _frame_function(self, node: ast.Call) -> ast.Call | None:
        """`partial(F, *a, **k)` or `getattr(obj, "name")` of a pandas/polars sink (or table
        copy): the call (F with what is bound so far) it stands for; else None."""
        called = _called_name(node)
        if called != "partial" and isinstance(node.func, ast.Name | ast.Attribute):
            path = self._external_path(node.func)  # `from functools import partial as p`
            called = "partial" if path == "functools.partial" else called
        if called == "partial" and node.args and not isinstance(node.args[0], ast.Starred):
            first = node.args[0]
            if isinstance(first, ast.Call):
                inner = self._frame_function(first)
                if inner is None:
                    return None
                return ast.Call(
                    inner.func, [*inner.args, *node.args[1:]], [*inner.keywords, *node.keywords]
                )
            if isinstance(first, ast.Name):
                kept = self.lookup(first.id)
                if isinstance(kept, FrameMethod):
                    return ast.Call(
                        kept.func,
                        [*kept.args, *node.args[1:]],
                        [*kept.keywords, *node.keywords],
                    )
            if self._frame_name(first):
                return ast.Call(first, node.args[1:], node.keywords)
            return None
        chosen = _getattr_of(node)
        if chosen is not None and isinstance(chosen[1], str):
            attribute = ast.copy_location(ast.Attribute(chosen[0], chosen[1], ast.Load()), node)
            if self._frame_name(attribute):
                return ast.Call(attribute, [], [])
        return None

    def frame_method(self, node: ast.expr) -> FrameMethod | None:
        """What a name keeps when given a pandas/polars sink (`df.to_sql`), a partial or a
        getattr of one."""
        if isinstance(node, ast.Attribute) and self._frame_name(node):
            return FrameMethod(node)
        if isinstance(node, ast.Call):
            inner = self._frame_function(node)
            if inner is not None:
                return FrameMethod(inner.func, tuple(inner.args), tuple(inner.keywords))
        return None

    def _module_function(self, func: ast.Attribute) -> bool:
        """`db.fetch(conn, Q, args)` where `db` is a module of the project and `fetch` a
        function it defines: that function is called (a wrapper, whose SQL parameter need not
        be the first), not a driver's method taking SQL first (round 27: `conn` was the SQL,
        TG009 at every call, and the SQL itself was not checked there)."""
        if not isinstance(func.value, ast.Name):
            return False
        receiver = self.lookup(func.value.id)
        if not isinstance(receiver, ModuleRef | ImportedRef):
            return False
        if self.function is None or func.value.id not in self.env:  # not a local name
            rebound = _rebound(self.module)[0]
            if func.value.id in rebound or _ANY_NAME in rebound:
                return False  # `global db; db = await create_pool()`: maybe the driver's
        if self.module.tree is not None and _replaced(self.module.tree, func.value.id, func.attr):
            return False  # `db.fetch = pool.fetch`: the driver's method in the function's place
        binding = self.index.attribute_of(receiver, func.attr)
        if isinstance(binding, ImportedRef):
            binding = self.index.imported(binding)
        return isinstance(binding, FuncRef)

    def _own_method(self, func: ast.Attribute) -> bool:
        """`self.fetch(conn, Q, args)` (or `Repo.fetch`, `repo.fetch` of a project class made
        here) where the class or a project base defines `fetch`, found before any base from
        outside the project: that method is called (a wrapper, whose SQL parameter need not
        be the first), not a driver's method taking SQL first (round 28: `conn` was read as
        the SQL, TG009 at every call)."""
        receiver = self.binding_of_receiver(func.value)
        if not isinstance(receiver, InstanceRef | ClassRef):
            return False
        order, complete = self.index.bases(receiver.info)
        found = any(func.attr in cls.methods for cls in order)
        return found and (complete or func.attr in receiver.info.methods)

    def beside_driver(self, node: ast.Call, func: ast.Attribute) -> None:
        """`db.fetch(q)` on a receiver of unknown class where the project defines a method
        `fetch` (a `Database.fetch(self, sql, *args)` wrapper that completes or rewrites the
        SQL before its pool's `fetch`): that method may be what runs, so the call is kept as
        one of it too — the SQL it sends checked at this call — beside the driver's reading
        (round 29, outside review h29c: what such a wrapper added was TG009 in it at most)."""
        if (
            self.handle_of(func.value) is not None
            or self.certainty(func) is None
            or not self.index.may_define(func.attr)
            # the wrapper's own call of its pool's method of that name (`self.pool.fetch(…)`
            # in `fetch`): the driver's, not itself again
            or (self.function is not None and self.function.name == func.attr)
            # a receiver named as the driver's own objects are (`conn`, `self.pool`, `cur`):
            # the driver's (a `-- comment` it sends is not joined by the project's normaliser)
            or _DRIVER_OBJECT.fullmatch(_receiver_name(func.value).lower()) is not None
        ):
            return
        self.project_call(node, func)
        recorded = self.recorded.pop(id(node), None)
        if isinstance(recorded, Call):
            recorded.beside_driver = True
            self.beside[id(node)] = recorded

    def sql_method(self, node: ast.Call, func: ast.Attribute) -> None:
        if func.attr == "cursor" and not self.query_cursor(node):
            return  # a DB-API cursor (psycopg's named one: `cursor("dunning")`): no SQL yet
        certain = self.certainty(func)
        if certain is not None:
            self.sink(node, f".{func.attr}()", certain=certain)

    def _http_client(self, receiver: ast.expr) -> bool:
        """A name bound once to an HTTP client made there: tornado's `AsyncHTTPClient()` /
        `HTTPClient()`, httpx's `AsyncClient()` / `Client()`, aiohttp's `ClientSession()`."""
        made: ast.AST | None = receiver
        if isinstance(receiver, ast.Name):
            bound = self.lookup(receiver.id)
            part = (
                bound[0][0]
                if isinstance(bound, tuple) and len(bound) == 1 and len(bound[0]) == 1
                else None
            )
            made = part.node if type(part) is Hole else None
        if isinstance(made, ast.Await):
            made = made.value
        if not isinstance(made, ast.Call):
            return False
        called = _dotted(made.func)
        return called.rsplit(".", 1)[-1] in _HTTP_CLIENTS or called in (
            "httpx.AsyncClient",
            "httpx.Client",
        )

    def _http_test_case(self, receiver: ast.expr) -> bool:
        """`self` in a method of a class derived (directly) from tornado's AsyncHTTPTestCase or
        AsyncHTTPSTestCase, whose `fetch(path)` requests the application under test."""
        function = self.function
        if function is None or function.cls is None or not isinstance(receiver, ast.Name):
            return False
        arguments = (*function.node.args.posonlyargs, *function.node.args.args)
        if not arguments or arguments[0].arg != receiver.id or function.method_kind != "method":
            return False
        return any(
            _dotted(base).endswith(("AsyncHTTPTestCase", "AsyncHTTPSTestCase"))
            for base in function.cls.base_exprs
        )

    def query_cursor(self, node: ast.Call) -> bool:
        """Whether `x.cursor(…)` is asyncpg's `cursor(query, *args)`, which sends its query,
        rather than a DB-API cursor: psycopg's `cursor()` and its named (server-side)
        `cursor("dunning")`, whose SQL comes with `execute()`. A first argument that reads as
        SQL is a query; one with text that does not is a name; one wholly known at run time
        is a query unless the module imports a DB-API driver and not asyncpg."""
        if not node.args or isinstance(node.args[0], ast.Starred):
            return False
        value = self.evaluate(node.args[0])
        texts = [skeleton(alternative).strip() for alternative in value]
        if any(starts_like_sql(text) for text in texts):
            return True
        if any(texts):
            return False  # `cursor("dunning")`, `cursor(f"export-{org}")`: a cursor's name
        drivers = self.drivers()
        return "asyncpg" in drivers or not drivers & _DBAPI_DRIVERS

    def drivers(self) -> frozenset[str]:
        """The top-level packages the module imports (read once per module)."""
        if self._drivers is None:
            names: set[str] = set()
            tree = self.module.tree
            for statement in ast.walk(tree) if tree is not None else ():
                if isinstance(statement, ast.Import):
                    names.update(a.name.split(".")[0] for a in statement.names)
                elif (
                    isinstance(statement, ast.ImportFrom)
                    and statement.module
                    and not statement.level
                ):
                    names.add(statement.module.split(".")[0])
            self._drivers = frozenset(names)
        return self._drivers

    _drivers: frozenset[str] | None = None

    def certainty(self, func: ast.Attribute) -> bool | None:
        """For a query method of a receiver: whether what it is given is surely SQL (else
        only when it reads like SQL); None when it takes no SQL at all."""
        if func.attr not in SQL_METHODS:
            return None
        if func.attr == "query":
            handle = self.handle_of(func.value)
            if handle is not None and handle.kind in ("prepared", "cursor"):
                return None
            return False  # (round 30: `db.query(f"SELECT … {x}")` was no sink)
        if func.attr == "raw":
            # Django's `Tag.objects.raw(sql)` (round 30: no sink, an unpinned raw query passed
            # in silence); `raw` on anything else is no database's
            return True if _django_manager(func.value) else None
        if (
            func.attr == "from_statement"
            and isinstance(func.value, ast.Call)
            and _called_name(func.value) in _BUILDERS
        ):
            return None  # `select(M).from_statement(…)`: a statement, its SQL read where sent
        handle = self.handle_of(func.value)
        if handle is not None and handle.kind in ("prepared", "cursor"):
            return None  # `stmt.fetchval(tenant)`, `cur.fetch(100)`: values, not SQL
        if (
            handle is not None
            and handle.kind == "dbapi-cursor"
            and func.attr not in ("execute", "executemany", "copy_expert")
        ):
            return None
        receiver = _receiver_name(func.value)
        if (
            _http_named(receiver)
            or self._http_test_case(func.value)
            or self._http_client(func.value)
        ):
            return None  # tornado's `http_client.fetch(url)`, an AsyncHTTPTestCase's `self.fetch`
        return (
            func.attr in CERTAIN_METHODS
            or (handle is not None and handle.kind in ("connection", "dbapi-cursor"))
            or _db_named(receiver)
        )

    def query_method(self, node: ast.expr) -> QueryMethod | None:
        """`partial(conn.fetch)` with no SQL bound yet, or a conditional of query methods."""
        if isinstance(node, ast.Call) and _called_name(node) == "partial" and len(node.args) == 1:
            method = node.args[0]
            if isinstance(method, ast.Attribute) and not node.keywords:
                certain = self.certainty(method)
                return None if certain is None else QueryMethod(method.attr, certain)
        if not isinstance(node, ast.IfExp):
            return None
        found: list[QueryMethod] = []
        stack: list[ast.expr] = [node]
        while stack:  # nested conditionals, without recursion
            current = stack.pop()
            if isinstance(current, ast.IfExp):
                stack.extend((current.body, current.orelse))
                continue
            certain = self.certainty(current) if isinstance(current, ast.Attribute) else None
            if certain is None:
                return None
            found.append(QueryMethod(current.attr, certain))  # type: ignore[attr-defined]
        return QueryMethod(found[0].attr, all(m.certain for m in found))

    def _called_through(
        self,
        node: ast.Call,
        maker: ast.Call,
        args: list[ast.expr],
        keywords: list[ast.keyword] | None = None,
    ) -> tuple[ast.Call, ast.Attribute]:
        """`m(conn)` of `m = methodcaller("fetch", *args)`: the call `conn.fetch(*args)` it
        makes, made once per call, maker and arguments."""
        key = hash((id(node), id(maker), len(args), keywords is None))
        call = self._synthetic.get(key)
        if call is None:
            attr = maker.args[0].value  # type: ignore[attr-defined]
            bound = ast.Attribute(value=node.args[0], attr=attr, ctx=ast.Load())
            bound = ast.copy_location(bound, maker)
            given = maker.keywords if keywords is None else keywords
            call = ast.Call(func=bound, args=args, keywords=given)
            call = self._synthetic[key] = ast.copy_location(call, node)
            call.end_lineno, call.end_col_offset = node.end_lineno, node.end_col_offset
        assert isinstance(call.func, ast.Attribute)
        return call, call.func

    def _partials_called(self, func: ast.expr) -> list[ast.Call]:
        """The `functools.partial(F, …)` calls a called expression may be: itself, or what
        the module assigns to a name (`q = partial(run, pool)`, any scope) or to an
        attribute of `self` / `cls` (`self.q = partial(…)` in any method), when the reader
        knows no other value for it."""
        if isinstance(func, ast.Call):
            return [func] if _partial_of(func) else []
        if self.module.tree is None:
            return []
        if isinstance(func, ast.Name):
            known = self.lookup(func.id)
            if known is not None and not isinstance(known, tuple):
                return []  # a function, a class, a query method…: read as such
            kept = _kept_partials(self.module.tree).get(func.id, [])
            return self._own_partials(func.id, kept) or kept
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            receiver = self.binding_of_receiver(func.value)
            if func.value.id in ("self", "cls") and isinstance(receiver, InstanceRef | ClassRef):
                if any(func.attr in c.methods for c in self.index.bases(receiver.info)[0]):
                    return []  # a method of the class: called as such
                return _kept_partials(self.module.tree).get(func.attr, [])
        return []

    def _own_partials(self, name: str, kept: list[ast.Call]) -> list[ast.Call]:
        """Those of the partials kept in `name` that the calling function assigns in its own
        body: the name is then its local (unless declared `global` / `nonlocal`), and another
        function's `fn = partial(…)` is not what it calls (s41: each handler's SQL was said
        once per handler)."""
        function = self.function
        if function is None or not kept:
            return []
        node = function.node
        if name in _declared_global(self.module, node) or any(
            isinstance(n, ast.Nonlocal) and name in n.names for n in ast.walk(node)
        ):
            return []
        return [call for call in kept if _innermost_function(self.module, call) is node]

    def _stored_method(self, stored: Iterable[ast.Attribute]) -> QueryMethod | None:
        """The first of the attributes stored that is a query method taking SQL."""
        for method in stored:
            certain = self.certainty(method)
            if certain is not None and method.attr != "callproc":
                return QueryMethod(method.attr, certain)
        return None

    def _kept_method(self, func: ast.expr) -> QueryMethod | None:
        """A query method the module assigns to the name called (bound by `global`), or to
        the attribute of `self` / `cls` called, when the reader knows no other value for it
        here (`_kept_methods`)."""
        if self.module.tree is None:
            return None
        if isinstance(func, ast.Name):
            known = self.lookup(func.id)
            if func.id in self.env or (known is not None and not isinstance(known, tuple)):
                return None  # a local name, or one read as what it holds
            if func.id not in _rebound(self.module)[0]:
                return None
            return self._stored_method(_kept_methods(self.module.tree).get(func.id, ()))
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
        ):
            receiver = self.binding_of_receiver(func.value)
            if not isinstance(receiver, InstanceRef | ClassRef):
                return None
            if any(func.attr in c.methods for c in self.index.bases(receiver.info)[0]):
                return None  # a method of the class: called as such
            return self._stored_method(_kept_methods(self.module.tree).get(func.attr, ()))
        return None

    def indirect(self, node: ast.Call) -> bool:
        """`partial(conn.fetch, sql, …)`, `getattr(conn, "fetch")(sql)`, `fetch(sql)` after
        `fetch = conn.fetch`: the query method's call, recorded as such."""
        func = node.func
        held = func.value if isinstance(func, ast.Subscript) else None
        if (
            isinstance(func, ast.Call)
            and isinstance(func.func, ast.Attribute)
            and func.func.attr == "get"
        ):
            held = func.func.value  # `ops.get("f")(sql)`
        if isinstance(held, ast.Name):
            kept = self.lookup(held.id)
            if not isinstance(kept, QueryMethod) and self.module.tree is not None:
                # `OPS["f"] = conn.fetch` anywhere in the module (a function registering it):
                # an item of OPS may be that method (h32g)
                kept = self._stored_method(_stored_items(self.module.tree).get(held.id, ()))
            if (
                not isinstance(kept, QueryMethod)
                and self.function is not None
                and held.id not in self.env
                and self.index.changed_outside(held.id, stored=False)
            ):
                # a module's dict whose items another file sets (`OPS["fetch"] = conn.fetch`
                # there): an item may be a query method; what reads like SQL is checked (h33j)
                kept = QueryMethod("fetch", False)
            if isinstance(kept, QueryMethod) and kept.attr != "callproc":
                # a query method kept in a dict, list or tuple, called through an item (h32g)
                self.sink(node, f".{kept.attr}()", certain=kept.certain)
                return True
        if isinstance(func, ast.IfExp):
            chosen = self.query_method(func)
            if chosen is not None and chosen.attr != "callproc":
                # `(conn.fetch if many else conn.fetchrow)(sql)`: the query method chosen there,
                # called at once (h39D: no sink, SQL of any kind went unseen)
                self.sink(node, f".{chosen.attr}()", certain=chosen.certain)
                return True
        makers: tuple[ast.expr, ...] = (func,)
        unknown = False
        if isinstance(func, ast.Name):
            caller = self.lookup(func.id)
            if isinstance(caller, MethodCaller):  # `m = methodcaller("fetch", sql)`, `m(conn)`
                makers = caller.makers
            elif isinstance(caller, tuple) and self.module.tree is not None:
                # a name the module binds to a methodcaller and the reader could not follow
                # (`global M` in a function, `q.M = …` elsewhere): each of the module's, and
                # the name's own value — what a call reads is not known (h33j)
                makers = tuple(_kept_methodcallers(self.module.tree).get(func.id, ()))
                unknown = bool(makers)
        if (
            makers
            and all(_sql_methodcaller(m) for m in makers)
            and len(node.args) == 1
            and not node.keywords
        ):
            # `operator.methodcaller("fetch", sql)(conn)`: conn.fetch(sql) (h32g)
            for maker in makers:
                assert isinstance(maker, ast.Call)
                self.sql_method(*self._called_through(node, maker, maker.args[1:]))
            if unknown:  # conn.fetch(M): its SQL is M's value, computed at run time
                first = makers[0]
                assert isinstance(first, ast.Call)
                self.sql_method(*self._called_through(node, first, [func], keywords=[]))
            return True
        partials = self._partials_called(func)
        if partials:
            # `q = partial(run, pool)` (a name, `self.q`), then `q(sql)`: `run(pool, sql)`, as
            # the project's function reads it (h33e's leftover: `self.q("SELECT …")` unseen)
            for maker in partials:
                key = hash((id(node), id(maker), "partial"))
                call = self._synthetic.get(key)
                if call is None:
                    args = [*maker.args[1:], *node.args]
                    keywords = [*maker.keywords, *node.keywords]
                    call = ast.copy_location(ast.Call(maker.args[0], args, keywords), node)
                    call.end_lineno, call.end_col_offset = node.end_lineno, node.end_col_offset
                    self._synthetic[key] = call
                if id(maker) not in self._partials_open:  # (`q = partial(q, …)`: once)
                    self._partials_open.add(id(maker))
                    try:
                        self.on_call(call)
                    finally:
                        self._partials_open.discard(id(maker))
            return True
        stored = self._kept_method(func)
        if stored is not None:
            # `global F; F = conn.fetch` in a function, `self.q = conn.fetch` in a method, then
            # `F(sql)` / `self.q(sql)` where the reader knows no other value for it (h33j)
            self.sink(node, f".{stored.attr}()", certain=stored.certain)
            return True
        if isinstance(func, ast.Name):
            kept = self.lookup(func.id)
            if isinstance(kept, QueryMethod) and kept.attr == "callproc":
                if node.args or any(k.arg == "procname" for k in node.keywords):
                    self.callproc(node)  # `proc = cur.callproc`, then `proc("purge", (org,))`
                return True
            if isinstance(kept, QueryMethod):
                self.sink(node, f".{kept.attr}()", certain=kept.certain)
                return True
            return False
        if _called_name(node) == "partial" and len(node.args) > 1:
            method = node.args[0]
            certain = self.certainty(method) if isinstance(method, ast.Attribute) else None
            procedure = isinstance(method, ast.Attribute) and self._cursor_callproc(method)
            if certain is None and not procedure:
                return False
            call = self._synthetic.get(id(node))
            if call is None:  # the call the partial object makes, placed at `partial(…)`
                call = ast.Call(func=method, args=node.args[1:], keywords=node.keywords)
                call = self._synthetic[id(node)] = ast.copy_location(call, node)
                call.end_lineno, call.end_col_offset = node.end_lineno, node.end_col_offset
            if procedure:
                self.callproc(call)
            else:
                self.sink(call, f".{method.attr}()", certain=bool(certain))  # type: ignore[attr-defined]
            return True
        if (
            isinstance(func, ast.Call)
            and isinstance(func.func, ast.Name)
            and func.func.id == "getattr"
            and len(func.args) >= 2
            and isinstance(func.args[1], ast.Constant)
            and (func.args[1].value in SQL_METHODS or func.args[1].value == "callproc")
        ):
            attribute = ast.copy_location(
                ast.Attribute(value=func.args[0], attr=func.args[1].value, ctx=ast.Load()), func
            )
            if attribute.attr != "callproc":
                self.sql_method(node, attribute)
            elif self._cursor_callproc(attribute) and (
                node.args or any(k.arg == "procname" for k in node.keywords)
            ):
                self.callproc(node)
            return True
        if (
            isinstance(func, ast.Call)
            and isinstance(func.func, ast.Name)
            and func.func.id == "getattr"
            and self.lookup("getattr") is None
            and len(func.args) == 2
            and not isinstance(func.args[1], ast.Constant)
            and (node.args or any(k.arg in _SQL_KEYWORDS for k in node.keywords))
        ):
            return self._dynamic_method(node, func.args[0], func.args[1])
        return False

    def _dynamic_method(self, node: ast.Call, receiver: ast.expr, name: ast.expr) -> bool:
        """`getattr(conn, method)(query, *args)`: a query method chosen by a name known at run
        time — the dispatcher of a pool wrapper, `_run("fetchrow", query, *args)` (round 30:
        no sink at all, the SQL its callers gave it passed unread). One of the driver's query
        methods when each name it may hold is one; when the name is only known at run time, a
        database's (a receiver named like one, or a connection the module opened) takes its SQL
        first, as `execute` does."""
        names = self._texts(name)
        if names is not None:
            if not all(n in SQL_METHODS for n in names):
                return False
            attribute = ast.Attribute(value=receiver, attr=names[0], ctx=ast.Load())
            self.sql_method(node, ast.copy_location(attribute, node.func))
            return True
        handle = self.handle_of(receiver)
        if handle is not None and handle.kind in ("prepared", "cursor"):
            return False  # `getattr(stmt, how)(tenant)`: values, not SQL
        if not (
            (handle is not None and handle.kind in ("connection", "dbapi-cursor"))
            or _db_named(_receiver_name(receiver))
        ):
            return False
        attribute = ast.copy_location(
            ast.Attribute(value=receiver, attr="execute", ctx=ast.Load()), node.func
        )
        certain = self.certainty(attribute)
        if certain is None:
            return False
        self.sink(node, f"getattr(…, {_short(name)})()", certain=certain)
        return True

    def _cursor_callproc(self, method: ast.Attribute) -> bool:
        """`cur.callproc` of a DB-API cursor (not a project module's or class's `callproc`)."""
        return (
            method.attr == "callproc"
            and not self._module_function(method)
            and not self._own_method(method)
        )

    def sink(
        self,
        node: ast.Call,
        method: str,
        *,
        certain: bool,
        configured: bool = False,
        position: int = 0,
    ) -> None:
        keyword = next((k.value for k in node.keywords if k.arg in _SQL_KEYWORDS), None)
        if position:  # `execute_values(cur, sql, rows)`: the SQL second (its `sql=` else)
            given = node.args[: position + 1]
            if any(isinstance(a, ast.Starred) for a in given):
                reason = f"the SQL is unpacked from `{_short(node)}`"
                unpacked_sql = hole(node, self.origin, reason)
                self.recorded[id(node)] = Sink(
                    node, node, method, unpacked_sql, certain, self.function
                )
                return
            argument = given[position] if len(given) > position else keyword
            if argument is None:
                return
            sent = self.by_class(argument)
            self.recorded[id(node)] = Sink(node, argument, method, sent, certain, self.function)
            return
        argument = (
            node.args[0]
            if node.args
            and not isinstance(node.args[0], ast.Starred)
            and not (configured and keyword is not None)
            else keyword
        )
        if argument is None and not node.args:
            unpacked = next((k.value for k in node.keywords if k.arg is None), None)
            if unpacked is not None:
                # `conn.execute(**kw)`: its `query` (or `sql`) item, if the dict is the
                # module's; else SQL known at run time (helper 115: no sink at all)
                items = self.items_of(unpacked)
                keys = items.keys if items is not None else None
                value = next(
                    (
                        v
                        for k, v in zip(keys or (), items.values if items else (), strict=False)
                        if k in _SQL_KEYWORDS
                    ),
                    None,
                )
                if value is None:
                    value = self._own_kwargs_passed(unpacked)
                if value is None:
                    reason = f"the SQL is unpacked from `**{_short(unpacked)}`"
                    value = hole(unpacked, self.origin, reason)
                self.recorded[id(node)] = Sink(
                    node, unpacked, method, value, certain, self.function
                )
                return
        if argument is None and node.args and isinstance(node.args[0], ast.Starred):
            # `conn.fetch(*build(a, s))`: the SQL is the first item unpacked (helper 113: the
            # call was no sink at all, and its builder's leak passed as proven)
            starred = node.args[0].value
            self.recorded[id(node)] = Sink(
                node, starred, method, self._first_unpacked(starred), certain, self.function
            )
            return
        if argument is None:
            return
        if isinstance(argument, ast.Constant) and not isinstance(argument.value, str):
            return
        value = self.by_class(argument)
        if value and all(_URL_OR_PATH.match(skeleton(a)) for a in value):
            # `client.fetch("https://…/tags")`, `self.fetch(f"/api/tags/{id}")` (tornado's
            # HTTP client and test case): a URL or a path, no SQL (round 30: TG006 errors);
            # no statement starts with `/` but a `/*` comment
            return
        if (
            configured
            and keyword is None
            and len(node.args) > 1
            and not isinstance(node.args[1], ast.Starred)
            and not _sql_like(value)
            and _names_a_connection(argument)
        ):
            # `execute_query(self.conn, where)`: the first argument is the connection (named
            # so), the SQL is the second, whatever it holds (h36D: TG009 said `self.conn` is
            # the SQL, and a constant second argument that does not start like SQL — a
            # `WITH`-less CTE name, a comment first — went unchecked)
            argument = node.args[1]
            value = self.by_class(argument)
        elif configured and keyword is None and not _sql_like(value):
            # a project helper called as `execute_query(conn, "SELECT …")`: the SQL comes later
            for later in node.args[1:]:
                if isinstance(later, ast.Starred):
                    break
                later_value = self.evaluate(later)
                if _sql_like(later_value):
                    argument, value = later, later_value
                    break
        self.recorded[id(node)] = Sink(node, argument, method, value, certain, self.function)

    def _first_unpacked(self, starred: ast.expr) -> Value:
        """The first item of what `*starred` unpacks: of a tuple or list of the module, of the
        tuples a project function returns; else a value known at run time."""
        items = self.items_of(starred)
        if items is not None and items.ordered and items.values:
            return items.values[0]
        collected = self._own_varargs(starred)
        if collected is not None:
            # `conn.fetch(*args, **kwargs)` in `async def fetch_one(self, *args, **kwargs)`:
            # the first argument its callers give past its named ones (round 30: TG009 in the
            # wrapper, and the SQL of `db.fetch_one("SELECT …" + x)` never checked)
            function = self.function
            reason = f"the SQL is the first of the arguments `{collected}` collects"
            return hole(starred, self.origin, reason, param=_VARARGS + collected, owner=function)
        call = starred.value if isinstance(starred, ast.Await) else starred
        returns = self.returning(call.func) if isinstance(call, ast.Call) else None
        given = (
            self._arguments(call) if returns is not None and isinstance(call, ast.Call) else None
        )
        reason = f"the SQL is unpacked from `{_short(starred)}`"
        return hole(starred, self.origin, reason, returns=returns, position=0, given=given)

    def _own_kwargs_passed(self, unpacked: ast.expr) -> Value | None:
        """The running function's own `**kwargs` passed on whole into the sink, `async def
        fetch_kw(**kw): return await database.fetch_all(**kw)`, used nowhere else: the SQL
        its callers give as `query=` (or `sql=`…), a wrapper's parameter (h40D: TG009 there,
        though each caller's SQL was checked); else None."""
        function = self.function
        kwarg = function.node.args.kwarg if function is not None else None
        if (
            function is None
            or kwarg is None
            or not isinstance(unpacked, ast.Name)
            or unpacked.id != kwarg.arg
        ):
            return None
        if not self._as_received(kwarg):
            return None  # bound again
        uses = [n for n in ast.walk(function.node) if isinstance(n, ast.Name) and n.id == kwarg.arg]
        if uses != [unpacked]:
            return None  # read or changed elsewhere (`kw["sql"] = …`, `f(kw)`, a second `**kw`)
        reason = f"the SQL is what the caller gives as `query=` (or `sql=`) in `**{kwarg.arg}`"
        return hole(unpacked, self.origin, reason, param=_KWARG + _ANY_SQL_KEY, owner=function)

    def _own_varargs(self, starred: ast.expr) -> str | None:
        """The name of the running function's `*args` when `starred` is it as the function
        received it (not bound again), else None."""
        function = self.function
        vararg = function.node.args.vararg if function is not None else None
        if vararg is None or not isinstance(starred, ast.Name) or starred.id != vararg.arg:
            return None
        bound = self.lookup(starred.id)
        if not (isinstance(bound, tuple) and len(bound) == 1 and len(bound[0]) == 1):
            return None
        part = bound[0][0]
        return vararg.arg if type(part) is Hole and part.node is vararg else None

    def by_class(self, argument: ast.expr) -> Value:
        """The argument's value; in a method whose `self` may be of several project classes,
        read once for each of them, so that the attributes it reads come from one class
        (`f"SELECT … FROM {self.table} {self.FILTER}"`: a subclass's table with its own
        filter, not with another subclass's)."""
        function = self.function
        if function is None or function.cls is None:
            return self.evaluate(argument)
        if function.method_kind not in ("method", "classmethod"):
            return self.evaluate(argument)
        first = (*function.node.args.posonlyargs, *function.node.args.args)[:1]
        name = first[0].arg if first else ""
        me = self.env.get(name)
        # `cls` of a classmethod: the class it is called on, any project subclass (h37D:
        # `cls.COUNT_SQL.format(table=cls.table)` read one subclass's SQL with another's table)
        of_class = isinstance(me, ClassRef) and me.any_subclass
        if not of_class and (not isinstance(me, InstanceRef) or me.exact):
            return self.evaluate(argument)
        assert isinstance(me, ClassRef | InstanceRef)
        read = {
            node.attr
            for node in ast.walk(argument)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == name
        }
        if len(read) < 2:
            return self.evaluate(argument)  # one attribute: its values are the same either way
        subclasses = self.index._subclasses(me.info)
        if not subclasses:
            return self.evaluate(argument)
        # a class (the base that leaves `table` to its subclasses) whose object lacks one of
        # the attributes, or holds None there, sends nothing (AttributeError) or SQL that fails
        # (`FROM None`): not read on its own, as the one-attribute reading drops it
        classes = [
            cls
            for cls in (me.info, *subclasses)
            if not any(self._lacks(cls, attr, argument) for attr in read)
        ]
        if me.info in classes and any(
            (held := self.index.class_attribute(me.info, attr)) is not None
            and self.index._overridden_everywhere(me.info, subclasses, attr, held)
            for attr in read
        ):
            # `table = ""` on a base no object is made of, every subclass setting its own
            classes.remove(me.info)
        if not classes:
            return self.evaluate(argument)
        values: list[Value] = []
        try:
            for cls in classes:
                self.env[name] = ClassRef(cls) if of_class else InstanceRef(cls, exact=True)
                values.append(self.evaluate(argument))
        finally:
            self.env[name] = me
        return union(values, argument, self.origin)

    def _lacks(self, info: ClassInfo, name: str, node: ast.AST) -> bool:
        """Whether an object of exactly this class has no attribute `name` (its bases all in
        the project, none defining it nor a method of that name nor `__getattr__`, no method
        setting `self.name`) or holds None there (`table = None`)."""
        order, complete = self.index.bases(info)
        if any(
            name in cls.methods or "__getattr__" in cls.methods or "__getattribute__" in cls.methods
            for cls in order
        ):
            return False
        found = self.index.instance_attribute(info, name, node, exact=True)
        return (found is None and complete) or (found is not None and _none_value(found))

    def _builtin_receiver(self, node: ast.expr, receiver: Binding | None) -> bool:
        """Whether an object is surely of a built-in type: a literal or display, or a name or
        class attribute holding constant text or a tuple, list or dict of constants. Its
        methods are not the project's (looking them up by name read every project module that
        defines a `get`)."""
        if isinstance(
            node, ast.Constant | ast.JoinedStr | ast.List | ast.Tuple | ast.Dict | ast.Set
        ):
            return True
        if receiver is None and isinstance(node, ast.Attribute):
            base = self.binding_of_receiver(node.value)
            if isinstance(base, ClassRef):
                receiver = self.index.class_attribute(base.info, node.attr)
            elif isinstance(base, InstanceRef):  # what it is in the class and every subclass
                receiver = self.index.instance_attribute(base.info, node.attr, node)
        if isinstance(receiver, Items | Grown):
            return True
        return isinstance(receiver, tuple) and all(
            type(part) is Lit for alternative in receiver for part in alternative
        )

    def project_call(self, node: ast.Call, func: ast.Attribute | ast.Name) -> None:
        """A call that may reach a project function; its arguments are kept for later."""
        targets: Callable[[], list[FunctionInfo]] | None = None
        bound = guessed = False
        if isinstance(func, ast.Name):
            binding = self.lookup(func.id)
            if isinstance(binding, FuncRef | ImportedRef):
                targets = self.index.callees(binding)
                bound = isinstance(binding, FuncRef) and binding.bound
            elif isinstance(binding, ClassRef) and not binding.any_subclass:
                # `Pages(pool, "SELECT …")`: its `__init__`, a wrapper when a method sends
                # what it keeps of a parameter (h35D)
                targets = self.index.overrides(binding.info, "__init__", exact=True)
                bound = True
        else:
            receiver = self.binding_of_receiver(func.value)
            if isinstance(receiver, InstanceRef | ClassRef):
                targets = self.index.method_callees(receiver.info, func.attr)
                bound = isinstance(receiver, InstanceRef)
            elif isinstance(receiver, ImportedRef) and isinstance(
                instance := self.index.imported(receiver), InstanceRef
            ):
                # `from .database import db` where that module made `db = Database()`: the
                # object's methods (round 30: read as the module's functions, none found, so
                # the SQL given to `db.fetch_one(…)` passed unread)
                targets = self.index.method_callees(instance.info, func.attr)
                bound = True
            elif isinstance(receiver, ModuleRef | ImportedRef):
                targets = self.index.module_callees(receiver, func.attr)
            elif (
                self.index.may_define(func.attr)
                or any(f.name == func.attr for f in self.module.functions)
            ) and not self._builtin_receiver(func.value, receiver):
                # (`"…".replace(…)`, `QUERIES.get(…)`: str's or dict's methods, not the
                # project's; asked only when the project has a method of that name)
                targets = self.index.named_callees(func.attr, self.module)
                bound = True
                guessed = not _db_named(_receiver_name(func.value))
        if targets is None:
            return
        positional: list[tuple[ast.expr, Value] | None] = []
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                positional.append(None)
            else:
                positional.append((argument, self.evaluate(argument)))
        keywords = {
            k.arg: (k.value, self.evaluate(k.value)) for k in node.keywords if k.arg is not None
        }
        recorded = self.recorded[id(node)] = Call(
            node, targets, positional, keywords, self.function, bound, guessed
        )
        keyed: list[tuple[int | str, tuple[ast.expr, Value] | None]] = [
            *enumerate(positional),
            *keywords.items(),
        ]
        for key, given in keyed:
            if given is not None:
                held = self.elements(*given)
                if held is not None:
                    recorded.elements[key] = held
        recorded.sequences.update(self.sequences(node))

    def standard_callee(self, node: ast.expr, module: str, name: str) -> bool:
        """Whether `node` calls `name` of the standard library's `module` as this scope
        imports it (`from types import SimpleNamespace`, `import types; types.SimpleNamespace`),
        not a name of the project's own."""
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if isinstance(func, ast.Name):
            bound = self.lookup(func.id)
            return (
                isinstance(bound, ImportedRef)
                and bound.name == name
                and bound.module.level == 0
                and bound.module.name == module
            )
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            bound = self.lookup(func.value.id)
            return (
                func.attr == name
                and isinstance(bound, ModuleRef)
                and bound.level == 0
                and bound.name == module
            )
        return False

    def binding(self, node: ast.expr) -> Binding:
        """What an assigned expression gives a name: a handle, a reference, or a string value."""
        inner = node.value if isinstance(node, ast.Await) else node
        inner = self.plain_read(inner)
        if (
            self.standard_callee(inner, "types", "MappingProxyType")
            and isinstance(inner, ast.Call)
            and len(inner.args) == 1
            and not inner.keywords
            and (isinstance(inner.args[0], ast.Dict) or self.dict_call(inner.args[0]) is not None)
        ):
            # `MappingProxyType({"list": "SELECT …"})`: a read-only view of the dict it wraps,
            # its items those of the display (h42D: TG009 at `BY_NAME["list"]`)
            inner = inner.args[0]
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
            attr = inner.func.attr
            if attr == "prepare":
                return Handle("prepared")
            if attr == "cursor":
                return Handle("cursor" if self.query_cursor(inner) else "dbapi-cursor")
            if attr in ("acquire", "connect", "create_pool"):
                return Handle("connection")
        frame = self.frame_method(inner)
        if frame is not None:  # `write = df.to_sql`, `reader = partial(pd.read_sql_table, …)`
            return frame
        named = self._named_attribute(inner)
        if named is not None:
            method = self.binding_of_receiver(named)
            if isinstance(method, FuncRef):  # `fetch = getattr(self, "_fetch")`
                return method
        if _sql_methodcaller(inner):
            return MethodCaller((inner,))
        if isinstance(inner, ast.Name):
            found = self.lookup(inner.id)
            if isinstance(found, ImportedRef) and isinstance(self.index.imported(found), tuple):
                # `query = TAGS_FOR_GUILD` imported from another module: its string, so that
                # a branch's `query += " OR …"` merges with it (helper 111: "different kinds
                # of values on different paths", a warning where the OR leaked)
                return self.evaluate(inner)
            if found is not None and not isinstance(found, tuple):
                return found
        if isinstance(inner, ast.Attribute):
            ref = self.binding_of_receiver(inner)
            if ref is not None and not isinstance(ref, tuple):
                return ref
            certain = self.certainty(inner)
            if certain is not None:  # `execute = conn.execute`
                return QueryMethod(inner.attr, certain)
            if self._cursor_callproc(inner):  # `proc = cur.callproc`
                return QueryMethod(inner.attr, True)
        kept = self.query_method(inner)
        if kept is not None:
            return kept
        item_of = _item_holder(inner)
        if item_of is not None and self.module.tree is not None:
            # `f = OPS["fetch"]` / `OPS.get("fetch")` where the module stores a query method
            # in OPS (h33j): f may be that method
            held = self.lookup(item_of.id)
            stored = _stored_items(self.module.tree).get(item_of.id, ())
            kept = held if isinstance(held, QueryMethod) else self._stored_method(stored)
            if kept is not None:
                return kept
        if isinstance(inner, ast.Dict | ast.List | ast.Tuple):
            # `ops = {"f": conn.fetch}`, `[conn.fetch]`: `ops["f"](sql)` calls it (h32g)
            for element in inner.values if isinstance(inner, ast.Dict) else inner.elts:
                if isinstance(element, ast.Attribute):
                    certain = self.certainty(element)
                    if certain is not None:
                        return QueryMethod(element.attr, certain)
        instance = self.instance_of(inner)
        if instance is not None:  # `q = Queries()`: q.by_org() runs Queries.by_org
            return instance
        if isinstance(inner, ast.Subscript | ast.Call):
            record = self.binding_of_receiver(inner)
            if isinstance(record, InstanceRef) and record.given:
                return record  # `q = BY_NAME[name]` of records: any of them (`Items.records`)
        if (
            isinstance(inner, ast.Tuple | ast.List)
            and inner.elts
            and not any(isinstance(e, ast.Starred) for e in inner.elts)
        ):
            rows = _rows(inner.elts)
            return Items(
                tuple(self.evaluate(e) for e in inner.elts),
                None,
                rows=None if rows is None else tuple(tuple(map(self.evaluate, r)) for r in rows),
                records=self.records_made(inner.elts),
            )
        members = _set_display(inner)
        if members is not None:  # `{"a", "b"}`, `frozenset({…})`: read by `in` and `for`
            return Items(tuple(self.evaluate(e) for e in members), None, ordered=False)
        made = self.dict_call(inner) or self.comprehension_items(inner)
        if made is not None:
            return made
        if isinstance(inner, ast.Dict) and inner.keys:
            # constant strings; a name or a member (`{Kind.TAGS: "…"}`) is kept apart from
            # them (`\0Kind.TAGS`): a key chosen at run time reads each value
            keys = [
                k.value
                if isinstance(k, ast.Constant)
                else "\0" + _dotted(k)
                if isinstance(k, ast.Name | ast.Attribute) and _dotted(k)
                else None
                for k in inner.keys
            ]
            if all(isinstance(k, str) for k in keys):
                values = tuple(self.evaluate(v) for v in inner.values)
                records = self.records_made(inner.values)
                return Items(values, tuple(keys), records=records)  # type: ignore[arg-type]
        return self.evaluate(node)

    def comprehension_items(self, node: ast.expr) -> Items | None:
        """A list or dict comprehension over an ordered tuple or list of constants, without a
        condition (`{t: f"SELECT count(*) FROM {t} WHERE …" for t in TABLES}`): its items, as
        the display it makes would give them; a dict's keys must each be one constant
        string. None for anything else."""
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("tuple", "list")
            and self.lookup(node.func.id) is None  # the built-in
            and len(node.args) == 1
            and not node.keywords
            and isinstance(node.args[0], ast.GeneratorExp | ast.ListComp)
        ):
            node = node.args[0]  # `tuple(f.name for f in fields(Row))`: the items it makes
            values = self._mapped_constants(node)
            return None if values is None else Items(tuple(values), None)
        if isinstance(node, ast.ListComp):
            values = self._mapped_constants(node)
            return None if values is None else Items(tuple(values), None)
        if not isinstance(node, ast.DictComp):
            return None
        filtered: list[bool] = []
        made: list[Binding | None] = []

        def read() -> tuple[Value, Value]:
            made.append(self.binding_of_receiver(node.value))  # `{q.name: q for q in NAMED}`
            return self.evaluate(node.key), self.evaluate(node.value)

        pairs = self._each_constant(node, read, filtered)
        if not pairs:
            return None
        records = tuple(r for r in made if isinstance(r, InstanceRef) and r.given)
        keys: list[str] = []
        for key, _ in pairs:
            if not (len(key) == 1 and is_constant(key[0])):
                return None
            keys.append("".join(p.text for p in key[0] if type(p) is Lit))
        if len(set(keys)) != len(keys):
            return None  # (a later key replaces an earlier one's value)
        return Items(
            tuple(v for _, v in pairs),
            tuple(keys),
            subset=bool(filtered),
            records=records if len(records) == len(made) and not filtered else None,
        )

    def dict_call(self, node: ast.expr) -> Items | None:
        """`dict(name="name", new="created_at")` (the builtin, keywords only): its items."""
        if not (
            isinstance(node, ast.Call)
            and _is_name(node.func, "dict")
            and self.lookup("dict") is None
            and not node.args
            and node.keywords
            and all(k.arg is not None for k in node.keywords)
        ):
            return None
        keys = tuple(str(k.arg) for k in node.keywords)
        return Items(tuple(self.evaluate(k.value) for k in node.keywords), keys)

    def items_of(self, node: ast.expr) -> Items | None:
        """The tuple, list or dict of constants an expression names (or displays: `{"a": "x"}
        .get(o)`, `dict(a="x").get(o)`), if it names one."""
        binding: Binding | None = None
        node = self.plain_read(node)
        if isinstance(node, ast.Dict) or self.dict_call(node) is not None:
            binding = self.binding(node)
        elif isinstance(node, ast.Name):
            binding = self.lookup(node.id)
        elif isinstance(node, ast.Attribute):
            binding = self.attribute_binding(node)
        if isinstance(binding, ImportedRef):
            binding = self.index.imported(binding)
        return binding if isinstance(binding, Items) else None

    def handle_of(self, node: ast.expr) -> Handle | None:
        inner = node.value if isinstance(node, ast.Await) else node
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
            if inner.func.attr == "prepare":
                return Handle("prepared")
            if inner.func.attr == "cursor":
                return Handle("cursor" if self.query_cursor(inner) else "dbapi-cursor")
        if isinstance(inner, ast.Name):
            found = self.lookup(inner.id)
            return found if isinstance(found, Handle) else None
        return None


def _names_a_connection(argument: ast.expr) -> bool:
    """Whether an argument is a database's object by its name: `conn`, `self.conn`,
    `self._pool`, `db`, `cursor`, `app.state.db` (the last name of its chain)."""
    node = argument.value if isinstance(argument, ast.Await) else argument
    if isinstance(node, ast.Name):
        return _db_named(node.id)
    if isinstance(node, ast.Attribute):
        return _db_named(node.attr)
    return False


# what starts a program with its arguments: `subprocess.run([...])`, `Popen`, `check_call`,
# `check_output`, `call`; `asyncio.create_subprocess_exec("psql", "-c", sql)`
_RUNNERS = frozenset({"run", "Popen", "call", "check_call", "check_output"})
_PSQL_COMMAND = frozenset({"-c", "--command"})


def _psql_command(node: ast.Call) -> ast.expr | None:
    """The argument a call hands psql as a command to run (`-c SQL`, `--command SQL`,
    `--command=SQL` left out): psql sends it to the server as SQL."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name == "create_subprocess_exec":
        argv: list[ast.expr] = list(node.args)
    elif name in _RUNNERS and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
        argv = list(node.args[0].elts)
    else:
        return None
    program = argv[0] if argv else None
    if not (
        isinstance(program, ast.Constant)
        and isinstance(program.value, str)
        and program.value.rsplit("/", 1)[-1] == "psql"
    ):
        return None
    for flag, after in itertools.pairwise(argv):
        if (
            isinstance(flag, ast.Constant)
            and flag.value in _PSQL_COMMAND
            and not isinstance(after, ast.Starred)
        ):
            return after
    return None


def _innermost_function(module: ModuleInfo, node: ast.AST) -> ast.AST | None:
    """The innermost function of a module whose body a node is written in (by position)."""
    start = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
    found: ast.AST | None = None
    for info in module.functions:
        outer = info.node
        first = (outer.lineno, outer.col_offset)
        last = (outer.end_lineno or 0, outer.end_col_offset or 0)
        if first <= start <= last and (
            found is None or (found.lineno, found.col_offset) < first  # type: ignore[attr-defined]
        ):
            found = outer
    return found
