"""Round 31, outside attack g, on round 31's acceptances (tests/test_h31e_proof.py's schema:
tenant column `org_id`, organisation 1 the request's, 2 the victim, whose task is titled from
'M' on).

1. TG013, a SubPlan held above a set operation (c7f3a58): a reader's condition that is itself
   an EXISTS, an IN or an `op ANY` of a subquery was read as held above a UNION (a SubPlan or
   a semi-join). PostgreSQL pulls such a condition up into a semi-join, and each of its
   conditions reading the reader's row but none of the subquery's own tables is a plain
   filter of the reader, pushed into the branches' scans before the pin:
   `EXISTS (SELECT 1 FROM orgs o WHERE d.s IS NULL)`, `EXISTS (SELECT 1 FROM (SELECT 1) x
   WHERE d.s IS NULL)`, `(d.s IS NULL) IN (SELECT true)` failed on the victim's task
   (split_part's position 0), accepted.
2. TG001, a USING column merged in another type (bbc1f42, 397e419 and older): PostgreSQL
   merges `USING (org_id)` in the two columns' common type, so beside a `real` column (a table
   whose org_id is real, a derived table's or VALUES' cast) the merged `org_id` / `j.org_id`
   is `t.org_id::real`, where organisation 16777217 equals 16777216: `tasks t LEFT JOIN
   org_stats s USING (org_id) WHERE org_id = $1`, `tasks t FULL JOIN (SELECT 0.5::real AS
   org_id) p USING (org_id) AS j WHERE j.org_id = $1` returned the victim's task, accepted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres

from . import test_attack29a_proof as r29
from . import test_h31e_proof as h31e
from .conftest import fresh_database


@pytest.fixture
async def labelled(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, h31e.SCHEMA + h31e.DATA) as dsn:
        yield dsn


# ---------------------------------------------------------------- 1. a semi-join's own filter
PULLED_UP = {
    "exists, a table, a condition of the reader's alone": h31e._SET.format(
        "UNION", "EXISTS (SELECT 1 FROM orgs o WHERE d.s IS NULL AND o.name IS NOT NULL)"
    ),
    "exists from a FROM-less subquery": h31e._SET.format(
        "UNION", "EXISTS (SELECT 1 FROM (SELECT 1) x WHERE d.s IS NULL)"
    ),
    "exists from values": h31e._SET.format(
        "INTERSECT", "EXISTS (SELECT FROM (VALUES (1)) x WHERE d.s IS NULL)"
    ),
    "in, a constant list item": h31e._SET.format("UNION", "(d.s IS NULL) IN (SELECT true)"),
    "in, a derived table's constant": h31e._SET.format(
        "UNION", "(d.s IS NULL) IN (SELECT y.t FROM (SELECT true AS t) y)"
    ),
}


def test_a_pulled_up_subquery_is_no_subplan(tmp_path: Path) -> None:
    for shape, sql in PULLED_UP.items():
        assert h31e._codes(sql, tmp_path) == ["TG013"], shape
    for shape, sql in h31e.HELD_ABOVE.items():  # still accepted: a join above the branches
        assert h31e._codes(sql, tmp_path) == [], shape


async def test_a_pulled_up_subquery_fails_on_the_victims_row(labelled: str) -> None:
    conn = await asyncpg.connect(labelled)
    try:
        await r29._scan_only(conn)
        for shape, sql in PULLED_UP.items():
            with pytest.raises(asyncpg.InvalidParameterValueError):  # split_part's position 0
                await conn.fetch(sql, 1)
            transaction = conn.transaction()
            await transaction.start()
            try:  # the victim's task titled before 'M': no row reaches the filter
                await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
                assert await conn.fetch(sql, 1) == [], shape
            finally:
                await transaction.rollback()
    finally:
        await conn.close()


# ---------------------------------------------------------------- 2. a merged column of another type
MERGED_SCHEMA = h31e.SCHEMA + "CREATE TABLE org_stats (org_id real NOT NULL, hits int);\n"
BIG = """
INSERT INTO orgs VALUES (16777216, 'Big own'), (16777217, 'Big victim');
INSERT INTO projects VALUES (16777216, 10, 'Own project'), (16777217, 20, 'VICTIM project');
INSERT INTO tasks VALUES (16777216, 100, 10, 'Own task', 1), (16777217, 200, 20, 'VICTIM task', 2);
"""
MERGED_LOSSY = {
    "a real table, left join": (
        "SELECT t.title FROM tasks t LEFT JOIN org_stats s USING (org_id) WHERE org_id = $1"
    ),
    "a derived real, full join alias": (
        "SELECT t.title FROM tasks t FULL JOIN (SELECT 0.5::real AS org_id) p "
        "USING (org_id) AS j WHERE j.org_id = $1"
    ),
    "a derived real, full join": (
        "SELECT t.title FROM tasks t FULL JOIN (SELECT 0.5::real AS org_id) p "
        "USING (org_id) WHERE org_id = $1"
    ),
    "values, full join": (
        "SELECT t.title FROM tasks t FULL JOIN (VALUES (0.5::real)) p(org_id) "
        "USING (org_id) WHERE org_id = $1"
    ),
}
MERGED_EXACT = {
    "a table, left join": (
        "SELECT t.title FROM tasks t LEFT JOIN projects p USING (org_id) WHERE org_id = $1"
    ),
    "a derived table's own column, full join alias": (
        "SELECT t.title FROM tasks t FULL JOIN (SELECT org_id FROM projects) p "
        "USING (org_id) AS j WHERE j.org_id = $1"
    ),
}


@pytest.fixture
async def big(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, MERGED_SCHEMA + h31e.DATA + BIG) as dsn:
        yield dsn


def _merged_codes(sql: str, tmp_path: Path) -> list[str]:
    from tenantguard.engine.analyze import analyze_statement

    from .test_schema import policy_for

    policy = policy_for(tmp_path, MERGED_SCHEMA, tenant_column="org_id")
    return sorted({f.code for f in analyze_statement(sql, policy).findings})  # type: ignore[arg-type]


def test_a_column_merged_in_another_type_pins_nothing(tmp_path: Path) -> None:
    for shape, sql in MERGED_LOSSY.items():
        assert _merged_codes(sql, tmp_path) == ["TG001"], shape
    for shape, sql in MERGED_EXACT.items():
        assert _merged_codes(sql, tmp_path) == [], shape


async def test_a_column_merged_in_real_returns_the_victims_task(big: str) -> None:
    conn = await asyncpg.connect(big)
    try:
        await conn.execute("INSERT INTO org_stats VALUES (16777216, 5)")
        for shape, sql in MERGED_LOSSY.items():
            titles = sorted(r["title"] for r in await conn.fetch(sql, 16777216))
            assert titles == ["Own task", "VICTIM task"], shape
        for shape, sql in MERGED_EXACT.items():
            assert [r["title"] for r in await conn.fetch(sql, 16777216)] == ["Own task"], shape
    finally:
        await conn.close()
