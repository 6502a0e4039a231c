"""Configuration fails closed: where it is found, what is an error, what "proven" means."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.config import find_config, load_settings
from tenantguard.engine.policy import Policy, table_name
from tenantguard.errors import ConfigError
from tests.conftest import error_document_only

FORMATS = ("text", "json", "sarif", "github")
LEAK = "SELECT * FROM patients WHERE dni = $1;\n"
PINNED = "SELECT * FROM patients WHERE tenant_id = $1;\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no configuration above it, apart from the project."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    return outside


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write(root / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    write(root / "app" / "leak.sql", LEAK)
    return root


# no tenant tables: exit 2 in every format, for check and explain


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_tenant_tables_is_exit_2_in_every_format(
    fmt: str, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(elsewhere / "q.sql", LEAK)
    code, out, err = run(capsys, "check", "--format", fmt, "q.sql")
    assert code == 2
    # nothing on stdout that a tool could read as "no findings": an error document (h32k)
    assert error_document_only(fmt, out), out
    assert err.count("no tenant tables") == 1
    assert "--tenant-tables" in err and "no configuration file found" in err


def test_explain_without_tenant_tables_is_exit_2(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "explain", "SELECT * FROM patients")
    assert (code, out) == (2, "")
    assert "no tenant tables" in err


def test_isolated_without_tenant_tables_says_config_was_ignored(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(elsewhere / "q.sql", LEAK)
    code, _, err = run(capsys, "check", "--isolated", "q.sql")
    assert code == 2 and "--isolated" in err


def test_no_infer_without_tables_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "patches" / "0001.sql", "CREATE TABLE patients (id int, tenant_id int);")
    write(tmp_path / "q.sql", LEAK)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "check", "q.sql")[0] == 1  # inferred from patches/
    code, _, err = run(capsys, "check", "--no-infer", "q.sql")
    assert code == 2 and "not read" in err


def test_patches_lint_needs_no_tenant_table(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(elsewhere / "patches" / "0001_a.sql", "CREATE TABLE IF NOT EXISTS notes (id int);\n")
    code, _, err = run(capsys, "patches", "lint", "--format", "json")
    assert "no tenant tables" not in err
    assert code == 1  # TG105: notes has no tenant column


# schema paths


def test_configured_schema_path_that_does_not_exist_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.tenantguard]\ntenant_tables = ["patients"]\nschema_paths = ["db/migrations"]\n',
    )
    write(tmp_path / "q.sql", PINNED)
    monkeypatch.chdir(tmp_path)
    for fmt in FORMATS:
        code, out, err = run(capsys, "check", "--format", fmt, "q.sql")
        assert code == 2 and error_document_only(fmt, out), out
        assert "schema path 'db/migrations' does not exist" in err
        assert "pyproject.toml" in err
    code, _, err = run(capsys, "explain", "SELECT 1")
    assert code == 2 and "db/migrations" in err


def test_absent_default_schema_paths_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    write(tmp_path / "q.sql", PINNED)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "check", "q.sql")
    assert code == 0, err
    assert "does not exist" not in err


def test_configured_tenant_table_that_no_schema_source_creates_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.tenantguard]\ntenant_tables = ["patients", "patient"]\n',
    )
    write(tmp_path / "patches" / "0001.sql", "CREATE TABLE patients (id int, tenant_id int);")
    write(tmp_path / "q.sql", PINNED)
    monkeypatch.chdir(tmp_path)
    for fmt in FORMATS:
        code, _, err = run(capsys, "check", "--format", fmt, "q.sql")
        assert code == 0
        assert err.count("warning") == 1
        assert "tenant table 'patient'" in err and "not created by any schema source" in err


def test_a_global_table_holding_a_not_null_tenant_column_or_no_table_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """helper-91: `global_tables = ["users"]` where the schema gives users a NOT NULL tenant
    column exempted every statement on it, silently; a misspelt global table said nothing. A
    nullable tenant column may mark shared rows (no warning)."""
    write(
        tmp_path / "pyproject.toml",
        '[tool.tenantguard]\nglobal_tables = ["users", "rates", "countrys"]\n',
    )
    write(
        tmp_path / "patches" / "0001.sql",
        "CREATE TABLE patients (id int, tenant_id int NOT NULL);\n"
        "CREATE TABLE users (id int, tenant_id int NOT NULL, email text);\n"
        "CREATE TABLE rates (id int, tenant_id int, code text);\n"
        "CREATE TABLE countries (id int, name text);\n",
    )
    write(tmp_path / "q.sql", "SELECT email FROM users;\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "check", "q.sql")
    assert code == 0  # still exempted: a warning, not a verdict
    assert "global table 'users'" in err and "NOT NULL" in err
    assert "global table 'countrys'" in err and "not created by any schema source" in err
    assert "'rates'" not in err


def test_schema_qualified_names_in_the_configuration_name_their_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`billing.invoices` in tenant_tables is the table the schema creates as billing.invoices
    (it matched nothing: its unpinned reads passed as proven), and `billing.rates` in
    global_tables keeps that table out of the inferred ones."""
    write(
        tmp_path / "pyproject.toml",
        '[tool.tenantguard]\ntenant_tables = ["billing.invoices"]\n'
        'global_tables = ["billing.rates"]\n',
    )
    write(
        tmp_path / "patches" / "0001.sql",
        "CREATE TABLE billing.invoices (id int, number text);\n"
        "CREATE TABLE billing.rates (id int, tenant_id int, code text);\n",
    )
    write(
        tmp_path / "q.sql",
        "SELECT * FROM billing.invoices WHERE number = $1;\n"
        "SELECT * FROM billing.rates WHERE code = $1;\n",
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", "--format", "json", "q.sql")
    assert "not created by any schema source" not in err
    assert "tenant table 'invoices'" in err and "has no column tenant_id" in err  # round 27
    assert code == 1
    found = [(f["line"], f["rule"]) for f in json.loads(out)["findings"]]
    assert found == [(1, "TG001")]


def test_no_warning_about_tables_when_there_are_no_schema_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    write(tmp_path / "q.sql", PINNED)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "check", "q.sql")[2] == ""


# where the configuration is found


def test_config_is_found_from_the_checked_path_not_only_the_working_directory(
    project: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "check", "--format", "json", str(project / "app"))
    assert code == 1
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["TG001"]
    code, out, _ = run(capsys, "check", "--format", "json", str(project / "app" / "leak.sql"))
    assert code == 1


def test_explain_file_uses_the_files_configuration(
    project: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "explain", "-f", str(project / "app" / "leak.sql"))
    assert code == 1
    assert "patients in the SELECT statement (read): NOT PINNED" in out


def test_each_path_gets_its_own_configuration(
    tmp_path: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    write(one / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    write(
        two / "tenantguard.toml",
        'tenant_tables = ["patients"]\ntenant_column = "clinic_id"\n',
    )
    write(one / "q.sql", "SELECT * FROM patients WHERE clinic_id = $1;")
    write(two / "q.sql", "SELECT * FROM patients WHERE clinic_id = $1;")
    code, out, _ = run(capsys, "check", "--format", "json", str(one), str(two))
    paths = [f["path"] for f in json.loads(out)["findings"]]
    assert code == 1
    assert paths == [str(one / "q.sql")]  # two/ pins by clinic_id, its own tenant column


def test_a_path_without_configuration_falls_back_to_the_working_directory(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    loose = write(tmp_path / "loose" / "q.sql", LEAK)
    monkeypatch.chdir(project)
    code, out, _ = run(capsys, "check", "--format", "json", str(loose))
    assert code == 1
    assert json.loads(out)["findings"][0]["rule"] == "TG001"


def test_tenantguard_toml_wins_over_pyproject_in_the_same_directory(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.tenantguard]\ntenant_column = "a"\n')
    write(tmp_path / "tenantguard.toml", 'tenant_column = "b"\n')
    assert find_config(tmp_path / "x.sql") == tmp_path / "tenantguard.toml"
    assert load_settings(tmp_path).tenant_column == "b"


def test_tenantguard_toml_unknown_key_names_the_key(tmp_path: Path) -> None:
    write(tmp_path / "tenantguard.toml", 'tenant_tabels = ["x"]\n')
    with pytest.raises(ConfigError, match="unknown key 'tenant_tabels'"):
        load_settings(tmp_path)


def test_pyproject_without_tenantguard_table_is_passed_over(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.tenantguard]\ntenant_column = "outer"\n')
    write(tmp_path / "inner" / "pyproject.toml", '[project]\nname = "x"\n')
    assert load_settings(tmp_path / "inner").tenant_column == "outer"


def test_sql_functions_key(tmp_path: Path) -> None:
    write(tmp_path / "tenantguard.toml", 'sql_functions = ["execute_query", "db.fetch_page"]\n')
    assert load_settings(tmp_path).sql_functions == ("execute_query", "db.fetch_page")
    write(tmp_path / "tenantguard.toml", 'sql_functions = "execute_query"\n')
    with pytest.raises(ConfigError, match="sql_functions must be a list of strings"):
        load_settings(tmp_path)


# what the summary calls "proven"


def test_summary_counts_findings_hidden_by_the_baseline(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    baseline = project / "baseline.json"
    assert run(capsys, "check", "--write-baseline", str(baseline), "app")[0] == 0
    code, out, _ = run(capsys, "check", "--baseline", str(baseline), "app")
    assert code == 0
    assert "proven" not in out
    assert out.strip() == (
        "No new findings: 1 statement checked in 1 file. 1 finding hidden by the baseline."
    )
    code, out, _ = run(capsys, "check", "--baseline", str(baseline), "--format", "json", "app")
    assert json.loads(out)["summary"]["hidden_by_baseline"] == 1


def test_schema_statements_are_not_proven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    write(
        tmp_path / "patches" / "0001_a.sql",
        "CREATE TABLE IF NOT EXISTS patients (id int, tenant_id int NOT NULL);\n"
        "CREATE INDEX IF NOT EXISTS p_t ON patients (tenant_id);\n",
    )
    write(tmp_path / "app" / "q.sql", PINNED)
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "check", ".")
    assert code == 0
    assert out.strip() == (
        "No findings: 1 statement in 2 files proven; 2 schema statements read, not proven."
    )
    code, out, _ = run(capsys, "check", "patches")
    assert out.strip() == (
        "No findings: no application SQL statement in 1 file; 2 schema statements read, not proven."
    )
    code, out, _ = run(capsys, "check", "--format", "json", ".")
    assert json.loads(out)["summary"]["schema_statements"] == 2


def test_no_statements_is_not_proven(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project / "empty.py", "x = 1\n")
    monkeypatch.chdir(project)
    code, out, _ = run(capsys, "check", "empty.py")
    assert code == 0
    assert out.strip() == "No findings: no application SQL statement in 1 file."


NOTHING_ON_TENANT_TABLES = (
    ", none of them on a tenant table (if some should be, check tenant_tables and tenant_column)."
)


@pytest.mark.parametrize("extra", [[], ["--no-cache"], ["--jobs", "2", "--no-cache"]])
def test_a_run_that_touches_no_tenant_table_does_not_say_proven(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
) -> None:
    """A tenant table misnamed in the configuration (no schema to compare with): every
    statement passes, and the summary says that none of them was on a tenant table."""
    write(tmp_path / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["patient"]\n')
    write(tmp_path / "app" / "q.sql", "SELECT * FROM patients;\nSELECT * FROM visits;\n")
    write(
        tmp_path / "app" / "repo.py",
        "async def f(conn):\n    return await conn.fetch('SELECT * FROM patients')\n",
    )
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the second run reads the cache (unless --no-cache)
        code, out, _ = run(capsys, "check", *extra, "app")
        assert code == 0
        assert out.strip() == "No findings: 3 statements in 2 files" + NOTHING_ON_TENANT_TABLES
        code, out, _ = run(capsys, "check", *extra, "--format", "json", "app")
        assert json.loads(out)["summary"]["tenant_statements"] == 0
    # named right, the same tree is proven where it is pinned and reported where it is not
    write(tmp_path / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["visits"]\n')
    write(
        tmp_path / "app" / "q.sql",
        "SELECT * FROM patients;\n" + PINNED.replace("patients", "visits"),
    )
    code, out, _ = run(capsys, "check", *extra, "app")
    assert code == 0
    assert out.strip() == "No findings: 3 statements in 2 files proven."
    code, out, _ = run(capsys, "check", *extra, "--format", "json", "app")
    assert json.loads(out)["summary"]["tenant_statements"] == 1


def test_explain_of_unparseable_text_is_not_proven(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    for text in ("SELEC * FRM x", "SELECT * FROM patients WHERE", "query { patients { id } }"):
        code, out, _ = run(capsys, "explain", text)
        assert code == 1, text
        assert "NOT PROVEN" in out and "proven —" not in out
    code, out, _ = run(capsys, "explain", "SELECT 1")
    assert code == 0
    assert "nothing to prove" in out and "proven —" not in out


def test_settings_root_is_the_configuration_directory(project: Path) -> None:
    settings = load_settings(project / "app")
    assert settings.root == project.resolve()
    assert settings.configured == frozenset({"tenant_tables"})
    assert os.fspath(settings.config_file).endswith("pyproject.toml")


# quoted mixed-case names (Prisma, Sequelize): the case is kept from the schema to the proof


def test_mixed_case_tables_and_columns_inferred_from_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "tenantguard.toml", "tenant_column = '\"userId\"'\n")
    write(
        tmp_path / "patches" / "0001.sql",
        'CREATE TABLE "Thread" (id int PRIMARY KEY, "userId" text NOT NULL);\n'
        'CREATE TABLE thread_archive (id int, "userId" text);\n'
        'CREATE VIEW "OpenThread" AS SELECT * FROM "Thread";\n'
        'CREATE FUNCTION all_threads() RETURNS SETOF "Thread" LANGUAGE plpgsql AS $$ BEGIN '
        "RETURN QUERY EXECUTE 'SELECT * FROM \"Thread\"'; END $$;\n",
    )
    write(
        tmp_path / "q.sql",
        'SELECT * FROM "Thread" t WHERE t."userId" = $1;\n'
        'SELECT * FROM "Thread";\n'
        'SELECT * FROM "OpenThread";\n'
        "SELECT * FROM thread;\n"
        "SELECT * FROM all_threads();\n",
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", "--format", "json", "q.sql")
    assert code == 1, err
    found = [(f["line"], f["rule"]) for f in json.loads(out)["findings"]]
    # `thread` is another table: not a tenant one; the function reads "Thread" in dynamic SQL
    assert found == [(2, "TG001"), (3, "TG001"), (5, "TG001")]
    helps = [f["help"] for f in json.loads(out)["findings"]]
    assert helps[0] == 'add `"Thread"."userId" = $n` to the WHERE of the SELECT statement'


def test_policy_replace_keeps_the_case_of_names() -> None:
    from tenantguard.engine.policy import Policy

    policy = Policy(
        '"userId"',
        ['"Thread"', "patients"],
        global_tables=['"Tenant"'],
        table_columns={'"Thread"': ['"userId"', "id"]},
        constraint_columns={'"Thread_pkey"': ["id"]},
        tenant_root='"Tenant"',
        tenant_root_key='"tenantKey"',
    )
    copy = policy.replace(allow_multi_tenant=True)
    assert copy.tenant_column == "userId"
    assert copy.tenant_tables == {"Thread", "patients"}
    assert copy.global_tables == {"Tenant"}
    assert dict(copy.table_columns) == {"Thread": {"userId", "id"}}
    assert dict(copy.constraint_columns) == {"Thread_pkey": {"id"}}
    assert (copy.tenant_root, copy.tenant_root_key) == ("Tenant", "tenantKey")


# a newcomer's mistakes in the configuration itself


@pytest.mark.parametrize("fmt", FORMATS)
def test_pyproject_that_is_not_valid_toml_is_exit_2_not_passed_over(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A duplicated key makes the file invalid TOML: skipping it would run without the
    project's configuration (here: with an outer one that names no leak)."""
    write(tmp_path / "pyproject.toml", '[tool.tenantguard]\ntenant_tables = ["visits"]\n')
    app = tmp_path / "app"
    write(
        app / "pyproject.toml",
        '[tool.tenantguard]\ntenant_tables = ["patients"]\ntenant_tables = ["patients"]\n',
    )
    write(app / "q.sql", LEAK)
    monkeypatch.chdir(app)
    code, out, err = run(capsys, "check", "--format", fmt, "q.sql")
    assert code == 2 and error_document_only(fmt, out), err
    assert f"{app / 'pyproject.toml'} is not valid TOML" in err
    assert "line 3" in err  # where the duplicate is


def test_broken_pyproject_of_another_tool_is_still_passed_over(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.tenantguard]\ntenant_column = "outer"\n')
    write(tmp_path / "inner" / "pyproject.toml", "[project\nname = 'x'\n")
    assert load_settings(tmp_path / "inner").tenant_column == "outer"


def test_unknown_key_suggests_the_key_meant(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.tenantguard]\ntenant_colum = "account_id"\n')
    with pytest.raises(
        ConfigError, match=r"unknown key 'tenant_colum'.*did you mean 'tenant_column'"
    ):
        load_settings(tmp_path)


def test_configured_tenant_root_that_no_schema_source_creates_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = (
        "CREATE TABLE accounts (id bigint PRIMARY KEY);\n"
        "CREATE TABLE users (id int, account_id bigint REFERENCES accounts (id));\n"
    )
    write(tmp_path / "db" / "schema.sql", schema)
    write(tmp_path / "q.sql", "SELECT * FROM users WHERE account_id = $1;\n")
    monkeypatch.chdir(tmp_path)
    for root, warned in (("acounts", True), ("accounts", False), ("accounts.id", False)):
        write(
            tmp_path / "pyproject.toml",
            '[tool.tenantguard]\ntenant_column = "account_id"\nschema_paths = ["db"]\n'
            f'tenant_root = "{root}"\n',
        )
        code, _, err = run(capsys, "check", "q.sql")
        assert code == 0
        assert ("tenant root" in err) is warned, err
        if warned:
            assert "tenant root 'acounts'" in err and "not created by any schema source" in err


def test_no_configuration_points_to_init(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(elsewhere / "q.sql", LEAK)
    code, _, err = run(capsys, "check", "q.sql")
    assert code == 2 and "tenantguard init" in err


# the rules whose findings decide whether a statement is proven (not TG010/TG011: suppressions)
PROOF_RULES = [f"TG00{n}" for n in range(1, 10)] + ["TG012", "TG013"]


@pytest.mark.parametrize(
    ("flags", "config", "left_out"),
    [
        (["--ignore", "TG001"], "", "TG001"),
        (["--ignore", "TG0"], "", ", ".join(PROOF_RULES)),
        (["--select", "TG002"], "", ", ".join(c for c in PROOF_RULES if c != "TG002")),
        ([], 'per_file_ignores = {"app/**" = ["TG001"]}\n', "TG001"),
        ([], 'ignore = ["unpinned-tenant-reference"]\n', "TG001"),
    ],
)
def test_a_run_with_proof_rules_left_out_does_not_say_proven(
    flags: list[str],
    config: str,
    left_out: str,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--ignore TG001` hides the leak: the statement was not proven, and the summary says so."""
    write(project / "pyproject.toml", f'[tool.tenantguard]\ntenant_tables = ["patients"]\n{config}')
    monkeypatch.chdir(project)
    code, out, _ = run(capsys, "check", "--no-cache", *flags, "app")
    assert code == 0
    assert "file proven" not in out
    assert out.strip().startswith("No findings: 1 statement in 1 file, not proven:")
    assert f"the rule selection leaves out {left_out}" in out
    code, out, _ = run(capsys, "check", "--no-cache", *flags, "--format", "json", "app")
    assert json.loads(out)["summary"]["rules_left_out"] == left_out.split(", ")


def test_leaving_out_only_the_suppression_rules_still_says_proven(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project / "app" / "leak.sql", PINNED)
    monkeypatch.chdir(project)
    code, out, _ = run(capsys, "check", "--ignore", "TG010,TG011", "app")
    assert (code, out.strip()) == (0, "No findings: 1 statement in 1 file proven.")
    code, out, _ = run(capsys, "check", "--format", "json", "app")
    assert json.loads(out)["summary"]["rules_left_out"] == []


@pytest.mark.parametrize("where", ["app", "..", "."])
def test_a_baseline_holds_from_any_working_directory(
    where: str, project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Findings are keyed by their path from the baseline file's directory, not from the
    working directory: CI or a developer in a subdirectory sees the same accepted findings."""
    monkeypatch.chdir(project)
    assert run(capsys, "check", "--write-baseline", ".tenantguard-baseline.json")[0] == 0
    recorded = json.loads((project / ".tenantguard-baseline.json").read_text(encoding="utf-8"))
    assert [e["path"] for e in recorded["findings"]] == ["app/leak.sql"]
    monkeypatch.chdir(project / where)
    baseline = os.path.relpath(project / ".tenantguard-baseline.json")
    target = os.path.relpath(project)
    code, out, _ = run(capsys, "check", "--baseline", baseline, target)
    assert code == 0, out
    assert "1 finding hidden by the baseline" in out
    # a second copy of the leak is new, wherever the run starts
    write(project / "app" / "more.sql", LEAK)
    code, out, _ = run(
        capsys, "check", "--baseline", baseline, target, "--output-format", "concise"
    )
    assert code == 1
    assert os.path.relpath(project / "app" / "more.sql") + ":1:15: TG001" in out


@pytest.mark.parametrize(
    ("configured", "table"),
    [
        ("billing.invoices", "invoices"),
        ("Billing.Invoices", "invoices"),
        ('crm."Contacts"', "Contacts"),
        ('"My.Schema"."Line.Items"', "Line.Items"),
        ('"a.b"', "a.b"),
        ('"say ""hi"".x"', 'say "hi".x'),
        (" leads ", "leads"),
    ],
)
def test_a_configured_table_name_is_its_table_without_the_schema(
    configured: str, table: str
) -> None:
    assert table_name(configured) == table
    assert Policy("tenant_id", [configured]).tenant_tables == {table}


def test_tenantguard_toml_with_pyprojects_header_says_how_it_is_written(tmp_path: Path) -> None:
    """A first-time user copied the pyproject.toml table into tenantguard.toml (round 12)."""
    write(tmp_path / "tenantguard.toml", '[tool.tenantguard]\ntenant_column = "org_id"\n')
    with pytest.raises(ConfigError, match=r"without a \[tool.tenantguard\] header"):
        load_settings(tmp_path)


REGISTRY_SCHEMA = """
CREATE TABLE orgs (id uuid PRIMARY KEY);
CREATE TABLE tasks (id int, org_id uuid NOT NULL REFERENCES orgs (id));
CREATE TABLE invoices (id int, org_id uuid NOT NULL REFERENCES orgs (id));
ALTER TABLE invoices RENAME COLUMN org_id TO organization_id;
CREATE TABLE regions (id int, parent uuid REFERENCES regions_root (id));
"""


@pytest.mark.parametrize(
    ("extra", "warned"),
    [("", True), ('global_tables = ["invoices"]\n', False)],
    ids=["warned", "named global"],
)
def test_a_table_referencing_the_registry_without_the_tenant_column_is_a_warning(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: str,
    warned: bool,
) -> None:
    """A first-time user renamed a table's tenant column (round 12): the table left every
    check without a word. Its foreign key to the registry under another name is a warning, in
    every format, until it is named a global table."""
    write(
        tmp_path / "pyproject.toml",
        f'[tool.tenantguard]\ntenant_column = "org_id"\nschema_paths = ["schema"]\n{extra}',
    )
    write(tmp_path / "schema" / "0001.sql", REGISTRY_SCHEMA)
    write(tmp_path / "q.sql", "SELECT id FROM tasks WHERE org_id = $1;\n")
    monkeypatch.chdir(tmp_path)
    for fmt in FORMATS:
        code, _, err = run(capsys, "check", "--format", fmt, "q.sql")
        assert code == 0
        said = "'invoices' references the tenant registry 'orgs' through organization_id"
        assert (said in err) is warned, err
        assert "regions" not in err and "tasks" not in err


@pytest.mark.parametrize("section", ["tenant-guard", "tenant_guard", "TenantGuard", "tenantgaurd"])
def test_a_misspelt_section_is_named_in_the_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    section: str,
) -> None:
    """`[tool.tenant-guard]` is not read: the run fails closed, and says which table it saw
    (round 19, a first-time user: the message said only that no configuration was found)."""
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.{section}]\ntenant_column = "tenant_id"\ntenant_tables = ["notes"]\n'
    )
    (tmp_path / "a.sql").write_text("SELECT * FROM notes;\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--no-cache", "a.sql"]) == 2
    err = capsys.readouterr().err
    assert f"has [tool.{section}]: did you mean [tool.tenantguard]?" in err
