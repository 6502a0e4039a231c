"""Runtime guard: a drop-in asyncpg connection that enforces the tenant proof in production.

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant, unscoped

pool = await create_pool(dsn, policy=policy, min_size=2)
with tenant(42):
    await pool.fetch("SELECT … FROM patients WHERE tenant_id = $1", 42)
"""

from __future__ import annotations

from tenantguard.errors import TenantIsolationError
from tenantguard.runtime.connection import GuardedConnection, GuardedStatement, connect, create_pool
from tenantguard.runtime.context import current_scope, tenant, unscoped
from tenantguard.runtime.guard import Guard, Mode
from tenantguard.runtime.rls import rls_policy_sql

__all__ = [
    "Guard",
    "GuardedConnection",
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
