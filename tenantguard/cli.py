"""The command line: `tenantguard check | explain | rule | patches | audit | demo`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tenantguard import __version__
from tenantguard.baseline import read_baseline, subtract_baseline, write_baseline
from tenantguard.config import (
    Settings,
    build_policy,
    load_settings,
    require_tenant_tables,
    settings_for_paths,
)
from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import Policy
from tenantguard.errors import ConfigError
from tenantguard.report import FORMATS, Summary, render
from tenantguard.sources.files import CheckOptions, SourceFile, check_files, discover
from tenantguard.sources.pyflow import ProjectIndex
from tenantguard.sources.schema import SchemaProblem

__all__ = ["main"]

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _policy_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("policy (overrides [tool.tenantguard] in pyproject.toml)")
    group.add_argument(
        "--tenant-column",
        metavar="NAME",
        help="the tenant column (default tenant_id; a mixed-case name is quoted: '\"userId\"')",
    )
    group.add_argument(
        "--tenant-tables",
        metavar="A,B,C",
        help="tenant tables, comma-separated (added to those inferred from the schema; quote "
        "mixed-case names: '\"Thread\"')",
    )
    group.add_argument(
        "--global-tables", metavar="A,B,C", help="tables that are never tenant tables"
    )
    group.add_argument(
        "--no-infer",
        action="store_true",
        help="do not infer tenant tables (tables with the tenant column, and views and functions "
        "handing out tenant rows) from the schema paths",
    )
    group.add_argument(
        "--allow-multi-tenant",
        action="store_true",
        help="accept `= ANY($1)` / `IN ($1, $2)` as pins",
    )
    group.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    group.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="read this pyproject.toml instead of searching upward",
    )


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(isolated=args.isolated, config=args.config)
    return _with_flags(settings, args)


def _with_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    return settings.with_overrides(
        tenant_column=args.tenant_column,
        tenant_tables=_split(args.tenant_tables),
        global_tables=_split(args.global_tables),
        infer_tenant_tables=False if args.no_infer else None,
        allow_multi_tenant=True if args.allow_multi_tenant else None,
    )


def _non_negative(kind: type[float] | type[int]) -> Callable[[str], float]:
    """An argparse type: a number of this kind, 0 or more."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{text} is negative")
        return value

    return parse


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tenantguard",
        description="Proves that every SQL statement on a tenant table is pinned to one tenant.",
        epilog=(
            "Exit codes: 0 no error-level finding, 1 findings, "
            "2 usage, configuration or internal error."
        ),
    )
    parser.add_argument("--version", action="version", version=f"tenantguard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="check .sql and .py files",
        description="Check .sql and .py files and directories (default: the current directory).",
    )
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    check.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default text)"
    )
    check.add_argument(
        "--baseline", type=Path, metavar="FILE", help="report only findings not recorded in FILE"
    )
    check.add_argument(
        "--write-baseline",
        type=Path,
        metavar="FILE",
        help="record today's findings in FILE (for adoption on an existing codebase), exit 0",
    )
    check.add_argument(
        "--jobs", type=int, metavar="N", help="processes for large inputs (default: all cores)"
    )
    _policy_flags(check)

    explain = commands.add_parser(
        "explain",
        help="show the tenant proof of one statement",
        description=(
            "Print, for every tenant-table reference of a statement, the block it sits in "
            "and what pins it — or why nothing does."
        ),
    )
    explain.add_argument("sql", nargs="?", help="the SQL statement (or use -f)")
    explain.add_argument(
        "-f", "--file", type=Path, help="read the SQL from this file ('-' for standard input)"
    )
    _policy_flags(explain)

    patches = commands.add_parser(
        "patches",
        help="the schema patch pipeline: lint, apply, status, verify, sync",
        description="Numbered, idempotent SQL patches applied at startup under a lock, and the "
        "baseline schema for new installs kept equal to what they build.",
    )
    verbs = patches.add_subparsers(dest="verb", metavar="VERB")
    lint = verbs.add_parser("lint", help="check patches with the patch rules (same flags as check)")
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    lint.add_argument("--format", choices=FORMATS, default="text", help="output format")
    _policy_flags(lint)
    for verb, text in (
        ("apply", "apply the patches not yet applied"),
        ("status", "list the patches and whether each is applied"),
        (
            "verify",
            "prove on scratch databases that the pipeline is idempotent and equals the baseline",
        ),
        ("sync", "rewrite the baseline from what the pipeline builds"),
    ):
        command = verbs.add_parser(verb, help=text, description=text[0].upper() + text[1:] + ".")
        command.add_argument("--dsn", help="PostgreSQL DSN (default: $DATABASE_URL)")
        command.add_argument("--dir", type=Path, help="patch directory (default: patch_dir)")
        if verb in ("verify", "sync"):
            command.add_argument("--baseline", type=Path, help="baseline file (default: baseline)")
        if verb == "apply":
            command.add_argument(
                "--rebaseline",
                action="append",
                default=[],
                metavar="NAME",
                help="accept the edited file of this applied patch (its new checksum) without running it",
            )
            command.add_argument(
                "--lock-wait",
                type=_non_negative(float),
                metavar="SECONDS",
                help="wait at most this long for the patch lock another runner holds "
                "(default: as long as it takes, saying every 5 s who holds it); exit 2 after",
            )
            command.add_argument(
                "--lock-timeout",
                type=_non_negative(float),
                default=2.0,
                metavar="SECONDS",
                help="PostgreSQL lock_timeout for each patch statement, so that the "
                "application's queries never queue long behind a patch's DDL (default: 2; 0: none)",
            )
            command.add_argument(
                "--lock-retries",
                type=_non_negative(int),
                default=5,
                metavar="N",
                help="retry a patch that timed out on a lock N times, with backoff, before exit 2 "
                "naming the table and the backend that holds it (default: 5)",
            )
            command.add_argument(
                "--allow-out-of-order",
                action="store_true",
                help="apply a new patch numbered below an already applied one (refused otherwise)",
            )
        command.add_argument("--isolated", action="store_true", help="ignore configuration files")
        command.add_argument("--config", type=Path, metavar="FILE", help="read this pyproject.toml")

    audit = commands.add_parser(
        "audit",
        help="prove a live database: its catalog (RLS, roles, keys, views, functions) and the "
        "statements it serves",
        description="Audit a live database in one short read-only transaction: Row-Level "
        "Security, the application role, keys, views and SECURITY DEFINER functions of its "
        "tenant tables (rules TG2xx), and every statement pg_stat_statements (or a statement "
        "log) recorded, through the same proof as check.",
        epilog="Findings of the catalog are at db:<schema>.<relation> (db:<database> for the "
        "role), those of pg_stat_statements at db:pg_stat_statements/<queryid>, those of a "
        "log at its file and line; traffic findings come ranked by calls and total time. "
        "Exit codes: 0 no error-level finding, 1 findings, 2 usage, configuration, "
        "connection or internal error.",
    )
    audit.add_argument("--dsn", help="PostgreSQL DSN (default: $DATABASE_URL)")
    audit.add_argument(
        "--role",
        metavar="APP_ROLE",
        help="the role the application connects as, whose RLS is audited (default: the "
        "connecting role)",
    )
    audit.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default text)"
    )
    audit.add_argument(
        "--statements",
        type=Path,
        metavar="FILE",
        help="read the traffic from this PostgreSQL log (csvlog or jsonlog, with "
        "log_statement = all) instead of pg_stat_statements",
    )
    audit.add_argument(
        "--jobs", type=int, metavar="N", help="processes for many statements (default: all cores)"
    )
    _policy_flags(audit)

    commands.add_parser(
        "demo",
        help="run the runtime guard on a throwaway PostgreSQL",
        description=(
            "Start a throwaway PostgreSQL from the local server binaries, load the Dentalogic "
            "schema, serve requests of two clinics through a guarded pool, show what the guard "
            "blocks, and clean up."
        ),
    )

    rule = commands.add_parser(
        "rule",
        help="print a rule's documentation",
        description="Print a rule's documentation, or list every rule.",
    )
    rule.add_argument("code", nargs="?", help="rule code or name, e.g. TG001")
    rule.add_argument("--all", action="store_true", help="list every rule")
    return parser


def _check(args: argparse.Namespace, *, patch_rules_only: bool = False) -> int:
    jobs: int | None = getattr(args, "jobs", None)  # `patches lint` has no --jobs, no baselines
    baseline_file: Path | None = getattr(args, "baseline", None)
    write_file: Path | None = getattr(args, "write_baseline", None)
    if jobs is not None and jobs < 1:
        print("tenantguard: error: --jobs must be at least 1", file=sys.stderr)
        return EXIT_ERROR
    if args.paths:
        groups = [
            (_with_flags(settings, args), paths)
            for settings, paths in settings_for_paths(
                list(args.paths), isolated=args.isolated, config=args.config
            )
        ]
    else:
        settings = _settings(args)
        default = settings.root / settings.patch_dir if patch_rules_only else Path(".")
        groups = [(settings, [default])]
    known = read_baseline(baseline_file) if baseline_file else None
    findings: list[Finding] = []
    files = statements = schema_statements = 0
    for settings, paths in groups:
        warnings: list[str] = []
        problems: list[SchemaProblem] = []
        policy = build_policy(settings, warnings, problems)
        if not patch_rules_only:  # the patch rules need no tenant table
            require_tenant_tables(policy, settings)
        for warning in warnings:
            print(f"tenantguard: warning: {warning}", file=sys.stderr)
        sources, missing = discover(
            paths,
            root=settings.root,
            include=settings.include,
            exclude=settings.exclude,
            pipeline=[settings.patch_dir, *settings.schema_paths],
            patch_dir=settings.patch_dir,
        )
        for path in missing:
            print(f"tenantguard: error: {path}: no such file or directory", file=sys.stderr)
        if missing:
            return EXIT_ERROR
        reports = check_files(
            sources,
            Analyzer(policy),
            Analyzer(policy, in_patch=True),
            jobs=jobs,
            options=_check_options(settings, policy, patch_rules_only, sources),
        )
        for report in reports:
            for note in report.notes:
                print(f"tenantguard: note: {note}", file=sys.stderr)
        findings.extend(f for r in reports for f in r.findings)
        checked = {os.path.abspath(s.path) for s in sources}
        findings.extend(
            _schema_findings([p for p in problems if os.path.abspath(p.path) not in checked])
        )
        files += len(sources)
        statements += sum(r.statements for r in reports)
        schema_statements += sum(r.statements for r in reports if r.schema)
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.code))
    if write_file:
        count = write_baseline(write_file, findings)
        print(
            f"tenantguard: wrote {count} findings to the baseline {write_file}",
            file=sys.stderr,
        )
        return EXIT_CLEAN
    hidden = 0
    if known is not None:
        remaining = subtract_baseline(findings, known)
        hidden = len(findings) - len(remaining)
        findings = remaining
    summary = Summary(files, statements, schema_statements, hidden)
    sys.stdout.write(render(args.format, findings, files, statements, summary=summary))
    return EXIT_FINDINGS if any(f.severity is Severity.ERROR for f in findings) else EXIT_CLEAN


def _check_options(
    settings: Settings, policy: Policy, patch_rules_only: bool, sources: list[SourceFile]
) -> CheckOptions:
    patch_directory = settings.root / settings.patch_dir

    def patch_linter(text: str, path: Path) -> list[Finding]:
        from tenantguard.patches.lint import lint_patch_text  # pglast loads only for patches

        return lint_patch_text(text, str(path), policy, patch_directory)

    return CheckOptions(
        unresolved_severity=Severity(settings.unresolved_severity),
        patch_linter=patch_linter,
        patch_rules_only=patch_rules_only,
        python_index=ProjectIndex(
            [str(s.path) for s in sources if s.path.suffix == ".py"], settings.sql_functions
        ),
    )


def _schema_findings(problems: list[SchemaProblem]) -> list[Finding]:
    """A schema statement that cannot be read: an error at its file and line (the tables it
    may create are treated as tenant tables when its text holds the tenant column). Reported
    when the file is not among those checked (the patch rules report it there)."""
    findings = []
    for problem in problems:
        try:
            path = os.path.relpath(problem.path)
        except ValueError:
            path = problem.path
        findings.append(
            Finding(
                "TG006",
                "unprovable-statement",
                Severity.ERROR,
                f"cannot read this schema statement: {problem.message}; the tenant tables it "
                "may create are guessed from its text",
                "fix the statement so that PostgreSQL's parser reads it (psql meta-commands "
                "are skipped)",
                problem.line,
                problem.column,
                problem.line,
                problem.column + 1,
                path,
                problem.text,
            )
        )
    return findings


def _explain(args: argparse.Namespace) -> int:
    from tenantguard.explain import explain

    if args.file is not None:
        try:
            sql = (
                sys.stdin.read() if str(args.file) == "-" else args.file.read_text(encoding="utf-8")
            )
        except (OSError, UnicodeDecodeError) as error:
            print(f"tenantguard: error: cannot read {args.file}: {error}", file=sys.stderr)
            return EXIT_ERROR
    elif args.sql is not None:
        sql = args.sql
    else:
        print("tenantguard: error: give the SQL as an argument or with -f FILE", file=sys.stderr)
        return EXIT_ERROR
    if args.file is not None and str(args.file) != "-":  # the file's configuration first
        found = settings_for_paths([args.file], isolated=args.isolated, config=args.config)
        settings = _with_flags(found[0][0], args)
    else:
        settings = _settings(args)
    warnings: list[str] = []
    policy: Policy = build_policy(settings, warnings)
    require_tenant_tables(policy, settings)
    for warning in warnings:
        print(f"tenantguard: warning: {warning}", file=sys.stderr)
    text, failed = explain(sql, policy)
    sys.stdout.write(text)
    return EXIT_FINDINGS if failed else EXIT_CLEAN


def _rule(args: argparse.Namespace) -> int:
    from tenantguard.catalog import CATALOG, rule_doc  # patch rules load pglast: only here

    if args.all or not args.code:
        for rule in CATALOG:
            print(f"{rule.code}  {rule.name:<40} {rule.info.severity}")
        return EXIT_CLEAN
    found = rule_doc(args.code)
    if found is None:
        known = ", ".join(r.code for r in CATALOG)
        print(f"tenantguard: error: unknown rule {args.code!r} (known: {known})", file=sys.stderr)
        return EXIT_ERROR
    print(found.doc)
    return EXIT_CLEAN


def _patches(args: argparse.Namespace) -> int:
    from tenantguard.patches.commands import run_patch_command

    if args.verb is None:
        print(
            "tenantguard: error: patches needs a verb: lint, apply, status, verify or sync",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if args.verb == "lint":
        return _check(args, patch_rules_only=True)
    settings = load_settings(isolated=args.isolated, config=args.config)
    return run_patch_command(args, settings)


def _audit(args: argparse.Namespace) -> int:
    from tenantguard.audit.command import run_audit  # asyncpg and the catalog rules: only here

    return run_audit(args, _settings(args))


def _demo(args: argparse.Namespace) -> int:
    from tenantguard.demo import run_demo

    return run_demo(load_settings())


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    try:
        handler = {
            "check": _check,
            "explain": _explain,
            "rule": _rule,
            "demo": _demo,
            "patches": _patches,
            "audit": _audit,
        }[args.command]
        return handler(args)
    except ConfigError as error:
        print(f"tenantguard: configuration error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN
    except Exception as error:  # an internal error must still give exit 2 and say what to do
        print(
            f"tenantguard: internal error: {type(error).__name__}: {error}\n"
            "Please report this with the input that caused it.",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
