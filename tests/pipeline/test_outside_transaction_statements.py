"""Which statements PostgreSQL refuses inside a transaction block, as the patch runner reads
them (`outside_transaction_only`: TG108, and the runner's refusal before any patch runs) —
against what PostgreSQL 15 says of each inside one. Round 30 added those that work on many
tables or the whole session (`REINDEX SCHEMA/SYSTEM/DATABASE`, `CLUSTER` of every clustered
table, `DISCARD ALL`) and `ALTER DATABASE … SET TABLESPACE`: a patch holding one was applied
up to it and failed there."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pglast
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tenantguard.patches.statements import outside_transaction_only
from tests.conftest import fresh_database
from tests.pipeline.test_pipeline_faults import fetchval, write

REFUSED = [
    "CREATE INDEX CONCURRENTLY i ON t (n)",
    "DROP INDEX CONCURRENTLY IF EXISTS i",
    "REINDEX TABLE CONCURRENTLY t",
    "REINDEX (CONCURRENTLY) TABLE t",
    "VACUUM t",
    "VACUUM (ANALYZE) t",
    "CREATE DATABASE never_made",
    "DROP DATABASE IF EXISTS never_made",
    "ALTER SYSTEM SET work_mem = '8MB'",
    "CREATE TABLESPACE never_made LOCATION '/nonexistent'",
    "DROP TABLESPACE IF EXISTS never_made",
    "REINDEX SCHEMA public",
    "REINDEX SYSTEM {db}",
    "REINDEX DATABASE {db}",
    "CLUSTER",
    "CLUSTER VERBOSE",
    "DISCARD ALL",
    "ALTER DATABASE {db} SET TABLESPACE pg_default",
]
RUN = [
    "CREATE INDEX i ON t (n)",
    "REINDEX TABLE t",
    "REINDEX INDEX t_pkey",
    "ANALYZE t",
    "CLUSTER t USING t_pkey",
    "DISCARD TEMP",
    "DISCARD PLANS",
    "ALTER DATABASE {db} SET work_mem = '8MB'",
]


async def test_the_runner_knows_what_postgres_refuses_in_a_transaction(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, "CREATE TABLE t (id int PRIMARY KEY, n int);") as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            db = await conn.fetchval("SELECT current_database()")
            for statement, refused in [(s, True) for s in REFUSED] + [(s, False) for s in RUN]:
                sql = statement.format(db=db)
                told = outside_transaction_only(pglast.parse_sql(sql)[0].stmt)
                assert (told is not None) is refused, (sql, told)
                transaction = conn.transaction()
                await transaction.start()
                try:
                    await conn.execute(sql)
                    error = ""
                except asyncpg.PostgresError as failure:
                    error = str(failure)
                finally:
                    await transaction.rollback()
                assert ("cannot run inside a transaction block" in error) is refused, (sql, error)
        finally:
            await conn.close()


@pytest.mark.parametrize("statement", ["DISCARD ALL", "REINDEX SCHEMA public", "CLUSTER"])
async def test_such_a_patch_is_refused_before_anything_runs(
    database: str, tmp_path: Path, statement: str
) -> None:
    """Before: the first patch was applied, then the second failed on PostgreSQL's 'cannot run
    inside a transaction block' — a startup failing on every run, half of the patches in."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    write(tmp_path, "0002_x.sql", f"SELECT 1;\n{statement};\n")
    with pytest.raises(PatchError) as refused:
        await apply_patches(database, tmp_path)
    said = str(refused.value)
    assert "0002_x.sql:2:1: " in said and "`-- tenantguard: no-transaction`" in said
    assert await fetchval(database, "SELECT to_regclass('t') IS NULL") is True
