"""Round 27 (outside review e) of the same row by a key unique by itself: where the schema
reader kept a key unique by itself that the server no longer holds for the table a query reads,
`DELETE FROM leads WHERE id IN (SELECT id FROM leads WHERE tenant_id = $1)` was proven pinned
and deleted another tenant's rows.

- `ADD CONSTRAINT … UNIQUE USING INDEX idx DEFERRABLE`: the unique index, read as a key when
  created, is deferred with the constraint (checked at commit only): within a transaction the
  tenant inserts a row of its own with the victim's id, the delete takes both, and the commit
  finds the key unique again.
- a table of the name created again elsewhere than the reader thought: after `ALTER TABLE …
  SET SCHEMA`, `SET search_path`, in `CREATE SCHEMA … CREATE TABLE`, or by `SELECT … INTO`
  another schema: the key was the other table's, and the search path reads the one without.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tenantguard import Policy
from tenantguard.engine.analyze import analyze_statement
from tests.proof.test_schema import policy_for

DELETE = "DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE tenant_id = $1 LIMIT 10)"

_KEYED = "CREATE TABLE {t} (id bigint PRIMARY KEY, tenant_id bigint, name text);\n"
_BARE = "CREATE TABLE {t} (id bigint, tenant_id bigint, name text);\n"

# schema sources after which the table `leads` a query names holds ids of two tenants
LEAKS = {
    "deferred": (
        _BARE.format(t="leads") + "CREATE UNIQUE INDEX leads_id ON leads (id);\n"
        "ALTER TABLE leads ADD CONSTRAINT leads_id_u UNIQUE USING INDEX leads_id "
        "DEFERRABLE INITIALLY DEFERRED;\n"
    ),
    "moved": (
        "CREATE SCHEMA app;\n"
        + _KEYED.format(t="leads")
        + "ALTER TABLE leads SET SCHEMA app;\n"
        + _BARE.format(t="leads")
    ),
    "search path": (
        "CREATE SCHEMA app;\nSET search_path = app;\n"
        + _KEYED.format(t="leads")
        + "SET search_path = public;\n"
        + _BARE.format(t="leads")
    ),
    "set_config": (  # the search path set as pg_dump sets it
        "CREATE SCHEMA app;\nSELECT pg_catalog.set_config('search_path', 'app', false);\n"
        + _KEYED.format(t="leads")
        + "SELECT set_config('search_path', 'public', false);\n"
        + _BARE.format(t="leads")
    ),
    "schema element": (
        _KEYED.format(t="leads")
        + "CREATE SCHEMA app CREATE TABLE leads (id bigint, tenant_id bigint, name text);\n"
    ),
    "select into": (
        _KEYED.format(t="leads")
        + "CREATE SCHEMA app;\nSELECT id, tenant_id, name INTO app.leads FROM public.leads;\n"
    ),
}
# what the query reads there: the search path of the application's role
SEARCH_PATH = {"schema element": "app, public", "select into": "app, public"}
# a table moved away alone keeps its key (the query then reads it in its new schema)
SAFE = "CREATE SCHEMA app;\n" + _KEYED.format(t="leads") + "ALTER TABLE leads SET SCHEMA app;\n"


def _codes(sql: str, policy: object) -> list[str]:
    assert isinstance(policy, Policy)
    return sorted(f.code for f in analyze_statement(sql, policy).findings)


def test_keys_the_read_table_does_not_hold_prove_no_same_row(tmp_path: Path) -> None:
    for number, (name, ddl) in enumerate(LEAKS.items()):
        root = tmp_path / str(number)
        root.mkdir()
        assert _codes(DELETE.format(t="leads"), policy_for(root, ddl)) == ["TG001"], name
    root = tmp_path / "safe"
    root.mkdir()
    assert _codes(DELETE.format(t="leads"), policy_for(root, SAFE)) == []


async def test_the_deletes_take_the_victims_rows_on_the_server(database: str) -> None:
    for name, ddl in LEAKS.items():
        conn = await asyncpg.connect(database)
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(ddl)
            await conn.execute(f"SET LOCAL search_path = {SEARCH_PATH.get(name, 'public')}")
            if name != "deferred":
                await conn.execute(
                    "INSERT INTO leads (id, tenant_id, name) VALUES (1, 101, 'own'), "
                    "(1, 202, 'VICTIM')"
                )
            if name == "deferred":
                await conn.execute(
                    "INSERT INTO leads VALUES (1, 202, 'VICTIM'); SET CONSTRAINTS ALL IMMEDIATE;"
                    "SET CONSTRAINTS ALL DEFERRED;"
                    "INSERT INTO leads (id, tenant_id, name) VALUES (1, 101, 'own')"
                )
            rows = await conn.fetch(DELETE.format(t="leads") + " RETURNING name", 101)
            if name == "deferred":  # the key holds again: the commit would keep the delete
                await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
            assert "VICTIM" in [r[0] for r in rows], (name, rows)
        finally:
            await transaction.rollback()
            await conn.close()


def test_a_dump_and_its_patches_keep_their_keys(tmp_path: Path) -> None:
    """pg_dump's `set_config('search_path', '', false)` holds for its own file: a patch read
    after it, creating the table unqualified (as on the baseline's database, in another
    session), creates the same public table — its key stays believed."""
    from tenantguard.config import Settings, build_policy

    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "baseline.sql").write_text(
        "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "CREATE TABLE public.leads (id bigint NOT NULL, tenant_id bigint, name text);\n"
        "ALTER TABLE ONLY public.leads ADD CONSTRAINT leads_pkey PRIMARY KEY (id);\n",
        encoding="utf-8",
    )
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "0001.sql").write_text(
        "CREATE TABLE IF NOT EXISTS leads (id bigint PRIMARY KEY, tenant_id bigint, name text);\n",
        encoding="utf-8",
    )
    policy = build_policy(Settings(root=tmp_path, schema_paths=("db", "patches")))
    assert _codes(DELETE.format(t="leads"), policy) == []


# Round 27 (outside review f): sources after which the reader placed a table (or a key) where the
# server did not — each a list of files, each file a session of its own (as psql runs a
# migration), each statement sent by itself (SET LOCAL outside a block does nothing; DISCARD ALL
# runs in no block). The application's session has the default search path ("$user", public:
# no schema is named as its role, postgres), but for "database default path", whose sources
# set the database's own (ALTER DATABASE … SET search_path, as its sessions then read it).
_OWNER = "tg27f_owner"
SESSION_LEAKS: dict[str, list[str]] = {
    # set_config splits the path as PostgreSQL does: `PUBLIC` is public, not "PUBLIC"
    "set_config folds case": [
        'CREATE SCHEMA "PUBLIC";\n'
        "SELECT set_config('search_path', 'PUBLIC', false);\n"
        + _BARE.format(t="leads")
        + _KEYED.format(t='"PUBLIC".leads')
    ],
    # the first schema of the path that exists: app is made after
    "first schema missing": [
        "SET search_path = app, public;\n"
        + _BARE.format(t="leads")
        + "CREATE SCHEMA app;\n"
        + _KEYED.format(t="app.leads")
    ],
    # a temporary table is the session's own: the unqualified one after it is public's
    "temporary": [
        _KEYED.format(t="TEMP TABLE leads").replace("TABLE TEMP TABLE", "TEMP TABLE")
        + _BARE.format(t="leads").replace("TABLE", "TABLE IF NOT EXISTS", 1)
    ],
    "drop schema cascade": [
        _KEYED.format(t="leads")
        + "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
        + _BARE.format(t="leads")
    ],
    "rename schema": [
        _KEYED.format(t="leads")
        + "ALTER SCHEMA public RENAME TO archive;\nCREATE SCHEMA public;\n"
        + _BARE.format(t="leads")
    ],
    # of the two tables of the name, the DROP takes app's (the search path's first)
    "drop one of two": [
        _BARE.format(t="leads")
        + "CREATE SCHEMA app;\nSET search_path = app;\n"
        + _KEYED.format(t="leads")
        + "DROP TABLE leads;\n"
    ],
    "set in a DO block": [
        "CREATE SCHEMA app;\nDO $$BEGIN SET search_path = app; END$$;\n"
        + _KEYED.format(t="leads")
        + _BARE.format(t="public.leads")
    ],
    "update pg_settings": [
        "CREATE SCHEMA app;\nUPDATE pg_settings SET setting = 'app' WHERE name = 'search_path';\n"
        + _KEYED.format(t="leads")
        + _BARE.format(t="public.leads")
    ],
    "procedure sets the path": [
        "CREATE SCHEMA app;\nCREATE PROCEDURE use_app() LANGUAGE plpgsql AS "
        "$$BEGIN PERFORM set_config('search_path', 'app', false); END$$;\nCALL use_app();\n"
        + _KEYED.format(t="leads")
        + _BARE.format(t="public.leads")
    ],
    "set local until commit": [
        "CREATE SCHEMA app;\nBEGIN;\nSET LOCAL search_path = app;\n"
        + _KEYED.format(t="leads")
        + "COMMIT;\n"
        + _BARE.format(t="leads")
    ],
    "set local outside a block": [
        "CREATE SCHEMA app;\nSET LOCAL search_path = app;\n"
        + _BARE.format(t="leads")
        + _KEYED.format(t="app.leads")
    ],
    "reset all": [
        "CREATE SCHEMA app;\nSET search_path = app;\n"
        + _KEYED.format(t="leads")
        + "RESET ALL;\n"
        + _BARE.format(t="leads")
    ],
    "discard all": [
        "CREATE SCHEMA app;\nSET search_path = app;\n"
        + _KEYED.format(t="leads")
        + "DISCARD ALL;\n"
        + _BARE.format(t="leads")
    ],
    "set role": [
        f"CREATE SCHEMA AUTHORIZATION {_OWNER};\nGRANT CREATE ON SCHEMA public TO {_OWNER};\n"
        f"SET ROLE {_OWNER};\n"
        + _KEYED.format(t="leads")
        + "RESET ROLE;\n"
        + _BARE.format(t="public.leads")
    ],
    "database default path": [
        "CREATE SCHEMA app;\nDO $$BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = "
        "app, public', current_database()); END$$;\n",
        _BARE.format(t="leads") + _KEYED.format(t="public.leads"),
    ],
    # keys that never were, or are gone
    "rolled back": [
        _BARE.format(t="leads") + "BEGIN;\nCREATE UNIQUE INDEX leads_id ON leads (id);\nROLLBACK;\n"
    ],
    "drop index in a DO block": [
        _BARE.format(t="leads")
        + "CREATE UNIQUE INDEX leads_id ON leads (id);\nDO $$BEGIN DROP INDEX leads_id; END$$;\n"
    ],
    "function drops the index": [
        _BARE.format(t="leads") + "CREATE UNIQUE INDEX leads_id ON leads (id);\n"
        "CREATE FUNCTION drop_it() RETURNS void LANGUAGE sql AS $$ DROP INDEX leads_id $$;\n"
        "SELECT drop_it();\n"
    ],
}


def _policy_of(root: Path, files: list[str]) -> object:
    from tenantguard.config import Settings, build_policy

    (root / "patches").mkdir(parents=True)
    for number, text in enumerate(files):
        (root / "patches" / f"{number + 1:04d}.sql").write_text(text, encoding="utf-8")
    return build_policy(Settings(root=root, schema_paths=("patches",)))


def test_tables_and_keys_placed_as_the_server_places_them(tmp_path: Path) -> None:
    for number, (name, files) in enumerate(SESSION_LEAKS.items()):
        policy = _policy_of(tmp_path / str(number), files)
        assert _codes(DELETE.format(t="leads"), policy) == ["TG001"], name


async def test_those_deletes_take_the_victims_rows_on_the_server(postgres: object) -> None:
    import pglast

    from tests.conftest import fresh_database

    admin_dsn = None
    try:
        for name, files in SESSION_LEAKS.items():
            async with fresh_database(postgres) as dsn:  # type: ignore[arg-type]
                admin_dsn = dsn
                if name == "set role":
                    admin = await asyncpg.connect(dsn)
                    await admin.execute(f"DROP ROLE IF EXISTS {_OWNER}; CREATE ROLE {_OWNER}")
                    await admin.close()
                for text in files:  # each file a session, each statement sent alone
                    conn = await asyncpg.connect(dsn)
                    try:
                        for statement in pglast.split(text):
                            await conn.execute(statement)
                    finally:
                        await conn.close()
                conn = await asyncpg.connect(dsn)
                try:
                    await conn.execute(
                        "INSERT INTO leads (id, tenant_id, name) VALUES (1, 101, 'own'), "
                        "(1, 202, 'VICTIM')"
                    )
                    rows = await conn.fetch(DELETE.format(t="leads") + " RETURNING name", 101)
                    assert "VICTIM" in [r[0] for r in rows], (name, rows)
                finally:
                    await conn.close()
    finally:
        if admin_dsn is not None:
            # the role is the server's: dropped (its database is gone) from another one
            admin = await asyncpg.connect(admin_dsn, database="postgres")
            try:
                await admin.execute(f"DROP ROLE IF EXISTS {_OWNER}")
            finally:
                await admin.close()
