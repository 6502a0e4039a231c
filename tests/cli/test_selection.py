"""Rule selection and output as ruff spells them: select, ignore, per_file_ignores, exit-zero,
statistics, quiet, concise, standard input, -V, colours, abbreviations, SARIF fingerprints."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.report import colour_wanted

REPO = Path(__file__).resolve().parent.parent.parent
POLICY = ["--isolated", "--tenant-tables", "patients,appointments", "--no-cache"]
# one statement per rule it trips: TG001 (unpinned), TG005 (TRUNCATE), TG007 (DDL in app code)
MIXED = "SELECT * FROM patients;\nTRUNCATE appointments;\nCREATE TABLE t (x int);\n"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    (tmp_path / "q.sql").write_text(MIXED, encoding="utf-8")
    return tmp_path


def rules_of(
    capsys: pytest.CaptureFixture[str], *argv: str, expect: int | None = None
) -> list[str]:
    code = main(["check", *argv, "--format", "json"])
    out = capsys.readouterr().out
    if expect is not None:
        assert code == expect
    return sorted(f["rule"] for f in json.loads(out)["findings"])


def test_select_ignore_and_prefixes(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rules_of(capsys, *POLICY, "q.sql") == ["TG001", "TG005", "TG007"]
    assert rules_of(capsys, *POLICY, "--select", "TG001", "q.sql") == ["TG001"]
    assert rules_of(capsys, *POLICY, "--ignore", "TG001,TG007", "q.sql") == ["TG005"]
    assert rules_of(capsys, *POLICY, "--select", "TG00", "--ignore", "tg007", "q.sql") == [
        "TG001",
        "TG005",
    ]
    # a rule's name selects it too
    assert rules_of(capsys, *POLICY, "--select", "whole-table-operation", "q.sql") == ["TG005"]
    # the more specific selector wins: TG001 selected although TG0 is ignored
    assert rules_of(capsys, *POLICY, "--select", "TG001", "--ignore", "TG0", "q.sql") == ["TG001"]
    # at equal specificity ignore wins
    assert rules_of(capsys, *POLICY, "--select", "TG005", "--ignore", "TG005", "q.sql") == []
    assert rules_of(
        capsys, *POLICY, "--select", "ALL", "--ignore", "TG0", "--extend-select", "TG001", "q.sql"
    ) == ["TG001"]
    # nothing selected that errs: exit 0
    assert rules_of(capsys, *POLICY, "--select", "TG003", "q.sql", expect=0) == []


def test_unknown_selector_is_a_usage_error_naming_it(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", *POLICY, "--select", "TG999", "q.sql"]) == 2
    assert "'TG999' selects no rule" in capsys.readouterr().err
    assert main(["check", *POLICY, "--ignore", "E501", "q.sql"]) == 2
    assert "'E501'" in capsys.readouterr().err
    assert main(["check", *POLICY, "--select", "TG0;1", "q.sql"]) == 2
    assert "not a rule selector" in capsys.readouterr().err


def test_configuration_select_and_per_file_ignores(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = workdir / "app" / "admin" / "stats.py"
    admin.parent.mkdir(parents=True)
    admin.write_text(
        'async def f(c):\n    await c.fetch("SELECT count(*) FROM patients")\n', encoding="utf-8"
    )
    (workdir / "app" / "views.py").write_text(
        'async def f(c):\n    await c.fetch("SELECT count(*) FROM patients")\n', encoding="utf-8"
    )
    (workdir / "pyproject.toml").write_text(
        "[tool.tenantguard]\n"
        'tenant_tables = ["patients", "appointments"]\n'
        'ignore = ["TG007"]\n'
        'per_file_ignores = {"app/admin/**" = ["TG001"]}\n',
        encoding="utf-8",
    )
    code = main(["check", "--no-cache", "--format", "json", "."])
    found = sorted((f["path"], f["rule"]) for f in json.loads(capsys.readouterr().out)["findings"])
    assert code == 1
    assert found == [("app/views.py", "TG001"), ("q.sql", "TG001"), ("q.sql", "TG005")]
    # --select replaces the configuration's select and ignore (ruff's layering)
    assert rules_of(capsys, "--no-cache", "--select", "TG007", "q.sql") == ["TG007"]
    # per-file ignores still apply under --select
    assert rules_of(capsys, "--no-cache", "--select", "TG001", "app/admin/stats.py") == []


def test_suppression_of_a_rule_not_run_is_not_reported_unused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "s.sql").write_text(
        "-- tenantguard: ignore[TG001] -- nightly export across clinics\nSELECT * FROM patients;\n"
        "-- tenantguard: ignore[TG005] -- nothing here\nSELECT 1;\n",
        encoding="utf-8",
    )
    assert rules_of(capsys, *POLICY, "s.sql") == ["TG011"]
    # TG001 ignored: its suppression cannot be judged; the TG005 one is still unused
    assert rules_of(capsys, *POLICY, "--ignore", "TG001", "s.sql") == ["TG011"]
    assert rules_of(capsys, *POLICY, "--ignore", "TG001,TG005", "s.sql") == []


def test_bad_selection_configuration_names_the_key(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for body, expected in (
        ('select = "TG001"', "select must be a list"),
        ('per_file_ignores = ["app/**"]', "per_file_ignores must be a table"),
        ('per_file_ignores = {"app/**" = "TG001"}', "must map to a list"),
        ("force_exclude = 1", "force_exclude must be true or false"),
        ('extend_select = ["TG77"]', "'TG77' selects no rule"),
    ):
        (workdir / "pyproject.toml").write_text(f"[tool.tenantguard]\n{body}\n", encoding="utf-8")
        assert main(["check", "--no-cache", "--tenant-tables", "patients", "q.sql"]) == 2, body
        assert expected in capsys.readouterr().err, body


def test_exit_zero_statistics_quiet_and_concise(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "r.sql").write_text("SELECT * FROM patients;\nSELECT * FROM appointments;\n")
    assert main(["check", *POLICY, "--exit-zero", "q.sql"]) == 0
    assert "Found 3 errors" in capsys.readouterr().out
    assert main(["check", *POLICY, "--statistics", "q.sql", "r.sql"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["3", "TG001", "unpinned-tenant-reference"]
    assert sorted(line.split()[1] for line in lines) == ["TG001", "TG005", "TG007"]
    assert main(["check", *POLICY, "--statistics", "--format", "json", "r.sql"]) == 1
    assert json.loads(capsys.readouterr().out) == [
        {"code": "TG001", "name": "unpinned-tenant-reference", "count": 2}
    ]
    assert main(["check", *POLICY, "--statistics", "--format", "sarif", "r.sql"]) == 2
    assert "--statistics prints text or json" in capsys.readouterr().err
    assert main(["check", *POLICY, "--output-format", "concise", "r.sql"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "r.sql:1:15: TG001 patients in the SELECT statement is not pinned to one tenant",
        "r.sql:2:15: TG001 appointments in the SELECT statement is not pinned to one tenant",
        "Found 2 errors and 0 warnings in 1 file (2 statements).",
    ]
    assert main(["check", *POLICY, "--quiet", "--output-format", "concise", "r.sql"]) == 1
    assert len(capsys.readouterr().out.splitlines()) == 2
    (workdir / "ok.sql").write_text("SELECT 1;\n")
    assert main(["check", *POLICY, "-q", "ok.sql"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["check", *POLICY, "--output-format", "full", "r.sql"]) == 1
    assert "    = help: add `patients.tenant_id = $n`" in capsys.readouterr().out


def test_standard_input_with_a_file_name(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def stdin(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))

    stdin('async def f(c):\n    await c.fetch("SELECT * FROM patients")\n')
    code = main(["check", *POLICY, "--stdin-filename", "app/handlers.py", "-"])
    out = capsys.readouterr().out
    assert code == 1
    # reported under the given name, with the line from standard input (no such file exists)
    assert out.startswith("app/handlers.py:2:34: TG001 patients")
    assert '    await c.fetch("SELECT * FROM patients")' in out
    stdin("SELECT * FROM patients WHERE tenant_id = $1;\n")
    assert main(["check", *POLICY, "-"]) == 0
    assert "1 statement in 1 file" in capsys.readouterr().out
    # force_exclude applies to the name given for standard input
    stdin("SELECT * FROM patients;\n")
    argv = ["check", "--no-cache", "--force-exclude", "--stdin-filename", "legacy/x.sql"]
    (workdir / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["patients"]\nexclude = ["legacy/**"]\n'
    )
    assert main(argv) == 0
    assert "0 files" in capsys.readouterr().out


def test_standard_input_takes_the_configuration_of_its_file_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As an editor runs it: from anywhere, for a file of a project (that file need not exist)."""
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no configuration here: no tenant tables, exit 2
    for name in ("handlers.sql", "new_file.sql"):
        (project / "app" / "handlers.sql").write_text("SELECT 1;\n")
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"SELECT * FROM patients;")))
        argv = ["check", "--no-cache", "--stdin-filename", str(project / "app" / name)]
        assert main(argv) == 1, name
        assert f"app/{name}:1:15: TG001 patients" in capsys.readouterr().out


def test_misspelled_long_flags_are_errors_not_abbreviations(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["check", "--isolated", "--tenant-colum", "x", "q.sql"],
        ["check", "--isol", "q.sql"],
        ["patches", "lint", "--tenant-tab", "patients"],
        ["explain", "--tenant-tab", "patients", "SELECT 1"],
        ["--vers"],
    ):
        assert main(argv) == 2, argv
        assert "unrecognized arguments" in capsys.readouterr().err, argv


def test_short_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from tenantguard import __version__

    assert main(["-V"]) == 0
    assert capsys.readouterr().out.strip() == f"tenantguard {__version__}"


def test_colours_follow_the_terminal_no_color_and_force_color(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert colour_wanted(Terminal(), {}) is True
    assert colour_wanted(io.StringIO(), {}) is False
    assert colour_wanted(Terminal(), {"NO_COLOR": "1"}) is False
    assert colour_wanted(Terminal(), {"NO_COLOR": ""}) is True  # empty: not set (no-color.org)
    assert colour_wanted(io.StringIO(), {"FORCE_COLOR": "1"}) is True
    assert colour_wanted(io.StringIO(), {"FORCE_COLOR": "1", "NO_COLOR": "1"}) is False
    monkeypatch.setenv("FORCE_COLOR", "1")
    main(["check", *POLICY, "q.sql"])
    out = capsys.readouterr().out
    assert "\x1b[1;31mTG001\x1b[0m" in out
    monkeypatch.setenv("NO_COLOR", "1")
    main(["check", *POLICY, "q.sql"])
    assert "\x1b[" not in capsys.readouterr().out
    monkeypatch.delenv("NO_COLOR")
    main(["check", *POLICY, "--format", "json", "q.sql"])
    assert "\x1b[" not in capsys.readouterr().out  # machine formats never carry colours


def test_sarif_fingerprints_survive_moved_lines_and_rules_have_a_help_uri(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def results() -> list[dict[str, object]]:
        main(["check", *POLICY, "--format", "sarif", "q.sql"])
        run = json.loads(capsys.readouterr().out)["runs"][0]
        for rule in run["tool"]["driver"]["rules"]:
            prefix = "https://github.com/tenantguard/tenantguard/blob/main/"
            assert rule["helpUri"].startswith(prefix)
            module = REPO / rule["helpUri"][len(prefix) :]
            assert module.is_file(), rule["id"]
            # the rule's own module: its docstring (the rule's doc) starts with the code
            assert module.read_text(encoding="utf-8").startswith(f'"""{rule["id"]} '), rule["id"]
        return list(run["results"])

    before = results()
    (workdir / "q.sql").write_text("-- moved\n\n" + MIXED, encoding="utf-8")
    after = results()
    assert [r["partialFingerprints"] for r in before] == [r["partialFingerprints"] for r in after]
    assert len({json.dumps(r["partialFingerprints"]) for r in before}) == 3
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after]  # type: ignore[index]
    assert lines == [3, 4, 5]
