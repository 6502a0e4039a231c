"""Helper h31a (fresh corpus, issue 10's classes): a foreign key's check is a read of every
tenant's rows.

A write that gives a value to a column of a foreign key referencing a tenant table by a key
without the tenant column (`email text REFERENCES members (email)`, `members.email UNIQUE`) is
checked by PostgreSQL against the referenced table's rows of every tenant, whatever pins the
statement: the INSERT succeeds when another tenant has a member of that e-mail and fails
("violates foreign key constraint") when no tenant has — the request's tenant learns another
tenant's e-mails (or tokens) one guess at a time, and its row now points at the other
tenant's. The same oracle as round 30's unique keys without the tenant column (TG013); the
primary key is not one (the rows' identity, as there). Twin: the key composite with the tenant
column (`FOREIGN KEY (ws_id, email) REFERENCES members (ws_id, email)`), checked within the
request's tenant only: the victim's e-mail fails as an unknown one does.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import fresh_database
from tests.proof.test_schema import policy_for

SCHEMA = """
CREATE TABLE workspaces (id bigint PRIMARY KEY, slug text NOT NULL);
CREATE TABLE members (ws_id bigint NOT NULL REFERENCES workspaces (id), id bigint NOT NULL,
  email text NOT NULL UNIQUE, PRIMARY KEY (ws_id, id), UNIQUE (ws_id, email));
CREATE TABLE invites (ws_id bigint NOT NULL REFERENCES workspaces (id), email text
  REFERENCES members (email), note text);
CREATE TABLE grants (ws_id bigint NOT NULL REFERENCES workspaces (id), email text, note text,
  FOREIGN KEY (ws_id, email) REFERENCES members (ws_id, email));
CREATE TABLE docs (ws_id bigint NOT NULL REFERENCES workspaces (id), id bigint PRIMARY KEY,
  title text);
CREATE TABLE links (ws_id bigint NOT NULL REFERENCES workspaces (id), email text, note text);
ALTER TABLE links ADD CONSTRAINT links_email FOREIGN KEY (email) REFERENCES members (email)
  NOT VALID;
CREATE TABLE shares (ws_id bigint NOT NULL REFERENCES workspaces (id), email text
  REFERENCES members (email) DEFERRABLE INITIALLY DEFERRED, note text);
CREATE TABLE referrals (ws_id bigint NOT NULL REFERENCES workspaces (id), from_ws bigint,
  email text, FOREIGN KEY (from_ws, email) REFERENCES members (ws_id, email));
CREATE TABLE files (ws_id bigint NOT NULL REFERENCES workspaces (id), id bigint NOT NULL,
  CONSTRAINT files_pk PRIMARY KEY (id));
CREATE TABLE file_tags (ws_id bigint NOT NULL REFERENCES workspaces (id),
  file_id bigint REFERENCES files (id), tag text);
CREATE TABLE pages (ws_id bigint NOT NULL REFERENCES workspaces (id), id bigint PRIMARY KEY);
ALTER TABLE pages RENAME CONSTRAINT pages_pkey TO pages_pk;
CREATE TABLE page_tags (ws_id bigint NOT NULL REFERENCES workspaces (id),
  page_id bigint REFERENCES pages (id), tag text);
CREATE VIEW my_invites AS SELECT ws_id, email AS mail, note FROM invites;
CREATE TABLE tags (ws_id bigint NOT NULL REFERENCES workspaces (id),
  doc_id bigint REFERENCES docs, tag text);
"""
DATA = """
INSERT INTO workspaces VALUES (1, 'me'), (2, 'victim');
INSERT INTO members VALUES (1, 10, 'a@me'), (2, 10, 'v@victim');
INSERT INTO invites VALUES (1, 'a@me', 'mine');
INSERT INTO grants VALUES (1, 'a@me', 'mine');
INSERT INTO docs VALUES (1, 100, 'mine'), (2, 200, 'theirs');
"""

# each writes the guessed e-mail ($2) as the request's tenant ($1)
CHECKED_ACROSS_TENANTS = {
    "INSERT": "INSERT INTO invites (ws_id, email, note) VALUES ($1, $2, 'x')",
    "INSERT without a column list": "INSERT INTO invites VALUES ($1, $2, 'x')",
    "INSERT … SELECT": "INSERT INTO invites (ws_id, email) SELECT $1, $2",
    "UPDATE": "UPDATE invites SET email = $2 WHERE ws_id = $1",
    "UPDATE of a row of columns": "UPDATE invites SET (email, note) = ($2, 'x') WHERE ws_id = $1",
    "MERGE": (
        "MERGE INTO invites i USING (SELECT $1::bigint AS w, $2::text AS e) s "
        "ON i.ws_id = s.w WHEN MATCHED THEN UPDATE SET email = s.e"
    ),
    "MERGE INSERT": (
        "MERGE INTO invites i USING (SELECT $1::bigint AS w, $2::text AS e) s "
        "ON i.ws_id = s.w AND false WHEN NOT MATCHED THEN INSERT (ws_id, email) VALUES (s.w, s.e)"
    ),
    "a composite key, its tenant column given by another column": (
        "INSERT INTO referrals (ws_id, from_ws, email) VALUES ($1, 2, $2)"
    ),
    "INSERT through an updatable view": (
        "INSERT INTO my_invites (ws_id, mail, note) VALUES ($1, $2, 'x')"
    ),
    "a key NOT VALID (new rows are checked)": (
        "INSERT INTO links (ws_id, email, note) VALUES ($1, $2, 'x')"
    ),
    "a key DEFERRABLE (checked at commit)": (
        "INSERT INTO shares (ws_id, email, note) VALUES ($1, $2, 'x')"
    ),
}
# twins: the key holds the tenant column (checked in the request's tenant only); the
# referenced primary key (the rows' identity, as for round 30's unique keys); no value given
CHECKED_IN_ONE_TENANT = {
    "composite key": "INSERT INTO grants (ws_id, email, note) VALUES ($1, $2, 'x')",
    "composite key, UPDATE": "UPDATE grants SET email = $2 WHERE ws_id = $1",
}
NOT_CHECKED = {
    "the referenced primary key": "INSERT INTO tags (ws_id, doc_id, tag) VALUES ($1, 200, 'x')",
    "the referenced primary key, renamed": (
        "INSERT INTO page_tags (ws_id, page_id, tag) VALUES ($1, 5, 'x')"
    ),
    "the referenced primary key, of another name": (
        "INSERT INTO file_tags (ws_id, file_id, tag) VALUES ($1, 5, 'x')"
    ),
    "another column": "INSERT INTO invites (ws_id, note) VALUES ($1, 'x')",
    "UPDATE of another column": "UPDATE invites SET note = 'x' WHERE ws_id = $1",
}


def _codes(sql: str, tmp_path: Path) -> list[str]:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="ws_id")
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


def test_a_write_checked_by_a_key_without_the_tenant_column_is_reported(
    tmp_path: Path,
) -> None:
    for shape, sql in CHECKED_ACROSS_TENANTS.items():
        assert "TG013" in _codes(sql, tmp_path), shape
    for shape, sql in {**CHECKED_IN_ONE_TENANT, **NOT_CHECKED}.items():
        assert _codes(sql, tmp_path) == [], shape


async def _outcome(conn: asyncpg.Connection, sql: str, email: str) -> str:
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(sql, 1, email)
        await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a deferred key's check: now
        return "written"
    except asyncpg.ForeignKeyViolationError:
        return "refused"
    finally:
        await transaction.rollback()


async def test_the_check_tells_whether_another_tenant_has_the_value(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, SCHEMA + DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for shape, sql in CHECKED_ACROSS_TENANTS.items():
                # the victim's e-mail is written, an e-mail no tenant has is refused
                assert await _outcome(conn, sql, "v@victim") == "written", shape
                assert await _outcome(conn, sql, "nobody@x") == "refused", shape
            for shape, sql in CHECKED_IN_ONE_TENANT.items():
                # the victim's e-mail is refused as an unknown one is: nothing told
                assert await _outcome(conn, sql, "v@victim") == "refused", shape
                assert await _outcome(conn, sql, "nobody@x") == "refused", shape
                assert await _outcome(conn, sql, "a@me") == "written", shape
        finally:
            await conn.close()


# the referenced side: another tenant's row referencing the request's by such a key makes the
# request's DELETE (or UPDATE of the key) fail — "is still referenced from table" tells that
# another tenant references it (an invitation of a@me by the victim's workspace). Twin: the
# key composite with the tenant column, which no other tenant's row can reference (its
# members have no e-mail unique across tenants: such a key is TG013 of its own, round 30).
REFERENCED = """
CREATE TABLE workspaces (id bigint PRIMARY KEY);
CREATE TABLE members (ws_id bigint NOT NULL REFERENCES workspaces (id), id bigint NOT NULL,
  email text NOT NULL {unique}, PRIMARY KEY (ws_id, id), UNIQUE (ws_id, email));
CREATE TABLE invites (ws_id bigint NOT NULL REFERENCES workspaces (id), email text
  {key}, note text);
CREATE VIEW people AS SELECT ws_id, id, email FROM members;
INSERT INTO workspaces VALUES (1), (2);
INSERT INTO members VALUES (1, 10, 'a@me'), (1, 11, 'b@me'), (2, 10, 'v@victim');
"""
SINGLE = "REFERENCES members (email)"
COMPOSITE = ", FOREIGN KEY (ws_id, email) REFERENCES members (ws_id, email)"
REFERENCED_WRITES = {
    "DELETE": "DELETE FROM members WHERE ws_id = $1 AND id = $2",
    "UPDATE of the key": "UPDATE members SET email = 'new@me' WHERE ws_id = $1 AND id = $2",
    "ON CONFLICT DO UPDATE of the key": (
        "INSERT INTO members (ws_id, id, email) VALUES ($1, $2, 'b@me') "
        "ON CONFLICT (ws_id, id) DO UPDATE SET email = 'new@me'"
    ),
    "DELETE through an updatable view": "DELETE FROM people WHERE ws_id = $1 AND id = $2",
    "MERGE … DELETE": (
        "MERGE INTO members m USING (SELECT $1::bigint AS w, $2::bigint AS i) s "
        "ON m.ws_id = s.w AND m.id = s.i WHEN MATCHED THEN DELETE"
    ),
    "MERGE … UPDATE of the key": (
        "MERGE INTO members m USING (SELECT $1::bigint AS w, $2::bigint AS i) s "
        "ON m.ws_id = s.w AND m.id = s.i WHEN MATCHED THEN UPDATE SET email = 'new@me'"
    ),
}
NOT_REFERENCED_WRITES = {
    "UPDATE of another column": "UPDATE members SET id = 99 WHERE ws_id = $1 AND id = $2",
}


def test_a_write_of_a_row_other_tenants_may_reference_is_reported(tmp_path: Path) -> None:
    single = policy_for(
        tmp_path, REFERENCED.format(key=SINGLE, unique="UNIQUE"), tenant_column="ws_id"
    )
    (tmp_path / "twin").mkdir()
    composite = policy_for(
        tmp_path / "twin", REFERENCED.format(key=COMPOSITE, unique=""), tenant_column="ws_id"
    )
    for shape, sql in REFERENCED_WRITES.items():
        found = analyze_statement(sql, single).findings  # type: ignore[arg-type]
        assert found and {f.code for f in found} == {"TG013"}, shape  # (the key's own, too)
        assert not analyze_statement(sql, composite).findings, shape  # type: ignore[arg-type]
    for shape, sql in NOT_REFERENCED_WRITES.items():
        assert not analyze_statement(sql, single).findings, shape  # type: ignore[arg-type]


async def _refused(conn: asyncpg.Connection, sql: str, member: int) -> bool:
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(sql, 1, member)
        return False
    except asyncpg.ForeignKeyViolationError:
        return True
    finally:
        await transaction.rollback()


async def test_the_refusal_tells_that_another_tenant_references_the_row(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, REFERENCED.format(key=SINGLE, unique="UNIQUE")) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for shape, sql in REFERENCED_WRITES.items():
                assert not await _refused(conn, sql, 11), shape  # nobody references b@me
            await conn.execute("INSERT INTO invites VALUES (2, 'b@me', 'the victim invites')")
            for shape, sql in REFERENCED_WRITES.items():
                assert await _refused(conn, sql, 11), shape  # … now the victim does
            for shape, sql in NOT_REFERENCED_WRITES.items():
                assert not await _refused(conn, sql, 11), shape
        finally:
            await conn.close()
    async with fresh_database(postgres, REFERENCED.format(key=COMPOSITE, unique="")) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            with pytest.raises(asyncpg.ForeignKeyViolationError):  # the victim cannot
                await conn.execute("INSERT INTO invites VALUES (2, 'b@me', 'the victim invites')")
            for shape, sql in REFERENCED_WRITES.items():
                assert not await _refused(conn, sql, 11), shape
        finally:
            await conn.close()


def test_a_write_checked_by_two_keys_is_reported_once(tmp_path: Path) -> None:
    # members.email is a unique key across tenants (round 30's TG013) that invites.email
    # references (h31a's): an UPDATE of it is one finding at its SET, not two
    single = policy_for(
        tmp_path, REFERENCED.format(key=SINGLE, unique="UNIQUE"), tenant_column="ws_id"
    )
    found = analyze_statement(REFERENCED_WRITES["UPDATE of the key"], single).findings  # type: ignore[arg-type]
    assert [(f.code, f.column) for f in found] == [("TG013", 8)]
    assert "unique key" in found[0].message
