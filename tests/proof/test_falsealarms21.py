"""False alarms of round 21 (helper-91, on a realistic asyncpg application), each with the
statement it wrongly flagged and, where the claim is about rows, the server's answer.

1. A pinned DELETE or UPDATE of a table referenced by a composite foreign key that carries the
   tenant column to the tenant column (`FOREIGN KEY (tenant_id, task_id) REFERENCES tasks
   (tenant_id, id) ON DELETE CASCADE`, the recommended multi-tenant design) reaches only rows
   of the deleted row's tenant: the key makes them equal. It was TG005 on every repository's
   `delete()`. A key that leaves the tenant column out, maps it to another column, or sets it
   to its default (another tenant's, maybe), still is.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.config import Settings, build_policy
from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.policy import Policy

TASKS = (
    "CREATE TABLE tenants (id bigint PRIMARY KEY, name text NOT NULL);\n"
    "CREATE TABLE tasks (\n"
    "    tenant_id bigint NOT NULL REFERENCES tenants (id),\n"
    "    id bigint NOT NULL,\n"
    "    title text NOT NULL,\n"
    "    PRIMARY KEY (tenant_id, id)\n"
    ");\n"
    "CREATE TABLE comments (\n"
    "    id bigserial PRIMARY KEY,\n"
    "    tenant_id bigint NOT NULL,\n"
    "    task_id bigint NOT NULL,\n"
    "    body text NOT NULL,\n"
    "    FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id)\n"
    "        ON DELETE CASCADE ON UPDATE CASCADE\n"
    ");\n"
)
# the same child keyed without the tenant column, and with it mapped to another column
LOOSE = (
    "CREATE TABLE loose (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,\n"
    "    task_tenant bigint, task_id bigint,\n"
    "    FOREIGN KEY (task_tenant, task_id) REFERENCES tasks (tenant_id, id) ON DELETE CASCADE);\n"
)
DEFAULTED = (  # SET DEFAULT: the rows would move to the tenant column's default
    "CREATE TABLE defaulted (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL DEFAULT 0,\n"
    "    task_id bigint,\n"
    "    FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id) ON DELETE SET DEFAULT);\n"
)
SWAPPED = (
    "CREATE TABLE swapped (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,\n"
    "    task_id bigint NOT NULL,\n"
    "    FOREIGN KEY (task_id, tenant_id) REFERENCES tasks (tenant_id, id) ON DELETE CASCADE);\n"
)


def _policy(tmp_path: Path, *sql: str) -> Policy:
    schema = tmp_path / "schema"
    schema.mkdir()
    for number, text in enumerate(sql, 1):
        (schema / f"{number:04}.sql").write_text(text, encoding="utf-8")
    return build_policy(Settings(root=tmp_path, schema_paths=("schema",)))


def _codes(sql: str, policy: Policy) -> list[str]:
    return [f.code for f in analyze_statement(sql, policy).findings]


PINNED_WRITES = [
    "DELETE FROM tasks WHERE tenant_id = $1 AND id = $2",
    "UPDATE tasks SET id = $3 WHERE tenant_id = $1 AND id = $2",
]


@pytest.mark.parametrize("sql", PINNED_WRITES)
def test_a_composite_key_carrying_the_tenant_column_cascades_within_the_tenant(
    tmp_path: Path, sql: str
) -> None:
    policy = _policy(tmp_path, TASKS)
    assert "tasks" not in policy.cascades
    assert _codes(sql, policy) == []


@pytest.mark.parametrize("child", [LOOSE, SWAPPED, DEFAULTED])
@pytest.mark.parametrize("sql", PINNED_WRITES[:1])
def test_a_key_that_does_not_carry_the_tenant_column_still_reaches_other_tenants(
    tmp_path: Path, child: str, sql: str
) -> None:
    policy = _policy(tmp_path, TASKS, child)
    assert "tasks" in policy.cascades
    assert "TG005" in _codes(sql, policy)


async def test_on_the_server_the_cascade_stays_in_the_tenant(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(TASKS)
        await conn.execute(
            "INSERT INTO tenants VALUES (1, 'one'), (2, 'two');"
            "INSERT INTO tasks VALUES (1, 10, 'a'), (2, 10, 'b');"
            "INSERT INTO comments (tenant_id, task_id, body) VALUES (1, 10, 'mine'), "
            "(2, 10, 'theirs')"
        )
        await conn.execute(PINNED_WRITES[1], 1, 10, 11)
        await conn.execute(PINNED_WRITES[0], 1, 11)
        left = await conn.fetch("SELECT tenant_id, task_id, body FROM comments ORDER BY body")
        assert [tuple(r) for r in left] == [(2, 10, "theirs")]
        with pytest.raises(asyncpg.ForeignKeyViolationError):  # no reference across tenants
            await conn.execute(
                "INSERT INTO comments (tenant_id, task_id, body) VALUES (1, 10, 'x')"
            )
    finally:
        await conn.close()


def test_moving_the_parent_to_another_tenant_is_still_a_finding(tmp_path: Path) -> None:
    policy = _policy(tmp_path, TASKS)  # ON UPDATE CASCADE would carry the comments along
    assert "TG004" in _codes("UPDATE tasks SET tenant_id = $2 WHERE tenant_id = $1", policy)


# helper-92, on the fix above: the key left out hid what the rows it reaches do in turn. A child
# referenced by a key without the tenant column (comments.note_id -> notes.id) deletes other
# tenants' comments; a child whose trigger deletes unpinned deletes other tenants' audit rows;
# SET NULL makes the rows no tenant's (every tenant's under shared_rows). Each is TG005 again.
CHAIN = (
    "CREATE TABLE tasks (tenant_id bigint NOT NULL, id bigint NOT NULL, PRIMARY KEY (tenant_id, id));\n"
    "CREATE TABLE notes (tenant_id bigint NOT NULL, id bigint PRIMARY KEY, task_id bigint,\n"
    "  FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id)\n"
    "  ON DELETE CASCADE ON UPDATE CASCADE);\n"
)
FURTHER = [
    "CREATE TABLE comments (tenant_id bigint NOT NULL, id bigint PRIMARY KEY,\n"
    "  note_id bigint REFERENCES notes (id) ON DELETE CASCADE, body text);\n",
    "CREATE TABLE audit (tenant_id bigint NOT NULL, ref bigint, what text);\n"
    "CREATE FUNCTION notes_gone() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN DELETE FROM audit WHERE ref = OLD.id; RETURN OLD; END $$;\n"
    "CREATE TRIGGER notes_gone AFTER DELETE OR UPDATE ON notes FOR EACH ROW\n"
    "  EXECUTE FUNCTION notes_gone();\n",
]
NULLED = (
    "CREATE TABLE tasks (tenant_id bigint NOT NULL, id bigint NOT NULL, PRIMARY KEY (tenant_id, id));\n"
    "CREATE TABLE notes (tenant_id bigint, id bigint PRIMARY KEY, task_id bigint, body text,\n"
    "  FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id) ON DELETE SET NULL);\n"
)
# a self-reference carrying the tenant column, and a grandchild by one: still one tenant's rows
CLEAN_CHAIN = CHAIN + (
    "CREATE TABLE replies (tenant_id bigint NOT NULL, id bigint PRIMARY KEY, note_id bigint,\n"
    "  parent bigint, FOREIGN KEY (tenant_id, note_id) REFERENCES notes (tenant_id, id)\n"
    "  ON DELETE CASCADE, FOREIGN KEY (tenant_id, parent) REFERENCES replies (tenant_id, id)\n"
    "  ON DELETE CASCADE);\n"
    "ALTER TABLE notes ADD UNIQUE (tenant_id, id);\n"
    "ALTER TABLE replies ADD UNIQUE (tenant_id, id);\n"
)


@pytest.mark.parametrize("further", FURTHER)
def test_a_child_whose_rows_reach_further_is_still_a_cascade(tmp_path: Path, further: str) -> None:
    policy = _policy(tmp_path, CHAIN + further)
    assert "TG005" in _codes(PINNED_WRITES[0], policy)


def test_set_null_on_the_tenant_column_is_still_a_cascade(tmp_path: Path) -> None:
    policy = _policy(tmp_path, NULLED)
    assert "TG005" in _codes(PINNED_WRITES[0], policy)


def test_a_chain_of_keys_carrying_the_tenant_column_stays_in_the_tenant(tmp_path: Path) -> None:
    policy = _policy(tmp_path, CLEAN_CHAIN)
    assert _codes(PINNED_WRITES[0], policy) == []


async def test_on_the_server_a_further_key_reaches_another_tenant(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(CHAIN + FURTHER[0])
        await conn.execute(
            "INSERT INTO tasks VALUES (1, 5), (2, 5);"
            "INSERT INTO notes VALUES (1, 50, 5), (2, 60, 5);"
            # tenant 2's comment on tenant 1's note: the key without the tenant column allows it
            "INSERT INTO comments VALUES (2, 900, 50, 'tenant 2 private'), (2, 901, 60, 'kept')"
        )
        await conn.execute(PINNED_WRITES[0], 1, 5)
        left = [
            tuple(r) for r in await conn.fetch("SELECT tenant_id, id FROM comments ORDER BY id")
        ]
        assert left == [(2, 901)]  # tenant 2's comment 900 went with tenant 1's task
    finally:
        await conn.close()
