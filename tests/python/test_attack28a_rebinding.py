"""Round 28, outside review h28a of the rebinding check (3655077): `db.fetch(…)` after `from src
import db` is read as the project's `fetch(connection, query, params)` unless the calling module
may replace it — and `db.fetch = pool.fetch` was the only spelling seen. `setattr(db, "fetch",
…)`, `vars(db)[…]`, `db.__dict__[…]`, `src.db.fetch = …` (the module by its dotted path) and the
module's own global written through its module object (`sys.modules[__name__].db = pool`) put
the driver's `fetch(query)` there as well: SQL the call sends (a query from the request) went to
the project function's `connection` parameter and was not checked at all. Each is now read as
the driver's method (TG009: SQL known only at run time); a module that replaces nothing stays the
project's wrapper (its SQL checked where the wrapper runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project_files import findings_of_check, write_project

SCHEMA = (
    "CREATE TABLE clubs (club_id int PRIMARY KEY, name text);\n"
    "CREATE TABLE dues (id int PRIMARY KEY, club_id int NOT NULL REFERENCES clubs(club_id), "
    "amount numeric);\n"
)
CONFIG = '[tool.tenantguard]\ntenant_column = "club_id"\nschema_paths = ["schema.sql"]\n'
DB = """def fetch(connection, query, params):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()
"""
CALL = "\n\nasync def run(query):\n    return await db.fetch(query)\n"
REPLACING = {
    "setattr": "import asyncpg\nfrom src import db\n\n\nasync def setup():\n"
    "    setattr(db, 'fetch', (await asyncpg.create_pool()).fetch)\n",
    "setattr_computed": "import asyncpg\nfrom src import db\n\nNAME = 'fe' + 'tch'\n\n\n"
    "async def setup():\n    setattr(db, NAME, (await asyncpg.create_pool()).fetch)\n",
    "vars": "import asyncpg\nfrom src import db\n\n\nasync def setup():\n"
    "    vars(db)['fetch'] = (await asyncpg.create_pool()).fetch\n",
    "dunder_dict": "import asyncpg\nfrom src import db\n\n\nasync def setup():\n"
    "    db.__dict__['fetch'] = (await asyncpg.create_pool()).fetch\n",
    "dotted_path": "import asyncpg\nfrom src import db\n\n\nasync def setup():\n"
    "    import src.db\n    src.db.fetch = (await asyncpg.create_pool()).fetch\n",
    "sys_modules": "import sys\nimport asyncpg\nfrom src import db\n\n\nasync def setup():\n"
    "    sys.modules[__name__].db = await asyncpg.create_pool()\n",
    "setattr_sys_modules": "import sys\nimport asyncpg\nfrom src import db\n\n\n"
    "async def setup():\n    setattr(sys.modules[__name__], 'db', await asyncpg.create_pool())\n",
}


@pytest.mark.parametrize("spelling", sorted(REPLACING))
def test_a_project_function_the_module_replaces_is_the_drivers(
    spelling: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = REPLACING[spelling] + CALL
    write_project(
        tmp_path, SCHEMA, CONFIG, {"src/__init__.py": "", "src/db.py": DB, "src/app.py": module}
    )
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    line = module.splitlines().index("    return await db.fetch(query)") + 1
    assert ("src/app.py", line, "TG009") in found, found


def test_a_module_that_replaces_nothing_calls_the_projects_wrapper(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safe twin: other objects' attributes set, `setattr` of another object, a name of the
    module object's that is not `db`."""
    module = (
        "import sys\nfrom src import db\n\n\nclass Holder:\n    pass\n\n\n"
        "def setup(holder, pool):\n    holder.fetch = pool.fetch\n"
        "    setattr(holder, 'fetch', pool.fetch)\n    sys.modules[__name__].other = pool\n"
        "\n\ndef run(conn, club_id):\n"
        "    return db.fetch(conn, 'SELECT amount FROM dues WHERE club_id = %s', (club_id,))\n"
    )
    write_project(
        tmp_path, SCHEMA, CONFIG, {"src/__init__.py": "", "src/db.py": DB, "src/app.py": module}
    )
    found = findings_of_check(tmp_path, capsys, monkeypatch)
    assert [f for f in found if f[0] == "src/app.py"] == [], found
