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

from tenantguard.embedded import ThrowawayPostgres
from tests.leak_corpus import Corpus, load, missed_but_by_design
from tests.proof.test_schema import policy_for

CORPUS = Path(__file__).parent.parent / "fixtures" / "h41a"


def corpus_of() -> Corpus:
    return load(
        CORPUS,
        "fast_co",
        "FAST_CO",
        column="carrier_ref",
        others=("fastXco",),
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
