"""`tenantguard patches apply | status | verify | sync`: one function per verb."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import asyncpg

from tenantguard.config import Settings
from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches, patch_status
from tenantguard.patches.verify import sync_baseline, verify_pipeline

__all__ = ["run_patch_command"]


def _error(message: str) -> int:
    print(f"tenantguard: error: {message}", file=sys.stderr)
    return 2


def run_patch_command(args: argparse.Namespace, settings: Settings) -> int:
    dsn = args.dsn or os.environ.get("DATABASE_URL")
    if not dsn:
        return _error("no database given: pass --dsn postgresql://… or set DATABASE_URL")
    directory: Path = args.dir or settings.root / settings.patch_dir
    baseline: Path = getattr(args, "baseline", None) or settings.root / settings.baseline
    if args.verb == "verify" and not baseline.is_file():
        return _error(
            f"no baseline at {baseline}: write it with `tenantguard patches sync`, or name "
            "yours with --baseline or `baseline` in [tool.tenantguard]"
        )
    verb = {"apply": _apply, "status": _status, "verify": _verify, "sync": _sync}[args.verb]
    try:
        return asyncio.run(verb(args, dsn, directory, baseline))
    except PatchError as error:
        _error(str(error))
        return 1  # the pipeline itself is wrong (a failing or edited patch): like a finding
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return _error(f"database {_safe(dsn)}: {type(error).__name__}: {error}")


def _safe(dsn: str) -> str:
    """The DSN without its password, for messages."""
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return dsn


async def _apply(args: argparse.Namespace, dsn: str, directory: Path, baseline: Path) -> int:
    run = await apply_patches(dsn, directory, rebaseline=args.rebaseline)
    for name in run.applied:
        print(f"applied      {name}")
    for name in run.rebaselined:
        print(f"re-baselined {name}")
    print(
        f"{len(run.applied)} applied, {len(run.skipped)} already applied, "
        f"{len(run.rebaselined)} re-baselined in {run.seconds * 1000:.0f} ms"
    )
    return 0


async def _status(args: argparse.Namespace, dsn: str, directory: Path, baseline: Path) -> int:
    rows = await patch_status(dsn, directory)
    pending = 0
    for patch, applied in rows:
        if applied is None:
            pending += 1
            print(f"pending   {patch.name}")
        elif applied.checksum != patch.checksum:
            print(
                f"CHANGED   {patch.name} (applied {applied.applied_at:%Y-%m-%d %H:%M}, file edited since)"
            )
        else:
            print(
                f"applied   {patch.name} ({applied.applied_at:%Y-%m-%d %H:%M}, {applied.duration_ms:.0f} ms)"
            )
    print(f"{len(rows) - pending} applied, {pending} pending")
    return 0


async def _verify(args: argparse.Namespace, dsn: str, directory: Path, baseline: Path) -> int:
    report = await verify_pipeline(dsn, directory, baseline)
    for name, passed, difference in report.checks:
        print(f"{'ok  ' if passed else 'FAIL'}  {name}")
        if not passed and difference:
            print("\n".join("      " + line for line in difference.splitlines()))
    if not report.ok:
        print(f"Fix the patch, or run `tenantguard patches sync` to rewrite {baseline}.")
    return 0 if report.ok else 1


async def _sync(args: argparse.Namespace, dsn: str, directory: Path, baseline: Path) -> int:
    lines = await sync_baseline(dsn, directory, baseline)
    print(f"wrote {baseline} ({lines} lines) from the pipeline in {directory}")
    return 0
