"""The command line on big generated inputs and on configuration errors (h32k): the real
`tenantguard` command in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import error_document_only

TENANTGUARD = shutil.which("tenantguard", path=os.path.dirname(sys.executable))


def run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert TENANTGUARD is not None
    result = subprocess.run(
        [TENANTGUARD, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tenantguard.toml").write_text('tenant_tables = ["patients"]\n', encoding="utf-8")
    return root


def _timed_check(root: Path, source: str) -> tuple[float, list[str]]:
    (root / "big.py").write_text(source, encoding="utf-8")
    start = time.monotonic()
    result = run("check", "--no-cache", "--format", "json", "big.py", cwd=root, timeout=300)
    elapsed = time.monotonic() - start
    assert result.returncode in (0, 1), result.stderr
    return elapsed, [f["rule"] for f in json.loads(result.stdout)["findings"]]


def test_an_f_string_of_many_holes_is_read_in_linear_time(tmp_path: Path) -> None:
    """20 000 holes in one f-string took 57 s (each hole rescanned the text before it, and the
    f-string's parts were joined one by one): a denial of service on CI and pre-commit. Now
    seconds, and the holes are still TG009 (no silent pass)."""
    root = project(tmp_path)
    source = (
        'def f(c, x):\n    return c.fetch(f"SELECT * FROM patients WHERE tenant_id = {x}'
        + " {x}" * 20000
        + '")\n'
    )
    elapsed, rules = _timed_check(root, source)
    assert "TG009" in rules
    assert elapsed < 30, elapsed


def test_a_string_grown_by_many_augmented_assignments_is_read_in_linear_time(
    tmp_path: Path,
) -> None:
    """`q += " AND 1 = 1"` 4 000 times took 45 s (every value the name ever held was hashed
    whole at each step); the pinned statement stays proven."""
    root = project(tmp_path)
    source = (
        'async def f(c):\n    q = "SELECT * FROM patients WHERE tenant_id = $1"\n'
        + '    q += " AND 1 = 1"\n' * 4000
        + "    return await c.fetch(q, 1)\n"
    )
    elapsed, rules = _timed_check(root, source)
    assert rules == []
    assert elapsed < 30, elapsed
    leak = source.replace("WHERE tenant_id = $1", "WHERE true")
    _, rules = _timed_check(root, leak)
    assert rules == ["TG001"]


def test_a_configuration_error_still_prints_a_document_in_each_machine_format(
    tmp_path: Path,
) -> None:
    """An unknown key, no tenant tables, or a named schema path that does not exist is exit 2
    with the message on stderr, and stdout was empty in every format: a SARIF upload step then
    read an empty file. json now holds an `error` (no `findings`), SARIF a failed invocation
    with the message as a notification (no `results`), github an error annotation; text still
    prints nothing."""
    cases = {
        "unknown": ('tenant_tables = ["patients"]\nbogus_key = 1\n', "bogus_key"),
        "no tables": ('tenant_column = "tenant_id"\n', "tenant"),
        "schema": ('tenant_tables = ["patients"]\nschema_paths = ["nowhere.sql"]\n', "nowhere"),
    }
    for name, (config, said) in cases.items():
        root = tmp_path / name.replace(" ", "_")
        root.mkdir()
        (root / "tenantguard.toml").write_text(config, encoding="utf-8")
        (root / "a.sql").write_text("SELECT * FROM patients;\n", encoding="utf-8")
        for fmt in ("json", "sarif", "github", "text"):
            result = run("check", "--no-cache", "--format", fmt, "a.sql", cwd=root)
            assert result.returncode == 2, (name, fmt, result.stdout)
            assert "configuration error" in result.stderr and said in result.stderr
            assert error_document_only(fmt, result.stdout), (name, fmt, result.stdout)
            if fmt == "json":
                document = json.loads(result.stdout)
                assert document["error"]["kind"] == "configuration"
                assert said in document["error"]["message"]
            elif fmt == "sarif":
                (run_,) = json.loads(result.stdout)["runs"]
                (invocation,) = run_["invocations"]
                assert invocation["executionSuccessful"] is False
                (note,) = invocation["toolExecutionNotifications"]
                assert note["level"] == "error" and said in note["message"]["text"]
            elif fmt == "github":
                assert result.stdout.startswith("::error title=tenantguard configuration error::")
            else:
                assert result.stdout == ""


def test_the_text_summary_counts_schema_statements_apart_as_json_does(tmp_path: Path) -> None:
    """With findings, the text said "(4 statements; 2 schema statements read, not proven)" for
    two application and two patch statements, read as six; the clean run's line and JSON's
    summary (`statements` in all, `schema_statements` of them) count the schema's apart."""
    root = project(tmp_path)
    (root / "patches").mkdir()
    (root / "patches" / "0001_a.sql").write_text(
        "CREATE TABLE IF NOT EXISTS patients (id int, tenant_id int NOT NULL);\n"
        "CREATE INDEX IF NOT EXISTS i ON patients (tenant_id);\n",
        encoding="utf-8",
    )
    (root / "a.sql").write_text(
        "SELECT * FROM patients;\nSELECT * FROM patients WHERE tenant_id = $1;\n",
        encoding="utf-8",
    )
    text = run("check", "--no-cache", ".", cwd=root)
    summary = json.loads(run("check", "--no-cache", "--format", "json", ".", cwd=root).stdout)[
        "summary"
    ]
    assert (summary["statements"], summary["schema_statements"]) == (4, 2)
    closing = text.stdout.strip().splitlines()[-1]
    assert closing.endswith("(2 statements; 2 schema statements read, not proven)."), closing
    (root / "a.sql").write_text("SELECT * FROM patients WHERE tenant_id = $1;\n", encoding="utf-8")
    closing = run("check", "--no-cache", ".", cwd=root).stdout.strip().splitlines()[-1]
    assert closing == (
        "No findings: 1 statement in 2 files proven; 2 schema statements read, not proven."
    )


def test_an_empty_tenant_tables_flag_says_it_replaces_the_configured_tables(
    tmp_path: Path,
) -> None:
    """`--tenant-tables ","` (an unset `$TABLES` in CI) replaced the configuration's tables
    with none, and the error said "none configured" though the file names them."""
    root = project(tmp_path)
    (root / "a.sql").write_text("SELECT * FROM patients WHERE tenant_id = $1;\n", encoding="utf-8")
    for flag in (",", "", " , "):
        result = run("check", "--no-cache", "--tenant-tables", flag, "a.sql", cwd=root)
        assert result.returncode == 2
        assert "none configured" not in result.stderr
        assert "--tenant-tables" in result.stderr and "names no table" in result.stderr
        assert "tenantguard.toml (patients)" in result.stderr
    assert run("check", "--no-cache", "a.sql", cwd=root).returncode == 0
    assert run("check", "--no-cache", "--tenant-tables", "x,", "a.sql", cwd=root).returncode == 0


def test_a_link_to_a_directory_holding_the_tree_is_a_loop_not_walked(tmp_path: Path) -> None:
    """`root -> /` (or `up -> ..`) in the checked tree: the walk follows symlinked directories,
    each real one once, and so walked the whole disk (other projects, /proc) for minutes. A
    link to a directory that holds the tree is a loop, as a link to the tree itself: not
    walked; a link to a directory beside the tree is still checked."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "leak.py").write_text(
        'async def g(conn):\n    return await conn.fetch("SELECT * FROM patients")\n',
        encoding="utf-8",
    )
    root = project(tmp_path / "proj")
    (root / "ok.sql").write_text("SELECT * FROM patients WHERE tenant_id = $1;\n", encoding="utf-8")
    (root / "disk").symlink_to("/", target_is_directory=True)
    (root / "sub").mkdir()
    (root / "sub" / "up").symlink_to(tmp_path, target_is_directory=True)
    start = time.monotonic()
    try:
        result = run("check", "--no-cache", "--format", "json", ".", cwd=root, timeout=90)
    except subprocess.TimeoutExpired:
        raise AssertionError("the walk followed the link to / (still running after 90 s)") from None
    assert time.monotonic() - start < 60
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["files"] == 1
    (root / "app").symlink_to(shared, target_is_directory=True)
    result = run("check", "--no-cache", "--format", "json", ".", cwd=root, timeout=90)
    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["rule"]) for f in findings] == [("app/leak.py", "TG001")]


def test_many_formatted_ints_are_read_in_linear_time(tmp_path: Path) -> None:
    """`"… IN (%d, %d, …)" % (len(a), …)` of 8 000 ints took 39 s: each int's place was read
    by rescanning the text before it. The ints are numbers there (no TG009) and the pinned
    statement is proven; an int that joins a name (`logs_%d`) is still TG009."""
    root = project(tmp_path)
    count = 8000
    source = (
        "def f(c, i):\n    return c.fetch("
        '"SELECT * FROM patients WHERE tenant_id = $1 AND a IN (%d'
        + ", %d" * count
        + ')" % ('
        + "len(i), " * (count + 1)
        + "), 1)\n"
    )
    elapsed, rules = _timed_check(root, source)
    assert rules == []
    assert elapsed < 30, elapsed
    _, rules = _timed_check(root, source.replace("a IN (%d", "a IN (logs_%d"))
    assert "TG009" in rules
