"""Round 37 (helper h37V): the catalog watch's notification (h37R), attacked from outside, on a
real server. Each test asserts the rows clinic 1's statements read or wrote.

- An outdated watch (installed before h37R: its event triggers count DDL but notify nothing)
  was a silent pass: a connection of `connect()` heard nothing of another session's DDL and
  said nothing of it. The guard now says so once (`catalog_watch_outdated`, naming
  `schema_code.CATALOG_WATCH`); the pool's check at each lease still holds.
- The channel is anyone's: any role may `NOTIFY tenantguard_catalog` (no privilege), and each
  notification made the listening connections read the whole catalog (20-40 ms) before their
  next call. A notification now makes the next call read the watch's mark (one round trip),
  and the catalog only if the mark moved (which only the watch's own DDL count moves).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant
from tenantguard.runtime.connection import GuardedConnection
from tenantguard.runtime.schema_code import CATALOG_WATCH, WATCH_CHANNEL
from tests.runtime.test_h36C_attacks import _raw
from tests.runtime.test_h37R_catalog_after import _TOLD, NAMES, SHAPES, _leaked
from tests.runtime.test_runtime import POLICY

# the watch as installed before h37R: it counts DDL, and notifies nothing
_NOTIFY_LINE = f"  PERFORM pg_catalog.pg_notify('{WATCH_CHANNEL}', '');\n"
assert _NOTIFY_LINE in CATALOG_WATCH
OLD_WATCH = CATALOG_WATCH.replace(_NOTIFY_LINE, "")
VIEW = "CREATE VIEW pv AS SELECT tenant_id, first_name FROM patients;"
REPLACED = SHAPES["view replaced"][2]
READ = NAMES.format(rel="pv")
# a role with no privilege (roles are the cluster's: made once)
INTRUDER = " DO $$ BEGIN CREATE ROLE intruder_v; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"


def _outdated(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if getattr(r, "tenantguard", {}).get("event") == "catalog_watch_outdated"
    ]


async def _names(conn: Any) -> list[Any]:
    with tenant(1), contextlib.suppress(TenantIsolationError):
        return [r[0] for r in await conn.fetch(READ, 1)]
    return []


@pytest.mark.parametrize("watch", ["outdated", "current"])
async def test_an_outdated_watch_is_said(
    two_clinics: str, watch: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The outdated watch: one warning naming CATALOG_WATCH, however many connections read the
    catalog; a pool's lease after another session's DDL still reads clinic 1's rows (the
    count checked at the lease). The current watch: no warning."""
    await _raw(two_clinics, (OLD_WATCH if watch == "outdated" else CATALOG_WATCH) + VIEW)
    caplog.set_level(logging.WARNING, logger="tenantguard")
    pool = await create_pool(two_clinics, policy=POLICY, min_size=2, max_size=2)
    try:
        async with pool.acquire() as conn:
            first = await _names(conn)
        await _raw(two_clinics, REPLACED)
        await asyncio.sleep(_TOLD)
        async with pool.acquire() as conn:
            second = await _names(conn)
    finally:
        await pool.close()
    assert first == ["Ana", "Bruno"]
    assert not _leaked(second), second
    said = _outdated(caplog)
    if watch == "current":
        assert said == []
    else:
        assert len(said) == 1, said
        assert "CATALOG_WATCH" in said[0].getMessage()


async def test_the_outdated_watch_is_said_on_connect(
    two_clinics: str, caplog: pytest.LogCaptureFixture
) -> None:
    await _raw(two_clinics, OLD_WATCH + VIEW)
    caplog.set_level(logging.WARNING, logger="tenantguard")
    conn = await connect(two_clinics, policy=POLICY)
    try:
        rows = await _names(conn)
    finally:
        await conn.close()
    assert rows == ["Ana", "Bruno"]
    assert len(_outdated(caplog)) == 1


@pytest.fixture
def catalog_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a guarded connection read the catalog (a spy: the read itself runs)."""
    reads: list[int] = []
    read = GuardedConnection._tg_read_schema_code

    async def counted(self: GuardedConnection) -> None:
        reads.append(1)
        await read(self)

    monkeypatch.setattr(GuardedConnection, "_tg_read_schema_code", counted)
    return reads


@pytest.mark.parametrize("how", ["connect", "one lease"])
async def test_forged_notifications_read_no_catalog(
    two_clinics: str, catalog_reads: list[int], how: str
) -> None:
    """An unprivileged role NOTIFYs the watch's channel (with a payload, and without) before
    each of clinic 1's 20 statements: each one made the connection read the whole catalog
    again (20 reads, 20-40 ms each). Now the mark is read, unmoved: no catalog read; clinic
    1's rows. Then a real DDL (the view replaced) is still heard: refused, no Carla."""
    await _raw(two_clinics, CATALOG_WATCH + VIEW + INTRUDER)
    if how == "connect":
        conn: Any = await connect(two_clinics, policy=POLICY)
        pool = None
    else:
        pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
        conn = await pool.acquire()
    try:
        assert await _names(conn) == ["Ana", "Bruno"]
        before = len(catalog_reads)
        rows = []
        for number in range(20):
            payload = f", '{number}'" if number % 2 else ""
            await _raw(
                two_clinics, f"SET ROLE intruder_v; NOTIFY {WATCH_CHANNEL}{payload}; RESET ROLE;"
            )
            await asyncio.sleep(0.01)
            rows.append(await _names(conn))
        forged = len(catalog_reads) - before
        await _raw(two_clinics, REPLACED)
        await asyncio.sleep(_TOLD)
        after = await _names(conn)
    finally:
        if pool is not None:
            await pool.release(conn)
            await pool.close()
        else:
            await conn.close()
    assert rows == [["Ana", "Bruno"]] * 20
    assert forged == 0, forged  # was 20
    assert not _leaked(after), after
