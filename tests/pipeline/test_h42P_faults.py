"""Round 42 (helper h42P): fault injection on the patch pipeline, on a real PostgreSQL. For each
fault: the database's state after it (catalog, rows, sequences), the command's output and exit
code, and whether the application can go on.

1. `setval` is not undone by ROLLBACK (PostgreSQL's sequences are non-transactional; `ALTER
   SEQUENCE … RESTART` is). A transactional patch that calls it and then fails is said to be
   "rolled back", yet the sequence stays where the patch moved it: a "start the demo data
   over" patch (`DELETE`, `setval(…, 1, false)`, `INSERT`) failing at its last statement left
   the 3 rows and a sequence giving 1 again — the application's next INSERT failed with
   'duplicate key value violates unique constraint "demo_pkey"', and so on for every retry of
   a lock timeout, in the seconds the runner waits between attempts too.
2. A database whose `standard_conforming_strings` is off: the server read the patches'
   backslashes otherwise than the runner's parser and `verify` (below).
3. A database whose `session_replication_role` is `replica`: no trigger nor foreign key fired
   in the patches (below).
4. FORCEd row-level security and a runner that owns the tables without bypassing it: a data
   patch changed no row, exit 0 (below).
5. A no-transaction patch committing in batches, its connection ended: said to leave an
   INVALID index, not what it committed (below).
6. A patch's `ALTER DATABASE … SET`: the later patches of the same run ran without it, and
   built elsewhere than one patch a run (below).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tests.pipeline.test_pipeline_faults import cli, fetchval, ledger_names, wait_for_query, write

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

_DEMO = """
CREATE TABLE IF NOT EXISTS demo (id bigserial PRIMARY KEY, name text NOT NULL);
INSERT INTO demo (name) SELECT 'row ' || g FROM generate_series(1, 3) g
WHERE NOT EXISTS (SELECT 1 FROM demo);
"""


async def _apply(
    database: str, patches: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    code = await cli("patches", "apply", "--dsn", database, "--dir", str(patches), *extra)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def _rows(database: str) -> list[tuple[int, str]]:
    conn = await asyncpg.connect(database)
    try:
        return [
            (r["id"], r["name"]) for r in await conn.fetch("SELECT id, name FROM demo ORDER BY id")
        ]
    finally:
        await conn.close()


async def _application_insert(database: str) -> object:
    """What the application's next INSERT gets (its id), or the error it gets."""
    try:
        return await fetchval(database, "INSERT INTO demo (name) VALUES ('app') RETURNING id")
    except asyncpg.UniqueViolationError as error:
        return f"UniqueViolationError: {error}"


_OVER = [
    pytest.param(
        "DELETE FROM demo;\nSELECT setval('demo_id_seq', 1, false);\n",
        id="setval",
    ),
    pytest.param(
        "DELETE FROM demo;\nSELECT pg_catalog.setval(pg_get_serial_sequence('demo', 'id'), 1, false);\n",
        id="serial-sequence",
    ),
    pytest.param(
        "DO $$\nBEGIN\n  DELETE FROM demo;\n  PERFORM setval('demo_id_seq', 1, false);\nEND\n$$;\n",
        id="do-block",
    ),
    pytest.param(
        "DELETE FROM demo;\nDO $$ BEGIN EXECUTE 'SELECT setval(''demo_id_seq'', 1, false)'; END $$;\n",
        id="execute",
    ),
]


@pytest.mark.parametrize("start_over", _OVER)
async def test_a_failed_patch_s_setval_is_put_back(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], start_over: str
) -> None:
    """The demo data started over (DELETE, the sequence back to 1, new rows), then a statement
    that fails: the rows are as before, and so is the sequence — the application's next INSERT
    gets id 4. Before: 'failed and was rolled back', the sequence at 1 (or 2, after the patch's
    own INSERT), the application's INSERT a duplicate key."""
    write(tmp_path, "0001_demo.sql", _DEMO)
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    write(
        tmp_path,
        "0002_start_over.sql",
        start_over
        + "INSERT INTO demo (name) VALUES ('first'), ('second');\n"
        + "ALTER TABLE demo ADD COLUMN IF NOT EXISTS email text NOT NULL;\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1, out
    assert "rolled back" in out
    assert "setval" in out and "demo_id_seq" in out and "put back" in out, out
    assert await _rows(database) == [(1, "row 1"), (2, "row 2"), (3, "row 3")]
    assert await ledger_names(database) == ["0001_demo.sql"]
    assert await _application_insert(database) == 4


async def test_a_setval_put_back_between_lock_timeout_retries(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The patch moves the sequence back, then waits for a table the application holds: each
    attempt is rolled back and retried after a pause. During the pause and after the last
    attempt the sequence is where it was (before: at 1, the application's INSERTs of those
    seconds failed as duplicates)."""
    write(tmp_path, "0001_demo.sql", _DEMO + "CREATE TABLE IF NOT EXISTS busy (id int);\n")
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    write(
        tmp_path,
        "0002_start_over.sql",
        "SELECT setval('demo_id_seq', 1, false);\nALTER TABLE busy ADD COLUMN IF NOT EXISTS x int;\n",
    )
    holder = await asyncpg.connect(database)
    try:
        await holder.execute("BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE")
        task = asyncio.create_task(
            _apply(database, tmp_path, capsys, "--lock-timeout", "0.2", "--lock-retries", "2")
        )
        seen: list[object] = []
        while not task.done():
            await asyncio.sleep(0.15)
            seen.append(
                await fetchval(
                    database,
                    "SELECT last_value::text || ',' || is_called::text FROM demo_id_seq",
                )
            )
        code, out = await task
    finally:
        await holder.close()
    assert code == 2, out
    assert "put back" in out, out
    # a moment inside an attempt may show the patch's 1 (its setval is seen by all at once)
    assert seen.count("3,true") >= len(seen) // 2, seen
    assert await _application_insert(database) == 4


async def test_a_setval_of_an_applied_patch_stays(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin: the same start-over patch without the failing statement is applied, and its
    sequence stays where it put it (the rows start at 1 again)."""
    write(tmp_path, "0001_demo.sql", _DEMO)
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    write(
        tmp_path,
        "0002_start_over.sql",
        "DELETE FROM demo;\nSELECT setval('demo_id_seq', 1, false);\n"
        "INSERT INTO demo (name) VALUES ('first'), ('second');\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert "put back" not in out
    assert await _rows(database) == [(1, "first"), (2, "second")]
    assert await _application_insert(database) == 3


async def test_a_failed_patch_moving_a_sequence_forward_leaves_a_gap_only(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed patch's setval ahead (or its nextval) leaves a gap, never a duplicate: not put
    back (the application may have taken numbers above it meanwhile), and not said to be."""
    write(tmp_path, "0001_demo.sql", _DEMO)
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    write(
        tmp_path,
        "0002_ahead.sql",
        "SELECT setval('demo_id_seq', 100);\nALTER TABLE demo ADD COLUMN IF NOT EXISTS e text NOT NULL;\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1, out
    assert "put back" not in out
    assert await _application_insert(database) == 101


_HIDDEN = [
    pytest.param(
        "CREATE OR REPLACE FUNCTION start_demo_over() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  DELETE FROM demo;\n  PERFORM setval('demo_id_seq', 1, false);\nEND\n$$;\n",
        "SELECT start_demo_over();\n",
        id="function",
    ),
    pytest.param(
        "CREATE TABLE IF NOT EXISTS resets (at timestamptz DEFAULT now());\n"
        "CREATE OR REPLACE FUNCTION on_reset() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  DELETE FROM demo;\n  PERFORM setval('demo_id_seq', 1, false);\n"
        "  RETURN NEW;\nEND\n$$;\n"
        "DROP TRIGGER IF EXISTS on_reset ON resets;\n"
        "CREATE TRIGGER on_reset AFTER INSERT ON resets FOR EACH ROW EXECUTE FUNCTION on_reset();\n",
        "INSERT INTO resets DEFAULT VALUES;\n",
        id="trigger",
    ),
]


@pytest.mark.parametrize(("earlier", "call"), _HIDDEN)
async def test_a_setval_the_patch_s_text_does_not_name_is_put_back(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], earlier: str, call: str
) -> None:
    """The setval is in a function (or a trigger) an earlier patch made: the failed patch that
    calls it (or fires it) says nothing of setval, and its sequence is put back all the same."""
    write(tmp_path, "0001_demo.sql", _DEMO)
    write(tmp_path, "0002_tools.sql", earlier)
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    write(
        tmp_path,
        "0003_start_over.sql",
        call
        + "INSERT INTO demo (name) VALUES ('first'), ('second');\n"
        + "ALTER TABLE demo ADD COLUMN IF NOT EXISTS email text NOT NULL;\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1, out
    assert "put back" in out, out
    assert await _rows(database) == [(1, "row 1"), (2, "row 2"), (3, "row 3")]
    assert await _application_insert(database) == 4


# 2. A database whose `standard_conforming_strings` is off (a legacy application's: `ALTER
#    DATABASE … SET standard_conforming_strings = off`): the server read the patches' backslashes
#    as escapes, which the runner's parser, `lint` and `verify`'s scratch databases (on) do not.
#    `source ~* '^\s*wa\s*$'` became '^s*was*$': ' wa ' was left, exit 0, the patch recorded
#    (with escape_string_warning off, not even a WARNING); `'C:\'` ran as an unterminated string.

_LEADS = """
CREATE TABLE IF NOT EXISTS leads (id bigserial PRIMARY KEY, source text NOT NULL);
INSERT INTO leads (source) SELECT s FROM unnest(ARRAY[' wa ', 'WA', 'web']) s
WHERE NOT EXISTS (SELECT 1 FROM leads);
"""


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("", id="plain"),
        pytest.param("RESET ALL;\n", id="after-reset-all"),
        pytest.param("RESET standard_conforming_strings;\n", id="after-its-reset"),
        pytest.param("DO $$ BEGIN EXECUTE 'RESET ALL'; END $$;\n", id="after-a-do-block-s-reset"),
    ],
)
async def test_a_database_without_standard_strings_reads_the_patch_as_written(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], prefix: str
) -> None:
    """The normalisation catches ' wa ' as its regular expression says, on a database whose
    standard_conforming_strings is off, also after the patch's own RESET."""
    name = database.rsplit("/", 1)[1].split("?")[0]
    await fetchval(database, f'ALTER DATABASE "{name}" SET standard_conforming_strings = off')
    await fetchval(database, f'ALTER DATABASE "{name}" SET escape_string_warning = off')
    write(tmp_path, "0001_leads.sql", _LEADS)
    write(
        tmp_path,
        "0002_whatsapp.sql",
        prefix + "UPDATE leads SET source = 'whatsapp_inbound' WHERE source ~* '^\\s*wa\\s*$';\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    sources = await fetchval(database, "SELECT string_agg(source, '|' ORDER BY id) FROM leads")
    assert sources == "whatsapp_inbound|whatsapp_inbound|web"
    assert await ledger_names(database) == ["0001_leads.sql", "0002_whatsapp.sql"]


async def test_a_backslash_before_a_quote_ends_the_string_as_the_parser_reads_it(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`'C:\\'` is a string of three characters for the parser that split the patch (and for
    verify): the server stores that, not a syntax error."""
    name = database.rsplit("/", 1)[1].split("?")[0]
    await fetchval(database, f'ALTER DATABASE "{name}" SET standard_conforming_strings = off')
    write(
        tmp_path,
        "0001_paths.sql",
        "CREATE TABLE IF NOT EXISTS paths (p text PRIMARY KEY);\n"
        "INSERT INTO paths VALUES ('C:\\') ON CONFLICT DO NOTHING;\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert await fetchval(database, "SELECT string_agg(p, '|') FROM paths") == "C:\\"


async def test_a_patch_that_sets_standard_strings_off_itself_keeps_it(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin: a patch that says `SET standard_conforming_strings = off` has its later
    statements read so (its own choice, as psql would run it)."""
    write(tmp_path, "0001_leads.sql", _LEADS)
    write(
        tmp_path,
        "0002_escape.sql",
        "SET standard_conforming_strings = off;\n"
        "INSERT INTO leads (source) VALUES ('tab\\there');\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert (
        await fetchval(database, "SELECT source FROM leads WHERE source LIKE 'tab%'") == "tab\there"
    )


# 3. A database (or the runner's role) whose `session_replication_role` is `replica` (`ALTER
#    DATABASE … SET session_replication_role = replica`, left from a bulk load or a logical
#    replica's setup): neither triggers nor foreign keys fire in the patches, which `verify`'s
#    scratch databases (origin) run with them. A patch's orphan row was applied, exit 0; a
#    backfill through the patch's own trigger changed nothing, recorded as applied.

_CLINICS = """
CREATE TABLE IF NOT EXISTS clinics (id bigint PRIMARY KEY);
CREATE TABLE IF NOT EXISTS patients (
    id bigint PRIMARY KEY, clinic_id bigint NOT NULL REFERENCES clinics (id), source text);
INSERT INTO clinics VALUES (1) ON CONFLICT DO NOTHING;
INSERT INTO patients VALUES (1, 1, ' WhatsApp ') ON CONFLICT DO NOTHING;
"""

_NORMALISE = """
CREATE OR REPLACE FUNCTION normalise_source() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.source := lower(btrim(NEW.source)); RETURN NEW; END $$;
DROP TRIGGER IF EXISTS normalise_source ON patients;
CREATE TRIGGER normalise_source BEFORE INSERT OR UPDATE ON patients
    FOR EACH ROW EXECUTE FUNCTION normalise_source();
"""


async def _replica_database(database: str) -> None:
    name = database.rsplit("/", 1)[1].split("?")[0]
    await fetchval(database, f'ALTER DATABASE "{name}" SET session_replication_role = replica')


@pytest.mark.parametrize("prefix", ["", "RESET ALL;\n"], ids=["plain", "after-reset-all"])
async def test_a_replica_role_database_still_checks_the_patches_foreign_keys(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], prefix: str
) -> None:
    """An orphan patient (clinic 999) is refused by its foreign key, the patch rolled back."""
    await _replica_database(database)
    write(tmp_path, "0001_clinics.sql", _CLINICS)
    write(tmp_path, "0002_orphan.sql", prefix + "INSERT INTO patients VALUES (2, 999, 'web');\n")
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 1, out
    assert "ForeignKeyViolationError" in out
    assert await ledger_names(database) == ["0001_clinics.sql"]
    assert await fetchval(database, "SELECT count(*) FROM patients WHERE clinic_id = 999") == 0


@pytest.mark.parametrize("prefix", ["", "RESET ALL;\n"], ids=["plain", "after-reset-all"])
async def test_a_replica_role_database_fires_the_patches_triggers(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], prefix: str
) -> None:
    """A backfill through the trigger the patch makes normalises the stored row."""
    await _replica_database(database)
    write(tmp_path, "0001_clinics.sql", _CLINICS)
    write(
        tmp_path,
        "0002_normalise.sql",
        _NORMALISE + prefix + "UPDATE patients SET source = source;\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert await fetchval(database, "SELECT source FROM patients WHERE id = 1") == "whatsapp"


async def test_a_patch_that_sets_the_replica_role_itself_keeps_it(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin: a patch's own `SET session_replication_role = replica` (a bulk load that must
    not fire triggers) is what its later statements run with."""
    write(tmp_path, "0001_clinics.sql", _CLINICS)
    write(
        tmp_path,
        "0002_load.sql",
        _NORMALISE
        + "SET session_replication_role = replica;\n"
        + "INSERT INTO patients VALUES (2, 1, ' Web ');\n",
    )
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert await fetchval(database, "SELECT source FROM patients WHERE id = 2") == " Web "


async def test_a_runner_that_may_not_set_the_origin_role_applies_nothing_and_says_why(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A runner's role that is not superuser, on a replica-role database: before, its patches
    ran without triggers and foreign keys (the orphan applied, exit 0); now nothing runs, exit
    2, and the message says what to change."""
    name = database.rsplit("/", 1)[1].split("?")[0]
    role = f"h42p_{name}"[:60]
    await fetchval(database, f'CREATE ROLE "{role}" LOGIN')
    try:
        await fetchval(database, f'ALTER DATABASE "{name}" OWNER TO "{role}"')
        await fetchval(database, f'GRANT CREATE ON SCHEMA public TO "{role}"')
        await _replica_database(database)
        write(tmp_path, "0001_clinics.sql", _CLINICS)
        write(tmp_path, "0002_orphan.sql", "INSERT INTO patients VALUES (2, 999, 'web');\n")
        as_role = database.replace("://postgres@", f"://{role}@", 1)
        assert as_role != database
        code, out = await _apply(as_role, tmp_path, capsys)
        assert code == 2, out
        assert "session_replication_role is replica" in out and "GRANT SET ON PARAMETER" in out
        assert await fetchval(database, "SELECT to_regclass('patients') IS NULL")
    finally:
        await fetchval(database, f'ALTER DATABASE "{name}" OWNER TO postgres')
        await fetchval(database, f'DROP OWNED BY "{role}"')
        await fetchval(database, f'DROP ROLE "{role}"')


# 4. Tables whose row-level security is FORCEd (the shipped 0050 forces it on every tenant
#    table, "so that the tables' owner … cannot write rows of another clinic"), patched by their
#    owner — a role that is neither superuser nor BYPASSRLS, as on a managed PostgreSQL: with
#    the tenant setting unset the policy shows no row, and a data patch `UPDATE leads SET source
#    = 'web_form' WHERE source = 'Web Form'` changed none — exit 0, the patch recorded, both
#    clinics' rows left as they were (a DELETE deletes none; a check that counts bad rows finds
#    none). The runner runs the patches with `row_security = off`: such a statement fails
#    instead ("query would be affected by row-level security policy"), rolled back, and the
#    message says how to run it.

_FORCED = """
CREATE TABLE IF NOT EXISTS leads (tenant_id bigint NOT NULL, source text NOT NULL);
ALTER TABLE leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE leads FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON leads;
CREATE POLICY tenant_isolation ON leads
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::bigint);
"""


async def _owner_role(database: str) -> tuple[str, str]:
    """A login role that owns the database and its public schema, not superuser: (role, dsn)."""
    name = database.rsplit("/", 1)[1].split("?")[0]
    role = f"h42p_{name}"[:60]
    await fetchval(database, f'CREATE ROLE "{role}" LOGIN')
    await fetchval(database, f'ALTER DATABASE "{name}" OWNER TO "{role}"')
    await fetchval(database, f'ALTER SCHEMA public OWNER TO "{role}"')
    return role, database.replace("://postgres@", f"://{role}@", 1)


async def _drop_role(database: str, role: str) -> None:
    name = database.rsplit("/", 1)[1].split("?")[0]
    await fetchval(database, f'ALTER DATABASE "{name}" OWNER TO postgres')
    await fetchval(database, "ALTER SCHEMA public OWNER TO pg_database_owner")
    await fetchval(database, f'REASSIGN OWNED BY "{role}" TO postgres')
    await fetchval(database, f'DROP OWNED BY "{role}"')
    await fetchval(database, f'DROP ROLE "{role}"')


async def _sources(database: str) -> str:
    return str(
        await fetchval(database, "SELECT string_agg(source, '|' ORDER BY tenant_id) FROM leads")
    )


@pytest.mark.parametrize(
    "data_patch",
    [
        pytest.param(
            "UPDATE leads SET source = 'web_form' WHERE source = 'Web Form';\n", id="update"
        ),
        pytest.param("DELETE FROM leads WHERE source = 'Web Form';\n", id="delete"),
        pytest.param(
            "DO $$\nBEGIN\n  IF EXISTS (SELECT FROM leads WHERE source = 'Web Form') THEN\n"
            "    RAISE EXCEPTION 'web form leads are still there';\n  END IF;\nEND\n$$;\n",
            id="check-in-a-do-block",
        ),
        pytest.param(
            "RESET ALL;\nUPDATE leads SET source = 'web_form' WHERE source = 'Web Form';\n",
            id="after-reset-all",
        ),
    ],
)
async def test_a_data_patch_on_forced_row_security_by_the_owner_fails_instead_of_doing_nothing(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], data_patch: str
) -> None:
    role, as_owner = await _owner_role(database)
    try:
        write(tmp_path, "0001_leads.sql", _FORCED)
        assert (await _apply(as_owner, tmp_path, capsys))[0] == 0
        await fetchval(database, "INSERT INTO leads VALUES (1, 'Web Form'), (2, 'Web Form')")
        write(tmp_path, "0002_web_form.sql", data_patch)
        code, out = await _apply(as_owner, tmp_path, capsys)
        assert code == 1, out
        assert "row-level security" in out and "BYPASSRLS" in out, out
        assert await ledger_names(database) == ["0001_leads.sql"]
        assert await _sources(database) == "Web Form|Web Form"
    finally:
        await _drop_role(database, role)


async def test_a_data_patch_that_lifts_the_force_for_itself_changes_every_clinic_s_rows(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The way out the message gives: NO FORCE, the statement, FORCE again — in the patch's one
    transaction, so no other session sees the table unforced."""
    role, as_owner = await _owner_role(database)
    try:
        write(tmp_path, "0001_leads.sql", _FORCED)
        assert (await _apply(as_owner, tmp_path, capsys))[0] == 0
        await fetchval(database, "INSERT INTO leads VALUES (1, 'Web Form'), (2, 'Web Form')")
        write(
            tmp_path,
            "0002_web_form.sql",
            "ALTER TABLE leads NO FORCE ROW LEVEL SECURITY;\n"
            "UPDATE leads SET source = 'web_form' WHERE source = 'Web Form';\n"
            "ALTER TABLE leads FORCE ROW LEVEL SECURITY;\n",
        )
        code, out = await _apply(as_owner, tmp_path, capsys)
        assert code == 0, out
        assert await _sources(database) == "web_form|web_form"
        assert await fetchval(
            database, "SELECT relforcerowsecurity FROM pg_class WHERE relname = 'leads'"
        )
    finally:
        await _drop_role(database, role)


async def test_a_patch_that_works_under_the_policy_on_purpose_keeps_row_security(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin: a patch that sets `row_security = on` and a tenant does one clinic's rows, as
    it says."""
    role, as_owner = await _owner_role(database)
    try:
        write(tmp_path, "0001_leads.sql", _FORCED)
        assert (await _apply(as_owner, tmp_path, capsys))[0] == 0
        await fetchval(database, "INSERT INTO leads VALUES (1, 'Web Form'), (2, 'Web Form')")
        write(
            tmp_path,
            "0002_clinic_1.sql",
            "SET row_security = on;\nSET app.tenant_id = '1';\n"
            "UPDATE leads SET source = 'web_form' WHERE source = 'Web Form';\n",
        )
        code, out = await _apply(as_owner, tmp_path, capsys)
        assert code == 0, out
        assert await _sources(database) == "web_form|Web Form"
    finally:
        await _drop_role(database, role)


async def test_a_superuser_runner_is_not_touched_by_row_security(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin: a superuser (or BYPASSRLS) runner changes every clinic's rows, as before."""
    write(tmp_path, "0001_leads.sql", _FORCED)
    assert (await _apply(database, tmp_path, capsys))[0] == 0
    await fetchval(database, "INSERT INTO leads VALUES (1, 'Web Form'), (2, 'Web Form')")
    write(tmp_path, "0002_web_form.sql", "UPDATE leads SET source = 'web_form';\n")
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert await _sources(database) == "web_form|web_form"


async def test_a_new_install_by_the_owner_records_the_patches_on_the_baseline(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin a first attempt broke: a baseline loaded (the policies forced from the start),
    then `apply` by the tables' owner runs every patch to record it — an early patch's UPDATE
    of the forced table among them. No patch is recorded yet: the patches run as before (the
    tables are empty), exit 0."""
    role, as_owner = await _owner_role(database)
    try:
        conn = await asyncpg.connect(as_owner)
        try:
            await conn.execute(_FORCED)  # the baseline
        finally:
            await conn.close()
        write(tmp_path, "0001_leads.sql", _FORCED)
        write(tmp_path, "0002_web_form.sql", "UPDATE leads SET source = 'web_form';\n")
        code, out = await _apply(as_owner, tmp_path, capsys)
        assert code == 0, out
        assert await ledger_names(database) == ["0001_leads.sql", "0002_web_form.sql"]
    finally:
        await _drop_role(database, role)


async def test_verify_of_the_shipped_pipeline_by_a_role_that_is_not_superuser(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`patches verify` by a CREATEDB role that is not superuser: its second run of every
    patch (the ledger forgotten) and its run on the baseline pass on the shipped pipeline —
    0036's UPDATE of leads, forced by 0050, is not made to fail there."""
    name = database.rsplit("/", 1)[1].split("?")[0]
    role = f"h42v_{name}"[:60]
    await fetchval(database, f'CREATE ROLE "{role}" LOGIN CREATEDB')
    try:
        await fetchval(database, f'ALTER DATABASE "{name}" OWNER TO "{role}"')
        as_role = database.replace("://postgres@", f"://{role}@", 1)
        code = await cli("patches", "verify", "--dsn", as_role)
        out = capsys.readouterr()
        assert code == 0, out.out + out.err
    finally:
        await fetchval(database, f'ALTER DATABASE "{name}" OWNER TO postgres')
        await fetchval(database, f'DROP ROLE "{role}"')


# 5. A no-transaction patch whose DO block (or procedure) commits in batches, its connection
#    ended mid-way (pg_terminate_backend, a failover): the message said "it may leave an INVALID
#    index, which the next run rebuilds" — of a patch that builds no index, whose committed
#    batches stay — exit 2.

_BATCHES = """
-- tenantguard: no-transaction
DO $$
BEGIN
  FOR i IN 1..60 LOOP
    INSERT INTO batches VALUES (i) ON CONFLICT DO NOTHING;
    COMMIT;
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;
"""


async def test_a_committing_batch_cut_short_says_what_it_committed_and_the_next_run_finishes(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "0001_batches.sql", "CREATE TABLE IF NOT EXISTS batches (n int PRIMARY KEY);\n")
    write(tmp_path, "0002_backfill.sql", _BATCHES)
    task = asyncio.create_task(_apply(database, tmp_path, capsys))
    pid = await wait_for_query(database, "FOR i IN 1..60")
    while int(await fetchval(database, "SELECT count(*) FROM batches")) < 5:  # type: ignore[call-overload]
        await asyncio.sleep(0.05)
    await fetchval(database, "SELECT pg_terminate_backend($1)", pid)
    code, out = await task
    done = int(await fetchval(database, "SELECT count(*) FROM batches"))  # type: ignore[call-overload]
    assert 5 <= done < 60
    assert code == 2, out
    assert "INVALID index" not in out, out
    assert "committed" in out and "runs it again from the start" in out, out
    assert await ledger_names(database) == ["0001_batches.sql"]
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert await fetchval(database, "SELECT count(*) FROM batches") == 60


# 6. A patch that changes the database's (or the runner's role's) settings — `ALTER DATABASE …
#    SET search_path = app, public`, which `patches sync` carries into the baseline — takes
#    effect at the next connection: the later patches of the same run ran with the old ones.
#    The same two patches built `public.notes` applied in one run (a new install, `verify`)
#    and `app.notes` applied one per run (a production deployed release by release).

_SETS_THE_DATABASE = [
    pytest.param(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = app, public', "
        "current_database()); END $$;\n",
        id="database",
    ),
    pytest.param(
        "DO $$ BEGIN EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I "
        "SET search_path = app, public', current_database()); END $$;\n",
        id="role-in-database",
    ),
]


@pytest.mark.parametrize("sets", _SETS_THE_DATABASE)
async def test_the_patches_after_one_that_sets_the_database_run_as_in_a_run_of_their_own(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], sets: str
) -> None:
    """The later patch of one run builds `app.notes`, as in a run of its own; the ledger
    stays where it is."""
    one = tmp_path / "one"
    write(one, "0001_app.sql", "CREATE SCHEMA IF NOT EXISTS app;\n" + sets)
    write(one, "0002_notes.sql", "CREATE TABLE IF NOT EXISTS notes (id int);\n")
    name = database.rsplit("/", 1)[1].split("?")[0]
    try:
        code, out = await _apply(database, one, capsys)
        assert code == 0, out
        in_one_run = await fetchval(database, "SELECT to_regclass('app.notes') IS NOT NULL")
        assert await fetchval(database, "SELECT to_regclass('public.notes') IS NULL")
        assert await fetchval(
            database, "SELECT to_regclass('public.tenantguard_patches') IS NOT NULL"
        )
        assert in_one_run, out
    finally:
        await fetchval(database, f'ALTER ROLE CURRENT_USER IN DATABASE "{name}" RESET ALL')


async def test_one_patch_a_run_builds_the_same(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin: the same patches, one per run, build `app.notes` (as before)."""
    apart = tmp_path / "apart"
    write(
        apart,
        "0001_app.sql",
        "CREATE SCHEMA IF NOT EXISTS app;\n" + str(_SETS_THE_DATABASE[0].values[0]),
    )
    assert (await _apply(database, apart, capsys))[0] == 0
    write(apart, "0002_notes.sql", "CREATE TABLE IF NOT EXISTS notes (id int);\n")
    code, out = await _apply(database, apart, capsys)
    assert code == 0, out
    assert await fetchval(database, "SELECT to_regclass('app.notes') IS NOT NULL")


async def test_a_search_path_the_connection_gives_still_wins_over_the_database_s(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin: a DSN whose options say `search_path=public` builds in public, as a new
    connection with those options would, after the patch changed the database's."""
    write(
        tmp_path,
        "0001_app.sql",
        "CREATE SCHEMA IF NOT EXISTS app;\n" + str(_SETS_THE_DATABASE[0].values[0]),
    )
    write(tmp_path, "0002_notes.sql", "CREATE TABLE IF NOT EXISTS notes (id int);\n")
    dsn = database + ("&" if "?" in database else "?") + "options=-csearch_path%3Dpublic"
    code, out = await _apply(dsn, tmp_path, capsys)
    assert code == 0, out
    assert await fetchval(database, "SELECT to_regclass('public.notes') IS NOT NULL")


async def test_a_database_path_putting_pg_temp_first_does_not_reach_the_run(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The boundary: a patch that gives the database `search_path = pg_temp, public` — the
    later patches of the run do not build in the session's temporary schema (gone at its end,
    yet recorded); the next run refuses to start, as for any such database (exit 2)."""
    name = database.rsplit("/", 1)[1].split("?")[0]
    write(
        tmp_path,
        "0001_path.sql",
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = pg_temp, public', "
        "current_database()); END $$;\n",
    )
    write(tmp_path, "0002_notes.sql", "CREATE TABLE IF NOT EXISTS notes (id int);\n")
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 0, out
    assert await fetchval(database, "SELECT to_regclass('public.notes') IS NOT NULL")
    write(tmp_path, "0003_more.sql", "CREATE TABLE IF NOT EXISTS more (id int);\n")
    code, out = await _apply(database, tmp_path, capsys)
    assert code == 2, out
    assert "pg_temp first" in out
    await fetchval(database, f'ALTER DATABASE "{name}" RESET search_path')
