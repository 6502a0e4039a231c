"""What a guarded connection checks of the codecs an application sets (`set_type_codec`,
`set_builtin_type_codec`, and asyncpg's settings methods they call): the types a tenant value is
sent as, whose codec decides what a tenant id becomes; encoders and decoders that are coroutine
functions; and the view of asyncpg's settings `get_settings()` hands out, whose methods that
change codecs are checked first.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: connection.py imports this module
    from tenantguard.runtime.connection import GuardedConnection

# the types a tenant value is sent as, with the other names asyncpg knows them by
# (protocol.BUILTIN_TYPE_NAME_MAP): a codec set on one of them decides what a tenant id becomes
TENANT_TYPES = frozenset(
    {
        "int2", "smallint", "int4", "int", "integer", "int8", "bigint", "numeric", "decimal",
        "text", "varchar", "character varying", "bpchar", "char", "character", "name", "uuid",
    }
)  # fmt: skip


def coroutine_functions(functions: dict[str, Any] | None) -> str:
    """Which of a codec's `encoder=`/`decoder=` are coroutine functions ('' when none)."""
    found = [
        name
        for name in ("encoder", "decoder")
        if functions
        and (
            inspect.iscoroutinefunction(function := functions.get(name))
            or inspect.iscoroutinefunction(vars(type(function)).get("__call__"))
        )
    ]
    if not found:
        return ""
    return (
        " and ".join(f"{name}=" for name in found)
        + (" is" if len(found) == 1 else " are")
        + (" a coroutine function" if len(found) == 1 else " coroutine functions")
    )


class GuardedSettings:
    """asyncpg's `ConnectionSettings` as `GuardedConnection.get_settings()` hands it out: the
    settings the server reported read as asyncpg's do (`settings.server_version`), and the
    methods that only read; any other method (`add_python_codec`… what `set_type_codec` calls,
    and whatever a later asyncpg adds) is checked first."""

    __slots__ = ("_connection", "_settings")

    def __init__(self, settings: Any, connection: GuardedConnection) -> None:
        self._settings = settings
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._settings, name)
        if name in _READING_METHODS or not hasattr(type(self._settings), name):
            return value  # a setting the server reported, or a method that only reads

        def checked(*args: Any, **kwargs: Any) -> Any:
            self._connection._tg_check_settings(name)
            return value(*args, **kwargs)

        return checked

    def __repr__(self) -> str:
        return repr(self._settings)


# the methods of asyncpg's ConnectionSettings that change nothing
_READING_METHODS = frozenset(
    {"get_data_codec", "get_json_decoder", "get_json_encoder", "get_text_codec"}
)
