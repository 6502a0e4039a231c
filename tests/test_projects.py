"""Small projects checked as a directory, each with its own configuration file, expectations
inline (`# expect: TG001`) in any of its files.

They cover what one file cannot: constants imported from other modules, base classes in other
modules, `sql_functions`, tenant tables read from Python migrations, quoted mixed-case names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tenantguard.cli import main
from tests.test_fixtures import expected

PROJECTS = Path(__file__).parent / "fixtures" / "projects"
NAMES = sorted(p.name for p in PROJECTS.iterdir() if p.is_dir())


def expectations(root: Path) -> set[tuple[str, int, str]]:
    out = set()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".sql"):
            relative = path.relative_to(root).as_posix()
            out |= {(relative, line, code) for line, code in expected(path)}
    return out


def reported(
    root: Path, capsys: pytest.CaptureFixture[str], *jobs: str
) -> set[tuple[str, int, str]]:
    code = main(["check", *jobs, "--format", "json", str(root)])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return {
        (Path(f["path"]).resolve().relative_to(root.resolve()).as_posix(), f["line"], f["rule"])
        for f in json.loads(out)["findings"]
    }


@pytest.mark.parametrize("name", NAMES)
def test_project(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = PROJECTS / name
    assert reported(root, capsys) == expectations(root)


@pytest.mark.parametrize("name", NAMES)
def test_project_in_forked_workers(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same findings when forked workers share the run's index."""
    import tenantguard.sources.files as files

    monkeypatch.setattr(files, "_PARALLEL_MIN_BYTES", 0)
    root = PROJECTS / name
    assert reported(root, capsys, "--jobs", "2") == expectations(root)


def test_one_file_of_a_project_resolves_its_imports(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pre-commit passes changed files only: imported modules are read from disk."""
    root = PROJECTS / "imports"
    monkeypatch.chdir(root)
    code = main(["check", "--format", "json", os.path.join("app", "sub", "deep.py")])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert {(f["line"], f["rule"]) for f in findings} == {(9, "TG001"), (17, "TG001")}
    assert all(f["rule"] != "TG009" for f in findings)
    assert any(f["message"].endswith("(in SQL from app/repo.py)") for f in findings)
    assert any("(the SQL is written at app/repo.py:6)" in f["help"] for f in findings)


def test_quoted_names_are_written_quoted_in_the_fixes(capsys: pytest.CaptureFixture[str]) -> None:
    root = PROJECTS / "quoted"
    main(["check", "--format", "json", str(root)])
    helps = {
        (Path(f["path"]).name, f["line"]): f["help"]
        for f in json.loads(capsys.readouterr().out)["findings"]
    }
    assert (
        helps[("app.py", 4)] == 'add `"Thread"."userId" = $n` to the WHERE of the SELECT statement'
    )
    assert helps[("app.py", 11)] == 'add `m."userId" = $n` to the WHERE of the SELECT statement'
    assert "'userId'" in helps[("app.py", 13)]  # asyncpg quotes the names it is given


def test_quoted_tenant_column_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "explain",
            "--isolated",
            "--tenant-tables",
            '"Thread"',
            "--tenant-column",
            '"userId"',
            'SELECT * FROM "Thread" t WHERE t."userId" = $1 AND t.userid = $2',
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "PINNED" in out and "NOT PINNED" not in out
