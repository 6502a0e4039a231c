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
