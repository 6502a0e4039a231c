"""Round 35 (helper h35V): the runner reads its settings back after a statement of a patch only
where code the patch's text does not name can run (fce9eff read them back after every
statement but the last: a seed patch of 5 000 INSERTs took 2.35 s instead of 1.07 s, one more
round trip a statement). A plain INSERT into a table the catalog shows can run no code (no
trigger, rule, row security, child; defaults, generated columns, CHECKs, index expressions and
predicates of built-ins; no domain column) is not read back after; everything else still is,
on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import fetchval, write

# functions that reset the runner's lock_timeout (IMMUTABLE as declared, set_config as a
# non-volatile function may: an index expression or a generated column may call them)
_RESETS = (
    "CREATE OR REPLACE FUNCTION reset_lt(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS "
    "$f$ BEGIN PERFORM set_config('lock_timeout', NULL, false); RETURN x; END $f$;\n"
    "CREATE OR REPLACE FUNCTION reset_eq(a int, b int) RETURNS bool LANGUAGE plpgsql "
    "IMMUTABLE AS $f$ BEGIN PERFORM set_config('lock_timeout', NULL, false); RETURN a = b; "
    "END $f$;\n"
    "CREATE OR REPLACE FUNCTION t_reset() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN "
    "EXECUTE 'RESET lock_timeout'; RETURN NEW; END $f$;\n"
)
_SEEN = "CREATE TABLE IF NOT EXISTS seen AS SELECT current_setting('lock_timeout') AS v;\n"


@pytest.mark.parametrize(
    ("table", "insert"),
    [
        ("CREATE TABLE t (id int, n int DEFAULT reset_lt(0));", ""),
        ("CREATE TABLE t (id int, n int GENERATED ALWAYS AS (reset_lt(id)) STORED);", ""),
        ("CREATE TABLE t (id int CHECK (reset_lt(id) = id));", ""),
        ("CREATE TABLE t (id int); CREATE INDEX ON t (reset_lt(id));", ""),
        ("CREATE TABLE t (id int); CREATE INDEX ON t (id) WHERE reset_lt(id) > 0;", ""),
        ("CREATE DOMAIN d AS int CHECK (reset_lt(VALUE) = VALUE); CREATE TABLE t (id d);", ""),
        ("CREATE DOMAIN d AS int CHECK (reset_lt(VALUE) = VALUE); CREATE TABLE t (id d[]);", "1"),
        (
            "CREATE TABLE t (id int); CREATE TABLE log (id int);"
            " CREATE RULE r AS ON INSERT TO t DO ALSO INSERT INTO log VALUES (reset_lt(NEW.id));",
            "",
        ),
        (
            "CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = reset_eq);"
            " CREATE TABLE t (id int CHECK (id === id));",
            "",
        ),
        (
            "CREATE TABLE t (id int) PARTITION BY RANGE (id);"
            " CREATE TABLE t1 PARTITION OF t FOR VALUES FROM (0) TO (10);"
            " CREATE TRIGGER t_reset BEFORE INSERT ON t1 FOR EACH ROW EXECUTE FUNCTION t_reset();",
            "",
        ),
        (
            "CREATE TABLE t (id int); CREATE TABLE t_kid () INHERITS (t);"
            " CREATE RULE r AS ON INSERT TO t DO INSTEAD INSERT INTO t_kid VALUES (reset_lt(NEW.id));",
            "",
        ),
        (
            "CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p VALUES (1);"
            " CREATE TABLE t (id int REFERENCES p); CREATE TRIGGER t_reset BEFORE INSERT ON t"
            " FOR EACH ROW EXECUTE FUNCTION t_reset();",
            "",
        ),
    ],
    ids=[
        "default",
        "generated",
        "check",
        "index_expression",
        "index_predicate",
        "domain",
        "domain_array",
        "rule",
        "operator",
        "partition_trigger",
        "instead_rule",
        "fk_and_trigger",
    ],
)
async def test_an_insert_that_runs_code_of_the_table_is_still_read_back(
    database: str, tmp_path: Path, table: str, insert: str
) -> None:
    """Each way an INSERT into a table runs a function its text does not name: the function
    says EXECUTE 'RESET lock_timeout'; the patch's next statement must still see the runner's
    '300ms' (without the read back: '0', the database's, and DDL that waits without end)."""
    write(tmp_path, "0001_t.sql", _RESETS + table + "\n")
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    value = "'{1}'" if insert else "1"
    write(tmp_path, "0002_insert.sql", f"INSERT INTO t (id) VALUES ({value});\n" + _SEEN)
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"
    assert await fetchval(database, "SELECT count(*) FROM t") == 1


async def test_a_trigger_made_after_quiet_inserts_is_read_back_after(
    database: str, tmp_path: Path
) -> None:
    """The catalog's verdict on a table is kept only while quiet INSERTs run: the patch
    inserts into t (quiet, no read back), makes a trigger on t, inserts again — the second
    INSERT ran the trigger's RESET and is read back after."""
    write(tmp_path, "0001_t.sql", _RESETS + "CREATE TABLE t (id int);\n")
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(
        tmp_path,
        "0002_insert.sql",
        "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n"
        "CREATE TRIGGER t_reset BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_reset();\n"
        "INSERT INTO t VALUES (3);\n" + _SEEN,
    )
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"
    assert await fetchval(database, "SELECT count(*) FROM t") == 3


class _Counting(asyncpg.Connection):  # type: ignore[misc]
    sent = 0

    async def execute(self, *args: object, **kwargs: object) -> object:
        _Counting.sent += 1
        return await super().execute(*args, **kwargs)

    async def fetchval(self, *args: object, **kwargs: object) -> object:
        _Counting.sent += 1
        return await super().fetchval(*args, **kwargs)

    async def fetch(self, *args: object, **kwargs: object) -> object:
        _Counting.sent += 1
        return await super().fetch(*args, **kwargs)

    async def fetchrow(self, *args: object, **kwargs: object) -> object:
        _Counting.sent += 1
        return await super().fetchrow(*args, **kwargs)


async def test_a_seed_patch_into_a_plain_table_costs_one_round_trip_a_statement(
    database: str, tmp_path: Path
) -> None:
    """A seed patch of 300 INSERTs into a table with a serial key, a CHECK of a built-in
    operator, a text default and a unique index: one query a statement (fce9eff: two, the
    CASE read back after each), the catalog read once; the rows are all there."""
    write(
        tmp_path,
        "0001_t.sql",
        "CREATE TABLE s (id serial PRIMARY KEY, n int CHECK (n >= 0),"
        " note text DEFAULT 'x' NOT NULL, made timestamptz DEFAULT now(), UNIQUE (n));\n",
    )
    await apply_patches(database, tmp_path)
    write(
        tmp_path,
        "0002_seed.sql",
        "".join(f"INSERT INTO s (n) VALUES ({i});\n" for i in range(300)),
    )
    conn = await asyncpg.connect(database, connection_class=_Counting)
    try:
        _Counting.sent = 0
        run = await apply_patches(conn, tmp_path)
        sent = _Counting.sent
        assert run.applied == ["0002_seed.sql"]
        assert await conn.fetchval("SELECT count(*) FROM s WHERE note = 'x'") == 300
    finally:
        await conn.close()
    assert sent < 300 + 60, sent


@pytest.mark.parametrize(
    "value",
    [
        "1::d",  # the domain's CHECK runs in the statement's own cast
        "CAST(1 AS d)::int",
        "CASE WHEN 1 === 1 THEN 1 END",  # a user operator in the statement
        "(1 === 1)::int",
    ],
    ids=["domain_cast", "domain_in_cast", "operator_case", "operator_cast"],
)
async def test_an_insert_whose_own_expressions_run_code_is_still_read_back(
    database: str, tmp_path: Path, value: str
) -> None:
    """A plain table, but the INSERT's own values run a function its text does not call by
    name: a cast to a domain whose CHECK resets lock_timeout, a user operator. The next
    statement still sees '300ms' (without the read back: '0')."""
    write(
        tmp_path,
        "0001_t.sql",
        _RESETS + "CREATE DOMAIN d AS int CHECK (reset_lt(VALUE) = VALUE);\n"
        "CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = reset_eq);\n"
        "CREATE TABLE t (id int);\n",
    )
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_insert.sql", f"INSERT INTO t (id) VALUES ({value});\n" + _SEEN)
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"
    assert await fetchval(database, "SELECT count(*) FROM t WHERE id = 1") == 1


async def test_a_trigger_that_sets_lock_timeout_to_zero_is_read_back(
    database: str, tmp_path: Path
) -> None:
    """A trigger whose function says set_config('lock_timeout', '0', false) (not RESET): the
    runner reads back after the INSERT (the table has a trigger) but its query takes a
    lock_timeout other than its own for a patch's own SET and keeps it."""
    write(
        tmp_path,
        "0001_t.sql",
        "CREATE TABLE t (id int);\n"
        "CREATE FUNCTION t_zero() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN "
        "PERFORM set_config('lock_timeout', '0', false); RETURN NEW; END $f$;\n"
        "CREATE TRIGGER t_zero BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_zero();\n",
    )
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_insert.sql", "INSERT INTO t VALUES (1);\n" + _SEEN)
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 1
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"
