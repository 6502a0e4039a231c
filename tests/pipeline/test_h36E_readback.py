"""Round 36 (helper h36E): the runner's lock_timeout read back after a statement whose code the
patch's text does not name. A trigger's or a function's `set_config('lock_timeout', '0',
false)` leaves the setting's source 'session', like a patch's own `SET lock_timeout`: the
runner now keeps the value the patch's own statements left (its own, or the patch's when a
statement of the patch names lock_timeout) and puts it back when anything else changed it.
And a call qualified with another schema than pg_catalog (`app.now()`) is not the built-in of
its last name. On a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import fetchval, ledger_names, write

_SEEN = "CREATE TABLE IF NOT EXISTS public.seen AS SELECT current_setting('lock_timeout') AS v;\n"
_SETS = {
    "zero": "PERFORM set_config('lock_timeout', '0', false);",
    "long": "PERFORM set_config('lock_timeout', '1h', false);",
    "null": "PERFORM set_config('lock_timeout', NULL, false);",
    "local": "PERFORM set_config('lock_timeout', '0', true);",
    "execute": "EXECUTE 'SET lock_timeout = 0';",
}


@pytest.mark.parametrize("body", list(_SETS.values()), ids=list(_SETS))
async def test_a_trigger_that_sets_lock_timeout_is_put_back(
    database: str, tmp_path: Path, body: str
) -> None:
    write(
        tmp_path,
        "0001_t.sql",
        "CREATE TABLE t (id int);\n"
        f"CREATE FUNCTION t_set() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN {body} "
        "RETURN NEW; END $f$;\n"
        "CREATE TRIGGER t_set BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_set();\n",
    )
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_insert.sql", "INSERT INTO t VALUES (1);\n" + _SEEN)
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_insert.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 1
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"


# app.now: a name of pg_catalog's in another schema, called qualified
_APP_NOW = (
    "CREATE SCHEMA app;\n"
    "CREATE FUNCTION app.now() RETURNS timestamptz LANGUAGE plpgsql AS $f$ BEGIN "
    "PERFORM set_config('lock_timeout', '0', false); RETURN pg_catalog.now(); END $f$;\n"
    "CREATE TABLE t (id int, at timestamptz);\n"
)


@pytest.mark.parametrize(
    "call",
    ["SELECT app.now();", "UPDATE t SET at = app.now();", "SELECT 1 FROM t WHERE at < app.now();"],
    ids=["select", "update", "where"],
)
async def test_a_qualified_call_of_a_function_named_like_a_built_in_is_put_back(
    database: str, tmp_path: Path, call: str
) -> None:
    write(tmp_path, "0001_app.sql", _APP_NOW + "INSERT INTO t VALUES (1, NULL);\n")
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_call.sql", call + "\n" + _SEEN)
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_call.sql"]
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"


@pytest.mark.parametrize(
    "own",
    [
        "SET lock_timeout = '2s';",
        "SET LOCAL lock_timeout = '2s';",
        "SELECT set_config('lock_timeout', '2s', false);",
    ],
    ids=["set", "set_local", "set_config"],
)
async def test_the_patch_s_own_lock_timeout_is_kept_and_put_back_after_a_trigger(
    database: str, tmp_path: Path, own: str
) -> None:
    """The twin: a patch that chooses its own lock_timeout keeps it, also after a trigger
    changed it (the trigger's '0' is replaced by the patch's '2s', not the runner's)."""
    write(
        tmp_path,
        "0001_t.sql",
        "CREATE TABLE t (id int);\n"
        "CREATE FUNCTION t_set() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN "
        "PERFORM set_config('lock_timeout', '0', false); RETURN NEW; END $f$;\n"
        "CREATE TRIGGER t_set BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_set();\n"
        "CREATE TABLE plain (id int);\n",
    )
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(
        tmp_path,
        "0002_own.sql",
        own + "\nINSERT INTO plain VALUES (1);\n"
        "CREATE TABLE before_trigger AS SELECT current_setting('lock_timeout') AS v;\n"
        "INSERT INTO t VALUES (1);\n" + _SEEN,
    )
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_own.sql"]
    assert await fetchval(database, "SELECT v FROM before_trigger") == "2s"
    assert await fetchval(database, "SELECT v FROM seen") == "2s"
    assert await fetchval(database, "SELECT count(*) FROM t") == 1


async def test_a_qualified_call_whose_function_puts_pg_temp_first_is_refused(
    database: str, tmp_path: Path
) -> None:
    """`SELECT app.now()` whose function has `SET search_path = pg_temp, public` and creates an
    unqualified table: it went to pg_temp (lost at the session's end) — the runner looked for
    such functions by the call's last name only, and `now` is a built-in it passes over."""
    write(
        tmp_path,
        "0001_app.sql",
        "CREATE SCHEMA app;\n"
        "CREATE FUNCTION app.now() RETURNS timestamptz LANGUAGE plpgsql "
        "SET search_path = pg_temp, public AS $f$ BEGIN "
        "CREATE TABLE made_here (id int); RETURN pg_catalog.now(); END $f$;\n",
    )
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(tmp_path, "0002_call.sql", "SELECT app.now();\nCREATE TABLE public.after (id int);\n")
    with pytest.raises(PatchError, match="made_here"):
        await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert await ledger_names(database) == ["0001_app.sql"]
    assert await fetchval(database, "SELECT to_regclass('public.after')") is None


async def test_a_patch_s_reset_all_after_its_own_lock_timeout_gives_the_runner_s(
    database: str, tmp_path: Path
) -> None:
    """`SET lock_timeout = '2s'`, then `RESET ALL`: the patch gave its own value up — the next
    statement sees the runner's '300ms' (not the database's 0, nor the '2s' it reset)."""
    write(tmp_path, "0001_t.sql", "CREATE TABLE t (id int);\n")
    await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    write(
        tmp_path,
        "0002_reset.sql",
        "SET lock_timeout = '2s';\nINSERT INTO t VALUES (1);\nRESET ALL;\n"
        "INSERT INTO t VALUES (2);\n" + _SEEN,
    )
    run = await apply_patches(database, tmp_path, ddl_lock_timeout=0.3)
    assert run.applied == ["0002_reset.sql"]
    assert await fetchval(database, "SELECT count(*) FROM t") == 2
    assert await fetchval(database, "SELECT v FROM seen") == "300ms"
