"""Small projects checked as a directory, each with its own configuration file, expectations
inline (`# expect: TG001`) in any of its files.

They cover what one file cannot: constants imported from other modules, base classes in other
modules, `sql_functions`, tenant tables read from Python migrations, quoted mixed-case names.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection
from pathlib import Path

import pytest

from tenantguard.cli import main
from tests.cli.test_fixtures import expected

PROJECTS = Path(__file__).parent.parent / "fixtures" / "projects"
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
    # its constants are resolved (no TG009); the leaky ones, sent as they are, are reported
    # where they are written (queries.py, repo.py) by a run that checks those files, and here,
    # at the calls, by one that does not (s39: this run said nothing of them)
    assert code == 1
    assert [(f["line"], f["rule"]) for f in findings] == [(9, "TG001"), (17, "TG001")]
    assert "(the SQL is written at app/repo.py:6)" in findings[1]["help"]
    code = main(["check", "--format", "json", os.path.join("app", "service.py")])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert {(f["line"], f["rule"]) for f in findings} == {
        (19, "TG001"),  # SEARCH, sent as it is: queries.py is not checked by this run
        (21, "TG001"),
        (22, "TG009"),
    }
    code = main(["check", "--format", "json", os.path.join("app", "service.py"), "app/queries.py"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert {(f["path"], f["line"]) for f in findings if f["rule"] == "TG001"} == {
        ("app/queries.py", 4),  # said once, where it is written
        ("app/queries.py", 5),
        ("app/service.py", 21),
    }
    assert any(f["message"].endswith("(in SQL from app/queries.py)") for f in findings)
    assert any("(the SQL is written at app/queries.py:5)" in f["help"] for f in findings)


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


# the same file, the same findings: whatever else the run checks, in any order, cached or not


def findings_by_file(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> dict[str, list[tuple[int, int, str, str, str]]]:
    """Every finding of a run in the working directory, by file, with its message and help."""
    code = main(["check", "--format", "json", *argv])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    found: dict[str, list[tuple[int, int, str, str, str]]] = {}
    for f in json.loads(out)["findings"]:
        # (the Python lines that send a .sql file's statement are named in its help when the
        # run checks them too, h36D: not part of what a file gets alone)
        help_ = re.sub(
            r" \(this SQL is sent by [^()]*\.py:\d+(?:, [^()]*\.py:\d+)*\)$", "", f["help"]
        )
        row = (f["line"], f["column"], f["rule"], f["message"], help_)
        found.setdefault(Path(f["path"]).as_posix(), []).append(row)
    return found


_WRITTEN_AT = re.compile(r"\(the SQL is written at ([^()]+):(\d+)\)")


def assert_alone_is_the_trees(
    alone: dict[str, list[tuple[int, int, str, str, str]]],
    tree: dict[str, list[tuple[int, int, str, str, str]]],
    file: str,
    run: Collection[str],
    *,
    complete: bool = False,
) -> None:
    """`file` checked in a run of the files `run`: the tree's findings for it, and one more at
    each call sending SQL written in a file the run does not check, for each finding the
    tree's check says there (a pre-commit run of the sender alone said "proven", s38); and
    the tree's findings in other files in SQL from this one, there: those of the base classes
    it fills (any run), and with `complete` (a `--check-dependents` run) every one (s40)."""
    extra = list(alone.get(file, []))
    for finding in tree.get(file, []):
        assert finding in extra, (file, finding)
        extra.remove(finding)
    for line, _, rule, message, help_ in extra:
        where = _WRITTEN_AT.search(help_)
        if where is None:  # a `.sql` file's text, read where the finding is (`read_text()`)
            read = [w for w, fs in tree.items() if w.endswith(".sql") and w not in run]
            assert any((rule, message) == f[2:4] for w in read for f in tree[w]), (file, line)
            continue
        written, at = where[1], int(where[2])
        assert written not in run, (file, line, written)
        assert (at, rule) in {(f[0], f[2]) for f in tree.get(written, [])}, (file, line, written)
    # the tree's findings elsewhere in SQL this file fills (a base class's f-string sent there
    # with this subclass's `table`): said where the tree says them, and only those (s40)
    mine = f" (in SQL from {file})"
    ours = tuple(f" (in SQL from {f})" for f in run)
    for where, found in alone.items():
        if where != file and where not in run:
            for finding in found:
                if " (in SQL from " in finding[3]:  # (a schema file's problems: said by any run)
                    assert finding in tree.get(where, []), (file, where)
                    assert finding[3].endswith(ours), (file, where)
    for where, found in tree.items() if complete else ():
        if where != file and where not in run:
            for finding in found:
                if finding[3].endswith(mine) and finding not in alone.get(where, []):
                    # or said here, where written (the tree says it there too)
                    written = _WRITTEN_AT.search(finding[4])
                    assert written is not None and written[1] == file, (file, where, finding)
                    here = {(f[0], f[2]) for f in alone.get(file, [])}
                    assert (int(written[2]), finding[2]) in here, (file, where, finding)


def copy_project(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import shutil

    root = tmp_path / name
    shutil.copytree(PROJECTS / name, root, ignore=shutil.ignore_patterns(".tenantguard_cache"))
    monkeypatch.chdir(root)
    return root


def sources(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.suffix in (".py", ".sql")
    )


@pytest.mark.parametrize("name", NAMES)
def test_a_file_checked_alone_gets_what_it_gets_in_the_tree(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pre-commit passes the staged files, CI the tree: one file's findings are the same in
    both, and whatever the run checked before it (other files, in another order, from the
    cache or not) — but for SQL it sends that is written in a file the run does not check,
    said at its calls (s39: said nowhere before)."""
    root = copy_project(name, tmp_path, monkeypatch)
    files = sources(root)
    tree = findings_by_file(capsys, "--no-cache", ".")
    assert tree  # every project has findings
    for file in files:
        alone = findings_by_file(capsys, "--no-cache", file)
        assert_alone_is_the_trees(alone, tree, file, {file})
        if file.endswith(".py"):  # (pre-commit's run: a schema source checks the whole tree)
            alone = findings_by_file(capsys, "--no-cache", "--check-dependents", file)
            if alone != tree:
                assert_alone_is_the_trees(alone, tree, file, {file}, complete=True)
    assert findings_by_file(capsys, "--no-cache", *reversed(files)) == tree
    # warm: each file first alone (its entry cached), then the tree (the others checked after)
    for file in reversed(files):
        assert_alone_is_the_trees(findings_by_file(capsys, file), tree, file, {file})
        assert findings_by_file(capsys, ".") == tree
    for half in (files[::2], files[1::2]) if len(files) > 1 else ():
        cold = findings_by_file(capsys, "--no-cache", *half)
        # (a schema file's unreadable statements are said by every run: the policy reads them)
        for file in half:
            assert_alone_is_the_trees(cold, tree, file, set(half))


def test_a_change_in_another_module_reaches_a_file_checked_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached entry of a file goes when a constant it imports, or a wrapper it calls, is
    changed: checked alone, with or without the cache, it sees the change."""
    root = copy_project("crossmodule", tmp_path, monkeypatch)
    worker = "app/workers.py"
    findings_by_file(capsys, ".")
    before = findings_by_file(capsys, worker)[worker]
    # line 9: a constant `+` is one string (round 24): unpinned where it is written
    assert [(line, rule) for line, _, rule, _, _ in before] == [(8, "TG001"), (9, "TG001")]
    queries = root / "app" / "queries.py"
    queries.write_text(
        queries.read_text().replace("WHERE tenant_id = $1", "WHERE name = $1"), encoding="utf-8"
    )
    after = findings_by_file(capsys, worker)[worker]
    assert after == findings_by_file(capsys, "--no-cache", worker)[worker]
    # the constant sent as it is is reported where it is written (queries.py) by a run that
    # checks it, here by this one (s39); completed by the call, at the call
    assert [(line, rule) for line, _, rule, _, _ in after] == [
        (7, "TG001"),
        (8, "TG001"),
        (9, "TG001"),
        (10, "TG001"),
    ]
    assert "(the SQL is written at app/queries.py:" in after[0][4]
    assert "(in SQL from app/queries.py)" in after[3][3]
    db = root / "app" / "db.py"
    db.write_text(db.read_text().replace("fetch(sql, *args)", "fetch('SELECT 1')"))
    # run_query no longer sends its argument: what workers.py passes it is not SQL any more;
    # the constants written there that are whole queries (a `+` of constants is one string,
    # round 24) are still checked where written, as a single literal would be
    loose = [(8, "TG001"), (9, "TG001"), (10, "TG001")]
    assert [(f[0], f[2]) for f in findings_by_file(capsys, worker).get(worker, [])] == loose
    cold = findings_by_file(capsys, "--no-cache", worker).get(worker, [])
    assert [(f[0], f[2]) for f in cold] == loose


_RUN = (
    "import sys\n"
    "import tenantguard.sources.files as files\n"
    "files._PARALLEL_MIN_BYTES = 0  # forked workers even for a small tree\n"
    "from tenantguard.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_a_tree_reports_the_same_bytes_on_any_processes_in_any_order(tmp_path: Path) -> None:
    """Fresh processes (each its own string hashing), one or two of them, the paths given in
    one order or the other, cold or from the cache: the same report, byte for byte."""
    import shutil
    import subprocess
    import sys

    fixtures = Path(__file__).parent.parent / "fixtures"
    (tmp_path / "fx").mkdir()
    for file in [*fixtures.glob("python/*.py"), *fixtures.glob("sql/*.sql")]:
        shutil.copy(file, tmp_path / "fx" / file.name)
    for name in ("crossmodule", "imports", "quoted"):  # each with its own configuration
        shutil.copytree(PROJECTS / name, tmp_path / name, ignore=shutil.ignore_patterns(".*"))
    (tmp_path / "tenantguard.toml").write_text(
        'tenant_tables = ["patients", "appointments", "leads", "chat_messages", '
        '"clinical_records"]\nglobal_tables = ["tenants"]\n',
        encoding="utf-8",
    )
    paths = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "fx").iterdir())
    paths += ["crossmodule", "imports", "quoted"]

    def report(seed: int, jobs: int, order: list[str], *flags: str) -> tuple[bytes, bytes]:
        done = subprocess.run(
            [sys.executable, "-c", _RUN, "check", "--jobs", str(jobs), *flags, *order],
            cwd=tmp_path,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed), "NO_COLOR": "1"},
            check=False,
        )
        assert done.returncode == 1, done.stderr.decode()
        return done.stdout, done.stderr

    first = report(1, 1, paths, "--no-cache")
    assert b"crossmodule/app/workers.py:8:" in first[0]
    assert b"(in SQL from app/queries.py)" in first[0]  # named in its project, whoever ran first
    assert report(2, 2, paths, "--no-cache") == first
    assert report(3, 2, paths[::-1], "--no-cache") == first
    assert report(4, 1, paths[::-1], "--no-cache") == first
    assert report(5, 2, paths, "--no-cache") == first
    assert report(6, 2, paths) == first  # cold: the caches are written
    assert report(7, 2, paths[::-1]) == first  # warm


def modules_read(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The project modules whose function bodies a run reads from here on (relative paths),
    in the order it reads them."""
    from tenantguard.sources.pyflow import ModuleInfo, ProjectIndex

    finished: list[str] = []
    real = ProjectIndex.finished

    def recording(self: ProjectIndex, info: ModuleInfo) -> ModuleInfo:
        if info.functions_pending is not None and info.path is not None:
            finished.append(Path(info.path).resolve().relative_to(root.resolve()).as_posix())
        return real(self, info)

    monkeypatch.setattr(ProjectIndex, "finished", recording)
    return finished


def test_a_file_checked_alone_reads_only_the_modules_its_sql_can_reach(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A method called on an object of unknown class may be any project method of that name;
    asking whether one passes its SQL on follows only its calls that carry a parameter. A call
    that carries none (`self.cache.add(hit)`) leads nowhere the SQL goes: the module of `add`
    is not read. (Following every call read the whole project for one file: 4.5 s for a
    14-line file of this repository.)"""
    root = copy_project("named_methods", tmp_path, monkeypatch)
    finished = modules_read(root, monkeypatch)
    found = findings_by_file(capsys, "--no-cache", "app/handlers.py")
    assert [(line, rule) for line, _, rule, _, _ in found["app/handlers.py"]] == [
        (9, "TG001"),
        (14, "TG001"),
    ]
    assert "app/tally.py" not in finished
    assert {"app/repo.py", "app/db.py"} <= set(finished)


def test_methods_of_built_in_objects_are_not_looked_up_among_the_projects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`QUERIES.get(…)`, `Lookups.BY_NAME.get(…)`, `self.LEAKY.get(…)` on dicts of constants:
    a dict's `get`, not the project's `get` methods (repo.py, noise.py); their modules are not
    read for it, and the SQL picked is still checked."""
    root = copy_project("named_methods", tmp_path, monkeypatch)
    finished = modules_read(root, monkeypatch)
    found = findings_by_file(capsys, "--no-cache", "app/lookups.py")
    assert [(line, rule) for line, _, rule, _, _ in found["app/lookups.py"]] == [(8, "TG001")]
    assert not {"app/repo.py", "app/noise.py"} & set(finished), finished
