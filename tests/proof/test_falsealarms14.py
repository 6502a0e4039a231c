"""Round 14 (fp14): what an outside attack on the proof left, each beside its unsafe twin, on
PostgreSQL 15.

1. A search_path naming pg_catalog after another schema (`SET [LOCAL | SESSION] search_path =
   public, pg_catalog`, `set_config('search_path', …)`) passed `check`, though the runtime guard
   refuses it: then a schema's `=` operator or `lower()` is chosen in place of the built-in the
   proof reads (the rows show `tenant_id = $1` returning another tenant's). `check` now reports
   TG006 for exactly the statements the runtime refuses (one implementation).
2. False alarms closed:
   a. an OUT/INOUT parameter (a returned column) of one function named like another function's
      parameter hid that parameter: a function's output columns shadow the parameters of the
      bodies that may read it only;
   b. `ROWS FROM (f($1), g($1))` of functions pinned by their arguments;
   c. MERGE pinned by its ON alone (already proven: the cases hold it, NOT MATCHED inserts and
      NOT MATCHED BY SOURCE included);
   d. `(c) = true`, `(c) <> false`, `(c) IS NOT DISTINCT FROM true` read as `c` (not `IS NOT
      FALSE`: TRUE where `c` is NULL, every row for a NULL bound);
   e. a one-row aggregate block whose every aggregate is filtered by the pin (`SELECT count(*)
      FILTER (WHERE tenant_id = $1) FROM t`), nothing of the table outside the filtered
      aggregates, no GROUP BY, no HAVING, no call in the filter;
   f. extension functions with float parameters (see the section).
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.engine.policy import Policy
from tenantguard.runtime.session import statement_effects
from tests.proof.test_attack11_proof import _codes, _fetch
from tests.proof.test_schema import policy_for

OWN, VICTIM = 101, 202

SCHEMA = """
CREATE TABLE tenants (id bigint PRIMARY KEY, name text);
CREATE TABLE tasks (id bigint PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants (id),
    title text);
CREATE TABLE notes (id bigint PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants (id),
    body text);
CREATE TABLE staging (id bigint, title text);
CREATE FUNCTION tasks_in(ws bigint) RETURNS SETOF tasks LANGUAGE sql STABLE
    AS $$ SELECT * FROM tasks WHERE tenant_id = ws $$;
CREATE FUNCTION notes_in(ws bigint) RETURNS SETOF notes LANGUAGE sql STABLE
    AS $$ SELECT * FROM notes WHERE tenant_id = ws $$;
CREATE FUNCTION every_task() RETURNS SETOF tasks LANGUAGE sql STABLE
    AS $$ SELECT * FROM tasks $$;
-- an output column named like tasks_in's parameter
CREATE FUNCTION summary(p_ws bigint, OUT ws bigint, OUT n bigint) RETURNS SETOF record
    LANGUAGE sql STABLE
    AS $$ SELECT tenant_id, count(*) FROM tasks WHERE tenant_id = p_ws GROUP BY tenant_id $$;
-- an INOUT parameter: an input and an output column of its own function
CREATE FUNCTION counted(INOUT ws2 bigint, OUT n bigint) LANGUAGE sql STABLE
    AS $$ SELECT ws2, count(*) FROM tasks WHERE tenant_id = ws2 $$;
-- the twin: its body reads summary(), whose column ws wins over the parameter ws
CREATE FUNCTION tasks_via(ws bigint) RETURNS SETOF tasks LANGUAGE sql STABLE
    AS $$ SELECT t.* FROM tasks t, summary(t.tenant_id) s WHERE t.tenant_id = ws $$;
"""
# task 202 of tenant 101 has the id of tenant 202 (a join on a non-tenant key reaches it)
DATA = f"""
INSERT INTO tenants VALUES ({OWN}, 'own'), ({VICTIM}, 'VICTIM');
INSERT INTO tasks VALUES (202, {OWN}, 'own'), (1, {VICTIM}, 'VICTIM');
INSERT INTO notes VALUES (1, {OWN}, 'own'), (2, {VICTIM}, 'VICTIM');
INSERT INTO staging VALUES (202, 'merged'), (1, 'merged');
"""


def _policy(tmp_path: Path, **settings: object) -> Policy:
    policy = policy_for(tmp_path, SCHEMA, **settings)
    assert isinstance(policy, Policy)
    return policy


# ---------------------------------------------------------------- 1. search_path
SEARCH_PATH_REFUSED = [
    "SET search_path = public, pg_catalog",
    "SET LOCAL search_path = public, pg_catalog",
    "SET SESSION search_path TO public, pg_catalog",
    'set search_path to "$user", public, "pg_catalog"',
    "SET search_path = public, /* a comment */ pg_catalog",
    "SELECT set_config('search_path', 'public, pg_catalog', false)",
    "SELECT pg_catalog.set_config('search_path', 'public,pg_catalog', true)",
    "SELECT set_config('search_path', $1, false)",  # a value the guard cannot read
    "SET search_path = E'pg\\x5fcatalog', public",  # an escape string may spell pg_catalog
    "SET search_path = pg_temp, pg_catalog, public",
]
SEARCH_PATH_ACCEPTED = [
    "SET search_path = pg_catalog, public",
    "SET LOCAL search_path TO pg_catalog, public",
    "SET search_path = public",  # pg_catalog is then searched first
    "SET search_path TO DEFAULT",
    "RESET search_path",
    "SELECT set_config('search_path', 'pg_catalog, public', true)",
    "SHOW search_path",
    "SELECT current_setting('search_path')",
]


@pytest.mark.parametrize("sql", SEARCH_PATH_REFUSED)
def test_a_search_path_naming_pg_catalog_late_is_reported(tmp_path: Path, sql: str) -> None:
    assert _codes(sql, _policy(tmp_path)) == ["TG006"], sql


@pytest.mark.parametrize("sql", SEARCH_PATH_ACCEPTED)
def test_a_search_path_with_pg_catalog_first_passes(tmp_path: Path, sql: str) -> None:
    assert _codes(sql, _policy(tmp_path)) == [], sql


def test_check_and_the_runtime_agree_on_search_paths(tmp_path: Path) -> None:
    """The same list, the same answer: TG006 exactly where the runtime refuses."""
    policy = _policy(tmp_path)
    for sql in SEARCH_PATH_REFUSED + SEARCH_PATH_ACCEPTED:
        refusal = statement_effects(sql, "app.tenant_id").refusal
        static = "TG006" in _codes(sql, policy)
        assert static == (refusal is not None and "search_path" in refusal), (sql, refusal)


def test_patches_may_set_the_search_path(tmp_path: Path) -> None:
    """pg_dump's `set_config('search_path', '', false)` and its kin in the patch pipeline are
    maintenance, not application SQL."""
    from tenantguard.engine.analyze import analyze_statement

    for sql in SEARCH_PATH_REFUSED[:3]:
        verdict = analyze_statement(sql, _policy(tmp_path), in_patch=True)
        assert [f.code for f in verdict.findings] == [], sql


SHADOW = """
CREATE FUNCTION public.always(bigint, bigint) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS $$ SELECT true $$;
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.always);
"""


async def test_the_rows_under_a_search_path_naming_pg_catalog_late(database: str) -> None:
    """With public before pg_catalog, the schema's `=` decides `tenant_id = $1`: every
    tenant's rows; with pg_catalog first (or left out), the built-in's: the tenant's."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA + SHADOW)
        sql = "SELECT title FROM tasks WHERE tenant_id = $1::bigint"
        for setting, expected in (
            ("public, pg_catalog", ["VICTIM", "own"]),
            ("pg_catalog, public", ["own"]),
            ("public", ["own"]),
        ):
            async with conn.transaction():
                await conn.execute(f"SET LOCAL search_path = {setting}")
                assert sorted(r[0] for r in await conn.fetch(sql, OWN)) == expected, setting
    finally:
        await conn.close()


# ---------------------------------------------------------------- 2a. output columns
OUTPUT_SAFE = [
    "SELECT title FROM tasks_in($1)",
    "SELECT title FROM tasks_in(ws => $1)",
    "SELECT n FROM summary($1)",
    "SELECT n FROM counted($1)",
]
OUTPUT_LEAK = "SELECT title FROM tasks_via($1)"


def test_an_output_column_hides_only_the_parameters_of_bodies_reading_it(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    assert {"tasks_in", "summary", "counted"} <= set(policy.pinning_functions)
    assert "tasks_via" not in policy.pinning_functions
    for sql in OUTPUT_SAFE:
        assert _codes(sql, policy) == [], sql
    assert _codes(OUTPUT_LEAK, policy) == ["TG001"]


async def test_the_rows_of_functions_with_output_columns(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        assert await _fetch(conn, OUTPUT_SAFE[0], OWN) == ["own"]
        assert await _fetch(conn, OUTPUT_SAFE[1], OWN) == ["own"]
        assert await _fetch(conn, OUTPUT_SAFE[2], OWN) == ["1"]
        assert await _fetch(conn, OUTPUT_SAFE[3], OWN) == ["1"]
        # the column ws of summary() wins over the parameter: every tenant's tasks
        assert await _fetch(conn, OUTPUT_LEAK, OWN) == ["VICTIM", "own"]
    finally:
        await conn.close()


# ---------------------------------------------------------------- 2b. ROWS FROM
ROWS_FROM_SAFE = [
    "SELECT title FROM ROWS FROM (tasks_in($1)) AS r",
    "SELECT coalesce(title, body) FROM ROWS FROM (tasks_in($1), notes_in($1)) AS r",
    "SELECT title FROM ROWS FROM (tasks_in($1), generate_series(1, 3)) WITH ORDINALITY AS r",
    "SELECT r.title FROM tasks x, ROWS FROM (tasks_in(x.tenant_id)) AS r WHERE x.tenant_id = $1",
]
# the argument is no tenant value (task 202's id is tenant 202's); a function handing out
# every tenant's rows zipped with a pinned one
ROWS_FROM_LEAKS = [
    "SELECT r.title FROM tasks x, ROWS FROM (tasks_in(x.id)) AS r WHERE x.tenant_id = $1",
    "SELECT r.t2 FROM ROWS FROM (tasks_in($1), every_task()) AS r(i1, w1, t1, i2, w2, t2)",
    "SELECT r.body FROM ROWS FROM (tasks_in($1), notes_in(303 - $1)) AS r",
]


def test_rows_from_functions_pinned_by_their_arguments(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    for sql in ROWS_FROM_SAFE:
        assert _codes(sql, policy) == [], sql
    for sql in ROWS_FROM_LEAKS:
        assert _codes(sql, policy) == ["TG001"], sql
    assert _codes("SELECT * FROM ROWS FROM (tasks_in($1), notes_in($2)) AS r", policy) == ["TG012"]


async def test_the_rows_of_rows_from(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for sql in ROWS_FROM_SAFE:
            rows = [r for r in await _fetch(conn, sql, OWN) if r != "None"]
            assert rows == ["own"], sql
        for sql in ROWS_FROM_LEAKS:
            assert "VICTIM" in await _fetch(conn, sql, OWN), sql
    finally:
        await conn.close()


# ---------------------------------------------------------------- 2c. MERGE pinned by its ON
MERGE_SAFE = [
    "MERGE INTO tasks t USING staging s ON t.tenant_id = $1 AND t.id = s.id "
    "WHEN MATCHED THEN UPDATE SET title = s.title",
    "MERGE INTO tasks t USING staging s ON t.tenant_id = $1 AND t.id = s.id "
    "WHEN MATCHED THEN DELETE",
    "MERGE INTO tasks t USING staging s ON t.tenant_id = $1 AND t.id = s.id "
    "WHEN MATCHED THEN UPDATE SET title = s.title "
    "WHEN NOT MATCHED THEN INSERT (id, tenant_id, title) VALUES (s.id + 1000, $1, s.title)",
    "MERGE INTO tasks t USING staging s ON (t.tenant_id = $1) IS TRUE AND t.id = s.id "
    "WHEN MATCHED THEN UPDATE SET title = s.title",
]
# (statement, rule): the ON does not pin the target; a NOT MATCHED insert is not limited by
# the ON (it writes what its VALUES say); NOT MATCHED BY SOURCE acts on the rows the ON rejects
MERGE_FLAGGED = [
    (
        "MERGE INTO tasks t USING staging s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET title = s.title",
        "TG001",
    ),
    (
        "MERGE INTO tasks t USING staging s ON t.tenant_id = $1 OR t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET title = s.title",
        "TG001",
    ),
    (
        "MERGE INTO tasks t USING staging s ON (t.tenant_id = $1) IS NOT FALSE AND t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET title = s.title",
        "TG001",
    ),
    (
        "MERGE INTO tasks t USING staging s ON t.tenant_id = $1 AND t.id = s.id "
        "WHEN NOT MATCHED THEN INSERT (id, tenant_id, title) VALUES (s.id + 1000, s.id, 'x')",
        "TG002",
    ),
    (
        "MERGE INTO tasks t USING staging s ON t.tenant_id = $1 AND t.id = s.id "
        "WHEN NOT MATCHED THEN INSERT (id, title) VALUES (s.id + 1000, 'x')",
        "TG002",
    ),
    (
        "MERGE INTO tasks t USING staging s ON t.tenant_id = $1 AND t.id = s.id "
        "WHEN NOT MATCHED BY SOURCE THEN DELETE",
        "TG001",
    ),
]


def test_merge_pinned_by_its_on(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    for sql in MERGE_SAFE:
        assert _codes(sql, policy) == [], sql
    for sql, rule in MERGE_FLAGGED:
        assert rule in _codes(sql, policy), sql


async def _victim_after(
    conn: asyncpg.Connection, sql: str, own: int | None = OWN
) -> list[tuple[int, str]]:
    """Tenant VICTIM's tasks after `sql` ran for tenant `own`, in a transaction rolled back."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(sql, *((own,) if "$1" in sql else ()))
        rows = await conn.fetch("SELECT id, title FROM tasks WHERE tenant_id = $1", VICTIM)
        return sorted((r["id"], r["title"]) for r in rows)
    finally:
        await transaction.rollback()


async def test_the_rows_a_merge_pinned_by_its_on_changes(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for sql in MERGE_SAFE:  # the other tenant's rows untouched
            assert await _victim_after(conn, sql) == [(1, "VICTIM")], sql
        # the ON unpinned; IS NOT FALSE with a NULL bound
        assert await _victim_after(conn, MERGE_FLAGGED[0][0]) == [(1, "merged")]
        assert await _victim_after(conn, MERGE_FLAGGED[2][0], None) == [(1, "merged")]
    finally:
        await conn.close()


# ---------------------------------------------------------------- 2d. comparisons with true
TRUTH_SAFE = [
    "SELECT title FROM tasks t WHERE (t.tenant_id = $1) <> false",
    "SELECT title FROM tasks t WHERE (t.tenant_id = $1) = true",
    "SELECT title FROM tasks t WHERE true = (t.tenant_id = $1)",
    "SELECT title FROM tasks t WHERE (t.tenant_id = $1) IS TRUE",
    "SELECT title FROM tasks t WHERE (t.tenant_id = $1) IS NOT DISTINCT FROM true",
    "SELECT title FROM tasks t WHERE ((t.tenant_id = $1) = true) IS TRUE",
]
# TRUE where the comparison is NULL (a NULL bound: every row), or not the comparison at all
TRUTH_FLAGGED = [
    "SELECT title FROM tasks t WHERE (t.tenant_id = $1) IS NOT FALSE",
    "SELECT title FROM tasks t WHERE t.tenant_id = $1 IS NOT FALSE",
    "SELECT title FROM tasks t WHERE (t.tenant_id = $1) IS DISTINCT FROM false",
    "SELECT title FROM tasks t WHERE (t.tenant_id = $1) <> true",
    "SELECT title FROM tasks t WHERE (t.tenant_id = $1) = false",
    "SELECT title FROM tasks t WHERE (t.tenant_id <> $1) = true",
    "SELECT title FROM tasks t WHERE (t.tenant_id = $1 OR true) = true",
]


def test_comparisons_with_true(tmp_path: Path) -> None:
    for settings in ({}, {"shared_rows": True}):
        policy = _policy(tmp_path, **settings)
        for sql in TRUTH_SAFE:
            assert _codes(sql, policy) == [], sql
        for sql in TRUTH_FLAGGED:
            assert _codes(sql, policy) == ["TG001"], sql


async def test_the_rows_of_comparisons_with_true(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for sql in TRUTH_SAFE:
            assert await _fetch(conn, sql, OWN) == ["own"], sql
            assert await _fetch(conn, sql, None) == [], sql  # a NULL bound: no row
        # IS NOT FALSE with a NULL bound: every tenant's rows
        assert await _fetch(conn, TRUTH_FLAGGED[0], None) == ["VICTIM", "own"]
        assert await _fetch(conn, TRUTH_FLAGGED[2], None) == ["VICTIM", "own"]
    finally:
        await conn.close()


# ---------------------------------------------------------------- 2e. FILTER-only aggregates
FILTER_SAFE = [
    "SELECT count(*) FILTER (WHERE tenant_id = $1) FROM tasks",
    "SELECT count(*) FILTER (WHERE tenant_id = $1 AND title = 'own'), "
    "count(*) FILTER (WHERE t.tenant_id = $1 AND title <> 'own') AS other FROM tasks t",
    "SELECT coalesce(sum(id) FILTER (WHERE tenant_id = $1::bigint), 0), $2::text FROM tasks",
    "SELECT string_agg(title, ',') FILTER (WHERE (tenant_id = $1) IS TRUE) FROM tasks",
    "SELECT max(title) FILTER (WHERE tenant_id = $1) FROM tasks LIMIT 1",
    # a function handing out every tenant's rows, pinned from outside as by a WHERE
    "SELECT count(*) FILTER (WHERE tenant_id = $1) FROM every_task()",
]
# another aggregate or a column not filtered, groups (a group of another tenant's rows only
# is a row of count 0: its key shows), HAVING, a window, a condition beside the pin that runs on
# every row (a call, a cast of a column: a side effect, an error on another tenant's value),
# a WHERE or a join outside the filters, a filter that does not pin by a value
FILTER_FLAGGED = [
    "SELECT count(*) FILTER (WHERE tenant_id = $1), count(*) FROM tasks",
    "SELECT count(*) FILTER (WHERE tenant_id = $1), title FROM tasks",
    "SELECT count(*) FILTER (WHERE tenant_id = $1), count(*) FILTER (WHERE title = 'x') FROM tasks",
    "SELECT title, count(*) FILTER (WHERE tenant_id = $1) FROM tasks GROUP BY title",
    "SELECT count(*) FILTER (WHERE tenant_id = $1) FROM tasks GROUP BY title",
    "SELECT count(*) FILTER (WHERE tenant_id = $1) FROM tasks GROUP BY ()",
    "SELECT count(*) FILTER (WHERE tenant_id = $1) FROM tasks HAVING count(*) > 0",
    "SELECT count(*) FILTER (WHERE tenant_id = $1) OVER () FROM tasks",
    "SELECT count(*) FILTER (WHERE tenant_id = $1 AND title::int > 0) FROM tasks",
    "SELECT count(*) FILTER (WHERE tenant_id = $1 AND length(title) > 0) FROM tasks",
    "SELECT count(*) FILTER (WHERE tenant_id = $1 OR true) FROM tasks",
    "SELECT count(*) FILTER (WHERE (tenant_id = $1) IS NOT FALSE) FROM tasks",
    "SELECT count(*) FILTER (WHERE tenant_id = $1) FROM tasks WHERE title = 'own'",
    "SELECT count(*) FILTER (WHERE t.tenant_id = $1) FROM tasks t JOIN staging s ON s.id = t.id",
    "SELECT count(*) FILTER (WHERE tenant_id = $1) FROM tasks ORDER BY min(title)",
    "SELECT count(*) FILTER (WHERE tenant_id = $1), (SELECT max(id) FROM staging) FROM tasks",
    "SELECT count(*) FILTER (WHERE x.tenant_id = x.id) FROM tasks x",
]


def test_aggregates_filtered_by_the_pin(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    for sql in FILTER_SAFE:
        assert _codes(sql, policy) == [], sql
    for sql in FILTER_FLAGGED:
        assert "TG001" in _codes(sql, policy), sql
    two = "SELECT count(*) FILTER (WHERE tenant_id = $1), count(*) FILTER (WHERE tenant_id = $2) FROM tasks"
    assert _codes(two, policy) == ["TG012"]


async def test_the_rows_of_aggregates_filtered_by_the_pin(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        assert await _fetch(conn, FILTER_SAFE[0], OWN) == ["1"]
        assert await _fetch(conn, FILTER_SAFE[3], OWN) == ["own"]
        assert await _fetch(conn, FILTER_SAFE[4], OWN) == ["own"]
        # the unfiltered count counts the other tenant's row
        rows = await conn.fetch(FILTER_FLAGGED[0], OWN)
        assert tuple(rows[0]) == (1, 2)
        # one row per title of any tenant: VICTIM's title shows, with a count of 0
        rows = await conn.fetch(FILTER_FLAGGED[3], OWN)
        assert sorted((r[0], r[1]) for r in rows) == [("VICTIM", 0), ("own", 1)]
    finally:
        await conn.close()


# ---------------------------------------------------------------- 2f. extensions' functions
# `ll_to_earth(float8, float8)`, `earth_box(earth, float8)` (earthdistance, over cube): a bind
# parameter given bare there is typed double precision. Another parameter than the pin's (the
# distance, the point) is no pin: nothing to flag, in check as in audit, and an unknown
# function gives no other parameter a type. The pin's own parameter given there first is typed
# float8 for the whole statement: `tenant_id = $1` compares in floating point, and tenant
# 2^53 + 1's request reads tenant 2^53's rows. The audit reads the extensions' functions from
# the catalog (their parameters of a lossy type, as the schema's own); check knows a contrib
# extension's from its CREATE EXTENSION (round 17: it let the statement pass before).
BIG_OWN, BIG_TWIN = 2**53 + 1, 2**53
EXTENSION = """
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;
CREATE TABLE tenants (id bigint PRIMARY KEY);
CREATE TABLE places (id bigint PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants (id),
    lat float8, lng float8, name text);
"""
EXTENSION_DATA = f"""
INSERT INTO tenants VALUES ({BIG_OWN}), ({BIG_TWIN});
INSERT INTO places VALUES (1, {BIG_OWN}, 0, 0, 'own'), (2, {BIG_TWIN}, 0, 0, 'VICTIM');
"""
EXTENSION_SAFE = [
    "SELECT name FROM places WHERE tenant_id = $1 "
    "AND earth_box(ll_to_earth($2, $3), $4) @> ll_to_earth(lat, lng)",
    "SELECT name FROM places WHERE earth_box(ll_to_earth($2, $3), $4) @> ll_to_earth(lat, lng) "
    "AND tenant_id = $1",
    "SELECT name FROM places WHERE earth_distance(ll_to_earth(lat, lng), ll_to_earth($2, $3)) "
    "< $4 AND tenant_id = $1",
    "SELECT name, earth_distance(ll_to_earth(lat, lng), ll_to_earth($2, $3)) AS d FROM places "
    "WHERE tenant_id = $1 ORDER BY d",
    # typed bigint by its cast: exact
    "SELECT name FROM places WHERE ll_to_earth($1::bigint, 0) IS NOT NULL AND tenant_id = $1",
]
EXTENSION_LEAK = "SELECT name FROM places WHERE ll_to_earth($1, 0) IS NOT NULL AND tenant_id = $1"


async def test_extension_functions_with_float_parameters(database: str, tmp_path: Path) -> None:
    from tests.audit.test_audit_parity import _policies

    static, live, _ = await _policies(database, tmp_path, EXTENSION, "tenant_id")
    assert set(live.lossy_arguments["ll_to_earth"]) == {0, 1}
    assert 1 in live.lossy_arguments["earth_box"]
    for sql in EXTENSION_SAFE:
        assert _codes(sql, static) == [], sql
        assert _codes(sql, live) == [], sql
    assert _codes(EXTENSION_LEAK, live) == ["TG001"]
    assert _codes(EXTENSION_LEAK, static) == ["TG001"]
    for name in ("ll_to_earth", "earth_box", "cube"):
        assert static.lossy_arguments[name] == live.lossy_arguments[name], name


async def test_the_rows_of_extension_functions_with_float_parameters(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(EXTENSION + EXTENSION_DATA)
        for sql in EXTENSION_SAFE:
            args: list[object] = [BIG_OWN]
            args += [0.0, 0.0, 1000.0][: sum(f"${n}" in sql for n in (2, 3, 4))]
            assert await _fetch(conn, sql, *args) == ["own"], sql
        # $1 typed float8 by its first use: 2^53 + 1 is read 2^53
        assert await _fetch(conn, EXTENSION_LEAK, BIG_OWN) == ["VICTIM", "own"]
    finally:
        await conn.close()
