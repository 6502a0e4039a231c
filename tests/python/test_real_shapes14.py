"""Round 14, real code: three small projects written as their authors would (a Discord bot over
asyncpg keyed by guild_id, a FastAPI service over asyncpg with a repository layer, a psycopg 3
billing service with `psycopg.sql` composition, named cursors and SQLAlchemy `text()`), each with
its schema and its own configuration, in tests/fixtures/projects/real14_*. What a first-time
user met there:

1. psycopg's named (server-side) cursor, `conn.cursor("dunning")`, was read as asyncpg's
   `conn.cursor(query)`: the cursor's name was checked as a statement, and the SQL given to
   that cursor's `execute()` was not seen at a call (only as a loose string: a value built at
   run time there was no TG009, a fragment would be read alone).
2. `sql.Literal(value)` of a value known at run time is a value psycopg quotes, as a bind
   parameter is: it was TG009.
3. A list of psycopg placeholders or literals joined (`sql.SQL(", ").join(sql.Placeholder() *
   len(ids))`, `[sql.Placeholder()] * n`, `sql.Literal(i) for i in ids`, `map(sql.Literal,
   ids)`) was TG009 where `", ".join(["%s"] * len(ids))` is read as two placeholders.
4. psycopg's `cursor.copy("COPY … FROM STDIN")` and psycopg2's `copy_expert(sql, file)` were
   no calls that send SQL.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text

PROJECTS = Path(__file__).parent.parent / "fixtures" / "projects"
POLICY = Policy("org_id", ["invoices", "usage_events"])


def found(source: str) -> list[tuple[int, int, str]]:
    out, _, _ = check_python_text(source, Analyzer(POLICY))
    return sorted((f.line, f.column, f.code) for f in out)


def checked(source: str) -> int:
    return check_python_text(source, Analyzer(POLICY))[1]


# ------------------------------------------------------------ 1. psycopg's named cursors

NAMED_CURSOR = """\
import psycopg

def overdue(conn):
    with conn.cursor("dunning") as cur:
        cur.execute({sql})
        return cur.fetchmany(100)
"""


@pytest.mark.parametrize(
    "opening",
    [
        'conn.cursor("dunning")',
        'conn.cursor("dunning", scrollable=True)',
        'conn.cursor(f"export-{org}")',
        'conn.cursor(name="dunning")',
        'self.conn.cursor("export_" + str(org))',
    ],
    ids=["name", "name and options", "f-string name", "keyword", "built name"],
)
def test_the_sql_a_named_cursor_executes_is_checked_at_its_call(opening: str) -> None:
    source = (
        "import psycopg\n\n"
        "def overdue(self, conn, org, where):\n"
        f"    with {opening} as cur:\n"
        "        cur.execute(\"SELECT id FROM invoices WHERE status = 'overdue'\")\n"
        "        cur.execute('SELECT id FROM invoices WHERE id = ' + where)\n"
        "        return cur.fetchmany(100)\n"
    )
    # the leak at its place; the run-time WHERE is TG009 at the call; the name is no SQL
    assert found(source) == [(5, 37, "TG001"), (6, 37, "TG001"), (6, 61, "TG009")]
    assert checked(source) == 2


def test_asyncpg_cursor_of_a_query_is_still_a_call_that_sends_sql() -> None:
    """The twin: asyncpg's `conn.cursor(query, *args)` sends its query; its fetch takes a count."""
    source = (
        "import asyncpg\n\n"
        "async def rows(conn, org):\n"
        "    async with conn.transaction():\n"
        "        cur = await conn.cursor('SELECT id FROM invoices')\n"
        "        return await cur.fetch(100)\n"
        "async def more(conn, where):\n"
        "    cur = await conn.cursor(f'SELECT id FROM invoices WHERE id = {where}')\n"
        "    return await cur.fetch(100)\n"
    )
    assert found(source) == [(5, 49, "TG001"), (8, 46, "TG001"), (8, 67, "TG009")]


def test_a_sql_looking_first_argument_of_cursor_stays_sql_in_a_psycopg_module() -> None:
    source = "import psycopg\n\ndef f(conn):\n    conn.cursor('SELECT id FROM invoices')\n"
    assert found(source) == [(4, 33, "TG001")]


# ------------------------------------------------------------ 2. sql.Literal of a run-time value

LITERAL = """\
from psycopg import sql

def totals(conn, org_id, month, col):
    query = sql.SQL(
        "SELECT sum(total_cents) FROM invoices WHERE {where} = {org} AND month = {month}"
    ).format(where=sql.Identifier({column}), org=sql.Literal(org_id), month=sql.Literal(month))
    return conn.execute(query).fetchall()
"""


def test_a_literal_of_a_run_time_value_is_a_value_not_tg009() -> None:
    assert found(LITERAL.replace("{column}", '"org_id"')) == []


def test_a_literal_does_not_pin_what_it_does_not_compare() -> None:
    """The twins: the pin on another column is no pin; an identifier chosen at run time is
    still TG009 (and the pin it may name is not seen)."""
    assert found(LITERAL.replace("{column}", '"number"')) == [(5, 39, "TG001")]
    assert found(LITERAL.replace("{column}", "col")) == [(5, 39, "TG001"), (6, 35, "TG009")]


def test_a_literal_in_a_names_place_does_not_parse() -> None:
    source = (
        "from psycopg import sql\n\n"
        "def f(conn, t):\n"
        "    conn.execute(sql.SQL('SELECT id FROM {} WHERE org_id = 1').format(sql.Literal(t)))\n"
    )
    assert [c for _, _, c in found(source)] == ["TG006"]


# ------------------------------------------------------------ 3. lists of placeholders, psycopg's


@pytest.mark.parametrize(
    "items",
    [
        "sql.Placeholder() * len(ids)",
        "[sql.Placeholder()] * len(ids)",
        "(sql.Placeholder() for _ in ids)",
        "[sql.Literal(i) for i in ids]",
        "map(sql.Literal, ids)",
    ],
)
@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("org_id = %s AND id IN ({})", []),
        ("org_id IN ({})", [(6, 22, "TG008")]),  # several orgs at once: no pin
    ],
    ids=["pinned", "a list of orgs"],
)
def test_psycopg_lists_of_placeholders_are_read_as_two_of_them(
    items: str, where: str, expected: list[tuple[int, int, str]]
) -> None:
    source = (
        "from psycopg import sql\n\n"
        "def delete_in(conn, org, ids):\n"
        f"    marks = sql.SQL(', ').join({items})\n"
        "    stmt = sql.SQL(\n"
        f'        "DELETE FROM invoices WHERE {where}"\n'
        "    ).format(marks)\n"
        "    conn.execute(stmt, (org, *ids))\n"
    )
    assert found(source) == expected


def test_a_list_of_run_time_sql_joined_stays_tg009() -> None:
    source = (
        "from psycopg import sql\n\n"
        "def f(conn, org, cols):\n"
        "    marks = sql.SQL(', ').join(sql.SQL(c) for c in cols.split())\n"
        "    conn.execute(sql.SQL('SELECT {} FROM invoices WHERE org_id = %s').format(marks), (org,))\n"
    )
    assert [c for _, _, c in found(source)] == ["TG009"]


# ------------------------------------------------------------ 4. psycopg's copy, copy_expert


@pytest.mark.parametrize(
    "call",
    [
        'cur.copy("COPY usage_events TO STDOUT")',
        'cur.copy_expert("COPY usage_events TO STDOUT", fh)',
        'conn.cursor().copy("COPY usage_events TO STDOUT")',
    ],
)
def test_copy_of_a_cursor_sends_sql(call: str) -> None:
    source = f"def export(conn, cur, fh):\n    with {call} as c:\n        pass\n"
    assert [c for _, _, c in found(source)] == ["TG005"]
    assert checked(source) == 1


@pytest.mark.parametrize(
    "call",
    [
        "cur.copy(f'COPY (SELECT * FROM invoices WHERE org_id = {org}) TO STDOUT')",
        "cur.copy_expert(build(org), fh)",
    ],
)
def test_copy_built_at_run_time_is_tg009(call: str) -> None:
    source = f"def export(conn, cur, fh, org, query):\n    {call}\n"
    assert "TG009" in [c for _, _, c in found(source)]


def test_copy_of_other_objects_is_not_sql() -> None:
    source = (
        "import copy\n\n"
        "def f(d, items, cur):\n"
        "    a = copy.copy(items)\n"
        "    b = d.copy()\n"
        "    c = items.copy('x')\n"
        "    return a, b, c\n"
    )
    assert found(source) == []
    assert checked(source) == 0


# ------------------------------------------------------------ 5. a name checked against constants

ALLOWLIST = """\
from psycopg import sql

SORTABLE = {allowed}


def listing(conn, org, sort):
{guard}
    query = sql.SQL("SELECT id FROM invoices WHERE org_id = %s ORDER BY {{}}").format(
        sql.Identifier(sort)
    )
    return conn.execute(query, (org,)).fetchall()
"""


@pytest.mark.parametrize(
    "allowed",
    [
        '{"issued_at", "total_cents"}',
        '("issued_at", "total_cents")',
        '["issued_at", "total_cents"]',
        'frozenset({"issued_at", "total_cents"})',
        '{"issued_at": "date", "total_cents": "total"}',
    ],
    ids=["set", "tuple", "list", "frozenset", "dict keys"],
)
@pytest.mark.parametrize(
    "guard",
    [
        "    if sort not in SORTABLE:\n        raise ValueError(sort)",
        "    if sort not in SORTABLE:\n        return []",
        "    if sort not in SORTABLE:\n        sort = 'issued_at'",
        "    assert sort in SORTABLE",
        "    if not sort in SORTABLE:\n        raise ValueError(sort)",
    ],
    ids=["raise", "return", "default", "assert", "not in"],
)
def test_a_name_checked_against_constants_holds_one_of_them(allowed: str, guard: str) -> None:
    source = ALLOWLIST.format(allowed=allowed, guard=guard)
    assert found(source) == []


def test_a_name_checked_inside_the_branch_holds_one_of_them() -> None:
    source = (
        "def f(conn, org, col):\n"
        "    if col in ('number', 'status'):\n"
        "        conn.execute(f'SELECT {col} FROM invoices WHERE org_id = %s', (org,))\n"
        "    else:\n"
        "        conn.execute(f'SELECT {col} FROM invoices WHERE org_id = %s', (org,))\n"
    )
    # the else branch: any text (the tenant pin may be commented out by it)
    assert found(source) == [(5, 32, "TG009")]


@pytest.mark.parametrize(
    "guard",
    [
        # the check does not stop the function
        "    if sort not in SORTABLE:\n        print('unknown sort')",
        # another test joined to it
        "    if sort not in SORTABLE and sort != 'id':\n        raise ValueError(sort)",
        # the name is changed after the check
        "    if sort not in SORTABLE:\n        raise ValueError(sort)\n    sort = load()",
        # a collection built at run time, or changed in place by the module
        "    if sort not in ALLOWED:\n        raise ValueError(sort)",
        "    SORTABLE.add(sort)\n    if sort not in SORTABLE:\n        raise ValueError(sort)",
        # the text tested is not the text used
        "    if sort.lower() not in SORTABLE:\n        raise ValueError(sort)",
    ],
    ids=["no stop", "and", "changed after", "run-time collection", "changed set", "other text"],
)
def test_a_check_that_does_not_hold_leaves_the_name_unknown(guard: str) -> None:
    source = "ALLOWED = set(load())\n" + ALLOWLIST.format(allowed='{"issued_at"}', guard=guard)
    assert "TG009" in [c for _, _, c in found(source)], source


def test_a_set_of_fragments_is_not_joined_in_an_order() -> None:
    """A set's order is Python's hash order: joined, its text is known at run time only."""
    source = (
        "CLAUSES = {'org_id = %s', 'status = %s'}\n"
        "def f(conn, a, b):\n"
        "    conn.execute('SELECT id FROM invoices WHERE ' + ' AND '.join(CLAUSES), (a, b))\n"
    )
    assert "TG009" in [c for _, _, c in found(source)]


# ------------------------------------------------------------ the projects, as a user runs them


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["check", "--no-cache", "--format", "json", *argv])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return code, json.loads(out)


def located(data: dict[str, object], root: Path) -> list[tuple[str, int, int, str]]:
    findings = data["findings"]
    assert isinstance(findings, list)
    return sorted(
        (
            Path(f["path"]).resolve().relative_to(root.resolve()).as_posix(),
            f["line"],
            f["column"],
            f["rule"],
        )
        for f in findings
    )


BILLING = [
    ("billing/jobs.py", 28, 28, "TG001"),  # retention over every org's events
    ("billing/store.py", 81, 49, "TG001"),  # the dunning job's named cursor
    ("billing/store.py", 122, 51, "TG001"),  # text() of platform-wide usage
    ("billing/store.py", 128, 33, "TG005"),  # COPY of the whole table
]
GUILDBOT = [
    ("bot/cogs/levels.py", 32, 55, "TG001"),
    ("bot/cogs/moderation.py", 45, 44, "TG001"),
    ("bot/cogs/tags.py", 14, 26, "TG001"),
    ("bot/cogs/tags.py", 53, 30, "TG001"),
    ("bot/cogs/tags.py", 66, 60, "TG001"),
    ("bot/db.py", 21, 37, "TG009"),  # the schema file read at startup
]


NOTES_API = [
    # the tag cloud's tags, where they are written (once: not again at the call that sends them)
    ("app/queries.py", 19, 29, "TG001"),
    ("app/repositories/members.py", 18, 35, "TG001"),
    ("app/repositories/notes.py", 15, 23, "TG001"),  # archive by id in any workspace
    ("app/repositories/notes.py", 54, 41, "TG001"),  # the tag filter's subquery
    ("app/repositories/notes.py", 63, 15, "TG002"),
    # the page helper appends LIMIT/OFFSET: its callers' SQL is checked with it
    ("app/routers/notes.py", 45, 58, "TG001"),
    ("app/routers/notes.py", 63, 60, "TG001"),
]


@pytest.mark.parametrize(
    ("name", "expected", "statements"),
    [
        ("real14_billing", BILLING, 20),
        ("real14_guildbot", GUILDBOT, 21),
        ("real14_notes_api", NOTES_API, 29),
    ],
)
@pytest.mark.parametrize("where", ["root", "subdirectory", "outside"])
def test_each_project_from_any_working_directory(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    expected: list[tuple[str, int, int, str]],
    statements: int,
    where: str,
) -> None:
    root = PROJECTS / name
    if where == "root":
        monkeypatch.chdir(root)
        target = "."
    elif where == "subdirectory":
        sub = next(p for p in sorted(root.iterdir()) if p.is_dir())
        monkeypatch.chdir(sub)
        target = ".."
    else:
        monkeypatch.chdir(PROJECTS.parent)
        target = os.path.relpath(root)
    code, data = run_json(capsys, target)
    assert code == 1
    assert located(data, root) == expected
    summary = data["summary"]
    assert isinstance(summary, dict)
    # each SQL text a call can send is one statement checked (the schema read apart)
    assert summary["statements"] - summary["schema_statements"] == statements


# ------------------------------------------------------------ 6. wrappers that add to the SQL

NOTES = Policy("workspace_id", ["notes"])


def notes_found(source: str) -> list[tuple[int, int, str]]:
    out, _, _ = check_python_text(source, Analyzer(NOTES))
    return sorted((f.line, f.column, f.code) for f in out)


PAGE_HELPER = """\
async def fetch_page(conn, query, *args, limit=50, offset=0):
    rows = await conn.fetch({template}, *args)
    return [dict(r) for r in rows]


async def mine(conn, ws):
    return await fetch_page(conn, "SELECT id FROM notes WHERE workspace_id = $1", ws)


async def everyone(conn):
    return await fetch_page(conn, "SELECT id FROM notes ORDER BY id")
"""


@pytest.mark.parametrize(
    "template",
    [
        'f"{query} LIMIT {int(limit)} OFFSET {int(offset)}"',
        'query + " LIMIT 50"',
        'f"{query} LIMIT $9"',
        'f"SELECT count(*) FROM ({query}) AS counted"',
        'f"WITH page AS ({query}) SELECT * FROM page LIMIT {int(limit)}"',
        '"{} LIMIT {}".format(query, int(limit))',
    ],
    ids=["limit offset", "concatenated", "bound limit", "count", "cte", "format"],
)
def test_the_sql_a_wrapper_completes_is_checked_at_each_call(template: str) -> None:
    """A helper that adds a clause to the SQL it is given, or reads it as a subquery, is a
    wrapper: the unpinned caller is found (at its literal), nothing is TG009 in the helper
    (but where the query is read by more than a tail: the CTE's main query)."""
    expected = [(11, 51, "TG001")]
    if "WITH" in template:
        expected[:0] = [(2, 46, "TG009"), (2, 80, "TG009")]  # the query, the int after it
    assert notes_found(PAGE_HELPER.format(template=template)) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('f"{query} OR true"', [(2, 32, "TG009"), (7, 51, "TG001"), (11, 51, "TG001")]),
        (
            'f"{query} OR workspace_id IS NOT NULL"',
            [(2, 32, "TG009"), (7, 51, "TG001"), (11, 51, "TG001")],
        ),
        # the helper's own unpinned branch: found by the helper's own check there, and by
        # each call that sends it, at that call (round 23: three findings on one line were)
        (
            'f"SELECT * FROM ({query}) AS q UNION ALL SELECT id FROM notes"',
            [
                (2, 47, "TG009"),
                (2, 85, "TG001"),
                (7, 35, "TG001"),
                (11, 35, "TG001"),
                (11, 51, "TG001"),
            ],
        ),
    ],
    ids=["or true", "or any workspace", "union"],
)
def test_what_a_wrapper_adds_is_checked_with_the_callers_sql(
    template: str, expected: list[tuple[int, int, str]]
) -> None:
    """The attacker's twin: the pinned caller's SQL is no longer pinned once the helper adds
    to it; found where the unpinned table is written (the caller's literal, or the helper's).
    What the helper adds changes what the SQL reads: its parameter stays TG009 there too."""
    assert notes_found(PAGE_HELPER.format(template=template)) == expected


def test_a_wrapper_parameter_filled_by_the_caller_is_resolved() -> None:
    source = (
        "async def fetch_sorted(conn, query, order, *args):\n"
        '    return await conn.fetch(f"{query} ORDER BY {order}", *args)\n'
        "\n"
        "async def f(conn, ws, column):\n"
        '    await fetch_sorted(conn, "SELECT id FROM notes WHERE workspace_id = $1", "id", ws)\n'
        '    await fetch_sorted(conn, "SELECT id FROM notes WHERE workspace_id = $1", column, ws)\n'
    )
    # the order given at run time is TG009 where it is given; the constant one is no finding
    assert notes_found(source) == [(6, 78, "TG009")]


def test_a_wrapper_of_a_wrapper_that_completes_the_sql() -> None:
    source = (
        "async def fetch_page(conn, query, *args):\n"
        '    return await conn.fetch(f"{query} LIMIT 50", *args)\n'
        "\n"
        "class Repo:\n"
        "    def __init__(self, conn):\n"
        "        self.conn = conn\n"
        "    async def page(self, sql, *args):\n"
        "        return await fetch_page(self.conn, sql, *args)\n"
        "    async def everyone(self):\n"
        '        return await self.page("SELECT id FROM notes")\n'
    )
    assert notes_found(source) == [(10, 48, "TG001")]


def test_a_parameter_inside_the_text_is_not_a_wrapper() -> None:
    """`FROM {table}`: the function builds its SQL from a name; TG009 stays where it is built."""
    source = (
        "async def count(conn, table, ws):\n"
        '    return await conn.fetchval(f"SELECT count(*) FROM {table} WHERE workspace_id = $1", ws)\n'
        "\n"
        "async def f(conn, ws):\n"
        '    return await count(conn, "notes", ws)\n'
    )
    assert notes_found(source) == [(2, 56, "TG009")]


# ------------------------------------------------------------ 7. ints written by .format and %


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('"SELECT id FROM invoices WHERE org_id = %s LIMIT {}".format(int(n))', []),
        ('"SELECT id FROM invoices WHERE org_id = %s LIMIT {:d}".format(len(xs))', []),
        ('"SELECT id FROM invoices WHERE org_id = %s LIMIT {0!s}".format(int(n))', []),
        ('"SELECT id FROM invoices WHERE org_id = %%s LIMIT %d" % int(n)', []),
        ('"SELECT id FROM invoices WHERE org_id = %%s LIMIT %s" % (len(xs) + 1,)', []),
        # the twins: not surely an int, or not one number token there
        ('"SELECT id FROM invoices WHERE org_id = %s LIMIT {}".format(n)', ["TG009"]),
        ('"SELECT id FROM invoices_{} WHERE org_id = %s".format(int(n))', ["TG009"]),
        ('"SELECT id FROM invoices WHERE org_id = %s LIMIT {:>5}".format(int(n))', ["TG009"]),
        ('"SELECT id FROM invoices WHERE org_id = %s AND id = -{}".format(int(n))', ["TG009"]),
    ],
)
def test_an_int_formatted_by_format_or_percent_is_a_number(
    expression: str, expected: list[str]
) -> None:
    source = f"def f(cur, n, xs, org):\n    cur.execute({expression}, (org,))\n"
    assert [c for _, _, c in found(source)] == expected


# ------------------------------------------------------------ 8. subclasses in other modules

BASE = """\
class Repository:
    table: str = ""
    FILTER = "WHERE workspace_id = $1"
    DELETE_ONE = ""

    def __init__(self, conn, ws):
        self.conn = conn
        self.ws = ws

    async def all(self):
        return await self.conn.fetch(f"SELECT id FROM {self.table} {self.FILTER}", self.ws)

    async def delete(self, item_id):
        return await self.conn.execute(self.DELETE_ONE, self.ws, item_id)
"""

SUBCLASSES = """\
from .base import Repository


class NotesRepository(Repository):
    table = "notes"
    DELETE_ONE = "DELETE FROM notes WHERE workspace_id = $1 AND id = $2"


class MembersRepository(Repository):
    table = "members"
    FILTER = "WHERE user_id = $1"
    DELETE_ONE = "DELETE FROM members WHERE user_id = $2 AND $1::uuid IS NOT NULL"
"""


def repository_project(root: Path, subclasses: str = SUBCLASSES) -> None:
    (root / "app").mkdir(parents=True)
    (root / "tenantguard.toml").write_text(
        'tenant_column = "workspace_id"\ntenant_tables = ["notes", "members"]\n'
    )
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "base.py").write_text(BASE)
    (root / "app" / "repos.py").write_text(subclasses)


def test_attributes_a_subclass_in_another_module_sets_reach_the_base_methods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`self.table` / `self.FILTER` / `self.DELETE_ONE` in the base's methods hold what each
    subclass of the project sets, wherever it is: the members' unpinned FILTER is found at
    the base's call (it was a TG006 warning on `SELECT id FROM  WHERE …`), and so is the
    unpinned DELETE: where the subclass writes it, which reads as SQL standing alone (round
    15: once, not again at the base's call)."""
    repository_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    for argv in ([], ["app/base.py"]):  # the whole tree, or the base alone (pre-commit)
        _, data = run_json(capsys, *argv)
        assert [
            (f[0], f[1], f[2], f[3]) for f in located(data, tmp_path) if f[0] == "app/base.py"
        ] == [
            # (the base's own `table = ""`, `SELECT id FROM  WHERE …`, was a TG006 warning; the
            # project never makes a Repository and every subclass sets its table: no object
            # sends it — h36D found, h37D fixed)
            # members' table with members' filter; not notes' table with members' filter
            ("app/base.py", 11, 38, "TG001"),
            # the unpinned DELETE written in repos.py, sent by the base: said at its call by a
            # run that does not check repos.py (s39: said nowhere before)
            *([("app/base.py", 14, 40, "TG001")] if argv else []),
        ], data
    _, data = run_json(capsys)
    assert ("app/repos.py", 12, 31, "TG001") in located(data, tmp_path)


def test_a_subclass_added_in_another_module_invalidates_the_cached_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    safe = SUBCLASSES.split("\n\nclass MembersRepository")[0] + "\n"
    repository_project(tmp_path, safe)
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--format", "json", "app/base.py"])
    assert code == 0, capsys.readouterr()
    capsys.readouterr()
    (tmp_path / "app" / "members.py").write_text(
        SUBCLASSES.split("\n\n\nclass NotesRepository")[0]
        + "\n\n\nclass MembersRepository"
        + SUBCLASSES.split("class MembersRepository")[1]
    )
    code = main(["check", "--format", "json", "app/base.py"])
    assert code == 1, capsys.readouterr()


# ------------------------------------------------------------ 9. configuration that cannot mean anything


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ('tenant_expressions = ["current_setting(app.ws"]', "tenant_expressions"),
        ('tenant_expressions = ["1 +"]', "tenant_expressions"),
        ('tenant_expressions = [""]', "tenant_expressions"),
        ('tenant_root = "workspaces.("', "tenant_root"),
        ('tenant_root = "workspaces id"', "tenant_root"),
        ('tenant_tables = ["notes;"]', "tenant_tables"),
        ('global_tables = ["plans, orgs"]', "global_tables"),
        ('tenant_column = "workspace id"', "tenant_column"),
    ],
)
@pytest.mark.parametrize("command", ["check", "explain"])
def test_a_setting_that_is_no_sql_name_or_expression_exits_2_naming_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    line: str,
    named: str,
    command: str,
) -> None:
    """It was an internal error ("please report this") for an expression, and passed in
    silence for a name (a tenant root that names nothing pins nothing)."""
    (tmp_path / "tenantguard.toml").write_text(
        f'tenant_column = "workspace_id"\n{line}\n'.replace(
            'tenant_column = "workspace_id"\ntenant_column', "tenant_column"
        )
        + ('tenant_tables = ["notes"]\n' if "tenant_tables" not in line else "")
    )
    (tmp_path / "q.sql").write_text("SELECT id FROM notes WHERE workspace_id = $1;\n")
    monkeypatch.chdir(tmp_path)
    argv = ["check", "q.sql"] if command == "check" else ["explain", "SELECT 1"]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert "configuration error" in err and named in err and "internal error" not in err, err


@pytest.mark.parametrize(
    "line",
    [
        'tenant_root = "workspaces"',
        'tenant_root = "workspaces.code"',
        "tenant_root = 'crm.\"Workspaces\".id'",
        "tenant_tables = ['\"Notes\"', 'billing.invoices', 'notes_2024', 'ñotas']",
        'tenant_expressions = ["current_setting(\'app.ws\')::uuid", "app_ws()"]',
    ],
)
def test_names_and_expressions_postgresql_reads_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], line: str
) -> None:
    (tmp_path / "tenantguard.toml").write_text(
        f'tenant_column = "workspace_id"\n{line}\n'
        + ('tenant_tables = ["notes"]\n' if "tenant_tables" not in line else "")
    )
    (tmp_path / "q.sql").write_text("SELECT 1;\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--no-cache", "q.sql"]) == 0, capsys.readouterr()


@pytest.mark.parametrize(
    "flags",
    [["--tenant-column", "workspace id"], ["--tenant-tables", "notes;drop"]],
)
def test_a_flag_that_is_no_sql_name_exits_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
) -> None:
    (tmp_path / "q.sql").write_text("SELECT 1;\n")
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--isolated", "--tenant-tables", "notes", *flags, "q.sql"])
    err = capsys.readouterr().err
    assert code == 2 and "configuration error" in err, err


# ------------------------------------------------------------ 10. prose that sqlglot reads as DML

BOT = Policy("guild_id", ["tags", "levels"])


@pytest.mark.parametrize(
    "text",
    [
        "Update levels from the dashboard",  # sqlglot: UPDATE levels SET  FROM the AS dashboard
        "Delete tags from the list",  # sqlglot: MySQL's DELETE t FROM …
        "delete levels",
        "update levels",
    ],
)
def test_prose_postgresql_would_not_parse_is_not_sql(text: str) -> None:
    source = f'async def tag(ctx):\n    await ctx.send("{text}")\n    x = f"{text} {{ctx}}"\n'
    out, count, _ = check_python_text(source, Analyzer(BOT))
    assert [f.code for f in out] == [] and count == 0


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("UPDATE levels SET xp = 0", 28),
        ("update levels set xp = 0 where user_id = $1", 28),
        ("DELETE FROM levels WHERE user_id = $1", 33),
        ("delete from tags", 33),
    ],
)
def test_sql_standing_alone_is_still_checked(text: str, column: int) -> None:
    source = f'async def tag(ctx):\n    await ctx.send("{text}")\n'
    out, _, _ = check_python_text(source, Analyzer(BOT))
    assert [(f.line, f.column, f.code) for f in out] == [(2, column, "TG001")]


# ------------------------------------------------------------ 11. queries keyed by an Enum

KEYED = """\
import enum


class Kind(enum.Enum):
    TAGS = "tags"
    LEVELS = "levels"


QUERIES = {{
    Kind.TAGS: "SELECT count(*) FROM tags WHERE guild_id = $1",
    Kind.LEVELS: {levels},
}}


async def count(pool, kind: Kind, guild: int):
    return await pool.fetchval({pick}, guild)
"""


@pytest.mark.parametrize("pick", ["QUERIES[kind]", "QUERIES[Kind.LEVELS]", "QUERIES.get(kind)"])
@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ('"SELECT count(*) FROM levels WHERE guild_id = $1"', []),
        ('"SELECT count(*) FROM levels"', [(11, 40, "TG001")]),  # the twin: found at its text
        ("load_levels_sql()", ["TG009"]),
    ],
    ids=["pinned", "unpinned", "run time"],
)
def test_a_dict_keyed_by_enum_members_gives_each_of_its_values(
    pick: str, levels: str, expected: list[object]
) -> None:
    source = KEYED.format(levels=levels, pick=pick)
    out, _, _ = check_python_text(source, Analyzer(BOT))
    got = [(f.line, f.column, f.code) for f in out]
    if expected == ["TG009"]:
        assert [c for _, _, c in got] == ["TG009"], got
    else:
        assert got == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # a value list, not a subquery: the function's own SQL, checked where it is written
        ('f"SELECT * FROM notes WHERE id IN ({ids})"', [(2, 45, "TG001"), (2, 65, "TG009")]),
        # a tail that changes what the statement reads: TG009 in the helper, whoever calls it
        ('f"{ids} OR true"', [(2, 32, "TG009")]),
        ('f"{ids} FROM notes"', [(2, 32, "TG009"), (2, 42, "TG001")]),
        # a tail that does not: the callers' SQL is checked, nothing is said here
        ('f"{ids} LIMIT 10"', []),
        ('f"{ids} ORDER BY id FOR UPDATE"', []),
        ('f"SELECT count(*) FROM ({ids}) AS q"', []),
    ],
)
def test_a_helper_nobody_calls_keeps_what_it_said(
    body: str, expected: list[tuple[int, int, str]]
) -> None:
    source = f"async def by_ids(conn, ids):\n    return await conn.fetch({body})\n"
    assert notes_found(source) == expected


# ------------------------------------------------------------ 12. whole tables copied by name


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        # exports: every tenant's rows
        ('await conn.copy_from_table("invoices", output=fh, format="csv")', ["TG005"]),
        ('await conn.copy_from_table(table_name="invoices", output=fh)', ["TG005"]),
        ('cur.copy_to(fh, "invoices")', ["TG005"]),
        ('cur.copy_to(fh, table="invoices", columns=("org_id", "id"))', ["TG005"]),
        # imports: as asyncpg's copy_to_table, the tenant column must be given
        ('cur.copy_from(fh, "invoices", columns=("number", "total_cents"))', ["TG002"]),
        ('cur.copy_from(fh, "invoices")', ["TG002"]),
        ('cur.copy_from(fh, "invoices", columns=("org_id", "number"))', []),
        # the twins: a table of no tenant, a file copied by shutil
        ('await conn.copy_from_table("plans", output=fh)', []),
        ('cur.copy_to(fh, "plans")', []),
        ('shutil.copy_to(fh, "invoices.csv")', []),
    ],
)
def test_a_table_copied_by_its_name(call: str, expected: list[str]) -> None:
    source = f"import shutil\n\nasync def export(conn, cur, fh):\n    {call}\n"
    assert [(line, code) for line, _, code in found(source)] == [(4, c) for c in expected]
