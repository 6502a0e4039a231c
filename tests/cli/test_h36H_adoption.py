"""A backend team adopting tenantguard (h36H): a baseline taken on a legacy project and kept up
to date in CI, and the pre-commit hook on a commit that changes the schema — the real
`tenantguard` command in a fresh process, on a project laid out as a real one is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_h34H_newcomer import run, write

SCHEMA = (
    "CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL);\n"
    "CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES "
    "accounts(id), number text NOT NULL);\n"
    "CREATE TABLE customers (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES "
    "accounts(id), email text NOT NULL);\n"
)
CONFIG = (
    '[tool.tenantguard]\ntenant_column = "account_id"\nschema_paths = ["db/migrations"]\n'
    'tenant_root = "accounts"\nglobal_tables = ["accounts"]\n'
)
OLD_INVOICES = "SELECT * FROM invoices;\n"
OLD_CUSTOMERS = "SELECT email FROM customers WHERE email = $1;\n"
NEW_LEAK = (
    "async def everyone(conn):\n"
    '    return await conn.fetch("SELECT number FROM invoices WHERE number > $1", "0")\n'
)


def legacy(root: Path) -> Path:
    """An asyncpg service with two old leaks in its report queries, baselined."""
    write(root / "pyproject.toml", CONFIG)
    write(root / "db/migrations/001_init.sql", SCHEMA)
    write(root / "app/__init__.py", "")
    write(root / "sql/invoices.sql", OLD_INVOICES)
    write(root / "sql/customers.sql", OLD_CUSTOMERS)
    written = run("check", "--write-baseline", ".tenantguard-baseline.json", cwd=root)
    assert written.returncode == 0, written.stderr
    assert "wrote 2 findings" in written.stderr
    return root


def entries(path: Path) -> list[tuple[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return sorted((e["path"], e["message"]) for e in data["findings"])


def test_updating_the_baseline_never_records_a_new_leak(tmp_path: Path) -> None:
    """`--baseline B --write-baseline B` (the baseline read, then written again: an update) wrote
    every finding of the run and exited 0 — the new leak of app/everyone.py recorded beside the
    old ones, silently accepted from then on. Now the update keeps the entries still found, drops
    those fixed, records nothing new, and reports the new findings as `--baseline` would: exit 1
    naming app/everyone.py."""
    root = legacy(tmp_path)
    write(root / "sql/customers.sql", "SELECT email FROM customers WHERE account_id = $1;\n")
    write(root / "app/everyone.py", NEW_LEAK)
    baseline = root / ".tenantguard-baseline.json"
    update = run("check", "--baseline", baseline.name, "--write-baseline", baseline.name, cwd=root)
    assert update.returncode == 1, update.stdout + update.stderr
    assert "app/everyone.py:2:" in update.stdout
    assert "sql/invoices.sql" not in update.stdout
    assert entries(baseline) == [
        ("sql/invoices.sql", "invoices in the SELECT statement is not pinned to one tenant")
    ]
    assert "wrote 1 finding to the baseline" in update.stderr
    assert "1 entry that matches no finding any more dropped" in update.stderr
    assert "not recorded" in update.stderr
    # once the new leak is fixed, the updated baseline passes
    (root / "app/everyone.py").unlink()
    after = run("check", "--baseline", baseline.name, cwd=root)
    assert after.returncode == 0, after.stdout + after.stderr
    # and the fixed leak, brought back, is new: the update dropped its entry
    write(root / "sql/customers.sql", OLD_CUSTOMERS)
    back = run("check", "--baseline", baseline.name, cwd=root)
    assert back.returncode == 1
    assert "sql/customers.sql:1:" in back.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_a_baseline_entry_whose_leak_was_fixed_is_said(tmp_path: Path, fmt: str) -> None:
    """A leak fixed after the baseline was taken left its entry behind, and `--baseline` said
    nothing of it: the same statement brought back later (a revert) was hidden again. Now each
    such entry of a checked file is said on standard error (the report and its exit code
    unchanged), with how to drop it."""
    root = legacy(tmp_path)
    write(root / "sql/customers.sql", "SELECT email FROM customers WHERE account_id = $1;\n")
    result = run("check", "--baseline", ".tenantguard-baseline.json", "--format", fmt, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "1 entry of the baseline .tenantguard-baseline.json matches no finding any more "
        "(sql/customers.sql TG001: customers in the SELECT statement is not pinned to one "
        "tenant)" in result.stderr
    )
    assert "--baseline .tenantguard-baseline.json --write-baseline" in result.stderr
    if fmt in ("json", "sarif"):
        json.loads(result.stdout)


def test_a_baseline_entry_of_a_file_not_checked_is_not_called_fixed(tmp_path: Path) -> None:
    """pre-commit names the staged files only: the entries of the other files are not stale."""
    root = legacy(tmp_path)
    write(root / "sql/other.sql", "SELECT 1;\n")
    result = run("check", "--baseline", ".tenantguard-baseline.json", "sql/other.sql", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches no finding" not in result.stderr
    # the file of an entry, checked and clean, is
    write(root / "sql/invoices.sql", "SELECT 1;\n")
    named = run("check", "--baseline", ".tenantguard-baseline.json", "sql/invoices.sql", cwd=root)
    assert "1 entry of the baseline" in named.stderr


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_audit_of_a_role_that_does_not_exist_says_which_role_to_name(
    two_clinics: str, tmp_path: Path, fmt: str
) -> None:
    """`tenantguard audit --dsn … --role clinic_ap` (a typo) said "role clinic_ap does not exist
    on the server of …: pass --role ROLE" — the flag the user had just passed. Now it says what
    the role must be."""
    write(tmp_path / "pyproject.toml", "[tool.tenantguard]\n")
    result = run(
        "audit", "--dsn", two_clinics, "--role", "clinic_ap", "--format", fmt, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "pass --role ROLE" not in result.stderr
    assert "role clinic_ap does not exist on the server" in result.stderr
    assert "--role names the role the application connects as" in result.stderr
    if fmt == "json":
        assert "clinic_ap" in json.loads(result.stdout)["error"]["message"]


def test_a_baseline_entry_of_a_rule_not_run_is_not_called_fixed_nor_dropped(
    tmp_path: Path,
) -> None:
    """`--select TG003` (or a per_file_ignores of the entry's file) runs no TG001: the TG001
    entries are neither stale nor dropped by an update."""
    root = legacy(tmp_path)
    baseline = ".tenantguard-baseline.json"
    selected = run("check", "--select", "TG003", "--baseline", baseline, cwd=root)
    assert selected.returncode == 0, selected.stdout + selected.stderr
    assert "matches no finding" not in selected.stderr
    update = run(
        "check", "--select", "TG003", "--baseline", baseline, "--write-baseline", baseline, cwd=root
    )
    assert update.returncode == 0, update.stdout + update.stderr
    assert len(entries(root / baseline)) == 2
    write(
        root / "pyproject.toml",
        CONFIG + '[tool.tenantguard.per_file_ignores]\n"sql/invoices.sql" = ["TG001"]\n',
    )
    ignored = run("check", "--baseline", baseline, cwd=root)
    assert ignored.returncode == 0, ignored.stdout + ignored.stderr
    assert "matches no finding" not in ignored.stderr


def test_an_update_written_in_another_directory_is_a_usage_error(tmp_path: Path) -> None:
    """The entries an update keeps are written as they were, their paths from the baseline's
    directory: written elsewhere they would name other files."""
    root = legacy(tmp_path)
    (root / "ci").mkdir()
    result = run(
        "check", "--baseline", ".tenantguard-baseline.json", "--write-baseline", "ci/b.json",
        cwd=root,
    )  # fmt: skip
    assert result.returncode == 2
    assert "write it in the same directory" in result.stderr
    assert not (root / "ci/b.json").exists()
