"""Settings the proof relies on, changed by application code (round 33; h33q found the static
check silent on them, the runtime guard refuses them). With `standard_conforming_strings` off
the server ends strings where the proof does not: the SELECT below is pinned to clinic 1 as
the proof reads it (`'\\'` a string of one backslash, then `AND tenant_id = 1`), and one string
followed by `OR true` as the server reads it — every clinic's patients come back. The SET is
TG006 now; so are `client_encoding` (also `SET NAMES`) and the planner's costs TG013 orders
conditions by. Reading them, SHOW and RESET stay quiet."""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard.engine.analyze import analyze_statement
from tests.conftest import case_policy

# pinned as the proof reads it (standard_conforming_strings on)
PINNED_HERE = (
    "SELECT first_name FROM patients WHERE first_name <> '\\' AND tenant_id = 1 "
    "AND first_name <> ' OR true --'"
)
CHANGING = [
    "SET standard_conforming_strings = off",
    "SET SESSION standard_conforming_strings TO off",
    "SELECT set_config('standard_conforming_strings', 'off', false)",
    "SET client_encoding = 'SJIS'",
    "SET NAMES 'SJIS'",
    "SET LOCAL cpu_operator_cost = 0",
    "SET random_page_cost = 0",
    "UPDATE pg_settings SET setting = '0' WHERE name = 'cpu_operator_cost'",
]
QUIET = [
    "SHOW client_encoding",
    "SELECT current_setting('standard_conforming_strings')",
    "SELECT name, setting FROM pg_settings WHERE name = 'cpu_operator_cost'",
    "RESET cpu_operator_cost",
    "SET statement_timeout = 1000",
]


async def test_a_pin_the_proof_reads_is_a_string_with_strings_not_standard(
    two_clinics: str,
) -> None:
    conn = await asyncpg.connect(two_clinics, statement_cache_size=0)  # (parsed each time)
    try:
        # standard: the pin is there (clinic 1's patients)
        assert sorted(r[0] for r in await conn.fetch(PINNED_HERE)) == ["Ana", "Bruno"]
        await conn.execute("SET standard_conforming_strings = off")
        assert sorted(r[0] for r in await conn.fetch(PINNED_HERE)) == ["Ana", "Bruno", "Carla"]
    finally:
        await conn.close()
    assert [f.code for f in analyze_statement(PINNED_HERE, case_policy()).findings] == []


@pytest.mark.parametrize("sql", CHANGING)
def test_changing_a_setting_the_proof_relies_on_is_tg006(sql: str) -> None:
    codes = [f.code for f in analyze_statement(sql, case_policy()).findings]
    assert "TG006" in codes, sql


@pytest.mark.parametrize("sql", QUIET)
def test_reading_or_resetting_them_is_quiet(sql: str) -> None:
    assert [f.code for f in analyze_statement(sql, case_policy()).findings] == [], sql
