"""False alarms and confusing messages of round 24, each a class of shapes real projects write,
with the leaking twin that must still be flagged, through the command line.

1. Constant strings joined by `+` (also parenthesised, implicit, with module constants) are one
   constant: in an alembic migration (a schema source) and in application code alike.
2. A base class's `table = None` is no table a query runs on: its subclasses' values are.
3. A column chosen from a dict of constants (`ORDER.get(o) or "id"`, `ORDER[o]`, a dict display,
   `dict(...)`) is each of its constants.
4. A parameter typed `Literal["name", "created_at"]` (an alias of it, `| None` with a default)
   holds one of the literal's strings.
5. A message never names the internal number that stands for an f-string's hole (`$60000`).
6. An extensionless script named on the command line is read by its shebang.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantguard.cli import main

SCHEMA = (
    "CREATE TABLE tenants (id bigint PRIMARY KEY);\n"
    "CREATE TABLE invoices (id serial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES "
    "tenants(id), name text, created_at timestamptz);\n"
    "CREATE TABLE notes (id serial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES "
    "tenants(id), body text);\n"
)
CONFIG = '[tool.tenantguard]\ntenant_column = "tenant_id"\nschema_paths = ["schema.sql"]\n'
MIGRATED = CONFIG.replace('"schema.sql"]', '"schema.sql", "alembic"]')


def _project(root: Path, files: dict[str, str]) -> None:
    for name, text in {"schema.sql": SCHEMA, "pyproject.toml": CONFIG, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _run(
    root: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *paths: str,
) -> list[dict[str, object]]:
    monkeypatch.chdir(root)
    code = main(["check", "--no-cache", "--format", "json", *(paths or (".",))])
    findings: list[dict[str, object]] = json.loads(capsys.readouterr().out)["findings"]
    assert code == (1 if any(f["severity"] == "error" for f in findings) else 0)
    return findings


def _found(
    root: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *paths: str,
) -> list[tuple[str, int, str]]:
    return sorted(
        (str(f["path"]), int(str(f["line"])), str(f["rule"]))
        for f in _run(root, capsys, monkeypatch, *paths)
    )


# 1. constant concatenation

REVISION = '''\
"""audit tables"""
from alembic import op

revision = "0002"
down_revision = "0001"
COLUMNS = "id serial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants(id)"
OPEN = "CREATE TABLE audit_d ("


def upgrade() -> None:
    op.execute("CREATE TABLE audit_a (" + "id serial PRIMARY KEY, tenant_id bigint NOT NULL" + ")")
    op.execute(("CREATE TABLE audit_b (" + COLUMNS + ")"))
    op.execute(
        "CREATE TABLE audit_c ("
        "id serial PRIMARY KEY, tenant_id bigint NOT NULL"
        ")"
    )
    op.execute(OPEN + COLUMNS + ")")
    op.execute("CREATE INDEX audit_a_tenant ON audit_a (tenant_id" + ")")


def downgrade() -> None:
    op.execute("DROP TABLE " + "audit_a")
'''


def test_constant_concatenation_in_a_migration_is_one_schema_statement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each `+` operand was read as a statement of its own (`CREATE TABLE audit_a (`): TG006
    on every such migration, and the tables it made unseen. Folded, they are read: their
    unpinned reads are the leaking twins."""
    app = "".join(
        f"async def read_{t}(pool):\n"
        f'    return await pool.fetch("SELECT * FROM audit_{t}")\n'
        f"async def pinned_{t}(pool, tenant_id):\n"
        f'    return await pool.fetch("SELECT * FROM audit_{t} WHERE tenant_id = $1", tenant_id)\n'
        for t in "abcd"
    )
    _project(
        tmp_path,
        {
            "pyproject.toml": MIGRATED,
            "alembic/versions/0002_audit.py": REVISION,
            "app/audit.py": app,
        },
    )
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app/audit.py", line, "TG001") for line in (2, 6, 10, 14)
    ]


def test_constant_concatenation_in_application_code_is_one_string(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query kept in a module constant built with `+` (sent by a driver the check does not
    know) was checked piece by piece: `"SELECT id FROM invoices "` alone is unpinned. (A module
    constant that is SQL by itself is still checked where it is written: another module may
    send it alone.)"""
    queries = (
        "import db\n"
        'WHERE = "WHERE tenant_id = $1"\n'
        'BY_TENANT = "SELECT id FROM invoices " + WHERE\n'
        'JOINED = ("SELECT id FROM invoices " + "WHERE tenant_id = $1 "\n'
        '          "AND name = $2")\n'
        'LEAK = "SELECT id FROM notes " + "WHERE body = $1"\n'
        "def run(t):\n"
        "    db.run(BY_TENANT, t)\n"
        "    db.run(JOINED, t)\n"
        "    db.run(LEAK, t)\n"
    )
    _project(tmp_path, {"app/queries.py": queries})
    assert _found(tmp_path, capsys, monkeypatch) == [("app/queries.py", 6, "TG001")]
