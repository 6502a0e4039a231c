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
from tests.project_files import write_project

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
    write_project(root, SCHEMA, CONFIG, files)


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


# 2. a base class's None


def test_a_base_classs_none_table_is_no_table_a_query_runs_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`table = None` (or `table: str | None = None`) on the base, each subclass setting its
    table: the base's None gave a TG009 warning and a TG006 (a relation by a placeholder). The
    values a query runs on are the subclasses'; an unpinned one is still found (the twin)."""
    repo = (
        "class Repository:\n"
        "    table = None\n"
        "    async def get(self, pool, tenant_id, id):\n"
        '        return await pool.fetchrow(f"SELECT * FROM {self.table} WHERE tenant_id = $1 '
        'AND id = $2", tenant_id, id)\n'
        "class Typed:\n"
        "    table: str | None = None\n"
        "    async def all(self, pool, tenant_id):\n"
        '        return await pool.fetch(f"SELECT * FROM {self.table} WHERE tenant_id = $1", '
        "tenant_id)\n"
        "    async def by_id(self, pool, id):\n"
        '        return await pool.fetch(f"SELECT * FROM {self.table} WHERE id = $1", id)\n'
        "class Invoices(Repository):\n"
        '    table = "invoices"\n'
        "class Notes(Repository):\n"
        '    table = "notes"\n'
        "class TypedNotes(Typed):\n"
        '    table = "notes"\n'
    )
    _project(tmp_path, {"app/repo.py": repo})
    # the unpinned read of TypedNotes is found where its table is named (line 16)
    assert _found(tmp_path, capsys, monkeypatch) == [("app/repo.py", 16, "TG001")]


# 3. a column chosen from constants

ORDERED = """\
ORDER = {"name": "name", "new": "created_at"}
SQL = "SELECT id FROM invoices WHERE tenant_id = $1 ORDER BY "


async def a(pool, t, o):
    col = ORDER.get(o) or "id"
    return await pool.fetch(SQL + col, t)


async def b(pool, t, o):
    return await pool.fetch(f"{SQL}{ORDER[o]}", t)


async def c(pool, t, o):
    col = ORDER.get(o, None) or "id"
    return await pool.fetch(f"{SQL}{col}", t)


async def d(pool, t, o):
    col = {"name": "name", "new": "created_at"}.get(o.lower()) or "id"
    return await pool.fetch(f"{SQL}{col}", t)


async def e(pool, t, o):
    col = dict(name="name", new="created_at").get(o, "id")
    return await pool.fetch(f"{SQL}{col}", t)


async def f(pool, t, o, desc):
    col = "created_at" if o == "new" else "name"
    return await pool.fetch(f"{SQL}{col} {'DESC' if desc else 'ASC'}", t)
"""


def test_a_column_chosen_from_constants_is_each_of_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TG009 warning for every sort column picked from a dict of constants (`.get` with
    an `or` default, a dict display, `dict(…)`): each constant is checked; one that is an
    unpinned query is found where it is written (the twin)."""
    leak = (
        'SORTS = {"name": "name", "last": "(SELECT max(id) FROM notes)"}\n'
        "async def g(pool, t, o):\n"
        '    col = SORTS.get(o) or "id"\n'
        '    return await pool.fetch(f"SELECT id FROM invoices WHERE tenant_id = $1 '
        'ORDER BY {col}", t)\n'
        "async def h(pool, t, o):\n"
        '    col = {"name": "name", "x": "(SELECT max(id) FROM notes)"}.get(o) or "id"\n'
        '    return await pool.fetch(f"SELECT id FROM invoices WHERE tenant_id = $1 '
        'ORDER BY {col}", t)\n'
    )
    _project(tmp_path, {"app/ordered.py": ORDERED, "app/leak.py": leak})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app/leak.py", 1, "TG001"),
        ("app/leak.py", 6, "TG001"),
    ]


# 4. a parameter typed by a Literal

LITERALS = """\
import typing
from typing import Literal, Optional

Sort = Literal["name", "created_at"]
SQL = "SELECT id FROM invoices WHERE tenant_id = $1 ORDER BY "


async def a(pool, t, sort: Literal["name", "created_at"]):
    return await pool.fetch(f"{SQL}{sort}", t)


async def b(pool, t, sort: Literal["name", "created_at"] | None = None):
    sort = sort or "id"
    return await pool.fetch(f"{SQL}{sort}", t)


async def c(pool, t, sort: Sort = "name"):
    return await pool.fetch(f"{SQL}{sort}", t)


async def d(pool, t, sort: typing.Literal["name"], direction: Literal["ASC", "DESC"] = "ASC"):
    return await pool.fetch(f"{SQL}{sort} {direction}", t)


async def e(pool, t, sort: Optional[Sort] = None):
    return await pool.fetch(f"{SQL}{sort or 'id'}", t)


async def f(pool, t, sort: typing.Annotated[Sort, "a query parameter"] = "name"):
    return await pool.fetch(f"{SQL}{sort}", t)


async def g(pool, t, sort: "Literal['name', 'created_at']"):
    return await pool.fetch(f"{SQL}{sort}", t)
"""


def test_a_parameter_typed_by_a_literal_is_each_of_its_strings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sort: Literal["name", "created_at"]` (an alias, `| None`, `Optional`): its values are
    the literal's, each checked; a literal string that is an unpinned query is found (the
    twin), and an annotation that is not a Literal of strings stays a warning."""
    leak = (
        "from typing import Literal\n"
        'async def g(pool, t, sort: Literal["name", "(SELECT max(id) FROM notes)"]):\n'
        '    return await pool.fetch(f"SELECT id FROM invoices WHERE tenant_id = $1 '
        'ORDER BY {sort}", t)\n'
        "async def h(pool, t, sort: str):\n"
        '    return await pool.fetch(f"SELECT id FROM invoices WHERE tenant_id = $1 '
        'ORDER BY {sort}", t)\n'
    )
    _project(tmp_path, {"app/literals.py": LITERALS, "app/leak.py": leak})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("app/leak.py", 2, "TG001"),
        ("app/leak.py", 5, "TG009"),
    ]


# 5. messages name what the user wrote

SPOKEN = """\
async def two(pool, t1, t2):
    args = [t1]
    sql = f"SELECT id FROM invoices WHERE tenant_id = ${len(args)}"
    args.append(t2)
    sql += f" AND tenant_id = ${len(args)}"
    return await pool.fetch(sql, *args)


async def many(pool, first, second):
    return await pool.fetch(
        f"SELECT id FROM invoices WHERE tenant_id IN ({first}, {second})", 1, 2
    )


async def either(pool, a, b):
    return await pool.fetch(
        f"SELECT id FROM invoices WHERE tenant_id = {a} OR tenant_id = {b}"
    )


async def moved(pool, n, t):
    return await pool.execute(f"UPDATE invoices SET tenant_id = ${n} WHERE tenant_id = $1", t)
"""


def test_a_message_names_the_hole_the_user_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """TG012 said "pins tenants to $60000 and to $60001": numbers the check gives to the
    holes of an f-string, which the code never shows. Each finding names the `{…}` written."""
    _project(tmp_path, {"app/spoken.py": SPOKEN})
    findings = _run(tmp_path, capsys, monkeypatch)
    assert {str(f["rule"]) for f in findings} >= {"TG012"}
    for finding in findings:
        said = f"{finding['message']} {finding.get('help', '')}"
        for internal in ("6000", "$99", "tg_unknown"):
            assert internal not in said, said
    tg012 = next(f for f in findings if f["rule"] == "TG012" and f["line"] == 5)
    assert "${len(args)}" in str(tg012["message"])


# 6. a script without a suffix, named on the command line

MANAGE = '''\
#!/usr/bin/env python3
"""Maintenance commands."""
import asyncio


async def purge(pool, tenant_id):
    await pool.execute("DELETE FROM notes WHERE tenant_id = $1", tenant_id)


async def everyone(pool):
    return await pool.fetch("SELECT id FROM invoices")
'''


@pytest.mark.parametrize(
    "shebang",
    ["#!/usr/bin/env python3", "#!/usr/bin/python3.12 -u", "#!/usr/bin/env -S uv run --script"],
)
def test_an_extensionless_python_script_is_read_by_its_shebang(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shebang: str,
) -> None:
    """`tenantguard check bin/manage` read the script as SQL: a TG006 at `#!`. It is Python:
    its pinned DELETE passes and its unpinned SELECT is found (the twin)."""
    script = MANAGE.replace("#!/usr/bin/env python3", shebang)
    _project(tmp_path, {"bin/manage": script})
    assert _found(tmp_path, capsys, monkeypatch, "bin/manage") == [("bin/manage", 11, "TG001")]


def test_a_file_of_unknown_language_is_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file without a .sql or .py suffix nor a Python shebang, that is no SQL either: one
    finding saying what the check could not tell, not a syntax error per line. One that is
    SQL is still read as SQL (an unpinned read found)."""
    _project(
        tmp_path,
        {
            "bin/notes": "just some text here\nnot sql at all; really\nnor this\n",
            "db/queries": "SELECT id FROM invoices;\n",
        },
    )
    findings = _run(tmp_path, capsys, monkeypatch, "bin/notes", "db/queries")
    said = [(f["path"], f["rule"]) for f in findings]
    assert said == [("bin/notes", "TG006"), ("db/queries", "TG001")]
    message = str(findings[0]["message"])
    assert "language" in message and ".sql" in message and "python" in message.lower()
