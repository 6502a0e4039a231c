"""Round 6: what the guard takes as *plain* (a statement after which it still trusts what it knows
of the session: the tenant setting's value, and that the pool's reset has nothing to undo),
attacked with the schema's code. Each schema function here switches `app.tenant_id` to clinic 2;
a clinic-1 request then runs a statement pinned by the setting (`BY_SETTING`), which must return
clinic 1's rows. Asserts on the rows, in the `guard` and `guard+rls` setups.

PostgreSQL also runs schema code that the text does not name (an overload of a built-in's name,
an operator, a cast, a domain's CHECK, a trigger, a view, a column default), which no reading of
the text alone can see. Open since round 6 (strict xfails), closed in round 14: each connection
reads the catalog (`runtime.schema_code`) and, when such code may change a setting, takes no
statement as plain. The tests at the end say which schema code counts and which does not.
"""

from __future__ import annotations

import contextlib

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, create_pool, tenant
from tenantguard.runtime.schema_code import implicit_changers
from tests.runtime import test_runtime_attacks as round2
from tests.runtime.test_runtime_attacks import POLICY, Setup

setup = round2.setup  # parametrized over "guard" and "guard+rls"
__all__ = ["setup"]

SWITCH = "BEGIN PERFORM set_config('app.tenant_id', '2', false); RETURN {};  END"


def switching(name: str, arguments: str, returns: str, value: str) -> str:
    """A schema function that switches the tenant setting to clinic 2."""
    body = SWITCH.format(value)
    return (
        f"CREATE FUNCTION {name}({arguments}) RETURNS {returns} VOLATILE LANGUAGE plpgsql "
        f"AS $$ {body} $$;\n"
    )


async def rows_after(setup: Setup, sql: str) -> list[str]:
    """The names a clinic-1 request reads by the setting after running `sql` (or after the
    guard refused it: `lower\u00a0(…)` is read otherwise by sqlglot, test_lexer_differences)."""
    conn = await connect(setup.dsn, policy=POLICY, **setup.options)
    try:
        with tenant(1):
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
            with contextlib.suppress(TenantIsolationError):
                await conn.fetch(sql)
            return [r[0] for r in await conn.fetch(round2.BY_SETTING)]
    finally:
        await conn.close()


async def switched(setup: Setup, sql: str) -> bool:
    """True when `sql`, run unguarded, switches the setting: it runs the schema's function."""
    raw = await asyncpg.connect(setup.owner_dsn)
    try:
        await raw.execute("SELECT set_config('app.tenant_id', '1', false)")
        await raw.execute(sql)
        return await raw.fetchval("SELECT current_setting('app.tenant_id')") == "2"
    finally:
        await raw.close()


# --- names PostgreSQL reads otherwise than Python's `\s` and sqlglot (fixed) ----------------

NAMES = (
    switching('"lower\u00a0"', "bigint", "text", "'x'")
    + switching('"\u3000upper"', "bigint", "text", "'x'")
    + switching('pg_catalog."Now"', "", "timestamptz", "now()")
)


@pytest.mark.parametrize(
    "call",
    [
        "SELECT lower\u00a0(1::bigint)",  # a no-break space is a letter to PostgreSQL
        "SELECT \u3000upper(1::bigint)",  # so is an ideographic space, before the name
        'SELECT pg_catalog."Now"()',  # qualified, quoted: sqlglot reads now()
    ],
)
async def test_a_name_spelled_past_ascii_or_qualified_is_the_schemas_function(
    setup: Setup, call: str
) -> None:
    """sqlglot (and the text's `\\s`) read `lower\\u00a0(…)` as lower() and a blank, and
    `pg_catalog."Now"()` as now(): PostgreSQL calls the functions "lower\\u00a0" and
    "Now", which switch the setting. Not plain: the setting is set again."""
    await setup.owner(NAMES)
    assert await switched(setup, call)  # unguarded, the call is the schema's function
    assert await rows_after(setup, call) == round2.CLINIC_1


# --- schema code the text does not name (open) -----------------------------------------------

IMPLICIT = (
    # an overload of a built-in's name: length(bigint) is not pg_catalog's, which has none
    switching("public.length", "bigint", "integer", "1")
    # an operator: text + text is not pg_catalog's
    + switching("text_plus", "text, text", "text", "$1 || $2")
    + "CREATE OPERATOR + (leftarg = text, rightarg = text, function = text_plus);\n"
    # a cast with a function
    + "CREATE TYPE mood AS ENUM ('ok');\n"
    + switching("mood_id", "mood", "bigint", "1")
    + "CREATE CAST (mood AS bigint) WITH FUNCTION mood_id(mood);\n"
    # a domain's CHECK
    + switching("checked", "bigint", "boolean", "true")
    + "CREATE DOMAIN clinic_id AS bigint CHECK (checked(VALUE));\n"
    # a trigger, a view, a column default
    + switching("stamp", "", "trigger", "NEW")
    + switching("one", "", "bigint", "1")
    + "CREATE TABLE visits (tenant_id bigint NOT NULL, note text);\n"
    + "CREATE TRIGGER visits_stamp BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION stamp();\n"
    + "CREATE VIEW clinic_one AS SELECT one() AS id;\n"
    + "CREATE TABLE stamps (tenant_id bigint NOT NULL, n bigint DEFAULT one());\n"
    # the application's role of the guard+rls setup may write them
    + "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clinic_app') THEN "
    + "GRANT ALL ON visits, stamps, clinic_one TO clinic_app; END IF; END $$;\n"
)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT length(1::bigint)",
        "SELECT 'a'::text + 'b'::text",
        "SELECT 'ok'::mood::bigint",
        "SELECT 1::bigint::clinic_id",
        "INSERT INTO visits (tenant_id, note) VALUES (1, 'x')",
        "SELECT id FROM clinic_one",
        "INSERT INTO stamps (tenant_id) VALUES (1)",
    ],
)
async def test_schema_code_the_text_does_not_name(setup: Setup, sql: str) -> None:
    await setup.owner(IMPLICIT)
    assert await switched(setup, sql)
    assert await rows_after(setup, sql) == round2.CLINIC_1


async def test_schema_code_the_text_does_not_name_outlives_the_pools_release(
    setup: Setup,
) -> None:
    """The same, across requests: after only plain statements the release skips the reset
    (with set_tenant_setting), and the guard keeps its belief for the next clinic-1 request.
    (Without set_tenant_setting the release resets the session, and the guard sets it again.)"""
    await setup.owner(IMPLICIT)
    options = {**setup.options, "set_tenant_setting": True}  # the release skips the reset
    pool = await create_pool(setup.dsn, policy=POLICY, min_size=1, max_size=1, **options)
    try:
        with tenant(1):
            async with pool.acquire() as conn:
                assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
                await conn.fetchval("SELECT length(1::bigint)")
        with tenant(1):
            async with pool.acquire() as conn:
                names = [r[0] for r in await conn.fetch(round2.BY_SETTING)]
    finally:
        await pool.close()
    assert names == round2.CLINIC_1


# --- which schema code counts (round 14) -----------------------------------------------------


def row(
    name: str,
    text: str,
    *,
    language: str = "plpgsql",
    depended: bool = False,
    builtin: bool = False,
) -> tuple[str, str, str, str, bool, bool]:
    """A row as `schema_code.QUERY` returns it."""
    return (name, "public", language, text, depended, builtin)


SETS = "BEGIN PERFORM set_config('app.tenant_id', '2', false); RETURN NEW; END"


@pytest.mark.parametrize(
    ("rows", "found"),
    [
        # reached where no text names it, and changes a setting
        ([row("stamp", SETS, depended=True)], ["public.stamp"]),
        ([row("length", SETS, builtin=True)], ["public.length"]),
        ([row("t", "BEGIN SET app.tenant_id = '2'; RETURN NEW; END", depended=True)], ["public.t"]),
        (
            [row("t", "BEGIN SET LOCAL work_mem = '1MB'; RETURN NEW; END", depended=True)],
            ["public.t"],
        ),
        ([row("t", "BEGIN RESET ALL; RETURN NEW; END", depended=True)], ["public.t"]),
        ([row("t", "BEGIN SET search_path TO evil; RETURN NEW; END", depended=True)], ["public.t"]),
        (
            [
                row(
                    "t",
                    "SELECT set_config('standard_conforming_strings', 'off', false)",
                    language="sql",
                    depended=True,
                )
            ],
            ["public.t"],
        ),
        # dynamic SQL may run any SET; a language the screen cannot read may do anything
        (
            [row("t", "BEGIN EXECUTE 'SE' || 'T app.tenant_id = 2'; END", depended=True)],
            ["public.t"],
        ),
        ([row("t", "import plpy", language="plpython3u", depended=True)], ["public.t"]),
        # a trigger calling (by name) a function that changes a setting: to a fixed point
        (
            [
                row("helper2", SETS),
                row("helper", "BEGIN PERFORM helper2(); END"),
                row("stamp", "BEGIN PERFORM helper(); RETURN NEW; END", depended=True),
            ],
            ["public.stamp"],
        ),
        # changes a setting, but only where a statement names it (the text is then not plain)
        ([row("set_tenant", SETS)], []),
        # reached unnamed, changes nothing
        ([row("stamp", "BEGIN NEW.at := now(); RETURN NEW; END", depended=True)], []),
        ([row("stamp", "BEGIN UPDATE t SET n = n + 1; RETURN NEW; END", depended=True)], []),
        # a word in a comment calls nothing
        (
            [
                row("one", SETS),
                row("stamp", "BEGIN -- one row\n /* one */ RETURN NEW; END", depended=True),
            ],
            [],
        ),
    ],
)
def test_which_schema_code_counts(rows: list[tuple[str, str, str, str, bool, bool]],
                                  found: list[str]) -> None:  # fmt: skip
    assert implicit_changers(rows) == found


async def test_a_schema_without_such_code_keeps_the_fast_path(setup: Setup) -> None:
    """The Dentalogic schema (triggers that change no setting) is read as having none: plain
    statements stay plain, and the hot path serves the second call of a statement."""
    conn = await setup.connect()
    try:
        assert conn._tg_schema_code == ()
        with tenant(1):
            for _ in range(2):
                assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
        assert conn.tenantguard.fast_hits >= 1
    finally:
        await conn.close()


async def test_a_trigger_calling_a_setter_by_name_makes_no_statement_plain(setup: Setup) -> None:
    """The trigger function changes nothing itself; it calls one that does. The guard finds it
    through the name, says so once, and the clinic-1 request still reads clinic 1's rows after
    the insert that fires it."""
    await setup.owner(
        switching("helper", "", "void", "")
        + "CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM helper(); RETURN NEW; END $$;\n"
        "CREATE TABLE visits (tenant_id bigint NOT NULL, note text);\n"
        "CREATE TRIGGER visits_audit BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION audit();\n"
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clinic_app') THEN "
        "GRANT ALL ON visits TO clinic_app; END IF; END $$;\n"
    )
    sql = "INSERT INTO visits (tenant_id, note) VALUES (1, 'x')"
    assert await switched(setup, sql)
    assert await rows_after(setup, sql) == round2.CLINIC_1
    conn = await setup.connect()
    try:
        assert conn._tg_schema_code == ("public.audit",)
        assert conn.tenantguard.schema_code == ("public.audit",)
    finally:
        await conn.close()


# schema code calling the built-in set_config itself, with no function of the schema between
BUILTIN_CODE = (
    "CREATE VIEW clinic_two AS SELECT set_config('app.tenant_id', '2', false) AS id;\n"
    "CREATE TABLE marks (tenant_id bigint NOT NULL, "
    "n text DEFAULT set_config('app.tenant_id', '2', false));\n"
    "CREATE TABLE checks (tenant_id bigint NOT NULL, "
    "n text CHECK (set_config('app.tenant_id', '2', false) IS NOT NULL));\n"
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clinic_app') THEN "
    "GRANT ALL ON clinic_two, marks, checks TO clinic_app; END IF; END $$;\n"
)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM clinic_two",
        "INSERT INTO marks (tenant_id) VALUES (1)",
        "INSERT INTO checks (tenant_id, n) VALUES (1, 'x')",
    ],
)
async def test_schema_code_calling_set_config_itself(setup: Setup, sql: str) -> None:
    """No function of the schema between: the view, the default and the CHECK call the
    built-in. Found in their stored expressions; no statement is plain."""
    await setup.owner(BUILTIN_CODE)
    assert await switched(setup, sql)
    assert await rows_after(setup, sql) == round2.CLINIC_1
    conn = await setup.connect()
    try:
        found = sorted(conn._tg_schema_code)
        assert [f.split()[0] for f in found] == ["constraint", "default", "view"]
        assert found[1:] == [
            "default of marks calls set_config",
            "view or rule of clinic_two calls set_config",
        ]
    finally:
        await conn.close()


async def test_a_connection_made_with_the_guard_off_reads_the_schema_code_too(
    setup: Setup,
) -> None:
    """The mode can be changed while the application runs: a connection made in "off" mode
    knows the schema's code once the guard is turned on."""
    await setup.owner(IMPLICIT)
    conn = await connect(setup.dsn, policy=POLICY, mode="off", **setup.options)
    try:
        assert "public.length" in conn._tg_schema_code
        conn.tenantguard.mode = "enforce"
        with tenant(1):
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
            await conn.fetchval("SELECT length(1::bigint)")
            assert [r[0] for r in await conn.fetch(round2.BY_SETTING)] == round2.CLINIC_1
    finally:
        await conn.close()
