"""A backend engineer adopting tenantguard on an asyncpg project keyed by `company_id`, from the
README and `--help` only, with the wheel installed (h42N, issue 12 item 1: fail closed on
configuration). Each test is a step that passed in silence or said too little; the real command
in a fresh process."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_h34H_newcomer import run, write

SCHEMA = """\
CREATE TABLE companies (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE invoices (
  id bigserial PRIMARY KEY,
  company_id bigint NOT NULL REFERENCES companies(id),
  amount numeric NOT NULL
);
CREATE TABLE customers (
  id bigserial PRIMARY KEY,
  company_id bigint NOT NULL REFERENCES companies(id),
  email text
);
"""
AUDIT = "CREATE TABLE audit_events (id bigserial, company_id bigint, what text);\n"
LEAK = (
    "async def events(conn, event_id):\n"
    '    return await conn.fetch("SELECT what FROM audit_events WHERE id = $1", event_id)\n'
)


def shop(root: Path, configured: bool) -> Path:
    """A project whose package `shop/` holds its migrations, and whose `db/` holds a table
    created by another part of the application (named by the root's schema_paths)."""
    config = (
        '\n[tool.tenantguard]\ntenant_column = "company_id"\n'
        'schema_paths = ["shop/migrations", "db"]\n'
        if configured
        else ""
    )
    write(root / "pyproject.toml", f'[project]\nname = "shop"\nversion = "1"\n{config}')
    write(root / "shop/__init__.py", "")
    write(root / "shop/migrations/001_init.sql", SCHEMA)
    write(root / "db/audit.sql", AUDIT)
    write(root / "shop/events.py", LEAK)
    (root / ".git").mkdir()
    return root


def test_init_in_a_package_of_a_configured_project_does_not_shadow_its_configuration(
    tmp_path: Path,
) -> None:
    """`cd shop && tenantguard init` in a project configured at its root wrote a new
    shop/pyproject.toml ("Wrote [tool.tenantguard] to pyproject.toml", exit 0) that a check
    reads instead of the root's for every file below shop/: its schema_paths (`db`, where
    audit_events gets company_id) were lost, and the leak `SELECT what FROM audit_events WHERE
    id = $1` went from TG001 to "No findings", exit 0. Now init refuses there (exit 2), naming
    the configuration found upward, and writes nothing."""
    root = shop(tmp_path / "p", configured=True)
    before = run("check", cwd=root)
    assert before.returncode == 1 and "shop/events.py:2" in before.stdout, before.stdout
    done = run("init", cwd=root / "shop")
    assert done.returncode == 2, done.stdout + done.stderr
    assert not (root / "shop/pyproject.toml").exists()
    assert str(root / "pyproject.toml") in done.stderr, done.stderr
    assert "init" in done.stderr and "--dry-run" not in done.stdout, done.stderr
    after = run("check", cwd=root)
    assert after.returncode == 1 and "shop/events.py:2" in after.stdout, after.stdout
    # --dry-run says it too (on standard error), and what it would write
    dry = run("init", "--dry-run", cwd=root / "shop")
    assert dry.returncode == 0 and str(root / "pyproject.toml") in dry.stderr, dry.stderr


def test_init_in_a_package_of_an_unconfigured_project_names_the_project_root(
    tmp_path: Path,
) -> None:
    """The same before any configuration: init in shop/ created shop/pyproject.toml, a second
    project file inside the package, reading only shop/migrations (audit_events of db/ unread,
    its leak unseen from shop's files). Now it refuses and names the project's pyproject.toml
    and the command to run at its root; run there, init reads both folders."""
    root = shop(tmp_path / "p", configured=False)
    done = run("init", cwd=root / "shop")
    assert done.returncode == 2, done.stdout + done.stderr
    assert not (root / "shop/pyproject.toml").exists()
    assert str(root / "pyproject.toml") in done.stderr, done.stderr
    there = run("init", cwd=root)
    assert there.returncode == 0, there.stderr
    found = run("check", cwd=root)
    assert found.returncode == 1 and "shop/events.py:2" in found.stdout, found.stdout


def test_init_in_a_folder_with_its_own_pyproject_still_writes(tmp_path: Path) -> None:
    """A service of a monorepo with its own pyproject.toml is a project of its own (README:
    `tenantguard init svc_a` in each): init there writes as before."""
    root = shop(tmp_path / "p", configured=True)
    write(root / "shop/pyproject.toml", '[project]\nname = "svc"\nversion = "1"\n')
    done = run("init", cwd=root / "shop")
    assert done.returncode == 0, done.stderr
    assert "[tool.tenantguard]" in (root / "shop/pyproject.toml").read_text(encoding="utf-8")


def explained(root: Path) -> Path:
    write(
        root / "pyproject.toml",
        '[tool.tenantguard]\ntenant_column = "company_id"\nschema_paths = ["migrations"]\n',
    )
    write(root / "migrations/001_init.sql", SCHEMA)
    return root


def test_explain_dash_reads_standard_input(tmp_path: Path) -> None:
    """`echo "SELECT …" | tenantguard explain -` (as `check -` reads standard input) explained
    the text "-": "NOT PROVEN — the text does not parse as SQL: syntax error: Required keyword:
    'this' missing for NEG", whatever the statement piped in. Now `-` reads standard input, as
    `-f -` does: the pinned read is proven (exit 0), the unpinned one TG001 (exit 1)."""
    import subprocess

    from tests.cli.test_h34H_newcomer import TENANTGUARD

    assert TENANTGUARD is not None
    root = explained(tmp_path / "p")
    for sql, code, said in (
        ("SELECT amount FROM invoices WHERE company_id = $1", 0, "proven"),
        ("SELECT amount FROM invoices", 1, "TG001"),
    ):
        done = subprocess.run(
            [TENANTGUARD, "explain", "-"],
            cwd=root,
            input=sql,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == code, done.stdout + done.stderr
        assert said in done.stdout and "NEG" not in done.stdout, done.stdout


def test_explain_says_where_the_text_does_not_parse(tmp_path: Path) -> None:
    """`check` puts a statement that does not parse at its line and column (`x.sql:2:14: TG006
    cannot prove tenant isolation: syntax error …`); `explain -f x.sql` said "Statement 2
    (line 2): NOT PROVEN — the text does not parse as SQL: syntax error: Required keyword:
    'expression' missing for MUL", and a finding "at line 2" only. Now both name the file, line
    and column (the argument's: line and column), as check does."""
    root = explained(tmp_path / "p")
    write(root / "q.sql", "SELECT 1;\nSELECT id, * FROM invoices WHERE;\n")
    checked = run("check", "q.sql", "--format", "concise", cwd=root)
    where = checked.stdout.split(": TG006")[0]
    assert where.startswith("q.sql:2:"), checked.stdout
    done = run("explain", "-f", "q.sql", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{where}:" in done.stdout or f"{where})" in done.stdout, done.stdout
    one = run("explain", "SELECT id FROM invoices WHERE id = $1", cwd=root)
    assert one.returncode == 1 and "TG001" in one.stdout, one.stdout
    assert "at line 1, column 16:" in one.stdout, one.stdout
    import json

    document = json.loads(run("explain", "-f", "q.sql", "--format", "json", cwd=root).stdout)
    unparsed = document["statements"][1]
    assert f"q.sql:{unparsed['error_line']}:{unparsed['error_column']}" == where, unparsed
    finding = json.loads(
        one_json := run("explain", "--format", "json", "SELECT id FROM invoices", cwd=root).stdout
    )["statements"][0]["findings"][0]
    assert (finding["line"], finding["column"]) == (1, 16), one_json


def test_init_proposes_a_tenant_named_column_without_foreign_keys(tmp_path: Path) -> None:
    """company_id in three tables, declared without foreign keys (as many schemas do), beside
    one foreign key `sessions.user_id → users`: init proposed user_id (1 table) and wrote
    invoices, customers and users as global, so `SELECT * FROM invoices` (every company's
    invoices) was "No findings", exit 0. The README's choice counts the tables that have a
    column "with a foreign key or without": company_id, named for companies, is now a
    candidate, carried by 3 tables, and wins."""
    root = tmp_path / "nf"
    write(
        root / "db/schema.sql",
        "CREATE TABLE companies (id bigint PRIMARY KEY, name text);\n"
        "CREATE TABLE users (id bigint PRIMARY KEY, company_id bigint NOT NULL, email text);\n"
        "CREATE TABLE invoices (id bigint PRIMARY KEY, company_id bigint NOT NULL, amount int);\n"
        "CREATE TABLE customers (id bigint PRIMARY KEY, company_id bigint NOT NULL, email text);\n"
        "CREATE TABLE sessions (id bigint PRIMARY KEY, user_id bigint NOT NULL"
        " REFERENCES users(id), token text);\n",
    )
    write(root / "app.py", 'async def f(c):\n    return await c.fetch("SELECT * FROM invoices")\n')
    (root / ".git").mkdir()
    done = run("init", cwd=root)
    assert done.returncode == 0, done.stderr
    written = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert 'tenant_column = "company_id"' in written, done.stdout
    # no foreign key declares which column of companies it holds: none written, and said so
    # (not "the table company_id references")
    assert "tenant_root" not in written, written
    assert "Tenant root: none written (company_id goes with companies" in done.stdout, done.stdout
    found = run("check", cwd=root)
    assert found.returncode == 1 and "app.py:2" in found.stdout, found.stdout


def test_init_proposes_a_tenant_named_column_without_a_registry(tmp_path: Path) -> None:
    """The boundary of the class above: tenant_id in three tables and no `tenants` table (the
    registry lives in another service), one foreign key sessions.user_id → users: init
    proposed user_id and wrote invoices as global ("No findings" for `SELECT * FROM
    invoices`). Now tenant_id is a candidate without a tenant root, and wins on its count."""
    root = tmp_path / "nf2"
    write(
        root / "db/schema.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, email text);\n"
        "CREATE TABLE invoices (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, amount int);\n"
        "CREATE TABLE customers (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, email text);\n"
        "CREATE TABLE sessions (id bigint PRIMARY KEY, user_id bigint NOT NULL"
        " REFERENCES users(id), token text);\n",
    )
    write(root / "app.py", 'async def f(c):\n    return await c.fetch("SELECT * FROM invoices")\n')
    (root / ".git").mkdir()
    done = run("init", cwd=root)
    assert done.returncode == 0, done.stderr
    written = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert 'tenant_column = "tenant_id"' in written and "tenant_root" not in written, written
    assert "Tenant root" not in done.stdout, done.stdout
    found = run("check", cwd=root)
    assert found.returncode == 1 and "app.py:2" in found.stdout, found.stdout
