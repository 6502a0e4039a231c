"""TG009 unresolved-dynamic-sql

## What it does
Finds SQL passed to a query method (`execute`, `fetch`, `fetchrow`, `fetchval`, `fetchmany`,
`executemany`, `prepare`, `cursor`, `copy_from_query`) that is built at run time and cannot be
resolved to a constant: f-strings with expressions, `%` or `.format()` building, concatenation
with non-constants, a name assigned in several places or under a branch, a function parameter.

## Why is this bad?
The proof needs the SQL text. A statement assembled at run time can lose its tenant filter on
some path the reviewer never sees, and a value interpolated into the text instead of bound as a
parameter is also an injection risk. An f-string whose interpolations only insert placeholder
names is still unresolvable: the tool cannot know what the names hold.

Not reported: an f-string field surely an `int` (an int literal, `int(…)`, `len(…)`, `+ - *` of
those; not an annotation, which Python does not enforce) where it stays one number token
whatever its value — `LIMIT {int(n)}`, `OFFSET {page * size}` —, outside quotes and not joined
to a name, a number or a minus (`-{n}` with n < 0 would start a `--` comment): the statement is
checked with a number there.

Resolved, each possible value checked (round 24): a value chosen from constants — an item of a
dict of constant strings (`ORDER[o]`, `ORDER.get(o) or "id"`, `ORDER.get(o, "id")`, a dict
display or `dict(k="…")` used in place), a conditional of constants; an `x or default` skips
the None, False, 0 or "" that `x` may hold (Python gives the default then); a parameter typed
`Literal["name", "created_at"]` (typing's, an alias of it, `| None`, `Optional`, `Annotated`)
holds one of the literal's strings or its default — the one place an annotation is trusted:
a caller passing anything else breaks the type the function states; and a base class's
`table = None` whose subclasses set the attribute: the subclasses' values (None formatted into
SQL is no table a query could run on).

Also said (round 25): a pandas or polars call given a connection whose table is only known at
run time (`df.to_sql(name, con)`, `pd.read_sql_table(name, con)`, `df.write_database(name,
uri)`), and a pandas function chosen at run time by a name that may be one of those sinks
(`getattr(pd, how)("t", con)`; not `getattr(pd, f"read_{fmt}")(path)`). A table named through
the module's names (`TABLE`, `names.TABLE`, `Cfg.table`, `f"{TABLE}"`) is read as the table.

## Example
```python
await conn.fetch(f"SELECT * FROM patients WHERE tenant_id = $1 AND {column} = $2", t, v)
```

## Use instead
```python
QUERIES = {"dni": "SELECT * FROM patients WHERE tenant_id = $1 AND dni = $2", ...}
await conn.fetch(QUERIES[column], t, v)   # or one constant query per column
```
The runtime guard (`tenantguard.runtime`) still checks what static analysis cannot see.

## Options
`unresolved_severity = "warning" | "error"` (default warning).
"""

from __future__ import annotations

from tenantguard.engine.findings import RuleInfo, Severity

RULE = RuleInfo("TG009", "unresolved-dynamic-sql", Severity.WARNING)
