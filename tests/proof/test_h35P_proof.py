"""Round 35, helper P: an outside attack on round 35's new acceptances of the static proof
(h35A, h35B), on PostgreSQL 15. The corpus tests/fixtures/h35p/ runs on two databases differing
only in the other tenant's rows (tests/leak_corpus.py); a LEAK is told by the server, then
tenantguard's verdict is compared.

1. A branch of INTERSECT / EXCEPT pinned by the compared operand (h35B) still computes its GROUP
   BY keys and its HAVING on every tenant's rows before the rows are compared: `GROUP BY org,
   title::int` or `HAVING 1 / (count(*) - 2) > 0` raises the error of another tenant's group.
2. The search path: `"$user"` (PostgreSQL's default path reads the schema named like the login
   role first), a path set by the application's own statements (`SET search_path`,
   `set_config('search_path', …)`), a path set for the role or database by the schema sources
   (`ALTER ROLE … SET search_path`): under each, a name the proof read as public's global
   table is another schema's tenant table. And `CREATE TABLE IF NOT EXISTS` of a name public
   holds already (with the tenant column) was read as a new plain global table.
3. `HAVING tenant = V` beside grouping sets (h35A) is a late filter: a derived table, CTE or
   computing view it was pushed into computes its columns on every tenant's rows first.
4. A view computing on each row it scans (`100 / (n - 8) AS r`), read with no pin of its own as
   a branch of INTERSECT / EXCEPT or under a grouping-sets HAVING; 5. a LATERAL function of
   such a branch (`generate_series(1, 100 / (c.n - 8))`), run once per row of every tenant.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database
from tests.leak_corpus import codes, judged, load, missed_leaks
from tests.proof.test_schema import policy_for

CORPUS = Path(__file__).parent.parent / "fixtures" / "h35p"
A = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
B = "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a22"
# corpus lines of safe statements flagged: `countries` under PostgreSQL's default path (config
# `search_path` by default): archive.countries would be read by a login role named archive
FLAGGED_SAFE = [36]


async def test_the_corpus_has_no_missed_leak_and_passes_its_safe_twins(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    corpus = load(CORPUS, A, B)
    policy = policy_for(tmp_path, corpus.schema, tenant_column="org")
    verdicts = await judged(postgres, corpus, policy, dump="H35P_DUMP")
    # the corpus's comment before each statement says LEAK or safe: the server agrees
    text = (CORPUS / "corpus.sql").read_text(encoding="utf-8").splitlines()
    said = [text[v.case.line - 2].startswith("-- LEAK") for v in verdicts]
    assert [v.leak for v in verdicts] == said
    assert missed_leaks(verdicts) == []
    flagged = [v.case.line for v in verdicts if not v.leak and v.codes]
    assert flagged == FLAGGED_SAFE
    # the sessions' path configured as public alone: countries is public's, regions too (a
    # claim the login role postgres breaks, as lines 28 and 30 show)
    public = policy_for(tmp_path, corpus.schema, tenant_column="org", search_path=("public",))
    assert codes("SELECT code, name FROM countries", public) == []


SCHEMA = (CORPUS / "schema.sql").read_text(encoding="utf-8")
READ = "SELECT code, name FROM countries"


async def test_a_search_path_set_by_a_statement_reads_another_schema(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """`SET search_path = archive, public` (or set_config) stays for the session: the next
    `SELECT … FROM countries` reads archive's tenant rows, every tenant's."""
    data = "\n".join(
        (CORPUS / n).read_text(encoding="utf-8") for n in ("data_common.sql", "data_b.sql")
    )
    async with fresh_database(postgres, SCHEMA + data) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            assert sorted(tuple(r) for r in await conn.fetch(READ)) == [("es", "Spain")]
            await conn.execute("SET search_path = archive, public")
            rows = sorted(tuple(r) for r in await conn.fetch(READ))
            assert rows == [("es", "A old"), ("fr", "B old b")]  # the other tenant's row
            await conn.execute("SELECT set_config('search_path', 'public, archive', false)")
            assert sorted(tuple(r) for r in await conn.fetch(READ)) == [("es", "Spain")]
        finally:
            await conn.close()
    policy = policy_for(tmp_path, SCHEMA, tenant_column="org", search_path=("public",))
    assert codes(READ, policy) == []
    for sql in (
        "SET search_path = archive, public",
        "SET LOCAL search_path TO archive",
        "SELECT set_config('search_path', 'archive, public', false)",
        "SELECT set_config('search_path', $1, true)",
    ):
        assert codes(sql, policy) == ["TG006"], sql
    for sql in ("SET search_path = public, archive", "SET search_path TO DEFAULT"):
        assert codes(sql, policy) == [], sql


async def test_a_search_path_set_for_the_role_by_the_sources_reads_another_schema(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """`ALTER ROLE app IN DATABASE … SET search_path = archive, public` in the schema sources:
    every later session of app reads archive's countries."""
    data = "\n".join(
        (CORPUS / n).read_text(encoding="utf-8") for n in ("data_common.sql", "data_b.sql")
    )
    role = "h35p_app"
    async with fresh_database(postgres, SCHEMA + data) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
                f"CREATE ROLE {role} LOGIN; END IF; END $$;"
                f"GRANT USAGE ON SCHEMA archive TO {role};"
                f"GRANT SELECT ON ALL TABLES IN SCHEMA public, archive TO {role};"
            )
            database = await conn.fetchval("SELECT current_database()")
            await conn.execute(
                f"ALTER ROLE {role} IN DATABASE {database} SET search_path = archive, public"
            )
            app = await asyncpg.connect(postgres.dsn_for(database, user=role))
            try:
                rows = sorted(tuple(r) for r in await app.fetch(READ))
            finally:
                await app.close()
            assert rows == [("es", "A old"), ("fr", "B old b")]  # the other tenant's row
        finally:
            await conn.close()
    later = SCHEMA + f"\nALTER ROLE {role} SET search_path = archive, public;\n"
    policy = policy_for(tmp_path, later, tenant_column="org", search_path=("public",))
    assert codes(READ, policy) == ["TG001"]
    # the reader is then sure of no name (`names_unsure`): public's, named, too (a false alarm
    # kept: a role's path set in the sources is rare, and the names it reads unknown)
    assert codes("SELECT * FROM public.countries", policy) == ["TG001"]


# 3. `CREATE TABLE IF NOT EXISTS` of a name a schema holds already does nothing: the table made
# before (with the tenant column) stays. The reader took the second definition for public's
# table, a plain global one, and read `countries` as global.
IF_NOT_EXISTS = """
CREATE TABLE countries (org uuid NOT NULL, code text NOT NULL, name text NOT NULL);
CREATE SCHEMA archive;
CREATE TABLE archive.countries (org uuid NOT NULL, code text NOT NULL, name text NOT NULL);
CREATE TABLE IF NOT EXISTS countries (code text PRIMARY KEY, name text NOT NULL);
"""


async def test_a_table_made_again_if_not_exists_keeps_its_tenant_column(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    data = f"INSERT INTO public.countries VALUES ('{A}', 'es', 'mine'), ('{B}', 'fr', 'theirs');"
    async with fresh_database(postgres, IF_NOT_EXISTS + data) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET search_path = public")
            rows = sorted(tuple(r) for r in await conn.fetch(READ))
        finally:
            await conn.close()
    assert rows == [("es", "mine"), ("fr", "theirs")]  # every tenant's rows
    policy = policy_for(tmp_path, IF_NOT_EXISTS, tenant_column="org", search_path=("public",))
    assert codes(READ, policy) == ["TG001"]
    # twin: made once, IF NOT EXISTS, without the tenant column: public's global table
    once = IF_NOT_EXISTS.replace(
        "CREATE TABLE countries (org uuid NOT NULL, code text NOT NULL, name text NOT NULL);", ""
    )
    policy = policy_for(tmp_path, once, tenant_column="org", search_path=("public",))
    assert codes(READ, policy) == []
