"""Session 37: verify's own reads (dump.py, verify.py) leave no name to the search path, as the
runner's do (round 36, h36E): a patch that puts its own schema before pg_catalog on the
database (`ALTER DATABASE … SET search_path = public, pg_catalog`) and defines `public.md5`
made every table's digest the same string, so a patch that changes rows on every run passed
"applied twice changes nothing". (The static check of every query: test_h36E_runner_names.py.)"""

from __future__ import annotations

from pathlib import Path

from tenantguard.embedded import ThrowawayPostgres
from tenantguard.patches.verify import sync_baseline, verify_pipeline
from tests.pipeline.test_pipeline_verify import TWICE_ROWS, check, write

SHADOW = """
CREATE OR REPLACE FUNCTION public.md5(text) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT 'the same digest' $$;
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET search_path = public, pg_catalog', current_database());
END
$$;
"""


async def test_a_shadowed_digest_does_not_hide_rows_changed_again(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    patches = tmp_path / "patches"
    write(patches, "0001_shadow.sql", SHADOW)
    write(
        patches,
        "0002_contacts.sql",
        """
        CREATE TABLE IF NOT EXISTS contacts (id int PRIMARY KEY, phone text NOT NULL);
        INSERT INTO contacts VALUES (1, '600111222') ON CONFLICT (id) DO NOTHING;
        UPDATE contacts SET phone = '+34' || phone;
        """,
    )
    baseline = tmp_path / "baseline.sql"
    await sync_baseline(postgres.dsn, patches, baseline)
    report = await verify_pipeline(postgres.dsn, patches, baseline)
    passed, difference = check(report, TWICE_ROWS)
    assert not passed
    assert "table public.contacts: 1 row on both, but different contents" in difference
    assert "  - (1,+34600111222)" in difference and "  + (1,+34+34600111222)" in difference
