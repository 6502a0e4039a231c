"""Helper h32j on the Python reader after h32g: noise the h32g changes made on real shapes, and
leaks they missed.

- A class whose bases are not read (h32g, 0e91f52) marked each name its body defines as set
  from outside, for every class of the project: its own attributes included (`class
  BaseRepo(Generic[ModelT]): COUNT = "SELECT …"` with `ModelT = TypeVar(…)` read its own
  `self.COUNT` as TG009: `ModelT` is bound to a call), and every SQLAlchemy model of `Base =
  declarative_base()` unproved the same-named class attributes of every repository."""

from __future__ import annotations

import importlib
from pathlib import Path

import asyncpg
import pytest

from tests.project_files import (
    findings_of_check,
    import_fresh_bot,
    write_guild_project,
)

_found = findings_of_check
_project = write_guild_project

UNRESOLVED = '"SELECT name FROM tags WHERE guild_id = $1"[:21]'  # `SELECT name FROM tags`


# a class whose bases are not read: its own attributes, and classes that cannot be subclasses

REPO = (
    'class Repo:\n    SQL = "SELECT name FROM tags WHERE guild_id = $1"\n\n'
    "    async def tags(self, conn, guild_id):\n"
    "        return await conn.fetch(self.SQL, guild_id)\n"  # 5
)
OWN = (
    "    SQL = 'SELECT name FROM tags WHERE guild_id = $1'\n\n"
    "    async def tags(self, conn, guild_id):\n"
    "        return await conn.fetch(self.SQL, guild_id)\n"
)


@pytest.mark.parametrize(
    "files",
    [
        # a generic repository: `Generic[ModelT]` is no base bound to a call
        {
            "bot/generic.py": 'from typing import Generic, TypeVar\n\nModelT = TypeVar("ModelT")\n'
            "\n\nclass BaseRepo(Generic[ModelT]):\n" + OWN
        },
        # the class itself reads its own attribute: no base's value
        {
            "bot/admin.py": "from bot import repo\n\n\ndef pick():\n    return repo.Repo\n\n\n"
            "Base = pick()\n\n\nclass Admin(Base):\n" + OWN,
            "bot/repo.py": "class Repo:\n    pass\n",
        },
        # SQLAlchemy models: `declarative_base()` makes a class of SQLAlchemy's only
        {
            "bot/models.py": "from sqlalchemy import Column, Integer\n"
            "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n"
            "class Tag(Base):\n    __tablename__ = 'tags'\n    id = Column(Integer)\n"
            "    SQL = Column(Integer)\n    query = None\n",
            "bot/repo.py": REPO,
        },
    ],
    ids=["generic_repository", "own_attribute", "sqlalchemy_model"],
)
def test_a_class_of_unread_bases_does_not_unprove_what_it_cannot_override(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
) -> None:
    _project(tmp_path, files)
    assert _found(tmp_path, capsys, monkeypatch) == []


ADMIN_BODY = f"    SQL = {UNRESOLVED}\n"
OVERRIDERS = {
    # `declarative_base(cls=Repo)` makes a subclass of Repo
    "declarative_base_of_a_project_class": "from sqlalchemy.orm import declarative_base\n"
    "from bot.repo import Repo\n\nBase = declarative_base(cls=Repo)\n\n\nclass Admin(Base):\n",
    # a project function named so is not SQLAlchemy's
    "declarative_base_of_the_project": "from bot import repo\n\n\ndef declarative_base():\n"
    "    return repo.Repo\n\n\nBase = declarative_base()\n\n\nclass Admin(Base):\n",
    # what a base subscripts is left out, the base is not
    "subscripted_base": "from bot import repo\n\nBase = getattr(repo, 'Repo')\n\n\n"
    "class Admin(Base[int]):\n",
    # a class of the same name in another file is another class
    "same_name_elsewhere": "from bot import repo\n\nBase = getattr(repo, 'Repo')\n\n\n"
    "class Repo(Base):\n",
}


@pytest.mark.parametrize("header", OVERRIDERS.values(), ids=OVERRIDERS.keys())
def test_a_class_of_unread_bases_still_unproves_what_it_may_override(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    header: str,
) -> None:
    _project(tmp_path, {"bot/repo.py": REPO, "bot/admin.py": header + ADMIN_BODY})
    assert ("bot/repo.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)


async def test_a_same_named_subclass_elsewhere_sends_its_own_sql(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    guilds: str,
) -> None:
    header = OVERRIDERS["same_name_elsewhere"]
    body = "    SQL = 'SELECT name FROM tags WHERE guild_id = $1 OR TRUE'[:99]\n"
    _project(tmp_path, {"bot/repo.py": REPO, "bot/admin.py": header + body})
    assert ("bot/repo.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)
    import_fresh_bot(tmp_path, monkeypatch)
    admin = importlib.import_module("bot.admin")
    conn = await asyncpg.connect(guilds)
    try:
        rows = await admin.Repo().tags(conn, 1)
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


# an attribute the base sets on its instances in `__init__`, overridden by a class whose
# bases are not read: a class attribute with an `__init__` that leaves it unset, or its own
# `self.SQL = …` (a silent pass before h32j, the subclass index not following that base)

INIT_REPO = (
    "class Repo:\n    def __init__(self):\n"
    '        self.SQL = "SELECT name FROM tags WHERE guild_id = $1"\n\n'
    "    async def tags(self, conn, guild_id):\n"
    "        return await conn.fetch(self.SQL, guild_id)\n"  # 6
)
WIDE = "'SELECT name FROM tags WHERE guild_id = $1 OR TRUE'[:99]"
INIT_OVERRIDERS = {
    "class_attribute": f"    SQL = {WIDE}\n\n    def __init__(self):\n        pass\n",
    "own_init": f"    def __init__(self):\n        self.SQL = {WIDE}\n",
}


@pytest.mark.parametrize("body", INIT_OVERRIDERS.values(), ids=INIT_OVERRIDERS.keys())
async def test_an_instance_attribute_overridden_by_an_unread_subclass_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    guilds: str,
    body: str,
) -> None:
    header = "from bot import repo\n\nBase = getattr(repo, 'Repo')\n\n\nclass Admin(Base):\n"
    _project(tmp_path, {"bot/repo.py": INIT_REPO, "bot/admin.py": header + body})
    assert ("bot/repo.py", 6, "TG009") in _found(tmp_path, capsys, monkeypatch)
    import_fresh_bot(tmp_path, monkeypatch)
    admin = importlib.import_module("bot.admin")
    conn = await asyncpg.connect(guilds)
    try:
        rows = await admin.Admin().tags(conn, 1)
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


def test_an_instance_attribute_of_an_unread_subclass_itself_stays_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    own = (
        "from bot import repo\n\nBase = getattr(repo, 'Repo')\n\n\nclass Admin(Base):\n"
        + INIT_REPO.split("\n", 1)[1]
    )
    _project(tmp_path, {"bot/repo.py": "class Repo:\n    pass\n", "bot/admin.py": own})
    assert _found(tmp_path, capsys, monkeypatch) == []


# a module's namespace written by a key from data (the environment, a file): any name of it
# (h32g read only the names the writing file spells: every shape below passed silently)

CONSTANT = 'SQL = "SELECT name FROM tags WHERE guild_id = $1"\n'
READS_CONSTANT = (
    "from bot import q\n\n\nasync def tags(conn, guild_id):\n"
    "    return await conn.fetch(q.SQL, guild_id)\n"  # 5
)
ENV_WRITES = {
    "setattr_loop": "import os\n\nfrom bot import q\n\nfor k, v in os.environ.items():\n"
    "    if k.startswith('TG_'):\n        setattr(q, k[3:], v)\n",
    "setattr_dotted": "import os\n\nimport bot.q\n\nfor k, v in os.environ.items():\n"
    "    if k.startswith('TG_'):\n        setattr(bot.q, k[3:], v)\n",
    "vars_item": "import os\n\nimport bot.q as qq\n\nfor k in os.environ:\n"
    "    if k.startswith('TG_'):\n        vars(qq)[k[3:]] = os.environ[k]\n",
    "vars_update": "import os\n\nfrom bot import q\n\n"
    "vars(q).update({k[3:]: v for k, v in os.environ.items() if k.startswith('TG_')})\n",
    "dict_update": "import os\n\nfrom bot import q\n\n"
    "q.__dict__.update((k[3:], v) for k, v in os.environ.items() if k.startswith('TG_'))\n",
    "kept_dict": "import os\n\nfrom bot import q\n\nd = q.__dict__\nfor k in os.environ:\n"
    "    if k.startswith('TG_'):\n        d[k[3:]] = os.environ[k]\n",
}
# in the module itself: `globals()[k] = v`
OWN_GLOBALS = (
    "import os\n\nSQL = 'SELECT name FROM tags WHERE guild_id = $1'\n"
    "for k, v in os.environ.items():\n    if k.startswith('TG_'):\n        globals()[k[3:]] = v\n\n\n"
    "async def tags(conn, guild_id):\n    return await conn.fetch(SQL, guild_id)\n"  # 10
)


@pytest.mark.parametrize("write", ENV_WRITES.values(), ids=ENV_WRITES.keys())
async def test_a_module_written_by_keys_from_the_environment_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    guilds: str,
    write: str,
) -> None:
    files = {"bot/q.py": CONSTANT, "bot/settings.py": write, "bot/tags.py": READS_CONSTANT}
    _project(tmp_path, files)
    assert ("bot/tags.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)
    import_fresh_bot(tmp_path, monkeypatch)
    monkeypatch.setenv("TG_SQL", "SELECT name FROM tags WHERE guild_id = $1 OR TRUE")
    importlib.import_module("bot.settings")
    tags = importlib.import_module("bot.tags")
    conn = await asyncpg.connect(guilds)
    try:
        rows = await tags.tags(conn, 1)
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


async def test_a_module_writing_its_globals_by_keys_from_the_environment_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    guilds: str,
) -> None:
    _project(tmp_path, {"bot/tags.py": OWN_GLOBALS})
    assert ("bot/tags.py", 10, "TG009") in _found(tmp_path, capsys, monkeypatch)
    import_fresh_bot(tmp_path, monkeypatch)
    monkeypatch.setenv("TG_SQL", "SELECT name FROM tags WHERE guild_id = $1 OR TRUE")
    tags = importlib.import_module("bot.tags")
    conn = await asyncpg.connect(guilds)
    try:
        rows = await tags.tags(conn, 1)
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


@pytest.mark.parametrize(
    "write",
    [
        # another module's namespace (a settings module), the keys from the environment
        "import os\n\nfrom bot import config\n\nfor k, v in os.environ.items():\n"
        "    setattr(config, k, v)\n",
        # a parameter's namespace: not a module the file imports
        "def put(obj, k, v):\n    setattr(obj, k, v)\n",
        # a read of the namespace
        "from bot import q\n\nfor k in dir(q):\n    print(vars(q).get(k))\n",
    ],
    ids=["other_module", "parameter", "read"],
)
def test_a_namespace_write_that_cannot_reach_the_constant_leaves_it_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    write: str,
) -> None:
    files = {"bot/q.py": CONSTANT, "bot/config.py": "DEBUG = False\n", "bot/settings.py": write}
    _project(tmp_path, {**files, "bot/tags.py": READS_CONSTANT})
    assert _found(tmp_path, capsys, monkeypatch) == []


# `name in COLS.keys()` narrows the name to the dict's keys, as `name in COLS` does (it was
# TG009 at the f-string's hole: a false alarm on a whitelist of columns)

KEYS_TEMPLATE = (
    "COLS = {COLUMNS}\n\n\n"
    "async def tags(conn, guild_id, column):\n"
    "    if column in COLS.keys():\n"
    '        return await conn.fetch(f"SELECT name FROM tags WHERE {{column}} = $1", guild_id)\n'
    "    return []\n"
)


def test_a_name_in_a_dicts_keys_is_narrowed_to_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = KEYS_TEMPLATE.format(COLUMNS='{"guild_id": "the guild"}')
    _project(tmp_path, {"bot/tags.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == []


async def test_a_dicts_key_that_unpins_is_found_through_keys(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    guilds: str,
) -> None:
    source = KEYS_TEMPLATE.format(COLUMNS='{"guild_id": 1, "true OR guild_id": 2}')
    _project(tmp_path, {"bot/tags.py": source})
    assert ("bot/tags.py", 6, "TG001") in _found(tmp_path, capsys, monkeypatch)
    import_fresh_bot(tmp_path, monkeypatch)
    tags = importlib.import_module("bot.tags")
    conn = await asyncpg.connect(guilds)
    try:
        rows = await tags.tags(conn, 1, "true OR guild_id")
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


# a class's attributes written by a key from data: `setattr(Repo, k, v)` over the environment
# on a class the file imports (a silent pass after h32g: only spelt names were written)


@pytest.mark.parametrize(
    ("header", "target"),
    [("from bot.repo import Repo\n", "Repo"), ("from bot import repo\n", "repo.Repo")],
    ids=["imported_class", "through_its_module"],
)
async def test_a_class_written_by_keys_from_the_environment_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    guilds: str,
    header: str,
    target: str,
) -> None:
    settings = (
        f"import os\n\n{header}\nfor k, v in os.environ.items():\n    if k.startswith('TG_'):\n"
        f"        setattr({target}, k[3:], v)\n"
    )
    _project(tmp_path, {"bot/repo.py": REPO, "bot/settings.py": settings})
    assert ("bot/repo.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)
    import_fresh_bot(tmp_path, monkeypatch)
    monkeypatch.setenv("TG_SQL", "SELECT name FROM tags WHERE guild_id = $1 OR TRUE")
    importlib.import_module("bot.settings")
    repo = importlib.import_module("bot.repo")
    conn = await asyncpg.connect(guilds)
    try:
        rows = await repo.Repo().tags(conn, 1)
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


def test_another_class_written_by_keys_leaves_the_class_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = (
        "import os\n\nfrom bot import repo\n\n"
        "for k, v in os.environ.items():\n    setattr(repo.Settings, k, v)\n"
    )
    files = {"bot/repo.py": REPO + "\n\nclass Settings:\n    pass\n", "bot/settings.py": settings}
    _project(tmp_path, files)
    assert _found(tmp_path, capsys, monkeypatch) == []


# the same through a helper that sets its parameter's attributes, `def put(obj, k, v):
# setattr(obj, k, v)` (also through another helper that hands it on)

PUT = (
    "def put(obj, k, v):\n    setattr(obj, k, v)\n\n\n"
    "def put_all(target, pairs):\n    for k, v in pairs:\n        put(target, k, v)\n"
)
CALLERS = {
    "module": ("from bot import q\nfrom bot.helpers import put\n", "put(q, k[3:], v)", "tags"),
    "class_through_two_helpers": (
        "from bot import repo\nfrom bot.helpers import put_all\n",
        "put_all(repo.Repo, [(k[3:], v)])",
        "repo",
    ),
}


@pytest.mark.parametrize("caller", CALLERS.values(), ids=CALLERS.keys())
async def test_a_helper_that_sets_what_it_is_handed_by_keys_from_data_unproves_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    guilds: str,
    caller: tuple[str, str, str],
) -> None:
    imports, call, reader = caller
    settings = (
        f"import os\n\n{imports}\nfor k, v in os.environ.items():\n"
        f"    if k.startswith('TG_'):\n        {call}\n"
    )
    files = {"bot/q.py": CONSTANT, "bot/tags.py": READS_CONSTANT, "bot/repo.py": REPO}
    _project(tmp_path, {**files, "bot/helpers.py": PUT, "bot/settings.py": settings})
    assert (f"bot/{reader}.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)
    import_fresh_bot(tmp_path, monkeypatch)
    monkeypatch.setenv("TG_SQL", "SELECT name FROM tags WHERE guild_id = $1 OR TRUE")
    importlib.import_module("bot.settings")
    module = importlib.import_module(f"bot.{reader}")
    conn = await asyncpg.connect(guilds)
    try:
        if reader == "tags":
            rows = await module.tags(conn, 1)
        else:
            rows = await module.Repo().tags(conn, 1)
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


def test_a_helper_that_sets_another_objects_attributes_leaves_the_constant_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = (
        "import os\n\nfrom bot import config\nfrom bot.helpers import put\n\n"
        "for k, v in os.environ.items():\n    put(config, k, v)\n"
    )
    files = {"bot/q.py": CONSTANT, "bot/tags.py": READS_CONSTANT, "bot/config.py": "X = 1\n"}
    _project(tmp_path, {**files, "bot/helpers.py": PUT, "bot/settings.py": settings})
    assert _found(tmp_path, capsys, monkeypatch) == []
