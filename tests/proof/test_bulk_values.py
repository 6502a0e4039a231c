"""Long VALUES lists (engine/bulk_values.py): the rows that bring nothing new to the proof are
left out of the tree. The verdict — findings with their positions and messages, pin values — must
be the one of the statement read row by row; these tests compare the two on every INSERT … VALUES
of the rule cases, grown to many rows with rows changed at random, and on the attacker's shapes:
another tenant's value in one row deep in the list."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from tenantguard.engine import bulk_values
from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.policy import Policy
from tenantguard.engine.proof.model import PinValue
from tenantguard.engine.verdicts import Verdict
from tests.conftest import case_policy, read_cases

CASES = read_cases("rules.yaml")
_ROW = re.compile(r"\((?:[^()']|'[^']*')*\)")


def _verdicts(sql: str, policy: Policy, monkeypatch: pytest.MonkeyPatch) -> tuple[Verdict, Verdict]:
    """(thinned, as written): the same statement with the thinning on for any length, and off."""
    with monkeypatch.context() as patch:
        patch.setattr(bulk_values, "MINIMUM", 0)
        thinned = analyze_statement(sql, policy)
    with monkeypatch.context() as patch:
        patch.setattr(bulk_values, "MINIMUM", 1 << 40)
        written = analyze_statement(sql, policy)
    return thinned, written


def _grown(sql: str, rng: random.Random) -> str | None:
    """The statement with its VALUES list grown to 3-40 rows: copies of its rows, some with one
    value changed (another parameter, literal, NULL, DEFAULT, a cast, an expression)."""
    head = bulk_values._HEAD.match(sql)
    if head is None:
        return None
    rows = []
    pos = head.end()
    while (row := _ROW.match(sql, pos)) is not None:
        rows.append(row.group())
        comma = re.compile(r"\s*,\s*").match(sql, row.end())
        if comma is None or not sql.startswith("(", comma.end()):
            pos = row.end()
            break
        pos = comma.end()
    if not rows:
        return None
    tail = sql[pos:]
    changes = [
        "$1", "$2", "$4", "7", "8", "'7'", "07", "NULL", "DEFAULT", "TRUE", "-3",
        "$1::int", "$1::real", "7::numeric", "'x'::text", "(SELECT 1)", "$1 + 0",
    ]  # fmt: skip
    grown = []
    for _ in range(rng.randint(3, 40)):
        row = rng.choice(rows)
        if rng.random() < 0.3:
            items = [i.strip() for i in re.findall(r"'[^']*'|[^,()]+", row[1:-1])]
            if items:
                items[rng.randrange(len(items))] = rng.choice(changes)
                row = "(" + ", ".join(items) + ")"
        grown.append(row)
    separator = rng.choice([", ", ",\n  ", " ,", ",\n\t"])
    return sql[: head.end()] + separator.join(grown) + tail


def _same_verdict(thinned: Verdict, written: Verdict, about: object) -> None:
    """The verdict of the thinned statement is the statement's: the same pin values, every
    finding of it is one of the statement's, as it is (position, message); those it does not
    have are a row's finding (TG002) that the statement repeats for a row left out, with the
    same message but the row's number."""
    assert thinned.pin_values == written.pin_values, about
    assert thinned.touches_tenant_tables == written.touches_tenant_tables, about
    assert set(thinned.findings) <= set(written.findings), about
    shown = {(f.code, f.severity, _ROW_NUMBER.sub("row N ", f.message)) for f in thinned.findings}
    for finding in set(written.findings) - set(thinned.findings):
        assert finding.code == "TG002" and _ROW_NUMBER.search(finding.message), (about, finding)
        normal = (finding.code, finding.severity, _ROW_NUMBER.sub("row N ", finding.message))
        assert normal in shown, (about, finding)


_ROW_NUMBER = re.compile(r"\brow [0-9]+ ")


def _insert_cases() -> list[dict[str, Any]]:
    return [c for c in CASES if bulk_values._HEAD.match(c["sql"]) and "VALUES" in c["sql"]]


def test_the_rule_cases_grown_give_the_same_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20261203)
    compared = thinned_any = 0
    for case in _insert_cases():
        policy = case_policy(**case.get("config", {}))
        for _ in range(12):
            sql = _grown(case["sql"], rng)
            if sql is None:
                break  # a row this test's pattern does not read (nested parentheses)
            thinned, written = _verdicts(sql, policy, monkeypatch)
            _same_verdict(thinned, written, (case["name"], sql))
            compared += 1
            if bulk_values.thin_rows(sql, policy, minimum=0):
                thinned_any += 1
    # the comparison means something only if rows were in fact left out, often
    assert compared > 300
    assert thinned_any > compared // 3


def _bulk(rows: list[str], suffix: str = "") -> str:
    return "INSERT INTO patients (tenant_id, name, dni) VALUES " + ", ".join(rows) + suffix


def test_another_tenant_deep_in_a_long_list_is_seen() -> None:
    """20 000 rows of tenant $1, one of tenant 2 in the middle (as a literal, as another
    parameter, as the tenant expression of nothing, as DEFAULT): the statement spans tenants."""
    policy = case_policy()
    base = [f"($1, 'name {i}', '{i:08d}')" for i in range(20_000)]
    for intruder, code in [
        ("(2, 'x', '1')", "TG012"),
        ("($2, 'x', '1')", "TG012"),
        ("(DEFAULT, 'x', '1')", "TG002"),
        ("((SELECT 2), 'x', '1')", "TG002"),
        ("($1::real, 'x', '1')", "TG002"),
    ]:
        rows = [*base[:12_345], intruder, *base[12_345:]]
        verdict = analyze_statement(_bulk(rows), policy)
        assert code in {f.code for f in verdict.findings}, intruder
    clean = analyze_statement(_bulk(base, " RETURNING id"), policy)
    assert clean.findings == ()
    assert clean.pin_values == (PinValue("parameter", 1),)


def test_a_finding_in_a_long_list_is_placed_and_numbered_as_written() -> None:
    policy = case_policy()
    rows = [f"($1, 'name {i}', '{i:08d}')" for i in range(5_000)]
    rows[4_321] = "(DEFAULT,\n 'x', '1')"
    sql = _bulk(rows)
    (finding,) = [f for f in analyze_statement(sql, policy).findings if f.code == "TG002"]
    assert "row 4322 " in finding.message
    assert finding.end_column > sql.index("(DEFAULT")  # it reaches the row (after the cuts)
    # and the same finding, read row by row
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk_values, "MINIMUM", 1 << 40)
        (again,) = [f for f in analyze_statement(sql, policy).findings if f.code == "TG002"]
    assert again == finding


def test_what_is_not_a_list_of_constants_is_parsed_as_written() -> None:
    policy = case_policy()
    many = ", ".join(["($1, 'a', 'b')"] * 10_000)
    # no column list, a WITH before it, a function call, a backslash, an E'' string, a comment,
    # text past ASCII: nothing is left out before it
    for sql in [
        f"INSERT INTO patients VALUES {many}",
        f"WITH x AS (SELECT 1) INSERT INTO patients (tenant_id, name, dni) VALUES {many}",
        f"INSERT INTO patients (tenant_id, name, dni) VALUES (f($1), 'a', 'b'), {many}",
        f"INSERT INTO patients (tenant_id, name, dni) VALUES ($1, 'a\\', 'b'), {many}",
        f"INSERT INTO patients (tenant_id, name, dni) VALUES ($1, E'a', 'b'), {many}",
        f"INSERT INTO patients (tenant_id, name, dni) VALUES ($1, 'a', 'b') /* x */, {many}",
        f"INSERT INTO patients (tenant_id, name, dni) VALUES ($1, 'ä', 'b'), {many}",
    ]:
        assert bulk_values.thin_rows(sql, policy, minimum=0) is None, sql[:80]
    # a run stops at the first row that is not constants: the rows after it stay
    sql = f"INSERT INTO patients (tenant_id, name, dni) VALUES {many}, (f($1), 'a', 'b'), {many}"
    thinned = bulk_values.thin_rows(sql, policy, minimum=0)
    assert thinned is not None and thinned.read == 10_000
    assert thinned.text.endswith(f", (f($1), 'a', 'b'), {many}")


def test_the_columns_whose_every_value_counts() -> None:
    policy = case_policy(tenant_root="tenants", lossy_columns={"score"})
    assert {"tenant_id", "id", "score"} <= bulk_values.counted_columns(policy, "tenants")
    assert "name" not in bulk_values.counted_columns(policy, "tenants")
    assert "id" not in bulk_values.counted_columns(policy, "patients")
    # every distinct value of a counted column is kept, two of any other, every parameter
    rows = [f"({i % 5}, 'n{i}', ${1 + i % 3})" for i in range(100)]
    sql = "INSERT INTO tenants (id, name, score) VALUES " + ", ".join(rows)
    thinned = bulk_values.thin_rows(sql, policy, minimum=0)
    assert thinned is not None
    assert thinned.kept == (1, 2, 3, 4, 5)


# ------------------------------------------------------------ the attacker's shapes (bulkattack)
# Each: (what it tries, the policy's changes, the statement's head, its rows, its tail). The rows
# are laid out so that rows are in fact left out (asserted): the first two set two values in the
# columns that do not count, and the attacker's row comes deep in the list.
_P = "INSERT INTO patients (tenant_id, name, dni) VALUES "
_ATTEMPTS: list[tuple[str, dict[str, Any], str, list[str], str]] = [
    ("number spellings", {}, _P, ["($1, 1, 2)", "($1, 3, 4)", "($1, 1., .5)", "($1, 1e5, -1.e-5)",
     "($1, 00, 1E+5)", "(1., 1, 2)", "(1e0, 1, 2)", "(01, 1, 2)"], ""),
    ("parameter spellings", {}, _P, ["($1, 'a', 'b')", "($1, 'c', 'd')", "($01, 'a', 'b')",
     "($1, $01, 'b')", "($2, 'a', 'b')", "($1, 'a', $1)"], ""),
    ("keywords in any case", {}, _P, ["($1, NULL, TRUE)", "($1, 'x', FALSE)", "($1, null, true)",
     "(default, 'x', 'y')", "(Null, 'x', 'y')", "($1, DeFaUlT, 'y')"], " RETURNING id"),
    ("casts folded or quoted", {}, _P, ["($1::int, 'a'::text, 'b')", "($1::int, 'c'::text, 'd')",
     "($1::INT, 'a'::TEXT, 'b')", "($1::real, 'a'::text, 'b')", "($1::\"int4\", 'a'::text, 'b')",
     "($1::int, 'a'::\"TEXT\", 'b')", "($1::int, 'a'::varchar(2), 'b')"], ""),
    ("quoted column names", {}, 'INSERT INTO patients ("tenant_id", "Name", "TENANT_ID") VALUES ',
     ["($1, 'a', 2)", "($1, 'b', 3)", "($1, 'a', 4)", "(2, 'a', 2)", "($1, 'z', $2)"], ""),
    ("column names in upper case", {}, "insert into PATIENTS (TENANT_ID, NAME) values ",
     ["($1, 'a')", "($1, 'b')", "($1, 'c')", "(2, 'c')", "(DEFAULT, 'a')"], ""),
    ("schema-qualified registry", {"tenant_root": "tenants", "cascades": {"tenants": {"DELETE": [],
     "UPDATE": ["*"]}}}, "INSERT INTO public.tenants AS t (id, name) VALUES ",
     ["($1, 'a')", "($1, 'b')", "($1, 'c')", "(2, 'a')", "($2, 'a')"],
     " ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id + 1"),
    ("generated tenant column: copied", {"tenant_copies": {"visits": "owner"},
     "tenant_tables": ["visits"]}, "INSERT INTO visits (owner, note) VALUES ",
     ["($1, 'a')", "($1, 'b')", "($1, 'c')", "(2, 'a')", "(DEFAULT, 'a')"], ""),
    ("generated tenant column: sources", {"tenant_sources": {"visits": ["owner"]},
     "tenant_tables": ["visits"]}, "INSERT INTO visits (tenant_id, owner, note) VALUES ",
     ["($1, 1, 'a')", "($1, 1, 'b')", "($1, 2, 'c')", "($1, 1, 'd')", "($1, $2, 'a')"],
     " ON CONFLICT (tenant_id, owner) DO UPDATE SET owner = EXCLUDED.owner"),
    ("lossy column", {"lossy_columns": ["score"]}, "INSERT INTO patients (tenant_id, score) VALUES ",
     ["($1, 1)", "($1, 2)", "($1, 3)", "($1, 1.0)", "($1, $1)"], ""),
    ("leaky default", {"leaky_defaults": {"patients": {"dni": "reads patients"}}}, _P,
     ["($1, 'a', 'b')", "($1, 'c', 'd')", "($1, 'e', DEFAULT)", "($1, 'f', 'g')"], ""),
    ("upsert on a key without the tenant", {}, "INSERT INTO leads (tenant_id, external_id) VALUES ",
     ["($1, 'a')", "($1, 'b')", "($1, 'c')"],
     " ON CONFLICT (external_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id RETURNING *"),
    ("tails sqlglot does not read", {}, _P, ["($1, 'a', 'b')", "($1, 'c', 'd')", "($1, 'e', 'f')"],
     " UNION SELECT 2, 'x', 'y' ORDER BY 1 LIMIT 1"),
    ("VALUES with ORDER BY and LIMIT", {}, _P, ["($1, 'a', 'b')", "($1, 'c', 'd')",
     "(2, 'e', 'f')"], " ORDER BY 1 LIMIT 1"),
    ("psycopg placeholders", {}, _P, ["(%s, 'a', 'b')", "(%s, 'c', 'd')", "(%s, 'e', 'f')"], ""),
    ("a comment between rows", {}, _P, ["($1, 'a', 'b')", "($1, 'c', 'd') /* (2, 'x', 'y') */",
     "($1, 'e', 'f') -- x\n", "(2, 'e', 'f')"], ""),
    ("a parse error after the cuts", {}, _P, ["($1, 'a', 'b')", "($1, 'c', 'd')",
     "($1, 'e', 'f')", "($1, 'g', 'h')", "($1, 'i' 'j')"], ""),
    # broke the claim: a type name's case was folded in a row's kind, quoted or not, and a string
    # cast to a quoted name with `'` in it was a plain string; the row with the leaky cast was
    # left out and its TG006 with it
    ("a leaky domain by its quoted name's case", {"leaky_types": {'"Checked"': "reads patients"}},
     _P, ["($1, 'a'::\"checked\", 'b')", "($1, 'c'::\"checked\", 'd')",
     "($1, 'e'::\"Checked\", 'f')"], ""),
    ("a leaky domain folded, beside its upper-case twin", {"leaky_types": {"checked": "reads"}},
     _P, ["($1, 'a'::\"CHECKED\", 1)", "($1, 'b'::\"CHECKED\", 2)", "($1, 'a'::\"checked\", 1)",
     "($1, 'c'::\"CHECKED\", 9)"], ""),
    ("a leaky domain with a quote in its name", {"leaky_types": {'"leak\'y"': "reads patients"}},
     _P, ["($1, 'a', 'b')", "($1, 'c', 'd')", "($1, 'e'::\"leak'y\", 'f')",
     "($1, 'g'::\"x::y'\", 'h')"], ""),
    ("strings that look like SQL", {}, _P, ["($1, 'a', 'b')", "($1, 'c', 'd')",
     "($1, '), (2, ''x'', ''y'')', '--')", "($1, '$$', '/*')", "($1, ':: $1', '@2 +$1')"], ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("config", "head", "rows", "tail"),
    [a[1:] for a in _ATTEMPTS],
    ids=[a[0] for a in _ATTEMPTS],
)
def test_the_attackers_shapes_give_the_same_verdicts(
    config: dict[str, Any],
    head: str,
    rows: list[str],
    tail: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = case_policy(**config)
    filler = rows[:1] * 3  # the first row again: nothing new, before and after each other one
    listed = [*rows[:2], *filler]
    for row in rows[2:]:
        listed += [row, *filler]
    for separator in [", ", ",\r\n  ", "\n,\t"]:
        sql = head + separator.join(listed) + tail
        if bulk_values.thin_rows(sql, policy, minimum=0) is None:
            # read as written either way (`%s` pins are keyed by their node: not comparable)
            assert any(m in sql for m in ("%s", "/*", "--")), sql
            continue
        thinned, written = _verdicts(sql, policy, monkeypatch)
        _same_verdict(thinned, written, sql)


def test_a_cast_is_part_of_a_rows_kind_as_the_server_reads_its_type_name() -> None:
    """An unquoted type name folds (`::TEXT` is `::text`: still left out, the list stays
    thin); a quoted one keeps its case, and a string cast to a quoted name with a `'` in it is
    no plain string."""
    assert bulk_values._kind("'a'::TEXT") == bulk_values._kind("'b'::text") == "'::text"
    assert bulk_values._kind("'a'::\"Dom\"") != bulk_values._kind("'a'::\"dom\"")
    assert bulk_values._kind('NULL::"Dom"(3)') == 'NULL::"Dom"(3)'
    assert bulk_values._kind("'a'::\"leak'y\"") == "'::\"leak'y\""
    assert bulk_values._kind("'a::b'") == "'"
    policy = case_policy()
    rows = ", ".join(f"($1, 'n{i % 2}'::{'TEXT' if i % 3 else 'text'}, 'x')" for i in range(50))
    thinned = bulk_values.thin_rows(_bulk([rows]), policy, minimum=0)
    assert thinned is not None and thinned.kept == (1, 2)


async def test_a_leaky_cast_deep_in_a_bulk_insert_is_seen_by_the_guard(two_clinics: str) -> None:
    """On the server: a domain `checked` whose CHECK rewrites clinic 2's patients, a harmless
    `"CHECKED"` in every row and `"checked"` (the leaky one, as the server folds names) in one
    row deep in a 70 kB list. Left out with its row (the type name's case folded), the cast
    went unseen and clinic 1's insert renamed clinic 2's patient; now the guard refuses it."""
    import asyncpg

    from tenantguard import Policy, TenantIsolationError
    from tenantguard.runtime import connect, tenant

    raw = await asyncpg.connect(two_clinics)
    await raw.execute(
        "CREATE FUNCTION stamp(v text) RETURNS boolean LANGUAGE sql AS "
        "$$ UPDATE patients SET first_name = v WHERE tenant_id = 2; SELECT true $$;"
        'CREATE DOMAIN checked AS text CHECK (stamp(VALUE)); CREATE DOMAIN "CHECKED" AS text'
    )
    policy = Policy(
        "tenant_id",
        {"patients"},
        leaky_types={"checked": "its CHECK calls stamp(), which updates patients unpinned"},
    )
    conn = await connect(two_clinics, policy=policy, max_statement_bytes=1 << 20)
    pad = "5" * 1_700  # 40 long rows: past MINIMUM, few rows to write
    rows = [f"($1, 'bulk{i % 2}'::\"CHECKED\", '{i:02d}{pad}')" for i in range(40)]
    head = "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES "
    try:
        sql = head + ", ".join([*rows[:23], "($1, 'Mallory'::\"checked\", '1')", *rows[23:]])
        assert len(sql) > bulk_values.MINIMUM
        with tenant(1), pytest.raises(TenantIsolationError, match="domain checked"):
            await conn.execute(sql, 1)
        names = "SELECT string_agg(first_name, ',' ORDER BY id) FROM patients WHERE tenant_id = 2"
        assert await raw.fetchval(names) == "Carla"
        assert await raw.fetchval("SELECT count(*) FROM patients WHERE tenant_id = 1") == 2
        with tenant(1):  # the attacker's twin: the harmless domain alone runs
            await conn.execute(head + ", ".join(rows), 1)
        assert await raw.fetchval("SELECT count(*) FROM patients WHERE tenant_id = 1") == 42
        assert await raw.fetchval(names) == "Carla"
    finally:
        await conn.close()
        await raw.close()
