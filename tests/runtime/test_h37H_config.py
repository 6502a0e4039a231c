"""The runtime guard of a newcomer's service, without a `policy=` (h37H, issue 12): the guard
reads the project's configuration — but only from the working directory upward. A service
started elsewhere (systemd's WorkingDirectory=/, `gunicorn --chdir`, a container whose WORKDIR
is not the project) could not say where its configuration is: the error told it to "configure
[tool.tenantguard] tenant_tables", which it had. `connect`/`create_pool` take `config=` now, and
the error names where it looked and what to pass. On a real PostgreSQL: rows asserted."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.errors import ConfigError
from tenantguard.runtime import connect, create_pool, tenant

SCHEMA = (
    "CREATE TABLE orgs (id bigint PRIMARY KEY, name text NOT NULL);\n"
    "CREATE TABLE members (id bigserial PRIMARY KEY, org_id bigint NOT NULL REFERENCES orgs(id),"
    " email text NOT NULL);\n"
)
DATA = (
    "INSERT INTO orgs VALUES (1, 'one'), (2, 'two');"
    "INSERT INTO members (org_id, email) VALUES (1, 'a@one'), (2, 'b@two');"
)


def project(root: Path) -> Path:
    (root / "db").mkdir(parents=True)
    (root / "db/schema.sql").write_text(SCHEMA, encoding="utf-8")
    config = root / "pyproject.toml"
    config.write_text(
        '[project]\nname = "b"\nversion = "1"\n\n[tool.tenantguard]\ntenant_column = "org_id"\n'
        'schema_paths = ["db"]\ntenant_root = "orgs"\nglobal_tables = ["orgs"]\n',
        encoding="utf-8",
    )
    return config


async def _fill(dsn: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(SCHEMA + DATA)
    finally:
        await admin.close()


async def test_create_pool_reads_the_configuration_it_is_given(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _fill(database)
    config = project(tmp_path / "board")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the service runs from another directory
    pool = await create_pool(database, config=config, min_size=1, max_size=1)
    try:
        with tenant(1):
            rows = await pool.fetch("SELECT email FROM members WHERE org_id = $1", 1)
            assert [r["email"] for r in rows] == ["a@one"]
            with pytest.raises(TenantIsolationError):
                await pool.fetch("SELECT email FROM members")
    finally:
        await pool.close()
    connection = await connect(database, config=str(config))
    try:
        with tenant(2), pytest.raises(TenantIsolationError):
            await connection.fetch("SELECT email FROM members")
    finally:
        await connection.close()


async def test_no_configuration_found_says_where_it_looked_and_what_to_pass(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path / "board")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ConfigError) as raised:
        await create_pool(database, min_size=1, max_size=1)
    said = str(raised.value)
    assert str(elsewhere) in said and "config=" in said, said


async def test_a_configuration_path_that_is_not_there_is_named(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as raised:
        await create_pool(database, config="deploy/pyproject.toml", min_size=1, max_size=1)
    assert str(tmp_path / "deploy/pyproject.toml") in str(raised.value)


async def test_a_policy_and_a_configuration_both_given_is_refused(
    database: str, tmp_path: Path
) -> None:
    from tenantguard import Policy

    with pytest.raises(ConfigError, match="one of"):
        await connect(
            database,
            policy=Policy("org_id", {"members"}),
            config=project(tmp_path / "board"),
        )
