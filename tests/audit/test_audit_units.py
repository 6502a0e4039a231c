"""`tenantguard audit` without a server: the catalog rules on hand-built catalogs, policy
expressions as PostgreSQL prints them, statement logs, and the traffic's analysis."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tenantguard.audit import traffic
from tenantguard.audit.model import (
    Catalog,
    Column,
    ForeignKey,
    Function,
    Key,
    Relation,
    RewriteRule,
    Role,
    RowPolicy,
)
from tenantguard.audit.rowpolicy import PolicyReader, checked_expressions
from tenantguard.audit.rules import CATALOG_RULES, AuditContext, check_catalog
from tenantguard.audit.statement_log import LogError, read_statement_log
from tenantguard.audit.traffic import RecordedStatement, traffic_findings
from tenantguard.catalog import CATALOG, rule_doc
from tenantguard.cli import main
from tenantguard.engine.analyze import Analyzer, analyze_statement
from tenantguard.engine.policy import Policy
from tests.conftest import assert_documented

POLICY = Policy("tenant_id", {"patients", "appointments"}, global_tables={"tenants"})
PIN = "(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::bigint)"


# ---------------------------------------------------------------- the rules as rules


@pytest.mark.parametrize("rule", CATALOG_RULES, ids=[r.code for r in CATALOG_RULES])
def test_every_catalog_rule_is_documented_and_listed(rule: object) -> None:
    assert_documented(rule)
    assert rule in CATALOG
    code = rule.code  # type: ignore[attr-defined]
    assert code.startswith("TG2") and rule_doc(code) is rule
    assert rule_doc(rule.name) is rule  # type: ignore[attr-defined]


def test_codes_and_names_are_unique_across_every_rule() -> None:
    assert len({r.code for r in CATALOG}) == len(CATALOG)
    assert len({r.name for r in CATALOG}) == len(CATALOG)


def test_tenantguard_rule_prints_a_catalog_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rule", "TG211"]) == 0
    assert capsys.readouterr().out.startswith("TG211 view-without-security-invoker\n")


# ---------------------------------------------------------------- policy expressions

# as PostgreSQL 15 prints them back (pg_get_expr of pg_policy.polqual)
PRINTED = [
    (PIN, True),
    ("(tenant_id = (current_setting('app.tenant_id'::text))::bigint)", True),
    ("(tenant_id = (current_setting('app.tenant_id'::text, true))::bigint)", True),
    ("((tenant_id)::text = current_setting('app.tenant_id'::text))", True),
    (
        "((tenant_id = (current_setting('app.tenant_id'::text))::bigint) AND (EXISTS ( SELECT 1\n"
        "   FROM appointments a\n  WHERE (a.patient_id = patients.id))))",
        True,
    ),
    ("true", False),
    ("(tenant_id = 5)", False),
    (
        "((tenant_id = (current_setting('app.tenant_id'::text))::bigint) OR (tenant_id IS NULL))",
        False,
    ),
    ("(tenant_id = (current_setting('app.user_id'::text))::bigint)", False),
    ("(tenant_id IN ( SELECT t.id\n   FROM tenants t\n  WHERE (t.name = CURRENT_USER)))", False),
    (
        "(tenant_id = ANY ((string_to_array(current_setting('app.tenant_ids'::text), ','::text))"
        "::bigint[]))",
        False,
    ),
    ("(dni = current_setting('app.tenant_id'::text))", False),
    (
        "(tenant_id = COALESCE((current_setting('app.tenant_id'::text, true))::bigint, tenant_id))",
        False,
    ),
    ("((tenant_id = (current_setting('app.tenant_id'::text))::bigint) AND (tenant_id = 7))", False),
    (
        "(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), 'x'::text))::bigint)",
        False,
    ),
]


@pytest.mark.parametrize(("expression", "pins"), PRINTED)
def test_policy_expressions_are_read_by_the_proof(expression: str, pins: bool) -> None:
    verdict = PolicyReader(POLICY).verdict("patients", expression)
    assert verdict.pins is pins, verdict.reason
    assert bool(verdict.reason) is not pins


def test_policy_reasons_say_what_is_wrong() -> None:
    reader = PolicyReader(POLICY)
    assert reader.verdict("patients", "true").reason == "is `true`: every row passes"
    assert "fixed tenant (5)" in reader.verdict("patients", "(tenant_id = 5)").reason
    multi = (
        "(tenant_id = ANY (ARRAY[(current_setting('app.tenant_id'::text))::bigint, (2)::bigint]))"
    )
    assert reader.verdict("patients", multi).reason == "admits several tenants at once"


def test_shared_rows_accept_rows_of_no_tenant_in_a_policy() -> None:
    shared = PolicyReader(POLICY.replace(shared_rows=True))
    expression = PRINTED[7][0]
    assert shared.verdict("patients", expression).pins


def test_a_configured_tenant_expression_is_matched_as_printed() -> None:
    reader = PolicyReader(POLICY.replace(tenant_expressions=("current_setting('myapp.clinic')",)))
    assert reader.verdict(
        "patients", "(tenant_id = (current_setting('myapp.clinic'::text))::bigint)"
    ).pins
    assert not reader.verdict("patients", PIN).pins


def test_what_each_command_holds_a_policy_to() -> None:
    assert checked_expressions("r", "u", "c") == ("u",)
    assert checked_expressions("d", "u", None) == ("u",)
    assert checked_expressions("a", None, "c") == ("c",)
    assert checked_expressions("a", "u", None) == ("u",)  # FOR ALL without WITH CHECK
    assert checked_expressions("w", "u", "c") == ("u", "c")


# ---------------------------------------------------------------- catalog rules on records

ROLE = Role("app")
COLUMNS = (
    Column("id", "bigint", True, True),
    Column("tenant_id", "bigint", True),
    Column("dni", "text", False),
)
TENANT_POLICY = RowPolicy("tenant_isolation", "*", True, ("public",), PIN, PIN)
PATIENTS = Relation(
    1,
    "public",
    "patients",
    "r",
    "postgres",
    rls=True,
    force_rls=True,
    columns=COLUMNS,
    keys=(
        Key("patients_pkey", "primary key", ("id",), True),
        Key("patients_tenant_id_id_key", "unique constraint", ("tenant_id", "id"), True),
    ),
    policies=(TENANT_POLICY,),
)


def findings_of(
    *relations: Relation,
    functions: tuple[Function, ...] = (),
    role: Role = ROLE,
    policy: Policy = POLICY,
) -> list[tuple[str, str]]:
    catalog = Catalog("clinic", 150004, role, relations, functions)
    tables = tuple(r for r in relations if r.is_table and r.name in policy.tenant_tables)
    ctx = AuditContext(catalog, policy, tables, PolicyReader(policy))
    return sorted((f.code, f.message) for f in check_catalog(ctx))


def codes_of(*relations: Relation, **options: object) -> list[str]:
    return [code for code, _ in findings_of(*relations, **options)]  # type: ignore[arg-type]


def test_a_clean_table_has_no_finding() -> None:
    assert findings_of(PATIENTS) == []


def _rule(name: str, **changes: object) -> RewriteRule:
    rule = RewriteRule(name, "2", True, True, f"CREATE RULE {name} …")
    return replace(rule, **changes)  # type: ignore[arg-type]


def test_rules_on_writes_the_proof_cannot_follow() -> None:
    """TG216: a rule on a tenant table, or one whose actions name a tenant table or call a
    schema function; not DO INSTEAD NOTHING, nor a rule among global tables alone."""
    log = Relation(7, "public", "log", "r", "postgres", columns=(Column("body", "text", False),))
    inbox = replace(log, oid=8, name="inbox")
    f = _function("touch", "… log")
    cases = [
        (replace(PATIENTS, rules=(_rule("r1"),)), ["TG216"]),
        (replace(PATIENTS, rules=(_rule("r2", acts=False),)), []),  # DO INSTEAD NOTHING
        (replace(inbox, rules=(_rule("r3", relations=(1,)),)), ["TG216"]),  # names patients
        (replace(inbox, rules=(_rule("r4", relations=(7,)),)), []),  # writes the log only
        (replace(inbox, rules=(_rule("r5", functions=(f.oid,)),)), ["TG216"]),
        (replace(inbox, rules=(_rule("r6", instead=False, event="3"),)), []),
    ]
    for relation, expected in cases:
        others = [r for r in (PATIENTS, log) if r.oid != relation.oid]
        found = [c for c in codes_of(relation, *others, functions=(f,)) if c == "TG216"]
        assert found == expected, relation.rules
    accepted = _rule("r7", comment="tenantguard: ignore[TG216] -- the migration role's only")
    assert codes_of(replace(PATIENTS, rules=(accepted,)), log) == []


def test_permissive_policies_per_command() -> None:
    widening = RowPolicy("reads", "r", True, ("public",), "true", None)
    assert codes_of(replace(PATIENTS, policies=(TENANT_POLICY, widening))) == ["TG204"]
    # a restrictive pin for SELECT neutralises it; one for INSERT only does not
    for command, expected in (("r", []), ("*", []), ("a", ["TG204"])):
        pin = RowPolicy("pin", command, False, ("public",), PIN, PIN)
        policies = (TENANT_POLICY, widening, pin)
        assert codes_of(replace(PATIENTS, policies=policies)) == expected, command
    # a restrictive pin the role only may SET ROLE to does not surely apply
    maybe = RowPolicy("pin", "*", False, ("auditors",), PIN, PIN, may_apply=True, applies=False)
    assert codes_of(replace(PATIENTS, policies=(TENANT_POLICY, widening, maybe))) == ["TG204"]


def test_an_update_policy_widens_through_its_with_check_alone() -> None:
    writes = RowPolicy("moves", "w", True, ("public",), PIN, "true")
    ((code, message),) = findings_of(replace(PATIENTS, policies=(TENANT_POLICY, writes)))
    assert code == "TG204" and "lets UPDATE through" in message and "its WITH CHECK" in message


def test_a_policy_of_other_roles_is_not_the_applications() -> None:
    theirs = RowPolicy(
        "reports", "r", True, ("reporting",), "true", None, may_apply=False, applies=False
    )
    assert codes_of(replace(PATIENTS, policies=(TENANT_POLICY, theirs))) == []
    only_theirs = replace(TENANT_POLICY, roles=("reporting",), may_apply=False, applies=False)
    assert codes_of(replace(PATIENTS, policies=(only_theirs,))) == ["TG203"]


def test_foreign_keys_pair_the_tenant_column() -> None:
    single = ForeignKey("a_patient_fkey", ("patient_id",), "public", "patients", ("id",))
    paired = ForeignKey(
        "a_patient_fkey", ("tenant_id", "patient_id"), "public", "patients", ("tenant_id", "id")
    )
    crossed = ForeignKey(
        "a_patient_fkey", ("tenant_id", "patient_id"), "public", "patients", ("id", "tenant_id")
    )
    appointments = replace(PATIENTS, oid=2, name="appointments", keys=PATIENTS.keys)
    for key, expected in ((single, ["TG207"]), (paired, []), (crossed, ["TG207"])):
        assert codes_of(PATIENTS, replace(appointments, foreign_keys=(key,))) == expected
    nullable = replace(appointments, columns=(COLUMNS[0], Column("tenant_id", "bigint", False)))
    assert codes_of(PATIENTS, replace(nullable, foreign_keys=(paired,))) == ["TG207", "TG209"]
    full = replace(paired, match_full=True)
    assert codes_of(PATIENTS, replace(nullable, foreign_keys=(full,))) == ["TG209"]
    # a key to a global table (the tenant registry) is not between tenant tables
    registry = ForeignKey("a_tenant_fkey", ("tenant_id",), "public", "tenants", ("id",))
    tenants = Relation(3, "public", "tenants", "r", "postgres", columns=(COLUMNS[0],))
    assert codes_of(PATIENTS, tenants, replace(appointments, foreign_keys=(registry,))) == []


@pytest.mark.parametrize(
    ("key", "flagged"),
    [
        (Key("k", "unique index", ("dni",), True), True),
        (Key("k", "unique index", ("dni",), True, partial=True), True),
        (Key("k", "unique index", (None,), True), True),  # an expression
        (Key("k", "unique index", ("tenant_id", None), True), False),
        (Key("k", "unique index", ("dni", "tenant_id"), True), False),
        (Key("k", "index", ("dni",), False), False),
        (Key("k", "unique index", ("dni",), True, inherited=True), False),  # on its parent
        (Key("k", "unique index", ("id", "dni"), True), True),  # dni is not from a sequence
    ],
)
def test_unique_keys_without_the_tenant(key: Key, flagged: bool) -> None:
    table = replace(PATIENTS, keys=(*PATIENTS.keys, key))
    assert codes_of(table) == (["TG208"] if flagged else [])


def test_suppression_comments_in_the_database() -> None:
    key = Key("k", "unique index", ("dni",), True, comment="tenantguard: ignore[TG208] -- by law")
    assert codes_of(replace(PATIENTS, keys=(*PATIENTS.keys, key))) == []
    # on the table it covers its keys too; several codes, on any line of the comment
    table = replace(
        PATIENTS,
        keys=(*PATIENTS.keys, replace(key, comment=None)),
        rls=False,
        comment="Patients.\ntenantguard: ignore[TG201, TG208] -- a staging copy",
    )
    assert codes_of(table) == []
    bare = replace(key, comment="tenantguard: ignore[TG208]")
    assert codes_of(replace(PATIENTS, keys=(*PATIENTS.keys, bare))) == ["TG010"]
    unused = replace(PATIENTS, comment="tenantguard: ignore[TG202] -- forced anyway")
    assert findings_of(unused) == [
        ("TG011", "suppression of TG202 in the comment of public.patients suppresses nothing")
    ]


def test_the_role_bypassing_rls() -> None:
    assert codes_of(PATIENTS, role=Role("app", superuser=True)) == ["TG206"]
    assert codes_of(PATIENTS, role=Role("app", through=(("admin", "bypassrls"),))) == ["TG206"]
    # a superuser owns everything: TG206 alone says it
    owned = replace(PATIENTS, owned_by_role=True)
    assert codes_of(owned, role=Role("app", superuser=True)) == ["TG206"]
    assert codes_of(owned) == ["TG205"]
    muted = Role("app", bypassrls=True, comment="tenantguard: ignore[TG206] -- the backup job")
    assert codes_of(PATIENTS, role=muted) == []


def _function(name: str, definition: str, **changes: object) -> Function:
    base = Function(
        10,
        "public",
        name,
        f"public.{name}()",
        "sql",
        True,
        ("search_path=public, pg_temp",),
        definition,
        "postgres",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (_function("f", "CREATE FUNCTION f() … SELECT * FROM patients"), ["TG212"]),
        (_function("f", 'CREATE FUNCTION f() … SELECT * FROM "patients"'), ["TG212"]),
        (_function("f", "CREATE FUNCTION f() … SELECT * FROM patients_archive"), []),
        (_function("f", "… SELECT now()", config=()), ["TG213"]),
        (_function("f", "… SELECT now()", config=("search_path=",)), ["TG213"]),
        (_function("f", "… SELECT now()", config=("search_path=pg_temp, public",)), ["TG213"]),
        (_function("f", "… SELECT now()", config=('search_path="$user", public, "pg_temp"',)), []),
        (_function("f", "… import os", language="plpython3u"), ["TG212"]),
        (_function("f", "… patients", language="c", config=()), ["TG215"]),  # unreadable
        (_function("f", "… SELECT * FROM patients", security_definer=False, config=()), []),
    ],
)
def test_security_definer_functions(function: Function, expected: list[str]) -> None:
    assert codes_of(PATIENTS, functions=(function,)) == expected


def test_views_read_tenant_rows_through_other_views() -> None:
    inner = Relation(20, "public", "inner_v", "v", "postgres", reads=(1,), security_invoker=True)
    outer = Relation(21, "public", "outer_v", "v", "postgres", reads=(20,))
    global_view = Relation(22, "public", "g", "v", "postgres", reads=(30,))
    tenants = Relation(30, "public", "tenants", "r", "postgres", columns=(COLUMNS[0],))
    found = findings_of(PATIENTS, inner, outer, global_view, tenants)
    assert [code for code, _ in found] == ["TG211"]
    assert "view public.outer_v reads public.patients as its owner postgres" in found[0][1]
    mat = Relation(23, "public", "m", "m", "postgres", reads=(1,), security_invoker=True)
    assert codes_of(PATIENTS, mat) == ["TG211"]  # a materialized view is never "invoker"


# ---------------------------------------------------------------- statement logs

CSV_HEADER = '2026-01-02 10:00:00.000 UTC,"{user}","{db}",1,"127.0.0.1:5",s,{n},"SELECT",2026-01-02 10:00:00 UTC,3/1,0,{level},00000,'
CSV_TAIL = ',,,,,,,,,"","client backend",,{qid}\n'


def csv_record(
    message: str,
    *,
    user: str = "app",
    db: str = "clinic",
    n: int = 1,
    level: str = "LOG",
    qid: int = 0,
) -> str:
    quoted = '"' + message.replace('"', '""') + '"'
    return CSV_HEADER.format(user=user, db=db, n=n, level=level) + quoted + CSV_TAIL.format(qid=qid)


def test_a_csvlog_gives_each_statement_its_calls_time_roles_and_first_line(tmp_path: Path) -> None:
    log = tmp_path / "postgresql.csv"
    log.write_text(
        csv_record("connection authorized: user=app database=clinic")
        + csv_record("statement: SELECT *\nFROM patients\nWHERE dni = '1'")  # line 2, 3 lines
        + csv_record("execute __asyncpg_stmt_1__: SELECT name FROM patients WHERE id = $1", qid=77)
        + csv_record(
            "duration: 0.250 ms  execute <unnamed>: SELECT name FROM patients WHERE id = $1",
            user="job",
        )
        + csv_record("execute fetch from S_1/C_2: SELECT name FROM patients WHERE id = $1")
        + csv_record("duration: 1.000 ms  parse <unnamed>: SELECT 1")
        + csv_record("statement: SELECT 2", db="other")
        + csv_record("syntax error at end of input", level="ERROR")
        + csv_record("statement: SELECT 1; SELECT 2")
    )
    read = read_statement_log(log, "clinic")
    assert (read.records, read.other_databases) == (5, 1)
    by_text = {s.text: s for s in read.statements}
    multi = by_text["SELECT *\nFROM patients\nWHERE dni = '1'"]
    assert (multi.calls, multi.line, multi.total_ms, multi.path) == (1, 2, None, str(log))
    prepared = by_text["SELECT name FROM patients WHERE id = $1"]
    assert (prepared.calls, prepared.line, prepared.total_ms) == (3, 5, 0.25)
    assert (prepared.roles, prepared.queryid) == (("app", "job"), 77)
    assert "SELECT 1; SELECT 2" in by_text


def test_a_jsonlog_is_read_line_by_line(tmp_path: Path) -> None:
    log = tmp_path / "postgresql.json"
    records = [
        {
            "user": "app",
            "dbname": "clinic",
            "error_severity": "LOG",
            "message": "statement: SELECT 1",
        },
        {
            "user": "app",
            "dbname": "clinic",
            "error_severity": "LOG",
            "message": "execute <unnamed>: SELECT * FROM patients",
            "query_id": 5,
        },
        {
            "user": "app",
            "dbname": "clinic",
            "error_severity": "LOG",
            "message": "execute <unnamed>: SELECT * FROM patients",
        },
    ]
    log.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    read = read_statement_log(log, "clinic", "shown.json")
    statement = next(s for s in read.statements if "patients" in s.text)
    assert (statement.calls, statement.line, statement.queryid, statement.path) == (
        2,
        2,
        5,
        "shown.json",
    )


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        (
            "a.json",
            b'{"message": "statement: x", "error_severity": "LOG"}\n[1]\n',
            ":2:1: not a jsonlog record",
        ),
        ("a.json", b'{"message": 1}\n', ":1:1: not a jsonlog record"),
        ("a.json", b'{"message": "statement: SELECT \xff"}\n', ":1:1: not UTF-8 (byte 0xff)"),
        (
            "a.csv",
            b'2026-01-02 10:00:00.000 UTC,"app","clinic",1\n',
            ":1:1: not a csvlog record: 4 fields",
        ),
        (
            "a.log",
            b"2026-01-02 10:00:00 UTC [1] LOG:  statement: SELECT 1\n",
            ":1:1: not a csvlog or jsonlog",
        ),
        ("a.csv", b'2026-01-02 10:00:00.000 UTC,"app,"clinic\n', ":1:1: not a csvlog record"),
    ],
)
def test_a_log_that_cannot_be_read_says_where(
    tmp_path: Path, name: str, content: bytes, where: str
) -> None:
    log = tmp_path / name
    log.write_bytes(content)
    with pytest.raises(LogError) as error:
        read_statement_log(log, "clinic", "L")
    assert str(error.value).startswith("L" + where), str(error.value)


def test_an_empty_log_has_no_statements(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    assert read_statement_log(tmp_path / "empty.csv", "clinic").statements == []


# ---------------------------------------------------------------- traffic


def test_traffic_is_ranked_by_calls_then_time_and_merged_per_statement() -> None:
    leak = "SELECT * FROM patients WHERE dni = $1"
    other = "UPDATE appointments SET starts_at = now() WHERE id = $1"
    recorded = [
        RecordedStatement(other, 3, 9.0, 11, ("app",)),
        RecordedStatement(leak, 2, 1.0, 22, ("app",)),
        RecordedStatement(leak, 2, 1.5, 22, ("job",)),  # the same queryid, another role
        RecordedStatement("SELECT * FROM patients WHERE tenant_id = $1", 100, 50.0, 33, ("app",)),
    ]
    findings, distinct = traffic_findings(recorded, Analyzer(POLICY))
    assert distinct == 3
    assert [f.path for f in findings] == ["db:pg_stat_statements/22", "db:pg_stat_statements/11"]
    assert (
        "(queryid 22: 4 calls, 2.5 ms in total, by app, job; SELECT query FROM "
        in findings[0].message
    )
    assert findings[0].statement == leak


def test_schema_changes_in_traffic() -> None:
    texts = [
        "CREATE INDEX ON patients (tenant_id)",  # TG007: the pipeline's business
        "ALTER TABLE patients ENABLE ROW LEVEL SECURITY",  # opaque: TG006 dropped too
        "CREATE VIEW v AS SELECT * FROM patients",  # audited as a view (TG211)
        "CREATE TEMP VIEW v AS SELECT * FROM patients",  # gone with the session: only here
        "CREATE TABLE copy AS SELECT * FROM patients",  # copies every tenant's rows
        "VACUUM patients",
        "DO $$ BEGIN DELETE FROM patients; END $$",  # not a schema change: runs code
    ]
    verdicts = traffic.analyse_texts(texts, Analyzer(POLICY), jobs=1)
    assert [sorted({f.code for f in v}) for v in verdicts] == [
        [],
        [],
        [],
        ["TG001"],
        ["TG001"],
        [],
        ["TG006"],
    ]


def test_a_suppression_in_the_statement_is_honoured_as_in_a_file() -> None:
    (verdict,) = traffic.analyse_texts(
        ["SELECT count(*) FROM patients -- tenantguard: ignore[TG001] -- a count"], Analyzer(POLICY)
    )
    assert verdict == ()


def test_parallel_analysis_gives_the_serial_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [
        f"SELECT * FROM patients WHERE {'tenant_id = $1 AND ' if i % 3 else ''}id = {i}"
        for i in range(60)
    ]
    serial = traffic.analyse_texts(texts, Analyzer(POLICY), jobs=1)
    monkeypatch.setattr(traffic, "_PARALLEL_MIN_TEXTS", 10)
    monkeypatch.setattr(traffic, "_BATCH", 7)
    parallel = traffic.analyse_texts(texts, Analyzer(POLICY), jobs=2)
    assert parallel == serial
    assert sum(1 for v in serial if v) == 20


# ---------------------------------------------------------------- the proof's fast path


@pytest.mark.parametrize(
    ("tables", "sql", "found"),
    [
        ({"patients"}, "SELECT * FROM patients_archive WHERE id = 1", False),
        ({"patients"}, "SELECT * FROM public.patients WHERE id = 1", True),
        ({"пациенты"}, "SELECT * FROM пациенты WHERE id = 1", True),
        ({'"Audit ""Log"""'}, 'SELECT * FROM "Audit ""Log""" WHERE id = 1', True),
        ({"patients"}, 'SELECT * FROM U&"p\\0061tients" WHERE id = 1', True),
    ],
)
def test_statements_that_may_name_a_tenant_table(tables: set[str], sql: str, found: bool) -> None:
    """The fast path asks a set, not every tenant table: a name inside a longer word is
    another table; any script, quoted names and `U&` spellings still count."""
    verdict = analyze_statement(sql, Policy("tenant_id", tables))
    assert bool(verdict.findings) is found
