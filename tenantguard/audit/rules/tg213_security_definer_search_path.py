"""TG213 security-definer-search-path

## What it does
Finds a `SECURITY DEFINER` function or procedure without a fixed `search_path`
(`SET search_path = …` in its definition), or whose `search_path` does not end with `pg_temp`.
Functions of extensions and functions in C are not audited.

## Why is this bad?
A name the function does not qualify is looked up in the caller's `search_path`. A caller who
can create a table, function or operator in a schema searched first — and every role can create
temporary ones, in `pg_temp`, which PostgreSQL searches first for tables unless it is listed —
makes the function read, write or call the caller's object with the owner's rights: the tenant
check inside it compares against the caller's data, or the caller's function runs as the owner.

## Example
```sql
CREATE FUNCTION book(p_patient bigint) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$ … $$;
```

## Use instead
```sql
CREATE FUNCTION book(p_patient bigint) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$ … $$;
-- or: ALTER FUNCTION book(bigint) SET search_path = public, pg_temp;
```
(PostgreSQL's documentation, "Writing SECURITY DEFINER Functions Safely".)

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.rules import AuditContext
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import normalize_name

RULE = RuleInfo("TG213", "security-definer-search-path", Severity.ERROR)


def check(ctx: AuditContext) -> Iterator[Finding]:
    for function in ctx.catalog.functions:
        if not function.security_definer or function.language in ("c", "internal"):
            continue
        path = function.search_path
        if path is None:
            problem = "has no fixed search_path: it resolves names in the caller's"
        else:
            # as PostgreSQL reads it: `"PG_TEMP"` is a schema of that name, `PG_TEMP` is pg_temp
            schemas = [normalize_name(s) for s in path.split(",") if s.strip()]
            if schemas and schemas[-1] == "pg_temp":
                continue
            problem = (
                f"sets search_path = {path.strip() or chr(39) * 2} without pg_temp last: "
                "the caller's temporary tables are searched first"
            )
        yield from ctx.report(
            RULE,
            function,
            f"SECURITY DEFINER function {function.signature} {problem}",
            f"ALTER FUNCTION {function.signature} SET search_path = public, pg_temp (the schemas "
            "it uses, then pg_temp)",
        )
