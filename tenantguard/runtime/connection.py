"""The guarded asyncpg connection: every path that sends SQL goes through the guard first.

`GuardedConnection` subclasses `asyncpg.Connection`, so it is what `connection_class=` expects
and pools keep it. `connect()` and `create_pool()` bind a `Guard` (policy, mode, verdict cache,
counters) to a subclass made for it, so every connection of a pool shares one cache.
"""

# tenantguard: ignore-file[TG009] -- the guard passes its callers' SQL on after checking it

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
from asyncpg.pool import Pool

from tenantguard.engine.policy import Policy
from tenantguard.engine.proof import identifier_name
from tenantguard.runtime.context import current_scope
from tenantguard.runtime.guard import Guard, Mode

__all__ = ["GuardedConnection", "GuardedPool", "GuardedStatement", "connect", "create_pool"]


def _default_guard() -> Guard:
    from tenantguard.config import build_policy, load_settings

    return Guard(build_policy(load_settings()))


class GuardedConnection(asyncpg.Connection):
    """An asyncpg connection that proves each statement before sending it."""

    __slots__ = ("_tg_setting",)

    _tg_guard: Guard | None = None  # set on the subclass `connect()`/`create_pool()` make

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tg_setting: str | None = None  # the app.tenant_id this session holds now

    @property
    def tenantguard(self) -> Guard:
        """The guard of this connection (its counters, mode and cache)."""
        guard = type(self)._tg_guard
        if guard is None:
            guard = type(self)._tg_guard = _default_guard()
        return guard

    # the funnel: every public method proves its SQL here

    async def _guard(
        self, query: object, rows: Iterable[Sequence[object]] = ((),), *, several: bool = False
    ) -> None:
        guard = self.tenantguard
        guard.check(query, rows, several=several)
        if guard.set_tenant_setting:
            await self._sync_tenant_setting(guard)

    def _check(self, query: object, rows: Iterable[Sequence[object]]) -> bool:
        """The hot path's synchronous check; True when the session setting must follow."""
        guard = type(self)._tg_guard or self.tenantguard
        guard.check(query, rows)
        return guard.set_tenant_setting

    async def _sync_tenant_setting(self, guard: Guard) -> None:
        scope = current_scope()
        wanted = "" if scope is None or scope.key is None else scope.key
        if wanted != self._tg_setting:
            await super().execute("SELECT set_config($1, $2, false)", guard.tenant_setting, wanted)
            self._tg_setting = wanted

    async def reset(self, *, timeout: float | None = None) -> None:
        await super().reset(timeout=timeout)
        self._tg_setting = None  # RESET ALL cleared it

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        # without arguments asyncpg uses the simple protocol: several statements may follow
        await self._guard(query, (args,), several=not args)
        return await super().execute(query, *args, timeout=timeout)

    async def executemany(
        self, command: str, args: Iterable[Sequence[object]], *, timeout: float | None = None
    ) -> None:
        rows = [tuple(row) for row in args]  # every row is checked before any is sent
        await self._guard(command, rows)
        await super().executemany(command, rows, timeout=timeout)

    async def fetch(
        self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None
    ) -> list[Any]:
        if self._check(query, (args,)):
            await self._sync_tenant_setting(self.tenantguard)
        return await super().fetch(query, *args, timeout=timeout, record_class=record_class)  # type: ignore[no-any-return]

    async def fetchval(
        self, query: str, *args: Any, column: int = 0, timeout: float | None = None
    ) -> Any:
        if self._check(query, (args,)):
            await self._sync_tenant_setting(self.tenantguard)
        return await super().fetchval(query, *args, column=column, timeout=timeout)

    async def fetchrow(
        self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None
    ) -> Any:
        if self._check(query, (args,)):
            await self._sync_tenant_setting(self.tenantguard)
        return await super().fetchrow(query, *args, timeout=timeout, record_class=record_class)

    async def fetchmany(
        self,
        query: str,
        args: Iterable[Sequence[object]],
        *,
        timeout: float | None = None,
        record_class: Any = None,
    ) -> list[Any]:
        rows = [tuple(row) for row in args]
        await self._guard(query, rows)
        return await super().fetchmany(query, rows, timeout=timeout, record_class=record_class)  # type: ignore[no-any-return]

    async def prepare(  # type: ignore[override]
        self,
        query: str,
        *,
        name: str | None = None,
        timeout: float | None = None,
        record_class: Any = None,
    ) -> GuardedStatement:
        guard = self.tenantguard
        scope = current_scope()
        if guard.mode is not Mode.OFF and (scope is None or scope.unscoped_reason is None):
            # the structure is proven now; the values when the statement runs
            guard.check(query, ())
        statement = await super().prepare(
            query, name=name, timeout=timeout, record_class=record_class
        )
        return GuardedStatement(statement, self, query)

    def cursor(
        self,
        query: str,
        *args: Any,
        prefetch: int | None = None,
        timeout: float | None = None,
        record_class: Any = None,
    ) -> Any:
        # CursorFactory is lazy and runs later; the check happens now, where the call is
        self.tenantguard.check(query, (args,))
        return super().cursor(
            query, *args, prefetch=prefetch, timeout=timeout, record_class=record_class
        )

    async def copy_from_query(self, query: str, *args: Any, output: Any, **kwargs: Any) -> str:
        await self._guard(query, (args,))
        return await super().copy_from_query(query, *args, output=output, **kwargs)

    async def copy_from_table(self, table_name: str, *, output: Any, **kwargs: Any) -> str:
        guard = self.tenantguard
        if guard.policy.is_tenant_table(identifier_name(table_name)):
            guard.check(f"COPY {_quoted(table_name)} TO STDOUT")  # TG005: a whole-table read
        return await super().copy_from_table(table_name, output=output, **kwargs)

    async def copy_to_table(  # type: ignore[override]
        self, table_name: str, *, source: Any, columns: Sequence[str] | None = None, **kwargs: Any
    ) -> str:
        self._check_copy_in(table_name, columns, None)
        return await super().copy_to_table(table_name, source=source, columns=columns, **kwargs)

    async def copy_records_to_table(  # type: ignore[override]
        self,
        table_name: str,
        *,
        records: Iterable[Sequence[object]],
        columns: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> str:
        rows = [tuple(r) for r in records] if not hasattr(records, "__aiter__") else records
        self._check_copy_in(table_name, columns, rows if isinstance(rows, list) else None)
        return await super().copy_records_to_table(
            table_name, records=rows, columns=columns, **kwargs
        )

    def _check_copy_in(
        self, table_name: str, columns: Sequence[str] | None, rows: list[tuple[object, ...]] | None
    ) -> None:
        """COPY into a tenant table: the tenant column is required, and record values checked."""
        guard = self.tenantguard
        if guard.mode is Mode.OFF or not guard.policy.is_tenant_table(identifier_name(table_name)):
            return
        names = [identifier_name(c) for c in columns or []]
        column = guard.policy.tenant_column
        placeholders = ", ".join(f"${i + 1}" for i in range(len(names)))
        # the same proof as the INSERT it amounts to: the tenant column must be given
        target = _quoted(table_name)
        statement = (
            f"INSERT INTO {target} ({', '.join(_quoted(n) for n in names)}) VALUES ({placeholders})"
            if names
            else f"INSERT INTO {target} DEFAULT VALUES"
        )
        if column not in names:
            guard.check(statement)
            return
        guard.check(statement, rows if rows is not None else ((),))


def _quoted(name: str) -> str:
    return (
        '"' + name.replace('"', '""') + '"'
        if name != name.lower() or not name.isidentifier()
        else name
    )


class GuardedStatement:
    """A prepared statement whose every execution checks its bound values."""

    __slots__ = ("_connection", "_query", "_statement")

    def __init__(self, statement: Any, connection: GuardedConnection, query: str) -> None:
        self._statement = statement
        self._connection = connection
        self._query = query

    def __getattr__(self, name: str) -> Any:
        return getattr(self._statement, name)

    async def fetch(self, *args: Any, timeout: float | None = None) -> list[Any]:
        await self._connection._guard(self._query, (args,))
        return await self._statement.fetch(*args, timeout=timeout)  # type: ignore[no-any-return]

    async def fetchrow(self, *args: Any, timeout: float | None = None) -> Any:
        await self._connection._guard(self._query, (args,))
        return await self._statement.fetchrow(*args, timeout=timeout)

    async def fetchval(self, *args: Any, column: int = 0, timeout: float | None = None) -> Any:
        await self._connection._guard(self._query, (args,))
        return await self._statement.fetchval(*args, column=column, timeout=timeout)

    async def fetchmany(
        self, args: Iterable[Sequence[object]], *, timeout: float | None = None
    ) -> list[Any]:
        rows = [tuple(r) for r in args]
        await self._connection._guard(self._query, rows)
        return await self._statement.fetchmany(rows, timeout=timeout)  # type: ignore[no-any-return]

    async def executemany(
        self, args: Iterable[Sequence[object]], *, timeout: float | None = None
    ) -> None:
        rows = [tuple(r) for r in args]
        await self._connection._guard(self._query, rows)
        await self._statement.executemany(rows, timeout=timeout)

    def cursor(self, *args: Any, prefetch: int | None = None, timeout: float | None = None) -> Any:
        self._connection.tenantguard.check(self._query, (args,))
        return self._statement.cursor(*args, prefetch=prefetch, timeout=timeout)


def _bound_class(guard: Guard) -> type[GuardedConnection]:
    return type("GuardedConnection", (GuardedConnection,), {"__slots__": (), "_tg_guard": guard})


def _guard_for(policy: Policy | None, mode: Mode | str, options: dict[str, Any]) -> Guard:
    if policy is None:
        from tenantguard.config import build_policy, load_settings

        policy = build_policy(load_settings())
    return Guard(policy, mode=mode, **options)


_GUARD_OPTIONS = ("cache_size", "require_tenant", "set_tenant_setting", "tenant_setting")


async def connect(
    dsn: str | None = None,
    *,
    policy: Policy | None = None,
    mode: Mode | str = Mode.ENFORCE,
    **kwargs: Any,
) -> GuardedConnection:
    """`asyncpg.connect` with the guard. Guard options: cache_size, require_tenant,
    set_tenant_setting (set `app.tenant_id` from `tenant()` for RLS), tenant_setting."""
    options = {k: kwargs.pop(k) for k in _GUARD_OPTIONS if k in kwargs}
    guard = _guard_for(policy, mode, options)
    connection = await asyncpg.connect(dsn, connection_class=_bound_class(guard), **kwargs)
    assert isinstance(connection, GuardedConnection)
    return connection


def create_pool(
    dsn: str | None = None,
    *,
    policy: Policy | None = None,
    mode: Mode | str = Mode.ENFORCE,
    **kwargs: Any,
) -> GuardedPool:
    """`asyncpg.create_pool` whose connections share one guard (`pool.tenantguard`)."""
    options = {k: kwargs.pop(k) for k in _GUARD_OPTIONS if k in kwargs}
    guard = _guard_for(policy, mode, options)
    if "connection_class" in kwargs:
        raise TypeError(
            "create_pool() makes its own connection_class; subclass GuardedConnection instead"
        )
    settings: dict[str, Any] = {
        "min_size": 10, "max_size": 10, "max_queries": 50000,
        "max_inactive_connection_lifetime": 300.0, "loop": None,
        "record_class": asyncpg.Record,
    }  # fmt: skip
    settings.update(kwargs)  # asyncpg.create_pool's defaults, then the caller's
    return GuardedPool(dsn, guard=guard, connection_class=_bound_class(guard), **settings)


class GuardedPool(Pool):
    """An asyncpg pool of guarded connections; `pool.tenantguard` is their shared guard."""

    __slots__ = ("tenantguard",)

    def __init__(self, *args: Any, guard: Guard, **kwargs: Any) -> None:
        self.tenantguard = guard
        super().__init__(*args, **kwargs)
