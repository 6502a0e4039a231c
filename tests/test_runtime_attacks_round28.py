"""Round 28: the runtime guard attacked by an outsider (helper h28b), on a real server.

1. `copy_records_to_table()` without `columns=` (or with an empty list) into a tenant table
   whose tenant column defaults to the tenant expression (`DEFAULT
   current_setting('app.tenant_id')::bigint`, the way RLS applications write it). The guard
   proved the COPY as the INSERT it amounts to — `INSERT INTO memos DEFAULT VALUES` when no
   column was named, which the proof takes as pinned by the tenant expression (the default) —
   and so checked no record's value. But asyncpg's COPY without a column list (`if columns:`,
   an empty list too) writes every column of the table, the tenant column included, from the
   records: clinic 1's request wrote a memo into clinic 2 (`account_id = 2`). The columns
   such a COPY writes are now the table's own, read from the server as asyncpg reads them
   (its `SELECT * FROM t LIMIT 1`), and each record's tenant value is checked against them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, tenant
from tests.test_schema import policy_for

MEMOS = """
CREATE TABLE accounts (id bigint PRIMARY KEY, name text);
CREATE TABLE memos (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id)
        DEFAULT current_setting('app.tenant_id')::bigint,
    body text);
"""


def _memos_policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, MEMOS, tenant_column="account_id")
    assert isinstance(policy, Policy)
    assert "memos" in policy.tenant_defaults  # the default is the tenant expression
    return policy


async def _stream(rows: Sequence[tuple[Any, ...]]) -> AsyncIterator[tuple[Any, ...]]:
    for row in rows:
        yield row


async def _memos(database: str) -> list[tuple[int, str]]:
    owner = await asyncpg.connect(database)
    try:
        rows = await owner.fetch("SELECT account_id, body FROM memos ORDER BY id")
    finally:
        await owner.close()
    return [(r["account_id"], r["body"]) for r in rows]


@pytest.mark.parametrize("streamed", [False, True], ids=["list", "async iterable"])
@pytest.mark.parametrize("columns", [None, []], ids=["no columns", "empty columns"])
async def test_a_copy_without_columns_writes_no_other_clinics_row(
    database: str, tmp_path: Path, columns: list[str] | None, streamed: bool
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(MEMOS + "INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');")
    finally:
        await owner.close()
    conn = await connect(database, policy=_memos_policy(tmp_path))
    rows = [(900, 2, "forged by clinic 1")]  # every column, in the table's order
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            await conn.copy_records_to_table(
                "memos", records=_stream(rows) if streamed else rows, columns=columns
            )
    finally:
        await conn.close()
    assert (2, "forged by clinic 1") not in await _memos(database)


@pytest.mark.parametrize("streamed", [False, True], ids=["list", "async iterable"])
async def test_a_copy_without_columns_of_the_clinics_own_rows_still_runs(
    database: str, tmp_path: Path, streamed: bool
) -> None:
    """The legitimate twin: every column given, the request's own tenant in each record."""
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(MEMOS + "INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');")
    finally:
        await owner.close()
    conn = await connect(database, policy=_memos_policy(tmp_path))
    rows = [(900, 1, "mine"), (901, 1, "mine too")]
    try:
        with tenant(1):
            await conn.copy_records_to_table(
                "memos", records=_stream(rows) if streamed else rows
            )
            with pytest.raises(TenantIsolationError):  # one record of another clinic
                await conn.copy_records_to_table(
                    "memos",
                    records=_stream([(902, 1, "a"), (903, 2, "b")])
                    if streamed
                    else [(902, 1, "a"), (903, 2, "b")],
                )
    finally:
        await conn.close()
    assert await _memos(database) == [(1, "mine"), (1, "mine too")]
