"""Round 6: text that sqlglot's tokenizer and PostgreSQL's scanner read differently.

sqlglot treats every character `str.isspace()` accepts as a blank (U+00A0, U+3000, U+2028…)
and looks words up as keywords with `str.upper()` (`a\u017f` is AS, `\u0131n` is IN). PostgreSQL's
scanner reads every character >= 0x80 as a letter of a name and folds ASCII letters only. A
statement the two read differently is proven in one form and run in the other: the analyzer
refuses it (TG006), whatever it names.

The server tests run each statement as a `tenant(1)` request through the guard in enforce mode
(both setups of `test_runtime_attacks`) and assert on clinic 2's rows (Carla); the same
statement on an unguarded connection shows that PostgreSQL accepts it and hands them out.
"""

from __future__ import annotations

import contextlib

import asyncpg
import pytest
from sqlglot import exp

from tenantguard import TenantIsolationError
from tenantguard.engine.analyze import analyze_statement, parse_statement
from tenantguard.engine.sqltext import split_sql
from tenantguard.runtime import tenant
from tests.runtime import test_runtime_attacks as round2
from tests.runtime.test_runtime_attacks import POLICY, Setup

setup = round2.setup  # parametrized over "guard" and "guard+rls"

NBSP = "\u00a0"

# PostgreSQL reads each of these and returns every clinic's patients; the analyzer (before the
# fix) proved each pinned by `$1`
LEAKS = [
    pytest.param(
        # the derived table's `tenant_id` is $1 to the server ("tenant_id\u00a0" is the real
        # column), patients.tenant_id to the analyzer (a blank ends the alias)
        "SELECT s.first_name FROM (SELECT first_name, tenant_id AS tenant_id" + NBSP + ", "
        "$1::bigint AS tenant_id FROM patients) s WHERE s.tenant_id = $1 ORDER BY 1",
        id="alias-ending-in-nbsp",
    ),
    pytest.param(
        "SELECT s.first_name FROM (SELECT first_name, tenant_id AS" + NBSP + "tenant_id, "
        "$1::bigint AS tenant_id FROM patients) s WHERE s.tenant_id = $1 ORDER BY 1",
        id="as-nbsp-alias",
    ),
    pytest.param(
        # `\u00a0$a$` is a name to the server (a derived table's column) and the start of a
        # dollar-quoted string to the analyzer, which reads ` OR true --` as text
        'SELECT first_name FROM patients, (SELECT true) AS s("' + NBSP + '$a$") '
        "WHERE tenant_id = $1 AND " + NBSP + "$a$ OR true --$a$ = 'x' ORDER BY 1",
        id="nbsp-dollar-name-read-as-a-string",
    ),
    pytest.param(
        'SELECT first_name FROM patients, (SELECT true) AS s("\u3000$b$") '
        "WHERE tenant_id = $1 AND \u3000$b$ OR true --$b$ = 'x' ORDER BY 1",
        id="ideographic-space",
    ),
    pytest.param(
        # a tag `str.isdigit()` accepts (a superscript two): sqlglot reads `$` as a parameter and
        # the quoted text as SQL; PostgreSQL reads one string, and the WHERE is true
        "SELECT first_name FROM patients WHERE $\u00b2$ AND tenant_id = $1 AND $\u00b2$ <> "
        "$1::bigint::text ORDER BY 1",
        id="digit-dollar-tag",
    ),
]


@pytest.mark.parametrize("sql", LEAKS)
def test_a_statement_read_differently_is_unprovable(sql: str) -> None:
    verdict = analyze_statement(sql, POLICY)
    assert not verdict.parsed
    assert [(f.code, f.severity.value) for f in verdict.findings] == [("TG006", "error")]
    assert "PostgreSQL" in verdict.findings[0].message


@pytest.mark.parametrize("sql", LEAKS)
async def test_the_guard_does_not_hand_out_the_other_clinic(setup: Setup, sql: str) -> None:
    # the server accepts the statement and, unguarded, returns clinic 2's patient
    raw = await asyncpg.connect(setup.owner_dsn)
    try:
        assert "Carla" in [r[0] for r in await raw.fetch(sql, 1)]
    finally:
        await raw.close()
    conn = await setup.connect()
    try:
        names: list[str] = []
        with tenant(1), contextlib.suppress(TenantIsolationError):
            names = [r[0] for r in await conn.fetch(sql, 1)]
        assert "Carla" not in names
        assert names == []  # refused: nothing came back
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("sql", "word"),
    [
        # `str.upper()` maps \u017f to S and \u0131 to I: a keyword to sqlglot, a name to PostgreSQL
        ("SELECT first_name a\u017f x FROM patients WHERE tenant_id = $1", "a\u017f"),
        ("SELECT first_name FROM patients WHERE tenant_id \u0131n ($1)", "\u0131n"),
        ("\u017felect first_name FROM patients WHERE tenant_id = $1", "\u017felect"),
        # a multi-word keyword across a no-break space
        ("SELECT first_name FROM patients WHERE tenant_id = $1 ORDER" + NBSP + "BY 1", None),
        # a tag of Arabic-Indic digits: a dollar quote to PostgreSQL, a parameter to sqlglot
        (
            "SELECT first_name FROM patients WHERE $\u0661$ AND tenant_id = 1 AND $\u0661$ <> ''",
            None,
        ),
        ("SELECT first_name FROM patients WHERE $a" + NBSP + "b$ x $a" + NBSP + "b$ = ''", None),
    ],
)
def test_other_misreadings_are_unprovable(sql: str, word: str | None) -> None:
    verdict = analyze_statement(sql, POLICY)
    assert not verdict.parsed
    assert [f.code for f in verdict.findings] == ["TG006"]
    if word is not None:
        assert word in verdict.findings[0].message


@pytest.mark.parametrize(
    "sql",
    [
        # non-ASCII where both read it alike: strings, comments, quoted names, dollar tags,
        # names in any script (the Turkish \u0131 folds to nothing sqlglot knows)
        "SELECT first_name FROM patients WHERE tenant_id = $1 AND first_name <> 'a" + NBSP + "b'",
        "SELECT first_name FROM patients WHERE tenant_id = $1 -- a" + NBSP + "b\u2028 c",
        "SELECT first_name FROM patients WHERE tenant_id = $1 /* \u3000 /* \u00a0 */ */",
        'SELECT first_name AS "a' + NBSP + 'b" FROM patients WHERE tenant_id = $1',
        "SELECT first_name, $ä$x" + NBSP + "y$ä$ FROM patients WHERE tenant_id = $1",
        "SELECT first_name, E'\\u00e9" + NBSP + "' FROM patients WHERE tenant_id = $1",
        "SELECT first_name AS kullan\u0131c\u0131, 1 AS größe FROM patients WHERE tenant_id = $1",
    ],
)
def test_non_ascii_read_alike_is_still_proven(sql: str) -> None:
    verdict = analyze_statement(sql, POLICY)
    assert verdict.parsed
    assert verdict.findings == ()
    assert [(p.kind, p.key) for p in verdict.pin_values] == [("parameter", 1)]


@pytest.mark.parametrize(
    "sql",
    ["REINDEX TABLE größe", "CALL größe()", "LOCK Patienten_Ü IN EXCLUSIVE MODE", "SHOW größe"],
)
def test_a_command_sqlglot_keeps_whole_is_not_taken_for_a_misreading(sql: str) -> None:
    """After `CALL`, `LOCK`, `REINDEX` … sqlglot keeps the rest as one string whose positions
    are not the text's: no misreading to report there (the command is opaque to the proof,
    whose screen finds the tenant tables it names)."""
    tree, _, error, _ = parse_statement(sql)
    assert error is None
    assert isinstance(tree, exp.Command)


def test_the_splitter_reads_a_dollar_after_a_non_ascii_letter_as_part_of_a_name() -> None:
    # PostgreSQL: `x\u00a0$a$` and `y€$a$` are names, so the `;` between them ends a statement
    for letter in (NBSP, "€"):
        sql = f"SELECT 1 AS x{letter}$a$; DELETE FROM patients; SELECT 1 AS y{letter}$a$"
        assert [s.text for s in split_sql(sql)[0]] == [
            f"SELECT 1 AS x{letter}$a$",
            "DELETE FROM patients",
            f"SELECT 1 AS y{letter}$a$",
        ]
    # and `$\u0661$` (an Arabic-Indic digit) opens a dollar quote: no parameter is made of it
    sql = "SELECT $\u0661$;$\u0661$"
    assert [s.text for s in split_sql(sql)[0]] == [sql]


# ---------------------------------------------------------------- a unary `+` sqlglot drops
# `tenant_id = +$1` is `tenant_id = $1` to sqlglot (no node for a unary plus) but a comparison with
# a double precision parameter to PostgreSQL: 9007199254740993 meets 9007199254740992.
PLUS_LEAKS = [
    "SELECT id FROM t WHERE tenant_id = +$1",
    "SELECT id FROM t WHERE tenant_id = + $1",
    "SELECT id FROM t WHERE tenant_id = +($1)",
    "SELECT id FROM t WHERE tenant_id IN (+$1)",
]
PLUS_SAFE = [
    "SELECT id FROM t WHERE tenant_id = $1 AND id = +5",
    "SELECT id FROM t WHERE tenant_id = $1 AND id = $2 + 5",
    "SELECT id FROM t WHERE tenant_id = $1 AND id = ($2 + (1))",
    "SELECT id FROM t WHERE tenant_id = $1 AND at > now() + '1 day'::interval",
    "SELECT id FROM t WHERE tenant_id = $1 -- + $1",
]


@pytest.mark.parametrize("sql", PLUS_LEAKS)
def test_a_dropped_unary_plus_is_unprovable(sql: str) -> None:
    tree, _, error, offset = parse_statement(sql)
    assert tree is None and error is not None and "unary `+`" in error
    assert offset == sql.index("+")


@pytest.mark.parametrize("sql", PLUS_SAFE)
def test_a_binary_plus_or_a_plus_before_a_number_is_read_alike(sql: str) -> None:
    tree, _, error, _ = parse_statement(sql)
    assert tree is not None and error is None


async def test_the_unary_plus_leaks_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "CREATE TABLE t (id int, tenant_id bigint, at timestamptz DEFAULT now());"
            "INSERT INTO t (id, tenant_id) VALUES (1, 9007199254740993), (2, 9007199254740992)"
        )
        for sql in PLUS_LEAKS:
            rows = await conn.fetch(sql, 9007199254740993)
            assert sorted(r["id"] for r in rows) == [1, 2], sql  # the other tenant's row too
        for sql in PLUS_SAFE:
            args = (9007199254740993, 1)[: 2 if "$2" in sql else 1]
            rows = await conn.fetch(sql, *args)
            assert all(r["id"] == 1 for r in rows), sql
    finally:
        await conn.close()
