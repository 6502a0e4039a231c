"""A newcomer on a fresh machine (h34H, issue 12 item 1): the real `tenantguard` command in a
fresh process on projects laid out as real ones are; misconfiguration exits 2 with one message
that says what to do, in every format, and never passes silently."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TENANTGUARD = shutil.which("tenantguard", path=os.path.dirname(sys.executable))
FORMATS = ["text", "json", "sarif", "github"]


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    assert TENANTGUARD is not None
    result = subprocess.run(
        [TENANTGUARD, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=env if env is not None else os.environ.copy(),
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def project(root: Path) -> Path:
    write(root / "db/schema.sql", "CREATE TABLE notes (id int, tenant_id int, body text);\n")
    write(root / "app/q.sql", "SELECT body FROM notes;\n")
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    return root


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("fmt", FORMATS)
def test_tenantguard_cache_dir_naming_a_file_is_a_configuration_error(
    tmp_path: Path, fmt: str
) -> None:
    """TENANTGUARD_CACHE_DIR naming a file: the check ran without a cache and said nothing
    (exit 1, the cache never kept), where `cache_dir` naming a file is exit 2. The variable is
    the same setting: exit 2 in every format, naming the variable."""
    root = project(tmp_path / "p")
    taken = tmp_path / "a-file"
    taken.write_text("mine\n", encoding="utf-8")
    env = {**os.environ, "TENANTGUARD_CACHE_DIR": str(taken)}
    result = run("check", "--format", fmt, "app", cwd=root, env=env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "TENANTGUARD_CACHE_DIR" in result.stderr
    assert result.stderr.count("configuration error") == 1, result.stderr
    assert taken.read_text(encoding="utf-8") == "mine\n"
    if fmt == "json":
        assert json.loads(result.stdout)["error"]["kind"] == "configuration"
    # --no-cache keeps nothing: the variable does not matter then
    assert run("check", "--no-cache", "--format", fmt, "app", cwd=root, env=env).returncode == 1


@pytest.mark.parametrize("where", ["project", "home"])
def test_tenantguard_cache_dir_naming_a_folder_of_other_files_is_refused(
    tmp_path: Path, where: str
) -> None:
    """TENANTGUARD_CACHE_DIR=~ (or the project itself): the cache's key files, verdict store
    and schema and policy caches were written among the user's files (six files in the home
    directory), and its pruning of stale key files runs there. `cache_dir = "."` is refused
    for this; the variable was not checked at all."""
    root = project(tmp_path / "p")
    home = tmp_path / "home"
    write(home / ".bashrc", "# mine\n")
    env = {**os.environ, "HOME": str(home)}
    env["TENANTGUARD_CACHE_DIR"] = "~" if where == "home" else "."
    target = home if where == "home" else root
    before = listing(target)
    for fmt in FORMATS:
        result = run("check", "--format", fmt, "app", cwd=root, env=env)
        assert result.returncode == 2, (fmt, result.stdout, result.stderr)
        assert "TENANTGUARD_CACHE_DIR" in result.stderr, result.stderr
        assert listing(target) == before
    # a folder for the cache alone, made by the cache (missing) or empty, is fine
    for name in ("missing/cache", "empty"):
        env["TENANTGUARD_CACHE_DIR"] = str(tmp_path / name)
        if name == "empty":
            (tmp_path / name).mkdir()
        first = run("check", "app", cwd=root, env=env)
        assert first.returncode == 1, first.stderr
        assert "CACHEDIR.TAG" in listing(tmp_path / name)
        again = run("check", "app", cwd=root, env=env)
        assert again.returncode == 1 and again.stdout == first.stdout, again.stderr


SVC_A = (
    "CREATE TABLE orgs (id bigint PRIMARY KEY);\n"
    "CREATE TABLE invoices (id bigint PRIMARY KEY, org_id bigint NOT NULL REFERENCES orgs (id),"
    " total int);\n"
)
SVC_B = (
    "CREATE TABLE guilds (id bigint PRIMARY KEY);\n"
    "CREATE TABLE warnings (id bigint PRIMARY KEY, guild_id bigint NOT NULL REFERENCES guilds"
    " (id), reason text);\n"
)


def services(root: Path, *, configured: bool) -> Path:
    """A monorepo of two services, each its own pyproject.toml and schema in `db/`, different
    tenant columns (org_id, guild_id); `configured`: each has its own [tool.tenantguard]."""
    for name, schema, column in (("svc_a", SVC_A, "org_id"), ("svc_b", SVC_B, "guild_id")):
        config = f'[project]\nname = "{name}"\n'
        if configured:
            config += f'\n[tool.tenantguard]\ntenant_column = "{column}"\nschema_paths = ["db"]\n'
        write(root / name / "pyproject.toml", config)
        write(root / name / "db/schema.sql", schema)
    write(root / "svc_a/app/q.sql", "SELECT total FROM invoices WHERE id = $1;\n")
    write(root / "svc_b/app/q.sql", "SELECT reason FROM warnings;\n")
    return root


@pytest.mark.parametrize("dry_run", [True, False])
def test_init_at_a_monorepo_root_of_unconfigured_services_asks_for_one_init_each(
    tmp_path: Path, dry_run: bool
) -> None:
    """`tenantguard init` at the root of two services (each its own pyproject.toml, schema and
    tenant column) read both schemas as one, chose guild_id "by name order only" and wrote it
    at the root: svc_a's invoices became a global table, and every query of svc_a, checked with
    that configuration (svc_a's pyproject.toml has no [tool.tenantguard]), was "proven". It
    writes nothing there now and says to run init in each service; that works."""
    root = services(tmp_path / "mono", configured=False)
    flags = ["--dry-run"] if dry_run else []
    result = run("init", *flags, cwd=root)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "tenantguard init svc_a" in result.stderr and "tenantguard init svc_b" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (root / "pyproject.toml").exists()
    for name in ("svc_a", "svc_b"):
        assert "[tool.tenantguard]" not in (root / name / "pyproject.toml").read_text()
    if dry_run:
        return
    for name in ("svc_a", "svc_b"):
        assert run("init", name, cwd=root).returncode == 0
    assert 'tenant_column = "org_id"' in (root / "svc_a/pyproject.toml").read_text()
    assert 'tenant_column = "guild_id"' in (root / "svc_b/pyproject.toml").read_text()
    checked = run("check", "--no-cache", "--format", "json", cwd=root)
    assert checked.returncode == 1, checked.stderr
    found = {(f["path"], f["rule"]) for f in json.loads(checked.stdout)["findings"]}
    assert found == {("svc_a/app/q.sql", "TG001"), ("svc_b/app/q.sql", "TG001")}


def test_init_at_a_monorepo_root_of_configured_services_writes_nothing(tmp_path: Path) -> None:
    """Each service configured on its own: a root configuration would govern none of their
    files (the nearest configuration wins), yet init proposed one from both schemas. Nothing to
    write: it says so, names the services' configurations, and leaves the root as it was."""
    root = services(tmp_path / "mono", configured=True)
    before = listing(root)
    for flags in ([], ["--dry-run"]):
        result = run("init", *flags, cwd=root)
        assert result.returncode == 0, result.stderr
        assert "svc_a/pyproject.toml" in result.stdout and "svc_b/pyproject.toml" in result.stdout
        assert "Would write" not in result.stdout and "Wrote" not in result.stdout
        assert listing(root) == before


def test_init_beside_a_configured_service_reads_only_the_rest(tmp_path: Path) -> None:
    """svc_a configured on its own, svc_b not: init at the root proposes from svc_b's schema only
    (svc_a's is never read with a root configuration) and names what it left out."""
    root = services(tmp_path / "mono", configured=True)
    write(root / "svc_b/pyproject.toml", '[project]\nname = "svc_b"\n')
    result = run("init", "--dry-run", cwd=root)
    assert result.returncode == 0, result.stderr
    assert 'tenant_column = "guild_id"' in result.stdout
    assert 'schema_paths = ["svc_b/db"]' in result.stdout
    assert "svc_a/pyproject.toml" in result.stdout
    assert "tie" not in result.stdout.lower()


def test_explain_at_a_monorepo_root_names_the_services_configurations(tmp_path: Path) -> None:
    """`tenantguard explain "SELECT …"` at the root of a monorepo whose services are configured
    (a check there checks each with its own) said "no configuration file found from <root>
    upward": true, and no help. It names the configurations below and how to use one; with
    --config one of them it explains."""
    root = services(tmp_path / "mono", configured=True)
    sql = "SELECT reason FROM warnings"
    result = run("explain", sql, cwd=root)
    assert result.returncode == 2
    assert "svc_a/pyproject.toml" in result.stderr and "svc_b/pyproject.toml" in result.stderr
    assert "--config" in result.stderr
    assert result.stderr.count("configuration error") == 1
    chosen = run("explain", "--config", "svc_b/pyproject.toml", sql, cwd=root)
    assert chosen.returncode == 1, chosen.stderr
    assert "warnings.guild_id" in chosen.stdout


LATIN1_PYPROJECT = (
    b'[project]\nname = "cafe"\ndescription = "caf\xe9 de la gare"\n\n[tool.tenantguard]\n'
    b'schema_paths = ["db"]\n'
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_pyproject_that_is_not_utf8_is_not_passed_over(tmp_path: Path, fmt: str) -> None:
    """A project's pyproject.toml saved in Latin-1 (`description = "café"`) holding its
    [tool.tenantguard]: the configuration search passed over it in silence. Alone, the run said
    "no configuration file found" (exit 2, wrongly); under a folder configured otherwise
    (`tenant_tables = ["nothing"]`), `check app` used that one: "No findings", exit 0, on
    `SELECT body FROM notes` — a silent pass. Now exit 2 naming the file and UTF-8."""
    outer = tmp_path / "outer"
    write(outer / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["nothing"]\n')
    root = project(outer / "cafe")
    (root / "pyproject.toml").write_bytes(LATIN1_PYPROJECT)
    result = run("check", "--no-cache", "--format", fmt, "app", cwd=root)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert str(root / "pyproject.toml") in result.stderr and "UTF-8" in result.stderr
    assert result.stderr.count("configuration error") == 1
    (outer / "pyproject.toml").unlink()
    alone = run("check", "--no-cache", "--format", fmt, "app", cwd=root)
    assert alone.returncode == 2 and "UTF-8" in alone.stderr, alone.stderr
    assert "no configuration file found" not in alone.stderr


def test_a_pyproject_that_is_not_utf8_and_not_ours_is_still_passed_over(tmp_path: Path) -> None:
    """A Latin-1 pyproject.toml without [tool.tenantguard] is another tool's business: the search
    goes on upward (here to the project's configuration above it)."""
    root = project(tmp_path / "p")
    (root / "app/pyproject.toml").write_bytes(b'[project]\ndescription = "caf\xe9"\n')
    result = run("check", "--no-cache", "app", cwd=root)
    assert result.returncode == 1, result.stderr
    assert "TG001" in result.stdout


@pytest.mark.parametrize(
    "content",
    [b'[project]\ndescription = "caf\xe9"\n', b'\xef\xbb\xbf[project]\nname = "x"\n'],
    ids=["latin1", "bom"],
)
def test_init_reads_a_pyproject_that_is_not_utf8_without_an_internal_error(
    tmp_path: Path, content: bytes
) -> None:
    """`tenantguard init` in a project whose pyproject.toml is Latin-1 was "internal error:
    UnicodeDecodeError … Please report this"; one with a byte-order mark was "not valid TOML:
    Invalid statement (at line 1, column 1)". Both say what to do now, and write nothing."""
    root = tmp_path / "p"
    write(root / "db/schema.sql", "CREATE TABLE notes (id int, tenant_id int);\n")
    (root / "pyproject.toml").write_bytes(content)
    for flags in ([], ["--dry-run"]):
        result = run("init", *flags, cwd=root)
        assert result.returncode == 2, result.stdout
        assert "internal error" not in result.stderr
        assert "UTF-8" in result.stderr, result.stderr
        assert (root / "pyproject.toml").read_bytes() == content


def test_init_that_cannot_write_says_so(tmp_path: Path) -> None:
    """`tenantguard init` in a read-only checkout printed its proposal, then "internal error:
    OSError: [Errno 30] Read-only file system: 'pyproject.toml' … Please report this". Any
    failure to write (here pyproject.toml is a folder, which a test can make as root) is exit 2
    saying what could not be written and what to do."""
    root = tmp_path / "p"
    write(root / "db/schema.sql", "CREATE TABLE notes (id int, tenant_id int);\n")
    (root / "pyproject.toml").mkdir()
    result = run("init", cwd=root)
    assert result.returncode == 2, result.stdout
    assert "internal error" not in result.stderr
    assert "cannot write" in result.stderr and "--dry-run" in result.stderr, result.stderr


def latin1_migrations(root: Path) -> Path:
    write(root / "db/001_accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY);\n")
    (root / "db/002_orders.sql").write_bytes(
        b"-- commandes pass\xe9es\nCREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint"
        b" NOT NULL REFERENCES accounts (id), total int);\n"
    )
    write(
        root / "pyproject.toml",
        '[tool.tenantguard]\ntenant_column = "account_id"\nschema_paths = ["db"]\n'
        'tenant_tables = ["accounts_log"]\n',
    )
    write(root / "db/000_log.sql", "CREATE TABLE accounts_log (id int, account_id int);\n")
    write(
        root / "app/orders.py",
        'async def totals(conn):\n    return await conn.fetch("SELECT total FROM orders")\n',
    )
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_schema_file_that_is_not_utf8_is_read_and_reported(tmp_path: Path, fmt: str) -> None:
    """A migration saved in Latin-1 (a comment `-- commandes passées`) creating the tenant table
    `orders`: the schema reader skipped it in silence (read_text, UnicodeDecodeError: continue).
    A check of the whole project said TG006 at the file, but a check of the application file
    alone — pre-commit with one staged file, `check app` — gave `SELECT total FROM orders` "No
    findings … none of them on a tenant table", exit 0. The file is read (its bytes that are not
    UTF-8 replaced: `orders` is a tenant table) and a TG006 at it says to save it as UTF-8, at
    every check."""
    root = latin1_migrations(tmp_path / "p")
    for cache in (["--no-cache"], []):  # the second run reads the kept schema
        result = run("check", *cache, "--format", "json", "app/orders.py", cwd=root)
        assert result.returncode == 1, result.stderr
        found = {(f["path"], f["rule"]) for f in json.loads(result.stdout)["findings"]}
        assert found == {("app/orders.py", "TG001"), ("db/002_orders.sql", "TG006")}, found
    formatted = run("check", "--format", fmt, "app/orders.py", cwd=root)
    assert formatted.returncode == 1
    assert "UTF-8" in formatted.stdout
    whole = run("check", "--no-cache", "--format", "json", cwd=root)
    found = [(f["path"], f["rule"]) for f in json.loads(whole.stdout)["findings"]]
    assert sorted(found) == [("app/orders.py", "TG001"), ("db/002_orders.sql", "TG006")], found


def test_a_python_migration_with_a_coding_declaration_is_read(tmp_path: Path) -> None:
    """An alembic revision declaring `# -*- coding: latin-1 -*-` (valid Python) was skipped by
    the schema reader as not UTF-8: its table was no tenant table. It is read as Python reads
    it, with no finding of its own."""
    root = tmp_path / "p"
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["alembic/versions"]\n')
    (root / "alembic/versions").mkdir(parents=True)
    (root / "alembic/versions/0001_notes.py").write_bytes(
        b"# -*- coding: latin-1 -*-\n# cr\xe9e les notes\nimport sqlalchemy as sa\n"
        b"from alembic import op\n\nrevision = '0001'\ndown_revision = None\n\n\n"
        b"def upgrade():\n    op.create_table('notes', sa.Column('id', sa.Integer),"
        b" sa.Column('tenant_id', sa.Integer))\n"
    )
    write(root / "app/q.py", 'async def f(c):\n    return await c.fetch("SELECT * FROM notes")\n')
    result = run("check", "--no-cache", "--format", "json", "app", cwd=root)
    assert result.returncode == 1, result.stderr
    found = {(f["path"], f["rule"]) for f in json.loads(result.stdout)["findings"]}
    assert found == {("app/q.py", "TG001")}, found


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_in_the_tree_does_not_hang_the_check(tmp_path: Path) -> None:
    """A named pipe called `app/out.sql` (`mkfifo app/out.sql`, for psql's output) in the walked
    tree: the check opened it to read and waited for a writer, for ever (pre-commit and CI
    hung). It is no file to check: passed over with a note, the rest checked; named on the
    command line it is exit 2 saying what it is (it was "no such file or directory")."""
    root = project(tmp_path / "p")
    os.mkfifo(root / "app/out.sql")
    os.symlink(root / "app/out.sql", root / "app/linked.sql")
    result = run("check", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    found = {(f["path"], f["rule"]) for f in json.loads(result.stdout)["findings"]}
    assert found == {("app/q.sql", "TG001")}, found
    assert "app/out.sql" in result.stderr and "named pipe" in result.stderr, result.stderr
    named = run("check", "app/out.sql", cwd=root)
    assert named.returncode == 2
    assert "named pipe" in named.stderr and "no such file" not in named.stderr, named.stderr


def test_a_schema_folder_linked_into_the_schema_path_is_read(tmp_path: Path) -> None:
    """`db/common -> ../../shared/schema` (a schema shared by services, linked in): the schema
    reader (Path.rglob, which follows no link to a folder) did not read it, so its `orders` was
    no tenant table and `check app` proved `SELECT * FROM orders`, exit 0; the whole-project
    check, which follows links, read `db/common/orders.sql` as application code (TG007). It is
    read as schema, both ways; a link up the tree is no loop."""
    shared = tmp_path / "shared/schema"
    write(shared / "orders.sql", "CREATE TABLE orders (id int, tenant_id int);\n")
    root = tmp_path / "svc"
    write(root / "db/notes.sql", "CREATE TABLE notes (id int, tenant_id int);\n")
    os.symlink(shared, root / "db/common")
    os.symlink("..", root / "db/up")
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    write(root / "app/q.py", 'async def f(c):\n    return await c.fetch("SELECT * FROM orders")\n')
    for paths in (["app"], []):
        result = run("check", "--no-cache", "--format", "json", *paths, cwd=root)
        assert result.returncode == 1, result.stderr
        found = {(f["path"], f["rule"]) for f in json.loads(result.stdout)["findings"]}
        assert found == {("app/q.py", "TG001")}, (paths, found)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_schema_path_holding_no_schema_file_is_said(tmp_path: Path, fmt: str) -> None:
    """`schema_paths = ["db"]` where db holds only Prisma's `schema.prisma`, and tenant_tables
    naming one table: the run read no schema at all and said nothing of it — `SELECT * FROM
    orders` "No findings", exit 0, the user believing the schema was read. A configured schema
    path that exists and holds no .sql file nor Python migration is a warning saying so."""
    root = tmp_path / "p"
    write(root / "db/schema.prisma", "model Note {\n  id Int @id\n  tenantId Int\n}\n")
    write(
        root / "pyproject.toml",
        '[tool.tenantguard]\nschema_paths = ["db"]\ntenant_tables = ["notes"]\n',
    )
    write(root / "app/q.sql", "SELECT * FROM orders;\n")
    for cache in (["--no-cache"], [], []):
        result = run("check", *cache, "--format", fmt, cwd=root)
        assert result.returncode == 0, result.stderr
        assert "schema path 'db'" in result.stderr and "pg_dump" in result.stderr, result.stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_patches_lint_without_a_patch_directory_says_what_to_do(tmp_path: Path, fmt: str) -> None:
    """`tenantguard patches lint` in a project whose migrations are in `migrations/` (no
    `patches/`): "<root>/patches: no such file or directory", exit 2 — true, and no way on.
    It names patch_dir and how to lint the project's own folder."""
    root = project(tmp_path / "p")
    result = run("patches", "lint", "--format", fmt, cwd=root)
    assert result.returncode == 2
    assert "patch_dir" in result.stderr and "patches lint db" in result.stderr, result.stderr
