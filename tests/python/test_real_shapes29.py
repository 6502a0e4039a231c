"""Outside review h29c: shapes of real application code the Python reader got wrong.

1. The `.value` of a member of a project `Enum` known only at run time — a parameter annotated
   with the enum (FastAPI's `sort: Sort = Sort.NAME` query parameter), `Sort(text).value`,
   `Sort[name].value`, a name bound to `Sort(text)` — is one of the members' values (Python
   raises for anything else; the annotation is trusted as a `Literal[…]` one is): the TG009 it
   drew on every sort column chosen by an enum was noise, and a member whose value leaks
   (`"name OR true"`…) was only a warning. So is a field annotated with the enum of a project
   record class (`params.sort.value`, `params: ListParams` a pydantic model: FastAPI's query
   model), and a `StrEnum` member formatted into the text (`f"… ORDER BY {sort}"`).
2. A repository base that leaves its table to subclasses (`table: str`, or `table = None`) and
   a method reading two attributes of `self` (`f"SELECT {self.columns} FROM {self.table} …"`,
   read once per class): the base's own reading gave TG009 (`table` absent) or a TG006 error
   (`FROM None`), though an object of the base sends nothing (AttributeError) or SQL that fails
   (`None` is no table) — as the one-attribute reading already took it.
3. A whitespace normaliser between the SQL and the driver — `" ".join(sql.split())`,
   `re.sub(r"\\s+", " ", sql)`, a module's `re.compile(r"\\s+")`, inline, in a helper that
   returns it or in a wrapper that sends it — was TG009 (a warning) on every query, clean or
   not. What it sends is computable, and differs: a `-- comment` ending a line swallows the
   lines joined after it, the tenant filter among them (shown on the server below).
4. A project wrapper named like a driver's method (`Database.fetch(self, sql, *args)`) called
   on a receiver whose class the reader does not know (`db.fetch(q)`, `db` a parameter or
   `request.app.db`) was read as the driver's `fetch` only: what the wrapper adds to the SQL
   (`sql + " OR true"`, a normaliser) was never checked at the calls — at most TG009 in the
   wrapper. The call is now read both ways.
5. SQL kept in a `.sql` file of the project and read at import by a path built from
   `__file__` (`(Path(__file__).parent.parent / "sql" / "tags.sql").read_text()`, `HERE / "x.sql"`,
   `os.path.join(os.path.dirname(__file__), …)`, `open(path).read()`, `with open(path) as f:
   f.read()`) was TG009 at every call that sent it: the text is the file's. It is read as
   that text (found where it is read, as a constant is; the cache's entry goes when the file
   changes); a path known
   only at run time, or a file that is not there, stays TG009. So is a file named by a
   helper's parameter (`def load_sql(name): return (SQL_DIR / f"{name}.sql").read_text()`,
   `load_sql("tags")`; or a wrapper sending it): each call's file. And the dict of a
   directory's queries, `{p.stem: p.read_text() for p in SQL_DIR.glob("*.sql")}`: each file's.
6. A tuple or list of constants unpacked into names (`sql, label = LISTING`, a class's
   `self.QUERY`) gave each name a value known only at run time: TG009 at the call, the SQL
   unchecked. Each name is its item now.
7. A lambda bound to a name that sends its parameter (`q = lambda sql, *a: conn.fetch(sql,
   *a)`) was TG009 at the lambda, and what its callers gave it was not checked as sent
   (`lambda s: conn.fetch(s + " OR uses > 100")` only a warning). It is read as the `def`
   it stands for: a wrapper. And a closure with a parameter of its own that sends it, handed
   on rather than called by its name (`def q(sql): …` then `app.add_route("/run", q)`), was
   read as a wrapper no call of the project fills: silence. It is TG009 there now, as a
   module-level function handed on is.
8. A DB-API cursor's `callproc` reached indirectly — kept in a name (`proc = cur.callproc`),
   `functools.partial(cur.callproc, "tag_names")`, `getattr(cur, "callproc")` — sent its
   `SELECT * FROM tag_names()` unread: silence where a direct `cur.callproc(…)` of a
   function that reads every guild's tags is TG001.
"""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tests.project_files import GUILD_CONFIG as CONFIG
from tests.project_files import GUILD_SCHEMA as SCHEMA
from tests.project_files import findings_of_check, write_guild_project, write_project

_found = findings_of_check
_project = write_guild_project


# 1. an enum member known at run time: `.value` is one of the members' values

ENUM_SORT = (
    "from enum import Enum\n"
    "from typing import Annotated, Optional\n"
    "\n"
    "\n"
    "class Sort(str, Enum):\n"
    '    NAME = "name"\n'
    '    USES = "USES_COLUMN"\n'
    "\n"
    "\n"
    "async def listing(conn, guild_id, PARAMETER):\n"
    "    SETUP\n"
    "    return await conn.fetch(\n"
    '        f"SELECT name FROM tags WHERE guild_id = $1 ORDER BY {MEMBER.value}", guild_id\n'  # 13
    "    )\n"
)

ENUM_SHAPES = [
    ("sort: Sort", "pass", "sort"),
    ("sort: Sort = Sort.NAME", "pass", "sort"),
    ("sort: Sort | None = None", "pass", "sort"),
    ("sort: Optional[Sort] = None", "pass", "sort"),
    ("sort: Annotated[Sort, 'query'] = Sort.NAME", "pass", "sort"),
    ("sort: 'Sort'", "pass", "sort"),
    ("sort", "pass", "Sort(sort)"),
    ("sort", "pass", "Sort[sort]"),
    ("sort", "order = Sort(sort)", "order"),
]


def _enum_app(parameter: str, setup: str, member: str, uses: str) -> str:
    return (
        ENUM_SORT.replace("PARAMETER", parameter)
        .replace("SETUP", setup)
        .replace("MEMBER", member)
        .replace("USES_COLUMN", uses)
    )


@pytest.mark.parametrize(("parameter", "setup", "member"), ENUM_SHAPES)
def test_an_enum_member_known_at_run_time_is_one_of_its_values(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    parameter: str,
    setup: str,
    member: str,
) -> None:
    _project(tmp_path, {"bot/q.py": _enum_app(parameter, setup, member, "uses")})
    assert _found(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize(("parameter", "setup", "member"), ENUM_SHAPES)
def test_an_enum_member_whose_value_leaks_is_found(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    parameter: str,
    setup: str,
    member: str,
) -> None:
    app = _enum_app(parameter, setup, member, "uses OR true").replace(
        "WHERE guild_id = $1 ORDER BY", "WHERE guild_id = $1 AND"
    )
    _project(tmp_path, {"bot/q.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 13, "TG001")]


@pytest.mark.parametrize(
    ("parameter", "setup", "member"),
    [
        ("sort: str", "pass", "sort"),  # not an enum: anything with a `.value`
        ("sort: Sort", "sort = make(sort)", "sort"),  # assigned again
        ("sort", "pass", "Sort(sort, 'x')"),  # not one value looked up
    ],
)
def test_what_is_not_surely_a_member_stays_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    parameter: str,
    setup: str,
    member: str,
) -> None:
    _project(tmp_path, {"bot/q.py": _enum_app(parameter, setup, member, "uses")})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/q.py", 13, "TG009")]


def test_an_enum_that_may_make_pseudo_members_stays_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = (
        "    @classmethod\n"
        "    def _missing_(cls, value):\n"
        "        return make_member(cls, value)\n"  # (its `_value_` set out of sight)
    )
    app = _enum_app("sort", "pass", "Sort(sort)", "uses").replace(
        '    NAME = "name"\n', '    NAME = "name"\n\n' + missing
    )
    _project(tmp_path, {"bot/q.py": app})
    assert [f[2] for f in _found(tmp_path, capsys, monkeypatch)] == ["TG009"]


def test_an_enum_whose_members_are_computed_stays_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _enum_app("sort: Sort", "pass", "sort", "uses").replace(
        '    NAME = "name"\n',
        '    NAME = "name"\n\n    def __new__(cls, value):\n        return str.__new__(cls)\n',
    )
    _project(tmp_path, {"bot/q.py": app})
    assert [f[2] for f in _found(tmp_path, capsys, monkeypatch)] == ["TG009"]


# 2. a base that leaves an attribute to its subclasses, read with another attribute of self

REPOSITORY = (
    "class BaseRepo:\n"
    "    BASE_TABLE\n"
    '    columns = "id, name"\n'
    "\n"
    "    def __init__(self, conn):\n"
    "        self.conn = conn\n"
    "\n"
    "    async def all(self, guild_id):\n"
    "        return await self.conn.fetch(\n"
    '            f"SELECT {self.columns} FROM {self.table} WHERE guild_id = $1", guild_id\n'  # 10
    "        )\n"
    "\n"
    "\n"
    "class TagRepo(BaseRepo):\n"
    '    table = "tags"\n'
    "\n"
    "\n"
    "class GuildRepo(BaseRepo):\n"
    '    table = "GUILDS"\n'
    '    columns = "guild_id, prefix"\n'
)


@pytest.mark.parametrize("base", ["table: str", "table = None", "table: str | None = None", "pass"])
def test_a_base_leaving_an_attribute_to_subclasses_reads_only_theirs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, base: str
) -> None:
    _project(tmp_path, {"bot/repo.py": REPOSITORY.replace("BASE_TABLE", base)})
    assert _found(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize("base", ["table: str", "table = None"])
def test_a_subclass_that_leaks_is_still_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, base: str
) -> None:
    app = REPOSITORY.replace("BASE_TABLE", base).replace(
        '"GUILDS"', '"guilds g JOIN tags t ON t.id = g.guild_id"'
    )
    _project(tmp_path, {"bot/repo.py": app})
    # (at the subclass's text, where the table is written)
    assert set(_found(tmp_path, capsys, monkeypatch)) == {("bot/repo.py", 19, "TG001")}


@pytest.mark.parametrize(
    "base",
    [
        # a property of the base gives the table: its SQL is read, not skipped
        '@property\n    def table(self):\n        return "tags t JOIN guilds g USING (id)"',
        # an attribute looked up by the base's __getattr__: not known absent
        'def __getattr__(self, name):\n        return "tags t JOIN guilds g USING (id)"',
    ],
)
def test_a_base_that_gives_the_attribute_another_way_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, base: str
) -> None:
    app = REPOSITORY.replace("BASE_TABLE", base).replace('    table = "tags"\n', "    pass\n")
    _project(tmp_path, {"bot/repo.py": app})
    # (not skipped as absent: what it gives is read, or is only known at run time)
    found = {f[2] for f in _found(tmp_path, capsys, monkeypatch)}
    assert found in ({"TG001"}, {"TG009"})


# 3. whitespace normalisers: what they send, a `-- comment` swallowing what follows it

COMMENTED = (
    '"""\n'
    "        SELECT name FROM tags  -- the guild's own tags\n"
    "        WHERE guild_id = $1\n"
    '    """'
)
PLAIN = '"""\n        SELECT name FROM tags\n        WHERE guild_id = $1\n    """'

NORMALISERS = [
    '" ".join(sql.split())',
    're.sub(r"\\s+", " ", sql)',
    're.sub(r"\\s+", " ", sql).strip()',
    're.sub(r"\\s{2,}", " ", sql)',
    'BLANKS.sub(" ", sql)',
    're.compile(r"\\s+").sub(" ", sql)',
    're.compile(r"\\s+", re.M | re.I).sub(" ", sql)',
    'sub(r"\\s+", " ", sql)',
]

NORMALISING_HELPER = (
    "import re\n"
    "from re import sub\n"
    "\n"
    'BLANKS = re.compile(r"\\s+")\n'
    "\n"
    "\n"
    "def one_line(sql: str) -> str:\n"
    "    return NORMALISER\n"
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    "    return await conn.fetch(one_line(QUERY), guild_id)\n"  # 12
)

NORMALISING_WRAPPER = (
    "import re\n"
    "from re import sub\n"
    "\n"
    'BLANKS = re.compile(r"\\s+")\n'
    "\n"
    "\n"
    "class Database:\n"
    "    def __init__(self, pool):\n"
    "        self.pool = pool\n"
    "\n"
    "    async def fetch(self, sql, *args):\n"
    "        return await self.pool.fetch(NORMALISER, *args)\n"
    "\n"
    "\n"
    "async def tags(db: Database, guild_id):\n"
    "    return await db.fetch(QUERY, guild_id)\n"  # 16
)

NORMALISED_INLINE = (
    "import re\n"
    "from re import sub\n"
    "\n"
    'BLANKS = re.compile(r"\\s+")\n'
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    "    sql = QUERY\n"
    "    return await conn.fetch(NORMALISER, guild_id)\n"  # 9
)


@pytest.mark.parametrize("normaliser", NORMALISERS)
@pytest.mark.parametrize(
    ("app", "line"), [(NORMALISING_HELPER, 12), (NORMALISING_WRAPPER, 16), (NORMALISED_INLINE, 9)]
)
def test_a_normalised_query_is_checked_as_sent(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    normaliser: str,
    app: str,
    line: int,
) -> None:
    code = app.replace("NORMALISER", normaliser)
    _project(tmp_path, {"bot/a.py": code.replace("QUERY", PLAIN)})
    assert _found(tmp_path, capsys, monkeypatch) == []
    _project(tmp_path, {"bot/a.py": code.replace("QUERY", COMMENTED)})
    found = _found(tmp_path, capsys, monkeypatch)
    assert {f[2] for f in found} == {"TG001"}


@pytest.mark.parametrize(
    "normaliser",
    [
        're.sub(r"[ ]+", " ", sql)',  # spaces only: another pattern, not read
        're.sub(r"\\s+", "", sql)',  # removed, not one blank
        '"-".join(sql.split())',
        '" ".join(sql.split(","))',
        're.sub(r"\\s+", " ", sql, 1)',  # a count
        're.compile(r"\\s+", re.ASCII).sub(" ", sql)',  # then `\\s` is ASCII only
    ],
)
def test_other_rewrites_of_the_text_stay_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    normaliser: str,
) -> None:
    code = NORMALISED_INLINE.replace("NORMALISER", normaliser).replace("QUERY", PLAIN)
    _project(tmp_path, {"bot/a.py": code})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/a.py", 12, "TG009")]


async def test_a_comment_joined_to_the_next_line_leaks_on_the_server(database: str) -> None:
    """The witness: the normalised query returns the other guild's tags; the text as written
    returns only guild 1's."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "CREATE TABLE tags (id serial PRIMARY KEY, guild_id bigint NOT NULL, name text);"
            "INSERT INTO tags (guild_id, name) VALUES (1, 'ours'), (2, 'theirs')"
        )
        written = "\n        SELECT name FROM tags  -- the guild's own tags\n        WHERE guild_id = $1\n"
        normalised = " ".join(written.split())
        assert [r["name"] for r in await conn.fetch(written, 1)] == ["ours"]
        # (no $1 left to bind: the filter is inside the comment)
        assert sorted(r["name"] for r in await conn.fetch(normalised)) == ["ours", "theirs"]
    finally:
        await conn.close()


# 4. a wrapper named like a driver's method, on a receiver of unknown class

DRIVER_NAMED = (
    "class Database:\n"
    "    def __init__(self, pool):\n"
    "        self.pool = pool\n"
    "\n"
    "    async def fetch(self, sql, *args):\n"
    "        async with self.pool.acquire() as conn:\n"
    "            return await conn.fetch(SENT, *args)\n"  # 7
    "\n"
    "\n"
    "async def tags(RECEIVER, guild_id):\n"
    '    return await DB.fetch("SELECT name FROM tags WHERE guild_id = $1 AND uses > 0", guild_id)\n'
)


@pytest.mark.parametrize(
    ("receiver", "db"), [("db", "db"), ("request", "request.app.db"), ("self", "self.db")]
)
def test_a_driver_named_wrapper_completing_the_sql_is_checked_at_its_calls(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    receiver: str,
    db: str,
) -> None:
    app = DRIVER_NAMED.replace("RECEIVER", receiver).replace("DB.", f"{db}.")
    _project(tmp_path, {"bot/db.py": app.replace("SENT", 'sql + " OR uses > 100"')})
    found = _found(tmp_path, capsys, monkeypatch)
    assert ("bot/db.py", 11, "TG001") in found


@pytest.mark.parametrize("sent", ["sql", "sql.strip()", 'sql + " LIMIT 100"'])
def test_a_driver_named_wrapper_that_adds_nothing_found_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sent: str
) -> None:
    app = DRIVER_NAMED.replace("RECEIVER", "db").replace("DB.", "db.").replace("SENT", sent)
    _project(tmp_path, {"bot/db.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == []
    leaky = app.replace("WHERE guild_id = $1 AND", "WHERE guild_id = $1 OR")
    _project(tmp_path, {"bot/db.py": leaky})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/db.py", 11, "TG001")]


def test_a_cache_fetch_beside_a_driver_named_wrapper_is_not_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = DRIVER_NAMED.replace("RECEIVER", "db").replace("DB.", "db.").replace("SENT", "sql")
    app += '\n\nasync def cached(cache):\n    return await cache.fetch("tags:recent")\n'
    _project(tmp_path, {"bot/db.py": app})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 5. SQL read from a file of the project, by a path built from __file__

READ_AT_IMPORT = (
    "import os\n"
    "from pathlib import Path\n"
    "\n"
    "HERE = Path(__file__).parent\n"
    "\n"
    "TAGS = READ\n"
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    "    return await conn.fetch(TAGS, guild_id)\n"  # 10
)

READS = [
    '(Path(__file__).parent / "sql" / "tags.sql").read_text()',
    '(HERE / "sql" / "tags.sql").read_text(encoding="utf-8")',
    'Path(__file__).resolve().parent.joinpath("sql", "tags.sql").read_text()',
    'Path(__file__).with_name("sql").joinpath("tags.sql").read_text()',
    'open(os.path.join(os.path.dirname(__file__), "sql", "tags.sql")).read()',
    'open(HERE / "sql/tags.sql", encoding="utf-8").read()',
]


@pytest.mark.parametrize("read", READS)
def test_sql_read_from_a_project_file_is_that_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    app = READ_AT_IMPORT.replace("READ", read)
    pinned = "SELECT name FROM tags WHERE guild_id = $1\n"
    _project(tmp_path, {"bot/db.py": app, "bot/sql/tags.sql": pinned})
    assert _found(tmp_path, capsys, monkeypatch) == []
    leaky = "SELECT name FROM tags WHERE guild_id = $1 OR uses > 100\n"
    _project(tmp_path, {"bot/db.py": app, "bot/sql/tags.sql": leaky})
    # once, in the file (the statement is all its text; the check of the tree checks the
    # file itself), its help naming the call that sends it (h36D: it was said at the read too)
    assert {f[:2] for f in _found(tmp_path, capsys, monkeypatch)} == {("bot/sql/tags.sql", 1)}


def test_sql_read_in_a_with_block_is_that_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = (
        "import os\n"
        "\n"
        'PATH = os.path.join(os.path.dirname(__file__), "tags.sql")\n'
        "with open(PATH) as handle:\n"
        "    TAGS = handle.read()\n"
        "\n"
        "\n"
        "async def tags(conn, guild_id):\n"
        "    return await conn.fetch(TAGS, guild_id)\n"  # 9
    )
    leaky = "SELECT name FROM tags WHERE guild_id = $1 OR uses > 100\n"
    _project(tmp_path, {"bot/db.py": app, "bot/tags.sql": leaky})
    assert ("bot/tags.sql", 1, "TG001") in _found(tmp_path, capsys, monkeypatch)  # (h36D)


@pytest.mark.parametrize(
    "read",
    [
        '(Path(__file__).parent / "sql" / "missing.sql").read_text()',  # no such file
        '(Path(name) / "tags.sql").read_text()',  # a path known at run time
        'Path("sql/tags.sql").read_text()',  # relative to where the program runs
        'open(HERE / "sql/tags.sql", "rb").read()',  # bytes
    ],
)
def test_a_file_not_surely_read_stays_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    app = READ_AT_IMPORT.replace("READ", read).replace("HERE = ", "name = HERE = ")
    pinned = "SELECT name FROM tags WHERE guild_id = $1\n"
    _project(tmp_path, {"bot/db.py": app, "bot/sql/tags.sql": pinned})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/db.py", 10, "TG009")]


def test_a_cached_answer_goes_when_the_file_read_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = READ_AT_IMPORT.replace("READ", READS[0])
    pinned = "SELECT name FROM tags WHERE guild_id = $1\n"
    _project(tmp_path, {"bot/db.py": app, "bot/sql/tags.sql": pinned})
    monkeypatch.chdir(tmp_path)

    def findings() -> list[tuple[str, int, bool]]:
        main(["check", "--format", "json", "bot/db.py", "bot/sql/tags.sql"])  # (cache kept)
        found = json.loads(capsys.readouterr().out)["findings"]
        return [(f["path"], f["line"], "sent by bot/db.py:6" in f["help"]) for f in found]

    assert findings() == []
    (tmp_path / "bot/sql/tags.sql").write_text(pinned.replace("$1", "$1 OR true"))
    # (said in the file, h36D; db.py's cached entry gone: it names the call that sends it)
    assert findings() == [("bot/sql/tags.sql", 1, True)]


# 6. a tuple of constants unpacked into names

UNPACKED = (
    'LISTING = (SQL, "tags")\n'
    "\n"
    "\n"
    "class Repo:\n"
    "    QUERY = LISTING\n"
    "\n"
    "    async def tags(self, conn, guild_id):\n"
    "        sql, _label = SOURCE\n"
    "        return await conn.fetch(sql, guild_id)\n"  # 9
)


@pytest.mark.parametrize("source", ["LISTING", "self.QUERY", "Repo.QUERY"])
def test_a_tuple_of_constants_unpacked_gives_each_name_its_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    app = UNPACKED.replace("SOURCE", source)
    pinned = '"SELECT name FROM tags WHERE guild_id = $1"'
    _project(tmp_path, {"bot/q.py": app.replace("SQL", pinned)})
    assert _found(tmp_path, capsys, monkeypatch) == []
    leaky = pinned.replace("$1", "$1 OR uses > 100")
    _project(tmp_path, {"bot/q.py": app.replace("SQL", leaky)})
    assert [f[2] for f in _found(tmp_path, capsys, monkeypatch)] == ["TG001"]


@pytest.mark.parametrize(
    "changed",
    [
        'LISTING = [SQL, "tags"]\nLISTING[0] = make()\n',  # changed in place
        'LISTING = (SQL, "tags", "more")\n',  # another width: Python raises
    ],
)
def test_a_collection_not_surely_those_items_stays_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    changed: str,
) -> None:
    app = UNPACKED.replace("SOURCE", "LISTING").replace('LISTING = (SQL, "tags")\n', changed)
    pinned = '"SELECT name FROM tags WHERE guild_id = $1"'
    found = _found_in(tmp_path, capsys, monkeypatch, app.replace("SQL", pinned))
    assert [f[2] for f in found] == ["TG009"]


def _found_in(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, app: str
) -> list[tuple[str, int, str]]:
    _project(root, {"bot/q.py": app})
    return _found(root, capsys, monkeypatch)


# 7. a lambda bound to a name, sending its parameter

LAMBDA = (
    "async def tags(conn, guild_id):\n"
    "    q = LAMBDA\n"
    '    return await q("SELECT name FROM tags WHERE guild_id = $1", guild_id)\n'  # 3
)


@pytest.mark.parametrize(
    "lam", ["lambda sql, *a: conn.fetch(sql, *a)", "lambda s, g: conn.fetch(s.strip(), g)"]
)
def test_a_lambda_sending_its_parameter_is_a_wrapper(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, lam: str
) -> None:
    app = LAMBDA.replace("LAMBDA", lam)
    assert _found_in(tmp_path, capsys, monkeypatch, app) == []
    leaky = app.replace("$1", "$1 OR uses > 100")
    assert _found_in(tmp_path, capsys, monkeypatch, leaky) == [("bot/q.py", 3, "TG001")]


def test_what_a_lambda_adds_is_found_at_its_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = LAMBDA.replace("LAMBDA", 'lambda s, g: conn.fetch(s + " OR uses > 100", g)')
    found = _found_in(tmp_path, capsys, monkeypatch, app)
    assert ("bot/q.py", 3, "TG001") in found


@pytest.mark.parametrize(
    "defined", ["q = lambda sql: conn.fetch(sql)", "def q(sql):\n        return conn.fetch(sql)"]
)
def test_a_closure_handed_on_is_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    defined: str,
) -> None:
    app = f'def register(app, conn):\n    {defined}\n    app.add_route("/run", q)\n'
    assert [f[2] for f in _found_in(tmp_path, capsys, monkeypatch, app)] == ["TG009"]


def test_a_closure_called_by_its_name_is_a_wrapper(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = (
        "async def tags(conn, guild_id):\n"
        "    async def q(sql):\n"
        "        return await conn.fetch(sql, guild_id)\n"
        "\n"
        '    return await q("SELECT name FROM tags WHERE guild_id = $1")\n'
    )
    assert _found_in(tmp_path, capsys, monkeypatch, app) == []


# 8. a cursor's callproc reached indirectly

FUNCTIONS = (
    "CREATE FUNCTION tag_names() RETURNS SETOF text LANGUAGE sql AS\n"
    "$$ SELECT name FROM tags $$;\n"
    "CREATE FUNCTION tag_names_for(g bigint) RETURNS SETOF text LANGUAGE sql AS\n"
    "$$ SELECT name FROM tags WHERE guild_id = g $$;\n"
)


@pytest.mark.parametrize(
    "call",
    [
        "proc = cur.callproc\n    proc(NAME)",
        "functools.partial(cur.callproc, NAME)()",
        'getattr(cur, "callproc")(NAME)',
        "cur.callproc(NAME)",
    ],
)
def test_a_callproc_reached_indirectly_is_read_as_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    app = "import functools\n\n\ndef purge(cur, guild_id):\n    CALL\n".replace("CALL", call)
    files = {"bot/__init__.py": "", "bot/q.py": app.replace("NAME", '"tag_names"')}
    write_project(tmp_path, SCHEMA + FUNCTIONS, CONFIG, files)
    assert [f[2] for f in _found(tmp_path, capsys, monkeypatch)] == ["TG001"]
    files["bot/q.py"] = app.replace("NAME", '"tag_names_for", (guild_id,)')
    write_project(tmp_path, SCHEMA + FUNCTIONS, CONFIG, files)
    assert _found(tmp_path, capsys, monkeypatch) == []


# 5b. a file named by a helper's parameter

NAMED_FILE = (
    "from pathlib import Path\n"
    "\n"
    'SQL_DIR = Path(__file__).parent / "sql"\n'
    "\n"
    "\n"
    "def load_sql(name: str) -> str:\n"
    '    return (SQL_DIR / f"{name}.sql").read_text()\n'  # 7
    "\n"
    "\n"
    "async def run(conn, name, *args):\n"
    '    return await conn.fetch(SQL_DIR.joinpath(name + ".sql").read_text(), *args)\n'
    "\n"
    "\n"
    'TAGS = load_sql("tags")\n'
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    "    return await conn.fetch(TAGS, guild_id)\n"
    "\n"
    "\n"
    "async def tags_again(conn, guild_id):\n"
    '    return await run(conn, "tags", guild_id)\n'  # 22
)


def test_a_file_named_by_a_helper_parameter_is_each_call_s_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = "SELECT name FROM tags WHERE guild_id = $1\n"
    _project(tmp_path, {"bot/db.py": NAMED_FILE, "bot/sql/tags.sql": pinned})
    assert _found(tmp_path, capsys, monkeypatch) == []
    leaky = "SELECT name FROM tags WHERE guild_id = $1 OR uses > 100\n"
    _project(tmp_path, {"bot/db.py": NAMED_FILE, "bot/sql/tags.sql": leaky})
    # (once, in the file: each reading's call named in its help, h36D)
    assert {f[:2] for f in _found(tmp_path, capsys, monkeypatch)} == {("bot/sql/tags.sql", 1)}


@pytest.mark.parametrize(
    ("change", "line"),
    [
        ('TAGS = load_sql("tags")', 18),  # a file that is not there: at the call sending it
        ("async def tags_again(conn, guild_id):", 11),  # no caller: `name` from outside
    ],
)
def test_a_file_not_surely_named_stays_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
    line: int,
) -> None:
    app = NAMED_FILE.replace('"tags"', '"missing"') if line == 18 else NAMED_FILE
    if line == 11:
        app = app.replace('    return await run(conn, "tags", guild_id)\n', "    pass\n")
    pinned = "SELECT name FROM tags WHERE guild_id = $1\n"
    _project(tmp_path, {"bot/db.py": app, "bot/sql/tags.sql": pinned})
    assert ("bot/db.py", line, "TG009") in _found(tmp_path, capsys, monkeypatch)


# 5c. the queries of a directory, by their files' names

LOADED = (
    "from pathlib import Path\n"
    "\n"
    'SQL_DIR = Path(__file__).parent / "sql"\n'
    "QUERIES = {p.stem: p.read_text() for p in LISTING}\n"  # 4
    "\n"
    "\n"
    "async def tags(conn, kind, guild_id):\n"
    "    return await conn.fetch(QUERIES[KEY], guild_id)\n"  # 8
)


@pytest.mark.parametrize("listing", ['SQL_DIR.glob("*.sql")', 'sorted(SQL_DIR.glob("*.sql"))'])
@pytest.mark.parametrize("key", ['"names"', "kind"])
def test_the_queries_of_a_directory_are_each_file_s(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    listing: str,
    key: str,
) -> None:
    app = LOADED.replace("LISTING", listing).replace("KEY", key)
    files = {
        "bot/db.py": app,
        "bot/sql/names.sql": "SELECT name FROM tags WHERE guild_id = $1\n",
        "bot/sql/uses.sql": "SELECT uses FROM tags WHERE guild_id = $1\n",
    }
    _project(tmp_path, files)
    assert _found(tmp_path, capsys, monkeypatch) == []
    files["bot/sql/uses.sql"] = "SELECT uses FROM tags WHERE guild_id = $1 OR true\n"
    _project(tmp_path, files)
    found = {f[:2] for f in _found(tmp_path, capsys, monkeypatch)}
    # any query (`kind`): the leaky file's too, said in that file once (h36D); by the other's
    # name, only the file itself
    assert found == {("bot/sql/uses.sql", 1)}


@pytest.mark.parametrize("listing", ['SQL_DIR.glob("**/*.sql")', 'Path(where).glob("*.sql")'])
def test_a_listing_not_surely_known_stays_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    listing: str,
) -> None:
    app = LOADED.replace("LISTING", listing).replace("KEY", "kind")
    files = {"bot/db.py": app, "bot/sql/names.sql": "SELECT name FROM tags WHERE guild_id = $1\n"}
    _project(tmp_path, files)
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/db.py", 8, "TG009")]


def test_a_cached_answer_goes_when_a_file_is_added_to_the_listed_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = LOADED.replace("LISTING", 'SQL_DIR.glob("*.sql")').replace("KEY", "kind")
    pinned = "SELECT name FROM tags WHERE guild_id = $1\n"
    _project(tmp_path, {"bot/db.py": app, "bot/sql/names.sql": pinned})
    monkeypatch.chdir(tmp_path)

    def findings() -> list[tuple[str, int, bool]]:
        main(["check", "--format", "json", "bot/db.py", "bot/sql"])  # (the cache kept)
        found = json.loads(capsys.readouterr().out)["findings"]
        return [(f["path"], f["line"], "sent by bot/db.py:4" in f["help"]) for f in found]

    assert findings() == []
    (tmp_path / "bot/sql/uses.sql").write_text(pinned.replace("$1", "$1 OR true"))
    # (said in the file, h36D; db.py's cached entry gone: it names the call that sends it)
    assert findings() == [("bot/sql/uses.sql", 1, True)]


def test_a_driver_object_beside_a_normalising_wrapper_is_the_driver_s(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`conn.fetch(q)` where the project's `Database.fetch` normalises: `conn` is named as the
    driver's connection is — read as the driver's, the query's `-- comment` ending its line."""
    app = DRIVER_NAMED.replace("SENT", '" ".join(sql.split())').replace("RECEIVER", "conn")
    app = app.replace(
        'DB.fetch("SELECT name FROM tags WHERE guild_id = $1 AND uses > 0", guild_id)',
        "conn.fetch(" + COMMENTED + ", guild_id)",
    )
    assert _found_in(tmp_path, capsys, monkeypatch, app) == []


# 1b. an enum field of a record class (FastAPI's query model)

FIELD = (
    "from enum import Enum\n"
    "\n"
    "from pydantic import BaseModel\n"
    "\n"
    "\n"
    "class Sort(str, Enum):\n"
    '    NAME = "name"\n'
    '    USES = "USES_COLUMN"\n'
    "\n"
    "\n"
    "class ListParams(BaseModel):\n"
    "    FIELD\n"
    "    limit: int = 50\n"
    "\n"
    "\n"
    "async def listing(conn, guild_id, params: ListParams):\n"
    "    return await conn.fetch(\n"
    '        f"SELECT name FROM tags WHERE guild_id = $1 ORDER BY {params.sort.value}", guild_id\n'
    "    )\n"  # 18
)


@pytest.mark.parametrize("field", ["sort: Sort = Sort.NAME", "sort: Sort | None = None"])
def test_an_enum_field_of_a_record_is_one_of_its_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    app = FIELD.replace("FIELD", field)
    assert _found_in(tmp_path, capsys, monkeypatch, app.replace("USES_COLUMN", "uses")) == []
    leaky = app.replace("USES_COLUMN", "uses OR true").replace("$1 ORDER BY", "$1 AND")
    assert _found_in(tmp_path, capsys, monkeypatch, leaky) == [("bot/q.py", 18, "TG001")]


@pytest.mark.parametrize(
    "field",
    [
        "sort: str = 'name'",  # not an enum
        "sort: Annotated[Sort, AfterValidator(pick)] = Sort.NAME",  # a validator's value
        "sort: Sort = Sort.NAME\n\n    @field_validator('sort')\n    def pick(cls, v):\n"
        "        return v",
        "sort: Sort = Sort.NAME\n\n    def model_post_init(self, _):\n        self.sort = 1",
    ],
)
def test_an_enum_field_that_may_hold_another_value_stays_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    app = FIELD.replace("FIELD", field).replace("USES_COLUMN", "uses")
    assert [f[2] for f in _found_in(tmp_path, capsys, monkeypatch, app)] == ["TG009"]


# 1c. a StrEnum member formatted into the text: its value

STR_ENUM = (
    "from enum import Enum, StrEnum\n"
    "\n"
    "\n"
    "class Sort(BASE):\n"
    '    NAME = "name"\n'
    '    USES = "USES_COLUMN"\n'
    "\n"
    "\n"
    "async def listing(conn, guild_id, sort: Sort):\n"
    "    return await conn.fetch(\n"
    '        f"SELECT name FROM tags WHERE guild_id = $1 ORDER BY {sort}", guild_id\n'  # 11
    "    )\n"
)


def test_a_str_enum_member_formats_as_its_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = STR_ENUM.replace("BASE", "StrEnum")
    assert _found_in(tmp_path, capsys, monkeypatch, app.replace("USES_COLUMN", "uses")) == []
    leaky = app.replace("USES_COLUMN", "uses OR true").replace("$1 ORDER BY", "$1 AND")
    assert _found_in(tmp_path, capsys, monkeypatch, leaky) == [("bot/q.py", 11, "TG001")]


@pytest.mark.parametrize(
    "base",
    [
        "str, Enum",  # Python 3.12 formats a mixin's member as `Sort.NAME`
        "StrEnum):\n    def __format__(self, spec):\n        return spec\n\n    X = 'x'\n#(",
    ],
)
def test_an_enum_member_not_surely_formatted_as_its_value_stays_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, base: str
) -> None:
    app = STR_ENUM.replace("BASE", base).replace("USES_COLUMN", "uses")
    assert [f[2] for f in _found_in(tmp_path, capsys, monkeypatch, app)] == ["TG009"]
