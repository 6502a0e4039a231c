"""Round 31, outside attack g, on round 31's acceptances (tests/proof/test_h31e_proof.py's schema:
tenant column `org_id`, organisation 1 the request's, 2 the victim, whose task is titled from
'M' on).

1. TG013, a SubPlan held above a set operation (c7f3a58): a reader's condition that is itself
   an EXISTS, an IN or an `op ANY` of a subquery was read as held above a UNION (a SubPlan or
   a semi-join). PostgreSQL pulls such a condition up into a semi-join, and each of its
   conditions reading the reader's row but none of the subquery's own tables is a plain
   filter of the reader, pushed into the branches' scans before the pin:
   `EXISTS (SELECT 1 FROM orgs o WHERE d.s IS NULL)`, `EXISTS (SELECT 1 FROM (SELECT 1) x
   WHERE d.s IS NULL)`, `(d.s IS NULL) IN (SELECT true)` failed on the victim's task
   (split_part's position 0), accepted.
2. TG001, a USING column merged in another type (bbc1f42, 397e419 and older): PostgreSQL
   merges `USING (org_id)` in the two columns' common type, so beside a `real` column (a table
   whose org_id is real, a derived table's or VALUES' cast) the merged `org_id` / `j.org_id`
   is `t.org_id::real`, where organisation 16777217 equals 16777216: `tasks t LEFT JOIN
   org_stats s USING (org_id) WHERE org_id = $1`, `tasks t FULL JOIN (SELECT 0.5::real AS
   org_id) p USING (org_id) AS j WHERE j.org_id = $1` returned the victim's task, accepted.
3. TG013, spanning keys (107597d, and the runtime's SPANNING_QUERY): a unique key of a
   partition or of an inheriting table checks the writes of its parent (an INSERT routed into
   the partition, an UPDATE without ONLY reaching the child), but the keys were kept by the
   table holding the index only: `INSERT INTO pusers … VALUES ($1, $2, 'victim@x')` failed
   with pusers_1_email_idx, `UPDATE users SET email = 'victim@x' WHERE org_id = $1 AND id =
   $2` with kusers_email_key, both passed (statically and at run time).
4. Runtime, the random generator's seed (1a8a439 refused setseed() only): PostgreSQL's `seed`
   setting calls setseed() when set, and no reset reseeds: clinic 1's request ran `SET seed
   = 0.42` (or `SET LOCAL seed`, `set_config('seed', '0.42', false)`), and clinic 2's next
   request on the pooled connection made the token clinic 1 computes on its own connection.
5. TG013, spanning keys through a view (107597d and the runtime): PostgreSQL writes through a
   single-table view to its table, whose keys check the value: `UPDATE member_view SET mail =
   'victim@x' WHERE org_id = $1 AND id = $2` (a view renaming email) failed with
   vmembers_email_key, and passed statically and at run time (keys were kept by table only).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database
from tests.proof import test_attack29a_proof as r29
from tests.proof import test_h31e_proof as h31e


@pytest.fixture
async def labelled(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, h31e.SCHEMA + h31e.DATA) as dsn:
        yield dsn


# ---------------------------------------------------------------- 1. a semi-join's own filter
PULLED_UP = {
    "exists, a table, a condition of the reader's alone": h31e._SET.format(
        "UNION", "EXISTS (SELECT 1 FROM orgs o WHERE d.s IS NULL AND o.name IS NOT NULL)"
    ),
    "exists from a FROM-less subquery": h31e._SET.format(
        "UNION", "EXISTS (SELECT 1 FROM (SELECT 1) x WHERE d.s IS NULL)"
    ),
    "exists from values": h31e._SET.format(
        "INTERSECT", "EXISTS (SELECT FROM (VALUES (1)) x WHERE d.s IS NULL)"
    ),
    "in, a constant list item": h31e._SET.format("UNION", "(d.s IS NULL) IN (SELECT true)"),
    "in, a derived table's constant": h31e._SET.format(
        "UNION", "(d.s IS NULL) IN (SELECT y.t FROM (SELECT true AS t) y)"
    ),
}


def test_a_pulled_up_subquery_is_no_subplan(tmp_path: Path) -> None:
    for shape, sql in PULLED_UP.items():
        assert h31e._codes(sql, tmp_path) == ["TG013"], shape
    for shape, sql in h31e.HELD_ABOVE.items():  # still accepted: a join above the branches
        assert h31e._codes(sql, tmp_path) == [], shape


async def test_a_pulled_up_subquery_fails_on_the_victims_row(labelled: str) -> None:
    conn = await asyncpg.connect(labelled)
    try:
        await r29._scan_only(conn)
        for shape, sql in PULLED_UP.items():
            with pytest.raises(asyncpg.InvalidParameterValueError):  # split_part's position 0
                await conn.fetch(sql, 1)
            transaction = conn.transaction()
            await transaction.start()
            try:  # the victim's task titled before 'M': no row reaches the filter
                await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
                assert await conn.fetch(sql, 1) == [], shape
            finally:
                await transaction.rollback()
    finally:
        await conn.close()


# ---------------------------------------------------------------- 2. a merged column of another type
MERGED_SCHEMA = h31e.SCHEMA + "CREATE TABLE org_stats (org_id real NOT NULL, hits int);\n"
BIG = """
INSERT INTO orgs VALUES (16777216, 'Big own'), (16777217, 'Big victim');
INSERT INTO projects VALUES (16777216, 10, 'Own project'), (16777217, 20, 'VICTIM project');
INSERT INTO tasks VALUES (16777216, 100, 10, 'Own task', 1), (16777217, 200, 20, 'VICTIM task', 2);
"""
MERGED_LOSSY = {
    "a real table, left join": (
        "SELECT t.title FROM tasks t LEFT JOIN org_stats s USING (org_id) WHERE org_id = $1"
    ),
    "a derived real, full join alias": (
        "SELECT t.title FROM tasks t FULL JOIN (SELECT 0.5::real AS org_id) p "
        "USING (org_id) AS j WHERE j.org_id = $1"
    ),
    "a derived real, full join": (
        "SELECT t.title FROM tasks t FULL JOIN (SELECT 0.5::real AS org_id) p "
        "USING (org_id) WHERE org_id = $1"
    ),
    "values, full join": (
        "SELECT t.title FROM tasks t FULL JOIN (VALUES (0.5::real)) p(org_id) "
        "USING (org_id) WHERE org_id = $1"
    ),
}
MERGED_EXACT = {
    "a table, left join": (
        "SELECT t.title FROM tasks t LEFT JOIN projects p USING (org_id) WHERE org_id = $1"
    ),
    "a derived table's own column, full join alias": (
        "SELECT t.title FROM tasks t FULL JOIN (SELECT org_id FROM projects) p "
        "USING (org_id) AS j WHERE j.org_id = $1"
    ),
}


@pytest.fixture
async def big(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, MERGED_SCHEMA + h31e.DATA + BIG) as dsn:
        yield dsn


def _merged_codes(sql: str, tmp_path: Path) -> list[str]:
    from tenantguard.engine.analyze import analyze_statement
    from tests.proof.test_schema import policy_for

    policy = policy_for(tmp_path, MERGED_SCHEMA, tenant_column="org_id")
    return sorted({f.code for f in analyze_statement(sql, policy).findings})  # type: ignore[arg-type]


def test_a_column_merged_in_another_type_pins_nothing(tmp_path: Path) -> None:
    for shape, sql in MERGED_LOSSY.items():
        assert _merged_codes(sql, tmp_path) == ["TG001"], shape
    for shape, sql in MERGED_EXACT.items():
        assert _merged_codes(sql, tmp_path) == [], shape


async def test_a_column_merged_in_real_returns_the_victims_task(big: str) -> None:
    conn = await asyncpg.connect(big)
    try:
        await conn.execute("INSERT INTO org_stats VALUES (16777216, 5)")
        for shape, sql in MERGED_LOSSY.items():
            titles = sorted(r["title"] for r in await conn.fetch(sql, 16777216))
            assert titles == ["Own task", "VICTIM task"], shape
        for shape, sql in MERGED_EXACT.items():
            assert [r["title"] for r in await conn.fetch(sql, 16777216)] == ["Own task"], shape
    finally:
        await conn.close()


# ---------------------------------------------------------------- 3. keys of partitions and children
FAMILY_SCHEMA = """
CREATE TABLE orgs (id int PRIMARY KEY, name text);
CREATE TABLE pusers (org_id int NOT NULL, id int, email text) PARTITION BY RANGE (id);
CREATE TABLE pusers_low PARTITION OF pusers FOR VALUES FROM (0) TO (1000);
CREATE UNIQUE INDEX ON pusers_low (email);
CREATE TABLE users (org_id int NOT NULL, id int, email text, PRIMARY KEY (org_id, id));
CREATE TABLE staff (UNIQUE (email)) INHERITS (users);
"""
FAMILY_DATA = """
INSERT INTO orgs VALUES (1, 'Own org'), (2, 'Victim org');
INSERT INTO pusers VALUES (2, 20, 'victim@x');
INSERT INTO staff VALUES (1, 10, 'own@x'), (2, 20, 'victim@x');
"""
FAMILY_WRITES = {
    "a partition's key": "INSERT INTO pusers (org_id, id, email) VALUES ($1, $2, $3)",
    "a child's key": "UPDATE users SET email = $3 WHERE org_id = $1 AND id = $2",
}


@pytest.fixture
async def family(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, FAMILY_SCHEMA + FAMILY_DATA) as dsn:
        yield dsn


def _family_policy(tmp_path: Path) -> object:
    from tests.proof.test_schema import policy_for

    return policy_for(tmp_path, FAMILY_SCHEMA, tenant_column="org_id")


def test_a_key_of_a_partition_or_child_checks_the_parents_writes(tmp_path: Path) -> None:
    from tenantguard.engine.analyze import analyze_statement

    policy = _family_policy(tmp_path)
    for shape, sql in FAMILY_WRITES.items():
        codes = sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]
        assert codes == ["TG013"], shape


async def test_a_key_of_a_partition_or_child_fails_the_parents_write(
    family: str, tmp_path: Path
) -> None:
    from tenantguard import Policy, TenantIsolationError
    from tenantguard.runtime import connect, tenant
    from tenantguard.runtime.schema_code import SPANNING_QUERY, spanning_keys

    conn = await asyncpg.connect(family)
    try:
        for shape, sql in FAMILY_WRITES.items():
            with pytest.raises(asyncpg.UniqueViolationError):  # the victim's value
                await conn.execute(sql, 1, 10, "victim@x")
            transaction = conn.transaction()
            await transaction.start()
            try:  # a value no tenant holds is written
                assert (await conn.execute(sql, 1, 10, "new@x")).endswith(" 1"), shape
            finally:
                await transaction.rollback()
        rows = await conn.fetch(SPANNING_QUERY)
    finally:
        await conn.close()
    catalog = spanning_keys([tuple(r) for r in rows], lambda t: t != "orgs", "org_id")
    policy = _family_policy(tmp_path)
    assert {t: set(k) for t, k in policy.spanning_keys.items()} == {  # type: ignore[attr-defined]
        t: set(k) for t, k in catalog.items()
    }
    guarded = await connect(
        family, policy=Policy("org_id", {"pusers", "pusers_low", "users", "staff"})
    )
    try:
        with tenant(1):
            for shape, sql in FAMILY_WRITES.items():
                with pytest.raises(TenantIsolationError):
                    await guarded.execute(sql, 1, 10, "victim@x")
                assert shape
    finally:
        await guarded.close()


# ---------------------------------------------------------------- 4. the seed setting
TOKEN = "SELECT md5(random()::text)"


@pytest.mark.parametrize(
    "seeding",
    [
        "SET seed = 0.42",
        "SET SESSION seed TO 0.42",
        "SET LOCAL seed TO 0.42",
        'SET "seed" = 0.42',
        "SELECT set_config('seed', '0.42', false)",
        "SELECT set_config('seed', '0.42', true)",
    ],
)
async def test_the_seed_setting_does_not_predict_the_next_requests_random(
    two_clinics: str, seeding: str
) -> None:
    from tenantguard import TenantIsolationError
    from tenantguard.runtime import create_pool, tenant
    from tests.runtime.test_runtime import POLICY

    pool = await create_pool(two_clinics, policy=POLICY, min_size=1, max_size=1)
    try:
        with tenant(1):
            async with pool.acquire() as connection:
                try:
                    async with connection.transaction():
                        await connection.execute(seeding)
                    seeded = "seeded"
                except TenantIsolationError:
                    seeded = "refused"
        with tenant(2):
            async with pool.acquire() as connection:
                token = await connection.fetchval(TOKEN)
        own = await asyncpg.connect(two_clinics)  # clinic 1, anywhere
        try:
            await own.execute("SELECT setseed(0.42)")
            predicted = await own.fetchval(TOKEN)
        finally:
            await own.close()
        assert (seeded, token != predicted) == ("refused", True)
    finally:
        await pool.close()


# ---------------------------------------------------------------- 5. keys written through a view
VIEW_SCHEMA = """
CREATE TABLE orgs (id int PRIMARY KEY, name text);
CREATE TABLE vmembers (org_id int NOT NULL, id int, email text UNIQUE, PRIMARY KEY (org_id, id));
CREATE VIEW all_members AS SELECT * FROM vmembers;
CREATE VIEW member_view AS SELECT org_id, id, email AS mail FROM vmembers;
"""
VIEW_DATA = """
INSERT INTO orgs VALUES (1, 'Own org'), (2, 'Victim org');
INSERT INTO vmembers VALUES (1, 10, 'own@x'), (2, 20, 'victim@x');
"""
VIEW_WRITES = {
    "a view of every column": "UPDATE all_members SET email = $3 WHERE org_id = $1 AND id = $2",
    "a view renaming the key": "UPDATE member_view SET mail = $3 WHERE org_id = $1 AND id = $2",
}


@pytest.fixture
async def viewed(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, VIEW_SCHEMA + VIEW_DATA) as dsn:
        yield dsn


def test_a_write_through_a_view_of_a_spanning_key_is_found(tmp_path: Path) -> None:
    from tenantguard.engine.analyze import analyze_statement
    from tests.proof.test_schema import policy_for

    policy = policy_for(tmp_path, VIEW_SCHEMA, tenant_column="org_id")
    for shape, sql in VIEW_WRITES.items():
        codes = sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]
        assert codes == ["TG013"], shape


async def test_a_write_through_a_view_fails_on_the_victims_value(viewed: str) -> None:
    from tenantguard import Policy, TenantIsolationError
    from tenantguard.runtime import connect, tenant

    conn = await asyncpg.connect(viewed)
    try:
        for shape, sql in VIEW_WRITES.items():
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute(sql, 1, 10, "victim@x")
            transaction = conn.transaction()
            await transaction.start()
            try:
                assert await conn.execute(sql, 1, 10, "new@x") == "UPDATE 1", shape
            finally:
                await transaction.rollback()
    finally:
        await conn.close()
    guarded = await connect(
        viewed, policy=Policy("org_id", {"vmembers", "all_members", "member_view"})
    )
    try:
        with tenant(1):
            for shape, sql in VIEW_WRITES.items():
                with pytest.raises(TenantIsolationError):
                    await guarded.execute(sql, 1, 10, "victim@x")
                assert shape
            assert (
                await guarded.execute(
                    "UPDATE member_view SET id = id WHERE org_id = $1 AND id = $2", 1, 10
                )
                == "UPDATE 1"
            )
    finally:
        await guarded.close()
