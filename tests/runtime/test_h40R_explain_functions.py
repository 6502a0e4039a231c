"""Session 40 (helper h40R): a raw `EXPLAIN` of a statement that reads tenant rows through a
function pinned by its argument, on a real server.

An EXPLAIN of a statement on a tenant table is refused (TG006, round 19: EXPLAIN ANALYZE shows
how many rows the tenant filter removed — the other tenants' count — and the planner's
estimates come from every tenant's rows), and so is one of a view or function filtered by the
tenant setting (round 26), and a prepared statement's `explain()` of anything that reads
tenant rows. A raw EXPLAIN of a call of a function pinned by its argument (`names_of(t)`: `SELECT
first_name FROM patients WHERE tenant_id = t`, inlined by the planner) passed: clinic 1's
`EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM names_of($1)` showed `Rows Removed by Filter: 1`,
clinic 2's patient count. Now an EXPLAIN is refused when the statement it explains reads tenant
rows, as the prepared statement's `explain()` is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import GuardedConnection, connect, tenant, unscoped
from tests.runtime.test_h36C_attacks import _raw
from tests.runtime.test_runtime import POLICY

NAMES_OF = (
    "CREATE FUNCTION names_of(t bigint) RETURNS SETOF text LANGUAGE sql STABLE"
    " AS $$ SELECT first_name FROM patients WHERE tenant_id = t $$;"
)
EXPLAINS = [
    "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM names_of($1)",
    "EXPLAIN ANALYZE SELECT * FROM names_of($1)",
    "explain /* plan */ (costs off) select n from names_of($1) as n",
    "EXPLAIN VERBOSE SELECT count(*) FROM names_of($1)",
]


@pytest.fixture
async def conn(two_clinics: str) -> AsyncIterator[GuardedConnection]:
    await _raw(two_clinics, NAMES_OF)
    connection = await connect(two_clinics, policy=POLICY)
    # a sequential scan: its filter removes the other clinics' rows, and says how many
    await connection.execute("SET enable_indexscan = off")
    await connection.execute("SET enable_bitmapscan = off")
    yield connection
    await connection.close()


@pytest.mark.parametrize("explain", EXPLAINS)
async def test_an_explain_of_a_function_reading_tenant_rows(
    conn: GuardedConnection, explain: str
) -> None:
    with tenant(1):
        try:
            plan: object = [r[0] for r in await conn.fetch(explain, 1)]
        except TenantIsolationError:
            plan = "refused"
        # was […, 'Rows Removed by Filter: 1', …]: clinic 2's patient count
        assert plan == "refused"
        assert [r[0] for r in await conn.fetch("SELECT * FROM names_of($1)", 1)] == ["Ana", "Bruno"]


async def test_the_explains_that_pass(conn: GuardedConnection) -> None:
    with tenant(1):
        plan = await conn.fetch("EXPLAIN (COSTS OFF) SELECT name FROM tenants WHERE id = $1", 1)
        assert plan  # a global table's plan
    with unscoped("a DBA's look at the plan"):
        plan = await conn.fetch(EXPLAINS[0], 1)
    assert "Rows Removed by Filter: 1" in [r[0].strip() for r in plan]


def test_the_static_check_flags_what_the_guard_refuses(tmp_path: object) -> None:
    """`tenantguard check` with the same function in the schema sources: each EXPLAIN is TG006
    (s40: it passed — the EXPLAIN names no tenant table), the call itself is proven."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "db").mkdir()
    (root / "db/schema.sql").write_text(
        "CREATE TABLE tenants (id bigint PRIMARY KEY);\n"
        "CREATE TABLE patients (id bigserial PRIMARY KEY, first_name text,\n"
        "    tenant_id bigint NOT NULL REFERENCES tenants (id));\n" + NAMES_OF + "\n",
        encoding="utf-8",
    )
    (root / "pyproject.toml").write_text('[tool.tenantguard]\nschema_paths = ["db"]\n')
    (root / "q.sql").write_text(
        "".join(f"{e};\n" for e in [*EXPLAINS, "SELECT * FROM names_of($1)"]), encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "--format", "json", "q.sql"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    found = [(f["line"], f["rule"]) for f in json.loads(result.stdout)["findings"]]
    assert found == [(n + 1, "TG006") for n in range(len(EXPLAINS))], result.stderr
    assert result.returncode == 1
