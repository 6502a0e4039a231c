"""Round 12 (fp12): false alarms of the proof closed, each beside its unsafe twin, on PostgreSQL 15.

Tenant column `org uuid`. Each safe statement is proven and, run on the server with org A's
value, reads (or writes) org A's rows only; each twin is flagged and, run on the server, reaches
org B's rows (or writes a row of org B, or of no org).

1. `DECLARE … CURSOR … FOR query`: the query is proven as itself (the rows are FETCHed here).
   At run time the guard checks it like the query, and refuses one pinned by the tenant
   expression: the cursor's query reads the setting when its rows are fetched.
2. An INSERT into a table whose tenant column is generated as a copy of one column
   (`org uuid GENERATED ALWAYS AS (owner) STORED`) sets the tenant through that column.
3. `(p).org` is `p.org` when no source may have a column named p.
4. `(org = $1) IS TRUE` is `org = $1`; `IS NOT FALSE` is not (NULL IS NOT FALSE).
5. `org IN ($1, NULL)` is `org IN ($1)`.
6. `CASE org WHEN $1 THEN TRUE ELSE FALSE END` and `ARRAY[org] <@ ARRAY[$1::uuid]` are `org = $1`.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tenantguard import Policy, TenantIsolationError
from tenantguard.engine.analyze import analyze_statement
from tenantguard.runtime import connect, tenant
from tests.proof.test_attack11_proof import _codes, _fetch
from tests.proof.test_schema import policy_for

A = "aaaaaaaa-0000-0000-0000-000000000001"
B = "bbbbbbbb-0000-0000-0000-000000000002"

SCHEMA = """
CREATE TYPE ref AS (org uuid, label text);
CREATE TABLE orgs (id uuid PRIMARY KEY);
CREATE TABLE tasks (id bigint PRIMARY KEY, org uuid NOT NULL REFERENCES orgs (id), owner uuid,
    title text, n int, UNIQUE (org, title));
CREATE TABLE notes (id bigint PRIMARY KEY, org uuid NOT NULL REFERENCES orgs (id), p ref,
    title text);
CREATE TABLE rates (id bigint PRIMARY KEY, score real);
CREATE FUNCTION f_text(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE FUNCTION all_tasks() RETURNS SETOF tasks LANGUAGE sql STABLE AS $$ SELECT * FROM tasks $$;
CREATE FUNCTION "Now"() RETURNS SETOF tasks LANGUAGE sql STABLE AS $$ SELECT * FROM tasks $$;
CREATE TABLE gen (id bigint PRIMARY KEY, owner uuid NOT NULL,
    org uuid GENERATED ALWAYS AS (owner) STORED, body text);
CREATE TABLE gen_cast (id bigint PRIMARY KEY, owner uuid NOT NULL,
    org uuid GENERATED ALWAYS AS (owner::uuid) STORED, body text);
CREATE TABLE gen_child (extra text) INHERITS (gen);
CREATE TABLE gen_like (LIKE gen INCLUDING GENERATED);
CREATE TABLE gen_like_plain (LIKE gen);
CREATE TABLE gen_mixed (id bigint PRIMARY KEY, owner uuid NOT NULL, fallback uuid,
    org uuid GENERATED ALWAYS AS (coalesce(fallback, owner)) STORED, body text);
CREATE TABLE gen_dropped (id bigint PRIMARY KEY, owner uuid NOT NULL,
    org uuid GENERATED ALWAYS AS (owner) STORED, body text);
ALTER TABLE gen_dropped ALTER COLUMN org DROP EXPRESSION;
CREATE TABLE gen_renamed (id bigint PRIMARY KEY, owner uuid NOT NULL,
    org uuid GENERATED ALWAYS AS (owner) STORED, body text);
ALTER TABLE gen_renamed RENAME COLUMN owner TO author;
ALTER TABLE gen_renamed ADD COLUMN owner uuid;
"""
DATA = f"""
INSERT INTO orgs VALUES ('{A}'), ('{B}');
INSERT INTO tasks VALUES (1, '{A}', NULL, 'own', 1), (2, '{B}', NULL, 'VICTIM', 1);
INSERT INTO notes VALUES (1, '{A}', ROW('{B}', 'x'), 'own'), (2, '{B}', ROW('{A}', 'x'), 'VICTIM');
"""


def _policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org")
    assert isinstance(policy, Policy)
    return policy


async def _loaded(database: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(database)
    await conn.execute(SCHEMA + DATA)
    return conn


# ---------------------------------------------------------------- 1. DECLARE … CURSOR
# (statement, the cursor's name as FETCH names it): $1 is org A
CURSOR_SAFE = [
    ("DECLARE c CURSOR FOR SELECT title FROM tasks WHERE org = $1", "c"),
    (
        "DECLARE c BINARY INSENSITIVE NO SCROLL CURSOR WITHOUT HOLD FOR "
        "SELECT title FROM tasks WHERE org = $1",
        "c",
    ),
    ("DECLARE c SCROLL CURSOR WITH HOLD FOR SELECT title FROM tasks WHERE org = $1", "c"),
    (
        'declare "C" asensitive cursor /* for */ for (select title from tasks where org = $1)',
        '"C"',
    ),
    ("DECLARE c CURSOR FOR SELECT t.title FROM tasks t JOIN orgs o ON o.id = t.org "
     "WHERE t.org = $1", "c"),
]  # fmt: skip
# (statement, the finding): org B's rows come back
CURSOR_LEAKS = [
    ("DECLARE c CURSOR FOR SELECT title FROM tasks", "TG001"),
    ("DECLARE c NO SCROLL CURSOR WITH HOLD FOR SELECT title FROM tasks WHERE $1::uuid IS NOT NULL",
     "TG001"),
    ("DECLARE c CURSOR FOR SELECT title FROM tasks WHERE org = $1 OR true", "TG001"),
    ("DECLARE c CURSOR FOR SELECT title FROM tasks WHERE org = $1 "
     'UNION ALL SELECT title FROM U&"\\0074asks"', "TG006"),
    ('DECLARE c CURSOR FOR SELECT title FROM U&"\\0074asks" WHERE org = $1 OR true', "TG006"),
    # sqlglot reads `U&"\0061ll_tasks"()` as `U & "\0061ll_tasks"()`: the server calls all_tasks()
    ('DECLARE c CURSOR FOR SELECT (U&"\\0061ll_tasks"()).title', "TG006"),
    # sqlglot reads `"Now"()` as now(): the server calls the schema's "Now"()
    ('DECLARE c CURSOR FOR SELECT title FROM "Now"()', "TG006"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "name"), CURSOR_SAFE)
def test_a_cursor_over_a_pinned_query_is_proven(tmp_path: Path, sql: str, name: str) -> None:
    assert _codes(sql, _policy(tmp_path)) == [], sql


@pytest.mark.parametrize(("sql", "code"), CURSOR_LEAKS)
def test_a_cursor_over_an_unpinned_query_is_flagged(tmp_path: Path, sql: str, code: str) -> None:
    assert _codes(sql, _policy(tmp_path)) == [code], sql


def test_the_findings_of_a_cursor_point_into_its_query(tmp_path: Path) -> None:
    sql = "DECLARE c CURSOR\nFOR SELECT title FROM tasks"
    (finding,) = analyze_statement(sql, _policy(tmp_path)).findings
    assert (finding.code, finding.line, finding.column) == ("TG001", 2, 23)


async def _cursor_rows(conn: asyncpg.Connection, sql: str, name: str, *args: object) -> list[str]:
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(sql, *args) if args else await conn.execute(sql)
        return sorted(str(r[0]) for r in await conn.fetch(f"FETCH ALL FROM {name}"))
    finally:
        await transaction.rollback()


async def test_the_cursors_rows_on_the_server(database: str) -> None:
    conn = await _loaded(database)
    try:
        for sql, name in CURSOR_SAFE:
            assert await _cursor_rows(conn, sql, name, A) == ["own"], sql
        for sql, _ in CURSOR_LEAKS:
            args = (A,) if "$1" in sql else ()
            assert "VICTIM" in await _cursor_rows(conn, sql, "c", *args), sql
    finally:
        await conn.close()


async def test_the_guard_checks_a_cursor_as_its_query(database: str, tmp_path: Path) -> None:
    """The runtime proves the cursor's query: pinned by a parameter, its value must be the
    request's tenant; unpinned, refused. Pinned by the tenant expression, refused too: the
    query reads the setting when the rows are FETCHed, not when the cursor is declared (shown
    below: the setting changed in between, the rows are the new setting's)."""
    raw = await _loaded(database)
    guarded = await connect(database, policy=_policy(tmp_path))
    try:
        with tenant(uuid.UUID(A)):
            async with guarded.transaction():
                await guarded.execute(CURSOR_SAFE[0][0], uuid.UUID(A))
                rows = await guarded.fetch("FETCH ALL FROM c")
            assert [r[0] for r in rows] == ["own"]
            for sql, args in [
                (CURSOR_SAFE[0][0], (uuid.UUID(B),)),
                (CURSOR_LEAKS[0][0], ()),
                (CURSOR_LEAKS[1][0], (uuid.UUID(A),)),
                (
                    "DECLARE c CURSOR FOR SELECT title FROM tasks "
                    "WHERE org = current_setting('app.tenant_id')::uuid",
                    (),
                ),
            ]:
                async with guarded.transaction():
                    with pytest.raises(TenantIsolationError):
                        await guarded.execute(sql, *args)
        # why the tenant expression cannot pin a cursor
        async with raw.transaction():
            await raw.execute(f"SET LOCAL app.tenant_id = '{A}'")
            await raw.execute(
                "DECLARE c CURSOR FOR SELECT title FROM tasks "
                "WHERE org = current_setting('app.tenant_id')::uuid"
            )
            await raw.execute(f"SET LOCAL app.tenant_id = '{B}'")
            assert [r[0] for r in await raw.fetch("FETCH ALL FROM c")] == ["VICTIM"]
    finally:
        await guarded.close()
        await raw.close()


# ---------------------------------------------------------------- 2. a generated tenant column
# `org uuid GENERATED ALWAYS AS (owner) STORED` (or `owner::uuid`, inherited, copied by LIKE):
# the row's org is the owner it is given. $1 is org A, $2 and $3 ids.
GENERATED_SAFE = [
    "INSERT INTO gen (id, owner, body) VALUES ($2, $1, 'x')",
    "INSERT INTO gen (body, owner, id) VALUES ('x', $1::uuid, $2)",
    "INSERT INTO gen (id, owner, body) VALUES ($2, $1, 'x'), ($3, $1, 'y')",
    "INSERT INTO gen (id, owner, body) VALUES ($2, $1, 'x') RETURNING org, body",
    "INSERT INTO gen (id, owner, body) SELECT $2, t.org, t.title FROM tasks t WHERE t.org = $1",
    "INSERT INTO gen_cast (id, owner, body) VALUES ($2, $1, 'x')",
    "INSERT INTO gen_child (id, owner, body) VALUES ($2, $1, 'x')",
    "INSERT INTO gen_like (id, owner, body) VALUES ($2, $1, 'x')",
    "MERGE INTO gen g USING (SELECT 1) s ON g.org = $1 AND g.id = $2 "
    "WHEN NOT MATCHED THEN INSERT (id, owner, body) VALUES ($2, $1, 'x')",
]
# (statement, its arguments, the finding, what the server writes as org: B, or None for no org)
_A, _B = uuid.UUID(A), uuid.UUID(B)
GENERATED_LEAKS: list[tuple[str, tuple[object, ...], str, str | None]] = [
    ("INSERT INTO gen (id, owner, body) SELECT $2, o.id, 'x' FROM orgs o WHERE o.id <> $1",
     (_A, 10), "TG002", B),
    ("INSERT INTO gen (id, owner, body) VALUES ($2, (SELECT id FROM orgs WHERE id <> $1), 'x')",
     (_A, 10), "TG002", B),
    ("INSERT INTO gen (id, owner, body) VALUES ($2, $1, 'x'), ($3, $4, 'y')", (_A, 10, 11, _B),
     "TG012", B),
    # generated otherwise than as a copy: `coalesce(fallback, owner)` is the fallback's org
    ("INSERT INTO gen_mixed (id, owner, fallback, body) VALUES ($2, $1, $3, 'x')", (_A, 10, _B),
     "TG002", B),
    # no longer generated (DROP EXPRESSION): a row of no org
    ("INSERT INTO gen_dropped (id, owner, body) VALUES ($2, $1, 'x')", (_A, 10), "TG002", None),
    # generated from the column renamed author; owner is another column
    ("INSERT INTO gen_renamed (id, owner, author, body) VALUES ($2, $1, $3, 'x')", (_A, 10, _B),
     "TG002", B),
    # LIKE without INCLUDING GENERATED: org is a plain column there, left NULL
    ("INSERT INTO gen_like_plain (id, owner, body) VALUES ($2, $1, 'x')", (_A, 10), "TG002",
     None),
    # DEFAULT for the copied column is its default (none here), not the tenant's
    ("INSERT INTO gen_dropped (id, owner, org, body) VALUES ($2, $1, DEFAULT, 'x')", (_A, 10),
     "TG002", None),
]  # fmt: skip


@pytest.mark.parametrize("sql", GENERATED_SAFE)
def test_an_insert_through_the_column_the_tenant_column_copies_is_proven(
    tmp_path: Path, sql: str
) -> None:
    assert _codes(sql, _policy(tmp_path)) == [], sql


@pytest.mark.parametrize(("sql", "args", "code", "written"), GENERATED_LEAKS)
def test_an_insert_that_does_not_write_the_tenant_through_it_is_flagged(
    tmp_path: Path, sql: str, args: tuple[object, ...], code: str, written: str | None
) -> None:
    assert code in _codes(sql, _policy(tmp_path)), sql


def test_only_exact_copies_are_kept(tmp_path: Path) -> None:
    assert dict(_policy(tmp_path).tenant_copies) == {
        "gen": "owner",
        "gen_cast": "owner",
        "gen_child": "owner",
        "gen_like": "owner",
    }


def test_an_insert_that_leaves_the_copied_column_out_is_flagged(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    assert _codes("INSERT INTO gen (id, body) VALUES ($1, 'x')", policy) == ["TG002"]
    assert _codes("INSERT INTO gen (id, owner, body) VALUES ($1, NULL, 'x')", policy) == ["TG002"]
    assert _codes("INSERT INTO gen VALUES ($1, $2)", policy) == ["TG002"]


async def test_the_guard_checks_the_value_given_to_the_copied_column(
    database: str, tmp_path: Path
) -> None:
    raw = await _loaded(database)
    guarded = await connect(database, policy=_policy(tmp_path))
    try:
        with tenant(uuid.UUID(A)):
            await guarded.execute(GENERATED_SAFE[0], uuid.UUID(A), 10)
            with pytest.raises(TenantIsolationError):
                await guarded.execute(GENERATED_SAFE[0], uuid.UUID(B), 11)
        assert [str(r[0]) for r in await raw.fetch("SELECT org FROM gen")] == [A]
    finally:
        await guarded.close()
        await raw.close()


def test_default_for_the_copied_column_is_not_the_tenant_default() -> None:
    """`DEFAULT` where the copied column stands is that column's default: never the tenant
    expression the tenant column might default to (a policy where both are said of a table)."""
    policy = Policy("org", {"gen"}, tenant_copies={"gen": "owner"}, tenant_defaults={"gen": 0})
    assert _codes("INSERT INTO gen (id, owner) VALUES (1, DEFAULT)", policy) == ["TG002"]
    assert _codes("INSERT INTO gen (id, owner) VALUES (1, $1)", policy) == []


async def _written(conn: asyncpg.Connection, sql: str, *args: object) -> list[str | None]:
    """The orgs of the rows the statement writes (ids 10 and 11), rolled back."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(sql, *args)
        rows = []
        for table in (
            "gen",
            "gen_cast",
            "gen_like",
            "gen_like_plain",
            "gen_mixed",
            "gen_dropped",
            "gen_renamed",
        ):
            query = f"SELECT org FROM {table} WHERE id IN (10, 11) ORDER BY id"
            rows += [None if r[0] is None else str(r[0]) for r in await conn.fetch(query)]
        return rows
    finally:
        await transaction.rollback()


async def test_the_written_orgs_on_the_server(database: str) -> None:
    conn = await _loaded(database)
    try:
        for sql in GENERATED_SAFE:
            values = [uuid.UUID(A), 10, 11][: sql.count("$3") + 2]
            written = await _written(conn, sql, *values)
            assert written and set(written) == {A}, sql
        for sql, args, _, org in GENERATED_LEAKS:
            assert org in await _written(conn, sql, *args), sql
    finally:
        await conn.close()


# a bigint tenant column generated from a float or with arithmetic: two tenants meet. (A column
# named like one of a lossy type anywhere in the schema is read as lossy: names, not tables.)
NUMBERS = """
CREATE TABLE ledger (id bigint PRIMARY KEY, owner bigint NOT NULL,
    tenant_id bigint GENERATED ALWAYS AS (owner) STORED);
CREATE TABLE ledger_next (id bigint PRIMARY KEY, owner bigint NOT NULL,
    tenant_id bigint GENERATED ALWAYS AS (owner + 1) STORED);
CREATE TABLE ledger_float (id bigint PRIMARY KEY, weight float8 NOT NULL,
    tenant_id bigint GENERATED ALWAYS AS (weight) STORED);
CREATE TABLE ledger_float_cast (id bigint PRIMARY KEY, weight float8 NOT NULL,
    tenant_id bigint GENERATED ALWAYS AS (weight::bigint) STORED);
CREATE TABLE ledger_numeric (id bigint PRIMARY KEY, owner numeric NOT NULL,
    tenant_id bigint GENERATED ALWAYS AS (owner::numeric(4, 0)) STORED);
"""
OWN = 9007199254740993  # float8 reads it as 9007199254740992, another tenant
NUMBER_LEAKS = [
    ("INSERT INTO ledger_next (id, owner) VALUES (1, $1)", 9007199254740992, OWN),
    ("INSERT INTO ledger_float (id, weight) VALUES (1, $1)", OWN, 9007199254740992),
    ("INSERT INTO ledger_float_cast (id, weight) VALUES (1, $1)", OWN, 9007199254740992),
]


def test_only_a_copy_of_an_exact_column_is_kept(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, NUMBERS)
    assert isinstance(policy, Policy)
    assert dict(policy.tenant_copies) == {"ledger": "owner"}
    assert _codes("INSERT INTO ledger (id, owner) VALUES (1, $1)", policy) == []
    for sql, _, _ in NUMBER_LEAKS:
        assert _codes(sql, policy) == ["TG002"], sql
    assert _codes("INSERT INTO ledger_numeric (id, owner) VALUES (1, $1)", policy) == ["TG002"]


async def test_a_float_or_an_offset_writes_another_tenant_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(NUMBERS)
        for sql, value, written in NUMBER_LEAKS:
            await conn.execute(sql, value)
            table = sql.split()[2]
            assert await conn.fetchval(f"SELECT tenant_id FROM {table}") == written, sql
    finally:
        await conn.close()


# ---------------------------------------------------------------- 3 to 6: spellings of `org = $1`
# (statement, $1): org A's rows only
SPELLINGS_SAFE: list[tuple[str, Any]] = [
    ("SELECT title FROM tasks p WHERE (p).org = $1", A),
    ("SELECT title FROM tasks WHERE (tasks).org = $1", A),
    ("SELECT title FROM tasks p WHERE ((p)).org = $1 AND p.n > 0", A),
    ("SELECT t.title FROM tasks t WHERE (t.*).org = $1", A),
    (
        "SELECT p.title FROM tasks p WHERE p.org = $1 "
        "AND EXISTS (SELECT 1 FROM tasks t WHERE t.org = (p).org)",
        A,
    ),
    ("SELECT title FROM tasks WHERE (org = $1) IS TRUE", A),
    ("SELECT title FROM tasks WHERE org = $1 IS TRUE AND n > 0", A),
    ("SELECT title FROM tasks WHERE ((org = $1) IS TRUE) IS TRUE", A),
    ("SELECT title FROM tasks WHERE org IN ($1, NULL)", A),
    ("SELECT title FROM tasks WHERE org IN (NULL::uuid, $1)", A),
    ("SELECT title FROM tasks WHERE CASE org WHEN $1 THEN true ELSE false END", A),
    ("SELECT title FROM tasks WHERE CASE org WHEN $1 THEN true END", A),
    ("SELECT title FROM tasks WHERE CASE WHEN org = $1 THEN true ELSE NULL END", A),
    ("SELECT title FROM tasks WHERE ARRAY[org] <@ ARRAY[$1::uuid]", A),
    ("SELECT title FROM tasks WHERE ARRAY[$1::uuid] @> ARRAY[org]", A),
    ("SELECT title FROM tasks WHERE ARRAY[org] @> ARRAY[$1::uuid]", A),
    # (confirmed proven before this round; kept) a schema function beside the pin
    ("SELECT title FROM tasks WHERE org = $1 AND f_text(title) <> f_text('x')", A),
]
# (statement, $1, the finding): org B's rows come back
SPELLINGS_LEAKS: list[tuple[str, Any, str]] = [
    # notes has a composite column p: `(p)` is that column, `(p).org` its field
    ("SELECT title FROM notes p WHERE (p).org = $1", A, "TG001"),
    ("SELECT n.title FROM notes n JOIN tasks p ON p.org = n.org WHERE (p).org = $1", A, "TG001"),
    ("SELECT p.title FROM tasks p WHERE EXISTS (SELECT 1 FROM notes WHERE (p).org = $1)", A,
     "TG001"),
    ("SELECT title FROM tasks WHERE (org = $1) IS NOT FALSE", None, "TG001"),
    ("SELECT title FROM tasks WHERE (org = $1) IS NOT TRUE", A, "TG001"),
    ("SELECT title FROM tasks WHERE (org = $1) IS FALSE", A, "TG001"),
    ("SELECT title FROM tasks WHERE CASE WHEN org = $1 THEN false ELSE true END", A, "TG001"),
    ("SELECT title FROM tasks WHERE (org = $1 OR n > 0) IS TRUE", A, "TG001"),
    ("SELECT title FROM tasks WHERE org IN ($1, NULL) OR n > 0", A, "TG001"),
    ("SELECT title FROM tasks WHERE CASE org WHEN $1 THEN false ELSE true END", A, "TG001"),
    ("SELECT title FROM tasks WHERE CASE org WHEN $1 THEN true ELSE true END", A, "TG001"),
    ("SELECT title FROM tasks WHERE CASE WHEN org = $1 THEN true ELSE n > 0 END", A, "TG001"),
    ("SELECT title FROM tasks WHERE ARRAY[org] <@ $1::uuid[]", [A, B], "TG001"),
    ("SELECT title FROM tasks WHERE $1::uuid[] IS NOT NULL AND ARRAY[org] <@ ARRAY[$1]", [A, B],
     "TG001"),
    ("SELECT title FROM tasks WHERE ARRAY[org] <@ ARRAY[]::uuid[] OR $1::uuid IS NOT NULL", A,
     "TG001"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "value"), SPELLINGS_SAFE)
def test_safe_spellings_are_proven(tmp_path: Path, sql: str, value: Any) -> None:
    assert _codes(sql, _policy(tmp_path)) == [], sql


@pytest.mark.parametrize(("sql", "value", "code"), SPELLINGS_LEAKS)
def test_their_twins_are_flagged(tmp_path: Path, sql: str, value: Any, code: str) -> None:
    assert set(_codes(sql, _policy(tmp_path))) == {code}, sql


async def test_the_spellings_rows_on_the_server(database: str) -> None:
    conn = await _loaded(database)
    try:
        for sql, value in SPELLINGS_SAFE:
            assert await _fetch(conn, sql, value) == ["own"], sql
        for sql, value, _ in SPELLINGS_LEAKS:
            assert "VICTIM" in await _fetch(conn, sql, value), sql
    finally:
        await conn.close()


# ---------------------------------------------------------------- confirmed: no false alarm
# An upsert on a conflict target with the tenant column, its DO UPDATE filtered by the existing
# row's org; a schema function of a declared type beside the pin (the schema has a `real`
# column, so the walk for parameters typed by lossy columns runs).
CONFIRMED = [
    "INSERT INTO tasks AS t (id, org, title, n) VALUES ($2, $1, $3, 1) "
    "ON CONFLICT (org, title) DO UPDATE SET n = t.n + 1 WHERE t.org = EXCLUDED.org",
    "SELECT title FROM tasks WHERE org = $1 AND f_text(title) = $2",
]


@pytest.mark.parametrize("sql", CONFIRMED)
def test_statements_that_were_already_proven(tmp_path: Path, sql: str) -> None:
    assert _codes(sql, _policy(tmp_path)) == [], sql


async def test_the_upsert_touches_the_own_orgs_row_on_the_server(database: str) -> None:
    conn = await _loaded(database)
    try:
        await conn.execute(CONFIRMED[0], uuid.UUID(A), 3, "VICTIM")  # B has a task 'VICTIM'
        rows = await conn.fetch("SELECT org::text, title, n FROM tasks ORDER BY id")
        assert [tuple(r) for r in rows] == [
            (A, "own", 1),
            (B, "VICTIM", 1),
            (A, "VICTIM", 1),
        ]
        await conn.execute(CONFIRMED[0], uuid.UUID(A), 4, "VICTIM")
        counted = "SELECT n FROM tasks WHERE org = $1 AND title = 'VICTIM'"
        assert await conn.fetchval(counted, B) == 1
        assert await conn.fetchval(counted, A) == 2
        assert await _fetch(conn, CONFIRMED[1], uuid.UUID(A), "own") == ["own"]
    finally:
        await conn.close()


# ---------------------------------------------------------------- a leak found on the way
# sqlglot reads a `U&"…"` name outside FROM as `U & "…"` (a bitwise AND of a column U and a
# quoted name it does not decode): `U&"\0061ll_tasks"()` calls all_tasks(), every org's rows,
# where the proof saw a call of a function named `\0061ll_tasks`. A statement that holds such a
# name is unprovable (TG006), however it parses.
SPELLED = [
    'SELECT (U&"\\0061ll_tasks"()).title',
    'SELECT title FROM tasks WHERE org = $1 UNION ALL SELECT (u&"\\0061ll_tasks"()).title',
]


@pytest.mark.parametrize("sql", SPELLED)
def test_a_name_spelled_with_escapes_is_unprovable(tmp_path: Path, sql: str) -> None:
    assert "TG006" in _codes(sql, _policy(tmp_path)), sql


def test_escapes_in_strings_and_comments_are_no_names(tmp_path: Path) -> None:
    sql = 'SELECT title FROM tasks WHERE org = $1 AND title <> \'U&"x"\' /* U&"y" */'
    assert _codes(sql, _policy(tmp_path)) == []


async def test_the_spelled_call_reads_every_org_on_the_server(database: str) -> None:
    conn = await _loaded(database)
    try:
        assert await _fetch(conn, SPELLED[0]) == ["VICTIM", "own"]
        assert "VICTIM" in await _fetch(conn, SPELLED[1], uuid.UUID(A))
    finally:
        await conn.close()


# Found on the way: the schema reader kept a generated tenant column's sources under the names
# they had when it was created. After `RENAME COLUMN owner TO author`, `SET author = $2` moved
# the row to org $2 unflagged (TG004); after `RENAME TO`, the renamed table (and a LIKE copy of
# it) had no generated column at all. The names read now follow renames (the old ones kept).
MOVES = """
CREATE TABLE orgs (id uuid PRIMARY KEY);
CREATE TABLE moved (id bigint PRIMARY KEY, owner uuid NOT NULL,
    org uuid GENERATED ALWAYS AS (owner) STORED, body text);
ALTER TABLE moved RENAME COLUMN owner TO author;
CREATE TABLE old_name (id bigint PRIMARY KEY, owner uuid NOT NULL,
    org uuid GENERATED ALWAYS AS (owner) STORED, body text);
ALTER TABLE old_name RENAME TO new_name;
CREATE TABLE copied (LIKE new_name INCLUDING GENERATED);
"""
MOVING = [
    "UPDATE moved SET author = $2 WHERE org = $1",
    "UPDATE new_name SET owner = $2 WHERE org = $1",
    "UPDATE copied SET owner = $2 WHERE org = $1",
]


@pytest.mark.parametrize("sql", MOVING)
def test_a_set_of_a_renamed_source_moves_the_row_and_is_flagged(tmp_path: Path, sql: str) -> None:
    policy = policy_for(tmp_path, MOVES, tenant_column="org")
    assert isinstance(policy, Policy)
    assert "TG004" in _codes(sql, policy), sql


def test_a_renamed_table_keeps_no_copy(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, MOVES, tenant_column="org")
    assert isinstance(policy, Policy)
    assert dict(policy.tenant_copies) == {}  # forgotten at a rename (fail closed)
    assert _codes("INSERT INTO new_name (id, owner) VALUES (1, $1)", policy) == ["TG002"]


async def test_the_rows_move_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(MOVES)
        await conn.execute(f"INSERT INTO orgs VALUES ('{A}'), ('{B}')")
        for sql in MOVING:
            table = sql.split()[1]
            column = sql.split()[3]
            await conn.execute(f"INSERT INTO {table} (id, {column}) VALUES (1, '{A}')")
            await conn.execute(sql, uuid.UUID(A), uuid.UUID(B))
            assert str(await conn.fetchval(f"SELECT org FROM {table} WHERE id = 1")) == B, sql
    finally:
        await conn.close()
