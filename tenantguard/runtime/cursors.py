"""The cursors a guarded connection hands out (`cursor()`, `GuardedStatement.cursor()`):
factories and cursors that set the tenant setting before each round trip (`SettingCursor…`)
and that read rows only in the scope they were made in (`ScopedCursor…`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from tenantguard.runtime.context import Scope
from tenantguard.runtime.context import current_scope as _get_scope
from tenantguard.runtime.plans import Plan

if TYPE_CHECKING:  # annotations only: connection.py imports this module
    from tenantguard.runtime.connection import GuardedConnection


class SettingCursorFactory:
    """A cursor factory whose cursor holds the tenant setting at each of its round trips.

    The server reads the setting while it runs the portal, chunk by chunk (a sequential scan
    evaluates `current_setting()` per row): the first round trip and every later one
    (`prefetch`, `Cursor.fetch`/`fetchrow`/`forward`) run under the request's value, which
    another call on the connection may have changed in between. Each runs only in the pool's
    lease the factory was made in (`_tg_released`): asyncpg refuses a kept cursor, but only
    after the setting was set in the session of the request holding the connection then.
    """

    __slots__ = ("_connection", "_factory", "_lease", "_wanted")

    def __init__(self, factory: Any, connection: GuardedConnection, wanted: Plan) -> None:
        self._factory = factory
        self._connection = connection
        self._wanted = wanted
        self._lease: int = connection._pool_release_ctr  # type: ignore[attr-defined]

    def _check_lease(self) -> None:
        if self._lease != self._connection._pool_release_ctr:  # type: ignore[attr-defined]
            self._connection._tg_released()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        connection = self._connection
        self._check_lease()
        value = await connection._tg_ensure(self._wanted)
        rows = self._factory.__aiter__()
        while True:
            # a row from asyncpg's buffer or a chunk: a comparison, a round trip if changed
            if value is not None and value != connection._tg_setting:
                await connection._tg_set(value)
            try:
                row = await rows.__anext__()
            except StopAsyncIteration:
                return
            yield row

    def __await__(self) -> Any:
        return self._open().__await__()

    async def _open(self) -> Any:
        self._check_lease()
        value = await self._connection._tg_ensure(self._wanted)
        cursor = await self._factory
        if value is None:
            return cursor
        return _SettingCursor(cursor, self._connection, value, self._lease)


class _CheckedCursor:
    """asyncpg's `Cursor`, with a check (`_before`) ahead of each of its round trips."""

    __slots__ = ("_connection", "_cursor")

    def __init__(self, cursor: Any, connection: GuardedConnection) -> None:
        self._cursor = cursor
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    async def _before(self) -> None:
        raise NotImplementedError

    async def fetch(self, n: int, *, timeout: float | None = None) -> list[Any]:
        await self._before()
        return await self._cursor.fetch(n, timeout=timeout)  # type: ignore[no-any-return]

    async def fetchrow(self, *, timeout: float | None = None) -> Any:
        await self._before()
        return await self._cursor.fetchrow(timeout=timeout)

    async def forward(self, n: int, *, timeout: float | None = None) -> int:
        await self._before()
        return await self._cursor.forward(n, timeout=timeout)  # type: ignore[no-any-return]


class _SettingCursor(_CheckedCursor):
    """asyncpg's `Cursor`, whose round trips run with the tenant setting at `value`."""

    __slots__ = ("_lease", "_value")

    def __init__(self, cursor: Any, connection: GuardedConnection, value: str, lease: int) -> None:
        super().__init__(cursor, connection)
        self._value = value
        self._lease = lease

    async def _before(self) -> None:
        connection = self._connection
        if self._lease != connection._pool_release_ctr:  # type: ignore[attr-defined]
            connection._tg_released()  # a cursor kept past the release (its factory's lease)
        if self._value != connection._tg_setting:
            await connection._tg_set(self._value)


class ScopedCursorFactory:
    """A cursor factory whose rows are read only in the scope the factory was made in.

    A cursor holds the rows of the scope its statement was checked in: `fetch` of a cursor
    opened in clinic 1's block, made in clinic 2's block (or in a task after clinic 1's block
    ended, or outside any block) returned clinic 1's rows (round 34) — the rule SQL FETCH
    follows (`_tg_cursor_uses`). A statement that reads no tenant table is not held."""

    __slots__ = ("_connection", "_factory", "_query", "_scope")

    def __init__(self, factory: Any, connection: GuardedConnection, query: str, scope: Scope):
        self._factory = factory
        self._connection = connection
        self._query = query
        self._scope = scope

    @staticmethod
    def made(factory: Any, connection: GuardedConnection, query: str) -> Any:
        scope = _get_scope()
        if scope is None:
            return factory  # checked outside any block: no block's rows to keep
        verdict = connection.tenantguard._cache.get(query)
        if verdict is not None and not verdict.touches_tenant_tables:
            return factory
        return ScopedCursorFactory(factory, connection, query, scope)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._factory, name)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        rows = self._factory.__aiter__()
        while True:
            _cursor_read(self._scope, self._connection, self._query)
            try:
                row = await rows.__anext__()
            except StopAsyncIteration:
                return
            yield row

    def __await__(self) -> Any:
        return self._open().__await__()

    async def _open(self) -> Any:
        _cursor_read(self._scope, self._connection, self._query)
        return _ScopedCursor(await self._factory, self._connection, self._query, self._scope)


class _ScopedCursor(_CheckedCursor):
    """asyncpg's `Cursor` (or `_SettingCursor`), read only in the scope it was made in."""

    __slots__ = ("_query", "_scope")

    def __init__(self, cursor: Any, connection: GuardedConnection, query: str, scope: Scope):
        super().__init__(cursor, connection)
        self._query = query
        self._scope = scope

    async def _before(self) -> None:
        _cursor_read(self._scope, self._connection, self._query)


def _cursor_read(made: Scope, connection: GuardedConnection, query: str) -> None:
    """Refuses a read of a cursor made under `made` in another scope: another tenant's block,
    none, a block that has ended (a copied context), an unscoped() cursor read in tenant()."""
    scope = _get_scope()
    if scope is made and not scope.ended:
        return  # the block it was made in (one comparison per row)
    if scope is None:
        why = "outside any tenant() block"
    elif scope.over():
        why = "after the block it was made in ended (a task or copied context)"
    elif scope.owner is not None and scope.outside_owner():
        why = "in the consumer of a generator holding a block across a yield"
    elif scope.unscoped_reason is not None:
        return  # unscoped() may read any tenant's rows
    elif made.unscoped_reason is not None:
        why = "in a tenant() block"
    elif made.key != scope.key:
        why = "in another tenant's block"
    else:
        return  # the same tenant's block, open
    made_in = "unscoped()" if made.unscoped_reason is not None else f"tenant({made.key!r})"
    connection.tenantguard.violation(
        f"a cursor made in {made_in} is read {why}: its rows are that block's",
        "open, read and close a cursor inside one block (the one whose rows it reads)",
        query,
    )
