"""Round 3 of the attacks on the runtime guard: bypasses of the fixes of issue 11.

Same two setups as `test_runtime_attacks` (its `setup` fixture): `guard` (a superuser
connection: the guard alone stands between the tenants) and `guard+rls` (an application role
under `rls_policy_sql()` with `set_tenant_setting=True`). Attacks that Row-Level Security
contains run in the `guard` setup only (`guard_only`). Every attack is made by a `tenant(1)`
request in enforce mode through the guarded connection's public API, and each test asserts on
the rows of clinic 2 (Carla) that come back, or that changed, read afterwards through an
unguarded owner connection. A blocked statement (TenantIsolationError) counts as no rows.

Each test was a strict xfail until its bypass was closed; those still marked are open.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import GuardedConnection, tenant
from tests.runtime import test_runtime_attacks as round2
from tests.runtime.test_runtime_attacks import BY_SETTING, CLINIC_1, PINNED, Setup

setup = round2.setup  # the round-2 fixture: parametrized over "guard" and "guard+rls"

ALL = ["Ana", "Bruno", "Carla"]
CLINIC_2 = "SELECT first_name FROM patients WHERE tenant_id = 2 ORDER BY first_name"


# The helpers take a function that makes the guarded call: `fetch`, `execute` … refuse when
# they are called (their check runs before they return asyncpg's awaitable), not when awaited.
Call = Callable[[], Awaitable[Any]]


async def names_of(call: Call) -> list[str]:
    """The first column of the rows a guarded call returns; a refused call returns none."""
    try:
        rows = await call()
    except TenantIsolationError:
        return []
    return sorted(str(row[0]) for row in rows)


async def text_of(call: Call) -> str:
    """What a guarded call returns, as text; a refused call returns nothing."""
    try:
        return str(await call())
    except TenantIsolationError:
        return ""


async def refused_or_ran(call: Call) -> None:
    with contextlib.suppress(TenantIsolationError):
        await call()


@pytest.fixture
async def guard_only(two_clinics: str) -> Setup:
    """The superuser setup alone: what RLS contains is still the guard's to stop."""
    return Setup("guard", two_clinics, two_clinics)


# --- 1. `--` comments end at a carriage return for the server, at a newline for the guard ----


async def test_a_carriage_return_ends_a_line_comment_for_the_server(setup: Setup) -> None:
    """PostgreSQL ends `--` comments at `\\r` as well as `\\n` (scan.l: `non_newline [^\\n\\r]`);
    the guard's splitter (`sqltext.split_sql`) ends them at `\\n` only. `"--\\rSELECT …"` is an
    empty script for the guard: nothing is proven, nothing refused, and it counts as plain (so
    the guard keeps trusting the tenant setting after it changed)."""
    conn = await setup.connect()
    try:
        with tenant(1):
            read = await names_of(lambda: conn.fetch("--\rSELECT first_name FROM patients"))
            await refused_or_ran(
                lambda: conn.fetchval("--\rSELECT set_config('app.tenant_id', '2', false)")
            )
            by_setting = await names_of(lambda: conn.fetch(BY_SETTING))
            await refused_or_ran(
                lambda: conn.execute("--\rDELETE FROM patients WHERE tenant_id <> 1")
            )
    finally:
        await conn.close()
    assert "Carla" not in read  # guard: every clinic's patients
    assert "Carla" not in by_setting  # guard+rls too: RLS serves clinic 2
    assert await setup.names() == ALL  # Carla deleted


# --- 2. COPY options that asyncpg pastes into the COPY statement unquoted --------------------

COPY_INJECTION = (
    "true); SELECT set_config('app.tenant_id', '2', false); "
    "DELETE FROM patients WHERE tenant_id = 2; --"
)


async def _copy_from_query(conn: GuardedConnection) -> object:
    async def sink(data: bytes) -> None:
        del data

    return await conn.copy_from_query(PINNED, 1, output=sink, format="csv", header=COPY_INJECTION)


async def _copy_from_table(conn: GuardedConnection) -> object:
    return await conn.copy_from_table(
        "tenants", output=io.BytesIO(), format="csv", header=COPY_INJECTION
    )


async def _copy_to_table(conn: GuardedConnection) -> object:
    return await conn.copy_to_table(
        "tenants",
        source=io.BytesIO(b"id,name\n"),
        columns=["id", "name"],
        format="csv",
        header=COPY_INJECTION,
    )


@pytest.mark.parametrize("copy", [_copy_from_query, _copy_from_table, _copy_to_table])
async def test_copy_options_are_sql_pasted_into_the_copy(setup: Setup, copy: Any) -> None:
    """asyncpg's `_format_copy_opts` quotes string options, except `header`, `oids` and
    `freeze`, which it pastes with `str(v)`: `header="true); <any SQL>; --"` closes the option
    list and adds statements to the simple-protocol COPY. The guard proves the query (or the
    table) and never the options."""
    conn = await setup.connect()
    try:
        with tenant(1):
            await refused_or_ran(lambda: asyncio.wait_for(copy(conn), 10))
    finally:
        await conn.close()
    assert await setup.names() == ALL  # Carla deleted (with RLS: after set_config to 2)


# --- 3. a dollar-quote tag the guard's splitter does not read ------------------------------

EMOJI_TAG = (
    "SELECT $\U0001f600$'$\U0001f600$; "
    "DO $x$ BEGIN "
    "EXECUTE $q$SELECT set_$q$ || $q$config($v$app.tenant$v$ || $v$_id$v$, $v$2$v$, false)$q$; "
    "EXECUTE $q$DELETE FROM pat$q$ || $q$ients WHERE tenant_id = "
    "current_setting($v$app.tenant$v$ || $v$_id$v$)::bigint$q$; "
    "END $x$; -- '"
)


async def test_a_dollar_tag_the_splitter_does_not_read_hides_statements(setup: Setup) -> None:
    """PostgreSQL accepts any non-ASCII character in a dollar-quote tag; the guard's
    `_DOLLAR_TAG` stops at U+FFFF. The guard reads `$😀$'…` as code followed by a string that
    runs to the trailing comment's quote: one SELECT. The server runs a DO block after it. The
    text that fails to parse as one statement names no tenant table, so the proof's finding is
    only a warning; the DO body spells neither `set_config(` nor the setting's name. (The
    runtime refuses every statement it cannot parse, so it refuses this one whatever the
    splitter reads.)"""
    conn = await setup.connect()
    try:
        with tenant(1):
            await refused_or_ran(lambda: conn.execute(EMOJI_TAG))
    finally:
        await conn.close()
    assert await setup.names() == ALL  # Carla deleted


# --- 4. a statement the analyzer cannot parse, naming no tenant table ----------------------

XML_OF_EVERY_CLINIC = (
    "SELECT query_to_xml($q$SELECT set_$q$ || $q$config('app.tenant$q$ || $q$_id', '2', "
    "false)$q$, true, false, '')::text || "
    "query_to_xml($q$SELECT first_name FROM pat$q$ || $q$ients$q$, true, false, '')::text, "
    "collation for ('x')"
)


async def test_an_unparseable_statement_naming_no_tenant_table_is_not_proven(
    setup: Setup,
) -> None:
    """`collation for ('x')` is valid PostgreSQL that sqlglot does not parse; without a tree,
    TG006's `_server_side` check (query_to_xml and friends) does not run, and an unparseable
    statement that spells no tenant table is a warning. The query given to query_to_xml is
    concatenated, so no tenant table is spelled; a first query_to_xml sets the tenant setting
    for RLS."""
    conn = await setup.connect()
    try:
        with tenant(1):
            xml = await text_of(lambda: conn.fetchval(XML_OF_EVERY_CLINIC))
    finally:
        await conn.close()
    assert "Carla" not in xml


# --- 5. standard_conforming_strings turned off by a statement the guard calls plain ---------

SCS_OFF = "UPDATE pg_settings SET setting = 'off' WHERE name LIKE 'standard_conforming%'"
# with standard_conforming_strings off, '\' /* ' is one string for the server; for the guard
# the string ends at the second quote and the rest is a comment
HIDDEN_SWITCH = "SELECT '\\' /* ', set_config('app.tenant_id', '2', false) -- */"
HIDDEN_OR = (
    "SELECT first_name FROM patients WHERE tenant_id = $1 AND first_name <> 'a\\'' OR true --'"
)


async def test_the_lexer_setting_changed_through_pg_settings_is_noticed(setup: Setup) -> None:
    """`SET standard_conforming_strings` and `set_config()` of it are refused, but pg_settings'
    update rule calls set_config itself: `UPDATE pg_settings … WHERE name LIKE …` spells neither
    and calls no function, so the guard calls it plain and never re-reads the session. Strings
    then end elsewhere for the server: `OR true` and a set_config of the tenant setting hide in
    what the guard reads as strings and comments."""
    conn = await setup.connect()
    try:
        with tenant(1):
            await refused_or_ran(lambda: conn.execute(SCS_OFF))
            hidden_or = await names_of(lambda: conn.fetch(HIDDEN_OR, 1))
            await refused_or_ran(lambda: conn.fetch(HIDDEN_SWITCH))
            by_setting = await names_of(lambda: conn.fetch(BY_SETTING))
    finally:
        await conn.close()
    assert "Carla" not in hidden_or  # guard: every clinic
    assert "Carla" not in by_setting  # guard+rls: the setting is 2 and the guard believes 1


# --- 6. statements made while the connection resets pass as the driver's own ---------------


async def test_statements_made_during_a_reset_are_checked(setup: Setup) -> None:
    """`reset()` (public; the pool calls it on release) sets `_tg_driver` while asyncpg's reset
    query is in flight: every check made meanwhile on that connection returns "driver
    statement" and the check is done when the call is made, not when it is awaited."""
    conn = await setup.connect()
    try:
        with tenant(1):
            await conn.execute("LISTEN anything")  # the reset will not be skipped
            resetting = asyncio.ensure_future(conn.reset())
            await asyncio.sleep(0)  # the reset query is on its way
            switch = conn.fetchval("SELECT set_config('app.tenant_id', '2', false)")
            leak = conn.fetch("SELECT first_name FROM patients")
            await resetting
            await refused_or_ran(lambda: switch)
            read = await names_of(lambda: leak)
    finally:
        await conn.close()
    assert "Carla" not in read


# --- guard only: what RLS contains, but the guard lets through ----------------------------


async def test_a_custom_codec_cannot_send_another_tenant(guard_only: Setup) -> None:
    """README: "Bound values are compared as asyncpg sends them". A codec set with the public
    `set_type_codec` decides what is sent: here `int8` values are sent plus one. The guard
    refuses codecs on the types a tenant value is sent as (outside `unscoped()`), so the
    values below are sent as they were checked: clinic 1's rows, and Carla untouched."""
    conn = await guard_only.connect()
    try:
        await refused_or_ran(
            lambda: conn.set_type_codec(
                "int8",
                schema="pg_catalog",
                encoder=lambda value: str(int(value) + 1),
                decoder=int,
                format="text",
            )
        )
        with tenant(1):
            read = await names_of(lambda: conn.fetch(PINNED, 1))
            await refused_or_ran(
                lambda: conn.execute(
                    "UPDATE patients SET first_name = 'owned' WHERE tenant_id = $1", 1
                )
            )
    finally:
        await conn.close()
    assert read == CLINIC_1  # Carla
    assert await guard_only.names(CLINIC_2) == ["Carla"]  # Carla renamed


async def test_a_pinning_parameter_typed_real_elsewhere(guard_only: Setup) -> None:
    """The proof refuses `tenant_id = $1::real` (float4 keeps 24 bits), but PostgreSQL types a
    parameter by its first use: with `$1::real IS NOT NULL AND tenant_id = $1`, `$1` is real
    everywhere, so 16777217 (checked: the request's tenant) selects tenant 16777216."""
    await guard_only.owner(
        "INSERT INTO tenants (id, name) VALUES (16777216, 'East'), (16777217, 'West');"
        "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES "
        "(16777216, 'Dora', '331'), (16777217, 'Eva', '441')"
    )
    conn = await guard_only.connect()
    try:
        with tenant(16777217):
            read = await names_of(
                lambda: conn.fetch(
                    "SELECT first_name FROM patients WHERE $1::real IS NOT NULL AND tenant_id = $1",
                    16777217,
                )
            )
    finally:
        await conn.close()
    assert "Dora" not in read  # clinic 16777216's patient


async def test_an_error_does_not_show_another_tenants_value(guard_only: Setup) -> None:
    """The pin outside a MATERIALIZED CTE filters its rows after they are computed (TG013
    refuses side effects there; an error is one): `first_name::int` of clinic 2's row fails
    with `invalid input syntax for type integer: "Carla"`."""
    conn = await guard_only.connect()
    message = ""
    try:
        with tenant(1):
            try:
                await conn.fetch(
                    "WITH x AS MATERIALIZED (SELECT tenant_id, CASE WHEN tenant_id <> 1 "
                    "THEN first_name::int END AS n FROM patients) "
                    "SELECT n FROM x WHERE tenant_id = $1",
                    1,
                )
            except TenantIsolationError:
                pass
            except asyncpg.PostgresError as error:
                message = str(error)
    finally:
        await conn.close()
    assert "Carla" not in message
