"""The patch pipeline on a real PostgreSQL: runner, concurrency, crashes, verify/sync, rules."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import asyncpg
import pytest

from tenantguard.cli import main
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.files import PatchError, read_patches
from tenantguard.patches.runner import LEDGER, apply_patches
from tenantguard.patches.verify import sync_baseline, verify_pipeline

REPO = Path(__file__).resolve().parent.parent.parent
PATCHES = REPO / "patches"
BASELINE = REPO / "db" / "init" / "dentalogic_schema.sql"
SHIPPED = len(read_patches(PATCHES))


async def fetchval(dsn: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_pipeline_applies_once_and_then_skips(database: str) -> None:
    first = await apply_patches(database, PATCHES)
    assert first.applied == [p.name for p in read_patches(PATCHES)]
    second = await apply_patches(database, PATCHES)
    assert second.applied == [] and len(second.skipped) == len(first.applied)
    assert await fetchval(database, f"SELECT count(*) FROM {LEDGER}") == len(first.applied)
    row_count = await fetchval(
        database,
        f"SELECT count(*) FROM {LEDGER} WHERE checksum ~ '^[0-9a-f]{{64}}$' AND duration_ms >= 0",
    )
    assert row_count == len(first.applied)


async def test_verify_passes_on_the_shipped_pipeline(postgres: ThrowawayPostgres) -> None:
    report = await verify_pipeline(postgres.dsn, PATCHES, BASELINE)
    assert report.ok, report.checks
    assert [name for name, _, _ in report.checks] == [
        "every index the pipeline builds is valid",
        "the pipeline applied twice changes nothing the second time (schema)",
        "the pipeline applied twice changes nothing the second time (table contents)",
        "the pipeline applied twice changes nothing the second time (sequences, materialized "
        "views)",
        "the pipeline's schema equals the baseline's",
        "the pipeline applied on top of the baseline changes nothing",
        "the baseline + pipeline has the same table contents as the pipeline alone",
        "the baseline + pipeline has the same sequences and materialized views as the pipeline alone",
    ]


async def test_verify_fails_with_a_readable_diff_when_the_baseline_drifts(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    drifted = tmp_path / "baseline.sql"
    drifted.write_text(
        BASELINE.read_text().replace("    dni text,\n", "    dni character varying(20),\n", 1)
    )
    report = await verify_pipeline(postgres.dsn, PATCHES, drifted)
    assert not report.ok
    name, passed, difference = report.checks[4]
    assert name == "the pipeline's schema equals the baseline's" and not passed
    assert "TABLE public.patients: differs" in difference
    assert "  -     dni text," in difference
    assert "  +     dni character varying(20)," in difference


async def test_verify_fails_when_a_patch_changes_and_sync_repairs(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    shutil.copytree(PATCHES, patches)
    (patches / "0049_notes.sql").write_text(
        "ALTER TABLE patients ADD COLUMN IF NOT EXISTS notes text;\n"
        "CREATE INDEX IF NOT EXISTS patients_tenant_notes_idx ON patients (tenant_id, notes);\n"
    )
    baseline = tmp_path / "baseline.sql"
    shutil.copy(BASELINE, baseline)
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    assert not report.ok
    assert "TABLE public.patients: differs" in report.checks[4][2]
    assert "  -     notes text" in report.checks[4][2]
    assert "INDEX public.patients_tenant_notes_idx: only in pipeline" in report.checks[4][2]
    await sync_baseline(postgres.dsn, patches, baseline)
    assert "notes text" in baseline.read_text()
    assert (await verify_pipeline(postgres.dsn, patches, baseline)).ok


async def test_verify_catches_a_patch_that_is_not_idempotent(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    shutil.copytree(PATCHES, patches)
    (patches / "0049_bad.sql").write_text("ALTER TABLE patients ADD COLUMN notes text;\n")
    report = await verify_pipeline(postgres.dsn, patches, BASELINE)
    assert not report.ok
    name, passed, difference = report.checks[-1]
    assert name == "the pipeline applied twice changes nothing the second time" and not passed
    assert "not idempotent" in difference and "0049_bad.sql:1:" in difference
    assert "DuplicateColumnError" in difference


async def test_eight_runners_at_once_apply_each_patch_once(database: str) -> None:
    runs = await asyncio.gather(*(apply_patches(database, PATCHES) for _ in range(8)))
    applied = [name for run in runs for name in run.applied]
    assert sorted(applied) == sorted(p.name for p in read_patches(PATCHES))  # once each, in all
    assert await fetchval(database, f"SELECT count(*) FROM {LEDGER}") == len(applied)


async def test_edited_applied_patch_is_refused_unless_rebaselined(
    database: str, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    shutil.copytree(PATCHES, patches)
    await apply_patches(database, patches)
    edited = patches / "0002_patient_search_indexes.sql"
    edited.write_text(edited.read_text() + "-- edited after it was applied\n")
    with pytest.raises(
        PatchError, match=r"0002_patient_search_indexes\.sql was applied on .* changed"
    ):
        await apply_patches(database, patches)
    run = await apply_patches(database, patches, rebaseline=["0002_patient_search_indexes.sql"])
    assert run.rebaselined == ["0002_patient_search_indexes.sql"]
    assert (await apply_patches(database, patches)).applied == []


async def test_failing_patch_rolls_back_and_names_file_statement_and_error(
    database: str, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    patches.mkdir()
    (patches / "0001_ok.sql").write_text("CREATE TABLE IF NOT EXISTS a (id int);\n")
    (patches / "0002_broken.sql").write_text(
        "CREATE TABLE IF NOT EXISTS b (id int);\n\nINSERT INTO missing_table VALUES (1) ON CONFLICT DO NOTHING;\n"
    )
    (patches / "0003_later.sql").write_text("CREATE TABLE IF NOT EXISTS c (id int);\n")
    with pytest.raises(PatchError) as failure:
        await apply_patches(database, patches)
    message = str(failure.value)
    assert (
        "0002_broken.sql:3" in message
        and "UndefinedTableError" in message
        and "missing_table" in message
    )
    assert await fetchval(database, "SELECT to_regclass('a') IS NOT NULL")
    assert await fetchval(database, "SELECT to_regclass('b') IS NULL")  # rolled back with its patch
    assert await fetchval(database, "SELECT to_regclass('c') IS NULL")  # the run stopped
    assert await fetchval(database, f"SELECT array_agg(name) FROM {LEDGER}") == ["0001_ok.sql"]


def test_duplicate_numbers_and_bad_names_are_errors(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "001_b.sql").write_text("SELECT 1;")
    with pytest.raises(PatchError, match="patch number 1 is also used"):
        read_patches(tmp_path)
    (tmp_path / "001_b.sql").unlink()
    (tmp_path / "notes.sql").write_text("SELECT 1;")
    with pytest.raises(PatchError, match=r"NNNN_description\.sql"):
        read_patches(tmp_path)


async def test_no_transaction_patch_runs_concurrently_built_index(
    database: str, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    patches.mkdir()
    (patches / "0001_t.sql").write_text(
        "CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL, id int);\n"
    )
    (patches / "0002_idx.sql").write_text(
        "-- tenantguard: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_idx ON t (tenant_id, id);\n"
    )
    assert (await apply_patches(database, patches)).applied == ["0001_t.sql", "0002_idx.sql"]
    assert await fetchval(database, "SELECT to_regclass('t_idx') IS NOT NULL")
    (patches / "0003_two.sql").write_text("-- tenantguard: no-transaction\nSELECT 1;\nSELECT 2;\n")
    with pytest.raises(PatchError, match="exactly one statement"):
        await apply_patches(database, patches)
    assert await fetchval(database, f"SELECT count(*) FROM {LEDGER}") == 2


async def test_runner_killed_mid_patch_leaves_nothing_and_next_run_completes(
    database: str, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    patches.mkdir()
    (patches / "0001_slow.sql").write_text(
        "CREATE TABLE IF NOT EXISTS half_done (id int);\nSELECT pg_sleep(30);\n"
    )
    script = textwrap.dedent(
        f"""
        import asyncio
        from tenantguard.patches.runner import apply_patches
        asyncio.run(apply_patches({database!r}, {str(patches)!r}))
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # wait until the patch is running on the server
            busy = await fetchval(
                database,
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%'",
            )
            if busy:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the runner never reached the slow statement")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    (patches / "0001_slow.sql").write_text("CREATE TABLE IF NOT EXISTS half_done (id int);\n")
    started = time.monotonic()
    run = await apply_patches(database, patches)  # waits for the dead runner's lock to go
    assert run.applied == ["0001_slow.sql"]
    assert time.monotonic() - started < 15
    assert await fetchval(database, f"SELECT count(*) FROM {LEDGER}") == 1


async def test_cli_apply_status_verify(
    postgres: ThrowawayPostgres,
    database: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    assert await asyncio.to_thread(main, ["patches", "status", "--dsn", database]) == 0
    assert f"0 applied, {SHIPPED} pending" in capsys.readouterr().out
    monkeypatch.setenv("DATABASE_URL", database)
    assert await asyncio.to_thread(main, ["patches", "apply"]) == 0
    out = capsys.readouterr().out
    assert f"{SHIPPED} applied, 0 already applied" in out
    assert "applying     0001_base_tables.sql" in out and "applied      0048_" in out
    assert await asyncio.to_thread(main, ["patches", "verify", "--dsn", postgres.dsn]) == 0
    out = capsys.readouterr().out
    assert out.count("ok  ") == 8 and "FAIL" not in out
    assert "applying every patch a second time" in out  # verify says what it does
    monkeypatch.delenv("DATABASE_URL")
    assert await asyncio.to_thread(main, ["patches", "apply"]) == 2
    assert "pass --dsn" in capsys.readouterr().err


# ---------------------------------------------------------------- business rules in the data layer


@pytest.fixture
async def crm(database: str) -> str:
    await apply_patches(database, PATCHES)
    conn = await asyncpg.connect(database)
    await conn.execute("INSERT INTO tenants (id, name) VALUES (1, 'Norte'), (2, 'Sur')")
    await conn.execute(
        "INSERT INTO professionals (tenant_id, id, full_name) VALUES (1, 1, 'Dra. Ruiz')"
    )
    await conn.close()
    return database


async def test_only_active_patients_with_their_data_get_appointments(crm: str) -> None:
    conn = await asyncpg.connect(crm)
    try:
        guest = await conn.fetchval(
            "INSERT INTO patients (tenant_id, phone_number) VALUES (1, '111') RETURNING id"
        )
        with pytest.raises(asyncpg.CheckViolationError, match="not active"):
            await conn.execute(
                "INSERT INTO appointments (tenant_id, patient_id, professional_id, starts_at) VALUES (1, $1, 1, now())",
                guest,
            )
        with pytest.raises(asyncpg.CheckViolationError, match="patients_active_identity"):
            await conn.execute("UPDATE patients SET status = 'active' WHERE id = $1", guest)
        await conn.execute(
            "UPDATE patients SET status = 'active', first_name = 'Ana', last_name = 'Paz', dni = '30111222' WHERE id = $1",
            guest,
        )
        await conn.execute(
            "INSERT INTO appointments (tenant_id, patient_id, professional_id, starts_at) VALUES (1, $1, 1, now())",
            guest,
        )
        with pytest.raises(asyncpg.ForeignKeyViolationError):  # references stay inside one tenant
            await conn.execute(
                "INSERT INTO clinical_records (tenant_id, patient_id) VALUES (2, $1)", guest
            )
    finally:
        await conn.close()


async def test_omega_prime_activates_the_first_ceo_only(crm: str) -> None:
    conn = await asyncpg.connect(crm)
    try:
        first = await conn.fetchrow(
            "INSERT INTO users (tenant_id, email, role) VALUES (1, 'a@x', 'ceo') RETURNING status, omega_prime"
        )
        second = await conn.fetchrow(
            "INSERT INTO users (tenant_id, email, role) VALUES (1, 'b@x', 'ceo') RETURNING status, omega_prime"
        )
        staff = await conn.fetchrow(
            "INSERT INTO users (tenant_id, email, role) VALUES (2, 'c@x', 'secretary') RETURNING status"
        )
        other_clinic = await conn.fetchrow(
            "INSERT INTO users (tenant_id, email, role) VALUES (2, 'd@x', 'ceo') RETURNING status"
        )
    finally:
        await conn.close()
    assert (first["status"], first["omega_prime"]) == ("active", True)
    assert (second["status"], second["omega_prime"]) == ("pending", False)
    assert staff["status"] == "pending" and other_clinic["status"] == "active"


async def test_omega_prime_under_two_simultaneous_registrations(crm: str) -> None:
    for attempt in range(5):
        tenant = 100 + attempt
        setup = await asyncpg.connect(crm)
        await setup.execute("INSERT INTO tenants (id, name) VALUES ($1, 'new')", tenant)
        await setup.close()
        a, b = await asyncpg.connect(crm), await asyncpg.connect(crm)
        try:
            ta, tb = a.transaction(), b.transaction()
            await ta.start()
            await tb.start()
            await a.execute(
                "INSERT INTO users (tenant_id, email, role) VALUES ($1, 'a@x', 'ceo')", tenant
            )
            second = asyncio.create_task(
                b.execute(
                    "INSERT INTO users (tenant_id, email, role) VALUES ($1, 'b@x', 'ceo')", tenant
                )
            )
            await asyncio.sleep(0.2)
            assert not second.done()  # the second registration waits for the first
            await ta.commit()
            await second
            await tb.commit()
        finally:
            await a.close()
            await b.close()
        active = await fetchval(
            crm, "SELECT count(*) FROM users WHERE tenant_id = $1 AND status = 'active'", tenant
        )
        assert active == 1
