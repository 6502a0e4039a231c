"""Pure pieces of the runtime guard: what a statement does to its session, token rewrites, the
report limiter, the verdict cache's bounds. No server needed."""

from __future__ import annotations

import re

import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import Guard, tenant, unscoped
from tenantguard.runtime.logs import ReportLimiter
from tenantguard.runtime.session import statement_effects
from tenantguard.runtime.tokens import inline_parameters, redact_literals

SETTING = "app.tenant_id"
POLICY = Policy("tenant_id", {"patients"}, global_tables={"tenants"})

REFUSED = [
    "SET app.tenant_id = '2'",
    "SET LOCAL app.tenant_id TO 2",
    'set session "App"."Tenant_Id" = 2',
    "SET app . tenant_id = 2",
    "RESET app.tenant_id",
    "RESET ALL",
    "DISCARD ALL",
    "ALTER ROLE clinic_app SET app.tenant_id = '2'",
    "SELECT set_config('app.tenant_id', $1, false)",
    "SELECT set_config('APP.TENANT_ID', '2', true)",
    "SELECT set_config($1, $2, false)",
    "SELECT set_config(E'app\\x2etenant_id', '2', false)",
    "SELECT set_config('app.' || 'tenant_id', '2', false)",
    "SELECT set_config($$app.tenant_id$$, '2', false)",
    "SELECT \"set_config\"('app.tenant_id', '2', false)",
    "DO $$ BEGIN PERFORM set_config('app.tenant_id', '2', false); END $$",
    "SELECT query_to_xml('SELECT set_config(''app.tenant_id'', ''2'', false)', true, true, '')",
    "SET standard_conforming_strings = off",
    "SELECT set_config('standard_conforming_strings', 'off', false)",
    "PREPARE leak AS SELECT * FROM patients",
    "EXECUTE leak",
    "execute leak(1, 2)",
    # it frees the name of a statement asyncpg binds for a proven text (round 12b)
    "DEALLOCATE leak",
    "DEALLOCATE PREPARE ALL",
    "deallocate/**/all",
    "SELECT U&\"\\0073et_config\"('x', '2', false)",
    "SELECT U&'app\\002etenant_id'",
]

ALLOWED = [
    ("SELECT 1", True),
    ("SELECT * FROM patients WHERE tenant_id = current_setting('app.tenant_id')::bigint", True),
    ("SELECT current_setting('app.tenant_id', true)", True),
    ("-- sets app.tenant_id? no\nSELECT 1", True),
    ("SHOW app.tenant_id", True),
    ("SHOW standard_conforming_strings", True),
    ("SELECT lower(x), jsonb_build_object('a', 1), count(*), now() FROM t", True),
    ("SELECT pg_catalog.lower('A')", True),
    ("INSERT INTO patients (tenant_id, first_name) VALUES ($1, $2)", True),
    ("(SELECT 1) UNION (SELECT 2)", True),
    ("BEGIN", True),
    ("SAVEPOINT s", True),
    ("SET statement_timeout = '1s'", False),
    ("SELECT set_config('statement_timeout', '1s', false)", False),
    ("RESET statement_timeout", False),
    ("DISCARD PLANS", False),
    ("SELECT my_function($1)", False),
    ("SELECT app.lower('A')", False),
    ("SELECT pg_advisory_lock(1)", False),
    ("LISTEN events", False),
    ("DECLARE c CURSOR WITH HOLD FOR SELECT 1", False),
    ("CALL refresh()", False),
    # a quoted name is the schema's function however sqlglot reads it (as now(), as lower())
    ('SELECT "Now"()', False),
    ('SELECT "Now"/* now() */ ()', False),
    ('SELECT "Upper"(1)', False),
    ("SELECT \"Lower\"('A')", False),
    ('SELECT x FROM "Json_Each"($1)', False),
    ('SELECT 1, "a""b"(2)', False),
    ('SELECT "now"(), "lower"(\'A\')', True),  # spelled as the built-ins are
    ('INSERT INTO "AuditLog"(tenant_id, note) VALUES ($1, $2)', True),
    ('SELECT t.a FROM (VALUES (1)) AS "t"(a)', True),
    ('SELECT $1::"varchar"(10)', True),
    # names sqlglot reads as its own built-ins, which PostgreSQL does not have: a project's or
    # an extension's functions (orafce's nvl, months_between…)
    ("SELECT nvl(x, 1) FROM t", False),
    ("SELECT ifnull(x, 1), date_add(x, 1) FROM t", False),
    ("SELECT months_between(a, b), last_day(a) FROM t", False),
    ("SELECT levenshtein(a, b), soundex(a), sha1(a), to_base64(a) FROM t", False),
    ("SELECT coalesce(x, 1), COALESCE(y, 2), nullif(a, b) FROM t", True),
    ("SELECT count(*) FILTER (WHERE x > 1) OVER (PARTITION BY y) FROM t", True),
    ("SELECT DISTINCT ON (a) nvl(b, 1) FROM t", False),
    ("SELECT x FROM t WHERE y IN (1, 2) AND EXISTS (SELECT 1) AND z = ANY ($1)", True),
    ("SELECT CAST(x AS numeric(10, 2)), x::varchar(3), extract(year FROM now()) FROM t", True),
    ("WITH c(a) AS (SELECT 1), d AS NOT MATERIALIZED (SELECT 2) SELECT * FROM c, d", True),
    ("WITH RECURSIVE c(a) AS (SELECT 1) SELECT * FROM c", True),
    ("INSERT INTO patients(tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING", True),
    ("SELECT * FROM t WHERE a OPERATOR(pg_catalog.=) $1", True),
    # a column list the text cannot tell from a call: not plain (a little cost, no trust)
    ("SELECT * FROM (SELECT 1) d(a)", False),
    # every character past ASCII is a letter of a name to PostgreSQL, where Python's `\s` and
    # sqlglot see a blank: `lower\u00a0(` calls "lower\u00a0", `\u3000upper(` "\u3000upper"
    ("SELECT lower\u00a0(x) FROM t", False),
    ("SELECT \u3000upper(x) FROM t", False),
    ("SELECT lower\u2028(x), lower\x85(x) FROM t", False),
    ("SELECT lower\n(x), upper\t(y), now\f() FROM t", True),  # PostgreSQL's own blanks
    # a qualified quoted name is spelled as the built-in's, or it is the schema's function
    ('SELECT pg_catalog."Now"()', False),
    ('SELECT pg_catalog."lower"(x), pg_catalog.upper(y) FROM t', True),
    # a qualified table's column list, a qualified type's modifier: not calls
    ('INSERT INTO public."AuditLog" (tenant_id, note) VALUES ($1, $2)', True),
    ("INSERT INTO app . patients(tenant_id) VALUES ($1)", True),
    ("SELECT x::pg_catalog.varchar(3) FROM t", True),
]


@pytest.mark.parametrize("sql", REFUSED)
def test_changes_of_what_the_guard_owns_are_refused(sql: str) -> None:
    effects = statement_effects(sql, SETTING)
    assert effects.refusal is not None and not effects.plain


@pytest.mark.parametrize("sql, plain", ALLOWED)
def test_other_statements_pass_plain_or_not(sql: str, plain: bool) -> None:
    effects = statement_effects(sql, SETTING)
    assert effects.refusal is None
    assert effects.plain is plain


@pytest.mark.parametrize("sql", ["COMMIT", "END", "ROLLBACK", "ABORT", "ROLLBACK TO SAVEPOINT s"])
def test_transaction_ends_are_known(sql: str) -> None:
    assert statement_effects(sql, SETTING).ends_transaction


def test_inline_parameters_only_where_parameters_are() -> None:
    sql = (
        "SELECT $1, '$1', \"c$1\", $$ $1 $$, E'\\'$2' -- $2\n"
        "/* $1 */ FROM t WHERE a = $2::int AND b IN ($1,$2)"
    )
    inlined = inline_parameters(sql, ["'one'", "'two'"])
    assert inlined.startswith("SELECT 'one', '$1', \"c$1\", $$ $1 $$, E'\\'$2' -- $2\n/* $1 */")
    assert inlined.endswith("a = 'two'::int AND b IN ('one','two')")
    with pytest.raises(ValueError, match=r"\$3"):
        inline_parameters("SELECT $3", ["1"])
    with pytest.raises(ValueError, match="unterminated"):
        inline_parameters("SELECT 'never closed", [])


def test_redaction_keeps_the_shape_and_hides_values() -> None:
    sql = "SELECT * FROM patients /* Ana */ WHERE dni = '12345678' AND age > 40 AND x = $1"
    assert redact_literals(sql) == "SELECT * FROM patients WHERE dni = ? AND age > ? AND x = $1"
    assert redact_literals("SELECT $$secret$$, E'a\\'b', B'101'") == "SELECT ?, ?, ?"
    assert "never" not in redact_literals("SELECT 'never closed")
    assert redact_literals("SELECT * FROM t WHERE a IN ($1,$2) AND b = 1.5e3") == (
        "SELECT * FROM t WHERE a IN ($1,$2) AND b = ?"
    )


def test_report_limiter_one_line_per_interval_with_a_count() -> None:
    now = [0.0]
    limiter = ReportLimiter(60, max_keys=2, clock=lambda: now[0])
    assert limiter.note(("a",)) == 1
    assert [limiter.note(("a",)) for _ in range(3)] == [0, 0, 0]
    now[0] = 61
    assert limiter.note(("a",)) == 4  # three silent ones and this one
    assert limiter.note(("a",)) == 0
    assert limiter.flush() == [(("a",), 1)]
    assert limiter.flush() == []
    limiter.note(("b",))
    limiter.note(("c",))  # the oldest key is forgotten
    assert limiter.note(("a",)) == 1


def test_cache_is_bounded_in_bytes_and_entries() -> None:
    guard = Guard(POLICY, cache_bytes=200_000, max_statement_bytes=64 * 1024)
    filler = "x" * 10_000
    with tenant(1):
        for i in range(100):
            guard.check(
                f"SELECT {i} FROM patients WHERE tenant_id = $1 AND note <> '{filler}'", [(1,)]
            )
    counters = guard.counters
    assert counters["cache_bytes"] <= 200_000
    assert 10 <= counters["cache_entries"] < 20
    recent = f"SELECT 99 FROM patients WHERE tenant_id = $1 AND note <> '{filler}'"
    hits = counters["cache_hits"]
    with tenant(1):
        guard.check(recent, [(1,)])
    assert guard.counters["cache_hits"] == hits + 1  # the newest stayed
    small = Guard(POLICY, cache_size=3)
    with tenant(1):
        for i in range(10):
            small.check(f"SELECT {i} FROM patients WHERE tenant_id = $1", [(1,)])
        small.check("SELECT 7 FROM patients WHERE tenant_id = $1", [(1,)])  # kept, now used
        small.check("SELECT 10 FROM patients WHERE tenant_id = $1", [(1,)])  # evicts 8, not 7
        small.check("SELECT 7 FROM patients WHERE tenant_id = $1", [(1,)])
    assert small.counters["cache_entries"] == 3
    assert small.cache_misses == 11


def test_statements_above_the_size_limit_are_refused_not_proven() -> None:
    guard = Guard(POLICY, max_statement_bytes=1000)
    long = "SELECT * FROM patients WHERE tenant_id = $1 AND note <> '" + "é" * 600 + "'"
    assert len(long) < 1000 < len(long.encode())
    with tenant(1), pytest.raises(TenantIsolationError, match="max_statement_bytes"):
        guard.check(long, [(1,)])
    assert guard.counters["cache_entries"] == 0  # never cached: its text would fill the cache
    with unscoped("bulk maintenance"):
        guard.check(long, [(1,)])
    report = Guard(POLICY, mode="report", max_statement_bytes=1000)
    with tenant(1):
        report.check(long, [(1,)])
    assert report.reported == 1


def test_a_tenant_expression_the_guard_does_not_keep_is_not_trusted() -> None:
    policy = POLICY.replace(tenant_expressions=["current_setting('app.other')"])
    guard = Guard(policy)
    with tenant(1), pytest.raises(TenantIsolationError, match="does not read"):
        guard.check("SELECT * FROM patients WHERE tenant_id = current_setting('app.other')::int")
    kept = Guard(POLICY.replace(tenant_expressions=["current_setting('APP.TENANT_ID')"]))
    with tenant(1):
        kept.check("SELECT * FROM patients WHERE tenant_id = current_setting('APP.TENANT_ID')")


def test_guard_options_are_validated() -> None:
    for bad in ({"cache_bytes": 0}, {"max_statement_bytes": 0}, {"tenant_setting": "tenant"}):
        with pytest.raises(ValueError):
            Guard(POLICY, **bad)  # type: ignore[arg-type]


def test_tg_runtime_is_documented_for_tenantguard_rule() -> None:
    from tenantguard.catalog import rule_doc
    from tests.conftest import assert_documented

    rule = rule_doc("TG-RUNTIME")
    assert rule is not None and rule_doc("runtime-guard") is rule
    assert_documented(rule)


def test_names_are_read_with_postgresqls_letters_in_the_cheap_spelling() -> None:
    """The call pattern's letters are written by the ASCII characters they exclude (the range
    form compiles slowly under (?i)); every code point, first in a name and inside one, is read
    as the range form reads it — case-insensitively, as the pattern is used."""
    from tenantguard.runtime.session import _BARE, _LETTER_OR_DIGIT

    plain = re.compile(r"(?i)[a-z_\x80-\U0010ffff][a-z0-9_$\x80-\U0010ffff]*")
    cheap = re.compile(rf"(?i){_BARE}")
    every = [chr(c) for c in range(0x110000)]
    for text in ("".join(every), "-".join(every), "".join(f"a{c}-" for c in every)):
        assert cheap.findall(text) == plain.findall(text)
    before = re.compile(rf"(?i)(?<!{_LETTER_OR_DIGIT})x")
    plain_before = re.compile(r"(?i)(?<![a-z_0-9$\x80-\U0010ffff])x")
    text = "".join(f"{c}x " for c in every)
    assert [m.start() for m in before.finditer(text)] == [
        m.start() for m in plain_before.finditer(text)
    ]
