"""What a statement does to tables it does not name, on the real server: foreign keys whose
ON DELETE / ON UPDATE action reaches tenant tables.

The Dentalogic baseline with `patients.tenant_id` re-keyed `REFERENCES tenants (id) ON DELETE
CASCADE ON UPDATE CASCADE` (a common way to let a tenant's rows go with it). The guard's policy
is built from the schema sources as an application's would be (`build_policy`), so the actions
come from the schema reader; each attack asserts on clinic 2's rows (Carla), read afterwards
through an unguarded owner connection.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.config import Settings, build_policy
from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.policy import Policy
from tenantguard.runtime import connect, tenant
from tests.conftest import BASELINE

CASCADING = (
    "ALTER TABLE patients DROP CONSTRAINT IF EXISTS patients_tenant_id_fkey;\n"
    "ALTER TABLE patients ADD CONSTRAINT patients_tenant_id_fkey FOREIGN KEY (tenant_id) "
    "REFERENCES tenants (id) ON DELETE CASCADE ON UPDATE CASCADE;\n"
)
EVERYONE = "SELECT first_name FROM patients ORDER BY first_name"


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "0001_baseline.sql").write_text(BASELINE.read_text(encoding="utf-8"), "utf-8")
    (schema / "0002_cascade.sql").write_text(CASCADING, encoding="utf-8")
    return build_policy(Settings(root=tmp_path, schema_paths=("schema",)))


@pytest.fixture
async def cascading(two_clinics: str) -> str:
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(CASCADING)
    finally:
        await owner.close()
    return two_clinics


async def everyone(dsn: str) -> list[str]:
    owner = await asyncpg.connect(dsn)
    try:
        return [r[0] for r in await owner.fetch(EVERYONE)]
    finally:
        await owner.close()


def test_the_schema_reader_gives_the_policy_the_actions(policy: Policy) -> None:
    assert policy.tenant_root == "tenants"
    # the tenant tables' tenant column alone references the registry, with CASCADE: its row
    # pinned to one tenant reaches that tenant's rows only, and it is not listed (h42G)
    assert "tenants" not in policy.cascades


@pytest.mark.parametrize(
    "attack",
    [
        "DELETE FROM tenants WHERE name = 'South'",
        "DELETE FROM tenants WHERE id = 2",  # a literal that is not the request's tenant
        "DELETE FROM tenants WHERE id = 1 OR id = 2",
        "WITH gone AS (DELETE FROM tenants WHERE id <> 1 RETURNING id) SELECT count(*) FROM gone",
        "UPDATE tenants SET id = id + 1000 WHERE name = 'South'",
        "TRUNCATE tenants CASCADE",
    ],
)
async def test_a_write_to_the_registry_does_not_reach_another_clinic(
    cascading: str, policy: Policy, attack: str
) -> None:
    conn = await connect(cascading, policy=policy)
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            await conn.execute(attack)
    finally:
        await conn.close()
    assert await everyone(cascading) == ["Ana", "Bruno", "Carla"]


async def test_a_clinic_may_still_delete_itself(cascading: str, policy: Policy) -> None:
    """The registry pinned to the request's tenant reaches that tenant's rows only."""
    conn = await connect(cascading, policy=policy)
    try:
        with tenant(1):
            await conn.execute("DELETE FROM tenants WHERE id = $1", 1)
    finally:
        await conn.close()
    assert await everyone(cascading) == ["Carla"]


async def test_a_registry_pin_cast_lossily_elsewhere_is_no_pin(
    cascading: str, policy: Policy
) -> None:
    """`$1::real` before `id = $1` types `$1` as float4 in the whole statement: 16777217 is
    sent as 16777216.0, `id = $1` picks clinic 16777216's registry row (a float8 comparison),
    and the cascade deletes that clinic's patients for a request of clinic 16777217."""
    lossy = "DELETE FROM tenants WHERE $1::real > 0 AND id = $1"
    verdict = analyze_statement(lossy, policy)
    assert [f.code for f in verdict.findings] == ["TG005"]
    assert verdict.pin_values == ()
    exact = analyze_statement("DELETE FROM tenants WHERE $1::bigint > 0 AND id = $1", policy)
    assert exact.findings == () and exact.pin_values
    owner = await asyncpg.connect(cascading)
    try:
        await owner.execute(
            "INSERT INTO tenants (id, name) VALUES (16777216, 'East'), (16777217, 'West');"
            "INSERT INTO patients (tenant_id, first_name, phone_number) "
            "VALUES (16777216, 'Dora', '331'), (16777217, 'Eva', '441')"
        )
        transaction = owner.transaction()
        await transaction.start()
        try:  # as it is, for clinic 16777217: clinic 16777216 goes instead
            await owner.execute(lossy, 16777217)
            left = [r[0] for r in await owner.fetch(EVERYONE)]
        finally:
            await transaction.rollback()
        assert left == ["Ana", "Bruno", "Carla", "Eva"]
    finally:
        await owner.close()
    conn = await connect(cascading, policy=policy)
    try:
        with tenant(16777217), contextlib.suppress(TenantIsolationError):
            await conn.execute(lossy, 16777217)
    finally:
        await conn.close()
    assert await everyone(cascading) == ["Ana", "Bruno", "Carla", "Dora", "Eva"]


# a registry keyed by the tenant column itself: `servers(server_id)`, referenced by every table's
# `server_id` with ON DELETE / ON UPDATE CASCADE (the shape of chat bots keyed by guild)

SERVERS = (
    "CREATE TABLE servers (server_id bigint PRIMARY KEY, server_name text NOT NULL);\n"
    "CREATE TABLE ignored_users (\n"
    "    id serial PRIMARY KEY,\n"
    "    server_id bigint NOT NULL REFERENCES servers (server_id)\n"
    "        ON DELETE CASCADE ON UPDATE CASCADE,\n"
    "    user_name text NOT NULL\n"
    ");\n"
)
IGNORED = "SELECT user_name, server_id FROM ignored_users ORDER BY user_name"


@pytest.fixture
def servers_policy(tmp_path: Path) -> Policy:
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "0001_servers.sql").write_text(SERVERS, encoding="utf-8")
    return build_policy(
        Settings(root=tmp_path, schema_paths=("schema",), tenant_column="server_id")
    )


@pytest.fixture
async def two_servers(database: str) -> str:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SERVERS)
        await owner.execute("INSERT INTO servers VALUES (1, 'North'), (2, 'South')")
        await owner.execute(
            "INSERT INTO ignored_users (server_id, user_name) VALUES "
            "(1, 'ana'), (1, 'bruno'), (2, 'carla')"
        )
    finally:
        await owner.close()
    return database


async def ignored(dsn: str) -> list[tuple[str, int]]:
    owner = await asyncpg.connect(dsn)
    try:
        return [(r[0], r[1]) for r in await owner.fetch(IGNORED)]
    finally:
        await owner.close()


def test_a_registry_keyed_by_the_tenant_column_is_a_tenant_table(servers_policy: Policy) -> None:
    assert servers_policy.tenant_root is None
    assert {"servers", "ignored_users"} <= servers_policy.tenant_tables
    assert "servers" not in servers_policy.cascades  # its writes are pinned by server_id


@pytest.mark.parametrize(
    "attack",
    [
        "DELETE FROM servers WHERE server_name = 'South'",
        "DELETE FROM servers WHERE server_id = 2",
        "DELETE FROM servers WHERE server_id = 1 OR server_id = 2",
        "UPDATE servers SET server_id = server_id + 1000 WHERE server_name = 'South'",
        "UPDATE servers SET server_id = 1000 WHERE server_id = 1",
        "TRUNCATE servers CASCADE",
    ],
)
async def test_a_write_to_a_registry_keyed_by_the_tenant_column_stays_in_its_tenant(
    two_servers: str, servers_policy: Policy, attack: str
) -> None:
    conn = await connect(two_servers, policy=servers_policy)
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            await conn.execute(attack)
    finally:
        await conn.close()
    assert await ignored(two_servers) == [("ana", 1), ("bruno", 1), ("carla", 2)]


async def test_a_server_may_still_delete_itself(two_servers: str, servers_policy: Policy) -> None:
    conn = await connect(two_servers, policy=servers_policy)
    try:
        with tenant(1):
            await conn.execute("DELETE FROM servers WHERE server_id = $1", 1)
    finally:
        await conn.close()
    assert await ignored(two_servers) == [("carla", 2)]
