"""SQL inside Python: positions inside literals, values of names, wrappers, bad input.

The fixture files (tests/fixtures/python, tests/fixtures/projects) hold the real shapes; these
tests pin the pieces: the literal scanner against the tokenizer's values, the flow of values
through loops, handlers and imports, and inputs built to break the walk.
"""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantguard.cli import main
from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.pyflow import ProjectIndex, analyze_module
from tenantguard.sources.pystrings import constant_pieces, fstring_pieces
from tenantguard.sources.python import check_python_text

POLICY = Policy("tenant_id", ["patients", "leads"])


def findings(source: str, **options: object) -> list[tuple[int, int, str]]:
    found, _, _ = check_python_text(source, Analyzer(POLICY), **options)  # type: ignore[arg-type]
    return sorted((f.line, f.column, f.code) for f in found)


def codes(source: str) -> list[tuple[int, str]]:
    return [(line, code) for line, _, code in findings(source)]


# positions inside literals


_TEXT = st.text(alphabet=st.sampled_from(list("ab {}'\"\\\nñ$%")), max_size=12)


@st.composite
def literal_source(draw: st.DrawFn) -> str:
    """A Python expression: literals of every kind, implicitly concatenated over lines."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        text = draw(_TEXT)
        prefix = draw(st.sampled_from(["", "r", "f", "rf", "u"]))
        quote = draw(st.sampled_from(['"', "'", '"""', "'''"]))
        if "f" in prefix:
            text = text.replace("{", "{{").replace("}", "}}")
            if draw(st.booleans()):
                text += "{x}"
        body = repr(text)[1:-1] if "r" not in prefix else text
        if "r" in prefix and (text.endswith("\\") or quote[0] in text or "\n" in text):
            prefix, body = prefix.replace("r", ""), repr(text)[1:-1]
        parts.append(f"{prefix}{quote}{body}{quote}")
    return "(\n    " + "\n    ".join(parts) + "\n)"


@settings(max_examples=300, deadline=None)
@given(literal_source())
def test_literal_pieces_match_the_value_and_the_source(expression: str) -> None:
    source = f"ñ = {expression}\n"
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    node = tree.body[0].value  # type: ignore[attr-defined]
    if not isinstance(node, ast.Constant | ast.JoinedStr):
        return  # the pieces joined into something else (`''%''` is `'' % ''`): not a literal
    lines = source.splitlines(keepends=True)
    if isinstance(node, ast.Constant):
        positions = constant_pieces(lines, node)
        value = node.value
    else:
        assert isinstance(node, ast.JoinedStr)
        positions, starts = fstring_pieces(lines, node)
        constants = [str(v.value) for v in node.values if isinstance(v, ast.Constant)]
        value = "".join(constants)
        assert starts == [sum(len(c) for c in constants[:i]) for i in range(len(constants))]
    assert "".join(p.text for p in positions.pieces) == value
    for piece in positions.pieces:
        if piece.exact:
            line = lines[piece.line - 1]
            start = piece.column - 1
            first_line = piece.text.split("\n", 1)[0]
            assert line[start : start + len(first_line)] == first_line


def test_finding_inside_a_multiline_implicit_concatenation() -> None:
    source = (
        "async def f(conn):\n"
        "    await conn.fetch(\n"
        "        'SELECT id '\n"
        "        f'FROM leads '\n"
        '        """WHERE\n'
        '           name = $1"""\n'
        "    )\n"
    )
    assert findings(source) == [(4, 16, "TG001")]


def test_escapes_point_at_the_literal() -> None:
    # the text around an escape keeps its place (round 23: the literal's start was given)
    assert findings("async def f(c):\n    await c.fetch('SELECT\\t* FROM leads')\n") == [
        (2, 35, "TG001")
    ]
    source = "async def f(c):\n    await c.fetch('SELECT \\u00e9\\n\\x41, id FROM leads')\n"
    assert findings(source) == [(2, 49, "TG001")]


def test_non_ascii_before_the_literal() -> None:
    source = "async def f(c):\n    ñandú = 'SELECT * FROM leads'; await c.fetch(ñandú)\n"
    assert findings(source) == [(2, 28, "TG001")]


# values of names


def test_a_loop_that_grows_a_string_is_unknown_after_some_rounds() -> None:
    source = (
        "async def f(conn, parts):\n"
        "    query = 'SELECT * FROM leads WHERE tenant_id = $1'\n"
        "    for part in parts:\n"
        "        query += ' AND x = 1'\n"
        "    await conn.fetch(query)\n"
    )
    assert codes(source) == [(5, "TG009")]


def test_a_while_true_loop_leaves_only_by_break() -> None:
    source = (
        "async def f(conn):\n"
        "    query = 'SELECT * FROM leads'\n"
        "    while True:\n"
        "        query = 'SELECT * FROM leads WHERE tenant_id = $1'\n"
        "        break\n"
        "    await conn.fetch(query)\n"
    )
    assert codes(source) == [(2, "TG001")]  # the leaky value is free: checked where it stands


def test_return_ends_a_branch() -> None:
    source = (
        "async def f(conn, flag):\n"
        "    if flag:\n"
        "        query = 'SELECT * FROM leads WHERE tenant_id = $1'\n"
        "    else:\n"
        "        return\n"
        "    await conn.fetch(query)\n"
    )
    assert codes(source) == []


def test_match_cases_are_branches() -> None:
    source = (
        "async def f(conn, kind):\n"
        "    match kind:\n"
        "        case 'a':\n"
        "            query = 'SELECT * FROM leads WHERE tenant_id = $1'\n"
        "        case _:\n"
        "            query = 'SELECT * FROM patients'\n"
        "    await conn.fetch(query)\n"
    )
    assert codes(source) == [(6, "TG001")]


def test_a_name_assigned_a_call_is_unknown_at_the_call_site() -> None:
    source = "async def f(conn):\n    query = build()\n    await conn.fetch(query)\n"
    found, _, _ = check_python_text(source, Analyzer(POLICY))
    assert [(f.line, f.code) for f in found] == [(3, "TG009")]
    assert "`build()` is computed at run time" in found[0].message


def test_self_referencing_constants_do_not_loop() -> None:
    source = "A = B\nB = A\nasync def f(conn):\n    await conn.fetch(A + B)\n"
    assert codes(source) == [(4, "TG009")]


def test_percent_and_format_with_constants() -> None:
    source = (
        "T = 'leads'\n"
        "async def f(conn, t):\n"
        "    await conn.fetch('SELECT * FROM %s WHERE tenant_id = $1' % T, t)\n"
        "    await conn.fetch('SELECT * FROM {} WHERE id = $1'.format(T), t)\n"
        "    await conn.fetch('SELECT * FROM {t}'.format(t='patients'))\n"
        "    await conn.fetch(' '.join(['SELECT *', 'FROM', T]))\n"
    )
    found, _, _ = check_python_text(source, Analyzer(POLICY))
    # the table's name is written on line 1, sent by two calls: one finding at each call
    # (round 23: two findings on line 1 were), saying where the name is written
    assert sorted((f.line, f.code, f.help.endswith(")")) for f in found) == [
        (4, "TG001", True),
        (5, "TG001", False),
        (6, "TG001", True),
    ]
    assert {f.help[-40:] for f in found if f.line != 5} == {
        "(the text it flags is written at line 1)"
    }
    assert all(f.message.endswith("is not pinned to one tenant") for f in found)


def test_format_with_an_unknown_field_is_a_hole_not_a_guess() -> None:
    source = "async def f(conn, w):\n    await conn.fetch('SELECT * FROM leads {}'.format(w))\n"
    assert codes(source) == [(2, "TG001"), (2, "TG009")]


# wrappers


def test_wrapper_forms() -> None:
    source = (
        "class Db:\n"
        "    @staticmethod\n"
        "    async def run(conn, sql):\n"
        "        return await conn.execute(sql)\n"
        "    @classmethod\n"
        "    async def one(cls, conn, sql):\n"
        "        return await conn.fetchrow(sql)\n"
        "async def f(conn):\n"
        "    await Db.run(conn, 'DELETE FROM leads')\n"
        "    await Db.one(conn, sql='SELECT * FROM patients')\n"
        "    await Db.run(conn, *['x'])\n"
    )
    # the SQL of an unpacked call is not seen: TG009 there (round 19)
    assert codes(source) == [(9, "TG001"), (10, "TG001"), (11, "TG009")]


def test_mutually_recursive_wrappers_terminate() -> None:
    source = (
        "async def a(conn, sql, n):\n"
        "    return await b(conn, sql, n) if n else await conn.fetch(sql)\n"
        "async def b(conn, sql, n):\n"
        "    return await a(conn, sql, n - 1)\n"
        "async def c(conn):\n"
        "    await b(conn, 'SELECT * FROM leads', 2)\n"
    )
    assert codes(source) == [(6, "TG001")]


def test_mutually_recursive_wrappers_whatever_is_asked_first() -> None:
    """Whether `b` is a wrapper does not depend on whether `a` was asked about before it."""
    wrappers = (
        "async def a(conn, sql, n):\n"
        "    if n:\n"
        "        return await b(conn, sql, n - 1)\n"
        "    return await conn.fetch(sql)\n"
        "async def b(conn, sql, n):\n"
        "    return await a(conn, sql, n)\n"
    )
    leak = "async def g(conn):\n    await b(conn, 'SELECT * FROM ' + 'leads', 2)\n"
    first = "async def f(conn):\n    await a(conn, 'SELECT * FROM leads WHERE tenant_id = $1', 1)\n"
    assert codes(leak + wrappers) == [(2, "TG001")]
    assert codes(first + leak + wrappers) == [(4, "TG001")]
    assert codes(leak + first + wrappers) == [(2, "TG001")]


def test_a_wrapper_of_an_uncertain_sink_checks_what_reads_as_sql() -> None:
    source = (
        "def run(executor, job):\n"
        "    return executor.execute(job)\n"
        "def f(executor, job):\n"
        "    run(executor, 'SELECT * FROM leads')\n"
        "    run(executor, job)\n"
        "    run(executor, 'query { leads { id } }')\n"
    )
    assert codes(source) == [(4, "TG001")]


# bad input: never a traceback, never a silent pass


def test_a_very_long_concatenation(tmp_path: Path) -> None:
    parts = " + ".join(["'SELECT * FROM leads '"] + ["' '"] * 900)
    source = f"async def f(conn):\n    await conn.fetch({parts})\n"
    started = time.perf_counter()
    assert codes(source) == [(2, "TG001")]
    assert time.perf_counter() - started < 30  # a bound on runaway work, not a benchmark
    parts = " + ".join(["'SELECT * FROM leads '"] + ["' '"] * 5000)  # beyond Python's parser
    source = f"async def f(conn):\n    await conn.fetch({parts})\n"
    assert codes(source) == [(1, "TG006")]


def test_deeply_nested_conditionals_are_unknown_not_a_crash() -> None:
    expression = "'SELECT * FROM leads'"
    for index in range(70):
        expression = f"(a{index} if c{index} else {expression})"
    source = f"async def f(conn):\n    await conn.fetch({expression})\n"
    found, _, _ = check_python_text(source, Analyzer(POLICY))
    # the call's SQL is unknown; the leaky constant is still checked where it stands
    assert sorted(f.code for f in found) == ["TG001", "TG009"]


def test_many_alternatives_are_capped() -> None:
    lines = ["async def f(conn, " + ", ".join(f"c{i}" for i in range(8)) + "):"]
    lines.append("    q = 'SELECT * FROM leads WHERE tenant_id = $1'")
    for index in range(8):
        lines.append(f"    if c{index}:\n        q += ' AND a{index} = 1'")
    lines.append("    await conn.fetch(q)")
    found, _, _ = check_python_text("\n".join(lines) + "\n", Analyzer(POLICY))
    assert [f.code for f in found] == ["TG009"]
    assert "more than 128 different values" in found[0].message


def test_import_cycles_and_self_bases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tenantguard.toml").write_text('tenant_tables = ["leads"]\n', encoding="utf-8")
    (tmp_path / "a.py").write_text(
        "from b import B\nA = B\nclass K(K):\n    pass\n"
        "async def f(conn):\n    await conn.fetch(A)\n",
        encoding="utf-8",
    )
    (tmp_path / "b.py").write_text("from a import A\nB = A\n", encoding="utf-8")
    code = main(["check", "--format", "json", str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [f["rule"] for f in out["findings"]] == ["TG009"]


def test_index_reads_each_module_once(tmp_path: Path) -> None:
    (tmp_path / "q.py").write_text("X = 'SELECT * FROM leads'\n", encoding="utf-8")
    index = ProjectIndex([str(tmp_path / "q.py")])
    user = "from q import X\nasync def f(c):\n    await c.fetch(X)\n"
    for _ in range(3):
        analyze_module(user, ast.parse(user), index, path=str(tmp_path / "u.py"))
    first = index.module(str(tmp_path / "q.py"))
    assert first is index.module(str(tmp_path / "q.py"))


def test_query_builders_are_not_sql_text() -> None:
    source = (
        "import sqlalchemy as sa\n"
        "from sqlalchemy import select, text\n"
        "async def f(session, conn, User):\n"
        "    await session.execute(select(User).where(User.id == 1).limit(1))\n"
        "    await conn.execute(sa.update(User).values(name='x'))\n"
        "    await session.execute(text('SELECT * FROM leads'))\n"
        "    await conn.execute(make_statement())\n"
    )
    assert codes(source) == [(6, "TG001"), (7, "TG009")]


# values reach the call only along real paths: fragments that are not SQL alone make the
# difference visible (a whole constant would also be checked where it stands)


def test_each_branch_of_an_if_reaches_the_call() -> None:
    for leaky in ("then", "else"):
        then_clause, else_clause = (
            ("' WHERE id = $1'", "' WHERE tenant_id = $1'")
            if leaky == "then"
            else ("' WHERE tenant_id = $1'", "' WHERE id = $1'")
        )
        source = (
            "async def f(conn, flag):\n"
            "    query = 'SELECT * FROM leads'\n"
            "    if flag:\n"
            f"        query += {then_clause}\n"
            "    else:\n"
            f"        query += {else_clause}\n"
            "    await conn.fetch(query)\n"
        )
        assert codes(source) == [(2, "TG001")], leaky


def test_a_loop_body_sees_what_the_previous_iteration_left() -> None:
    source = (
        "async def f(conn, items):\n"
        "    base = 'SELECT * FROM leads'\n"
        "    query = base + ' WHERE tenant_id = $1'\n"
        "    for item in items:\n"
        "        await conn.fetch(query, item)\n"
        "        query = base\n"
    )
    found, _, _ = check_python_text(source, Analyzer(POLICY))
    assert [(f.line, f.code) for f in found] == [(2, "TG001")]
    assert "(this SQL is sent by .fetch() at line 5)" in found[0].help


def test_a_handler_sees_any_assignment_of_the_try_body() -> None:
    source = (
        "async def f(conn):\n"
        "    query = 'SELECT * FROM leads'\n"
        "    clause = ' WHERE tenant_id = $1'\n"
        "    try:\n"
        "        clause = ' WHERE id = $1'\n"
        "        await something()\n"
        "        clause = ' WHERE tenant_id = $1'\n"
        "    except ValueError:\n"
        "        await conn.fetch(query + clause)\n"
    )
    assert codes(source) == [(2, "TG001")]


def test_methods_of_prepared_statements_and_cursors_take_values() -> None:
    source = (
        "async def f(conn, rows):\n"
        "    stmt = await conn.prepare('SELECT * FROM leads WHERE tenant_id = $1')\n"
        "    await stmt.fetchval(rows[0]['tenant_id'])\n"
        "    cur = await conn.cursor('SELECT * FROM leads WHERE tenant_id = $1', rows[0])\n"
        "    await cur.fetch(batch_size())\n"
        "    await (await conn.prepare('SELECT 1')).fetchrow(rows[1])\n"
        "    await conn.fetchval(rows[2])\n"
    )
    assert codes(source) == [(7, "TG009")]


def test_log_and_error_messages_are_prose_even_when_they_parse() -> None:
    source = (
        "import logging\n"
        "log = logging.getLogger(__name__)\n"
        "async def f(lead_id):\n"
        "    log.debug('DELETE FROM leads WHERE id = %s', lead_id)\n"
        "    self.logger.info(f'SELECT * FROM patients WHERE id = {lead_id}')\n"
        "    print('SELECT * FROM patients')\n"
        "    raise LookupError('SELECT * FROM leads')\n"
        "QUERY = 'SELECT * FROM leads'\n"
    )
    assert codes(source) == [(8, "TG001")]


def test_a_method_guessed_by_its_name_on_an_object_that_is_not_a_database() -> None:
    source = (
        "class Repo:\n"
        "    async def get(self, query):\n"
        "        return await self.conn.fetch(query)\n"
        "async def f(cache, db, key, built):\n"
        "    cache.get(make_key())\n"
        "    cache.get('SELECT * FROM leads')\n"
        "    await db.get(built.sql())\n"
        "    await cache.get(f'SELECT * FROM leads WHERE id = {key}')\n"
    )
    # `cache.get(key)` is most likely a dict: only what reads as SQL is checked there
    assert codes(source) == [(6, "TG001"), (7, "TG009"), (8, "TG001"), (8, "TG009")]


def test_conversions_make_values_known_at_run_time() -> None:
    source = (
        "async def f(conn, t, name):\n"
        "    await conn.fetch('SELECT * FROM leads WHERE tenant_id = %d' % t)\n"
        "    await conn.fetch('SELECT * FROM leads WHERE name = %r' % (name,))\n"
        "    await conn.fetch('SELECT * FROM leads WHERE tenant_id = %r' % ('x',))\n"
        "    await conn.fetch('SELECT * FROM leads WHERE tenant_id = {:d}'.format(t))\n"
    )
    # a value in place of the tenant pins (the unknown text is TG009); a name does not; a
    # constant converted is the text Python makes (`%r` of 'x': the literal 'x'); `%d` writes
    # digits and a minus whatever it is given (or raises): one number, as `{int(t)}` is
    assert codes(source) == [(3, "TG001"), (3, "TG009"), (5, "TG009")]


# the same file, the same findings, whatever the index read before


ORDER_PROJECT = {
    "queries.py": (
        "try:\n"  # a handler at module level: the names bound after it are still the module's
        "    import ujson as json\n"
        "except ImportError:\n"
        "    import json\n"
        "import wrappers\n"
        "BASE = 'SELECT * FROM leads'\n"
        "PINNED = BASE + ' WHERE tenant_id = $1'\n"
        "async def count(conn, t):\n"
        "    await wrappers.send(conn, 'SELECT count(*) FROM ' + 'leads WHERE tenant_id = $1', t)\n"
        "async def relay(conn, sql):\n"  # reads wrappers.send once wrappers' body has run
        "    sender = wrappers.send\n"
        "    return await sender(conn, sql)\n"
    ),
    "wrappers.py": (
        "from queries import BASE, PINNED\n"
        "DEFAULT = PINNED + ' ORDER BY id'\n"  # reads queries while this body runs
        "async def send(conn, sql, retry=1):\n"
        "    if retry:\n"
        "        return await again(conn, sql, retry - 1)\n"
        "    return await conn.fetch(sql)\n"
        "async def again(conn, sql, retry):\n"
        "    return await send(conn, sql, retry)\n"
        "class Store:\n"
        "    async def run_query(self, sql, *args):\n"
        "        return await self.pool.fetch(sql, *args)\n"
        "    async def everything(self):\n"
        "        return await self.pool.fetch(BASE)\n"
    ),
    "users.py": (
        "from wrappers import DEFAULT, again\n"
        "from queries import BASE\n"
        "async def f(db, conn, t):\n"
        "    await again(conn, 'SELECT * FROM ' + 'leads', 0)\n"
        "    await db.run_query(DEFAULT, t)\n"
        "    await db.run_query(BASE + ' WHERE id = $1', t)\n"
    ),
    "late.py": (
        "import queries, wrappers\n"
        "async def g(db, conn, t):\n"
        "    await wrappers.send(conn, queries.BASE)\n"
        "    await db.run_query(wrappers.DEFAULT, t)\n"
        "    await db.run_query('SELECT id FROM ' + 'leads', t)\n"
        "    await queries.relay(conn, 'SELECT name FROM ' + 'leads')\n"
    ),
}


Checked = dict[str, list[tuple[int, int, str, str, str, str]]]


def checked_in_every_order(tmp_path: Path, sources: dict[str, str]) -> Checked:
    """Each file's findings with an index of its own; asserted equal to those of every order
    of checking the files with one index (as one process does)."""
    import itertools

    paths = {}
    for name, text in sources.items():
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    project = sorted(str(p) for p in paths.values())
    analyzer = Analyzer(POLICY)

    def check(name: str, index: ProjectIndex) -> list[tuple[int, int, str, str, str]]:
        found, _, _ = check_python_text(sources[name], analyzer, path=str(paths[name]), index=index)
        # (those said where their SQL is written, `read_from`, apart: "sent" to that file)
        return sorted(
            (f.line, f.column, f.code, f.message, f.help, f.read_from and "sent") for f in found
        )

    alone = {n: check(n, ProjectIndex(project, root=str(tmp_path))) for n in sources}
    for order in itertools.permutations(sources):
        index = ProjectIndex(project, root=str(tmp_path))
        assert {n: check(n, index) for n in order} == alone, order
    return alone


def test_findings_do_not_depend_on_what_the_index_read_before(tmp_path: Path) -> None:
    alone = checked_in_every_order(tmp_path, ORDER_PROJECT)
    found = {n: [(line, code, sent) for line, _, code, _, _, sent in f] for n, f in alone.items()}
    assert found == {
        "queries.py": [(6, "TG001", "")],
        # BASE, sent as it is (wrappers.py:13, late.py:3): reported where it is written
        # (sent: said at the call only by a run that does not check queries.py, s39)
        "wrappers.py": [(13, "TG001", "sent")],
        "users.py": [(4, "TG001", ""), (6, "TG001", "")],  # again() reaches fetch() via send()
        "late.py": [(3, "TG001", "sent"), (5, "TG001", ""), (6, "TG001", "")],
    }
    assert alone["users.py"][1][3].endswith("(in SQL from queries.py)")  # the project's path


def test_a_constant_that_comes_back_through_another_module_is_the_files_own(
    tmp_path: Path,
) -> None:
    """`entry` gives BASE to `cyc`, which builds Q from it (Python runs this when entry is
    imported first): in entry's check, the text of BASE is entry's own (found inside the
    string), whether cyc was read before or not."""
    alone = checked_in_every_order(
        tmp_path,
        {
            "entry.py": (
                "BASE = 'SELECT * FROM leads'\n"
                "from cyc import Q\n"
                "async def f(conn):\n"
                "    await conn.fetch(Q)\n"
            ),
            "cyc.py": "from entry import BASE\nQ = BASE + ' WHERE id = $1'\n",
        },
    )
    assert alone["entry.py"] == [
        (
            1,
            23,
            "TG001",
            "leads in the SELECT statement is not pinned to one tenant",
            "add `leads.tenant_id = $n` to the WHERE of the SELECT statement "
            "(this SQL is sent by .fetch() at line 4)",
            "",
        )
    ]


def test_functions_that_cannot_be_followed_fail_every_check_that_needs_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module whose function bodies cannot be followed (nested beyond the interpreter's
    stack) fails closed for every file that asks whether its functions are wrappers, not only
    for the first one (a later one would be told: no wrapper, no SQL)."""
    from tenantguard.sources.pyflow.walker import _Walker

    (tmp_path / "deep.py").write_text(
        "async def run(conn, sql):\n    return await conn.fetch(sql)\n", encoding="utf-8"
    )
    users = {
        name: f"from deep import run\nasync def {name}(conn):\n"
        "    await run(conn, 'SELECT * FROM ' + 'leads')\n"
        for name in ("a", "b")
    }
    original = _Walker.run_functions

    def overflow(self: _Walker) -> None:
        if self.module.path == str(tmp_path / "deep.py"):
            raise RecursionError
        original(self)

    monkeypatch.setattr(_Walker, "run_functions", overflow)
    index = ProjectIndex([str(tmp_path / "deep.py")], root=str(tmp_path))
    for name, text in users.items():
        found, _, _ = check_python_text(
            text, Analyzer(POLICY), path=str(tmp_path / f"{name}.py"), index=index
        )
        assert [(f.code, f.message.split(" (")[0]) for f in found] == [
            ("TG006", "cannot follow the values of this file")
        ], name


def test_instance_attributes_that_cannot_be_followed_fail_every_check_that_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for `self.X` set in a base class's methods: no half-read answer is kept."""
    (tmp_path / "base.py").write_text(
        "class Base:\n    def __init__(self):\n        self.Q = 'SELECT * FROM leads'\n",
        encoding="utf-8",
    )
    users = {
        name: f"from base import Base\nclass {name.upper()}(Base):\n"
        "    async def f(self, conn):\n        await conn.fetch(self.Q)\n"
        for name in ("a", "b")
    }
    original = ProjectIndex._assign_instance

    def overflow(self: ProjectIndex, info: object, assigned: dict[str, object]) -> None:
        if getattr(info, "name", "") == "Base":
            raise RecursionError
        original(self, info, assigned)  # type: ignore[arg-type]

    monkeypatch.setattr(ProjectIndex, "_assign_instance", overflow)
    index = ProjectIndex([str(tmp_path / "base.py")], root=str(tmp_path))
    for name, text in users.items():
        found, _, _ = check_python_text(
            text, Analyzer(POLICY), path=str(tmp_path / f"{name}.py"), index=index
        )
        assert [f.code for f in found] == ["TG006"], name


def test_a_module_that_cannot_be_followed_fails_every_check_that_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module whose body cannot be followed is not kept half-read for the next importer."""
    from tenantguard.sources.pyflow.walker import _Walker

    (tmp_path / "q.py").write_text("A = 'SELECT * FROM leads'\nB = A\n", encoding="utf-8")
    users = {
        name: f"from q import B\nasync def {name}(conn):\n    await conn.fetch(B)\n"
        for name in ("a", "b")
    }
    original = _Walker.statement

    def overflow(self: _Walker, node: ast.stmt) -> bool:
        if self.module.path == str(tmp_path / "q.py") and node.lineno == 2:
            raise RecursionError
        return original(self, node)

    monkeypatch.setattr(_Walker, "statement", overflow)
    index = ProjectIndex([str(tmp_path / "q.py")], root=str(tmp_path))
    for name, text in users.items():
        found, _, _ = check_python_text(
            text, Analyzer(POLICY), path=str(tmp_path / f"{name}.py"), index=index
        )
        assert [f.code for f in found] == ["TG006"], name


def test_placeholders_numbered_at_run_time_keep_the_statement_text_when_lines_move() -> None:
    """Baselines key findings by the statement's text: the numbers filled in for
    `${len(params)}` come from the order of the holes, not from where they are written."""
    source = (
        "async def f(conn, user, params):\n"
        "    query = 'SELECT * FROM leads WHERE true'\n"
        "    query += f' AND a = ${len(params)} AND b = {user}'\n"
        "    return await conn.fetch(query, *params)\n"
    )
    texts = []
    for moved in (source, "\n\n\n" + source.replace("    query =", "    pass\n    query =")):
        found, _, _ = check_python_text(moved, Analyzer(POLICY))
        texts.append(sorted((f.code, f.message, f.statement) for f in found))
    assert texts[0] == texts[1]
    assert [code for code, _, _ in texts[0]] == ["TG001", "TG009"]
    assert texts[0][0][2].endswith("a = $60000 AND b = $60001")


def test_a_coding_declaration_is_read_as_python_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`# -*- coding: latin-1 -*-` (PEP 263): the file was TG006 "not UTF-8" though Python reads
    it; its SQL is checked at the right places, and so are the constants it exports."""
    (tmp_path / "tenantguard.toml").write_text('tenant_tables = ["leads"]\n', encoding="utf-8")
    (tmp_path / "queries.py").write_bytes(
        b"# -*- coding: latin-1 -*-\n"
        b"# r\xe9sum\xe9 des requ\xeates\n"
        b"ALL = \"SELECT * FROM leads WHERE note = 'caf\xe9'\"\n"
    )
    (tmp_path / "app.py").write_bytes(
        b"#!/usr/bin/env python\n"
        b"# vim: set fileencoding=iso-8859-15 :\n"
        b"from queries import ALL\n"
        b"async def f(conn):\n"
        b"    await conn.fetch(\"SELECT * FROM leads WHERE tenant_id = $1 AND n = '\xe9'\", 1)\n"
        b"    await conn.fetch(ALL)\n"
        b"    await conn.fetch(\"SELECT * FROM leads WHERE n = '\xe9'\")\n"
    )
    (tmp_path / "plain.py").write_bytes(b"X = 'caf\xe9'\n")  # no declaration: not UTF-8
    code = main(["check", "--format", "json", "--no-cache", str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    found = sorted((Path(f["path"]).name, f["line"], f["rule"]) for f in out["findings"])
    assert found == [
        ("app.py", 7, "TG001"),
        ("plain.py", 1, "TG006"),
        # the constant itself, a literal naming a tenant table (once: not again at app.py:6)
        ("queries.py", 3, "TG001"),
    ]


def test_a_join_of_a_list_too_varied_to_follow_says_why() -> None:
    """Eight optional filters make 256 lists: the join is unknown because the list is, and the
    message says so (not "items computed at run time": every item is a constant)."""
    lines = ["async def f(conn, t, " + ", ".join(f"c{i}" for i in range(8)) + "):"]
    lines.append("    conditions = ['tenant_id = $1']")
    for index in range(8):
        lines.append(f"    if c{index}:\n        conditions.append('a{index} = 1')")
    lines.append("    await conn.fetch('SELECT * FROM leads WHERE ' + ' AND '.join(conditions), t)")
    found, _, _ = check_python_text("\n".join(lines) + "\n", Analyzer(POLICY))
    # the items every list starts with stay (round 22: the pin), the rest is one unknown part
    assert sorted(f.code for f in found) == ["TG009"]
    (unknown,) = [f for f in found if f.code == "TG009"]
    assert "the list can hold more than 128 contents" in unknown.message
    # a list that does not start with the pin: the WHERE is unknown, no pin shown (TG001)
    lines[1] = "    conditions = ['status = 1']"
    found, _, _ = check_python_text("\n".join(lines) + "\n", Analyzer(POLICY))
    assert sorted(f.code for f in found) == ["TG001", "TG009"]


def test_a_concatenation_over_the_cap_keeps_each_part_once() -> None:
    """64 prefixes times 4 endings is over the cap: the endings are one unknown part, and
    each prefix stays as it is (the capped part once held prefixes and endings mixed, so the
    text read was a prefix, an ending and a prefix again)."""
    from tenantguard.sources.pyvalues import Hole, Lit, Origin, concat, text_of

    origin = Origin(["x = 1\n"])
    node = ast.parse("x = 1").body[0]
    prefixes = tuple((Lit(f"SELECT {i} ", origin, None),) for i in range(64))
    endings = tuple((Lit(f"LIMIT {j}", origin, None),) for j in range(4))
    joined = concat([prefixes, endings], node, origin)
    assert [text_of(a) for a in joined] == [f"SELECT {i} " for i in range(64)]
    assert all(type(a[-1]) is Hole and "more than 128" in a[-1].reason for a in joined)


def test_tenant_statements_are_never_more_than_statements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An f-string is analysed once per fill of its holes: the summary counted each fill as a
    statement on a tenant table (8 of 2 statements)."""
    (tmp_path / "tenantguard.toml").write_text('tenant_tables = ["leads"]\n', encoding="utf-8")
    (tmp_path / "q.py").write_text(
        "async def f(conn, order, limit, flag):\n"
        "    extra = ' AND x = 1' if flag else ''\n"
        "    await conn.fetch(\n"
        "        f'SELECT * FROM leads WHERE tenant_id = $1{extra} ORDER BY {order} {limit}', 1\n"
        "    )\n",
        encoding="utf-8",
    )
    main(["check", "--format", "json", "--no-cache", str(tmp_path)])
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["statements"] == 2
    assert summary["tenant_statements"] == 2


# an instance of a project class, made where it is used: its methods are the class's

QUERIES = """
class PatientQueries:
    BASE = "SELECT id FROM patients"

    def by_org(self):
        return self.BASE + " WHERE tenant_id = $1"

    def everyone(self):
        return self.BASE


class Loose(PatientQueries):
    def by_org(self):
        return self.BASE + " WHERE tenant_id = $1 OR true"


async def handler(conn, tenant_id, flag):
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # safe: the method the instance runs pins (was TG009: "computed at run time")
        ("q = PatientQueries()\n    return await conn.fetch(q.by_org(), tenant_id)", []),
        ("return await conn.fetch(PatientQueries().by_org(), tenant_id)", []),
        (
            "async with conn.transaction():\n        q = PatientQueries()\n"
            "        return await conn.fetch(q.by_org(), tenant_id)",
            [],
        ),
        # leaks: the method returns unpinned SQL, or a subclass's override does
        ("q = PatientQueries()\n    return await conn.fetch(q.everyone())", [(3, "TG001")]),
        ("return await conn.fetch(PatientQueries().everyone())", [(3, "TG001")]),
        ("q = Loose()\n    return await conn.fetch(q.by_org(), tenant_id)", [(3, "TG001")]),
        # the name rebound to the leaking class after the safe one: the last one is read
        (
            "q = PatientQueries()\n    q = Loose()\n    return await conn.fetch(q.by_org(), tenant_id)",
            [(3, "TG001")],
        ),
        # one of two classes by a condition: not followed, but never a pass (TG009 at the
        # call; the class's fragment, used where it is not followed, is checked alone)
        (
            "q = PatientQueries() if flag else Loose()\n"
            "    return await conn.fetch(q.by_org(), tenant_id)",
            [(3, "TG001"), (19, "TG009")],
        ),
    ],
)
def test_a_method_called_on_an_instance_made_here_runs_the_classes_method(
    body: str, expected: list[tuple[int, str]]
) -> None:
    assert codes(QUERIES + "    " + body + "\n") == expected
