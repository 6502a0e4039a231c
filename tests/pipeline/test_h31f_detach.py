"""Round 31 (helper h31f): a no-transaction patch stopped between its statement and its ledger
row, when its statement cannot run twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import fetchval, ledger_names, write


async def test_a_detach_done_before_its_ledger_row_is_recorded_not_run_again(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY` completed, and the runner
    was killed before its ledger row (the state made here by running the statement as the
    runner would have): every later run failed with 'relation "events_2020" is not a partition
    of relation "events"' (exit 1), and the patch could not be rewritten to pass (a DO block
    cannot detach concurrently). Recorded without running it again, as a CREATE INDEX
    CONCURRENTLY built before its ledger row is."""
    write(
        tmp_path,
        "0001_events.sql",
        """
        CREATE TABLE IF NOT EXISTS events (tenant_id bigint NOT NULL, at date NOT NULL)
            PARTITION BY RANGE (at);
        CREATE TABLE IF NOT EXISTS events_2020 PARTITION OF events
            FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
        """,
    )
    await apply_patches(database, tmp_path)
    detach = "ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;"
    write(tmp_path, "0002_detach.sql", f"-- tenantguard: no-transaction\n{detach}\n")
    await fetchval(database, detach)  # the statement ran; its ledger row was never written
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0002_detach.sql"]
    assert await ledger_names(database) == ["0001_events.sql", "0002_detach.sql"]
    assert await fetchval(database, "SELECT count(*) FROM pg_inherits") == 0
    assert await fetchval(database, "SELECT to_regclass('events_2020')") is not None
    assert "recorded without running it again" in caplog.text


async def test_a_detach_of_a_partition_still_attached_runs(database: str, tmp_path: Path) -> None:
    write(
        tmp_path,
        "0001_events.sql",
        """
        CREATE TABLE IF NOT EXISTS events (tenant_id bigint NOT NULL, at date NOT NULL)
            PARTITION BY RANGE (at);
        CREATE TABLE IF NOT EXISTS events_2020 PARTITION OF events
            FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
        """,
    )
    write(
        tmp_path,
        "0002_detach.sql",
        "-- tenantguard: no-transaction\n"
        "ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;\n",
    )
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0001_events.sql", "0002_detach.sql"]
    assert await fetchval(database, "SELECT count(*) FROM pg_inherits") == 0
