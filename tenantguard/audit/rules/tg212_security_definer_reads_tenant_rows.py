"""TG212 security-definer-reads-tenant-rows

## What it does
Finds a `SECURITY DEFINER` function or procedure that reads tenant rows: its definition names a
tenant table (or a view, or a function, that hands out tenant rows), it builds SQL at run time
(`EXECUTE` in PL/pgSQL), or it is written in a language whose queries cannot be read (PL/Python,
PL/Perl…). A SQL or PL/pgSQL function whose every query the proof shows pinned by the tenant
setting (`current_setting('app.tenant_id')`) is not reported: it keeps to the session's tenant
as a policy would. Functions of extensions are not audited.

## Why is this bad?
A `SECURITY DEFINER` function runs as its owner. When the owner is a superuser, has BYPASSRLS,
or owns the tables, Row-Level Security does not apply inside it: the function serves every
tenant's rows to any role that may call it (by default, PUBLIC). Pinned by a parameter
(`WHERE tenant_id = p_clinic`), it serves whichever tenant the caller names.

## Example
```sql
CREATE FUNCTION patient_by_phone(p_phone text) RETURNS SETOF patients
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT * FROM patients WHERE phone_number = p_phone $$;
```

## Use instead
```sql
CREATE FUNCTION patient_by_phone(p_phone text) RETURNS SETOF patients
    LANGUAGE sql SECURITY INVOKER
    AS $$ SELECT * FROM patients WHERE phone_number = p_phone $$;
-- or keep SECURITY DEFINER and pin every query to the session's tenant:
--   … WHERE tenant_id = current_setting('app.tenant_id')::bigint AND phone_number = p_phone
```

## Options
`tenant_column`, `tenant_tables`, `global_tables`, `tenant_expressions`.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantguard.audit.model import Function
from tenantguard.audit.rules import AuditContext
from tenantguard.engine.analyze import analyze_statement
from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import names_in_text, sql_name

RULE = RuleInfo("TG212", "security-definer-reads-tenant-rows", Severity.ERROR)

_READABLE = ("sql", "plpgsql")
_NATIVE = ("c", "internal")  # compiled code: what it reads is not in the catalog


def check(ctx: AuditContext) -> Iterator[Finding]:
    for function in ctx.catalog.functions:
        if not function.security_definer or function.language in _NATIVE:
            continue
        reason = _reads(ctx, function)
        if reason is None:
            continue
        yield from ctx.report(
            RULE,
            function,
            f"SECURITY DEFINER function {function.signature} {reason}: it runs as its owner "
            f"{sql_name(function.owner)}, past Row-Level Security, for any role that may call it",
            f"ALTER FUNCTION {function.signature} SECURITY INVOKER, or pin every query in it to "
            f"{ctx.policy.tenant_expressions[0]}",
        )


def _reads(ctx: AuditContext, function: Function) -> str | None:
    """Why the function reads tenant rows past RLS, or None when it does not."""
    if function.language not in _READABLE:
        return f"is written in {function.language}, whose queries cannot be read"
    names = named_tenant_relations(ctx, function.definition)
    body = ctx.function_bodies.get(function.oid)
    dynamic = body is not None and body.opaque.strip() != ""
    if dynamic:
        return "builds SQL at run time (EXECUTE)"
    if not names:
        return None
    if body is not None and _pinned_by_setting(ctx, body.body):
        return None
    return f"reads {', '.join(names[:3])}{', …' if len(names) > 3 else ''}"


def named_tenant_relations(ctx: AuditContext, text: str) -> list[str]:
    """Tenant tables and the views and functions handing out their rows that `text` names."""
    # words folded as PostgreSQL folds them, and no pairing of `"`: a `'"'` before the name
    # paired the wrong quotes
    return sorted(names_in_text(text, ctx.tenant_relation_names))


def _pinned_by_setting(ctx: AuditContext, statements: list[str]) -> bool:
    """Every statement proven, and pinned only by the tenant expressions of the configuration."""
    configured = len(ctx.policy.tenant_expressions)
    for statement in statements:
        verdict = analyze_statement(statement, ctx.policy)
        if any(f.severity is Severity.ERROR for f in verdict.findings):
            return False
        if any(
            p.kind != "expression" or not isinstance(p.key, int) or p.key >= configured
            for p in verdict.pin_values
        ):
            return False
    return True
