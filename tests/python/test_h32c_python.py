"""Real shapes of SQL in Python (h32c): query builders of a module (`queries.py`) that return
psycopg's `sql.SQL("…").format(…)` of their parameters, sent by other modules."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.project_files import findings_of_check, write_project

# users own cars through users_cars: the user is the tenant
SCHEMA = (
    "CREATE TABLE users (id int PRIMARY KEY, name text);\n"
    "CREATE TABLE cars (id int PRIMARY KEY, model text);\n"
    "CREATE TABLE users_cars (user_id int NOT NULL REFERENCES users(id), "
    "car_id int NOT NULL REFERENCES cars(id), PRIMARY KEY (user_id, car_id));\n"
)
CONFIG = '[tool.tenantguard]\ntenant_column = "user_id"\nschema_paths = ["schema.sql"]\n'

QUERIES = """from psycopg2 import sql


def link(one, two):
    return sql.SQL("INSERT INTO users_cars VALUES ({one}, {two})").format(
        one=sql.Literal(one), two=sql.Literal(two)
    )


def all_rows(table):
    return sql.SQL("SELECT * FROM {table}").format(table=sql.Identifier(table))
"""

CALLER = """from app import queries


class Garage:
    def __init__(self, cursor):
        self.cursor = cursor

    def add(self, user_id, car_id):
        self.cursor.execute(queries.link(user_id, car_id))

    def every_link(self):
        self.cursor.execute(queries.all_rows("users_cars"))
"""


def test_a_builders_own_fault_is_said_once_where_it_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`INSERT INTO users_cars VALUES (…)` (no column list) is wrong whatever the call gives:
    said at the builder's text, not once more at each call (it was also at garage.py:9). What
    only the call's constants make (`all_rows("users_cars")`: every tenant's links) stays said
    at the call."""
    files = {"app/__init__.py": "", "app/queries.py": QUERIES, "app/garage.py": CALLER}
    write_project(tmp_path, SCHEMA, CONFIG, files)
    assert findings_of_check(tmp_path, capsys, monkeypatch) == [
        ("app/garage.py", 12, "TG001"),
        ("app/queries.py", 5, "TG002"),
    ]


async def test_what_the_call_makes_of_a_builder_leaks_on_the_server(database: str) -> None:
    """The statement `all_rows("users_cars")` sends reads both users' links: the finding kept
    at the call is a leak."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA)
        await conn.execute(
            "INSERT INTO users VALUES (1, 'a'), (2, 'b'); INSERT INTO cars VALUES (10, 'x'), "
            "(20, 'y'); INSERT INTO users_cars VALUES (1, 10), (2, 20)"
        )
        rows = await conn.fetch('SELECT * FROM "users_cars"')
        assert sorted(r["user_id"] for r in rows) == [1, 2]
    finally:
        await conn.close()


# a repository whose helper renders `:name` placeholders (buildpg's Renderer) before sending:
# it passes no parameter unchanged, so its callers' calls are no sinks the check knows
JOBS_SCHEMA = (
    "CREATE TABLE projects (id int PRIMARY KEY);\n"
    "CREATE TABLE jobs (id int PRIMARY KEY, project_id int NOT NULL REFERENCES projects(id), "
    "status text);\n"
)
JOBS_CONFIG = '[tool.tenantguard]\ntenant_column = "project_id"\nschema_paths = ["schema.sql"]\n'

RENDERING_REPOSITORY = """from buildpg.main import Renderer

RENDERER = Renderer(regex=r"(?<![a-z:]):([a-z][a-z_]*)", sep="__")
JOBS = "jobs"


class Jobs:
    def __init__(self, conn):
        self._conn = conn

    async def run(self, template, params):
        query, args = RENDERER(template, **params)
        return await self._conn.execute(query, *args)

    async def finish(self, job_id, project_id):
        return await self.run(f"UPDATE {JOBS} SET status = 'done' WHERE {PIN}", ARGS)
"""


@pytest.mark.parametrize(
    ("pin", "args", "expected"),
    [
        ("id = :id", '{"id": job_id}', [("repo.py", 4, "TG001"), ("repo.py", 13, "TG009")]),
        (
            "id = :id AND project_id = :p",
            '{"id": job_id, "p": project_id}',
            [("repo.py", 13, "TG009")],
        ),
    ],
)
def test_an_f_string_of_constants_sent_nowhere_known_is_checked(
    pin: str,
    args: str,
    expected: list[tuple[str, int, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`f"UPDATE {JOBS} SET …"` with `JOBS = "jobs"`: its text names no tenant table, its value
    does. Sent through a helper the check does not follow, it was not checked at all ("0
    statements"): the unpinned UPDATE is TG001 now (said where the table's name is written,
    as for `BASE + "WHERE …"`), the pinned twin is not. (The helper's own TG009, SQL rendered
    at run time, stays.)"""
    source = RENDERING_REPOSITORY.replace("{PIN}", pin).replace("ARGS", args)
    write_project(tmp_path, JOBS_SCHEMA, JOBS_CONFIG, {"repo.py": source})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == expected


async def test_the_unpinned_update_moves_another_projects_job(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(JOBS_SCHEMA)
        await conn.execute(
            "INSERT INTO projects VALUES (1), (2); INSERT INTO jobs VALUES (7, 2, 'queued')"
        )
        # project 1's request for job 7 (project 2's), as each statement sends it
        await conn.execute(
            "UPDATE jobs SET status = 'done' WHERE id = $1 AND project_id = $2", 7, 1
        )
        assert await conn.fetchval("SELECT status FROM jobs WHERE id = 7") == "queued"
        await conn.execute("UPDATE jobs SET status = 'done' WHERE id = $1", 7)
        assert await conn.fetchval("SELECT status FROM jobs WHERE id = 7") == "done"
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "built",
    [
        "\"UPDATE {} SET status = 'done' WHERE id = :id\".format(JOBS)",
        "\"UPDATE {t} SET status = 'done' WHERE id = :id\".format(t=JOBS)",
        "\"UPDATE %s SET status = 'done' WHERE id = :id\" % JOBS",
        "\"UPDATE %(t)s SET status = 'done' WHERE id = :id\" % {'t': JOBS}",
        '" ".join(["UPDATE", JOBS, "SET status = \'done\' WHERE id = :id"])',
        '"\\n".join(("UPDATE", JOBS, "SET status = \'done\'", "WHERE id = :id"))',
    ],
)
@pytest.mark.parametrize("pinned", [False, True])
def test_a_template_of_constants_sent_nowhere_known_is_checked(
    built: str,
    pinned: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`"UPDATE {} SET …".format(JOBS)`, `"UPDATE %s …" % JOBS` and `" ".join(["UPDATE", JOBS,
    …])` of constants, handed to the rendering helper: their texts name no tenant table, their
    values do (as the f-string above): checked, the unpinned one TG001 where `jobs` is
    written."""
    if pinned:
        built = built.replace("id = :id", "id = :id AND project_id = :p")
    source = RENDERING_REPOSITORY.replace(
        "f\"UPDATE {JOBS} SET status = 'done' WHERE {PIN}\"", built
    ).replace("ARGS", "{}")
    write_project(tmp_path, JOBS_SCHEMA, JOBS_CONFIG, {"repo.py": source})
    expected = [("repo.py", 13, "TG009")]
    if not pinned:
        expected.insert(0, ("repo.py", 4, "TG001"))
    assert findings_of_check(tmp_path, capsys, monkeypatch) == expected


# a store that creates its own table on first use, its name a class constant (cograph's
# schedule store), named in schema_paths beside the project's .sql schema
STORE = '''class ScheduleStore:
    _TABLE = "schedules"

    def __init__(self, pool):
        self._pool = pool

    async def ensure(self, conn):
        await conn.execute(
            f"""
            CREATE TABLE IF NOT EXISTS {self._TABLE} (
                id text PRIMARY KEY,
                tenant_id text NOT NULL,
                payload jsonb NOT NULL
            )
            """
        )
        await conn.execute(f"CREATE INDEX IF NOT EXISTS {self._TABLE}_tenant_idx ON {self._TABLE} (tenant_id)")

    async def delete(self, conn, schedule_id):
        await conn.execute(f"DELETE FROM {self._TABLE} WHERE id = $1", schedule_id)

    async def list_for_tenant(self, conn, tenant_id):
        return await conn.fetch(f"SELECT payload FROM {self._TABLE} WHERE tenant_id = $1", tenant_id)
'''
STORE_CONFIG = (
    '[tool.tenantguard]\ntenant_column = "tenant_id"\nschema_paths = ["schema.sql", "store.py"]\n'
)
NOTES = "CREATE TABLE notes (id int PRIMARY KEY, tenant_id text NOT NULL);\n"


def test_a_python_schema_source_reads_a_table_named_by_a_class_constant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`f"CREATE TABLE IF NOT EXISTS {self._TABLE} (… tenant_id …)"` in a schema source: its
    pieces were read one by one (TG006 'cannot read this schema statement' at each DDL) and
    `schedules` was no tenant table, so the store's DELETE by id alone passed. The f-string is
    read with its class constant now: schedules is a tenant table, the DELETE is TG001 (where
    `schedules` is written), the pinned read is not."""
    write_project(tmp_path, NOTES, STORE_CONFIG, {"store.py": STORE})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == [("store.py", 2, "TG001")]


async def test_the_delete_by_id_removes_another_tenants_schedule(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "CREATE TABLE schedules (id text PRIMARY KEY, tenant_id text NOT NULL, payload jsonb)"
        )
        await conn.execute("INSERT INTO schedules VALUES ('s-b', 'b', '{}')")
        # tenant a's request with tenant b's schedule id
        await conn.execute("DELETE FROM schedules WHERE id = $1", "s-b")
        assert await conn.fetchval("SELECT count(*) FROM schedules WHERE tenant_id = 'b'") == 0
    finally:
        await conn.close()


@pytest.mark.parametrize("pinned", [False, True])
def test_an_f_string_field_of_a_constant_mapping_is_read(
    pinned: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`f"UPDATE {TABLES['jobs']} SET …"` of a dict of constants, handed to the rendering
    helper: read with the value it holds, as `{JOBS}` is."""
    pin = "id = :id AND project_id = :p" if pinned else "id = :id"
    source = (
        RENDERING_REPOSITORY.replace('JOBS = "jobs"', 'JOBS = "jobs"\nTABLES = {"jobs": "jobs"}')
        .replace("{JOBS} SET", "{TABLES['jobs']} SET")
        .replace("{PIN}", pin)
        .replace("ARGS", "{}")
    )
    write_project(tmp_path, JOBS_SCHEMA, JOBS_CONFIG, {"repo.py": source})
    expected = [("repo.py", 14, "TG009")]
    if not pinned:
        expected.insert(0, ("repo.py", 5, "TG001"))
    assert findings_of_check(tmp_path, capsys, monkeypatch) == expected
