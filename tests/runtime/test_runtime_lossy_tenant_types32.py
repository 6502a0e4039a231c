"""Round 32: a tenant column of a type whose equality is lossy, at run time.

Helper h32n found that the static proof took `org_id = $1` as a pin of a tenant column typed
interval or float (`'1 day' = '24 hours'`, `0 = -0`): one tenant's value matches another's rows.
The static check now refuses every equality pin of such a column (from the schema sources); the
runtime guard, for a policy written by hand, refuses it too: a cast to such a type pins nothing,
and a value of such a type is no tenant value (an int, a str or a uuid). Here on the server: the
leak shown raw, then refused by the guard, cast or not; the exact twin (text) runs.
"""

from __future__ import annotations

import datetime

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, tenant

SCHEMA = """
CREATE TABLE slots (tenant_id {kind} NOT NULL, name text NOT NULL);
INSERT INTO slots VALUES ('{one}', 'mine'), ('{other}', 'theirs');
"""
LOSSY = {
    "interval": ("1 day", "24 hours"),
    "double precision": ("0", "-0"),
}
POLICY = Policy("tenant_id", {"slots"})
READ = "SELECT name FROM slots WHERE tenant_id = $1::{kind} ORDER BY name"


async def _load(database: str, kind: str, one: str, other: str) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SCHEMA.format(kind=kind, one=one, other=other))
    finally:
        await owner.close()


@pytest.mark.parametrize("kind", sorted(LOSSY))
async def test_a_lossy_tenant_column_is_pinned_by_no_equality(database: str, kind: str) -> None:
    one, other = LOSSY[kind]
    await _load(database, kind, one, other)
    sql = READ.format(kind=kind)
    raw = await asyncpg.connect(database)
    try:
        value: object = float(one) if kind == "double precision" else datetime.timedelta(days=1)
        # the leak, unguarded: one tenant's value reads the other's row too
        assert [r[0] for r in await raw.fetch(sql, value)] == ["mine", "theirs"]
    finally:
        await raw.close()
    conn = await connect(database, policy=POLICY)
    try:
        for text in (sql, sql.replace(f"::{kind}", "")):  # cast or typed by the server
            with tenant(one), pytest.raises(TenantIsolationError):
                await conn.fetch(text, value)
    finally:
        await conn.close()


async def test_an_exact_tenant_column_still_pins(database: str) -> None:
    await _load(database, "text", "a", "b")
    conn = await connect(database, policy=POLICY)
    try:
        with tenant("a"):
            assert [r[0] for r in await conn.fetch(READ.format(kind="text"), "a")] == ["mine"]
    finally:
        await conn.close()
