"""SQL written in one file and sent from another must be said somewhere in every run: at the
written file when this run's check of it says it, else at the call (h39E, attacking s39's
`said_at_the_calls`).

s39 decided from the configuration whether the written file says a finding (the file among
the run's, the rule running there). A file can be among the run's and still not say it: a
Python module under the patch directory is read by the patch rules only. The tree then said
the unpinned `QUERY` nowhere, while the sender alone said it at the call. Now the calls say
what the run's reports of the written files do not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_h34H_newcomer import run, write

HANDLERS = (
    "from app.db.queries import QUERY\n\n\nasync def f(conn):\n    return await conn.fetch(QUERY)\n"
)


def _project(root: Path, config: str, pinned: bool = False) -> Path:
    write(root / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["patients"]\n' + config)
    write(root / "app/__init__.py", "")
    write(root / "app/db/__init__.py", "")
    sql = "SELECT * FROM patients" + (" WHERE tenant_id = $1" if pinned else "")
    write(root / "app/db/queries.py", f'QUERY = "{sql}"\n')
    write(root / "app/handlers.py", HANDLERS)
    return root


def _found(root: Path, *args: str) -> tuple[int, list[tuple[str, int, str]]]:
    result = run("check", "--format", "json", *args, cwd=root)
    document = json.loads(result.stdout)
    return result.returncode, [(f["path"], f["line"], f["rule"]) for f in document["findings"]]


@pytest.mark.parametrize("cache", [["--no-cache"], []], ids=["no-cache", "cache"])
@pytest.mark.parametrize(
    "paths", [["app"], ["app/handlers.py", "app/db/queries.py"]], ids=["tree", "both named"]
)
def test_a_constant_written_under_the_patch_directory_is_said_at_the_call(
    tmp_path: Path, cache: list[str], paths: list[str]
) -> None:
    root = _project(tmp_path / "p", 'patch_dir = "app/db"\n')
    for _ in range(2 if not cache else 1):
        assert _found(root, *cache, *paths) == (1, [("app/handlers.py", 5, "TG001")])
        assert _found(root, *cache, "app/handlers.py") == (1, [("app/handlers.py", 5, "TG001")])
    pinned = _project(tmp_path / "pinned", 'patch_dir = "app/db"\n', pinned=True)
    assert _found(pinned, "--no-cache", *paths) == (0, [])


BASE = (
    "class Repo:\n"
    '    table = "nothing"\n\n'
    "    def __init__(self, conn):\n"
    "        self.conn = conn\n\n"
    "    @property\n"
    "    def purge_sql(self):\n"
    '        return f"DELETE FROM {self.table} WHERE archived"\n'
)
SENDS = "\n    async def purge_now(self):\n        await self.conn.execute(self.purge_sql)\n"
ITEMS = 'from app.base import Repo\n\n\nclass ItemRepo(Repo):\n    table = "patients"\n'


def _repos(root: Path, items: str) -> Path:
    write(root / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    write(root / "app/__init__.py", "")
    write(root / "app/base.py", BASE)
    write(root / "app/items.py", items)
    return root


def test_an_f_string_of_a_base_class_sent_by_a_subclass_is_said_alone(tmp_path: Path) -> None:
    """`f"DELETE FROM {self.table} …"` in base.py, sent by items.py's own call with `table =
    "patients"`: the tree says it at base.py's f-string (line 9); s39 named items.py:5 (the
    field's text) as where it is written, items.py being checked: the run of items.py alone
    said "proven" (tests/fixtures/projects/h38D_inventory: invapp/repos/items.py); then said it
    at items.py:5, now where the tree does (s40: the base class checked for the subclass)."""
    root = _repos(tmp_path / "p", ITEMS + SENDS)
    assert _found(root, "--no-cache", "app") == (1, [("app/base.py", 9, "TG001")])
    # (s40: base.py is checked for items.py's sake, and says it where the tree does)
    assert _found(root, "--no-cache", "app/items.py") == (1, [("app/base.py", 9, "TG001")])
    both = _found(root, "--no-cache", "app/items.py", "app/base.py")
    assert both == (1, [("app/base.py", 9, "TG001")])


def test_a_subclass_filling_an_inherited_f_string_is_said_alone(tmp_path: Path) -> None:
    """items.py only fills `table = "patients"`; base.py's own method sends the f-string: the
    tree says it at base.py:12 (in SQL from app/items.py). A run of items.py alone (pre-commit,
    the field just written) said "proven" (h39E's strict xfail): the base class's file is now
    checked for it and its findings in SQL from items.py said, where the tree says them."""
    sends = "\n    async def purge(self):\n        await self.conn.execute(self.purge_sql)\n"
    root = _repos(tmp_path / "p", ITEMS)
    (root / "app/base.py").write_text(BASE + sends, encoding="utf-8")
    assert _found(root, "--no-cache", "app") == (1, [("app/base.py", 12, "TG001")])
    for cache in (["--no-cache"], [], []):  # cold, then the stored reports
        assert _found(root, *cache, "app/items.py") == (1, [("app/base.py", 12, "TG001")])
    # through a base between them, in a third file
    (root / "app/mid.py").write_text(
        "from app.base import Repo\n\n\nclass Mid(Repo):\n    pass\n", encoding="utf-8"
    )
    (root / "app/items.py").write_text(
        ITEMS.replace("app.base import Repo", "app.mid import Mid").replace("(Repo)", "(Mid)"),
        encoding="utf-8",
    )
    assert _found(root, "--no-cache", "app/items.py") == (1, [("app/base.py", 12, "TG001")])


def test_a_base_class_checked_for_a_subclass_says_only_what_the_subclass_fills(
    tmp_path: Path,
) -> None:
    """The twins: a subclass filling the f-string with a global table says nothing alone; a
    leak of the base class's own (not in SQL from items.py) is the base class's check's to say,
    not a run of items.py's."""
    sends = "\n    async def purge(self):\n        await self.conn.execute(self.purge_sql)\n"
    own = "\n    async def everyone(self):\n        return await self.conn.fetch('SELECT * FROM patients')\n"
    root = _repos(tmp_path / "p", ITEMS.replace('"patients"', '"countries"'))
    (root / "app/base.py").write_text(BASE + sends + own, encoding="utf-8")
    assert _found(root, "--no-cache", "app") == (1, [("app/base.py", 15, "TG001")])
    assert _found(root, "--no-cache", "app/items.py") == (0, [])
    (root / "app/items.py").write_text(ITEMS, encoding="utf-8")
    assert _found(root, "--no-cache", "app/items.py") == (1, [("app/base.py", 12, "TG001")])


USES = (
    "from app import queries\n"
    "from app.repos import OPEN\n\n\n"
    "async def f(conn, t):\n"
    "    await conn.fetch(queries.OPEN, t)\n"
    '    return await conn.fetch(OPEN + " OR urgent", t)\n'
)


def test_a_module_checked_with_its_dependents_says_what_its_importers_send(
    tmp_path: Path,
) -> None:
    """app/queries.py's OPEN, re-exported by app/repos/__init__.py, completed at a call of
    app/use.py (`OPEN + " OR urgent"`): the tree says it at that call (in SQL from
    app/queries.py). pre-commit's run of queries.py alone (`--check-dependents`, the hook's
    flag) checks the modules importing it, directly or through a package, for it: said there;
    a plain run of the file checks that file (s40)."""
    root = tmp_path / "p"
    write(root / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["leads"]\n')
    write(root / "app/__init__.py", "")
    write(root / "app/queries.py", 'OPEN = "SELECT * FROM leads WHERE tenant_id = $1 AND open"\n')
    write(root / "app/repos/__init__.py", "from app.queries import OPEN\n\n__all__ = ['OPEN']\n")
    write(root / "app/use.py", USES)
    write(root / "app/other.py", 'OTHER = "SELECT * FROM leads"  # its own leak\n')
    tree = [("app/other.py", 1, "TG001"), ("app/use.py", 7, "TG001")]
    assert _found(root, "--no-cache", "app") == (1, tree)
    assert _found(root, "--no-cache", "--check-dependents", "app/queries.py") == (1, tree[1:])
    assert _found(root, "--no-cache", "app/queries.py") == (0, [])
    # the twin: completed with a pinned clause, nothing to say anywhere but other.py
    write(root / "app/use.py", USES.replace(" OR urgent", " AND urgent"))
    assert _found(root, "--no-cache", "--check-dependents", "app/queries.py") == (0, [])
