"""The command line: `tenantguard check | explain | rule`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tenantguard import __version__
from tenantguard.baseline import read_baseline, subtract_baseline, write_baseline
from tenantguard.config import (
    Settings,
    build_policy,
    load_settings,
    require_tenant_tables,
    settings_for_paths,
)
from tenantguard.engine.findings import Finding, Severity
from tenantguard.errors import ConfigError
from tenantguard.report import (
    FORMATS,
    Style,
    Summary,
    colour_wanted,
    render,
    render_statistics,
)
from tenantguard.selection import EnabledRules, RuleSelection, parse_selectors
from tenantguard.sources.walk import FileReport, SourceFile, discover, stdin_source

if TYPE_CHECKING:
    from tenantguard.cache import PolicyFacts
    from tenantguard.engine.policy import Policy
    from tenantguard.sources.pyflow import Consulted, ProjectIndex
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


def _output_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of `check` and `patches lint`: output, rule selection, which files."""
    parser.add_argument(
        "--format",
        "--output-format",
        dest="format",
        choices=FORMATS,
        default="text",
        help="output format (default text; full is text, concise is one line per finding)",
    )
    selection = parser.add_argument_group("rule selection (as in ruff)")
    selection.add_argument(
        "--select",
        metavar="CODES",
        help="rules to report, comma-separated codes, prefixes (TG0) or ALL; "
        "replaces select, extend_select and ignore of the configuration",
    )
    selection.add_argument(
        "--extend-select", metavar="CODES", help="rules to report on top of the selection"
    )
    selection.add_argument(
        "--ignore", metavar="CODES", help="rules not to report (added to the configuration's)"
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when findings are reported"
    )
    output.add_argument(
        "--statistics",
        action="store_true",
        help="print how many findings each rule has instead of the findings (text or json)",
    )
    output.add_argument(
        "-q", "--quiet", action="store_true", help="print the findings and nothing else"
    )
    files = parser.add_argument_group("files")
    files.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="read the source from standard input (or PATH '-') and report it as PATH; "
        "its extension says whether it is Python or SQL",
    )
    files.add_argument(
        "--force-exclude",
        action="store_true",
        default=None,
        help="apply exclude to files named on the command line too (for pre-commit)",
    )
    files.add_argument(
        "--no-cache", action="store_true", help="neither read nor write .tenantguard_cache/"
    )


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _selectors(value: str | None, flag: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    return parse_selectors(value.split(","), flag)


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
        allow_abbrev=False,  # `--tenant-colum` must be an error, not `--tenant-column`
    )
    parser.add_argument("-V", "--version", action="version", version=f"tenantguard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="check .sql and .py files",
        description="Check .sql and .py files and directories (default: the current directory; "
        "'-' reads standard input).",
        allow_abbrev=False,
    )
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    _output_flags(check)
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
        allow_abbrev=False,
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
        allow_abbrev=False,
        help="the schema patch pipeline: lint, apply, status, verify, sync",
        description="Numbered, idempotent SQL patches applied at startup under a lock, and the "
        "baseline schema for new installs kept equal to what they build.",
    )
    verbs = patches.add_subparsers(dest="verb", metavar="VERB")
    lint = verbs.add_parser(
        "lint", help="check patches with the patch rules (same flags as check)", allow_abbrev=False
    )
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    _output_flags(lint)
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
        command = verbs.add_parser(
            verb, help=text, description=text[0].upper() + text[1:] + ".", allow_abbrev=False
        )
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

    commands.add_parser(
        "demo",
        help="run the runtime guard on a throwaway PostgreSQL",
        description=(
            "Start a throwaway PostgreSQL from the local server binaries, load a small clinic "
            "schema shipped with tenantguard, serve requests of two clinics through a guarded "
            "pool, show what the guard blocks, and clean up. Runs from any directory."
        ),
        allow_abbrev=False,
    )

    init = commands.add_parser(
        "init",
        help="propose and write [tool.tenantguard] from the schema found in the project",
        description=(
            "Read the schema sources of the project (patches, migrations, db/, *.sql), propose "
            "the tenant column (the column most tables use to reference one registry table), "
            "the tenant root and the tenant tables, say why, and write [tool.tenantguard] "
            "into pyproject.toml. Then run `tenantguard check --write-baseline FILE` to record "
            "today's findings."
        ),
        allow_abbrev=False,
    )
    init.add_argument(
        "directory", nargs="?", type=Path, default=Path("."), help="the project (default: .)"
    )
    init.add_argument(
        "--dry-run", action="store_true", help="print the configuration instead of writing it"
    )

    rule = commands.add_parser(
        "rule",
        help="print a rule's documentation",
        description="Print a rule's documentation, or list every rule.",
        allow_abbrev=False,
    )
    rule.add_argument("code", nargs="?", help="rule code or name, e.g. TG001")
    rule.add_argument("--all", action="store_true", help="list every rule")
    return parser


def _catalog_rules() -> list[tuple[str, str]]:
    from tenantguard.catalog import CATALOG  # patch rules load pglast: only when checking

    return [(rule.code, rule.name) for rule in CATALOG]


def _read_stdin() -> str:
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    if isinstance(data, bytes):
        return data.decode("utf-8-sig", errors="replace")
    return data


@dataclass
class _Group:
    """The files of one configuration (the nearest one from each checked path upward)."""

    settings: Settings
    selection: RuleSelection
    files: list[SourceFile]
    texts: dict[str, str] = field(default_factory=dict)  # display -> standard input's text
    reads_stdin: bool = False


def _groups(args: argparse.Namespace, patch_rules_only: bool) -> list[_Group] | None:
    """The configuration groups of the paths to check and their files; None when a path does
    not exist (said on standard error)."""
    select = _selectors(args.select, "--select")
    extend_select = _selectors(args.extend_select, "--extend-select") or ()
    ignore = _selectors(args.ignore, "--ignore") or ()
    paths: list[Path] = list(args.paths) or ([Path("-")] if args.stdin_filename else [])
    stdin: Path | None = None  # found again by identity among a group's paths
    named: list[Path] = []
    for path in paths:
        if str(path) != "-":
            named.append(path)
        elif stdin is None:
            given = Path(args.stdin_filename or "-")
            # the configuration of where the file would be, even when there is no such file
            stdin = given if given.exists() or not given.parent.is_dir() else given.parent
    if named or stdin is not None:
        found = settings_for_paths(
            [*named, *([stdin] if stdin is not None else [])],
            isolated=args.isolated,
            config=args.config,
        )
        grouped = [(_with_flags(settings, args), members) for settings, members in found]
    else:
        settings = _settings(args)
        default = settings.root / settings.patch_dir if patch_rules_only else Path(".")
        grouped = [(settings, [default])]
    groups: list[_Group] = []
    missing_any = False
    for settings, members in grouped:
        force_exclude = settings.force_exclude or bool(args.force_exclude)
        pipeline = [settings.patch_dir, *settings.schema_paths]
        on_disk = [p for p in members if p is not stdin]
        files, missing = discover(
            on_disk,
            root=settings.root,
            include=settings.include,
            exclude=settings.exclude,
            pipeline=pipeline,
            patch_dir=settings.patch_dir,
            force_exclude=force_exclude,
            respect_gitignore=settings.respect_gitignore,
        )
        for name in missing:
            print(f"tenantguard: error: {name}: no such file or directory", file=sys.stderr)
        missing_any = missing_any or bool(missing)
        group = _Group(settings, settings.rule_selection(select, extend_select, ignore), files)
        if any(p is stdin for p in members):
            text = _read_stdin()
            source = stdin_source(
                args.stdin_filename or "-",
                text,
                root=settings.root,
                exclude=settings.exclude if force_exclude else (),
                pipeline=pipeline,
                patch_dir=settings.patch_dir,
            )
            group.reads_stdin = True
            if source is not None:
                files.append(source)
                group.texts[source.display] = text
        groups.append(group)
    return None if missing_any else groups


def _check_group(
    group: _Group, args: argparse.Namespace, *, jobs: int | None, patch_rules_only: bool
) -> tuple[list[FileReport], PolicyFacts]:
    """The reports of a group's files, from the cache where it holds them, and what building
    the policy said (warnings, unreadable schema statements)."""
    from tenantguard.cache import CheckCache, PolicyFacts

    settings, files = group.settings, group.files
    cache = None
    if not args.no_cache and not group.reads_stdin and files:
        cache = CheckCache.open(settings, repr((patch_rules_only, group.selection.key())))
    done, digests = cache.lookup(files) if cache is not None else ({}, {})
    pending = [f for f in files if f.display not in done]
    facts = cache.facts if cache is not None else None
    if facts is not None and not facts.tenant_tables and not patch_rules_only:
        facts = None  # fails closed: building the policy says why
    consulted: list[Consulted | None] = []
    if pending or facts is None:
        warnings: list[str] = []
        problems: list[SchemaProblem] = []
        policy = build_policy(settings, warnings, problems)
        if not patch_rules_only:  # the patch rules need no tenant table
            require_tenant_tables(policy, settings)
        facts = PolicyFacts(
            len(policy.tenant_tables),
            tuple(warnings),
            tuple((p.path, p.line, p.column, p.message, p.text) for p in problems),
        )
        checked = _run_checks(pending, group, policy, jobs=jobs, patch_rules_only=patch_rules_only)
        for source, report in zip(pending, checked, strict=True):
            done[source.display] = report
            if cache is not None and source.display in digests:
                cache.store(source, digests[source.display], report)
        consulted = [r.consulted for r in checked]
    if cache is not None:
        cache.save(facts, consulted, [f for f in files if f.path.suffix == ".py"])
    return [done[f.display] for f in files], facts


def _python_index(files: Sequence[SourceFile], sql_functions: Sequence[str]) -> ProjectIndex | None:
    """What the group's Python files define (every one, cached or not: what a file may import
    or call); None when there is no Python file (the Python reader is not even loaded)."""
    python = [str(s.path) for s in files if s.path.suffix == ".py"]
    if not python:
        return None
    from tenantguard.sources.pyflow import ProjectIndex

    return ProjectIndex(python, sql_functions)


def _run_checks(
    pending: list[SourceFile],
    group: _Group,
    policy: Policy,
    *,
    jobs: int | None,
    patch_rules_only: bool,
) -> list[FileReport]:
    """Analyses the files: loads sqlglot."""
    from tenantguard.engine.analyze import Analyzer
    from tenantguard.sources.files import CheckOptions, check_files

    settings = group.settings
    rules = _enabled_rules(group.selection)
    patch_directory = settings.root / settings.patch_dir

    def patch_linter(text: str, path: Path) -> list[Finding]:
        from tenantguard.patches.lint import lint_patch_text  # pglast loads only for patches

        return lint_patch_text(text, str(path), policy, patch_directory)

    options = CheckOptions(
        unresolved_severity=Severity(settings.unresolved_severity),
        patch_linter=patch_linter,
        patch_rules_only=patch_rules_only,
        rules=rules,
        python_index=_python_index(group.files, settings.sql_functions),
    )
    analyzer = Analyzer(policy)
    patch_analyzer = Analyzer(policy, in_patch=True)
    return check_files(pending, analyzer, patch_analyzer, jobs=jobs, options=options)


def _enabled_rules(selection: RuleSelection) -> EnabledRules | None:
    """None when every rule runs everywhere: the common case needs no catalog (its patch
    rules load pglast)."""
    if selection.is_default:
        return None
    rules = EnabledRules.build(_catalog_rules(), selection)
    return None if rules.everything else rules


def _check(args: argparse.Namespace, *, patch_rules_only: bool = False) -> int:
    if args.statistics and args.format not in ("text", "full", "concise", "json"):
        print(
            "tenantguard: error: --statistics prints text or json; drop --format "
            f"{args.format} or --statistics",
            file=sys.stderr,
        )
        return EXIT_ERROR
    jobs: int | None = getattr(args, "jobs", None)  # `patches lint` has no --jobs, no baselines
    baseline_file: Path | None = getattr(args, "baseline", None)
    write_file: Path | None = getattr(args, "write_baseline", None)
    if jobs is not None and jobs < 1:
        print("tenantguard: error: --jobs must be at least 1", file=sys.stderr)
        return EXIT_ERROR
    groups = _groups(args, patch_rules_only)
    if groups is None:
        return EXIT_ERROR
    known = read_baseline(baseline_file) if baseline_file else None
    findings: list[Finding] = []
    texts: dict[str, str] = {}
    files = statements = schema_statements = 0
    for group in groups:
        reports, facts = _check_group(group, args, jobs=jobs, patch_rules_only=patch_rules_only)
        for warning in facts.warnings:
            print(f"tenantguard: warning: {warning}", file=sys.stderr)
        for report in reports:
            for note in report.notes:
                print(f"tenantguard: note: {note}", file=sys.stderr)
        findings.extend(f for r in reports for f in r.findings)
        checked = {os.path.abspath(s.path) for s in group.files}
        problems = [p for p in facts.problems if os.path.abspath(p[0]) not in checked]
        findings.extend(_schema_findings(problems, group))
        texts.update(group.texts)
        files += len(group.files)
        statements += sum(r.statements for r in reports)
        schema_statements += sum(r.statements for r in reports if r.schema)
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.code))
    if write_file:
        count = write_baseline(write_file, findings)
        if not args.quiet:
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
    style = Style(colour=colour_wanted(sys.stdout), quiet=args.quiet, texts=texts)
    if args.statistics:
        sys.stdout.write(render_statistics(args.format, findings, style))
    else:
        summary = Summary(files, statements, schema_statements, hidden)
        sys.stdout.write(render(args.format, findings, files, statements, style, summary=summary))
    failed = any(f.severity is Severity.ERROR for f in findings)
    return EXIT_FINDINGS if failed and not args.exit_zero else EXIT_CLEAN


def _schema_findings(
    problems: list[tuple[str, int, int, str, str]], group: _Group
) -> list[Finding]:
    """A schema statement that cannot be read: an error at its file and line (the tables it
    may create are treated as tenant tables when its text holds the tenant column). Reported
    when the file is not among those checked (the patch rules report it there), and when the
    rule selection reports TG006 in that file."""
    rules = _enabled_rules(group.selection) if problems else None
    root = os.path.realpath(group.settings.root)
    findings = []
    for where, line, column, message, text in problems:
        if rules is not None:
            relative = os.path.relpath(os.path.realpath(where), root)
            inside = not relative.startswith(os.pardir)
            if "TG006" not in rules.in_file(relative.replace(os.sep, "/") if inside else None):
                continue
        try:
            path = os.path.relpath(where)
        except ValueError:
            path = where
        findings.append(
            Finding(
                "TG006",
                "unprovable-statement",
                Severity.ERROR,
                f"cannot read this schema statement: {message}; the tenant tables it "
                "may create are guessed from its text",
                "fix the statement so that PostgreSQL's parser reads it (psql meta-commands "
                "are skipped)",
                line,
                column,
                line,
                column + 1,
                path,
                text,
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
    if args.verb is None:
        print(
            "tenantguard: error: patches needs a verb: lint, apply, status, verify or sync",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if args.verb == "lint":
        return _check(args, patch_rules_only=True)
    try:
        from tenantguard.patches.commands import run_patch_command
    except ModuleNotFoundError as error:
        if error.name != "asyncpg":
            raise
        print(
            f"tenantguard: error: patches {args.verb} talks to PostgreSQL through asyncpg: "
            "pip install 'tenantguard[runtime]'",
            file=sys.stderr,
        )
        return EXIT_ERROR
    settings = load_settings(isolated=args.isolated, config=args.config)
    return run_patch_command(args, settings)


def _demo(args: argparse.Namespace) -> int:
    from tenantguard.demo import run_demo

    return run_demo()


def _init(args: argparse.Namespace) -> int:
    from tenantguard.init import run_init

    return run_init(args.directory, dry_run=args.dry_run)


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
            "init": _init,
            "patches": _patches,
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
