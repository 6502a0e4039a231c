"""Session 34 (helper D), issue 12: `" ".join(X[a:b])` of a constant list was TG009.

`"\\n".join(conds[:-1])` — a list of constant clauses, its trailing connective dropped — is
constant SQL: the items of that slice, in order, as Python computes them (negative bounds,
steps, a module's tuple, a list grown on each path). Before, the slice was "items computed at
run time" and the fill of the hole also made the statement's WHERE empty: a TG001 beside the
TG009 of SQL that was pinned. A slice that drops the pin is a leak at the list's items.
"""

from __future__ import annotations

import pytest

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text

ORGS = Policy("org_id", ["invoices"])


def found(source: str) -> list[str]:
    out, _, _ = check_python_text(source, Analyzer(ORGS))
    return sorted(f.code for f in out)


TEMPLATE = """\
PARTS = ("SELECT id", "FROM invoices", "WHERE org_id = $1", "AND status = $2", "AND")


async def run(conn, org, status, paid):
    conds = ["org_id = $1", "AND status = $2", "AND"]
    grown = ["SELECT id FROM invoices WHERE org_id = $1"]
    if paid:
        grown.append("AND status = 'paid'")
    grown.append("LIMIT 10")
    return await conn.fetch({sql}, org, status)
"""


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # a list's trailing connective dropped
        ('"SELECT id FROM invoices WHERE\\n" + "\\n".join(conds[:-1])', []),
        ('" ".join(PARTS[:-1])', []),
        ('" ".join(PARTS[0:4])', []),
        ('" ".join(PARTS[:3])', []),
        ('" ".join(PARTS[-5:-1])', []),
        # each list a grown one can hold, without its last item
        ('" ".join(grown[:-1])', []),
        # the pin dropped by the slice: a leak, not TG009
        ('" ".join(PARTS[:2])', ["TG001"]),
        ('"SELECT id FROM invoices WHERE status = $2 OR " + " ".join(conds[:1])', ["TG001"]),
        ('" ".join(PARTS[:2] + PARTS[3:4])', ["TG009"]),  # (a list made of slices: not read)
        ('" ".join(PARTS[1::2])', ["TG006"]),  # FROM invoices AND status = $2
        # bounds known at run time: still TG009
        ('" ".join(PARTS[:paid])', ["TG009"]),
    ],
)
def test_a_constant_slice_of_a_constant_list_is_its_items(sql: str, expected: list[str]) -> None:
    assert found(TEMPLATE.format(sql=sql)) == expected
