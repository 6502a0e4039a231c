"""The runtime guard against a real PostgreSQL: every method, every mode, values, concurrency."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine import bulk_values
from tenantguard.runtime import GuardedConnection, connect, create_pool, tenant, unscoped
from tests.conftest import log_every_statement

POLICY = Policy(
    "tenant_id",
    {
        "patients",
        "appointments",
        "leads",
        "chat_messages",
        "professionals",
        "clinical_records",
        "users",
    },
    global_tables={"tenants"},
)


@pytest.fixture
def dsn(two_clinics: str) -> str:
    return two_clinics


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[GuardedConnection]:
    connection = await connect(dsn, policy=POLICY)
    yield connection
    await connection.close()


async def count(dsn: str, sql: str) -> int:
    raw = await asyncpg.connect(dsn)
    try:
        return int(await raw.fetchval(sql))
    finally:
        await raw.close()


PINNED = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY id"
UNPINNED = "SELECT first_name FROM patients"


async def test_contract_example(conn: GuardedConnection) -> None:
    assert isinstance(conn, asyncpg.Connection)
    with tenant(1):
        assert [r["first_name"] for r in await conn.fetch(PINNED, 1)] == ["Ana", "Bruno"]
        with pytest.raises(TenantIsolationError) as wrong:
            await conn.fetch(PINNED, 2)
        assert wrong.value.rule == "TG-RUNTIME" and "$1" in str(wrong.value)
        with pytest.raises(TenantIsolationError) as unpinned:
            await conn.fetch(UNPINNED)
        assert unpinned.value.rule == "TG001" and unpinned.value.statement == UNPINNED
        assert unpinned.value.hint.startswith("add `patients.tenant_id = $n`")


@pytest.mark.parametrize(
    "call",
    [
        lambda c, q, a: c.fetch(q, *a),
        lambda c, q, a: c.fetchrow(q, *a),
        lambda c, q, a: c.fetchval(q, *a),
        lambda c, q, a: c.execute(q, *a),
        lambda c, q, a: c.fetchmany(q, [a]),
        lambda c, q, a: c.executemany(q, [a]),
    ],
    ids=["fetch", "fetchrow", "fetchval", "execute", "fetchmany", "executemany"],
)
async def test_every_query_method_is_guarded(conn: GuardedConnection, call: object) -> None:
    with tenant(1):
        await call(conn, PINNED, (1,))  # type: ignore[operator]
        with pytest.raises(TenantIsolationError):
            await call(conn, PINNED, (2,))  # type: ignore[operator]
        with pytest.raises(TenantIsolationError):
            await call(conn, "SELECT first_name FROM patients WHERE id = $1", (1,))  # type: ignore[operator]
    assert conn.tenantguard.blocked == 2


async def test_execute_without_arguments_checks_each_statement(
    conn: GuardedConnection, dsn: str
) -> None:
    with tenant(1), pytest.raises(TenantIsolationError) as blocked:
        await conn.execute(
            "UPDATE patients SET first_name = 'x' WHERE tenant_id = 1; DELETE FROM patients"
        )
    assert blocked.value.rule == "TG001"
    assert await count(dsn, "SELECT count(*) FROM patients WHERE first_name = 'x'") == 0
    with tenant(1):
        await conn.execute(
            "BEGIN; UPDATE patients SET first_name = 'y' WHERE tenant_id = 1 AND id = 1; COMMIT"
        )
    assert await count(dsn, "SELECT count(*) FROM patients WHERE first_name = 'y'") == 1
    with tenant(2), pytest.raises(TenantIsolationError):
        await conn.execute(
            "UPDATE patients SET first_name = 'z' WHERE tenant_id = 1"
        )  # a literal of tenant 1


async def test_executemany_with_one_bad_row_writes_nothing(
    conn: GuardedConnection, dsn: str
) -> None:
    rows = [(1, "Dora", "113"), (2, "Eve", "222"), (1, "Fede", "114")]
    with tenant(1), pytest.raises(TenantIsolationError):
        await conn.executemany(
            "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES ($1, $2, $3)", rows
        )
    assert await count(dsn, "SELECT count(*) FROM patients") == 3


async def test_a_bulk_insert_with_another_tenant_deep_in_it_writes_nothing(dsn: str) -> None:
    """A 3 000-row VALUES list (~80 kB, past the default max_statement_bytes: raised here; its
    rows that bring nothing new are left out of the proof's tree, engine/bulk_values.py): one
    row of clinic 2 deep in it, as a literal or as another parameter bound to 2, and the
    statement never runs; the list of clinic 1 alone runs, once its parameter is clinic 1."""
    conn = await connect(dsn, policy=POLICY, max_statement_bytes=1 << 20)
    rows = [f"($1, 'bulk', '{i:09d}')" for i in range(3_000)]
    head = "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES "
    bulk = "SELECT count(*) FROM patients WHERE first_name = 'bulk'"
    try:
        for intruder, args in [("(2, 'bulk', '2')", (1,)), ("($2, 'bulk', '2')", (1, 2))]:
            sql = head + ", ".join([*rows[:2_345], intruder, *rows[2_345:]])
            assert len(sql) > bulk_values.MINIMUM
            with tenant(1), pytest.raises(TenantIsolationError, match="another tenant") as e:
                await conn.execute(sql, *args)
            assert "max_statement_bytes" not in str(e.value)
            assert await count(dsn, bulk) == 0
        sql = head + ", ".join(rows)
        with tenant(1), pytest.raises(TenantIsolationError, match="another tenant"):
            await conn.execute(sql, 2)  # the one parameter bound to another clinic
        assert await count(dsn, bulk) == 0
        with tenant(1):
            await conn.execute(sql, 1)
        assert await count(dsn, bulk + " AND tenant_id = 1") == await count(dsn, bulk) == 3_000
    finally:
        await conn.close()


async def test_prepared_statement_checks_values_at_each_run(conn: GuardedConnection) -> None:
    with tenant(1):
        statement = await conn.prepare(PINNED)
        assert [r[0] for r in await statement.fetch(1)] == ["Ana", "Bruno"]
        assert await statement.fetchval(1) == "Ana"
        with pytest.raises(TenantIsolationError):
            await statement.fetchrow(2)
        with pytest.raises(TenantIsolationError):
            await conn.prepare(UNPINNED)


async def test_cursor_is_guarded(conn: GuardedConnection) -> None:
    with tenant(1):
        async with conn.transaction():
            names = [r[0] async for r in conn.cursor(PINNED, 1)]
            assert names == ["Ana", "Bruno"]
            with pytest.raises(TenantIsolationError):
                conn.cursor(UNPINNED)
            statement = await conn.prepare(PINNED)
            with pytest.raises(TenantIsolationError):
                statement.cursor(2)


async def test_copy_methods(conn: GuardedConnection, dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    with tenant(1):
        await conn.copy_from_query(
            "SELECT * FROM patients WHERE tenant_id = $1", 1, output=str(out)
        )
        assert len(out.read_text().splitlines()) == 2
        with pytest.raises(TenantIsolationError):
            await conn.copy_from_query("SELECT * FROM patients", output=str(out))
        with pytest.raises(TenantIsolationError) as whole:
            await conn.copy_from_table("patients", output=str(out))
        assert whole.value.rule == "TG005"
        await conn.copy_from_table("tenants", output=str(out))
        await conn.copy_records_to_table(
            "patients",
            records=[(1, "Gus", "115")],
            columns=["tenant_id", "first_name", "phone_number"],
        )
        with pytest.raises(TenantIsolationError):
            await conn.copy_records_to_table(
                "patients",
                records=[(2, "Hal", "223")],
                columns=["tenant_id", "first_name", "phone_number"],
            )
        with pytest.raises(TenantIsolationError) as no_tenant:
            await conn.copy_records_to_table(
                "chat_messages", records=[("inbound", "hi")], columns=["direction", "body"]
            )
        assert no_tenant.value.rule == "TG002"
        src = tmp_path / "in.csv"
        src.write_text("x\n")
        with pytest.raises(TenantIsolationError):
            await conn.copy_to_table("chat_messages", source=str(src), columns=["body"])
    with unscoped("restore of a backup"):
        await conn.copy_from_table("patients", output=str(out))
    assert await count(dsn, "SELECT count(*) FROM patients") == 4


async def test_values_compare_as_the_column_would(dsn: str) -> None:
    conn = await connect(dsn, policy=POLICY.replace(tenant_column="tenant_id"))
    try:
        with tenant("1"):
            await conn.fetch(PINNED, 1)
        with tenant(1):
            await conn.fetch("SELECT * FROM patients WHERE tenant_id = $1::bigint", 1)
            await conn.fetch("SELECT * FROM patients WHERE tenant_id = 1")
            with pytest.raises(TenantIsolationError):
                await conn.fetch("SELECT * FROM patients WHERE tenant_id = 2")
        tid = uuid.UUID("6f1c1c1e-0000-4000-8000-000000000001")
        guard = conn.tenantguard
        with tenant(tid):
            guard.check("SELECT * FROM patients WHERE tenant_id = $1", [(str(tid),)])
            guard.check("SELECT * FROM patients WHERE tenant_id = $1", [(tid,)])
            # a text column tells 'ABC…' from 'abc…': only the canonical text is the tenant
            with pytest.raises(TenantIsolationError):
                guard.check("SELECT * FROM patients WHERE tenant_id = $1", [(str(tid).upper(),)])
            with pytest.raises(TenantIsolationError):
                guard.check("SELECT * FROM patients WHERE tenant_id = $1", [(uuid.uuid4(),)])
    finally:
        await conn.close()


async def test_nested_tenant_scopes_restore(conn: GuardedConnection) -> None:
    with tenant(1):
        with tenant(2):
            await conn.fetch(PINNED, 2)
            with pytest.raises(TenantIsolationError):
                await conn.fetch(PINNED, 1)
        await conn.fetch(PINNED, 1)


async def test_unscoped_is_logged_and_counted(
    conn: GuardedConnection, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="tenantguard"),
        unscoped("monthly billing across clinics"),
    ):
        assert len(await conn.fetch(UNPINNED)) == 3
    assert any("monthly billing across clinics" in r.getMessage() for r in caplog.records)
    assert conn.tenantguard.counters["unscoped"] == 1
    with pytest.raises(ValueError), unscoped(""):
        pass


async def test_report_mode_logs_and_lets_it_run(dsn: str, caplog: pytest.LogCaptureFixture) -> None:
    conn = await connect(dsn, policy=POLICY, mode="report")
    try:
        with caplog.at_level(logging.WARNING, logger="tenantguard"), tenant(1):
            assert len(await conn.fetch(UNPINNED)) == 3
        record = next(r for r in caplog.records if "rule" in getattr(r, "tenantguard", {}))
        assert record.tenantguard["rule"] == "TG001" and record.tenantguard["statement"] == UNPINNED  # type: ignore[attr-defined]
        assert (
            conn.tenantguard.counters["reported"] == 1 and conn.tenantguard.counters["blocked"] == 0
        )
    finally:
        await conn.close()


async def test_off_mode_checks_nothing(dsn: str) -> None:
    conn = await connect(dsn, policy=POLICY, mode="off")
    try:
        assert len(await conn.fetch(UNPINNED)) == 3
        assert conn.tenantguard.counters["checked"] == 0
    finally:
        await conn.close()


async def test_require_tenant(dsn: str) -> None:
    conn = await connect(dsn, policy=POLICY, require_tenant=True)
    try:
        await conn.fetchval("SELECT 1")
        with pytest.raises(TenantIsolationError) as outside:
            await conn.fetch(PINNED, 1)
        assert "outside any tenant()" in str(outside.value)
    finally:
        await conn.close()


async def test_blocked_statement_never_reaches_the_server(
    postgres: ThrowawayPostgres, dsn: str
) -> None:
    await log_every_statement(dsn)
    conn = await connect(dsn, policy=POLICY)
    marker = f"marker_{uuid.uuid4().hex}"
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.execute(f"DELETE FROM patients /* {marker} */")
        with tenant(1):
            await conn.fetch(f"SELECT 1 FROM patients /* sent_{marker} */ WHERE tenant_id = $1", 1)
    finally:
        await conn.close()
    await asyncio.sleep(0.2)
    log = postgres.log()
    assert f"sent_{marker}" in log  # the server logs every statement it receives
    assert f"/* {marker} */" not in log
    assert await count(dsn, "SELECT count(*) FROM patients") == 3


async def test_pool_keeps_the_guard_and_tasks_keep_their_tenant(dsn: str) -> None:
    pool = await create_pool(dsn, policy=POLICY, min_size=2, max_size=8)
    try:

        async def request(t: int) -> list[str]:
            with tenant(t):
                await asyncio.sleep(0)  # interleave the tasks
                rows = await pool.fetch(PINNED, t)
                async with pool.acquire() as c:
                    assert isinstance(c._con if hasattr(c, "_con") else c, GuardedConnection)
                    await c.fetch(PINNED, t)
                return [r[0] for r in rows]

        results = await asyncio.gather(*(request(1 + i % 2) for i in range(100)))
        for i, names in enumerate(results):
            assert names == (["Ana", "Bruno"] if i % 2 == 0 else ["Carla"])
        assert pool.tenantguard.counters["blocked"] == 0  # type: ignore[attr-defined]
        assert pool.tenantguard.counters["checked"] >= 200  # type: ignore[attr-defined]
    finally:
        await pool.close()


@pytest.mark.parametrize(
    "query, args",
    [
        ("SELECT * FROM patients WHERE tenant_id = $1 AND", (1,)),  # does not parse
        (
            "SELECT * FROM patients WHERE tenant_id = $1 AND note = '"
            + "x" * (1024 * 1024)
            + "' AND",
            (1,),
        ),
        (b"SELECT 1", ()),  # not a str
        (None, ()),
    ],
    ids=["unparseable", "1MB", "bytes", "none"],
)
async def test_bad_queries_fail_closed_in_enforce_and_pass_in_report(
    dsn: str, query: object, args: tuple[object, ...]
) -> None:
    enforce = await connect(dsn, policy=POLICY)
    report = await connect(dsn, policy=POLICY, mode="report")
    try:
        with tenant(1):
            with pytest.raises(TenantIsolationError):
                await enforce.fetch(query, *args)  # type: ignore[arg-type]
            # report mode lets it through: whatever asyncpg or the server says is theirs
            with pytest.raises(
                (asyncpg.PostgresError, TypeError, AttributeError, asyncpg.InterfaceError)
            ):
                await report.fetch(query, *args)  # type: ignore[arg-type]
        assert report.tenantguard.reported == 1
    finally:
        await enforce.close()
        await report.close()


@pytest.mark.parametrize(
    "value", [None, 1.5, [1], True, ""], ids=["none", "float", "list", "bool", "empty"]
)
async def test_bad_tenant_values_block_with_a_clear_error(
    conn: GuardedConnection, value: object
) -> None:
    with tenant(value), pytest.raises(TenantIsolationError) as blocked:
        await conn.fetch(PINNED, 1)
    assert "not a valid tenant value" in str(blocked.value)
    with tenant(value):
        assert await conn.fetchval("SELECT 1") == 1  # no tenant table: nothing to check


async def test_lru_stays_bounded(dsn: str) -> None:
    conn = await connect(dsn, policy=POLICY, cache_size=500)
    try:
        guard = conn.tenantguard
        with tenant(1):
            for i in range(2_000):  # four times the bound
                guard.check(f"SELECT {i} FROM patients WHERE tenant_id = $1", [(1,)])
        assert guard.counters["cache_entries"] == 500
        assert guard.counters["cache_misses"] == 2_000
    finally:
        await conn.close()


def test_insert_select_projection_value_is_checked() -> None:
    """`INSERT … SELECT $2, …` writes $2 as the tenant: the value check must cover it."""
    from tenantguard.runtime import Guard

    guard = Guard(POLICY)
    sql = "INSERT INTO patients (tenant_id, first_name, phone_number) SELECT $2, l.name, l.phone_number FROM leads l WHERE l.tenant_id = $1"
    with tenant(1):
        guard.check(sql, [(1, 1)])
        with pytest.raises(TenantIsolationError, match=r"\$2"):
            guard.check(sql, [(1, 2)])
    merge = "MERGE INTO patients t USING (SELECT * FROM leads WHERE tenant_id = $1) s ON t.tenant_id = $1 AND t.id = s.patient_id WHEN NOT MATCHED THEN INSERT (tenant_id, first_name, phone_number) VALUES ($2, s.name, s.phone_number)"
    with tenant(1):
        guard.check(merge, [(1, 1)])
        with pytest.raises(TenantIsolationError, match=r"\$2"):
            guard.check(merge, [(1, 2)])


async def test_a_pin_pushed_into_a_derived_table_is_value_checked(conn: GuardedConnection) -> None:
    """The outer `d.tenant_id = $1` proves the inner read: its value is the request's tenant."""
    sql = "SELECT first_name FROM (SELECT * FROM patients) d WHERE d.tenant_id = $1 ORDER BY id"
    with tenant(1):
        assert [r["first_name"] for r in await conn.fetch(sql, 1)] == ["Ana", "Bruno"]
        with pytest.raises(TenantIsolationError, match=r"\$1"):
            await conn.fetch(sql, 2)
        with pytest.raises(TenantIsolationError) as limited:
            await conn.fetch(sql.replace("patients)", "patients LIMIT 1)"), 1)
        assert limited.value.rule == "TG001"
