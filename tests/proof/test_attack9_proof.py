"""Round 9 attacks on the proof (issue 10), on a schema unlike the earlier ones: tenant column
`org_id uuid`, tables in two schemas, the tenant registry `orgs (id uuid)`.

Class 1/f. A statement that calls `set_config` on the tenant setting in a FROM item or a CTE runs it before
it reads rows: `current_setting('app.tenant_id')` then reads the value the statement put there.
Each leak is shown by the rows PostgreSQL returns or writes when it runs as it is with org A's
setting, and the proof must not accept it; the twins that set another setting, or pin by a
parameter, read org A's rows only and are proven.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement
from tests.proof.test_schema import policy_for

OWN = "00000000-0000-0000-0000-00000000000a"
VICTIM = "00000000-0000-0000-0000-00000000000b"

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE orgs (id uuid PRIMARY KEY, name text);
CREATE TABLE app.tasks (id bigserial PRIMARY KEY, org_id uuid NOT NULL REFERENCES orgs (id),
    title text, slug text GENERATED ALWAYS AS (lower(title)) STORED);
CREATE VIEW app.my_tasks AS SELECT id, title FROM app.tasks
    WHERE org_id = current_setting('app.tenant_id')::uuid;
CREATE FUNCTION app.my_titles() RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT title FROM app.tasks WHERE org_id = current_setting('app.tenant_id')::uuid $$;
CREATE TABLE public.notes (id bigserial PRIMARY KEY,
    org_id uuid NOT NULL DEFAULT current_setting('app.tenant_id')::uuid REFERENCES orgs (id),
    body text);
"""

DATA = f"""
INSERT INTO orgs VALUES ('{OWN}', 'own'), ('{VICTIM}', 'VICTIM');
INSERT INTO app.tasks (org_id, title) VALUES ('{OWN}', 'own task'), ('{VICTIM}', 'VICTIM task');
"""

_SWITCH = f"set_config('app.tenant_id', '{VICTIM}', true)"
_PIN = "current_setting('app.tenant_id')::uuid"

# each reads or changes org B's rows with org A's setting
READ_LEAKS = [
    f"SELECT t.title FROM (SELECT {_SWITCH}) s, app.tasks t WHERE t.org_id = {_PIN}",
    f"SELECT t.title FROM app.tasks t, pg_catalog.set_config('App.Tenant_Id', '{VICTIM}', true) s "
    f"WHERE t.org_id = {_PIN}",
    f"WITH s AS MATERIALIZED (SELECT set_config(lower('APP.TENANT_ID'), '{VICTIM}', true)) "
    f"SELECT t.title FROM s, app.tasks t WHERE t.org_id = {_PIN}",
    f"UPDATE app.tasks SET title = title || ' hacked' FROM {_SWITCH} s "
    f"WHERE org_id = {_PIN} RETURNING title",
]
# a view and a function pinned inside by the setting, read after the statement changed it (TG013)
SETTING_READS = [
    f"SELECT v.title FROM {_SWITCH} s, app.my_tasks v",
    f"SELECT f.* FROM (SELECT {_SWITCH}) s, LATERAL app.my_titles() f",
    f"SELECT (SELECT string_agg(title, ',') FROM app.my_tasks) FROM {_SWITCH} s",
]
# writes a row into org B
WRITE_LEAK = (
    f"INSERT INTO public.notes (org_id, body) SELECT {_PIN}, 'planted' FROM {_SWITCH} s "
    "RETURNING org_id::text"
)

SAFE = [
    "SELECT v.title FROM app.my_tasks v",
    f"SELECT v.title FROM set_config('app.other', '{VICTIM}', true) s, app.my_tasks v",
    f"SELECT t.title FROM (SELECT set_config('app.other', '{VICTIM}', true)) s, app.tasks t "
    f"WHERE t.org_id = {_PIN}",
    f"SELECT t.title FROM (SELECT {_SWITCH}) s, app.tasks t WHERE t.org_id = '{OWN}'",
]


def _policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org_id")
    assert isinstance(policy, Policy)
    return policy


@pytest.mark.parametrize("sql", [*READ_LEAKS, WRITE_LEAK])
def test_the_tenant_expression_pins_nothing_where_the_statement_sets_it(
    tmp_path: Path, sql: str
) -> None:
    codes = {f.code for f in analyze_statement(sql, _policy(tmp_path)).findings}
    assert codes & {"TG001", "TG002"}, sql


@pytest.mark.parametrize("sql", SETTING_READS)
def test_a_relation_pinned_by_the_setting_is_not_read_after_the_statement_sets_it(
    tmp_path: Path, sql: str
) -> None:
    codes = [f.code for f in analyze_statement(sql, _policy(tmp_path)).findings]
    assert codes == ["TG013"], sql


@pytest.mark.parametrize("sql", SAFE)
def test_another_setting_or_a_literal_pin_is_still_proven(tmp_path: Path, sql: str) -> None:
    assert analyze_statement(sql, _policy(tmp_path)).findings == (), sql


async def _in_org_a(conn: asyncpg.Connection, sql: str) -> list[str]:
    """The statement's rows, run in a transaction with org A's setting, rolled back."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(f"SET LOCAL app.tenant_id = '{OWN}'")
        return [str(r[0]) for r in await conn.fetch(sql)]
    finally:
        await transaction.rollback()


async def test_the_leaks_reach_org_b_on_the_server(database: str, tmp_path: Path) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for sql in READ_LEAKS:
            rows = await _in_org_a(conn, sql)
            assert rows and all(r.startswith("VICTIM task") for r in rows), (sql, rows)
        for sql in SETTING_READS:
            assert await _in_org_a(conn, sql) == ["VICTIM task"], sql
        assert await _in_org_a(conn, WRITE_LEAK) == [VICTIM]
        for sql in SAFE:
            assert await _in_org_a(conn, sql) == ["own task"], sql
    finally:
        await conn.close()
    policy = _policy(tmp_path)
    for sql in [*READ_LEAKS, *SETTING_READS, WRITE_LEAK]:
        assert analyze_statement(sql, policy).findings, sql


# ---------------------------------------------------------------- class 5: a parameter shadowed
# In a SQL function a column of the command wins over a parameter of the same name: where the
# body's FROM item defines a column `o` (a derived table's alias, a column alias list, a
# function's alias, a LATERAL subquery), `t.org_id = o` compares with that column, not with the
# argument — `f($1)` returns every org's rows.
SHADOWING = """
CREATE FUNCTION app.f_derived(o uuid) RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT t.title FROM app.tasks t, (SELECT id AS o FROM orgs) x WHERE t.org_id = o $$;
CREATE FUNCTION app.f_column_list(o uuid) RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT t.title FROM app.tasks t JOIN orgs AS x(o) ON true WHERE t.org_id = o $$;
CREATE FUNCTION app.f_function_alias(o uuid) RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT t.title FROM app.tasks t, unnest(ARRAY(SELECT id FROM orgs)) AS o
    WHERE t.org_id = o $$;
CREATE FUNCTION app.f_lateral(o uuid) RETURNS SETOF text LANGUAGE sql STABLE
    BEGIN ATOMIC SELECT t.title FROM app.tasks t CROSS JOIN LATERAL (SELECT t.org_id AS o) x
    WHERE t.org_id = o; END;
CREATE FUNCTION app.f_values(o uuid) RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT t.title FROM app.tasks t, (SELECT id FROM orgs) AS x(o) WHERE t.org_id = o $$;
"""
# the parameter is the parameter: no column of that name in the body
NOT_SHADOWED = """
CREATE FUNCTION app.f_param(o uuid) RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT t.title FROM app.tasks t, (SELECT id AS other FROM orgs) x
    WHERE t.org_id = o AND x.other = t.org_id $$;
CREATE FUNCTION app.f_setting(o uuid) RETURNS SETOF text LANGUAGE sql
    AS $$ SELECT t.title FROM app.tasks t, set_config('app.other', 'x', true) s
    WHERE t.org_id = o $$;
"""
SHADOWED_CALLS = [
    "SELECT * FROM app.f_derived($1)",
    "SELECT * FROM app.f_column_list($1)",
    "SELECT * FROM app.f_function_alias($1)",
    "SELECT * FROM app.f_lateral($1)",
    "SELECT * FROM app.f_values($1)",
]


def _function_policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, SCHEMA + SHADOWING + NOT_SHADOWED, tenant_column="org_id")
    assert isinstance(policy, Policy)
    return policy


@pytest.mark.parametrize("sql", SHADOWED_CALLS)
def test_a_parameter_shadowed_by_a_column_of_the_body_pins_nothing(
    tmp_path: Path, sql: str
) -> None:
    codes = [f.code for f in analyze_statement(sql, _function_policy(tmp_path)).findings]
    assert codes == ["TG001"], sql


def test_a_parameter_no_column_shadows_still_pins(tmp_path: Path) -> None:
    policy = _function_policy(tmp_path)
    assert analyze_statement("SELECT * FROM app.f_param($1)", policy).findings == ()
    assert analyze_statement("SELECT * FROM app.f_param(gen_random_uuid())", policy).findings
    # a setting changed in the body is no parameter
    assert analyze_statement("SELECT * FROM app.f_setting($1)", policy).findings == ()


async def test_the_shadowed_functions_return_every_org_on_the_server(
    database: str, tmp_path: Path
) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + SHADOWING + NOT_SHADOWED + DATA)
        for sql in SHADOWED_CALLS:
            rows = sorted(r[0] for r in await conn.fetch(sql, OWN))
            assert rows == ["VICTIM task", "own task"], sql
        assert [r[0] for r in await conn.fetch("SELECT * FROM app.f_param($1)", OWN)] == [
            "own task"
        ]
    finally:
        await conn.close()
    policy = _function_policy(tmp_path)
    for sql in SHADOWED_CALLS:
        assert analyze_statement(sql, policy).findings, sql


# ---------------------------------------------------------------- class 9: a side effect over a
# view or function pinned inside by the setting. Its filter is merged with the reader's WHERE, and
# PostgreSQL runs the cheaper call first: set_config there sees org B's titles (the last one read
# stays in the setting); in the select list it runs after the filter.
SIDE_EFFECT_READS = [
    "SELECT v.title FROM app.my_tasks v WHERE set_config('x.seen', v.title, true) IS NOT NULL",
    "SELECT f FROM app.my_titles() f WHERE set_config('x.seen', f, true) IS NOT NULL",
]
SIDE_EFFECT_AFTER = "SELECT set_config('x.seen', v.title, true) FROM app.my_tasks v"


@pytest.mark.parametrize("sql", SIDE_EFFECT_READS)
def test_a_side_effect_in_the_where_over_a_relation_pinned_by_the_setting(
    tmp_path: Path, sql: str
) -> None:
    codes = [f.code for f in analyze_statement(sql, _policy(tmp_path)).findings]
    assert codes == ["TG013"], sql


async def test_the_side_effect_sees_org_b_on_the_server(database: str, tmp_path: Path) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for sql in [*SIDE_EFFECT_READS, SIDE_EFFECT_AFTER]:
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(f"SET LOCAL app.tenant_id = '{OWN}'")
                rows = [r[0] for r in await conn.fetch(sql)]
                seen = await conn.fetchval("SELECT current_setting('x.seen', true)")
            finally:
                await transaction.rollback()
            assert rows == ["own task"], sql
            # the WHERE ran on org B's row; the select list only on org A's
            assert seen == ("own task" if sql == SIDE_EFFECT_AFTER else "VICTIM task"), sql
    finally:
        await conn.close()
    assert analyze_statement(SIDE_EFFECT_AFTER, _policy(tmp_path)).findings == ()
