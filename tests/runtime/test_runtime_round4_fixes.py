"""The fixes of round 4 of the attacks on the runtime guard, tried around their edges.

`test_runtime_attacks_round4` holds the attacks as found; this file tries the other doors of
the same kind and checks that what the application legitimately does still works. Same two
setups (`setup`: the guard alone, and an application role under RLS with
`set_tenant_setting=True`); each attack asserts on clinic 2's rows (Carla) that come back or
changed, read afterwards through an unguarded owner connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.engine.policy import ForeignKey
from tenantguard.runtime import connect, create_pool, tenant, unscoped
from tenantguard.runtime.session import statement_effects
from tests.runtime import test_runtime_attacks as round2
from tests.runtime.test_runtime_attacks import BY_SETTING, CLINIC_1, PINNED, POLICY, Setup
from tests.runtime.test_runtime_attacks_round3 import CLINIC_2, guard_only, names_of, refused_or_ran

setup = round2.setup  # parametrized over "guard" and "guard+rls"
__all__ = ["guard_only", "setup"]

SETTING = "app.tenant_id"
BY_SETTING_UPDATE = (
    "UPDATE patients SET first_name = 'owned' "
    "WHERE tenant_id = current_setting('app.tenant_id')::bigint"
)


# --- 8. RESET ALL / DISCARD ALL however the words are separated -----------------------------

SEPARATED = [
    "RESET/**/ALL",
    "RESET/* x */all",
    "reset--x\nALL",
    "RESET --x\r ALL",
    "DISCARD/**/ALL",
    "discard /* a /* nested */ comment */ all",
    "/* /* */ SELECT */ RESET ALL",  # a nested comment hides no word from the server
    "/* x */DISCARD/**/ALL;",
]


@pytest.mark.parametrize("sql", SEPARATED)
def test_reset_all_is_refused_whatever_separates_its_words(sql: str) -> None:
    effects = statement_effects(sql, SETTING)
    assert effects.refusal is not None and not effects.plain


@pytest.mark.parametrize(
    "sql", ["RESET/**/statement_timeout", "DISCARD/**/PLANS", "DISCARD /* all */ TEMP"]
)
def test_other_resets_and_discards_still_pass(sql: str) -> None:
    effects = statement_effects(sql, SETTING)
    assert effects.refusal is None and not effects.plain


@pytest.mark.parametrize("sql", ["/* /* */ RESET ALL */ SELECT 1", "-- RESET ALL\nSELECT 1"])
def test_a_reset_all_inside_a_comment_is_a_comment(sql: str) -> None:
    assert statement_effects(sql, SETTING) == statement_effects("SELECT 1", SETTING)


def database_of(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def role_of(setup: Setup) -> str:
    return urlsplit(setup.dsn).username or "postgres"


@pytest.mark.parametrize("reset", ["RESET/**/ALL", "DISCARD/**/ALL", "RESET--\nALL"])
async def test_a_reset_all_in_a_script_does_not_hand_the_session_its_default_tenant(
    setup: Setup, reset: str
) -> None:
    """The role's default for the setting in this database is clinic 2: a `RESET ALL` sent
    in the same script as a statement pinned by the setting (which the guard set to 1 just
    before) would run that statement under clinic 2."""
    await setup.owner(
        f'ALTER ROLE "{role_of(setup)}" IN DATABASE "{database_of(setup.dsn)}" '
        "SET app.tenant_id = '2'"
    )
    conn = await setup.connect()
    try:
        with tenant(1):
            await refused_or_ran(lambda: conn.execute(f"{reset}; {BY_SETTING_UPDATE}"))
            await conn.execute(BY_SETTING_UPDATE)  # alone: the guard sets the setting first
    finally:
        await conn.close()
    assert await setup.names(CLINIC_2) == ["Carla"]  # renamed: the update ran for clinic 2
    assert await setup.names("SELECT first_name FROM patients WHERE tenant_id = 1") == [
        "owned",
        "owned",
    ]


# --- 7. a str tenant is its own key: compared and set exactly ------------------------------

HEX_TENANT = "d41d8cd98f00b204e9800998ecf8427e"
DASHED_TENANT = "d41d8cd9-8f00-b204-e980-0998ecf8427e"
UPPER_TENANT = DASHED_TENANT.upper()
NOTES_BY_SETTING = "SELECT body FROM notes WHERE tenant_id = current_setting('app.tenant_id')"
NOTES_PINNED = "SELECT body FROM notes WHERE tenant_id = $1"


async def text_tenants(setup: Setup) -> None:
    await setup.owner(
        f"INSERT INTO notes VALUES ('{HEX_TENANT}', 'hex note'), "
        f"('{DASHED_TENANT}', 'dashed note'), ('{UPPER_TENANT}', 'upper note')"
    )


@pytest.mark.parametrize(
    "spelling, note",
    [(HEX_TENANT, "hex note"), (DASHED_TENANT, "dashed note"), (UPPER_TENANT, "upper note")],
)
async def test_each_spelling_of_a_text_tenant_reads_its_own_notes_only(
    setup: Setup, spelling: str, note: str
) -> None:
    await text_tenants(setup)
    conn = await setup.connect()
    others = {HEX_TENANT, DASHED_TENANT, UPPER_TENANT} - {spelling}
    stolen: list[str] = []
    try:
        with tenant(spelling):
            by_setting = [r[0] for r in await conn.fetch(NOTES_BY_SETTING)]
            pinned = [r[0] for r in await conn.fetch(NOTES_PINNED, spelling)]
            setting = await conn.fetchval("SELECT current_setting('app.tenant_id')")
            literal = [r[0] for r in await conn.fetch(f"{NOTES_PINNED[:-2]}'{spelling}'")]
            for other in sorted(others):
                with contextlib.suppress(TenantIsolationError):
                    stolen.extend(r[0] for r in await conn.fetch(NOTES_PINNED, other))
                with contextlib.suppress(TenantIsolationError):
                    stolen.extend(r[0] for r in await conn.fetch(f"{NOTES_PINNED[:-2]}'{other}'"))
    finally:
        await conn.close()
    assert by_setting == pinned == literal == [note]
    assert setting == spelling
    assert stolen == []


async def test_a_uuid_tenant_matches_its_canonical_text_and_nothing_else(setup: Setup) -> None:
    """A `uuid.UUID` tenant is sent as its canonical text (asyncpg's encoder): that text, or
    the UUID itself, is the tenant; the hexadecimal or upper-case spellings are other tenants
    of a text column."""
    await text_tenants(setup)
    conn = await setup.connect()
    stolen: list[str] = []
    try:
        with tenant(uuid.UUID(HEX_TENANT)):
            by_setting = [r[0] for r in await conn.fetch(NOTES_BY_SETTING)]
            as_text = [r[0] for r in await conn.fetch(NOTES_PINNED, DASHED_TENANT)]
            for other in (HEX_TENANT, UPPER_TENANT):
                with contextlib.suppress(TenantIsolationError):
                    stolen.extend(r[0] for r in await conn.fetch(NOTES_PINNED, other))
    finally:
        await conn.close()
    assert by_setting == as_text == ["dashed note"]
    with tenant(uuid.UUID(HEX_TENANT)):  # the UUID itself: asyncpg sends its canonical text
        conn.tenantguard.check(NOTES_PINNED, [(uuid.UUID(DASHED_TENANT),)])
    assert stolen == []


# --- 1 and 2. codecs and hooks that see later requests: the pool's configuration only --------

HISTORY = '{"dx": "clinic 1 note"}'
HISTORY_OF = "SELECT medical_history FROM patients WHERE tenant_id = $1 AND first_name = 'Ana'"


def marked(text: str) -> dict[str, Any]:
    return {"decoded by": "init", **json.loads(text)}


async def set_jsonb_codec(conn: Any) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=marked, schema="pg_catalog", format="text"
    )


async def test_codecs_set_in_the_pools_init_decode_every_request(setup: Setup) -> None:
    """The pool's `init=` is where codecs belong: it runs in the task that acquires a new
    connection, inside that request's `tenant()` here (min_size=0), and is trusted there,
    tenant-id types included (an honest int8 codec)."""
    await setup.owner(f"UPDATE patients SET medical_history = '{HISTORY}' WHERE tenant_id = 1")

    async def init(conn: Any) -> None:
        await set_jsonb_codec(conn)
        await conn.set_type_codec(
            "int8", schema="pg_catalog", encoder=str, decoder=int, format="text"
        )

    pool = await create_pool(
        setup.dsn, policy=POLICY, init=init, min_size=0, max_size=1, **setup.options
    )
    try:
        for _ in range(2):
            with tenant(1):  # init runs here, in the request's task, at the first acquire
                async with pool.acquire() as conn:
                    history = await conn.fetchval(HISTORY_OF, 1)
                    names = [r[0] for r in await conn.fetch(PINNED, 1)]
    finally:
        await pool.close()
    assert history == {"decoded by": "init", "dx": "clinic 1 note"}
    assert names == CLINIC_1


async def test_hooks_added_in_the_pools_setup_see_the_requests(setup: Setup) -> None:
    """`setup=` runs at each acquire, in the acquirer's task, inside its `tenant()`: a query
    logger it adds is the application's configuration."""
    seen: list[object] = []

    def logger(logged: Any) -> None:
        seen.append(logged.args)

    async def setup_hook(conn: Any) -> None:
        conn.add_query_logger(logger)

    pool = await create_pool(
        setup.dsn, policy=POLICY, setup=setup_hook, min_size=1, max_size=1, **setup.options
    )
    try:
        async with pool.acquire() as conn:
            with tenant(1):
                await conn.fetch(PINNED, 1)
        await asyncio.sleep(0)  # asyncpg calls loggers soon after the statement
    finally:
        await pool.close()
    assert (1,) in seen


REQUEST_HOOKS: list[tuple[str, Callable[[Any], Any]]] = [
    ("set_type_codec", set_jsonb_codec),
    ("set_type_codec int8", lambda conn: conn.set_type_codec("int8", schema="pg_catalog", encoder=str, decoder=int, format="text")),
    ("set_builtin_type_codec", lambda conn: conn.set_builtin_type_codec("jsonb", schema="pg_catalog", codec_name="text")),
    ("reset_type_codec", lambda conn: conn.reset_type_codec("jsonb", schema="pg_catalog")),
    ("add_query_logger", lambda conn: conn.add_query_logger(print)),
    ("query_logger", lambda conn: conn.query_logger(print).__enter__()),
    ("add_log_listener", lambda conn: conn.add_log_listener(print)),
]  # fmt: skip


async def hooked(conn: Any, hook: Callable[[Any], Any]) -> bool:
    """True when the hook was set; False when the guard refused it."""
    try:
        result = hook(conn)
        if asyncio.iscoroutine(result):
            await result
    except TenantIsolationError:
        return False
    return True


@pytest.mark.parametrize("name, hook", REQUEST_HOOKS, ids=[name for name, _ in REQUEST_HOOKS])
async def test_a_request_cannot_leave_a_codec_or_a_hook_on_the_connection(
    setup: Setup, name: str, hook: Callable[[Any], Any]
) -> None:
    conn = await setup.connect()
    try:
        with tenant(1):
            assert not await hooked(conn, hook)
            assert not conn._query_loggers and not conn._log_listeners  # type: ignore[attr-defined]
        with unscoped("codecs and loggers are the application's configuration"):
            assert await hooked(conn, hook)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "options, allowed",
    [({}, True), ({"require_tenant": True}, False), ({"set_tenant_setting": True}, False)],
)
async def test_outside_tenant_codecs_and_hooks_are_refused_where_the_code_is_contained(
    two_clinics: str, options: dict[str, Any], allowed: bool
) -> None:
    """Outside any scope the code reads every tenant, unless `require_tenant` (the guard) or
    `set_tenant_setting` (RLS, whose setting is then empty) contain it: there a codec or a
    logger would see the next request's rows."""
    conn = await connect(two_clinics, policy=POLICY, **options)
    try:
        assert await hooked(conn, set_jsonb_codec) is allowed
        assert await hooked(conn, lambda conn: conn.add_query_logger(print)) is allowed
    finally:
        await conn.close()


async def test_a_callback_scheduled_from_init_is_not_the_pools_configuration(
    setup: Setup,
) -> None:
    """`init=` is trusted by task: a callback it schedules runs later, outside its task, in a
    copy of its context (inside the request's `tenant()` here) and is checked as a request."""
    seen: list[object] = []
    failures: list[object] = []
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()

    async def init(conn: Any) -> None:
        loop.call_soon(lambda: conn.add_query_logger(lambda logged: seen.append(logged.args)))
        await asyncio.sleep(0)  # the callback runs while init= is still running

    pool = await create_pool(
        setup.dsn, policy=POLICY, init=init, min_size=0, max_size=1, **setup.options
    )
    loop.set_exception_handler(lambda loop, context: failures.append(context.get("exception")))
    try:
        with tenant(1):  # init runs here, at the first acquire
            async with pool.acquire() as conn:
                await asyncio.sleep(0)  # the scheduled callback runs
                await conn.fetch(PINNED, 1)
        async with pool.acquire() as conn:
            with tenant(2):
                await conn.fetch(PINNED, 2)
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(handler)
        await pool.close()
    assert [type(error) for error in failures] == [TenantIsolationError]
    assert seen == []


async def test_a_request_cannot_reset_the_codec_of_init(setup: Setup) -> None:
    await setup.owner(f"UPDATE patients SET medical_history = '{HISTORY}' WHERE tenant_id = 1")
    pool = await create_pool(
        setup.dsn, policy=POLICY, init=set_jsonb_codec, min_size=1, max_size=1, **setup.options
    )
    try:
        async with pool.acquire() as conn:
            with tenant(1):
                await refused_or_ran(lambda: conn.reset_type_codec("jsonb", schema="pg_catalog"))
        async with pool.acquire() as conn:
            with tenant(1):
                history = await conn.fetchval(HISTORY_OF, 1)
    finally:
        await pool.close()
    assert history == {"decoded by": "init", "dx": "clinic 1 note"}


# --- 3. the driver's exemption: its own task, in its own run ----------------------------------

EVERYONE = "SELECT first_name FROM patients ORDER BY 1"


async def test_a_callback_scheduled_by_the_pools_reset_is_not_the_driver(setup: Setup) -> None:
    """A pool's `reset=` runs as the driver; a callback it schedules (instrumentation, say)
    runs in a copy of its context but outside its task. A call made there while the reset
    waits is the application's: it waits for the reset to end and is checked, under the
    `tenant(1)` the connection was released in. Admitted as the driver's, it would run at
    once, unchecked, while the connection is idle between the reset's statements."""
    loop = asyncio.get_running_loop()
    started: list[asyncio.Future[Any]] = []

    def instrumentation() -> None:
        if not started:  # the first release only
            started.append(asyncio.ensure_future(pooled.fetch(EVERYONE)))

    async def reset(conn: Any) -> None:
        loop.call_soon(instrumentation)
        await asyncio.sleep(0.05)  # the connection is idle: the scheduled call runs now
        await conn.execute("RESET ALL")

    pool = await create_pool(
        setup.dsn, policy=POLICY, reset=reset, min_size=1, max_size=1, **setup.options
    )
    try:
        with tenant(1):
            async with pool.acquire() as conn:
                pooled = conn._con  # type: ignore[attr-defined]  # the connection, not the proxy
                await conn.fetch(PINNED, 1)
            stolen = await names_of(lambda: started[0])
            assert await pool.fetch(PINNED, 1)  # the pool still serves the request
    finally:
        await pool.close()
    assert started
    assert "Carla" not in stolen


async def test_statements_a_pools_reset_hands_to_another_task_are_its_own(setup: Setup) -> None:
    """`asyncio.wait_for` (Python 3.11) runs the call in a task of its own: made by the
    driver's task and run in the same reset, it is still the driver's statement."""
    resets: list[str] = []

    async def reset(conn: Any) -> None:
        await asyncio.wait_for(conn.execute("RESET ALL"), 5)
        await asyncio.ensure_future(conn.execute("SELECT pg_advisory_unlock_all()"))
        resets.append("done")

    pool = await create_pool(
        setup.dsn,
        policy=POLICY,
        reset=reset,
        require_tenant=True,
        min_size=1,
        max_size=1,
        **setup.options,
    )
    try:
        for _ in range(2):
            with tenant(1):
                async with pool.acquire() as conn:
                    await conn.execute("SET statement_timeout = '5s'")  # the reset is not skipped
                    assert [r[0] for r in await conn.fetch(PINNED, 1)] == CLINIC_1
        assert pool.tenantguard.blocked == 0
    finally:
        await pool.close()
    assert resets == ["done", "done"]


async def test_a_call_the_reset_makes_and_keeps_is_checked_when_it_runs(setup: Setup) -> None:
    """A call the driver's task makes (here the pool's `reset=`, sloppy) and leaves for later
    runs after the reset, in another request: it is checked then, as that request's."""
    kept: list[Any] = []

    async def reset(conn: Any) -> None:
        await conn.execute("RESET ALL")
        if not kept:
            kept.append(conn.fetch(EVERYONE))

    pool = await create_pool(
        setup.dsn, policy=POLICY, reset=reset, min_size=1, max_size=1, **setup.options
    )
    try:
        async with pool.acquire() as conn:
            await conn.execute("SET statement_timeout = '5s'")
        async with pool.acquire() as conn:
            with tenant(1):
                stolen = await names_of(lambda: kept[0])
                assert [r[0] for r in await conn.fetch(PINNED, 1)] == CLINIC_1
    finally:
        for call in kept:
            call.close()
        await pool.close()
    assert kept
    assert "Carla" not in stolen


# --- what a SET may change: nothing the proof relies on --------------------------------------

KEYED = Policy(
    "tenant_id",
    {"patients", "appointments", "professionals"},
    global_tables={"tenants"},
    foreign_keys={
        "appointments": [ForeignKey(("tenant_id", "patient_id"), "patients", ("tenant_id", "id"))]
    },
    unique_keys={"patients": [("id",)]},
)
APPOINTED = (
    "SELECT p.first_name FROM appointments a JOIN patients p ON p.id = a.patient_id "
    "WHERE a.tenant_id = $1"
)
RELIED_ON = [
    "SET session_replication_role = replica",
    "SET LOCAL session_replication_role TO 'replica'",
    "SELECT set_config('session_replication_role', 'replica', false)",
    "set /**/ SESSION session_replication_role=replica",
]


@pytest.mark.parametrize("sql", RELIED_ON)
def test_turning_foreign_keys_off_is_refused(sql: str) -> None:
    effects = statement_effects(sql, SETTING)
    assert effects.refusal is not None and not effects.plain


@pytest.mark.parametrize(
    "sql", ["SHOW session_replication_role", "SELECT current_setting('session_replication_role')"]
)
def test_reading_session_replication_role_passes(sql: str) -> None:
    assert statement_effects(sql, SETTING).refusal is None


@pytest.mark.parametrize("sql", RELIED_ON)
async def test_a_join_pinned_by_a_composite_key_cannot_be_fed_another_tenants_row(
    guard_only: Setup, sql: str
) -> None:
    """The proof takes `p.id = a.patient_id` with `a.tenant_id = $1` as pinning `p` because
    `appointments (tenant_id, patient_id)` references `patients (tenant_id, id)`. With
    `session_replication_role = replica` (a superuser's setting: the `guard` setup) PostgreSQL
    checks no foreign key: a clinic 1 appointment for Carla is written, and the join reads
    her through it. The guard refuses the setting (outside `unscoped()`)."""
    carla = await guard_only_value(guard_only, "SELECT id FROM patients WHERE first_name = 'Carla'")
    conn = await connect(guard_only.dsn, policy=KEYED)
    seen: list[str] = []
    try:
        with tenant(1):
            with contextlib.suppress(asyncpg.PostgresError):  # refused: a key or trigger fails
                async with conn.transaction():
                    await refused_or_ran(lambda: conn.execute(sql))
                    await refused_or_ran(
                        lambda: conn.execute(
                            "INSERT INTO appointments (tenant_id, patient_id, professional_id, "
                            "starts_at) VALUES ($1, $2, 1, now())",
                            1,
                            carla,
                        )
                    )
            seen = [r[0] for r in await conn.fetch(APPOINTED, 1)]
    finally:
        await conn.close()
    assert "Carla" not in seen
    assert await guard_only.names("SELECT patient_id::text FROM appointments") == []


async def guard_only_value(setup: Setup, sql: str) -> object:
    raw = await asyncpg.connect(setup.owner_dsn)
    try:
        return await raw.fetchval(sql)
    finally:
        await raw.close()


# --- 6. every round trip of a cursor pinned by the setting runs under the request's value ----

UNSORTED_BY_SETTING = (
    "SELECT first_name FROM patients WHERE tenant_id = current_setting('app.tenant_id')::bigint"
)


async def sequential(conn: Any) -> None:
    """Plans that evaluate `current_setting()` per row, chunk by chunk."""
    await conn.execute("SET enable_indexscan = off")
    await conn.execute("SET enable_bitmapscan = off")


async def switch_to_clinic_2(conn: Any) -> None:
    """Another request on the same connection, between two round trips of the cursor."""

    async def other_request() -> None:
        with tenant(2):
            await conn.fetch(BY_SETTING)

    await asyncio.create_task(other_request())


@pytest.mark.parametrize("step", ["fetch", "fetchrow", "forward"])
async def test_an_opened_cursor_reads_each_chunk_under_the_requests_setting(
    setup: Setup, step: str
) -> None:
    conn = await setup.connect()
    names: list[str] = []
    try:
        # the connection's planner settings, made outside any tenant's block (made in clinic
        # 1's, they would be state clinic 2's request finds in the transaction: refused)
        await sequential(conn)
        with tenant(1):
            async with conn.transaction():
                cursor = await conn.cursor(UNSORTED_BY_SETTING)
                if step == "forward":  # skips Ana under clinic 1's setting, not Carla
                    await switch_to_clinic_2(conn)
                    assert await cursor.forward(1) == 1
                else:
                    names.extend(r[0] for r in await cursor.fetch(1))
                await switch_to_clinic_2(conn)
                if step == "fetchrow":
                    row = await cursor.fetchrow()
                    names.extend([row[0]] if row is not None else [])
                else:
                    names.extend(r[0] for r in await cursor.fetch(5))
    finally:
        await conn.close()
    assert names == (CLINIC_1 if step != "forward" else ["Bruno"])


async def test_a_prepared_statements_cursor_reads_each_chunk_under_the_requests_setting(
    setup: Setup,
) -> None:
    conn = await setup.connect()
    names: list[str] = []
    try:
        await sequential(conn)  # outside any tenant's block (see above)
        with tenant(1):
            statement = await conn.prepare(UNSORTED_BY_SETTING)
            async with conn.transaction():
                async for row in statement.cursor(prefetch=1):
                    names.append(row[0])
                    if len(names) == 1:
                        await switch_to_clinic_2(conn)
    finally:
        await conn.close()
    assert names == CLINIC_1


async def test_a_cursor_costs_no_round_trip_per_row(setup: Setup) -> None:
    """The setting is compared before each row and set again only when another call changed
    it: iterating many rows of a cursor pinned by the setting sets it once."""
    await setup.owner(
        "INSERT INTO patients (tenant_id, first_name, phone_number) "
        "SELECT 1, 'P' || n, '7000' || n FROM generate_series(1, 200) n"
    )
    conn = await setup.connect()
    try:
        with tenant(1):
            async with conn.transaction():
                before = conn.tenantguard.setting_syncs
                rows = [r async for r in conn.cursor(UNSORTED_BY_SETTING, prefetch=7)]
                syncs = conn.tenantguard.setting_syncs - before
    finally:
        await conn.close()
    assert len(rows) == 202
    assert syncs <= 1


# the guard proves the text asyncpg sends in UTF-8: a server reading it in another encoding
# ends a string elsewhere (in SJIS, GBK, GB18030 the last byte of `ぁ` swallows the `\` after it)
HIDDEN_OR = (
    "SELECT first_name FROM patients WHERE tenant_id = $1 AND first_name <> E'\u3041\\' OR true --'"
)
ENCODINGS = [
    "SET client_encoding = 'SJIS'",
    "SET client_encoding TO GBK",
    "SET NAMES 'GB18030'",
    "set local names 'SJIS'",
    "SET SESSION NAMES 'SJIS'",
    "SET \"client_encoding\" = 'SJIS'",
    "SELECT set_config('client_encoding', 'SJIS', false)",
]


@pytest.mark.parametrize("sql", ENCODINGS)
def test_changing_the_client_encoding_is_refused(sql: str) -> None:
    effects = statement_effects(sql, SETTING)
    assert effects.refusal is not None and not effects.plain


@pytest.mark.parametrize(
    "sql", ["SHOW client_encoding", "SELECT current_setting('client_encoding')", "SELECT names"]
)
def test_reading_the_client_encoding_passes(sql: str) -> None:
    assert statement_effects(sql, SETTING).refusal is None


@pytest.mark.parametrize("sql", ENCODINGS)
async def test_a_string_the_server_reads_in_another_encoding_hides_no_sql(
    setup: Setup, sql: str
) -> None:
    conn = await setup.connect()
    seen: list[str] = []
    try:
        with tenant(1):
            async with conn.transaction():  # SET LOCAL holds until its end
                await refused_or_ran(lambda: conn.execute(sql))
                with contextlib.suppress(TenantIsolationError, asyncpg.PostgresError):
                    seen.extend(r[0] for r in await conn.fetch(HIDDEN_OR, 1))
                with contextlib.suppress(TenantIsolationError, asyncpg.PostgresError):
                    seen.extend(r[0] for r in await conn.fetch(HIDDEN_OR.replace("$1", "1")))
    finally:
        await conn.close()
    assert "Carla" not in seen


async def test_a_session_left_in_another_encoding_is_not_guarded(setup: Setup) -> None:
    """Changed where it is allowed (unscoped), the encoding is read back from the session:
    while it is not UTF-8, every statement is refused, as with standard_conforming_strings."""
    conn = await setup.connect()
    seen: list[str] = []
    try:
        with unscoped("an import in Shift JIS"):
            await conn.execute("SET client_encoding = 'SJIS'")
        with tenant(1):
            for query, args in ((HIDDEN_OR, (1,)), (PINNED, (1,))):
                with contextlib.suppress(TenantIsolationError, asyncpg.PostgresError):
                    seen.extend(r[0] for r in await conn.fetch(query, *args))
        with unscoped("back to UTF-8"):
            await conn.execute("RESET client_encoding")
        with tenant(1):
            back = [r[0] for r in await conn.fetch(PINNED, 1)]
    finally:
        await conn.close()
    assert seen == []
    assert back == CLINIC_1
