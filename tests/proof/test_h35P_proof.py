"""Round 35, helper P: an outside attack on round 35's new acceptances of the static proof
(h35A, h35B), on PostgreSQL 15. The corpus tests/fixtures/h35p/ runs on two databases differing
only in the other tenant's rows (tests/leak_corpus.py); a LEAK is told by the server, then
tenantguard's verdict is compared.

1. A branch of INTERSECT / EXCEPT pinned by the compared operand (h35B) still computes its GROUP
   BY keys and its HAVING on every tenant's rows before the rows are compared: `GROUP BY org,
   title::int` or `HAVING 1 / (count(*) - 2) > 0` raises the error of another tenant's group.
2. The search path: `"$user"` (PostgreSQL's default path reads the schema named like the login
   role first), a path set by the application's own statements (`SET search_path`,
   `set_config('search_path', …)`), a path set for the role or database by the schema sources
   (`ALTER ROLE … SET search_path`): under each, a name the proof read as public's global
   table is another schema's tenant table.
"""

from __future__ import annotations

import os
from pathlib import Path

from tenantguard.embedded import ThrowawayPostgres
from tests.leak_corpus import codes, load, server_verdicts, two_databases
from tests.proof.test_schema import policy_for

CORPUS = Path(__file__).parent.parent / "fixtures" / "h35p"
A = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
B = "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a22"
# corpus lines of LEAKs tenantguard still passes (class 2, "$user": not fixed yet)
UNFIXED = [28, 30]


async def test_the_corpus_has_no_missed_leak_and_passes_its_safe_twins(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    corpus = load(CORPUS, A, B)
    async with two_databases(postgres, corpus) as dsns:
        found = await server_verdicts(dsns, corpus)
    policy = policy_for(tmp_path, corpus.schema, tenant_column="org")
    verdicts = [
        (case, leak, outcome, codes(case.sql, policy))
        for case, (leak, outcome) in zip(corpus.cases, found, strict=True)
    ]
    if os.environ.get("H35P_DUMP"):
        for case, leak, outcome, found_codes in verdicts:
            print(case.line, leak, found_codes, outcome.result)
    # the corpus's comment before each statement says LEAK or safe: the server agrees
    text = (CORPUS / "corpus.sql").read_text(encoding="utf-8").splitlines()
    said = [text[case.line - 2].startswith("-- LEAK") for case, _, _, _ in verdicts]
    assert [leak for _, leak, _, _ in verdicts] == said
    missed = [c.line for c, leak, _, found in verdicts if leak and not found]
    assert missed == UNFIXED
    flagged = [f"line {c.line}: {found}" for c, leak, _, found in verdicts if not leak and found]
    assert flagged == []
