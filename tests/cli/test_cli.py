"""The command line, run in-process through `main(argv)`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tenantguard.catalog import CATALOG as ALL_RULES
from tenantguard.cli import main
from tests.conftest import error_document_only

REPO = Path(__file__).resolve().parent.parent.parent
ISOLATED = [
    "--isolated",
    "--tenant-column",
    "tenant_id",
    "--tenant-tables",
    "patients,appointments",
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_contract_leak_exits_1_with_json_findings(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "leak.sql", "SELECT * FROM patients WHERE dni = $1;\n")
    code, out, _ = run(capsys, "check", *ISOLATED, "--format", "json", "leak.sql")
    assert code == 1
    data = json.loads(out)
    finding = data["findings"][0]
    assert {"path", "line", "column", "rule", "severity", "message"} <= set(finding)
    assert (finding["path"], finding["line"], finding["column"], finding["rule"]) == (
        "leak.sql",
        1,
        15,
        "TG001",
    )
    assert finding["severity"] == "error"


def test_contract_pinned_exits_0(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "ok.sql", "SELECT * FROM patients WHERE tenant_id = $1 AND dni = $2;\n")
    code, out, _ = run(capsys, "check", *ISOLATED, "--format", "json", "ok.sql")
    assert code == 0
    assert json.loads(out)["findings"] == []


def test_text_output_has_location_source_line_caret_and_help(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "q.sql",
        "-- header\nSELECT 1;\nSELECT *\n  FROM patients p\n  WHERE p.dni = $1;\n",
    )
    code, out, _ = run(capsys, "check", *ISOLATED, "q.sql")
    assert code == 1
    lines = out.splitlines()
    assert (
        lines[0]
        == "q.sql:4:8: TG001 patients AS p in the SELECT statement is not pinned to one tenant"
    )
    assert lines[1] == "      FROM patients p"
    assert lines[2] == "    " + " " * 7 + "^" * len("patients")
    assert lines[3] == "    = help: add `p.tenant_id = $n` to the WHERE of the SELECT statement"
    assert "Found 1 error" in out


def test_directories_are_walked_for_sql_and_py(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "a" / "one.sql", "SELECT * FROM patients;")
    write(
        workdir / "a" / "b" / "two.py",
        "async def f(c):\n    await c.fetch('SELECT * FROM appointments')\n",
    )
    write(workdir / "a" / "notes.txt", "SELECT * FROM patients;")
    code, out, _ = run(capsys, "check", *ISOLATED, "--format", "json", "a")
    assert code == 1
    paths = sorted(f["path"] for f in json.loads(out)["findings"])
    assert paths == [os.path.join("a", "b", "two.py"), os.path.join("a", "one.sql")]


def test_missing_path_is_a_usage_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", *ISOLATED, "nope.sql")
    assert code == 2
    assert "nope.sql: no such file or directory" in err


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--frobnicate")
    assert code == 2
    assert "unrecognized arguments" in err


def test_help_lists_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "check" in out and "explain" in out and "rule" in out and "Exit codes" in out


def test_unknown_config_key_names_the_key(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pyproject.toml", '[tool.tenantguard]\ntenant_tabels = ["patients"]\n')
    write(workdir / "q.sql", "SELECT 1;")
    code, _, err = run(capsys, "check", "q.sql")
    assert code == 2
    assert "unknown key 'tenant_tabels'" in err


def test_config_is_found_upward_and_flags_win(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "pyproject.toml",
        '[tool.tenantguard]\ntenant_tables = ["patients"]\ntenant_column = "clinic_id"\n',
    )
    write(workdir / "sub" / "q.sql", "SELECT * FROM patients WHERE clinic_id = $1;")
    os.chdir(workdir / "sub")
    assert run(capsys, "check", "q.sql")[0] == 0
    assert run(capsys, "check", "--tenant-column", "tenant_id", "q.sql")[0] == 1
    code, out, err = run(capsys, "check", "--isolated", "q.sql")  # no tenant tables at all
    assert (code, out) == (2, "")
    assert "no tenant tables" in err


def test_wrong_config_type_is_reported(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = "patients"\n')
    code, _, err = run(capsys, "check", ".")
    assert code == 2
    assert "tenant_tables must be a list of strings" in err


def test_tenant_tables_are_inferred_from_schema_paths(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "pyproject.toml", '[tool.tenantguard]\nglobal_tables = ["tenants", "countries"]\n'
    )
    write(
        workdir / "patches" / "0001_base.sql",
        "CREATE TABLE IF NOT EXISTS tenants (id bigserial PRIMARY KEY, tenant_id int);\n"
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'notes') THEN\n"
        "  CREATE TABLE notes (id bigserial, tenant_id bigint NOT NULL, body text);\n"
        "END IF; END $$;\n"
        "CREATE INDEX IF NOT EXISTS notes_tenant_idx ON notes (tenant_id);\n"
        "CREATE TABLE IF NOT EXISTS countries (code text);\n"
        "ALTER TABLE countries ADD COLUMN IF NOT EXISTS x int;\n",
    )
    write(
        workdir / "app" / "q.sql",
        "SELECT * FROM notes;\nSELECT * FROM countries;\nSELECT * FROM tenants;\n",
    )
    code, out, _ = run(capsys, "check", "--format", "json", "app", "patches")
    findings = json.loads(out)["findings"]
    assert code == 1
    assert [(f["path"], f["line"], f["rule"]) for f in findings] == [
        (os.path.join("app", "q.sql"), 1, "TG001")
    ]


def check_against_patches(
    workdir: Path, capsys: pytest.CaptureFixture[str], patches: dict[str, str], queries: str
) -> list[dict[str, object]]:
    """The findings of `tenantguard check app` on app/q.sql, with these patch files as schema."""
    write(workdir / "pyproject.toml", "[tool.tenantguard]\n")
    for name, text in patches.items():
        write(workdir / "patches" / name, text)
    write(workdir / "app" / "q.sql", queries)
    code, out, _ = run(capsys, "check", "--format", "json", "app")
    findings: list[dict[str, object]] = json.loads(out)["findings"]
    assert code == (1 if any(f["severity"] == "error" for f in findings) else 0)
    return findings


def test_views_over_tenant_tables_are_tenant_tables_unless_pinned_inside(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patches = (
        "CREATE TABLE IF NOT EXISTS patients (id bigserial, tenant_id bigint NOT NULL, "
        "status text, first_name text);\n"
        "CREATE TABLE IF NOT EXISTS countries (code text);\n"
        # reads every tenant: a tenant table itself
        "CREATE OR REPLACE VIEW active_patients AS SELECT * FROM patients WHERE status = 'a';\n"
        # a view of a view, and one without the tenant column (no way to pin it)
        "DO $$ BEGIN EXECUTE 'CREATE VIEW recent AS SELECT id, tenant_id FROM active_patients'; "
        "END $$;\n"
        "CREATE MATERIALIZED VIEW names AS SELECT first_name FROM patients;\n"
        # pinned inside by the tenant expression: safe to read as it is
        "CREATE VIEW my_patients AS SELECT * FROM patients "
        "WHERE tenant_id = current_setting('app.tenant_id')::bigint;\n"
        "CREATE VIEW codes AS SELECT code FROM countries;\n"
        "CREATE VIEW dropped AS SELECT * FROM patients;\n"
    )
    queries = (
        "SELECT * FROM active_patients;\n"
        "SELECT * FROM active_patients WHERE tenant_id = $1;\n"
        "SELECT * FROM recent;\n"
        "SELECT * FROM recent r WHERE r.tenant_id = $1;\n"
        "SELECT * FROM names;\n"
        "SELECT * FROM my_patients;\n"
        "SELECT * FROM codes;\n"
        "SELECT * FROM dropped;\n"
        # the view's columns are known: the unqualified tenant_id can only be active_patients'
        "SELECT * FROM names n JOIN active_patients a ON a.first_name = n.first_name "
        "WHERE tenant_id = $1;\n"
    )
    findings = check_against_patches(
        workdir,
        capsys,
        {"0001_base.sql": patches, "0002_drop.sql": "DROP VIEW IF EXISTS dropped;\n"},
        queries,
    )
    assert [(f["line"], f["rule"]) for f in findings] == [
        (1, "TG001"),
        (3, "TG001"),
        (5, "TG001"),
        (9, "TG001"),
    ]
    assert "names" in findings[3]["message"]


def test_sql_functions_that_read_tenant_rows_unpinned_are_tenant_tables(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patches = (
        "CREATE TABLE IF NOT EXISTS patients (id bigserial, tenant_id bigint NOT NULL, "
        "first_name text);\n"
        "CREATE FUNCTION all_patients() RETURNS SETOF patients LANGUAGE sql STABLE "
        "AS $$ SELECT * FROM patients $$;\n"
        # pinned by its parameter: safe to call
        "CREATE FUNCTION patients_of(p_tenant bigint) RETURNS SETOF patients LANGUAGE sql "
        "AS $$ SELECT * FROM patients WHERE tenant_id = p_tenant $$;\n"
        # a parameter named like the column: the column wins, `tenant_id = tenant_id` is true
        "CREATE FUNCTION patients_shadowed(tenant_id bigint) RETURNS SETOF patients "
        "LANGUAGE sql AS $$ SELECT * FROM patients WHERE tenant_id = tenant_id $$;\n"
        "CREATE FUNCTION my_patients() RETURNS TABLE (id bigint, tenant_id bigint) "
        "LANGUAGE sql AS $body$ SELECT id, tenant_id FROM patients "
        "WHERE tenant_id = current_setting('app.tenant_id')::bigint $body$;\n"
        "CREATE FUNCTION patient_count() RETURNS bigint LANGUAGE sql "
        "AS $$ SELECT count(*) FROM patients $$;\n"
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
        "CREATE FUNCTION dropped() RETURNS SETOF patients LANGUAGE sql "
        "AS $$ SELECT * FROM patients $$;\n"
        "DROP FUNCTION IF EXISTS dropped();\n"
        # a parameter named like any column of the schema is the column in a SQL function
        "CREATE FUNCTION patients_named(first_name bigint) RETURNS SETOF patients "
        "LANGUAGE sql AS $$ SELECT * FROM patients WHERE tenant_id = first_name $$;\n"
        # PL/pgSQL: every query of the body counts (RETURN QUERY, PERFORM, assignments, …)
        "CREATE FUNCTION pl_all() RETURNS SETOF patients LANGUAGE plpgsql AS $$ BEGIN "
        "RETURN QUERY SELECT * FROM patients; END $$;\n"
        "CREATE FUNCTION pl_of(p_tenant bigint) RETURNS SETOF patients LANGUAGE plpgsql AS $$ "
        "DECLARE n bigint; BEGIN n := (SELECT count(*) FROM patients WHERE tenant_id = p_tenant); "
        "RETURN QUERY SELECT * FROM patients WHERE tenant_id = p_tenant; END $$;\n"
        "CREATE FUNCTION pl_count(p_tenant bigint) RETURNS bigint LANGUAGE plpgsql AS $$ "
        "DECLARE n bigint; BEGIN n := (SELECT count(*) FROM patients); RETURN n; END $$;\n"
        "CREATE FUNCTION pl_dynamic() RETURNS SETOF patients LANGUAGE plpgsql AS $$ BEGIN "
        "RETURN QUERY EXECUTE 'SELECT * FROM ' || 'patients'; END $$;\n"
        # a variable set once from the tenant expression pins; one written again does not
        "CREATE FUNCTION pl_mine() RETURNS SETOF patients LANGUAGE plpgsql AS $$ DECLARE "
        "t bigint := current_setting('app.tenant_id')::bigint; BEGIN "
        "RETURN QUERY SELECT * FROM patients WHERE tenant_id = t; END $$;\n"
        "CREATE FUNCTION pl_rewritten(p bigint) RETURNS SETOF patients LANGUAGE plpgsql AS $$ "
        "DECLARE t bigint := p; BEGIN SELECT 5 INTO t; "
        "RETURN QUERY SELECT * FROM patients WHERE tenant_id = t; END $$;\n"
        "CREATE FUNCTION pl_assigned(p bigint) RETURNS SETOF patients LANGUAGE plpgsql AS $$ "
        "DECLARE t bigint := p; BEGIN t := t + 1; "
        "RETURN QUERY SELECT * FROM patients WHERE tenant_id = t; END $$;\n"
    )
    queries = (
        "SELECT * FROM all_patients();\n"
        "SELECT * FROM all_patients() f WHERE f.tenant_id = $1;\n"
        "SELECT * FROM patients_of($1);\n"
        "SELECT * FROM patients_shadowed($1);\n"
        "SELECT * FROM my_patients();\n"
        "SELECT patient_count();\n"
        "SELECT * FROM dropped();\n"
        "SELECT * FROM patients_named($1);\n"
        "SELECT * FROM pl_all();\n"
        "SELECT * FROM pl_of($1);\n"
        "SELECT pl_count($1);\n"
        "SELECT * FROM pl_dynamic() d WHERE d.tenant_id = $1;\n"
        "SELECT touch();\n"
        "SELECT * FROM pl_mine();\n"
        "SELECT * FROM pl_rewritten($1);\n"
        "SELECT * FROM pl_assigned($1);\n"
    )
    findings = check_against_patches(workdir, capsys, {"0001_base.sql": patches}, queries)
    assert [(f["line"], f["rule"]) for f in findings] == [
        (1, "TG001"),
        (4, "TG001"),
        (6, "TG006"),
        (8, "TG001"),
        (9, "TG001"),
        (11, "TG006"),
        (12, "TG001"),  # dynamic SQL: whether its tenant_id is its rows' own cannot be shown
        (15, "TG001"),
        (16, "TG001"),
    ]
    assert "patient_count" in findings[2]["message"]
    assert findings[2]["column"] == len("SELECT ") + 1  # at the call


def test_ddl_in_app_code_but_not_in_patches(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        workdir / "patches" / "0002_x.sql",
        "ALTER TABLE patients ADD COLUMN IF NOT EXISTS notes text;",
    )
    write(workdir / "app.sql", "ALTER TABLE patients ADD COLUMN notes text;")
    code, out, _ = run(
        capsys, "check", "--format", "json", "--tenant-tables", "patients", "app.sql", "patches"
    )
    assert code == 1
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["TG007"]


def test_github_format(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir / "leak.sql", "SELECT * FROM patients;")
    code, out, _ = run(capsys, "check", *ISOLATED, "--format", "github", "leak.sql")
    assert code == 1
    assert out.startswith(
        "::error file=leak.sql,line=1,col=15,endLine=1,endColumn=23,title=TG001 unpinned-tenant-reference::"
    )


def test_rule_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rule", "TG003")
    assert code == 0 and out.startswith("TG003 upsert-conflict-target-without-tenant")
    assert "## Use instead" in out
    code, out, _ = run(capsys, "rule", "--all")
    assert code == 0 and len(out.splitlines()) == len(ALL_RULES)
    code, _, err = run(capsys, "rule", "TG999")
    assert code == 2 and "unknown rule" in err


def test_explain_shows_pins_and_chains(capsys: pytest.CaptureFixture[str]) -> None:
    sql = (
        "SELECT * FROM patients p JOIN appointments a ON a.tenant_id = p.tenant_id "
        "WHERE p.tenant_id = $1"
    )
    code, out, _ = run(capsys, "explain", *ISOLATED, sql)
    assert code == 0
    assert "patients AS p in the SELECT statement (read): PINNED" in out
    assert (
        "by `a.tenant_id = p.tenant_id` (ON of JOIN a of the SELECT statement) -> `p.tenant_id = $1`"
        in out
    )
    assert "Verdict: proven" in out


def test_explain_says_why_not(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "explain", *ISOLATED, "SELECT * FROM patients WHERE tenant_id = $1 OR 1 = 1"
    )
    assert code == 1
    assert (
        "NOT PINNED" in out and "an OR pins only when every branch pins it to the same value" in out
    )


def test_explain_without_sql_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "explain", *ISOLATED)
    assert code == 2 and "give the SQL" in err


def test_explain_of_a_python_file_says_to_check_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Read as SQL, Python source was "NOT PROVEN — does not parse" (exit 1), about nothing it
    holds: a usage error that says what to run instead."""
    source = tmp_path / "app.py"
    source.write_text('async def f(c):\n    return await c.fetch("SELECT * FROM patients")\n')
    code, out, err = run(capsys, "explain", "-f", str(source), *ISOLATED)
    assert (code, out) == (2, "")
    assert "is Python source" in err and f"tenantguard check {source}" in err


def test_readme_example_reports_the_deliberate_leaks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = run(capsys, "check", "--format", "json", "examples/")
    assert code == 1
    found = {(Path(f["path"]).name, f["line"], f["rule"]) for f in json.loads(out)["findings"]}
    assert found == {
        ("app.py", 28, "TG001"),
        ("app.py", 53, "TG002"),
        ("app.py", 62, "TG009"),
        ("reports.sql", 18, "TG001"),
        ("reports.sql", 25, "TG001"),
        ("reports.sql", 38, "TG001"),
        ("reports.sql", 46, "TG003"),
    }


def test_repo_schema_and_patches_are_clean(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = run(capsys, "check", "--format", "json", "db")
    assert code == 0, out


def test_patches_lint_defaults_to_the_patch_dir_and_reports_patch_rules(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "pyproject.toml", '[tool.tenantguard]\nglobal_tables = ["tenants"]\n')
    write(
        workdir / "patches" / "0001_a.sql", "CREATE TABLE notes (id int);\nSELECT * FROM notes;\n"
    )
    code, out, _ = run(capsys, "patches", "lint", "--format", "json")
    assert code == 1
    rules = sorted(f["rule"] for f in json.loads(out)["findings"])
    assert rules == ["TG101", "TG105"]  # patch rules only: the unpinned SELECT is maintenance
    code, out, err = run(capsys, "check", "--format", "json", ".")
    assert code == 2 and "no tenant tables" in err  # `check` needs tenant tables
    assert error_document_only("json", out), out  # an error, no report (h32k)
    code, out, _ = run(capsys, "check", "--tenant-tables", "visits", "--format", "json", ".")
    assert sorted(f["rule"] for f in json.loads(out)["findings"]) == ["TG101", "TG105"]
    code, _, err = run(capsys, "patches")
    assert code == 2 and "needs a verb" in err


def test_python_that_does_not_parse_names_the_python_that_read_it(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Syntax newer than the running Python (PEP 701's f-strings on 3.11) is not the user's
    syntax error: the finding says which Python read the file and what to do."""
    write(workdir / "q.py", "def f(:\n    pass\n")
    code, out, _ = run(capsys, "check", *ISOLATED, "--output-format", "full", "q.py")
    assert code == 1
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"q.py:1:7: TG006 cannot parse Python as Python {version} reads it" in out
    assert "a newer Python's syntax needs tenantguard installed on that Python" in out


def test_a_suppression_of_no_rule_says_so(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in a suppression's code, or a rule written by its name, suppresses nothing: the
    warning says which (it read like a finding that went away)."""
    write(
        workdir / "q.sql",
        "SELECT * FROM patients; -- tenantguard: ignore[TG999] -- typo\n"
        "SELECT * FROM patients; -- tenantguard: ignore[unpinned-tenant-reference] -- name\n"
        "SELECT * FROM patients WHERE tenant_id = $1; -- tenantguard: ignore[TG001] -- gone\n",
    )
    code, out, _ = run(capsys, "check", *ISOLATED, "--no-cache", "--format", "json", "q.sql")
    assert code == 1
    unused = {
        f["line"]: (f["message"], f["help"])
        for f in json.loads(out)["findings"]
        if f["rule"] == "TG011"
    }
    assert (
        unused[1][0]
        == "suppression names TG999, which is no tenantguard rule: it suppresses nothing"
    )
    assert "tenantguard rule --all" in unused[1][1]
    assert unused[2][0] == (
        "suppression names a rule by its name (unpinned-tenant-reference is rule TG001): it "
        "suppresses nothing"
    )
    assert unused[3][0] == "suppression of TG001 suppresses nothing"
