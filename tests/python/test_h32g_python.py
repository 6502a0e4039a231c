"""Outside attack h32g on the Python reader: a module's list changed in place through another
name for it — in another module (`from q import PARTS as P; X = P; X.append(…)`, `x =
q.PARTS`), through a walrus, or through an attribute read into a local (`p = self.PARTS`) —
was read as the display it was built with: `"".join(PARTS)` sent `… WHERE guild_id = $1 OR
TRUE` (every guild's tags, shown on the server below) and `tenantguard check` passed
silently. The outside-changes scan followed only a change made by the list's own name."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tests.project_files import (
    findings_of_check,
    import_fresh_bot,
    write_guild_project,
)

_found = findings_of_check
_project = write_guild_project

QUERIES = 'PARTS = ["SELECT name FROM tags WHERE guild_id = $1"]\n'
SENDER = (
    "from bot.q import PARTS\n"
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    '    return await conn.fetch("".join(PARTS), guild_id)\n'  # 5
)
CHANGERS = {
    "import_as_then_alias": 'from bot.q import PARTS as P2\nX = P2\nX.append(" OR TRUE")\n',
    "module_attribute_alias": 'import bot.q as qq\nx = qq.PARTS\nx.append(" OR TRUE")\n',
    "local_alias_in_function": (
        'from bot.q import PARTS\n\n\ndef admin():\n    p = PARTS\n    p.append(" OR TRUE")\n'
    ),
    "walrus": 'from bot import q\n\n\ndef admin():\n    (p := q.PARTS).append(" OR TRUE")\n',
    "held_in_a_dict": 'from bot import q\nREG = {"p": q.PARTS}\nREG["p"].append(" OR TRUE")\n',
    "loop_over_a_list_of_it": (
        'from bot.q import PARTS\n\nfor parts in [PARTS]:\n    parts.append(" OR TRUE")\n'
    ),
    "either_of_two": (
        "from bot.q import PARTS\n\n\ndef admin(extra=None):\n    more = extra or PARTS\n"
        '    more.append(" OR TRUE")\n'
    ),
    "tuple_target": 'from bot import q\ny, x = 1, q.PARTS\nx.append(" OR TRUE")\n',
    "with_as": (
        "import contextlib\nfrom bot import q\n\nwith contextlib.nullcontext(q.PARTS) as x:\n"
        '    x.append(" OR TRUE")\n'
    ),
    "getattr": 'from bot import q\ngetattr(q, "PARTS").append(" OR TRUE")\n',
    "getattr_kept": 'from bot import q\nx = getattr(q, "PARTS")\nx.append(" OR TRUE")\n',
    "returned_in_its_module": (
        'from bot import q\n\n\ndef get():\n    return q.PARTS\n\n\nget().append(" OR TRUE")\n'
    ),
    "default_argument": (
        'from bot.q import PARTS\n\n\ndef admin(parts=PARTS):\n    parts.append(" OR TRUE")\n'
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGERS))
def test_a_list_changed_through_another_name_elsewhere_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    files = {"bot/q.py": QUERIES, "bot/admin.py": CHANGERS[change], "bot/tags.py": SENDER}
    _project(tmp_path, files)
    assert ("bot/tags.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)


@pytest.mark.parametrize(
    "copy",
    [
        'from bot.q import PARTS\nX = list(PARTS)\nX.append(" OR TRUE")\n',
        'from bot.q import PARTS\nX = [*PARTS]\nX.append(" OR TRUE")\n',
        'from bot.q import PARTS\nX = PARTS[:]\nX.append(" OR TRUE")\n',
        'from bot.q import PARTS\nX = PARTS + []\nX.append(" OR TRUE")\n',
        'from bot.q import PARTS\nX = [p for p in PARTS]\nX.append(" OR TRUE")\n',
        'from bot.q import PARTS\nX = PARTS.copy()\nX.append(" OR TRUE")\n',
        "from bot.q import PARTS\nX = len(PARTS)\nY = PARTS\nprint(Y)\n",
        'from bot.q import PARTS\nX, Y = list(PARTS), 1\nX.append(" OR TRUE")\n',
    ],
)
def test_a_copy_changed_leaves_the_list_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, copy: str
) -> None:
    files = {"bot/q.py": QUERIES, "bot/admin.py": copy, "bot/tags.py": SENDER}
    _project(tmp_path, files)
    assert _found(tmp_path, capsys, monkeypatch) == []


IN_MODULE = {
    "walrus": (
        'PARTS = ["SELECT name FROM tags WHERE guild_id = $1"]\n\n\ndef admin():\n'
        '    (x := PARTS).append(" OR TRUE")\n\n\nasync def tags(conn, guild_id):\n'
        '    return await conn.fetch("".join(PARTS), guild_id)\n'  # 9
    ),
    "class_attribute_read_into_a_local": (
        "class Tags:\n"
        '    PARTS = ["SELECT name FROM tags WHERE guild_id = $1"]\n\n'
        "    def widen(self):\n"
        "        p = self.PARTS\n"
        '        p.append(" OR TRUE")\n\n'
        "    async def tags(self, conn, guild_id):\n"
        '        return await conn.fetch("".join(self.PARTS), guild_id)\n'  # 9
    ),
}


@pytest.mark.parametrize("source", sorted(IN_MODULE))
def test_a_list_changed_through_another_name_in_its_module_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    _project(tmp_path, {"bot/tags.py": IN_MODULE[source]})
    assert ("bot/tags.py", 9, "TG009") in _found(tmp_path, capsys, monkeypatch)


# the leak itself: the program run against the server


async def test_the_changed_list_returns_another_guilds_tags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    files = {
        "bot/q.py": QUERIES,
        "bot/admin.py": CHANGERS["import_as_then_alias"],
        "bot/tags.py": SENDER,
    }
    _project(tmp_path, files)
    import_fresh_bot(tmp_path, monkeypatch)
    importlib.import_module("bot.admin")
    tags = importlib.import_module("bot.tags")
    conn = await asyncpg.connect(guilds)
    try:
        rows = await tags.tags(conn, 1)
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


# a list handed to a function of another module that changes that parameter

WIDEN = 'def widen(cols):\n    cols.append(" OR TRUE")\n'
SHOW = "def widen(cols):\n    print(cols)\n"
HANDS = "from bot.q import PARTS\nfrom bot.helpers import widen\n\nwiden(PARTS)\n"


@pytest.mark.parametrize(
    ("helpers", "hands"),
    [
        (WIDEN, HANDS),
        (
            "class Widener:\n    def widen(self, cols):\n        cols.extend([' OR TRUE'])\n",
            "from bot.q import PARTS\nfrom bot.helpers import Widener\n\nWidener().widen(PARTS)\n",
        ),
    ],
)
def test_a_list_handed_to_a_function_that_changes_it_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    helpers: str,
    hands: str,
) -> None:
    files = {"bot/q.py": QUERIES, "bot/helpers.py": helpers, "bot/admin.py": hands}
    _project(tmp_path, {**files, "bot/tags.py": SENDER})
    assert ("bot/tags.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)


def test_a_list_handed_to_a_function_that_reads_it_stays_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"bot/q.py": QUERIES, "bot/helpers.py": SHOW, "bot/admin.py": HANDS}
    _project(tmp_path, {**files, "bot/tags.py": SENDER})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_the_cache_sees_a_function_that_starts_to_change_the_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """tags.py proven and cached while widen() only reads; then widen() changes its
    parameter, tags.py and admin.py unchanged: the next run of tags.py alone says TG009."""
    files = {"bot/q.py": QUERIES, "bot/helpers.py": SHOW, "bot/admin.py": HANDS}
    _project(tmp_path, {**files, "bot/tags.py": SENDER})
    monkeypatch.chdir(tmp_path)
    main(["check", "--format", "json", "bot/tags.py"])
    assert json.loads(capsys.readouterr().out)["findings"] == []
    (tmp_path / "bot/helpers.py").write_text(WIDEN, encoding="utf-8")
    main(["check", "--format", "json", "bot/tags.py"])
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "TG009" in rules


# a function of another module that returns the list, its result changed

GETTER = "from bot import q\n\n\ndef get():\n    return q.PARTS\n"


@pytest.mark.parametrize(
    "changes",
    [
        'from bot.h import get\n\nget().append(" OR TRUE")\n',
        'from bot.h import get\n\nx = get()\nx.append(" OR TRUE")\n',
    ],
)
def test_a_list_a_function_of_another_module_returns_then_changed_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    changes: str,
) -> None:
    files = {"bot/q.py": QUERIES, "bot/h.py": GETTER, "bot/admin.py": changes}
    _project(tmp_path, {**files, "bot/tags.py": SENDER})
    assert ("bot/tags.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)


def test_a_copy_a_function_returns_changed_leaves_the_list_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    getter = GETTER.replace("return q.PARTS", "return list(q.PARTS)")
    changes = 'from bot.h import get\n\nget().append(" OR TRUE")\n'
    files = {"bot/q.py": QUERIES, "bot/h.py": getter, "bot/admin.py": changes}
    _project(tmp_path, {**files, "bot/tags.py": SENDER})
    assert _found(tmp_path, capsys, monkeypatch) == []


# a mutator reached another way, a function handing the list on, a view of a holder

WIDEN_BY_HAND = 'def widen(cols):\n    cols.append(" OR TRUE")\n\n\ndef loosen(x):\n    widen(x)\n'
OTHER_WAYS = {
    "getattr_method": 'from bot import q\ngetattr(q.PARTS, "append")(" OR TRUE")\n',
    "getattr_method_concatenated": (
        'from bot import q\nadd = getattr(q.PARTS, "ap" "pend")\nadd(" OR TRUE")\n'
    ),
    "methodcaller": (
        'import operator\nfrom bot import q\noperator.methodcaller("append", " OR TRUE")(q.PARTS)\n'
    ),
    "type_of": 'from bot import q\ntype(q.PARTS).append(q.PARTS, " OR TRUE")\n',
    "class_of": 'from bot import q\nq.PARTS.__class__.append(q.PARTS, " OR TRUE")\n',
    "lambda": 'from bot import q\nwiden = lambda cols: cols.append(" OR TRUE")\nwiden(q.PARTS)\n',
    "handed_through_two_functions": (
        "from bot.q import PARTS\nfrom bot.helpers import loosen\n\nloosen(PARTS)\n"
    ),
    "dict_values": (
        'from bot import q\nD = {"a": q.PARTS}\nfor v in D.values():\n    v.append(" OR TRUE")\n'
    ),
    "zip": (
        'from bot import q\nfor name, cols in zip(["a"], [q.PARTS]):\n    cols.append(" OR TRUE")\n'
    ),
    "next_iter": 'from bot import q\nnext(iter([q.PARTS])).append(" OR TRUE")\n',
}


@pytest.mark.parametrize("change", sorted(OTHER_WAYS))
def test_a_list_changed_another_way_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    files = {
        "bot/q.py": QUERIES,
        "bot/helpers.py": WIDEN_BY_HAND,
        "bot/admin.py": OTHER_WAYS[change],
    }
    _project(tmp_path, {**files, "bot/tags.py": SENDER})
    assert ("bot/tags.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)


@pytest.mark.parametrize(
    "read",
    [
        'from bot import q\nprint(getattr(q.PARTS, "count")(" OR TRUE"))\n',
        'from bot import q\nD = {"a": q.PARTS}\nfor v in D.values():\n    print(len(v))\n',
        "from bot.q import PARTS\nfrom bot.helpers import show\n\nshow(PARTS)\n",
        'from bot import q\nfor name, cols in zip(["a"], list(q.PARTS)):\n    print(cols)\n',
    ],
)
def test_a_list_only_read_those_ways_stays_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    helpers = WIDEN_BY_HAND + "\n\ndef show(x):\n    print(x)\n"
    files = {"bot/q.py": QUERIES, "bot/helpers.py": helpers, "bot/admin.py": read}
    _project(tmp_path, {**files, "bot/tags.py": SENDER})
    assert _found(tmp_path, capsys, monkeypatch) == []


# a module's constant written through its namespace by a key the file does not spell there

CONSTANT = 'SQL = "SELECT name FROM tags WHERE guild_id = $1"\n\n\ndef f():\n    pass\n'
READS_CONSTANT = (
    "from bot import q\n\n\nasync def tags(conn, guild_id):\n"
    "    return await conn.fetch(q.SQL, guild_id)\n"  # 5
)
# each rewrites it as `… WHERE guild_id = $1 OR TRUE`, with text that is no SQL
LOOSE = 'q.SQL + " OR TRUE"'
NAMESPACE_WRITES = {
    "vars_kept": f'from bot import q\nd = vars(q)\nd["SQL"] = {LOOSE}\n',
    "dict_kept_updated": f"from bot import q\nd = q.__dict__\nd.update(SQL={LOOSE})\n",
    "dict_kept_or": f'from bot import q\nd = q.__dict__\nd |= {{"SQL": {LOOSE}}}\n',
    "key_computed": f'from bot import q\nk = "SQL"\nvars(q)[k] = {LOOSE}\n',
    "globals_of_a_function": f'from bot import q\nq.f.__globals__["SQL"] = {LOOSE}\n',
    "globals_kept": f'from bot.q import f\ng = f.__globals__\ng.update({{"SQL": {LOOSE}}})\n',
    "setattr_computed_key": (
        f'from bot import q\nfor k, v in {{"SQL": {LOOSE}}}.items():\n    setattr(q, k, v)\n'
    ),
    "exec": 'from bot import q\nexec("SQL = " + repr(q.SQL + " OR TRUE"), vars(q))\n',
}


@pytest.mark.parametrize("write", sorted(NAMESPACE_WRITES))
def test_a_constant_written_through_a_namespace_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    write: str,
) -> None:
    files = {"bot/q.py": CONSTANT, "bot/admin.py": NAMESPACE_WRITES[write]}
    _project(tmp_path, {**files, "bot/tags.py": READS_CONSTANT})
    assert ("bot/tags.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)


@pytest.mark.parametrize(
    "read",
    [
        "from bot import q\nd = vars(q)\nprint(d['SQL'])\n",
        "from bot import q\nk = 'SQL'\nprint(vars(q)[k])\n",
        "from bot import q\nfor k in ('SQL',):\n    print(getattr(q, k))\n",
        "class C:\n    pass\n\n\nc = C()\nfor k, v in {'SQL': 1}.items():\n    setattr(c, k, v)\n",
    ],
)
def test_a_namespace_only_read_leaves_the_constant_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    files = {"bot/q.py": CONSTANT, "bot/admin.py": read}
    _project(tmp_path, {**files, "bot/tags.py": READS_CONSTANT})
    assert _found(tmp_path, capsys, monkeypatch) == []


async def test_a_constant_written_through_a_kept_namespace_returns_another_guilds_tags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guilds: str
) -> None:
    files = {"bot/q.py": CONSTANT, "bot/admin.py": NAMESPACE_WRITES["vars_kept"]}
    _project(tmp_path, {**files, "bot/tags.py": READS_CONSTANT})
    import_fresh_bot(tmp_path, monkeypatch)
    importlib.import_module("bot.admin")
    tags = importlib.import_module("bot.tags")
    conn = await asyncpg.connect(guilds)
    try:
        rows = await tags.tags(conn, 1)
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


# a query method kept in a container, or named to operator.methodcaller, called with SQL the
# reader cannot resolve: it was no sink at all (the literal case was only caught because its
# text read as SQL)

UNRESOLVED = '"SELECT name FROM tags WHERE guild_id = $1"[:21]'  # `SELECT name FROM tags`
KEPT_SINKS = {
    "dict": f'    ops = {{"f": conn.fetch}}\n    return await ops["f"]({UNRESOLVED})\n',
    "dict_get": f'    ops = {{"f": conn.fetch}}\n    return await ops.get("f")({UNRESOLVED})\n',
    "list": f"    ops = [conn.fetch]\n    return await ops[0]({UNRESOLVED})\n",
    "tuple": f"    ops = (conn.fetch, conn.execute)\n    return await ops[0]({UNRESOLVED})\n",
    "methodcaller": (
        f'    return await operator.methodcaller("fetch", {UNRESOLVED})(conn)\n    pass\n'
    ),
}


@pytest.mark.parametrize("kept", sorted(KEPT_SINKS))
def test_sql_sent_through_a_kept_query_method_is_checked(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kept: str,
) -> None:
    source = "import operator\n\n\nasync def tags(conn, guild_id):\n" + KEPT_SINKS[kept]
    _project(tmp_path, {"bot/tags.py": source})
    line = 6 if kept != "methodcaller" else 5
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/tags.py", line, "TG009")]


@pytest.mark.parametrize("kept", sorted(KEPT_SINKS))
def test_pinned_sql_through_a_kept_query_method_passes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kept: str,
) -> None:
    pinned = '"SELECT name FROM tags WHERE guild_id = $1", guild_id'
    source = "import operator\n\n\nasync def tags(conn, guild_id):\n" + KEPT_SINKS[kept]
    source = source.replace(UNRESOLVED, pinned)
    _project(tmp_path, {"bot/tags.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == []


async def test_a_query_method_kept_in_a_dict_sends_the_unpinned_sql(guilds: str) -> None:
    conn = await asyncpg.connect(guilds)
    try:
        ops = {"f": conn.fetch}
        rows = await ops["f"](eval(UNRESOLVED))  # the program's own expression
    finally:
        await conn.close()
    assert sorted(r["name"] for r in rows) == ["mine", "theirs"]


# `from q import *` where q's `__all__` is changed in place or made at run time

STAR_READER = (
    "from bot.q1 import SQL\nfrom bot.q2 import *\n\n\nasync def tags(conn, guild_id):\n"
    "    return await conn.fetch(SQL, guild_id)\n"  # 6
)
Q1 = 'SQL = "SELECT name FROM tags WHERE guild_id = $1"\n'
Q2_SQL = f"SQL = {UNRESOLVED}\nX = 1\n"  # `SELECT name FROM tags`, not resolved


@pytest.mark.parametrize(
    "exports",
    [
        '__all__ = ["X"]\n__all__.extend(["SQL"])\n',
        '__all__ = ["X"]\n__all__.append("SQL")\n',
        '__all__ = [n for n in ("X", "SQL")]\n',
    ],
)
def test_a_star_import_of_an_all_changed_at_run_time_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    exports: str,
) -> None:
    files = {"bot/q1.py": Q1, "bot/q2.py": exports + Q2_SQL, "bot/tags.py": STAR_READER}
    _project(tmp_path, files)
    assert ("bot/tags.py", 6, "TG009") in _found(tmp_path, capsys, monkeypatch)


def test_a_star_import_of_a_constant_all_keeps_the_earlier_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"bot/q1.py": Q1, "bot/q2.py": '__all__ = ["X"]\n' + Q2_SQL, "bot/tags.py": STAR_READER}
    _project(tmp_path, files)
    assert ("bot/tags.py", 6, "TG009") not in _found(tmp_path, capsys, monkeypatch)


# a subclass in another module whose base the reader does not read overrides the query

REPO = (
    'class Repo:\n    SQL = "SELECT name FROM tags WHERE guild_id = $1"\n\n'
    "    async def tags(self, conn, guild_id):\n"
    "        return await conn.fetch(self.SQL, guild_id)\n"  # 5
)
ADMIN_BODY = f"    SQL = {UNRESOLVED}\n"


@pytest.mark.parametrize(
    "header",
    [
        'from bot import repo\n\nBase = getattr(repo, "Repo")\n\n\nclass Admin(Base):\n',
        "from bot.repo import Repo\n\nBASES = (Repo,)\n\n\nclass Admin(*BASES):\n",
        "from bot import repo\n\n\ndef pick():\n    return repo.Repo\n\n\nBase = pick()\n\n\n"
        "class Admin(Base):\n",
    ],
)
def test_a_subclass_of_a_base_not_read_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    header: str,
) -> None:
    _project(tmp_path, {"bot/repo.py": REPO, "bot/admin.py": header + ADMIN_BODY})
    assert ("bot/repo.py", 5, "TG009") in _found(tmp_path, capsys, monkeypatch)


def test_a_class_of_a_base_read_leaves_the_others_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "class Base:\n    pass\n\n\nclass Other(Base):\n    SQL = 1\n"
    _project(tmp_path, {"bot/repo.py": REPO, "bot/other.py": other})
    assert _found(tmp_path, capsys, monkeypatch) == []


# a wrapper called without its SQL: the default it was made with is sent


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (
            f"async def run(conn, q={UNRESOLVED}):\n    return await conn.fetch(q)\n\n\n"
            "async def tags(conn):\n    return await run(conn)\n",
            1,
        ),
        (
            f"async def tags(conn):\n    run = lambda q={UNRESOLVED}: conn.fetch(q)\n"
            "    return await run()\n",
            2,
        ),
    ],
)
def test_a_computed_default_a_wrapper_sends_is_not_proven(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    line: int,
) -> None:
    _project(tmp_path, {"bot/tags.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/tags.py", line, "TG009")]


def test_a_wrapper_given_its_sql_or_a_constant_default_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        f"async def run(conn, g, q={UNRESOLVED}, limit=None):\n"
        "    return await conn.fetch(q, g)\n\n\n"
        "async def tags(conn, g):\n"
        '    return await run(conn, g, "SELECT name FROM tags WHERE guild_id = $1")\n'
    )
    _project(tmp_path, {"bot/tags.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == []


# found, not fixed (h32g): three shapes that passed silently, since fixed by h33e (a
# methodcaller kept in a name, a method stored into a module dict, a changing function
# handed to map()): tests/python/test_h33e_python.py
