"""Round 13 attacks on the proof, on a schema unlike the earlier ones: tenant column
`workspace_id uuid NOT NULL REFERENCES workspaces (id)`, tables keyed `(workspace_id, id)` whose
ids repeat across workspaces, composite foreign keys, a view, SQL and PL/pgSQL functions.

Each leak is shown on PostgreSQL 15 by the rows it returns: workspace A's request (`$1` = A)
reads workspace B's rows (their text says VICTIM); each safe twin reads A's rows only.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy
from tenantguard.sources.schema.reading import SchemaInfo
from tests.proof.test_attack11_proof import _codes, _fetch
from tests.proof.test_attack12_proof import _check
from tests.proof.test_schema import policy_for

A = "00000000-0000-0000-0000-00000000000a"
B = "00000000-0000-0000-0000-00000000000b"

SCHEMA = """
CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE currencies (code text PRIMARY KEY, name text);
CREATE TABLE projects (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    name text, PRIMARY KEY (workspace_id, id));
CREATE TABLE tasks (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    project_id int, parent_id int, title text, PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, project_id) REFERENCES projects (workspace_id, id),
    FOREIGN KEY (workspace_id, parent_id) REFERENCES tasks (workspace_id, id));
CREATE TABLE notes (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    task_id int, body text, PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, task_id) REFERENCES tasks (workspace_id, id));
CREATE VIEW task_view AS SELECT t.workspace_id, t.id, t.title, p.name AS project
    FROM tasks t JOIN projects p ON p.workspace_id = t.workspace_id AND p.id = t.project_id;
CREATE FUNCTION tasks_in(ws uuid) RETURNS SETOF tasks LANGUAGE sql STABLE
    AS $$ SELECT * FROM tasks WHERE workspace_id = ws $$;
"""

DATA = f"""
INSERT INTO workspaces VALUES ('{A}', 'own'), ('{B}', 'VICTIM');
INSERT INTO projects VALUES ('{A}', 1, 'own'), ('{B}', 1, 'VICTIM');
INSERT INTO tasks VALUES ('{A}', 1, 1, NULL, 'own'), ('{B}', 1, 1, NULL, 'VICTIM');
INSERT INTO notes VALUES ('{A}', 1, 1, 'own'), ('{B}', 1, 1, 'VICTIM');
"""


def _policy(tmp_path: Path, schema: str) -> Policy:
    policy = policy_for(tmp_path, schema, tenant_column="workspace_id")
    assert isinstance(policy, Policy)
    return policy


# ---------------------------------------------------------------- class 1: names longer than
# 63 bytes. PostgreSQL cuts every identifier to NAMEDATALEN - 1 = 63 bytes (at a character's
# end), in DDL as in queries. The schema reader (pglast, PostgreSQL's own scanner) kept the cut
# name of a tenant table declared with a longer one; the proof (sqlglot) kept the whole name, so
# the table, read by the very name its CREATE TABLE gave, was an unknown relation: no pin needed.
# Two aliases alike in their first 63 bytes are one alias, the inner one shadowing the outer:
# a chain "to the outer row" compared the inner row with itself.
LONG = "workspace_integration_webhook_delivery_attempt_payload_snapshots_archive"  # 72
ALIAS = "an_alias_longer_than_the_sixty_three_bytes_postgresql_keeps_of_"  # 63
# a name whose 63rd byte falls inside a two-byte letter: PostgreSQL cuts before it
WIDE = "é" * 40  # 80 bytes: 31 letters kept (62 bytes)
LONG_SCHEMA = (
    SCHEMA + f"CREATE TABLE {LONG} (workspace_id uuid NOT NULL REFERENCES workspaces (id),\n"
    "    id int NOT NULL, payload text, PRIMARY KEY (workspace_id, id));\n"
    + f'CREATE TABLE "{WIDE}" (workspace_id uuid NOT NULL REFERENCES workspaces (id),\n'
    "    id int NOT NULL, payload text, PRIMARY KEY (workspace_id, id));\n"
)
LONG_DATA = (
    DATA
    + f"INSERT INTO {LONG} VALUES ('{A}', 1, 'own'), ('{B}', 1, 'VICTIM');\n"
    + f"INSERT INTO \"{WIDE}\" VALUES ('{A}', 1, 'own'), ('{B}', 1, 'VICTIM');\n"
)
LONG_LEAKS = [
    f"SELECT payload FROM {LONG}",
    f"SELECT payload FROM {LONG[:63]}_and_more",
    f'SELECT payload FROM public."{LONG}" WHERE id = 1',
    f'SELECT payload FROM "{WIDE}"',
    f'SELECT payload FROM "{"é" * 31}ü_and_more"',
    # the inner alias shadows the outer one: the inner row is compared with itself
    f"SELECT (SELECT string_agg({ALIAS}_in.title, ',') FROM tasks AS {ALIAS}_in "
    f"WHERE {ALIAS}_in.workspace_id = {ALIAS}_out.workspace_id) "
    f"FROM projects AS {ALIAS}_out WHERE {ALIAS}_out.workspace_id = $1",
]
LONG_SAFE = [
    f"SELECT payload FROM {LONG} WHERE workspace_id = $1",
    f"SELECT payload FROM {LONG[:63]}_and_more x WHERE x.workspace_id = $1",
    f'SELECT payload FROM "{WIDE}" WHERE workspace_id = $1',
    f'SELECT w.payload FROM "{"é" * 31}ü_and_more" w WHERE w.workspace_id = $1',
    f"SELECT (SELECT string_agg(i.title, ',') FROM tasks AS i "
    f"WHERE i.workspace_id = {ALIAS}_out.workspace_id) "
    f"FROM projects AS {ALIAS}_out WHERE {ALIAS}_out.workspace_id = $1",
]


def test_names_are_cut_to_63_bytes_as_postgresql_cuts_them(tmp_path: Path) -> None:
    policy = _policy(tmp_path, LONG_SCHEMA)
    for sql in LONG_LEAKS:
        assert "TG001" in _codes(sql, policy), sql
    for sql in LONG_SAFE:
        assert _codes(sql, policy) == [], sql


async def test_the_long_names_read_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(LONG_SCHEMA + LONG_DATA)
        for sql in LONG_LEAKS:
            args = (A,) if "$1" in sql else ()
            assert "VICTIM" in " ".join(await _fetch(conn, sql, *args)), sql
        for sql in LONG_SAFE:
            assert await _fetch(conn, sql, A) in (["own"], ["own,own"]), sql
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 2: what `=` and `::`
# mean, decided by the schema. The proof reads `=` (and the `<=`/`>=` of BETWEEN, the `<@`/`@>`
# of one-element arrays) as PostgreSQL's own, and `::` as its own casts. An operator the schema
# defines is chosen wherever its operand types match better than pg_catalog's — always for
# types pg_catalog does not compare (`uuid = text`): `workspace_id = $1::text`, the tenant
# setting without a cast, a parameter typed text elsewhere in the statement, a function's text
# parameter. A cast the schema defines (`CREATE CAST (text AS uuid) … AS IMPLICIT`, or one for
# the I/O conversion `uuid::text`) decides what those compare. Each pin below matched workspace
# B's rows; the statements passed with no finding.
SHORT_IDS = """
CREATE FUNCTION uuid_matches_text(uuid, text) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS $$ SELECT left($1::text, 8) = left($2, 8) $$;
CREATE OPERATOR = (LEFTARG = uuid, RIGHTARG = text, FUNCTION = uuid_matches_text);
CREATE FUNCTION tasks_of(ws text) RETURNS SETOF tasks LANGUAGE sql STABLE
    AS $$ SELECT * FROM tasks WHERE workspace_id = ws $$;
"""
SHORT_TEXT = """
CREATE FUNCTION short_text(uuid) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT left(uuid_out($1)::text, 8) $$;
CREATE CAST (uuid AS text) WITH FUNCTION short_text(uuid);
"""
OPERATOR_LEAKS = [
    "SELECT title FROM tasks t WHERE t.workspace_id = $1::text",
    "SELECT title FROM tasks t WHERE $1::text IS NOT NULL AND t.workspace_id = $1",
    "SELECT title FROM tasks t WHERE t.workspace_id IN ($1::text)",
    "SELECT title FROM tasks_of($1)",
]
# a chain through the cast: B's tasks and A's project share their first 8 letters
CAST_LEAKS = [
    "SELECT t.title FROM projects p JOIN tasks t ON t.workspace_id::text = p.workspace_id::text "
    "WHERE p.workspace_id = $1"
]


def test_a_schema_that_defines_equality_or_casts_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tenantguard.toml").write_text(
        'tenant_column = "workspace_id"\nschema_paths = ["schema"]\n', encoding="utf-8"
    )
    (tmp_path / "schema").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "schema/0001.sql").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "app/q.sql").write_text(
        "".join(f"{sql};\n" for sql in OPERATOR_LEAKS), encoding="utf-8"
    )
    # PostgreSQL's own: no finding
    assert _check(tmp_path, monkeypatch, capsys, "app") == []
    (tmp_path / "schema/0002.sql").write_text(
        SHORT_IDS + SHORT_TEXT + "CREATE OPERATOR public.>= (LEFTARG = uuid, RIGHTARG = text, "
        "FUNCTION = uuid_matches_text);\n"
        # operators the proof does not read as a pin: no finding
        + "CREATE OPERATOR === (LEFTARG = uuid, RIGHTARG = text, FUNCTION = uuid_matches_text);\n"
        + "CREATE OPERATOR < (LEFTARG = uuid, RIGHTARG = text, FUNCTION = uuid_matches_text);\n",
        encoding="utf-8",
    )
    found = _check(tmp_path, monkeypatch, capsys, "app")
    assert found == [
        ("schema/0002.sql", 4, "TG006"),
        ("schema/0002.sql", 10, "TG006"),
        ("schema/0002.sql", 11, "TG006"),
    ], found
    # acknowledged for that file: the pins are the user's word
    (tmp_path / "tenantguard.toml").write_text(
        'tenant_column = "workspace_id"\nschema_paths = ["schema"]\n'
        'per_file_ignores = {"schema/0002.sql" = ["TG006"]}\n',
        encoding="utf-8",
    )
    assert _check(tmp_path, monkeypatch, capsys, "app") == []


async def test_the_schema_operator_and_cast_read_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for sql in OPERATOR_LEAKS + CAST_LEAKS:  # PostgreSQL's own: refused or one workspace
            with contextlib.suppress(asyncpg.UndefinedFunctionError):
                assert await _fetch(conn, sql, A) == ["own"], sql
        await conn.execute(SHORT_IDS)
        for sql in OPERATOR_LEAKS:
            assert await _fetch(conn, sql, A) == ["VICTIM", "own"], sql
        await conn.execute(SHORT_TEXT)
        for sql in CAST_LEAKS:
            assert await _fetch(conn, sql, A) == ["VICTIM", "own"], sql
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 3: a view is bound to
# what it read when it was made. PostgreSQL keeps a view's query as a tree of relations and
# columns (by oid and number), not names: after `ALTER TABLE docs RENAME COLUMN workspace_id TO
# legacy_workspace_id` (and a new workspace_id), the view's `workspace_id` is still the legacy
# column; after `ALTER TABLE staging RENAME TO shared_docs` the view reads shared_docs. The
# schema reader kept each view's text and read it under the names at the end: `doc_view`,
# `doc_star` and `doc_mine` (pinned inside by the tenant setting) were pinned by the new column,
# `staged` read a global table — each returned workspace B's document to A.
STALE = """
CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE docs (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    body text, PRIMARY KEY (workspace_id, id));
CREATE VIEW doc_view AS SELECT workspace_id, id, body FROM docs;
CREATE VIEW doc_star AS SELECT * FROM docs;
CREATE VIEW doc_mine AS SELECT id, body FROM docs
    WHERE workspace_id = current_setting('app.tenant_id')::uuid;
CREATE VIEW doc_count AS SELECT count(*) AS n FROM workspaces;
ALTER TABLE docs RENAME COLUMN workspace_id TO legacy_workspace_id;
ALTER TABLE docs ADD COLUMN workspace_id uuid REFERENCES workspaces (id);
ALTER TABLE workspaces RENAME COLUMN name TO title;

CREATE TABLE staging (id int PRIMARY KEY, body text);
CREATE VIEW staged AS SELECT id, body FROM staging;
CREATE VIEW staged_cte AS WITH staging AS (SELECT 1 AS id, 'x' AS body) SELECT * FROM staging;
ALTER TABLE staging RENAME TO shared_docs;
ALTER TABLE shared_docs ADD COLUMN workspace_id uuid REFERENCES workspaces (id);
CREATE TABLE staging (id int PRIMARY KEY, body text);

CREATE VIEW pinned_docs AS SELECT * FROM shared_docs
    WHERE workspace_id = current_setting('app.tenant_id')::uuid;
CREATE VIEW reader AS SELECT id, body FROM pinned_docs;
ALTER VIEW pinned_docs RENAME TO pinned_docs_old;
CREATE VIEW pinned_docs AS SELECT * FROM shared_docs;
ALTER VIEW pinned_docs RENAME TO all_docs;
CREATE VIEW pinned_docs AS SELECT * FROM shared_docs
    WHERE workspace_id = current_setting('app.tenant_id')::uuid;
"""
STALE_DATA = f"""
INSERT INTO workspaces VALUES ('{A}', 'own'), ('{B}', 'VICTIM');
INSERT INTO docs (legacy_workspace_id, id, body, workspace_id)
    VALUES ('{A}', 1, 'VICTIM', '{B}'), ('{B}', 2, 'own', '{A}');
INSERT INTO shared_docs VALUES (1, 'own', '{A}'), (2, 'VICTIM', '{B}');
"""
STALE_LEAKS = [
    "SELECT body FROM doc_view WHERE workspace_id = $1",
    "SELECT body FROM doc_star WHERE workspace_id = $1",
    "SELECT body FROM doc_mine",
    "SELECT body FROM staged",
]
STALE_SAFE = [
    "SELECT body FROM docs WHERE workspace_id = $1",
    "SELECT n::text FROM doc_count",  # a column of a table it reads renamed: no tenant rows
    "SELECT body FROM staged_cte",  # its own CTE, not the renamed table
    "SELECT body FROM staging",
    "SELECT body FROM pinned_docs",
    "SELECT body FROM reader",  # reads pinned_docs_old: pinned inside
]


def test_views_read_what_they_were_bound_to(tmp_path: Path) -> None:
    policy = _policy(tmp_path, STALE)
    for sql in STALE_LEAKS:
        assert "TG001" in _codes(sql, policy), sql
    for sql in STALE_SAFE:
        assert _codes(sql, policy) == [], sql
    assert "TG001" in _codes("SELECT body FROM all_docs", policy)


async def test_the_bound_views_read_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(STALE + STALE_DATA)
        await conn.execute(f"SET app.tenant_id = '{A}'")
        for sql in STALE_LEAKS:
            assert "VICTIM" in await _fetch(conn, sql, *((A,) if "$1" in sql else ())), sql
        for sql in STALE_SAFE:
            rows = await _fetch(conn, sql, *((A,) if "$1" in sql else ()))
            assert "VICTIM" not in rows, (sql, rows)
    finally:
        await conn.close()


def test_stale_views_are_kept_in_the_schema_cache() -> None:
    import json

    schema = SchemaInfo()
    schema.add_sql(STALE)
    # (staged_cte names a CTE like the renamed table: which one is which is not told apart)
    assert schema.stale_views == {"doc_view", "doc_star", "doc_mine", "doc_count", "staged_cte"}
    assert "shared_docs" in schema.views["staged"].query
    back = SchemaInfo.from_json(json.loads(json.dumps(schema.to_json())))
    assert back.stale_views == schema.stale_views
    # made again after the rename: bound to the names of now
    schema.add_sql("CREATE OR REPLACE VIEW doc_view AS SELECT workspace_id, id, body FROM docs;")
    assert "doc_view" not in schema.stale_views


# … and so is a SQL function whose body has the standard's form (`RETURN …`, `BEGIN ATOMIC …
# END`): PostgreSQL binds it when it is made, as a view. `my_docs()` (pinned by the tenant
# setting), `docs_of($1)` (pinned by its parameter) and `staged()` (a global table, renamed and
# given the tenant column) returned workspace B's documents; the same bodies written `AS $$…$$`
# look their names up at each call, and read what the schema's text says.
BOUND = """
CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE docs (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    body text, PRIMARY KEY (workspace_id, id));
CREATE TABLE staging (id int PRIMARY KEY, body text);
CREATE FUNCTION my_docs() RETURNS SETOF text LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT body FROM docs WHERE workspace_id = current_setting('app.tenant_id')::uuid;
END;
CREATE FUNCTION docs_of(ws uuid) RETURNS text LANGUAGE sql STABLE
    RETURN (SELECT string_agg(body, ',') FROM docs WHERE workspace_id = ws);
CREATE FUNCTION staged() RETURNS SETOF text LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT body FROM staging;
END;
CREATE FUNCTION late_docs() RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT body FROM docs WHERE workspace_id = current_setting('app.tenant_id')::uuid $$;
CREATE FUNCTION late_staged() RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT body FROM staging $$;
CREATE FUNCTION counted() RETURNS bigint LANGUAGE sql STABLE
    RETURN (SELECT count(*) FROM workspaces);
ALTER TABLE docs RENAME COLUMN workspace_id TO legacy_workspace_id;
ALTER TABLE docs ADD COLUMN workspace_id uuid REFERENCES workspaces (id);
ALTER TABLE workspaces RENAME COLUMN name TO title;
ALTER TABLE staging RENAME TO shared_docs;
ALTER TABLE shared_docs ADD COLUMN workspace_id uuid REFERENCES workspaces (id);
CREATE TABLE staging (id int PRIMARY KEY, body text);
"""
BOUND_DATA = STALE_DATA + "INSERT INTO staging VALUES (1, 'global');\n"
BOUND_LEAKS = [
    "SELECT * FROM my_docs()",
    "SELECT docs_of($1)",
    "SELECT * FROM staged()",
]
BOUND_SAFE = [
    "SELECT * FROM late_docs()",
    "SELECT * FROM late_staged()",
    "SELECT counted()::text",  # bound to a table of no tenant: nothing to pin
]


def test_functions_bound_when_made_read_what_they_were_bound_to(tmp_path: Path) -> None:
    policy = _policy(tmp_path, BOUND)
    for sql in BOUND_LEAKS:
        assert {"TG001", "TG006"} & set(_codes(sql, policy)), sql
    for sql in BOUND_SAFE:
        assert _codes(sql, policy) == [], sql


async def test_the_bound_functions_read_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(BOUND + BOUND_DATA)
        await conn.execute(f"SET app.tenant_id = '{A}'")
        for sql in BOUND_LEAKS:
            rows = await _fetch(conn, sql, *((A,) if "$1" in sql else ()))
            assert "VICTIM" in rows, (sql, rows)
        for sql in BOUND_SAFE:
            rows = await _fetch(conn, sql)
            assert "VICTIM" not in rows, (sql, rows)
    finally:
        await conn.close()


# … and the functions they call: `ALTER FUNCTION doc_rows() RENAME TO all_doc_rows` and a new,
# pinned doc_rows() left the view and the bound function calling all_doc_rows (every
# workspace's documents), while the proof read the new one.
CALLS = """
CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE docs (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    body text, PRIMARY KEY (workspace_id, id));
CREATE FUNCTION doc_rows() RETURNS SETOF docs LANGUAGE sql STABLE AS $$ SELECT * FROM docs $$;
CREATE VIEW my_doc_view AS SELECT body FROM doc_rows();
CREATE FUNCTION my_doc_fn() RETURNS SETOF text LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT body FROM public.doc_rows();
END;
CREATE FUNCTION late_doc_fn() RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT body FROM doc_rows() $$;
ALTER FUNCTION doc_rows() RENAME TO all_doc_rows;
CREATE FUNCTION doc_rows() RETURNS SETOF docs LANGUAGE sql STABLE
    AS $$ SELECT * FROM docs WHERE workspace_id = current_setting('app.tenant_id')::uuid $$;
"""
CALL_LEAKS = ["SELECT body FROM my_doc_view", "SELECT * FROM my_doc_fn()"]
CALL_SAFE = ["SELECT * FROM late_doc_fn()", "SELECT body FROM doc_rows()"]


def test_views_call_the_function_they_were_bound_to(tmp_path: Path) -> None:
    policy = _policy(tmp_path, CALLS)
    for sql in CALL_LEAKS:
        assert "TG001" in _codes(sql, policy), sql
    for sql in CALL_SAFE:
        assert _codes(sql, policy) == [], sql


async def test_the_renamed_function_reads_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(CALLS + DATA.split("INSERT INTO projects")[0])
        await conn.execute(f"INSERT INTO docs VALUES ('{A}', 1, 'own'), ('{B}', 1, 'VICTIM')")
        await conn.execute(f"SET app.tenant_id = '{A}'")
        for sql in CALL_LEAKS:
            assert await _fetch(conn, sql) == ["VICTIM", "own"], sql
        for sql in CALL_SAFE:
            assert await _fetch(conn, sql) == ["own"], sql
    finally:
        await conn.close()


# … and a view's own column renamed (`ALTER VIEW v RENAME COLUMN`): the reader kept the names
# of its query, so `workspace_id` was still the passed-through column where PostgreSQL now
# gives that name to origin_ws (B's document names A as its origin).
VIEW_COLUMNS = """
CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE docs (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    body text, origin_ws uuid, PRIMARY KEY (workspace_id, id));
CREATE VIEW doc_view AS SELECT origin_ws AS x, workspace_id, body FROM docs;
ALTER VIEW doc_view RENAME COLUMN workspace_id TO y;
ALTER TABLE doc_view RENAME COLUMN x TO workspace_id;
CREATE VIEW doc_list (x, workspace_id) AS SELECT origin_ws, workspace_id, body FROM docs;
ALTER VIEW doc_list RENAME COLUMN workspace_id TO y;
ALTER VIEW doc_list RENAME COLUMN x TO workspace_id;
CREATE VIEW doc_star AS SELECT * FROM docs;
ALTER VIEW doc_star RENAME COLUMN workspace_id TO y;
ALTER VIEW doc_star RENAME COLUMN origin_ws TO workspace_id;
CREATE VIEW doc_named AS SELECT workspace_id AS ws, body FROM docs;
ALTER VIEW doc_named RENAME COLUMN ws TO workspace_id;
"""
VIEW_COLUMN_LEAKS = [
    "SELECT body FROM doc_view WHERE workspace_id = $1",
    "SELECT body FROM doc_list WHERE workspace_id = $1",
    "SELECT body FROM doc_star WHERE workspace_id = $1",
]
VIEW_COLUMN_SAFE = ["SELECT body FROM doc_named WHERE workspace_id = $1"]


def test_a_views_renamed_column_is_read_under_its_new_name(tmp_path: Path) -> None:
    policy = _policy(tmp_path, VIEW_COLUMNS)
    for sql in VIEW_COLUMN_LEAKS:
        assert "TG001" in _codes(sql, policy), sql
    for sql in VIEW_COLUMN_SAFE:
        assert _codes(sql, policy) == [], sql


async def test_the_renamed_view_column_reads_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(VIEW_COLUMNS)
        await conn.execute(
            f"INSERT INTO workspaces VALUES ('{A}', 'own'), ('{B}', 'VICTIM');\n"
            f"INSERT INTO docs VALUES ('{A}', 1, 'own', NULL), ('{B}', 1, 'VICTIM', '{A}')"
        )
        for sql in VIEW_COLUMN_LEAKS:
            assert await _fetch(conn, sql, A) == ["VICTIM"], sql
        for sql in VIEW_COLUMN_SAFE:
            assert await _fetch(conn, sql, A) == ["own"], sql
    finally:
        await conn.close()


# … and a rule's actions (bound when the rule is made): after staging became shared_docs (with
# the tenant column), `INSERT INTO signups` updated every workspace's shared_docs; after the
# rename of docs.workspace_id, touch_mine filtered on the legacy column.
RULES = """
CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE signups (id int PRIMARY KEY, email text);
CREATE TABLE visits (id int PRIMARY KEY, email text);
CREATE TABLE staging (id int PRIMARY KEY, body text);
CREATE TABLE counters (id int PRIMARY KEY, n int);
CREATE TABLE docs (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    body text, PRIMARY KEY (workspace_id, id));
CREATE RULE touch AS ON INSERT TO signups DO ALSO UPDATE staging SET body = 'HACK';
CREATE RULE touch_mine AS ON INSERT TO signups DO ALSO UPDATE docs SET body = 'HACK'
    WHERE workspace_id = current_setting('app.tenant_id')::uuid;
CREATE RULE count AS ON INSERT TO visits DO ALSO UPDATE counters SET n = n + 1;
ALTER TABLE staging RENAME TO shared_docs;
ALTER TABLE shared_docs ADD COLUMN workspace_id uuid REFERENCES workspaces (id);
CREATE TABLE staging (id int PRIMARY KEY, body text);
ALTER TABLE counters RENAME TO visit_counters;
ALTER TABLE docs RENAME COLUMN workspace_id TO legacy_workspace_id;
ALTER TABLE docs ADD COLUMN workspace_id uuid REFERENCES workspaces (id);
"""


def test_rules_write_what_they_were_bound_to(tmp_path: Path) -> None:
    policy = _policy(tmp_path, RULES)
    assert _codes("INSERT INTO signups VALUES (1, $1)", policy) == ["TG005"]
    assert _codes("INSERT INTO visits VALUES (1, $1)", policy) == []
    # each rule alone
    touch = "CREATE RULE touch AS ON INSERT TO signups DO ALSO UPDATE staging SET body = 'HACK';\n"
    mine = RULES.split("CREATE RULE touch_mine")[1].split(";")[0]
    for alone in (RULES.replace(touch, ""), RULES.replace(f"CREATE RULE touch_mine{mine};", "")):
        assert alone != RULES
        assert _codes("INSERT INTO signups VALUES (1, $1)", _policy(tmp_path, alone)) == ["TG005"]


async def test_the_bound_rules_change_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(RULES)
        await conn.execute(
            f"INSERT INTO workspaces VALUES ('{A}', 'own'), ('{B}', 'VICTIM');\n"
            f"INSERT INTO shared_docs VALUES (1, 'own', '{A}'), (2, 'VICTIM', '{B}');\n"
            f"INSERT INTO docs (legacy_workspace_id, id, body, workspace_id)"
            f" VALUES ('{A}', 1, 'VICTIM', '{B}');\n"
            f"SET app.tenant_id = '{A}'"
        )
        await conn.execute("INSERT INTO signups VALUES (1, 'a@example.com')")
        changed = await conn.fetch(
            "SELECT body FROM shared_docs WHERE workspace_id = $1 "
            "UNION ALL SELECT body FROM docs WHERE workspace_id = $1",
            B,
        )
        assert [r[0] for r in changed] == ["HACK", "HACK"]
    finally:
        await conn.close()


# … and a column default (or a domain's) calls the function it was bound to: after
# `ALTER FUNCTION first_body() RENAME TO all_bodies` and a harmless new first_body(), an INSERT
# that leaves `body` out copied every workspace's bodies into its row and returned them.
DEFAULTS = """
CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE docs (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    body text, PRIMARY KEY (workspace_id, id));
CREATE FUNCTION first_body() RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT string_agg(body, ',' ORDER BY body) FROM docs $$;
CREATE DOMAIN filled_text AS text DEFAULT first_body();
CREATE TABLE drafts (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    body text DEFAULT first_body(), note filled_text, PRIMARY KEY (workspace_id, id));
ALTER FUNCTION first_body() RENAME TO all_bodies;
CREATE FUNCTION first_body() RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'empty' $$;
"""
DEFAULT_LEAKS = [
    "INSERT INTO drafts (workspace_id, id, note) VALUES ($1, 1, '') RETURNING body",
    "INSERT INTO drafts (workspace_id, id, body) VALUES ($1, 1, '') RETURNING note",
]


def test_defaults_call_the_function_they_were_bound_to(tmp_path: Path) -> None:
    policy = _policy(tmp_path, DEFAULTS)
    for sql in DEFAULT_LEAKS:
        assert _codes(sql, policy) == ["TG005"], sql
    given = "INSERT INTO drafts (workspace_id, id, body, note) VALUES ($1, 1, '', '')"
    assert _codes(given, policy) == []


async def test_the_bound_defaults_copy_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(DEFAULTS)
        await conn.execute(
            f"INSERT INTO workspaces VALUES ('{A}', 'own'), ('{B}', 'VICTIM');\n"
            f"INSERT INTO docs VALUES ('{A}', 1, 'own'), ('{B}', 1, 'VICTIM')"
        )
        for sql in DEFAULT_LEAKS:
            assert await _fetch(conn, sql, A) == ["VICTIM,own"], sql
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 4: a PL/pgSQL parameter
# written before it pins. A function whose query pins its rows by a parameter is pinned by the
# argument given there — but PL/pgSQL parameters are variables: `ws := …`, `SELECT … INTO ws`,
# `FOR ws IN SELECT …`, `FOREACH ws IN ARRAY …`, a write through `ALIAS FOR ws`, `$1` or
# `fn.ws`, or a block that declares its own `ws`, and the query pins whatever was put there.
# (pglast leaves a target out of its JSON when it is variable 0 — the first parameter.)
_VICTIM = "(SELECT w.id FROM workspaces w WHERE w.name = 'VICTIM')"
_PINNED = "RETURN QUERY SELECT * FROM tasks WHERE workspace_id = ws;"
WRITES = {
    "by_assignment": f"ws := {_VICTIM};",
    "by_select_into": "SELECT w.id INTO ws FROM workspaces w WHERE w.name = 'VICTIM';",
    "by_two_targets": "SELECT w.id, 1 INTO ws, n FROM workspaces w WHERE w.name = 'VICTIM';",
    "by_alias": f"DECLARE w ALIAS FOR ws; BEGIN w := {_VICTIM}; END;",
    "by_number": f"$1 := {_VICTIM};",
    "by_qualified_name": f"by_qualified_name.ws := {_VICTIM};",
    "by_foreach": f"FOREACH ws IN ARRAY ARRAY[{_VICTIM}] LOOP {_PINNED} END LOOP;",
    "by_loop": f"FOR ws IN SELECT id FROM workspaces LOOP {_PINNED} END LOOP;",
    "by_shadowing": f"DECLARE ws uuid := {_VICTIM}; BEGIN {_PINNED} END;",
}
PARAMETER_SCHEMA = SCHEMA + "".join(
    f"CREATE FUNCTION {name}(ws uuid) RETURNS SETOF tasks LANGUAGE plpgsql STABLE AS $f$\n"
    f"DECLARE n int;\nBEGIN\n    {body}\n    {_PINNED}\nEND $f$;\n"
    for name, body in {
        **WRITES,
        # writes of other variables, or none: pinned by the argument
        "reads_only": "n := 1;",
        "writes_another": "SELECT 1 INTO n; n := n + 1;",
    }.items()
)


def test_a_parameter_the_body_writes_pins_nothing(tmp_path: Path) -> None:
    policy = _policy(tmp_path, PARAMETER_SCHEMA)
    for name in WRITES:
        assert _codes(f"SELECT title FROM {name}($1)", policy) == ["TG001"], name
    for name in ("reads_only", "writes_another", "tasks_in"):
        assert _codes(f"SELECT title FROM {name}($1)", policy) == [], name


async def test_the_written_parameters_read_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(PARAMETER_SCHEMA + DATA)
        for name in WRITES:
            assert "VICTIM" in await _fetch(conn, f"SELECT title FROM {name}($1)", A), name
        for name in ("reads_only", "writes_another", "tasks_in"):
            assert await _fetch(conn, f"SELECT title FROM {name}($1)", A) == ["own"], name
    finally:
        await conn.close()


# … and the same writes to a trigger's NEW row: `FOREACH NEW.org IN ARRAY …` and `GET
# DIAGNOSTICS NEW.org = ROW_COUNT` moved org 1's inserted row into org 2 (an integer tenant
# column) while only `NEW.org := …` and INTO NEW.org were looked for.
TRIGGERS = """
CREATE TABLE orgs (id bigint PRIMARY KEY, name text);
CREATE TABLE notes (org bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, body text,
    PRIMARY KEY (org, id));
CREATE FUNCTION move_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    FOREACH NEW.org IN ARRAY ARRAY[2::bigint] LOOP END LOOP;
    RETURN NEW;
END $$;
CREATE TRIGGER move BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION move_note();
CREATE TABLE memos (org bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, body text,
    PRIMARY KEY (org, id));
CREATE FUNCTION move_memo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orgs SET name = name WHERE id IN (1, 2);
    GET DIAGNOSTICS NEW.org = ROW_COUNT;
    RETURN NEW;
END $$;
CREATE TRIGGER move BEFORE INSERT ON memos FOR EACH ROW EXECUTE FUNCTION move_memo();
CREATE TABLE logs (org bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, n bigint,
    PRIMARY KEY (org, id));
CREATE FUNCTION count_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orgs SET name = name WHERE id = NEW.org;
    GET DIAGNOSTICS NEW.n = ROW_COUNT;
    RETURN NEW;
END $$;
CREATE TRIGGER count BEFORE INSERT ON logs FOR EACH ROW EXECUTE FUNCTION count_log();
"""


def test_a_trigger_that_writes_new_tenant_column_otherwise_moves_the_row(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, TRIGGERS, tenant_column="org")
    assert isinstance(policy, Policy)
    for table in ("notes", "memos"):
        sql = f"INSERT INTO {table} (org, id, body) VALUES ($1, 1, 'mine')"
        assert _codes(sql, policy) == ["TG005"], table
    assert _codes("INSERT INTO logs (org, id) VALUES ($1, 1)", policy) == []


async def test_the_triggers_move_the_row_to_org_2_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(TRIGGERS + "INSERT INTO orgs VALUES (1, 'own'), (2, 'VICTIM');")
        for table in ("notes", "memos"):
            sql = f"INSERT INTO {table} (org, id, body) VALUES ($1, 1, 'mine') RETURNING org"
            assert await _fetch(conn, sql, 1) == ["2"], table
        assert await _fetch(conn, "INSERT INTO logs VALUES ($1, 1) RETURNING org", 1) == ["1"]
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 5: a SQL function's
# parameter named like a column of a view its body reads. In a SQL function a name the body's
# sources have as a column is that column, not the parameter: `v.workspace_id = owner_ws` over
# task_owner (which outputs `workspace_id AS owner_ws`) compares the row with itself. Only the
# columns of tables and of functions' outputs were looked at — not a view's (its aliases, or
# those beside a `*`).
VIEW_NAMES = (
    SCHEMA
    + """
CREATE VIEW task_owner AS SELECT workspace_id, id, title, workspace_id AS owner_ws FROM tasks;
CREATE VIEW task_project AS SELECT t.*, p.workspace_id AS proj_ws FROM tasks t
    JOIN projects p ON p.workspace_id = t.workspace_id AND p.id = t.project_id;
CREATE FUNCTION owner_tasks(owner_ws uuid) RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT v.title FROM task_owner v WHERE v.workspace_id = owner_ws $$;
CREATE FUNCTION project_tasks(proj_ws uuid) RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT v.title FROM task_project v WHERE v.workspace_id = proj_ws $$;
CREATE FUNCTION named_tasks(wanted uuid) RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT v.title FROM task_owner v WHERE v.workspace_id = wanted $$;
"""
)


def test_a_parameter_named_like_a_views_column_pins_nothing(tmp_path: Path) -> None:
    policy = _policy(tmp_path, VIEW_NAMES)
    for name in ("owner_tasks", "project_tasks"):
        assert _codes(f"SELECT * FROM {name}($1)", policy) == ["TG001"], name
    assert _codes("SELECT * FROM named_tasks($1)", policy) == []


async def test_the_view_column_reads_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(VIEW_NAMES + DATA)
        for name in ("owner_tasks", "project_tasks"):
            assert "VICTIM" in await _fetch(conn, f"SELECT * FROM {name}($1)", A), name
        assert await _fetch(conn, "SELECT * FROM named_tasks($1)", A) == ["own"]
    finally:
        await conn.close()


# … and the same renames sent by alembic (`op.rename_table`, `op.alter_column(…,
# new_column_name=…)`): the reader did not follow them at all.
ALEMBIC = """
from alembic import op
import sqlalchemy as sa


def upgrade():
    op.execute("CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL)")
    op.execute("CREATE TABLE staging (id int PRIMARY KEY, body text)")
    op.execute("CREATE VIEW staged AS SELECT id, body FROM staging")
    op.execute(
        "CREATE TABLE docs (workspace_id uuid NOT NULL REFERENCES workspaces (id), "
        "id int NOT NULL, body text, PRIMARY KEY (workspace_id, id))"
    )
    op.execute("CREATE VIEW doc_view AS SELECT workspace_id, id, body FROM docs")
    op.rename_table("staging", "shared_docs")
    op.add_column("shared_docs", sa.Column("workspace_id", sa.Uuid()))
    op.create_table("staging", sa.Column("id", sa.Integer), sa.Column("body", sa.Text))
    op.alter_column("docs", "workspace_id", new_column_name="legacy_workspace_id")
    op.add_column("docs", sa.Column("workspace_id", sa.Uuid()))
"""


def test_alembic_renames_are_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tenantguard.toml").write_text(
        'tenant_column = "workspace_id"\nschema_paths = ["migrations"]\n', encoding="utf-8"
    )
    (tmp_path / "migrations").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "migrations/0001_init.py").write_text(ALEMBIC, encoding="utf-8")
    (tmp_path / "app/q.sql").write_text(
        "SELECT body FROM staged;\n"
        "SELECT body FROM doc_view WHERE workspace_id = $1;\n"
        "SELECT body FROM staging;\n"
        "SELECT body FROM docs WHERE workspace_id = $1;\n",
        encoding="utf-8",
    )
    assert _check(tmp_path, monkeypatch, capsys, "app") == [
        ("app/q.sql", 1, "TG001"),
        ("app/q.sql", 2, "TG001"),
    ]


# … and alembic's drops of what a composite key's pin stands on (`op.drop_constraint` of the
# foreign key, `op.drop_index` of the unique id, `op.drop_column`): read as kept, the join
# `c.id = o.customer_id` from a pinned order pinned the customer, while the server let
# workspace A's order point at workspace B's customer.
KEYED = """
CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE customers (workspace_id uuid NOT NULL REFERENCES workspaces (id),
    id int NOT NULL, name text, PRIMARY KEY (workspace_id, id));
CREATE UNIQUE INDEX customers_id ON customers (id);
CREATE TABLE orders (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    customer_id int, PRIMARY KEY (workspace_id, id),
    CONSTRAINT orders_customer_fk FOREIGN KEY (workspace_id, customer_id)
    REFERENCES customers (workspace_id, id));
"""
DROPS = {
    "key": 'op.drop_constraint("orders_customer_fk", "orders", type_="foreignkey")',
    "index": 'op.drop_index("customers_id", table_name="customers")',
    "column": 'op.drop_column("orders", "customer_id")\n'
    '    op.add_column("orders", sa.Column("customer_id", sa.Integer))',
    "kept": 'op.drop_index("some_other_index", table_name="orders")',
}
KEYED_JOIN = (
    "SELECT c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.workspace_id = $1"
)


def test_alembic_drops_end_the_key_pins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tenantguard.toml").write_text(
        'tenant_column = "workspace_id"\nschema_paths = ["migrations"]\n', encoding="utf-8"
    )
    (tmp_path / "app").mkdir()
    (tmp_path / "app/q.sql").write_text(KEYED_JOIN + ";\n", encoding="utf-8")
    for name, drop in DROPS.items():
        (tmp_path / "migrations").mkdir(exist_ok=True)
        (tmp_path / "migrations/0001_init.py").write_text(
            "from alembic import op\nimport sqlalchemy as sa\n\n\ndef upgrade():\n"
            f"    op.execute('''{KEYED}''')\n    {drop}\n",
            encoding="utf-8",
        )
        found = _check(tmp_path, monkeypatch, capsys, "app")
        assert found == ([] if name == "kept" else [("app/q.sql", 1, "TG001")]), name


async def test_the_dropped_key_reads_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(KEYED + "ALTER TABLE orders DROP CONSTRAINT orders_customer_fk;")
        await conn.execute(
            f"INSERT INTO workspaces VALUES ('{A}', 'own'), ('{B}', 'VICTIM');\n"
            f"INSERT INTO customers VALUES ('{A}', 1, 'own'), ('{B}', 2, 'VICTIM');\n"
            f"INSERT INTO orders VALUES ('{A}', 1, 2)"
        )
        assert await _fetch(conn, KEYED_JOIN, A) == ["VICTIM"]
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 6: a tenant column made
# citext by alembic (`sa.Column("workspace", CITEXT())`, `op.add_column`, `op.alter_column(…,
# type_=CITEXT())`): the reader kept the names of alembic's columns only, so `workspace = $1`
# pinned a column whose `=` folds case — 'acme' read workspace ACME's notes.
CITEXT_MIGRATION = """
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import CITEXT


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS citext")
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workspace", CITEXT(), nullable=False),
        sa.Column("body", sa.Text),
    )
    op.create_table("memos", sa.Column("id", sa.Integer), sa.Column("body", sa.Text))
    op.add_column("memos", sa.Column("workspace", type_=CITEXT))
    op.create_table(
        "drafts", sa.Column("id", sa.Integer), sa.Column("workspace", sa.Text), sa.Column("body", sa.Text)
    )
    op.alter_column("drafts", "workspace", type_=CITEXT())
    op.execute(
        "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
    )
    op.create_table(
        "folded",
        sa.Column("id", sa.Integer),
        sa.Column("workspace", sa.Text(collation="ci")),
        sa.Column("body", sa.Text),
    )
    op.create_table(
        "pages", sa.Column("id", sa.Integer), sa.Column("workspace", sa.Text), sa.Column("body", sa.Text)
    )
"""


def test_an_alembic_citext_tenant_column_pins_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tenantguard.toml").write_text(
        'tenant_column = "workspace"\nschema_paths = ["migrations"]\n', encoding="utf-8"
    )
    (tmp_path / "migrations").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "migrations/0001_init.py").write_text(CITEXT_MIGRATION, encoding="utf-8")
    (tmp_path / "app/q.sql").write_text(
        "".join(
            f"SELECT body FROM {t} WHERE workspace = $1;\n"
            for t in ("notes", "memos", "drafts", "folded", "pages")
        ),
        encoding="utf-8",
    )
    assert _check(tmp_path, monkeypatch, capsys, "app") == [
        ("app/q.sql", 1, "TG001"),
        ("app/q.sql", 2, "TG001"),
        ("app/q.sql", 3, "TG001"),
        ("app/q.sql", 4, "TG001"),
    ]


async def test_the_citext_column_reads_the_other_workspace_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "CREATE EXTENSION IF NOT EXISTS citext;\n"
            "CREATE TABLE notes (id int PRIMARY KEY, workspace citext NOT NULL, body text);\n"
            "INSERT INTO notes VALUES (1, 'acme', 'own'), (2, 'ACME', 'VICTIM');"
        )
        sql = "SELECT body FROM notes WHERE workspace = $1"
        assert await _fetch(conn, sql, "acme") == ["VICTIM", "own"]
    finally:
        await conn.close()


# … and `op.alter_column(…, nullable=True)`: the reader kept the tenant column NOT NULL, and
# `(n.workspace_id = $1 OR n.workspace_id IS NULL)` — read as letting through only the rows a
# LEFT JOIN NULL-extends — returned notes of no workspace.
NULLABLE = """
from alembic import op


def upgrade():
    op.execute("CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL)")
    op.execute(
        "CREATE TABLE projects (workspace_id uuid NOT NULL REFERENCES workspaces (id), "
        "id int NOT NULL, name text, PRIMARY KEY (workspace_id, id))"
    )
    op.execute(
        "CREATE TABLE notes (workspace_id uuid NOT NULL REFERENCES workspaces (id), "
        "id int NOT NULL, project_id int, body text)"
    )
    op.execute(
        "CREATE TABLE memos (workspace_id uuid NOT NULL REFERENCES workspaces (id), "
        "id int NOT NULL, project_id int, body text)"
    )
    op.alter_column("notes", "workspace_id", nullable=True)
    op.alter_column("memos", "workspace_id", nullable=False)
"""
OR_NULL = (
    "SELECT n.body FROM projects p LEFT JOIN {t} n ON n.project_id = p.id "
    "WHERE p.workspace_id = $1 AND (n.workspace_id = $1 OR n.workspace_id IS NULL)"
)

OR_NULL_ALONE = "SELECT n.body FROM {t} n WHERE n.workspace_id = $1 OR n.workspace_id IS NULL"


def test_alembic_nullable_drops_not_null(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tenantguard.toml").write_text(
        'tenant_column = "workspace_id"\nschema_paths = ["migrations"]\n', encoding="utf-8"
    )
    (tmp_path / "migrations").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "migrations/0001_init.py").write_text(NULLABLE, encoding="utf-8")
    # (round 22: beside an outer join's nullable side the IS NULL branch is an oracle whatever
    # the column allows, so the NOT NULL the migration reads is shown outside any join)
    (tmp_path / "app/q.sql").write_text(
        OR_NULL_ALONE.format(t="notes") + ";\n" + OR_NULL_ALONE.format(t="memos") + ";\n",
        encoding="utf-8",
    )
    assert _check(tmp_path, monkeypatch, capsys, "app") == [("app/q.sql", 1, "TG001")]


async def test_the_nullable_column_returns_notes_of_no_workspace(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);\n"
            "CREATE TABLE projects (workspace_id uuid NOT NULL REFERENCES workspaces (id), "
            "id int NOT NULL, name text, PRIMARY KEY (workspace_id, id));\n"
            "CREATE TABLE notes (workspace_id uuid REFERENCES workspaces (id), "
            "id int NOT NULL, project_id int, body text);\n"
            f"INSERT INTO workspaces VALUES ('{A}', 'own');\n"
            f"INSERT INTO projects VALUES ('{A}', 1, 'own');\n"
            f"INSERT INTO notes VALUES ('{A}', 1, 1, 'own'), (NULL, 2, 1, 'NO WORKSPACE')"
        )
        assert await _fetch(conn, OR_NULL.format(t="notes"), A) == ["NO WORKSPACE", "own"]
    finally:
        await conn.close()


# … and `ALTER TABLE v RENAME TO w` of a view (PostgreSQL lets ALTER TABLE rename a view or a
# materialized view): the reader renamed only tables, so `w` was no relation it knew — a read
# of every workspace's documents passed.
RENAMED_VIEWS = (
    STALE.split("CREATE VIEW doc_view")[0]
    + """
CREATE VIEW every_doc AS SELECT body FROM docs;
ALTER TABLE every_doc RENAME TO docs_overview;
CREATE MATERIALIZED VIEW doc_bodies AS SELECT body FROM docs;
ALTER TABLE doc_bodies RENAME TO doc_texts;
"""
)


def test_alter_table_renames_a_view(tmp_path: Path) -> None:
    policy = _policy(tmp_path, RENAMED_VIEWS)
    for name in ("docs_overview", "doc_texts"):
        assert _codes(f"SELECT body FROM {name}", policy) == ["TG001"], name


async def test_the_renamed_view_reads_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(RENAMED_VIEWS)
        await conn.execute(
            f"INSERT INTO workspaces VALUES ('{A}', 'own'), ('{B}', 'VICTIM');\n"
            f"INSERT INTO docs (workspace_id, id, body) VALUES ('{A}', 1, 'own'), ('{B}', 1, 'VICTIM');\n"
            "REFRESH MATERIALIZED VIEW doc_texts"
        )
        for name in ("docs_overview", "doc_texts"):
            assert await _fetch(conn, f"SELECT body FROM {name}") == ["VICTIM", "own"], name
    finally:
        await conn.close()


# … and `ALTER FOREIGN TABLE ft RENAME TO` was not followed at all: the foreign table, every
# workspace's rows, was read under its new name as an unknown relation.
def _foreign(csv: str) -> str:
    return (
        "CREATE EXTENSION IF NOT EXISTS file_fdw;\n"
        "CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;\n"
        "CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);\n"
        "CREATE FOREIGN TABLE remote_docs (workspace_id uuid NOT NULL, id int, body text) "
        f"SERVER files OPTIONS (filename '{csv}', format 'csv');\n"
        "ALTER FOREIGN TABLE remote_docs RENAME TO archived_docs;\n"
    )


def test_a_renamed_foreign_table_is_read_under_its_new_name(tmp_path: Path) -> None:
    policy = _policy(tmp_path, _foreign("/nonexistent.csv"))
    assert _codes("SELECT body FROM archived_docs", policy) == ["TG001"]
    assert _codes("SELECT body FROM archived_docs WHERE workspace_id = $1", policy) == []


async def test_the_renamed_foreign_table_reads_workspace_b_on_the_server(database: str) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".csv", dir="/tmp", delete=False) as out:
        out.write(f"{A},1,own\n{B},2,VICTIM\n")
    try:
        os.chmod(out.name, 0o644)
        conn = await asyncpg.connect(database)
        try:
            await conn.execute(_foreign(out.name))
            assert await _fetch(conn, "SELECT body FROM archived_docs") == ["VICTIM", "own"]
        finally:
            await conn.close()
    finally:
        os.unlink(out.name)


# ---------------------------------------------------------------- class 7: what an idempotent
# patch creates inside DO. PostgreSQL 15 has no CREATE TRIGGER IF NOT EXISTS, so a patch
# wraps it in `DO $$ BEGIN IF NOT EXISTS (…) THEN CREATE TRIGGER … END IF; END $$` (or catches
# duplicate_object); the reader looked in DO bodies for tables, views and functions only, and
# the trigger or rule updating every org's notes from `INSERT INTO signups` was never read.
DO_WRITES = """
CREATE TABLE orgs (id bigint PRIMARY KEY, name text);
CREATE TABLE notes (org bigint NOT NULL REFERENCES orgs (id), id int NOT NULL, body text,
    PRIMARY KEY (org, id));
CREATE TABLE signups (id int PRIMARY KEY, email text);
CREATE TABLE visits (id int PRIMARY KEY, email text);
CREATE FUNCTION touch_notes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE notes SET body = 'HACK';
    RETURN NEW;
END $$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'touch') THEN
        CREATE TRIGGER touch AFTER INSERT ON signups FOR EACH ROW EXECUTE FUNCTION touch_notes();
    END IF;
END $$;
DO $$
BEGIN
    CREATE RULE touch_rule AS ON INSERT TO visits DO ALSO UPDATE notes SET body = 'HACK';
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
"""


def test_triggers_and_rules_created_in_do_are_read(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, DO_WRITES, tenant_column="org")
    assert isinstance(policy, Policy)
    for table in ("signups", "visits"):
        assert _codes(f"INSERT INTO {table} VALUES (1, $1)", policy) == ["TG005"], table
    # an operator or cast created there is reported at its DO statement
    schema = SchemaInfo()
    schema.add_sql(
        "DO $$ BEGIN CREATE OPERATOR = (LEFTARG = uuid, RIGHTARG = text, FUNCTION = f); "
        "EXCEPTION WHEN duplicate_function THEN NULL; END $$;",
        "0001.sql",
    )
    assert [p.line for p in schema.problems] == [1]


async def test_the_triggers_made_in_do_change_org_2_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            DO_WRITES + "INSERT INTO orgs VALUES (1, 'own'), (2, 'VICTIM');\n"
            "INSERT INTO notes VALUES (2, 1, 'VICTIM');"
        )
        for table in ("signups", "visits"):
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(f"INSERT INTO {table} VALUES (1, 'a@example.com')")
                assert await conn.fetchval("SELECT body FROM notes WHERE org = 2") == "HACK"
            finally:
                await transaction.rollback()
    finally:
        await conn.close()


# … and one created by dynamic SQL (`EXECUTE format('CREATE TRIGGER … ON %I …', t)`), which no
# reader can follow: TG006 at the DO statement, whatever is checked.
DO_DYNAMIC = (
    DO_WRITES.split("DO $$")[0]
    + """DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['signups'] LOOP
        EXECUTE format('CREATE TRIGGER touch AFTER INSERT ON %I FOR EACH ROW '
            'EXECUTE FUNCTION touch_notes()', t);
    END LOOP;
END $$;
"""
)


def test_a_trigger_created_by_dynamic_sql_is_unprovable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tenantguard.toml").write_text(
        'tenant_column = "org"\nschema_paths = ["schema"]\n', encoding="utf-8"
    )
    (tmp_path / "schema").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "schema/0001.sql").write_text(DO_DYNAMIC, encoding="utf-8")
    (tmp_path / "app/q.sql").write_text("INSERT INTO signups VALUES (1, $1);\n", encoding="utf-8")
    line = DO_DYNAMIC[: DO_DYNAMIC.index("DO $$")].count("\n") + 1
    assert _check(tmp_path, monkeypatch, capsys, "app") == [("schema/0001.sql", line, "TG006")]


async def test_the_dynamic_trigger_changes_org_2_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            DO_DYNAMIC + "INSERT INTO orgs VALUES (1, 'own'), (2, 'VICTIM');\n"
            "INSERT INTO notes VALUES (2, 1, 'VICTIM');\n"
            "INSERT INTO signups VALUES (1, 'a@example.com');"
        )
        assert await conn.fetchval("SELECT body FROM notes WHERE org = 2") == "HACK"
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 8: a stored generated
# column computed by a schema function that reads every tenant's rows (labelled IMMUTABLE: the
# server takes its word). Every row written holds that data for good: INSERT … RETURNING
# summary, and any later read of the row, returned workspace B's bodies to A. Round 12 read
# column defaults so; a generated column is computed at each write whatever the statement says.
GENERATED = """
CREATE TABLE workspaces (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE docs (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    body text, PRIMARY KEY (workspace_id, id));
CREATE FUNCTION every_body(x int) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT string_agg(body, ',' ORDER BY body) FROM docs $$;
CREATE FUNCTION doubled(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x * 2 $$;
CREATE TABLE drafts (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    summary text GENERATED ALWAYS AS (every_body(id)) STORED, PRIMARY KEY (workspace_id, id));
CREATE TABLE pages (workspace_id uuid NOT NULL REFERENCES workspaces (id), id int NOT NULL,
    twice int GENERATED ALWAYS AS (doubled(id)) STORED, PRIMARY KEY (workspace_id, id));
"""


def test_a_generated_column_computed_from_every_tenant_is_reported(tmp_path: Path) -> None:
    policy = _policy(tmp_path, GENERATED)
    insert = "INSERT INTO drafts (workspace_id, id) VALUES ($1, 1) RETURNING summary"
    assert _codes(insert, policy) == ["TG005"]
    assert _codes("SELECT summary FROM drafts WHERE workspace_id = $1", policy) == ["TG001"]
    # a function of the row's own values: proven
    assert (
        _codes("INSERT INTO pages (workspace_id, id) VALUES ($1, 1) RETURNING twice", policy) == []
    )
    assert _codes("SELECT twice FROM pages WHERE workspace_id = $1", policy) == []


async def test_the_generated_column_holds_workspace_b_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            GENERATED + f"INSERT INTO workspaces VALUES ('{A}', 'own'), ('{B}', 'VICTIM');\n"
            f"INSERT INTO docs VALUES ('{B}', 1, 'VICTIM');"
        )
        insert = "INSERT INTO drafts (workspace_id, id) VALUES ($1, 1) RETURNING summary"
        assert await _fetch(conn, insert, A) == ["VICTIM"]
        await conn.execute(f"INSERT INTO drafts (workspace_id, id) VALUES ('{A}', 1)")
        read = "SELECT summary FROM drafts WHERE workspace_id = $1"
        assert await _fetch(conn, read, A) == ["VICTIM"]
    finally:
        await conn.close()
