"""Round 37, helper A: an outside attack on the static proof with a fresh corpus (tenant column
`tenant_key bigint`; a project-management SaaS whose tables are keyed (tenant_key, id) with ids
repeated across accounts, composite foreign keys everywhere — one NOT VALID, one DEFERRABLE, one
only partly composite over a nullable tenant column —, a child by inheritance, a typed table,
a table created LIKE another, events partitioned by range then by list of tenant, arrays and
jsonb documents of ids, a generated column; tests/fixtures/h37a/). Tenant 1 is account 7770001;
7770002 and 7770003 hold other rows in each database. Each statement runs as tenant 1 on both
databases (tests/leak_corpus.py); a LEAK is told by the server, then tenantguard's verdict is
compared.

The corpus (540 statements, 157 LEAK on the server): at 93bdbea 24 LEAKs passed — 5 numeric
constants as the pin (`tenant_key = 7770001.0`), 3 pins by a parameter typed numeric by
another use, 1 EXISTS pin in HAVING, 2 unary plus on the tenant column, 6 failing values of a
LATERAL subquery tested outside it, 3 conditions on the outer row inside an EXISTS or LATERAL
subquery, 2 the same through a LATERAL re-projection or VALUES (classes 1-7 below; VALUES not
fixed), 2 literal ids of account 7770002 (a pin by design) — and 100 of 383 safe statements
were flagged; now 2 pass (the 2 literal; the LATERAL VALUES fixed by h37B, whose 14 statements
make 554, 167 LEAK, 387 safe) and 106 are flagged (+2 unary
plus refused, +2 numeric pins tied with a condition that cannot fail or chained, +2 an IN
subquery / a LATERAL union read as pulled up). Most flagged safe statements leak on other data
(ids repeat across accounts, so a join on `id` alone or a single-column key never pins); the
classes left: row ranges `(tenant_key, id) >= ($1, 0) AND … <= ($1, 100)`, `ARRAY[tenant_key]
&& ARRAY[$1]`, `$1 = ANY (ARRAY[tenant_key])`, a partition bound to one account read
unpinned, a registry `IN (SELECT …)` pin beside a failing condition, `estimate * 0` read as an
overflow, `= $1::bigint` on an integer column (a cross-type operator costed as a cast).
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database
from tests.leak_corpus import codes, judged, load, missed_leaks
from tests.proof.test_schema import policy_for

CORPUS = Path(__file__).parent.parent / "fixtures" / "h37a"


def corpus_policy(tmp_path: Path) -> object:
    corpus = load(CORPUS, "7770001", "7770002", column="tenant_key")
    return policy_for(tmp_path, corpus.schema, tenant_column="tenant_key")


async def test_the_corpus_has_no_missed_leak(postgres: ThrowawayPostgres, tmp_path: Path) -> None:
    """Every statement of tests/fixtures/h37a/corpus.sql that the server shows leaking is an
    error finding (the false alarms are counted in the docstring above, not asserted here)."""
    corpus = load(CORPUS, "7770001", "7770002", column="tenant_key", others=("7770003",))
    policy = corpus_policy(tmp_path)
    verdicts = await judged(postgres, corpus, policy, dump="H37A_DUMP")
    leaks = [v.case for v in verdicts if v.leak]
    assert len(corpus.cases) >= 400 and len(leaks) >= 100
    missed = missed_leaks(verdicts)
    # a literal account id is a pin by design (rules.yaml "pinned by literal"): the statement
    # names the account it writes, 7770002 here, as `tenant_id = 42` does
    assert [m for m in missed if "7770002" not in m] == []
    assert len(missed) == 2, missed


# 1. A pin PostgreSQL makes dearer than it reads: a numeric constant (`7770001.0`, `7e0`,
# `'7770001'::numeric`) compared with the bigint tenant column converts the column on every
# row (int8 -> numeric, numeric_eq): two functions, a tie with `10 / estimate > 1`; on a tie
# PostgreSQL keeps the written order and places the pin's equivalence class last, so it divides
# on every account's rows and fails exactly when another account holds a zero. The proof
# costed the pin one (a literal folded): no finding. Now TG013. Twin: an integer literal.
TIE = """
CREATE TABLE accounts (id bigint PRIMARY KEY);
CREATE TABLE tasks (tenant_key bigint NOT NULL REFERENCES accounts (id), id integer NOT NULL,
  estimate integer NOT NULL, title text NOT NULL, PRIMARY KEY (tenant_key, id));
INSERT INTO accounts VALUES (7770001), (7770002);
INSERT INTO tasks VALUES (7770001, 1, 2, 'mine'), (7770002, 1, 0, 'theirs');
ANALYZE;
"""
DECIMAL_PINS = [
    "SELECT title FROM tasks WHERE tenant_key = 7770001.0 AND 10 / estimate > 1",
    "SELECT title FROM tasks WHERE 10 / estimate > 1 AND tenant_key = 7770001.0",
    "SELECT title FROM tasks WHERE tenant_key = '7770001'::numeric AND 10 / estimate > 1",
    "SELECT title FROM tasks WHERE tenant_key IN (7770001e0) AND 10 / estimate > 1",
]
INTEGER_PIN = "SELECT title FROM tasks WHERE tenant_key = 7770001 AND 10 / estimate > 1"


async def test_a_decimal_pin_divides_on_another_accounts_row(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, TIE) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            assert [tuple(r) for r in await conn.fetch(INTEGER_PIN)] == [("mine",)]
            for sql in DECIMAL_PINS:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetch(sql)
            await conn.execute("UPDATE tasks SET estimate = 1 WHERE tenant_key = 7770002")
            for sql in DECIMAL_PINS:  # the other account's zero is what failed
                assert [tuple(r) for r in await conn.fetch(sql)] == [("mine",)]
        finally:
            await conn.close()


def test_a_decimal_pin_is_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, TIE, tenant_column="tenant_key")
    for sql in DECIMAL_PINS:
        assert codes(sql, policy) == ["TG013"], sql
    assert codes(INTEGER_PIN, policy) == []


# 2. The same class by the parameter: PostgreSQL types `$1` once, by its first use (the select
# list is parsed before the WHERE): `$1 + 0.5`, `$1::numeric`, `points <> $1` (a numeric
# column) make it numeric, and `tenant_key = $1` then converts the column on every row: the
# same tie, the same division on the other account's zero. Twin: `$1 + 1` types it an integer.
PARAMETER_PINS = [
    "SELECT $1 + 0.5 AS x, title FROM tasks WHERE tenant_key = $1 AND 10 / estimate > 1",
    "SELECT title FROM tasks WHERE $1::numeric > 0 AND tenant_key = $1 AND 10 / estimate > 1",
]
INTEGER_PARAMETER = (
    "SELECT $1 + 1 AS x, title FROM tasks WHERE tenant_key = $1 AND 10 / estimate > 1"
)
# the pin's own use first (the WHERE from left to right): $1 is a bigint when `$1 <> 1.5` meets it
LATER_USE = "SELECT title FROM tasks WHERE tenant_key = $1 AND 10 / estimate > 1 AND $1 <> 1.5"


async def test_a_numeric_parameter_divides_on_another_accounts_row(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, TIE) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in (INTEGER_PARAMETER, LATER_USE):
                assert [r["title"] for r in await conn.fetch(sql, 7770001)] == ["mine"]
            for sql in PARAMETER_PINS:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetch(sql, 7770001)
            await conn.execute("UPDATE tasks SET estimate = 1 WHERE tenant_key = 7770002")
            for sql in PARAMETER_PINS:
                assert [r["title"] for r in await conn.fetch(sql, 7770001)] == ["mine"]
        finally:
            await conn.close()


def test_a_numeric_parameter_is_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, TIE, tenant_column="tenant_key")
    for sql in PARAMETER_PINS:
        assert codes(sql, policy) == ["TG013"], sql
    assert codes(INTEGER_PARAMETER, policy) == []
    assert codes(LATER_USE, policy) == []


# 3. An EXISTS pin in HAVING: PostgreSQL moves a HAVING condition to WHERE only when it holds
# no subquery, so `HAVING EXISTS (SELECT 1 FROM accounts a WHERE a.id = $1 AND a.id =
# tenant_key)` filters the groups after `sum(10 / estimate)` ran over every account's rows;
# the proof labelled the pin "EXISTS in HAVING" and its checks looked for "HAVING" only: no
# finding. Twins: the plain HAVING pin (moved to WHERE), a count (cannot fail).
HAVING_EXISTS = (
    "SELECT tenant_key, sum(10 / estimate) FROM tasks GROUP BY tenant_key"
    " HAVING EXISTS (SELECT 1 FROM accounts a WHERE a.id = $1 AND a.id = tenant_key)"
)
HAVING_PLAIN = (
    "SELECT tenant_key, sum(10 / estimate) FROM tasks GROUP BY tenant_key HAVING tenant_key = $1"
)
HAVING_COUNT = (
    "SELECT tenant_key, count(*) FROM tasks GROUP BY tenant_key"
    " HAVING EXISTS (SELECT 1 FROM accounts a WHERE a.id = $1 AND a.id = tenant_key)"
)


async def test_an_exists_in_having_sums_every_accounts_rows(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, TIE) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            assert [tuple(r) for r in await conn.fetch(HAVING_PLAIN, 7770001)] == [(7770001, 5)]
            assert [tuple(r) for r in await conn.fetch(HAVING_COUNT, 7770001)] == [(7770001, 1)]
            with pytest.raises(asyncpg.DivisionByZeroError):
                await conn.fetch(HAVING_EXISTS, 7770001)
            await conn.execute("UPDATE tasks SET estimate = 1 WHERE tenant_key = 7770002")
            assert [tuple(r) for r in await conn.fetch(HAVING_EXISTS, 7770001)] == [(7770001, 5)]
        finally:
            await conn.close()


def test_an_exists_in_having_is_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, TIE, tenant_column="tenant_key")
    assert codes(HAVING_EXISTS, policy) == ["TG013"]
    assert codes(HAVING_PLAIN, policy) == []
    assert codes(HAVING_COUNT, policy) == []


# 4. A built-in that changes the server's state, missing from TG013's list of side effects:
# `pg_replication_origin_create('probe') IS NOT NULL` (one unit, a tie with the pin, written
# first) runs once per row of every account before the pin; the second run fails ("duplicate
# key"), so tenant 1's read fails exactly when another account has a row (a count of their
# rows); with a row's value it leaves each title in pg_replication_origin, a shared catalog.
# A call reading no column was not seen as one that may fail or count rows: no finding; now
# TG013 (so are statistics resets, WAL switches, slots…). Twin: the select list of the pinned
# block (after the filter).
ORIGIN_BEFORE = (
    "SELECT title FROM tasks WHERE pg_replication_origin_create('probe') IS NOT NULL"
    " AND tenant_key = $1"
)
ORIGIN_AFTER = "SELECT pg_replication_origin_create('probe') FROM tasks WHERE tenant_key = $1"


async def test_a_replication_origin_per_row_counts_another_accounts_rows(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, TIE) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            tx = conn.transaction()
            await tx.start()
            try:
                with pytest.raises(asyncpg.UniqueViolationError):
                    await conn.fetch(ORIGIN_BEFORE, 7770001)
            finally:
                await tx.rollback()  # the catalog rows go with it
            for sql, deleted in ((ORIGIN_AFTER, False), (ORIGIN_BEFORE, True)):
                tx = conn.transaction()
                await tx.start()
                try:
                    if deleted:
                        await conn.execute("DELETE FROM tasks WHERE tenant_key = 7770002")
                    assert len(await conn.fetch(sql, 7770001)) == 1
                finally:
                    await tx.rollback()
        finally:
            await conn.close()


def test_a_replication_origin_is_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, TIE, tenant_column="tenant_key")
    assert codes(ORIGIN_BEFORE, policy) == ["TG013"]
    assert codes(ORIGIN_AFTER, policy) == []


# 5. A unary plus on the tenant column: sqlglot keeps no node for it (the proof read
# `tenant_key = $1`), PostgreSQL runs int8up on every row: `+tenant_key = $1` costs two units
# and is no equality of the bare column, so `10 / estimate > 1` (two units) ran first on every
# account's rows. Now refused as read differently (TG006), as `+$1` already was. Twins: a
# unary plus before a number (folded), a binary plus.
PLUS_PINS = [
    "SELECT title FROM tasks WHERE +tenant_key = $1 AND 10 / estimate > 1",
    "SELECT title FROM tasks WHERE 10 / estimate > 1 AND +tenant_key = $1",
]
PLUS_TWINS = [
    "SELECT title FROM tasks WHERE tenant_key = $1 AND 10 / estimate > +1",
    "SELECT title FROM tasks WHERE tenant_key = $1 AND 10 / estimate + 1 > 1",
]


async def test_a_unary_plus_divides_on_another_accounts_row(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, TIE) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in PLUS_PINS:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetch(sql, 7770001)
            for sql in PLUS_TWINS:
                assert [r["title"] for r in await conn.fetch(sql, 7770001)] == ["mine"]
        finally:
            await conn.close()


def test_a_unary_plus_is_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, TIE, tenant_column="tenant_key")
    for sql in PLUS_PINS:
        assert codes(sql, policy) == ["TG006"], sql
    for sql in PLUS_TWINS:
        assert codes(sql, policy) == [], sql


# 6. A failing value of a LATERAL subquery tested outside it: PostgreSQL pulls up `LATERAL
# (SELECT 10 / t.estimate AS r) x` (no FROM, row by row), so `x.r IS NOT NULL` (in the WHERE,
# or in the LATERAL join's ON) is `10 / t.estimate IS NOT NULL`, one unit on the scan of tasks,
# tied with the pin and run first on every account's rows. The proof followed such a value out
# of a derived table's own sources only, not the outer row a LATERAL body reads: no finding.
# Twins: OFFSET 0 keeps the subquery whole (run on pinned rows), a test dearer than the pin.
LATERAL_TESTS = [
    "SELECT t.title FROM tasks t, LATERAL (SELECT 10 / t.estimate AS r) x"
    " WHERE t.tenant_key = $1 AND x.r IS NOT NULL",
    "SELECT t.title FROM tasks t JOIN LATERAL (SELECT 10 / t.estimate AS r) x"
    " ON x.r IS NOT NULL WHERE t.tenant_key = $1",
]
LATERAL_TWINS = [
    "SELECT t.title FROM tasks t, LATERAL (SELECT 10 / t.estimate AS r OFFSET 0) x"
    " WHERE t.tenant_key = $1 AND x.r IS NOT NULL",
    "SELECT t.title FROM tasks t, LATERAL (SELECT 10 / t.estimate AS r) x"
    " WHERE t.tenant_key = $1 AND x.r + 1 > 0",
]


async def test_a_lateral_value_divides_on_another_accounts_row(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, TIE) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in LATERAL_TESTS:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetch(sql, 7770001)
            for sql in LATERAL_TWINS:
                assert [r["title"] for r in await conn.fetch(sql, 7770001)] == ["mine"]
        finally:
            await conn.close()


def test_a_lateral_value_is_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, TIE, tenant_column="tenant_key")
    for sql in LATERAL_TESTS:
        assert codes(sql, policy) == ["TG013"], sql
    for sql in LATERAL_TWINS:
        assert codes(sql, policy) == [], sql


# 7. A condition on the outer row written inside a subquery PostgreSQL pulls up: an EXISTS
# conjunct (a semi join) or a LATERAL item whose WHERE reads only the outer row — `(10 /
# t.estimate) IS NOT NULL` joins the scan of tasks, one unit, tied with the pin and run first.
# The proof judged the condition in the subquery's block, whose own sources it does not read:
# no finding. So too a LATERAL re-projection of the column (`LATERAL (SELECT t.estimate AS e)
# x … (10 / x.e) IS NOT NULL`: pulled up, x.e is t.estimate). Twins: a condition that also
# reads the subquery's own rows (a join's, after the pin), the re-projection kept whole by
# OFFSET 0. The value computed in a LATERAL VALUES: fixed by h37B (test_h37B_proof.py).
INNER_TESTS = [
    "SELECT t.title FROM tasks t WHERE t.tenant_key = $1"
    " AND EXISTS (SELECT 1 FROM plans p WHERE (10 / t.estimate) IS NOT NULL)",
    "SELECT t.title FROM tasks t, LATERAL (SELECT p.id FROM plans p"
    " WHERE (10 / t.estimate) IS NOT NULL AND p.id = 1) x WHERE t.tenant_key = $1",
]
INNER_TWINS = [
    "SELECT t.title FROM tasks t WHERE t.tenant_key = $1"
    " AND EXISTS (SELECT 1 FROM plans p WHERE p.id = 10 / t.estimate)",
    "SELECT t.title FROM tasks t, LATERAL (SELECT t.estimate AS e OFFSET 0) x"
    " WHERE t.tenant_key = $1 AND (10 / x.e) IS NOT NULL",
]
INNER_TESTS.append(
    "SELECT t.title FROM tasks t, LATERAL (SELECT t.estimate AS e) x"
    " WHERE t.tenant_key = $1 AND (10 / x.e) IS NOT NULL"
)
REPROJECTED = [
    "SELECT t.title FROM tasks t, LATERAL (VALUES (10 / t.estimate)) x(r)"
    " WHERE t.tenant_key = $1 AND x.r IS NOT NULL",
]
PLANS = TIE + "CREATE TABLE plans (id integer PRIMARY KEY); INSERT INTO plans VALUES (1), (5);"


async def test_an_inner_condition_divides_on_another_accounts_row(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, PLANS) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in INNER_TESTS + REPROJECTED:
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetch(sql, 7770001)
            for sql in INNER_TWINS:
                assert [r["title"] for r in await conn.fetch(sql, 7770001)] == ["mine"]
        finally:
            await conn.close()


def test_an_inner_condition_is_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, PLANS, tenant_column="tenant_key")
    for sql in INNER_TESTS:
        assert codes(sql, policy) == ["TG013"], sql
    for sql in INNER_TWINS:
        assert codes(sql, policy) == [], sql


def test_a_lateral_values_value_is_judged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, PLANS, tenant_column="tenant_key")
    assert [codes(sql, policy) for sql in REPROJECTED] == [["TG013"]]
