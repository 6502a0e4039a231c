"""Names and their values as Python computes them, and the calls that send SQL.

One pass over a module follows its statements in order, as the interpreter runs them: an
assignment replaces what a name held before; the bodies of `with`, `try`, `for` and `while` are
straight-line code; after an `if`, a name holds what either branch left in it (every such value
is checked); a loop runs until what its names can hold no longer grows. Function bodies run after
the module body (module constants are set by then), each with its parameters unknown.

Besides strings, a name can stand for a module (`import q`), a name of another module (`from q
import X`), a project function or class, an instance (`self`), or a database handle: a prepared
statement or cursor (their `fetch(…)` methods take values, not SQL) or a connection.

Calls recorded: SQL sinks (query methods, configured `sql_functions`) with the value of their SQL
argument, and calls of project functions and methods, whose arguments are kept until it is known
whether the callee passes a parameter unchanged into a sink (then the call is a sink too).
"""

from __future__ import annotations

import ast
import bisect
import builtins
import dataclasses
import functools
import itertools
import os
import re
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from keyword import iskeyword
from pathlib import Path
from typing import TypeGuard, TypeVar

from tenantguard._patterns import lazy_pattern
from tenantguard.sources.pyvalues import (
    MAX_ALTERNATIVES,
    Alternative,
    Collapse,
    Hole,
    Lit,
    Origin,
    Value,
    concat,
    format_percent,
    format_template,
    formatted,
    formatted_numbers,
    hole,
    integer_value,
    is_constant,
    join_values,
    render_jinja,
    skeleton,
    starts_like_sql,
    substitute_template,
    union,
)

_T = TypeVar("_T")
# `Hole.position` of an item a project generator yields (`for q in statements()`)
_YIELDED = -1

__all__ = [
    "CERTAIN_METHODS",
    "SQL_METHODS",
    "Call",
    "ClassInfo",
    "Consulted",
    "FunctionInfo",
    "ModuleInfo",
    "ProjectIndex",
    "Sink",
    "analyze_module",
    "completes_only",
    "find_module",
    "given_argument",
    "sent_unchanged",
]

# methods whose first argument (or `query=` / `sql=`) is SQL, on any receiver
SQL_METHODS = frozenset(
    {
        "execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany", "prepare",
        "cursor", "copy_from_query", "fetch_all", "fetch_one", "fetch_val", "execute_many",
        "exec_driver_sql", "copy_expert",
        # SQLAlchemy's Session.scalar / scalars, AsyncConnection.stream; pandas' read_sql and
        # read_sql_query (helper 111); read as SQL where their text reads as SQL
        "scalar", "scalars", "stream", "stream_scalars", "read_sql", "read_sql_query",
        # polars' read_database(query, connection) and read_database_uri(query, uri)
        "read_database", "read_database_uri",
        # SQLModel's Session.exec (its execute), SQLAlchemy ORM's `query(X).from_statement(…)`
        # and `select(X).from_statement(…)` (round 30: their SQL was checked only where it
        # read as SQL standing alone)
        "exec", "from_statement",
        # Django's `Model.objects.raw(sql, params)` (a manager's only: see `certainty`)
        "raw",
        # PyGreSQL's, records', dataset's and queries' `db.query(sql)`: SQL where its text
        # reads as SQL only (SQLAlchemy's `db.query(User)` takes a model: see `certainty`)
        "query",
    }
)  # fmt: skip
# the keywords that name a sink's SQL: asyncpg's and psycopg's `query=`, `sql=`; SQLAlchemy's
# `statement=` (`Session.execute`, `Connection.execute`, `scalar`, `scalars`, `stream`, SQLModel's
# `exec`); pg8000's and the DB-API's `operation=` (round 30: `conn.execute(statement=text(q))`
# was no sink at all, its SQL checked only where it read as SQL standing alone)
_SQL_KEYWORDS = frozenset({"query", "sql", "statement", "operation"})
# calls that copy a table named by a string: asyncpg's `copy_to_table`,
# `copy_records_to_table` (in) and `copy_from_table` (out), psycopg2's `copy_from` (in) and
# `copy_to` (out)
_TABLE_COPIES = frozenset(
    {
        "copy_to_table", "copy_records_to_table", "copy_from_table", "copy_from", "copy_to",
        # pandas: `read_sql_table(table, con)` reads all of it, `df.to_sql(table, con)` writes
        # the frame's rows with whatever tenant they hold (helper 113)
        "read_sql_table", "to_sql",
        # polars: `df.write_database(table_name, connection)` (helper 116)
        "write_database",
    }
)  # fmt: skip
# pandas' and polars' calls in their function forms, as the method calls they are read as:
# `pd.io.sql.to_sql(frame, name, con)`, `pandas.DataFrame.to_sql(df, name, …)` take the frame
# first; a table or query given by keyword goes where it would stand by position (helper 116)
_FRAME_WRITES = frozenset({"to_sql", "write_database"})
_FRAME_FIRST = {
    "read_sql": "sql", "read_sql_query": "sql", "read_sql_table": "table_name",
    "to_sql": "name", "write_database": "table_name",
    "read_database": "query", "read_database_uri": "query",
}  # fmt: skip
# raw SQL of libraries over asyncpg and psycopg, SQL first: encode/databases'
# `database.iterate(query)` (beside its fetch_all / fetch_one / execute_many), Tortoise ORM's
# `conn.execute_query(sql, values)`, `execute_query_dict`, `execute_script`, peewee's
# `db.execute_sql(sql, params)`; read as sinks when no file of the project defines a function
# or method of that name (else it is the project's: `execute_query(conn, sql)` helpers)
_LIBRARY_SQL_METHODS = frozenset(
    {"iterate", "execute_query", "execute_query_dict", "execute_script", "execute_sql"}
)
# psycopg2.extras' helpers that send SQL given second, after the cursor: `execute_values(cur,
# "INSERT … VALUES %s", rows)`, `execute_batch(cur, sql, argslist)` (or `sql=`)
_EXTRAS_SENDERS = frozenset({"execute_values", "execute_batch"})
_EXTRAS_PATHS = frozenset(f"psycopg2.extras.{n}" for n in _EXTRAS_SENDERS)
# psycopg 3's `cursor.copy("COPY … FROM STDIN")`: SQL on a cursor only (`copy.copy(x)`,
# `d.copy()` are no SQL)
_CURSOR_METHODS = frozenset({"copy"})
_TABLE_NAME = lazy_pattern(r"[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?")
_CURSOR_RECEIVER = lazy_pattern(r"cur")
# names only database drivers use: an argument there is SQL whatever the receiver is called
CERTAIN_METHODS = frozenset(
    {
        "fetch",
        "fetchrow",
        "fetchval",
        "fetchmany",
        "copy_from_query",
        "fetch_val",
        "exec_driver_sql",
        "copy_expert",
        "read_database",
        "read_database_uri",
    }
)
# names of the driver's own objects (a connection, a pool, a cursor, a transaction)
_DRIVER_OBJECT = lazy_pattern(r"_*(?:conn|connection|pool|cur|cursor|tx|txn|transaction|con|pg)\d*")
# a word of a receiver's name that names a database's object: `db`, `conn`, `pool`, `cur`, `tx`
# and their compounds (`mydb`, `dbconn`, `pgpool`, `asyncpg`, `conns`); read word by word —
# `read_db`, `dbSession`, `conn2` — so that `container`, `context`, `controller`, `security`,
# `sandbox` or `feedback` are not databases (round 30: their `execute(command)` was TG009)
_DB_WORD = lazy_pattern(
    r"(?:conn|connection|connector|pool|db|database|tx|txn|transaction|con|pg|cur|curs|cursor)s?"
    r"|(?!gdb$)[a-z]*db|db[a-z]*|pg[a-z]*|[a-z]*pg|conn[a-z]*|[a-z]*conn|[a-z]*pool|database[a-z]*"
)
_CAMEL = lazy_pattern(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_LETTERS = lazy_pattern(r"[^A-Za-z]+")
# query builders (SQLAlchemy Core, ORM): a statement object, not SQL text the tool can read
_BUILT = "is a query builder's statement, not SQL text"
_BUILDERS = frozenset(
    {"select", "insert", "update", "delete", "union", "union_all", "exists", "lateral", "values"}
)
# a log call's method: what it is given is a message (`log.info(command)`, `logger.debug(…)`)
_LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"}
)
_MESSAGE_FUNCTIONS = frozenset({"print", "warn", "echo", "secho"})
# a tracer's span attributes and events, an error tracker's messages and breadcrumbs
_TELEMETRY_METHODS = frozenset(
    {"set_attribute", "set_attributes", "add_event", "set_tag", "capture_message", "add_breadcrumb"}
)
# string methods whose argument is text looked for in the receiver
_TEXT_PROBES = frozenset({"startswith", "endswith", "removeprefix", "removesuffix"})
_TELEMETRY_RECEIVER = lazy_pattern(r"span|trace|sentry|telemetry|otel|scope")
# DB-API drivers whose `cursor(name)` takes a cursor's name, not SQL
_DBAPI_DRIVERS = frozenset(
    {"psycopg", "psycopg2", "psycopg2cffi", "pg8000", "aiopg", "psycopg_pool"}
)
_EXCEPTION_NAME = lazy_pattern(r"(?:Error|Exception|Warning|Exit)$")
_STRIPS = frozenset({"strip", "lstrip", "rstrip", "as_string"})
_TRANSPARENT = frozenset({"mogrify", "text", "SQL"})
# what changes only the indentation of a text (`textwrap.dedent`, `inspect.cleandoc`)
_UNINDENTS = frozenset({"dedent", "cleandoc"})
# the drivers and toolkits whose `text` / `SQL` an alias may name
_TEXT_MODULES = frozenset({"sqlalchemy", "psycopg", "psycopg2", "sqlmodel"})
# bases outside the project that give a class no attribute the SQL may read
_NO_ATTRIBUTES_BASES = frozenset({"object", "Generic", "Protocol", "ABC", "NamedTuple"})
# SQLAlchemy's TextClause methods that return the same SQL with values or result types bound
_TEXT_CLAUSE_METHODS = frozenset({"bindparams", "columns", "execution_options", "params"})
# calls that change a list or a dict in place: its items are then not what it was built with
_MUTATORS = frozenset(
    {"append", "extend", "insert", "update", "setdefault", "__setitem__", "clear", "pop"}
    | {"popitem", "remove", "reverse", "sort", "__iadd__", "__ior__", "add", "discard"}
    | {"difference_update", "intersection_update", "symmetric_difference_update"}
)
# an enum's methods that make its members' text, or operators on them (`Q.PIN + "…"`): a
# member written without `.value` is what they return
_TEXT_DUNDERS = frozenset(
    """__str__ __format__ __repr__ __add__ __radd__ __mod__ __rmod__ __mul__ __rmul__
    __getitem__ __iter__ __getattribute__ __getattr__ __class_getitem__""".split()  # noqa: SIM905
)
_MAX_DEPTH = 60  # nesting of one string expression the evaluation follows
_RETURN_DEPTH = 4  # calls inside returned values followed, one inside the other
# an `enumerate` index (from 0) on a pass after the first: past 0
_PAST_FIRST = "a number `enumerate` counts, past its first"
_PASS_SEQUENCES = 24  # lists a loop's appends are read as, pass by pass, at most
_LOOP_ROUNDS = 3  # rounds of a loop body before its changing names count as unknown
_UNROLLED = 16  # passes of a branchless loop over constants read one by one


# what a name can stand for besides a string


@dataclass(frozen=True, slots=True)
class ModuleRef:
    """`import a.b` or `from . import b`: resolved to a file when used."""

    name: str  # dotted name as written after `from`/`import` (may be empty with `level`)
    level: int
    importer: str | None  # the importing file


@dataclass(frozen=True, slots=True)
class ImportedRef:
    """`from q import X`: X's binding in q, resolved when used."""

    module: ModuleRef
    name: str


@dataclass(frozen=True, slots=True, eq=False)
class FuncRef:
    info: FunctionInfo
    # a method read off an object (`fetch = self._fetch`): calling it passes no `self`
    bound: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class ClassRef:
    info: ClassInfo
    # `cls` in a classmethod: the class it is called on, which may be any project subclass
    any_subclass: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class InstanceRef:
    info: ClassInfo
    # made here by calling the class (`Queries()`): of that class itself, so a subclass's
    # override is not what it runs (`self` in a method may be of any subclass)
    exact: bool = False
    # made by calling the class with no arguments: a dataclass's fields hold their defaults
    bare: bool = False
    # made by calling a dataclass or a NamedTuple with arguments the reader maps to its
    # fields (`Query("SELECT …", name="x")`): each field given, with its value
    given: tuple[tuple[str, Value], ...] = ()


@dataclass(frozen=True, slots=True)
class Handle:
    """A database object: "prepared" and "cursor" (asyncpg: their methods take values, not
    SQL), "dbapi-cursor" (`execute(sql)` takes SQL, `fetchmany(n)` does not), "connection"."""

    kind: str


@dataclass(frozen=True, slots=True, eq=False)
class Items:
    """A tuple, list or dict display whose items are read one by one (`QUERIES["lead"]`,
    `for q in STEPS`, `" ".join(CLAUSES)`): each item's value, a dict's by its key."""

    values: tuple[Value, ...]
    keys: tuple[str, ...] | None  # a dict's constant keys; None for a tuple or a list
    # False for a set (`{"a", "b"}`, `frozenset(…)`): its order is not the order written, so
    # it is read item by item (`in`, `for`) but never joined or indexed
    ordered: bool = True
    # items that are tuples of one width (`[("patients", "SELECT …"), …]`): each one's values,
    # for `for name, sql in ROWS`
    rows: tuple[tuple[Value, ...], ...] | None = None
    # some of these items, in this order: a dict comprehension with a condition kept those
    # that passed it (`{k: v for k, v in fields.items() if v is not None}`)
    subset: bool = False


@dataclass(frozen=True, slots=True)
class Grown:
    """A list a function builds and grows with `.append()` / `.extend()` as it runs
    (`constraints.append("…")` under the filters a request sets): its items on each path."""

    lists: tuple[tuple[Value, ...], ...]


def _yielded(binding: object) -> bool:
    """What a call of project generators yields (read once their bodies have run)."""
    return (
        isinstance(binding, tuple)
        and len(binding) == 1
        and len(binding[0]) == 1
        and type(binding[0][0]) is Hole
        and binding[0][0].position == _YIELDED
    )


def _unknown(binding: object) -> bool:
    """A value wholly computed at run time: one alternative of one hole."""
    return (
        isinstance(binding, tuple)
        and len(binding) == 1
        and isinstance(binding[0], tuple)
        and len(binding[0]) == 1
        and type(binding[0][0]) is Hole
    )


def _appended_to(before: Grown, after: object) -> bool:
    """Whether each list `after` may hold is one of `before`'s with items appended."""
    return isinstance(after, Grown) and all(
        any(items[: len(old)] == old for old in before.lists) for items in after.lists
    )


def _straight(body: list[ast.stmt]) -> bool:
    """Whether a loop body runs each of its statements on every pass: no branch, loop,
    `try`, `break`, `continue` or `return` (a `with` of such statements is one too)."""
    for statement in body:
        if isinstance(statement, ast.With | ast.AsyncWith):
            if not _straight(statement.body):
                return False
        elif not isinstance(
            statement, ast.Expr | ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Pass
        ):
            return False
    return True


def _may_leave(statement: ast.stmt) -> bool:
    """Whether a statement of a loop body may end the pass early (a `continue`, `break`,
    `return` or `raise` in it, outside the loops and functions it defines)."""
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Continue | ast.Break | ast.Return | ast.Raise):
            return True
        if node is not statement and isinstance(
            node, ast.For | ast.AsyncFor | ast.While | ast.FunctionDef | ast.AsyncFunctionDef
        ):
            continue
        if node is not statement and isinstance(node, ast.Lambda | ast.ClassDef):
            continue
        pending.extend(ast.iter_child_nodes(node))
    return False


def _tested_for_items(test: ast.expr, builtin_len: bool) -> tuple[str, bool] | None:
    """The name a test reads for holding items (`rows`, `not rows`, `len(rows)`, `not
    len(rows)`, `len` read as the built-in when `builtin_len`), and whether the test is true
    when it holds some."""
    holds = True
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, holds = test.operand, not holds
    if (
        builtin_len
        and isinstance(test, ast.Call)
        and isinstance(test.func, ast.Name)
        and test.func.id == "len"
        and len(test.args) == 1
        and not test.keywords
    ):
        test = test.args[0]
    return (test.id, holds) if isinstance(test, ast.Name) else None


def _iterated_name(iterable: ast.expr) -> str | None:
    """The name a `for` goes over, alone or numbered (`rows`, `enumerate(rows)`)."""
    if (
        isinstance(iterable, ast.Call)
        and isinstance(iterable.func, ast.Name)
        and iterable.func.id == "enumerate"
        and iterable.args
    ):
        iterable = iterable.args[0]
    return iterable.id if isinstance(iterable, ast.Name) else None


def _appended_every_time(body: list[ast.stmt]) -> set[str]:
    """The names of lists a loop body grows on every pass (`name.append(…)` among its
    statements, or in the body of a `with` or `try` there): those lists hold all the items
    the passes give, not any one of them (`for col in ("guild_id", "id"):
    keys.append(f"{col} = ${n}")` holds both)."""
    names: set[str] = set()
    for statement in body:
        if _may_leave(statement):
            break  # `if key not in allowed: continue` before it: not every pass appends
        if isinstance(statement, ast.With | ast.AsyncWith | ast.Try | ast.TryStar):
            names |= _appended_every_time(statement.body)
        elif (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Attribute)
            and statement.value.func.attr in ("append", "extend")
            and isinstance(statement.value.func.value, ast.Name)
        ):
            names.add(statement.value.func.value.id)
        elif (concatenated := _concatenated_name(statement)) is not None:
            names.add(concatenated)
    return names


def _added_display(items: ast.expr | None) -> bool:
    """A list or tuple display with no starred item: what `extend` / `+=` add, item by item."""
    return isinstance(items, ast.List | ast.Tuple) and not any(
        isinstance(e, ast.Starred) for e in items.elts
    )


def _concatenation_of(name: str, value: ast.expr | None) -> ast.expr | None:
    """The display `name + [x]` adds to `name` (assigned back to it: `name = name + [x]`)."""
    if (
        isinstance(value, ast.BinOp)
        and isinstance(value.op, ast.Add)
        and isinstance(value.left, ast.Name)
        and value.left.id == name
        and _added_display(value.right)
    ):
        return value.right
    return None


def _concatenated_name(statement: ast.AST | None) -> str | None:
    """The name a statement grows by a display (`name += [x]`, `name = name + [x]`)."""
    if (
        isinstance(statement, ast.AugAssign)
        and isinstance(statement.op, ast.Add)
        and isinstance(statement.target, ast.Name)
        and _added_display(statement.value)
    ):
        return statement.target.id
    if (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and _concatenation_of(statement.targets[0].id, statement.value) is not None
    ):
        return statement.targets[0].id
    return None


def _loop_items(before: Grown, after: object, node: ast.AST, origin: Origin) -> Value | None:
    """Any one of the items a loop appends to a list (`after` holds the lists its rounds
    left), when each is text of constants — numbers counted at run time (`${i}`) included:
    `updates.append(f"{field} = ${i}")` for `field` over constant names. Items joined into a
    statement (`", ".join(updates)`, `" AND ".join(conditions)`) are then checked one by one:
    an item that drops the pin or moves a row (`org_id = $2` in a SET) does it alone. None
    when an item holds text known only at run time (a key of a request's dict)."""
    if not isinstance(after, Grown):
        return None
    found: dict[Value, None] = {}
    for items in after.lists:
        start = max((len(old) for old in before.lists if items[: len(old)] == old), default=0)
        for item in items[start:]:
            for alternative in item:
                for part in alternative:
                    if type(part) is Hole and part.string:
                        return None
            found[item] = None
    if not found:
        return None
    value = union(list(found), node, origin)
    if len(value) == 1 and len(value[0]) == 1 and type(value[0][0]) is Hole:
        return None  # over the cap
    return value


def _pass_sequences(
    before: Grown, first: object, after: object
) -> tuple[tuple[Value, ...], ...] | None:
    """What a loop that appends on every pass adds to a list, pass by pass: each sequence
    its first pass appends (`first` holds the lists it left), alone and followed by what
    later passes append (`after` holds the lists its rounds left), so that a pass appending
    `f"name = ${k}"` then `"OR"` is read `name = $2 OR name = $3 OR`, never `OR name = $2`.
    None when an item holds text known only at run time, or past a few sequences."""
    if not isinstance(first, Grown) or not isinstance(after, Grown):
        return None

    def suffixes(
        olds: tuple[tuple[Value, ...], ...], lists: tuple[tuple[Value, ...], ...]
    ) -> list[tuple[Value, ...]] | None:
        found: dict[tuple[Value, ...], None] = {}
        for items in lists:
            start = max((len(old) for old in olds if items[: len(old)] == old), default=-1)
            if start < 0:
                return None
            if len(items) > start:
                found[items[start:]] = None
        return list(found)

    firsts = suffixes(before.lists, first.lists)
    laters = suffixes(first.lists, after.lists)
    if not firsts or not laters or len(firsts) * (len(laters) + 1) > _PASS_SEQUENCES:
        return None
    for sequence in (*firsts, *laters):
        for item in sequence:
            for alternative in item:
                if any(type(part) is Hole and part.string for part in alternative):
                    return None
    return (*firsts, *(a + b for a in firsts for b in laters))


@dataclass(frozen=True, slots=True)
class QueryMethod:
    """A query method kept in a name (`execute = conn.execute`): calling it sends SQL."""

    attr: str
    certain: bool


@dataclass(frozen=True, slots=True)
class FrameMethod:
    """A pandas/polars (or table-copy) call kept in a name with what it is given so far
    (`write = df.to_sql`, `reader = partial(pd.read_sql_table, con=engine)`,
    `write = getattr(df, "to_sql")`): calling the name makes that call."""

    func: ast.expr
    args: tuple[ast.expr, ...] = ()
    keywords: tuple[ast.keyword, ...] = ()


# what a wrapper's parameter reaches: (the call it reaches, whether that is surely SQL, the
# alternatives it is sent in, its hole in each: `((hole,),)` when it is sent unchanged)
Reach = tuple[str, bool, Value]


@dataclass(frozen=True, slots=True)
class FilePath:
    """A file of the project a loop goes over (`for p in SQL_DIR.glob("*.sql")`): its
    absolute path, so that `p.stem` and `p.read_text()` are known."""

    path: str


@dataclass(frozen=True, slots=True, eq=False)
class MethodCaller:
    """`operator.methodcaller("fetch", sql)` kept in a name: calling the name with a
    connection calls its query method (h32g); one of several, as paths bind the name
    (`M = methodcaller(…)` then again, or under an `if`)."""

    makers: tuple[ast.Call, ...]


def _sql_methodcaller(node: ast.expr) -> TypeGuard[ast.Call]:
    """`operator.methodcaller("fetch", …)`: a caller of a query method."""
    return (
        isinstance(node, ast.Call)
        and _called_name(node) == "methodcaller"
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value in SQL_METHODS
    )


Binding = (
    Value
    | MethodCaller
    | FilePath
    | ModuleRef
    | ImportedRef
    | FuncRef
    | ClassRef
    | InstanceRef
    | Handle
    | Items
    | Grown
    | QueryMethod
    | FrameMethod
)


@dataclass(eq=False)
class Sink:
    """A call that sends the SQL of `argument`."""

    call: ast.Call
    argument: ast.expr
    method: str  # what it is called, for messages (`.fetch()`, `execute_query()`)
    value: Value
    certain: bool  # the argument is SQL whatever it holds (else: only when it reads like SQL)
    owner: FunctionInfo | None  # the function it sits in
    # the parameters sent with the SQL, as the call that reaches the driver gives them (a
    # wrapper's caller: what it passes for the wrapper's parameter the driver gets unchanged)
    params: ast.expr | None = None
    # a statement a callee builds from constants this call gives (`exists(curs, "workspace",
    # id)`): its text is checked here, what it holds known only at run time is said there
    built: bool = False


@dataclass(eq=False)
class Call:
    """A call of a project function or method: a sink when the callee is a wrapper."""

    call: ast.Call
    targets: Callable[[], list[FunctionInfo]]  # the callees, resolved when needed
    positional: list[tuple[ast.expr, Value] | None]  # None: a starred argument
    keywords: dict[str, tuple[ast.expr, Value]]
    owner: FunctionInfo | None
    bound: bool  # called on an instance or class: the callee's first parameter is not passed
    # the callee is guessed by the method's name (the receiver's class is unknown), and the
    # receiver does not look like a database: a value computed at run time there may not be SQL
    guessed: bool = False
    # a project method named like a driver's (`self.fetchval(Q, g)`): where no callee turns
    # out a wrapper (it sends through `getattr(self.pool, name)`), its first argument is read
    # where it reads as SQL, as the driver's method was (round 28, outside review h28e)
    driver: bool = False
    # a driver's method on a receiver of unknown class, read as the driver's too (its own
    # sink): a callee that sends the SQL unchanged adds nothing to that reading
    beside_driver: bool = False
    # the items each argument holds, by position or keyword, where known (`["UPDATE …"]`)
    elements: dict[int | str, Value] = field(default_factory=dict)


@dataclass(eq=False)
class FunctionInfo:
    name: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    module: ModuleInfo
    cls: ClassInfo | None
    parameters: list[str]  # every parameter, in order
    positional: list[str]  # those a caller can pass by position
    method_kind: str  # "function", "method", "classmethod", "staticmethod"
    sinks: list[Sink] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    # parameter -> (what it reaches, certain, the SQL sent with it: its template, see
    # passed_parameters)
    wrapper: dict[str, Reach] | None = None
    # what its `return`s give, by statement (None: one gives something that is not read)
    returns: dict[int, Value] | None = field(default_factory=dict)
    # what its `return a, b` give, item by item (None for an item that is not text; the dict
    # None: a return of something else, or of another width)
    tuple_returns: dict[int, tuple[Value | None, ...]] | None = field(default_factory=dict)
    # what its `yield`s give, by expression (None: one gives something that is not read, or
    # it has a `yield from`): the items of the generator a call makes
    yields: dict[int, Value] | None = field(default_factory=dict)
    # the function whose body defines this one (its parameters are this one's closure)
    enclosing: FunctionInfo | None = None
    nested: list[FunctionInfo] = field(default_factory=list)

    def within(self, owner: object) -> bool:
        """Whether this function is `owner` or is defined in its body (at any depth)."""
        current: FunctionInfo | None = self
        while current is not None:
            if current is owner:
                return True
            current = current.enclosing
        return False

    def reads_from(self, owner: object) -> bool:
        """Whether this function reads `owner`'s parameters: it is `owner` or defined in its
        body, or `owner` is its class's `__init__` (what it keeps on `self`, h35D)."""
        if self.within(owner):
            return True
        if not (isinstance(owner, FunctionInfo) and owner.name == "__init__" and owner.cls):
            return False
        current: FunctionInfo | None = self
        while current is not None:
            if current.cls is owner.cls:
                return True
            current = current.enclosing
        return False


@dataclass(eq=False)
class ClassInfo:
    name: str
    node: ast.ClassDef
    module: ModuleInfo
    attributes: dict[str, Binding] = field(default_factory=dict)
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    base_exprs: list[ast.expr] = field(default_factory=list)
    base_env: dict[str, Binding] = field(default_factory=dict)  # names the bases are read in
    top: bool = True  # defined by the module's body (not inside a function, whose body runs later)
    # a dataclass's fields' defaults (an attribute is a hole: a constructor may give another)
    defaults: dict[str, Binding] = field(default_factory=dict)
    # the fields its constructor takes, in order, when the reader knows them (a dataclass or a
    # NamedTuple of the project with no project base, no `__init__`/`__post_init__`…): None
    # otherwise; `kw_only` when positional arguments do not map to them
    fields: tuple[str, ...] | None = None
    kw_only: bool = False
    _instance: dict[str, Value] | None = None
    _order: tuple[list[ClassInfo], bool] | None = None


@dataclass(eq=False)
class ModuleInfo:
    origin: Origin
    tree: ast.Module | None
    env: dict[str, Binding] = field(default_factory=dict)
    ever: dict[str, Binding] = field(default_factory=dict)
    # each class (or import) a module-level name is bound to on some path (`try: Base = Repo
    # except ImportError: Base = object`): a base named by it is each of those
    renames: dict[str, list[Binding]] = field(default_factory=dict)
    classes: list[ClassInfo] = field(default_factory=list)
    functions: list[FunctionInfo] = field(default_factory=list)
    sinks: list[Sink] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    copies: list[ast.Call] = field(default_factory=list)
    strings: list[ast.Constant | ast.JoinedStr] = field(default_factory=list)
    # constant strings joined by `+` (`BASE + "WHERE tenant_id = $1"`): one string each, with
    # what it evaluates to where it stands (its operands are not strings of their own)
    folds: list[tuple[ast.expr, Value]] = field(default_factory=list)
    messages: set[int] = field(default_factory=set)  # ids of strings in log and error messages
    docstrings: set[int] = field(default_factory=set)
    exports: list[str] | None = None  # `__all__` when it is a list of constant strings
    _mutated: frozenset[str] | None = None  # names whose list or dict the module changes
    _rebound: tuple[frozenset[str], frozenset[str]] | None = None  # see _rebound()
    _nonlocals: dict[int, frozenset[str]] | None = None  # see _function_nonlocals()
    # function bodies not run yet (a module read for its names runs them when they are needed)
    functions_pending: _Walker | None = None
    unfollowable: bool = False  # its function bodies could not be followed (nested too deeply)
    # the literals its check reads as SQL standing alone, and what it finds at each (by the
    # analyzer asked: see python.py's `_ModuleCheck.said_where_written`)
    alone: dict[
        int, dict[tuple[int, int, int | None, int | None], frozenset[tuple[str, int, int]]]
    ] = field(default_factory=dict)

    @property
    def path(self) -> str | None:
        return self.origin.path


def _imports_django(module: ModuleInfo) -> bool:
    """Whether the module's body imports Django (`from django.db import models`)."""
    return module.tree is not None and any(
        (isinstance(s, ast.ImportFrom) and (s.module or "").split(".")[0] == "django")
        or (isinstance(s, ast.Import) and any(a.name.split(".")[0] == "django" for a in s.names))
        for s in module.tree.body
    )


def _made_class(node: ast.Assign) -> ast.ClassDef | None:
    """`Inv = type("Inv", (Repo,), {"table": "invoices"})` (or `dict(table=…)`) as the class
    statement it makes: its bases, and its attributes assigned in its body (helper 116: the
    table it set never reached the base's query)."""
    value = node.value
    if not (
        len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "type"
        and len(value.args) == 3
        and not value.keywords
        and isinstance(value.args[1], ast.Tuple)
        and not any(isinstance(b, ast.Starred) for b in value.args[1].elts)
    ):
        return None
    given = value.args[2]
    items: list[tuple[str, ast.expr]] = []
    if isinstance(given, ast.Dict):
        for key, item in zip(given.keys, given.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return None  # `**more`, a key computed: not the class the text shows
            items.append((key.value, item))
    elif (
        isinstance(given, ast.Call)
        and isinstance(given.func, ast.Name)
        and given.func.id == "dict"
        and not given.args
        and all(k.arg for k in given.keywords)
    ):
        items = [(str(k.arg), k.value) for k in given.keywords]
    else:
        return None
    body: list[ast.stmt] = [
        ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], item), item)
        for name, item in items
        if name.isidentifier()
    ]
    made = ast.ClassDef(
        name=node.targets[0].id,
        bases=list(value.args[1].elts),
        keywords=[],
        body=body or [ast.copy_location(ast.Pass(), node)],
        decorator_list=[],
    )
    return ast.fix_missing_locations(ast.copy_location(made, node))


def _common_start(lists: Sequence[tuple[Value, ...]]) -> tuple[Value, ...]:
    """The items every list starts with, in order."""
    first = lists[0]
    length = 0
    while length < len(first) and all(
        len(other) > length and other[length] == first[length] for other in lists[1:]
    ):
        length += 1
    return first[:length]


def _merge(a: Binding | None, b: Binding | None, node: ast.AST, origin: Origin) -> Binding | None:
    if a is None:
        return b
    if b is None or a is b or a == b:
        return a
    if isinstance(a, tuple) and isinstance(b, tuple):
        return union((a, b), node, origin)
    if isinstance(a, MethodCaller) and isinstance(b, MethodCaller):
        return MethodCaller(tuple(dict.fromkeys((*a.makers, *b.makers))))
    if isinstance(a, Grown) and isinstance(b, Grown):
        lists = tuple(dict.fromkeys((*a.lists, *b.lists)))
        if len(lists) > MAX_ALTERNATIVES:
            reason = f"the list can hold more than {MAX_ALTERNATIVES} contents"
            # the items every list starts with stay (`["tenant_id = $1"]` before optional
            # filters: the pin), the rest is one unknown item (round 22, helper 106: a ninth
            # filter dropped the pin, and a safe search became four TG001 errors)
            common = _common_start(lists)
            if common:
                return Grown(((*common, hole(node, origin, reason)),))
            return hole(node, origin, reason)
        return Grown(lists)
    return hole(node, origin, "it holds different kinds of values on different paths")


def _merge_envs(
    envs: Sequence[dict[str, Binding] | None], node: ast.AST, origin: Origin
) -> dict[str, Binding] | None:
    live = [e for e in envs if e is not None]
    if not live:
        return None
    if len(live) == 1:
        return dict(live[0])
    merged = dict(live[0])
    for env in live[1:]:
        if env is merged:
            continue
        for name, binding in env.items():
            current = merged.get(name)
            if current is not binding:
                merged[name] = _merge(current, binding, node, origin)  # type: ignore[assignment]
    return merged


def _constant_number(value: Value) -> int | None:
    """The int a value surely is (one alternative, a constant number), else None."""
    if len(value) == 1 and len(value[0]) == 1 and type(value[0][0]) is Hole:
        number = value[0][0].number
        return number if type(number) is int else None
    return None


class _Loop:
    __slots__ = ("breaks", "continues")

    def __init__(self) -> None:
        self.breaks: list[dict[str, Binding]] = []
        self.continues: list[dict[str, Binding]] = []


# the annotations of values that cannot be SQL text; any other name may be (a `str` subclass, an
# enum of queries, `LiteralString`, `NewType("Sql", str)`, a protocol): a parameter so annotated
# is followed as text, and a function sending it is a wrapper whose callers' SQL is checked
_VALUE_TYPES = frozenset(
    """int float bool bytes bytearray complex memoryview None NoneType Decimal Fraction UUID
    datetime date time timedelta timezone tzinfo Connection Pool PoolConnectionProxy Record
    Transaction Redis Request Response Logger Path PurePath Callable Awaitable Coroutine
    Iterator AsyncIterator Generator AsyncGenerator Event Lock Semaphore""".split()  # noqa: SIM905
)
# names whose arguments decide (a container, a union): `list[int]`, `Optional[UUID]`
_TYPE_FORMS = frozenset(
    """Optional Union list List tuple Tuple dict Dict set Set frozenset FrozenSet Sequence
    MutableSequence Iterable Collection Mapping MutableMapping typing abc collections
    datetime decimal uuid asyncpg pool connection pathlib fractions""".split()  # noqa: SIM905
)


def _alias_of(tree: ast.Module | None, name: str) -> ast.expr | None:
    """What a module-level type alias `name` stands for (`Sort = Literal[…]`, `Sort:
    TypeAlias = …`, `type Sort = …`), when the module's body binds the name once."""
    if tree is None:
        return None
    found: list[ast.expr] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in statement.targets):
                found.append(statement.value)
        elif isinstance(statement, ast.AnnAssign):
            if isinstance(statement.target, ast.Name) and statement.target.id == name:
                found.append(statement.value or statement.target)
        elif type(statement).__name__ == "TypeAlias":  # Python 3.12
            target = getattr(statement, "name", None)
            if isinstance(target, ast.Name) and target.id == name:
                found.append(statement.value)  # type: ignore[attr-defined]
    return found[0] if len(found) == 1 else None


def _surely_false(alternative: Alternative) -> bool:
    """Whether an alternative is a value Python reads as false: the empty string, or a
    constant None, False, 0 (as a hole where it is written)."""
    if all(type(p) is Lit for p in alternative):
        return not "".join(p.text for p in alternative if type(p) is Lit)
    return len(alternative) == 1 and type(alternative[0]) is Hole and alternative[0].false


def _none_value(binding: Binding) -> bool:
    """Whether a binding is the constant None (`table = None`, `table: str | None = None`)."""
    return (
        isinstance(binding, tuple)
        and len(binding) == 1
        and len(binding[0]) == 1
        and type(binding[0][0]) is Hole
        and isinstance(binding[0][0].node, ast.Constant)
        and binding[0][0].node.value is None
    )


# the fields of an f-string read with the values they hold where it is sent nowhere known:
# `{JOBS}`, `{self.TABLE}`, `{TABLES["jobs"]}`
_NAMED_FIELDS = (ast.Name, ast.Attribute, ast.Subscript)


def _formats_a_constant(node: ast.AST) -> bool:
    """`"… {} …".format(…)` or `"… %s …" % …` of a string written there, or its `.join` of a
    list or tuple written there (`" ".join(["UPDATE", JOBS, "SET …"])`)."""
    if isinstance(node, ast.Call):
        func = node.func
        return (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Constant)
            and type(func.value.value) is str
            and (
                func.attr == "format"
                or (
                    func.attr == "join"
                    and len(node.args) == 1
                    and isinstance(node.args[0], ast.List | ast.Tuple)
                )
            )
        )
    return (
        isinstance(node, ast.BinOp)
        and type(node.op) is ast.Mod
        and isinstance(node.left, ast.Constant)
        and type(node.left.value) is str
    )


def _added(node: ast.BinOp) -> list[ast.expr]:
    """The operands of a `+` chain, in order (flattened without recursion)."""
    operands: list[ast.expr] = []
    stack: list[ast.expr] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
            stack.append(current.right)
            stack.append(current.left)
        else:
            operands.append(current)
    return operands


# built-ins that read a list without changing it (and `print`)
_READERS_OF_A_LIST = frozenset(
    "len list tuple enumerate sorted iter reversed print repr str any all".split()  # noqa: SIM905
)


def _changes_name(function: ast.AST | None, name: ast.expr) -> bool:
    """Whether a function's body changes in place (or may: hands to a call's method, stores
    an item, extends) the object a name holds: `x.append(…)`, `x[k] = …`, `x += […]`,
    `del x[k]`, `x.extend` kept, `f(x)` of a function that may change it — any call given
    it but a built-in that only reads it (`len`, `list`, `sorted`…) or a log call."""
    if function is None or not isinstance(name, ast.Name):
        return True
    held = name.id
    for inner in ast.walk(function):
        if isinstance(inner, ast.Attribute) and _is_name(inner.value, held):
            if inner.attr in _MUTATORS or not isinstance(inner.ctx, ast.Load):
                return True
        elif isinstance(inner, ast.Subscript) and _is_name(inner.value, held):
            if not isinstance(inner.ctx, ast.Load):
                return True
        elif isinstance(inner, ast.AugAssign) and _is_name(inner.target, held):
            return True
        elif isinstance(inner, ast.Call) and not (
            (isinstance(inner.func, ast.Name) and inner.func.id in _READERS_OF_A_LIST)
            or (isinstance(inner.func, ast.Attribute) and inner.func.attr in _LOG_METHODS)
        ):
            given = [*inner.args, *(k.value for k in inner.keywords)]
            if any(
                _is_name(a, held) or (isinstance(a, ast.Starred) and _is_name(a.value, held))
                for a in given
            ):
                return True
    return False


# jinja2 options that leave the text as the reader renders it (the two it follows apart)
_JINJA_KEPT = frozenset(
    """autoescape undefined keep_trailing_newline newline_sequence enable_async auto_reload
    cache_size loader optimized""".split()  # noqa: SIM905
)


# an option that changes what a template renders, written somewhere in a module
_JINJA_OPTION = lazy_pattern(
    r"(?<!\w)(?:trim_blocks|lstrip_blocks|line_(?:statement|comment)_prefix|finalize"
    r"|(?:block|variable|comment)_(?:start|end)_string)(?!\w)"
)


def _jinja_options(call: ast.Call) -> tuple[bool, bool] | None:
    """`(trim_blocks, lstrip_blocks)` of a jinja2 `Template(…)` / `Environment(…)` call; None
    when another option may change what it renders (`line_statement_prefix`, other
    delimiters, `finalize`, extensions, `**options`) or one of the two is not a constant."""
    found = {"trim_blocks": False, "lstrip_blocks": False}
    for given in call.keywords:
        if given.arg in found:
            if not isinstance(given.value, ast.Constant):
                return None
            found[given.arg] = bool(given.value.value)
        elif given.arg not in _JINJA_KEPT:
            return None
    positional = call.args[1:] if _dotted(call.func).endswith("Template") else call.args
    if positional:
        return None  # (Template's and Environment's options by their place: not read)
    return found["trim_blocks"], found["lstrip_blocks"]


def _makes_its_own(node: ast.ClassDef) -> bool:
    """Whether a class's body makes objects of its class by another name than its own:
    `cls(…)`, `type(self)(…)`, `self.__class__(…)`."""
    for inner in ast.walk(node):
        if not isinstance(inner, ast.Call):
            continue
        func = inner.func
        if (
            _is_name(func, "cls")
            or (isinstance(func, ast.Call) and _is_name(func.func, "type"))
            or (isinstance(func, ast.Attribute) and func.attr == "__class__")
        ):
            return True
    return False


def _annotation_of(info: FunctionInfo, name: str) -> ast.expr | None:
    """The annotation of a function's parameter of that name, if any."""
    args = info.node.args
    for parameter in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if parameter.arg == name:
            return parameter.annotation
    return None


def _string_annotation(annotation: ast.expr | None) -> bool:
    """Whether a parameter annotated so may hold SQL text: unless every name the annotation
    spells is a type no text can be (`int`, `UUID`, `list[int] | None`). No annotation, or a
    name not known to be such a type, may."""
    stack = [annotation]
    while stack:
        node = stack.pop()
        if node is None:
            return True
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            stack.append(node.value)  # `datetime.date`, `asyncpg.Connection`
            name = node.attr
        elif isinstance(node, ast.Constant):
            if node.value is None or isinstance(node.value, int | float):
                continue  # `X | None`; a Literal's numbers
            name = str(node.value)  # a forward reference (or a Literal's string: text)
        elif isinstance(node, ast.Subscript):
            stack.extend((node.value, node.slice))
            continue
        elif isinstance(node, ast.BinOp):
            stack.extend((node.left, node.right))
            continue
        elif isinstance(node, ast.Tuple):
            stack.extend(node.elts)
            continue
        else:
            return True
        if name not in _VALUE_TYPES and name not in _TYPE_FORMS:
            return True
    return False


def _all_subclasses(*bases: type) -> frozenset[type]:
    found: set[type] = set()
    stack = list(bases)
    while stack:
        kind = stack.pop()
        found.add(kind)
        stack.extend(kind.__subclasses__())
    return frozenset(found)


# contexts, operators and names hold no call, string or assignment: the scan skips them
_INERT = _all_subclasses(
    ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.Name
) | {type(None), str, int, float, complex, bytes, bool}


class _Walker:
    """Runs one module's statements over abstract values (see the module docstring)."""

    def __init__(self, module: ModuleInfo, index: ProjectIndex) -> None:
        self.module = module
        self.origin = module.origin
        self.index = index
        self.env: dict[str, Binding] = module.env
        self.ever: dict[str, Binding] = module.ever
        self.outer: list[tuple[dict[str, Binding], dict[str, Binding]]] = []  # (env, ever)
        self.function: FunctionInfo | None = None
        self.cls_stack: list[ClassInfo] = []
        self.loops: list[_Loop] = []
        self.tries: list[dict[str, list[Binding]]] = []
        self.pending: list[
            tuple[FunctionInfo, list[tuple[dict[str, Binding], dict[str, Binding]]]]
        ] = []
        self.recorded: dict[int, Sink | Call] = {}  # by call id: a loop's last round wins
        # calls of a driver's method that a project method of that name may be (see on_call)
        self.beside: dict[int, Call] = {}
        self._synthetic: dict[int, ast.Call] = {}  # the call a `partial(…)` stands for
        self._partials_open: set[int] = set()  # the partials whose call is being read
        self._unwrapped_calls: dict[int, ast.Call] = {}  # the pandas call a getattr/partial makes
        self.depth = 0
        self.nonlocals: frozenset[str] = frozenset()  # names nested functions assign again
        # names a test showed to hold items, not bound since (`if not rows: return`, then
        # `for row in rows:` runs at least once)
        self.filled: frozenset[str] = frozenset()
        # the function's parameters as bound on entry (`for q in queries` of one unchanged)
        self.initial: dict[str, Binding] = {}

    # names

    def lookup(self, name: str) -> Binding | None:
        found = self.env.get(name)
        if found is not None:
            return found
        for _, ever in reversed(self.outer):
            found = ever.get(name)
            if found is not None:
                return found
        return None

    def bind(self, name: str, binding: Binding) -> None:
        self.env[name] = binding
        if name in self.filled:
            self.filled = self.filled - {name}
        before = self.ever.get(name)
        merged = binding if before is None else _merge(before, binding, self._node, self.origin)
        self.ever[name] = binding if merged is None else merged
        for assigned in self.tries:
            assigned.setdefault(name, []).append(binding)

    _node: ast.AST = ast.Pass()

    # statements

    def run_module(self, tree: ast.Module) -> None:
        self.run_body(tree)
        self.run_functions()

    def run_body(self, tree: ast.Module) -> None:
        """The module's own statements: what its names hold once it is imported. A module that
        reads this one while it runs (an import cycle) sees the names bound so far, as in
        Python."""
        self._docstring(tree.body)
        for statement in tree.body:
            live = self.statement(statement)
            self.module.env = self.env  # a branch or a handler leaves its names in a new dict
            if not live:
                break

    def run_functions(self) -> None:
        """The function bodies, seeing the module's names as its body left them."""
        self._run_pending()
        for recorded in [*self.recorded.values(), *self.beside.values()]:
            owner = recorded.owner
            if isinstance(recorded, Sink):
                (owner.sinks if owner else self.module.sinks).append(recorded)
            else:
                (owner.calls if owner else self.module.calls).append(recorded)

    def _run_pending(self) -> None:
        index = 0
        while index < len(self.pending):  # bodies may define functions: the list grows
            info, outer = self.pending[index]
            index += 1
            self._run_function(info, outer)
        self.pending.clear()

    def _run_function(
        self, info: FunctionInfo, outer: list[tuple[dict[str, Binding], dict[str, Binding]]]
    ) -> None:
        saved = (self.env, self.ever, self.outer, self.function, self.loops, self.tries)
        saved_nonlocals, saved_filled, saved_initial = self.nonlocals, self.filled, self.initial
        self.env, self.ever, self.outer, self.filled = {}, {}, outer, frozenset()
        self.function, self.loops, self.tries = info, [], []
        self.nonlocals = _function_nonlocals(info)
        node = info.node
        args = node.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if args.vararg:
            every.append(args.vararg)
        if args.kwarg:
            every.append(args.kwarg)
        positional = [*args.posonlyargs, *args.args]
        defaults: dict[str, ast.expr] = {
            p.arg: d
            for p, d in zip(
                positional[len(positional) - len(args.defaults) :], args.defaults, strict=True
            )
        }
        defaults.update(
            (p.arg, d)
            for p, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
            if d is not None
        )
        for index, parameter in enumerate(every):
            name = parameter.arg
            if (
                index == 0
                and info.cls is not None
                and info.method_kind in ("method", "classmethod")
            ):
                ref = (
                    InstanceRef(info.cls)
                    if info.method_kind == "method"
                    else ClassRef(info.cls, any_subclass=True)
                )
                self.env[name] = ref
                continue
            literal = (
                None
                if parameter is args.vararg or parameter is args.kwarg
                else self.literal_values(parameter.annotation, self.module)
            )
            if literal is not None:
                # `sort: Literal["name", "created_at"]` (an alias of it, `| None`): the
                # literal's strings, each checked, and its default (helper 124: a TG009
                # warning on every typed sort parameter)
                default = defaults.get(name)
                if isinstance(default, ast.Constant) and all(
                    c.value != default.value for c in literal
                ):
                    literal.append(default)
                self.env[name] = union(
                    [
                        ((Lit(c.value, self.origin, c),),)
                        if isinstance(c.value, str)
                        else hole(
                            c,
                            self.origin,
                            f"`{name}` may be None",
                            kind="value",
                            string=False,
                            false=True,
                        )
                        for c in literal
                    ],
                    parameter,
                    self.origin,
                )
            elif parameter is args.vararg or parameter is args.kwarg:
                reason = f"`{name}` collects arguments of {info.name}()"
                self.env[name] = hole(parameter, self.origin, reason)
            elif _string_annotation(parameter.annotation):
                self.env[name] = hole(
                    parameter,
                    self.origin,
                    f"`{name}` is a parameter of {info.name}()",
                    param=name,
                    owner=info,
                )
            else:
                annotation = ast.unparse(parameter.annotation) if parameter.annotation else ""
                self.env[name] = hole(
                    parameter,
                    self.origin,
                    f"`{name}` is a parameter of {info.name}() ({annotation})",
                    kind="value",
                    string=False,
                )
        self.ever.update(self.env)  # the parameters, as closures defined in the body see them
        self.initial = dict(self.env)
        self._docstring(node.body)
        self.block(node.body)
        self.env, self.ever, self.outer, self.function, self.loops, self.tries = saved
        self.nonlocals, self.filled, self.initial = saved_nonlocals, saved_filled, saved_initial

    def literal_values(
        self, annotation: ast.expr | None, module: ModuleInfo, depth: int = 0
    ) -> list[ast.Constant] | None:
        """The constants a `Literal[…]` annotation allows (strings and None): `Literal["a",
        "b"]`, `typing.Literal`, `Literal[…] | None`, `Optional[…]`, `Union[…]`, `Annotated[…]`,
        a nested Literal, a string annotation, an alias (`Sort = Literal[…]`, here or
        imported). None
        when the annotation is anything else (`str` among them: any text)."""
        if annotation is None or depth > 8:
            return None
        node = annotation
        if isinstance(node, ast.Constant):
            if node.value is None:
                return [node]
            if isinstance(node.value, str):  # `"Literal['a']"`: a forward reference
                try:
                    parsed = ast.parse(node.value, mode="eval").body
                except (SyntaxError, ValueError):
                    return None
                return self.literal_values(parsed, module, depth + 1)
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left = self.literal_values(node.left, module, depth + 1)
            right = self.literal_values(node.right, module, depth + 1)
            if left is None or right is None:
                return None
            both = left + right
            return both if any(isinstance(c.value, str) for c in both) else None
        if isinstance(node, ast.Subscript):
            form = expression_name(node.value).rsplit(".", 1)[-1]
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if form == "Annotated" and items:  # `Annotated[Literal[…], Query()]`: the type
                return self.literal_values(items[0], module, depth + 1)
            out: list[ast.Constant] = []
            for item in items:
                if form == "Literal" and isinstance(item, ast.Constant):
                    if item.value is not None and not isinstance(item.value, str):
                        return None  # a number: not text
                    out.append(item)
                elif form in ("Literal", "Optional", "Union"):
                    found = self.literal_values(item, module, depth + 1)
                    if found is None:
                        return None
                    out.extend(found)
                else:
                    return None
            if form == "Optional":
                out.append(ast.copy_location(ast.Constant(None), node))
            return out if any(isinstance(c.value, str) for c in out) else None
        if isinstance(node, ast.Name):
            binding = module.env.get(node.id)
            if isinstance(binding, ImportedRef):
                path = self.index.resolve(binding.module)
                found_in = self.index.module(path) if path else None
                if found_in is None:
                    return None
                module, name = found_in, binding.name
            else:
                name = node.id
            alias = _alias_of(module.tree, name)
            return None if alias is None else self.literal_values(alias, module, depth + 1)
        return None

    def _docstring(self, body: list[ast.stmt]) -> None:
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            self.module.docstrings.add(id(body[0].value))

    def block(self, body: Iterable[ast.stmt]) -> bool:
        """Runs statements in order; False when the end of the block is not reached."""
        return all(self.statement(statement) for statement in body)

    def statement(self, node: ast.stmt) -> bool:
        self._node = node
        kind = type(node)
        if kind is ast.Expr:
            self.scan(node.value)  # type: ignore[attr-defined]
            self.grow(node.value)  # type: ignore[attr-defined]
        elif kind is ast.Assign and (made := _made_class(node)) is not None:  # type: ignore[arg-type]
            self.define_class(made)  # `Inv = type("Inv", (Repo,), {"table": "invoices"})`
        elif (
            kind is ast.Assign
            and not self._in_class_body
            and (defined := _named_lambda(node)) is not None  # type: ignore[arg-type]
        ):
            self.define_function(defined)  # `q = lambda sql, *a: conn.fetch(sql, *a)`
        elif kind is ast.Assign:
            self.scan(node.value)  # type: ignore[attr-defined]
            binding = self.binding(node.value)  # type: ignore[attr-defined]
            for target in node.targets:  # type: ignore[attr-defined]
                self._exports(target, node.value, augmented=False)  # type: ignore[attr-defined]
                self.assign(target, binding, node.value)  # type: ignore[attr-defined]
        elif kind is ast.AnnAssign:
            if node.value is not None:  # type: ignore[attr-defined]
                self.scan(node.value)  # type: ignore[attr-defined]
                self._exports(node.target, node.value, augmented=False)  # type: ignore[attr-defined]
                self.assign(node.target, self.binding(node.value), node.value)  # type: ignore[attr-defined]
        elif kind is ast.AugAssign:
            self.augmented(node)  # type: ignore[arg-type]
        elif kind in (ast.Return, ast.Raise):
            if kind is ast.Return:
                self.returned(node)  # type: ignore[arg-type]
            if kind is ast.Raise:
                for part in (node.exc, node.cause):  # type: ignore[attr-defined]
                    if part is not None:
                        self._messages(part)
            value = getattr(node, "value", None) or getattr(node, "exc", None)
            if value is not None:
                self.scan(value)
            if kind is ast.Raise and node.cause is not None:  # type: ignore[attr-defined]
                self.scan(node.cause)  # type: ignore[attr-defined]
            return False
        elif kind is ast.If:
            return self.branch(node)  # type: ignore[arg-type]
        elif kind in (ast.For, ast.AsyncFor, ast.While):
            return self.loop(node)  # type: ignore[arg-type]
        elif kind in (ast.With, ast.AsyncWith):
            for item in node.items:  # type: ignore[attr-defined]
                self.scan(item.context_expr)
                if item.optional_vars is not None:
                    self.assign(
                        item.optional_vars, self.binding(item.context_expr), item.context_expr
                    )
            if any(self.suppressing(item.context_expr) for item in node.items):  # type: ignore[attr-defined]
                return self.suppressed(node)  # type: ignore[arg-type]
            return self.block(node.body)  # type: ignore[attr-defined]
        elif kind is ast.Try or kind is getattr(ast, "TryStar", ast.Try):
            return self.attempt(node)  # type: ignore[arg-type]
        elif kind is ast.Match:
            return self.match(node)  # type: ignore[arg-type]
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            self.define_function(node)  # type: ignore[arg-type]
        elif kind is ast.ClassDef:
            self.define_class(node)  # type: ignore[arg-type]
        elif kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.asname:
                    self.bind(alias.asname, ModuleRef(alias.name, 0, self.origin.path))
                else:
                    top = alias.name.split(".")[0]
                    self.bind(top, ModuleRef(top, 0, self.origin.path))
        elif kind is ast.ImportFrom:
            module = ModuleRef(node.module or "", node.level, self.origin.path)  # type: ignore[attr-defined]
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.name != "*":
                    self.bind(alias.asname or alias.name, ImportedRef(module, alias.name))
                else:
                    self.star_import(module)
        elif kind is ast.Break:
            if self.loops:
                self.loops[-1].breaks.append(dict(self.env))
            return False
        elif kind is ast.Continue:
            if self.loops:
                self.loops[-1].continues.append(dict(self.env))
            return False
        elif kind is ast.Assert:
            if node.msg is not None:  # type: ignore[attr-defined]
                self._messages(node.msg)  # type: ignore[attr-defined]
            self.scan(node.test)  # type: ignore[attr-defined]
            for name, held, when in self.memberships(node.test):  # type: ignore[attr-defined]
                if when:  # `assert sort in SORTABLE`
                    self.env[name] = held
        elif kind is ast.Delete:
            for target in node.targets:  # type: ignore[attr-defined]
                self.scan(target)
        else:  # Global, Nonlocal, Pass, TypeAlias…: expressions only
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.scan(child)
        return True

    def star_import(self, module: ModuleRef) -> None:
        """`from q import *` binds, where it stands, the names q exports (its `__all__`, else
        its names without a leading underscore); a module that cannot be read binds none."""
        path = self.index.resolve(module)
        info = self.index.module(path) if path else None
        if info is None:
            return
        names = info.exports
        if (names is None and "__all__" in info.env) or (
            names is not None
            and (
                "__all__" in _mutated(info)
                or self.index.changed_outside("__all__", stored=False, dunder=True)
                or self.index.changed_outside("__all__", dunder=True)
            )
        ):
            # an `__all__` made at run time or changed in place (`__all__.extend([…])`, h32g):
            # it may name any of the module's names, a leading underscore's too
            names = [n for n in info.env if not (n.startswith("__") and n.endswith("__"))]
        elif names is None:
            names = [name for name in info.env if not name.startswith("_")]
        for name in names:
            self.bind(name, ImportedRef(module, name))

    def _exports(self, target: ast.expr, value: ast.expr | None, augmented: bool) -> None:
        """Records a module-level `__all__` of constant strings (None when it is not one)."""
        if not (isinstance(target, ast.Name) and target.id == "__all__"):
            return
        if self.function is not None or self.cls_stack:
            return
        names = None
        if isinstance(value, ast.List | ast.Tuple) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
        ):
            names = [e.value for e in value.elts]  # type: ignore[attr-defined]
            if augmented:
                before = self.module.exports
                names = None if before is None else [*before, *names]
        self.module.exports = names

    def yielded(self, node: ast.Yield | ast.YieldFrom) -> None:
        """Keeps what a `yield` of string-like text gives (a loop's last round wins)."""
        function = self.function
        if function is None or function.yields is None:
            return
        value = node.value
        if isinstance(node, ast.YieldFrom) or value is None or not _string_like(value):
            function.yields = None
        else:
            function.yields[id(node)] = self.evaluate(value)

    def returned(self, node: ast.Return) -> None:
        """Keeps what a `return` of string-like text gives (a loop's last round wins)."""
        function = self.function
        if function is not None and function.tuple_returns is not None:
            items = node.value.elts if isinstance(node.value, ast.Tuple | ast.List) else None
            if items is None or any(isinstance(e, ast.Starred) for e in items):
                function.tuple_returns = None
            else:  # `return sql, args` (helper 111: a builder's SQL was unknown at its call)
                function.tuple_returns[id(node)] = tuple(
                    self.evaluate(e) if _string_like(e) else None for e in items
                )
        if function is None or function.returns is None or node.value is None:
            return  # a bare `return` gives None: not SQL, the call fails
        value = node.value
        if _string_like(value):
            function.returns[id(node)] = self.evaluate(value)
        else:
            function.returns = None

    def assign(self, target: ast.expr, binding: Binding, value: ast.expr | None) -> None:
        if (
            isinstance(target, ast.Name)
            and self.function is None
            and not self._in_class_body
            and isinstance(value, ast.Dict | ast.List | ast.Tuple | ast.Set)
            and self.index.changed_outside(target.id, stored=False)
        ):
            # `REG = {"p": PARTS}` and `REG["p"].append(…)` in another module: PARTS itself is
            # changed (h34N; each file's alias scan is its own)
            held = value.values if isinstance(value, ast.Dict) else value.elts
            for element in held:
                if isinstance(element, ast.Name) and isinstance(self.lookup(element.id), Items):
                    reason = f"`{element.id}` is held by `{target.id}`, changed elsewhere"
                    self.bind(element.id, hole(element, self.origin, reason))
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.List)
            and self.function is not None
            and target.id in _grown_names(self.function.node)
        ):
            self.bind(target.id, Grown((tuple(self.evaluate(e) for e in value.elts),)))
            return
        if (
            isinstance(target, ast.Name)
            and (added := _concatenation_of(target.id, value)) is not None
            and self.concatenated(target, added)
        ):
            return  # `conds = conds + [x]`
        if isinstance(target, ast.Name):
            if (
                self.function is None
                and not self._in_class_body
                and isinstance(binding, ClassRef | ImportedRef | ModuleRef)
            ):
                self.module.renames.setdefault(target.id, []).append(binding)
            if isinstance(binding, Items) and (
                (
                    target.id in _mutated(self.module)
                    if self.function is None or target.id in _shared_names(self.function.node)
                    else target.id in _local_changes(self.function.node, self.index)
                )
                or (self.function is None and self.index.changed_outside(target.id, stored=False))
            ):
                reason = f"`{target.id}` is changed after it is built"
                binding = hole(target, self.origin, reason)
            elif self._rebound_here(target.id):
                reason = f"`{target.id}` is assigned again where it is not written here"
                binding = hole(target, self.origin, reason)
            elif (
                self.function is None
                and not self._in_class_body
                and isinstance(binding, InstanceRef)
                and binding.given
                and (
                    self.index.changed_outside(target.id) or self.index.module_replaced(self.module)
                )
            ):
                # `queries.EVENTS = Query(…)` / `= dataclasses.replace(…)` in another module: the
                # record read is whichever was set last, its fields not the ones made here (h34N)
                binding = dataclasses.replace(binding, given=())
            elif (
                self.function is None
                and not self._in_class_body
                and isinstance(binding, tuple | Items | MethodCaller)
                and (
                    self.index.changed_outside(target.id) or self.index.module_replaced(self.module)
                )
            ):
                # `queries.X = …` in another module (or `setattr(queries, "X", …)`): what a
                # call reads is the last value set, from wherever (round 25, outside attack)
                reason = f"`{target.id}` is assigned again as an attribute of its module"
                binding = hole(target, self.origin, reason)
            self.bind(target.id, binding)
        elif isinstance(target, ast.Tuple | ast.List):
            elements = value.elts if isinstance(value, ast.Tuple | ast.List) else None
            if (
                elements is not None
                and len(elements) == len(target.elts)
                and not any(isinstance(e, ast.Starred) for e in (*elements, *target.elts))
            ):
                for sub, element in zip(target.elts, elements, strict=True):
                    self.assign(sub, self.binding(element), element)
                return
            items = self.items_of(value) if value is not None else None
            if (
                items is not None
                and items.ordered
                and items.keys is None
                and len(items.values) == len(target.elts)
                and not any(isinstance(e, ast.Starred) for e in target.elts)
            ):
                # `sql, kind = LISTING` of a tuple or list of constants (also a class's,
                # `self.QUERY`): each its item (before, TG009 at the call)
                for sub, item in zip(target.elts, items.values, strict=True):
                    self.assign(sub, item, None)
            else:
                call = value.value if isinstance(value, ast.Await) else value
                returns = (
                    self.returning(call.func)
                    if isinstance(call, ast.Call)
                    and not any(isinstance(e, ast.Starred) for e in target.elts)
                    else None
                )
                if returns is not None and call is not None:  # `sql, args = build(…)`
                    for position, sub in enumerate(target.elts):
                        reason = f"`{_short(sub)}` is unpacked from `{_short(call)}`"
                        self.assign(
                            sub,
                            hole(sub, self.origin, reason, returns=returns, position=position),
                            None,
                        )
                    return
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        self.bind(
                            name.id,
                            hole(
                                name,
                                self.origin,
                                f"`{name.id}` is unpacked from a value computed at run time",
                            ),
                        )
        elif isinstance(target, ast.Starred):
            self.assign(target.value, hole(target, self.origin, "a starred target"), None)
        else:
            self.scan(target)

    def grow(self, node: ast.expr) -> None:
        """`name.append(x)` / `name.extend([…])` of a grown list: its items on this path."""
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
        ):
            return
        name = node.func.value.id
        grown = self.lookup(name)
        if not isinstance(grown, Grown):
            return
        added: tuple[Value, ...] | None = None
        if node.func.attr == "append" and len(node.args) == 1 and not node.keywords:
            added = (self.evaluate(node.args[0]),)
        elif node.func.attr == "extend" and len(node.args) == 1 and not node.keywords:
            added = self.displayed_items(node.args[0])
        if added is None:
            self.bind(name, hole(node, self.origin, f"`{name}` is changed at run time"))
        else:
            self.bind(name, Grown(tuple(items + added for items in grown.lists)))

    def displayed_items(self, items: ast.expr) -> tuple[Value, ...] | None:
        """The values of a list or tuple display with no starred item (`[a, b]`, `(a,)`)."""
        if not _added_display(items):
            return None
        assert isinstance(items, ast.List | ast.Tuple)
        return tuple(self.evaluate(e) for e in items.elts)

    def concatenated(self, target: ast.Name, added: ast.expr) -> bool:
        """`name += [x]` / `name = name + [x]` of a grown list: bound to its lists with the
        display's items after them (as `name.extend([x])`), True; False when not so."""
        grown = self.lookup(target.id)
        items = self.displayed_items(added) if isinstance(grown, Grown) else None
        if items is None or not isinstance(grown, Grown):
            return False
        self.bind(target.id, Grown(tuple(old + items for old in grown.lists)))
        return True

    def _rebound_here(self, name: str) -> bool:
        """Whether a name bound here is assigned again elsewhere: by `global` in a function or
        `globals()[…]` (a module's name), by `nonlocal` in a nested function."""
        if self.function is None:
            rebound = _rebound(self.module)[0]
            return not self._in_class_body and (name in rebound or _ANY_NAME in rebound)
        return name in self.nonlocals

    def augmented(self, node: ast.AugAssign) -> None:
        self.scan(node.value)
        self._exports(node.target, node.value, augmented=isinstance(node.op, ast.Add))
        target = node.target
        if (
            isinstance(target, ast.Name)
            and isinstance(node.op, ast.Add | ast.Sub | ast.Mult)
            and self.numeric(target)
            and self.numeric(node.value)
        ):  # `i += 1`: a counter stays a number (`${i}` numbers a parameter)
            self.bind(target.id, self.counted(node, target, node.value))
        elif (
            isinstance(target, ast.Name)
            and isinstance(node.op, ast.Add)
            and self.concatenated(target, node.value)
        ):
            pass  # `conds += [f"name = ${n}"]` of a grown list
        elif isinstance(target, ast.Name) and isinstance(node.op, ast.Add):
            before = self.lookup(target.id)
            current = before if isinstance(before, tuple) else self.name_value(target)
            self.bind(target.id, concat((current, self.evaluate(node.value)), node, self.origin))
        elif isinstance(target, ast.Name):
            self.bind(
                target.id, hole(target, self.origin, f"`{target.id}` is computed at run time")
            )
        else:
            self.scan(target)

    def branch(self, node: ast.If) -> bool:
        self.scan(node.test)
        narrowed = self.narrowing(node.test)
        name, truthy, falsy = narrowed if narrowed is not None else ("", None, None)
        members = self.memberships(node.test)
        before, filled = self.env, self.filled
        tested = _tested_for_items(node.test, self.lookup("len") is None)
        ends: list[frozenset[str]] = []
        envs: list[dict[str, Binding] | None] = []
        for when, body, lists in ((True, node.body, truthy), (False, node.orelse, falsy)):
            self.env = dict(before)
            shown = tested is not None and tested[1] == when
            self.filled = filled | {tested[0]} if shown and tested is not None else filled
            if lists is not None and lists.lists:
                self.env[name] = lists
            for member, held, member_when in members:
                if member_when == when:  # `if sort in SORTABLE:` / its `else`
                    self.env[member] = held
            live = self.block(body)
            # a branch no list a path leaves can take is still read (its calls are checked)
            reachable = lists is None or bool(lists.lists)
            envs.append(self.env if live and reachable else None)
            if live and reachable:
                ends.append(self.filled)
        then_env, else_env = envs
        merged = _merge_envs([then_env, else_env], node, self.origin)
        self.env = merged if merged is not None else before
        self.filled = frozenset.intersection(*ends) if ends else filled
        return merged is not None

    def loop(self, node: ast.For | ast.AsyncFor | ast.While) -> bool:
        is_for = not isinstance(node, ast.While)
        self.scan(node.iter if is_for else node.test)  # type: ignore[union-attr]
        forever = (
            isinstance(node, ast.While)
            and isinstance(node.test, ast.Constant)
            and bool(node.test.value)
        )
        exact = None if isinstance(node, ast.While) else self.unrolled(node)
        entry = self.env
        head = dict(entry)
        loop = _Loop()
        # `for column in ("guild_id", "id")` runs its body at least once: what the loop leaves
        # is what one pass or more leaves (before, the list it grows could also be empty —
        # `WHERE ` with no condition: TG006 and TG001 on a safe query)
        # (or over a name a test showed to hold items: `if not rows: return` before it)
        filled = self.filled
        over = _iterated_name(node.iter) if is_for else None  # type: ignore[union-attr]
        once = is_for and (
            self.never_empty(node.iter)  # type: ignore[union-attr]
            or (over is not None and over in filled)
        )
        # rounds after the first read the passes after the first: from what passes leave,
        # never from the entry (`first = True` / `enumerate`'s index 0 is the first pass's
        # alone); a loop that may not run leaves the entry too
        seed: dict[str, Binding] | None = None
        # the `break`s of every round: with `once`, the first round's are the first pass's,
        # which the last round no longer starts from (outside review h31h: `if flag: break`
        # before `where = c` left `where` as it was before the loop, unread)
        breaks: list[dict[str, Binding]] = []
        first_pass: dict[str, Binding] = {}
        for round_ in range(_LOOP_ROUNDS + 1):
            loop = _Loop()
            self.loops.append(loop)
            self.env, self.filled = dict(head), filled
            if not isinstance(node, ast.While):
                self.assign_iteration(node.target, node.iter, first=round_ == 0)
            live = self.block(node.body)
            self.loops.pop()
            breaks.extend(loop.breaks)
            ends = [self.env if live else None, *loop.continues]
            widened = _merge_envs([seed, *ends], node, self.origin) or dict(head)
            if seed is None:
                seed = widened  # after one pass, then any number more
                first_pass = widened
            if widened == head:
                break
            if round_ == _LOOP_ROUNDS:  # still growing: what changes is unknown
                for name, binding in widened.items():
                    before = entry.get(name)
                    if isinstance(before, Grown) and _appended_to(before, binding):
                        # `clauses = ["tenant_id = $1"]` then `clauses.append(…)` in the loop:
                        # the list before it, then items computed at run time — or, when each
                        # item the loop appends is text of constants (`f"{field} = ${i}"` for
                        # `field` over constant names), any one of them, each checked
                        item = _loop_items(before, binding, node, self.origin)
                        # the first pass's items first (`"" if i == 0 else "OR "`)
                        passed = first_pass.get(name)
                        first = _loop_items(before, passed, node, self.origin)
                        later = (
                            _loop_items(passed, binding, node, self.origin)
                            if isinstance(passed, Grown) and first is not None
                            else None
                        )
                        # a list every pass grows holds all the items the passes give: read
                        # as one pass's items, then two passes' (`VALUES ($1, $2), ($1, $3)`,
                        # `… OR name = $2 OR name = $3`); a list some passes skip, as any one
                        reason = f"items appended to `{name}` in a loop"
                        # (the first pass's items, then a later pass's, when every pass
                        # appends: `"" if i == 0 else "OR "` is "" only on the first)
                        every = name in _appended_every_time(node.body)
                        sequences = _pass_sequences(before, passed, binding) if every else None
                        tails: tuple[tuple[Value, ...], ...] = (
                            sequences
                            if sequences is not None
                            else ((hole(node, self.origin, reason),),)
                            if item is None
                            else ((first,), (first, later))
                            if every and first is not None and later is not None
                            else ((item,), (item, item))
                            if every
                            else ((item,),)
                        )
                        # (the list as it was, unless every path appends to it)
                        kept = [
                            items
                            for items in before.lists
                            if isinstance(binding, Grown) and items in binding.lists
                        ]
                        grown = [(*items, *tail) for items in before.lists for tail in tails]
                        widened[name] = Grown(tuple(dict.fromkeys([*kept, *grown])))
                    elif head.get(name) != binding:
                        widened[name] = hole(
                            node, self.origin, f"`{name}` changes from one iteration to the next"
                        )
            head = widened
        if not once:
            head = _merge_envs([entry, head], node, self.origin) or head
        if exact is not None:
            head = exact  # a branchless loop over constants: what its passes leave, in order
        self.env, self.filled = dict(head), filled & self.filled
        else_live = self.block(node.orelse)
        exits = [] if forever else [self.env if else_live else None]
        merged = _merge_envs([*exits, *breaks], node, self.origin)
        self.env = merged if merged is not None else head
        return merged is not None

    def unrolled(self, node: ast.For | ast.AsyncFor) -> dict[str, Binding] | None:
        """What a branchless loop over a few constants leaves, each pass run in turn with its
        item: `for column in ("guild_id", "id"): keys.append(f"{column} = …")` leaves both
        conditions, in order (the rounds read the loop variable as any of its items: the list
        was any one of them, or items only known at run time; `where += f" AND {column} = …"`
        changed from one pass to the next). Only the names it leaves are taken from here: the
        calls of the body are read by the rounds that follow (a call's last reading wins:
        there, with each item its loop variable may hold)."""
        if node.orelse or not _straight(node.body):
            return None
        target = node.target
        passes = self.passes(node.iter)
        width = (
            len(target.elts)
            if isinstance(target, ast.Tuple | ast.List)
            and not any(isinstance(e, ast.Starred) for e in target.elts)
            else 0
        )
        if passes is None or not all(
            len(item) == width or (len(item) == 1 and not width) for item in passes
        ):
            return None
        entry = self.env
        self.env = dict(entry)
        try:
            for item in passes:
                if width:
                    for sub, value in zip(target.elts, item, strict=True):  # type: ignore[attr-defined]
                        self.assign(sub, value, None)
                else:
                    self.assign(target, item[0], None)
                if not self.block(node.body):
                    return None
            return self.env
        finally:
            self.env = entry

    def passes(self, iterable: ast.expr) -> list[tuple[Value, ...]] | None:
        """The item of each pass of a `for` over a few constants, in order: a tuple or list
        written with its items (a tuple of tuples of one width unpacked), or bound to a name
        (a dict's keys, `.items()` — key and value —, `.keys()`, `.values()`)."""
        origin = self.origin
        elements: list[tuple[Value, ...]] | None = None
        if (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Name)
            and iterable.func.id == "enumerate"
            and self.lookup("enumerate") is None
            and 1 <= len(iterable.args) <= 2
            and not iterable.keywords
            and not isinstance(iterable.args[0], ast.Starred)
        ):  # `for n, column in enumerate(COLUMNS, 1)`: each item with its number
            start = iterable.args[1] if len(iterable.args) == 2 else ast.Constant(0)
            inner = self.passes(iterable.args[0])
            if (
                inner is None
                or not isinstance(start, ast.Constant)
                or type(start.value) is not int
                or any(len(item) != 1 for item in inner)
            ):
                return None
            reason = "a number `enumerate` counts"
            return [
                (
                    hole(
                        iterable, origin, reason, kind="value", string=False, number=n, integer=True
                    ),
                    item[0],
                )
                for n, item in enumerate(inner, start.value)
            ]
        if isinstance(iterable, ast.Tuple | ast.List):
            if not iterable.elts or any(isinstance(e, ast.Starred) for e in iterable.elts):
                return None
            rows = _rows(iterable.elts)
            elements = (
                [tuple(map(self.evaluate, r)) for r in rows]
                if rows is not None
                else [(self.evaluate(e),) for e in iterable.elts]
            )
        else:
            how = "iter"
            named = iterable
            if _dict_view(iterable):
                how, named = iterable.func.attr, iterable.func.value
            items = self.items_of(named) if isinstance(named, ast.Name | ast.Attribute) else None
            if items is None or not items.ordered or not items.values or items.subset:
                return None
            if items.keys is None:
                if how != "iter":
                    return None
                elements = (
                    [tuple(r) for r in items.rows]
                    if items.rows is not None
                    else [(v,) for v in items.values]
                )
            else:
                if any(key.startswith("\0") for key in items.keys):
                    return None
                keys = [((Lit(key, origin, None, 0, iterable),),) for key in items.keys]
                if how == "items":
                    elements = [(k, v) for k, v in zip(keys, items.values, strict=True)]
                elif how == "values":
                    elements = [(v,) for v in items.values]
                else:
                    elements = [(k,) for k in keys]
        if elements is None or len(elements) > _UNROLLED:
            return None
        return elements

    def never_empty(self, iterable: ast.expr) -> bool:
        """Whether a `for` surely runs its body: over a tuple or list written with items (none
        unpacked), or a tuple, list or dict of constants the module binds (`.items()`,
        `.keys()`, `.values()` of one too)."""
        if isinstance(iterable, ast.Tuple | ast.List):
            return bool(iterable.elts) and not any(
                isinstance(e, ast.Starred) for e in iterable.elts
            )
        if _dict_view(iterable):
            items = self.items_of(iterable.func.value)
            return (
                items is not None
                and items.keys is not None
                and bool(items.values)
                and not items.subset
            )
        items = self.items_of(iterable) if isinstance(iterable, ast.Name | ast.Attribute) else None
        return items is not None and bool(items.values) and not items.subset

    def assign_iteration(
        self, target: ast.expr, iterable: ast.expr, first: bool | None = None
    ) -> None:
        """The loop variables of `for name, sql in QUERIES.items()` or of a sequence of tuples
        of constants (`for name, sql in (("a", "…"), …)`, or a name bound to one): each takes
        any value its place holds (each is checked)."""
        if isinstance(target, ast.Tuple | ast.List) and not any(
            isinstance(e, ast.Starred) for e in target.elts
        ):
            columns = self.unpacked(iterable, len(target.elts), first)
            if columns is not None:
                for sub, value in zip(target.elts, columns, strict=True):
                    self.assign(sub, value, None)
                return
        self.assign(target, self.iteration(iterable), None)

    def unpacked(
        self, iterable: ast.expr, width: int, first: bool | None = None
    ) -> list[Value] | None:
        """The values of each of a loop's `width` variables; the index of `enumerate` is 0
        when `first` (a loop's first pass), past 0 when it is False (a later pass), else
        unknown (a comprehension)."""
        origin = self.origin
        if (
            width == 2
            and isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Attribute)
            and iterable.func.attr == "items"
            and not iterable.args
        ):
            items = self.items_of(iterable.func.value)
            if items is None or items.keys is None or not items.values:
                return None
            keys = [
                hole(iterable, origin, "a key of the dict")
                if key.startswith("\0")
                else ((Lit(key, origin, None, 0, iterable),),)
                for key in items.keys
            ]
            return [union(keys, iterable, origin), union(items.values, iterable, origin)]
        if (
            width == 2
            and isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Name)
            and iterable.func.id == "enumerate"
            and self.lookup("enumerate") is None
            and (
                len(iterable.args) == 1
                or (
                    len(iterable.args) == 2
                    and isinstance(iterable.args[1], ast.Constant)
                    and type(iterable.args[1].value) is int
                )
            )
            and not iterable.keywords
            and not isinstance(iterable.args[0], ast.Starred)
        ):  # `for i, row in enumerate(rows)`: `i` counts, whatever `rows` holds (from a
            # constant start: `enumerate(rows, 2)`)
            start = iterable.args[1].value if len(iterable.args) == 2 else 0  # type: ignore[attr-defined]
            reason = "a number `enumerate` counts"
            count = hole(
                iterable,
                origin,
                reason,
                kind="value",
                string=False,
                integer=True,
                number=start if first else None,
            )
            if first is False and start == 0:  # a later pass: the index is past 0
                count = hole(
                    iterable, origin, _PAST_FIRST, kind="value", string=False, integer=True
                )
            item = self.iteration(iterable.args[0])
            return [count, item] if isinstance(item, tuple) else None
        rows: list[tuple[Value, ...]] | None = None
        if isinstance(iterable, ast.Tuple | ast.List):
            found = _rows(iterable.elts)
            rows = None if found is None else [tuple(map(self.evaluate, r)) for r in found]
        else:
            items = self.items_of(iterable)
            if items is not None and items.rows is not None:
                rows = list(items.rows)
        if not rows or any(len(r) != width for r in rows):
            return None
        return [union([r[i] for r in rows], iterable, origin) for i in range(width)]

    def iteration(self, iterable: ast.expr) -> Binding:
        """The loop variable of `for q in ("…", "…")`: each constant; else unknown."""
        if (
            isinstance(iterable, ast.Tuple | ast.List | ast.Set)
            and iterable.elts
            and not any(isinstance(e, ast.Starred) for e in iterable.elts)
        ):
            return union([self.evaluate(e) for e in iterable.elts], iterable, self.origin)
        values = iterable
        if (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Attribute)
            and iterable.func.attr == "values"
            and not iterable.args
        ):
            values = iterable.func.value  # `for q in QUERIES.values()`
        items = self.items_of(values)
        if items is not None and (items.keys is not None) == (values is not iterable):
            return union(items.values, iterable, self.origin)
        keyed = iterable
        if (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Attribute)
            and iterable.func.attr == "keys"
            and not iterable.args
        ):
            keyed = iterable.func.value
        keys = self.items_of(keyed) if keyed is not iterable or items is not None else None
        if keys is not None and keys.keys and not any(k.startswith("\0") for k in keys.keys):
            # `for field in COLUMNS_BY_NAME:` (or `.keys()`): each constant key
            origin = self.origin
            return union(
                [((Lit(k, origin, None, 0, keyed),),) for k in keys.keys], iterable, origin
            )
        grown = self.lookup(iterable.id) if isinstance(iterable, ast.Name) else None
        if isinstance(grown, Grown) and any(grown.lists):
            # `allowed = ["title", "note"]` in the function: each item any list of it holds
            every = [item for items in grown.lists for item in items]
            return union(every, iterable, self.origin)
        if isinstance(iterable, ast.Call):
            returns = self.returning(iterable.func)
            if returns is not None:  # `for q in statements()`: each item its generator yields
                reason = f"an item of what `{_short(iterable)}` gives"
                given = self._arguments(iterable)  # (its parameters filled as for a return)
                return hole(
                    iterable,
                    self.origin,
                    reason,
                    returns=returns,
                    position=_YIELDED,
                    given=given,
                )
        if self.unchanged_parameter(iterable) and not _changes_name(
            self.function.node if self.function is not None else None, iterable
        ):
            # `for q in queries: conn.execute(q)`: each item of what the callers pass, checked
            # at each call (a wrapper, h35D); not a list it adds to (`queries.append(x)`)
            assert isinstance(iterable, ast.Name) and self.function is not None
            reason = f"an item of `{iterable.id}`, a parameter of {self.function.name}()"
            return hole(
                iterable, self.origin, reason, param=_ITEMS + iterable.id, owner=self.function
            )
        return hole(iterable, self.origin, "a loop variable")

    def unchanged_parameter(self, node: ast.expr) -> bool:
        """A name that still holds what the function's parameter of that name was given."""
        return (
            isinstance(node, ast.Name)
            and self.function is not None
            and node.id in self.function.parameters
            and node.id in self.initial
            and node.id not in self.nonlocals
            and self.env.get(node.id) is self.initial[node.id]
        )

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

    def suppressing(self, context: ast.expr) -> bool:
        """A context manager that may end its body early and let the code after it run:
        contextlib's `suppress(…)` (also imported under another name), anyio's or trio's
        `move_on_after` / `move_on_at` / `CancelScope` (a cancelled body ends at an `await`)."""
        if not isinstance(context, ast.Call):
            return False
        if _dotted_end(context.func) in _SUPPRESSING:
            return True
        bound = self.lookup(context.func.id) if isinstance(context.func, ast.Name) else None
        return isinstance(bound, ImportedRef) and bound.name in _SUPPRESSING

    def suppressed(self, node: ast.With | ast.AsyncWith) -> bool:
        """`with suppress(ValueError): …` (outside review h31h): an exception ends the body
        after any of its statements, and the code after the `with` runs — as a `try` whose
        handler passes (before, the body was read as run to its end: `where` bound in a loop
        the exception leaves after its first pass was read as the last pass left it)."""
        body_live, handler_entry = self.tried(node, node.body)
        del body_live
        self.env = handler_entry
        return True

    def tried(self, node: ast.AST, body: list[ast.stmt]) -> tuple[bool, dict[str, Binding]]:
        """Run a body an exception may end: whether it ends live (`self.env` is then what it
        leaves), and what a handler starts with (what any assignment left)."""
        before = self.env
        assigned: dict[str, list[Binding]] = {}
        self.tries.append(assigned)
        self.env = dict(before)
        body_live = self.block(body)
        self.tries.pop()
        body_env = self.env if body_live else None
        # a handler may start after any statement of the body: what any assignment left
        handler_entry = _merge_envs([before, body_env], node, self.origin) or dict(before)
        for name, bindings in assigned.items():
            current: Binding | None = handler_entry.get(name)
            for binding in bindings:
                current = _merge(current, binding, node, self.origin)
            if current is not None:
                handler_entry[name] = current
        return body_live, handler_entry

    def attempt(self, node: ast.Try) -> bool:
        before = self.env
        body_live, handler_entry = self.tried(node, node.body)
        body_env = self.env if body_live else None
        ends: list[dict[str, Binding] | None] = []
        for handler in node.handlers:
            self.env = dict(handler_entry)
            if handler.type is not None:
                self.scan(handler.type)
            if handler.name:
                self.bind(handler.name, hole(handler, self.origin, "an exception"))
            ends.append(self.env if self.block(handler.body) else None)
        if body_env is not None:
            self.env = body_env
            ends.append(self.env if self.block(node.orelse) else None)
        merged = _merge_envs(ends, node, self.origin)
        if node.finalbody:
            self.env = merged if merged is not None else dict(handler_entry)
            final_live = self.block(node.finalbody)
            return final_live and merged is not None
        self.env = merged if merged is not None else before
        return merged is not None

    def match(self, node: ast.Match) -> bool:
        self.scan(node.subject)
        before = self.env
        ends: list[dict[str, Binding] | None] = [before]  # no case may match
        for case in node.cases:
            self.env = dict(before)
            for name in ast.walk(case.pattern):
                # `case x`, `case [*rest]`, `case {**rest}` (round 26b: a mapping's rest)
                for captured in (getattr(name, "name", None), getattr(name, "rest", None)):
                    if isinstance(captured, str):
                        self.bind(captured, hole(case.pattern, self.origin, "a matched value"))
            held = self._case_strings(case.pattern)
            if held is not None and isinstance(node.subject, ast.Name):
                # `match sql: case "DELETE FROM t" | "SELECT …":` — as `if sql in (…)`, the
                # subject holds those in the case's body (h35Q: sent there, its text was
                # never read: TG009 only, for a DELETE of every tenant's rows)
                self.env[node.subject.id] = held
            if case.guard is not None:
                self.scan(case.guard)
            ends.append(self.env if self.block(case.body) else None)
        merged = _merge_envs(ends, node, self.origin)
        self.env = merged if merged is not None else before
        return merged is not None

    def _case_strings(self, pattern: ast.pattern) -> Value | None:
        """The strings a case pattern of literals matches (`case "a" | "b"`, `case ("a" as
        x)`); None for any other pattern (or a literal that is not a string)."""
        while isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
            pattern = pattern.pattern
        options = pattern.patterns if isinstance(pattern, ast.MatchOr) else [pattern]
        values: list[Value] = []
        for option in options:
            while isinstance(option, ast.MatchAs) and option.pattern is not None:
                option = option.pattern
            if not (
                isinstance(option, ast.MatchValue)
                and isinstance(option.value, ast.Constant)
                and isinstance(option.value.value, str)
            ):
                return None
            values.append(self.evaluate(option.value))
        if not values or not all(
            value and all(all(type(p) is Lit for p in a) for a in value) for value in values
        ):
            return None
        return union(values, pattern, self.origin)

    # definitions

    def define_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.scan(decorator)
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.scan(default)
        cls = self.cls_stack[-1] if self.cls_stack and self._in_class_body else None
        decorators = {
            d.id if isinstance(d, ast.Name) else d.attr if isinstance(d, ast.Attribute) else ""
            for d in node.decorator_list
        }
        kind = "function"
        if cls is not None:
            kind = (
                "staticmethod"
                if "staticmethod" in decorators
                else "classmethod"
                if "classmethod" in decorators
                else "method"
            )
        args = node.args
        every = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        if kind in ("method", "classmethod") and positional:
            positional = positional[1:]
        info = FunctionInfo(node.name, node, self.module, cls, every, positional, kind)
        if self.function is not None and not self._in_class_body:
            info.enclosing = self.function  # a closure: it reads the function's parameters
            self.function.nested.append(info)
        self.module.functions.append(info)
        if cls is not None:
            cls.methods[node.name] = info
        self.bind(node.name, FuncRef(info))
        # the body runs later, seeing what the enclosing scopes hold by then
        scopes = (
            [*self.outer, (self.env, self.ever)] if not self._in_class_body else list(self.outer)
        )
        self.pending.append((info, scopes))

    _in_class_body = False

    def define_class(self, node: ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.scan(decorator)
        for base in node.bases:
            self.scan(base)
        info = ClassInfo(node.name, node, self.module, base_exprs=list(node.bases))
        info.base_env = self.env
        info.top = self.function is None
        self.module.classes.append(info)
        self._docstring(node.body)
        saved = (self.env, self.ever, self.outer, self._in_class_body)
        self.outer = [*self.outer, (self.env, self.ever)]
        self.env, self.ever = {}, {}
        self.cls_stack.append(info)
        self._in_class_body = True
        self.block(node.body)
        self._in_class_body = False
        self.cls_stack.pop()
        info.attributes = self.env
        changed = _rebound(self.module)[1]
        computed = _is_enum(info) and bool({"__new__", "__init__"} & info.methods.keys())
        info.fields, info.kw_only = _constructor_fields(info)
        if _makes_records(info):
            # `sql: str = "…"` of a dataclass, a NamedTuple, an attrs or pydantic model: a
            # default each instance may replace (`Query(sql=…)`), not the attribute's value
            for statement in node.body:
                if (
                    isinstance(statement, ast.AnnAssign)
                    and statement.value is not None
                    and isinstance(statement.target, ast.Name)
                    and "ClassVar" not in ast.unparse(statement.annotation)
                ):
                    field_name = statement.target.id
                    if _plain_dataclass(info):  # what `Queries()` holds
                        info.defaults[field_name] = info.attributes[field_name]
                    info.attributes[field_name] = hole(
                        statement,
                        self.origin,
                        f"`{info.name}.{field_name}` is a field: its default, unless the "
                        "constructor is given another",
                    )
        for name, binding in list(info.attributes.items()):
            if not isinstance(binding, tuple | Items):
                continue
            if (
                computed
                or name in changed
                or _ANY_NAME in changed
                # set on the class or an instance from anywhere in the project (`Repo.X = …`
                # in another module, `repo.X = …`, a decorator's `cls_.X = …`), or changed
                # there in place (round 25, outside attack)
                or self.index.changed_outside(name)
                or self.index.hooked_attribute(name, info)
                or self.index.overridden_elsewhere(name, info.name, self.origin)
                or self.index.class_written_by_key(info.name)
                or (isinstance(binding, Items) and self.index.changed_outside(name, stored=False))
            ):
                reason = (
                    f"`{info.name}` computes its members' values in `__new__`/`__init__`"
                    if computed
                    else f"`{info.name}.{name}` is assigned again outside the class body"
                )
                info.attributes[name] = hole(node, self.origin, reason)
                info.defaults.pop(name, None)
        self.env, self.ever, self.outer, self._in_class_body = saved
        self.bind(node.name, ClassRef(info))

    # expressions: calls, strings, messages

    def scan(self, node: ast.expr) -> None:
        """Records the calls and string literals of an expression."""
        stack: list[ast.AST] = [node]
        strings = self.module.strings
        while stack:
            current = stack.pop()
            kind = type(current)
            if kind is ast.Constant:
                if isinstance(current.value, str):  # type: ignore[attr-defined]
                    strings.append(current)  # type: ignore[arg-type]
                continue
            if kind is ast.Name:
                continue
            if kind is ast.JoinedStr:
                strings.append(current)  # type: ignore[arg-type]
                if any(
                    isinstance(v, ast.FormattedValue) and type(v.value) in _NAMED_FIELDS
                    for v in current.values  # type: ignore[attr-defined]
                ):
                    # `f"UPDATE {JOBS} SET …"` of a constant name: its text, as it is sent
                    # nowhere the check knows, is read with the values its fields hold
                    self.module.folds.append((current, self.evaluate(current)))  # type: ignore[arg-type]
                stack.extend(v.value for v in current.values if isinstance(v, ast.FormattedValue))  # type: ignore[attr-defined]
                for v in current.values:  # type: ignore[attr-defined]
                    if isinstance(v, ast.FormattedValue) and v.format_spec is not None:
                        stack.append(v.format_spec)
                continue
            if kind is ast.BinOp and type(current.op) is ast.Add:  # type: ignore[attr-defined]
                # written as constants: literals, f-strings, names (`BASE + "WHERE …"`); an
                # attribute or a call is followed where a call sends the result
                operands = _added(current)  # type: ignore[arg-type]
                if all(
                    type(o) in (ast.JoinedStr, ast.Name)
                    or (type(o) is ast.Constant and type(o.value) is str)
                    for o in operands
                ) and any(type(o) is not ast.Name for o in operands):
                    self.module.folds.append((current, self.evaluate(current)))  # type: ignore[arg-type]
                    for operand in operands:
                        if type(operand) is ast.JoinedStr:
                            for v in operand.values:
                                if isinstance(v, ast.FormattedValue):
                                    stack.append(v.value)
                                    if v.format_spec is not None:
                                        stack.append(v.format_spec)
                        elif type(operand) is not ast.Constant:
                            stack.append(operand)
                    continue
            if _formats_a_constant(current):
                # `"UPDATE {} SET …".format(JOBS)`, `"… %s …" % JOBS`: read, as it is sent
                # nowhere the check knows, with the values it formats in (as an f-string)
                self.module.folds.append((current, self.evaluate(current)))  # type: ignore[arg-type]
            if kind is ast.Call:
                self.on_call(current)  # type: ignore[arg-type]
            elif kind is ast.Compare:
                # `"FROM t" in sql`, `sql in ("…", "…")`: text written to be looked for, not
                # sent (h35G: a test's assertion on the SQL a fake connection recorded was
                # TG001); a value it narrows a name to is checked where that name is sent
                self._compared(current)  # type: ignore[arg-type]
            elif kind is ast.NamedExpr:
                self.scan(current.value)  # type: ignore[attr-defined]
                self.assign(current.target, self.binding(current.value), current.value)  # type: ignore[attr-defined]
                continue
            elif kind is ast.Lambda:
                self._scoped(current.args, [current.body])  # type: ignore[attr-defined]
                continue
            elif kind is ast.Yield or kind is ast.YieldFrom:
                self.yielded(current)  # type: ignore[arg-type]
            elif kind in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
                self._comprehension(current)  # type: ignore[arg-type]
                continue
            for name in current._fields:
                value = getattr(current, name, None)
                for child in value if type(value) is list else (value,):
                    child_kind = type(child)
                    if child_kind is ast.Constant:
                        if type(child.value) is str:  # type: ignore[union-attr]
                            strings.append(child)  # type: ignore[arg-type]
                    elif child_kind not in _INERT and isinstance(child, ast.AST):
                        stack.append(child)

    def _scoped(self, args: ast.arguments, bodies: list[ast.expr]) -> None:
        saved = self.env
        self.env = dict(saved)
        for parameter in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if parameter is not None:
                self.env[parameter.arg] = hole(
                    parameter, self.origin, f"`{parameter.arg}` is a lambda parameter"
                )
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.scan(default)
        for body in bodies:
            self.scan(body)
        self.env = saved

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        saved = self.env
        self.env = dict(saved)
        for generator in node.generators:
            self.scan(generator.iter)
            self._comprehension_target(generator)
            for condition in generator.ifs:
                # (read whatever the target holds: `if await conn.fetchval(…)` is a call,
                # h33j — passed unread for a name over constants)
                self.scan(condition)
                walrus = condition.left if isinstance(condition, ast.Compare) else condition
                if isinstance(walrus, ast.NamedExpr) and isinstance(walrus.target, ast.Name):
                    # `if (q := "SELECT …")`: every item reaching what follows has set it (the
                    # name, bound in the function around, is not known after the
                    # comprehension: `_scan_scopes`)
                    self.env[walrus.target.id] = self.binding(walrus.value)
        if isinstance(node, ast.DictComp):
            self.scan(node.key)
            self.scan(node.value)
        else:
            self.scan(node.elt)
        self.env = saved

    def _comprehension_target(self, generator: ast.comprehension) -> None:
        """Binds what a comprehension's `for` gives its target, item by item."""
        target = generator.target
        if isinstance(target, ast.Name) and not generator.is_async:
            # `(fetch(q) for q in QUERIES)`: each item of constants, as a `for` gives it
            value = self.iteration(generator.iter)
            if not _unknown(value) or _yielded(value):
                # (`for q in statements()`: what the generator yields, read later)
                self.env[target.id] = value
                return
        columns = (
            self.unpacked(generator.iter, len(target.elts))
            if isinstance(target, ast.Tuple | ast.List)
            and all(isinstance(e, ast.Name) for e in target.elts)
            else None
        )
        if columns is not None:
            assert isinstance(target, ast.Tuple | ast.List)
            for element, value in zip(target.elts, columns, strict=True):
                assert isinstance(element, ast.Name)
                self.env[element.id] = value
            return
        for name in ast.walk(target):
            if isinstance(name, ast.Name):
                self.env[name.id] = hole(
                    name, self.origin, f"`{name.id}` is a comprehension variable"
                )

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

    def on_call(self, node: ast.Call) -> None:
        node = self._unwrapped(node)
        if self.indirect(node):
            return
        node = self._frame_call(node)
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
            return _kept_partials(self.module.tree).get(func.id, [])
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            receiver = self.binding_of_receiver(func.value)
            if func.value.id in ("self", "cls") and isinstance(receiver, InstanceRef | ClassRef):
                if any(func.attr in c.methods for c in self.index.bases(receiver.info)[0]):
                    return []  # a method of the class: called as such
                return _kept_partials(self.module.tree).get(func.attr, [])
        return []

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
        if configured and keyword is None and not _sql_like(value):
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
        reason = f"the SQL is unpacked from `{_short(starred)}`"
        return hole(starred, self.origin, reason, returns=returns, position=0)

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
        if function is None or function.cls is None or function.method_kind != "method":
            return self.evaluate(argument)
        first = (*function.node.args.posonlyargs, *function.node.args.args)[:1]
        name = first[0].arg if first else ""
        me = self.env.get(name)
        if not isinstance(me, InstanceRef) or me.exact:
            return self.evaluate(argument)
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
        if not classes:
            return self.evaluate(argument)
        values: list[Value] = []
        try:
            for cls in classes:
                self.env[name] = InstanceRef(cls, exact=True)
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

    def _each_class(self, items: ast.expr, node: ast.expr) -> Value | None:
        """`node` (which reads the collection `self.X`, or `cls.X` in a classmethod) read once
        for each project class `self` may be of, when the classes give X different tuples, lists or dicts of constants
        (`columns = ("id", "email")` on a base, `("id", "role")` on a subclass): one
        alternative per class, each read as the class's own. None when that is not the shape
        (one class, or a class whose X is no such collection: what it holds is unknown)."""
        if not (
            isinstance(items, ast.Attribute)
            and isinstance(items.value, ast.Name)
            and self.function is not None
            and self.function.cls is not None
        ):
            return None
        name = items.value.id
        me = self.env.get(name)
        instance = isinstance(me, InstanceRef)
        if not (
            (isinstance(me, InstanceRef) and not me.exact)
            or (isinstance(me, ClassRef) and me.any_subclass)  # `cls.columns` in a classmethod
        ):
            return None
        subclasses = self.index._subclasses(me.info)
        if not subclasses:
            return None
        values: list[Value] = []
        try:
            for cls in (me.info, *subclasses):
                self.env[name] = InstanceRef(cls, exact=True) if instance else ClassRef(cls)
                if self.items_of(items) is None:
                    return None
                values.append(self.evaluate(node))
        finally:
            self.env[name] = me
        return union(values, node, self.origin)

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

    # bindings and values

    def plain_read(self, node: ast.expr) -> ast.expr:
        """`getattr(q, "PARTS")`, `vars(q)["PARTS"]`, `vars(q).get("PARTS")`,
        `q.__dict__["PARTS"]` (a module's name spelt as a constant, the built-ins not
        rebound): the attribute `q.PARTS` they read, placed where they are (h35D: TG009
        before); what changes it so is read by the alias scan. Else the node itself."""
        if not isinstance(node, ast.Call | ast.Subscript):
            return node
        owner: ast.expr | None = None
        key: ast.expr | None = None
        if isinstance(node, ast.Call):
            func = node.func
            if (
                _is_name(func, "getattr")
                and len(node.args) == 2
                and not node.keywords
                and self.lookup("getattr") is None
            ):
                owner, key = node.args
            elif (
                isinstance(func, ast.Attribute)
                and func.attr == "get"
                and len(node.args) == 1
                and not node.keywords
            ):
                owner, key = self._namespace_of(func.value), node.args[0]
        else:
            owner, key = self._namespace_of(node.value), node.slice
        if (
            owner is None
            or isinstance(owner, ast.Starred)
            or not (isinstance(key, ast.Constant) and isinstance(key.value, str))
            or not key.value.isidentifier()
        ):
            return node
        if isinstance(node, ast.Subscript) or not _is_name(node.func, "getattr"):
            # `vars(x)` / `x.__dict__` of a module only (an object's holds its own names)
            held = self.lookup(owner.id) if isinstance(owner, ast.Name) else None
            if isinstance(held, ImportedRef):
                held = self.index.imported(held)
            if not isinstance(held, ModuleRef):
                return node
        return ast.copy_location(ast.Attribute(owner, key.value, ast.Load()), node)

    def _namespace_of(self, node: ast.expr) -> ast.expr | None:
        """`x` of `vars(x)` (the built-in) or of `x.__dict__`; else None."""
        if (
            isinstance(node, ast.Call)
            and _is_name(node.func, "vars")
            and len(node.args) == 1
            and not node.keywords
            and self.lookup("vars") is None
        ):
            return node.args[0]
        if isinstance(node, ast.Attribute) and node.attr == "__dict__":
            return node.value
        return None

    def binding(self, node: ast.expr) -> Binding:
        """What an assigned expression gives a name: a handle, a reference, or a string value."""
        inner = node.value if isinstance(node, ast.Await) else node
        inner = self.plain_read(inner)
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
                return Items(values, tuple(keys))  # type: ignore[arg-type]
        return self.evaluate(node)

    def comprehension_items(self, node: ast.expr) -> Items | None:
        """A list or dict comprehension over an ordered tuple or list of constants, without a
        condition (`{t: f"SELECT count(*) FROM {t} WHERE …" for t in TABLES}`): its items, as
        the display it makes would give them; a dict's keys must each be one constant
        string. None for anything else."""
        if isinstance(node, ast.ListComp):
            values = self._mapped_constants(node)
            return None if values is None else Items(tuple(values), None)
        if not isinstance(node, ast.DictComp):
            return None
        filtered: list[bool] = []
        pairs = self._each_constant(
            node, lambda: (self.evaluate(node.key), self.evaluate(node.value)), filtered
        )
        if not pairs:
            return None
        keys: list[str] = []
        for key, _ in pairs:
            if not (len(key) == 1 and is_constant(key[0])):
                return None
            keys.append("".join(p.text for p in key[0] if type(p) is Lit))
        if len(set(keys)) != len(keys):
            return None  # (a later key replaces an earlier one's value)
        return Items(tuple(v for _, v in pairs), tuple(keys), subset=bool(filtered))

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

    def _mapped_constants(
        self, node: ast.expr, filtered: list[bool] | None = None
    ) -> list[Value] | None:
        """`(f"t.{c}" for c in ("id", "title"))` (or a list comprehension) over an ordered tuple
        or list of constants, without a condition: each item's value, the name bound in turn
        to each constant. None for anything else. With `filtered` (a list the answer is told
        in), a condition is allowed too (and `True` appended): the items are then some of
        these, in this order."""
        if not isinstance(node, ast.GeneratorExp | ast.ListComp):
            return None
        return self._each_constant(node, lambda: self.evaluate(node.elt), filtered)

    def _each_constant(
        self,
        node: ast.GeneratorExp | ast.ListComp | ast.DictComp,
        read: Callable[[], _T],
        filtered: list[bool] | None = None,
    ) -> list[_T] | None:
        """`read()` once for each constant a comprehension's one loop, without a condition,
        runs over (an ordered tuple or list of constants, a dict's constant keys — `for k in
        FIELDS`, `.keys()` —, its keys and values — `for k, v in fields.items()`), its names
        bound to it in turn. With `filtered`, a condition is allowed (each item may pass it)
        and the loop may run over a dict some of whose items a condition kept: then `True`
        is appended to it."""
        if len(node.generators) != 1:
            return None
        loop = node.generators[0]
        if (loop.ifs and filtered is None) or loop.is_async:
            return None
        target = loop.target
        names: list[str]
        if isinstance(target, ast.Name):
            names = [target.id]
        elif (
            isinstance(target, ast.Tuple)
            and len(target.elts) == 2
            and all(isinstance(e, ast.Name) for e in target.elts)
        ):
            names = [e.id for e in target.elts if isinstance(e, ast.Name)]
        else:
            return None
        source = loop.iter
        rows: list[tuple[Binding, ...]]
        subset = False
        files = self.listed_files(source) if len(names) == 1 else None
        if files is not None:  # `{p.stem: p.read_text() for p in SQL_DIR.glob("*.sql")}`
            rows = [(f,) for f in files]
        elif (
            len(names) == 1
            and isinstance(source, ast.Tuple | ast.List)
            and not any(isinstance(e, ast.Starred) for e in source.elts)
        ):
            rows = [(self.evaluate(e),) for e in source.elts]
        else:
            how, named = "iter", source
            if (
                isinstance(source, ast.Call)
                and isinstance(source.func, ast.Attribute)
                and source.func.attr in ("items", "keys")
                and not source.args
                and not source.keywords
            ):
                how, named = source.func.attr, source.func.value
            items = self.items_of(named)
            if items is None or not items.ordered:
                return None
            if items.keys is None:
                if how != "iter" or len(names) != 1:
                    return None
                rows = [(v,) for v in items.values]
            else:
                if (
                    (how == "items") != (len(names) == 2)
                    or any(k.startswith("\0") for k in items.keys)
                    or (items.subset and filtered is None)
                ):
                    return None
                subset = items.subset
                keys = [((Lit(k, self.origin, None, 0, source),),) for k in items.keys]
                rows = (
                    [(k, v) for k, v in zip(keys, items.values, strict=True)]
                    if how == "items"
                    else [(k,) for k in keys]
                )
        if len(rows) > 64:
            return None
        before = {name: self.env.get(name, _UNBOUND) for name in names}
        out: list[_T] = []
        try:
            for row in rows:
                for name, value in zip(names, row, strict=True):
                    self.env[name] = value
                out.append(read())
        finally:
            for name, old in before.items():
                if old is _UNBOUND:
                    self.env.pop(name, None)
                else:
                    self.env[name] = old  # type: ignore[assignment]
        if filtered is not None and (loop.ifs or subset):
            filtered.append(True)
        return out

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

    def instance_of(self, node: ast.expr) -> InstanceRef | None:
        """`Queries()` (or `m.Queries()`, imported) of a class of the project: an instance of
        it, whose methods are the class's (or a subclass's override: each is read)."""
        if not isinstance(node, ast.Call):
            return None
        made = self.binding_of_receiver(node.func)
        if isinstance(made, ImportedRef):
            imported = self.index.imported(made)
            made = imported if isinstance(imported, ClassRef) else made
        if not isinstance(made, ClassRef):
            return None
        given = self._fields_given(made.info, node)
        return InstanceRef(
            made.info, exact=True, bare=not node.args and not node.keywords, given=given
        )

    def _fields_given(self, info: ClassInfo, node: ast.Call) -> tuple[tuple[str, Value], ...]:
        """The fields a call of a dataclass or NamedTuple of the project gives, each with its
        argument's value (`Query("SELECT …", name="x")`); none where an argument is unpacked
        (`*args`, `**kw`) or does not map to a field (Python raises)."""
        fields = info.fields
        if not fields or not (node.args or node.keywords):
            return ()
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            return ()
        if len(node.args) > len(fields) or (info.kw_only and node.args):
            return ()
        given: dict[str, Value] = {}
        for name, argument in zip(fields, node.args, strict=False):
            given[name] = self.evaluate(argument)
        for keyword in node.keywords:
            if keyword.arg not in fields or keyword.arg in given:
                return ()
            given[keyword.arg] = self.evaluate(keyword.value)
        return tuple(given.items())

    def binding_of_receiver(self, node: ast.expr) -> Binding | None:
        """The reference an expression stands for (`self`, a class, a module), if any."""
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.Call):
            if _is_name(node.func, "type") and len(node.args) == 1 and not node.keywords:
                made = self.binding_of_receiver(node.args[0])  # `type(self)`: self's class
                return made if isinstance(made, InstanceRef) else None
            return self.instance_of(node)
        if isinstance(node, ast.Attribute):
            base = self.binding_of_receiver(node.value)
            if node.attr == "__class__" and isinstance(base, InstanceRef):
                return base  # `self.__class__`: self's class
            if isinstance(base, ImportedRef):
                imported = self.index.imported(base)  # `from m import Repo`: Repo.X
                base = imported if isinstance(imported, ClassRef) else base
            if isinstance(base, ModuleRef | ImportedRef):
                return self.index.attribute_of(base, node.attr)
            if isinstance(base, ClassRef | InstanceRef):
                found = self.index.class_attribute(base.info, node.attr)
                if (
                    isinstance(base, InstanceRef)
                    and isinstance(found, FuncRef)
                    and found.info.method_kind == "method"
                ):
                    return FuncRef(found.info, bound=True)  # `fetch = self._fetch`
                return found if isinstance(found, ClassRef | FuncRef) else None
        return None

    def name_value(self, node: ast.Name) -> Value:
        binding = self.lookup(node.id)
        if binding is None:
            return hole(node, self.origin, f"`{node.id}` is not assigned a constant in this module")
        value = self.index.as_value(binding, node, self.origin, node.id)
        # a name that holds nothing known enters the string where it is used
        return tuple(
            (a[0]._replace(node=node),)
            if len(a) == 1 and type(a[0]) is Hole and self.origin.same_file(a[0].origin)
            else a
            for a in value
        )

    def evaluate(self, node: ast.expr) -> Value:
        """The strings an expression can evaluate to."""
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                return hole(node, self.origin, "the string expression is nested too deeply")
            return self._evaluate(node)
        finally:
            self.depth -= 1

    def _evaluate(self, node: ast.expr) -> Value:
        origin = self.origin
        if isinstance(node, ast.Call | ast.Subscript):
            node = self.plain_read(node)
        kind = type(node)
        if kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if isinstance(value, str):
                return ((Lit(value, origin, node),),)
            number = value if isinstance(value, int | float) else None
            reason = f"{value!r} is not a string"
            integer = type(value) is int  # not a bool: `True` formats as a word
            return hole(
                node,
                origin,
                reason,
                kind="value",
                string=False,
                number=number,
                integer=integer,
                false=not value,
            )
        if kind is ast.Name:
            return self.name_value(node)  # type: ignore[arg-type]
        if kind is ast.JoinedStr:
            return self.fstring(node)  # type: ignore[arg-type]
        if kind is ast.BinOp:
            op = type(node.op)  # type: ignore[attr-defined]
            if op in (ast.Add, ast.Sub, ast.Mult) and self.numeric(node):
                return self.counted(node, node.left, node.right)  # type: ignore[attr-defined]
            if op is ast.Add:
                operands = _added(node)  # type: ignore[arg-type]
                return concat([self.evaluate(o) for o in operands], node, origin)
            if op is ast.Mod:
                return self.percent(node)  # type: ignore[arg-type]
            return hole(node, origin, "the string is computed at run time")
        if kind is ast.IfExp:
            return self.conditional(node)  # type: ignore[arg-type]
        if kind is ast.BoolOp:
            values = [self.evaluate(v) for v in node.values]  # type: ignore[attr-defined]
            if type(node.op) is ast.Or:  # type: ignore[attr-defined]
                # `ORDER.get(o, None) or "id"`: an operand gives its value only when it is
                # true — a None, False, 0 or "" it may hold gives the next operand's instead
                values = [
                    tuple(a for a in v if not _surely_false(a)) if i < len(values) - 1 else v
                    for i, v in enumerate(values)
                ]
                values = [v for v in values if v]
            return union(values, node, origin)
        if kind is ast.Call:
            return self.call_value(node)  # type: ignore[arg-type]
        if kind is ast.Attribute:
            listed = (
                self.lookup(node.value.id)  # type: ignore[attr-defined]
                if type(node.value) is ast.Name  # type: ignore[attr-defined]
                else None
            )
            if isinstance(listed, FilePath) and node.attr in ("stem", "name", "suffix"):  # type: ignore[attr-defined]
                path = Path(listed.path)
                text = getattr(path, node.attr)  # type: ignore[attr-defined]
                return ((Lit(text, origin, None, 0, node),),)  # `p.stem` of a listed file
            member = self.enum_value(node)  # type: ignore[arg-type]
            if member is not None:
                return member
            binding = self.attribute_binding(node)  # type: ignore[arg-type]
            if isinstance(binding, FuncRef) and _is_property(binding.info.node):
                return self.property_value(node, binding)  # type: ignore[arg-type]
            if binding is not None:
                return self.index.as_value(binding, node, origin, ast.unparse(node))
            return hole(node, origin, f"`{_short(node)}` is read at run time")
        if kind is ast.Await or kind is ast.NamedExpr:  # (`q := "SELECT …"` is its value)
            return self.evaluate(node.value)  # type: ignore[attr-defined]
        if kind is ast.Starred:
            return hole(node, origin, "a starred argument")
        if kind is ast.Subscript:
            found = self.item(node.value, node.slice)  # type: ignore[attr-defined]
            if found is not None:
                return found
        return hole(node, origin, f"the SQL is computed at run time ({kind.__name__.lower()})")

    def item(self, collection: ast.expr, key: ast.expr) -> Value | None:
        """`QUERIES["lead"]`, `STEPS[0]`: the item; with a key known at run time, any item."""
        items = self.items_of(collection)
        if items is None or not items.ordered or isinstance(key, ast.Slice):
            return None
        if isinstance(key, ast.Constant):
            index = key.value
            if items.keys is not None and index in items.keys:
                return items.values[len(items.keys) - 1 - items.keys[::-1].index(index)]
            if items.keys is not None and any(k.startswith("\0") for k in items.keys):
                return union(items.values, key, self.origin)  # a name's key may equal it
            if items.keys is None and type(index) is int:
                count = len(items.values)
                return items.values[index] if -count <= index < count else None
            return None  # no such item: the call fails at run time
        return union(items.values, key, self.origin)

    def enum_value(self, node: ast.Attribute) -> Value | None:
        """`Query.PINNED.value` of an `Enum` of the project: the member's constant. A member
        known only at run time — `Sort(text)`, `Sort[name]`, a name bound to one, a parameter
        annotated `Sort` (`| None`, `Optional`, `Annotated`) — is one of the members: each
        member's value (Python raises for anything else; the annotation is trusted as a
        `Literal[…]` one is, see `_run_function`)."""
        member = node.value
        if node.attr != "value":
            return None
        name: str | None = None
        if isinstance(member, ast.Attribute):
            owner = self.binding_of_receiver(member.value)
            name = member.attr
            if not isinstance(owner, ClassRef | ImportedRef):
                owner, name = self._field_member(member), None  # `params.sort.value`
        else:
            owner = self._some_member(member)
        if isinstance(owner, ImportedRef):
            owner = self.index.imported(owner)
        if not isinstance(owner, ClassRef) or not _is_enum(owner.info):
            return None
        order, _ = self.index.bases(owner.info)
        if any(
            attr in cls.methods or attr in cls.attributes
            for cls in order
            for attr in ("value", "_value_", "__getattribute__", "__getattr__")
        ) or self.index.changed_outside("_value_"):
            # its own `value` (a property), or a member's `_value_` set from outside
            # (`Q.PIN._value_ = …`): not the member's constant
            return None
        if name is not None:
            found = self.index.class_attribute(owner.info, name)
            return found if isinstance(found, tuple) else None
        if any("_missing_" in cls.methods or "_missing_" in cls.attributes for cls in order):
            return None  # `_missing_` may make a pseudo-member of any value it is given
        members = [
            binding if isinstance(binding, tuple) else hole(member, self.origin, "not a string")
            for attr, binding in owner.info.attributes.items()
            if _enum_member_name(attr) and isinstance(binding, tuple | Items)
        ]
        # an enum with no members of its own may be the base of enums that have some
        return union(members, member, self.origin) if members else None

    def str_enum_text(self, node: ast.expr) -> Value | None:
        """`f"{sort}"` of a member of a project `StrEnum` known only at run time (a parameter
        annotated `Sort`, `Sort(text)`, `params.sort`…, as `.value` reads them): a `StrEnum`
        member formats as its value — each member's. Not a `(str, Enum)` mixin, which Python
        3.12 formats as `Sort.NAME`, nor a class that writes its members itself."""
        if isinstance(node, ast.Attribute):
            owner = self.binding_of_receiver(node.value)
            if isinstance(owner, ClassRef | ImportedRef):
                return None  # `Sort.NAME`: a member named (`attribute_binding` reads it)
            owner = self._field_member(node)
        else:
            owner = self._some_member(node)
        if isinstance(owner, ImportedRef):
            owner = self.index.imported(owner)
        if not isinstance(owner, ClassRef) or self.index.formats_members(owner.info):
            return None
        order, _ = self.index.bases(owner.info)
        if not any(_dotted(b).rsplit(".", 1)[-1] == "StrEnum" for c in order for b in c.base_exprs):
            return None
        value = ast.copy_location(ast.Attribute(value=node, attr="value", ctx=ast.Load()), node)
        return self.enum_value(value)

    def _some_member(self, node: ast.expr) -> Binding | None:
        """The enum class (a `ClassRef`, or what imports it) of which `node` is surely a
        member without saying which: `E(text)` (one value looked up, or Python raises),
        `E[name]`, a name bound to such a call, a parameter annotated `E` not assigned since."""
        if isinstance(node, ast.Call):
            if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
                return None  # `E("Name", members)`: the functional API makes a class
            return self.binding_of_receiver(node.func)
        if isinstance(node, ast.Subscript):
            return self.binding_of_receiver(node.value)
        if not isinstance(node, ast.Name):
            return None
        bound = self.lookup(node.id)
        if isinstance(bound, InstanceRef):
            return ClassRef(bound.info)  # `order = Sort(text)`: only an enum's member is kept
        function = self.function
        if (
            function is None
            or not isinstance(bound, tuple)
            or len(bound) != 1
            or len(bound[0]) != 1
            or type(bound[0][0]) is not Hole
            or bound[0][0].param != node.id
            or bound[0][0].owner is not function
        ):
            return None
        args = function.node.args
        for parameter in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if parameter.arg == node.id:
                return self._annotated_class(parameter.annotation)
        return None

    def _field_member(self, node: ast.Attribute) -> Binding | None:
        """The enum class of a field annotated with it (`sort: Sort = Sort.NAME`) of a record
        class of the project — a pydantic model, a dataclass… (see `_makes_records`) — read on
        a parameter annotated with that class (`params: ListParams`, FastAPI's query model) or
        on `self` in its methods; None when any file assigns that attribute (`p.sort = …`)."""
        base = self.binding_of_receiver(node.value)
        record = (
            base
            if isinstance(base, InstanceRef) and not isinstance(node.value, ast.Call)
            else self._some_member(node.value)
        )
        if isinstance(record, ImportedRef):
            record = self.index.imported(record)
        if not isinstance(record, ClassRef | InstanceRef):
            return None
        order, _ = self.index.bases(record.info)
        if not any(_makes_records(cls) for cls in order):
            return None
        if (
            self.index.changed_outside(node.attr)
            or self.index.overridden_elsewhere(node.attr, "", self.origin)
            or any(
                _may_change_fields(cls) or node.attr in self.index._assigned(cls) for cls in order
            )
        ):
            return None  # (a validator, `__post_init__`, `self.sort = …` may give it another)
        for cls in order:
            for statement in cls.node.body:
                if (
                    isinstance(statement, ast.AnnAssign)
                    and isinstance(statement.target, ast.Name)
                    and statement.target.id == node.attr
                ):
                    written = ast.unparse(statement).lower()
                    if "validator" in written or "converter" in written:
                        return None  # `Annotated[Sort, AfterValidator(f)]`, `converter=str`
                    return self._annotated_class(statement.annotation, module=cls.module)
        return None

    def _annotated_class(
        self, annotation: ast.expr | None, depth: int = 0, module: ModuleInfo | None = None
    ) -> Binding | None:
        """The one class an annotation names, None allowed beside it: `E`, `"E"`, `E | None`,
        `Optional[E]`, `Union[E, None]`, `Annotated[E, …]`, `m.E` (written in `module`: its
        names, not this scope's)."""
        if annotation is None or depth > 8:
            return None
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                parsed = ast.parse(annotation.value, mode="eval").body
            except (SyntaxError, ValueError):
                return None
            return self._annotated_class(parsed, depth + 1, module)
        items: list[ast.expr]
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            items = [annotation.left, annotation.right]
        elif isinstance(annotation, ast.Subscript):
            form = expression_name(annotation.value).rsplit(".", 1)[-1]
            inner = annotation.slice
            items = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
            if form == "Annotated" and items:
                items = items[:1]
            elif form not in ("Optional", "Union"):
                return None
        elif module is not None and module is not self.module:
            if not isinstance(annotation, ast.Name):
                return None
            found = module.env.get(annotation.id)
            return self.index.imported(found) if isinstance(found, ImportedRef) else found
        else:
            return self.binding_of_receiver(annotation)
        named = [i for i in items if not (isinstance(i, ast.Constant) and i.value is None)]
        return self._annotated_class(named[0], depth + 1, module) if len(named) == 1 else None

    def property_value(self, node: ast.Attribute, binding: FuncRef) -> Value:
        """`self.select_sql` of a `@property`: what the getter (or its overrides) returns."""
        base = self.binding_of_receiver(node.value)
        info = binding.info
        returns = (
            self.index.overrides(base.info, node.attr, exact=base.exact)
            if isinstance(base, InstanceRef)
            else lambda: [info]
        )
        reason = f"`{_short(node)}` is computed at run time"
        return hole(node, self.origin, reason, returns=returns)

    def attribute_binding(self, node: ast.Attribute) -> Binding | None:
        if node.attr == "db_table" and type(node.value) is ast.Attribute:
            table = self.django_table(node.value)
            if table is not None:
                return table
        base = self.binding_of_receiver(node.value)
        if isinstance(base, ImportedRef):
            imported = self.index.imported(base)  # `from m import Repo`: Repo.X
            if isinstance(imported, InstanceRef) and imported.given:
                base = imported  # `from m import EVENTS`: a record made there, EVENTS.text
            base = imported if isinstance(imported, ClassRef) else base
        if isinstance(base, InstanceRef):
            holder = expression_name(node.value)
            if holder not in ("", "self", "cls") and self.index.class_written_by_key(holder):
                # `setattr(Q, k, v)` / `vars(Q).update(data)` somewhere: any attribute of it
                reason = f"`{_short(node.value)}` has attributes written by a key not spelt"
                return hole(node, self.origin, reason)
            return self.index.instance_attribute(
                base.info,
                node.attr,
                node,
                exact=base.exact,
                bare=base.bare,
                fields_given=base.given,
            )
        if isinstance(base, ClassRef) and base.any_subclass:
            # `cls.X`: the class's X or a subclass's (what instances are given included: more
            # values, each checked)
            return self.index.instance_attribute(base.info, node.attr, node)
        if isinstance(base, ClassRef):
            found = self.index.class_attribute(base.info, node.attr)
            made = self.index.metaclass_makes(base.info, node.attr)
            if found is not None and made is not None:
                reason = f"`{_short(node)}` is what the metaclass `{made}` makes of it"
                return hole(node, self.origin, reason)
            if found is not None and self.index.formats_members(base.info):
                # `Q.PIN` of an enum whose class writes its members itself: `f"{Q.PIN}"`,
                # `str(Q.PIN)` send what its `__str__` / `__format__` returns (`Q.PIN.value`
                # is the constant: `enum_value`)
                reason = f"`{_short(node)}` is written by its class's own `__str__`/`__format__`"
                return hole(node, self.origin, reason)
            return found
        if isinstance(base, ModuleRef | ImportedRef):
            return self.index.attribute_of(base, node.attr)
        return None

    def django_table(self, meta: ast.Attribute) -> Binding | None:
        """`Tag._meta.db_table` (`meta` its `Tag._meta`): the `db_table` a Django model of the
        project sets in its own `class Meta` (Django takes it as written), for the class itself
        or an object made of it (`Tag()`); None otherwise — a model leaving its table to
        Django's default or to an abstract base, `self` in a base model's method (a subclass's
        Meta), a class with an attribute `_meta` of its own."""
        if meta.attr != "_meta":
            return None
        base = self.binding_of_receiver(meta.value)
        if isinstance(base, ImportedRef):
            imported = self.index.imported(base)
            base = imported if isinstance(imported, ClassRef) else base
        if not (
            (isinstance(base, ClassRef) and not base.any_subclass)
            or (isinstance(base, InstanceRef) and base.exact)
        ):
            return None
        info = base.info
        if not _imports_django(info.module) or self.index.class_attribute(info, "_meta"):
            return None
        options = info.attributes.get("Meta")
        if not isinstance(options, ClassRef) or options.info.node not in info.node.body:
            return None
        return options.info.attributes.get("db_table")

    def fstring(self, node: ast.JoinedStr) -> Value:
        """Constant parts as text; each field its value when it is a constant (a conditional of
        constants gives one alternative per branch), else a hole where the field stands."""
        parts: list[Value] = []
        origin = self.origin
        offset = 0
        text = ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                text = str(part.value)
                parts.append(((Lit(text, origin, node, offset),),))
                offset += len(text)
                continue
            assert isinstance(part, ast.FormattedValue)
            if _DOLLAR_END.search(text) and self.numeric(part.value):
                # `${len(params)}`: a bind parameter whose number is counted at run time
                reason = f"`{_short(part.value)}` numbers a parameter at run time"
                parts.append(hole(part.value, origin, reason, kind="number", string=False))
            elif (
                part.format_spec is not None or part.conversion not in (-1, ord("s"))
            ) and isinstance(spec := _constant_spec(part.format_spec), str):
                # `{n:>5}`, `{name!r}`: a constant is formatted as Python formats it
                conversion = "" if part.conversion == -1 else chr(part.conversion)
                value = self.evaluate(part.value)
                if conversion in ("", "s") and spec in ("", "d") and integer_value(value):
                    value = formatted_numbers(value, spec, part.value, origin)
                    if not all(is_constant(a) for a in value):
                        reason = f"`{_short(part.value)}` is an int formatted at run time"
                        value = hole(
                            part.value, origin, reason, kind="integer", string=False, integer=True
                        )
                    parts.append(value)
                    text = ""
                    continue
                value = formatted(value, conversion, spec, part.value, origin)
                reason = f"`{_short(part.value)}` is formatted into the string at run time"
                kind = "value" if spec else None
                parts.append(
                    tuple(
                        a if is_constant(a) else (Hole(part.value, origin, reason, kind=kind),)
                        for a in value
                    )
                )
            elif part.format_spec is None and part.conversion in (-1, ord("s")):
                written = self.str_enum_text(part.value)
                value = self.evaluate(part.value) if written is None else written
                if integer_value(value) and not all(
                    type(a[0]) is Hole and a[0].number is not None for a in value
                ):
                    # an int known at run time: digits (and a minus), one number token where
                    # the text around it keeps it one (python.py checks the place)
                    reason = f"`{_short(part.value)}` is an int formatted at run time"
                    parts.append(
                        hole(part.value, origin, reason, kind="integer", string=False, integer=True)
                    )
                else:
                    parts.append(formatted_numbers(value, "", part.value, origin))
            else:
                numeric = part.format_spec is not None
                reason = f"`{_short(part.value)}` is formatted into the string at run time"
                parts.append(hole(part.value, origin, reason, kind="value" if numeric else None))
            text = ""
        return concat(parts, node, origin)

    def replaced(self, template: ast.expr, node: ast.Call) -> Value | None:
        """`TEMPLATE.replace("{table}", "leads")` of constants: the replaced text, placed at
        the call (None: something in it is only known at run time)."""
        texts: list[str] = []
        for argument in node.args[:2]:
            value = self.evaluate(argument)
            text = _constant_text(value[0]) if len(value) == 1 else None
            if text is None:
                return None
            texts.append(text)
        count = -1
        if len(node.args) == 3:
            last = node.args[2]
            if not (isinstance(last, ast.Constant) and type(last.value) is int):
                return None
            count = last.value
        alternatives: list[tuple[Lit]] = []
        for alternative in self.evaluate(template):
            text = _constant_text(alternative)
            if text is None:
                return None
            text = text.replace(texts[0], texts[1], count)
            alternatives.append((Lit(text, self.origin, None, 0, node),))
        return tuple(alternatives)

    def narrowing(self, test: ast.expr) -> tuple[str, Grown | None, Grown | None] | None:
        """A test of a list the function grows (`if conditions`, `not params`, `len(xs)`): the
        name, and the lists a path can leave that make it true, and false."""
        tested = _tested_for_items(test, self.lookup("len") is None)
        if tested is None:
            return None
        name, holds = tested
        grown = self.env.get(name)
        if not isinstance(grown, Grown):
            return None
        full = Grown(tuple(items for items in grown.lists if items))
        empty = Grown(tuple(items for items in grown.lists if not items))
        return (name, full, empty) if holds else (name, empty, full)

    def memberships(self, test: ast.expr) -> list[tuple[str, Value, bool]]:
        """The names a test narrows (see `membership`): one test, or the tests joined by `and`
        that narrow where all of them pass (`if key in allowed and key in existing:`, its
        body), or by `or` where none does (`if col not in COLUMNS or not value: continue`,
        after it) — each with the strings it holds there, and whether that is when the whole
        test is true. A name the test also assigns (`if key in ALLOWED and [key := val]:`)
        is not narrowed: it holds what the assignment gave (outside review h31h)."""
        walrus = {
            node.target.id
            for node in ast.walk(test)
            if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name)
        }
        return [m for m in self._memberships(test) if m[0] not in walrus]

    def _memberships(self, test: ast.expr) -> list[tuple[str, Value, bool]]:
        negated = False
        inner = test
        while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.Not):
            inner, negated = inner.operand, not negated
        if isinstance(inner, ast.BoolOp) and negated:  # `not (a in A and b)`: its `else`
            return [(n, held, not when) for n, held, when in self._memberships(inner)]
        if isinstance(test, ast.BoolOp):
            want = isinstance(test.op, ast.And)
            found: list[tuple[str, Value, bool]] = []
            names: set[str] = set()
            for value in test.values:
                member = self.membership(value)
                if member is not None and member[2] == want and member[0] not in names:
                    names.add(member[0])
                    found.append(member)
            return found
        member = self.membership(test)
        return [] if member is None else [member]

    def membership(self, test: ast.expr) -> tuple[str, Value, bool] | None:
        """`name in CONSTANTS` (or `not in`, `not … in`) where CONSTANTS is a tuple, list, set
        or dict of constant strings, written there or bound to a name the module does not
        change: the name, the strings it holds when the test passes (a dict's keys), and
        whether that is when the test is true."""
        negated = False
        while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, negated = test.operand, not negated
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.In | ast.NotIn)
            and isinstance(test.left, ast.Name)
        ):
            return None
        if isinstance(test.ops[0], ast.NotIn):
            negated = not negated
        container = test.comparators[0]
        if (
            isinstance(container, ast.Call)
            and isinstance(container.func, ast.Attribute)
            and container.func.attr == "keys"
            and not container.args
            and not container.keywords
        ):
            # `name in COLS.keys()`: a dict's keys, as `name in COLS` (h32j)
            keyed = self.items_of(container.func.value)
            if keyed is None or keyed.keys is None:
                return None
            container = container.func.value
        items = self.items_of(container)
        if items is None:
            displayed = container.elts if isinstance(container, ast.Tuple | ast.List) else None
            displayed = displayed or _set_display(container)
            if not displayed or any(isinstance(e, ast.Starred) for e in displayed):
                return None
            items = Items(tuple(self.evaluate(e) for e in displayed), None)
        if items.keys is not None:
            if any(k.startswith("\0") for k in items.keys):
                return None  # keys that are names: their values are not read here
            members: list[Value] = [
                ((Lit(key, self.origin, None, 0, container),),) for key in items.keys
            ]
        else:
            members = list(items.values)
        if not members or not all(
            value and all(all(type(p) is Lit for p in a) for a in value) for value in members
        ):
            return None  # an item known at run time (or a number): the name is not narrowed
        return test.left.id, union(members, test, self.origin), not negated

    def conditional(self, node: ast.IfExp) -> Value:
        """`a if test else b`: each branch's values; a branch that tests a grown list sees the
        lists that take it (`f"WHERE {…}" if conditions else ""` never joins an empty list)."""
        decided = self.compared_number(node.test)
        if decided is not None:  # `"" if i == 0 else "OR "` on a loop's first pass
            return self.evaluate(node.body if decided else node.orelse)
        narrowed = self.narrowing(node.test)
        if narrowed is None:
            return union((self.evaluate(node.body), self.evaluate(node.orelse)), node, self.origin)
        name, truthy, falsy = narrowed
        values: list[Value] = []
        saved = self.env[name]
        try:
            for branch, lists in ((node.body, truthy), (node.orelse, falsy)):
                if lists is not None and lists.lists:
                    self.env[name] = lists
                    values.append(self.evaluate(branch))
        finally:
            self.env[name] = saved
        return union(values, node, self.origin)

    def grown_view(self, node: ast.expr) -> Grown | None:
        """The lists `conds + [written items]` may hold, for a list `conds` the function grows:
        each list it may hold, then those items (`" OR ".join(conds + ["FALSE"])`)."""
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Add)
            and isinstance(node.left, ast.Name)
            and _added_display(node.right)
        ):
            grown = self.lookup(node.left.id)
            assert isinstance(node.right, ast.List | ast.Tuple)
            added = tuple(self.evaluate(e) for e in node.right.elts)
            if isinstance(grown, Grown):
                return Grown(tuple(items + added for items in grown.lists))
        return None

    def compared_number(self, test: ast.expr) -> bool | None:
        """The outcome of `name == n` / `name != n` when both sides are known numbers (an
        `enumerate` index on a loop's first pass), else None."""
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq | ast.NotEq)
            and isinstance(test.left, ast.Name)
            and isinstance(test.comparators[0], ast.Constant)
            and type(test.comparators[0].value) is int
        ):
            return None
        bound = self.lookup(test.left.id)
        number = _constant_number(bound) if isinstance(bound, tuple) else None
        compared = test.comparators[0].value
        if number is not None:
            return (number == compared) == isinstance(test.ops[0], ast.Eq)
        if (
            isinstance(bound, tuple)
            and len(bound) == 1
            and len(bound[0]) == 1
            and type(bound[0][0]) is Hole
            and bound[0][0].reason == _PAST_FIRST
            and compared <= 0
        ):  # `i == 0` after a loop's first pass
            return not isinstance(test.ops[0], ast.Eq)
        return None

    def counted(self, node: ast.AST, left: ast.expr, right: ast.expr) -> Value:
        """Arithmetic of two numbers: a number (its value when both sides are constants)."""
        values = [self.evaluate(side) for side in (left, right)]
        numbers = [_constant_number(value) for value in values]
        operator = node.op if isinstance(node, ast.AugAssign | ast.BinOp) else None
        # `int + int`, `int - int`, `int * int`: an int
        integer = isinstance(operator, ast.Add | ast.Sub | ast.Mult) and all(
            integer_value(value) for value in values
        )
        number: int | None = None
        if numbers[0] is not None and numbers[1] is not None:
            operator = node.op if isinstance(node, ast.AugAssign | ast.BinOp) else None
            if isinstance(operator, ast.Add):
                number = numbers[0] + numbers[1]
            elif isinstance(operator, ast.Sub):
                number = numbers[0] - numbers[1]
            elif isinstance(operator, ast.Mult) and abs(numbers[0] * numbers[1]) < 1 << 64:
                number = numbers[0] * numbers[1]
        reason = f"`{_short(left)}` is a number counted at run time"
        return hole(
            node, self.origin, reason, kind="value", string=False, number=number, integer=integer
        )

    def numeric(self, node: ast.expr) -> bool:
        """Whether an expression surely gives a number: an int literal, `len()`, `int()`,
        arithmetic of them, a name every value of which is one (not a parameter annotated
        `int`: Python does not enforce it)."""
        if isinstance(node, ast.Constant):
            return type(node.value) is int
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return node.func.id in ("len", "int") and self.lookup(node.func.id) is None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            return self.numeric(node.left) and self.numeric(node.right)
        if isinstance(node, ast.Name):
            binding = self.lookup(node.id)  # every value it may hold an int (no annotation)
            return isinstance(binding, tuple) and integer_value(binding)
        return False

    def percent(self, node: ast.BinOp) -> Value:
        template = self.evaluate(node.left)
        right = node.right
        if isinstance(right, ast.Tuple):
            if any(isinstance(e, ast.Starred) for e in right.elts):
                return hole(node, self.origin, "`%` formatting with a starred argument")
            arguments: list[Value] | dict[str, Value] = [self._argument(e) for e in right.elts]
        elif isinstance(right, ast.Dict):
            if not all(
                isinstance(k, ast.Constant) and isinstance(k.value, str) for k in right.keys
            ):
                return hole(node, self.origin, "`%` formatting with a mapping computed at run time")
            arguments = {
                str(k.value): self._argument(v)  # type: ignore[union-attr]
                for k, v in zip(right.keys, right.values, strict=True)
            }
        else:
            arguments = [self._argument(right)]
        return format_percent(template, arguments, node, self.origin)

    def _argument(self, node: ast.expr) -> Value:
        return self.evaluate(node)

    def _unaliased(self, node: ast.Call, name: str) -> str:
        """`sql_text` of `from sqlalchemy import text as sql_text`: `text` (helper 113)."""
        if isinstance(node.func, ast.Name) and name not in _TRANSPARENT:
            imported = self.lookup(name)
            if (
                isinstance(imported, ImportedRef)
                and imported.name in _TRANSPARENT
                and imported.module.name.split(".")[0] in _TEXT_MODULES
            ):
                return imported.name
        return name

    def call_value(self, node: ast.Call) -> Value:
        func = node.func
        origin = self.origin
        name = _called_name(node)
        if (
            name in _STRIPS
            and isinstance(func, ast.Attribute)
            and (name == "as_string" or not node.args)
        ):
            return self.evaluate(func.value)  # whitespace does not change SQL
        if (
            isinstance(func, ast.Name)
            and func.id in ("int", "len")
            and self.lookup(func.id) is None  # the built-in: an int, or an exception
            and node.args
            and not any(isinstance(a, ast.Starred) for a in node.args)
        ):
            reason = f"`{_short(node)}` is a number computed at run time"
            return hole(node, origin, reason, kind="value", string=False, integer=True)
        name = self._unaliased(node, name)
        if name in _TRANSPARENT | _UNINDENTS and node.args:
            return self.evaluate(node.args[0])
        if name == "from_statement" and isinstance(func, ast.Attribute) and node.args:
            # `select(M).from_statement(text(sql))`: the ORM runs that SQL (helper 113)
            return self.evaluate(node.args[0])
        if (
            name in _TEXT_CLAUSE_METHODS
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and self._unaliased(func.value, _called_name(func.value))
            in _TEXT_CLAUSE_METHODS | {"text"}
        ):
            # `text(sql).bindparams(g=g)`, `.columns(…)`: the same SQL, its values bound
            # (helper 111: a TG009 warning where the SQL leaked)
            return self.evaluate(func.value)
        if name in ("format", "format_map") and isinstance(func, ast.Attribute):
            template = self.evaluate(func.value)
            args, passed = node.args, node.keywords
            if name == "format_map":  # `TPL.format_map(FIELDS)`: `TPL.format(**FIELDS)`
                if len(args) != 1 or passed or isinstance(args[0], ast.Starred):
                    return hole(node, origin, "`.format_map()` of arguments computed at run time")
                args, passed = [], [ast.keyword(None, args[0])]
            # `**PARAMS` of a dict of constants: its keys, as keywords
            unpacked: dict[str, Value] = {}
            for keyword in passed:
                if keyword.arg is not None:
                    continue
                constants = self.items_of(keyword.value)
                if constants is None or constants.keys is None:
                    reason = (
                        "`.format()` with unpacked arguments"
                        if name == "format"
                        else f"`{_short(keyword.value)}` is a mapping computed at run time"
                    )
                    return hole(node, origin, reason)
                unpacked.update(zip(constants.keys, constants.values, strict=True))
            if any(isinstance(a, ast.Starred) for a in args):
                return hole(node, origin, "`.format()` with unpacked arguments")
            composed = _is_sql_call(func.value)
            positional = [self._composable(a, composed) for a in args]
            keywords = {
                **unpacked,
                **{k.arg: self._composable(k.value, composed) for k in passed if k.arg},
            }
            return format_template(template, positional, keywords, node, origin)
        if name in ("substitute", "safe_substitute") and isinstance(func, ast.Attribute):
            substituted = self._template_substitution(node, func)
            if substituted is not None:
                return substituted
        if name in ("render", "render_async") and isinstance(func, ast.Attribute):
            rendered = self._jinja_render(node, func)
            if rendered is not None:
                return rendered
        if name in ("read_text", "read") and isinstance(func, ast.Attribute):
            read = self.file_read(node, func)
            if read is not None:
                return read
        if name == "decode" and isinstance(func, ast.Attribute):
            read = self.package_data(node, func)
            if read is not None:
                return read
        collapse = self.whitespace_normaliser(node)
        if collapse is not None:
            collapse_of, collapsed = collapse
            return collapse_of(self.evaluate(collapsed))
        if name == "join" and isinstance(func, ast.Attribute) and len(node.args) == 1:
            filtered: list[bool] = []
            mapped = self._mapped_constants(node.args[0], filtered)
            if mapped is not None and filtered and mapped:
                # `", ".join(f"{k} = %s" for k, v in fields.items() if v is not None)`: some
                # of the items, in order — each alone, and all of them (an item that drops the
                # pin, or moves a row, does it alone; with one item, none too)
                separator = self.evaluate(func.value)
                kept = [[item] for item in mapped] + ([mapped] if len(mapped) > 1 else [[]])
                return union([join_values(separator, c, node, origin) for c in kept], node, origin)
            if mapped is not None:  # `", ".join(f"t.{c}" for c in ("id", "title"))`
                return join_values(self.evaluate(func.value), mapped, node, origin)
            items = _unwrapped_items(node.args[0])
            if isinstance(items, ast.List | ast.Tuple) and not any(
                isinstance(e, ast.Starred) for e in items.elts
            ):
                separator = self.evaluate(func.value)
                composed = _is_sql_call(func.value)
                values = [self._composable(e, composed) for e in items.elts]
                return join_values(separator, values, node, origin)
            starred = (
                [e for e in items.elts if isinstance(e, ast.Starred)]
                if isinstance(items, ast.List | ast.Tuple)
                else []
            )
            if 0 < len(starred) <= 3:
                # `" AND ".join(["tenant_id = $1", *clauses])`: each unpacked list adds no
                # item, or items computed at run time (one hole, with the separator around it)
                assert isinstance(items, ast.List | ast.Tuple)
                separator = self.evaluate(func.value)
                composed = _is_sql_call(func.value)
                joined = []
                for present in itertools.product((False, True), repeat=len(starred)):
                    chosen = dict(zip(map(id, starred), present, strict=True))
                    values = [
                        hole(e, origin, f"items of `{_short(e.value)}` computed at run time")
                        if isinstance(e, ast.Starred)
                        else self._composable(e, composed)
                        for e in items.elts
                        if not isinstance(e, ast.Starred) or chosen[id(e)]
                    ]
                    joined.append(join_values(separator, values, node, origin))
                return union(joined, node, origin)
            cut = _constant_slice(items)
            if cut is not None:  # `"\n".join(conds[:-1])`: those items of the list, in order
                assert isinstance(items, ast.Subscript)
                separator = self.evaluate(func.value)
                whole = self.items_of(items.value)
                if whole is not None and whole.keys is None and whole.ordered and not whole.subset:
                    return join_values(separator, list(whole.values[cut]), node, origin)
                held = self.lookup(items.value.id) if isinstance(items.value, ast.Name) else None
                if isinstance(held, Grown):
                    joined = [
                        join_values(separator, list(a[cut]), node, origin) for a in held.lists
                    ]
                    return union(joined, node, origin)
            grown = self.lookup(items.id) if isinstance(items, ast.Name) else None
            if grown is None:  # `conds + ["FALSE"]` of a grown list
                grown = self.grown_view(items)
            if isinstance(grown, Grown):  # `" AND ".join(constraints)`: each list it can hold
                separator = self.evaluate(func.value)
                joined = [join_values(separator, list(a), node, origin) for a in grown.lists]
                return union(joined, node, origin)
            named = self.items_of(items)
            if named is not None and named.keys is None and named.ordered:  # `" ".join(CLAUSES)`
                return join_values(self.evaluate(func.value), named.values, node, origin)
            names = self.identifiers(items)
            if names is not None:  # `map(sql.Identifier, COLUMNS)`: each name, quoted
                return join_values(self.evaluate(func.value), names, node, origin)
            marks = _placeholder_list(items, origin)
            if marks is not None:  # `", ".join(["%s"] * len(ids))`: read as two of them
                return join_values(self.evaluate(func.value), marks, node, origin)
            each = self._each_class(items, node)
            if each is not None:  # `", ".join(self.columns)`, each subclass its own columns
                return each
            if isinstance(grown, tuple) and len(grown) == 1 and len(grown[0]) == 1:
                unknown = grown[0][0]  # a list the reader gave up on: say why
                if type(unknown) is Hole:
                    reason = f"`.join()` of `{_short(items)}`: {unknown.reason}"
                    return hole(node, origin, reason)
            return hole(node, origin, "`.join()` of items computed at run time")
        if name == "Composed" and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
            items = node.args[0]
            return concat([self._composable(e, True) for e in items.elts], node, origin)
        if name in ("Identifier", "Literal", "Placeholder") and _is_sql_module_call(node):
            return self._composable(node, True)
        if name == "str" and len(node.args) == 1:
            value = self.evaluate(node.args[0])
            if integer_value(value) and not all(is_constant(a) for a in value):
                # `"$" + str(len(args))`: digits, as an f-string makes them (helper 113)
                return tuple(
                    (a[0]._replace(kind="integer"),)
                    if type(a[0]) is Hole and not is_constant(a)
                    else a
                    for a in value
                )
            return value
        if name == "replace" and isinstance(func, ast.Attribute) and 2 <= len(node.args) <= 3:
            replaced = self.replaced(func.value, node)
            if replaced is not None:
                return replaced
        if name == "get" and isinstance(func, ast.Attribute) and len(node.args) in (1, 2):
            found = self.item(func.value, node.args[0])  # `QUERIES.get("lead")`
            if found is not None and (self.items_of(func.value) or Items((), None)).keys:
                if len(node.args) == 1:
                    return found
                # `ALLOWED.get(sort, "name")`: one of its values, or the default (helper 111)
                return union((found, self.evaluate(node.args[1])), node, origin)
        if _builder(node) or self._refined_statement(node):
            reason = f"`{_short(node)}` {_BUILT}"
            return hole(node, origin, reason, string=False)
        returns = self.returning(func)
        given = None if returns is None else self._arguments(node)
        return hole(
            node, origin, f"`{_short(node)}` is computed at run time", returns=returns, given=given
        )

    def _refined_statement(self, node: ast.Call) -> bool:
        """`stmt.where(…)`, `stmt.offset(n).limit(m)` where `stmt` holds a query builder's
        statement on every path (`stmt = select(Hero)`; round 30: TG009 "computed at run
        time" on every `db.exec(stmt)` of SQLModel code that adds filters this way)."""
        current: ast.expr = node.func
        while isinstance(current, ast.Attribute | ast.Call):
            current = current.value if isinstance(current, ast.Attribute) else current.func
        if not isinstance(current, ast.Name) or not isinstance(node.func, ast.Attribute):
            return False
        bound = self.lookup(current.id)
        return (
            isinstance(bound, tuple)
            and bool(bound)
            and all(
                len(a) == 1
                and type(a[0]) is Hole
                and not a[0].string
                and a[0].reason.endswith(_BUILT)
                for a in bound
            )
        )

    def _template_substitution(self, node: ast.Call, func: ast.Attribute) -> Value | None:
        """`Template("SELECT … FROM $table …").substitute(table="tags")` (`string.Template`,
        made there or bound to a name once; `safe_substitute` too): the text Python makes,
        each value in its place (round 30: TG009, "computed at run time"). None when the
        receiver is no such template or the arguments are not keywords (and a dict display)."""
        made = self._template_made(func)
        if made is None or made.keywords:
            return None
        called = _dotted(made.func)
        if not (
            (called == "Template" and self._imported_from("Template", "string"))
            or (
                called == "string.Template" and self._is_module(made.func.value, "string")  # type: ignore[attr-defined]
            )
        ):
            return None
        keywords = self._template_keywords(node)
        if keywords is None:
            return None
        template = self.evaluate(made.args[0])
        safe = func.attr == "safe_substitute"
        return substitute_template(template, keywords, node, self.origin, safe=safe)

    def _template_made(self, func: ast.Attribute) -> ast.Call | None:
        """The call that made a template `func` is a method of (`Template("…").render`, or a
        name bound once to such a call), with its one text argument; None otherwise."""
        made: ast.expr | None = func.value
        if isinstance(made, ast.Name):
            bound = self.lookup(made.id)
            part = (
                bound[0][0]
                if isinstance(bound, tuple) and len(bound) == 1 and len(bound[0]) == 1
                else None
            )
            made = part.node if type(part) is Hole and isinstance(part.node, ast.Call) else None
        if (
            isinstance(made, ast.Call)
            and len(made.args) == 1
            and not isinstance(made.args[0], ast.Starred)
        ):
            return made
        return None

    def _template_keywords(self, node: ast.Call) -> dict[str, Value] | None:
        """The values a template's `substitute(…)` / `render(…)` call gives its names: keywords,
        and one dict display of constant keys; None for anything else (`**kwargs`, two
        positional arguments, a key known only at run time)."""
        keywords: dict[str, Value] = {}
        arguments = list(node.args)
        if len(arguments) > 1 or any(isinstance(a, ast.Starred) for a in arguments):
            return None
        if arguments:
            mapping = arguments[0]
            if not isinstance(mapping, ast.Dict) or any(k is None for k in mapping.keys):
                return None
            for key, item in zip(mapping.keys, mapping.values, strict=True):
                text = _constant_text_of(self.evaluate(key)) if key is not None else None
                if text is None:
                    return None
                keywords[text] = self.evaluate(item)
        for keyword in node.keywords:
            if keyword.arg is None:
                return None
            keywords[keyword.arg] = self.evaluate(keyword.value)
        return keywords

    def _jinja_render(self, node: ast.Call, func: ast.Attribute) -> Value | None:
        """`Template("SELECT … {% if t %}AND tenant_id = {{ t }}{% endif %}").render(t=…)`
        (jinja2's `Template`, or `from_string` of an environment in a module that imports
        jinja2; made there or bound to a name once): each text a path through its tags makes.
        None when the receiver is no such template or `render` is given anything but keywords
        (and a dict display)."""
        made = self._template_made(func)
        if made is None:
            return None
        called = _dotted(made.func)
        jinja = (
            (called == "Template" and self._imported_from("Template", "jinja2"))
            or (called == "jinja2.Template" and self._is_module(made.func.value, "jinja2"))  # type: ignore[attr-defined]
            or (
                isinstance(made.func, ast.Attribute)
                and made.func.attr == "from_string"
                and self._imports_jinja()
            )
        )
        if not jinja:
            return None
        # the options that change what the text renders: Template's own keywords, or those of
        # the Environment `from_string` is called on (one not found: not read)
        options: ast.Call | None = made
        if called not in ("Template", "jinja2.Template"):
            options = self._environment_made(made.func.value)  # type: ignore[attr-defined]
        if options is not None:
            blanks = _jinja_options(options)
        else:  # (`self.env.from_string(…)`: its options read from the module's words)
            own = "".join(self.origin.lines)
            blanks = None if _JINJA_OPTION.search(own) else (False, False)
        if blanks is None:
            return None
        keywords = self._template_keywords(node)
        if keywords is None:
            return None
        trim, lstrip = blanks
        template = self.evaluate(made.args[0])
        return render_jinja(
            template, keywords, node, self.origin, trim_blocks=trim, lstrip_blocks=lstrip
        )

    def _environment_made(self, receiver: ast.expr) -> ast.Call | None:
        """The `Environment(…)` call a `from_string` receiver was made by: called there, or
        bound to a name once (`env = Environment(trim_blocks=True)`)."""
        made: ast.expr | None = receiver
        if isinstance(made, ast.Name):
            bound = self.lookup(made.id)
            part = (
                bound[0][0]
                if isinstance(bound, tuple) and len(bound) == 1 and len(bound[0]) == 1
                else None
            )
            made = part.node if type(part) is Hole and isinstance(part.node, ast.Call) else None
        if isinstance(made, ast.Call) and _dotted(made.func).rsplit(".", 1)[-1] in (
            "Environment",
            "SandboxedEnvironment",
            "ImmutableSandboxedEnvironment",
        ):
            return made
        return None

    def _imports_jinja(self) -> bool:
        """The module imports jinja2 (or a name from it)."""
        for bound in (*self.env.values(), *(b for _, ever in self.outer for b in ever.values())):
            if isinstance(bound, ModuleRef) and bound.name.split(".")[0] == "jinja2":
                return True
            if isinstance(bound, ImportedRef) and bound.module.name.split(".")[0] == "jinja2":
                return True
        return False

    def file_read(self, node: ast.Call, func: ast.Attribute) -> Value | None:
        """A file's text read by a path built from `__file__` (`(Path(__file__).parent / "sql"
        / "tags.sql").read_text()`, `open(os.path.join(os.path.dirname(__file__), "x.sql"))
        .read()`, `f.read()` of `with open(…) as f`): the text the file holds now, placed at
        the call (the file is recorded as read: the cache's entry goes when it changes).
        None when the path is not surely known, or no such text file is there."""
        if func.attr == "read_text" and self._resources_function(func, "read_text"):
            # importlib.resources' `read_text("app.sql", "tags.sql")` (its legacy API)
            if len(node.args) != 2 or node.keywords:
                return None
            if any(isinstance(a, ast.Starred) for a in node.args):
                return None
            directory = self._package_directory(node.args[0])
            tail = self._path_texts(node.args[1:])
            if directory is None or tail is None:
                return None
            resource = os.path.join(directory, *tail)
            text = self.index.read_file(resource)
            return None if text is None else ((Lit(text, self.origin, None, 0, node, resource),),)
        if func.attr == "read_text":
            if node.args[1:] or any(k.arg != "encoding" for k in node.keywords):
                return None
            where = func.value
        else:
            if node.args or node.keywords:
                return None
            opened: ast.expr | None = func.value
            if isinstance(opened, ast.Name):  # `with open(PATH) as f: f.read()`
                bound = self.lookup(opened.id)
                opened = (
                    bound[0][0].node  # type: ignore[assignment]
                    if isinstance(bound, tuple) and len(bound) == 1 and len(bound[0]) == 1
                    else None
                )
            if not (
                isinstance(opened, ast.Call)
                and _is_name(opened.func, "open")
                and self.lookup("open") is None  # the built-in
                and opened.args
                and not any(isinstance(a, ast.Starred) for a in opened.args)
            ):
                return None
            mode = opened.args[1] if len(opened.args) > 1 else None
            for keyword in opened.keywords:
                if keyword.arg == "mode":
                    mode = keyword.value
                elif keyword.arg not in ("encoding", "errors", "newline"):
                    return None
            if mode is not None and not (
                isinstance(mode, ast.Constant) and mode.value in ("r", "rt", "tr")
            ):
                return None  # bytes, or written
            where = opened.args[0]
        path = self.path_of(where)
        if path is None:
            return self._named_file(where, node)
        text = self.index.read_file(path)
        return None if text is None else ((Lit(text, self.origin, None, 0, node, path),),)

    def package_data(self, node: ast.Call, func: ast.Attribute) -> Value | None:
        """`pkgutil.get_data(__name__, "sql/tags.sql").decode()` (or `.decode("utf-8")`): the
        text of that file of the package (the module's own directory for `__name__` /
        `__package__`, a constant dotted name of the project found as an import is), as
        `file_read` reads one. None for anything else: another encoding, a resource known at
        run time, an absolute one."""
        data = func.value
        if not (
            isinstance(data, ast.Call)
            and len(data.args) == 2
            and not data.keywords
            and not any(isinstance(a, ast.Starred) for a in data.args)
            and (
                (
                    isinstance(data.func, ast.Attribute)
                    and data.func.attr == "get_data"
                    and self._is_module(data.func.value, "pkgutil")
                )
                or (
                    isinstance(data.func, ast.Name)
                    and data.func.id == "get_data"
                    and self._imported_from("get_data", "pkgutil")
                )
            )
        ):
            return None
        given = [*node.args, *(k.value for k in node.keywords if k.arg == "encoding")]
        if len(given) > 1 or any(k.arg not in ("encoding", "errors") for k in node.keywords):
            return None
        if given and str(_constant_text_of(self.evaluate(given[0]))).lower().replace(
            "-", ""
        ).replace("_", "") not in ("utf8", "ascii"):
            return None
        directory = self._package_directory(data.args[0])
        resource = _constant_text_of(self.evaluate(data.args[1]))
        if directory is None or not resource or resource.startswith("/"):
            return None
        path = os.path.join(directory, *resource.split("/"))
        text = self.index.read_file(path)
        return None if text is None else ((Lit(text, self.origin, None, 0, node, path),),)

    def _named_file(self, where: ast.expr, node: ast.Call) -> Value | None:
        """`(SQL_DIR / f"{name}.sql").read_text()` in a function whose parameter `name` names
        the file (a `load_sql("tags")` helper): the parameter, with the reading as what the
        function does to it — each caller's constant name gives that file's text (see
        `FileNamed`). None for any other path."""
        function = self.function
        if function is None:
            return None
        directory: str | None = None
        name: ast.expr | None = None
        if isinstance(where, ast.BinOp) and isinstance(where.op, ast.Div):
            directory, name = self.path_of(where.left), where.right
        elif isinstance(where, ast.Call) and len(where.args) == 1 and not where.keywords:
            func = where.func
            if isinstance(func, ast.Attribute) and func.attr == "joinpath":
                directory, name = self.path_of(func.value), where.args[0]
        elif (
            isinstance(where, ast.Call)
            and _dotted(where.func) == "os.path.join"
            and len(where.args) == 2
            and not where.keywords
            and self._is_module(where.func.value.value, "os")  # type: ignore[attr-defined]
        ):
            directory, name = self.path_of(where.args[0]), where.args[1]
        if directory is None or name is None:
            return None
        value = self.evaluate(name)
        if len(value) != 1:
            return None
        holes = [p for p in value[0] if type(p) is Hole]
        if len(holes) != 1:
            return None
        given = holes[0]
        if given.param is None or given.owner is not function or given.transform is not None:
            return None
        at = value[0].index(given)
        before = "".join(p.text for p in value[0][:at] if type(p) is Lit)
        after = "".join(p.text for p in value[0][at + 1 :] if type(p) is Lit)
        reading = FileNamed(self.index, directory, before, after, node, self.origin)
        reason = f"the file `{_short(name)}` names is read at run time"
        return ((given._replace(node=node, reason=reason, transform=reading),),)

    def path_of(self, node: ast.expr, depth: int = 0) -> str | None:
        """The absolute path an expression surely names, built from the module's `__file__`
        with constant parts: `Path(__file__)`, `.parent`, `.resolve()`, `/ "sql"`,
        `.joinpath(…)`, `.with_name(…)`, `os.path.dirname` / `join` / `abspath`, a name of
        the module bound once to such a path (`HERE = Path(__file__).parent`). None else (a
        relative path depends on where the program runs)."""
        if depth > 12:
            return None
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                own = self.origin.path
                bound = self.lookup("__file__")
                return os.path.abspath(own) if own and bound is None else None
            bound = self.lookup(node.id)
            if isinstance(bound, FilePath):  # `for p in SQL_DIR.glob("*.sql")`
                return bound.path
            if not (isinstance(bound, tuple) and len(bound) == 1 and len(bound[0]) == 1):
                return None
            part = bound[0][0]
            made = part.node if type(part) is Hole and part.origin is self.origin else None
            if not isinstance(made, ast.expr) or made is node:
                return None
            return self.path_of(made, depth + 1)
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            inner = self.path_of(node.value, depth + 1)
            return None if inner is None else os.path.dirname(inner)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            inner = self.path_of(node.left, depth + 1)
            tail = self._path_texts([node.right])
            return None if inner is None or tail is None else os.path.join(inner, *tail)
        if not isinstance(node, ast.Call) or node.keywords:
            return None
        if any(isinstance(a, ast.Starred) for a in node.args):
            return None
        func = node.func
        called = _dotted(func)
        if called.rsplit(".", 1)[-1] == "files" and len(node.args) == 1:
            if not self._resources_function(func, "files"):
                return None
            return self._package_directory(node.args[0])  # `resources.files("app.sql")`
        if called in ("Path", "pathlib.Path", "PurePath", "pathlib.PurePath") and node.args:
            if called.startswith("pathlib."):
                if not self._is_module(func.value, "pathlib"):  # type: ignore[attr-defined]
                    return None
            elif not self._imported_from(called, "pathlib"):
                return None
            inner = self.path_of(node.args[0], depth + 1)
            tail = self._path_texts(node.args[1:])
            return None if inner is None or tail is None else os.path.join(inner, *tail)
        if called in ("os.path.dirname", "os.path.join", "os.path.abspath", "os.path.realpath"):
            if not self._is_module(func.value.value, "os") or not node.args:  # type: ignore[attr-defined]
                return None
            inner = self.path_of(node.args[0], depth + 1)
            if inner is None:
                return None
            if called == "os.path.dirname":
                return os.path.dirname(inner) if len(node.args) == 1 else None
            tail = self._path_texts(node.args[1:])
            if tail is None or (called != "os.path.join" and tail):
                return None
            return (
                os.path.realpath(inner)
                if called == "os.path.realpath"
                else os.path.join(inner, *tail)
            )
        if not isinstance(func, ast.Attribute):
            return None
        inner = self.path_of(func.value, depth + 1)
        if inner is None:
            return None
        tail = self._path_texts(node.args)
        if tail is None:
            return None
        if func.attr in ("resolve", "absolute") and not tail:
            return os.path.realpath(inner) if func.attr == "resolve" else inner
        if func.attr == "joinpath":
            return os.path.join(inner, *tail)
        if func.attr == "with_name" and len(tail) == 1:
            return os.path.join(os.path.dirname(inner), tail[0])
        return None

    def _resources_function(self, func: ast.expr, name: str) -> bool:
        """`func` is importlib.resources' `name` (or the importlib_resources backport's):
        `files` imported from it, `resources.files` (`from importlib import resources`,
        `import importlib.resources as resources`), `importlib.resources.files`."""
        modules = ("importlib.resources", "importlib_resources")
        if isinstance(func, ast.Name):
            bound = self.lookup(func.id)
            return (
                func.id == name
                and isinstance(bound, ImportedRef)
                and bound.name == name
                and bound.module.level == 0
                and bound.module.name in modules
            )
        if not isinstance(func, ast.Attribute) or func.attr != name:
            return False
        owner = func.value
        if isinstance(owner, ast.Name):
            bound = self.lookup(owner.id)
            if isinstance(bound, ModuleRef):
                return bound.level == 0 and bound.name in modules
            return (
                isinstance(bound, ImportedRef)
                and bound.name == "resources"
                and bound.module.level == 0
                and bound.module.name == "importlib"
            )
        return (
            isinstance(owner, ast.Attribute)
            and owner.attr == "resources"
            and isinstance(owner.value, ast.Name)
            and self._is_module(owner.value, "importlib")
        )

    def _package_directory(self, node: ast.expr) -> str | None:
        """The directory of the package an importlib.resources anchor names: a constant
        dotted name of the project (`"app.sql"`, found as an absolute import from this module
        is), or this module's own package (`__package__`, `__name__`, `__spec__.parent`: the
        module's directory). None else."""
        own = self.origin.path
        anchor: str | None = None
        if isinstance(node, ast.Name) and node.id in ("__package__", "__name__"):
            anchor = node.id
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "parent"
            and isinstance(node.value, ast.Name)
            and node.value.id == "__spec__"
        ):
            anchor = node.value.id
        if own and anchor is not None:
            if self.lookup(anchor) is None:
                return os.path.dirname(os.path.abspath(own))
            return None
        text = _constant_text_of(self.evaluate(node))
        if not own or not text or not all(p.isidentifier() for p in text.split(".")):
            return None
        found = find_module(os.path.dirname(os.path.abspath(own)), text, 0)
        if found is None:
            return None
        return found if os.path.isdir(found) else os.path.dirname(found)

    def _path_texts(self, nodes: Sequence[ast.expr]) -> list[str] | None:
        """The constant texts of a path's parts (`"sql"`, a name bound to one), or None."""
        out: list[str] = []
        for node in nodes:
            text = _constant_text_of(self.evaluate(node))
            if text is None or os.path.isabs(text):
                return None
            out.append(text)
        return out

    def listed_files(self, node: ast.expr) -> list[FilePath] | None:
        """The files `DIR.glob("*.sql")` (or `sorted(…)` of it, `DIR.iterdir()`) lists, DIR a
        path built from `__file__` (see `path_of`), in the order of their names; None for
        anything else (a pattern with `**`, a directory known at run time)."""
        if (
            isinstance(node, ast.Call)
            and _is_name(node.func, "sorted")
            and self.lookup("sorted") is None
            and len(node.args) == 1
            and not node.keywords
        ):
            node = node.args[0]
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("glob", "iterdir")
            and not node.keywords
        ):
            return None
        directory = self.path_of(node.func.value)
        if directory is None or not os.path.isdir(directory):
            return None
        if node.func.attr == "iterdir":
            if node.args:
                return None
            pattern = "*"
        else:
            texts = self._path_texts(node.args) if len(node.args) == 1 else None
            if not texts or "**" in texts[0]:
                return None
            pattern = texts[0]
        self.index.consult_directory(directory)  # (a file added there changes the answer)
        found = sorted(str(p) for p in Path(directory).glob(pattern))
        return [FilePath(p) for p in found] if len(found) <= 64 else None

    def _is_module(self, node: ast.expr, name: str) -> bool:
        """`node` is the module `name`, imported as itself (`import os`)."""
        bound = self.lookup(node.id) if isinstance(node, ast.Name) else None
        return isinstance(bound, ModuleRef) and bound.name == name and bound.level == 0

    def _imported_from(self, name: str, module: str) -> bool:
        """`name` is imported from `module` (`from pathlib import Path`)."""
        bound = self.lookup(name)
        return (
            isinstance(bound, ImportedRef)
            and bound.module.name == module
            and bound.module.level == 0
        )

    def whitespace_normaliser(self, node: ast.Call) -> tuple[Collapse, ast.expr] | None:
        """`" ".join(sql.split())`, `re.sub(r"\\s+", " ", sql)` (`\\s{2,}`, `\\s\\s+`: runs of
        two or more), `re.compile(r"\\s+").sub(" ", sql)` or a name bound to that pattern: what
        it does to the text, and the text's expression. None for anything else."""
        func = node.func
        if not isinstance(func, ast.Attribute | ast.Name) or node.keywords:
            return None
        name = func.attr if isinstance(func, ast.Attribute) else func.id
        if name == "join" and isinstance(func, ast.Attribute) and len(node.args) == 1:
            split = node.args[0]
            if (
                isinstance(split, ast.Call)
                and isinstance(split.func, ast.Attribute)
                and split.func.attr == "split"
                and not split.keywords
                and all(isinstance(a, ast.Constant) and a.value is None for a in split.args)
                and len(split.args) <= 1
                and _constant_text_of(self.evaluate(func.value)) == " "
            ):
                return Collapse(node, self.origin, strip=True), split.func.value
            return None
        if name != "sub":
            return None
        arguments = list(node.args)
        if isinstance(func, ast.Attribute) and self._is_re(func.value):
            pattern = arguments.pop(0) if len(arguments) == 3 else None  # `re.sub(p, r, s)`
        elif isinstance(func, ast.Name) and self._is_re(func, "sub"):
            pattern = arguments.pop(0) if len(arguments) == 3 else None  # `from re import sub`
        elif isinstance(func, ast.Attribute):
            pattern = self._compiled_pattern(func.value)  # `re.compile(p).sub(r, s)`
        else:
            return None
        if pattern is None or len(arguments) != 2:
            return None
        minimum = _WHITESPACE_PATTERNS.get(_constant_text_of(self.evaluate(pattern)) or "")
        if minimum is None or _constant_text_of(self.evaluate(arguments[0])) != " ":
            return None
        return Collapse(node, self.origin, strip=False, minimum=minimum), arguments[1]

    def _is_re(self, node: ast.expr, name: str | None = None) -> bool:
        """`re` imported (`import re`), or `name` imported from it (`from re import sub`)."""
        if not isinstance(node, ast.Name):
            return False
        bound = self.lookup(node.id)
        if name is None:
            return isinstance(bound, ModuleRef) and bound.name == "re" and bound.level == 0
        return (
            isinstance(bound, ImportedRef)
            and bound.name == name
            and bound.module.name == "re"
            and bound.module.level == 0
        )

    def _compiled_pattern(self, node: ast.expr) -> ast.expr | None:
        """The pattern of `re.compile(p)` (flags aside), written there or bound to a name of
        the module (`_BLANKS = re.compile(r"\\s+")`) that nothing assigns again."""
        if isinstance(node, ast.Name):
            bound = self.lookup(node.id)
            made = (
                bound[0][0].node
                if isinstance(bound, tuple)
                and len(bound) == 1
                and len(bound[0]) == 1
                and type(bound[0][0]) is Hole
                else None
            )
            node = made if isinstance(made, ast.Call) else node
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "compile"
            and self._is_re(node.func.value)
            and 1 <= len(node.args) <= 2
            and not node.keywords
            and all(_dotted(f) in _SAME_BLANKS for f in _flags(node.args[1:]))
        ):
            return node.args[0]
        return None

    def _arguments(self, node: ast.Call) -> tuple[object, ...] | None:
        """What a call of project functions gives them, for the parameters they return: (bound,
        each positional argument's value or None where unpacked, (keyword, value) pairs, whether
        it unpacks a `*` or `**` argument). None when it gives no argument: a parameter's
        default is then what the function returns (any argument, string-like or not — `q(sql
        or DEFAULT)`, `q(**kw)` — may replace the default: round 28, outside review h28e)."""
        if not node.args and not node.keywords:
            return None
        func = node.func
        receiver = self.binding_of_receiver(func.value) if isinstance(func, ast.Attribute) else None
        positional = tuple(
            None if isinstance(a, ast.Starred) else self.evaluate(a) for a in node.args
        )
        keywords = tuple((k.arg, self.evaluate(k.value)) for k in node.keywords if k.arg)
        unpacked = any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        )
        # whether a method's `self` is surely given or not: `obj.q(sql)`, `Repo.q(obj, sql)` —
        # not `f = self.q; f(sql)`, whose first argument is `text`, not `self` (round 28,
        # outside review h28e: it was given to `self`, and `text` read as its default)
        known = isinstance(receiver, InstanceRef | ClassRef)
        return (isinstance(receiver, InstanceRef), positional, keywords, unpacked, known)

    def returning(self, func: ast.expr) -> Callable[[], list[FunctionInfo]] | None:
        """The project functions a call surely runs (a method: the one its class finds, and
        its overrides in subclasses of the same module), for what they return."""
        if isinstance(func, ast.Name):
            binding = self.lookup(func.id)
            if isinstance(binding, FuncRef | ImportedRef):
                return self.index.callees(binding)
            return None
        if not isinstance(func, ast.Attribute):
            return None
        receiver = self.binding_of_receiver(func.value)
        if isinstance(receiver, ModuleRef | ImportedRef):
            return self.index.module_callees(receiver, func.attr)
        if isinstance(receiver, InstanceRef):
            return self.index.overrides(receiver.info, func.attr, exact=receiver.exact)
        if isinstance(receiver, ClassRef):
            return self.index.overrides(receiver.info, func.attr)
        return None

    def identifiers(self, items: ast.expr) -> list[Value] | None:
        """psycopg's `map(sql.Identifier, COLUMNS)` or `(sql.Identifier(c) for c in COLUMNS)`
        of a tuple or list of constants (written there or named): each item quoted as psycopg
        quotes a name; `map(sql.Placeholder, FIELDS)` or `(sql.Placeholder(f) for f in
        FIELDS)`: each a named bind placeholder, `%(field)s` (h35D: TG009 before). None for
        another shape."""
        source: ast.expr | None = None
        made = "Identifier"
        if (
            isinstance(items, ast.Call)
            and _is_name(items.func, "map")
            and len(items.args) == 2
            and not items.keywords
            and isinstance(items.args[0], ast.Attribute)
            and items.args[0].attr in ("Identifier", "Placeholder")
            and _receiver_name(items.args[0].value) in _SQL_MODULES
        ):
            source = items.args[1]
            made = items.args[0].attr
        elif (
            isinstance(items, ast.GeneratorExp | ast.ListComp)
            and len(items.generators) == 1
            and not items.generators[0].ifs
            and not items.generators[0].is_async
            and isinstance(items.generators[0].target, ast.Name)
            and isinstance(items.elt, ast.Call)
            and _is_sql_module_call(items.elt)
            and isinstance(items.elt.func, ast.Attribute)
            and items.elt.func.attr in ("Identifier", "Placeholder")
            and len(items.elt.args) == 1
            and not items.elt.keywords
            and _is_name(items.elt.args[0], items.generators[0].target.id)
        ):
            source = items.generators[0].iter
            made = items.elt.func.attr
        if source is None:
            return None
        values: Sequence[Value]
        if isinstance(source, ast.List | ast.Tuple):
            if not source.elts or any(isinstance(e, ast.Starred) for e in source.elts):
                return None
            values = [self.evaluate(e) for e in source.elts]
        else:
            named = self.items_of(source)
            if named is None or named.keys is not None or not named.ordered:
                return None
            values = named.values
        origin = self.origin
        quoted: list[Value] = []
        if made == "Placeholder":
            # a bind placeholder whatever its name: `%(name)s` of a constant, `%s` otherwise
            return [
                tuple(
                    (Lit(f"%({a[0].text})s", origin, None, 0, source),)
                    if len(a) == 1 and type(a[0]) is Lit and a[0].text.isidentifier()
                    else (Lit("%s", origin, None, 0, source),)
                    for a in value
                )
                for value in values
            ]
        for value in values:
            quote = ((Lit('"', origin, None, 0, source),),)
            inner = tuple(
                tuple(p._replace(kind="name") if type(p) is Hole else p for p in a) for a in value
            )
            quoted.append(concat([quote, inner, quote], source, origin))
        return quoted

    def _composable(self, node: ast.expr, composed: bool) -> Value:
        """An argument of `.format()`; psycopg's `Identifier`/`Literal`/`Placeholder` render as
        PostgreSQL would see them."""
        origin = self.origin
        if composed and isinstance(node, ast.Call):
            name = _called_name(node)
            if name == "Identifier" and node.args and not node.keywords:
                names = [self.evaluate(a) for a in node.args]
                parts: list[Value] = []
                for index, value in enumerate(names):
                    if index:
                        parts.append(((Lit(".", origin, None, 0, node),),))
                    quote = ((Lit('"', origin, None, 0, node.args[index]),),)
                    inner = tuple(
                        a
                        if all(type(p) is Lit for p in a)
                        else tuple(p._replace(kind="name") if type(p) is Hole else p for p in a)
                        for a in value
                    )
                    parts.extend([quote, inner, quote])
                result = concat(parts, node, origin)
                return result
            if name == "Literal" and len(node.args) == 1:
                argument = node.args[0]
                if (
                    isinstance(argument, ast.Constant)
                    and isinstance(argument.value, int | float)
                    and not isinstance(argument.value, bool)
                ):
                    text = str(argument.value)
                    return ((Lit(text, origin, None, 0, argument),),)
                if (
                    isinstance(argument, ast.Constant)
                    and isinstance(argument.value, str)
                    and "'" not in argument.value
                ):
                    quoted = (
                        (
                            Lit("'", origin, None, 0, argument),
                            Lit(argument.value, origin, argument),
                            Lit("'", origin, None, 0, argument),
                        ),
                    )
                    return quoted
                # a value known at run time, quoted by psycopg as it renders it: a value of
                # the statement, as a bind parameter is (it cannot change what the SQL says)
                return hole(
                    argument,
                    origin,
                    f"`{_short(argument)}` is a value psycopg quotes (`sql.Literal`)",
                    kind="literal",
                )
            if name == "Placeholder":
                label = (
                    node.args[0]
                    if node.args
                    else next((k.value for k in node.keywords if k.arg == "name"), None)
                )
                if label is None:
                    return ((Lit("%s", origin, None, 0, node),),)
                if isinstance(label, ast.Constant) and isinstance(label.value, str):
                    text = f"%({label.value})s"
                    return ((Lit(text, origin, None, 0, node),),)
                # a name known at run time (`sql.Placeholder(field)`, a loop's): a bind
                # placeholder whatever it is (h35D: read as the call again, without end)
                named = self.evaluate(label)
                return tuple(
                    (Lit(f"%({a[0].text})s", origin, None, 0, node),)
                    if len(a) == 1 and type(a[0]) is Lit and a[0].text.isidentifier()
                    else (Lit("%s", origin, None, 0, node),)
                    for a in named
                )
            if name == "SQL" and node.args:
                result = self.evaluate(node.args[0])
                return result
        return self._argument(node)


def _dict_view(node: ast.expr) -> TypeGuard[_DictViewCall]:
    """`x.items()`, `x.keys()` or `x.values()`, without arguments."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("items", "keys", "values")
        and not node.args
        and not node.keywords
    )


class _DictViewCall(ast.Call):
    func: ast.Attribute


def _builder(node: ast.Call) -> bool:
    """`select(User).where(…).limit(1)`: a chain of calls rooted at a query builder."""
    current: ast.expr = node
    while True:
        if isinstance(current, ast.Call):
            if isinstance(current.func, ast.Name):
                return current.func.id in _BUILDERS
            if isinstance(current.func, ast.Attribute) and isinstance(
                current.func.value, ast.Name
            ):  # `sa.select(…)`, or a method of a name: the root
                return current.func.attr in _BUILDERS
            current = current.func
        elif isinstance(current, ast.Attribute):
            current = current.value
        else:
            return False


def expression_name(node: ast.expr) -> str:
    """The name an expression ends with: `x` of `x`, `b` of `a.b`; "" for any other."""
    return (
        node.attr
        if isinstance(node, ast.Attribute)
        else node.id
        if isinstance(node, ast.Name)
        else ""
    )


def _called_name(node: ast.Call) -> str:
    return expression_name(node.func)


def _given_a_connection(args: list[ast.expr], keywords: list[ast.keyword]) -> bool:
    """Whether a call is given a connection as pandas' and polars' sinks are (a second
    argument, `con=`, `connection=`, `uri=`): `ibis.to_sql(expr)`, a project's
    `to_sql(dialect)` and `getattr(pd, f"read_{fmt}")(path)` are not."""
    return len(args) >= 2 or any(k.arg in ("con", "connection", "uri") for k in keywords)


def _getattr_of(node: ast.Call) -> tuple[ast.expr, str | ast.expr] | None:
    """`getattr(obj, "name")`: (obj, the name, or the expression naming it); else None."""
    if not (
        isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and not any(isinstance(a, ast.Starred) for a in node.args[:2])
    ):
        return None
    name = node.args[1]
    if isinstance(name, ast.Constant) and isinstance(name.value, str):
        return node.args[0], name.value
    return node.args[0], name


def _is_sql_call(node: ast.expr) -> bool:
    """`sql.SQL("…")` (psycopg): its `.format()` takes composables."""
    return isinstance(node, ast.Call) and _called_name(node) in ("SQL", "Composed")


_SQL_MODULES = ("sql", "psycopg", "psycopg2")


def _same_class(a: ClassInfo, b: ClassInfo) -> bool:
    """The same class statement, read twice (a module read again after the index let it go)."""
    return (
        a.name == b.name
        and a.module.path == b.module.path
        and a.node.lineno == b.node.lineno
        and a.node.col_offset == b.node.col_offset
    )


def _set_display(node: ast.expr) -> list[ast.expr] | None:
    """The items of `{"a", "b"}`, `frozenset({…})`, `set([…])`, `frozenset(("a", "b"))`."""
    if isinstance(node, ast.Set):
        return list(node.elts)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("set", "frozenset")
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.Set | ast.List | ast.Tuple)
    ):
        return list(node.args[0].elts)
    return None


def _is_sql_module_call(node: ast.Call) -> bool:
    func = node.func
    return isinstance(func, ast.Attribute) and _receiver_name(func.value) in _SQL_MODULES


def _psycopg_part(node: ast.Call) -> str | None:
    """`Placeholder` or `Literal` for `sql.Placeholder(…)` / `sql.Literal(…)`, else None."""
    func = node.func
    if _is_sql_module_call(node) and isinstance(func, ast.Attribute):
        return func.attr if func.attr in ("Placeholder", "Literal") else None
    return None


# a text that starts as a URL or an absolute path does (`https://…`, `/api/…`; not `/*`)
_URL_OR_PATH = lazy_pattern(r"\s*(?:[A-Za-z][\w+.-]*://|/(?!\*))")
# words of a receiver's name that name an HTTP client (`http_client`, `httpx_client`)
_HTTP_WORDS = frozenset({"http", "https", "httpx", "aiohttp", "urllib"})
# the classes of HTTP clients with a `fetch(url)`: tornado's, aiohttp's session
_HTTP_CLIENTS = frozenset({"AsyncHTTPClient", "HTTPClient", "ClientSession"})


# the receivers of Django's `raw()`: a model's manager (`objects`, `_default_manager`, a
# name of a manager or a queryset), or one chosen by `.using("replica")` / `.db_manager(…)`
_MANAGER_WORDS = frozenset({"objects", "manager", "queryset", "qs"})


def _django_manager(receiver: ast.expr) -> bool:
    if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute):
        if receiver.func.attr in ("using", "db_manager"):
            return _django_manager(receiver.func.value)
        return False
    name = _receiver_name(receiver)
    if name in ("_default_manager", "_base_manager"):
        return True
    words = _NOT_LETTERS.split(_CAMEL.sub("_", name))
    return any(word.lower() in _MANAGER_WORDS for word in words if word)


def _http_named(receiver: str) -> bool:
    """Whether a receiver's name has a word naming an HTTP client (`http_client.fetch(url)`)."""
    words = _NOT_LETTERS.split(_CAMEL.sub("_", receiver))
    return any(word.lower() in _HTTP_WORDS for word in words if word)


def _db_named(receiver: str) -> bool:
    """Whether a receiver's name (or its chain, names separated by blanks) has a word naming a
    database's object (`db`, `read_conn`, `dbSession`, `pgpool`; not `container`)."""
    words = _NOT_LETTERS.split(_CAMEL.sub("_", receiver))
    return any(_DB_WORD.fullmatch(word.lower()) for word in words if word)


def _receiver_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _receiver_name(node.func)
    if isinstance(node, ast.Await):
        return _receiver_name(node.value)
    return ""


def _receiver_chain(node: ast.expr) -> str:
    """Every name along a receiver's chain (`connections.get("default")`: `connections get`)."""
    names: list[str] = []
    while True:
        if isinstance(node, ast.Name):
            names.append(node.id)
            break
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Await):
            node = node.value
        else:
            break
    return " ".join(names)


def _short(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except (ValueError, RecursionError, AttributeError):
        return type(node).__name__.lower()
    return text if len(text) <= 40 else text[:37] + "..."


# the project: modules found from imports, wrappers, class attributes


# `def name` (or `async def name`) at the start of a line; `class Name(Base, other.Base):`,
# each name in its bases, as `class:Base` (see _subclasses). Found by the keyword first (a
# literal: the regular expression engine skips to it), then checked to start its line.
_DEF = lazy_pattern(r"def[ \t]+(\w+)")
_CLASS_BASES = lazy_pattern(r"class[ \t]+\w+[ \t]*\(([^)]*)\)")
# `import a.Repo as B`, `from m import Repo as B, X as Y`: a base named by its alias (helper 116)
# (each pattern led by the letters it needs, not by `\b` or `\w+`: found by searching for them)
_AS_ALIAS = lazy_pattern(r"as(?<=[ \t]as)[ \t]+(\w+)")
_WORD_AND_SPACE_BEFORE = lazy_pattern(r"(?<!\w)(\w+)[ \t]+\Z")


def _import_aliases(text: str) -> list[tuple[str, str]]:
    """`(Repo, B)` for each `Repo as B` of a text (`import a.Repo as B`, `from m import Repo as
    B, X as Y`; a `with … as` too, as a base's alias it is harmless)."""
    found: list[tuple[str, str]] = []
    for match in _AS_ALIAS.finditer(text):
        start = match.start()
        before = _WORD_AND_SPACE_BEFORE.search(text, max(0, start - 120), start)
        if before is not None:
            found.append((before.group(1), match.group(1)))
    return found


# `Base = Repo`, `Base: type = base.Repo` at a line's start: a base named by another name
# (round 25: such a subclass's table never reached the base's queries)
_NAME_ALIAS = lazy_pattern(r"^[ \t]*(\w+)[ \t]*(?::[^=\n]*)?=[ \t]*([A-Za-z_][\w.]*)[ \t]*$", re.M)
_TYPE_BASES = lazy_pattern(
    r"type(?<!\wtype)\(\s*(?:[rRuU]?[\"'][^\"'\n]*[\"']|\w+)\s*,\s*\(([^)]*)\)"
)
_DEF_LEAD = lazy_pattern(r"[ \t]*(?:async[ \t]+)?\Z")
_CLASS_LEAD = lazy_pattern(r"[ \t]*\Z")
_WORD = lazy_pattern(r"\w+")
_UNBOUND = object()
# a Python string literal (prefixes, triple quotes) or a comment; a one-line literal is read
# as runs of plain characters between escapes, not one alternation per character (that cost a
# 1 MB string literal a second and ~100 MB of the regex engine's backtracking stack, session 34)
_TRIPLE_SINGLE = "'" * 3
_TRIPLE_DOUBLE = '"' * 3
_STRING_OR_COMMENT = lazy_pattern(
    r"(?:\b[rRbBuUfF]{1,2})?(?:"
    + _TRIPLE_SINGLE
    + r"[\s\S]*?"
    + _TRIPLE_SINGLE
    + "|"
    + _TRIPLE_DOUBLE
    + r"[\s\S]*?"
    + _TRIPLE_DOUBLE
    + "|"
    + r"'[^'\\\n]*(?:\\.[^'\\\n]*)*'"
    + "|"
    + r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
    + r")|#[^\n]*"
)
# a call: `name(` (its qualifier kept: `jobs.run_sql(` is a method's, not the function's)
_CALLED = lazy_pattern(r"(?<![\w])((?:\w+\s*\.\s*)*)([A-Za-z_]\w*)\s*\(")
# a name handed on as a value, not called there — an argument (`add_api_route(PATH, run_sql)`,
# `app.add_route(run_sql)`, `signal.connect(run_sql)`), a list's, set's or dict's item, a keyword
# (`endpoint=run_kw`, `on_message=…`): someone else calls it (an alias, `f = run_sql`, is not:
# the project calls it by that name).
# Not the first argument of a helper that calls it with the project's arguments (`retry(f, SQL)`,
# `partial(f, …)`, `to_thread(f, …)`, `gather`…: `_FORWARDERS`), nor `run_in_executor(None, f)`
_VALUE_USE = lazy_pattern(
    # (no `\s*` before the punctuation: a match may start at any space, the same matches)
    r"(?:(?<!\bNone)[,\[:{]|\b\w+\s*=(?!=))"
    r"\s*((?:\w+\s*\.\s*)*)([A-Za-z_]\w*)\s*(?=[,)\]}])"
)
_FIRST_ARGUMENT = lazy_pattern(
    r"((?<!\w)\w+|\))\s*\(\s*((?:\w+\s*\.\s*)*)([A-Za-z_]\w*)\s*(?=[,)])"
)
# helpers that call the function they are given with the arguments the project gives them
_FORWARDERS = frozenset(
    """partial partialmethod retry with_retry retrying to_thread run_in_threadpool
    run_in_executor sync_to_async async_to_sync run_sync gather create_task ensure_future
    wait_for shield wraps map filter sorted min max reduce submit apply call_soon
    call_later run_until_complete run timeit cache lru_cache""".split()  # noqa: SIM905
)
_GETATTR = lazy_pattern(r"""getattr(?<!\wgetattr)\s*\(\s*[^,()]+,\s*["'](\w+)["']""")
_IMPORT = lazy_pattern(r"^[ \t]*(?:from[ \t]+\S+[ \t]+)?import[ \t]+(?:\([^)]*\)|[^\n]*)", re.M)


# any name read as a value, not called (`name(`), read into (`name.x`), assigned (`name =`),
# defined (`def name`, `class name`), a return annotation (`-> Name`) nor a keyword:
# `return run_all`, `run_all if x else …`, `x or run_all`, `(run_all, )`, `(k := Pages)` — a
# function or class handed on so is called by whoever gets it (h35Q: a wrapper read as one
# the project alone calls passed their SQL in silence)
_NAME_TOKEN = lazy_pattern(r"[A-Za-z_]\w*")
# forwarders that call the function with the items of what they are given, not with it
_MAPPERS = frozenset({"map", "filter", "reduce", "starmap"})
# the start of `P = functools.partial(` (up to the callee)
_PARTIAL_BOUND = lazy_pattern(r"[ \t]*(\w+)[ \t]*=[ \t]*(?:\w+[ \t]*\.[ \t]*)*")
_NOT_A_VALUE_AFTER = frozenset({"def", "class", "as", "global", "nonlocal", "del", "import"})
_OPERATOR_BEFORE_EQUALS = frozenset("=!<>:+-*/%&|^@~")
# a `partial(f, …)` call standing where a value is handed on: `{"p": partial(f, c)}`,
# `return partial(f, c)`, `register(partial(f, c))` (not `P = partial(f, c)`: called by P)
_HANDED_CALL = lazy_pattern(r"(?:[\[{(,:]|\breturn|\byield)\s*(?:\w+\s*\.\s*)*\Z")
# objects made by their class taken from another object: `type(p)(…)`, `p.__class__(…)`
_MADE_BY_TYPE = lazy_pattern(r"(?<![\w.])type\s*\([^()]*\)\s*\(|__class__\s*\(")


def _values_read(code: str, counts: Counter[str]) -> list[tuple[str, str]]:
    """The names a code (strings, comments and imports blanked) reads as values, as
    (qualifier, name): any name not called (`name(`), read into (`name.x`), assigned
    (`name =`), defined (`def name`, `class name`), a return annotation (`-> Name`) nor a
    keyword — `return run_all`, `run_all if x else …`, `x or run_all`, `(run_all, )`, `(k :=
    Pages)`: a function or class handed on so is called by whoever gets it (h35Q: a wrapper
    read as one the project alone calls passed their SQL in silence). The qualifier is the
    last name before a dot (`views.run_sql`: `views`). A plain alias alone on its line
    (`sender = wrappers.send`) is a value only if the alias is one. A forwarder's first
    argument (`to_thread(f, …)`, `partial(Pages, pool)`, `map(Pages, …)`) is counted as
    `forwarded name` instead — a value too when the forwarder is `partial` handed on itself.
    `made by type` counts the objects made by another object's class (`type(p)(…)`).
    One pass of a plain name pattern, the neighbours read by hand (a pattern holding them was
    three times slower on a file of 10 000 lines)."""
    found: list[tuple[str, str]] = []
    counts["made by type"] += len(_MADE_BY_TYPE.findall(code))
    aliases: dict[str, list[tuple[str, str]]] = {}
    size = len(code)
    for match in _NAME_TOKEN.finditer(code):
        begin, end = match.span()
        if begin and (code[begin - 1].isalnum() or code[begin - 1] == "_"):
            continue  # (inside a word: `2x`)
        after = end
        while after < size and code[after] in " \t":
            after += 1
        following = code[after] if after < size else "\n"
        if following in "(.'\"" or (
            following == "=" and (after + 1 >= size or code[after + 1] != "=")
        ):
            continue
        name = match.group()
        if iskeyword(name):
            continue
        before = begin - 1
        while before >= 0 and code[before] in " \t":
            before -= 1
        previous = code[before] if before >= 0 else "\n"
        qualifier = ""
        start = begin  # where the dotted chain starts
        if previous == ".":
            at = before - 1
            while at >= 0 and code[at] in " \t":
                at -= 1
            owner = _NAME_TOKEN.search(code, max(0, at - 80), at + 1)
            while owner is not None and owner.end() < at + 1:
                owner = _NAME_TOKEN.search(code, owner.end(), at + 1)
            if owner is None or owner.end() != at + 1:
                continue  # `f().name`, `x[0].name`: not read
            qualifier = owner.group()
            # (the chain's start: back over `a.b.`)
            start = owner.start()
            while True:
                at = start - 1
                while at >= 0 and code[at] in " \t":
                    at -= 1
                if at < 0 or code[at] != ".":
                    break
                at -= 1
                while at >= 0 and code[at] in " \t":
                    at -= 1
                head = at
                while head >= 0 and (code[head].isalnum() or code[head] == "_"):
                    head -= 1
                if head == at:
                    break
                start = head + 1
            before = start - 1
            while before >= 0 and code[before] in " \t":
                before -= 1
            previous = code[before] if before >= 0 else "\n"
        if previous == ">" and before > 0 and code[before - 1] == "-":
            continue  # `-> Name`
        if previous.isalnum() or previous == "_":
            head = before
            while head >= 0 and (code[head].isalnum() or code[head] == "_"):
                head -= 1
            if code[head + 1 : before + 1] in _NOT_A_VALUE_AFTER:
                continue
        elif previous == "=" and (before == 0 or code[before - 1] not in _OPERATOR_BEFORE_EQUALS):
            line = code.rfind("\n", 0, before) + 1
            target = code[line:before].strip()
            rest = after
            while rest < size and code[rest] in " \t;":
                rest += 1
            if target.isidentifier() and (rest >= size or code[rest] == "\n"):
                # `sender = wrappers.send`: called by the project under another name; a
                # value only if that name is one (`ROUTES = {"x": sender}`)
                aliases.setdefault(target, []).append((qualifier, name))
                continue
        elif previous in "(,":
            at = before
            if previous == ",":  # `run_in_executor(None, f)`
                at -= 1
                while at >= 0 and code[at] in " \t\n":
                    at -= 1
                if code[max(0, at - 3) : at + 1] != "None":
                    at = -1
                else:
                    at -= 4
                    while at >= 0 and code[at] in " \t\n":
                        at -= 1
                    if at < 0 or code[at] != "(":
                        at = -1
            if at >= 0:
                head = at - 1
                while head >= 0 and code[head] in " \t":
                    head -= 1
                tail = head
                while head >= 0 and (code[head].isalnum() or code[head] == "_"):
                    head -= 1
                callee = code[head + 1 : tail + 1]
                if callee in _FORWARDERS:
                    counts["forwarded " + name] += 1
                    if callee in _MAPPERS:  # `map(run_all, [conn], lists)`: each item's
                        counts["mapped " + name] += 1
                    if callee not in ("partial", "partialmethod"):
                        continue
                    line = code.rfind("\n", 0, head + 1) + 1
                    assigned = _PARTIAL_BOUND.fullmatch(code, line, head + 1)
                    if assigned is not None:
                        # `P = partial(run_all, conn)`: an alias of it (`ROUTES = {"p": P}`)
                        aliases.setdefault(assigned.group(1), []).append((qualifier, name))
                        continue
                    if not _HANDED_CALL.search(code, max(0, head - 120), head + 1):
                        continue
        found.append((qualifier, name))
    handed = {name for qualifier, name in found if not qualifier}
    grown = True
    while grown:  # (`a = run_all; b = a; ROUTES = [b]`)
        grown = False
        for held in [h for h in aliases if h in handed]:
            for aliased in aliases.pop(held):
                found.append(aliased)
                if not aliased[0] and aliased[1] not in handed:
                    handed.add(aliased[1])
                    grown = True
    return found


def _blank_but_quotes(match: re.Match[str]) -> str:
    """A string literal as `""` (a comment as a blank): its words gone, its place kept."""
    literal = match.group(0)
    return " " if literal.startswith("#") else '""'


def _code_words(text: str, blanked: str | None = None) -> Counter[str]:
    """How a Python text uses each name as code (not inside its comments or strings, not in
    its imports): `name` the calls (`name(`, `obj.name(`), `def name` the definitions (whose
    `name(` counts as a call), `value name` the other uses (passed on: `add_api_route("/run",
    name)`, `{"run": name}`, `callback=obj.name`). `blanked`: the text's `_blanked`, when
    already made."""
    counts: Counter[str] = Counter(
        "getattr " + name for name in _GETATTR.findall(text)
    )  # `getattr(repo, "find")(…)`: called by a name the code computes with
    if blanked is None:
        blanked = _STRING_OR_COMMENT.sub(_blank_but_quotes, text)
    code = _IMPORT.sub(" ", blanked)
    for qualifier, name in _CALLED.findall(code):
        counts[name] += 1  # any call of the name (a method's, by `obj.name(`)
        if not qualifier:
            counts["bare " + name] += 1  # a function's, by its name alone
        else:  # `views.run_sql(`: by its module's (or object's) last name
            counts["call " + qualifier.rstrip(". \t").rsplit(".", 1)[-1].strip() + "." + name] += 1
    for name in _DEF.findall(code):
        counts["def " + name] += 1
    uses = _VALUE_USE.findall(code) + [
        (qualifier, name)
        for callee, qualifier, name in _FIRST_ARGUMENT.findall(code)
        if callee not in _FORWARDERS
    ]
    uses += _values_read(code, counts)
    imported = {
        word for line in _IMPORT.findall(text) for word in _WORD.findall(line.split("import", 1)[1])
    }
    for original, alias in _import_aliases(text):
        # `from bot.loops import run_all as ra`, then `ra` handed on: run_all is (h35Q)
        if any(not q and n == alias for q, n in uses):
            uses.append(("", original))
            imported.add(original)
    for qualifier, name in uses:
        if not qualifier:
            counts["value " + name] += 1
            if name in imported:  # `from handlers import run_sql` then registered here
                counts["imported value " + name] += 1
        else:  # `views.run_sql`, `self.fetch_all`: the module's (or the object's) last name
            counts["value " + qualifier.rstrip(". \t").rsplit(".", 1)[-1].strip() + "." + name] += 1
    return counts


# the last word of a decorator call that makes a function a framework's handler: web routes,
# chat commands, event listeners — the framework passes its arguments, from outside
_FRAMEWORK_HOOKS = frozenset(
    """get post put patch delete head options route api_route websocket command
    slash_command hybrid_command message_command user_command listener event on_event
    on_message subscriber""".split()  # noqa: SIM905
)


def _at_line_starts(pattern: re.Pattern[str], lead: re.Pattern[str], text: str) -> Iterator[str]:
    """Group 1 of each match of `pattern` preceded on its line by `lead` only (as
    `^lead pattern` with re.MULTILINE finds them, several times faster on a large file)."""
    position = 0
    while True:
        match = pattern.search(text, position)
        if match is None:
            return
        start = match.start()
        if lead.match(text, text.rfind("\n", 0, start) + 1, start):
            yield match.group(1)
            position = match.end()
        else:
            position = start + 1  # not at a line's start: a match may begin inside it


# attributes assigned and collections changed in place, anywhere in the project's files (a
# module's constant set from another module, `queries.SAFE = …`; a class's from a function,
# `Repo.table = …`, `repo.table = …`, `setattr(cls_, "table", …)`; `from q import STEPS` then
# `STEPS.append(…)`): read by `_outside_changes` over each file's code, its strings and comments
# blanked. Wider than Python's own reading of the file (a type annotation's `x.Y = None`
# counts): a name it finds is only known at run time where the module or class body set it.
_OP_EQUALS = r"(?:\*\*|//|>>|<<|[-+*/%&|^@])?=(?!=)"
# Each pattern starts at a character that a change needs (a dot, a bracket, an operator) and
# the name before it is read from there: the scan of a whole project reads its text once per
# pattern at C speed (a pattern led by `(\w+)` is tried at every character of every word).
# (a name as Python reads it: any letter first, a fullwidth `PIN` is `PIN` after NFKC)
# (not the last dot of an ellipsis: a stub's body, `def fetch(self, q): ...`, then `GET = "…"`
# on the next line is no attribute; `....X = …` would set Ellipsis's, which Python refuses)
_NOT_ELLIPSIS = r"(?<!\.\.)"
# (`(queries.X) = …` too)
_DOT_STORE = lazy_pattern(_NOT_ELLIPSIS + r"\.\s*([^\W\d]\w*)[\s)]*" + _OP_EQUALS)
# `a.X, b.Y = …` (no call before the `=`: not `f(a.X, key=1)`; a statement after a `;` too)
_TARGET_PART = r"[^=\n(#;]*"  # (a bracketed part, `q.X, (y) = …`: from its `)`, _CLOSED_STORE)
# (each led by a look for the `=` that must end the line's first run of target characters: a
# line with none, as a data module's are, is passed over in one scan, not backtracked over at
# each of its commas, session 34)
_TUPLE_TARGETS = lazy_pattern(
    r"^(?=[^=\n(#;]*=)[ \t]*(" + _TARGET_PART + "," + _TARGET_PART + r"?)[ \t]*(?<![=!<>])=(?!=)",
    re.M,
)
_TUPLE_TARGETS_AFTER = lazy_pattern(  # (led by the `;`: a pattern led by `(?:^|;)` is slow)
    r";(?=[^=\n(#;]*=)[ \t]*(" + _TARGET_PART + "," + _TARGET_PART + r"?)[ \t]*(?<![=!<>])=(?!=)"
)
# (`for(?<!\wfor)` is `\bfor`: a pattern led by a word's letters, not by `\b`, is found by
# searching for them, ~40x faster)
_FOR_TARGETS = lazy_pattern(r"for(?<!\wfor)\s+([^\n]*?)\s+in\b")
# `with … as q.X:`, `as (q.X):`, `as [q.X, y]:` (up to the statement's colon)
_AS_TARGET = lazy_pattern(r"as(?<!\was)(?:\s+((?:\w+\s*\.\s*)+\w+)|\s*[(\[]([^:]*))")
_DEL_TARGETS = lazy_pattern(r"del(?<!\wdel)\s+([^\n;]*)")
_ATTRIBUTE_IN = lazy_pattern(r"(?:(?<![\w.])(self|cls)\s*)?\.\s*([^\W\d]\w*)")
_SUBSCRIPTED_IN = lazy_pattern(r"(\w+)\s*\[")
# a string literal as an argument, in any spelling: `"X"`, `'''X'''`, `f"X"`, `"X" ""`, `"\x58"`
_STRING_ARGUMENT = (
    r"((?:[rRuUfF]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"
    r"|\"[^\"\\\n]*(?:\\.[^\"\\\n]*)*\")\s*)+)"
)
# the raw text (the name is a string): `setattr(obj, "X", …)`, `obj.__dict__["X"] = …`
# (found from `attr`: what comes before it, `setattr`, `__delattr__`, is read by _SETTER; the
# object may be a call's, `setattr(import_module("q"), "X", …)`)
_SETATTR = lazy_pattern(r"attr(?:__)?\s*\(\s*(?:(?:[^,()]|\([^()]*\))*,\s*)??" + _STRING_ARGUMENT)
_SETTER = lazy_pattern(r"(?<!\w)(?:__)?(?:set|del)$")
_DICT_ITEM = lazy_pattern(r"__(?:dict|globals)__\s*\[\s*" + _STRING_ARGUMENT)
_VARS_ITEM = lazy_pattern(r"vars(?<!\wvars)\s*\([^)]*\)\s*\[\s*" + _STRING_ARGUMENT)
_LOCALS_ITEM = lazy_pattern(r"locals(?<!\wlocals)\s*\(\s*\)\s*\[\s*" + _STRING_ARGUMENT)
# `type("X", (Repo,), {"PIN": …})`: a class made with its attributes (a subclass's)
_TYPE_NAMESPACE = lazy_pattern(
    r"type(?<!\wtype)\s*\(\s*[^,()]+,\s*\([^()]*\)\s*,\s*(\{[^{}]*\}|dict\s*\([^()]*\))"
)
_NAMED_CLASS = lazy_pattern(r"[ \t]*[^\W\d]\w*[ \t]*=[ \t]*")
# `q.X: str = …` (annotated, and so assigned: the statement starts with the target)
_ANNOTATED_STORE = lazy_pattern(
    _NOT_ELLIPSIS + r"\.\s*([^\W\d]\w*)[ \t)]*:[^=\n:]*(?<![=!<>])=(?!=)"
)
_TARGET_START = lazy_pattern(r"[ \t]*(?:\(\s*)*[\w.]*\Z")
# `sys.modules["q"] = …` (also `.update(q=…)`, `.setdefault("q", …)`, `.__setitem__`): what
# `import q` gives is not q's file; `q.__class__ = M` (a module's class made another)
_MODULE_SWAP = lazy_pattern(
    r"modules(?<=sys.modules)\s*(?:\[([^\]\n]*)\]\s*=(?!=)|\.\s*(?:update|setdefault|"
    r"__setitem__)\s*\(([^()]*))"
)
_CLASS_SWAP = lazy_pattern(r"__class__\s*=(?!=)")  # (its owner read before it: _SWAPPED)
_SWAPPED = lazy_pattern(r"(\w*)[\s\])]*\.\s*\Z")
# a namespace changed by a call: `q.__dict__.update(X=…)`, `vars(q).__setitem__("X", …)`:
# the names written in its arguments (raw text); `operator.setitem(vars(q), "X", …)`
_NAMESPACE_CHANGE = (
    r"\s*(?:\.\s*(?:update|__setitem__|setdefault|__ior__)\s*\(|\|=)([^()]*(?:\([^()]*\)[^()]*)*)"
)
_NAMESPACE_CALLS = (
    lazy_pattern(r"__(?:dict|globals)__" + _NAMESPACE_CHANGE),
    lazy_pattern(r"vars(?<!\wvars)\s*\([^()]*\)" + _NAMESPACE_CHANGE),
)
_SETITEM_NAMESPACE = lazy_pattern(
    r"item(?<=setitem)\s*\(\s*(?:vars\s*\([^()]*\)|[^,()]*__(?:dict|globals)__)\s*,\s*"
    + _STRING_ARGUMENT
)
_KEYWORD_OR_KEY = lazy_pattern(r"""(?:(?<![\w.])([^\W\d]\w*)\s*=(?!=)|["'](\w+)["'])""")
# `setattr` / `setitem` handed on as a value (`partial(setattr, q, "X")`, `map(setattr, …)`)
# or called with its arguments unpacked (`setattr(*args)`): every name the file writes as a
# string may be the one it sets
_SETTER_AS_VALUE = lazy_pattern(r"set(?<![^\W_]set)(?:attr|item)(?:__)?(?!\w)(?!\s*\((?![^()]*\*))")
# … or looked up by its name, and a namespace by `__dict__`'s (`vars(builtins)["setattr"]`,
# `getattr(q, "__dict__")[…] = …`)
_SETTER_NAMED = ("'setattr'", '"setattr"', "__setattr__'", '__setattr__"', "__dict__'", '__dict__"')
_IDENTIFIER_LITERAL = lazy_pattern(r"""(["'])([^\W\d]\w*)\1""")
# changed in place: `X[k] = …` (from its `]`), `X.append(…)` (from the dot; also handed on as a
# value, `map(X.append, …)`, and unbound, `list.extend(X, …)`), `X += […]`; a target in
# brackets over several lines (`(q.X,\n y) = …`) from its closing bracket
_CLOSED_STORE = lazy_pattern(r"[)\]]\s*" + _OP_EQUALS)
_SCAN_MUTATORS = _MUTATORS | {
    "__init__",
    "__delitem__",
    "__imul__",
    "__isub__",
    "__iand__",
    "__ixor__",
    "__iconcat__",
}
_MUTATOR_AFTER = lazy_pattern(r"\.\s*(?:" + "|".join(sorted(_SCAN_MUTATORS)) + r")(?!\w)")
_UNBOUND_OWNERS = frozenset({"list", "dict", "set", "bytearray", "deque", "OrderedDict"})
# `operator.setitem(X, …)`, `operator.iadd(X, …)`, `setitem(X, …)` imported by name: X
# changed in place
_OPERATOR_CHANGES = (
    lazy_pattern(r"item(?<=setitem|delitem)\s*\(\s*(?:\w+\s*\.\s*)*(\w+)\s*[,)\[]"),
    lazy_pattern(
        r"operator\s*\.\s*i(?:add|concat|or|mul|sub|and|xor)\s*\(\s*(?:\w+\s*\.\s*)*(\w+)\s*[,)\[]"
    ),
)
_FIRST_ARGUMENT_NAME = lazy_pattern(r"\s*\(\s*(?:\w+\s*\.\s*)*(\w+)\s*[,)\[]")
_AUGMENTING = lazy_pattern(r"(?:\+|\||-|&|\^|\*)=(?!=)")
_WORD_BEFORE = lazy_pattern(r"(\w+)\s*$")


_MAKERS = ("__new__", "__init__")
_DEF_LINE = lazy_pattern(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+(\w+)", re.M)


def _enclosing_function(code: str, at: int) -> str | None:
    """The name of the function whose body holds `at` (by indentation), if any."""
    line_start = code.rfind("\n", 0, at) + 1
    indent = len(code[line_start:at]) - len(code[line_start:at].lstrip(" \t"))
    found: str | None = None
    for match in _DEF_LINE.finditer(code, 0, line_start):
        if len(match.group(1)) < indent:
            found = match.group(2)  # (the last one above at a smaller indentation)
        # (a def at the same or a larger indentation is a sibling's or a nested one's)
    return found


_HOOK_DEF = lazy_pattern(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+(\w+)[ \t]*\(\s*(\w+)", re.M)
_HOOK_CLASS = lazy_pattern(r"^([ \t]*)class[ \t]+(\w+)[ \t]*(?:\(([^()]*)\))?[ \t]*:", re.M)
_BLOCK_LINE = lazy_pattern(r"^([ \t]*)(?:async[ \t]+)?(?:def|class)[ \t]", re.M)
# `cls` bound again in a method's body (`cls = Other`, `for cls in …`, `as cls`, a walrus)
_CLS_REBOUND = lazy_pattern(
    r"(?<![\w.])cls[ \t]*(?::=|=(?!=)|,)|(?:for|as|global|nonlocal)[ \t]+[^\n:]*?(?<![\w.])cls\b"
)


def _class_hook_owner(code: str, at: int) -> str | None:
    """The class C when `at` (a `cls.X = …`) is in the body of a method defined directly in
    `class C(…)` whose first parameter is `cls` — a `@classmethod` or `__init_subclass__` —,
    C a class statement with plain bases (no metaclass: a class deriving from `type`, or named
    `…Meta`), `cls` not bound again in that method; else None."""
    line_start = code.rfind("\n", 0, at) + 1
    indent = len(code[line_start:at]) - len(code[line_start:at].lstrip(" \t"))
    owner: re.Match[str] | None = None
    for block in _BLOCK_LINE.finditer(code, 0, line_start):
        if len(block.group(1)) < indent:
            owner = block  # the innermost block above at a smaller indentation
            indent_owner = len(block.group(1))
            # (blocks at the same or a larger indentation are siblings or nested ones)
    if owner is None:
        return None
    method = _HOOK_DEF.match(code, owner.start())
    if method is None or method.group(3) != "cls":
        return None
    parent: re.Match[str] | None = None
    for block in _BLOCK_LINE.finditer(code, 0, owner.start()):
        if len(block.group(1)) < indent_owner:
            parent = block
    if parent is None:
        return None
    cls = _HOOK_CLASS.match(code, parent.start())
    if cls is None:
        return None
    bases = cls.group(3) or ""
    if any(c in bases for c in "*=") or re.search(r"\btype\b|Meta\b", bases):
        return None
    decorators: list[str] = []  # the lines right above the `def` that start with `@`
    for line in reversed(code[: owner.start()].split("\n")[:-1]):
        if not line.strip().startswith("@"):
            break
        decorators.append(line.strip().replace(" ", ""))
    hook = method.group(2) == "__init_subclass__" and decorators in ([], ["@classmethod"])
    if not hook and decorators != ["@classmethod"]:
        return None
    end = len(code)
    for block in _BLOCK_LINE.finditer(code, owner.end()):
        if len(block.group(1)) <= indent_owner:
            end = block.start()
            break
    body = code[code.find("\n", owner.start()) + 1 : end]
    if _CLS_REBOUND.search(body) is not None:
        return None
    return cls.group(2)


def _word_before(code: str, end: int) -> str | None:
    """The name just before `end` (spaces between allowed), on its line."""
    match = _WORD_BEFORE.search(code, max(code.rfind("\n", 0, end) + 1, end - 200), end)
    return None if match is None else match.group(1)


_OUTSIDE_SEEN: dict[str, frozenset[str]] = {}  # `_outside_changes` by text, this process's
_BLANKED_SEEN: dict[str, tuple[str, str]] = {}  # `_scanned` by text


def _blanked(text: str) -> str:
    """A project file's text with its strings and comments blanked (`""`, a space), made once
    per process for the scans that read it (the check cache's and the index's)."""
    return _scanned(text)[0]


def _uncommented(text: str) -> str:
    """A project file's text without its comments (a space each), its strings kept: what the
    scans that read names in strings read (`setattr(q, "X", …)`; not a comment saying so)."""
    return _scanned(text)[1]


def _scanned(text: str) -> tuple[str, str]:
    """`_blanked` and `_uncommented`, made in one pass and kept for the process."""
    made = _BLANKED_SEEN.get(text)
    if made is None:
        if len(_BLANKED_SEEN) >= 8192:
            _BLANKED_SEEN.clear()
        code: list[str] = []
        kept: list[str] = []
        at = 0
        for match in _STRING_OR_COMMENT.finditer(text):
            start = match.start()
            before = text[at:start]
            literal = match.group(0)
            comment = literal.startswith("#")
            code.append(before)
            code.append(" " if comment else '""')
            kept.append(before)
            kept.append(" " if comment else literal)
            at = match.end()
        code.append(text[at:])
        kept.append(text[at:])
        made = _BLANKED_SEEN[text] = ("".join(code), "".join(kept))
    return made


def _outside_changes(text: str) -> frozenset[str]:
    """`stored:X` for each attribute X a text assigns or deletes on something other than
    `self` / `cls` (a method's own `self.X = …` is read with its class), `mutated:X` for each
    name or attribute whose collection it changes in place. Each text is read once per process (the check cache's validation, then the index)."""
    known = _OUTSIDE_SEEN.get(text)
    if known is None:
        if len(_OUTSIDE_SEEN) >= 8192:
            _OUTSIDE_SEEN.clear()
        known = _OUTSIDE_SEEN[text] = frozenset(_read_outside_changes(text))
    return known


def handed_changes(keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """`mutated:X` for each collection X handed to a function (of any file) that changes the
    parameter it takes it as (outside attack h32g: `widen(PARTS)` where `def widen(cols):
    cols.append(…)` in another module), each with the two keys of `_outside_changes` that
    make it (`handed:widen:PARTS`, `changes-arg:widen`): the files a cached answer
    depends on."""
    keys = set(keys)
    # the functions that change a parameter, each with the keys that tell so: its own
    # `changes-arg:`, or `passes:a:widen` (it hands the parameter to one that does)
    changing: dict[str, tuple[str, ...]] = {
        k[12:]: (k,) for k in keys if k.startswith("changes-arg:")
    }
    passes = [k[7:].rpartition(":") for k in keys if k.startswith("passes:")]
    grown = bool(passes)
    while grown:
        grown = False
        for function, _, callee in passes:
            if callee in changing and function not in changing:
                changing[function] = (f"passes:{function}:{callee}", *changing[callee])
                grown = True
    # the functions that write a parameter's namespace by a key not spelt (`sets-arg:`, h32j)
    setting: dict[str, tuple[str, ...]] = {k[9:]: (k,) for k in keys if k.startswith("sets-arg:")}
    grown = bool(passes) and bool(setting)
    while grown:
        grown = False
        for function, _, callee in passes:
            if callee in setting and function not in setting:
                setting[function] = (f"passes:{function}:{callee}", *setting[callee])
                grown = True
    found: dict[str, tuple[str, ...]] = {}
    for key in keys:
        if key.startswith("handed:"):
            function, _, name = key[7:].rpartition(":")
            if function in changing:
                found.setdefault("mutated:" + name, (key, *changing[function]))
            if function in setting:
                # `put(queries, k, v)` / `put(repo.Repo, k, v)`: any name of the module, any
                # attribute of the class
                found.setdefault("replaced:" + name, (key, *setting[function]))
                found.setdefault("overrides-all:" + name, (key, *setting[function]))
        elif key.startswith("returns:"):
            # `get().append(…)` in one file, `def get(): return q.PARTS` in another
            function, _, name = key[8:].rpartition(":")
            if "mutated:" + function in keys:
                found.setdefault("mutated:" + name, (key, "mutated:" + function))
    return found


def _literal_text(source: str) -> str | None:
    """The text a string-literal argument spells (`"X"`, `'''X'''`, `f"X"`, `"X" ""`,
    `"\\x58"`), as Python evaluates it; None when it is no constant string."""
    if "{" in source:  # an f-string's field (or a brace): not a constant
        return None
    try:
        value = ast.literal_eval(re.sub(r"(?<![\"'\w])[fF]", "", source.strip()))
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _literal_names(source: str) -> list[str]:
    """The name a string-literal argument spells, or none when it is not a constant name."""
    value = _literal_text(source)
    return [value] if value is not None and value.isidentifier() else []


def _read_outside_changes(text: str) -> set[str]:
    raw = _uncommented(text)  # (names in strings, not in comments)
    found: set[str] = set()
    for match in _SETATTR.finditer(raw):
        start = match.start()
        if _SETTER.search(raw, max(0, start - 8), start) is not None:
            found.update("stored:" + n for n in _literal_names(match.group(1)))
    read_only: set[str] | None = None
    for pattern in (_DICT_ITEM, _VARS_ITEM, _LOCALS_ITEM, _SETITEM_NAMESPACE):
        for literal in pattern.findall(raw):
            names = _literal_names(literal)
            if pattern is _DICT_ITEM or pattern is _VARS_ITEM:
                # `p = vars(q)["PARTS"]` only reads it (h35D: every such item was a write)
                if read_only is None:
                    read_only = _namespace_items_read(text)
                names = [n for n in names if n not in read_only]
            found.update("stored:" + n for n in names)
    for made in _TYPE_NAMESPACE.finditer(raw):
        if _NAMED_CLASS.fullmatch(raw, raw.rfind("\n", 0, made.start()) + 1, made.start()):
            continue  # `Inv = type("Inv", (Repo,), {…})`: a subclass the index reads (round 24)
        namespace = made.group(1)
        for keyword, key in _KEYWORD_OR_KEY.findall(namespace):
            found.add("stored:" + (keyword or key))
    if "modules" in raw:
        # the module named (`sys.modules["q"] = …`, a docstring's too: for q only); one named
        # at run time (`sys.modules[name] = module`, an importer's) is a limit
        for key, arguments in _MODULE_SWAP.findall(raw):
            written = [k or q for k, q in _KEYWORD_OR_KEY.findall(arguments)]
            named = _literal_text(key) if key else None
            if named is not None:
                written.append(named)
            found.update("replaced:" + w.rsplit(".", 1)[-1] for w in written)
    for pattern in _NAMESPACE_CALLS:
        for arguments in pattern.findall(raw):
            for keyword, key in _KEYWORD_OR_KEY.findall(arguments):
                found.add("stored:" + (keyword or key))
    code = _blanked(text)
    if (
        _SETTER_AS_VALUE.search(code) is not None
        or any(n in raw for n in _SETTER_NAMED)
        or (_namespace_written_by_name(code))
    ):
        # (not a special name, `"__class__"`: one such string in a file that names `setattr`
        # — this module does — would unprove every `self.X` of the project; a special name
        # set through a string is read where it is written, `setattr(r, "__class__", …)`)
        found.update(
            "stored:" + m
            for _quote, m in _IDENTIFIER_LITERAL.findall(raw)
            if not (m.startswith("__") and m.endswith("__"))
        )
        if _EXEC_NAMESPACE.search(code) is not None:
            # `exec("SQL = …", vars(q))`: each name the file's text assigns
            found.update("stored:" + m for m in _ASSIGNED_IN_TEXT.findall(raw))
        # `d.update(SQL=…)` of a namespace kept in `d`: each keyword the file passes
        found.update("stored:" + m for m in _KEYWORD_ARGUMENT.findall(code))
    # a statement over lines joined by backslashes is one line; a name is what Python reads
    # (NFKC: `queries.PIN = …` in fullwidth letters sets `PIN`)
    if "\\" in code:
        code = code.replace("\\\r\n", "   ").replace("\\\n", "  ")
    if not code.isascii():
        code = unicodedata.normalize("NFKC", code)

    def attributes(part: str) -> None:
        for owner, name in _ATTRIBUTE_IN.findall(part):
            if not owner:
                found.add("stored:" + name)

    for match in _ANNOTATED_STORE.finditer(code):
        start = match.start()
        if _TARGET_START.match(code, code.rfind("\n", 0, start) + 1, start) is not None and (
            _word_before(code, start) != "self"  # (`self.x: T = …`: read with its class)
        ):
            found.add("stored:" + match.group(1))
    for match in _CLASS_SWAP.finditer(code):
        start = match.start()
        owner = _SWAPPED.search(code, max(0, start - 200), start)
        if owner is not None:
            found.add("replaced:" + (owner.group(1) or "*"))
    for match in _DOT_STORE.finditer(code):
        # (`self.X = …` is read with the class whose methods set it; `cls.X = …` is not:
        # a decorator's or a metaclass's `cls` is any class, round 26b)
        name = match.group(1)
        if name == "_value_" and _enclosing_function(code, match.start()) in _MAKERS:
            continue  # an enum's `__new__` making its member: that class's, read as computed
        before = _word_before(code, match.start())
        if before == "cls" and not name.startswith("__"):
            hooked = _class_hook_owner(code, match.start())
            if hooked is not None:
                # `cls.X = …` in a classmethod or `__init_subclass__` of class C: C's X or a
                # subclass's, not every class's (see `ProjectIndex.hooked_attribute`)
                found.update((f"class-set:{name}", f"class-set:{name}:{hooked}"))
                continue
        if before != "self" or (
            name.startswith("__") and name.endswith("__")  # (`self.__class__ = …`)
        ):
            found.add("stored:" + name)
    # `a.X, b = …`: a line that starts a statement (outside any bracket: not a call's
    # continuation line, `"", Kind.TABLE, key=…`), its brackets closed before the `=` (not
    # `f(a.X, key=1)`)
    depth, at = 0, 0
    lines = _TUPLE_TARGETS.finditer(code)
    if ";" in code:  # (in order: the depth is counted from one match to the next)
        lines = iter(sorted((*lines, *_TUPLE_TARGETS_AFTER.finditer(code)), key=_start))
    for match in lines:
        start = match.start()
        for opening, closing in ("()", "[]", "{}"):
            depth += code.count(opening, at, start) - code.count(closing, at, start)
        at = start
        part = match.group(1)
        if (
            depth <= 0
            and ":" not in part.split("[", 1)[0]  # (not `x: dict[K, a.V] = …`)
            and part.count("(") == part.count(")")
            and part.count("[") == part.count("]")
        ):
            attributes(part)
    for part in _FOR_TARGETS.findall(code):
        attributes(part)
    for dotted, bracketed in _AS_TARGET.findall(code):
        attributes(dotted or bracketed)
    for part in _DEL_TARGETS.findall(code):
        attributes(part)
        found.update("mutated:" + n for n in _SUBSCRIPTED_IN.findall(part))
    for match in _CLOSED_STORE.finditer(code):
        start = match.start()
        line = code.rfind("\n", 0, start) + 1
        if code[start] == "]":
            # the first name subscripted on the line before the `] =` (`X[k] = …`,
            # `q.X[k] = …`; not the types of an annotation's `Mapping[str, list[int]] = …`)
            first = _SUBSCRIPTED_IN.search(code, line, start)
            if first is not None:
                found.add("mutated:" + first.group(1))
        before = code[line : start + 1]
        opening = "[" if code[start] == "]" else "("
        if before.count(opening) < before.count(code[start]):
            # a bracket opened on an earlier line: `(q.X,\n y) = …`, `[q.X,\n y] = …`
            opened = _opening_bracket(code, start)
            if opened is not None:
                attributes(code[code.rfind("\n", 0, opened) + 1 : start])
        elif code[start] == ")":
            # a target closed by a bracket on its line: `q.X, (y) = …` (`f(x) = …` is no
            # Python; a keyword's `(…)` is followed by `,` or `)`, not by `=`)
            attributes(before)
    owners = _enclosing_functions(code)
    # `query += " LIMIT 50"` in a function (no `global`/`nonlocal` in the file) changes that
    # function's own `query`: an alias made in another function, `query = QUERIES[k]`, is
    # another variable (h34D: one such pair made every module's `QUERIES` unknown)
    # (a class body in a function reads a global by that name, `X += […]` extending it)
    scoped = _GLOBAL_OR_NONLOCAL.search(code) is None and _NESTED_CLASS.search(code) is None
    augmented: set[tuple[str, str]] = set()  # (name, function) changed only so
    for pattern in (_MUTATOR_AFTER, _AUGMENTING):
        for match in pattern.finditer(code):
            name = _word_before(code, match.start())
            if pattern is _AUGMENTING and name is not None and scoped:
                enclosing = owners(match.start())
                start = match.start()
                before = code[max(0, start - 200) : start].rstrip(" \t")[: -len(name)]
                if enclosing is not None and not before.rstrip(" \t").endswith("."):
                    augmented.add((name, enclosing[0]))
                    continue
            if name is None and pattern is _MUTATOR_AFTER:
                name = _changed_through(code, match.start(), found)
            if pattern is _MUTATOR_AFTER and (name in _UNBOUND_OWNERS or name in _TYPE_OF):
                # `list.extend(X, …)`, `dict.__setitem__(q.X, …)`, `type(X).append(X, …)`,
                # `X.__class__.append(X, …)`: its first argument's
                argument = _FIRST_ARGUMENT_NAME.match(code, match.end())
                name = None if argument is None else argument.group(1)
            if name is not None:
                found.add("mutated:" + name)
    for pattern in _OPERATOR_CHANGES:
        found.update("mutated:" + n for n in pattern.findall(code))
    if "getattr" in raw or "methodcaller" in raw:
        # `getattr(q.X, "append")(…)`, `operator.methodcaller("append", …)(q.X)`: a mutator
        # named by a constant string (h32g)
        for owner, method in _GETATTR_METHOD.findall(raw):
            if _literal_text(method) in _SCAN_MUTATORS:
                found.add("mutated:" + owner)
        for method, owner in _METHODCALLER_APPLIED.findall(raw):
            if _literal_text(method) in _SCAN_MUTATORS:
                found.add("mutated:" + owner)
    # a module's namespace written by a key from data (`for k, v in os.environ.items():
    # setattr(queries, k, v)`, `vars(queries).update(json.load(f))`): any of its names (h32j)
    # (`setattr(Repo, k, v)` on a class it imports: any of its attributes, `overrides-all:`)
    for stem in _namespace_written_from_data(code):
        found.update(("replaced:" + stem, "overrides-all:" + stem))
    # an object's attributes written so (`setattr(q.Q, k, v)`, `vars(cfg).update(data)`, a
    # local `setattr(q, k, over[k])`): any attribute of what a name of that spelling holds
    # (h33j: a dataclass made with no arguments read as holding its defaults)
    for target in _written_by_key(code):
        held = target.rsplit(".", 1)[-1].strip()
        if held not in ("self", "cls"):
            found.add("overrides-all:" + held)
    if _UNREAD_CLASS.search(code) is not None:
        found.add("class-set:*")  # a class made otherwise than by a class statement
    for made_in, attribute in _unread_subclass_attributes(code):
        # (the class itself: its own body's value is what it reads; `overrides:X` names the
        # files for the check cache, `overrides:X:C` which class, see `overridden_elsewhere`)
        found.update(("overrides:" + attribute, f"overrides:{attribute}:{made_in}"))
    for name, function in _imported_in_functions(code, owners):
        # `from q import PARTS` (or `… as p`) in the function's own body: its `+=` there
        # extends the module's object, not a local one (h34N)
        if (name, function) in augmented:
            augmented.discard((name, function))
            found.add("mutated:" + name)
    for match in _NAMESPACE_READ.finditer(raw):
        # `globals()["PARTS"].append(…)`, `vars(q).get("PARTS") += …`: PARTS itself (h34N)
        if _MUTATOR_AFTER.match(raw, _namespace_read_end(raw, match.end())) is not None:
            found.add("mutated:" + match.group(2))
    returned = _returned(code)
    found.update(f"returns:{function}:{name}" for function, name in returned)
    changed = {f[8:] for f in found if f.startswith("mutated:")}
    if changed or augmented:
        # a list changed through another name for it (outside attack h32g: `from q import
        # PARTS as P; X = P; X.append(…)`, `x = q.PARTS`, `(x := PARTS).append(…)`, `p =
        # self.PARTS`, `REG = {"p": PARTS}`, `for p in [PARTS]:`, `def f(p=PARTS)`): the
        # names it holds are changed too, through aliases of aliases
        # (names of the module and what functions return: a function's own `x += …`, `x`
        # local there, changes neither — `sql += " AND …"` is no change of what a function
        # `sql()` returns; the pairs below, kept in some function, may be that `x`)
        fixed = [(alias, original) for original, alias in _import_aliases(code)]
        fixed.extend(returned)
        pairs: list[tuple[str, str]] = []
        # (a name held in a function: changed there by its `+=`, or anywhere by the rest)
        local = [
            (holder, held, _scope_at(code, position, owners))
            for holder, held, position in (*_held_names_at(code), *_captured_names(code))
        ]
        for match in _WITH_AS.finditer(code):  # `with nullcontext(P) as x`: x may be P
            pairs.extend((match.group(2), n) for n in _HELD_WORD.findall(match.group(1)))
        for match in _NAMESPACE_READ.finditer(raw):  # `p = globals()["P"]`: p is P
            holder = _WORD_BEFORE_EQUALS.search(raw, max(0, match.start() - 80), match.start())
            if holder is not None:
                pairs.append((holder.group(1), match.group(2)))
        for match in _GETATTR_NAMED.finditer(raw):  # `getattr(q, "P")` is `q.P`
            name, after = match.group(2), raw[match.end() : match.end() + 40]
            if _MUTATOR_AFTER.match(after.lstrip()) is not None:
                changed.add(name)
            holder = _WORD_BEFORE_EQUALS.search(raw, max(0, match.start() - 80), match.start())
            if holder is not None:
                pairs.append((holder.group(1), name))
        anywhere = {name for name, _ in augmented}

        def spread(changed: set[str]) -> None:
            grown = True
            while grown:
                count = len(changed)
                changed.update(held for holder, held in fixed if holder in changed)
                changed.update(
                    held for holder, held in pairs if holder in changed or holder in anywhere
                )
                changed.update(
                    held
                    for holder, held, function in local
                    if holder in changed or (holder, function) in augmented
                )
                grown = len(changed) > count

        spread(changed)
        # (a function's own `x += …` changes no name of another scope: not said as a change
        # of `x` to the project — a parameter so extended changes what it is handed)
        found.update("mutated:" + n for n in changed)
        proper = set(changed)
        changed |= anywhere
        for pattern in (_DEF_PARAMETERS, _LAMBDA_PARAMETERS):
            for function, parameters in pattern.findall(code):
                if changed.intersection(_HELD_WORD.findall(parameters)):
                    found.add("changes-arg:" + function)
        changing = {k[12:] for k in found if k.startswith("changes-arg:")}
        if changing:
            # `self.relax(p)` (or `self.relax(self.view())`) with `def relax(self, parts):
            # parts += …` in this file: what p holds (what view returns) is changed too, through
            # this file's aliases (h34N; another file's are `handed_changes`' names only)
            handed_here = {
                name
                for call in _HANDED_TO.finditer(code)
                if call.group(1) in changing
                for name in _held_in(code, call.end(), ";")
            }
            if handed_here - proper:
                proper |= handed_here
                spread(proper)
                found.update("mutated:" + n for n in proper)
    written_by_key = "setattr" in code or "vars" in code or "__dict__" in code
    for match in _WRITTEN_BY_KEY.finditer(code) if written_by_key else ():
        # `def put(obj, k, v): setattr(obj, k, v)`: put writes what it is handed by a key
        # not spelt (h32j; joined with `handed:put:X` in `handed_changes`)
        target = match.group(1) or match.group(2)
        enclosing = owners(match.start()) if target is not None else None
        if enclosing is not None and target in enclosing[1]:
            found.add("sets-arg:" + enclosing[0])
    for call in _HANDED_TO.finditer(code):
        handed = _held_in(code, call.end(), ";")
        found.update(f"handed:{call.group(1)}:{n}" for n in handed)
        applied = _APPLIED.match(code, call.end()) if call.group(1) in _APPLYING else None
        if applied is not None:
            # `map(widen, [q.PARTS])`, `partial(widen, PARTS)`: widen is handed them (h32g)
            function = applied.group(1)
            found.update(f"handed:{function}:{n}" for n in handed if n != function)
        enclosing = owners(call.start())
        if enclosing is not None and enclosing[1].intersection(handed):
            # `def a(x): widen(x)`: `a` changes what it is handed when `widen` does
            found.add(f"passes:{enclosing[0]}:{call.group(1)}")
    return found


def _enclosing_functions(code: str) -> Callable[[int], tuple[str, frozenset[str]] | None]:
    """For a position of the code, the innermost `def` whose body holds it (by indentation)
    with its parameters' names: one pass over the lines."""
    starts: list[int] = []
    owners: list[tuple[str, frozenset[str]] | None] = []
    stack: list[tuple[int, tuple[str, frozenset[str]]]] = []
    at = 0
    depth = 0  # brackets open at the line's start (strings and comments are blanked)
    for line in code.split("\n"):
        body = line.lstrip(" \t")
        indent = len(line) - len(body)
        inside = depth > 0
        depth = max(
            0, depth + sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        )
        if body and not inside:
            # (a line inside brackets continues the one before: a signature's `) -> str:`
            # at the def's own indentation does not end it — h35G: the body after it was
            # read as the module's, its `sql += …` as a change of every `sql`)
            while stack and stack[-1][0] >= indent:
                stack.pop()
        starts.append(at)
        owners.append(stack[-1][1] if stack else None)
        if body and not inside and (def_line := _DEF_LINE.match(line)) is not None:
            defined = _DEF_PARAMETERS.search(code, at, at + len(line) + 2000)
            if defined is not None:
                names = frozenset(_HELD_WORD.findall(defined.group(2)))
                stack.append((indent, (defined.group(1), names)))
            else:  # parameters not read: the function still holds its body
                stack.append((indent, (def_line.group(2), frozenset())))
        at += len(line) + 1

    def owner(position: int) -> tuple[str, frozenset[str]] | None:
        return owners[bisect.bisect_right(starts, position) - 1]

    return owner


_LAMBDA_PARAMETERS = lazy_pattern(r"(?<!\w)(\w+)[ \t]*=[ \t]*lambda(?!\w)([^:\n]*):")
_TYPE_OF = frozenset({"__class__", "type"})
# calls whose result holds the objects they are given (`for cols in zip(…)`, `next(iter(…))`)
# and methods that hand on a collection's own items
_VIEW_METHODS = ("values", "items", "get", "pop", "setdefault", "popitem", "__getitem__")
_PASSING = frozenset(
    {"iter", "next", "zip", "enumerate", "reversed", "max", "min", "filter", "cast", "chain"}
    | set(_VIEW_METHODS)
)
_VIEW = lazy_pattern(r"\s*\.\s*(?:" + "|".join(_VIEW_METHODS) + r")\s*\(")
_GETATTR_METHOD = lazy_pattern(
    r"getattr\s*\(\s*(?:\w+\s*\.\s*)*(\w+)\s*,\s*((?:[rRbBuU]?(?:\"[^\"\n]*\"|'[^'\n]*')\s*)+)\)"
)
_METHODCALLER_APPLIED = lazy_pattern(
    r"methodcaller\s*\(\s*((?:[rRbBuU]?(?:\"[^\"\n]*\"|'[^'\n]*')\s*)+)[^()]*\)\s*\(\s*(?:\w+\s*\.\s*)*(\w+)"
)
_DEF_PARAMETERS = lazy_pattern(r"def(?<!\wdef)[ \t]+(\w+)[ \t]*\(([^)]*)\)")
_HANDED_TO = lazy_pattern(r"(?<!def )(?<!class )\b(\w+)[ \t]*\(")
# calls that call the function they are given first with what follows it
_APPLYING = frozenset({"map", "partial", "starmap", "to_thread"})
_APPLIED = lazy_pattern(r"\s*(?:\w+\s*\.\s*)*(\w+)\s*,")
# a name given a value: `x = …`, `x: T = …`, `x := …`, a keyword or a default `x=…`
_HOLDER = lazy_pattern(r"(?<!\w)(\w+)[ \t]*(?::[^=\n:]*)?(?::=|(?<![=!<>:])=(?!=))")
_FOR_HOLDER = lazy_pattern(r"for(?<!\wfor)[ \t]+([\w \t,()\[\]]+?)[ \t]+in(?!\w)")
_HELD_WORD = lazy_pattern(r"[A-Za-z_]\w*")
# a statement's target that starts with a bracket or ends with a comma: `[p] =`, `(p,) =`,
# `p, =` (the one `_HOLDER` does not see: no name right before its `=`)
_BRACKET_HOLDER = lazy_pattern(
    r"^[ \t]*((?:[\[(][\w \t.,*()\[\]]*[\])]|[\w \t.,*()\[\]]*,))[ \t]*=(?!=)", re.M
)
_GLOBAL_OR_NONLOCAL = lazy_pattern(r"(?<!\w)(?:global|nonlocal)(?!\w)")
_NESTED_CLASS = lazy_pattern(r"^[ \t]+class[ \t]", re.M)
_HELD_TOKEN = lazy_pattern(r"(?<![\w])[A-Za-z_]\w*|[()\[\]{}\n;,:]")
_WITH_AS = lazy_pattern(r"with(?<!\wwith)[ \t]+([^\n]+?)[ \t]+as[ \t]+(\w+)")
# a module's name read from its namespace by a key spelt: `globals()["P"]`, `vars(q)["P"]`,
# `q.__dict__.get("P")`, `locals()["P"]`
_NAMESPACE_READ = lazy_pattern(
    r"(?:(?<!\w)(?:globals|locals|vars)\s*\([^()]*\)|\.\s*__dict__)\s*"
    r"(?:\[|\.\s*get\s*\()\s*([\"'])(\w+)\1"
)


def _namespace_read_end(text: str, at: int) -> int:
    """Where what follows a namespace read starts: past the `]` or `)` that closes it (a
    default given to `.get(…)` included) and blanks."""
    depth = 0
    for index in range(at, min(len(text), at + 200)):
        char = text[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                end = index + 1
                while end < len(text) and text[end] in " \t":
                    end += 1
                return end
            depth -= 1
    return at


_GETATTR_NAMED = lazy_pattern(r"getattr\s*\(\s*[\w.]+\s*,\s*([\"'])(\w+)\1\s*\)")
_WORD_BEFORE_EQUALS = lazy_pattern(r"(\w+)[ \t]*(?::[^=\n]*)?=[ \t]*\Z")
_TUPLE_PREFIX = lazy_pattern(r"[ \t]*[\w \t.,*()\[\]]*,[ \t]*")
_NOT_HELD = frozenset(
    "and or not if else is in for async await lambda None True False yield".split()  # noqa: SIM905
)
_OPERATORS = "+-*/%@&|^~<>"


def _changed_through(code: str, end: int, found: set[str]) -> str | None:
    """The collection `X[k].append(…)` changes (X, through its item), or the names `(p :=
    P).append(…)` and `(a or P).append(…)` may change (added to `found`): what a bracket
    closed just before `end` leads to (outside attack h32g)."""
    closing = _index_before(code, end)
    while closing >= 0 and code[closing] == "]":
        opened = _opening_bracket(code, closing)
        if opened is None:
            return None
        closing = _index_before(code, opened)
        if closing >= 0 and (code[closing].isalnum() or code[closing] == "_"):
            return _word_before(code, closing + 1)
    if closing >= 0 and code[closing] == ")":
        opened = _opening_bracket(code, closing)
        before = _char_before(code, opened) if opened is not None else "("
        if opened is not None and (before.isalnum() or before == "_"):
            # `get().append(…)`: what `get` returns (`returns:get:X`, joined in
            # `handed_changes`); `next(iter([X])).append(…)`: X
            callee = _word_before(code, opened)
            if callee in _PASSING:
                found.update("mutated:" + n for n in _held_in(code, opened + 1, ";"))
            return callee
        if opened is not None and not (before.isalnum() or before in "_)]"):
            inner = code[opened + 1 : closing]
            walrus = _HOLDER.match(inner.lstrip())
            start = opened + 1 + (len(inner) - len(inner.lstrip()))
            if walrus is not None:
                found.add("mutated:" + walrus.group(1))
                start += walrus.end()
            found.update("mutated:" + n for n in _held_in(code, start))
    return None


def _returned(code: str) -> list[tuple[str, str]]:
    """(function, name) for each name a function's `return` may hand back as it is (`def
    get(): return q.PARTS`), the enclosing `def` by indentation (`_enclosing_functions`)."""
    found: list[tuple[str, str]] = []
    if "return" not in code:
        return found
    owners = _enclosing_functions(code)
    at = 0
    for line in code.split("\n"):
        body = line.lstrip(" \t")
        if body.startswith("return") and body[6:7] in (" ", "\t", "("):
            owner = owners(at)
            if owner is not None:
                start = at + len(line) - len(body) + 6
                found.extend((owner[0], n) for n in _held_in(code, start))
        at += len(line) + 1
    return found


def _constant_slice(node: ast.expr) -> slice | None:
    """The slice of `X[1:]`, `X[:-1]`, `X[::2]` written with constant integers (or none)."""
    if not isinstance(node, ast.Subscript) or not isinstance(node.slice, ast.Slice):
        return None
    bounds: list[int | None] = []
    for bound in (node.slice.lower, node.slice.upper, node.slice.step):
        if bound is None:
            bounds.append(None)
            continue
        value = bound
        negative = isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub)
        if negative:
            value = value.operand  # type: ignore[attr-defined]
        if not isinstance(value, ast.Constant) or type(value.value) is not int:
            return None
        bounds.append(-value.value if negative else value.value)
    if bounds[2] == 0:
        return None  # Python raises ValueError
    return slice(*bounds)


_IMPORT_STATEMENT = lazy_pattern(
    r"^[ \t]+(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]+(\([^)]*\)|[^\n]*)", re.M
)
_MATCH_OR_CASE = lazy_pattern(r"^([ \t]*)(match|case)[ \t]+([^\n]*?)[ \t]*:[ \t]*$", re.M)


def _imported_in_functions(
    code: str, owners: Callable[[int], tuple[str, frozenset[str]] | None]
) -> list[tuple[str, str]]:
    """(name, function) for each name an import statement in a function's body binds there
    (`from q import PARTS`, `from q import PARTS as p`, `import q`)."""
    found: list[tuple[str, str]] = []
    for match in _IMPORT_STATEMENT.finditer(code):
        function = owners(match.start())
        if function is None:
            continue
        for item in match.group(1).strip("()").split(","):
            words = item.split()
            if len(words) >= 3 and words[-2] == "as":
                found.append((words[-1], function[0]))
            elif words:
                found.append((words[0].split(".")[0], function[0]))
    return found


def _captured_names(code: str) -> list[tuple[str, str, int]]:
    """(holder, held, where) for each name a `case` pattern binds and each name of its
    `match` subject: `match PARTS: case p:` makes `p` the very object (or an item of it)."""
    found: list[tuple[str, str, int]] = []
    subjects: list[tuple[int, list[str]]] = []
    for match in _MATCH_OR_CASE.finditer(code):
        indent, keyword, rest = len(match.group(1)), match.group(2), match.group(3)
        while subjects and subjects[-1][0] >= indent and keyword == "match":
            subjects.pop()
        if keyword == "match":
            subjects.append((indent, _HELD_WORD.findall(rest)))
            continue
        held = next((names for at, names in reversed(subjects) if at < indent), [])
        found.extend(
            (holder, name, match.start()) for holder in _HELD_WORD.findall(rest) for name in held
        )
    return found


def _scope_at(
    code: str, position: int, owners: Callable[[int], tuple[str, frozenset[str]] | None]
) -> str | None:
    """The function whose local a name bound at `position` is: the innermost `def` around it,
    or the one whose `def` line it is on (a parameter's default, `def f(p=PARTS):`)."""
    line = code.rfind("\n", 0, position) + 1
    defined = _DEF_LINE.match(code, line)
    if defined is not None and defined.end() <= position:
        return defined.group(2)
    found = owners(position)
    return None if found is None else found[0]


def _held_names_at(code: str) -> list[tuple[str, str, int]]:
    """(holder, held, where) for each name a value given to a name may be the very object of: `X =
    P` (also `q.P`, `P or []`, `P if c else Q`, `{"k": P}`, `[P]`, `P["k"]`), `x := P`, a
    default or a keyword `p=P`, `for p in [P]`. Not a name only read into a new object: a
    call's argument (`list(P)`, `f(P)`), an operand (`P + []`, `[*P]`), a slice (`P[:]`), a
    method's result (`P.copy()`), a comprehension's."""
    found: list[tuple[str, str, int]] = []
    for pattern in (_HOLDER, _FOR_HOLDER):
        for match in pattern.finditer(code):
            holders = _HELD_WORD.findall(match.group(1))
            stops = "\n;,"
            if pattern is _HOLDER:
                # `x, y = q.PARTS, 1`: each name of a tuple's target, any item of the value
                prefix = code[code.rfind("\n", 0, match.start()) + 1 : match.start()]
                if "," in prefix and _TUPLE_PREFIX.fullmatch(prefix) is not None:
                    holders.extend(_HELD_WORD.findall(prefix))
                    stops = "\n;"
            found.extend(
                (holder, held, match.start())
                for held in _held_in(code, match.end(), stops)
                for holder in holders
            )
    for match in _BRACKET_HOLDER.finditer(code):
        # `[p] = [P]`, `(p,) = (P,)`, `p, = [P]`, `[[p]] = [[P]]` (h35D): each name of the
        # target, any name of the value (a nested display's too)
        holders = [w for w in _HELD_WORD.findall(match.group(1)) if w not in _NOT_HELD]
        found.extend(
            (holder, held, match.start())
            for held in _held_in(code, match.end(), "\n;")
            for holder in holders
        )
    return found


def _held_in(code: str, start: int, stops: str = "\n;,") -> list[str]:
    """The names an expression starting at `start` (ending at a line's end, `,`, `;`, `:`
    or a closing bracket outside its own brackets) may hand on as they are."""
    held: list[str] = []
    stack: list[bool] = []  # each open bracket: a call's (or a subscript's slice) or not
    for token in _HELD_TOKEN.finditer(code, start, min(len(code), start + 2000)):
        char = token.group()
        position = token.start()
        if char in "([{":
            before = _char_before(code, position)
            call = char == "(" and (before.isalnum() or before in "_)]")
            if call and _word_before(code, _index_before(code, position) + 1) in _PASSING:
                call = False  # `zip(…)`, `next(iter(…))`, `D.values()`: the same objects
            stack.append(call or (char == "[" and _is_slice(code, position)))
        elif char in ")]}":
            if not stack:
                break
            stack.pop()
        elif char in "\n;,:":
            if not stack and (
                char in stops or (char == ":" and code[position + 1 : position + 2] != "=")
            ):
                break
        elif char == "for":
            return []  # a comprehension makes a new object
        elif char not in _NOT_HELD and not any(stack):
            end = token.end()
            rest = code[end : end + 40]
            after = rest.lstrip()[:1]
            before = _char_before(code, position)
            if (
                not (after == "[" and _is_slice(code, end + rest.index("[")))
                and (after != "." or _VIEW.match(code, end) is not None)
                # (a callee: `x = get()` holds what `get` returns; `D.values()` D's items)
                and not (before and before in _OPERATORS)
                and not (after and after in _OPERATORS)
            ):
                held.append(char)
    return held


def _index_before(code: str, end: int) -> int:
    """Where the last character before `end` that is no blank is (-1: none)."""
    position = end - 1
    while position >= 0 and code[position] in " \t\r\n":
        position -= 1
    return position


def _char_before(code: str, end: int) -> str:
    """The last character before `end` that is no blank ("" at the start)."""
    position = _index_before(code, end)
    return code[position] if position >= 0 else ""


def _is_slice(code: str, opening: int) -> bool:
    """Whether the subscript opened at `opening` is a slice (`P[:]`, `P[1:]`): a copy."""
    depth = 0
    for position in range(opening, min(len(code), opening + 400)):
        char = code[position]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return False
        elif char == ":" and depth == 1:
            return True
    return False


def _unread_subclass_attributes(code: str) -> list[tuple[str, str]]:
    """Each class with the names its body defines when the class's bases are not read
    (outside attack h32g): `class Admin(*BASES)`, or a base bound to something other than a
    class's name (`Base = getattr(r, "Repo")`, `Base = pick()`): it may override any other
    class's attribute. What a base subscripts (`Generic[T]`, `Repo[Model]`) is no base, and
    SQLAlchemy's `Base = declarative_base()` (no `cls=`) is a new class of no project class."""
    found: list[tuple[str, str]] = []
    if "class" not in code:
        return found
    otherwise: set[str] | None = None
    for match in _CLASS_STATEMENT.finditer(code):
        bases = _SUBSCRIPTS.sub("", match.group(3))
        if "*" not in bases:
            if otherwise is None:
                otherwise = _bound_otherwise(code)
            if not otherwise.intersection(_HELD_WORD.findall(bases)):
                continue
        indent = len(match.group(1))
        at = match.end() + 1
        while at < len(code):
            end = code.find("\n", at)
            end = len(code) if end < 0 else end
            line = code[at:end]
            at = end + 1
            body = line.lstrip(" \t")
            if not body:
                continue
            if len(line) - len(body) <= indent:
                break
            member = _MEMBER.match(body)
            if member is not None:
                found.append((match.group(2), member.group(1) or member.group(2)))
    return found


def _bound_otherwise(code: str) -> set[str]:
    """The names a file binds to something other than a (dotted) name, but for a base made
    by SQLAlchemy's `declarative_base()` / `automap_base()` imported from it without `cls=`
    (a class whose only base is SQLAlchemy's: it overrides no project class's attribute)."""
    found: set[str] = set()
    for match in _BOUND_OTHERWISE.finditer(code):
        line_end = code.find("\n", match.end())
        fresh = _FRESH_BASE.match(code, match.start(), len(code) if line_end < 0 else line_end)
        if (
            fresh is None
            or "cls" in fresh.group(2)
            or re.search(
                r"^[ \t]*from[ \t]+sqlalchemy[\w.]*[ \t]+import[^\n]*\b" + fresh.group(1) + r"\b",
                code,
                re.M,
            )
            is None
            or re.search(r"(?<!\w)(?:def|class)[ \t]+" + fresh.group(1) + r"\b", code) is not None
            or re.search(r"\bas[ \t]+" + fresh.group(1) + r"\b", code) is not None
        ):
            found.add(match.group(1))
    return found


# a class the project makes that its class statements do not show: `type(name, bases, ns)`,
# `types.new_class(…)`, a class statement whose bases are unpacked or called
_UNREAD_CLASS = lazy_pattern(
    r"type(?<!\wtype)[ \t]*\([^()\n]*,|new_class[ \t]*\("
    r"|class(?<![\w.]class)[ \t]+\w+[ \t]*\([^)=]*[*(]"
)
_CLASS_STATEMENT = lazy_pattern(r"^([ \t]*)class[ \t]+(\w+)[ \t]*\(([^)]*)\)[^\n]*$", re.M)
_SUBSCRIPTS = lazy_pattern(r"\[[^\[\]]*\]")
# a name bound to something other than a (dotted) name: `Base = getattr(r, "Repo")`
_BOUND_OTHERWISE = lazy_pattern(
    r"^[ \t]*(\w+)[ \t]*(?::[^=\n]*)?=(?!=)(?![ \t]*[\w.]+[ \t]*$)", re.M
)
_FRESH_BASE = lazy_pattern(
    r"[ \t]*\w+[ \t]*(?::[^=\n]*)?=[ \t]*(declarative_base|automap_base)[ \t]*\(([^()]*)\)[ \t]*$"
)
_MEMBER = lazy_pattern(
    r"(?:async[ \t]+)?def[ \t]+(\w+)|(?:self[ \t]*\.[ \t]*)?(\w+)[ \t]*(?::[^=\n]*)?=(?!=)"
)


def _namespace_items_read(text: str) -> set[str]:
    """The keys a file's code only reads from a namespace by subscript (`vars(q)["PARTS"]`,
    `q.__dict__["PARTS"]`, `f.__globals__["PARTS"]`): none of its subscripts by that key is
    assigned or deleted (nor the text unparsed: then none)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    read: set[str] = set()
    written: set[str] = set()
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            continue
        held = node.value
        if not (
            (isinstance(held, ast.Call) and _is_name(held.func, "vars"))
            or (isinstance(held, ast.Attribute) and held.attr in ("__dict__", "__globals__"))
        ):
            continue
        (read if isinstance(node.ctx, ast.Load) else written).add(node.slice.value)
    return read - written


def _namespace_written_by_name(code: str) -> bool:
    """Whether a file may write a module's names by a key it does not spell there (outside
    attack h32g): a namespace kept in a name and changed through it (`d = vars(q)`, `g =
    q.f.__globals__`, then `d["SQL"] = …`, `g.update(SQL=…)`), handed to `exec` (`exec(code,
    vars(q))`), or `setattr(q, key, …)` with a key computed, on a name the file imports: then
    each name it writes as a string may be the one set."""
    if "vars" not in code and "__" not in code and "setattr" not in code:
        return False
    kept = {m.group(1) for m in _NAMESPACE_KEPT.finditer(code)}
    if kept:
        for pattern in (_MUTATOR_AFTER, _AUGMENTING):
            for match in pattern.finditer(code):
                if _word_before(code, match.start()) in kept:
                    return True
        for match in _CLOSED_STORE.finditer(code):
            first = _SUBSCRIPTED_IN.search(code, code.rfind("\n", 0, match.start()) + 1)
            if first is not None and first.group(1) in kept and first.start() < match.start():
                return True
    if _EXEC_NAMESPACE.search(code) is not None or _NAMESPACE_KEY_COMPUTED.search(code):
        return True
    imported = None
    for match in _SETATTR_COMPUTED.finditer(code):
        if imported is None:
            imported = {alias for _original, alias in _import_aliases(code)}
            imported.update(w for m in _IMPORTED_NAMES.findall(code) for w in _HELD_WORD.findall(m))
        if match.group(1) in imported:
            return True
    return False


def _written_by_key(code: str) -> list[str]:
    """What a file writes the namespace of by a key not spelt at the write, as written
    (`setattr(q.Q, k, v)`: `q.Q`; `vars(cfg).update(data)`: `cfg`), also through a name kept
    for `vars(x)`."""
    if "vars" not in code and "__dict__" not in code and "setattr" not in code:
        return []
    targets = [m.group(1) or m.group(2) or m.group(3) for m in _WRITTEN_BY_KEY.finditer(code)]
    kept = {m.group(1): m.group(2) or m.group(3) for m in _KEPT_NAMESPACE_OF.finditer(code)}
    for match in _KEPT_WRITTEN_BY_KEY.finditer(code):
        if match.group(1) in kept:
            targets.append(kept[match.group(1)])
    return targets


def _namespace_written_from_data(code: str) -> set[str]:
    """The modules (by their file's stem) whose namespace a file writes by a key not spelt at
    the write, on a module it imports: `setattr(q, k, v)`, `vars(q)[k] = v`,
    `q.__dict__[k] = v`, `vars(q).update(data)` (not a display nor keywords: those are read
    by the names they spell), and the same through a name kept for `vars(q)`. The key may
    come from data the file reads (the environment, a file): any name of the module may be
    written, not only those the file spells (h32j). A namespace reached otherwise
    (`f.__globals__`, a parameter) is read by the names the file spells only."""
    targets = _written_by_key(code)
    if not targets:
        return set()
    aliases = dict((alias, original) for original, alias in _import_aliases(code))
    imported = {w for m in _IMPORTED_NAMES.findall(code) for w in _HELD_WORD.findall(m)}
    found: set[str] = set()
    for target in targets:
        parts = [p.strip() for p in target.split(".")]
        if parts[0] in aliases:
            found.add(parts[-1] if len(parts) > 1 else aliases[parts[0]].rsplit(".", 1)[-1])
        elif parts[0] in imported:
            found.add(parts[-1])
    return found


# `setattr(q, k, …)` / `vars(q)[k] = …` / `q.__dict__[k] = …`, `vars(q).update(data)` (a
# key or an argument that is not written there: not a string, a display nor a keyword)
_KEY_WRITTEN = r"\[\s*(?![\"'\s])(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]\s*=(?!=)"  # `[k[3:]] = …`
_DATA_ARGUMENT = r"\(\s*(?![)\s]|\{\s*[\"'}]|\w+\s*=(?!=))"  # no display of keys, no keyword
_WRITTEN_BY_KEY = lazy_pattern(
    r"(?:setattr(?<!\wsetattr)\s*\(\s*([\w.]+)\s*,\s*(?![\"'\s])"
    r"|vars(?<!\wvars)\s*\(\s*([\w.]+)\s*\)\s*(?:"
    + _KEY_WRITTEN
    + r"|\.\s*(?:update|__ior__)\s*"
    + _DATA_ARGUMENT
    + r"|\|=\s*(?!\{\s*[\"'}])))"
    r"|(?<![\w.])([\w.]+?)\s*\.\s*__dict__\s*(?:"
    + _KEY_WRITTEN
    + r"|\.\s*(?:update|__ior__)\s*"
    + _DATA_ARGUMENT
    + r"|\|=\s*(?!\{\s*[\"'}]))"
)
_KEPT_NAMESPACE_OF = lazy_pattern(
    r"(?<!\w)(\w+)[ \t]*(?::[^=\n]*)?=(?!=)[ \t]*(?:vars[ \t]*\([ \t]*([\w.]+)[ \t]*\)"
    r"|([\w.]+?)[ \t]*\.[ \t]*__dict__)[ \t]*$",
    re.M,
)
_KEPT_WRITTEN_BY_KEY = lazy_pattern(
    r"(?<![\w.])(\w+)\s*(?:"
    + _KEY_WRITTEN
    + r"|\.\s*(?:update|__ior__|__setitem__|setdefault)\s*"
    + r"\(\s*(?![)\s\"']|\{\s*[\"'}]|\w+\s*=(?!=))"
    + r"|\|=\s*(?!\{\s*[\"'}]))"
)
_NAMESPACE_KEPT = lazy_pattern(
    r"(?<!\w)(\w+)[ \t]*(?::[^=\n]*)?=(?!=)[ \t]*(?:vars[ \t]*\([^()\n]+\)|[\w.]+\.[ \t]*"
    r"__(?:dict|globals)__)[ \t]*$",
    re.M,
)
_EXEC_NAMESPACE = lazy_pattern(
    r"exec(?<!\wexec)\s*\((?:[^()]|\([^()]*\))*,\s*(?:vars\s*\(\s*[\w.]+|[\w.]+\.\s*__(?:dict|globals)__)"
)
_KEYWORD_ARGUMENT = lazy_pattern(r"[(,]\s*([^\W\d]\w*)\s*=(?!=)")
_NAMESPACE_KEY_COMPUTED = lazy_pattern(
    r"(?:vars\s*\([^()\n]*\)|__(?:dict|globals)__)\s*\[\s*(?![\"'\s])[^\]\n]*\]\s*=(?!=)"
)
_ASSIGNED_IN_TEXT = lazy_pattern(r"(?<![\w.])([^\W\d]\w*)\s*=(?!=)")
_SETATTR_COMPUTED = lazy_pattern(r"setattr(?<!\wsetattr)\s*\(\s*(\w+)\s*,\s*(?![\"'\s])")
_IMPORTED_NAMES = lazy_pattern(r"import(?<!\wimport)[ \t]+([\w \t,.]+)")


def _start(match: re.Match[str]) -> int:
    return match.start()


def _opening_bracket(code: str, closing: int) -> int | None:
    """Where the bracket closed at `closing` opens (looked for over 20,000 characters)."""
    depth = 0
    for position in range(closing, max(-1, closing - 20_000), -1):
        char = code[position]
        if char in ")]}":
            depth += 1
        elif char in "([{":
            depth -= 1
            if depth == 0:
                return position
    return None


@dataclass(frozen=True, slots=True)
class Consulted:
    """What checks read besides their own file: the check cache's dependencies.

    `modules`: files whose content was used (memoized facts of a module count for every later
    check of the process: a process's union is what its checks depended on); `lookups`:
    imports resolved on disk (directory, name, level, the file found or None); `names`:
    function names looked up among the project's files (which files define them matters).
    """

    modules: frozenset[str] = frozenset()
    lookups: frozenset[tuple[str, str, int, str | None]] = frozenset()
    names: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.modules or self.lookups or self.names)


@functools.lru_cache(maxsize=1024)
def _module_stem(path: str) -> str:
    """The name `import` gives the module at `path` (its package's, for an `__init__.py`):
    asked once per module-level assignment, worked out once per file (session 34)."""
    found = Path(path)
    return found.parent.name if found.stem == "__init__" else found.stem


class ProjectIndex:
    """What the project defines, shared by every file of one run.

    What a file's findings depend on is the content of the project's files, never which files
    the run checks nor in which order (pre-commit passes the staged files, CI the tree):

    * `files` are the project's Python files (the configuration root's tree, walked as a check
      of it walks it), not the files named on the command line; the names of the functions they
      define are indexed in one pass over their text, on first need (a call of a method on an
      object of unknown class);
    * a module read for its names runs its body only; its function bodies run when a caller
      needs them (is this function a wrapper?), after every module body they read has run;
    * whether a function is a wrapper is worked out for each set of mutually recursive
      functions together, in the order of their definitions, not of the first question.

    Modules are read once per process and kept in a bounded cache: a module imported by many
    files is read once, not once per importer. A parallel check's forked workers inherit what
    the parent built before the fork, and build the rest once each.
    """

    def __init__(
        self,
        files: Sequence[str] | Callable[[], Sequence[str]] = (),
        sql_functions: Sequence[str] = (),
        root: str | None = None,
    ) -> None:
        self._files = files  # a callable: listed on first need
        self.sql_functions = frozenset(sql_functions)
        self._sql_tails = frozenset(n.rsplit(".", 1)[-1] for n in sql_functions)
        self.root = root  # other modules are named relative to it in messages
        self._defined: dict[str, list[str]] | None = None
        self._renamed: dict[str, set[str]] = {}  # a name -> the names aliases give it
        self._modules: OrderedDict[str, ModuleInfo | None] = OrderedDict()
        self._loading: set[str] = set()
        self._unfollowable: set[str] = set()  # modules whose body could not be followed
        self._found: dict[tuple[str, str, int], str | None] = {}
        self._made: dict[str, bool] = {}  # class name -> a file of the project may make one
        self._real: frozenset[str] | None = None  # the files, their real paths
        self._words: Counter[str] | None = None  # see _word_counts
        # attributes assigned from outside (see `changed_outside`), read name by name
        self._changes: set[str] | None = None  # the project's `_outside_changes`
        # `overrides:X:C` of `_outside_changes`: X -> (file, class C) (see `overridden_elsewhere`)
        self._overriders: dict[str, list[tuple[str, str]]] | None = None
        self._own_words: dict[str, Counter[str]] = {}  # each module's, by path
        # wrappers being worked out (Tarjan's strongly connected components over calls)
        self._number: dict[int, int] = {}  # function id -> order of visit, while unsettled
        self._low: dict[int, int] = {}
        self._unsettled: list[FunctionInfo] = []
        self._provisional: dict[int, dict[str, Reach]] = {}
        self._frames: list[int] = []  # the functions whose wrapper is being computed
        self._asked_again: set[int] = set()  # unsettled functions whose answer was asked again
        self.cache_size = 512
        # read since the last `take_consulted` (what a module's memoized facts came from included)
        self._consulted_modules: set[str] = set()
        self._consulted_lookups: set[tuple[str, str, int, str | None]] = set()
        self._consulted_names: set[str] = set()

    @property
    def files(self) -> list[str]:
        if callable(self._files):
            self._files = list(self._files())
        return list(self._files)

    def in_project(self, path: str) -> bool:
        """Whether a file is one of the project's files (checked when the tree is)."""
        if self._real is None:
            self._real = frozenset(os.path.realpath(f) for f in self.files)
        return os.path.realpath(path) in self._real

    def display(self, path: str) -> str:
        """How messages name a module: relative to the project root (to the working directory
        without one), else in full."""
        base = self.root if self.root is not None else os.getcwd()
        prefix = base.rstrip(os.sep) + os.sep
        return path[len(prefix) :] if path.startswith(prefix) else path

    def _texts(self) -> Iterator[tuple[str, str]]:
        """Each of the project's files that can be read, with its text."""
        for path in self.files:
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    yield path, handle.read()
            except OSError:
                continue

    def prepare(self) -> None:
        if self._defined is None:
            self._defined = {}
            for path, text in self._texts():
                names = set(_at_line_starts(_DEF, _DEF_LEAD, text))
                aliases: dict[str, list[str]] = {}  # `from .base import Repo as B`
                pairs = [
                    *_import_aliases(text),
                    *((o.rsplit(".", 1)[-1], a) for a, o in _NAME_ALIAS.findall(text)),
                ]  # `from .base import Repo as B`, `Base = base.Repo`
                for original, alias in pairs:
                    aliases.setdefault(alias, []).append(original)
                    # the names the project gives a class anywhere (`Repository = Repo` where
                    # it is defined, a package's re-export): its subclasses' files name those
                    self._renamed.setdefault(original, set()).add(alias)
                    names.add("alias:" + original)
                for bases in [
                    *_at_line_starts(_CLASS_BASES, _CLASS_LEAD, text),
                    *_TYPE_BASES.findall(text),  # `type("Inv", (Repo,), {…})`
                ]:
                    todo = _WORD.findall(bases)
                    while todo:  # through aliases of aliases (`Base2 = Base = Repo`)
                        word = todo.pop()
                        if "class:" + word in names:
                            continue
                        names.add("class:" + word)
                        todo.extend(aliases.get(word, ()))
                for name in names:
                    self._defined.setdefault(name, []).append(path)

    def entry_point(self, info: FunctionInfo) -> bool:
        """Whether a framework, not the project, calls this function: a route or command
        handler (decorated by a call of such a name: `@router.post("/run")`, `@bot.command()`),
        or a function no file of the project calls by its name (`name(…)`, `obj.name(…)`) —
        one only passed on as a value (a route table, a dispatch dict) or never used. Its
        parameters come from outside (a request, a chat message): SQL taken from one is built
        at run time, not a wrapper's for callers to complete."""
        for decorator in info.node.decorator_list:
            called = decorator.func if isinstance(decorator, ast.Call) else None
            if called is not None and _dotted(called).rsplit(".", 1)[-1] in _FRAMEWORK_HOOKS:
                return True
        if self.rewrapped(info):
            return True
        if info.name.startswith("__"):
            return False  # dunders are called by Python
        # (a closure too: `def q(sql): return conn.fetch(sql)` handed on, `app.add_route("/run",
        # q)`, sends what whoever calls it gives — round 29, outside review h29c: it passed in
        # silence, its parameter read as a wrapper's no call of the project fills)
        path = info.module.path
        if path is None or not self.in_project(path):
            return False  # a text checked on its own (stdin): its callers may be anywhere
        # (the check cache: a file that starts or stops calling it, or handing it on, changes
        # the answer — h35D: a wrapper put in another file's route table kept its cached
        # "no finding")
        self._consulted_names.add("word:" + info.name)
        words = self._word_counts()
        defined = words.get("def " + info.name, 0)
        stem = os.path.splitext(os.path.basename(path))[0]
        # the calls that may be of it: a method's by any `obj.name(`; a function's by its name
        # alone or by its module's (`jobs.run_sql(` is some object's method)
        calls = (
            words.get(info.name, 0)
            if info.cls is not None
            else words.get("bare " + info.name, 0) + words.get(f"call {stem}.{info.name}", 0)
        )
        if defined > 0 and calls <= defined:
            return True  # no call but the definitions
        # passed on as a value — in its own module (`add_api_route("/run", run_sql)`, a
        # dispatch table), or by its module's name (`path("run", views.run_sql)`): whoever
        # calls it then is not the project (other modules' names of that word are others')
        own = self._own_words.get(path)  # read by _word_counts, unless the file changed since
        if own is None:
            own = self._own_words[path] = _code_words("".join(info.module.origin.lines))
        # (a method by `self.name` / `cls.name` in its own module, a function bare there)
        mine = ("self", "cls") if info.cls is not None else ("",)
        return (
            any(own.get(f"value {q}{'.' if q else ''}{info.name}", 0) > 0 for q in mine)
            or words.get(f"value {stem}.{info.name}", 0) > 0
            or (info.cls is None and words.get("imported value " + info.name, 0) > 0)
            or words.get("getattr " + info.name, 0) > 0
            # `map(run_all, [conn], lists)`: called with items no call of the project shows
            or words.get("mapped " + info.name, 0) > 0
        )

    def rewrapped(self, info: FunctionInfo) -> bool:
        """Whether a decorator of the function may call it with other arguments than its
        callers give (`@loosen` whose inner function passes `q.replace(…)` on): what the
        project's callers pass is not what reaches the query (round 25b, outside attack)."""
        return any(
            not self._passes_arguments(d, info)
            and not (  # a route's or a command's: a framework's handler (see entry_point)
                isinstance(d, ast.Call) and _dotted(d.func).rsplit(".", 1)[-1] in _FRAMEWORK_HOOKS
            )
            for d in info.node.decorator_list
        )

    def _passes_arguments(self, decorator: ast.expr, info: FunctionInfo) -> bool:
        """Whether a decorator calls the function with the arguments its callers give: a known
        one (`staticmethod`, `functools.wraps`, `lru_cache`, `contextmanager`, a retry); one
        from outside the project (a tracer's span, a library's timer: only the project's own
        decorators are read — a library rewriting its callers' SQL is not the mistake this
        guards against, and taking every such wrapper for SQL from outside would hide its
        callers' SQL behind TG009); or a project function whose inner function calls it with
        its own `*args, **kwargs`, never reassigned. A project's decorator factory
        (`@deco(…)`), class or object is not read: it may change them."""
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if _dotted(target).rsplit(".", 1)[-1] in _ARGUMENTS_KEPT:
            return True
        root = target
        while isinstance(root, ast.Attribute | ast.Call):
            root = root.value if isinstance(root, ast.Attribute) else root.func
        if not isinstance(root, ast.Name):
            return False  # `@registry[k]`, `@(lambda f: …)`: not read
        binding = info.module.env.get(root.id)
        if isinstance(binding, ImportedRef):
            binding = self.imported(binding)
        elif isinstance(binding, ModuleRef) and self.resolve(binding) is None:
            binding = None  # `import tracing` of an installed package
        if not isinstance(binding, FuncRef | ClassRef | InstanceRef | ModuleRef):
            return (
                True  # not the project's: imported from outside it, a built-in, a library's object
            )
        if isinstance(decorator, ast.Call) or root is not target:
            return False  # a project's factory, or a name read on a project's module or object
        return isinstance(binding, FuncRef) and _forwards_arguments(binding.info.node)

    def _word_counts(self) -> Counter[str]:
        """`_code_words` of the whole project, read once."""
        if self._words is None:
            counts: Counter[str] = Counter()
            for path, text in self._texts():
                # each file's, kept
                own = self._own_words[path] = _code_words(text, _blanked(text))
                counts.update(own)
            self._words = counts
        return self._words

    def take_consulted(self) -> Consulted:
        """What was read since the last call, besides the files checked (see `Consulted`)."""
        found = Consulted(
            frozenset(self._consulted_modules),
            frozenset(self._consulted_lookups),
            frozenset(self._consulted_names),
        )
        self._consulted_modules.clear()
        self._consulted_lookups.clear()
        self._consulted_names.clear()
        return found

    # configuration

    def is_sql_function(self, name: str, func: ast.expr) -> bool:
        if name not in self._sql_tails:
            return False
        if name in self.sql_functions:
            return True
        dotted = _dotted(func)
        return any(dotted.endswith("." + n) or dotted == n for n in self.sql_functions)

    def configured_function(self, info: FunctionInfo | None) -> bool:
        """Whether a project function is named in `sql_functions` (its callers' SQL is checked)."""
        return info is not None and info.name in self._sql_tails

    def may_define(self, name: str) -> bool:
        if name.startswith("__"):
            return False
        self.prepare()
        assert self._defined is not None
        self._consulted_names.add(name)
        return name in self._defined  # the project's files only: not what this process read

    def changed_outside(self, name: str, *, stored: bool = True, dunder: bool = False) -> bool:
        """Whether a file of the project may assign the attribute `name` of some object other
        than `self` / `cls` (`queries.X = …`, `Repo.X = …`, `setattr(obj, "X", …)`), or, with
        `stored` False, change a collection of that name in place (`X.append(…)`, `q.X[k] =
        …`): see `_outside_changes`, read over the project's files on first need. A name with
        a leading `__` is asked for with `dunder` only (`Q.__str__ = …`, a decorator's
        `cls.__format__ = …`)."""
        key = ("stored:" if stored else "mutated:") + name
        if name.startswith("__") and not dunder:
            return False
        return self._changed_somewhere(key)

    def hooked_attribute(self, name: str, info: ClassInfo) -> bool:
        """Whether a classmethod or `__init_subclass__` of a class C of the project sets
        `cls.<name>` (`class-set:` of `_outside_changes`) where `cls` may be a class whose
        attribute `info`'s reads see: C and `info` share a class (by name: `info` or one of
        its subclasses is C or one of C's). Any class statement whose bases are not read
        (`class A(*BASES)`, a call), or a class made by `type(…)` / `new_class(…)` in a file
        that names C, counts as sharing."""
        if not self._changed_somewhere("class-set:" + name):
            return False
        assert self._changes is not None
        prefix = f"class-set:{name}:"
        setters = sorted(k[len(prefix) :] for k in self._changes if k.startswith(prefix))
        mine = self._class_family(info.name)
        return mine is None or any(
            (theirs := self._class_family(c)) is None or mine & theirs for c in setters
        )

    def _class_family(self, name: str) -> set[str] | None:
        """The class named `name` and the names of the project's classes that derive from it
        (read from the class statements of the files that name it among their bases, through
        the aliases the project gives it); None when one of those files makes a class it
        cannot read so (bases unpacked or called, `type(…)`)."""
        if not self.files:
            return None  # (the project's other files unknown)
        self.prepare()
        assert self._defined is not None
        family = {name}
        todo = [name]
        while todo:
            current = todo.pop()
            known = [current]
            for alias in known:
                self._consulted_names.add("alias:" + alias)
                known.extend(a for a in sorted(self._renamed.get(alias, ())) if a not in known)
            for alias in known:
                self._consulted_names.add("class:" + alias)
                for path in self._defined.get("class:" + alias, ()):
                    try:
                        with open(path, encoding="utf-8", errors="replace") as handle:
                            text = _blanked(handle.read())
                    except OSError:
                        return None
                    if _UNREAD_CLASS.search(text) is not None:
                        return None
                    for match in _CLASS_STATEMENT.finditer(text):
                        if alias in _WORD.findall(match.group(3)) and match.group(2) not in family:
                            family.add(match.group(2))
                            todo.append(match.group(2))
        return family

    def overridden_elsewhere(self, name: str, owner: str, origin: Origin) -> bool:
        """Whether a class whose bases are not read (`class Admin(*BASES)`, see
        `_unread_subclass_attributes`) defines `name`, other than the class `owner` of the
        file `origin` itself (its own body's value is the one its methods read)."""
        if name.startswith("__") or not self._changed_somewhere("overrides:" + name):
            return False
        if self._overriders is None:
            self._overriders = {}
            for path, text in self._texts():
                for key in _outside_changes(text):
                    attribute, _, cls = key[10:].partition(":")
                    if key.startswith("overrides:") and cls:
                        where = (os.path.realpath(path), cls)
                        self._overriders.setdefault(attribute, []).append(where)
        own = os.path.realpath(str(origin.path)) if origin.path is not None else None
        return any(where != (own, owner) for where in self._overriders.get(name, ()))

    def class_written_by_key(self, name: str) -> bool:
        """Whether a file writes the attributes of a class of that name it imports by a key not
        spelt at the write (`for k, v in os.environ.items(): setattr(Repo, k, v)`, h32j)."""
        return self._changed_somewhere("overrides-all:" + name)

    def module_replaced(self, info: ModuleInfo) -> bool:
        """Whether a file of the project may put another object in the module's place
        (`sys.modules["queries"] = …`, `queries.__class__ = M`): what `import queries` gives
        then is not its body's names (round 26b, outside attack)."""
        if info.path is None:
            return False
        stem = _module_stem(info.path)
        return self._changed_somewhere("replaced:*") or self._changed_somewhere("replaced:" + stem)

    def _changed_somewhere(self, key: str) -> bool:
        self._consulted_names.add(key)
        if self._changes is None:
            self._changes = set()
            for _path, text in self._texts():
                self._changes |= _outside_changes(text)
            self._changes |= handed_changes(self._changes).keys()
        return key in self._changes

    # modules

    def register(self, info: ModuleInfo) -> None:
        if info.path is not None:
            self._store(info.path, info)

    def _store(self, path: str, info: ModuleInfo | None) -> None:
        self._modules[path] = info
        self._modules.move_to_end(path)
        while len(self._modules) > self.cache_size:
            self._modules.popitem(last=False)

    def consult_directory(self, path: str) -> None:
        """A directory whose files a module's value lists: a cached answer that read it goes
        when a file is added or removed there (the cache hashes its listing)."""
        self._consulted_modules.add(path)

    def read_file(self, path: str) -> str | None:
        """The text of a file a module's value is (`Path(…).read_text()`), None when it is not
        there, too large or not UTF-8 text; recorded as read, so that a cached answer that
        read it goes when it changes."""
        self._consulted_modules.add(path)
        try:
            if os.path.getsize(path) > _MAX_READ_FILE:
                return None
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError):
            return None

    def module(self, path: str) -> ModuleInfo | None:
        """The module of a file, its body run (None: it cannot be read). Read while its body
        runs (an import cycle), it holds the names bound so far."""
        self._consulted_modules.add(path)
        if path in self._unfollowable:  # every reader fails closed, not only the first
            raise RecursionError(f"the values of {self.display(path)} cannot be followed")
        if path in self._modules:
            self._modules.move_to_end(path)
            return self._modules[path]
        if path in self._loading:
            return None
        self._loading.add(path)
        try:
            info = _load(path, self)
        finally:
            self._loading.discard(path)
        self._store(path, info)
        return info

    def unfollowable(self, path: str) -> None:
        """A module whose body could not be followed: no half-read module stays to be read."""
        self._unfollowable.add(path)
        self._modules.pop(path, None)

    def finished(self, info: ModuleInfo) -> ModuleInfo:
        """The module with its function bodies run (their sinks and calls recorded). Bodies
        that cannot be followed fail every question about them, not only the first (the check
        that asks fails closed)."""
        if info.unfollowable:
            raise RecursionError(f"the functions of {info.origin.display} cannot be followed")
        walker = info.functions_pending
        if walker is not None:
            info.functions_pending = None
            try:
                walker.run_functions()
            except RecursionError:
                info.unfollowable = True
                raise
        return info

    def resolve(self, ref: ModuleRef) -> str | None:
        """The file of an imported module, found next to the importer (relative imports) or
        in the importer's ancestor directories (absolute ones)."""
        importer = ref.importer
        if importer is None:
            return None
        directory = os.path.dirname(importer)
        key = (directory, ref.name, ref.level)
        if key in self._found:
            found = self._found[key]
        else:
            found = self._found[key] = find_module(directory, ref.name, ref.level)
        self._consulted_lookups.add((directory, ref.name, ref.level, found))
        return found

    def attribute_of(self, ref: ModuleRef | ImportedRef, name: str) -> Binding | None:
        """`q.X` for a module reference: X's binding in q, or the submodule q.X."""
        module = self._module_of(ref)
        if isinstance(module, ModuleRef):
            path = self.resolve(module)
            info = self.module(path) if path else None
            if info is not None and name in info.env:
                return info.env[name]
            sub = ModuleRef(  # a submodule of a package (`__init__.py` or not)
                f"{module.name}.{name}" if module.name else name, module.level, module.importer
            )
            return sub if self.resolve(sub) is not None else None
        return None

    def _module_of(self, ref: ModuleRef | ImportedRef) -> Binding | None:
        if isinstance(ref, ModuleRef):
            return ref
        return self.imported(ref)

    def imported(self, ref: ImportedRef) -> Binding | None:
        """The binding `from q import X` gives X: X in q, or q's submodule X (followed through
        re-exports; an import cycle gives None)."""
        seen: set[ImportedRef] = set()
        while ref not in seen:
            seen.add(ref)
            path = self.resolve(ref.module)
            info = self.module(path) if path else None
            binding = info.env.get(ref.name) if info is not None else None
            if binding is not None and not (
                # `from . import tq` in a package's `__init__.py` binds its submodule tq there
                isinstance(binding, ImportedRef)
                and binding.name == ref.name
                and self.resolve(binding.module) == path
            ):
                if isinstance(binding, ImportedRef):
                    ref = binding
                    continue
                return binding
            module = ref.module  # a submodule of a package (`__init__.py` or not)
            sub = ModuleRef(
                f"{module.name}.{ref.name}" if module.name else ref.name,
                module.level,
                module.importer,
            )
            return sub if self.resolve(sub) is not None else None
        return None

    def as_value(self, binding: Binding, node: ast.AST, origin: Origin, label: str) -> Value:
        """A binding read as a string."""
        if isinstance(binding, tuple):
            return binding
        if isinstance(binding, ImportedRef):
            resolved = self.imported(binding)
            if resolved is None:
                where = "." * binding.module.level + binding.module.name
                reason = (
                    f"`{label}` is imported from {where}, outside the project"
                    if self.resolve(binding.module) is None
                    else f"`{label}` is imported from {where}, which cannot be read or does not "
                    "define it (by then: an import cycle)"
                )
                return hole(node, origin, reason)
            return self.as_value(resolved, node, origin, label)
        return hole(node, origin, f"`{label}` is not a string")

    # classes

    def bases(self, info: ClassInfo) -> tuple[list[ClassInfo], bool]:
        """The class's project bases in method resolution order (C3, as Python orders them:
        `class C(B, B2)` with `B(A)` and `B2(A)` reads B2 before A), and whether every base
        could be followed."""
        if info._order is not None:
            return info._order
        info._order = ([info], False)  # while it is worked out (a cycle of names)
        direct, complete = self._direct_bases(info)
        lines: list[list[ClassInfo]] = []
        for base in direct:
            line, whole = self.bases(base)
            lines.append(list(line))
            complete = complete and whole
        merged = _c3_merge([*lines, list(direct)])
        if merged is None:  # Python refuses to make the class (or the names are ambiguous)
            merged, complete = self._depth_first(info), False
        order = [info, *merged]
        info._order = (order, complete)
        return order, complete

    def _direct_bases(self, current: ClassInfo) -> tuple[list[ClassInfo], bool]:
        """The project classes a class statement names as its bases, in order, and whether
        every base could be followed."""
        complete = True
        found: list[ClassInfo] = []
        for base in current.base_exprs:
            # `Repo["User"]`, `Generic[T]`: the class subscripted (helper 111: a generic
            # base read as a class outside the project)
            while isinstance(base, ast.Subscript):
                base = base.value
            ref = self._class_ref(base, current)
            if ref is None:
                chosen = self._renamed_classes(base, current)
                if chosen:  # a name bound to one class or another (round 25)
                    found.extend(c for c in chosen if c not in found)
                    complete = False
                    continue
                if expression_name(base) not in _NO_ATTRIBUTES_BASES:
                    complete = False
                continue
            if ref.info not in found:
                found.append(ref.info)
        return found, complete

    def _depth_first(self, info: ClassInfo) -> list[ClassInfo]:
        """The bases depth first, each once (when C3 cannot order them)."""
        order: list[ClassInfo] = []
        stack: list[ClassInfo] = list(self._direct_bases(info)[0])
        seen: set[int] = {id(info)}
        while stack:
            current = stack.pop(0)
            if id(current) in seen:
                continue
            seen.add(id(current))
            order.append(current)
            stack = self._direct_bases(current)[0] + stack
        return order

    def _class_ref(self, node: ast.expr, owner: ClassInfo) -> ClassRef | None:
        binding = self._base_binding(node, owner, 0)
        if isinstance(binding, ImportedRef):
            binding = self.imported(binding)
        return binding if isinstance(binding, ClassRef) else None

    def _renamed_classes(self, node: ast.expr, owner: ClassInfo) -> list[ClassInfo]:
        """The project classes a base's module-level name is bound to on any path, when it is
        no one class (`try: Base = Repo except ImportError: Base = object`)."""
        if not isinstance(node, ast.Name):
            return []
        out: list[ClassInfo] = []
        for binding in owner.module.renames.get(node.id, ()):
            found = self.imported(binding) if isinstance(binding, ImportedRef) else binding
            if isinstance(found, ClassRef) and found.info not in out:
                out.append(found.info)
        return out

    def _base_binding(self, node: ast.expr, owner: ClassInfo, depth: int) -> Binding | None:
        """What a base expression names: a name, or a dotted path through modules
        (`base.Repo`, `app.base.Repo`: round 25, only one dot was followed)."""
        if isinstance(node, ast.Name):
            return owner.base_env.get(node.id) or owner.module.env.get(node.id)
        if isinstance(node, ast.Attribute) and depth < 16:
            base = self._base_binding(node.value, owner, depth + 1)
            if isinstance(base, ModuleRef | ImportedRef):
                return self.attribute_of(base, node.attr)
        return None

    def metaclass_makes(
        self, info: ClassInfo, name: str, *, of_instances: bool = False
    ) -> str | None:
        """The project metaclass (of the class or a base: `class Q(metaclass=Meta)`) that may
        give the class's attribute `name` another value than its body: one that makes the
        class (`__new__`, `__init__`, `__prepare__`: the namespace is its), or, read on the
        class itself (`Q.X`, not `self.X`), computes it (`__getattribute__`, a property or an
        attribute `name` of the metaclass comes before the class's own)."""
        order, _ = self.bases(info)
        makers = {"__new__", "__init__", "__prepare__", "__init_subclass__"}
        if not of_instances:
            makers |= {"__getattribute__", name}
        for cls in order:
            for keyword in cls.node.keywords:
                if keyword.arg != "metaclass":
                    continue
                ref = self._class_ref(keyword.value, cls)
                if ref is None:
                    continue
                for meta in self.bases(ref.info)[0]:
                    if any(m in meta.methods or m in meta.attributes for m in makers):
                        return meta.name
        return None

    def formats_members(self, info: ClassInfo) -> bool:
        """Whether a class is an enum that writes its members as text itself: a project class
        of its bases (itself included) is an `Enum` and one defines a method that makes a
        member's text or is an operator on it (`__str__`, `__format__`, `__repr__`, `__add__`,
        `__mod__`…), as a method or as an attribute (`__str__ = lambda self: …`), or a file
        of the project sets one on some class (`Q.__str__ = …`, a decorator's `cls.__format__ =
        …`, `setattr(Q, "__str__", …)`)."""
        order, _ = self.bases(info)
        if not any(_is_enum(cls) for cls in order):
            return False
        return any(
            name in cls.methods or name in cls.attributes for cls in order for name in _TEXT_DUNDERS
        ) or any(self.changed_outside(name, dunder=True) for name in _TEXT_DUNDERS)

    def class_attribute(self, info: ClassInfo, name: str) -> Binding | None:
        order, _ = self.bases(info)
        for cls in order:
            if name in cls.attributes:
                return cls.attributes[name]
        return None

    def instance_attribute(
        self,
        info: ClassInfo,
        name: str,
        node: ast.AST,
        *,
        exact: bool = False,
        bare: bool = False,
        fields_given: tuple[tuple[str, Value], ...] = (),
    ) -> Binding | None:
        """`self.X`: the class attribute (through the project bases), what methods assign to
        `self.X`, and (unless the object is `exact`ly of that class) what the project's
        subclasses set X to — any of them. Of an object made with no arguments (`bare`), a
        dataclass field's default; of one made with arguments mapped to its fields
        (`fields_given`: `Query("SELECT …", name="x")`), the argument's value."""
        order, complete = self.bases(info)
        subclasses = [] if exact else self._subclasses(info)
        origin = info.module.origin
        values: list[Binding] = []
        passed_here = dict(fields_given).get(name) if exact else None
        if passed_here is not None and (
            self.changed_outside(name)
            or self.class_written_by_key(info.name)
            # `Query.__init__ = …` anywhere: the constructor is not the one its fields make
            or any(self.changed_outside(m, dunder=True) for m in _RECORD_MAKERS)
        ):
            passed_here = None  # `q.sql = …` somewhere (a dataclass that is not frozen)
            values.append(hole(node, origin, f"`{info.name}.{name}` is assigned elsewhere"))
        elif passed_here is not None:
            values.append(passed_here)  # `Query("SELECT …").sql`: what the call gave it
        for cls in order if passed_here is None else ():
            if name in cls.attributes:
                held = cls.defaults.get(name) if bare and exact else None
                if held is not None and self.changed_outside("__defaults__", dunder=True):
                    held = None  # `Queries.__init__.__defaults__ = (…)` somewhere
                values.append(cls.attributes[name] if held is None else held)
                break
        passed = self._passed_to_base(order, name)
        given = None if passed is not None else self._given_by_subclasses(info, subclasses, name)
        keyed = self._given_by_class_keywords(order, subclasses, name)
        # the classes whose methods may set `self.X` on such an object: its bases, its
        # subclasses, and theirs (a mixin beside it: `class C(A, Mixin)` with `self.X = …` in
        # Mixin's methods, round 25, outside attack)
        involved = list(order)
        for sub in subclasses:
            involved.append(sub)
            involved.extend(self.bases(sub)[0])
        involved = list({id(c): c for c in involved}.values())
        if self.changed_outside("__class__", dunder=True):
            # `obj.__class__ = Other` somewhere: an object's attributes are another class's
            return hole(node, origin, "a file of the project sets an object's `__class__`")
        for cls in involved:
            if "__getattribute__" in cls.methods:
                return hole(node, origin, f"`{cls.name}` computes its attributes when read")
            made = self.metaclass_makes(cls, name, of_instances=True)
            if made is not None:
                return hole(node, origin, f"`{cls.name}.{name}` is what `{made}` makes of it")
        for cls in involved:
            found_here = self._assigned(cls)
            assigned = found_here.get(name)
            if _ANY_NAME in found_here:  # `setattr(self, key, …)`: any attribute
                dynamic = found_here[_ANY_NAME]
                assigned = dynamic if assigned is None else union((assigned, dynamic), node, origin)
            if passed is not None and cls is passed[0]:
                assigned = passed[1]
            if given is not None and _same_class(cls, given[0]):
                values.extend(given[1])  # each subclass's, in place of the parameter
                continue
            if keyed is not None and _same_class(cls, keyed[0]):
                values.extend(keyed[1])  # each class statement's keyword, or the default
                continue
            if assigned is not None:
                values.append(assigned)
        for sub in subclasses:
            # its own, or a mixin's before the base in its order (helper 115: `class
            # Inv(Mixin, Base)` with the table on Mixin)
            found = self.class_attribute(sub, name)
            if found is not None and all(found is not v for v in values):
                values.append(found)
        if not values:
            if not complete:
                written = _short(node) if isinstance(node, ast.expr) else f"self.{name}"
                return hole(
                    node, origin, f"`{written}` may come from a base class outside the project"
                )
            return None
        if len(values) > 1 and not all(_none_value(v) for v in values):
            # `table = None` on a base whose subclasses set it: None is no value a query runs
            # on (formatted into SQL it is `None`, which fails at run time); the others are
            values = [v for v in values if not _none_value(v)]
        if len(values) == 1:
            return values[0]
        if all(isinstance(v, tuple) for v in values):
            return union(values, node, origin)  # type: ignore[arg-type]
        return (
            values[0]
            if all(v is values[0] for v in values)
            else hole(node, origin, f"`self.{name}` holds different kinds of values")
        )

    def _passed_to_base(self, order: list[ClassInfo], name: str) -> tuple[ClassInfo, Value] | None:
        """`self.X = x` in a project base's `__init__` (x its parameter, not rebound there) and
        the class's own `__init__` calling that one (`super().__init__(table="notes")`,
        `Base.__init__(self, "notes")`): X holds what those calls pass (each call one
        alternative), as the subclass's instances get it. None when that is not the shape."""
        inits = [cls for cls in order if "__init__" in cls.methods]
        if len(inits) < 2:
            return None
        own, base = inits[0].methods["__init__"], inits[1].methods["__init__"]
        parameter = _init_parameter(base, name)
        if parameter is None or not own.node.args.args:
            return None
        if any(
            _init_parameter(m, name, stores=True)
            for m in inits[1].methods.values()
            if m is not base
        ):
            return None  # another method of the base sets it too
        this, base_name = own.node.args.args[0].arg, inits[1].name
        arguments: list[ast.expr] = []
        for call in _own_calls(own.node):
            func = call.func
            if not (isinstance(func, ast.Attribute) and func.attr == "__init__"):
                continue
            if isinstance(func.value, ast.Call) and _is_name(func.value.func, "super"):
                positional = list(call.args)
            elif _is_name(func.value, base_name) and call.args and _is_name(call.args[0], this):
                positional = list(call.args[1:])
            else:
                return None  # another class's __init__: not the shape read here
            if any(isinstance(a, ast.Starred) for a in positional):
                return None  # *args: which argument is X is only known at run time
            chosen = next((k.value for k in call.keywords if k.arg == parameter), None)
            index = base.positional.index(parameter) if parameter in base.positional else -1
            if chosen is None and 0 <= index < len(positional):
                chosen = positional[index]
            if chosen is None:
                return None  # the default: left to the base's own reading
            arguments.append(chosen)
        if not arguments:
            return None
        walker = _Walker(own.module, self)
        walker.env = {}
        walker.outer = [(own.module.env, own.module.ever)]
        values = [walker.evaluate(argument) for argument in arguments]
        value = values[0] if len(values) == 1 else union(values, arguments[0], own.module.origin)
        return inits[1], value

    def _given_by_class_keywords(
        self, order: list[ClassInfo], subclasses: list[ClassInfo], name: str
    ) -> tuple[ClassInfo, list[Value]] | None:
        """`cls.X = x` in a project class H's `__init_subclass__(cls, x=…, **kwargs)` (x a
        parameter a keyword can pass, stored unchanged, not rebound there): each class made
        from H gets what its class statement passes, `class TagRepo(Base, x="tags")`, or x's
        default. The values of X on an object of a class in `order` (its bases) or of one of
        its `subclasses`: H, and each such class's keyword or default. None when that is not
        the shape: another `__init_subclass__` between H and a class, a class of H's not made
        by a class statement at a module's top (`type(…)` passes keywords of its own), an
        argument unpacked there (`**opts`), a class with a metaclass keyword."""
        related = [*order, *subclasses, *(b for c in subclasses for b in self.bases(c)[0])]
        hooks = list(
            {
                (c.module.path, c.node.lineno, c.name): c
                for c in related
                if "__init_subclass__" in c.methods
            }.values()
        )
        if len(hooks) != 1:
            return None
        storing = hooks[0]
        if self._changed_somewhere("class-set:*") or self._class_family(storing.name) is None:
            return None  # (a class made by `type(…, **keywords)` somewhere: its keywords unread)
        hook = storing.methods["__init_subclass__"]
        if hook.node.decorator_list not in ([],) and [
            ast.unparse(d) for d in hook.node.decorator_list
        ] != ["classmethod"]:
            return None
        parameter = _init_parameter(hook, name)
        arguments = hook.node.args
        if parameter is None or parameter not in [
            a.arg for a in (*arguments.args[1:], *arguments.kwonlyargs)
        ]:
            return None
        default: ast.expr | None = None
        if parameter in [a.arg for a in arguments.kwonlyargs]:
            index = [a.arg for a in arguments.kwonlyargs].index(parameter)
            default = arguments.kw_defaults[index]
        else:
            positional = [*arguments.posonlyargs, *arguments.args]
            index = [a.arg for a in positional].index(parameter)
            shift = len(positional) - len(arguments.defaults)
            default = arguments.defaults[index - shift] if index >= shift else None
        made = [
            c
            for c in {id(c): c for c in (*order, *subclasses)}.values()
            if not _same_class(c, storing)
            and any(_same_class(b, storing) for b in self.bases(c)[0])
        ]
        values: list[Value] = []
        for cls in made:
            between = self.bases(cls)[0]
            if any(
                "__init_subclass__" in b.methods and not _same_class(b, storing) for b in between
            ):
                return None
            tree = cls.module.tree
            if not cls.top or tree is None or cls.node not in tree.body:
                return None
            if any(k.arg is None or k.arg == "metaclass" for k in cls.node.keywords):
                return None
            chosen = next((k.value for k in cls.node.keywords if k.arg == parameter), None)
            module = cls.module if chosen is not None else storing.module
            if chosen is None:
                if default is None:
                    continue  # a TypeError when the class is made: no such class runs
                chosen = default
            walker = _Walker(module, self)
            walker.env = {}
            walker.outer = [(module.env, module.ever)]
            values.append(walker.evaluate(chosen))
        return storing, values

    def _given_by_subclasses(
        self, info: ClassInfo, subclasses: list[ClassInfo], name: str
    ) -> tuple[ClassInfo, list[Value]] | None:
        """`self.X = x` stored from a parameter of the `__init__` an object of `info` runs,
        where every class of such an object passes X to that `__init__` (`super().__init__(
        table="notes")`): the class whose `__init__` stores it, and what each one passes. None
        when one of them may be made with X given at run time: a subclass that passes nothing,
        or a base (`info`, an intermediate class) made somewhere in the project (see
        `_may_be_made`)."""
        if not subclasses:
            return None
        inits = [cls for cls in self.bases(info)[0] if "__init__" in cls.methods]
        if not inits or _init_parameter(inits[0].methods["__init__"], name) is None:
            return None
        storing = inits[0]
        values: list[Value] = []
        for concrete in [info, *subclasses]:
            passed = self._passed_to_base(self.bases(concrete)[0], name)
            if passed is not None and _same_class(passed[0], storing):
                values.append(passed[1])
            elif (
                # a class that passes nothing is made with X given at run time, unless it is
                # a base only: subclassed, and never made by the project (a leaf subclass may
                # be made by a framework that finds it, by a name the code does not write)
                (
                    concrete is not info
                    and not any(concrete in self.bases(s)[0][1:] for s in subclasses)
                )
                or self._may_be_made(concrete)
            ):
                return None
        return storing, values

    def _may_be_made(self, info: ClassInfo) -> bool:
        """Whether an object of exactly this class may be made: its name is used in a file of
        the project other than in a class statement, an import, an annotation, `Name.attr`,
        `super(Name, …)`, `isinstance`, a comment line; or a method of it or of its bases
        makes the class it is called on (`cls(…)`, `type(self)(…)`, `__new__`)."""
        for cls in self.bases(info)[0]:
            if any(_makes_its_class(m) for m in cls.methods.values()):
                return True
        name = info.name
        if name not in self._made:
            pattern = re.compile(rf"\b{re.escape(name)}\b")
            texts: list[str] = []
            own = info.module.path
            files = self.files
            if own is None or own not in files:
                texts.append("".join(info.module.origin.lines))
            for path in files:
                try:
                    with open(path, encoding="utf-8", errors="replace") as handle:
                        text = handle.read()
                except OSError:
                    continue
                if pattern.search(text):
                    texts.append(text)
            self._made[name] = any(_makes_by_name(t, name, pattern) for t in texts)
        self._consulted_names.add("word:" + name)
        return self._made[name]

    def _subclasses(self, info: ClassInfo) -> list[ClassInfo]:
        """The project's classes that derive from `info`, at any depth (helper 113: a table a
        grandchild class sets was a TG009 warning in the base's query)."""
        out: list[ClassInfo] = []
        todo = [info]
        seen = {id(info)}
        while todo and len(out) < 200:
            for cls in self._direct_subclasses(todo.pop()):
                if id(cls) not in seen:
                    seen.add(id(cls))
                    out.append(cls)
                    todo.append(cls)
        return out

    def _direct_subclasses(self, info: ClassInfo) -> list[ClassInfo]:
        """The project's classes that derive from `info`: in its module, and in the project's
        files whose class statements name it among their bases (read from disk, so that a
        file checked alone sees the subclasses the tree holds)."""
        out: list[ClassInfo] = []
        for cls in info.module.classes:  # those of the module's body: function bodies run later
            if cls.top and cls is not info and info in self.bases(cls)[0][1:]:
                out.append(cls)
        home = info.module.path
        if home is None or not self.files:
            return out
        self.prepare()
        assert self._defined is not None
        known = [info.name]  # its name, and every name the project gives it (round 25)
        for name in known:
            self._consulted_names.add("alias:" + name)
            known.extend(a for a in sorted(self._renamed.get(name, ())) if a not in known)
        paths: list[str] = []
        for name in known:
            self._consulted_names.add("class:" + name)
            paths.extend(p for p in self._defined.get("class:" + name, ()) if p not in paths)
        for path in paths:
            if path == home:
                continue
            module = self.module(path)
            if module is None:
                continue
            for cls in module.classes:
                if cls.top and any(
                    base is info or _same_class(base, info) for base in self.bases(cls)[0][1:]
                ):
                    out.append(cls)
        return out

    def _assigned(self, info: ClassInfo) -> dict[str, Value]:
        """`self.X = …` in the class's methods, evaluated without the method's local names."""
        if info._instance is None:
            info._instance = {}
            try:
                self._assign_instance(info, info._instance)
            except BaseException:  # half of the answer is no answer for a later question
                info._instance = None
                raise
        return info._instance

    def _assign_instance(self, info: ClassInfo, assigned: dict[str, Value]) -> None:
        walker = _Walker(info.module, self)
        walker.env = {}
        walker.outer = [(info.module.env, info.module.ever)]
        for method in info.methods.values():
            args = method.node.args.args
            if method.method_kind != "method" or not args:
                continue
            this = args[0].arg
            for inner in ast.walk(method.node):
                if _sets_any_attribute(inner, this):
                    assigned[_ANY_NAME] = hole(
                        inner,
                        info.module.origin,
                        f"{method.name}() sets attributes of `{this}` by names known at run time",
                    )
                    continue
                targets: list[ast.expr] = []
                value: ast.expr | None = None
                if isinstance(inner, ast.Assign):
                    targets, value = inner.targets, inner.value
                elif isinstance(inner, ast.AnnAssign | ast.AugAssign) and inner.value is not None:
                    targets, value = [inner.target], inner.value
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == this
                        and value is not None
                    ):
                        if isinstance(inner, ast.AugAssign):
                            found = hole(
                                target,
                                info.module.origin,
                                f"`self.{target.attr}` is extended at run time",
                            )
                        elif (
                            method.name == "__init__"
                            and isinstance(value, ast.Name)
                            and _init_parameter(method, target.attr) == value.id
                            and not _db_named(value.id)  # `self.conn = conn`: no SQL
                            and _string_annotation(_annotation_of(method, value.id))
                            # (`p.query = q` anywhere: not only what the constructor got)
                            and not self.changed_outside(target.attr)
                            and self.made_by_the_project(info)
                        ):
                            # `self.query = query`: the constructor's parameter, for the
                            # callers that make the object (a wrapper when a method sends it)
                            found = (
                                (
                                    Hole(
                                        value,
                                        info.module.origin,
                                        f"`self.{target.attr}` is the parameter `{value.id}` "
                                        f"of {info.name}()",
                                        param=value.id,
                                        owner=method,
                                    ),
                                ),
                            )
                        else:
                            found = walker.evaluate(value)
                            found = tuple(
                                tuple(
                                    p._replace(
                                        reason=f"`self.{target.attr}` is assigned in "
                                        f"{method.name}(): {p.reason}",
                                        param=None,
                                        owner=None,
                                    )
                                    if type(p) is Hole
                                    else p
                                    for p in a
                                )
                                for a in found
                            )
                        before = assigned.get(target.attr)
                        assigned[target.attr] = (
                            found
                            if before is None
                            else union((before, found), target, info.module.origin)
                        )
        for name in list(assigned):
            # a class whose bases are not read may define it as a class attribute and leave
            # it unset on its instances (its own `__init__`), or set it there (h32j)
            if name != _ANY_NAME and self.overridden_elsewhere(name, info.name, info.module.origin):
                assigned[name] = hole(
                    info.node,
                    info.module.origin,
                    f"`self.{name}` may be set by a class whose bases are not read",
                )

    # calls

    def callees(self, ref: FuncRef | ImportedRef) -> Callable[[], list[FunctionInfo]]:
        def resolve() -> list[FunctionInfo]:
            binding: Binding | None = ref
            if isinstance(binding, ImportedRef):
                binding = self.imported(binding)
            if isinstance(binding, ClassRef):  # `from .pages import Pages`, then `Pages(…)`
                return self.overrides(binding.info, "__init__", exact=True)()
            return [binding.info] if isinstance(binding, FuncRef) else []

        return resolve

    def method_callees(self, info: ClassInfo, name: str) -> Callable[[], list[FunctionInfo]]:
        def resolve() -> list[FunctionInfo]:
            order, complete = self.bases(info)
            for cls in order:
                if name in cls.methods:
                    return [cls.methods[name]]
            return self.named_callees(name, info.module)() if not complete else []

        return resolve

    def overrides(
        self, info: ClassInfo, name: str, *, exact: bool = False
    ) -> Callable[[], list[FunctionInfo]]:
        """The method a class finds by its name, and (unless the object is `exact`ly of that
        class) those of its subclasses in the same module; none when a base outside the
        project may come first."""

        def resolve() -> list[FunctionInfo]:
            order, complete = self.bases(info)
            found = next((cls.methods[name] for cls in order if name in cls.methods), None)
            if found is None or not (complete or name in info.methods):
                return []  # a base outside the project may define it first
            if exact:
                return [found]
            return [found, *(c.methods[name] for c in self._subclasses(info) if name in c.methods)]

        return resolve

    def returned(self, value: Value, depth: int = 0, seen: frozenset[int] = frozenset()) -> Value:
        """A value with the calls of project functions in it replaced by what they return
        (each `return` one alternative); a call whose returns are not all read stays a hole."""
        if not any(type(p) is Hole and p.returns is not None for a in value for p in a):
            return value
        out: list[tuple[Lit | Hole, ...]] = []
        for alternative in value:
            choices: list[Value] = []
            for part in alternative:
                given = self._given(part, depth, seen) if type(part) is Hole else None
                choices.append(given if given is not None else ((part,),))
            for combination in itertools.product(*choices):
                out.append(tuple(p for piece in combination for p in piece))
                if len(out) > MAX_ALTERNATIVES:
                    return value  # too many strings: the calls stay unknown
        return tuple(out)

    def _given(self, part: Hole, depth: int, seen: frozenset[int]) -> Value | None:
        if part.returns is None or depth >= _RETURN_DEPTH:
            return None
        targets = part.returns()  # type: ignore[operator]
        if not targets:
            return None
        values: list[Value] = []
        for info in targets:
            if id(info) in seen:
                return None  # a recursion: what it returns is not followed
            self.finished(info.module)
            if part.position == _YIELDED:  # an item of the generator it makes
                if not _generator(info.node) or _decorated(info.node) or not info.yields:
                    return None
                for value in info.yields.values():
                    # a parameter it yields (`yield BASE + extra`) holds what the call gives
                    # it, as for a return (round 28, outside review h28e: `gen(" OR true")`
                    # was only a warning)
                    value = self._filled(value, info, part, depth, seen)
                    values.append(self.returned(value, depth + 1, seen | {id(info)}))
                continue
            if _generator(info.node) or _decorated(info.node):
                return None
            if part.position is not None:  # an item of the tuples it returns
                if not info.tuple_returns:
                    return None
                for items in info.tuple_returns.values():
                    item = items[part.position] if part.position < len(items) else None
                    if item is None:
                        return None
                    values.append(self.returned(item, depth + 1, seen | {id(info)}))
                continue
            if not info.returns:
                return None
            for value in info.returns.values():
                value = self._filled(value, info, part, depth, seen)
                values.append(self.returned(value, depth + 1, seen | {id(info)}))
        return union(values, part.node, part.origin)

    def _filled(
        self, value: Value, info: FunctionInfo, part: Hole, depth: int, seen: frozenset[int]
    ) -> Value:
        """What a function returns with each of its parameters it returns unchanged (a hole of
        that parameter: `return dedent(text).strip()`) given the call's argument for it, or
        its constant default, when that is constant; a parameter the call gives no sure
        argument for, or one only partly known, stays a hole."""
        if not any(
            type(p) is Hole and p.param is not None and p.owner is info for a in value for p in a
        ):
            return value
        # a parameter a nested function assigns again through `nonlocal` (`def add(): nonlocal
        # text; text += " OR true"`, then `add(); return text`) is not what the call gave
        # (round 28, outside review h28e: it was read as the argument)
        rebound = _function_nonlocals(info)
        given = part.given
        call: Call | None = None
        unpacked = False
        if isinstance(given, tuple):
            bound, positional, keywords, unpacked, known = given
            if not known and info.method_kind == "method":
                return value  # which argument is `self` is not known: the parameter stays
            call = Call(
                part.node,  # type: ignore[arg-type]
                lambda: [],
                [None if v is None else (part.node, v) for v in positional],  # type: ignore[misc]
                {k: (part.node, v) for k, v in keywords},  # type: ignore[misc]
                None,
                bool(bound),
            )
        out: list[Alternative] = []
        for alternative in value:
            choices: list[Value] = []
            for piece in alternative:
                argument: Value | None = None
                if (
                    type(piece) is Hole
                    and piece.param is not None
                    and piece.owner is info
                    and piece.param not in rebound
                ):
                    found = (
                        None
                        if call is None
                        else _argument_for(call, info, _positional(call, info), piece.param)
                    )
                    if found is not None:
                        argument = found[1]
                    elif not unpacked and (call is None or None not in call.positional):
                        # the call surely gives nothing for it: its default is what it holds
                        argument = _default(info, piece)
                    if argument is not None:
                        argument = self.returned(argument, depth + 1, seen | {id(info)})
                        if not all(is_constant(a) for a in argument):
                            # a part only known at run time: TG009 stays at the parameter,
                            # where the function leaves it to run time (as before)
                            argument = None
                        elif piece.transform is not None:  # `" ".join(text.split())`
                            argument = piece.transform(argument)
                choices.append(argument if argument is not None else ((piece,),))
            for combination in itertools.product(*choices):
                out.append(tuple(p for chosen in combination for p in chosen))
        return tuple(dict.fromkeys(out))

    def module_callees(
        self, ref: ModuleRef | ImportedRef, name: str
    ) -> Callable[[], list[FunctionInfo]]:
        def resolve() -> list[FunctionInfo]:
            if isinstance(ref, ImportedRef):
                target = self.imported(ref)
                if isinstance(target, ClassRef):  # `from m import Repo`: Repo.method(…)
                    return self.method_callees(target.info, name)()
            binding = self.attribute_of(ref, name)
            if isinstance(binding, ImportedRef):
                binding = self.imported(binding)
            if isinstance(binding, ClassRef):  # `pages.Pages(…)`: its constructor
                return self.overrides(binding.info, "__init__", exact=True)()
            return [binding.info] if isinstance(binding, FuncRef) else []

        return resolve

    def named_callees(
        self, name: str, module: ModuleInfo | None = None
    ) -> Callable[[], list[FunctionInfo]]:
        """A method called on an object of unknown class: every project method of that name."""

        def resolve() -> list[FunctionInfo]:
            self.prepare()
            assert self._defined is not None
            self._consulted_names.add(name)
            out: list[FunctionInfo] = []
            paths = sorted(set(self._defined.get(name, ())))
            if module is not None and module.path not in paths:  # a file outside the project
                out.extend(f for f in module.functions if f.name == name and f.cls is not None)
            for path in paths:
                info = self.module(path)
                if info is not None:
                    functions = self.finished(info).functions
                    out.extend(f for f in functions if f.name == name and f.cls is not None)
            return out

        return resolve

    def wrapper(self, info: FunctionInfo) -> dict[str, Reach]:
        """The parameters a function passes unchanged into a sink (directly, or through other
        project functions), with what they reach and whether that is certainly SQL.

        Functions that call each other (a strongly connected component of the call graph,
        found as Tarjan does) are settled together once the first of them to be asked is done:
        from nothing, in the order they are defined, until no answer grows. The answer is the
        same whichever of them was asked first.
        """
        if info.wrapper is not None:
            return info.wrapper
        key = id(info)
        if key in self._number:  # being worked out: what is known so far
            self._asked_again.add(key)
            return self._provisional.get(key, {})
        number = len(self._number)
        self._number[key] = self._low[key] = number
        self._unsettled.append(info)
        try:
            found = self._provisional[key] = self._wrapper_of(info)
            if self._low[key] < number:
                return found  # part of a recursion through a function asked before: settled there
            start = self._unsettled.index(info)
            members = self._unsettled[start:]
            if len(members) > 1 or key in self._asked_again:  # a recursion: settled together
                self._settle(sorted(members, key=_definition_order))
            # (a module read again while settling, evicted from the cache, may have added some)
            for member in self._unsettled[start:]:
                member.wrapper = self._provisional.get(id(member), {})
            self._forget(start)
            return info.wrapper if info.wrapper is not None else {}
        except BaseException:  # nothing half-worked-out stays to answer a later question
            if info in self._unsettled:
                self._forget(self._unsettled.index(info))
            raise

    def _settle(self, members: list[FunctionInfo]) -> None:
        """The answers of functions that call each other: from nothing, in a fixed order,
        until none grows."""
        for member in members:
            self._provisional[id(member)] = {}
        for _ in range(4 * len(members) + 4):  # answers only grow: a bound, not a guess
            changed = False
            for member in members:
                answer = self._wrapper_of(member)
                if answer != self._provisional[id(member)]:
                    self._provisional[id(member)] = answer
                    changed = True
            if not changed:
                return

    def _forget(self, start: int) -> None:
        """Drops what is kept about the unsettled functions from `start` on (settled now, or
        their question failed)."""
        for member in self._unsettled[start:]:
            key = id(member)
            self._number.pop(key, None)
            self._low.pop(key, None)
            self._provisional.pop(key, None)
            self._asked_again.discard(key)
        del self._unsettled[start:]

    def _wrapper_of(self, info: FunctionInfo) -> dict[str, Reach]:
        """One function's answer, given what its callees' answers are now."""
        self.finished(info.module)
        self._frames.append(id(info))
        try:
            found: dict[str, Reach] = {}

            def reaches(parameter: str, through: str, certain: bool, template: Value) -> None:
                known = found.get(parameter)
                if known is None:
                    found[parameter] = (through, certain, template)
                elif not set(template) <= set(known[2]):  # sent in several ways: each is one
                    merged = union((known[2], template), info.node, info.module.origin)
                    found[parameter] = (known[0], known[1], merged)

            # the functions its body defines send what they read of its parameters too (a
            # callback handed to a retry helper or a circuit breaker)
            inner = [info]
            if info.name == "__init__" and info.cls is not None:
                # its class's methods send what it keeps of its parameters (`self.query`)
                inner.extend(m for m in info.cls.methods.values() if m is not info)
            for function in inner:
                inner.extend(function.nested)
            for sink in (s for function in inner for s in function.sinks):
                for parameter, template in passed_parameters(sink.value, info).items():
                    reaches(parameter, sink.method, sink.certain, template)
            for call in (c for function in inner for c in function.calls):
                if not _carries_parameters(call, info):
                    continue  # none of its arguments holds one of them: whatever the callee does
                for callee, _, argument, (through, certain, _) in self.wrapped_arguments(call):
                    for own, template in passed_parameters(argument[1], info).items():
                        reaches(own, f"{callee.name}() -> {through}", certain, template)
            return found
        finally:
            self._frames.pop()

    def wrapped_arguments(
        self, call: Call, unpacked: Origin | None = None
    ) -> Iterator[tuple[FunctionInfo, str, tuple[ast.expr, Value], Reach]]:
        """(callee, its parameter, the argument given for it, what it reaches) for each
        parameter of a wrapper that this call fills. The argument's value is the SQL the
        callee sends with it: its template with the argument in the parameter's place, and
        the callee's other parameters there filled by what this call gives them.

        `unpacked` (the calling file): a parameter the call may fill from `*args` or
        `**kwargs` is given a value only known at run time, there (not left out)."""
        unpacks = unpacked is not None and (
            any(p is None for p in call.positional)
            or any(k.arg is None for k in call.call.keywords)
        )
        for callee in call.targets():
            wrapped = self.wrapper(callee)
            if self._frames and id(callee) in self._low:  # still unsettled: one recursion
                frame = self._frames[-1]
                self._low[frame] = min(self._low[frame], self._low[id(callee)])
            if not wrapped:
                continue
            positional = _positional(call, callee)
            for parameter, reach in wrapped.items():
                argument = _argument_for(call, callee, positional, parameter)
                if argument is None and unpacks and parameter not in call.keywords:
                    assert unpacked is not None
                    reason = f"the SQL {callee.name}() gets is unpacked from `*`/`**` arguments"
                    argument = (call.call, hole(call.call, unpacked, reason))
                if argument is None:
                    default = _default_expression(callee, parameter)
                    if default is None or isinstance(default, ast.Constant) or unpacks:
                        continue
                    # left out, its default sent: one computed when the function was made
                    # (`def run(conn, q=PREFIX[:21])`, h32g) is only known at run time
                    reason = f"the default of `{parameter}` in {callee.name}() is computed"
                    argument = (default, hole(default, callee.module.origin, reason))
                template = reach[2]
                if sent_unchanged(template):
                    yield callee, parameter, argument, reach
                    continue
                filled = {parameter: argument[1]}
                for alternative in template:
                    for part in alternative:
                        if (
                            type(part) is Hole
                            and part.owner is callee
                            and part.param is not None
                            and part.param not in filled
                        ):
                            other = _argument_for(call, callee, positional, part.param)
                            given = other[1] if other is not None else _default(callee, part)
                            if given is not None:
                                filled[part.param] = given
                value = _substituted(template, callee, filled, argument[0])
                yield callee, parameter, (argument[0], value), reach

    def made_by_the_project(self, info: ClassInfo) -> bool:
        """Whether only the project's code makes objects of a class, by calling it: the class
        is not handed on as a value (`Depends(Pages)`, `{"pages": Pages}`, `cls=Pages`, an
        annotation's `p: Pages)` read so too), nor looked up by a name, anywhere in the
        project; what its constructor is given is then what its callers pass (h35D)."""
        path = info.module.path
        if path is None or not self.in_project(path):
            return False
        if self._subclasses(info) or _makes_its_own(info.node):
            return False  # `super().__init__(pool, q)`, `cls(pool, q)`: made otherwise too
        # (the check cache: a file that starts or stops handing the class on changes this,
        # or making objects by another object's class, `type(p)(…)`, `p.__class__(…)`)
        self._consulted_names.update(("word:" + info.name, "word:type", "word:__class__"))
        words = self._word_counts()
        name = info.name
        return not any(
            words.get(key, 0) > 0
            for key in (
                "value " + name,
                "imported value " + name,
                "getattr " + name,
                f"value {os.path.splitext(os.path.basename(path))[0]}.{name}",
                # `map(Pages, pools, queries)`, `to_thread(Pages, pool, q)`: made with
                # arguments the project's call does not show (h35Q)
                "forwarded " + name,
                # `type(p)(pool, q)`, `p.__class__(pool, q)` anywhere: made by another name
                "made by type",
            )
        )

    def sends_nothing(self, call: Call) -> bool:
        """Whether a call of a project method named like a driver's (`Shell().execute(text)`,
        the receiver's class known) surely sends nothing of its first argument as SQL: each
        callee is no wrapper, sends no SQL of its own, and hands what it is given (and any
        name made from it) only to what is outside the project (`subprocess.run`, `print`,
        a log call) or back by `return` — never to an object's attribute, a container, a
        callable it holds or one looked up by a name (h35D: such text was TG006 as a
        driver's SQL, `"update users and invoices …"`)."""
        if call.guessed or not call.positional or call.positional[0] is None:
            return False
        callees = call.targets()
        if not callees:
            return False
        for callee in callees:
            positional = _positional(call, callee)
            if not positional or self.wrapper(callee) or callee.sinks or callee.nested:
                return False
            if not self._keeps_to_itself(callee, positional[0]):
                return False
        return True

    def _keeps_to_itself(self, info: FunctionInfo, parameter: str) -> bool:
        """Whether a function hands its parameter (and what it makes of it) to nothing but
        callables from outside the project or a log call, or back by `return`."""
        body = list(ast.walk(info.node))
        tainted = {parameter}

        def uses(node: ast.AST | None) -> bool:
            return node is not None and any(
                isinstance(n, ast.Name) and n.id in tainted for n in ast.walk(node)
            )

        grown = True
        while grown:
            grown = False
            for node in body:
                value: ast.AST | None = None
                targets: list[ast.AST] = []
                if isinstance(node, ast.Assign):
                    value, targets = node.value, list(node.targets)
                elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
                    value, targets = node.value, [node.target]
                elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                    value, targets = node.iter, [node.target]
                elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                    value, targets = node.context_expr, [node.optional_vars]
                if not uses(value):
                    continue
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name) and name.id not in tainted:
                            tainted.add(name.id)
                            grown = True
        local = {
            n.id for n in body if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        } | set(info.parameters)
        for node in body:
            if isinstance(node, ast.Global | ast.Nonlocal) and tainted & set(node.names):
                return False
            if isinstance(node, ast.Yield | ast.YieldFrom | ast.Lambda) and uses(node):
                return False
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and uses(node.value):
                stored = node.targets if isinstance(node, ast.Assign) else [node.target]
                if not all(isinstance(t, ast.Name) for t in stored):
                    return False  # kept on an object or in a container: sent later, maybe
            if (
                isinstance(node, ast.Call)
                and (any(uses(a) for a in node.args) or any(uses(k.value) for k in node.keywords))
                and (
                    not self._outside_callable(node.func, info, local)
                    or (
                        not isinstance(node.func, ast.Name)  # (`print(…, file=self.out)`)
                        and not (
                            isinstance(node.func, ast.Attribute) and node.func.attr in _LOG_METHODS
                        )
                        and any(
                            self._a_sender(a, info)
                            for a in (*node.args, *(k.value for k in node.keywords))
                        )
                    )
                )
            ):
                return False
        return True

    def _a_sender(self, given: ast.expr, info: FunctionInfo) -> bool:
        """Whether an argument handed to a call beside the text is a callable that may send
        it: a driver's method (`asyncio.to_thread(self.pool.execute, command)`,
        `Thread(target=cur.execute, args=(command,))`), a project function, or what the object
        holds (`self.runner`: a method or a callable kept) — h35Q: the text reached the
        database through such a call in silence."""
        if isinstance(given, ast.Starred):
            given = given.value
        if isinstance(given, ast.Attribute):
            if given.attr in SQL_METHODS or given.attr in _LIBRARY_SQL_METHODS:
                return True
            # a method of the object, or a callable it holds (`self.runner`)
            return isinstance(given.value, ast.Name) and given.value.id in ("self", "cls")
        if isinstance(given, ast.Name):
            if given.id in SQL_METHODS:
                return True
            binding = info.module.env.get(given.id)
            return isinstance(binding, FuncRef | ClassRef | ImportedRef) and not (
                isinstance(binding, ImportedRef) and self.imported(binding) is None
            )
        return False

    def _outside_callable(self, func: ast.expr, info: FunctionInfo, local: set[str]) -> bool:
        """A built-in, a log call, or a callable reached through a module from outside the
        project (`subprocess.run`, `shlex.split`): not one that may send SQL."""
        if isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS:
            return True
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or root.id in local:
            return False
        binding = info.module.env.get(root.id)
        if binding is None:
            return isinstance(func, ast.Name) and hasattr(builtins, root.id)
        if isinstance(binding, ImportedRef):
            binding = binding.module
        if isinstance(binding, ModuleRef):
            return binding.level == 0 and self.resolve(binding) is None
        return False

    def built_statements(self, call: Call) -> Iterator[tuple[FunctionInfo, Sink, Value]]:
        """(callee, its sink, the SQL it sends) for each statement a callee of this call builds
        from parameters the call gives constants for: `exists(curs, "workspace", id)` where
        `exists(curs, tablename, _id)` sends `f'SELECT … FROM "{tablename}" WHERE id = …'`.
        A parameter inside the text is no wrapper's (its callee builds its SQL from it: TG009
        stays there), but the statement a constant makes of it is checked at the call, as a
        function's `return` is (before, a caller's `"workspace"` read the victim's rows
        unseen). Only the callee's own sinks, and only constants: a value known at run time
        is that function's TG009, not said again at each call."""
        for callee in call.targets():
            if not callee.sinks:
                continue
            wrapped = self.wrapper(callee)
            positional = _positional(call, callee)
            for sink in callee.sinks:
                if any(
                    type(part) is Hole and part.owner is callee and part.param in wrapped
                    for alternative in sink.value
                    for part in alternative
                ):
                    continue  # a wrapper's statement: checked at the call with all it is given
                filled: dict[str, Value] = {}
                for alternative in sink.value:
                    for part in alternative:
                        if (
                            type(part) is not Hole
                            or part.owner is not callee
                            or part.param is None
                            or part.param in filled
                        ):
                            continue
                        given = _argument_for(call, callee, positional, part.param)
                        if given is not None and _constant_value(given[1]):
                            filled[part.param] = given[1]
                if filled:
                    yield callee, sink, _substituted(sink.value, callee, filled, call.call)


def _constant_value(value: Value) -> bool:
    """Whether each alternative of a value is text written in the code (no part known only at
    run time)."""
    return bool(value) and all(type(p) is Lit for alternative in value for p in alternative)


def _definition_order(info: FunctionInfo) -> tuple[str, int, int, str]:
    node = info.node
    return (info.module.path or "", node.lineno, node.col_offset, info.name)


# the name under which a function's `*args` is a wrapper's parameter: the first argument it
# collects (no parameter's name starts with it)
_VARARGS = "*"
# the name under which the items of a parameter a loop goes over are a wrapper's parameter
# (`for q in queries: conn.execute(q)`: `[]queries`)
_ITEMS = "[]"
_MARK = lazy_pattern(r"%s|\?")
_DOLLAR_END = lazy_pattern(r"(?<![\w$])\$\Z")  # text ending in a `$` that starts a placeholder


def _placeholder_list(items: ast.expr, origin: Origin) -> list[Value] | None:
    """Two of the bind placeholders repeated by `["%s"] * n`, `"?" * n`, `("%s" for _ in
    ids)`, `(f"${i}" for i in …)` or `("$%d" % i for i in …)` (two: a list of tenants is several tenants), or None.
    Only the placeholder's own text is read: a comprehension's names are its own."""
    element: ast.expr | None = None
    if isinstance(items, ast.BinOp) and isinstance(items.op, ast.Mult):
        for side in (items.left, items.right):
            if isinstance(side, ast.List | ast.Tuple) and len(side.elts) == 1:
                element = side.elts[0]
            elif isinstance(side, ast.Constant) and side.value == "?":
                element = side
            elif isinstance(side, ast.Call) and _psycopg_part(side) == "Placeholder":
                element = side  # `sql.Placeholder() * len(ids)`: psycopg repeats it
    elif isinstance(items, ast.GeneratorExp | ast.ListComp):
        element = items.elt
    elif (
        isinstance(items, ast.Call)
        and isinstance(items.func, ast.Name)
        and items.func.id == "map"
        and len(items.args) == 2
        and not items.keywords
        and isinstance(items.args[0], ast.Attribute)
        and items.args[0].attr == "Literal"
        and _receiver_name(items.args[0].value) in _SQL_MODULES
    ):  # `map(sql.Literal, ids)`: each item a value psycopg quotes
        reason = f"`{_short(items)}` are values psycopg quotes (`sql.Literal`)"
        return [hole(items, origin, reason, kind="literal")] * 2
    if isinstance(element, ast.Call):
        part = _psycopg_part(element)
        if part == "Placeholder" and not element.args and not element.keywords:
            return [((Lit("%s", origin, None, 0, element),),)] * 2
        if part == "Literal" and len(element.args) == 1 and not element.keywords:
            reason = f"`{_short(element)}` is a value psycopg quotes (`sql.Literal`)"
            return [hole(element, origin, reason, kind="literal")] * 2
        return None
    if (
        isinstance(element, ast.Constant)
        and isinstance(element.value, str)
        and _MARK.fullmatch(element.value)
    ):
        return [((Lit(element.value, origin, element),),)] * 2
    if (
        isinstance(element, ast.JoinedStr)
        and len(element.values) == 2
        and isinstance(element.values[0], ast.Constant)
        and element.values[0].value == "$"
        and isinstance(element.values[1], ast.FormattedValue)
        and element.values[1].format_spec is None
    ) or (
        isinstance(element, ast.BinOp)
        and isinstance(element.op, ast.Mod)
        and isinstance(element.left, ast.Constant)
        and element.left.value == "$%d"
    ):
        # numbered at run time: two parameters no other placeholder of the statement uses
        return [((Lit(f"${n}", origin, None, 0, element),),) for n in (65534, 65535)]
    return None


_GROWN_CACHE: dict[int, tuple[ast.AST, frozenset[str]]] = {}
_STORED_CACHE: dict[
    int, tuple[ast.AST, dict[str, list[ast.Attribute]], dict[str, list[ast.Attribute]]]
] = {}
_KEPT_CALLERS_CACHE: dict[int, tuple[ast.AST, dict[str, list[ast.Call]]]] = {}
_KEPT_PARTIALS_CACHE: dict[int, tuple[ast.AST, dict[str, list[ast.Call]]]] = {}


def _partial_of(node: ast.expr | None) -> TypeGuard[ast.Call]:
    """`partial(F, …)` / `functools.partial(F, …)` of a function named (not starred)."""
    return (
        isinstance(node, ast.Call)
        and _called_name(node) == "partial"
        and bool(node.args)
        and isinstance(node.args[0], ast.Name | ast.Attribute)
    )


def _kept_partials(tree: ast.Module) -> dict[str, list[ast.Call]]:
    """The `partial(F, …)` calls a module assigns to a name or an attribute (`q = …`,
    `self.q = …`, in any scope), by the name (the attribute's)."""
    cached = _KEPT_PARTIALS_CACHE.get(id(tree))
    if cached is not None and cached[0] is tree:
        return cached[1]
    found: dict[str, list[ast.Call]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and _partial_of(node.value):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                name = expression_name(target)
                if name:
                    found.setdefault(name, []).append(node.value)
    _KEPT_PARTIALS_CACHE[id(tree)] = (tree, found)
    return found


def _kept_methodcallers(tree: ast.Module) -> dict[str, list[ast.Call]]:
    """The query methodcallers a module assigns to a name (`M = methodcaller("fetch", sql)`,
    in any of its functions too), by that name."""
    cached = _KEPT_CALLERS_CACHE.get(id(tree))
    if cached is not None and cached[0] is tree:
        return cached[1]
    found: dict[str, list[ast.Call]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _sql_methodcaller(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
    _KEPT_CALLERS_CACHE[id(tree)] = (tree, found)
    return found


def _stored_items(tree: ast.Module) -> dict[str, list[ast.Attribute]]:
    """The methods a module stores as items of a name (`OPS["f"] = conn.fetch`,
    `OPS.update(f=conn.fetch)`, `OPS.update({"f": conn.fetch})`, `OPS.setdefault("f",
    conn.fetch)`, `OPS |= {"f": conn.fetch}`, in any of its functions), by that name."""
    return _module_stores(tree)[0]


def _item_holder(node: ast.expr) -> ast.Name | None:
    """The name an item is read from: `OPS["f"]`, `OPS.get("f")`."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return node.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
    ):
        return node.func.value
    return None


def _kept_methods(tree: ast.Module) -> dict[str, list[ast.Attribute]]:
    """The attributes a module assigns to a name or to an attribute (`F = conn.fetch` under
    `global F`, `self.q = conn.fetch`, in any scope), by the name (the attribute's)."""
    return _module_stores(tree)[1]


def _module_stores(
    tree: ast.Module,
) -> tuple[dict[str, list[ast.Attribute]], dict[str, list[ast.Attribute]]]:
    cached = _STORED_CACHE.get(id(tree))
    if cached is not None and cached[0] is tree:
        return cached[1], cached[2]
    items: dict[str, list[ast.Attribute]] = {}
    kept: dict[str, list[ast.Attribute]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    items.setdefault(target.value.id, []).append(node.value)
                elif isinstance(target, ast.Name | ast.Attribute):
                    kept.setdefault(expression_name(target), []).append(node.value)
            continue
        holder: ast.expr | None = None
        given: list[ast.expr] = []
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("update", "setdefault", "__setitem__", "__ior__")
        ):
            holder = node.func.value
            given = [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.BitOr):
            holder, given = node.target, [node.value]
        if not isinstance(holder, ast.Name):
            continue
        for value in given:
            values = value.values if isinstance(value, ast.Dict) else [value]
            for stored in values:
                if isinstance(stored, ast.Attribute):
                    items.setdefault(holder.id, []).append(stored)
    _STORED_CACHE[id(tree)] = (tree, items, kept)
    return items, kept


def _grown_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Local names a function binds to list displays and otherwise only grows (`.append(x)`,
    `.extend([…])` as statements), joins (`sep.join(name)`), measures (`len(name)`) or tests
    (`if name`): nothing else can change the list, so its items are what the paths give. A
    name used in any other way, or in a nested function, keeps the list unknown."""
    cached = _GROWN_CACHE.get(id(function))
    if cached is not None and cached[0] is function:
        return cached[1]
    candidates: set[str] = set()
    spoiled: set[str] = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    grows: set[int] = set()  # the names of `name.append(x)` written as statements
    through: set[int] = set()  # names joined through a comprehension or map() keeping text
    stack: list[tuple[ast.AST, ast.AST | None, bool]] = [
        (s, function, False) for s in function.body
    ]
    while stack:  # iterative: nesting depth is the user's
        node, parent, nested = stack.pop()
        if isinstance(node, ast.Global | ast.Nonlocal):
            spoiled.update(node.names)
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr in ("append", "extend")
        ):
            grows.add(id(node.value.func.value))
        if isinstance(node, ast.Call) and _called_name(node) == "join" and len(node.args) == 1:
            joined = _unwrapped_items(node.args[0])
            if joined is not node.args[0] and isinstance(joined, ast.Name) and not nested:
                # `sep.join(sql.SQL(c) for c in name)` joins name: the loop's list is read
                # where the join is, not inside the comprehension
                through.add(id(joined))
        if isinstance(node, ast.Name):
            if id(node) in through:
                pass
            elif nested or not (id(node) in grows or _growing_use(node, parent)):
                spoiled.add(node.id)
            elif isinstance(node.ctx, ast.Store):
                candidates.add(node.id)
        inner = nested or isinstance(
            node,
            ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef | ast.comprehension,
        )
        for child in ast.iter_child_nodes(node):
            stack.append((child, node, inner))
    found = frozenset(candidates - spoiled)
    _GROWN_CACHE[id(function)] = (function, found)
    return found


def _unwrapped_items(node: ast.expr) -> ast.expr:
    """The list a join's argument hands on item by item, each item's text unchanged: `(c for c
    in L)`, `[sql.SQL(c) for c in L]`, `map(sql.SQL, L)`, `map(str, L)` give L; anything
    else is itself."""
    if isinstance(node, ast.GeneratorExp | ast.ListComp) and len(node.generators) == 1:
        loop = node.generators[0]
        if (
            not loop.ifs
            and not loop.is_async
            and isinstance(loop.target, ast.Name)
            and _keeps_text(node.elt, loop.target.id)
        ):
            return loop.iter
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "map"
        and len(node.args) == 2
        and not node.keywords
        and _text_keeping(node.args[0])
    ):
        return node.args[1]
    return node


def _text_keeping(func: ast.expr) -> bool:
    """`sql.SQL` (psycopg renders its text as written) or `str` (of a string: itself)."""
    if isinstance(func, ast.Name):
        return func.id in ("SQL", "str")
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "SQL"
        and _receiver_name(func.value)
        in (
            "sql",
            "psycopg",
        )
    )


def _keeps_text(element: ast.expr, name: str) -> bool:
    if isinstance(element, ast.Name):
        return element.id == name
    return (
        isinstance(element, ast.Call)
        and _text_keeping(element.func)
        and len(element.args) == 1
        and not element.keywords
        and isinstance(element.args[0], ast.Name)
        and element.args[0].id == name
    )


def _growing_use(name: ast.Name, parent: ast.AST | None) -> bool:
    if isinstance(name.ctx, ast.Store):  # `name = [...]`, alone on the left
        return (
            isinstance(parent, ast.Assign)
            and len(parent.targets) == 1
            and isinstance(parent.value, ast.List)
        ) or _concatenated_name(parent) == name.id  # `name += [x]`, `name = name + [x]`
    if (
        isinstance(parent, ast.BinOp)
        and isinstance(parent.op, ast.Add)
        and parent.left is name
        and _added_display(parent.right)
    ):
        return True  # (`name + [x]`: read as a grown list where assigned back to the name)
    if isinstance(parent, ast.Call) and parent.args == [name] and not parent.keywords:
        func = parent.func
        return (isinstance(func, ast.Attribute) and func.attr == "join") or (
            isinstance(func, ast.Name) and func.id == "len"
        )
    if isinstance(parent, ast.If | ast.While | ast.IfExp):
        return parent.test is name
    if isinstance(parent, ast.Subscript) and isinstance(parent.slice, ast.Slice):
        # `name[:-1]` read: a new list (`name[:] = …` and `del name[1:]` change it)
        return parent.value is name and isinstance(parent.ctx, ast.Load)
    if isinstance(parent, ast.For | ast.AsyncFor):  # `for key in allowed:` reads each item
        return parent.iter is name
    return isinstance(parent, ast.UnaryOp | ast.BoolOp)


def _mutated(info: ModuleInfo) -> frozenset[str]:
    """Names (and attribute names) whose list or dict the module changes in place: `X[k] =`,
    `del X[k]`, `X.append(…)`. Worked out once per module, when it first builds one."""
    if info._mutated is None:
        _scan_scopes(info)
    assert info._mutated is not None
    return info._mutated


def _dotted_end(node: ast.expr) -> str | None:
    """The last name of `a`, `a.b.c` (`c`), or None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and _dotted_end(node.value) is not None:
        return node.attr
    return None


def _replaced(tree: ast.AST, name: str, attr: str) -> bool:
    """May the module read as `name` have its `attr` replaced, or the name itself rebound, by
    this module — so that `name.attr(…)` may call a driver's method (a pool's `fetch`)? `db.fetch
    = …`, also spelt `pkg.db.fetch = …` (the module by its dotted path) or `setattr(db, "fetch",
    …)` (or with a name computed at run time); `vars(db)` or `db.__dict__` (its namespace
    written as a mapping); the module's own global `db` written through its module object
    (`sys.modules[__name__].db = pool`, `setattr(sys.modules[__name__], "db", pool)`) — round
    28, outside review h28a of the rebinding check."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            if node.attr == attr and _dotted_end(node.value) == name:
                return True
            if node.attr == name and not isinstance(node.value, ast.Name | ast.Attribute):
                return True  # `sys.modules[__name__].db = …`: the global `db` rebound
        elif isinstance(node, ast.Attribute) and node.attr == "__dict__":
            if _dotted_end(node.value) == name:
                return True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            target = node.args[0]
            if node.func.id == "vars" and _dotted_end(target) == name:
                return True
            if node.func.id in ("setattr", "delattr") and len(node.args) >= 2:
                key = node.args[1]
                written = key.value if isinstance(key, ast.Constant) else None
                known = isinstance(written, str)
                if _dotted_end(target) == name and (not known or written == attr):
                    return True
                if not isinstance(target, ast.Name | ast.Attribute) and (
                    not known or written == name
                ):
                    return True  # `setattr(sys.modules[__name__], "db", pool)`
    return False


def _rebound(info: ModuleInfo) -> tuple[frozenset[str], frozenset[str]]:
    """Names a function assigns again through `global` (or `globals()["X"] = …`), and
    attribute names assigned through a class (`cls.X =`, `Repo.X =`, `setattr(Repo, "X", …)`)
    anywhere in the module: what the module body wrote there is not what a call reads."""
    if info._rebound is None:
        _scan_scopes(info)
    assert info._rebound is not None
    return info._rebound


def _function_nonlocals(info: FunctionInfo) -> frozenset[str]:
    """Names the functions nested in this one assign again through `nonlocal`."""
    module = info.module
    if module._nonlocals is None:
        _scan_scopes(module)
    assert module._nonlocals is not None
    found = module._nonlocals.get(id(info.node))
    return found if found is not None else _nonlocals(info.node)


def _class_hook_stores(tree: ast.Module) -> set[int]:
    """The `cls.X = …` of the module that set an attribute of their own class or a subclass
    of it, the ids of their targets: in the body of a `@classmethod` (or `__init_subclass__`)
    taking `cls` first, defined directly in a class statement with plain bases (no metaclass,
    no `type` among them, none unpacked or called), `cls` not bound again there (nor in a
    function nested in it, which is not read). The index asks which classes share them
    (`ProjectIndex.hooked_attribute`)."""
    found: set[int] = set()
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef) or cls.keywords:
            continue
        if not all(isinstance(b, ast.Name | ast.Attribute | ast.Subscript) for b in cls.bases):
            continue
        if any(
            ast.unparse(b).split(".")[-1] == "type" or "Meta" in ast.unparse(b) for b in cls.bases
        ):
            continue
        for method in cls.body:
            if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            decorators = [ast.unparse(d) for d in method.decorator_list]
            hook = method.name == "__init_subclass__" and decorators in ([], ["classmethod"])
            if not hook and decorators != ["classmethod"]:
                continue
            first = [*method.args.posonlyargs, *method.args.args][:1]
            if not first or first[0].arg != "cls":
                continue
            if any(isinstance(n, ast.Nonlocal) and "cls" in n.names for n in ast.walk(method)):
                continue  # (a nested function binding `cls` again)
            stores: list[ast.Attribute] = []
            rebound = False
            todo: list[ast.AST] = list(method.body)
            while todo and not rebound:
                node = todo.pop()
                if isinstance(
                    node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
                ):
                    continue
                if (
                    isinstance(node, ast.Name)
                    and node.id == "cls"
                    and not isinstance(node.ctx, ast.Load)
                ) or (isinstance(node, ast.Global | ast.Nonlocal) and "cls" in node.names):
                    rebound = True
                elif (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Store | ast.Del)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "cls"
                    and not node.attr.startswith("__")
                ):
                    stores.append(node)
                todo.extend(ast.iter_child_nodes(node))
            if not rebound:
                found.update(id(s) for s in stores)
    return found


def _scan_scopes(info: ModuleInfo) -> None:
    """`_mutated`, `_rebound` and every function's nested `nonlocal` names, in one walk of the
    module (a walk per function cost as many walks of a body as it is deep)."""
    mutated: set[str] = set()
    names: set[str] = set()
    attributes: set[str] = set()
    classes: set[str] = set()
    through: list[tuple[str, str]] = []  # (name, attribute): `Name.attribute = …`
    declared: dict[int, set[str]] = {}  # outermost function -> its `global` names
    stored: dict[int, set[str]] = {}  # outermost function -> names it (or a nested one) assigns
    nonlocals: dict[int, set[str]] = {}
    Chain = tuple[ast.FunctionDef | ast.AsyncFunctionDef, ...]
    stack: list[tuple[ast.AST, Chain]] = [(info.tree, ())] if info.tree is not None else []
    recognized: set[int] = set()  # `globals()` read or changed where the walk reads it
    # a list or dict changed through another name for it (round 28, outside review h28e:
    # `ALIAS = QS; ALIAS.append(…)`, `add(QS, …)` with `def add(lst, q): lst.append(q)` left
    # QS read as its display or comprehension)
    aliases: list[tuple[str, str]] = []
    passed: list[tuple[str, int | str, str]] = []  # (function, position or keyword, name)
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    hooked = _class_hook_stores(info.tree) if info.tree is not None else set()
    # each function -> the names it (or a function nested in it) changes in place: gathered in
    # the one walk (a walk of each function's body cost as many walks as it is deep)
    changing: dict[int, set[str]] = {}
    while stack:
        node, chain = stack.pop()
        kind = type(node)
        if kind is ast.Name:  # (a name's only child is its context)
            if chain and isinstance(node.ctx, ast.Store | ast.Del):  # type: ignore[attr-defined]
                stored.setdefault(id(chain[0]), set()).add(node.id)  # type: ignore[attr-defined]
            continue
        if kind not in _SCOPE_READ:  # none of the cases below: its children (session 34)
            stack.extend((child, chain) for child in _scope_children(node))
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Name):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            aliases.extend((t.id, node.value.id) for t in targets if isinstance(t, ast.Name))
        elif (
            isinstance(
                node, ast.Assign | ast.AnnAssign | ast.For | ast.AsyncFor | ast.comprehension
            )
            and (node.value if isinstance(node, ast.Assign | ast.AnnAssign) else node.iter)
            is not None
        ):
            # a list held in another (outside review h31h): `REG = {"c": COLUMNS}` then
            # `REG["c"].pop(0)`, `for cols in [COLUMNS]: cols.pop(0)` (a comprehension's
            # `for` too) change COLUMNS
            held = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else node.iter
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(held, ast.List | ast.Tuple | ast.Set | ast.Dict):
                elements = held.values if isinstance(held, ast.Dict) else held.elts
                aliases.extend(
                    (t.id, e.id)
                    for t in targets
                    if isinstance(t, ast.Name)
                    for e in elements
                    if isinstance(e, ast.Name)
                )
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            # `def admin(cols=COLUMNS): cols.pop(0)`: the default is the module's list
            arguments = node.args
            ordered = [*arguments.posonlyargs, *arguments.args]
            pairs = [
                *zip(
                    ordered[len(ordered) - len(arguments.defaults) :],
                    arguments.defaults,
                    strict=False,
                ),
                *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
            ]
            aliases.extend(
                (a.arg, d.id) for a, d in pairs if d is not None and isinstance(d, ast.Name)
            )
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            passed.extend(
                (node.func.id, i, a.id) for i, a in enumerate(node.args) if isinstance(a, ast.Name)
            )
            passed.extend(
                (node.func.id, k.arg, k.value.id)
                for k in node.keywords
                if k.arg and isinstance(k.value, ast.Name)
            )
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.append(node)
            changing[id(node)] = set()
        if chain:
            # what the functions it is in change of their own names (their parameters)
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
                for outer in chain:
                    _changed(node.value, changing[id(outer)])
            elif isinstance(node, ast.AugAssign):
                for outer in chain:
                    _changed(node.target, changing[id(outer)])
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATORS
            ):
                for outer in chain:
                    _changed(node.func.value, changing[id(outer)])
        if chain and type(node) in _BINDING_KINDS:
            # what else binds a name a `global` may make the module's: an import, an
            # exception's name, a match's capture, a nested def (round 26b, outside attack)
            bound = _bound_names(node)
            if bound:
                stored.setdefault(id(chain[0]), set()).update(bound)
        if isinstance(node, ast.Subscript | ast.Attribute) and (
            isinstance(node, ast.Subscript) or node.attr in _NAMESPACE_METHODS
        ):
            recognized.add(id(node.value))
        elif isinstance(node, ast.Compare):
            recognized.update(id(c) for c in node.comparators)
        if (
            isinstance(node, ast.Call)
            and _dotted(node.func) in ("globals", "vars")
            and not node.args
            and id(node) not in recognized
        ):
            # `g = globals()` then `g["X"] = …`, `exec(code, globals())`: any name
            names.add(_ANY_NAME)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            chain = (*chain, node)
            nonlocals.setdefault(id(node), set())
        elif isinstance(node, ast.ClassDef):
            classes.add(node.name)
        elif isinstance(node, ast.Global) and chain:
            declared.setdefault(id(chain[0]), set()).update(node.names)
        elif isinstance(node, ast.Global):  # in a class body: its assignments are the module's
            names.update(node.names)
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            # `[(p := x) for x in …]` binds p in the scope around the comprehension, not where
            # the walk reads it (round 25, outside attack: the pinned value stayed)
            for inner in ast.walk(node):
                if isinstance(inner, ast.NamedExpr) and isinstance(inner.target, ast.Name):
                    if chain:
                        nonlocals[id(chain[-1])].add(inner.target.id)
                    else:
                        names.add(inner.target.id)
        elif isinstance(node, ast.Nonlocal):
            for outer in chain[:-1]:  # the functions this one is nested in
                nonlocals[id(outer)].update(node.names)
        elif isinstance(node, ast.Name):
            if chain and isinstance(node.ctx, ast.Store | ast.Del):
                stored.setdefault(id(chain[0]), set()).add(node.id)
        elif isinstance(node, ast.Subscript):
            if isinstance(node.ctx, ast.Store | ast.Del):
                _changed(_subscripted(node.value), mutated)
            if (
                isinstance(node.ctx, ast.Store | ast.Del)
                and isinstance(node.value, ast.Call)
                and _dotted(node.value.func) in ("globals", "vars")
                and not node.value.args
            ):
                # `globals()["X"] = …`; by a key computed (`for k, v in os.environ.items():
                # globals()[k] = v`, h32j): any name
                key = node.slice.value if isinstance(node.slice, ast.Constant) else None
                names.add(key if isinstance(key, str) else _ANY_NAME)
        elif isinstance(node, ast.Attribute):
            if (
                isinstance(node.ctx, ast.Store | ast.Del)
                and isinstance(node.value, ast.Name)
                and id(node) not in hooked
            ):
                through.append((node.value.id, node.attr))
        elif isinstance(node, ast.AugAssign):
            _changed(node.target, mutated)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
                _changed(_subscripted(node.func.value), mutated)
            if (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in ("update", "__setitem__", "setdefault")
                and isinstance(node.func.value, ast.Call)
                and _dotted(node.func.value.func) in ("globals", "vars")
                and not node.func.value.args
            ):
                # `globals().update(X=…)`, `globals().update(table)`: the names given, or
                # any name when they are not written there
                given = [k.arg for k in node.keywords]
                for argument in node.args:
                    if isinstance(argument, ast.Dict) and all(
                        isinstance(k, ast.Constant) and isinstance(k.value, str)
                        for k in argument.keys
                    ):
                        given.extend(k.value for k in argument.keys)  # type: ignore[union-attr]
                    elif isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                        given.append(argument.value)
                    else:
                        given.append(None)
                names.update(_ANY_NAME if g is None else g for g in given)
            if (
                _dotted(node.func) in ("setattr", "delattr")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                attributes.add(node.args[1].value)
            elif (
                _dotted(node.func) in ("setattr", "delattr")
                and node.args
                and isinstance(node.args[0], ast.Name)
            ):
                # `setattr(Repo, name, …)`: which attribute is not written (a class of the
                # module's, or `cls`: checked below)
                through.append((node.args[0].id, _ANY_NAME))
        stack.extend((child, chain) for child in _scope_children(node))
    # a name assigned in a function whose outermost enclosing function declares it `global`
    # somewhere (`global X` without assigning X leaves the constant alone)
    for top, assigned in stored.items():
        names.update(assigned & declared.get(top, set()))
    attributes.update(a for n, a in through if n == "cls" or n in classes)
    changes_parameter: dict[str, set[int | str]] = {}
    for function in functions:
        inside = changing[id(function)]
        positional = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        every = [*positional, *(a.arg for a in function.args.kwonlyargs)]
        changed = changes_parameter.setdefault(function.name, set())
        changed.update(i for i, name in enumerate(positional) if name in inside)
        changed.update(name for name in every if name in inside)
    mutated.update(
        name
        for function_name, where, name in passed
        if where in changes_parameter.get(function_name, ())
    )
    # a name and its aliases are one collection: changed through any, all are (one walk of
    # the pairs as a graph, not a pass over every pair per name added)
    linked: dict[str, list[str]] = {}
    for alias, name in aliases:
        linked.setdefault(alias, []).append(name)
        linked.setdefault(name, []).append(alias)
    pending = [n for n in mutated if n in linked]
    while pending:
        for other in linked[pending.pop()]:
            if other not in mutated:
                mutated.add(other)
                pending.append(other)
    info._mutated = frozenset(mutated)
    info._rebound = (frozenset(names), frozenset(attributes))
    info._nonlocals = {key: frozenset(found) for key, found in nonlocals.items()}


_ANY_NAME = "*"  # `globals().update(table)`: which names it sets is not written
# `globals().get(…)` and the changes read by name (`update`, `__setitem__`, `setdefault`)
_NAMESPACE_METHODS = frozenset(
    {"get", "keys", "values", "items", "copy", "__getitem__", "__contains__"}
    | {"update", "__setitem__", "setdefault"}
)


# what `_scan_scopes` reads nothing of: constants, contexts, operators (a data module's most
# nodes, session 34)
_SCOPE_LEAVES = _all_subclasses(
    ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop
) | {ast.Constant, type(None), str, int}


_BINDING_KINDS = frozenset(
    {ast.Import, ast.ImportFrom, ast.ExceptHandler, ast.MatchAs, ast.MatchStar, ast.MatchMapping}
    | {ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef}
)  # (the nodes `_bound_names` reads a name of)


def _scope_children(node: ast.AST) -> list[ast.AST]:
    """A node's children for `_scan_scopes`, in `ast.iter_child_nodes`'s order, without the
    leaves it reads nothing of."""
    found: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if type(value) is list:
            found.extend(
                child
                for child in value
                if type(child) not in _SCOPE_LEAVES and isinstance(child, ast.AST)
            )
        elif type(value) not in _SCOPE_LEAVES and isinstance(value, ast.AST):
            found.append(value)
    return found


# the nodes `_scan_scopes` reads something of (any other: only its children)
_SCOPE_READ = frozenset(
    {ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.comprehension}
    | {ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Global, ast.Nonlocal}
    | {ast.Call, ast.Subscript, ast.Attribute, ast.Compare, ast.Name}
    | {ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp}
    | {ast.Import, ast.ImportFrom, ast.ExceptHandler, ast.MatchAs, ast.MatchStar}
    | {ast.MatchMapping}
)


def _bound_names(node: ast.AST) -> list[str]:
    """Names a statement or pattern binds other than as an `ast.Name` target."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [a.asname or a.name.split(".", 1)[0] for a in node.names if a.name != "*"]
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
        return [node.name] if node.name else []
    if isinstance(node, ast.MatchMapping):
        return [node.rest] if node.rest else []
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    return []


def _sets_any_attribute(node: ast.AST, this: str) -> bool:
    """`setattr(self, key, …)` (or `object.__setattr__(self, …)`) with a name not written,
    `self.__dict__.update(…)`, `vars(self).update(…)`, `self.__dict__[key] = …`: an attribute
    of `self` whose name only the run knows."""

    def is_this(expr: ast.expr) -> bool:
        return isinstance(expr, ast.Name) and expr.id == this

    def namespace(expr: ast.expr) -> bool:  # `self.__dict__`, `vars(self)`
        return (
            isinstance(expr, ast.Attribute) and expr.attr == "__dict__" and is_this(expr.value)
        ) or (
            isinstance(expr, ast.Call)
            and _is_name(expr.func, "vars")
            and len(expr.args) == 1
            and is_this(expr.args[0])
        )

    if isinstance(node, ast.Call):
        func = node.func
        key: ast.expr | None = None
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr"):
            if len(node.args) >= 2 and is_this(node.args[0]):  # `setattr(self, key, …)`
                key = node.args[1]
        elif isinstance(func, ast.Attribute) and func.attr in ("__setattr__", "__delattr__"):
            if is_this(func.value) or (  # `self.__setattr__(key, …)`, `super().__setattr__`
                isinstance(func.value, ast.Call) and _is_name(func.value.func, "super")
            ):
                key = node.args[0] if node.args else None
            elif len(node.args) >= 2 and is_this(node.args[0]):  # `object.__setattr__(self, …)`
                key = node.args[1]
        if key is not None:
            return not (isinstance(key, ast.Constant) and isinstance(key.value, str))
        if isinstance(func, ast.Attribute) and func.attr in _MUTATORS and namespace(func.value):
            return True
    if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        return any(
            isinstance(t, ast.Subscript)
            and namespace(t.value)
            and not (isinstance(t.slice, ast.Constant) and isinstance(t.slice.value, str))
            for t in targets
        )
    return False


def _c3_merge(lines: list[list[ClassInfo]]) -> list[ClassInfo] | None:
    """C3's merge of the bases' linearizations and the list of the bases (None: no order
    keeps every list's, and Python raises TypeError)."""
    lines = [list(line) for line in lines if line]
    out: list[ClassInfo] = []
    while lines:
        for line in lines:
            head = line[0]
            if not any(head in other[1:] for other in lines):
                break
        else:
            return None
        out.append(head)
        lines = [rest for rest in ([c for c in line if c is not head] for line in lines) if rest]
    return out


_LOCAL_CHANGES: dict[int, tuple[ast.AST, ProjectIndex, frozenset[str]]] = {}
# calls that read a list or dict given to them and keep no hold of it
_READERS = frozenset(
    """len list tuple set frozenset sorted reversed enumerate zip iter any all min max sum str
    repr print isinstance dict map filter""".split()  # noqa: SIM905
)


def _shared_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Names a function (or one nested in it) declares `global` or `nonlocal`: not its own."""
    return frozenset(
        name
        for node in ast.walk(function)
        if isinstance(node, ast.Global | ast.Nonlocal)
        for name in node.names
    )


def _local_changes(
    function: ast.FunctionDef | ast.AsyncFunctionDef, index: ProjectIndex
) -> frozenset[str]:
    """Local names whose list or dict a function may change in place: changed there or in a
    function nested in it (`X.append(…)`, `X[k] = …`, `X += …`), bound to another name
    (`alias = X`), or handed to a function called by its name that is not a known reader
    (`add(X, q)`; a method, `conn.fetch(**kw)`, reads it, as for the module's names). Another
    function's local of the same name is another list (before, `fields.append(…)` in one
    method made every method's `fields = [...]` unknown)."""
    cached = _LOCAL_CHANGES.get(id(function))
    if cached is not None and cached[0] is function and cached[1] is index:
        return cached[2]
    found: set[str] = set()
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(function):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    for node in ast.walk(function):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            _changed(_subscripted(node.value), found)
        elif isinstance(node, ast.AugAssign):
            _changed(node.target, found)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
                _changed(_subscripted(node.func.value), found)
        elif (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and not _only_read(node, parents, index)
        ):
            # anything else may hand the list on (outside review h31h): `holder = {"a": X}`
            # then `holder["a"].append(…)`, `grow = X.append`, `for l in [X]: l.append(…)`,
            # `more = X or []`, `self.widen(X)` (a project method), `yield X` — what is done
            # with it there is not followed: changed
            found.add(node.id)
    result = frozenset(found)
    _LOCAL_CHANGES[id(function)] = (function, index, result)
    return result


# context managers that may end their body early, the code after them run (`suppressing`)
_SUPPRESSING = frozenset({"suppress", "move_on_after", "move_on_at", "CancelScope"})


def _subscripted(target: ast.expr) -> ast.expr:
    """The list or dict an item is taken from: `X` of `X["a"][0]` (changing the item changes
    what `X` holds)."""
    while isinstance(target, ast.Subscript):
        target = target.value
    return target


# methods that read a list or dict, keep no hold of it and return no view of it to change
_READING_METHODS = frozenset(
    """copy get items keys values index count join format""".split()  # noqa: SIM905
)


def _only_read(name: ast.Name, parents: dict[ast.AST, ast.AST], index: ProjectIndex) -> bool:
    """Whether this use of a local name only reads what it holds: an item (`X[k]`), a method
    that reads (`X.get(k)`, `X.items()`, `", ".join(X)`), a test (`k in X`, `if X`), a loop
    over it, a known reading builtin (`len(X)`, `sorted(X)`), text of it (`f"{X}"`), a new list
    made of it (`X + [..]`), or its `return`; a call of a mutator on it is a change counted
    elsewhere."""
    parent = parents.get(name)
    if isinstance(parent, ast.Starred | ast.keyword):  # `f(*X)`, `f(key=X)`, `f(**X)`
        name, parent = parent, parents.get(parent)  # type: ignore[assignment]
    if isinstance(parent, ast.Subscript) and parent.value is name:
        outer = parents.get(parent)
        # `X[k].append(…)` is counted as a change of X; `X[k]` otherwise reads an item
        return not (isinstance(outer, ast.Attribute) and outer.attr in _MUTATORS)
    if isinstance(parent, ast.Attribute):
        call = parents.get(parent)
        called = isinstance(call, ast.Call) and call.func is parent
        return called and parent.attr in _READING_METHODS | _MUTATORS
    if isinstance(parent, ast.Compare | ast.FormattedValue | ast.Return | ast.UnaryOp):
        return True
    if isinstance(parent, ast.BinOp):
        return True  # `X + [..]`, `X * 2`: a new list
    if isinstance(parent, ast.If | ast.While | ast.Assert) and parent.test is name:
        return True
    if isinstance(parent, ast.For | ast.AsyncFor | ast.comprehension) and parent.iter is name:
        return True
    if isinstance(parent, ast.Call) and parent.func is not name:
        func = parent.func
        if isinstance(func, ast.Name) and func.id in _READERS:
            return True
        # a driver's method reads what it is given (`conn.fetch(**kw)`, `", ".join(X)`); one
        # the project defines may change it (`self.widen(X)`)
        return isinstance(func, ast.Attribute) and (
            func.attr in _READING_METHODS or not index.may_define(func.attr)
        )
    return False


def _changed(target: ast.expr, found: set[str]) -> None:
    """The name (or attribute name) a change in place (`X[k] =`, `X.append(…)`) is made to."""
    if isinstance(target, ast.Name):
        found.add(target.id)
    elif isinstance(target, ast.Attribute):
        found.add(target.attr)


def _nonlocals(node: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Names the functions nested in this one assign again through `nonlocal`."""
    found: set[str] = set()
    for inner in ast.walk(node):
        if inner is not node and isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
            for statement in ast.walk(inner):
                if isinstance(statement, ast.Nonlocal):
                    found.update(statement.names)
    return frozenset(found)


# decorators that keep what the function returns
_KEEPING = frozenset(
    {"property", "cached_property", "staticmethod", "classmethod", "abstractmethod"}
    | {"cache", "lru_cache", "override", "wraps"}
)


# decorators that call the function with its callers' arguments, unchanged
_ARGUMENTS_KEPT = _KEEPING | frozenset(
    """contextmanager asynccontextmanager retry on_exception on_predicate singledispatch
    singledispatchmethod overload final deprecated total_ordering""".split()  # noqa: SIM905
)


def _forwards_arguments(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A decorator `def deco(fn)` whose functions call `fn` only as `fn(*args, **kwargs)` with
    their own `*args` / `**kwargs`, neither assigned anywhere in it."""
    if not node.args.args or node.args.vararg or node.args.kwarg:
        return False
    fn = node.args.args[0].arg
    assigned: set[str] = set()
    packs: set[str] = set()
    calls: list[ast.Call] = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store | ast.Del):
            assigned.add(inner.id)
        elif isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef) and inner is not node:
            for pack in (inner.args.vararg, inner.args.kwarg):
                if pack is not None:
                    packs.add(pack.arg)
        elif isinstance(inner, ast.Call) and _is_name(inner.func, fn):
            calls.append(inner)
    if fn in assigned or packs & assigned or not calls:
        return False
    for call in calls:
        starred = [a for a in call.args if isinstance(a, ast.Starred)]
        if not (
            len(call.args) == len(starred) <= 1
            and all(isinstance(a.value, ast.Name) and a.value.id in packs for a in starred)
            and all(
                k.arg is None and isinstance(k.value, ast.Name) and k.value.id in packs
                for k in call.keywords
            )
        ):
            return False
    # the packs are used only as they are passed (not `args[0].replace(…)`, not changed)
    for inner in ast.walk(node):
        if (
            isinstance(inner, ast.Subscript | ast.Attribute)
            and isinstance(inner.value, ast.Name)
            and inner.value.id in packs
        ):
            return False
    return True


def _decorated(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a decorator may put another function in its place (`@swap`): what the body
    returns is then not what a call gives."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if _dotted(target).rsplit(".", 1)[-1] not in _KEEPING:
            return True
    return False


def _string_like(node: ast.expr) -> bool:
    """Whether a returned expression may be SQL text worth following (not `await fetch()`)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr | ast.Name | ast.Attribute | ast.IfExp | ast.Subscript):
        return True
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.Add | ast.Mod)
    return isinstance(node, ast.Call)  # `" ".join(…)`, `build()`: read; `await …` is not


def _is_property(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """`@property`, `@functools.cached_property`: reading the attribute runs the getter."""
    for decorator in node.decorator_list:
        name = _dotted(decorator).rsplit(".", 1)[-1]
        if name in ("property", "cached_property"):
            return True
    return False


# decorators and bases of classes whose annotated attributes are fields set by the constructor
_RECORD_DECORATORS = frozenset({"dataclass", "define", "frozen", "mutable", "attrs", "s", "Struct"})
_RECORD_BASES = frozenset({"NamedTuple", "BaseModel", "BaseSettings", "Struct", "SQLModel"})


def _makes_records(info: ClassInfo) -> bool:
    """A dataclass, a NamedTuple, an attrs class, a pydantic model, a msgspec struct."""
    for decorator in info.node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if _dotted(target).rsplit(".", 1)[-1] in _RECORD_DECORATORS:
            return True
    return any(_dotted(base).rsplit(".", 1)[-1] in _RECORD_BASES for base in info.base_exprs)


def _plain_dataclass(info: ClassInfo) -> bool:
    """A class made a dataclass by the standard library's decorator (no other way to make it a
    record, as a pydantic settings class's fields read the environment)."""
    decorators = [d.func if isinstance(d, ast.Call) else d for d in info.node.decorator_list]
    # (the standard library's, as the module imports it, and no other decorator: a project's
    # own `dataclass`, or one more that wraps `__init__`, may make the fields what it likes)
    return (
        bool(decorators)
        and any(_standard(info, d, ("dataclasses",), "dataclass") for d in decorators)
        and all(
            _standard(info, d, ("dataclasses",), "dataclass")
            or _standard(info, d, ("typing", "typing_extensions"), "final")
            or _standard(info, d, ("functools",), "total_ordering")
            for d in decorators
        )
        and not any(_dotted(b).rsplit(".", 1)[-1] in _RECORD_BASES for b in info.base_exprs)
    )


def _standard(info: ClassInfo, node: ast.expr, modules: tuple[str, ...], name: str) -> bool:
    """Whether `node` (a decorator, a base) is `name` of one of the standard library's
    `modules` as the class's module imports it (`from dataclasses import dataclass`,
    `import dataclasses as dc; dc.dataclass`), not a project's own of that name."""
    if isinstance(node, ast.Name):
        bound = info.base_env.get(node.id) or info.module.env.get(node.id)
        return (
            isinstance(bound, ImportedRef)
            and bound.name == name
            and bound.module.level == 0
            and bound.module.name in modules
        )
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr == name:
        bound = info.base_env.get(node.value.id) or info.module.env.get(node.value.id)
        return isinstance(bound, ModuleRef) and bound.level == 0 and bound.name in modules
    return False


def _is_enum(info: ClassInfo) -> bool:
    """A class with an `Enum` base (`Enum`, `StrEnum`, `enum.IntEnum`…), also under another
    name (`from enum import Enum as E`, `Base = Enum`)."""
    for base in info.base_exprs:
        if _dotted(base).rsplit(".", 1)[-1].endswith("Enum"):
            return True
        if isinstance(base, ast.Name):
            bound = info.base_env.get(base.id) or info.module.env.get(base.id)
            if isinstance(bound, ImportedRef) and bound.name.endswith("Enum"):
                return True
    return False


# flags that leave what `\s` matches as it is (not `re.ASCII`: then `\s` is ASCII only)
_SAME_BLANKS = frozenset(
    f"re.{name}"
    for name in ("M", "MULTILINE", "I", "IGNORECASE", "S", "DOTALL", "U", "UNICODE", "X")
)


def _flags(nodes: Sequence[ast.expr]) -> list[ast.expr]:
    """The flags `re.M | re.I` names, each (an expression that is no `|` of names: itself)."""
    out: list[ast.expr] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            stack.extend((node.left, node.right))
        else:
            out.append(node)
    return out


# a text file larger than this read by the program (`Path(…).read_text()`) is not read here
_MAX_READ_FILE = 1 << 20
# the whitespace patterns a normaliser replaces by one blank, and the shortest run each matches
_WHITESPACE_PATTERNS = {r"\s+": 1, r"\s{1,}": 1, r"[\s]+": 1, r"\s{2,}": 2, r"\s\s+": 2}


def _constant_text_of(value: Value) -> str | None:
    """The text of a value that is one constant, else None."""
    return _constant_text(value[0]) if len(value) == 1 else None


def sent_unchanged(template: Value) -> bool:
    """Whether a wrapper's template sends its parameter as it is (not completed, not
    normalised)."""
    return (
        len(template) == 1
        and len(template[0]) == 1
        and type(template[0][0]) is Hole
        and template[0][0].transform is None
    )


# what a record's constructor or attribute reads run: assigned on the class from outside, a
# field is not what the call gave it
_RECORD_MAKERS = ("__init__", "__new__", "__post_init__", "__setattr__", "__getattribute__")


def _constructor_fields(info: ClassInfo) -> tuple[tuple[str, ...] | None, bool]:
    """The fields a plain dataclass's or a `NamedTuple`'s generated constructor takes, in
    order, and whether they are keyword-only; None where the reader cannot tell: a project
    base (its fields come first), a base it cannot read, its own `__init__`/`__post_init__`,
    a validator, `InitVar`, `field(init=False)`, a `KW_ONLY` marker."""
    bases = info.base_exprs
    named_tuple = len(bases) == 1 and _standard(
        info, bases[0], ("typing", "typing_extensions"), "NamedTuple"
    )
    if named_tuple and info.node.decorator_list:
        return None, False  # (a decorator may wrap what the class makes)
    kw_only = False
    if not named_tuple:
        if bases or not _plain_dataclass(info):
            return None, False
        for decorator in info.node.decorator_list:
            if isinstance(decorator, ast.Call):
                for keyword in decorator.keywords:
                    if keyword.arg is None:
                        return None, False
                    if keyword.arg == "kw_only":
                        if not isinstance(keyword.value, ast.Constant):
                            return None, False
                        kw_only = bool(keyword.value.value)
                    if keyword.arg == "init" and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is True
                    ):
                        return None, False
    if info.node.keywords or _may_change_fields(info):
        return None, False
    fields: list[str] = []
    for statement in info.node.body:
        if isinstance(
            statement, ast.If | ast.Try | ast.TryStar | ast.With | ast.For | ast.While | ast.Match
        ) and any(isinstance(sub, ast.AnnAssign) for sub in ast.walk(statement)):
            # a field annotated under `if`/`try` of the class body is a field too, in the
            # order Python meets it (h34N): not read
            return None, False
        if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
            continue
        annotation = ast.unparse(statement.annotation)
        # (the markers also under another name: `from typing import ClassVar as CV`)
        for word in _HELD_WORD.findall(annotation):
            bound = info.base_env.get(word) or info.module.env.get(word)
            if isinstance(bound, ImportedRef) and bound.name in _FIELD_MARKERS:
                annotation += " " + bound.name
        if "ClassVar" in annotation:
            continue
        if "InitVar" in annotation or "KW_ONLY" in annotation:
            return None, False
        if (
            statement.value is not None
            and not named_tuple
            and not _plain_default(info, statement.value)
        ):
            # `field(…)` (init=False, kw_only, a factory…), also held by a name (`F = field(…)`,
            # `text: str = F`): only a default written as a literal or a string's name is read
            return None, False
        fields.append(statement.target.id)
    return tuple(fields), kw_only


_FIELD_MARKERS = frozenset({"ClassVar", "InitVar", "KW_ONLY"})


def _plain_default(info: ClassInfo, node: ast.expr) -> bool:
    """A field's default that is no `field(…)`: no call in it, and no name the module binds to
    a call's result (`hidden = field(init=False)`, `text: str = hidden`) or imports."""
    calls = _names_bound_to_calls(info.module.tree)
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call | ast.Lambda | ast.NamedExpr | ast.Await | ast.Yield):
            return False
        if isinstance(sub, ast.Name) and (
            sub.id in calls or isinstance(info.module.env.get(sub.id), ImportedRef)
        ):
            return False
    return True


def _names_bound_to_calls(tree: ast.Module | None) -> frozenset[str]:
    """The names a module's body binds to the result of a call (`F = field(…)`)."""
    if tree is None:
        return frozenset()
    return frozenset(
        target.id
        for statement in tree.body
        if isinstance(statement, ast.Assign | ast.AnnAssign)
        and isinstance(statement.value, ast.Call)
        for target in (
            statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        )
        if isinstance(target, ast.Name)
    )


def _may_change_fields(info: ClassInfo) -> bool:
    """Whether a record class may give a field another value than the one it was made with:
    its own `__init__`, `__post_init__`, `model_post_init`, `__setattr__`, or a validator
    (`@field_validator`, `@validator`, `@model_validator`, attrs' `@x.validator`…)."""
    for name, method in info.methods.items():
        if name in ("__init__", "__post_init__", "model_post_init", "__setattr__", "__new__"):
            return True
        for decorator in method.node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if "validator" in _dotted(target).lower() or "converter" in _dotted(target).lower():
                return True
    return False


class FileNamed:
    """What `(SQL_DIR / f"{name}.sql").read_text()` reads for each name a call gives its
    function: that file's text (placed at the reading), or a value known only at run time
    where the name is not constant or no such file is there."""

    __slots__ = ("after", "before", "directory", "index", "node", "origin")

    def __init__(
        self,
        index: ProjectIndex,
        directory: str,
        before: str,
        after: str,
        node: ast.AST,
        origin: Origin,
    ) -> None:
        self.index, self.directory, self.before, self.after = index, directory, before, after
        self.node, self.origin = node, origin

    def __call__(self, value: Value) -> Value:
        out: list[Alternative] = []
        for alternative in value:
            name = _constant_text(alternative)
            path = (
                None
                if name is None
                else os.path.join(self.directory, self.before + name + self.after)
            )
            text = None if path is None else self.index.read_file(path)
            if text is None:
                reason = "the file it reads is only known at run time, or is not there"
                out.extend(hole(self.node, self.origin, reason))
            else:
                out.append((Lit(text, self.origin, None, 0, self.node, path),))
        return tuple(dict.fromkeys(out))


def _named_lambda(node: ast.Assign) -> ast.FunctionDef | None:
    """`q = lambda sql, *a: conn.fetch(sql, *a)` as the function it stands for (`def q(sql,
    *a): return conn.fetch(sql, *a)`), so that it is a wrapper as a `def` is: the SQL its
    callers give is checked at their calls (before, TG009 at the lambda's parameter, the
    SQL itself unchecked). None for any other assignment."""
    if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
        return None
    lam = node.value
    if not isinstance(lam, ast.Lambda):
        return None
    returned = ast.copy_location(ast.Return(value=lam.body), lam.body)
    defined = ast.FunctionDef(
        name=node.targets[0].id, args=lam.args, body=[returned], decorator_list=[], returns=None
    )
    return ast.copy_location(defined, lam)


def _enum_member_name(name: str) -> bool:
    """Whether a name an enum's body binds is one of its members: not a `_sunder_`, a
    `__dunder__` nor a private `__name`."""
    return not (name.startswith("__") or (name.startswith("_") and name.endswith("_")))


def _generator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function's own body yields (calling it gives a generator)."""
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Yield | ast.YieldFrom):
            return True
        if not isinstance(
            current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            stack.extend(ast.iter_child_nodes(current))
    return False


# uses of a class's name that do not make an object of it (see `_may_be_made`)
_ANNOTATED = lazy_pattern(r"(?:(?<!lambda)\b\w+\s*:|->)\s*[\"']?(?:[\w.]+\[)*\Z")
_CHECKED = lazy_pattern(r"\b(?:isinstance|issubclass)\([^()]*\Z|\bsuper\(\s*\Z")


def _makes_by_name(text: str, name: str, pattern: re.Pattern[str]) -> bool:
    """Whether a file's text uses a class's name in a way that may make an object of it."""
    for line in text.splitlines():
        stripped = line.lstrip()
        if name not in line or stripped.startswith(("#", "class ", "import ", "from ")):
            continue
        for match in pattern.finditer(line):
            before, after = line[: match.start()], line[match.end() :].lstrip()
            if after.startswith("."):
                continue  # `Name.__init__(self, …)`, `Name.X`
            if _CHECKED.search(before):
                continue
            if (
                not after.startswith("(")
                and _ANNOTATED.search(before)
                and (stripped.startswith(("def ", "async def ")) or re.match(r"\w+\s*:", stripped))
            ):
                continue  # `repo: Name`, `-> Name`, `-> Optional[Name]`
            return True
    return False


def _makes_its_class(method: FunctionInfo) -> bool:
    """`cls(…)`, `type(self)(…)`, `self.__class__(…)`, `X.__new__(…)` in a method."""
    args = method.node.args.args
    first = args[0].arg if args and method.method_kind == "classmethod" else None
    for node in ast.walk(method.node):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            (first is not None and _is_name(func, first))
            or (isinstance(func, ast.Call) and _is_name(func.func, "type"))
            or (isinstance(func, ast.Attribute) and func.attr in ("__class__", "__new__"))
        ):
            return True
    return False


def _rows(elements: list[ast.expr]) -> list[list[ast.expr]] | None:
    """The elements of tuple (or list) displays of one width, none starred."""
    if not elements or not all(isinstance(e, ast.Tuple | ast.List) for e in elements):
        return None
    rows = [list(e.elts) for e in elements if isinstance(e, ast.Tuple | ast.List)]
    width = len(rows[0])
    if (
        not width
        or any(len(r) != width for r in rows)
        or any(isinstance(x, ast.Starred) for r in rows for x in r)
    ):
        return None
    return rows


def _constant_spec(spec: ast.expr | None) -> str | None:
    """An f-string field's format spec when it is written whole (`{n:>5}`); None when a part
    of it is computed (`{n:{width}}`)."""
    if spec is None:
        return ""
    if isinstance(spec, ast.JoinedStr) and all(
        isinstance(v, ast.Constant) and isinstance(v.value, str) for v in spec.values
    ):
        return "".join(str(v.value) for v in spec.values if isinstance(v, ast.Constant))
    return None


def _constant_text(alternative: tuple[Lit | Hole, ...]) -> str | None:
    """The text of an alternative made of constants only, else None."""
    texts = []
    for part in alternative:
        if type(part) is not Lit:
            return None
        texts.append(part.text)
    return "".join(texts)


def _sql_like(value: Value) -> bool:
    """Whether some alternative of a value starts like SQL (its unknown parts left empty)."""
    return any(starts_like_sql(skeleton(alternative)) for alternative in value)


def _carries_parameters(call: Call, owner: FunctionInfo) -> bool:
    """Whether an argument of the call holds text of a parameter of `owner` (what
    `passed_parameters` looks for): only then can the call make `owner` a wrapper, and the
    callees' own answers are not needed (working them out reads their modules, and theirs)."""
    values = [a[1] for a in call.positional if a is not None]
    values.extend(a[1] for a in call.keywords.values())
    values.extend(call.elements.values())
    return any(
        type(part) is Hole and part.owner is owner
        for value in values
        for alternative in value
        for part in alternative
    )


def passed_parameters(value: Value, owner: FunctionInfo) -> dict[str, Value]:
    """Parameters of `owner` whose text a value sends as SQL, each with the alternatives that
    send it (its template): held unchanged, or completed — the alternative starts with it,
    or with constant text ending in `(` before it (`f"{query} LIMIT 50"`, `f"SELECT
    count(*) FROM ({query}) AS q"`), and holds it once. A parameter inside the text (`FROM
    {table}`) is not one: the function builds its SQL from it."""
    out: dict[str, list[Alternative]] = {}
    for alternative in value:
        for index, part in enumerate(alternative):
            if type(part) is not Hole:
                continue
            if part.param is None or part.owner is not owner:
                break
            before = "".join(p.text for p in alternative[:index] if type(p) is Lit)
            if (
                before.strip()
                and not _SUBQUERY_OPEN.search(before)
                and not _CLAUSE_OPEN.search(before)
            ):
                break
            if any(
                type(p) is Hole and p.param == part.param and p.owner is owner
                for p in alternative[index + 1 :]
            ):
                break
            out.setdefault(part.param, []).append(alternative)
            break
    return {name: tuple(alternatives) for name, alternatives in out.items()}


# where a complete query stands inside another: `FROM (`, `JOIN (`, `LATERAL (`, `EXISTS (`, a
# CTE's `AS (` (not `IN (`: a list of values)
_SUBQUERY_OPEN = lazy_pattern(r"\b(?:FROM|JOIN|LATERAL|EXISTS|AS)\s*\(\s*$", re.IGNORECASE)
# where a caller's condition stands in a wrapper's statement (`"SELECT … WHERE " + clause`): the
# callers' SQL is checked with the wrapper's around it
_CLAUSE_OPEN = lazy_pattern(r"\b(?:WHERE|AND)\s*\(?\s*$", re.IGNORECASE)
# conditions the wrapper adds after the caller's, and the statement's tail
_MORE_CONDITIONS = lazy_pattern(
    r"\s*\)?\s*AND\b(?![\s\S]*\b(?:UNION|INTERSECT|EXCEPT|OR|JOIN|FROM|WHERE)\b)", re.IGNORECASE
)
# what may follow a complete statement without changing the rows it reads
# (after a subquery's `)` and its alias)
_STATEMENT_TAIL = lazy_pattern(
    r"(?:\s*\)\s*(?:AS\s+)?(?!LIMIT\b|OFFSET\b|ORDER\b|FETCH\b|FOR\b|UNION\b|JOIN\b)\w*)?"
    r"\s*(?:;\s*$|$|(?:LIMIT|OFFSET|ORDER\s+BY|FETCH\s+(?:FIRST|NEXT)|FOR\s+(?:UPDATE|SHARE|NO\s+KEY"
    r"\s+UPDATE|KEY\s+SHARE))\b(?![\s\S]*\b(?:UNION|INTERSECT|EXCEPT|OR|JOIN|FROM|WHERE)\b))",
    re.IGNORECASE,
)


def completes_only(alternative: Alternative, parameter: str, owner: object) -> bool:
    """Whether a wrapper's SQL keeps what its parameter reads: the parameter stands alone, or
    first with only a statement's tail after it (`LIMIT …`, `ORDER BY …`, `FOR UPDATE`), or
    inside a subquery (`FROM ({query}) AS q`). Then the wrapper itself has nothing to say:
    its callers' SQL is checked with what it adds. Otherwise (`{query} OR true`) the
    parameter stays TG009 in the wrapper too."""
    for index, part in enumerate(alternative):
        if type(part) is Hole and part.param == parameter and part.owner is owner:
            after = "".join(p.text if type(p) is Lit else " 0 " for p in alternative[index + 1 :])
            before = "".join(p.text for p in alternative[:index] if type(p) is Lit)
            if _CLAUSE_OPEN.search(before):  # `WHERE {clause}`: more conditions, or the tail
                return _STATEMENT_TAIL.match(after) is not None or (
                    _MORE_CONDITIONS.match(after) is not None
                )
            return _STATEMENT_TAIL.match(after) is not None
    return False


def _positional(call: Call, callee: FunctionInfo) -> list[str]:
    """The callee's parameters this call fills by position, in order."""
    if callee.method_kind == "staticmethod":
        return [a.arg for a in (*callee.node.args.posonlyargs, *callee.node.args.args)]
    if call.bound or callee.method_kind in ("function", "classmethod"):
        return callee.positional
    func = call.call.func
    if callee.name == "__init__" and not (
        isinstance(func, ast.Attribute) and func.attr == "__init__"
    ):
        return callee.positional  # `Pages(…)` (a class imported by name): no `self` passed
    return callee.parameters


def given_argument(call: Call, callee: FunctionInfo, parameter: str) -> ast.expr | None:
    """The expression a call surely gives for one of the callee's parameters, or None."""
    found = _argument_for(call, callee, _positional(call, callee), parameter)
    return None if found is None else found[0]


def _argument_for(
    call: Call, callee: FunctionInfo, positional: list[str], parameter: str
) -> tuple[ast.expr, Value] | None:
    """The argument a call gives for one of the callee's parameters, if it surely gives one
    (for `*args`, named `_VARARGS + "args"`: the first it collects; for the items of a
    parameter a loop goes over, named `_ITEMS + "queries"`: the items the argument holds,
    or an unknown item when they are not known)."""
    if parameter.startswith(_ITEMS):
        name = parameter[len(_ITEMS) :]
        key: int | str = name
        if name not in call.keywords and name in positional:
            key = positional.index(name)
            if key >= len(call.positional) or any(a is None for a in call.positional[: key + 1]):
                return None
        given = _argument_for(call, callee, positional, name)
        if given is None:
            return None
        held = call.elements.get(key)
        if held is None:
            reason = f"the items of `{_short(given[0])}` are only known at run time"
            origin = given[1][0][0].origin if given[1] and given[1][0] else None
            if origin is None:
                return None
            held = hole(given[0], origin, reason)
        return given[0], held
    if parameter.startswith(_VARARGS):
        vararg = callee.node.args.vararg
        if vararg is None or parameter != _VARARGS + vararg.arg:
            return None
        index = len(positional)
        if index >= len(call.positional) or any(a is None for a in call.positional[: index + 1]):
            return None  # none given there, or a starred argument before it
        return call.positional[index]
    argument = call.keywords.get(parameter)
    if argument is None and parameter in positional:
        index = positional.index(parameter)
        if index < len(call.positional):
            if any(a is None for a in call.positional[: index + 1]):
                return None  # a starred argument before it: its position is unknown
            argument = call.positional[index]
    return argument


def _default_expression(callee: FunctionInfo, parameter: str) -> ast.expr | None:
    """The default a function's parameter is given when a call leaves it out, if any."""
    arguments = callee.node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    for argument, given in zip(positional[::-1], arguments.defaults[::-1], strict=False):
        if argument.arg == parameter:
            return given
    for argument, maybe in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if argument.arg == parameter:
            return maybe
    return None


def _default(callee: FunctionInfo, part: Hole) -> Value | None:
    """A parameter's constant default (a string, or an int as it is formatted)."""
    arguments = callee.node.args
    defaults: dict[str, ast.expr] = {}
    positional = [*arguments.posonlyargs, *arguments.args]
    for argument, given in zip(positional[::-1], arguments.defaults[::-1], strict=False):
        defaults[argument.arg] = given
    for argument, maybe in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if maybe is not None:
            defaults[argument.arg] = maybe
    default = defaults.get(part.param or "")
    if not isinstance(default, ast.Constant) or isinstance(default.value, bool):
        return None
    origin = callee.module.origin
    if isinstance(default.value, str):
        return ((Lit(default.value, origin, default),),)
    if type(default.value) is int:
        return ((Lit(str(default.value), origin, None, 0, default),),)
    return None


def _substituted(
    template: Value, owner: FunctionInfo, filled: dict[str, Value], node: ast.AST
) -> Value:
    """The template with each parameter of `owner` named in `filled` replaced by its value."""
    out: list[Value] = []
    for alternative in template:
        pieces: list[Value] = []
        start = 0
        for index, part in enumerate(alternative):
            if type(part) is Hole and part.owner is owner and part.param in filled:
                pieces.append((alternative[start:index],))
                given = filled[part.param]
                pieces.append(given if part.transform is None else part.transform(given))
                start = index + 1
        pieces.append((alternative[start:],))
        if len(pieces) == 3 and not pieces[0][0] and not pieces[2][0]:
            out.append(pieces[1])  # sent unchanged: the argument's own value
        else:
            out.append(concat(pieces, node, owner.module.origin))
    return out[0] if len(out) == 1 else union(out, node, owner.module.origin)


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def find_module(directory: str, name: str, level: int) -> str | None:
    """The file of module `name` imported from `directory`: relative to it (`level` dots), or
    in it or its ancestor directories (absolute imports) — none when both a package's own
    directory and one above it hold the name (Python may load either)."""
    parts = [p for p in name.split(".") if p]
    if level:
        base = directory
        for _ in range(level - 1):
            base = os.path.dirname(base)
        return _module_file(os.path.join(base, *parts)) if parts else _module_file(base)
    if not parts:
        return None
    base = directory
    found = None
    for _ in range(12):
        here = _module_file(os.path.join(base, *parts))
        if here is not None:
            if found is not None:
                return None  # two directories answer: which one sys.path holds is unknown
            found = here
            # a package's own directory (`pkg/queries.py` beside `pkg/__init__.py`) is on
            # sys.path only for a script run from it: run as `pkg.x`, Python looks above
            # (round 25), so go on looking; elsewhere the nearest one is the one found
            if not os.path.isfile(os.path.join(base, "__init__.py")):
                return found
        parent = os.path.dirname(base)
        if parent == base:
            return found
        base = parent
    return found


def _module_file(base: str) -> str | None:
    """The file of a module, `__init__.py` of a package, or the directory of a namespace
    package (it holds no names, only submodules) — in the order Python's path finder tries
    them: a package `q/__init__.py` before a module `q.py` beside it (round 25)."""
    init = os.path.join(base, "__init__.py")
    if os.path.isfile(init):
        return init
    if os.path.isfile(base + ".py"):
        return base + ".py"
    return base if os.path.isdir(base) else None


def _load(path: str, index: ProjectIndex) -> ModuleInfo | None:
    from tenantguard.sources.files import read_source  # its coding declaration, as Python

    text, _, _ = read_source(Path(path))
    if text is None:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return analyze_module(text, tree, index, path=path, functions=False)


def analyze_module(
    text: str,
    tree: ast.Module,
    index: ProjectIndex,
    *,
    path: str | None = None,
    display: str = "",
    functions: bool = True,
) -> ModuleInfo:
    """Runs a module's statements; its sinks, calls and strings are in the result. Without
    `functions`, only its body: the function bodies run when `index.finished` is asked."""
    if not display and path is not None:
        display = index.display(path)
    origin = Origin(text.splitlines(keepends=True), path, display)
    info = ModuleInfo(origin, tree)
    if path is not None:
        index.register(info)
    walker = _Walker(info, index)
    try:
        walker.run_body(tree)
        if functions:
            walker.run_functions()
        else:
            info.functions_pending = walker
    except RecursionError:
        info.sinks.clear()
        if path is not None:
            index.unfollowable(path)
        raise
    return info


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _own_calls(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Call]:
    """The calls a function's body makes itself (not those of functions it defines)."""
    out: list[ast.Call] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Call):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _init_parameter(init: FunctionInfo, attribute: str, *, stores: bool = False) -> str | None:
    """The parameter `__init__` stores as `self.<attribute>` and never rebinds, when every
    assignment of that attribute there is of it. With `stores`: any text if the method assigns
    the attribute at all (else None)."""
    args = init.node.args.args
    if not args:
        return None
    this, stored = args[0].arg, set()
    rebound: set[str] = set()
    for node in ast.walk(init.node):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            rebound.add(node.id)
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets, value = [node.target], node.value if isinstance(node, ast.AnnAssign) else None
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and target.attr == attribute
                and _is_name(target.value, this)
            ):
                if stores:
                    return attribute
                if isinstance(node, ast.AugAssign) or not isinstance(value, ast.Name):
                    return None
                stored.add(value.id)
    if len(stored) != 1:
        return None
    (parameter,) = stored
    ok = parameter in init.parameters and parameter != this and parameter not in rebound
    return parameter if ok else None
