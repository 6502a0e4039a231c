"""Round 14 attacks on the proof, on a schema unlike the earlier ones: tenant column
`org_id bigint NOT NULL REFERENCES orgs (id)`, tables keyed `(org_id, id)` whose ids repeat
across orgs, composite foreign keys, a partitioned table, views, SQL and PL/pgSQL functions,
triggers, rules, domains and generated columns.

Each leak is shown on PostgreSQL 15 by the rows it returns or changes: org 1's request
(`$1` = 1) reads org 2's rows (their text says VICTIM) or changes them (their text then starts
with HIT); each safe twin reads and changes org 1's rows only.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tenantguard import Policy
from tests.proof.test_attack11_proof import _codes
from tests.proof.test_schema import policy_for

SCHEMA = """
CREATE TABLE orgs (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE tags (id int PRIMARY KEY, label text);
CREATE TABLE projects (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    name text, PRIMARY KEY (org_id, id));
CREATE TABLE tickets (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    project_id int, title text, prio int DEFAULT 0,
    title_len int GENERATED ALWAYS AS (length(title)) STORED,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id));
CREATE TABLE comments (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    ticket_id int, body text, PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, ticket_id) REFERENCES tickets (org_id, id));
CREATE TABLE invoices (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    memo text, PRIMARY KEY (org_id, id)) PARTITION BY LIST (org_id);
CREATE TABLE invoices_a PARTITION OF invoices FOR VALUES IN (1);
CREATE TABLE invoices_rest PARTITION OF invoices DEFAULT;
-- functions that reach every org's rows: one writes them, one hands them out through a
-- setting (labelled IMMUTABLE: the server takes its word), one reads them
CREATE FUNCTION touch_all(t text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN UPDATE comments SET body = 'HIT ' || body; RETURN true; END $$;
CREATE FUNCTION peek_all(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM set_config('app.peek', (SELECT string_agg(title, ',') FROM tickets), false);
  RETURN t;
END $$;
CREATE FUNCTION peek_ok(v bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM set_config('app.peek', (SELECT string_agg(title, ',') FROM tickets), false);
  RETURN true;
END $$;
CREATE FUNCTION all_bodies(s text, v int) RETURNS text LANGUAGE sql STABLE AS $$
SELECT coalesce(s, '') || (SELECT string_agg(body, ',') FROM comments) $$;
-- a function of its arguments only
CREATE FUNCTION not_blank(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
SELECT coalesce(t, '') <> '' $$;
CREATE FUNCTION concat_ids(s text, v int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT coalesce(s, '') || v::text $$;
"""

DATA = """
INSERT INTO orgs VALUES (1, 'own'), (2, 'VICTIM');
INSERT INTO projects VALUES (1, 1, 'own'), (2, 1, 'VICTIM');
INSERT INTO tickets (org_id, id, project_id, title, prio) VALUES
    (1, 1, 1, 'own', 1), (2, 1, 1, 'VICTIM', 1);
INSERT INTO comments VALUES (1, 1, 1, 'own'), (2, 1, 1, 'VICTIM');
INSERT INTO invoices VALUES (1, 1, 'own'), (2, 1, 'VICTIM');
"""


def _policy(tmp_path: Path, schema: str) -> Policy:
    policy = policy_for(tmp_path, schema, tenant_column="org_id")
    assert isinstance(policy, Policy)
    return policy


async def _leaked(conn: asyncpg.Connection, sql: str, *args: object) -> str:
    """What a statement shows of org 2, run in a transaction rolled back: the rows it returns,
    the setting `app.peek` it may leave, and org 2's comments after it (HIT: changed)."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        rows = await conn.fetch(sql, *args)
        peek = await conn.fetchval("SELECT current_setting('app.peek', true)")
        bodies = await conn.fetch("SELECT body FROM comments WHERE org_id = 2")
        return " ".join([*(str(tuple(r)) for r in rows), str(peek), *(b[0] for b in bodies)])
    finally:
        await transaction.rollback()


def _victim(seen: str) -> bool:
    return "HIT" in seen or seen.count("VICTIM") > 1  # org 2's comment itself says VICTIM once


# ---------------------------------------------------------------- class 8/9: functions the
# server calls where no statement names them. A CHECK constraint (of a column, of the table,
# added by ALTER TABLE), an index's expression or predicate, a partition key's expression and a
# domain's CHECK are evaluated on each row an INSERT or UPDATE writes (a domain's CHECK also on
# each cast to it); an aggregate runs its support functions on the rows it aggregates. The
# schema reader followed defaults, generated columns, triggers and rules, never these: a
# pinned INSERT ran a function that updated every org's comments, or handed out every org's
# titles, and passed.
CALLS_SCHEMA = (
    SCHEMA
    + """
CREATE TABLE signoffs (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    note text CHECK (touch_all(note)), PRIMARY KEY (org_id, id));
CREATE TABLE marks (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, name text,
    PRIMARY KEY (org_id, id));
ALTER TABLE marks ADD CONSTRAINT marks_touch CHECK (touch_all(name));
CREATE TABLE labels (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, name text,
    PRIMARY KEY (org_id, id));
CREATE INDEX labels_peek ON labels (peek_all(name));
CREATE TABLE stamps (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, name text,
    PRIMARY KEY (org_id, id));
CREATE UNIQUE INDEX stamps_named ON stamps (org_id, id) WHERE peek_all(name) IS NOT NULL;
CREATE TABLE ledgers (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, name text)
    PARTITION BY LIST (peek_all(name));
CREATE TABLE ledgers_all PARTITION OF ledgers DEFAULT;
CREATE DOMAIN checked_ref AS bigint CHECK (peek_ok(VALUE));
CREATE DOMAIN checked_again AS checked_ref;
CREATE TABLE receipts (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    ref checked_again, PRIMARY KEY (org_id, id));
CREATE DOMAIN late_ref AS bigint;
ALTER DOMAIN late_ref ADD CONSTRAINT late_check CHECK (peek_ok(VALUE));
CREATE AGGREGATE agg_all(int) (sfunc = all_bodies, stype = text);
CREATE AGGREGATE agg_late(int) (sfunc = concat_ids, stype = text, finalfunc = peek_all);
-- the same shapes over functions of their arguments only
CREATE TABLE plain_checks (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    note text CHECK (not_blank(note)), PRIMARY KEY (org_id, id));
CREATE INDEX plain_index ON plain_checks (concat_ids(note, id));
CREATE DOMAIN plain_ref AS bigint CHECK (VALUE > 0 AND not_blank(VALUE::text));
CREATE AGGREGATE agg_ids(int) (sfunc = concat_ids, stype = text);
"""
)
CALLS_LEAKS = [
    "INSERT INTO signoffs (org_id, id, note) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO marks (org_id, id, name) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO labels (org_id, id, name) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO stamps (org_id, id, name) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO ledgers (org_id, id, name) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO receipts (org_id, id, ref) VALUES ($1, 1, 5) RETURNING id",
    "SELECT title FROM tickets WHERE org_id = $1::checked_ref",
    "SELECT title FROM tickets WHERE org_id = CAST($1 AS late_ref)",
    "SELECT title FROM tickets WHERE org_id = $1 AND 5::checked_again > 0",
    "SELECT agg_all(id) FROM tickets WHERE org_id = $1",
    "SELECT agg_late(id) FROM tickets WHERE org_id = $1",
    # a write in a CTE
    "WITH i AS (INSERT INTO marks (org_id, id, name) VALUES ($1, 2, 'x')) SELECT 1",
]
CALLS_SAFE = [
    "INSERT INTO plain_checks (org_id, id, note) VALUES ($1, 1, 'x') RETURNING id",
    "SELECT title FROM tickets WHERE org_id = $1::plain_ref",
    "SELECT agg_ids(id) FROM tickets WHERE org_id = $1",
    "UPDATE plain_checks SET note = 'y' WHERE org_id = $1 RETURNING id",
    # reads of the tables whose writes run those functions: nothing runs
    "SELECT note FROM signoffs WHERE org_id = $1",
    "SELECT name FROM labels WHERE org_id = $1",
    "SELECT ref FROM receipts WHERE org_id = $1",
    "DELETE FROM marks WHERE org_id = $1 RETURNING id",
]


def test_functions_the_server_calls_unnamed_are_followed(tmp_path: Path) -> None:
    policy = _policy(tmp_path, CALLS_SCHEMA)
    for sql in CALLS_LEAKS:
        assert {"TG005", "TG006"} & set(_codes(sql, policy)), sql
    for sql in CALLS_SAFE:
        assert _codes(sql, policy) == [], sql


async def test_the_unnamed_calls_reach_org_2_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(CALLS_SCHEMA + DATA)
        for sql in CALLS_LEAKS:
            seen = await _leaked(conn, sql, 1)
            assert _victim(seen), (sql, seen)
        for sql in CALLS_SAFE:
            seen = await _leaked(conn, sql, 1)
            assert not _victim(seen), (sql, seen)
    finally:
        await conn.close()


# the attacker's variations: the same calls reached by other spellings of the schema
VARIED_SCHEMA = (
    SCHEMA
    + """
CREATE TABLE signoffs (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    note text, PRIMARY KEY (org_id, id));
ALTER TABLE signoffs ADD CONSTRAINT signoffs_touch CHECK (touch_all(note)) NOT VALID;
CREATE TABLE signoffs_copy (LIKE signoffs INCLUDING ALL);
CREATE TABLE signoffs_child () INHERITS (signoffs);
ALTER TABLE signoffs RENAME TO approvals;
ALTER FUNCTION touch_all(text) RENAME TO touch_every;
CREATE TABLE bins (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, name text)
    PARTITION BY LIST (org_id);
CREATE TABLE bins_1 PARTITION OF bins FOR VALUES IN (1);
CREATE TABLE bins_2 PARTITION OF bins FOR VALUES IN (2);
CREATE INDEX bins_peek ON bins_1 (peek_all(name));
CREATE TABLE slots (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    during int4range, PRIMARY KEY (org_id, id),
    EXCLUDE USING gist (int4range(id, id, '[]') WITH &&) WHERE (peek_all(org_id::text) <> ''));
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'slots_note') THEN
    ALTER TABLE projects ADD CONSTRAINT projects_touch CHECK (touch_every(name));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'agg_do') THEN
    CREATE AGGREGATE agg_do(int) (sfunc = all_bodies, stype = text);
  END IF;
END $$;
CREATE DOMAIN checked_ref AS bigint CHECK (peek_ok(VALUE));
ALTER DOMAIN checked_ref RENAME TO renamed_ref;
CREATE TABLE reruns (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    refs renamed_ref, PRIMARY KEY (org_id, id));
"""
)
VARIED_LEAKS = [
    "INSERT INTO approvals (org_id, id, note) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO signoffs_copy (org_id, id, note) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO signoffs_child (org_id, id, note) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO approvals (org_id, id, note) VALUES ($1, 1, 'x') "
    "ON CONFLICT (org_id, id) DO UPDATE SET note = 'y' RETURNING id",
    "MERGE INTO approvals a USING (SELECT $1::bigint AS o) s ON a.org_id = s.o "
    "WHEN NOT MATCHED THEN INSERT (org_id, id, note) VALUES (s.o, 1, 'x')",
    "INSERT INTO bins (org_id, id, name) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO bins_1 (org_id, id, name) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO slots (org_id, id) VALUES ($1, 1) RETURNING id",
    "UPDATE projects SET name = 'y' WHERE org_id = $1 RETURNING id",
    "SELECT agg_do(id) FROM tickets WHERE org_id = $1",
    "SELECT title FROM tickets WHERE org_id = $1::renamed_ref",
    "INSERT INTO reruns (org_id, id, refs) VALUES ($1, 1, 5) RETURNING id",
]
VARIED_SAFE = [
    "SELECT note FROM approvals WHERE org_id = $1",
    "DELETE FROM bins WHERE org_id = $1 RETURNING id",
    "INSERT INTO tickets (org_id, id, title) VALUES ($1, 9, 'x') RETURNING id",
]


def test_the_variations_are_followed(tmp_path: Path) -> None:
    policy = _policy(tmp_path, VARIED_SCHEMA)
    for sql in VARIED_LEAKS:
        assert {"TG005", "TG006"} & set(_codes(sql, policy)), sql
    for sql in VARIED_SAFE:
        assert _codes(sql, policy) == [], sql


async def test_the_variations_reach_org_2_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        await conn.execute(VARIED_SCHEMA + DATA)
        for sql in VARIED_LEAKS:
            seen = await _leaked(conn, sql, 1)
            assert _victim(seen), (sql, seen)
        for sql in VARIED_SAFE:
            seen = await _leaked(conn, sql, 1)
            assert not _victim(seen), (sql, seen)
    finally:
        await conn.close()


# functions (and a trigger's function) that run those calls in turn: a parameter, a return, a
# PL/pgSQL variable of such a domain, a cast to it, a write of such a table, a call of such an
# aggregate. The functions are read again once those are known.
CALLERS_SCHEMA = (
    CALLS_SCHEMA
    + """
CREATE FUNCTION fmt_ref(x checked_ref) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT x::text $$;
CREATE FUNCTION as_ref(x bigint) RETURNS checked_again LANGUAGE sql IMMUTABLE AS $$ SELECT x $$;
CREATE FUNCTION held(x bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v late_ref := x; BEGIN RETURN v; END $$;
CREATE FUNCTION sign_one(o bigint) RETURNS int LANGUAGE sql AS $$
INSERT INTO signoffs (org_id, id, note) VALUES (o, 7, 'x') RETURNING id $$;
CREATE FUNCTION ids_of(o bigint) RETURNS text LANGUAGE sql STABLE AS $$
SELECT agg_all(id) FROM tickets WHERE org_id = o $$;
CREATE FUNCTION stamp_ref() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v checked_ref := 5; BEGIN RETURN NEW; END $$;
CREATE TABLE visits (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    PRIMARY KEY (org_id, id));
CREATE TRIGGER visits_ref BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION stamp_ref();
CREATE FUNCTION plain_fmt(x plain_ref) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT x::text $$;
"""
)
CALLERS_LEAKS = [
    "SELECT title, fmt_ref($1) FROM tickets WHERE org_id = $1",
    "SELECT title, as_ref($1) FROM tickets WHERE org_id = $1",
    "SELECT title, held($1) FROM tickets WHERE org_id = $1",
    "SELECT title, sign_one($1) FROM tickets WHERE org_id = $1",
    "SELECT title, ids_of($1) FROM tickets WHERE org_id = $1",
    "INSERT INTO visits (org_id, id) VALUES ($1, 1) RETURNING id",
]
CALLERS_SAFE = [
    "SELECT title, plain_fmt($1) FROM tickets WHERE org_id = $1",
]


def test_functions_that_run_those_calls_are_followed(tmp_path: Path) -> None:
    policy = _policy(tmp_path, CALLERS_SCHEMA)
    for sql in CALLERS_LEAKS:
        assert {"TG005", "TG006"} & set(_codes(sql, policy)), sql
    for sql in CALLERS_SAFE:
        assert _codes(sql, policy) == [], sql


async def test_the_calling_functions_reach_org_2_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(CALLERS_SCHEMA + DATA)
        for sql in CALLERS_LEAKS:
            seen = await _leaked(conn, sql, 1)
            assert _victim(seen), (sql, seen)
        for sql in CALLERS_SAFE:
            seen = await _leaked(conn, sql, 1)
            assert not _victim(seen), (sql, seen)
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 8/9: writes through a
# view, a trigger's WHEN. A write of an automatically updatable view is a write of the table
# under it: that table's triggers, rules, constraints, indexes and defaults run. The proof read
# them for the table named only: an INSERT into a view of `events` ran events' trigger, which
# updated every org's comments, and passed. A trigger's WHEN condition runs on each row too,
# whatever function the trigger runs.
VIEWS_SCHEMA = (
    CALLS_SCHEMA
    + """
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE comments SET body = 'HIT ' || body; RETURN NEW; END $$;
CREATE FUNCTION fine() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION all_notes() RETURNS text LANGUAGE sql STABLE AS $$
SELECT string_agg(body, ',') FROM comments $$;
CREATE TABLE events (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, kind text,
    PRIMARY KEY (org_id, id));
CREATE TRIGGER events_bump AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION bump();
CREATE VIEW event_view AS SELECT * FROM events;
CREATE VIEW event_view2 AS SELECT org_id, id, kind FROM event_view WHERE id > 0;
CREATE VIEW signoff_view AS SELECT org_id, id, note FROM public.signoffs;
CREATE TABLE drafts (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    body text DEFAULT all_notes(), PRIMARY KEY (org_id, id));
CREATE VIEW draft_view AS SELECT org_id, id, body FROM drafts;
CREATE TABLE steps (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, kind text,
    PRIMARY KEY (org_id, id));
CREATE TRIGGER steps_when AFTER INSERT ON steps FOR EACH ROW WHEN (touch_all(NEW.kind))
    EXECUTE FUNCTION fine();
CREATE TABLE quiet (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, kind text,
    PRIMARY KEY (org_id, id));
CREATE TRIGGER quiet_when AFTER INSERT ON quiet FOR EACH ROW WHEN (not_blank(NEW.kind))
    EXECUTE FUNCTION fine();
CREATE VIEW quiet_view AS SELECT * FROM quiet;
"""
)
VIEWS_LEAKS = [
    "INSERT INTO event_view (org_id, id, kind) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO event_view2 (org_id, id, kind) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO signoff_view (org_id, id, note) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO draft_view (org_id, id) VALUES ($1, 1) RETURNING body",
    "INSERT INTO steps (org_id, id, kind) VALUES ($1, 1, 'x') RETURNING id",
]
VIEWS_SAFE = [
    "INSERT INTO quiet_view (org_id, id, kind) VALUES ($1, 1, 'x') RETURNING id",
    "INSERT INTO draft_view (org_id, id, body) VALUES ($1, 1, 'x') RETURNING body",
    "SELECT kind FROM event_view WHERE org_id = $1",
    "DELETE FROM event_view WHERE org_id = $1 RETURNING id",
]


def test_writes_through_views_and_trigger_conditions_are_followed(tmp_path: Path) -> None:
    policy = _policy(tmp_path, VIEWS_SCHEMA)
    for sql in VIEWS_LEAKS:
        assert "TG005" in _codes(sql, policy), sql
    for sql in VIEWS_SAFE:
        assert _codes(sql, policy) == [], sql


async def test_the_view_writes_reach_org_2_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(VIEWS_SCHEMA + DATA)
        for sql in VIEWS_LEAKS:
            seen = await _leaked(conn, sql, 1)
            assert _victim(seen), (sql, seen)
        for sql in VIEWS_SAFE:
            seen = await _leaked(conn, sql, 1)
            assert not _victim(seen), (sql, seen)
    finally:
        await conn.close()


# a cast to such a domain, where the server evaluates it unnamed: a CHECK, an index, a generated
# column, a default, another domain's CHECK
CASTS_SCHEMA = (
    CALLS_SCHEMA
    + """
CREATE TABLE casts_check (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    ref bigint CHECK (ref::checked_ref IS NOT NULL), PRIMARY KEY (org_id, id));
CREATE TABLE casts_index (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    ref bigint, PRIMARY KEY (org_id, id));
CREATE INDEX casts_index_ref ON casts_index ((ref::late_ref));
CREATE TABLE casts_generated (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    ref bigint, checked bigint GENERATED ALWAYS AS (ref::checked_ref) STORED,
    PRIMARY KEY (org_id, id));
CREATE TABLE casts_default (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    ref bigint DEFAULT 5::checked_ref, PRIMARY KEY (org_id, id));
CREATE DOMAIN chained_ref AS bigint CHECK (VALUE::late_ref IS NOT NULL);
CREATE TABLE casts_chained (org_id bigint NOT NULL REFERENCES orgs (id), id int NOT NULL,
    ref chained_ref, PRIMARY KEY (org_id, id));
"""
)
CASTS_LEAKS = [
    "INSERT INTO casts_check (org_id, id, ref) VALUES ($1, 1, 5) RETURNING id",
    "INSERT INTO casts_index (org_id, id, ref) VALUES ($1, 1, 5) RETURNING id",
    "INSERT INTO casts_generated (org_id, id, ref) VALUES ($1, 1, 5) RETURNING id",
    "INSERT INTO casts_default (org_id, id) VALUES ($1, 1) RETURNING id",
    "INSERT INTO casts_chained (org_id, id, ref) VALUES ($1, 1, 5) RETURNING id",
    "SELECT title FROM tickets WHERE org_id = $1 AND 5::chained_ref > 0",
]
CASTS_SAFE = [
    "INSERT INTO casts_default (org_id, id, ref) VALUES ($1, 1, 7) RETURNING id",
    "SELECT ref FROM casts_check WHERE org_id = $1",
]


def test_casts_the_server_evaluates_unnamed_are_followed(tmp_path: Path) -> None:
    policy = _policy(tmp_path, CASTS_SCHEMA)
    for sql in CASTS_LEAKS:
        assert {"TG005", "TG006"} & set(_codes(sql, policy)), sql
    for sql in CASTS_SAFE:
        assert _codes(sql, policy) == [], sql


async def test_the_unnamed_casts_reach_org_2_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(CASTS_SCHEMA + DATA)
        for sql in CASTS_LEAKS:
            seen = await _leaked(conn, sql, 1)
            assert _victim(seen), (sql, seen)
        for sql in CASTS_SAFE:
            seen = await _leaked(conn, sql, 1)
            assert not _victim(seen), (sql, seen)
    finally:
        await conn.close()
