"""Session 36 (helper G), issue 12: a lab-results service as a team would meet it.

`tests/fixtures/projects/h36G_labs/` (52 files, its own pyproject.toml written by `tenantguard
init` plus the `per_file_ignores` README advises for staff code) is a psycopg 3 service keyed by
`org_id`: a plain ASGI app, a `queries/` package of aiosql-style `.sql` files (`-- name:`,
`:name` parameters) loaded by name at import, repositories with SQL in class attributes of a
base class and `{table}` filled from `self.table`, a SQLAlchemy Core `text()` layer, `psycopg.sql`
composition, Celery tasks on sync psycopg (`textwrap.dedent`, `COPY`), a click admin CLI that reads
across organisations, alembic migrations with `op.execute`, pytest fixtures, pydantic models,
logging and messages that quote SQL, docstrings with SQL. Leaks are placed where a reviewer would
miss them (a pin lost under a LEFT JOIN, OR precedence, subqueries without the pin, an UPDATE …
FROM pinning one side, a constant sort key holding a subquery, `.format` of a constant tenant
table, `%` with constants). Each expected finding is marked inline; `tenantguard check` runs on it
in a fresh process, as a user runs it (json and text), and must report exactly those.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text
from tests.cli.test_projects import expectations
from tests.python.test_h34D_real_tree import reported

ROOT = Path(__file__).parent.parent / "fixtures" / "projects" / "h36G_labs"


def test_the_labs_tree_reports_exactly_what_it_expects() -> None:
    got = reported(ROOT)
    want = expectations(ROOT)
    # (reported and not expected, expected and not reported)
    assert (sorted(got - want), sorted(want - got)) == ([], [])


def test_the_text_report_says_the_same() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "--format", "concise", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = {
        (path, int(line), rule.strip().split()[0])
        for path, line, _, rule in (
            row.split(":", 3) for row in done.stdout.splitlines() if row.count(":") >= 3
        )
        if line.isdigit()
    }
    assert lines == expectations(ROOT)


# A helper that joins the conditions it is given (`def where(*conds): return "WHERE " + " AND
# ".join(conds)`, or a list parameter) was a TG009 inside the helper, and every call of it a
# TG001 (the join read as a clause that may be empty), the pinned ones too: exit 1 on code
# that pins. The call's items are now joined in the helper's place; a helper that changes its
# list, or a call whose items are not all known, stays as before.

JOIN_HELPERS = """\
PIN = "org_id = %(org)s"
CODE = ["code = %(code)s"]


def where(*conds):
    return "WHERE " + " AND ".join(conds)


def all_of(conds):
    return " AND ".join(conds)


async def pinned(conn, org, code):
    await conn.execute("SELECT id FROM samples " + where(PIN, "code = %(code)s"), {})
    await conn.execute("SELECT id FROM samples WHERE " + all_of([PIN, "code = 1"]), {})
    await conn.execute("SELECT id FROM samples WHERE " + all_of(conds=[PIN]), {})


async def leaks(conn, org, code):
    await conn.execute("SELECT id FROM samples " + where("code = %(code)s"), {})
    await conn.execute("SELECT id FROM samples WHERE " + all_of(CODE), {})
    await conn.execute("SELECT id FROM samples " + where("code = 1", "org_id = 2 OR true"), {})
"""

JOIN_HELPER_THAT_CHANGES_ITS_LIST = """\
def all_of(conds):
    conds.append("true")
    return " OR ".join(conds)


async def leaks(conn, org):
    await conn.execute("SELECT id FROM samples WHERE " + all_of(["org_id = %(org)s"]), {})
"""

JOIN_HELPER_GIVEN_UNKNOWN_ITEMS = """\
def where(*conds):
    return "WHERE " + " AND ".join(conds)


async def unknown(conn, extra):
    await conn.execute("SELECT id FROM samples " + where(*extra), {})
"""


def _labs(source: str) -> list[tuple[int, str]]:
    policy = Policy("org_id", ["samples"])
    out, _, _ = check_python_text(source, Analyzer(policy))
    return sorted((f.line, f.code) for f in out)


def test_a_helper_joining_the_conditions_it_is_given_is_read_at_each_call() -> None:
    assert _labs(JOIN_HELPERS) == [(20, "TG001"), (21, "TG001"), (22, "TG001")]


def test_a_joining_helper_that_changes_its_list_is_not_read_as_given() -> None:
    assert _labs(JOIN_HELPER_THAT_CHANGES_ITS_LIST) == [(3, "TG009"), (7, "TG001")]


def test_a_joining_helper_given_unknown_items_stays_unresolved() -> None:
    assert ("TG009") in [code for _, code in _labs(JOIN_HELPER_GIVEN_UNKNOWN_ITEMS)]


# The same helpers as they are written to allow no condition: `if not conds: return ""`, `…
# if conds else ""`. The empty branch is not taken by a call that gives items (and the joining
# one not by a call that gives none): `where(PIN)` was a TG001.

GUARDED_JOIN_HELPERS = """\
PIN = "org_id = %(org)s"


def w1(*conds):
    return "WHERE " + " AND ".join(conds) if conds else ""


def w2(*conds):
    return "" if not conds else "WHERE " + " AND ".join(conds)


def w3(*conds):
    if conds:
        return "WHERE " + " AND ".join(conds)
    return ""


def w4(conds):
    if len(conds) == 0:
        return "WHERE org_id = %(org)s"
    return "WHERE " + " AND ".join(conds)


def w5(*conds):
    if not conds:
        return "WHERE org_id = %(org)s"
    return "WHERE " + " OR ".join(conds)


async def pinned(conn):
    await conn.execute("SELECT id FROM samples " + w1(PIN), {})
    await conn.execute("SELECT id FROM samples " + w2(PIN), {})
    await conn.execute("SELECT id FROM samples " + w3(PIN), {})
    await conn.execute("SELECT id FROM samples " + w4([PIN]), {})
    await conn.execute("SELECT id FROM samples " + w4([]), {})


async def leaks(conn):
    await conn.execute("SELECT id FROM samples " + w1("code = 1"), {})
    await conn.execute("SELECT id FROM samples " + w2("code = 1"), {})
    await conn.execute("SELECT id FROM samples " + w3("code = 1"), {})
    await conn.execute("SELECT id FROM samples " + w4(["code = 1"]), {})
    await conn.execute("SELECT id FROM samples " + w5(PIN, "true"), {})
"""


def test_a_joining_helper_s_branch_for_no_conditions_is_not_taken_by_a_call_that_gives_some() -> (
    None
):
    assert _labs(GUARDED_JOIN_HELPERS) == [(39 + n, "TG001") for n in range(5)]


# The conditions a request sets, grown in a list and unpacked into the helper (`conds =
# [PIN]; if status: conds.append(…); where(*conds)`): each list a path can leave, each with the
# branch it takes. A list handed on as it is (`all_of(filters)`) stays unknown: the callee
# could change it.

GROWN_INTO_A_JOINING_HELPER = """\
PIN = "org_id = %(org)s"


def where(*conds):
    if not conds:
        return ""
    return "WHERE " + " AND ".join(conds)


async def pinned(conn, status=None):
    conds = [PIN]
    if status:
        conds.append("status = %(status)s")
    await conn.execute("SELECT id FROM samples " + where(*conds), {})


async def leaks(conn, status=None, admin=False):
    conds = []
    if not admin:
        conds.append(PIN)
    if status:
        conds.append("status = %(status)s")
    await conn.execute("SELECT id FROM samples " + where(*conds), {})
"""


def test_a_grown_list_unpacked_into_a_joining_helper_is_each_list_it_may_hold() -> None:
    assert _labs(GROWN_INTO_A_JOINING_HELPER) == [(23, "TG001")]
