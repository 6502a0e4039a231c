"""Outside review h30c: shapes of real application code the Python reader got wrong.

1. SQLAlchemy's `statement=` keyword — `conn.execute(statement=text(query),
   parameters=params)` (a Slack app's repositories, a loader's `upsert(sql, params)`), also
   `scalar(statement=…)` — and the DB-API's `operation=` (pg8000's `cur.execute(operation=…)`)
   were no sink at all: the SQL was checked only where it read as SQL standing alone, so what a
   wrapper added to its callers' SQL (`text(sql + " OR uses > 0")`) and a part known only at
   run time (`"… AND " + where`) passed in silence.
2. SQLModel's `session.exec(text(…))` (its `execute`) and the ORM's
   `session.query(X).from_statement(text(…))` / `select(X).from_statement(…)` send SQL too:
   they were no sinks either, with the same silences.
3. A receiver was "named like a database" when its name held `db`, `con`, `tx`, `cur`, `pg`
   or `pool` anywhere: `container.execute(command)`, `self.controller.execute(action)`,
   `context.execute(task)`, `security.execute(request)`, `sandbox.execute(code)`,
   `feedback_service.execute(item)` — a sandbox's, a command bus's, a DI container's
   `execute` — were TG009 ("SQL passed to .execute() cannot be proven"). The name is read
   word by word now (`read_db`, `dbSession`, `conn2`, `pgpool`, `asyncpg`, `mydb` still are).
4. A pool wrapper's dispatcher — `async def _run(method, query, *args): async with
   _pool.acquire() as conn: return await getattr(conn, method)(query, *args)`, called as
   `_run("fetch", query, *args)` by `fetch_rows(query)`, or `_statement(conn, query,
   method="execute")` — was no sink (a query method looked up by a name held in a variable):
   the SQL its callers gave passed unread, `… OR true` included. A name each value of which is
   a query method is that method; one known only at run time, on a receiver named like a
   database or a connection, is read as `execute` is.
5. SQL kept in a package's `.sql` file and read through importlib.resources —
   `resources.files("bot").joinpath("sql/tags.sql").read_text()`, `(files(__package__) /
   "sql" / "tags.sql").read_text()`, the legacy `resources.read_text("bot.sql", "tags.sql")`
   — was TG009 at every call that sent it ("computed at run time"), what the code added to
   it (`sql + " OR uses > 0"`) only a warning: the text is the file's, as round 29 reads a
   path built from `__file__`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project_files import findings_of_check, write_guild_project

_found = findings_of_check
_project = write_guild_project


# 1. `statement=` / `operation=`: the SQL given by keyword

KEYWORD_WRAPPER = (
    "from sqlalchemy import text\n"
    "\n"
    "\n"
    "class Repo:\n"
    "    def __init__(self, engine):\n"
    "        self.engine = engine\n"
    "\n"
    "    def run(self, sql, params):\n"
    "        with self.engine.begin() as conn:\n"
    "            return conn.CALL(KEYWORD=text(sql + ADDED), parameters=params)\n"
    "\n"
    "    def tag(self, guild_id, name):\n"
    "        return self.run(\n"
    '            "SELECT id FROM tags WHERE guild_id = :guild_id AND name = :name",\n'  # 14
    '            {"name": name, "guild_id": guild_id},\n'
    "        )\n"
)

KEYWORD_CALLS = [
    ("execute", "statement"),
    ("scalar", "statement"),
    ("scalars", "statement"),
    ("execute", "operation"),
]


def _keyword_wrapper(call: str, keyword: str, added: str) -> str:
    return (
        KEYWORD_WRAPPER.replace("CALL", call)
        .replace("KEYWORD", keyword)
        .replace("ADDED", repr(added).replace("'", '"'))
    )


@pytest.mark.parametrize(("call", "keyword"), KEYWORD_CALLS)
def test_what_a_wrapper_adds_to_sql_given_by_keyword_is_found(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    call: str,
    keyword: str,
) -> None:
    _project(tmp_path, {"bot/repo.py": _keyword_wrapper(call, keyword, " OR uses > 0")})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/repo.py", 10, "TG009"),  # (the wrapper's parameter, in the wrapper)
        ("bot/repo.py", 14, "TG001"),  # the caller's pin undone by the OR
    ]


@pytest.mark.parametrize(("call", "keyword"), KEYWORD_CALLS)
def test_a_wrapper_given_sql_by_keyword_that_keeps_the_pin_passes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    call: str,
    keyword: str,
) -> None:
    _project(tmp_path, {"bot/repo.py": _keyword_wrapper(call, keyword, " LIMIT 10")})
    assert _found(tmp_path, capsys, monkeypatch) == []


KEYWORD_RUNTIME = (
    "from sqlalchemy import text\n"
    "\n"
    "\n"
    "async def tags(conn, guild_id: int, where: str):\n"
    "    return await conn.execute(\n"
    "        statement=text(\n"
    '            "SELECT name FROM tags WHERE guild_id = :guild_id AND " + RUNTIME\n'  # 7
    "        ),\n"
    '        parameters={"guild_id": guild_id},\n'
    "    )\n"
)


def test_a_part_known_at_run_time_of_sql_given_by_keyword_is_tg009(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/q.py": KEYWORD_RUNTIME.replace("RUNTIME", "where")})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 7, "TG009")]
    _project(tmp_path, {"bot/q.py": KEYWORD_RUNTIME.replace("RUNTIME", '"uses > 0 OR true"')})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 7, "TG001")]
    _project(tmp_path, {"bot/q.py": KEYWORD_RUNTIME.replace("RUNTIME", '"uses > 0"')})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 2. SQLModel's `exec`, the ORM's `from_statement`

ORM_CALLS = [
    "session.exec(text(SQL)).all()",
    "session.query(Tag).from_statement(text(SQL)).all()",
    "session.scalars(select(Tag).from_statement(text(SQL))).all()",
]

ORM_APP = (
    "from sqlalchemy import select, text\n"
    "from sqlmodel import Session\n"
    "\n"
    "\n"
    "class Tag:\n"
    "    pass\n"
    "\n"
    "\n"
    "def tags(session: Session, guild_id: int, where: str):\n"
    '    sql = "SELECT id, name FROM tags WHERE guild_id = :guild_id AND " + RUNTIME\n'  # 10
    "    return CALL\n"
    "\n"
    "\n"
    "class Store:\n"
    "    def __init__(self, session: Session):\n"
    "        self.session = session\n"
    "\n"
    "    def first(self, sql, **params):\n"
    "        session = self.session\n"
    "        return WRAPPED\n"
    "\n"
    "    def tag(self, guild_id: int, name: str):\n"
    "        return self.first(\n"
    '            "SELECT id FROM tags WHERE guild_id = :guild_id AND name = :name",\n'  # 24
    "            guild_id=guild_id,\n"
    "            name=name,\n"
    "        )\n"
)


def _orm_app(call: str, where: str, added: str) -> str:
    wrapped = call.replace("SQL", "sql + " + repr(added).replace("'", '"'))
    return (
        ORM_APP.replace("WRAPPED", wrapped)
        .replace("CALL", call.replace("SQL", "sql"))
        .replace("RUNTIME", where)
    )


@pytest.mark.parametrize("call", ORM_CALLS)
def test_sql_sent_through_exec_or_from_statement_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    _project(tmp_path, {"bot/q.py": _orm_app(call, "where", " OR uses > 0")})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/q.py", 10, "TG009"),  # `where`, only known at run time
        ("bot/q.py", 24, "TG001"),  # the caller's pin undone by what the wrapper adds
    ]


@pytest.mark.parametrize("call", ORM_CALLS)
def test_pinned_sql_sent_through_exec_or_from_statement_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    _project(tmp_path, {"bot/q.py": _orm_app(call, '"uses > 0"', " LIMIT 1")})
    assert _found(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize(
    "call",
    [
        "session.exec(select(Tag).where(Tag.id == 1)).all()",  # a statement object
        "session.query(Tag).from_statement(statement).all()",  # one built above
        "container.exec(command)",  # no database's exec
        "shell.exec(command)",
    ],
)
def test_what_exec_or_from_statement_are_given_that_is_no_sql_is_not_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    app = (
        "from sqlalchemy import select\n"
        "\n"
        "\n"
        "class Tag:\n"
        "    id: int\n"
        "\n"
        "\n"
        "def run(session, container, shell, command: str):\n"
        "    statement = select(Tag).where(Tag.id == 1)\n"
        f"    return {call}\n"
        "\n"
        "\n"
        'run(None, None, None, "ls")\n'
    )
    _project(tmp_path, {"bot/q.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 3. a receiver named like a database: by its words, not by letters inside another word


@pytest.mark.parametrize(
    "receiver",
    [
        "container",
        "self.controller",
        "context",
        "security",
        "sandbox",
        "feedback_service",
        "self.concurrency_limiter",
        "ctx",
    ],
)
def test_an_execute_of_no_database_is_not_sql(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    receiver: str,
) -> None:
    app = (
        "async def run(self, container, context, security, sandbox, feedback_service, ctx, item):\n"
        f"    return await {receiver}.execute(item)\n"
    )
    _project(tmp_path, {"bot/jobs.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize(
    "receiver",
    ["db", "self.read_db", "dbSession", "conn2", "self.pgpool", "asyncpg_pool", "maindb", "cur"],
)
def test_an_execute_of_a_receiver_named_like_a_database_is_still_sql(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    receiver: str,
) -> None:
    app = (
        "async def run(self, db, dbSession, conn2, asyncpg_pool, maindb, cur, where):\n"
        f"    return await {receiver}.execute(\n"
        '        "SELECT name FROM tags WHERE guild_id = $1 AND " + where, 1\n'  # 3
        "    )\n"
    )
    _project(tmp_path, {"bot/q.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 3, "TG009")]


# 4. `getattr(conn, method)(query, *args)`: a query method chosen at run time

DISPATCHERS = {
    "module": (
        "_pool = None\n"
        "\n"
        "\n"
        "async def _run(method: str, query: str, *args):\n"
        "    async with _pool.acquire() as conn:\n"
        "        return await getattr(conn, method)(query, *args)\n"
        "\n"
        "\n"
        "async def fetch_rows(query: str, *args):\n"
        '    return await _run("fetch", query, *args)\n'
        "\n"
        "\n"
        "async def tags(guild_id: int, n: int):\n"
        "    return await fetch_rows(\n"
        '        "SELECT name FROM tags WHERE guild_id = $1 AND uses > " + str(int(n)) + TAIL,\n'  # 15
        "        guild_id,\n"
        "    )\n"
    ),
    "keyword": (
        "async def _statement(conn, query, *args, method):\n"
        "    return await getattr(conn, method)(query, *args)\n"
        "\n"
        "\n"
        "async def _fetch(conn, query, *args):\n"
        '    return await _statement(conn, query, *args, method="fetch")\n'
        "\n"
        "\n"
        "async def tags(conn, guild_id: int, n: int):\n"
        "    return await _fetch(\n"
        "        conn,\n"
        '        "SELECT name FROM tags WHERE guild_id = $1 AND uses > " + str(int(n)) + TAIL,\n'  # 12
        "        guild_id,\n"
        "    )\n"
    ),
    "literal": (
        "from typing import Literal\n"
        "\n"
        "\n"
        "class Db:\n"
        "    def __init__(self, pool):\n"
        "        self.pool = pool\n"
        "\n"
        '    async def _run(self, how: Literal["fetch", "fetchrow"], query: str, *args):\n'
        "        return await getattr(self.pool, how)(query, *args)\n"
        "\n"
        "    async def tags(self, guild_id: int, n: int):\n"
        "        return await self._run(\n"
        '            "fetch",\n'
        '            "SELECT name FROM tags WHERE guild_id = $1 AND uses > " + str(int(n)) + TAIL,\n'  # 14
        "            guild_id,\n"
        "        )\n"
    ),
}
DISPATCH_LINES = {"module": 15, "keyword": 12, "literal": 14}


@pytest.mark.parametrize("shape", sorted(DISPATCHERS))
def test_sql_sent_through_a_dispatched_query_method_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    _project(tmp_path, {"bot/db.py": DISPATCHERS[shape].replace("TAIL", '" OR true"')})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/db.py", DISPATCH_LINES[shape], "TG001")]


@pytest.mark.parametrize("shape", sorted(DISPATCHERS))
def test_pinned_sql_sent_through_a_dispatched_query_method_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    _project(tmp_path, {"bot/db.py": DISPATCHERS[shape].replace("TAIL", '" LIMIT 5"')})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_a_method_chosen_at_run_time_of_no_database_is_not_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = (
        "def dispatch(handler, event: str, payload: str):\n"
        "    return getattr(handler, event)(payload)\n"
        "\n"
        "\n"
        "def on(self, name: str, payload: str):\n"
        '    return getattr(self, "on_" + name)(payload)\n'
        "\n"
        "\n"
        "async def first(stmt, how: str, guild_id: int):\n"
        "    return await getattr(stmt, how)(guild_id)\n"
        "\n"
        "\n"
        "async def ready(conn, guild_id: int):\n"
        '    stmt = await conn.prepare("SELECT name FROM tags WHERE guild_id = $1")\n'
        '    return await first(stmt, "fetchval", guild_id)\n'
    )
    _project(tmp_path, {"bot/events.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 5. a package's `.sql` file read through importlib.resources

RESOURCE_READS = [
    ("from importlib import resources", 'resources.files("bot").joinpath("sql/tags.sql")'),
    ("from importlib import resources", '(resources.files("bot.sql") / "tags.sql")'),
    ("from importlib.resources import files", '(files(__package__) / "sql" / "tags.sql")'),
    (
        "import importlib.resources",
        'importlib.resources.files(__name__).joinpath("sql", "tags.sql")',
    ),
    ("import importlib_resources as ir", 'ir.files("bot.sql").joinpath("tags.sql")'),
]
RESOURCE_APP = (
    "IMPORT\n"
    "\n"
    "\n"
    "async def tags(conn, guild_id: int):\n"
    "    sql = READ\n"  # 5
    "    return await conn.fetch(sql + TAIL, guild_id)\n"
)
RESOURCE_SQL = {"bot/sql/tags.sql": "SELECT name FROM tags WHERE guild_id = $1\n"}


def _resource_app(imported: str, path: str, tail: str) -> str:
    read = f"{path}.read_text()" if "files" in path else path
    return RESOURCE_APP.replace("IMPORT", imported).replace("READ", read).replace("TAIL", tail)


@pytest.mark.parametrize(("imported", "path"), RESOURCE_READS)
def test_sql_read_through_importlib_resources_is_the_files_text(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    imported: str,
    path: str,
) -> None:
    app = _resource_app(imported, path, '" OR uses > 0"')
    _project(tmp_path, {"bot/q.py": app, **RESOURCE_SQL})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 5, "TG001")]
    _project(tmp_path, {"bot/q.py": _resource_app(imported, path, '" LIMIT 10"')})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_the_legacy_read_text_of_importlib_resources_is_the_files_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = 'resources.read_text("bot.sql", "tags.sql")'
    app = _resource_app("from importlib import resources", legacy, '" OR uses > 0"')
    _project(tmp_path, {"bot/q.py": app, **RESOURCE_SQL})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 5, "TG001")]


@pytest.mark.parametrize(
    "path",
    [
        'resources.files("elsewhere").joinpath("tags.sql")',  # no package of the project
        'resources.files("bot").joinpath("sql/missing.sql")',  # no such file
        'resources.files(package).joinpath("sql/tags.sql")',  # a package known at run time
    ],
)
def test_a_resource_that_cannot_be_read_stays_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    app = _resource_app("from importlib import resources", path, '" LIMIT 10"').replace(
        "guild_id: int)", "guild_id: int, package: str)"
    )
    _project(tmp_path, {"bot/q.py": app, **RESOURCE_SQL})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 6, "TG009")]


# 6. a wrapper taking its SQL in `*args`; 7. an object imported by name from its module

STARRED_DATABASE = (
    "import asyncpg\n"
    "\n"
    "\n"
    "class Database:\n"
    "    def __init__(self):\n"
    "        self.pool = None\n"
    "\n"
    "    async def connect(self, dsn):\n"
    "        self.pool = await asyncpg.create_pool(dsn)\n"
    "\n"
    "    async def fetch_rows(self, *args, **kwargs):\n"
    "        async with self.pool.acquire() as conn:\n"
    "            return await conn.fetch(*args, **kwargs)\n"
    "\n"
    "    async def one(self, *args, timeout=None):\n"
    "        async with self.pool.acquire() as conn:\n"
    "            return await conn.fetchrow(*args, timeout=timeout)\n"
    "\n"
    "\n"
    "db = Database()\n"
)
STARRED_MODULE = (
    "_pool = None\n"
    "\n"
    "\n"
    "async def run(*args, **kwargs):\n"
    "    async with _pool.acquire() as conn:\n"
    "        return await conn.execute(*args, **kwargs)\n"
)
STARRED_CALLS = {
    "the object imported": (
        "from .database import db\n\nQ\n",
        "await db.fetch_rows(SQL, guild_id)",
    ),
    "a second method": ("from .database import db\n\nQ\n", "await db.one(SQL, guild_id)"),
    "a module's function": ("from . import pg\n\nQ\n", "await pg.run(SQL, guild_id)"),
    "an object made here": (
        "from .database import Database\n\nstore = Database()\n\nQ\n",
        "await store.fetch_rows(SQL, guild_id)",
    ),
}
STARRED_USES = (
    "from . import pg\n"
    "from .database import db\n"
    "\n"
    'PINNED = "SELECT name FROM tags WHERE guild_id = $1"\n'
    "\n"
    "\n"
    "async def pinned(guild_id: int):\n"
    "    await db.fetch_rows(PINNED, guild_id)\n"
    "    await db.one(PINNED, guild_id)\n"
    "    await pg.run(PINNED, guild_id)\n"
)
STARRED_QUERY = (
    "async def tags(guild_id: int, n: int):\n"
    "    return CALL\n"  # the line of the call: its SQL written there
)


def _starred_project(shape: str, tail: str) -> dict[str, str]:
    head, call = STARRED_CALLS[shape]
    sql = '"SELECT name FROM tags WHERE guild_id = $1 AND uses > " + str(int(n))' + tail
    query = STARRED_QUERY.replace("CALL", call.replace("SQL", sql))
    return {
        "bot/database.py": STARRED_DATABASE,
        "bot/pg.py": STARRED_MODULE,
        "bot/cog.py": head.replace("Q\n", query),
        "bot/uses.py": STARRED_USES,  # (each wrapper called: none is a handler)
    }


@pytest.mark.parametrize("shape", sorted(STARRED_CALLS))
def test_sql_given_to_a_wrapper_through_its_star_args_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    _project(tmp_path, _starred_project(shape, ' + " OR true"'))
    found = _found(tmp_path, capsys, monkeypatch)
    line = _starred_project(shape, "")["bot/cog.py"].count("\n")  # the call's line
    assert found == [("bot/cog.py", line, "TG001")]


@pytest.mark.parametrize("shape", sorted(STARRED_CALLS))
def test_pinned_sql_given_to_a_wrapper_through_its_star_args_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    _project(tmp_path, _starred_project(shape, ""))
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_star_args_sent_after_being_bound_again_stay_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = (
        "_pool = None\n"
        "\n"
        "\n"
        "async def run(*args):\n"
        '    args = ("SELECT name FROM tags WHERE uses > 0 OR " + args[0], *args[1:])\n'
        "    async with _pool.acquire() as conn:\n"
        "        return await conn.execute(*args)\n"  # 7
        "\n"
        "\n"
        "async def tags(guild_id: int):\n"
        '    return await run("guild_id = $1", guild_id)\n'
    )
    _project(tmp_path, {"bot/pg.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/pg.py", 7, "TG009")]


def test_a_wrapper_method_of_an_object_imported_by_name_is_a_wrapper(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = (
        "class Store:\n"
        "    def __init__(self, pool):\n"
        "        self.pool = pool\n"
        "\n"
        "    async def first(self, sql: str, *args):\n"
        '        return await self.pool.fetchrow(sql + " LIMIT 1", *args)\n'
        "\n"
        "\n"
        "store = Store(None)\n"
    )
    cog = (
        "from .store import store\n"
        "\n"
        "\n"
        "async def tag(guild_id: int, n: int):\n"
        "    return await store.first(\n"
        '        "SELECT name FROM tags WHERE guild_id = $1 AND uses > " + str(int(n)) + TAIL,\n'  # 6
        "        guild_id,\n"
        "    )\n"
    )
    _project(tmp_path, {"bot/store.py": store, "bot/cog.py": cog.replace("TAIL", '" OR true"')})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/cog.py", 6, "TG001")]
    _project(tmp_path, {"bot/store.py": store, "bot/cog.py": cog.replace("TAIL", '""')})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 8. `string.Template(…).substitute(…)`

TEMPLATES = [
    ("from string import Template\n\nT = Template(TEXT)\n", "T.substitute(table=TABLE)"),
    ("import string\n\nT = string.Template(TEXT)\n", 'T.substitute({"table": TABLE})'),
    ("from string import Template\n", "Template(TEXT).safe_substitute(table=TABLE)"),
]
TEMPLATE_APP = (
    "HEAD\n\nasync def tags(conn, guild_id: int):\n    return await conn.fetch(CALL, guild_id)\n"
)


def _template_app(head: str, call: str, table: str) -> str:
    text = '"SELECT name FROM $table WHERE guild_id = $$1"'
    if "safe_substitute" in call:
        text = '"SELECT name FROM ${table} WHERE guild_id = $1"'  # (kept as it is written)
    return (
        TEMPLATE_APP.replace("HEAD", head)
        .replace("CALL", call)
        .replace("TEXT", text)
        .replace("TABLE", table)
    )


@pytest.mark.parametrize(("head", "call"), TEMPLATES)
def test_a_string_template_substituted_is_the_text_python_makes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    head: str,
    call: str,
) -> None:
    app = _template_app(head, call, '"tags --"')  # (its pin commented out)
    _project(tmp_path, {"bot/q.py": app})
    assert {f[2] for f in _found(tmp_path, capsys, monkeypatch)} == {"TG001"}
    _project(tmp_path, {"bot/q.py": _template_app(head, call, '"tags"')})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_a_template_python_cannot_substitute_stays_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = (
        "from string import Template\n"
        "\n"
        "\n"
        "async def tags(conn, guild_id: int, table: str):\n"
        '    one = Template("SELECT name FROM tags WHERE guild_id = $1").substitute()\n'
        '    two = Template("SELECT name FROM $table WHERE guild_id = $$1").substitute(table=table)\n'
        "    await conn.fetch(one, guild_id)\n"  # 7: `$1` makes substitute() raise
        "    await conn.fetch(two, guild_id)\n"  # 8: a table known at run time
    )
    _project(tmp_path, {"bot/q.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/q.py", 6, "TG009"),
        ("bot/q.py", 7, "TG009"),
    ]


# 9. an HTTP client's `fetch(url)`

HTTP_FETCHES = [
    'await client.fetch("https://example.com/api/tags?guild=1")',
    'await client.fetch(f"/tags/{guild_id}", method="DELETE")',
    "await client.fetch(url)",
    "await http_client.fetch(url)",
    "await AsyncHTTPClient().fetch(url)",
]


@pytest.mark.parametrize("call", HTTP_FETCHES)
def test_an_http_clients_fetch_is_no_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    app = (
        "from tornado.httpclient import AsyncHTTPClient\n"
        "\n"
        "\n"
        "async def get(http_client, url: str, guild_id: int):\n"
        "    client = AsyncHTTPClient()\n"
        f"    return {call}\n"
    )
    _project(tmp_path, {"bot/web.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_a_tornado_test_cases_fetch_is_no_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = (
        "from tornado.testing import AsyncHTTPTestCase\n"
        "\n"
        "\n"
        "class TagsTest(AsyncHTTPTestCase):\n"
        "    def test_list(self):\n"
        '        assert self.fetch("/tags").code == 200\n'
        "\n"
        "    def test_one(self, url):\n"
        "        assert self.fetch(url).code == 200\n"
    )
    _project(tmp_path, {"bot/test_web.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize(
    "call",
    [
        'conn.fetch("/* the guild\'s tags */ SELECT name FROM tags")',  # a comment first
        "client.fetch(query)",  # a client of no known kind
        "self.fetch(query)",
    ],
)
def test_a_fetch_that_may_be_sql_is_still_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    app = (
        "class Tags:\n"
        "    async def get(self, conn, client, query: str):\n"
        f"        return await {call}\n"
    )
    _project(tmp_path, {"bot/q.py": app})
    assert [f[2] for f in _found(tmp_path, capsys, monkeypatch)] in (["TG001"], ["TG009"])


# 10. Django's `Model.objects.raw(sql, params)`

DJANGO_RAW = [
    "Tag.objects.raw(SQL, [guild_id])",
    'Tag.objects.using("replica").raw(SQL, [guild_id])',
    "Tag._default_manager.raw(SQL, [guild_id])",
    "run(Tag.objects, SQL, [guild_id])",
]
DJANGO_APP = (
    "from django.db import models\n"
    "\n"
    "\n"
    "class Tag(models.Model):\n"
    "    guild_id = models.BigIntegerField()\n"
    "\n"
    "\n"
    "def run(qs, sql, params):\n"
    "    return list(qs.raw(sql + TAIL, params))\n"  # 9
    "\n"
    "\n"
    "def tags(guild_id: int, n: int):\n"
    "    run(Tag.objects, PINNED, [guild_id])\n"
    "    return CALL\n"  # 14
)
PINNED_SQL = '"SELECT * FROM tags WHERE guild_id = %s"'


@pytest.mark.parametrize("call", DJANGO_RAW)
def test_a_django_raw_query_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    sql = '"SELECT * FROM tags WHERE guild_id = %s AND uses > " + str(int(n))'
    through = "run(" in call
    leak = call if through else call.replace("SQL", 'SQL + " OR true"')
    app = (
        DJANGO_APP.replace("CALL", leak.replace("SQL", sql))
        .replace("PINNED", PINNED_SQL)
        .replace("TAIL", '" OR true"' if through else '""')
    )
    _project(tmp_path, {"bot/models.py": app})
    found = _found(tmp_path, capsys, monkeypatch)
    expected = [("bot/models.py", 14, "TG001")]
    if through:  # (the helper's parameter with an OR after it, in the helper; its other call)
        expected = [("bot/models.py", 9, "TG009"), ("bot/models.py", 13, "TG001"), *expected]
    assert found == expected
    pinned = (
        DJANGO_APP.replace("CALL", call.replace("SQL", sql))
        .replace("PINNED", PINNED_SQL)
        .replace("TAIL", '""')
    )
    _project(tmp_path, {"bot/models.py": pinned})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_a_raw_of_no_manager_is_no_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = (
        "def read(response, packet, text: str):\n"
        "    response.raw(text)\n"
        "    return packet.raw(text)\n"
    )
    _project(tmp_path, {"bot/io.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 11. `db.query(sql)`

QUERY_APP = (
    "from pg import DB\n"
    "\n"
    "\n"
    "def tags(guild_id: int, n: int):\n"
    "    db = DB()\n"
    "    return db.query(\n"
    '        "SELECT name FROM tags WHERE guild_id = $1 AND uses > " + str(int(n)) + TAIL,\n'  # 7
    "        guild_id,\n"
    "    )\n"
)


def test_sql_sent_by_query_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/q.py": QUERY_APP.replace("TAIL", '" OR true"')})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 7, "TG001")]
    _project(tmp_path, {"bot/q.py": QUERY_APP.replace("TAIL", '""')})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_a_query_of_a_model_or_graphql_is_no_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = (
        "from sqlalchemy.orm import Session\n"
        "\n"
        "\n"
        "class Tag:\n"
        "    id: int\n"
        "\n"
        "\n"
        "def one(db: Session, client, tag_id: int, name: str):\n"
        '    client.query("query { tags { name } }")\n'
        "    db.query(Tag.id).count()\n"
        "    return db.query(Tag).filter(Tag.id == tag_id).first()\n"
    )
    _project(tmp_path, {"bot/orm.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 12. a builder's statement refined through its name

REFINED = (
    "from sqlmodel import Session, col, select\n"
    "\n"
    "\n"
    "class Hero:\n"
    "    id: int\n"
    "\n"
    "\n"
    "def heroes(db: Session, offset: int, limit: int, name: str | None):\n"
    "    stmt = START\n"
    "    if name:\n"
    "        stmt = stmt.where(col(Hero.id) > 0)\n"
    "    stmt = stmt.offset(offset).limit(limit)\n"
    "    return db.SEND(stmt).all()\n"  # 13
)


@pytest.mark.parametrize("send", ["exec", "execute"])
def test_a_builders_statement_refined_through_its_name_is_no_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, send: str
) -> None:
    app = REFINED.replace("START", "select(Hero)").replace("SEND", send)
    _project(tmp_path, {"bot/heroes.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_a_name_that_may_hold_text_is_not_a_builders_statement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = "select(Hero) if name else make(name)"  # (a text, on one path)
    app = REFINED.replace("START", start).replace("SEND", "execute")
    _project(tmp_path, {"bot/heroes.py": app})
    assert [f[2] for f in _found(tmp_path, capsys, monkeypatch)] == ["TG009"]
