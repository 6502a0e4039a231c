"""Round 36 (helper h36U): `patches status`'s OTHER index line (h36E) against later patches that
change the index's columns without naming the index: a false alarm blocks a deploy whose CI runs
status. On a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_h36E_status import _status
from tests.pipeline.test_pipeline_faults import fetchval, write

_TABLES = (
    "CREATE TABLE t (tenant_id bigint NOT NULL, x int, y text);\nCREATE TABLE other (x int);\n"
)


@pytest.mark.parametrize(
    "later",
    [
        "ALTER TABLE t RENAME COLUMN x TO z;",
        "ALTER TABLE public.t RENAME x TO z;",
        "DO $$BEGIN EXECUTE 'ALTER TABLE t RENAME COLUMN x TO z'; END$$;",
    ],
    ids=["rename_column", "rename_qualified", "do_block"],
)
async def test_a_later_rename_of_the_index_s_column_is_not_another_index(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], later: str
) -> None:
    """0002 'CREATE INDEX IF NOT EXISTS t_i ON t (tenant_id, x, y)', 0003 renames x to z: the
    catalog's index is on (tenant_id, z, y), which is the patch's index. Before: 'OTHER … made by
    hand before the patch … DROP it and build it as the patch says', exit 1. Now exit 0."""
    write(tmp_path, "0001_t.sql", _TABLES)
    write(tmp_path, "0002_i.sql", "CREATE INDEX IF NOT EXISTS t_i ON t (tenant_id, x, y);\n")
    write(tmp_path, "0003_l.sql", later + "\n")
    run = await apply_patches(database, tmp_path)
    assert len(run.applied) == 3
    assert await fetchval(
        database, "SELECT pg_get_indexdef('t_i'::regclass) LIKE '%(tenant_id, z, y)'"
    )
    code, out = await _status(database, tmp_path, capsys)
    assert code == 0, out
    assert "OTHER" not in out


async def test_a_hand_made_index_stays_other_after_a_rename_elsewhere(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin: t_i made by hand on (x) before the patch's IF NOT EXISTS, and a later patch
    renaming a column of another table: still OTHER, exit 1."""
    write(tmp_path, "0001_t.sql", _TABLES)
    await apply_patches(database, tmp_path)
    await fetchval(database, "CREATE INDEX t_i ON t (x)")
    write(tmp_path, "0002_i.sql", "CREATE INDEX IF NOT EXISTS t_i ON t (tenant_id, x, y);\n")
    write(tmp_path, "0003_l.sql", "ALTER TABLE other RENAME COLUMN x TO z;\n")
    await apply_patches(database, tmp_path)
    code, out = await _status(database, tmp_path, capsys)
    assert code == 1, out
    assert "OTHER" in out and "t_i" in out
