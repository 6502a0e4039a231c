"""The test suite's own databases (tests/conftest.py `fresh_database`): a database a test left as
it was copied is handed to the next test that asks for the same contents; one it changed in any
way is dropped, and the next test gets a new copy. A test never sees an earlier test's change."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import _template, fresh_database

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


async def test_copies_of_a_template_with_an_unlogged_sequence_are_never_handed_on(
    postgres: ThrowawayPostgres,
) -> None:
    """nextval() of an unlogged sequence writes no WAL: the change would go unseen."""
    contents = "CREATE UNLOGGED SEQUENCE u;"
    async with fresh_database(postgres, contents) as first:
        await _run(first, "SELECT nextval('u')")
    async with fresh_database(postgres, contents) as second:
        assert second != first
        conn = await asyncpg.connect(second)
        try:
            assert await conn.fetchval("SELECT nextval('u')") == 1
        finally:
            await conn.close()


async def test_a_test_that_changes_the_servers_settings_fails_and_they_are_reset(
    postgres: ThrowawayPostgres,
) -> None:
    """ALTER SYSTEM writes no WAL, and no copy undoes it."""
    with pytest.raises(AssertionError, match="ALTER SYSTEM"):
        async with fresh_database(postgres, CONTENTS) as dsn:
            await _run(dsn, "ALTER SYSTEM SET work_mem = '7MB'")
            await _run(dsn, "SELECT pg_reload_conf()")
    async with fresh_database(postgres, CONTENTS) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await asyncio.sleep(0.2)  # the reload reaches new sessions
            assert await conn.fetchval("SHOW work_mem") == "4MB"
        finally:
            await conn.close()


async def test_no_test_can_connect_to_a_template(postgres: ThrowawayPostgres) -> None:
    """A change to the template itself would reach every later copy."""
    async with fresh_database(postgres, CONTENTS):
        pass
    template = await _template(postgres, CONTENTS)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError, match="not currently accepting"):
        await asyncpg.connect(postgres.dsn_for(template))
