"""Round 31: a foreign key's check at run time, for a policy without schema sources.

Helper h31a found that a foreign key referencing a tenant table by a unique key without the
tenant column (`invites.email REFERENCES members (email)`) is checked against every tenant's
rows: a request's INSERT of an invitation succeeds when another tenant has a member of that
e-mail and fails ("violates foreign key constraint") when none has, and a DELETE of one's own
member fails ("is still referenced from table") when another tenant's row references it. The
static check reads such keys in the schema sources (`Policy.checked_foreign_keys`, TG013); the
runtime guard read none for a policy written by hand, so every one of these ran. It now reads
them in the catalog, as it reads the unique keys that span tenants. Twins: the same schema with
the key composite with the tenant column, whose writes run; a reference to the primary key
(the rows' identity, as round 30 reads keys) runs.
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.runtime import connect, tenant

SCHEMA = """
CREATE TABLE workspaces (id bigint PRIMARY KEY);
CREATE TABLE members (ws_id bigint NOT NULL REFERENCES workspaces (id), id bigint NOT NULL,
  email text NOT NULL, PRIMARY KEY (ws_id, id), UNIQUE (ws_id, email), {unique});
CREATE TABLE invites (ws_id bigint NOT NULL REFERENCES workspaces (id), email text, note text,
  {key});
CREATE TABLE files (id bigint PRIMARY KEY, ws_id bigint NOT NULL REFERENCES workspaces (id));
CREATE TABLE file_tags (ws_id bigint NOT NULL REFERENCES workspaces (id),
  file_id bigint REFERENCES files (id), label text);
INSERT INTO workspaces VALUES (1), (2);
INSERT INTO members VALUES (1, 10, 'a@me'), (1, 11, 'b@me'), (1, 12, 'c@me'), (2, 10, 'v@victim');
INSERT INTO files VALUES (1, 1), (2, 2);
"""
SINGLE = {"unique": "UNIQUE (email)", "key": "FOREIGN KEY (email) REFERENCES members (email)"}
COMPOSITE = {
    "unique": "CHECK (true)",
    "key": "FOREIGN KEY (ws_id, email) REFERENCES members (ws_id, email)",
}
POLICY = Policy("ws_id", {"members", "invites", "files", "file_tags"}, global_tables={"workspaces"})

# (statement, the value that tells, a value that does not); $1 is workspace 1
TELLING = {
    "invite": (
        "INSERT INTO invites (ws_id, email, note) VALUES ($1, $2, 'x')",
        "v@victim",  # written: workspace 2 has this member
        "nobody@x",  # "violates foreign key constraint": nobody has
    ),
    "re-address an invite": (
        "UPDATE invites SET email = $2 WHERE ws_id = $1",
        "v@victim",
        "nobody@x",
    ),
    "delete a member": (
        "DELETE FROM members WHERE ws_id = $1 AND id = $2",
        11,  # "is still referenced from table": workspace 2 invites b@me
        12,  # deleted: nobody invites c@me
    ),
}


class _Rollback(Exception):
    pass


async def _outcome(conn: asyncpg.Connection, sql: str, value: object) -> str:
    try:
        async with conn.transaction():
            with tenant(1):
                status = await conn.execute(sql, 1, value)
            raise _Rollback(status)
    except _Rollback as done:
        return str(done)
    except TenantIsolationError:
        return "refused"
    except asyncpg.PostgresError as error:
        return type(error).__name__


async def _load(database: str, parts: dict[str, str]) -> None:
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(SCHEMA.format(**parts))
        await owner.execute("INSERT INTO invites VALUES (1, 'a@me', 'own')")
        if parts is SINGLE:  # workspace 2 invites workspace 1's member b@me
            await owner.execute("INSERT INTO invites VALUES (2, 'b@me', 'victim')")
    finally:
        await owner.close()


@pytest.mark.parametrize("shape", sorted(TELLING))
async def test_a_foreign_keys_check_tells_nothing_of_another_tenant(
    database: str, shape: str
) -> None:
    await _load(database, SINGLE)
    sql, telling, plain = TELLING[shape]
    raw = await asyncpg.connect(database)
    try:  # what the statement tells without the guard (the test's premise)
        unguarded = []
        for value in (telling, plain):
            transaction = raw.transaction()
            await transaction.start()
            try:
                unguarded.append((await raw.execute(sql, 1, value)).split()[0])
            except asyncpg.IntegrityConstraintViolationError as error:
                unguarded.append(type(error).__name__)
            finally:
                await transaction.rollback()
        assert unguarded[0] != unguarded[1], unguarded
    finally:
        await raw.close()
    conn = await connect(database, policy=POLICY)
    try:
        told = (await _outcome(conn, sql, telling), await _outcome(conn, sql, plain))
    finally:
        await conn.close()
    assert told == ("refused", "refused")


async def test_writes_checked_within_the_tenant_still_run(database: str) -> None:
    await _load(database, COMPOSITE)
    conn = await connect(database, policy=POLICY)
    try:
        with tenant(1):
            await conn.execute(
                "INSERT INTO invites (ws_id, email, note) VALUES ($1, $2, 'x')", 1, "b@me"
            )
            await conn.execute("UPDATE invites SET email = $2 WHERE ws_id = $1", 1, "b@me")
            await conn.execute("DELETE FROM members WHERE ws_id = $1 AND id = $2", 1, 12)
            # a reference to the primary key: the rows' identity, given explicitly
            await conn.execute(
                "INSERT INTO file_tags (ws_id, file_id, label) VALUES ($1, $2, 'x')", 1, 1
            )
            rows = await conn.fetch("SELECT email FROM invites WHERE ws_id = $1", 1)
        assert sorted(r[0] for r in rows) == ["b@me", "b@me"]
    finally:
        await conn.close()


VIEWS = """
CREATE VIEW my_invites AS SELECT ws_id, email AS mail, note FROM invites;
CREATE VIEW people AS SELECT ws_id, id, email FROM members;
CREATE VIEW team_sizes AS SELECT ws_id, count(*) AS n FROM members GROUP BY ws_id;
CREATE VIEW email_counts AS SELECT min(ws_id) AS ws_id, email, count(*) AS n FROM members
  GROUP BY email;
CREATE VIEW ranked AS SELECT ws_id, email, rank() OVER (ORDER BY email) AS r FROM members;
"""
THROUGH_VIEWS = {
    "invite through a view": (
        "INSERT INTO my_invites (ws_id, mail, note) VALUES ($1, $2, 'x')",
        "v@victim",
        "nobody@x",
    ),
    "delete a member through a view": ("DELETE FROM people WHERE ws_id = $1 AND id = $2", 11, 12),
}


async def _with_views(database: str) -> None:
    await _load(database, SINGLE)
    owner = await asyncpg.connect(database)
    try:
        await owner.execute(VIEWS)
    finally:
        await owner.close()


@pytest.mark.parametrize("shape", sorted(THROUGH_VIEWS))
async def test_through_a_view(database: str, shape: str) -> None:
    await _with_views(database)
    sql, telling, plain = THROUGH_VIEWS[shape]
    conn = await connect(database, policy=POLICY)
    try:
        told = (await _outcome(conn, sql, telling), await _outcome(conn, sql, plain))
    finally:
        await conn.close()
    assert told == ("refused", "refused")


# A policy written by hand names tables, not the views over them: the guard read the catalog's
# views for their code only, and `SELECT * FROM people` (a view of members) returned every
# workspace's members in enforce mode. It now sorts them as schema sources would: a view that
# passes a tenant table's rows through is read like one (pinned by its tenant column), one that
# aggregates or ranks across tenants cannot be pinned (round 10's rule for views).
REFUSED_READS = [
    "SELECT email FROM people",
    "SELECT email FROM people WHERE id = $1",
    "SELECT n FROM email_counts WHERE ws_id = $1",
    "SELECT email, r FROM ranked WHERE ws_id = $1",
]


@pytest.mark.parametrize("sql", REFUSED_READS)
async def test_a_view_of_tenant_rows_is_not_read_unpinned(database: str, sql: str) -> None:
    await _with_views(database)
    conn = await connect(database, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.fetch(sql, *([1] if "$1" in sql else []))
    finally:
        await conn.close()


async def test_a_view_pinned_by_its_tenant_column_is_read(database: str) -> None:
    await _with_views(database)
    conn = await connect(database, policy=POLICY)
    try:
        with tenant(1):
            rows = await conn.fetch("SELECT email FROM people WHERE ws_id = $1 ORDER BY id", 1)
            sizes = await conn.fetch("SELECT n FROM team_sizes WHERE ws_id = $1", 1)
        assert [r[0] for r in rows] == ["a@me", "b@me", "c@me"]
        assert [r[0] for r in sizes] == [3]  # grouped by the tenant column: one tenant's rows
    finally:
        await conn.close()
