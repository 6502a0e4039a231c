"""Round 31 (helper h31f): a baseline whose roles differ from what the patches leave, which
verify — run where the patches have created and altered the server's roles — could not see."""

from __future__ import annotations

import os
import re
from pathlib import Path

import asyncpg

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.verify import sync_baseline, verify_pipeline
from tests.pipeline.test_pipeline_faults import fetchval, write

_CHECK = "the baseline creates the roles the patches create"


async def test_a_role_a_later_patch_alters_is_created_as_the_patches_leave_it(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """The application's role is created `BYPASSRLS`, and a later hardening patch says
    `ALTER ROLE … NOBYPASSRLS`. sync wrote the baseline's role from the first patch alone
    (`CREATE ROLE … NOLOGIN BYPASSRLS`) and verify passed (the server's role had been altered
    by the patches): on a new server the baseline's application role bypassed row-level
    security. Now the baseline creates it with the attributes the patches leave it with, and
    verify fails a baseline that creates it otherwise."""
    role = f"tg_h31f_app_{os.getpid()}"
    await fetchval(postgres.dsn, f"DROP ROLE IF EXISTS {role}")
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(
        patches,
        "0001_app.sql",
        f"""
        DO $$ BEGIN
            IF to_regrole('{role}') IS NULL THEN CREATE ROLE {role} NOLOGIN BYPASSRLS; END IF;
        END $$;
        CREATE TABLE IF NOT EXISTS notes (tenant_id bigint NOT NULL, body text);
        GRANT SELECT ON notes TO {role};
        """,
    )
    write(patches, "0002_harden.sql", f"ALTER ROLE {role} NOBYPASSRLS CONNECTION LIMIT 5;\n")
    name = f"tg_h31f_roles_{os.getpid()}"
    try:
        await sync_baseline(postgres.dsn, patches, baseline, throwaway_server=True)
        text = baseline.read_text()
        assert (await verify_pipeline(postgres.dsn, patches, baseline, throwaway_server=True)).ok
        # a new server: the role does not exist there yet
        await fetchval(postgres.dsn, f"DROP OWNED BY {role}")
        await fetchval(postgres.dsn, f"DROP ROLE {role}")
        await fetchval(postgres.dsn, f"CREATE DATABASE {name}")
        conn = await asyncpg.connect(postgres.dsn_for(name))
        try:
            await conn.execute(text)
            row = await conn.fetchrow(
                "SELECT rolbypassrls, rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname = $1",
                role,
            )
            assert row is not None
            assert (row["rolbypassrls"], row["rolcanlogin"], row["rolconnlimit"]) == (
                False,
                False,
                5,
            )
        finally:
            await conn.close()
        # a baseline that creates the role otherwise (hand-edited, or written before): verify
        # says so, although the server's role is as the patches leave it
        await fetchval(postgres.dsn, f"DROP DATABASE {name} WITH (FORCE)")
        await fetchval(postgres.dsn, f"ALTER ROLE {role} NOBYPASSRLS CONNECTION LIMIT 5")
        stale = re.sub(rf"CREATE ROLE {role}\b[^;]*", f"CREATE ROLE {role} NOLOGIN BYPASSRLS", text)
        assert stale != text
        baseline.write_text(stale)
        report = await verify_pipeline(postgres.dsn, patches, baseline, throwaway_server=True)
        failed = {check: said for check, passed, said in report.checks if not passed}
        assert list(failed) == [_CHECK]
        assert f"role {role}: the patches leave it as" in failed[_CHECK]
        assert "BYPASSRLS" in failed[_CHECK]
    finally:
        await fetchval(postgres.dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if await fetchval(postgres.dsn, "SELECT to_regrole($1) IS NOT NULL", role):
            await fetchval(postgres.dsn, f"DROP OWNED BY {role}")
            await fetchval(postgres.dsn, f"DROP ROLE {role}")


_MEMBERS = """
SELECT coalesce(string_agg(pg_get_userbyid(roleid) || '>' || pg_get_userbyid(member)
                           || CASE WHEN admin_option THEN '+admin' ELSE '' END, ', '
                           ORDER BY 1), '')
FROM pg_auth_members WHERE pg_get_userbyid(member) = ANY($1::text[])
"""


async def test_memberships_a_later_patch_changes_reach_the_baseline(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """`CREATE ROLE app … IN ROLE adm`, then a hardening patch's `REVOKE adm FROM app` and a
    `GRANT rdr TO app`: the baseline copied the CREATE ROLE with its `IN ROLE adm` and had no
    GRANT (pg_dump dumps no memberships), verify passed where the patches had changed the
    server's roles, and on a new server the application role was a member of adm and not of
    rdr. Now the baseline grants the memberships the patches leave, and verify compares them."""
    tag = os.getpid()
    adm, rdr, app = f"tg_h31f_adm_{tag}", f"tg_h31f_rdr_{tag}", f"tg_h31f_app2_{tag}"
    roles = [app, rdr, adm]
    for role in roles:
        await fetchval(postgres.dsn, f"DROP ROLE IF EXISTS {role}")
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    guard = "DO $$ BEGIN IF to_regrole('{0}') IS NULL THEN CREATE ROLE {0} {1}; END IF; END $$;\n"
    write(
        patches,
        "0001_roles.sql",
        guard.format(adm, "NOLOGIN")
        + guard.format(rdr, "NOLOGIN")
        + guard.format(app, f"NOLOGIN IN ROLE {adm}")
        + "CREATE TABLE IF NOT EXISTS notes (tenant_id bigint NOT NULL, body text);\n",
    )
    write(patches, "0002_harden.sql", f"REVOKE {adm} FROM {app};\nGRANT {rdr} TO {app};\n")
    name = f"tg_h31f_members_{tag}"
    try:
        await sync_baseline(postgres.dsn, patches, baseline, throwaway_server=True)
        text = baseline.read_text()
        assert (await verify_pipeline(postgres.dsn, patches, baseline, throwaway_server=True)).ok
        for role in roles:  # a new server
            await fetchval(postgres.dsn, f"DROP ROLE {role}")
        await fetchval(postgres.dsn, f"CREATE DATABASE {name}")
        conn = await asyncpg.connect(postgres.dsn_for(name))
        try:
            await conn.execute(text)
            assert await conn.fetchval(_MEMBERS, roles) == f"{rdr}>{app}"
            await conn.execute(text.replace("BEGIN;", "BEGIN; DROP TABLE notes;", 1))
            assert await conn.fetchval(_MEMBERS, roles) == f"{rdr}>{app}"  # loads again
        finally:
            await conn.close()
        # a baseline that makes the application role an admin again: verify says so
        stale = text.replace(f'GRANT "{rdr}" TO "{app}"', f'GRANT "{adm}" TO "{app}"')
        assert stale != text
        baseline.write_text(stale)
        report = await verify_pipeline(postgres.dsn, patches, baseline, throwaway_server=True)
        failed = {check: said for check, passed, said in report.checks if not passed}
        assert list(failed) == [_CHECK]
        assert f"role {app} in role {adm}: the patches leave no membership" in failed[_CHECK]
        assert f"role {app} in role {rdr}: the patches leave a member" in failed[_CHECK]
    finally:
        await fetchval(postgres.dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        for role in roles:
            if await fetchval(postgres.dsn, "SELECT to_regrole($1) IS NOT NULL", role):
                await fetchval(postgres.dsn, f"DROP OWNED BY {role}")
                await fetchval(postgres.dsn, f"DROP ROLE {role}")


async def test_role_settings_the_patches_give_reach_the_baseline(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """`ALTER ROLE reporting SET default_transaction_read_only = on` (a read-only reporting
    role): pg_dump does not dump a role's own settings, sync wrote the role without it and
    verify passed where the patches had set it on the server — a new install's reporting role
    could write. The baseline now creates the role with the settings the patches leave it (a
    RESET taken into account), and verify fails a baseline without them."""
    role = f"tg_h31f_reporting_{os.getpid()}"
    await fetchval(postgres.dsn, f"DROP ROLE IF EXISTS {role}")
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(
        patches,
        "0001_reporting.sql",
        f"DO $$ BEGIN IF to_regrole('{role}') IS NULL THEN CREATE ROLE {role} LOGIN; END IF; "
        "END $$;\nCREATE TABLE IF NOT EXISTS notes (tenant_id bigint NOT NULL, body text);\n"
        f"GRANT SELECT, INSERT ON notes TO {role};\n",
    )
    write(
        patches,
        "0002_read_only.sql",
        f"ALTER ROLE {role} SET default_transaction_read_only = on;\n"
        f"ALTER ROLE {role} SET statement_timeout = '5s';\n"
        f"ALTER ROLE {role} RESET statement_timeout;\n",
    )
    name = f"tg_h31f_settings_{os.getpid()}"
    try:
        await sync_baseline(postgres.dsn, patches, baseline, throwaway_server=True)
        text = baseline.read_text()
        assert (await verify_pipeline(postgres.dsn, patches, baseline, throwaway_server=True)).ok
        await fetchval(postgres.dsn, f"DROP OWNED BY {role}")
        await fetchval(postgres.dsn, f"DROP ROLE {role}")  # a new server
        await fetchval(postgres.dsn, f"CREATE DATABASE {name}")
        conn = await asyncpg.connect(postgres.dsn_for(name))
        try:
            await conn.execute(text)
            config = await conn.fetchval("SELECT rolconfig FROM pg_roles WHERE rolname = $1", role)
            assert config == ["default_transaction_read_only=on"]
        finally:
            await conn.close()
        stale = re.sub(rf"; ALTER ROLE {role} SET [^;]*", "", text)
        assert stale != text
        baseline.write_text(stale)
        report = await verify_pipeline(postgres.dsn, patches, baseline, throwaway_server=True)
        failed = {check: said for check, passed, said in report.checks if not passed}
        assert list(failed) == [_CHECK]
        assert f"role {role}: setting default_transaction_read_only" in failed[_CHECK]
    finally:
        await fetchval(postgres.dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if await fetchval(postgres.dsn, "SELECT to_regrole($1) IS NOT NULL", role):
            await fetchval(postgres.dsn, f"DROP OWNED BY {role}")
            await fetchval(postgres.dsn, f"DROP ROLE {role}")


def test_role_statements_in_one_do_block_are_read_in_the_order_written(tmp_path: Path) -> None:
    """A DO block's statements were read backwards: `CREATE ROLE r …; ALTER ROLE r …` in one
    block saw the ALTER before the role existed, and `GRANT a TO r; REVOKE a FROM r;` ended
    granted."""
    from tenantguard.patches.files import read_patches
    from tenantguard.patches.verify import _roles_and_members

    write(
        tmp_path,
        "0001_roles.sql",
        """
        DO $$ BEGIN
            CREATE ROLE r_adm NOLOGIN;
            CREATE ROLE r_app NOLOGIN BYPASSRLS;
            ALTER ROLE r_app NOBYPASSRLS;
            GRANT r_adm TO r_app;
            REVOKE r_adm FROM r_app;
        END $$;
        """,
    )
    roles, members = _roles_and_members(read_patches(tmp_path))
    assert "NOBYPASSRLS" in roles["r_app"][1]
    assert members == {}
