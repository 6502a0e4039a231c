"""Round 12, real code: shapes of SQL met in open-source projects that the analyzer misread.

1. Query files without semicolons, one query per commented header — aiosql's `-- name: x`
   (a library made for raw SQL over asyncpg) and the `-- query_name --` files that
   procrastinate loads by name. A script splitter sees one statement running from the first
   header to the first `;`, which does not parse: every query of the file was TG006 and none
   was proven. A statement that does not parse as a whole is now read as the pieces its
   comment headers (a comment line after a blank line, or `-- name:`) separate, when every
   piece parses; each piece is then proven at its own line. PostgreSQL would refuse the text
   as one statement: the pieces are how the application sends it.
2. `lock` and `qualify` are names to PostgreSQL (`lock` is an unreserved keyword, `qualify`
   no keyword at all) and keywords to sqlglot (MySQL's `LOCK IN SHARE MODE`, Snowflake's
   `QUALIFY`): `GROUP BY lock, status` did not parse.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.policy import Policy
from tests.cli.test_cli import ISOLATED, run, write

TENANT_TABLES = ["--isolated", "--tenant-column", "tenant_id", "--tenant-tables", "jobs,patients"]


def findings(out: str) -> list[str]:
    """`path:line:col: CODE` of each finding in text output."""
    return [" ".join(line.split()[:2]) for line in out.splitlines() if ": TG0" in line]


# ------------------------------------------------------------ 1. query files without semicolons

AIOSQL = """\
-- name: get-patient^
-- One patient of the clinic
SELECT id, first_name FROM patients WHERE tenant_id = :tenant_id AND id = :id

-- name: search-patients
SELECT id FROM patients
WHERE dni = :dni
-- name: count-jobs$
SELECT count(*) FROM jobs WHERE tenant_id = $1
"""

PROCRASTINATE = """\
-- defer_job --
-- Create and enqueue a job
SELECT id FROM jobs WHERE tenant_id = $1 AND lock = $2

-- list_locks --
-- the locks of every clinic
WITH locks AS (
  SELECT lock, status, count(id) AS jobs_count
  FROM jobs
  GROUP BY lock, status
)
SELECT lock AS name, sum(jobs_count) FROM locks GROUP BY name

-- delete_job --
DELETE FROM jobs WHERE tenant_id = $1 AND id = $2;
"""


def test_aiosql_queries_are_each_proven_at_their_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "queries.sql", AIOSQL)
    code, out, _ = run(capsys, "check", *TENANT_TABLES, "queries.sql")
    assert code == 1, out
    # the unpinned query is found where it is; the pinned ones pass; nothing is unparseable
    assert findings(out) == ["queries.sql:6:16: TG001"], out
    assert "3 statements" in out, out


def test_procrastinate_style_queries_are_each_proven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "queries.sql", PROCRASTINATE)
    code, out, _ = run(capsys, "check", *TENANT_TABLES, "queries.sql")
    assert code == 1, out
    assert findings(out) == ["queries.sql:9:8: TG001"], out  # every clinic's locks
    assert "3 statements" in out, out


@pytest.mark.parametrize(
    "text",
    [
        # a piece that does not parse: the whole stays unprovable, nothing is split off
        "SELECT id FROM patients WHERE tenant_id = $1\n\n-- then\nSELEC id FROM patients\n",
        # the first piece is cut short where the header stands
        "SELECT id FROM patients WHERE tenant_id = $1 AND\n\n-- then\nSELECT 1\n",
    ],
    ids=["a piece that does not parse", "a piece cut short"],
)
def test_a_statement_whose_pieces_do_not_all_parse_stays_unprovable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "q.sql", text)
    code, out, _ = run(capsys, "check", *TENANT_TABLES, "q.sql")
    assert code == 1, out
    assert [f.split()[1] for f in findings(out)] == ["TG006"], out


def test_a_statement_that_parses_whole_is_not_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A comment header inside a statement that parses (a pinned first branch, an unpinned
    second one): proven as the one statement PostgreSQL runs — the unpinned branch is found."""
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path / "q.sql",
        "SELECT id FROM patients WHERE tenant_id = $1\n\n-- and the jobs\n"
        "UNION ALL SELECT id FROM jobs;\n",
    )
    code, out, _ = run(capsys, "check", *TENANT_TABLES, "q.sql")
    assert code == 1, out
    assert findings(out) == ["q.sql:4:26: TG001"], out
    assert "1 statement" in out, out


# ------------------------------------------------------------ 2. lock and qualify are names

POLICY = Policy("tenant_id", {"jobs"})
NAMES = ["lock", "qualify", "LOCK", '"lock"']


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("template", "codes"),
    [
        ("SELECT {n}, status FROM jobs WHERE tenant_id = $1 GROUP BY {n}, status", []),
        ("SELECT {n}, status FROM jobs GROUP BY {n}, status", ["TG001"]),
        (
            "SELECT j.id FROM jobs {n} JOIN jobs j ON j.id = {n}.id WHERE j.tenant_id = $1",
            ["TG001"],
        ),
        ("SELECT id FROM jobs WHERE tenant_id = $1 ORDER BY {n} LIMIT 1", []),
        ("SELECT id FROM jobs WHERE {n} = $1", ["TG001"]),
        ("UPDATE jobs SET {n} = NULL WHERE tenant_id = $1 AND {n} = $2", []),
    ],
)
def test_lock_and_qualify_are_column_names(name: str, template: str, codes: list[str]) -> None:
    verdict = analyze_statement(template.format(n=name), POLICY)
    assert verdict.parsed
    assert [f.code for f in verdict.findings if f.severity.name == "ERROR"] == codes


def test_the_lock_statement_is_still_the_lock_statement() -> None:
    verdict = analyze_statement("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE", POLICY)
    assert [f.code for f in verdict.findings] == ["TG006"]


async def test_lock_as_a_column_name_reads_as_postgresql_reads_it(database: str) -> None:
    """What the proof was given is what the server runs: the pinned read returns one tenant's
    locks, the unpinned one (flagged) every tenant's."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "CREATE TABLE jobs (id int, tenant_id int, lock text, qualify text, status text);"
            "INSERT INTO jobs VALUES (1, 1, 'a', 'x', 'doing'), (2, 2, 'b', 'y', 'doing')"
        )
        pinned = "SELECT lock, qualify FROM jobs WHERE tenant_id = $1 GROUP BY lock, qualify"
        assert [tuple(r) for r in await conn.fetch(pinned, 1)] == [("a", "x")]
        assert not analyze_statement(pinned, POLICY).findings
        unpinned = "SELECT lock FROM jobs GROUP BY lock ORDER BY lock"
        assert [r[0] for r in await conn.fetch(unpinned)] == ["a", "b"]
        assert [f.code for f in analyze_statement(unpinned, POLICY).findings] == ["TG001"]
    finally:
        await conn.close()


def test_isolated_is_the_cli_fixture() -> None:
    assert ISOLATED[0] == "--isolated"


# ------------------------------------------------------------ 3. an upsert guarded by EXCLUDED

GUARDED_UPSERT = (
    "INSERT INTO leads AS l (tenant_id, external_id, name) VALUES ($1, $2, $3) "
    "ON CONFLICT (external_id) DO UPDATE SET name = EXCLUDED.name"
)


@pytest.mark.parametrize(
    ("guard", "codes", "theirs_after"),
    [
        # round 25: it leaves the row's values, but locks it (tests/proof/test_attack25_upsert_lock.py)
        (" WHERE l.tenant_id = EXCLUDED.tenant_id", ["TG003"], "theirs"),
        ("", ["TG003"], "taken"),  # the twin: tenant 1 overwrites tenant 2's lead
        (" WHERE l.tenant_id = EXCLUDED.tenant_id OR l.name = 'theirs'", ["TG003"], "taken"),
    ],
    ids=["guarded", "unguarded", "guard in an OR"],
)
async def test_an_upsert_guarded_by_the_excluded_tenant_leaves_other_tenants_rows(
    database: str, guard: str, codes: list[str], theirs_after: str
) -> None:
    """A conflict on a key unique across tenants (`external_id`) finds tenant 2's lead for
    tenant 1's insert: the update's WHERE decides whether it lands on it."""
    sql = GUARDED_UPSERT + guard
    policy = Policy("tenant_id", {"leads"})
    assert [f.code for f in analyze_statement(sql, policy).findings] == codes
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "CREATE TABLE leads (tenant_id int NOT NULL, external_id text UNIQUE, name text);"
            "INSERT INTO leads VALUES (2, 'wa-7', 'theirs')"
        )
        await conn.execute(sql, 1, "wa-7", "taken")
        rows = [tuple(r) for r in await conn.fetch("SELECT tenant_id, name FROM leads")]
    finally:
        await conn.close()
    assert rows == [(2, theirs_after)]
