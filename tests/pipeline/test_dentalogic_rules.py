"""The Dentalogic business rules the shipped patches keep (issue 13), on a real PostgreSQL.

Concurrent rules are tested with two sessions whose transactions overlap: the second one's
statement is started while the first is still open, and the test asserts that it waits, then
on the rows both leave behind.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tests.conftest import fresh_database

PATCHES = Path(__file__).resolve().parent.parent.parent / "patches"


def patches_before(tmp_path: Path, number: int) -> Path:
    """A copy of the shipped patch directory without the patches numbered `number` and later."""
    directory = tmp_path / f"patches_before_{number}"
    directory.mkdir()
    for path in PATCHES.glob("*.sql"):
        if int(path.name.split("_", 1)[0]) < number:
            shutil.copy(path, directory / path.name)
    return directory


CLINICS = """
INSERT INTO tenants (id, name) VALUES (1, 'Norte'), (2, 'Sur');
INSERT INTO professionals (tenant_id, id, full_name) VALUES (1, 1, 'Dra. Ruiz');
"""


async def _crm_with_clinics(dsn: str) -> None:
    await apply_patches(dsn, PATCHES)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(CLINICS)
    finally:
        await conn.close()


@pytest.fixture
async def crm_dsn(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    """A database with the shipped pipeline applied; clinics 1 and 2, a professional in clinic 1
    (a copy of a database they were made in once)."""
    async with fresh_database(postgres, build=_crm_with_clinics) as dsn:
        yield dsn


@pytest.fixture
async def crm(crm_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to `crm_dsn`."""
    conn = await asyncpg.connect(crm_dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def new_patient(conn: asyncpg.Connection, tenant: int, phone: str, **fields: str) -> int:
    columns = ["tenant_id", "phone_number", *fields]
    values = [tenant, phone, *fields.values()]
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    sql = f"INSERT INTO patients ({', '.join(columns)}) VALUES ({placeholders}) RETURNING id"
    return int(await conn.fetchval(sql, *values))


async def active_patient(
    conn: asyncpg.Connection, tenant: int, phone: str, dni: str = "30111222"
) -> int:
    return await new_patient(
        conn, tenant, phone, first_name="Ana", last_name="Paz", dni=dni, status="active"
    )


# ---------------------------------------------------------------- lead source (0036, 0042)

SPELLINGS = [
    "WhatsApp",
    " whatsapp ",
    "WA",
    "wa",
    "whats app",
    "Whatsapp-Inbound",
    "WHATSAPP",
    "wsp",
    "Wpp",
    "whatsapp_in",
]
OTHERS = ["instagram", "Referral", "walk-in", "was"]


async def test_every_spelling_of_whatsapp_in_existing_rows_becomes_whatsapp_inbound(
    database: str, tmp_path: Path
) -> None:
    await apply_patches(database, patches_before(tmp_path, 42))
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("INSERT INTO tenants (id, name) VALUES (1, 'Norte')")
        for i, source in enumerate(SPELLINGS + OTHERS):
            await conn.execute(
                "INSERT INTO leads (tenant_id, external_id, source) VALUES (1, $1, $2)",
                f"e{i}",
                source,
            )
        await apply_patches(database, PATCHES)
        rows = await conn.fetch('SELECT source FROM leads ORDER BY external_id::text COLLATE "C"')
        sources = {r["source"] for r in await conn.fetch("SELECT source FROM leads")}
    finally:
        await conn.close()
    assert len(rows) == len(SPELLINGS + OTHERS)
    assert sources == {"whatsapp_inbound", *OTHERS}


async def test_new_and_updated_leads_are_normalised_too(crm: asyncpg.Connection) -> None:
    for i, source in enumerate(SPELLINGS + OTHERS):
        await crm.execute(
            "INSERT INTO leads (tenant_id, external_id, source) VALUES (1, $1, $2)", f"n{i}", source
        )
    stored = await crm.fetch("SELECT external_id, source FROM leads")
    by_id = {r["external_id"]: r["source"] for r in stored}
    assert [by_id[f"n{i}"] for i in range(len(SPELLINGS))] == ["whatsapp_inbound"] * len(SPELLINGS)
    assert [by_id[f"n{len(SPELLINGS) + i}"] for i in range(len(OTHERS))] == OTHERS
    await crm.execute(
        "UPDATE leads SET source = ' W.A. ' WHERE tenant_id = 1 AND external_id = 'n10'"
    )
    assert (
        await crm.fetchval("SELECT source FROM leads WHERE external_id = 'n10'")
        == "whatsapp_inbound"
    )


# ---------------------------------------------------------------- active patients (0040, 0043, 0044)


@pytest.mark.parametrize(
    "fields",
    [
        {"first_name": "  ", "last_name": "Paz", "dni": "30111222"},
        {"first_name": "Ana", "last_name": "", "dni": "30111222"},
        {"first_name": "Ana", "last_name": "Paz", "dni": " "},
        {"first_name": "Ana", "last_name": "Paz"},
    ],
    ids=["blank name", "empty surname", "blank dni", "no dni"],
)
async def test_an_active_patient_has_a_non_blank_name_surname_and_dni(
    crm: asyncpg.Connection, fields: dict[str, str]
) -> None:
    guest = await new_patient(crm, 1, "111", **fields)  # a guest may lack them
    with pytest.raises(asyncpg.CheckViolationError, match="patients_active_identity"):
        await crm.execute(
            "UPDATE patients SET status = 'active' WHERE tenant_id = 1 AND id = $1", guest
        )
    with pytest.raises(asyncpg.CheckViolationError, match="patients_active_identity"):
        await new_patient(crm, 1, "112", status="active", **fields)
    assert await crm.fetchval("SELECT array_agg(status) FROM patients WHERE tenant_id = 1") == [
        "guest"
    ]
    await crm.execute(
        "UPDATE patients SET status = 'active', first_name = 'Ana', last_name = 'Paz', dni = '30111222' "
        "WHERE tenant_id = 1 AND id = $1",
        guest,
    )
    assert await crm.fetchval("SELECT status FROM patients WHERE id = $1", guest) == "active"


async def test_blank_identities_already_stored_are_reported_not_a_blocked_startup(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await apply_patches(database, patches_before(tmp_path, 43))
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("INSERT INTO tenants (id, name) VALUES (1, 'Norte')")
        await new_patient(conn, 1, "111", first_name="Ana", last_name=" ", dni="1", status="active")
        caplog.set_level(logging.WARNING, "tenantguard")
        run = await apply_patches(database, PATCHES)
        assert "0043_active_patient_identity.sql" in run.applied
        assert any(
            "0043_active_patient_identity.sql: WARNING: patients_active_identity is NOT VALID: 1 active"
            in r.getMessage()
            for r in caplog.records
        )
        validated = (
            "SELECT convalidated FROM pg_constraint WHERE conname = 'patients_active_identity'"
        )
        assert await conn.fetchval(validated) is False
        with pytest.raises(asyncpg.CheckViolationError):  # new rows are checked all the same
            await new_patient(
                conn, 1, "112", first_name="Bo", last_name="", dni="2", status="active"
            )
    finally:
        await conn.close()


async def test_a_dni_is_unique_within_a_clinic_in_any_spelling(crm: asyncpg.Connection) -> None:
    await active_patient(crm, 1, "111", dni="30.111.222")
    for spelling in ("30111222", " 30111222 ", "30-111-222"):
        with pytest.raises(asyncpg.UniqueViolationError, match="patients_tenant_dni_key"):
            await active_patient(crm, 1, "112", dni=spelling)
    await active_patient(crm, 2, "111", dni="30111222")  # another clinic's patient
    for phone in ("113", "114"):  # guests without a DNI, or a blank one
        await new_patient(crm, 1, phone)
        await new_patient(crm, 1, phone + "0", dni="  ")
    counts = await crm.fetch("SELECT tenant_id, count(*) FROM patients GROUP BY 1 ORDER BY 1")
    assert [tuple(r) for r in counts] == [(1, 5), (2, 1)]


async def test_duplicate_dnis_already_stored_stop_the_index_until_merged(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await apply_patches(database, patches_before(tmp_path, 44))
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("INSERT INTO tenants (id, name) VALUES (1, 'Norte')")
        await active_patient(conn, 1, "111", dni="30111222")
        duplicate = await active_patient(conn, 1, "112", dni="30.111.222")
        with pytest.raises(
            PatchError,
            match=r"(?s)0044_patients_dni_unique\.sql:7:1: .*UniqueViolationError.*\(1, 30111222\) is duplicated",
        ):
            await apply_patches(database, PATCHES)
        status = ["patches", "status", "--dsn", database, "--dir", str(PATCHES)]
        assert await asyncio.to_thread(main, status) == 1
        assert 'INVALID   index "public"."patients_tenant_dni_key"' in capsys.readouterr().out
        await conn.execute("DELETE FROM patients WHERE id = $1", duplicate)  # merged by hand
        run = await apply_patches(database, PATCHES)
        assert run.applied[0] == "0044_patients_dni_unique.sql"
        valid = (
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'patients_tenant_dni_key'::regclass"
        )
        assert await conn.fetchval(valid) is True
    finally:
        await conn.close()


# ---------------------------------------------------------------- demotion and booking (0045)


async def book(
    conn: asyncpg.Connection, patient: int, when: str = "now() + interval '1 day'"
) -> None:
    await conn.execute(
        f"INSERT INTO appointments (tenant_id, patient_id, professional_id, starts_at) VALUES (1, $1, 1, {when})",
        patient,
    )


async def test_a_patient_with_appointments_ahead_cannot_become_a_guest(
    crm: asyncpg.Connection,
) -> None:
    ahead = await active_patient(crm, 1, "111", dni="1")
    past = await active_patient(crm, 1, "112", dni="2")
    cancelled = await active_patient(crm, 1, "113", dni="3")
    await book(crm, ahead)
    await book(crm, past, "now() - interval '1 day'")
    await book(crm, cancelled)
    await crm.execute(
        "UPDATE appointments SET status = 'cancelled' WHERE patient_id = $1", cancelled
    )
    demote = "UPDATE patients SET status = 'guest' WHERE tenant_id = 1 AND id = $1"
    with pytest.raises(asyncpg.CheckViolationError, match="appointments ahead"):
        await crm.execute(demote, ahead)
    await crm.execute(demote, past)
    await crm.execute(demote, cancelled)
    statuses = await crm.fetch("SELECT id, status FROM patients ORDER BY id")
    assert [r["status"] for r in statuses] == ["active", "guest", "guest"]


@pytest.mark.parametrize("isolation", ["read_committed", "serializable"])
@pytest.mark.parametrize("first", ["booking", "demotion"])
async def test_a_booking_racing_a_demotion_cannot_both_commit(
    crm: asyncpg.Connection, crm_dsn: str, first: str, isolation: str
) -> None:
    patient = await active_patient(crm, 1, "111")
    booking, demotion = await asyncpg.connect(crm_dsn), await asyncpg.connect(crm_dsn)
    try:
        book_tx = booking.transaction(isolation=isolation)
        demote_tx = demotion.transaction(isolation=isolation)
        await book_tx.start()
        await demote_tx.start()
        await booking.fetchval("SELECT 1")  # both snapshots taken before either change
        await demotion.fetchval("SELECT 1")

        async def do_book() -> None:
            await book(booking, patient)

        async def do_demote() -> None:
            await demotion.execute(
                "UPDATE patients SET status = 'guest' WHERE tenant_id = 1 AND id = $1", patient
            )

        steps = {"booking": (do_book, book_tx), "demotion": (do_demote, demote_tx)}
        second_name = "demotion" if first == "booking" else "booking"
        (first_step, first_tx), (second_step, second_tx) = steps[first], steps[second_name]
        await first_step()
        second = asyncio.create_task(second_step())
        await asyncio.sleep(0.3)
        assert not second.done()  # the second waits on the patient's row lock
        await first_tx.commit()
        with pytest.raises((asyncpg.CheckViolationError, asyncpg.SerializationError)):
            try:
                await asyncio.wait_for(second, timeout=10)
                await second_tx.commit()  # SERIALIZABLE may refuse only here
            except BaseException:
                await second_tx.rollback()
                raise
    finally:
        await booking.close()
        await demotion.close()
    status = await crm.fetchval("SELECT status FROM patients WHERE id = $1", patient)
    appointments = await crm.fetchval(
        "SELECT count(*) FROM appointments WHERE patient_id = $1", patient
    )
    assert (status, appointments) == (("active", 1) if first == "booking" else ("guest", 0))


# ---------------------------------------------------------------- Omega Prime (0040, 0046)


async def register(
    conn: asyncpg.Connection, tenant: int, email: str, role: str = "ceo"
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "INSERT INTO users (tenant_id, email, role) VALUES ($1, $2, $3) RETURNING id, status, omega_prime",
        tenant,
        email,
        role,
    )
    assert row is not None
    return row


@pytest.mark.parametrize(
    "leave",
    [
        "UPDATE users SET status = 'suspended' WHERE tenant_id = 1 AND id = $1",
        "UPDATE users SET role = 'professional' WHERE tenant_id = 1 AND id = $1",
        "DELETE FROM users WHERE tenant_id = 1 AND id = $1",
    ],
    ids=["suspended", "no longer ceo", "removed"],
)
async def test_the_next_ceo_is_activated_when_the_first_leaves(
    crm: asyncpg.Connection, leave: str
) -> None:
    first = await register(crm, 1, "a@x")
    assert (first["status"], first["omega_prime"]) == ("active", True)
    await crm.execute(leave, first["id"])
    marked = await crm.fetch("SELECT id FROM users WHERE omega_prime")
    assert marked == []  # the mark left with the first CEO
    nxt = await register(crm, 1, "b@x")
    assert (nxt["status"], nxt["omega_prime"]) == ("active", True)
    active = await crm.fetch(
        "SELECT email FROM users WHERE tenant_id = 1 AND role = 'ceo' AND status = 'active'"
    )
    assert [r["email"] for r in active] == ["b@x"]


async def test_only_an_active_ceo_carries_the_omega_prime_mark(crm: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match="users_omega_prime_is_active_ceo"):
        await crm.execute(
            "INSERT INTO users (tenant_id, email, role, omega_prime) VALUES (1, 's@x', 'secretary', true)"
        )
    staff = await register(crm, 1, "s@x", role="secretary")
    assert staff["omega_prime"] is False
    with pytest.raises(asyncpg.CheckViolationError, match="users_omega_prime_is_active_ceo"):
        await crm.execute("UPDATE users SET omega_prime = true WHERE id = $1", staff["id"])
    assert await crm.fetchval("SELECT count(*) FROM users WHERE omega_prime") == 0


async def test_a_registration_racing_the_first_ceo_s_suspension(
    crm: asyncpg.Connection, crm_dsn: str
) -> None:
    first = await register(crm, 1, "a@x")
    suspending, registering = await asyncpg.connect(crm_dsn), await asyncpg.connect(crm_dsn)
    try:
        suspend_tx = suspending.transaction()
        await suspend_tx.start()
        await suspending.execute(
            "UPDATE users SET status = 'suspended' WHERE tenant_id = 1 AND id = $1", first["id"]
        )
        registration = asyncio.create_task(register(registering, 1, "b@x"))
        await asyncio.sleep(0.3)
        assert not registration.done()  # serialised on the clinic's row
        await suspend_tx.commit()
        second = await asyncio.wait_for(registration, timeout=10)
    finally:
        await suspending.close()
        await registering.close()
    assert (second["status"], second["omega_prime"]) == ("active", True)
    rows = await crm.fetch(
        "SELECT email, status, omega_prime FROM users WHERE tenant_id = 1 ORDER BY email"
    )
    assert [tuple(r) for r in rows] == [("a@x", "suspended", False), ("b@x", "active", True)]


# ---------------------------------------------------------------- unique keys across requests (0047, 0048)


async def test_a_whatsapp_message_is_stored_once_per_clinic(
    crm: asyncpg.Connection, crm_dsn: str
) -> None:
    insert = "INSERT INTO chat_messages (tenant_id, direction, body, external_id) VALUES ($1, 'inbound', 'hola', $2)"
    await crm.execute(insert, 1, "wamid.A")
    with pytest.raises(asyncpg.UniqueViolationError, match="chat_messages_tenant_external_key"):
        await crm.execute(insert, 1, "wamid.A")
    await crm.execute(insert, 2, "wamid.A")  # the same id in another clinic is another message
    for _ in range(2):
        await crm.execute(insert, 1, None)  # outbound messages carry no external id
    # two deliveries of one webhook at once: one row, whoever wins
    a, b = await asyncpg.connect(crm_dsn), await asyncpg.connect(crm_dsn)
    try:
        upsert = insert + " ON CONFLICT (tenant_id, external_id) DO NOTHING"
        results = await asyncio.gather(
            a.execute(upsert, 1, "wamid.B"), b.execute(upsert, 1, "wamid.B")
        )
    finally:
        await a.close()
        await b.close()
    assert sorted(results) == ["INSERT 0 0", "INSERT 0 1"]
    counts = await crm.fetch(
        "SELECT tenant_id, external_id, count(*) FROM chat_messages GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert [tuple(r) for r in counts] == [
        (1, "wamid.A", 1),
        (1, "wamid.B", 1),
        (1, None, 2),
        (2, "wamid.A", 1),
    ]


async def test_a_facebook_page_routes_to_one_clinic(crm: asyncpg.Connection) -> None:
    insert = "INSERT INTO integration_tokens (tenant_id, provider, access_token, page_id) VALUES ($1, $2, 't', $3)"
    await crm.execute(insert, 1, "meta", "page-1")
    with pytest.raises(asyncpg.UniqueViolationError, match="integration_tokens_provider_page_key"):
        await crm.execute(insert, 2, "meta", "page-1")
    await crm.execute(insert, 2, "google", "page-1")  # another provider's page ids are its own
    await crm.execute(insert, 2, "meta", None)
    await crm.execute(insert, 1, "whatsapp", None)
    route = "SELECT array_agg(tenant_id) FROM integration_tokens WHERE provider = 'meta' AND page_id = $1"
    assert await crm.fetchval(route, "page-1") == [1]
