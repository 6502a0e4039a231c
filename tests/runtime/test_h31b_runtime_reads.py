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

2. Counters of an index over every tenant's rows under names TG006 did not list. It refuses
   `pgstatindex()` and `pgstattuple()` (whole-table counters), but pgstattuple's
   `pgstatginindex()` (and `pgstathashindex()`) passed, and so did the built-in
   `gin_clean_pending_list()` and `brin_summarize_new_values()`/`brin_summarize_range()`, which
   return how many pages they processed. With a GIN index on patients' medical history (its
   pending list fills with each insert), clinic 1's request read `pending_tuples` 0, then 2
   after clinic 2 admitted two patients; `gin_clean_pending_list` returned 1 (pages) exactly
   when another clinic had written. Refused now (TG006, as the other whole-table counters), and
   so are pg_visibility's `pg_check_frozen()`/`pg_check_visible()` (row places of every
   tenant) and amcheck's `verify_heapam()` (a table's pages, item by item).
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.engine.analyze import analyze_statement
from tenantguard.runtime import connect, tenant
from tests.conftest import BASELINE, CLINICS, fresh_database
from tests.runtime.test_runtime import POLICY

DBLINK = BASELINE.read_text(encoding="utf-8") + CLINICS + "CREATE EXTENSION dblink;\n"
GIN = (
    BASELINE.read_text(encoding="utf-8")
    + CLINICS
    + "CREATE EXTENSION pgstattuple;\n"
    + "CREATE INDEX patients_history ON patients USING gin (medical_history) "
    + "WITH (fastupdate = on);\n"
)


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


@pytest.fixture
async def with_gin(postgres: object) -> object:
    async with fresh_database(postgres, GIN) as dsn:  # type: ignore[arg-type]
        yield dsn


COUNTERS = [
    "SELECT pending_tuples FROM pgstatginindex('patients_history')",
    "SELECT gin_clean_pending_list('patients_history')",
]


@pytest.mark.parametrize("statement", COUNTERS)
async def test_an_index_counter_does_not_count_another_clinics_writes(
    with_gin: str, statement: str
) -> None:
    owner = await asyncpg.connect(with_gin)
    conn = await connect(with_gin, policy=POLICY)
    try:
        await owner.execute("SELECT gin_clean_pending_list('patients_history')")
        seen = []
        for round_ in range(2):
            with tenant(1):
                try:
                    seen.append(await conn.fetchval(statement))
                except TenantIsolationError:
                    seen.append("refused")
            if round_:
                break
            # clinic 2 admits two patients between clinic 1's two reads
            await owner.execute(
                "INSERT INTO patients (tenant_id, first_name, phone_number, medical_history) "
                "VALUES (2, 'Dora', '222', '{\"a\": 1}'), (2, 'Eva', '223', '{\"b\": 2}')"
            )
    finally:
        await conn.close()
        await owner.close()
    assert seen == ["refused", "refused"]  # was [0, 2] (pending tuples), [0, 1] (pages)


@pytest.mark.parametrize(
    "name",
    [
        "pgstatginindex", "pgstathashindex", "gin_clean_pending_list",
        "brin_summarize_new_values", "brin_summarize_range", "pg_check_frozen",
        "pg_check_visible", "verify_heapam",
    ],
)  # fmt: skip
def test_the_other_counters_are_refused_by_the_static_check(name: str) -> None:
    codes = {f.code for f in analyze_statement(f"SELECT * FROM {name}('x')", POLICY).findings}
    assert "TG006" in codes


async def test_a_gin_indexed_clinic_read_still_runs(with_gin: str) -> None:
    conn = await connect(with_gin, policy=POLICY)
    try:
        with tenant(2):
            rows = await conn.fetch(
                "SELECT first_name FROM patients WHERE tenant_id = $1 AND medical_history @> $2",
                2,
                "{}",
            )
    finally:
        await conn.close()
    assert [row[0] for row in rows] == ["Carla"]
