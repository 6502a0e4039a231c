"""Round 36, helper P: an outside attack on round 36's new acceptances of the static proof
(h36B), on PostgreSQL 15.

1. An ICU collation counted as deterministic by the shape of its name (`*-x-icu`): a collation
   is a schema object found by the search path, so a name pg_catalog lacks (`"ci-x-icu"`,
   `"und-u-ks-level2-x-icu"`) is the schema's own, perhaps `deterministic = false`: `org
   COLLATE "ci-x-icu" = 'acme'` returns 'ACME''s rows too. A name pg_catalog holds is
   pg_catalog's (searched first), whatever another schema makes under it (`public."de-x-icu"`).
2. TG006's pg_class `*` narrowed to `c.*` of pg_class itself (h36B): the alias of a
   parenthesized join holding pg_class (`(pg_class c JOIN pg_namespace n ON …) AS j`) is
   pg_class's row too, and `j.*` reads reltuples, which counts the other tenant's rows.
3. The sessions' search path naming pg_catalog after public (config `search_path`): public's
   collation of an imported name wins; such a configuration is an error now.
4. `org::varchar(40)` of a varchar(40) column (h36B) after an alembic migration's
   `op.alter_column("codes", "org", type_=sa.String(80))`: the reader kept length 40, and the
   cast cut the other tenant's 41-character id to this tenant's 40 characters.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.config import Settings, build_policy
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.errors import ConfigError
from tests.conftest import fresh_database
from tests.leak_corpus import codes
from tests.proof.test_schema import policy_for

COLLATIONS = """
CREATE TABLE tenants (org text PRIMARY KEY);
CREATE COLLATION "ci-x-icu" (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE COLLATION "und-u-ks-level2-x-icu" (provider = icu, locale = 'und-u-ks-level2',
    deterministic = false);
CREATE COLLATION public."de-x-icu" (provider = icu, locale = 'und-u-ks-level2',
    deterministic = false);
CREATE TABLE codes (org text NOT NULL, id int PRIMARY KEY, code text NOT NULL);
CREATE UNIQUE INDEX codes_ci ON codes (org COLLATE "ci-x-icu", code);
INSERT INTO tenants VALUES ('acme'), ('ACME');
INSERT INTO codes VALUES ('acme', 1, 'x'), ('ACME', 2, 'y');
"""

# made ICU-like collations pg_catalog lacks: both tenants' rows
MADE = [
    'SELECT id FROM codes WHERE org COLLATE "ci-x-icu" = $1 ORDER BY id',
    'SELECT id FROM codes WHERE org = $1 COLLATE "und-u-ks-level2-x-icu" ORDER BY id',
]
# a name pg_catalog holds: pg_catalog's, deterministic, though public made one of its own
IMPORTED = [
    'SELECT id FROM codes WHERE org COLLATE "de-x-icu" = $1 ORDER BY id',
    'SELECT id FROM codes WHERE org COLLATE "und-x-icu" = $1 ORDER BY id',
]
UPSERT = (
    "INSERT INTO codes (org, id, code) VALUES ($1, 3, 'y') ON CONFLICT "
    '(org COLLATE "ci-x-icu", code) DO UPDATE SET id = codes.id + 10 RETURNING id'
)


async def test_an_icu_collation_is_known_by_pg_catalogs_list_not_by_its_name(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    async with fresh_database(postgres, COLLATIONS) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in MADE:
                assert [r[0] for r in await conn.fetch(sql, "acme")] == [1, 2], sql
            for sql in IMPORTED:
                assert [r[0] for r in await conn.fetch(sql, "acme")] == [1], sql
            tx = conn.transaction()
            await tx.start()
            try:  # acme's 'y' conflicts with ACME's row under ci: ACME's row is updated
                assert [r[0] for r in await conn.fetch(UPSERT, "acme")] == [12]
                rows = await conn.fetch("SELECT org, id FROM codes ORDER BY id")
                assert [tuple(r) for r in rows] == [("acme", 1), ("ACME", 12)]
            finally:
                await tx.rollback()
        finally:
            await conn.close()
    policy = policy_for(tmp_path, COLLATIONS, tenant_column="org")
    for sql in MADE:
        assert codes(sql, policy) == ["TG001"], sql
    for sql in IMPORTED:
        assert codes(sql, policy) == [], sql
    assert "TG003" in codes(UPSERT, policy)


JOINED = (
    "SELECT j.* FROM (pg_namespace n JOIN pg_class c ON n.oid = c.relnamespace) AS j"
    " WHERE j.relname = 'codes'"
)
TABLE = (
    "CREATE TABLE tenants (org text PRIMARY KEY);\n"
    "CREATE TABLE codes (org text NOT NULL, id int);\n"
    "CREATE TABLE kinds (k text PRIMARY KEY);\n"
)


async def test_the_star_of_a_join_alias_holding_pg_class_counts_other_tenants_rows(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """Two databases differing only in the other tenant's rows (one, or three): acme's own
    read of `j.*` tells them apart by reltuples."""
    counts = []
    for theirs in (1, 3):
        rows = ", ".join(f"('other', {i})" for i in range(theirs))
        data = f"INSERT INTO codes VALUES ('acme', 100), {rows};\nANALYZE codes;\n"
        async with fresh_database(postgres, TABLE + data) as dsn:
            conn = await asyncpg.connect(dsn)
            try:
                row = await conn.fetchrow(JOINED)
                assert row is not None
                counts.append(row["reltuples"])
            finally:
                await conn.close()
    assert counts == [2, 4]
    policy = policy_for(tmp_path, TABLE, tenant_column="org")
    assert codes(JOINED, policy) == ["TG006"]
    beside = "SELECT c.relname, j.* FROM pg_class c, (kinds t JOIN kinds u ON u.k = t.k) AS j"
    assert codes(beside, policy) == []


async def test_a_configured_path_with_pg_catalog_after_public_is_refused(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """Under `search_path = public, pg_catalog` (the sessions' path, config `search_path`),
    `COLLATE "de-x-icu"` is public's nondeterministic collation of that name (and `=`,
    `lower()` could be public's too): the proof reads them as pg_catalog's, so such a
    configuration is an error, as a statement setting that path is TG006."""
    async with fresh_database(postgres, COLLATIONS) as dsn:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": "public, pg_catalog"})
        try:
            rows = await conn.fetch(IMPORTED[0], "acme")
            assert [r[0] for r in rows] == [1, 2]  # acme's and ACME's rows
        finally:
            await conn.close()
    for path in (("public", "pg_catalog"), ("$user", "public", "PG_CATALOG")):
        with pytest.raises(ConfigError, match="pg_catalog"):
            policy_for(tmp_path, COLLATIONS, tenant_column="org", search_path=path)
    first = policy_for(
        tmp_path, COLLATIONS, tenant_column="org", search_path=("pg_catalog", "public")
    )
    assert codes(IMPORTED[0], first) == []


MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute("CREATE TABLE tenants (org varchar(40) PRIMARY KEY)")
    op.execute("CREATE TABLE codes (org varchar(40) NOT NULL, id int PRIMARY KEY)")
"""
WIDENED = '    op.alter_column("codes", "org", type_=sa.String(80))\n'
MINE = "t" * 40  # tenant 1's id: 40 characters; the other tenant's: the same and one more
CUT = "SELECT id FROM codes WHERE org::varchar(40) = $1 ORDER BY id"


def _alembic_policy(root: Path, migration: str) -> object:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (versions / "0001_init.py").write_text(migration, encoding="utf-8")
    return build_policy(Settings(root=root, schema_paths=("migrations",), tenant_column="org"))  # type: ignore[arg-type]


async def test_an_alembic_type_change_forgets_the_varchar_length(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    schema = (
        "CREATE TABLE tenants (org varchar(80) PRIMARY KEY);\n"
        "CREATE TABLE codes (org varchar(80) NOT NULL, id int PRIMARY KEY);\n"
        f"INSERT INTO codes VALUES ('{MINE}', 1), ('{MINE}b', 2);\n"
    )
    async with fresh_database(postgres, schema) as dsn:
        conn = await asyncpg.connect(dsn)
        try:  # the database after the migration: the other tenant's row 2 too
            assert [r[0] for r in await conn.fetch(CUT, MINE)] == [1, 2]
        finally:
            await conn.close()
    widened = _alembic_policy(tmp_path / "widened", MIGRATION + WIDENED)
    assert codes(CUT, widened) == ["TG001"]
    assert codes("SELECT id FROM codes WHERE org = $1", widened) == []
    kept = _alembic_policy(tmp_path / "kept", MIGRATION)  # still varchar(40): nothing is cut
    assert codes(CUT, kept) == []
