"""The configuration's TOML parse kept in the cache directory: a run that finds it imports no
TOML parser; an edit, a corrupt kept file, a value JSON cannot give back, or --no-cache make
the run parse the file, with the same results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tenantguard.config import _PARSED, _toml, load_settings

# a check in a fresh process; prints, after the report, whether tomllib was imported
CHECK = """
import sys
from tenantguard.cli import main
code = main(sys.argv[1:])
print("tomllib imported:", "tomllib" in sys.modules, "exit:", code)
"""


def check(root: Path, *args: str, cache_dir: Path | None = None) -> tuple[str, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TENANTGUARD_CACHE_DIR"}
    if cache_dir is not None:
        env["TENANTGUARD_CACHE_DIR"] = str(cache_dir)
    done = subprocess.run(
        [sys.executable, "-c", CHECK, "check", "--format", "json", *args, "q.sql"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    *report, last = done.stdout.splitlines()
    rules = json.dumps(sorted(f["rule"] for f in json.loads("\n".join(report))["findings"]))
    return rules, last, done.stderr


def project(root: Path, tables: str = '["patients"]') -> Path:
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "app"\n\n[tool.tenantguard]\ntenant_tables = {tables}\n'
    )
    (root / "q.sql").write_text("SELECT * FROM patients;\nSELECT * FROM leads;\n")
    return root


def kept(directory: Path) -> list[Path]:
    return sorted(directory.glob("toml-*.json"))


def test_a_kept_parse_is_used_and_an_edit_is_seen(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = check(root)  # no cache directory yet: nothing kept
    assert first[0] == '["TG001"]' and "tomllib imported: True exit: 1" in first[1]
    second = check(root)  # the directory exists now: kept
    assert second == first and len(kept(root / ".tenantguard_cache")) == 1
    third = check(root)
    assert third[0] == first[0] and "tomllib imported: False exit: 1" in third[1]
    assert third[2] == ""
    # an edit of the same size: the content is what counts, not the time or the size
    project(root, '["leads"]'.ljust(len('["patients"]')))
    edited = check(root)
    assert edited[0] == '["TG001"]' and "tomllib imported: True" in edited[1]
    project(root, '["patients", "leads"]')
    both = check(root)
    assert both[0] == '["TG001", "TG001"]', both
    assert len(kept(root / ".tenantguard_cache")) == 1  # one kept parse per file
    assert "tomllib imported: False" in check(root)[1]


def test_a_corrupt_kept_parse_is_ignored_and_written_again(tmp_path: Path) -> None:
    root = project(tmp_path)
    expected = check(root)[0]
    check(root)
    (file,) = kept(root / ".tenantguard_cache")
    for corrupt in ("{not json", '{"format": 1, "path": 3}', "[]", ""):
        file.write_text(corrupt)
        rules, last, stderr = check(root)
        assert (rules, stderr) == (expected, "") and "tomllib imported: True" in last
        assert "tomllib imported: False" in check(root)[1]  # written again
    # a kept parse of another state of the file (a copy committed to the repository, the file
    # touched): not used, though the content and path are the same
    data = json.loads(file.read_text())
    forged = {**data, "data": {"tool": {"tenantguard": {"tenant_tables": []}}}}
    forged["file"][2] -= 1  # another modification time
    file.write_text(json.dumps(forged))
    rules, last, _ = check(root)
    assert rules == expected and "tomllib imported: True" in last
    os.utime(root / "pyproject.toml")  # touched: parsed again
    assert "tomllib imported: True" in check(root)[1]
    assert "tomllib imported: False" in check(root)[1]


def test_no_cache_neither_reads_nor_writes_a_kept_parse(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ".tenantguard_cache").mkdir()
    rules, last, _ = check(root, "--no-cache")
    assert rules == '["TG001"]' and "tomllib imported: True" in last
    assert kept(root / ".tenantguard_cache") == []


def test_the_cache_directory_of_the_environment_keeps_it(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    root = project(tmp_path / "app")
    elsewhere = tmp_path / "cache"
    elsewhere.mkdir()
    check(root, cache_dir=elsewhere)
    assert len(kept(elsewhere)) == 1 and not kept(root / ".tenantguard_cache")
    assert "tomllib imported: False" in check(root, cache_dir=elsewhere)[1]


def test_values_json_cannot_give_back_are_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TENANTGUARD_CACHE_DIR", raising=False)
    (tmp_path / ".tenantguard_cache").mkdir()
    text = '[tool.other]\nreleased = 2026-12-05\n\n[tool.tenantguard]\ntenant_tables = ["a"]\n'
    (tmp_path / "pyproject.toml").write_text(text)
    settings = load_settings(tmp_path, cache=True)
    assert settings.tenant_tables == ("a",)
    assert kept(tmp_path / ".tenantguard_cache") == []
    _PARSED.clear()
    assert str(_toml(tmp_path / "pyproject.toml", text, True)["tool"]["other"]["released"]) == (
        "2026-12-05"
    )


def test_without_a_cache_directory_nothing_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TENANTGUARD_CACHE_DIR", raising=False)
    (tmp_path / "pyproject.toml").write_text('[tool.tenantguard]\ntenant_tables = ["a"]\n')
    assert load_settings(tmp_path, cache=True).tenant_tables == ("a",)
    assert list(tmp_path.iterdir()) == [tmp_path / "pyproject.toml"]


def test_broken_toml_is_still_an_error_naming_the_file(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ".tenantguard_cache").mkdir()
    (root / "pyproject.toml").write_text('[tool.tenantguard]\ntenant_tables = ["a"\n')
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "q.sql"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "is not valid TOML" in done.stderr, done.stderr
    assert kept(root / ".tenantguard_cache") == []
