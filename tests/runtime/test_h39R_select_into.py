"""Session 39 (helper h39R): a temporary table made by `SELECT … INTO`, shadowing a global table,
on a real server.

pg_temp is searched first for relations. h36C made the catalog read (made again after a
statement that may change the schema: CREATE, ALTER, DROP, DO, EXECUTE in its text) read the
session's temporary relations, and refuse the connection's statements while one is named like a
global table. `SELECT tenant_id, code INTO TEMP countries FROM archive.countries` creates one
with none of those words: in an unscoped() step of a request's transaction (the step whose
state the tenant's block takes on), clinic 1's `SELECT code FROM countries` then read the
temporary copy, every clinic's rows: ['mine', 'theirs'] instead of the global ['es', 'fr']. An
INTO that is not an INSERT's or a MERGE's now counts as a schema change.
"""

from __future__ import annotations

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant, unscoped
from tests.runtime.test_h36C_attacks import COUNTRIES, PATH_POLICY, _raw

READ = "SELECT code FROM countries ORDER BY 1"
MAKES = [
    "SELECT tenant_id, code INTO TEMP countries FROM archive.countries",
    "SELECT tenant_id, code INTO TEMPORARY TABLE countries FROM archive.countries",
    "WITH a AS (SELECT * FROM archive.countries) SELECT tenant_id, code INTO TEMP countries FROM a",
    "SELECT * INTO TEMP TABLE countries FROM archive.countries UNION ALL SELECT * FROM archive.countries WHERE false",
]


@pytest.mark.parametrize("make", MAKES)
async def test_a_temporary_table_made_by_select_into(two_clinics: str, make: str) -> None:
    await _raw(two_clinics, COUNTRIES + ";")
    conn = await connect(two_clinics, policy=PATH_POLICY)
    try:
        async with conn.transaction():
            with unscoped("report job, in the request's transaction"):
                await conn.execute(make)
            rows: object = []
            with tenant(1):
                try:
                    rows = [r[0] for r in await conn.fetch(READ)]
                except TenantIsolationError:
                    rows = "refused"
            assert rows == "refused"  # was ['mine', 'theirs']: the copy of every clinic's rows
            with unscoped("report job done"):
                await conn.execute("DROP TABLE pg_temp.countries")
            with tenant(1):  # the twin: the global table again
                assert [r[0] for r in await conn.fetch(READ)] == ["es", "fr"]
    finally:
        await conn.close()
