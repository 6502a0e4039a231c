"""Session 38 (helper h38W): an outside attack on h38V (unlisted tables holding the tenant
column are checked as tenant tables), on a real server: the tenant column arriving after
connect (ALTER TABLE … ADD COLUMN / RENAME COLUMN), the verdict cache across that DDL, a foreign
table, a temporary table.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant
from tenantguard.runtime.schema_code import CATALOG_WATCH
from tests.runtime.test_h36C_attacks import _raw
from tests.runtime.test_h38V_unlisted import _TOLD, INVOICES, REFUSED, _guarded, _run_as_clinic_1
from tests.runtime.test_runtime import POLICY

READ = "SELECT amount FROM invoices ORDER BY 1"

# name -> (before connect, after connect by another session, read once before the DDL)
SHAPES: dict[str, tuple[str, str, bool]] = {
    "column added": (
        "CREATE TABLE invoices (id bigint PRIMARY KEY, amount text);"
        " INSERT INTO invoices VALUES (1, 'a1'), (2, 'b2');",
        "ALTER TABLE invoices ADD COLUMN tenant_id bigint; UPDATE invoices SET tenant_id = id;",
        False,
    ),
    "column added, read before": (
        "CREATE TABLE invoices (id bigint PRIMARY KEY, amount text);"
        " INSERT INTO invoices VALUES (1, 'a1'), (2, 'b2');",
        "ALTER TABLE invoices ADD COLUMN tenant_id bigint; UPDATE invoices SET tenant_id = id;",
        True,
    ),
    "column renamed": (
        "CREATE TABLE invoices (id bigint PRIMARY KEY, clinic bigint, amount text);"
        " INSERT INTO invoices VALUES (1, 1, 'a1'), (2, 2, 'b2');",
        "ALTER TABLE invoices RENAME COLUMN clinic TO tenant_id;",
        False,
    ),
    "column renamed, read before": (
        "CREATE TABLE invoices (id bigint PRIMARY KEY, clinic bigint, amount text);"
        " INSERT INTO invoices VALUES (1, 1, 'a1'), (2, 2, 'b2');",
        "ALTER TABLE invoices RENAME COLUMN clinic TO tenant_id;",
        True,
    ),
    "table renamed, read before": (
        "CREATE TABLE invoices (id bigint PRIMARY KEY, amount text);"
        " CREATE TABLE invoices_new (id bigint PRIMARY KEY, tenant_id bigint, amount text);"
        " INSERT INTO invoices_new VALUES (1, 1, 'a1'), (2, 2, 'b2');",
        "ALTER TABLE invoices RENAME TO invoices_old; ALTER TABLE invoices_new RENAME TO invoices;",
        True,
    ),
    "foreign table": (
        "CREATE EXTENSION postgres_fdw;"
        " CREATE TABLE invoices_src (id bigint PRIMARY KEY, tenant_id bigint, amount text);"
        " INSERT INTO invoices_src VALUES (1, 1, 'a1'), (2, 2, 'b2');"
        " CREATE SERVER here FOREIGN DATA WRAPPER postgres_fdw"
        " OPTIONS (host '{host}', port '{port}', dbname '{database}');"
        " CREATE USER MAPPING FOR CURRENT_USER SERVER here OPTIONS (user '{user}');"
        " CREATE FOREIGN TABLE invoices (id bigint, tenant_id bigint, amount text)"
        " SERVER here OPTIONS (table_name 'invoices_src');",
        "",
        False,
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("how", ["connect", "pool"])
async def test_the_tenant_column_arriving_after_connect(
    two_clinics: str, shape: str, how: str
) -> None:
    before, after, read_before = SHAPES[shape]
    raw = await _raw(two_clinics, "SELECT current_user::text, inet_server_port()")
    user, port = raw[0]
    database = two_clinics.rsplit("/", 1)[-1].split("?")[0]
    before = before.format(host="127.0.0.1", port=port, database=database, user=user)
    await _raw(two_clinics, CATALOG_WATCH + before + " SELECT 1;")
    async with _guarded(two_clinics, how, POLICY) as run:
        first = await _run_as_clinic_1(run, READ) if read_before else None
        if after:
            await _raw(two_clinics, after + " SELECT 1;")
            await asyncio.sleep(_TOLD)
        everyone = await _run_as_clinic_1(run, READ)
        mine = await _run_as_clinic_1(
            run, "SELECT amount FROM invoices WHERE tenant_id = $1 ORDER BY 1", 1
        )
    rows = await _raw(two_clinics, READ)
    assert [r["amount"] for r in rows] == ["a1", "b2"]
    assert first != REFUSED, first  # no tenant column yet: a global read
    assert everyone == REFUSED, everyone
    assert mine == ["a1"], mine


async def _records(rows: list[tuple[object, ...]]) -> AsyncIterator[tuple[object, ...]]:
    for row in rows:
        yield row


# how clinic 1 copies records in: (columns=, streamed)
COPIES = {
    "every column": (None, False),
    "columns named": (["id", "tenant_id", "amount"], False),
    "streamed": (None, True),
    "streamed, columns named": (["id", "tenant_id", "amount"], True),
}


@pytest.mark.parametrize("copy", sorted(COPIES))
async def test_copy_records_into_a_table_the_policy_does_not_list(
    two_clinics: str, copy: str
) -> None:
    """copy_records_to_table decided whether to check the records by the policy as given, not
    by the one the guard proves with (h38V's unlisted tables as tenant tables): clinic 1's
    `copy_records_to_table("invoices", records=[(3, 2, "planted")])` wrote a row of clinic
    2 ('COPY 1'), while the same INSERT is refused."""
    columns, streamed = COPIES[copy]
    await _raw(two_clinics, INVOICES)
    conn = await connect(two_clinics, policy=POLICY)

    def source(rows: list[tuple[object, ...]]) -> Any:
        return _records(rows) if streamed else rows

    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError):
                await conn.copy_records_to_table(
                    "invoices", records=source([(3, 2, "planted")]), columns=columns
                )
            # the twin: clinic 1's own record, copied
            await conn.copy_records_to_table(
                "invoices", records=source([(4, 1, "mine")]), columns=columns
            )
    finally:
        await conn.close()
    rows = await _raw(two_clinics, "SELECT id, tenant_id, amount FROM invoices ORDER BY 1")
    assert [tuple(r) for r in rows] == [(1, 1, "a1"), (2, 2, "b2"), (4, 1, "mine")]


SETTING_VIEW = (
    " CREATE VIEW my_invoices AS SELECT * FROM invoices"
    " WHERE tenant_id = current_setting('app.tenant_id')::bigint;"
)


@pytest.mark.parametrize("listed", [False, True])
async def test_a_write_through_a_view_filtered_by_the_setting(
    two_clinics: str, listed: bool
) -> None:
    """A view filtered by the tenant setting over such a table: the guard learns which writes
    through it reach a tenant table (`view_writes`) by the policy as given, so for an unlisted
    table none — clinic 1's `UPDATE my_invoices SET tenant_id = 2 WHERE id = 1` ran ('UPDATE
    1') and moved clinic 1's invoice to clinic 2: the server held [(1, 2, 'a1'), (2, 2,
    'b2')]. Listed (the twin), TG004 refused it. Now both refuse; clinic 1's read through the
    view returns its own invoice."""
    await _raw(two_clinics, INVOICES + SETTING_VIEW)
    policy = POLICY.replace(tenant_tables={*POLICY.tenant_tables, "invoices"}) if listed else POLICY
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError, match="TG004"):
                await conn.execute("UPDATE my_invoices SET tenant_id = 2 WHERE id = 1")
            mine = [r["amount"] for r in await conn.fetch("SELECT amount FROM my_invoices")]
    finally:
        await conn.close()
    rows = await _raw(two_clinics, "SELECT id, tenant_id, amount FROM invoices ORDER BY 1")
    assert [tuple(r) for r in rows] == [(1, 1, "a1"), (2, 2, "b2")]
    assert mine == ["a1"]


CASCADING = (
    "CREATE TABLE bills (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, amount text,"
    " patient_id bigint REFERENCES patients (id) ON DELETE CASCADE);"
    " INSERT INTO bills SELECT 1, 2, 'b2', min(id) FROM patients WHERE tenant_id = 1;"
)


@pytest.mark.parametrize("listed", [False, True])
async def test_a_cascade_into_a_table_the_policy_does_not_list(
    two_clinics: str, listed: bool
) -> None:
    """A foreign key without the tenant column from such a table (clinic 2's bill naming
    clinic 1's patient): clinic 1's pinned DELETE of its patient cascades to clinic 2's bill.
    The guard reads which keys reach other tenants' rows (`cascades`) knowing the tenant
    tables: the unlisted one must count as the listed one does."""
    await _raw(two_clinics, CASCADING)
    policy = POLICY.replace(tenant_tables={*POLICY.tenant_tables, "bills"}) if listed else POLICY
    conn = await connect(two_clinics, policy=policy)
    try:
        with tenant(1):
            try:
                await conn.execute(
                    "DELETE FROM patients WHERE tenant_id = $1 AND id = (SELECT min(id)"
                    " FROM patients WHERE tenant_id = $1)",
                    1,
                )
                outcome = "deleted"
            except TenantIsolationError:
                outcome = "refused"
    finally:
        await conn.close()
    bills = await _raw(two_clinics, "SELECT tenant_id, amount FROM bills")
    assert (outcome, [tuple(r) for r in bills]) == ("refused", [(2, "b2")])
