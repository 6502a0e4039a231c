"""Round 25: silent passes an outside attack found in round 24's new shapes — a pandas table
named through a constant, a base named through a module-level alias, a pandas sink reached
through getattr / partial / a bound method — and the noise checks of the walk."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tenantguard.cli import main

# the project of round 24's shapes: its schema, configuration and leak
from tests.python.test_real_shapes24 import LEAK, _found, _project

# 1. a pandas/polars table or query named through the module's names


def test_pandas_tables_named_by_constants_in_every_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pd.read_sql(TABLE, engine)` read a table named by a constant as SQL "tags" (no
    statement): silent, while the literal was TG005."""
    names = 'TABLE = "tags"\nSAFE = "report_cache"\n'
    code = (
        "import pandas as pd\n"
        "import polars as pl\n"
        "from app.names import TABLE as IMPORTED\n"
        "from app import names\n"
        'TABLE = "tags"\n'
        "\n"
        "class Cfg:\n"
        '    table = "tags"\n'
        "\n"
        "def h1(engine):\n"
        "    return pd.read_sql(TABLE, engine)\n"  # 11
        "def h2(engine):\n"
        "    return pd.read_sql(sql=TABLE, con=engine)\n"  # 13
        "def h3(engine):\n"
        "    return pd.read_sql(IMPORTED, engine)\n"  # 15
        "def h4(engine):\n"
        "    return pd.read_sql(names.TABLE, engine)\n"  # 17
        "def h5(engine):\n"
        "    return pd.read_sql(Cfg.table, engine)\n"  # 19
        "def h6(engine):\n"
        '    return pd.read_sql(f"{TABLE}", engine)\n'  # 21
        "def h7(df, engine):\n"
        '    df.to_sql(name=f"{TABLE}", con=engine)\n'  # 23
        "def h8(df, engine):\n"
        "    df.to_sql(IMPORTED, engine)\n"  # 25
        "def h9(engine):\n"
        "    return pd.read_sql_table(table_name=names.TABLE, con=engine)\n"  # 27
        "def h10(df, uri):\n"
        "    df.write_database(Cfg.table, uri)\n"  # 29
        "def ok(engine, df):\n"
        "    df.to_sql(names.SAFE, engine)\n"
        "    return pd.read_sql(names.SAFE, engine)\n"
    )
    _project(tmp_path, {"app/__init__.py": "", "app/names.py": names, "app/r.py": code})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app/r.py", line, rule)
        for line, rule in [
            (11, "TG005"),
            (13, "TG005"),
            (15, "TG005"),
            (17, "TG005"),
            (19, "TG005"),
            (21, "TG005"),
            (23, "TG002"),
            (25, "TG002"),
            (27, "TG005"),
            (29, "TG002"),
        ]
    ]


# 2. a base named through an alias the module binds


BASE = (
    "class Repo:\n"
    '    table = "report_cache"\n'
    "\n"
    "    async def all(self, conn):\n"
    '        return await conn.fetch(f"SELECT * FROM {self.table}")\n'
)


@pytest.mark.parametrize(
    "header",
    [
        "from app.base import Repo\nBase = Repo\n",
        "from app.base import Repo\nBase = Repo\nBase2 = Base\n",
        "from app.base import Repo as R\nBase = R\n",
        "from app import base\nBase = base.Repo\n",
        "import app.base\nBase = app.base.Repo\n",
        "import app.base as b\nBase: type = b.Repo\n",
    ],
)
def test_a_base_through_a_module_level_alias(
    header: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "Base2" if "Base2" in header else "Base"
    inv = f'{header}\nclass Inv2({name}):\n    table = "tags"\n'
    _project(tmp_path, {"app/__init__.py": "", "app/base.py": BASE, "app/inv.py": inv})
    assert _found(tmp_path, capsys, monkeypatch) == [("app/base.py", 5, "TG001")]


def test_a_base_through_a_dotted_module_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = 'import app.base\n\nclass Inv2(app.base.Repo):\n    table = "tags"\n'
    _project(tmp_path, {"app/__init__.py": "", "app/base.py": BASE, "app/inv.py": inv})
    assert _found(tmp_path, capsys, monkeypatch) == [("app/base.py", 5, "TG001")]


def test_a_grandchild_through_aliases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mid = "from app.base import Repo\nMid0 = Repo\n\nclass Mid(Mid0):\n    pass\n"
    inv = 'from app import mid\nM = mid.Mid\n\nclass Inv(M):\n    table = "tags"\n'
    _project(
        tmp_path,
        {"app/__init__.py": "", "app/base.py": BASE, "app/mid.py": mid, "app/inv.py": inv},
    )
    assert _found(tmp_path, capsys, monkeypatch) == [("app/base.py", 5, "TG001")]


# 3. pandas sinks reached through getattr, partial, a bound method


def test_pandas_sinks_through_getattr_partial_and_bound_methods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = (
        "import functools\n"
        "import pandas as pd\n"
        "from functools import partial\n"
        'TABLE = "tags"\n'
        "\n"
        "def b(engine):\n"
        '    return getattr(pd, "read_sql_table")("tags", engine)\n'  # 7
        "def c(engine):\n"
        '    return partial(pd.read_sql_table, con=engine)("tags")\n'  # 9
        "def c2(engine):\n"
        "    reader = functools.partial(pd.read_sql_table, con=engine)\n"
        "    return reader(TABLE)\n"  # 12
        "def j(df, engine):\n"
        "    write = df.to_sql\n"
        '    write("tags", engine)\n'  # 15
        "def j2(engine):\n"
        "    read = pd.read_sql\n"
        "    return read(TABLE, engine)\n"  # 18
        "def j3(df, engine):\n"
        '    write = getattr(df, "to_sql")\n'
        "    write(name=TABLE, con=engine)\n"  # 21
        "def j4(engine):\n"
        '    return partial(pd.read_sql, "tags")(engine)\n'  # 23
        "def ok(df, engine):\n"
        "    write = df.to_sql\n"
        '    write("report_cache", engine)\n'
        '    return getattr(pd, "read_sql_table")("report_cache", engine)\n'
    )
    _project(tmp_path, {"app.py": code})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app.py", 7, "TG005"),
        ("app.py", 9, "TG005"),
        ("app.py", 12, "TG005"),
        ("app.py", 15, "TG002"),
        ("app.py", 18, "TG005"),
        ("app.py", 21, "TG002"),
        ("app.py", 23, "TG005"),
    ]


def test_pandas_sinks_whose_table_is_unknown_are_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pandas sink whose table name or method cannot be read is a TG009, never silence."""
    code = (
        "import pandas as pd\n"
        "\n"
        "def a(engine, name):\n"
        "    return pd.read_sql_table(name, engine)\n"  # 4
        "def b(df, engine, name):\n"
        "    df.to_sql(name, engine)\n"  # 6
        "def c(engine, how):\n"
        '    return getattr(pd, how)("tags", engine)\n'  # 8
    )
    _project(tmp_path, {"app.py": code})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app.py", 4, "TG009"),
        ("app.py", 6, "TG009"),
        ("app.py", 8, "TG009"),
    ]


# 4. noise: a normal project's skipped directories, and its migrations folders


def test_a_normal_project_prints_no_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real virtualenv (.venv with pyvenv.cfg), a git-ignored setuptools `build/lib` copy,
    node_modules, .tox, __pycache__: skipped without a word."""
    _project(
        tmp_path,
        {
            ".gitignore": "build/\n*.egg-info/\n",
            "app/__init__.py": "",
            "app/q.py": LEAK,
            ".venv/pyvenv.cfg": "home = /usr/bin\n",
            ".venv/lib/python3.12/site-packages/pkg/m.py": LEAK,
            "venv/pyvenv.cfg": "home = /usr/bin\n",
            "venv/lib/python3.12/site-packages/pkg/m.py": LEAK,
            "build/lib/app/q.py": LEAK,
            "build/lib/app/__init__.py": "",
            "node_modules/x/y.sql": "SELECT * FROM tags;\n",
            ".tox/py312/lib/m.py": LEAK,
            "app.egg-info/SOURCES.txt": "app/q.py\n",
        },
    )
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--no-cache", "."]) == 1
    captured = capsys.readouterr()
    assert "app/q.py" in captured.out
    assert "note" not in captured.err, captured.err
    assert captured.err.strip() == "", captured.err


def test_a_normal_project_without_git_prints_no_note_for_a_virtualenv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/q.py": LEAK,
            ".venv/pyvenv.cfg": "home = /usr/bin\n",
            ".venv/lib/python3.12/site-packages/pkg/m.py": LEAK,
            "node_modules/x/y.sql": "SELECT * FROM tags;\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--no-cache", "."]) == 1
    assert "note" not in capsys.readouterr().err


MIGRATION_ALEMBIC = '''"""add tags"""
import sqlalchemy as sa
from alembic import op

revision = "002"
down_revision = "001"


def upgrade():
    op.create_table(
        "notes",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("guild_id", sa.BigInteger, nullable=False),
    )


def downgrade():
    op.drop_table("notes")
'''
MIGRATION_DJANGO = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = []
    operations = [
        migrations.RunSQL(
            "CREATE TABLE notes (id bigint PRIMARY KEY, guild_id bigint NOT NULL)",
            reverse_sql="DROP TABLE notes",
        ),
    ]
"""


@pytest.mark.parametrize(
    ("folder", "path", "text"),
    [
        ("alembic", "alembic/versions/002_notes.py", MIGRATION_ALEMBIC),
        ("app/migrations", "app/migrations/0002_notes.py", MIGRATION_DJANGO),
    ],
)
def test_migrations_folders_are_still_schema_sources(
    folder: str,
    path: str,
    text: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = f'[tool.tenantguard]\ntenant_column = "guild_id"\nschema_paths = ["{folder}"]\n'
    _project(
        tmp_path,
        {
            "pyproject.toml": config,
            "app/__init__.py": "",
            "app/migrations/__init__.py": "",
            path: text,
            "app/q.py": 'async def leak(pool):\n    return await pool.fetch("SELECT * FROM notes")\n',
        },
    )
    (tmp_path / "schema.sql").unlink()
    assert _found(tmp_path, capsys, monkeypatch) == [("app/q.py", 2, "TG001")]


def test_no_warning_for_calls_that_are_no_pandas_sink(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ibis.to_sql(expr)`, a project's `to_sql(dialect)`, `getattr(pd, f"read_{fmt}")(path)`:
    no connection given, no sink name fits — no TG009."""
    code = (
        "import ibis\n"
        "import pandas as pd\n"
        "\n"
        "class Q:\n"
        "    def to_sql(self, dialect):\n"
        "        return dialect\n"
        "\n"
        "def a(expr, q, dialect):\n"
        "    q.to_sql(dialect)\n"
        '    return ibis.to_sql(expr, dialect="postgres")\n'
        "def b(path, fmt):\n"
        '    return getattr(pd, f"read_{fmt}")(path)\n'
        "def c(df, path, fmt):\n"
        '    getattr(df, f"to_{fmt}")(path, index=False)\n'
        "def d(df, fmt, path, engine):\n"
        '    return getattr(pd, f"read_{fmt}")(path, engine)\n'
        "def loop(df, engine, frames):\n"
        "    for frame in frames:\n"
        "        write = frame.to_sql\n"
        '        write("report_cache", engine)\n'
    )
    _project(tmp_path, {"app.py": code})
    assert _found(tmp_path, capsys, monkeypatch) == [("app.py", 16, "TG009")]


def test_a_table_a_subclass_sets_read_by_pandas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = (
        "import pandas as pd\n"
        "\n"
        "class Base:\n"
        '    table = "report_cache"\n'
        "\n"
        "    def frame(self, engine):\n"
        "        return pd.read_sql_table(self.table, engine)\n"
        "\n"
        "class Tags(Base):\n"
        '    table = "tags"\n'
    )
    _project(tmp_path, {"app.py": code})
    assert _found(tmp_path, capsys, monkeypatch) == [("app.py", 7, "TG005")]


@pytest.mark.parametrize(
    "files",
    [
        {  # the base's own module names it again
            "app/base.py": BASE + "\nRepository = Repo\n",
            "app/inv.py": 'from app.base import Repository\n\nclass Inv(Repository):\n    table = "tags"\n',
        },
        {  # a package re-exports it under another name
            "app/base.py": BASE,
            "app/api.py": "from app.base import Repo as Repository\n",
            "app/inv.py": 'from app.api import Repository\n\nclass Inv(Repository):\n    table = "tags"\n',
        },
        {  # an alias of an alias, in a third module
            "app/base.py": BASE,
            "app/api.py": "from app import base\nRepository = base.Repo\nStore = Repository\n",
            "app/inv.py": 'from app import api\n\nclass Inv(api.Store):\n    table = "tags"\n',
        },
    ],
)
def test_a_base_renamed_where_it_is_defined_or_re_exported(
    files: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _project(tmp_path, {"app/__init__.py": "", **files})
    assert _found(tmp_path, capsys, monkeypatch) == [("app/base.py", 5, "TG001")]


def test_pandas_sinks_through_partial_under_another_name_and_at_module_level(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = (
        "import pandas as pd\n"
        "from functools import partial as p\n"
        'TABLE = "tags"\n'
        "READ = p(pd.read_sql_table, con=None)\n"
        "read2 = pd.read_sql_table\n"
        "\n"
        "def b():\n"
        '    return READ("tags")\n'  # 8
        "def c(engine):\n"
        "    return read2(TABLE, engine)\n"  # 10
        "def g(df, engine):\n"
        "    w = p(df.to_sql, TABLE)\n"
        "    w(engine)\n"  # 13
        "def h(engine):\n"
        "    return p(p(pd.read_sql_table, TABLE), con=engine)()\n"  # 15
        "def i(engine):\n"
        '    return getattr(pd.io.sql, "read_sql_table")(TABLE, engine)\n'  # 17
    )
    _project(tmp_path, {"app.py": code})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app.py", 8, "TG005"),
        ("app.py", 10, "TG005"),
        ("app.py", 13, "TG002"),
        ("app.py", 15, "TG005"),
        ("app.py", 17, "TG005"),
    ]


def test_a_base_alias_inside_a_try(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = (
        "from app.base import Repo\n"
        "try:\n"
        "    Base = Repo\n"
        "except ImportError:\n"
        "    pass\n"
        "\n"
        'class Inv(Base):\n    table = "tags"\n'
    )
    _project(tmp_path, {"app/__init__.py": "", "app/base.py": BASE, "app/inv.py": inv})
    assert _found(tmp_path, capsys, monkeypatch) == [("app/base.py", 5, "TG001")]


def test_a_table_name_passed_to_a_read_sql_wrapper(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`load("tags")` where `load(q)` passes `q` to `pd.read_sql(q, con)`: a table read whole,
    as `pd.read_sql("tags", con)` is; a wrapper of `read_sql_table` is TG009 where it reads."""
    code = (
        "import pandas as pd\n"
        "\n"
        "def load(q, engine):\n"
        "    return pd.read_sql(q, engine)\n"
        "\n"
        "def load2(t, engine):\n"
        "    return pd.read_sql_table(t, engine)\n"  # 7
        "\n"
        "def caller(engine):\n"
        '    load("tags", engine)\n'  # 10
        '    load("report_cache", engine)\n'
        '    load("SELECT * FROM tags", engine)\n'  # 12
        '    load2("tags", engine)\n'
    )
    _project(tmp_path, {"app.py": code})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app.py", 7, "TG009"),
        ("app.py", 10, "TG005"),
        ("app.py", 12, "TG001"),
    ]


def test_a_base_alias_with_a_fallback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`try: Base = Repo / except ImportError: Base = object`: the subclass's table reaches
    Repo's query on the path where Base is Repo."""
    inv = (
        "try:\n"
        "    from app.base import Repo\n"
        "    Base = Repo\n"
        "except ImportError:\n"
        "    Base = object\n"
        "\n"
        'class Inv(Base):\n    table = "tags"\n'
    )
    _project(tmp_path, {"app/__init__.py": "", "app/base.py": BASE, "app/inv.py": inv})
    assert _found(tmp_path, capsys, monkeypatch) == [("app/base.py", 5, "TG001")]
