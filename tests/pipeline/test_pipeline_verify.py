"""Issue 13, items 8-11: verify and sync see what pg_dump sees, table contents, stale scratch databases."""

from __future__ import annotations

import asyncio
import os
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
from tenantguard.patches import dump as dump_module
from tenantguard.patches.dsn import Dsn
from tenantguard.patches.files import PatchError
from tenantguard.patches.verify import (
    SCRATCH_PREFIX,
    scratch_database,
    sweep_scratch_databases,
    sync_baseline,
    verify_pipeline,
)

SCHEMA_CHECK = "the pipeline's schema equals the baseline's"
TWICE_ROWS = "the pipeline applied twice changes nothing the second time (table contents)"


def write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def check(report: object, name: str) -> tuple[bool, str]:
    for check_name, passed, difference in report.checks:  # type: ignore[attr-defined]
        if check_name == name:
            return passed, difference
    raise AssertionError(f"no check {name!r} in {report.checks}")  # type: ignore[attr-defined]


async def scratch_databases(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1 || '%'", SCRATCH_PREFIX
        )
    finally:
        await conn.close()
    return [r["datname"] for r in rows]


# ---------------------------------------------------------------- 8. sync writes what verify accepts

EXOTIC = """
CREATE SEQUENCE IF NOT EXISTS invoice_numbers START 1000;

CREATE TABLE IF NOT EXISTS visits (
    tenant_id bigint NOT NULL,
    day date NOT NULL,
    "select" text
) PARTITION BY RANGE (day);
CREATE TABLE IF NOT EXISTS visits_2024 PARTITION OF visits
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX IF NOT EXISTS visits_tenant_day_idx ON visits (tenant_id, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS visit_days AS SELECT tenant_id, day, "select" FROM visits;

DO $$
BEGIN
    IF to_regtype('phone_number') IS NULL THEN
        CREATE DOMAIN phone_number AS text CHECK (VALUE ~ '^\\+?[0-9 ]+$');
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION is_mobile(p text) RETURNS boolean LANGUAGE sql IMMUTABLE
AS $$ SELECT p LIKE '+34 6%' OR p LIKE '6%' $$;

CREATE TABLE IF NOT EXISTS contacts (
    tenant_id bigint NOT NULL,
    phone phone_number NOT NULL,
    amount numeric NOT NULL DEFAULT 0,
    doubled numeric GENERATED ALWAYS AS (amount * 2) STORED,
    CONSTRAINT contacts_mobile CHECK (is_mobile(phone)),
    PRIMARY KEY (tenant_id, phone)
);

CREATE SCHEMA IF NOT EXISTS reporting;
CREATE TABLE IF NOT EXISTS reporting.daily (tenant_id bigint NOT NULL, day date NOT NULL);
"""


async def test_sync_writes_a_baseline_verify_accepts_whatever_the_patches_build(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(patches, "0001_exotic.sql", EXOTIC)
    lines = await sync_baseline(postgres.dsn, patches, baseline)
    text = baseline.read_text()
    assert lines == text.count("\n")
    for made in (
        "CREATE SEQUENCE public.invoice_numbers",
        "PARTITION BY RANGE (day)",
        "ATTACH PARTITION public.visits_2024",
        "CREATE MATERIALIZED VIEW public.visit_days",
        "CREATE DOMAIN public.phone_number",
        '"select" text',
        "GENERATED ALWAYS AS ((amount * (2)::numeric)) STORED",
        "CHECK (public.is_mobile((phone)::text))",
        "CREATE TABLE reporting.daily",
    ):
        assert made in text, made
    assert "\\restrict" not in text and "Dumped by" not in text
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    assert report.ok, report.checks


async def test_sync_leaves_the_baseline_alone_when_its_output_would_not_match(
    postgres: ThrowawayPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    patches, baseline = tmp_path / "patches", tmp_path / "baseline.sql"
    write(patches, "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int, note text);")
    baseline.write_text("-- the old baseline\n")
    real = dump_module.baseline_text

    def lossy(dump: str, header: str, given: list[str]) -> str:
        text = real(dump, header, given=given)
        return text.replace("    note text\n", "").replace("id integer,", "id integer")

    monkeypatch.setattr("tenantguard.patches.verify.baseline_text", lossy)
    with pytest.raises(PatchError, match=r"would not build the pipeline's schema.*left as it was"):
        await sync_baseline(postgres.dsn, patches, baseline)
    assert baseline.read_text() == "-- the old baseline\n"


# ---------------------------------------------------------------- 9. drift that only pg_dump shows

DRIFT_PIPELINE = """
CREATE TABLE IF NOT EXISTS clinics (id bigint PRIMARY KEY, name text NOT NULL);
CREATE OR REPLACE FUNCTION clinics_touch() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN RETURN NEW; END $$;
CREATE OR REPLACE TRIGGER clinics_touch BEFORE UPDATE ON clinics
    FOR EACH ROW EXECUTE FUNCTION clinics_touch();
"""


@pytest.fixture(scope="module")
def drift_case(
    postgres: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """A small pipeline and the baseline sync writes for it (synced once for the module, on the
    session's server: sync builds in scratch databases it drops, as the tests' verify does)."""
    directory = tmp_path_factory.mktemp("drift")
    write(directory / "patches", "0001_clinics.sql", DRIFT_PIPELINE)
    asyncio.run(sync_baseline(postgres.dsn, directory / "patches", directory / "baseline.sql"))
    return directory / "patches", (directory / "baseline.sql").read_text()


@pytest.mark.parametrize(
    ("drift", "shown"),
    [
        (
            "ALTER TABLE public.clinics DISABLE TRIGGER clinics_touch;",
            [
                "TRIGGER public.clinics clinics_touch: differs",
                "+ ALTER TABLE public.clinics DISABLE TRIGGER clinics_touch;",
            ],
        ),
        (
            "ALTER TABLE public.clinics SET UNLOGGED;",
            [
                "TABLE public.clinics: differs",
                "- CREATE TABLE public.clinics (",
                "+ CREATE UNLOGGED TABLE public.clinics (",
            ],
        ),
        (
            'ALTER TABLE public.clinics ALTER COLUMN name TYPE text COLLATE "C";',
            ["TABLE public.clinics: differs", '+     name text NOT NULL COLLATE pg_catalog."C"'],
        ),
        (
            "CREATE SCHEMA other;\nCREATE TABLE other.extra (id int);",
            ["TABLE other.extra: only in", "SCHEMA other: only in"],
        ),
        (
            "GRANT ALL ON TABLE public.clinics TO PUBLIC;",
            ["ACL public.TABLE clinics: only in", "+ GRANT ALL ON TABLE public.clinics TO PUBLIC;"],
        ),
    ],
    ids=["disabled trigger", "unlogged", "collate", "another schema", "grant to public"],
)
async def test_verify_sees_drift_only_pg_dump_shows(
    postgres: ThrowawayPostgres,
    tmp_path: Path,
    drift_case: tuple[Path, str],
    drift: str,
    shown: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    patches, synced = drift_case
    baseline = tmp_path / "baseline.sql"
    baseline.write_text(synced + "\n" + drift + "\n")
    args = [
        "patches",
        "verify",
        "--dsn",
        postgres.dsn,
        "--dir",
        str(patches),
        "--baseline",
        str(baseline),
    ]
    assert await asyncio.to_thread(main, args) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    start = lines.index(f"FAIL  {SCHEMA_CHECK}") + 1
    end = next(
        (i for i in range(start, len(lines)) if not lines[i].startswith("      ")), len(lines)
    )
    difference = lines[start:end]  # the check's own difference, indented under it
    assert any(line.startswith(f"      {shown[0]}") for line in difference), out  # named object
    for text in shown:
        assert any(text in line for line in difference), out


async def test_the_baseline_sync_wrote_for_the_drift_cases_verifies(
    postgres: ThrowawayPostgres, tmp_path: Path, drift_case: tuple[Path, str]
) -> None:
    patches, synced = drift_case
    (tmp_path / "baseline.sql").write_text(synced)
    report = await verify_pipeline(postgres.dsn, patches, tmp_path / "baseline.sql")
    assert report.ok, report.checks


# ---------------------------------------------------------------- 10. idempotency of the contents


async def test_verify_catches_a_seed_insert_without_a_guard(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_seed.sql",
        """
        CREATE TABLE IF NOT EXISTS clinics (id serial PRIMARY KEY, name text NOT NULL);
        INSERT INTO clinics (name) VALUES ('Seed clinic');
        """,
    )
    baseline = tmp_path / "baseline.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    passed, difference = check(report, TWICE_ROWS)
    assert not passed
    assert "table public.clinics: 1 row after one run, 2 rows after two runs" in difference
    assert '  + (2,"Seed clinic")' in difference
    assert check(report, SCHEMA_CHECK)[0]  # the schema alone does not show it


@pytest.mark.parametrize(
    ("update", "idempotent"),
    [
        ("UPDATE contacts SET phone = '+34' || phone;", False),
        ("UPDATE contacts SET phone = '+34' || phone WHERE phone NOT LIKE '+34%';", True),
    ],
)
async def test_verify_catches_an_update_that_changes_rows_again(
    postgres: ThrowawayPostgres, tmp_path: Path, update: str, idempotent: bool
) -> None:
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_contacts.sql",
        """
        CREATE TABLE IF NOT EXISTS contacts (id int PRIMARY KEY, phone text NOT NULL);
        INSERT INTO contacts VALUES (1, '600111222') ON CONFLICT (id) DO NOTHING;
        """,
    )
    write(patches, "0002_prefix.sql", update)
    baseline = tmp_path / "baseline.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    passed, difference = check(report, TWICE_ROWS)
    assert passed is idempotent
    if not idempotent:
        assert "table public.contacts: 1 row on both, but different contents" in difference
        assert "  - (1,+34600111222)" in difference and "  + (1,+34+34600111222)" in difference


# ---------------------------------------------------------------- 11. scratch databases of a killed verify


async def test_a_killed_verify_leaves_scratch_databases_the_next_run_sweeps(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    write(patches, "0001_slow.sql", "CREATE TABLE IF NOT EXISTS t (id int);\nSELECT pg_sleep(30);")
    (tmp_path / "baseline.sql").write_text("")
    before = set(await scratch_databases(postgres.dsn))
    script = (
        "import asyncio\nfrom pathlib import Path\n"
        "from tenantguard.patches.verify import verify_pipeline\n"
        f"asyncio.run(verify_pipeline({postgres.dsn!r}, Path({str(patches)!r}), Path({str(tmp_path / 'baseline.sql')!r})))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            conn = await asyncpg.connect(postgres.dsn)
            busy = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%'"
            )
            await conn.close()
            if busy:
                break
            await asyncio.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    left = set(await scratch_databases(postgres.dsn)) - before
    assert len(left) == 1
    [name] = left
    deadline = time.monotonic() + 15  # its sessions end once the server notices the client is gone
    while True:
        conn = await asyncpg.connect(postgres.dsn)
        connected = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name
        )
        await conn.close()
        if not connected:
            break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    server = Dsn.parse(postgres.dsn)
    async with scratch_database(server, "live") as live:  # a run in progress holds its own
        assert name in await sweep_scratch_databases(server, stale_after=0)
        assert live.get("dbname") in await scratch_databases(postgres.dsn)
    assert name not in await scratch_databases(postgres.dsn)
    assert set(await scratch_databases(postgres.dsn)) == before
    assert await sweep_scratch_databases(server, stale_after=0) == []


async def test_a_young_scratch_database_is_not_swept(postgres: ThrowawayPostgres) -> None:
    server = Dsn.parse(postgres.dsn)
    async with scratch_database(server, "young") as young:
        pass  # dropped on exit; recreate one with a fresh name and no keeper
    name = young.get("dbname")
    conn = await asyncpg.connect(postgres.dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        assert await sweep_scratch_databases(server) == []  # seconds old: a run may be starting
        assert await sweep_scratch_databases(server, stale_after=0) == [name]
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.close()


def test_verify_without_a_usable_pg_dump_says_what_to_install(
    postgres: ThrowawayPostgres,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    write(tmp_path / "patches", "0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);")
    monkeypatch.setenv("PG_DUMP", str(tmp_path / "no-pg_dump"))
    args = [
        "patches",
        "verify",
        "--dsn",
        postgres.dsn,
        "--dir",
        str(tmp_path / "patches"),
        "--baseline",
        str(tmp_path / "b.sql"),
    ]
    (tmp_path / "b.sql").write_text("")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "pg_dump 15 or newer" in err and "postgresql-client-15" in err and "PG_DUMP" in err
