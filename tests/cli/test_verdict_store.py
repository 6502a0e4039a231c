"""The verdict store (.tenantguard_cache/verdicts.sqlite3): a file edited around unchanged
statements gets their verdicts from it, reported exactly as fresh ones; everything a verdict
depends on is in its key; a damaged, foreign or poisoned store is never a wrong pass."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tenantguard import cache as cache_module
from tenantguard.cache import StoredVerdicts
from tenantguard.cli import main
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.verdicts import Analyzer, Verdict
from tests.cli.test_cache import (  # the result cache's tests' project, with other files
    CONFIG,
    SCHEMA,
)
from tests.conftest import CASE_TABLES, read_cases

TESTS = Path(__file__).resolve().parent.parent
LEAK = "SELECT * FROM patients WHERE dni = $1"


@pytest.fixture(autouse=True)
def cache_in_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store where a project has it (the suite moves other tests' caches elsewhere)."""
    monkeypatch.delenv("TENANTGUARD_CACHE_DIR", raising=False)


def no_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, a statement the Analyzer finds neither in memory nor in the store fails
    the test (building the policy still analyses the schema's function bodies)."""

    def refuse(self: Analyzer, sql: str) -> None:
        raise AssertionError(f"analysed, not served by the store: {sql[:80]!r}")

    monkeypatch.setattr(Analyzer, "_analysed", refuse)


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    assert code != 2, err
    return code, out


# ---------------------------------------------------------------- same reports, pass and fail


def corpus(root: Path) -> list[Path]:
    """The rule cases (tests/cases/rules.yaml) ten to a file, those of patches and the patch
    rules' (patch_rules.yaml, one a file) in patches/, and the SQL and Python fixtures
    (suppressions, psql meta-commands, placeholders, wrappers...)."""
    cases = read_cases("rules.yaml")
    tables = ", ".join(json.dumps(t) for t in sorted(CASE_TABLES))
    (root / "pyproject.toml").write_text(
        f'{CONFIG}tenant_tables = [{tables}]\npatch_dir = "patches"\n', encoding="utf-8"
    )
    (root / "schema").mkdir()
    (root / "schema" / "schema.sql").write_text(
        (TESTS / "fixtures" / "case_schema.sql").read_text(encoding="utf-8"), encoding="utf-8"
    )
    app, patches = root / "app", root / "patches"
    app.mkdir()
    patches.mkdir()
    plain = [c["sql"] for c in cases if not c.get("config") and not c.get("patch")]
    patch = [c["sql"] for c in cases if c.get("patch")]
    files = []
    for folder, texts, name in ((app, plain, "cases"), (patches, patch, "0001_cases")):
        for start in range(0, len(texts), 10):
            file = folder / f"{name}_{start:04d}.sql"
            file.write_text(";\n\n".join(texts[start : start + 10]) + ";\n", encoding="utf-8")
            files.append(file)
    patch_cases = read_cases("patch_rules.yaml")
    for number, case in enumerate(patch_cases, start=100):
        if not case["sql"].strip():
            continue  # an empty patch (TG109) is no longer empty once edit() adds a comment
        files.append(patches / f"{number:04d}_case.sql")
        files[-1].write_text(case["sql"] + "\n", encoding="utf-8")
    for fixture in sorted([*(TESTS / "fixtures" / "sql").glob("*.sql")]):
        files.append(app / fixture.name)
        files[-1].write_text(fixture.read_text(encoding="utf-8"), encoding="utf-8")
    for fixture in sorted((TESTS / "fixtures" / "python").glob("*.py")):
        files.append(app / fixture.name)
        files[-1].write_text(fixture.read_text(encoding="utf-8"), encoding="utf-8")
    assert len(plain) > 300 and len(patch_cases) > 50
    return files


def edit(files: list[Path], round_: int) -> None:
    """Each file edited outside its statements: a comment (SQL) or a line of code (Python) at
    the end, positions unchanged."""
    for file in files:
        extra = f"\n# edit {round_}\n" if file.suffix == ".py" else f"\n-- edit {round_}\n"
        file.write_text(file.read_text(encoding="utf-8") + extra, encoding="utf-8")


def move(files: list[Path]) -> None:
    """The statements of each generated SQL file in reverse order, two lines further down."""
    for file in files:
        if file.suffix == ".sql" and file.stem.split("_")[-1].isdigit():
            statements = file.read_text(encoding="utf-8").rstrip().rstrip(";").split(";\n\n")
            moved = "-- moved\n\n" + ";\n\n".join(reversed(statements)) + ";\n"
            file.write_text(moved, encoding="utf-8")


FORMATS = ("full", "json", "sarif", "concise")


def test_reports_from_the_store_equal_fresh_reports_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    files = corpus(tmp_path)
    fresh = {f: report(capsys, "--no-cache", "--format", f, "app", "patches") for f in FORMATS}
    assert fresh["json"][0] == 1 and '"TG001"' in fresh["json"][1]
    assert report(capsys, "--format", "json", "app", "patches") == fresh["json"]  # fills it
    stored = len(stored_rows(tmp_path))
    assert stored > 300
    with monkeypatch.context() as inside:
        no_analysis(inside)
        for round_, name in enumerate(FORMATS):
            edit(files, round_)  # the result cache misses every file
            assert report(capsys, "--format", name, "app", "patches") == fresh[name], name
    # statements moved: the findings move with them, as a fresh check places them (in the two
    # formats that show every position: the others are made from the same findings)
    move(files)
    placed = ("full", "json")
    moved = {f: report(capsys, "--no-cache", "--format", f, "app", "patches") for f in placed}
    assert moved["full"] != fresh["full"]
    with monkeypatch.context() as inside:
        no_analysis(inside)
        for round_, name in enumerate(placed):
            edit(files, 10 + round_)
            assert report(capsys, "--format", name, "app", "patches") == moved[name], name
    assert len(stored_rows(tmp_path)) == stored  # nothing new: every verdict was served


def stored_rows(root: Path) -> list[tuple[bytes, bytes, str, int]]:
    file = root / ".tenantguard_cache" / "verdicts.sqlite3"
    db = sqlite3.connect(f"file:{file}?mode=ro", uri=True)  # never created here
    try:
        return db.execute("SELECT key, text, verdict, used FROM verdicts").fetchall()
    finally:
        db.close()


# ---------------------------------------------------------------- no parser for unchanged statements


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "tables.sql").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "patches").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "q.sql").write_text(
        f"{LEAK};\n\n"
        "SELECT * FROM notes;\n\n"
        "-- tenantguard: ignore[TG001] -- the export job runs unscoped\n"
        "SELECT id FROM patients;\n",
        encoding="utf-8",
    )
    return tmp_path


CHECK_IN_A_FRESH_PROCESS = """
import json, sys
from tenantguard.cli import main
code = main(["check", "--format", "json", *sys.argv[1:]])
print("SQLGLOT" if "sqlglot" in sys.modules else "NO-SQLGLOT", code, file=sys.stderr)
"""


def fresh_process(root: Path, *argv: str) -> tuple[str, list[tuple[str, int, int, str]]]:
    done = subprocess.run(
        [sys.executable, "-c", CHECK_IN_A_FRESH_PROCESS, *argv],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    found = json.loads(done.stdout)["findings"]
    places = sorted((f["path"], f["line"], f["column"], f["rule"]) for f in found)
    return done.stderr.strip().splitlines()[-1], places


def test_an_edited_file_whose_statements_are_unchanged_does_not_import_sqlglot(
    project: Path,
) -> None:
    target = project / "app" / "q.sql"
    expected = [("app/q.sql", 1, 15, "TG001")]
    assert fresh_process(project, "app") == ("SQLGLOT 1", expected)
    target.write_text("-- a comment added above\n" + target.read_text(), encoding="utf-8")
    assert fresh_process(project, "app") == ("NO-SQLGLOT 1", [("app/q.sql", 2, 15, "TG001")])
    # statements moved: the finding moves with its statement, the suppression still applies
    target.write_text(
        "SELECT * FROM notes;\n\n"
        f"   {LEAK};\n"
        "-- tenantguard: ignore[TG001] -- the export job runs unscoped\n"
        "SELECT id FROM patients;\n",
        encoding="utf-8",
    )
    assert fresh_process(project, "app") == ("NO-SQLGLOT 1", [("app/q.sql", 3, 18, "TG001")])
    # one statement changed (a literal): parsed, so sqlglot is imported
    target.write_text(target.read_text().replace("notes;", "notes WHERE id = 7;"), "utf-8")
    assert fresh_process(project, "app")[0] == "SQLGLOT 1"
    # the suppression still used; a faulty one (no reason) is reported: the rules load for it
    target.write_text(target.read_text().replace(" -- the export job runs unscoped", ""), "utf-8")
    assert fresh_process(project, "app") == (
        "SQLGLOT 1",
        [("app/q.sql", 3, 18, "TG001"), ("app/q.sql", 4, 4, "TG010")],
    )


PYTHON_APP = (
    "async def find(conn, tenant, dni):  # {n}\n"
    "    await conn.fetch('SELECT id FROM patients WHERE tenant_id = $1', tenant)\n"
    "    await conn.fetch('{leak}', dni)\n"
    "    log = 'SELECT id FROM patients WHERE tenant_id = 7 OR true'\n"
    "    return log\n"
)


def test_an_edited_python_file_whose_sql_is_unchanged_does_not_import_sqlglot(
    project: Path,
) -> None:
    """The same for Python (round 17): its SQL at calls and its loose SQL strings, checked by
    verdicts from the store, need neither the parser nor the policy built."""
    target = project / "app" / "q.py"
    (project / "app" / "q.sql").unlink()
    expected = [("app/q.py", 3, 37, "TG001"), ("app/q.py", 4, 27, "TG001")]
    target.write_text(PYTHON_APP.format(n=0, leak=LEAK), encoding="utf-8")
    assert fresh_process(project, "app") == ("SQLGLOT 1", expected)
    target.write_text(PYTHON_APP.format(n=1, leak=LEAK), encoding="utf-8")
    assert fresh_process(project, "app") == ("NO-SQLGLOT 1", expected)
    # a statement changed: parsed, so sqlglot is imported
    target.write_text(PYTHON_APP.format(n=2, leak=LEAK + " AND id = 3"), encoding="utf-8")
    assert fresh_process(project, "app")[0] == "SQLGLOT 1"


# ---------------------------------------------------------------- what the key covers


def test_a_schema_change_invalidates_stored_verdicts(project: Path) -> None:
    assert fresh_process(project, "app")[1] == [("app/q.sql", 1, 15, "TG001")]
    (project / "schema" / "tables.sql").write_text(
        SCHEMA + "ALTER TABLE notes ADD COLUMN tenant_id int;\n", encoding="utf-8"
    )
    (project / "app" / "q.sql").write_text(
        (project / "app" / "q.sql").read_text() + "-- edited\n", encoding="utf-8"
    )
    assert fresh_process(project, "app") == (
        "SQLGLOT 1",
        [("app/q.sql", 1, 15, "TG001"), ("app/q.sql", 3, 15, "TG001")],
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            'tenant_tables = ["notes"]\n',
            [("app/q.sql", 1, 15, "TG001"), ("app/q.sql", 3, 15, "TG001")],
        ),
        # a stored TG001 verdict that the new configuration clears is not served (and the
        # suppression of the other one on patients is now unused)
        (
            'global_tables = ["patients"]\ntenant_tables = ["notes"]\n',
            [("app/q.sql", 3, 15, "TG001"), ("app/q.sql", 5, 4, "TG011")],
        ),
        ('tenant_column = "clinic_id"\n', None),  # no tenant table any more: exit 2
    ],
)
def test_a_configuration_change_invalidates_stored_verdicts(
    project: Path, change: str, expected: list[tuple[str, int, int, str]] | None
) -> None:
    assert fresh_process(project, "app")[1] == [("app/q.sql", 1, 15, "TG001")]
    config = CONFIG.replace('global_tables = ["tenants"]\n', "") + change
    (project / "pyproject.toml").write_text(config, encoding="utf-8")
    (project / "app" / "q.sql").write_text(
        (project / "app" / "q.sql").read_text() + "-- edited\n", encoding="utf-8"
    )
    if expected is None:
        done = subprocess.run(
            [sys.executable, "-m", "tenantguard", "check", "app"],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        return
    assert fresh_process(project, "app")[1] == expected


def test_a_statement_in_a_patch_has_a_verdict_of_its_own(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DDL is a finding in application code (TG007), not in the patch directory: the same text
    stored for one is not served for the other, in either order."""
    ddl = "CREATE TABLE IF NOT EXISTS audit_trail (id bigint, tenant_id bigint)"
    (project / "app" / "q.sql").write_text(f"{ddl};\n", encoding="utf-8")
    assert json_findings(capsys, "app") == [("app/q.sql", 1, "TG007")]
    (project / "patches" / "0001_trail.sql").write_text(f"{ddl};\n", encoding="utf-8")
    assert "TG007" not in [rule for _, _, rule in json_findings(capsys, "patches")]
    other = "CREATE TABLE IF NOT EXISTS audit_other (id bigint)"
    (project / "patches" / "0002_other.sql").write_text(f"{other};\n", encoding="utf-8")
    assert "TG007" not in [rule for _, _, rule in json_findings(capsys, "patches")]
    (project / "app" / "q.sql").write_text(f"{other};\n", encoding="utf-8")
    no_analysis(monkeypatch)
    assert main(["check", "app"]) == 2
    assert "analysed, not served" in capsys.readouterr().err


def json_findings(capsys: pytest.CaptureFixture[str], *argv: str) -> list[tuple[str, int, str]]:
    main(["check", "--format", "json", *argv])
    found = json.loads(capsys.readouterr().out)["findings"]
    return sorted((f["path"], f["line"], f["rule"]) for f in found)


# ---------------------------------------------------------------- damaged, foreign, poisoned


def the_store(root: Path) -> StoredVerdicts:
    """The store the next `check app` run of this project uses (its key, this process's)."""
    from tenantguard.cache import CheckCache
    from tenantguard.config import load_settings

    settings = load_settings(isolated=False, config=None)
    return StoredVerdicts.beside(CheckCache.open(settings, "options do not matter"))


CLEAN = Verdict((), (), True, True)


def test_a_poisoned_entry_for_another_key_is_not_used(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cold = json_findings(capsys, "app")
    assert cold == [("app/q.sql", 1, "TG001")]
    mine = the_store(project)
    for other in (
        StoredVerdicts(mine.file, mine.basis + " "),  # another schema, settings, tool...
        StoredVerdicts(mine.file, mine.basis),  # the same basis, but for patches
    ):
        patch = other.basis == mine.basis
        other.put(LEAK, patch, CLEAN)  # "this leak is clean", under another key
        other.save()
        (project / "app" / "q.sql").write_text(
            (project / "app" / "q.sql").read_text() + "-- edited\n", encoding="utf-8"
        )
        assert json_findings(capsys, "app") == cold
    # the test's forgery is well formed: under the run's own key, it would be believed (the key
    # holds tenantguard's files' modification times: a store committed to a repository cannot
    # predict it)
    mine.put(LEAK, False, CLEAN)
    mine.save()
    (project / "app" / "q.sql").write_text(
        (project / "app" / "q.sql").read_text() + "-- edited\n", encoding="utf-8"
    )
    assert json_findings(capsys, "app") == []


@pytest.mark.parametrize(
    "damage",
    [
        "not json",
        "[]",
        '[[["TG001"]], [], false, true]',  # a finding row too short
        '[[], [], "yes", true]',  # no finding, but a flag of the wrong type
        '[[["TG001","n","error","m","h",1,1,1,1,"",null]], [["parameter"]], true, true]',
        '{"findings": []}',
    ],
)
def test_a_damaged_entry_is_not_used(
    project: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    cold = json_findings(capsys, "app")
    with sqlite3.connect(project / ".tenantguard_cache" / "verdicts.sqlite3") as db:
        assert db.execute("UPDATE verdicts SET verdict = ?", (damage,)).rowcount == 3
    store = the_store(project)
    assert store.findings(LEAK, False) is None
    assert store.verdict(LEAK, False) is None
    (project / "app" / "q.sql").write_text(
        (project / "app" / "q.sql").read_text() + "-- edited\n", encoding="utf-8"
    )
    assert json_findings(capsys, "app") == cold
    # rewritten: the next edited run is served by the store again
    assert all(row[2] != damage for row in stored_rows(project))


@pytest.mark.parametrize(
    "content",
    [
        b"not a database at all\n" * 100,
        b"SQLite format 3\x00" + b"\xff" * 200,  # a damaged header
        "another format",  # a SQLite database of another layout
    ],
)
def test_a_damaged_or_foreign_store_is_ignored_and_replaced(
    project: Path, capsys: pytest.CaptureFixture[str], content: bytes | str
) -> None:
    cold = json_findings(capsys, "app")
    file = project / ".tenantguard_cache" / "verdicts.sqlite3"
    file.unlink()
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        with sqlite3.connect(file) as db:
            db.execute("CREATE TABLE verdicts (key, text, verdict, used)")
            db.execute("PRAGMA user_version = 99")
        db.close()
    (project / "app" / "q.sql").write_text(
        (project / "app" / "q.sql").read_text() + "-- edited\n", encoding="utf-8"
    )
    assert json_findings(capsys, "app") == cold
    assert len(stored_rows(project)) == 3  # replaced by a store of this format


def test_no_cache_neither_reads_nor_writes_the_store(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert json_findings(capsys, "--no-cache", "app") == [("app/q.sql", 1, "TG001")]
    assert not (project / ".tenantguard_cache").exists()
    json_findings(capsys, "app")
    store = the_store(project)
    store.put(LEAK, False, CLEAN)  # forged under the run's own key: --no-cache does not read it
    store.save()
    assert json_findings(capsys, "--no-cache", "app") == [("app/q.sql", 1, "TG001")]


# ---------------------------------------------------------------- the store itself


def finding(line: int = 1) -> Finding:
    return Finding("TG001", "unpinned", Severity.ERROR, "m", "h", line, 2, line, 9, "", LEAK)


def test_a_verdict_reads_back_equal(tmp_path: Path) -> None:
    from tenantguard.engine.proof import PinValue

    store = StoredVerdicts(tmp_path / "v.sqlite3", "basis")
    other = Finding("TG012", "n", Severity.WARNING, "m", "h", 2, 1, 3, 4, "p", "another text")
    pins = (PinValue("parameter", 1), PinValue("literal", "42"), PinValue("expression", None))
    verdict = Verdict((finding(), other), pins, True, False)
    store.put(LEAK, False, verdict)
    assert store.verdict(LEAK, False) == verdict  # before saving
    store.save()
    again = StoredVerdicts(tmp_path / "v.sqlite3", "basis")
    assert again.verdict(LEAK, False) == verdict
    assert again.findings(LEAK, False) == verdict.findings
    assert again.findings_touching(LEAK, False) == (verdict.findings, True)
    assert again.verdict(LEAK, True) is None
    assert again.verdict(LEAK + " ", False) is None  # the exact text: whitespace counts


def test_texts_differing_only_in_lone_surrogates_are_different_statements(tmp_path: Path) -> None:
    store = StoredVerdicts(tmp_path / "v.sqlite3", "basis")
    store.put("SELECT '\ud800'", False, Verdict((finding(),), (), True))
    store.save()
    assert store.findings("SELECT '\ud800'", False) == (finding(),)
    assert store.findings("SELECT '\udc00'", False) is None
    assert store.findings("SELECT '?'", False) is None


def test_the_store_keeps_at_most_its_limit_dropping_the_least_recently_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "VERDICTS_LIMIT", 3)
    day = [20_000]
    monkeypatch.setattr(cache_module, "_today", lambda: day[0])
    file = tmp_path / "v.sqlite3"
    first = StoredVerdicts(file, "basis")
    for n in range(3):
        first.put(f"SELECT {n}", False, CLEAN)
    first.save()
    day[0] += 1
    used = StoredVerdicts(file, "basis")
    assert used.findings("SELECT 0", False) == ()  # used today: kept
    used.put("SELECT 3", False, CLEAN)
    used.save()
    kept = StoredVerdicts(file, "basis")
    assert [kept.findings(f"SELECT {n}", False) for n in range(4)] == [(), None, (), ()]
    # unused for 30 days: dropped at the next save (a lookup marks a row used today)
    day[0] += 31
    later = StoredVerdicts(file, "basis")
    later.put("SELECT 4", False, CLEAN)
    later.save()
    last = StoredVerdicts(file, "basis")
    assert [last.findings(f"SELECT {n}", False) for n in range(5)] == [None] * 4 + [()]


def test_an_internal_error_is_not_kept(tmp_path: Path) -> None:
    store = StoredVerdicts(tmp_path / "v.sqlite3", "basis")
    failed = Finding(
        "TG006", "n", Severity.ERROR, "internal error in the proof (MemoryError: )", "h"
    )
    store.put(LEAK, False, Verdict((failed,), (), True))
    store.save()
    assert store.findings(LEAK, False) is None


def test_the_analyzer_builds_its_policy_only_for_a_statement_the_store_lacks(
    tmp_path: Path,
) -> None:
    from tenantguard.engine.policy import Policy

    store = StoredVerdicts(tmp_path / "v.sqlite3", "basis")
    store.put(LEAK, False, Verdict((finding(),), (), True))
    built: list[int] = []

    def policy() -> Policy:
        built.append(1)
        return Policy("tenant_id", {"patients"})

    analyzer = Analyzer(policy, store=store)
    assert analyzer.statement_findings(LEAK) == (finding(),)
    assert analyzer.verdict(LEAK).findings == (finding(),)
    assert built == [] and analyzer.misses == 0 and analyzer.stored == 2
    assert [f.code for f in analyzer.statement_findings("SELECT * FROM patients")] == ["TG001"]
    assert built == [1] and analyzer.misses == 1
    assert store.findings("SELECT * FROM patients", False) is not None  # put for the next run


def test_a_parallel_check_stores_what_its_workers_analysed(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenantguard.sources import files as files_module

    monkeypatch.setattr(files_module, "_PARALLEL_MIN_BYTES", 0)
    for n in range(6):
        (project / "app" / f"w{n}.sql").write_text(
            "".join(f"SELECT * FROM patients WHERE id = {n * 100 + i};\n" for i in range(20)),
            encoding="utf-8",
        )
    cold = json_findings(capsys, "--jobs", "2", "app")
    assert len(cold) == 121
    for n in range(6):
        path = project / "app" / f"w{n}.sql"
        path.write_text(path.read_text() + "-- edited\n", encoding="utf-8")
    no_analysis(monkeypatch)  # forked workers inherit it
    assert json_findings(capsys, "--jobs", "2", "app") == cold


def test_verdicts_are_not_saved_when_a_schema_file_changed_during_the_run(project: Path) -> None:
    store = the_store(project)  # its basis holds the schema as it was when the run began
    store.put(LEAK, False, CLEAN)
    (project / "schema" / "tables.sql").write_text(SCHEMA + "-- changed\n", encoding="utf-8")
    store.save()
    assert StoredVerdicts(store.file, store.basis).findings(LEAK, False) is None
