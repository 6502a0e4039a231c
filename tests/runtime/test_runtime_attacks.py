"""Issue 11: every path an attack suite found from a `tenant(1)` request to another tenant's rows.

Each attack runs against a real PostgreSQL in two setups: `guard` (a superuser connection: the
guard alone stands between the tenants) and `guard+rls` (an application role under
`rls_policy_sql()` with `set_tenant_setting=True`). Each test asserts on the rows that come back
or that changed, read afterwards through an unguarded owner connection. Clinic 1 has Ana and
Bruno, clinic 2 has Carla.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.errors import ConfigError
from tenantguard.runtime import (
    GuardedConnection,
    connect,
    create_pool,
    rls_policy_sql,
    tenant,
    unscoped,
)
from tests.conftest import BASELINE, CLINICS, fresh_database

TABLES = {"patients", "appointments", "chat_messages", "leads", "users", '"AuditLog"', "notes"}
POLICY = Policy("tenant_id", TABLES, global_tables={"tenants"})

BY_SETTING = (
    "SELECT first_name FROM patients WHERE tenant_id = current_setting('app.tenant_id')::bigint "
    "ORDER BY first_name"
)
PINNED = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY first_name"
CLINIC_1 = ["Ana", "Bruno"]


@dataclass
class Setup:
    name: str
    dsn: str  # what the application connects with
    owner_dsn: str  # superuser: sees and changes every row, unguarded
    options: dict[str, Any] = field(default_factory=dict)

    async def connect(self, **options: Any) -> GuardedConnection:
        return await connect(self.dsn, policy=POLICY, **{**self.options, **options})

    async def names(
        self, sql: str = "SELECT first_name FROM patients ORDER BY first_name"
    ) -> list[str]:
        raw = await asyncpg.connect(self.owner_dsn)
        try:
            return [r[0] for r in await raw.fetch(sql)]
        finally:
            await raw.close()

    async def owner(self, sql: str) -> None:
        raw = await asyncpg.connect(self.owner_dsn)
        try:
            await raw.execute(sql)
        finally:
            await raw.close()


def as_user(dsn: str, user: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port}"))


EXTRA_TABLES = """
CREATE TABLE "AuditLog" (tenant_id bigint NOT NULL, note text);
INSERT INTO "AuditLog" VALUES (1, 'north audit'), (2, 'south audit');
CREATE TABLE notes (tenant_id text NOT NULL, body text);
INSERT INTO notes VALUES ('1', 'mine'), ('01', 'other clinic 01'), (' 1', 'other clinic space');
"""


# The `guard+rls` setup on top of EXTRA_TABLES: the application role under row-level security.
# PostgreSQL refuses COPY FROM into a table under RLS: the copy targets stay without (the baseline
# enables RLS on every tenant table since patch 0050).
UNDER_RLS = f"""
ALTER TABLE chat_messages DISABLE ROW LEVEL SECURITY;
{rls_policy_sql(["patients"])}
{rls_policy_sql(["notes"], column_type="text")}
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clinic_app')
THEN CREATE ROLE clinic_app LOGIN; END IF; END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO clinic_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO clinic_app;
"""


def setup_with(extra: str = "") -> Any:
    """The `setup` fixture over databases that also hold `extra` (run after the setup's own SQL,
    as the owner): parametrized over "guard" and "guard+rls". A test module takes it as
    `setup = setup_with(…)`."""

    @pytest.fixture(params=["guard", "guard+rls"])
    async def setup(
        request: pytest.FixtureRequest, postgres: ThrowawayPostgres
    ) -> AsyncIterator[Setup]:
        """The two clinics (see tests/conftest.py) with EXTRA_TABLES, as `guard` or
        `guard+rls`."""
        sql = BASELINE.read_text(encoding="utf-8") + CLINICS + EXTRA_TABLES
        if request.param == "guard":
            async with fresh_database(postgres, sql + extra) as dsn:
                yield Setup("guard", dsn, dsn)
            return
        async with fresh_database(postgres, sql + UNDER_RLS + extra) as dsn:
            yield Setup("guard+rls", as_user(dsn, "clinic_app"), dsn, {"set_tenant_setting": True})

    return setup


setup = setup_with()


async def copy_out(conn: GuardedConnection, query: str, *args: object) -> list[str]:
    chunks: list[bytes] = []

    async def sink(data: bytes) -> None:
        chunks.append(data)

    await conn.copy_from_query(query, *args, output=sink)
    return sorted(line.split("\t")[0] for line in b"".join(chunks).decode().splitlines())


# --- 1. copy_from_query pastes the values into the text ----------------------------------


async def test_copy_from_query_values_are_placed_only_at_real_parameters(setup: Setup) -> None:
    """asyncpg replaced `$2` inside the comment too: the value's newline ended the comment and
    `OR true` became SQL. The guard places values itself and proves the text it sends."""
    conn = await setup.connect()
    try:
        with tenant(1):
            sql = (
                "SELECT first_name FROM patients WHERE tenant_id = $1 AND first_name <> $2 -- $2\n"
                "ORDER BY first_name"
            )
            assert await copy_out(conn, sql, 1, "x\nOR true\n--") == CLINIC_1
            # a `$1` inside a string literal is text, not the parameter
            assert (
                await copy_out(
                    conn,
                    "SELECT first_name FROM patients WHERE tenant_id = $1 AND last_name IS "
                    "DISTINCT FROM '$1'",
                    1,
                )
                == CLINIC_1
            )
            with pytest.raises(TenantIsolationError):
                await copy_out(conn, PINNED, 2)
    finally:
        await conn.close()


async def test_copy_from_query_cannot_close_the_copy_parenthesis(setup: Setup) -> None:
    conn = await setup.connect()
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await copy_out(
                conn,
                "SELECT first_name FROM patients WHERE tenant_id = 1) TO STDOUT; "
                "DELETE FROM patients WHERE tenant_id <> 1; COPY (SELECT 1",
            )
    finally:
        await conn.close()
    assert await setup.names() == ["Ana", "Bruno", "Carla"]


# --- 2. copy_*(where=…) is pasted into the COPY -------------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        "false; DELETE FROM patients WHERE tenant_id <> 1",
        "true; UPDATE patients SET first_name = 'owned'",
        "tenant_id = 1 OR (SELECT set_config('app.tenant_id', '2', false)) IS NOT NULL",
    ],
)
async def test_copy_where_is_one_proven_expression(setup: Setup, where: str) -> None:
    conn = await setup.connect()
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.copy_records_to_table(
                "chat_messages",
                records=[(1, "inbound", "hola")],
                columns=["tenant_id", "direction", "body"],
                where=where,
            )
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.copy_to_table(
                "tenants", source=io.BytesIO(b"9\tEast\n"), columns=["id", "name"], where=where
            )
        with tenant(1):  # a plain condition still works
            await conn.copy_records_to_table(
                "chat_messages",
                records=[(1, "inbound", "hola"), (1, "inbound", "skip")],
                columns=["tenant_id", "direction", "body"],
                where="body <> 'skip'",
            )
    finally:
        await conn.close()
    assert await setup.names() == ["Ana", "Bruno", "Carla"]
    assert await setup.names("SELECT body FROM chat_messages") == ["hola"]
    assert await setup.names("SELECT name FROM tenants ORDER BY id") == ["North", "South"]


# --- 3 and 4. the tenant setting is the guard's ------------------------------------------

SETTING_CHANGES = [
    ("SET app.tenant_id = '2'", ()),
    ('SET SESSION "app"."tenant_id" TO \'2\'', ()),
    ("SELECT set_config('app.tenant_id', '2', false)", ()),
    ("SELECT set_config('app.tenant_id', $1, false)", ("2",)),
    ("SELECT set_config($1, $2, false)", ("app.tenant_id", "2")),
    ("SELECT pg_catalog.set_config(lower('APP.TENANT_ID'), '2', false)", ()),
    ("RESET app.tenant_id", ()),
    ("RESET ALL", ()),
    ("DISCARD ALL", ()),
    ("DO $$ BEGIN PERFORM set_config('app.tenant_id', '2', false); END $$", ()),
]


@pytest.mark.parametrize("statement, args", SETTING_CHANGES)
async def test_the_application_cannot_change_the_tenant_setting(
    setup: Setup, statement: str, args: tuple[object, ...]
) -> None:
    conn = await setup.connect()
    try:
        with tenant(2):
            await conn.fetch(BY_SETTING)  # the setting holds 2 now
        with tenant(1):
            assert await conn.fetch(BY_SETTING) == [("Ana",), ("Bruno",)]
            with pytest.raises(TenantIsolationError) as refused:
                await conn.execute(statement, *args)
            assert refused.value.rule == "TG-RUNTIME"
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1
            assert [r[0] for r in await conn.fetch(PINNED, 1)] == CLINIC_1
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "statement, args",
    [c for c in SETTING_CHANGES if c[0] != "DISCARD ALL"],  # asyncpg cannot survive it
)
async def test_a_setting_changed_anyway_is_never_trusted(
    setup: Setup, statement: str, args: tuple[object, ...]
) -> None:
    """In report mode (and in unscoped()) the change runs: the next statement pinned by the
    setting must still see tenant 1 — the guard sets it again before trusting it."""
    conn = await setup.connect(mode="report")
    try:
        with tenant(1):
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1
            await conn.execute(statement, *args)
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1
            assert [r[0] for r in await conn.fetch(PINNED, 1)] == CLINIC_1
        with unscoped("maintenance"):
            await conn.execute("SELECT set_config('app.tenant_id', '2', false)")
        with tenant(1):
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1
        assert conn.tenantguard.reported >= 1
    finally:
        await conn.close()


async def test_set_local_inside_a_transaction_is_refused(setup: Setup) -> None:
    conn = await setup.connect()
    try:
        with tenant(1):
            async with conn.transaction():
                with pytest.raises(TenantIsolationError):
                    await conn.execute("SET LOCAL app.tenant_id = '2'")
                assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1
    finally:
        await conn.close()


async def test_a_pin_by_the_setting_is_checked_against_the_request(setup: Setup) -> None:
    """Without set_tenant_setting too: the guard sets the setting before a statement pinned
    by it, so the pin means the request's tenant, whatever the session held before."""
    conn = await setup.connect(set_tenant_setting=False)
    try:
        with unscoped("an earlier request's leftover"):
            await conn.execute("SELECT set_config('app.tenant_id', '2', false)")
        with tenant(1):
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1
        with tenant(2):
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == ["Carla"]
        with tenant(1):
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1
    finally:
        await conn.close()


async def test_a_pin_by_the_setting_holds_when_the_call_runs_not_when_it_was_made(
    setup: Setup,
) -> None:
    conn = await setup.connect()
    try:
        with tenant(1):
            await conn.fetch(BY_SETTING)  # the setting holds 1
            mine = conn.fetch(BY_SETTING)  # made now, awaited later
        with tenant(2):
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == ["Carla"]
        assert [r[0] for r in await mine] == CLINIC_1
    finally:
        await conn.close()
    conn = await setup.connect(mode="report")
    try:
        with tenant(1):
            await conn.fetch(BY_SETTING)
            mine = conn.fetch(BY_SETTING)
            await conn.execute("SET app.tenant_id = '2'")  # reported, and run
            assert [r[0] for r in await mine] == CLINIC_1
    finally:
        await conn.close()


# --- 5. SQL run inside the server -----------------------------------------------------------


async def test_a_statement_prepared_unscoped_cannot_be_executed_by_a_tenant(setup: Setup) -> None:
    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **setup.options)
    try:
        with unscoped("report across clinics"):
            async with pool.acquire() as c:
                await c.execute("PREPARE leak AS SELECT first_name FROM patients")
        with tenant(1):
            for sql in ("EXECUTE leak", "EXECUTE leak()"):
                with pytest.raises(TenantIsolationError) as refused:
                    await pool.fetch(sql)  # the prepared name outlived the pool's reset
                assert "PREPARE/EXECUTE" in str(refused.value)
            with pytest.raises(TenantIsolationError):
                await pool.execute("PREPARE mine AS SELECT first_name FROM patients")
        with unscoped("the report again"):
            assert len(await pool.fetch("EXECUTE leak")) in (3, 0)  # 0 under RLS, 3 as owner
    finally:
        await pool.close()


async def test_a_do_block_deleting_other_clinics_is_refused(setup: Setup) -> None:
    conn = await setup.connect()
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.execute("DO $$ BEGIN DELETE FROM patients WHERE tenant_id <> 1; END $$")
    finally:
        await conn.close()
    assert await setup.names() == ["Ana", "Bruno", "Carla"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT query_to_xml('SELECT first_name FROM patients', true, false, '')::text",
        "SELECT table_to_xml('patients', true, false, '')::text",
        "SELECT string_agg(word, ' ') FROM ts_stat('SELECT to_tsvector(first_name) FROM patients')",
    ],
)
async def test_sql_in_a_string_run_by_the_server_is_refused(setup: Setup, sql: str) -> None:
    conn = await setup.connect()
    try:
        with tenant(1):
            try:
                text = str(await conn.fetchval(sql))
            except TenantIsolationError:
                text = ""
            assert "carla" not in text.lower()
            with pytest.raises(TenantIsolationError):
                await conn.fetchval(sql)
    finally:
        await conn.close()


# --- 6. the server must lex as the guard does ---------------------------------------------

HIDDEN = "SELECT first_name FROM patients WHERE tenant_id = $1 AND first_name <> 'a\\'' OR true --'"


async def test_a_session_that_lexes_strings_differently_is_not_guarded(setup: Setup) -> None:
    """With standard_conforming_strings off, `'a\\''` ends after the second quote for the
    server: `OR true` is SQL there, and a string for a lexer that assumes on."""
    database = urlsplit(setup.owner_dsn).path.lstrip("/")
    await setup.owner(f"ALTER DATABASE {database} SET standard_conforming_strings = off")
    conn = await setup.connect()
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError) as refused:
                await conn.fetch(HIDDEN, 1)
            assert "standard_conforming_strings" in str(refused.value)
            with pytest.raises(TenantIsolationError):
                await conn.execute(
                    "UPDATE patients SET first_name = 'owned' WHERE tenant_id = 1 "
                    "AND first_name = 'a\\'' OR true --'"
                )
    finally:
        await conn.close()
    assert await setup.names() == ["Ana", "Bruno", "Carla"]


async def test_turning_the_lexer_setting_off_is_refused_and_noticed(setup: Setup) -> None:
    conn = await setup.connect()
    try:
        with tenant(1):
            assert [r[0] for r in await conn.fetch(HIDDEN, 1)] == CLINIC_1  # lexed alike: safe
            with pytest.raises(TenantIsolationError):
                await conn.execute("SET standard_conforming_strings = off")
        with unscoped("legacy import"):
            await conn.execute("SET standard_conforming_strings = off")
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.fetch(HIDDEN, 1)
        with unscoped("legacy import done"):
            await conn.execute("SET standard_conforming_strings = on")
        with tenant(1):
            assert [r[0] for r in await conn.fetch(HIDDEN, 1)] == CLINIC_1
    finally:
        await conn.close()


# --- 7. a round trip cancelled while setting the tenant -------------------------------------


async def test_a_cancelled_setting_round_trip_is_never_trusted(setup: Setup) -> None:
    conn = await setup.connect()
    try:
        raced = 0
        for _ in range(40):
            with tenant(1):
                assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1
            with tenant(2):
                task = asyncio.ensure_future(conn.fetch(BY_SETTING))
            await asyncio.sleep(0)  # the task sends set_config('app.tenant_id', '2') …
            task.cancel()  # … and is cancelled before its answer
            await asyncio.gather(task, return_exceptions=True)
            held = await asyncpg.Connection.fetchval(
                conn, "SELECT current_setting('app.tenant_id', true)"
            )
            raced += held == "2"
            with tenant(1):
                assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1
                assert [r[0] for r in await conn.fetch(PINNED, 1)] == CLINIC_1
        assert raced, "the cancellation never landed after the server applied the setting"
    finally:
        await conn.close()


# --- 8. rollbacks, cursors, copies ------------------------------------------------------------


@pytest.mark.parametrize("undo", ["ROLLBACK", "ROLLBACK TO SAVEPOINT s", "ABORT", "COMMIT"])
async def test_a_rollback_to_another_tenants_setting_is_noticed(setup: Setup, undo: str) -> None:
    conn = await setup.connect()
    try:
        with tenant(2):
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == ["Carla"]
            await conn.execute("BEGIN")
            await conn.execute("SAVEPOINT s")
        with tenant(1):
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1  # set inside
            with pytest.raises(asyncpg.DivisionByZeroError):
                await conn.fetchval("SELECT 1 / 0")  # the transaction fails: COMMIT rolls back
            await conn.execute(undo)
            if undo.startswith("ROLLBACK TO"):
                await conn.execute("COMMIT")
            assert [r[0] for r in await conn.fetch(BY_SETTING)] == CLINIC_1
            assert [r[0] for r in await conn.fetch(PINNED, 1)] == CLINIC_1
    finally:
        await conn.close()


async def test_a_failed_transaction_left_open_is_rolled_back_before_the_next_request(
    setup: Setup,
) -> None:
    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **setup.options)
    try:
        with tenant(1):
            async with pool.acquire() as c:
                await c.execute("BEGIN")
                assert [r[0] for r in await c.fetch(BY_SETTING)] == CLINIC_1
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await c.fetchval("SELECT 1 / 0")
                # the handler returns without ROLLBACK: the transaction is left failed
        with tenant(2):
            assert [r[0] for r in await pool.fetch(BY_SETTING)] == ["Carla"]
            assert [r[0] for r in await pool.fetch(PINNED, 2)] == ["Carla"]
        with tenant(1):
            assert [r[0] for r in await pool.fetch(BY_SETTING)] == CLINIC_1
    finally:
        await pool.close()


async def test_cursors_and_copies_run_under_the_requests_setting(setup: Setup) -> None:
    conn = await setup.connect()
    try:
        with tenant(2):
            transaction = conn.transaction()
            await transaction.start()  # the setting holds 2
        with tenant(1):
            assert [r[0] async for r in conn.cursor(BY_SETTING)] == CLINIC_1
            cursor = await conn.cursor(BY_SETTING)
            assert [r[0] for r in await cursor.fetch(5)] == CLINIC_1
        with tenant(2):
            await conn.fetch(BY_SETTING)
        with tenant(1):
            statement = await conn.prepare(BY_SETTING)
        with tenant(2):
            await conn.fetch(BY_SETTING)
        with tenant(1):
            assert [r[0] async for r in statement.cursor()] == CLINIC_1
        await transaction.rollback()
        with tenant(2):
            await conn.fetch(BY_SETTING)
        with tenant(1):
            assert await copy_out(conn, BY_SETTING) == CLINIC_1
    finally:
        await conn.close()


# --- 9. quoted mixed-case tenant tables in copy_* --------------------------------------------


async def test_copy_names_the_table_exactly(setup: Setup, tmp_path: Path) -> None:
    conn = await setup.connect()
    out = tmp_path / "audit.tsv"
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError) as whole:
                await conn.copy_from_table("AuditLog", output=str(out))
            assert whole.value.rule == "TG005"
            with pytest.raises(TenantIsolationError):
                await conn.copy_records_to_table(
                    "AuditLog", records=[(2, "forged")], columns=["tenant_id", "note"]
                )
            await conn.copy_records_to_table(
                "AuditLog", records=[(1, "mine")], columns=["tenant_id", "note"]
            )
    finally:
        await conn.close()
    assert not out.exists() or "south" not in out.read_text()
    assert await setup.names('SELECT note FROM "AuditLog" ORDER BY 1') == [
        "mine",
        "north audit",
        "south audit",
    ]


# --- 10. no configuration, no guard -----------------------------------------------------------


async def test_no_policy_and_no_configuration_refuses_to_start(
    two_clinics: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml, no tenantguard.toml up from here
    with pytest.raises(ConfigError, match="names no tenant tables"):
        await connect(two_clinics)
    with pytest.raises(ConfigError, match="names no tenant tables"):
        create_pool(two_clinics)
    with pytest.raises(ConfigError, match="policy names no tenant tables"):
        await connect(two_clinics, policy=Policy("tenant_id", ()))
    conn = await connect(two_clinics, mode="off")  # unguarded, and said so
    try:
        assert len(await conn.fetch("SELECT first_name FROM patients")) == 3
    finally:
        await conn.close()
    (tmp_path / "pyproject.toml").write_text('[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    conn = await connect(two_clinics)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.fetch("SELECT first_name FROM patients")
    finally:
        await conn.close()


# --- 11. side effects over unfiltered rows (engine: TG013) ----------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT first_name FROM patients "
        "WHERE pg_notify('leak', first_name || '') IS NOT NULL AND tenant_id = $1",
        "WITH n AS MATERIALIZED (SELECT pg_notify('leak', first_name) AS x, tenant_id "
        "FROM patients) SELECT x FROM n WHERE tenant_id = $1",
    ],
)
async def test_side_effects_on_other_tenants_rows_are_refused(setup: Setup, sql: str) -> None:
    heard: list[str] = []
    listener = await asyncpg.connect(setup.owner_dsn)
    await listener.add_listener("leak", lambda *event: heard.append(str(event[-1])))
    conn = await setup.connect()
    try:
        with tenant(1), suppress(TenantIsolationError):
            await conn.fetch(sql, 1)
        await asyncio.sleep(0.2)
        assert "Carla" not in heard
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.fetch(sql, 1)
    finally:
        await conn.close()
        await listener.close()


# --- low ------------------------------------------------------------------------------------


async def test_select_into_temp_is_refused_like_create_temp_table(setup: Setup) -> None:
    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **setup.options)
    try:
        with tenant(2), suppress(TenantIsolationError):
            await pool.execute("SELECT first_name INTO TEMP kept FROM patients WHERE tenant_id = 2")
        with tenant(1):
            try:
                rows = [r[0] for r in await pool.fetch("SELECT first_name FROM kept")]
            except asyncpg.UndefinedTableError:
                rows = []
            assert rows == []
        with tenant(2), pytest.raises(TenantIsolationError):
            await pool.execute(
                "SELECT first_name INTO TEMP kept2 FROM patients WHERE tenant_id = 2"
            )
    finally:
        await pool.close()


class Lying(int):
    """An int that prints as clinic 1 and is sent as clinic 2."""

    def __str__(self) -> str:
        return "1"

    __repr__ = __str__


async def test_values_compare_as_the_server_does(setup: Setup) -> None:
    conn = await setup.connect()
    body = "SELECT body FROM notes WHERE tenant_id = $1 ORDER BY body"
    try:
        with tenant(1):
            assert [r[0] for r in await conn.fetch(body, "1")] == ["mine"]
            for value in ("01", " 1", "1 "):
                with pytest.raises(TenantIsolationError):
                    await conn.fetch(body, value)  # another row of a text column
            with pytest.raises(TenantIsolationError):
                await conn.fetch("SELECT body FROM notes WHERE tenant_id = '01'")
            with pytest.raises(TenantIsolationError) as lying:
                await conn.fetch(PINNED, Lying(2))
            assert "cannot be compared" in str(lying.value)
            with pytest.raises(TenantIsolationError):
                await conn.fetch(PINNED, True)
        with tenant(Lying(2)), pytest.raises(TenantIsolationError) as bad:
            await conn.fetch(PINNED, Lying(2))
        assert "not a valid tenant value" in str(bad.value)
    finally:
        await conn.close()


async def test_a_tenant_held_across_a_generators_yield_is_refused(setup: Setup) -> None:
    conn = await setup.connect()

    async def clinic_two_rows() -> AsyncIterator[int]:
        with tenant(2):
            yield 1  # the consumer's loop body runs in tenant 2's scope …
            yield 2

    @asynccontextmanager
    async def request_for(clinic: int) -> AsyncIterator[None]:
        with tenant(clinic):  # … while a context manager is meant to hand its scope on
            yield

    try:
        with tenant(1):
            async for _ in clinic_two_rows():
                with pytest.raises(TenantIsolationError) as refused:
                    await conn.fetch(PINNED, 2)
                assert "held across a yield" in str(refused.value)
            assert [r[0] for r in await conn.fetch(PINNED, 1)] == CLINIC_1
        async with request_for(2):
            assert [r[0] for r in await conn.fetch(PINNED, 2)] == ["Carla"]

        def sync_rows() -> Any:
            with tenant(2):
                yield 1

        with tenant(1):
            for _ in sync_rows():
                with pytest.raises(TenantIsolationError):
                    await conn.fetch(PINNED, 2)
        iterator = clinic_two_rows()
        with pytest.raises(RuntimeError, match="out of order"), tenant(1):
            await iterator.__anext__()  # tenant 2 entered, never left …
            # … and the consumer's block ends first
        await iterator.aclose()
    finally:
        await conn.close()


async def test_an_explained_statement_runs_in_a_maintenance_session_only(setup: Setup) -> None:
    """A plan's estimates and EXPLAIN ANALYZE's row counts cover every tenant's rows (round 19,
    tests/runtime/test_runtime_attacks_round19.py): refused in a request, run inside unscoped()."""
    conn = await setup.connect()
    try:
        with tenant(1):
            statement = await conn.prepare(PINNED)
            for bound, analyze in ((1, False), (1, True), (2, False)):
                with pytest.raises(TenantIsolationError):
                    await statement.explain(bound, analyze=analyze)
        with unscoped("query plans, by the operator"):
            plan = await statement.explain(1)
            assert plan[0]["Plan"]
            analyzed = await statement.explain(1, analyze=True)
            # under RLS, unscoped() sets no tenant: the policy shows no row
            assert analyzed[0]["Plan"]["Actual Rows"] == (0 if "rls" in setup.name else 2)
    finally:
        await conn.close()


# --- from first use -------------------------------------------------------------------------


async def test_require_tenant_keeps_pooled_connections(setup: Setup) -> None:
    pool = await create_pool(
        setup.dsn, policy=POLICY, min_size=1, max_size=1, require_tenant=True, **setup.options
    )
    try:
        for clinic, names in [(1, CLINIC_1), (2, ["Carla"]), (1, CLINIC_1)]:
            with tenant(clinic):
                assert [r[0] for r in await pool.fetch(PINNED, clinic)] == names
        with pytest.raises(TenantIsolationError):
            await pool.fetch(PINNED, 1)
        guard = pool.tenantguard
        assert guard.blocked == 1
        assert guard.checked == 4  # the four statements above; asyncpg's resets do not count
    finally:
        await pool.close()


async def test_report_mode_logs_the_call_site_once_per_interval_without_values(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    conn = await setup.connect(mode="report", report_interval=0.3)
    leak = "SELECT first_name FROM patients WHERE phone_number = '221' OR tenant_id = $1"
    try:
        with caplog.at_level(logging.WARNING, logger="tenantguard"), tenant(1):
            for _ in range(5):
                await conn.fetch(leak, 1)  # the application's line
            leak_line = _line_of("await conn.fetch(leak, 1)  # the application's line")
            await conn.fetch(PINNED, 2)
            await asyncio.sleep(0.35)
            await conn.fetch(leak, 1)
        records = [r for r in caplog.records if "rule" in getattr(r, "tenantguard", {})]
        leaks = [r for r in records if r.tenantguard["rule"] == "TG001"]  # type: ignore[attr-defined]
        assert [r.tenantguard["count"] for r in leaks] == [1, 5]  # type: ignore[attr-defined]
        assert leaks[0].tenantguard["call_site"] == f"{__file__}:{leak_line}"  # type: ignore[attr-defined]
        text = "\n".join(r.getMessage() + repr(r.tenantguard) for r in records)  # type: ignore[attr-defined]
        assert "'221'" not in text and "221" not in text
        mismatch = next(r for r in records if r.tenantguard["rule"] == "TG-RUNTIME")  # type: ignore[attr-defined]
        assert "$1 pins another tenant" in mismatch.getMessage()
        assert "2" not in mismatch.getMessage().split("$1", 1)[1].split("—")[0]
        assert conn.tenantguard.reported == 7
    finally:
        await conn.close()


def _line_of(text: str) -> int:
    source = Path(__file__).read_text().splitlines()
    return next(i for i, line in enumerate(source, 1) if line.strip() == text)


async def test_rls_policy_is_forced_on_the_tables_owner(two_clinics: str) -> None:
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clinic_owner') "
            "THEN CREATE ROLE clinic_owner LOGIN; END IF; END $$;"
            "ALTER TABLE patients OWNER TO clinic_owner"
        )
        await owner.execute(rls_policy_sql(["patients"]))
        assert await owner.fetchval(
            "SELECT relforcerowsecurity FROM pg_class WHERE relname = 'patients'"
        )
    finally:
        await owner.close()
    conn = await connect(
        as_user(two_clinics, "clinic_owner"), policy=POLICY, mode="report", set_tenant_setting=True
    )
    try:
        with tenant(2):
            assert [r[0] for r in await conn.fetch("SELECT first_name FROM patients")] == ["Carla"]
    finally:
        await conn.close()
