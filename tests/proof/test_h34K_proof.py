"""Round 34, helper K: an attack on the proof's acceptances of this round (batches by ctid,
recursive CTEs by a composite key, the referencing row through a semi-join, row types in schema
inference, a set operation's branch of the pinning value, INSERT … SELECT * of a CTE by place).

Leaks found: (1) schema inference followed a row type named in a CTAS query (c97e313) but not a row
type held one level down — by a column (`CREATE TABLE history (at timestamptz, old cards)`,
then `CREATE TABLE restored AS SELECT (old).* FROM history`, or `unnest(history.olds)` of an
array of rows), by an attribute of a composite type (`((NULL::wrap).card).*`), or through a
domain over a composite type (`CREATE DOMAIN card_d AS card_row`, `(NULL::card_d).*`). The
table has the tenant column on the server, every organisation's rows, and `SELECT * FROM
restored` passed. (2) The history table itself, and any table LIKE it or copied from it, hands
out those rows of every organisation (`SELECT (old).* FROM history`): read as a tenant table
with no column to pin. Twin: a table holding a row type without the tenant column.

What held (measured on the server, each with the proof's verdict: see the tests below):
ctid from another table, a view, a CTE or derived table over a UNION, tid literals, casts,
LATERAL, self-joins, `<`/`>`/`<> ALL`, a partition read directly (its own heap: one tenant's
rows), sub-partitions, INHERITS / ALTER TABLE … INHERIT / ATTACH PARTITION in later
statements, renames, two schemas; recursive steps through a second table, a nullable link, a
view, NOT VALID / DEFERRABLE / dropped keys, an id unique only with the tenant column, `OR`
and expressions in the step's join; semi-joins against a child table without the key (INHERITS
children take no foreign key), NOT NULL or the key dropped later, a column renamed later, a
NOT VALID key, a key on another column pair; writable CTEs whose RETURNING puts another
column at the tenant column's place, under aliases or a column list.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database
from tests.leak_corpus import codes
from tests.proof.test_schema import policy_for

MINE = "11111111-1111-1111-1111-111111111111"
THEIRS = "11111111-1111-1111-1111-222222222222"

# ---------------------------------------------------------------- row types one level down
NESTED = """
CREATE TABLE cards (org uuid NOT NULL, id int NOT NULL, title text NOT NULL, PRIMARY KEY (org, id));
CREATE TYPE card_row AS (org uuid, id int, title text);
CREATE DOMAIN card_d AS card_row;
CREATE TYPE wrap AS (at timestamptz, card cards);
CREATE TABLE history (at timestamptz, old cards, olds cards[]);
CREATE TABLE restored AS SELECT (old).* FROM history WITH NO DATA;
CREATE TABLE unnested AS SELECT u.* FROM history, unnest(history.olds) AS u WITH NO DATA;
CREATE TABLE wrapped AS SELECT ((NULL::wrap).card).* WITH NO DATA;
CREATE TABLE of_domain AS SELECT (NULL::card_d).* WITH NO DATA;
CREATE TABLE domain_rows AS SELECT * FROM json_populate_record(NULL::card_d, '{}') WITH NO DATA;
CREATE TABLE like_history (LIKE history);
CREATE TABLE history_copy AS SELECT * FROM history WITH NO DATA;
CREATE TYPE money_t AS (amount numeric, currency text);
CREATE TABLE prices (id int, price money_t, history money_t[]);
CREATE TABLE price_rows AS SELECT (price).* FROM prices WITH NO DATA;
"""
LEAKING = ["restored", "unnested", "wrapped", "of_domain", "domain_rows"]


async def test_a_row_type_one_level_down_holds_every_organisations_rows(
    postgres: ThrowawayPostgres,
) -> None:
    filled = NESTED + "".join(
        f"INSERT INTO {t} (org) VALUES ('{MINE}'), ('{THEIRS}');\n" for t in LEAKING
    )
    async with fresh_database(postgres, filled) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for table in LEAKING:
                rows = await conn.fetch(f"SELECT org::text FROM {table}")
                assert sorted(r["org"] for r in rows) == [MINE, THEIRS], table
            for table in ("like_history", "history_copy"):
                columns = await conn.fetch(
                    "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass "
                    "AND attnum > 0 ORDER BY attnum",
                    table,
                )
                assert [c["attname"] for c in columns] == ["at", "old", "olds"], table
        finally:
            await conn.close()


def test_a_row_type_one_level_down_makes_a_tenant_table(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, NESTED, tenant_column="org")
    for table in LEAKING:
        assert codes(f"SELECT * FROM {table}", policy) == ["TG001"], table
        assert codes(f"SELECT * FROM {table} WHERE org = $1", policy) == [], table
    # a table that holds the rows whole is read with every organisation's (no column to pin:
    # below); one holding a row type without the tenant column is no tenant table
    for table in ("history", "like_history", "history_copy"):
        assert codes(f"SELECT * FROM {table}", policy) == ["TG001"], table
    assert codes("SELECT * FROM prices", policy) == []
    assert codes("SELECT * FROM price_rows", policy) == []


# ---------------------------------------------------------------- what held: batches by ctid
# A ctid of another table (or a view, a UNION, a literal) names other rows of the target: each
# deletes organisation 2's row on the server, and each is flagged. A partition read directly is
# its own heap: the batch deletes only the pinned rows, and passes.
PLACES = """
CREATE TABLE t (account_id bigint NOT NULL, id bigint PRIMARY KEY, msg text);
CREATE TABLE u (account_id bigint NOT NULL, id bigint PRIMARY KEY, msg text);
CREATE VIEW uv AS SELECT ctid AS ctid, account_id, id FROM u;
CREATE TABLE p (account_id bigint NOT NULL, id bigint, msg text) PARTITION BY HASH (id);
CREATE TABLE p0 PARTITION OF p FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE p1 PARTITION OF p FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO t VALUES (2, 20, 'theirs'), (1, 10, 'mine');
INSERT INTO u VALUES (1, 11, 'mine'), (2, 21, 'theirs');
INSERT INTO p VALUES (1, 1, 'mine'), (2, 2, 'theirs'), (2, 3, 'theirs'), (1, 4, 'mine');
"""
OTHER_PLACES = [
    "DELETE FROM t WHERE ctid IN (SELECT ctid FROM u WHERE account_id = $1 LIMIT 10) "
    "RETURNING account_id",
    "DELETE FROM t WHERE ctid = ANY (ARRAY(SELECT ctid FROM u WHERE account_id = $1)) "
    "RETURNING account_id",
    "DELETE FROM t WHERE ctid IN (SELECT ctid FROM uv WHERE account_id = $1) RETURNING account_id",
    "WITH b AS (SELECT ctid FROM u WHERE account_id = $1) DELETE FROM t USING b "
    "WHERE t.ctid = b.ctid RETURNING t.account_id",
    "WITH t AS (SELECT ctid FROM u WHERE account_id = $1) DELETE FROM t "
    "WHERE ctid IN (SELECT ctid FROM t) RETURNING account_id",
    "DELETE FROM t WHERE ctid = ANY (ARRAY(SELECT ctid FROM t WHERE account_id = $1 "
    "UNION ALL SELECT ctid FROM u WHERE account_id = $1)) RETURNING account_id",
    "DELETE FROM t WHERE ctid IN (SELECT (u.ctid::text)::tid FROM u WHERE account_id = $1) "
    "RETURNING account_id",
    "DELETE FROM t WHERE ctid = ANY (ARRAY(SELECT '(0,1)'::tid FROM t WHERE account_id = $1)) "
    "RETURNING account_id",
    "DELETE FROM t WHERE ctid <= (SELECT max(ctid) FROM t WHERE account_id = $1) "
    "RETURNING account_id",
    "MERGE INTO t USING (SELECT ctid AS c FROM u WHERE account_id = $1) s ON t.ctid = s.c "
    "WHEN MATCHED THEN DELETE",
]
OWN_HEAP = (
    "DELETE FROM p0 WHERE ctid IN (SELECT ctid FROM p0 WHERE account_id = $1 LIMIT 100) "
    "RETURNING account_id"
)


async def test_a_batch_by_another_tables_ctid_reaches_other_rows(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, PLACES) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in [*OTHER_PLACES, OWN_HEAP]:
                tx = conn.transaction()
                await tx.start()
                try:
                    await conn.execute(sql.replace("$1", "1"))
                    left = await conn.fetch(
                        "SELECT account_id FROM t UNION ALL SELECT account_id FROM p"
                    )
                finally:
                    await tx.rollback()
                gone_theirs = [r[0] for r in left].count(2) < 3
                assert gone_theirs == (sql != OWN_HEAP), sql
        finally:
            await conn.close()


def test_a_batch_by_another_tables_ctid_is_flagged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, PLACES, tenant_column="account_id")
    for sql in OTHER_PLACES:
        assert "TG001" in codes(sql, policy), sql
    assert codes(OWN_HEAP, policy) == []


# ---------------------------------------------------------------- a row held whole
# A table whose column holds a tenant table's row (`history.old cards`) has no tenant column of
# its own: reading the row out (`SELECT (old).* FROM history`, or a view doing so) returns every
# organisation's cards. Such a table is a tenant table nothing can pin (its help: add the
# tenant column); one holding a row type without the tenant column (`prices.price money_t`)
# is none.
HELD = NESTED + "CREATE VIEW history_cards AS SELECT (old).* FROM history;\n"
HELD_READS = ["SELECT (old).* FROM history", "SELECT * FROM history_cards"]


async def test_a_row_held_whole_is_read_out_with_every_organisations_rows(
    postgres: ThrowawayPostgres,
) -> None:
    filled = HELD + (
        f"INSERT INTO history (old) VALUES (ROW('{MINE}', 1, 'mine')::cards), "
        f"(ROW('{THEIRS}', 1, 'theirs')::cards);\n"
    )
    async with fresh_database(postgres, filled) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in HELD_READS:
                rows = await conn.fetch(sql)
                assert sorted(str(r["org"]) for r in rows) == [MINE, THEIRS], sql
        finally:
            await conn.close()


def test_a_row_held_whole_is_flagged(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, HELD, tenant_column="org")
    for sql in HELD_READS:
        assert codes(sql, policy) == ["TG001"], sql
