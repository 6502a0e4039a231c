"""`tenantguard demo`: the runtime guard on a throwaway PostgreSQL, two clinics, real requests."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TextIO

import asyncpg

from tenantguard.config import Settings, build_policy
from tenantguard.embedded import EmbeddedError, ThrowawayPostgres
from tenantguard.errors import TenantIsolationError

__all__ = ["run_demo"]


def _say(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")
    out.flush()


async def _requests(dsn: str, settings: Settings, out: TextIO) -> None:
    from tenantguard.runtime import create_pool, tenant

    policy = build_policy(settings)
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


async def _demo(settings: Settings, patches: Path, out: TextIO) -> int:
    server = ThrowawayPostgres()
    try:
        _say(out, "Starting a throwaway PostgreSQL from the local server binaries…")
        await asyncio.to_thread(server.start)
        _say(out, f"  listening on 127.0.0.1:{server.port}, data in {server.directory}")
        from tenantguard.patches.runner import apply_patches

        run = await apply_patches(server.dsn, patches)
        _say(out, f"  applied {len(run.applied)} Dentalogic patches from {patches}")
        admin = await asyncpg.connect(server.dsn)
        try:
            await admin.execute(
                "INSERT INTO tenants (id, name) VALUES (1, 'Clinica Norte'), (2, 'Clinica Sur');"
                "INSERT INTO patients (tenant_id, first_name, last_name, dni, phone_number, status) "
                "VALUES (1, 'Ana', 'Paz', '30111222', '111', 'active'), "
                "(1, 'Bruno', NULL, NULL, '112', 'guest'), (2, 'Carla', NULL, NULL, '221', 'guest');"
            )
        finally:
            await admin.close()
        _say(out)
        await _requests(server.dsn, settings, out)
        return 0
    finally:
        await asyncio.to_thread(server.stop)
        _say(out, "Stopped the server and removed its files.")


def run_demo(settings: Settings, out: TextIO = sys.stdout) -> int:
    schema = settings.root / settings.patch_dir
    if not schema.is_dir():
        _say(
            sys.stderr,
            f"tenantguard: error: the patch directory {schema} is missing; run the demo from "
            "the tenantguard repository (or set patch_dir in [tool.tenantguard])",
        )
        return 2
    # the demo prints what the guard did; its log records would repeat it on stderr
    logger = logging.getLogger("tenantguard")
    quiet = logging.NullHandler()
    logger.addHandler(quiet)
    propagate, logger.propagate = logger.propagate, False
    try:
        return asyncio.run(_demo(settings, schema, out))
    except EmbeddedError as error:
        _say(sys.stderr, f"tenantguard: error: {error}")
        return 2
    finally:
        logger.removeHandler(quiet)
        logger.propagate = propagate
