"""Session 40 (helper h40C): a guarded connect reuses the rows of an earlier connect's catalog
read (same server, database, user, session path, policy names) only while the catalog's
fingerprint read in its own session is the one read before those rows
(`schema_code.CATALOG_FINGERPRINT_QUERY`; the first connect of a key keeps nothing, the
second keeps its rows). Each test changes the catalog from another session between connects — each a guard of its own, as a test suite or a restarted
worker makes them — and asserts the rows the second one returns or changes: the change is
seen, never the rows read before it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, connection, tenant
from tests.runtime.test_h36C_attacks import _raw
from tests.runtime.test_h38V_unlisted import REFUSED
from tests.runtime.test_h39C_cached_catalog import (
    BUMP_EVERYONE,
    EVERYONE,
    INSERT,
    RULE,
    SCHEMA,
    TENANT,
    THROUGH_BUMP,
)
from tests.runtime.test_runtime import POLICY

READ = "SELECT amount FROM invoices ORDER BY 1"
INVOICES = (
    "CREATE TABLE invoices (id bigint PRIMARY KEY, clinic bigint, amount text);"
    " INSERT INTO invoices VALUES (1, 1, 'a1'), (2, 2, 'b2');"
)


class _Reads:
    """Counts the catalog read's queries run (`connection._fetch` of the read)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.queries = 0
        # no rows kept from before the test: a database left unchanged by an earlier test is
        # handed on under its name, whose key that test's connect left (CI at 1eda04f: the
        # second connect here reused the rows the first kept, 2 queries where 4 were counted)
        monkeypatch.setattr(connection, "_CATALOG_READ_ROWS", {})
        fetch = connection._fetch

        async def counted(conn: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if query in (connection._TRIGGER_QUERY, connection._SPANNING_QUERY):
                self.queries += 1
            return await fetch(conn, query, *args, **kwargs)

        monkeypatch.setattr(connection, "_fetch", counted)


async def _clinic_1_reads(dsn: str, statement: str, *args: Any) -> list[Any]:
    """The amounts clinic 1's statement returned on a new guarded connection, or REFUSED."""
    conn = await connect(dsn, policy=POLICY)
    try:
        with tenant(1):
            try:
                rows = await conn.fetch(statement, *args)
            except TenantIsolationError:
                return REFUSED
    finally:
        await conn.close()
    return [r["amount"] for r in rows]


# name -> DDL another session commits between the two connects (each table's column renamed
# or added into the tenant column: `invoices` becomes a table holding it, unlisted by the
# policy, checked as a tenant table: h38V)
UNLISTED = {
    "column renamed": "ALTER TABLE invoices RENAME COLUMN clinic TO tenant_id;",
    "column added": "ALTER TABLE invoices ADD COLUMN tenant_id bigint;"
    " UPDATE invoices SET tenant_id = clinic;",
    "table renamed": "CREATE TABLE invoices_new (id bigint, tenant_id bigint, amount text);"
    " INSERT INTO invoices_new VALUES (1, 1, 'a1'), (2, 2, 'b2');"
    " ALTER TABLE invoices RENAME TO invoices_old; ALTER TABLE invoices_new RENAME TO invoices;",
}


@pytest.mark.parametrize("shape", sorted(UNLISTED))
async def test_a_table_holding_the_tenant_column_after_the_first_connect(
    two_clinics: str, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _Reads(monkeypatch)
    await _raw(two_clinics, INVOICES)
    # no tenant column yet: a global read, every row; the second connect keeps the rows, the
    # third reuses them
    for queries in (2, 4, 4):
        assert await _clinic_1_reads(two_clinics, READ) == ["a1", "b2"]
        assert reads.queries == queries
    await _raw(two_clinics, UNLISTED[shape])
    everyone = await _clinic_1_reads(two_clinics, READ)
    assert reads.queries == 6, "the changed catalog's rows were reused"
    mine = await _clinic_1_reads(
        two_clinics, "SELECT amount FROM invoices WHERE tenant_id = $1 ORDER BY 1", 1
    )
    assert everyone == REFUSED, everyone
    assert mine == ["a1"], mine


# name -> DDL another session commits between the two connects: a trigger's function made to
# move every clinic's counters, a function it calls made to, a rule added (test_h39C's)
WRITES = {
    "trigger function": [EVERYONE],
    "called function": [THROUGH_BUMP, BUMP_EVERYONE],
    "rule": [RULE],
}


@pytest.mark.parametrize("shape", sorted(WRITES))
async def test_schema_code_changed_between_two_connects(two_clinics: str, shape: str) -> None:
    await _raw(two_clinics, SCHEMA)
    got = []
    number = 0
    for ddl in ["SELECT 1;", *WRITES[shape], "SELECT 1;"]:
        await _raw(two_clinics, ddl)
        for _ in range(2):  # (the first connect after the DDL reads, the second keeps its rows)
            number += 1
            got.append(await _note(two_clinics, number))
    counters = [tuple(r) for r in await _raw(two_clinics, "SELECT tenant_id, n FROM counters")]
    allowed = ["(refused)" not in g for g in got]
    # the first, pinned: run; after the last DDL (and on connects after it again): refused
    assert allowed[:2] == [True, True] and not any(allowed[-4:]), got
    assert sorted(counters) == [(1, sum(allowed)), (2, 0)], counters


async def _note(dsn: str, number: int) -> str:
    """Clinic 1's note `number` written on a new guard's connection, or '(refused)'."""
    conn = await connect(dsn, policy=TENANT)
    try:
        with tenant(1):
            try:
                return str(await conn.execute(INSERT, number, 1))
            except TenantIsolationError:
                return "(refused)"
    finally:
        await conn.close()


async def test_rows_read_for_another_policy_are_not_reused(
    two_clinics: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The policy's names are the catalog read's arguments: a guard of another policy on the
    same database reads them again (invoices held global by the first: read unchecked there;
    an unlisted tenant table for the second)."""
    reads = _Reads(monkeypatch)
    await _raw(two_clinics, INVOICES + " ALTER TABLE invoices RENAME COLUMN clinic TO tenant_id;")
    shared = POLICY.replace(global_tables={*POLICY.global_tables, "invoices"})
    for _ in range(2):  # (the second keeps its rows)
        conn = await connect(two_clinics, policy=shared)
        try:
            with tenant(1):
                rows = await conn.fetch(READ)
        finally:
            await conn.close()
        assert [r["amount"] for r in rows] == ["a1", "b2"]
    assert await _clinic_1_reads(two_clinics, READ) == REFUSED
    assert reads.queries == 6


MY_NAMES = """CREATE OR REPLACE FUNCTION my_names(clinic bigint) RETURNS SETOF text LANGUAGE sql
    STABLE AS $$SELECT first_name FROM patients WHERE tenant_id = clinic ORDER BY 1$$;"""


@pytest.mark.parametrize("twice", [False, True])
async def test_a_function_body_replaced_between_two_connects(two_clinics: str, twice: bool) -> None:
    """A function pinned by its argument, then replaced by one reading every clinic's names
    (pg_proc's row updated; the functions sorted again: `Guard._with_functions`, whose
    sorting is kept by the definitions' text): a new guard's connect refuses clinic 1's call.
    `twice`: and back to the pinned text, then to the leaking one again (texts sorted before)."""
    steps = [MY_NAMES, MY_NAMES.replace(" WHERE tenant_id = clinic", "")]
    if twice:
        steps += steps
    got = []
    for ddl in steps:
        await _raw(two_clinics, ddl)
        for _ in range(2):  # (the first connect after the DDL reads, the second keeps its rows)
            conn = await connect(two_clinics, policy=POLICY)
            try:
                with tenant(1):
                    try:
                        got.append(await conn.fetchval("SELECT array_agg(n) FROM my_names(1) n"))
                    except TenantIsolationError:
                        got.append("(refused)")
            finally:
                await conn.close()
    expected = [["Ana", "Bruno"]] * 2 + ["(refused)"] * 2
    assert got == expected * (2 if twice else 1), got


@pytest.mark.parametrize(
    "ddl",
    [
        # how the server prints the functions' and views' texts (pg_settings, by content)
        "ALTER DATABASE {db} SET quote_all_identifiers = on;",
        # a role's membership (pg_auth_members; pg_has_role in the global homes' query)
        "CREATE ROLE h40c_member; GRANT h40c_member TO CURRENT_USER;",
        # an enum's label (printed in a column default's text: pg_enum)
        "ALTER TYPE h40c_kind RENAME VALUE 'a' TO 'b';",
    ],
)
async def test_what_the_texts_are_printed_by_is_fingerprinted(
    two_clinics: str, ddl: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changes that touch none of the rows the queries select, but what the server prints
    them with: the next connect reads the catalog again."""
    reads = _Reads(monkeypatch)
    await _raw(
        two_clinics,
        "CREATE TYPE h40c_kind AS ENUM ('a');"
        " CREATE TABLE h40c_t (id int, k h40c_kind DEFAULT 'a');",
    )
    db = two_clinics.rsplit("/", 1)[-1].split("?")[0]
    try:
        for queries in (2, 4, 4):  # (the second keeps its rows, the third reuses them)
            conn = await connect(two_clinics, policy=POLICY)
            await conn.close()
            assert reads.queries == queries
        await _raw(two_clinics, ddl.format(db=db))
        conn = await connect(two_clinics, policy=POLICY)
        await conn.close()
        assert reads.queries == 6
    finally:
        if "ROLE" in ddl:
            await _raw(two_clinics, "DROP ROLE h40c_member;")
