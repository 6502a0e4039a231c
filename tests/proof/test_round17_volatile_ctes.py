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
from tenantguard.sources.schema.reading import read_schema
from tests.audit.test_audit_parity import _agree, _policies
from tests.proof.test_attack11_proof import _codes
from tests.proof.test_schema import policy_for
from tests.runtime.test_runtime_attacks import CLINIC_1, Setup
from tests.runtime.test_runtime_attacks_round3 import guard_only
from tests.runtime.test_runtime_attacks_round15 import names_or_refused

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
CREATE SCHEMA audit;
CREATE FUNCTION audit.log(x numeric) RETURNS numeric LANGUAGE sql VOLATILE AS $$ SELECT x $$;
CREATE FUNCTION audit.f_stable(t text) RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT t $$;
CREATE FUNCTION log(t text) RETURNS text LANGUAGE sql AS $$ SELECT t $$;
CREATE FUNCTION lower(t int) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT t::text $$;
CREATE FUNCTION datediff(a int, b int) RETURNS int LANGUAGE sql AS $$ SELECT a - b $$;
CREATE FUNCTION f_accum(a int, b int) RETURNS int LANGUAGE sql AS $$ SELECT a + b $$;
CREATE AGGREGATE my_sum(int) (sfunc = f_accum, stype = int);
CREATE FUNCTION txt_eq_int(a text, b int) RETURNS boolean LANGUAGE sql AS $$ SELECT a = b::text $$;
CREATE OPERATOR === (LEFTARG = text, RIGHTARG = int, FUNCTION = txt_eq_int);
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE VIEW tasks_ranked AS SELECT id, org, title, random() AS r FROM tasks;
CREATE VIEW tasks_plain AS SELECT id, org, title FROM tasks;
CREATE VIEW tasks_over AS SELECT * FROM tasks_ranked;
"""
# every definition IMMUTABLE or STABLE (an aggregate is IMMUTABLE for the planner)
STABLE = {"f_immutable", "f_made_stable", "lower", "my_sum"}


def test_the_schema_reader_knows_the_functions_that_are_not_volatile(tmp_path: Path) -> None:
    (tmp_path / "s.sql").write_text(FUNCTIONS, encoding="utf-8")
    schema = read_schema([tmp_path])
    assert STABLE | {f"public.{n}" for n in STABLE} <= schema.stable_functions
    # f_stable is STABLE in public, VOLATILE in audit: neither the name nor audit's is stable
    assert "f_stable" not in schema.stable_functions
    assert "public.f_stable" in schema.stable_functions
    assert "audit.f_stable" not in schema.stable_functions
    for name in ("f_default", "f_volatile", "f_overloaded", "f_altered", "log", "datediff"):
        assert name not in schema.stable_functions, name
    # the contrib extensions it creates: pg_trgm's and pgcrypto's by their volatility
    assert {"similarity", "public.similarity", "digest", "crypt"} <= schema.stable_functions
    assert "gen_random_bytes" not in schema.stable_functions
    assert schema.volatile_views == {"tasks_ranked", "tasks_over"}


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


PUSHED = "WITH x AS (SELECT id, org, {call} AS c FROM tasks) SELECT id FROM x WHERE org = $1"
VIEW = "WITH x AS (SELECT id, org FROM {view}) SELECT id FROM x WHERE org = $1"
FOLDED = [
    "public.f_stable(title)",
    "f_immutable(title)",
    "f_made_stable(title)",
    "lower(title)",
    "now()",
    "pg_catalog.lower(title)",
    # a contrib extension's IMMUTABLE function; grammar sqlglot reads as a call; an aggregate
    "similarity(title, 'x')",
    "digest(title, 'sha256')",
    "row_to_json(ROW(id, title))",
    "xmlforest(title AS t)",
    "(SELECT my_sum(1))",
]
MATERIALIZED = [
    "f_stable(title)",  # VOLATILE in another schema: which one runs is the search path's
    "f_default(title)",
    "f_volatile(title)",
    "f_overloaded(title)",
    "f_altered(title)",
    "f_unknown(title)",
    "random()",
    "(SELECT clock_timestamp())",
    # round 17's attack: a schema's function of a built-in's name, an overload of one, a name
    # sqlglot reads as a node of its own, an operator of the schema, an extension's volatile one
    "audit.log(1)",
    "audit.f_stable(title)",
    "log(title)",
    "datediff(1, 2)",
    "title OPERATOR(public.===) 5",
    "gen_random_bytes(4)",
]
VIEWS_FOLDED = ["tasks_plain"]
VIEWS_MATERIALIZED = ["tasks_ranked", "tasks_over"]  # random() inside, directly or not


def test_a_pin_is_pushed_into_a_cte_only_when_it_calls_nothing_volatile(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, FUNCTIONS, tenant_column="org")
    for call in FOLDED:
        assert _codes(PUSHED.format(call=call), policy) == [], call
    for call in MATERIALIZED:
        assert _codes(PUSHED.format(call=call), policy) == ["TG001"], call
    for view in VIEWS_FOLDED:
        assert _codes(VIEW.format(view=view), policy) == [], view
    for view in VIEWS_MATERIALIZED:
        assert _codes(VIEW.format(view=view), policy) == ["TG001"], view


async def test_audit_and_check_agree_on_volatility(database: str, tmp_path: Path) -> None:
    static, live, _ = await _policies(database, tmp_path, FUNCTIONS, "org")
    assert live.stable_functions == static.stable_functions
    assert live.volatile_views == static.volatile_views
    _agree(static, live, [PUSHED.format(call=c) for c in FOLDED], None)
    _agree(static, live, [PUSHED.format(call=c) for c in MATERIALIZED], "TG001")
    _agree(static, live, [VIEW.format(view=v) for v in VIEWS_FOLDED], None)
    _agree(static, live, [VIEW.format(view=v) for v in VIEWS_MATERIALIZED], "TG001")


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


# What the server does with each: a CTE it folds runs its body after the pin (no error); one it
# materializes runs it over tenant 2's row too (1 / (org - 2) divides by zero). The proof calls
# a few folded ones volatile: which definition of a name runs is the search path's business.
CONSERVATIVE = {"f_stable(title)", "f_overloaded(title)", "f_unknown(title)"}
EACH = "WITH x AS (SELECT id, org, {call} AS c, 1 / (org - 2) AS boom FROM {source}) "
EACH += "SELECT id FROM x WHERE org = $1"


async def test_the_server_folds_what_the_proof_folds(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(FUNCTIONS + "INSERT INTO tasks VALUES (1, 1, 'a'), (2, 2, 'b');")
        for call in FOLDED:
            rows = await conn.fetch(EACH.format(call=call, source="tasks"), 1)
            assert [r[0] for r in rows] == [1], call
        for view in VIEWS_FOLDED:
            rows = await conn.fetch(EACH.format(call="1", source=view), 1)
            assert [r[0] for r in rows] == [1], view
        for call in MATERIALIZED:
            if call in CONSERVATIVE:
                continue
            with pytest.raises(asyncpg.DivisionByZeroError):
                await conn.fetch(EACH.format(call=call, source="tasks"), 1)
        for view in VIEWS_MATERIALIZED:
            with pytest.raises(asyncpg.DivisionByZeroError):
                await conn.fetch(EACH.format(call="1", source=view), 1)
    finally:
        await conn.close()
