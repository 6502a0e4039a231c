"""Round 31, helper e: false alarms of the static proof left open in round 30, on round 29's
schema (tests/test_attack29a_proof.py: tenant column `org_id`, organisation 1 the request's,
2 the victim) and a global table of labels.

1. TG013, one row by a key: a scalar subquery whose WHERE fixes a unique text key by a literal
   cast to text (`code = 'a'::text`, `vc = 'a'::varchar`) returns one row at most, as the bare
   literal does; a cast to text or varchar was read as a value of another type. Not a column
   of a loose collation (`cs text COLLATE ci` with a unique index in "C": 'a' and 'A' are two
   keys that `=` finds equal), nor a column no unique key holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement

from . import test_attack29a_proof as r29
from .conftest import fresh_database
from .test_schema import policy_for

SCHEMA = (
    r29.SCHEMA
    + """
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE labels (code text PRIMARY KEY, vc varchar(10) UNIQUE, cs text COLLATE ci,
  name text);
CREATE UNIQUE INDEX labels_cs ON labels (cs COLLATE "C");
"""
)
DATA = (
    r29.DATA
    + """
INSERT INTO labels VALUES ('a', 'a', 'a', 'same'), ('b', 'b', 'A', 'same');
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
