from __future__ import annotations

from tenantguard import Policy

CASE_TABLES = {
    "patients",
    "appointments",
    "leads",
    "chat_messages",
    "professionals",
    "clinical_records",
    '"Audit Log"',
}
CASE_COLUMNS = {
    "tenants": ["id", "name", "created_at"],
    "users": ["id", "email", "tenant_id"],
}
CASE_CONSTRAINTS = {
    "leads_tenant_external_key": ["tenant_id", "external_id"],
    "leads_external_key": ["external_id"],
}


def case_policy(**changes: object) -> Policy:
    policy = Policy(
        "tenant_id",
        CASE_TABLES,
        global_tables={"tenants"},
        table_columns=CASE_COLUMNS,
        constraint_columns=CASE_CONSTRAINTS,
    )
    return policy.replace(**changes) if changes else policy
