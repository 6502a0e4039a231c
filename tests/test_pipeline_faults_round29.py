"""Round 29: the patch pipeline under fault injection by an outsider (helper h29d), on a real
server. Each test names what happened on the server before the fix.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tests.test_pipeline_faults import fetchval, ledger_names, write

_EVERY_TABLE = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
        {action}
    END LOOP;
END $$;
"""


@pytest.mark.parametrize(
    ("action", "changed"),
    [
        # "start the demo data over": the ledger emptied with the rest
        ("EXECUTE format('TRUNCATE %I', r.tablename);", "its rows"),
        ("EXECUTE format('DELETE FROM %I', r.tablename);", "its rows"),
        # row-level security forced on every table: invisible to a role that does not bypass it
        (
            "EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', r.tablename); "
            "EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', r.tablename);",
            "its definition",
        ),
        (
            "EXECUTE format('ALTER TABLE %I ADD COLUMN IF NOT EXISTS tenant_id bigint', "
            "r.tablename);",
            "its definition",
        ),
    ],
)
async def test_a_patch_that_changes_the_ledger_is_rolled_back(
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    action: str,
    changed: str,
) -> None:
    """1. A patch acting on every table of its schema (a loop over pg_tables) reaches the ledger
    too. `TRUNCATE` of every table ('start the demo data over'): apply said '2 applied' (exit
    0) and the ledger held the second patch only; the next run called the first 'numbered below
    an applied patch' and offered --allow-out-of-order — which runs it again. Forced row-level
    security: a superuser runner saw nothing wrong, and a role that does not bypass it reads an
    empty ledger (every patch pending again)."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n")
    await apply_patches(database, tmp_path)
    await fetchval(database, "INSERT INTO t VALUES (1)")
    write(tmp_path, "0002_every_table.sql", _EVERY_TABLE.format(action=action))
    with pytest.raises(PatchError) as refused:
        await apply_patches(database, tmp_path)
    said = str(refused.value)
    assert "0002_every_table.sql" in said and "tenantguard_patches" in said
    assert changed in said and "rolled back" in said
    assert "tablename <> 'tenantguard_patches'" in said
    # rolled back: nothing of the patch, the ledger as it was
    assert await ledger_names(database) == ["0001_t.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 1
    assert (
        await fetchval(
            database,
            "SELECT relrowsecurity FROM pg_class WHERE oid = 'tenantguard_patches'::regclass",
        )
        is False
    )
    code = await asyncio.to_thread(
        main, ["patches", "apply", "--dsn", database, "--dir", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "0002_every_table.sql" in err
    # the loop that leaves the ledger out applies
    write(
        tmp_path,
        "0002_every_table.sql",
        _EVERY_TABLE.format(action=action).replace(
            "current_schema()", "current_schema() AND tablename <> 'tenantguard_patches'"
        ),
    )
    assert (await apply_patches(database, tmp_path)).applied == ["0002_every_table.sql"]
    assert await ledger_names(database) == ["0001_t.sql", "0002_every_table.sql"]


async def test_a_patch_that_reads_the_ledger_applies(database: str, tmp_path: Path) -> None:
    """1b. Reading the ledger (a patch that raises a NOTICE about what ran before) is no change."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n")
    write(
        tmp_path,
        "0002_read.sql",
        "DO $$ BEGIN RAISE NOTICE '% applied', (SELECT count(*) FROM tenantguard_patches); "
        "END $$;\n",
    )
    assert (await apply_patches(database, tmp_path)).applied == ["0001_t.sql", "0002_read.sql"]

