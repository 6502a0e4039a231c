"""The names that mark a call as sending SQL, and the naming of expressions.

The query methods of the drivers (`SQL_METHODS`, `CERTAIN_METHODS`) and the other method and
function names a sink, a log line or a query builder is known by; the questions asked of one
call's or receiver's spelling (`_db_named`, `_http_named`, `_django_manager`,
`_receiver_chain`, `expression_name`, `_dotted`, `_is_name`). Relies on nothing else of the
package (`model`'s `ClassInfo` for a type only).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from tenantguard._patterns import lazy_pattern

if TYPE_CHECKING:
    from typing import TypeGuard

    from tenantguard.sources.pyflow.model import ClassInfo


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

# keyword arguments that hold text for people, of any call: argparse's and click's `help=`,
# `description=`, `epilog=`, `usage=`, a prompt, a title (h37D: `ArgumentParser(description=
# "delete from tickets where status is closed")` parsed as a DELETE, TG001)
_PROSE_KEYWORDS = frozenset(
    {"help", "description", "epilog", "usage", "prompt", "title", "summary", "short_help"}
)

# a tracer's span attributes and events, an error tracker's messages and breadcrumbs
_TELEMETRY_METHODS = frozenset(
    {"set_attribute", "set_attributes", "add_event", "set_tag", "capture_message", "add_breadcrumb"}
)

# string methods whose argument is text looked for in the receiver
_TEXT_PROBES = frozenset({"startswith", "endswith", "removeprefix", "removesuffix"})

_TELEMETRY_RECEIVER = lazy_pattern(r"span|trace|sentry|telemetry|otel|scope")

# text written for people on a terminal: rich's `console.print(…)` (`rich.print`,
# `err_console.print`), Django's `self.stdout.write(…)`, `sys.stderr.write(…)` (h39D: a
# `console.print("SELECT * FROM tasks  -- preview")` was TG001, `print(…)` was not)
_CONSOLE_WRITES = {"print": lazy_pattern(r"console|rich"), "write": lazy_pattern(r"std(?:out|err)")}

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


def _all_subclasses(*bases: type) -> frozenset[type]:
    found: set[type] = set()
    stack = list(bases)
    while stack:
        kind = stack.pop()
        found.add(kind)
        stack.extend(kind.__subclasses__())
    return frozenset(found)


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


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name
