"""Outside review h31c: shapes of real application code the Python reader got wrong.

1. An UPDATE built from the fields a caller gave — a repository's `update(persona_id,
   name=None, description=None, …)` that puts its keyword arguments in a dict display, then
   `for field_name, field_value in field_values.items(): if field_value is not None:
   updates.append(f"{field_name} = ${param_idx}")` (also `for field in ("name", "note")`)
   and sends `f"UPDATE … SET {', '.join(updates)} WHERE …"` — was TG009 ("items appended to
   `updates` in a loop") though each item is text of constants: a false alarm on a safe
   update, and a miss where one of those names is the tenant column (`"guild_id":
   new_guild`: the row moves to another tenant, a warning only). Each item the loop may
   append is now checked (one at a time: an item that drops the pin or moves a row does it
   alone); a loop over a request's own keys (`for k, v in data.items()`) stays TG009.
2. A loop with no branch over a few constants — `for column in ("guild_id", "id"):
   keys.append(f"{column} = ${len(keys) + 1}")`, `for n, column in enumerate(COLUMNS, 1):
   where += f" AND {column} = ${n}"` — was read as any number of passes, none included:
   `WHERE ` with no condition (TG006 and TG001 errors) and TG009 on a safe lookup by a
   composite key. A `for` over a non-empty constant sequence runs at least once, and a
   branchless one over a few constants is read pass by pass: its lists and strings hold
   each pass's items, in order.
3. A helper that builds its statement from a table's name — `def exists(curs, tablename,
   _id): return curs.execute(f'SELECT EXISTS(SELECT 1 FROM "{tablename}" WHERE id =
   \'{_id}\')')` (an admin console's), called as `exists(curs=curs, tablename="workspace",
   _id=…)` — was TG009 in the helper only: the caller's constant made a read of another
   tenant's row that no error named. The statement each call's constants make is checked at
   the call, as a function's `return` is; what is known only at run time stays the helper's
   TG009 (not said again at each call).
4. The same update written with comprehensions — `sets = {k: v for k, v in fields.items()
   if v is not None}`, then `", ".join(f"{k} = %s" for k in sets)` (a tenant registry's
   `update_tenant`), or `" AND ".join(f"{k} = %s" for k, v in filters.items() if v is not
   None)` — was TG009 (`.join()` of items computed at run time): a false alarm where the
   names are constants, a warning only where the tenant column is among them (a row moved,
   or a search whose pin drops when its value is None). A comprehension with a condition
   over a dict display's keys (or a tuple of constants) keeps some of its items, in order:
   each alone and all together are checked.
5. A membership test joined to another — `for key, val in fields.items(): if key in allowed
   and key in existing: sets.append(f"{key} = ${len(params)}")` (an org service's
   `set_policy(org_id, **fields)`, `existing` the columns the catalog lists), or `if key not
   in ALLOWED or val is None: continue` — narrowed nothing: the keys a caller gives stayed
   TG009 though only allowed names pass. Tests joined by `and` narrow where they all pass,
   by `or` where none does.
6. A Prisma schema quotes its mixed-case names (`"organizationId" TEXT NOT NULL`); the
   configuration `tenant_column = "organizationId"` is folded to `organizationid`, as
   PostgreSQL folds a bare name, and matches no table: the run stopped (exit 2, rightly) with
   "no table with a organizationid column", which the schema plainly shows. The message (and
   the warning for a listed tenant table) now names the schema's spelling and the way to write
   it: `tenant_column = '"organizationId"'`.
7. `tenantguard init` on a Prisma project wrote `schema_paths =
   ["prisma/migrations/20240101_init"]`: each migration's own folder. The next migration
   (`prisma migrate dev` makes a folder per migration) was never read, so the table it made
   was no tenant table and its queries passed unchecked. A migration in a folder of its own
   inside a migrations folder now names that migrations folder.
8. A list display bound to a local name in one function (`allowed_fields = ["title",
   "project_id"]`, then `for field in allowed_fields: if field in data:
   set_parts.append(f"{field} = :{field}")`) was unknown when any other function of the
   module changed its own list of the same name (`allowed_fields.extend([...])` in another
   repository method): the names a module changes in place were read module-wide, locals
   included. A function's local is changed only by that function (or one nested in it),
   through an alias, or by a call it is handed to.
9. The names to update taken from a dict's keys (`for key in COLUMN_OF: if key in data:
   sets.append(f"{COLUMN_OF[key]} = %({key})s")`) or from a list the function grows (`allowed
   = ["name"]; if more: allowed.append("uses")`, then `for key in allowed:`) were loop
   variables known only at run time (TG009): each key, each item, is read now.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.cli import main
from tests.project_files import findings_of_check, write_guild_project, write_project

_found = findings_of_check
_project = write_guild_project


# 1. items a loop appends, each text of constants

UPDATE_FROM_FIELDS = (
    "async def update_tag(db, guild_id, tag_id, name=None, uses=None):\n"
    "    field_values = {\n"
    '        "name": name,\n'
    '        "KEY": uses,\n'
    "    }\n"
    "    updates = []\n"
    "    params = []\n"
    "    param_idx = 1\n"
    "    for field_name, field_value in field_values.items():\n"  # 9
    "        if field_value is not None:\n"
    '            updates.append(f"{field_name} = ${param_idx}")\n'
    "            params.append(field_value)\n"
    "            param_idx += 1\n"
    '    updates.append("name = trim(name)")\n'
    "    params += [tag_id, guild_id]\n"
    "    await db.execute(\n"
    "        f\"UPDATE tags SET {', '.join(updates)}\"\n"
    '        f" WHERE id = ${param_idx} AND guild_id = ${param_idx + 1}",\n'
    "        *params,\n"
    "    )\n"
)

UPDATE_FROM_NAMES = (
    "async def update_tag(db, guild_id, tag_id, values):\n"
    '    conditions = ["guild_id = $1"]\n'
    "    params = [guild_id]\n"
    "    for field in FIELDS:\n"
    "        if field in values:\n"
    "            params.append(values[field])\n"
    '            conditions.append(f"{field} = ${len(params)}")\n'
    '    where = " AND ".join(conditions)\n'
    '    return await db.fetch(f"SELECT id FROM tags WHERE {where}", *params)\n'  # 9
)


def test_an_update_built_from_constant_field_names_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/tags.py": UPDATE_FROM_FIELDS.replace("KEY", "uses")})
    assert _found(tmp_path, capsys, monkeypatch) == []


def test_an_update_whose_field_names_hold_the_tenant_column_is_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/tags.py": UPDATE_FROM_FIELDS.replace("KEY", "guild_id")})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/tags.py", 9, "TG004")]


def test_an_update_built_from_a_callers_keys_stays_unproven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = UPDATE_FROM_FIELDS.replace(
        '    field_values = {\n        "name": name,\n        "KEY": uses,\n    }\n',
        "    field_values = dict(name=name, uses=uses) | extra\n\n\n\n",
    ).replace("name=None, uses=None", "extra, name=None, uses=None")
    _project(tmp_path, {"bot/tags.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/tags.py", 9, "TG009")]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ('("name", "uses")', []),
        ('["name", "uses"]', []),
        # one of the conditions undoes the pin the list starts with
        ('("name", "uses = 0 OR uses")', [("bot/tags.py", 9, "TG001")]),
    ],
)
def test_conditions_appended_for_constant_names_are_each_checked(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fields: str,
    expected: list[tuple[str, int, str]],
) -> None:
    source = UPDATE_FROM_NAMES.replace("FIELDS", fields)
    _project(tmp_path, {"bot/tags.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == expected


# 2. a loop over constants with no branch: each pass in turn

KEYS_EVERY_TIME = (
    "async def tag(db, guild_id, tag_id):\n"
    "    params = [guild_id, tag_id]\n"
    "    keys = []\n"
    "    for column in COLUMNS:\n"
    '        keys.append(f"{column} = ${len(keys) + 1}")\n'
    '    where = " AND ".join(keys)\n'
    '    return await db.fetch(f"SELECT name FROM tags WHERE {where}", *params)\n'  # 7
)

WHERE_EVERY_TIME = (
    'COLUMNS = ["guild_id", "id"]\n'
    "\n"
    "\n"
    "async def tag(db, guild_id, tag_id):\n"
    '    where = "TRUE"\n'
    "    for n, column in enumerate(COLUMNS, 1):\n"
    '        where += f" AND {column} = ${n}"\n'
    '    return await db.fetch("SELECT name FROM tags WHERE " + where, guild_id, tag_id)\n'  # 8
)


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ('("guild_id", "id")', []),
        ('["id", "guild_id"]', []),
        # no pin among them: found (before, the list was also read empty, `WHERE `: TG006)
        ('("name", "id")', [("bot/tags.py", 7, "TG001")]),
    ],
)
def test_conditions_appended_on_every_pass_are_all_there(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    columns: str,
    expected: list[tuple[str, int, str]],
) -> None:
    # every pass appends: the list holds both conditions, in order (before, TG009 for items
    # appended in a loop, with TG001 and TG006 errors on the safe query)
    _project(tmp_path, {"bot/tags.py": KEYS_EVERY_TIME.replace("COLUMNS", columns)})
    assert _found(tmp_path, capsys, monkeypatch) == expected


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ('["guild_id", "id"]', []),
        ('["name", "id"]', [("bot/tags.py", 8, "TG001")]),
    ],
)
def test_a_condition_added_on_every_pass_of_an_enumerate_is_read(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    columns: str,
    expected: list[tuple[str, int, str]],
) -> None:
    source = WHERE_EVERY_TIME.replace('["guild_id", "id"]', columns)
    _project(tmp_path, {"bot/tags.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == expected


LOOP_OF_CALLS = (
    "async def purge(conn, guild_id):\n"
    '    for table in ("tags", "guilds"):\n'
    '        await conn.execute(f"DELETE FROM {table} WHERE guild_id = $1", guild_id)\n'
    '    for table in ("tags", "guilds"):\n'
    '        await conn.execute(f"DELETE FROM {table} WHERE id = $1", guild_id)\n'
)


def test_a_call_in_a_loop_over_constants_is_read_with_each_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/purge.py": LOOP_OF_CALLS})
    assert _found(tmp_path, capsys, monkeypatch) == [
        ("bot/purge.py", 4, "TG001"),  # (each at its table's name)
        ("bot/purge.py", 4, "TG001"),
    ]


# 3. a statement a helper builds from the constants its callers give

BUILDER = (
    "import psycopg\n"
    "\n"
    "\n"
    "def exists(curs: psycopg.Cursor, tablename: str, _id: str) -> bool:\n"
    "    return curs.execute(\n"
    '        f"SELECT EXISTS(SELECT 1 FROM \\"{tablename}\\" WHERE id = \'{_id}\'KEY);"\n'  # 6
    '    ).fetchone()["exists"]\n'
)

BUILDER_CALLERS = (
    "from .generic import exists\n"
    "\n"
    "\n"
    "def fetch_tag(curs, guild_id, tag_id):\n"
    '    if not exists(curs=curs, tablename="tags", _id=tag_id):\n'  # 5
    '        raise LookupError("no tag")\n'
    "\n"
    "\n"
    "def fetch_guild(curs, guild_id):\n"
    "    return exists(curs, TABLE, guild_id)\n"  # 10
)


@pytest.mark.parametrize(
    ("key", "table", "expected"),
    [
        # the helper's values known at run time: TG009 there (the name, the id)
        (
            "",
            '"tags"',
            [("bot/console/generic.py", 6, "TG009")] * 2
            + [("bot/console/tags.py", 5, "TG001"), ("bot/console/tags.py", 10, "TG001")],
        ),
        # the helper pins the statement: the caller's table is read pinned
        (" AND guild_id = 1", '"tags"', [("bot/console/generic.py", 6, "TG009")] * 2),
        # a table the caller knows only at run time: said once, in the helper
        (
            "",
            "table_of(guild_id)",
            [("bot/console/generic.py", 6, "TG009")] * 2 + [("bot/console/tags.py", 5, "TG001")],
        ),
    ],
)
def test_a_statement_built_from_a_callers_constant_is_checked_at_the_call(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    table: str,
    expected: list[tuple[str, int, str]],
) -> None:
    _project(
        tmp_path,
        {
            "bot/console/__init__.py": "",
            "bot/console/generic.py": BUILDER.replace("KEY", key),
            "bot/console/tags.py": BUILDER_CALLERS.replace("TABLE", table),
        },
    )
    assert _found(tmp_path, capsys, monkeypatch) == expected


WRAPPER_WITH_A_NAME = (
    "async def query(conn, where, order, *args):\n"
    '    return await conn.fetch(f"SELECT * FROM tags WHERE {where} ORDER BY {order}", *args)\n'
    "\n"
    "\n"
    "async def tags(conn, guild_id):\n"
    '    return await query(conn, "guild_id = $1", "name", guild_id)\n'
    "\n"
    "\n"
    "async def tag(conn, tag_id):\n"
    '    return await query(conn, "id = $1", "name", tag_id)\n'
)


def test_a_wrappers_statement_is_not_built_again_at_its_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `where` is the wrapper's: its callers' SQL is checked whole; filling only `order` left
    # `WHERE <unknown>` at the call, a false TG001 on a pinned caller
    _project(tmp_path, {"bot/q.py": WRAPPER_WITH_A_NAME})
    found = _found(tmp_path, capsys, monkeypatch)
    assert not [f for f in found if f[1] == 6]
    assert len([f for f in found if f[1] == 10]) <= 1


# 4. some of a dict display's items, kept by a comprehension's condition

KEPT_FIELDS = (
    "def update_tag(conn, guild_id, tag_id, data):\n"
    "    fields = {\n"
    '        "name": data.name,\n'
    '        "KEY": data.uses,\n'
    "    }\n"
    "    sets = {k: v for k, v in fields.items() if v is not None}\n"
    "    with conn.cursor() as cur:\n"
    "        if sets:\n"
    '            assignments = ", ".join(f"{k} = %s" for k in sets)\n'
    "            cur.execute(\n"
    '                f"UPDATE tags SET {assignments}, uses = uses + 0"\n'
    '                " WHERE guild_id = %s AND id = %s",\n'
    "                [*sets.values(), guild_id, tag_id],\n"
    "            )\n"
)

KEPT_FILTERS = (
    "def search(cur, guild_id, name=None, uses=None):\n"
    '    filters = {"guild_id": guild_id, "name": name, "uses": uses}\n'
    '    where = " AND ".join(f"{k} = %s" for k, v in filters.items() if v is not None)\n'
    '    cur.execute(f"SELECT id FROM tags WHERE {where}", [v for v in filters.values() if v])\n'
)


@pytest.mark.parametrize(
    ("key", "expected"),
    [("uses", []), ("guild_id", [("bot/tags.py", 9, "TG004")])],  # (where its keys are read)
)
def test_an_update_of_the_fields_a_comprehension_keeps_is_read(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    expected: list[tuple[str, int, str]],
) -> None:
    _project(tmp_path, {"bot/tags.py": KEPT_FIELDS.replace("KEY", key)})
    assert _found(tmp_path, capsys, monkeypatch) == expected


def test_a_search_whose_pin_a_comprehension_may_drop_is_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `guild_id` None: `WHERE name = %s` reads every guild's tags
    _project(tmp_path, {"bot/tags.py": KEPT_FILTERS})
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/tags.py", 4, "TG001")]


def test_a_search_pinned_before_the_kept_filters_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = KEPT_FILTERS.replace('{"guild_id": guild_id, ', "{").replace(
        'WHERE {where}"', 'WHERE guild_id = %s AND {where}"'
    )
    _project(tmp_path, {"bot/tags.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 5. a membership test joined to another by `and` / `or`

ALLOWED_KEYS = (
    "class TagService:\n"
    "    def __init__(self, db):\n"
    "        self.db = db\n"
    "\n"
    "    async def set_fields(self, guild_id, tag_id, **fields):\n"
    '        allowed = {"name", "KEY"}\n'
    "        existing = await self.columns()\n"
    "        sets = []\n"
    "        params = [guild_id, tag_id]\n"
    "        for key, val in fields.items():\n"
    "            TEST\n"
    "            params.append(val)\n"
    '            sets.append(f"{key} = ${len(params)}")\n'
    "        if not sets:\n"
    "            return False\n"
    "        await self.db.execute(\n"
    "            f\"UPDATE tags SET {', '.join(sets)} WHERE guild_id = $1 AND id = $2\", *params\n"
    "        )\n"
    "        return True\n"
    "\n"
    "    async def columns(self):\n"
    "        rows = await self.db.fetch(\n"
    "            \"SELECT column_name FROM information_schema.columns WHERE table_name = 'tags'\"\n"
    "        )\n"
    '        return {r["column_name"] for r in rows}\n'
)

TESTS = {
    "and": "if not (key in allowed and key in existing):\n                continue",
    "or": "if key not in allowed or val is None:\n                continue",
    "and, the body": "if key in allowed and key in existing:\n                pass\n"
    "            else:\n                continue",
}


@pytest.mark.parametrize("test", TESTS.values(), ids=TESTS.keys())
@pytest.mark.parametrize(
    ("key", "expected"),
    [("uses", []), ("guild_id", [("bot/service.py", 6, "TG004")])],
)
def test_a_name_a_joined_membership_test_narrows_is_read(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    test: str,
    key: str,
    expected: list[tuple[str, int, str]],
) -> None:
    source = ALLOWED_KEYS.replace("KEY", key).replace("TEST", test)
    _project(tmp_path, {"bot/service.py": source})
    assert _found(tmp_path, capsys, monkeypatch) == expected


# 6. a mixed-case tenant column the schema quotes

PRISMA = (
    'CREATE TABLE "Organization" ("id" TEXT NOT NULL, CONSTRAINT "Organization_pkey" '
    'PRIMARY KEY ("id"));\n'
    'CREATE TABLE "Project" ("id" TEXT NOT NULL, "organizationId" TEXT NOT NULL, '
    '"name" TEXT NOT NULL);\n'
)
PRISMA_QUERIES = (
    "async def projects(conn, org_id):\n"
    "    return await conn.fetch(\n"
    '        \'SELECT "name" FROM "Project" WHERE "organizationId" = $1\', org_id\n'
    "    )\n"
)


def test_a_bare_mixed_case_tenant_column_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = '[tool.tenantguard]\ntenant_column = "organizationId"\nschema_paths = ["schema.sql"]\n'
    write_project(tmp_path, PRISMA, config, {"app/q.py": PRISMA_QUERIES})
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--no-cache", "."]) == 2
    error = capsys.readouterr().err
    assert "no table with a column organizationid" in error
    assert """the schema has "organizationId", a quoted mixed-case name""" in error
    assert """write tenant_column = '"organizationId"'""" in error


def test_a_quoted_mixed_case_tenant_column_proves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = (
        '[tool.tenantguard]\ntenant_column = \'"organizationId"\'\nschema_paths = ["schema.sql"]\n'
    )
    write_project(tmp_path, PRISMA, config, {"app/q.py": PRISMA_QUERIES})
    assert _found(tmp_path, capsys, monkeypatch) == []


# 7. `init` names the migrations folder, not each migration's

MIGRATION_LATER = (
    'CREATE TABLE "Note" ("id" TEXT NOT NULL, "organizationId" TEXT NOT NULL, "body" TEXT);\n'
    'ALTER TABLE "Note" ADD CONSTRAINT "Note_organizationId_fkey" FOREIGN KEY '
    '("organizationId") REFERENCES "Organization"("id");\n'
)


def test_init_names_the_folder_prisma_adds_migrations_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "prisma" / "migrations" / "20240101000000_init" / "migration.sql"
    first.parent.mkdir(parents=True)
    first.write_text(
        PRISMA + 'ALTER TABLE "Project" ADD CONSTRAINT "Project_organizationId_fkey" FOREIGN KEY '
        '("organizationId") REFERENCES "Organization"("id");\n',
        encoding="utf-8",
    )
    (tmp_path / "prisma" / "migrations" / "migration_lock.toml").write_text(
        'provider = "postgresql"\n', encoding="utf-8"
    )
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "q.py").write_text(PRISMA_QUERIES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    capsys.readouterr()
    assert 'schema_paths = ["prisma/migrations"]' in (tmp_path / "pyproject.toml").read_text()
    # the next migration, and a query on its table
    later = tmp_path / "prisma" / "migrations" / "20240201000000_notes" / "migration.sql"
    later.parent.mkdir()
    later.write_text(MIGRATION_LATER, encoding="utf-8")
    (tmp_path / "app" / "notes.py").write_text(
        'async def notes(conn):\n    return await conn.fetch(\'SELECT "body" FROM "Note"\')\n',  # 2
        encoding="utf-8",
    )
    assert _found(tmp_path, capsys, monkeypatch) == [("app/notes.py", 2, "TG001")]


# 8. another function's local of the same name is another list

SAME_LOCAL_NAME = (
    "def update_tag(conn, guild_id, tag_id, data):\n"
    '    allowed_fields = ["name", "uses"]\n'
    "    set_parts = []\n"
    "    for field in allowed_fields:\n"
    "        if field in data:\n"
    '            set_parts.append(f"{field} = :{field}")\n'
    "    if not set_parts:\n"
    "        return None\n"
    "    conn.execute(\n"
    "        f\"UPDATE tags SET {', '.join(set_parts)} WHERE id = :tag_id AND guild_id = :guild_id\",\n"
    '        {**data, "tag_id": tag_id, "guild_id": guild_id},\n'
    "    )\n"
    "\n"
    "\n"
    "def fields_of(extra):\n"
    '    allowed_fields = ["name"]\n'
    "    allowed_fields.extend(extra)\n"
    "    return allowed_fields\n"
)


def test_a_local_list_is_not_changed_by_another_functions_local(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"bot/tags.py": SAME_LOCAL_NAME})
    assert _found(tmp_path, capsys, monkeypatch) == []


@pytest.mark.parametrize(
    "change",
    [
        "    allowed_fields.extend(data.get('more', []))\n",  # changed here
        "    grow(allowed_fields)\n",  # handed to a call that may change it
        "    same = allowed_fields\n    same.append(data['column'])\n",  # through an alias
    ],
)
def test_a_local_list_changed_in_its_own_function_stays_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    source = SAME_LOCAL_NAME.replace("    set_parts = []\n", change + "    set_parts = []\n", 1)
    _project(tmp_path, {"bot/tags.py": source})
    found = _found(tmp_path, capsys, monkeypatch)
    assert [rule for _, _, rule in found] == ["TG009"]


# 9. a loop over a dict's keys, or over a list the function grows

OVER_KEYS = (
    'COLUMN_OF = {"name": "name", "count": "KEY"}\n'
    "\n"
    "\n"
    "def update_tag(conn, data):\n"
    "    sets = []\n"
    "    for key in COLUMN_OF:\n"
    "        if key in data:\n"
    '            sets.append(f"{COLUMN_OF[key]} = %({key})s")\n'
    "    conn.execute(\n"
    "        f\"UPDATE tags SET {', '.join(sets)} WHERE id = %(id)s AND guild_id = %(guild)s\",\n"
    "        data,\n"
    "    )\n"
)

OVER_GROWN = (
    "def update_tag(conn, data, more):\n"
    '    allowed = ["name"]\n'
    "    if more:\n"
    '        allowed.append("KEY")\n'
    "    sets = []\n"
    "    for key in allowed:\n"
    "        if key in data:\n"
    '            sets.append(f"{key} = %({key})s")\n'
    "    conn.execute(\n"
    "        f\"UPDATE tags SET {', '.join(sets)} WHERE id = %(id)s AND guild_id = %(guild)s\",\n"
    "        data,\n"
    "    )\n"
)


@pytest.mark.parametrize(("source", "where"), [(OVER_KEYS, 1), (OVER_GROWN, 4)])
@pytest.mark.parametrize("key", ["uses", "guild_id"])
def test_names_a_loop_takes_from_keys_or_a_grown_list_are_read(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    where: int,
    key: str,
) -> None:
    _project(tmp_path, {"bot/tags.py": source.replace("KEY", key)})
    expected = [("bot/tags.py", where, "TG004")] if key == "guild_id" else []
    assert _found(tmp_path, capsys, monkeypatch) == expected
