"""Round 21 attacks on the proof (helper-89): upserts and inserts whose target is not what its
names say.

1. An ON CONFLICT target naming an expression over the tenant column (`(tenant_id % 1)`,
   `(tenant_id / 10)`) was read as the tenant column itself: the unique index it infers lets two
   tenants' rows conflict, and DO UPDATE overwrote (or, with `SET tenant_id =
   excluded.tenant_id`, moved into tenant 1) tenant 2's row. Only a plain column counts now.
2. `ON CONFLICT ON CONSTRAINT uk` was judged by a name-to-columns map that kept a dropped
   table's `uk`, took no columns from `ADD CONSTRAINT uk UNIQUE USING INDEX`, and let one
   schema's `uk (tenant_id, x)` stand for another table's `uk (ext)`. A dropped table's
   constraints go with it, USING INDEX takes the index's columns, and one name on two tables
   keeps only the columns both have.
3. An INSERT (or an upsert) into a view that shows another column under the tenant column's
   name (`CREATE VIEW v (id, tenant_id) AS SELECT tenant_id, id …`) was proven by the value
   under that name; it lands in `id`, and the conflict target infers the table's index on other
   columns: tenant 2's row was overwritten and its secret returned. A view that cannot be
   pinned from outside is no INSERT or MERGE target (TG002).

Each leak is shown on PostgreSQL 15 by what tenant 1's statement does to tenant 2's rows.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard import Policy
from tests.proof.test_attack11_proof import _codes
from tests.proof.test_schema import policy_for

SCHEMA = """
CREATE TABLE accounts (id bigint PRIMARY KEY);
CREATE TABLE tags2 (id bigint PRIMARY KEY, label text, tenant_id bigint NOT NULL);
CREATE UNIQUE INDEX tags2_u ON tags2 ((tenant_id % 1), label);
CREATE TABLE tags3 (id bigint PRIMARY KEY, label text, tenant_id bigint NOT NULL);
CREATE UNIQUE INDEX tags3_u ON tags3 ((tenant_id / 10), label);
CREATE TABLE tags4 (id bigint PRIMARY KEY, label text, tenant_id bigint NOT NULL,
    UNIQUE (tenant_id, label));
CREATE TABLE things (id bigint PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES accounts (id),
    ext text, label text, CONSTRAINT uk UNIQUE (ext));
CREATE SCHEMA s1;
CREATE TABLE s1.other (tenant_id bigint NOT NULL REFERENCES accounts (id), x text,
    CONSTRAINT uk UNIQUE (tenant_id, x));
CREATE TABLE things_ok (id bigint PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES accounts (id),
    ext text, label text);
CREATE UNIQUE INDEX things_ok_idx ON things_ok (tenant_id, ext);
ALTER TABLE things_ok ADD CONSTRAINT uk_ok UNIQUE USING INDEX things_ok_idx;
CREATE TABLE visits (tenant_id bigint NOT NULL, id bigint NOT NULL, note text,
    PRIMARY KEY (tenant_id, id));
CREATE VIEW v_visits (id, tenant_id, note) AS SELECT tenant_id, id, note FROM visits;
CREATE VIEW v_vis_sw AS SELECT tenant_id AS id, id AS tenant_id, note FROM visits;
CREATE VIEW v_ok AS SELECT tenant_id, id, note FROM visits;
"""
DATA = """
INSERT INTO accounts VALUES (1), (2);
INSERT INTO tags2 VALUES (2, 'SECRET-t2tag', 2);
INSERT INTO tags3 VALUES (2, 'SECRET-t2tag', 2);
INSERT INTO tags4 VALUES (2, 'SECRET-t2tag', 2);
INSERT INTO things VALUES (2, 2, 'ext-2', 'SECRET t2 thing');
INSERT INTO things_ok VALUES (2, 2, 'ext-2', 'SECRET t2 thing');
INSERT INTO visits VALUES (1, 1, 't1 visit'), (2, 1, 'SECRET t2 visit');
"""
# (statement, its arguments for tenant 1): each changed or returned tenant 2's row
LEAKS = [
    (
        "INSERT INTO tags2 (id, label, tenant_id) VALUES ($2, $3, $1) "
        "ON CONFLICT (label, (tenant_id % 1)) DO UPDATE SET label = 'HIT' RETURNING *",
        (1, 99, "SECRET-t2tag"),
    ),
    (
        "INSERT INTO tags2 (id, label, tenant_id) VALUES ($2, $3, $1) "
        "ON CONFLICT (label, (tenant_id % 1)) DO UPDATE SET tenant_id = excluded.tenant_id "
        "RETURNING *",
        (1, 99, "SECRET-t2tag"),
    ),
    (
        "INSERT INTO tags3 (id, label, tenant_id) VALUES ($2, $3, $1) "
        "ON CONFLICT ((tenant_id / 10), label) DO UPDATE SET label = tags3.label || '!' RETURNING *",
        (1, 99, "SECRET-t2tag"),
    ),
    (
        "INSERT INTO things (id, tenant_id, ext, label) VALUES ($2, $1, $3, 'x') "
        "ON CONFLICT ON CONSTRAINT uk DO UPDATE SET label = 'HIT' RETURNING *",
        (1, 99, "ext-2"),
    ),
    (
        "INSERT INTO v_visits (tenant_id, id, note) VALUES ($1, 2, 'x') "
        "ON CONFLICT (tenant_id, id) DO UPDATE SET note = 'HIT' RETURNING *",
        (1,),
    ),
    (
        "INSERT INTO v_vis_sw (tenant_id, id, note) VALUES ($1, 2, 'x') "
        "ON CONFLICT (tenant_id, id) DO UPDATE SET note = v_vis_sw.note || ' <-read by t1' "
        "RETURNING *",
        (1,),
    ),
]
SAFE = [
    (
        "INSERT INTO tags4 (id, label, tenant_id) VALUES ($2, $3, $1) "
        "ON CONFLICT ((tenant_id), label) DO UPDATE SET label = 'HIT' RETURNING *",
        (1, 99, "SECRET-t2tag"),
    ),
    (
        "INSERT INTO things_ok (id, tenant_id, ext, label) VALUES ($2, $1, $3, 'x') "
        "ON CONFLICT ON CONSTRAINT uk_ok DO UPDATE SET label = 'HIT' RETURNING *",
        (1, 99, "ext-2"),
    ),
    (
        "INSERT INTO v_ok (tenant_id, id, note) VALUES ($1, 2, 'x') "
        "ON CONFLICT (tenant_id, id) DO UPDATE SET note = 'HIT' RETURNING *",
        (1,),
    ),
]
# a stale name: `uk` of a table dropped since, and `uk` added to another by USING INDEX
STALE = """
CREATE TABLE accounts (id bigint PRIMARY KEY);
CREATE TABLE old_things (tenant_id bigint NOT NULL REFERENCES accounts (id), x text,
    CONSTRAINT uk UNIQUE (tenant_id, x));
DROP TABLE old_things;
CREATE TABLE things (id bigint PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES accounts (id),
    ext text UNIQUE, label text);
CREATE UNIQUE INDEX things_ext_idx ON things (ext);
ALTER TABLE things ADD CONSTRAINT uk UNIQUE USING INDEX things_ext_idx;
"""


def _policy(tmp_path: Path, schema: str = SCHEMA) -> Policy:
    policy = policy_for(tmp_path, schema)
    assert isinstance(policy, Policy)
    return policy


def test_upsert_targets_that_are_not_what_they_say(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    for sql, _ in LEAKS:
        assert {"TG002", "TG003"} & set(_codes(sql, policy)), sql
    # the tenant column moved by `excluded` under a target without it: a reassignment too
    assert "TG004" in _codes(LEAKS[1][0], policy)
    for sql, _ in SAFE:
        assert _codes(sql, policy) == [], sql
    assert "TG002" in _codes(
        "INSERT INTO v_visits (tenant_id, id, note) VALUES ($1, 2, 'x')", policy
    )


def test_a_constraint_name_of_a_dropped_table(tmp_path: Path) -> None:
    policy = _policy(tmp_path, STALE)
    assert "TG003" in _codes(LEAKS[3][0], policy)


async def _tenant_2(conn: asyncpg.Connection, sql: str, args: tuple[object, ...]) -> str:
    """What tenant 1's statement returned and left of tenant 2's rows (rolled back)."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        returned = [tuple(r) for r in await conn.fetch(sql, *args)]
        left = [
            tuple(r)
            for table in ("tags2", "tags3", "tags4", "things", "things_ok")
            for r in await conn.fetch(f"SELECT tenant_id, label FROM {table} WHERE id = 2")
        ] + [tuple(r) for r in await conn.fetch("SELECT tenant_id, note FROM visits WHERE id = 1")]
        return f"{returned} {left}"
    finally:
        await transaction.rollback()


UNTOUCHED = (
    "[(2, 'SECRET-t2tag'), (2, 'SECRET-t2tag'), (2, 'SECRET-t2tag'), (2, 'SECRET t2 thing'), "
    "(2, 'SECRET t2 thing'), (1, 't1 visit'), (2, 'SECRET t2 visit')]"
)


async def test_upsert_targets_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA + DATA)
        for sql, args in LEAKS:
            seen = await _tenant_2(conn, sql, args)
            # tenant 2's row changed, or its secret returned to tenant 1
            assert not seen.endswith(UNTOUCHED) or "SECRET t2" in seen.split("] [")[0], (sql, seen)
        for sql, args in SAFE:
            seen = await _tenant_2(conn, sql, args)
            # a row of tenant 1's own: tenant 2's left as they were, nothing of theirs returned
            returned = seen.split("] [")[0]
            assert seen.endswith(UNTOUCHED) and "HIT" not in returned, (sql, seen)
            assert "SECRET t2" not in returned, (sql, seen)
        # the stale name, in a schema of its own: tenant 2's thing overwritten
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute("CREATE SCHEMA p3; SET LOCAL search_path = p3;" + STALE)
            await conn.execute(
                "INSERT INTO accounts VALUES (1), (2);"
                "INSERT INTO things VALUES (2, 2, 'ext-2', 'SECRET t2 thing')"
            )
            rows = await conn.fetch(LEAKS[3][0], *LEAKS[3][1])
            assert [tuple(r) for r in rows] == [(2, 2, "ext-2", "HIT")]
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


@pytest.mark.parametrize("sql", [s for s, _ in LEAKS[:3]])
def test_the_rule_says_which_key_is_not_the_column(tmp_path: Path, sql: str) -> None:
    from tenantguard.engine.analyze import analyze_statement

    messages = [f.message for f in analyze_statement(sql, _policy(tmp_path)).findings]
    assert any("tenant_id %" in m or "tenant_id /" in m for m in messages), messages


# helper-92, on the fix: a view pinned inside by the setting is no tenant relation, yet it
# renames the tenant column all the same (the upsert overwrote tenant 2's row, the insert
# planted a row in tenant 3); and a view whose own tenant column passes through, unpinnable
# for reads only (an unpinned NOT EXISTS), writes the row's tenant as given (a false alarm).
SETTING_VIEWS = """
CREATE TABLE items (tenant_id bigint NOT NULL, id bigint NOT NULL, name text,
    PRIMARY KEY (tenant_id, id));
CREATE TABLE archived (tenant_id bigint NOT NULL, item_id bigint);
CREATE VIEW my_items (id, tenant_id, name) AS SELECT tenant_id, id, name FROM items
    WHERE tenant_id = current_setting('app.tenant_id')::bigint;
CREATE VIEW my_items2 AS SELECT id AS tenant_id, tenant_id AS id, name FROM items
    WHERE tenant_id = current_setting('app.tenant_id')::bigint;
CREATE VIEW my_items3 AS SELECT * FROM my_items2;
CREATE VIEW live_items AS SELECT * FROM items i
    WHERE NOT EXISTS (SELECT 1 FROM archived a WHERE a.item_id = i.id);
"""
SETTING_LEAKS = [
    "INSERT INTO my_items (tenant_id, id, name) VALUES ($1, 2, 'x') "
    "ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name RETURNING *",
    "INSERT INTO my_items2 (tenant_id, id, name) VALUES ($1, 3, 'x')",
    "INSERT INTO my_items3 (tenant_id, id, name) VALUES ($1, 3, 'x')",
    "INSERT INTO my_items (id, name) VALUES (2, 'x') ON CONFLICT (tenant_id, id) DO NOTHING",
]
PASS_THROUGH = "INSERT INTO live_items (tenant_id, id, name) VALUES ($1, 5, 'x')"


def test_views_renaming_the_tenant_column_whatever_pins_them(tmp_path: Path) -> None:
    policy = _policy(tmp_path, SETTING_VIEWS)
    for sql in SETTING_LEAKS:
        assert "TG002" in _codes(sql, policy), sql
    assert _codes(PASS_THROUGH, policy) == []


async def test_views_renaming_the_tenant_column_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SETTING_VIEWS)
        await conn.execute(
            "INSERT INTO items VALUES (1, 1, 'mine'), (2, 1, 'SECRET t2 item');"
            "SET app.tenant_id = '1'"
        )
        transaction = conn.transaction()
        await transaction.start()
        try:
            returned = [tuple(r) for r in await conn.fetch(SETTING_LEAKS[0], 1)]
            assert returned == [(2, 1, "x")]  # the view's (id, tenant_id): items (2, 1)
            assert await conn.fetchval("SELECT name FROM items WHERE tenant_id = 2") == "x"
        finally:
            await transaction.rollback()
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(PASS_THROUGH, 1)
            rows = await conn.fetch("SELECT tenant_id, id, name FROM items ORDER BY 1, 2")
            assert [tuple(r) for r in rows] == [
                (1, 1, "mine"),
                (1, 5, "x"),
                (2, 1, "SECRET t2 item"),
            ]
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


# helper-92, more constraint names and arbiters: (a) PostgreSQL names an unnamed key `…_key1`
# when `…_key` is taken by an explicit constraint (or `…_pkey1`), where the reader took the
# unnamed key's columns for the explicit name; (b) a RENAME into a name another table's
# constraint bears replaced the columns wholesale; (c) a unique index comparing the tenant
# column under a collation that is not deterministic is inferred by a target naming the column
# plainly: 'acme''s insert overwrote 'ACME''s row.
GUESSED = """
CREATE TABLE widgets (tenant_id bigint NOT NULL, external_id text NOT NULL, name text,
  CONSTRAINT widgets_tenant_id_external_id_key UNIQUE (external_id),
  UNIQUE (tenant_id, external_id));
CREATE TABLE gadgets (tenant_id bigint NOT NULL, external_id text NOT NULL, name text,
  CONSTRAINT gadgets_pkey UNIQUE (external_id));
ALTER TABLE gadgets ADD PRIMARY KEY (tenant_id, external_id);
CREATE SCHEMA crm;
CREATE TABLE gizmos (tenant_id bigint NOT NULL, external_id text NOT NULL, name text,
  CONSTRAINT gizmos_uk UNIQUE (external_id));
CREATE TABLE crm.archive (tenant_id bigint NOT NULL, external_id text NOT NULL,
  CONSTRAINT archive_uk UNIQUE (tenant_id, external_id));
ALTER TABLE crm.archive RENAME CONSTRAINT archive_uk TO gizmos_uk;
"""
LOOSE_ARBITER = """
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE tags (tenant_id text NOT NULL, external_id text NOT NULL, name text);
CREATE UNIQUE INDEX tags_ext ON tags (tenant_id COLLATE ci, external_id);
CREATE TABLE marks (tenant_id text NOT NULL, external_id text NOT NULL, name text);
CREATE UNIQUE INDEX marks_ext ON marks (tenant_id COLLATE "C", external_id);
"""
UPSERT = (
    "INSERT INTO {t} (tenant_id, external_id, name) VALUES ($1, 'w1', 'mine') "
    "ON CONFLICT {target} DO UPDATE SET name = EXCLUDED.name RETURNING *"
)


@pytest.mark.parametrize(
    ("table", "target"),
    [
        ("widgets", "ON CONSTRAINT widgets_tenant_id_external_id_key"),
        ("gadgets", "ON CONSTRAINT gadgets_pkey"),
        ("gizmos", "ON CONSTRAINT gizmos_uk"),
    ],
)
def test_constraint_names_as_postgresql_gives_them(tmp_path: Path, table: str, target: str) -> None:
    policy = _policy(tmp_path, GUESSED)
    assert "TG003" in _codes(UPSERT.format(t=table, target=target), policy)
    # the key PostgreSQL gave the unnamed constraint, by its name
    safe = UPSERT.format(t="widgets", target="ON CONSTRAINT widgets_tenant_id_external_id_key1")
    # (no TG003; widgets_tenant_id_external_id_key, UNIQUE (external_id), spans tenants: a
    # write of external_id tells whether another tenant holds the value, TG013 since round 31)
    assert _codes(safe, policy) == ["TG013"]


def test_an_arbiter_index_comparing_loosely(tmp_path: Path) -> None:
    policy = _policy(tmp_path, LOOSE_ARBITER)
    target = "(tenant_id, external_id)"
    assert "TG003" in _codes(UPSERT.format(t="tags", target=target), policy)
    assert _codes(UPSERT.format(t="marks", target=target), policy) == []
    # the reads stay pinned: `=` on the column is its own, exact
    assert _codes("SELECT name FROM tags WHERE tenant_id = $1", policy) == []


async def test_constraint_names_on_the_server(database: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(GUESSED)
        names = {
            (r[0], r[1])
            for r in await conn.fetch(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype IN "
                "('u', 'p') AND conrelid::regclass::text IN ('widgets', 'gadgets')"
            )
        }
        assert ("widgets", "widgets_tenant_id_external_id_key1") in names
        assert ("gadgets", "gadgets_pkey1") in names
        await conn.execute(
            "INSERT INTO widgets VALUES (2, 'w1', 'SECRET t2'); INSERT INTO gizmos VALUES "
            "(2, 'w1', 'SECRET t2')"
        )
        for table, target in (
            ("widgets", "ON CONSTRAINT widgets_tenant_id_external_id_key"),
            ("gizmos", "ON CONSTRAINT gizmos_uk"),
        ):
            rows = await conn.fetch(UPSERT.format(t=table, target=target), 1)
            assert [tuple(r) for r in rows] == [(2, "w1", "mine")]  # tenant 2's row, overwritten
    finally:
        await conn.close()


# helper-94, on the fixes above (tests/fixtures/round21: each schema with the statement that
# tenant 1 ran, shown on PostgreSQL 15 to change or return tenant 2's rows):
#   a1 a CHECK of the cascade's child deletes unpinned (cascades were recomputed only when the
#      schema had triggers); a2, a4 a trigger on a partition or an inheritance child of the
#      child, or of the table written (a write of a parent runs its children's triggers); a3 a
#      child without the tenant column passing the cascade to a table whose trigger deletes
#      unpinned;
#   b2, b3, b4 views renaming by position: `v (tenant_id, real_tenant) AS SELECT * FROM t`, a
#      FROM alias's column list, a `*` bound before two renames;
#   c2 one table name in two schemas: PostgreSQL keeps `t_code_key` for the unnamed key of the
#      second, the reader gave it `t_code_key1` (now one name, the columns both have).
ROUND21 = Path(__file__).parent.parent / "fixtures" / "round21"


WAVE3 = [
    ("a1", "TG005"),
    ("a2", "TG005"),
    ("a3", "TG005"),
    ("a4", "TG005"),
    ("b2", "TG002"),
    ("b3", "TG002"),
    ("b4", "TG002"),
    ("c2", "TG003"),
]


async def test_round21_wave3_on_the_server(database: str) -> None:
    """a3: tenant 1's task deleted; its comment, the attachment, and by the attachment's
    trigger every note of that ref go — tenant 2's too."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND21 / "a3.sql").read_text(encoding="utf-8"))
        await conn.execute(
            "INSERT INTO tasks VALUES (1, 5, 'mine'), (2, 5, 'theirs');"
            "INSERT INTO comments VALUES (10, 1, 5);"
            "INSERT INTO attachments VALUES (100, 10, 7);"
            "INSERT INTO notes VALUES (1, 1, 7), (2, 2, 7)"
        )
        await conn.execute((ROUND21 / "a3.q").read_text(encoding="utf-8"), 1, 5)
        assert await conn.fetch("SELECT * FROM notes") == []  # tenant 2's note (2, 2, 7) too
    finally:
        await conn.close()


# helper-95, wave 4 (tests/fixtures/round21/w4_*): a partition's or an inheritance child's own
# foreign-key cascade reached from a DELETE of the parent (c1, c2); a trigger whose dynamic SQL
# takes its table from TG_ARGV (c3: the trigger's arguments are read); a generated column an
# ON UPDATE CASCADE recomputes from every tenant's rows (c10); sequences named otherwise than
# `_seq` (`CREATE SEQUENCE invoice_numbers`, an identity's `SEQUENCE NAME visit_ids`); the
# transaction counter through `age(relfrozenxid)` / `age(datfrozenxid)`.
WAVE4 = [
    ("w4_c1", "TG005"),
    ("w4_c2", "TG005"),
    ("w4_c3", "TG005"),
    ("w4_c10", "TG005"),
    ("w4_seq_named", "TG006"),
    ("w4_seq_identity", "TG006"),
    ("w4_xid_relage", "TG006"),
    ("w4_xid_dbage", "TG006"),
]


async def test_round21_wave4_on_the_server(database: str) -> None:
    """c3: tenant 1's task deleted; the trigger's `format('DELETE FROM %I …', TG_ARGV[0])`
    with the argument 'notes' deletes tenant 2's note of the same ref."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND21 / "w4_c3.sql").read_text(encoding="utf-8"))
        await conn.execute(
            "INSERT INTO tasks VALUES (1, 5, 'mine'), (2, 5, 'theirs');"
            "INSERT INTO comments VALUES (10, 1, 5);"
            "INSERT INTO notes VALUES (1, 1, 5), (2, 2, 5)"
        )
        await conn.execute((ROUND21 / "w4_c3.q").read_text(encoding="utf-8"), 1, 5)
        assert await conn.fetch("SELECT * FROM notes") == []  # tenant 2's note (2, 2, 5) too
    finally:
        await conn.close()


# helper-96, the write path (tests/fixtures/round21/w5_*): a BEFORE trigger returning another
# row than NEW (`r := NEW; r.tenant_id := NEW.owner; RETURN r`, `RETURN
# jsonb_populate_record(NEW, …)`: the row lands in, or moves to, tenant 2); a table aliased
# `new` in a trigger's statement under `#variable_conflict use_column` (every patient
# touched); dynamic SQL whose table is split across literals (`'UPDATE pati' || 'ents …'`) or
# comes from the trigger (`TG_TABLE_NAME`, `TG_RELID::regclass`).
WAVE5 = [
    ("w5_t1", "TG005"),
    ("w5_t1c", "TG005"),
    ("w5_t1d", "TG005"),
    ("w5_t2", "TG005"),
    ("w5_t5a", "TG005"),
    ("w5_t5b", "TG005"),
    ("w5_t5c", "TG005"),
    ("w5_t5d", "TG005"),
    ("w5_f1", "TG006"),
]


@pytest.mark.parametrize(("case", "code"), WAVE3 + WAVE4 + WAVE5)
def test_round21_shapes(tmp_path: Path, case: str, code: str) -> None:
    """Each fixture's statement, under its schema, is reported (waves 3 to 5 above)."""
    policy = _policy(tmp_path, (ROUND21 / f"{case}.sql").read_text(encoding="utf-8"))
    statement = (ROUND21 / f"{case}.q").read_text(encoding="utf-8").strip().rstrip(";")
    assert code in _codes(statement, policy)


async def test_round21_wave5_on_the_server(database: str) -> None:
    """t1: tenant 1's INSERT stored as tenant 2's row by the trigger's returned record."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND21 / "w5_t1.sql").read_text(encoding="utf-8"))
        statement = (ROUND21 / "w5_t1.q").read_text(encoding="utf-8")
        await conn.execute(statement, 1, 2, "planted by tenant 1")
        rows = await conn.fetch("SELECT tenant_id, body FROM notes")
        assert [tuple(r) for r in rows] == [(2, "planted by tenant 1")]
    finally:
        await conn.close()


# Each fixture's leak on PostgreSQL 15: its schema, a few rows of tenants 1 and 2, tenant 1's
# statement as the fixture has it, then what is left of tenant 2's rows (or what it reads).
# (case: seed, the statement's arguments for tenant 1, a query of tenant 2's rows, its rows)
WITNESSES: dict[str, tuple[str, tuple[object, ...], str, list[tuple[object, ...]]]] = {
    "a1": (
        "INSERT INTO tasks VALUES (1, 10, 't1'), (2, 20, 't2');"
        "INSERT INTO notes VALUES (1, 1, 99), (2, 2, 99), (3, 2, 98);"
        "INSERT INTO comments (tenant_id, task_id) VALUES (1, 10)",
        (1, 99, 10),
        "SELECT id FROM notes WHERE tenant_id = 2 ORDER BY id",
        [(3,)],  # note 2 deleted by the child's CHECK
    ),
    "a2": (
        "INSERT INTO tasks VALUES (1, 10, 't1'), (2, 20, 't2');"
        "INSERT INTO notes VALUES (1, 1, 10), (2, 2, 10), (3, 2, 20);"
        "INSERT INTO comments VALUES (1, 1, 10)",
        (1, 10),
        "SELECT id FROM notes WHERE tenant_id = 2 ORDER BY id",
        [(3,)],  # note 2 deleted by the partition's trigger
    ),
    "a4": (
        "INSERT INTO notes VALUES (1, 1, 10), (2, 2, 10); INSERT INTO old_comments VALUES (1, 1, 10)",
        (1, 1),
        "SELECT id FROM notes WHERE tenant_id = 2",
        [],  # deleted by the child table's trigger
    ),
    "b2": ("", (1, 7), "SELECT tenant_id FROM t WHERE id = 7", [(2,)]),  # a row planted in 2
    "b3": (
        "INSERT INTO t VALUES (1, 2, 5, 'tenant 2 secret')",
        (1, 5, "overwritten by tenant 1"),
        "SELECT body FROM t WHERE tenant_id = 2",
        [("overwritten by tenant 1",)],
    ),
    "b4": (
        "INSERT INTO t VALUES (1, 2, 5, 'tenant 2 secret')",
        (1, 5, "overwritten by tenant 1"),
        "SELECT body FROM t WHERE tenant_id = 2",
        [("overwritten by tenant 1",)],
    ),
    "c2": (
        "INSERT INTO public.t (tenant_id, code, body) VALUES (2, 'INV-1', 'tenant 2 invoice')",
        (1, "INV-1", "overwritten by tenant 1"),
        "SELECT body FROM public.t WHERE tenant_id = 2",
        [("overwritten by tenant 1",)],
    ),
    "w4_c1": (
        "INSERT INTO old_tasks VALUES (1, 10, 't1'); INSERT INTO notes VALUES (100, 2, 10)",
        (1, 10),
        "SELECT id FROM notes WHERE tenant_id = 2",
        [],  # by the child table's own key
    ),
    "w4_c2": (
        "INSERT INTO tasks VALUES (1, 10, 't1'); INSERT INTO notes VALUES (100, 2, 10)",
        (1, 10),
        "SELECT id FROM notes WHERE tenant_id = 2",
        [],  # by the partition's own key
    ),
    "w4_c10": (
        "INSERT INTO tasks VALUES (1, 10, 'x');"
        "INSERT INTO notes VALUES (100, 2, 11, 'tenant2 secret');"
        "INSERT INTO comments VALUES (1, 1, 10)",
        (1, 11, 10),
        "SELECT g FROM comments WHERE tenant_id = 1",
        [("tenant2 secret",)],  # tenant 2's secret in tenant 1's row
    ),
    "w5_t1c": ("", (1, 2, "x"), "SELECT body FROM notes WHERE tenant_id = 2", [("x",)]),
    "w5_t1d": (
        "INSERT INTO notes (tenant_id, owner, body) VALUES (1, 1, 't1 own row')",
        (1, 2, "moved by tenant 1"),
        "SELECT body FROM notes WHERE tenant_id = 2",
        [("moved by tenant 1",)],
    ),
    "w5_t2": (
        "INSERT INTO patients VALUES (10, 1, 'ana'), (20, 2, 'bob')",
        (1, "x"),
        "SELECT name FROM patients WHERE tenant_id = 2",
        [("touched",)],
    ),
    "w5_t5a": (
        "INSERT INTO patients VALUES (10, 1, 'ana'), (20, 2, 'bob')",
        (1, "x"),
        "SELECT name FROM patients WHERE tenant_id = 2",
        [("touched",)],
    ),
    "w5_f1": (
        "INSERT INTO patients VALUES (10, 1, 'ana'), (20, 2, 'bob')",
        (1,),
        "SELECT name FROM patients WHERE tenant_id = 2",
        [],
    ),
    **{
        case: (
            "INSERT INTO notes (tenant_id, body) VALUES (2, 't2 secret note')",
            (1, "y"),
            "SELECT body FROM notes WHERE tenant_id = 2 ORDER BY id",
            [("x",)],  # tenant 2's note overwritten through TG_TABLE_NAME / TG_RELID
        )
        for case in ("w5_t5b", "w5_t5c", "w5_t5d")
    },
}


@pytest.mark.parametrize("case", sorted(WITNESSES))
async def test_round21_fixtures_on_the_server(database: str, case: str) -> None:
    seed, args, tenant_2, expected = WITNESSES[case]
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND21 / f"{case}.sql").read_text(encoding="utf-8"))
        if seed:
            await conn.execute(seed)
        await conn.execute((ROUND21 / f"{case}.q").read_text(encoding="utf-8"), *args)
        assert [tuple(r) for r in await conn.fetch(tenant_2)] == expected
    finally:
        await conn.close()


# the counters: what tenant 1 reads moves with tenant 2's inserts
COUNTERS = {
    "w4_seq_named": "INSERT INTO invoices (tenant_id, total) VALUES (2, 1)",
    "w4_seq_identity": "INSERT INTO visits (tenant_id) VALUES (2)",
    "w4_xid_relage": "INSERT INTO patients (tenant_id, name) VALUES (2, 'x')",
    "w4_xid_dbage": "INSERT INTO patients (tenant_id, name) VALUES (2, 'x')",
}


@pytest.mark.parametrize("case", sorted(COUNTERS))
async def test_round21_counters_on_the_server(database: str, case: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute((ROUND21 / f"{case}.sql").read_text(encoding="utf-8"))
        statement = (ROUND21 / f"{case}.q").read_text(encoding="utf-8")
        before = await conn.fetchval(statement)
        for _ in range(3):  # tenant 2's requests, a transaction each
            await conn.execute(COUNTERS[case])
        assert await conn.fetchval(statement) != before
    finally:
        await conn.close()
