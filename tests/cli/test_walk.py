"""The walk on real git repositories: .gitignore, virtualenvs, build outputs, force_exclude."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.sources.walk import discover

LEAK = "SELECT * FROM patients;\n"
POLICY = ["--isolated", "--tenant-tables", "patients", "--no-cache", "--format", "concise"]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def put(root: Path, relative: str, text: str = LEAK) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository holding the project's code and what a walk must not read."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q")
    put(
        root,
        ".gitignore",
        ".venv-dev/\n*.generated.sql\nout/*\n!out/keep.sql\ngone/\n!gone/back.sql\n",
    )
    put(root, "app/queries.sql")
    put(root, "app/service.py", 'async def f(c):\n    await c.fetch("SELECT * FROM patients")\n')
    # a virtualenv with an unusual name, listed in .gitignore (the 2 112 files)
    put(root, ".venv-dev/pyvenv.cfg", "home = /usr/bin\n")
    put(root, ".venv-dev/lib/python3.11/site-packages/pkg/mod.py", "x = (\n")
    # a virtualenv nobody ignored: its pyvenv.cfg is enough
    put(root, "env2/pyvenv.cfg", "home = /usr/bin\n")
    put(root, "env2/lib/site.sql")
    put(root, "vendor/site-packages/lib.sql")
    put(root, "web/node_modules/pkg/q.sql")
    put(root, "build/lib/app/queries.sql")
    put(root, "dist/q.sql")
    put(root, "pkg.egg-info/q.sql")
    put(root, "app/report.generated.sql")
    put(root, "out/drop.sql")
    put(root, "out/keep.sql")
    # git cannot re-include a file whose directory is ignored
    put(root, "gone/back.sql")
    # a .gitignore below the top applies below its directory only
    put(root, "app/nested/.gitignore", "local.sql\n")
    put(root, "app/nested/local.sql")
    put(root, "app/local.sql")
    monkeypatch.chdir(root)
    return root


def walked(root: Path, *paths: str, **options: object) -> list[str]:
    files, missing = discover(
        [Path(p) for p in paths or (".",)],
        root=root,
        include=options.pop("include", ["*.sql", "*.py"]),  # type: ignore[arg-type]
        exclude=options.pop("exclude", ()),  # type: ignore[arg-type]
        pipeline=[],
        **options,  # type: ignore[arg-type]
    )
    assert missing == []
    return sorted(f.display for f in files)


def test_walk_reads_the_projects_code_only(repo: Path) -> None:
    assert walked(repo) == [
        "app/local.sql",
        "app/queries.sql",
        "app/service.py",
        "out/keep.sql",
    ]


def test_walk_agrees_with_git_on_what_is_ignored(repo: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    # git knows nothing of virtualenvs and build outputs: those the walk skips on its own
    own = [
        f
        for f in listed
        if f.endswith((".sql", ".py"))
        and not f.startswith(("env2/", "vendor/", "web/", "build/", "dist/", "pkg.egg-info/"))
    ]
    assert walked(repo) == sorted(own)


def test_walk_from_a_subdirectory_honours_the_gitignore_above_it(repo: Path) -> None:
    assert walked(repo, "app") == ["app/local.sql", "app/queries.sql", "app/service.py"]
    assert walked(repo, "out") == ["out/keep.sql"]


def test_git_info_exclude_is_read(repo: Path) -> None:
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("app/local.sql\n")
    assert "app/local.sql" not in walked(repo)


def test_respect_gitignore_false_reads_ignored_files_but_not_virtualenvs(repo: Path) -> None:
    found = walked(repo, respect_gitignore=False)
    assert {"app/report.generated.sql", "out/drop.sql", "app/nested/local.sql"} <= set(found)
    assert not [f for f in found if f.startswith((".venv-dev/", "env2/", "build/", "web/"))]


def test_named_files_are_checked_unless_force_exclude(repo: Path) -> None:
    put(repo, "legacy/old.sql")
    assert walked(repo, "legacy/old.sql", exclude=["legacy/**"]) == ["legacy/old.sql"]
    assert walked(repo, "legacy/old.sql", exclude=["legacy/**"], force_exclude=True) == []
    # a file inside a skipped directory, named explicitly (pre-commit passes tracked files)
    assert walked(repo, "build/lib/app/queries.sql", force_exclude=True) == []
    assert walked(repo, "app/queries.sql", exclude=["legacy/**"], force_exclude=True) == [
        "app/queries.sql"
    ]


def test_check_of_the_repository_reports_only_its_own_leaks(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", *POLICY])
    out = capsys.readouterr().out
    assert code == 1
    reported = sorted({line.split(":")[0] for line in out.splitlines() if ": TG" in line})
    assert reported == ["app/local.sql", "app/queries.sql", "app/service.py", "out/keep.sql"]
    assert "in 4 files" in out


def test_force_exclude_from_configuration_and_flag(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(
        repo,
        "pyproject.toml",
        '[tool.tenantguard]\ntenant_tables = ["patients"]\nexclude = ["app/local.sql"]\n',
    )
    assert main(["check", "--no-cache", "app/local.sql"]) == 1
    capsys.readouterr()
    assert main(["check", "--no-cache", "--force-exclude", "app/local.sql"]) == 0
    assert "0 files" in capsys.readouterr().out
    put(
        repo,
        "pyproject.toml",
        '[tool.tenantguard]\ntenant_tables = ["patients"]\nexclude = ["app/local.sql"]\n'
        "force_exclude = true\n",
    )
    assert main(["check", "--no-cache", "app/local.sql", "app/queries.sql"]) == 1
    out = capsys.readouterr().out
    assert "app/queries.sql" in out and "app/local.sql" not in out


def test_include_patterns_with_a_slash_match_the_path_from_the_root(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """helper 111: `include = ["**/*.py", "**/*.sql"]` (ruff's form) matched nothing — each
    pattern was matched against the bare file name — and the check passed, 0 files."""
    put(repo, "top.sql")
    assert walked(repo, include=["**/*.sql"])[:2] == ["app/local.sql", "app/queries.sql"]
    assert "top.sql" in walked(repo, include=["**/*.sql"])  # `**/` matches no directory too
    assert walked(repo, include=["app/nested/*.sql", "app/*.py"]) == ["app/service.py"]
    put(repo, "pyproject.toml", '[tool.tenantguard]\ninclude = ["app/**/*.py"]\n')
    assert main(["check", "--no-cache", "--tenant-tables", "patients"]) == 1
    assert "app/service.py" in capsys.readouterr().out


def test_a_walk_that_finds_no_file_is_an_error_not_a_pass(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(repo, "pyproject.toml", '[tool.tenantguard]\ninclude = ["src/**/*.py"]\n')
    assert main(["check", "--no-cache", "--tenant-tables", "patients"]) == 2
    err = capsys.readouterr().err
    assert "no file under . matches include = ['src/**/*.py']" in err
    assert "nothing was checked" in err
    # files named (pre-commit's way) and all excluded: nothing to do, a pass
    put(
        repo,
        "pyproject.toml",
        '[tool.tenantguard]\ninclude = ["src/**/*.py"]\nexclude = ["app"]\nforce_exclude = true\n',
    )
    assert main(["check", "--no-cache", "--tenant-tables", "patients", "app/local.sql"]) == 0


def test_a_star_never_crosses_a_slash_and_only_sources_are_walked(repo: Path) -> None:
    """helper 113: `exclude = ["app/*.py"]` (fnmatch: `*` crossing slashes) left out
    `app/admin/a.py` and `app/admin/sub/b.py`, leaks unchecked; `include = ["app/**"]` read a
    README and images as SQL. Patterns read as ruff reads them; a walk reads SQL and Python."""
    put(repo, "app/admin/a.py", "x = 1\n")
    put(repo, "app/admin/sub/b.sql")
    put(repo, "app/README.md", "# SELECT * FROM patients\n")
    put(repo, "app/logo.png", "not SQL\n")
    kept = walked(repo, "app", exclude=["app/*.py"])
    assert "app/service.py" not in kept
    assert {"app/admin/a.py", "app/admin/sub/b.sql"} <= set(kept)
    assert "app/admin/a.py" not in walked(repo, "app", exclude=["app/**/*.py"])
    assert "app/admin/sub/b.sql" not in walked(repo, "app", exclude=["admin"])
    assert "app/admin/sub/b.sql" not in walked(repo, "app", exclude=["./app/admin"])
    every = walked(repo, "app", include=["app/**"])
    assert "app/README.md" not in every and "app/logo.png" not in every
    assert "app/admin/sub/b.sql" in every
