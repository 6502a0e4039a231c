"""Property-based tests: random and mutated SQL never crash the proof, and OR never helps."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement

POLICY = Policy(tenant_tables={"patients", "appointments", "leads"})

SEEDS = [
    "SELECT * FROM patients WHERE tenant_id = $1 AND dni = $2",
    "SELECT p.id FROM patients p JOIN appointments a ON a.patient_id = p.id AND a.tenant_id = p.tenant_id WHERE p.tenant_id = $1",
    "SELECT * FROM patients p LEFT JOIN appointments a ON a.patient_id = p.id WHERE p.tenant_id = $1",
    "WITH x AS (SELECT * FROM leads WHERE tenant_id = $1) SELECT * FROM x",
    "UPDATE patients SET status = 'active' WHERE tenant_id = $1 AND id = $2",
    "DELETE FROM leads WHERE id = $1",
    "INSERT INTO leads (tenant_id, name) VALUES ($1, $2)",
    "SELECT * FROM patients WHERE EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = patients.id)",
    "SELECT id FROM patients WHERE tenant_id = $1 UNION SELECT id FROM leads",
]
TOKENS = [
    "SELECT",
    "*",
    "FROM",
    "patients",
    "appointments",
    "p",
    "a",
    "WHERE",
    "tenant_id",
    "=",
    "$1",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    ",",
    "JOIN",
    "LEFT",
    "ON",
    "p.tenant_id",
    "a.tenant_id",
    "1",
    "'x'",
    "IN",
    "ANY",
    "UNION",
    "WITH",
    "AS",
    "::int",
    ";",
    "--",
    "/*",
    "*/",
    "$$",
    '"',
    "'",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "MERGE",
    "USING",
    "EXISTS",
    "NULL",
    "RIGHT",
    "FULL",
    "LIMIT",
    "GROUP BY",
    "d",
    "d.tenant_id",
    "(tenant_id, id)",
]


def _fine(sql: str) -> None:
    verdict = analyze_statement(sql, POLICY)
    for finding in verdict.findings:
        assert finding.code.startswith("TG")
        assert finding.line >= 1 and finding.column >= 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map(" ".join))
def test_token_soup_never_raises(sql: str) -> None:
    _fine(sql)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_never_raises(sql: str) -> None:
    _fine(sql)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SEEDS), st.integers(0, 200), st.integers(0, 20), st.sampled_from([*TOKENS, ""])
)
def test_mutated_sql_never_raises(seed: str, at: int, cut: int, insert: str) -> None:
    at = min(at, len(seed))
    _fine(seed[:at] + insert + seed[at + cut :])


CONDITIONS = st.sampled_from(
    [
        "1 = 1",
        "TRUE",
        "dni = $9",
        "tenant_id = $2",
        "tenant_id <> $1",
        "id IN (SELECT id FROM leads)",
        "patients.tenant_id = patients.tenant_id",
        "tenant_id IS NOT NULL",
        # the same pin in the new branch: an OR may keep a pin every branch has, never add one
        "tenant_id = $1",
        "(tenant_id = $1 AND dni = $3)",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([s for s in SEEDS if " WHERE " in s]), CONDITIONS)
def test_adding_or_never_turns_flagged_into_clean(seed: str, extra: str) -> None:
    before = analyze_statement(seed, POLICY).errors
    where = seed.rindex(" WHERE ") + len(" WHERE ")
    tail = seed[where:]
    widened = seed[:where] + f"({tail}) OR {extra}"
    after = analyze_statement(widened, POLICY).errors
    if before:
        assert after, widened
    assert len(after) >= len(before) or not before


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="'\";$1aEe\\ \t\u00a0\n-/*x", max_size=16))
def test_single_statement_fast_path_splits_like_the_lexer(text: str) -> None:
    from tenantguard.engine.sqltext import _split_script, split_sql

    assert split_sql(text) == _split_script(text)


DDL = [
    "CREATE TABLE t (id int, tenant_id int);",
    "CREATE OR REPLACE VIEW v AS SELECT * FROM patients;",
    "CREATE FUNCTION f(p bigint) RETURNS SETOF patients LANGUAGE sql AS $$ SELECT * FROM patients WHERE tenant_id = p $$;",
    "CREATE FUNCTION g() RETURNS SETOF patients LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY SELECT * FROM patients; END $$;",
    "CREATE FUNCTION h() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM patients; END;",
    "DO $$ BEGIN EXECUTE 'CREATE VIEW w AS SELECT * FROM leads WHERE x = ''a'''; END $$;",
    "DROP VIEW IF EXISTS v; DROP FUNCTION IF EXISTS f(bigint);",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(DDL), min_size=1, max_size=5).map("\n".join),
    st.integers(0, 400),
    st.integers(0, 30),
    st.sampled_from(["", "'", "$$", ";", "(", ")", "--", "/*", "END", "LANGUAGE", "VIEW"]),
)
def test_schema_reader_never_raises_on_mutated_patches(
    text: str, at: int, cut: int, insert: str
) -> None:
    from tenantguard.sources.schema.reading import SchemaInfo
    from tenantguard.sources.schema.relations import tenant_relations

    at = min(at, len(text))
    schema = SchemaInfo()
    schema.add_sql(text[:at] + insert + text[at + cut :])
    tenant_relations(schema.views, schema.functions, POLICY)
