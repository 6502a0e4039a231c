"""Round 35 (helper h35E): the runner's own queries inside a patch's transaction under a
database's `statement_timeout = '1ms'`. A patch keeps the database's timeout for its own
statements (`RESET statement_timeout` before them); the runner's checks between and after
them ran under it too — its read of the session after a patch's `RESET ALL` (pg_settings, more
than a millisecond), its search-path checks, and its own `SET statement_timeout = 0` after the
patch. Before: 'patch … failed: QueryCanceledError: canceling statement due to statement
timeout … in: recording it in the ledger' (or at the patch's line, though the patch's own
statement had finished), exit 1. Now the runner's statement after the patch is its SET alone,
outside a transaction retried, and inside one a cancelled runner query rolls the patch back
and runs it again."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.pipeline.test_pipeline_faults import cli, ledger_names, write


async def _one_ms(database: str, on: bool) -> None:
    admin = await asyncpg.connect(database, server_settings={"statement_timeout": "0"})
    try:
        name = await admin.fetchval("SELECT current_database()")
        value = "SET statement_timeout = '1ms'" if on else "RESET statement_timeout"
        await admin.execute(f"ALTER DATABASE {name} {value}")
    finally:
        await admin.close()


@pytest.mark.parametrize("rounds", [3])
async def test_the_runner_s_own_queries_in_a_patch_are_not_cancelled_by_a_1ms_database_timeout(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], rounds: int
) -> None:
    names = []
    for i in range(1, 13):
        # patches whose own statements fit in 1 ms, and that make the runner look at the
        # session between them: a RESET ALL, a set_config, a search path moved (pg_temp last)
        text = [
            f"SELECT {i};\n",
            f"RESET ALL;\nSELECT {i};\n",
            f"SELECT set_config('application_name', 'p{i}', true);\nSELECT {i};\n",
            f"SET LOCAL search_path = public, pg_temp;\nSELECT {i};\n",
        ][i % 4]
        names.append(write(tmp_path / f"r{rounds}", f"{i:04d}_p.sql", text).name)
    await _one_ms(database, True)
    try:
        capsys.readouterr()
        code = await cli("patches", "apply", "--dsn", database, "--dir", str(tmp_path / "r3"))
        err = capsys.readouterr().err
        assert code == 0, err
        assert "QueryCanceledError" not in err
    finally:
        await _one_ms(database, False)
    assert await ledger_names(database) == names
