"""Round 31: reads of another tenant's rows past the runtime guard (helper h31b), on a real
server.

1. A row read by its key through a function that names the table as text. dblink's
   `dblink_build_sql_insert(relname, pk_positions, n, pk_values, new_values)` (and
   `dblink_build_sql_update`) reads the local row whose primary key has the values given and
   writes it out as an INSERT (UPDATE) statement, every column's value in it. The guard read
   `'patients'` as a string, no table: clinic 1's request got clinic 2's patient Carla
   (`VALUES('3','2','Carla',…,'221','guest','{}',…)`, medical history included) by trying keys.
   Refused now (TG006, as the other functions that read a table given as text: `crosstab`,
   `connectby`, `xpath_table`); `dblink_build_sql_delete` reads no row (it prints the key
   values it is given) and still runs.
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.engine.analyze import analyze_statement
from tenantguard.runtime import connect, tenant
from tests.conftest import BASELINE, CLINICS, fresh_database
from tests.test_runtime import POLICY

DBLINK = BASELINE.read_text(encoding="utf-8") + CLINICS + "CREATE EXTENSION dblink;\n"


@pytest.fixture
async def with_dblink(postgres: object) -> object:
    async with fresh_database(postgres, DBLINK) as dsn:  # type: ignore[arg-type]
        yield dsn


BY_KEY = [
    "SELECT dblink_build_sql_insert('patients', '1', 1, '{3}', '{3}')",
    "SELECT dblink_build_sql_update('patients', '1', 1, '{3}', '{3}')",
    "SELECT dblink_build_sql_insert('public.patients'::text, '1'::int2vector, 1, '{3}', '{3}')",
    "SELECT x FROM pg_catalog.generate_series(3, 3) k, "
    "LATERAL public.DBLINK_BUILD_SQL_INSERT('patients', '1', 1, ARRAY[k::text], ARRAY[k::text]) x",
]


@pytest.mark.parametrize("statement", BY_KEY)
async def test_another_clinics_row_is_not_read_by_its_key(with_dblink: str, statement: str) -> None:
    conn = await connect(with_dblink, policy=POLICY)
    try:
        with tenant(1):
            try:
                outcome = await conn.fetchval(statement)
            except TenantIsolationError:
                outcome = "refused"
    finally:
        await conn.close()
    assert outcome == "refused"  # was: INSERT INTO patients(…) VALUES('3','2','Carla',…)


async def test_a_statement_of_given_keys_and_pinned_reads_still_run(with_dblink: str) -> None:
    conn = await connect(with_dblink, policy=POLICY)
    try:
        with tenant(1):
            deleting = await conn.fetchval(
                "SELECT dblink_build_sql_delete('patients', '1', 1, '{1}')"
            )
            assert deleting == "DELETE FROM patients WHERE id = '1'"
            names = await conn.fetch(
                "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY 1", 1
            )
            assert [row[0] for row in names] == ["Ana", "Bruno"]
    finally:
        await conn.close()


def test_the_static_check_refuses_them_too() -> None:
    for statement in BY_KEY:
        codes = {f.code for f in analyze_statement(statement, POLICY).findings}
        assert "TG006" in codes, statement


async def test_the_row_was_readable_without_the_guard(with_dblink: str) -> None:
    """What the function gives on the server (the attack's ground truth)."""
    raw = await asyncpg.connect(with_dblink)
    try:
        row = await raw.fetchval(BY_KEY[0])
    finally:
        await raw.close()
    assert "'Carla'" in row and "'2'" in row
