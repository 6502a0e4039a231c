"""TG010 suppression-without-reason

## What it does
Finds a suppression comment (`# tenantguard: ignore[TG001]` in Python,
`-- tenantguard: ignore[TG001]` in SQL, or an `ignore-file[…]`) that gives no reason after `--`,
or names no rule code.

## Why is this bad?
A suppressed tenant check is a decision that another clinic's data is safe there. The next
reader needs to know why; a bare suppression looks the same whether it was thought through or
pasted to make CI green.

## Example
```python
rows = await conn.fetch(ALL_TENANTS_REPORT)  # tenantguard: ignore[TG001]
```

## Use instead
```python
# tenantguard: ignore[TG001] -- admin report, runs unscoped
rows = await conn.fetch(ALL_TENANTS_REPORT)
```

## Options
None.
"""

from __future__ import annotations

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Severity

RULE = RuleInfo("TG010", "suppression-without-reason", Severity.ERROR)
