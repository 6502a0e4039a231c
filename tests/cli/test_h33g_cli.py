"""A newcomer's and a hostile user's configuration and command line (h33g): the real
`tenantguard` command in a subprocess in a temporary tree; misconfiguration fails closed with one
clear message, a configured tree is checked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TENANTGUARD = shutil.which("tenantguard", path=os.path.dirname(sys.executable))
FORMATS = ["text", "json", "sarif", "github", "concise"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert TENANTGUARD is not None
    result = subprocess.run(
        [TENANTGUARD, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def monorepo(root: Path, *, loose: bool) -> Path:
    """Two services, each with its own tenantguard.toml and schema, and no configuration at
    the root; `loose` adds a SQL file that no service's configuration covers."""
    write(root / "svc_a/db/s.sql", "CREATE TABLE notes (id int, tenant_id int);\n")
    write(root / "svc_a/tenantguard.toml", 'schema_paths = ["db"]\n')
    write(root / "svc_a/app/q.sql", "SELECT * FROM notes;\n")
    write(root / "svc_b/db/s.sql", "CREATE TABLE items (id int, org_id int);\n")
    write(root / "svc_b/tenantguard.toml", 'schema_paths = ["db"]\ntenant_column = "org_id"\n')
    write(root / "svc_b/app/q.sql", "SELECT * FROM items;\n")
    if loose:
        write(root / "tools/q.sql", "SELECT * FROM items;\n")
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_monorepo_root_without_configuration_checks_its_services(
    tmp_path: Path, fmt: str
) -> None:
    """`tenantguard check` at the root of a monorepo whose every file belongs to a service with
    its own configuration checks each with its own (README, Configuration), as ruff does: the
    root's missing configuration governs no file and is no error. It was exit 2, "no tenant
    tables … [no configuration file found from <root> upward]", in every format."""
    root = monorepo(tmp_path / "mono", loose=False)
    result = run("check", "--no-cache", "--format", fmt, cwd=root)
    assert result.returncode == 1, result.stderr
    assert "configuration error" not in result.stderr
    if fmt == "json":
        findings = json.loads(result.stdout)["findings"]
        assert sorted((f["path"], f["rule"]) for f in findings) == [
            ("svc_a/app/q.sql", "TG001"),
            ("svc_b/app/q.sql", "TG001"),
        ]
    else:
        assert "svc_a/app/q.sql" in result.stdout and "svc_b/app/q.sql" in result.stdout


def test_a_monorepo_file_no_configuration_covers_still_fails_closed(tmp_path: Path) -> None:
    """The twin: a file outside every service (tools/q.sql), under a root with no
    configuration, has no tenant table to be proven against: exit 2, not a pass."""
    root = monorepo(tmp_path / "mono", loose=True)
    result = run("check", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 2
    assert "no tenant tables" in result.stderr
    assert json.loads(result.stdout)["error"]["kind"] == "configuration"


def configured(root: Path, extra: str = "") -> Path:
    write(root / "db/s.sql", "CREATE TABLE notes (id int, tenant_id int);\n")
    write(root / "app/q.sql", "SELECT * FROM notes;\n")
    write(root / "pyproject.toml", f'[tool.tenantguard]\nschema_paths = ["db"]\n{extra}')
    return root


def test_a_cache_dir_that_is_the_project_fails_closed_and_deletes_nothing(
    tmp_path: Path,
) -> None:
    """`cache_dir = "."` made the cache write its key files, policy and verdict store into the
    project root, and drop every `*.json` there unchanged for 30 days as its own stale key
    files: the project's package.json was deleted. A directory that holds files and no mark of
    tenantguard's cache (CACHEDIR.TAG, .gitignore) is a configuration error naming the key; no
    file of the project is touched."""
    root = configured(tmp_path / "p", 'cache_dir = "."\n')
    package = root / "package.json"
    package.write_text('{"name": "frontend"}\n', encoding="utf-8")
    os.utime(package, (1_000_000_000, 1_000_000_000))
    before = sorted(p.name for p in root.iterdir())
    for fmt in FORMATS:
        result = run("check", "--format", fmt, "app", cwd=root)
        assert result.returncode == 2, (fmt, result.stdout, result.stderr)
        assert "cache_dir" in result.stderr
    assert package.read_text(encoding="utf-8") == '{"name": "frontend"}\n'
    assert sorted(p.name for p in root.iterdir()) == before


def test_the_cache_drops_only_its_own_stale_files(tmp_path: Path) -> None:
    """TENANTGUARD_CACHE_DIR names a shared directory the user made (empty when first used):
    the cache's pruning of stale key files removes its own only, never another tool's old
    `*.json` put there later."""
    root = configured(tmp_path / "p")
    shared = tmp_path / "shared-cache"
    shared.mkdir()
    env = {**os.environ, "TENANTGUARD_CACHE_DIR": str(shared)}

    def check() -> None:
        assert TENANTGUARD is not None
        result = subprocess.run(
            [TENANTGUARD, "check", "app"], cwd=root, capture_output=True, text=True, env=env
        )
        assert result.returncode == 1, result.stderr

    check()
    other = shared / "settings.json"
    other.write_text("{}\n", encoding="utf-8")
    os.utime(other, (1_000_000_000, 1_000_000_000))
    (root / "app/q.sql").write_text("SELECT * FROM notes WHERE id = 2;\n", encoding="utf-8")
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\nignore = []\n')
    check()  # another configuration: another key file, the old ones pruned
    assert other.exists()


@pytest.mark.parametrize("how", ["config", "flag"])
def test_no_tenant_table_because_global_tables_names_them_says_so(tmp_path: Path, how: str) -> None:
    """The schema's only table with tenant_id named in global_tables: exit 2, and the message
    said the schema shows "no table with a tenant_id column", which the user can see is
    false; it names the table and global_tables."""
    extra = 'global_tables = ["notes"]\n' if how == "config" else ""
    root = configured(tmp_path / "p", extra)
    flags = ["--global-tables", "notes"] if how == "flag" else []
    result = run("check", "--no-cache", *flags, "app", cwd=root)
    assert result.returncode == 2
    assert "notes, which global_tables" in result.stderr, result.stderr


@pytest.mark.parametrize("how", ["config", "flag"])
def test_a_tenant_table_no_schema_creates_is_named_where_it_was_given_and_as_spelt(
    tmp_path: Path, how: str
) -> None:
    """`--tenant-tables '"Notes"'` where the schema creates notes: the warning said the name
    came from pyproject.toml (the flag gave it) and told the user to quote mixed-case names,
    which they had done; it names where the name was given and the spelling the schema has."""
    extra = "tenant_tables = ['\"Notes\"']\n" if how == "config" else ""
    root = configured(tmp_path / "p", extra)
    flags = ["--tenant-tables", '"Notes"'] if how == "flag" else []
    result = run("check", "--no-cache", *flags, "app", cwd=root)
    assert result.returncode == 1, result.stderr
    warning = [line for line in result.stderr.splitlines() if "'Notes'" in line]
    assert len(warning) == 1, result.stderr
    given = "--tenant-tables" if how == "flag" else "pyproject.toml"
    assert f"'Notes' ({given}" in warning[0] or f"/{given})" in warning[0], warning[0]
    assert "write it notes" in warning[0], warning[0]


def test_explain_with_both_a_file_and_a_statement_is_a_usage_error(tmp_path: Path) -> None:
    """`tenantguard explain -f app/q.sql "SELECT 1"` explained the file and dropped the
    statement in silence (the user reads a verdict of another statement): exit 2, saying
    which to give."""
    root = configured(tmp_path / "p")
    result = run("explain", "-f", "app/q.sql", "SELECT 1", cwd=root)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "not both" in result.stderr, result.stderr


def _error_document(fmt: str, stdout: str) -> str:
    """The message of the machine format's error document (json, sarif, github)."""
    if fmt == "json":
        document = json.loads(stdout)
        assert "findings" not in document and "summary" not in document
        return str(document["error"]["message"])
    if fmt == "sarif":
        run_ = json.loads(stdout)["runs"][0]
        assert "results" not in run_
        invocation = run_["invocations"][0]
        assert invocation["executionSuccessful"] is False
        return str(invocation["toolExecutionNotifications"][0]["message"]["text"])
    assert stdout.startswith("::error "), stdout
    return stdout


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["nosql"], "no file under nosql"),
        (["missing"], "missing: no such file or directory"),
        (["--jobs", "0", "app"], "--jobs"),
        (["--statistics", "app"], "--statistics"),
    ],
)
def test_a_run_stopped_before_its_report_prints_an_error_document(
    tmp_path: Path, fmt: str, args: list[str], said: str
) -> None:
    """A directory with no SQL, a path that does not exist, a bad --jobs: exit 2 with the
    message on standard error, and an empty standard output in json/sarif/github, which a
    SARIF upload or a JSON reader takes as an invalid file (a configuration error prints a
    document naming it: these did not)."""
    root = configured(tmp_path / "p")
    write(root / "nosql/readme.txt", "not code\n")
    if "--statistics" in args and fmt == "json":
        pytest.skip("--statistics prints json")
    result = run("check", "--no-cache", "--format", fmt, *args, cwd=root)
    assert result.returncode == 2, result.stdout
    assert said in result.stderr
    assert said in _error_document(fmt, result.stdout)


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_an_audit_that_cannot_reach_its_database_prints_an_error_document(
    tmp_path: Path, fmt: str
) -> None:
    """`tenantguard audit --format sarif --dsn …` with the server down: exit 2 and an empty
    standard output (the SARIF upload step then fails on an invalid file, not on the
    reason); now a document naming the reason."""
    root = configured(tmp_path / "p")
    result = run("audit", "--format", fmt, "--dsn", "postgresql://127.0.0.1:1/db", cwd=root)
    assert result.returncode == 2
    assert "database postgresql://127.0.0.1:1/db" in _error_document(fmt, result.stdout)


@pytest.mark.parametrize(
    "entry", ["1", "null", "{}", '{"fingerprint": 5}', '{"fingerprint": ""}'], ids=str
)
def test_a_baseline_with_a_broken_entry_fails_closed(tmp_path: Path, entry: str) -> None:
    """A hand-edited or merge-mangled baseline whose entry is not an object with a fingerprint
    was read as hiding nothing for that entry, in silence: the run reported the finding as new
    (exit 1) and the user did not learn the baseline was broken. Exit 2 naming the entry."""
    root = configured(tmp_path / "p")
    assert run("check", "--write-baseline", "base.json", "app", cwd=root).returncode == 0
    document = json.loads((root / "base.json").read_text(encoding="utf-8"))
    document["findings"].append(json.loads(entry))
    (root / "base.json").write_text(json.dumps(document), encoding="utf-8")
    for fmt in FORMATS:
        result = run("check", "--format", fmt, "--baseline", "base.json", "app", cwd=root)
        assert result.returncode == 2, (fmt, result.stderr)
        assert "base.json" in result.stderr and "entry 2" in result.stderr, result.stderr


def test_the_baseline_written_says_one_finding_in_the_singular(tmp_path: Path) -> None:
    root = configured(tmp_path / "p")
    result = run("check", "--write-baseline", "base.json", "app", cwd=root)
    assert "wrote 1 finding to the baseline base.json" in result.stderr, result.stderr


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_an_internal_error_prints_an_error_document(
    tmp_path: Path,
    fmt: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An internal error (a bug) is exit 2 with its message on standard error; in the machine
    formats standard output was empty, now a document naming it. (In process: a bug cannot be
    caused from outside on purpose, so one is put in.)"""
    from tenantguard import cli

    root = configured(tmp_path / "p")
    monkeypatch.chdir(root)

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "_check_groups", broken)
    assert cli.main(["check", "--no-cache", "--format", fmt, "app"]) == 2
    out, err = capsys.readouterr()
    assert "internal error: RuntimeError: a bug" in err
    assert "RuntimeError: a bug" in _error_document(fmt, out)


@pytest.mark.parametrize("name", ["pyproject.toml", "tenantguard.toml"])
def test_a_configuration_saved_with_a_byte_order_mark_says_so(tmp_path: Path, name: str) -> None:
    """A configuration saved by an editor that writes a UTF-8 byte-order mark: exit 2 with
    "is not valid TOML: Invalid statement (at line 1, column 1)", where line 1 looks right.
    The message names the mark and how to save the file."""
    root = configured(tmp_path / "p")
    text = '[tool.tenantguard]\nschema_paths = ["db"]\n'
    if name == "tenantguard.toml":
        (root / "pyproject.toml").unlink()
        text = 'schema_paths = ["db"]\n'
    (root / name).write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = run("check", "app", cwd=root)
    assert result.returncode == 2
    assert "byte-order mark" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"\x00\x01SELECT 1", "binary file"),
        (b"SELECT 1 FROM notes WHERE tenant_id = 1;\xff\xfe\n", "not UTF-8 text (byte 0xff)"),
        (b"\xff\xfeS\x00E\x00", "UTF-16"),
    ],
    ids=["binary", "latin1", "utf16"],
)
@pytest.mark.parametrize("name", [None, "app/c.sql"])
def test_standard_input_is_read_as_a_file_is(
    tmp_path: Path, data: bytes, said: str, name: str | None
) -> None:
    """The same bytes in a file are TG006 (binary, not UTF-8): from standard input they were
    decoded with replacement characters and passed, "proven", exit 0."""
    root = configured(tmp_path / "p")
    flags = ["--stdin-filename", name] if name else []
    assert TENANTGUARD is not None
    result = subprocess.run(
        [TENANTGUARD, "check", "--format", "json", *flags, "-"],
        cwd=root,
        capture_output=True,
        input=data,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [f["rule"] for f in findings] == ["TG006"]
    assert said in findings[0]["message"]


@pytest.mark.parametrize("dry_run", [True, False])
def test_init_in_a_subdirectory_of_a_configured_project_names_its_configuration(
    tmp_path: Path, dry_run: bool
) -> None:
    """`cd app && tenantguard init`: the project root's configuration already covers app/, but
    init said only "no .sql file with CREATE TABLE … set tenant_column and tenant_tables in
    [tool.tenantguard] by hand" (which, written in app/, would replace the root's for app/).
    It names the configuration that covers the directory, and writes nothing."""
    root = configured(tmp_path / "p")
    write(root / "app/x.py", 'conn.fetch("SELECT * FROM notes")\n')
    result = run("init", *(["--dry-run"] if dry_run else []), cwd=root / "app")
    assert result.returncode == 2
    assert str(root / "pyproject.toml") in result.stderr, result.stderr
    assert sorted(p.name for p in (root / "app").iterdir()) == ["q.sql", "x.py"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_tenant_expression_that_does_not_parse_is_said_without_terminal_codes(
    tmp_path: Path, fmt: str
) -> None:
    """`tenant_expressions = ["current_setting("]`: the message carried sqlglot's highlighted
    excerpt, with its terminal underline codes (ESC [4m … ESC [0m), into the JSON document, the
    GitHub annotation and standard error of a run with no terminal."""
    root = configured(tmp_path / "p", 'tenant_expressions = ["current_setting("]\n')
    result = run("check", "--format", fmt, "app", cwd=root)
    assert result.returncode == 2
    assert "tenant_expressions" in result.stderr
    assert "\x1b" not in result.stderr + result.stdout
    assert "\\u001b" not in result.stdout
