"""`tenantguard init` on a project whose schema lies in more than one kind of source (h37H, issue
12): a SQL dump beside a migrations folder (alembic, yoyo, numbered `.sql` patches) or a
`schema.sql` outside the folders schemas usually live in. init read only the files under the
top-level schema folders (`db/`, `migrations/`, …) when any was there: `alembic/versions/`,
`app/migrations/`, a root `schema.sql` were dropped in silence, the tables they make were no
tenant tables in the configuration it wrote, and `SELECT name FROM sla_policies` (every
organisation's rows) passed `tenantguard check` with exit 0. Now every source found is read and
named; what init leaves unread (Django's model operations, SQL in application folders) is said
with what to do. The real command in a fresh process, on projects laid out as real ones are."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.cli.test_h34H_newcomer import run, write

DUMP = (
    "CREATE TABLE orgs (id bigserial PRIMARY KEY, name text NOT NULL);\n"
    "CREATE TABLE tickets (id bigserial PRIMARY KEY, org_id bigint NOT NULL REFERENCES orgs(id),"
    " title text NOT NULL);\n"
    "CREATE TABLE agents (id bigserial PRIMARY KEY, org_id bigint NOT NULL REFERENCES orgs(id),"
    " email text NOT NULL);\n"
)
SLA_SQL = (
    "CREATE TABLE sla_policies (id bigserial PRIMARY KEY, org_id bigint NOT NULL REFERENCES "
    "orgs(id), name text NOT NULL);\n"
)
ALEMBIC = '''\
"""add sla policies"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = None


def upgrade():
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("org_id", sa.BigInteger, sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
    )


def downgrade():
    op.drop_table("sla_policies")
'''
YOYO = f'''\
"""add sla policies"""
from yoyo import step

steps = [step("""{SLA_SQL}""", "DROP TABLE sla_policies")]
'''
APP = """\
async def leak(conn):
    return await conn.fetch("SELECT name FROM sla_policies")


async def pinned(conn, org):
    return await conn.fetch("SELECT name FROM sla_policies WHERE org_id = $1", org)
"""

# where the table only the second source makes lies, and what it is
LAYOUTS = {
    "alembic beside db/schema.sql": {"alembic/versions/0002_sla.py": ALEMBIC},
    "yoyo migrations in the package": {"app/migrations/0002.add-sla.py": YOYO},
    "a numbered patch in deploy/": {"deploy/0002_add_sla.sql": SLA_SQL},
    "flyway's V2__ in src/main/resources": {"src/main/resources/db/V2__sla.sql": SLA_SQL},
    "a schema.sql at the root": {"schema.sql": SLA_SQL},
    "a schema.sql in the package": {"app/schema.sql": SLA_SQL},
}


def project(root: Path, extra: dict[str, str]) -> Path:
    write(root / "pyproject.toml", '[project]\nname = "desk"\nversion = "1.0"\n')
    write(root / "db/schema.sql", DUMP)
    write(root / "app/__init__.py", "")
    write(root / "app/queries.py", APP)
    for name, text in extra.items():
        write(root / name, text)
    return root


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_init_reads_every_schema_source_and_check_sees_its_tables(
    tmp_path: Path, layout: str
) -> None:
    root = project(tmp_path / "desk", LAYOUTS[layout])
    init = run("init", cwd=root)
    assert init.returncode == 0, init.stderr
    (source,) = LAYOUTS[layout]
    assert source in init.stdout  # named among the files read
    assert "sla_policies" in init.stdout
    settings = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    paths = settings["tool"]["tenantguard"]["schema_paths"]
    # the application's own folder is never a schema path (its code is no migration)
    assert "app" not in paths, paths
    check = run("check", cwd=root)
    assert check.returncode == 1, check.stdout + check.stderr
    found = [line for line in check.stdout.splitlines() if "TG0" in line]
    assert len(found) == 1 and "app/queries.py:2" in found[0], check.stdout


DJANGO = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="SlaPolicy",
            fields=[("id", models.BigAutoField(primary_key=True)), ("org_id", models.BigIntegerField())],
        ),
    ]
"""


def test_init_says_what_it_did_not_read(tmp_path: Path) -> None:
    """Django migrations beside the dump (models, not SQL) and SQL in an application folder that
    makes a table in passing: init names both as not read, with what to do."""
    root = project(
        tmp_path / "desk",
        {
            "billing/migrations/0001_initial.py": DJANGO,
            "billing/__init__.py": "",
            "docs/howto/example.sql": "CREATE TEMP TABLE scratch (id int);\n",
        },
    )
    init = run("init", "--dry-run", cwd=root)
    assert init.returncode == 0, init.stderr
    said = init.stdout + init.stderr
    assert "billing/migrations" in said and "pg_dump" in said, said
    assert "docs/howto/example.sql" in said and "not read" in said.lower(), said


def test_a_folder_of_queries_is_never_a_schema_path(tmp_path: Path) -> None:
    """A nested `sql/` folder of application queries with one file making a scratch table
    (`app/sql/scratch.sql`: CREATE TEMP TABLE): naming the folder as a schema path would read
    `app/sql/report.sql` as schema, its leak never checked. The file is named alone."""
    root = project(
        tmp_path / "desk",
        {
            "app/sql/scratch.sql": "CREATE TEMP TABLE scratch (id int);\n",
            "app/sql/report.sql": "SELECT title FROM tickets;\n",
        },
    )
    init = run("init", cwd=root)
    assert init.returncode == 0, init.stderr
    settings = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert "app/sql" not in settings["tool"]["tenantguard"]["schema_paths"]
    check = run("check", cwd=root)
    assert "app/sql/report.sql:1" in check.stdout, check.stdout
