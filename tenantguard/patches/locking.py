"""Waiting for locks without hanging anyone: the patch lock, and the tables a patch alters.

A runner waiting for the patch lock polls for it and sleeps on the client: no statement of its
stays open on the server, so the server's or the database's `lock_timeout`/`statement_timeout`
cannot end the wait, and a holder's `CREATE INDEX CONCURRENTLY` (which waits for every open
snapshot) cannot deadlock with it. It says who holds the lock while it waits. A patch that cannot
take a table's lock gives up quickly (the runner's own `lock_timeout`), so that the application's
queries do not queue behind its DDL; `blockers_of` names the backends in the way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import asyncpg

from tenantguard.patches.files import PatchLockError

__all__ = ["LOCK_KEY", "Blocker", "blockers_of", "lock_holder", "take_patch_lock"]

LOCK_KEY = 0x7465_6E61_6E74  # "tenant": one advisory lock key for the pipeline

log = logging.getLogger("tenantguard.patches.runner")

_NOW = "pg_catalog.now() OPERATOR(pg_catalog.-)"
_BACKEND = f"""a.pid, coalesce(a.application_name, '') AS application_name,
       coalesce(a.state, '') AS state,
       extract(epoch FROM {_NOW} coalesce(a.state_change, a.backend_start))::pg_catalog.float8 AS in_state,
       extract(epoch FROM {_NOW} coalesce(a.xact_start, a.backend_start))::pg_catalog.float8 AS in_xact,
       extract(epoch FROM {_NOW} a.backend_start)::pg_catalog.float8 AS connected,
       a.xact_start IS NOT NULL AS in_transaction,
       pg_catalog.left(coalesce(a.query, ''), 100) AS query"""

_THIS_DATABASE = (
    "(SELECT oid FROM pg_catalog.pg_database "
    "WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database())"
)

_HOLDER = f"""SELECT {_BACKEND}, '' AS relation, '' AS mode
FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) l.pid
WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory' AND l.granted
  AND l.classid OPERATOR(pg_catalog.=) $1 AND l.objid OPERATOR(pg_catalog.=) $2
  AND l.objsubid OPERATOR(pg_catalog.=) 1 AND l.database OPERATOR(pg_catalog.=) {_THIS_DATABASE}
  AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()"""

_RELATION_HOLDERS = f"""SELECT DISTINCT ON (a.pid, l.relation) {_BACKEND},
       l.relation::pg_catalog.regclass::pg_catalog.text AS relation, l.mode
FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) l.pid
WHERE l.locktype OPERATOR(pg_catalog.=) 'relation' AND l.granted
  AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
  AND l.database OPERATOR(pg_catalog.=) {_THIS_DATABASE}
  AND l.relation OPERATOR(pg_catalog.=) ANY (
    SELECT pg_catalog.to_regclass(name) FROM pg_catalog.unnest($1::pg_catalog.text[]) AS name)
ORDER BY a.pid, l.relation, l.mode"""

# no lock on the named tables: a transaction older than the wait can still block (CREATE INDEX
# CONCURRENTLY waits for every older snapshot), so name the oldest open transactions
_OLD_TRANSACTIONS = f"""SELECT {_BACKEND}, '' AS relation, '' AS mode
FROM pg_catalog.pg_stat_activity a
WHERE a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid() AND a.xact_start IS NOT NULL
  AND a.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
  AND a.xact_start OPERATOR(pg_catalog.<) ({_NOW} pg_catalog.make_interval(secs => $1))
ORDER BY a.xact_start LIMIT 3"""


@dataclass(frozen=True)
class Blocker:
    """A backend that holds what the runner waits for."""

    pid: int
    application_name: str
    state: str
    in_state: float  # seconds in its current state
    in_xact: float  # seconds since its transaction (or connection) began
    connected: float
    query: str
    in_transaction: bool = True
    relation: str = ""
    mode: str = ""

    def __str__(self) -> str:
        holds = f"holds {self.mode} on {self.relation}, " if self.relation else ""
        state = self.state or "no state"
        query = " ".join(self.query.split())
        # a session lock's holder is mostly outside any transaction: its connection's age is
        # no open transaction (round 33, helper h33f)
        xact = (
            f"transaction open {_seconds(self.in_xact)}"
            if self.in_transaction
            else f"no transaction open, connected {_seconds(self.connected)}"
        )
        return (
            f"pid {self.pid} (application_name {self.application_name!r}, {holds}{state} "
            f"for {_seconds(self.in_state)}, {xact}"
            + (f", last query: {query}" if query else "")
            + ")"
        )


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.0f} min"


def _blockers(rows: list[asyncpg.Record]) -> list[Blocker]:
    return [Blocker(**dict(row)) for row in rows]


async def lock_holder(conn: asyncpg.Connection) -> list[Blocker]:
    """The backends holding the patch lock on this database (one, or none just released)."""
    rows = await conn.fetch(_HOLDER, LOCK_KEY >> 32, LOCK_KEY & 0xFFFF_FFFF)
    return _blockers(rows)


async def blockers_of(
    conn: asyncpg.Connection, relations: list[str], waited: float
) -> list[Blocker]:
    """Who holds locks on `relations` now; else the transactions older than the wait."""
    rows = await conn.fetch(_RELATION_HOLDERS, relations) if relations else []
    if not rows:
        rows = await conn.fetch(_OLD_TRANSACTIONS, max(waited, 0.0))
    return _blockers(rows)


async def take_patch_lock(
    conn: asyncpg.Connection, wait: float | None, report_every: float
) -> None:
    """Takes the pipeline's advisory lock; says every `report_every` s who holds it.

    `wait`: seconds to wait at most (None: as long as it takes). The waiter polls with
    `pg_try_advisory_lock` and sleeps on the client: no statement of it stays open on the
    server while it waits, so neither a server or database `statement_timeout`/`lock_timeout`
    can end the wait, nor can the holder's `CREATE INDEX CONCURRENTLY` (which waits for every
    open snapshot) deadlock with it.
    """
    started = time.monotonic()
    deadline = None if wait is None else started + wait
    next_report = started
    pause = 0.02
    while not await conn.fetchval("SELECT pg_catalog.pg_try_advisory_lock($1)", LOCK_KEY):
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            holders = await lock_holder(conn)
            holder = "; ".join(map(str, holders)) or "a runner that has just released it"
            raise PatchLockError(
                f"gave up waiting for the patch lock after {_seconds(now - started)}: "
                f"{holder} holds it. Another runner is applying patches (or hangs): wait for it, "
                "or end that backend (SELECT pg_terminate_backend(pid)); --lock-wait SECONDS sets "
                "how long to wait"
            )
        if now >= next_report:
            holders = await lock_holder(conn)
            if holders:
                log.warning(
                    "waiting for the patch lock (%s so far): %s holds it",
                    _seconds(now - started),
                    "; ".join(map(str, holders)),
                )
            next_report = now + report_every
        pause = min(pause * 1.5, 0.25)
        await asyncio.sleep(
            pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic()))
        )
