"""Round 23 attacks on the proof (helper 109), each shown on PostgreSQL 15 by what tenant 1's
statement does to tenant 2's rows. Schemas and statements are in tests/fixtures/round23
(`<case>.sql`, `<case>.q`: one statement a line).

1. A function of the schema that writes a table of no tenant whose trigger or rule writes
   every tenant's rows (PL/pgSQL, SQL, a RULE, dynamic `EXECUTE … USING`, through a view, from
   another function) was read as reaching no tenant row: `SELECT touch_plpgsql($1)` deleted
   tenant 2's notes. The schema's functions are now read again once the triggers' and rules'
   writes are known, to a fixed point.
2. An operator of the schema (`CREATE OPERATOR <<< (…, FUNCTION = zap)`) whose function deletes
   every tenant's notes: called from a PL/pgSQL `IF p <<< 0` (an expression with no parenthesis
   or SELECT was never read), a SQL body sqlglot cannot parse, or the application's statement
   (only a parse warning). Its symbol now calls its function, in bodies and statements.
3. Dynamic SQL read too kindly: `TG_TABLE_NAME` declared as a variable (or `tg_argv` a
   parameter) was read as the trigger's own name; a first literal `SET …`/`SHOW …`/`NOTIFY …`
   exempted the whole text (`replace('SET x', 'SET x', 'DELETE …')`, `… || chr(59) || …`);
   `query_to_xml` inside the executed text ran a query it was given.
4. False alarms: a parameter named like the tenant column, named by its function
   (`notes_of.tenant_id`, as PostgreSQL allows), read as the column; one tenant spelled `'1'`
   and `' 01'` on an integer tenant column read as two (TG012).
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement
from tests.proof.test_attack11_proof import _codes
from tests.proof.test_schema import policy_for

ROUND23 = Path(__file__).parent.parent / "fixtures" / "round23"


def _policy(tmp_path: Path, case: str) -> Policy:
    policy = policy_for(
        tmp_path,
        (ROUND23 / f"{case}.sql").read_text(encoding="utf-8"),
        global_tables=("tenants",),
    )
    assert isinstance(policy, Policy)
    return policy


def _statements(case: str) -> list[str]:
    text = (ROUND23 / f"{case}.q").read_text(encoding="utf-8")
    return [line.strip().rstrip(";") for line in text.splitlines() if line.strip()]


# each statement of hidden.q: reported (TG006), or proven (a table no trigger or rule follows)
HIDDEN = [["TG006"]] * 7 + [[], []]


def test_functions_writing_through_a_trigger_or_a_rule(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "hidden")
    statements = _statements("hidden")
    assert [_codes(s, policy) for s in statements] == HIDDEN


async def _each_statement_on_the_server(
    database: str, case: str, seed: str, expected: list[list[str]]
) -> None:
    """Each statement of `<case>.q`, run as tenant 1 (with 1 for its parameter) on notes of
    both tenants: reported statements reach tenant 2's note (deleted, or handed out in what
    the statement returns); proven ones leave it untouched and unseen."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND23 / f"{case}.sql").read_text(encoding="utf-8"))
        await conn.execute("INSERT INTO tenants VALUES (1, 'one'), (2, 'two');" + seed)
        for statement, codes in zip(_statements(case), expected, strict=True):
            await conn.execute(
                "DELETE FROM notes; INSERT INTO notes VALUES (1, 1, 1, 'mine'), "
                "(1, 2, 1, 'SECRET of tenant 2')"
            )
            async with conn.transaction():
                result = await conn.fetch(statement, 1)
            left = [r[0] for r in await conn.fetch("SELECT body FROM notes ORDER BY tenant_id")]
            leaked = left != ["mine", "SECRET of tenant 2"] or "SECRET" in str(result)
            assert leaked == bool(codes), statement
    finally:
        await conn.close()


async def test_functions_writing_through_a_trigger_or_a_rule_on_the_server(
    database: str,
) -> None:
    seed = "INSERT INTO lookup VALUES (1, 'x'); INSERT INTO lookup2 VALUES (1, 'x');"
    await _each_statement_on_the_server(
        database, "hidden", seed + "INSERT INTO plain VALUES (1, 'x')", HIDDEN
    )


@pytest.mark.parametrize("statement", _statements("hidden")[:7])
def test_the_finding_names_the_function(tmp_path: Path, statement: str) -> None:
    policy = _policy(tmp_path, "hidden")
    (finding,) = analyze_statement(statement, policy).findings
    name = statement.split()[1].split("(")[0]
    assert f"function {name} reads or writes rows of every tenant" in finding.message


# each statement of operator.q: reported (TG006), or proven (an operator whose function reads
# no tenant row; the symbol in a string)
OPERATOR = [["TG006"]] * 4 + [[], [], []]


def test_operators_whose_function_reaches_tenant_rows(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "operator")
    assert dict(policy.leaky_operators) == {"<<<": "zap"}
    got = [sorted(set(_codes(s, policy))) for s in _statements("operator")]
    assert got == OPERATOR
    (finding,) = [
        f
        for f in analyze_statement("SELECT 1, $1::bigint <<< 0", policy).findings
        if "operator" in f.message
    ]
    assert (finding.line, finding.column) == (1, 22)


async def test_operators_whose_function_reaches_tenant_rows_on_the_server(database: str) -> None:
    await _each_statement_on_the_server(database, "operator", "", OPERATOR)


# each statement of dynamic.q: reported (TG006), or proven (a setting, a notification)
DYNAMIC = [["TG006"]] * 10 + [[], [], []]


def test_dynamic_sql_read_too_kindly(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "dynamic")
    assert [sorted(set(_codes(s, policy))) for s in _statements("dynamic")] == DYNAMIC


async def test_dynamic_sql_read_too_kindly_on_the_server(database: str) -> None:
    await _each_statement_on_the_server(database, "dynamic", "", DYNAMIC)


# each statement of qualified.q: proven, or reported
QUALIFIED = [[], [], [], ["TG001"], ["TG001"], ["TG012"], [], [], ["TG012"]]


def test_parameters_named_by_their_function_and_integer_spellings(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "qualified")
    assert [sorted(set(_codes(s, policy))) for s in _statements("qualified")] == QUALIFIED


async def test_parameters_named_by_their_function_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND23 / "qualified.sql").read_text(encoding="utf-8"))
        await conn.execute(
            "INSERT INTO tenants VALUES (1, 'one'), (2, 'two');"
            "INSERT INTO notes VALUES (1, 1, 7, 'mine'), (1, 2, 7, 'SECRET of tenant 2')"
        )
        statements = _statements("qualified")
        assert [r["body"] for r in await conn.fetch(statements[0], 1, 7)] == ["mine"]
        assert [r["body"] for r in await conn.fetch(statements[1], 1)] == ["mine"]
        assert [r[0] for r in await conn.fetch(statements[2])] == ["mine", "mine"]
        # the twins: every tenant's notes
        assert len(await conn.fetch(statements[3], 1)) == 2
        assert len(await conn.fetch(statements[4], 7)) == 2
    finally:
        await conn.close()


MOVED = """
CREATE TABLE tenants (id bigint PRIMARY KEY);
CREATE TABLE audit (id bigint, tenant_id bigint NOT NULL, note text);
CREATE TABLE notes (id bigint, tenant_id bigint NOT NULL, kind text NOT NULL)
  PARTITION BY LIST (kind);
CREATE TABLE notes_a PARTITION OF notes FOR VALUES IN ('a');
CREATE TABLE notes_b PARTITION OF notes FOR VALUES IN ('b');
CREATE FUNCTION wipe() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM audit WHERE id = NEW.id; RETURN NEW; END $$;
CREATE TRIGGER on_ins AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION wipe();
"""
MOVE = "UPDATE notes SET kind = 'b' WHERE id = $1 AND tenant_id = $2"


def test_an_update_moving_a_row_between_partitions(tmp_path: Path) -> None:
    """helper 114: an UPDATE of a partition key moves the row — the INSERT trigger runs on the
    new partition — and the UPDATE was proven."""
    policy = policy_for(tmp_path, MOVED, global_tables=("tenants",))
    assert isinstance(policy, Policy)
    assert _codes(MOVE, policy) == ["TG005"]
    assert _codes("UPDATE notes SET id = $1 WHERE id = $1 AND tenant_id = $2", policy) == [
        "TG005"  # (which columns the partition key holds is not read: any UPDATE counts)
    ]


async def test_an_update_moving_a_row_between_partitions_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(MOVED)
        await conn.execute(
            "INSERT INTO audit VALUES (7, 2, 'tenant 2 audit');INSERT INTO notes VALUES (7, 1, 'a')"
        )
        await conn.execute(MOVE, 7, 1)  # tenant 1 moves its own note
        assert await conn.fetch("SELECT * FROM audit") == []  # tenant 2's row is gone
    finally:
        await conn.close()
