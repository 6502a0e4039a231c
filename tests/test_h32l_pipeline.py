"""Round 32: the patch pipeline (helper h32l), on a real server. Each test names what the
database was left as, or what the user saw, before the fix.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from tenantguard.patches.runner import apply_patches
from tests.test_pipeline_faults import cli, ledger_names, write

_C = "CREATE TABLE IF NOT EXISTS c (id int);\n"


async def test_an_older_version_does_not_rename_back_the_ledger_of_a_newer_one(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The new version renames 0003_c.sql to 0004_c.sql (same contents). Run old, new, old
    (a rolling deploy): the old one renamed the ledger row back to 0003_c.sql, exit 0 and no
    word that the database is newer, and every start of the other version renamed it again.
    The old version leaves the ledger alone and warns, naming the newer patch; `status` says
    so too (exit 1, as for an applied patch whose file is gone); `--rebaseline` records a
    renumbering down that was meant."""
    old, new = tmp_path / "old", tmp_path / "new"
    for directory, third in ((old, "0003_c.sql"), (new, "0004_c.sql")):
        write(directory, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
        write(directory, "0002_b.sql", "CREATE TABLE IF NOT EXISTS b (id int);\n")
        write(directory, third, _C)
    await apply_patches(database, old)
    await apply_patches(database, new)
    assert await ledger_names(database) == ["0001_a.sql", "0002_b.sql", "0004_c.sql"]
    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            run = await apply_patches(database, old)
        assert run.renamed == [] and run.applied == []
        assert await ledger_names(database) == ["0001_a.sql", "0002_b.sql", "0004_c.sql"]
        said = caplog.text
        assert "0004_c.sql" in said and "0003_c.sql" in said and "newer" in said
        run = await apply_patches(database, new)
        assert run.renamed == [] and run.applied == []
    assert await cli("patches", "status", "--dsn", database, "--dir", str(old)) == 1
    assert await cli("patches", "status", "--dsn", database, "--dir", str(new)) == 0
    # a renumbering down that was meant: --rebaseline records it
    run = await apply_patches(database, old, rebaseline=["0003_c.sql"])
    assert run.renamed == [("0004_c.sql", "0003_c.sql")]
    assert await ledger_names(database) == ["0001_a.sql", "0002_b.sql", "0003_c.sql"]


async def test_a_rename_up_and_a_rename_among_later_patches_are_recorded(
    database: str, tmp_path: Path
) -> None:
    """Safe twins: renumbering up (0003 -> 0004) and renumbering down while the directory
    still reaches the ledger's highest patch are renames the ledger records."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    write(tmp_path, "0003_c.sql", _C)
    write(tmp_path, "0005_e.sql", "CREATE TABLE IF NOT EXISTS e (id int);\n")
    await apply_patches(database, tmp_path)
    shutil.move(tmp_path / "0003_c.sql", tmp_path / "0004_c.sql")
    run = await apply_patches(database, tmp_path)
    assert run.renamed == [("0003_c.sql", "0004_c.sql")]
    shutil.move(tmp_path / "0004_c.sql", tmp_path / "0002_c.sql")
    run = await apply_patches(database, tmp_path)
    assert run.renamed == [("0004_c.sql", "0002_c.sql")]
    assert await ledger_names(database) == ["0001_a.sql", "0002_c.sql", "0005_e.sql"]
