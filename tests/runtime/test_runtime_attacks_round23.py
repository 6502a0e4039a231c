"""Round 23: the runtime guard attacked by an outsider (helper 110), on a real server.

1. On a database whose code reads the tenant setting, the guard sets it to tenant() before
   every statement — but a statement seen before went by the hot path, which set it only for a
   pin it could see: a view filtered by `tenant_id = current_clinic()` (a SQL helper reading
   the setting), or a view of a view filtered by the setting, read and changed clinic 1's rows
   in clinic 2's request on the same connection.
2. The catalog read marked as readers of the setting only the views and functions whose own
   text names it: `SELECT set_clinic(2), (… FROM clinic_patients)` set the setting and read
   through the helper in one statement.
3. With `set_tenant_setting`, a pool skips its reset after plain statements: an INSERT whose
   `serial` default calls nextval() left lastval()/currval() to the next request (another
   clinic's) on the same connection.
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant
from tests.runtime.test_runtime import POLICY

HELPERS = """
CREATE FUNCTION current_clinic() RETURNS bigint LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::bigint $$;
CREATE FUNCTION set_clinic(c bigint) RETURNS text LANGUAGE sql
  AS $$ SELECT set_config('app.tenant_id', c::text, false) $$;
CREATE VIEW clinic_patients AS
  SELECT id, tenant_id, first_name, phone_number FROM patients WHERE tenant_id = current_clinic();
CREATE VIEW my_patients AS
  SELECT id, tenant_id, first_name, phone_number FROM patients
  WHERE tenant_id = current_setting('app.tenant_id')::bigint;
CREATE VIEW my_patient_names AS SELECT id, first_name, phone_number FROM my_patients;
"""

ROWS = {1: ["Ana", "Bruno"], 2: ["Carla"]}


async def _schema(dsn: str) -> None:
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute(HELPERS)
    finally:
        await owner.close()


async def _phones(dsn: str) -> list[tuple[int, str]]:
    raw = await asyncpg.connect(dsn)
    try:
        rows = await raw.fetch("SELECT tenant_id, phone_number FROM patients ORDER BY id")
        return [(r[0], r[1]) for r in rows]
    finally:
        await raw.close()


@pytest.mark.parametrize("view", ["clinic_patients", "my_patient_names"])
async def test_a_view_reading_the_setting_through_a_helper_or_a_view_on_one_connection(
    two_clinics: str, view: str
) -> None:
    await _schema(two_clinics)
    read = f"SELECT first_name FROM {view} ORDER BY id"
    write = f"UPDATE {view} SET phone_number = 'X' || phone_number"
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            for clinic in (1, 2, 1, 2, 2, 1):  # the same texts, again and again: cached verdicts
                with tenant(clinic):
                    assert [r[0] for r in await conn.fetch(read)] == ROWS[clinic]
        for clinic in (1, 2):
            async with pool.acquire() as conn:
                with tenant(clinic):
                    await conn.execute(write)
    finally:
        await pool.close()
    # each clinic's UPDATE changed its own rows once
    assert await _phones(two_clinics) == [(1, "X111"), (1, "X112"), (2, "X221")]
    conn = await connect(two_clinics, policy=POLICY)
    try:
        for clinic in (2, 1, 2):
            with tenant(clinic):
                assert [r[0] for r in await conn.fetch(read)] == ROWS[clinic]
    finally:
        await conn.close()


async def test_a_setter_beside_a_read_through_a_helper_is_refused(two_clinics: str) -> None:
    await _schema(two_clinics)
    conn = await connect(two_clinics, policy=POLICY)
    try:
        assert {"clinic_patients", "current_clinic", "my_patient_names"} <= (
            conn.tenantguard._setting_readers
        )
        with tenant(1):
            for both in (
                "SELECT set_clinic(2) AS s, (SELECT string_agg(first_name, ',') "
                "FROM clinic_patients) AS names",
                "SELECT set_clinic(2) AS s, (SELECT string_agg(first_name, ',') "
                "FROM my_patient_names) AS names",
                "SELECT set_clinic(2) AS s, current_clinic() AS c",
            ):
                for _ in range(2):  # and again, once its verdict is cached
                    with pytest.raises(TenantIsolationError, match="sets the tenant setting"):
                        await conn.fetch(both)
            # by itself, the helper's read is the request's clinic
            assert [r[0] for r in await conn.fetch("SELECT first_name FROM clinic_patients")] == [
                "Ana",
                "Bruno",
            ]
    finally:
        await conn.close()


async def test_a_scripts_refusal_holds_once_its_verdict_is_cached(two_clinics: str) -> None:
    await _schema(two_clinics)
    conn = await connect(two_clinics, policy=POLICY)
    script = (
        "SELECT 1 FROM patients WHERE tenant_id = $1; "
        "UPDATE patients SET phone_number = 'PWNED' WHERE tenant_id = 1"
    )
    try:
        with tenant(1):
            for _ in range(3):
                with pytest.raises(TenantIsolationError, match="several statements"):
                    await conn.execute(script.replace("$1", "1"))
    finally:
        await conn.close()
    assert await _phones(two_clinics) == [(1, "111"), (1, "112"), (2, "221")]


async def test_a_sequence_a_write_advanced_is_not_handed_to_the_next_clinic(
    two_clinics: str,
) -> None:
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    insert = (
        "INSERT INTO patients (tenant_id, first_name, phone_number) "
        "VALUES ($1, 'Secret-1', $2) RETURNING id"
    )
    try:
        for phone in ("198", "199"):  # the second time, the INSERT's verdict is cached
            async with pool.acquire() as conn:
                with tenant(1):
                    assert await conn.fetchval(insert, 1, phone) > 3
            async with pool.acquire() as conn:
                with tenant(2):
                    for read in ("SELECT lastval()", "SELECT currval('patients_id_seq')"):
                        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
                            await conn.fetchval(read)
        # reads alone still skip the reset (its round trip is what the skip saves)
        skipped = pool.tenantguard.resets_skipped
        for clinic in (1, 2):
            async with pool.acquire() as conn:
                with tenant(clinic):
                    assert [
                        r[0]
                        for r in await conn.fetch(
                            "SELECT first_name FROM patients WHERE tenant_id = $1 "
                            "AND first_name <> 'Secret-1' ORDER BY id",
                            clinic,
                        )
                    ] == ROWS[clinic]
        assert pool.tenantguard.resets_skipped == skipped + 2
    finally:
        await pool.close()


async def test_make_timestamps_error_does_not_spell_another_clinics_name(two_clinics: str) -> None:
    """helper 110: sqlglot reads make_timestamp() as a typed node no list of TG013 named; its
    error quotes its fields, and the condition (cheaper than the pin by the tenant expression)
    ran on clinic 2's row: clinic 1 read Carla's name a character at a time."""
    query = (
        "SELECT id FROM patients WHERE id = $1 "
        "AND make_timestamp(ascii(substr(first_name, 1)), 13, 1, 0, 0, 0) IS NULL "
        "AND tenant_id = current_setting('app.tenant_id')::bigint"
    )
    raw = await asyncpg.connect(two_clinics)  # the witness, unguarded: 67 is 'C'
    try:
        await raw.execute("SELECT set_config('app.tenant_id', '1', false)")
        with pytest.raises(asyncpg.DatetimeFieldOverflowError, match="67-13-01"):
            await raw.fetch(query, 3)
    finally:
        await raw.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="TG013"):
            await conn.fetch(query, 3)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("condition", "error"),
    [
        (
            "('x' LIKE CASE WHEN first_name LIKE $2 THEN '\\' ELSE 'x' END) IS NULL",
            asyncpg.InvalidEscapeSequenceError,
        ),
        (
            "cos(CASE WHEN first_name LIKE $2 THEN 'infinity'::float8 ELSE 0 END) IS NULL",
            asyncpg.NumericValueOutOfRangeError,
        ),
        (
            "abs(CASE WHEN first_name LIKE $2 THEN -2147483648 ELSE 0 END) IS NULL",
            asyncpg.NumericValueOutOfRangeError,
        ),
    ],
)
async def test_error_oracles_of_functions_read_as_total(
    two_clinics: str, condition: str, error: type[Exception]
) -> None:
    """helper 112: a LIKE pattern ending with its escape character, cos() of infinity, abs()
    of the least integer fail exactly when clinic 2's name starts with the guess: a prefix at
    a time, before the pin by the tenant expression. The guard refuses them."""
    query = (
        f"SELECT id FROM patients WHERE id = $1 AND {condition} "
        "AND tenant_id = current_setting('app.tenant_id')::bigint"
    )
    raw = await asyncpg.connect(two_clinics)  # the witness, unguarded: Carla's row (id 3)
    try:
        await raw.execute("SELECT set_config('app.tenant_id', '1', false)")
        with pytest.raises(error):
            await raw.fetch(query, 3, "C%")
        assert await raw.fetch(query, 3, "Z%") == []
    finally:
        await raw.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="TG013"):
            await conn.fetch(query, 3, "C%")
    finally:
        await conn.close()


SECOND_WAVE = """
CREATE FUNCTION app_setting(key text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text; BEGIN EXECUTE format('SHOW %I.%I', 'app', key) INTO v; RETURN v; END $$;
CREATE VIEW shown_patients AS
  SELECT id, first_name FROM patients WHERE tenant_id = app_setting('tenant_id')::bigint;
CREATE TABLE export_requests (tenant_id bigint);
CREATE TABLE export_rows (tenant_id bigint, name text);
CREATE RULE snapshot AS ON INSERT TO export_requests DO ALSO
  INSERT INTO export_rows (tenant_id, name) SELECT NEW.tenant_id, p.first_name FROM patients p
  WHERE p.tenant_id = current_setting('app.tenant_id')::bigint;
CREATE FUNCTION enter(p patients) RETURNS text LANGUAGE sql AS $$
  SELECT set_config('app.tenant_id', (p.tenant_id - 1)::text, false) $$;
CREATE TABLE chart_reads (id bigserial PRIMARY KEY, patient bigint);
CREATE FUNCTION audit_read(p bigint) RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO chart_reads (patient) VALUES (p) RETURNING p $$;
CREATE VIEW charts AS SELECT id, tenant_id, first_name, audit_read(id) AS read FROM patients;
"""


async def test_setting_readers_and_session_state_the_catalog_read_missed(
    two_clinics: str,
) -> None:
    """helper 112: a view reading the setting through dynamic `SHOW`, a table's rule reading
    it, a setter called in attribute notation (`p.enter`), a view whose function advances a
    sequence on a pooled connection whose reset is skipped: each crossed clinics."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(SECOND_WAVE)
    finally:
        await owner.close()
    # (h38V: tables holding the tenant column that the policy does not list are checked as
    # tenant tables; the rule's tables are declared shared here, as this case was written —
    # listed as tenant tables, the rule's INSERT is refused, TG005, as it was before h38V)
    policy = POLICY.replace(global_tables={*POLICY.global_tables, "export_requests", "export_rows"})
    conn = await connect(two_clinics, policy=policy)
    try:
        for clinic in (1, 2, 1, 2):
            with tenant(clinic):
                rows = await conn.fetch("SELECT first_name FROM shown_patients ORDER BY id")
                assert [r[0] for r in rows] == ROWS[clinic]
        with tenant(1):
            await conn.fetch(
                "SELECT 1 FROM patients WHERE tenant_id = current_setting('app.tenant_id')::bigint"
            )
        with tenant(2):
            await conn.execute("INSERT INTO export_requests (tenant_id) VALUES ($1)", 2)
            rows = await conn.fetch("SELECT name FROM export_rows WHERE tenant_id = $1", 2)
            assert [r[0] for r in rows] == ["Carla"]
            with pytest.raises(TenantIsolationError, match="sets the tenant setting"):
                await conn.fetch(
                    "SELECT p.enter AS s, v.first_name FROM patients p CROSS JOIN LATERAL "
                    "(SELECT first_name FROM shown_patients WHERE p.enter IS NOT NULL) v "
                    "WHERE p.tenant_id = $1",
                    2,
                )
    finally:
        await conn.close()
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        async with pool.acquire() as c:
            with tenant(1):
                await c.fetch("SELECT first_name FROM charts WHERE tenant_id = $1", 1)
        async with pool.acquire() as c:
            with tenant(2), pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
                await c.fetchval("SELECT lastval()")
    finally:
        await pool.close()


async def test_a_setter_spelled_with_unicode_escapes(two_clinics: str) -> None:
    """helper 114: `U&"\\0073et\\005fconfig"(U&'app.tenant\\005fid', '2', false)` in a SQL
    function a view calls: the catalog read saw no setter, the view's read was plain, the
    setting stayed '2' for the session and the pool handed it on to clinic 1's next request."""
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(
            "CREATE FUNCTION use_shared() RETURNS text LANGUAGE sql AS "
            "$$ SELECT U&\"\\0073et\\005fconfig\"(U&'app.tenant\\005fid', '2', false) $$;"
            "CREATE VIEW shared_banner AS SELECT use_shared() AS banner"
        )
    finally:
        await owner.close()
    read = (
        "SELECT first_name FROM patients "
        "WHERE tenant_id = current_setting('app.tenant_id')::bigint ORDER BY id"
    )
    pool = await create_pool(
        two_clinics, policy=POLICY, set_tenant_setting=True, min_size=1, max_size=1
    )
    try:
        async with pool.acquire() as conn:
            with tenant(1):
                assert [r[0] for r in await conn.fetch(read)] == ROWS[1]
                await conn.fetch("SELECT banner FROM shared_banner")
        async with pool.acquire() as conn:
            with tenant(1):
                assert [r[0] for r in await conn.fetch(read)] == ROWS[1]
    finally:
        await pool.close()


async def test_an_overflow_the_caller_steers(two_clinics: str) -> None:
    """helper 114: `id + $2::int IS NULL` before the pin by the tenant expression overflows
    exactly when clinic 2's row's id is above 2147483647 - $2: its value, by binary search."""
    query = (
        "SELECT id FROM patients WHERE id = $1 AND id::int + $2::int IS NULL "
        "AND tenant_id = current_setting('app.tenant_id')::bigint"
    )
    raw = await asyncpg.connect(two_clinics)
    try:
        await raw.execute("SELECT set_config('app.tenant_id', '1', false)")
        with pytest.raises(asyncpg.NumericValueOutOfRangeError):
            await raw.fetch(query, 3, 2147483647 - 2)  # Carla's id is 3: 3 > 2
        assert await raw.fetch(query, 3, 2147483647 - 3) == []
    finally:
        await raw.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError, match="TG013"):
            await conn.fetch(query, 3, 2147483647 - 2)
    finally:
        await conn.close()
