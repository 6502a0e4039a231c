"""`tenantguard audit`: read the database in one short read-only transaction, then prove.

Exit codes as `check`: 0 no error-level finding, 1 findings, 2 usage, configuration, connection
or internal error. The DSN's password is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import asyncpg

from tenantguard.audit.catalog import AuditRead, UnknownRole, read_database
from tenantguard.audit.rowpolicy import PolicyReader
from tenantguard.audit.rules import AuditContext, check_catalog
from tenantguard.audit.schema import live_policy
from tenantguard.audit.statement_log import LogError, read_statement_log
from tenantguard.audit.traffic import RecordedStatement, traffic_findings
from tenantguard.config import Settings
from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.rules import tg006_unprovable_statement
from tenantguard.patches.dsn import Dsn, connect
from tenantguard.patches.files import PatchError
from tenantguard.report import Style, Summary, colour_wanted, render

__all__ = ["run_audit"]

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
_CONNECT_TIMEOUT = 30.0


def _error(args: argparse.Namespace, message: str) -> int:
    """Stopped before the report: the message on standard error, and in the machine formats a
    document naming it (an empty file is no valid SARIF or JSON)."""
    from tenantguard.report import error_document

    print(f"tenantguard: error: {message}", file=sys.stderr)
    error_document(getattr(args, "format", None), "usage", message)
    return EXIT_ERROR


def _note(message: str) -> None:
    print(f"tenantguard: note: {message}", file=sys.stderr)


async def _read(dsn: Dsn, role: str | None, read_traffic: bool) -> AuditRead:
    conn = await connect(
        dsn,
        timeout=_CONNECT_TIMEOUT,
        server_settings={"application_name": "tenantguard audit"},
    )
    try:
        return await read_database(conn, role, read_traffic=read_traffic)
    finally:
        await conn.close()


def run_audit(args: argparse.Namespace, settings: Settings) -> int:
    text = args.dsn or os.environ.get("DATABASE_URL")
    if not text:
        return _error(args, "no database given: pass --dsn postgresql://… or set DATABASE_URL")
    if args.jobs is not None and args.jobs < 1:
        return _error(args, "--jobs must be at least 1")
    log_file: Path | None = args.statements
    if log_file is not None and not log_file.is_file():
        return _error(
            args, f"{log_file}: no such file (--statements takes a csvlog or jsonlog file)"
        )
    try:
        dsn = Dsn.parse(text)
    except PatchError as error:
        return _error(args, str(error))
    try:
        read = asyncio.run(_read(dsn, args.role, read_traffic=log_file is None))
    except UnknownRole as error:
        return _error(
            args,
            f"role {error} does not exist on the server of {dsn}: --role names the role the "
            "application connects as (its DSN's user), which the audit reads the database as",
        )
    except PatchError as error:
        return _error(args, dsn.redact(str(error)))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return _error(args, f"database {dsn}: {type(error).__name__}: {dsn.redact(str(error))}")
    catalog = read.catalog
    live = live_policy(settings, catalog)
    for warning in live.warnings:
        print(f"tenantguard: warning: {warning}", file=sys.stderr)
    ctx = AuditContext(
        catalog, live.policy, live.tenant_tables, PolicyReader(live.policy), live.function_bodies
    )
    findings = sorted(check_catalog(ctx), key=lambda f: (f.path, f.code, f.message))
    statements: list[RecordedStatement] = read.statements
    source = "pg_stat_statements"
    if log_file is not None:
        try:
            log = read_statement_log(log_file, catalog.database, _display(log_file))
        except LogError as error:
            return _error(args, str(error))
        statements, source = log.statements, str(log_file)
        if log.other_databases:
            _note(f"{log_file}: {log.other_databases} statements of other databases skipped")
    traffic, distinct = traffic_findings(
        statements, Analyzer(live.policy, maxsize=16_384), jobs=args.jobs
    )
    findings.extend(traffic)
    if read.unreadable:
        findings.append(_unreadable(read.unreadable))
    for note in read.notes:
        _note(note)
    if ctx.suppressed:
        _note(
            f"{ctx.suppressed} finding{'s' * (ctx.suppressed != 1)} accepted by suppression "
            "comments in the database"
        )
    findings = _selected(findings, settings)
    recorded = sum(s.calls for s in statements)
    tables = len(live.tenant_tables)
    subject = (
        f"database {catalog.database} ({tables} tenant table{'s' * (tables != 1)}; "
        f"{distinct} distinct statement{'s' * (distinct != 1)} from {source}, "
        f"run {recorded} time{'s' * (recorded != 1)})"
    )
    style = Style(colour=colour_wanted(sys.stdout))
    summary = Summary(0, distinct, subject=subject)
    sys.stdout.write(render(args.format, findings, 0, distinct, style, summary=summary))
    return EXIT_FINDINGS if any(f.severity is Severity.ERROR for f in findings) else EXIT_CLEAN


def _selected(findings: list[Finding], settings: Settings) -> list[Finding]:
    """The findings of the rules the configuration selects (`select`, `ignore`, and
    `per_file_ignores` matched against the findings' paths: `db:public.patients`)."""
    from tenantguard.catalog import CATALOG
    from tenantguard.selection import EnabledRules

    selection = settings.rule_selection()
    if selection.is_default:
        return findings
    enabled = EnabledRules.build([(r.code, r.name) for r in CATALOG], selection)
    return [f for f in findings if f.code in enabled.in_file(f.path)]


def _display(path: Path) -> str:
    """The path relative to the working directory when it is under it, as `check` shows
    files; otherwise as given."""
    relative = os.path.relpath(path.resolve())
    return str(path) if relative.startswith("..") else relative


def _unreadable(count: int) -> Finding:
    """Statements whose text this role may not read cannot be proven: one finding for all."""
    rule = tg006_unprovable_statement.RULE
    return Finding(
        rule.code,
        rule.name,
        Severity.ERROR,
        f"{count} statement{'s' * (count != 1)} of pg_stat_statements cannot be read by the "
        "auditing role (<insufficient privilege>): they are not proven",
        "audit as a role with pg_read_all_stats (GRANT pg_read_all_stats TO auditor), or as "
        "the roles that sent them",
        1,
        1,
        1,
        2,
        "db:pg_stat_statements",
    )
