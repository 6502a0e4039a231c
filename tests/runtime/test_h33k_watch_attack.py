"""h33k: attacks on the catalog watch (schema_code.CATALOG_WATCH).

A migration that turns the watch's event trigger off, makes its DDL and turns it back on in
one transaction: ALTER EVENT TRIGGER runs no event trigger, the DDL in between moved no count,
and at commit both triggers fire again — the check (count unchanged, both triggers enabled)
passed, and the next lease's write ran the new trigger, moving every workspace's count. The
mark now holds the event triggers' row versions (xmin) with the count: an ALTER EVENT TRIGGER
rewrites the row, so the mark moves with it.
"""

from __future__ import annotations

import logging

import pytest

from tenantguard.runtime import create_pool
from tenantguard.runtime.schema_code import CATALOG_WATCH
from tests.runtime.test_h32d_open_items import POLICY as WORKSPACES
from tests.runtime.test_h32d_open_items import SCHEMA as WORKSPACE_SCHEMA
from tests.runtime.test_h32h_attack import BUMPS, _owner_runs
from tests.runtime.test_h33d_catalog_watch import UNTOUCHED, _lease, _pool

OFF_AND_ON = {
    "in one transaction": "BEGIN; ALTER EVENT TRIGGER tenantguard_catalog_end DISABLE; {ddl};"
    " ALTER EVENT TRIGGER tenantguard_catalog_end ENABLE ALWAYS; COMMIT",
    "replica mode, in one transaction": "BEGIN;"
    " ALTER EVENT TRIGGER tenantguard_catalog_end ENABLE REPLICA; {ddl};"
    " ALTER EVENT TRIGGER tenantguard_catalog_end ENABLE ALWAYS; COMMIT",
    "dropped and made again": "BEGIN; DROP EVENT TRIGGER tenantguard_catalog_end; {ddl};"
    " CREATE EVENT TRIGGER tenantguard_catalog_end ON ddl_command_end"
    " EXECUTE FUNCTION tenantguard.catalog_changed();"
    " ALTER EVENT TRIGGER tenantguard_catalog_end ENABLE ALWAYS; COMMIT",
}


@pytest.mark.parametrize("setting", [False, True], ids=["no setting", "tenant setting"])
@pytest.mark.parametrize("shape", sorted(OFF_AND_ON))
async def test_a_watch_turned_off_around_the_migration_is_seen(
    database: str, shape: str, setting: bool
) -> None:
    pool = await _pool(database, setting=setting)
    try:
        assert await _lease(pool) == UNTOUCHED
        await _owner_runs(database, OFF_AND_ON[shape].format(ddl=BUMPS["a BEFORE trigger"]))
        assert await _lease(pool) == "refused"  # ran: [(1, 1), (2, 1)]
    finally:
        await pool.close()  # type: ignore[attr-defined]


async def test_the_watch_turned_off_and_on_alone_is_seen_and_judged_again(database: str) -> None:
    """The twin: no DDL in between — the lease reads the catalog again and runs (no trigger)."""
    pool = await _pool(database)
    try:
        assert await _lease(pool) == UNTOUCHED
        await _owner_runs(database, OFF_AND_ON["in one transaction"].format(ddl="SELECT 1"))
        assert await _lease(pool) == UNTOUCHED
        assert await _lease(pool) == UNTOUCHED
    finally:
        await pool.close()  # type: ignore[attr-defined]


# A dump restored without the watch's event triggers (pg_dump by a non-superuser, or restored by
# one: CREATE EVENT TRIGGER needs a superuser): the table and function are there, no trigger.
RESTORED_WITHOUT_TRIGGERS = (
    "DROP EVENT TRIGGER tenantguard_catalog_end; DROP EVENT TRIGGER tenantguard_catalog_drop"
)


@pytest.mark.parametrize("broken", [True, False], ids=["no event triggers", "watch whole"])
async def test_a_watch_without_its_event_triggers_is_said(
    database: str, broken: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: silent — no connection checks a mark, and a migration is not seen (the rows
    show workspace 2's count moved). Now a warning names the broken watch; the twin, a whole
    watch, says nothing and refuses."""
    await _owner_runs(database, WORKSPACE_SCHEMA + ";" + CATALOG_WATCH)
    if broken:
        await _owner_runs(database, RESTORED_WITHOUT_TRIGGERS)
    with caplog.at_level(logging.WARNING, logger="tenantguard"):
        pool = await create_pool(database, policy=WORKSPACES, min_size=1, max_size=1)
    try:
        said = [r for r in caplog.records if "catalog watch's table" in r.getMessage()]
        assert len(said) == (1 if broken else 0)
        assert await _lease(pool) == UNTOUCHED
        await _owner_runs(database, BUMPS["a BEFORE trigger"])
        assert await _lease(pool) == ([(1, 1), (2, 1)] if broken else "refused")
    finally:
        await pool.close()  # type: ignore[attr-defined]
