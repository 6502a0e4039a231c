"""Runtime guard: a drop-in asyncpg connection that enforces the tenant proof in production.

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant, unscoped

pool = await create_pool(dsn, policy=policy, min_size=2)
with tenant(42):
    await pool.fetch("SELECT … FROM patients WHERE tenant_id = $1", 42)

Names load on first use, so that `tenantguard.runtime.rule` (read by `tenantguard rule`) does not
import asyncpg.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tenantguard.errors import TenantIsolationError
    from tenantguard.runtime.connection import (
        GuardedConnection,
        GuardedPool,
        GuardedStatement,
        connect,
        create_pool,
    )
    from tenantguard.runtime.context import current_scope, tenant, unscoped
    from tenantguard.runtime.guard import Guard, Mode
    from tenantguard.runtime.rls import rls_policy_sql

_WHERE = {
    "Guard": "guard",
    "GuardedConnection": "connection",
    "GuardedPool": "connection",
    "GuardedStatement": "connection",
    "Mode": "guard",
    "connect": "connection",
    "create_pool": "connection",
    "current_scope": "context",
    "rls_policy_sql": "rls",
    "tenant": "context",
    "unscoped": "context",
}

__all__ = [
    "Guard",
    "GuardedConnection",
    "GuardedPool",
    "GuardedStatement",
    "Mode",
    "TenantIsolationError",
    "connect",
    "create_pool",
    "current_scope",
    "rls_policy_sql",
    "tenant",
    "unscoped",
]


def __getattr__(name: str) -> Any:
    if name == "TenantIsolationError":
        from tenantguard.errors import TenantIsolationError

        return TenantIsolationError
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tenantguard.runtime' has no attribute {name!r}")
    try:
        loaded = importlib.import_module(f"tenantguard.runtime.{module}")
    except ModuleNotFoundError as error:
        if error.name != "asyncpg":
            raise
        raise ModuleNotFoundError(
            f"tenantguard.runtime.{name} needs asyncpg, which is not installed: "
            "pip install 'tenantguard[runtime]'",
            name="asyncpg",
        ) from error
    value = getattr(loaded, name)
    globals()[name] = value
    return value
