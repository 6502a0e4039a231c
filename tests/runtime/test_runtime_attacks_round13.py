"""Round 13: what the guard decides with, changed by the request it guards.

A request can reach its connection's guard (`conn.tenantguard`, `pool.tenantguard`): besides
`mode` (logged since round 12b), the policy, `require_tenant`, `set_tenant_setting`, the tenant
setting's name, `log_values` and `max_statement_bytes` were plain attributes. A request could
swap the policy or drop `require_tenant` for every connection of the pool without a line in the
log, and verdicts cached under the old options stayed in the cache: a statement admitted under
a policy that took patients for a global table was still admitted, from the cache, once the
right policy was back. Each option is now a property: a change is logged with its call site,
clears the cached verdicts, and a value of the wrong type — or a policy naming no tenant table —
is refused as in the constructor. What the connections keep on the server (whether they keep
the tenant setting, and its name) is fixed. The tests run on
the real server, in the `guard` and `guard+rls` setups, and assert on the rows.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tenantguard import TenantIsolationError
from tenantguard.engine.policy import Policy
from tenantguard.errors import ConfigError
from tenantguard.runtime import tenant
from tests.runtime.test_runtime_attacks import CLINIC_1, PINNED, POLICY, Setup
from tests.runtime.test_runtime_attacks_round11 import setup

__all__ = ["setup"]

UNPINNED = "SELECT first_name FROM patients ORDER BY first_name"
# patients taken for a global table (another table stays a tenant table)
PATIENTS_GLOBAL = Policy("tenant_id", {"appointments"}, global_tables={"tenants", "patients"})


def changes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if " changed from " in r.getMessage()]


async def test_a_verdict_made_under_another_policy_is_not_kept(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    """The request swaps in a policy that takes patients for a global table, runs the unpinned
    read (the API's promise: admitted), and puts the right policy back: the same text is refused again
    (it was served from the cache, made under the other policy), and both swaps are logged with
    this file's line."""
    conn = await setup.connect()
    try:
        with tenant(1), caplog.at_level(logging.WARNING, logger="tenantguard"):
            guard = conn.tenantguard
            guard.policy = PATIENTS_GLOBAL
            swapped = [r[0] for r in await conn.fetch(UNPINNED)]
            guard.policy = POLICY
            with pytest.raises(TenantIsolationError):
                await conn.fetch(UNPINNED)  # the hot path's cache
            with pytest.raises(TenantIsolationError):
                await conn.fetch(UNPINNED)  # and again, once the slow path has looked
            pinned = [r[0] for r in await conn.fetch(PINNED, 1)]
    finally:
        await conn.close()
    assert pinned == CLINIC_1
    if setup.name == "guard":  # row-level security still keeps clinic 2's rows out
        assert "Carla" in swapped
    lines = changes(caplog)
    assert len(lines) == 2, lines
    assert all("policy changed" in line for line in lines)
    assert all("test_runtime_attacks_round13.py:" in line for line in lines)


async def test_dropping_require_tenant_is_logged_and_taking_it_back_holds(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside tenant(), with `require_tenant`, a read of a tenant table is refused even from
    the hot path's cache; a request turning the option off is logged, and turning it on again
    refuses the same cached text again."""
    conn = await setup.connect(require_tenant=True)
    try:
        with tenant(1):
            assert [r[0] for r in await conn.fetch(PINNED, 1)] == CLINIC_1  # cached now
        with pytest.raises(TenantIsolationError):
            await conn.fetch(PINNED, 1)
        with caplog.at_level(logging.WARNING, logger="tenantguard"):
            conn.tenantguard.require_tenant = False
            outside = [r[0] for r in await conn.fetch(PINNED, 1)]
            conn.tenantguard.require_tenant = False  # no change: no line
            conn.tenantguard.require_tenant = True
        with pytest.raises(TenantIsolationError):
            await conn.fetch(PINNED, 1)
    finally:
        await conn.close()
    if setup.name == "guard":  # with RLS and no tenant setting, the policy shows no rows
        assert outside == CLINIC_1
    lines = changes(caplog)
    assert [line.split(" at ")[0] for line in lines] == [
        "tenantguard: require_tenant changed from True to False",
        "tenantguard: require_tenant changed from False to True",
    ]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("require_tenant", "no"),  # a non-empty string is true: refused, not read as False
        ("require_tenant", 0),
        ("log_values", 1),
        ("policy", {"tenant_tables": []}),
        ("policy", Policy("tenant_id", set())),  # no tenant table: refused as connect() does
        ("max_statement_bytes", 0),
        ("max_statement_bytes", 10.5),
    ],
)
async def test_an_option_of_the_wrong_kind_is_refused_and_nothing_changes(
    setup: Setup, option: str, value: object
) -> None:
    conn = await setup.connect(require_tenant=True)
    try:
        guard = conn.tenantguard
        before = getattr(guard, option)
        with pytest.raises((TypeError, ValueError, ConfigError), match=option):
            setattr(guard, option, value)
        assert getattr(guard, option) == before
        with pytest.raises(TenantIsolationError):  # the guard still holds
            await conn.fetch(UNPINNED)
        with tenant(1):
            assert [r[0] for r in await conn.fetch(PINNED, 1)] == CLINIC_1
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("option", "value"), [("tenant_setting", "app.other"), ("set_tenant_setting", False)]
)
async def test_what_the_connections_keep_on_the_server_cannot_change_under_them(
    setup: Setup, option: str, value: object
) -> None:
    """Each connection knows the value of the tenant setting it set, under the guard's name for
    it: renamed at run time, the connection took the new name's value for known (nothing was
    set under it), and turned off, the setting of the last request stayed on the connection for
    the next one. Both are fixed when the guard is made; the request's own tenant is still the
    one the server sees."""
    conn = await setup.connect(set_tenant_setting=True)
    try:
        with tenant(2):
            assert [r[0] for r in await conn.fetch(PINNED, 2)] != CLINIC_1
        with tenant(1):
            with pytest.raises(AttributeError, match=f"{option} is fixed"):
                setattr(conn.tenantguard, option, value)
            names = [r[0] for r in await conn.fetch(PINNED, 1)]
            setting = await conn.fetchval("SELECT current_setting('app.tenant_id')")
    finally:
        await conn.close()
    assert names == CLINIC_1 and setting == "1"


# --- the application's own wrapper: the log says which code called it ------------------------


async def fetch_all(conn: object, sql: str, *args: object) -> list[object]:
    return await conn.fetch(sql, *args)  # type: ignore[attr-defined,no-any-return]  # WRAPPER


async def list_patients(conn: object) -> list[object]:
    return await fetch_all(conn, UNPINNED)  # CALLER


async def test_a_finding_through_a_projects_wrapper_names_the_code_that_called_it(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    """Every statement of a project that sends its SQL through one helper had the helper's
    line for call site: the log line now also names the application's frames above it."""
    source = Path(__file__).read_text().splitlines()
    wrapper = next(n for n, line in enumerate(source, 1) if line.endswith("# WRAPPER"))
    caller = next(n for n, line in enumerate(source, 1) if line.endswith("# CALLER"))
    conn = await setup.connect(mode="report")
    try:
        with tenant(1), caplog.at_level(logging.WARNING, logger="tenantguard"):
            await list_patients(conn)
    finally:
        await conn.close()
    (record,) = [r for r in caplog.records if "rule" in getattr(r, "tenantguard", {})]
    fields = record.tenantguard  # type: ignore[attr-defined]
    assert fields["call_site"] == f"{__file__}:{wrapper}"
    assert fields["callers"][0] == f"{__file__}:{caller}"
    assert f"(called from {__file__}:{caller}" in record.getMessage()
