"""Session 41 (helper h41C): the warning of tables holding the tenant column that the policy
does not list (`Guard.unlisted_tables_found`, h38V) is said once per process for the same
column and tables, not at every guard's connect (a guard made per connection); other tables
found are said. The tables stay checked on every guard: clinic 1's unpinned read is refused on
each connect, its pinned read returns its rows.
"""

from __future__ import annotations

import logging

import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, tenant
from tests.runtime.test_h36C_attacks import _raw

UNLISTED = "unlisted_tables"


async def _connect_and_read(dsn: str) -> tuple[object, list[str]]:
    conn = await connect(dsn, policy=Policy("tenant_id", {"patients"}))
    try:
        with tenant(1):
            try:
                everyone: object = await conn.fetch("SELECT amount FROM invoices")
            except TenantIsolationError:
                everyone = "(refused)"
            rows = await conn.fetch(
                "SELECT amount FROM invoices WHERE tenant_id = $1 ORDER BY 1", 1
            )
    finally:
        await conn.close()
    return everyone, [r["amount"] for r in rows]


async def test_the_unlisted_tables_warning_is_said_once_per_process(
    two_clinics: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tenantguard")
    await _raw(
        two_clinics,
        "CREATE TABLE invoices (id bigint PRIMARY KEY, tenant_id bigint, amount text);"
        " INSERT INTO invoices VALUES (1, 1, 'a1'), (2, 2, 'b2');",
    )

    def said() -> list[list[str]]:
        return [
            r.tenantguard["tables"]  # type: ignore[attr-defined]
            for r in caplog.records
            if getattr(r, "tenantguard", {}).get("event") == UNLISTED
        ]

    for _ in range(3):  # a guard of its own each time
        assert await _connect_and_read(two_clinics) == ("(refused)", ["a1"])
    assert len(said()) == 1 and "invoices" in said()[0], said()
    await _raw(two_clinics, "CREATE TABLE refunds (id bigint, tenant_id bigint);")
    assert await _connect_and_read(two_clinics) == ("(refused)", ["a1"])
    assert len(said()) == 2 and "refunds" in said()[1], said()
