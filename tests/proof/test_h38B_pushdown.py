"""Round 38, helper B: an outside attack on h38A's fix (engine/proof/pushdown.py, the schema
reader's `chained_columns`): new shapes of a reader's condition pushed into the scan of a
source pinned only through a join, each run on the server (DivisionByZeroError exactly when
another org holds a lesson of 0 minutes; ['mine'] once it holds 1).

Caught by h38A already (kept here as a regression corpus): a view over a view that names its
columns, LEFT JOIN bodies (the reader's strict condition makes the join inner), a view with a
column alias list, UNION ALL bodies whose branches differ, a join to a subquery, SQL functions
with OUT parameters, a positional `$1`, or no parameters, a LATERAL call.

Missed, now TG013 (with the derived-table and CTE forms of each):
1. A view `SELECT * FROM v_lesson_org` (and a SQL function `RETURNS SETOF v_lesson_org AS
   'SELECT * FROM v_lesson_org WHERE org_id = o'`): the schema reader had no column names for
   a star over another view, and skipped it (`_chained_columns_of`); now it probes the chained
   columns found so far, as `failing_columns` does.
2. A view whose join is a LATERAL subquery correlated by a key (`FROM courses c, LATERAL
   (SELECT … FROM lessons l WHERE l.course_id = c.id) x`): PostgreSQL pulls it up; the
   pushdown stopped at x, a derived table pinned only inside (also CROSS JOIN LATERAL, and a
   SQL function `f_lat(o)` whose LATERAL body is pinned inside by `c.org_id = o`). Now a
   derived table pinned inside is followed too, its sources judged by the condition's cost
   (twins: pinned inside on the scan's own tenant column, the plain pin first).
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database
from tests.leak_corpus import codes
from tests.proof.test_h38A_proof import CHAINED
from tests.proof.test_schema import policy_for

OBJECTS = """
CREATE VIEW v_over AS SELECT * FROM v_lesson_org;
CREATE VIEW v_over_named AS SELECT title, minutes, org_id FROM v_lesson_org WHERE seats > 0;
CREATE VIEW v_left AS
  SELECT l.title, l.minutes, c.org_id FROM courses c LEFT JOIN lessons l ON l.course_id = c.id;
CREATE VIEW v_lat AS
  SELECT x.title, x.minutes, c.org_id FROM courses c,
  LATERAL (SELECT l.title, l.minutes FROM lessons l WHERE l.course_id = c.id) x;
CREATE VIEW v_alias (lid, ltitle, mins, org_id) AS
  SELECT l.id, l.title, l.minutes, c.org_id FROM lessons l JOIN courses c ON c.id = l.course_id;
CREATE VIEW v_union AS
  SELECT l.title, l.minutes, l.org_id FROM lessons l
  UNION ALL SELECT l.title, l.minutes, c.org_id FROM lessons l JOIN courses c ON c.id = l.course_id;
CREATE VIEW v_union2 AS
  SELECT 'seat' AS title, c.seats AS minutes, c.org_id FROM courses c
  UNION ALL SELECT l.title, l.minutes, c.org_id FROM lessons l JOIN courses c ON c.id = l.course_id;
CREATE VIEW v_sub AS
  SELECT l.title, l.minutes, c.org_id FROM lessons l
  JOIN (SELECT id, org_id FROM courses) c ON c.id = l.course_id;
CREATE FUNCTION lessons_out(o integer, OUT title text, OUT minutes integer, OUT org_id integer)
  RETURNS SETOF record LANGUAGE sql STABLE AS $$
  SELECT l.title, l.minutes, c.org_id FROM lessons l JOIN courses c ON c.id = l.course_id
  WHERE c.org_id = o $$;
CREATE FUNCTION lessons_pos(integer) RETURNS TABLE (title text, minutes integer, org_id integer)
  LANGUAGE sql STABLE AS $$
  SELECT l.title, l.minutes, c.org_id FROM lessons l JOIN courses c ON c.id = l.course_id
  WHERE c.org_id = $1 $$;
CREATE FUNCTION lessons_all() RETURNS TABLE (title text, minutes integer, org_id integer)
  LANGUAGE sql STABLE AS $$
  SELECT l.title, l.minutes, c.org_id FROM lessons l JOIN courses c ON c.id = l.course_id $$;
CREATE VIEW v_lat2 AS SELECT x.title, x.minutes, c.org_id FROM courses c
  CROSS JOIN LATERAL (SELECT l.title, l.minutes FROM lessons l WHERE l.course_id = c.id) x;
CREATE VIEW v_cte AS WITH j AS (SELECT l.title, l.minutes, c.org_id FROM lessons l
  JOIN courses c ON c.id = l.course_id) SELECT * FROM j;
CREATE VIEW v_alias_over (t, m, org_id) AS SELECT title, minutes, org_id FROM v_lesson_org;
CREATE VIEW v_sub_star AS SELECT * FROM (SELECT * FROM v_lesson_org) s;
CREATE VIEW v_three AS SELECT * FROM v_sub_star;
CREATE FUNCTION f_over(integer) RETURNS SETOF v_alias_over LANGUAGE sql STABLE AS
  'SELECT * FROM v_alias_over WHERE org_id = $1';
CREATE FUNCTION f_lat(o integer) RETURNS TABLE (title text, minutes integer) LANGUAGE sql STABLE
  AS $$ SELECT x.title, x.minutes FROM courses c, LATERAL (SELECT l.title, l.minutes
  FROM lessons l WHERE l.course_id = c.id) x WHERE c.org_id = o $$;
CREATE FUNCTION lessons_imm(o integer) RETURNS SETOF v_lesson_org LANGUAGE sql IMMUTABLE AS $$
  SELECT * FROM v_lesson_org WHERE org_id = o $$;
"""
# (CHAINED ends with its rows and ANALYZE: the objects go before them)
SCHEMA = CHAINED.replace("INSERT INTO orgs", OBJECTS + "INSERT INTO orgs", 1)

MISSED = [  # by h38A's fix: now TG013
    "SELECT title FROM v_over WHERE org_id = $1 AND 600 / minutes > 0",
    "SELECT title FROM v_lat WHERE org_id = $1 AND 600 / minutes > 0",
    "SELECT title FROM lessons_imm($1) WHERE 600 / minutes > 0",
    "SELECT title FROM v_lat2 WHERE org_id = $1 AND 600 / minutes > 0",
    "SELECT title FROM v_cte WHERE org_id = $1 AND 600 / minutes > 0",
    "SELECT title FROM v_sub_star WHERE org_id = $1 AND 600 / minutes > 0",
    "SELECT title FROM v_three WHERE org_id = $1 AND 600 / minutes > 0",
    "SELECT s.title FROM (SELECT * FROM v_three) s WHERE s.org_id = $1 AND 600 / s.minutes > 0",
    "SELECT t AS title FROM f_over($1) WHERE 600 / m > 0",
    # a body pinned inside by its parameter, its join a LATERAL subquery
    "SELECT title FROM f_lat($1) WHERE 600 / minutes > 0",
    "SELECT v.title FROM (SELECT x.title, x.minutes FROM courses c, LATERAL (SELECT l.title,"
    " l.minutes FROM lessons l WHERE l.course_id = c.id) x WHERE c.org_id = $1) v"
    " WHERE 600 / v.minutes > 0",
]
CAUGHT = [
    "SELECT title FROM v_over_named WHERE org_id = $1 AND 600 / minutes > 0",
    "SELECT title FROM v_left WHERE org_id = $1 AND 600 / minutes > 0",
    "SELECT ltitle AS title FROM v_alias WHERE org_id = $1 AND 600 / mins > 0",
    "SELECT title FROM v_union WHERE org_id = $1 AND 600 / minutes > 0",
    "SELECT title FROM v_union2 WHERE org_id = $1 AND 600 / minutes > 0 AND title <> 'seat'",
    "SELECT title FROM v_sub WHERE org_id = $1 AND 600 / minutes > 0",
    "SELECT title FROM lessons_out($1) WHERE 600 / minutes > 0",
    "SELECT title FROM lessons_pos($1) WHERE 600 / minutes > 0",
    "SELECT title FROM lessons_all() WHERE org_id = $1 AND 600 / minutes > 0",
    "SELECT f.title FROM orgs o, LATERAL lessons_out(o.id) f"
    " WHERE o.id = $1 AND 600 / f.minutes > 0",
]
LEAKS = MISSED + CAUGHT
TWINS = [
    "SELECT title FROM v_over WHERE org_id = $1 AND 600 / seats > 0",
    "SELECT title FROM v_over WHERE org_id = $1 AND minutes >= 0",
    "SELECT title FROM v_lat WHERE org_id = $1 AND minutes >= 0",
    "SELECT ltitle AS title FROM v_alias WHERE org_id = $1 AND mins >= 0",
    "SELECT title FROM lessons_out($1) WHERE minutes >= 0",
    "SELECT title FROM lessons_imm($1) WHERE minutes >= 0",
    "SELECT title FROM lessons_imm($1) WHERE 600 / seats > 0",
    "SELECT title FROM v_three WHERE org_id = $1 AND 600 / seats > 0",
    "SELECT t AS title FROM v_alias_over WHERE org_id = $1 AND m >= 0",
    "SELECT title FROM f_lat($1) WHERE minutes >= 0",
    # pinned inside on the scan's own tenant column: the plain pin runs first
    "SELECT v.title FROM (SELECT title, minutes FROM lessons WHERE org_id = $1) v"
    " WHERE 600 / v.minutes > 0",
    "SELECT x.title FROM courses c, LATERAL (SELECT l.title, l.minutes FROM lessons l"
    " WHERE l.course_id = c.id AND l.org_id = c.org_id) x WHERE c.org_id = $1"
    " AND 600 / x.minutes > 0",
]


async def test_each_shape_divides_on_another_orgs_row(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, SCHEMA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in TWINS:
                assert [r["title"] for r in await conn.fetch(sql, 1)] == ["mine"], sql
            for sql in LEAKS:
                try:
                    await conn.fetch(sql, 1)
                except asyncpg.DivisionByZeroError:
                    continue
                raise AssertionError(f"no error: {sql}")
            await conn.execute("UPDATE lessons SET minutes = 1 WHERE org_id = 2")
            for sql in LEAKS:  # the other org's zero is what failed (v_union: both branches)
                assert {r["title"] for r in await conn.fetch(sql, 1)} == {"mine"}, sql
        finally:
            await conn.close()


def test_each_shape_is_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org_id")
    for sql in LEAKS:
        assert codes(sql, policy) == ["TG013"], sql
    for sql in TWINS:
        assert codes(sql, policy) == [], sql
