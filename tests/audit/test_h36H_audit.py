"""`tenantguard audit` as a team adopting it runs it (h36H): the traffic of an application that
pins by the tenant setting, as the README's runtime section shows, recorded by
pg_stat_statements."""

from __future__ import annotations

import asyncpg
import pytest

from tests.audit.test_audit import APP, Server, _log_file, audit, execute, run, server

__all__ = ["server"]  # the module's fixture, shared


async def _pinned_by_the_setting(dsn: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET app.tenant_id = '1'")
        return [
            tuple(r)
            for r in await conn.fetch(
                "SELECT name FROM patients "
                "WHERE tenant_id = current_setting('app.tenant_id')::bigint"
            )
        ]
    finally:
        await conn.close()


def test_a_pin_by_the_tenant_setting_in_pg_stat_statements_says_why_it_cannot_be_read(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """pg_stat_statements records every constant as a parameter, the setting's name too:
    `… WHERE tenant_id = current_setting($1)::bigint`. The audit said TG001 "the other side is
    not a pinning value or a pinned tenant column" on a statement that returned clinic 1's row
    alone — a developer reading it sees `'app.tenant_id'` in the code and no reason. It stays a
    finding (the name cannot be read: `current_setting('app.other')` records alike), now saying
    why and what to do."""
    name = server.database()
    assert run(_pinned_by_the_setting(server.dsn(name, APP))) == [("Ana",)]
    code, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    assert code == 1, err
    traffic = [f for f in findings if str(f["path"]).startswith("db:pg_stat_statements/")]
    assert [f["rule"] for f in traffic] == ["TG001"]
    assert "current_setting($1)::bigint" in str(traffic[0]["message"])
    assert "pg_stat_statements records the setting's name as a parameter" in str(traffic[0]["help"])
    assert "--statements" in str(traffic[0]["help"])


def test_the_same_pin_read_from_the_server_log_is_proven(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the advice says: the server's log keeps `current_setting('app.tenant_id')`."""
    name = server.database("DROP EXTENSION pg_stat_statements")
    assert run(_pinned_by_the_setting(server.dsn(name, APP))) == [("Ana",)]
    marker = f"SELECT 'end of {name}'"
    run(execute(server.dsn(name), marker))
    log = _log_file(server, "csv", marker)
    code, findings, err = audit(capsys, server.dsn(name), "--role", APP, "--statements", str(log))
    assert code == 0, err
    assert findings == []
