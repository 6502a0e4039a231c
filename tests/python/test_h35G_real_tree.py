"""Session 35 (helper G), issue 12: a session-replay SaaS as a team would meet it.

`tests/fixtures/projects/h35G_replay/` (its own pyproject.toml, written by `tenantguard init`
plus the `per_file_ignores` README advises for staff code) has two tenancy levels — `tenant_id`
on every table, `project_id` under it, composite foreign keys `(tenant_id, project_id)` —,
FastAPI routers with `Depends` lending the asyncpg connection, an arq worker (`executemany`,
`copy_records_to_table`), repositories with SQL in class attributes and in a `sql/` package of
`.sql` files read at import, an admin module that reads across tenants, migrations with psql
meta-commands, tests that insert and TRUNCATE, one-off scripts, Jinja templates (an e-mail and
a SQL segment query), GraphQL, a dashboard's SQL console, `%`-built `$n` placeholders, an Enum
and a dict registry of queries, and leaks placed where a reviewer would miss them. Each
expected finding is marked inline (`# expect:` / `-- expect:`); `tenantguard check` is run on
it in a fresh process, as a user runs it (json and text), and must report exactly those.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text
from tests.cli.test_projects import expectations
from tests.conftest import fresh_database
from tests.python.test_h34D_real_tree import reported

ROOT = Path(__file__).parent.parent / "fixtures" / "projects" / "h35G_replay"


def test_the_replay_tree_reports_exactly_what_it_expects() -> None:
    got = reported(ROOT)
    want = expectations(ROOT)
    # (reported and not expected, expected and not reported)
    assert (sorted(got - want), sorted(want - got)) == ([], [])


def test_the_text_report_says_the_same() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "--format", "concise", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = {
        (path, int(line), rule.strip().split()[0])
        for path, line, _, rule in (
            row.split(":", 3) for row in done.stdout.splitlines() if row.count(":") >= 3
        )
        if line.isdigit()
    }
    assert lines == expectations(ROOT)


# Jinja: a SQL template whose tenant filter sits under `{% if %}` renders, on the path where the
# condition is false, a query of every tenant's rows. It was TG009 (a warning, exit 0).

JINJA = '''\
from jinja2 import Template

SEGMENT = Template(
    """
    SELECT s.id FROM sessions s
    WHERE s.project_id = {{ project_id }}
    {% if tenant_id %} AND s.tenant_id = {{ tenant_id }}{% endif %}
    """
)


async def segment(conn, scope):
    return await conn.fetch(SEGMENT.render(project_id=scope.project_id, tenant_id=scope.tenant_id))
'''

JINJA_PINNED = """\
import jinja2

SEGMENT = jinja2.Template(
    "SELECT s.id FROM sessions s WHERE s.tenant_id = $1 {# the pin #}"
    "{% if starred %} AND s.is_starred{% elif live %} AND s.status = 'live'{% else %}{% endif %}"
    "{% if mine %} AND s.user_ref = $2{% endif %}"
)


async def segment(conn, scope, starred, live):
    return await conn.fetch(SEGMENT.render(starred=starred, live=live, mine=True), scope.tenant_id)
"""

JINJA_FROM_STRING = """\
from jinja2 import Environment

env = Environment()


async def listing(conn, tenant_id, admin):
    sql = env.from_string(
        "SELECT id FROM sessions{% if not admin %} WHERE tenant_id = $1{% endif %}"
    ).render(admin=admin)
    return await conn.fetch(sql, tenant_id)
"""

JINJA_UNREAD = """\
from jinja2 import Template

Q = Template("SELECT id FROM sessions WHERE tenant_id = $1 {% set x = 1 %}")


async def listing(conn, tenant_id):
    return await conn.fetch(Q.render(), tenant_id)
"""


def _found(source: str) -> list[tuple[int, int, str]]:
    policy = Policy("tenant_id", ["sessions"])
    out, _, _ = check_python_text(source, Analyzer(policy))
    return sorted((f.line, f.column, f.code) for f in out)


def test_a_jinja_template_whose_tenant_filter_is_optional_is_a_leak() -> None:
    # at `sessions` inside the template (line 5), beside the values it pastes in (TG009)
    found = _found(JINJA)
    assert (5, 22, "TG001") in found
    assert [code for _, _, code in found if code != "TG009"] == ["TG001"]


def test_a_jinja_template_pinned_on_every_path_is_proven() -> None:
    assert _found(JINJA_PINNED) == []


def test_a_jinja_environment_s_template_is_read_too() -> None:
    assert [code for _, _, code in _found(JINJA_FROM_STRING)] == ["TG001"]


def test_a_jinja_tag_the_reader_does_not_follow_stays_unresolved() -> None:
    assert [code for _, _, code in _found(JINJA_UNREAD)] == ["TG009"]


REPLAY_SCHEMA = """
CREATE TABLE tenants (id bigint PRIMARY KEY);
CREATE TABLE sessions (tenant_id bigint NOT NULL REFERENCES tenants (id), project_id bigint
  NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, project_id, id));
INSERT INTO tenants VALUES (1), (2);
INSERT INTO sessions VALUES (1, 7, 100), (2, 7, 200);
"""


@pytest.fixture
async def replay(postgres: ThrowawayPostgres) -> AsyncIterator[str]:
    async with fresh_database(postgres, REPLAY_SCHEMA) as dsn:
        yield dsn


async def test_the_path_without_the_filter_returns_another_tenant_s_sessions(replay: str) -> None:
    """What `SEGMENT.render(project_id=7, tenant_id=…)` sends on each path (project ids are
    per tenant: both tenants have a project 7)."""
    conn = await asyncpg.connect(replay)
    try:
        filtered = "SELECT s.id FROM sessions s WHERE s.project_id = 7 AND s.tenant_id = 1"
        unfiltered = "SELECT s.id FROM sessions s WHERE s.project_id = 7"
        assert [r["id"] for r in await conn.fetch(filtered)] == [100]
        assert sorted(r["id"] for r in await conn.fetch(unfiltered)) == [100, 200]
    finally:
        await conn.close()


# Not SQL: text written to be compared with, a span's attribute, the start of an UPDATE.

COMPARED = """\
async def test_star(fake, conn, span):
    sql, args = fake.sent[0]
    assert sql.startswith("UPDATE sessions SET is_starred = $3")
    assert sql == "DELETE FROM sessions WHERE id = $1" or "FROM sessions" in sql
    assert sql in ("SELECT * FROM sessions", "SELECT id FROM sessions")
    span.set_attribute("db.statement", "SELECT count(*) FROM sessions")
    prefix = "UPDATE sessions SET is_starred"
    # a query sent inside a comparison is still SQL
    assert await conn.fetchval("SELECT count(*) FROM sessions WHERE id = $1", 1) == 1
    assert "x" in await conn.fetch("SELECT user_ref FROM sessions")
    return prefix
"""


def test_text_compared_with_or_recorded_in_a_span_is_not_sql() -> None:
    # (line 4: `sql == "DELETE FROM sessions …"` may be the text sent, `if sql == …:
    # conn.execute(sql)`: still checked)
    assert [(line, code) for line, _, code in _found(COMPARED)] == [
        (4, "TG001"),
        (9, "TG001"),
        (10, "TG001"),
    ]


def test_a_text_compared_for_equality_and_then_sent_is_still_checked() -> None:
    source = (
        "async def a(conn, sql):\n"
        '    if sql == "DELETE FROM sessions":\n'
        "        await conn.execute(sql)\n"
    )
    assert (2, "TG001") in [(line, code) for line, _, code in _found(source)]


def test_an_update_without_an_assignment_is_still_sql_where_it_is_sent() -> None:
    source = 'async def f(conn):\n    await conn.execute("UPDATE sessions SET is_starred")\n'
    assert [code for _, _, code in _found(source)] != []


# A route that grows its local `sql` (`sql += …` twice) in one file, and another project's
# classmethod `sql()` returning `cls.BY_KIND`: a third file's `Repo.BY_KIND["p"]` (a dict of
# constants no file changes) became TG009. The text scan that tells which function a line is
# in popped the route at its signature's `) -> str:` (written at the def's indentation): its
# body was read as the module's, its `sql += …` as a change of what any `sql` holds (found
# when this tree's exports.py sat in tests/fixtures beside h34D_saas and
# python/collections_of_sql.py, which test_fixtures checks as one project).

ROUTE = """\
@router.get("/sessions.csv")
async def sessions_csv(
    starred_only: bool = False,
    include_shared: bool = False,
    scope: Scope = Depends(get_scope),
    conn: asyncpg.Connection = Depends(get_conn),
) -> str:
    sql = "SELECT id, user_ref FROM sessions WHERE tenant_id = $1 AND project_id = $2"
    if starred_only:
        sql += " AND is_starred"
    if include_shared:
        sql += " OR status = 'shared'"
    out = io.BytesIO()
    await conn.copy_from_query(sql, scope.tenant_id, scope.project_id, output=out, format="csv")
    return out.getvalue().decode()
"""


def test_a_local_augmented_in_one_file_leaves_other_files_constants_alone(
    tmp_path: Path,
) -> None:
    import shutil

    fixtures = Path(__file__).parent.parent / "fixtures"
    (tmp_path / "python").mkdir()
    shutil.copy(fixtures / "python" / "collections_of_sql.py", tmp_path / "python")
    shutil.copytree(fixtures / "projects" / "h34D_saas", tmp_path / "projects" / "h34D_saas")
    (tmp_path / "exports.py").write_text(ROUTE, encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tenantguard",
            "check",
            "--isolated",
            "--tenant-tables",
            "patients,leads",
            "--no-cache",
            "--format",
            "concise",
            "python/collections_of_sql.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ":57:" not in done.stdout and ":58:" not in done.stdout, done.stdout


def test_sql_of_a_file_another_module_reads_is_named_by_that_file() -> None:
    """`QUERIES = {p.stem: p.read_text() for p in SQL_DIR.glob("*.sql")}` in sql/__init__.py,
    sent from repositories/sessions.py: the finding is the .sql file's, at its line, its help
    naming the call that sends it (h36D; h35G said it at the call, naming the .sql file and
    its line — and the .sql file's own check said it again)."""
    import json

    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "--format", "json", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    at = {(f["path"], f["line"]): f for f in json.loads(done.stdout)["findings"]}
    sessions = "replay/repositories/sessions.py"
    assert (sessions, 56) not in at and (sessions, 59) not in at, sorted(at)
    lateral = at["replay/sql/error_sessions.sql", 7]
    overview = at["replay/sql/project_overview.sql", 4]
    assert lateral["help"].endswith("(this SQL is sent by replay/repositories/sessions.py:56)")
    assert overview["help"].endswith("(this SQL is sent by replay/repositories/sessions.py:59)")


# asyncpg's copies: columns named by a constant, a table named at run time.

COPIES = """\
EVENT_COLUMNS = ("tenant_id", "session_id", "payload")
NO_TENANT = ["session_id", "payload"]


class Repo:
    COLUMNS = ["tenant_id", "session_id", "payload"]

    async def a(self, conn, rows):
        await conn.copy_records_to_table("events", records=rows, columns=EVENT_COLUMNS)

    async def b(self, conn, rows):
        await conn.copy_records_to_table("events", records=rows, columns=list(self.COLUMNS))

    async def c(self, conn, rows):
        await conn.copy_records_to_table("events", records=rows, columns=NO_TENANT)

    async def d(self, conn, table, rows):
        await conn.copy_records_to_table(table, records=rows, columns=self.COLUMNS)
"""


def test_copy_columns_named_by_a_constant_are_read() -> None:
    policy = Policy("tenant_id", ["events"])
    out, _, _ = check_python_text(COPIES, Analyzer(policy))
    found = sorted((f.line, f.code, f.message) for f in out)
    assert [(line, code) for line, code, _ in found] == [(15, "TG002"), (18, "TG009")]
    assert found[0][2].endswith("does not list tenant_id")


def test_rules_left_out_of_some_files_are_named_with_those_files(tmp_path: Path) -> None:
    """README's advice for staff code, `per_file_ignores = {"admin/**" = ["TG001"]}`: the
    summary said the run left TG001 out, as if no file had been proven; it names the files."""
    import json

    (tmp_path / "admin").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\nschema_paths = ["schema.sql"]\n'
        'per_file_ignores = {"admin/**" = ["TG001"]}\n',
        encoding="utf-8",
    )
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE sessions (tenant_id bigint, id int);\n", encoding="utf-8"
    )
    (tmp_path / "app.py").write_text(
        'async def f(conn, t):\n    return await conn.fetch("SELECT id FROM sessions WHERE'
        ' tenant_id = $1", t)\n',
        encoding="utf-8",
    )
    (tmp_path / "admin" / "ops.py").write_text(
        'async def g(conn):\n    return await conn.fetch("SELECT id FROM sessions")\n',
        encoding="utf-8",
    )

    def run(*flags: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "tenantguard", "check", "--no-cache", *flags, "."],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "not proven: the rule selection leaves out TG001 in admin/ops.py;" in run()
    assert "leaves out TG002; TG001 in admin/ops.py;" in run("--ignore", "TG002")
    summary = json.loads(run("--format", "json"))["summary"]
    assert summary["rules_left_out"] == ["TG001"]
    assert summary["rules_left_out_in"] == {"TG001": ["admin/ops.py"]}
