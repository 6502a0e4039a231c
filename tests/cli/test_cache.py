"""The check cache: same findings as a cold run, invalidated by everything findings depend on,
and a run with every file cached does not import sqlglot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tenantguard.cli import main

CONFIG = '[tool.tenantguard]\nschema_paths = ["schema"]\nglobal_tables = ["tenants"]\n'
SCHEMA = "CREATE TABLE patients (id int, tenant_id int);\nCREATE TABLE notes (id int, body text);\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "tables.sql").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "a.sql").write_text("SELECT * FROM patients;\n", encoding="utf-8")
    (tmp_path / "app" / "b.sql").write_text("SELECT * FROM notes;\n", encoding="utf-8")
    (tmp_path / "app" / "c.py").write_text(
        'async def f(c, t):\n    await c.fetch("SELECT * FROM patients WHERE tenant_id = $1", t)\n',
        encoding="utf-8",
    )
    return tmp_path


def findings(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, list[tuple[str, int, str]]]:
    code = main(["check", "--format", "json", *argv, "app"])
    data = json.loads(capsys.readouterr().out)
    return code, sorted((f["path"], f["line"], f["rule"]) for f in data["findings"])


def test_cached_run_reports_what_the_cold_run_did(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cold = findings(capsys)
    assert cold == (1, [("app/a.sql", 1, "TG001")])
    assert (project / ".tenantguard_cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert findings(capsys) == cold
    assert findings(capsys, "--no-cache") == cold


def test_an_edited_file_is_checked_again(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings(capsys)
    (project / "app" / "b.sql").write_text(
        "SELECT 1;\nSELECT * FROM patients WHERE dni = $1;\n", encoding="utf-8"
    )
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001"), ("app/b.sql", 2, "TG001")]


def test_a_schema_change_makes_a_cached_clean_file_a_finding(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """notes gains the tenant column: `SELECT * FROM notes` leaks now, though b.sql is unchanged."""
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001")]
    (project / "schema" / "tables.sql").write_text(
        SCHEMA + "ALTER TABLE notes ADD COLUMN tenant_id int;\n", encoding="utf-8"
    )
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001"), ("app/b.sql", 1, "TG001")]
    # a new schema file in the directory counts too
    (project / "schema" / "tables.sql").write_text(SCHEMA, encoding="utf-8")
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001")]
    (project / "schema" / "more.sql").write_text(
        "ALTER TABLE notes ADD COLUMN tenant_id int;\n", encoding="utf-8"
    )
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001"), ("app/b.sql", 1, "TG001")]


def test_configuration_flags_and_selection_are_part_of_the_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    findings(capsys)
    assert findings(capsys, "--tenant-tables", "notes")[1] == [
        ("app/a.sql", 1, "TG001"),
        ("app/b.sql", 1, "TG001"),
    ]
    assert findings(capsys, "--ignore", "TG001") == (0, [])
    (project / "pyproject.toml").write_text(
        CONFIG + 'tenant_tables = ["notes"]\n', encoding="utf-8"
    )
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001"), ("app/b.sql", 1, "TG001")]


def test_a_damaged_cache_is_ignored_and_rewritten(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cold = findings(capsys)
    results = [
        f
        for f in (project / ".tenantguard_cache").glob("*.json")
        if not f.name.startswith(("schema-", "policy-"))
    ]
    for file in results:
        file.write_text('{"format": 1, "files": {"app/a.sql": {"hash": 3}}', encoding="utf-8")
    assert findings(capsys) == cold
    for file in results:
        entry = json.loads(file.read_text())["files"]["app/a.sql"]
        entry["findings"] = "nonsense"
        file.write_text(json.dumps({"format": 1, "files": {"app/a.sql": entry}}))
    assert findings(capsys) == cold


def test_no_cache_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings(capsys, "--no-cache")
    assert not (project / ".tenantguard_cache").exists()


def test_a_fully_cached_run_does_not_import_sqlglot(project: Path) -> None:
    script = (
        "import sys\n"
        "from tenantguard.cli import main\n"
        "code = main(['check', '--format', 'json', 'app'])\n"
        "print('SQLGLOT' if 'sqlglot' in sys.modules else 'NO-SQLGLOT', code, file=sys.stderr)\n"
    )

    def run(seed: str = "1") -> tuple[str, str]:
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
            # another string hashing in each process: the key must not depend on a set's order
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": seed},
        )
        return done.stderr.strip().splitlines()[-1], done.stdout

    cold, cold_out = run("1")
    warm, warm_out = run("2")
    assert cold == "SQLGLOT 1"
    assert warm == "NO-SQLGLOT 1"
    assert json.loads(warm_out)["findings"] == json.loads(cold_out)["findings"]
    # a statement no run has seen is parsed (a.sql's, in b.sql, comes from the verdict store)
    (project / "app" / "b.sql").write_text("SELECT * FROM patients WHERE dni = 1;\n", "utf-8")
    assert run()[0] == "SQLGLOT 1"


def test_a_cached_run_says_what_the_policy_and_the_files_said(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unreadable schema statements (TG006 at their line), warnings and notes come back from the
    cache as a cold run gives them."""
    (project / "schema" / "tables.sql").write_text(
        SCHEMA + "CREATE TABLE broken (tenant_id int,, x);\n", encoding="utf-8"
    )
    (project / "pyproject.toml").write_text(
        CONFIG + 'tenant_tables = ["patiens"]\n', encoding="utf-8"
    )
    (project / "app" / "b.sql").write_text("SELECT 1;\n\\set x 1\n", encoding="utf-8")
    expected = [("app/a.sql", 1, "TG001"), ("schema/tables.sql", 3, "TG006")]

    outputs = []
    for _ in range(3):  # the second and third runs are served from the cache
        code = main(["check", "--format", "json", "app"])
        out, err = capsys.readouterr()
        found = sorted((f["path"], f["line"], f["rule"]) for f in json.loads(out)["findings"])
        outputs.append((code, found, err))
    assert outputs[0][:2] == (1, expected)
    assert "warning: tenant table 'patiens'" in outputs[0][2]
    assert "note: app/b.sql:2: psql meta-commands" in outputs[0][2]
    assert outputs[1] == outputs[2] == outputs[0]
    assert [p.name for p in (project / ".tenantguard_cache").glob("*.json")] != []
    assert findings(capsys, "--select", "TG001")[1] == [("app/a.sql", 1, "TG001")]


PYTHON_CASES = {
    "an imported constant": (
        {"app/q.py": 'SQL = "SELECT * FROM notes"\n'},
        # completed at the call (sent as it is, it is reported where it is written)
        "from q import SQL\n\n\nasync def f(c):\n    await c.fetch(SQL + ' LIMIT 5')\n",
        {"app/q.py": 'SQL = "SELECT * FROM patients"\n'},
        "TG001",
    ),
    "a module that appears where an import looks": (
        {},
        "from q import SQL\n\n\nasync def f(c):\n    await c.fetch(SQL)\n",
        {"app/q.py": 'SQL = "SELECT * FROM patients WHERE tenant_id = $1"\n'},
        None,  # the TG009 of an import from outside the checked tree goes away
    ),
    "a function of another module that becomes a wrapper": (
        {"app/db.py": 'async def run(conn, sql):\n    print(sql)\n    return await conn.fetch("SELECT 1")\n'},
        "from db import run\n\n\nasync def f(c, build):\n    await run(c, build())\n",
        {"app/db.py": "async def run(conn, sql):\n    return await conn.fetch(sql)\n"},
        "TG009",
    ),
    "a method defined in a new file": (
        {},
        "async def f(db, build):\n    await db.lookup(build())\n",
        {"app/repo.py": "class Repo:\n    async def lookup(self, sql):\n        return await self.conn.fetch(sql)\n"},
        "TG009",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", PYTHON_CASES)
def test_a_python_file_is_checked_again_when_what_it_read_changes(
    project: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """A Python file's findings depend on other files (imports, wrappers, methods by name):
    the cached entry of an unchanged file goes when they change."""
    before, text, after, rule = PYTHON_CASES[case]
    for name, content in before.items():
        (project / name).write_text(content, encoding="utf-8")
    (project / "app" / "c.py").write_text(text, encoding="utf-8")

    def c_rules() -> list[str]:
        return [r for path, _, r in findings(capsys)[1] if path == "app/c.py"]

    cold = c_rules()
    assert c_rules() == cold  # served from the cache
    for name, content in after.items():
        (project / name).write_text(content, encoding="utf-8")
    fresh = c_rules()
    assert fresh == [r for path, _, r in findings(capsys, "--no-cache")[1] if path == "app/c.py"]
    assert fresh != cold
    assert fresh == ([rule] if rule else [])


def test_without_tenant_tables_every_run_fails_closed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "schema" / "tables.sql").write_text("CREATE TABLE notes (id int);\n")
    for _ in range(2):
        assert main(["check", "app"]) == 2
        assert "no tenant tables" in capsys.readouterr().err


def test_a_python_migration_among_the_schema_sources_is_part_of_the_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The schema is read from Python migrations too: one that gives notes the tenant column
    makes the cached clean b.sql a finding."""
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001")]
    (project / "schema" / "0002_notes.py").write_text(
        'def upgrade(op):\n    op.execute("ALTER TABLE notes ADD COLUMN tenant_id int")\n',
        encoding="utf-8",
    )
    assert findings(capsys)[1] == [("app/a.sql", 1, "TG001"), ("app/b.sql", 1, "TG001")]
    assert findings(capsys, "--no-cache")[1] == [
        ("app/a.sql", 1, "TG001"),
        ("app/b.sql", 1, "TG001"),
    ]


# the schema cache: what the schema sources say, kept by their content

RUN = (
    "import sys\n"
    "from tenantguard.cli import main\n"
    "module, yes, no, *argv = sys.argv[1:]\n"
    "code = main(['check', '--format', 'json', *argv, 'app'])\n"
    "print(yes if module in sys.modules else no, code, file=sys.stderr)\n"
)


def run_watching(
    project: Path, module: str, yes: str, no: str, *argv: str
) -> tuple[str, list[tuple[str, int, str]], str]:
    """A check in a fresh process: `yes` or `no` as it imported `module` or not, with its
    exit code; the findings; what else it said on standard error."""
    done = subprocess.run(
        [sys.executable, "-c", RUN, module, yes, no, *argv],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    found = json.loads(done.stdout)["findings"]
    *said, last = done.stderr.strip().splitlines()
    return last, sorted((f["path"], f["line"], f["rule"]) for f in found), "\n".join(said)


def run_check(project: Path, *argv: str) -> tuple[str, list[tuple[str, int, str]]]:
    return run_watching(project, "pglast", "PGLAST", "NO-PGLAST", *argv)[:2]


def test_the_schema_is_read_again_only_when_its_files_change(project: Path) -> None:
    one = [("app/a.sql", 1, "TG001")]
    assert run_check(project) == ("PGLAST 1", one)
    # an edited application file is checked again; the schema comes from the cache
    (project / "app" / "b.sql").write_text("SELECT * FROM notes WHERE id = 2;\n", encoding="utf-8")
    assert run_check(project) == ("NO-PGLAST 1", one)
    (project / "schema" / "tables.sql").write_text(
        SCHEMA + "ALTER TABLE notes ADD COLUMN tenant_id int;\n", encoding="utf-8"
    )
    assert run_check(project) == ("PGLAST 1", [*one, ("app/b.sql", 1, "TG001")])
    (project / "app" / "a.sql").write_text("SELECT 1;\n", encoding="utf-8")
    assert run_check(project) == ("NO-PGLAST 1", [("app/b.sql", 1, "TG001")])
    # --no-cache reads the schema files
    assert run_check(project, "--no-cache") == ("PGLAST 1", [("app/b.sql", 1, "TG001")])


def test_a_damaged_or_foreign_schema_entry_is_not_used(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cold = findings(capsys)
    (stored,) = (project / ".tenantguard_cache").glob("schema-*.json")
    data = json.loads(stored.read_text())
    # the same schema, said to have no tenant table: used only under its own key
    forged = {**data["value"], "columns": {"patients": ["id"], "notes": ["id", "body"]}}
    for number, damaged in enumerate(
        (
            "{not json",
            json.dumps({"key": data["key"], "value": {"columns": 3}}),
            json.dumps({"key": "0" * 64, "value": forged}),
        )
    ):
        stored.write_text(damaged, encoding="utf-8")
        for policy in (project / ".tenantguard_cache").glob("policy-*.json"):
            policy.unlink()  # else the policy comes from its own cache: the schema's not read
        # b.sql has a new statement: the policy is built again, from the schema cache if it
        # served (a statement seen before would come from the verdict store, no policy built)
        (project / "app" / "b.sql").write_text(f"SELECT {number};\n", encoding="utf-8")
        assert findings(capsys) == cold, damaged
        assert json.loads(stored.read_text()) == data  # rewritten


def schema_sources() -> list[list[Path]]:
    repo = Path(__file__).resolve().parent.parent.parent
    fixtures = repo / "tests" / "fixtures"
    return [
        [repo / "patches", repo / "db" / "init"],
        [fixtures / "case_schema.sql"],
        *([p] for p in sorted((fixtures / "projects").iterdir()) if p.is_dir()),
    ]


def test_a_cached_schema_reads_back_equal(tmp_path: Path) -> None:
    from tenantguard.sources.schema.reading import SchemaInfo, read_schema

    (tmp_path / "more.sql").write_text(
        "CREATE TABLE accounts (id int PRIMARY KEY);\n"
        "CREATE TABLE visits (id int, tenant_id int REFERENCES accounts (id), note text,"
        " UNIQUE (tenant_id, id));\n"
        "ALTER TABLE visits ADD CONSTRAINT v_fk FOREIGN KEY (tenant_id) REFERENCES accounts (id)"
        " NOT VALID;\n"
        "CREATE VIEW v (a, b) AS SELECT id, tenant_id FROM visits;\n"
        "CREATE FUNCTION f(p int) RETURNS SETOF visits LANGUAGE plpgsql AS $$\n"
        "DECLARE t int := 7;\nBEGIN RETURN QUERY SELECT * FROM visits WHERE tenant_id = t;\n"
        "EXECUTE 'SELECT ' || p; END $$;\n"
        "CREATE TABLE broken (tenant_id int,, x);\n",
        encoding="utf-8",
    )
    seen: set[str] = set()
    for paths in [*schema_sources(), [tmp_path]]:
        schema = read_schema(paths)
        back = SchemaInfo.from_json(json.loads(json.dumps(schema.to_json())))
        assert back == schema, paths
        seen |= {name for name, value in vars(schema).items() if value}
        seen |= {"constants"} if any(f.constants for f in schema.functions.values()) else set()
    assert seen >= {
        "columns",
        "constraints",
        "unique_keys",
        "foreign_keys",
        "views",
        "functions",
        "problems",
        "files",
        "constants",
    }


def test_a_policy_built_from_the_cached_schema_is_the_same(tmp_path: Path) -> None:
    from tenantguard.config import Settings, build_policy
    from tenantguard.engine.policy import Policy

    def fields(policy: Policy) -> dict[str, object]:
        return {s: getattr(policy, s) for s in Policy.__slots__ if not s.startswith("_")}

    for paths in schema_sources():
        settings = Settings(
            root=tmp_path,
            schema_paths=tuple(str(p) for p in paths),
            cache_dir=str(tmp_path / "cache"),
        )
        fresh = fields(build_policy(settings))
        assert fields(build_policy(settings, cache=True)) == fresh  # read, then kept
        assert list((tmp_path / "cache").glob("schema-*.json"))
        assert fields(build_policy(settings, cache=True)) == fresh  # from the cache


# the policy cache: the policy built from the settings and the schema, kept by their content


def policy_fields(policy: object) -> dict[str, object]:
    from tenantguard.engine.policy import Policy

    return {s: getattr(policy, s) for s in Policy.__slots__ if s != "_catalog_typed"}


def test_a_policy_reads_back_equal_from_json(tmp_path: Path) -> None:
    """Every schema of the tests, each field of its policy: the same after JSON and back."""
    from tenantguard.config import Settings, build_policy
    from tenantguard.engine.policy import Policy

    (tmp_path / "cascade.sql").write_text(
        "CREATE TABLE visits (id int, tenant_id int NOT NULL, PRIMARY KEY (tenant_id, id));\n"
        "CREATE TABLE notes (id int, tenant_id int, visit_id int, FOREIGN KEY (visit_id)"
        " REFERENCES visits (id) ON DELETE CASCADE);\n",
        encoding="utf-8",
    )
    seen: set[str] = set()
    for paths in [*schema_sources(), [tmp_path / "cascade.sql"]]:
        settings = Settings(root=tmp_path, schema_paths=tuple(str(p) for p in paths))
        policy = build_policy(settings)
        back = Policy.from_json(json.loads(json.dumps(policy.to_json())))
        assert policy_fields(back) == policy_fields(policy), paths
        seen |= {name for name, value in policy_fields(policy).items() if value}
    # the tagged kinds of values are all exercised: sets, maps, foreign keys, function pins
    assert {"tenant_tables", "foreign_keys", "pinning_functions", "cascades", "unpinnable"} <= seen
    for damaged in ({"tenant_tables": {"set": 3}}, {"foreign_keys": {"map": [[1]]}}, []):
        with pytest.raises((TypeError, ValueError)):
            Policy.from_json(damaged)  # type: ignore[arg-type]


def run_policy_check(project: Path, *argv: str) -> tuple[str, list[tuple[str, int, str]], str]:
    return run_watching(project, "tenantguard.sources.schema", "DERIVED", "CACHED", *argv)


def test_the_policy_is_derived_again_only_when_what_it_is_built_from_changes(
    project: Path,
) -> None:
    (project / "pyproject.toml").write_text(
        CONFIG + 'tenant_tables = ["visits"]\n', encoding="utf-8"
    )
    one = [("app/a.sql", 1, "TG001")]
    first = run_policy_check(project)
    assert first[:2] == ("DERIVED 1", one)
    assert "tenant table 'visits'" in first[2]  # a configured table no schema source creates
    # an edited statement: the policy comes from the cache, its warnings said again
    (project / "app" / "b.sql").write_text("SELECT * FROM notes WHERE id = 2;\n", encoding="utf-8")
    assert run_policy_check(project) == ("CACHED 1", one, first[2])
    # the schema changes: built again (notes becomes a tenant table)
    (project / "schema" / "tables.sql").write_text(
        SCHEMA + "ALTER TABLE notes ADD COLUMN tenant_id int;\n", encoding="utf-8"
    )
    assert run_policy_check(project)[:2] == ("DERIVED 1", [*one, ("app/b.sql", 1, "TG001")])
    (project / "app" / "c.py").write_text("X = 1\n", encoding="utf-8")
    assert run_policy_check(project)[:2] == ("CACHED 1", [*one, ("app/b.sql", 1, "TG001")])
    # the settings change: built again (notes is global now)
    (project / "pyproject.toml").write_text(
        CONFIG.replace('"tenants"', '"tenants", "notes"'), encoding="utf-8"
    )
    assert run_policy_check(project)[:2] == ("DERIVED 1", one)
    assert run_policy_check(project, "--no-cache")[:2] == ("DERIVED 1", one)


def test_a_damaged_or_forged_policy_entry_is_not_used(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cold = findings(capsys)
    (stored,) = (project / ".tenantguard_cache").glob("policy-*.json")
    data = json.loads(stored.read_text())
    forged = json.loads(json.dumps(data["value"]))
    forged["policy"]["tenant_tables"] = {"set": []}  # patients said not to be a tenant table
    for number, damaged in enumerate(
        (
            "{not json",
            json.dumps({"key": data["key"], "value": {"policy": {"tenant_tables": 3}}}),
            json.dumps({"key": data["key"], "value": {"policy": [], "warnings": []}}),
            json.dumps({"key": "0" * 64, "value": forged}),
        )
    ):
        stored.write_text(damaged, encoding="utf-8")
        (project / "app" / "b.sql").write_text(f"SELECT {number};\n", encoding="utf-8")
        assert findings(capsys) == cold, damaged
        assert json.loads(stored.read_text()) == data  # rewritten
