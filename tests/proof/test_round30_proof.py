"""Round 30, on round 29's schema (tests/proof/test_attack29a_proof.py: tenant column `org_id`,
organisation 1 the request's, 2 the victim).

TG013: a condition of a reader on a column of a derived table or CTE whose body is a set
operation. PostgreSQL pushes the reader's conditions into every branch (a UNION ALL is pulled up
into an append of its branches, a UNION or INTERSECT gets them pushed down), where each becomes
a condition of the branch's scan, placed by its cost beside the pin — the branch's column at the
same position standing for the reader's column. A call that can fail in a branch's select list,
tested so, may run on the victim's rows before the pin: the error tells whether the victim has
such a row. Only one-body readers were followed out so.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.proof.test_attack29a_proof import ERRORS, _codes, _scan_only, orgs  # noqa: F401 (a fixture)

_UNION = "SELECT d.title FROM ({}) d WHERE d.title >= 'M' AND d.s IS NULL AND d.org_id = $1"
FAILS = "SELECT title, org_id, split_part(title, ',', 0) AS s FROM tasks"
FAILS_UNNAMED = "SELECT title, org_id, split_part(title, ',', 0) FROM tasks"
HARMLESS = "SELECT name AS title, org_id, 'x' AS s FROM projects"
HARMLESS_UNNAMED = "SELECT name, org_id, 'x' FROM projects"
SET_OPERATIONS = {
    "UNION ALL, the first branch": _UNION.format(f"{FAILS} UNION ALL {HARMLESS_UNNAMED}"),
    "UNION ALL, the second branch": _UNION.format(f"{HARMLESS} UNION ALL {FAILS_UNNAMED}"),
    "UNION": _UNION.format(f"{HARMLESS} UNION {FAILS_UNNAMED}"),
    "a column alias list": (
        f"SELECT d.title FROM ({HARMLESS_UNNAMED} UNION ALL {FAILS_UNNAMED}) d (title, org_id, s)"
        " WHERE d.title >= 'M' AND d.s IS NULL AND d.org_id = $1"
    ),
    "a CTE": (
        f"WITH d AS ({HARMLESS} UNION ALL {FAILS_UNNAMED}) "
        "SELECT d.title FROM d WHERE d.title >= 'M' AND d.s IS NULL AND d.org_id = $1"
    ),
    # pinned inside each branch too: PostgreSQL puts the reader's conditions first, the
    # branch's own pin (of the same cost) after them (shown by EXPLAIN on PostgreSQL 15)
    "each branch pinned inside": _UNION.format(
        f"{HARMLESS} WHERE org_id = $1 UNION ALL {FAILS_UNNAMED} WHERE org_id = $1"
    ),
}
# twins: a call that costs more than the pin (placed after it in the branch's scan); a
# MATERIALIZED CTE pinned inside (not merged: the reader tests the org's own rows only)
TWINS = {
    "materialized": (
        f"WITH d AS MATERIALIZED ({HARMLESS} WHERE org_id = $1 UNION ALL {FAILS_UNNAMED} "
        "WHERE org_id = $1 AND title >= 'M') "
        "SELECT d.title FROM d WHERE d.title >= 'M' AND d.s IS NULL"
    ),
    "costlier": _UNION.format(
        f"{HARMLESS} UNION ALL SELECT title, org_id, replace(title, ',', '')::int::text FROM tasks"
    ),
}


def test_a_failing_call_of_a_branch_tested_outside_is_found(tmp_path: Path) -> None:
    for shape, sql in SET_OPERATIONS.items():
        assert _codes(sql, tmp_path) == ["TG013"], shape
    for shape, sql in TWINS.items():
        assert _codes(sql, tmp_path) == [], shape


async def test_a_failing_call_of_a_branch_tells_whether_the_victim_has_such_a_row(
    orgs: str,  # noqa: F811 (the fixture)
) -> None:
    conn = await asyncpg.connect(orgs)
    try:
        await _scan_only(conn)
        for shape, sql in SET_OPERATIONS.items():
            # the victim's task is titled from 'M' on: the call runs on it and fails
            with pytest.raises(ERRORS):
                await conn.fetch(sql, 1)
            transaction = conn.transaction()
            await transaction.start()
            try:  # … titled before 'M': no row reaches the call, no error
                await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
                await conn.execute("UPDATE projects SET name = 'Aardvark' WHERE org_id = 2")
                assert await conn.fetch(sql, 1) == [], shape
            finally:
                await transaction.rollback()
        for shape, sql in TWINS.items():  # run after the pin whatever the victim has
            assert await conn.fetch(sql, 1) == [], shape
    finally:
        await conn.close()


# TG013's scalar subqueries of several rows (round 29) took these, which return one row at
# most, for several: the row a unique key fixes (`projects`' primary key is (org_id, id)),
# `FETCH FIRST [1] ROW ONLY` and `LIMIT 01` (only `LIMIT 1` was read), one aggregate row of
# `GROUP BY ()`. Run on the victim's rows before the pin, none can fail.
_SEARCH = "SELECT title FROM tasks WHERE title >= 'M' AND title <> ({}) AND org_id = $1"
ONE_ROW = {
    "a unique key": "SELECT name FROM projects WHERE org_id = $1 AND id = 10",
    "a unique key, the other way round": "SELECT name FROM projects WHERE 10 = id AND org_id = $1",
    "fetch first row only": "SELECT name FROM projects WHERE org_id = $1 FETCH FIRST ROW ONLY",
    "fetch first 1 rows only": "SELECT name FROM projects WHERE org_id = $1 FETCH FIRST 1 ROWS ONLY",
    "limit 01": "SELECT name FROM projects WHERE org_id = $1 LIMIT 01",
    "group by ()": "SELECT max(name) FROM projects WHERE org_id = $1 GROUP BY ()",
}
# … and their twins of several rows (the org has two projects): half the key, a key compared by
# `>`, WITH TIES, 2 rows, a set-returning call
SEVERAL_ROWS = {
    "half the key": "SELECT name FROM projects WHERE org_id = $1",
    "a key compared by >": "SELECT name FROM projects WHERE org_id = $1 AND id > 0",
    "with ties": (
        "SELECT name FROM projects WHERE org_id = $1 ORDER BY org_id FETCH FIRST 1 ROW WITH TIES"
    ),
    "fetch first 2": "SELECT name FROM projects WHERE org_id = $1 FETCH FIRST 2 ROWS ONLY",
    "a key and a set-returning call": (
        "SELECT unnest(ARRAY[name, name]) FROM projects WHERE org_id = $1 AND id = 10"
    ),
}


def test_a_subquery_of_one_row_is_not_read_as_several(tmp_path: Path) -> None:
    for shape, sql in ONE_ROW.items():
        assert _codes(_SEARCH.format(sql), tmp_path) == [], shape
    for shape, sql in SEVERAL_ROWS.items():
        assert _codes(_SEARCH.format(sql), tmp_path) == ["TG013"], shape


async def test_a_subquery_of_one_row_fails_on_no_row(orgs: str) -> None:  # noqa: F811
    conn = await asyncpg.connect(orgs)
    try:
        await _scan_only(conn)
        for shape, sql in ONE_ROW.items():  # the victim's task reaches it: no error
            assert await conn.fetch(_SEARCH.format(sql), 1) == [], shape
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute("INSERT INTO projects VALUES (1, 11, 'Beta project')")
            for shape, sql in ONE_ROW.items():
                assert await conn.fetch(_SEARCH.format(sql), 1) == [], shape
            for shape, sql in SEVERAL_ROWS.items():
                with pytest.raises(asyncpg.CardinalityViolationError):
                    async with conn.transaction():  # (a savepoint)
                        await conn.fetch(_SEARCH.format(sql), 1)
                assert shape
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
