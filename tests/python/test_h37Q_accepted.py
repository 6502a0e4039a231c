"""Session 37 (helper Q), issue 12: an outsider's attack on what the Python reader newly
accepts (helper D's commits 7454606..8f9792e: a base's placeholder every subclass overrides,
`help=` / `description=` prose, a comprehension over a project Enum, `dataclasses.fields()`,
a classmethod's `cls` read once per class, `**kw` keys read as the caller's keyword).

Each case is a small tree checked by the real `tenantguard check` in a fresh process; a leak
twin must be reported where the statement is (file:line, exit 1), a safe twin stays quiet."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCHEMA = """\
CREATE TABLE accounts (id int PRIMARY KEY);
CREATE TABLE tickets (
    id serial PRIMARY KEY,
    account_id int NOT NULL REFERENCES accounts,
    title text,
    status text
);
CREATE TABLE tags (id serial PRIMARY KEY, account_id int NOT NULL REFERENCES accounts, name text);
CREATE TABLE countries (code text PRIMARY KEY, name text);
"""

PYPROJECT = """\
[project]
name = "app"
version = "0"

[tool.tenantguard]
tenant_column = "account_id"
schema_paths = ["db"]
tenant_root = "accounts"
global_tables = ["accounts", "countries"]
"""


def check(root: Path, files: dict[str, str]) -> tuple[int, set[tuple[str, int, str]]]:
    """Write the tree and run `tenantguard check` on it: (exit code, findings)."""
    (root / "db").mkdir()
    (root / "db" / "schema.sql").write_text(SCHEMA)
    (root / "pyproject.toml").write_text(PYPROJECT)
    for name, text in {"app/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "--format", "json", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    findings = json.loads(done.stdout)["findings"]
    return done.returncode, {(f["path"], f["line"], f["rule"]) for f in findings}


# Class A: a keyword named like prose (`summary=`, `description=`, `title=`) given to a
# callable of the PROJECT (a dataclass, a class, a function, a namedtuple) is that callable's
# parameter, and may be the SQL it sends: `Check(title="orphans", summary="DELETE FROM
# tickets …")`, later `conn.execute(check.summary)`. The literal was marked prose and its
# free reading dropped: only TG009 (a warning) at the sink, exit 0. Prose stays prose for a
# callable outside the project (argparse, click, pydantic's `Field`).

HOLDERS = {
    "a dataclass": """\
        from dataclasses import dataclass

        @dataclass
        class Check:
            title: str
            summary: str
        """,
    "a class": """\
        class Check:
            def __init__(self, title, summary):
                self.title = title
                self.summary = summary
        """,
    "a namedtuple": """\
        from collections import namedtuple

        Check = namedtuple("Check", ["title", "summary"])
        """,
}

PROSE_SENT = """\
CHECKS = [Check(title="orphans", summary="DELETE FROM tickets WHERE status = 'x'")]


async def run_checks(conn):
    for c in CHECKS:
        await conn.execute(c.summary)
"""


@pytest.mark.parametrize("holder", sorted(HOLDERS))
@pytest.mark.parametrize("where", ["same module", "imported"])
def test_a_prose_keyword_of_a_project_callable_is_read(
    tmp_path: Path, holder: str, where: str
) -> None:
    head = textwrap.dedent(HOLDERS[holder])
    if where == "same module":
        files = {"app/checks.py": head + "\n\n" + PROSE_SENT}
        line = head.count("\n") + 3
    else:
        files = {
            "app/model.py": head,
            "app/checks.py": "from app.model import Check\n\n\n" + PROSE_SENT,
        }
        line = 4
    code, found = check(tmp_path, files)
    assert ("app/checks.py", line, "TG001") in found, found
    assert code == 1


PROSE_LIBRARY = """\
import argparse

import click
from pydantic import BaseModel, Field


class Purge(BaseModel):
    older: str = Field("30 days", description="delete from tickets where status is closed")


def cli():
    p = argparse.ArgumentParser(description="delete from tickets where status is closed")
    p.add_argument("--older", help="select id from tickets where created_at is old")
    return p


@click.option("--dry-run", is_flag=True, help="update tickets set status to closed")
def purge(dry_run):
    return dry_run
"""


def test_prose_of_a_library_callable_stays_prose(tmp_path: Path) -> None:
    assert check(tmp_path, {"app/cli.py": PROSE_LIBRARY}) == (0, set())
