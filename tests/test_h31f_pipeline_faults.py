"""Round 31: the patch pipeline under fault injection (helper h31f), on a real server. Each test
names what the database was left as before the fix.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.patches.locking import LOCK_KEY
from tenantguard.patches.runner import apply_patches
from tests.test_pipeline_faults import write

_PIPELINE_LOCK_HELD = """
SELECT coalesce(string_agg(mode, ', ' ORDER BY mode), '') FROM pg_locks
WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 1
  AND classid::bigint = $1 AND objid::bigint = $2
"""


@pytest.mark.parametrize(
    "takes",
    [
        f"SELECT pg_advisory_lock({LOCK_KEY});\n",  # once more: released once by the runner
        f"SELECT pg_advisory_lock_shared({LOCK_KEY});\n",
        f"SELECT pg_advisory_lock({LOCK_KEY});\nSELECT pg_advisory_lock_shared({LOCK_KEY});\n",
    ],
)
async def test_a_patch_that_takes_the_pipeline_lock_does_not_leave_it_on_the_callers_connection(
    database: str, tmp_path: Path, takes: str
) -> None:
    """The runner released what a patch left of other advisory locks but skipped its own key:
    a patch taking the pipeline's lock once more (or shared) left it held by the application's
    connection after `apply_patches(conn)`, and every other replica's runner waited for it as
    long as that connection lived."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n" + takes)
    write(tmp_path, "0002_b.sql", "CREATE TABLE IF NOT EXISTS b (id int);\n")
    conn = await asyncpg.connect(database)
    other = await asyncpg.connect(database)
    try:
        run = await apply_patches(conn, tmp_path)
        assert run.applied == ["0001_a.sql", "0002_b.sql"]
        held = await conn.fetchval(_PIPELINE_LOCK_HELD, LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF)
        assert held == ""
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
        await other.execute("SELECT pg_advisory_unlock_all()")
        # a lock the caller held before the run is the caller's: it keeps it
        await conn.execute(f"SELECT pg_advisory_lock({LOCK_KEY})")
        write(tmp_path, "0003_c.sql", "CREATE TABLE IF NOT EXISTS c (id int);\n" + takes)
        await apply_patches(conn, tmp_path)
        held = await conn.fetchval(_PIPELINE_LOCK_HELD, LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF)
        assert held == "ExclusiveLock"
    finally:
        await other.close()
        await conn.close()
