"""Round 15 attacks on the proof, on a schema unlike the earlier ones: tenant column
`workspace_id uuid NOT NULL REFERENCES workspaces (id)`, tables keyed `(workspace_id, id)`,
composite foreign keys, CHECK constraints, domains and their arrays, DO blocks.

Each leak is shown on PostgreSQL 15 by the rows it returns or changes: workspace A's request
(`$1` = A) reads workspace B's rows (their text says VICTIM) or changes them (their text then
starts with HIT); each safe twin reads and changes workspace A's rows only.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tenantguard import Policy
from tests.proof.test_attack11_proof import _codes
from tests.proof.test_schema import policy_for

A = "aaaaaaaa-0000-0000-0000-000000000001"
B = "bbbbbbbb-0000-0000-0000-000000000002"

SCHEMA = """
CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE members (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    email text, PRIMARY KEY (workspace_id, id));
CREATE TABLE docs (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    owner_id int, title text, PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, owner_id) REFERENCES members (workspace_id, id));
CREATE TABLE notes (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    doc_id int, body text, PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, doc_id) REFERENCES docs (workspace_id, id));
-- one reads its workspace's rows by its parameter, one writes them, one writes every row
CREATE FUNCTION quota_ok(w uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
SELECT count(*) < 100 FROM notes WHERE workspace_id = w $$;
CREATE FUNCTION stamp(w uuid) RETURNS boolean LANGUAGE sql AS $$
UPDATE notes SET body = 'HIT ' || body WHERE workspace_id = w RETURNING true $$;
CREATE FUNCTION touch_all(w uuid) RETURNS boolean LANGUAGE sql AS $$
UPDATE notes SET body = 'HIT ' || body; SELECT true $$;
"""

DATA = f"""
INSERT INTO workspaces VALUES ('{A}', 'own'), ('{B}', 'VICTIM');
INSERT INTO members VALUES ('{A}', 1, 'own'), ('{B}', 1, 'VICTIM');
INSERT INTO docs VALUES ('{A}', 1, 1, 'own'), ('{B}', 1, 1, 'VICTIM');
INSERT INTO notes VALUES ('{A}', 1, 1, 'own'), ('{B}', 1, 1, 'VICTIM');
"""


def _policy(tmp_path: Path, schema: str) -> Policy:
    policy = policy_for(tmp_path, schema, tenant_column="workspace_id")
    assert isinstance(policy, Policy)
    return policy


async def _seen(conn: asyncpg.Connection, sql: str, *args: object) -> str:
    """What a statement shows of workspace B, in a transaction rolled back: the rows it returns
    and B's notes after it (HIT: changed). An error is shown as such."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        try:
            rows = await conn.fetch(sql, *args)
        except asyncpg.PostgresError as error:
            return f"error {error}"
        bodies = await conn.fetch("SELECT body FROM notes WHERE workspace_id = $1", B)
        return " ".join([*(str(tuple(r)) for r in rows), *(b[0] for b in bodies)])
    finally:
        await transaction.rollback()


def _victim(seen: str) -> bool:
    return "HIT" in seen or seen.count("VICTIM") > 1  # B's note itself says VICTIM once


async def _server(schema: str, database: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(database)
    await conn.execute(schema + DATA)
    return conn


# ---------------------------------------------------------------- Part A: CHECK calls
# FALSE ALARM. Engine before: TG005. A CHECK (or a trigger's WHEN) calling a function that
# pins its rows by its parameter, given the written row's own tenant column there, reads (or
# writes) the rows of the tenant the write is pinned to. Twins: another column given there
# (the server passes B's id), the function also called with another column, a domain's CHECK
# (VALUE is any value), a trigger's WHEN on another column, a function that reaches every row.
CHECKS_SCHEMA = (
    SCHEMA
    + """
CREATE TABLE q_own (workspace_id uuid NOT NULL, id int, CHECK (quota_ok(workspace_id)));
CREATE TABLE s_own (workspace_id uuid NOT NULL, id int, CHECK (stamp(workspace_id)));
CREATE TABLE s_when (workspace_id uuid NOT NULL, id int);
CREATE FUNCTION fine() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER s_when_t AFTER INSERT ON s_when FOR EACH ROW WHEN (stamp(NEW.workspace_id))
    EXECUTE FUNCTION fine();
CREATE TABLE s_other (workspace_id uuid NOT NULL, other uuid, id int, CHECK (stamp(other)));
CREATE TABLE s_both (workspace_id uuid NOT NULL, other uuid, id int,
    CHECK (stamp(workspace_id) AND stamp(other)));
CREATE DOMAIN stamped AS uuid CHECK (stamp(VALUE));
CREATE TABLE s_domain (workspace_id uuid NOT NULL, other stamped, id int);
CREATE TABLE s_when_other (workspace_id uuid NOT NULL, other uuid, id int);
CREATE TRIGGER s_when_other_t AFTER INSERT ON s_when_other FOR EACH ROW WHEN (stamp(NEW.other))
    EXECUTE FUNCTION fine();
CREATE TABLE t_all (workspace_id uuid NOT NULL, id int, CHECK (touch_all(workspace_id)));
"""
)
CHECKS_SAFE = [
    "INSERT INTO q_own (workspace_id, id) VALUES ($1, 1)",
    "INSERT INTO s_own (workspace_id, id) VALUES ($1, 1)",
    "INSERT INTO s_when (workspace_id, id) VALUES ($1, 1)",
    "UPDATE q_own SET id = 2 WHERE workspace_id = $1",
]
CHECKS_LEAKS = [
    f"INSERT INTO s_other (workspace_id, other, id) VALUES ($1, '{B}', 1)",
    f"INSERT INTO s_both (workspace_id, other, id) VALUES ($1, '{B}', 1)",
    f"INSERT INTO s_domain (workspace_id, other, id) VALUES ($1, '{B}', 1)",
    f"INSERT INTO s_when_other (workspace_id, other, id) VALUES ($1, '{B}', 1)",
    "INSERT INTO t_all (workspace_id, id) VALUES ($1, 1)",
]


def test_checks_calling_a_function_pinned_by_the_rows_tenant(tmp_path: Path) -> None:
    policy = _policy(tmp_path, CHECKS_SCHEMA)
    for sql in CHECKS_SAFE:
        assert _codes(sql, policy) == [], sql
    for sql in CHECKS_LEAKS:
        assert "TG005" in _codes(sql, policy), sql


async def test_checks_calling_a_function_on_the_server(database: str) -> None:
    conn = await _server(CHECKS_SCHEMA, database)
    try:
        for sql in CHECKS_SAFE:
            seen = await _seen(conn, sql, A)
            assert not _victim(seen) and not seen.startswith("error"), (sql, seen)
        for sql in CHECKS_LEAKS:
            assert _victim(await _seen(conn, sql, A)), sql
    finally:
        await conn.close()


# ---------------------------------------------------------------- Part A: hidden CHECKs
# LEAK. Engine before: []. A column of an array of a domain runs the domain's CHECK on each
# element written; a CHECK added by `EXECUTE format('ALTER TABLE %I ADD …', 'dyn')` in a DO
# block was out of the reader's sight (the string did not parse with its %I). format() of
# constant arguments is read as the statement it makes; dynamic DDL that still cannot be read
# is a schema problem (TG006) at the DO block. Twins: an array of a domain whose CHECK calls
# nothing, a dynamic CHECK calling a function of its arguments only.
HIDDEN_SCHEMA = (
    SCHEMA
    + """
CREATE DOMAIN leaky_dom AS int CHECK (touch_all(NULL));
CREATE DOMAIN fine_dom AS int CHECK (VALUE > 0);
CREATE TABLE arr_leaky (workspace_id uuid NOT NULL, id int, tags leaky_dom[]);
CREATE TABLE arr_fine (workspace_id uuid NOT NULL, id int, tags fine_dom[]);
CREATE TABLE dyn (workspace_id uuid NOT NULL, id int, name text);
CREATE TABLE dyn_positional (workspace_id uuid NOT NULL, id int, name text);
CREATE TABLE dyn_fine (workspace_id uuid NOT NULL, id int, name text);
DO $$
BEGIN
  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT dyn_chk CHECK (touch_all(workspace_id))', 'dyn');
  EXECUTE format('ALTER TABLE %2$I ADD CONSTRAINT %1$I CHECK (touch_all(workspace_id))',
                 'dyn_p_chk', 'dyn_positional');
  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT dyn_f CHECK (length(name) < %s)', 'dyn_fine', '9');
END $$;
"""
)
HIDDEN_LEAKS = [
    "INSERT INTO arr_leaky (workspace_id, id, tags) VALUES ($1, 1, ARRAY[1])",
    "INSERT INTO dyn (workspace_id, id, name) VALUES ($1, 1, 'x')",
    "INSERT INTO dyn_positional (workspace_id, id, name) VALUES ($1, 1, 'x')",
]
HIDDEN_SAFE = [
    "INSERT INTO arr_fine (workspace_id, id, tags) VALUES ($1, 1, ARRAY[1])",
    "INSERT INTO dyn_fine (workspace_id, id, name) VALUES ($1, 1, 'x')",
    "SELECT tags FROM arr_leaky WHERE workspace_id = $1",
]


def test_hidden_checks_are_seen(tmp_path: Path) -> None:
    policy = _policy(tmp_path, HIDDEN_SCHEMA)
    for sql in HIDDEN_LEAKS:
        assert "TG005" in _codes(sql, policy), sql
    for sql in HIDDEN_SAFE:
        assert _codes(sql, policy) == [], sql


def test_dynamic_ddl_that_cannot_be_read_is_a_problem(tmp_path: Path) -> None:
    from tenantguard.sources.schema.reading import read_schema

    (tmp_path / "0001.sql").write_text(
        SCHEMA + "DO $$ DECLARE t text := 'notes'; BEGIN\n"
        "  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT c CHECK (touch_all(workspace_id))', t);\n"
        "END $$;\n",
        encoding="utf-8",
    )
    schema = read_schema([tmp_path / "0001.sql"])
    assert any("in dynamic SQL" in p.message for p in schema.problems), schema.problems


async def test_hidden_checks_on_the_server(database: str) -> None:
    conn = await _server(HIDDEN_SCHEMA, database)
    try:
        for sql in HIDDEN_LEAKS:
            assert _victim(await _seen(conn, sql, A)), sql
        for sql in HIDDEN_SAFE:
            seen = await _seen(conn, sql, A)
            assert not _victim(seen) and not seen.startswith("error"), (sql, seen)
    finally:
        await conn.close()


# ---------------------------------------------------------------- Part A: functional notation
# `workspace_id(d)` is `d.workspace_id` unless a function of that name takes d's row type:
# then PostgreSQL calls it (here: B's id whatever the row).
NOTATION_SCHEMA = SCHEMA + (
    f"CREATE FUNCTION workspace_id(docs) RETURNS uuid LANGUAGE sql AS $$ SELECT '{A}'::uuid $$;\n"
)
NOTATION = "SELECT d.title FROM docs d WHERE workspace_id(d) = $1"


def test_functional_notation(tmp_path: Path) -> None:
    for sub in "abc":
        (tmp_path / sub).mkdir()
    assert _codes(NOTATION, _policy(tmp_path / "a", SCHEMA)) == []
    assert _codes(NOTATION, _policy(tmp_path / "b", NOTATION_SCHEMA)) == ["TG001"]
    # a column of a lossy type named like the row (`n real`) does not type the parameter
    lossy = _policy(tmp_path / "c", SCHEMA + "CREATE TABLE gauges (id int, n real);\n")
    assert _codes("SELECT n.body FROM notes n WHERE workspace_id(n) = $1", lossy) == []
    assert _codes("UPDATE notes n SET body = 'x' WHERE workspace_id(n) = $1", lossy) == []
    assert _codes("SELECT n.body FROM notes n WHERE workspace_id(n) = $1 AND n(n) = $1", lossy) == [
        "TG001"
    ]


async def test_functional_notation_on_the_server(database: str) -> None:
    conn = await _server(NOTATION_SCHEMA, database)
    try:
        assert "VICTIM" in await _seen(conn, NOTATION, A)  # the function is called
        await conn.execute("DROP FUNCTION workspace_id(docs)")
        seen = await _seen(conn, NOTATION, A)
        assert "own" in seen and not _victim(seen), seen
    finally:
        await conn.close()


# ---------------------------------------------------------------- Part B: shadowed parameters
# FALSE ALARM. Engine before: TG001/TG006. A SQL function's parameter is shadowed by a column
# of a relation its query reads; the reader counted a column of any relation of the schema
# (`CREATE TABLE typed OF pair`, whose column `w` nothing here reads, made every function's
# parameter `w` no pin). Twins: a body reading a table with a column `w`, and one reading a
# view over it (a `*` hides the column).
SHADOW_SCHEMA = (
    SCHEMA
    + """
CREATE TYPE pair AS (w uuid, b text);
CREATE TABLE typed OF pair;
CREATE TABLE marks (workspace_id uuid NOT NULL, w uuid, body text);
CREATE VIEW marks_view AS SELECT * FROM marks;
CREATE FUNCTION notes_of(w uuid) RETURNS SETOF notes LANGUAGE sql STABLE AS $$
SELECT * FROM notes WHERE workspace_id = w $$;
CREATE FUNCTION count_of(w uuid) RETURNS bigint LANGUAGE sql STABLE AS $$
SELECT count(*) FROM notes WHERE workspace_id = w $$;
CREATE FUNCTION marks_of(w uuid) RETURNS SETOF marks LANGUAGE sql STABLE AS $$
SELECT * FROM marks WHERE workspace_id = w $$;
CREATE FUNCTION viewed_of(w uuid) RETURNS SETOF marks LANGUAGE sql STABLE AS $$
SELECT * FROM marks_view WHERE workspace_id = w $$;
"""
)
SHADOW_DATA = f"INSERT INTO marks VALUES ('{A}', '{A}', 'own'), ('{B}', '{B}', 'VICTIM');"
SHADOW_SAFE = ["SELECT body FROM notes_of($1)", "SELECT count_of($1)"]
SHADOW_LEAKS = ["SELECT body FROM marks_of($1)", "SELECT body FROM viewed_of($1)"]


def test_parameters_shadowed_only_by_what_the_body_reads(tmp_path: Path) -> None:
    policy = _policy(tmp_path, SHADOW_SCHEMA)
    for sql in SHADOW_SAFE:
        assert _codes(sql, policy) == [], sql
    for sql in SHADOW_LEAKS:
        assert {"TG001", "TG006"} & set(_codes(sql, policy)), sql


async def test_shadowed_parameters_on_the_server(database: str) -> None:
    conn = await _server(SHADOW_SCHEMA, database)
    try:
        await conn.execute(SHADOW_DATA)
        for sql in SHADOW_SAFE:
            seen = await _seen(conn, sql, A)
            assert not _victim(seen) and not seen.startswith("error"), (sql, seen)
        for sql in SHADOW_LEAKS:
            assert _victim(await _seen(conn, sql, A)), sql
    finally:
        await conn.close()
