"""Row-Level Security as defense in depth, matching the guard's `set_tenant_setting` option.

`rls_policy_sql()` returns an idempotent patch (a `DO $$` block with catalog checks) that enables
and forces RLS on each tenant table and adds a policy comparing the tenant column with the
session setting the guarded connection maintains. `FORCE ROW LEVEL SECURITY` makes the policy
apply to the table's owner too, so an application that connects as the owner is still contained;
superusers and roles with BYPASSRLS are never subject to RLS (use them for migrations and admin
work, never for the application). `force=False` leaves the owner out, for a schema whose owner
runs cross-tenant jobs.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["rls_policy_sql"]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def rls_policy_sql(
    tables: Iterable[str],
    *,
    tenant_column: str = "tenant_id",
    setting: str = "app.tenant_id",
    column_type: str = "bigint",
    policy_name: str = "tenant_isolation",
    force: bool = True,
) -> str:
    """An idempotent patch enabling (and by default forcing) RLS with a tenant policy on each
    table."""
    blocks = []
    current = f"NULLIF(current_setting({_literal(setting)}, true), '')::{column_type}"
    for table in sorted(set(tables)):
        forced = f"\n    ALTER TABLE {_ident(table)} FORCE ROW LEVEL SECURITY;" if force else ""
        blocks.append(
            f"""DO $$
BEGIN
    ALTER TABLE {_ident(table)} ENABLE ROW LEVEL SECURITY;{forced}
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = {_literal(table)}
          AND policyname = {_literal(policy_name)}
    ) THEN
        CREATE POLICY {_ident(policy_name)} ON {_ident(table)}
            USING ({_ident(tenant_column)} = {current})
            WITH CHECK ({_ident(tenant_column)} = {current});
    END IF;
END
$$;"""
        )
    return "\n\n".join(blocks) + "\n"
