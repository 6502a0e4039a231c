"""Round 30 (outside review h), on a schema of its own: tenant column `workspace_id`, the
registry `workspaces`, composite foreign keys; workspace 1 is the request's, 2 the victim.

1. False alarm: a composite foreign key read the other way round. With `FOREIGN KEY
   (workspace_id, task_id) REFERENCES tasks (workspace_id, id)` on `comments`, `tasks.id`
   unique by itself and `comments.workspace_id` NOT NULL, `c.task_id = t.id` with `t` pinned
   pins `c`: the key's target row is the one `tasks` row of that id, so the comment's tenant is
   the task's. `DELETE FROM comments c USING tasks t WHERE t.id = c.task_id AND t.workspace_id
   = $1`, `UPDATE tasks … FROM projects p WHERE p.id = t.project_id AND p.workspace_id = $1`,
   an INSERT … SELECT over such a join, a LEFT JOIN's nullable side, a correlated subquery of
   the select list — all flagged before. Not when the referenced id is unique only per tenant
   (a victim's row of the same id joins), nor when the referencing tenant column may be NULL
   (the key is not checked on such a row: MATCH SIMPLE), nor when the referencing table has
   children by inheritance (a foreign key is not inherited: a child's row names any task).
2. Leak (TG012): the key of a pyformat placeholder is every character between `%(` and `)`,
   as Python's `%` formatting reads it (psycopg2 formats the statement so, psycopg 3 reads the
   same keys); sqlglot skips blanks, comments and quotes there, so `%(tenant)s` and
   `%(tenant )s` (or `%( tenant)s`, `%("tenant")s`, `%(/**/tenant)s`) were one parameter to
   the proof, two dict keys to the driver: `{'tenant': 1, 'tenant ': 2}` reads both tenants.
3. False alarm: a column definition list declares its columns' types (`json_to_recordset(…) AS
   r(workspace_id int, title text)`, a function returning `record`), yet every column it named
   was read as of unknown type, so a parameter compared with any column of that name — the
   tenant column's own, in a pinned subquery — pinned nothing. A declared exact type (integers,
   numeric, text, varchar, uuid; no length, precision or array) is that type.
4. False alarm: `workspace_id = ANY(ARRAY[$1::int, NULL])`: a NULL element matches no row, as
   in `IN ($1, NULL)` (which pinned); not with a second value.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import fresh_database
from tests.proof.test_schema import policy_for

SCHEMA = """
CREATE TABLE workspaces (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE projects (workspace_id int NOT NULL REFERENCES workspaces (id), id int NOT NULL,
  name text, PRIMARY KEY (workspace_id, id), UNIQUE (id));
CREATE TABLE tasks (workspace_id int NOT NULL REFERENCES workspaces (id), id int NOT NULL,
  project_id int, title text, weight real, PRIMARY KEY (workspace_id, id), UNIQUE (id),
  FOREIGN KEY (workspace_id, project_id) REFERENCES projects (workspace_id, id));
CREATE TABLE comments (workspace_id int NOT NULL REFERENCES workspaces (id),
  id int PRIMARY KEY, task_id int, body text,
  FOREIGN KEY (workspace_id, task_id) REFERENCES tasks (workspace_id, id));
-- a board's id is unique only per workspace: each has its board 10
CREATE TABLE boards (workspace_id int NOT NULL REFERENCES workspaces (id), id int NOT NULL,
  name text, PRIMARY KEY (workspace_id, id));
CREATE TABLE cards (workspace_id int NOT NULL REFERENCES workspaces (id), id int PRIMARY KEY,
  board_id int, body text, FOREIGN KEY (workspace_id, board_id) REFERENCES boards (workspace_id, id));
-- a tenant column that may be NULL: the key is not checked on such a row
CREATE TABLE drafts (workspace_id int REFERENCES workspaces (id), id int PRIMARY KEY,
  task_id int, body text, FOREIGN KEY (workspace_id, task_id) REFERENCES tasks (workspace_id, id));
"""
DATA = """
INSERT INTO workspaces VALUES (1, 'own'), (2, 'VICTIM');
INSERT INTO projects VALUES (1, 10, 'Alpha'), (2, 20, 'VICTIM project');
INSERT INTO tasks VALUES (1, 100, 10, 'Alpha task'), (2, 200, 20, 'VICTIM task');
INSERT INTO comments VALUES (1, 1000, 100, 'own comment'), (2, 2000, 200, 'VICTIM comment');
INSERT INTO boards VALUES (1, 10, 'own board'), (2, 10, 'VICTIM board');
INSERT INTO cards VALUES (1, 1, 10, 'own card'), (2, 2, 10, 'VICTIM card');
INSERT INTO drafts VALUES (1, 1, 100, 'own draft'), (NULL, 9, 100, 'NOTENANT draft');
"""


@pytest.fixture
async def workspaces(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, SCHEMA + DATA) as dsn:
        yield dsn


def _codes(sql: str, tmp_path: Path) -> list[str]:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="workspace_id")
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


# each statement with the rows it returns for workspace 1: the other tenant's rows never
# (what the same statement returns with `c.workspace_id = $1` written out)
REFERENCED_SIDE = {
    "DELETE USING": (
        "DELETE FROM comments c USING tasks t WHERE t.id = c.task_id AND t.workspace_id = $1 "
        "RETURNING c.body",
        [("own comment",)],
    ),
    "UPDATE FROM": (
        "UPDATE tasks t SET title = p.name FROM projects p "
        "WHERE p.id = t.project_id AND p.workspace_id = $1 RETURNING t.id, t.title",
        [(100, "Alpha")],
    ),
    "INSERT SELECT": (
        "INSERT INTO comments (workspace_id, id, task_id, body) "
        "SELECT $1, c.id + 5000, c.task_id, 'copy of ' || c.body "
        "FROM tasks t JOIN comments c ON c.task_id = t.id WHERE t.workspace_id = $1 "
        "RETURNING body",
        [("copy of own comment",)],
    ),
    "left join": (
        "SELECT t.title, c.body FROM tasks t LEFT JOIN comments c ON c.task_id = t.id "
        "WHERE t.workspace_id = $1",
        [("Alpha task", "own comment")],
    ),
    "select list": (
        "SELECT t.title, (SELECT string_agg(c.body, ',') FROM comments c WHERE c.task_id = t.id) "
        "FROM tasks t WHERE t.workspace_id = $1",
        [("Alpha task", "own comment")],
    ),
}
# an id unique only per workspace: the victim's card on its board 10 joins
PER_TENANT_KEY = (
    "SELECT c.body FROM boards b JOIN cards c ON c.board_id = b.id WHERE b.workspace_id = $1"
)
# a NULL tenant column escapes the key: the row of no tenant joins
NULLABLE = "SELECT d.body FROM tasks t JOIN drafts d ON d.task_id = t.id WHERE t.workspace_id = $1"


def test_a_composite_key_pins_the_referencing_row_of_a_pinned_target(tmp_path: Path) -> None:
    for name, (sql, _) in REFERENCED_SIDE.items():
        assert _codes(sql, tmp_path) == [], name
    assert _codes(PER_TENANT_KEY, tmp_path) == ["TG001"]
    assert _codes(NULLABLE, tmp_path) == ["TG001"]


async def test_the_referencing_rows_are_the_targets_tenants(workspaces: str) -> None:
    conn = await asyncpg.connect(workspaces)
    try:
        for name, (sql, rows) in REFERENCED_SIDE.items():
            transaction = conn.transaction()
            await transaction.start()
            try:
                assert [tuple(r.values()) for r in await conn.fetch(sql, 1)] == rows, name
                victim = await conn.fetch(
                    "SELECT p.name, t.title, c.body FROM projects p, tasks t, comments c "
                    "WHERE p.workspace_id = 2 AND t.workspace_id = 2 AND c.workspace_id = 2"
                )
                assert [tuple(r.values()) for r in victim] == [
                    ("VICTIM project", "VICTIM task", "VICTIM comment")
                ], name
            finally:
                await transaction.rollback()
        # the twins: the victim's card, and the draft of no tenant
        assert sorted(r["body"] for r in await conn.fetch(PER_TENANT_KEY, 1)) == [
            "VICTIM card",
            "own card",
        ]
        assert sorted(r["body"] for r in await conn.fetch(NULLABLE, 1)) == [
            "NOTENANT draft",
            "own draft",
        ]
    finally:
        await conn.close()


# every one of these keys is another dict key than `tenant`
PYFORMAT_KEYS = ["tenant ", " tenant", '"tenant"', "/**/tenant", "tenant\n"]
_TWO_KEYS = (
    "SELECT t.title FROM tasks t WHERE t.workspace_id = %(tenant)s "
    "UNION ALL SELECT c.body FROM comments c WHERE c.workspace_id = %({})s"
)


def test_a_pyformat_key_is_what_python_reads(tmp_path: Path) -> None:
    for key in PYFORMAT_KEYS:
        assert _codes(_TWO_KEYS.format(key), tmp_path) == ["TG012"], repr(key)
    assert _codes(_TWO_KEYS.format("tenant"), tmp_path) == []


async def test_two_pyformat_keys_read_two_tenants(workspaces: str) -> None:
    conn = await asyncpg.connect(workspaces)
    try:
        for key in PYFORMAT_KEYS:
            # what psycopg2 sends: the statement formatted with Python's `%` over the
            # caller's dict (its values quoted as literals)
            sent = _TWO_KEYS.format(key) % {"tenant": "1", key: "2"}
            rows = sorted(r["title"] for r in await conn.fetch(sent))
            assert rows == ["Alpha task", "VICTIM comment"], repr(key)
    finally:
        await conn.close()


# each with the rows it returns for workspace 1
PLAIN_SEMANTICS = {
    "column definition list": (
        "SELECT r.title FROM json_to_recordset((SELECT json_agg(t) FROM tasks t "
        "WHERE t.workspace_id = $1)) AS r(workspace_id int, title text, weight real)",
        ["Alpha task"],
    ),
    "jsonb, bigint": (
        "SELECT r.title FROM jsonb_to_recordset((SELECT jsonb_agg(t) FROM tasks t "
        "WHERE t.workspace_id = $1)) AS r(title text, workspace_id bigint, weight real)",
        ["Alpha task"],
    ),
    "any of an array with a NULL": (
        "SELECT title FROM tasks WHERE workspace_id = ANY(ARRAY[$1::int, NULL])",
        ["Alpha task"],
    ),
    "all of an array with a NULL": (
        "SELECT title FROM tasks WHERE workspace_id = ALL(ARRAY[NULL, $1::int])",
        [],
    ),
}
# the twin: a second value is another tenant
STILL_FLAGGED = {
    "a second value": (
        "SELECT title FROM tasks WHERE workspace_id = ANY(ARRAY[$1::int, NULL, 2])",
        ["Alpha task", "VICTIM task"],
    ),
}


def test_declared_types_and_null_elements(tmp_path: Path) -> None:
    for name, (sql, _) in PLAIN_SEMANTICS.items():
        assert _codes(sql, tmp_path) == [], name
    for name, (sql, _) in STILL_FLAGGED.items():
        assert _codes(sql, tmp_path) == ["TG001"], name


async def test_declared_types_and_null_elements_on_the_server(workspaces: str) -> None:
    conn = await asyncpg.connect(workspaces)
    try:
        for name, (sql, rows) in {**PLAIN_SEMANTICS, **STILL_FLAGGED}.items():
            assert sorted(r["title"] for r in await conn.fetch(sql, 1)) == rows, name
    finally:
        await conn.close()


# a child by inheritance of the referencing table: its rows are read with it, unchecked by the key
CHILD = "CREATE TABLE comments_archive (archived date) INHERITS (comments);\n"
CHILD_ROW = "INSERT INTO comments_archive VALUES (2, 2600, 100, 'VICTIM archived', now());\n"


async def test_a_child_of_the_referencing_table_escapes_the_key(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    sql, _ = REFERENCED_SIDE["DELETE USING"]
    policy = policy_for(tmp_path, SCHEMA + CHILD, tenant_column="workspace_id")
    assert sorted(f.code for f in analyze_statement(sql, policy).findings) == ["TG001"]  # type: ignore[arg-type]
    async with fresh_database(postgres, SCHEMA + CHILD + DATA + CHILD_ROW) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            transaction = conn.transaction()
            await transaction.start()
            try:
                rows = sorted(r["body"] for r in await conn.fetch(sql, 1))
                assert rows == ["VICTIM archived", "own comment"]
            finally:
                await transaction.rollback()
        finally:
            await conn.close()
