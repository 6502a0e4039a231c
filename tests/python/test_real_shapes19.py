"""Round 19, real code (a first-time user's three projects): what a project's own shapes hid.

1. A Python migration's rollback was applied as if it moved the schema forward: `down()`,
   `backwards()`, `rollback()`… (only alembic's `downgrade()` was known), so its `DROP TABLE`
   took a tenant table out of the schema and every leak on it passed. Now any function named as
   a rollback, or given to Django's `RunPython` as its reverse, is skipped.
2. A function passing its parameter unchanged to `fetch` was taken for a wrapper (its callers'
   SQL checked, nothing reported inside it) even when nothing of the project calls it: a route
   (`@router.post`) or a chat command taking SQL from its request ran it unseen, "No findings".
   A framework's handler, or a function the project never names, takes its arguments from
   outside: TG009 at the call.
3. English sentences that sqlglot reads as SQL ("Delete from comments done": a DELETE of
   `comments AS done`) in a response body, a chat reply, an argparse help were TG001 errors.
   A free string (at no call that sends SQL) in sentence case — its first word capitalized, no
   operator, list, call or parameter — is prose; SQL at a sink is read whatever its case.
4. Dynamic WHEREs that always hold the tenant filter were TG001 errors: `" AND ".join(["org_id
   = $1", *clauses])`, a list that starts with the filter and grows in a loop, and a wrapper
   completing its caller's condition (`"SELECT … WHERE " + where`) — checked inside the
   wrapper, never at its callers. Now the unpacked or appended items are unknown items after
   the known ones (TG009), and a wrapper's `WHERE {clause}` is checked at each call with the
   caller's condition in it.
5. Constant SQL read as built at run time (TG009): a join of a comprehension over a tuple of
   constants (`", ".join(f"t.{c}" for c in ("id", "title"))`), `.format(**PARAMS)` with a dict
   of constants. And a TG009 named `self.col` for `Q_TASKS.col`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantguard.cli import main


def run_json(
    capsys: pytest.CaptureFixture[str], root: Path, *argv: str
) -> tuple[int, list[dict[str, object]]]:
    code = main(["check", "--no-cache", "--format", "json", str(root), *argv])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    findings = json.loads(out)["findings"]
    assert isinstance(findings, list)
    return code, findings


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


MIGRATION = """
async def {up}(conn):
    await conn.execute("CREATE TABLE tags (id int, guild_id bigint NOT NULL)")
    await conn.execute("CREATE TABLE notes (id int, guild_id bigint NOT NULL)")


async def {down}(conn):
    await conn.execute("DROP TABLE notes; DROP TABLE tags")
"""
APP = """
async def notes(conn):
    return await conn.fetch("SELECT * FROM notes")


async def tags(conn, guild):
    return await conn.fetch("SELECT * FROM tags WHERE guild_id = $1", guild)
"""
CONFIG = '[tool.tenantguard]\ntenant_column = "guild_id"\nschema_paths = ["migrations"]\n'


@pytest.mark.parametrize(
    ("up", "down"),
    [
        ("up", "down"),
        ("forwards", "backwards"),
        ("apply", "rollback"),
        ("migrate", "revert"),
        ("upgrade", "downgrade"),
        ("do_it", "undo"),
        ("up", "_down"),
        ("up", "down_0001"),
    ],
)
def test_a_migration_s_rollback_does_not_drop_its_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], up: str, down: str
) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": CONFIG,
            "migrations/m0001_init.py": MIGRATION.format(up=up, down=down),
            "app.py": APP,
        },
    )
    code, findings = run_json(capsys, tmp_path)
    assert code == 1
    assert [(f["rule"], f["line"]) for f in findings] == [("TG001", 3)]


def test_a_drop_that_moves_the_schema_forward_still_drops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same DROP in a later migration's forward step: `notes` is gone, `tags` stays."""
    write(
        tmp_path,
        {
            "pyproject.toml": CONFIG,
            "migrations/m0001_init.py": MIGRATION.format(up="up", down="down"),
            "migrations/m0002_drop.py": (
                'async def up(conn):\n    await conn.execute("DROP TABLE notes")\n'
            ),
            "app.py": APP
            + '\n\nasync def every_tag(conn):\n    return await conn.fetch("SELECT * FROM tags")\n',
        },
    )
    _, findings = run_json(capsys, tmp_path)
    assert [(f["rule"], f["line"]) for f in findings] == [("TG001", 11)]


def test_django_s_reverse_code_is_not_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migration = """
from django.db import migrations


def create(apps, schema_editor):
    schema_editor.execute("CREATE TABLE notes (id int, guild_id bigint NOT NULL)")


def drop_it(apps, schema_editor):
    schema_editor.execute("DROP TABLE notes")


class Migration(migrations.Migration):
    operations = [migrations.RunPython(create, reverse_code=drop_it)]
"""
    write(
        tmp_path,
        {"pyproject.toml": CONFIG, "migrations/0001_initial.py": migration, "app.py": APP},
    )
    _, findings = run_json(capsys, tmp_path)
    assert ("TG001", 3) in [(f["rule"], f["line"]) for f in findings]


TENANT_CONFIG = '[tool.tenantguard]\ntenant_column = "guild_id"\ntenant_tables = ["notes"]\n'


def test_sql_from_a_route_s_request_is_built_at_run_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = """
from fastapi import APIRouter

router = APIRouter()


@router.post("/reports/run")
async def run_report(sql: str, conn=None):
    return await conn.fetch(sql)


async def never_called(conn, text):
    return await conn.fetchval(text)
"""
    write(tmp_path, {"pyproject.toml": TENANT_CONFIG, "api.py": api})
    _, findings = run_json(capsys, tmp_path)
    got = [(f["rule"], f["line"], f["severity"]) for f in findings]
    assert got == [("TG009", 9, "warning"), ("TG009", 13, "warning")]
    assert "whose caller is not the project" in str(findings[0]["message"])


def test_a_chat_command_s_argument_is_built_at_run_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command's name is a word the project writes elsewhere (`sql`): its decorator says a
    framework calls it."""
    cog = """
from discord.ext import commands


class Admin(commands.Cog):
    @commands.command(name="sql")
    async def sql(self, ctx, *, query: str):
        sql = query.strip()
        async with self.bot.pool.acquire() as conn:
            return await conn.fetch(sql)
"""
    write(tmp_path, {"pyproject.toml": TENANT_CONFIG, "cog.py": cog})
    _, findings = run_json(capsys, tmp_path)
    assert [(f["rule"], f["line"]) for f in findings] == [("TG009", 10)]


def test_a_wrapper_the_project_calls_is_checked_at_its_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": TENANT_CONFIG,
            "db.py": "async def fetch_all(conn, sql, *args):\n    return await conn.fetch(sql, *args)\n",
            "notes.py": (
                "from db import fetch_all\n\n\n"
                "async def mine(conn, guild):\n"
                '    return await fetch_all(conn, "SELECT * FROM notes WHERE guild_id = $1", guild)\n\n\n'
                "async def every(conn):\n"
                '    return await fetch_all(conn, "SELECT * FROM notes")\n'
            ),
        },
    )
    _, findings = run_json(capsys, tmp_path)
    assert [(Path(str(f["path"])).name, f["rule"], f["line"]) for f in findings] == [
        ("notes.py", "TG001", 9)
    ]


def test_a_sentence_is_not_sql_but_sql_in_any_case_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = """
import argparse


async def delete_note(ctx, conn, guild, note):
    await conn.execute("DELETE FROM notes WHERE guild_id = $1 AND id = $2", guild, note)
    await ctx.send("Delete from notes done")
    return {"detail": "Delete from notes done."}


parser = argparse.ArgumentParser()
parser.add_argument("--purge", help="Delete from notes everything")
FREE = "DELETE FROM notes"
also_free = "delete from notes"


async def sent(conn):
    await conn.execute("Delete from notes")
"""
    write(tmp_path, {"pyproject.toml": TENANT_CONFIG, "app.py": app})
    _, findings = run_json(capsys, tmp_path)
    assert [(f["rule"], f["line"]) for f in findings] == [
        ("TG001", 13),
        ("TG001", 14),
        ("TG001", 18),
    ]


DYNAMIC = """
async def joined(conn, org, clauses, *args):
    where = " AND ".join(["org_id = $1", *clauses])
    return await conn.fetch(f"SELECT id FROM tasks WHERE {where}", org, *args)


async def joined_by_or(conn, org, clauses):
    where = " OR ".join(["org_id = $1", *clauses])
    return await conn.fetch(f"SELECT id FROM tasks WHERE {where}", org)


async def grown(conn, org, saved):
    clauses = ["org_id = $1"]
    for key in saved:
        clauses.append(f"{key} = ${len(clauses) + 1}")
    return await conn.fetch("SELECT id FROM tasks WHERE " + " AND ".join(clauses), org)


class Repo:
    async def count_where(self, where_sql, *args):
        return await self.conn.fetchval("SELECT count(*) FROM tasks WHERE " + where_sql, *args)

    async def mine(self, org):
        return await self.count_where("org_id = $1 AND status = 'open'", org)

    async def every_org(self):
        return await self.count_where("status = 'open'")
"""


def test_a_dynamic_where_that_always_holds_the_filter_is_no_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = '[tool.tenantguard]\ntenant_column = "org_id"\ntenant_tables = ["tasks"]\n'
    write(tmp_path, {"pyproject.toml": config, "repo.py": DYNAMIC})
    _, findings = run_json(capsys, tmp_path)
    got = [(f["rule"], f["line"], f["severity"]) for f in findings]
    errors = [(rule, line) for rule, line, severity in got if severity == "error"]
    # the OR branch, and the caller that passes no filter (named with its line)
    assert errors == [("TG001", 9), ("TG001", 21)]
    assert "sent by count_where() (it passes it to .fetchval()) at line 27" in str(
        [f["help"] for f in findings if f["line"] == 21]
    )
    warned = {line for rule, line, severity in got if rule == "TG009"}
    assert warned == {3, 8, 14}  # the unknown items, where they come from


def test_a_function_passed_on_as_a_handler_is_an_entry_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(the attack on the fix) A handler registered by value — a route table, a dispatch dict,
    a Django URLconf by its module's name — is called by the framework even when the project
    also calls it with constant SQL; a wrapper only called is still the callers' to prove."""
    write(
        tmp_path,
        {
            "pyproject.toml": TENANT_CONFIG,
            "routes.py": (
                "async def run_sql(conn, sql):\n"
                "    return await conn.fetch(sql)\n\n\n"
                "async def health(conn):\n"
                '    return await run_sql(conn, "SELECT 1")\n\n\n'
                'router.add_api_route("/run", run_sql)\n'
            ),
            "dispatch.py": (
                "async def raw(conn, sql):\n"
                "    return await conn.fetch(sql)\n\n\n"
                'HANDLERS = {"raw": raw}\n'
            ),
            "views.py": "async def run(request, sql):\n    return await request.conn.fetch(sql)\n",
            "urls.py": 'import views\n\nurlpatterns = [path("run", views.run)]\n',
            "db.py": (
                "async def fetch_all(conn, sql, *args):\n"
                "    return await conn.fetch(sql, *args)\n\n\n"
                "async def notes(conn, guild):\n"
                '    return await fetch_all(conn, "SELECT * FROM notes WHERE guild_id = $1", guild)\n'
            ),
        },
    )
    _, findings = run_json(capsys, tmp_path)
    got = sorted((Path(str(f["path"])).name, f["rule"], f["line"]) for f in findings)
    assert got == [
        ("dispatch.py", "TG009", 2),
        ("routes.py", "TG009", 2),
        ("views.py", "TG009", 2),
    ]


def test_constants_mapped_or_unpacked_are_constants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = """
TPL = "SELECT id FROM {table} WHERE org_id = $1"
PARAMS = {"table": "tasks"}
LEAKY = {"table": "tasks WHERE true OR org_id = $1 --"}
COLUMNS = ("id", "title")


async def a(conn, org):
    return await conn.fetch(TPL.format(**PARAMS), org)


async def b(conn, org):
    cols = ", ".join(f"t.{c}" for c in ("id", "title"))
    return await conn.fetch(f"SELECT {cols} FROM tasks t WHERE t.org_id = $1", org)


async def c(conn, org):
    cols = ", ".join([f"t.{c}" for c in COLUMNS])
    return await conn.fetch(f"SELECT {cols} FROM tasks t WHERE t.org_id = $1", org)


async def leak(conn, org):
    return await conn.fetch(TPL.format(**LEAKY), org)


async def mapped_leak(conn):
    where = " AND ".join(f"{c} IS NOT NULL" for c in COLUMNS)
    return await conn.fetch(f"SELECT * FROM tasks WHERE {where}")
"""
    config = '[tool.tenantguard]\ntenant_column = "org_id"\ntenant_tables = ["tasks"]\n'
    write(tmp_path, {"pyproject.toml": config, "q.py": source})
    _, findings = run_json(capsys, tmp_path)
    assert [(f["rule"], f["line"]) for f in findings] == [("TG001", 4), ("TG001", 28)]


def test_a_clause_wrapper_called_with_unpacked_or_computed_arguments_is_not_silent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(the second attack) `find(conn, **kw)`, `find(conn, *[…])`: the call's SQL is not
    seen, so it is TG009 there (with the fill's TG001); `getattr(repo, "find")(…)` calls the
    wrapper by a computed name: it is a handler, TG009 inside it."""
    config = '[tool.tenantguard]\ntenant_column = "tenant_id"\ntenant_tables = ["patients"]\n'
    write(
        tmp_path,
        {
            "pyproject.toml": config,
            "repo.py": (
                "async def find(conn, where, *args):\n"
                '    return await conn.fetch("SELECT name FROM patients WHERE " + where, *args)\n'
            ),
            "kw.py": (
                "from repo import find\n\n\n"
                "async def handler(conn):\n"
                '    kw = {"where": "tenant_id > 0"}\n'
                "    return await find(conn, **kw)\n"
            ),
            "star.py": (
                "from repo import find\n\n\n"
                "async def handler(conn, t):\n"
                '    return await find(conn, *["tenant_id = $1 OR true", t])\n'
            ),
            "pinned.py": (
                "from repo import find\n\n\n"
                "async def handler(conn, t):\n"
                '    return await find(conn, "tenant_id = $1", t)\n'
            ),
        },
    )
    _, findings = run_json(capsys, tmp_path)
    got = sorted({(Path(str(f["path"])).name, f["rule"]) for f in findings})
    assert got == [
        ("kw.py", "TG001"),
        ("kw.py", "TG009"),
        ("star.py", "TG001"),
        ("star.py", "TG009"),
    ]
    write(
        tmp_path,
        {
            "dyn.py": (
                "import repo\n\n\n"
                "async def handler(conn, t):\n"
                '    return await getattr(repo, "find")(conn, "tenant_id = $1 OR true", t)\n'
            )
        },
    )
    _, findings = run_json(capsys, tmp_path)
    assert ("repo.py", "TG009") in {(Path(str(f["path"])).name, f["rule"]) for f in findings}


def test_a_wrapper_handed_to_helpers_or_mapped_over_constants_is_still_a_wrapper(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(a false-alarm review of the handler fix) A wrapper handed to a retry helper, an
    executor or a partial is called with the project's arguments: no TG009 inside it; a
    comprehension over a tuple of constant SQL gives each of them, as a `for` does."""
    source = """
import asyncio
from functools import partial

DASHBOARD = (
    "SELECT count(*) FROM notes WHERE guild_id = $1",
    "SELECT max(id) FROM notes WHERE guild_id = $1",
)


async def fetch_all(conn, sql, *args):
    return await conn.fetch(sql, *args)


async def with_retry(fn, *args):
    return await fn(*args)


async def page(conn, guild):
    await with_retry(fetch_all, conn, "SELECT * FROM notes WHERE guild_id = $1", guild)
    again = partial(fetch_all, conn)  # (called here; returned, it would be handed on)
    await asyncio.gather(*(fetch_all(conn, q, guild) for q in DASHBOARD))
    return [await fetch_all(conn, q, guild) for q in DASHBOARD], await again(DASHBOARD[0], guild)


async def leak(conn):
    return [await fetch_all(conn, q) for q in ("SELECT * FROM notes",)]
"""
    write(tmp_path, {"pyproject.toml": TENANT_CONFIG, "app.py": source})
    _, findings = run_json(capsys, tmp_path)
    assert [(f["rule"], f["line"]) for f in findings] == [("TG001", 27)]


def test_handlers_registered_by_a_variable_a_list_or_a_keyword(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(the attack on the false-alarm fix) a route given by a variable, a list of handlers, a
    keyword (`endpoint=`), and a method of the same name called elsewhere (`jobs.run_sql(…)`
    is not a call of the function `run_sql`): each is a handler."""
    write(
        tmp_path,
        {
            "pyproject.toml": TENANT_CONFIG,
            "api.py": (
                'PATH = "/admin/sql"\n\n\n'
                "async def run_sql(sql, guild):\n"
                "    return await pool.fetch(sql, guild)\n\n\n"
                "async def run_list(sql):\n"
                "    return await pool.fetch(sql)\n\n\n"
                "async def run_kw(sql):\n"
                "    return await pool.fetch(sql)\n\n\n"
                'router.add_api_route(PATH, run_sql, methods=["POST"])\n'
                "ROUTES = [run_list]\n"
                'app.add_url_rule("/kw", endpoint=run_kw)\n'
            ),
            "worker.py": (
                "class Jobs:\n"
                "    async def run_sql(self, sql):\n"
                "        return sql\n\n\n"
                "async def nightly(jobs):\n"
                '    await jobs.run_sql("VACUUM")\n'
            ),
        },
    )
    _, findings = run_json(capsys, tmp_path)
    got = sorted((Path(str(f["path"])).name, f["rule"], f["line"]) for f in findings)
    assert got == [("api.py", "TG009", 5), ("api.py", "TG009", 9), ("api.py", "TG009", 13)]


def test_handlers_registered_as_a_first_argument_or_from_another_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(the last attack) `app.add_route(run_a)`, `router.get("/x")(run_b)`,
    `signal.connect(run_c)`, `Client(on_message=run_d)`, a set `{run_e}`, and a route in another
    module that imports the handler — while the project also calls each with constant SQL.
    A helper that calls it with the project's arguments (`with_retry(f, …)`) is no framework."""
    handlers = "".join(
        f"async def {name}(conn, sql):\n    return await conn.fetch(sql)\n\n\n"
        for name in ("run_a", "run_b", "run_c", "run_d", "run_e", "run_imp", "helper")
    )
    calls = "".join(
        f'    await {name}(conn, "SELECT 1")\n'
        for name in ("run_a", "run_b", "run_c", "run_d", "run_e", "run_imp")
    )
    write(
        tmp_path,
        {
            "pyproject.toml": TENANT_CONFIG,
            "handlers.py": handlers
            + "async def internal(conn):\n"
            + calls
            + '    await helper(conn, "SELECT 1")\n'
            + '    await with_retry(helper, conn, "SELECT 1")\n\n\n'
            + "app.add_route(run_a)\n"
            + 'router.get("/x")(run_b)\n'
            + "signal.connect(run_c)\n"
            + "client = Client(on_message=run_d)\n"
            + "HANDLERS = {run_e}\n",
            "main.py": 'from handlers import run_imp\n\napp.add_api_route("/admin/sql", run_imp)\n',
        },
    )
    _, findings = run_json(capsys, tmp_path)
    lines = sorted(f["line"] for f in findings if f["rule"] == "TG009")
    assert lines == [2, 6, 10, 14, 18, 22]  # every handler but `helper`
