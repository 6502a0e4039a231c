"""Session 40 (helper h40R): a global table's name, qualified with another schema whose relation
of that name holds the tenant column, on a real server.

The policy holds `countries` global (a bare name: `public.countries (code)`, shared by every
clinic). Another schema has a relation of the same name with tenant rows: `archive.countries
(tenant_id, code)`. Reached through the search path, the guard already reads such a name as
the tenant rows it is (h37R, `tenant_shadow`); named by its schema, it passed as the global
table: clinic 1's `SELECT code FROM archive.countries` returned clinic 2's row ['mine', 'theirs'],
and `copy_records_to_table('countries', schema_name='archive', records=[(2, 'planted')])`,
`INSERT INTO archive.countries …` and `copy_from_table('countries', schema_name='archive')`
wrote and read clinic 2's rows (h38V's strict xfail of `billing.tenants`, closed here:
test_h38V_unlisted.py::test_a_table_of_another_schema_named_like_a_global_table). Now each connection reads from the catalog which schemas hold a
relation of a global name with the tenant column: there the name is a tenant table (pinned,
its values checked), in the global table's own schema it stays global.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import GuardedConnection, connect, tenant
from tests.runtime.test_h36C_attacks import COUNTRIES, _raw
from tests.runtime.test_runtime import POLICY

# countries global by its bare name, as a hand-written policy or a configuration says it
GLOBAL_COUNTRIES = POLICY.replace(global_tables={*POLICY.global_tables, "countries"})


@pytest.fixture
async def conn(two_clinics: str) -> AsyncIterator[GuardedConnection]:
    await _raw(two_clinics, COUNTRIES + ";")
    connection = await connect(two_clinics, policy=GLOBAL_COUNTRIES)
    yield connection
    await connection.close()


async def _archive(dsn: str) -> list[tuple[int, str]]:
    raw = await asyncpg.connect(dsn)
    try:
        rows = await raw.fetch("SELECT tenant_id, code FROM archive.countries ORDER BY 1, 2")
        return [(r[0], r[1]) for r in rows]
    finally:
        await raw.close()


REFUSED = {
    "select": lambda c: c.fetch("SELECT code FROM archive.countries"),
    "select another clinic": lambda c: c.fetch(
        "SELECT code FROM archive.countries WHERE tenant_id = $1", 2
    ),
    "insert": lambda c: c.execute(
        "INSERT INTO archive.countries (tenant_id, code) VALUES ($1, 'planted')", 2
    ),
    "copy records": lambda c: c.copy_records_to_table(
        "countries", schema_name="archive", records=[(2, "planted")]
    ),
    "copy out": lambda c: c.copy_from_table(
        "countries", schema_name="archive", output=io.BytesIO()
    ),
}


@pytest.mark.parametrize("how", REFUSED)
async def test_the_tenant_rows_under_a_global_name(
    conn: GuardedConnection, two_clinics: str, how: str
) -> None:
    with tenant(1), pytest.raises(TenantIsolationError):
        await REFUSED[how](conn)
    assert await _archive(two_clinics) == [(1, "mine"), (2, "theirs")]  # nothing planted


async def test_the_twins(conn: GuardedConnection, two_clinics: str) -> None:
    """The global table itself stays global; the archive's rows pinned to the clinic pass."""
    with tenant(1):
        names = [r[0] for r in await conn.fetch("SELECT code FROM countries ORDER BY 1")]
        qualified = [r[0] for r in await conn.fetch("SELECT code FROM public.countries ORDER BY 1")]
        mine = await conn.fetch("SELECT code FROM archive.countries WHERE tenant_id = $1", 1)
        await conn.execute("INSERT INTO archive.countries (tenant_id, code) VALUES ($1, 'more')", 1)
        # the global table takes COPYs as before (a file too: it is no tenant table)
        await conn.copy_records_to_table("countries", records=[("de",)])
        await conn.copy_to_table("countries", schema_name="public", source=io.BytesIO(b"it\n"))
        after = [r[0] for r in await conn.fetch("SELECT code FROM countries ORDER BY 1")]
    assert names == qualified == ["es", "fr"]
    assert after == ["de", "es", "fr", "it"]
    assert [r[0] for r in mine] == ["mine"]
    assert await _archive(two_clinics) == [(1, "mine"), (1, "more"), (2, "theirs")]
