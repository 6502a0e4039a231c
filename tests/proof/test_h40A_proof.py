"""Round 40, helper A: an outside attack on the static proof (issue 10) with a fresh corpus on a
payroll / HR SaaS whose tenant column is a QUOTED mixed-case name, `"CompanyId" integer`
(tests/fixtures/h40a/): `companyid` unquoted is another column (hr.payslips.companyid, a legacy
number equal to tenant 1's id in another company's rows); tables in public and hr, a
same-named global `public.payslips`; an ENUM status, DOMAINs, row-level security (the owner
bypasses it: no pin), a RULE rewriting inserts on a view, triggers, an updatable view WITH
CHECK OPTION, materialized views, an exclusion constraint, a sequence per table. Query shapes
first of what the proof accepts: pins through scalar subqueries, functions of the parameter,
row constructors and arrays, negations and NULL semantics, CASE; recursive CTEs with SEARCH /
CYCLE, TABLE, ROWS FROM, GROUP BY DISTINCT, DELETE USING, UPDATE FROM, writable CTE chains,
upserts, MERGE, sub-selects in VALUES and SET, casts of the tenant column to text, LIKE /
SIMILAR TO, lateral set-returning functions over arrays of company ids.
"""

from __future__ import annotations

from pathlib import Path

from tenantguard.embedded import ThrowawayPostgres
from tests.leak_corpus import Corpus, load, missed_but_by_design
from tests.proof.test_schema import policy_for

CORPUS = Path(__file__).parent.parent / "fixtures" / "h40a"
PATH = ("hr", "public")


def corpus_of() -> Corpus:
    return load(
        CORPUS,
        "40001",
        "40002",
        column='"CompanyId"',
        others=("40003",),
        schemas=PATH,
        search_path=", ".join(PATH),
        numbers=("company_ref", "cents"),
    )


def corpus_policy(tmp_path: Path, corpus: Corpus) -> object:
    return policy_for(tmp_path, corpus.schema, tenant_column='"CompanyId"', search_path=PATH)


async def test_the_corpus_has_no_missed_leak(postgres: ThrowawayPostgres, tmp_path: Path) -> None:
    corpus = corpus_of()
    missed = await missed_but_by_design(
        postgres,
        corpus,
        corpus_policy(tmp_path, corpus),
        _by_design,
        dump="H40A_DUMP",
        cases=400,
        leaking=100,
    )
    assert missed == KNOWN_MISSED


KNOWN_MISSED: list[str] = []


def _by_design(missed: str) -> bool:
    # a literal of another company is a pin (rules.yaml "pinned by literal")
    return "40002" in missed.split(":", 1)[1] and "$" not in missed.split(":", 1)[1]
