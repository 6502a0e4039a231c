"""Round 41, helper A: an outside attack on the static proof (issue 10) with a fresh corpus on a
logistics / fleet SaaS whose tenant column is `carrier_ref varchar(32)` (tests/fixtures/h41a/):
text keys under the deterministic default collation ('fast_co', 'FAST_CO' and 'fastXco' are
three carriers: case, LIKE's `_`, a shared 4-letter prefix), the registry `carriers` keyed by
`ref`, a shipment tree, ordered stops, GPS pings RANGE-partitioned on time, numeric invoices,
GENERATED columns computed from the tenant column (lower, left 4, a badge), an identity column,
a composite type column, jsonb holding a nested carrier_ref, views (security_barrier, windows,
UNION ALL, a jsonb field renamed carrier_ref), SQL and PL/pgSQL functions (SECURITY DEFINER,
RETURNS TABLE with an OUT column carrier_ref, VARIADIC), a trigger and a rule. Query shapes:
text-specific pins (casts to char(n) / varchar(n) / name / bpchar, COLLATE, trim / upper /
left / concat / format / lpad of the parameter, LIKE / SIMILAR / regex), jsonb fields, the
generated columns as pins, windows / DISTINCT ON / LIMIT / WITH TIES / grouping sets in
derived tables and views, TABLESAMPLE, ONLY and partitions, LATERAL with ordinality,
`unnest($1::text[])`, `IN (VALUES …)`, VARIADIC calls, writable CTE chains, upserts moving
rows, MERGE, correlations to the wrong alias.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tenantguard.embedded import ThrowawayPostgres
from tests.conftest import fresh_database
from tests.leak_corpus import Corpus, codes, load, missed_but_by_design
from tests.proof.test_attack12_proof import _check
from tests.proof.test_schema import policy_for

CORPUS = Path(__file__).parent.parent / "fixtures" / "h41a"


def corpus_of() -> Corpus:
    return load(
        CORPUS,
        "fast_co",
        "FAST_CO",
        column="carrier_ref",
        others=("fastXco", "fast_co "),
        schemas=("public",),
    )


async def test_the_corpus_has_no_missed_leak(postgres: ThrowawayPostgres, tmp_path: Path) -> None:
    corpus = corpus_of()
    policy = policy_for(tmp_path, corpus.schema, tenant_column="carrier_ref")
    missed = await missed_but_by_design(
        postgres, corpus, policy, _by_design, dump="H41A_DUMP", cases=300, leaking=80
    )
    assert missed == KNOWN_MISSED


KNOWN_MISSED: list[str] = []


def _by_design(missed: str) -> bool:
    # a literal of another carrier is a pin (rules.yaml "pinned by literal")
    return "'FAST_CO'" in missed or "'fastXco'" in missed


# 1. A schema operator `<>` decides a pin the proof reads through NOT: `NOT (carrier_ref <> V)`
# is read as `carrier_ref = V` (TG001's help), and `CREATE OPERATOR = …` (or `<=`, `>=`, `<@`,
# `@>`) of the schema is an error at its statement (TG006: the proof reads those as
# PostgreSQL's own), but `CREATE OPERATOR <> (LEFTARG = varchar, RIGHTARG = text, FUNCTION =
# ci_ne)` passed unreported: it is what PostgreSQL calls for `NOT (carrier_ref <> $1::text)` or
# `NOT (carrier_ref <> current_setting('app.tenant_id'))` (an exact match of the operand types
# beats pg_catalog's `<>(text, text)` reached by a cast), a case-blind comparison: FAST_CO's
# row came back to fast_co. Now `<>` (and `!=`, its spelling) is one of the operators whose
# definition by the schema is reported. Twins: the schema's `===` (no pin is read through it),
# and no operator (PostgreSQL's own `<>`: one carrier's row).
NOT_EQUAL_SCHEMA = """
CREATE TABLE vans (id integer PRIMARY KEY, carrier_ref varchar(32) NOT NULL, plate text NOT NULL);
"""
NOT_EQUAL_OPERATOR = """
CREATE FUNCTION ci_ne(a varchar, b text) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $$ SELECT lower(a) <> lower(b) $$;
CREATE OPERATOR <> (LEFTARG = varchar, RIGHTARG = text, FUNCTION = ci_ne);
"""
NOT_EQUAL_TWIN = """
CREATE FUNCTION ci_ne(a varchar, b text) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $$ SELECT lower(a) <> lower(b) $$;
CREATE OPERATOR === (LEFTARG = varchar, RIGHTARG = text, FUNCTION = ci_ne);
"""
NOT_EQUAL_READS = [
    "SELECT plate FROM vans WHERE NOT (carrier_ref <> $1::text)",
    "SELECT plate FROM vans WHERE NOT (carrier_ref <> current_setting('app.tenant_id'))",
]


async def test_a_schema_not_equal_operator_on_the_server(postgres: ThrowawayPostgres) -> None:
    rows = "INSERT INTO vans VALUES (1, 'fast_co', 'mine'), (11, 'FAST_CO', 'theirs');"
    for extra, expected in ((NOT_EQUAL_OPERATOR, ["mine", "theirs"]), ("", ["mine"])):
        async with fresh_database(postgres, NOT_EQUAL_SCHEMA + extra + rows) as dsn:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute("SET app.tenant_id = 'fast_co'")
                for sql in NOT_EQUAL_READS:
                    args = ["fast_co"] if "$1" in sql else []
                    found = sorted(r["plate"] for r in await conn.fetch(sql, *args))
                    assert found == expected, (extra, sql)
            finally:
                await conn.close()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("", []),
        (NOT_EQUAL_TWIN, []),
        (NOT_EQUAL_OPERATOR, [("schema/0002.sql", 3, "TG006")]),
        (NOT_EQUAL_OPERATOR.replace("<>", "!="), [("schema/0002.sql", 3, "TG006")]),
    ],
)
def test_a_schema_not_equal_operator_is_reported(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: str,
    expected: list[tuple[str, int, str]],
) -> None:
    (tmp_path / "tenantguard.toml").write_text(
        'tenant_column = "carrier_ref"\nschema_paths = ["schema"]\n', encoding="utf-8"
    )
    (tmp_path / "schema").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "schema/0001.sql").write_text(NOT_EQUAL_SCHEMA, encoding="utf-8")
    (tmp_path / "schema/0002.sql").write_text(extra.lstrip("\n"), encoding="utf-8")
    (tmp_path / "app/q.sql").write_text(
        "".join(f"{sql};\n" for sql in NOT_EQUAL_READS), encoding="utf-8"
    )
    assert _check(tmp_path, monkeypatch, capsys, "app") == expected


# 2. `(x).*` in a select list expands the fields of x: a composite column's where x is (or may
# be) a column — `(owner).*` of `owner owner_t` (a type with a field carrier_ref), `(m).*` of
# `manifests m` that has a column m (PostgreSQL takes the column), `(m.m).*` — and the whole
# row only where x is a relation and no column. The proof read every `(x).*` as a bare `*`:
# the derived table's carrier_ref was manifests' tenant column, pinned from outside, and
# another carrier's manifest that claims fast_co in its composite came back (rules.yaml,
# round 41 "`(x).*` expands a composite column's fields").
ROW_STAR_LEAKS = [
    "SELECT body FROM (SELECT (owner).*, body FROM manifests) s WHERE carrier_ref = $1",
    "SELECT body FROM (SELECT (m).*, body FROM manifests m) s WHERE carrier_ref = $1",
    "SELECT body FROM (SELECT (m.m).*, body FROM manifests m) s WHERE s.carrier_ref = $1",
]
ROW_STAR_TWINS = [
    "SELECT body FROM (SELECT (x.*).*, 1 AS k FROM manifests x) s WHERE s.carrier_ref = $1",
    "SELECT body FROM (SELECT (x).*, 1 AS k FROM manifests x) s WHERE s.carrier_ref = $1",
]


async def test_a_row_star_of_a_composite_column_on_the_server(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    corpus = corpus_of()
    policy = policy_for(tmp_path, corpus.schema, tenant_column="carrier_ref")
    async with fresh_database(postgres, corpus.database("a")) as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in ROW_STAR_LEAKS:
                found = sorted(r["body"] for r in await conn.fetch(sql, "fast_co"))
                assert found == ["mine", "theirs-A"], sql
                assert codes(sql, policy) == ["TG001"], sql
            for sql in ROW_STAR_TWINS:
                assert [r["body"] for r in await conn.fetch(sql, "fast_co")] == ["mine"], sql
                assert codes(sql, policy) == [], sql
        finally:
            await conn.close()
