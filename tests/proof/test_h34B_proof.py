"""Round 34, helper B: false alarms of the static proof on ~300 SAFE statements of a multi-tenant
SaaS backend (tests/h34B_corpus.py: billing, ticketing, CRM, analytics, job queues, audit logs).

Each statement is safe by the server's word: run as superuser with $1 = account 1, and as a
non-owner role under FORCE ROW LEVEL SECURITY (`account_id = current_setting('app.account')::
bigint`), it returns the same rows and leaves every table the same (each run in a transaction
rolled back). Then the proof runs on each, with the policy read from the same schema: every error
finding on one of them is a false alarm. Those left are listed in UNPROVEN with why: the finding's
message must tell the user what to write instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import fresh_database
from tests.h34B_corpus import CORPUS, DATA, ROLE, SCHEMA, TENANT_TABLES, rls_sql
from tests.proof.test_schema import policy_for

ALL_TABLES = ["plans", "accounts", *TENANT_TABLES]
# every table's rows, as one text per table (the state a statement leaves)
STATE = " UNION ALL ".join(
    f"SELECT '{t}', coalesce(string_agg(x::text, ';' ORDER BY x::text), '') FROM {t} x"
    for t in ALL_TABLES
)

# statements still flagged, with why no sound refinement proves them (name -> reason)
# (round 35, h35B: "move tickets to archive", an INSERT with no column list, is proven by the
# column order the schema sources show)
UNPROVEN: dict[str, tuple[str, str]] = {}


@pytest.fixture
async def db(postgres: ThrowawayPostgres) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(postgres, SCHEMA + DATA + rls_sql()) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            yield conn
        finally:
            await conn.close()


def _rows(records: list[Any]) -> list[str]:
    return sorted(repr(tuple(r)) for r in records)


async def run(
    conn: asyncpg.Connection, sql: str, args: tuple[object, ...], *, rls: bool
) -> tuple[list[str], list[tuple[str, str]]]:
    """The rows `sql` returns with $1 = account 1, and every table's rows after it (rolled
    back): as superuser, or as the non-owner role under the tenant policy."""
    await conn.execute("SELECT setval('audit_log_id_seq', 1000, false)")
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute("SET LOCAL app.account = '1'")
        if rls:
            await conn.execute(f"SET LOCAL ROLE {ROLE}")
        rows = _rows(await conn.fetch(sql, 1, *args))
        await conn.execute("RESET ROLE")
        state = [(r[0], r[1]) for r in await conn.fetch(STATE)]
    finally:
        await tx.rollback()
    return rows, state


async def test_every_corpus_statement_is_safe_on_the_server(db: asyncpg.Connection) -> None:
    unsafe = []
    for name, sql, args in CORPUS:
        try:
            plain = await run(db, sql, args, rls=False)
        except asyncpg.PostgresError as error:
            unsafe.append((name, "fails", repr(error)))
            continue
        try:
            secured = await run(db, sql, args, rls=True)
        except asyncpg.PostgresError as error:
            unsafe.append((name, "fails under RLS", repr(error)))
            continue
        if plain != secured:
            unsafe.append((name, plain, secured))
    assert unsafe == []


def test_the_proof_accepts_the_corpus(tmp_path: Path) -> None:
    policy = policy_for(
        tmp_path,
        SCHEMA,
        tenant_column="account_id",
        tenant_expressions=("current_setting('app.account')",),
    )
    flagged = {}
    for name, sql, _ in CORPUS:
        found = [
            f
            for f in analyze_statement(sql, policy).findings  # type: ignore[arg-type]
            if f.severity == "error"
        ]
        if found:
            flagged[name] = found
    assert sorted(flagged) == sorted(UNPROVEN), {
        n: [f.message for f in v] for n, v in flagged.items()
    }
    # what is left tells the user what to write instead
    for name, (code, told) in UNPROVEN.items():
        assert [f.code for f in flagged[name]] == [code]
        assert told in flagged[name][0].help, flagged[name][0].help


# ---------------------------------------------------------------- a batch by ctid
# `ctid` tells a row apart in its table's one heap: a plain table's batch by ctid deletes only
# the pinned subquery's rows. A partitioned table's partitions (an inheritance tree's tables)
# each number their own pages: (0,1) is a row of every one, and the batch reaches other tenants'.
PLACES = """
CREATE TABLE plain_log (account_id bigint NOT NULL, id bigint PRIMARY KEY, msg text);
CREATE TABLE part_log (account_id bigint NOT NULL, id bigint, msg text) PARTITION BY LIST (account_id);
CREATE TABLE part_log_1 PARTITION OF part_log FOR VALUES IN (1);
CREATE TABLE part_log_2 PARTITION OF part_log FOR VALUES IN (2);
CREATE TABLE base_log (account_id bigint NOT NULL, id bigint, msg text);
CREATE TABLE child_log (extra text) INHERITS (base_log);
"""
PLACES_DATA = """
INSERT INTO plain_log VALUES (2, 20, 'theirs'), (1, 10, 'mine'), (1, 11, 'mine too');
INSERT INTO part_log VALUES (2, 20, 'theirs'), (1, 10, 'mine');
INSERT INTO base_log VALUES (1, 10, 'mine');
INSERT INTO child_log VALUES (2, 20, 'theirs', NULL);
"""
BATCHES = (
    "DELETE FROM {t} WHERE ctid IN (SELECT ctid FROM {t} WHERE account_id = $1 LIMIT 100) "
    "RETURNING account_id",
    "DELETE FROM {t} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {t} WHERE account_id = $1 "
    "LIMIT 100)) RETURNING account_id",
    "WITH batch AS (SELECT ctid FROM {t} WHERE account_id = $1 LIMIT 100) "
    "DELETE FROM {t} x USING batch WHERE x.ctid = batch.ctid RETURNING x.account_id",
    "UPDATE {t} SET msg = 'gone' WHERE ctid IN (SELECT ctid FROM {t} WHERE account_id = $1 "
    "LIMIT 100) RETURNING account_id",
)


async def test_a_batch_by_ctid_is_one_tenants_in_a_plain_table_only(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, PLACES + PLACES_DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for batch in BATCHES:
                for table, tenants in (
                    ("plain_log", [1, 1]),
                    ("part_log", [1, 2]),  # (0,1) of each partition
                    ("base_log", [1, 2]),  # (0,1) of the parent and of the child
                ):
                    tx = conn.transaction()
                    await tx.start()
                    try:
                        rows = await conn.fetch(batch.format(t=table), 1)
                        assert sorted(r[0] for r in rows) == tenants, (batch, table)
                    finally:
                        await tx.rollback()
        finally:
            await conn.close()


def test_a_batch_by_ctid_pins_in_a_plain_table_only(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, PLACES, tenant_column="account_id")

    def codes(sql: str) -> list[str]:
        return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]

    for batch in BATCHES:
        assert codes(batch.format(t="plain_log")) == [], batch
        for table in ("part_log", "base_log"):
            assert "TG001" in codes(batch.format(t=table)), (batch, table)
    # the CTE's ctids read out: TG006, whose help tells how to write the batch
    returned = BATCHES[2].format(t="plain_log").replace("RETURNING x.account_id", "RETURNING *")
    found = [f for f in analyze_statement(returned, policy).findings if f.code == "TG006"]  # type: ignore[arg-type]
    assert found and "WHERE ctid IN (SELECT ctid FROM t" in found[0].help
    # renamed, the table keeps no ctid key (fail closed)
    renamed = policy_for(
        tmp_path, PLACES + "ALTER TABLE plain_log RENAME TO plain_log2;", tenant_column="account_id"
    )
    assert "TG001" in [
        f.code
        for f in analyze_statement(BATCHES[0].format(t="plain_log2"), renamed).findings  # type: ignore[arg-type]
    ]


# ---------------------------------------------------------------- a recursive CTE by a key
# A tree walked by its composite key `(account_id, parent_id) REFERENCES nodes (account_id, id)`
# without carrying account_id: the anchor's rows are pinned; a step's row is one whose key points
# at a row of the CTE, so of that row's tenant (induction on the depth). Twins: a single-column
# key (a tenant 2 folder under a tenant 1 folder), a step passing another row's id (found by name).
TREES = """
CREATE TABLE nodes (account_id bigint NOT NULL, id bigint PRIMARY KEY, parent_id bigint,
  name text, UNIQUE (account_id, id),
  FOREIGN KEY (account_id, parent_id) REFERENCES nodes (account_id, id));
CREATE TABLE folders (account_id bigint NOT NULL, id bigint PRIMARY KEY,
  parent_id bigint REFERENCES folders (id), name text);
"""
TREES_DATA = """
INSERT INTO nodes VALUES (1, 1, NULL, 'root 1'), (1, 2, 1, 'child'), (2, 3, NULL, 'root 2'),
  (2, 4, 3, 'child');
INSERT INTO folders VALUES (1, 1, NULL, 'mine'), (2, 2, 1, 'theirs under mine');
"""
DOWN = (
    "WITH RECURSIVE tree AS (SELECT id, name FROM {t} WHERE account_id = $1 AND id = $2 "
    "UNION ALL SELECT c.id, c.name FROM {t} c JOIN tree t ON c.parent_id = t.id) "
    "SELECT name FROM tree"
)
UP = (
    "WITH RECURSIVE up AS (SELECT id, parent_id, name FROM nodes WHERE account_id = $1 AND "
    "id = $2 UNION ALL SELECT c.id, c.parent_id, c.name FROM nodes c JOIN up ON c.id = "
    "up.parent_id) SELECT name FROM up"
)
BY_NAME = (
    "WITH RECURSIVE tree AS (SELECT id, name FROM nodes WHERE account_id = $1 AND id = $2 "
    "UNION ALL SELECT c2.id, c2.name FROM nodes c JOIN tree t ON c.parent_id = t.id "
    "JOIN nodes c2 ON c2.name = c.name) SELECT name FROM tree"
)


async def test_a_recursive_cte_by_a_composite_key_reads_one_tenant(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, TREES + TREES_DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            fetch = conn.fetch
            assert sorted(r[0] for r in await fetch(DOWN.format(t="nodes"), 1, 1)) == [
                "child",
                "root 1",
            ]
            assert sorted(r[0] for r in await fetch(UP, 1, 2)) == ["child", "root 1"]
            # the twins reach tenant 2's rows
            assert sorted(r[0] for r in await fetch(DOWN.format(t="folders"), 1, 1)) == [
                "mine",
                "theirs under mine",
            ]
            assert len(await fetch(BY_NAME, 1, 1)) == 3  # root 1, child of 1, child of 2
        finally:
            await conn.close()


def test_a_recursive_cte_by_a_composite_key_pins(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, TREES, tenant_column="account_id")

    def codes(sql: str) -> list[str]:
        return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]

    assert codes(DOWN.format(t="nodes")) == []
    assert codes(UP) == []
    assert codes(DOWN.format(t="folders")) == ["TG001"]
    assert codes(BY_NAME) == ["TG001", "TG001"]
    # the anchor unpinned; a step joined by name; a second anchor of any tenant
    assert "TG001" in codes(DOWN.format(t="nodes").replace("account_id = $1 AND ", ""))
    assert "TG001" in codes(DOWN.format(t="nodes").replace("c.parent_id = t.id", "c.name = t.name"))
    two_anchors = DOWN.format(t="nodes").replace(
        " UNION ALL SELECT c.id",
        " UNION ALL SELECT id, name FROM nodes WHERE id = $3 UNION ALL SELECT c.id",
    )
    assert "TG001" in codes(two_anchors)


# ---------------------------------------------------------------- a referencing row by a semi-join
# `WHERE customer_id IN (SELECT id FROM customers WHERE account_id = $1)`: the composite key
# points at the subquery's customer, whose tenant the row has — where its tenant column is NOT
# NULL: MATCH SIMPLE checks no row whose tenant column is NULL, which may point anywhere.
REFERENCING = """
CREATE TABLE customers (account_id bigint NOT NULL, id bigint PRIMARY KEY, UNIQUE (account_id, id));
CREATE TABLE orders (account_id bigint NOT NULL, id bigint PRIMARY KEY, customer_id bigint,
  FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id));
CREATE TABLE drafts (account_id bigint, id bigint PRIMARY KEY, customer_id bigint,
  FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id));
"""
REFERENCING_DATA = """
INSERT INTO customers VALUES (1, 11), (2, 21);
INSERT INTO orders VALUES (1, 101, 11), (2, 201, 21);
INSERT INTO drafts VALUES (1, 101, 11), (NULL, 301, 11);  -- of no tenant, pointing at 1's
"""
BY_SEMI_JOIN = (
    "SELECT id FROM {t} WHERE customer_id IN (SELECT id FROM customers WHERE account_id = $1)"
)


async def test_a_referencing_row_by_a_semi_join_is_the_tenants_where_not_null(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, REFERENCING + REFERENCING_DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            assert [r[0] for r in await conn.fetch(BY_SEMI_JOIN.format(t="orders"), 1)] == [101]
            rows = await conn.fetch(BY_SEMI_JOIN.format(t="drafts") + " ORDER BY id", 1)
            assert [r[0] for r in rows] == [101, 301]  # 301: a row of no tenant
        finally:
            await conn.close()


def test_a_referencing_row_by_a_semi_join_pins_where_not_null(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, REFERENCING, tenant_column="account_id")

    def codes(sql: str) -> list[str]:
        return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]

    assert codes(BY_SEMI_JOIN.format(t="orders")) == []
    assert codes(BY_SEMI_JOIN.format(t="drafts")) == ["TG001"]
    assert codes(BY_SEMI_JOIN.format(t="orders").replace(" IN ", " NOT IN ")) == ["TG001"]
