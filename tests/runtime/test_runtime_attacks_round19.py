"""Round 19 (an outside attack on the guard): what the server computes over every tenant's rows,
handed back to a request through a proven statement.

1. `PreparedStatement.explain()`: the plan's row estimates come from the column statistics of
   the whole table, so a request of clinic 1 that guesses a value of clinic 2 learns whether
   (and how often) it is there; EXPLAIN ANALYZE adds how many rows the tenant filter removed.
   The estimate differs on the server; the guard refuses explain() in a request.

Clinic 1 has Ana and Bruno, clinic 2 has Carla.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tenantguard.config import Settings, build_policy
from tenantguard.engine.policy import Policy
from tenantguard.runtime import TenantIsolationError, tenant, unscoped
from tenantguard.sources.schema.reading import read_schema
from tests.runtime.test_runtime_attacks import Setup
from tests.runtime.test_runtime_attacks_round3 import guard_only
from tests.runtime.test_runtime_attacks_round16 import fetched_as_clinic_1

__all__ = ["guard_only"]

GUESS = "SELECT id FROM patients WHERE tenant_id = $1 AND last_name = $2"
SECRET = "VICTIM-LASTNAME"


async def _skew(setup: Setup) -> None:
    """Clinic 2 gets 300 patients of one last name, clinic 1 300 of names all different, and
    the table's statistics are read."""
    owner = await asyncpg.connect(setup.owner_dsn)
    try:
        await owner.execute(
            "INSERT INTO patients (tenant_id, first_name, last_name, phone_number) "
            "SELECT 1, 'q' || i, 'name-' || i, '+33' || i FROM generate_series(1, 300) i"
        )
        await owner.execute(
            "INSERT INTO patients (tenant_id, first_name, last_name, phone_number) "
            "SELECT 2, 'p' || i, $1, '+34' || i FROM generate_series(1, 300) i",
            SECRET,
        )
        await owner.execute("ANALYZE patients")
    finally:
        await owner.close()


async def _estimates(statement: object) -> dict[str, int]:
    return {
        guess: (await statement.explain(1, guess))[0]["Plan"]["Plan Rows"]  # type: ignore[attr-defined]
        for guess in (SECRET, "nobody-has-this-name")
    }


async def test_explain_in_a_request_is_refused_its_estimates_cover_every_tenant(
    guard_only: Setup,
) -> None:
    await _skew(guard_only)
    conn = await guard_only.connect()
    try:
        # what explain() shows, run where the guard lets it (a maintenance session): clinic 2's
        # last name is estimated at hundreds of rows for a query pinned to clinic 1
        with unscoped("the operator reads a plan"):
            statement = await conn.prepare(GUESS)
            estimates = await _estimates(statement)
        assert estimates[SECRET] > 20 * estimates["nobody-has-this-name"]
        with tenant(1):
            assert await statement.fetch(1, SECRET) == []  # the query itself shows nothing
            for analyze in (False, True):
                with pytest.raises(TenantIsolationError, match="TG006"):
                    await statement.explain(1, SECRET, analyze=analyze)
            prepared_here = await conn.prepare(GUESS)
            with pytest.raises(TenantIsolationError, match="planner estimates"):
                await prepared_here.explain(1, SECRET)
    finally:
        await conn.close()


async def test_explain_of_a_statement_on_no_tenant_table_runs_in_a_request(
    guard_only: Setup,
) -> None:
    conn = await guard_only.connect()
    try:
        with tenant(1):
            statement = await conn.prepare("SELECT name FROM tenants WHERE id = $1")
            plan = await statement.explain(1)
        assert plan[0]["Plan"]["Node Type"]
    finally:
        await conn.close()


# 2. The error oracle of round 18 knew a fixed list of failing calls. Any built-in may quote its
#    argument in its error: a type's name called as a function is a cast (`int4(x)`, `date(x)`),
#    `encode`'s encoding, `pg_size_bytes`'s size, `decode`'s digits… A pin by the tenant
#    expression costs four units (`=`, `current_setting`, a cast from text), so each of these
#    (one or two units) runs before it, on clinic 2's rows: the server's error names Carla.
def _only_carla(condition: str, harmless: str) -> str:
    return condition.format(f"CASE WHEN first_name = 'Carla' THEN first_name ELSE '{harmless}' END")


ORACLES = [  # a call, and an argument it takes without failing (on clinic 1's rows)
    ("int4({}) IS NULL", "1"),
    ("date({}) IS NULL", "2020-01-01"),
    ("encode('x'::bytea, {}) IS NULL", "hex"),
    ("pg_size_bytes({}) IS NULL", "1 kB"),
    ("regclass({}) IS NULL", "patients"),
    ("decode({}, 'hex') IS NULL", "00"),
    # (the attack on the fix) control arguments of calls sqlglot reads into nodes of its own
    ("length(convert_to('x', 'UTF8'), {}) IS NULL", "UTF8"),
    ("regexp_like('a', 'a', {})", "i"),
]
BY_THE_SETTING = "tenant_id = current_setting('app.tenant_id')::bigint"


@pytest.mark.parametrize(("condition", "harmless"), ORACLES)
async def test_a_built_in_failing_on_another_tenants_value_is_refused(
    guard_only: Setup, condition: str, harmless: str
) -> None:
    carla = _only_carla(condition, harmless)
    sql = f"SELECT first_name FROM patients WHERE {carla} AND {BY_THE_SETTING}"
    owner = await asyncpg.connect(guard_only.owner_dsn)
    try:  # the server, for clinic 1: the call ran on clinic 2's row first
        await owner.execute("SET app.tenant_id = '1'")
        with pytest.raises(asyncpg.PostgresError, match=r'(?i)carla|"[a-z]"'):
            await owner.fetch(sql)
    finally:
        await owner.close()
    conn = await guard_only.connect()
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="TG013"):
            await conn.fetch(sql)
    finally:
        await conn.close()


SAFE_BESIDE_THE_SETTING = [
    # a built-in that shows no argument (a document, a text search of a literal configuration)
    "to_tsvector('simple', first_name) @@ plainto_tsquery('simple', 'ana')",
    "octet_length(first_name) > 0",
]


@pytest.mark.parametrize("condition", SAFE_BESIDE_THE_SETTING)
async def test_a_built_in_that_shows_no_argument_runs(guard_only: Setup, condition: str) -> None:
    sql = f"SELECT first_name FROM patients WHERE {condition} AND {BY_THE_SETTING} ORDER BY 1"
    conn = await guard_only.connect()
    try:
        with tenant(1):
            names = [r[0] for r in await conn.fetch(sql)]
    finally:
        await conn.close()
    assert names and set(names) <= {"Ana", "Bruno"}


# 3. `(SELECT * FROM tickets AS t(id, x, tenant_id)) d WHERE d.tenant_id = $1`: the list renames
#    the third column (the priority) to tenant_id; the `*` outputs it, and the outer pin was
#    taken for a pin of the table's tenant column. Clinic 2's ticket of priority 1 came back.
RENAMED_BY_POSITION = [
    "SELECT d.secret FROM (SELECT * FROM tickets AS t(id, x, tenant_id)) d WHERE d.tenant_id = $1",
    "SELECT d.secret FROM (SELECT t.* FROM tickets t(id, x, tenant_id)) d WHERE d.tenant_id = $1",
    "WITH c AS (SELECT * FROM tickets AS t(id, x, tenant_id)) SELECT secret FROM c "
    "WHERE tenant_id = $1",
    # (the attack on the fix) USING and NATURAL JOIN match the renamed column by its new name
    "SELECT t.secret FROM boards b JOIN tickets AS t(id, x, tenant_id) USING (tenant_id) "
    "WHERE b.tenant_id = $1",
    "SELECT secret FROM tickets AS t(id, x, tenant_id) JOIN boards b USING (tenant_id) "
    "WHERE b.tenant_id = $1",
    "SELECT t.secret FROM boards b NATURAL JOIN tickets AS t(id, x, tenant_id) "
    "WHERE b.tenant_id = $1",
]


@pytest.mark.parametrize("sql", RENAMED_BY_POSITION)
async def test_a_star_over_a_table_renamed_by_position_pins_nothing(
    guard_only: Setup, sql: str
) -> None:
    owner = await asyncpg.connect(guard_only.owner_dsn)
    try:
        await owner.execute(
            "CREATE TABLE tickets (id int, tenant_id bigint, priority bigint, secret text);"
            "INSERT INTO tickets VALUES (1, 1, 3, 'own ticket'), (2, 2, 1, 'VICTIM ticket');"
            "CREATE TABLE boards (tenant_id bigint);"
            "INSERT INTO boards VALUES (1)"
        )
        assert [r[0] for r in await owner.fetch(sql, 1)] == ["VICTIM ticket"]
    finally:
        await owner.close()
    columns = {"tickets": ["id", "tenant_id", "priority", "secret"], "boards": ["tenant_id"]}
    for policy in (  # the schema's columns known (as a project's configuration has them), or not
        Policy("tenant_id", {"tickets", "boards"}, table_columns=columns),
        Policy("tenant_id", {"tickets", "boards"}),
    ):
        assert await fetched_as_clinic_1(guard_only, sql, 1, policy=policy) == ["refused"]


# 4. (the attack on the explain() fix) `SET debug_print_plan = on` and `SET client_min_messages =
#    log` inside a request: the server then sends each statement's plan tree, with the planner's
#    estimates, to the client as a LOG message — the same as explain() showed.
async def test_settings_that_send_plans_to_the_client_are_refused_in_a_request(
    guard_only: Setup,
) -> None:
    await _skew(guard_only)
    owner = await asyncpg.connect(guard_only.owner_dsn)
    messages: list[str] = []
    try:  # unguarded: the plan comes back as a message, its estimate for clinic 2's name in it
        owner.add_log_listener(lambda _c, m: messages.append(f"{m.message} {m.detail}"))
        await owner.execute("SET debug_print_plan = on; SET client_min_messages = log")
        await owner.fetch(GUESS, 1, SECRET)
        await asyncio.sleep(0.2)  # the listener is called from the event loop
    finally:
        await owner.close()
    assert any(":plan_rows" in m for m in messages), messages[:3]
    conn = await guard_only.connect()
    try:
        with tenant(1):
            for sql in (
                "SET debug_print_plan = on",
                "SET client_min_messages = log",
                "SET client_min_messages TO debug1",
                "SELECT set_config('client_min_messages', 'log', false)",
                "SELECT set_config('debug_print_rewritten', 'on', true)",
                # (the second attack) a column named like a quiet level
                "SELECT set_config('client_min_messages', notice, false) "
                "FROM (SELECT 'debug5' AS notice) s",
            ):
                with pytest.raises(TenantIsolationError, match="plans or log lines"):
                    await conn.execute(sql)
            await conn.execute("SET client_min_messages = warning")  # quieter: allowed
    finally:
        await conn.close()


# 5. (the attack on the error-oracle fix) a SQL function of the schema is inlined by PostgreSQL
#    into the condition that calls it: `as_int(t) = 5` is `t::int = 5`, costed and failing so,
#    before a pin by the tenant expression.
async def test_an_inlined_sql_function_failing_on_another_tenants_value_is_refused(
    guard_only: Setup, tmp_path: Path
) -> None:
    schema = "CREATE FUNCTION as_int(t text) RETURNS int LANGUAGE sql AS 'SELECT t::int';"
    owner = await asyncpg.connect(guard_only.owner_dsn)
    sql = (
        "SELECT first_name FROM patients WHERE as_int(CASE WHEN first_name = 'Carla' "
        f"THEN first_name ELSE '1' END) = 5 AND {BY_THE_SETTING}"
    )
    try:
        await owner.execute(schema)
        await owner.execute("SET app.tenant_id = '1'")
        with pytest.raises(asyncpg.PostgresError, match="Carla"):
            await owner.fetch(sql)
    finally:
        await owner.close()
    # the schema reader finds the function inlinable, as a project's configuration reads it
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE patients (id bigint, tenant_id bigint, first_name text);\n" + schema
    )
    info = read_schema([tmp_path / "schema.sql"])
    assert info.functions["as_int"].inlined
    policy = Policy("tenant_id", {"patients"}, inlined_functions={"as_int": "SELECT t::int"})
    assert await fetched_as_clinic_1(guard_only, sql, policy=policy) == ["refused"]


# 6. (the second attack on the error oracle) a function of the schema declared cheap (`COST
#    0.001`) runs before a pin by a parameter, whatever its language; and an inlined body's
#    positional parameter (`SELECT $1::regclass`) is its argument.
CHEAP_SCHEMA = (
    "CREATE FUNCTION chk(t text) RETURNS bool LANGUAGE plpgsql COST 0.001 "
    "AS $$ BEGIN RETURN t::int > 0; END $$;"
    "CREATE FUNCTION is_rel(t text) RETURNS bool LANGUAGE sql "
    "AS 'SELECT $1::regclass IS NOT NULL';"
)


@pytest.mark.parametrize(
    ("condition", "harmless", "pin"),
    [
        ("chk({}) IS NULL", "1", BY_THE_SETTING),
        ("is_rel({})", "patients", BY_THE_SETTING),
    ],
    ids=["declared cheap", "positional"],
)
async def test_a_cheap_or_inlined_schema_function_failing_on_another_tenant_is_refused(
    guard_only: Setup, tmp_path: Path, condition: str, harmless: str, pin: str
) -> None:
    sql = f"SELECT first_name FROM patients WHERE {_only_carla(condition, harmless)} AND {pin}"
    args = (1,) if "$1" in pin else ()
    owner = await asyncpg.connect(guard_only.owner_dsn)
    try:
        await owner.execute(CHEAP_SCHEMA)
        await owner.execute("SET app.tenant_id = '1'")
        with pytest.raises(asyncpg.PostgresError, match=r"(?i)carla"):
            await owner.fetch(sql, *args)
    finally:
        await owner.close()
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE patients (id bigint, tenant_id bigint, first_name text);\n" + CHEAP_SCHEMA
    )
    # the policy a project's configuration builds from that schema
    policy = build_policy(Settings(root=tmp_path, schema_paths=("schema.sql",)))
    assert await fetched_as_clinic_1(guard_only, sql, *args, policy=policy) == ["refused"]


# 7. Counters of whole tables: the statistics collector's and the planner's row counts cover every
#    tenant (clinic 1 has 2 patients, the table 3): refused in a request.
COUNTERS = [
    "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'patients'",
    "SELECT reltuples FROM pg_class WHERE relname = 'patients'",
    "SELECT pg_stat_get_live_tuples('patients'::regclass)",
]


@pytest.mark.parametrize("sql", COUNTERS)
async def test_whole_table_counters_are_refused_in_a_request(guard_only: Setup, sql: str) -> None:
    owner = await asyncpg.connect(guard_only.owner_dsn)
    try:
        await owner.execute("ANALYZE patients")
        await asyncio.sleep(0.6)  # the statistics collector reports every 500 ms
        counted = await owner.fetchval(sql)
        mine = await owner.fetchval("SELECT count(*) FROM patients WHERE tenant_id = 1")
        assert counted > mine  # other clinics' rows counted too
    finally:
        await owner.close()
    assert await fetched_as_clinic_1(guard_only, sql) == ["refused"]


async def test_resetting_the_message_level_in_a_request_is_refused(guard_only: Setup) -> None:
    """Quieter is allowed; RESET (or SET … TO DEFAULT) goes back to the role's or the database's
    default, which may show plans: refused (the attack on a false-alarm fix, round 19)."""
    conn = await guard_only.connect()
    try:
        with tenant(1):
            await conn.execute("SET client_min_messages = warning")
            for sql in ("RESET client_min_messages", "SET client_min_messages TO DEFAULT"):
                with pytest.raises(TenantIsolationError, match="plans or log lines"):
                    await conn.execute(sql)
            assert await conn.fetchval("SHOW client_min_messages") == "warning"
    finally:
        await conn.close()


# 8. (the last attack) a row's physical place: `RETURNING ctid` of a tenant's own inserts shows
#    how many rows other tenants wrote in between, on the pages every tenant shares.
INSERT_PLACE = (
    "INSERT INTO patients (tenant_id, first_name, phone_number) "
    "VALUES ($1, 'probe', $2) RETURNING ctid"
)


async def test_a_rows_place_in_the_shared_pages_is_refused(guard_only: Setup) -> None:
    owner = await asyncpg.connect(guard_only.owner_dsn)
    try:
        before = (await owner.fetchval(INSERT_PLACE, 1, "+1-probe-1"))[1]
        await owner.execute(
            "INSERT INTO patients (tenant_id, first_name, phone_number) "
            "SELECT 2, 'other', '+2-other-' || i FROM generate_series(1, 5) i"
        )
        after = (await owner.fetchval(INSERT_PLACE, 1, "+1-probe-2"))[1]
        assert after - before == 6  # clinic 2's five rows, counted
    finally:
        await owner.close()
    conn = await guard_only.connect()
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="TG006"):
            await conn.fetchval(INSERT_PLACE, 1, "+1-probe-3")
        with tenant(1):  # its key is fine
            assert await conn.fetchval(INSERT_PLACE.replace("ctid", "id"), 1, "+1-probe-4")
    finally:
        await conn.close()
