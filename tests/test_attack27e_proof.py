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

from .test_schema import policy_for

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
