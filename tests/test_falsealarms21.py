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
