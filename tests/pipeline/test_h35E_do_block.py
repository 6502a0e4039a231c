"""Round 35 (helper h35E): what a DO block does to the runner's session inside itself, where the
runner's checks between statements cannot see it.

1. A DO block that puts pg_temp first and creates objects in the same block: caught only at the
   end of the patch (the message named the file, no line), after the statements below it ran.
2. A DO block whose `RESET ALL` (or `EXECUTE 'RESET ALL'`, `RESET lock_timeout`) comes before its
   DDL: the DDL ran with the database's lock_timeout (0), not the runner's, and waited behind
   the application's open transaction without end (the patch lock held, the application's
   queries on the table queued behind it) — in a no-transaction patch too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import cli, fetchval, ledger_names, write

_FIRST = "CREATE TABLE IF NOT EXISTS accounts (id int);\n"


@pytest.mark.parametrize(
    "block",
    [
        "DO $$ BEGIN SET LOCAL search_path = pg_temp, public; "
        "CREATE TABLE IF NOT EXISTS ledger2 (id int); SET LOCAL search_path = public; END $$;",
        "DO $$ BEGIN PERFORM set_config('search_path', 'pg_temp, public', true); "
        "CREATE OR REPLACE VIEW ledger2 AS SELECT 1 AS id; END $$;",
    ],
)
async def test_a_do_block_that_creates_in_pg_temp_is_named_at_its_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], block: str
) -> None:
    write(tmp_path, "0001_first.sql", _FIRST)
    write(
        tmp_path,
        "0002_x.sql",
        f"-- the scratch step\n{block}\nINSERT INTO accounts VALUES (1);\n",
    )
    with pytest.raises(PatchError, match=r"0002_x\.sql:2:1: .*pg_temp") as raised:
        await apply_patches(database, tmp_path)
    assert raised.value.applied == ["0001_first.sql"]
    assert await ledger_names(database) == ["0001_first.sql"]
    assert await fetchval(database, "SELECT count(*) FROM accounts") == 0
    assert await fetchval(database, "SELECT count(*) FROM pg_class WHERE relname = 'ledger2'") == 0
    capsys.readouterr()
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(tmp_path)) == 1
    assert "0002_x.sql:2:1" in capsys.readouterr().err


async def _holding(database: str) -> asyncpg.Connection:
    app = await asyncpg.connect(database)
    await app.execute("BEGIN; SELECT * FROM accounts")
    return app


@pytest.mark.parametrize(
    "text",
    [
        "DO $$ BEGIN RESET ALL; ALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text; END $$;\n",
        "DO $$ BEGIN EXECUTE 'RESET ALL'; "
        "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text; END $$;\n",
        "DO $$ BEGIN RESET lock_timeout; "
        "EXECUTE 'ALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text'; END $$;\n",
        "-- tenantguard: no-transaction\n"
        "DO $$ BEGIN EXECUTE 'RESET ALL'; "
        "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text; END $$;\n",
    ],
)
async def test_a_do_block_that_resets_before_its_ddl_is_refused_before_anything_runs(
    database: str, tmp_path: Path, text: str
) -> None:
    write(tmp_path, "0001_first.sql", _FIRST)
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_column.sql", text)
    app = await _holding(database)
    try:
        # before: still waiting after 8 s (asyncio.TimeoutError), the app's table locked behind
        with pytest.raises(PatchError, match=r"0002_column\.sql:\d+:1: .*lock_timeout"):
            await asyncio.wait_for(
                apply_patches(database, tmp_path, ddl_lock_timeout=0.2, ddl_lock_retries=1), 8
            )
    finally:
        await app.close()
    assert await ledger_names(database) == ["0001_first.sql"]
    assert (
        await fetchval(
            database,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass "
            "AND attname = 'note'",
        )
        == 0
    )


@pytest.mark.parametrize(
    "text",
    [
        # the patch's own lock_timeout after its reset: its choice
        "DO $$ BEGIN RESET ALL; SET LOCAL lock_timeout = '5s'; "
        "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text; END $$;\n",
        # the reset in a statement of its own: the runner puts its settings back after it
        "DO $$ BEGIN RESET ALL; END $$;\nALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text;\n",
        # a reset of a setting that is not the runner's
        "DO $$ BEGIN RESET search_path; "
        "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text; END $$;\n",
    ],
)
async def test_a_do_block_whose_ddl_keeps_a_lock_timeout_is_applied(
    database: str, tmp_path: Path, text: str
) -> None:
    write(tmp_path, "0001_first.sql", _FIRST)
    write(tmp_path, "0002_column.sql", text)
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0001_first.sql", "0002_column.sql"]
    assert (
        await fetchval(
            database,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass "
            "AND attname = 'note'",
        )
        == 1
    )
