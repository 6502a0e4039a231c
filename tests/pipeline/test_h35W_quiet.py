"""Round 35 (helper h35W): attacks on the runner's "quiet INSERT" shortcut (40f8b54, 27b17a4):
no read back of the runner's settings after a plain INSERT into a table the catalog shows can
run no code. Each case below is an INSERT that was judged quiet and yet ran a function that
resets lock_timeout: the patch's next statement must still see the runner's '300ms' (without
the read back it saw '0', the database's, and its DDL would wait behind the application
without end). On a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import fetchval, write

# made by an earlier patch: the patch under test never says RESET or set_config itself
_RESETS = (
    "CREATE SCHEMA app;\n"
    "CREATE OR REPLACE FUNCTION reset_lt(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS "
    "$f$ BEGIN PERFORM set_config('lock_timeout', NULL, false); RETURN x; END $f$;\n"
    "CREATE OR REPLACE FUNCTION reset_eq(a int, b int) RETURNS bool LANGUAGE plpgsql "
    "IMMUTABLE AS $f$ BEGIN PERFORM set_config('lock_timeout', NULL, false); RETURN a = b; "
    "END $f$;\n"
    "CREATE FUNCTION app.lower(x text) RETURNS text LANGUAGE plpgsql AS "
    "$f$ BEGIN PERFORM set_config('lock_timeout', NULL, false); RETURN x; END $f$;\n"
    "CREATE FUNCTION app.now() RETURNS timestamptz LANGUAGE plpgsql AS "
    "$f$ BEGIN PERFORM set_config('lock_timeout', NULL, false); RETURN pg_catalog.now(); "
    "END $f$;\n"
    "CREATE FUNCTION app.reset_text(x text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS "
    "$f$ BEGIN PERFORM set_config('lock_timeout', NULL, false); RETURN x; END $f$;\n"
    "CREATE SCHEMA ty;\n"
    "CREATE DOMAIN ty.text AS pg_catalog.text CHECK (app.reset_text(VALUE) IS NOT NULL);\n"
    "CREATE DOMAIN d AS int CHECK (reset_lt(VALUE) = VALUE);\n"
    "CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = reset_eq);\n"
    "CREATE TYPE mood AS ENUM ('a', 'b');\n"
    "CREATE FUNCTION to_mood(x int) RETURNS mood LANGUAGE plpgsql AS "
    "$f$ BEGIN PERFORM set_config('lock_timeout', NULL, false); RETURN 'a'; END $f$;\n"
)
_CAST = "CREATE CAST (int AS mood) WITH FUNCTION to_mood(int) AS ASSIGNMENT;\n"
_SEEN = "CREATE TABLE IF NOT EXISTS seen AS SELECT current_setting('lock_timeout') AS v;\n"


@pytest.mark.parametrize(
    ("table", "insert"),
    [
        # the call's schema is dropped: app.lower read as the built-in lower
        ("CREATE TABLE t (id int, note text);", "INSERT INTO t (note) VALUES (app.lower('x'));"),
        # a user operator in a subquery comparison: a SubLink, no A_Expr
        (
            "CREATE TABLE t (id int);",
            "INSERT INTO t (id) VALUES ((SELECT 1 WHERE 1 === ANY (SELECT 1)));",
        ),
        # an assignment cast of the value to the column's enum runs the cast's function
        (_CAST + "CREATE TABLE t (id int, m mood);", "INSERT INTO t (m) VALUES (1);"),
        # a default / CHECK that casts to a domain: no funcid of the domain's CHECK in adbin
        ("CREATE TABLE t (id int, n int DEFAULT 1::d);", "INSERT INTO t (id) VALUES (1);"),
        ("CREATE TABLE t (id int CHECK (id::d IS NOT NULL));", "INSERT INTO t (id) VALUES (1);"),
    ],
    ids=[
        "qualified_call",
        "sublink_operator",
        "assignment_cast",
        "domain_default",
        "domain_check",
    ],
)
async def test_an_insert_judged_quiet_that_runs_code_is_read_back(
    database: str, tmp_path: Path, table: str, insert: str
) -> None:
    write(tmp_path, "0001_t.sql", _RESETS + table + "\n")
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_insert.sql", insert + "\n" + _SEEN)
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 1
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"


@pytest.mark.parametrize(
    "insert",
    [
        # a domain named text in pg_temp: types are searched there before pg_catalog
        "CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (app.reset_text(VALUE) IS NOT NULL);"
        "\nINSERT INTO t (note) VALUES ('x'::text);",
        # pg_catalog after app on the patch's path: now() is app's
        "SET LOCAL search_path = app, pg_catalog, public;\nINSERT INTO public.t (at) VALUES (now());",
    ],
    ids=["temp_domain_text", "path_function"],
)
async def test_an_insert_whose_names_resolve_elsewhere_is_read_back(
    database: str, tmp_path: Path, insert: str
) -> None:
    write(tmp_path, "0001_t.sql", _RESETS + "CREATE TABLE t (id int, note text, at timestamptz);\n")
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_insert.sql", insert + "\n" + _SEEN.replace("seen", "public.seen"))
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 1
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"


async def test_an_insert_into_a_partition_whose_key_calls_a_function_is_read_back(
    database: str, tmp_path: Path
) -> None:
    """An INSERT straight into a partition checks the partition's bounds on its parent's key:
    the key expression reset_lt(id) runs, though the partition has no trigger, rule, CHECK of
    its own (pg_constraint holds no partition constraint)."""
    write(
        tmp_path,
        "0001_t.sql",
        _RESETS + "CREATE TABLE p (id int) PARTITION BY RANGE (reset_lt(id));\n"
        "CREATE TABLE t PARTITION OF p FOR VALUES FROM (0) TO (10);\n",
    )
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_insert.sql", "INSERT INTO t (id) VALUES (1);\n" + _SEEN)
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT count(*) FROM p") == 1
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE t ADD CONSTRAINT c CHECK (reset_lt(id) = id);",
        "ALTER TABLE t ALTER COLUMN note SET DEFAULT app.reset_text('x');",
        "DO $d$ BEGIN EXECUTE 'CREATE TRIGGER t_reset BEFORE INSERT ON t FOR EACH ROW "
        "EXECUTE FUNCTION t_reset()'; END $d$;",
        "CREATE RULE r AS ON INSERT TO t DO ALSO SELECT reset_lt(NEW.id);",
    ],
    ids=["add_check", "set_default", "do_block_trigger", "rule"],
)
async def test_a_table_changed_between_quiet_inserts_is_judged_again(
    database: str, tmp_path: Path, change: str
) -> None:
    """Held (guard): t judged quiet at the first INSERT, changed by the next statement, the
    INSERT after runs the new code and is read back after: '300ms', t 2 rows."""
    write(
        tmp_path,
        "0001_t.sql",
        _RESETS + "CREATE OR REPLACE FUNCTION t_reset() RETURNS trigger LANGUAGE plpgsql AS "
        "$f$ BEGIN PERFORM set_config('lock_timeout', NULL, false); RETURN NEW; END $f$;\n"
        "CREATE TABLE t (id int, note text);\n",
    )
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(
        tmp_path,
        "0002_insert.sql",
        "INSERT INTO t (id) VALUES (1);\n" + change + "\nINSERT INTO t (id) VALUES (2);\n" + _SEEN,
    )
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 2
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"


async def test_an_event_trigger_that_resets_lock_timeout_before_ddl(
    database: str, tmp_path: Path
) -> None:
    """An event trigger on ddl_command_start that resets lock_timeout: it runs inside the
    patch's DDL statement before the DDL takes its locks, so no read back after a statement
    can restore the runner's setting for that DDL."""
    write(
        tmp_path,
        "0001_evt.sql",
        "CREATE FUNCTION evt_reset() RETURNS event_trigger LANGUAGE plpgsql AS "
        "$f$ BEGIN PERFORM set_config('lock_timeout', NULL, false); END $f$;\n"
        "CREATE EVENT TRIGGER evt_reset ON ddl_command_start EXECUTE FUNCTION evt_reset();\n",
    )
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_ddl.sql", "CREATE TABLE t (id int);\n" + _SEEN)
    try:
        await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    except Exception as error:  # a refusal is a fix too
        assert "lock_timeout" in str(error) or "event trigger" in str(error), error
        assert await fetchval(database, "SELECT to_regclass('seen') IS NULL")
        return
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"


@pytest.mark.parametrize(
    ("body", "patch", "refused"),
    [
        ("EXECUTE 'RESET lock_timeout';", "CREATE TABLE t (id int);\n", True),
        ("PERFORM set_config('lock_timeout', NULL, false);", "CREATE TABLE t (id int);\n", True),
        ("RAISE NOTICE 'ddl';", "CREATE TABLE t (id int);\n", False),  # twin: no reset
        ("EXECUTE 'RESET lock_timeout';", "INSERT INTO p VALUES (1);\n", False),  # no DDL
    ],
    ids=["reset", "set_config", "harmless_trigger", "no_ddl"],
)
async def test_a_ddl_start_event_trigger_that_resets_lock_timeout_is_refused(
    database: str, tmp_path: Path, body: str, patch: str, refused: bool
) -> None:
    """An enabled ddl_command_start event trigger whose function resets lock_timeout runs
    inside each DDL statement before it locks (before: 'CREATE TABLE seen AS SELECT
    current_setting(''lock_timeout'')' saw '0'): a pending patch with DDL is refused, nothing
    applied; a patch of INSERTs, or a trigger that resets nothing, applies."""
    write(
        tmp_path,
        "0001_evt.sql",
        "CREATE TABLE p (id int);\n"
        "CREATE FUNCTION evt() RETURNS event_trigger LANGUAGE plpgsql AS "
        f"$f$ BEGIN {body} END $f$;\n"
        "CREATE EVENT TRIGGER evt ON ddl_command_start EXECUTE FUNCTION evt();\n",
    )
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_next.sql", patch)
    if refused:
        with pytest.raises(PatchError, match="event trigger evt"):
            await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
        assert await fetchval(database, "SELECT to_regclass('t') IS NULL")
    else:
        run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
        assert run.applied == ["0002_next.sql"]
        assert await fetchval(
            database, "SELECT count(*) FROM pg_class WHERE relname IN ('t', 'p')"
        ) == (2 if "CREATE" in patch else 1)
