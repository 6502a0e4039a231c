"""Round 26: the runtime guard attacked by an outsider (helper h26b), on a real server.

1. A call checked in one scope and run in another. The guarded `fetch`/`execute`/`cursor`…
   check the statement and its values when the call is made (synchronously: the hot path
   hands back asyncpg's own coroutine), but the types PostgreSQL infers for the pinning
   parameters are only known once asyncpg has prepared the statement, when the call runs —
   and that check was skipped where no tenant() was current *then*. A call made inside
   `tenant(WEST)` (its value checked: WEST) and awaited after the block — a coroutine kept
   and awaited by the caller, a task started on it from outside the request, a cursor
   iterated after the block — ran with `$1` typed `real`: tenant 16777217 was sent as
   16777216.0 and read (or changed) clinic EAST's rows. Refused now: outside `unscoped()`,
   an inexact pinning parameter is refused when the call runs, whatever scope made it;
   `prepare()` outside tenant() still prepares (its statement's types are checked at each
   run, in the scope that runs it).

2. On a database whose code sets the tenant setting (round 23's `set_clinic(c)`), a call of
   the setter beside a read under the setting is refused — found by the names the statement
   calls, read after blanking its strings and comments with a pattern that did not read the
   text as PostgreSQL does: a `'` inside a quoted name (`AS "a'"`), an escape string
   (`E'\\''`) or a `$b$` inside a name (`AS a$b$`) opened a "string" that swallowed the
   setter's call. Clinic 1's request read clinic 2's patients (Carla) through the view
   filtered by the setting. The names are now read with the guard's lexer (the one that
   places `copy_from_query`'s values), which reads them as PostgreSQL does — and in linear
   time: the pattern also took ~1.4 s of the event loop for one 8 KiB statement of a single
   long name (each position of the name scanned to its end), which any request could send
   with a different name each time (denial of service).

3. A view filtered by the tenant setting (round 23's `clinic_patients`, `my_patient_names`):
   the guard sets the setting before a statement naming one, but let `EXPLAIN ANALYZE` of
   it through — and `prepare(…).explain(analyze=True)` —, whose plan counts the rows the
   filter removed: with a sequential scan (`SET enable_indexscan = off` passes), `Rows
   Removed by Filter: 1` is clinic 2's count of patients. Refused now, as EXPLAIN of a tenant
   table is (round 19).

4. The same views, read with a condition that fails on a value: PostgreSQL merges the view's
   filter with the reader's WHERE and evaluates the cheaper condition first, on every
   clinic's rows — `SELECT first_name FROM clinic_patients WHERE first_name NOT IN ('Ana',
   'Bruno') AND first_name::int > 0` failed with `invalid input syntax for type integer:
   "Carla"`. The proof reads such a condition (TG013) on a view it knows to be filtered by
   the setting — from schema sources only: the guard now hands it the views and functions the
   connections found reading the setting in the catalog. A derived table or CTE over such a
   view, whose condition PostgreSQL pushes into the view's scan, was not read so either.

5. Writes through those views: PostgreSQL filters neither an INSERT's values nor an UPDATE's
   new values by the view's WHERE. Clinic 1's request moved its patients into clinic 2
   (`UPDATE clinic_patients SET tenant_id = tenant_id + 1`, `SET tenant_id = $1` with 2) and
   wrote a patient for clinic 2 (`VALUES (1 + 1, …)`). The proof judges a write through such a
   view as a write of its table (`Policy.write_views`, round 22) — from schema sources only:
   the guard now reads the views filtered by the setting from the catalog and hands the proof
   the names under which each shows its table's tenant column.

6. Signals to other sessions: the application's one role may cancel or end every session of
   that role, other clinics' requests included. Clinic 1's request ended (or cancelled the
   statement of) every other backend of the pool (`SELECT pg_terminate_backend(pid) FROM …`),
   rolling back clinic 2's INSERT in flight. Refused now (TG006), as reading other sessions'
   statements is; a session may still end itself (`pg_terminate_backend(pg_backend_pid())`).

Each test asserts on the rows that come back, or that changed (read through an unguarded
connection). Part 1 runs on `test_runtime_inferred_types`'s schema (Eva is clinic WEST's,
16777217, Dora clinic EAST's, 16777216; `measures.score` is a `real`), the others on the two
clinics of tests/conftest.py (Ana and Bruno in clinic 1, Carla in clinic 2) with round 23's
helpers where they name them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.runtime import GuardedConnection, connect, tenant, unscoped
from tests.conftest import BASELINE, CLINICS, fresh_database
from tests.runtime.test_runtime import POLICY as CLINICS_POLICY
from tests.runtime.test_runtime_attacks_round23 import HELPERS
from tests.runtime.test_runtime_inferred_types import (
    EAST,
    JOIN_REAL,
    POLICY,
    TABLES,
    WEST,
    owner_rows,
)

PINNED = "SELECT first_name FROM patients WHERE tenant_id = $1 ORDER BY id"
# `$1` is typed by its first use, `m.score = $1`: a real, everywhere in the statement
UPDATE_REAL = (
    "UPDATE patients p SET phone_number = 'X' || p.phone_number FROM measures m "
    "WHERE m.score = $1 AND p.tenant_id = $1"
)


@pytest.fixture
async def dsn(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(
        postgres, BASELINE.read_text(encoding="utf-8") + CLINICS + TABLES
    ) as dsn:
        yield dsn


def _names(result: Any) -> list[str]:
    if result is None:
        return []
    if isinstance(result, str):
        return [result]
    return sorted(str(row[0]) for row in (result if isinstance(result, list) else [result]))


async def _run_outside(made: Callable[[], Awaitable[Any]]) -> list[str]:
    """`made` is called inside the request of clinic WEST, and what it returns awaited after
    the block; a refused call returns no rows."""
    with tenant(WEST):
        pending = made()
    try:
        return _names(await pending)
    except TenantIsolationError:
        return []


CALLS: dict[str, Callable[[GuardedConnection], Awaitable[Any]]] = {
    "fetch": lambda c: c.fetch(JOIN_REAL, WEST),
    "fetchrow": lambda c: c.fetchrow(JOIN_REAL, WEST),
    "fetchval": lambda c: c.fetchval(JOIN_REAL, WEST),
}


@pytest.mark.parametrize("seen_before", [False, True], ids=["first call", "hot path"])
@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_call_made_in_the_request_and_awaited_after_it_reads_no_other_clinic(
    dsn: str, call: str, seen_before: bool
) -> None:
    conn = await connect(dsn, policy=POLICY)
    try:
        if seen_before:  # the verdict cached: the next call takes the hot path
            with tenant(WEST), pytest.raises(TenantIsolationError, match="typed it real"):
                await CALLS[call](conn)
        read = await _run_outside(lambda: CALLS[call](conn))
    finally:
        await conn.close()
    assert "Dora" not in read  # clinic EAST's patient


async def test_a_task_started_outside_the_request_on_its_call_reads_no_other_clinic(
    dsn: str,
) -> None:
    conn = await connect(dsn, policy=POLICY)
    try:
        with tenant(WEST):
            pending = conn.fetch(JOIN_REAL, WEST)
        # a worker outside any request runs what requests hand it
        task = contextvars.Context().run(asyncio.ensure_future, pending)
        try:
            read = _names(await task)
        except TenantIsolationError:
            read = []
    finally:
        await conn.close()
    assert "Dora" not in read


async def test_a_cursor_made_in_the_request_and_iterated_after_it_reads_no_other_clinic(
    dsn: str,
) -> None:
    conn = await connect(dsn, policy=POLICY)
    read: list[str] = []
    try:
        async with conn.transaction():
            with tenant(WEST):
                cursor = conn.cursor(JOIN_REAL, WEST)
            with contextlib.suppress(TenantIsolationError):
                read = [str(row[0]) async for row in cursor]
    finally:
        await conn.close()
    assert "Dora" not in read


async def test_a_write_made_in_the_request_and_awaited_after_it_changes_no_other_clinic(
    dsn: str,
) -> None:
    conn = await connect(dsn, policy=POLICY)
    try:
        with tenant(WEST):
            pending = conn.execute(UPDATE_REAL, WEST)
        with contextlib.suppress(TenantIsolationError):
            await pending
    finally:
        await conn.close()
    rows = await owner_rows(dsn, f"SELECT phone_number FROM patients WHERE tenant_id = {EAST}")
    assert rows == [("331",)]  # Dora's phone number, unchanged


async def test_calls_awaited_after_their_block_still_run_when_their_types_are_exact(
    dsn: str,
) -> None:
    """The legitimate twins: an exactly typed statement made in the request runs wherever it
    is awaited; an inexact one runs inside unscoped(), and prepare() outside tenant() still
    prepares (each run of its statement is checked in the scope that runs it)."""
    conn = await connect(dsn, policy=POLICY)
    try:
        assert await _run_outside(lambda: conn.fetch(PINNED, WEST)) == ["Eva"]
        with unscoped("a report across clinics"):
            assert _names(await conn.fetch(JOIN_REAL, WEST)) == ["Dora"]
        statement = await conn.prepare(JOIN_REAL)
        with tenant(WEST), pytest.raises(TenantIsolationError, match="typed it real"):
            await statement.fetch(WEST)
        with unscoped("a report across clinics"):
            assert _names(await statement.fetch(WEST)) == ["Dora"]
    finally:
        await conn.close()


# --- 2. the setter's call hidden from the names a statement calls ----------------------------

SETTER_AND_READ = (
    "set_clinic(2) AS s, (SELECT string_agg(first_name, ',') FROM clinic_patients) AS names"
)
HIDDEN_SETTERS = {
    "a quote in a quoted name": f'SELECT 1 AS "a\'", {SETTER_AND_READ}, 1 AS "b\'"',
    "an escape string": f"SELECT E'\\'' AS q, {SETTER_AND_READ}, 'x' AS r",
    "a dollar sign in a name": f"SELECT 1 AS a$b$, {SETTER_AND_READ}, 1 AS c$b$",
}


async def _with_helpers(dsn: str) -> None:
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute(HELPERS)
    finally:
        await owner.close()


@pytest.mark.parametrize("how", sorted(HIDDEN_SETTERS))
async def test_a_setters_call_hidden_by_a_quote_the_server_does_not_read_is_refused(
    two_clinics: str, how: str
) -> None:
    await _with_helpers(two_clinics)
    conn = await connect(two_clinics, policy=CLINICS_POLICY)
    read: list[str] = []
    try:
        with tenant(1):
            for _ in range(2):  # and again, once its verdict is cached
                with contextlib.suppress(TenantIsolationError):
                    row = await conn.fetchrow(HIDDEN_SETTERS[how])
                    read.append(str(row["names"]))
            # the view by itself reads the request's clinic
            names = await conn.fetch("SELECT first_name FROM clinic_patients ORDER BY id")
    finally:
        await conn.close()
    assert not any("Carla" in names for names in read)  # clinic 2's patient
    assert [r[0] for r in names] == ["Ana", "Bruno"]


async def test_names_in_strings_comments_and_quoted_names_are_not_calls(two_clinics: str) -> None:
    """The legitimate twins: the setter's name in a string, a comment or a quoted column name
    is no call, and a statement naming it so runs (its read is the request's clinic)."""
    await _with_helpers(two_clinics)
    conn = await connect(two_clinics, policy=CLINICS_POLICY)
    try:
        with tenant(1):
            row = await conn.fetchrow(
                "SELECT 'set_clinic(2)' AS s, $$set_clinic(2)$$ AS d, 1 AS \"set_clinic(2)\" "
                "/* set_clinic(2) */, (SELECT string_agg(first_name, ',' ORDER BY id) "
                "FROM clinic_patients) AS names -- set_clinic(2)"
            )
    finally:
        await conn.close()
    assert row["names"] == "Ana,Bruno"


async def test_one_long_name_does_not_hold_the_event_loop(two_clinics: str) -> None:
    """A statement of max_statement_bytes (8 KiB) made of one long name: the guard's reading of
    the names it calls was quadratic in the name's length (~1.4 s here); a statement of that
    size is proven in tens of milliseconds."""
    conn = await connect(two_clinics, policy=CLINICS_POLICY)
    took: list[float] = []
    try:
        with tenant(1):
            for filler in ("a", "b", '"', "9a"):  # a new text each time: no cached verdict
                name = (filler * 8000)[:7900]
                sql = f"SELECT first_name FROM patients WHERE tenant_id = $1 AND {name} IS NULL"
                loop = asyncio.get_running_loop()
                start = loop.time()
                with contextlib.suppress(TenantIsolationError):
                    conn.tenantguard.verdict(sql)
                took.append(loop.time() - start)
                with contextlib.suppress(TenantIsolationError, asyncpg.PostgresError):
                    await conn.fetch(sql, 1)  # the server refuses it: no such column
    finally:
        await conn.close()
    assert max(took) < 0.4, took


# --- 3. EXPLAIN of a view filtered by the tenant setting -------------------------------------

SCANS_OFF = ("SET enable_indexscan = off", "SET enable_bitmapscan = off")


@pytest.mark.parametrize("view", ["clinic_patients", "my_patient_names"])
async def test_explain_of_a_view_filtered_by_the_setting_counts_no_other_clinic(
    two_clinics: str, view: str
) -> None:
    await _with_helpers(two_clinics)
    conn = await connect(two_clinics, policy=CLINICS_POLICY)
    plans: list[str] = []
    try:
        with tenant(1):
            for setting in SCANS_OFF:  # a sequential scan: the filter removes clinic 2's rows
                await conn.execute(setting)
            query = f"SELECT first_name FROM {view}"
            with contextlib.suppress(TenantIsolationError):
                rows = await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {query}")
                plans.append("\n".join(row[0] for row in rows))
            statement = await conn.prepare(query)
            with contextlib.suppress(TenantIsolationError):
                plans.append(str(await statement.explain(analyze=True)))
            with contextlib.suppress(TenantIsolationError):
                plans.append(str(await statement.explain()))
            # the view itself reads the request's clinic
            assert [r[0] for r in await statement.fetch()] == ["Ana", "Bruno"]
    finally:
        await conn.close()
    assert not any("Removed" in plan or "Plan Rows" in plan for plan in plans), plans


async def test_explain_of_a_statement_reading_no_tenant_rows_still_runs(two_clinics: str) -> None:
    await _with_helpers(two_clinics)
    conn = await connect(two_clinics, policy=CLINICS_POLICY)
    try:
        with tenant(1):
            rows = await conn.fetch("EXPLAIN (COSTS OFF) SELECT name FROM tenants")
            assert "Seq Scan on tenants" in rows[0][0]
            statement = await conn.prepare("SELECT name FROM tenants")
            assert (await statement.explain())[0]["Plan"]["Relation Name"] == "tenants"
    finally:
        await conn.close()


# --- 4. a condition on a view filtered by the setting, evaluated before its filter -----------

FAILING_CONDITIONS = [
    # a derived table or CTE over the view: PostgreSQL pushes the condition into its scan
    "SELECT x.first_name FROM (SELECT first_name FROM my_patient_names) x "
    "WHERE x.first_name NOT IN ('Ana', 'Bruno') AND x.first_name::int > 0",
    "WITH x AS (SELECT first_name FROM clinic_patients) SELECT first_name FROM x "
    "WHERE first_name NOT IN ('Ana', 'Bruno') AND first_name::int > 0",
    "SELECT first_name FROM clinic_patients "
    "WHERE first_name NOT IN ('Ana', 'Bruno') AND first_name::int > 0",
    "SELECT first_name FROM my_patient_names "
    "WHERE first_name NOT IN ('Ana', 'Bruno') AND first_name::int > 0",
    "SELECT first_name FROM clinic_patients "
    "WHERE first_name NOT IN ('Ana', 'Bruno') AND current_setting(first_name) IS NULL",
]


@pytest.mark.parametrize("sql", FAILING_CONDITIONS)
async def test_an_error_on_a_view_filtered_by_the_setting_shows_no_other_clinic(
    two_clinics: str, sql: str
) -> None:
    await _with_helpers(two_clinics)
    raw = await asyncpg.connect(two_clinics)
    try:  # unguarded, with the setting at clinic 1, the server shows clinic 2's patient
        await raw.execute("SELECT set_config('app.tenant_id', '1', false)")
        for setting in SCANS_OFF:
            await raw.execute(setting)
        with pytest.raises(asyncpg.PostgresError, match="Carla"):
            await raw.fetch(sql)
    finally:
        await raw.close()
    conn = await connect(two_clinics, policy=CLINICS_POLICY)
    message = ""
    try:
        with tenant(1):
            for setting in SCANS_OFF:
                await conn.execute(setting)
            try:
                await conn.fetch(sql)
            except TenantIsolationError as error:
                message = f"refused: {error}"
            except asyncpg.PostgresError as error:
                message = str(error)
            # a condition that cannot fail still reads the view
            rows = await conn.fetch("SELECT first_name FROM clinic_patients WHERE id > 0")
    finally:
        await conn.close()
    assert "Carla" not in message and message.startswith("refused"), message
    assert sorted(r[0] for r in rows) == ["Ana", "Bruno"]


# --- 5. writes through a view filtered by the setting ----------------------------------------

WRITES_THROUGH = [
    ("UPDATE clinic_patients SET tenant_id = tenant_id + 1 WHERE first_name = 'Ana'", ()),
    ("UPDATE clinic_patients SET tenant_id = $1 WHERE first_name = 'Bruno'", (2,)),
    (
        "INSERT INTO clinic_patients (tenant_id, first_name, phone_number) "
        "VALUES (1 + 1, 'Mallory', '666')",
        (),
    ),
    (
        "INSERT INTO clinic_patients (tenant_id, first_name, phone_number) VALUES ($1, 'Zoe', "
        "'999') ON CONFLICT (tenant_id, phone_number) DO UPDATE SET tenant_id = 2",
        (1,),
    ),
]


async def _patients(dsn: str) -> list[tuple[int, str]]:
    rows = await owner_rows(dsn, "SELECT tenant_id, first_name FROM patients ORDER BY id")
    return [(int(r[0]), str(r[1])) for r in rows]


@pytest.mark.parametrize(("sql", "args"), WRITES_THROUGH)
async def test_a_write_through_a_view_filtered_by_the_setting_reaches_no_other_clinic(
    two_clinics: str, sql: str, args: tuple[Any, ...]
) -> None:
    await _with_helpers(two_clinics)
    before = await _patients(two_clinics)
    conn = await connect(two_clinics, policy=CLINICS_POLICY)
    try:
        with tenant(1):
            for _ in range(2):  # and again, its verdict cached
                with contextlib.suppress(TenantIsolationError, asyncpg.PostgresError):
                    await conn.execute(sql, *args)
    finally:
        await conn.close()
    after = await _patients(two_clinics)
    # clinic 2 has Carla only; clinic 1's changes, if any, stayed clinic 1's
    assert [name for clinic, name in after if clinic == 2] == ["Carla"], after
    assert len(after) - len(before) <= 1


async def test_writes_through_a_view_filtered_by_the_setting_still_run(two_clinics: str) -> None:
    await _with_helpers(two_clinics)
    conn = await connect(two_clinics, policy=CLINICS_POLICY)
    try:
        with tenant(1):
            await conn.execute("UPDATE clinic_patients SET phone_number = 'X' || phone_number")
            await conn.execute(
                "INSERT INTO clinic_patients (tenant_id, first_name, phone_number) "
                "VALUES ($1, 'Dan', '113')",
                1,
            )
    finally:
        await conn.close()
    assert await owner_rows(
        two_clinics, "SELECT tenant_id, first_name, phone_number FROM patients ORDER BY id"
    ) == [(1, "Ana", "X111"), (1, "Bruno", "X112"), (2, "Carla", "221"), (1, "Dan", "113")]


# --- 6. a request signalling the other sessions of its role ----------------------------------

OTHER_BACKENDS = (
    "SELECT {signal}(pg_stat_get_backend_pid(s)) FROM pg_stat_get_backend_idset() s "
    "WHERE pg_stat_get_backend_pid(s) <> pg_backend_pid()"
)


@pytest.mark.parametrize("signal", ["pg_terminate_backend", "pg_cancel_backend"])
async def test_a_request_cannot_end_another_clinics_statement(
    two_clinics: str, signal: str
) -> None:
    other = await asyncpg.connect(two_clinics)  # clinic 2's request, on the same role
    conn = await connect(two_clinics, policy=CLINICS_POLICY)
    try:
        # clinic 2's write, in flight for a second (one script: one implicit transaction)
        running = asyncio.ensure_future(
            other.execute(
                "INSERT INTO patients (tenant_id, first_name, phone_number) "
                "VALUES (2, 'Dora', '222'); SELECT pg_sleep(1)"
            )
        )
        await asyncio.sleep(0.3)
        with tenant(1):
            for sql, args in (
                (OTHER_BACKENDS.format(signal=signal), ()),
                (f"SELECT {signal}($1)", (other.get_server_pid(),)),
            ):
                with contextlib.suppress(TenantIsolationError):
                    await conn.fetch(sql, *args)
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await running
    finally:
        await conn.close()
        if not other.is_closed():
            await other.close()
    # clinic 2's patient was written: its statement ran to its end
    assert await owner_rows(
        two_clinics, "SELECT first_name FROM patients WHERE tenant_id = 2 ORDER BY id"
    ) == [("Carla",), ("Dora",)]
