"""TG001 unpinned-tenant-reference

## What it does
Finds a reference to a tenant table — in any query block: the statement itself, a CTE, a
subquery, a derived table, a LATERAL subquery, a branch of UNION/INTERSECT/EXCEPT, the target of
UPDATE/DELETE/MERGE or the source of a MERGE — that no top-level AND-condition pins to one
tenant.

## Why is this bad?
Without `tenant_id = $1` (or an equality chain to a pinned tenant column) the query reads or
changes the rows of every tenant: one clinic sees, edits or deletes another clinic's patients.

What pins a reference `R`:
- a conjunct `R.tenant_id = V` (a pinning value, or the tenant column of a pinned source) of a
  clause that filters `R`: the WHERE; the ON of an inner join; the ON of an outer join for its
  nullable side only (the preserved side of a LEFT JOIN is filtered by the WHERE alone; a FULL
  JOIN's ON filters neither side); the MERGE ON for the target;
- a row equality `(R.tenant_id, R.id) = ($1, $2)`, pair by pair;
- `JOIN b USING (tenant_id, …)`, as `a.tenant_id = b.tenant_id` in its ON; the merged
  `tenant_id` is the left one (the right one for a RIGHT JOIN, no one's for a FULL JOIN);
- an OR, for what every one of its branches pins to the same value
  (`(tenant_id = $1 AND a) OR (tenant_id = $1 AND b)`);
- a derived table or CTE counts as pinned on its tenant column when every branch projects a
  pinned tenant column (or a pinning value) unchanged;
- the other way round, a pin on a derived table's or CTE's tenant column is pushed into its
  body when the body has one branch, outputs the tenant column of one of its sources unchanged
  (by name, or by position under a column list), works row by row — no aggregate or window
  function, DISTINCT, GROUP BY/HAVING, LIMIT/OFFSET/FETCH or locking clause — and every read of
  it is pinned: `SELECT … FROM (SELECT * FROM patients) d WHERE d.tenant_id = $1` pins
  `patients` (the body's other sources still need their own pin or chain).

NOT, `<>`, ranges, `IS NOT NULL`, `coalesce(…)`, a value read by a subquery, and a join on a key
other than the tenant column never pin.

## Example
```sql
SELECT p.name, a.starts_at
FROM patients p JOIN appointments a ON a.patient_id = p.id
WHERE p.tenant_id = $1;          -- appointments is not pinned
```

## Use instead
```sql
SELECT p.name, a.starts_at
FROM patients p JOIN appointments a
  ON a.patient_id = p.id AND a.tenant_id = p.tenant_id
WHERE p.tenant_id = $1;
```

## Options
`tenant_column`, `tenant_tables`, `global_tables`, `tenant_expressions`.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.proof import Role, Source

RULE = RuleInfo("TG001", "unpinned-tenant-reference", Severity.ERROR)


def where_to_pin(source: Source, column: str) -> str:
    """The fix: which clause of which block should carry the pin."""
    condition = f"`{source.name}.{column} = $n`"
    if source.role is Role.MERGE_SOURCE:
        return (
            f"filter the MERGE source by tenant: USING (SELECT … FROM {source.describe()} "
            f"WHERE {column} = $n)"
        )
    if source.role is Role.TARGET and source.block.kind == "MERGE":
        return f"add {condition} to the MERGE … ON condition"
    for _, filtered, clause, _ in source.block.filters:
        if clause.startswith(("ON of LEFT", "ON of RIGHT")) and source in filtered:
            return f"add {condition} to the {clause}"
    return f"add {condition} to the WHERE of {source.block.label}"


def explain_miss(source: Source) -> str:
    if source.near_misses:
        return "; " + source.near_misses[0][1]
    chains = [f for f in source.facts if f.other is not None]
    if chains:
        other = chains[0].other
        assert other is not None
        return f"; it is only equated with {other.describe()}, which is not pinned itself"
    return ""


def check(ctx: Context) -> Iterator[Finding]:
    proof = ctx.proof
    if proof is None or ctx.in_patch:
        return
    column = ctx.policy.tenant_column
    for source in proof.unpinned:
        if source.multi_tenant and not ctx.policy.allow_multi_tenant:
            continue  # TG008 reports it with a better message
        yield ctx.finding(
            RULE,
            source.node.this,
            f"{source.describe()} in {source.block.label} is not pinned to one tenant"
            + explain_miss(source),
            where_to_pin(source, column),
        )
