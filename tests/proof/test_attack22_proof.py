"""Round 22 attacks on the proof (helpers 97 and 98), each shown on PostgreSQL 15 by what
tenant 1's statement does to, or learns of, tenant 2's rows. Schemas and statements are in
tests/fixtures/round22 (`<case>.sql`, `<case>.q`: one statement a line).

1. A PL/pgSQL expression that is no statement was read only when it said SELECT: `IF
   purge_notes(OLD.id) THEN`, `ok := purge_notes(p)`, `RETURN name_of(p)`, a DECLARE's
   initial value — a call of a function that deletes or reads every tenant's rows (tr5, tr6).
2. Dynamic SQL whose table comes from data (`format('DELETE FROM %I …', r.tbl)` over a table
   of names) or from `concat(…)` named no tenant table in its text, and passed (dy, ue). SQL
   built at run time from more than literals now counts as reaching tenant rows unpinned.
3. Writes through a view pinned inside by the tenant setting (`CREATE VIEW mine AS SELECT *
   FROM patients WHERE tenant_id = current_setting(…)`) were no writes of a tenant table:
   PostgreSQL filters neither an INSERT's values, nor the row ON CONFLICT DO UPDATE finds, nor
   an UPDATE's new tenant column by the view's WHERE (oc: tenant 2's row returned and
   overwritten; mv2: rows moved to and planted in tenant 2). TG002-TG004 now judge them as
   writes of the table, with the name the view gives its tenant column.
4. `p LEFT JOIN n ON n.patient_id = p.id … WHERE (n.tenant_id = $1 OR n.tenant_id IS NULL)`:
   p's row is NULL-extended only when no note of any tenant matches, so tenant 1's row vanishes
   when tenant 2 has one — read a prefix at a time with `AND n.body LIKE $2` in the ON (F1).
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy
from tests.proof.test_attack11_proof import _codes
from tests.proof.test_schema import policy_for

ROUND22 = Path(__file__).parent.parent / "fixtures" / "round22"

# case -> the rule each of its statements (a line of `<case>.q`) is reported by
EXPECTED = {
    "tr5": ["TG005", "TG006", "TG006", "TG006", "TG001"],
    "tr6": ["TG006", "TG006", "TG005"],
    "dy": ["TG005", "TG006", "TG001"],
    "ue": ["TG006"],
    "oc": ["TG003", "TG003", "TG003"],
    "mv2": ["TG004", "TG002", "TG002"],
}


def _policy(tmp_path: Path, case: str) -> Policy:
    policy = policy_for(tmp_path, (ROUND22 / f"{case}.sql").read_text(encoding="utf-8"))
    assert isinstance(policy, Policy)
    return policy


def _statements(case: str) -> list[str]:
    text = (ROUND22 / f"{case}.q").read_text(encoding="utf-8")
    return [line.strip().rstrip(";") for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_round22_shapes(tmp_path: Path, case: str) -> None:
    policy = _policy(tmp_path, case)
    statements = _statements(case)
    assert len(statements) == len(EXPECTED[case])
    for statement, code in zip(statements, EXPECTED[case], strict=True):
        assert code in _codes(statement, policy), statement


def test_writes_through_setting_views_that_stay_in_the_tenant(tmp_path: Path) -> None:
    """The same views written as they are meant to be: the tenant expression or the base
    table's default (`DEFAULT current_setting(…)`, which the view takes) as the tenant column,
    a conflict target with it, the name the view gives it left alone."""
    policy = _policy(tmp_path, "safe_views")
    for statement in _statements("safe_views"):
        assert _codes(statement, policy) == [], statement


NOTES = (
    "INSERT INTO patients VALUES (7, 1, 'Ana (t1)'), (7, 2, 'Bob (t2)'), (8, 1, 'Cid (t1)'), "
    "(8, 2, 'Dan (t2)');"
    "INSERT INTO notes VALUES (100, 1, 7, 't1 note on 7'), (200, 2, 7, 't2 note on 7'), "
    "(101, 1, 8, 't1 note on 8'), (201, 2, 8, 't2 note on 8')"
)
# case -> (seed, the statement's line in `<case>.q`, its arguments for tenant 1, what tenant 2
# has left or what tenant 1 read of it, and the query that shows it)
WITNESSES: dict[str, tuple[str, int, tuple[object, ...], str, list[tuple[object, ...]]]] = {
    "tr5": (NOTES, 0, (1, 7), "SELECT id FROM notes WHERE tenant_id = 2 ORDER BY id", [(201,)]),
    "dy": (
        "INSERT INTO purge_targets VALUES ('notes');" + NOTES,
        1,
        (1, 8),
        "SELECT id FROM notes WHERE tenant_id = 2 ORDER BY id",
        [(200,)],
    ),
    "ue": (NOTES, 0, (1, 7), "SELECT id FROM notes WHERE tenant_id = 2 ORDER BY id", [(201,)]),
    "mv2": (
        "INSERT INTO patients VALUES (8, 1, 'Ana (t1)'), (7, 2, 'Bob (t2)')",
        0,
        (8, 2),
        "SELECT id, name FROM patients WHERE tenant_id = 2 ORDER BY id",
        [(7, "Bob (t2)"), (8, "Ana (t1)")],  # tenant 1's patient moved to tenant 2
    ),
}


@pytest.mark.parametrize("case", sorted(WITNESSES))
async def test_round22_fixtures_on_the_server(database: str, case: str) -> None:
    seed, line, args, query, expected = WITNESSES[case]
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND22 / f"{case}.sql").read_text(encoding="utf-8"))
        await conn.execute(seed)
        await conn.execute("SELECT set_config('app.tenant_id', '1', false)")
        await conn.execute(_statements(case)[line], *args)
        assert [tuple(r) for r in await conn.fetch(query)] == expected
    finally:
        await conn.close()


async def test_an_upsert_through_a_setting_view_returns_another_tenants_row(
    database: str,
) -> None:
    """oc: tenant 1's upsert on `mine` (conflict target `id`) returns tenant 2's whole row."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND22 / "oc.sql").read_text(encoding="utf-8"))
        await conn.execute(
            "INSERT INTO patients VALUES (7, 2, 'Bob (t2)', 'bob@x', 'HIV+ (t2 secret)')"
        )
        await conn.execute("SELECT set_config('app.tenant_id', '1', false)")
        row = await conn.fetchrow(_statements("oc")[0], 7, "x", "y")
        assert row is not None and (row["tenant_id"], row["diagnosis"]) == (2, "HIV+ (t2 secret)")
    finally:
        await conn.close()


# F1 (helper 97): the IS NULL idiom beside the pin of an outer join's nullable side
F1_SCHEMA = """
CREATE TABLE patients (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, name text NOT NULL);
CREATE TABLE notes (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, patient_id bigint,
    body text);
"""
F1 = (
    "SELECT p.id, p.name, n.body FROM patients p "
    "LEFT JOIN notes n ON n.patient_id = p.id AND n.body LIKE $2 "
    "WHERE p.tenant_id = $1 AND (n.tenant_id = $1 OR n.tenant_id IS NULL) ORDER BY p.id"
)
F1_SAFE = (
    "SELECT p.id, p.name, n.body FROM patients p "
    "LEFT JOIN notes n ON n.patient_id = p.id AND n.tenant_id = p.tenant_id "
    "AND n.body LIKE $2 "
    "WHERE p.tenant_id = $1 AND (n.tenant_id = $1 OR n.tenant_id IS NULL) ORDER BY p.id"
)


def test_is_null_beside_the_pin_of_a_nullable_side(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, F1_SCHEMA)
    assert isinstance(policy, Policy)
    assert "TG001" in _codes(F1, policy)
    assert _codes(F1_SAFE, policy) == []


async def test_is_null_beside_the_pin_of_a_nullable_side_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(F1_SCHEMA)
        await conn.execute(
            "INSERT INTO patients VALUES (1, 1, 'Alice'), (2, 1, 'Ann'), (5, 2, 'Bob');"
            "INSERT INTO notes VALUES (1, 1, 1, 't1 note'),"
            "(4, 2, 1, 'HIV positive - tenant 2 confidential')"
        )

        async def names(statement: str, probe: str) -> list[str]:
            return [r["name"] for r in await conn.fetch(statement, 1, probe)]

        # Alice vanishes exactly when tenant 2's note starts with the probe
        assert await names(F1, "HIV%") == ["Ann"]
        assert await names(F1, "Cancer%") == ["Alice", "Ann"]
        # with the nullable side pinned in its ON, tenant 2's note changes nothing
        assert await names(F1_SAFE, "HIV%") == await names(F1_SAFE, "Cancer%") == ["Alice", "Ann"]
    finally:
        await conn.close()


# False alarms (helper 98): an audit trigger reading its statement's transition table
# (`REFERENCING NEW TABLE AS newrows`: the rows the pinned write wrote, one tenant's), and a
# composite key's `ON DELETE SET NULL (patient_id)` (PostgreSQL 15: the tenant column kept, the
# rows the deleted row's tenant's). Each case's statements: proven, or reported, line by line.
FALSE_ALARMS = {
    # the transition table of a tenant table's write pins; one read unpinned beside it does not;
    # a global table's transition table holds no tenant's rows
    "fa_transition": [[], ["TG005"], ["TG005"]],
    "fa_set_null": [[]],
}


@pytest.mark.parametrize("case", sorted(FALSE_ALARMS))
def test_round22_false_alarms(tmp_path: Path, case: str) -> None:
    policy = _policy(tmp_path, case)
    statements = _statements(case)
    assert len(statements) == len(FALSE_ALARMS[case])
    for statement, codes in zip(statements, FALSE_ALARMS[case], strict=True):
        assert sorted(set(_codes(statement, policy))) == codes, statement


async def test_round22_false_alarms_stay_in_the_tenant_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND22 / "fa_transition.sql").read_text(encoding="utf-8"))
        await conn.execute(
            "INSERT INTO patients VALUES (1, 1, 'Ana'), (2, 2, 'Bob');"
            "INSERT INTO notes VALUES (1, 1, 'Ana'), (2, 2, 'Bob')"
        )
        await conn.execute(_statements("fa_transition")[0], 1, "Ana B", 1)
        rows = await conn.fetch("SELECT tenant_id, note FROM audit ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, "Ana B")]  # tenant 1's row, audited as its own
    finally:
        await conn.close()
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("DROP TABLE patients, notes, audit, settings CASCADE")
        await conn.execute((ROUND22 / "fa_set_null.sql").read_text(encoding="utf-8"))
        await conn.execute(
            "INSERT INTO patients VALUES (7, 1, 'Ana'), (7, 2, 'Bob');"
            "INSERT INTO visits VALUES (1, 1, 7), (2, 2, 7)"
        )
        await conn.execute(_statements("fa_set_null")[0], 1, 7)
        rows = await conn.fetch("SELECT id, tenant_id, patient_id FROM visits ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, 1, None), (2, 2, 7)]  # tenant 2's untouched
    finally:
        await conn.close()


# Error oracles (helper 97, F2-F5): `1/(CASE WHEN n.body LIKE $2 THEN 0 ELSE 1 END)` fails
# ("division by zero") exactly when a row meets the probe: run before the row's tenant filter,
# it reads another tenant's text a prefix at a time. PostgreSQL gives a joined table's scan the
# pin's value only through an equivalence class (plain `=` all along, the root on the bare
# column): not for BETWEEN $1 AND $1, `(… = $1) IS TRUE`, `tenant_id::text = $1`, IS NOT
# DISTINCT FROM; a pin by a correlated subquery is a SubPlan, evaluated last; a HAVING pin
# with a subquery stays in HAVING; a recursive term's worktable carries no constant.
def test_division_oracles_before_the_pin(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "oracles")
    for statement in _statements("oracles"):
        assert "TG013" in _codes(statement, policy), statement
    for statement in _statements("oracles_safe"):
        assert _codes(statement, policy) == [], statement


async def test_division_oracles_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND22 / "oracles.sql").read_text(encoding="utf-8"))
        await conn.execute(
            "INSERT INTO tenants VALUES (1, 'one'), (2, 'two');"
            "INSERT INTO patients (id, tenant_id, name, ssn) VALUES (1, 1, 'Alice', 'a'), "
            "(2, 1, 'Ann', 'b'), (5, 2, 'Bob-T2', 'SECRET-SSN');"
            "INSERT INTO notes VALUES (1, 1, 1, 't1 note'), (2, 2, 5, 'HIV positive')"
        )
        oracles = _statements("oracles")
        for index in (0, 2, 4):  # BETWEEN, ::text, a correlated subquery pin
            args: tuple[object, ...] = ("1", "HIV%") if "::text" in oracles[index] else (1, "HIV%")
            with pytest.raises(asyncpg.DivisionByZeroError):  # tenant 2's note starts so
                await conn.fetch(oracles[index], *args)
            await conn.fetch(oracles[index], args[0], "Cancer%")  # no row of any tenant does
        with pytest.raises(asyncpg.DivisionByZeroError):  # the recursive term, tenant 2's ssn
            await conn.fetch(oracles[6], 1, "SECRET%")
        # the plain chain: the pin is in each scan, tenant 2's note is never tested
        rows = await conn.fetch(_statements("oracles_safe")[0], 1, "HIV%")
        assert [tuple(r) for r in rows] == [("Alice", "t1 note")]
    finally:
        await conn.close()


# helper-102, on the fixes above (tests/fixtures/round22/h102_*):
#   dynamic — dynamic SQL the first heuristic called literal: a format string built with `||`
#     (h1), nested dynamic code (`'DO $d$ BEGIN EXECUTE ' || quote_literal(q)`, h3; a literal
#     DO block building a name inside, h5), a trigger's name split over TG_ARGV[0] and [1] (the
#     trigger: `format('DELETE FROM %s%s …', 'no', 'tes')` is now formatted, then read);
#   oracles — the IS NULL idiom outside the nullable side's own LEFT JOIN ON: a FULL JOIN, a
#     later join's ON, HAVING (and the shapes already flagged beside them);
#   views — a view showing the tenant column twice (`*, tenant_id AS zz`), a column list over
#     `*`, `ALTER VIEW … RENAME COLUMN tenant_id TO org`: writes through them.
H102 = {
    "h102_dynamic": [1, 2, 3, 4, 5, 6],
    "h102_oracles": [1, 2, 3, 4, 5, 6, 7, 8, 9],
    "h102_views": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
}


@pytest.mark.parametrize("case", sorted(H102))
def test_round22_second_wave(tmp_path: Path, case: str) -> None:
    policy = _policy(tmp_path, case)
    statements = _statements(case)
    for line, statement in enumerate(statements, 1):
        codes = _codes(statement, policy)
        assert bool(codes) == (line in H102[case]), (line, statement, codes)


async def test_round22_second_wave_on_the_server(database: str) -> None:
    """Each of tenant 1's calls of the dynamic-SQL functions (and its DELETE, through the
    trigger) deletes tenant 2's note; through `two` (`*, tenant_id AS zz`) tenant 1 moves its
    patient into tenant 2."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND22 / "h102_dynamic.sql").read_text(encoding="utf-8"))
        statements = _statements("h102_dynamic")
        for line in (0, 2, 4, 5):  # h1, h3, h5, the trigger
            await conn.execute(
                "DELETE FROM notes; DELETE FROM patients; DELETE FROM purge_targets;"
                "INSERT INTO patients VALUES (7, 1, 'Ana t1'), (7, 2, 'Bob t2');"
                "INSERT INTO notes VALUES (100, 1, 7, 't1 note'), (200, 2, 7, 't2 secret');"
                "INSERT INTO purge_targets VALUES ('notes')"
            )
            await conn.execute(statements[line], 1, 7)
            assert await conn.fetch("SELECT id FROM notes WHERE tenant_id = 2") == [], line
    finally:
        await conn.close()
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("DROP TABLE notes, patients, purge_targets CASCADE")
        await conn.execute((ROUND22 / "h102_views.sql").read_text(encoding="utf-8"))
        await conn.execute("INSERT INTO patients VALUES (8, 1, 'Ana t1'), (7, 2, 'Bob t2')")
        await conn.execute("SELECT set_config('app.tenant_id', '1', false)")
        await conn.execute(_statements("h102_views")[0], 8, 2)
        rows = await conn.fetch("SELECT id FROM patients WHERE tenant_id = 2 ORDER BY id")
        assert [r[0] for r in rows] == [7, 8]
    finally:
        await conn.close()


# helper-104, third pass (tests/fixtures/round22/h104_*):
#   oracles — domain errors of typed functions before the pin (ln, log, sqrt, power, exp,
#     split_part, substr, repeat, width_bucket, `^`), shown against the tenant-expression pin;
#     abs's overflow (of INT_MIN) is read since round 23 (helper 112 read a prefix at a time
#     with it), those of `+`, `-` and a negation of a value a row computes since round 24;
#   divisions — divisors that cannot be zero (nullif(x, 0), greatest(x, 1), coalesce(nullif…),
#     CASE WHEN x = 0 THEN 1 ELSE x END) are no oracle: false alarms of the first fix;
#   dynamic — names built from pieces the reader now joins as PostgreSQL does (format of
#     literals, `::text`, dollar quotes, parentheses, adjacent literals) or does not decode
#     (E'' escapes: fail closed);
#   views — a cast of the tenant column to its own type in a view (`tenant_id::bigint AS org`).
H104_FLAGGED = {
    "h104_oracles": {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15},
    "h104_divisions": set(),
    "h104_dynamic": set(range(1, 11)),
    "h104_views": set(range(1, 11)),
}


@pytest.mark.parametrize("case", sorted(H104_FLAGGED))
def test_round22_third_wave(tmp_path: Path, case: str) -> None:
    policy = policy_for(
        tmp_path,
        (ROUND22 / f"{case}.sql").read_text(encoding="utf-8"),
        tenant_expressions=("current_setting('app.tenant_id')",),
    )
    assert isinstance(policy, Policy)
    for line, statement in enumerate(_statements(case), 1):
        codes = _codes(statement, policy)
        assert bool(codes) == (line in H104_FLAGGED[case]), (line, statement, codes)


async def test_round22_third_wave_on_the_server(database: str) -> None:
    """ln() of a CASE fails exactly when tenant 2's note starts with the probe; a division by
    nullif(qty, 0) never fails; d1 (format of 'no', 'tes') deletes tenant 2's note."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND22 / "h104_dynamic.sql").read_text(encoding="utf-8"))
        await conn.execute(
            "INSERT INTO patients (id, tenant_id, name, qty, price) VALUES (1, 1, 'Ana', 2, 10),"
            "(3, 1, 'Cid', 1, 50), (2, 2, 'Bob', 0, 30);"
            "INSERT INTO notes VALUES (10, 1, 1, 't1 note'), (20, 2, 2, 'secret t2'),"
            "(21, 2, 1, 't2 note on patient 1');"
            "SELECT set_config('app.tenant_id', '1', false)"
        )
        oracle = _statements("h104_oracles")[0]
        with pytest.raises(asyncpg.InvalidArgumentForLogarithmError):
            await conn.fetch(oracle, "sec%")
        assert [r[0] for r in await conn.fetch(oracle, "zzz%")] == [10]
        division = _statements("h104_divisions")[0]
        assert sorted(r[0] for r in await conn.fetch(division)) == [3]
        await conn.execute(_statements("h104_dynamic")[0], 1)
        assert await conn.fetchval("SELECT count(*) FROM notes WHERE tenant_id = 2") == 1
    finally:
        await conn.close()


def test_round22_trigger_false_alarms(tmp_path: Path) -> None:
    """helper-106: a counter trigger returning `coalesce(NEW, OLD)` (the written row itself)
    was "it assigns NEW.*"; an audit function shared by triggers declaring different
    transition tables was read with each trigger's names only. Both pass; a real table named
    like the other trigger's transition table is read."""
    policy = policy_for(
        tmp_path,
        (ROUND22 / "h106_triggers.sql").read_text(encoding="utf-8"),
        tenant_column="workspace_id",
    )
    assert isinstance(policy, Policy)
    for statement in _statements("h106_triggers"):
        assert _codes(statement, policy) == [], statement
    (tmp_path / "real").mkdir()
    real = policy_for(
        tmp_path / "real",
        (ROUND22 / "h106_triggers.sql").read_text(encoding="utf-8")
        + "CREATE TABLE old_rows (workspace_id bigint NOT NULL, id bigint);\n",
        tenant_column="workspace_id",
    )
    assert isinstance(real, Policy)
    assert "TG005" in _codes(_statements("h106_triggers")[2], real)


# helper-108, a sweep of realistic code: a trigger's copy of the written row (`r :=
# coalesce(NEW, OLD)`, `v := NEW.tenant_id`, a DECLARE of `coalesce(NEW.tenant_id,
# OLD.tenant_id)`) was no pin (TG005 at every write); error oracles over a view pinned inside by
# the tenant setting were not read (its filter merges with the reader's WHERE).
COPIES = """
CREATE TABLE orders (id bigint NOT NULL, tenant_id bigint NOT NULL, total bigint, PRIMARY KEY (tenant_id, id));
CREATE TABLE order_items (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, order_id bigint, cents bigint);
CREATE FUNCTION recalc() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record; v bigint := coalesce(NEW.tenant_id, OLD.tenant_id); w bigint;
BEGIN
  r := coalesce(NEW, OLD);
  IF TG_OP = 'DELETE' THEN w := OLD.tenant_id; ELSE w := NEW.tenant_id; END IF;
  UPDATE orders o SET total = (SELECT sum(i.cents) FROM order_items i
      WHERE i.tenant_id = r.tenant_id AND i.order_id = r.order_id)
   WHERE o.tenant_id = r.tenant_id AND o.id = r.order_id;
  UPDATE orders SET total = 0 WHERE tenant_id = v AND id = r.order_id AND total IS NULL;
  UPDATE orders SET total = total WHERE tenant_id = w AND id = r.order_id;
  RETURN NULL;
END $$;
CREATE TRIGGER recalc AFTER INSERT OR UPDATE OR DELETE ON order_items FOR EACH ROW EXECUTE FUNCTION recalc();
"""
COPIES_LEAK = COPIES.replace(
    "w := NEW.tenant_id; END IF;", "w := NEW.tenant_id; END IF; w := NEW.order_id;"
)
SETTING_VIEW = """
CREATE TABLE customers (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, metadata jsonb,
    value_cents bigint, order_count int, name text);
CREATE VIEW my_customers AS SELECT * FROM customers
    WHERE tenant_id = current_setting('app.tenant_id')::bigint;
"""


def test_a_triggers_copies_of_the_written_row(tmp_path: Path) -> None:
    write = "INSERT INTO order_items (tenant_id, order_id, cents) VALUES ($1, $2, $3)"
    policy = policy_for(tmp_path, COPIES)
    assert isinstance(policy, Policy)
    assert _codes(write, policy) == []
    assert _codes("DELETE FROM order_items WHERE tenant_id = $1 AND id = $2", policy) == []
    (tmp_path / "leak").mkdir()
    leaky = policy_for(tmp_path / "leak", COPIES_LEAK)  # w holds another column too
    assert isinstance(leaky, Policy)
    assert "TG005" in _codes(write, leaky)


def test_error_oracles_over_a_view_pinned_by_the_setting(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SETTING_VIEW)
    assert isinstance(policy, Policy)
    for condition in (
        "(metadata->>'seats')::int > 5",
        "ln(value_cents) > 3",
        "value_cents / order_count > 10",
    ):
        sql = f"SELECT id FROM my_customers WHERE {condition}"
        assert "TG013" in _codes(sql, policy), sql
    for condition in ("value_cents / nullif(order_count, 0) > 10", "name = $1"):
        sql = f"SELECT id FROM my_customers WHERE {condition}"
        assert _codes(sql, policy) == [], sql


def test_a_like_of_a_table_the_sources_create_later_is_said(tmp_path: Path) -> None:
    """helper-108: schema files are read in the order of their names; `CREATE TABLE h (LIKE
    customers)` in functions.sql, read before schema.sql creates customers, gave h no columns
    (no tenant column) and its reads passed in silence. PostgreSQL would refuse it there: a
    problem at the statement now (TG006, an error)."""
    from tenantguard.cli import main

    (tmp_path / "db").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\nschema_paths = ["db"]\n', encoding="utf-8"
    )
    (tmp_path / "db" / "functions.sql").write_text(
        "CREATE TABLE customers_history (LIKE customers, changed_at timestamptz);\n",
        encoding="utf-8",
    )
    (tmp_path / "db" / "schema.sql").write_text(
        "CREATE TABLE customers (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);\n",
        encoding="utf-8",
    )
    (tmp_path / "q.sql").write_text("SELECT * FROM customers_history;\n", encoding="utf-8")
    assert main(["check", "--no-cache", "--format", "json", str(tmp_path)]) == 1
    (tmp_path / "db" / "functions.sql").rename(tmp_path / "db" / "zz_functions.sql")
    assert main(["check", "--no-cache", str(tmp_path / "q.sql")]) == 1  # TG001 now: a tenant table


HISTORY = """
CREATE TABLE customers (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, name text);
CREATE TABLE customers_history (LIKE customers, changed_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO customers_history SELECT OLD.*, now();
  RETURN NEW;
END $$;
CREATE TRIGGER keep_history BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION keep_history();
"""


def test_a_history_trigger_copying_the_old_row(tmp_path: Path) -> None:
    """helper-108: `INSERT INTO customers_history SELECT OLD.*, now()` into a table `LIKE` the
    audited one was "no column list" (TG005 at every UPDATE); the schema shows both column
    lists, and the tenant column lands where it was. A history table of other columns first
    stays unproven."""
    update = "UPDATE customers SET name = $2 WHERE tenant_id = $1 AND id = $3"
    policy = policy_for(tmp_path, HISTORY)
    assert isinstance(policy, Policy)
    assert _codes(update, policy) == []
    (tmp_path / "other").mkdir()
    shifted = HISTORY.replace(
        "(LIKE customers, changed_at", "(changed_at timestamptz, LIKE customers, note"
    ).replace("NOT NULL DEFAULT now()", "")
    other = policy_for(tmp_path / "other", shifted)
    assert isinstance(other, Policy)
    assert "TG005" in _codes(update, other)


async def test_a_history_trigger_keeps_each_rows_tenant_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(HISTORY)
        await conn.execute("INSERT INTO customers VALUES (1, 1, 'Ana'), (2, 2, 'Bob')")
        await conn.execute(
            "UPDATE customers SET name = $2 WHERE tenant_id = $1 AND id = $3", 1, "A", 1
        )
        rows = await conn.fetch("SELECT id, tenant_id, name FROM customers_history")
        assert [tuple(r) for r in rows] == [(1, 1, "Ana")]
    finally:
        await conn.close()
