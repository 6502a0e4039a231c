"""`tenantguard init`: adoption in one command.

Finds the schema sources of a project (`.sql` files with CREATE/ALTER TABLE, preferring the
directories schemas live in: patches, migrations, db, sql, schema), reads their tables and
foreign keys, and proposes:

- the tenant column: of the columns referencing one table (a single-column foreign key
  `tenant_id → tenants`), the one the most tables have (with the foreign key or without: a
  link table `users_cars(user_id, car_id)` does not outvote the tables keyed by user_id), then
  the one the most tables reference, then the most tenant-like name; without foreign keys, the
  most common column named like a tenant (`tenant_id`, `account_id`, `organization_id`, …), else
  `user_id`; the runner-up is named, and a tie nothing parts is a warning, never a silent pick;
- the tenant root: the table that column references;
- the tenant tables (those with the column) and the global ones (the others);

prints what it found and why, and writes `[tool.tenantguard]` into pyproject.toml (`--dry-run`
prints it). Tables without the column that reference a tenant table are called out: their rows
belong to a tenant, but no query on them can be pinned.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TextIO

from tenantguard._patterns import lazy_pattern
from tenantguard.config import DJANGO_MODEL_OPERATION, Settings, django_migrations_unread
from tenantguard.engine.policy import normalize_name, sql_name
from tenantguard.schema_sources import (
    MIGRATION_DIRECTORIES,
    in_tests,
    makes_tables,
    read_order,
    schema_directory,
    schema_like,
)
from tenantguard.sources.walk import ALWAYS_SKIPPED, discover

__all__ = ["Proposal", "propose", "run_init"]

_TENANT_LIKE = lazy_pattern(
    r"^(?:tenant|account|organi[sz]ation|org|company|workspace|customer|clinic|team|guild)_id$"
)


def _name_rank(column: str) -> int:
    """How much a column's name says it is the tenant's: 0 for tenant-like names, 1 for the
    user (an app whose tenant is the user), 2 for any other (the order of a tie's candidates)."""
    if _TENANT_LIKE.match(column.lower()):
        return 0
    return 1 if column.lower() in ("user_id", "userid") else 2


@dataclass
class Proposal:
    files: list[str] = field(default_factory=list)  # schema files read, relative to the root
    schema_paths: list[str] = field(default_factory=list)
    tenant_column: str | None = None
    tenant_root: str | None = None
    tenant_root_key: str | None = None  # the registry's column the tenant column holds
    reason: str = ""
    tenant_tables: list[str] = field(default_factory=list)
    global_tables: list[str] = field(default_factory=list)
    orphans: list[tuple[str, str]] = field(default_factory=list)  # (table, tenant table it refs)
    # the candidates tied with the chosen column (`column → table`), when neither counts nor
    # names part them: init picked one by name order only, and says so
    tied: list[str] = field(default_factory=list)
    # the setting the schema compares the tenant column with (`workspace_id =
    # current_setting('app.workspace_id')::bigint` in a view, a policy, a function): None when
    # it is none, or the default's (app.tenant_id)
    tenant_setting: str | None = None
    # a monorepo root: the configurations of projects below whose schema was left out (a
    # configuration here governs none of their files), relative to the root
    configured_below: list[str] = field(default_factory=list)
    # the projects below (each its own pyproject.toml or tenantguard.toml, none configured)
    # holding schema, with their schema folders, when the schema lies in more than one project
    # (the root counting as "."): one configuration would give them one tenant column
    projects: dict[str, list[str]] = field(default_factory=dict)
    # the test fixtures that empty tables on purpose (`TRUNCATE notes` in a conftest.py or a
    # tests/fixtures/ file): per_file_ignores patterns leaving TG005 out there
    test_fixtures: list[str] = field(default_factory=list)
    # what init found and did not read: (a file making tables outside the schema's folders,
    # "outside"), (a folder of Django migrations, "django": models, not SQL)
    unread: list[tuple[str, str]] = field(default_factory=list)


_PROJECT_FILES = ("tenantguard.toml", "pyproject.toml")


def _owner(root: Path, path: Path) -> Path:
    """The project a file belongs to: the nearest folder from the file up to `root` (excluded)
    that holds a pyproject.toml or a tenantguard.toml, else `root`."""
    for folder in path.parents:
        if folder == root or root not in folder.parents:
            break
        if any((folder / name).is_file() for name in _PROJECT_FILES):
            return folder
    return root


def _own_configuration(folder: Path) -> Path | None:
    """The folder's own tenantguard configuration, which a check of its files reads before any
    above it (`find_config`): its tenantguard.toml, or its pyproject.toml's [tool.tenantguard]."""
    own = folder / "tenantguard.toml"
    if own.is_file():
        return own
    pyproject = folder / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none, unreadable or not TOML: a check here says so
        return None
    return pyproject if "tenantguard" in data.get("tool", {}) else None


def _projects_of(root: Path, files: list[Path], proposal: Proposal) -> list[Path]:
    """The schema files a configuration at `root` would be read with: those of projects below
    configured on their own are left out (named in `proposal.configured_below`); when the rest
    lies in more than one project, `proposal.projects` names them and nothing is kept."""
    groups: dict[Path, list[Path]] = defaultdict(list)
    configured: set[Path] = set()
    for file in files:
        owner = _owner(root, file)
        if owner != root and (config := _own_configuration(owner)) is not None:
            configured.add(config)
            continue
        groups[owner].append(file)
    proposal.configured_below = sorted(c.relative_to(root).as_posix() for c in configured)
    if len(groups) <= 1:
        return [file for group in groups.values() for file in group]
    for owner, group in sorted(groups.items()):
        name = owner.relative_to(root).as_posix() if owner != root else "."
        relatives = [file.relative_to(owner).as_posix() for file in group]
        prefix = "" if owner == root else name + "/"
        proposal.projects[name] = [prefix + path for path in _schema_paths(relatives, owner)]
    return []


def _schema_files(root: Path, proposal: Proposal | None = None) -> list[Path]:
    """The project's schema sources: `.sql` files with CREATE or ALTER TABLE, and Python
    migrations (alembic revisions, scripts in a migrations folder) creating or altering tables,
    which the schema reader follows as it follows SQL. At a monorepo's root, with `proposal`,
    the schema of the projects below is sorted out first (`_projects_of`).

    Every source is read where it lies (h37H): a file in a schema or migrations folder at any
    depth (`db/`, `alembic/versions/`, `app/migrations/`, `src/main/resources/db/`), or named
    as a schema is (`schema.sql`, `structure.sql`, a numbered patch `0002_add_sla.sql`,
    flyway's `V2__sla.sql`) — only the top-level folders were, and a dump in `db/` left a
    project's alembic revisions unread: their tables were no tenant tables. The other files
    making tables (an example in `docs/`), and Django's model migrations, are named in
    `proposal.unread`, read only when nothing else is found."""
    files, _ = discover(
        [root], root=root, include=["*.sql", "*.py"], exclude=[], pipeline=[], patch_dir=None
    )
    found: list[tuple[str, Path]] = []
    django: set[str] = set()
    for source in files:
        relative = source.relative or source.display
        folders = {part.lower() for part in relative.split("/")[:-1]}
        if source.path.suffix == ".py" and not folders & MIGRATION_DIRECTORIES:
            continue  # application code may hold DDL strings: migrations only
        try:
            text = source.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if makes_tables(text, python=source.path.suffix == ".py"):
            found.append((relative, source.path))
        elif "django" in text and DJANGO_MODEL_OPERATION.search(text) and not in_tests(relative):
            django.add(relative.rsplit("/", 1)[0])
    if proposal is not None:  # test fixtures make no project hold schema
        grouped = [(r, p) for r, p in found if not in_tests(r)]
        kept = set(_projects_of(root, [path for _, path in grouped], proposal))
        found = [(r, p) for r, p in grouped if p in kept]
    preferred = [(r, p) for r, p in found if schema_like(r)]
    chosen = preferred or [(r, p) for r, p in found if not in_tests(r)]
    if proposal is not None:
        taken = {r for r, _ in chosen}
        proposal.unread = sorted(
            [(r, "outside") for r, _ in found if r not in taken and not in_tests(r)]
            + [(folder, "django") for folder in django]
        )
    return [path for _, path in sorted(chosen, key=lambda item: read_order(item[0]))]


def _python_migrations(root: Path) -> str | None:
    """What builds the schema in Python out of the schema reader's reach: Django's migrations
    (models, not SQL; alembic's operations and SQL strings in migrations are read)."""
    if any(root.glob("*/migrations/0*.py")) or any(root.glob("*/*/migrations/0*.py")):
        return "Django migrations"
    return None


def _schema_paths(relatives: list[str], base: Path) -> list[str]:
    """The directories (or files) holding the schema files, none inside another. A
    migration kept in a folder of its own inside a migrations folder (Prisma's
    `prisma/migrations/20240101_init/migration.sql`) names that migrations folder: the
    migrations added later are read too (naming each folder read, a table a later migration
    made was no tenant table, and its queries went unchecked). A schema file found by its name
    in a folder of application code (`app/schema.sql` beside `app/db.py`) names the file: the
    folder's Python would be read as migrations."""
    candidates = sorted({schema_directory(r, base) for r in relatives}, key=read_order)
    kept: list[str] = []
    for candidate in candidates:
        if not any(candidate == k or candidate.startswith(k + "/") for k in kept):
            kept.append(candidate)
    return kept


def propose(root: Path) -> Proposal:
    """What `init` would write for the project at `root`, and why."""
    from tenantguard.sources.schema.reading import read_schema  # the schema reader (pglast)

    proposal = Proposal()
    root = root.resolve()
    files = _schema_files(root, proposal)
    reader = read_schema(files)  # as check reads them: alembic revisions in their order
    proposal.files = [file.relative_to(root).as_posix() for file in files]
    # every foreign key: (table, its columns, the table referenced, the columns referenced)
    references = [
        (table, key.columns, key.ref_table, key.ref_columns or reader._primary_key(key.ref_table))
        for table, keys in reader.foreign_keys.items()
        for key in keys
    ]
    proposal.schema_paths = _schema_paths(proposal.files, root)
    tables = reader.columns
    referencing: dict[tuple[str, str], set[str]] = defaultdict(set)
    keys: dict[tuple[str, str], set[tuple[str, ...]]] = defaultdict(set)
    for table, columns, referenced, key in references:
        if len(columns) == 1 and table != referenced:
            referencing[(columns[0], referenced)].add(table)
            keys[(columns[0], referenced)].add(tuple(key))
    if referencing:
        # a tenant-like column no foreign key declares, named for a registry of the schema
        # (`company_id` → companies(id)), is a candidate too, counted by the tables having it:
        # one foreign key elsewhere (`sessions.user_id → users`) made user_id win (h42N)
        declared = {column for column, _ in referencing}
        for column in sorted({c for cols in tables.values() for c in cols}):
            if column in declared or not _TENANT_LIKE.match(column.lower()):
                continue
            base = column[:-3]
            for name in (f"{base}s", f"{base[:-1]}ies", f"{base}es", base):
                if name in tables and reader._primary_key(name) == ("id",):
                    referencing[(column, name)] = set()
                    break
            else:  # the registry kept elsewhere (another service): no tenant root
                referencing[(column, "")] = set()
        # tables carrying a candidate's column without a foreign key elsewhere count too (an
        # app whose tenant is the user keys its tables by user_id, often without a foreign key:
        # a link table `users_cars(user_id, car_id)` made car_id win on names' order)
        targets: dict[tuple[str, str], set[str]] = defaultdict(set)
        for table, columns, referenced, _ in references:
            if len(columns) == 1:
                targets[(table, columns[0])].add(referenced)

        def carriers(column: str, root_table: str) -> set[str]:
            if column in tables.get(root_table, ()):
                # a column the referenced table has too (`id`, `server_id → servers(server_id)`)
                # is many tables' own key: only its foreign keys count (`profiles(id →
                # users)` made `id`, in every table, the tenant column)
                return referencing[(column, root_table)]
            return referencing[(column, root_table)] | {
                table
                for table, cols in tables.items()
                if column in cols
                and table != root_table
                and reader._primary_key(table) != (column,)
                and targets.get((table, column), {root_table}) == {root_table}
            }

        def score(item: tuple[tuple[str, str], set[str]]) -> tuple[int, int]:
            return (len(carriers(*item[0])), len(item[1]))

        ranked = sorted(
            referencing.items(),
            key=lambda item: (
                -score(item)[0],
                -score(item)[1],
                _name_rank(item[0][0]),
                item[0],
            ),
        )
        (column, root_table), users = ranked[0]
        proposal.tenant_column, proposal.tenant_root = column, root_table or None
        root_keys = keys[(column, root_table)]
        key = next(iter(root_keys)) if len(root_keys) == 1 else ()
        # the key the tenant column holds; unknown: no tenant_root is written (a wrong key
        # would make `registry.id = $1` a pin of another column)
        proposal.tenant_root_key = key[0] if len(key) == 1 else None
        carried = carriers(column, root_table)
        proposal.reason = (
            f"{len(users)} table{'s' * (len(users) != 1)} reference{'s' * (len(users) == 1)} "
            f"{root_table} through {column} ({', '.join(sorted(users))})"
            if users
            else f"{len(carried)} table{'s' * (len(carried) != 1)} have {column} "
            f"({', '.join(sorted(carried))})"
            + (f", named for {root_table}," if root_table else "")
            + " without a foreign key"
        )
        if users and len(carried) > len(users):
            proposal.reason += f", {len(carried)} tables have {column}"
        if len(ranked) > 1:
            (other, other_root), other_users = ranked[1]
            other_carried = len(carriers(other, other_root))
            proposal.reason += (
                f"; next: {other}{f' → {other_root}' if other_root else ''} ({len(other_users)}"
            )
            if other_carried > len(other_users):
                proposal.reason += f", in {other_carried} tables"
            proposal.reason += ")"
            same = [item for item in ranked[1:] if score(item) == score(ranked[0])]
            tied = [item for item in same if _name_rank(item[0][0]) == _name_rank(column)]
            if tied:
                proposal.tied = [f"{c} → {r}" if r else c for (c, r), _ in tied]
            elif same:
                proposal.reason += " (a tie on counts, broken by name)"
    else:
        # tenant-like names first, then the user's (an app whose tenant is the user)
        named = Counter(
            column for cols in tables.values() for column in cols if _name_rank(column) < 2
        )
        if named:
            ranked_names = sorted(named, key=lambda name: (_name_rank(name), -named[name], name))
            column, count = ranked_names[0], named[ranked_names[0]]
            proposal.tenant_column = column
            proposal.reason = (
                f"no foreign keys found; {column} is the most common tenant-like column "
                f"({count} table{'' if count == 1 else 's'})"
            )
            proposal.tied = [
                name
                for name in ranked_names[1:]
                if (_name_rank(name), named[name]) == (_name_rank(column), count)
            ]
    if proposal.tenant_column is None:
        return proposal
    column = proposal.tenant_column
    # every file check reads there (views, functions and policies often stand apart)
    read = sorted(
        {
            path
            for where in proposal.schema_paths
            for path in (
                [root / where] if (root / where).is_file() else (root / where).rglob("*.sql")
            )
        }
        | set(files),
        key=lambda path: read_order(path.relative_to(root).as_posix()),
    )
    proposal.files = [file.relative_to(root).as_posix() for file in read]
    proposal.tenant_setting = _compared_setting(read, column)
    proposal.tenant_tables = sorted(t for t, cols in tables.items() if column in cols)
    proposal.global_tables = sorted(t for t, cols in tables.items() if column not in cols)
    tenant = set(proposal.tenant_tables)
    for table, _, referenced in sorted({(t, c, r) for t, c, r, _ in references}):
        if table not in tenant and referenced in tenant and table != proposal.tenant_root:
            proposal.orphans.append((table, referenced))
    proposal.test_fixtures = _test_fixtures(root)
    return proposal


_TESTS = frozenset({"tests", "test"})
_WHOLE_TABLE = lazy_pattern(r"\b(?:TRUNCATE|COPY)\b", re.IGNORECASE)


def _test_fixtures(root: Path) -> list[str]:
    """Where a project's tests empty or fill tables whole on purpose (h35H, issue 12): a
    `conftest.py` below a tests folder, or a `fixtures` folder there, whose text holds TRUNCATE
    or COPY — TG005 wherever it runs, and expected in a fixture. The rest of the tests is
    checked (ruff checks tests too). Patterns in per_file_ignores' syntax, from the root."""
    found: set[str] = set()
    for directory, subdirs, names in os.walk(root):
        here = Path(directory)
        subdirs[:] = sorted(
            d
            for d in subdirs
            if not d.startswith(".")
            and d not in ALWAYS_SKIPPED
            and not (here / d / "pyvenv.cfg").exists()
        )
        parts = here.relative_to(root).parts
        if not any(p in _TESTS for p in parts):
            continue
        tests = parts[: max(i for i, p in enumerate(parts) if p in _TESTS) + 1]
        base = "/".join(tests)
        for name in names:
            if not name.lower().endswith((".py", ".sql")):
                continue
            if name == "conftest.py":
                pattern = f"{base}/**/conftest.py"
            elif "fixtures" in parts[len(tests) :]:
                pattern = f"{base}/**/fixtures/**"
            else:
                continue
            if pattern in found:
                continue
            try:
                text = (here / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if _WHOLE_TABLE.search(text):
                found.add(pattern)
    return sorted(found)


_SETTING = r"current_setting\s*\(\s*'([A-Za-z_][\w$]*\.[A-Za-z_][\w$]*)'"


def _compared_setting(files: list[Path], column: str) -> str | None:
    """The custom setting the schema sources compare the tenant column with most often (either
    side of `=`), unless it is app.tenant_id, which the tenant expression reads by default
    (helpers 101, 106: `init` kept the default beside views filtered by another setting)."""
    name = re.escape(column)
    compared = re.compile(
        rf"\b{name}\s*=\s*(?:\(\s*)?{_SETTING}|{_SETTING}[^;=]{{0,40}}=\s*(?:\w+\.)?{name}\b",
        re.IGNORECASE,
    )
    found: Counter[str] = Counter()
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for match in compared.finditer(text):
            found[(match.group(1) or match.group(2)).lower()] += 1
    if not found:
        return None
    setting = found.most_common(1)[0][0]
    return None if setting == "app.tenant_id" else setting


def _toml_string(text: str) -> str:
    """A TOML string of `text`: a literal string ('…') when it holds a double quote."""
    if '"' in text and "'" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_name(name: str) -> str:
    """A table's or column's name as the configuration reads it: quoted when it is not all
    lower case (`'"workspaceId"'`: unquoted, it would fold to `workspaceid`)."""
    return _toml_string(sql_name(name))


def _toml_list(values: list[str], *, names: bool = False) -> str:
    return "[" + ", ".join(_toml_name(v) if names else _toml_string(v) for v in values) + "]"


def configuration(proposal: Proposal) -> str:
    """The `[tool.tenantguard]` table of a proposal."""
    known = {f.name for f in fields(Settings)}
    lines = [
        "[tool.tenantguard]",
        f"# written by `tenantguard init` from {', '.join(proposal.schema_paths)}",
        f"tenant_column = {_toml_name(proposal.tenant_column or '')}",
        f"schema_paths = {_toml_list(proposal.schema_paths)}",
    ]
    if proposal.tied:  # a tie broken by name order only: said where the choice is kept
        lines.insert(
            2,
            f"# a tie: {_chosen(proposal)} and {', '.join(proposal.tied)} are used by as many "
            "tables; chosen by name order only, check it",
        )
    if proposal.tenant_root is not None:
        if "tenant_root" in known and proposal.tenant_root_key is not None:
            key = (
                "" if proposal.tenant_root_key == "id" else "." + sql_name(proposal.tenant_root_key)
            )
            root = sql_name(proposal.tenant_root) + key
            lines.append(f"tenant_root = {_toml_string(root)}")
        if normalize_name(proposal.tenant_root_key or "id") != normalize_name(
            proposal.tenant_column or ""
        ):
            # the registry is read unpinned (login, sign-up): never a tenant table. One keyed
            # by the tenant column itself (`guilds(guild_id)`) is a tenant table like the
            # others, pinned by that column (helper 111: listed global, its writes passed)
            lines.append(f"global_tables = {_toml_list([proposal.tenant_root], names=True)}")
    if proposal.tenant_setting is not None:
        expression = f"current_setting('{proposal.tenant_setting}')"
        lines.append(f"tenant_expressions = {_toml_list([expression])}")
    if proposal.test_fixtures:
        lines.append(
            "# test fixtures empty tenant tables on purpose (TRUNCATE, COPY: TG005); the tests "
            "are checked otherwise"
        )
        entries = ", ".join(f'{_toml_string(p)} = ["TG005"]' for p in proposal.test_fixtures)
        lines.append(f"per_file_ignores = {{{entries}}}")
    return "\n".join(lines) + "\n"


def _chosen(proposal: Proposal) -> str:
    """The proposed column, and the table it references when known (`user_id → users`)."""
    root = f" → {proposal.tenant_root}" if proposal.tenant_root is not None else ""
    return f"{proposal.tenant_column}{root}"


def _say(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")


def _covering_configuration(directory: Path) -> Path | None:
    """The configuration of a directory above `directory` that a check here would read."""
    from tenantguard.config import find_config
    from tenantguard.errors import ConfigError

    try:
        found = find_config(directory)
    except ConfigError:
        return None
    return found if found is not None and found.parent != directory.resolve() else None


def _enclosing_project(directory: Path) -> tuple[Path, bool] | None:
    """The project a folder without a project file of its own lies in: the configuration a
    check there reads (found upward, `True`), else the nearest pyproject.toml or
    tenantguard.toml above it inside its git repository (`False`)."""
    covering = _covering_configuration(directory)
    if covering is not None:
        return covering, True
    folder = directory.resolve()
    if (folder / ".git").exists():
        return None
    for parent in folder.parents:
        for name in _PROJECT_FILES:
            if (parent / name).is_file():
                return parent / name, False
        if (parent / ".git").exists():
            return None
    return None


def _configured_below(proposal: Proposal) -> str:
    if not proposal.configured_below:
        return ""
    return (
        " Not read: the schema of the projects configured on their own ("
        f"{', '.join(proposal.configured_below)}): each checks its files with its own."
    )


def _unread_lines(proposal: Proposal) -> list[str]:
    """What init found and did not read, each with what to do (h37H: said, never dropped)."""
    lines: list[str] = []
    outside = [path for path, kind in proposal.unread if kind == "outside"]
    if outside:
        lines.append(
            f"Not read: {', '.join(outside)}: CREATE/ALTER TABLE outside the schema's folders "
            "(an example, a scratch script?); if it makes tables of the application, add it to "
            "schema_paths."
        )
    for folder in (path for path, kind in proposal.unread if kind == "django"):
        lines.append(
            f"Not read: {folder}: Django migrations (models, not SQL: tenantguard cannot read "
            "them); the tables they make are no tenant tables: dump the migrated schema "
            "(`pg_dump --schema-only --no-owner DATABASE > db/schema.sql`) and run init again, "
            "or list those tables in tenant_tables."
        )
    return lines


def run_init(directory: Path, *, dry_run: bool = False, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if not directory.is_dir():
        print(f"tenantguard: error: {directory}: not a directory", file=sys.stderr)
        return 2
    own = directory / "tenantguard.toml"
    if own.is_file() and not dry_run:  # it wins over pyproject.toml: what init writes is unread
        print(
            f"tenantguard: error: {own} exists, and a check reads it instead of pyproject.toml's "
            "[tool.tenantguard]; edit it, or see what init proposes with --dry-run",
            file=sys.stderr,
        )
        return 2
    pyproject = directory / "pyproject.toml"
    existing = ""
    if pyproject.is_file():
        try:
            existing = pyproject.read_text(encoding="utf-8")
            data = tomllib.loads(existing)
        except ValueError as error:  # UnicodeDecodeError, TOMLDecodeError
            from tenantguard.config import not_toml

            print(
                f"tenantguard: error: {not_toml(str(pyproject), existing, error)}", file=sys.stderr
            )
            return 2
        if "tenantguard" in data.get("tool", {}) and not dry_run:
            print(
                f"tenantguard: error: {pyproject} already has [tool.tenantguard]; edit it, or "
                "see what init proposes with --dry-run",
                file=sys.stderr,
            )
            return 2
    enclosing = None if pyproject.is_file() or own.is_file() else _enclosing_project(directory)
    if enclosing is not None:  # h42N: `cd app && tenantguard init` inside a project
        project, configured = enclosing
        root = project.parent
        try:
            here = f"{directory.resolve().relative_to(root).as_posix()}/"
        except ValueError:
            here = str(directory)
        said = (
            f"{here} has no pyproject.toml of its own and lies in the project of {project}, "
            + (
                "whose configuration checks its files: a pyproject.toml written here would "
                f"replace it for every file below {here} (its schema_paths, tenant tables and "
                f"rules lost there, in silence); edit {project} instead"
                if configured
                else f"whose schema may lie outside {here}: run init at the project's root "
                f"(`cd {shlex.quote(str(root))} && tenantguard init`), which reads the schema "
                "of the whole project"
            )
            + f"; if {here} is a project of its own, give it its pyproject.toml first"
        )
        if not dry_run:
            print(f"tenantguard: error: {said}", file=sys.stderr)
            return 2
        print(f"tenantguard: warning: {said}", file=sys.stderr)
    proposal = propose(directory)
    if proposal.projects:  # a monorepo's root: one init in each project
        below = [name for name in proposal.projects if name != "."]
        listed = ", ".join(
            f"{'here' if name == '.' else name} ({', '.join(paths)})"
            for name, paths in proposal.projects.items()
        )
        commands = ", then ".join(
            [f"`tenantguard init {shlex.quote(name)}`" for name in below]
            + (["init here again"] if "." in proposal.projects else [])
        )
        print(
            f"tenantguard: error: the schema found here lies in {len(proposal.projects)} "
            f"projects: {listed}; {', '.join(below)} "
            f"{'has its' if len(below) == 1 else 'each have their'} own pyproject.toml or "
            "tenantguard.toml. One [tool.tenantguard] here would give them one tenant column "
            "and read their tables as one schema (and it would be the configuration of each "
            f"project below that has none): run {commands}.{_configured_below(proposal)}",
            file=sys.stderr,
        )
        return 2
    if not proposal.files and proposal.configured_below:
        _say(
            out,
            "Nothing to write: the schema found here belongs to projects configured on their "
            f"own ({', '.join(proposal.configured_below)}), and `tenantguard check` here checks "
            "each project's files with its own configuration.",
        )
        return 0
    if not proposal.files:
        migrations = _python_migrations(directory)
        built_by = (
            f" — the schema is built by {migrations} (models, not SQL: tenantguard cannot read "
            "them): "
            "dump it as SQL (`pg_dump --schema-only --no-owner DATABASE > schema.sql`) into the "
            "project and run init again, or"
            if migrations
            else ";"
        )
        covering = _covering_configuration(directory)
        if covering is not None:  # `cd app && tenantguard init` in a configured project
            built_by += (
                f" {directory} is already checked with {covering} (found upward): edit that "
                "one, or run init in that project's root (a configuration written here would "
                f"replace it for the files below {directory})"
            )
        by_hand = (
            ""
            if covering is not None
            else " set tenant_column and tenant_tables in [tool.tenantguard] by hand"
        )
        print(
            f"tenantguard: error: no .sql file with CREATE TABLE or ALTER TABLE found (nor a "
            f"migration making tables){built_by}{by_hand}",
            file=sys.stderr,
        )
        return 2
    _say(out, f"Read {len(proposal.files)} schema file(s) in {', '.join(proposal.schema_paths)}.")
    shown = proposal.files[:12]
    more = f", and {len(proposal.files) - len(shown)} more" if len(proposal.files) > 12 else ""
    _say(out, f"  files: {', '.join(shown)}{more}")
    for line in _unread_lines(proposal):
        _say(out, line)
    for path in proposal.schema_paths:
        unread = django_migrations_unread(directory, path, "proposed")
        if unread is not None:  # h35H: a CreateModel's tenant table was proposed as global
            print(f"tenantguard: warning: {unread}", file=sys.stderr)
    if proposal.configured_below:
        _say(out, _configured_below(proposal).strip())
    if proposal.tenant_column is None:
        print(
            "tenantguard: error: no column references one table from several tables, and "
            "no column is named like a tenant (tenant_id, account_id, …); set tenant_column "
            "and tenant_tables in [tool.tenantguard] by hand",
            file=sys.stderr,
        )
        return 2
    _say(out, f"Tenant column: {proposal.tenant_column} — {proposal.reason}.")
    if proposal.tied:
        _say(
            out,
            f"Warning: tie: {_chosen(proposal)} and "
            f"{', '.join(proposal.tied)} are used by as many tables, and their names do not tell "
            f"the tenant's: init chose {proposal.tenant_column} by name order only; if it is "
            "another, set tenant_column (and tenant_root) in [tool.tenantguard].",
        )
    if proposal.tenant_root is not None and proposal.tenant_root_key is not None:
        _say(
            out,
            f"Tenant root: {proposal.tenant_root} (the table {proposal.tenant_column} references).",
        )
    elif proposal.tenant_root is not None:
        # named for it, with no foreign key to say which of its columns it holds (h42N)
        _say(
            out,
            f"Tenant root: none written ({proposal.tenant_column} goes with "
            f"{proposal.tenant_root}, but no one foreign key says which of its columns it "
            "holds: declare one, or set tenant_root in [tool.tenantguard]).",
        )
    _say(
        out,
        f"Tenant tables ({len(proposal.tenant_tables)}, they have {proposal.tenant_column}; "
        f"read from the schema at each check): {', '.join(proposal.tenant_tables) or '-'}",
    )
    # (only the registry is written to the configuration: the others are read at each check)
    registry = (
        f"; {proposal.tenant_root}, the registry, also written"
        if proposal.tenant_root
        and normalize_name(proposal.tenant_root_key or "id")
        != normalize_name(proposal.tenant_column or "")
        else ""
    )
    _say(
        out,
        f"Global tables (no {proposal.tenant_column}; read from the schema at each check"
        f"{registry}): {', '.join(proposal.global_tables) or '-'}",
    )
    if proposal.tenant_setting is not None:
        _say(
            out,
            f"Tenant setting: {proposal.tenant_setting} (the schema compares "
            f"{proposal.tenant_column} with current_setting('{proposal.tenant_setting}')): a pin "
            "by it counts; at run time give the guard tenant_setting="
            f"{proposal.tenant_setting!r}.",
        )
    for table, referenced in proposal.orphans:
        _say(
            out,
            f"Warning: {table} has no {proposal.tenant_column} but references {referenced}, a "
            f"tenant table: its rows belong to a tenant and no query on it can be pinned; add "
            f"{proposal.tenant_column} (with a composite foreign key) or list it in tenant_tables.",
        )
    text = configuration(proposal)
    _say(out)
    if dry_run:
        _say(out, f"Would write to {pyproject}:")
        _say(out)
        out.write(text)
        return 0
    if not existing or existing.endswith("\n\n"):
        separator = ""
    else:
        separator = "\n" if existing.endswith("\n") else "\n\n"
    try:
        pyproject.write_text(existing + separator + text, encoding="utf-8")
    except OSError as error:  # a read-only checkout, a folder of that name, a full disk
        print(
            f"tenantguard: error: cannot write {pyproject}: {error.strerror or error}; run init "
            "where the project can be written, or see what it would write with --dry-run and "
            "put it in [tool.tenantguard] yourself",
            file=sys.stderr,
        )
        return 2
    # from elsewhere, the bare commands would check (and baseline) the working directory
    there = (
        ""
        if directory.resolve() == Path.cwd().resolve()
        else f"cd {shlex.quote(str(directory))} && "
    )
    _say(out, f"Wrote [tool.tenantguard] to {pyproject}. Next, read what it finds (some may be")
    _say(out, "leaks to fix now, not to record):")
    _say(out, f"  {there}tenantguard check")
    _say(out, "then record the findings you accept, and check new code against them:")
    _say(out, f"  {there}tenantguard check --write-baseline .tenantguard-baseline.json")
    _say(out, f"  {there}tenantguard check --baseline .tenantguard-baseline.json")
    return 0
