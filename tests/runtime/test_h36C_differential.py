"""Round 36 (helper h36C): the runtime guard's verdict against the static proof's, over every
case of tests/cases/rules.yaml that runs on the server (tests/proof/test_cases_on_server.py's
selection), on the schema tests/fixtures/case_schema.sql describes.

The guard is connected to that database with the case's policy (what config gives it) and
reads the rest from the catalog; each case's statement is judged by both. A statement the
static proof passes and the guard refuses is a false alarm in production; one the guard passes
and the proof refuses is either the catalog telling more than the sources (said in KNOWN with
why) or a static leak. Each difference not in KNOWN fails the test with both verdicts.

Both sides use the policy `connect()` builds without one (the configuration with the schema
sources, `config.build_policy`), with the case's config over it, as production does: with the
cases' hand-written policy (tests/conftest.case_policy) some 20 verdicts differ only because a
hand policy lacks what the sources infer (users as a tenant table, unique and foreign keys,
column lists and types) — the guard reads none of those from the catalog (DESIGN.md §3: give
it the configuration's policy). Found (round 36): the runtime refused INSERT … SELECT with no
column list (fixed: the catalog's column order), and the two KNOWN differences below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tenantguard import Policy
from tenantguard.config import build_policy, load_settings
from tenantguard.embedded import ThrowawayPostgres
from tenantguard.engine.analyze import analyze_statement
from tenantguard.runtime import connect
from tests.conftest import CASE_TABLES, case_policy
from tests.proof.test_cases_on_server import PREPARED, SCHEMA, case_id

# case id -> why the guard's verdict differs from the static proof's, on purpose
KNOWN: dict[str, str] = {
    # "$user" of config search_path: the proof cannot tell which schema it reads (any but
    # public may be the role's); the guard reads it as the session's role (h36R: no schema
    # postgres here, so public's global table; a role the session may SET ROLE to whose schema
    # holds the name refuses the connection, schema_code.read_elsewhere)
    "TG001-a name past a user schema on the search path": "catalog role (sound)",
    # the catalog knows each tenant column's type (bigint in both branches) where the case's
    # config says none: the guard pushes the pin into the branches, soundly
    "TG001-round 17: no pushdown into branches of unknown type": "catalog types (sound)",
    # the catalog lists citext's SQL overload regexp_match(citext, text) (and its C functions:
    # texticregexne, min…) by name; the guard cannot tell which overload `regexp_match(name,
    # 'b+')` of a text column calls and reads the extension's (fail closed: a false alarm the
    # static check, blind to an extension's code, does not raise)
    "TG013-round 23: a column matched against a pattern": "extension overloads (false alarm)",
}


def sources_policy(tmp: Path) -> Policy:
    """The policy the static check builds with tests/fixtures/case_schema.sql as its schema
    source (what the catalog describes), with the cases' tenant and global tables."""
    (tmp / "schema.sql").write_text(SCHEMA.read_text(encoding="utf-8"), encoding="utf-8")
    tables = ", ".join(f"'{t}'" for t in sorted(CASE_TABLES))
    (tmp / "tenantguard.toml").write_text(
        f'tenant_column = "tenant_id"\ntenant_tables = [{tables}]\n'
        'global_tables = ["tenants"]\nschema_paths = ["schema.sql"]\n'
        'search_path = ["public"]\n',
        encoding="utf-8",
    )
    return build_policy(load_settings(tmp))


def _with_config(policy: Policy, config: dict[str, Any]) -> Policy:
    """`policy` with a case's config as `case_policy` reads it."""
    if not config:
        return policy
    spelt = case_policy(**config)
    return policy.replace(**{key: getattr(spelt, key) for key in config})


def by_design(static: list[str], runtime: list[str]) -> bool:
    """Differences of the contract (DESIGN.md §3): the guard checks each pin's value against
    `tenant()` instead of TG012 (two pins of one statement are one tenant when both are the
    request's), and refuses on its own what only the running session can tell (TG-RUNTIME: a
    change of the tenant setting it keeps, a cursor WITH HOLD, a tenant expression whose value
    it cannot know, U& escapes it does not decode)."""
    if not runtime and static and all(f.startswith("TG012:") for f in static):
        return True
    return not static and bool(runtime) and all(f.startswith("TG-RUNTIME:") for f in runtime)


def _codes(findings: Any) -> list[str]:
    return sorted({f"{f.code}: {f.message}" for f in findings})


async def _verdicts(dsn: str, sources: Policy) -> dict[str, tuple[list[str], list[str]]]:
    raw = await asyncpg.connect(dsn)
    try:
        await raw.execute(SCHEMA.read_text(encoding="utf-8"))
    finally:
        await raw.close()
    found: dict[str, tuple[list[str], list[str]]] = {}
    conn = await connect(dsn, policy=sources)
    try:
        guard = conn.tenantguard
        for case in PREPARED:
            policy = _with_config(sources, case.get("config", {}))
            guard.policy = policy
            static = analyze_statement(case["sql"], policy).errors
            runtime = guard.verdict(case["sql"]).errors
            found[case_id(case)] = (_codes(static), _codes(runtime))
    finally:
        await conn.close()
    return found


@pytest.fixture(scope="module")
def verdicts(
    postgres: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[list[str], list[str]]]]:
    name = "h36c_differential"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(postgres.dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    asyncio.run(admin(f"CREATE DATABASE {name}"))
    try:
        sources = sources_policy(tmp_path_factory.mktemp("h36c"))
        yield asyncio.run(_verdicts(postgres.dsn_for(name), sources))
    finally:
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.mark.parametrize("case", PREPARED, ids=[case_id(c) for c in PREPARED])
def test_the_guard_agrees_with_the_static_proof(
    case: dict[str, Any], verdicts: dict[str, tuple[list[str], list[str]]]
) -> None:
    static, runtime = verdicts[case_id(case)]
    if by_design(static, runtime):
        return
    if case_id(case) in KNOWN:
        assert bool(static) != bool(runtime), f"{case_id(case)} agrees now: drop it from KNOWN"
        return
    assert bool(static) == bool(runtime), f"{case['sql']}\n  static: {static}\n  runtime: {runtime}"
