"""Round 34: the runtime guard attacked from outside (helper h34C), on a real server.

1. FIXED: a `tenant()` scope outlives its block in every context copied while it was open (a
   task started in the block, a `call_soon` callback, `contextvars.copy_context()`): calls
   made there after the block ended were checked against the ended block's tenant and passed.
   A worker task started lazily by clinic 1's request (a batching helper, a cache refresher)
   kept clinic 1's tenant for good: clinic 2's request handed it `SELECT … WHERE tenant_id =
   current_setting('app.tenant_id')::bigint` and got back ['Ana', 'Bruno'] (the guard set the
   setting to 1 for it); `ctx.run(conn.fetchval, …)` of a context copied in clinic 1's block,
   called in clinic 2's block, returned clinic 1's names. A scope now ends with its block: a
   statement made under an ended scope is refused (an ended `unscoped()` is no longer trusted
   either). Safe twins: a task started and awaited inside the block, and a task that enters
   `tenant()` itself, run as before.

2. FIXED (h34C's branch h34C-functions, finished by h34L): under a policy written by hand the
   runtime read the database's views from the catalog but not its functions: clinic 1's
   `SELECT array_agg(n) FROM names_of(2) n` returned ['Carla'], `every_name()` every clinic's
   names (also through a named argument, a parameter's default, dynamic SQL, another function,
   a view calling one, another schema, a BEGIN ATOMIC body). The functions' `pg_get_functiondef`
   is now read with the catalog and sorted as schema sources sort them: each of these is refused
   (TenantIsolationError, nothing sent), as the CLI refuses it. Decision (lead, round 34): a
   function that relies on Row-Level Security to filter its rows is refused too, as the CLI
   does, also where the table forces RLS (tests of earlier rounds that called `all_names()` as a
   probe of the session observe it past the guard: `test_h31b_runtime_state._all_names`).

Attacks that held (refused, or returned only the request's rows), kept as tests below:
casts that change a pinning parameter's value (`$1::numeric(3,-1)`, `$1::numeric::float4::
bigint`, `$1::varchar(1)::bigint`, `$1::bit(2)::bigint`), `U&` identifiers, writes moving rows
(`SET tenant_id = $2`, `ON CONFLICT (id) DO UPDATE`, MERGE, `json_populate_record`, `unnest`),
non-int tenant values (True, Decimal, 1.0, None), a prepared statement reused in another
tenant's block, SQL PREPARE/EXECUTE and DECLARE/FETCH across blocks, planner statistics and
`*_to_xml` functions.
"""

from __future__ import annotations

import asyncio
import contextvars
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant, unscoped
from tests.runtime.test_runtime import POLICY

NAMES = "SELECT array_agg(first_name ORDER BY first_name) FROM patients WHERE tenant_id = $1"
BY_SETTING = (
    "SELECT array_agg(first_name ORDER BY first_name) FROM patients"
    " WHERE tenant_id = current_setting('app.tenant_id')::bigint"
)
EVERY_NAME = "SELECT array_agg(first_name ORDER BY first_name) FROM patients"


# ---------------------------------------------------------------- 1. a scope outlives its block


class LazyWorker:
    """A helper that runs the queries its callers hand it on one task, started by its first
    caller (a request): the task's context is that request's."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.queue: asyncio.Queue[tuple[str, tuple[Any, ...], asyncio.Future[Any]]] = (
            asyncio.Queue()
        )
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            sql, args, done = await self.queue.get()
            try:
                done.set_result(await self.conn.fetchval(sql, *args))
            except Exception as error:  # handed to the caller
                done.set_exception(error)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        if self.task is None:
            self.task = asyncio.create_task(self.run())
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self.queue.put((sql, args, done))
        return await done

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


async def test_a_worker_started_in_clinic_1s_block_reads_no_rows_for_clinic_2(
    two_clinics: str,
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    worker = LazyWorker(conn)
    try:
        with tenant(1):
            assert await worker.fetchval(BY_SETTING) == ["Ana", "Bruno"]
        with tenant(2):
            with pytest.raises(TenantIsolationError, match="ended"):
                await worker.fetchval(BY_SETTING)  # was ['Ana', 'Bruno']
            assert await conn.fetchval(BY_SETTING) == ["Carla"]
    finally:
        await worker.stop()
        await conn.close()


@pytest.mark.parametrize("pin", ["setting", "value"])
async def test_a_context_copied_in_clinic_1s_block_run_in_clinic_2s(
    two_clinics: str, pin: str
) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            copied = contextvars.copy_context()
        with tenant(2), pytest.raises(TenantIsolationError, match="ended"):
            if pin == "setting":
                await copied.run(conn.fetchval, BY_SETTING)  # was ['Ana', 'Bruno']
            else:
                await copied.run(conn.fetchval, NAMES, 1)  # was ['Ana', 'Bruno']
        with tenant(2):
            assert await conn.fetchval(BY_SETTING) == ["Carla"]
    finally:
        await conn.close()


async def test_a_callback_scheduled_in_clinic_1s_block_runs_after_it(two_clinics: str) -> None:
    """`loop.call_soon` copies the context: the callback's call, made after the block ended,
    is refused (require_tenant: outside any block it would be refused as well)."""
    conn = await connect(two_clinics, policy=POLICY, require_tenant=True)
    try:
        loop = asyncio.get_running_loop()
        made: asyncio.Future[Any] = loop.create_future()

        def later() -> None:
            try:
                made.set_result(conn.fetchval(BY_SETTING))
            except Exception as error:
                made.set_exception(error)

        with tenant(1):
            loop.call_soon(later)
        with pytest.raises(TenantIsolationError, match="ended"):
            await (await made)
    finally:
        await conn.close()


async def test_an_ended_unscoped_block_is_not_trusted(two_clinics: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with unscoped("nightly report"):
            copied = contextvars.copy_context()
            assert await conn.fetchval(EVERY_NAME) == ["Ana", "Bruno", "Carla"]
        with tenant(2), pytest.raises(TenantIsolationError, match="ended"):
            await copied.run(conn.fetchval, EVERY_NAME)
    finally:
        await conn.close()


async def test_tasks_inside_their_block_run(two_clinics: str) -> None:
    """Safe twins of 1: a task started and awaited in the block; a task that outlives the
    block it was started in and enters tenant() itself; a re-entered block object."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            task = asyncio.create_task(conn.fetchval(BY_SETTING))
            assert await task == ["Ana", "Bruno"]
            kept = conn.fetchval(NAMES, 1)
            assert await asyncio.create_task(kept) == ["Ana", "Bruno"]

        async def own_block(clinic: int) -> Any:
            await asyncio.sleep(0)
            with tenant(clinic):
                return await conn.fetchval(BY_SETTING)

        with tenant(1):
            later = asyncio.create_task(own_block(2))
        assert await later == ["Carla"]

        block = tenant(1)
        with block:
            with block:
                assert await conn.fetchval(NAMES, 1) == ["Ana", "Bruno"]
            assert await conn.fetchval(NAMES, 1) == ["Ana", "Bruno"]
        with block:
            assert await conn.fetchval(BY_SETTING) == ["Ana", "Bruno"]
    finally:
        await conn.close()


# ---------------------------------------------------------------- held (refused, or own rows)

VALUE_CASTS = {
    "numeric with a negative scale": "$1::numeric(3,-1)",
    "numeric through real": "$1::numeric::float4::bigint",
    "nested CAST": "CAST(CAST($1 AS numeric(3,-1)) AS bigint)",
    "varchar(1)": "$1::varchar(1)::bigint",
    "bit(2)": "$1::bit(2)::bigint",
    "arithmetic": "($1::int4 / 10 * 10)",
}


@pytest.mark.parametrize("kind", sorted(VALUE_CASTS))
async def test_a_cast_that_changes_the_tenant_value(two_clinics: str, kind: str) -> None:
    """Tenant 12's id cast to a type that rounds or truncates it would read tenant 10's (or
    1's) rows: refused, whatever rows exist."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(
            "INSERT INTO tenants (id, name) VALUES (10, 'Ten'), (12, 'Twelve');"
            "INSERT INTO patients (tenant_id, first_name, phone_number)"
            " VALUES (10, 'Diego', '1'), (12, 'Eva', '1')"
        )
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        value: object = "12" if kind == "varchar(1)" else 12
        with tenant(value), pytest.raises(TenantIsolationError):
            await conn.fetchval(NAMES.replace("$1", VALUE_CASTS[kind]), value)
    finally:
        await conn.close()


WRITES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "SET tenant_id": ("UPDATE patients SET tenant_id = $2 WHERE tenant_id = $1", (1, 2)),
    "SET (tenant_id, …)": (
        "UPDATE patients SET (tenant_id, first_name) = (SELECT $2::bigint, 'x')"
        " WHERE tenant_id = $1",
        (1, 2),
    ),
    "ON CONFLICT (id)": (
        "INSERT INTO patients (id, tenant_id, first_name, phone_number) VALUES (3, $1, 'z', '9')"
        " ON CONFLICT (id) DO UPDATE SET first_name = 'pwned'",
        (1,),
    ),
    "MERGE by id": (
        "MERGE INTO patients p USING (SELECT 3 AS id) s ON p.id = s.id"
        " WHEN MATCHED THEN UPDATE SET first_name = 'pwned'",
        (),
    ),
    "json_populate_record": (
        "INSERT INTO patients (tenant_id, first_name, phone_number) SELECT r.tenant_id, 'z', '9'"
        " FROM json_populate_record(null::patients, $1) r",
        ('{"tenant_id": 2}',),
    ),
    "unnest": (
        "INSERT INTO patients (tenant_id, first_name, phone_number)"
        " SELECT unnest($1::bigint[]), 'z', '9'",
        ([1, 2],),
    ),
    "UPDATE … FROM": (
        "UPDATE patients p SET first_name = 'pwned' FROM patients q"
        " WHERE q.tenant_id = $1 AND p.id = q.id + 2",
        (1,),
    ),
}
SNAPSHOT = "SELECT array_agg((tenant_id, first_name)::text ORDER BY id) FROM patients"


@pytest.mark.parametrize("kind", sorted(WRITES))
async def test_a_write_of_another_clinics_rows(two_clinics: str, kind: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        before = await asyncpg.Connection.fetchval(conn, SNAPSHOT)
        sql, args = WRITES[kind]
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.execute(sql, *args)
        assert await asyncpg.Connection.fetchval(conn, SNAPSHOT) == before
    finally:
        await conn.close()


@pytest.mark.parametrize("value", [True, Decimal(1), 1.0, None], ids=repr)
async def test_a_tenant_value_of_another_type(two_clinics: str, value: object) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.fetchval(NAMES, value)
    finally:
        await conn.close()


async def test_session_objects_across_blocks(two_clinics: str) -> None:
    """A prepared statement reused in clinic 2's block with clinic 1's id; one pinned by the
    setting runs as clinic 2; SQL PREPARE and a DECLAREd cursor crossing blocks."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            by_value = await conn.prepare(NAMES)
            by_setting = await conn.prepare(BY_SETTING)
            assert await by_setting.fetchval() == ["Ana", "Bruno"]
        with tenant(2):
            with pytest.raises(TenantIsolationError):
                await by_value.fetchval(1)
            assert await by_setting.fetchval() == ["Carla"]
            with pytest.raises(TenantIsolationError):
                await conn.execute(f"PREPARE q AS {NAMES}")
        async with conn.transaction():
            with tenant(1):
                await conn.execute(
                    "DECLARE c CURSOR FOR SELECT first_name FROM patients WHERE tenant_id = 1"
                )
            with tenant(2), pytest.raises(TenantIsolationError):
                await conn.fetch("FETCH ALL FROM c")
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT most_common_vals::text FROM pg_stats WHERE tablename = 'patients'",
        "SELECT query_to_xml('select * from patients', true, false, '')::text",
        "SELECT table_to_xml('patients', true, false, '')::text",
        'SELECT array_agg(first_name) FROM U&"p\\0061tients"',
    ],
)
async def test_reads_around_the_pin(two_clinics: str, sql: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.fetchval(sql)
    finally:
        await conn.close()


INSERT = "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES ($1, $2, '9')"


async def test_a_call_made_in_the_block_and_run_by_a_task_after_it(two_clinics: str) -> None:
    """Twin of 1: a connection's fetch/execute is checked when the call is made (inside the
    block): a task that runs it after the block ended runs it as before. A prepared
    statement's method is checked when its coroutine runs, in the ended scope: refused (an
    exemption for a task started on the guard's own coroutine would have let a worker's
    `asyncio.gather(statement.fetchval(1))`, or `wait_for`, run under the ended tenant)."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            reads = asyncio.create_task(conn.fetchval(BY_SETTING))
        assert await reads == ["Ana", "Bruno"]
        with tenant(1):
            writes = asyncio.create_task(conn.execute(INSERT, 1, "Zoe"))
        assert await writes == "INSERT 0 1"
        with tenant(1):
            statement = await conn.prepare(NAMES)
            prepared = asyncio.create_task(statement.fetchval(1))
        with pytest.raises(TenantIsolationError, match="ended"):
            await prepared
        with tenant(1):
            assert await statement.fetchval(1) == ["Ana", "Bruno", "Zoe"]
    finally:
        await conn.close()


async def test_a_worker_gathering_prepared_calls_under_an_ended_scope(two_clinics: str) -> None:
    """A worker started in clinic 1's block runs clinic 2's job through `asyncio.gather` (each
    coroutine becomes a task of its own, rooted in the guard's coroutine): refused."""
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            statement = await conn.prepare(BY_SETTING)
            jobs: asyncio.Queue[asyncio.Future[Any]] = asyncio.Queue()

            async def worker() -> None:
                while True:
                    done = await jobs.get()
                    try:
                        (got,) = await asyncio.gather(statement.fetchval())
                        done.set_result(got)
                    except Exception as error:
                        done.set_exception(error)

            task = asyncio.create_task(worker())
        try:
            with tenant(2):
                done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                await jobs.put(done)
                with pytest.raises(TenantIsolationError, match="ended"):
                    await done  # was ['Ana', 'Bruno'] with the exemption
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "method", ["fetch", "fetchrow", "execute", "executemany", "prepare", "cursor", "copy"]
)
async def test_every_entry_point_refuses_an_ended_scope(two_clinics: str, method: str) -> None:
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            copied = contextvars.copy_context()

        async def made_there() -> Any:
            if method == "fetch":
                return await conn.fetch(NAMES, 1)
            if method == "fetchrow":
                return await conn.fetchrow(NAMES, 1)
            if method == "execute":
                return await conn.execute(INSERT, 1, "Zoe")
            if method == "executemany":
                return await conn.executemany(INSERT, [(1, "Zoe")])
            if method == "prepare":
                return await (await conn.prepare(NAMES)).fetchval(1)
            if method == "cursor":
                async with conn.transaction():
                    return [r async for r in conn.cursor(NAMES, 1)]
            return await conn.copy_records_to_table(
                "patients",
                records=[(1, "Zoe", "9")],
                columns=["tenant_id", "first_name", "phone_number"],
            )

        with tenant(2), pytest.raises(TenantIsolationError, match="ended"):
            await asyncio.create_task(made_there(), context=copied)
        assert (
            await asyncpg.Connection.fetchval(
                conn, "SELECT count(*) FROM patients WHERE first_name = 'Zoe'"
            )
            == 0
        )
    finally:
        await conn.close()


# ------------------------------------- 2. a function of the database, under a policy by hand

FUNCTIONS = """
CREATE FUNCTION names_of(bigint) RETURNS SETOF text LANGUAGE sql STABLE
    AS $$SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY first_name$$;
CREATE FUNCTION every_name() RETURNS SETOF text LANGUAGE sql STABLE
    AS $$SELECT first_name FROM patients ORDER BY first_name$$;
CREATE FUNCTION every_name_pl() RETURNS SETOF text LANGUAGE plpgsql STABLE
    AS $$BEGIN RETURN QUERY SELECT first_name FROM patients ORDER BY first_name; END$$;
CREATE FUNCTION my_names() RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT first_name FROM patients
    WHERE tenant_id = current_setting('app.tenant_id')::bigint ORDER BY first_name$$;
CREATE FUNCTION shout(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$SELECT upper($1)$$;
CREATE SCHEMA app;
CREATE FUNCTION app.every_name() RETURNS SETOF text LANGUAGE sql STABLE
    AS $$SELECT first_name FROM public.patients$$;
CREATE FUNCTION named_of(clinic bigint DEFAULT 2) RETURNS SETOF text LANGUAGE sql STABLE
    AS $$SELECT first_name FROM patients WHERE tenant_id = clinic$$;
CREATE FUNCTION dynamic_names() RETURNS SETOF text LANGUAGE plpgsql STABLE
    AS $$BEGIN RETURN QUERY EXECUTE 'SELECT first_name FROM pat' || 'ients'; END$$;
CREATE FUNCTION wrapper() RETURNS SETOF text LANGUAGE sql STABLE AS $$SELECT * FROM every_name()$$;
CREATE FUNCTION count_all() RETURNS bigint LANGUAGE sql STABLE AS $$SELECT count(*) FROM patients$$;
CREATE FUNCTION atomic_names() RETURNS SETOF text LANGUAGE sql STABLE
    BEGIN ATOMIC SELECT first_name FROM patients; END;
CREATE FUNCTION rows_of_all() RETURNS TABLE (tenant_id bigint, first_name text) LANGUAGE sql
    STABLE AS $$SELECT tenant_id, first_name FROM patients$$;
CREATE VIEW names_view AS SELECT every_name() AS n;
"""
FUNCTION_LEAKS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "another clinic's id as the argument": ("SELECT array_agg(n) FROM names_of($1) n", (2,)),
    "another clinic's id as a literal": ("SELECT array_agg(n) FROM names_of(2) n", ()),
    "in the select list": ("SELECT array_agg(names_of) FROM (SELECT names_of($1)) s", (2,)),
    "reading every clinic (SQL)": ("SELECT array_agg(n) FROM every_name() n", ()),
    "reading every clinic (PL/pgSQL)": ("SELECT array_agg(n) FROM every_name_pl() n", ()),
    "reading every clinic, select list": ("SELECT array_agg(e) FROM (SELECT every_name() e) s", ()),
    "in another schema": ("SELECT array_agg(n) FROM app.every_name() n", ()),
    "a named argument": ("SELECT array_agg(n) FROM named_of(clinic => 2) n", ()),
    "the parameter's default": ("SELECT array_agg(n) FROM named_of() n", ()),
    "dynamic SQL": ("SELECT array_agg(n) FROM dynamic_names() n", ()),
    "through another function": ("SELECT array_agg(n) FROM wrapper() n", ()),
    "an aggregate of every clinic": ("SELECT count_all()", ()),
    "a BEGIN ATOMIC body": ("SELECT array_agg(n) FROM atomic_names() n", ()),
    "every row, unfiltered": ("SELECT array_agg(first_name) FROM rows_of_all()", ()),
    "a view calling one": ("SELECT array_agg(n) FROM names_view", ()),
}


async def _with_functions(dsn: str) -> None:
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute(FUNCTIONS)
    finally:
        await owner.close()


@pytest.mark.parametrize("kind", sorted(FUNCTION_LEAKS))
async def test_a_function_of_the_database_reading_another_clinic(
    two_clinics: str, kind: str
) -> None:
    """A policy written by hand names no function, and the runtime reads none of the
    database's: each of these returned Carla (or every clinic's names) to clinic 1's request
    (with schema sources the proof sorts them and refuses each)."""
    await _with_functions(two_clinics)
    conn = await connect(two_clinics, policy=POLICY)
    try:
        sql, args = FUNCTION_LEAKS[kind]
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_functions_of_the_database_pinned_to_the_request(two_clinics: str) -> None:
    """The safe twins: the request's own id, the tenant setting inside, a function reading no
    tenant table; and `unscoped()` reads every clinic."""
    await _with_functions(two_clinics)
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1):
            assert await conn.fetchval("SELECT array_agg(n) FROM names_of($1) n", 1) == [
                "Ana",
                "Bruno",
            ]
            assert await conn.fetchval("SELECT array_agg(n) FROM my_names() n") == ["Ana", "Bruno"]
            assert await conn.fetchval("SELECT shout($1)", "x") == "X"
            assert await conn.fetchval(
                "SELECT array_agg(first_name) FROM rows_of_all() WHERE tenant_id = $1", 1
            ) == ["Ana", "Bruno"]
            assert await conn.fetchval("SELECT array_agg(n) FROM named_of(clinic => $1) n", 1) == [
                "Ana",
                "Bruno",
            ]
        with tenant(2):
            assert await conn.fetchval("SELECT array_agg(n) FROM names_of($1) n", 2) == ["Carla"]
        with unscoped("a report over every clinic"):
            every = await conn.fetchval("SELECT array_agg(n) FROM every_name() n")
            assert every == ["Ana", "Bruno", "Carla"]
    finally:
        await conn.close()
