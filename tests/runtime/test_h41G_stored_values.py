"""Session 41 (helper h41G): a pinning value the guard compared exactly, that PostgreSQL turns
into another tenant's id when it STORES it in the tenant column.

The value check compares the value given with `tenant()` and the parameter types are exact
(`varchar`, `numeric`, `text`: a parameter has no typmod), but the column has one, or another
type, and the assignment converts the value: `varchar(n)`/`char(n)` drop the trailing blanks
past their length (`'abc '` is stored as tenant `'abc'`), `numeric(p,-s)` rounds an integer
(`16777217` is stored as `16777000`), an integer column rounds a `numeric` parameter
(`tenant("1.4")`, `VALUES ($1::numeric)`: stored as tenant 1). Reads compare exactly (no row
comes back); a write lands in the other tenant's rows (shown raw on the server below). The
guard now refuses a tenant whose id such a column stores as another one, naming the column; the
tenants whose ids are stored as given write as before.
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, tenant

SCHEMA = """
CREATE TABLE vc (tenant_id varchar(3) NOT NULL, body text NOT NULL);
CREATE TABLE ch (tenant_id char(3) NOT NULL, body text NOT NULL);
CREATE TABLE wide (tenant_id numeric(12,-3) NOT NULL, body text NOT NULL);
CREATE TABLE big (tenant_id bigint NOT NULL, body text NOT NULL);
CREATE TABLE nm (tenant_id name NOT NULL, body text NOT NULL);
CREATE DOMAIN slug3 AS varchar(3); CREATE TABLE dv (tenant_id slug3 NOT NULL, body text NOT NULL);
CREATE TABLE one ("tenant_id" "char" NOT NULL, body text NOT NULL);
INSERT INTO vc VALUES ('abc', 'theirs');
INSERT INTO ch VALUES ('ab', 'theirs');
INSERT INTO wide VALUES (16777000, 'theirs');
INSERT INTO big VALUES (1, 'theirs');
INSERT INTO nm VALUES (repeat('x', 63), 'theirs');
INSERT INTO dv VALUES ('abc', 'theirs');
INSERT INTO one VALUES ('a', 'theirs');
"""
POLICY = Policy("tenant_id", {"vc", "ch", "wide", "big", "nm", "one", "dv"})

# (table, the tenant whose id the column stores as another's, the INSERT, a tenant stored as
# given, the value that tenant passes)
CASES = {
    "varchar(3) drops trailing blanks": ("vc", "abc ", "$1", "xyz"),
    "a domain over varchar(3)": ("dv", "abc ", "$1::text", "xyz"),
    "char(3) pads and drops blanks": ("ch", "ab ", "$1::text", "xy"),
    "numeric(12,-3) rounds": ("wide", 16777217, "$1", 16778000),
    "a numeric parameter rounded into bigint": ("big", "1.4", "$1::numeric", 7),
    "name keeps 63 bytes": ("nm", "x" * 64, "$1::text", "y" * 63),
    '"char" keeps one byte': ("one", "ab", "$1::text", "b"),
}


async def _rows(dsn: str, table: str) -> list[tuple[str, str]]:
    raw = await asyncpg.connect(dsn)
    try:
        rows = await raw.fetch(f"SELECT tenant_id::text, body FROM {table} ORDER BY 1, 2")
    finally:
        await raw.close()
    return [(str(r[0]).rstrip(), r[1]) for r in rows]


async def _load(dsn: str, table: str) -> None:
    """The case's table only: a tenant refused for one table is refused in the whole database
    (its id is not one the database stores as given)."""
    raw = await asyncpg.connect(dsn)
    try:
        await raw.execute(
            "".join(line + "\n" for line in SCHEMA.splitlines() if f" {table} " in line)
        )
    finally:
        await raw.close()


@pytest.mark.parametrize("case", list(CASES))
async def test_a_write_the_column_stores_as_another_tenant_is_refused(
    database: str, case: str
) -> None:
    table, coerced, cast, exact = CASES[case]
    await _load(database, table)
    before = await _rows(database, table)
    insert = f"INSERT INTO {table} (tenant_id, body) VALUES ({cast}, 'mine')"
    raw = await asyncpg.connect(database)
    try:  # unguarded, the server stores it as the other tenant's row
        async with raw.transaction():
            await raw.execute(insert, coerced)
            leaked = await raw.fetch(
                f"SELECT body FROM {table} WHERE tenant_id = $1 ORDER BY 1", before[0][0]
            )
            assert [r[0] for r in leaked] == ["mine", "theirs"], leaked
            raise asyncpg.exceptions.DataError("roll back")
    except asyncpg.exceptions.DataError:
        pass
    finally:
        await raw.close()
    conn = await connect(database, policy=POLICY)
    try:
        with tenant(coerced):
            with pytest.raises(TenantIsolationError, match="stores") as refused:
                await conn.execute(insert, coerced)
            assert table in str(refused.value)
            with pytest.raises(TenantIsolationError, match="stores"):
                await conn.execute(insert, coerced)  # again: a cached verdict
            with pytest.raises(TenantIsolationError, match="stores"):
                await conn.copy_records_to_table(
                    table, records=[(coerced, "mine")], columns=["tenant_id", "body"]
                )
        assert await _rows(database, table) == before  # the other tenant's rows unchanged
        with tenant(exact):  # a tenant the column stores as given writes as before
            for _ in range(2):
                await conn.execute(insert, exact)
            rows = await conn.fetch(
                f"SELECT body FROM {table} WHERE tenant_id = {cast} ORDER BY 1", exact
            )
        assert [r[0] for r in rows] == ["mine", "mine"]
        assert await _rows(database, table) == sorted(
            [*before, (str(exact), "mine"), (str(exact), "mine")]
        )
    finally:
        await conn.close()


def test_which_tenants_a_column_stores_as_others() -> None:
    """Pure logic: the tenants left to the full check, and the ones each column converts."""
    from tenantguard.runtime.context import tenant as block
    from tenantguard.runtime.values import odd_tenant_text, stored_as_another

    kinds = {"vc": "blanks", "nm": "bytes:63", "big": "integer", "wide": "scale:-3"}
    for usual in (1, "1", "acme", "00000000-0000-0000-0000-000000000001", "x" * 63):
        assert not odd_tenant_text(usual), usual
        assert block(usual)._scope.checkable  # the hot path compares it
    for odd in ("abc ", "1.4", "01", "1e999999", "é" * 32):
        assert odd_tenant_text(odd), odd
        assert not block(odd)._scope.checkable
    assert stored_as_another("abc ", {"vc": "blanks"}) is not None
    assert stored_as_another("é" * 32, {"nm": "bytes:63"}) is not None  # 64 bytes
    assert stored_as_another("1.4", {"big": "integer"}) is not None
    assert stored_as_another("01", {"big": "integer"}) is None  # the same number
    assert stored_as_another(1, {"big": "integer", "vc": "blanks", "nm": "bytes:63"}) is None
    assert stored_as_another(16777217, {"wide": "scale:-3"}) is not None
    assert stored_as_another(16778000, kinds) is None
    assert stored_as_another(10**40 + 1, {"n": "scale:0"}) is None  # exact, however long
    assert stored_as_another("1e999999", kinds) is None  # no hang: it is an integer
