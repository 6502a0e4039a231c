"""`tenantguard demo`: the runtime guard on a throwaway PostgreSQL, two clinics, real requests.

The schema and rows ship inside the package (`tenantguard/data/`, read with importlib.resources)
and the policy is read from that schema: the demo runs the same from any directory, with or
without a configuration there, after a normal `pip install 'tenantguard[runtime]'`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tenantguard.embedded import EmbeddedError, ThrowawayPostgres
from tenantguard.errors import TenantIsolationError

if TYPE_CHECKING:
    from tenantguard.engine.policy import Policy

__all__ = ["demo_policy", "demo_sql", "run_demo"]


def demo_sql(name: str) -> str:
    """A file of the demo's data: `demo_schema.sql` or `demo_rows.sql`."""
    return files("tenantguard").joinpath("data", name).read_text(encoding="utf-8")


def demo_policy() -> Policy:
    """The policy the demo's schema shows (tenant tables: those with tenant_id)."""
    from tenantguard.config import Settings, build_policy

    with tempfile.TemporaryDirectory(prefix="tg-demo-") as directory:
        Path(directory, "schema.sql").write_text(demo_sql("demo_schema.sql"), encoding="utf-8")
        settings = Settings(root=Path(directory), schema_paths=("schema.sql",))
        return build_policy(settings.with_overrides(global_tables=("tenants",)))


def _say(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")
    out.flush()


async def _requests(dsn: str, policy: Policy, out: TextIO) -> None:
    import asyncpg

    from tenantguard.runtime import create_pool, tenant

    pool = await create_pool(dsn, policy=policy, min_size=2, max_size=4)
    try:
        _say(out, "Requests of two clinics through one guarded pool:")
        for clinic in (1, 2):
            with tenant(clinic):
                rows = await pool.fetch(
                    "SELECT first_name, status FROM patients WHERE tenant_id = $1 ORDER BY id",
                    clinic,
                )
                names = ", ".join(f"{r['first_name']} ({r['status']})" for r in rows)
                _say(out, f"  clinic {clinic}: GET /patients -> {names}")
                await pool.execute(
                    "INSERT INTO chat_messages (tenant_id, patient_id, direction, body) "
                    "SELECT $1, id, 'inbound', 'hola' FROM patients WHERE tenant_id = $1 LIMIT 1",
                    clinic,
                )
                _say(out, f"  clinic {clinic}: POST /messages -> stored")
        _say(out)
        _say(out, "A handler forgets the tenant filter (search by phone):")
        with tenant(1):
            try:
                # tenantguard: ignore[TG001] -- the demo's deliberate leak, blocked at run time
                await pool.fetch("SELECT * FROM patients WHERE phone_number = $1", "221")
                _say(out, "  NOT BLOCKED (this is a bug)")
            except TenantIsolationError as error:
                _say(out, f"  BLOCKED before reaching PostgreSQL: {error}")
        _say(out)
        _say(out, "A handler of clinic 1 writes with clinic 2's id (taken from the request body):")
        with tenant(1):
            try:
                await pool.execute(
                    "UPDATE patients SET status = 'active' WHERE tenant_id = $1 AND id = $2", 2, 3
                )
                _say(out, "  NOT BLOCKED (this is a bug)")
            except TenantIsolationError as error:
                _say(out, f"  BLOCKED before reaching PostgreSQL: {error}")
        raw = await asyncpg.connect(dsn)
        try:
            status = await raw.fetchval(
                "SELECT status FROM patients WHERE tenant_id = 2 AND id = 3"
            )
        finally:
            await raw.close()
        _say(out, f"  clinic 2's patient is untouched: status = {status!r}")
        _say(out)
        counters = pool.tenantguard.counters
        _say(out, "Guard counters: " + ", ".join(f"{k}={v}" for k, v in counters.items()))
    finally:
        await pool.close()


async def _demo(out: TextIO) -> int:
    import asyncpg

    policy = demo_policy()
    server = ThrowawayPostgres()
    try:
        _say(out, "Starting a throwaway PostgreSQL from the local server binaries…")
        await asyncio.to_thread(server.start)
        _say(out, f"  listening on 127.0.0.1:{server.port}, data in {server.directory}")
        admin = await asyncpg.connect(server.dsn)
        try:
            for name in ("demo_schema.sql", "demo_rows.sql"):
                # tenantguard: ignore[TG009] -- the demo's own schema and rows (tenantguard/data)
                await admin.execute(demo_sql(name))
        finally:
            await admin.close()
        tables = ", ".join(sorted(policy.tenant_tables))
        _say(out, f"  loaded the demo clinic schema; tenant tables (tenant_id): {tables}")
        _say(out)
        await _requests(server.dsn, policy, out)
        return 0
    finally:
        await asyncio.to_thread(server.stop)
        _say(out, "Stopped the server and removed its files.")


def run_demo(out: TextIO = sys.stdout) -> int:
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        _say(
            sys.stderr,
            "tenantguard: error: the demo runs the runtime guard, which needs asyncpg: "
            "pip install 'tenantguard[runtime]'",
        )
        return 2
    # the demo prints what the guard did; its log records would repeat it on stderr
    logger = logging.getLogger("tenantguard")
    quiet = logging.NullHandler()
    logger.addHandler(quiet)
    propagate, logger.propagate = logger.propagate, False
    try:
        return asyncio.run(_demo(out))
    except EmbeddedError as error:
        _say(sys.stderr, f"tenantguard: error: {error}")
        return 2
    finally:
        logger.removeHandler(quiet)
        logger.propagate = propagate
