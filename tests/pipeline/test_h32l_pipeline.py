"""Round 32: the patch pipeline (helper h32l), on a real server. Each test names what the
database was left as, or what the user saw, before the fix.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import cli, ledger_names, write

_C = "CREATE TABLE IF NOT EXISTS c (id int);\n"


async def test_an_older_version_does_not_rename_back_the_ledger_of_a_newer_one(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The new version renames 0003_c.sql to 0004_c.sql (same contents). Run old, new, old
    (a rolling deploy): the old one renamed the ledger row back to 0003_c.sql, exit 0 and no
    word that the database is newer, and every start of the other version renamed it again.
    The old version leaves the ledger alone and warns, naming the newer patch; `status` says
    so too (exit 1, as for an applied patch whose file is gone); `--rebaseline` records a
    renumbering down that was meant."""
    old, new = tmp_path / "old", tmp_path / "new"
    for directory, third in ((old, "0003_c.sql"), (new, "0004_c.sql")):
        write(directory, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
        write(directory, "0002_b.sql", "CREATE TABLE IF NOT EXISTS b (id int);\n")
        write(directory, third, _C)
    await apply_patches(database, old)
    await apply_patches(database, new)
    assert await ledger_names(database) == ["0001_a.sql", "0002_b.sql", "0004_c.sql"]
    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            run = await apply_patches(database, old)
        assert run.renamed == [] and run.applied == []
        assert await ledger_names(database) == ["0001_a.sql", "0002_b.sql", "0004_c.sql"]
        said = caplog.text
        assert "0004_c.sql" in said and "0003_c.sql" in said and "newer" in said
        run = await apply_patches(database, new)
        assert run.renamed == [] and run.applied == []
    assert await cli("patches", "status", "--dsn", database, "--dir", str(old)) == 1
    assert await cli("patches", "status", "--dsn", database, "--dir", str(new)) == 0
    # a renumbering down that was meant: --rebaseline records it
    run = await apply_patches(database, old, rebaseline=["0003_c.sql"])
    assert run.renamed == [("0004_c.sql", "0003_c.sql")]
    assert await ledger_names(database) == ["0001_a.sql", "0002_b.sql", "0003_c.sql"]


async def test_a_rename_up_and_a_rename_among_later_patches_are_recorded(
    database: str, tmp_path: Path
) -> None:
    """Safe twins: renumbering up (0003 -> 0004) and renumbering down while the directory
    still reaches the ledger's highest patch are renames the ledger records."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    write(tmp_path, "0003_c.sql", _C)
    write(tmp_path, "0005_e.sql", "CREATE TABLE IF NOT EXISTS e (id int);\n")
    await apply_patches(database, tmp_path)
    shutil.move(tmp_path / "0003_c.sql", tmp_path / "0004_c.sql")
    run = await apply_patches(database, tmp_path)
    assert run.renamed == [("0003_c.sql", "0004_c.sql")]
    shutil.move(tmp_path / "0004_c.sql", tmp_path / "0002_c.sql")
    run = await apply_patches(database, tmp_path)
    assert run.renamed == [("0004_c.sql", "0002_c.sql")]
    assert await ledger_names(database) == ["0001_a.sql", "0002_c.sql", "0005_e.sql"]


_ADD_B = """
CREATE TABLE IF NOT EXISTS a (id int);
CREATE OR REPLACE FUNCTION add_b() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    ALTER TABLE a ADD COLUMN b int;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'already there';
END $$;
"""
_AUDIT = """
CREATE TABLE IF NOT EXISTS t (id int);
CREATE TABLE IF NOT EXISTS audit (id int);
CREATE OR REPLACE FUNCTION t_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        INSERT INTO audit VALUES (NEW.id);
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'audit skipped';
    END;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER t_audit AFTER INSERT OR UPDATE OR DELETE ON t
    FOR EACH ROW EXECUTE FUNCTION t_audit();
"""

# (patches applied first, the new patch, the function named in the refusal)
_INDIRECT = {
    "sql_wrapper_in_database": (
        _ADD_B + "CREATE FUNCTION wrap() RETURNS void LANGUAGE sql AS $$ SELECT add_b() $$;\n",
        "SELECT wrap();\n",
        "add_b",
    ),
    "sql_wrapper_atomic_in_database": (
        _ADD_B
        + "CREATE FUNCTION wrap() RETURNS void LANGUAGE sql BEGIN ATOMIC SELECT add_b(); END;\n",
        "SELECT wrap();\n",
        "add_b",
    ),
    "sql_wrapper_in_patch": (
        _ADD_B,
        "CREATE FUNCTION wrap() RETURNS void LANGUAGE sql AS $$ SELECT add_b() $$;\n"
        "SELECT wrap();\n",
        "add_b",
    ),
    "plpgsql_wrapper_assignment": (
        _ADD_B + "CREATE FUNCTION wrap() RETURNS int LANGUAGE plpgsql AS $$\n"
        "DECLARE x int; BEGIN PERFORM 1; x := length(add_b()::text); RETURN x; END $$;\n",
        "CALL_IT",
        "add_b",
    ),
    "dynamic_constant": (_ADD_B, "DO $$ BEGIN EXECUTE 'SELECT add_b()'; END $$;\n", "add_b"),
    "dynamic_built": (
        _ADD_B,
        "DO $$ DECLARE n int := 1; BEGIN EXECUTE 'SELECT add_b(' || ')' || repeat(' ', n); END $$;\n",
        "add_b",
    ),
    "dynamic_insert_firing_trigger": (
        _AUDIT,
        "DO $$ BEGIN EXECUTE format('INSERT INTO t VALUES (%s)', 1); END $$;\n",
        "t_audit",
    ),
    "variadic_in_database": (
        _ADD_B.replace("add_b()", "add_b(VARIADIC xs int[])"),
        "SELECT add_b(1, 2);\n",
        "add_b",
    ),
    "variadic_in_patch": (
        "SELECT 1;\n",
        _ADD_B.replace("add_b()", "add_b(VARIADIC xs int[])") + "SELECT add_b(1, 2);\n",
        "add_b",
    ),
    "replaced_after_the_call": (
        _ADD_B,
        "SELECT add_b();\n" + _ADD_B.replace("WHEN OTHERS", "WHEN duplicate_column"),
        "add_b",
    ),
    "trigger_in_database": (_AUDIT, "INSERT INTO t VALUES (1);\n", "t_audit"),
    "trigger_in_database_update_in_do": (
        _AUDIT,
        "DO $$ BEGIN UPDATE t SET id = 2; END $$;\n",
        "t_audit",
    ),
    "trigger_in_patch": ("SELECT 1;\n", _AUDIT + "DELETE FROM t;\n", "t_audit"),
    "trigger_behind_a_function": (
        _AUDIT
        + "CREATE FUNCTION fill() RETURNS void LANGUAGE sql AS $$ INSERT INTO t VALUES (3) $$;\n",
        "SELECT fill();\n",
        "t_audit",
    ),
}


@pytest.mark.parametrize("case", sorted(_INDIRECT))
async def test_a_swallowing_handler_reached_indirectly_is_refused(
    database: str, tmp_path: Path, case: str
) -> None:
    """A SQL function that calls a swallowing PL/pgSQL function, or a trigger with `WHEN OTHERS`
    fired by the patch's own INSERT/UPDATE/DELETE: the handler catches the runner's
    lock_timeout of the statements inside it (the application holding `audit` or `a`), and the
    patch was recorded without their effect. Refused, naming the function; nothing applied."""
    first, new, function = _INDIRECT[case]
    write(tmp_path, "0001_a.sql", first)
    await apply_patches(database, tmp_path)
    new = new.replace("CALL_IT", "SELECT wrap();\n")
    write(tmp_path, "0002_x.sql", new)
    with pytest.raises(PatchError) as refused:
        await apply_patches(database, tmp_path)
    said = str(refused.value)
    assert "0002_x.sql" in said and f"{function}(" in said and "WHEN others" in said
    assert await ledger_names(database) == ["0001_a.sql"]
    assert await cli("patches", "status", "--dsn", database, "--dir", str(tmp_path)) == 1


_HARMLESS = {
    # a name followed by `(` in a string, a comment, or a statement that does not call it
    "comment_and_string": "-- add_b() runs at night\nCOMMENT ON TABLE a IS 'filled by add_b() at night';\n",
    "comment_on_function": "COMMENT ON FUNCTION add_b() IS 'run by hand';\n",
    "grant": "GRANT EXECUTE ON FUNCTION add_b() TO PUBLIC;\n",
    "insert_string": "CREATE TABLE IF NOT EXISTS notes (x text);\nINSERT INTO notes VALUES ('add_b(');\n",
    # writes to a table whose trigger names its conditions; reads of a swallowing trigger's table
    "named_trigger": _AUDIT.replace("WHEN OTHERS", "WHEN unique_violation")
    .replace("t_audit", "t2_audit")
    .replace(" t ", " t2 ")
    .replace("ON t\n", "ON t2\n")
    .replace("TABLE IF NOT EXISTS t ", "TABLE IF NOT EXISTS t2 ")
    + "INSERT INTO t2 VALUES (1);\n",
    "read_only": "SELECT count(*) FROM t;\n",
    # a view's or a policy's query does not run when it is made
    "view": "CREATE OR REPLACE VIEW v_b AS SELECT add_b()::text AS x;\n",
    "policy": "CREATE POLICY p_b ON a USING (add_b() IS NULL);\n",
}


@pytest.mark.parametrize("case", sorted(_HARMLESS))
async def test_a_name_that_is_not_called_is_no_call(
    database: str, tmp_path: Path, case: str
) -> None:
    """False refusals: a swallowing function's name followed by `(` in a string literal, a
    comment, `COMMENT ON FUNCTION`, `GRANT … ON FUNCTION` was read as a call (the patch's
    text was searched); the parse tree says what runs."""
    write(tmp_path, "0001_a.sql", _ADD_B + _AUDIT)
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_x.sql", _HARMLESS[case])
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0002_x.sql"]


async def test_a_function_the_patch_creates_and_only_comments_on_is_applied(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Within one patch: `COMMENT ON FUNCTION later_b()` after creating it was a call."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    await apply_patches(database, tmp_path)
    write(
        tmp_path,
        "0002_x.sql",
        _ADD_B.replace("add_b", "later_b")
        + "COMMENT ON FUNCTION later_b() IS 'run by hand: later_b()';\n",
    )
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0002_x.sql"]
    capsys.readouterr()
    await cli("patches", "lint", "--no-cache", str(tmp_path / "0002_x.sql"))
    assert "TG109" not in capsys.readouterr().out


_IN_A_DO_BLOCK = {
    "constant": ("", "DO $$ BEGIN EXECUTE 'CREATE INDEX CONCURRENTLY a_id ON a (id)'; END $$;\n"),
    "joined": (
        "",
        "DO $$ BEGIN EXECUTE 'CREATE INDEX ' || 'CONCURRENTLY a_id ON a (id)'; END $$;\n",
    ),
    "built": (
        "",
        "DO $$ BEGIN EXECUTE format('CREATE INDEX CONCURRENTLY %I ON a (id)', 'a_id'); END $$;\n",
    ),
    "static": ("", "DO $$ BEGIN CREATE INDEX CONCURRENTLY a_id ON a (id); END $$;\n"),
    "vacuum": ("", "DO $$ BEGIN EXECUTE 'VACUUM a'; END $$;\n"),
    "no_transaction": (
        "-- tenantguard: no-transaction\n",
        "DO $$ BEGIN EXECUTE 'CREATE INDEX CONCURRENTLY a_id ON a (id)'; END $$;\n",
    ),
}


@pytest.mark.parametrize("case", sorted(_IN_A_DO_BLOCK))
async def test_a_concurrent_index_in_a_do_block_is_refused_before_any_patch_runs(
    database: str, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`DO $$ BEGIN EXECUTE 'CREATE INDEX CONCURRENTLY …'; END $$;`: PostgreSQL refuses it in
    any function or DO block ('cannot be executed from a function'), in a no-transaction patch
    too. The patches before it were applied and the run failed on it; lint said nothing.
    Refused up front by apply and lint, for a constant text and for one built around it."""
    marker, block = _IN_A_DO_BLOCK[case]
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    await apply_patches(database, tmp_path)
    # the server's verdict, outside any transaction
    import asyncpg

    conn = await asyncpg.connect(database)
    try:
        with pytest.raises(asyncpg.PostgresError, match="cannot be executed from a function"):
            await conn.execute(block)
    finally:
        await conn.close()
    write(tmp_path, "0002_b.sql", "CREATE TABLE IF NOT EXISTS b (id int);\n")
    (tmp_path / "0003_i.sql").write_text(marker + block, encoding="utf-8")
    capsys.readouterr()
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(tmp_path)) == 1
    said = capsys.readouterr().err
    assert "0003_i.sql" in said and "DO block" in said and "Traceback" not in said
    assert await ledger_names(database) == ["0001_a.sql"]
    assert await cli("patches", "lint", "--no-cache", str(tmp_path / "0003_i.sql")) == 1
    assert "0003_i.sql:" in capsys.readouterr().out


async def test_a_do_block_that_executes_what_a_transaction_allows_is_applied(
    database: str, tmp_path: Path
) -> None:
    """Safe twins: a plain index built by EXECUTE, a text that mentions CONCURRENTLY, a
    REFRESH MATERIALIZED VIEW CONCURRENTLY (allowed in a transaction)."""
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    write(
        tmp_path,
        "0002_b.sql",
        """
        DO $$ BEGIN EXECUTE 'CREATE INDEX IF NOT EXISTS a_id ON a (id)'; END $$;
        DO $$ BEGIN EXECUTE format('COMMENT ON TABLE a IS %L', 'built CONCURRENTLY'); END $$;
        CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT 1 AS x;
        CREATE UNIQUE INDEX IF NOT EXISTS mv_x ON mv (x);
        DO $$ BEGIN EXECUTE 'REFRESH MATERIALIZED VIEW CONCURRENTLY mv'; END $$;
        """,
    )
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0001_a.sql", "0002_b.sql"]


async def test_lint_of_schema_scripts_outside_a_patch_directory_does_not_ask_for_patch_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`patches lint db/init` (a default schema path: the scripts a container runs at its first
    start, `schema.sql`, `01-seed.sql`) failed every file with TG109 'a patch file is named
    NNNN_description.sql', though `patches apply` never reads that directory. The names are
    checked where patches are: a directory holding a file named as a patch."""
    init = tmp_path / "db" / "init"
    write(init, "schema.sql", "CREATE TABLE IF NOT EXISTS tenants (id bigint PRIMARY KEY);\n")
    write(init, "01-seed.sql", "INSERT INTO tenants VALUES (1) ON CONFLICT DO NOTHING;\n")
    await cli("patches", "lint", "--no-cache", str(init))
    assert "TG109" not in capsys.readouterr().out
    write(init, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")  # now a patch dir
    await cli("patches", "lint", "--no-cache", str(init))
    linted = capsys.readouterr().out
    assert "schema.sql:1:1: TG109" in linted and "NNNN_description.sql" in linted


_BATCHES = """
CREATE TABLE IF NOT EXISTS a (id int);
CREATE OR REPLACE PROCEDURE batches() LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..3 LOOP
        UPDATE a SET id = id WHERE id = i;
        COMMIT;
    END LOOP;
END $$;
"""


@pytest.mark.parametrize("where", ["patch", "database"])
async def test_a_transactional_patch_calling_a_committing_procedure_is_refused_up_front(
    database: str, tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`CALL batches();` of a procedure that COMMITs, in a transactional patch: apply ran the
    patches before it and failed on it ('invalid transaction termination'), lint said nothing
    (exit 0). Refused before any patch runs, as a DO block's COMMIT is; the no-transaction
    patch the message asks for runs it."""
    write(tmp_path, "0001_a.sql", _BATCHES if where == "database" else "SELECT 1;\n")
    await apply_patches(database, tmp_path)
    write(tmp_path, "0002_b.sql", "CREATE TABLE IF NOT EXISTS b (id int);\n")
    call = (_BATCHES if where == "patch" else "") + "CALL batches();\n"
    write(tmp_path, "0003_p.sql", call)
    capsys.readouterr()
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(tmp_path)) == 1
    said = capsys.readouterr().err
    assert "0003_p.sql" in said and "batches" in said and "no-transaction" in said
    assert "0002_b.sql" not in said.split("applied before the failure")[-1]
    assert await ledger_names(database) == ["0001_a.sql"]
    if where == "patch":
        assert await cli("patches", "lint", "--no-cache", str(tmp_path / "0003_p.sql")) == 1
    write(tmp_path, "0003_p.sql", "-- tenantguard: no-transaction\nCALL batches();\n")
    if where == "patch":
        write(tmp_path, "0002_b.sql", _BATCHES)
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0002_b.sql", "0003_p.sql"]


def test_a_large_seed_patch_passes_the_checks() -> None:
    """Following calls statement by statement through the functions made before each one
    was quadratic for a moment: a seed patch of 20,000 INSERTs took 2 minutes in
    check_patch_statements (and as long again in refuse_swallowed_retries) before anything
    ran. Its time per statement at two sizes is benchmarks/patch_startup.py's last line (a
    benchmark, not a timed test); here, that such a patch passes both checks."""
    from tenantguard.patches.files import PatchFile
    from tenantguard.patches.statements import (
        check_patch_statements,
        refuse_swallowed_retries,
        split_patch,
    )

    text = "CREATE TABLE IF NOT EXISTS s (id int);\n" + "".join(
        f"INSERT INTO s VALUES ({i}) ON CONFLICT DO NOTHING;\n" for i in range(2000)
    )
    statements = split_patch(text, "0002_s.sql")
    assert len(statements) == 2001
    patch = PatchFile(2, "0002_s.sql", Path("0002_s.sql"), text, "", True)
    check_patch_statements(patch, statements)
    refuse_swallowed_retries(patch, statements)


@pytest.mark.parametrize("where", ["database", "patch"])
async def test_a_write_that_does_not_fire_the_swallowing_trigger_is_applied(
    database: str, tmp_path: Path, where: str
) -> None:
    """Safe twin of the trigger refusal: the audit trigger fires AFTER INSERT only, and the
    patch UPDATEs and DELETEs: no handler runs, nothing to refuse."""
    audit = _AUDIT.replace("AFTER INSERT OR UPDATE OR DELETE", "AFTER INSERT")
    write(tmp_path, "0001_a.sql", audit if where == "database" else "SELECT 1;\n")
    await apply_patches(database, tmp_path)
    body = "UPDATE t SET id = id + 1;\nDELETE FROM t WHERE id < 0;\n"
    write(tmp_path, "0002_x.sql", (audit if where == "patch" else "") + body)
    run = await apply_patches(database, tmp_path)
    assert run.applied == ["0002_x.sql"]


_HANDLERS = {
    # (handler, refused?)
    "reraise_one_swallow_rest": ("IF SQLSTATE = '42701' THEN RAISE; END IF;", True),
    "raise_in_a_loop_only": ("FOR i IN 1..0 LOOP RAISE; END LOOP;", True),
    "return_before_raise": ("RETURN; RAISE;", True),
    "both_branches_raise": (
        "IF SQLSTATE = '42701' THEN RAISE; ELSE RAISE EXCEPTION 'b: %', SQLERRM; END IF;",
        False,
    ),
    "skip_one_then_raise": ("IF SQLSTATE = '42701' THEN RETURN; END IF; RAISE;", False),
    "raise_all_but_one": ("IF SQLSTATE <> '42701' THEN RAISE; END IF;", False),
    "raise_all_but_the_lock_timeout": (
        "IF SQLSTATE NOT IN ('42701', '55P03') THEN RAISE; END IF;",
        True,
    ),
    "raise_on_an_undecided_condition": ("IF SQLERRM NOT LIKE '%exists%' THEN RAISE; END IF;", True),
    "diagnostics_then_raise": (
        "GET STACKED DIAGNOSTICS m = MESSAGE_TEXT; RAISE EXCEPTION 'b: %', m;",
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(_HANDLERS))
async def test_a_handler_that_raises_only_sometimes_swallows(
    database: str, tmp_path: Path, case: str
) -> None:
    """`WHEN OTHERS THEN IF SQLSTATE = '42701' THEN RAISE; END IF;` re-raises duplicate_column
    and swallows every other error — the runner's lock_timeout among them — but a RAISE
    anywhere in the handler counted as re-raising: applied. A handler raises when a RAISE is
    reached whatever the error."""
    handler, refused = _HANDLERS[case]
    write(tmp_path, "0001_a.sql", "CREATE TABLE IF NOT EXISTS a (id int);\n")
    await apply_patches(database, tmp_path)
    write(
        tmp_path,
        "0002_b.sql",
        "DO $$ DECLARE m text; BEGIN\n    ALTER TABLE a ADD COLUMN b int;\n"
        f"EXCEPTION WHEN OTHERS THEN\n    {handler}\nEND $$;\n",
    )
    if refused:
        with pytest.raises(PatchError, match=r"0002_b\.sql:3:"):
            await apply_patches(database, tmp_path)
        assert await ledger_names(database) == ["0001_a.sql"]
    else:
        run = await apply_patches(database, tmp_path)
        assert run.applied == ["0002_b.sql"]
