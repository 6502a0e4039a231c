"""TG-RUNTIME runtime-guard

## What it does
Reported by the runtime guard (`tenantguard.runtime.connect` / `create_pool`), never by
`tenantguard check`: a statement the proof accepts, but that cannot run for *this* request.

- A pinning value is not the request's tenant: `tenant(1)` and `WHERE tenant_id = $1` with `2`
  bound, a literal `tenant_id = 2`, a string `'01'` or `' 1'` for tenant `1` (a text column tells
  them apart), a value of a type that cannot be compared safely (an `int` subclass, a float).
- A parameter that pins the tenant is typed by PostgreSQL, from its first use, as a type that
  does not compare the tenant id exactly: `score = $1 AND tenant_id = $1` with `score real`
  sends tenant 16777217 as 16777216.0 (also `double precision`, `money`, `character`, `"char"`,
  `name`, a domain over `varchar(n)`/`numeric(p,s)`). Checked on the prepared statement.
- A statement changes what the guard owns: `SET`/`SET LOCAL`/`RESET` of the tenant setting
  (`app.tenant_id`), `RESET ALL`, `DISCARD ALL`, `set_config()` of it or of a name that is not a
  plain literal, `standard_conforming_strings` (it decides where the server ends a string).
- SQL-level `PREPARE`/`EXECUTE`: what `EXECUTE name` runs was prepared out of sight; SQL-level
  `DEALLOCATE` and `prepare(name=)` with one of asyncpg's own names (`__asyncpg_stmt_N__`):
  asyncpg binds that name for a text it has run, and other SQL prepared under it would run
  for the proven text.
- A codec set where the caller may not: `set_type_codec()` and the codec methods of
  `get_settings()` (`add_python_codec`…) outside the pool's `init=`/`setup=` and `unscoped()`.
- The session lexes strings differently (`standard_conforming_strings = off`).
- A statement longer than `max_statement_bytes`, on a tenant table outside `tenant()` with
  `require_tenant=True`, a `tenant()` held across a generator's `yield`, a COPY whose rows or
  `where=` cannot be checked.

## Why is this bad?
The proof shows that a statement reads one tenant; the guard shows that it is the request's
tenant and that the session still means what the proof assumed. A value from the request body, a
setting changed behind the guard's back (Row-Level Security then serves the other tenant), or a
string that ends elsewhere for the server than for the proof, each hands one clinic another
clinic's patients.

## Example
```python
with tenant(1):
    await conn.fetch("SELECT * FROM patients WHERE tenant_id = $1", body["clinic"])  # 2
    await conn.execute("SET app.tenant_id = '2'")
    await conn.fetch("… WHERE score = $1 AND tenant_id = $1", 1)  # $1 typed real
```

## Use instead
```python
with tenant(current_clinic):
    await conn.fetch("SELECT * FROM patients WHERE tenant_id = $1", current_clinic)
    await conn.fetch("… WHERE tenant_id = $1 AND score = $2", current_clinic, 1.5)
# the guard sets app.tenant_id itself: connect(..., set_tenant_setting=True)
```
Cross-tenant maintenance runs inside `with unscoped("reason"):` (logged and counted).

## Options
`mode` (`enforce` raises, `report` logs one line per statement and finding per
`report_interval` with the application's call site, `off`), `require_tenant`,
`set_tenant_setting`, `tenant_setting`, `max_statement_bytes`, `cache_size`, `cache_bytes`,
`log_values` (bound values and literals in logs; off by default: they are patients' data).
"""

from __future__ import annotations

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Severity

RULE = RuleInfo("TG-RUNTIME", "runtime-guard", Severity.ERROR)
