"""Which files `check` looks at, under which names, and which count as the schema pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.sources.files import SourceFile, discover


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project: app code, a vendored directory, patches, a baseline, a symlink, other files."""
    for relative in (
        "app/queries.sql",
        "app/service.py",
        "app/notes.txt",
        "app/generated/big.sql",
        "app/.venv/lib/site.py",
        "app/node_modules/x/y.sql",
        "patches/0001_base.sql",
        "db/init/schema.sql",
        "elsewhere/shared.sql",
    ):
        file = tmp_path / relative
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("SELECT 1;\n", encoding="utf-8")
    (tmp_path / "app" / "linked.sql").symlink_to(tmp_path / "elsewhere" / "shared.sql")
    (tmp_path / "app" / "same.sql").symlink_to(tmp_path / "app" / "queries.sql")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(
    root: Path, *paths: str, exclude: tuple[str, ...] = ()
) -> tuple[list[SourceFile], list[str]]:
    return discover(
        [Path(p) for p in paths],
        root=root,
        include=["*.sql", "*.py"],
        exclude=exclude,
        pipeline=["patches", "db/init"],
        patch_dir="patches",
    )


def test_walk_includes_sql_and_py_skips_tool_directories_and_resolves_links(tree: Path) -> None:
    files, missing = run(tree, "app")
    assert missing == []
    by_display = {f.display: f for f in files}
    # same.sql points at queries.sql: one file, reported under the first name met
    assert sorted(by_display) == [
        "app/generated/big.sql",
        "app/queries.sql",
        "app/service.py",
        "elsewhere/shared.sql",
    ]
    assert by_display["elsewhere/shared.sql"].path == tree / "elsewhere" / "shared.sql"
    assert all(f.path.is_absolute() for f in files)
    assert by_display["app/queries.sql"].size == len("SELECT 1;\n")


def test_exclude_globs_match_paths_relative_to_the_root(tree: Path) -> None:
    files, _ = run(tree, "app", exclude=("app/generated/*",))
    assert "app/generated/big.sql" not in {f.display for f in files}
    files, _ = run(tree, "app", exclude=("app/generated",))
    assert "app/generated/big.sql" not in {f.display for f in files}
    files, _ = run(tree, "app", exclude=("*.py",))
    assert "app/service.py" not in {f.display for f in files}
    assert "app/queries.sql" in {f.display for f in files}


def test_a_file_named_explicitly_is_checked_whatever_its_name(tree: Path) -> None:
    files, missing = run(tree, "app/notes.txt", "nope.sql")
    assert [f.display for f in files] == ["app/notes.txt"]
    assert missing == ["nope.sql"]


def test_pipeline_and_patch_flags(tree: Path) -> None:
    files, _ = run(tree, ".")
    flags = {f.display: (f.in_patch, f.is_patch) for f in files}
    assert flags["patches/0001_base.sql"] == (True, True)
    assert flags["db/init/schema.sql"] == (True, False)
    assert flags["app/queries.sql"] == (False, False)
    # a file that merely starts with the pipeline's name is not under it
    extra = tree / "patches_old.sql"
    extra.write_text("SELECT 1;\n", encoding="utf-8")
    files, _ = run(tree, "patches_old.sql")
    assert (files[0].in_patch, files[0].is_patch) == (False, False)


def test_files_outside_the_working_directory_keep_the_name_given(
    tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "q.sql").write_text("SELECT 1;\n", encoding="utf-8")
    files, _ = run(tree, str(outside))
    assert [f.display for f in files] == [str(outside / "q.sql")]
    files, _ = run(tree, str(outside / "q.sql"))
    assert [f.display for f in files] == [str(outside / "q.sql")]
