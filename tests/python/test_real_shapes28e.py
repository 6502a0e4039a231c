"""Outside review h28e: leaks the round-28 relaxations of the Python reader let pass.

1. A helper returning its parameter (`def q(text="SELECT … WHERE guild_id = $1"): return
   dedent(text).strip()`) was read with its constant default wherever the call gave no
   string-like argument or unpacked one: `q(*args)`, `q(**kw)`, `q(sql or DEFAULT)` sent what
   the caller gave, yet passed in silence (before the relaxation: TG009).
2. Tortoise's `connections.get("default").execute_query(sql)` was read as no database's (the
   receiver named by `get`): SQL known only at run time there passed in silence.
3. A list of queries changed through another name (`ALIAS = QS; ALIAS.append(q)`, or a
   function appending to its parameter given QS) was read as its display — and, since
   25c28ff, as the comprehension over constants that made it: the query added passed in
   silence.
4. A DB-API cursor's `callproc(procname="reset_uses")` or `callproc(*call)` sends the same
   `SELECT * FROM reset_uses()` as a positional name, which a5d3803 reads: both passed in
   silence.
5. A helper method taken as a bound method, `f = self.q; f(where)`: the argument was mapped
   to `self`, `text` read as its pinned default — the caller's SQL passed in silence.
6. A trailing suppression on the line a literal or a multi-line call ends on (0a9a5e5,
   d8ecde1), written for another literal or call that follows on that line, silenced the
   statement that ended there too (an unpinned FOR UPDATE, a DELETE of every guild's tags).
7. A project method named like a driver's that sends through `getattr(self.pool, name)`
   (542ffe0: the project's method, no wrapper): the SQL given it passed in silence.
8. A helper whose parameter a nested function rebinds through `nonlocal` (`text += " OR
   true"`) was read as returning the call's argument unchanged: silence.
9. A loop over a project generator yielding `BASE + extra`, called `statements(" OR true")`:
   only a warning (the parameter not filled from the call, as a return's is).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project_files import GUILD_CONFIG as CONFIG
from tests.project_files import GUILD_SCHEMA as SCHEMA
from tests.project_files import findings_of_check, write_guild_project, write_project

_found = findings_of_check
_project = write_guild_project


# 1. a helper returning its parameter, its default taken where the call gives an argument

DEFAULTED = (
    "import textwrap\n"
    "\n"
    "\n"
    'def q(text="SELECT name FROM tags WHERE guild_id = $1"):\n'
    "    return textwrap.dedent(text).strip()\n"
    "\n"
    "\n"
    "async def get(conn, guild_id, given):\n"
    "    return await conn.fetch(CALL, guild_id)\n"  # 9
)


@pytest.mark.parametrize(
    "call", ["q(*given)", "q(**given)", "q(given or None)", "q(await given())"]
)
def test_a_helper_default_is_not_what_an_argument_replaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    _project(tmp_path, {"bot/q.py": DEFAULTED.replace("CALL", call)})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 9, "TG009")]


@pytest.mark.parametrize("call", ["q()", 'q("SELECT uses FROM tags WHERE guild_id = $1")'])
def test_a_helper_default_or_constant_argument_stays_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    _project(tmp_path, {"bot/q.py": DEFAULTED.replace("CALL", call)})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 2. Tortoise's own idiom, `connections.get("default").execute_query(sql)`: the receiver is
# named by `connections` (the chain), not by the `get` called last — read as no database's
# (5c7c47c), SQL known only at run time there passed in silence

TORTOISE = (
    "from tortoise import connections\n"
    "\n"
    "\n"
    "async def raw(sql):\n"
    '    return await connections.get("default").execute_query(sql)\n'  # 5
)


def test_tortoise_connections_get_is_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/raw.py": TORTOISE})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/raw.py", 5, "TG009")]


def test_another_clients_get_is_no_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twin: a GraphQL client's `clients.get("api").execute_query(query)` stays unread."""
    source = TORTOISE.replace("from tortoise import connections", "from gql import clients")
    source = source.replace("connections.get", "clients.get")
    _project(tmp_path, {"bot/raw.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 3. a list of queries changed through another name for it: `ALIAS = QS; ALIAS.append(q)`, or
# a function changing its parameter given QS — QS was read as its display, or (25c28ff) as the
# comprehension over a tuple of constants it was made by: the runtime query passed in silence

CHANGED_ELSEWHERE = (
    "import os\n"
    "\n"
    'TABLES = ("tags",)\n'
    'QS = [f"SELECT count(*) FROM {t} WHERE guild_id = $1" for t in TABLES]\n'
    "CHANGE\n"
    "\n"
    "\n"
    "def add(lst, q):\n"
    "    lst.append(q)\n"
    "\n"
    "\n"
    "async def count(conn, g):\n"
    "    for q in QS:\n"
    "        await conn.fetchval(q, g)\n"  # 14
)


@pytest.mark.parametrize(
    "change",
    [
        'ALIAS = QS\nALIAS.append(os.environ["Q"])',
        'add(QS, os.environ["Q"])',
        'add(q=os.environ["Q"], lst=QS)',
        'ALIAS = QS\nadd(ALIAS, os.environ["Q"])',
    ],
    ids=["alias", "parameter", "keyword", "alias-parameter"],
)
@pytest.mark.parametrize("made", ["comprehension", "display"])
def test_a_list_changed_through_another_name_is_not_its_display(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
    made: str,
) -> None:
    source = CHANGED_ELSEWHERE.replace("CHANGE", change)
    if made == "display":
        source = source.replace(
            '[f"SELECT count(*) FROM {t} WHERE guild_id = $1" for t in TABLES]',
            '["SELECT count(*) FROM tags WHERE guild_id = $1"]',
        )
    _project(tmp_path, {"bot/repo.py": source})
    line = 14 + change.count("\n")
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/repo.py", line, "TG009")]


@pytest.mark.parametrize(
    "change", ["ALIAS = QS\nprint(len(ALIAS))", 'add([], os.environ["Q"])\nOTHER = QS']
)
def test_a_list_only_read_through_another_name_stays_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    _project(tmp_path, {"bot/repo.py": CHANGED_ELSEWHERE.replace("CHANGE", change)})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 4. callproc by keyword or unpacked: the same `SELECT * FROM name(…)` is sent (a5d3803 read
# only a positional name; these passed in silence)

PROCS = (
    "CREATE FUNCTION reset_uses() RETURNS void LANGUAGE sql AS "
    "$$ UPDATE tags SET uses = 0 $$;\n"
    "CREATE FUNCTION reset_uses_of(g bigint) RETURNS void LANGUAGE sql AS "
    "$$ UPDATE tags SET uses = 0 WHERE guild_id = g $$;\n"
)


def test_callproc_by_keyword_or_unpacked_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dao = (
        "def reset(conn, guild_id, call):\n"
        "    with conn.cursor() as cur:\n"
        '        cur.callproc(procname="reset_uses_of", parameters=(guild_id,))\n'
        '        cur.callproc(procname="reset_uses")\n'  # 4: every guild's tags
        "        cur.callproc(*call)\n"  # 5: known at run time
    )
    write_project(tmp_path, SCHEMA + PROCS, CONFIG, {"bot/__init__.py": "", "bot/dao.py": dao})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/dao.py", 4, "TG001"),
        ("bot/dao.py", 5, "TG009"),
    ]


# 5. a helper method taken as a bound method: `f = self.q; f(where)` gives `where` to `text`,
# not to `self` — it was mapped to `self`, and `text` read as its pinned default


BOUND = (
    "class Repo:\n"
    '    def q(self, text="SELECT name FROM tags WHERE guild_id = $1"):\n'
    "        return text.strip()\n"
    "\n"
    "    async def get(self, conn, g, where):\n"
    "        f = self.q\n"
    "        return await conn.fetch(CALL, g)\n"  # 7
)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("f(where)", [("bot/repo.py", 7, "TG009")]),
        ("self.q(where)", [("bot/repo.py", 7, "TG009")]),
        ("f()", []),
        ('self.q("SELECT uses FROM tags WHERE guild_id = $1")', []),
    ],
    ids=["bound alias, run time", "method, run time", "bound alias, default", "method, constant"],
)
def test_a_bound_helper_method_gives_its_argument_to_the_parameter(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    call: str,
    expected: list[tuple[str, int, str]],
) -> None:
    _project(tmp_path, {"bot/repo.py": BOUND.replace("CALL", call)})
    assert _found(tmp_path, capsys, monkeypatch) == expected


# 6. a trailing suppression on the line where a literal or a multi-line call ends, written for
# what follows on that line (another literal, another call), silenced the one that ended there

REASON = "# tenantguard: ignore[TG001] -- stats count every guild's tags on purpose"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "QUERIES = {\n"
            '    "claim": """\n'
            "        SELECT id FROM tags FOR UPDATE SKIP LOCKED\n"  # 3: every guild's rows locked
            f'    """, "stats": "SELECT count(*) FROM tags",  {REASON}\n'
            "}\n",
            [("bot/a.py", 3, "TG001")],
        ),
        (
            "async def f(conn):\n"
            "    await conn.execute(\n"
            '        "DELETE FROM tags WHERE uses = 0",\n'  # 3: every guild's tags
            f'    ); await conn.fetch("SELECT count(*) FROM tags")  {REASON}\n',
            [("bot/a.py", 3, "TG001")],
        ),
        (  # the twins: nothing else on the line, the suppression covers what ends there
            "QUERIES = {\n"
            '    "stats": """\n'
            "        SELECT count(*) FROM tags\n"
            f'    """,  {REASON}\n'
            "}\n",
            [],
        ),
        (
            "async def f(conn):\n"
            "    await conn.fetch(\n"
            '        "SELECT count(*) FROM tags",\n'
            f"    )  {REASON}\n",
            [],
        ),
    ],
    ids=["literal then another", "call then another", "literal alone", "call alone"],
)
def test_a_suppression_after_a_literal_or_call_with_more_on_its_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    expected: list[tuple[str, int, str]],
) -> None:
    _project(tmp_path, {"bot/a.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == expected


# 7. a project method named like a driver's that sends through something the reader does not
# follow (`getattr(self.pool, name)(query, *args)`): since 542ffe0 it was the project's method,
# no wrapper, and the SQL given it passed in silence — its first argument is read again where
# it reads as SQL, as the driver's method's was

DISPATCH = (
    "class Repo:\n"
    "    def __init__(self, pool):\n"
    "        self.pool = pool\n"
    "\n"
    "    async def fetchval(self, query, *args):\n"
    '        return await self._call("fetchval", query, *args)\n'
    "\n"
    "    async def _call(self, name, query, *args):\n"
    "        return await getattr(self.pool, name)(query, *args)\n"
    "\n"
    "    async def fetch(self, conn, query, *args):\n"
    "        return await conn.fetch(query, *args)\n"
    "\n"
    "    async def names(self, conn, g, extra):\n"
    '        await self.fetchval("SELECT count(*) FROM tags WHERE guild_id = $1" + extra, g)\n'  # 15
    '        await self.fetch(conn, "SELECT name FROM tags WHERE guild_id = $1", g)\n'
    "\n"
    "\n"
    "class Cache:\n"
    "    def fetch(self, key):\n"
    "        return None\n"
    "\n"
    "    def use(self, key):\n"
    "        return self.fetch(key)\n"
)


def test_a_driver_named_method_that_is_no_wrapper_reads_its_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leak at line 15 (TG009, as before 542ffe0); the twins: a wrapper of that name
    (`self.fetch(conn, Q, g)`) and a cache's `fetch(key)` stay clean."""
    _project(tmp_path, {"bot/repo.py": DISPATCH})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/repo.py", 15, "TG009")]


# 8. a helper's parameter a nested function assigns again through `nonlocal`: what it returns
# is not the argument the call gave

NONLOCAL = (
    "def q(text):\n"
    "    def add():\n"
    "        nonlocal text\n"
    '        text += " OR true"\n'
    "\n"
    "    add()\n"
    "    return text\n"
    "\n"
    "\n"
    "async def get(conn, g):\n"
    '    return await conn.fetch(q("SELECT name FROM tags WHERE guild_id = $1"), g)\n'  # 11
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("", ""), [("bot/q.py", 11, "TG009")]),
        (("        nonlocal text\n", "        nonlocal_text = 1\n"), []),  # the twin: local
    ],
    ids=["nonlocal", "a local of its own"],
)
def test_a_parameter_rebound_by_a_nested_function_is_not_the_argument(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: tuple[str, str],
    expected: list[tuple[str, int, str]],
) -> None:
    source = NONLOCAL.replace(*change) if change[0] else NONLOCAL
    if change[0]:
        source = source.replace('        text += " OR true"\n', '        text = " OR true"\n')
    _project(tmp_path, {"bot/q.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == expected


# 9. a loop over a project generator that yields its parameter with a constant (29db25e): what
# the call gives it is read, as for a function returning it (5800933) — `gen(" OR true")` was
# only a warning ("`extra` is a parameter of gen()")

GENERATOR = (
    "def statements(extra):\n"
    '    yield "DELETE FROM tags WHERE guild_id = $1" + extra\n'  # 2
    "\n"
    "\n"
    "async def purge(conn, g, given):\n"
    "    for sql in statements(ARGUMENT):\n"
    "        await conn.execute(sql, g)\n"
)


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ('" OR true"', [("bot/gen.py", 2, "TG001")]),
        ('" AND uses = 0"', []),
        ("given", [("bot/gen.py", 2, "TG009")]),
    ],
    ids=["leaking constant", "pinned constant", "run time"],
)
def test_a_generator_parameter_holds_what_the_loop_call_gives(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argument: str,
    expected: list[tuple[str, int, str]],
) -> None:
    _project(tmp_path, {"bot/gen.py": GENERATOR.replace("ARGUMENT", argument)})
    assert _found(tmp_path, capsys, monkeypatch) == expected
