"""Round 39, helper A: an outside attack on the static proof (issue 10) with a fresh corpus on a
project tracker whose tenant column is `workspace_key text` (tests/fixtures/h39a/): a
LIST-partitioned table by workspace_key (partitions read directly, ONLY, a default partition),
a RANGE-partitioned one by date, table inheritance (ONLY parent vs parent with children, a
global parent over a tenant child), GENERATED columns, a nondeterministic ICU collation `ci`
(on the tenant column, through a domain, in a pin's COLLATE, in a view's or derived table's
column), LIKE/ILIKE/lower() around the key, arrays, jsonb, a recursive task tree, windows,
grouping sets, DISTINCT ON, FILTER and ordered-set aggregates, row values, writes on
partitions and children, ON CONFLICT on a partitioned table, MERGE. Tenant 1 is workspace
`ws_acme`; `WS_ACME` (its key in capitals: equal under `ci`) and `wsXacme` (matching `LIKE
'ws_acme'`) hold other rows in each database.

The corpus (626 statements, 207 LEAK on the server, 419 safe):
at 5d763ff 23 LEAKs passed — 2 by design (a single-column foreign key to a primary key: the
rows' identity) and 21 of the four classes below (a CREATE TABLE AS keeping a nondeterministic
collation; a pin through a VALUES list of several rows or a body kept whole, joined after a
failing condition of the scan; a FILTER pin over a view computing on every row; a pin inside
CASE / IS TRUE / coalesce after a part that may fail) — and 114 safe statements were flagged;
now the 2 by design pass and 120 are flagged (+3 of the CTAS table: `COLLATE "C"` on its loose
column is refused, as on a domain's; +1 `FILTER (WHERE workspace_key = $1 AND r > 0)` of a
failing view column, refused in either order; +2 safe on this data only). The flagged safe
statements are mostly safe on this data only (a failing condition after the pin, LIKE / ILIKE /
lower() / left() of the key where no key collides here, windows, DISTINCT ON, grouping sets and
LIMIT over every workspace, NOT IN of a subquery with NULLs, a key unique in one partition —
invoices_2026.number — checked on every insert into the parent); the sound ones left
conservative: `COLLATE "C"` pins of a domain-of-ci or CTAS column, a LIST partition read whole
whose bound is tenant 1's key, `ONLY` of a partitioned table (empty), FILTER aggregates WITHIN
GROUP, `every()` or a row pin in the FILTER, `unnest(ARRAY[$1])` joined, a multi-row VALUES pin
beside a failing condition that tenant 1's own row fails first.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database
from tests.leak_corpus import Corpus, codes, load, missed_but_by_design
from tests.proof.test_schema import policy_for

CORPUS = Path(__file__).parent.parent / "fixtures" / "h39a"


def corpus_of() -> Corpus:
    return load(
        CORPUS,
        "ws_acme",
        "WS_ACME",
        column="workspace_key",
        others=("wsXacme",),
        schemas=("public",),
    )


async def test_the_corpus_has_no_missed_leak(postgres: ThrowawayPostgres, tmp_path: Path) -> None:
    corpus = corpus_of()
    policy = policy_for(tmp_path, corpus.schema, tenant_column="workspace_key")
    missed = await missed_but_by_design(
        postgres, corpus, policy, _by_design, dump="H39A_DUMP", cases=400, leaking=100
    )
    assert missed == KNOWN_MISSED


KNOWN_MISSED: list[str] = []


def _by_design(missed: str) -> bool:
    # a literal of another workspace is a pin (rules.yaml "pinned by literal"); a single-column
    # foreign key to a primary key is the rows' identity, not a key checked across tenants
    # (TG013's help, h38A): `task_links.to_task REFERENCES tasks (id)` given another
    # workspace's task 12 is accepted, and a DELETE of tenant 1's comment fails where another
    # workspace's reply points at it (`reply_to REFERENCES comments (id)`)
    return (
        "'WS_ACME'" in missed
        or "'wsXacme'" in missed
        or "VALUES (40, $1, 1, 12, 'x')" in missed
        or "DELETE FROM comments WHERE workspace_key = $1 AND id = 1" in missed
    )


# 1. CREATE TABLE AS keeps each output column's collation: `CREATE TABLE tasks_ci AS SELECT id,
# workspace_key COLLATE ci AS workspace_key, … FROM tasks` makes a table whose tenant column
# compares under `ci` ('ws_acme' = 'WS_ACME'), so `WHERE workspace_key = $1` there returns
# another workspace's rows. The schema reader marked a CREATE TABLE AS loose only when a table
# it reads has a loose column (`AS SELECT * FROM labels`), not when the query itself applies a
# nondeterministic collation — a COLLATE, a cast to a domain of one, a view's column of one, a
# set operation's branch (the COLLATE wins). WITH NO DATA: a table filled by the query is
# judged as a view of it (h37A), a COLLATE there pins nothing already. Twins: COLLATE "C", a
# plain copy.
CTAS = """
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE DOMAIN wkey_ci AS text COLLATE ci;
CREATE TABLE tasks (id integer PRIMARY KEY, workspace_key text NOT NULL, title text NOT NULL);
CREATE VIEW v_tasks_ci AS SELECT id, workspace_key COLLATE ci AS workspace_key, title FROM tasks;
CREATE TABLE t_collate AS SELECT id, workspace_key COLLATE ci AS workspace_key, title FROM tasks
  WITH NO DATA;
CREATE TABLE t_named (id, workspace_key, title) AS SELECT id, workspace_key COLLATE ci, title
  FROM tasks WITH NO DATA;
CREATE TABLE t_domain AS SELECT id, workspace_key::wkey_ci AS workspace_key, title FROM tasks
  WITH NO DATA;
CREATE TABLE t_view AS SELECT id, workspace_key, title FROM v_tasks_ci WITH NO DATA;
CREATE TABLE t_union AS SELECT id, workspace_key, title FROM tasks
  UNION ALL SELECT id, workspace_key COLLATE ci, title FROM tasks WITH NO DATA;
CREATE TABLE t_derived AS SELECT * FROM (SELECT id, workspace_key COLLATE ci AS workspace_key,
  title FROM tasks) s WITH NO DATA;
CREATE TABLE t_c AS SELECT id, workspace_key COLLATE "C" AS workspace_key, title FROM tasks
  WITH NO DATA;
CREATE TABLE t_plain AS SELECT id, workspace_key, title FROM tasks WITH NO DATA;
"""
CTAS_LOOSE = ["t_collate", "t_named", "t_domain", "t_view", "t_union", "t_derived"]
CTAS_EXACT = ["t_c", "t_plain"]
ROWS = "INSERT INTO {} VALUES (1, 'ws_acme', 'mine'), (11, 'WS_ACME', 'theirs')"


async def test_a_table_created_as_a_query_keeps_its_collation(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, CTAS) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for table in CTAS_LOOSE + CTAS_EXACT:  # rows written later, by the application
                await conn.execute(ROWS.format(table))
            for table in CTAS_LOOSE:
                sql = f"SELECT title FROM {table} WHERE workspace_key = $1 ORDER BY id"
                assert [r["title"] for r in await conn.fetch(sql, "ws_acme")] == [
                    "mine",
                    "theirs",
                ], table
            for table in CTAS_EXACT:
                sql = f"SELECT title FROM {table} WHERE workspace_key = $1 ORDER BY id"
                assert [r["title"] for r in await conn.fetch(sql, "ws_acme")] == ["mine"], table
        finally:
            await conn.close()


def test_a_table_created_as_a_query_keeps_its_collation_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, CTAS, tenant_column="workspace_key")
    for table in CTAS_LOOSE:
        assert codes(f"SELECT title FROM {table} WHERE workspace_key = $1", policy) == ["TG001"], (
            table
        )
    for table in CTAS_EXACT:
        assert codes(f"SELECT title FROM {table} WHERE workspace_key = $1", policy) == [], table


# 2. A pin through a FROM item PostgreSQL does not pull up is no condition of the scan: `tasks t
# JOIN (VALUES ($1, 1), ($1, 2)) v(w, id) ON t.workspace_key = v.w … WHERE 10 / t.estimate > 0`
# — a VALUES list of several rows (or a derived table or CTE that is a set operation,
# MATERIALIZED, DISTINCT, kept by OFFSET 0) is a scan of its own, joined to t: the pin is a join
# condition, and the division runs in t's scan on every workspace's rows. The proof costed
# `t.workspace_key = v.w` as a condition of t's scan (v.w is `$1` in every row), and so `IN
# (VALUES ($1), ($1))` (a semi-join with the list): no finding.
# Now such a pin counts as evaluated after every condition (TG013). Twins: one row (PostgreSQL
# pulls it up: `= $1` in the scan), a plain derived table, a CTE read once.
JOINED = """
CREATE TABLE tasks (id integer PRIMARY KEY, workspace_key text NOT NULL, title text NOT NULL,
  estimate integer NOT NULL);
INSERT INTO tasks VALUES (1, 'ws_acme', 'mine', 8), (2, 'ws_acme', 'mine2', 3),
  (11, 'WS_ACME', 'theirs', 0);
"""
JOINED_READS = [
    "SELECT t.title FROM tasks t JOIN (VALUES ($1, 1), ($1, 2)) v(w, id)"
    " ON t.workspace_key = v.w AND t.id = v.id WHERE 10 / t.estimate > 0",
    "SELECT t.title FROM tasks t JOIN (VALUES ($1, 1), ($1, 2)) v(w, id)"
    " ON t.workspace_key = v.w AND t.id = v.id AND 10 / t.estimate > 0",
    "MERGE INTO tasks t USING (VALUES ($1, 1), ($1, 2)) v(w, id) ON t.workspace_key = v.w"
    " AND t.id = v.id AND 10 / t.estimate > 0 WHEN MATCHED THEN UPDATE SET title = t.title",
    "SELECT t.title FROM tasks t JOIN (SELECT $1::text AS w UNION ALL SELECT $1::text) v"
    " ON t.workspace_key = v.w WHERE 10 / t.estimate > 0",
    "WITH v AS MATERIALIZED (SELECT $1::text AS w) SELECT t.title FROM tasks t"
    " JOIN v ON t.workspace_key = v.w WHERE 10 / t.estimate > 0",
    "SELECT t.title FROM tasks t JOIN (SELECT $1::text AS w OFFSET 0) v"
    " ON t.workspace_key = v.w WHERE 10 / t.estimate > 0",
    "SELECT t.title FROM tasks t JOIN (SELECT DISTINCT $1::text AS w) v"
    " ON t.workspace_key = v.w WHERE 10 / t.estimate > 0",
    # IN a VALUES list of several rows: a semi-join with a scan of its own
    "SELECT t.title FROM tasks t WHERE t.workspace_key IN (VALUES ($1), ($1))"
    " AND 10 / t.estimate > 0",
    "SELECT t.title FROM tasks t WHERE (t.workspace_key, t.id) IN (VALUES ($1, 1), ($1, 2))"
    " AND 10 / t.estimate > 0",
]
JOINED_TWINS = [
    "SELECT t.title FROM tasks t JOIN (VALUES ($1, 1)) v(w, id)"
    " ON t.workspace_key = v.w AND t.id = v.id WHERE 10 / t.estimate > 0",
    "SELECT t.title FROM tasks t JOIN (SELECT $1::text AS w) v"
    " ON t.workspace_key = v.w WHERE 10 / t.estimate > 0",
    "WITH v AS (SELECT $1::text AS w) SELECT t.title FROM tasks t"
    " JOIN v ON t.workspace_key = v.w WHERE 10 / t.estimate > 0",
    "SELECT t.title FROM tasks t JOIN (VALUES ($1, 1), ($1, 2)) v(w, id)"
    " ON t.workspace_key = v.w AND t.id = v.id WHERE t.title <> 'x'",
    "SELECT t.title FROM tasks t WHERE t.workspace_key IN (VALUES ($1)) AND 10 / t.estimate > 0",
    "SELECT t.title FROM tasks t WHERE (t.workspace_key, t.id) IN (($1, 1), ($1, 2))"
    " AND 10 / t.estimate > 0",
]


async def test_a_pin_through_a_joined_values_list_runs_after_the_scan(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, JOINED) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in JOINED_TWINS:
                rows = await conn.fetch(sql, "ws_acme")
                assert sorted(r["title"] for r in rows) in (["mine"], ["mine", "mine2"]), sql
            for sql in JOINED_READS:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetch(sql, "ws_acme")
            await conn.execute("UPDATE tasks SET estimate = 1 WHERE workspace_key = 'WS_ACME'")
            for sql in JOINED_READS:  # the other workspace's zero is what failed
                async with conn.transaction():
                    await conn.fetch(sql, "ws_acme")
        finally:
            await conn.close()


def test_a_pin_through_a_joined_values_list_is_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, JOINED, tenant_column="workspace_key")
    for sql in JOINED_READS:
        assert codes(sql, policy) == ["TG013"], sql
    for sql in JOINED_TWINS:
        assert codes(sql, policy) == [], sql


# 3. A FILTER pin over a view that computes on every row: `SELECT count(*) FILTER (WHERE
# workspace_key = $1) FROM v_bad` — the FILTERs of a one-row aggregate block pin it (fp14), but
# no pin reaches the scan, so a view's (or an inlined SQL function's) own condition that may
# fail (`WHERE 100 / estimate > 0`), security_barrier or not, runs on every workspace's rows
# before them; so does a FILTER's condition on a column the view computes by a failing
# expression, before the pin in its AND (`r > 0 AND workspace_key = $1`; after it, the AND
# stops first: refused all the same, a false alarm). Now the FILTERs pin no such source
# (TG001). Twins: a plain view, the failing column read by the aggregate (its arguments are
# computed after the FILTER).
FILTERED = """
CREATE TABLE tasks (id integer PRIMARY KEY, workspace_key text NOT NULL, title text NOT NULL,
  estimate integer NOT NULL);
CREATE VIEW v_bad AS SELECT * FROM tasks WHERE 100 / estimate > 0;
CREATE VIEW v_sb WITH (security_barrier) AS SELECT * FROM tasks WHERE 100 / estimate > 0;
CREATE VIEW v_ratio AS SELECT id, workspace_key, 100 / estimate AS r FROM tasks;
CREATE VIEW v_plain AS SELECT id, workspace_key, title FROM tasks;
CREATE FUNCTION all_tasks() RETURNS SETOF tasks LANGUAGE sql STABLE
  AS $$ SELECT * FROM tasks WHERE 100 / estimate > 0 $$;
INSERT INTO tasks VALUES (1, 'ws_acme', 'mine', 8), (11, 'WS_ACME', 'theirs', 0);
"""
FILTERED_READS = [
    "SELECT count(*) FILTER (WHERE workspace_key = $1) FROM v_bad",
    "SELECT count(*) FILTER (WHERE workspace_key = $1) FROM v_sb",
    "SELECT count(*) FILTER (WHERE workspace_key = $1) FROM all_tasks()",
    "SELECT count(*) FILTER (WHERE r > 0 AND workspace_key = $1) FROM v_ratio",
]
FILTERED_TWINS = [
    "SELECT sum(r) FILTER (WHERE workspace_key = $1) FROM v_ratio",
    "SELECT count(*) FILTER (WHERE workspace_key = $1) FROM v_plain",
    "SELECT count(*) FILTER (WHERE workspace_key = $1) FROM tasks",
]


async def test_a_filter_pin_over_a_view_that_computes_on_every_row(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, FILTERED) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in FILTERED_TWINS:
                assert [tuple(r) for r in await conn.fetch(sql, "ws_acme")] in ([(1,)], [(12,)])
            for sql in FILTERED_READS:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetch(sql, "ws_acme")
            await conn.execute("UPDATE tasks SET estimate = 1 WHERE workspace_key = 'WS_ACME'")
            for sql in FILTERED_READS:  # the other workspace's zero is what failed
                assert [tuple(r) for r in await conn.fetch(sql, "ws_acme")] == [(1,)], sql
        finally:
            await conn.close()


def test_a_filter_pin_over_a_view_that_computes_on_every_row_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, FILTERED, tenant_column="workspace_key")
    for sql in FILTERED_READS:
        assert codes(sql, policy) == ["TG001"], sql
    for sql in FILTERED_TWINS:
        assert codes(sql, policy) == [], sql


# 4. A pin inside a form PostgreSQL evaluates whole, after a part that may fail: `CASE WHEN 10 /
# estimate > 0 THEN workspace_key = $1 ELSE workspace_key = $1 END` (a simple CASE's operand
# alike), `(10 / estimate > 0 AND workspace_key = $1) IS TRUE`, `coalesce(… AND …, FALSE)`. The
# proof reads the pin out of the form, but the server evaluates the form on every row, its WHEN
# tests and its AND's operands in their written order: the division runs on every workspace's
# rows. Now TG013 (`placement.pinned_with`). Twins: the pin first in the AND, the failing part
# in a form of its own beside a plain pin, `NOT NOT (…)` (the planner splits it).
WHOLE = JOINED
WHOLE_READS = [
    "SELECT title FROM tasks WHERE CASE WHEN 10 / estimate > 0 THEN workspace_key = $1"
    " ELSE workspace_key = $1 END",
    "SELECT title FROM tasks WHERE CASE 10 / estimate WHEN 1 THEN workspace_key = $1"
    " ELSE workspace_key = $1 END",
    "SELECT title FROM tasks WHERE CASE WHEN 10 / estimate > 0 THEN workspace_key = $1 END",
    "SELECT title FROM tasks WHERE (10 / estimate > 0 AND workspace_key = $1) IS TRUE",
    "SELECT title FROM tasks WHERE coalesce(10 / estimate > 0 AND workspace_key = $1, false)",
]
WHOLE_TWINS = [
    "SELECT title FROM tasks WHERE (workspace_key = $1 AND 10 / estimate > 0) IS TRUE",
    "SELECT title FROM tasks WHERE workspace_key = $1 AND (10 / estimate > 0) IS TRUE",
    "SELECT title FROM tasks WHERE NOT NOT (10 / estimate > 0 AND workspace_key = $1)",
    "SELECT title FROM tasks WHERE CASE WHEN title <> 'x' THEN workspace_key = $1"
    " ELSE workspace_key = $1 END",
]


async def test_a_pin_inside_a_form_evaluated_whole(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, WHOLE) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in WHOLE_TWINS:
                rows = await conn.fetch(sql, "ws_acme")
                assert sorted(r["title"] for r in rows) == ["mine", "mine2"], sql
            for sql in WHOLE_READS:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetch(sql, "ws_acme")
            await conn.execute("UPDATE tasks SET estimate = 1 WHERE workspace_key = 'WS_ACME'")
            for sql in WHOLE_READS:  # the other workspace's zero is what failed
                rows = await conn.fetch(sql, "ws_acme")
                assert "theirs" not in [r["title"] for r in rows], sql
        finally:
            await conn.close()


# random() in such a form runs on every row too: the session's next random() tells how many
# rows of other workspaces the scan met (h28b's class); pin first in the AND, on tenant 1's only
RANDOM_READ = (
    "SELECT title FROM tasks WHERE coalesce(random() < 2 AND title <> '' AND workspace_key = $1,"
    " false)"
)
RANDOM_TWIN = (
    "SELECT title FROM tasks WHERE coalesce(workspace_key = $1 AND random() < 2 AND title <> '',"
    " false)"
)


async def _next_random(conn: asyncpg.Connection, sql: str, drop_theirs: bool) -> float:
    async with conn.transaction():
        if drop_theirs:
            await conn.execute("DELETE FROM tasks WHERE workspace_key = 'WS_ACME'")
        await conn.execute("SELECT setseed(0.5)")
        await conn.fetch(sql, "ws_acme")
        raise _Rollback(await conn.fetchval("SELECT random()"))  # rolled back


class _Rollback(Exception):
    def __init__(self, value: float) -> None:
        self.value = value


async def _random_after(conn: asyncpg.Connection, sql: str, drop_theirs: bool) -> float:
    try:
        await _next_random(conn, sql, drop_theirs)
    except _Rollback as done:
        return done.value
    raise AssertionError("not reached")


async def test_random_in_a_pin_form_counts_other_rows(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, WHOLE) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            assert await _random_after(conn, RANDOM_READ, False) != await _random_after(
                conn, RANDOM_READ, True
            )
            assert await _random_after(conn, RANDOM_TWIN, False) == await _random_after(
                conn, RANDOM_TWIN, True
            )
        finally:
            await conn.close()


def test_a_pin_inside_a_form_evaluated_whole_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, WHOLE, tenant_column="workspace_key")
    for sql in [*WHOLE_READS, RANDOM_READ]:
        assert codes(sql, policy) == ["TG013"], sql
    for sql in [*WHOLE_TWINS, RANDOM_TWIN]:
        assert codes(sql, policy) == [], sql
