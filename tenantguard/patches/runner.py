"""Applying patches at startup: once each, in order, under an advisory lock.

What the runner guarantees:
- each transactional patch runs in one transaction together with its ledger row (name, number,
  checksum, applied_at, duration): it is applied completely or not at all;
- a transactional patch that changed the ledger — its rows, or its table (a loop over every
  table of the schema reaching it: TRUNCATE, forced row-level security) — is rolled back;
- replicas that start together apply each patch once (a session advisory lock; the ledger is
  re-read under it); a waiter says who holds the lock, and `lock_wait` bounds its wait;
- each patch starts from a clean session (`RESET ALL`, role, temporary tables): a `SET
  search_path` in one patch does not move the next one's tables; the ledger is schema-qualified;
- DDL runs with the runner's own short `lock_timeout`, retried with backoff, so that a long
  transaction of the application makes the patch wait — not the application's queries behind
  it; when it gives up, the error names the table and the backend holding it;
- a `CREATE INDEX CONCURRENTLY` that failed or was killed leaves an INVALID index: the next run
  drops and rebuilds it (also for an applied patch); one that fails while the runner lives and
  that writes already update (a unique one refusing duplicates) is dropped at once; one killed
  after its build and before its ledger row is recorded without building it again when the
  index is valid and of the patch's definition, and refused when it is another index;
- a connection the caller passed in is handed back clean (no patch's settings, no transaction,
  no patch lock), also when the run is cancelled.

What it refuses, before any patch of the run executes: an applied patch whose file changed
(unless re-baselined), a new patch numbered below an applied one (unless `allow_out_of_order`),
transaction control (`COMMIT`, `BEGIN`, …) in a transactional patch, a patch that does not
parse (the error at its line and column) or is empty, and a ledger off the runner's search_path.
A renamed or renumbered applied patch (same checksum under a new name) is recorded under its new
name, not run again; an applied patch whose file is gone is reported. A deadlock's victim is
retried like a lock timeout.
"""

# tenantguard: ignore-file[TG007,TG009] -- the runner owns the ledger table and rebuilds invalid indexes; names are constants

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import logging
import re
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pglast

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.sqltext import LineIndex
from tenantguard.patches.dsn import Dsn, connect
from tenantguard.patches.files import (
    LEDGER,
    PatchConnectionError,
    PatchError,
    PatchFile,
    PatchLockError,
    PatchUsageError,
    read_patches,
)
from tenantguard.patches.locking import LOCK_KEY, blockers_of, take_patch_lock

__all__ = [
    "LEDGER",
    "LOCK_KEY",
    "AppliedPatch",
    "InvalidIndex",
    "PatchRun",
    "PipelineStatus",
    "apply_patches",
    "invalid_indexes",
    "ledger_of",
    "patch_status",
    "pipeline_status",
    "plan_of",
    "quote_ident",
]


log = logging.getLogger("tenantguard.patches.runner")

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS {ledger} (
    name         pg_catalog.text PRIMARY KEY,
    number       integer NOT NULL,
    checksum     pg_catalog.text NOT NULL,
    applied_at   pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    duration_ms  double precision NOT NULL
)
"""

_INVALID_INDEXES = """
SELECT n.nspname AS schema, c.relname AS name, t.relname AS table_name,
       coalesce(pg_catalog.to_regclass(pg_catalog.quote_ident(t.relname)) OPERATOR(pg_catalog.=) t.oid,
                false) AS on_path
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid
JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE NOT i.indisvalid ORDER BY 1, 2
"""

_BACKOFF_FIRST, _BACKOFF_MAX = 0.5, 8.0  # seconds between DDL attempts: doubling, capped


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class AppliedPatch:
    name: str
    checksum: str
    applied_at: Any
    duration_ms: float
    number: int = 0


@dataclass(frozen=True)
class InvalidIndex:
    """An index PostgreSQL marks INVALID (a failed or killed CREATE INDEX CONCURRENTLY)."""

    schema: str
    name: str
    table: str
    patch: str | None  # the no-transaction patch that builds it, when one does

    @property
    def qualified(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"


@dataclass
class PatchRun:
    applied: list[str]
    skipped: list[str]
    rebaselined: list[str]
    seconds: float
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (ledger name, file name)
    missing: list[str] = field(default_factory=list)  # applied, but no file
    rebuilt: list[str] = field(default_factory=list)  # invalid indexes dropped and built again


@dataclass
class _Plan:
    """What a run has to do, from the patch files and the ledger (pure)."""

    skipped: list[PatchFile] = field(default_factory=list)
    pending: list[PatchFile] = field(default_factory=list)
    changed: list[tuple[PatchFile, AppliedPatch]] = field(default_factory=list)
    renamed: list[tuple[AppliedPatch, PatchFile]] = field(default_factory=list)
    missing: list[AppliedPatch] = field(default_factory=list)
    out_of_order: list[tuple[PatchFile, str, int]] = field(
        default_factory=list
    )  # (new, highest applied)
    # a new name and checksum with the number of an applied patch whose file is gone: that
    # patch renamed and edited, or another one in its place (the ledger cannot tell which)
    reused: list[tuple[PatchFile, AppliedPatch]] = field(default_factory=list)
    applied_rows: list[AppliedPatch] = field(default_factory=list)  # the ledger's
    # (ledger row, file) of the same contents, the row numbered above every file: this code is
    # older than the database (a newer version renumbered the patch up), so the ledger is left
    # alone — it was renamed back, and again by every start of the other version (round 32,
    # helper h32l); `--rebaseline FILE` records a renumbering down that was meant
    ahead: list[tuple[AppliedPatch, PatchFile]] = field(default_factory=list)

    @property
    def work(self) -> bool:
        return bool(self.pending or self.changed or self.renamed or self.reused)

    def reused_message(self, patch: PatchFile, row: AppliedPatch) -> str:
        top = max((r.number for r in self.applied_rows), default=row.number)
        return (
            f"{patch.path}: patch {patch.name} has the number of applied patch {row.name}, "
            "whose file is gone: that patch renamed and edited? Applied patches are never "
            f"edited. --rebaseline {patch.name} records it as {row.name}'s new name and "
            f"contents without running it; if it is another patch, number it above {top} "
            "(the highest applied)"
        )


def _plan(
    patches: list[PatchFile],
    ledger: dict[str, AppliedPatch],
    rebaseline: Collection[str] = (),
) -> _Plan:
    plan = _Plan()
    files = {p.name for p in patches}
    top_file = max((p.number for p in patches), default=0)
    gone = [row for name, row in ledger.items() if name not in files]
    for patch in patches:
        done = ledger.get(patch.name)
        if done is None:
            twin = next((row for row in gone if row.checksum == patch.checksum), None)
            if twin is not None:  # same bytes under a new name: a rename or renumbering
                gone.remove(twin)
                if twin.number > top_file and patch.name not in rebaseline:
                    plan.ahead.append((twin, patch))
                    plan.skipped.append(patch)
                else:
                    plan.renamed.append((twin, patch))
            else:
                plan.pending.append(patch)
        elif done.checksum != patch.checksum:
            plan.changed.append((patch, done))
        else:
            plan.skipped.append(patch)
    by_number = {row.number: row for row in gone}
    for patch in list(plan.pending):
        if patch.number in by_number:
            plan.pending.remove(patch)
            plan.reused.append((patch, by_number[patch.number]))
    plan.missing = sorted(gone, key=lambda row: (row.number, row.name))
    plan.applied_rows = list(ledger.values())
    applied = {row.name: row.number for row in ledger.values()}
    for row, patch in plan.renamed:
        del applied[row.name]
        applied[patch.name] = patch.number
    if applied:
        top = max(applied.items(), key=lambda item: (item[1], item[0]))
        plan.out_of_order = [(p, *top) for p in plan.pending if p.number < top[1]]
    return plan


_RESET_SESSION = (
    "SET SESSION AUTHORIZATION DEFAULT; RESET ROLE; RESET ALL; DISCARD TEMP; DISCARD SEQUENCES; "
    "CLOSE ALL; UNLISTEN *"
)
# what a patch may leave in the session besides settings (round 22, helper 100): prepared
# statements of SQL's PREPARE (a second patch's `PREPARE seed` failed on the first's) and session
# advisory locks other than the runner's (held by the caller's connection after the run)
_LEFTOVERS = """
-- tenantguard: ignore[TG006] -- the runner's own session: its prepared statements and locks
SELECT 'statement' AS kind, name, NULL::bigint AS a, NULL::bigint AS b, NULL::int AS sub,
       NULL::pg_catalog.text AS mode
FROM pg_catalog.pg_prepared_statements WHERE from_sql
UNION ALL
SELECT 'lock', NULL, classid::bigint, objid::bigint, objsubid::int, mode
FROM pg_catalog.pg_locks
WHERE locktype OPERATOR(pg_catalog.=) 'advisory' AND pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() AND granted
"""


async def _drop_leftovers(conn: asyncpg.Connection) -> None:
    """Deallocates the statements a patch prepared and releases its session advisory locks
    (each as often as it was taken), leaving asyncpg's own statements and the runner's lock."""
    rows = await conn.fetch(_LEFTOVERS)
    if any(row["kind"] == "lock" for row in rows):
        # the last unlock of each lock warns that it is not held (the reset after puts it back)
        await conn.execute("SET client_min_messages = error")
    for row in rows:
        if row["kind"] == "statement":
            await conn.execute(f"DEALLOCATE {quote_ident(row['name'])}")
            continue
        shared = "_shared" if row["mode"] == "ShareLock" else ""
        args: tuple[int, ...]
        if row["sub"] == 1:  # one bigint key: its high and low halves
            key = (row["a"] << 32) | row["b"]
            key = key - (1 << 64) if key >= 1 << 63 else key
            if key == LOCK_KEY:
                continue
            sql, args = f"SELECT pg_catalog.pg_advisory_unlock{shared}($1::bigint)", (key,)
        else:  # two int keys
            a, b = (v - (1 << 32) if v >= 1 << 31 else v for v in (row["a"], row["b"]))
            sql, args = f"SELECT pg_catalog.pg_advisory_unlock{shared}($1::int, $2::int)", (a, b)
        for _ in range(10_000):  # a session lock is taken as often as it is asked for
            if not await conn.fetchval(sql, *args):
                break


async def no_statement_timeout(conn: asyncpg.Connection) -> None:
    """`SET statement_timeout = 0` for the runner's own queries, outside a transaction: under
    a database's or role's `statement_timeout = '1ms'` that statement is itself cancelled when
    it takes longer — a new backend's first statement, which fills its catalog caches, on a
    busy host (round 34: a clean-clone CI run's `patches apply` ended in QueryCanceledError
    before any patch ran). Tried again a few times: a cancelled SET changes nothing."""
    await _runner_statement(conn, "SET statement_timeout = 0")


async def _runner_statement(conn: asyncpg.Connection, sql: str) -> None:
    """Runs the runner's own settings outside a transaction, again when a database's or role's
    `statement_timeout` cancelled them (a cancelled statement outside a transaction changes
    nothing: its implicit transaction is rolled back whole)."""
    for attempt in range(10):
        try:
            await conn.execute(sql)
            return
        except asyncpg.QueryCanceledError:
            if attempt == 9 or conn.is_in_transaction():
                raise
            await asyncio.sleep(0.01 * (attempt + 1))


# the search_path the caller's connection had from a `SET` of its own (a pool's `init=`), kept
# by the runner for every patch of the run (see `_callers_path`)
_CALLERS_PATH: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tenantguard_patches_callers_path", default=None
)

# the patches of the run fail where a row-level security policy would filter them (a database
# with patches recorded: see `_runner_settings`)
_POLICIES_FAIL: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tenantguard_patches_policies_fail", default=False
)

_SESSION_PATH = """
-- tenantguard: ignore[TG006] -- the runner's caller's session: its own search_path
SELECT setting FROM pg_catalog.pg_settings
WHERE name OPERATOR(pg_catalog.=) 'search_path' AND source OPERATOR(pg_catalog.=) 'session' AND NOT coalesce(setting OPERATOR(pg_catalog.=) reset_val, false)
"""


async def _callers_path(conn: asyncpg.Connection) -> str | None:
    """The search_path the caller set on its connection with a `SET` of its own (a pool's
    `init=`), when it is not what `RESET ALL` gives: the patches run with it (round 35, helper
    h35E: a pool whose init said `SET search_path = app` had its patches build in `public` —
    the runner resets the session before each patch — on a new database, ledger included,
    while the application read `app`). A path given at connection (the DSN's options, the
    role's or database's setting) is what `RESET ALL` gives already."""
    path = await conn.fetchval(_SESSION_PATH)
    return None if path is None else str(path)


def _set_path(path: str) -> str:
    """`set_config('search_path', …)` of a path read from the server, as a dollar-quoted
    literal (whatever the session's standard_conforming_strings)."""
    tag = "$tg$"
    while tag in path:
        tag = tag[:-1] + "x$"
    return f"SELECT pg_catalog.set_config('search_path', {tag}{path}{tag}, false)"


# the settings the database and the runner's role give a new session (ALTER DATABASE / ROLE …
# SET), the most specific first, as PostgreSQL applies them at connection
_SESSION_DEFAULTS = """
SELECT DISTINCT ON (r.name) r.name, r.value FROM (
  SELECT pg_catalog.split_part(c.cfg, '=', 1) AS name,
         pg_catalog.substr(c.cfg, pg_catalog.strpos(c.cfg, '=') OPERATOR(pg_catalog.+) 1) AS value,
         (d.setdatabase OPERATOR(pg_catalog.<>) 0)::pg_catalog.int4
           OPERATOR(pg_catalog.+) (2 OPERATOR(pg_catalog.*) (d.setrole OPERATOR(pg_catalog.<>) 0)::pg_catalog.int4) AS rank
  FROM pg_catalog.pg_db_role_setting d, pg_catalog.unnest(d.setconfig) AS c(cfg)
  WHERE (d.setdatabase OPERATOR(pg_catalog.=) 0 OR d.setdatabase OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_database
                                 WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database()))
    AND (d.setrole OPERATOR(pg_catalog.=) 0 OR d.setrole OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_roles
                             WHERE rolname OPERATOR(pg_catalog.=) session_user))) r
ORDER BY r.name, r.rank DESC
"""

# (a patch's `ALTER DATABASE … SET search_path = app, public` reaches the next connection, not
# this session's RESET ALL: the later patches of the run get it as a new session would)
_NEW_SESSION_DEFAULTS = f"""
SELECT pg_catalog.set_config(m.name, m.value, false) FROM ({_SESSION_DEFAULTS}) m
JOIN pg_catalog.pg_settings s ON s.name OPERATOR(pg_catalog.=) m.name
WHERE coalesce(m.value OPERATOR(pg_catalog.<>) ($1::pg_catalog.jsonb OPERATOR(pg_catalog.->>) m.name), true)
  AND s.source OPERATOR(pg_catalog.<>) 'client'  -- the connection's options win, as at connect
  -- (a path with pg_temp first is refused when a run starts, not taken up in the middle of one)
  AND NOT (m.name OPERATOR(pg_catalog.=) 'search_path' AND m.value OPERATOR(pg_catalog.~*) 'pg_temp')
  AND (s.context OPERATOR(pg_catalog.=) 'user'
       OR (s.context OPERATOR(pg_catalog.=) 'superuser' AND pg_catalog.current_setting('is_superuser')::pg_catalog.bool))
"""

# what the database and the role gave the runner's session when the run began (name: value)
_STARTED_WITH: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tenantguard_patches_started_with", default=None
)


async def _session_defaults(conn: asyncpg.Connection) -> str:
    return json.dumps({row["name"]: row["value"] for row in await conn.fetch(_SESSION_DEFAULTS)})


async def _clean_session(conn: asyncpg.Connection, ddl_lock_timeout: float | None) -> None:
    """The session as a new connection has it, plus the runner's own settings (and the
    caller's search_path: `_callers_path`)."""
    await no_statement_timeout(conn)  # for _drop_leftovers' read (see below)
    await _drop_leftovers(conn)
    path = _CALLERS_PATH.get()
    started_with = _STARTED_WITH.get()
    reset = f"{_RESET_SESSION}; "
    if started_with is not None:
        # a database's or role's setting a patch of the run changed: as a new session has it
        # (round 42, helper h42P: `ALTER DATABASE … SET search_path = app, public` in one
        # patch, and the next one's table was built in public in one run, in app when each
        # patch had a run of its own — a production deployed release by release)
        await _runner_statement(conn, f"{_RESET_SESSION}; SET statement_timeout = 0")
        reset = ""
        with contextlib.suppress(asyncpg.PostgresError):
            await conn.execute(_NEW_SESSION_DEFAULTS, started_with)
    # (retried: after its RESET ALL, the SET below runs under a database's '1ms', round 35)
    try:
        await _runner_statement(
            conn,
            reset
            # the runner's own queries (its ledger, its lock, its checks) run without the
            # database's or role's statement_timeout, which a patch keeps (`_run_once` puts it
            # back): `ALTER DATABASE … SET statement_timeout = '1ms'` ended every later apply
            # and status in a bare QueryCanceledError on the ledger's read (round 32, h32e)
            + "SET statement_timeout = 0; "
            + _runner_settings(ddl_lock_timeout)
            + (f"; {_set_path(path)}" if path is not None else ""),
        )
    except asyncpg.InsufficientPrivilegeError as error:
        if "session_replication_role" not in str(error):
            raise
        raise PatchUsageError(
            "the database's or the runner's role's session_replication_role is replica (`SHOW "
            "session_replication_role`): no trigger nor foreign key would fire in the patches, "
            "as they do in `verify`, and this role may not set it back to origin "
            f"({error}). No patch was run from here. Run the patches as a superuser, or "
            "`GRANT SET ON PARAMETER session_replication_role TO` the runner's role, or "
            "`ALTER DATABASE … RESET session_replication_role`"
        ) from error


def _lock_timeout_text(ddl_lock_timeout: float | None) -> str:
    return f"{max(1, int(ddl_lock_timeout * 1000))}ms" if ddl_lock_timeout else "0"


def _runner_settings(ddl_lock_timeout: float | None) -> str:
    """The settings the runner gives each patch's session (put back after a patch's `RESET
    ALL` too: `statements.RUNNER_SETTINGS`)."""
    timeout = _lock_timeout_text(ddl_lock_timeout)
    # a statement a row-level security policy would filter fails instead of doing it to the
    # rows the policy shows: FORCEd on its tables (the shipped 0050), their owner — not
    # superuser nor BYPASSRLS, as on a managed server — saw no row with the tenant setting
    # unset, and a data patch's UPDATE changed none, exit 0 (round 42, helper h42P). Not on a
    # new database (no patch recorded): the baseline forces the policies before the patches
    # run to be recorded, and their data statements find no row there
    row_security = "SET row_security = off; " if _POLICIES_FAIL.get() else ""
    return (
        # the patches' text as the runner's parser split it, and `verify`'s scratch databases
        # and psql's own lexer read it: a database's `standard_conforming_strings = off` made
        # the server read `'^\s*wa\s*$'` as '^s*was*$' — ' wa ' left unnormalised, exit 0 —
        # and `'C:\'` as an unterminated string (round 42, helper h42P)
        "SET standard_conforming_strings = on; "
        + row_security
        # a runner that dies mid-patch must not hold the lock while its backend sleeps on
        + "SET client_connection_check_interval = '1s'; "
        # the runner sleeps between attempts at a blocked patch (up to 8 s) and between polls
        # for the patch lock: a database's idle_session_timeout (there for the application's
        # leaked connections) ended its session there (round 28, helper h28d)
        "SET idle_session_timeout = 0; "
        f"SET lock_timeout = '{timeout}'; "
        # the runner's transaction is idle between two statements of a patch for a round trip:
        # a database's idle_in_transaction_session_timeout of '1ms' (there for the application's
        # leaked transactions) ended its session mid-patch, every run (round 32, helper h32e).
        # Raised to 5 s for the runner alone, not turned off: a runner cut off by the network
        # must not hold a patch's locks until TCP notices
        # (the setting named by a literal: set_config() of a name read from a column may be
        # any setting, TG006 in an audit of the runner's own traffic)
        "SELECT pg_catalog.set_config('idle_in_transaction_session_timeout', '5s', false) "
        "FROM pg_catalog.pg_settings "
        "WHERE name OPERATOR(pg_catalog.=) 'idle_in_transaction_session_timeout' "
        f"AND setting::int OPERATOR(pg_catalog.>=) 1 AND setting::int OPERATOR(pg_catalog.<) {_IDLE_FLOOR_MS}; "
        # triggers and foreign keys fire in the patches as in `verify`'s scratch databases: a
        # database's `session_replication_role = replica` applied a patch's orphan row and
        # skipped its backfill through a trigger, exit 0 (round 42, helper h42P). Set only
        # when it is not origin: a role that is not superuser may not set it at all
        "SELECT pg_catalog.set_config('session_replication_role', 'origin', false) "
        "FROM pg_catalog.pg_settings WHERE name OPERATOR(pg_catalog.=) 'session_replication_role' "
        "AND setting OPERATOR(pg_catalog.<>) 'origin'"
    )


_IDLE_FLOOR_MS = 5000


async def _ledger_table(conn: asyncpg.Connection) -> str:
    """The ledger's qualified name: where the search path finds it, else the current schema.

    A ledger elsewhere in the database, off the search path, is refused: taking the database
    for a new one would run every patch again, into whatever schema the search path names now.
    """
    row = await conn.fetchrow(
        """SELECT (SELECT n.nspname FROM pg_catalog.pg_class c
                   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                   WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)) AS found,
                  pg_catalog.current_schema() AS current,
                  (SELECT pg_catalog.array_agg(n.nspname::pg_catalog.text ORDER BY n.nspname) FROM pg_catalog.pg_class c
                   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                   WHERE c.relname OPERATOR(pg_catalog.=) $1 AND (c.relkind OPERATOR(pg_catalog.=) 'r' OR c.relkind OPERATOR(pg_catalog.=) 'p')
                     AND n.nspname OPERATOR(pg_catalog.!~) '^pg_(temp|toast_temp)_') AS elsewhere""",
        LEDGER,
    )
    assert row is not None  # a SELECT without FROM returns its row
    if row["found"] is not None:
        return f"{quote_ident(row['found'])}.{LEDGER}"
    if row["elsewhere"]:
        where = ", ".join(f"{quote_ident(s)}.{LEDGER}" for s in row["elsewhere"])
        path = await conn.fetchval("SHOW search_path")
        raise PatchUsageError(
            f"the patch ledger {where} is not on the runner's search_path ({path}): its "
            "patches would all run again, into another schema. Put its schema back on the "
            "search_path of the runner's user (ALTER ROLE … SET search_path), or connect as "
            "the user that applied them"
        )
    if row["current"] is None:
        raise PatchUsageError(
            "the session's search_path names no existing schema, and the patch ledger needs "
            "one: create the schema or fix search_path for the runner's user"
        )
    return f"{quote_ident(row['current'])}.{LEDGER}"


async def _ledger_off_first_schema(conn: asyncpg.Connection) -> bool:
    """Whether the search path finds an existing ledger in a schema other than its first (the
    one the patches' unqualified names are built in): the applied patches were built under
    another path (round 35, helper h35U: a pool whose setup said `SET search_path = app,
    public` had its next patch build app.audit beside public.notes and public's ledger)."""
    return bool(
        await conn.fetchval(
            """SELECT NOT coalesce(n.nspname OPERATOR(pg_catalog.=) pg_catalog.current_schema(), false) FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)""",
            LEDGER,
        )
    )


async def ledger_of(conn: asyncpg.Connection) -> tuple[dict[str, AppliedPatch], str] | None:
    """The database's ledger rows and the ledger's owner (the user that applied the patches);
    None when the database has no ledger."""
    table = await _ledger_table(conn)
    owner = await conn.fetchval(
        "SELECT pg_catalog.pg_get_userbyid(relowner) FROM pg_catalog.pg_class WHERE oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)",
        table,
    )
    if owner is None:
        return None
    return await _read_ledger(conn, table), str(owner)


def plan_of(patches: list[PatchFile], ledger: dict[str, AppliedPatch]) -> _Plan:
    """What a run would do: applied (skipped), pending, changed, renamed, missing patches."""
    return _plan(patches, ledger)


async def _read_ledger(conn: asyncpg.Connection, table: str) -> dict[str, AppliedPatch]:
    if not await conn.fetchval("SELECT pg_catalog.to_regclass($1) IS NOT NULL", table):
        return {}
    try:
        rows = await conn.fetch(
            # ONLY: a table that inherits the ledger is not the ledger (its rows are no record)
            f"SELECT name, checksum, applied_at, duration_ms, number FROM ONLY {table} "
            "ORDER BY number, name"
        )
    except asyncpg.InsufficientPrivilegeError as error:
        # the application's role running the startup call (round 28, helper h28d)
        who = await conn.fetchrow(
            "SELECT current_user::pg_catalog.text AS user, pg_catalog.pg_get_userbyid(relowner) AS owner "
            "FROM pg_catalog.pg_class WHERE oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)",
            table,
        )
        user, owner = (who["user"], who["owner"]) if who is not None else ("?", "?")
        raise PatchUsageError(
            f"the runner's user {user} cannot read the patch ledger {table} (owned by {owner}): "
            f"{error}. Run the patches as {owner} (the user that applied them), or GRANT SELECT "
            f"ON {table} TO {quote_ident(user)} so that a startup with nothing to apply passes"
        ) from error
    except (asyncpg.UndefinedColumnError, asyncpg.WrongObjectTypeError) as error:
        columns = {
            str(r["attname"])
            for r in await conn.fetch(
                "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) "
                "AND attnum OPERATOR(pg_catalog.>) 0 AND NOT attisdropped",
                table,
            )
        }
        if {"name", "checksum"} <= columns:  # ours, altered by hand (round 28, helper h28d)
            wanted = ("name", "number", "checksum", "applied_at", "duration_ms")
            lacking = ", ".join(c for c in wanted if c not in columns)
            raise PatchUsageError(
                f"the patch ledger {table} lacks column {lacking} ({error}): it was altered by "
                f"hand. Restore the column (ALTER TABLE {table} RENAME COLUMN … TO … or ADD "
                "COLUMN …); do not rename or drop the ledger, or the next run takes the "
                "database for a new one and runs every patch again"
            ) from error
        raise PatchUsageError(
            f"{table} is not tenantguard's patch ledger (name, number, checksum, applied_at, "
            f"duration_ms): {error}. Another tool's table of that name? Rename it: the runner "
            "keeps its ledger under this name"
        ) from error
    return {
        r["name"]: AppliedPatch(
            r["name"], r["checksum"], r["applied_at"], r["duration_ms"], r["number"]
        )
        for r in rows
    }


_CONCURRENT_NAME = lazy_pattern(
    r"\bINDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:[\w$]+\s*\.\s*)?\"?([\w$]+)",
    re.IGNORECASE,
)


async def invalid_indexes(
    conn: asyncpg.Connection, patches: list[PatchFile], *, exact: bool = True
) -> list[InvalidIndex]:
    """Every INVALID index of the database, with the no-transaction patch that builds it.

    `exact` parses the patches (pglast); otherwise a regular expression guesses, which is enough
    to decide whether a startup has work to do.
    """
    rows = await conn.fetch(_INVALID_INDEXES)
    if not rows:
        return []
    builders: dict[tuple[str | None, str], str] = {}
    for patch in patches:
        if patch.transactional:
            continue
        if exact:
            from tenantguard.patches.statements import concurrent_index

            try:
                found = concurrent_index(patch.statements[0])
            except PatchError:
                found = None
            if found is not None:
                builders[found] = patch.name
        else:
            for match in _CONCURRENT_NAME.finditer(patch.text):
                builders[(None, match.group(1).lower())] = patch.name
    result = []
    for row in rows:
        builder = builders.get((row["schema"], row["name"]))
        if builder is None and row["on_path"]:
            # a patch naming its table unqualified builds the index beside the table the search
            # path finds: not one of that name on a table of the name in another schema (round
            # 22, helper 100: `archive.leads_phone_idx` was "rebuilt" at every start, in vain)
            builder = builders.get((None, row["name"]))
        result.append(InvalidIndex(row["schema"], row["name"], row["table_name"], builder))
    return result


def _forward_notices(current: list[str]) -> Any:
    """A log listener: the server's WARNINGs (RAISE WARNING in a patch) to the logger."""

    def listener(_conn: Any, message: Any) -> None:
        severity = str(getattr(message, "severity_en", None) or getattr(message, "severity", ""))
        where = f"{current[0]}: " if current else ""
        level = logging.WARNING if severity.upper() == "WARNING" else logging.DEBUG
        log.log(level, "%s%s: %s", where, severity, getattr(message, "message", message))

    return listener


def _check_options(lock_wait: float | None, ddl_lock_timeout: float | None, retries: int) -> None:
    if lock_wait is not None and lock_wait < 0:
        raise PatchUsageError(f"lock_wait must be 0 or more seconds (got {lock_wait})")
    if ddl_lock_timeout is not None and ddl_lock_timeout < 0:
        raise PatchUsageError(f"lock_timeout must be 0 or more seconds (got {ddl_lock_timeout})")
    if retries < 0:
        raise PatchUsageError(f"lock retries must be 0 or more (got {retries})")


async def apply_patches(
    target: Any,
    directory: str | Path = "patches",
    *,
    rebaseline: Iterable[str] = (),
    lock_wait: float | None = None,
    ddl_lock_timeout: float | None = 2.0,
    ddl_lock_retries: int = 5,
    allow_out_of_order: bool = False,
    report_every: float = 5.0,
    lock_timeout: float | None = None,
) -> PatchRun:
    """Applies what is not yet applied. `target`: a DSN (URL or keywords), a connection, a pool.

    `rebaseline` names applied patches whose edited files are accepted as they are now.
    `lock_wait`: seconds to wait for the patch lock held by another runner (None: as long as it
    takes, saying every `report_every` s who holds it). `ddl_lock_timeout`: PostgreSQL's
    `lock_timeout` for each patch statement (None or 0: none); a patch that times out is rolled
    back and retried `ddl_lock_retries` times with backoff. `allow_out_of_order` applies a new
    patch numbered below an applied one. `lock_timeout` is the former name of `lock_wait`.
    Progress goes to the `tenantguard.patches` logger.
    """
    wait = lock_wait if lock_wait is not None else lock_timeout
    _check_options(wait, ddl_lock_timeout, ddl_lock_retries)
    patches = read_patches(Path(directory))
    options = _Options(
        set(rebaseline), wait, ddl_lock_timeout, ddl_lock_retries, allow_out_of_order, report_every
    )
    started = time.perf_counter()
    if isinstance(target, (str, Dsn)):
        conn = await connect(target)
        try:
            return await _apply(conn, patches, options, started)
        finally:
            await conn.close()
    if hasattr(target, "acquire") and not isinstance(target, asyncpg.Connection):
        async with target.acquire() as conn:
            return await _apply(conn, patches, options, started)
    return await _apply(target, patches, options, started)


@dataclass(frozen=True)
class _Options:
    rebaseline: set[str]
    lock_wait: float | None
    ddl_lock_timeout: float | None
    ddl_lock_retries: int
    allow_out_of_order: bool
    report_every: float


def _log_missing(plan: _Plan) -> None:
    for row, patch in plan.ahead:
        log.warning(
            "patch %s is applied as %s, a newer version's name for it (the same contents): "
            "this code is older than the database, and the ledger is left as it is; "
            "if %s was renumbered down on purpose, --rebaseline %s records the new name",
            patch.name,
            row.name,
            row.name,
            patch.name,
        )
    for row in plan.missing:
        when = f"{row.applied_at:%Y-%m-%d %H:%M}" if row.applied_at else "?"
        log.warning(
            "patch %s was applied on %s but its file is gone from the patch directory: "
            "restore it (applied patches are never deleted), or this code is older than the "
            "database",
            row.name,
            when,
        )


async def _apply(
    conn: asyncpg.Connection, patches: list[PatchFile], options: _Options, started: float
) -> PatchRun:
    if conn.is_in_transaction():
        raise PatchUsageError(
            "apply_patches needs a connection outside a transaction: each patch is a "
            "transaction of its own"
        )
    current: list[str] = []
    listener = _forward_notices(current)
    conn.add_log_listener(listener)
    await no_statement_timeout(conn)  # (a database's '1ms' cancelled the read below)
    callers_path = await _callers_path(conn)
    if callers_path is not None:
        log.info(
            "the patches run with the search_path the connection was given (%s), set again "
            "after each patch's session reset",
            callers_path,
        )
    given_path = callers_path  # handed back with it, whichever path the patches run with
    path_token = _CALLERS_PATH.set(callers_path)
    try:
        started_token = _STARTED_WITH.set(await _session_defaults(conn))
    except asyncpg.PostgresError:  # (not readable: the session's defaults as it began)
        started_token = _STARTED_WITH.set(None)
    try:
        await _clean_session(conn, options.ddl_lock_timeout)
        try:
            ledger_table = await _ledger_table(conn)
            elsewhere = callers_path is not None and await _ledger_off_first_schema(conn)
        except PatchUsageError:
            if callers_path is None:
                raise
            elsewhere = True
        if elsewhere:
            # the ledger is where the session's own path finds it and builds, not where the
            # caller's builds: the patches applied so far were built there (the runner reset
            # the caller's path before round 35), and go on being built there — not stopped at
            # startup, nor begun anew, nor split between two schemas
            _CALLERS_PATH.set(None)
            await _clean_session(conn, options.ddl_lock_timeout)
            try:
                ledger_table = await _ledger_table(conn)
                fits = not await _ledger_off_first_schema(conn)
            except PatchUsageError:
                fits = False
            if not fits:
                # the session's own path does no better: the caller's path, as before
                _CALLERS_PATH.set(callers_path)
                await _clean_session(conn, options.ddl_lock_timeout)
                ledger_table = await _ledger_table(conn)
            else:
                log.warning(
                    "the connection's search_path (%s) does not build where the patch ledger "
                    "%s is, which the session's own search_path (%s) does: the patches run "
                    "with the latter, where the applied ones were built. Give the connection "
                    "that path, or move the schema",
                    callers_path,
                    ledger_table,
                    await conn.fetchval("SHOW search_path"),
                )
                callers_path = None
        ledger = await _read_ledger(conn, ledger_table)
        plan = _plan(patches, ledger, options.rebaseline)
        # parsed only when the server has invalid indexes: a guessed name misses quoted ones
        invalid = [i for i in await invalid_indexes(conn, patches, exact=True) if i.patch]
        if ledger and not plan.work and not invalid:  # the common startup: nothing to do
            _log_missing(plan)
            return PatchRun(
                [],
                [p.name for p in plan.skipped],
                [],
                time.perf_counter() - started,
                missing=[row.name for row in plan.missing],
            )
        held_before = await _pipeline_lock_modes(conn)  # the caller's own, if it took it
        try:
            await take_patch_lock(conn, options.lock_wait, options.report_every)
        except (
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
            OSError,
        ) as error:
            # (round 33, helper h33f: the waiter's backend ended — a server restart, or the
            # `pg_terminate_backend(pid)` given the wrong pid — said only 'InterfaceError:
            # connection is closed'.) A poll sent while asyncpg still reads the server's
            # FATAL message, before the socket's close reaches it, fails as 'InternalClientError:
            # cannot switch to state 12; another operation (2) is in progress' (round 34, a
            # faster machine: an internal error): the close is waited for, briefly
            if not (await _closes_soon(conn) or isinstance(error, _CONNECTION_LOST)):
                raise
            raise PatchConnectionError(
                "the connection to the server was lost while the runner waited for the patch "
                f"lock ({type(error).__name__}: {error}): no patch of this run was applied. "
                f"{_after_lost_connection(error)}"
            ) from error
        policies_token = _POLICIES_FAIL.set(bool(ledger))
        try:
            return await _apply_locked(conn, patches, options, started, ledger_table, current)
        finally:
            _POLICIES_FAIL.reset(policies_token)
            # also when the run is cancelled mid-patch (a startup timeout): a patch's open
            # transaction would keep the caller's connection aborted, and the lock with it
            await _quietly(conn, "ROLLBACK", only_in_transaction=True)
            await _release_pipeline_lock(conn, held_before)
    finally:
        # the caller's connection must not keep a patch's settings (session_replication_role,
        # search_path, role) nor the runner's lock_timeout, nor what a patch prepared, held,
        # declared or listens to
        if not conn.is_closed():
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await _drop_leftovers(conn)
        await _quietly(conn, _RESET_SESSION)
        if given_path is not None:  # handed back with the path it came with
            await _quietly(conn, _set_path(given_path))
        _CALLERS_PATH.reset(path_token)
        _STARTED_WITH.reset(started_token)
        if not conn.is_closed():
            conn.remove_log_listener(listener)


_PIPELINE_LOCK_MODES = """
-- tenantguard: ignore[TG006] -- the runner's own session: how it holds the pipeline lock
SELECT coalesce(pg_catalog.array_agg(mode::pg_catalog.text ORDER BY mode), '{}') FROM pg_catalog.pg_locks
WHERE locktype OPERATOR(pg_catalog.=) 'advisory' AND pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() AND granted
  AND objsubid OPERATOR(pg_catalog.=) 1 AND classid::bigint OPERATOR(pg_catalog.=) $1 AND objid::bigint OPERATOR(pg_catalog.=) $2
"""


async def _pipeline_lock_modes(conn: asyncpg.Connection) -> frozenset[str]:
    """The modes in which this session holds the pipeline lock ('ExclusiveLock', 'ShareLock')."""
    modes = await conn.fetchval(_PIPELINE_LOCK_MODES, LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF)
    return frozenset(str(mode) for mode in modes)


async def _release_pipeline_lock(conn: asyncpg.Connection, held_before: frozenset[str]) -> None:
    """Releases the runner's hold on the pipeline lock and every hold a patch added to it: a
    patch's `pg_advisory_lock(key)` (once more) or `pg_advisory_lock_shared(key)` kept it held
    by the caller's connection after the run, and every other replica's runner waited for it
    as long as that connection lived (round 31, helper h31f). A mode the caller held before
    the run is the caller's: only the runner's own take of it is released."""
    if conn.is_closed():
        return  # the server freed the session's locks
    with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        if "ExclusiveLock" in held_before:  # the runner's own take of the caller's lock
            await conn.execute(f"SELECT pg_catalog.pg_advisory_unlock({LOCK_KEY})")
        extra = await _pipeline_lock_modes(conn) - held_before
        if not extra:
            return
        # the last unlock of each hold warns that none is left (the session reset puts it back)
        await conn.execute("SET client_min_messages = error")
        for mode, unlock in (
            ("ExclusiveLock", "pg_advisory_unlock"),
            ("ShareLock", "pg_advisory_unlock_shared"),
        ):
            if mode not in extra:
                continue
            for _ in range(10_000):  # a session lock is taken as often as it is asked for
                if not await conn.fetchval(f"SELECT pg_catalog.{unlock}($1)", LOCK_KEY):
                    break


async def _quietly(
    conn: asyncpg.Connection, sql: str, *, only_in_transaction: bool = False
) -> None:
    """Runs clean-up SQL; on a broken connection the server has rolled back and freed the lock."""
    if conn.is_closed() or (only_in_transaction and not conn.is_in_transaction()):
        return
    with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        await conn.execute(sql)


_CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.ConnectionDoesNotExistError, OSError)


async def _closes_soon(conn: asyncpg.Connection, within: float = 1.0) -> bool:
    """Whether the connection is closed, or closes within `within` seconds (its socket's end
    may still be on its way when a call on it fails)."""
    deadline = time.monotonic() + within
    while not conn.is_closed():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


class _LockReleased(PatchError):
    """A patch released the runner's advisory lock (it ran, and is recorded)."""


_HOLDS_THE_LOCK = """
-- tenantguard: ignore[TG006] -- the runner's own session: does it still hold its lock
SELECT EXISTS (
  SELECT 1 FROM pg_catalog.pg_locks
  WHERE locktype OPERATOR(pg_catalog.=) 'advisory' AND pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() AND granted
    AND objsubid OPERATOR(pg_catalog.=) 1 AND classid::bigint OPERATOR(pg_catalog.=) $1 AND objid::bigint OPERATOR(pg_catalog.=) $2)
"""

_POOLER = (
    "or the connection goes through a pooler in transaction mode (PgBouncer, pgcat, "
    "Supavisor), where the session that took the lock is not the one that runs the patches: "
    "connect the runner to PostgreSQL directly (or through a session-mode pool)"
)
_NOT_THIS_SESSION = (
    "the backend that would run patch {patch} does not hold the pipeline's advisory lock the "
    "runner took: the connection goes through a pooler in transaction mode (PgBouncer, pgcat, "
    "Supavisor), where each transaction may run on another server connection and every "
    "replica holds the lock at once. Nothing of the patch ran. Connect the runner to "
    "PostgreSQL directly (or through a session-mode pool)"
)

_ELSEWHERE = """
SELECT c.relname::pg_catalog.text, n.nspname::pg_catalog.text, pg_catalog.current_schema()::pg_catalog.text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[]) AND (c.relkind OPERATOR(pg_catalog.=) 'r' OR c.relkind OPERATOR(pg_catalog.=) 'p' OR c.relkind OPERATOR(pg_catalog.=) 'v' OR c.relkind OPERATOR(pg_catalog.=) 'm' OR c.relkind OPERATOR(pg_catalog.=) 'f' OR c.relkind OPERATOR(pg_catalog.=) 'S')
  AND NOT coalesce(n.nspname OPERATOR(pg_catalog.=) pg_catalog.current_schema(), false)
  AND n.nspname OPERATOR(pg_catalog.=) ANY (pg_catalog.current_schemas(false))
  AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_class o
    -- (the schema by its name, not parsed: to_regnamespace of "my app" raised, of "MyApp"
    -- found none — round 35, helper h35U)
    WHERE o.relname OPERATOR(pg_catalog.=) c.relname AND o.relnamespace OPERATOR(pg_catalog.=) (
      SELECT s.oid FROM pg_catalog.pg_namespace s WHERE s.nspname OPERATOR(pg_catalog.=) pg_catalog.current_schema()))
ORDER BY 1, 2
"""


async def _refuse_second_copies(conn: asyncpg.Connection, pending: list[PatchFile]) -> None:
    """Refuses to run pending patches whose `CREATE TABLE IF NOT EXISTS t` (unqualified) would
    make a second `t` in the current schema while a `t` exists in another schema the search
    path does not reach first (round 22, helper 100: a baseline loaded into public — pg_dump
    qualifies every name — then the patches applied by a role whose own schema comes first in
    `"$user", public`: the whole schema twice, the application on the empty copy)."""
    from tenantguard.patches.statements import created_tables, sets_search_path

    readable: list[list[Any]] = []
    for patch in pending:
        try:
            readable.append(patch.statements)
        except PatchError:
            continue  # said where every pending patch is parsed, before any runs
    names = sorted(
        {
            name
            for statements in readable
            if not any(sets_search_path(s) for s in statements)  # it picks its schema
            for s in statements
            for name in created_tables(s)
        }
    )
    if not names:
        return
    rows = await conn.fetch(_ELSEWHERE, names)
    if not rows:
        return
    found = ", ".join(f"{r[1]}.{r[0]}" for r in rows[:5]) + (" …" if len(rows) > 5 else "")
    raise PatchUsageError(
        f"the pending patches create {', '.join(sorted({r[0] for r in rows}))} in schema "
        f"{rows[0][2]} (the first of the search path), but {found} exist already: the schema "
        f"would be built twice (a baseline loaded into another schema?). Run the patches with "
        f"the search path of the schema that holds them (`ALTER ROLE … SET search_path`, or "
        f"`options=-csearch_path=…` in the DSN), or load the baseline into {rows[0][2]}"
    )


_FUNCTION_BODIES = """
-- tenantguard: ignore[TG006] -- the catalog: bodies of the functions a patch runs
SELECT p.proname, p.oid::pg_catalog.regprocedure::pg_catalog.text AS signature, p.prosrc, l.lanname,
       pg_catalog.pg_get_functiondef(p.oid) AS definition
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
WHERE (l.lanname OPERATOR(pg_catalog.=) 'plpgsql' OR l.lanname OPERATOR(pg_catalog.=) 'sql') AND (p.prokind OPERATOR(pg_catalog.=) 'f' OR p.prokind OPERATOR(pg_catalog.=) 'p')
  AND p.proname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[])
ORDER BY p.oid
"""
_TABLE_TRIGGERS = """
-- tenantguard: ignore[TG006] -- the catalog: the triggers a patch's writes fire
SELECT c.relname, p.proname, pg_catalog.bit_or(t.tgtype::int) AS events
FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tgrelid
JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid
WHERE NOT t.tgisinternal AND t.tgenabled OPERATOR(pg_catalog.<>) 'D' AND c.relname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[])
GROUP BY 1, 2 ORDER BY 1, 2
"""


async def _refuse_swallowing_calls(conn: asyncpg.Connection, pending: list[PatchFile]) -> None:
    """Refuses a pending patch that runs a PL/pgSQL function of the database whose EXCEPTION
    handler swallows what the runner retries (round 32, helper h32e: a helper made by an
    earlier patch — `EXECUTE format('ALTER TABLE %I ADD COLUMN %I int', …)` under `WHEN OTHERS
    THEN RAISE NOTICE` — called by a new patch while the application held the table: recorded
    as applied, exit 0, the column never made). The body is read as the database holds it.
    Calls are read from the parse trees (a name and `(` in a string or a `COMMENT ON FUNCTION`
    is no call), and followed through the functions of the database and of the patch, SQL ones
    included, and through the triggers of the tables written to (round 32, helper h32l: `SELECT
    wrap()` of a SQL function calling the swallowing one, and an `INSERT` into a table whose
    audit trigger has `WHEN OTHERS`, passed)."""
    from pglast import ast as pg_ast

    from tenantguard.patches.statements import (
        ANY_WRITE,
        COMMITS_IN_TRANSACTION,
        SWALLOWED_WHY,
        Runs,
        body_commits,
        fired,
        function_runs,
        patch_functions,
        patch_triggers,
        runs_of,
        swallowing_handlers,
    )

    for patch in pending:
        made = patch_functions(patch.statements)
        made_triggers = patch_triggers(patch.statements)
        start = runs_of(patch.statements)
        # name -> (offset in the patch of the statement it starts from, how it is reached)
        calls = {name: (at, f"calls {name}()") for name, at in start.calls.items()}
        writes = {table: (at, f"writes to {table}") for table, at in start.writes.items()}
        events = dict(start.events)  # what the writes do, by table
        seen_calls: set[str] = set()
        seen_writes: dict[str, int] = {}  # the events looked for, by table
        for _depth in range(8):  # a deeper chain is not looked for
            # a table again when it is written with other events (an UPDATE, then an INSERT)
            tables = {
                t: v for t, v in writes.items() if events.get(t, ANY_WRITE) & ~seen_writes.get(t, 0)
            }
            for table in tables:
                seen_writes[table] = seen_writes.get(table, 0) | events.get(table, ANY_WRITE)
            triggers = {t: dict(made_triggers.get(t, {})) for t in tables}
            if tables:
                for r in await conn.fetch(_TABLE_TRIGGERS, sorted(tables)):
                    on = triggers[str(r["relname"])]
                    on[str(r["proname"])] = on.get(str(r["proname"]), 0) | int(r["events"])
            for table in sorted(tables):
                only = Runs(writes={table: 0}, events={table: events.get(table, ANY_WRITE)})
                for function in sorted(fired(only, triggers)):
                    at, how = tables[table]
                    calls.setdefault(function, (at, f"{how}, whose trigger runs {function}()"))
            names = {n: v for n, v in calls.items() if n not in seen_calls}
            seen_calls |= set(names)
            if not names:
                break
            calls, writes = {}, {}
            following = []
            # the patch's own function when the patch made it before the statement that runs
            # it (its handlers: refuse_swallowed_retries); else the database's, which runs
            # there (round 32, helper h32l: `SELECT add_b();` before the patch's `CREATE OR
            # REPLACE FUNCTION add_b()` ran the database's swallowing one, unchecked)
            own = {
                name
                for name, (at, _how) in names.items()
                if name in made and patch.statements[made[name].index].offset < at
            }
            for name in own:
                following.append((made[name].runs, *names[name]))
            rows = await conn.fetch(_FUNCTION_BODIES, sorted(n for n in names if n not in own))
            for row in rows:
                at, how = names[row["proname"]]
                if (
                    patch.transactional
                    and row["lanname"] == "plpgsql"
                    and body_commits(row["prosrc"] or "", row["definition"])
                ):
                    line, column = LineIndex(patch.text).position(at)
                    raise PatchError(
                        f"{patch.path}:{line}:{column}: the patch {how}: {row['signature']} "
                        f"says COMMIT or ROLLBACK, in a transactional patch: "
                        f"{COMMITS_IN_TRANSACTION}"
                    )
                if row["lanname"] == "plpgsql":
                    handlers = swallowing_handlers(row["prosrc"] or "", row["definition"])
                    if handlers:
                        _offset, condition, what = handlers[0]
                        line, column = LineIndex(patch.text).position(at)
                        raise PatchError(
                            f"{patch.path}:{line}:{column}: the patch {how}: "
                            f"{row['signature']}'s EXCEPTION WHEN {condition} catches {what} "
                            f"and does not raise it again. {SWALLOWED_WHY}: replace the function "
                            "first (CREATE OR REPLACE FUNCTION in this patch, before the call)"
                        )
                try:
                    node = pglast.parse_sql(row["definition"])[0].stmt
                except Exception:  # pglast raises several types for SQL it cannot read
                    continue
                if isinstance(node, pg_ast.CreateFunctionStmt):
                    following.append((function_runs(node), at, how))
            for runs, at, how in following:
                for name in runs.calls:
                    calls.setdefault(name, (at, f"{how}, which calls {name}()"))
                for table in runs.writes:
                    writes.setdefault(table, (at, f"{how}, which writes to {table}"))
                    events[table] = events.get(table, 0) | runs.events.get(table, ANY_WRITE)


_CALLED_BODIES = """
-- tenantguard: ignore[TG006] -- the catalog: bodies of the functions a patch calls
SELECT p.proname, l.lanname, p.prosrc
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
WHERE p.proname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[])
"""


async def _refuse_resetting_calls(conn: asyncpg.Connection, pending: list[PatchFile]) -> None:
    """`_resetting_calls`' first refusal, raised."""
    for _patch, error in await _resetting_calls(conn, pending):
        raise error


async def _resetting_calls(
    conn: asyncpg.Connection, pending: list[PatchFile]
) -> list[tuple[PatchFile, PatchError]]:
    """Refuses a pending patch's statement that calls a function whose body resets the
    runner's lock_timeout (`RESET ALL`, `RESET lock_timeout`) and then runs more statements,
    or a DO block that calls one before more statements of its own: the runner puts its
    settings back after each statement, not inside one (round 35, helper h35U: behind an
    application's open transaction, the DDL after the reset waited without end). Bodies: made
    by a pending patch before it, and the database's."""
    from tenantguard.patches.statements import (
        PURE_CALLS,
        body_resets,
        made_bodies,
        reset_call_error,
        statement_calls,
    )

    made: dict[str, list[tuple[str, str]]] = {}
    refused: list[tuple[PatchFile, PatchError]] = []
    for patch in pending:
        try:
            statements = patch.statements
        except PatchError:
            continue  # said where every pending patch is parsed
        names = {
            name
            for statement in statements
            for name in statement_calls(statement)
            if name.lower() not in PURE_CALLS
        }
        if names:
            bodies = {name: list(made.get(name, [])) for name in names}
            for row in await conn.fetch(_CALLED_BODIES, sorted(names)):
                bodies[str(row["proname"])].append((str(row["lanname"]), str(row["prosrc"])))
            resetting: dict[str, str] = {}
            resets_first: dict[str, str] = {}
            for name, definitions in bodies.items():
                for language, body in definitions:
                    before_work, at_end = body_resets(language, body)
                    if before_work is not None:
                        resets_first[name] = before_work
                    if at_end is not None:
                        resetting[name] = at_end
            if resetting or resets_first:
                for statement in statements:
                    error = reset_call_error(patch, statement, resetting, resets_first)
                    if error is not None:
                        refused.append((patch, error))
                        break
        for name, definitions in made_bodies(statements).items():
            made.setdefault(name, []).extend(definitions)
    return refused


_DDL_START_TRIGGERS = """
-- tenantguard: ignore[TG006] -- the catalog: event triggers that run before each DDL's locks
SELECT e.evtname, p.proname, l.lanname, p.prosrc
  FROM pg_catalog.pg_event_trigger e
  JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) e.evtfoid
  JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
  WHERE e.evtenabled OPERATOR(pg_catalog.<>) 'D' AND e.evtevent OPERATOR(pg_catalog.=) 'ddl_command_start'
"""

# statements that fire no ddl_command_start event trigger
_NOT_DDL = frozenset(
    {
        "InsertStmt",
        "UpdateStmt",
        "DeleteStmt",
        "MergeStmt",
        "SelectStmt",
        "VariableSetStmt",
        "CopyStmt",
        "TransactionStmt",
    }
)


async def _refuse_resetting_event_triggers(
    conn: asyncpg.Connection, pending: list[PatchFile]
) -> None:
    """Refuses a pending patch with DDL (a DO block counts) when an enabled event trigger on
    ddl_command_start resets the runner's lock_timeout: it runs inside each DDL statement
    before the statement takes its locks, where no read back after a statement reaches
    (round 35, helper h35W: `CREATE TABLE seen AS SELECT current_setting('lock_timeout')`
    saw '0')."""
    from tenantguard.patches.statements import body_resets

    ddl = [
        (patch, statement)
        for patch in pending
        for statement in patch.statements
        if type(statement.node).__name__ not in _NOT_DDL
    ]
    if not ddl:
        return
    for row in await conn.fetch(_DDL_START_TRIGGERS):
        before_work, at_end = body_resets(str(row["lanname"]), str(row["prosrc"]))
        # (body_resets reads RESET; a set_config('lock_timeout', …) or a dynamic name is
        # taken as one too: any mention, fail closed)
        named = re.search(r"\block_timeout\b|\bRESET\s+ALL\b", str(row["prosrc"]), re.I)
        said = before_work or at_end or (named.group(0) if named else None)
        if said is None:
            continue
        patch, statement = ddl[0]
        raise PatchError(
            f"{patch.path}:{statement.line}:{statement.column}: patch {patch.name} runs DDL, "
            f"and the event trigger {row['evtname']} runs {row['proname']}() before each DDL "
            f"statement takes its locks, which says `{said}`: the DDL would wait behind the "
            "application without the runner's lock_timeout. Nothing was applied. Disable the "
            f"event trigger (ALTER EVENT TRIGGER {row['evtname']} DISABLE) or take the reset "
            "out of its function"
        )


async def _refuse_session_only_calls(conn: asyncpg.Connection, pending: list[PatchFile]) -> None:
    """`_session_only_calls`' first refusal, raised."""
    for _patch, error in await _session_only_calls(conn, pending):
        raise error


async def _session_only_calls(
    conn: asyncpg.Connection, pending: list[PatchFile]
) -> list[tuple[PatchFile, PatchError]]:
    """Refuses a pending patch whose every statement is `SELECT f()` of functions that only set
    the session (their bodies: made by a pending patch before it, or the database's), as a
    patch of `SET`s is (round 35, helper h35E: `SELECT app.configure();`, its function doing
    `set_config('search_path', …, false)`, was recorded as applied and changed nothing the next
    patch or the application saw). A function of another language, or one whose every
    definition does not only set the session, makes the patch work."""
    from tenantguard.patches.statements import (
        body_only_sets_session,
        made_bodies,
        session_only_error,
        session_setting_calls,
    )

    made: dict[str, list[tuple[str, str]]] = {}
    refused: list[tuple[PatchFile, PatchError]] = []
    for patch in pending:
        try:
            statements = patch.statements
        except PatchError:
            continue  # said where every pending patch is parsed
        names = session_setting_calls(statements)
        if names:
            # every definition of the name: the catalog's too, when a pending patch made one
            # (round 35, helper h35U: audit.backfill() made in the run, only setting the
            # session, had the catalog's app.backfill(text), which writes, left unread)
            rows = await conn.fetch(_CALLED_BODIES, sorted(set(names)))
            bodies = {name: list(made.get(name, [])) for name in names}
            for row in rows:
                bodies[str(row["proname"])].append((str(row["lanname"]), str(row["prosrc"])))
            if all(
                bodies[name] and all(body_only_sets_session(*b) for b in bodies[name])
                for name in names
            ):
                through = f", through {', '.join(sorted(set(names)))}(), which only set it"
                refused.append((patch, session_only_error(patch, statements[0], through)))
        for name, definitions in made_bodies(statements).items():
            made.setdefault(name, []).extend(definitions)
    return refused


def _read_only_message(why: str) -> str:
    return (
        f"the database is read-only for this session ({why}): a replica, or "
        "default_transaction_read_only set for the runner's user or database, and there are "
        "patches to apply. Apply the patches on the primary, as a user that can write"
    )


async def _apply_locked(
    conn: asyncpg.Connection,
    patches: list[PatchFile],
    options: _Options,
    started: float,
    ledger_table: str,
    current: list[str],
) -> PatchRun:
    await _clean_session(conn, options.ddl_lock_timeout)
    second_copies_checked = False
    if await conn.fetchval(
        "SELECT pg_catalog.current_setting('transaction_read_only')::pg_catalog.bool"
    ):
        # a replica of a primary that has a ledger: without this, its first pending patch failed
        # as if the pipeline were wrong (exit 1) (round 28, helper h28d)
        raise PatchUsageError(_read_only_message("transaction_read_only is on"))
    temporary = await conn.fetchrow(_TEMPORARY_CREATION)
    if temporary is not None and temporary[0]:
        # (round 34, helper h34G: `ALTER DATABASE … SET search_path = pg_temp, public`: a new
        # patch's CREATE TABLE went to the session's temporary schema and was recorded, exit 0;
        # on a new database the ledger itself was made there)
        raise PatchUsageError(
            f"the runner's search_path ({temporary[1]}) puts pg_temp first: PostgreSQL would "
            "create the patches' unqualified tables, views, functions and types (and a new "
            "ledger) in the session's temporary schema, gone when the session ends, and record "
            "them as applied. Nothing was applied. Put pg_temp last for the runner's user or "
            "database (`ALTER ROLE … SET search_path = public, pg_temp`) or in its DSN's options"
        )
    try:
        # not when it exists: CREATE … IF NOT EXISTS asks for CREATE on the schema first, which
        # a runner that owns the tables but not the schema lacks (round 22, helper 100)
        if not await conn.fetchval("SELECT pg_catalog.to_regclass($1) IS NOT NULL", ledger_table):
            await _refuse_second_copies(conn, patches)  # before the ledger makes a first one
            second_copies_checked = True
            await conn.execute(_CREATE_LEDGER.format(ledger=ledger_table))
    except asyncpg.ReadOnlySQLTransactionError as error:
        raise PatchUsageError(_read_only_message(str(error))) from error
    except asyncpg.InsufficientPrivilegeError as error:
        schema = ledger_table.rsplit(".", 1)[0]
        raise PatchUsageError(
            f"cannot create the patch ledger {ledger_table} ({error}): run the patches as the "
            f"user that owns the schema, or GRANT CREATE ON SCHEMA {schema} TO the runner's "
            "user (PostgreSQL 15 no longer grants it to PUBLIC on public)"
        ) from error
    # re-read under the lock: another replica may have run
    ledger = await _read_ledger(conn, ledger_table)
    plan = _plan(patches, ledger, options.rebaseline)
    for patch, done in plan.changed:
        if patch.name not in options.rebaseline:
            raise PatchError(
                f"{patch.path}: patch {patch.name} was applied on "
                f"{done.applied_at:%Y-%m-%d %H:%M} but its file has changed since "
                f"(checksum differs{_byte_change(patch, done.checksum)}). Applied patches are "
                "never edited: add a new patch, or accept the edit with "
                f"--rebaseline {patch.name}"
            )
    for patch, row in plan.reused:
        if patch.name not in options.rebaseline:
            raise PatchError(plan.reused_message(patch, row))
    if plan.out_of_order and not options.allow_out_of_order:
        patch, top_name, top_number = plan.out_of_order[0]
        others = f" (and {len(plan.out_of_order) - 1} more)" if len(plan.out_of_order) > 1 else ""
        raise PatchError(
            f"{patch.path}: new patch {patch.name}{others} is numbered below {top_name}, which "
            "is applied already: it would run after patches written later than it. Renumber it "
            f"above {top_number}, or pass --allow-out-of-order when its order does not matter"
        )
    for patch in plan.pending:
        patch.statements  # noqa: B018  (parse and check every pending patch before any runs)
    await _refuse_session_only_calls(conn, plan.pending)
    await _refuse_resetting_calls(conn, plan.pending)
    await _refuse_resetting_event_triggers(conn, plan.pending)
    if ledger:  # the application's database: a swallowed lock_timeout skips the patch's change
        from tenantguard.patches.statements import refuse_swallowed_retries

        for patch in plan.pending:
            refuse_swallowed_retries(patch, patch.statements)
        await _refuse_swallowing_calls(conn, plan.pending)
    if not second_copies_checked:  # (a 3 MB seed patch was read twice: 11 s of an 18 s start)
        await _refuse_second_copies(conn, plan.pending)
    taken = {row.name for _patch, row in plan.reused}
    plan.missing = [row for row in plan.missing if row.name not in taken]
    _log_missing(plan)
    run = PatchRun([], [p.name for p in plan.skipped], [], 0.0)
    run.missing = [row.name for row in plan.missing]
    for patch, row in plan.reused:  # re-baselined (else refused above): renamed, not run
        await conn.execute(
            f"UPDATE {ledger_table} SET name = $2, number = $3, checksum = $4 "
            "WHERE name OPERATOR(pg_catalog.=) $1",
            row.name,
            patch.name,
            patch.number,
            patch.checksum,
        )
        log.info(
            "re-baselined %s -> %s (renamed and edited: recorded, not run again)",
            row.name,
            patch.name,
        )
        run.renamed.append((row.name, patch.name))
        run.rebaselined.append(patch.name)
    for row, patch in plan.renamed:
        await conn.execute(
            f"UPDATE {ledger_table} SET name = $2, number = $3 WHERE name OPERATOR(pg_catalog.=) $1",
            row.name,
            patch.name,
            patch.number,
        )
        log.info(
            "renamed      %s -> %s (same checksum: recorded, not run again)", row.name, patch.name
        )
        run.renamed.append((row.name, patch.name))
    for patch, _done in plan.changed:
        await conn.execute(
            f"UPDATE {ledger_table} SET checksum = $2 WHERE name OPERATOR(pg_catalog.=) $1",
            patch.name,
            patch.checksum,
        )
        log.info("re-baselined %s (its edited file accepted without running it)", patch.name)
        run.rebaselined.append(patch.name)
    by_name = {p.name: p for p in patches}
    for index in await invalid_indexes(conn, patches, exact=True):
        builder = by_name.get(index.patch or "")
        if builder is None or builder in plan.pending:
            continue
        current[:] = [builder.name]
        log.warning(
            "index %s is INVALID (an interrupted CREATE INDEX CONCURRENTLY): rebuilding it with %s",
            index.qualified,
            builder.name,
        )
        await _run_patch(conn, builder, options, ledger_table, run, record=False)
        run.rebuilt.append(index.qualified)
    for patch in plan.pending:
        current[:] = [patch.name]
        try:
            await _run_patch(conn, patch, options, ledger_table, run, record=True)
        except PatchError as error:
            # (a patch that released the runner's lock ran, and is recorded)
            # (and one whose connection was lost after its commit)
            ran = isinstance(error, _LockReleased) or patch.name in error.applied
            recorded = [patch.name] if ran else []
            error.applied = [*run.applied, *recorded]
            raise
        run.applied.append(patch.name)
    current.clear()
    run.seconds = time.perf_counter() - started
    return run


def _byte_change(patch: PatchFile, checksum: str) -> str:
    """'; only its line endings differ …' when the applied bytes were the same text, else ''."""
    try:
        data = patch.path.read_bytes()
    except OSError:
        return ""
    bom = b"\xef\xbb\xbf"
    unix = data.replace(b"\r\n", b"\n")
    candidates = {
        "only its line endings differ (CRLF against LF: a checkout with git's core.autocrlf?)": (
            unix,
            unix.replace(b"\n", b"\r\n"),
        ),
        "only a UTF-8 byte-order mark differs (an editor added or removed it)": (
            data.removeprefix(bom),
            bom + data.removeprefix(bom),
        ),
        # (round 34, helper h34G: an editor's blank line, a hook's end-of-file fixer)
        "only blank lines or the line break at its end differ (an editor or a pre-commit "
        "hook fixing the file's end?)": tuple(
            data.rstrip(b"\r\n") + end for end in (b"", b"\n", b"\r\n", b"\n\n", b"\r\n\r\n")
        ),
    }
    for said, variants in candidates.items():
        if any(v != data and hashlib.sha256(v).hexdigest() == checksum for v in variants):
            return f"; {said}"
    return ""


async def _drop_invalid_index(conn: asyncpg.Connection, patch: PatchFile) -> None:
    from tenantguard.patches.statements import concurrent_index

    found = concurrent_index(patch.statements[0])
    if found is None:
        return
    schema, name = found
    qualified = f"{quote_ident(schema)}.{quote_ident(name)}" if schema else quote_ident(name)
    valid = await conn.fetchval(
        "SELECT i.indisvalid FROM pg_catalog.pg_index i WHERE i.indexrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)",
        qualified,
    )
    if valid is False:
        log.warning("dropping INVALID index %s before %s builds it again", qualified, patch.name)
        await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {qualified}")


_BUILT_INDEX = """
SELECT i.indisvalid, i.indrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($2) AS same_table,
       pg_catalog.pg_get_indexdef(i.indexrelid) AS definition
FROM pg_catalog.pg_index i WHERE i.indexrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
"""


async def _built_already(conn: asyncpg.Connection, patch: PatchFile) -> bool:
    """Is the index of a no-transaction `CREATE INDEX CONCURRENTLY name …` (without IF NOT
    EXISTS) there already, valid and as the patch defines it? A runner stopped after the build
    and before the ledger row leaves it so, and the patch could never run again ('already
    exists'): it is recorded without building it again. An index of that name and another
    definition is not the patch's: refused, with both definitions and the way out."""
    from pglast import ast

    from tenantguard.patches.statements import concurrent_index

    statement = patch.statements[0]
    found = concurrent_index(statement)
    node = statement.node
    if not (found and isinstance(node, ast.IndexStmt) and node.relation and not node.if_not_exists):
        return False
    schema, name = found
    qualified = f"{quote_ident(schema)}.{quote_ident(name)}" if schema else quote_ident(name)
    relation = node.relation
    table = quote_ident(str(relation.relname))
    if relation.schemaname:
        table = f"{quote_ident(str(relation.schemaname))}.{table}"
    row = await conn.fetchrow(_BUILT_INDEX, qualified, table)
    if row is None or not row["indisvalid"]:
        return False  # none (built now), or INVALID (dropped before: `_drop_invalid_index`)
    live = str(row["definition"])
    if row["same_table"] and _same_index(statement.text, live):
        log.warning(
            "%s: index %s is there already, valid and as the patch defines it (a run stopped "
            "between building it and recording the patch): recorded without building it again",
            patch.name,
            qualified,
        )
        return True
    raise PatchError(
        f"{patch.path}: patch {patch.name} builds index {qualified}, and an index of that name "
        f"exists already with another definition:\n    in the database: {live}\n"
        f"    the patch builds: {statement.text.strip()}\n"
        "    It was made by hand or by another version of the patch; nothing was recorded. If "
        f"it may go, run `DROP INDEX CONCURRENTLY {qualified};` and apply again (the patch "
        "builds it); if it is the right one, write the patch to build exactly it"
    )


def _same_index(patch: str, live: str) -> bool:
    """Do a patch's `CREATE INDEX CONCURRENTLY …` and an index's `pg_get_indexdef` build the
    same index on the same table (known to be the same by the caller)? Both read by
    PostgreSQL's parser and printed back, CONCURRENTLY and the table's spelling set aside.
    A spelling the server normalizes differently (an expression it prints with casts) reads as
    another definition: refused, never taken for the patch's."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError
    from pglast.stream import RawStream

    try:
        mine, theirs = (parse_sql(text)[0].stmt for text in (patch, live))
    except (ParseError, IndexError):
        return False
    if not (isinstance(mine, ast.IndexStmt) and isinstance(theirs, ast.IndexStmt)):
        return False
    theirs.relation = mine.relation
    mine.concurrent = theirs.concurrent = False
    return bool(RawStream()(mine) == RawStream()(theirs))


async def _pending_detach(conn: asyncpg.Connection, patch: PatchFile) -> str | None:
    """`ALTER TABLE … DETACH PARTITION … FINALIZE` when the patch's concurrent detach was cut
    short (the partition is left 'pending detach', and the patch itself can never run again)."""
    from tenantguard.patches.statements import concurrent_detach

    found = concurrent_detach(patch.statements[0])
    if found is None:
        return None
    parent, partition = found
    pending = await conn.fetchval(
        "SELECT inhdetachpending FROM pg_catalog.pg_inherits WHERE inhrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) "
        "AND inhparent OPERATOR(pg_catalog.=) pg_catalog.to_regclass($2)",
        partition,
        parent,
    )
    return f"ALTER TABLE {parent} DETACH PARTITION {partition} FINALIZE" if pending else None


async def _detached_already(conn: asyncpg.Connection, patch: PatchFile) -> bool:
    """Is the partition of a no-transaction `DETACH PARTITION … CONCURRENTLY` a table of its
    own already, its parent there? A runner stopped after the detach and before the ledger row
    left it so, and the patch could never run again ('… is not a partition of …'), nor be
    written otherwise (a DO block cannot detach concurrently): recorded without running it
    (round 31, helper h31f), as an index built before its ledger row is."""
    from tenantguard.patches.statements import concurrent_detach

    found = concurrent_detach(patch.statements[0])
    if found is None:
        return False
    parent, partition = found
    done = await conn.fetchval(
        "SELECT pg_catalog.to_regclass($1) IS NOT NULL AND pg_catalog.to_regclass($2) IS NOT NULL AND NOT EXISTS ("
        "SELECT FROM pg_catalog.pg_inherits WHERE inhrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($2) "
        "AND inhparent OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1))",
        parent,
        partition,
    )
    if done:
        log.warning(
            "%s: %s is no partition of %s already (a run stopped between the detach and its "
            "ledger row): recorded without running it again",
            patch.name,
            partition,
            parent,
        )
    return bool(done)


# the label of `ALTER TYPE … ADD VALUE` in the enum (right before or after its neighbour, when
# the patch names one: no label between them)
_ENUM_LABEL_THERE = """
SELECT EXISTS (SELECT FROM pg_catalog.pg_enum e
  WHERE e.enumtypid OPERATOR(pg_catalog.=) pg_catalog.to_regtype($1)
    AND e.enumlabel OPERATOR(pg_catalog.=) $2
    AND ($3::pg_catalog.text IS NULL OR EXISTS (
      SELECT FROM pg_catalog.pg_enum n
      WHERE n.enumtypid OPERATOR(pg_catalog.=) e.enumtypid AND n.enumlabel OPERATOR(pg_catalog.=) $3
        AND CASE WHEN $4 THEN n.enumsortorder OPERATOR(pg_catalog.<) e.enumsortorder
                 ELSE n.enumsortorder OPERATOR(pg_catalog.>) e.enumsortorder END
        AND NOT EXISTS (SELECT FROM pg_catalog.pg_enum b
          WHERE b.enumtypid OPERATOR(pg_catalog.=) e.enumtypid
            AND b.enumsortorder OPERATOR(pg_catalog.>)
                least(n.enumsortorder, e.enumsortorder)
            AND b.enumsortorder OPERATOR(pg_catalog.<)
                greatest(n.enumsortorder, e.enumsortorder)))))
"""


async def _enum_value_added_already(conn: asyncpg.Connection, patch: PatchFile) -> bool:
    """Is the label of a no-transaction `ALTER TYPE t ADD VALUE 'c'` (without IF NOT EXISTS)
    in the enum already (where the patch puts it)? A runner killed after the statement
    committed and before the ledger row left it so, and every later run failed on 'enum label
    "c" already exists' (round 36, helper h36E): recorded without running it again."""
    from pglast import ast

    node = patch.statements[0].node
    if not (
        isinstance(node, ast.AlterEnumStmt)
        and node.newVal
        and node.oldVal is None
        and not node.skipIfNewValExists
        and node.typeName
    ):
        return False
    type_name = ".".join(quote_ident(str(part.sval)) for part in node.typeName)
    done = await conn.fetchval(
        _ENUM_LABEL_THERE,
        type_name,
        str(node.newVal),
        None if node.newValNeighbor is None else str(node.newValNeighbor),
        bool(node.newValIsAfter),
    )
    if done:
        log.warning(
            "%s: enum %s has the label %r already (a run stopped between adding it and its "
            "ledger row): recorded without running it again",
            patch.name,
            type_name,
            str(node.newVal),
        )
    return bool(done)


# the copies REINDEX CONCURRENTLY makes (`_ccnew`) and the originals it swaps out (`_ccold`)
REINDEX_LEFTOVER = r"_cc(new|old)[0-9]*$"


async def _drop_reindex_leftovers(conn: asyncpg.Connection, patch: PatchFile) -> list[str]:
    """Drops the INVALID copies a `REINDEX … CONCURRENTLY` patch cut short left on its table:
    every write updates them (a unique one checks every insert) and a rerun adds more."""
    dropped = []
    for name in await _reindex_leftovers(conn, patch):
        await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        dropped.append(name)
    if dropped:
        log.warning(
            "%s: dropped the INVALID copies an interrupted REINDEX CONCURRENTLY left: %s",
            patch.name,
            ", ".join(dropped),
        )
    return dropped


async def _reindex_leftovers(conn: asyncpg.Connection, patch: PatchFile) -> list[str]:
    """The INVALID `_ccnew`/`_ccold` indexes on the table a `REINDEX … CONCURRENTLY` patch
    rebuilds (its index's table, or the table it names)."""
    from tenantguard.patches.statements import concurrent_reindex

    target = concurrent_reindex(patch.statements[0])
    if target is None:
        return []
    rows = await conn.fetch(
        "SELECT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname) AS name "
        "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
        "WHERE NOT i.indisvalid AND c.relname OPERATOR(pg_catalog.~) $2 AND i.indrelid OPERATOR(pg_catalog.=) coalesce("
        "(SELECT x.indrelid FROM pg_catalog.pg_index x WHERE x.indexrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)), "
        "pg_catalog.to_regclass($1)) ORDER BY 1",
        target,
        REINDEX_LEFTOVER,
    )
    return [str(row["name"]) for row in rows]


async def _run_patch(
    conn: asyncpg.Connection,
    patch: PatchFile,
    options: _Options,
    ledger_table: str,
    run: PatchRun,
    *,
    record: bool,
) -> None:
    """Runs one patch (and records it), retrying when a statement cannot take its locks; a
    connection lost around the patch — while the runner cleaned the session before it, waited
    to retry it, or checked its lock after it — is a PatchConnectionError that says whether
    the patch is applied (round 31, helper h31f: the server restarted while the runner waited
    to retry a blocked patch, and apply_patches raised asyncpg's ConnectionDoesNotExistError:
    no patch named, nor the patches the run had applied)."""
    committed: list[bool] = []
    try:
        await _run_patch_attempts(
            conn, patch, options, ledger_table, run, record=record, committed=committed
        )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
        if not (conn.is_closed() or isinstance(error, _CONNECTION_LOST)):
            raise
        if committed:
            left = "it was applied and recorded before the connection went"
            applied = [*run.applied, patch.name] if record else run.applied
        else:
            left = "nothing of it is applied (the server rolls back what it had begun)"
            applied = run.applied
        raise PatchConnectionError(
            f"{patch.path}: the connection to the server was lost around patch {patch.name} "
            f"({type(error).__name__}: {error}): {left}. {_after_lost_connection(error)}",
            applied=applied,
        ) from error


def _after_lost_connection(error: BaseException) -> str:
    """What to do after the connection went: wait for the server — unless it was the database's
    or role's idle_in_transaction_session_timeout that ended the runner's session between two
    statements of a patch (round 32, helper h32e: '1ms' there for the application's leaked
    transactions; 'Run apply again when the server is back', and every run ended the same)."""
    if "idle-in-transaction timeout" not in str(error):
        return "Run apply again when the server is back"
    return (
        "The server is up: the idle_in_transaction_session_timeout of the database or of the "
        "runner's role (`SHOW idle_in_transaction_session_timeout`) ended the runner's session "
        "between two statements of the patch, and every run will end the same. Give the "
        "runner's role a longer one: `ALTER ROLE … IN DATABASE … SET "
        "idle_in_transaction_session_timeout = '1min'`, or `options=-c "
        "idle_in_transaction_session_timeout=1min` in its DSN"
    )


async def _run_patch_attempts(
    conn: asyncpg.Connection,
    patch: PatchFile,
    options: _Options,
    ledger_table: str,
    run: PatchRun,
    *,
    record: bool,
    committed: list[bool],
) -> None:
    log.info("%s %s", "applying    " if record else "rebuilding  ", patch.name)
    attempts = options.ddl_lock_retries + 1
    # a DO block that swallows what the runner's lock_timeout raises (refused on a database
    # with applied patches) waits for its locks instead: its change is never skipped
    from tenantguard.patches.statements import swallowed_in_patch

    lock_timeout = options.ddl_lock_timeout
    if swallowed_in_patch(patch.statements):
        lock_timeout = None
    for attempt in range(1, attempts + 1):
        await _clean_session(conn, lock_timeout)
        attempt_started = time.perf_counter()
        positions: list[_SequencePosition] = []
        if patch.transactional and (
            _SETVAL.search(patch.text) or await conn.fetchval(_FUNCTIONS_CALLING_SETVAL)
        ):
            with contextlib.suppress(asyncpg.PostgresError):  # (then nothing is put back)
                positions = await _sequence_positions(conn)
        try:
            try:
                await _run_once(
                    conn, patch, ledger_table, record, options.ddl_lock_timeout, lock_timeout
                )
            except Exception as error:
                if positions:
                    await _put_sequences_back(conn, patch, positions, error)
                raise
        except _RunnerCancelled as cancelled:
            beyond = _ran_beyond_transaction(patch)
            if beyond:
                raise PatchError(
                    f"{patch.path}: patch {patch.name} was rolled back: the session's "
                    f"statement_timeout cancelled the runner's own query after the patch's "
                    f"statements ({cancelled}). It is not run again: {beyond} ran beyond its "
                    "transaction and stays done (run again, it would be done twice). Check "
                    "what it did, then apply again; begin the patch with `SET LOCAL "
                    "statement_timeout = 0;`",
                    applied=run.applied,
                ) from cancelled
            if attempt == attempts:
                raise PatchError(
                    f"{patch.path}: patch {patch.name} was rolled back {attempts} times: the "
                    f"session's statement_timeout cancelled the runner's own query after the "
                    f"patch's statements ({cancelled}). That statement_timeout (the "
                    "database's, the role's, or one the patch sets itself) is too short for "
                    "this host: give the runner's role a longer one (`ALTER ROLE … IN DATABASE "
                    "… SET statement_timeout = …`), or begin the patch with `SET LOCAL "
                    "statement_timeout = 0;`",
                    applied=run.applied,
                ) from cancelled
            log.warning(
                "%s: the session's statement_timeout cancelled the runner's own query after "
                "the patch's statements (attempt %d of %d): rolled back, running it again",
                patch.name,
                attempt,
                attempts,
            )
            continue
        except _LockTimeout as timeout:
            waited = time.perf_counter() - attempt_started
            blockers = await blockers_of(conn, timeout.relations, waited)
            who = "; ".join(map(str, blockers)) or "no backend holds a lock on them now"
            tables = ", ".join(timeout.relations) or "its tables"
            beyond = _ran_beyond_transaction(patch, timeout.line)
            final = attempt == attempts or bool(beyond)
            left = await _what_is_left(conn, patch, options.ddl_lock_timeout, drop=final)
            if isinstance(timeout.error, asyncpg.DeadlockDetectedError):
                failed = f"deadlocked with another transaction on {tables}"
            elif isinstance(timeout.error, asyncpg.SerializationError):
                isolation = await conn.fetchval("SHOW default_transaction_isolation")
                failed = (
                    f"could not serialize with a concurrent transaction on {tables} "
                    f"(default_transaction_isolation is {isolation})"
                )
            else:
                failed = (
                    f"could not lock {tables} within lock_timeout "
                    f"{options.ddl_lock_timeout or 0:g} s"
                )
            if beyond:
                raise PatchLockError(
                    f"{patch.path}:{timeout.line}:{timeout.column}: patch {patch.name} {failed}; "
                    f"it {left}. It is not run again: {beyond} ran beyond its transaction and "
                    f"stays done (run again, it would be done twice). Blocking: {who}. Check "
                    "what it did, end that transaction and apply again",
                    applied=run.applied,
                ) from timeout.error
            if final:
                raise PatchLockError(
                    f"{patch.path}:{timeout.line}:{timeout.column}: patch {patch.name} {failed}, "
                    f"{attempts} times; it {left}. Blocking: {who}. End that "
                    "transaction (or SELECT pg_terminate_backend(pid)) and apply again; "
                    "--lock-timeout and --lock-retries set the runner's patience",
                    applied=run.applied,
                ) from timeout.error
            delay = min(_BACKOFF_FIRST * 2 ** (attempt - 1), _BACKOFF_MAX)
            log.warning(
                "%s: %s (attempt %d of %d), it %s; blocking: %s; retrying in %.1f s",
                patch.name,
                failed,
                attempt,
                attempts,
                left,
                who,
                delay,
            )
            await asyncio.sleep(delay)
            continue
        committed.append(True)
        # the patch's own `SET statement_timeout = '1ms'` holds for the session after it: the
        # runner's check below (planned, run: more than a millisecond on a busy host) was
        # cancelled by it, failing a patch that had been applied and recorded (a flake of
        # round 10's test under load, round 30). The next patch starts from a clean session
        await no_statement_timeout(conn)
        if not await conn.fetchval(_HOLDS_THE_LOCK, LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF):
            # `pg_advisory_unlock_all()` in a patch: a replica started now would apply the
            # next patches at the same time as this one (round 22, helper 105)
            raise _LockReleased(
                f"{patch.path}: patch {patch.name} released the pipeline's advisory lock "
                "(pg_advisory_unlock_all(), or an unlock of its key): another replica could "
                "apply the next patches at the same time, so this run stops here. The patch is "
                "applied and recorded; take the unlock out of the patches and apply again — "
                f"{_POOLER}",
                applied=[*run.applied, patch.name] if record else run.applied,
            )
        log.info(
            "%s %s in %.0f ms",
            "applied     " if record else "rebuilt     ",
            patch.name,
            (time.perf_counter() - attempt_started) * 1000,
        )
        return


# `setval` is not undone by ROLLBACK (`ALTER SEQUENCE … RESTART` is): read where the
# sequences stand before a transactional patch that calls it, and put back those a failed
# attempt moved back (round 42, helper h42P: a "start the demo data over" patch — DELETE,
# setval(…, 1, false), INSERT — failed at its last statement, "rolled back", and the
# application's next INSERT was a duplicate key of the rows still there)
_SETVAL = lazy_pattern(r"\bsetval\b", re.IGNORECASE)

# a function or trigger of an earlier patch may call it, where the patch's text does not say so
_FUNCTIONS_CALLING_SETVAL = """
-- tenantguard: ignore[TG006] -- the runner's own session: the catalog of functions
SELECT EXISTS (SELECT FROM pg_catalog.pg_proc p
               WHERE p.pronamespace OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.regnamespace
                 AND p.prolang OPERATOR(pg_catalog.>) 13  -- not internal or C: a symbol
                 AND p.prosrc OPERATOR(pg_catalog.~~*) '%setval%')
"""

_SEQUENCES = """
-- tenantguard: ignore[TG006] -- the runner's own session: the sequences it may read
SELECT c.oid::pg_catalog.regclass::pg_catalog.text AS name,
       pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'
           OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname) AS qualified
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE c.relkind OPERATOR(pg_catalog.=) 'S' AND NOT pg_catalog.pg_is_other_temp_schema(n.oid)
  AND CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'S'
           THEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT') ELSE false END
ORDER BY 1
"""


@dataclass(frozen=True)
class _SequencePosition:
    name: str  # as regclass prints it on the runner's path
    qualified: str
    last_value: int
    is_called: bool
    increment: int

    @property
    def next_value(self) -> int:
        return self.last_value + self.increment if self.is_called else self.last_value

    def behind(self, before: _SequencePosition) -> bool:
        """It would hand out a number again that it handed out before."""
        if self.increment > 0:
            return self.next_value < before.next_value
        return self.next_value > before.next_value


async def _sequence_positions(
    conn: asyncpg.Connection, only: Collection[str] | None = None
) -> list[_SequencePosition]:
    names = [
        (row["name"], row["qualified"])
        for row in await conn.fetch(_SEQUENCES)
        if only is None or row["qualified"] in only
    ]
    if not names:
        return []
    reads = " UNION ALL ".join(
        f"(SELECT {index}, s.last_value, s.is_called, q.seqincrement FROM {qualified} s, "
        f"pg_catalog.pg_sequence q WHERE q.seqrelid OPERATOR(pg_catalog.=) "
        f"'{qualified.replace(chr(39), chr(39) * 2)}'::pg_catalog.regclass)"
        for index, (_name, qualified) in enumerate(names)
    )
    try:
        rows = await conn.fetch(reads)
    except asyncpg.PostgresError:  # one dropped since (another session): read one by one
        rows = []
        for index, (_name, qualified) in enumerate(names):
            with contextlib.suppress(asyncpg.PostgresError):
                rows += await conn.fetch(
                    f"SELECT {index}, s.last_value, s.is_called, q.seqincrement "
                    f"FROM {qualified} s, pg_catalog.pg_sequence q WHERE q.seqrelid "
                    f"OPERATOR(pg_catalog.=) '{qualified.replace(chr(39), chr(39) * 2)}'"
                    "::pg_catalog.regclass"
                )
    return [
        _SequencePosition(names[row[0]][0], names[row[0]][1], row[1], row[2], row[3])
        for row in rows
    ]


async def _put_sequences_back(
    conn: asyncpg.Connection,
    patch: PatchFile,
    before: list[_SequencePosition],
    error: Exception,
) -> None:
    """Puts back, after a failed attempt of a transactional patch, the sequences it moved back
    with setval, and says so: in the error's message, or logged when the patch is retried. A
    sequence moved ahead (a gap, never a duplicate) is left: the application may have taken
    numbers above it since."""
    if conn.is_closed() or conn.is_in_transaction():
        return  # the connection went: what the patch did to them cannot be read now
    said: list[str] = []
    try:
        now = {
            p.qualified: p for p in await _sequence_positions(conn, [b.qualified for b in before])
        }
        for old in before:
            new = now.get(old.qualified)
            if new is None or not new.behind(old):
                continue
            try:
                await conn.execute(
                    "SELECT pg_catalog.setval($1::pg_catalog.regclass, $2, $3)",
                    old.qualified,
                    old.last_value,
                    old.is_called,
                )
                said.append(
                    f"sequence {old.name} was put back (next value {old.next_value}; the "
                    f"patch's setval had moved it back to {new.next_value})"
                )
            except asyncpg.PostgresError as failed:
                said.append(
                    f"sequence {old.name} stays moved back to next value {new.next_value} "
                    f"(it gave {old.next_value} before the patch; putting it back failed: "
                    f"{failed}): run SELECT setval('{old.qualified}', {old.last_value}, "
                    f"{str(old.is_called).lower()}) before the application inserts"
                )
    except asyncpg.PostgresError as failed:
        said.append(f"the sequences it may have moved with setval could not be read ({failed})")
    if not said:
        return
    text = "ROLLBACK does not undo setval, which the patch calls: " + "; ".join(said)
    if isinstance(error, PatchError):
        error.args = (f"{error.args[0]}\n    {text}", *error.args[1:])
    else:
        log.warning("%s: %s", patch.name, text)


async def _what_is_left(
    conn: asyncpg.Connection, patch: PatchFile, ddl_lock_timeout: float | None, *, drop: bool
) -> str:
    """`_left_behind`, or the general answer when the catalog cannot be read now."""
    try:
        return await _left_behind(conn, patch, ddl_lock_timeout, drop=drop)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return "was rolled back" if patch.transactional else "did not complete"


async def _left_behind(
    conn: asyncpg.Connection, patch: PatchFile, ddl_lock_timeout: float | None, *, drop: bool
) -> str:
    """What a patch that failed left: nothing (rolled back), or the INVALID index it began.

    An index the build had made ready is updated by every write (and a unique one refuses the
    application's duplicates) although the patch failed: with `drop`, it is dropped.
    """
    if patch.transactional:
        return "was rolled back"
    from tenantguard.patches.statements import (
        concurrent_detach,
        concurrent_index,
        concurrent_reindex,
    )

    detach = concurrent_detach(patch.statements[0])
    if detach is not None and await _pending_detach(conn, patch) is not None:
        return (
            f"left partition {detach[1]} pending detach from {detach[0]} (its first step "
            "commits on its own): the next run finishes it with DETACH PARTITION … FINALIZE"
        )
    if concurrent_reindex(patch.statements[0]) is not None:
        left = await _reindex_leftovers(conn, patch)
        if not left:
            return "did not complete"
        try:
            await _clean_session(conn, ddl_lock_timeout)
            await _drop_reindex_leftovers(conn, patch)
        except asyncpg.PostgresError:  # the transaction that blocked the patch blocks the drop
            return (
                f"left the INVALID copies {', '.join(left)} of the index, which every write "
                "updates: the next run drops them before it reindexes"
            )
        return f"left the INVALID copies {', '.join(left)} of the index: dropped them"
    found = concurrent_index(patch.statements[0])
    if found is None:
        return "did not complete"
    row = await conn.fetchrow(
        "SELECT n.nspname, c.relname, i.indisready FROM pg_catalog.pg_index i "
        "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
        "WHERE i.indexrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) AND NOT i.indisvalid",
        f"{quote_ident(found[0])}.{quote_ident(found[1])}" if found[0] else quote_ident(found[1]),
    )
    if row is None:
        return "did not complete"
    index = f"{quote_ident(row['nspname'])}.{quote_ident(row['relname'])}"
    if not row["indisready"]:
        return f"left the INVALID index {index} (not used nor updated; the next run rebuilds it)"
    if drop:
        try:
            await _clean_session(conn, ddl_lock_timeout)
            await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")
        except asyncpg.PostgresError as error:
            log.warning("could not drop the INVALID index %s: %s", index, error)
        else:
            return (
                f"dropped the INVALID index {index} it had begun (writes were already updating "
                "it, and a unique one refusing duplicates)"
            )
    return (
        f"left the INVALID index {index}, which every write already updates (a unique one "
        f"refuses duplicates): the next run rebuilds it, or DROP INDEX CONCURRENTLY {index}"
    )


# what the runner relies on in its ledger table besides its rows: that it exists, its columns,
# constraints, triggers, rules, that row-level security does not hide rows from the runner, and
# that it is not UNLOGGED (its rows would not survive a server crash)
_LEDGER_DEFINITION = """
-- tenantguard: ignore[TG006] -- the runner's own ledger table
-- read as numbers and node trees, not as names: a patch's search_path (or a type of pg_temp
-- named text) changes how format_type, pg_get_expr, ::regclass print, not the table (round 36,
-- helper h36E: 'CREATE DOMAIN pg_temp.text …' was taken for a change of the ledger)
SELECT coalesce((
  SELECT pg_catalog.concat_ws(E'\\n', c.relkind::pg_catalog.text,
    c.relrowsecurity::pg_catalog.text, c.relforcerowsecurity::pg_catalog.text,
    -- UNLOGGED: emptied by the crash recovery after a server crash (round 31, helper h31f)
    c.relpersistence::pg_catalog.text,
    -- its owner (a loop giving every table to the application's role gave it the ledger too,
    -- which the application could then rewrite) and the tables that inherit it (whose rows a
    -- read of the ledger without ONLY took for records) (round 31, helper h31f)
    pg_catalog.pg_get_userbyid(c.relowner)::pg_catalog.text,
    (SELECT pg_catalog.string_agg(i.inhrelid::pg_catalog.text, ', ' ORDER BY 1)
     FROM pg_catalog.pg_inherits i WHERE i.inhparent OPERATOR(pg_catalog.=) c.oid),
    -- its parents (a DROP TABLE … CASCADE of one takes the ledger) and its indexes (a unique
    -- one refuses the runner's next row, an expression one runs a function at each of the
    -- runner's INSERTs) (round 36, helper h36U)
    (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.text, ', ' ORDER BY 1)
     FROM pg_catalog.pg_inherits i WHERE i.inhrelid OPERATOR(pg_catalog.=) c.oid),
    (SELECT pg_catalog.string_agg(x.indexrelid::pg_catalog.text, ', ' ORDER BY 1)
     FROM pg_catalog.pg_index x WHERE x.indrelid OPERATOR(pg_catalog.=) c.oid),
    (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', a.attname, a.atttypid, a.atttypmod,
                                                       a.attnotnull, a.attcollation, d.adbin),
                                  ', ' ORDER BY a.attnum)
     FROM pg_catalog.pg_attribute a
     LEFT JOIN pg_catalog.pg_attrdef d
       ON d.adrelid OPERATOR(pg_catalog.=) a.attrelid AND d.adnum OPERATOR(pg_catalog.=) a.attnum
     WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid AND a.attnum OPERATOR(pg_catalog.>) 0
       AND NOT a.attisdropped),
    (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', conname, contype, condeferrable,
                                      condeferred, convalidated, conkey, confrelid, confkey,
                                      conindid, conbin, conexclop),
                                  ', ' ORDER BY conname)
     FROM pg_catalog.pg_constraint WHERE conrelid OPERATOR(pg_catalog.=) c.oid),
    (SELECT pg_catalog.string_agg(tgname OPERATOR(pg_catalog.||) ' '
                                  OPERATOR(pg_catalog.||) tgenabled::pg_catalog.text,
                                  ', ' ORDER BY tgname)
     FROM pg_catalog.pg_trigger WHERE tgrelid OPERATOR(pg_catalog.=) c.oid),
    (SELECT pg_catalog.string_agg(polname, ', ' ORDER BY polname)
     FROM pg_catalog.pg_policy WHERE polrelid OPERATOR(pg_catalog.=) c.oid),
    (SELECT pg_catalog.string_agg(rulename, ', ' ORDER BY rulename)
     FROM pg_catalog.pg_rewrite WHERE ev_class OPERATOR(pg_catalog.=) c.oid))
  FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)),
  'gone') OPERATOR(pg_catalog.||) E'\nnamesakes ' OPERATOR(pg_catalog.||) coalesce((
  -- the relations of its name elsewhere (a loop copying every table of public into a new
  -- schema app, put before public on the path, made an empty app.tenantguard_patches that the
  -- next run took for the ledger: every patch ran again; round 36, helper h36U)
  SELECT pg_catalog.string_agg(c.oid::pg_catalog.text, ',' ORDER BY c.oid)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n
    ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
  WHERE c.relname OPERATOR(pg_catalog.=) $2
    AND n.nspname OPERATOR(pg_catalog.!~) '^pg_(temp|toast_temp)_'), '')
"""


async def _ledger_state(conn: asyncpg.Connection, ledger_table: str) -> tuple[str, str]:
    """(definition, rows) of the ledger as the runner sees it, to tell whether a patch changed
    it: its rows as one digest, and what `_LEDGER_DEFINITION` reads of its table."""
    definition = str(await conn.fetchval(_LEDGER_DEFINITION, ledger_table, LEDGER))
    if definition.startswith("gone\n"):
        return definition, ""
    rows = await conn.fetchval(
        # the rows in their binary form: their text (timestamptz, double precision) follows the
        # patch's TimeZone, DateStyle, extra_float_digits
        "SELECT pg_catalog.md5(coalesce(pg_catalog.string_agg(pg_catalog.record_send(l), "
        "''::pg_catalog.bytea ORDER BY l.name), ''::pg_catalog.bytea)) "
        f"FROM ONLY {ledger_table} AS l"
    )
    return definition, str(rows)


def _ledger_changed(
    patch: PatchFile, ledger_table: str, before: tuple[str, str], after: tuple[str, str]
) -> PatchError | None:
    """The error for a patch that changed the runner's ledger (round 29, helper h29d: a loop
    over every table of the schema — `TRUNCATE` to start the demo data over, row-level security
    forced everywhere — reached the ledger too: its rows were gone, and the next run took the
    patches they recorded for new ones), or None when it is as it was."""
    what = _ledger_change(before, after)
    if what is None:
        return None
    return PatchError(
        f"{patch.path}: patch {patch.name} changed the patch ledger {ledger_table} ({what}), "
        f"{_LEDGER_ONLY_RUNNER} The patch was rolled back; nothing of it is applied. "
        f"{_LEAVE_THE_LEDGER_OUT}"
    )


_LEDGER_ONLY_RUNNER = (
    "which only the runner writes: its rows say which patches are applied, and a patch that "
    "empties or hides them has the next run take them for new ones."
)
_LEAVE_THE_LEDGER_OUT = (
    "A patch that acts on every table of its schema (a loop over pg_tables) leaves the ledger "
    f"out: `AND tablename <> '{LEDGER}'`"
)


def _ledger_change(before: tuple[str, str], after: tuple[str, str]) -> str | None:
    """What changed in the ledger between two `_ledger_state`s, or None."""
    if before == after:
        return None
    if after[0].startswith("gone\n"):
        return "dropped or renamed it"
    if before[0].partition("\nnamesakes ")[2] != after[0].partition("\nnamesakes ")[2]:
        return "made another relation of its name, which a search path may find first"
    if before[0] != after[0]:
        return (
            "its definition changed (columns, constraints, indexes, triggers, rules, row-level "
            "security, UNLOGGED, its owner, a table inheriting it or one it inherits)"
        )
    return "its rows changed"


_LEDGER_ROWS = "SELECT name, number, checksum, applied_at, duration_ms FROM ONLY {ledger}"


async def _committed_ledger_change(
    conn: asyncpg.Connection,
    patch: PatchFile,
    ledger_table: str,
    before: tuple[str, str],
    rows: list[asyncpg.Record],
) -> PatchError | None:
    """The error for a no-transaction patch that changed the ledger, after putting its rows
    back; None when it is as it was. Its statement committed on its own (a DO block that
    commits as it goes, emptying every table of the schema in batches), so nothing rolls it
    back: the ledger held the patch's row alone, apply said '1 applied', and the next run took
    every applied patch for a new one (round 31, helper h31f). The runner holds the pipeline
    lock, so the rows it read before the patch are the ledger's: it writes them back (making
    the table again when the patch dropped it) and does not record the patch."""
    what = _ledger_change(before, await _ledger_state(conn, ledger_table))
    if what is None:
        return None
    try:
        async with conn.transaction():
            await conn.execute(_CREATE_LEDGER.format(ledger=ledger_table))
            await conn.execute(f"DELETE FROM ONLY {ledger_table}")
            await conn.executemany(
                f"INSERT INTO {ledger_table} (name, number, checksum, applied_at, duration_ms) "
                "VALUES ($1, $2, $3, $4, $5)",
                [tuple(row) for row in rows],
            )
        restored = await _ledger_state(conn, ledger_table)
        if restored[1] != before[1]:
            raise PatchError(f"its rows read back differ from the {len(rows)} it held")
        done = (
            f"The runner put the ledger's {len(rows)} rows back as they were before the patch"
            + (
                "; its definition stays as the patch left it: restore it by hand"
                if restored[0] != before[0]
                else ""
            )
        )
    except (PatchError, asyncpg.PostgresError) as error:
        names = ", ".join(str(row["name"]) for row in rows) or "none"
        done = (
            f"The runner could not put the ledger's rows back ({type(error).__name__}: {error}): "
            f"before the patch it recorded {names}. Restore them (from a backup) before the "
            "next run, which would take them for new patches and run them again"
        )
    return PatchError(
        f"{patch.path}: patch {patch.name} changed the patch ledger {ledger_table} ({what}), "
        f"{_LEDGER_ONLY_RUNNER} A no-transaction patch's statement commits on its own: what it "
        f"did to the rest of the database stays. {done}; the patch is not recorded. "
        f"{_LEAVE_THE_LEDGER_OUT}, and apply again"
    )


def _ran_beyond_transaction(patch: PatchFile, up_to_line: int | None = None) -> str:
    """What the patch's statements (those that begin by `up_to_line`) do that its rollback does
    not undo — a call of dblink_exec, pg_reload_conf, pg_terminate_backend…, a COPY to a
    program — as a text, or "". A patch that ran such a statement is not run again by the
    runner's retries (round 35, helper h35U: a patch rolled back 6 times after a cancelled
    runner query, or 3 after lock timeouts, had its dblink_exec's INSERT done as many times)."""
    from tenantguard.patches.statements import server_wide

    found: list[str] = []
    for statement in patch.statements:
        if up_to_line is not None and statement.line > up_to_line:
            break
        if isinstance(statement.node, pglast.ast.CreateFunctionStmt):
            continue  # made, not run
        found += [
            what
            for what in server_wide(statement)
            if what.startswith(("a call of ", "COPY to or from")) and what not in found
        ]
    return ", ".join(found)


class _RunnerCancelled(Exception):
    """The database's statement_timeout cancelled a query of the runner's own inside a patch's
    transaction (rolled back): the patch is run again."""


class _LockTimeout(Exception):
    """A statement that could not take its locks now (lock_timeout, or a deadlock's victim)."""

    def __init__(self, error: Exception, relations: list[str], line: int, column: int) -> None:
        super().__init__(str(error))
        self.error, self.relations, self.line, self.column = error, relations, line, column


def _refuse_read_only(patch: PatchFile) -> None:
    """A patch that left its transaction READ ONLY (`SET TRANSACTION READ ONLY`, first or
    later, `SET LOCAL transaction_read_only = on`): the runner's ledger row failed — 'cannot
    execute INSERT in a read-only transaction … in: recording it in the ledger', no line
    (round 33, helper h33f)."""
    from tenantguard.patches.statements import sets_transaction

    setting = next((s for s in reversed(patch.statements) if sets_transaction(s)), None)
    where = f"{patch.path}:{setting.line}:{setting.column}" if setting else str(patch.path)
    raise PatchError(
        f"{where}: patch {patch.name} makes its transaction READ ONLY, and the runner records "
        "the patch in that transaction (a write): nothing was applied. Remove the READ ONLY "
        "(a patch has something to change)"
    )


_MAY_SET_PATH = lazy_pattern(r"search_path|set_config", re.IGNORECASE)  # (no walk of most trees)


def _refuse_client_encoding(conn: asyncpg.Connection, patch: PatchFile, statement: Any) -> None:
    """A patch that changed client_encoding (`SET client_encoding = 'LATIN1'`, `SET NAMES`,
    set_config(), the first line of a pg_dump of a LATIN1 database): the runner reads the file
    as UTF-8 and sends it so, and the server read what followed in the other encoding — a
    seeded 'café' stored as 'cafÃ©', recorded, exit 0 (round 34, helper h34G). The server
    reports the change to the client (asyncpg's settings): no query to ask."""
    encoding = str(getattr(conn.get_settings(), "client_encoding", "UTF8"))
    if encoding.upper().replace("-", "").replace("_", "") in ("UTF8", "UNICODE"):
        return
    raise PatchError(
        f"{patch.path}:{statement.line}:{statement.column}: patch {patch.name} sets "
        f"client_encoding to {encoding}: the runner reads the patch file as UTF-8 and sends it "
        f"so, and the server would read the statements after this one as {encoding} (a 'é' "
        "stored as 'Ã©'). The patch was rolled back; nothing of it is applied. Remove the "
        "setting and keep the file in UTF-8 (`SET client_encoding = 'UTF8'` may stay)"
    )


_TEMPORARY_CREATION = r"""
-- tenantguard: ignore[TG006] -- the runner's own session: where it creates what it creates
SELECT coalesce(
  (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) pg_catalog.current_schema())
    OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema(),
  pg_catalog.current_setting('search_path') OPERATOR(pg_catalog.~*) '(^|[\s,"])pg_temp([\s,"]|$)'),
  pg_catalog.current_setting('search_path')
"""


async def _refuse_temporary_creation(
    conn: asyncpg.Connection, patch: PatchFile, statement: Any
) -> None:
    """Refuses a statement that would create a permanent object unqualified while the patch's
    search path puts pg_temp first: PostgreSQL creates it in the session's temporary schema,
    and it vanished when the runner cleaned the session — the patch recorded, exit 0, its
    tables, views, sequences, functions and types nowhere (round 34, helper h34G)."""
    row = await conn.fetchrow(_TEMPORARY_CREATION)
    if row is None or not row[0]:
        return
    raise PatchError(
        f"{patch.path}:{statement.line}:{statement.column}: patch {patch.name} creates an "
        f"object under an unqualified name while its search_path ({row[1]}) puts pg_temp "
        "first: PostgreSQL creates it in the session's temporary schema, which is gone when "
        "the session ends, and the patch would be recorded with nothing of it left. The patch "
        "was rolled back; nothing of it is applied. Put pg_temp last (`SET search_path = "
        "public, pg_temp`) or qualify the name; a scratch table says CREATE TEMP TABLE"
    )


# the patch's own lock_timeout after a statement that sets it (`statements.sets_lock_timeout`): its SET (or set_config), not a
# RESET (the database's, which the runner's replaces)
_OWN_LOCK_TIMEOUT = """
SELECT pg_catalog.current_setting('lock_timeout') FROM pg_catalog.pg_settings
WHERE name OPERATOR(pg_catalog.=) 'lock_timeout' AND source OPERATOR(pg_catalog.=) 'session'
"""
_MAY_RESET = lazy_pattern(r"\bRESET\b|set_config|\bDEFAULT\b\s*'", re.IGNORECASE)

# a runner setting the session no longer has from the runner's SET (a SET LOCAL of the patch's
# own is 'session' too, and stays); idle_in_transaction_session_timeout is set only when the
# database's is short, and put back with the others
_RESTORED = [
    "client_connection_check_interval",
    "idle_session_timeout",
    "lock_timeout",
    "standard_conforming_strings",
]


def _restored() -> tuple[list[str], str | None]:
    """The runner's settings a patch's RESET may take away, and the row_security it runs with
    (None: the session's own, on a new database)."""
    if _POLICIES_FAIL.get():
        return [*_RESTORED, "row_security"], "off"
    return _RESTORED, None


_RUNNER_SETTINGS_LOST = """
SELECT CASE WHEN pg_catalog.current_setting('lock_timeout')::interval OPERATOR(pg_catalog.=) $2::pg_catalog.text::interval
    AND pg_catalog.current_setting('idle_session_timeout')::interval OPERATOR(pg_catalog.=) '0'
    AND pg_catalog.current_setting('client_connection_check_interval')::interval OPERATOR(pg_catalog.=) '1s'
    AND pg_catalog.current_setting('standard_conforming_strings') OPERATOR(pg_catalog.=) 'on'
    AND ($3::pg_catalog.text IS NULL OR pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) $3::pg_catalog.text)
    AND pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.=) 'origin'
  THEN false  -- (the runner's, as it set them: no read of pg_settings, ~6x dearer)
  -- another lock_timeout than the one the patch's own statements left: a trigger's or a
  -- function's set_config('lock_timeout', '0', false) is 'session' too (round 36, h36E)
  WHEN pg_catalog.current_setting('lock_timeout')::interval OPERATOR(pg_catalog.<>) $2::pg_catalog.text::interval
  THEN true
  -- (set by the runner only when it is not origin: the database's or role's replica again)
  WHEN pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.<>) 'origin'
    AND (SELECT source FROM pg_catalog.pg_settings
         WHERE name OPERATOR(pg_catalog.=) 'session_replication_role') OPERATOR(pg_catalog.<>) 'session'
  THEN true
  ELSE EXISTS (SELECT FROM pg_catalog.pg_settings WHERE name OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[])
    AND source OPERATOR(pg_catalog.<>) 'session') END
"""

_TEMPORARY_OBJECTS = r"""
-- tenantguard: ignore[TG006] -- the runner's own session: what the patch left in pg_temp
SELECT relname AS name, CASE WHEN relkind OPERATOR(pg_catalog.=) 'v' THEN 'view'
    WHEN relkind OPERATOR(pg_catalog.=) 'm' THEN 'materialized view'
    WHEN relkind OPERATOR(pg_catalog.=) 'S' THEN 'sequence'
    WHEN relkind OPERATOR(pg_catalog.=) 'c' THEN 'type' ELSE 'table' END AS kind
  FROM pg_catalog.pg_class c
  WHERE relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema() AND (relkind OPERATOR(pg_catalog.=) 'r' OR relkind OPERATOR(pg_catalog.=) 'v' OR relkind OPERATOR(pg_catalog.=) 'm' OR relkind OPERATOR(pg_catalog.=) 'S' OR relkind OPERATOR(pg_catalog.=) 'p' OR relkind OPERATOR(pg_catalog.=) 'c')
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid OPERATOR(pg_catalog.=) 'pg_class'::pg_catalog.regclass
      AND d.objid OPERATOR(pg_catalog.=) c.oid AND (d.deptype OPERATOR(pg_catalog.=) 'a' OR d.deptype OPERATOR(pg_catalog.=) 'i'))  -- a serial's sequence: its table's
UNION ALL
SELECT proname, 'function' FROM pg_catalog.pg_proc
  WHERE pronamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()
UNION ALL
SELECT typname, 'type' FROM pg_catalog.pg_type
  WHERE typnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema() AND typrelid OPERATOR(pg_catalog.=) 0 AND typelem OPERATOR(pg_catalog.=) 0
"""


async def _refuse_temporary_objects(
    conn: asyncpg.Connection, patch: PatchFile, path_moved: bool, statement: Any = None
) -> None:
    """Refuses a patch that ends with pg_temp first on its search path and objects in the
    session's temporary schema it did not ask for there (CREATE TEMP …, `pg_temp.` names):
    whatever way it moved the path (`EXECUTE 'SET search_path = pg_temp'` in a DO block, a
    function of the patch calling set_config) and created them (in a DO block, `SELECT … INTO
    t`), they are gone when the session ends and the patch would be recorded (round 34, helper
    h34I: applied, exit 0, no table). `path_moved`: a statement of the patch set its path —
    then whatever it ends with (a DO block's `set_config('search_path', 'pg_temp, public',
    true)` in a no-transaction patch is gone with its statement's implicit transaction, and
    its table with the session: recorded, no table)."""
    from tenantguard.patches.statements import temporary_names

    row = await conn.fetchrow(_TEMPORARY_CREATION)
    first = row is not None and bool(row[0])
    if not first and not path_moved:
        return
    asked = set().union(*(temporary_names(s) for s in patch.statements))
    made = [f"{name} ({kind})" for name, kind in await conn.fetch(_TEMPORARY_OBJECTS)]
    made = sorted(m for m in made if m.split(" (")[0] not in asked)
    if not made:
        return
    path = (
        f"ends with pg_temp first on its search_path ({row[1]})"
        if first and row
        else ("put pg_temp first on its search_path")
    )
    outcome = (
        "The patch was rolled back; nothing of it is applied"
        if patch.transactional
        else "The patch is not recorded (its statement ran outside a transaction: what else it "
        "changed stays, and the next run runs it again)"
    )
    where = f"{patch.path}:{statement.line}:{statement.column}" if statement else str(patch.path)
    raise PatchError(
        f"{where}: patch {patch.name} {path}, and what it created under unqualified names "
        f"is in the session's temporary schema, gone when the session ends: {', '.join(made)}. "
        f"{outcome}. Put pg_temp last (`SET LOCAL search_path = public, pg_temp`) or qualify "
        "the names; a scratch table says CREATE TEMP TABLE"
    )


# built-ins a patch calls often that set no setting, besides the pure ones (`PURE_CALLS`): no
# read of the session after them
_SEQUENCE_CALLS = frozenset({"nextval", "setval", "currval"})


async def _may_put_temp_first(conn: asyncpg.Connection, statement: Any) -> bool:
    """Whether a statement that set the search path may have put pg_temp first: a path not
    set as a constant, or one where no schema named before pg_temp exists (`nosuch, pg_temp,
    public`). `public, pg_temp` does not (round 35, helper h35U)."""
    from tenantguard.patches.statements import search_paths_set

    paths = search_paths_set(statement)
    if paths is None:
        return True
    for path in paths:
        names = [_schema_of(entry) for entry in path.split(",") if entry.strip()]
        temp = next((i for i, n in enumerate(names) if n.startswith("pg_temp")), None)
        if temp is None:
            continue  # not listed: not where unqualified names are created
        before = names[:temp]
        if not before or not await conn.fetchval(_ANY_SCHEMA, before):
            return True
    return False


def _schema_of(entry: str) -> str:
    entry = entry.strip()
    if entry.startswith('"') and entry.endswith('"'):
        return entry[1:-1].replace('""', '"')
    return entry.lower()


_ANY_SCHEMA = """
SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace
  WHERE nspname OPERATOR(pg_catalog.=) ANY (SELECT CASE WHEN n OPERATOR(pg_catalog.=) '$user' THEN current_user::pg_catalog.text ELSE n END
                       FROM pg_catalog.unnest($1::pg_catalog.text[]) n))
"""


_TEMP_FIRST_FUNCTIONS = """
-- tenantguard: ignore[TG006] -- the catalog: functions whose own search_path puts pg_temp first
SELECT EXISTS (SELECT FROM pg_catalog.pg_proc p, pg_catalog.unnest(p.proconfig) c
  WHERE p.proname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[]) AND c OPERATOR(pg_catalog.~*) '^search_path=\\s*"?pg_temp\\M')
"""


async def _calls_temp_first(conn: asyncpg.Connection, statement: Any) -> bool:
    """Whether the statement calls a function whose own `SET search_path` clause puts pg_temp
    first: what it creates under unqualified names is made in the session's temporary schema
    (round 35, helper h35U: `SELECT app.make();`, its function `SET search_path = pg_temp,
    public` creating `made`, was recorded as applied, the table gone at disconnect)."""
    from tenantguard.patches.statements import runs_of

    names = sorted(runs_of([statement]).calls)
    return bool(names) and bool(await conn.fetchval(_TEMP_FIRST_FUNCTIONS, names))


def _calls_functions(statement: Any) -> bool:
    """Whether a statement calls a function that may set the session's settings: one of the
    database's (made by an earlier patch) that says `set_config('lock_timeout', '0', false)`
    left the rest of the patch without the runner's lock_timeout — the runner read the
    session back only when the patch's own text said RESET or set_config (round 35, helper
    h35E). Built-ins the patches call most are passed over."""
    from tenantguard.patches.statements import PURE_CALLS, runs_of

    if "(" not in statement.text:
        return False
    plain = PURE_CALLS | _SEQUENCE_CALLS
    runs = runs_of([statement])
    return bool(runs.qualified) or any(name.lower() not in plain for name in runs.calls)


# a table an INSERT may write without running code the patch's text does not name: an ordinary
# table with no trigger (an internal one of a foreign key too), rule, row security, child, and
# whose defaults, generated columns, CHECKs, index expressions and predicates call only the
# built-ins `_calls_functions` passes over (functions by name in pg_catalog, and its cast
# functions: a serial's int4(nextval(…)); operators of pg_catalog; results of base or enum
# types: `DEFAULT 1::d` names no function of d's CHECK; the partition key expressions of its
# ancestors: an INSERT into a partition checks its bounds), index and partition key operator
# classes of pg_catalog,
# columns of base or enum types (a domain's CHECK runs code) with no cast of a function outside
# pg_catalog from or to them (an assignment cast of the INSERT's value: `VALUES (1)` into an
# enum column with `CREATE CAST (int AS mood) WITH FUNCTION to_mood(int) AS ASSIGNMENT`), on
# a session path that searches pg_catalog first and has no type in pg_temp (the INSERT's
# `now()` or `::text` are pg_catalog's; round 35, helper h35W). Anything else, or a name that
# does not resolve: read back.
_QUIET_TABLE = r"""
-- tenantguard: ignore[TG006] -- the catalog: whether an INSERT into the table can run code
SELECT c.relkind OPERATOR(pg_catalog.=) 'r' AND NOT c.relhastriggers AND NOT c.relhasrules AND NOT c.relhassubclass
  AND NOT c.relrowsecurity
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
      LEFT JOIN pg_catalog.pg_type e ON e.oid OPERATOR(pg_catalog.=) t.typelem AND t.typelem OPERATOR(pg_catalog.<>) 0
    WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
      AND ((t.typtype OPERATOR(pg_catalog.<>) 'b' AND t.typtype OPERATOR(pg_catalog.<>) 'e') OR (e.typtype OPERATOR(pg_catalog.<>) 'b' AND e.typtype OPERATOR(pg_catalog.<>) 'e')))
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i, pg_catalog.unnest(i.indclass) k(oc),
      pg_catalog.pg_opclass o
    WHERE i.indrelid OPERATOR(pg_catalog.=) c.oid AND o.oid OPERATOR(pg_catalog.=) k.oc AND o.opcnamespace OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.regnamespace)
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_partition_ancestors(c.oid) a,
      pg_catalog.pg_partitioned_table k, pg_catalog.unnest(k.partclass) l(oc),
      pg_catalog.pg_opclass o
    WHERE k.partrelid OPERATOR(pg_catalog.=) a.relid AND o.oid OPERATOR(pg_catalog.=) l.oc
      AND o.opcnamespace OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.regnamespace)
  AND NOT EXISTS (SELECT FROM (
        SELECT d.adbin::pg_catalog.text FROM pg_catalog.pg_attrdef d WHERE d.adrelid OPERATOR(pg_catalog.=) c.oid
        UNION ALL SELECT n.conbin::pg_catalog.text FROM pg_catalog.pg_constraint n
          WHERE n.conrelid OPERATOR(pg_catalog.=) c.oid AND n.conbin IS NOT NULL
        UNION ALL SELECT i.indexprs::pg_catalog.text FROM pg_catalog.pg_index i
          WHERE i.indrelid OPERATOR(pg_catalog.=) c.oid AND i.indexprs IS NOT NULL
        UNION ALL SELECT i.indpred::pg_catalog.text FROM pg_catalog.pg_index i
          WHERE i.indrelid OPERATOR(pg_catalog.=) c.oid AND i.indpred IS NOT NULL
        UNION ALL SELECT k.partexprs::pg_catalog.text
          FROM pg_catalog.pg_partition_ancestors(c.oid) a, pg_catalog.pg_partitioned_table k
          WHERE k.partrelid OPERATOR(pg_catalog.=) a.relid AND k.partexprs IS NOT NULL) x(tree),
      pg_catalog.regexp_matches(x.tree, ':(funcid|opno|resulttype) (\d+)|(\{ROWCOMPARE)', 'g') m
    WHERE CASE WHEN m[3] IS NOT NULL THEN true
      WHEN m[1] OPERATOR(pg_catalog.=) 'funcid' THEN NOT EXISTS (SELECT FROM pg_catalog.pg_proc p
        WHERE p.oid OPERATOR(pg_catalog.=) m[2]::pg_catalog.oid AND p.pronamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
          AND (p.proname OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[])
            OR EXISTS (SELECT FROM pg_catalog.pg_cast k WHERE k.castfunc OPERATOR(pg_catalog.=) p.oid)))
      WHEN m[1] OPERATOR(pg_catalog.=) 'resulttype' THEN NOT EXISTS (SELECT FROM pg_catalog.pg_type t
        LEFT JOIN pg_catalog.pg_type e ON e.oid OPERATOR(pg_catalog.=) t.typelem AND t.typelem OPERATOR(pg_catalog.<>) 0
        WHERE t.oid OPERATOR(pg_catalog.=) m[2]::pg_catalog.oid AND (t.typtype OPERATOR(pg_catalog.=) 'b' OR t.typtype OPERATOR(pg_catalog.=) 'e')
          AND (e.oid IS NULL OR (e.typtype OPERATOR(pg_catalog.=) 'b' OR e.typtype OPERATOR(pg_catalog.=) 'e')))
      ELSE NOT EXISTS (SELECT FROM pg_catalog.pg_operator o, pg_catalog.pg_proc p
        WHERE o.oid OPERATOR(pg_catalog.=) m[2]::pg_catalog.oid AND p.oid OPERATOR(pg_catalog.=) o.oprcode
          AND p.pronamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace) END)
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_cast k
      JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) k.castfunc
      JOIN pg_catalog.pg_type s ON s.oid OPERATOR(pg_catalog.=) k.castsource
      JOIN pg_catalog.pg_type g ON g.oid OPERATOR(pg_catalog.=) k.casttarget
    WHERE p.pronamespace OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.regnamespace
      AND ((s.typnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
          AND g.typnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace)
        OR EXISTS (SELECT FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
          WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
            AND ((k.castsource OPERATOR(pg_catalog.=) t.oid OR k.castsource OPERATOR(pg_catalog.=) t.typelem) OR (k.casttarget OPERATOR(pg_catalog.=) t.oid OR k.casttarget OPERATOR(pg_catalog.=) t.typelem)))))
  AND (SELECT n FROM pg_catalog.unnest(pg_catalog.current_schemas(true)) n
      WHERE NOT coalesce(n::pg_catalog.regnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema(), false) LIMIT 1)
    OPERATOR(pg_catalog.=) 'pg_catalog'
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_type y
    WHERE y.typnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema() AND y.typrelid OPERATOR(pg_catalog.=) 0 AND y.typelem OPERATOR(pg_catalog.=) 0)
  FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
"""


def _plain_insert_target(statement: Any) -> tuple[str, str | None] | None:
    """The table of an `INSERT INTO t …` that names no other table and no CTE: (table,
    schema). None for any other statement. (The caller has checked that it calls no function
    `_calls_functions` reads as able to set the session.)"""
    from pglast import ast

    from tenantguard.patches.statements import relations

    node = statement.node
    if not isinstance(node, ast.InsertStmt) or node.withClause is not None:
        return None
    relation = node.relation
    if relation is None or not relation.relname:
        return None
    if len(relations(statement)) != 1 or not _plain_expressions(statement):
        return None
    return str(relation.relname), relation.schemaname


# type names a cast of an INSERT's values may name unqualified: built-ins (`::int` comes
# qualified, pg_catalog.int4, from the parser), no domain (its CHECK runs in the cast). (A
# domain of the same name in a schema a patch's search_path puts before pg_catalog would be
# taken for the built-in: not handled.)
_PLAIN_TYPES = frozenset(
    {
        "text",
        "date",
        "time",
        "timetz",
        "timestamp",
        "timestamptz",
        "interval",
        "uuid",
        "json",
        "jsonb",
        "bytea",
        "inet",
        "cidr",
        "macaddr",
        "money",
        "regclass",
        "oid",
        "int2",
        "int4",
        "int8",
        "float4",
        "float8",
        "bool",
        "tsvector",
    }
)


# the node kinds a quiet INSERT may hold: `INSERT INTO t (…) VALUES (…), (…)` of constants,
# casts to built-in types, built-in calls by bare name, DEFAULT, ARRAY[…], AND / OR / NOT,
# IS NULL, COALESCE, GREATEST, CURRENT_DATE…, ON CONFLICT and RETURNING of columns. Anything
# else — an operator (an A_Expr, and one of a subquery comparison `1 === ANY (SELECT 1)`, a
# simple CASE's `=`, a JOIN's USING), a subquery, a FROM — may run code: read back (round 35,
# helper h35W: a list of what runs code missed the SubLink's operator)
_PLAIN_NODES = frozenset(
    {
        "InsertStmt",
        "RangeVar",
        "Alias",
        "ResTarget",
        "SelectStmt",
        "A_Const",
        "Integer",
        "Float",
        "Boolean",
        "String",
        "BitString",
        "TypeCast",
        "TypeName",
        "FuncCall",
        "SetToDefault",
        "A_ArrayExpr",
        "NullTest",
        "BooleanTest",
        "BoolExpr",
        "CoalesceExpr",
        "MinMaxExpr",
        "SQLValueFunction",
        "OnConflictClause",
        "InferClause",
        "IndexElem",
        "ColumnRef",
        "A_Star",
    }
)


def _plain_expressions(statement: Any) -> bool:
    """Whether an INSERT's own expressions run nothing but built-ins: only `_PLAIN_NODES`, a
    SELECT of no FROM, WHERE, ORDER… (VALUES), a call by bare name (`app.lower('x')` is not
    the built-in lower, round 35, helper h35W), a cast to a built-in type (a domain's CHECK:
    `VALUES (1::d)`). Any doubt: False (read back). (A name resolves on the session's path:
    `_QUIET_TABLE` checks that pg_catalog is searched first.)"""
    from tenantguard.patches.statements import statement_nodes

    for node in statement_nodes(statement):
        kind = type(node).__name__
        if kind not in _PLAIN_NODES:
            return False
        if kind == "FuncCall" and (
            len(node.funcname or ()) != 1
            or node.agg_order
            or node.agg_filter is not None
            or node.over is not None
            or node.agg_star
            or node.agg_distinct
            or node.func_variadic
        ):
            return False
        if kind == "SelectStmt" and (
            node.fromClause
            or node.whereClause is not None
            or node.groupClause
            or node.havingClause is not None
            or node.windowClause
            or node.sortClause
            or node.distinctClause
            or node.larg is not None
            or node.limitCount is not None
            or node.limitOffset is not None
            or node.lockingClause
            or node.withClause is not None
            or node.intoClause is not None
        ):
            return False
        if kind == "TypeCast":
            if node.typeName is None:
                return False
            names = [getattr(n, "sval", None) for n in node.typeName.names or ()]
            if not (
                (len(names) == 2 and names[0] == "pg_catalog")
                or (len(names) == 1 and names[0] in _PLAIN_TYPES)
            ):
                return False
    return True


async def _insert_is_quiet(
    conn: asyncpg.Connection, statement: Any, known: dict[tuple[str, str | None], bool]
) -> bool:
    """Whether an INSERT of the patch (calling no function `_calls_functions` reads as able
    to set the session) ran no code its text does not name (the runner's
    settings need no read back after it): a plain INSERT into a table `_QUIET_TABLE` reads
    as quiet. The catalog is read once per table while `known` lasts (the caller empties it
    after any other statement: that one may have made a trigger). Round 35, helper h35V: the
    read back after every statement (fce9eff) doubled a seed patch's apply, 1.07 s -> 2.35 s
    for 5 000 INSERTs."""
    from tenantguard.patches.statements import PURE_CALLS

    target = _plain_insert_target(statement)
    if target is None:
        return False
    if target not in known:
        table, schema = target
        name = (
            _quote_ident(table)
            if schema is None
            else f"{_quote_ident(schema)}.{_quote_ident(table)}"
        )
        known[target] = bool(
            await conn.fetchval(_QUIET_TABLE, name, sorted(PURE_CALLS | _SEQUENCE_CALLS))
        )
    return known[target]


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _run_once(
    conn: asyncpg.Connection,
    patch: PatchFile,
    ledger_table: str,
    record: bool,
    ddl_lock_timeout: float | None,
    session_lock_timeout: float | None,
) -> None:
    from tenantguard.patches.statements import (
        creates_unqualified,
        relations,
        resets_runner_settings,
        sets_a_setting,
        sets_lock_timeout,
        sets_search_path,
        sets_transaction,
    )

    started = time.perf_counter()
    statement = None
    step = ""  # what ran when no statement of the patch did: the ledger row, the commit
    lines = LineIndex(patch.text)
    finalize = None
    ledger_before = ("", "")  # read before the patch (a transactional one's: in its transaction)
    ledger_rows: list[asyncpg.Record] = []  # a no-transaction patch's: to put back
    early: set[int] = set()  # the patch's leading `SET TRANSACTION …`: run before the runner's
    patch_running = False  # a statement of the patch is running (not one of the runner's)
    under_patch_timeout = False
    try:
        if patch.transactional:
            await conn.execute("BEGIN")
            # (round 33, helper h33f: a backfill beginning `SET TRANSACTION ISOLATION LEVEL
            # SERIALIZABLE;` failed — 'must be called before any query' at its line 1 — as the
            # lock check and the ledger read came first in its transaction)
            # and among the patch's leading SETs (`SET LOCAL lock_timeout = '5s'; SET
            # TRANSACTION ISOLATION LEVEL SERIALIZABLE;`, which psql takes): a SET takes no
            # snapshot, the others run in their place (round 34, helper h34I)
            for index, statement in enumerate(patch.statements):
                if not sets_a_setting(statement):
                    break
                if sets_transaction(statement):
                    await conn.execute(statement.text)
                    early.add(index)
            statement = None
            # the backend that runs the patch holds the lock: through a pooler in transaction
            # mode (PgBouncer) the lock was taken on another server connection, and every
            # replica "held" it at once (round 28, helper h28d)
            if not await conn.fetchval(_HOLDS_THE_LOCK, LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF):
                raise PatchUsageError(_NOT_THIS_SESSION.format(patch=patch.name))
            ledger_before = await _ledger_state(conn, ledger_table)
        else:
            statement = patch.statements[0]
            await _drop_invalid_index(conn, patch)
            await _drop_reindex_leftovers(conn, patch)
            finalize = await _pending_detach(conn, patch)
            if finalize is not None:
                log.warning(
                    "%s: finishing the detach an earlier run began: %s", patch.name, finalize
                )
                await conn.execute(finalize)
            elif (
                await _built_already(conn, patch)
                or await _detached_already(conn, patch)
                or await _enum_value_added_already(conn, patch)
            ):
                finalize = "built"
            else:  # what it changes commits with it: the ledger is checked, and put back
                ledger_before = await _ledger_state(conn, ledger_table)
                ledger_rows = await conn.fetch(_LEDGER_ROWS.format(ledger=ledger_table))
        if finalize is None:
            await conn.execute("RESET statement_timeout")  # the database's or role's, if any
        path_moved = False  # a statement of the patch set its search_path, maybe pg_temp first
        under_patch_timeout = finalize is None  # the runner's queries too, until it sets 0
        # a patch that says RESET or set_config anywhere (a DO block's EXECUTE, a function it
        # calls): the runner's settings are read back after each of its statements
        watch_settings = bool(_MAY_RESET.search(patch.text))
        quiet_tables: dict[tuple[str, str | None], bool] = {}  # while only INSERTs run
        # the lock_timeout the patch's statements should see: the runner's, or what a statement
        # of the patch that sets lock_timeout (`SET lock_timeout = '2s'`, set_config(…) in
        # its text) left; any other value came from code the text does not name (a trigger's
        # set_config('lock_timeout', '0', false)) and is put back (round 36, helper h36E)
        own_lock_timeout = _lock_timeout_text(session_lock_timeout)
        restored = _restored()
        for index, statement in enumerate(patch.statements if finalize is None else ()):
            if index in early:
                continue
            if path_moved and creates_unqualified(statement):
                await _refuse_temporary_creation(conn, patch, statement)
            patch_running = True
            await conn.execute(statement.text)
            patch_running = False
            moved_now = (
                bool(_MAY_SET_PATH.search(statement.text))
                and sets_search_path(statement)
                and await _may_put_temp_first(conn, statement)
            )
            path_moved = path_moved or moved_now
            calls = _calls_functions(statement)  # (read once: ~70 us a statement)
            if moved_now or (calls and (path_moved or await _calls_temp_first(conn, statement))):
                # named at the statement that made them, not at the patch's end, after the
                # statements below it ran (round 35, helper h35E: a DO block that put pg_temp
                # first and created its table in the same block)
                await _refuse_temporary_objects(conn, patch, True, statement)
            if not patch.transactional:
                continue  # its one statement: nothing of the patch follows it
            _refuse_client_encoding(conn, patch, statement)
            if resets_runner_settings(statement):  # RESET ALL: the runner's, not the patch's
                own_lock_timeout = _lock_timeout_text(session_lock_timeout)
            elif sets_lock_timeout(statement):
                own_lock_timeout = str(
                    await conn.fetchval(_OWN_LOCK_TIMEOUT)
                    or _lock_timeout_text(session_lock_timeout)  # a RESET of it: the runner's
                )
            # (and after any statement another follows: a trigger, an event trigger, a column
            # default or a view runs functions the text does not name — a BEFORE INSERT
            # trigger's EXECUTE 'RESET lock_timeout' left the rest of the patch with the
            # database's 0; round 35, helper h35U)
            quiet = index == len(patch.statements) - 1  # (nothing of the patch follows it)
            if not quiet and not watch_settings:
                quiet = not calls and await _insert_is_quiet(conn, statement, quiet_tables)
                if not quiet:  # it may have made a trigger, a rule, a default, a path: the
                    # tables read as quiet are read again (one read as not stays so: fail closed)
                    for table in [t for t, calm in quiet_tables.items() if calm]:
                        del quiet_tables[table]
            if (
                watch_settings or not quiet or resets_runner_settings(statement) or calls
            ) and await conn.fetchval(
                _RUNNER_SETTINGS_LOST, restored[0], own_lock_timeout, restored[1]
            ):
                # `RESET ALL` put lock_timeout back to the database's (0): the patch's DDL
                # waited behind the application without end, and the application's queries
                # behind it (round 34, helper h34G). Read from the session, not the text:
                # `EXECUTE 'RESET ALL'` in a DO block, `set_config('lock_timeout', NULL,
                # false)`, a function of the patch that resets did the same (h34I)
                await conn.execute(_runner_settings(session_lock_timeout))
                if own_lock_timeout != _lock_timeout_text(session_lock_timeout):
                    await conn.execute(
                        "SELECT pg_catalog.set_config('lock_timeout', $1, false)", own_lock_timeout
                    )
        statement, step = None, "recording it in the ledger"
        # the runner's own checks and the ledger row: written as the session's user, whatever
        # role the patch set, and with no statement timeout a patch set for its own statements
        # (`SET statement_timeout = '1ms'` cancelled the ledger check that follows on a busy
        # host, and the temporary-schema check below, ~1.3 ms, on any host: round 34; the next
        # patch starts from a clean session, the caller's settings are put back)
        # (statement_timeout first: the one statement that runs under the patch's timeout;
        # outside a transaction retried, inside one the patch is: `_RunnerCancelled`)
        after = "SET statement_timeout = 0; SET SESSION AUTHORIZATION DEFAULT; RESET ROLE"
        if conn.is_in_transaction():
            # the patch's deferred constraints and constraint triggers fire here, not at the
            # COMMIT after the ledger check: a `DEFERRABLE INITIALLY DEFERRED` trigger fired by
            # the patch's INSERT emptied the ledger at COMMIT, the patch recorded as applied
            # (round 36, helper h36U); what they set is undone by the runner's settings again
            step = "its deferred constraints and triggers (which run at COMMIT)"
            await conn.execute(f"{after}; SET CONSTRAINTS ALL IMMEDIATE; {after}")
            step = "recording it in the ledger"
        else:
            await _runner_statement(conn, after)
        under_patch_timeout = False
        if finalize is None:
            await _refuse_temporary_objects(conn, patch, path_moved)
        if patch.transactional and await conn.fetchval("SHOW transaction_read_only") == "on":
            _refuse_read_only(patch)
        if patch.transactional:
            step = "checking that it left the ledger as it was"
            changed = _ledger_changed(
                patch, ledger_table, ledger_before, await _ledger_state(conn, ledger_table)
            )
            if changed is not None:
                raise changed
            step = "recording it in the ledger"
        elif finalize is None:
            step = "checking that it left the ledger as it was"
            changed = await _committed_ledger_change(
                conn, patch, ledger_table, ledger_before, ledger_rows
            )
            if changed is not None:
                raise changed
            step = "recording it in the ledger"
        if record:
            await conn.execute(
                f"INSERT INTO {ledger_table} (name, number, checksum, duration_ms) "
                "VALUES ($1, $2, $3, $4)",
                patch.name,
                patch.number,
                patch.checksum,
                (time.perf_counter() - started) * 1000,
            )
        else:
            await conn.execute(
                f"UPDATE {ledger_table} SET duration_ms = $2 WHERE name OPERATOR(pg_catalog.=) $1",
                patch.name,
                (time.perf_counter() - started) * 1000,
            )
        if patch.transactional:
            step = "COMMIT (deferred constraints are checked there)"
            await conn.execute("COMMIT")
    except Exception as error:
        if not conn.is_closed() and conn.is_in_transaction():
            # on a broken connection the server rolls the transaction back
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await conn.execute("ROLLBACK")
        if statement is not None:
            line, column = statement.position_of(getattr(error, "position", None), lines)
            where = f"{patch.path}:{line}:{column}"
        else:
            line, column, where = 1, 1, str(patch.path)
        if conn.is_closed() or isinstance(
            error, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)
        ):
            from tenantguard.patches.statements import commits_on_its_own

            committing = commits_on_its_own(statement) if statement is not None else None
            if not patch.transactional and committing is not None:
                # (round 42, helper h42P: a DO block committing in batches, cut short, was
                # said to leave an INVALID index — its committed batches were not mentioned)
                left = (
                    f"what its {committing} committed before stays (the server rolls back only "
                    "what it had begun since its last COMMIT), and the next run runs it again "
                    "from the start (it must be idempotent)"
                )
            elif not patch.transactional:
                left = "it may leave an INVALID index, which the next run rebuilds"
            elif step.startswith("COMMIT"):  # the server may have committed before it went
                left = (
                    "whether the server committed it is unknown (its answer to COMMIT was lost): "
                    "`tenantguard patches status` shows whether it is recorded, and the next "
                    "run applies it only if it is not"
                )
            else:
                left = "its transaction is rolled back by the server and nothing of it is recorded"
            raise PatchConnectionError(
                f"{where}: the connection to the server was lost while patch {patch.name} ran "
                f"({type(error).__name__}: {error}): {left}. {_after_lost_connection(error)}"
            ) from error
        # a deadlock's victim, like a lock timeout, is the moment's traffic: retried
        # and so is a serialization failure at the database's repeatable read or serializable
        # (a backfill racing an application update; round 28, helper h28d)
        retry = (
            asyncpg.LockNotAvailableError,
            asyncpg.DeadlockDetectedError,
            asyncpg.SerializationError,
        )
        if (
            isinstance(error, asyncpg.QueryCanceledError)
            and "statement timeout" in str(error)
            and under_patch_timeout
            and not patch_running
            and patch.transactional
        ):
            # one of the runner's own queries between or after the patch's statements, under
            # the database's or role's statement_timeout the patch keeps ('1ms', on a busy
            # host): rolled back, and the patch is run again (round 35, helper h35E)
            raise _RunnerCancelled(str(error)) from error
        if isinstance(error, retry) and statement is not None:
            raise _LockTimeout(error, relations(statement), line, column) from error
        if isinstance(error, retry) and step.startswith("recording"):
            # the ledger held a moment by maintenance (VACUUM FULL, LOCK TABLE): waited for
            # like a patch's own table (round 28, helper h28d)
            raise _LockTimeout(error, [ledger_table], line, column) from error
        if not isinstance(error, asyncpg.PostgresError):
            raise
        shown = statement.text.strip().splitlines()[0][:120] if statement is not None else step
        left = await _what_is_left(conn, patch, ddl_lock_timeout, drop=True)
        outcome = "failed" if left == "did not complete" else f"failed and {left}"
        from tenantguard.patches.statements import commits_on_its_own

        committing = commits_on_its_own(statement) if statement is not None else None
        if committing is not None and not patch.transactional:
            # (round 31, helper h31f: a batched backfill failed after three COMMITs, and the
            # error said 'failed' — as if nothing of it were left)
            outcome += (
                f", and is not rolled back as a whole: what its {committing} committed before "
                "the error stays, and the next run runs it again from the start (it must be "
                "idempotent)"
            )
        elif committing == "procedure" and isinstance(
            error, asyncpg.InvalidTransactionTerminationError
        ):
            outcome += (
                " (the procedure it calls says COMMIT or ROLLBACK, which PostgreSQL refuses "
                "inside the transaction the runner applies the patch in: call it from a patch "
                "of its own with the line `-- tenantguard: no-transaction`)"
            )
        said = str(error).replace("\n", "\n    ")  # asyncpg adds PostgreSQL's DETAIL and HINT lines
        said += await _limit_hint(conn, error, patch)
        if isinstance(
            error, asyncpg.InsufficientPrivilegeError
        ) and "row-level security policy" in str(error):
            said += (
                "\n    the runner runs patches with row_security = off: a statement a policy "
                "would filter fails instead of changing only the rows the policy shows (none, "
                "with the tenant setting unset — FORCE ROW LEVEL SECURITY applies to the "
                "table's owner). Run the patches as a role with BYPASSRLS, or put `ALTER TABLE "
                "… NO FORCE ROW LEVEL SECURITY;` before the statement and `ALTER TABLE … FORCE "
                "ROW LEVEL SECURITY;` after it in the patch (one transaction: no other session "
                "sees the table unforced); a patch meant to work under the policy says `SET "
                "row_security = on;`"
            )
        if isinstance(error, asyncpg.UnsafeNewEnumValueUsageError):
            # (round 34, helper h34G: the server's hint says to commit first, which a patch
            # cannot: every run failed the same)
            said += (
                "\n    the runner applies a patch in one transaction: put the `ALTER TYPE … ADD "
                "VALUE` in a patch of its own, numbered before the patch that uses the value "
                "(each patch commits before the next runs)"
            )
        raise PatchError(
            f"{where}: patch {patch.name} {outcome}: {type(error).__name__}: {said}\n    in: {shown}"
        ) from error


# a setting as a patch starts with it (the runner's own statement_timeout is 0 between patches:
# RESET gives the patch the database's or role's, `reset_val`), and where that comes from — as
# pg_settings.source would say of it, read from the per-database and per-role settings (a query
# run after a RESET to '1ms' was itself cancelled on a busy host)
_SETTING_SOURCE = """
-- tenantguard: ignore[TG006] -- the runner's own session and the catalog of settings
SELECT s.reset_val OPERATOR(pg_catalog.||) coalesce(s.unit, '') AS value,
       coalesce((SELECT CASE WHEN d.setdatabase OPERATOR(pg_catalog.<>) 0 AND d.setrole OPERATOR(pg_catalog.<>) 0 THEN 'database user'
                             WHEN d.setrole OPERATOR(pg_catalog.<>) 0 THEN 'user' ELSE 'database' END
                 FROM pg_catalog.pg_db_role_setting d
                 WHERE (d.setdatabase OPERATOR(pg_catalog.=) 0 OR d.setdatabase OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_database
                                             WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database()))
                   AND (d.setrole OPERATOR(pg_catalog.=) 0 OR d.setrole OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_roles
                                         WHERE rolname OPERATOR(pg_catalog.=) session_user))
                   AND EXISTS (SELECT 1 FROM pg_catalog.unnest(d.setconfig) c WHERE c OPERATOR(pg_catalog.~~) (s.name OPERATOR(pg_catalog.||) '=%'))
                 ORDER BY d.setdatabase OPERATOR(pg_catalog.<>) 0 AND d.setrole OPERATOR(pg_catalog.<>) 0 DESC, d.setrole OPERATOR(pg_catalog.<>) 0 DESC
                 LIMIT 1),
                CASE WHEN s.source OPERATOR(pg_catalog.=) 'session' THEN 'connection or server configuration'
                     ELSE s.source END) AS source,
       pg_catalog.quote_ident(session_user) AS runner, pg_catalog.quote_ident(pg_catalog.current_database()) AS database
FROM pg_catalog.pg_settings s WHERE s.name OPERATOR(pg_catalog.=) $1
"""


async def _limit_hint(conn: asyncpg.Connection, error: Exception, patch: PatchFile) -> str:
    """Where a limit of the session's settings that stopped a patch comes from, and the
    patch's way out: a `statement_timeout` that cancelled it, a `temp_file_limit` its sorts or
    hashes ran into (round 29, helper h29d: 'temporary file size exceeds temp_file_limit
    (64kB)', exit 1, said neither — and only a superuser can raise that one)."""
    if isinstance(error, asyncpg.QueryCanceledError) and "statement timeout" in str(error):
        setting = "statement_timeout"
    elif isinstance(error, asyncpg.ConfigurationLimitExceededError) and "temp_file_limit" in str(
        error
    ):
        setting = "temp_file_limit"
    else:
        return ""
    try:
        row = await conn.fetchrow(_SETTING_SOURCE, setting)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return ""
    if row is None:
        return ""
    said = (
        f"\n    the session's {setting} is {row['value']} (set by the {row['source']}; the "
        "runner keeps the database's and role's settings): "
    )
    role = f"ALTER ROLE {row['runner']} IN DATABASE {row['database']}"
    if setting == "temp_file_limit":
        said += (
            "the patch's sorts, hashes or index builds need more temporary disk than that. Only "
            f"a superuser can raise it: `{role} SET temp_file_limit = -1` (or a size) for the "
            "runner's role"
        )
        if patch.transactional:
            said += (
                ", or, when the runner is one, `SET LOCAL temp_file_limit = -1;` first in the patch"
            )
        return said
    if patch.transactional:
        return said + "a patch that needs longer says `SET LOCAL statement_timeout = 0;` first"
    # a no-transaction patch holds one statement, and SET LOCAL outside a transaction does
    # nothing: only the runner's own setting helps (round 28, helper h28d)
    return said + (
        "a no-transaction patch holds its one statement only, so give the runner a longer one: "
        "`options=-c statement_timeout=0` in its DSN (`?options=-cstatement_timeout%3D0` in a "
        f"URL), or {role} SET statement_timeout = 0"
    )


@dataclass
class PipelineStatus:
    """The patch directory against a database's ledger."""

    patches: list[tuple[PatchFile, AppliedPatch | None]]
    missing: list[AppliedPatch]
    renamed: list[tuple[AppliedPatch, PatchFile]]
    changed: list[PatchFile]
    out_of_order: list[PatchFile]
    refused: list[tuple[PatchFile, str]]  # pending patches apply would refuse, and why
    invalid_indexes: list[InvalidIndex]
    # (partition, parent): a DETACH PARTITION … CONCURRENTLY cut short
    pending_detaches: list[tuple[str, str]] = field(default_factory=list)
    # (ledger row, file): applied under a newer version's name (see _Plan.ahead)
    ahead: list[tuple[AppliedPatch, PatchFile]] = field(default_factory=list)
    # (patch, what it builds, what the database has): an index of an applied patch's name and
    # another definition (made by hand before the patch's CREATE INDEX IF NOT EXISTS)
    other_indexes: list[tuple[PatchFile, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.other_indexes
            or self.ahead
            or self.pending_detaches
            or self.missing
            or self.changed
            or self.out_of_order
            or self.refused
            or self.invalid_indexes
        )


async def pipeline_status(target: str | Dsn, directory: str | Path = "patches") -> PipelineStatus:
    """What `apply` would find: pending, changed, renamed, missing patches, invalid indexes."""
    from tenantguard.patches.statements import refuse_swallowed_retries

    patches = read_patches(Path(directory))
    conn = await connect(target)
    try:
        await no_statement_timeout(conn)  # a database's '1ms' (see _clean_session)
        ledger = await _read_ledger(conn, await _ledger_table(conn))
        invalid = await invalid_indexes(conn, patches, exact=True)
        detaches = await conn.fetch(
            "SELECT inhrelid::pg_catalog.regclass::pg_catalog.text AS partition, inhparent::pg_catalog.regclass::pg_catalog.text AS parent "
            "FROM pg_catalog.pg_inherits WHERE inhdetachpending ORDER BY 1"
        )
        plan = _plan(patches, ledger)
        other_indexes = await _other_indexes(conn, [p for p in patches if p.name in ledger])
        refused = [(patch, plan.reused_message(patch, row)) for patch, row in plan.reused]
        refused += [(p, str(e)) for p, e in await _session_only_calls(conn, plan.pending)]
        refused += [(p, str(e)) for p, e in await _resetting_calls(conn, plan.pending)]
        for patch in plan.pending:
            try:
                patch.statements  # noqa: B018  (parsing is the check)
                if ledger:
                    refuse_swallowed_retries(patch, patch.statements)
                    await _refuse_swallowing_calls(conn, [patch])  # as apply does
            except PatchError as error:
                refused.append((patch, str(error)))
    finally:
        await conn.close()
    renamed_to = {patch.name: row for row, patch in plan.renamed + plan.ahead}
    return PipelineStatus(
        [(p, ledger.get(p.name) or renamed_to.get(p.name)) for p in patches],
        plan.missing,
        plan.renamed,
        [patch for patch, _ in plan.changed],
        [patch for patch, _, _ in plan.out_of_order],
        refused,
        invalid,
        [(row["partition"], row["parent"]) for row in detaches],
        plan.ahead,
        other_indexes,
    )


_MENTIONS_INDEX = lazy_pattern(r"\bINDEX\b", re.IGNORECASE)


async def _other_indexes(
    conn: asyncpg.Connection, applied: list[PatchFile]
) -> list[tuple[PatchFile, str, str]]:
    """The indexes applied patches build by a plain `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name
    ON table (columns)` (columns only: no expression, predicate or INCLUDE, whose printed form
    the server normalizes) that exist on that table with another definition: someone built one
    of the name by hand before the patch, whose IF NOT EXISTS skipped it, and the ledger says
    applied (round 36, helper h36E). The last patch naming an index decides; one whose later
    patch names it otherwise (DROP, RENAME, a DO block) is not judged."""
    from pglast import ast

    built: dict[str, tuple[PatchFile, Any]] = {}

    def renames_columns_of(statement: Any) -> list[str]:
        # a later RENAME of the index's table's column (or of the table), or a DO block naming
        # the table: the catalog's index names other columns than the patch's (round 36, helper
        # h36U: 'ALTER TABLE t RENAME COLUMN x TO z' after the patch's index on (tenant_id, x)
        # was 'OTHER … made by hand before the patch? DROP it', exit 1)
        node = statement.node
        if isinstance(node, ast.RenameStmt) and node.relation is not None:
            return [
                n for n, (_, s) in built.items() if s.node.relation.relname == node.relation.relname
            ]
        if isinstance(node, ast.DoStmt):
            return [
                n
                for n, (_, s) in built.items()
                if re.search(
                    rf"\b{re.escape(str(s.node.relation.relname))}\b", statement.text, re.I
                )
            ]
        return []

    for patch in applied:
        if not _MENTIONS_INDEX.search(patch.text):
            for name in [n for n in built if n.lower() in patch.text.lower()]:
                del built[name]
            for statement in patch.statements if built else ():
                for name in renames_columns_of(statement):
                    built.pop(name, None)
            continue
        for statement in patch.statements:
            for name in renames_columns_of(statement):
                built.pop(name, None)
            node = statement.node
            if (
                isinstance(node, ast.IndexStmt)
                and node.idxname
                and node.relation is not None
                and node.whereClause is None
                and not node.indexIncludingParams
                and all(
                    isinstance(e, ast.IndexElem) and e.name and e.expr is None
                    for e in node.indexParams or ()
                )
            ):
                built[str(node.idxname)] = (patch, statement)
                continue
            for name in [n for n in built if n.lower() in statement.text.lower()]:
                del built[name]
    found = []
    for name, (patch, statement) in built.items():
        relation = statement.node.relation
        schema = relation.schemaname
        table = quote_ident(str(relation.relname))
        index = quote_ident(name)
        if schema:
            table, index = (f"{quote_ident(str(schema))}.{x}" for x in (table, index))
        row = await conn.fetchrow(_INDEX_SHAPE, index, table)
        if row is None or row["shape"] is None:
            continue  # gone (a table dropped), another schema's, or of expressions: not judged
        if not _shape_matches(statement.node, row["shape"]):
            found.append((patch, statement.text.strip(), str(row["definition"])))
    return found


# an index on the table, of columns only: its method, uniqueness and per column (name, DESC,
# NULLS FIRST, operator class, whether that class is the type's default, a collation other
# than the column's)
_INDEX_SHAPE = """
SELECT pg_catalog.pg_get_indexdef(i.indexrelid) AS definition,
  CASE WHEN i.indexprs IS NULL AND i.indpred IS NULL AND i.indnkeyatts OPERATOR(pg_catalog.=) i.indnatts
  THEN pg_catalog.jsonb_build_object('method', am.amname, 'unique', i.indisunique,
    'nulls_not_distinct', i.indnullsnotdistinct, 'columns', (
      SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(a.attname,
               (k.o::pg_catalog.int4 OPERATOR(pg_catalog.&) 1) OPERATOR(pg_catalog.<>) 0,
               (k.o::pg_catalog.int4 OPERATOR(pg_catalog.&) 2) OPERATOR(pg_catalog.<>) 0,
               c.opcname, c.opcdefault, l.collname) ORDER BY k.n)
      FROM ROWS FROM (pg_catalog.unnest(i.indkey::pg_catalog.int2[]),
                      pg_catalog.unnest(i.indoption::pg_catalog.int2[]),
                      pg_catalog.unnest(i.indclass::pg_catalog.oid[]),
                      pg_catalog.unnest(i.indcollation::pg_catalog.oid[]))
           WITH ORDINALITY AS k(att, o, cls, coll, n)
      JOIN pg_catalog.pg_attribute a
        ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) k.att
      JOIN pg_catalog.pg_opclass c ON c.oid OPERATOR(pg_catalog.=) k.cls
      LEFT JOIN pg_catalog.pg_collation l
        ON l.oid OPERATOR(pg_catalog.=) k.coll AND k.coll OPERATOR(pg_catalog.<>) a.attcollation)
  )::pg_catalog.text END AS shape
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class x ON x.oid OPERATOR(pg_catalog.=) i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid OPERATOR(pg_catalog.=) x.relam
WHERE i.indexrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
  AND i.indrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($2)
"""


def _shape_matches(node: Any, shape: str) -> bool:
    """Does a patch's `CREATE INDEX` of columns build the index `_INDEX_SHAPE` read? Defaults
    the server does not print (ASC, NULLS LAST after ASC, FIRST after DESC, the type's operator
    class, the column's collation) are the same as spelled out; a collation the patch names
    that the catalog shows as the column's own is taken as the same (not judged)."""
    import json

    from pglast import enums

    live = json.loads(shape)
    method = str(node.accessMethod or "btree")
    if (
        live["method"] != method
        or bool(live["unique"]) != bool(node.unique)
        or bool(live["nulls_not_distinct"]) != bool(getattr(node, "nulls_not_distinct", False))
        or len(live["columns"]) != len(node.indexParams or ())
    ):
        return False
    for element, (column, desc, nulls_first, opclass, default_class, collation) in zip(
        node.indexParams, live["columns"], strict=True
    ):
        mine_desc = element.ordering == enums.SortByDir.SORTBY_DESC
        mine_first = (
            mine_desc
            if element.nulls_ordering == enums.SortByNulls.SORTBY_NULLS_DEFAULT
            else element.nulls_ordering == enums.SortByNulls.SORTBY_NULLS_FIRST
        )
        if str(element.name) != column or mine_desc != desc or mine_first != nulls_first:
            return False
        if element.opclass:
            if str(element.opclass[-1].sval) != opclass:
                return False
        elif not default_class:
            return False
        if element.collation:
            named = str(element.collation[-1].sval)
            if collation is not None and named != collation:
                return False
        elif collation is not None:
            return False
    return True


async def patch_status(
    target: str, directory: str | Path = "patches"
) -> list[tuple[PatchFile, AppliedPatch | None]]:
    """Each patch with its ledger row (None: not applied)."""
    return (await pipeline_status(target, directory)).patches
