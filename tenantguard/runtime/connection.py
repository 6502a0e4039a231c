"""The guarded asyncpg connection: every path that sends SQL goes through the guard first.

`GuardedConnection` subclasses `asyncpg.Connection`, so it is what `connection_class=` expects
and pools keep it. `connect()` and `create_pool()` bind a `Guard` (policy, mode, verdict cache,
counters) to a subclass made for it, so every connection of a pool shares one cache.

The hot path (`fetch*`, `execute`) returns asyncpg's own awaitable after a synchronous check:
no extra coroutine frame. A round trip is added only to set the tenant setting, and only when the
session does not already hold the request's tenant. Once asyncpg has prepared a statement, the
types PostgreSQL inferred for its pinning parameters are checked (`_get_statement`), before it
is bound; the verdict stays with asyncpg's cached statement.

Besides proving statements, the connection keeps what it knows of its session:
- `_tg_setting`: the value of the tenant setting on the server, or None when unknown (never
  trusted after a cancelled or failed round trip, a statement that may have changed it, or the
  end of a transaction it was set in);
- `_tg_fast`: that knowledge is current and the session lexes strings as the guard does;
- `_tg_clean`: nothing since the last reset left state a reset would undo (then, with
  `set_tenant_setting`, the pool's reset round trip is skipped: the next acquirer's setting
  round trip takes its place);
- `_tg_owner`: whose statements left that state (a tenant's key, `UNSCOPED_OWNER`, or None:
  statements outside any block only): a connection of `connect()`, which no pool resets, is
  reset before another tenant's first statement (`_tg_switch`).
"""

# tenantguard: ignore-file[TG009] -- the guard passes its callers' SQL on after checking it

from __future__ import annotations

import asyncio
import functools
import gc
import os
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Sequence,
)
from contextvars import ContextVar, copy_context
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeAlias, TypeVar
from uuid import UUID as _UUID

import asyncpg
from asyncpg import compat
from asyncpg.pgproto.pgproto import UUID as _PgUUID
from asyncpg.pool import Pool

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.policy import ForeignKey, Policy
from tenantguard.engine.referencing_keys import keys_through_views
from tenantguard.engine.search_path import set_search_paths, without_comments
from tenantguard.engine.spanning_keys import through_views
from tenantguard.engine.sqltext import split_sql
from tenantguard.errors import ConfigError
from tenantguard.runtime.codecs import TENANT_TYPES, GuardedSettings, coroutine_functions
from tenantguard.runtime.context import _SCOPE, Scope
from tenantguard.runtime.cursors import ScopedCursorFactory, SettingCursorFactory
from tenantguard.runtime.guard import SEVERAL_VALUES as _SEVERAL_VALUES
from tenantguard.runtime.guard import Guard, Mode, RuntimeVerdict, as_mode
from tenantguard.runtime.parameter_types import describe, first_inexact_pin, why_inexact
from tenantguard.runtime.plans import (
    MIXED_OWNER,
    OUTSIDE_OWNER,
    UNSCOPED_OWNER,
    UNSEEN,
    Driver,
    Forget,
    Frozen,
    Later,
    Plan,
    Wrote,
    combine,
    owner_of,
)
from tenantguard.runtime.schema_code import CASCADES_QUERY as _CASCADES_QUERY
from tenantguard.runtime.schema_code import CATALOG_CHANGED as _CATALOG_CHANGED
from tenantguard.runtime.schema_code import (
    CATALOG_FINGERPRINT_QUERY as _CATALOG_FINGERPRINT_QUERY,
)
from tenantguard.runtime.schema_code import CATALOG_SHADOWS_QUERY as _CATALOG_SHADOWS_QUERY
from tenantguard.runtime.schema_code import CHECK_NAME as _CHECK_NAME
from tenantguard.runtime.schema_code import CHECK_PREPARE as _CHECK_PREPARE
from tenantguard.runtime.schema_code import CODE_QUERY as _CODE_QUERY
from tenantguard.runtime.schema_code import CONFIG_QUERY as _CONFIG_QUERY
from tenantguard.runtime.schema_code import EXTENSION_FUNCTIONS_QUERY as _EXTENSION_QUERY
from tenantguard.runtime.schema_code import (
    FUNCTION_DEFINITIONS_QUERY as _FUNCTION_DEFINITIONS_QUERY,
)
from tenantguard.runtime.schema_code import FUNCTION_PATHS_QUERY as _FUNCTION_PATHS_QUERY
from tenantguard.runtime.schema_code import GLOBAL_HOMES_QUERY as _GLOBAL_HOMES_QUERY
from tenantguard.runtime.schema_code import INHERITS_QUERY as _INHERITS_QUERY
from tenantguard.runtime.schema_code import QUERY as _SCHEMA_CODE_QUERY
from tenantguard.runtime.schema_code import QUERY_BEFORE_14 as _SCHEMA_CODE_QUERY_BEFORE_14
from tenantguard.runtime.schema_code import REGISTRY_QUERY as _REGISTRY_QUERY
from tenantguard.runtime.schema_code import ROW_HOLDERS_QUERY as _ROW_HOLDERS_QUERY
from tenantguard.runtime.schema_code import SPANNING_QUERY as _SPANNING_QUERY
from tenantguard.runtime.schema_code import SQL_FUNCTIONS_QUERY as _SQL_FUNCTIONS_QUERY
from tenantguard.runtime.schema_code import (
    SQL_FUNCTIONS_QUERY_BEFORE_14 as _SQL_FUNCTIONS_QUERY_BEFORE_14,
)
from tenantguard.runtime.schema_code import STATEFUL_CODE_QUERY as _STATEFUL_CODE_QUERY
from tenantguard.runtime.schema_code import TENANT_PLACES_QUERY as _TENANT_PLACES_QUERY
from tenantguard.runtime.schema_code import TENANT_TYPES_QUERY as _TENANT_TYPES_QUERY
from tenantguard.runtime.schema_code import TRIGGER_QUERY as _TRIGGER_QUERY
from tenantguard.runtime.schema_code import VIEW_QUERY as _VIEW_QUERY
from tenantguard.runtime.schema_code import WATCH_CHANNEL as _WATCH_CHANNEL
from tenantguard.runtime.schema_code import WATCH_INSTALLED_QUERY as _WATCH_INSTALLED_QUERY
from tenantguard.runtime.schema_code import WATCH_NOTIFIES_QUERY as _WATCH_NOTIFIES_QUERY
from tenantguard.runtime.schema_code import WATCH_TABLE_QUERY as _WATCH_TABLE_QUERY
from tenantguard.runtime.schema_code import WATCH_VERSION_QUERY as _WATCH_VERSION_QUERY
from tenantguard.runtime.schema_code import WRITE_VIEW_QUERY as _WRITE_VIEW_QUERY
from tenantguard.runtime.schema_code import (
    cascades,
    catalog_check,
    catalog_homes,
    checked_foreign_keys,
    ddl_code,
    exact_domains,
    implicit_changers,
    inlined_functions,
    merged_by_table,
    path_functions,
    read_elsewhere,
    role_changers,
    role_changing_writes,
    run_unnamed,
    setting_code,
    spanning_keys,
    stateful_code,
    stateful_implicit,
    stored_kinds,
    tenant_column_types,
    tenant_places,
    tenant_registry,
    trigger_writes,
    unlistens_unnamed,
    unnamed_calls,
    view_writes,
)
from tenantguard.runtime.session import (
    is_control_statement,
    schema_calls,
)
from tenantguard.runtime.startup import (
    SERVER_RELIED_ON,
    _get_settings,
    lexes_standard,
    server_setting_problem,
    session_problem,
    startup_problem,
)
from tenantguard.runtime.tokens import inline_parameters
from tenantguard.runtime.values import (
    COPY_COLUMNS,
    COPY_FLAGS,
    COPY_TEXTS,
    _frozen,
    _table,
    column_names,
    ident,
    literal,
    no_uuid_value,
)

__all__ = ["GuardedConnection", "GuardedPool", "GuardedStatement", "connect", "create_pool"]

T = TypeVar("T")
P = ParamSpec("P")
M = TypeVar("M", bound=Callable[..., Any])
# what makes a call whose plan asks for more than asyncpg's call (`_then`, `_then_cursor`)
_Then: TypeAlias = (
    "Callable[[GuardedConnection, Plan, Any, str, tuple[Any, ...], dict[str, Any]], Any]"
)

_get_scope = _SCOPE.get
# asyncpg's own methods: what the guarded ones call once a statement is admitted
_execute = asyncpg.Connection.execute
_fetch = asyncpg.Connection.fetch
_fetchrow = asyncpg.Connection.fetchrow
_fetchval = asyncpg.Connection.fetchval
_PATH_QUERY = (
    "SELECT pg_catalog.current_schemas(true)::pg_catalog.text[], current_user::pg_catalog.text,"
    " pg_catalog.current_setting('search_path'), "
    # the settings the proof relies on, as the server's and the role's defaults give them
    # (ALTER DATABASE / ROLE … SET, postgresql.conf): `startup.server_setting_problem`
    + ", ".join(f"pg_catalog.current_setting('{name}')" for name in SERVER_RELIED_ON)
)
_TEMPORARY_QUERY = (
    "SELECT c.relname::pg_catalog.text FROM pg_catalog.pg_class c"
    " WHERE c.relnamespace = pg_catalog.pg_my_temp_schema()"
)
_cursor = asyncpg.Connection.cursor
_get_statement = asyncpg.Connection._get_statement  # type: ignore[attr-defined]
_check_open = asyncpg.Connection._check_open  # type: ignore[attr-defined]
_introspect_types = asyncpg.Connection._introspect_types  # type: ignore[attr-defined]
# the connection whose statement's types asyncpg is introspecting in this task (its own queries)
_INTROSPECTING: ContextVar[GuardedConnection | None] = ContextVar(
    "tenantguard_introspecting", default=None
)
# the connection whose `prepare()` is preparing a statement in this task (its types are checked
# again at each run of the statement, in the scope that runs it)
_PREPARING: ContextVar[GuardedConnection | None] = ContextVar("tenantguard_preparing", default=None)
# the catalog watch's channel, heard by every guarded session (`_tg_listening`)
_BACKEND_QUERY = "SELECT pg_catalog.pg_backend_pid()"
_LISTEN_WATCH = f'LISTEN "{_WATCH_CHANNEL}";'
_TYPED_ENTRIES = 1024  # statements whose parameter types were checked, per connection
# rounds a call's checks may take to bring the session to a known state (the catalog read again,
# a reset, the watch's count checked again): a migration committing DDL without pause made a
# pool lease's first statement read the catalog again and again for as long as it ran (h35C),
# and a state the loop did not handle spun without end (h34L). Past it: refused (enforce)
_SETTLE_ROUNDS = 8
# asyncpg's `reset()` is its `_reset()`, then its `get_reset_query()` sent with `execute`, in a
# timer: `GuardedConnection.reset` makes those steps itself, only while asyncpg's are these
_RESET_INLINE = asyncpg.Connection.reset.__code__.co_names == (
    "compat", "timeout", "_reset", "get_reset_query", "execute",
) and asyncpg.Connection._reset.__code__.co_names == (
    "_check_open", "_listeners", "clear", "_log_listeners", "_protocol", "is_in_transaction",
    "_top_xact", "_managed", "_loop", "call_exception_handler", "format", "execute",
)  # fmt: skip
# the driver's task while a reset the guard makes itself runs: no task is exempt (not None,
# which `asyncio.current_task()` is in a loop's callback)
_NO_TASK = object()
# the session's role and session user as the connection was opened (the startup packet's or the
# role's default `role` is RESET ROLE's value), put back by the pool's reset: PostgreSQL's RESET
# ALL leaves both alone, and a request's `SET ROLE`/`RESET ROLE`/`SET SESSION AUTHORIZATION`
# ran the next request as that role (round 31, h31b: as the login superuser, out of RLS)
_LOGIN_IDENTITY = "SET SESSION AUTHORIZATION DEFAULT;\nRESET ROLE;"
_IDENTITY_QUERY = "SELECT current_setting('session_authorization'), current_setting('role')"
# the columns named like the tenant column whose collation is nondeterministic (case- or
# accent-insensitive): `tenant_id = $1` matches other tenants' ids there
_LOOSE_COLLATION_QUERY = """
SELECT format('%I.%I.%I', n.nspname, c.relname, a.attname)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
WHERE a.attname = $1 AND NOT a.attisdropped AND a.attnum > 0 AND NOT co.collisdeterministic
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1
"""
# the relations that hold the tenant column ($1) or bear a name of the policy's tenant tables
# ($2), and the functions of those names (the policy may name one that hands out rows): a policy
# none of whose names is found, in a database whose tables hold the tenant column, guards
# nothing (`Policy(tenant_tables={"patient"})`, `{'"Patients"'}`)
_POLICY_NAMES_QUERY = """
SELECT c.relname::text, c.relname = ANY($2::text[]), a.attname IS NOT NULL,
       coalesce(a.attnotnull, false), c.relname = ANY($3::text[]), c.relkind IN ('v', 'm')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a
  ON a.attrelid = c.oid AND a.attname = $1 AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
  AND (c.relname = ANY($2::text[]) OR c.relname = ANY($3::text[]) OR a.attname IS NOT NULL)
UNION ALL
SELECT p.proname::text, true, true, false, false, false
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = ANY($2::text[]) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""
# the catalog reads in flight (`GuardedConnection._tg_catalog_read`), by guard, event loop,
# server, user, database and server settings; an entry lives as long as its read
_CATALOG_READS: dict[tuple[Any, ...], asyncio.Future[dict[str, list[Any]] | None]] = {}
# the rows of the catalog read's queries (`_tg_read_catalog_facts`) by server, user, database,
# startup settings, session path and policy names, with the catalog's fingerprint read just
# before them (`schema_code.CATALOG_FINGERPRINT_QUERY`): reused by a later read whose
# fingerprint is equal; the last _CATALOG_READ_ROWS_KEPT keys kept
_CATALOG_READ_ROWS: dict[tuple[Any, ...], tuple[object, dict[str, list[Any]]] | None] = {}
_CATALOG_READ_ROWS_KEPT = 32


def _keep_catalog_rows(
    key: tuple[Any, ...], kept: tuple[object, dict[str, list[Any]]] | None
) -> None:
    """`_CATALOG_READ_ROWS[key] = kept` (None: the key read once, nothing kept), the newest
    last, the oldest dropped past _CATALOG_READ_ROWS_KEPT."""
    _CATALOG_READ_ROWS.pop(key, None)
    _CATALOG_READ_ROWS[key] = kept
    while len(_CATALOG_READ_ROWS) > _CATALOG_READ_ROWS_KEPT:
        del _CATALOG_READ_ROWS[next(iter(_CATALOG_READ_ROWS))]


_DEALLOCATE_CHECK = f"DEALLOCATE {_CHECK_NAME}"
# `_tg_schema_code` of a connection that has not read the schema's code
_SCHEMA_CODE_UNREAD = ("(the schema's code was not read: a connection not made by tenantguard)",)
# a statement that may create or change schema code (DDL, or a DO block or function running it):
# the guard's connections read the catalog again (`_tg_catalog_stale`); a word in a string or a
# comment counts too (the cost of a catalog read, never a wrong trust)
_SCHEMA_CHANGE = lazy_pattern(r"(?i)(?<![\w$])(?:create|alter|drop|do|execute)(?![\w$])")
# `SELECT … INTO [TEMP] t` (and WITH … SELECT … INTO, TABLE … INTO) creates a table with no
# word of _SCHEMA_CHANGE (h39R: a temporary `countries`, every clinic's rows, shadowed the
# global table unread): an INTO that is not an INSERT's or a MERGE's counts as a schema change
_INTO = lazy_pattern(r"(?i)(?<![\w$])into(?![\w$])")
_WRITE_INTO = lazy_pattern(r"(?i)(?<![\w$])(?:insert|merge)\s+into(?![\w$])")


def _changes_schema(query: str) -> bool:
    """May the statement (or script) create, change or drop a relation? Read in the text: a
    word in a string or a comment counts too (a catalog read more, never one less)."""
    if _SCHEMA_CHANGE.search(query) is not None:
        return True
    if "into" not in query.lower():
        return False
    bare = without_comments(query)
    return len(_INTO.findall(bare)) > len(_WRITE_INTO.findall(bare))


# a statement that may end the session's LISTEN of the catalog watch's channel (UNLISTEN *,
# DISCARD ALL; a DO block's too): heard again before the next statement, with the catalog read
# again (h37R); a word in a string or a comment counts too. (A schema function running UNLISTEN
# is not seen: the catalog is then heard at the next reset or pool lease only)
_UNLISTENS = lazy_pattern(r"(?i)(?<![\w$])(?:unlisten|discard)(?![\w$])")


def _guarded(method: M, then: _Then) -> M:
    """asyncpg's `method` (execute, fetch, fetchval, fetchrow, cursor), each call checked first.

    The hot path decides a cached plain statement with at most one bound value to compare, in
    this one frame, and returns asyncpg's own call (no extra coroutine frame); anything else
    goes to `_tg_admit_args`, which decides everything, and `then` makes the call its plan
    asks for (the frozen arguments, the setting first). Keyword options are asyncpg's own,
    passed on as given (they cost a third of asyncpg's call: left out when there are none).
    """

    def guarded(self: GuardedConnection, query: str, *args: Any, **options: Any) -> Any:
        if not self._tg_fast or type(query) is not str:  # a str subclass may pose as a key
            return then(self, self._tg_admit_args(query, args), method, query, args, options)
        guard: Guard = self._tg_hot  # type: ignore[assignment]  # set with _tg_fast
        try:
            verdict = guard._cache[query]
        except KeyError:  # not seen yet
            return then(self, self._tg_admit_args(query, args), method, query, args, options)
        if not verdict.fast:
            return then(self, self._tg_admit_args(query, args), method, query, args, options)
        scope = _get_scope()
        # asyncpg's call's positional arguments (the connection, the query, the arguments) when
        # a uuid.UUID argument is frozen: unpacked once, with no copy of `args`
        call: tuple[Any, ...] | None = None
        if scope is None:  # outside tenant(): no value to compare, the setting is cleared
            if (guard._require_tenant and verdict.touches_tenant_tables) or verdict.expression_pin:
                return then(self, self._tg_admit_args(query, args), method, query, args, options)
            wanted = ""
        elif scope.checkable:
            wanted = scope.key  # type: ignore[assignment]  # checkable: a key
            if not self._tg_clean and self._tg_owner is not None and wanted != self._tg_owner:
                # another's state on the session: reset first (`_tg_switch`)
                return then(self, self._tg_admit_args(query, args), method, query, args, options)
            index = verdict.value_check
            if index >= 0:  # the one parameter that pins the tenant
                try:
                    value = args[index]
                except IndexError:
                    return then(
                        self, self._tg_admit_args(query, args), method, query, args, options
                    )
                kind = type(value)
                if kind is int:
                    if value != scope.number:
                        return then(
                            self, self._tg_admit_args(query, args), method, query, args, options
                        )
                elif kind is _UUID:
                    # mutable, and encoded by asyncpg after the check: its number is read
                    # once and compared, and the scope's own frozen UUID is sent in its place
                    try:
                        number = value.int
                    except AttributeError:
                        no_uuid_value(value)
                    if type(number) is not int or number != scope.uuid_number:
                        # another tenant's, or not a number
                        return then(
                            self, self._tg_admit_args(query, args), method, query, args, options
                        )
                    if index == 0:
                        call = (self, query, scope.frozen_key) + args[1:]  # noqa: RUF005  # faster
                    else:
                        call = (self, query, *args[:index], scope.frozen_key, *args[index + 1 :])
                elif kind is str:
                    if value != wanted and value != scope.value:
                        return then(
                            self, self._tg_admit_args(query, args), method, query, args, options
                        )
                elif kind is not _PgUUID or value != scope.frozen_key:
                    return then(
                        self, self._tg_admit_args(query, args), method, query, args, options
                    )
            elif index == _SEVERAL_VALUES:
                return then(self, self._tg_admit_args(query, args), method, query, args, options)
        else:
            return then(self, self._tg_admit_args(query, args), method, query, args, options)
        guard.fast_hits += 1
        if guard._full:
            guard.touch(query)
        setting = verdict.expression_pin or (verdict.needs_setting and wanted != self._tg_setting)
        if verdict.writes:
            # a sequence it advances: the pool's reset must run, and the state is the block's
            # that made the call, told again when it runs (`Wrote`: it may run after a reset)
            owner = owner_of(scope, verdict.touches_tenant_tables)
            self._tg_left(owner)
            wrote = Wrote(wanted if setting else None, owner)
            return then(
                self, wrote if call is None else Frozen(call[2:], wrote), method, query, args,
                options,
            )  # fmt: skip
        if setting:
            # a pin by the setting is ensured when the call runs, not now
            plan = wanted if call is None else Frozen(call[2:], wanted)
            return then(self, plan, method, query, args, options)
        if call is None:
            if options:
                return method(self, query, *args, **options)
            return method(self, query, *args)
        return method(*call, **options) if options else method(*call)

    guarded = functools.wraps(method)(guarded)  # asyncpg's name, doc and signature
    guarded.__qualname__ = f"GuardedConnection.{method.__name__}"
    guarded.__module__ = __name__
    return guarded  # type: ignore[return-value]  # the same signature


def _in_lease(
    method: Callable[Concatenate[GuardedConnection, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[GuardedConnection, P], Coroutine[Any, Any, T]]:
    """A guarded method that decides when it runs (executemany, fetchmany, prepare, the copies,
    reset: in the tenant() that awaits it), run only in the pool's lease it was called in
    (`GuardedConnection._tg_leased`): a call kept past the release would run in the session of
    the request holding the connection then."""

    def leased(
        self: GuardedConnection, /, *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, T]:
        lease: int = self._pool_release_ctr  # type: ignore[attr-defined]
        return self._tg_leased(lease, method(self, *args, **kwargs))

    leased.__name__, leased.__qualname__ = method.__name__, method.__qualname__
    leased.__doc__ = method.__doc__
    return leased


def _then(
    connection: GuardedConnection, plan: Plan, method: Callable[..., Coroutine[Any, Any, T]],
    query: str, args: tuple[Any, ...], options: dict[str, Any],
) -> Coroutine[Any, Any, T]:  # fmt: skip
    """asyncpg's `method` for a call whose check asked for more than running it: the frozen
    arguments, the setting first."""
    if type(plan) is Frozen:
        args, plan = plan.args, plan.plan
    call = method(connection, query, *args, **options)
    if plan is None:
        return call
    # the lease the call is made in: `_tg_then` runs it in that lease only
    return connection._tg_then(plan, call, connection._pool_release_ctr)  # type: ignore[attr-defined]


def _then_cursor(
    connection: GuardedConnection, plan: Plan, method: Callable[..., Any], query: str,
    args: tuple[Any, ...], options: dict[str, Any],
) -> Any:  # fmt: skip
    """asyncpg's cursor factory for a call whose check asked for more than making it: the
    frozen arguments; the setting before each of the cursor's round trips."""
    if type(plan) is Frozen:
        args, plan = plan.args, plan.plan
    factory = method(connection, query, *args, **options)
    return factory if plan is None else SettingCursorFactory(factory, connection, plan)


def _scoped_cursor(guarded: M) -> M:
    """The guarded `cursor`, whose factory keeps the scope it was made in (asyncpg's name,
    doc and signature, as `_guarded` keeps them)."""

    def cursor(self: GuardedConnection, query: str, *args: Any, **options: Any) -> Any:
        factory = guarded(self, query, *args, **options)
        return ScopedCursorFactory.made(factory, self, query)

    cursor = functools.wraps(guarded)(cursor)
    cursor.__qualname__ = guarded.__qualname__
    cursor.__module__ = __name__
    return cursor  # type: ignore[return-value]  # the same signature


class GuardedConnection(asyncpg.Connection):
    """An asyncpg connection that proves each statement before sending it."""

    __slots__ = ("_tg_aborted", "_tg_catalog_mark", "_tg_catalog_stale", "_tg_changed_schema", "_tg_check_due", "_tg_check_prepared", "_tg_clean", "_tg_configuring", "_tg_cursors", "_tg_ddl_code", "_tg_driver", "_tg_driver_task", "_tg_fast", "_tg_hot", "_tg_identity", "_tg_in_txn_set", "_tg_lexer_ok", "_tg_listening", "_tg_names_pending", "_tg_names_problem", "_tg_order_checked", "_tg_order_due", "_tg_owner", "_tg_pooled", "_tg_reset_due", "_tg_reset_kept", "_tg_role_changers", "_tg_role_unnamed", "_tg_schema_code", "_tg_setting", "_tg_setting_callers_refused", "_tg_setting_changers", "_tg_setting_everywhere", "_tg_setting_unnamed", "_tg_shadowed", "_tg_startup", "_tg_told", "_tg_typed", "_tg_unlistens", "_tg_unnamed", "_tg_unscoped_in_txn")  # fmt: skip

    _tg_guard: Guard | None = None  # set on the subclass `connect()`/`create_pool()` make

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tg_setting: str | None = None
        self._tg_fast = False  # the first statement reads the session's lexer setting
        # the guard, for the hot path (an instance slot: read faster than the class's
        # `_tg_guard`), set with `_tg_fast`
        self._tg_hot: Guard | None = None
        self._tg_clean = True
        # whose statements left the state `_tg_clean` tells of (see the module's doc)
        self._tg_owner: object = None
        # state owned by `UNSCOPED_OWNER` was left inside the transaction still open (the
        # request's own step, which its tenant's block takes on: `_tg_switch`)
        self._tg_unscoped_in_txn = False
        self._tg_in_txn_set = False  # the setting was set inside the open transaction
        self._tg_lexer_ok = False
        # a setting the guard relies on, given in the startup packet (no statement sets it)
        self._tg_startup = startup_problem(self)
        # the policy's names not checked against the catalog yet: nothing was there to check
        # them against (a database whose schema the patches have not built yet)
        self._tg_names_pending = False
        self._tg_names_problem = False  # `_tg_startup` is the names' problem: checked again
        # cursor name -> who declared it last on this connection (`_tg_cursor_uses`)
        self._tg_cursors: dict[str, tuple[str, object]] = {}
        # the database's functions that set the tenant setting (read with the schema code)
        self._tg_setting_changers: frozenset[str] = frozenset()
        # the schema's functions that may change the schema (`schema_code.ddl_code`)
        self._tg_ddl_code: frozenset[str] = frozenset()
        # those whose every call is refused: they set it and read under it, or run with it set
        # in their own configuration
        self._tg_setting_callers_refused: frozenset[str] = frozenset()
        # the functions that change the session's role (refused callers under an init= role)
        self._tg_role_changers: frozenset[str] = frozenset()
        # the role changers an operator, a cast, a domain's CHECK, a policy or a type runs: a
        # statement may call them where its text names none (`schema.name`)
        self._tg_role_unnamed: tuple[str, ...] = ()
        # the same of the functions that set or read the tenant setting under their own value
        # (`_tg_setting_callers_refused`)
        self._tg_setting_unnamed: tuple[str, ...] = ()
        # the schema's functions a statement's text calls by a built-in's name; None: some may
        # run where no name shows them (an operator's, a cast's: `schema_calls`)
        self._tg_unnamed: frozenset[str] | None = None
        # the database's code reads or sets the setting: it is set before every statement
        self._tg_setting_everywhere = False
        # the schema's functions that may change a setting where no text names them (read
        # from the catalog by `_tg_read_schema_code` before the application gets the connection;
        # until then, as on a connection that `asyncpg.connect(connection_class=…)` or
        # `asyncpg.create_pool` made, which never read it, no statement is plain)
        self._tg_schema_code: tuple[str, ...] = _SCHEMA_CODE_UNREAD
        # the schema's functions that leave session state where a read's text does not name
        # them (an operator's, a domain CHECK's, a policy's: `schema_code.stateful_implicit`):
        # the pool's reset is never skipped on this connection
        self._tg_reset_kept: tuple[str, ...] = ()
        # what was read of the schema's code may be out of date: a statement that may change it
        # ran on one of the guard's connections (read again as the pool hands this one out)
        self._tg_catalog_stale = False
        self._tg_shadowed = False  # _tg_startup says a temporary relation shadows a name
        # such a statement ran on this connection since its last reset (the others are told
        # again when it has ended: a reader in between saw the catalog before it)
        self._tg_changed_schema = False
        # the catalog watch's count read with the catalog (`schema_code.CATALOG_WATCH`; None:
        # no watch installed, DDL from other sessions is not seen until the catalog is read
        # again), and whether it is to be checked before the next statement (from the pool's
        # release, or a reset(), to the first statement after it: `_tg_catch_up`)
        self._tg_catalog_mark: str | None = None
        # the session LISTENs to the watch's channel (`schema_code.WATCH_CHANNEL`): another
        # session's DDL marks the catalog stale when it commits (`_process_notification`),
        # before the next statement of a connection that is never reset (h37R)
        self._tg_listening = False
        # a notification on the watch's channel was read (`_process_notification`): anyone
        # may send one (NOTIFY needs no privilege), so the next call reads the watch's mark
        # first, and the catalog only if the mark moved (h37V: a flood of forged ones made
        # every call read the whole catalog, 20-40 ms each)
        self._tg_told = False
        # the statements run on another server process than the startup told: a pooler sits
        # between (`_tg_apply_catalog`). In transaction pooling each transaction may run on
        # another process, whose session another client set: what the guard set before is
        # never trusted there (`_tg_set`: h38R, clinic 2's setting read by clinic 1)
        self._tg_pooled = False
        # the catalog's read failed in the application's failed transaction: read after it
        # (`_tg_in_failed_transaction`)
        self._tg_aborted = False
        # schema code a statement runs unnamed ends the LISTEN (`schema_code.
        # unlistens_unnamed`): after each statement, the LISTEN made again and the watch's
        # mark read before the next call (h37V)
        self._tg_unlistens: tuple[str, ...] = ()
        # a statement proven by a table's column order (`RuntimeVerdict.by_order`) waits for
        # the watch's mark read again (`_tg_order_due`); read, and the same as the catalog's
        # (or the catalog read again), the call's next admission runs it (`_tg_order_checked`)
        self._tg_order_due = False
        self._tg_order_checked = False
        self._tg_check_due = False
        # the check's statement is prepared on the server (`schema_code.CHECK_PREPARE`)
        self._tg_check_prepared = False
        # the pool's reset deferred to the next statement's round trip (`reset`)
        self._tg_reset_due = False
        # the driver's own statements are in flight (asyncpg's reset, a pool's reset=): set
        # when they are done; only the task running them passes unchecked (by identity: a
        # callback scheduled from it runs in a copy of its context, but not in its task)
        self._tg_driver: asyncio.Event | None = None
        self._tg_driver_task: object = None
        # the task running the pool's init=/setup= on this connection (see `_tg_configure`)
        self._tg_configuring: asyncio.Task[Any] | None = None
        # query -> asyncpg's statement state whose parameter types were found exact (for the
        # pins of the verdict then: forgotten when the guard's cache is cleared)
        self._tg_typed: dict[str, object] = {}
        # who the session runs as when the pool hands it out (`_tg_keep_identity`): the reset
        # puts it back (RESET ALL leaves `role` and `session_authorization` alone)
        self._tg_identity = _LOGIN_IDENTITY
        guard = type(self)._tg_guard
        if guard is not None:
            guard._connections.add(self)

    def _tg_forget_types(self) -> None:
        """Forgets which statements' parameter types were found exact: the pins they were
        checked for are another policy's (`Guard.clear_cache`)."""
        self._tg_typed.clear()

    @property
    def tenantguard(self) -> Guard:
        """The guard of this connection (its counters, mode and cache)."""
        guard = type(self)._tg_guard
        if guard is None:
            guard = type(self)._tg_guard = _guard_for(None, Mode.ENFORCE, {})
            guard._connections.add(self)
        return guard

    # -- admission: the check, and whether the setting must be set first ---------------------

    def _tg_admit_args(self, query: object, args: tuple[Any, ...]) -> Plan:
        """`_tg_admit_slow` of one call's arguments, each uuid.UUID in them frozen first (see
        `_frozen`): then the plan carries the arguments to send (`Frozen`)."""
        for value in args:
            if type(value) is _UUID:
                frozen = _frozen(args)
                return Frozen(frozen, self._tg_admit_slow(query, (frozen,)))
        return self._tg_admit_slow(query, (args,))

    def _tg_admit_slow(self, query: object, rows: Iterable[Sequence[object]]) -> Plan:
        if (driver := self._tg_driver) is not None:
            if asyncio.current_task() is self._tg_driver_task:
                # asyncpg's or the pool's own statement: never blocked, not counted, if it
                # runs in this driver run (`_tg_resolve`: the coroutine may be kept for later)
                return Driver(driver, query, tuple(rows))
            # the application's call, made while the driver's statements run: checked when
            # it is awaited, once they are done, against the session they leave
            return Later(query, tuple(rows))
        if (
            ((self._tg_check_due or self._tg_reset_due) and not self.is_in_transaction())
            or self._tg_catalog_stale
            or (self._tg_told and not self.is_in_transaction())
        ) and not self._tg_in_failed_transaction():
            # the first statement since the pool's release or a reset(): the catalog checked
            # (and the reset deferred run) in the round trip before it, then checked again;
            # or since a statement that may have changed the schema (h33r: a trigger a
            # function call made ran unread by the lease's next INSERT): the catalog read again
            return Later(query, tuple(rows), catch_up=True)
        guard = self.tenantguard
        if guard.mode is Mode.OFF and not guard._set_tenant_setting:
            return self._tg_unseen()
        if not self._tg_fast:
            self._tg_refresh()
        scope = _get_scope()
        unscoped = _unscoped_here(scope)
        if not self._tg_lexer_ok and guard.mode is not Mode.OFF and not unscoped:
            problem, hint = session_problem(self) or ("the session changed", "")
            guard.violation(f"{problem}, so no statement can be proven", hint, query)
        if not self._tg_clean and self._tg_switch(scope, guard, query):
            return Later(query, tuple(rows), reset=True)
        verdict = guard.check(query, rows)
        if verdict is None:
            return self._tg_unseen()
        if verdict.opens_transaction:
            # state an unscoped() step left so far was left before this transaction
            self._tg_unscoped_in_txn = False
        if self._tg_unlistens:
            # any statement may run the code that ends the LISTEN (a trigger, a default, a
            # view, a policy): made again, and the mark read, before the next call (DDL
            # committed meanwhile is seen there; no call of such a database is on the hot path)
            self._tg_listening = False
            self._tg_told = True
        if verdict.by_order and self._tg_catalog_mark is not None and guard.mode is not Mode.OFF:
            # proven by a column order another session's DDL may have moved, with no
            # notification yet (in the instant after its commit, or held by PostgreSQL while
            # this session's transaction is open): the watch's mark read first (h37R)
            if not self._tg_order_checked:
                self._tg_order_due = True
                return Later(query, tuple(rows), catch_up=True)
            self._tg_order_checked = False  # this call's
        if verdict.cursors:
            self._tg_cursor_uses(verdict.cursors, scope, unscoped, query)
        if (
            guard._role_kept
            and verdict.calls & self._tg_role_changers
            and not unscoped
            and guard.mode is not Mode.OFF
        ):
            names = ", ".join(sorted(verdict.calls & self._tg_role_changers))
            guard.violation(
                f"the statement calls {names}, which changes the session's role or session "
                "user, which the pool's init= set: the request's later statements would run "
                "as another role, with its rights and out of the Row-Level Security that "
                "contains the init's role",
                "leave the role the pool's init= sets in requests; call it in maintenance "
                "code (`with unscoped(reason):`)",
                query,
            )
        if (
            (self._tg_setting_unnamed or (guard._role_kept and self._tg_role_unnamed))
            and not unscoped
            and guard.mode is not Mode.OFF
            and not (type(query) is str and is_control_statement(query))
        ):
            self._tg_refuse_unnamed(guard, query)
        if self._tg_setting_everywhere and not unscoped and guard.mode is not Mode.OFF:
            if self._tg_setting_changers or self._tg_setting_callers_refused:
                self._tg_setting_calls(query, verdict, guard)
            # (a script reading no tenant table nor the setting passes untouched: DESIGN §3)
            if verdict.scripted and (verdict.touches_tenant_tables or verdict.expression_pin):
                guard.violation(
                    "a script of several statements, on a database whose code reads or sets "
                    f"the tenant setting ({guard._tenant_setting}): the guard sets it to "
                    "tenant() before each call, and a trigger, a default or a function one "
                    "statement runs may change it before the next reads it",
                    "send the statements one by one (a transaction keeps them together)",
                    query,
                )
        if verdict.expression_pin and guard.mode is not Mode.OFF:
            if scope is None:
                _no_block_for_setting(guard, query)
            elif scope.key is None:  # unscoped(): the setting would be '' (h36C)
                guard.violation(
                    f"the statement is pinned by the tenant setting ({guard._tenant_setting}) "
                    "inside unscoped(), which holds no tenant: the guard sets the setting to '' "
                    "for it, so it reads no tenant's rows (no row, or an error casting '')",
                    "pin it by a parameter (`tenant_id = $1`) in maintenance code, or make "
                    "the call inside `with tenant(id):`",
                    query,
                )
        wanted = None
        if guard._set_tenant_setting or verdict.expression_pin or self._tg_setting_everywhere:
            target = scope.key if scope is not None and scope.key is not None else ""
            # a pin by the setting is ensured when the call runs: another may run first
            if verdict.expression_pin or target != self._tg_setting:
                wanted = target
            if (
                self._tg_pooled
                and type(query) is str
                and not self.is_in_transaction()
                and is_control_statement(query)
            ):
                # behind a pooler, a lone BEGIN outside a transaction is sent without it: set
                # there it may be another server process's; the statements in the transaction
                # set it in it (a script with more than control statements still needs it)
                wanted = None
        # on a database whose schema code may change a setting where the text does not name
        # it (`runtime.schema_code`), no statement is plain
        plain = verdict.plain and not self._tg_schema_code
        if verdict.writes:  # a sequence it advances: the pool's reset must run (DISCARD SEQUENCES)
            self._tg_dirty(scope, verdict.touches_tenant_tables)
        if plain and not verdict.ends_transaction:
            if verdict.opens_transaction:
                # through `_tg_then`, which runs it in its pool lease only (`_tg_released`); a
                # BEGIN reverts nothing (`ending`): what the guard knows of the setting stays
                return Forget(wanted, True, ending=True)
            if verdict.writes:  # told again when it runs (`Wrote`)
                return Wrote(wanted, owner_of(scope, verdict.touches_tenant_tables))
            return wanted
        # one COMMIT, ROLLBACK, ROLLBACK TO…: sent even when the setting cannot be set before
        # it, in a failed transaction (`_tg_forget`)
        closing = verdict.ends_transaction and type(query) is str and is_control_statement(query)
        if plain and not self._tg_in_txn_set:
            # the end of a transaction reverts a value set inside it, which the guard may set
            # after this call is made and before it runs: decided when it runs
            return Forget(wanted, True, ending=True, closing=closing)
        # after this statement the setting's value is unknown (a rollback reverts what the
        # transaction set; anything else may change it): forgotten now, and again when it is
        # sent (its call may be kept and awaited after others set the setting again), so that
        # the statements after it set it again
        self._tg_fast = False
        # outside any block, state of a statement that read tenant tables is no block's to
        # keep: a function of the schema may read them where its text does not show it
        # (helper h33c: `set_config('my.stash', all_names(), false)`, a PL/pgSQL all_names())
        tenant_rows = verdict.touches_tenant_tables or (
            scope is None and not plain and schema_calls(verdict.calls, self._tg_unnamed)
        )
        if not plain:
            self._tg_dirty(scope, tenant_rows)
        if (
            not verdict.plain
            and type(query) is str
            and (_changes_schema(query) or verdict.calls & self._tg_ddl_code)
        ):
            self._tg_changed_schema = True
            guard.catalog_changed()
            if verdict.calls & self._tg_ddl_code:
                # the code may have run UNLISTEN or DISCARD too: the LISTEN made again with
                # the catalog's read (one statement more, against the read's 20-40 ms; h37V)
                self._tg_listening = False
        if not verdict.plain and type(query) is str and _UNLISTENS.search(query) is not None:
            # the LISTEN made again, the catalog read again (DDL meanwhile was not heard)
            self._tg_listening = False
            self._tg_catalog_stale = True
        self._tg_setting = None
        # whose state it leaves, told when it runs (it may be awaited in another block)
        return Forget(wanted, plain, owner=owner_of(scope, tenant_rows), closing=closing)

    def _tg_refuse_unnamed(self, guard: Guard, query: object) -> None:
        """Refuses a statement on a database where an operator, a cast, a domain's CHECK, a
        policy or a type runs a function that a statement naming it is refused for (it runs as
        another role, or under its own tenant setting), where no statement's text names it
        (helper h33l: `SELECT 1 || 1` over `CREATE OPERATOR ||` read every clinic's names as
        the superuser, or clinic 2's under its `SET app.tenant_id = '2'`)."""
        names = (*self._tg_setting_unnamed, *(self._tg_role_unnamed if guard._role_kept else ()))
        guard.violation(
            f"the schema's {', '.join(names)} runs as another role or under its own tenant "
            "setting, and an operator, a cast, a domain's CHECK, a policy or a type runs it "
            "where no statement names it: any statement may read other tenants' rows",
            "drop the operator or cast over such a function (or its role or setting "
            "configuration, its SECURITY DEFINER); run maintenance in `with unscoped(reason):`",
            query,
        )

    def _tg_setting_calls(self, query: object, verdict: RuntimeVerdict, guard: Guard) -> None:
        """On a database whose code reads or sets the tenant setting: refuses a call of a
        function that sets it where the statement (or script) also reads it, or of one that
        reads under the value it was given (round 22, helpers 103, 106, 107). The calls are the
        verdict's (`guard.called_names`: outside strings and comments, as PostgreSQL names)."""
        called = verdict.calls & (self._tg_setting_changers | self._tg_setting_callers_refused)
        if not called:
            return
        refused = called & self._tg_setting_callers_refused
        if refused or verdict.scripted or verdict.expression_pin:
            names = ", ".join(sorted(refused or called))
            guard.violation(
                f"the statement calls {names}, which sets the tenant setting "
                f"({guard._tenant_setting}), where it also reads that setting: it would read "
                "the tenant the call names, not the request's",
                "call it in a statement of its own (the guard sets the setting to tenant() "
                "again before the next statement), or inside `with unscoped(reason):`",
                query,
            )

    def _tg_cursor_uses(
        self,
        uses: tuple[tuple[str, str], ...],
        scope: Scope | None,
        unscoped: bool,
        query: object,
    ) -> None:
        """A cursor holds the rows of the tenant it was declared for, as long as it is open (a
        `WITH HOLD` one past its transaction, on a connection that serves request after
        request): FETCH and MOVE read only a cursor declared on this connection under the same
        tenant() (round 22). One whose declaration the guard did not see (a function's
        refcursor, a portal of asyncpg's) is refused too; inside unscoped() anything goes,
        and a cursor declared there is no tenant's."""
        if unscoped:
            owner: tuple[str, object] = ("in unscoped()", None)
        elif scope is None:
            owner = ("outside tenant()", None)
        else:  # a value that is no tenant is nobody else's
            owner = ("tenant", scope.key if scope.key is not None else id(scope))
        cursors = self._tg_cursors
        if cursors and not self.is_in_transaction():
            # a cursor declared without HOLD ends with its transaction (one WITH HOLD is refused
            # outside unscoped(), where it is no tenant's: FETCH it there)
            cursors.clear()
        for kind, name in uses:
            if kind.startswith("declare"):
                # recorded when the call is made, not when it has run: a DECLARE that is never
                # sent (prepare()), fails (the name is taken) or follows a failing statement
                # would hand the name's open cursor to this tenant — so a name declared twice
                # is nobody's until the transaction ends (round 22, helper 103)
                cursors[name] = _CONTESTED if name in cursors else owner
                continue
            declared = cursors.get(name)
            if unscoped or declared == owner:
                continue
            guard = self.tenantguard
            if guard.mode is Mode.OFF:
                continue
            if declared is None:
                why = (
                    f"cursor {name!r} was not declared on this connection through the guard"
                    if name
                    else "the statement's cursor cannot be read"
                )
            elif declared is _CONTESTED:
                why = (
                    f"cursor {name!r} was declared twice in this transaction: which declaration "
                    "holds the name cannot be told"
                )
            elif declared[0] == "tenant":
                why = f"cursor {name!r} was declared for another tenant"
            else:
                why = f"cursor {name!r} was declared {declared[0]}"
            guard.violation(
                "FETCH/MOVE reads a cursor's rows, which are the rows of the tenant it was "
                f"declared for: {why}",
                "declare the cursor in the same tenant() block that fetches from it (and close "
                "it there), or use `conn.cursor()`",
                query,
            )

    def _check_open(self) -> None:
        """asyncpg's check, made as each call starts running (execute, fetch*, executemany,
        prepare…; cursors prepare in `_get_statement`), with the session's lexer read again
        when what the guard knows of it is not current (`_tg_lexer_now`)."""
        if not self._tg_fast and self._tg_driver is None:
            self._tg_lexer_now()
        _check_open(self)

    def _tg_lexer_now(self) -> None:
        """Refuses a statement about to run in a session that no longer lexes strings as the
        guard does. Its call was checked when it was made; a call kept and awaited after a
        statement the guard did not prove (mode off, `unscoped()`) turned
        standard_conforming_strings off would run text the server reads otherwise than it
        was proven (`'a\\'` ends elsewhere). Only read when `_tg_fast` is off: it is on only
        while the lexer is known to be the guard's."""
        guard = type(self)._tg_guard
        if guard is None or guard._mode is Mode.OFF:
            return
        if self._tg_startup is None and lexes_standard(self):
            return
        if _unscoped_here(_get_scope()):
            return
        self._tg_lexer_ok = False
        problem, hint = session_problem(self) or ("the session changed", "")
        guard.violation(
            f"{problem} when the call ran: the server would not read its statement as the "
            "guard proved it",
            hint,
            "(a call made before the session's lexer changed)",
        )

    def _tg_unseen(self) -> Forget:
        """The plan of a statement the guard did not look at (mode off, or not SQL text in
        report mode): it may change the tenant setting or the lexer's settings, so what the
        guard knows of the session is forgotten now and again when it runs (it may be awaited
        after the guard is on again and has learned the session anew)."""
        self._tg_dirty(_get_scope())
        self._tg_fast = False
        self._tg_setting = None
        return UNSEEN

    def _tg_dirty(self, scope: Scope | None, tenant_rows: bool = False) -> None:
        """The statement admitted may leave state in the session (`_tg_clean`): the state of
        the block it runs in (`_tg_owner`; outside any block, of whoever left it before,
        unless it reads or writes tenant tables: `OUTSIDE_OWNER`)."""
        self._tg_left(owner_of(scope, tenant_rows))

    def _tg_left(self, owner: object) -> None:
        """`owner`'s statement left state on the session (None: one of no block's that
        touched no tenant table, such as a worker's SET at start-up: the state's owner stays).
        State of two blocks (a call kept and awaited after another block's, a statement made
        with the guard off) is owned by neither: reset before any tenant's next statement
        (helper h32h)."""
        if owner is not None:
            if self._tg_clean or self._tg_owner is None or self._tg_owner == owner:
                if owner is UNSCOPED_OWNER:
                    # in the open transaction, all of it (`_tg_switch`); a BEGIN sent after it
                    # says it was not (`_tg_admit_slow`)
                    in_txn = self.is_in_transaction()
                    self._tg_unscoped_in_txn = in_txn and (
                        self._tg_clean or self._tg_owner is not owner or self._tg_unscoped_in_txn
                    )
                self._tg_owner = owner
            else:
                self._tg_owner = MIXED_OWNER
        self._tg_clean = False

    def _tg_switch(self, scope: Scope | None, guard: Guard, query: object) -> bool:
        """A statement of one tenant() on a connection whose session holds state another
        block's statements left since its last reset (round 32, h32b): a setting set_config()
        set (clinic 1's patients' names in `my.stash`), a sequence's `lastval()`/`currval()`
        after a write, a TEMP table an `unscoped()` job filled with every clinic's rows — the
        server hands it to this tenant's statements. A pool resets each connection it takes
        back; nothing resets a connection of `connect()` (or a pooled one within a lease)
        between two tenants' work, so it is reset here first, as a pool's release would
        (True: `_tg_after_driver` does it). In a transaction, which a reset would end, the
        statement is refused — unless it ends the transaction, or the state is an `unscoped()`
        block's alone: a request's own trusted step in its transaction (a lookup, an audit
        row), whose state the tenant's block takes on from then (a false alarm of the first
        version). State of statements outside any block that touched tenant tables
        (`OUTSIDE_OWNER`) or of several blocks (`MIXED_OWNER`) is nobody's to take on."""
        owner = self._tg_owner
        if owner is None or scope is None or not scope.keyed or scope.key == owner:
            return False
        if self._tg_configuring is not None:
            return False  # a pool's init= running
        if guard.mode is Mode.OFF:
            return False
        if not self.is_in_transaction():
            return True
        if type(query) is str and is_control_statement(query):
            # COMMIT, ROLLBACK, SAVEPOINT… (and LISTEN c, NOTIFY c, 'literal'): they read
            # nothing of the session, and refused they left the transaction open (helper h32h:
            # the COMMIT of a tenant's transaction after an unscoped() step in it); the next
            # statement is checked again (reset first once the transaction ends)
            return False
        if owner is UNSCOPED_OWNER and self._tg_unscoped_in_txn:
            self._tg_owner = scope.key
            return False
        # (an unscoped() job's state from before the transaction is no step of it: a worker's
        # nightly job left a TEMP table of every clinic's rows, read by clinic 2's block in a
        # transaction opened outside any block, h40R)
        left = (
            "several blocks'"
            if owner is MIXED_OWNER
            else "no tenant() block's"
            if owner is OUTSIDE_OWNER
            else "an unscoped() block's (made before this transaction)"
            if owner is UNSCOPED_OWNER
            else "another tenant's"
        )
        guard.violation(
            f"this transaction passes from one tenant's work to another's, and the session "
            f"holds state {left} statements left (a setting, a sequence's lastval(), a TEMP "
            "table): the server would hand it to this tenant's statements",
            "commit one tenant's work before the next tenant's starts: the connection is then "
            "reset before the next tenant's first statement (a pooled one too, within a lease)",
            query,
        )
        self._tg_owner = None  # report mode: said once, at the switch
        return False

    async def _tg_ready(self) -> None:
        """Before the checks of a call made in one go (the copy methods): the driver's
        statements done, and the connection reset if the call's tenant finds another's state
        on it (`_tg_switch`)."""
        await self._tg_settled()
        await self._tg_catch_up()
        if not self._tg_clean and self._tg_switch(_get_scope(), self.tenantguard, "(COPY)"):
            await self.reset()
            await self._tg_catch_up()

    def _tg_refresh(self) -> None:
        """Forgets the setting's value and re-reads how the session lexes strings."""
        self._tg_lexer_ok = self._tg_startup is None and lexes_standard(self)
        self._tg_setting = None
        self._tg_in_txn_set = False
        self._tg_hot = self.tenantguard
        # on a database whose code reads or sets the setting, every call goes by
        # `_tg_admit_slow`: the setting set before each, a script or a setter's call weighed
        # (helper 110: a cached verdict's hot path skipped both)
        self._tg_fast = (
            self._tg_lexer_ok
            and not self._tg_schema_code
            and not self._tg_setting_everywhere
            and not self._tg_role_unnamed
            and not self._tg_setting_unnamed
            and not self._tg_check_due
            and not self._tg_reset_due
            and not self._tg_unlistens
            and not self._tg_told  # a notification read while the driver's statements ran
            # a tenant column whose scale rounds an int tenant: every call's tenant is checked
            # against it (`Guard.check`), not only an odd str tenant's
            and not self.tenantguard._stored_rounds
        )

    async def _tg_set(self, value: str) -> None:
        guard = self.tenantguard
        self._tg_setting = None  # a cancelled or failed round trip leaves the value unknown
        if self._tg_pooled and value and not self.is_in_transaction():
            # (`_tg_then` runs its calls in a transaction of their own instead: `_tg_pooled_call`)
            guard.violation(
                "the connection goes through a connection pooler: in transaction pooling the "
                "statement may run on another server process than the tenant setting set "
                "before it, whose session another client set (another tenant's rows)",
                "run it inside a transaction (`async with conn.transaction():`), where the "
                "guard sets the setting on the process that runs the statement; or connect "
                "the guarded application directly (or through session pooling)",
                "(the tenant setting, set before a statement outside a transaction)",
            )
        # the simple protocol costs the client least; the value is a quoted literal
        await _execute(
            self, f"SELECT set_config({guard._setting_literal}, {literal(value)}, false)"
        )
        guard.setting_syncs += 1
        if self._tg_pooled and not self.is_in_transaction():
            # behind a pooler, the next statement outside a transaction may run on another
            # server process: the setting is set again before it (kept within a transaction,
            # which one process runs to its end)
            return
        self._tg_setting = value
        self._tg_in_txn_set = self.is_in_transaction()

    async def _tg_then(self, plan: Plan, call: Coroutine[Any, Any, T], lease: int) -> T:
        """Runs `call` once the setting holds what `plan` asks (checked now: the coroutine
        may be awaited after others that changed it), in the pool's `lease` it was made in
        (`_tg_same_lease`)."""
        pooled: str | None = None  # the setting to set in a transaction of the call's own
        try:
            if lease != self._pool_release_ctr:  # type: ignore[attr-defined]
                self._tg_released()
            if type(plan) is Later or type(plan) is Driver:
                plan = await self._tg_resolve(plan)
            if type(plan) is Wrote:
                self._tg_left(plan.owner)
                plan = plan.value
            if type(plan) is Forget:
                await self._tg_forget(plan)
            elif plan is not None and plan != self._tg_setting:
                if self._tg_pooled and plan and not self.is_in_transaction():
                    pooled = plan  # type: ignore[assignment]  # a str: the others are out
                else:
                    await self._tg_set(plan)  # type: ignore[arg-type]  # a str: the others are out
        except BaseException:
            call.close()  # never started: nothing reached the server
            raise
        if pooled is not None:
            return await self._tg_pooled_call(pooled, call)
        try:
            result = await call
        except BaseException:
            # it did not run as planned (another task's operation was in progress, it was
            # cancelled…): a statement may have run between the setting and this call (a
            # ROLLBACK reverting it: round 22, helper 103), so what the guard knew is forgotten
            self._tg_setting = None
            self._tg_fast = False
            raise
        if self._tg_cursors and not self.is_in_transaction():
            self._tg_cursors.clear()  # a transaction ended: its cursors with it
        return result

    async def _tg_pooled_call(self, value: str, call: Coroutine[Any, Any, T]) -> T:
        """Runs `call` (a plain statement, or a write: `_tg_then`) on a connection behind a
        pooler, outside a transaction, in a transaction of its own that first sets the tenant
        setting (for that transaction only): a transaction-mode pooler runs a transaction on
        one server process, where two statements outside one may run on two, the second in a
        session another client set to another tenant (h38R: 196 of 300 reads of clinic 1 by
        the setting returned clinic 2's rows while another client set it)."""
        self._tg_setting = None
        guard = self.tenantguard
        try:
            await _execute(
                self, f"BEGIN; SELECT set_config({guard._setting_literal}, {literal(value)}, true)"
            )
        except BaseException:
            call.close()
            await self._tg_end_own_transaction()
            raise
        guard.setting_syncs += 1
        try:
            result = await call
        except BaseException:
            self._tg_fast = False
            await self._tg_end_own_transaction()
            raise
        await _execute(self, "COMMIT")
        return result

    async def _tg_end_own_transaction(self) -> None:
        """Rolls back the transaction `_tg_pooled_call` opened; when that fails (the call was
        cancelled mid-way, the connection is lost), the connection is ended: left open, the
        application's next statements would run in a transaction it never commits."""
        if self.is_closed() or not self.is_in_transaction():
            return
        try:
            await _execute(self, "ROLLBACK")
        except BaseException:
            self.terminate()
            raise

    def _tg_released(self) -> None:
        """Refuses a call made before the pool's release of the connection and run after it
        (a coroutine kept, or handed to a task, past the end of the `async with
        pool.acquire()`): it would run in the session of whoever holds the connection now. A
        call the guard sends through here changes the session or its transaction (not plain,
        or a transaction's start or end): a kept ROLLBACK ended the next request's
        transaction, its first writes lost while its COMMIT passed; a kept BEGIN put the next
        request's writes in a transaction the pool's reset rolled back (round 31, h31b)."""
        self.tenantguard.violation(
            "a call made on a pooled connection before it was released runs after the release, "
            "in the session of the request that holds the connection now (or the next one): "
            "it would change that request's session or transaction",
            "await each call before the end of `async with pool.acquire()`",
            "(a call kept past the pool's release)",
        )

    async def _tg_leased(self, lease: int, call: Coroutine[Any, Any, T]) -> T:
        """`call` (a guarded method deciding when it runs: executemany, fetchmany) run only in
        the pool's `lease` it was made in (`_tg_released`)."""
        if lease != self._pool_release_ctr:  # type: ignore[attr-defined]
            try:
                self._tg_released()
            except BaseException:
                call.close()
                raise
        return await call

    async def _tg_read_schema_code(self) -> None:
        """`_tg_read_catalog_facts`, whose failure (a call cancelled or timed out while it
        ran, the server's error) leaves the catalog to read again before the next statement:
        the callers mark it read (`_tg_catalog_stale`) before reading, and a read cancelled
        half-way left the facts of before the DDL that asked for it, trusted (h39R: the view
        `pv` replaced by one passing every clinic's rows as clinic 1's; clinic 1's
        `asyncio.wait_for(conn.fetch(…), 0.0005)` timed out in the read the watch's
        notification asked for, and its next read of pv returned Ana, Bruno and Carla)."""
        try:
            await self._tg_read_catalog_facts()
        except BaseException:
            self._tg_catalog_stale = True
            self._tg_fast = False
            raise

    async def _tg_read_catalog_facts(self) -> None:
        """Reads what the catalog says that the statements' text does not: which of the
        schema's functions may change a setting where no statement's text names them
        (`runtime.schema_code`: if any, no statement is plain on this connection — the setting
        is set again before each statement it pins, and the pool's release resets the
        session; said once per guard, in a warning), what may leave session state, and the
        facts a policy written by hand lacks (keys checked across tenants, extensions' C
        functions, SQL functions' bodies, the tenant registry, foreign-key actions)."""
        guard = self.tenantguard  # read in "off" mode too: the mode may be changed later
        column = guard.policy.tenant_column

        async def read() -> dict[str, list[Any]]:
            version = self.get_server_version().major
            before_14 = version < 14
            found: dict[str, list[Any]] = {
                "loose": [],
                "mark": [None],
                "broken": [False],
                "outdated": [False],
            }
            # first: DDL committed after it changes the count, and the next check reads again
            if await _fetchval(self, _WATCH_INSTALLED_QUERY):
                found["mark"] = [await _fetchval(self, _WATCH_VERSION_QUERY)]
                # counted but not told (a watch installed before h37R): said, not silent
                found["outdated"] = [not await _fetchval(self, _WATCH_NOTIFIES_QUERY)]
            else:  # the table without its triggers (a restored dump): said, not silent
                found["broken"] = [bool(await _fetchval(self, _WATCH_TABLE_QUERY))]
            # the process running the statements: another than the startup's behind a pooler
            found["backend"] = [await _fetchval(self, _BACKEND_QUERY)]
            # what the reader's startup told: the rows are shared by the connections reading
            # together (`_tg_catalog_read`), each told its own (h38R: a direct pool of
            # min_size 4 was said pooled)
            found["told"] = [self.get_server_pid()]
            # the session's real path: the role's and database's settings (ALTER ROLE /
            # DATABASE … SET search_path) apply to every session, unseen by startup settings
            path_row = await _fetchrow(self, _PATH_QUERY)
            if path_row is not None:
                found["path"], found["user"] = [path_row[0]], [path_row[1]]
                found["setting"] = [path_row[2]]
                found["relied"] = [dict(zip(SERVER_RELIED_ON, path_row[3:], strict=True))]
            global_names = sorted({*guard.policy.global_tables, *guard.policy.global_homes})
            policy = guard.policy
            # the rows of the catalog's queries, read before on this server, database, user,
            # session path and settings for the same names, are read again only when the
            # catalog's fingerprint, read now, differs from the one read just before them
            # (`schema_code.CATALOG_FINGERPRINT_QUERY`): a connect then reads 2 rows, not 19
            # queries' (~35 ms of a new backend's CPU). The first read of a key reads no
            # fingerprint and keeps nothing (a key read once, as a test's database copy is,
            # costs nothing more): the second keeps its rows. Not inside a transaction (its
            # own uncommitted DDL), nor before PostgreSQL 11 (hashtextextended)
            key: tuple[Any, ...] | None = None
            fingerprint: object = None
            if version >= 11 and not self.is_in_transaction():
                key = (
                    *self._tg_server_key(),
                    tuple(tuple(v) if isinstance(v, list) else v for v in path_row or ()),
                    column,
                    tuple(sorted(policy.tenant_tables)),
                    tuple(sorted(policy.global_tables)),
                    tuple(global_names),
                )
                if key in _CATALOG_READ_ROWS:
                    fingerprint = await _fetchval(self, _CATALOG_FINGERPRINT_QUERY)
                    kept = _CATALOG_READ_ROWS.get(key)
                    if kept is not None and kept[0] == fingerprint:
                        # (lists of their own: what one connection does with them is its own)
                        found.update({n: list(r) for n, r in kept[1].items()})
                        return found
                else:
                    _keep_catalog_rows(key, None)
                    key = None
            rows: dict[str, list[Any]] = {"loose": []}
            # first: a schema's operator or function called in place of pg_catalog's by the
            # queries below makes their rows say anything (this query is proof against them)
            rows["shadows"] = await _fetch(self, _CATALOG_SHADOWS_QUERY)
            if version >= 12:  # nondeterministic collations came with PostgreSQL 12
                rows["loose"] = await _fetch(self, _LOOSE_COLLATION_QUERY, column)
            rows["names"] = await self._tg_policy_names()
            for name, query, args in (
                (
                    "functions",
                    _SCHEMA_CODE_QUERY_BEFORE_14 if before_14 else _SCHEMA_CODE_QUERY,
                    (),
                ),
                ("code", _CODE_QUERY, ()),
                ("views", _VIEW_QUERY, ()),
                ("configs", _CONFIG_QUERY, ()),
                ("keys", _SPANNING_QUERY, ()),
                ("extensions", _EXTENSION_QUERY, ()),
                ("registry", _REGISTRY_QUERY, (column,)),
                ("actions", _CASCADES_QUERY, ()),
                (
                    "sql_functions",
                    _SQL_FUNCTIONS_QUERY_BEFORE_14 if before_14 else _SQL_FUNCTIONS_QUERY,
                    (),
                ),
                ("kept", _STATEFUL_CODE_QUERY, ()),
                ("triggers", _TRIGGER_QUERY, ()),
                ("inherits", _INHERITS_QUERY, ()),
                ("holders", _ROW_HOLDERS_QUERY, ()),
                ("types", _TENANT_TYPES_QUERY, (column,)),
                ("places", _TENANT_PLACES_QUERY, (column,)),
                ("paths", _FUNCTION_PATHS_QUERY, ()),
                ("homes", _GLOBAL_HOMES_QUERY, (global_names, column)),
                ("definitions", _FUNCTION_DEFINITIONS_QUERY, ()),
            ):
                rows[name] = await _fetch(self, query, *args)
            if key is not None:
                # (rows read across a change made after the fingerprint are kept under a
                # fingerprint the catalog never shows again: never reused)
                _keep_catalog_rows(key, (fingerprint, rows))
            found.update(rows)
            return found

        # before the catalog is read: DDL committed after the read is heard (h37R). On a
        # database with no watch nothing is ever told (one statement at connect)
        await self._tg_listen()
        catalog = await self._tg_catalog_read(read)
        functions, code, views, configs = (
            catalog["functions"],
            catalog["code"],
            catalog["views"],
            catalog["configs"],
        )
        loose, names, keys, extensions = (
            catalog["loose"],
            catalog["names"],
            catalog["keys"],
            catalog["extensions"],
        )
        sql_functions, registry, actions, kept = (
            catalog["sql_functions"],
            catalog["registry"],
            catalog["actions"],
            catalog["kept"],
        )
        self._tg_check_policy_names(names)
        self._tg_catalog_mark = catalog["mark"][0]
        if catalog["broken"][0]:
            guard.watch_broken_found()
        if catalog["outdated"][0]:
            guard.watch_outdated_found()
        told = catalog["told"][0]
        self._tg_pooled = catalog["backend"][0] != told
        if self._tg_pooled:
            guard.watch_pooled_found(told, catalog["backend"][0])
        # (tenant tables as the guard checks them: the policy's and the catalog's unlisted
        # ones, known since _tg_check_policy_names; h38W)
        policy = guard.policy
        spanning = spanning_keys(
            (tuple(row) for row in keys), guard.checks_table, policy.tenant_column
        )
        # one name may be a view in several schemas (h31i: the one read last hid the other's
        # keys): each definition is followed, in a layer of its own over the first ones
        layers: list[dict[str, tuple[str, list[str] | None]]] = [{}]
        for row in views:
            if row[2] == "v":
                n = next((i for i, d in enumerate(layers) if str(row[0]) not in d), len(layers))
                if n == len(layers):
                    layers.append({})
                layers[n][str(row[0])] = (str(row[1]), None)
        defined = layers[0]
        layers = [defined, *({**defined, **layer} for layer in layers[1:])]
        if spanning and defined:  # a write through a view is one of its base table
            spanning_through: dict[str, tuple[frozenset[str], ...]] = {}
            for layer in layers:
                through = through_views({t: list(k) for t, k in spanning.items()}, layer)
                spanning_through = merged_by_table(spanning_through, through)
            spanning = spanning_through
        guard.learn_spanning_keys(spanning)
        typed = [tuple(r) for r in catalog["types"]]
        guard.learn_tenant_column_types(tenant_column_types(typed), exact_domains(typed))
        guard.learn_stored_kinds(stored_kinds(typed))
        guard.learn_tenant_places(tenant_places((tuple(r) for r in catalog["places"]), column))
        homes = catalog_homes(tuple(r) for r in catalog["homes"])
        user = str(catalog.get("user", [""])[0])
        guard.learn_catalog_homes(homes, user)
        guard.learn_path_functions(
            path_functions((tuple(r) for r in catalog["paths"]), policy, homes, user)
        )
        # tables whose tenant column has another name (a foreign key takes it to one): tenant
        # tables nothing pins, before the views and functions are sorted over them (h42R)
        guard.learn_renamed_tenant_tables(
            (tuple(row) for row in actions), [tuple(row) for row in catalog["inherits"]]
        )
        guard.learn_row_holders(tuple(row) for row in catalog.get("holders", ()))
        guard.learn_extension_functions({str(row[0]): float(row[1]) for row in extensions})
        guard.learn_inlined_functions(inlined_functions(tuple(row) for row in sql_functions))
        found_registry = tenant_registry(tuple(row) for row in registry)
        guard.learn_tenant_registry(found_registry)
        # the registry whose row pinned to one tenant reaches that tenant's rows only by the
        # keys carrying its key to the tenant column (`cascades`)
        root = (
            (policy.tenant_root, policy.tenant_root_key) if policy.tenant_root else found_registry
        )
        guard.learn_cascades(
            cascades(
                (tuple(row) for row in actions), guard.checks_table, policy.tenant_column, root=root
            )
        )
        checked = checked_foreign_keys(tuple(row) for row in actions)
        if checked and defined:  # a write through a view is one of its base table
            checked_through: dict[str, tuple[ForeignKey, ...]] = {}
            for layer in layers:
                checked_through = merged_by_table(
                    checked_through, keys_through_views(checked, layer)
                )
            checked = checked_through
        guard.learn_checked_foreign_keys(checked)
        found = (*implicit_changers(tuple(row) for row in functions), *(row[0] for row in code))
        self._tg_schema_code = found
        self._tg_unnamed = unnamed_calls(tuple(row) for row in functions)
        self._tg_ddl_code = ddl_code(tuple(row) for row in functions)
        self._tg_unlistens = unlistens_unnamed(tuple(row) for row in functions)
        readers, self._tg_setting_changers, reading, mentions = setting_code(
            (tuple(row) for row in functions), (tuple(row) for row in views), guard._tenant_setting
        )
        changers = role_changers(
            (tuple(row) for row in functions),
            [tuple(r) for r in views],
            [tuple(r) for r in configs],
        )
        self._tg_role_changers = changers
        # (not a policy's: its function, often SECURITY DEFINER to read a membership table out
        # of RLS, runs as its owner within the policy's own check only)
        self._tg_role_unnamed = run_unnamed(
            (tuple(row) for row in functions), changers, policies=False
        )
        guard.learn_role_views(
            (changers & {str(row[0]).lower() for row in views if row[2] == "v"})
            | role_changing_writes([tuple(row) for row in catalog["triggers"]], changers)
        )
        stateful = stateful_code((tuple(row) for row in functions), (tuple(row) for row in views))
        guard.learn_stateful(stateful)
        self._tg_reset_kept = (
            *stateful_implicit((tuple(row) for row in functions), stateful),
            *(row[0] for row in kept),
        )
        configured = {
            str(row[0]).lower()
            for row in configs
            if f"{guard._tenant_setting.lower()}=" in str(row[1] or "").lower()
        }
        self._tg_setting_callers_refused = reading | configured
        self._tg_setting_unnamed = run_unnamed(
            (tuple(row) for row in functions), self._tg_setting_callers_refused
        )
        writes: dict[str, tuple[str, ...]] = {}
        if readers:
            # the views filtered by the setting that a write goes through to a tenant table
            rows = await self._tg_driver_call(
                lambda: _fetch(self, _WRITE_VIEW_QUERY, sorted(readers))
            )
            writes = view_writes(
                (tuple(row) for row in rows), guard.checks_table, guard.policy.tenant_column
            )
        guard.learn_setting_readers(readers, writes)
        # last: the views the policy does not name are sorted once, knowing those filtered by
        # the setting (each fact learnt sorts them again)
        defined_views: dict[str, tuple[str, ...]] = {}
        for row in views:  # (one name may be a view in several schemas: each is sorted)
            if row[2] in ("v", "m") and row[1]:
                defined_views[str(row[0])] = (*defined_views.get(str(row[0]), ()), str(row[1]))
        guard.learn_views(
            defined_views,
            frozenset(str(row[0]) for row in views if row[2] == "m"),
        )
        # and the functions, knowing the views
        guard.learn_function_definitions([str(row[0]) for row in catalog["definitions"]])
        # then what the triggers and rules of a write run beside it, read knowing the views
        guard.learn_hidden_writes(
            trigger_writes(
                (tuple(row) for row in catalog["triggers"]),
                [tuple(row) for row in views],
                guard._proven_with,
                [tuple(row) for row in catalog["inherits"]],
            )
        )
        hidden = {**guard.policy.hidden_writes, **guard._hidden}
        if hidden:  # a foreign key's action fires the triggers of the rows it writes (h35C)
            guard.learn_cascades(
                cascades(
                    (tuple(row) for row in actions),
                    guard.checks_table,
                    policy.tenant_column,
                    lambda child, verb: any(
                        kind == verb or kind.startswith(f"{verb} OF ")
                        for kind in hidden.get(child, {})
                    ),
                    root=root,
                )
            )
        if mentions or self._tg_setting_changers or configured:
            # the database's code reads or sets the setting (names the catalog read may miss:
            # a view of such a view, a name built at run time): the setting is set to tenant()
            # before every statement, and a script cannot change it between its statements
            # unseen (round 22, helper 107)
            self._tg_setting_everywhere = True
            self._tg_fast = False
        # this session's own temporary relations (not shared: pg_temp is the session's), read
        # first for every relation name: one named like a global table of the policy is what
        # an unqualified read of that name reads (h36C)
        temporary = await self._tg_driver_call(lambda: _fetch(self, _TEMPORARY_QUERY))
        if self._tg_shadowed:
            self._tg_shadowed = False
            self._tg_startup = startup_problem(self)
            self._tg_lexer_ok = self._tg_fast = False
        global_names = {*policy.global_tables, *policy.global_homes}
        shadowing = sorted({str(row[0]) for row in temporary} & global_names)
        if shadowing and self._tg_startup is None:
            self._tg_shadowed = True
            self._tg_startup = (
                f"a temporary relation of this session ({', '.join(shadowing[:5])}) is named "
                "like a global table of the policy: PostgreSQL reads it first for that name, "
                "and the guard reads the name as the global table",
                "name temporary tables unlike the schema's tables, and drop them when done "
                "(DROP TABLE or DISCARD TEMP inside unscoped())",
            )
            self._tg_lexer_ok = self._tg_fast = False
        path = catalog.get("path", [None])[0]
        if self._tg_startup is None and policy.global_homes:
            elsewhere = policy.read_otherwise(None if path is None else [str(p) for p in path])
            if elsewhere:
                self._tg_startup = (
                    f"the session's search_path ({', '.join(map(str, path or ()))}: set for "
                    "the role or database on the server) reads "
                    f"{', '.join(elsewhere[:5])} in another schema than the global table the "
                    "policy holds (config `search_path`): an unpinned read of it would read "
                    "every tenant's rows there",
                    "set config `search_path` to the sessions' path, or ALTER ROLE / ALTER "
                    "DATABASE … RESET search_path",
                )
                self._tg_lexer_ok = self._tg_fast = False
        if self._tg_startup is None and global_names:
            # each global name resolved in the catalog by the session's path and by the
            # configured one (the h36C check above reads only the schema sources' relations: a
            # schema they do not know, or a policy written by hand, has none): another
            # relation than the configured path's, outside the name's global homes, is what
            # an unqualified read reads (one query more per catalog read, shared)
            elsewhere = read_elsewhere([str(p) for p in path or ()], policy, homes, user, user)
            # and by the path as set: "$user" is the CURRENT role's schema, and a pool's init=
            # or setup= (or any statement) may SET ROLE to another after this read (h36R)
            setting = str(catalog.get("setting", [""])[0])
            for written in set_search_paths(f"SET search_path = {setting}") or [None]:
                if written is None:
                    continue  # quoted names: read as current_schemas shows them only
                elsewhere += read_elsewhere(written, policy, homes, user, user, roles=True)
            elsewhere = sorted(set(elsewhere))
            if elsewhere:
                self._tg_startup = (
                    f"the session's search_path ({setting}: now "
                    f'{", ".join(map(str, path or ()))}; "$user" is the current role\'s '
                    f"schema) reads {', '.join(elsewhere[:5])} in another relation than config "
                    "`search_path` "
                    f"({', '.join(policy.search_path)}) reads the global table the policy "
                    "holds: an unpinned read of it would read that relation's rows, every "
                    "tenant's",
                    "set config `search_path` to the sessions' path, or ALTER ROLE / ALTER "
                    "DATABASE … RESET search_path",
                )
                self._tg_lexer_ok = self._tg_fast = False
        relied = catalog.get("relied", [None])[0]
        if relied is not None and self._tg_startup is None:
            # a setting the proof relies on, set for the database or the role (or in
            # postgresql.conf): every session starts with it, unseen by the startup packet
            # and by the statements (h39R: `ALTER DATABASE d SET cpu_operator_cost = 0`, and
            # clinic 1's proven read failed with `invalid input syntax for type integer:
            # "Carla"`, clinic 2's patient)
            self._tg_startup = server_setting_problem(relied)
            if self._tg_startup is not None:
                self._tg_lexer_ok = self._tg_fast = False
        if loose and self._tg_startup is None:
            # `tenant_id = 'acme'` is true of 'ACME' too: a pin selects other tenants' rows
            columns = ", ".join(row[0] for row in loose[:5])
            self._tg_startup = (
                f"the tenant column has a nondeterministic collation ({columns}): it compares "
                "different tenant ids as equal ('acme' = 'ACME'), so a pin selects other "
                "tenants' rows too",
                "give the tenant column a deterministic collation (ALTER TABLE … ALTER COLUMN "
                'tenant_id TYPE text COLLATE "C")',
            )
            self._tg_lexer_ok = self._tg_fast = False
        shadows = catalog.get("shadows", [])
        if shadows and self._tg_startup is None:
            # the guard's own catalog queries call them: nothing they read can be trusted
            # (h42G: `public.!~(name, name)` returning false hid every unlisted tenant table,
            # view and trigger from them)
            named = ", ".join(str(row[0]) for row in shadows[:5])
            self._tg_startup = (
                f"the database has {named}: PostgreSQL calls it in place of pg_catalog's of "
                "that name in the guard's reading of the catalog, whose answers then cannot "
                "be trusted",
                "drop it, or rename it to a name of its own (an operator or function of a "
                "built-in's name over built-in types, in a schema of the search path)",
            )
            self._tg_lexer_ok = self._tg_fast = False
        if found:
            self._tg_fast = False
            guard.schema_code_found(found)

    def _tg_server_key(self) -> tuple[Any, ...]:
        """The server, user, database, startup settings and server version the connection
        was opened with: what the catalog read's rows are read for."""
        params = self._params  # type: ignore[attr-defined]
        settings = params.server_settings or {}
        return (
            str(self._addr),  # type: ignore[attr-defined]
            params.user,
            params.database,
            tuple(sorted((str(k), str(v)) for k, v in settings.items())),
            self.get_server_version(),
        )

    async def _tg_catalog_read(
        self, read: Callable[[], Awaitable[dict[str, list[Any]]]]
    ) -> dict[str, list[Any]]:
        """The rows of `read`, shared by the guard's connections that read together: a pool's
        connections open at once (`min_size`), each read costs the server some 20-40 ms of
        planning and of loading a new backend's catalog caches, and the rows are the same
        for every connection to the same database, user and server settings (names are
        printed as their search_path shows them). A connection that starts reading while
        another of the same key reads waits for that read; the one that began is the one
        that reads (a read begun earlier sees no less than its own would). When that read
        fails or is cancelled, each waiting connection reads for itself."""
        key = (self.tenantguard, asyncio.get_running_loop(), *self._tg_server_key())
        shared = _CATALOG_READS.get(key)
        if shared is not None:
            rows = await asyncio.shield(shared)  # this task cancelled: the read goes on
            if rows is not None:
                return rows
            return await self._tg_driver_call(read)  # the read shared failed: read here
        mine: asyncio.Future[dict[str, list[Any]] | None] = (
            asyncio.get_running_loop().create_future()
        )
        _CATALOG_READS[key] = mine
        try:
            rows = await self._tg_driver_call(read)
        except BaseException:
            mine.set_result(None)
            raise
        finally:
            if _CATALOG_READS.get(key) is mine:
                del _CATALOG_READS[key]
        mine.set_result(rows)
        return rows

    async def _tg_check_names_again(self) -> None:
        """The policy's names checked again once the schema exists: a pool made before the
        patches build it (or while they do) checks each connection again as it is acquired,
        until one of the policy's tables is found — with everything read at connect (a
        problem found then may be gone, another may have come); and after a statement on one
        of the guard's connections that may have changed the schema's code
        (`Guard.catalog_changed`)."""
        if self._tg_names_pending or self._tg_names_problem or self._tg_catalog_stale:
            self._tg_catalog_stale = False
            await self._tg_read_schema_code()

    async def _tg_policy_names(self) -> list[Any]:
        """The catalog's rows of `_POLICY_NAMES_QUERY` for this guard's policy."""
        policy = self.tenantguard.policy
        return await _fetch(
            self,
            _POLICY_NAMES_QUERY,
            policy.tenant_column,
            sorted(policy.tenant_tables),
            sorted(policy.global_tables),
        )

    def _tg_check_policy_names(self, rows: list[Any]) -> None:
        """A policy that guards nothing here refuses every statement (fail closed, as a wrong
        configuration must): none of its tenant tables is a table of this database (or a
        function of its schemas) while tables here hold the tenant column — a typo, a quoted
        mixed-case name —, or those found have no tenant column (the column misspelt). Tables
        holding the tenant column that the policy names neither tenant nor global tables are
        checked as tenant tables (`Guard.unlisted_tables_found`, h38V: a table a migration added
        was read unchecked by every clinic), and global tables whose tenant column is NOT NULL
        (each row a tenant's) are said, each once in a warning."""
        guard = self.tenantguard
        policy = guard.policy
        column = policy.tenant_column
        # until one of the policy's tenant tables is found with its column (a schema the
        # patches have not built yet), a pool's connection checks again when acquired
        self._tg_names_pending = not any(mine and has for _, mine, has, *_ in rows)
        if self._tg_names_problem:  # checked again: the problem is said again if it stands
            self._tg_names_problem = False
            self._tg_startup = startup_problem(self)
            self._tg_fast = False  # the lexer's state is read again before the next statement
        listed = [(name, has) for name, mine, has, *_ in rows if mine]
        unlisted = sorted(
            {name for name, mine, has, _, glob, _ in rows if has and not mine and not glob}
        )
        problem = None
        if not any(has for _, has in listed):
            names = ", ".join(sorted(policy.tenant_tables)[:5])
            if listed:
                found = ", ".join(sorted({name for name, _ in listed})[:5])
                problem = (
                    f"the policy's tenant tables found in this database ({found}) have no "
                    f"column {column}: the policy would guard nothing"
                )
            elif unlisted:
                holders = ", ".join(unlisted[:5]) + (" …" if len(unlisted) > 5 else "")
                problem = (
                    f"none of the policy's tenant tables ({names}) is a table or function of "
                    f"this database, whose tables {holders} have the tenant column {column}: "
                    "the policy would guard nothing"
                )
        if problem is not None and self._tg_startup is None:
            self._tg_names_problem = True
            self._tg_startup = (
                problem,
                "name the tables and the tenant column as PostgreSQL does (unquoted names fold "
                "to lower case: tenant_tables={'patients'}), or connect to the database they "
                "are in",
            )
            self._tg_lexer_ok = self._tg_fast = False
            return
        shared = sorted({name for name, _, has, not_null, glob, _ in rows if glob and not_null})
        # the tables among them (a view is sorted by its body, over them: `Guard._with_views`)
        # are checked as tenant tables from now on: fail closed (h38V)
        tables = sorted(
            {name for name, mine, has, _, glob, view in rows if has and not (mine or glob or view)}
        )
        guard.unlisted_tables_found(tuple(tables), tuple(shared))

    def _tg_is_driver(self) -> bool:
        """True in the task running the driver's statements in flight on this connection."""
        return self._tg_driver is not None and asyncio.current_task() is self._tg_driver_task

    async def _tg_settled(self) -> None:
        """Waits until the driver's statements in flight are done (unless this task runs them)."""
        while (driver := self._tg_driver) is not None and not self._tg_is_driver():
            if driver.is_set():
                # a run marked done yet still the connection's: `wait()` returns at once, and
                # the loop would hold the event loop for good (no state reaches this: a bound)
                self._tg_driver = self._tg_driver_task = None
                self._tg_fast = False
                self._tg_unsettled(
                    "(a call waiting for the driver's statements)",
                    "the driver's statements were marked done while still in flight",
                )
                continue
            await driver.wait()

    async def _tg_resolve(self, plan: Later | Driver) -> Plan:
        """The plan of a call as it starts running. A call the driver's task made passes only
        in that same driver run; kept and awaited after it, it is the application's call."""
        if type(plan) is Driver:
            if plan.run is self._tg_driver:
                return None
            plan = Later(plan.query, plan.rows)
        return await self._tg_after_driver(plan)  # type: ignore[arg-type]  # a Later now

    async def _tg_after_driver(self, plan: Later) -> Plan:
        """The check of a call made while the driver's statements ran, made now that they are
        done (synchronously after the wait: they cannot start again in between)."""
        if plan.reset:
            await self._tg_settled()
            if not self._tg_clean and not self.is_in_transaction():
                await self.reset()
        for _ in range(_SETTLE_ROUNDS):
            await self._tg_settled()
            later = self._tg_admit_slow(plan.query, plan.rows)
            if type(later) is Driver:
                return None  # this task runs the driver now: its statement, run at once
            if type(later) is not Later:
                return later
            if later.reset:
                # another block's state found once the catalog was caught up with (h34L: a
                # request's refused `SELECT setup_ws()`, a DDL-running function, then the same
                # call in `unscoped()`: the catalog read again, then this — not handled here,
                # the loop spun without end)
                if not self._tg_clean and not self.is_in_transaction():
                    await self.reset()
            elif later.catch_up and not await self._tg_catch_up(plan.query):
                # a reset() ran meanwhile (another tenant's state), and the catch-up did not
                # end: report mode, said; the statement runs on the session as is
                return None
        self._tg_unsettled(plan.query, "the session's state changed at each of them")
        return None  # report mode: said; the statement runs on the session as is

    def _tg_unsettled(self, query: object, why: str) -> None:
        """Refuses (enforce) or reports a call whose checks did not bring the session to a
        known state in `_SETTLE_ROUNDS` rounds: the loop is bounded, the call fails closed."""
        self.tenantguard.violation(
            f"the guard could not bring the session to a known state before this statement in "
            f"{_SETTLE_ROUNDS} rounds ({why}), so it cannot be proven",
            "the schema's catalog is changing without pause (a migration committing DDL from "
            "another session), or the connection is used by several tasks at once: try the "
            "call again once the migration is done, and give each task its own connection",
            query,
        )

    async def _tg_ensure(self, plan: Plan) -> str | None:
        """Sets the setting as `plan` asks, right before the statement it was made for;
        returns the value it asks (None: none)."""
        if type(plan) is Later or type(plan) is Driver:
            plan = await self._tg_resolve(plan)
        if type(plan) is Wrote:
            self._tg_left(plan.owner)
            plan = plan.value
        if type(plan) is Forget:
            await self._tg_forget(plan)
            return plan.value
        if plan is not None and plan != self._tg_setting:
            await self._tg_set(plan)  # type: ignore[arg-type]  # a str: the others are out
        return plan  # type: ignore[return-value]

    async def _tg_forget(self, plan: Forget) -> None:
        """Sets the setting as `plan` asks, then forgets what the guard knows of the session:
        the statement about to run may change the setting (or the lexer's settings).

        In a failed transaction the server refuses the setting's `set_config` (and every
        statement but one that ends the transaction or goes back to a savepoint): the ROLLBACK
        it was set for is sent all the same — refused with it, it never reached the server and
        the connection stayed in the failed transaction for good, every later ROLLBACK refused
        the same way (h39R). Such a statement reads no row; the setting is unknown after it."""
        if plan.value is not None and plan.value != self._tg_setting:
            try:
                await self._tg_set(plan.value)
            except asyncpg.InFailedSQLTransactionError:
                if not plan.closing:
                    raise
        if plan.ending and not self._tg_in_txn_set:
            return  # it ends a transaction in which nothing was set: it reverts nothing
        self._tg_setting = None
        self._tg_fast = False
        if not plan.plain:
            if plan.owner is None:
                self._tg_dirty(_get_scope())
            else:  # the block that made the call, not the one awaiting it (helper h32h)
                self._tg_left(plan.owner)

    # -- the types PostgreSQL inferred for the parameters -----------------------------------

    async def _get_statement(
        self,
        query: str,
        timeout: float | None,
        *,
        named: str | bool | None = False,
        use_cache: bool = True,
        ignore_custom_codec: bool = False,
        record_class: Any = None,
    ) -> Any:
        """asyncpg's statement for `query` (prepared now, or from its cache), refused before it
        is bound when PostgreSQL typed a pinning parameter inexactly (`parameter_types`).

        Every path that binds parameters gets its statement here (fetch*, execute with
        arguments, executemany, cursors, prepare). The verdict is kept with asyncpg's
        statement object, per connection: a hit on a statement found exact before is asyncpg's
        own cache lookup, made here (one coroutine less), and one dict lookup.
        """
        if not self._tg_fast and self._tg_driver is None:
            self._tg_lexer_now()  # a call made before the session's lexer changed
        if use_cache and record_class is None:
            record = self._protocol.get_record_class()  # type: ignore[attr-defined]
            state = self._stmt_cache.get((query, record, ignore_custom_codec))  # type: ignore[attr-defined]
            if state is not None and self._tg_typed.get(query) is state:
                return state
        state = await _get_statement(
            self,
            query,
            timeout,
            named=named,
            use_cache=use_cache,
            ignore_custom_codec=ignore_custom_codec,
            record_class=record_class,
        )
        if self._tg_typed.get(query) is state:
            return state
        try:
            exact = self._tg_types_exact(query, state._get_parameters())
        except BaseException:
            # a statement of prepare() alone is dropped: asyncpg closes it on the server later
            self._maybe_gc_stmt(state)  # type: ignore[attr-defined]
            raise
        if exact:
            typed = self._tg_typed
            if len(typed) >= _TYPED_ENTRIES:
                typed.clear()
            typed[query] = state
        return state

    async def _introspect_types(self, typeoids: Any, timeout: float | None) -> Any:
        # asyncpg's own queries, made while it prepares the application's statement
        introspecting = _INTROSPECTING.set(self)
        try:
            return await _introspect_types(self, typeoids, timeout)
        finally:
            _INTROSPECTING.reset(introspecting)

    def _tg_types_exact(self, query: str, parameters: Sequence[Any]) -> bool:
        """Checks the inferred types of the parameters that pin the tenant in `query`.

        Returns True when every one compares the tenant id exactly (the statement need not be
        looked at again); otherwise refuses (enforce) or reports it, and returns False. Off
        mode, asyncpg's and the pool's own statements are not looked at (False: looked at again
        later, in case that changes); nor are `unscoped()`'s, nor the preparing of `prepare()`
        outside tenant() (its statement's types are checked at each run, in the scope that
        runs it).

        Refused outside tenant() too: the guarded `fetch`, `execute`, `cursor`… check the
        values when the call is made, and this runs when the call runs — a call made inside
        `tenant(16777217)` and awaited after the block (kept, handed to a task, a cursor
        iterated later) sent its checked value as a `real`, another tenant's (round 26).
        """
        guard = self.tenantguard
        if guard.mode is Mode.OFF or _INTROSPECTING.get() is self or self._tg_is_driver():
            return False
        problem = first_inexact_pin(parameters, guard.pinning_parameters(query))
        if problem is None:
            return True
        scope = _get_scope()
        if _unscoped_here(scope) or (scope is None and _PREPARING.get() is self):
            return False  # trusted with every tenant, or no value bound yet
        index, parameter = problem
        name = f"${index + 1}"
        guard.violation(
            f"{name} pins the tenant, but PostgreSQL typed it {describe(parameter)} from its "
            "first use in the statement: the tenant id is converted to that type before it is "
            f"compared, which may turn it into another tenant's id ({why_inexact(parameter)})",
            f"cast {name} where it is first used to the tenant column's type ({name}::bigint, "
            f"{name}::text, {name}::uuid), or compare it with the tenant column before any "
            "other use; pass another parameter for the other value",
            query,
            reference=name,
        )
        return False

    # -- asyncpg's API -----------------------------------------------------------------------

    @_in_lease
    async def reset(self, *, timeout: float | None = None) -> None:
        guard = type(self)._tg_guard
        watched = self._tg_catalog_mark is not None  # the catalog watch is installed
        if (
            guard is not None
            and (watched or guard._set_tenant_setting)
            and self._tg_clean
            and not self._tg_reset_kept
            and not self._tg_catalog_stale  # what it read of the schema may be out of date
            and not self.is_in_transaction()
            and not _busy(self._protocol)  # type: ignore[attr-defined]
        ):
            # every statement since the last reset was plain: the reset would change nothing
            # — unless the schema's code may leave state where no text names it, or a call
            # still runs (`_busy`). With the catalog watch, the reset is sent in the round trip
            # that starts the next lease, with the watch's check and the tenant setting
            # (`_tg_catch_up`), before its first statement: a view or domain a migration made
            # from another session meanwhile (round 30: a statement the guard took as plain
            # left state) is undone, and seen before that statement is checked. Without the
            # watch it is skipped, only with the tenant setting, whose round trip at the next
            # acquire takes the reset's place: without it the reset always runs (round 30; the
            # skip saved ~5 us of client CPU a release, within the pool figure's noise)
            guard.resets_skipped += 1
            self._tg_owner = None
            if watched:
                self._tg_reset_due = self._tg_check_due = True
                self._tg_fast = False
            return
        if _RESET_INLINE:
            # asyncpg's reset made here, its ROLLBACK and script sent with asyncpg's own
            # execute: none of it needs the driver's exemption, so no task has it meanwhile
            # (asyncpg reports a transaction left open to the loop's exception handler, in
            # this task: a call made there and started at once passed as the reset's own)
            nested = self._tg_is_driver()  # a pool's reset= calling reset(): its run goes on
            if not nested and self._tg_driver is not None:
                await self._tg_settled()  # another task's run first
            done = None if nested else self._tg_driver_start(exempt=False)
            try:
                if timeout is None:  # the pool's release: without asyncpg's no-op timer
                    await self._tg_reset_steps()
                else:
                    async with compat.timeout(timeout):
                        await self._tg_reset_steps()
            finally:
                if done is not None:
                    self._tg_driver_end(done)
        else:
            reset = super().reset
            await self._tg_driver_call(lambda: reset(timeout=timeout))
        self._tg_clean = True
        self._tg_owner = None
        self._tg_reset_due = False
        if self._tg_catalog_mark is not None:
            # the watch's count checked before the next statement (a migration from another
            # session since the catalog was read)
            self._tg_check_due = True
            self._tg_fast = False
        if self._tg_changed_schema and guard is not None:
            # the schema change has been committed or rolled back by now: a connection that
            # read the catalog meanwhile reads it again
            self._tg_changed_schema = False
            guard.catalog_changed()

    def _tg_in_failed_transaction(self) -> bool:
        """The catalog's read failed in the application's failed transaction (after its
        statement that may have changed the schema failed): it takes no statement but its end
        (ROLLBACK, or back to a savepoint), and the server refuses any other, so the call goes
        on, and the catalog is read after it (h37V: `CREATE TABLE pv` failing in a
        transaction left the ROLLBACK unsent and the connection in the failed transaction)."""
        if self._tg_aborted:
            # once: after a ROLLBACK TO SAVEPOINT the transaction goes on, and its next
            # statement reads the catalog (a failed read again sets it again)
            self._tg_aborted = False
            return self.is_in_transaction()
        return False

    async def _tg_catch_up(self, query: object = "(the first statement of a lease)") -> bool:
        """The round trip that starts a pool lease (or follows a reset()), before its first
        statement: the catalog watch's count checked (`schema_code.catalog_check`), the pool's
        reset if `reset` deferred it, and the tenant setting set to the block's tenant when the
        guard sets it, in one script. Another count (DDL another session committed since the
        catalog was read: a migration's trigger, a function that changes the role), or a watch
        disabled or dropped, stops the script: the connection reads the catalog again (and
        every connection of the guard as the pool hands it out) before the statement is
        checked. Without a watch, only a deferred reset is sent. A catalog out of date
        (`Guard.catalog_changed`) is read again first. A catalog that changes at each of
        `_SETTLE_ROUNDS` checks refuses `query` (enforce) or reports it (False: not caught up)."""
        if self._tg_catalog_stale:
            try:
                await self._tg_check_names_again()
            except asyncpg.InFailedSQLTransactionError:
                self._tg_catalog_stale = self._tg_aborted = True  # read after its end
                return True
        if self._tg_told and not self.is_in_transaction():
            # (in a transaction the LISTEN would take effect at its end, and PostgreSQL holds
            # notifications until then: after it; a failed one takes no statement)
            await self._tg_check_mark()
        if self._tg_order_due:
            await self._tg_check_order()
        rounds = 0
        while (self._tg_check_due or self._tg_reset_due) and not self.is_in_transaction():
            rounds += 1
            if rounds > _SETTLE_ROUNDS:
                self._tg_unsettled(query, "the catalog changed at each check of the watch")
                return False
            guard = self.tenantguard
            mark = self._tg_catalog_mark
            checked = self._tg_check_due and mark is not None and guard.mode is not Mode.OFF
            parts = [catalog_check(mark)] if checked and mark is not None else []
            preparing = checked and not self._tg_check_prepared
            if preparing:
                parts.insert(0, _CHECK_PREPARE)
            if self._tg_reset_due:
                parts.append(self.get_reset_query())
            listen = not self._tg_listening and checked
            if listen:
                # after the reset's UNLISTEN *, in the check's transaction (a pool's `reset=`
                # callback may have ended it: h37V)
                parts.append(_LISTEN_WATCH)
            if not parts:
                self._tg_check_due = False
                self._tg_refresh()
                return True
            value = None
            if guard._set_tenant_setting or self._tg_setting_everywhere:
                scope = _get_scope()
                value = scope.key if scope is not None and scope.key is not None else ""
                parts.append(
                    f"SELECT set_config({guard._setting_literal}, {literal(value)}, false)"
                )
            script = ";\n".join(part.rstrip().rstrip(";") for part in parts)

            async def run(
                script: str = script, checked: bool = checked, listen: bool = listen
            ) -> None:
                await _execute(self, script)
                self._tg_listening = self._tg_listening or listen
                # done before the driver's end, which re-reads the session (the hot path back)
                self._tg_check_due = self._tg_reset_due = False
                self._tg_check_prepared = self._tg_check_prepared or checked

            try:
                await self._tg_driver_call(run)
            except asyncpg.InvalidSQLStatementNameError:
                if not checked:
                    raise
                self._tg_check_prepared = False  # gone (DISCARD ALL): prepared again
                continue
            except asyncpg.DuplicatePreparedStatementError:
                if not preparing:
                    raise
                # prepared by a script that failed after it: made again, from its text
                await self._tg_driver_call(lambda: _execute(self, _DEALLOCATE_CHECK))
                continue
            except (asyncpg.InvalidTextRepresentationError, asyncpg.UndefinedTableError) as error:
                if not checked or (
                    _CATALOG_CHANGED not in str(error)
                    and not isinstance(error, asyncpg.UndefinedTableError)
                ):
                    raise
                # the count ran: the statement is prepared (a PREPARE outlives a failed script)
                self._tg_check_prepared = _CATALOG_CHANGED in str(error)
                await self._tg_read_catalog_again()
                continue
            if value is not None:
                self._tg_setting = value
                self._tg_in_txn_set = False
                guard.setting_syncs += 1
            return True
        return True

    async def _tg_check_order(self) -> None:
        """Before a statement proven by a table's column order (`RuntimeVerdict.by_order`):
        the watch's mark read (one round trip, inside a transaction too: its statements see
        DDL committed since it began, whose notification PostgreSQL holds until it ends), and
        the catalog read again if it moved (h37R: `INSERT INTO notes SELECT $1::bigint, 2`
        after another session moved `tenant_id` last wrote clinic 2's row). Naming the
        INSERT's columns costs nothing of this."""
        self._tg_order_due = False
        await self._tg_check_mark()
        self._tg_order_checked = True

    async def _tg_listen(self) -> None:
        """The session's LISTEN of the watch's channel, made if it is not (one statement)."""
        if not self._tg_listening:
            await self._tg_driver_call(lambda: _execute(self, _LISTEN_WATCH))
            self._tg_listening = True
            connection: Any = self
            connection._reset_query = None  # made again with the LISTEN

    async def _tg_check_mark(self) -> None:
        """The watch's mark read (one round trip), and the catalog read again if it moved
        since this connection read it: before a statement proven by a column order, and
        after a notification on the watch's channel (which any session may send)."""
        try:
            if not self.is_in_transaction():
                self._tg_told = False
                await self._tg_listen()  # (ended by schema code: made again before the mark's read)
            try:
                mark = await self._tg_driver_call(lambda: _fetchval(self, _WATCH_VERSION_QUERY))
            except asyncpg.UndefinedTableError:
                mark = None  # the watch dropped: read again, without it
        except BaseException:
            # cancelled or failed before the mark was compared (h39R): what the notification
            # told is still to check, before the next statement
            self._tg_told = True
            self._tg_fast = False
            raise
        if mark != self._tg_catalog_mark:
            self.tenantguard.catalog_changed()
            self._tg_catalog_stale = False
            await self._tg_read_schema_code()

    async def _tg_read_catalog_again(self) -> None:
        """The catalog changed since this connection read it (`_tg_catch_up`): the deferred
        reset first (state left by statements judged on the old catalog; names are read as
        the session's search_path shows them), then the catalog; every other connection of
        the guard reads it again as the pool hands it out."""
        self.tenantguard.catalog_changed()
        if self._tg_reset_due:
            script = self.get_reset_query()
            await self._tg_driver_call(lambda: _execute(self, script))
            self._tg_reset_due = False
        self._tg_catalog_stale = False
        await self._tg_read_schema_code()
        self._tg_check_due = True  # checked again with the new count, the setting with it

    def get_reset_query(self) -> str:
        """asyncpg's reset script, plus `DISCARD TEMP` and `DISCARD SEQUENCES` on PostgreSQL:
        a temporary table (or view, function) and the session's sequence values (`lastval()`,
        `currval()`) outlive asyncpg's script (`RESET ALL`, `CLOSE ALL`, `UNLISTEN *`,
        advisory locks), and the next request on the pooled connection read them — a TEMP
        table an unscoped() job or a schema function filled with every clinic's rows needs no
        pin (it is no tenant table). Then the role and session user the pool hands the
        connection out with (the login's, or those its `init=` set: `_tg_keep_identity`):
        `RESET ALL` leaves both alone. Made once per connection, like asyncpg's."""
        script: str | None = self._reset_query  # type: ignore[has-type]
        if script is not None:
            return script
        script = super().get_reset_query()
        if self._server_caps.sql_close_all:  # type: ignore[attr-defined]  # PostgreSQL itself
            # the watch's channel heard again after asyncpg's `UNLISTEN *` (h37R)
            listen = _LISTEN_WATCH if self._tg_listening else ""
            parts = (script, "DISCARD TEMP;", "DISCARD SEQUENCES;", self._tg_identity, listen)
            script = "\n".join(filter(None, parts))
            self._reset_query = script
        return script

    async def _tg_keep_identity(self) -> None:
        """Reads who the session runs as after the pool's `init=` (which may drop the login
        role's privileges: `SET ROLE app`): the pool's reset puts that back, not the login
        role, for the session user (`SET SESSION AUTHORIZATION`) and the role alike."""
        row: Any = await self._tg_driver_call(lambda: _fetchrow(self, _IDENTITY_QUERY))
        session, role = str(row[0]), str(row[1])
        login = str(self._params.user)  # type: ignore[attr-defined]
        if role != "none" or session != login:
            self.tenantguard.keep_role()  # a request may not change it (helper h32d)
        role_sql = "NONE" if role == "none" else ident(role)
        self._tg_identity = f"SET SESSION AUTHORIZATION {ident(session)};\nSET ROLE {role_sql};"
        connection: Any = self
        connection._reset_query = None  # made again with it

    async def _tg_reset_steps(self) -> None:
        """asyncpg's `_reset()` and reset query (`_RESET_INLINE`), every statement sent with
        asyncpg's own `execute` (this method's, by identity: nothing an application sends
        reaches these calls); the report of a transaction left open is a loop's callback."""
        connection: Any = self  # asyncpg's attributes, as its `_reset()` uses them
        connection._check_open()
        connection._listeners.clear()
        connection._log_listeners.clear()
        top = connection._top_xact
        if connection._protocol.is_in_transaction() or top is not None:
            if top is None or not top._managed:
                loop = connection._loop
                message = f"Resetting connection with an active transaction {self!r}"
                loop.call_soon(loop.call_exception_handler, {"message": message})
            connection._top_xact = None
            await _execute(self, "ROLLBACK")
        script = self.get_reset_query()
        if script:
            await _execute(self, script)

    # -- what stays on the connection: codecs and the hooks that see later statements -------

    async def set_type_codec(self, typename: str, **kwargs: Any) -> None:
        self._tg_check_codec("set_type_codec", typename, kwargs)
        await super().set_type_codec(typename, **kwargs)

    async def set_builtin_type_codec(self, typename: str, **kwargs: Any) -> None:
        self._tg_check_codec("set_builtin_type_codec", typename)
        await super().set_builtin_type_codec(typename, **kwargs)

    async def reset_type_codec(self, typename: str, **kwargs: Any) -> None:
        self._tg_check_codec("reset_type_codec", typename)
        await super().reset_type_codec(typename, **kwargs)

    def get_settings(self) -> Any:
        """asyncpg's settings of the connection (the values the server reported), whose codec
        methods are checked as `set_type_codec` is (`GuardedSettings`)."""
        return GuardedSettings(_get_settings(self), self)

    def _tg_check_settings(self, method: str) -> None:
        """A codec method of the settings, called directly: refused outside the pool's
        `init=`/`setup=` and `unscoped()`. It registers a codec by the type's oid (the name it
        is given need not be the type's), so the type cannot be told from it: any type."""
        guard = self.tenantguard
        if guard.mode is Mode.OFF or self._tg_trusted_with_connection():
            return
        guard.violation(
            f"get_settings().{method}() changes the connection's codecs (what "
            "set_type_codec() does) outside the pool's configuration: a codec decides the "
            "bytes a tenant id is sent as while the guard compares the value given to asyncpg, "
            "and it stays on the connection for the next requests",
            "set codecs with set_type_codec() in the pool's init= (or inside "
            "`with unscoped(reason):`)",
            f"get_settings().{method}(…)",
            reference=method,
        )

    def add_query_logger(self, callback: Any) -> None:
        # also what `query_logger()` calls
        self._tg_check_hook(
            "add_query_logger",
            "stays on the connection (the pool's reset does not remove it) and sees the text "
            "and bound values of every later statement",
        )
        super().add_query_logger(callback)

    async def add_listener(self, channel: str, callback: Any) -> None:
        self._tg_check_hook(
            "add_listener",
            "receives the notifications every session sends on the channel (NOTIFY, "
            "pg_notify()), other requests' payloads",
        )
        await super().add_listener(channel, callback)

    def add_log_listener(self, callback: Any) -> None:
        self._tg_check_hook(
            "add_log_listener",
            "stays on the connection (until a pool's reset, for good on a connect() "
            "connection) and sees the server's messages about every later statement with "
            "its text",
        )
        self._tg_dirty(_get_scope())  # the pool's reset removes it
        super().add_log_listener(callback)

    # -- callbacks asyncpg runs from the connection's socket or where it is closed ----------

    def _process_notification(self, pid: int, channel: str, payload: str) -> None:
        if channel == _WATCH_CHANNEL and self._tg_listening:
            # DDL another session (or this one) committed, told by the catalog watch as it
            # is read from the socket, synchronously: the next call of this connection, hot
            # path included, reads the catalog again before it is checked (h37R: a verdict
            # on the column order, the views, the search path's names read at connect) if
            # the watch's mark moved: any role may NOTIFY the channel (h37V)
            self._tg_told = True
            self._tg_fast = False
        _outside_requests(super()._process_notification, pid, channel, payload)  # type: ignore[misc]

    def _process_log_message(self, fields: Any, last_query: Any) -> None:
        _outside_requests(super()._process_log_message, fields, last_query)  # type: ignore[misc]

    def _call_termination_listeners(self) -> None:
        _outside_requests(super()._call_termination_listeners)  # type: ignore[misc]

    async def _tg_configure(self, call: Callable[[], Awaitable[T]]) -> T:
        """Runs the pool's `init=`/`setup=`: codecs and hooks set by this task meanwhile are
        the pool's configuration, trusted like those set inside `unscoped()`."""
        task = asyncio.current_task()
        previous, self._tg_configuring = self._tg_configuring, task
        try:
            return await call()
        finally:
            self._tg_configuring = previous

    def _tg_trusted_with_connection(self) -> bool:
        """True where what stays on the connection may be set: inside `unscoped()` and the
        pool's `init=`/`setup=` (checked by task: a callback scheduled from there is not)."""
        scope = _get_scope()
        if _unscoped_here(scope):
            return True
        configuring = self._tg_configuring
        return configuring is not None and asyncio.current_task() is configuring

    def _tg_contained(self) -> bool:
        """True where the caller may not read every tenant: inside `tenant()`, and outside any
        scope when `require_tenant` (the guard) or `set_tenant_setting` (RLS) contains it."""
        if _get_scope() is not None:
            return True  # unscoped() was let through by `_tg_trusted_with_connection`
        guard = self.tenantguard
        return guard._require_tenant or guard._set_tenant_setting

    def _tg_containment(self) -> str:
        if _get_scope() is not None:
            return "inside a tenant() request"
        option = "require_tenant" if self.tenantguard.require_tenant else "set_tenant_setting"
        return f"outside tenant() with {option}=True (code there does not read every tenant)"

    def _tg_check_hook(self, method: str, sees: str) -> None:
        """Refuses a hook that stays on the connection and sees later requests' data where
        the caller may not read every tenant (`_tg_contained`)."""
        guard = self.tenantguard
        if guard.mode is Mode.OFF or self._tg_trusted_with_connection():
            return
        if self._tg_contained():
            guard.violation(
                f"{method}() {self._tg_containment()}: the callback {sees}, other tenants' "
                "included",
                "add it in the pool's init= (or inside `with unscoped(reason):`), where it is "
                "the application's configuration, not a request's",
                f"{method}(…)",
            )

    def _tg_check_codec(
        self, method: str, typename: object, functions: dict[str, Any] | None = None
    ) -> None:
        """Refuses a codec change where the caller may not read every tenant (`_tg_contained`):
        a codec stays on the connection and decodes the next request's rows. On a type a
        tenant value is sent as, it is refused outside `unscoped()` and the pool's
        `init=`/`setup=`: the guard compares the Python value, the codec decides the bytes the
        server gets."""
        guard = self.tenantguard
        if guard.mode is Mode.OFF or self._tg_trusted_with_connection():
            return
        # an async encoder/decoder: refused where any codec is, saying that asyncpg never
        # awaits a codec (it cannot work) and that the call alone hands it each value
        asynchronous = coroutine_functions(functions)
        why = (
            f" ({asynchronous}: asyncpg calls codecs synchronously and never awaits them, so it "
            "would not work, while each call still hands it the value — a coroutine never "
            "awaited holds its arguments)"
            if asynchronous
            else ""
        )
        fix = "write encoder= and decoder= as plain functions (def), and " if why else ""
        if type(typename) is not str:  # asyncpg looks the name up with its methods
            guard.violation(
                f"{method}() needs the type's name as a str, not a {type(typename).__name__}",
                "pass the type's name as a str",
                f"{method}(…)",
            )
        elif typename.lower() in TENANT_TYPES:
            guard.violation(
                f"{method}() on {typename}: a tenant id is sent as a value of that type, and a "
                "codec decides what is sent for it, while the guard compares the value given "
                f"to asyncpg{why}",
                f"{fix}set codecs of these types in the pool's init= (or inside "
                "`with unscoped(reason):`), where they are trusted to send the value they are "
                "given",
                f"{method}({typename!r})",
                reference=typename,
            )
        elif self._tg_contained():
            guard.violation(
                f"{method}() on {typename} {self._tg_containment()}: a codec stays on the "
                "connection (the pool's reset does not remove it) and decodes or encodes the "
                f"values of every later request, other tenants' included{why}",
                f"{fix}set codecs in the pool's init= (or inside `with unscoped(reason):`), where "
                "they are the application's configuration, not a request's",
                f"{method}({typename!r})",
                reference=typename,
            )

    # the hot path: see `_guarded`
    execute = _guarded(_execute, _then)
    fetch = _guarded(_fetch, _then)
    fetchval = _guarded(_fetchval, _then)
    fetchrow = _guarded(_fetchrow, _then)

    @_in_lease
    async def executemany(
        self, command: str, args: Iterable[Sequence[object]], *, timeout: float | None = None
    ) -> None:
        rows = [_frozen(row) for row in args]  # every row is checked before any is sent
        await self._tg_ensure(self._tg_admit_slow(command, rows))
        await super().executemany(command, rows, timeout=timeout)

    @_in_lease
    async def fetchmany(
        self,
        query: str,
        args: Iterable[Sequence[object]],
        *,
        timeout: float | None = None,
        record_class: Any = None,
    ) -> list[Any]:
        rows = [_frozen(row) for row in args]
        await self._tg_ensure(self._tg_admit_slow(query, rows))
        return await super().fetchmany(query, rows, timeout=timeout, record_class=record_class)  # type: ignore[no-any-return]

    @_in_lease
    async def prepare(  # type: ignore[override]
        self,
        query: str,
        *,
        name: str | None = None,
        timeout: float | None = None,
        record_class: Any = None,
    ) -> GuardedStatement:
        # the structure (and literal pins) is proven now; the values when the statement runs
        if type(plan := self._tg_admit_slow(query, ())) is Later:
            await self._tg_after_driver(plan)
        if name is not None:
            self._tg_check_statement_name(name, query)
        preparing = _PREPARING.set(self)
        try:
            statement = await super().prepare(
                query, name=name, timeout=timeout, record_class=record_class
            )
        finally:
            _PREPARING.reset(preparing)
        return GuardedStatement(statement, self, query)

    def _tg_check_statement_name(self, name: object, query: str) -> None:
        """Refuses a statement name of asyncpg's own (`__asyncpg_stmt_N__`, what it binds for a
        text it has run): were it free on the server (dropped by maintenance, by schema code),
        other SQL prepared under it would run for the text the guard proved."""
        guard = self.tenantguard
        scope = _get_scope()
        if guard.mode is Mode.OFF or _unscoped_here(scope):
            return
        if type(name) is not str or name.startswith("__asyncpg_"):
            guard.violation(
                "prepare(name=…) names the statement with a name of asyncpg's own, or not with "
                "a str: asyncpg binds its names for the texts it has run, and SQL prepared "
                "under one of them runs for a text the guard proved",
                "leave name= out (asyncpg names the statement), or pass a name of your own",
                query,
            )

    # the factory is lazy: the check happens now, where the call is; the setting before the
    # cursor's first round trip
    # each of its cursor's reads (a row of the iteration, `fetch`, `fetchrow`, `forward`)
    # runs only in the scope it was made in (`ScopedCursorFactory`)
    cursor = _scoped_cursor(_guarded(_cursor, _then_cursor))

    @_in_lease
    async def copy_from_query(self, /, query: str, *args: Any, output: Any, **kwargs: Any) -> str:
        await self._tg_ready()  # the checks below are made in one go, after the driver's
        _, kwargs = self._tg_copy_arguments("copy_from_query", {}, None, kwargs)
        if args:
            # asyncpg pastes the values into the text: prove the values, then the text it sends
            args = _frozen(args)
            self._tg_admit_slow(query, (args,))
            query = await self._tg_inline(query, args)
        wanted = self._tg_admit_slow(query, ((),))
        self._tg_one_statement(f"COPY ({query}) TO STDOUT", query)
        await self._tg_ensure(wanted)
        return await super().copy_from_query(query, output=output, **kwargs)

    async def _tg_inline(self, query: str, args: tuple[Any, ...]) -> str:
        """The query with its arguments as literals, placed where the real `$n` are (not in
        comments or strings), quoted by the server as asyncpg does."""
        statement = await asyncpg.Connection.prepare(self, query)
        types = []
        for parameter in statement.get_parameters():
            name = parameter.name
            name = "_" + name[:-2] if name.endswith("[]") else name
            types.append(f"{ident(parameter.schema)}.{ident(name)}")
        columns = ", ".join(f"quote_literal(${i}::{t}::text)" for i, t in enumerate(types, 1))
        row = await _fetchrow(self, f"SELECT {columns}", *args) if types else ()
        try:
            return inline_parameters(query, [value or "NULL" for value in row or ()])
        except ValueError as error:
            self.tenantguard.violation(
                f"the query's arguments cannot be placed in its text: {error}",
                "pass a query asyncpg can prepare, with $1, $2 … parameters",
                query,
            )
            return query

    def _tg_one_statement(self, sent: str, query: str) -> None:
        """Refuses a text that would not stay one statement once asyncpg wraps it."""
        statements, _ = split_sql(sent)
        if len(statements) != 1 or statements[0].error is not None:
            scope = _get_scope()
            if not _unscoped_here(scope):
                self.tenantguard.violation(
                    "the text would not be one statement once asyncpg places it in COPY: "
                    "an unbalanced quote, comment or `;` changes what the server runs",
                    "pass one complete query",
                    query,
                )

    @_in_lease
    async def copy_from_table(
        self, /, table_name: str, *, output: Any, schema_name: str | None = None, **kwargs: Any
    ) -> str:
        await self._tg_ready()
        columns, kwargs = self._tg_copy_arguments(
            "copy_from_table",
            {"table_name": table_name, "schema_name": schema_name},
            kwargs.pop("columns", None),
            kwargs,
        )
        if columns is not None:
            kwargs["columns"] = columns
        # proven as the COPY it is, whatever the table: a tenant table's is a whole-table read
        # (TG005), and a table where the server stores every tenant's data (a TOAST table,
        # pg_largeobject) is TG006 (asyncpg quotes the names: they are the exact table)
        wanted = self._tg_admit_slow(f"COPY {_table(table_name, schema_name)} TO STDOUT", ((),))
        await self._tg_ensure(wanted)
        return await super().copy_from_table(
            table_name, output=output, schema_name=schema_name, **kwargs
        )

    @_in_lease
    async def copy_to_table(  # type: ignore[override]
        self,
        /,
        table_name: str,
        *,
        source: Any,
        columns: Sequence[str] | None = None,
        schema_name: str | None = None,
        where: str | None = None,
        **kwargs: Any,
    ) -> str:
        await self._tg_ready()
        columns, kwargs = self._tg_copy_arguments(
            "copy_to_table",
            {"table_name": table_name, "schema_name": schema_name, "where": where},
            columns,
            kwargs,
        )
        # (without a column list, a table the guard does not check is proven as `INSERT …
        # DEFAULT VALUES`: its triggers run alike, and reading its columns would take a round
        # trip and the SELECT privilege, which COPY FROM does not need)
        wanted = self._tg_check_copy_in(table_name, schema_name, columns, None, where)
        await self._tg_ensure(wanted)
        return await super().copy_to_table(
            table_name,
            source=source,
            columns=columns,
            schema_name=schema_name,
            where=where,
            **kwargs,
        )

    @_in_lease
    async def copy_records_to_table(  # type: ignore[override]
        self,
        /,
        table_name: str,
        *,
        records: Iterable[Sequence[object]] | AsyncIterable[Sequence[object]],
        columns: Sequence[str] | None = None,
        schema_name: str | None = None,
        where: str | None = None,
        **kwargs: Any,
    ) -> str:
        await self._tg_ready()
        columns, kwargs = self._tg_copy_arguments(
            "copy_records_to_table",
            {"table_name": table_name, "schema_name": schema_name, "where": where},
            columns,
            kwargs,
        )
        streamed = isinstance(records, AsyncIterable)
        rows: list[tuple[object, ...]] | None = (
            None if streamed else [_frozen(r) for r in records]  # type: ignore[union-attr]
        )
        # the columns the COPY writes, each record's values in their order: without a list
        # (None, or an empty one: asyncpg's `if columns:`) every column of the table, the
        # tenant column too — not the INSERT … DEFAULT VALUES that naming none amounts to
        written = await self._tg_copied_columns(table_name, schema_name, columns)
        wanted = self._tg_check_copy_in(
            table_name, schema_name, written, rows, where, streamed=streamed
        )
        source: Any = rows
        if streamed:
            source = self._tg_checked_stream(
                records,  # type: ignore[arg-type]
                table_name,
                schema_name,
                written,
            )
        await self._tg_ensure(wanted)
        return await super().copy_records_to_table(
            table_name,
            records=source,
            # the columns the records were checked for, named: a COPY with no column list
            # writes by the table's order when it runs, which another session's DDL may have
            # moved since it was read (h37R: `copy_records_to_table('notes', records=[(1, 7)])`
            # in a transaction, after `tenant_id` was dropped and added again, wrote tenant 7);
            # another table's records are not checked: its COPY is asyncpg's (whose first
            # statement, `SELECT * FROM t LIMIT 1`, the guard's read of its columns prepared)
            columns=(
                (written or columns)
                if self.tenantguard.checks_relation(table_name, schema_name)
                else columns
            ),
            schema_name=schema_name,
            where=where,
            **kwargs,
        )

    def _tg_copy_arguments(
        self,
        method: str,
        texts: dict[str, object],
        columns: object,
        options: dict[str, Any],
    ) -> tuple[tuple[str, ...] | None, dict[str, Any]]:
        """Checks what a copy_* method writes into its COPY statement, before anything is sent.

        asyncpg builds the COPY as text (`_format_copy_opts`): names quoted with `.replace()`
        and where= added with `+` (both of which a str subclass overrides), text options
        quoted as literals (`''` only: sound while standard_conforming_strings is on), column
        lists quoted name by name, and `header`, `oids`, `freeze` pasted with `str()`. So names
        and where= must be exact `str`, flags `bool`, text options `str`, column lists
        iterables of `str` (read once here: asyncpg gets the tuple). Returns the columns and
        the options to pass on.
        """
        guard = self.tenantguard
        if guard.mode is Mode.OFF:
            return columns, options  # type: ignore[return-value]  # looked at by nobody
        problems: list[tuple[str, str, object]] = []  # (argument, what it must be, value)
        for name, value in texts.items():
            if value is not None and type(value) is not str:
                problems.append((name, "a str", value))
        names = column_names(columns)
        if names is None and columns is not None:
            problems.append(("columns", "a list of str", columns))
        checked = dict(options)
        quoted_texts = False
        for name, value in options.items():
            if value is None:
                continue
            if name in COPY_FLAGS:
                if type(value) is bool or (
                    name == "header" and type(value) is str and value.lower() == "match"
                ):
                    continue
                problems.append(
                    (name, "a bool" + (" (or 'match')" if name == "header" else ""), value)
                )
            elif name in COPY_TEXTS:
                if type(value) is str:
                    quoted_texts = True
                else:
                    problems.append((name, "a str", value))
            elif name in COPY_COLUMNS:
                if name == "force_quote" and type(value) is bool:
                    continue
                listed = column_names(value)
                if listed is None:
                    problems.append((name, "a list of str", value))
                else:
                    checked[name] = listed
        for name, expected, value in problems:
            guard.violation(
                f"{method}({name}=…) must be {expected}, not a {type(value).__name__}: asyncpg "
                "writes it into the COPY statement's text, where anything else can add SQL",
                f"pass {name}= as {expected}",
                f"{method}({name}=…)",
                reference=name,
            )
        if quoted_texts and not lexes_standard(self):
            scope = _get_scope()
            if not _unscoped_here(scope):
                problem, hint = session_problem(self) or ("the session changed", "")
                guard.violation(
                    f"{problem}: the COPY options asyncpg quotes as literals would end "
                    "elsewhere for the server",
                    hint,
                    f"{method}(…)",
                )
        return names, checked

    async def _tg_copied_columns(
        self, table_name: str, schema_name: str | None, columns: Sequence[str] | None
    ) -> Sequence[str] | None:
        """The columns `copy_records_to_table` writes: the ones named, or, when none is
        (asyncpg's COPY then has no column list and writes every column of the table in its
        order), the table's own, read as asyncpg reads them before its COPY (its statement
        `SELECT * FROM t LIMIT 1`, prepared with its cache: the COPY reuses it). A tenant
        table's records are checked against them; any table's COPY is proven as the INSERT
        into them it amounts to (`_tg_check_copy_in`)."""
        if columns or self.tenantguard.mode is Mode.OFF:
            return columns
        intro = f"SELECT * FROM {_table(table_name, schema_name)} LIMIT 1"
        statement = await self._prepare(intro, use_cache=True)  # type: ignore[attr-defined]
        return tuple(attribute.name for attribute in statement.get_attributes())

    def _tg_copy_insert(
        self, table_name: str, schema_name: str | None, columns: Sequence[str] | None
    ) -> str:
        """The INSERT a COPY into `table_name` amounts to, for the same proof."""
        target = _table(table_name, schema_name)
        names = list(columns or [])
        if not names:
            return f"INSERT INTO {target} DEFAULT VALUES"
        placeholders = ", ".join(f"${i + 1}" for i in range(len(names)))
        return (
            f"INSERT INTO {target} ({', '.join(ident(n) for n in names)}) VALUES ({placeholders})"
        )

    def _tg_check_copy_in(
        self,
        table_name: str,
        schema_name: str | None,
        columns: Sequence[str] | None,
        rows: list[tuple[object, ...]] | None,
        where: str | None,
        *,
        streamed: bool = False,
    ) -> Plan:
        """COPY into a table: the `where` is proven as an expression; into a tenant table the
        tenant column is required and each record's value checked (a file cannot be). Into
        any other table the COPY is proven as the INSERT it amounts to, which runs the same
        triggers, defaults and constraints (h40R: a trigger of `staging` copying each row into
        `patients` with the row's clinic wrote clinic 2's patient from clinic 1's
        `copy_records_to_table('staging', …)`, where `INSERT INTO staging` was refused)."""
        guard = self.tenantguard
        wanted = None
        if where is not None:
            wanted = self._tg_check_where(where)
        statement = self._tg_copy_insert(table_name, schema_name, columns)
        if not guard.checks_relation(table_name, schema_name):
            # no parameter of an INSERT into it pins a tenant: its structure is proven
            return combine(wanted, self._tg_admit_slow(statement, ()))
        if rows is None and not streamed:
            wanted = combine(wanted, self._tg_admit_slow(statement, ()))  # tenant column given
            scope = _get_scope()
            if not _unscoped_here(scope):
                guard.violation(
                    "COPY from a file into a tenant table: the tenant of each row cannot be "
                    "checked before it is written",
                    "use copy_records_to_table(), or run the import inside `with unscoped(reason):`",
                    statement,
                    reference=table_name,
                )
            return wanted
        return combine(wanted, self._tg_admit_slow(statement, rows if rows is not None else ()))

    def _tg_check_where(self, where: object) -> Plan:
        """`where` is pasted after `WHERE` in the COPY: it must be one expression, proven."""
        guard = self.tenantguard
        if not isinstance(where, str):
            guard.violation(f"where= must be a str, not {type(where).__name__}", "", repr(where))
            return None
        statements, _ = split_sql(where)
        if (
            len(statements) != 1
            or statements[0].error is not None
            or (statements[0].text != where.strip())
        ):
            scope = _get_scope()
            if not _unscoped_here(scope):
                guard.violation(
                    "where= is not one SQL expression: a `;`, an unbalanced quote or comment "
                    "would add statements to the COPY",
                    "pass a single condition on the copied columns",
                    where,
                )
        return self._tg_admit_slow(f"SELECT 1 WHERE ({where})", ((),))

    async def _tg_checked_stream(
        self,
        records: AsyncIterable[Sequence[object]],
        table_name: str,
        schema_name: str | None,
        columns: Sequence[str] | None,
    ) -> AsyncIterator[tuple[object, ...]]:
        """Checks each streamed record as asyncpg reads it: a wrong tenant aborts the COPY
        before its end, and PostgreSQL writes nothing of a failed COPY."""
        statement = self._tg_copy_insert(table_name, schema_name, columns)
        guard = self.tenantguard
        async for record in records:
            row = _frozen(record)
            guard.check(statement, (row,))
            yield row

    # -- pools' and drivers' own statements -------------------------------------------------

    async def _tg_driver_call(self, call: Callable[[], Awaitable[T]]) -> T:
        """Runs the driver's own statements unchecked; the session is re-read afterwards.

        Only the statements this task makes meanwhile are the driver's: a call the application
        makes on the connection from elsewhere waits for them to finish, then is checked."""
        if self._tg_is_driver():
            return await call()  # nested (a pool's reset= calling reset()): already the driver
        await self._tg_settled()
        done = self._tg_driver_start()
        try:
            return await call()
        finally:
            self._tg_driver_end(done)

    def _tg_driver_start(self, *, exempt: bool = True) -> asyncio.Event:
        """Marks this task as the driver's until `_tg_driver_end` (none may be in flight);
        not `exempt`: calls made meanwhile, this task's too, wait and are checked."""
        done = self._tg_driver = asyncio.Event()
        self._tg_driver_task = asyncio.current_task() if exempt else _NO_TASK
        self._tg_fast = False  # keeps the hot path out: every call goes to the driver check
        return done

    def _tg_driver_end(self, done: asyncio.Event) -> None:
        self._tg_driver = self._tg_driver_task = None
        done.set()
        self._tg_refresh()  # what the driver changed (RESET ALL) is forgotten


def _no_block_for_setting(guard: Guard, query: object) -> None:
    """Refuses (enforce) or reports a statement pinned by the tenant setting made where no
    tenant() block is: the guard would set the setting to '' for it, and the server fails
    (`invalid input syntax for type bigint: ""`) or, compared as text, matches no row. Code a
    thread runs (`loop.run_in_executor()`, `run_coroutine_threadsafe()`, `call_soon_threadsafe`
    from a thread) carries a context of its own, with no block in it."""
    setting = guard._tenant_setting
    guard.violation(
        f"the statement is pinned by the tenant setting ({setting}), but it is made outside any "
        "tenant() block, so the setting has no tenant to hold (code run by "
        "loop.run_in_executor() or handed to the loop from a thread carries no block)",
        "make the call inside `with tenant(id):`, in the code that makes it; to hand a "
        "block to a thread, copy it: `ctx = contextvars.copy_context()` in the block, then "
        "`loop.run_in_executor(None, ctx.run, fn)` (asyncio.to_thread copies it itself)",
        query,
    )


def _busy(protocol: object) -> bool:
    """True while an operation runs on the connection (a call another task made and has not
    seen the end of: `asyncio.ensure_future(conn.execute("BEGIN; SELECT …"))` left running when
    the request releases the connection). asyncpg's reset then fails ("another operation is in
    progress") and the pool terminates the connection; a skipped reset handed it on with the
    call running, whose BEGIN took the next request's writes into a transaction its release
    rolled back (round 30). asyncpg keeps the operation's future (its `waiter`, a timeout's
    handle) in attributes Python cannot read; the protocol's references show them (~1 us)."""
    return any(
        (isinstance(item, asyncio.Future) and not item.done())
        or isinstance(item, asyncio.TimerHandle)
        for item in gc.get_referents(protocol)
    )


def _unscoped_here(scope: Scope | None) -> bool:
    """True inside `unscoped()` where the code running asked for it: not in the consumer of a
    generator that holds an unscoped() block across its yield (`Scope.outside_owner`), which
    the guard refuses statements to and must not trust with the connection either."""
    if scope is None or scope.unscoped_reason is None or scope.over():
        return False
    return scope.owner is None or not scope.outside_owner()


def _outside_requests(dispatch: Callable[..., None], *args: Any) -> None:
    """Runs asyncpg's dispatch of listener callbacks (`call_soon`, `create_task`: each copies
    the context it is made in) in a copy of the current context without a tenant() or
    unscoped() scope. asyncpg dispatches from the socket's callbacks, which asyncio runs in the
    context that opened the connection or last resumed reading it (a request that opened it
    lazily in a pool, one whose COPY TO paused it, an unscoped() job), and from `close()`,
    made by whichever request releases the connection at its end (`max_queries`): a
    listener is no request's code, and runs in none's scope."""
    context = copy_context()
    context.run(_SCOPE.set, None)
    context.run(_INTROSPECTING.set, None)
    context.run(_PREPARING.set, None)
    context.run(dispatch, *args)


# a cursor name declared twice in one transaction (`GuardedConnection._tg_cursor_uses`)
_CONTESTED: tuple[str, object] = ("contested", object())


class GuardedStatement:
    """A prepared statement whose every execution checks its bound values."""

    __slots__ = ("_connection", "_query", "_statement", "_typed")

    def __init__(self, statement: Any, connection: GuardedConnection, query: str) -> None:
        self._statement = statement
        self._connection = connection
        self._query = query
        self._typed = -1  # the guard's generation in which its parameter types were found exact

    def __getattr__(self, name: str) -> Any:
        return getattr(self._statement, name)

    def _check(self, rows: Iterable[Sequence[object]], method: str) -> Plan:
        """The values, then the parameter types (checked again when the statement runs: it may
        have been prepared outside tenant(), where they were not refused).

        First asyncpg's own check that the pool has not taken the connection back since the
        statement was prepared: made after the guard's, it came too late — a statement kept
        past the release had the guard reset the session of the request holding the
        connection then (its TEMP tables and settings gone), or set the tenant setting in it,
        before asyncpg refused it (helper h33c)."""
        self._statement._check_conn_validity(method)
        connection = self._connection
        plan = connection._tg_admit_slow(self._query, rows)
        generation = connection.tenantguard._generation
        if self._typed != generation and connection._tg_types_exact(
            self._query, self._statement.get_parameters()
        ):
            self._typed = generation
        return plan

    async def _admit(self, rows: Iterable[Sequence[object]], method: str) -> None:
        await self._connection._tg_ensure(self._check(rows, method))

    async def fetch(self, *args: Any, timeout: float | None = None) -> list[Any]:
        args = _frozen(args)
        await self._admit((args,), "fetch")
        return await self._statement.fetch(*args, timeout=timeout)  # type: ignore[no-any-return]

    async def fetchrow(self, *args: Any, timeout: float | None = None) -> Any:
        args = _frozen(args)
        await self._admit((args,), "fetchrow")
        return await self._statement.fetchrow(*args, timeout=timeout)

    async def fetchval(self, *args: Any, column: int = 0, timeout: float | None = None) -> Any:
        args = _frozen(args)
        await self._admit((args,), "fetchval")
        return await self._statement.fetchval(*args, column=column, timeout=timeout)

    async def fetchmany(
        self, args: Iterable[Sequence[object]], *, timeout: float | None = None
    ) -> list[Any]:
        rows = [_frozen(r) for r in args]
        await self._admit(rows, "fetchmany")
        return await self._statement.fetchmany(rows, timeout=timeout)  # type: ignore[no-any-return]

    async def executemany(
        self, args: Iterable[Sequence[object]], *, timeout: float | None = None
    ) -> None:
        rows = [_frozen(r) for r in args]
        await self._admit(rows, "executemany")
        await self._statement.executemany(rows, timeout=timeout)

    def cursor(self, *args: Any, prefetch: int | None = None, timeout: float | None = None) -> Any:
        args = _frozen(args)
        connection = self._connection
        wanted = self._check((args,), "cursor")
        factory = self._statement.cursor(*args, prefetch=prefetch, timeout=timeout)
        if wanted is not None:
            factory = SettingCursorFactory(factory, connection, wanted)
        return ScopedCursorFactory.made(factory, connection, self._query)

    async def explain(self, *args: Any, analyze: bool = False) -> Any:
        """asyncpg's `explain`, with the statement itself checked (EXPLAIN ANALYZE runs it)
        instead of the EXPLAIN text, which hides the statement from the proof.

        Refused (TG006, as a raw `EXPLAIN` is) when the statement reads a tenant table: a plan
        shows the planner's row estimates, computed from statistics over every tenant's rows
        (the most common values of a column, with their frequencies), and EXPLAIN ANALYZE
        shows how many rows the tenant filter removed — other tenants' counts (round 19).
        Inside `unscoped()` it runs, as every statement does there."""
        import json

        args = _frozen(args)
        await self._admit((args,), "explain")
        connection = self._connection
        guard = connection.tenantguard
        if guard.mode is not Mode.OFF and not _unscoped_here(_get_scope()):
            verdict = guard.verdict(self._query)
            # a tenant table, or a view or function filtered by the tenant setting (round 26)
            if verdict.touches_tenant_tables or verdict.expression_pin:
                guard.violation(
                    "explain() of a statement on a tenant table (or a view or function filtered "
                    "by the tenant setting) shows planner estimates and row counts computed "
                    "over every tenant's rows",
                    "run EXPLAIN in a maintenance session (tenantguard.unscoped()), not in a "
                    "request",
                    self._query,
                    rule="TG006",
                )
        query = "EXPLAIN (FORMAT JSON, VERBOSE" + (", ANALYZE) " if analyze else ") ") + self._query
        if not analyze:
            data = await _fetchval(connection, query, *args)
        else:
            transaction = connection.transaction()
            await transaction.start()
            try:
                data = await _fetchval(connection, query, *args)
            finally:
                await transaction.rollback()
        return json.loads(data)


def _bound_class(
    guard: Guard, base: type[GuardedConnection] = GuardedConnection
) -> type[GuardedConnection]:
    return type(base.__name__, (base,), {"__slots__": (), "_tg_guard": guard})


def _connection_base(kwargs: dict[str, Any], factory: str) -> type[GuardedConnection]:
    """The class `connect`/`create_pool` bind the guard to: `connection_class=` (taken out of
    `kwargs`) when it is a subclass of GuardedConnection (an application's own methods), else
    refused: a class that is not the guard's would run every statement unguarded."""
    base = kwargs.pop("connection_class", GuardedConnection)
    if not (isinstance(base, type) and issubclass(base, GuardedConnection)):
        raise TypeError(
            f"{factory}(connection_class={base!r}): pass a subclass of "
            "tenantguard.runtime.GuardedConnection (class AppConnection(GuardedConnection): …), "
            "which the guard binds to its policy; a class not derived from it would run "
            "unguarded"
        )
    return base


def _guard_for(
    policy: Policy | None,
    mode: Mode | str,
    options: dict[str, Any],
    config: str | os.PathLike[str] | None = None,
) -> Guard:
    """The guard for `connect`/`create_pool`; refuses to start when it would guard nothing.
    Without a policy, the configuration `config` names, else the one found from the working
    directory upward, as `check` finds it (h37H: a service started from another directory
    could name none, and was told to configure what it had)."""
    mode = as_mode(mode)
    if policy is not None and config is not None:
        raise ConfigError(
            "tenantguard: pass one of policy= and config= (a configuration is read to build "
            "a policy when none is given)"
        )
    if policy is None:
        from tenantguard.config import build_policy, load_settings

        named = None if config is None else Path(config).resolve()
        if config is not None and named is not None and not named.is_file():
            raise ConfigError(
                f"tenantguard: config={os.fspath(config)!r}: {named} is not a file (a relative "
                f"path is read from the working directory, {Path.cwd()}); name the project's "
                "pyproject.toml or tenantguard.toml"
            )
        settings = load_settings(config=named)
        policy = build_policy(settings)
        if not policy.tenant_tables and mode is not Mode.OFF:
            if settings.config_file is None:
                raise ConfigError(
                    "tenantguard: no policy was given, and no pyproject.toml with "
                    "[tool.tenantguard] nor tenantguard.toml was found from the working "
                    f"directory ({Path.cwd()}) upward, so the configuration names no tenant "
                    "tables: the guard would allow every statement. "
                    "Pass config='/path/to/project/pyproject.toml' (a service started outside "
                    "its project), policy=Policy(tenant_column=…, tenant_tables={…}), or "
                    "mode='off' to run unguarded on purpose"
                )
            raise ConfigError(
                f"tenantguard: no policy was given and the configuration "
                f"({settings.config_file}) names no tenant tables: the guard would allow every "
                "statement. Pass policy=Policy(tenant_column=…, tenant_tables={…}), configure "
                "[tool.tenantguard] tenant_tables (or tenant_column and schema_paths), or pass "
                "mode='off' to run unguarded on purpose"
            )
    elif not policy.tenant_tables and mode is not Mode.OFF:
        raise ConfigError(
            "tenantguard: the policy names no tenant tables: the guard would allow every "
            "statement. Name them (Policy(tenant_tables={…})), or pass mode='off' to run "
            "unguarded on purpose"
        )
    return Guard(policy, mode=mode, **options)


_GUARD_OPTIONS = (
    "cache_bytes",
    "cache_size",
    "log_values",
    "max_statement_bytes",
    "report_interval",
    "require_tenant",
    "set_tenant_setting",
    "tenant_setting",
)


async def connect(
    dsn: str | None = None,
    *,
    policy: Policy | None = None,
    mode: Mode | str = Mode.ENFORCE,
    config: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> GuardedConnection:
    """`asyncpg.connect` with the guard.

    Guard options: `require_tenant`, `set_tenant_setting` (keep `app.tenant_id` equal to
    `tenant()` for RLS), `tenant_setting`, `cache_size`, `cache_bytes`, `max_statement_bytes`,
    `log_values` (bound values and literals in logs and errors), `report_interval` (seconds
    between two log lines of one statement and finding). Without a policy the project's
    configuration is read: `config=` (its pyproject.toml or tenantguard.toml), else the one found
    from the working directory upward; with no tenant tables anywhere it raises ConfigError (pass
    `mode="off"` to run unguarded on purpose). `connection_class=` takes a subclass of
    GuardedConnection (an application's own methods; any other class is refused).
    """
    options = {k: kwargs.pop(k) for k in _GUARD_OPTIONS if k in kwargs}
    base = _connection_base(kwargs, "connect")
    guard = _guard_for(policy, mode, options, config)
    connection = await asyncpg.connect(dsn, connection_class=_bound_class(guard, base), **kwargs)
    assert isinstance(connection, GuardedConnection)
    try:
        await connection._tg_read_schema_code()
    except BaseException:
        await connection.close()
        raise
    if connection._tg_names_pending:
        guard.names_not_found(connection._tg_names_problem)
    return connection


def create_pool(
    dsn: str | None = None,
    *,
    policy: Policy | None = None,
    mode: Mode | str = Mode.ENFORCE,
    config: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> GuardedPool:
    """`asyncpg.create_pool` whose connections share one guard (`pool.tenantguard`); guard
    options and `connection_class=` as for `connect`."""
    options = {k: kwargs.pop(k) for k in _GUARD_OPTIONS if k in kwargs}
    base = _connection_base(kwargs, "create_pool")
    guard = _guard_for(policy, mode, options, config)
    for hook in ("init", "setup"):
        configure = kwargs.get(hook)
        if configure is not None:
            kwargs[hook] = _configuring(configure)
    kwargs["init"] = _reading_schema_code(kwargs.get("init"))
    kwargs["setup"] = _checking_names(kwargs.get("setup"))
    reset = kwargs.get("reset")
    if reset is not None:
        # the pool's reset callback is the pool's own statement, like asyncpg's reset
        async def guarded_reset(connection: GuardedConnection) -> None:
            await connection._tg_driver_call(lambda: reset(connection))
            # it may have run UNLISTEN (h37V: the next lease, held while another session
            # replaced a view, read it as before): made again in the next lease's check
            connection._tg_listening = False
            if connection._tg_catalog_mark is not None:  # the watch checked before the next
                connection._tg_check_due = True
                connection._tg_fast = False

        kwargs["reset"] = guarded_reset
    settings: dict[str, Any] = {
        "min_size": 10, "max_size": 10, "max_queries": 50000,
        "max_inactive_connection_lifetime": 300.0, "loop": None,
        "record_class": asyncpg.Record,
    }  # fmt: skip
    settings.update(kwargs)  # asyncpg.create_pool's defaults, then the caller's
    return GuardedPool(dsn, guard=guard, connection_class=_bound_class(guard, base), **settings)


def _configuring(
    configure: Callable[[Any], Awaitable[Any]],
) -> Callable[[Any], Coroutine[Any, Any, Any]]:
    """The pool's `init=`/`setup=` run as the pool's configuration (see `_tg_configure`);
    `setup=` gets the pool's proxy, which passes the call on to the connection."""

    async def configured(connection: Any) -> Any:
        return await connection._tg_configure(lambda: configure(connection))

    return configured


def _checking_names(
    setup: Callable[[Any], Coroutine[Any, Any, Any]] | None,
) -> Callable[[Any], Coroutine[Any, Any, Any]]:
    """The pool's `setup=`: a connection opened before the schema existed checks the policy's
    names again as it is acquired (`GuardedConnection._tg_check_names_again`), then the
    caller's `setup=` runs, if any."""

    async def acquired(proxy: Any) -> Any:
        connection: Any = getattr(proxy, "_con", proxy)  # the proxy's connection
        if isinstance(connection, GuardedConnection) and (
            connection._tg_names_pending
            or connection._tg_names_problem
            or connection._tg_catalog_stale
        ):
            await connection._tg_check_names_again()
        return None if setup is None else await setup(proxy)

    return acquired


def _reading_schema_code(
    init: Callable[[Any], Coroutine[Any, Any, Any]] | None,
) -> Callable[[Any], Coroutine[Any, Any, Any]]:
    """The pool's `init=`: each new connection reads the schema's code first (see
    `GuardedConnection._tg_read_schema_code`), then runs the caller's `init=`, if any."""

    async def initialised(connection: Any) -> Any:
        await connection._tg_read_schema_code()
        if isinstance(connection, GuardedConnection) and connection._tg_catalog_mark is not None:
            # the pool may hand it out long after: the watch checked before its first lease
            connection._tg_check_due = True
            connection._tg_fast = False
        if init is None:
            return None
        result = await init(connection)
        if isinstance(connection, GuardedConnection):
            await connection._tg_keep_identity()  # the init's role, which the reset keeps
        return result

    return initialised


class GuardedPool(Pool):
    """An asyncpg pool of guarded connections; `pool.tenantguard` is their shared guard."""

    __slots__ = ("tenantguard",)

    def __init__(self, *args: Any, guard: Guard, **kwargs: Any) -> None:
        self.tenantguard = guard
        super().__init__(*args, **kwargs)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self.tenantguard.flush_reports()
