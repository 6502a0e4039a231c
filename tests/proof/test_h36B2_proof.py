"""Round 36, helper B2: false alarms the schema reader left in the h36a corpus
(tests/fixtures/h36a), each with a leaking twin shown on the server.

1. A column order a dropped column hides: `ALTER TABLE … DROP COLUMN` made the reader forget the
   table's column order, so an INSERT without a column list (`INSERT INTO notes VALUES (5, $1,
   'x')`) was TG002. PostgreSQL's order skips the dropped column (ADD COLUMN appends): the reader
   now keeps that order. Twin: the old place of the column holds the pin, the tenant column's
   place a value copied from every clinic's rows (TG002).
2. A function whose body only reads and changes rows named a global table (`public.audit_log`,
   namesake of the tenant table `app.audit_log`): the reader took it as code that may change
   the table's columns and forgot it was global, so `SELECT * FROM public.audit_log` was
   TG001. A body of queries and row changes changes no columns; twin: a body that adds
   clinic_id to the table (DDL) keeps it unsure (TG001), and the table then holds clinic rows.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database
from tests.leak_corpus import codes
from tests.proof.test_schema import policy_for

ORDER = """
CREATE TABLE clinics (id integer PRIMARY KEY);
CREATE TABLE notes (old integer, id integer PRIMARY KEY, clinic_id integer NOT NULL
  REFERENCES clinics (id), body text);
ALTER TABLE notes DROP COLUMN old;
CREATE TABLE tags (clinic_id integer, id integer PRIMARY KEY, label text NOT NULL);
ALTER TABLE tags DROP COLUMN clinic_id;
ALTER TABLE tags ADD COLUMN clinic_id integer NOT NULL REFERENCES clinics (id);
INSERT INTO clinics VALUES (7001), (7002);
INSERT INTO notes VALUES (1, 7001, 'mine'), (2, 7002, 'theirs');
INSERT INTO tags VALUES (1, 'mine', 7001), (2, 'theirs', 7002);
"""
ORDER_SAFE = [
    "INSERT INTO notes VALUES (5, $1, 'x')",
    "INSERT INTO notes SELECT 6, $1, 'y'",
    "INSERT INTO tags VALUES (5, 'x', $1)",
    "INSERT INTO tags SELECT 6, label, clinic_id FROM tags WHERE clinic_id = $1 AND id = 1",
]
# the pin where the tenant column stood before the DDL, another clinic's id where it stands now
ORDER_LEAKS = [
    ("INSERT INTO tags SELECT $1, label, clinic_id FROM tags WHERE id = 2", 7001),
    ("INSERT INTO notes SELECT 9, clinic_id, $1::text FROM notes WHERE id = 2", "7001"),
]


async def _clinics_of(conn: asyncpg.Connection, table: str) -> dict[int, int]:
    rows = await conn.fetch(f"SELECT clinic_id, count(*) AS n FROM {table} GROUP BY clinic_id")
    return {r["clinic_id"]: r["n"] for r in rows}


async def test_a_dropped_column_leaves_the_order_postgres_has(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, ORDER) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in ORDER_SAFE:
                await conn.execute(sql, 7001)
            assert await _clinics_of(conn, "notes") == {7001: 3, 7002: 1}
            assert await _clinics_of(conn, "tags") == {7001: 3, 7002: 1}
            for (sql, mine), table in zip(ORDER_LEAKS, ("tags", "notes"), strict=True):
                await conn.execute(sql, mine)  # a row of clinic 7002 written by clinic 7001
                assert await _clinics_of(conn, table) == {7001: 3, 7002: 2}, sql
        finally:
            await conn.close()


def test_a_dropped_column_leaves_the_order_known(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, ORDER, tenant_column="clinic_id")
    for sql in ORDER_SAFE:
        assert codes(sql, policy) == [], sql
    for sql, _ in ORDER_LEAKS:
        assert "TG002" in codes(sql, policy), sql


NAMESAKE = """
CREATE SCHEMA app;
CREATE TABLE app.clinics (id integer PRIMARY KEY);
CREATE TABLE app.audit_log (id integer PRIMARY KEY, clinic_id integer NOT NULL
  REFERENCES app.clinics (id), what text NOT NULL);
CREATE TABLE public.audit_log (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, what text NOT NULL);
CREATE FUNCTION app.bump(x integer) RETURNS integer LANGUAGE plpgsql VOLATILE
  AS $$ BEGIN INSERT INTO public.audit_log (what) VALUES ('bump ' || x); RETURN x; END $$;
CREATE FUNCTION app.trim_log() RETURNS void LANGUAGE sql
  AS $$ DELETE FROM public.audit_log WHERE what = ''; UPDATE public.audit_log SET what = what $$;
INSERT INTO app.clinics VALUES (7001), (7002);
INSERT INTO app.audit_log VALUES (1, 7001, 'mine'), (2, 7002, 'theirs');
INSERT INTO public.audit_log (what) VALUES ('global');
"""
# code that, run, gives the global table the tenant column (then rows of every clinic)
WIDENS = [
    """CREATE FUNCTION app.widen() RETURNS void LANGUAGE plpgsql AS $$ BEGIN
  ALTER TABLE public.audit_log ADD COLUMN clinic_id integer; END $$;""",
    """CREATE FUNCTION app.widen() RETURNS void LANGUAGE sql
  AS $$ ALTER TABLE public.audit_log ADD COLUMN clinic_id integer $$;""",
    # row statements only, but SQL text in a string handed on (dblink_exec runs it)
    """CREATE FUNCTION app.widen() RETURNS void LANGUAGE sql AS $$ SELECT dblink_exec('',
  $q$ALTER TABLE public.audit_log ADD COLUMN clinic_id integer$q$) $$;""",
]
GLOBAL_LOG = ["SELECT * FROM public.audit_log", "DELETE FROM public.audit_log"]
PATH = ("app", "public")


async def test_a_function_writing_rows_leaves_the_global_table(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, NAMESAKE + WIDENS[0]) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SELECT app.bump(5); SELECT app.trim_log()")
            rows = [tuple(r) for r in await conn.fetch("SELECT what FROM public.audit_log")]
            assert sorted(rows) == [("bump 5",), ("global",)]  # no clinic's rows
            await conn.execute("SELECT app.widen()")
            await conn.execute(
                "INSERT INTO public.audit_log (what, clinic_id) VALUES ('a', 7001), ('b', 7002)"
            )
            rows = [tuple(r) for r in await conn.fetch("SELECT what, clinic_id FROM public.audit_log WHERE clinic_id IS NOT NULL")]  # fmt: skip
            assert sorted(rows) == [("a", 7001), ("b", 7002)]  # every clinic's rows
        finally:
            await conn.close()


def test_a_function_writing_rows_leaves_the_global_table_known(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, NAMESAKE, tenant_column="clinic_id", search_path=PATH)
    for sql in GLOBAL_LOG:
        assert codes(sql, policy) == [], sql
    assert codes("SELECT * FROM audit_log", policy) == ["TG001"]  # app's, by the path
    for widen in WIDENS:
        policy = policy_for(tmp_path, NAMESAKE + widen, tenant_column="clinic_id", search_path=PATH)
        assert codes(GLOBAL_LOG[0], policy) == ["TG001"], widen


# 3. A cast of a domain-typed tenant column (a domain over integer with a CHECK) to its base type
# (`clinic_id::integer = $1`, `CAST(clinic_id AS bigint)`) was no pin: only a column declared of
# an integer type counted as one. The domain's values are its base's: the cast neither fails nor
# rounds. Twins: a narrowing cast fails on clinic 40000 (before the pin drops its row), a cast
# through real rounds.
DOMAIN = """
CREATE DOMAIN clinic_ref AS integer CHECK (VALUE > 0);
CREATE TABLE clinics (id clinic_ref PRIMARY KEY);
CREATE TABLE staff (id integer PRIMARY KEY, clinic_id clinic_ref NOT NULL REFERENCES clinics (id),
  name text NOT NULL);
INSERT INTO clinics VALUES (7001), (40000);
INSERT INTO staff VALUES (1, 7001, 'mine'), (2, 40000, 'big');
"""
DOMAIN_SAFE = [
    "SELECT name FROM staff WHERE clinic_id::integer = $1",
    "SELECT name FROM staff WHERE CAST(clinic_id AS bigint) = $1",
    "SELECT name FROM staff s WHERE (s.clinic_id)::int = $1",
]
DOMAIN_LEAKS = [
    "SELECT name FROM staff WHERE clinic_id::int2 = $1",
    "SELECT name FROM staff WHERE clinic_id::text::int2 = $1",
]


async def test_a_domain_cast_to_its_base_keeps_the_value(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, DOMAIN) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in DOMAIN_SAFE:
                assert [tuple(r) for r in await conn.fetch(sql, 7001)] == [("mine",)], sql
            for sql in DOMAIN_LEAKS:  # fails on clinic 40000's row: it tells it exists
                try:
                    await conn.fetch(sql, 7001)
                except asyncpg.NumericValueOutOfRangeError:
                    continue
                raise AssertionError(sql)
        finally:
            await conn.close()


def test_a_domain_cast_to_its_base_pins(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, DOMAIN, tenant_column="clinic_id")
    for sql in DOMAIN_SAFE:
        assert codes(sql, policy) == [], sql
    for sql in DOMAIN_LEAKS:
        assert codes(sql, policy) == ["TG001"], sql
    assert codes("SELECT name FROM staff WHERE clinic_id::real = $1", policy) == ["TG001"]


# 4. USING / NATURAL JOIN of an integer tenant column with one of a domain over integer (the
# merged column is of the base type, exact) made no tenant column and no chain: `patients JOIN
# staff USING (clinic_id) WHERE clinic_id = $1` was TG001 for both. Twin: a domain over real
# merges in real, where 16777217 equals 16777216 (TG001, and the server returns the other
# clinic's row).
MERGED = """
CREATE DOMAIN clinic_ref AS integer CHECK (VALUE > 0);
CREATE DOMAIN approx AS real;
CREATE TABLE clinics (id integer PRIMARY KEY);
CREATE TABLE patients (id integer PRIMARY KEY, clinic_id integer NOT NULL REFERENCES clinics (id),
  name text NOT NULL);
CREATE TABLE staff (id integer PRIMARY KEY, clinic_id clinic_ref NOT NULL, name text NOT NULL);
CREATE TABLE temps (id integer PRIMARY KEY, clinic_id approx NOT NULL, label text NOT NULL);
INSERT INTO clinics VALUES (16777216), (16777217);
INSERT INTO patients VALUES (1, 16777216, 'p-mine'), (2, 16777217, 'p-theirs');
INSERT INTO staff VALUES (1, 16777216, 's-mine'), (2, 16777217, 's-theirs');
INSERT INTO temps VALUES (1, 16777216, 't-mine'), (2, 16777217, 't-theirs');
"""
MERGED_SAFE = [
    "SELECT p.name, s.name FROM patients p JOIN staff s USING (clinic_id) WHERE clinic_id = $1",
    "SELECT p.name, s.name FROM patients p NATURAL JOIN staff s WHERE clinic_id = $1",
    "SELECT p.name, s.name FROM patients p JOIN staff s USING (clinic_id, name) WHERE s.clinic_id = $1",
]
MERGED_LEAK = "SELECT label FROM patients p JOIN temps t USING (clinic_id) WHERE p.clinic_id = $1"


async def test_a_domain_merges_by_its_base(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, MERGED) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            rows = [tuple(r) for r in await conn.fetch(MERGED_SAFE[0], 16777216)]
            assert rows == [("p-mine", "s-mine")]
            assert await conn.fetch(MERGED_SAFE[1], 16777216) == []  # names differ: no row
            assert await conn.fetch(MERGED_SAFE[2], 16777216) == []
            rows = sorted(tuple(r) for r in await conn.fetch(MERGED_LEAK, 16777216))
            assert rows == [("t-mine",), ("t-theirs",)]  # the other clinic's temp
        finally:
            await conn.close()


def test_a_domain_merges_by_its_base_known(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, MERGED, tenant_column="clinic_id")
    for sql in MERGED_SAFE:
        assert codes(sql, policy) == [], sql
    assert codes(MERGED_LEAK, policy) == ["TG001"]


# 5. An INSERT without a column list into a name two schemas hold (TG002: the reader kept no
# order for such a name). Each schema's plain table keeps its order; the INSERT reaches the
# schema it names or the one the search path reads. Twin: the other schema's order puts the
# pin where this one holds an id, and another clinic's id where this one holds the tenant column.
HOMED = """
CREATE SCHEMA app; CREATE SCHEMA reporting;
CREATE TABLE app.clinics (id integer PRIMARY KEY);
CREATE TABLE app.marks (id integer, clinic_id integer NOT NULL REFERENCES app.clinics (id),
  v text NOT NULL);
CREATE TABLE reporting.marks (clinic_id integer NOT NULL REFERENCES app.clinics (id), id integer,
  v text NOT NULL);
INSERT INTO app.clinics VALUES (7001), (7002);
INSERT INTO app.marks VALUES (1, 7001, 'a-mine'), (2, 7002, 'a-theirs');
INSERT INTO reporting.marks VALUES (7001, 1, 'r-mine'), (7002, 2, 'r-theirs');
"""
HOMED_PATH = ("app", "reporting", "public")
HOMED_SAFE = [
    "INSERT INTO marks VALUES (5, $1, 'x')",
    "INSERT INTO app.marks SELECT 6, $1, v FROM reporting.marks WHERE clinic_id = $1",
    "INSERT INTO reporting.marks VALUES ($1, 5, 'x')",
    "INSERT INTO reporting.marks SELECT $1, id + 10, v FROM marks WHERE clinic_id = $1",
]
HOMED_LEAKS = [
    "INSERT INTO reporting.marks SELECT clinic_id, $1, v FROM reporting.marks WHERE id = 2",
    "INSERT INTO marks SELECT $1, clinic_id, v FROM app.marks WHERE id = 2",
]


async def test_a_name_of_two_schemas_keeps_each_order(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, HOMED) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET search_path = app, reporting, public")
            for sql in HOMED_SAFE:
                await conn.execute(sql, 7001)
            assert await _clinics_of(conn, "app.marks") == {7001: 3, 7002: 1}
            assert await _clinics_of(conn, "reporting.marks") == {7001: 5, 7002: 1}
            for sql in HOMED_LEAKS:  # a row of clinic 7002 written by clinic 7001
                await conn.execute(sql, 7001)
            assert await _clinics_of(conn, "app.marks") == {7001: 3, 7002: 2}
            assert await _clinics_of(conn, "reporting.marks") == {7001: 5, 7002: 2}
        finally:
            await conn.close()


def test_a_name_of_two_schemas_keeps_each_order_known(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, HOMED, tenant_column="clinic_id", search_path=HOMED_PATH)
    for sql in HOMED_SAFE:
        assert codes(sql, policy) == [], sql
    for sql in HOMED_LEAKS:
        assert "TG002" in codes(sql, policy), sql
    # a statement that may run SQL text unseen: no order is sure
    unsure = policy_for(
        tmp_path,
        HOMED
        + "CREATE FUNCTION app.run(q text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE q; END $$;",
        tenant_column="clinic_id",
        search_path=HOMED_PATH,
    )
    assert codes(HOMED_SAFE[0], unsure) == ["TG002"]


# 6. A derived table over the tenant registry alone exposing its key under the key's own name
# (`(SELECT id FROM clinics WHERE id = $1) c … p.clinic_id = c.id`) was no tenant column (under
# an alias, `id AS k`, it was). Twins: the registry read by another column, or by a UNION with an
# unpinned branch: every clinic's id (TG001, the server returns another clinic's rows).
REGISTRY = """
CREATE TABLE clinics (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE patients (id integer PRIMARY KEY, clinic_id integer NOT NULL REFERENCES clinics (id),
  name text NOT NULL);
INSERT INTO clinics VALUES (7001, 'South'), (7002, 'North');
INSERT INTO patients VALUES (1, 7001, 'mine'), (2, 7002, 'theirs');
"""
REGISTRY_SAFE = [
    "SELECT p.name FROM (SELECT id FROM clinics WHERE id = $1) c JOIN patients p ON p.clinic_id = c.id",
    "SELECT p.name FROM (SELECT id FROM clinics c2 WHERE c2.id = $1) c, patients p WHERE p.clinic_id = c.id",
    "SELECT p.name FROM (SELECT id FROM clinics) c JOIN patients p ON p.clinic_id = c.id WHERE c.id = $1",
]
REGISTRY_LEAKS = [
    "SELECT p.name FROM (SELECT id FROM clinics WHERE name = 'North') c JOIN patients p ON p.clinic_id = c.id",
    "SELECT p.name FROM (SELECT id FROM clinics WHERE id = $1 UNION SELECT id FROM clinics) c JOIN patients p ON p.clinic_id = c.id",
]


async def test_a_derived_registry_key_under_its_name(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, REGISTRY) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in REGISTRY_SAFE:
                assert [tuple(r) for r in await conn.fetch(sql, 7001)] == [("mine",)], sql
            assert [tuple(r) for r in await conn.fetch(REGISTRY_LEAKS[0])] == [("theirs",)]
            rows = sorted(tuple(r) for r in await conn.fetch(REGISTRY_LEAKS[1], 7001))
            assert rows == [("mine",), ("theirs",)]
        finally:
            await conn.close()


def test_a_derived_registry_key_under_its_name_pins(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, REGISTRY, tenant_column="clinic_id")
    for sql in REGISTRY_SAFE:
        assert codes(sql, policy) == [], sql
    for sql in REGISTRY_LEAKS:
        assert codes(sql, policy) == ["TG001"], sql


# 7. (Attack on h36A's acceptance of CREATE TRIGGER … EXECUTE FUNCTION.) A trigger whose function
# hands SQL text to dblink, built from pieces ('ALTER TABLE reporting.docu' || 'ments …'), runs
# DDL the reader never sees: fired by an INSERT into clinics, it gives the global
# reporting.documents a clinic_id, and the table then holds clinics' rows. Before, the trigger's
# EXECUTE made every name unsure (by luck); since h36A `SELECT * FROM reporting.documents`
# passed. Now a statement naming dblink makes the names unsure, as EXECUTE does, and so does a
# function in a language whose text the reader does not read (C, PL/Perl, PL/Python…).
DBLINK = """
CREATE SCHEMA app; CREATE SCHEMA reporting;
CREATE EXTENSION dblink;
CREATE TABLE app.clinics (id integer PRIMARY KEY);
CREATE TABLE app.documents (id integer PRIMARY KEY, clinic_id integer NOT NULL
  REFERENCES app.clinics (id), title text NOT NULL);
CREATE TABLE reporting.documents (id integer, title text NOT NULL);
"""
TOUCH = """
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  PERFORM dblink_exec('host=127.0.0.1 port=' || current_setting('port') || ' dbname='
    || current_database() || ' user=' || current_user,
    'ALTER TABLE reporting.docu' || 'ments ADD COLUMN IF NOT EXISTS clinic_id integer');
  RETURN NEW; END $$;
CREATE TRIGGER clinics_touch BEFORE INSERT ON app.clinics
  FOR EACH ROW EXECUTE FUNCTION app.touch();
"""
PLAIN_TRIGGER = """
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER clinics_touch BEFORE INSERT ON app.clinics
  FOR EACH ROW EXECUTE FUNCTION app.touch();
"""
OTHER_LANGUAGE = """
CREATE FUNCTION app.widen() RETURNS void LANGUAGE c AS 'widen_lib', 'widen';
"""
DYNAMIC_PATH = ("app", "reporting", "public")


async def test_a_trigger_handing_sql_to_dblink_changes_a_global_table(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, DBLINK + TOUCH) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("INSERT INTO app.clinics VALUES (7001), (7002)")  # fires it
            await conn.execute(
                "INSERT INTO reporting.documents (id, title, clinic_id) "
                "VALUES (1, 'mine', 7001), (2, 'theirs', 7002)"
            )
            rows = sorted(tuple(r) for r in await conn.fetch("SELECT * FROM reporting.documents"))
            assert rows == [(1, "mine", 7001), (2, "theirs", 7002)]  # every clinic's rows
        finally:
            await conn.close()


def test_a_trigger_handing_sql_to_dblink_makes_names_unsure(tmp_path: Path) -> None:
    sql = "SELECT * FROM reporting.documents"
    for extra in (TOUCH, OTHER_LANGUAGE):
        policy = policy_for(
            tmp_path, DBLINK + extra, tenant_column="clinic_id", search_path=DYNAMIC_PATH
        )
        assert codes(sql, policy) == ["TG001"], extra
    # a trigger of a function that runs no text unseen leaves the names sure (h36A)
    plain = DBLINK.replace("CREATE EXTENSION dblink;\n", "") + PLAIN_TRIGGER
    policy = policy_for(tmp_path, plain, tenant_column="clinic_id", search_path=DYNAMIC_PATH)
    assert codes(sql, policy) == []


# 8. (Attack on h36A's acceptance of sum()/avg() of an integer column beside grouping sets, held:
# no leak.) Clinic 7002's int8 amounts at the type's maximum: the grand total's group sums
# every clinic's rows, but sum(int8) and avg() are numeric (sum(int4) an int8): no overflow, and
# the HAVING pin drops the other groups. A sum of a numeric-cast expression stays unproven.
BIG = """
CREATE TABLE clinics (id integer PRIMARY KEY);
CREATE TABLE ledger (id integer PRIMARY KEY, clinic_id integer NOT NULL REFERENCES clinics (id),
  amount bigint NOT NULL, small integer NOT NULL);
INSERT INTO clinics VALUES (7001), (7002);
INSERT INTO ledger VALUES (1, 7001, 1, 1),
  (2, 7002, 9223372036854775807, 2147483647), (3, 7002, 9223372036854775807, 2147483647);
"""
BIG_SAFE = [
    "SELECT clinic_id, sum(amount) FROM ledger GROUP BY GROUPING SETS ((clinic_id), ()) HAVING clinic_id = $1",
    "SELECT clinic_id, avg(amount), sum(small) FROM ledger GROUP BY CUBE (clinic_id) HAVING clinic_id = $1",
]

BIG_FAILING = "SELECT clinic_id, sum(amount + 1) FROM ledger GROUP BY GROUPING SETS ((clinic_id), ()) HAVING clinic_id = $1"


async def test_an_int8_sum_beside_grouping_sets_does_not_overflow(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, BIG) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            rows = [tuple(r) for r in await conn.fetch(BIG_SAFE[0], 7001)]
            assert rows == [(7001, 1)]
            rows = [tuple(r) for r in await conn.fetch(BIG_SAFE[1], 7001)]
            assert [(r[0], int(r[1]), r[2]) for r in rows] == [(7001, 1, 1)]
            try:  # the twin: the sum's argument overflows on another clinic's row too
                await conn.fetch(BIG_FAILING, 7001)
            except asyncpg.NumericValueOutOfRangeError:
                pass
            else:
                raise AssertionError(BIG_FAILING)
        finally:
            await conn.close()


def test_an_int8_sum_beside_grouping_sets_is_proven(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, BIG, tenant_column="clinic_id")
    for sql in BIG_SAFE:
        assert codes(sql, policy) == [], sql
    assert codes(BIG_FAILING, policy) == ["TG001"]  # bigint + 1 overflows on 9223372036854775807


# 9. (Found beside class 1.) The column order a statement runs out of the reader's sight changes
# (`EXECUTE 'ALTER TABLE no' || 'tes DROP COLUMN id'`, then ADD it again: now clinic_id, body,
# id) was kept: `INSERT INTO notes SELECT c.id, $1, c.id + 100 FROM clinics c` read $1 at the
# tenant column's old place and passed, while the server wrote a row for every clinic. Now no
# place is sure once names are (TG002).
STALE = """
CREATE TABLE clinics (id integer PRIMARY KEY);
CREATE TABLE notes (id integer PRIMARY KEY, clinic_id integer NOT NULL REFERENCES clinics (id),
  body text);
INSERT INTO clinics VALUES (7001), (7002);
DO $$ BEGIN EXECUTE 'ALTER TABLE no' || 'tes DROP COLUMN id';
  EXECUTE 'ALTER TABLE no' || 'tes ADD COLUMN id integer'; END $$;
"""
STALE_LEAK = "INSERT INTO notes SELECT c.id, $1, c.id + 100 FROM clinics c"


async def test_an_order_changed_out_of_sight(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, STALE) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(STALE_LEAK, "7001")
            assert await _clinics_of(conn, "notes") == {7001: 1, 7002: 1}  # every clinic's
        finally:
            await conn.close()


def test_an_order_changed_out_of_sight_is_unsure(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, STALE, tenant_column="clinic_id")
    assert "TG002" in codes(STALE_LEAK, policy)
    sure = policy_for(tmp_path, STALE.split("DO $$")[0], tenant_column="clinic_id")
    assert codes("INSERT INTO notes VALUES (5, $1, 'x')", sure) == []
