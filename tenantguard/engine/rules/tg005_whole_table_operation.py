"""TG005 whole-table-operation

## What it does
Finds `TRUNCATE` of a tenant table, `TRUNCATE … CASCADE` of any table, `COPY tenant_table
TO/FROM …`, and a DELETE or UPDATE of a table that tenant tables reference with an action
(`ON DELETE CASCADE`, `SET NULL`, `SET DEFAULT`, and the same `ON UPDATE` for a change of the
referenced columns): the action reaches every tenant's rows that reference the rows changed.
Not a key that carries the tenant column to the tenant column (`FOREIGN KEY (tenant_id,
task_id) REFERENCES tasks (tenant_id, id) ON DELETE CASCADE`) into a clean child: the rows it
reaches are the written row's tenant's — unless the child (or a partition or child table of
it) runs an unpinned write of its own (a trigger, also one whose dynamic SQL takes its table
from the trigger's arguments, a rule, a CHECK, a generated column an UPDATE recomputes), or a
key from any table references it with an action; SET NULL and SET DEFAULT always count. A key
referencing a partition or child table is reached from a write of the parent too.
The tenant registry (`tenant_root`) pinned to one tenant (`DELETE FROM tenants WHERE id = $1`)
reaches that tenant's rows only, and passes. An UPDATE or DELETE of the registry, and a lock of
its rows (`SELECT … FROM tenants FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE`, which makes
the other tenants' writes wait on their foreign keys' checks), not pinned by its key to one
tenant's row is reported, as is `LOCK tenants` in any mode but ACCESS SHARE and ROW SHARE,
and `VACUUM FULL` of it or of every table (an ACCESS EXCLUSIVE lock on each); pinned, its value is checked by the runtime guard against the
request's tenant, as a tenant column's. `COPY (query) TO …` is not reported here: its query is checked like any other.

So does a write of a relation whose triggers or rules (schema sources, also created inside a
`DO` block, as an idempotent patch does) run statements that
reach tenant rows they do not pin: a trigger's function (its PL/pgSQL statements; the text of
any other language or of dynamic SQL, by the tenant tables it names — literals joined by `||`
read as one text, `TG_ARGV[n]` as the trigger's argument, `TG_TABLE_NAME` / `TG_RELID` as its
relation) and a rule's actions are
read like a function's queries — a rule's actions as PostgreSQL bound them when the rule was
made: a relation or function renamed since under its new name, and actions bound to a column
renamed since (or a rule of a table one of whose columns was renamed) as text out of sight,
by the tenant tables they name. On a tenant table, for each row, `NEW.tenant_id` and
`OLD.tenant_id` pin: the rows a proven write changes are one tenant's (unless the function
assigns NEW's tenant column: `NEW.tenant_id := …`, INTO it, `FOREACH` over it, `GET DIAGNOSTICS`
into it, a `CALL`, which may pass it as an INOUT argument, or a RETURN of another row than NEW:
`RETURN r` of a record built from NEW, `RETURN jsonb_populate_record(NEW, …)`; nor in a
statement that aliases a table `new` or `old`, where under `#variable_conflict use_column`
the column is read). INSERT (also `COPY … FROM` and an upsert's update), UPDATE,
DELETE, TRUNCATE and MERGE fire them. So does a write that evaluates a column default reading
tenant rows it does not pin (a schema function handing out every tenant's rows): an INSERT, a
MERGE's INSERT or `COPY … FROM` that leaves the column out or writes DEFAULT (`DEFAULT
VALUES`; rows without a column list shorter than the table), an UPDATE setting it to DEFAULT (a
column without a default of its own takes its domain's; a default calls the function it was
made with, under the name an `ALTER FUNCTION … RENAME TO` gave it since; a stored generated
column is computed so at every INSERT) —
the row written, and its RETURNING, carry every tenant's data.
So does a write whose rows make the server call a function that reaches tenant rows unpinned
(or is pinned by its arguments, which the server chooses) where no statement names it: a CHECK
or EXCLUDE constraint of the table (also `NOT VALID`, inherited, copied by `LIKE`), an index's
expression or predicate, the partition key, the CHECK of a domain a column is of (or of the
domains it is over): INSERT, UPDATE, MERGE and `COPY … FROM` of the table, of its partitions and
of the tables it is a partition or child of (a column of an array of such a domain too; a
constraint added by `EXECUTE format('ALTER TABLE %I ADD …', 'name')` of constant arguments is
read as the statement it makes, and dynamic DDL that cannot be read is TG006 at the schema file).
Not a function pinned by its parameters that the CHECK or `WHEN` gives the written row's own
tenant column there, on a tenant table (`CHECK (quota_ok(tenant_id))`: the write is pinned, so
the rows it reads are its tenant's). A function renamed since is followed by its new
name (the server calls it by its oid). So does a trigger's `WHEN` condition calling such a
function, for the trigger's events, whatever function the trigger runs. A write of a view is
read as a write of the relations its query's outermost FROM names too (an automatically
updatable view writes the table under it: its triggers, rules, constraints, indexes and column
defaults run), through views of views.

## Why is this bad?
Both act on every tenant's rows at once: TRUNCATE erases every clinic's data, COPY TO exports it
and COPY FROM writes rows whose tenant nothing checks. `CASCADE` also truncates every table whose
foreign key references the tables named, and with them the tables that reference those: from a
global table (`TRUNCATE tenants CASCADE`) it reaches every tenant table.

## Example
```sql
TRUNCATE appointments;
COPY patients TO STDOUT;
```

## Use instead
```sql
DELETE FROM appointments WHERE tenant_id = $1;
COPY (SELECT * FROM patients WHERE tenant_id = 7) TO STDOUT;
```

## Options
`tenant_tables`, `tenant_root`; the foreign keys' actions come from the schema sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from tenantguard.engine.cascades import hidden_writes
from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import sql_name
from tenantguard.engine.proof import identifier_name

RULE = RuleInfo("TG005", "whole-table-operation", Severity.ERROR)
NEEDS = ()  # TRUNCATE and COPY are whole statements: check() reads the tree's root


def _tables(node: exp.Expression) -> list[exp.Table]:
    if isinstance(node, exp.TruncateTable):
        return [t for t in node.expressions if isinstance(t, exp.Table)]
    target = node.this
    if isinstance(target, exp.Schema):
        target = target.this
    return [target] if isinstance(target, exp.Table) else []


# what `LOCK t IN … MODE` names: its tables (quoted, or folded), and its mode's words
_LOCK_WORD = re.compile(r'"((?:[^"]|"")*)"|([^\W\d][\w$]*)')
# the modes no other tenant's ordinary statement waits on (ACCESS SHARE: only DDL; ROW SHARE:
# EXCLUSIVE and ACCESS EXCLUSIVE, which no request takes)
_HARMLESS_LOCK_MODES = ("access share", "row share")


def _root_lock(ctx: Context, node: exp.Command) -> Iterator[Finding]:
    """`LOCK tenants` (ACCESS EXCLUSIVE unless said otherwise; SHARE, EXCLUSIVE…) locks every
    tenant's row of the registry at once: each other tenant's insert into a tenant table waits
    on its foreign key's check of the registry (outside review h28b), as `SELECT … FROM tenants
    FOR UPDATE` makes it wait (reported below)."""
    text = str(node.expression.this if isinstance(node.expression, exp.Literal) else "")
    root = ctx.policy.tenant_root
    if root is None:
        return
    names = set()
    for quoted, bare in _LOCK_WORD.findall(re.split(r"(?i)\s+in\s+", text)[0]):
        names.add(quoted.replace('""', '"') if quoted else bare.lower())
    if root not in names and sql_name(root) not in names:
        return
    mode = " ".join(text.lower().split())
    if " in " in mode and any(f" in {m} mode" in mode for m in _HARMLESS_LOCK_MODES):
        return
    yield ctx.finding(
        RULE,
        None,
        f"LOCK of the tenant registry {root} locks every tenant's row of it: the other "
        "tenants' writes wait on their foreign keys' checks of the registry",
        "lock one tenant's row (`SELECT … FROM tenants WHERE id = $1 FOR UPDATE`), or run "
        "maintenance inside `with unscoped(reason):`",
    )


_VACUUM_WORDS = frozenset(
    {"full", "freeze", "verbose", "analyze", "analyse", "true", "false", "on", "off",
     "disable_page_skipping", "skip_locked", "index_cleanup", "auto", "process_toast",
     "process_main", "truncate", "parallel", "buffer_usage_limit", "only"}
)  # fmt: skip


def _vacuum_full(ctx: Context, node: exp.Command) -> Iterator[Finding]:
    """`VACUUM FULL` of every table (none named) or of the tenant registry rewrites it under
    an ACCESS EXCLUSIVE lock: every tenant's statements on it wait (outside review h28b). A
    plain VACUUM locks no reader or writer out; a tenant table named is TG006's."""
    text = str(node.expression.this if isinstance(node.expression, exp.Literal) else "")
    lowered = " ".join(text.lower().replace("(", " ( ").replace(")", " ) ").split())
    words = [quoted or bare.lower() for quoted, bare in _LOCK_WORD.findall(text)]
    if "full" not in words or re.search(r"\bfull\s+(?:false|off|0)\b", lowered):
        return
    names = [w for w in words if w not in _VACUUM_WORDS and not w.isdigit()]
    root = ctx.policy.tenant_root
    if names and (root is None or (root not in names and sql_name(root) not in names)):
        return
    what = f"the tenant registry {root}" if names else "every table, tenant tables among them,"
    yield ctx.finding(
        RULE,
        None,
        f"VACUUM FULL rewrites {what} under an ACCESS EXCLUSIVE lock: every tenant's "
        "statements on it wait until it is done",
        "run VACUUM FULL as maintenance (the patch pipeline, or `with unscoped(reason):`)",
    )


def check(ctx: Context) -> Iterator[Finding]:
    if ctx.tree is None or ctx.in_patch:
        return
    column = ctx.policy.tenant_column
    node = ctx.tree
    if ctx.policy.cascades:
        yield from _cascades(ctx)
    if ctx.policy.tenant_root is not None:
        yield from _root_writes(ctx)
        if isinstance(node, exp.Command) and str(node.this).upper() == "LOCK":
            yield from _root_lock(ctx, node)
    if isinstance(node, exp.Command) and str(node.this).upper() == "VACUUM":
        yield from _vacuum_full(ctx, node)
    if ctx.policy.hidden_writes or ctx.policy.leaky_defaults:
        yield from _hidden_writes(ctx)
    if not isinstance(node, exp.TruncateTable | exp.Copy):
        return
    if (
        isinstance(node, exp.TruncateTable)
        and str(node.args.get("option") or "").upper() == "CASCADE"
        and ctx.policy.tenant_tables
    ):
        named = ", ".join(identifier_name(t.this) for t in _tables(node))
        yield ctx.finding(
            RULE,
            None,
            f"TRUNCATE {named} CASCADE also empties every table whose foreign key references "
            "them, tenant tables among them: every tenant's rows",
            "DELETE the rows of one tenant (its foreign keys' ON DELETE do the rest), or run "
            "maintenance in the patch pipeline",
        )
        return
    for table in _tables(node):
        name = identifier_name(table.this)
        if not ctx.policy.is_tenant_relation(table):
            continue
        if isinstance(node, exp.TruncateTable):
            yield ctx.finding(
                RULE,
                table,
                f"TRUNCATE {name} erases every tenant's rows",
                f"DELETE FROM {sql_name(name)} WHERE {sql_name(column)} = $n",
            )
        else:
            yield ctx.finding(
                RULE,
                table,
                f"COPY {name} moves every tenant's rows",
                f"COPY (SELECT … FROM {sql_name(name)} WHERE {sql_name(column)} = $n) TO …; "
                "for writes use "
                f"INSERT with {column}",
            )


def _root_writes(ctx: Context) -> Iterator[Finding]:
    """An UPDATE or DELETE of the tenant registry not pinned to one tenant's row by its key:
    it changes every tenant's row (its reads stay allowed). One a foreign key's action carries
    further is said by `_cascades`."""
    assert ctx.tree is not None
    policy = ctx.policy
    writes = [write for write in ctx.registry_writes if write.pin is None]
    if not writes:
        return  # (most statements: the registry's name is not in the text)
    said = {(w.kind, id(w.table)) for w in ctx.cascading_writes if w.pin is None}
    for write in writes:
        if (write.kind, id(write.table)) in said:
            continue
        yield ctx.finding(
            RULE,
            write.table,
            (
                f"SELECT … FOR UPDATE/SHARE of the tenant registry {write.name} locks every "
                "tenant's row it does not pin by its key "
                f"({sql_name(policy.tenant_root_key)}): their own writes wait on it"
                if write.kind == "LOCK"
                else f"{write.kind} of the tenant registry {write.name} "
                f"{'deletes' if write.kind == 'DELETE' else 'changes'} every tenant's row it "
                f"does not pin by its key ({sql_name(policy.tenant_root_key)})"
            ),
            f"pin it to one tenant's row ({sql_name(write.name)}."
            f"{sql_name(policy.tenant_root_key)} = $n), or run maintenance that spans tenants "
            "in the patch pipeline (or suppress the line with its reason)",
        )


def _cascades(ctx: Context) -> Iterator[Finding]:
    """DELETE and UPDATE of a table tenant tables reference with an action, unless it is the
    registry's row of one tenant."""
    policy = ctx.policy
    for write in ctx.cascading_writes:
        if write.pin is not None:
            continue
        yield ctx.finding(
            RULE,
            write.table,
            f"{write.kind} of {write.name} reaches every tenant's rows that reference the rows "
            f"it {'deletes' if write.kind == 'DELETE' else 'changes'} (the ON {write.kind} "
            "action of tenant tables' foreign keys)",
            f"pin it to one tenant's row ({sql_name(policy.tenant_root or write.name)}."
            f"{sql_name(policy.tenant_root_key)} = $n), or run it in the patch pipeline",
        )


def _hidden_writes(ctx: Context) -> Iterator[Finding]:
    """Writes of a relation whose triggers or rules reach tenant rows unpinned."""
    assert ctx.tree is not None
    for write in hidden_writes(ctx.tree, ctx.sql, ctx.policy):
        yield ctx.finding(
            RULE,
            write.table,
            f"{write.kind} on {write.name} runs {write.what}: the statement reaches rows of "
            "every tenant it does not name",
            "pin the trigger's or rule's statements to the rows written (NEW.tenant_id, "
            "OLD.tenant_id) or to the tenant setting, in the schema",
        )
