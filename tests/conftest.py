from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantguard import Policy

CASE_TABLES = {
    "patients",
    "appointments",
    "leads",
    "chat_messages",
    "memos",
    "professionals",
    "clinical_records",
    '"Audit Log"',
}
CASE_COLUMNS = {
    "tenants": ["id", "name", "created_at"],
    "users": ["id", "email", "tenant_id"],
}
CASE_CONSTRAINTS = {
    "leads_tenant_external_key": ["tenant_id", "external_id"],
    "leads_external_key": ["external_id"],
    "tenants_pkey": ["id"],
}


RULE_DOC_SECTIONS = (
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## Options",
)


def assert_documented(rule: object) -> None:
    """A rule's doc has the ruff sections and starts with its code and name."""
    doc: str = rule.doc  # type: ignore[attr-defined]
    for section in RULE_DOC_SECTIONS:
        assert section in doc, f"{rule.code} lacks {section}"  # type: ignore[attr-defined]
    assert doc.splitlines()[0] == f"{rule.code} {rule.name}"  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _cache_outside_the_tree(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Checks of the fixture projects must not leave (or find) a result cache in the source
    tree: each test gets a cache directory of its own (the cache's own tests use the default)."""
    if request.module.__name__.endswith("test_cache"):
        yield
        return
    patch = pytest.MonkeyPatch()
    patch.setenv("TENANTGUARD_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    try:
        yield
    finally:
        patch.undo()


@pytest.fixture(autouse=True)
def _warnings_said_again() -> None:
    """Each test sees the runtime's once-per-process warnings said (`guard._UNLISTED_SAID`)."""
    guard = sys.modules.get("tenantguard.runtime.guard")
    if guard is not None:
        guard._UNLISTED_SAID.clear()


def read_cases(name: str) -> list[dict[str, Any]]:
    """tests/cases/`name`, read with libyaml's loader when PyYAML has it: the same data as
    yaml.safe_load, which takes ~2 s of pure Python for rules.yaml in each module that reads it."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = (Path(__file__).resolve().parent / "cases" / name).read_text(encoding="utf-8")
    cases: list[dict[str, Any]] = yaml.load(text, Loader=loader)
    return cases


def case_policy(**changes: object) -> Policy:
    """The cases' policy; YAML spells foreign keys as {table: [[columns], ref_table, [ref_columns]]}
    and function pins as {name: [positions]}."""
    from tenantguard.engine.policy import ForeignKey, FunctionPins

    if "foreign_keys" in changes:
        changes["foreign_keys"] = {
            table: [ForeignKey(tuple(c), r, tuple(rc)) for c, r, rc in keys]  # type: ignore[misc]
            for table, keys in changes["foreign_keys"].items()  # type: ignore[attr-defined]
        }
    if "pinning_functions" in changes:
        changes["pinning_functions"] = {
            name: FunctionPins(frozenset(positions), frozenset())  # type: ignore[arg-type]
            for name, positions in changes["pinning_functions"].items()  # type: ignore[attr-defined]
        }
    policy = Policy(
        "tenant_id",
        CASE_TABLES,
        global_tables={"tenants"},
        table_columns=CASE_COLUMNS,
        constraint_columns=CASE_CONSTRAINTS,
        # every tenant column of tests/fixtures/case_schema.sql is a bigint (set operations)
        tenant_column_types=dict.fromkeys(CASE_TABLES, "int8"),
    )
    return policy.replace(**changes) if changes else policy


# ---------------------------------------------------------------- real servers
import asyncio  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
from collections.abc import AsyncIterator, Awaitable, Callable  # noqa: E402
from contextlib import asynccontextmanager  # noqa: E402

import asyncpg  # noqa: E402
import pytest  # noqa: E402

from tenantguard.embedded import (  # noqa: E402
    ThrowawayPostgres,
    ThrowawayRedis,
    find_postgres_bin,
)

_DB_NUMBERS = itertools.count(1)


def cluster_directory() -> Path:
    """A new directory for a test's throwaway cluster: in memory (/dev/shm, a tmpfs) when it has
    room, else under /tmp as ThrowawayPostgres puts it. The server is the same (fsync is off
    either way); copying a database (CREATE DATABASE … TEMPLATE, once per server test) and
    removing the cluster write and unlink no disk: measured 0.12 s a copy against 0.35-0.5 s
    on /tmp's disk while other processes write to it, 1.2 s against 5 s to remove 1 GB."""
    import shutil
    import tempfile

    memory = Path("/dev/shm")
    try:
        if os.access(memory, os.W_OK | os.X_OK) and shutil.disk_usage(memory).free > 4 << 30:
            return Path(tempfile.mkdtemp(prefix="tg-", dir=memory))
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="tg-", dir="/tmp"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    """One throwaway cluster for the session; tests get databases of their own.
    (No WAL is written but by a change, which is how a database a test left unchanged is told
    apart: see `fresh_database`. So no background process writes any: wal_level = minimal
    writes no standby snapshots, and autovacuum is off.)"""
    server = ThrowawayPostgres(
        directory=cluster_directory(),
        settings={
            # no `log_statement = all` for every test: the few that read the log ask for it on
            # their own database (`log_every_statement`); logging the whole suite's statements
            # costs CPU
            "max_connections": "200",
            "wal_level": "minimal",
            "max_wal_senders": "0",
            "autovacuum": "off",
            # two-phase commit, for the tests of a migration's PREPARE TRANSACTION (h37V)
            "max_prepared_transactions": "4",
        },
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


BASELINE = Path(__file__).resolve().parent.parent / "db" / "init" / "dentalogic_schema.sql"
CLINICS = (
    "INSERT INTO tenants (id, name) VALUES (1, 'North'), (2, 'South');\n"
    "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES "
    "(1, 'Ana', '111'), (1, 'Bruno', '112'), (2, 'Carla', '221');\n"
)
_TEMPLATES: dict[tuple[str, str, str], str] = {}  # (server, what) -> a template database's name
# templates whose copies are never handed on: an unlogged sequence changes without WAL
_NOT_HANDED_ON: set[str] = set()
_UNCHANGED: dict[tuple[str, str, str], list[str]] = {}  # (server, what) -> databases left as copied
_COPIES = {"made": 0, "reused": 0, "sessions left": 0, "written": 0}

# After a template is built: every sequence's next nextval() writes WAL (setval leaves log_cnt at
# 0; otherwise up to 32 calls go unlogged), and no page is left for a read to prune (a prune
# writes WAL).
_SEQUENCES_LOGGED = """
DO $$
DECLARE s record;
BEGIN
    FOR s IN SELECT c.oid::regclass AS seq, q.last_value, q.is_called
             FROM pg_class c, LATERAL pg_sequence_last_value(c.oid) AS v(lv),
                  LATERAL (SELECT coalesce(v.lv, p.seqstart) AS last_value,
                                  v.lv IS NOT NULL AS is_called
                           FROM pg_sequence p WHERE p.seqrelid = c.oid) AS q
             WHERE c.relkind = 'S' AND c.relpersistence = 'p'
    LOOP
        PERFORM setval(s.seq, s.last_value, s.is_called);
    END LOOP;
END $$
"""


async def _template(
    postgres: ThrowawayPostgres, sql: str, build: Callable[[str], Awaitable[None]] | None = None
) -> str:
    """A database holding `sql` (then what `build` does to the DSN it is given), made once per
    server, to copy (CREATE DATABASE … TEMPLATE copies it in about the time an empty one takes;
    running the baseline takes as long again)."""
    key = _key(postgres, sql, build)
    if key not in _TEMPLATES:
        name = f"template_{len(_TEMPLATES) + 1}"
        admin = await asyncpg.connect(postgres.dsn)
        try:
            await admin.execute(f"CREATE DATABASE {name}")
        finally:
            await admin.close()
        conn = await asyncpg.connect(postgres.dsn_for(name))
        try:
            if sql:
                await conn.execute(sql)
            if build is not None:
                await build(postgres.dsn_for(name))
            await conn.execute(_SEQUENCES_LOGGED)
            await conn.execute("ANALYZE")
            await conn.execute("VACUUM (FREEZE)")
            if await conn.fetchval(
                "SELECT EXISTS (SELECT FROM pg_class WHERE relkind = 'S' AND relpersistence = 'u')"
            ):
                _NOT_HANDED_ON.add(name)
        finally:
            await conn.close()
        admin = await asyncpg.connect(postgres.dsn)
        try:  # copied, never changed: no test can connect to it
            await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        finally:
            await admin.close()
        _TEMPLATES[key] = name
    return _TEMPLATES[key]


def _key(
    postgres: ThrowawayPostgres, sql: str, build: Callable[[str], Awaitable[None]] | None
) -> tuple[str, str, str]:
    return (postgres.dsn, sql, "" if build is None else f"{build.__module__}.{build.__qualname__}")


# ALTER SYSTEM writes postgresql.auto.conf, and no WAL
_SERVER_SETTINGS = "SELECT pg_read_file('postgresql.auto.conf')"


async def _left_unchanged(admin: asyncpg.Connection, name: str, lsn: object) -> bool:
    """Whether the test left database `name` as it was handed out: no session on it any more
    (a closed connection's backend takes a moment to go), and not one byte of WAL written on the
    server since (only this test used the server meanwhile). A change to its rows, its catalogs,
    a sequence, a role or the server's catalogs writes WAL; so do things that change nothing one
    can see (a row lock, a transaction id taken): those databases are dropped too."""
    for _ in range(100):
        sessions = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name
        )
        if not sessions:
            break
        await asyncio.sleep(0.005)
    else:
        _COPIES["sessions left"] += 1
        return False
    if await admin.fetchval("SELECT pg_current_wal_insert_lsn() = $1", lsn):
        return True
    _COPIES["written"] += 1
    return False


def _dump(postgres: ThrowawayPostgres, name: str) -> str:
    """pg_dump of a database: its schema, rows and sequence values (without the random key of
    its \\restrict lines)."""
    bindir = find_postgres_bin()
    assert bindir is not None
    dump = subprocess.run(
        [str(bindir / "pg_dump"), "--no-sync", postgres.dsn_for(name)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "\n".join(line for line in dump.splitlines() if "restrict " not in line[:12])


@asynccontextmanager
async def fresh_database(
    postgres: ThrowawayPostgres,
    sql: str = "",
    build: Callable[[str], Awaitable[None]] | None = None,
) -> AsyncIterator[str]:
    """The DSN of a database holding `sql` (then what `build`, a module-level function, does to
    the DSN it is given) and nothing else, for one test: a copy of a template that has it, or a
    copy that an earlier test left exactly as it was copied (most tests only read: a copy costs
    0.1-0.3 s, telling that nothing changed a few milliseconds). Not part of "as it was copied":
    the statistics counters (`pg_stat_*`: any read changes them) and files a test writes on the
    server (`COPY … TO 'file'`); roles are the server's, shared by every database, as always.
    A test that changes the server's settings (ALTER SYSTEM) fails."""
    key = _key(postgres, sql, build)
    template = await _template(postgres, sql, build)
    unchanged = _UNCHANGED.setdefault(key, [])
    admin = await asyncpg.connect(postgres.dsn)
    try:
        if unchanged:
            name = unchanged.pop()
            _COPIES["reused"] += 1
        else:
            name = f"t{next(_DB_NUMBERS)}"
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
            _COPIES["made"] += 1
        lsn = await admin.fetchval("SELECT pg_current_wal_insert_lsn()")
        settings = await admin.fetchval(_SERVER_SETTINGS)
    finally:
        await admin.close()
    try:
        yield postgres.dsn_for(name)
    finally:
        admin = await asyncpg.connect(postgres.dsn)
        try:
            # ALTER SYSTEM: no WAL, and no copy undoes it: every later test would run under it
            reset = await admin.fetchval(_SERVER_SETTINGS) != settings
            if reset:
                await admin.execute("ALTER SYSTEM RESET ALL")
                await admin.execute("SELECT pg_reload_conf()")
            if (
                not reset
                and template not in _NOT_HANDED_ON
                and await _left_unchanged(admin, name, lsn)
            ):
                if os.environ.get("TENANTGUARD_TEST_CHECK_REUSE"):
                    # (a check of the check, for the whole suite: `TENANTGUARD_TEST_CHECK_REUSE=1
                    # bash scripts/test`; a pg_dump per test, too slow to run always)
                    assert _dump(postgres, name) == _dump(postgres, template), name
                unchanged.append(name)
            else:
                await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()
        if reset:
            raise AssertionError("the test changed the server's settings (ALTER SYSTEM)")


async def log_every_statement(dsn: str) -> None:
    """The server logs every statement of the sessions that connect to `dsn`'s database from
    now on (`ALTER DATABASE … SET log_statement = 'all'`: the copy is dropped after the test,
    the setting with it)."""
    admin = await asyncpg.connect(dsn)
    try:
        name = await admin.fetchval("SELECT quote_ident(current_database())")
        await admin.execute(f"ALTER DATABASE {name} SET log_statement = 'all'")
    finally:
        await admin.close()


@pytest.fixture
async def database(
    postgres: ThrowawayPostgres, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A database as fresh as a new, empty one on the session's server; its DSN. (For a test
    that asks for `two_clinics` too, one that has them already.)"""
    sql = ""
    if "two_clinics" in request.fixturenames:
        sql = BASELINE.read_text(encoding="utf-8") + CLINICS
    async with fresh_database(postgres, sql) as dsn:
        yield dsn


@pytest.fixture
async def two_clinics(database: str) -> str:
    """A database with the Dentalogic baseline, clinics 1 and 2, and three patients:
    Ana and Bruno in clinic 1, Carla in clinic 2 (copied from a template database that has
    them: see `database`)."""
    return database


@pytest.fixture(scope="session")
def redis_server() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


__all__ = ["asyncio"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _COPIES["made"] or _COPIES["reused"]:
        terminalreporter.write_line(
            f"databases: {_COPIES['made']} copied from a template, "
            f"{_COPIES['reused']} handed on unchanged; dropped: {_COPIES['written']} changed, "
            f"{_COPIES['sessions left']} with sessions left open"
        )


def error_document_only(fmt: str, out: str) -> bool:
    """Whether stdout holds only what a run stopped by a configuration error prints (h32k):
    nothing in the text formats; in json an `error` and no `findings`/`summary`; in SARIF a
    failed invocation and no `results`; in github one error annotation. Nothing a tool could
    read as "no findings"."""
    import json

    if fmt in ("text", "full", "concise"):
        return out == ""
    if fmt == "github":
        return out.startswith("::error title=tenantguard configuration error::") and (
            out.count("\n") == 1
        )
    document = json.loads(out)
    if fmt == "json":
        return set(document) == {"version", "error"} and bool(document["error"]["message"])
    (run,) = document["runs"]
    (invocation,) = run["invocations"]
    return "results" not in run and invocation["executionSuccessful"] is False


@pytest.fixture
async def guilds(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    """A database of tests/project_files.py's guild bot (its schema and two guilds' rows), for
    the tests that run a checked project's SQL on the server."""
    from .project_files import GUILD_ROWS, GUILD_SCHEMA

    async with fresh_database(postgres, GUILD_SCHEMA + GUILD_ROWS) as dsn:
        yield dsn
