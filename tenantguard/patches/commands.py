"""`tenantguard patches apply | status | verify | sync`: one function per verb.

Progress comes from the `tenantguard.patches` logger and is printed as it happens. Exit codes:
0 done, 1 the pipeline is wrong (a patch fails, was edited, is missing; verify finds a
difference), 2 the request cannot be carried out (usage, a malformed DSN, an unreachable server,
a lock that never came, a lost connection).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from pathlib import Path

import asyncpg

from tenantguard.config import Settings
from tenantguard.patches.dsn import Dsn
from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import REINDEX_LEFTOVER, apply_patches, pipeline_status
from tenantguard.patches.verify import sync_baseline, verify_pipeline

__all__ = ["run_patch_command"]

log = logging.getLogger("tenantguard.patches")
_RUNNER = logging.getLogger("tenantguard.patches.runner")


def _error(message: str) -> int:
    print(f"tenantguard: error: {message}", file=sys.stderr)
    return 2


class _Progress(logging.Handler):
    """Prints the runner's progress lines to standard output as they come."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning: " if record.levelno >= logging.WARNING else ""
        print(prefix + record.getMessage(), file=sys.stdout, flush=True)


def run_patch_command(args: argparse.Namespace, settings: Settings) -> int:
    text = args.dsn or os.environ.get("DATABASE_URL")
    if not text:
        return _error("no database given: pass --dsn postgresql://… or set DATABASE_URL")
    try:
        dsn = Dsn.parse(text)
    except PatchError as error:
        return _error(str(error))
    directory: Path = args.dir or settings.root / settings.patch_dir
    baseline: Path = getattr(args, "baseline", None) or settings.root / settings.baseline
    if args.verb == "verify" and not baseline.is_file():
        return _error(
            f"no baseline at {baseline}: write it with `tenantguard patches sync`, or name "
            "yours with --baseline or `baseline` in [tool.tenantguard]"
        )
    verb = {"apply": _apply, "status": _status, "verify": _verify, "sync": _sync}[args.verb]
    handler = _Progress(logging.INFO)
    level, runner_level = log.level, _RUNNER.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    if args.verb in ("verify", "sync"):  # say what verify does, not each patch of each scratch run
        _RUNNER.setLevel(logging.WARNING)
    try:
        return asyncio.run(verb(args, dsn, directory, baseline))
    except PatchError as error:
        print(f"tenantguard: error: {dsn.redact(str(error))}", file=sys.stderr)
        if args.verb == "apply":
            done = ", ".join(error.applied) if error.applied else "none"
            print(f"applied before the failure: {done}", file=sys.stderr)
        return error.exit_code
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return _error(f"database {dsn}: {type(error).__name__}: {dsn.redact(str(error))}")
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        _RUNNER.setLevel(runner_level)


async def _apply(args: argparse.Namespace, dsn: Dsn, directory: Path, baseline: Path) -> int:
    run = await apply_patches(
        dsn,
        directory,
        rebaseline=args.rebaseline,
        lock_wait=args.lock_wait,
        ddl_lock_timeout=args.lock_timeout,
        ddl_lock_retries=args.lock_retries,
        allow_out_of_order=args.allow_out_of_order,
    )
    extra = [
        f"{len(items)} {what}"
        for items, what in (
            (run.renamed, "renamed"),
            (run.rebuilt, "invalid indexes rebuilt"),
            (run.missing, "applied without a file (see warnings)"),
        )
        if items
    ]
    print(
        f"{len(run.applied)} applied, {len(run.skipped)} already applied, "
        f"{len(run.rebaselined)} re-baselined{''.join(', ' + e for e in extra)} "
        f"in {run.seconds * 1000:.0f} ms"
    )
    return 0


async def _status(args: argparse.Namespace, dsn: Dsn, directory: Path, baseline: Path) -> int:
    status = await pipeline_status(dsn, directory)
    renamed = {patch.name: row.name for row, patch in status.renamed}
    ahead = {patch.name: row.name for row, patch in status.ahead}
    changed = {patch.name for patch in status.changed}
    out_of_order = {patch.name for patch in status.out_of_order}
    refused = dict((patch.name, reason) for patch, reason in status.refused)
    pending = 0
    for patch, applied in status.patches:
        if patch.name in ahead:
            print(
                f"NEWER     {patch.name} (applied as {ahead[patch.name]}, a newer version's name "
                "for it: this code is older than the database; apply leaves the ledger as it is)"
            )
        elif patch.name in renamed:
            print(
                f"renamed   {patch.name} (applied as {renamed[patch.name]}, same checksum: "
                "apply records the new name without running it)"
            )
        elif applied is None:
            pending += 1
            note = ""
            if patch.name in refused:
                note = f" REFUSED: {refused[patch.name]}"
            elif patch.name in out_of_order:
                note = " (numbered below an applied patch: apply needs --allow-out-of-order)"
            print(f"pending   {patch.name}{note}")
        elif patch.name in changed:
            print(
                f"CHANGED   {patch.name} (applied {applied.applied_at:%Y-%m-%d %H:%M}, file edited since)"
            )
        else:
            print(
                f"applied   {patch.name} ({applied.applied_at:%Y-%m-%d %H:%M}, {applied.duration_ms:.0f} ms)"
            )
    for row in status.missing:
        print(
            f"MISSING   {row.name} (applied {row.applied_at:%Y-%m-%d %H:%M}; its file is not in "
            f"{directory})"
        )
    for index in status.invalid_indexes:
        if index.patch:
            fix = f"built by {index.patch}: apply rebuilds it"
        elif re.search(REINDEX_LEFTOVER, index.name):
            fix = (
                "left by an interrupted REINDEX CONCURRENTLY, and updated by every write: "
                f"DROP INDEX CONCURRENTLY {index.qualified} (the index it copies is still there)"
            )
        else:
            fix = f"not built by a patch: DROP INDEX CONCURRENTLY {index.qualified} and build it again"
        print(f"INVALID   index {index.qualified} on {index.table} ({fix})")
    for patch, builds, live in status.other_indexes:
        print(
            f"OTHER     index of {patch.name}, which builds: {builds}\n"
            f"          the database has: {live} (made by hand before the patch, whose IF NOT "
            "EXISTS skipped it? DROP it and build it as the patch says)"
        )
    for partition, parent in status.pending_detaches:
        print(
            f"DETACHING partition {partition} of {parent} (a DETACH PARTITION … CONCURRENTLY cut "
            f"short: apply finishes it, or ALTER TABLE {parent} DETACH PARTITION {partition} "
            "FINALIZE)"
        )
    applied_count = len(status.patches) - pending
    summary = f"{applied_count} applied, {pending} pending"
    if status.missing:
        summary += f", {len(status.missing)} missing"
    if status.invalid_indexes:
        summary += f", {len(status.invalid_indexes)} invalid indexes"
    if status.pending_detaches:
        summary += f", {len(status.pending_detaches)} partitions pending detach"
    if status.other_indexes:
        summary += f", {len(status.other_indexes)} indexes unlike their patch's"
    print(summary)
    return 0 if status.ok else 1


async def _verify(args: argparse.Namespace, dsn: Dsn, directory: Path, baseline: Path) -> int:
    report = await verify_pipeline(dsn, directory, baseline, throwaway_server=args.throwaway_server)
    for name, passed, difference in report.checks:
        print(f"{'ok  ' if passed else 'FAIL'}  {name}")
        if not passed and difference:
            print("\n".join("      " + line for line in difference.splitlines()))
    if not report.ok:
        print(f"Fix the patch, or run `tenantguard patches sync` to rewrite {baseline}.")
    return 0 if report.ok else 1


async def _sync(args: argparse.Namespace, dsn: Dsn, directory: Path, baseline: Path) -> int:
    lines = await sync_baseline(dsn, directory, baseline, throwaway_server=args.throwaway_server)
    print(f"wrote {baseline} ({lines} lines) from the pipeline in {directory}")
    return 0
