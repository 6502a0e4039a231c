"""Round 33: the patch pipeline attacked by an outsider (helper h33n), on a real server. Each
test names what happened on the server before the fix.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.runner import apply_patches
from tenantguard.patches.verify import sync_baseline, verify_pipeline
from tests.conftest import fresh_database
from tests.test_h33f_pipeline import _prosrc
from tests.test_pipeline_faults import write


def _failed(report: object) -> dict[str, str]:
    return {name: said for name, passed, said in report.checks if not passed}  # type: ignore[attr-defined]


async def test_verify_reads_the_baseline_s_carriage_returns_as_the_server_does(
    postgres: ThrowawayPostgres, database: str, tmp_path: Path
) -> None:
    """1. verify read the baseline with Python's universal newlines: every `\\r\\n` became `\\n`.
    A function whose body has CRLF line ends (a patch saved on Windows) is written by sync
    byte for byte, and loaded so by psql — but verify loaded it without its `\\r`s and said
    'the pipeline's schema equals the baseline's' failed on a baseline sync had just written;
    and a baseline checked out with CRLF line ends (git autocrlf), whose new installs get a
    `\\r` on every line of every body, passed."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_f.sql",
        "CREATE OR REPLACE FUNCTION public.crlf() RETURNS text LANGUAGE sql AS $$\r\n"
        "SELECT 'a\r\nb'\r\n$$;\n",
    )
    baseline = tmp_path / "schema.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    assert b"SELECT 'a\r\nb'\r\n" in baseline.read_bytes()
    await apply_patches(database, patches)
    async with fresh_database(postgres) as new_install:
        conn = await asyncpg.connect(new_install)
        try:
            await conn.execute(baseline.read_bytes().decode("utf-8"))
        finally:
            await conn.close()
        assert await _prosrc(new_install) == await _prosrc(database)
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    assert report.ok, report.checks
    # the twin: bodies without `\r`, a baseline whose every line ends in CRLF
    write(
        patches,
        "0001_f.sql",
        "CREATE OR REPLACE FUNCTION public.crlf() RETURNS text LANGUAGE sql AS $$\n"
        "SELECT 'a\nb'\n$$;\n",
    )
    await sync_baseline(postgres.dsn, patches, baseline)
    assert report.ok, report.checks
    baseline.write_bytes(baseline.read_bytes().replace(b"\n", b"\r\n"))
    failed = _failed(await verify_pipeline(postgres.dsn, patches, baseline))
    assert "the pipeline's schema equals the baseline's" in failed, failed
    assert "+ SELECT 'a\r" in failed["the pipeline's schema equals the baseline's"], failed
