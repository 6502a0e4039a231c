"""What a schema source looks like, by where it lies and what it holds: the files `tenantguard
init` reads (`init.py`), and the ones `check` says it does not (a migration outside the schema
paths, h37H). Light: no parser is imported here (a cached check imports none)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tenantguard._patterns import lazy_pattern
from tenantguard.sources.walk import ALWAYS_SKIPPED

__all__ = [
    "MIGRATION_DIRECTORIES",
    "SCHEMA_DIRECTORIES",
    "TEST_DIRECTORIES",
    "in_migrations",
    "in_tests",
    "makes_tables",
    "read_order",
    "schema_directory",
    "schema_like",
]

SCHEMA_DIRECTORIES = ("patches", "migrations", "migration", "db", "sql", "schema", "database")
TEST_DIRECTORIES = ("tests", "test", "testing", "fixtures", "examples", "benchmarks")
_DDL = lazy_pattern(r"\b(?:CREATE\s+(?:\w+\s+)*TABLE|ALTER\s+TABLE)\b", re.IGNORECASE)
# alembic's operations that make or change tables (the schema reader follows them)
_ALEMBIC_DDL = lazy_pattern(r"\bop\.(?:create_table|add_column|alter_column|rename_table)\b")
MIGRATION_DIRECTORIES = frozenset({"versions", "migrations", "migration", "alembic"})


def read_order(relative: str) -> tuple[bool, str]:
    """Dumps and baselines before migrations (`db/schema.sql`, then `alembic/versions/`): a
    migration's `ALTER TABLE tickets ADD COLUMN` read before the dump's CREATE TABLE is lost."""
    return (in_migrations(relative), relative)


_SCHEMA_NAME = lazy_pattern(
    r"^(?:[\w.-]*schema[\w.-]*|structure|ddl|tables|create_tables|init|initial|setup"
    r"|\d+[._-][\w.-]*|v\d+(?:[._]\d+)*__[\w.-]*)\.sql$",
    re.IGNORECASE,
)


def schema_like(relative: str) -> bool:
    """A schema source by where it lies or what it is called (`_schema_files`)."""
    if in_tests(relative):
        return False
    *folders, name = relative.lower().split("/")
    if set(folders) & (set(SCHEMA_DIRECTORIES) | MIGRATION_DIRECTORIES):
        return True
    return bool(_SCHEMA_NAME.match(name))


def makes_tables(text: str, *, python: bool) -> bool:
    """Whether a schema source's text makes or changes tables (DDL, alembic's operations)."""
    return bool(_DDL.search(text) or (python and _ALEMBIC_DDL.search(text)))


def in_migrations(relative: str) -> bool:
    """Whether a path lies in a migrations folder (`versions/`, `migrations/`, `alembic/`)."""
    return bool(set(relative.lower().split("/")[:-1]) & MIGRATION_DIRECTORIES)


def in_tests(relative: str) -> bool:
    return bool(set(relative.lower().split("/")[:-1]) & set(TEST_DIRECTORIES))


def schema_directory(relative: str, base: Path) -> str:
    """The directory to name for a schema file: its own, or the migrations folder above it;
    the file itself when it lies among application code or queries, outside the top-level
    schema folders (`app/schema.sql` beside `app/db.py`, `app/sql/scratch.sql` beside
    `app/sql/report.sql`: naming the folder, the queries were read as schema, never checked)."""
    if "/" not in relative:
        return relative
    folders = relative.split("/")[:-1]
    if folders[-1].lower() in MIGRATION_DIRECTORIES:
        return "/".join(folders)
    for depth in range(len(folders) - 1, 0, -1):
        if folders[depth - 1].lower() in MIGRATION_DIRECTORIES:
            return "/".join(folders[:depth])
    folder = "/".join(folders)
    if folders[0].lower() in SCHEMA_DIRECTORIES or not _holds_other_files(base / folder):
        return folder
    return relative


def _holds_other_files(folder: Path) -> bool:
    """Whether files other than schema lie under `folder`: Python (read as migrations by a
    schema path), or `.sql` making no table (application queries: a schema path's files are
    read as schema, never checked). Such a folder is never named; its schema files are."""
    for directory, subdirs, names in os.walk(folder):
        subdirs[:] = [d for d in subdirs if not d.startswith(".") and d not in ALWAYS_SKIPPED]
        for name in names:
            lower = name.lower()
            if lower.endswith(".py"):
                return True
            if lower.endswith(".sql"):
                try:
                    text = Path(directory, name).read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                if not makes_tables(text, python=False):
                    return True
    return False
