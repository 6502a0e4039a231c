"""The log lines a developer adopting the guard reads (h36H): the README's pool, a request that
sends another clinic's id three times, and the pool closed."""

from __future__ import annotations

import logging

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import create_pool, tenant
from tests.runtime.test_runtime import PINNED, POLICY, UNPINNED


async def test_the_counts_said_when_the_pool_closes_name_no_made_up_call_site(
    two_clinics: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The first refusal is logged with its call site; the next ones of the same statement in
    the report interval are counted, and said when the pool closes. That line read
    "blocked TG-RUNTIME at (summary at flush) (2 times since the last line)": a call site that
    is none. Now it says they are more of the line logged before."""
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1)
    try:
        with caplog.at_level(logging.WARNING, logger="tenantguard"), tenant(1):
            assert [r[0] for r in await pool.fetch(PINNED, 1)] == ["Ana", "Bruno"]
            for _ in range(3):
                with pytest.raises(TenantIsolationError):
                    await pool.fetch(PINNED, 2)
    finally:
        with caplog.at_level(logging.WARNING, logger="tenantguard"):
            await pool.close()
    lines = [r.getMessage() for r in caplog.records if "TG-RUNTIME" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "test_h36H_runtime_logs.py:" in lines[0]
    assert "(summary at flush)" not in lines[1]
    assert "2 more times since the line logged" in lines[1]
    assert "pool closed" in lines[1]


async def test_the_first_refusal_after_switching_to_enforce_is_logged_at_once(
    two_clinics: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A team runs `report` first, then sets `pool.tenantguard.mode = "enforce"`. The statement
    logged as "would block" was refused after the switch with no line at all until the report
    interval passed (60 s) or the pool closed: the throttle took the refusal for more of the
    line said before. Now a mode change says what was pending under the old mode and starts
    counting anew: the refusal is an ERROR line with its call site, at once."""
    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, mode="report")
    try:
        with caplog.at_level(logging.WARNING, logger="tenantguard"), tenant(1):
            assert len(await pool.fetch(UNPINNED)) == 3  # report mode lets every clinic through
            pool.tenantguard.mode = "enforce"
            with pytest.raises(TenantIsolationError):
                await pool.fetch(UNPINNED)
            blocked = [
                r
                for r in caplog.records
                if r.levelno == logging.ERROR and "blocked TG001 at" in r.getMessage()
            ]
            assert len(blocked) == 1, [r.getMessage() for r in caplog.records]
            assert "test_h36H_runtime_logs.py:" in blocked[0].getMessage()
    finally:
        await pool.close()
