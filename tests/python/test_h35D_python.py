"""Session 35 (helper D), issue 12 items 2 and 5: the resolution gaps left in the Python reader.

Each class: a small project, `tenantguard check` on it, the findings a user expects.

- A list-display (or parenthesised, or trailing-comma) target, `[p] = [PARTS]`, `(p,) =
  (PARTS,)`, `p, = [PARTS]`, binds `p` to the module's own list: `p += [' OR TRUE']` then
  changes what `"".join(PARTS)` sends (h34N left it a silent pass).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import asyncpg
import pytest

from tests.project_files import findings_of_check, import_fresh_bot, write_guild_project

PARTS = 'PARTS = ["SELECT name FROM tags WHERE guild_id = $1"]\n'
JOINED = (
    "from bot.q import PARTS\n"
    "\n"
    "\n"
    "async def joined(conn, guild_id):\n"
    '    return await conn.fetch("".join(PARTS), guild_id)\n'  # 5
)
ADMIN = "from bot.q import PARTS\n\n\ndef admin():\n    {target} = {value}\n    p += [' OR TRUE']\n"
UNPACKED = {
    "list_display": ("[p]", "[PARTS]"),
    "parenthesised_tuple": ("(p,)", "(PARTS,)"),
    "trailing_comma": ("p,", "[PARTS]"),
    "two_targets": ("[x, p]", "[1, PARTS]"),
    "nested": ("[[p]]", "[[PARTS]]"),
    "starred_rest": ("[p, *rest]", "[PARTS, 1, 2]"),
}


@pytest.mark.parametrize("shape", sorted(UNPACKED))
def test_a_module_list_unpacked_into_a_name_and_extended_is_changed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
) -> None:
    target, value = UNPACKED[shape]
    admin = ADMIN.format(target=target, value=value)
    write_guild_project(tmp_path, {"bot/q.py": PARTS, "bot/tags.py": JOINED, "bot/admin.py": admin})
    assert ("bot/tags.py", 5, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)


@pytest.mark.parametrize(("target", "value"), [("[p]", "[list(PARTS)]"), ("[p]", "[PARTS[:]]")])
def test_a_copy_unpacked_into_a_name_and_extended_leaves_the_module_list(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    value: str,
) -> None:
    admin = ADMIN.format(target=target, value=value)
    write_guild_project(tmp_path, {"bot/q.py": PARTS, "bot/tags.py": JOINED, "bot/admin.py": admin})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


# a project method named like a driver's (`execute`) on an object of a project class made
# here: what it is given reaches a sink only if that method sends it on
SHELL = """\
import subprocess


class Shell:
    def __init__(self, pool=None):
        self.pool = pool
        self.how = "execute"

    def execute(self, command):
        {body}


def run_shell():
    shell = Shell()
    shell.execute("update users and invoices in the CRM export")
    Shell().execute("update invoices and users for the quarter")
    return Shell().execute("DELETE FROM invoices")
"""
SENDS_NOTHING = {
    "returns_it": "return command",
    "runs_a_process": "return subprocess.run(command.split(), check=True)",
    "prints_it": 'print("$", command.strip())',
}
MAY_SEND = {
    "a_method_by_a_computed_name": "return getattr(self.pool, self.how)(command)",
    "kept_on_the_object": "self.last = command",
    "a_callable_it_holds": "return self.pool(command)",
}


def shell_findings(body: str) -> list[tuple[int, str]]:
    from tenantguard.engine.analyze import Analyzer
    from tenantguard.engine.policy import Policy
    from tenantguard.sources.python import check_python_text

    text = SHELL.replace("{body}", body)
    out, _, _ = check_python_text(text, Analyzer(Policy("org_id", ["users", "invoices"])))
    return sorted((f.line, f.code) for f in out)


@pytest.mark.parametrize("shape", sorted(SENDS_NOTHING))
def test_text_given_to_a_project_method_that_sends_nothing_is_not_sql(shape: str) -> None:
    # (the DELETE names a tenant table and parses: checked wherever it stands)
    assert shell_findings(SENDS_NOTHING[shape]) == [(17, "TG001")]


@pytest.mark.parametrize("shape", sorted(MAY_SEND))
def test_text_given_to_a_project_method_that_may_send_it_stays_read_as_sql(shape: str) -> None:
    assert shell_findings(MAY_SEND[shape]) == [(15, "TG006"), (16, "TG006"), (17, "TG001")]


# a class that keeps SQL given to its constructor and sends it from a method: a wrapper
PAGES = """\
class Pages:
    def __init__(self, pool, query, size=50):
        self.pool = pool
        self.query = query
        self.size = size

    async def page(self, guild_id, n):
        return await self.pool.fetch({sent}, guild_id, self.size, n * self.size)
"""
PAGES_TAIL = 'self.query + " LIMIT $2 OFFSET $3"'
CALLERS = """\
from bot.pages import Pages

TABLE = "tags"


async def mine(pool, guild_id):
    pages = Pages(pool, "SELECT name FROM tags WHERE guild_id = $1")
    return await pages.page(guild_id, 0)


async def theirs(pool, guild_id):
    pages = Pages(pool, "SELECT name FROM " + TABLE + " WHERE $1::bigint > 0")
    return await pages.page(guild_id, 0)


async def by_keyword(pool, guild_id):
    return await Pages(query="SELECT name FROM tags WHERE uses > $1", pool=pool).page(guild_id, 0)


async def built(pool, guild_id, where):
    return await Pages(pool, "SELECT name FROM tags WHERE " + where).page(guild_id, 0)
"""


def test_sql_given_to_a_constructor_and_sent_by_a_method_is_checked_at_the_constructor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"bot/pages.py": PAGES.replace("{sent}", PAGES_TAIL), "bot/tags.py": CALLERS}
    write_guild_project(tmp_path, files)
    assert findings_of_check(tmp_path, capsys, monkeypatch) == [
        ("bot/tags.py", 3, "TG001"),  # the constant's text, where it is written
        ("bot/tags.py", 17, "TG001"),
        ("bot/tags.py", 21, "TG001"),  # no condition `where` may hold pins it (as at a driver)
        ("bot/tags.py", 21, "TG009"),  # `where`: built at run time, at the caller
    ]


def test_what_the_method_adds_to_the_constructor_s_sql_is_checked_at_each_constructor_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = 'self.query + " OR uses > $2 LIMIT $3"'
    files = {"bot/pages.py": PAGES.replace("{sent}", sent), "bot/tags.py": CALLERS}
    write_guild_project(tmp_path, files)
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert ("bot/tags.py", 7, "TG001") in found  # the caller's pin, undone by the method's OR
    assert ("bot/pages.py", 4, "TG009") in found  # what it adds is more than a tail


def test_a_class_a_framework_makes_keeps_its_constructor_s_sql_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handed = CALLERS + "\n\nROUTES = {'pages': Pages}\n"
    files = {"bot/pages.py": PAGES.replace("{sent}", PAGES_TAIL), "bot/tags.py": handed}
    write_guild_project(tmp_path, files)
    assert ("bot/pages.py", 4, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)


# what the server returns for the two leaks: another guild's tags beside the caller's


async def test_the_leaks_return_another_guilds_tags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    admin = ADMIN.format(target="[p]", value="[PARTS]")
    sent = 'self.query + " OR uses < $2"'
    pages = PAGES.replace("{sent}", sent).replace("n * self.size)", ")")
    files = {"bot/q.py": PARTS, "bot/tags.py": JOINED, "bot/admin.py": admin}
    write_guild_project(tmp_path, {**files, "bot/pages.py": pages, "bot/callers.py": CALLERS})
    import_fresh_bot(tmp_path, monkeypatch)
    conn = await asyncpg.connect(guilds)
    try:
        tags = importlib.import_module("bot.tags")
        assert [r["name"] for r in await tags.joined(conn, 1)] == ["mine"]
        importlib.import_module("bot.admin").admin()
        assert sorted(r["name"] for r in await tags.joined(conn, 1)) == ["mine", "theirs"]
        # the caller's pinned SELECT, completed by the method's OR: both guilds' tags
        rows = await importlib.import_module("bot.callers").mine(conn, 1)
        assert sorted(r["name"] for r in rows) == ["mine", "theirs"]
    finally:
        await conn.close()


# psycopg's named placeholders for a constant list of fields: `%(field)s` each
INSERTS = """\
from psycopg import sql

FIELDS = {fields}


async def add(conn, rows):
    query = sql.SQL("INSERT INTO tasks ({{}}) VALUES ({{}})").format(
        sql.SQL(", ").join(map(sql.Identifier, FIELDS)),
        sql.SQL(", ").join({placeholders}),
    )
    async with conn.cursor() as cur:
        await cur.executemany(query, rows)
"""
PLACEHOLDERS = {
    "map": "map(sql.Placeholder, FIELDS)",
    "generator": "sql.Placeholder(f) for f in FIELDS",
    "list": "[sql.Placeholder(name) for name in FIELDS]",
}


def insert_findings(fields: str, placeholders: str) -> list[str]:
    from tenantguard.engine.analyze import Analyzer
    from tenantguard.engine.policy import Policy
    from tenantguard.sources.python import check_python_text

    text = INSERTS.format(fields=fields, placeholders=placeholders)
    out, _, _ = check_python_text(text, Analyzer(Policy("account_id", ["tasks"])))
    return [f.code for f in out]


@pytest.mark.parametrize("shape", sorted(PLACEHOLDERS))
def test_named_placeholders_of_constant_fields_are_bind_parameters(shape: str) -> None:
    fields = '("account_id", "title")'
    assert insert_findings(fields, PLACEHOLDERS[shape]) == []
    assert insert_findings('("title", "status")', PLACEHOLDERS[shape]) == ["TG002"]


# a module's constant read by its name spelt as a constant: the constant
Q = (
    'PARTS = ["SELECT name FROM tags WHERE guild_id = $1"]\n'
    'SQL = "SELECT name FROM tags WHERE guild_id = $1"\n'
    'LEAK = "SELECT name FROM tags WHERE " + "uses > $1"\n'
)
READS = {
    "vars_item": ('p = vars(q)["PARTS"]', '" ".join(p)'),
    "getattr": ('p = getattr(q, "PARTS")', '" ".join(p)'),
    "vars_get": ('s = vars(q).get("SQL")', "s"),
    "dict_item": ('s = q.__dict__["SQL"]', "s"),
    "getattr_in_the_call": ("pass", 'getattr(q, "SQL")'),
}
READER = "from bot import q\n\n\nasync def read(conn, g):\n    {bind}\n    return await conn.fetch({sent}, g)\n"


@pytest.mark.parametrize("shape", sorted(READS))
def test_a_module_constant_read_by_a_constant_name_is_that_constant(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
) -> None:
    bind, sent = READS[shape]
    reader = READER.format(bind=bind, sent=sent)
    write_guild_project(tmp_path, {"bot/q.py": Q, "bot/reader.py": reader})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == [("bot/q.py", 3, "TG001")]
    # the leak read so is found at the call
    write_guild_project(tmp_path, {"bot/reader.py": reader.replace("SQL", "LEAK")})
    if "SQL" in bind + sent:
        found = findings_of_check(tmp_path, capsys, monkeypatch)
        assert ("bot/reader.py", 6, "TG001") in found


@pytest.mark.parametrize(
    "change",
    [
        'vars(q)["PARTS"].append(" OR TRUE")',
        'vars(q)["PARTS"] += [" OR TRUE"]',
        'vars(q)["SQL"] = "SELECT name FROM tags"',
        'getattr(q, "PARTS").append(" OR TRUE")',
    ],
)
def test_a_module_constant_changed_by_a_constant_name_is_not_that_constant(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    name = "SQL" if '"SQL"' in change else "PARTS"
    bind, sent = READS["vars_get" if name == "SQL" else "vars_item"]
    reader = READER.format(bind=bind, sent=sent)
    admin = f"from bot import q\n\n\ndef admin():\n    {change}\n"
    write_guild_project(tmp_path, {"bot/q.py": Q, "bot/reader.py": reader, "bot/admin.py": admin})
    assert ("bot/reader.py", 6, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)


# a wrapper that loops over a list parameter: each item its callers pass is checked there
LOOPS = """\
async def delete_where(conn, conditions: list[str], guild_id):
    for condition in conditions:
        await conn.execute("DELETE FROM tags WHERE " + condition, guild_id)


async def purge(conn, conditions, guild_id):
    await delete_where(conn, conditions, guild_id)


async def run_all(conn, statements):
    for statement in statements:
        await conn.execute(statement)
"""
STEPS = (
    'STEPS = ("UPDATE tags SET uses = 0 WHERE guild_id = 1", "DELETE FROM tags WHERE uses < 0")\n'
)
LOOP_CALLERS = """\
from bot.loops import delete_where, purge, run_all
from bot.steps import STEPS


async def mine(conn, guild_id):
    await delete_where(conn, ["guild_id = $1", "uses = 0 AND guild_id = $1"], guild_id)
    await purge(conn, ("guild_id = $1 AND name IS NULL",), guild_id)
    await run_all(conn, ["UPDATE tags SET uses = 0 WHERE guild_id = 1"])


async def theirs(conn, guild_id):
    await delete_where(conn, ["guild_id = $1", "uses = 0 OR guild_id = $1"], guild_id)
    await purge(conn, ["name IS NULL AND $1::bigint > 0"], guild_id)
    await run_all(conn, STEPS)


async def handler(conn, request):
    await run_all(conn, request.statements)
"""


def test_the_items_a_looping_wrapper_is_given_are_checked_at_each_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"bot/loops.py": LOOPS, "bot/steps.py": STEPS, "bot/callers.py": LOOP_CALLERS}
    write_guild_project(tmp_path, files)
    assert findings_of_check(tmp_path, capsys, monkeypatch) == [
        ("bot/callers.py", 12, "TG001"),  # "uses = 0 OR …" completed by the wrapper's DELETE
        ("bot/callers.py", 13, "TG001"),  # through purge() too
        ("bot/callers.py", 18, "TG009"),  # a list known at run time: at the call
        ("bot/steps.py", 1, "TG001"),  # the constant DELETE, where it is written
    ]


def test_a_looping_wrapper_no_project_code_calls_keeps_its_loop_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/loops.py": LOOPS})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert ("bot/loops.py", 7, "TG009") in found  # purge(): called by no code of the project
    assert ("bot/loops.py", 12, "TG009") in found


def test_a_placeholder_named_at_run_time_is_a_bind_parameter() -> None:
    from tenantguard.engine.analyze import Analyzer
    from tenantguard.engine.policy import Policy
    from tenantguard.sources.python import check_python_text

    text = (
        "from psycopg import sql\n\n\n"
        "async def one(conn, key):\n"
        '    q = sql.SQL("SELECT title FROM tasks WHERE account_id = {}").format(sql.Placeholder(key))\n'
        "    return await conn.execute(q, {key: 1})\n"
    )
    out, _, _ = check_python_text(text, Analyzer(Policy("account_id", ["tasks"])))
    assert [f.code for f in out] == []


async def test_a_looping_wrapper_s_item_deletes_another_guilds_tags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    write_guild_project(tmp_path, {"bot/loops.py": LOOPS})
    import_fresh_bot(tmp_path, monkeypatch)
    loops = importlib.import_module("bot.loops")
    conn = await asyncpg.connect(guilds)
    try:
        await loops.delete_where(conn, ["guild_id = $1 AND uses > 0"], 1)
        assert sorted(r["name"] for r in await conn.fetch("SELECT name FROM tags")) == [
            "mine",
            "theirs",
        ]
        # the caller's second item (TG001 at its call): guild 2's tag goes too
        await loops.delete_where(conn, ["guild_id = $1", "uses = 0 OR guild_id = $1"], 1)
        assert await conn.fetch("SELECT name FROM tags") == []
    finally:
        await conn.close()


# (fixed in h36D, see test_h36D_sql_shapes) a dict a method changes by item (`params["status"] = …`) makes every
# function of the file with a parameter of that name (`run_all(db, statements, params)`) read
# as changing its argument, and what it is handed (a module's constant list) as changed
NOISE = """\
ARCHIVE = ["DELETE FROM tags WHERE guild_id = $1", "UPDATE tags SET uses = 0 WHERE guild_id = $1"]


async def run_all(conn, statements, params):
    for statement in statements:
        await conn.execute(statement, *params)


async def archive(conn, guild_id):
    await run_all(conn, ARCHIVE, [guild_id])


def filtered(guild_id, name=None):
    params = {"guild_id": guild_id}
    if name is not None:
        params["name"] = name
    return params
"""


def test_a_local_changed_in_one_function_is_no_change_of_another_s_parameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_guild_project(tmp_path, {"bot/archive.py": NOISE})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


# the constructor's SQL reaching the method by another way than the constructor's callers give
PAGES_ATTACKS = {
    "assigned_from_outside": (
        "from bot.pages import Pages\n\n\nasync def go(pool, g, q):\n"
        '    p = Pages(pool, "SELECT name FROM tags WHERE guild_id = $1")\n'
        "    p.query = q\n    return await p.page(g, 0)\n"
    ),
    "a_subclass_passes_its_own": (
        "from bot.pages import Pages\n\n\nclass Mine(Pages):\n"
        "    def __init__(self, pool, q):\n        super().__init__(pool, q)\n\n\n"
        "async def go(pool, g, q):\n    return await Mine(pool, q).page(g, 0)\n"
    ),
    "made_by_cls": (
        "from bot.pages import Pages\n\n\nasync def go(pool, g, q):\n"
        "    return await Pages.made(pool, q).page(g, 0)\n"
    ),
}
MADE = "\n    @classmethod\n    def made(cls, pool, q):\n        return cls(pool, q)\n"


@pytest.mark.parametrize("attack", sorted(PAGES_ATTACKS))
def test_a_constructor_s_sql_set_another_way_keeps_the_method_s_sql_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    attack: str,
) -> None:
    pages = PAGES.replace("{sent}", PAGES_TAIL) + MADE
    files = {"bot/pages.py": pages, "bot/go.py": PAGES_ATTACKS[attack]}
    write_guild_project(tmp_path, files)
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert any(path == "bot/pages.py" and rule == "TG009" for path, _, rule in found), found


def test_a_looping_wrapper_that_adds_to_its_list_keeps_its_loop_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loops = (
        "async def run_all(conn, statements, extra):\n"
        "    statements.append(extra)\n"
        "    for statement in statements:\n"
        "        await conn.execute(statement)\n"
        "\n\n"
        "async def go(conn, extra):\n"
        '    await run_all(conn, ["UPDATE tags SET uses = 0 WHERE guild_id = 1"], extra)\n'
    )
    write_guild_project(tmp_path, {"bot/loops.py": loops})
    assert ("bot/loops.py", 4, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)


def test_a_class_handed_on_in_a_file_added_later_is_seen_through_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenantguard.cli import main

    files = {"bot/pages.py": PAGES.replace("{sent}", PAGES_TAIL), "bot/tags.py": CALLERS}
    write_guild_project(tmp_path, files)
    monkeypatch.chdir(tmp_path)

    def tg009_in_pages() -> bool:
        main(["check", "--format", "json", "."])  # (the cache kept between the runs)
        found = json.loads(capsys.readouterr().out)["findings"]
        return any(f["path"] == "bot/pages.py" and f["rule"] == "TG009" for f in found)

    assert not tg009_in_pages()
    (tmp_path / "bot" / "routes.py").write_text(
        "from bot.pages import Pages\n\nROUTES = {'p': Pages}\n"
    )
    assert tg009_in_pages()


def test_a_wrapper_turned_into_a_handler_in_another_file_is_seen_through_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run_sql(conn, sql)` called by the project is a wrapper (no TG009); its only call
    removed and the function put in a route table in a new file, its SQL comes from outside:
    TG009 — also when the first answer is in the check cache (before, 'no findings')."""
    from tenantguard.cli import main

    wrapper = "async def run_sql(conn, sql):\n    return await conn.fetch(sql)\n"
    use = (
        "from bot.w import run_sql\n\n\nasync def go(conn):\n"
        '    return await run_sql(conn, "SELECT name FROM tags WHERE guild_id = 1")\n'
    )
    write_guild_project(tmp_path, {"bot/w.py": wrapper, "bot/use.py": use})
    monkeypatch.chdir(tmp_path)

    def rules() -> list[tuple[str, str]]:
        main(["check", "--format", "json", "."])  # (the cache kept between the runs)
        found = json.loads(capsys.readouterr().out)["findings"]
        return [(f["path"], f["rule"]) for f in found]

    assert rules() == []
    (tmp_path / "bot" / "use.py").unlink()
    routes = 'from bot.w import run_sql\n\nROUTES = {"run": run_sql}\n'
    (tmp_path / "bot" / "routes.py").write_text(routes)
    assert rules() == [("bot/w.py", "TG009")]
