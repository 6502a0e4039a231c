"""Applying patches at startup: once each, in order, under an advisory lock.

Each patch runs in its own transaction together with its ledger row (name, checksum, applied_at,
duration): it is applied completely or not at all. A session advisory lock serialises replicas
that start together; each one re-reads the ledger after taking the lock, so every patch is
applied exactly once. An applied patch whose file changed is refused (unless re-baselined: its
new checksum is accepted without running it).
"""

# tenantguard: ignore-file[TG009] -- maintenance SQL over the ledger table; names are module constants

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from tenantguard.patches.files import LEDGER, PatchError, PatchFile, read_patches

__all__ = ["LEDGER", "AppliedPatch", "PatchRun", "apply_patches", "patch_status"]

LOCK_KEY = 0x7465_6E61_6E74  # "tenant": one advisory lock key for the pipeline

_CREATE_LEDGER = f"""
CREATE TABLE IF NOT EXISTS {LEDGER} (
    name         text PRIMARY KEY,
    number       integer NOT NULL,
    checksum     text NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    duration_ms  double precision NOT NULL
)
"""


@dataclass(frozen=True)
class AppliedPatch:
    name: str
    checksum: str
    applied_at: Any
    duration_ms: float


@dataclass
class PatchRun:
    applied: list[str]
    skipped: list[str]
    rebaselined: list[str]
    seconds: float


async def _ledger(conn: asyncpg.Connection) -> dict[str, AppliedPatch]:
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", LEDGER)
    if not exists:
        return {}
    rows = await conn.fetch(f"SELECT name, checksum, applied_at, duration_ms FROM {LEDGER}")
    return {
        r["name"]: AppliedPatch(r["name"], r["checksum"], r["applied_at"], r["duration_ms"])
        for r in rows
    }


async def _run_patch(conn: asyncpg.Connection, patch: PatchFile) -> None:
    started = time.perf_counter()

    async def run_and_record() -> None:
        for statement in patch.statements:
            try:
                await conn.execute(statement.text)
            except asyncpg.PostgresError as error:
                detail = f" ({error.detail})" if getattr(error, "detail", None) else ""
                first_line = statement.text.strip().splitlines()[0][:120]
                raise PatchError(
                    f"{patch.path}:{statement.line}: patch {patch.name} failed and was rolled "
                    f"back: {type(error).__name__}: {error}{detail}\n    in: {first_line}"
                ) from error
        await conn.execute(
            f"INSERT INTO {LEDGER} (name, number, checksum, duration_ms) VALUES ($1, $2, $3, $4)",
            patch.name,
            patch.number,
            patch.checksum,
            (time.perf_counter() - started) * 1000,
        )

    if patch.transactional:
        async with conn.transaction():  # the patch and its ledger row commit together
            await run_and_record()
    else:
        await run_and_record()  # one statement outside a transaction (CREATE INDEX CONCURRENTLY)


async def apply_patches(
    target: Any,
    directory: str | Path = "patches",
    *,
    rebaseline: Iterable[str] = (),
    lock_timeout: float | None = None,
) -> PatchRun:
    """Applies what is not yet applied. `target`: a DSN, an asyncpg connection, or a pool.

    `rebaseline` names applied patches whose edited files are accepted as they are now.
    """
    patches = read_patches(Path(directory))
    started = time.perf_counter()
    if isinstance(target, str):
        conn = await asyncpg.connect(target)
        try:
            return await _apply(conn, patches, set(rebaseline), lock_timeout, started)
        finally:
            await conn.close()
    if hasattr(target, "acquire") and not isinstance(target, asyncpg.Connection):
        async with target.acquire() as conn:
            return await _apply(conn, patches, set(rebaseline), lock_timeout, started)
    return await _apply(target, patches, set(rebaseline), lock_timeout, started)


async def _apply(
    conn: asyncpg.Connection,
    patches: list[PatchFile],
    rebaseline: set[str],
    lock_timeout: float | None,
    started: float,
) -> PatchRun:
    # a runner that dies mid-patch must not hold the lock while its backend sleeps on
    await conn.execute("SET client_connection_check_interval = '1s'")
    # fast path, no lock: every patch applied and unchanged (the common startup)
    ledger = await _ledger(conn)
    if ledger and all(p.name in ledger and ledger[p.name].checksum == p.checksum for p in patches):
        return PatchRun([], [p.name for p in patches], [], time.perf_counter() - started)
    if lock_timeout is None:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    else:
        deadline = time.monotonic() + lock_timeout
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            if time.monotonic() > deadline:
                raise PatchError("another runner holds the patch lock; gave up waiting")
            await conn.execute("SELECT pg_sleep(0.05)")
    try:
        await conn.execute(_CREATE_LEDGER)
        ledger = await _ledger(conn)  # re-read under the lock: another replica may have run
        applied, skipped, rebaselined = [], [], []
        for patch in patches:
            done = ledger.get(patch.name)
            if done is not None:
                if done.checksum != patch.checksum:
                    if patch.name not in rebaseline:
                        raise PatchError(
                            f"{patch.path}: patch {patch.name} was applied on "
                            f"{done.applied_at:%Y-%m-%d %H:%M} but its file has changed since "
                            "(checksum differs). Applied patches are never edited: add a new "
                            f"patch, or accept the edit with --rebaseline {patch.name}"
                        )
                    await conn.execute(
                        f"UPDATE {LEDGER} SET checksum = $2 WHERE name = $1",
                        patch.name,
                        patch.checksum,
                    )
                    rebaselined.append(patch.name)
                else:
                    skipped.append(patch.name)
                continue
            await _run_patch(conn, patch)
            applied.append(patch.name)
        return PatchRun(applied, skipped, rebaselined, time.perf_counter() - started)
    finally:
        if not conn.is_closed():
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def patch_status(
    target: str, directory: str | Path = "patches"
) -> list[tuple[PatchFile, AppliedPatch | None]]:
    """Each patch with its ledger row (None: not applied)."""
    patches = read_patches(Path(directory))
    conn = await asyncpg.connect(target)
    try:
        ledger = await _ledger(conn)
    finally:
        await conn.close()
    return [(p, ledger.get(p.name)) for p in patches]
