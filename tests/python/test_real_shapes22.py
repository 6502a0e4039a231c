"""Round 22, real code (helper-101, a first-time user's invoicing application): false alarms.

1. A search with four optional filters, three sort keys and two directions sent through a
   `paginate()` helper (a count, then the page) is 48 strings: over the cap of 32, the part
   holding the WHERE list became one unknown part, and every fill of it left the table
   unpinned — an error, TG001, on safe code. The cap is 128 now; over it, the statement is
   still not shown pinned (TG001 and TG009), as before.
2. An invoice-total trigger pinned by `coalesce(NEW.org_id, OLD.org_id)` (the written row's
   tenant on INSERT and DELETE alike) was TG005 at every write: `coalesce` of one and the same
   pinning value, NULLs aside, is that value.
"""

from __future__ import annotations

from pathlib import Path

from tenantguard import Policy
from tests.proof.test_attack11_proof import _codes
from tests.proof.test_schema import policy_for
from tests.python.test_python_sources import findings

SEARCH = """
SORTABLE = {"name": "first_name", "phone": "phone_number", "created": "id"}


async def paginate(conn, query, args, page, per_page):
    total = await conn.fetchval(f"SELECT count(*) FROM ({query}) q", *args)
    rows = await conn.fetch(f"{query} LIMIT {int(per_page)} OFFSET {int(page) * int(per_page)}", *args)
    return total, rows


async def search(conn, tenant, q, archived, sort, descending, page, per_page):
    where = [PIN]
    args = [tenant]
    if q:
        args.append(f"%{q}%")
        where.append(f"(first_name ILIKE ${len(args)} OR phone_number ILIKE ${len(args)})")
    if not archived:
        where.append("status <> 'archived'")
    if sort not in SORTABLE:
        sort = "name"
    direction = "DESC" if descending else "ASC"
    query = f"SELECT id FROM patients WHERE {' AND '.join(where)} ORDER BY {SORTABLE[sort]} {direction}"
    return await paginate(conn, query, args, page, per_page)
"""


def test_a_paginated_search_of_48_strings_is_proven() -> None:
    assert findings(SEARCH.replace("PIN", '"tenant_id = $1"')) == []
    # its twin without the pin: each of the 48 strings is reported where it is written
    leak = findings(SEARCH.replace("PIN", "\"status <> 'x'\""))
    assert leak and {code for _, _, code in leak} == {"TG001"}


TRIGGER = """
CREATE TABLE invoices (id bigint NOT NULL, org_id bigint NOT NULL, total bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, id));
CREATE TABLE invoice_lines (id bigint PRIMARY KEY, org_id bigint NOT NULL, invoice_id bigint NOT NULL,
    cents bigint NOT NULL);
CREATE FUNCTION recompute_total() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE invoices SET total = (SELECT coalesce(sum(cents), 0) FROM invoice_lines l
                               WHERE l.org_id = coalesce(NEW.org_id, OLD.org_id)
                                 AND l.invoice_id = coalesce(NEW.invoice_id, OLD.invoice_id))
  WHERE org_id = coalesce(NEW.org_id, OLD.org_id) AND id = coalesce(NEW.invoice_id, OLD.invoice_id);
  RETURN NULL;
END $$;
CREATE TRIGGER lines_total AFTER INSERT OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION recompute_total();
"""


def test_a_trigger_pinned_by_coalesce_of_new_and_old(tmp_path: Path) -> None:
    policy = policy_for(tmp_path, TRIGGER, tenant_column="org_id")
    assert isinstance(policy, Policy)
    insert = "INSERT INTO invoice_lines (id, org_id, invoice_id, cents) VALUES ($2, $1, $3, $4)"
    delete = "DELETE FROM invoice_lines WHERE org_id = $1 AND id = $2"
    assert _codes(insert, policy) == []
    assert _codes(delete, policy) == []
    # the same trigger pinned by the invoice id alone reaches every org's invoice of that id
    loose = TRIGGER.replace("WHERE org_id = coalesce(NEW.org_id, OLD.org_id) AND ", "WHERE ")
    (tmp_path / "loose").mkdir()
    policy = policy_for(tmp_path / "loose", loose, tenant_column="org_id")
    assert isinstance(policy, Policy)
    assert "TG005" in _codes(delete, policy)


def test_init_proposes_the_setting_the_schema_compares_the_tenant_column_with(
    tmp_path: Path,
) -> None:
    """helpers 101 and 106: `init` kept the default tenant expression (app.tenant_id) beside
    views filtered by `current_setting('app.workspace_id')`, and counted only the files with
    tables ("Read 3 schema file(s)" of 4)."""
    import io

    from tenantguard.init import run_init

    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "001_tables.sql").write_text(
        "CREATE TABLE workspaces (id bigint PRIMARY KEY);\n"
        "CREATE TABLE channels (id bigint PRIMARY KEY, workspace_id bigint NOT NULL "
        "REFERENCES workspaces (id));\n"
        "CREATE TABLE members (id bigint PRIMARY KEY, workspace_id bigint NOT NULL "
        "REFERENCES workspaces (id));\n",
        encoding="utf-8",
    )
    (migrations / "002_views.sql").write_text(
        "CREATE VIEW my_channels AS SELECT * FROM channels "
        "WHERE workspace_id = current_setting('app.workspace_id')::bigint;\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    assert run_init(tmp_path, out=out) == 0
    said = out.getvalue()
    assert "Read 2 schema file(s) in migrations." in said
    assert "Tenant setting: app.workspace_id" in said
    written = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert "tenant_expressions = [\"current_setting('app.workspace_id')\"]" in written
    # the view read through the setting it names is proven
    query = tmp_path / "q.sql"
    query.write_text(
        "SELECT id FROM channels WHERE workspace_id = "
        "current_setting('app.workspace_id')::bigint;\n",
        encoding="utf-8",
    )
    from tenantguard.cli import main

    assert main(["check", "--no-cache", str(query)]) == 0
