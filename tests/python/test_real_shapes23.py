"""Round 23: real code read by an outsider (helper 111) — a project's shapes the check got
wrong, each with its leak and its safe twin, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tests.project_files import findings_of_check, write_project

SCHEMA = (
    "CREATE TABLE guilds (guild_id bigint PRIMARY KEY);\n"
    "CREATE TABLE tags (id serial PRIMARY KEY, guild_id bigint NOT NULL REFERENCES "
    "guilds(guild_id), name text, uses int);\n"
)
CONFIG = '[tool.tenantguard]\ntenant_column = "guild_id"\nschema_paths = ["schema.sql"]\n'


def _project(root: Path, files: dict[str, str]) -> None:
    write_project(root, SCHEMA, CONFIG, files)


_found = findings_of_check


def test_a_migrations_folder_holding_application_code_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every Python module of a folder named `migrations` was read as a schema source: a
    runner of data backfills at startup passed its unpinned UPDATEs. Only a framework's
    migration (alembic, Django, yoyo, or a module defining upgrade/downgrade/migrate) is."""
    runner = (
        "async def backfill_uses(pool, guild_id):\n"
        '    await pool.execute("UPDATE tags SET uses = 0 WHERE uses IS NULL")\n'
    )
    revision = (
        "def upgrade(op):\n"
        '    op.execute("UPDATE tags SET uses = 0 WHERE uses IS NULL")\n'
        "def downgrade(op):\n"
        "    pass\n"
    )
    _project(
        tmp_path,
        {"bot/migrations/runner.py": runner, "bot/migrations/0002_uses.py": revision},
    )
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/migrations/runner.py", 2, "TG001")]


def test_a_query_imported_from_another_module_grown_in_a_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`query = TAGS_FOR_GUILD` (imported) then `query += " OR …"` in a branch: the name held
    a reference on one path and a string on the other — a TG009 warning where the OR leaked,
    and where a pinned filter or ORDER BY was added, a false warning."""
    queries = 'TAGS_FOR_GUILD = "SELECT name, uses FROM tags WHERE guild_id = $1"\n'
    leak = (
        "from .queries import TAGS_FOR_GUILD\n"
        "\n"
        "async def tags(pool, guild_id, name, fuzzy=False):\n"
        "    query = TAGS_FOR_GUILD\n"
        "    if fuzzy:\n"
        '        query += " OR name ILIKE $2"\n'
        "    return await pool.fetch(query, guild_id, name)\n"
    )
    safe = (
        "from pkg.queries import TAGS_FOR_GUILD\n"
        "\n"
        "async def tags(pool, guild_id, name, exact=False, limit=10):\n"
        "    query = TAGS_FOR_GUILD\n"
        "    if exact:\n"
        '        query += " AND name = $2"\n'
        '    query += f" ORDER BY uses DESC LIMIT {int(limit)}"\n'
        "    return await pool.fetch(query, guild_id, name)\n"
    )
    _project(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/queries.py": queries,
            "pkg/leak.py": leak,
            "pkg/safe.py": safe,
        },
    )
    assert _found(tmp_path, capsys, monkeypatch) == [("pkg/leak.py", 7, "TG001")]


ALEMBIC = '''"""init"""
import sqlalchemy as sa
from alembic import op

revision = "1111aaaa2222"
down_revision = None


def upgrade() -> None:
    op.create_table("accounts", sa.Column("id", sa.BigInteger, primary_key=True))
    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("email", sa.Text),
        sa.UniqueConstraint("account_id", "id"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("customer_id", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "customer_id"], ["customers.account_id", "customers.id"]
        ),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger, sa.ForeignKey("customers.id", ondelete="CASCADE")
        ),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("customer_id", sa.BigInteger),
    )
    op.create_foreign_key("fk_task", "tasks", "customers", ["customer_id"], ["id"], ondelete="SET NULL")
'''
APP = """async def invoice_with_customer(conn, account_id, invoice_id):
    return await conn.fetchrow(
        "SELECT i.id, c.email FROM invoices i JOIN customers c ON c.id = i.customer_id "
        "WHERE i.account_id = $1 AND i.id = $2",
        account_id,
        invoice_id,
    )


async def drop_customer(conn, account_id, cid):
    await conn.execute("DELETE FROM customers WHERE account_id = $1 AND id = $2", account_id, cid)
"""


def test_alembic_foreign_keys_their_actions_and_composite_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sa.ForeignKey(…, ondelete="CASCADE")`, `sa.ForeignKeyConstraint`, and
    `op.create_foreign_key(…, ondelete=…)` were not read: a DELETE whose cascade reaches every
    tenant's notes passed, and a join pinned by a composite key was a false TG001."""
    (tmp_path / "alembic" / "versions").mkdir(parents=True)
    (tmp_path / "alembic" / "versions" / "1111aaaa2222_init.py").write_text(ALEMBIC)
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "account_id"\nschema_paths = ["alembic/versions"]\n'
    )
    assert _found(tmp_path, capsys, monkeypatch) == [("app.py", 11, "TG005")]


async def test_the_cascade_alembic_declares_reaches_another_account(database: str) -> None:
    """The witness: the DELETE of account 1's customer deletes account 2's note on it (a note
    whose key has no account) and empties account 2's task's customer."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "CREATE TABLE accounts (id bigint PRIMARY KEY);"
            "CREATE TABLE customers (id bigint PRIMARY KEY, account_id bigint NOT NULL);"
            "CREATE TABLE notes (id bigint PRIMARY KEY, account_id bigint NOT NULL, "
            "customer_id bigint REFERENCES customers (id) ON DELETE CASCADE);"
            "INSERT INTO accounts VALUES (1), (2); INSERT INTO customers VALUES (7, 1);"
            "INSERT INTO notes VALUES (1, 1, 7), (2, 2, 7)"
        )
        await conn.execute("DELETE FROM customers WHERE account_id = $1 AND id = $2", 1, 7)
        assert await conn.fetch("SELECT * FROM notes WHERE account_id = 2") == []
    finally:
        await conn.close()


def test_sqlalchemy_text_clauses_and_one_constant_sent_by_several_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`text(sql).bindparams(g=g)` and `.columns()` were TG009 warnings where the SQL leaked;
    and a module's constant completed by several calls (`PINNED + " OR uses > 100"`) was found
    once per call, every finding on the constant's line. Each is found at its call now; a
    constant one call sends stays found where it is written."""
    sinks = (
        "from sqlalchemy import text\n"
        "\n"
        'PINNED = "SELECT id FROM tags WHERE guild_id = :g"\n'
        'ALONE = "SELECT id FROM tags WHERE uses > 100"\n'
        "\n"
        "def bound(conn, g):\n"
        '    stmt = text(PINNED + " OR uses > 100").bindparams(g=g)\n'
        "    return conn.execute(stmt)\n"
        "\n"
        "def typed(conn, g):\n"
        '    return conn.execute(text(PINNED + " OR uses > 1").columns(), {"g": g})\n'
        "\n"
        "async def scalar(session, g):\n"
        '    return await session.scalar(text(PINNED + " OR uses > 2"), {"g": g})\n'
        "\n"
        "def pinned(conn, g):\n"
        "    return conn.execute(text(PINNED).bindparams(g=g).columns())\n"
        "\n"
        "def alone(conn):\n"
        "    return conn.execute(text(ALONE))\n"
    )
    _project(tmp_path, {"sinks.py": sinks})
    # completed in the call: said at the call; completed on the line before it (bound): at
    # the constant, with the call in its help; sent as it is (alone): where it is written
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("sinks.py", 3, "TG001"),
        ("sinks.py", 4, "TG001"),
        ("sinks.py", 11, "TG001"),
        ("sinks.py", 14, "TG001"),
    ]


def test_a_generic_repository_base_reaches_its_subclasses_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`class CrudRepository(Generic[T])` and `class UserRepository(CrudRepository["User"])`:
    the subscripted bases were read as classes outside the project, and `self.table` as a
    value computed there — TG009 warnings where a subclass's table leaked."""
    repo = (
        "from typing import Any, Generic, TypeVar\n"
        "\n"
        'T = TypeVar("T")\n'
        "\n"
        "class CrudRepository(Generic[T]):\n"
        "    table: str\n"
        "\n"
        "    def __init__(self, pool):\n"
        "        self.pool = pool\n"
        "\n"
        "    async def get_by_id(self, id_: int) -> Any:\n"
        '        return await self.pool.fetchrow(f"SELECT * FROM {self.table} WHERE id = $1", id_)\n'
        "\n"
        "class GuildRepository(CrudRepository['Guild']):\n"
        '    table = "guilds"\n'
        "\n"
        "class TagRepository(CrudRepository['Tag']):\n"
        '    table = "tags"\n'
    )
    _project(tmp_path, {"repo.py": repo})
    # each subclass's table, where its name is written (guilds: a registry keyed by the
    # tenant column, a tenant table too)
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("repo.py", 15, "TG001"),
        ("repo.py", 18, "TG001"),
    ]


def test_a_builder_returning_the_sql_and_its_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sql, args = build_query(…)` of a function returning `sql, args`: the SQL was unknown
    at the call (a TG009 warning) where a branch's `OR` leaked. Each item of the tuples it
    returns is what its name holds."""
    repo = (
        "def build_query(guild_id, name=None):\n"
        "    args = [guild_id]\n"
        '    sql = "SELECT id FROM tags WHERE guild_id = $1"\n'
        "    if name is not None:\n"
        "        args.append(name)\n"
        '        sql += " OR name = $2"\n'
        "    return sql, args\n"
        "\n"
        "def build_safe(guild_id, name=None):\n"
        '    sql = "SELECT id FROM tags WHERE guild_id = $1"\n'
        "    if name is not None:\n"
        '        return sql + " AND name = $2", [guild_id, name]\n'
        "    return sql, [guild_id]\n"
        "\n"
        "async def list_tags(pool, guild_id, name=None):\n"
        "    sql, args = build_query(guild_id, name)\n"
        "    return await pool.fetch(sql, *args)\n"
        "\n"
        "async def list_safe(pool, guild_id, name=None):\n"
        "    query, values = build_safe(guild_id, name)\n"
        "    return await pool.fetch(query, *values)\n"
    )
    _project(tmp_path, {"repo.py": repo})
    assert _found(tmp_path, capsys, monkeypatch) == [("repo.py", 3, "TG001")]


def test_false_alarms_of_real_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Safe shapes that were findings: a bind parameter numbered by `"$%d" % len(args)` and
    `"${}".format(len(args))`; an ORDER BY chosen by `ALLOWED.get(sort, "name")`; pg_dump's
    `pg_catalog.set_config('search_path', '', false)` and the rows of its `COPY … FROM stdin`.
    Their twins stay findings: a number glued to a name (`col$%d`), a search_path naming a
    schema before pg_catalog, a statement after the rows' end."""
    code = (
        'ALLOWED = {"name": "name", "uses": "uses DESC"}\n'
        "\n"
        "async def by_percent(pool, guild_id, owner_id=None):\n"
        '    conditions = ["guild_id = $1"]\n'
        "    args = [guild_id]\n"
        "    if owner_id:\n"
        "        args.append(owner_id)\n"
        '        conditions.append("owner_id = $%d" % len(args))\n'
        '        conditions.append("uses > ${}".format(len(args)))\n'
        '        conditions.append("name = $" + str(len(args)))\n'
        '        conditions.append("id = $%(n)d" % {"n": len(args)})\n'
        '    sql = "SELECT id FROM tags WHERE " + " AND ".join(conditions)\n'
        "    return await pool.fetch(sql, *args)\n"
        "\n"
        "async def sorted_tags(pool, guild_id, sort):\n"
        '    column = ALLOWED.get(sort, "name")\n'
        '    return await pool.fetch(f"SELECT id FROM tags WHERE guild_id = $1 ORDER BY {column}", guild_id)\n'
        "\n"
        "async def glued(pool, guild_id, args):\n"
        '    return await pool.fetch("SELECT id FROM tags WHERE guild_id = $1 AND uses$%d > 0" % len(args), guild_id)\n'
    )
    dump = (
        "SET statement_timeout = 0;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "COPY public.tags (id, guild_id, name, uses) FROM stdin;\n"
        "1\t42\thello; DELETE FROM tags\t0\n"
        "2\t42\tselect * from tags where x\t3\n"
        "\\.\n"
        "DELETE FROM tags WHERE uses = 0;\n"
        "SELECT pg_catalog.set_config('search_path', 'public, pg_catalog', false);\n"
    )
    _project(tmp_path, {"app.py": code, "seeds/dump.sql": dump})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app.py", 20, "TG009"),
        ("seeds/dump.sql", 3, "TG005"),  # the COPY itself: every tenant's rows
        ("seeds/dump.sql", 7, "TG001"),
        ("seeds/dump.sql", 8, "TG006"),
    ]


def test_settings_that_match_nothing_are_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A misspelt `per_file_ignores` pattern or `sql_functions` name did nothing, silently: a
    warning names each; the ones that match say nothing."""
    code = (
        "def run_query(conn, sql):\n"
        "    return conn.execute(sql)\n"
        "\n"
        "def report(conn):\n"
        '    return run_query(conn, "SELECT id FROM tags")\n'
    )
    _project(
        tmp_path,
        {
            "app/report.py": code,
            "pyproject.toml": CONFIG
            + 'sql_functions = ["run_query", "run_qeury"]\n'
            + 'per_file_ignores = { "app/*.py" = ["TG009"], "ap/*.py" = ["TG001"] }\n',
        },
    )
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--no-cache", "--format", "concise", "."]) == 1
    err = capsys.readouterr().err
    assert "per_file_ignores pattern 'ap/*.py' matches no checked file" in err
    assert "sql_functions name 'run_qeury' is called in no checked Python file" in err
    assert "'app/*.py'" not in err and "'run_query'" not in err
    # files named (pre-commit's way): no file list to judge the patterns by
    assert main(["check", "--no-cache", "--format", "concise", "app/report.py"]) == 1
    assert "warning" not in capsys.readouterr().err


def test_a_builders_tuple_unpacked_into_the_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper 113: `conn.fetch(*build(a, s))` was no sink at all — the builder's OR passed,
    its constant "proven"; a tuple of the module unpacked so too. An unpacking of anything
    else is a value known at run time (TG009)."""
    code = (
        'BASE = "SELECT id FROM tags WHERE guild_id = $1"\n'
        "\n"
        "def build(g, name):\n"
        "    sql = BASE\n"
        "    if name:\n"
        '        sql += " OR name = $2"\n'
        "        return (sql, g, name)\n"
        "    return (sql, g)\n"
        "\n"
        "async def tags(conn, g, name):\n"
        "    return await conn.fetch(*build(g, name))\n"
        "\n"
        'ALL = ("SELECT id FROM tags", )\n'
        "\n"
        "async def every(conn):\n"
        "    return await conn.fetch(*ALL)\n"
        "\n"
        "async def given(conn, call):\n"
        "    return await conn.fetch(*call)\n"
    )
    _project(tmp_path, {"app.py": code})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app.py", 1, "TG001"),
        ("app.py", 13, "TG001"),
        ("app.py", 19, "TG009"),
    ]


@pytest.mark.parametrize(
    ("name", "text", "migration"),
    [
        ("app/db.py", "from yoyo import read_migrations, get_backend\n", False),
        ("app/version.py", 'revision = "abc"\ndown_revision = None\n', False),
        ("app/utils.py", "from django.db import migrations\n", False),
        (
            "mig/0001.py",
            "from django.db import models, migrations\n\n"
            "class Migration(migrations.Migration):\n    operations = []\n",
            True,
        ),
        (
            "mig/0002.py",
            "from yoyo import step\n\n__depends__ = {}\n\nsteps = [step('CREATE TABLE x (id int)')]\n",
            True,
        ),
        (
            "alembic/versions/a1.py",
            'revision = "a1"\ndown_revision = None\n\ndef upgrade():\n    pass\n',
            True,
        ),
    ],
)
def test_which_python_modules_are_migrations(name: str, text: str, migration: bool) -> None:
    """helper 113: a module importing yoyo to apply migrations at startup, one with a module
    `revision`, one importing Django's migrations were schema sources (their queries never
    checked); Django's old `from django.db import models, migrations` migration was not."""
    from tenantguard.sources.files import python_migration

    assert python_migration(Path(name), text) is migration


def test_an_alias_of_sqlalchemys_text_and_an_orm_from_statement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper 113: `from sqlalchemy import text as sql_text` and
    `select(M).from_statement(text(sql))` read no SQL: their leaks passed in silence."""
    code = (
        "from sqlalchemy import select, text\n"
        "from sqlalchemy import text as sql_text\n"
        "\n"
        'BASE = "SELECT id FROM tags WHERE "\n'
        "\n"
        "def by_name(session, name):\n"
        '    return session.execute(sql_text(BASE + "name = :n"), {"n": name}).all()\n'
        "\n"
        "def orm(session, Tag, name):\n"
        '    stmt = select(Tag).from_statement(text("SELECT * FROM tags WHERE uses > 1"))\n'
        "    return session.scalars(stmt).all()\n"
        "\n"
        "def pinned(session, g):\n"
        '    return session.execute(sql_text(BASE + "guild_id = :g"), {"g": g}).all()\n'
    )
    _project(tmp_path, {"app.py": code})
    # (one call completes BASE unpinned: said where the table's name is written)
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app.py", 4, "TG001"),
        ("app.py", 10, "TG001"),
    ]


ALEMBIC_MORE = '''"""more"""
import sqlalchemy as sa
from alembic import op

revision = "2222bbbb3333"
down_revision = None


def upgrade() -> None:
    op.create_table("accounts", sa.Column("id", sa.BigInteger, primary_key=True))
    op.create_table("plans", sa.Column("id", sa.BigInteger, primary_key=True))
    op.create_table("regions", sa.Column("id", sa.BigInteger, primary_key=True))
    op.create_table("kinds", sa.Column("id", sa.BigInteger, primary_key=True))
    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text),
        sa.UniqueConstraint("account_id", "id"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("customer_id", sa.BigInteger),
        sa.Column("region_id", sa.BigInteger),
        sa.ForeignKeyConstraint(
            columns=["account_id", "customer_id"],
            refcolumns=["customers.account_id", "customers.id"],
            deferrable=True,
            initially="DEFERRED",
        ),
    )
    op.add_column(
        "invoices",
        sa.Column("plan_id", sa.BigInteger(), sa.ForeignKey("plans.id", ondelete="CASCADE")),
    )
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.add_column(sa.Column("kind_id", sa.BigInteger()))
        batch_op.create_foreign_key("fk_kind", "kinds", ["kind_id"], ["id"], ondelete="CASCADE")
    op.create_table("stores", sa.Column("id", sa.BigInteger, primary_key=True))
    op.add_column(
        table_name="invoices",
        column=sa.Column(
            sa.ForeignKey("stores.id", ondelete="CASCADE"), name="store_id", type_=sa.BigInteger
        ),
    )
    op.create_foreign_key(
        constraint_name="fk_region",
        source_table="invoices",
        referent_table="regions",
        local_cols=["region_id"],
        remote_cols=["id"],
        ondelete="SET NULL",
    )
'''


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("DELETE FROM plans WHERE id = $1", "TG005"),  # op.add_column's key
        ("DELETE FROM kinds WHERE id = $1", "TG005"),  # batch_op.create_foreign_key
        ("DELETE FROM regions WHERE id = $1", "TG005"),  # keywords
        ("DELETE FROM stores WHERE id = $1", "TG005"),  # add_column's and Column's keywords
        # a deferrable composite key is no pin (checked at commit)
        (
            "SELECT c.name FROM invoices i JOIN customers c ON c.id = i.customer_id "
            "WHERE i.account_id = $1",
            "TG001",
        ),
    ],
)
def test_alembic_keys_in_every_spelling(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    statement: str,
    code: str,
) -> None:
    """helper 113: `op.add_column(…, sa.Column(…, sa.ForeignKey(…, ondelete=…)))`,
    `batch_op.create_foreign_key(…)`, keyword arguments, and `deferrable=True` were not read."""
    (tmp_path / "alembic" / "versions").mkdir(parents=True)
    (tmp_path / "alembic" / "versions" / "2222bbbb3333_more.py").write_text(ALEMBIC_MORE)
    (tmp_path / "q.sql").write_text(statement + ";\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "account_id"\nschema_paths = ["alembic/versions"]\n'
    )
    assert [f[2] for f in _found(tmp_path, capsys, monkeypatch)] == [code]


def test_pandas_reads_and_writes_of_a_whole_tenant_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper 113: `pd.read_sql_table("tags", con)`, `pd.read_sql("tags", con)` (a table's
    name: pandas reads all of it) and `df.to_sql("tags", con)` passed in silence."""
    code = (
        "import pandas as pd\n"
        "from sqlalchemy import text\n"
        "\n"
        "def export(engine):\n"
        '    return pd.read_sql_table("tags", engine)\n'
        "\n"
        "def export2(engine):\n"
        '    return pd.read_sql("tags", engine)\n'
        "\n"
        "def load(engine, df):\n"
        '    df.to_sql("tags", engine, if_exists="append", index=False)\n'
        "\n"
        "def mine(engine, g):\n"
        '    return pd.read_sql(text("SELECT id FROM tags WHERE guild_id = :g"), engine, params={"g": g})\n'
        "\n"
        "def other(engine, df):\n"
        '    df.to_sql("report_cache", engine)\n'
    )
    # helper 115: imported by name, and a table named by a constant of the module
    more = (
        "from pandas import read_sql_table\n"
        "\n"
        'T = "tags"\n'
        "\n"
        "def export(engine):\n"
        "    return read_sql_table(T, engine)\n"
        "\n"
        "def load(engine, df):\n"
        "    df.to_sql(T, engine)\n"
    )
    _project(tmp_path, {"app.py": code, "more.py": more})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app.py", 5, "TG005"),
        ("app.py", 8, "TG005"),
        ("app.py", 11, "TG002"),
        ("more.py", 6, "TG005"),
        ("more.py", 9, "TG002"),
    ]


def test_a_table_a_grandchild_class_sets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper 113: `Repo.list_open()` reads `self.table`; `TenantRepo(Repo)` in between;
    `TagRepo(TenantRepo)` in another module sets `table = "tags"`: only a TG009 warning."""
    base = (
        "class Repo:\n"
        "    table: str\n"
        "\n"
        "    def __init__(self, pool):\n"
        "        self.pool = pool\n"
        "\n"
        "    async def list_all(self):\n"
        '        return await self.pool.fetch(f"SELECT * FROM {self.table} WHERE uses > 0")\n'
        "\n"
        "class TenantRepo(Repo):\n"
        "    pass\n"
    )
    tags = "from app.base import TenantRepo\n\nclass TagRepo(TenantRepo):\n    table = 'tags'\n"
    _project(tmp_path, {"app/__init__.py": "", "app/base.py": base, "app/tags.py": tags})
    assert _found(tmp_path, capsys, monkeypatch) == [("app/base.py", 8, "TG001")]


def test_keyword_unpacked_sql_and_an_aliased_text_clause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper 115: `conn.fetch(**kw)` was no sink (a dict of the module: its `query`; any other:
    TG009), and `sql_text(…).bindparams(…)` (an alias of text) read no SQL."""
    code = (
        "from sqlalchemy import text as sql_text\n"
        "\n"
        'T = "tags"\n'
        "\n"
        "async def by_dict(conn):\n"
        '    kw = {"query": "SELECT * FROM " + T}\n'
        "    return await conn.fetch(**kw)\n"
        "\n"
        "async def given(conn, kw):\n"
        "    return await conn.fetch(**kw)\n"
        "\n"
        "def bound(session):\n"
        '    stmt = sql_text("SELECT * FROM " + T + " WHERE uses = :u").bindparams(u=1)\n'
        "    return session.execute(stmt)\n"
    )
    _project(tmp_path, {"app.py": code})
    found = _found(tmp_path, capsys, monkeypatch)
    assert ("app.py", 10, "TG009") in found
    # both at T, where the table's name is written: one for each call that sends it
    assert [f for f in found if f[2] == "TG001"] == [("app.py", 3, "TG001")] * 2
    monkeypatch.chdir(tmp_path)
    main(["check", "--no-cache", "--format", "json", "."])
    helps = [f["help"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert any("line 7" in h for h in helps) and any("line 14" in h for h in helps)


def test_a_table_a_mixin_gives_a_subclass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper 115: `class Inv(Mixin, Base)` takes `table` from Mixin; a sibling subclass that
    sets its own table hid it (the base's query passed, "none of them on a tenant table")."""
    code = (
        "class Base:\n"
        "    async def all(self, conn):\n"
        '        return await conn.fetch(f"SELECT * FROM {self.table}")\n'
        "\n"
        "class Guilds(Base):\n"
        '    table = "guilds_log"\n'
        "\n"
        "class Mixin:\n"
        '    table = "tags"\n'
        "\n"
        "class Tags(Mixin, Base):\n"
        "    pass\n"
    )
    _project(
        tmp_path,
        {"app.py": code, "schema.sql": SCHEMA + "CREATE TABLE guilds_log (id bigint);\n"},
    )
    assert _found(tmp_path, capsys, monkeypatch) == [("app.py", 9, "TG001")]


def test_an_alembic_table_named_at_run_time_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper 115: `t = "invoices"; op.add_column(t, sa.Column("account_id", …))` added the
    tenant column unseen: the table's unpinned reads passed, "on no tenant table". Said now,
    where the migration names it."""
    (tmp_path / "alembic" / "versions").mkdir(parents=True)
    (tmp_path / "alembic" / "versions" / "001_init.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        'revision = "001"\ndown_revision = None\n\n'
        "def upgrade():\n"
        '    op.create_table("accounts", sa.Column("id", sa.BigInteger, primary_key=True))\n'
        '    op.create_table("notes", sa.Column("id", sa.BigInteger), sa.Column("account_id", sa.BigInteger))\n'
        '    t = "invoices"\n'
        '    op.add_column(t, sa.Column("account_id", sa.BigInteger))\n'
    )
    (tmp_path / "app.py").write_text(
        'async def all_invoices(conn):\n    return await conn.fetch("SELECT * FROM invoices")\n'
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "account_id"\nschema_paths = ["alembic/versions"]\n'
    )
    assert _found(tmp_path, capsys, monkeypatch) == [("alembic/versions/001_init.py", 11, "TG006")]
