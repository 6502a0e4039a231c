"""Session 34 (helper D), issue 12: real shapes of asyncpg / psycopg / SQLAlchemy Core code.

Two small projects, `tests/fixtures/projects/h34D_saas/` and `h34D_guildbot/` (not under
`python/`, whose fixtures are checked as one project that would read these modules too; as every
project there, test_projects.py checks them in-process too) — `saas` (FastAPI routes, repositories
with class attributes, a dict-of-queries registry, an Enum and a dataclass holding SQL, psycopg
`sql.SQL`, Celery and arq jobs, aiohttp handlers, SQLAlchemy `text()`, text that is not SQL,
Python 3.12 syntax, a generic CRUD base, psycopg `sql.SQL(...).join`, SQLAlchemy
`bindparams`, log/click/GraphQL/Elasticsearch calls) and `guildbot` (a discord.py cog keyed by `guild_id`) — carry their expected
findings inline (`# expect: TG001`, `-- expect: TG001` inside a SQL string). `tenantguard check`
is run on each in a fresh process, as a user runs it, and must report exactly those
(file, line, rule): every leak at the string it is in, constant SQL checked (no TG009), TG009
only for SQL really built at run time, no finding for what is not SQL.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text

PROJECTS = Path(__file__).parent.parent / "fixtures" / "projects"
_MARKER = re.compile(r"expect:\s*((?:TG\d{3}\s*,?\s*)+)")


def expected(root: Path) -> set[tuple[str, int, str]]:
    out = set()
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in _MARKER.finditer(line):
                out |= {(name, number, code) for code in re.findall(r"TG\d{3}", match.group(1))}
    return out


def reported(root: Path) -> set[tuple[str, int, str]]:
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "--format", "json", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    data = json.loads(done.stdout)
    findings = data["findings"]
    assert done.returncode == (1 if any(f["severity"] == "error" for f in findings) else 0)
    return {(Path(f["path"]).as_posix(), f["line"], f["rule"]) for f in findings}


@pytest.mark.parametrize("tree", ["saas", "guildbot"])
def test_real_tree_reports_exactly_what_it_expects(tree: str) -> None:
    root = PROJECTS / f"h34D_{tree}"
    got = reported(root)
    want = expected(root)
    # (reported and not expected, expected and not reported)
    assert (sorted(got - want), sorted(want - got)) == ([], [])


SHELL = """\
class Shell:
    def execute(self, command):
        return command


def run_shell():
    shell = Shell()
    return shell.execute("update users and invoices in the CRM export")
"""


# (a strict xfail until h35D: tests/python/test_h35D_python.py has the class)
def test_text_given_to_a_project_method_that_sends_nothing_is_not_sql() -> None:
    out, _, _ = check_python_text(SHELL, Analyzer(Policy("org_id", ["users", "invoices"])))
    assert [f.code for f in out] == []
