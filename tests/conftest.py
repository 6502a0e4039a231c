from __future__ import annotations

from collections.abc import Iterator

import pytest

from tenantguard import Policy

CASE_TABLES = {
    "patients",
    "appointments",
    "leads",
    "chat_messages",
    "memos",
    "professionals",
    "clinical_records",
    '"Audit Log"',
}
CASE_COLUMNS = {
    "tenants": ["id", "name", "created_at"],
    "users": ["id", "email", "tenant_id"],
}
CASE_CONSTRAINTS = {
    "leads_tenant_external_key": ["tenant_id", "external_id"],
    "leads_external_key": ["external_id"],
}


RULE_DOC_SECTIONS = (
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## Options",
)


def assert_documented(rule: object) -> None:
    """A rule's doc has the ruff sections and starts with its code and name."""
    doc: str = rule.doc  # type: ignore[attr-defined]
    for section in RULE_DOC_SECTIONS:
        assert section in doc, f"{rule.code} lacks {section}"  # type: ignore[attr-defined]
    assert doc.splitlines()[0] == f"{rule.code} {rule.name}"  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _cache_outside_the_tree(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Checks of the fixture projects must not leave (or find) a result cache in the source
    tree: each test gets a cache directory of its own (the cache's own tests use the default)."""
    if request.module.__name__.endswith("test_cache"):
        yield
        return
    patch = pytest.MonkeyPatch()
    patch.setenv("TENANTGUARD_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    try:
        yield
    finally:
        patch.undo()


def case_policy(**changes: object) -> Policy:
    """The cases' policy; YAML spells foreign keys as {table: [[columns], ref_table, [ref_columns]]}
    and function pins as {name: [positions]}."""
    from tenantguard.engine.policy import ForeignKey, FunctionPins

    if "foreign_keys" in changes:
        changes["foreign_keys"] = {
            table: [ForeignKey(tuple(c), r, tuple(rc)) for c, r, rc in keys]  # type: ignore[misc]
            for table, keys in changes["foreign_keys"].items()  # type: ignore[attr-defined]
        }
    if "pinning_functions" in changes:
        changes["pinning_functions"] = {
            name: FunctionPins(frozenset(positions), frozenset())  # type: ignore[arg-type]
            for name, positions in changes["pinning_functions"].items()  # type: ignore[attr-defined]
        }
    policy = Policy(
        "tenant_id",
        CASE_TABLES,
        global_tables={"tenants"},
        table_columns=CASE_COLUMNS,
        constraint_columns=CASE_CONSTRAINTS,
    )
    return policy.replace(**changes) if changes else policy


# ---------------------------------------------------------------- real servers
import asyncio  # noqa: E402
import itertools  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from pathlib import Path  # noqa: E402

import asyncpg  # noqa: E402
import pytest  # noqa: E402

from tenantguard.embedded import ThrowawayPostgres, ThrowawayRedis  # noqa: E402

_DB_NUMBERS = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    """One throwaway cluster for the session; tests get databases of their own."""
    server = ThrowawayPostgres(settings={"log_statement": "all", "max_connections": "200"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


BASELINE = Path(__file__).resolve().parent.parent / "db" / "init" / "dentalogic_schema.sql"
CLINICS = (
    "INSERT INTO tenants (id, name) VALUES (1, 'North'), (2, 'South');\n"
    "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES "
    "(1, 'Ana', '111'), (1, 'Bruno', '112'), (2, 'Carla', '221');\n"
)
_TEMPLATES: dict[tuple[str, str], str] = {}  # (server, what) -> a template database's name


async def _template(postgres: ThrowawayPostgres, sql: str) -> str:
    """A database holding `sql`, made once per server, to copy (CREATE DATABASE … TEMPLATE
    copies it in about the time an empty one takes; running the baseline takes as long again)."""
    key = (postgres.dsn, sql)
    if key not in _TEMPLATES:
        name = f"template_{len(_TEMPLATES) + 1}"
        admin = await asyncpg.connect(postgres.dsn)
        try:
            await admin.execute(f"CREATE DATABASE {name}")
        finally:
            await admin.close()
        conn = await asyncpg.connect(postgres.dsn_for(name))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
        _TEMPLATES[key] = name
    return _TEMPLATES[key]


@pytest.fixture
async def database(
    postgres: ThrowawayPostgres, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A fresh, empty database on the session's server; its DSN. (For a test that asks for
    `two_clinics` too, a copy of a database that has them already.)"""
    name = f"t{next(_DB_NUMBERS)}"
    template = ""
    if "two_clinics" in request.fixturenames:
        sql = BASELINE.read_text(encoding="utf-8") + CLINICS
        template = f" TEMPLATE {await _template(postgres, sql)}"
    admin = await asyncpg.connect(postgres.dsn)
    try:
        await admin.execute(f"CREATE DATABASE {name}{template}")
    finally:
        await admin.close()
    yield postgres.dsn_for(name)
    admin = await asyncpg.connect(postgres.dsn)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
async def two_clinics(database: str) -> str:
    """A database with the Dentalogic baseline, clinics 1 and 2, and three patients:
    Ana and Bruno in clinic 1, Carla in clinic 2 (copied from a template database that has
    them: see `database`)."""
    return database


@pytest.fixture(scope="session")
def redis_server() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


__all__ = ["asyncio"]
