"""Round 29 (outside review a), on a schema of its own: tenant column `org_id`, the registry
`orgs`, composite foreign keys; organisation 1 is the request's, organisation 2 the victim.

1. TG013: an uncorrelated scalar subquery that may return several rows fails ("more than one
   row returned by a subquery used as an expression") when a row first reaches its condition.
   PostgreSQL evaluates the conditions of a scan in order of cost, those of equal cost as
   written: `title >= 'M' AND title = (…) AND org_id = $1` runs the subquery on the victim's
   rows that pass `title >= 'M'`, so the error tells whether the victim has such a row (a
   search of their values). Missed where the subquery's body was a set operation, a VALUES
   list of several rows, a select list calling a set-returning function, or one holding an
   aggregate of a subquery (read as one aggregate row); as an item of an IN list (read as
   `IN (SELECT …)`, which fails on no row count) or an element of `ARRAY[…]` (read as
   `ARRAY(SELECT …)`); in a BETWEEN, which PostgreSQL splits into
   two conditions placed each by its own cost (read as one condition costing both), and so in a
   row comparison `(a, b) = (c, d)`, which PostgreSQL splits into `a = c AND b = d`, and in
   `NOT (a OR b)`, which it plans as `NOT a AND NOT b`; a subquery
   correlated by an unqualified column (a SubPlan, run after the pin) was flagged.
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
CREATE TABLE orgs (id int PRIMARY KEY, name text);
CREATE TABLE projects (org_id int NOT NULL REFERENCES orgs (id), id int NOT NULL, name text,
  PRIMARY KEY (org_id, id));
CREATE TABLE tasks (org_id int NOT NULL REFERENCES orgs (id), id int NOT NULL, project_id int,
  title text, prio int, PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id));
"""
DATA = """
INSERT INTO orgs VALUES (1, 'Own org'), (2, 'Victim org');
INSERT INTO projects VALUES (1, 10, 'Alpha project'), (2, 20, 'VICTIM project');
INSERT INTO tasks VALUES (1, 100, 10, 'Alpha', 1), (2, 200, 20, 'VICTIM task', 2);
"""


@pytest.fixture
async def orgs(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, SCHEMA + DATA) as dsn:
        yield dsn


def _codes(sql: str, tmp_path: Path) -> list[str]:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org_id")
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


_SEARCH = "SELECT title FROM tasks WHERE title >= 'M' AND {} AND org_id = $1"
SEVERAL_ROWS = {
    "union": "title = (SELECT name FROM orgs UNION ALL SELECT 'x')",
    "values": "title = (VALUES ('a'), ('b'))",
    "unnest": "title = (SELECT unnest(ARRAY['a', 'b']))",
    "generate_series": "prio = (SELECT generate_series(1, 2))",
    "unnest of an aggregate": "title = (SELECT unnest(array_agg(name)) FROM orgs)",
    "unnamed function": "prio = (SELECT unnest.unnest FROM unnest(ARRAY[1, 2]))",
    # an aggregate in the select list, but a subquery's: a row per org
    "nested aggregate": "title = (SELECT (SELECT max(name) FROM orgs) FROM orgs)",
    # an item of an IN list is a value; a BETWEEN is two conditions, each placed by its cost
    "in list": "title IN ((SELECT name FROM orgs), 'q')",
    "between": "title BETWEEN (SELECT name FROM orgs) AND 'z'",
    # an element of ARRAY[…] is a value (ARRAY(SELECT …) is not)
    "array element": "ARRAY[title] = ARRAY[(SELECT name FROM orgs)]",
    "array elements": "title = ALL(ARRAY[(SELECT name FROM orgs), title])",
    # a row comparison is one condition per column, each placed by its own cost
    "row": "(title, prio + 1) = ((SELECT name FROM orgs), 3)",
    "ROW()": "ROW(prio + 1, title) = ROW(3, (SELECT name FROM orgs))",
    # NOT (a OR b) is NOT a AND NOT b: two conditions
    "not or": "NOT (title <> (SELECT name FROM orgs) OR prio > 100)",
}
# correlated by an unqualified column of the outer row: a SubPlan, run after the pin; and a
# BETWEEN whose half holding the subquery costs more than the pin (`lower(…)`): after it too
CORRELATED = "title = (SELECT o.name FROM orgs o WHERE o.id = org_id)"
COSTLIER_HALF = "title BETWEEN lower((SELECT name FROM orgs)) AND 'z'"


def test_scalar_subqueries_of_several_rows_before_the_pin_are_found(tmp_path: Path) -> None:
    for name, condition in SEVERAL_ROWS.items():
        assert _codes(_SEARCH.format(condition), tmp_path) == ["TG013"], name
    assert _codes(_SEARCH.format(CORRELATED), tmp_path) == []
    assert _codes(_SEARCH.format(COSTLIER_HALF), tmp_path) == []


async def _scan_only(conn: asyncpg.Connection) -> None:
    for setting in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
        await conn.execute(f"SET {setting} = off")


async def test_the_error_tells_whether_the_victim_has_such_a_row(orgs: str) -> None:
    conn = await asyncpg.connect(orgs)
    try:
        await _scan_only(conn)
        for name, condition in SEVERAL_ROWS.items():
            sql = _SEARCH.format(condition)
            # the victim's task is titled from 'M' on: the subquery runs on it and fails
            with pytest.raises(asyncpg.CardinalityViolationError):
                await conn.fetch(sql, 1)
            # … titled before 'M': no row reaches the subquery, no error (the own org's
            # task, 'Alpha', never does)
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
                assert await conn.fetch(sql, 1) == [], name
            finally:
                await transaction.rollback()
        # the twins run after the pin whatever the victim has
        assert await conn.fetch(_SEARCH.format(CORRELATED), 1) == []
        assert await conn.fetch(_SEARCH.format(COSTLIER_HALF), 1) == []
    finally:
        await conn.close()


# A subquery reading only a block further out than the one whose condition holds it is an
# initPlan of that block (PostgreSQL runs it once, when a row first reaches the condition), not
# a SubPlan per row: it was read as correlated, and passed.
UPPER_LEVEL = (
    "SELECT o.name, (SELECT count(*) FROM tasks t WHERE t.title >= 'M' "
    "AND t.title = (SELECT o2.name FROM orgs o2 WHERE o2.id >= o.id - 5) "
    "AND t.org_id = o.id) FROM orgs o WHERE o.id = $1"
)
# … reading the block that holds it: a SubPlan, run after the pin
OWN_LEVEL = (
    "SELECT o.name, (SELECT count(*) FROM tasks t WHERE t.title >= 'M' "
    "AND t.title = (SELECT o2.name FROM orgs o2 WHERE o2.id >= t.prio - 5) "
    "AND t.org_id = o.id) FROM orgs o WHERE o.id = $1"
)


def test_a_subquery_correlated_to_an_outer_level_only_is_found(tmp_path: Path) -> None:
    assert _codes(UPPER_LEVEL, tmp_path) == ["TG013"]
    assert _codes(OWN_LEVEL, tmp_path) == []


async def test_a_subquery_correlated_to_an_outer_level_runs_before_the_pin(orgs: str) -> None:
    conn = await asyncpg.connect(orgs)
    try:
        await _scan_only(conn)
        with pytest.raises(asyncpg.CardinalityViolationError):
            await conn.fetch(UPPER_LEVEL, 1)
        assert [r[1] for r in await conn.fetch(OWN_LEVEL, 1)] == [0]
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
            assert [r[1] for r in await conn.fetch(UPPER_LEVEL, 1)] == [0]
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


# A condition in a join's ON or a MERGE's ON, beside another on the same rows: TG013 looked for
# such another condition in clauses named "WHERE", "ON" and "HAVING" only — a join's ON is
# named "ON of JOIN t", a MERGE's "MERGE ON" —, and for the first source the condition's
# columns named (a column of the subquery in it named the joined table, `name`), so the
# search ran unreported.
IN_AN_ON = {
    "merge": (
        "MERGE INTO tasks t USING (SELECT 1 AS one) s ON t.title >= 'M' "
        "AND {} AND t.org_id = $1 WHEN MATCHED THEN DO NOTHING"
    ),
    "join": (
        "SELECT p.name FROM projects p JOIN tasks t ON t.title >= 'M' AND {} "
        "AND t.org_id = p.org_id WHERE p.org_id = $1"
    ),
}
FAILING = {
    "several rows": "t.title = (SELECT name FROM orgs)",
    "a constant out of the domain": "split_part(t.title, ',', 0) IS NULL",
}
ERRORS = (asyncpg.CardinalityViolationError, asyncpg.InvalidParameterValueError)


def test_a_search_in_an_on_is_found(tmp_path: Path) -> None:
    for shape, sql in IN_AN_ON.items():
        for kind, condition in FAILING.items():
            assert _codes(sql.format(condition), tmp_path) == ["TG013"], (shape, kind)


async def test_a_search_in_an_on_tells_whether_the_victim_has_such_a_row(orgs: str) -> None:
    conn = await asyncpg.connect(orgs)
    try:
        await _scan_only(conn)
        for setting in ("enable_hashjoin", "enable_mergejoin"):
            await conn.execute(f"SET {setting} = off")
        for sql in IN_AN_ON.values():
            for condition in FAILING.values():
                statement = sql.format(condition)
                transaction = conn.transaction()
                await transaction.start()
                try:
                    with pytest.raises(ERRORS):
                        await conn.execute(statement.replace("$1", "1"))
                finally:
                    await transaction.rollback()
                transaction = conn.transaction()
                await transaction.start()
                try:
                    await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
                    await conn.execute(statement.replace("$1", "1"))  # no error: nothing told
                finally:
                    await transaction.rollback()
    finally:
        await conn.close()


# A subquery of several rows in the select list of a derived table or CTE PostgreSQL merges into
# its reader, its output tested by the reader's WHERE: merged, the test is a condition of the
# scan of `tasks`, run before the pin. Only calls showing a value were followed out so, not a
# subquery of several rows nor a call failing on a constant.
MERGED = {
    "derived table": (
        "SELECT d.title FROM (SELECT title, org_id, (SELECT name FROM orgs) AS s FROM tasks) d "
        "WHERE d.title >= 'M' AND d.title = d.s AND d.org_id = $1"
    ),
    "CTE": (
        "WITH d AS (SELECT title, org_id, (VALUES ('a'), ('b')) AS s FROM tasks) "
        "SELECT d.title FROM d WHERE d.title >= 'M' AND d.title = d.s AND d.org_id = $1"
    ),
    # … and a call that fails on a constant
    "call": (
        "SELECT d.title FROM (SELECT title, org_id, split_part(title, ',', 0) AS s FROM tasks) d "
        "WHERE d.title >= 'M' AND d.s IS NULL AND d.org_id = $1"
    ),
}
# … MATERIALIZED and pinned inside: not merged, the test reads the org's own rows only (each of
# which makes the subquery fail: no twin to run)
PINNED_INSIDE = (
    "WITH d AS MATERIALIZED (SELECT title, org_id, (SELECT name FROM orgs) AS s FROM tasks "
    "WHERE org_id = $1) SELECT d.title FROM d WHERE d.title >= 'M' AND d.title = d.s"
)


def test_a_subquery_tested_outside_is_found(tmp_path: Path) -> None:
    for shape, sql in MERGED.items():
        assert _codes(sql, tmp_path) == ["TG013"], shape
    assert _codes(PINNED_INSIDE, tmp_path) == []


async def test_a_subquery_tested_outside_tells_whether_the_victim_has_such_a_row(
    orgs: str,
) -> None:
    conn = await asyncpg.connect(orgs)
    try:
        await _scan_only(conn)
        for sql in MERGED.values():
            with pytest.raises(ERRORS):
                await conn.fetch(sql, 1)
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
                assert await conn.fetch(sql, 1) == []
            finally:
                await transaction.rollback()
    finally:
        await conn.close()
