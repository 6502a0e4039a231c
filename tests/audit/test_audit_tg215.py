"""TG215 function-changes-session-setting on a real PostgreSQL: the functions that can change the
tenant setting (or a setting the runtime guard relies on) behind the guard's back, as data —
databases that break the rule and databases that do not — and what each finding stands for,
shown on the server with the setting and the rows."""

from __future__ import annotations

from dataclasses import dataclass, replace

import asyncpg
import pytest

from tenantguard.audit.model import Catalog, Function, Role, SchemaCode
from tenantguard.audit.rowpolicy import PolicyReader
from tenantguard.audit.rules import AuditContext, check_catalog
from tenantguard.audit.rules.tg215_function_changes_session_setting import lex
from tenantguard.engine.policy import Policy
from tests.audit.test_audit import APP, Server, audit, run, server
from tests.runtime.test_runtime_plain_trust import IMPLICIT, NAMES

__all__ = ["server"]

UNITS_POLICY = Policy("tenant_id", {"patients"})


def tg215(findings: list[dict[str, object]]) -> set[object]:
    return {f["path"] for f in findings if f["rule"] == "TG215"}


def plpgsql(name: str, body: str, extra: str = "") -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS integer LANGUAGE plpgsql {extra} "
        f"AS $f$ BEGIN {body}; RETURN 1; END $f$;\n"
    )


@dataclass(frozen=True)
class Case:
    id: str
    sql: str
    flagged: bool = True  # the audit reports public.f(): the case's function is always f


BREAKING = [
    Case("set_config", plpgsql("f", "PERFORM set_config('app.tenant_id', '2', false)")),
    Case("set_config-local", plpgsql("f", "PERFORM set_config('app.tenant_id', '2', true)")),
    Case("set_config-case", plpgsql("f", "PERFORM SET_CONFIG('App.Tenant_ID', '2', false)")),
    Case("set_config-qualified", plpgsql("f", "PERFORM pg_catalog . \"set_config\" ('app.tenant_id', '2', false)")),
    Case("set_config-dollar", plpgsql("f", "PERFORM set_config($s$app.tenant_id$s$, '2', false)")),
    Case("set_config-e-string", plpgsql("f", "PERFORM set_config(E'app.tenant\\x5fid', '2', false)")),
    Case("set_config-concatenated", plpgsql("f", "PERFORM set_config('app.' || 'tenant_id', '2', false)")),
    Case("set_config-variable", "CREATE FUNCTION f(p text) RETURNS text LANGUAGE sql AS $$ SELECT set_config(p, '2', false) $$;"),
    Case("set_config-named", plpgsql("f", "PERFORM set_config(new_value => '2', setting_name => 'app.tenant_id', is_local => false)")),
    Case("set_config-relied-on", plpgsql("f", "PERFORM set_config('session_replication_role', 'replica', false)")),
    Case("sql-set", "CREATE FUNCTION f() RETURNS integer LANGUAGE sql AS $$ SET app.tenant_id = '2'; SELECT 1 $$;"),
    Case("set-local-quoted", plpgsql("f", 'SET LOCAL "app"."tenant_id" = \'2\'')),
    Case("set-session-comment", plpgsql("f", "SET SESSION app/* x */.tenant_id TO '2'")),
    Case("reset", plpgsql("f", "RESET app.tenant_id")),
    Case("reset-all", plpgsql("f", "RESET ALL")),
    Case("set-names", plpgsql("f", "SET NAMES 'SJIS'")),
    Case("set-standard-conforming-strings", plpgsql("f", "SET standard_conforming_strings = off")),
    Case("update-pg_settings", plpgsql("f", "UPDATE pg_settings SET setting = '2' WHERE name = 'app.tenant_id'")),
    Case("execute-built", plpgsql("f", "EXECUTE 'SELECT ' || 1")),
    Case("execute-format-s", plpgsql("f", "EXECUTE format('SELECT %s', 1)")),
    Case("execute-format-set", plpgsql("f", "EXECUTE format('SET %I = %L', 'app.tenant_id', '2')")),
    Case("execute-literal-set", plpgsql("f", "EXECUTE 'SET app.tenant_id = ''2'''")),
    Case("query_to_xml-built", plpgsql("f", "PERFORM query_to_xml('SELECT ' || 1, false, false, '')")),
    Case("query_to_xml-set_config", plpgsql("f", "PERFORM query_to_xml('SELECT set_config(''app.tenant_id'', ''2'', false)', false, false, '')")),
    Case("ts_stat-built", plpgsql("f", "PERFORM ts_stat('SELECT ' || 'x')")),
    Case("ts_rewrite-query", plpgsql("f", "PERFORM ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery')")),
    Case("sql-standard-body", "CREATE FUNCTION f() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT set_config('app.tenant_id', '2', false); END;"),
    Case("internal-set_config", "CREATE FUNCTION f(text, text, boolean) RETURNS text LANGUAGE internal AS 'set_config_by_name';"),
    Case("procedure", "CREATE PROCEDURE f() LANGUAGE plpgsql AS $$ BEGIN PERFORM set_config('app.tenant_id', '2', false); END $$;"),
    Case("own-setting", "CREATE FUNCTION f() RETURNS integer LANGUAGE sql SET app.tenant_id = '2' AS $$ SELECT 1 $$;"),
    Case("own-setting-altered", "CREATE FUNCTION f() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$; ALTER FUNCTION f() SET \"App.Tenant_Id\" = '2';"),
    Case("own-replica", "CREATE FUNCTION f() RETURNS integer LANGUAGE sql SET session_replication_role = replica AS $$ SELECT 1 $$;"),
]  # fmt: skip

PASSING = [
    Case("reads-the-setting", plpgsql("f", "PERFORM current_setting('app.tenant_id')::bigint"), False),
    Case("reads-it-missing-ok", "CREATE FUNCTION f() RETURNS bigint LANGUAGE sql AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::bigint $$;", False),
    Case("sets-another-setting", plpgsql("f", "PERFORM set_config('statement_timeout', '5s', true)"), False),
    Case("sets-another-setting-upper", plpgsql("f", "PERFORM set_config('Statement_Timeout', '5s', true)"), False),
    Case("set-local-another", plpgsql("f", "SET LOCAL lock_timeout = '1s'"), False),
    Case("named-in-a-message", plpgsql("f", "RAISE NOTICE 'app.tenant_id is %, set_config(''app.tenant_id'') is the guard''s', current_setting('app.tenant_id', true)"), False),
    Case("named-in-a-comment", plpgsql("f", "-- SET app.tenant_id = 2; PERFORM set_config(x, '2', false)\n /* RESET ALL /* EXECUTE */ */ PERFORM 1"), False),
    Case("show", plpgsql("f", "PERFORM 1; SHOW client_encoding"), False),
    Case("discard-all", plpgsql("f", "DISCARD ALL"), False),  # refused in a function
    Case("execute-literal", plpgsql("f", "EXECUTE 'SELECT 1'"), False),
    Case("execute-format-quoted", plpgsql("f", "EXECUTE format('SELECT count(*) FROM %I WHERE name = %L', 'patients', 'Ana')"), False),
    Case("query_to_xml-literal", plpgsql("f", "PERFORM query_to_xml('SELECT 1', false, false, '')"), False),
    Case("ts_stat-literal", plpgsql("f", "PERFORM ts_stat('SELECT to_tsvector(''a'')')"), False),
    Case("ts_rewrite-substitute", plpgsql("f", "PERFORM ts_rewrite('a'::tsquery, 'a'::tsquery, 'b'::tsquery)"), False),
    Case("trigger-ddl", plpgsql("f", "CREATE TRIGGER t BEFORE INSERT ON patients FOR EACH ROW EXECUTE FUNCTION f()"), False),
    Case("own-search-path", "CREATE FUNCTION f() RETURNS integer LANGUAGE sql SET search_path = public, pg_temp AS $$ SELECT 1 $$;", False),
    Case("own-relied-on-restored", "CREATE FUNCTION f() RETURNS integer LANGUAGE sql SET client_encoding = 'UTF8' SET standard_conforming_strings = on SET session_replication_role = origin AS $$ SELECT 1 $$;", False),
    Case("internal-other", "CREATE FUNCTION f(text) RETURNS text LANGUAGE internal IMMUTABLE STRICT AS 'lower';", False),
]  # fmt: skip


@pytest.mark.parametrize("case", BREAKING + PASSING, ids=[c.id for c in BREAKING + PASSING])
def test_a_function_that_can_change_the_setting(
    case: Case, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database(case.sql)
    code, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    flagged = tg215(findings)
    assert len(flagged) == case.flagged and all(p.startswith("db:public.f(") for p in flagged), (
        findings,
        err,
    )
    if case.flagged:
        assert code == 1


# the switching functions of test_runtime_plain_trust, and a statement that runs each unnamed
SWITCHING = {
    'db:public."lower\u00a0"(bigint)': 'SELECT "lower\u00a0"(1::bigint)',
    'db:public."\u3000upper"(bigint)': 'SELECT "\u3000upper"(1::bigint)',
    'db:pg_catalog."Now"()': 'SELECT pg_catalog."Now"()',
    "db:public.length(bigint)": "SELECT length(1::bigint)",
    "db:public.text_plus(text, text)": "SELECT 'a'::text + 'b'::text",
    "db:public.mood_id(mood)": "SELECT 'ok'::mood::bigint",
    "db:public.checked(bigint)": "SELECT 1::bigint::clinic_id",
    "db:public.stamp()": "INSERT INTO visits (tenant_id, note) VALUES (1, 'x')",
    "db:public.one()": "SELECT id FROM clinic_one",
}


async def setting_after(dsn: str, statement: str, setting: str = "app.tenant_id") -> str:
    """`setting` after `statement`, in a session of clinic 1."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT set_config('app.tenant_id', '1', false)")
        await conn.execute(statement)
        return str(await conn.fetchval("SELECT current_setting($1, true)", setting))
    finally:
        await conn.close()


def test_every_switching_function_of_the_plain_trust_attacks_is_found(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each of them is found, and each finding is a function a statement not naming it runs,
    switching the setting to clinic 2 (run on the server)."""
    name = server.database(NAMES + IMPLICIT)
    _, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    assert tg215(findings) == set(SWITCHING), err
    for statement in SWITCHING.values():
        assert run(setting_after(server.dsn(name), statement)) == "2", statement


def test_pg_catalogs_own_functions_are_not_reported(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database()
    code, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    assert (code, findings) == (0, []), err
    # and set_config is there, in pg_catalog: it is the built-in, which the text names
    statement = "SELECT set_config('app.tenant_id', '2', false)"
    assert run(setting_after(server.dsn(name), statement)) == "2"


async def rows_in_one_session(dsn: str, *statements: str) -> list[list[object]]:
    """Each statement's first column, in one session of the application for clinic 1."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET app.tenant_id = '1'")
        return [[r[0] for r in await conn.fetch(s)] for s in statements]
    finally:
        await conn.close()


PATIENTS = "SELECT name FROM patients ORDER BY id"


def test_a_functions_own_tenant_setting_serves_that_tenant_to_every_caller(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL restores a function's own setting when it returns: the setting does not leak
    past the call, but inside it the function reads clinic 2's rows for a clinic-1 caller."""
    name = server.database(
        "CREATE FUNCTION names() RETURNS SETOF text LANGUAGE sql SET app.tenant_id = '2' "
        "AS $$ SELECT name FROM patients $$;"
        f"GRANT EXECUTE ON FUNCTION names() TO {APP}"
    )
    rows = run(rows_in_one_session(server.dsn(name, APP), "SELECT names()", PATIENTS))
    assert rows == [["Carla"], ["Ana"]]  # clinic 2's row from the function, then clinic 1's
    _, findings, _ = audit(capsys, server.dsn(name), "--role", APP)
    assert tg215(findings) == {"db:public.names()"}


@pytest.mark.parametrize(("local", "leaks"), [(False, True), (True, False)])
def test_a_body_setting_leaks_past_the_functions_own_setting_unless_local(
    local: bool, leaks: bool, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the setting among its own, a function's SET LOCAL is undone when it returns, but a
    session-wide set_config() is not: the body is read whatever the function's own settings."""
    name = server.database(
        "CREATE FUNCTION f() RETURNS integer LANGUAGE plpgsql SET app.tenant_id = '1' AS $$ "
        f"BEGIN PERFORM set_config('app.tenant_id', '2', {str(local).lower()}); RETURN 1; END $$;"
        f"GRANT EXECUTE ON FUNCTION f() TO {APP}"
    )
    rows = run(rows_in_one_session(server.dsn(name, APP), "SELECT f()", PATIENTS))
    assert rows == [[1], ["Carla" if leaks else "Ana"]]
    _, findings, _ = audit(capsys, server.dsn(name), "--role", APP)
    message = next(str(f["message"]) for f in findings if f["rule"] == "TG215")
    assert "calls set_config('app.tenant_id', …)" in message


def test_discard_all_is_refused_in_a_function(server: Server) -> None:
    """Why DISCARD ALL in a body is not reported: PostgreSQL refuses it there."""
    name = server.database(plpgsql("f", "DISCARD ALL"))
    with pytest.raises(asyncpg.ActiveSQLTransactionError, match="cannot be executed from a"):
        run(setting_after(server.dsn(name), "SELECT f()"))


# ---------------------------------------------------------------- the reading, without a server


def _function(language: str, source: str, **changes: object) -> Function:
    base = Function(10, "public", "f", "public.f()", language, False, (), "", "postgres")
    return replace(base, source=source, **changes)  # type: ignore[arg-type]


def _reported(function: Function, policy: Policy = UNITS_POLICY) -> list[str]:
    catalog = Catalog("clinic", 150004, Role("app"), (), (function,))
    ctx = AuditContext(catalog, policy, (), PolicyReader(policy))
    return [f.message for f in check_catalog(ctx) if f.code == "TG215"]


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        (_function("plpython3u", "plpy.execute('SET ' + name + ' = 2')"), "plpy.execute"),
        (_function("plpython3u", "return 'app.tenant_id'"), "names app.tenant_id"),
        (_function("plperl", "spi_exec_query($_[0]);"), "spi_exec_query"),
        (_function("plpython3u", "import math\nreturn math.pi"), None),
        (_function("c", "my_symbol"), "written in c"),
        (_function("plsh", "#!/bin/sh\necho hi"), "written in plsh"),
        (_function("internal", "ts_stat1"), "the built-in ts_stat()"),
        (_function("internal", "int4pl"), None),
        # a SQL-standard body: the source is empty, the header's SET is the function's own
        (
            _function(
                "sql",
                "",
                definition="CREATE OR REPLACE FUNCTION public.f()\n RETURNS text\n LANGUAGE sql\n"
                " SET client_encoding TO 'UTF8'\nRETURN set_config('statement_timeout'::text, "
                "'1s'::text, true)\n",
            ),
            None,
        ),
        (
            _function(
                "sql",
                "",
                definition="CREATE OR REPLACE FUNCTION public.f()\n RETURNS text\n LANGUAGE sql\n"
                "BEGIN ATOMIC\n SELECT set_config('app.tenant_id'::text, '2'::text, false);\nEND\n",
            ),
            "calls set_config('app.tenant_id', …)",
        ),
        (_function("sql", "SELECT 'it''s', set_config(x, '1', false)"), "cannot read"),
        (_function("plpgsql", "BEGIN PERFORM set_config('app.tenant_id', '2', false)"), "calls"),
        (_function("plpgsql", 'BEGIN PERFORM "app.tenant_id"; END'), "names app.tenant_id"),
        (_function("plpgsql", "BEGIN RAISE 'unterminated"), None),
        (_function("plpgsql", "BEGIN /* never closed SET app.tenant_id = 1"), None),
        (_function("sql", "SELECT 1", config=("app.tenant_id=2",)), "sets app.tenant_id = '2'"),
        (_function("sql", "SELECT 1", config=("search_path=public",)), None),
    ],
)
def test_what_a_function_is_reported_for(function: Function, reason: str | None) -> None:
    found = _reported(function)
    if reason is None:
        assert found == []
    else:
        assert len(found) == 1 and reason in found[0], found


def test_the_tenant_setting_is_the_one_the_tenant_expressions_read() -> None:
    expressions = ("current_setting('app.clinic_id')::int",)
    clinic = Policy("tenant_id", {"patients"}, tenant_expressions=expressions)
    sets = _function("sql", "SELECT set_config('app.clinic_id', '2', false)")
    assert _reported(sets, clinic) and not _reported(sets)
    old = _function("sql", "SELECT set_config('app.tenant_id', '2', false)")
    assert _reported(old) and not _reported(old, clinic)


def test_the_lexer_keeps_strings_apart() -> None:
    code, strings = lex("SELECT 'a''b', E'c\\'d', $x$ 'e' $x$, U&'f', \"G\"\"H\" -- i\n/* j */k")
    assert strings == ["a'b", None, " 'e' ", None]
    assert code.split() == [
        "select",
        "'#0'",
        ",",
        "'#1'",
        ",",
        "'#2'",
        ",",
        "'#3'",
        ",",
        'g"h',
        "k",
    ]


# ------------------------------------- schema code calling set_config itself (no function between)

SWITCH = ("app.tenant_id", "2")  # what the breaking objects set
TIMEOUT = ("statement_timeout", "0")  # the same objects setting another setting
SQL_TO_RUN = (
    "CREATE TABLE q (sql text);\n"
    "INSERT INTO q VALUES ('SELECT set_config(''app.tenant_id'', ''2'', false)::tsquery, "
    "''b''::tsquery');\n"
)
VECTOR_TO_RUN = (  # what ts_stat runs
    "CREATE TABLE q2 (sql text);\n"
    "INSERT INTO q2 VALUES ('SELECT to_tsvector(set_config(''app.tenant_id'', ''2'', false))');\n"
)


@dataclass(frozen=True)
class Code:
    id: str
    sql: str  # `{s}`, `{v}`: the setting and its value
    statement: str  # a statement running it, whose text names no set_config
    path: str  # where TG215 reports it
    as_app: bool = False  # run as the application role (RLS does not apply to a superuser)
    readable: bool = True  # reported only when it sets a guarded setting (else: always)
    switch: tuple[str, str] = SWITCH  # the setting it switches on the server, and to what


CODE = [
    Code("view", "CREATE VIEW switch AS SELECT set_config('{s}', '{v}', false) AS s;", "SELECT * FROM switch", "db:public.switch"),
    Code("rule", "CREATE TABLE r (id int);\nCREATE RULE r_ins AS ON INSERT TO r DO ALSO SELECT set_config('{s}', '{v}', false);", "INSERT INTO r VALUES (1)", "db:public.r"),
    Code("column-default", "CREATE TABLE d (id int, s text DEFAULT set_config('{s}', '{v}', false));", "INSERT INTO d (id) VALUES (1)", "db:public.d"),
    Code("check", "CREATE TABLE c (id int CHECK (set_config('{s}', '{v}', false) IS NOT NULL));", "INSERT INTO c VALUES (1)", "db:public.c"),
    Code("domain-check", "CREATE DOMAIN dom AS text CHECK (set_config('{s}', '{v}', false) IS NOT NULL);", "SELECT 'x'::dom", "db:public.dom"),
    Code("domain-default", "CREATE DOMAIN dd AS text DEFAULT set_config('{s}', '{v}', false);\nCREATE TABLE dt (id int, x dd);", "INSERT INTO dt (id) VALUES (1)", "db:public.dd"),
    Code("policy", f"CREATE TABLE pt (id int);\nINSERT INTO pt VALUES (1);\nALTER TABLE pt ENABLE ROW LEVEL SECURITY;\nCREATE POLICY pt_p ON pt USING (set_config('{{s}}', '{{v}}', false) IS NOT NULL);\nGRANT SELECT ON pt TO {APP};", "SELECT * FROM pt", "db:public.pt", as_app=True),
    Code("trigger-when", "CREATE FUNCTION pass() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\nCREATE TABLE t (id int);\nCREATE TRIGGER t_w BEFORE INSERT ON t FOR EACH ROW WHEN (set_config('{s}', '{v}', false) IS NOT NULL) EXECUTE FUNCTION pass();", "INSERT INTO t VALUES (1)", "db:public.t"),
    Code("argument-default", "CREATE FUNCTION public.length(bigint, x text DEFAULT set_config('{s}', '{v}', false)) RETURNS integer LANGUAGE plpgsql AS 'BEGIN RETURN 1; END';", "SELECT length(1::bigint)", "db:public.length(bigint, text)"),
    Code("view-query_to_xml", "CREATE VIEW xml AS SELECT query_to_xml('SELECT set_config(''{s}'', ''{v}'', false)', false, false, '') AS x;", "SELECT * FROM xml", "db:public.xml"),
    Code("rule-pg_settings", "CREATE TABLE ru (id int);\nCREATE RULE ru_u AS ON INSERT TO ru DO ALSO UPDATE pg_settings SET setting = '{v}' WHERE name = '{s}';", "INSERT INTO ru VALUES (1)", "db:public.ru", readable=False, switch=("standard_conforming_strings", "off")),
    Code("view-ts_stat-column", VECTOR_TO_RUN + "CREATE VIEW words AS SELECT (ts_stat(q2.sql)).word FROM q2;", "SELECT * FROM words", "db:public.words", readable=False),
    Code("aggregate", "CREATE AGGREGATE public.max(text, boolean) (sfunc = set_config, stype = text, initcond = '{s}');", "SELECT max('{v}', false)", "db:public.max(text, boolean)", readable=False),
    Code("operator-ts_rewrite", SQL_TO_RUN + "CREATE OPERATOR public.@@ (leftarg = tsquery, rightarg = text, function = ts_rewrite);", "SELECT 'a'::tsquery @@ sql FROM q", "db:public.@@(tsquery, text)", readable=False),
    Code("operator-ts_stat", VECTOR_TO_RUN + "CREATE OPERATOR public.!@ (rightarg = text, function = ts_stat);", "SELECT !@ sql FROM q2", "db:public.!@(NONE, text)", readable=False),
]  # fmt: skip


def _code_sql(code: Code, setting: tuple[str, str]) -> str:
    return code.sql.replace("{s}", setting[0]).replace("{v}", setting[1])


@pytest.mark.parametrize("code", CODE, ids=[c.id for c in CODE])
def test_schema_code_calling_set_config_itself_is_found(
    code: Code, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each switches the setting on the server for a statement whose text names no set_config,
    and TG215 reports it where it is defined."""
    name = server.database(_code_sql(code, code.switch))
    statement = code.statement.replace("{v}", code.switch[1])
    dsn = server.dsn(name, APP if code.as_app else "postgres")
    assert "set_config" not in statement
    assert run(setting_after(dsn, statement, code.switch[0])) == code.switch[1]
    result, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    assert tg215(findings) == {code.path}, (findings, err)
    assert result == 1


READABLE = [c for c in CODE if c.readable]


@pytest.mark.parametrize("code", READABLE, ids=[c.id for c in READABLE])
def test_the_same_schema_code_setting_another_setting_is_not(
    code: Code, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    name = server.database(_code_sql(code, TIMEOUT))
    statement = code.statement.replace("{v}", TIMEOUT[1])
    dsn = server.dsn(name, APP if code.as_app else "postgres")
    assert run(setting_after(dsn, statement)) == "1"  # it ran, and left the tenant alone
    _, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    assert tg215(findings) == set(), (findings, err)


def test_a_materialized_views_query_changes_no_setting_past_its_refresh(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Why a materialized view is not reported: REFRESH (and CREATE) restore the settings its
    query changes, though the query ran switched."""
    name = server.database(
        "CREATE MATERIALIZED VIEW mv AS SELECT set_config('app.tenant_id', '2', false) AS s "
        "WITH NO DATA;"
    )
    assert run(setting_after(server.dsn(name), "REFRESH MATERIALIZED VIEW mv")) == "1"
    assert run(rows_in_one_session(server.dsn(name), "SELECT s FROM mv")) == [["2"]]
    _, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    assert tg215(findings) == set(), (findings, err)


def test_schema_code_calling_a_reported_function_is_reported_there(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """A view (or default, trigger…) calling a function TG215 reports is not reported again:
    the function is what to change."""
    name = server.database(
        plpgsql("f", "PERFORM set_config('app.tenant_id', '2', false)")
        + "CREATE VIEW calls_f AS SELECT f() AS one;"
    )
    assert run(setting_after(server.dsn(name), "SELECT * FROM calls_f")) == "2"
    _, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    assert tg215(findings) == {"db:public.f()"}, (findings, err)


SUPPRESS = "'tenantguard: ignore[TG215] -- a maintenance table the application never writes'"


@pytest.mark.parametrize(
    ("code", "comment"),
    [
        ("view", f"COMMENT ON VIEW switch IS {SUPPRESS}"),
        ("rule", f"COMMENT ON RULE r_ins ON r IS {SUPPRESS}"),
        ("column-default", f"COMMENT ON COLUMN d.s IS {SUPPRESS}"),
        ("check", f"COMMENT ON TABLE c IS {SUPPRESS}"),
        ("domain-check", f"COMMENT ON CONSTRAINT dom_check ON DOMAIN dom IS {SUPPRESS}"),
        ("domain-default", f"COMMENT ON DOMAIN dd IS {SUPPRESS}"),
        ("policy", f"COMMENT ON POLICY pt_p ON pt IS {SUPPRESS}"),
        ("trigger-when", f"COMMENT ON TRIGGER t_w ON t IS {SUPPRESS}"),
        ("argument-default", f"COMMENT ON FUNCTION public.length(bigint, text) IS {SUPPRESS}"),
        ("aggregate", f"COMMENT ON AGGREGATE public.max(text, boolean) IS {SUPPRESS}"),
        ("operator-ts_rewrite", f"COMMENT ON OPERATOR public.@@ (tsquery, text) IS {SUPPRESS}"),
    ],
)
def test_a_suppression_comment_on_the_code_or_its_table_accepts_it(
    code: str, comment: str, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Accepted, it is not reported, and the suppression is used (no TG011)."""
    case = next(c for c in CODE if c.id == code)
    name = server.database(_code_sql(case, case.switch) + f"\n{comment};")
    _, findings, err = audit(capsys, server.dsn(name), "--role", APP)
    assert not [f for f in findings if f["rule"] in ("TG215", "TG010", "TG011")], findings
    assert "1 finding accepted by suppression" in err


def _code(definition: str | None, *calls: str) -> SchemaCode:
    return SchemaCode("view", "v", calls, definition, "public.v")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (_code(" SELECT set_config('app.tenant_id'::text, '2'::text, false) AS s;", "set_config"), "calls set_config('app.tenant_id', …)"),
        (_code(" SELECT set_config('work_mem'::text, '2MB'::text, false) AS s;", "set_config"), None),
        (_code(" SELECT set_config(v.name, '2'::text, false) AS s FROM v;", "set_config"), "cannot read"),
        (_code(" SELECT set_config(new_value => '2'::text, setting_name => 'work_mem'::text, is_local => false) AS s;", "set_config"), "cannot read"),
        (_code(" SELECT query_to_xml('SELECT 1'::text, false, false, ''::text) AS x;", "query_to_xml"), None),
        (_code(" SELECT query_to_xml(v.q, false, false, ''::text) AS x FROM v;", "query_to_xml"), "cannot read"),
        (_code(" SELECT v.a @@ v.b FROM v;", "set_config"), "does not show"),
        (_code(" SELECT pg_settings.name FROM pg_settings;", "pg_settings"), None),
        (_code(None, "set_config"), "can change any setting"),
        (_code(None, "ts_stat"), "runs text as SQL"),
    ],
)  # fmt: skip
def test_what_schema_code_is_reported_for(code: SchemaCode, reason: str | None) -> None:
    catalog = Catalog("clinic", 150004, Role("app"), (), (), (code,))
    ctx = AuditContext(catalog, UNITS_POLICY, (), PolicyReader(UNITS_POLICY))
    found = [f.message for f in check_catalog(ctx) if f.code == "TG215"]
    if reason is None:
        assert found == []
    else:
        assert len(found) == 1 and reason in found[0], found


async def _builtins_by_c_name(dsn: str, names: list[str]) -> dict[str, set[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT p.oid::regprocedure::text AS signature, p.prosrc, p.proname FROM pg_proc p"
            " WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'internal')"
            " AND p.prosrc = ANY($1::text[])",
            names,
        )
    finally:
        await conn.close()
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["prosrc"], set()).add(f"{row['proname']}|{row['signature']}")
    return found


def test_the_two_lists_of_dangerous_built_ins_name_the_same_functions(server: Server) -> None:
    """The audit finds them by C name in function bodies (model.SETTING_BUILTINS) and by
    signature in stored expressions (runtime.schema_code.BUILTINS, shared with the runtime
    guard): the server says both are one list."""
    from tenantguard.audit import model
    from tenantguard.runtime import schema_code

    found = run(_builtins_by_c_name(server.dsn(server.database()), list(model.SETTING_BUILTINS)))
    assert isinstance(found, dict)
    assert set(found) == set(model.SETTING_BUILTINS)  # every C name exists on this server
    by_signature = {
        signature.split("|")[1]: c_name
        for c_name, entries in found.items()
        for signature in entries
    }
    for c_name, entries in found.items():  # the SQL name each C function is called by
        assert {e.split("|")[0] for e in entries} == {model.SETTING_BUILTINS[c_name]}, c_name
    # ts_rewrite(tsquery, text) only: its other overload runs no text
    assert set(by_signature) == {b.replace(" ", "") for b in schema_code.BUILTINS}
