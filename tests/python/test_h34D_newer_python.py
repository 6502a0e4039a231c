"""Session 34 (helper D), issue 12: a file this Python cannot parse (Python 3.12's `type X =
…`, generic functions `def f[T](…)`, PEP 701 f-strings) said so (TG006) and nothing else: a
leak in it passed unseen. Its string literals are now read from its tokens and each checked
standing alone, as any literal that reads as SQL is, at its own line and column; the TG006
says that only they are checked. f-strings and bytes are left out; a text that does not
tokenize is the TG006 alone, as before.
"""

from __future__ import annotations

import sys

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text

ORGS = Policy("org_id", ["events"])
PARSES = sys.version_info >= (3, 12)

NEWER = '''\
"""Événements: PEP 695."""
from typing import Any

type Row = dict[str, Any]

LATEST = "SELECT id FROM events WHERE org_id = $1 ORDER BY id DESC LIMIT 1"


async def newest[T](conn: Any, org: int) -> T:
    return await conn.fetchval(LATEST, org)


async def anywhere[T](conn: Any) -> Row:
    label = "é"; return dict(await conn.fetchrow("SELECT * FROM events LIMIT 1"))


async def joined[T](conn: Any) -> Row:
    return await conn.fetch(
        "SELECT id "
        "FROM events "
        "WHERE kind = 'x'"
    )


async def formatted[T](conn: Any, org: int, n: int) -> Row:
    return await conn.fetch(f"SELECT id FROM events WHERE org_id = $1 LIMIT {n}", org)
'''


def found(source: str) -> list[tuple[int, int, str]]:
    out, _, _ = check_python_text(source, Analyzer(ORGS))
    return sorted((f.line, f.column, f.code) for f in out)


def test_the_literals_of_a_file_of_a_newer_python_are_checked() -> None:
    leaks = [(14, 65, "TG001"), (20, 15, "TG001")]
    if PARSES:
        assert found(NEWER) == leaks
    else:
        assert found(NEWER) == sorted([(4, 6, "TG006"), *leaks])
        out, _, _ = check_python_text(NEWER, Analyzer(ORGS))
        assert "only its string literals are checked" in out[0].message


def test_a_file_that_does_not_tokenize_is_said_so_alone() -> None:
    source = 'def broken(:\n    x = "SELECT id FROM events\n'
    out, _, _ = check_python_text(source, Analyzer(ORGS))
    assert [f.code for f in out] == ["TG006"]
    assert "cannot be checked" in out[0].message
