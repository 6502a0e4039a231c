"""Round 31, helper e: false alarms of the static proof left open in round 30, on round 29's
schema (tests/proof/test_attack29a_proof.py: tenant column `org_id`, organisation 1 the request's,
2 the victim) and a global table of labels.

1. TG013, one row by a key: a scalar subquery whose WHERE fixes a unique text key by a literal
   cast to text (`code = 'a'::text`, `vc = 'a'::varchar`) returns one row at most, as the bare
   literal does; a cast to text or varchar was read as a value of another type. Not a column
   of a loose collation (`cs text COLLATE ci` with a unique index in "C": 'a' and 'A' are two
   keys that `=` finds equal), nor a column no unique key holds.
2. TG013, one row by a key: a key fixed by a row equality (`(t.org_id, t.code) = ($1, 'x')`)
   or by IS NOT DISTINCT FROM (`ROW(t.org_id, t.code) IS NOT DISTINCT FROM ROW($1, 'x')`,
   `t.org_id IS NOT DISTINCT FROM $1 AND t.code = 'x'`) returns one row at most; only a plain
   `=` of one column was read. IS NOT DISTINCT FROM matches the NULLs of a key (a unique key
   holds any number of them), so it fixes a column only with a value that is not NULL (a
   literal) or on a column that is never NULL (the tenant column, NOT NULL in the schema):
   `code IS NOT DISTINCT FROM $2` with $2 NULL, or a nullable tenant column with a NULL
   parameter, return two rows and fail on the victim's task.
3. MERGE whose only actions are WHEN MATCHED (checked, no change): PostgreSQL joins its source
   inner, so the ON filters the source as it does the target — a source pinned there, or
   chained there to the pinned target, is pinned (round 24's acceptance). On the server, with
   a victim's task of the same id, those MERGEs touch and read only the request's rows; the
   twins stay TG001: a source the ON leaves unpinned fails ("cannot affect row a second time")
   exactly when the victim has a task of that id, and a WHEN NOT MATCHED INSERT copies the
   victim's titles into the request's organisation.
4. TG001: `FULL JOIN … USING (org_id) AS j WHERE j.org_id = $1` — the join alias of PostgreSQL
   14+ names the merged column, a coalesce of both sides', as the bare `org_id` does (which
   pinned both sides): every row's non-NULL side is the organisation's. `j.org_id` pinned
   neither. And `WHERE p.org_id = $1` on one side (PostgreSQL reduces the FULL JOIN to a LEFT
   JOIN, whose USING pins the other side: `_inner_by_where` read only an ON). Not `j.id` of a
   USING list without the tenant column, nor `p.org_id = $1 OR p.org_id IS NULL` (the
   victim's task comes back NULL-extended).
5. TG013: a reader's condition holding a subquery PostgreSQL runs as a SubPlan or a semi-join
   (`d.s IN (SELECT …)`, `= ANY (SELECT …)`, a correlated EXISTS or scalar subquery) on a
   derived table or CTE whose body is a set operation other than UNION ALL: such a body is a
   subquery PostgreSQL does not pull up, and it pushes into it only the conditions without a
   SubPlan (EXPLAIN: the condition stays on the Subquery Scan, the join above it), so the
   condition tests the branches' output rows, pinned. It was read as pushed into each branch,
   before the pin, like a UNION ALL's. Twins: the same test without a subquery (`d.s IS NULL`),
   and an uncorrelated EXISTS (an initPlan, pushed down), fail on the victim's task.
6. TG013, a gap: the runtime guard refuses a write giving a value to a column of a unique key
   or an exclusion constraint without the tenant column (read in the catalog: the server
   checks it against every tenant's rows, and its error, or an ON CONFLICT that skips, tells
   whether another tenant holds the value), but `tenantguard check` never reported one: the
   schema sources' keys were not read for it. Now they are (the same finding), and agree with
   the catalog's on the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import fresh_database
from tests.proof import test_attack29a_proof as r29
from tests.proof.test_schema import policy_for

SCHEMA = (
    r29.SCHEMA
    + """
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE labels (code text PRIMARY KEY, vc varchar(10) UNIQUE, cs text COLLATE ci,
  name text);
CREATE UNIQUE INDEX labels_cs ON labels (cs COLLATE "C");
CREATE TABLE tags (org_id int NOT NULL REFERENCES orgs (id), code text, name text,
  UNIQUE (org_id, code));
CREATE TABLE loose_tags (org_id int REFERENCES orgs (id), code text NOT NULL, name text,
  UNIQUE (org_id, code));
"""
)
DATA = (
    r29.DATA
    + """
INSERT INTO labels VALUES ('a', 'a', 'a', 'same'), ('b', 'b', 'A', 'same');
INSERT INTO tags VALUES (1, 'x', 'one'), (1, NULL, 'n1'), (1, NULL, 'n2');
INSERT INTO loose_tags VALUES (1, 'x', 'own'), (NULL, 'x', 'a'), (NULL, 'x', 'b');
"""
)


@pytest.fixture
async def labelled(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, SCHEMA + DATA) as dsn:
        yield dsn


def _codes(sql: str, tmp_path: Path) -> list[str]:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org_id")
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


# ---------------------------------------------------------------- 1. a text key fixed by a cast
_SEARCH = "SELECT title FROM tasks WHERE title >= 'M' AND title <> ({}) AND org_id = $1"
TEXT_KEYS = {
    "text key, cast to text": "SELECT name FROM labels WHERE code = 'a'::text",
    "text key, cast to varchar": "SELECT name FROM labels WHERE code = 'a'::varchar(1)",
    "varchar key, cast to text": "SELECT name FROM labels WHERE vc = 'a'::text",
    "varchar key, cast to varchar": "SELECT name FROM labels WHERE 'a'::character varying = vc",
}
TEXT_NOT_KEYS = {
    "no key": "SELECT code FROM labels WHERE name = 'same'::text",
    "a loose column": "SELECT name FROM labels WHERE cs = 'a'::text",
}


def test_a_text_key_fixed_by_a_cast_is_one_row(tmp_path: Path) -> None:
    for shape, sql in TEXT_KEYS.items():
        assert _codes(_SEARCH.format(sql), tmp_path) == [], shape
    for shape, sql in TEXT_NOT_KEYS.items():
        assert _codes(_SEARCH.format(sql), tmp_path) == ["TG013"], shape


async def test_a_text_key_fixed_by_a_cast_fails_on_no_row(labelled: str) -> None:
    conn = await asyncpg.connect(labelled)
    try:
        await r29._scan_only(conn)
        for shape, sql in TEXT_KEYS.items():  # the victim's task reaches it: no error
            assert await conn.fetch(_SEARCH.format(sql), 1) == [], shape
        for shape, sql in TEXT_NOT_KEYS.items():
            # two rows: fails on the victim's task, titled from 'M' on …
            with pytest.raises(asyncpg.CardinalityViolationError):
                await conn.fetch(_SEARCH.format(sql), 1)
            transaction = conn.transaction()
            await transaction.start()
            try:  # … and not when it is titled before 'M'
                await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
                assert await conn.fetch(_SEARCH.format(sql), 1) == [], shape
            finally:
                await transaction.rollback()
    finally:
        await conn.close()


# ---------------------------------------------------------------- 2. a key fixed null-safely, by rows
NULL_SAFE_KEYS = {
    "a row equality": "SELECT name FROM tags t WHERE (t.org_id, t.code) = ($1, 'x')",
    # (a ROW() call was read as a function of unknown type, which types $1 lossily)
    "a ROW() equality": "SELECT name FROM tags t WHERE ROW(t.org_id, t.code) = ROW($1, 'x')",
    "a row not distinct": (
        "SELECT name FROM tags t WHERE ROW(t.org_id, t.code) IS NOT DISTINCT FROM ROW($1, 'x')"
    ),
    "a NOT NULL tenant column not distinct": (
        "SELECT name FROM tags t WHERE t.org_id IS NOT DISTINCT FROM $1 AND t.code = 'x'"
    ),
    "not is distinct from": (
        "SELECT name FROM tags t WHERE NOT (t.org_id IS DISTINCT FROM $1) AND 'x' = t.code"
    ),
}
# $2 is NULL: it matches the NULLs of a nullable key column
NULL_SAFE_NOT_KEYS = {
    "a nullable key column by a parameter": (
        "SELECT name FROM tags t WHERE ROW(t.org_id, t.code) IS NOT DISTINCT FROM ROW($1, $2::text)"
    ),
    "a nullable tenant column": (
        "SELECT name FROM loose_tags t WHERE t.org_id IS NOT DISTINCT FROM $2::int AND t.code = 'x'"
    ),
}


def test_a_key_fixed_null_safely_or_by_a_row_is_one_row(tmp_path: Path) -> None:
    for shape, sql in NULL_SAFE_KEYS.items():
        assert _codes(_SEARCH.format(sql), tmp_path) == [], shape
    for shape, sql in NULL_SAFE_NOT_KEYS.items():
        assert "TG013" in _codes(_SEARCH.format(sql), tmp_path), shape


async def test_a_key_fixed_null_safely_fails_only_on_a_nullable_column(labelled: str) -> None:
    conn = await asyncpg.connect(labelled)
    try:
        await r29._scan_only(conn)
        for shape, sql in NULL_SAFE_KEYS.items():
            assert await conn.fetch(_SEARCH.format(sql), 1) == [], shape
            # one row at most whatever $1 is, NULL too
            await conn.fetchval(f"SELECT ({sql})", None)
        for shape, sql in NULL_SAFE_NOT_KEYS.items():
            with pytest.raises(asyncpg.CardinalityViolationError):
                await conn.fetch(_SEARCH.format(sql), 1, None)
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
                assert await conn.fetch(_SEARCH.format(sql), 1, None) == [], shape
            finally:
                await transaction.rollback()
    finally:
        await conn.close()


# ---------------------------------------------------------------- 3. MERGE, matched only
MATCHED_ONLY = {
    "source pinned in the ON": (
        "MERGE INTO tasks t USING tasks s ON t.id = s.id AND t.org_id = $1 AND s.org_id = $1 "
        "WHEN MATCHED THEN UPDATE SET title = s.title || '!'"
    ),
    "source chained to the target in the ON": (
        "MERGE INTO tasks t USING tasks s ON t.id = s.id AND t.org_id = $1 AND s.org_id = t.org_id "
        "WHEN MATCHED AND s.title IS NULL THEN DELETE "
        "WHEN MATCHED THEN UPDATE SET title = s.title || '!'"
    ),
    "a row equality and do nothing": (
        "MERGE INTO tasks t USING tasks s ON (t.id, t.org_id) = (s.id, $1) AND s.org_id = $1 "
        "WHEN MATCHED THEN UPDATE SET title = s.title || '!' WHEN NOT MATCHED THEN DO NOTHING"
    ),
}
MERGE_LEAKS = {
    "source unpinned": (
        "MERGE INTO tasks t USING tasks s ON t.id = s.id AND t.org_id = $1 "
        "WHEN MATCHED THEN UPDATE SET title = s.title || '!'"
    ),
    "unmatched source rows inserted": (
        "MERGE INTO tasks t USING tasks s ON t.id = s.id AND t.org_id = $1 AND s.org_id = $1 "
        "WHEN MATCHED THEN UPDATE SET title = s.title || '!' "
        "WHEN NOT MATCHED THEN INSERT (org_id, id, title) VALUES ($1, s.id + 1000, s.title)"
    ),
}


def test_a_merge_of_matched_rows_only_is_pinned_by_its_on(tmp_path: Path) -> None:
    for shape, sql in MATCHED_ONLY.items():
        assert _codes(sql, tmp_path) == [], shape
    for shape, sql in MERGE_LEAKS.items():
        assert _codes(sql, tmp_path) == ["TG001"], shape


async def test_a_merge_of_matched_rows_only_touches_the_request_rows(labelled: str) -> None:
    conn = await asyncpg.connect(labelled)
    own = "SELECT id, title FROM tasks WHERE org_id = 1 ORDER BY id"
    victims = "SELECT id, title FROM tasks WHERE org_id = 2 ORDER BY id"
    try:
        # the victim has a task of the request's task's id
        await conn.execute("INSERT INTO tasks VALUES (2, 100, 20, 'VICTIM secret', 2)")
        before = await conn.fetch(victims)
        for shape, sql in MATCHED_ONLY.items():
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(sql, 1)
                assert [tuple(r) for r in await conn.fetch(own)] == [(100, "Alpha!")], shape
                assert await conn.fetch(victims) == before, shape
            finally:
                await transaction.rollback()
        with pytest.raises(asyncpg.CardinalityViolationError):  # two source rows of id 100
            await conn.execute(MERGE_LEAKS["source unpinned"], 1)
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(MERGE_LEAKS["unmatched source rows inserted"], 1)
            titles = [r["title"] for r in await conn.fetch(own)]
            assert "VICTIM secret" in titles and "VICTIM task" in titles
        finally:
            await transaction.rollback()
        await conn.execute("DELETE FROM tasks WHERE org_id = 2 AND id = 100")
        transaction = conn.transaction()
        await transaction.start()
        try:  # … and no error when the victim has no task of that id
            await conn.execute(MERGE_LEAKS["source unpinned"], 1)
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


# ---------------------------------------------------------------- 4. FULL JOIN USING … AS j
_FULL = "SELECT p.name, t.title FROM projects p FULL JOIN tasks t USING ({}) AS j WHERE {}"
FULL_PINNED = {
    "the merged column through j": _FULL.format("org_id", "j.org_id = $1"),
    "with another merged column": _FULL.format("org_id, id", "$1 = j.org_id AND j.id > 0"),
    "as the bare column": _FULL.format("org_id", "org_id = $1"),
    # strict on p: p's NULL-extended rows go, every t left is p's match or NULL
    "one side pinned by the WHERE": _FULL.format("org_id", "p.org_id = $1"),
    "the other side pinned by the WHERE": _FULL.format("org_id", "$1 = t.org_id"),
}
FULL_UNPINNED = {
    "a merged column not the tenant's": _FULL.format("id", "j.id = $1"),
    "one side pinned, or NULL": _FULL.format("org_id", "(p.org_id = $1 OR p.org_id IS NULL)"),
}


def test_a_full_join_pinned_through_its_using_alias(tmp_path: Path) -> None:
    for shape, sql in FULL_PINNED.items():
        assert _codes(sql, tmp_path) == [], shape
    for shape, sql in FULL_UNPINNED.items():
        assert "TG001" in _codes(sql, tmp_path), shape


async def test_a_full_join_pinned_through_its_using_alias_returns_own_rows(
    labelled: str,
) -> None:
    conn = await asyncpg.connect(labelled)
    try:
        for shape, sql in FULL_PINNED.items():
            found = {v for r in await conn.fetch(sql, 1) for v in r}
            assert found - {None} == {"Alpha project", "Alpha"}, shape
        # the victim's task has no project: it comes NULL-extended
        await conn.execute("UPDATE tasks SET project_id = NULL WHERE org_id = 2")
        await conn.execute("DELETE FROM projects WHERE org_id = 2")
        for shape, sql in FULL_PINNED.items():
            found = {v for r in await conn.fetch(sql, 1) for v in r}
            assert found - {None} == {"Alpha project", "Alpha"}, shape
        for shape, sql in FULL_UNPINNED.items():  # the victim's task comes back
            found = {v for r in await conn.fetch(sql, 200 if "j.id" in sql else 1) for v in r}
            assert "VICTIM task" in found, shape
    finally:
        await conn.close()


# ---------------------------------------------------------------- 5. a SubPlan over a set operation
_SET = (
    "SELECT d.title FROM (SELECT name AS title, org_id, 'x' AS s FROM projects {} "
    "SELECT title, org_id, split_part(title, ',', 0) FROM tasks) d "
    "WHERE d.title >= 'M' AND {} AND d.org_id = $1"
)
HELD_ABOVE = {
    "union, in": _SET.format("UNION", "d.s IN (SELECT o.name FROM orgs o)"),
    "union, in under or": _SET.format(
        "UNION", "(d.s IS NULL OR d.title IN (SELECT o.name FROM orgs o))"
    ),
    "union, correlated exists": _SET.format(
        "UNION", "EXISTS (SELECT 1 FROM orgs o WHERE o.name = d.s)"
    ),
    "union, correlated scalar subquery": _SET.format(
        "UNION", "(d.s IS NULL) = (SELECT o.id > 0 FROM orgs o WHERE o.id = d.org_id)"
    ),
    "intersect, = any": _SET.format("INTERSECT", "d.s = ANY (SELECT o.name FROM orgs o)"),
    "a CTE, union, in": (
        "WITH d AS (SELECT name AS title, org_id, 'x' AS s FROM projects UNION "
        "SELECT title, org_id, split_part(title, ',', 0) FROM tasks) "
        "SELECT d.title FROM d WHERE d.title >= 'M' AND d.s IN (SELECT o.name FROM orgs o) "
        "AND d.org_id = $1"
    ),
}
PUSHED_DOWN = {
    "union, no subquery": _SET.format("UNION", "d.s IS NULL"),
    "union, uncorrelated exists": _SET.format(
        "UNION", "(d.s IS NULL OR NOT EXISTS (SELECT 1 FROM orgs o WHERE o.name = 'x'))"
    ),
}


def test_a_subplan_condition_is_not_pushed_into_a_set_operation(tmp_path: Path) -> None:
    for shape, sql in HELD_ABOVE.items():
        assert _codes(sql, tmp_path) == [], shape
    for shape, sql in PUSHED_DOWN.items():
        assert _codes(sql, tmp_path) == ["TG013"], shape


async def test_a_subplan_condition_tests_the_branches_pinned_rows(labelled: str) -> None:
    conn = await asyncpg.connect(labelled)
    try:
        await r29._scan_only(conn)
        for shape, sql in HELD_ABOVE.items():  # the victim's task is titled from 'M' on
            assert await conn.fetch(sql, 1) == [], shape
        for shape, sql in PUSHED_DOWN.items():
            with pytest.raises(asyncpg.InvalidParameterValueError):  # split_part's position 0
                await conn.fetch(sql, 1)
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
                assert await conn.fetch(sql, 1) == [], shape
            finally:
                await transaction.rollback()
    finally:
        await conn.close()


# ---------------------------------------------------------------- 6. spanning keys, statically
# A unique key (not the primary key) or an exclusion constraint of a tenant table without the
# tenant column is checked against every tenant's rows: a write giving one of its columns a
# value fails, or `ON CONFLICT DO NOTHING` skips, exactly when another tenant holds the value.
# The runtime guard reads those keys in the catalog; `tenantguard check` now reads them in the
# schema sources (TG013, the same finding).
SPANNING_SCHEMA = """
CREATE TABLE orgs (id int PRIMARY KEY, name text);
CREATE TABLE members (org_id int NOT NULL REFERENCES orgs (id), id int PRIMARY KEY,
  email text UNIQUE, handle text, nick text, code text, badge text, name text,
  UNIQUE (org_id, nick));
CREATE UNIQUE INDEX members_handle ON members (lower(handle));
CREATE UNIQUE INDEX members_badge ON members (badge) WHERE badge <> '';
ALTER TABLE members ADD CONSTRAINT members_code_key UNIQUE (code) DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE bookings (org_id int NOT NULL REFERENCES orgs (id), id int PRIMARY KEY,
  during int4range, EXCLUDE USING gist (during WITH &&));
CREATE TABLE archived (LIKE members INCLUDING INDEXES);
CREATE TABLE renamed (org_id int NOT NULL, id int PRIMARY KEY, ref text UNIQUE);
ALTER TABLE renamed RENAME COLUMN ref TO reference;
CREATE TABLE guessed (org_id int NOT NULL, id int PRIMARY KEY, email text UNIQUE, c text);
CREATE UNIQUE INDEX ON guessed (c);
ALTER TABLE guessed DROP CONSTRAINT IF EXISTS a_name_the_reader_does_not_know;
DROP INDEX IF EXISTS an_index_the_reader_does_not_know;
CREATE TABLE old_keys (org_id int NOT NULL, id int PRIMARY KEY, a text UNIQUE, b text);
CREATE UNIQUE INDEX old_keys_b ON old_keys (b);
DROP INDEX old_keys_b;
ALTER TABLE old_keys DROP CONSTRAINT old_keys_a_key;
"""
# the victim's (organisation 2) rows; the request's organisation 1 has member 10
SPANNING_DATA = """
INSERT INTO orgs VALUES (1, 'Own org'), (2, 'Victim org');
INSERT INTO members VALUES (1, 10, 'own@x', 'Own', 'o', 'O-1', 'B-0', 'Own'),
  (2, 20, 'victim@x', 'Victim', 'v', 'V-1', 'B-1', 'Victim');
INSERT INTO archived SELECT * FROM members WHERE org_id = 2;
INSERT INTO bookings VALUES (2, 20, '[1,10)');
INSERT INTO renamed VALUES (2, 20, 'R-1');
INSERT INTO guessed VALUES (1, 10, 'own@x', 'C-0'), (2, 20, 'victim@x', 'C-1');
INSERT INTO old_keys VALUES (2, 20, 'A-1', 'B-1');
"""
# (statement, the victim's value, a fresh value): $1 the organisation, $2 an id, $3 the value
SPANNING_WRITES = {
    "a unique column": (
        "INSERT INTO members (org_id, id, email) VALUES ($1, $2, $3)",
        "victim@x",
        "new@x",
    ),
    "a unique index on an expression": (
        "UPDATE members SET handle = $3 WHERE org_id = $1 AND id = $2",
        "VICTIM",
        "Other",
    ),
    "a partial unique index": (
        "INSERT INTO members (org_id, id, badge) VALUES ($1, $2, $3)",
        "B-1",
        "B-2",
    ),
    "a deferred unique key (checked at commit)": (
        "INSERT INTO members (org_id, id, code) VALUES ($1, $2, $3)",
        "V-1",
        "O-2",
    ),
    "an exclusion constraint": (
        "INSERT INTO bookings (org_id, id, during) VALUES ($1, $2, $3::text::int4range)",
        "[5,6)",
        "[20,30)",
    ),
    "LIKE … INCLUDING INDEXES": (
        "INSERT INTO archived (org_id, id, email) VALUES ($1, $2, $3)",
        "victim@x",
        "new@x",
    ),
    # a DROP of a name the reader does not know may be a key whose name it guessed: dropped from
    # the keys a pin stands on, kept among those a write is checked by (fail closed)
    "a key named by PostgreSQL, beside a drop of an unknown name": (
        "INSERT INTO guessed (org_id, id, email) VALUES ($1, $2, $3)",
        "victim@x",
        "new@x",
    ),
    "an index named by PostgreSQL, beside a drop of an unknown name": (
        "UPDATE guessed SET c = $3 WHERE org_id = $1 AND id = $2",
        "C-1",
        "C-2",
    ),
    "a renamed column": (
        "INSERT INTO renamed (org_id, id, reference) VALUES ($1, $2, $3)",
        "R-1",
        "R-2",
    ),
}
# … the same writes where no key spans tenants: the victim's value is written as any other
SPANNING_TWINS = {
    "a key with the tenant column": (
        "INSERT INTO members (org_id, id, nick) VALUES ($1, $2, $3)",
        "v",
    ),
    "a column of no key": ("INSERT INTO members (org_id, id, name) VALUES ($1, $2, $3)", "Victim"),
    "a dropped index and a dropped constraint": (
        "INSERT INTO old_keys (org_id, id, a, b) VALUES ($1, $2, $3, $3)",
        "A-1",
    ),
}
SKIPPED = (
    "INSERT INTO renamed (org_id, id, reference) VALUES ($1, $2, $3) "
    "ON CONFLICT DO NOTHING RETURNING id"
)


@pytest.fixture
async def spanning(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, SPANNING_SCHEMA + SPANNING_DATA) as dsn:
        yield dsn


def _spanning_codes(sql: str, tmp_path: Path) -> list[str]:
    policy = policy_for(tmp_path, SPANNING_SCHEMA, tenant_column="org_id")
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


def test_a_write_of_a_key_spanning_tenants_is_found_from_schema_sources(tmp_path: Path) -> None:
    for shape, (sql, _, _) in SPANNING_WRITES.items():
        assert _spanning_codes(sql, tmp_path) == ["TG013"], shape
    assert _spanning_codes(SKIPPED, tmp_path) == ["TG013"]
    for shape, (sql, _) in SPANNING_TWINS.items():
        assert _spanning_codes(sql, tmp_path) == [], shape
    policy = policy_for(tmp_path, SPANNING_SCHEMA, tenant_column="org_id")
    (finding,) = analyze_statement(SPANNING_WRITES["a unique column"][0], policy).findings
    assert finding.message.startswith(
        "the value written to members.email is checked against every tenant's rows: (email)"
    )


async def test_a_write_of_a_key_spanning_tenants_tells_whether_another_holds_the_value(
    spanning: str,
) -> None:
    conn = await asyncpg.connect(spanning)
    try:
        for shape, (sql, victims, fresh) in SPANNING_WRITES.items():
            with pytest.raises((asyncpg.UniqueViolationError, asyncpg.ExclusionViolationError)):
                await conn.execute(sql, 1, 10 if "UPDATE" in sql else 11, victims)
            transaction = conn.transaction()
            await transaction.start()
            try:  # a value no tenant holds is written
                await conn.execute(sql, 1, 10 if "UPDATE" in sql else 11, fresh)
            finally:
                await transaction.rollback()
            assert shape
        assert await conn.fetch(SKIPPED, 1, 11, "R-1") == []  # skipped: the victim's
        transaction = conn.transaction()
        await transaction.start()
        try:
            assert len(await conn.fetch(SKIPPED, 1, 11, "R-2")) == 1
        finally:
            await transaction.rollback()
        for shape, (sql, victims) in SPANNING_TWINS.items():
            transaction = conn.transaction()
            await transaction.start()
            try:
                assert await conn.execute(sql, 1, 11, victims) == "INSERT 0 1", shape
            finally:
                await transaction.rollback()
    finally:
        await conn.close()


async def test_the_schema_sources_show_the_keys_the_runtime_reads_in_the_catalog(
    spanning: str, tmp_path: Path
) -> None:
    from tenantguard.runtime.schema_code import SPANNING_QUERY, spanning_keys

    conn = await asyncpg.connect(spanning)
    try:
        rows = await conn.fetch(SPANNING_QUERY)
    finally:
        await conn.close()
    policy = policy_for(tmp_path, SPANNING_SCHEMA, tenant_column="org_id")
    catalog = spanning_keys([tuple(r) for r in rows], lambda t: t != "orgs", "org_id")
    assert {t: set(k) for t, k in policy.spanning_keys.items()} == {  # type: ignore[attr-defined]
        t: set(k) for t, k in catalog.items()
    }


ALEMBIC_KEYS = '''"""create members"""
from alembic import op
import sqlalchemy as sa

revision = "c3d2e1"
down_revision = None


def upgrade():
    op.create_table(
        "members",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.Text(), unique=True),
        sa.Column("handle", sa.Text()),
        sa.Column("nick", sa.Text()),
    )
    op.create_unique_constraint("members_handle_key", "members", ["handle"])
    op.create_unique_constraint("members_nick_key", "members", ["org_id", "nick"])
'''


def test_alembic_keys_spanning_tenants_are_read(tmp_path: Path) -> None:
    from tenantguard.config import Settings, build_policy

    versions = tmp_path / "alembic" / "versions"
    versions.mkdir(parents=True)
    (versions / "c3d2e1_create_members.py").write_text(ALEMBIC_KEYS, encoding="utf-8")
    policy = build_policy(
        Settings(root=tmp_path, schema_paths=("alembic/versions",), tenant_column="org_id")
    )
    insert = "INSERT INTO members (org_id, id, {}) VALUES ($1, $2, $3)"
    for column, codes in (("email", ["TG013"]), ("handle", ["TG013"]), ("nick", [])):
        found = analyze_statement(insert.format(column), policy).findings
        assert [f.code for f in found] == codes, column
