"""The memo of set operations (`SetChains`) answers as the plain walks it replaces do."""

from __future__ import annotations

import pytest
from sqlglot import exp

from tenantguard.engine.analyze import parse_statement
from tenantguard.engine.proof.syntax import SetChains, set_branches

BRANCH = "SELECT tenant_id FROM patients"


@pytest.mark.parametrize(
    "sql",
    [
        " UNION ALL ".join([BRANCH] * 7),
        f"SELECT * FROM ({' UNION '.join([BRANCH] * 5)}) u",
        f"SELECT * FROM (({BRANCH}) UNION ALL ({BRANCH} UNION {BRANCH}) EXCEPT {BRANCH}) u",
        f"WITH c AS ({BRANCH} INTERSECT ({BRANCH} UNION ALL {BRANCH})) SELECT * FROM c",
        f"SELECT 1 FROM leads WHERE id IN ({BRANCH} UNION (({BRANCH})) UNION {BRANCH})",
    ],
)
def test_positions_and_holders_are_those_of_the_walks(sql: str) -> None:
    tree, _, error, _ = parse_statement(sql)
    assert tree is not None, error
    chains = SetChains()
    selects = [n for n in tree.walk() if isinstance(n, exp.Select)]
    assert len(selects) >= 4
    for node in selects:
        holder = node.parent
        while isinstance(holder, exp.SetOperation | exp.Paren | exp.Subquery):
            branches = set_branches(holder)
            expected = next((i for i, b in enumerate(branches) if b is node), None)
            assert chains.position(holder, node) == expected
            assert chains.leaves(holder) == len(branches)
            holder = holder.parent
        for subqueries in (True, False):
            kinds = (exp.SetOperation, exp.Paren) + ((exp.Subquery,) if subqueries else ())
            above: exp.Expr | None = node.parent
            while isinstance(above, kinds):
                above = above.parent
            assert chains.above(node.parent, subqueries=subqueries) is above
