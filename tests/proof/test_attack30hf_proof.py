"""Round 30, outside review h (second pass): the two acceptances of 036b4e0 and 3d805a1 attacked.

1. Leak (TG013, 3d805a1): a scalar subquery was read as one row when its WHERE fixed a unique
   key by "a value reading no column" — but `=` between the key column and a value of another
   type compares in the common type, where several keys may be equal: `amount = 0.1::float8`
   with `amount numeric UNIQUE` (0.1 and 0.1000000000000000001 are one float8), `big =
   1e16::float8` with `big bigint UNIQUE` (10^16 and 10^16 + 1), and a value with an explicit
   COLLATE of a nondeterministic collation (`code = 'a' COLLATE ci`: 'a' and 'A', two keys of
   a deterministic column, are equal). The subquery returns two rows and fails on the first row
   that reaches it: run before the pin, the error tells whether the victim has a task titled
   from 'M' on. A key is now fixed only by a parameter, a literal, or a cast of one to the key
   column's own type.
2. Leak (TG013, same class, round 29): a set-returning call of ORDER BY or DISTINCT ON adds
   rows as one of the select list does (`SELECT max(name) FROM projects … ORDER BY
   generate_series(1, 2)`, the key's row likewise, `GROUP BY ()` likewise): only the select
   list's calls were read, so such a subquery was one row.
3. Leak (TG001, 036b4e0 and the key it stands on): `ALTER TABLE comments ENABLE REPLICA
   TRIGGER "RI_ConstraintTrigger_c_…"` makes the foreign key's check fire only in replica
   sessions: an ordinary session writes a victim's comment naming the request's task, and
   `DELETE FROM comments c USING tasks t WHERE t.id = c.task_id AND t.workspace_id = $1`
   deletes it. Read like DISABLE TRIGGER of the same name (ENABLE ALWAYS still fires: the twin).
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import fresh_database
from tests.proof import test_attack29a_proof as r29
from tests.proof import test_attack30h_proof as r30h
from tests.proof.test_schema import policy_for

SCHEMA = (
    r29.SCHEMA
    + """
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE codes (org_id int NOT NULL REFERENCES orgs (id), code text NOT NULL,
  amount numeric UNIQUE, big bigint UNIQUE, name text, PRIMARY KEY (org_id, code));
"""
)
# two codes of the request's org, each pair equal in a looser comparison
DATA = (
    r29.DATA
    + """
INSERT INTO codes VALUES (1, 'a', 0.1, 10000000000000000, 'one'),
  (1, 'A', 0.1000000000000000001, 10000000000000001, 'two');
"""
)


def _codes(sql: str, tmp_path: Path) -> list[str]:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org_id")
    return sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]


_SEARCH = "SELECT title FROM tasks WHERE title >= 'M' AND title <> ({}) AND org_id = $1"
SEVERAL_ROWS = {
    "numeric key, float8 value": "SELECT name FROM codes WHERE amount = 0.1::float8 AND org_id = $1",
    "bigint key, float8 value": "SELECT name FROM codes WHERE big = 1e16::float8 AND org_id = $1",
    "explicit nondeterministic collation": (
        "SELECT name FROM codes WHERE org_id = $1 AND code = 'a' COLLATE ci"
    ),
    "a key's row, ORDER BY a set-returning call": (
        "SELECT name FROM projects WHERE org_id = $1 AND id = 10 ORDER BY generate_series(1, 2)"
    ),
    "an aggregate, ORDER BY a set-returning call": (
        "SELECT max(name) FROM projects WHERE org_id = $1 ORDER BY unnest(ARRAY[1, 2])"
    ),
    "GROUP BY (), ORDER BY a set-returning call": (
        "SELECT max(name) FROM projects WHERE org_id = $1 GROUP BY () "
        "ORDER BY generate_series(1, 2)"
    ),
    "DISTINCT ON a set-returning call": (
        "SELECT DISTINCT ON (generate_series(1, 2)) name FROM projects "
        "WHERE org_id = $1 AND id = 10"
    ),
}
# twins: the key compared in its own type (a literal, a cast to the column's type), its own
# collation; ORDER BY a column
ONE_ROW = {
    "numeric literal": "SELECT name FROM codes WHERE amount = 0.1 AND org_id = $1",
    "bigint literal": "SELECT name FROM codes WHERE big = 10000000000000000 AND org_id = $1",
    "cast to the key's type": (
        "SELECT name FROM codes WHERE big = 10000000000000000::bigint AND org_id = $1"
    ),
    "the column's collation": "SELECT name FROM codes WHERE org_id = $1 AND code = 'a'",
    "ORDER BY a column": "SELECT name FROM projects WHERE org_id = $1 AND id = 10 ORDER BY name",
    "aggregate, ORDER BY 1": "SELECT max(name) FROM projects WHERE org_id = $1 ORDER BY 1",
}


def test_a_key_compared_in_another_type_or_rows_added_are_several(tmp_path: Path) -> None:
    for shape, sql in SEVERAL_ROWS.items():
        assert _codes(_SEARCH.format(sql), tmp_path) == ["TG013"], shape
    for shape, sql in ONE_ROW.items():
        assert _codes(_SEARCH.format(sql), tmp_path) == [], shape


async def test_the_error_tells_whether_the_victim_has_such_a_task(
    postgres: ThrowawayPostgres,
) -> None:
    async with fresh_database(postgres, SCHEMA + DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await r29._scan_only(conn)
            for shape, sql in SEVERAL_ROWS.items():
                # the victim's task is titled from 'M' on: it reaches the subquery, which fails
                with pytest.raises(asyncpg.CardinalityViolationError):
                    await conn.fetch(_SEARCH.format(sql), 1)
                transaction = conn.transaction()
                await transaction.start()
                try:  # … titled before 'M': no row reaches it, no error
                    await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
                    assert await conn.fetch(_SEARCH.format(sql), 1) == [], shape
                finally:
                    await transaction.rollback()
            for shape, sql in ONE_ROW.items():  # one row: the victim's task changes nothing
                assert await conn.fetch(_SEARCH.format(sql), 1) == [], shape
        finally:
            await conn.close()


# a parameter is typed once, by its first use: `$2::float8` in the select list makes the
# key's `big = $2` compare in floating point (1e16 matches both codes); the twin casts to bigint
_TYPED_ELSEWHERE = (
    "SELECT title, $2::{} FROM tasks WHERE title >= 'M' AND title <> "
    "(SELECT name FROM codes WHERE big = $2 AND org_id = $1) AND org_id = $1"
)


async def test_a_parameter_typed_float8_elsewhere_fixes_no_bigint_key(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    assert _codes(_TYPED_ELSEWHERE.format("float8"), tmp_path) == ["TG013"]
    assert _codes(_TYPED_ELSEWHERE.format("bigint"), tmp_path) == []
    async with fresh_database(postgres, SCHEMA + DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await r29._scan_only(conn)
            with pytest.raises(asyncpg.CardinalityViolationError):
                await conn.fetch(_TYPED_ELSEWHERE.format("float8"), 1, 1e16)
            assert await conn.fetch(_TYPED_ELSEWHERE.format("bigint"), 1, 10**16) == []
            transaction = conn.transaction()
            await transaction.start()
            try:  # the victim has no task titled from 'M' on: no error
                await conn.execute("UPDATE tasks SET title = 'Aardvark' WHERE org_id = 2")
                assert await conn.fetch(_TYPED_ELSEWHERE.format("float8"), 1, 1e16) == []
            finally:
                await transaction.rollback()
        finally:
            await conn.close()


_RI_TRIGGERS = (
    "SELECT tgname FROM pg_trigger g JOIN pg_constraint k ON k.oid = g.tgconstraint "
    "WHERE g.tgrelid = 'comments'::regclass AND k.conname = 'comments_workspace_id_task_id_fkey' "
    "AND tgname LIKE 'RI_ConstraintTrigger_c_%' ORDER BY tgname"
)
_VICTIM_ROW = "INSERT INTO comments VALUES (2, 2001, 100, 'VICTIM unchecked')"


@pytest.mark.parametrize(("mode", "expected"), [("REPLICA", ["TG001"]), ("ALWAYS", [])])
async def test_a_key_whose_check_fires_in_replica_sessions_only_pins_nothing(
    postgres: ThrowawayPostgres, tmp_path: Path, mode: str, expected: list[str]
) -> None:
    sql, _ = r30h.REFERENCED_SIDE["DELETE USING"]
    async with fresh_database(postgres, r30h.SCHEMA + r30h.DATA) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            transaction = conn.transaction()
            await transaction.start()
            try:
                names = [r["tgname"] for r in await conn.fetch(_RI_TRIGGERS)]
                assert len(names) == 2  # the key's checks on INSERT and on UPDATE
                migration = "".join(
                    f'ALTER TABLE comments ENABLE {mode} TRIGGER "{name}";\n' for name in names
                )
                policy = policy_for(tmp_path, r30h.SCHEMA + migration, tenant_column="workspace_id")
                found = sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]
                assert found == expected
                await conn.execute(migration)
                if mode == "REPLICA":  # unchecked: the victim's comment names our task
                    await conn.execute(_VICTIM_ROW)
                    rows = sorted(r["body"] for r in await conn.fetch(sql, 1))
                    assert rows == ["VICTIM unchecked", "own comment"]
                else:  # still checked
                    with pytest.raises(asyncpg.ForeignKeyViolationError):
                        await conn.execute(_VICTIM_ROW)
            finally:
                await transaction.rollback()
        finally:
            await conn.close()


# a referencing key column of a nondeterministic collation: the join's `=` compares in it
# ('ABC' = 'abc'), the key's check and the referenced unique key do not (the default collation):
# the victim's comment on their task 'ABC' joins our task 'abc', either way round
LOOSE_KEY = """
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE workspaces (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE tasks (workspace_id int NOT NULL REFERENCES workspaces (id), code text NOT NULL,
  title text, PRIMARY KEY (workspace_id, code), UNIQUE (code));
CREATE TABLE comments (workspace_id int NOT NULL REFERENCES workspaces (id),
  id int PRIMARY KEY, task_code text COLLATE ci, body text,
  FOREIGN KEY (workspace_id, task_code) REFERENCES tasks (workspace_id, code));
"""
LOOSE_ROWS = """
INSERT INTO workspaces VALUES (1, 'own'), (2, 'VICTIM');
INSERT INTO tasks VALUES (1, 'abc', 'own task'), (2, 'ABC', 'VICTIM task');
INSERT INTO comments VALUES (1, 1, 'abc', 'own comment'), (2, 2, 'ABC', 'VICTIM comment');
"""
THROUGH_THE_KEY = {
    "the referencing side (036b4e0)": (
        "DELETE FROM comments c USING tasks t WHERE t.code = c.task_code "
        "AND t.workspace_id = $1 RETURNING c.body"
    ),
    "the referenced side": (
        "SELECT t.title AS body FROM comments c JOIN tasks t ON t.code = c.task_code "
        "WHERE c.workspace_id = $1"
    ),
}


@pytest.mark.parametrize("loose", [True, False])
async def test_a_key_column_of_a_nondeterministic_collation_pins_nothing(
    postgres: ThrowawayPostgres, tmp_path: Path, loose: bool
) -> None:
    schema = (
        LOOSE_KEY if loose else LOOSE_KEY.replace("task_code text COLLATE ci", "task_code text")
    )
    policy = policy_for(tmp_path, schema, tenant_column="workspace_id")
    for name, sql in THROUGH_THE_KEY.items():
        found = sorted(f.code for f in analyze_statement(sql, policy).findings)  # type: ignore[arg-type]
        assert found == (["TG001"] if loose else []), name
    async with fresh_database(postgres, schema + LOOSE_ROWS) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for name, sql in THROUGH_THE_KEY.items():
                transaction = conn.transaction()
                await transaction.start()
                try:
                    rows = sorted(r["body"] for r in await conn.fetch(sql, 1))
                    victim = ["VICTIM comment" if "DELETE" in sql else "VICTIM task"]
                    own = ["own comment" if "DELETE" in sql else "own task"]
                    assert rows == (sorted(own + victim) if loose else own), name
                finally:
                    await transaction.rollback()
        finally:
            await conn.close()
