"""Round 17: a CTE that calls a VOLATILE function is never folded into its reader.

PostgreSQL folds a CTE read once into the query that reads it (and a pin outside is then applied
to its rows as they are read) only when the CTE calls no VOLATILE function anywhere —
`NOT MATERIALIZED` or not. Otherwise its body runs over every tenant's rows first, and what runs
there (an error, a side effect) sees them: a division by zero on another tenant's row tells that
the row exists. The proof pushed the outer pin into such a CTE; now it does not. Volatile: a
built-in one (`random()`, `nextval()`…), or any function neither built in nor declared IMMUTABLE or
STABLE by the schema (PostgreSQL's default is VOLATILE). `check` (schema files) and `audit` (the
catalog) agree on which functions are not volatile.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.runtime import tenant
from tenantguard.sources.schema import read_schema

from .test_attack11_proof import _codes
from .test_audit_parity import _agree, _policies
from .test_runtime_attacks import CLINIC_1, Setup
from .test_runtime_attacks_round3 import guard_only
from .test_runtime_attacks_round15 import names_or_refused
from .test_schema import policy_for

__all__ = ["guard_only"]

FUNCTIONS = """
CREATE TABLE tasks (id bigint PRIMARY KEY, org bigint NOT NULL, title text);
CREATE FUNCTION f_stable(t text) RETURNS text LANGUAGE sql STABLE AS $$ SELECT lower(t) $$;
CREATE FUNCTION f_immutable(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT t $$;
CREATE FUNCTION f_default(t text) RETURNS text LANGUAGE sql AS $$ SELECT t $$;
CREATE FUNCTION f_volatile(t text) RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT t $$;
CREATE FUNCTION f_overloaded(t text) RETURNS text LANGUAGE sql STABLE AS $$ SELECT t $$;
CREATE FUNCTION f_overloaded(t int) RETURNS text LANGUAGE sql AS $$ SELECT t::text $$;
CREATE FUNCTION f_altered(t text) RETURNS text LANGUAGE sql STABLE AS $$ SELECT t $$;
ALTER FUNCTION f_altered(text) VOLATILE;
CREATE FUNCTION f_made_stable(t text) RETURNS text LANGUAGE sql AS $$ SELECT t $$;
ALTER FUNCTION f_made_stable(text) STABLE;
"""
STABLE = {"f_stable", "f_immutable", "f_made_stable"}


def test_the_schema_reader_knows_the_functions_that_are_not_volatile(tmp_path: Path) -> None:
    (tmp_path / "s.sql").write_text(FUNCTIONS, encoding="utf-8")
    assert read_schema([tmp_path]).stable_functions == STABLE


@pytest.mark.parametrize(
    "ddl",
    [
        "ALTER FUNCTION f_stable(text) RENAME TO f_old;",
        "CREATE SCHEMA other; ALTER FUNCTION f_stable(text) SET SCHEMA other;",
        "DO $$ BEGIN EXECUTE 'CREATE FUNCTION ' || 'f_stable(t int) RETURNS text "
        "LANGUAGE sql AS ''SELECT t::text'''; END $$;",
        "ALTER FUNCTION f_stable VOLATILE;",
    ],
    ids=["renamed", "moved", "made by dynamic SQL", "altered without its arguments"],
)
def test_a_function_in_doubt_is_volatile(tmp_path: Path, ddl: str) -> None:
    (tmp_path / "s.sql").write_text(FUNCTIONS + ddl, encoding="utf-8")
    assert "f_stable" not in read_schema([tmp_path]).stable_functions


def test_a_built_in_name_is_never_the_schemas(tmp_path: Path) -> None:
    ddl = "CREATE FUNCTION random(t text) RETURNS text LANGUAGE sql STABLE AS $$ SELECT t $$;"
    (tmp_path / "s.sql").write_text(FUNCTIONS + ddl, encoding="utf-8")
    assert "random" not in read_schema([tmp_path]).stable_functions


PUSHED = "WITH x AS (SELECT id, org, {call} AS c FROM tasks) SELECT id FROM x WHERE org = $1"
FOLDED = ["f_stable(title)", "f_immutable(title)", "f_made_stable(title)", "lower(title)", "now()"]
MATERIALIZED = [
    "f_default(title)",
    "f_volatile(title)",
    "f_overloaded(title)",
    "f_altered(title)",
    "f_unknown(title)",
    "random()",
    "(SELECT clock_timestamp())",
]


def test_a_pin_is_pushed_into_a_cte_only_when_it_calls_nothing_volatile(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, FUNCTIONS, tenant_column="org")
    for call in FOLDED:
        assert _codes(PUSHED.format(call=call), policy) == [], call
    for call in MATERIALIZED:
        assert _codes(PUSHED.format(call=call), policy) == ["TG001"], call


async def test_audit_and_check_agree_on_volatility(database: str, tmp_path: Path) -> None:
    static, live, _ = await _policies(database, tmp_path, FUNCTIONS, "org")
    assert live.stable_functions == static.stable_functions == STABLE
    _agree(static, live, [PUSHED.format(call=c) for c in FOLDED], None)
    _agree(static, live, [PUSHED.format(call=c) for c in MATERIALIZED], "TG001")


# On the server: clinic 2's row makes the CTE's body divide by zero when the body runs over it.
BOOM = (
    "WITH x AS {how} (SELECT tenant_id, first_name, {call} AS v, 1 / (tenant_id - 2) AS boom "
    "FROM patients) SELECT first_name FROM x WHERE tenant_id = $1 ORDER BY first_name"
)


@pytest.mark.parametrize("how", ["", "NOT MATERIALIZED"])
async def test_a_cte_calling_a_volatile_function_runs_over_every_tenants_rows_and_is_refused(
    guard_only: Setup, how: str
) -> None:
    volatile = BOOM.format(how=how, call="random()")
    stable = BOOM.format(how=how, call="now()")
    raw = await asyncpg.connect(guard_only.owner_dsn)
    try:
        with pytest.raises(asyncpg.DivisionByZeroError):  # clinic 2's row, before the pin
            await raw.fetch(volatile, 1)
        assert [r[0] for r in await raw.fetch(stable, 1)] == CLINIC_1  # folded: after the pin
    finally:
        await raw.close()
    conn = await guard_only.connect()
    try:
        with tenant(1):
            assert await names_or_refused(lambda: conn.fetch(volatile, 1)) == ["refused"]
            assert await names_or_refused(lambda: conn.fetch(stable, 1)) == CLINIC_1
            pinned_inside = volatile.replace(
                "FROM patients)", "FROM patients WHERE tenant_id = $1)"
            )
            assert await names_or_refused(lambda: conn.fetch(pinned_inside, 1)) == CLINIC_1
    finally:
        await conn.close()
