"""Session 35 (helper D), issue 12: a real tree of a style the other fixtures lack.

`tests/fixtures/projects/h35D_tasks/` (its own `pyproject.toml`): a psycopg 3 async service —
a pool wrapper class, repositories composing SQL with `psycopg.sql` (`Identifier`,
`Placeholder`, `map(sql.Placeholder, FIELDS)`), `str.format` of constant column lists,
`textwrap.dedent` blocks with `--` comments, `%(name)s` placeholders, named queries in a
`queries/` package of `.sql` files loaded by name (a dict of the directory's files and a
`load(name)` helper, aiosql-style `-- name:` files), a class keeping the SQL its constructor
is given, a wrapper looping over a list of statements — and a Starlette app on the
`databases` library (`:name` placeholders, `query=`/`values=`), with text that is not SQL
(a shell runner's `execute`, an HTTP client's post, log messages). Its expected findings are
inline (`# expect: TG001` in Python, `-- expect: TG001` in SQL). `tenantguard check` runs on
it in a fresh process, as a user runs it, and must report exactly those (test_projects.py
checks it in-process too).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.test_projects import expectations

ROOT = Path(__file__).parent.parent / "fixtures" / "projects" / "h35D_tasks"


def test_the_tasks_service_reports_exactly_what_it_expects() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "--format", "json", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    findings = json.loads(done.stdout)["findings"]
    assert done.returncode == (1 if any(f["severity"] == "error" for f in findings) else 0)
    got = {(Path(f["path"]).as_posix(), f["line"], f["rule"]) for f in findings}
    want = expectations(ROOT)
    # (reported and not expected, expected and not reported)
    assert (sorted(got - want), sorted(want - got)) == ([], [])
    # every TG009 is SQL built at run time (the false one of projects.py gone in h36D)
    unresolved = sorted((p, line) for p, line, rule in got if rule == "TG009")
    assert unresolved == [
        ("tasksvc/app.py", 56),
        ("tasksvc/repositories/tasks.py", 58),
    ]
