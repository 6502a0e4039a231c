"""Round 24: silent passes an outside attack found on real code — each a class of shapes that
reached a tenant table unchecked (or read it as no tenant table) — through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantguard.cli import main
from tests.project_files import findings_of_check, write_project

SCHEMA = (
    "CREATE TABLE guilds (guild_id bigint PRIMARY KEY);\n"
    "CREATE TABLE tags (id serial PRIMARY KEY, guild_id bigint NOT NULL REFERENCES "
    "guilds(guild_id), name text, uses int);\n"
    "CREATE TABLE report_cache (id bigint, body text);\n"
)
CONFIG = '[tool.tenantguard]\ntenant_column = "guild_id"\nschema_paths = ["schema.sql"]\n'
LEAK = 'async def leak(pool):\n    return await pool.fetch("SELECT * FROM tags")\n'


def _project(root: Path, files: dict[str, str]) -> None:
    write_project(root, SCHEMA, CONFIG, files)


_found = findings_of_check


# 1. alembic: a table's columns given by `*cols` or by a helper returning columns

MIGRATION = '''"""init"""
import sqlalchemy as sa
from alembic import op

from .common import audit_columns

revision = "001"
down_revision = None

COMMON = [sa.Column("id", sa.BigInteger, primary_key=True), sa.Column("note", sa.Text)]
OWNED = (*COMMON, sa.Column("account_id", sa.BigInteger, nullable=False))


def tenant_columns():
    return [sa.Column("id", sa.BigInteger, primary_key=True), sa.Column("account_id", sa.BigInteger)]


def owner_column(nullable=False):
    return sa.Column("account_id", sa.BigInteger, nullable=nullable)


def upgrade():
    op.create_table("accounts", sa.Column("id", sa.BigInteger, primary_key=True))
    op.create_table("invoices", *COMMON, sa.Column("account_id", sa.BigInteger))
    op.create_table("notes", *tenant_columns())
    op.create_table("tasks", *COMMON, owner_column())
    op.create_table("files", *OWNED)
    op.create_table("plans", *COMMON)
    op.create_table("events", *COMMON, *audit_columns())
'''
APP1 = """async def a(conn):
    return await conn.fetch("SELECT * FROM invoices")
async def b(conn):
    return await conn.fetch("SELECT * FROM notes")
async def c(conn):
    return await conn.fetch("SELECT * FROM tasks")
async def d(conn):
    return await conn.fetch("SELECT * FROM files")
async def e(conn):
    return await conn.fetch("SELECT * FROM plans")
"""


def test_alembic_columns_unpacked_or_made_by_a_helper(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`op.create_table("invoices", *COMMON, sa.Column("account_id", …))`, `*tenant_columns()`:
    the tenant column was not seen, the table's unpinned reads passed. Read through the
    module's lists and functions; what cannot be read (`*audit_columns()` imported) is TG006."""
    (tmp_path / "alembic" / "versions").mkdir(parents=True)
    (tmp_path / "alembic" / "versions" / "001_init.py").write_text(MIGRATION)
    (tmp_path / "app.py").write_text(APP1)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "account_id"\nschema_paths = ["alembic/versions"]\n'
    )
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("alembic/versions/001_init.py", 29, "TG006"),
        ("app.py", 2, "TG001"),
        ("app.py", 4, "TG001"),
        ("app.py", 6, "TG001"),
        ("app.py", 8, "TG001"),
    ]


# 2. pandas and polars


def test_pandas_and_polars_reads_and_writes_in_every_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pd.read_sql(sql="tags", con=…)`, `pd.io.sql.to_sql(df, "tags", con)`,
    `pandas.DataFrame.to_sql(df, "tags", …)`, polars' `read_database`, `read_database_uri` and
    `write_database` passed in silence."""
    code = (
        "import pandas as pd\n"
        "import pandas\n"
        "import polars as pl\n"
        "from pandas.io import sql as psql\n"
        "from polars import read_database\n"
        "\n"
        "def a(engine):\n"
        '    return pd.read_sql(sql="tags", con=engine)\n'
        "def b(engine, df):\n"
        '    pd.io.sql.to_sql(df, "tags", engine)\n'
        "def c(engine, df):\n"
        '    pandas.DataFrame.to_sql(df, "tags", engine, if_exists="append")\n'
        "def d(conn):\n"
        '    return pl.read_database("SELECT * FROM tags", conn)\n'
        "def e(uri):\n"
        '    return pl.read_database_uri(query="SELECT name FROM tags", uri=uri)\n'
        "def f(df, conn):\n"
        '    df.write_database("tags", conn)\n'
        "def g(df, conn):\n"
        '    df.write_database(table_name="tags", connection=conn, if_table_exists="append")\n'
        "def h(engine, df):\n"
        '    psql.to_sql(df, "tags", engine)\n'
        "def i(engine):\n"
        '    return psql.read_sql_table("tags", engine)\n'
        "def j(conn):\n"
        '    return read_database("SELECT name FROM tags WHERE uses > 0", conn)\n'
        "def k(engine):\n"
        '    return pd.read_sql_query(sql="SELECT name FROM tags", con=engine)\n'
        "\n"
        "def ok(conn, g):\n"
        '    return pl.read_database("SELECT * FROM tags WHERE guild_id = :g", conn,'
        ' execute_options={"parameters": {"g": g}})\n'
        "def ok2(df, conn, engine):\n"
        '    df.write_database("report_cache", conn)\n'
        '    pd.io.sql.to_sql(df, "report_cache", engine)\n'
        '    return pd.read_sql(sql="report_cache", con=engine)\n'
    )
    _project(tmp_path, {"app.py": code})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app.py", 8, "TG005"),
        ("app.py", 10, "TG002"),
        ("app.py", 12, "TG002"),
        ("app.py", 14, "TG001"),
        ("app.py", 16, "TG001"),
        ("app.py", 18, "TG002"),
        ("app.py", 20, "TG002"),
        ("app.py", 22, "TG002"),
        ("app.py", 24, "TG005"),
        ("app.py", 26, "TG001"),
        ("app.py", 28, "TG001"),
    ]


# 3. a base imported under another name; a class made by type()

BASE = (
    "class Repo:\n"
    '    table = "report_cache"\n'
    '    SQL = "SELECT * FROM tags"\n'
    "\n"
    "    async def all(self, conn):\n"
    '        return await conn.fetch(f"SELECT * FROM {self.table}")\n'
)


def test_a_base_imported_under_another_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`from .base import Repo as B; class Inv(B)`: the subclass's table and the base's query
    constant did not meet (the alias was not followed)."""
    inv = (
        "from .base import Repo as B\n"
        "\n"
        "class Inv(B):\n"
        '    table = "tags"\n'
        "\n"
        "    async def every(self, conn):\n"
        "        return await conn.fetch(self.SQL)\n"
    )
    _project(tmp_path, {"app/__init__.py": "", "app/base.py": BASE, "app/inv.py": inv})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app/base.py", 3, "TG001"),
        ("app/base.py", 6, "TG001"),
    ]


def test_a_class_made_by_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Inv = type("Inv", (Repo,), {"table": "tags"})` sets the table the base's query reads."""
    base = BASE.replace('    SQL = "SELECT * FROM tags"\n', "")
    made = (
        "from app.base import Repo\n"
        "from app import base\n"
        "\n"
        'Inv = type("Inv", (Repo,), {"table": "tags"})\n'
        'Other = type("Other", (base.Repo,), dict(table="report_cache"))\n'
    )
    _project(tmp_path, {"app/__init__.py": "", "app/base.py": base, "app/made.py": made})
    assert _found(tmp_path, capsys, monkeypatch) == [("app/base.py", 5, "TG001")]


# 4. a migrations folder's module that is no framework's migration

CLICK_UPGRADE = (
    "import asyncio\n"
    "import click\n"
    "\n"
    "@click.command()\n"
    "def upgrade():\n"
    "    asyncio.run(run())\n"
    "\n"
    "async def run(pool=None):\n"
    '    return await pool.fetch("SELECT * FROM tags")\n'
)


def test_a_click_command_named_upgrade_in_a_migrations_folder_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/migrations/cli.py": CLICK_UPGRADE})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/migrations/cli.py", 9, "TG001")]


@pytest.mark.parametrize(
    ("name", "text", "migration"),
    [
        ("bot/migrations/cli.py", CLICK_UPGRADE, False),
        (
            "bot/migrations/tasks.py",
            "from app import celery\n\n@celery.task\ndef migrate(account):\n    pass\n",
            False,
        ),
        ("bot/migrations/run.py", "def upgrade():\n    main()\n", False),
        (
            "bot/migrations/0002.py",
            "def upgrade(op):\n    pass\n\ndef downgrade(op):\n    pass\n",
            True,
        ),
        (
            "bot/migrations/0003.py",
            "def upgrade(conn):\n    conn.execute('ALTER TABLE x ADD y int')\n",
            True,
        ),
        (
            "bot/migrations/0004.py",
            "def migrate(migrator, database, fake=False, **kwargs):\n    pass\n",
            True,
        ),
        (
            "bot/migrations/0005.py",
            "async def upgrade(db) -> str:\n    return 'ALTER TABLE x ADD y int'\n",
            True,
        ),
        (
            "bot/migrations/0006.py",
            "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n",
            True,
        ),
    ],
)
def test_which_modules_of_a_migrations_folder_are_migrations(
    name: str, text: str, migration: bool
) -> None:
    from tenantguard.sources.files import python_migration

    assert python_migration(Path(name), text) is migration


# 5. tool and build directory names inside the application


def test_build_and_dist_inside_a_package_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ruff skips a directory named `build`, `dist`, `venv`… anywhere; inside a package it is
    the application's code (`app/build/steps.py`): checked. A skipped one holding sources (a
    setuptools `build/lib` copy) is said on standard error, never silently."""
    _project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/build/steps.py": LEAK,
            "app/dist/__init__.py": LEAK,
            "app/venv/q.sql": "SELECT * FROM tags;\n",
            "build/lib/app/copy.py": LEAK,
            "node_modules/x/y.sql": "SELECT * FROM tags;\n",
        },
    )
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app/build/steps.py", 2, "TG001"),
        ("app/dist/__init__.py", 2, "TG001"),
        ("app/venv/q.sql", 1, "TG001"),
    ]
    main(["check", "--no-cache", "."])
    err = capsys.readouterr().err
    assert "build" in err and "not checked" in err


# 6. file suffixes in other cases, and .pyw


def test_upper_case_suffixes_and_pyw_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(
        tmp_path,
        {
            "app/Q.SQL": "SELECT * FROM tags;\n",
            "app/TOOL.PY": LEAK,
            "app/gui.pyw": LEAK,
            "app/readme.txt": "SELECT * FROM tags;\n",
        },
    )
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app/Q.SQL", 1, "TG001"),
        ("app/TOOL.PY", 2, "TG001"),
        ("app/gui.pyw", 2, "TG001"),
    ]


def test_a_package_named_build_is_checked_under_force_exclude(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pre-commit names the files, with --force-exclude: a package's `build` module stays
    checked; setuptools' `build/lib` copy stays skipped."""
    _project(
        tmp_path,
        {"app/__init__.py": "", "app/build/steps.py": LEAK, "build/lib/app/copy.py": LEAK},
    )
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "check", "--no-cache", "--force-exclude", "--format", "json",
            "app/build/steps.py", "build/lib/app/copy.py",
        ]
    )  # fmt: skip
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert [(f["path"], f["line"]) for f in findings] == [("app/build/steps.py", 2)]


def test_alembic_add_column_from_a_helper_and_a_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tenant column added by a helper (`op.add_column("invoices", owner())`, in a batch,
    on `from alembic import op as alembic_op`): read; one imported from elsewhere is TG006."""
    (tmp_path / "alembic" / "versions").mkdir(parents=True)
    (tmp_path / "alembic" / "versions" / "001_init.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op as alembic_op\n"
        "from app.columns import owner_of\n\n"
        'revision = "001"\ndown_revision = None\n\n'
        "def owner():\n"
        '    return sa.Column("account_id", sa.BigInteger, nullable=False)\n\n'
        "def upgrade():\n"
        '    alembic_op.create_table("invoices", sa.Column("id", sa.BigInteger))\n'
        '    alembic_op.add_column("invoices", owner())\n'
        '    alembic_op.create_table("notes", sa.Column("id", sa.BigInteger))\n'
        '    with alembic_op.batch_alter_table("notes") as batch_op:\n'
        "        batch_op.add_column(owner())\n"
        '    alembic_op.create_table("plans", sa.Column("id", sa.BigInteger))\n'
        '    alembic_op.add_column("plans", owner_of("accounts"))\n'
    )
    (tmp_path / "app.py").write_text(
        'async def a(conn):\n    return await conn.fetch("SELECT * FROM invoices")\n'
        'async def b(conn):\n    return await conn.fetch("SELECT * FROM notes")\n'
        'async def c(conn):\n    return await conn.fetch("SELECT * FROM plans")\n'
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "account_id"\nschema_paths = ["alembic/versions"]\n'
    )
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("alembic/versions/001_init.py", 18, "TG006"),
        ("app.py", 2, "TG001"),
        ("app.py", 4, "TG001"),
    ]


def test_pandas_functions_imported_under_another_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = (
        "from pandas import read_sql_table as table_of, read_sql as rs\n"
        "from pandas.io.sql import to_sql as write\n"
        "from polars import read_database as rd\n"
        "\n"
        "def a(engine):\n"
        '    return table_of("tags", engine)\n'
        "def b(engine, df):\n"
        '    write(df, "tags", engine)\n'
        "def c(conn):\n"
        '    return rd("SELECT * FROM tags", conn)\n'
        "def d(engine):\n"
        '    return rs("SELECT name FROM tags WHERE uses > 1", engine)\n'
        "def ok(engine, df):\n"
        '    write(df, "report_cache", engine)\n'
        '    return table_of("report_cache", engine)\n'
    )
    _project(tmp_path, {"app.py": code})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app.py", 6, "TG005"),
        ("app.py", 8, "TG002"),
        ("app.py", 10, "TG001"),
        ("app.py", 12, "TG001"),
    ]
