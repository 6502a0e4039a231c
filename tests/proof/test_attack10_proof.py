"""Round 10 attacks on the proof (issue 10), on a schema unlike the earlier ones: tenant column
`workspace text` (a slug), the registry `workspaces (slug text PRIMARY KEY)`, where text
semantics decide what `=` matches.

Class 6/7. A tenant column that compares loosely — declared `citext`, with a nondeterministic
collation (`COLLATE ci`, ICU `und-u-ks-level2`), or of a domain over either — matches several
tenants with one `workspace = $1`: 'acme' reads 'ACME's rows. A cast to text keeps the column's
collation, and a chain from a pinned `text` column compares under it too. No equality pins
such a table; the twins on a plain `text` column (or a domain over it) are proven and read the
own workspace only.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement
from tests.proof.test_schema import policy_for

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS citext;
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE COLLATION exact_c (provider = icu, locale = 'und');
CREATE DOMAIN slug AS text;
CREATE DOMAIN cislug AS text COLLATE ci;
CREATE DOMAIN citslug AS citext;
CREATE TABLE workspaces (slug text PRIMARY KEY, title text);
CREATE TABLE docs (id bigint PRIMARY KEY,
    workspace text NOT NULL DEFAULT current_setting('app.tenant_id') REFERENCES workspaces (slug),
    title text, UNIQUE (workspace, id));
CREATE TABLE ci_notes (id bigint, workspace text COLLATE ci NOT NULL, body text);
CREATE TABLE cit_notes (id bigint, workspace public.citext NOT NULL, body text);
CREATE TABLE domci_notes (id bigint, workspace cislug NOT NULL, body text);
CREATE TABLE domcit_notes (id bigint, workspace citslug NOT NULL, body text);
CREATE TABLE altered_notes (id bigint, workspace text NOT NULL, body text);
ALTER TABLE altered_notes ALTER COLUMN workspace TYPE text COLLATE ci;
CREATE TABLE like_notes (LIKE ci_notes);
CREATE TABLE child_notes (extra int) INHERITS (cit_notes);
CREATE TABLE dom_notes (id bigint, workspace slug NOT NULL, body text);
CREATE TABLE exact_notes (id bigint, workspace text COLLATE exact_c NOT NULL, body text);
CREATE TABLE fixed_notes (id bigint, workspace citext NOT NULL, body text);
ALTER TABLE fixed_notes ALTER COLUMN workspace SET DATA TYPE text;
CREATE VIEW ci_view AS SELECT id, workspace, body FROM ci_notes;
CREATE TABLE ci_keys (workspace text COLLATE ci NOT NULL, k text NOT NULL, body text,
    PRIMARY KEY (workspace, k));
"""

DATA = """
INSERT INTO workspaces VALUES ('acme', 'own'), ('ACME', 'VICTIM');
INSERT INTO docs VALUES (1, 'acme', 'own'), (2, 'ACME', 'VICTIM');
INSERT INTO ci_keys VALUES ('ACME', 'k', 'VICTIM');
""" + "".join(
    f"INSERT INTO {t} (id, workspace, body) VALUES (1, 'acme', 'own'), (2, 'ACME', 'VICTIM');\n"
    for t in (
        "ci_notes", "cit_notes", "domci_notes", "domcit_notes", "altered_notes", "like_notes",
        "child_notes", "dom_notes", "exact_notes", "fixed_notes",
    )
)  # fmt: skip

# each reads workspace 'ACME' with $1 = 'acme'
LEAKS = [
    "SELECT body FROM ci_notes WHERE workspace = $1",
    "SELECT body FROM ci_notes WHERE workspace::text = $1",
    "SELECT body FROM cit_notes WHERE workspace = $1",
    "SELECT body FROM cit_notes WHERE workspace IN ($1)",
    "SELECT body FROM cit_notes WHERE workspace IS NOT DISTINCT FROM $1",
    "SELECT body FROM domci_notes WHERE workspace = $1",
    "SELECT body FROM domcit_notes WHERE workspace = $1",
    "SELECT body FROM altered_notes WHERE workspace = $1",
    "SELECT body FROM like_notes WHERE workspace = $1",
    "SELECT body FROM child_notes WHERE workspace = $1",
    "SELECT body FROM ci_view WHERE workspace = $1",
    # a chain from the pinned text column compares under the column's collation
    "SELECT n.body FROM docs d JOIN ci_notes n ON n.workspace = d.workspace WHERE d.workspace = $1",
    "SELECT d.title FROM ci_notes n JOIN docs d ON d.workspace = n.workspace WHERE n.workspace = $1",
    "UPDATE ci_notes SET body = body || ' hacked' WHERE workspace = $1 RETURNING body",
    "DELETE FROM cit_notes WHERE workspace = $1 RETURNING body",
]
# the same on text columns whose equality is exact: proven, and the own workspace only
SAFE = [
    "SELECT body FROM dom_notes WHERE workspace = $1",
    "SELECT body FROM exact_notes WHERE workspace = $1",
    "SELECT body FROM fixed_notes WHERE workspace = $1",
    "SELECT title FROM docs WHERE workspace = $1",
    "SELECT n.body FROM docs d JOIN dom_notes n ON n.workspace = d.workspace WHERE d.workspace = $1",
]


def _policy(tmp_path: Path) -> Policy:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="workspace")
    assert isinstance(policy, Policy)
    return policy


@pytest.mark.parametrize("sql", LEAKS)
def test_a_tenant_column_that_compares_loosely_is_pinned_by_nothing(
    tmp_path: Path, sql: str
) -> None:
    codes = [f.code for f in analyze_statement(sql, _policy(tmp_path)).findings]
    assert "TG001" in codes, sql


@pytest.mark.parametrize("sql", SAFE)
def test_a_tenant_column_that_compares_exactly_is_pinned(tmp_path: Path, sql: str) -> None:
    assert analyze_statement(sql, _policy(tmp_path)).findings == (), sql


def test_the_finding_says_why(tmp_path: Path) -> None:
    [finding] = analyze_statement(LEAKS[0], _policy(tmp_path)).findings
    assert "compares" in finding.message and "workspace" in finding.message, finding.message


async def test_the_loose_columns_read_another_workspace_on_the_server(
    database: str, tmp_path: Path
) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for sql in LEAKS:
            transaction = conn.transaction()
            await transaction.start()
            try:
                rows = sorted(str(r[0]) for r in await conn.fetch(sql, "acme"))
            finally:
                await transaction.rollback()
            assert any("VICTIM" in r for r in rows), (sql, rows)
        for sql in SAFE:
            assert [r[0] for r in await conn.fetch(sql, "acme")] == ["own"], sql
    finally:
        await conn.close()


# the unique index of a loose column finds 'ACME's row for an insert of 'acme': DO UPDATE
# overwrites it (TG003); DO NOTHING skips the row, which tells that 'ACME' holds the key (TG013)
UPSERT = (
    "INSERT INTO ci_keys (workspace, k, body) VALUES ($1, 'k', 'mine') "
    "ON CONFLICT (workspace, k) DO {} RETURNING workspace, body"
)


def test_an_upsert_on_a_loose_tenant_column_is_reported(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    update = UPSERT.format("UPDATE SET body = excluded.body")
    assert sorted(f.code for f in analyze_statement(update, policy).findings) == [
        "TG003",
        "TG013",
    ]
    # DO NOTHING skips the row exactly when 'ACME' holds the key (the empty RETURNING below):
    # a key over a loose tenant column is checked across the workspaces it merges (h35A)
    codes = [f.code for f in analyze_statement(UPSERT.format("NOTHING"), policy).findings]
    assert codes == ["TG013"]


async def test_the_upsert_overwrites_another_workspace_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        assert await conn.fetch(UPSERT.format("NOTHING"), "acme") == []
        rows = await conn.fetch(UPSERT.format("UPDATE SET body = excluded.body"), "acme")
        assert [tuple(r) for r in rows] == [("ACME", "mine")]
        assert (
            await conn.fetchval("SELECT body FROM ci_keys WHERE workspace = 'ACME' COLLATE \"C\"")
            == "mine"
        )
    finally:
        await conn.close()


# ---------------------------------------------------------------- class 5/6: a parameter of a lossy type
# A function that pins by a parameter declared `char(n)` (bpchar) compares `workspace = w` as
# text after bpchar drops trailing blanks: `docs_bp('acme ')` reads workspace 'acme'. A
# parameter whose type pads, truncates, rounds or compares loosely (a domain over one, an array
# of one) pins nothing: the function hands out every workspace's rows.
BPCHAR_FUNCTION = """
CREATE FUNCTION docs_bp(w char(8)) RETURNS SETOF docs LANGUAGE sql STABLE
    AS $$ SELECT * FROM docs WHERE workspace = w $$;
"""
BPCHAR_CALL = "SELECT title FROM docs_bp($1)"


@pytest.mark.parametrize(
    ("declared", "condition", "pinned"),
    [
        ("w char(8)", "workspace = w", False),
        ("w character(8)", "workspace = w", False),
        ("w name", "workspace = w", False),
        ('w "char"', "workspace = w", False),
        ("w citext", "workspace = w", False),
        ("w slug8", "workspace = w", False),  # a domain over char(8)
        ("w char(8)[]", "workspace = ANY(w)", False),
        ("w char(8)", "workspace = $1", False),  # by position, the same conversion
        ("w text", "workspace = w", True),
        ("w varchar(4)", "workspace = w", True),  # a length limit is ignored on arguments
        ("w text[]", "workspace = ANY(w) AND cardinality(w) = 1", False),  # several: TG008-like
        ("w text", "workspace = $1", True),
    ],
)
def test_a_function_pinned_by_a_parameter_of_a_lossy_type_is_not_pinned(
    tmp_path: Path, declared: str, condition: str, pinned: bool
) -> None:
    function = (
        "CREATE DOMAIN slug8 AS char(8);\n"
        f"CREATE FUNCTION docs_of({declared}) RETURNS SETOF docs LANGUAGE sql STABLE\n"
        f"    AS $$ SELECT * FROM docs WHERE {condition} $$;\n"
    )
    policy = policy_for(tmp_path, SCHEMA + function, tenant_column="workspace")
    assert isinstance(policy, Policy)
    findings = analyze_statement("SELECT title FROM docs_of($1)", policy).findings
    assert (not findings) is pinned, [f.message for f in findings]


async def test_the_bpchar_parameter_reads_another_workspace_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + BPCHAR_FUNCTION + DATA)
        await conn.execute("INSERT INTO workspaces VALUES ('acme ', 'trailing blank')")
        # workspace 'acme ' (a registered slug of its own) reads workspace 'acme'
        assert [r[0] for r in await conn.fetch(BPCHAR_CALL, "acme ")] == ["own"]
    finally:
        await conn.close()


# ---------------------------------------------------------------- CREATE TABLE … AS keeps collations
# `CREATE TABLE copy AS SELECT * FROM ci_notes` keeps the column's collation: the copy compares
# loosely too ('acme' = 'ACME'); a copy of an exact table stays pinnable.
@pytest.mark.parametrize(
    ("ctas", "pinned"),
    [
        ("CREATE TABLE copy AS SELECT * FROM ci_notes;", False),
        ("CREATE TABLE copy (i, workspace, b) AS SELECT * FROM (SELECT * FROM ci_notes) x;", False),
        ("CREATE TABLE copy AS SELECT id, workspace AS workspace, body FROM cit_notes;", False),
        ("CREATE TABLE copy AS SELECT * FROM dom_notes;", True),
        ("CREATE TABLE copy AS SELECT * FROM exact_notes;", True),
    ],
)
def test_a_copy_of_a_loose_table_is_loose(tmp_path: Path, ctas: str, pinned: bool) -> None:
    policy = policy_for(tmp_path, SCHEMA + ctas, tenant_column="workspace")
    assert isinstance(policy, Policy)
    findings = analyze_statement("SELECT * FROM copy WHERE workspace = $1", policy).findings
    assert (not findings) is pinned, [f.message for f in findings]


async def test_a_copy_keeps_the_collation_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA + "CREATE TABLE copy AS SELECT * FROM ci_notes;")
        rows = await conn.fetch("SELECT body FROM copy WHERE workspace = $1", "acme")
        assert sorted(r["body"] for r in rows) == ["VICTIM", "own"]  # workspace ACME's row too
    finally:
        await conn.close()
