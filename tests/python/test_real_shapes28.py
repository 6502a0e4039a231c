"""Round 28, real code (a first-time user's asyncpg Discord bot keyed by `guild_id`, a SaaS
backend, a FastAPI app, a job-queue worker): shapes the Python reader got wrong, each with its
leaking twin, through the command line.

1. A stub's body — `async def fetch(self, query: str, *args) -> list: ...` in a `Protocol`, an
   `@overload`, an abstract method — followed on the next line by a module constant or a class
   attribute (`GET = "SELECT …"`, `TABLE_SQL = "…"`) was read as the attribute store
   `Ellipsis.GET = …` by the scan for attributes set from outside (the ellipsis's last dot,
   then the line break, then the name): every such constant was TG009, "assigned again as an
   attribute of its module". The last dot of an ellipsis is no attribute's dot now; a real
   store (`queries.GET = …`) on the line after a stub still is.
2. A repository base joining its class's columns — `", ".join(self.columns)` into a local
   (`cols = …`, then `f"SELECT {cols} FROM …"`) or into a concatenation — where subclasses
   give `columns` other tuples, was TG009 ("`.join()` of items computed at run time"): the
   attribute held several collections, which no one value holds. It is now read once for each
   class (one alternative each, each checked); a subclass whose columns read another tenant's
   rows is an error at the call, one whose columns are not constant still TG009.
3. A suppression of a multi-line SQL constant (a worker's job claim, which reads every
   guild's rows on purpose) could not be written as a Python comment: alone on the line before
   `CLAIM = \"\"\"` it missed the statement, whose SQL starts on the line after the quotes, and
   after the closing quotes (as ruff reads a multi-line string's `noqa`, and as a `.sql` file's
   trailing suppression on a statement's last line is read) it covered nothing — TG001 stayed
   and TG011 was added. Both now cover the statement the literal holds when it is all the
   literal holds; a literal of two statements, or the constant after, is not covered. So,
   likewise, is a call laid out over lines by a formatter — `await conn.execute(\n    "…"\n)
   # tenantguard: ignore[…]` — by a suppression after its closing bracket (it covered
   nothing); the next line's call is not covered.
4. A module's queries made by a comprehension over a tuple of constants — `COUNTS = {t:
   f"SELECT count(*) FROM {t} WHERE guild_id = $1" for t in TABLES}`, `[f"DELETE FROM {t} …"
   for t in TABLES]` — then sent item by item (`for q in COUNTS.values()`, `COUNTS[table]`,
   `asyncio.gather(*(conn.fetchval(q, g) for q in COUNTS.values()))`) were TG009 ("`q` is a
   comprehension variable"), whether the queries pinned the guild or not: a leaking one was a
   warning. Such a comprehension is now the display it makes (each item checked, the leak an
   error); one with a condition, over values known at run time, or changed after, is TG009.
5. psycopg2.extras' `execute_values(cur, sql, rows)` and `execute_batch(cur, sql, argslist)`
   — the bulk helpers of most psycopg2 code, SQL second — sent nothing the reader saw: a
   constant was checked only as a string standing alone, SQL built at run time (`q = PINNED
   + (" OR true" if …)`, `f"INSERT INTO {table} …"`, a parameter) passed in silence, and a
   project function handing its parameter to them was no wrapper. They are sinks now, in
   every spelling (`from psycopg2.extras import execute_values as ev`, `extras.…`,
   `psycopg2.extras.…`, `sql=`).
6. A project class's own method named like a driver's — `async def fetch(self, conn, query,
   *args)` on a repository, called `self.fetch(conn, Q, guild_id)`, `repo.fetch(…)`,
   `Repo.fetch(repo, conn, Q)` — was read as the driver's `fetch(query)`: the connection was
   the SQL, TG009 at every call ("`conn` is a parameter of get()…"), and what the call sends
   was not checked there (round 27 fixed this for a module's functions only). The project's
   method is called now (a wrapper); one a base from outside the project comes before
   (`class Conn(asyncpg.Connection, Mixin)`) is still the driver's.
7. The raw SQL of libraries over asyncpg and psycopg that bots and services use —
   encode/databases' `database.iterate(query)` (its fetch_all / fetch_one were read), Tortoise
   ORM's `conn.execute_query(sql, values)`, `execute_query_dict`, `execute_script`, peewee's
   `db.execute_sql(sql, params)` — was only checked as strings standing alone: what was built
   at run time passed in silence. They are sinks now, unless the project defines a function
   or method of that name (then it is the project's, a wrapper).
8. A helper that tidies a query and returns it — `def q(text): return
   textwrap.dedent(text).strip()`, then `GET = q(\"\"\"SELECT … \"\"\")` — made every such
   constant TG009 ("`text` is a parameter of q()"): what a function returns was followed,
   but not the argument its parameter was given. A parameter the function returns unchanged
   (through `dedent`, `strip`, `text()`…) now holds what each call gives it (or its constant
   default) when that is constant; what the function adds is checked with it (`text + " OR
   true"`: TG001), and a change the reader cannot follow (`.replace(…)`, a slice, `.upper()`)
   or an argument only partly known stays TG009.
9. A loop over a project generator of statements — `def statements(): yield "DELETE FROM tags
   WHERE guild_id = $1"; yield …`, then `for sql in statements(): await conn.execute(sql, g)`
   — was TG009 ("a loop variable") on every send, though each statement is constant. The loop
   variable now holds each item the generator yields (what a call of a project function
   returns is read the same way); a `yield` of something not followed, a `yield from`, a
   decorated generator, or a function that returns a list stays TG009. So does a
   comprehension over one (`asyncio.gather(*(conn.execute(s, g) for s in statements()))`).
10. A DB-API cursor's `callproc("purge_archived")` (psycopg2, aiopg) — which sends `SELECT *
   FROM purge_archived()` — passed in silence, where `cur.execute("SELECT purge_archived()")`
   of the same function (one that deletes every guild's rows) was an error. It is read as the
   SQL it sends now: one placeholder per parameter given, the name as written; parameters or
   a name known only at run time are TG009.
11. An assignment expression as the SQL argument — `await conn.fetch(q := "SELECT …", g)`,
   then `q` logged — was TG009 ("computed at run time (namedexpr)") whatever it held: it is
   its value now (a leak in it an error, a value known at run time TG009).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project_files import GUILD_CONFIG as CONFIG
from tests.project_files import GUILD_SCHEMA as SCHEMA
from tests.project_files import findings_of_check, write_guild_project, write_project

_found = findings_of_check
_project = write_guild_project


# 1. a stub's `...` before a constant


STUB_THEN_CONSTANTS = (
    "from typing import Protocol\n"
    "\n"
    "\n"
    "class Fetcher(Protocol):\n"
    "    async def fetch(self, query: str, *args) -> list: ...\n"
    "\n"
    "\n"
    'COLUMNS = ("id", "name", "uses")\n'
    'GET = "SELECT name FROM tags WHERE guild_id = $1"\n'
    'BY_USES = "SELECT " + ", ".join(COLUMNS) + " FROM tags WHERE guild_id = $1"\n'
    "\n"
    "\n"
    "class Repo:\n"
    "    def stub(self): ...\n"
    '    TABLE_SQL = "SELECT name FROM tags WHERE guild_id = $1"\n'
    "\n"
    "    async def get(self, db: Fetcher, guild_id: int):\n"
    "        await db.fetch(GET, guild_id)\n"
    "        await db.fetch(BY_USES, guild_id)\n"
    "        return await db.fetch(self.TABLE_SQL, guild_id)\n"
)


def test_a_stub_body_before_a_constant_is_no_attribute_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/repo.py": STUB_THEN_CONSTANTS})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_a_store_on_the_line_after_a_stub_is_still_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leaking twin: another module sets the constants, the first store right after a
    stub's `...`: what the calls send is the last value set (TG009 each)."""
    patcher = (
        "from bot import repo\n"
        "\n"
        "\n"
        "class P:\n"
        "    def f(self): ...\n"
        'repo.GET = "SELECT name FROM tags"\n'
        "def g(): ...\n"
        'repo.Repo.TABLE_SQL = "SELECT name FROM tags"\n'
        "def h(): ...\n"
        'repo.COLUMNS = ("id", "name FROM tags --")\n'
    )
    _project(tmp_path, {"bot/repo.py": STUB_THEN_CONSTANTS, "bot/patch.py": patcher})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/patch.py", 6, "TG001"),  # (the strings set read as SQL where they are written)
        ("bot/patch.py", 8, "TG001"),
        ("bot/repo.py", 10, "TG009"),  # BY_USES: the join of COLUMNS
        ("bot/repo.py", 18, "TG009"),
        ("bot/repo.py", 20, "TG009"),
    ]


# 2. `", ".join(self.columns)`, each subclass its own columns


def _columns_project(subclass: str) -> str:
    return (
        "class Base:\n"
        '    columns = ("id", "name")\n'
        "\n"
        "    def __init__(self, pool):\n"
        "        self._pool = pool\n"
        "\n"
        "    async def one(self, guild_id):\n"
        '        cols = ", ".join(self.columns)\n'
        '        return await self._pool.fetch(f"SELECT {cols} FROM tags WHERE guild_id = $1", guild_id)\n'  # 9
        "\n"
        "    async def two(self, guild_id):\n"
        "        return await self._pool.fetch(\n"
        '            "SELECT " + ", ".join(self.columns) + " FROM tags WHERE guild_id = $1", guild_id\n'  # 13
        "        )\n"
        "\n"
        "\n"
        "class Ranked(Base):\n"
        '    columns = ("id", "uses")\n'
        "\n"
        "\n" + subclass
    )


def test_a_join_of_a_class_attribute_is_read_per_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    subclass = 'class Named(Base):\n    columns = ("name",)\n'
    _project(tmp_path, {"bot/repo.py": _columns_project(subclass)})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_a_subclass_whose_columns_leak_is_found_at_the_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leaking twins: a subclass's columns read every guild's tags (TG001 at each call);
    a subclass's columns computed at run time (TG009 at each call)."""
    subclass = (
        "class Counted(Base):\n"
        '    columns = ("id", "id AS n, (SELECT count(*) FROM tags) AS every")\n'
    )
    _project(tmp_path, {"bot/repo.py": _columns_project(subclass)})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/repo.py", 9, "TG001"),
        ("bot/repo.py", 13, "TG001"),
    ]
    subclass = (
        "import os\n\n\nclass FromEnv(Base):\n    columns = tuple(os.environ['COLS'].split())\n"
    )
    _project(tmp_path, {"bot/repo.py": _columns_project(subclass)})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/repo.py", 9, "TG009"),
        ("bot/repo.py", 13, "TG009"),
    ]


# 3. suppressions around a multi-line SQL constant

REASON = "# tenantguard: ignore[TG001] -- the worker claims jobs of every guild"
CLAIM = (
    '"""\n'
    "UPDATE tags SET uses = uses + 1\n"
    " WHERE id = (SELECT id FROM tags ORDER BY uses LIMIT 1)\n"
    "RETURNING id\n"
    '"""'
)


def test_a_suppression_around_a_multiline_constant_covers_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = (
        f"{REASON}\n"
        f"CLAIM = {CLAIM}\n"  # 2-6
        "\n"
        f"CLAIM_TOO = {CLAIM}  {REASON}\n"  # 8-12
        "\n"
        "QUERIES = {\n"
        f"    {REASON}\n"
        f'    "claim": {CLAIM},\n'  # 16-20
        "}\n"
        "\n"
        "\n"
        "async def claim(conn):\n"
        "    await conn.fetchrow(CLAIM)\n"
        "    await conn.fetchrow(CLAIM_TOO)\n"
        '    await conn.fetchrow(QUERIES["claim"])\n'
    )
    _project(tmp_path, {"bot/worker.py": worker})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_a_suppression_around_a_constant_covers_it_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leaking twins: a literal of two statements (the leak second) is not covered by a
    comment before it or after it, nor is the constant after a covered one."""
    two = (
        '"""\nUPDATE tags SET uses = 0 WHERE guild_id = $1;\nDELETE FROM tags WHERE uses = 0;\n"""'
    )
    worker = (
        f"{REASON}\n"
        f"RESET = {two}\n"  # 2-5: the DELETE at 4
        f"RESET_TOO = {two}  {REASON}\n"  # 6-9: the DELETE at 8
        f"CLAIM = {CLAIM}  {REASON}\n"  # 10-14
        'EVERY = "SELECT id FROM tags"\n'  # 15
        "\n"
        "\n"
        "async def reset(conn, guild_id):\n"
        "    await conn.execute(RESET, guild_id)\n"
        "    await conn.execute(RESET_TOO, guild_id)\n"
        "    await conn.fetchrow(CLAIM)\n"
        "    await conn.fetch(EVERY)\n"
    )
    _project(tmp_path, {"bot/worker.py": worker})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/worker.py", 1, "TG011"),
        ("bot/worker.py", 4, "TG001"),
        ("bot/worker.py", 8, "TG001"),
        ("bot/worker.py", 9, "TG011"),
        ("bot/worker.py", 15, "TG001"),
    ]


# 4. queries made by a comprehension over constants

COMPREHENDED = (
    "import asyncio\n"
    "\n"
    'TABLES = ("tags", "levels")\n'
    'COUNTS = {t: f"SELECT count(*) FROM {t} WHERE guild_id = $1" for t in TABLES}\n'  # 4
    'PURGES = [f"DELETE FROM {t} WHERE guild_id = $1" for t in TABLES]\n'  # 5
    "\n"
    "\n"
    "async def stats(conn, guild_id, table):\n"
    "    one = await conn.fetchval(COUNTS[table], guild_id)\n"  # 9
    "    every = await asyncio.gather(*(conn.fetchval(q, guild_id) for q in COUNTS.values()))\n"
    "    for q in PURGES:\n"
    "        await conn.execute(q, guild_id)\n"  # 12
    "    return one, every\n"
)
LEVELS = (
    "CREATE TABLE levels (guild_id bigint NOT NULL REFERENCES guilds(guild_id), "
    "user_id bigint, xp int);\n"
)


def test_queries_made_by_a_comprehension_over_constants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path, SCHEMA + LEVELS, CONFIG, {"bot/stats.py": COMPREHENDED})
    assert _found(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (  # every guild's rows: an error at each table's name (where its text is written),
            # once per call that sends it (the count by key, the count of each, the purge)
            ('WHERE guild_id = $1" for t', '" for t'),
            [("bot/stats.py", 3, "TG001")] * 6,
        ),
        (  # a condition: some of the items are made, each pinned (before round 31c: TG009)
            ("for t in TABLES}", "for t in TABLES if t}"),
            [],
        ),
        (  # … or each unpinned: found in the ones made (round 31c)
            ('WHERE guild_id = $1" for t in TABLES}', '" for t in TABLES if t}'),
            [("bot/stats.py", 3, "TG001")] * 4,
        ),
        (  # tables known at run time
            ('TABLES = ("tags", "levels")', "import os\nTABLES = os.environ['T'].split()"),
            [
                ("bot/stats.py", 10, "TG009"),
                ("bot/stats.py", 11, "TG009"),
                ("bot/stats.py", 13, "TG009"),
            ],
        ),
        (  # changed after it is made
            ("\n\n\nasync def", '\nCOUNTS["all"] = "SELECT count(*) FROM tags"\n\nasync def'),
            [
                ("bot/stats.py", 6, "TG001"),
                ("bot/stats.py", 9, "TG009"),
                ("bot/stats.py", 10, "TG009"),
            ],
        ),
    ],
    ids=["unpinned", "a condition", "a condition, unpinned", "run time", "changed"],
)
def test_queries_made_by_a_comprehension_that_leak(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: tuple[str, str],
    expected: list[tuple[str, int, str]],
) -> None:
    source = COMPREHENDED.replace(*change)
    assert source != COMPREHENDED
    write_project(tmp_path, SCHEMA + LEVELS, CONFIG, {"bot/stats.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == expected


# 5. psycopg2.extras' execute_values / execute_batch

EXTRAS = (
    "import psycopg2.extras\n"
    "from psycopg2 import extras\n"
    "from psycopg2.extras import execute_batch, execute_values as ev\n"
    "\n"
    'INSERT_TAGS = "INSERT INTO tags (guild_id, name) VALUES %s"\n'
    "\n"
    "\n"
    "def bulk(cur, sql, rows):\n"
    "    ev(cur, sql, rows, page_size=500)\n"
    "\n"
    "\n"
    "def save(conn, guild_id, rows, names):\n"
    "    with conn.cursor() as cur:\n"
    "        ev(cur, INSERT_TAGS, [(guild_id, n) for n in names])\n"
    '        execute_batch(cur, "UPDATE tags SET uses = %s WHERE guild_id = %s AND id = %s", rows)\n'
    '        extras.execute_values(cur, sql="DELETE FROM tags WHERE guild_id = %s AND id IN (%s)", argslist=rows)\n'
    '        bulk(cur, "INSERT INTO tags (guild_id, name) VALUES %s", rows)\n'
    "        psycopg2.extras.execute_batch(cur, INSERT_TAGS, rows)\n"
)


def test_psycopg2_extras_senders_are_sinks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/save.py": EXTRAS})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_psycopg2_extras_senders_check_what_they_send(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leaks that passed in silence: SQL completed at run time, a table named at run time,
    SQL from a parameter, each through every spelling (and a wrapper)."""
    leaks = (
        EXTRAS
        + (
            "\n"
            "\n"
            "def leak(conn, rows, table, order, q):\n"
            "    with conn.cursor() as cur:\n"
            '        sql = "UPDATE tags SET uses = 0 WHERE guild_id = %s" + (" OR true" if order else "")\n'  # 23
            "        execute_batch(cur, sql, rows)\n"
            '        ev(cur, f"INSERT INTO {table} (guild_id, name) VALUES %s", rows)\n'  # 25
            "        psycopg2.extras.execute_values(cur, q, rows)\n"  # 26
            '        bulk(cur, "SELECT name FROM tags WHERE guild_id = %s " + order, rows)\n'  # 27
        )
    )
    _project(tmp_path, {"bot/save.py": leaks})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/save.py", 23, "TG001"),
        ("bot/save.py", 25, "TG009"),
        ("bot/save.py", 26, "TG009"),
        ("bot/save.py", 27, "TG009"),
    ]


# 6. a project class's own method named like a driver's


OWN_METHOD = (
    "import asyncpg\n"
    "\n"
    "\n"
    "class Repo:\n"
    "    async def fetch(self, conn, query, *args):\n"
    "        return await conn.fetch(query, *args)\n"
    "\n"
    "    async def get(self, conn, guild_id):\n"
    '        return await self.fetch(conn, "SELECT name FROM tags WHERE guild_id = $1", guild_id)\n'
    "\n"
    "\n"
    "async def use(conn, guild_id):\n"
    "    repo = Repo()\n"
    '    await repo.fetch(conn, "SELECT name FROM tags WHERE guild_id = $1", guild_id)\n'
    '    await Repo.fetch(repo, conn, "SELECT name FROM tags WHERE guild_id = $1", guild_id)\n'
)


def test_a_classs_own_method_named_like_a_drivers_is_the_projects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/repo.py": OWN_METHOD})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_a_classs_own_method_still_checks_what_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leaking twins: what each call sends is checked as the wrapper's SQL (completed at
    run time: TG009 there; every guild's tags: TG001); a method a base from outside the
    project comes before is the driver's (its first argument the SQL)."""
    leaks = OWN_METHOD + (
        '    await repo.fetch(conn, "SELECT name FROM tags WHERE guild_id = $1" + conn.extra, 1)\n'
        '    await Repo.fetch(repo, conn, "SELECT name FROM tags")\n'
        "\n"
        "\n"
        "class Mixin:\n"
        "    async def fetch(self, conn, query):\n"
        "        return await conn.fetch(query)\n"
        "\n"
        "\n"
        "class Conn(asyncpg.Connection, Mixin):\n"
        "    async def mine(self):\n"
        '        return await self.fetch("SELECT name FROM tags WHERE guild_id = $1" + self.extra)\n'
    )
    _project(tmp_path, {"bot/repo.py": leaks})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/repo.py", 16, "TG009"),
        ("bot/repo.py", 17, "TG001"),
        ("bot/repo.py", 27, "TG009"),
    ]


# 7. raw SQL of libraries over the drivers


LIBRARIES = (
    "from databases import Database\n"
    "from peewee import PostgresqlDatabase\n"
    "from tortoise import connections\n"
    "\n"
    'database = Database("postgresql://")\n'
    'pw = PostgresqlDatabase("bot")\n'
    'PINNED = "SELECT name FROM tags WHERE guild_id = :g"\n'
    "\n"
    "\n"
    "async def tags(guild_id, extra):\n"
    "    async for row in database.iterate(query=PINNED + extra, values={'g': guild_id}):\n"  # 11
    "        print(row)\n"
    "    conn = connections.get('default')\n"
    '    await conn.execute_query_dict("SELECT name FROM tags WHERE guild_id = $1" + extra, [1])\n'
    '    await conn.execute_query("SELECT name FROM tags WHERE guild_id = $1" + extra, [1])\n'
    '    await conn.execute_script("DELETE FROM tags WHERE guild_id = 1" + extra)\n'
    '    pw.execute_sql("SELECT name FROM tags WHERE guild_id = %s" + extra, (guild_id,))\n'  # 17
)


def test_library_raw_sql_methods_are_sinks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/raw.py": LIBRARIES.replace(" + extra", "")})
    assert _found(tmp_path, capsys, monkeypatch) == []
    _project(tmp_path, {"bot/raw.py": LIBRARIES})  # (what is appended: the caller's)
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/raw.py", line, "TG009") for line in range(11, 18) if line not in (12, 13)
    ]


def test_another_clients_method_of_that_name_is_not_surely_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GraphQL or cloud client's `execute_query(…)` on a receiver not named like a database:
    only what reads as SQL is checked there (the connection's is surely SQL)."""
    source = (
        "async def run(client, conn, q):\n"
        '    await client.execute_query("query { tags { name } }")\n'
        "    await client.execute_query(q)\n"
        "    await conn.execute_query(q)\n"  # 4
    )
    _project(tmp_path, {"bot/clients.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/clients.py", 4, "TG009")]


def test_a_projects_own_function_of_that_name_is_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twin: a project helper named like Tortoise's method, the SQL second — its callers'
    SQL is checked as a wrapper's (every guild's tags found), not its connection read as SQL."""
    helper = (
        "class Helper:\n"
        "    async def execute_query(self, conn, sql, *args):\n"
        "        return await conn.fetch(sql, *args)\n"
    )
    use = (
        "async def run(helper, conn):\n"
        '    await helper.execute_query(conn, "SELECT name FROM tags WHERE guild_id = $1", 1)\n'
        '    await helper.execute_query(conn, "SELECT name FROM tags")\n'
    )
    _project(tmp_path, {"bot/helper.py": helper, "bot/use.py": use})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/use.py", 3, "TG001")]


# 8. a helper returning its (tidied) parameter

TIDY = (
    "import textwrap\n"
    "\n"
    "\n"
    "def q(text: str) -> str:\n"
    "    return textwrap.dedent(text).strip()\n"
    "\n"
    "\n"
    "class Queries:\n"
    "    @staticmethod\n"
    "    def sql(text, end=';'):\n"
    "        return text.rstrip() + end\n"
    "\n"
    "\n"
    'GET = q("""\n'
    "    SELECT name FROM tags\n"
    "    WHERE guild_id = $1\n"
    '""")\n'
    'TOP = Queries.sql("SELECT name FROM tags WHERE guild_id = $1")\n'
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    "    await conn.fetch(GET, guild_id)\n"  # 22
    "    await conn.fetch(TOP, guild_id)\n"  # 23
    '    return await conn.fetch(q(text="SELECT uses FROM tags WHERE guild_id = $1"), guild_id)\n'
)


def test_a_helper_returning_its_parameter_gives_the_calls_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/tidy.py": TIDY})
    assert _found(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (  # what the helper adds: checked with the argument (the text is the constant's)
            ("return textwrap.dedent(text).strip()", 'return text + " OR true"'),
            [("bot/tidy.py", 15, "TG001"), ("bot/tidy.py", 24, "TG001")],
        ),
        (  # a constant default that leaks
            ("end=';'", "end=' OR true'"),
            [("bot/tidy.py", 18, "TG001")],
        ),
        (  # a change the reader does not follow: the parameter is no longer passed on
            (
                "return textwrap.dedent(text).strip()",
                'return text.replace("guild_id = $1", "true")',
            ),
            [("bot/tidy.py", 22, "TG009"), ("bot/tidy.py", 24, "TG009")],
        ),
        (  # the argument is only partly known (a skeleton with no pin, what is added)
            (
                '"SELECT uses FROM tags WHERE guild_id = $1"',
                '"SELECT uses FROM tags " + conn.where',
            ),
            [("bot/tidy.py", 24, "TG001"), ("bot/tidy.py", 24, "TG009")],
        ),
    ],
    ids=["adds OR true", "a default", "replace", "run time"],
)
def test_a_helper_returning_its_parameter_still_finds_leaks(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: tuple[str, str],
    expected: list[tuple[str, int, str]],
) -> None:
    source = TIDY.replace(*change)
    assert source != TIDY
    _project(tmp_path, {"bot/tidy.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == expected


# 9. a loop over a project generator of statements

GENERATED = (
    "def statements(guild_only=True):\n"
    '    yield "UPDATE tags SET uses = 0 WHERE guild_id = $1"\n'
    "    if guild_only:\n"
    "        return\n"
    '    yield "DELETE FROM levels WHERE guild_id = $1"\n'
    "\n"
    "\n"
    "class Purge:\n"
    "    async def steps(self):\n"
    '        for table in ("tags", "levels"):\n'
    '            yield f"DELETE FROM {table} WHERE guild_id = $1"\n'
    "\n"
    "    async def run(self, conn, guild_id):\n"
    "        for sql in statements():\n"
    "            await conn.execute(sql, guild_id)\n"  # 15
    "        async for sql in self.steps():\n"
    "            await conn.execute(sql, guild_id)\n"  # 17
)


def test_a_loop_over_a_generator_of_statements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path, SCHEMA + LEVELS, CONFIG, {"bot/purge.py": GENERATED})
    assert _found(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (  # what a generator yields completed: checked at the loop's send
            (
                '"DELETE FROM levels WHERE guild_id = $1"',
                '"DELETE FROM levels WHERE guild_id = $1" + " OR true"',
            ),
            [("bot/purge.py", 5, "TG001")],
        ),
        (  # a table known at run time
            ('for table in ("tags", "levels"):', "for table in self.tables:"),
            [("bot/purge.py", 11, "TG009")],
        ),
        (  # a `yield from`: what it gives is not read
            ("    if guild_only:", "    yield from ()\n    if guild_only:"),
            [("bot/purge.py", 16, "TG009")],
        ),
        (  # a list returned, not yielded: not read either
            ('            yield f"DELETE', '            return [f"DELETE'),
            [("bot/purge.py", 17, "TG009")],
        ),
    ],
    ids=["OR true", "run time", "yield from", "returns a list"],
)
def test_a_loop_over_a_generator_still_finds_leaks(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: tuple[str, str],
    expected: list[tuple[str, int, str]],
) -> None:
    source = GENERATED.replace(*change)
    if change[1].startswith("            return [f"):
        source = source.replace('= $1"\n\n    async def run', '= $1"]\n\n    async def run')
    assert source != GENERATED
    write_project(tmp_path, SCHEMA + LEVELS, CONFIG, {"bot/purge.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == expected


# 10. callproc

PROCS = (
    "CREATE FUNCTION reset_uses() RETURNS void LANGUAGE sql AS "
    "$$ UPDATE tags SET uses = 0 $$;\n"
    "CREATE FUNCTION reset_uses_of(g bigint) RETURNS void LANGUAGE sql AS "
    "$$ UPDATE tags SET uses = 0 WHERE guild_id = g $$;\n"
)


def test_callproc_is_read_as_the_sql_it_sends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dao = (
        "def reset(conn, guild_id, args, name):\n"
        "    with conn.cursor() as cur:\n"
        '        cur.callproc("reset_uses_of", (guild_id,))\n'
        '        cur.callproc("reset_uses_of", parameters=[guild_id])\n'
        '        cur.callproc("reset_uses")\n'  # 5: every guild's tags
        '        cur.callproc("reset_uses_of", args)\n'  # 6: parameters known at run time
        "        cur.callproc(name, (guild_id,))\n"  # 7: a function known at run time
    )
    write_project(tmp_path, SCHEMA + PROCS, CONFIG, {"bot/__init__.py": "", "bot/dao.py": dao})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/dao.py", 5, "TG001"),
        ("bot/dao.py", 6, "TG009"),
        ("bot/dao.py", 7, "TG009"),
    ]


# 3b. a suppression after a multi-line call's closing bracket


def test_a_suppression_after_a_calls_closing_bracket_covers_the_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = (
        "async def cleanup(conn):\n"
        "    await conn.execute(\n"
        '        "DELETE FROM tags WHERE uses = 0"\n'
        f"    )  {REASON}\n"
        '    await conn.execute("DELETE FROM tags WHERE uses = 1")\n'  # 5: not covered
        "    await conn.execute(\n"
        '        "DELETE FROM tags WHERE uses = 2",\n'
        f"    )  {REASON}\n"
        "    await conn.execute(\n"  # 9: not covered by the one above
        '        "DELETE FROM tags WHERE uses = 3"\n'
        "    )\n"
    )
    _project(tmp_path, {"bot/worker.py": worker})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/worker.py", 5, "TG001"),
        ("bot/worker.py", 10, "TG001"),
    ]


# 11. an assignment expression as the argument


def test_an_assignment_expression_is_its_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        "import logging\n"
        "\n"
        "log = logging.getLogger(__name__)\n"
        "\n"
        "\n"
        "async def tags(conn, guild_id, order):\n"
        '    rows = await conn.fetch(q := "SELECT name FROM tags WHERE guild_id = $1", guild_id)\n'
        '    log.debug("ran %s", q)\n'
        '    await conn.fetch(q := "SELECT name FROM tags")\n'  # 9: every guild's
        '    await conn.fetch(q := "SELECT name FROM tags WHERE guild_id = $1" + order, 1)\n'
        "    return rows, q\n"
    )
    _project(tmp_path, {"bot/tags.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/tags.py", 9, "TG001"),
        ("bot/tags.py", 10, "TG009"),
    ]


# 9b. a comprehension over a project generator


def test_a_comprehension_over_a_generator_of_statements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        "import asyncio\n"
        "\n"
        "\n"
        "def statements(extra):\n"
        '    yield "UPDATE tags SET uses = 0 WHERE guild_id = $1"\n'
        '    yield "DELETE FROM levels WHERE guild_id = $1" + extra\n'  # 6: known at run time
        "\n"
        "\n"
        "async def purge(conn, guild_id, extra):\n"
        "    await asyncio.gather(*(conn.execute(s, guild_id) for s in statements(extra)))\n"
        "    return [await conn.execute(s, guild_id) for s in statements(extra)]\n"
    )
    write_project(tmp_path, SCHEMA + LEVELS, CONFIG, {"bot/purge.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/purge.py", 6, "TG009")]
    clean = source.replace(" + extra", "")
    write_project(tmp_path, SCHEMA + LEVELS, CONFIG, {"bot/purge.py": clean})
    assert _found(tmp_path, capsys, monkeypatch) == []
