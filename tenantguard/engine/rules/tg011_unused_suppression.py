"""TG011 unused-suppression

## What it does
Finds a suppression comment that suppresses nothing: the finding it was written for is gone, or
it names the wrong code, or it sits on the wrong line.

## Why is this bad?
Stale suppressions hide the next, real finding on that line. Removing them keeps every
remaining suppression meaningful.

## Example
```sql
-- tenantguard: ignore[TG001] -- nightly export
SELECT * FROM patients WHERE tenant_id = $1;   -- already pinned
```

## Use instead
Delete the comment.

## Options
None.
"""

from __future__ import annotations

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Severity

RULE = RuleInfo("TG011", "unused-suppression", Severity.WARNING)
