"""Round 36 (helper h36U): an outsider's attacks on the runner's read back of its lock_timeout
(h36E: the value 'the patch's own statements left' is taken from any statement whose TEXT names
lock_timeout). On a real PostgreSQL: the setting a later statement of the patch runs under."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import fetchval, write

_SEEN = "CREATE TABLE IF NOT EXISTS public.seen AS SELECT current_setting('lock_timeout') AS v;\n"
_TRIGGER = (
    "CREATE TABLE t (id int, note text);\n"
    "CREATE FUNCTION t_set() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN "
    "PERFORM set_config('lock_timeout', '0', false); RETURN NEW; END $f$;\n"
    "CREATE TRIGGER t_set BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_set();\n"
)


@pytest.mark.parametrize(
    "insert",
    [
        "INSERT INTO t VALUES (1, 'raised lock_timeout for the backfill');",
        "INSERT INTO t /* lock_timeout: the runner's */ VALUES (1);",
        "INSERT INTO t VALUES (1) -- lock_timeout: the runner's\n;",
        "INSERT INTO t SELECT 1 WHERE current_setting('lock_timeout') IS NOT NULL;",
        "DO $$BEGIN -- keeps the runner's lock_timeout\n INSERT INTO t VALUES (1); END$$;",
    ],
    ids=["literal", "block_comment", "line_comment", "read_only", "do_comment"],
)
async def test_a_statement_that_only_mentions_lock_timeout_does_not_own_the_trigger_s_zero(
    database: str, tmp_path: Path, insert: str
) -> None:
    """A BEFORE INSERT trigger's set_config('lock_timeout', '0', false), fired by an INSERT whose
    text says 'lock_timeout' in a string, a comment or a read of current_setting: before, the
    runner took the '0' the trigger left for the patch's own (its text named lock_timeout) and
    the rest of the patch ran with none — seen '0', its DDL free to wait behind the application
    without end. Now only a SET / RESET / set_config of lock_timeout is the patch's own: '300ms'."""
    write(tmp_path, "0001_t.sql", _TRIGGER)
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_insert.sql", insert + "\n" + _SEEN)
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 1
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"


@pytest.mark.parametrize(
    ("own", "seen"),
    [
        ("SET lock_timeout = '2s';", "2s"),
        ("SET LOCAL lock_timeout TO '2s';", "2s"),
        ("SELECT set_config('lock_timeout', '2s', false);", "2s"),
        ("SELECT pg_catalog.set_config('lock_timeout', '2s', true);", "2s"),
        ("SET lock_timeout = 0;", "0"),
        ("DO $$BEGIN PERFORM set_config('lock_timeout', '2s', false); END$$;", "2s"),
        ("DO $$BEGIN EXECUTE 'SET lock_timeout = ''2s'''; END$$;", "2s"),
        ("DO $$BEGIN SET LOCAL lock_timeout = '2s'; END$$;", "2s"),
        ("RESET lock_timeout;", "300ms"),
        ("SET lock_timeout TO DEFAULT;", "300ms"),
    ],
    ids=[
        "set",
        "set_local",
        "set_config",
        "set_config_local",
        "zero",
        "do_set_config",
        "do_execute",
        "do_set",
        "reset",
        "default",
    ],
)
async def test_the_patch_s_own_lock_timeout_is_kept(
    database: str, tmp_path: Path, own: str, seen: str
) -> None:
    """The twins: the patch's own SET / set_config (even '0') is kept across the trigger's."""
    write(tmp_path, "0001_t.sql", _TRIGGER)
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_insert.sql", f"{own}\nINSERT INTO t VALUES (1);\n{_SEEN}")
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 1
    assert await fetchval(database, "SELECT v FROM seen") == seen
