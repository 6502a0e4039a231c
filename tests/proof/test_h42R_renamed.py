"""Round 42, helper R: a table whose tenant column has another name (h42A's class), one step
further, on a real server. h42A made `room_blocks (block_org, …, FOREIGN KEY (block_org,
room_id) REFERENCES rooms (org_key, id))` a tenant table nothing pins; its copies were still
global: `CREATE TABLE blocks_like (LIKE room_blocks INCLUDING ALL)` (LIKE copies no foreign key,
so the copy's block_org told nothing) and a table holding its row type (`block_history (at
date, old room_blocks)`, `SELECT (old).reason FROM block_history`) passed while the other org's
'flood' came back. Now a LIKE copy of such a table is one too, and a table holding its rows is
one holding tenant rows (HELD_ROWS), as for a row type with the tenant column itself.

The rest of the class, attacked from outside, was already flagged and is pinned here: a key
added by ALTER TABLE (NOT VALID too), a table in another schema with quoted mixed-case names,
a partitioned table and its partition, a column renamed afterwards, a CTAS copy, a function
returning its rows. Twins: a LIKE copy and a holder of a global table's row type stay global;
a renamed column renamed to the tenant column is pinned by it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database
from tests.leak_corpus import codes
from tests.proof.test_h42A_proof import MINE, RENAMED_ROWS, RENAMED_SCHEMA, THEIRS
from tests.proof.test_schema import policy_for

SCHEMA = (
    RENAMED_SCHEMA
    + """
CREATE TABLE blocks_like (LIKE room_blocks INCLUDING ALL);
CREATE TABLE blocks_copy AS SELECT * FROM room_blocks;
CREATE TABLE block_history (at date, old room_blocks);
CREATE TABLE pblocks (block_org uuid NOT NULL, room_id int NOT NULL, reason text NOT NULL,
  FOREIGN KEY (block_org, room_id) REFERENCES rooms (org_key, id)) PARTITION BY LIST (room_id);
CREATE TABLE pblocks_1 PARTITION OF pblocks FOR VALUES IN (1);
CREATE TABLE late (late_org uuid NOT NULL, room_id int NOT NULL, reason text NOT NULL);
ALTER TABLE late ADD FOREIGN KEY (late_org, room_id) REFERENCES rooms (org_key, id) NOT VALID;
CREATE SCHEMA arch;
CREATE TABLE arch."Blocks" ("Org" uuid NOT NULL, room_id int NOT NULL, reason text NOT NULL);
ALTER TABLE arch."Blocks" ADD FOREIGN KEY ("Org", room_id) REFERENCES public.rooms (org_key, id);
CREATE TABLE renamed_later (x_org uuid NOT NULL, room_id int NOT NULL, reason text NOT NULL,
  FOREIGN KEY (x_org, room_id) REFERENCES rooms (org_key, id));
ALTER TABLE renamed_later RENAME COLUMN x_org TO owner;
CREATE TABLE renamed_org (x_org uuid NOT NULL, room_id int NOT NULL, reason text NOT NULL,
  FOREIGN KEY (x_org, room_id) REFERENCES rooms (org_key, id));
ALTER TABLE renamed_org RENAME COLUMN x_org TO org_key;
CREATE FUNCTION block_reasons() RETURNS SETOF text LANGUAGE sql STABLE
  AS 'SELECT reason FROM room_blocks';
CREATE TABLE amenities_like (LIKE amenities INCLUDING ALL);
CREATE TABLE amenity_history (at date, old amenities);
"""
)
ROWS = (
    RENAMED_ROWS
    + f"""
INSERT INTO blocks_like SELECT * FROM room_blocks;
INSERT INTO block_history SELECT now(), b FROM room_blocks b;
INSERT INTO pblocks SELECT block_org, room_id, reason FROM room_blocks;
INSERT INTO late SELECT block_org, room_id, reason FROM room_blocks;
INSERT INTO arch."Blocks" SELECT block_org, room_id, reason FROM room_blocks;
INSERT INTO renamed_later SELECT block_org, room_id, reason FROM room_blocks;
INSERT INTO renamed_org VALUES ('{MINE}', 1, 'paint'), ('{THEIRS}', 1, 'flood');
INSERT INTO amenities_like VALUES (1, 'wifi');
INSERT INTO amenity_history SELECT now(), a FROM amenities a;
"""
)
# each returns the other org's 'flood' on the server
LEAKS = [
    "SELECT reason FROM blocks_like",  # fixed here
    "SELECT (old).reason AS reason FROM block_history",  # fixed here
    "SELECT (h.old).* FROM block_history h",  # fixed here
    "SELECT reason FROM pblocks",
    "SELECT reason FROM pblocks_1",
    "SELECT reason FROM late",
    'SELECT reason FROM arch."Blocks"',
    "SELECT reason FROM renamed_later",
    "SELECT reason FROM renamed_org",
    "SELECT r AS reason FROM block_reasons() AS r",
]
TWINS = [
    "SELECT name FROM amenities_like",
    "SELECT (old).name FROM amenity_history",
    "SELECT reason FROM renamed_org WHERE org_key = $1",
]


async def test_copies_of_a_renamed_tenant_table_on_the_server(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org_key")
    async with fresh_database(postgres, SCHEMA + ROWS) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in LEAKS:
                found = [r["reason"] for r in await conn.fetch(sql)]
                assert "flood" in found and "paint" in found, sql  # the other org's row came back
                assert codes(sql, policy) == ["TG001"], sql
            for sql in TWINS:
                args = [uuid.UUID(MINE)] if "$1" in sql else []
                found = [r[0] for r in await conn.fetch(sql, *args)]
                assert found and "flood" not in found, sql
                assert codes(sql, policy) == [], sql
        finally:
            await conn.close()
