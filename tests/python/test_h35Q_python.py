"""Session 35 (helper Q): attacks from outside on the Python reader's new readings (issue 12).

Each class: a small guild project, `tenantguard check` on it, the findings a user expects.

- A wrapper (a function whose SQL parameter its callers fill, the looping wrapper
  `for q in queries: await conn.execute(q)`, the constructor wrapper `Pages(pool, q)` kept as
  `self.query`) is one only while the project alone calls it. Handed on as a value in any other
  spelling than the few the word scan knew — `return run_all`, `run_all if x else …`, `x or
  run_all`, `(run_all, )`, `(k := run_all)`, `{"p": functools.partial(run_all, None)}`,
  `map(Pages, pools, queries)`, `asyncio.to_thread(Pages, pool, q)` — whoever calls it gives
  SQL from outside, which passed in silence (no finding at all). A class made by
  `type(p)(pool, q)` / `p.__class__(pool, q)` outside its body: the same.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import asyncpg
import pytest

from tests.project_files import findings_of_check, import_fresh_bot, write_guild_project

LOOPS = """\
async def run_all(conn, statements):
    for statement in statements:
        await conn.execute(statement)


async def mine(conn):
    await run_all(conn, ["UPDATE tags SET uses = 0 WHERE guild_id = 1"])
"""
HANDED = {
    "returned": "def kind():\n    return run_all\n",
    "conditional": "def kind(x):\n    k = run_all if x else None\n    return k\n",
    "or": "def kind(x):\n    return x or run_all\n",
    "parenthesised_tuple": "KINDS = (run_all, )\n",
    "walrus": "def kind():\n    return (k := run_all)\n",
    "partial_in_a_table": 'import functools\n\nROUTES = {"p": functools.partial(run_all, None)}\n',
    "partial_returned": "import functools\n\ndef kind(c):\n    return functools.partial(run_all, c)\n",
    "partial_bound_then_handed": (
        'import functools\n\nP = functools.partial(run_all, None)\nROUTES = {"p": P}\n'
    ),
    "alias_of_an_alias": "a = run_all\nb = a\nROUTES = [b]\n",
    "mapped": "async def each(conn, lists):\n    for done in map(run_all, [conn], lists):\n        await done\n",
}


@pytest.mark.parametrize("shape", sorted(HANDED))
def test_a_looping_wrapper_handed_on_as_a_value_keeps_its_loop_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
) -> None:
    write_guild_project(tmp_path, {"bot/loops.py": LOOPS + "\n\n" + HANDED[shape]})
    assert ("bot/loops.py", 3, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)


def test_a_looping_wrapper_only_called_stays_a_wrapper(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = (
        "import asyncio\n\n\nasync def both(conn):\n"
        '    await asyncio.gather(run_all(conn, ["DELETE FROM tags WHERE guild_id = 1"]))\n'
        '    await run_all(conn, ["DELETE FROM tags WHERE guild_id = 2"])\n'
        "    return run_all.__name__\n"
    )
    write_guild_project(tmp_path, {"bot/loops.py": LOOPS + "\n\n" + calls})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


PAGES = """\
class Pages:
    def __init__(self, pool, query):
        self.pool = pool
        self.query = query

    async def page(self, guild_id):
        return await self.pool.fetch(self.query, guild_id)
"""
MINE = (
    "from bot.pages import Pages\n\n\nasync def mine(pool, g):\n"
    '    return await Pages(pool, "SELECT name FROM tags WHERE guild_id = $1").page(g)\n\n\n'
)
MADE = {
    "type_of_an_object": (
        "async def go(pool, g, q):\n"
        '    p = Pages(pool, "SELECT 1")\n'
        "    return await type(p)(pool, q).page(g)\n"
    ),
    "class_of_an_object": (
        "async def go(pool, g, q):\n"
        '    p = Pages(pool, "SELECT 1")\n'
        "    return await p.__class__(pool, q).page(g)\n"
    ),
    "partial_in_a_table": 'import functools\n\nROUTES = {"p": functools.partial(Pages, None)}\n',
    "map": "async def go(pool, g, qs):\n    return [await p.page(g) for p in map(Pages, [pool], qs)]\n",
    "to_thread": (
        "import asyncio\n\n\nasync def go(pool, g, q):\n"
        "    return await (await asyncio.to_thread(Pages, pool, q)).page(g)\n"
    ),
    "in_a_tuple": "async def go(pool, g, q):\n    kinds = (Pages,)\n    return await kinds[0](pool, q).page(g)\n",
    "conditional": "async def go(pool, g, q, x):\n    k = Pages if x else None\n    return await k(pool, q).page(g)\n",
    "returned": "def kind():\n    return Pages\n",
    "or": "async def go(pool, g, q, k=None):\n    return await (k or Pages)(pool, q).page(g)\n",
}


@pytest.mark.parametrize("shape", sorted(MADE))
def test_a_constructor_wrapper_made_or_handed_on_another_way_keeps_its_sql_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
) -> None:
    write_guild_project(tmp_path, {"bot/pages.py": PAGES, "bot/go.py": MINE + MADE[shape]})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert ("bot/pages.py", 7, "TG009") in found, found


def test_a_constructor_wrapper_only_called_stays_a_wrapper(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    leak = (
        "async def theirs(pool, g):\n"
        '    return await Pages(pool, "SELECT name FROM tags WHERE uses >= $1").page(g)\n'
    )
    write_guild_project(tmp_path, {"bot/pages.py": PAGES, "bot/go.py": MINE + leak})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == [("bot/go.py", 9, "TG001")]


async def test_a_wrapper_returned_to_its_caller_runs_their_sql_on_every_guild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    """What the silent passes let through: the looping wrapper handed out by `kind()` and
    the class made by `type(p)(…)` run a caller's unpinned text."""
    files = {
        "bot/loops.py": LOOPS + "\n\n" + HANDED["returned"],
        "bot/pages.py": PAGES,
        "bot/go.py": MINE + MADE["type_of_an_object"],
    }
    write_guild_project(tmp_path, files)
    import_fresh_bot(tmp_path, monkeypatch)
    conn = await asyncpg.connect(guilds)
    try:
        go = importlib.import_module("bot.go")
        assert [r["name"] for r in await go.mine(conn, 1)] == ["mine"]
        rows = await go.go(conn, 1, "SELECT name FROM tags WHERE guild_id = $1 OR true")
        assert sorted(r["name"] for r in rows) == ["mine", "theirs"]
        run_all = importlib.import_module("bot.loops").kind()
        await run_all(conn, ["UPDATE tags SET uses = 7"])
        assert sorted(await conn.fetch("SELECT guild_id, uses FROM tags")) == [(1, 7), (2, 7)]
    finally:
        await conn.close()


def test_an_alias_handed_on_hands_on_the_wrapper(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handed = LOOPS + "\n\nsender = run_all\nROUTES = {'all': sender}\n"
    write_guild_project(tmp_path, {"bot/loops.py": handed})
    assert ("bot/loops.py", 3, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)
    called = LOOPS + "\n\nasync def again(conn):\n    sender = run_all\n"
    called += '    await sender(conn, ["DELETE FROM tags WHERE guild_id = 1"])\n'
    write_guild_project(tmp_path, {"bot/loops.py": called})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


def test_an_object_made_by_its_class_in_a_file_added_later_is_seen_through_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new file never names Pages: `type(p)(pool, q)` of an object it is handed."""
    import json

    from tenantguard.cli import main

    write_guild_project(tmp_path, {"bot/pages.py": PAGES, "bot/go.py": MINE})
    monkeypatch.chdir(tmp_path)

    def tg009_in_pages() -> bool:
        main(["check", "--format", "json", "."])  # (the cache kept between the runs)
        found = json.loads(capsys.readouterr().out)["findings"]
        return any(f["path"] == "bot/pages.py" and f["rule"] == "TG009" for f in found)

    assert not tg009_in_pages()
    remade = "async def again(p, pool, g, q):\n    return await type(p)(pool, q).page(g)\n"
    (tmp_path / "bot" / "remade.py").write_text(remade)
    assert tg009_in_pages()


# Jinja's whitespace control and its trim_blocks / lstrip_blocks options: a `-- comment`
# before a tag that strips the newline runs on into the text after it (the pin commented out)
JINJA_PINNED = {
    "dash": (
        'Template(SQL).render(g="$1")',
        "SELECT name FROM tags WHERE uses >= 0{c}\n{%- if g -%}\nAND guild_id = {{ g }}\n"
        "{%- else -%}\nAND guild_id = 0\n{%- endif %}",
    ),
    "trim_blocks": (
        'Template(SQL, trim_blocks=True).render(g="$1")',
        "SELECT name FROM tags WHERE uses >= 0{c} {% if g %}\nAND guild_id = {{ g }}\n"
        "{% else %}\nAND guild_id = 0\n{% endif %}",
    ),
    "environment_trim_blocks": (
        'Environment(trim_blocks=True).from_string(SQL).render(g="$1")',
        "SELECT name FROM tags WHERE uses >= 0{c} {% if g %}\nAND guild_id = {{ g }}\n"
        "{% else %}\nAND guild_id = 0\n{% endif %}",
    ),
    "a_comment_tag": (
        'Template(SQL).render(g="$1")',
        "SELECT name FROM tags WHERE uses >= 0{c}\n{#- the guild -#}\nAND guild_id = {{ g }}",
    ),
    "lstrip_blocks_and_trim": (
        'ENV.from_string(SQL).render(g="$1")',
        "SELECT name FROM tags WHERE uses >= 0{c} {% if g %}\nAND guild_id = {{ g }}\n"
        "{% else %}\nAND guild_id = 0\n{% endif %}",
    ),
}
JINJA_MODULE = (
    "from jinja2 import Environment, Template\n\n"
    "ENV = Environment(lstrip_blocks=True, trim_blocks=True)\n"
    'SQL = """{sql}"""\n\n\n'
    "async def tags(conn, g):\n"
    "    return await conn.fetch({render}, g)\n"
)


@pytest.mark.parametrize("shape", sorted(JINJA_PINNED))
@pytest.mark.parametrize("comment", ["", " -- narrowed below"])
def test_a_jinja_tag_that_strips_blanks_after_a_sql_comment_comments_the_pin_out(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
    comment: str,
) -> None:
    render, sql = JINJA_PINNED[shape]
    module = JINJA_MODULE.format(sql=sql.replace("{c}", comment), render=render)
    write_guild_project(tmp_path, {"bot/q.py": module})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    if comment:
        assert [rule for _, _, rule in found if rule != "TG009"] == ["TG001"], found
    else:
        assert found == []


@pytest.mark.parametrize(
    "made",
    [
        'Environment(line_statement_prefix="--#")',
        'Environment(block_start_string="<%", block_end_string="%>")',
        "Environment(finalize=str.upper)",
        "Environment(**OPTIONS)",
    ],
)
def test_a_jinja_environment_whose_syntax_is_changed_is_not_read_as_the_default(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    made: str,
) -> None:
    module = (
        "from jinja2 import Environment\n\nOPTIONS = {}\n"
        f"ENV = {made}\n"
        'SQL = """SELECT name FROM tags WHERE guild_id = $1\n--# if all\nOR true\n--# endif\n'
        '<% if all %> OR true <% endif %>"""\n\n\n'
        "async def tags(conn, g):\n"
        "    return await conn.fetch(ENV.from_string(SQL).render(all=True), g)\n"
    )
    write_guild_project(tmp_path, {"bot/q.py": module})
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert ("bot/q.py", 13, "TG009") in found, found


async def test_the_text_jinja_renders_past_a_comment_returns_every_guild(guilds: str) -> None:
    """What jinja2 3.1.6 renders (checked by hand: `Template(SQL).render(g=1)` of the `dash`
    shape with the comment, and `trim_blocks=True` of the other): the pin after the comment."""
    rendered = [
        "SELECT name FROM tags WHERE uses >= 0 -- narrowed belowAND guild_id = 1",
        "SELECT name FROM tags WHERE uses >= 0 -- narrowed below AND guild_id = 1\n",
    ]
    conn = await asyncpg.connect(guilds)
    try:
        for sql in rendered:
            assert sorted(r["name"] for r in await conn.fetch(sql)) == ["mine", "theirs"]
        pinned = "SELECT name FROM tags WHERE uses >= 0\nAND guild_id = 1"  # (no comment)
        assert [r["name"] for r in await conn.fetch(pinned)] == ["mine"]
    finally:
        await conn.close()


# `match sql: case "…" | "…":` narrows the subject as `if sql in ("…", "…"):` does: the text
# sent in the case's body is one of those (was: never read, a TG009 warning only)
MATCHED = """\
async def run(conn, sql, guild_id):
    match sql:
        case {cases}:
            return await conn.execute(sql, guild_id)
        case _:
            raise ValueError("not an allowed statement")


ROUTES = {{"run": run}}
"""
PINNED_DELETE = '"DELETE FROM tags WHERE guild_id = $1 AND uses > 0"'
UNPINNED_DELETE = '"DELETE FROM tags WHERE uses >= $1"'


@pytest.mark.parametrize(
    ("cases", "expected"),
    [
        (f"{PINNED_DELETE} | {UNPINNED_DELETE}", [("bot/run.py", 3, "TG001")]),
        (f"({UNPINNED_DELETE} as chosen)", [("bot/run.py", 3, "TG001")]),
        (UNPINNED_DELETE, [("bot/run.py", 3, "TG001")]),
        (PINNED_DELETE, []),
    ],
)
def test_the_strings_a_case_matches_are_what_its_body_sends(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cases: str,
    expected: list[tuple[str, int, str]],
) -> None:
    write_guild_project(tmp_path, {"bot/run.py": MATCHED.format(cases=cases)})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == expected


async def test_a_matched_delete_removes_every_guilds_tags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    cases = f"{PINNED_DELETE} | {UNPINNED_DELETE}"
    write_guild_project(tmp_path, {"bot/run.py": MATCHED.format(cases=cases)})
    import_fresh_bot(tmp_path, monkeypatch)
    run = importlib.import_module("bot.run").run
    conn = await asyncpg.connect(guilds)
    try:
        assert await run(conn, PINNED_DELETE.strip('"'), 1) == "DELETE 0"
        assert await run(conn, UNPINNED_DELETE.strip('"'), 0) == "DELETE 2"  # both guilds'
        assert await conn.fetch("SELECT name FROM tags") == []
    finally:
        await conn.close()


# a project method named like a driver's that hands its text to an outside helper together
# with a callable that sends it: the text is sent (was read as "sends nothing": no finding)
SHELL = """\
import asyncio
import threading


class Shell:
    def __init__(self, pool, runner=None):
        self.pool = pool
        self.runner = runner

    async def execute(self, command):
        {body}


async def purge(pool, where):
    return await Shell(pool).execute("DELETE FROM tags WHERE guild_id = 1 AND " + where)
"""
HANDS_ON = {
    "to_thread_of_a_driver_method": "return await asyncio.to_thread(self.pool.execute, command)",
    "a_thread_s_target": ("threading.Thread(target=self.pool.execute, args=(command,)).start()"),
    "to_thread_of_a_held_callable": "return await asyncio.to_thread(self.runner, command)",
}


@pytest.mark.parametrize("shape", sorted(HANDS_ON))
def test_text_handed_to_a_helper_with_a_sender_is_read_as_sql(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
) -> None:
    write_guild_project(tmp_path, {"bot/shell.py": SHELL.replace("{body}", HANDS_ON[shape])})
    assert ("bot/shell.py", 15, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)


def test_text_handed_to_a_helper_with_no_sender_is_not_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = 'print("$", command, file=self.pool)\n        return asyncio.to_thread(len, command)'
    write_guild_project(tmp_path, {"bot/shell.py": SHELL.replace("{body}", body)})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []


async def test_text_a_held_callable_runs_in_a_thread_deletes_every_guilds_tags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    shell = SHELL.replace("{body}", HANDS_ON["to_thread_of_a_held_callable"])
    write_guild_project(tmp_path, {"bot/shell.py": shell})
    import_fresh_bot(tmp_path, monkeypatch)
    module = importlib.import_module("bot.shell")
    conn = await asyncpg.connect(guilds)
    loop = asyncio.get_running_loop()
    try:

        def runner(sql: str) -> str:  # a blocking driver's call, as a worker thread makes it
            return asyncio.run_coroutine_threadsafe(conn.execute(sql), loop).result()

        done = await module.Shell(None, runner).execute(
            "DELETE FROM tags WHERE guild_id = 1 AND true OR true"
        )
        assert done == "DELETE 2"
        assert await conn.fetch("SELECT name FROM tags") == []
    finally:
        await conn.close()


def test_a_wrapper_imported_under_another_name_and_handed_on_is_handed_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    routes = "from bot.loops import run_all as ra\n\nx = ra\nROUTES = {'x': x}\n"
    write_guild_project(tmp_path, {"bot/loops.py": LOOPS, "bot/routes.py": routes})
    assert ("bot/loops.py", 3, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)
    called = "from bot.loops import run_all as ra\n\n\nasync def go(conn):\n"
    called += '    await ra(conn, ["DELETE FROM tags WHERE guild_id = 1"])\n'
    (tmp_path / "bot" / "routes.py").write_text(called)
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []
