"""What each install gives: the core (the linter) works without the extras' packages;
sqlglotc is used only when its version is sqlglot's, otherwise the pure sqlglot runs.
(CI also installs each extra into a fresh virtualenv: .ci/run.)"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tenantguard._sqlglotc import compiled_mismatch

REPO = Path(__file__).resolve().parent.parent.parent

# a process where the extras' packages are not installed: importing them fails
WITHOUT_EXTRAS = """
import sys
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("asyncpg", "redis", "sqlglotc"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Absent())
from tenantguard.cli import main
sys.exit(main(sys.argv[1:]))
"""


def core(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRAS, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_core_install_is_the_linter(tmp_path: Path) -> None:
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "0001_t.sql").write_text(
        "CREATE TABLE IF NOT EXISTS patients (id int, tenant_id int NOT NULL);\n"
        "CREATE INDEX IF NOT EXISTS p_t ON patients (tenant_id);\n"
    )
    (tmp_path / "q.py").write_text('async def f(c):\n    await c.fetch("SELECT * FROM patients")\n')
    (tmp_path / "pyproject.toml").write_text("[tool.tenantguard]\n")
    check = core(tmp_path, "check", "--no-cache", "--format", "sarif")
    assert check.returncode == 1, check.stderr
    assert '"ruleId": "TG001"' in check.stdout
    lint = core(tmp_path, "patches", "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert core(tmp_path, "rule", "TG105").returncode == 0
    assert core(tmp_path, "init", "--dry-run").returncode == 0
    for argv, extra in (
        (["patches", "apply", "--dsn", "x"], "runtime"),
        (["demo"], "runtime"),
        (["audit", "--dsn", "postgresql://nobody@127.0.0.1:1/x"], "runtime"),
    ):
        run = core(tmp_path, *argv)
        assert run.returncode == 2 and f"pip install 'tenantguard[{extra}]'" in run.stderr, argv
        assert "internal error" not in run.stderr


def test_extras_are_declared_as_documented() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {
        d.split(">")[0].split("<")[0].split("=")[0].split("[")[0] for d in project["dependencies"]
    }
    assert names == {"sqlglot", "pglast", "pathspec"}
    assert all("==" not in d for d in project["dependencies"])  # ranges, not exact pins
    extras = project["optional-dependencies"]
    assert extras["runtime"] == ["asyncpg>=0.30"]
    assert extras["redis"] == ["redis>=5.0"]
    assert extras["c"] == ["sqlglot[c]"]
    assert extras["all"] == ["tenantguard[c,runtime,redis]"]


PROBE = """
import tenantguard._sqlglotc as glue
FAKE = {fake!r}
if FAKE:  # the versions the installed distributions declare, sqlglotc's faked
    glue._versions = lambda: (glue.installed_version("sqlglot"), FAKE)
import tenantguard
from tenantguard import Analyzer, Policy
import sqlglot.parser, sqlglot.tokens
codes = [f.code for f in Analyzer(Policy("tenant_id", {{"patients"}})).statement_findings(
    "SELECT * FROM patients p JOIN visits v ON v.id = p.id WHERE v.tenant_id = $1")]
print(sqlglot.tokens.SQLGLOTC_INSTALLED, sqlglot.parser.__file__.endswith(".py"), codes)
"""


def probe(fake: str | None) -> tuple[str, str]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE.format(fake=fake)],
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.strip(), run.stderr


def test_a_sqlglotc_of_another_version_falls_back_to_pure_sqlglot() -> None:
    out, err = probe("0.0.1")
    assert out == "False True ['TG001']"
    assert "sqlglotc 0.0.1 does not match sqlglot" in err
    assert "pip install 'sqlglot[c]==" in err


def test_a_matching_sqlglotc_is_used() -> None:
    if compiled_mismatch() is not None:
        pytest.skip("this environment's sqlglotc does not match its sqlglot")
    try:
        from importlib import metadata

        metadata.version("sqlglotc")
    except metadata.PackageNotFoundError:
        out, err = probe(None)
        assert out == "False True ['TG001']" and not err  # pure sqlglot: no warning
        return
    out, err = probe(None)
    assert out == "True False ['TG001']"
    assert "does not match" not in err


IMPORT_WITHOUT_EXTRAS = (
    WITHOUT_EXTRAS.split("from tenantguard.cli")[0]
    + """
try:
    exec(sys.argv[1])
except ModuleNotFoundError as error:
    print(f"{error.name}: {error}")
"""
)


@pytest.mark.parametrize(
    ("statement", "said"),
    [
        (
            "from tenantguard.runtime import create_pool",
            "asyncpg: tenantguard.runtime.create_pool needs asyncpg, which is not installed: "
            "pip install 'tenantguard[runtime]'",
        ),
        (
            "import tenantguard.runtime as r; r.tenant",
            "asyncpg: tenantguard.runtime.tenant needs asyncpg",
        ),
        (
            "from tenantguard.redis import WebhookDeduplicator",
            "redis: tenantguard.redis needs redis-py, which is not installed: "
            "pip install 'tenantguard[redis]'",
        ),
    ],
)
def test_an_extra_not_installed_says_which_to_install(statement: str, said: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", IMPORT_WITHOUT_EXTRAS, statement],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.stdout.startswith(said), run.stdout + run.stderr


def test_a_mode_that_does_not_exist_names_those_that_do() -> None:
    from tenantguard import Policy
    from tenantguard.runtime import Guard

    with pytest.raises(
        ValueError, match=r"mode must be one of 'enforce', 'report', 'off', not 'warn'"
    ):
        Guard(Policy("tenant_id", {"patients"}), mode="warn")
