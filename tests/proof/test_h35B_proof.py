"""Round 35, helper B: false alarms of the static proof left by round 34's corpora (issue 10,
"safe statements that must pass"), each with a LEAK twin — a near spelling that really leaks.

Each statement runs on PostgreSQL 15 twice: as superuser with $1 = tenant A, and as a non-owner
role under FORCE ROW LEVEL SECURITY (`org::text = current_setting('app.org')`, the tenant $1 names), each in
a transaction rolled back. SAFE: the same rows (and the same tables after it) both ways; LEAK:
not (or the superuser's run fails where the tenant's does not: an error raised by another
tenant's row). Then the proof, with the policy read from the same schema, must accept every safe
one and flag every leak.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tests.conftest import fresh_database
from tests.proof.test_schema import policy_for

A = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"  # tenant A (the caller)
B = "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a22"  # another tenant
ROLE = "h35b_app"

SCHEMA = f"""
CREATE DOMAIN org_id AS uuid;
-- a domain whose CHECK fails on tenant B's id: a cast to it runs on every row it meets
CREATE DOMAIN org_ok AS uuid CHECK (VALUE <> '{B}');
CREATE TABLE cards (org uuid NOT NULL, id bigint PRIMARY KEY, title text NOT NULL);
CREATE TABLE nullcards (org uuid, id bigint PRIMARY KEY, title text NOT NULL);
CREATE TABLE dcards (org org_id NOT NULL, id bigint PRIMARY KEY, title text NOT NULL);
-- tenant ids as text: A's id and B's are the same uuid in other letter case
CREATE TABLE codes (org varchar(40) NOT NULL, id bigint PRIMARY KEY, title text NOT NULL);
CREATE TABLE labels (org varchar(40) NOT NULL, id bigint PRIMARY KEY, title text NOT NULL);
-- the same columns in the same order, and the tenant column at another place
CREATE TABLE moved (org uuid NOT NULL, owner uuid NOT NULL, title text NOT NULL);
CREATE TABLE archived (org uuid NOT NULL, owner uuid NOT NULL, title text NOT NULL);
CREATE TABLE swapped (owner uuid NOT NULL, org uuid NOT NULL, title text NOT NULL);
CREATE TABLE seats (org integer NOT NULL, id bigint PRIMARY KEY, title text NOT NULL);
"""
DATA = f"""
INSERT INTO cards VALUES ('{B}', 1, 'AAA first of all'), ('{A}', 2, 'Shared'), ('{B}', 3, 'Shared'),
  ('{A}', 4, 'Mine only');
INSERT INTO nullcards VALUES ('{A}', 1, 'Shared'), (NULL, 2, 'of no tenant'), ('{B}', 3, 'theirs');
INSERT INTO dcards VALUES ('{A}', 1, 'mine'), ('{B}', 2, 'theirs');
INSERT INTO codes VALUES ('{A}', 1, 'mine'), ('{A.upper()}', 2, 'theirs, same uuid');
INSERT INTO labels VALUES ('acme-1', 3, 'acme one'), ('acme-2', 4, 'acme two');
INSERT INTO moved VALUES ('{A}', '{B}', 'mine, owned by B''s id'), ('{B}', '{A}', 'theirs');
INSERT INTO swapped VALUES ('{B}', '{A}', 'A''s, owned by B''s id'),
  ('{A}', '{B}', 'mine, owned by B''s id');  -- B's row, equal to A's moved row place by place
INSERT INTO seats VALUES (1, 1, 'mine'), (2, 2, 'theirs');
"""
TABLES = [
    "cards",
    "nullcards",
    "dcards",
    "codes",
    "labels",
    "moved",
    "archived",
    "swapped",
    "seats",
]


def rls_sql() -> str:
    lines = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN "
        f"CREATE ROLE {ROLE}; END IF; END $$;",
        f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {ROLE};",
    ]
    for table in TABLES:
        lines += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;",
            f"CREATE POLICY tenant ON {table} USING (org::text = current_setting('app.org'));",
        ]
    return "\n".join(lines)


STATE = " UNION ALL ".join(
    f"SELECT '{t}', coalesce(string_agg(x::text, ';' ORDER BY x::text), '') FROM {t} x"
    for t in TABLES
)

# (class, name, sql, arguments ($1 first), safe on the server)
Case = tuple[str, str, str, tuple[object, ...], bool]
CASES: list[Case] = [
    # ---------------------------------------------------------------- 2: casts to the own type
    ("cast", "uuid column cast to uuid", "SELECT id FROM cards WHERE org::uuid = $1", (A,), True),
    (
        "cast",
        "CAST of a uuid column",
        "SELECT id FROM cards WHERE CAST(org AS uuid) = $1",
        (A,),
        True,
    ),
    (
        "cast",
        "domain column cast to its base type",
        "SELECT id FROM dcards WHERE org::uuid = $1",
        (A,),
        True,
    ),
    (
        "cast",
        "integer column cast to bigint",
        "SELECT id FROM seats WHERE org::bigint = $1",
        (1,),
        True,
    ),
    (
        "cast",
        "varchar column cast to text",
        "SELECT id FROM codes WHERE org::text = $1",
        (A,),
        True,
    ),
    # twins: a text column cast to uuid (case folds: A's and B's ids meet), a varchar cut short,
    # a cast to a domain whose CHECK fails on B's row
    (
        "cast",
        "varchar column cast to uuid",
        "SELECT id FROM codes WHERE org::uuid = $1::uuid",
        (A,),
        False,
    ),
    (
        "cast",
        "varchar column cut short",
        "SELECT id FROM labels WHERE org::varchar(4) = $1::varchar(4)",
        ("acme-1",),
        False,
    ),
    (
        "cast",
        "uuid column cast to a checked domain",
        "SELECT id FROM cards WHERE org::org_ok = $1",
        (A,),
        False,
    ),
    # ---------------------------------------------------------------- 7: a domain-typed pin
    (
        "domain",
        "parameter cast to the column's domain",
        "SELECT id FROM dcards WHERE org = $1::org_id",
        (A,),
        True,
    ),
    # ---------------------------------------------------------------- 3: INTERSECT / EXCEPT
    (
        "setop",
        "EXCEPT of the tenant column at its place",
        "SELECT org, title FROM cards WHERE org = $1 EXCEPT SELECT org, title FROM nullcards",
        (A,),
        True,
    ),
    (
        "setop",
        "INTERSECT of the tenant column at its place",
        "SELECT org, title FROM cards WHERE org = $1 INTERSECT SELECT org, title FROM nullcards",
        (A,),
        True,
    ),
    (
        "setop",
        "INTERSECT pinned on the right",
        "SELECT org, title FROM nullcards INTERSECT SELECT org, title FROM cards WHERE org = $1",
        (A,),
        True,
    ),
    (
        "setop",
        "EXCEPT ALL then EXCEPT",
        "SELECT org, title FROM cards WHERE org = $1 EXCEPT ALL SELECT org, title FROM cards "
        "EXCEPT SELECT org, title FROM nullcards",
        (A,),
        True,
    ),
    (
        "setop",
        "INTERSECT of a grouping by the tenant column",
        "SELECT org, title FROM cards WHERE org = $1 INTERSECT "
        "SELECT org, max(title) FROM cards GROUP BY org",
        (A,),
        True,
    ),
    # twins: the oracle (B's equal row removes A's), INTERSECT without the tenant column, the
    # tenant column at another place, a rank over every tenant's rows, EXCEPT pinned on the right
    (
        "setop",
        "EXCEPT without the tenant column",
        "SELECT title FROM cards WHERE org = $1 EXCEPT SELECT title FROM cards WHERE org <> $1",
        (A,),
        False,
    ),
    (
        "setop",
        "INTERSECT without the tenant column",
        "SELECT title FROM cards WHERE org = $1 INTERSECT SELECT title FROM cards WHERE org <> $1",
        (A,),
        False,
    ),
    (
        "setop",
        "EXCEPT of another uuid at the tenant place",
        "SELECT org, title FROM cards WHERE org = $1 EXCEPT SELECT $1::uuid, title FROM cards "
        "WHERE org <> $1",
        (A,),
        False,
    ),
    (
        "setop",
        "INTERSECT of a rank over every tenant",
        "SELECT org, row_number() OVER (ORDER BY id) FROM cards WHERE org = $1 INTERSECT "
        "SELECT org, row_number() OVER (ORDER BY id) FROM cards",
        (A,),
        False,
    ),
    (
        "setop",
        "EXCEPT pinned on the right only",
        "SELECT org, title FROM cards EXCEPT SELECT org, title FROM cards WHERE org = $1",
        (A,),
        False,
    ),
    # ---------------------------------------------------------------- 6: INSERT with no column list
    (
        "insert",
        "a star into a table of the same column order",
        "INSERT INTO archived SELECT * FROM moved WHERE org = $1 RETURNING title",
        (A,),
        True,
    ),
    (
        "insert",
        "VALUES into a table of known column order",
        "INSERT INTO archived VALUES ($1, $1, 'new') RETURNING title",
        (A,),
        True,
    ),
    # twins: the tenant column at another place (B's id lands in org), a star of the swapped
    # table into one of the other order
    (
        "insert",
        "a star into a table with the tenant column elsewhere",
        "INSERT INTO swapped SELECT * FROM moved WHERE org = $1 RETURNING title",
        (A,),
        False,
    ),
    (
        "insert",
        "a star of a table with the tenant column elsewhere",
        "INSERT INTO archived SELECT * FROM swapped WHERE org = $1 RETURNING title",
        (A,),
        False,
    ),
    # stars of tables whose tenant column's place the schema sources show
    (
        "setop",
        "INTERSECT of stars with the tenant column at one place",
        "SELECT * FROM moved WHERE org = $1 INTERSECT SELECT * FROM moved",
        (A,),
        True,
    ),
    (
        "setop",
        "INTERSECT of stars with the tenant column at two places",
        "SELECT * FROM moved WHERE org = $1 INTERSECT SELECT * FROM swapped",
        (A,),
        False,
    ),
    # ---------------------------------------------------------------- 5: spellings
    (
        "spelling",
        "coalesce of the pin and false",
        "SELECT id FROM nullcards WHERE coalesce(org = $1, false)",
        (A,),
        True,
    ),
    (
        "spelling",
        "CASE of the pin",
        "SELECT id FROM nullcards WHERE CASE WHEN org = $1 THEN true ELSE false END",
        (A,),
        True,
    ),
    (
        "spelling",
        "the pin IS TRUE",
        "SELECT id FROM nullcards WHERE (org = $1) IS TRUE",
        (A,),
        True,
    ),
    (
        "spelling",
        "= ALL of one value",
        "SELECT id FROM cards WHERE org = ALL (SELECT $1::uuid)",
        (A,),
        True,
    ),
    (
        "spelling",
        "= a scalar subquery",
        "SELECT id FROM cards WHERE org = (SELECT $1::uuid)",
        (A,),
        True,
    ),
    # twins: coalesce to true (rows of no tenant), ALL of no row (every row), IS NOT FALSE on a
    # nullable column, and on a NOT NULL one with a NULL parameter (every row)
    (
        "spelling",
        "coalesce of the pin and true",
        "SELECT id FROM nullcards WHERE coalesce(org = $1, true)",
        (A,),
        False,
    ),
    (
        "spelling",
        "= ALL of no row",
        "SELECT id FROM cards WHERE org = ALL (SELECT $1::uuid LIMIT 0)",
        (A,),
        False,
    ),
    (
        "spelling",
        "IS NOT FALSE on a nullable column",
        "SELECT id FROM nullcards WHERE (org = $1) IS NOT FALSE",
        (A,),
        False,
    ),
    (
        "spelling",
        "IS NOT FALSE with a NULL parameter",
        "SELECT id FROM cards WHERE (org = $1) IS NOT FALSE",
        (None,),
        False,
    ),
]


@pytest.fixture
async def db(postgres: ThrowawayPostgres) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(postgres, SCHEMA + DATA + rls_sql()) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            yield conn
        finally:
            await conn.close()


async def run(
    conn: asyncpg.Connection, sql: str, args: tuple[object, ...], *, rls: bool
) -> tuple[str, ...]:
    """The rows `sql` returns, and every table's rows after it (rolled back), as superuser or
    as the tenant's role; ("fails",) when the server raises."""
    tx = conn.transaction()
    await tx.start()
    try:
        # the tenant: $1's value (A when $1 is NULL)
        tenant = A if args[0] is None else str(args[0])
        await conn.execute("SELECT set_config('app.org', $1, true)", tenant)
        if rls:
            await conn.execute(f"SET LOCAL ROLE {ROLE}")
        try:
            records: list[Any] = await conn.fetch(sql, *args)
        except asyncpg.PostgresError as error:
            return ("fails", type(error).__name__)
        await conn.execute("RESET ROLE")
        state = [f"{r[0]}: {r[1]}" for r in await conn.fetch(STATE)]
    finally:
        await tx.rollback()
    return (*sorted(repr(tuple(r)) for r in records), *state)


async def test_the_cases_are_safe_or_leak_on_the_server(db: asyncpg.Connection) -> None:
    wrong = []
    for _, name, sql, args, safe in CASES:
        plain = await run(db, sql, args, rls=False)
        secured = await run(db, sql, args, rls=True)
        assert not safe or secured[0] != "fails", (name, secured)
        if (plain == secured) != safe:
            wrong.append((name, plain, secured))
    assert wrong == []


async def test_rows_of_the_main_cases(db: asyncpg.Connection) -> None:
    """What the server returns, spelled out for a few: the EXCEPT oracle, the cast folding
    case, ALL of no row, IS NOT FALSE of a NULL parameter."""

    async def ids(sql: str, *args: object) -> list[object]:
        return sorted(tuple(r) for r in await db.fetch(sql, *args))  # type: ignore[return-value]

    # A's 'Shared' card is removed by B's equal title: B's rows show through their absence
    assert await ids(
        "SELECT title FROM cards WHERE org = $1 EXCEPT SELECT title FROM cards WHERE org <> $1", A
    ) == [("Mine only",)]
    # with the tenant column at its place, B's rows meet none of A's
    assert await ids(
        "SELECT org::text, title FROM cards WHERE org = $1 EXCEPT SELECT org::text, title "
        "FROM cards WHERE org <> $1",
        A,
    ) == [(A, "Mine only"), (A, "Shared")]
    assert await ids("SELECT id FROM codes WHERE org::uuid = $1::uuid", A) == [(1,), (2,)]
    assert await ids("SELECT id FROM cards WHERE org::uuid = $1", A) == [(2,), (4,)]
    assert await ids("SELECT id FROM cards WHERE org = ALL (SELECT $1::uuid LIMIT 0)", A) == [
        (1,),
        (2,),
        (3,),
        (4,),
    ]
    assert await ids("SELECT id FROM cards WHERE org = ALL (SELECT $1::uuid)", A) == [(2,), (4,)]
    assert await ids("SELECT id FROM cards WHERE (org = $1) IS NOT FALSE", None) == [
        (1,),
        (2,),
        (3,),
        (4,),
    ]
    assert await ids("SELECT id FROM nullcards WHERE coalesce(org = $1, false)", A) == [(1,)]
    with pytest.raises(asyncpg.CheckViolationError):
        await db.fetch("SELECT id FROM cards WHERE org::org_ok = $1", A)
    # a branch computes its select list on every row it reads, before the comparison: a call
    # with a side effect there sees every tenant's rows (B's 'AAA first of all')
    async with db.transaction():
        await db.execute("SELECT set_config('h35.seen', '', true)")
        await db.fetch(
            "SELECT org, title FROM cards WHERE org = $1 EXCEPT SELECT org, set_config("
            "'h35.seen', current_setting('h35.seen') || title || ';', true) FROM cards",
            A,
        )
        seen = await db.fetchval("SELECT current_setting('h35.seen')")
        assert "AAA first of all" in seen


def test_the_proof_accepts_the_safe_cases_and_flags_the_leaks(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org")
    wrong = []
    for _, name, sql, _args, safe in CASES:
        codes = [f.code for f in analyze_statement(sql, policy).findings]  # type: ignore[arg-type]
        flagged = "TG001" in codes or "TG002" in codes
        if flagged == safe or (safe and codes):
            wrong.append((name, codes))
    assert wrong == []


# ---------------------------------------------------------------- 100 more safe statements
# tests/h35B_corpus.py, on round 34's schema and data (tests/h34B_corpus.py), run as round 34's
# corpus is (tests/proof/test_h34B_proof.py's `run`): safe on the server, then accepted by the proof.

# statements still flagged, with why no sound refinement proves them (name -> code)
UNPROVEN_35: dict[str, str] = {}


@pytest.fixture
async def saas(postgres: ThrowawayPostgres) -> AsyncIterator[asyncpg.Connection]:
    from tests.h34B_corpus import DATA as SAAS_DATA
    from tests.h34B_corpus import SCHEMA as SAAS_SCHEMA
    from tests.h34B_corpus import rls_sql as saas_rls

    async with fresh_database(postgres, SAAS_SCHEMA + SAAS_DATA + saas_rls()) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            yield conn
        finally:
            await conn.close()


async def test_every_new_corpus_statement_is_safe_on_the_server(saas: asyncpg.Connection) -> None:
    from tests.h35B_corpus import CORPUS as NEW
    from tests.proof.test_h34B_proof import run as run_34

    unsafe = []
    for name, sql, args in NEW:
        try:
            plain = await run_34(saas, sql, args, rls=False)
            secured = await run_34(saas, sql, args, rls=True)
        except asyncpg.PostgresError as error:
            unsafe.append((name, "fails", repr(error)))
            continue
        if plain != secured:
            unsafe.append((name, plain, secured))
    assert unsafe == []


def test_the_proof_accepts_the_new_corpus(tmp_path: Path) -> None:
    from tests.h34B_corpus import SCHEMA as SAAS_SCHEMA
    from tests.h35B_corpus import CORPUS as NEW

    policy = policy_for(
        tmp_path,
        SAAS_SCHEMA,
        tenant_column="account_id",
        tenant_expressions=("current_setting('app.account')",),
    )
    flagged = {}
    for name, sql, _ in NEW:
        found = [
            f"{f.code}: {f.message}"
            for f in analyze_statement(sql, policy).findings  # type: ignore[arg-type]
            if f.severity == "error"
        ]
        if found:
            flagged[name] = found
    assert sorted(flagged) == sorted(UNPROVEN_35), flagged


# ---------------------------------------------------------------- 1, 4: names by the search path
# `countries` in public is a global table; `archive.countries` holds tenant rows. An unqualified
# name reads the first schema of the search path that holds it: public's under the default path,
# archive's under `archive, public` (a leak twin on the server). `public.cards.org` names the FROM
# item `cards` where the path reads `cards` in public.
PATHS = f"""
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
CREATE SCHEMA archive;
CREATE TABLE archive.countries (org uuid NOT NULL, code text NOT NULL, name text NOT NULL);
CREATE TABLE cards (org uuid NOT NULL, id bigint PRIMARY KEY, country text NOT NULL);
INSERT INTO countries VALUES ('ar', 'Argentina'), ('uy', 'Uruguay');
INSERT INTO archive.countries VALUES ('{A}', 'ar', 'old A'), ('{B}', 'uy', 'old B');
INSERT INTO cards VALUES ('{A}', 1, 'ar'), ('{B}', 2, 'uy');
DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
CREATE ROLE {ROLE}; END IF; END $$;
GRANT USAGE ON SCHEMA archive TO {ROLE};
GRANT SELECT ON ALL TABLES IN SCHEMA public, archive TO {ROLE};
ALTER TABLE archive.countries ENABLE ROW LEVEL SECURITY;
ALTER TABLE archive.countries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON archive.countries USING (org::text = current_setting('app.org'));
ALTER TABLE cards ENABLE ROW LEVEL SECURITY;
ALTER TABLE cards FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON cards USING (org::text = current_setting('app.org'));
"""
# the schema sources: the same DDL (data and grants left out)
PATHS_DDL = "\n".join(PATHS.strip().splitlines()[:4])
# (name, sql, search path, safe)
PATH_CASES = [
    ("the global table by the default path", "SELECT code, name FROM countries", "public", True),
    (
        "a join with the global table",
        "SELECT c.id, k.name FROM cards c JOIN countries k ON k.code = c.country "
        "WHERE c.org = $1::uuid",
        "public",
        True,
    ),
    (
        "a schema-qualified column of an unqualified table",
        "SELECT id FROM cards WHERE public.cards.org = $1::uuid",
        "public",
        True,
    ),
    (
        "the tenant table by archive's path",
        "SELECT code, name FROM countries",
        "archive, public",
        False,
    ),
]


async def test_names_read_by_the_search_path_on_the_server(postgres: ThrowawayPostgres) -> None:
    async with fresh_database(postgres, PATHS) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            wrong = []
            for name, sql, path, safe in PATH_CASES:
                results = []
                for rls in (False, True):
                    async with conn.transaction():
                        await conn.execute(f"SET LOCAL search_path = {path}")
                        await conn.execute("SELECT set_config('app.org', $1, true)", A)
                        if rls:
                            await conn.execute(f"SET LOCAL ROLE {ROLE}")
                        args = (A,) if "$1" in sql else ()
                        results.append(sorted(tuple(r) for r in await conn.fetch(sql, *args)))
                if (results[0] == results[1]) != safe:
                    wrong.append((name, results))
            assert wrong == []
            async with conn.transaction():
                await conn.execute("SET LOCAL search_path = archive, public")
                rows = await conn.fetch("SELECT name FROM countries ORDER BY name")
                assert [r[0] for r in rows] == ["old A", "old B"]  # every tenant's
        finally:
            await conn.close()


def test_the_proof_reads_names_by_the_search_path(tmp_path: Path) -> None:
    wrong = []
    for name, sql, path, safe in PATH_CASES:
        policy = policy_for(
            tmp_path, PATHS_DDL, tenant_column="org", search_path=tuple(path.split(", "))
        )
        codes = [f.code for f in analyze_statement(sql, policy).findings]  # type: ignore[arg-type]
        if bool(codes) == safe:
            wrong.append((name, codes))
    assert wrong == []

    def codes(sql: str, ddl: str = PATHS_DDL, path: tuple[str, ...] = ("public",)) -> list[str]:
        policy = policy_for(tmp_path, ddl, tenant_column="org", search_path=path)
        return [f.code for f in analyze_statement(sql, policy).findings]  # type: ignore[arg-type]

    read = "SELECT code, name FROM countries"
    assert codes("SELECT * FROM public.countries") == []
    assert codes("SELECT * FROM archive.countries") == ["TG001"]
    assert codes("TRUNCATE countries") == []
    assert codes("TRUNCATE archive.countries") == ["TG005"]
    # "$user" first: a schema named like the login role may hold the name
    assert codes(read, path=("$user", "public")) == ["TG001"]
    # the global table changed later, by name or by code that may run: unsure, a tenant name
    for later in (
        "ALTER TABLE countries ADD COLUMN note text;",
        "CREATE TABLE more_countries (extra text) INHERITS (countries);",
        "DO $$ BEGIN EXECUTE 'ALTER TABLE ' || 'coun' || 'tries ADD COLUMN org uuid'; END $$;",
        "ALTER SCHEMA public RENAME TO old; ALTER SCHEMA archive RENAME TO public;",
    ):
        assert codes(read, PATHS_DDL + "\n" + later) == ["TG001"], later
    # code defined before the table that names it: a call may change it
    early = (
        "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS "
        "'ALTER TABLE countries ADD COLUMN org uuid';\n"
    )
    assert codes(read, early + PATHS_DDL + "\nSELECT f();") == ["TG001"]
    # `public.cards.org` where the path reads `cards` in another schema first: not that item
    other = PATHS_DDL + "\nCREATE TABLE archive.cards (org uuid, id bigint);"
    assert codes(
        "SELECT id FROM cards WHERE public.cards.org = $1::uuid", other, ("archive", "public")
    ) == ["TG001"]


def test_the_reader_forgets_a_plain_table_named_in_any_spelling(tmp_path: Path) -> None:
    """`plain_tables` (round 35): a later statement naming the table, however it is spelled,
    makes its columns unsure; a quoted mixed-case name is its own."""
    from tenantguard.sources.schema.reading import read_schema

    def plain(sql: str) -> dict[str, dict[str, list[str]]]:
        path = tmp_path / "s.sql"
        path.write_text(sql, encoding="utf-8")
        return read_schema([path]).plain_tables

    made = "CREATE TABLE countries (code text); CREATE TABLE archive.countries (org uuid);"
    assert plain(made) == {"countries": {"public": ["code"], "archive": ["org"]}}
    for later in (
        "ALTER TABLE COUNTRIES ADD COLUMN org uuid;",
        'ALTER TABLE "countries" ADD COLUMN org uuid;',
        'ALTER TABLE U&"countrie\\0073" ADD COLUMN org uuid;',
        "CREATE RULE r AS ON INSERT TO countries DO INSTEAD NOTHING;",
        "CREATE FUNCTION g() RETURNS void LANGUAGE sql AS $$ ALTER TABLE countries ADD org uuid $$;",
    ):
        assert "countries" not in plain(made + later), later
    quoted = 'CREATE TABLE "Countries" (code text); CREATE TABLE archive."Countries" (org uuid);'
    assert plain(quoted + "ALTER TABLE countries ADD COLUMN org uuid;") == {
        "Countries": {"public": ["code"], "archive": ["org"]}
    }
    assert plain(quoted + 'ALTER TABLE "Countries" ADD COLUMN org uuid;') == {}
