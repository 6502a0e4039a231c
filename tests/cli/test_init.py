"""`tenantguard init` on projects of their own: what it proposes, why, what it writes."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.init import propose

MIGRATION = """
CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    email text NOT NULL
);
CREATE TABLE projects (
    id bigserial PRIMARY KEY,
    account_id bigint NOT NULL,
    owner_id bigint REFERENCES users (id),
    CONSTRAINT projects_account_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
);
CREATE TABLE tasks (id bigserial PRIMARY KEY, account_id bigint, project_id bigint);
CREATE TABLE plans (id int PRIMARY KEY, price int);
"""
LATER = """
ALTER TABLE tasks ADD CONSTRAINT tasks_account_fkey FOREIGN KEY (account_id) REFERENCES public.accounts (id);
ALTER TABLE tasks ADD CONSTRAINT tasks_owner_fkey FOREIGN KEY (owner_id) REFERENCES users (id);
CREATE TABLE task_comments (id bigserial PRIMARY KEY, task_id bigint REFERENCES tasks (id), body text);
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_init.sql").write_text(MIGRATION, encoding="utf-8")
    (tmp_path / "migrations" / "002_tasks.sql").write_text(LATER, encoding="utf-8")
    # test data with DDL of its own is not a schema source
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "fixture.sql").write_text("CREATE TABLE scratch (tenant_id int);\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "queries.sql").write_text(
        "SELECT * FROM tasks WHERE account_id = $1;\nSELECT * FROM projects;\n", encoding="utf-8"
    )
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_proposal_names_the_column_root_tables_and_why(project: Path) -> None:
    proposal = propose(project)
    assert proposal.files == ["migrations/001_init.sql", "migrations/002_tasks.sql"]
    assert proposal.schema_paths == ["migrations"]
    assert (proposal.tenant_column, proposal.tenant_root) == ("account_id", "accounts")
    assert proposal.reason.startswith("3 tables reference accounts through account_id")
    assert "next: owner_id → users (2)" in proposal.reason
    assert proposal.tenant_tables == ["projects", "tasks", "users"]
    assert proposal.global_tables == ["accounts", "plans", "task_comments"]
    assert proposal.orphans == [("task_comments", "tasks")]


def test_dry_run_prints_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (project / "pyproject.toml").read_text()
    assert main(["init", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Tenant column: account_id — 3 tables reference accounts" in out
    assert "Warning: task_comments has no account_id but references tasks" in out
    assert 'tenant_column = "account_id"' in out
    assert (project / "pyproject.toml").read_text() == before


def test_init_writes_the_table_and_check_then_uses_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    out = capsys.readouterr().out
    assert "tenantguard check --write-baseline" in out
    data = tomllib.loads((project / "pyproject.toml").read_text())
    assert data["project"] == {"name": "app"}  # the file's own content is kept
    table = data["tool"]["tenantguard"]
    assert table["tenant_column"] == "account_id"
    assert table["schema_paths"] == ["migrations"]
    assert table["global_tables"] == ["accounts"]
    assert table["tenant_root"] == "accounts"  # the registry, whose id the column holds
    code = main(["check", "--no-cache", "--format", "json", "app"])
    found = [(f["line"], f["rule"]) for f in json.loads(capsys.readouterr().out)["findings"]]
    assert (code, found) == (1, [(2, "TG001")])
    # a second init refuses to overwrite
    assert main(["init"]) == 2
    assert "already has [tool.tenantguard]" in capsys.readouterr().err


def test_without_foreign_keys_a_tenant_like_column_is_proposed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE orgs (id int);\nCREATE TABLE a (id int, org_id int);\n"
        "CREATE TABLE b (id int, org_id int);\n"
    )
    assert main(["init", str(tmp_path)]) == 0
    assert "no foreign keys found; org_id is the most common tenant-like column" in (
        capsys.readouterr().out
    )
    table = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["tenantguard"]
    assert table == {"tenant_column": "org_id", "schema_paths": ["schema.sql"]}


def test_nothing_to_read_is_an_error_saying_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path)]) == 2
    assert "no .sql file with CREATE TABLE" in capsys.readouterr().err
    (tmp_path / "s.sql").write_text("CREATE TABLE t (id int, name text);\n")
    assert main(["init", str(tmp_path)]) == 2
    assert "set tenant_column and tenant_tables" in capsys.readouterr().err
    assert not (tmp_path / "pyproject.toml").exists()
    assert main(["init", str(tmp_path / "nope")]) == 2


@pytest.mark.parametrize(
    ("registry", "reference", "written"),
    [
        # the column holds another key of the registry: the root names it
        ("id int PRIMARY KEY, code text UNIQUE", "orgs (code)", "orgs.code"),
        ("code text PRIMARY KEY", "orgs", "orgs.code"),
        # which key it holds is not known: no root is written (`orgs.id = $1` would pin nothing)
        ("id int, code text", "orgs", None),
    ],
)
def test_the_tenant_root_names_the_key_the_column_holds(
    tmp_path: Path, registry: str, reference: str, written: str | None
) -> None:
    (tmp_path / "schema.sql").write_text(
        f"CREATE TABLE orgs ({registry});\n"
        f"CREATE TABLE a (id int, org_code text REFERENCES {reference});\n"
        f"CREATE TABLE b (id int, org_code text REFERENCES {reference});\n"
    )
    assert main(["init", str(tmp_path)]) == 0
    table = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["tenantguard"]
    assert table["tenant_column"] == "org_code"
    assert table.get("tenant_root") == written
    assert table["global_tables"] == ["orgs"]


def test_init_of_another_directory_says_to_run_the_next_steps_there(
    project: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run from elsewhere, the next steps as printed would check and baseline the working
    directory: they say to go to the project first."""
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert main(["init", str(project)]) == 0
    out = capsys.readouterr().out
    assert f"  cd {project} && tenantguard check --write-baseline .tenantguard-baseline.json" in out
    monkeypatch.chdir(project)
    (project / "pyproject.toml").write_text('[project]\nname = "app"\n', encoding="utf-8")
    assert main(["init"]) == 0
    assert "\n  tenantguard check --write-baseline" in capsys.readouterr().out


def test_a_schema_built_by_django_migrations_says_how_to_give_it_as_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Django's migrations build the schema from models (no SQL to read): init found "no .sql
    file" and left the newcomer there. It names them and how to hand the schema over as SQL."""
    (tmp_path / "shop" / "migrations").mkdir(parents=True)
    (tmp_path / "shop" / "migrations" / "0001_initial.py").write_text("class Migration: ...\n")
    assert main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "built by Django migrations" in err and "pg_dump --schema-only" in err
    assert not (tmp_path / "pyproject.toml").exists()


ALEMBIC_FIRST = """revision = "b1"
down_revision = "a0"

def upgrade():
    op.add_column("visits", sa.Column("org_id", sa.BigInteger(), sa.ForeignKey("orgs.id")))
    op.create_foreign_key(None, "visits", "orgs", ["org_id"], ["id"])
"""
ALEMBIC_ZERO = """revision = "a0"
down_revision = None

def upgrade():
    op.create_table("orgs", sa.Column("id", sa.BigInteger(), primary_key=True))
    op.create_table(
        "patients",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("org_id", sa.BigInteger(), sa.ForeignKey("orgs.id"), nullable=False),
    )
    op.create_table("visits", sa.Column("id", sa.BigInteger(), primary_key=True))
"""


def test_alembic_revisions_are_read_as_the_schema_in_their_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Alembic builds the schema with `op.create_table`/`op.add_column`, which the schema
    reader follows (in revision order, not file-name order): init proposes them as the schema
    sources and finds the tenant column a later revision added ("no .sql file" before)."""
    versions = tmp_path / "alembic" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text("[alembic]\n")
    (versions / "0b_add_org.py").write_text(ALEMBIC_FIRST)  # read by name, it comes first
    (versions / "9z_initial.py").write_text(ALEMBIC_ZERO)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "ddl.py").write_text('SQL = "CREATE TABLE scratch (org_id bigint)"\n')
    assert main(["init", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Read 2 schema file(s) in alembic/versions." in out
    table = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["tenantguard"]
    assert table["tenant_column"] == "org_id" and table["schema_paths"] == ["alembic/versions"]
    assert "Tenant tables (2, they have org_id" in out and "patients, visits" in out
    assert main(["check", "--no-cache", str(tmp_path)]) == 0  # the same reading


def test_quoted_mixed_case_names_are_written_quoted_and_check_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prisma-style names (`"Workspace"`, `"workspaceId"`): unquoted in the configuration they
    fold to lower case, name nothing, and `check` refused the configuration init wrote (round
    19, a first-time user)."""
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "001.sql").write_text(
        'CREATE TABLE "Workspace" (id text PRIMARY KEY, name text);\n'
        'CREATE TABLE "Document" (id text PRIMARY KEY, "workspaceId" text NOT NULL '
        'REFERENCES "Workspace" (id), title text);\n'
        'CREATE TABLE "Membership" (id text PRIMARY KEY, "workspaceId" text NOT NULL '
        'REFERENCES "Workspace" (id), "userId" text);\n'
    )
    (tmp_path / "app.sql").write_text(
        'SELECT d.title FROM "Document" d JOIN "Workspace" w ON d."workspaceId" = w.id '
        "WHERE w.id = $1;\n"
        'SELECT title FROM "Document";\n'
    )
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    capsys.readouterr()
    table = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["tenantguard"]
    assert table["tenant_column"] == '"workspaceId"'
    assert table["tenant_root"] == '"Workspace"'
    assert table["global_tables"] == ['"Workspace"']
    code = main(["check", "--no-cache", "--format", "json", "app.sql"])
    found = [(f["line"], f["rule"]) for f in json.loads(capsys.readouterr().out)["findings"]]
    assert (code, found) == (1, [(2, "TG001")])  # the join through the registry is pinned


def test_a_registry_keyed_by_the_tenant_column_is_a_tenant_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper 111: `guilds(guild_id)` referenced by `tags.guild_id` — init listed guilds among
    the global tables, so that `UPDATE guilds SET prefix = $1` (every guild's prefix) passed,
    and check then warned to remove it from there. Such a registry is a tenant table, pinned
    by that column; one keyed by `id` stays global (its reads allowed, its writes pinned by
    its key: TG005)."""
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE guilds (guild_id bigint PRIMARY KEY, prefix text NOT NULL DEFAULT '!');\n"
        "CREATE TABLE tags (id serial PRIMARY KEY, guild_id bigint NOT NULL "
        "REFERENCES guilds(guild_id) ON DELETE CASCADE, name text);\n"
        "CREATE TABLE warnings (id serial PRIMARY KEY, guild_id bigint NOT NULL "
        "REFERENCES guilds(guild_id) ON DELETE CASCADE, user_id bigint);\n"
    )
    (tmp_path / "bot.py").write_text(
        "async def set_prefix(pool, guild_id, prefix):\n"
        '    await pool.execute("UPDATE guilds SET prefix = $1", prefix)\n'
        "async def own_prefix(pool, guild_id, prefix):\n"
        '    await pool.execute("UPDATE guilds SET prefix = $2 WHERE guild_id = $1", guild_id, prefix)\n'
    )
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    capsys.readouterr()
    table = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["tenantguard"]
    assert "global_tables" not in table
    assert main(["check", "--no-cache", "--format", "json"]) == 1
    captured = capsys.readouterr()
    found = [(f["line"], f["rule"]) for f in json.loads(captured.out)["findings"]]
    assert found == [(2, "TG001")]
    assert "global_tables" not in captured.err
