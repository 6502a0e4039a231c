"""Round 36 (helper h36U): an outsider's attacks on the patch ledger check (h36E's record_send
digest and catalog read), on a real PostgreSQL: what a patch can do to the ledger that the check,
read after the patch's last statement and before its COMMIT, does not see."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.test_h36E_faults import _apply
from tests.pipeline.test_pipeline_faults import fetchval, ledger_names, write

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

_WIPE = """CREATE TABLE t (x int);
CREATE FUNCTION wipe() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN {body}; RETURN NULL; END$$;
CREATE CONSTRAINT TRIGGER w AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION wipe();
INSERT INTO t VALUES (1);
"""


@pytest.mark.parametrize(
    "body",
    [
        "DELETE FROM tenantguard_patches",
        "UPDATE tenantguard_patches SET checksum = 'x'",
        "INSERT INTO tenantguard_patches VALUES ('0009_x.sql', 9, 'x', now(), 0)",
        "EXECUTE 'TRUNCATE tenantguard_patches'",
    ],
    ids=["delete", "update", "insert", "truncate"],
)
async def test_a_deferred_trigger_that_changes_the_ledger_at_commit_is_refused(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str
) -> None:
    """A constraint trigger DEFERRABLE INITIALLY DEFERRED on the patch's table, fired by the
    patch's INSERT, runs at COMMIT — after the runner's ledger check and its own ledger row.
    Before: exit 0, '0002_w.sql' applied, and the ledger emptied (or rewritten) at COMMIT: the
    next run took 0001 for a new patch. Now the deferred triggers fire before the check (SET
    CONSTRAINTS ALL IMMEDIATE): refused, rolled back (no t, no wipe), ledger 0001 alone."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE a (x int);\n")
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    write(tmp_path, "0002_w.sql", _WIPE.format(body=body))
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1, out
    assert "changed the patch ledger" in out
    assert await ledger_names(database) == ["0001_a.sql"]
    assert await fetchval(database, "SELECT to_regclass('t') IS NULL")
    assert await fetchval(database, "SELECT count(*) FROM tenantguard_patches") == 1


async def test_a_deferred_trigger_that_leaves_the_ledger_alone_applies(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin: a deferred constraint trigger writing its own table (an audit) applies, its row
    written once, and a deferred foreign key still holds at the patch's end."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE a (x int);\n")
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    write(
        tmp_path,
        "0002_w.sql",
        "CREATE TABLE audit (n int);\n"
        + _WIPE.format(body="INSERT INTO audit VALUES (1)")
        + "CREATE TABLE p (id int PRIMARY KEY);\n"
        "CREATE TABLE c (p int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\n"
        "INSERT INTO c VALUES (5);\nINSERT INTO p VALUES (5);\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert await ledger_names(database) == ["0001_a.sql", "0002_w.sql"]
    assert await fetchval(database, "SELECT count(*) FROM audit") == 1
    assert await fetchval(database, "SELECT count(*) FROM c") == 1


async def test_a_deferred_foreign_key_that_fails_is_refused(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deferred foreign key the patch's rows break: rolled back, exit 1, nothing recorded."""
    write(
        tmp_path,
        "0001_w.sql",
        "CREATE TABLE p (id int PRIMARY KEY);\n"
        "CREATE TABLE c (p int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\n"
        "INSERT INTO c VALUES (5);\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1, out
    assert "foreign key" in out
    assert await ledger_names(database) == []
    assert await fetchval(database, "SELECT to_regclass('c') IS NULL")


_COPY_ALL = """CREATE SCHEMA app;
DO $$DECLARE r record; BEGIN
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE format('CREATE {kind} app.%I {body}', r.tablename, r.tablename);
  END LOOP;
END$$;
"""


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("TABLE", "(LIKE public.%I INCLUDING ALL)"),
        ("VIEW", "AS SELECT * FROM public.%I WHERE false"),
    ],
    ids=["empty_copy", "view"],
)
async def test_a_namesake_ledger_made_ahead_on_the_path_is_refused(
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    body: str,
) -> None:
    """The database's search_path is 'app, public' (app made later); the ledger is public's. A
    patch copies every table of public into a new schema app (a loop over pg_tables that does
    not leave the ledger out): the ledger itself is unchanged, so the check passed — exit 0 —
    and the next run's search path found app.tenantguard_patches, empty: 0001 ran again (its
    INSERT into app.a), 0002 failed 'schema "app" already exists', exit 1 on every run, the
    app ledger holding 0001 alone. Now a relation of the ledger's name made anywhere is a
    change of the ledger: refused, rolled back (no schema app), a keeps 1 row."""
    await fetchval(database, "SELECT 1")
    name = await fetchval(database, "SELECT current_database()")
    await fetchval(database, f'ALTER DATABASE "{name}" SET search_path = app, public')
    write(
        tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (x int);\nINSERT INTO a VALUES (1);\n"
    )
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    write(tmp_path, "0002_copy.sql", _COPY_ALL.format(kind=kind, body=body))
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1, out
    assert "changed the patch ledger" in out and "another relation of its name" in out
    assert await fetchval(database, "SELECT to_regnamespace('app') IS NULL")
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1, out
    assert await fetchval(database, "SELECT count(*) FROM public.a") == 1
    assert await fetchval(database, "SELECT count(*) FROM public.tenantguard_patches") == 1


async def test_a_copy_of_every_table_but_the_ledger_applies(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin: the same loop leaving the ledger out applies; the next run does nothing."""
    write(
        tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (x int);\nINSERT INTO a VALUES (1);\n"
    )
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    text = _COPY_ALL.format(kind="TABLE", body="(LIKE public.%I INCLUDING ALL)").replace(
        "'public'", "'public' AND tablename <> 'tenantguard_patches'"
    )
    write(tmp_path, "0002_copy.sql", text)
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert await fetchval(database, "SELECT to_regclass('app.a') IS NOT NULL")
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert await ledger_names(database) == ["0001_a.sql", "0002_copy.sql"]
    assert await fetchval(database, "SELECT count(*) FROM public.a") == 1


@pytest.mark.parametrize(
    "change",
    [
        "CREATE UNIQUE INDEX ledger_number ON tenantguard_patches (number);",
        "CREATE FUNCTION boom(text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS "
        "$$BEGIN IF $1 LIKE '0003%' THEN RAISE 'no'; END IF; RETURN $1; END$$;\n"
        "CREATE INDEX ledger_boom ON tenantguard_patches (boom(name));",
        "CREATE TABLE p (name text, number int, checksum text, applied_at timestamptz, "
        "duration_ms float8);\nALTER TABLE tenantguard_patches INHERIT p;",
    ],
    ids=["unique_index", "expression_index", "inherit"],
)
async def test_an_index_or_a_parent_given_to_the_ledger_is_refused(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    """An index on the ledger (a unique one on number refuses the next patch of an applied
    number; an expression index runs a function of the patch's at each of the runner's own
    INSERTs: 'boom' blocked every patch from 0003 on) or a parent table (DROP TABLE p CASCADE
    takes the ledger with it) was not read by the definition check: exit 0. Now refused, rolled
    back (no index, no parent), ledger 0001 alone; 0003 applies after 0002 is fixed."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE a (x int);\n")
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    write(tmp_path, "0002_l.sql", change + "\n")
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1, out
    assert "changed the patch ledger" in out and "its definition changed" in out
    assert await ledger_names(database) == ["0001_a.sql"]
    assert (
        await fetchval(
            database,
            "SELECT count(*) FROM pg_index WHERE indrelid = 'tenantguard_patches'::regclass",
        )
        == 1
    )
    assert await fetchval(database, "SELECT to_regclass('p') IS NULL")
    write(tmp_path, "0002_l.sql", "CREATE INDEX a_x ON a (x);\n")
    write(tmp_path, "0003_b.sql", "CREATE TABLE b (x int);\n")
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    assert await ledger_names(database) == ["0001_a.sql", "0002_l.sql", "0003_b.sql"]
