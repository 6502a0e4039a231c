"""Round 33, helper a: an outside attack on the static proof with a fresh corpus (tenant column
`workspace_id bigint`, ~430 statements run on two databases that differ only in workspace 2's
rows; tests/fixtures/h33a_corpus.sql). Each class: the leak shown on the server, then the verdict.

1. A view's condition that may fail, before a pin that costs more. A read of a view pinned from
   outside has its pin pushed into the view's scan, where PostgreSQL runs the conditions
   cheapest first (a tie: the view's own first). The schema reader proved such views with the
   cheapest pin (`v.workspace_id = $1`) only, so `SELECT * FROM v_ratio WHERE
   workspace_id::text = $1::text` (or `ARRAY[workspace_id] <@ ARRAY[$1]`, `IN ($1)`, a derived
   table over the view pinned so) passed, while the view's `100 / (points - 8) <> 0` ran on
   every workspace's rows first: `division by zero` exactly when another workspace holds a
   ticket of 8 points. The same condition written in a derived table was TG013 already.
   Twins: the plain pin stays proven, and a view whose conditions cannot fail is pinned by
   the dearer forms too.
   A function of the schema without parameters read in FROM is the same: a STABLE SQL
   function of one SELECT is inlined as a view is; a VOLATILE one, or a PL/pgSQL one's RETURN
   QUERY, runs whole on every workspace's rows before any pin (`WHERE workspace_id = $1` too).

2. A reader's condition on a view's failing column. A view whose conditions cannot fail but
   that shows `100 / (points - 8) AS r`: the reader's `r <> 0` is pushed into the view's scan
   and runs there before a dearer pin (`workspace_id::text = $1`), on every workspace's rows.
   The same written over a derived table was TG013; over the view it passed, as did the test
   over a derived table, a CTE (the column renamed) or a view reading such a view, and the
   output of a STABLE SQL function (inlined as a view is). Twins: the
   plain pin runs first (proven), and a condition on another column of the view is no finding.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import fresh_database
from tests.proof.test_schema import policy_for

SCHEMA = """
CREATE TABLE workspaces (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE tickets (id bigint PRIMARY KEY, workspace_id bigint NOT NULL REFERENCES workspaces (id),
  title text NOT NULL, points int NOT NULL);
CREATE VIEW v_ratio AS
  SELECT id, workspace_id, title FROM tickets WHERE 100 / (points - 8) <> 0;
CREATE VIEW v_ratio_sb WITH (security_barrier) AS
  SELECT id, workspace_id, title FROM tickets WHERE 100 / (points - 8) <> 0;
CREATE VIEW v_over_ratio AS SELECT * FROM v_ratio;
CREATE VIEW v_plain AS SELECT id, workspace_id, title FROM tickets WHERE title <> '';
CREATE FUNCTION ratio_stable() RETURNS SETOF tickets LANGUAGE sql STABLE
  AS 'SELECT * FROM tickets WHERE 100 / (points - 8) <> 0';
CREATE FUNCTION ratio_volatile() RETURNS SETOF tickets LANGUAGE sql
  AS 'SELECT * FROM tickets WHERE 100 / (points - 8) <> 0';
CREATE FUNCTION ratio_plpgsql() RETURNS SETOF tickets LANGUAGE plpgsql STABLE
  AS $$ BEGIN RETURN QUERY SELECT * FROM tickets WHERE 100 / (points - 8) <> 0; END $$;
CREATE VIEW v_shows_ratio AS SELECT id, workspace_id, title, 100 / (points - 8) AS r FROM tickets;
CREATE VIEW v_over_shows AS SELECT * FROM v_shows_ratio;
CREATE FUNCTION shows_ratio() RETURNS TABLE (id bigint, workspace_id bigint, title text, r int)
  LANGUAGE sql STABLE AS 'SELECT id, workspace_id, title, 100 / (points - 8) FROM tickets';
CREATE FUNCTION plain_stable() RETURNS SETOF tickets LANGUAGE sql STABLE
  AS 'SELECT * FROM tickets WHERE length(title) > 0';
"""
DATA = """
INSERT INTO workspaces VALUES (1, 'mine'), (2, 'victim');
INSERT INTO tickets VALUES (1, 1, 'my ticket', 3), (2, 2, 'their ticket', 8);
"""
DEAR = {  # a pin and the request's workspace, as the pin takes it
    "a cast to text": ("SELECT title FROM {v} WHERE workspace_id::text = $1", "1"),
    "an array": ("SELECT title FROM {v} WHERE ARRAY[workspace_id] <@ ARRAY[$1::bigint]", 1),
    "a derived table": (
        "SELECT title FROM (SELECT * FROM {v}) d WHERE d.workspace_id::text = $1",
        "1",
    ),
}
PLAIN = "SELECT title FROM {v} WHERE workspace_id = $1"
FAILING = ["v_ratio", "v_ratio_sb", "v_over_ratio"]
# the reads that fail on the server: the array's operator costs one, as the plain pin, but is
# not leakproof, and a security barrier view runs its own conditions before such a pin whatever
# it costs (on the other views PostgreSQL runs it first; the proof reads any array as dear)
LEAKS = [
    (view, name) for view in FAILING for name in DEAR if name != "an array" or view == "v_ratio_sb"
]


@pytest.fixture
async def workspaces(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, SCHEMA + DATA) as dsn:
        yield dsn


def _codes(sql: str, tmp_path: Path) -> list[str]:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="workspace_id")
    return sorted({f.code for f in analyze_statement(sql, policy).findings})  # type: ignore[arg-type]


async def test_a_dear_pin_lets_the_views_condition_fail_on_another_workspaces_row(
    workspaces: str,
) -> None:
    conn = await asyncpg.connect(workspaces)
    try:
        for view in FAILING:
            assert [r["title"] for r in await conn.fetch(PLAIN.format(v=view), 1)] == ["my ticket"]
        for view, name in LEAKS:
            sql, mine = DEAR[name]
            with pytest.raises(asyncpg.DivisionByZeroError):  # workspace 2's row told
                await conn.fetch(sql.format(v=view), mine)
            await conn.execute("DELETE FROM tickets WHERE id = 2")  # (no 8 elsewhere)
            try:
                rows = await conn.fetch(sql.format(v=view), mine)
                assert [r["title"] for r in rows] == ["my ticket"], (view, name)
            finally:
                await conn.execute("INSERT INTO tickets VALUES (2, 2, 'their ticket', 8)")
        for sql, mine in DEAR.values():  # a view whose condition cannot fail: any pin will do
            rows = await conn.fetch(sql.format(v="v_plain"), mine)
            assert [r["title"] for r in rows] == ["my ticket"]
    finally:
        await conn.close()


def test_a_views_failing_condition_before_a_dearer_pin_is_tg013(tmp_path: Path) -> None:
    for view in FAILING:
        assert _codes(PLAIN.format(v=view), tmp_path) == [], view
    for view, name in LEAKS:
        assert _codes(DEAR[name][0].format(v=view), tmp_path) == ["TG013"], (view, name)
    for name, (sql, _) in DEAR.items():
        assert _codes(sql.format(v="v_plain"), tmp_path) == [], name


# the function's call, read as a table; whether the plain pin runs first (inlined), or nothing
# does (the body runs whole)
FUNCTIONS = {"ratio_stable()": True, "ratio_volatile()": False, "ratio_plpgsql()": False}
TEXT_PIN = DEAR["a cast to text"]


async def test_a_functions_failing_condition_runs_before_the_readers_pin(workspaces: str) -> None:
    conn = await asyncpg.connect(workspaces)
    try:
        for function, inlined in FUNCTIONS.items():
            if inlined:
                rows = await conn.fetch(PLAIN.format(v=function), 1)
                assert [r["title"] for r in rows] == ["my ticket"]
            else:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetch(PLAIN.format(v=function), 1)
            with pytest.raises(asyncpg.DivisionByZeroError):
                await conn.fetch(TEXT_PIN[0].format(v=function), TEXT_PIN[1])
        rows = await conn.fetch(TEXT_PIN[0].format(v="plain_stable()"), TEXT_PIN[1])
        assert [r["title"] for r in rows] == ["my ticket"]
    finally:
        await conn.close()


def test_a_functions_failing_condition_before_the_pin_is_tg013(tmp_path: Path) -> None:
    for function, inlined in FUNCTIONS.items():
        assert _codes(PLAIN.format(v=function), tmp_path) == ([] if inlined else ["TG013"])
        assert _codes(TEXT_PIN[0].format(v=function), tmp_path) == ["TG013"], function
    assert _codes(TEXT_PIN[0].format(v="plain_stable()"), tmp_path) == []
    assert _codes(PLAIN.format(v="plain_stable()"), tmp_path) == []


TESTED = {
    "SELECT title FROM v_shows_ratio WHERE r <> 0 AND workspace_id::text = $1": ("1", True),
    "SELECT title FROM v_shows_ratio v WHERE v.r <> 0 AND v.workspace_id::text = $1": ("1", True),
    "SELECT title FROM v_shows_ratio WHERE r <> 0 AND workspace_id = $1": (1, False),
    "SELECT title FROM v_shows_ratio WHERE title <> '' AND workspace_id::text = $1": ("1", False),
    # the condition over a derived table, a CTE or a view that shows the column is pushed too
    "SELECT title FROM (SELECT * FROM v_shows_ratio) d WHERE d.r <> 0 AND d.workspace_id::text"
    " = $1": ("1", True),
    "WITH d AS (SELECT title, r AS q, workspace_id FROM v_shows_ratio) SELECT title FROM d"
    " WHERE d.q <> 0 AND d.workspace_id::text = $1": ("1", True),
    "SELECT title FROM v_over_shows WHERE r <> 0 AND workspace_id::text = $1": ("1", True),
    "SELECT title FROM v_over_shows WHERE r <> 0 AND workspace_id = $1": (1, False),
    # a STABLE SQL function of one SELECT is inlined as a view is
    "SELECT title FROM shows_ratio() WHERE r <> 0 AND workspace_id::text = $1": ("1", True),
    "SELECT title FROM shows_ratio() WHERE r <> 0 AND workspace_id = $1": (1, False),
    "SELECT title FROM (SELECT * FROM v_shows_ratio) d WHERE d.r <> 0 AND d.workspace_id = $1": (
        1,
        False,
    ),
}


async def test_a_readers_condition_on_a_failing_view_column_runs_before_a_dear_pin(
    workspaces: str,
) -> None:
    conn = await asyncpg.connect(workspaces)
    try:
        for sql, (mine, leaks) in TESTED.items():
            if leaks:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetch(sql, mine)
            else:
                assert [r["title"] for r in await conn.fetch(sql, mine)] == ["my ticket"], sql
    finally:
        await conn.close()


def test_a_readers_condition_on_a_failing_view_column_is_tg013(tmp_path: Path) -> None:
    for sql, (_, leaks) in TESTED.items():
        assert _codes(sql, tmp_path) == (["TG013"] if leaks else []), sql
