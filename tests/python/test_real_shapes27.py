"""Round 27, real code (a first-time user's psycopg2 club manager, asyncpg Discord bots): shapes
the Python reader got wrong, each with its leaking twin, through the command line.

1. A module of the project with functions named like a driver's methods — `db.fetch(conn,
   QUERY, params)`, `db.fetch_one(…)`, `db.execute(…)` after `from src import db`, the SQL
   second — was read as the driver's `fetch(query)`: the connection was taken for the SQL,
   TG009 at every call of the project ("`conn` is a parameter of get(), a handler…"), and the
   SQL the call sends was not checked there (what it completes, what is only known at run
   time). Now a function the module defines is called as the project's function (a wrapper);
   a name the module binds to something else (`execute = conn.execute`) is still the driver's.
2. A table named in `tenant_tables` that the schema sources create without the tenant column (a
   bot's `tags` keyed by `location_id` where every other table has `guild_id`) was taken in
   silence: every statement on it a finding, pinned or not, with nothing saying why. It is
   now a warning naming the table and the column (its statements are still findings).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.cli import main
from tests.project_files import findings_of_check, write_project

SCHEMA = (
    "CREATE TABLE clubs (club_id int PRIMARY KEY, name text);\n"
    "CREATE TABLE dues (id int PRIMARY KEY, club_id int NOT NULL REFERENCES clubs(club_id), "
    "amount numeric);\n"
)
CONFIG = '[tool.tenantguard]\ntenant_column = "club_id"\nschema_paths = ["schema.sql"]\n'

DB = """import psycopg2
import psycopg2.extras


def fetch(connection, query, params):
    with connection.cursor(cursor_factory=psycopg2.extras.DictCursor) as cursor:
        cursor.execute(query, params)
        return [dict(row) for row in cursor.fetchall()]


def fetch_one(connection, query, params):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()


def execute(connection, query, params):
    with connection.cursor() as cursor:
        return cursor.execute(query, params)
"""

QUERIES = (
    'GET_DUES = """\n'
    "    select id, amount from dues\n"
    "    where club_id = %s\n"
    '"""\n'
    'ALL_DUES = "select id, amount from dues"\n'
)


def _project(root: Path, files: dict[str, str]) -> None:
    write_project(root, SCHEMA, CONFIG, {"src/__init__.py": "", **files})


# 1. a project module's functions named like a driver's methods, the SQL second


def test_module_functions_named_like_driver_methods_are_the_projects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = (
        "from src import db\n"
        "from src import queries\n"
        "import src.db as database\n"
        "\n"
        "\n"
        "class DuesService:\n"
        "    def get(self, conn, params):\n"
        "        club_id = params.get('clubId')\n"
        "        rows = db.fetch(conn, queries.GET_DUES, (club_id,))\n"  # 9
        "        one = db.fetch_one(conn, queries.GET_DUES, (club_id,))\n"  # 10
        "        database.execute(conn, 'update dues set amount = 0 where club_id = %s', (1,))\n"
        "        return rows, one\n"
        "\n"
        "    def leak(self, conn, params):\n"
        "        db.fetch(conn, queries.ALL_DUES, ())\n"  # 15: reported at the constant (5)
        "        db.fetch(conn, 'select id from dues where id = %s' + params['order'], ())\n"
        "        return db.execute(conn, params['sql'], ())\n"  # 17
    )
    _project(
        tmp_path,
        {"src/db.py": DB, "src/queries.py": QUERIES, "src/service.py": service},
    )
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("src/queries.py", 5, "TG001"),  # ALL_DUES, where it is written
        ("src/service.py", 16, "TG001"),  # dues by id alone
        ("src/service.py", 16, "TG009"),  # what the request appends
        ("src/service.py", 17, "TG009"),  # SQL from the request
    ]


def test_a_module_name_bound_to_a_drivers_method_is_still_the_driver(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leaking twin: `db.execute` is the connection's own method (SQL first), not a
    function of the project — its argument is still the SQL."""
    db = "import psycopg2\n\nconn = psycopg2.connect('')\nexecute = conn.cursor().execute\n"
    service = (
        "from src import db\n"
        "\n"
        "\n"
        "def run(params):\n"
        "    db.execute(params['sql'])\n"  # 5
        "    db.execute('select id from dues')\n"  # 6
    )
    _project(tmp_path, {"src/db.py": db, "src/service.py": service})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("src/service.py", 5, "TG009"),
        ("src/service.py", 6, "TG001"),
    ]


# 2. a configured tenant table without the tenant column


def test_a_configured_tenant_table_without_the_tenant_column_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = SCHEMA + "CREATE TABLE tags (id int PRIMARY KEY, location_id int, name text);\n"
    config = CONFIG + 'tenant_tables = ["tags", "dues"]\n'
    code = (
        "async def tag(pool, guild_id):\n"
        '    return await pool.fetch("SELECT name FROM tags WHERE location_id = $1", guild_id)\n'
    )
    write_project(tmp_path, schema, config, {"bot.py": code})
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--no-cache", "--format", "concise", "."]) == 1
    captured = capsys.readouterr()
    assert "bot.py:2:" in captured.out and "TG001" in captured.out  # still a finding
    assert "tenant table 'tags'" in captured.err and "has no column club_id" in captured.err
    assert "'dues'" not in captured.err  # it has the column


_found = findings_of_check


# 3. psycopg's `%s` numbers nothing: a statement that pins two tables to the club passes the
# same variable twice, `(club_id, club_id)` — which was two tenants (TG012, an error). Two `%s`
# given the same name in one tuple or list display (nothing run between the two readings) or
# the same constant are one value; at the call, or through a wrapper that passes its parameter
# on to `cursor.execute` unchanged.

JOINED = (
    "SELECT d.id FROM dues d JOIN dues e ON e.id = d.id WHERE d.club_id = %s AND e.club_id = %s"
)
JOINED3 = JOINED.replace("AND", "AND d.amount > %s AND")
REPEATS = f'''from app import db

JOINED = "{JOINED}"


def reads(conn, club_id, other, rows):
    cur = conn.cursor()
    cur.execute(JOINED, (club_id, club_id))
    cur.execute(JOINED, [club_id, club_id])
    cur.execute(JOINED, vars=(7, 7))
    db.fetch(conn, JOINED, (club_id, club_id))
    db.fetch_once(conn, JOINED, (club_id, club_id))
    cur.execute(JOINED, (club_id, other))
    cur.execute(JOINED, (club_id, rows[0]))
    cur.execute(JOINED, (club_id, club_id)[::-1])
    cur.execute(JOINED, (club_id, 7))
    cur.execute(JOINED, (club_id, club_id, 1))
    db.fetch(conn, JOINED, (club_id, other))
    db.fetch_flipped(conn, JOINED, (club_id, club_id))
    cur.execute(JOINED.replace("%s", "%(c)s"), (club_id, club_id))
'''
WRAPPERS = """def fetch(conn, query, params):
    with conn.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def fetch_once(conn, query, args=()):
    cursor = conn.cursor()
    cursor.execute(query, vars=args)
    return cursor.fetchall()


def fetch_flipped(conn, query, params):
    params = params[::-1]
    with conn.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()
"""


def test_the_same_variable_for_two_percent_s_is_one_tenant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [line.strip() for line in REPEATS.splitlines()]
    inlined = REPEATS.replace("(JOINED,", f"({JOINED!r},").replace(", JOINED,", f", {JOINED!r},")
    write_project(
        tmp_path,
        SCHEMA,
        CONFIG,
        {"app/__init__.py": "", "app/db.py": WRAPPERS, "app/q.py": inlined},
    )
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    flagged = {line for _, line, rule in found if rule == "TG012"}
    assert {rule for _, _, rule in found} <= {"TG012", "TG006", "TG009"}, found
    one_tenant = [
        "cur.execute(JOINED, (club_id, club_id))",
        "cur.execute(JOINED, [club_id, club_id])",
        "cur.execute(JOINED, vars=(7, 7))",
        "db.fetch(conn, JOINED, (club_id, club_id))",
        "db.fetch_once(conn, JOINED, (club_id, club_id))",
    ]
    two_tenants = [
        "cur.execute(JOINED, (club_id, other))",
        "cur.execute(JOINED, (club_id, rows[0]))",  # a subscript runs __getitem__
        "cur.execute(JOINED, (club_id, club_id)[::-1])",  # not a display
        "cur.execute(JOINED, (club_id, 7))",
        "cur.execute(JOINED, (club_id, club_id, 1))",  # psycopg refuses it: nothing known
        "db.fetch(conn, JOINED, (club_id, other))",
        "db.fetch_flipped(conn, JOINED, (club_id, club_id))",  # the wrapper changes them
    ]
    for call in one_tenant:
        assert lines.index(call) + 1 not in flagged, (call, found)
    for call in two_tenants:
        assert lines.index(call) + 1 in flagged, (call, found)
    # what is said keeps the code's `%s`
    monkeypatch.chdir(tmp_path)
    main(["check", "--no-cache", "app/q.py"])
    out = capsys.readouterr().out
    assert "$1" not in out and "%s" in out


# 3b. outside review of the relaxation: shapes where the two `%s` given one name or constant
# at the call still receive two values at run time — each must stay TG012

TWICE = """def fetch_both(conn, query, params, home, away):
    with conn.cursor() as cursor:
        cursor.execute(query, params)
        first = cursor.fetchall()
        cursor.execute(query, (home, away))
        return first, cursor.fetchall()


def fetch_later(conn, query, params, home, away):
    run = lambda params: conn.cursor().execute(query, params)
    return run((home, away))


def swap_last(fn):
    def inner(conn, query, params):
        return fn(conn, query, (params[0], 99))

    return inner


@swap_last
def fetch_swapped(conn, query, params):
    with conn.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


class Store:
    def __init__(self, conn, rival):
        self.conn = conn
        self.rival = rival

    def execute(self, query, params):
        cursor = self.conn.cursor()
        cursor.execute(query, (*params[:-1], self.rival))
        return cursor.fetchall()
"""
TWICE_CALLS = f"""from app import db
from app.db import Store

CURRENT_CLUB = 0


class Season:
    @property
    def year(self):
        return 2026


def reads(conn, club_id, other, season):
    db.fetch_both(conn, {JOINED!r}, (club_id, club_id), club_id, other)
    db.fetch_later(conn, {JOINED!r}, (club_id, club_id), club_id, other)
    db.fetch_swapped(conn, {JOINED!r}, (club_id, club_id))
    Store(conn, other).execute({JOINED!r}, (club_id, club_id))
    cur = conn.cursor()
    cur.execute({JOINED3!r}, (CURRENT_CLUB, season.year, CURRENT_CLUB))


class Repo(Store):
    def get(self, club_id):
        return self.execute({JOINED!r}, (club_id, club_id))
"""


def test_the_same_variable_given_twice_that_still_reaches_two_tenants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrapper that also sends the SQL with other values, a lambda whose own `params`
    shadows the wrapper's, a decorator that changes them, a project method named `execute`
    that changes them, and a module global read twice with a property read between (another
    thread may rebind it there: CPython switches threads in the property's call)."""
    lines = [line.strip() for line in TWICE_CALLS.splitlines()]
    write_project(
        tmp_path,
        SCHEMA,
        CONFIG,
        {"app/__init__.py": "", "app/db.py": TWICE, "app/q.py": TWICE_CALLS},
    )
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    flagged = {line for path, line, rule in found if rule == "TG012" and path == "app/q.py"}
    two_tenants = [
        number
        for number, line in enumerate(lines, 1)
        if ("(club_id, club_id)" in line and "JOIN" in line) or "CURRENT_CLUB, season" in line
    ]
    assert len(two_tenants) == 6
    for number in two_tenants:
        assert number in flagged, (lines[number - 1], found)


def test_a_module_name_rebound_to_a_pool_is_the_drivers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`db` imported as the project's module but made a pool by `global db` in a function,
    or its `fetch` replaced by the pool's (`db.fetch = pool.fetch`): at run time the call is
    the driver's `fetch(query)` — SQL from the request, TG009 (it was not checked at all)."""
    rebound = (
        "import asyncpg\n"
        "from src import db\n"
        "\n"
        "\n"
        "async def setup():\n"
        "    global db\n"
        "    db = await asyncpg.create_pool()\n"
        "\n"
        "\n"
        "async def run(request):\n"
        "    return await db.fetch(request.args['q'])\n"  # 11
    )
    patched = (
        "import asyncpg\n"
        "from src import db\n"
        "\n"
        "\n"
        "async def setup():\n"
        "    pool = await asyncpg.create_pool()\n"
        "    db.fetch = pool.fetch\n"
        "\n"
        "\n"
        "async def run(request):\n"
        "    return await db.fetch(request.args['q'])\n"  # 11
    )
    _project(
        tmp_path,
        {"src/db.py": DB, "src/rebound.py": rebound, "src/patched.py": patched},
    )
    found = _found(tmp_path, capsys, monkeypatch)
    assert [f for f in found if f[0] != "src/db.py"] == [  # (its functions: called by none)
        ("src/patched.py", 11, "TG009"),
        ("src/rebound.py", 11, "TG009"),
    ]
