"""Round 28: the runtime guard attacked by an outsider (helper h28b), on a real server.

1. `copy_records_to_table()` without `columns=` (or with an empty list) into a tenant table
   whose tenant column defaults to the tenant expression (`DEFAULT
   current_setting('app.tenant_id')::bigint`, the way RLS applications write it). The guard
   proved the COPY as the INSERT it amounts to — `INSERT INTO memos DEFAULT VALUES` when no
   column was named, which the proof takes as pinned by the tenant expression (the default) —
   and so checked no record's value. But asyncpg's COPY without a column list (`if columns:`,
   an empty list too) writes every column of the table, the tenant column included, from the
   records: clinic 1's request wrote a memo into clinic 2 (`account_id = 2`). The columns
   such a COPY writes are now the table's own, read from the server as asyncpg reads them
   (its `SELECT * FROM t LIMIT 1`), and each record's tenant value is checked against them.

2. An error oracle through a correlated subquery (TG013). A table pinned by a composite
   foreign key (`appointments a JOIN patients p ON p.id = a.patient_id WHERE a.tenant_id =
   $1`) is filtered by the join, not by its own scan: a condition on p alone runs on every
   clinic's patients first. TG013 refused such a condition that may fail, but not one inside
   a subquery correlated to p (`EXISTS (SELECT 1 WHERE p.first_name::int > 0)`, a scalar
   subquery, `IN`/`ANY (SELECT …)`, nested, in the join's ON), which PostgreSQL runs as a
   SubPlan of p's scan all the same: clinic 1's request read `invalid input syntax for type
   integer: "Carla"` (clinic 2's patient). So did the condition in a LATERAL subquery (pulled
   up into the join, its WHERE runs in p's scan), in a HAVING without aggregates (which
   PostgreSQL moves to WHERE), in a subquery reading p through a FROM item of its own
   (`unnest(ARRAY[p.first_name]) q`) and through a derived table PostgreSQL pulls up.
   Refused now (TG013).

3. A count through the session's random generator, on the same key-pinned patients: a
   condition calling random() ran once per patient of every clinic before the join, and the
   session's next random() after a known setseed() told how many (3: clinic 2 has one; a `CASE
   WHEN p.first_name < 'M' THEN random() …` counts the names before 'M'). Refused now (TG013)
   where PostgreSQL may evaluate the condition before the pin.

4. A search through an error that does not depend on the row's value: `p.first_name < 'C' OR
   split_part(p.first_name, ',', 0) IS NULL` fails only where a row takes the second branch,
   so the error told that another clinic has a patient named from 'C' on (and 'D' not: a
   binary search of other clinics' names) — on the key-pinned patients, and on patients
   pinned by their own column written last (conditions of equal cost run in the order
   written), also with a pattern the request binds that does not compile or a scalar subquery
   of several rows (run when a row first reaches it). Refused now (TG013).

5. A row's place in a condition (TG006): `ctid` in a select list is refused (the gaps between
   a tenant's own rows count other tenants' writes), but `ctid = '(0,n)'` in a WHERE probed
   place after place: clinic 1's rows at (0,1), (0,2) and (0,4), so (0,3) is another clinic's.
   Refused now where a place (ctid, xmin, xmax) is compared with a value.

6. `currtid2('patients', '(0,3)')` told where the newest version of the row at (0,3) is,
   whatever its tenant: clinic 2's Carla, updated since. Refused now (TG006).

7. The transaction counter without xmin: `age('3'::xid)` (the next transaction id minus 3),
   `pg_xact_status(n)` ("transaction ID n is in the future") and `pg_control_checkpoint()`
   count every clinic's write transactions, as `txid_current()` (refused) does. Refused now
   (TG006).

8. `LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE` (the tenant registry) passed where `SELECT …
   FROM tenants FOR UPDATE` unpinned is refused (TG005): clinic 2's insert of a patient waited
   on clinic 1's request (its foreign key's check of the registry). Refused now (TG005).

9. `VACUUM FULL` (every table) from clinic 1's request queued an ACCESS EXCLUSIVE lock on
   patients behind a clinic 2 transaction, and clinic 2's next read waited on it. Refused now
   (TG005), with `VACUUM FULL` of the registry; a plain VACUUM runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, tenant, unscoped
from tests.proof.test_schema import policy_for

MEMOS = """
CREATE TABLE accounts (id bigint PRIMARY KEY, name text);
CREATE TABLE memos (id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id)
        DEFAULT current_setting('app.tenant_id')::bigint,
    body text);
"""


def _memos_policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, MEMOS, tenant_column="account_id")
    assert isinstance(policy, Policy)
    assert "memos" in policy.tenant_defaults  # the default is the tenant expression
    return policy


async def _stream(rows: Sequence[tuple[Any, ...]]) -> AsyncIterator[tuple[Any, ...]]:
    for row in rows:
        yield row


async def _memos(database: str) -> list[tuple[int, str]]:
    owner = await asyncpg.connect(database)
    try:
        rows = await owner.fetch("SELECT account_id, body FROM memos ORDER BY id")
    finally:
        await owner.close()
    return [(r["account_id"], r["body"]) for r in rows]


@pytest.mark.parametrize("streamed", [False, True], ids=["list", "async iterable"])
@pytest.mark.parametrize("columns", [None, []], ids=["no columns", "empty columns"])
async def test_a_copy_without_columns_writes_no_other_clinics_row(
    database: str, tmp_path: Path, columns: list[str] | None, streamed: bool
) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(MEMOS + "INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');")
    finally:
        await owner.close()
    conn = await connect(database, policy=_memos_policy(tmp_path))
    rows = [(900, 2, "forged by clinic 1")]  # every column, in the table's order
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            await conn.copy_records_to_table(
                "memos", records=_stream(rows) if streamed else rows, columns=columns
            )
    finally:
        await conn.close()
    assert (2, "forged by clinic 1") not in await _memos(database)


@pytest.mark.parametrize("streamed", [False, True], ids=["list", "async iterable"])
async def test_a_copy_without_columns_of_the_clinics_own_rows_still_runs(
    database: str, tmp_path: Path, streamed: bool
) -> None:
    """The legitimate twin: every column given, the request's own tenant in each record."""
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(MEMOS + "INSERT INTO accounts VALUES (1, 'own'), (2, 'VICTIM');")
    finally:
        await owner.close()
    conn = await connect(database, policy=_memos_policy(tmp_path))
    rows = [(900, 1, "mine"), (901, 1, "mine too")]
    try:
        with tenant(1):
            await conn.copy_records_to_table("memos", records=_stream(rows) if streamed else rows)
            with pytest.raises(TenantIsolationError):  # one record of another clinic
                await conn.copy_records_to_table(
                    "memos",
                    records=_stream([(902, 1, "a"), (903, 2, "b")])
                    if streamed
                    else [(902, 1, "a"), (903, 2, "b")],
                )
    finally:
        await conn.close()
    assert await _memos(database) == [(1, "mine"), (1, "mine too")]


# 2. An error oracle through a correlated subquery, on a table pinned by a composite foreign key.
#    `appointments a JOIN patients p ON p.id = a.patient_id WHERE a.tenant_id = $1` pins p by
#    the key (tenant_id, patient_id) → patients (tenant_id, id): a join condition, not a filter
#    of p's scan, so every condition on p alone runs on every clinic's patients before the
#    join. TG013 refuses such a condition that may fail (`p.first_name::int > 0`) — but not one
#    inside a subquery correlated to p (`EXISTS (SELECT 1 WHERE …)`, `(SELECT …)`, `IN
#    (SELECT …)`, `= ANY (SELECT …)`), which PostgreSQL runs as a SubPlan in p's scan all the
#    same: clinic 1's request read `invalid input syntax for type integer: "Carla"` (clinic 2's
#    patient), with an empty appointments table.
KEYED = (
    "SELECT p.first_name FROM appointments a JOIN patients p ON p.id = a.patient_id "
    "WHERE a.tenant_id = $1 AND "
)
# true of clinic 1's patients, fails on any other name: the error spells it
ORACLE = "(p.first_name IN ('Ana', 'Bruno') OR p.first_name::int > 0)"
CORRELATED = {
    "exists": f"EXISTS (SELECT 1 WHERE {ORACLE})",
    "scalar": f"(SELECT {ORACLE})",
    "in": f"p.first_name IN (SELECT p.first_name WHERE {ORACLE})",
    "any": f"1 = ANY (SELECT 1 WHERE {ORACLE})",
    "array": f"p.first_name = ANY (ARRAY(SELECT p.first_name WHERE {ORACLE}))",
    "nested": f"EXISTS (SELECT 1 FROM tenants t WHERE t.id = 1 AND EXISTS (SELECT 1 WHERE {ORACLE}))",
    "not in": f"p.first_name NOT IN (SELECT 'z' WHERE NOT {ORACLE})",
    "on": "true",  # the subquery in the join's ON instead (below)
    "lateral": "true",
    "having": "true",
    "unnest": "true",
    "derived": "true",
}
# the same condition elsewhere than a subquery of the WHERE
QUERIES = {
    "on": (
        "SELECT p.first_name FROM appointments a JOIN patients p ON p.id = a.patient_id "
        f"AND EXISTS (SELECT 1 WHERE {ORACLE}) WHERE a.tenant_id = $1"
    ),
    # a LATERAL subquery, pulled up into the join: its WHERE runs in p's scan
    "lateral": (
        "SELECT p.first_name FROM appointments a JOIN patients p ON p.id = a.patient_id, "
        f"LATERAL (SELECT 1 WHERE {ORACLE}) x WHERE a.tenant_id = $1"
    ),
    # the subquery reads p's row through a FROM item of its own
    "unnest": (
        KEYED + "p.first_name = ANY (SELECT q FROM unnest(ARRAY[p.first_name]) q "
        "WHERE q IN ('Ana', 'Bruno') OR q::int > 0)"
    ),
    # the join in a derived table PostgreSQL pulls up: its reader's condition reaches p's scan
    "derived": (
        "SELECT * FROM (SELECT p.first_name FROM appointments a JOIN patients p "
        "ON p.id = a.patient_id WHERE a.tenant_id = $1) x WHERE EXISTS (SELECT 1 WHERE "
        "x.first_name IN ('Ana', 'Bruno') OR x.first_name::int > 0)"
    ),
    # HAVING without aggregates: PostgreSQL moves it to WHERE, into p's scan
    "having": (
        "SELECT p.first_name FROM appointments a JOIN patients p ON p.id = a.patient_id "
        f"WHERE a.tenant_id = $1 GROUP BY p.first_name HAVING {ORACLE}"
    ),
}


# clinic 1 books Ana (the owner's setup): the join has a row to make, and patients is scanned
BOOKED = """
UPDATE patients SET status = 'active', last_name = 'Alba', dni = '100' WHERE first_name = 'Ana';
INSERT INTO professionals (tenant_id, full_name) VALUES (1, 'Dr. One');
INSERT INTO appointments (tenant_id, patient_id, professional_id, starts_at)
SELECT 1, p.id, pr.id, now() + interval '1 day' FROM patients p, professionals pr
WHERE p.first_name = 'Ana';
ANALYZE;
"""


async def _booked(dsn: str) -> None:
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute(BOOKED)
    finally:
        await owner.close()


def _keyed_policy(tmp_path: Path) -> Policy:
    from tests.conftest import BASELINE

    policy = policy_for(tmp_path, BASELINE.read_text(encoding="utf-8"))
    assert isinstance(policy, Policy)
    return policy


@pytest.mark.parametrize("shape", sorted(CORRELATED))
async def test_a_correlated_subquery_on_a_key_pinned_table_shows_no_other_clinics_value(
    two_clinics: str, tmp_path: Path, shape: str
) -> None:
    await _booked(two_clinics)
    conn = await connect(two_clinics, policy=_keyed_policy(tmp_path))
    query = QUERIES.get(shape, KEYED + CORRELATED[shape])
    shown = ""
    try:
        with tenant(1):
            # the request steers the plan: patients scanned on its own, before the join
            for setting in ("enable_hashjoin", "enable_mergejoin", "enable_indexscan"):
                await conn.execute(f"SET {setting} = off")
            try:
                await conn.fetch(query, 1)
            except TenantIsolationError:
                pass
            except asyncpg.PostgresError as error:
                shown = str(error)
    finally:
        await conn.close()
    assert "Carla" not in shown


async def test_correlated_subqueries_that_cannot_fail_still_run(
    two_clinics: str, tmp_path: Path
) -> None:
    """The legitimate twins: a correlated subquery on the key-pinned table that fails on no
    value, and one that may fail on a table pinned by its own scan's filter (PostgreSQL runs
    the SubPlan after the cheaper pin)."""
    await _booked(two_clinics)
    conn = await connect(two_clinics, policy=_keyed_policy(tmp_path))
    try:
        with tenant(1):
            booked = await conn.fetch(
                KEYED + "EXISTS (SELECT 1 FROM tenants t WHERE t.name <> p.first_name)", 1
            )
            assert [r[0] for r in booked] == ["Ana"]
            rows = await conn.fetch(
                "SELECT p.first_name FROM patients p WHERE p.tenant_id = $1 "
                "AND EXISTS (SELECT 1 WHERE p.first_name IN ('Ana', 'Bruno') "
                "OR p.first_name::int > 0) ORDER BY 1",
                1,
            )
            assert [r[0] for r in rows] == ["Ana", "Bruno"]
    finally:
        await conn.close()


# 3. A count through the session's random generator. On the same key-pinned patients, a
#    condition calling random() runs once per row of every clinic before the join: `random() <
#    length(p.first_name)` advanced the generator three times (Ana, Bruno and Carla), and the
#    session's next random() after a known setseed() told it — clinic 2 has one patient (a
#    `CASE WHEN p.first_name < 'M' THEN random() END` counts the names before 'M': a search of
#    other clinics' values). Refused now (TG013) where PostgreSQL may evaluate the condition
#    before the pin; a random() in the select list, or beside a cheaper pin of the table's own
#    scan, still runs.
COUNTING = {
    "where": KEYED + "random() < length(p.first_name)",
    "case": KEYED + "CASE WHEN p.first_name < 'M' THEN random() ELSE 0 END < 2",
    "subquery": KEYED + "EXISTS (SELECT 1 WHERE random() < length(p.first_name))",
}


async def _draws(dsn: str, conn: Any, query: str | None) -> int:
    """How many times `query` advanced the session's random generator (-1: not told)."""
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute("SELECT setseed(0.25)")
        known = [await owner.fetchval("SELECT random()") for _ in range(10)]
    finally:
        await owner.close()
    # the measuring instrument: a request may not seed the generator (round 31, h31b: no reset
    # reseeds it, the next request's draws would be known), so the test seeds it unscoped
    with unscoped("the test measures the generator"):
        await conn.execute("SELECT setseed(0.25)")
    if query is not None:
        with contextlib.suppress(TenantIsolationError):
            await conn.fetch(query, 1)
    drawn = await conn.fetchval("SELECT random()")
    return known.index(drawn) if drawn in known else -1


@pytest.mark.parametrize("shape", sorted(COUNTING))
async def test_random_counts_no_other_clinics_rows(
    two_clinics: str, tmp_path: Path, shape: str
) -> None:
    await _booked(two_clinics)
    conn = await connect(two_clinics, policy=_keyed_policy(tmp_path))
    try:
        with tenant(1):
            for setting in ("enable_hashjoin", "enable_mergejoin", "enable_indexscan"):
                await conn.execute(f"SET {setting} = off")
            drawn = await _draws(two_clinics, conn, COUNTING[shape])
    finally:
        await conn.close()
    assert drawn in (0, 1, 2)  # none, or clinic 1's rows only (Ana, Bruno): never 3


async def test_random_where_it_sees_the_clinics_rows_only_still_runs(
    two_clinics: str, tmp_path: Path
) -> None:
    """The legitimate twins: random() in the select list of the key-pinned join, and beside the
    cheaper pin of the table's own scan (a sample of the clinic's rows)."""
    await _booked(two_clinics)
    conn = await connect(two_clinics, policy=_keyed_policy(tmp_path))
    try:
        with tenant(1):
            for setting in ("enable_hashjoin", "enable_mergejoin", "enable_indexscan"):
                await conn.execute(f"SET {setting} = off")
            rows = await conn.fetch(
                "SELECT p.first_name, random() FROM appointments a JOIN patients p "
                "ON p.id = a.patient_id WHERE a.tenant_id = $1",
                1,
            )
            assert [r[0] for r in rows] == ["Ana"]
            assert (
                await _draws(
                    two_clinics,
                    conn,
                    "SELECT first_name FROM patients WHERE tenant_id = $1 "
                    "AND random() < length(first_name)",
                )
                == 2
            )  # Ana's and Bruno's rows only
    finally:
        await conn.close()


# 4. A search through an error that does not depend on the row's value. On the same key-pinned
#    patients, `p.first_name < 'C' OR split_part(p.first_name, ',', 0) IS NULL` fails ("field
#    position must not be zero") only where a row takes the second branch: clinic 1's patients
#    (Ana, Bruno) do not, so the error told that another clinic has a patient named from 'C'
#    on — a binary search of other clinics' names. TG013 took the call for one that cannot
#    show a value (its failing argument is a constant). The same on a table pinned by its own
#    column, the pin written last (conditions of equal cost run in the order written), and
#    with a pattern the request binds that does not compile (`regexp_like(first_name, $2)`),
#    and with an uncorrelated scalar subquery of several rows (`first_name = (SELECT name FROM
#    tenants)`: "more than one row returned by a subquery used as an expression") or one whose
#    body may fail (`(SELECT (1 / (id - id))::text FROM tenants LIMIT 1)`).
#    Refused now where a row's value decides whether the call runs (a branch of its
#    condition, or another condition on the same rows) and PostgreSQL may evaluate it before
#    the pin; the same call with an argument it accepts runs.
SEARCHES: dict[str, tuple[str, tuple[object, ...]]] = {
    "or": (KEYED + "(p.first_name < 'C' OR split_part(p.first_name, ',', 0) IS NULL)", (1,)),
    "and": (KEYED + "p.first_name >= 'C' AND split_part(p.first_name, ',', 0) IS NULL", (1,)),
    "case": (
        KEYED + "CASE WHEN p.first_name >= 'C' THEN json_build_object(NULL, p.first_name) "
        "END IS NULL",
        (1,),
    ),
    # a table pinned by its own column, the pin written last: conditions of equal cost run in
    # the order written, so the pin runs after the search (a sequential scan, which the
    # request asks for)
    "plain": (
        "SELECT first_name FROM patients WHERE first_name >= 'C' "
        "AND split_part(first_name, ',', 0) IS NULL AND tenant_id = $1",
        (1,),
    ),
    # an uncorrelated scalar subquery of several rows runs when a row first reaches it
    "plain subquery": (
        "SELECT first_name FROM patients WHERE first_name >= 'C' "
        "AND first_name::text = (SELECT name FROM tenants) AND tenant_id = $1",
        (1,),
    ),
    # … or whose body may fail (on any table: a global one here)
    "plain failing subquery": (
        "SELECT first_name FROM patients WHERE first_name >= 'C' "
        "AND first_name::text = (SELECT (1 / (id - id))::text FROM tenants LIMIT 1) "
        "AND tenant_id = $1",
        (1,),
    ),
    "plain pattern": (
        "SELECT first_name FROM patients WHERE first_name >= 'C' "
        "AND regexp_like(first_name, $2) AND tenant_id = $1",
        (1, "("),
    ),
}


@pytest.mark.parametrize("shape", sorted(SEARCHES))
async def test_an_error_on_a_constant_tells_nothing_of_other_clinics(
    two_clinics: str, tmp_path: Path, shape: str
) -> None:
    await _booked(two_clinics)
    conn = await connect(two_clinics, policy=_keyed_policy(tmp_path))
    failed = ""
    try:
        with tenant(1):
            settings = (
                "enable_hashjoin",
                "enable_mergejoin",
                "enable_indexscan",
                "enable_bitmapscan",
            )
            for setting in settings:
                await conn.execute(f"SET {setting} = off")
            try:
                query, arguments = SEARCHES[shape]
                await conn.fetch(query, *arguments)
            except TenantIsolationError:
                pass
            except asyncpg.PostgresError as error:
                failed = str(error)
    finally:
        await conn.close()
    assert failed == ""  # the error would say: another clinic has a patient from 'C' on


async def test_the_call_with_arguments_it_accepts_still_runs(
    two_clinics: str, tmp_path: Path
) -> None:
    await _booked(two_clinics)
    conn = await connect(two_clinics, policy=_keyed_policy(tmp_path))
    try:
        with tenant(1):
            rows = await conn.fetch(KEYED + "split_part(p.first_name, ',', 1) = 'Ana'", 1)
            assert [r[0] for r in rows] == ["Ana"]
    finally:
        await conn.close()


# 5. A row's place in a condition. TG006 refuses `ctid` (and `xmin`, `xmax`) in a select list:
#    the gaps between a tenant's own rows count other tenants' writes. In a condition it
#    passed, and probing `ctid = '(0,n)'` one place after another told the place of each of
#    clinic 1's rows as well: Ana at (0,1), Bruno at (0,2), the patient the request had just
#    added at (0,4) — (0,3) is another clinic's (Carla). Refused now where the place is
#    compared with a value; `a.ctid < b.ctid` (the order of the clinic's own rows) and
#    `xmax = 0` still run.
async def test_a_rows_place_in_a_condition_tells_nothing_of_other_clinics(
    two_clinics: str,
) -> None:
    from tests.runtime.test_runtime import POLICY as CLINICS

    conn = await connect(two_clinics, policy=CLINICS)
    places: list[int] = []
    try:
        with tenant(1):
            await conn.execute(
                "INSERT INTO patients (tenant_id, first_name, phone_number) "
                "VALUES ($1, 'Dario', '113')",
                1,
            )
            for slot in range(1, 6):
                try:
                    found = await conn.fetch(
                        "SELECT first_name FROM patients WHERE tenant_id = $1 "
                        f"AND ctid = '(0,{slot})'",
                        1,
                    )
                except TenantIsolationError:
                    continue
                if found:
                    places.append(slot)
    finally:
        await conn.close()
    assert places == []  # [1, 2, 4]: the gap at 3 is clinic 2's Carla


async def test_row_places_compared_among_the_clinics_rows_still_run(two_clinics: str) -> None:
    from tests.runtime.test_runtime import POLICY as CLINICS

    conn = await connect(two_clinics, policy=CLINICS)
    try:
        with tenant(1):
            rows = await conn.fetch(
                "SELECT a.first_name FROM patients a JOIN patients b "
                "ON b.tenant_id = a.tenant_id AND a.ctid < b.ctid WHERE a.tenant_id = $1",
                1,
            )
            assert [r[0] for r in rows] == ["Ana"]
            updated = await conn.fetch(
                "UPDATE patients SET phone_number = phone_number WHERE tenant_id = $1 "
                "AND first_name = 'Ana' RETURNING (xmax = 0) AS inserted",
                1,
            )
            assert [r[0] for r in updated] == [False]
    finally:
        await conn.close()


# 6. currtid2('patients', tid): the newest version of the row at a place, whatever its tenant.
#    Clinic 2 updated Carla (her row moved from (0,3)); clinic 1's request asked where the row
#    at (0,3) is now and was told (0,4): another clinic's row there, updated since. Refused now
#    (TG006), as pageinspect's readers of a table's rows are.
async def test_the_newest_version_of_another_clinics_row_is_not_told(two_clinics: str) -> None:
    from tests.runtime.test_runtime import POLICY as CLINICS

    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute("UPDATE patients SET phone_number = '222' WHERE first_name = 'Carla'")
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=CLINICS)
    told: object = None
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            told = await conn.fetchval("SELECT currtid2('patients', '(0,3)'::tid)")
    finally:
        await conn.close()
    assert told is None  # (0, 4): clinic 2's row at (0,3) was updated


# 7. The transaction counter, read without xmin: `age('3'::xid)` is the next transaction id
#    minus 3, and went up by one for each transaction another clinic wrote in between (as
#    `pg_xact_status(n)` tells by "transaction ID n is in the future", and
#    `pg_control_checkpoint()` by its next xid) — what TG006 refuses `txid_current()` and
#    `xmin` for. Refused now.
COUNTERS = {
    "age": "SELECT age('3'::xid)::bigint",
    "status": "SELECT CASE WHEN pg_xact_status('3'::xid8) IS NULL THEN 0 ELSE 1 END",
    "control": "SELECT (pg_control_checkpoint()).checkpoint_lsn IS NOT NULL",
}


@pytest.mark.parametrize("shape", sorted(COUNTERS))
async def test_the_transaction_counter_is_not_read(two_clinics: str, shape: str) -> None:
    from tests.runtime.test_runtime import POLICY as CLINICS

    conn = await connect(two_clinics, policy=CLINICS)
    read: list[object] = []
    try:
        with tenant(1), contextlib.suppress(TenantIsolationError):
            read.append(await conn.fetchval(COUNTERS[shape]))
    finally:
        await conn.close()
    assert read == []


async def test_age_counts_other_clinics_transactions(two_clinics: str) -> None:
    """What the counter tells: two transactions of clinic 2 between two reads of clinic 1."""
    owner = await asyncpg.connect(two_clinics)
    try:
        before = await owner.fetchval("SELECT age('3'::xid)::bigint")
        for phone in ("901", "902"):  # clinic 2's requests
            await owner.execute(
                "INSERT INTO patients (tenant_id, first_name, phone_number) VALUES (2, 'E', $1)",
                phone,
            )
        after = await owner.fetchval("SELECT age('3'::xid)::bigint")
    finally:
        await owner.close()
    assert after - before >= 2


# 8. `LOCK tenants` (the tenant registry, ACCESS EXCLUSIVE unless said otherwise): TG005
#    refuses `SELECT … FROM tenants FOR UPDATE` not pinned to the request's row, which makes
#    the other clinics' writes wait on their foreign keys' checks of the registry; LOCK passed,
#    and clinic 2's insert of a patient waited on clinic 1's request (here until its
#    lock_timeout). Refused now; ACCESS SHARE and ROW SHARE, which no write waits on, run.
async def test_a_request_does_not_lock_the_registry_of_every_clinic(
    two_clinics: str, tmp_path: Path
) -> None:
    conn = await connect(two_clinics, policy=_keyed_policy(tmp_path))
    other = await asyncpg.connect(two_clinics)  # clinic 2's request, elsewhere
    waited = ""
    try:
        with tenant(1):
            await conn.execute("BEGIN")
            with contextlib.suppress(TenantIsolationError):
                await conn.execute("LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE")
            await conn.execute("LOCK TABLE tenants IN ROW SHARE MODE")  # harmless: runs
            await other.execute("SET lock_timeout = '300ms'")
            try:
                await other.execute(
                    "INSERT INTO patients (tenant_id, first_name, phone_number) "
                    "VALUES (2, 'Eva', '224')"
                )
            except asyncpg.LockNotAvailableError as error:
                waited = str(error)
            await conn.execute("ROLLBACK")
    finally:
        await other.close()
        await conn.close()
    assert waited == ""


# 9. `VACUUM FULL` (every table, none named; or the registry) rewrites each table under an
#    ACCESS EXCLUSIVE lock. From clinic 1's request it queued on patients behind a clinic 2
#    transaction, and clinic 2's next read of its own patients waited on it (here until its
#    lock_timeout). Refused now (TG005); a plain VACUUM, which locks no reader out, runs.
async def lock_wait_of_clinic_two(dsn: str, conn: Any, statement: str) -> str:
    """Clinic 1's request sends `statement` on the guarded `conn` (refused, or run) while a
    transaction of clinic 2's holds its patients read; then clinic 2's next read of its own
    patients, under a 300 ms lock_timeout: the error it met, "" when it read. A rewrite's ACCESS
    EXCLUSIVE lock queued on patients behind that transaction holds the read up."""
    holder = await asyncpg.connect(dsn)  # a transaction of clinic 2's
    reader = await asyncpg.connect(dsn)  # clinic 2's next request
    waited = ""
    command: asyncio.Task[Any] | None = None
    try:
        await holder.execute("BEGIN")
        await holder.fetch("SELECT first_name FROM patients WHERE tenant_id = 2")

        async def request() -> None:
            with tenant(1):
                await conn.execute(statement)

        command = asyncio.ensure_future(request())
        for _ in range(100):  # until it waits on patients (or was refused)
            if command.done() or await holder.fetchval(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock'"
                " AND relation = 'patients'::regclass"
            ):
                break
            await asyncio.sleep(0.05)
        await reader.execute("SET lock_timeout = '300ms'")
        try:
            await reader.fetch("SELECT first_name FROM patients WHERE tenant_id = 2")
        except asyncpg.LockNotAvailableError as error:
            waited = str(error)
        await holder.execute("COMMIT")
        with contextlib.suppress(TenantIsolationError):
            await command
    finally:
        if command is not None and not command.done():
            command.cancel()
        await holder.close()
        await reader.close()
    return waited


async def test_a_request_does_not_lock_every_clinic_out_with_vacuum_full(
    two_clinics: str, tmp_path: Path
) -> None:
    conn = await connect(two_clinics, policy=_keyed_policy(tmp_path))
    try:
        waited = await lock_wait_of_clinic_two(two_clinics, conn, "VACUUM FULL")
        with tenant(1):
            await conn.execute("VACUUM patients_id_seq")  # a plain VACUUM runs
    finally:
        await conn.close()
    assert waited == ""
