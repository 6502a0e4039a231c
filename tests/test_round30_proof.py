"""Round 30, on round 29's schema (tests/test_attack29a_proof.py: tenant column `org_id`,
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

from .test_attack29a_proof import ERRORS, _codes, _scan_only, orgs  # noqa: F401 (a fixture)

_UNION = (
    "SELECT d.title FROM ({}) d WHERE d.title >= 'M' AND d.s IS NULL AND d.org_id = $1"
)
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
