"""The command line: `tenantguard check | explain | rule | patches | audit | demo`."""

from __future__ import annotations

import argparse
import contextlib
import heapq
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache as cache_function
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tenantguard import __version__, _sqlglotc
from tenantguard.config import (
    Settings,
    build_policy,
    check_cache_environment,
    find_config,
    load_settings,
    overridden_pyproject,
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
    render_statistics,
    write_report,
)
from tenantguard.selection import EnabledRules, RuleSelection, parse_selectors
from tenantguard.sources.walk import (
    FileReport,
    SourceFile,
    base_class_files,
    discover,
    from_named,
    importing_files,
    is_python,
    merge_read_files,
    reading_files,
    said_at_the_calls,
    special_kind,
    stdin_source,
)

if TYPE_CHECKING:
    from tenantguard.baseline import Known
    from tenantguard.cache import CheckCache, PolicyFacts, StoredVerdicts
    from tenantguard.engine.policy import Policy
    from tenantguard.sources.pyflow import Consulted
    from tenantguard.sources.schema.records import SchemaProblem

__all__ = ["main"]

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# whether a report has begun on stdout (a failure after it prints no second document)
_REPORT_BEGUN = [False]


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
    tables = _split(args.tenant_tables)
    if tables == () and settings.tenant_tables:
        # `--tenant-tables ","` (an unset `$TABLES`) replaced the configured tables with none,
        # and the error then said "none configured" (h32k)
        from tenantguard.config import describe_settings

        raise ConfigError(
            f"--tenant-tables {args.tenant_tables!r} names no table, and would replace the "
            f"tenant tables of {describe_settings(settings)} "
            f"({', '.join(settings.tenant_tables)}) with none: name the tables (a,b,c), or "
            "leave the flag out to use the configured ones"
        )
    return settings.with_overrides(
        tenant_column=args.tenant_column,
        tenant_tables=tables,
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


def _terminal_width() -> int:
    """What `shutil.get_terminal_size` says of the columns, without importing shutil."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, told the terminal's width. (argparse makes one for every argument
    it adds, and each imports shutil (zlib, bz2, lzma) to ask the terminal: a fifth of the
    start-up's own time.)"""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = _terminal_width() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose formatter is `_Formatter`, and whose subcommands other than
    `only` (when given) are inert: named, with their help, but given no arguments (argparse
    makes a formatter for every argument added: the one command run is all a run needs)."""

    inert = False

    def __init__(self, *, only: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(**kwargs)
        words = self.prog.split()  # "tenantguard COMMAND [VERB]"
        self.only = only
        self.inert = only is not None and len(words) > 1 and words[1] != only

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        return None if self.inert else super().add_argument(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        _USAGE_ERROR[:] = [message]  # said in the error document of a machine format (main)
        super().error(message)

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        return _Inert() if self.inert else super().add_argument_group(*args, **kwargs)

    def add_subparsers(self, **kwargs: Any) -> Any:
        kwargs.setdefault("parser_class", partial(_Parser, only=self.only))
        return super().add_subparsers(**kwargs)


class _Inert:
    """An argument group of an inert parser: takes arguments, keeps none."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        return None


_CHECK_EPILOG = (
    "Exit codes: 0 no error-level finding (or --exit-zero); 1 error-level findings; 2 a usage "
    "error (an unknown flag, a path that does not exist, no file found, --jobs below 1), a "
    "configuration error (no tenant table, an unknown key or a value that cannot mean "
    "anything, a baseline that is not one), an internal error, or a report cut off by its "
    "reader (| head) — in json, sarif and github a document naming the error; 130 "
    "interrupted (Ctrl-C). Tests are checked as the application is; a fixture that empties a "
    'tenant table (TRUNCATE in a conftest.py) is TG005: per_file_ignores = {"tests/**/'
    'conftest.py" = ["TG005"]} leaves it out there (init writes it when it finds one).'
)


def _build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with `only`, that command's arguments alone."""
    parser = _Parser(
        only=only,
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
        epilog=_CHECK_EPILOG,
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
    check.add_argument(
        "--check-dependents",
        action="store_true",
        help="a named schema source or configuration file checks every file of its project "
        "(a schema change can make an unchanged query leak); other named .toml files are "
        "passed over (for pre-commit)",
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
        epilog="Exit codes: 0 proven (or nothing to prove), 1 an error-level finding, 2 usage "
        "or configuration error (in json, a document naming it).",
    )
    explain.add_argument(
        "sql", nargs="?", help="the SQL statement (or use -f; '-' reads standard input)"
    )
    explain.add_argument(
        "-f", "--file", type=Path, help="read the SQL from this file ('-' for standard input)"
    )
    explain.add_argument(
        "--format",
        "--output-format",
        dest="format",
        choices=("text", "json"),
        default="text",
        help="output format (default text; json: one document, each statement's references, "
        "what pins them, findings and verdict)",
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
            command.add_argument(
                "--throwaway-server",
                action="store_true",
                help="the server is a throwaway one: run patches that change its roles, settings "
                "or other databases (refused otherwise: they would change the live server)",
            )
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
        allow_abbrev=False,
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


def _read_stdin() -> bytes:
    """Standard input's bytes: decoded as a file's are (a NUL byte, or bytes that are not
    UTF-8, are TG006, not replacement characters)."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    return data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape")


def _without_baseline(
    args: argparse.Namespace,
    groups: list[_Group],
    findings: Iterator[Finding],
    tally: _Tally,
    known: Known,
    write_file: Path | None,
) -> tuple[Iterator[Finding], Callable[[], list[dict[str, object]]]]:
    """The findings `--baseline` does not hide, and what gives its entries of checked files
    that no finding matched once they are all read. With `--write-baseline` too (an update:
    h36H — it wrote every finding, a new leak recorded beside the old ones and exit 0), the
    baseline is written again with the entries still found and those of files not checked:
    the fixed ones dropped, nothing new recorded; the new findings are reported."""
    from collections import Counter

    from tenantguard.baseline import keyed_path, stale_entries, without_baseline

    base = Path(args.baseline).resolve().parent  # the baseline's paths start there
    ran: dict[str, frozenset[str] | None] = {}  # checked file -> the rules run (None: all)
    for group in groups:
        rules = _enabled_rules(group.selection)
        for source in group.files:
            codes = None if rules is None else rules.in_file(source.relative)
            ran[keyed_path(str(source.path), base)] = codes

    def judged(path: str, rule: str) -> bool:
        return path in ran and ((codes := ran[path]) is None or rule in codes)

    remaining = Counter(known)
    matched: list[Finding] | None = [] if write_file else None
    roots = sorted({os.path.realpath(g.settings.root) for g in groups})
    kept = tally.reported(
        without_baseline(
            tally.seen(findings), known, base, remaining=remaining, matched=matched, roots=roots
        )
    )

    def stale() -> list[dict[str, object]]:
        return stale_entries(known, remaining, judged)

    if write_file is None or matched is None:
        return kept, stale
    from tenantguard.baseline import write_baseline

    new = list(kept)  # every finding read: what matched is known
    dropped = stale()
    others = [
        entry
        for key, entry in known.entries.items()
        if not judged(str(entry.get("path")), str(entry.get("rule")))
        for _ in range(known[key])
    ]
    count = write_baseline(write_file, matched, others)
    if not args.quiet:
        gone = len(dropped)
        print(
            f"tenantguard: wrote {count} finding{'s' * (count != 1)} to the baseline "
            f"{write_file} ({gone} entr{'ies' if gone != 1 else 'y'} that match"
            f"{'es' * (gone == 1)} no finding any more dropped); {len(new)} new "
            f"finding{'s' * (len(new) != 1)} not recorded: fix them, or record every finding "
            "with --write-baseline alone",
            file=sys.stderr,
        )
    return iter(new), stale


def _say_stale(baseline: Path, entries: list[dict[str, object]]) -> None:
    """The baseline's entries of checked files that no finding matched: their leaks were
    fixed, and the entries would hide the same statements brought back (h36H)."""
    if not entries:
        return
    shown = "; ".join(f"{e.get('path')} {e.get('rule')}: {e.get('message')}" for e in entries[:3])
    more = f"; and {len(entries) - 3} more" if len(entries) > 3 else ""
    count = len(entries)
    print(
        f"tenantguard: note: {count} entr{'ies' if count != 1 else 'y'} of the baseline "
        f"{baseline} match{'es' * (count == 1)} no finding any more ({shown}{more}): "
        f"fixed, but kept, {'they' if count != 1 else 'it'} would hide the same statement "
        f"brought back; drop {'them' if count != 1 else 'it'} with `tenantguard check --baseline {baseline} "
        f"--write-baseline {baseline}`",
        file=sys.stderr,
    )


# a plain class: a dataclass costs a fresh process ~1 M instructions to build at import
class _Group:
    """The files of one configuration (the nearest one from each checked path upward)."""

    __slots__ = ("files", "reads_stdin", "selection", "services", "settings", "texts", "walked")

    def __init__(self, settings: Settings, selection: RuleSelection, files: list[SourceFile]):
        self.settings = settings
        self.selection = selection
        self.files = files
        self.texts: dict[str, str] = {}  # display -> standard input's text
        self.reads_stdin = False
        self.walked = False  # the project's root was walked (not only files, or a subtree)
        # directories below with a configuration of their own, when this group has none: the
        # files it holds are those no service covers (said if its policy cannot be built)
        self.services: list[str] = []


def _holds_configuration(directory: str, names: list[str], *, cache: bool) -> bool:
    """Whether `directory` (resolved; its file names) holds a configuration of its own: a
    `tenantguard.toml`, or a pyproject.toml with [tool.tenantguard]."""
    if "tenantguard.toml" in names:
        return True
    if "pyproject.toml" not in names:
        return False
    found = find_config(Path(directory), cache=cache)
    return found is not None and os.fspath(found.parent) == directory


def _no_patch_directory(settings: Settings, name: str) -> str:
    """`patches lint` with no path, in a project without its patch directory."""
    where = (
        f"patch_dir = {settings.patch_dir!r} in {settings.config_file}"
        if "patch_dir" in settings.configured
        else f"the default patch_dir, {settings.patch_dir!r}"
    )
    schema = next(iter(settings.schema_paths), "db/migrations")
    return (
        f"{name}: no such directory ({where}): name what to lint (`tenantguard patches lint "
        f"{schema}`), or set patch_dir in [tool.tenantguard]"
    )


# the first line of what `patches sync` writes, and pg_dump's own header
_BASELINE_HEADERS = ("-- Baseline schema for new installations.", "--\n-- PostgreSQL database dump")


def _is_baseline(path: Path, settings: Settings) -> bool:
    """Whether a file outside the patch directory is a baseline (the configured one, or a dump
    by `patches sync` or pg_dump), which `patches lint` does not take for a patch (round 35,
    helper h35E: `patches lint patches db` linted the shipped baseline as a patch, 133 errors
    — its BEGIN/COMMIT, its unguarded CREATE TABLEs)."""
    if os.path.realpath(path) == os.path.realpath(settings.root / settings.baseline):
        return True
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            head = handle.read(256).replace("\r\n", "\n")
    except OSError:
        return False
    if not head.startswith(_BASELINE_HEADERS):
        return False
    from tenantguard.patches.files import is_patch_name

    try:
        siblings = [] if not is_patch_name(path.name) else os.listdir(path.parent)
    except OSError:
        siblings = []
    # a patch among patches: `patches apply --dir` applies it one by one, whatever its first
    # lines say (round 35, helper h35U: a baseline's header pasted into migrations/0002_b.sql
    # left its COMMIT and unguarded CREATE TABLE out of the lint)
    return not any(name != path.name and is_patch_name(name) for name in siblings)


def _baseline_note(baselines: list[SourceFile], settings: Settings) -> str:
    names = ", ".join(f.display for f in baselines)
    where = (
        f"baseline = {settings.baseline!r} in {settings.config_file}"
        if "baseline" in settings.configured
        else "a schema dump"
    )
    return (
        f"{names} is the baseline ({where}), not a patch: the patch rules are for the patches "
        f"in {settings.patch_dir}, which the runner applies one by one; a baseline is a whole "
        "schema loaded at once, and `tenantguard patches verify` proves it equal to what the "
        "patches build. Not linted as a patch"
    )


def _within(path: Path, other: Path) -> bool:
    """Whether `path` is `other` or below it (both resolved)."""
    inner, outer = os.path.realpath(path), os.path.realpath(other)
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def _with_dependents(members: list[Path], settings: Settings, pipeline: list[str]) -> list[Path]:
    """`--check-dependents` (the pre-commit hook's): the named files, or the project's root when
    one of them is a schema source, a patch or the configuration — what every verdict of the
    project depends on. pre-commit names the staged files only: a migration giving `tags` the
    tenant column was committed while the unchanged app/tags.py read every tenant's tags
    (h36H). A named .toml that is not the configuration is another tool's: passed over."""
    kept: list[Path] = []
    reason = None
    for path in members:
        if path.suffix.lower() == ".toml":
            if settings.config_file is not None and _within(path, settings.config_file):
                reason = reason or f"{path} is the configuration"
            continue
        kept.append(path)
        if reason is None and any(_within(path, settings.root / p) for p in pipeline):
            reason = f"{path} is a schema source"
    if reason is None:
        return kept
    root = Path(os.path.relpath(settings.root))  # findings named as a walk of `.` names them
    print(
        f"tenantguard: note: {reason}: every file of the project ({root.as_posix()}) is "
        "checked against it (--check-dependents)",
        file=sys.stderr,
    )
    return [root]


def _tracked(files: list[SourceFile], root: Path) -> list[SourceFile]:
    """Of the files a `--check-dependents` walk found, those git's index holds (what the
    commit will hold): a file left untracked in the working tree (a scratch script) is not the
    commit's and does not block it. Outside a git work tree, or without git, all of them."""
    import subprocess

    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return files
    index = {os.path.realpath(root / os.fsdecode(n)) for n in listed.split(b"\0") if n}
    return [f for f in files if os.path.realpath(f.path) in index]


def _groups(
    args: argparse.Namespace, patch_rules_only: bool, errors: list[str]
) -> list[_Group] | None:
    """The configuration groups of the paths to check and their files; None when a path does
    not exist, cannot be listed or holds no file to check (said in `errors`)."""
    select = _selectors(args.select, "--select")
    extend_select = _selectors(args.extend_select, "--extend-select") or ()
    ignore = _selectors(args.ignore, "--ignore") or ()
    paths: list[Path] = list(args.paths) or ([Path("-")] if args.stdin_filename else [])
    if args.stdin_filename and all(str(p) != "-" for p in paths):
        # an editor's `--stdin-filename app/q.sql app/q.sql`: its buffer is on standard input;
        # the file on disk was checked and the buffer dropped in silence (h35H). As ruff does:
        # standard input is read, and the paths left aside are named
        for path in paths:
            print(
                f"tenantguard: warning: ignoring {path} in favour of standard input "
                f"(--stdin-filename {args.stdin_filename})",
                file=sys.stderr,
            )
        paths = [Path("-")]
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
            cache=not args.no_cache,
        )
        grouped = [(_with_flags(settings, args), members) for settings, members in found]
    else:
        settings = _settings(args)
        default = settings.root / settings.patch_dir if patch_rules_only else Path(".")
        grouped = [(settings, [default])]
    groups: list[_Group] = []
    missing_any = False
    nested = None
    if not (args.isolated or args.config is not None or patch_rules_only):
        nested = partial(_holds_configuration, cache=not args.no_cache)
    overridden: set[Path] = set()
    for settings, members in grouped:  # grows by the nested projects a walk finds
        beside = overridden_pyproject(settings.config_file, cache=not args.no_cache)
        if beside is not None and beside not in overridden:
            overridden.add(beside)
            print(
                f"tenantguard: warning: {beside} has [tool.tenantguard], but "
                f"{settings.config_file} beside it is the configuration read; merge them into "
                "one",
                file=sys.stderr,
            )
        force_exclude = settings.force_exclude or bool(args.force_exclude)
        pipeline = [settings.patch_dir, *settings.schema_paths]
        on_disk = [p for p in members if p is not stdin]
        dependents = False
        if getattr(args, "check_dependents", False):
            named_here = on_disk
            on_disk = _with_dependents(on_disk, settings, pipeline)
            dependents = on_disk != [p for p in named_here if p.suffix.lower() != ".toml"]
            if not on_disk and not any(p is stdin for p in members):
                continue  # only another tool's .toml was named: nothing of ours to check
        skipped: list[str] = []
        unreadable: list[str] = []
        projects: list[str] = []
        special: list[str] = []
        files, missing = discover(
            on_disk,
            root=settings.root,
            include=settings.include,
            exclude=settings.exclude,
            pipeline=pipeline,
            patch_dir=settings.patch_dir,
            force_exclude=force_exclude,
            respect_gitignore=settings.respect_gitignore,
            skipped=skipped,
            unreadable=unreadable,
            nested=nested,
            projects=projects,
            special=special,
        )
        if dependents:
            files = _tracked(files, settings.root)
        if projects:  # checked with their own configuration, as ruff does (and once)
            for found_settings, found_members in settings_for_paths(
                [Path(p) for p in projects], cache=not args.no_cache
            ):
                kept = [
                    p
                    for p in found_members
                    if not any(
                        other.config_file == found_settings.config_file
                        and any(_within(p, q) for q in other_members if q is not stdin)
                        for other, other_members in grouped
                    )
                ]
                if kept:
                    grouped.append((_with_flags(found_settings, args), kept))
        for folder in skipped:  # ruff skips these in silence; a gate says what it did not read
            print(
                f"tenantguard: note: {folder}{os.sep} is not checked: a tool or build directory "
                "by its name (ruff's default exclusions: build, dist, venv…) outside a Python "
                "package, yet it holds SQL or Python files; name it on the command line to "
                "check it, or add it to `exclude` (or .gitignore) to say it is not your code",
                file=sys.stderr,
            )
        for name in special:
            print(
                f"tenantguard: note: {name}, not a file: not read (it has no text to check)",
                file=sys.stderr,
            )
        errors.extend(
            f"{name}: {kind}, not a file: nothing to check (standard input is `-`)"
            if (kind := special_kind(name)) is not None
            else _no_patch_directory(settings, name)
            if patch_rules_only and not args.paths
            else f"{name}: no such file or directory"
            for name in missing
        )
        errors.extend(unreadable)  # its files unchecked: an error, not a pass
        missing_any = missing_any or bool(missing) or bool(unreadable)
        if patch_rules_only and files:
            baselines = [f for f in files if not f.is_patch and _is_baseline(f.path, settings)]
            if baselines:
                files = [f for f in files if f not in baselines]
                said = _baseline_note(baselines, settings)
                if not files and stdin is None:
                    errors.append(said)
                    missing_any = True
                    continue
                print(f"tenantguard: note: {said}", file=sys.stderr)
        walked = [p for p in on_disk if os.path.isdir(p)]
        if walked and not files and not (missing or unreadable or projects) and stdin is None:
            # a gate that checks nothing passes everything: said, not a silent pass
            where = ", ".join(os.fspath(p) for p in walked)
            errors.append(
                f"no file under {where} matches include = {list(settings.include)!r} (less "
                "those excluded, and those .gitignore ignores): nothing was checked; fix "
                "include/exclude in the configuration (or .gitignore), or name the files to "
                "check"
            )
            missing_any = True
        if projects and not files and not any(p is stdin for p in members):
            # every file the walk found belongs to a project below with its own configuration:
            # this one governs none, and its policy (maybe none at all) is not built
            continue
        group = _Group(settings, settings.rule_selection(select, extend_select, ignore), files)
        root = os.path.realpath(settings.root)
        group.walked = any(os.path.realpath(p) == root for p in walked)  # the whole project
        if settings.config_file is None:
            group.services = projects
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
                group.texts[source.display] = text.decode("utf-8-sig", errors="replace")
        groups.append(group)
    return None if missing_any else groups


def _check_group(
    group: _Group, args: argparse.Namespace, *, jobs: int | None, patch_rules_only: bool
) -> tuple[Iterator[FileReport], PolicyFacts]:
    """The reports of a group's files in the order of their paths as displayed, and what
    building the policy said (warnings, unreadable schema statements).

    The policy is built here, before any file is checked: a configuration error stops the run
    before anything is reported. The reports come from the cache where it holds them; the
    others as their files are checked (on one process, one at a time: a report can be written
    and let go before the next file is read). The cache is saved after the last one.
    """
    from tenantguard.cache import CheckCache, PolicyFacts, StoredVerdicts

    settings = group.settings
    project = _project_python(settings)
    # (a run of some files: those a named file's subclasses fill the SQL of, checked for it)
    # (named as `Finding.read_from` and "(in SQL from …)" name a file: from the project's root,
    # not as given: `backend/app/q.py` run from the git root, `../app/q.py` from a subfolder)
    top = os.path.realpath(settings.root)
    named = [
        os.path.relpath(os.path.realpath(f.path), top).replace(os.sep, "/")
        for f in group.files
        if f.text is None and (is_python(f.path) or not f.in_patch)
    ]
    lent = (
        _lent_files(group.files, settings, project, getattr(args, "check_dependents", False))
        if named and not group.walked
        else []
    )
    # the order findings are reported in
    files = sorted([*group.files, *lent], key=lambda f: f.display)
    cache = store = None
    if not args.no_cache and not group.reads_stdin and files:
        cache = CheckCache.open(settings, repr((patch_rules_only, group.selection.key())))
        store = StoredVerdicts.beside(cache)
    done, digests = cache.lookup(files, project) if cache is not None else ({}, {})
    pending = [f for f in files if f.display not in done]
    if sum(f.size or len(f.text or "") for f in pending) <= _FEW_STATEMENTS_BYTES:
        _sqlglotc.prefer_source()  # a dozen statements at most to parse: the faster import wins
    facts = cache.facts if cache is not None else None
    if facts is not None and not facts.tenant_tables and not patch_rules_only:
        facts = None  # fails closed: building the policy says why
    checked: Iterator[FileReport] = iter(())
    policy: Policy | Callable[[], Policy]
    if facts is None:
        warnings: list[str] = []
        problems: list[SchemaProblem] = []
        try:
            policy = _policy(
                settings, patch_rules_only, warnings, problems, cache=not args.no_cache
            )
        except ConfigError as error:
            if not group.services:
                raise
            raise ConfigError(_uncovered(error, group)) from error
        facts = PolicyFacts(
            len(policy.tenant_tables),
            tuple(warnings),
            tuple((p.path, p.line, p.column, p.message, p.text, p.parsed) for p in problems),
            tuple(sorted(policy.tenant_tables)),
        )
    else:  # what building it says is known: built when a statement must be analysed
        policy = cache_function(partial(_policy, settings, patch_rules_only, cache=True))
    if pending:
        checked = _run_checks(
            pending,
            group,
            policy,
            project,
            store,
            jobs=jobs,
            patch_rules_only=patch_rules_only,
            tenant_tables=facts.names,
        )

    def reports() -> Iterator[FileReport]:
        consulted: list[Consulted | None] = []
        # (from the first report that may hold or send a statement of a file the program
        # reads, the rest are held to the end: its senders named, `merge_read_files`)
        held: list[FileReport] = []
        # (a run of SQL files only streams as before: no Python file sends their statements)
        mixed = any(is_python(f.path) for f in files)
        # what a file leaves to the check of another file its SQL is written in is said at its
        # calls unless this run checks that file as application code with that rule running
        # there, or its report says that rule (where that file says it depends on how it sends
        # the text itself: at a call of its own, at the f-string, at the constant — its line is
        # not matched): a run that does not check that file, does not run the rule there (a
        # per-file ignore of queries.py is that file's own use), or reads it with other rules
        # (a module under the patch directory: h39E) says it nowhere else; a suppression in
        # that file is its own check's to judge (a reasonless one is TG010 there, h36D)
        # (`said_at_the_calls`)
        said: set[tuple[str, str]] = set()
        root = os.path.realpath(group.settings.root)

        def relative(source: SourceFile) -> str:  # as `Finding.read_from` names a file
            return os.path.relpath(os.path.realpath(source.path), root).replace(os.sep, "/")

        application = {
            relative(f) for f in files if not f.in_patch and f.text is None and f not in lent
        }
        enabled = _enabled_rules(group.selection)

        def said_there(file: str, rule: str) -> bool:
            return (file, rule) in said or (
                file in application and (enabled is None or rule in enabled.in_file(file))
            )

        for source in files:
            report = done.get(source.display)
            if report is None:  # checked now, in the same order
                report = next(checked)
                if cache is not None and source.display in digests:
                    cache.store(source, digests[source.display], report)
                consulted.append(report.consulted)
            if source in lent:
                found = from_named(report, named)
                if found is None:
                    continue
                report = found
            if report.findings and source.text is None:
                said.update((relative(source), f.code) for f in report.findings)
            if held or report.sent or (mixed and report.findings and not is_python(source.path)):
                held.append(report)
            else:
                yield report
        if held:
            for merged in merge_read_files(held):
                yield said_at_the_calls(merged, said_there)
        if cache is not None:
            cache.save(facts, consulted, project)
            _say_unsaved(cache)
        if store is not None:
            store.save()

    return reports(), facts


_UNSAVED: set[str] = set()  # the cache directories this run said it could not write


def _say_unsaved(cache: CheckCache) -> None:
    """A cache that could not be written (a read-only checkout, TENANTGUARD_CACHE_DIR under a
    file): every run then checks every file again, which the run said nowhere (h35H). One
    warning line per directory, on standard error."""
    if cache.unsaved is None:
        return
    directory = str(cache.file.parent)
    if directory in _UNSAVED:
        return
    _UNSAVED.add(directory)
    reason = cache.unsaved.strerror or type(cache.unsaved).__name__
    print(
        f"tenantguard: warning: the cache could not be written in {directory} ({reason}): "
        "every run checks every file again; set TENANTGUARD_CACHE_DIR (or cache_dir) to a "
        "directory you can write, or pass --no-cache",
        file=sys.stderr,
    )


class _ProjectFiles:
    """The project's Python files, listed on first need (called; `sources`: as the walk found
    them), and the application SQL files the same walk finds (`sql_files`: real paths; not
    under the schema pipeline)."""

    __slots__ = ("_walk",)

    def __init__(self, walk: Callable[[], tuple[list[SourceFile], frozenset[str]]]) -> None:
        self._walk = walk

    def __call__(self) -> list[str]:
        return [str(f.path) for f in self._walk()[0]]

    def sources(self) -> list[SourceFile]:
        return self._walk()[0]

    def sql_files(self) -> frozenset[str]:
        return self._walk()[1]


def _lent_files(
    named: list[SourceFile], settings: Settings, project: _ProjectFiles, dependents: bool
) -> list[SourceFile]:
    """The project's files (not among `named`, nor schema sources) whose check may say findings
    in SQL a named Python file fills or writes: those defining classes the named files' classes
    derive from (`base_class_files`), and with `--check-dependents` those importing a named
    module (`importing_files`) or reading a named file (`reading_files`), and their importers,
    untracked files aside (`_tracked`). Their findings in SQL from
    a named file are said (`from_named`), as the tree says them: a run of the named files alone
    said "proven"."""
    python = [str(f.path) for f in named if is_python(f.path) and f.text is None]
    paths = base_class_files(python, project)
    if dependents:
        root = os.path.realpath(settings.root)
        # (a `.sql` file of the application: the Python files reading it, and their importers)
        read = [str(f.path) for f in named if not is_python(f.path) and f.text is None]
        readers = reading_files(read, project) if read else []
        paths = sorted({*paths, *readers, *importing_files([*python, *readers], project, root)})
    if not paths:
        return []
    wanted = {os.path.realpath(p) for p in paths} - {os.path.realpath(f.path) for f in named}
    found = [f for f in project.sources() if os.path.realpath(f.path) in wanted and not f.in_patch]
    # (a file left untracked, a scratch script, is not the commit's: the CI's tree does not
    # hold it, and it does not block a pre-commit run of the files it imports, h40E)
    return _tracked(found, settings.root) if found else found


def _project_python(settings: Settings) -> _ProjectFiles:
    """The project's Python files, listed on first need: the configuration root's tree, walked
    as `check` walks it there. What a file imports, the wrappers it calls and the methods it
    may reach are looked up among them, never among the files the command line names: one
    file gets the same findings from pre-commit (its staged files) as from CI (the tree).
    The SQL files of that walk: a statement of one the program reads and sends is reported
    where that file's own check reports it (h36D)."""
    listed: list[tuple[list[SourceFile], frozenset[str]]] = []

    def files() -> tuple[list[SourceFile], frozenset[str]]:
        if not listed:
            found, _ = discover(
                [settings.root],
                root=settings.root,
                include=settings.include,
                exclude=settings.exclude,
                pipeline=[settings.patch_dir, *settings.schema_paths],
                patch_dir=settings.patch_dir,
                respect_gitignore=settings.respect_gitignore,
            )
            listed.append(
                (
                    sorted((f for f in found if is_python(f.path)), key=lambda f: str(f.path)),
                    frozenset(
                        str(f.path) for f in found if not f.in_patch and not is_python(f.path)
                    ),
                )
            )
        return listed[0]

    return _ProjectFiles(files)


def _uncovered(error: ConfigError, group: _Group) -> str:
    """A monorepo root's policy error, with the files it was needed for: those no service's
    configuration covers."""
    names = [f.display for f in group.files]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    configs = []
    for directory in group.services[:5]:
        found = find_config(Path(directory))
        configs.append(os.path.relpath(found) if found is not None else directory)
    return (
        f"{error}. It is needed for {shown}, which no service's configuration covers (those "
        f"below have their own: {', '.join(configs)}): give the root a configuration for "
        "them, or exclude them in one at the root (exclude = [...]), or name the services "
        "to check (tenantguard check DIR...)"
    )


def _policy(
    settings: Settings,
    patch_rules_only: bool,
    warnings: list[str] | None = None,
    problems: list[SchemaProblem] | None = None,
    *,
    cache: bool,
) -> Policy:
    policy = build_policy(settings, warnings, problems, cache=cache)
    if not patch_rules_only:  # the patch rules need no tenant table
        require_tenant_tables(policy, settings)
    return policy


# files to check this small hold about a dozen statements at most (~600 bytes each): parsed with
# the pure-Python sqlglot, whose import costs ~15 ms less than the compiled one's (`prefer_source`)
_FEW_STATEMENTS_BYTES = 8_192


def _run_checks(
    pending: list[SourceFile],
    group: _Group,
    policy: Policy | Callable[[], Policy],
    project: Callable[[], list[str]],
    store: StoredVerdicts | None,
    *,
    jobs: int | None,
    patch_rules_only: bool,
    tenant_tables: Iterable[str] | None = None,
) -> Iterator[FileReport]:
    """Analyses the files, their reports in their order. `policy` may be a function that builds
    it: sqlglot loads (and the policy is built) only for a statement the store does not hold.
    `tenant_tables`: the policy's, when known without building it (the cache's facts)."""
    from tenantguard.engine.verdicts import Analyzer
    from tenantguard.sources.files import CheckOptions, iter_checked

    settings = group.settings
    rules = _enabled_rules(group.selection)
    patch_directory = settings.root / settings.patch_dir
    analyzer = Analyzer(policy, store=store, tenant_tables=tenant_tables)
    patch_analyzer = Analyzer(policy, in_patch=True, store=store, tenant_tables=tenant_tables)

    def patch_linter(text: str, path: Path) -> list[Finding]:
        from tenantguard.patches.lint import lint_patch_text  # pglast loads only for patches

        return lint_patch_text(text, str(path), analyzer.policy, patch_directory)

    index = None
    if any(is_python(s.path) for s in pending):
        from tenantguard.sources.pyflow import ProjectIndex  # Python's machinery: not for SQL

        root = os.path.realpath(settings.root)  # as the walk names files
        index = ProjectIndex(project, settings.sql_functions, root=root)
        if isinstance(project, _ProjectFiles):
            index.checked_sql_files = project.sql_files
    options = CheckOptions(
        unresolved_severity=Severity(settings.unresolved_severity),
        patch_linter=patch_linter,
        patch_rules_only=patch_rules_only,
        rules=rules,
        python_index=index,
    )
    return iter_checked(pending, analyzer, patch_analyzer, jobs=jobs, options=options)


def _enabled_rules(selection: RuleSelection) -> EnabledRules | None:
    """None when every rule runs everywhere: the common case needs no catalog (its patch
    rules load pglast)."""
    if selection.is_default:
        return None
    rules = EnabledRules.build(_catalog_rules(), selection)
    return None if rules.everything else rules


# suppression hygiene: a statement is proven without them
_NOT_PROOF_RULES = frozenset({"TG010", "TG011"})


def _rules_left_out(group: _Group) -> tuple[set[str], dict[str, set[str]]]:
    """The query rules (whose findings decide whether a statement is proven) that the
    selection keeps from running, everywhere or in some checked file; and of those left out
    only in some files, which (by the path a report names them)."""
    rules = _enabled_rules(group.selection)
    if rules is None:
        return set(), {}
    proof = [c for c, _ in rules.rules if c.startswith("TG0") and c not in _NOT_PROOF_RULES]
    left = {code for code in proof if code not in rules.codes}
    where: dict[str, set[str]] = {}
    if group.selection.per_file_ignores:
        for source in group.files:
            enabled = rules.in_file(source.relative)
            for code in proof:
                if code not in enabled and code not in left:
                    where.setdefault(code, set()).add(source.display)
    return left | set(where), where


def _stopped(args: argparse.Namespace, messages: list[str]) -> int:
    """A run stopped before its report: each message on standard error and, in the machine
    formats, a document naming them (an empty file is no valid SARIF or JSON)."""
    for message in messages:
        print(f"tenantguard: error: {message}", file=sys.stderr)
    _error_document(args, "usage", "; ".join(messages))
    return EXIT_ERROR


def _check(args: argparse.Namespace, *, patch_rules_only: bool = False) -> int:
    if args.statistics and args.format not in ("text", "full", "concise", "json"):
        return _stopped(
            args,
            [f"--statistics prints text or json; drop --format {args.format} or --statistics"],
        )
    jobs: int | None = getattr(args, "jobs", None)  # `patches lint` has no --jobs, no baselines
    baseline_file: Path | None = getattr(args, "baseline", None)
    write_file: Path | None = getattr(args, "write_baseline", None)
    if jobs is not None and jobs < 1:
        return _stopped(args, ["--jobs must be at least 1"])
    if (
        baseline_file
        and write_file
        and baseline_file.resolve().parent != write_file.resolve().parent
    ):
        # an update keeps entries as written, their paths from the baseline's directory
        return _stopped(
            args,
            [
                f"--write-baseline {write_file} with --baseline {baseline_file} updates the "
                "baseline: write it in the same directory (the same file, usually)"
            ],
        )
    if not args.no_cache:
        check_cache_environment()  # where every cache file would go: before anything is kept
    errors: list[str] = []
    groups = _groups(args, patch_rules_only, errors)
    if groups is None:
        return _stopped(args, errors)
    known = None
    if baseline_file:
        from tenantguard.baseline import read_baseline  # hashlib, json: with a baseline only

        known = read_baseline(baseline_file)
    return _check_groups(args, groups, known, write_file, jobs, patch_rules_only)


def _unmatched_settings(group: _Group) -> list[str]:
    """Settings that name nothing the check saw, said rather than left to do nothing (helper
    111): a `per_file_ignores` pattern no checked file matches (when a directory was walked:
    pre-commit names a few files), a `sql_functions` name no checked Python file writes."""
    settings = group.settings
    out: list[str] = []
    if group.walked and group.files:
        relative = [f.relative for f in group.files if f.relative is not None]
        for glob in group.selection.unmatched_patterns(relative):
            out.append(
                f"per_file_ignores pattern {glob!r} matches no checked file: check its "
                "spelling (patterns are read from the project's root, as .gitignore reads "
                "them)"
            )
    if settings.sql_functions and group.walked:
        texts = []
        for source in group.files:
            if is_python(source.path):
                try:
                    texts.append(source.path.read_text(encoding="utf-8", errors="replace"))
                except OSError:
                    continue
        if texts:
            text = "\n".join(texts)
            for name in settings.sql_functions:
                tail = name.rsplit(".", 1)[-1]
                if not re.search(rf"(?<![\w.]){re.escape(tail)}\s*\(|\.{re.escape(tail)}\b", text):
                    out.append(
                        f"sql_functions name {name!r} is called in no checked Python file: "
                        "its calls' SQL would be checked; check its spelling"
                    )
    return out


def _unread_schema_sources(group: _Group, tenant_tables: Iterable[str] | None) -> list[str]:
    """Migrations among the checked files that the schema paths do not hold, making tables
    with the tenant column the policy does not know (h37H: `schema_paths = ["db"]` beside
    alembic/versions/0002_sla.py: `SELECT name FROM sla_policies` was "No findings", exit 0,
    and nothing said the revision was unread). A file in a migrations folder, or named as a
    schema is (`schema.sql`, `0002_add_sla.sql`): `tenantguard init` reads the same ones."""
    from tenantguard.schema_sources import (
        in_migrations,
        makes_tables,
        schema_directory,
        schema_like,
    )

    settings = group.settings
    if not settings.tenant_column or tenant_tables is None:  # (None: a policy's names unknown)
        return []
    candidates: list[tuple[str, Path]] = []
    for source in group.files:
        relative = source.relative
        if relative is None or source.in_patch or source.text is not None:
            continue
        python = is_python(source.path)
        if (python and not in_migrations(relative)) or not schema_like(relative):
            continue
        try:
            text = source.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if makes_tables(text, python=python):
            candidates.append((relative, source.path))
    if not candidates:
        return []
    from tenantguard.engine.policy import Policy, table_name
    from tenantguard.sources.schema.reading import read_schema

    column = Policy(settings.tenant_column).tenant_column
    known = {table_name(t) for t in tenant_tables}
    out: list[str] = []
    for relative, path in sorted(candidates):
        made = sorted(t for t in read_schema([path]).tables_with(column) if t not in known)
        if made:
            folder = schema_directory(relative, settings.root)
            out.append(
                f"{relative} makes {', '.join(made)} (with {column}) but is no schema source "
                f"here (schema_paths: {', '.join(settings.schema_paths) or '-'}): "
                f"{'they are no tenant tables' if len(made) > 1 else 'it is no tenant table'} to the check, and "
                f"a query reading {'them' if len(made) > 1 else 'it'} unpinned passes; add "
                f"{folder!r} to schema_paths"
            )
    return out


def _check_groups(
    args: argparse.Namespace,
    groups: list[_Group],
    known: Known | None,
    write_file: Path | None,
    jobs: int | None,
    patch_rules_only: bool,
) -> int:
    tally = _Tally()
    streams = []
    for group in groups:  # every policy is built, and its warnings said, before any report
        reports, facts = _check_group(group, args, jobs=jobs, patch_rules_only=patch_rules_only)
        for warning in (
            *facts.warnings,
            *_unmatched_settings(group),
            *_unread_schema_sources(group, facts.names),
        ):
            print(f"tenantguard: warning: {warning}", file=sys.stderr)
            tally.warnings.append(str(warning))  # the machine formats carry them too
        tally.files += len(group.files)
        left, where = _rules_left_out(group)
        tally.left_out.update(left)
        tally.left_everywhere.update(left - set(where))
        for code, paths in where.items():
            tally.left_out_in.setdefault(code, set()).update(paths)
        streams.append(_group_findings(group, reports, facts, tally))
    from tenantguard._collect import frozen_heap

    with frozen_heap():  # the policies and the parser's tables are no garbage: set aside
        return _report(args, groups, streams, tally, known, write_file)


def _report(
    args: argparse.Namespace,
    groups: list[_Group],
    streams: list[Iterator[Finding]],
    tally: _Tally,
    known: Known | None,
    write_file: Path | None,
) -> int:
    # each group's findings come sorted: merged, the run's are, and none is held
    findings: Iterator[Finding] = heapq.merge(*streams, key=_order)
    if write_file and known is None:
        from tenantguard.baseline import write_baseline

        count = write_baseline(write_file, findings)
        if not args.quiet:
            print(
                f"tenantguard: wrote {count} finding{'s' * (count != 1)} to the baseline "
                f"{write_file}",
                file=sys.stderr,
            )
        return EXIT_CLEAN
    stale: Callable[[], list[dict[str, object]]] | None = None
    if known is not None:
        findings, stale = _without_baseline(args, groups, findings, tally, known, write_file)
    findings = tally.errors_of(findings)
    texts = {path: text for group in groups for path, text in group.texts.items()}
    style = Style(colour=colour_wanted(sys.stdout), quiet=args.quiet, texts=texts)
    _REPORT_BEGUN[0] = True
    if args.statistics:
        sys.stdout.write(render_statistics(args.format, list(findings), style))
    else:
        write_report(
            sys.stdout,
            args.format,
            findings,
            0,
            0,
            style,
            summary=tally.summary,
            notices=tuple(tally.warnings),
        )
    if stale is not None and not write_file:
        _say_stale(args.baseline, stale())
    failed = tally.errors > 0
    return EXIT_FINDINGS if failed and not args.exit_zero else EXIT_CLEAN


# a plain class: a dataclass costs a fresh process ~1 M instructions to build at import
class _Tally:
    """What a run read and found, counted as its reports stream by."""

    __slots__ = (
        "errors",
        "files",
        "found",
        "kept",
        "left_everywhere",
        "left_out",
        "left_out_in",
        "notes",
        "schema_statements",
        "statements",
        "tenant_statements",
        "warnings",
    )

    def __init__(self) -> None:
        self.warnings: list[str] = []  # the configuration's, said before any report
        self.notes: list[str] = []  # the files', said as each report comes
        self.files = 0
        self.statements = 0
        self.schema_statements = 0
        self.tenant_statements: int | None = 0  # None: a report did not say (an older cache)
        self.found = 0  # with a baseline: before it, and after it
        self.kept = 0
        self.errors = 0
        self.left_out: set[str] = set()  # proof rules the selection did not run
        self.left_out_in: dict[str, set[str]] = {}  # of those, left out in these files only
        self.left_everywhere: set[str] = set()  # of those, left out of every file of a group

    def summary(self) -> Summary:
        hidden = self.found - self.kept
        return Summary(
            self.files, self.statements, self.schema_statements, hidden,
            tenant_statements=self.tenant_statements, left_out=tuple(sorted(self.left_out)),
            left_out_in={
                code: tuple(sorted(paths))
                for code, paths in sorted(self.left_out_in.items())
                if code in self.left_out and not self._everywhere(code)
            },
            notes=tuple(self.notes),
        )  # fmt: skip

    def _everywhere(self, code: str) -> bool:
        return code in self.left_everywhere

    def seen(self, findings: Iterable[Finding]) -> Iterator[Finding]:
        for finding in findings:
            self.found += 1
            yield finding

    def reported(self, findings: Iterable[Finding]) -> Iterator[Finding]:
        for finding in findings:
            self.kept += 1
            yield finding

    def errors_of(self, findings: Iterable[Finding]) -> Iterator[Finding]:
        for finding in findings:
            self.errors += finding.severity is Severity.ERROR
            yield finding


def _order(finding: Finding) -> tuple[str, int, int, str]:
    return finding.path, finding.line, finding.column, finding.code


def _group_findings(
    group: _Group, reports: Iterator[FileReport], facts: PolicyFacts, tally: _Tally
) -> Iterator[Finding]:
    """A group's findings in report order: its files' (notes said as each file comes), and
    the unreadable statements of schema files it does not check."""
    # a checked SQL file reports its own unreadable statements; a Python migration's check
    # does not read its DDL as the schema reader does, nor does any check see a table whose
    # columns are unknown (PostgreSQL reads the statement): those are said whatever is checked
    checked = {os.path.abspath(s.path) for s in group.files if not is_python(s.path)}
    problems = [p for p in facts.problems if p[5] or os.path.abspath(p[0]) not in checked]
    schema = sorted(_schema_findings(problems, group), key=_order)

    def files() -> Iterator[Finding]:
        for report in reports:
            for note in report.notes:
                print(f"tenantguard: note: {note}", file=sys.stderr)
            tally.notes.extend(report.notes)
            tally.statements += report.statements
            tally.schema_statements += report.statements if report.schema else 0
            if not report.schema and tally.tenant_statements is not None:
                if report.tenant_statements is None:
                    tally.tenant_statements = None
                else:
                    tally.tenant_statements += report.tenant_statements
            found = report.findings
            if any(f.code == "TG007" for f in found):
                found = _migration_help(report, group.settings.root)
            yield from sorted(found, key=_order)

    return heapq.merge(files(), schema, key=_order)


def _migration_help(report: FileReport, root: Path) -> tuple[Finding, ...]:
    """TG007's help in a file that looks like a schema migration (in a migrations folder, or
    named as one: `db/migrations/0002_x.sql`, `alembic/versions/…py`): a project's migrations
    checked as application code are no mistake of the statement but of the configuration —
    say which folder to add to `schema_paths` first (h37H's warning does when they make a
    table the check does not know; this, when they change known ones)."""
    import dataclasses

    from tenantguard.schema_sources import in_migrations, schema_directory, schema_like

    relative = Path(os.path.relpath(os.path.abspath(report.path), root)).as_posix()
    if relative.startswith("../"):
        return report.findings
    looks = in_migrations(relative) if is_python(report.path) else schema_like(relative)
    if not looks:
        return report.findings
    folder = schema_directory(relative, root)
    help_ = (
        f"if {folder!r} holds the schema's migrations, add it to schema_paths in the "
        "configuration (read as schema, not checked as application code); otherwise move the "
        "statement to a numbered, idempotent patch in the patch directory"
    )
    return tuple(
        dataclasses.replace(f, help=help_) if f.code == "TG007" else f for f in report.findings
    )


def _schema_findings(
    problems: list[tuple[str, int, int, str, str, bool]], group: _Group
) -> list[Finding]:
    """A schema statement that cannot be read: an error at its file and line (the tables it
    may create are treated as tenant tables when its text holds the tenant column). Reported
    when the file is not among those checked (the patch rules report it there), and when the
    rule selection reports TG006 in that file. One PostgreSQL reads but that creates a table
    whose columns the sources do not show is reported the same way, checked or not."""
    rules = _enabled_rules(group.selection) if problems else None
    root = os.path.realpath(group.settings.root)
    findings = []
    for where, line, column, text_of_message, text, parsed in problems:
        # a message of its own help after a line break (an operator or cast of the schema)
        message, _, help = text_of_message.partition("\n")
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
                message
                if help
                else f"cannot tell the columns of the table this schema statement creates: {message}"
                if parsed
                else f"cannot read this schema statement: {message}; the tenant tables it "
                "may create are guessed from its text",
                help
                or (
                    "name its tenant tables in tenant_tables, or create them with their columns"
                    if parsed
                    else "fix the statement so that PostgreSQL's parser reads it (psql "
                    "meta-commands are skipped)"
                ),
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

    if args.file is None and args.sql == "-":  # standard input, as `check -` and `-f -` (h42N)
        args.file, args.sql = Path("-"), None
    if args.file is not None and args.file.suffix in (".py", ".pyi"):
        # read as SQL, Python source is a syntax error: "NOT PROVEN" about nothing it holds
        return _stopped(
            args,
            [
                f"{args.file} is Python source; explain takes SQL (a .sql file, standard input "
                f"or an argument): `tenantguard check {args.file}` finds and checks the SQL it "
                f'sends, and `tenantguard explain "<statement>"` explains one'
            ],
        )
    if args.file is not None and args.sql is not None:  # one would be dropped in silence
        return _stopped(
            args,
            [
                f"give the SQL as an argument or with -f FILE, not both (-f {args.file} and "
                f"{args.sql!r})"
            ],
        )
    if args.file is not None:
        try:
            sql = (
                sys.stdin.read() if str(args.file) == "-" else args.file.read_text(encoding="utf-8")
            )
        except (OSError, UnicodeDecodeError) as error:
            return _stopped(args, [f"cannot read {args.file}: {error}"])
    elif args.sql is not None:
        sql = args.sql
    else:
        return _stopped(args, ["give the SQL as an argument or with -f FILE"])
    from tenantguard.engine.sqltext import split_sql

    if not split_sql(sql)[0]:  # nothing explained is no verdict: not exit 0
        where = "the argument" if args.file is None else str(args.file)
        return _stopped(
            args,
            [
                f"no statement in {where} (empty, or only comments and semicolons): give the "
                "SQL statement to explain"
            ],
        )
    if args.file is not None and str(args.file) != "-":  # the file's configuration first
        found = settings_for_paths([args.file], isolated=args.isolated, config=args.config)
        settings = _with_flags(found[0][0], args)
    else:
        settings = _settings(args)
    warnings: list[str] = []
    policy: Policy = build_policy(settings, warnings)
    try:
        require_tenant_tables(policy, settings)
    except ConfigError as error:
        below = (
            _configurations_below(Path.cwd())
            if settings.config_file is None and not args.isolated
            else []
        )
        if not below:
            raise
        shown = ", ".join(below[:5]) + (f" and {len(below) - 5} more" if len(below) > 5 else "")
        raise ConfigError(
            f"{error}. Projects below have their own configuration ({shown}): explain reads "
            "the working directory's; run it in the project, or pass --config "
            f"{shlex.quote(below[0])}"
        ) from error
    for warning in warnings:
        print(f"tenantguard: warning: {warning}", file=sys.stderr)
    records: list[dict[str, Any]] = []
    path = None if args.file is None or str(args.file) == "-" else str(args.file)
    text, failed = explain(sql, policy, records, path)
    _REPORT_BEGUN[0] = True
    if args.format == "json":
        import json

        document = {"version": __version__, "statements": records, "failed": failed}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(text)
    return EXIT_FINDINGS if failed else EXIT_CLEAN


_NOT_PROJECTS = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})


def _configurations_below(directory: Path, depth: int = 3) -> list[str]:
    """The tenantguard configurations of the folders below `directory`, `depth` levels down at
    most (hidden folders and dependency trees aside), relative to it: at a monorepo's root,
    where a check reads each service's own, and `explain` (one statement, no path) none."""
    found: list[str] = []
    level = [directory]
    for _ in range(depth):
        following: list[Path] = []
        for folder in level:
            try:
                entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or entry.name in _NOT_PROJECTS:
                    continue
                with contextlib.suppress(OSError):
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                    child = Path(entry.path)
                    names = os.listdir(child)
                    if _holds_configuration(os.fspath(child.resolve()), names, cache=False):
                        found.append(
                            (child / "tenantguard.toml").relative_to(directory).as_posix()
                            if "tenantguard.toml" in names
                            else (child / "pyproject.toml").relative_to(directory).as_posix()
                        )
                    following.append(child)
        level = following
    return found


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


def _audit(args: argparse.Namespace) -> int:
    try:
        from tenantguard.audit.command import run_audit  # asyncpg and the catalog rules: only here
    except ModuleNotFoundError as error:
        if error.name != "asyncpg":
            raise
        # in json, sarif and github a document naming it, as every run stopped early prints
        return _stopped(
            args, ["audit reads the database through asyncpg: pip install 'tenantguard[runtime]'"]
        )

    return run_audit(args, _settings(args))


def _demo(args: argparse.Namespace) -> int:
    from tenantguard.demo import run_demo

    return run_demo()


def _init(args: argparse.Namespace) -> int:
    from tenantguard.init import run_init

    return run_init(args.directory, dry_run=args.dry_run)


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _check,
    "explain": _explain,
    "rule": _rule,
    "demo": _demo,
    "init": _init,
    "patches": _patches,
    "audit": _audit,
}


# the commands whose exit code tells of findings: a closed pipe cuts their report off (exit 2)
_USAGE_ERROR: list[str] = []  # argparse's message of this run's usage error
_REPORTING = frozenset({"check", "explain", "patches", "audit"})


def _argparse_message(message: str) -> str:
    """`gettext.gettext`, as argparse calls it for each of its messages (~40 as a parser is
    built), answered without a catalogue search when the current text domain's directory does
    not exist: gettext would look for the catalogue only in there, find none, and give the
    message back (each search costs ~20 us, the first also imports locale: ~10 M instructions
    of a one-file check)."""
    import gettext

    domain = gettext.textdomain()
    if not os.path.isdir(gettext.bindtextdomain(domain)):
        return message
    return gettext.dgettext(domain, message)


def _argparse_plural(singular: str, plural: str, n: int) -> str:
    """`gettext.ngettext`, as `_argparse_message` answers `gettext.gettext`."""
    import gettext

    domain = gettext.textdomain()
    if not os.path.isdir(gettext.bindtextdomain(domain)):
        return singular if n == 1 else plural
    return gettext.dngettext(domain, singular, plural, n)


def _no_final_collection() -> None:
    """At the process's exit, the heap set aside: the interpreter's last collections would walk
    every object still alive (sqlglot's classes and tables, the policy) only to free memory the
    process is about to give back, ~8 % of a one-file check's instructions. atexit handlers
    (this one runs first, as the last registered) and output flushing are unchanged; what is
    skipped is the collection of cyclic garbage left at exit."""
    import gc

    gc.freeze()


def _error_document(args: argparse.Namespace, kind: str, message: str) -> None:
    """A json, sarif or github run that stops before its report still prints a document naming
    why (h32k: a configuration error left a SARIF upload step an empty file). Not once a report
    has begun: stdout would hold two documents."""
    if _REPORT_BEGUN[0]:
        return
    from tenantguard.report import error_document

    error_document(getattr(args, "format", None), kind, message)


def _format_asked(argv: Sequence[str]) -> argparse.Namespace:
    """The output format a command line asks for, read without its parser (which stopped at a
    usage error): the last `--format X`, `--format=X`, `--output-format X` before `--`."""
    fmt = None
    for i, word in enumerate(argv):
        if word == "--":
            break
        name, equals, value = word.partition("=")
        if name in ("--format", "--output-format"):
            fmt = value if equals else argv[i + 1] if i + 1 < len(argv) else None
    return argparse.Namespace(format=fmt)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the process's own command line (`tenantguard`, `python -m tenantguard`)
        import atexit

        atexit.unregister(_no_final_collection)  # once, however often main() runs
        atexit.register(_no_final_collection)
    argv = list(sys.argv[1:] if argv is None else argv)
    _REPORT_BEGUN[0] = False
    _UNSAVED.clear()
    argparse._ = _argparse_message  # type: ignore[attr-defined]
    argparse.ngettext = _argparse_plural  # type: ignore[attr-defined]
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = _build_parser(command if command in _COMMANDS else None)
    _USAGE_ERROR.clear()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        if _USAGE_ERROR:  # a workflow's SARIF upload gets a document naming it, not nothing
            _error_document(_format_asked(argv), "usage", _USAGE_ERROR[0])
        return int(exit_.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    try:
        return _COMMANDS[args.command](args)
    except ConfigError as error:
        print(f"tenantguard: configuration error: {error}", file=sys.stderr)
        _error_document(args, "configuration", str(error))
        return EXIT_ERROR
    except KeyboardInterrupt:  # Ctrl-C: said, so that a cut-off report is not read as whole
        with contextlib.suppress(OSError, ValueError):
            print("tenantguard: interrupted: the report is incomplete", file=sys.stderr)
        _error_document(args, "interrupted", "interrupted (SIGINT) before the report was written")
        return 130
    except BrokenPipeError:
        # the reader went away (`| head`, `| grep -q`); stdout is closed so that exit's flush
        # is quiet. A report of findings is cut off, and its findings unknown to whoever reads
        # the exit code: not 0. The other commands' output is read for what it says (`demo |
        # grep -q …`, `rule --all | head`): the reader has what it wanted
        with contextlib.suppress(OSError, ValueError):  # io.UnsupportedOperation: no fd
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        if args.command not in _REPORTING:
            return EXIT_CLEAN
        print("tenantguard: error: output closed before the report was written", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:  # an internal error must still give exit 2 and say what to do
        print(
            f"tenantguard: internal error: {type(error).__name__}: {error}\n"
            "Please report this with the input that caused it.",
            file=sys.stderr,
        )
        _error_document(args, "internal", f"{type(error).__name__}: {error}")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
