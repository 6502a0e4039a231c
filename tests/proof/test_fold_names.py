"""Names in texts that are not proven statement by statement: the dynamic SQL of a function
body (the schema reader), a SECURITY DEFINER function's definition (TG212), and the calls of a
function pinned by its arguments (the runtime guard).

PostgreSQL (UTF-8) folds the ASCII letters of an unquoted name only, and a double quote in a
string or a comment pairs nothing: a name found by `str.lower()` or by pairing `"` hides the
tenant table. Each leak is shown by the rows another tenant gets on a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.cli import main
from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.policy import _SERVER_WORD, FunctionPins, names_in_text
from tenantguard.runtime import connect, tenant, unscoped

# --- the shared screen ------------------------------------------------------------------------

NAMES = frozenset({"Überweisungen", "Audit Log", "patients", 'a"b', "données€"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT * FROM ÜBERWEISUNGEN", {"Überweisungen"}),  # folds to the table's name
        ("SELECT * FROM Überweisungen", {"Überweisungen"}),
        ("SELECT * FROM überweisungen", set()),  # another table, as PostgreSQL reads it
        ('SELECT \'"\' AS q, * FROM "Audit Log"', {"Audit Log"}),
        ('SELECT $$"$$, * FROM "Audit Log" -- "', {"Audit Log"}),
        ("SELECT format('SELECT * FROM %I', 'Audit Log')", {"Audit Log"}),  # a value for %I
        ('SELECT * FROM "a""b"', {'a"b'}),
        ("SELECT * FROM PATIENTS", {"patients"}),
        ("SELECT * FROM outpatients", set()),
        ("SELECT * FROM DONNées€", {"données€"}),  # PostgreSQL's word: € is a letter to it
        ('SELECT * FROM U&"p\\0061tients"', set(NAMES)),  # escapes: any name may be meant
    ],
)
def test_names_in_text_finds_names_as_postgresql_reads_them(text: str, expected: set[str]) -> None:
    assert names_in_text(text, NAMES) == expected


def test_the_server_word_pattern_reads_every_character_as_its_plain_form_does() -> None:
    """`_SERVER_WORD` is written by the ASCII characters it excludes (it compiles ~100 times
    faster); every code point, first in a word and inside one, is read as by the plain form."""
    plain = re.compile(r"[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*")
    every = [chr(c) for c in range(0x110000)]
    for text in ("".join(every), "-".join(every), "".join(f"a{c}-" for c in every)):
        assert _SERVER_WORD.findall(text) == plain.findall(text)


# --- dynamic SQL in a function body (sources/schema/texts.py) ---------------------------------

TRANSFERS = (
    "CREATE TABLE tenants (id bigserial PRIMARY KEY);\n"
    "CREATE TABLE Überweisungen (id bigserial, tenant_id bigint NOT NULL "
    "REFERENCES tenants(id), betrag int);\n"
)
# PostgreSQL folds `ÜBERWEISUNGEN` to `Überweisungen`; `str.lower()` made it `überweisungen`
ALL_TRANSFERS = (
    "CREATE FUNCTION all_transfers() RETURNS TABLE (tenant_id bigint, betrag int) "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "RETURN QUERY EXECUTE 'SELECT tenant_id, betrag FROM ÜBERWEISUNGEN'; END $$;\n"
)
AUDIT_LOG = (
    "CREATE TABLE tenants (id bigserial PRIMARY KEY);\n"
    'CREATE TABLE "Audit Log" (id bigserial, tenant_id bigint NOT NULL '
    "REFERENCES tenants(id), note text);\n"
)
# the `"` in the string pairs with the one opening `"Audit Log"`: a pairing scan never sees it
ALL_NOTES = (
    "CREATE FUNCTION all_notes() RETURNS TABLE (q text, note text) LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN QUERY EXECUTE 'SELECT ''\"''::text, note FROM \"Audit Log\"'; END $$;\n"
)


@pytest.mark.parametrize(
    ("ddl", "function", "read"),
    [
        (TRANSFERS + ALL_TRANSFERS, "all_transfers", "SELECT betrag FROM all_transfers()"),
        (AUDIT_LOG + ALL_NOTES, "all_notes", "SELECT note FROM all_notes()"),
    ],
)
def test_dynamic_sql_naming_a_tenant_table_hands_out_tenant_rows(
    tmp_path: Path, ddl: str, function: str, read: str
) -> None:
    from tests.proof.test_schema import policy_for

    policy = policy_for(tmp_path, ddl)
    assert isinstance(policy, Policy)
    assert function in policy.tenant_tables  # read like a tenant table
    assert [f.code for f in analyze_statement(read, policy).findings] == ["TG001"]
    # its query is out of sight: a pin on its output tenant_id proves nothing (round 11)
    assert [f.code for f in analyze_statement(read + " WHERE tenant_id = $1", policy).findings] == [
        "TG001"
    ]


@pytest.mark.parametrize(
    ("ddl", "rows", "function", "read"),
    [
        (
            TRANSFERS + ALL_TRANSFERS,
            "INSERT INTO Überweisungen (tenant_id, betrag) VALUES (1, 10), (2, 20)",
            "all_transfers",
            "SELECT betrag FROM all_transfers()",
        ),
        (
            AUDIT_LOG + ALL_NOTES,
            "INSERT INTO \"Audit Log\" (tenant_id, note) VALUES (1, 'north'), (2, 'south')",
            "all_notes",
            "SELECT note FROM all_notes()",
        ),
    ],
)
async def test_the_guard_does_not_hand_out_rows_read_by_dynamic_sql(
    database: str, tmp_path: Path, ddl: str, rows: str, function: str, read: str
) -> None:
    from tests.proof.test_schema import policy_for

    owner = await asyncpg.connect(database)
    try:
        await owner.execute(ddl)
        await owner.execute("INSERT INTO tenants VALUES (1), (2)")
        await owner.execute(rows)
        # the server's own reading: the function hands out both tenants' rows
        assert len(await owner.fetch(read)) == 2
    finally:
        await owner.close()
    policy = policy_for(tmp_path, ddl)
    assert isinstance(policy, Policy)
    conn = await connect(database, policy=policy)
    got: list[object] = []
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            got = [r[0] for r in await conn.fetch(read)]
    finally:
        await conn.close()
    assert 20 not in got and "south" not in got


# --- TG212: a SECURITY DEFINER function's definition ------------------------------------------

DEFINER_BASE = """
CREATE TABLE tenants (id bigserial PRIMARY KEY);
CREATE TABLE "Audit Log" (id bigserial, tenant_id bigint NOT NULL REFERENCES tenants(id), note text);
CREATE TABLE Überweisungen (id bigserial, tenant_id bigint NOT NULL REFERENCES tenants(id),
    betrag int);
INSERT INTO tenants VALUES (1), (2);
INSERT INTO "Audit Log" (tenant_id, note) VALUES (1, 'north'), (2, 'south');
INSERT INTO Überweisungen (tenant_id, betrag) VALUES (1, 10), (2, 20);
ALTER TABLE "Audit Log" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "Audit Log" FORCE ROW LEVEL SECURITY;
ALTER TABLE Überweisungen ENABLE ROW LEVEL SECURITY;
ALTER TABLE Überweisungen FORCE ROW LEVEL SECURITY;
CREATE POLICY t ON "Audit Log"
    USING (tenant_id = current_setting('app.tenant_id')::bigint);
CREATE POLICY t ON Überweisungen
    USING (tenant_id = current_setting('app.tenant_id')::bigint);
"""

# pinned by its argument, not by the session's tenant: it serves whichever clinic the caller
# names (a function that reads every clinic's rows is found by its own name: a tenant relation)
DEFINERS = [
    pytest.param(
        # the `"` in the string pairs with the one opening `"Audit Log"`
        "CREATE FUNCTION notes_of(p_clinic bigint) RETURNS SETOF text LANGUAGE sql "
        "SECURITY DEFINER SET search_path = public, pg_temp "
        'AS $$ SELECT \'"\' || note FROM "Audit Log" WHERE tenant_id = p_clinic $$',
        "SELECT n FROM notes_of(2) n",
        '"south',
        "db:public.notes_of(bigint)",
        id="stray-quote",
    ),
    pytest.param(
        # PostgreSQL folds ÜBERWEISUNGEN to Überweisungen, `str.lower()` to überweisungen
        "CREATE FUNCTION amounts_of(p_clinic bigint) RETURNS SETOF int LANGUAGE sql "
        "SECURITY DEFINER SET search_path = public, pg_temp "
        "AS $$ SELECT betrag FROM ÜBERWEISUNGEN WHERE tenant_id = p_clinic $$",
        "SELECT a FROM amounts_of(2) a",
        20,
        "db:public.amounts_of(bigint)",
        id="non-ascii-fold",
    ),
]


@pytest.mark.parametrize(("function", "probe", "other", "path"), DEFINERS)
def test_tg212_finds_a_definer_function_reading_a_tenant_table(
    database: str,
    capsys: pytest.CaptureFixture[str],
    function: str,
    probe: str,
    other: object,
    path: str,
) -> None:
    asyncio.run(_definer_database(database, function))
    # the leak: clinic 1's role reads clinic 2's rows through the function, past RLS
    assert other in asyncio.run(_rows_of_clinic_1(database, probe))
    assert main(["audit", "--dsn", database, "--format", "json", "--isolated"]) == 1
    out, _ = capsys.readouterr()
    found = {(f["rule"], f["path"]) for f in json.loads(out)["findings"]}
    assert ("TG212", path) in found, out


async def _definer_database(database: str, function: str) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(DEFINER_BASE)
        await owner.execute(function)
        await owner.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tg_fold_app') "
            "THEN CREATE ROLE tg_fold_app LOGIN; END IF; END $$"
        )
        await owner.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO tg_fold_app")
    finally:
        await owner.close()


async def _rows_of_clinic_1(database: str, probe: str) -> list[object]:
    app = await asyncpg.connect(database.replace("postgres@", "tg_fold_app@", 1))
    try:
        await app.execute("SELECT set_config('app.tenant_id', '1', false)")
        # RLS holds on the table itself: clinic 1 does not see clinic 2's rows there
        assert await app.fetchval('SELECT count(*) FROM "Audit Log"') == 1
        return [r[0] for r in await app.fetch(probe)]
    finally:
        await app.close()


# --- a call pinned by its argument (the runtime guard) ----------------------------------------

PEOPLE_OF = (
    "CREATE FUNCTION people_of(p_tenant bigint) RETURNS SETOF patients LANGUAGE sql "
    "AS $$ SELECT * FROM patients WHERE tenant_id = p_tenant $$;\n"
)
PINNED = Policy(
    tenant_tables={"patients", "appointments"},
    global_tables={"tenants"},
    pinning_functions={"people_of": FunctionPins(frozenset({0}), frozenset({"p_tenant"}))},
)


def test_a_call_pinned_by_its_argument_touches_tenant_rows() -> None:
    for sql in ("SELECT * FROM people_of($1)", "SELECT * FROM people_of(2)"):
        verdict = analyze_statement(sql, PINNED)
        assert verdict.findings == ()
        assert verdict.touches_tenant_tables


async def test_the_guard_checks_the_argument_that_pins_a_function_call(two_clinics: str) -> None:
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(PEOPLE_OF)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=PINNED, require_tenant=True)
    names: list[str] = []
    try:
        with tenant(1):  # the request's own tenant: it runs
            mine = [r[0] for r in await conn.fetch("SELECT first_name FROM people_of($1)", 1)]
            assert sorted(mine) == ["Ana", "Bruno"]
        with tenant(1), contextlib.suppress(TenantIsolationError):  # another tenant's id
            names += [r[0] for r in await conn.fetch("SELECT first_name FROM people_of($1)", 2)]
        with tenant(1), contextlib.suppress(TenantIsolationError):  # a literal
            names += [r[0] for r in await conn.fetch("SELECT first_name FROM people_of(2)")]
        with contextlib.suppress(TenantIsolationError):  # outside any tenant()
            names += [r[0] for r in await conn.fetch("SELECT first_name FROM people_of($1)", 2)]
        with unscoped("the nightly export reads every clinic"):  # said out loud: it runs
            assert [r[0] for r in await conn.fetch("SELECT first_name FROM people_of(2)")]
    finally:
        await conn.close()
    assert "Carla" not in names


# --- a statement the schema reader cannot read (fail closed by its text) ----------------------


def test_an_unreadable_create_table_names_its_table_as_postgresql_folds_it() -> None:
    from tests.proof.test_schema import schema_of

    schema = schema_of(
        "CREATE TABLE Überweisungen (tenant_id bigint, x int,);\n"
        'CREATE TABLE "Audit ""Log""" (tenant_id bigint, x int,);\n'
    )
    assert len(schema.problems) == 2
    assert schema.tables_with("tenant_id") == {"Überweisungen", 'Audit "Log"'}


def test_a_function_returning_a_mixed_case_table_has_its_columns(tmp_path: Path) -> None:
    from tests.proof.test_schema import schema_of

    schema = schema_of(
        'CREATE TABLE "AuditLog" (tenant_id bigint, note text);\n'
        "CREATE TABLE Überweisungen (tenant_id bigint, betrag int);\n"
        'CREATE FUNCTION logs() RETURNS SETOF "AuditLog" LANGUAGE sql '
        'AS $$ SELECT * FROM "AuditLog" $$;\n'
        "CREATE FUNCTION amounts() RETURNS SETOF Überweisungen LANGUAGE sql "
        "AS $$ SELECT * FROM Überweisungen $$;\n"
    )
    assert schema.functions["logs"].columns == {"tenant_id", "note"}
    assert schema.functions["amounts"].columns == {"tenant_id", "betrag"}


def test_a_function_after_non_ascii_text_is_read_whole(tmp_path: Path) -> None:
    """pglast gives character offsets: cut by bytes, the body after an `Ü` lost its end, did
    not parse, and the function pinned by the session's tenant read as opaque SQL."""
    from tests.proof.test_schema import policy_for

    policy = policy_for(
        tmp_path,
        "CREATE TABLE tenants (id bigserial PRIMARY KEY);\n"
        "CREATE TABLE Überweisungen (id bigserial, tenant_id bigint NOT NULL "
        "REFERENCES tenants(id), betrag int);\n"
        "CREATE FUNCTION my_amounts() RETURNS TABLE (betrag int) LANGUAGE plpgsql AS $$ BEGIN "
        "RETURN QUERY SELECT u.betrag FROM Überweisungen u "
        "WHERE u.tenant_id = current_setting('app.tenant_id')::bigint; END $$;\n",
    )
    assert isinstance(policy, Policy)
    assert "my_amounts" not in policy.tenant_tables
    assert analyze_statement("SELECT betrag FROM my_amounts()", policy).findings == ()


# --- TG213: `pg_temp` in a search_path is matched as PostgreSQL matches it --------------------


@pytest.mark.parametrize(
    ("path", "reported"),
    [
        ('public, "PG_TEMP"', True),  # a schema named PG_TEMP: pg_temp is searched first
        ("public, PG_TEMP", False),  # folded: pg_temp, last
        ('public, "pg_temp"', False),
    ],
)
def test_tg213_reads_pg_temp_in_a_search_path_as_postgresql_does(
    database: str, capsys: pytest.CaptureFixture[str], path: str, reported: bool
) -> None:
    function = (
        "CREATE FUNCTION now_utc() RETURNS timestamptz LANGUAGE sql SECURITY DEFINER "
        f"SET search_path = {path} AS $$ SELECT now() $$"
    )
    asyncio.run(_definer_database(database, function))
    main(["audit", "--dsn", database, "--format", "json", "--isolated"])
    out, _ = capsys.readouterr()
    found = {(f["rule"], f["path"]) for f in json.loads(out)["findings"]}
    assert (("TG213", "db:public.now_utc()") in found) is reported
