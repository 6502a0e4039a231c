"""A small asyncpg service over the Dentalogic tables (example for tenantguard).

Most queries are pinned to the request's clinic; a few are not, on purpose: run
`tenantguard check examples/` to see them.
"""

from __future__ import annotations

from typing import Any

import asyncpg

PATIENT_COLUMNS = "id, first_name, last_name, phone_number, status"

GET_PATIENT = """
    SELECT id, first_name, last_name, phone_number, status
    FROM patients
    WHERE tenant_id = $1 AND id = $2
"""


async def get_patient(conn: asyncpg.Connection, tenant_id: int, patient_id: int) -> Any:
    return await conn.fetchrow(GET_PATIENT, tenant_id, patient_id)


async def find_by_phone(conn: asyncpg.Connection, phone: str) -> Any:
    # LEAK: no tenant filter, a phone number is found in every clinic.
    return await conn.fetchrow("SELECT id, first_name FROM patients WHERE phone_number = $1", phone)


async def book(
    pool: asyncpg.Pool, tenant_id: int, patient_id: int, professional_id: int, starts_at: Any
) -> None:
    async with pool.acquire() as db, db.transaction():
        await db.execute(
            "INSERT INTO appointments (tenant_id, patient_id, professional_id, starts_at) "
            "VALUES ($1, $2, $3, $4)",
            tenant_id,
            patient_id,
            professional_id,
            starts_at,
        )
        await db.execute(
            "UPDATE patients SET status = 'active' WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            patient_id,
        )


async def save_message(conn: asyncpg.Connection, patient_id: int, body: str) -> None:
    # LEAK: the message is written without its clinic.
    await conn.execute(
        "INSERT INTO chat_messages (patient_id, direction, body) VALUES ($1, 'inbound', $2)",
        patient_id,
        body,
    )


async def search(conn: asyncpg.Connection, tenant_id: int, column: str, value: str) -> Any:
    # Built at run time: tenantguard cannot prove it and says so.
    return await conn.fetch(
        f"SELECT {PATIENT_COLUMNS} FROM patients WHERE tenant_id = $1 AND {column} = $2",
        tenant_id,
        value,
    )


UPSERT_LEAD = """
    INSERT INTO leads (tenant_id, external_id, name, phone_number, source)
    VALUES ($1, $2, $3, $4, 'whatsapp_inbound')
    ON CONFLICT (tenant_id, external_id) DO UPDATE
    SET name = EXCLUDED.name, phone_number = EXCLUDED.phone_number
    RETURNING id
"""


async def upsert_lead(conn: asyncpg.Connection, tenant_id: int, event: dict[str, str]) -> Any:
    return await conn.fetchval(
        UPSERT_LEAD, tenant_id, event["id"], event.get("name"), event.get("phone")
    )
