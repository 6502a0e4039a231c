"""The test suite's own databases (tests/conftest.py `fresh_database`): a database a test left as
it was copied is handed to the next test that asks for the same contents; one it changed in any
way is dropped, and the next test gets a new copy. A test never sees an earlier test's change."""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database

CONTENTS = """
CREATE TABLE t (id bigserial PRIMARY KEY, a int NOT NULL);
INSERT INTO t (a) VALUES (1), (2);
"""
SEEN = "SELECT (SELECT string_agg(id || ':' || a, ',' ORDER BY id) FROM t), nextval('t_id_seq')"

CHANGES = [
    "INSERT INTO t (a) VALUES (3)",
    "UPDATE t SET a = a",
    "DELETE FROM t WHERE a = 2",
    "SELECT nextval('t_id_seq')",
    "SELECT setval('t_id_seq', 1)",
    "BEGIN; INSERT INTO t (a) VALUES (3); ROLLBACK",
    "SELECT * FROM t FOR UPDATE",
    "ALTER TABLE t ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE t RENAME COLUMN a TO b",
    "COMMENT ON TABLE t IS 'changed'",
    "GRANT SELECT ON t TO PUBLIC",
    "CREATE TEMP TABLE scratch (a int)",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET work_mem = ''8MB''', "
    "current_database()); END $$",
    "TRUNCATE t",
    "VACUUM t",
]
READS = [
    "SELECT * FROM t",
    "SELECT count(*) FROM t JOIN t AS u USING (id)",
    "SELECT last_value FROM t_id_seq",
    "SET work_mem = '8MB'",
    "SELECT set_config('app.tenant_id', '1', false)",
    "BEGIN; SELECT * FROM t; ROLLBACK",
]


async def _run(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _seen(dsn: str) -> tuple[object, ...]:
    conn = await asyncpg.connect(dsn)
    try:
        return tuple(await conn.fetchrow(SEEN))
    finally:
        await conn.close()


@pytest.mark.parametrize("change", CHANGES)
async def test_a_database_a_test_changed_is_not_handed_on(
    postgres: ThrowawayPostgres, change: str
) -> None:
    async with fresh_database(postgres, CONTENTS) as first:
        await _run(first, change)
    async with fresh_database(postgres, CONTENTS) as second:
        assert second != first
        assert await _seen(second) == ("1:1,2:2", 3)


@pytest.mark.parametrize("read", READS)
async def test_a_database_a_test_only_read_is_handed_on_as_it_was(
    postgres: ThrowawayPostgres, read: str
) -> None:
    async with fresh_database(postgres, CONTENTS) as first:
        await _run(first, read)
    async with fresh_database(postgres, CONTENTS) as second:
        assert second == first  # the last one handed back is the next handed out
        assert await _seen(second) == ("1:1,2:2", 3)  # (nextval: this one is not handed on)
    async with fresh_database(postgres, CONTENTS) as third:
        assert third != second


async def test_a_connection_left_open_keeps_its_database_from_the_next_test(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, CONTENTS) as first:
        left = await asyncpg.connect(first)
    try:
        async with fresh_database(postgres, CONTENTS) as second:
            assert second != first
        # the database was dropped WITH (FORCE), which ended the connection
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await left.fetchval("SELECT 1")
    finally:
        left.terminate()
