"""The fixes of round 4 of the attacks on the runtime guard, tried around their edges.

`test_runtime_attacks_round4` holds the attacks as found; this file tries the other doors of
the same kind and checks that what the application legitimately does still works. Same two
setups (`setup`: the guard alone, and an application role under RLS with
`set_tenant_setting=True`); each attack asserts on clinic 2's rows (Carla) that come back or
changed, read afterwards through an unguarded owner connection.
"""

from __future__ import annotations

import contextlib
import uuid
from urllib.parse import urlsplit

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import tenant
from tenantguard.runtime.session import statement_effects
from tests import test_runtime_attacks as round2
from tests.test_runtime_attacks import Setup
from tests.test_runtime_attacks_round3 import CLINIC_2, refused_or_ran

setup = round2.setup  # parametrized over "guard" and "guard+rls"

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
