"""A newcomer's and a hostile user's command line (h32f): the real `tenantguard` command in a
subprocess, never a traceback, never a silent pass (exit 0 with something left unchecked)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TENANTGUARD = shutil.which("tenantguard", path=os.path.dirname(sys.executable))
LEAK = 'async def g(conn):\n    return await conn.fetch("SELECT * FROM patients")\n'
FORMATS = ["text", "json", "sarif", "github", "concise"]


def run(
    *args: str, cwd: Path, stdin: str | None = None, user: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    assert TENANTGUARD is not None
    result = subprocess.run(
        [*(user or []), TENANTGUARD, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tenantguard.toml").write_text('tenant_tables = ["patients"]\n', encoding="utf-8")
    return root


def test_a_symlinked_directory_of_the_tree_is_checked(tmp_path: Path) -> None:
    """`app -> ../shared/app` (a vendored or shared package): its leak is checked, not skipped
    in silence with exit 0; a link back up the tree (a loop) is walked once."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "leak.py").write_text(LEAK, encoding="utf-8")
    root = project(tmp_path / "proj")
    (root / "ok.sql").write_text("SELECT 1;\n", encoding="utf-8")
    (root / "app").symlink_to(shared, target_is_directory=True)
    (root / "sub").mkdir()
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    result = run("check", "--no-cache", "--format", "json", ".", cwd=root)
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["rule"]) for f in findings] == [("app/leak.py", "TG001")]


def _without_root_rights() -> list[str] | None:
    """A prefix that runs a command without the rights that read any file (as root here)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_an_unreadable_directory_is_an_error_not_a_pass(tmp_path: Path) -> None:
    """A directory the walk cannot list (chmod 000) was skipped in silence: its SQL unchecked,
    exit 0. It is an error naming the directory, exit 2, in every format."""
    user = _without_root_rights()
    if user is None:
        pytest.skip("root without setpriv: cannot drop the right to read any directory")
    root = project(tmp_path / "proj")
    (root / "ok.sql").write_text("SELECT 1;\n", encoding="utf-8")
    locked = root / "locked"
    locked.mkdir()
    (locked / "leak.sql").write_text("SELECT * FROM patients;\n", encoding="utf-8")
    locked.chmod(0)
    try:
        for fmt in FORMATS:
            result = run("check", "--no-cache", "--format", fmt, cwd=root, user=user)
            assert result.returncode == 2, (fmt, result.stdout, result.stderr)
            assert "locked" in result.stderr and "cannot read" in result.stderr, result.stderr
    finally:
        locked.chmod(0o755)


def test_a_report_cut_off_by_a_closed_pipe_does_not_exit_0(tmp_path: Path) -> None:
    """`tenantguard check | head -1` with `set -o pipefail`: the reader went away before the
    report was written, yet the run said 0 (no error-level finding) with findings."""
    root = project(tmp_path / "proj")
    for i in range(400):
        (root / f"m{i}.py").write_text(LEAK, encoding="utf-8")
    assert TENANTGUARD is not None
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"'{TENANTGUARD}' check --no-cache | head -1"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode != 0, result.stderr


def test_a_closed_pipe_after_what_the_reader_wanted_is_no_error(tmp_path: Path) -> None:
    """`rule --all | head -1`, `demo | grep -q …`: output read for what it says, not a report of
    findings; the reader closing it early is no error (the installs' check in .ci/run pipes the
    demo into `grep -q`, under pipefail)."""
    assert TENANTGUARD is not None
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"'{TENANTGUARD}' rule --all | head -1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and "output closed" not in result.stderr


def test_explain_of_no_statement_is_a_usage_error(tmp_path: Path) -> None:
    """`explain ""` (or an empty file, or only a comment) answered "No statement given." with
    exit 0: nothing was explained, so it is exit 2, as `explain` with no SQL at all."""
    root = project(tmp_path / "proj")
    for args, stdin in (
        (["explain", ""], None),
        (["explain", "  ;  "], None),
        (["explain", "-- nothing"], None),
        (["explain", "-f", "-"], "\n"),
    ):
        result = run(*args, cwd=root, stdin=stdin)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "no statement" in (result.stdout + result.stderr).lower()


def test_writing_the_baseline_where_it_cannot_be_written_is_no_internal_error(
    tmp_path: Path,
) -> None:
    """--write-baseline into a missing folder or onto a directory was reported as an internal
    error ("Please report this"): it is the user's path, said with what to do."""
    root = project(tmp_path / "proj")
    (root / "app.py").write_text(LEAK, encoding="utf-8")
    (root / "adir").mkdir()
    for target in ("missing/dir/b.json", "adir"):
        result = run("check", "--no-cache", "--write-baseline", target, cwd=root)
        assert result.returncode == 2, result.stderr
        assert "internal error" not in result.stderr, result.stderr
        assert target in result.stderr and "cannot write" in result.stderr, result.stderr


def test_a_configuration_that_cannot_be_read_or_looked_for_fails_closed(tmp_path: Path) -> None:
    """An unreadable pyproject.toml was passed over in silence (the parent's configuration, or
    none, used instead); a checked path in a directory that may not be searched was an internal
    error. Both are configuration errors naming the file, exit 2."""
    user = _without_root_rights()
    if user is None:
        pytest.skip("root without setpriv: cannot drop the right to read any file")
    outer = project(tmp_path / "outer")
    inner = outer / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["notes"]\n', encoding="utf-8"
    )
    (inner / "app.py").write_text(LEAK, encoding="utf-8")
    (inner / "pyproject.toml").chmod(0)
    locked = outer / "locked"
    locked.mkdir()
    (locked / "leak.sql").write_text("SELECT * FROM patients;\n", encoding="utf-8")
    locked.chmod(0)
    try:
        result = run("check", "--no-cache", ".", cwd=inner, user=user)
        assert result.returncode == 2, result.stderr
        assert "cannot read" in result.stderr and "pyproject.toml" in result.stderr
        result = run("check", "--no-cache", "locked", cwd=outer, user=user)
        assert result.returncode == 2, result.stderr
        assert "configuration error" in result.stderr and "locked" in result.stderr
        assert "internal error" not in result.stderr
    finally:
        locked.chmod(0o755)
        (inner / "pyproject.toml").chmod(0o644)


def test_a_walk_gives_a_nested_project_its_own_configuration(tmp_path: Path) -> None:
    """A monorepo checked from its root (`tenantguard check` in CI): svc_b has its own
    tenantguard.toml (tenant column shop_id), the root's names a_items only. svc_b's leak
    `SELECT * FROM b_items` was checked with the root's configuration, b_items no tenant table
    there: exit 0. Files below a directory holding a configuration take that one, as ruff does
    (and as naming svc_b on the command line already did)."""
    root = tmp_path / "mono"
    (root / "svc_a").mkdir(parents=True)
    (root / "svc_b" / "db").mkdir(parents=True)
    (root / "tenantguard.toml").write_text('tenant_tables = ["a_items"]\n', encoding="utf-8")
    (root / "svc_a" / "app.py").write_text(
        'async def f(c):\n    await c.fetch("SELECT * FROM a_items WHERE tenant_id = 1")\n',
        encoding="utf-8",
    )
    (root / "svc_b" / "db" / "s.sql").write_text(
        "CREATE TABLE b_items (id int, shop_id int);\n", encoding="utf-8"
    )
    (root / "svc_b" / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "shop_id"\nschema_paths = ["db"]\n',
        encoding="utf-8",
    )
    (root / "svc_b" / "app.py").write_text(
        'async def f(c):\n    await c.fetch("SELECT * FROM b_items")\n', encoding="utf-8"
    )
    for args in ([], ["."], ["svc_a", "svc_b"], [".", "svc_b"], ["svc_b", "."]):  # each once
        result = run("check", "--no-cache", "--format", "json", *args, cwd=root)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        findings = json.loads(result.stdout)["findings"]
        assert [(f["path"], f["rule"]) for f in findings] == [("svc_b/app.py", "TG001")], args
    # the root's own files all in nested projects: no "no file matches" error
    (root / "svc_a" / "tenantguard.toml").write_text('tenant_tables = ["a_items"]\n')
    result = run("check", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["svc_b/app.py"]
    (root / "svc_a" / "tenantguard.toml").unlink()
    # a pyproject.toml without [tool.tenantguard] is no project of its own
    (root / "svc_b" / "pyproject.toml").write_text("[tool.black]\n", encoding="utf-8")
    (root / "svc_a" / "pyproject.toml").write_text("[tool.black]\n", encoding="utf-8")
    result = run("check", "--no-cache", "--format", "json", "svc_a", cwd=root)
    assert result.returncode == 0, (result.stdout, result.stderr)


def test_a_dangling_link_is_reported_under_its_own_name(tmp_path: Path) -> None:
    """`old.sql -> gone.sql` was reported as `gone.sql:1:1: TG006 cannot read file`: a name
    found nowhere in the tree. It is the link's name that the user can fix or exclude."""
    root = project(tmp_path / "proj")
    (root / "ok.sql").write_text("SELECT 1;\n", encoding="utf-8")
    (root / "old.sql").symlink_to("gone.sql")
    result = run("check", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["rule"]) for f in findings] == [("old.sql", "TG006")]
    result = run("check", "--no-cache", "old.sql", cwd=root)  # named: as a missing file
    assert result.returncode == 2 and "old.sql" in result.stderr, result.stderr


def test_control_characters_of_a_checked_file_do_not_reach_the_terminal(tmp_path: Path) -> None:
    """A checked file's bytes were echoed raw in the text and concise reports: an escape
    sequence in a SQL comment (clear screen, set the window title, hide the rest of the line)
    or in a file's name ran on the reader's terminal. They are shown as visible symbols, one
    column each (the caret stays under the table)."""
    root = project(tmp_path / "proj")
    (root / "esc.sql").write_text(
        "SELECT * FROM patients; -- \x1b[2J\x1b]0;owned\x07\u009b hi\n", encoding="utf-8"
    )
    (root / "n\x1b[8mame.sql").write_text("SELECT * FROM patients;\n", encoding="utf-8")
    for fmt in ("text", "concise"):
        result = run("check", "--no-cache", "--format", fmt, cwd=root)
        assert result.returncode == 1, result.stderr
        assert not any(
            (ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) < 0xA0 for c in result.stdout
        ), repr(result.stdout)
    result = run("check", "--no-cache", "--format", "text", "esc.sql", cwd=root)
    source, caret = result.stdout.splitlines()[1:3]
    assert source.index("patients") == caret.index("^")


def test_init_does_not_write_a_configuration_that_another_one_overrides(tmp_path: Path) -> None:
    """With a tenantguard.toml in the project (it wins over pyproject.toml in its directory),
    init wrote [tool.tenantguard] into pyproject.toml and said "Wrote …, next: tenantguard
    check": that check read the tenantguard.toml, never what init proposed."""
    root = tmp_path / "proj"
    (root / "db").mkdir(parents=True)
    (root / "db" / "schema.sql").write_text(
        "CREATE TABLE accounts (id bigint PRIMARY KEY);\n"
        "CREATE TABLE patients (id bigint, tenant_id bigint REFERENCES accounts (id));\n",
        encoding="utf-8",
    )
    (root / "tenantguard.toml").write_text('tenant_column = "org_id"\n', encoding="utf-8")
    result = run("init", cwd=root)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "tenantguard.toml" in result.stderr
    assert not (root / "pyproject.toml").exists()
    result = run("init", "--dry-run", cwd=root)  # what it would propose is still shown
    assert result.returncode == 0 and 'tenant_column = "tenant_id"' in result.stdout


def test_a_utf16_file_is_named_as_such(tmp_path: Path) -> None:
    """A .sql saved as UTF-16 (Windows editors, PowerShell's `>`) was 'binary file (contains
    NUL bytes): not SQL or Python source' at its first NUL: it is text, in the wrong encoding,
    and the message says how to fix it."""
    root = project(tmp_path / "proj")
    (root / "u16.sql").write_bytes("SELECT * FROM patients;\n".encode("utf-16"))
    (root / "u16be.py").write_bytes("import os\n".encode("utf-16-be").join([b"\xfe\xff", b""]))
    result = run("check", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["rule"], f["line"], f["column"]) for f in findings] == [
        ("u16.sql", "TG006", 1, 1),
        ("u16be.py", "TG006", 1, 1),
    ]
    assert all("UTF-16" in f["message"] and "UTF-8" in f["message"] for f in findings)


@pytest.mark.parametrize(
    "value",
    [
        'schema_paths = [""]',
        'schema_paths = ["."]',
        'schema_paths = ["db", "./"]',
        'schema_paths = ["db"]\npatch_dir = "."',
    ],
)
def test_a_schema_path_that_is_the_whole_project_is_a_configuration_error(
    tmp_path: Path, value: str
) -> None:
    """schema_paths = ["."] (or "", "./"): every .sql file of the project was read as a patch,
    not as application SQL, so `SELECT * FROM patients` in q.sql passed in silence (exit 0).
    It is a configuration error naming the key and the fix, in every format."""
    root = tmp_path / "proj"
    (root / "db").mkdir(parents=True)
    (root / "db" / "schema.sql").write_text(
        "CREATE TABLE patients (id bigint, tenant_id bigint);\n", encoding="utf-8"
    )
    (root / "q.sql").write_text("SELECT * FROM patients;\n", encoding="utf-8")
    (root / "tenantguard.toml").write_text(
        f'tenant_tables = ["patients"]\n{value}\n', encoding="utf-8"
    )
    for fmt in FORMATS:
        result = run("check", "--no-cache", "--format", fmt, cwd=root)
        assert result.returncode == 2, (fmt, result.stdout, result.stderr)
        assert "schema path" in result.stderr and "whole project" in result.stderr
    (root / "tenantguard.toml").write_text(
        'tenant_tables = ["patients"]\nschema_paths = ["db"]\n', encoding="utf-8"
    )
    result = run("check", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["q.sql"]


def test_a_pyproject_table_that_tenantguard_toml_overrides_is_said(tmp_path: Path) -> None:
    """Both in one directory: tenantguard.toml wins (as documented) and pyproject.toml's
    [tool.tenantguard] was ignored in silence; someone editing it saw no effect. A warning on
    standard error names both files, in every format; the run is unchanged."""
    root = project(tmp_path / "proj")
    (root / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["notes"]\n', encoding="utf-8"
    )
    (root / "app.py").write_text(LEAK, encoding="utf-8")
    for fmt in FORMATS:
        result = run("check", "--no-cache", "--format", fmt, cwd=root)
        assert result.returncode == 1, result.stderr
        assert "warning" in result.stderr and "pyproject.toml" in result.stderr, result.stderr
        assert "tenantguard.toml" in result.stderr
    (root / "pyproject.toml").write_text("[tool.black]\n", encoding="utf-8")
    result = run("check", "--no-cache", cwd=root)
    assert result.returncode == 1 and result.stderr == "", result.stderr


def test_a_walk_that_gitignore_empties_says_so(tmp_path: Path) -> None:
    """Every file ignored by .gitignore: the error said 'fix include/exclude in the
    configuration', which were not the cause."""
    root = project(tmp_path / "proj")
    (root / ".git").mkdir()
    (root / ".gitignore").write_text("*.py\n*.sql\n", encoding="utf-8")
    (root / "app.py").write_text(LEAK, encoding="utf-8")
    result = run("check", "--no-cache", cwd=root)
    assert result.returncode == 2, result.stderr
    assert ".gitignore" in result.stderr, result.stderr
