"""TG013 side-effect-on-unfiltered-rows

## What it does
Finds a call with a side effect — `pg_notify`, `set_config`, `nextval`/`setval`, `dblink_exec`,
`dblink_connect`, the large-object functions (`lo_import`, `lo_export`, `lo_put`…), advisory
locks, `pg_sleep`, the pgsql-http extension's requests, the built-ins that change the server's
state (replication origins and slots, statistics resets, WAL switches, reloads: h37A,
`pg_replication_origin_create('probe')` per row fails at the second row, a count) —
that takes a column of a tenant table (or a whole row of one) — or, taking none, runs once per
row of one (`nextval('s')` counts the rows it runs on) — where PostgreSQL may evaluate it on rows
the tenant filter has not removed yet:

- in a WHERE or ON condition: the planner orders conditions as it likes, so the call may run
  before `tenant_id = $1` on every tenant's rows;
- in a derived table or CTE pinned only from outside (`WITH x AS MATERIALIZED (SELECT
  pg_notify(…, name) FROM patients) SELECT … FROM x WHERE tenant_id = $1`): a materialized CTE
  runs over every row before the outer filter, and so does any CTE whose body calls a volatile
  function (PostgreSQL never inlines one).

Also `set_config` of the tenant setting (its name in any case, or a name given by an
expression) in a statement that reads a view or function pinned inside by
`current_setting('app.tenant_id')` — or any relation that is not a tenant table, the registry
or a global table: PostgreSQL may run it first (a FROM item, a CTE, beside a scalar subquery),
and the view then reads the rows of the tenant the statement named. Set the tenant in a
statement of its own.

A view or function pinned inside by `current_setting('app.tenant_id')` (read as it is: it is
no tenant table) filters in its own WHERE, which PostgreSQL merges with the reader's: a call
in the reader's WHERE or ON may run first, on every tenant's rows. With schema sources, any
function of the schema or relation the schema shows as no table is read so; and so is, with
or without them, any view or function the runtime guard finds in the catalog filtering by the
setting (`Policy.setting_views`), whatever its name, and a derived table or CTE (not
MATERIALIZED) over one: PostgreSQL pushes its reader's condition into the view's scan (round
26).

An error is a side effect too: its message shows the value it failed on. A condition that
casts a tenant table's column to another type (`name::int = 5`: "invalid input syntax for type
integer: "Carla""), reads a setting, a time zone, a unit or a relation named by one
(`current_setting(name)`, `AT TIME ZONE name`, `date_trunc(name, …)`,
`has_table_privilege(name, …)`), parses it (`to_date`, `to_number`, `make_date`,
`convert_from`, `format(name, …)`) or runs a JSON path on it (`jsonb_path_exists`) — or
passes it to any other built-in, but those known to show no argument in their errors
(`lower`, `unaccent`, `to_tsvector('simple', …)`, `jsonb_typeof`…; a type's name called as a
function is a cast: `int4(name)`, `date(name)`, `regclass(name)`) — and that
PostgreSQL may evaluate before the tenant filter, shows other tenants' values to whoever sees
the error. So does a SQL function of the schema that PostgreSQL inlines (LANGUAGE sql, one
expression) whose body fails so (`SELECT t::int`). Other functions of the schema and those of
extensions are not read so (PL/pgSQL functions cost 100 units: PostgreSQL evaluates them after
a pin by a value) — but an extension's C function the runtime guard finds in the catalog
(`Policy.extension_functions`) is, at its cost there (1 by default, as a built-in): pgcrypto's
`digest('x', name)` fails with "Cannot use "carla": No such hash algorithm" (round 30; pg_trgm's
`similarity` and a few others fail on no value). Without schema sources, the runtime guard
reads the database's SQL and procedural functions in the catalog as the schema sources would
give them (`Policy.inlined_functions`: a SQL function's one statement, a function declared
cheaper than the default as one that may fail on anything). A scalar subquery that is correlated to nothing and may return several rows
(a set operation, a VALUES list, a set-returning function in its select list, no LIMIT 1 nor
aggregate row) fails when a row first reaches its condition: "more than one row returned by a
subquery used as an expression" tells that one did (round 29). Control arguments count too: an encoding (`length(bytes, name)`), regular
expression flags, a text search configuration or dictionary given by a column. PostgreSQL evaluates a scan's conditions cheapest first (each function, operator
and cast costs about one unit; a column, a parameter, a literal or a COLLATE nothing, `now()` and
`current_date` one (evaluated on each row, not folded); a function of the schema's own what its
body costs where PostgreSQL inlines it (a SQL function of one expression), nothing where it is
declared cheap (`COST 0.01`: PostgreSQL takes it at its word) or the schema does not show it, its
default of 100 else), and a pin by a
parameter or a literal after every condition of the same cost: `tenant_id = $1 AND
current_setting(name) IS NULL` reads every tenant's names, and so does `tenant_id =
current_setting('app.tenant_id')::bigint AND name::int = 5` (the pin costs four units, the
cast three; `x BETWEEN a AND b` is two conditions, `x >= a` and `x <= b`, `(a, b) = (c, d)`
two, `a = c` and `b = d`, and `NOT (a OR b)` two, `NOT a` and `NOT b`, each placed by its own
cost; an integer tenant column compared with a numeric value — `tenant_id = 7.0`, `= 7e0`,
`= '7'::numeric`, or `= $1` where another use PostgreSQL may transform first types `$1`
numeric: `$1 + 0.5` in the select list, `points <> $1` of a numeric column, `$1::numeric`,
an argument of a function (`round($1, 2)`), a VALUES column, a CASE result or a row's item
beside a decimal (`$01` is `$1`; a window's PARTITION BY comes after the WHERE: h37B) —
is converted on every row, one unit more (h37A)). Such a condition is reported when its cost is at most its source's pin's; a
pin that is not a condition of the source's own scan (a composite foreign key, `IN (SELECT …)`,
a derived table pinned inside) counts as evaluated after every condition. A failing call in
the select list of a derived table PostgreSQL merges into its reader counts in the reader's
conditions that test its output (`(SELECT current_setting(name) AS s …) d WHERE d.s IS NULL`),
and so does one in a VALUES list of one row in FROM, pulled up alike (`LATERAL (VALUES (10 /
t.n)) x(r) … x.r IS NOT NULL`, h37B). A failing call in any FROM item (a function, `unnest`,
`ROWS FROM`, VALUES) over a source whose pin is no condition of its own scan runs for each of
its rows before the join that pins them (h37B). An aggregate's
argument that fails, under a HAVING pin PostgreSQL keeps in HAVING (one with a subquery, an
EXISTS conjunct among them: `HAVING EXISTS (SELECT 1 FROM tenants r WHERE r.id = $1 AND r.id =
tenant_id)`, h37A), ran
over every tenant's rows too. A division (`/`, `%`, `div`) by something a row computes fails
with "division by zero" exactly when the row makes it zero: `1/(CASE WHEN body LIKE $2 THEN 0
ELSE 1 END)` reads another tenant's text a prefix at a time (round 22). A joined table's scan
gets the pin's value only through an equivalence class — plain `=` all along, the root on the
bare column — so a chain from `tenant_id BETWEEN $1 AND $1`, `(tenant_id = $1) IS TRUE`,
`tenant_id::text = $1` or through IS NOT DISTINCT FROM, and a pin by a correlated subquery (a
SubPlan, evaluated last), count as evaluated after every condition. A function's domain counts (`sqrt`, `ln`,
`acos`, `cos` of an infinite value, `abs` of the least integer — of a value a row computes; `lpad(x, n)`, `repeat(x, n)` of a length it computes, and `repeat` of a row's text under a count the caller chooses (`repeat(name, $2)`: "requested length too large" past 1 GB tells the text's length); a
regular expression, a LIKE pattern or a JSON key it gives), and so does any call sqlglot reads as a typed node
that is not known to fail on no value (`make_timestamp`, `make_interval`, `date_bin`…; round 23).
A cast that may fail on some value of its operand's type fails so though it quotes nothing
(round 24): a narrowing (`n::int` of a bigint: "integer out of range", `x::numeric(3,0)`), a cast
of text or of a JSON value (`(j -> 'a')::int`: "cannot cast jsonb string to type integer"), a
date to a timestamp; a widening the schema's column types (or the operand's form) show
(`i::bigint`, `n::numeric`, `created_at::date`) fails on no value, nor does a cast to text
(`::varchar(2)` truncates). The type of a COALESCE, GREATEST, LEAST or CASE is its
branches' common type (`COALESCE(i, n)::int` of an int4 and an int8 narrows an int8), unknown
if any branch's is; NULLIF's is its first argument's. Arithmetic on a row's values overflows by
their size ("integer out of range", "date out of range", "interval out of range"): `i * i`,
`d + n`, `ts + n * interval '1 day'`, `n + 9223372036854775000`, a value a row computes plus
one — but not a column plus or minus a constant small for its type (`id + 1`, `ts - interval
'7 days'`, `coalesce(n, 0) + 1`: only a value at its type's very edge fails), numeric arithmetic of moderate
literals, or a sum of lengths. Small is told by the column's type (round 24b): an integer under
2**15 of a number or a date (a smallint plus an integer literal is int4 arithmetic), or
added to a column the schema does not type; an interval under 1000 years in all, its units counted (`'292 millennia 252 years'`,
`'P292252Y'`, `'100000000:00:00'` are not small; a form not read, `'150000-0'`, is not), of a
timestamp or an interval or an untyped column. Not small: `j - 1` of a jsonb (it deletes an
element: "cannot delete from object using integer index"), `d + interval '1 day'` of a date (a
timestamp: "date out of range for timestamp" past 294276 AD), `x * 1e131071` of a numeric
("value overflows numeric format"), nor a parameter or a constant the statement computes
(`x + $2::numeric`, `x + (repeat('9', 131072)::numeric - T)`: the caller puts numeric's edge at
T). A date is converted to a timestamp, failing so, by
`date_trunc`, `AT TIME ZONE`, `to_char`, `age` and a choice beside a timestamp
(`COALESCE(d, ts)`); a comparison with a timestamp converts none. `cot` of an infinite value
fails; so do `array_append`, `array_prepend`, `array_position(s)`, `array_remove` of a
multidimensional array (an `ARRAY[…]` of scalars has one dimension), `jsonb_array_length` of
what is no array, `#-` of a scalar, `justify_days`/`_hours`/`_interval` of a large interval.
to_char's format given by a row fails on a number or an interval ("multiple decimal points"),
on a timestamp never. A JSON path the
`jsonb_path_*` functions run fails on a row's value where it is `strict` (a missing key), does
arithmetic (`'$.a / ($.a - 2)'`: "division by zero") or converts (`.double()`, `.keyvalue()`,
`.datetime()`) outside a filter, and, for `jsonb_path_match`, where it is no predicate ("single
boolean result is expected"); a filter's errors (`? (@ / 0 > 1)`), the operators `@?` and `@@`
and `silent => true` fail on none (helper 119) — but a variable the path names that its `vars`
(a literal JSON object) does not hold fails in a filter and under `silent => true` alike ("could
not find jsonpath variable": `? (@.salary > 5000 && $x == 1)` reads `$x` only past the test).
Not seen: a subscript out of range; `arr || 1` of a multidimensional array (`||` is read as
text's); `date_part('epoch', d)` of a date (read as EXTRACT, which converts nothing); a date
column plus or minus an interval where the schema does not show its type (taken for a
timestamp); a cast of a column whose type the schema does not show is
read as one that may fail (a false alarm beside a pin by the tenant expression:
`created_at::date = current_date` without schema sources).

It is fine in the select list, ORDER BY, RETURNING or SET of a block that pins the source
itself (its rows are filtered before those are computed), on the rows of a MATERIALIZED
CTE that is pinned inside (whether or not it shows the tenant column), and in a SELECT CTE that
nothing in the statement names (PostgreSQL neither plans nor runs it). A condition on a derived
table or CTE that PostgreSQL inlines (one plain SELECT, row by row) is pushed into the scan of
its body's table and ordered by cost with the pin there: `WITH m AS (SELECT id, n FROM t WHERE
tenant_id = $1) … WHERE n::int IS NULL` may fail on another tenant's row (a tie goes to the
condition), `… WHERE n::int > 5` costs more than the pin and runs after it. A body that is a
set operation other than UNION ALL stays a subquery: a condition holding a SubPlan or a
semi-join (`IN (SELECT …)`, `= ANY (SELECT …)`, a correlated EXISTS or scalar subquery) is not
pushed into its branches, and tests their output rows, pinned — but a condition that is
itself an EXISTS, IN or `op ANY` of a subquery is pulled up into a semi-join, whose conditions
reading the reader's row and none of the subquery's own tables are pushed into the branches
(`EXISTS (SELECT 1 FROM orgs o WHERE d.s IS NULL)`, `(d.s IS NULL) IN (SELECT true)`).

A constraint check is a read of every tenant's rows too (round 30): a unique key or an
exclusion constraint of a tenant table that does not hold the tenant column (`email text
UNIQUE`, a unique index on `lower(handle)`, `EXCLUDE USING gist (room WITH =, during WITH
&&)`) is checked over the whole table, so an INSERT, UPDATE, MERGE or `ON CONFLICT … DO UPDATE`
that gives one of its columns a value fails ("duplicate key value violates unique
constraint") — or an `ON CONFLICT DO NOTHING` skips its row — exactly when another tenant
holds the value. The runtime guard reads those keys in the catalog (`Policy.spanning_keys`),
the static check in the schema sources (a unique constraint or index, deferrable, partial or
on expressions too — the columns its expressions and predicate read —, an exclusion
constraint, those copied by `LIKE … INCLUDING INDEXES`, and the columns a generated column
among them is computed from; a DROP of the key's name, column or table drops it, a DROP of
a name the reader does not know drops none); the
primary key is not one (the rows' identity: applications give ids explicitly), nor is a key
that holds the tenant column — unless the tenant column compares loosely (citext, a
nondeterministic collation: 'acme' = 'ACME'), where a key holding it, the primary key too, is
checked across the tenants it merges (h35A). A key that spans tenants on purpose (a Facebook page routed to
one clinic) is still reported at each write: suppress it there, with the reason.
A foreign key's check is one too (helper h31a): a key referencing a tenant table by columns
without the tenant column (`email text REFERENCES members (email)`) is checked against the
referenced rows of every tenant, so a write giving one of its columns a value succeeds exactly
when another tenant holds the value ("violates foreign key constraint" when none does) — and
the row written points at another tenant's; and a DELETE of the referenced table (an UPDATE of
the referenced columns) fails ("is still referenced from table") exactly when another tenant's
row references one of its rows (through an updatable view of either table too). Not a key that
carries the row's own tenant column to the referenced one, nor one referencing the primary key
(as above), the registry or a global table.
A view's own condition that may fail is one too (helper h33a): a read of a view of the schema
sources pinned from outside has its pin pushed into the view's scan, where PostgreSQL runs the
cheapest conditions first (the view's own on a tie), so `SELECT * FROM v_ratio WHERE
workspace_id::text = $1` fails on another tenant's row when the view filters `100 / (points -
8) <> 0`. Reported where the pin costs more than the dearest the schema reader found to run
first (`Policy.failing_views`), or casts or calls a function on the column (not leakproof: a
security barrier view runs its own conditions before it whatever it costs). A function of
the schema without parameters read in FROM is judged alike: one SELECT of a STABLE or IMMUTABLE
SQL function is inlined as a view is, any other body runs whole before every pin. So is a
reader's condition on a view's column that an expression which may fail computes
(`Policy.failing_columns`: `WHERE r <> 0` of a view showing `100 / (points - 8) AS r`) beside
a pin dearer than the plain one (also through a derived table, CTE or view showing the
column): pushed into the view's scan, it runs first.

## Why is this bad?
The query's result is pinned, but the side effect is not: `pg_notify` sends another tenant's
names to a channel, `set_config` leaves them in a setting, `nextval` and `pg_sleep` leak how many
rows other tenants have.

## Example
```sql
SELECT * FROM patients WHERE pg_notify('changes', name) IS NULL AND tenant_id = $1;
SELECT * FROM patients WHERE tenant_id = $1 AND current_setting(name) IS NULL;
```

## Use instead
```sql
WITH mine AS MATERIALIZED (SELECT * FROM patients WHERE tenant_id = $1)
SELECT pg_notify('changes', name) FROM mine;
```

## Options
`tenant_tables`.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeGuard

from sqlglot import exp

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.pgfunctions import (
    AGGREGATE_FUNCTIONS,
    BUILTIN_FUNCTIONS,
    SET_RETURNING_FUNCTIONS,
)
from tenantguard.engine.policy import CHEAP_FUNCTION, ForeignKey, Policy, sql_name
from tenantguard.engine.proof import (
    Analysis,
    Block,
    Source,
    SourceKind,
    Span,
    build_proof,
    function_name,
)
from tenantguard.engine.proof.blocks import (
    FAILING_TYPED_CALLS,
    QUOTING_TYPES,
    sets_tenant_setting,
)
from tenantguard.engine.proof.names import output_names
from tenantguard.engine.proof.syntax import (
    calls_volatile,
    conjuncts,
    disjuncts,
    identifier_name,
    is_row,
    is_table_name,
    is_within,
)
from tenantguard.engine.proof.values import lossy_parameters, pin_value
from tenantguard.engine.referencing_keys import referenced_writes, referencing_writes
from tenantguard.engine.spanning_keys import spanning_writes

RULE = RuleInfo("TG013", "side-effect-on-unfiltered-rows", Severity.ERROR)

SIDE_EFFECTS = frozenset(
    {
        "pg_notify", "set_config", "nextval", "setval", "dblink", "dblink_exec",
        "dblink_send_query", "lo_import", "lo_export", "lo_create", "lo_creat", "lo_unlink",
        "lo_put", "lo_from_bytea", "lowrite", "lo_truncate", "lo_open", "pg_advisory_lock",
        "pg_advisory_lock_shared", "pg_advisory_xact_lock", "pg_advisory_xact_lock_shared",
        "pg_try_advisory_lock", "pg_try_advisory_lock_shared", "pg_try_advisory_xact_lock",
        "pg_try_advisory_xact_lock_shared", "pg_advisory_unlock", "pg_advisory_unlock_shared",
        "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_terminate_backend",
        "pg_cancel_backend", "pg_logical_emit_message", "pg_file_write", "dblink_connect",
        "dblink_connect_u", "dblink_open",
        # the pgsql-http extension: a request per row sends the row out
        "http", "http_get", "http_post", "http_put", "http_patch", "http_delete", "http_head",
        # built-ins that change the server's state (h37A): a replication origin or slot named
        # by a row's value, a statistics reset of a row's oid, a WAL switch or a reload per
        # row, a large object's descriptor moved, adminpack's file writes
        "pg_replication_origin_create", "pg_replication_origin_drop",
        "pg_replication_origin_advance", "pg_replication_origin_session_setup",
        "pg_replication_origin_session_reset", "pg_replication_origin_xact_setup",
        "pg_replication_origin_xact_reset", "pg_create_logical_replication_slot",
        "pg_create_physical_replication_slot", "pg_drop_replication_slot",
        "pg_copy_logical_replication_slot", "pg_copy_physical_replication_slot",
        "pg_replication_slot_advance", "pg_logical_slot_get_changes",
        "pg_logical_slot_get_binary_changes", "pg_create_restore_point", "pg_switch_wal",
        "pg_reload_conf", "pg_rotate_logfile", "pg_rotate_logfile_old", "pg_promote",
        "pg_backup_start", "pg_backup_stop", "pg_wal_replay_pause", "pg_wal_replay_resume",
        "pg_stat_reset", "pg_stat_reset_shared", "pg_stat_reset_single_table_counters",
        "pg_stat_reset_single_function_counters", "pg_stat_reset_slru",
        "pg_stat_reset_replication_slot", "pg_stat_reset_subscription_stats",
        "pg_stat_force_next_flush", "pg_import_system_collations", "brin_summarize_range",
        "brin_summarize_new_values", "brin_desummarize_range", "gin_clean_pending_list",
        "pg_advisory_unlock_all", "pg_log_backend_memory_contexts", "pg_export_snapshot",
        "pg_nextoid", "lo_close", "lo_lseek", "lo_lseek64", "lo_truncate64", "loread",
        "pg_file_unlink", "pg_file_rename", "pg_file_sync",
    }
)  # fmt: skip
# clauses evaluated on the rows that passed the block's filters
_AFTER_FILTERS = frozenset(
    {"expressions", "order", "group", "having", "distinct", "returning", "windows", "qualify"}
)


def check(ctx: Context) -> Iterator[Finding]:
    if "set_config" in ctx.lowered and ctx.tree is not None and not ctx.in_patch:
        yield from _setting_changed_before_read(ctx, ctx.tree)
    if ctx.in_patch or ctx.tree is None:
        return
    reported: set[tuple[int, int]] = set()  # the writes a key's check is reported at
    if ctx.policy.spanning_keys and ("insert" in ctx.lowered or "update" in ctx.lowered):
        for finding in _spanning_writes(ctx, ctx.tree):  # (a MERGE's actions spelled so too)
            reported.add((finding.line, finding.column))
            yield finding
    if ctx.policy.checked_foreign_keys and (
        "insert" in ctx.lowered or "update" in ctx.lowered or "delete" in ctx.lowered
    ):
        # a foreign key references a unique key: without the tenant column, a spanning one
        # too, whose finding at the same write says enough (one finding per write)
        for finding in _referencing_writes(ctx, ctx.tree):
            if (finding.line, finding.column) not in reported:
                yield finding
    analysis = ctx.builder
    if analysis is None:
        # no tenant table named: a view or function pinned inside by the tenant setting may
        # still be read (cheap screen first: the call's name in the text, or the name of one
        # known to be so pinned — whose conditions may fail before its filter too)
        if not (
            (ctx.policy.table_columns and any(n in ctx.lowered for n in SIDE_EFFECTS))
            or any(n in ctx.lowered for n in ctx.policy.setting_views)
        ):
            return
        analysis = build_proof(ctx.tree, ctx.policy)[1]
    revealed = _revealed(ctx, analysis)
    yield from _errors_before_the_pin(ctx, analysis, revealed)
    if ctx.policy.failing_views or ctx.policy.failing_columns:
        yield from _failing_views_before_the_pin(ctx, analysis)
    yield from _random_before_the_pin(ctx, analysis)
    yield from _failing_alike_before_the_pin(ctx, analysis, revealed)
    calls = analysis.model.calls
    found = [node for name in SIDE_EFFECTS.intersection(calls) for node in calls[name]]
    unread = analysis.model.unread_ctes() if found else set()
    for node in sorted(found, key=_position):
        if unread and analysis.model.inside(node, unread):
            continue  # in a CTE nothing names: PostgreSQL never runs it
        block, position, visible = _placement(analysis, node)
        if block is None:
            continue
        sources = _tenant_sources(analysis, block, node, visible)
        # a call that reads no tenant row still runs once per row: `nextval('s')` counts them
        # (not a FROM item of its own: `FROM t, nextval('s')` runs it once)
        per_row = not sources
        if per_row and position == "from":
            continue
        if per_row:
            sources = [s for s in block.every_source if _carries_tenant_rows(s)]
            if visible is not None:
                sources = [s for s in sources if s in visible]
        for source in sources:
            if _pinned_by_setting(ctx.policy, source):
                if position == "after":
                    continue  # its own filter ran with the block's, before the select list
            elif _filtered_before(analysis, source, block, position):
                continue
            if per_row:
                message = (
                    f"{function_name(node)}() runs once per row of {source.describe()} where "
                    "PostgreSQL may run it before the tenant filter: how many rows other "
                    "tenants have leaks"
                )
            else:
                message = (
                    f"{function_name(node)}() takes a column of {source.describe()} where "
                    "PostgreSQL may run it before the tenant filter, on other tenants' rows"
                )
            yield ctx.finding(
                RULE,
                node,
                message,
                f"pin {source.name or source.describe()} first (a MATERIALIZED CTE filtered by "
                "tenant) and call it in the select list of a block that reads those rows",
            )
            break


def _spanning_writes(ctx: Context, tree: exp.Expression) -> Iterator[Finding]:
    """A write giving a value to a column of a key the server checks across every tenant
    (`engine.spanning_keys`): its error, or an ON CONFLICT that skips, tells whether another
    tenant holds the value (round 30)."""
    for write in spanning_writes(tree, ctx.policy):
        key = ", ".join(sorted(write.key))
        yield ctx.finding(
            RULE,
            write.node,
            f"the value written to {write.table}.{write.column} is checked against every "
            f"tenant's rows: ({key}) is a unique key or an exclusion constraint without the "
            'tenant column, whose error ("duplicate key value", "conflicting key value"), '
            "or an ON CONFLICT that skips, tells whether another tenant holds the value",
            f"make the key hold {ctx.policy.tenant_column} (UNIQUE ({ctx.policy.tenant_column}, "
            f"…), EXCLUDE (… {ctx.policy.tenant_column} WITH =)), or write it in maintenance "
            "code (`with unscoped(reason):`)",
        )


def _referencing_writes(ctx: Context, tree: exp.Expression) -> Iterator[Finding]:
    """A write giving a value to a column of a foreign key the server checks against another
    tenant table's rows of every tenant (`engine.referencing_keys`): its error tells whether
    another tenant holds the value (helper h31a)."""
    tenant = ctx.policy.tenant_column
    for write in referencing_writes(tree, ctx.policy):
        key = write.key
        yield ctx.finding(
            RULE,
            write.node,
            f"the value written to {write.table}.{write.column} is checked against every "
            f"tenant's rows: {_foreign_key(write.table, key, tenant)}, whose error (\"violates foreign key "
            'constraint") or success tells whether another tenant holds the value',
            f"{_own_tenant_key(key, tenant)}, or write it in maintenance code "
            "(`with unscoped(reason):`)",
        )
    for written in referenced_writes(tree, ctx.policy):
        key = written.key
        yield ctx.finding(
            RULE,
            written.node,
            f"rows of another tenant may reference the rows this writes: "
            f'{_foreign_key(written.table, key, tenant)}, whose error ("is still referenced '
            "from table\") tells that another tenant's row references one (its ON "
            "DELETE / ON UPDATE action changes that row)",
            _own_tenant_key(key, tenant),
        )


def _foreign_key(table: str, key: ForeignKey, tenant: str) -> str:
    columns, referenced = ", ".join(key.columns), ", ".join(key.ref_columns)
    how = f"not from the row's own {tenant}" if tenant in key.ref_columns else f"without {tenant}"
    return f"the foreign key {table} ({columns}) references {key.ref_table} ({referenced}) {how}"


def _own_tenant_key(key: ForeignKey, tenant: str) -> str:
    columns = [c for c, r in zip(key.columns, key.ref_columns, strict=False) if r != tenant]
    referenced = [r for r in key.ref_columns if r != tenant]
    return (
        f"make the key carry the row's own {tenant} (FOREIGN KEY ({tenant}, "
        f"{', '.join(columns)}) REFERENCES {key.ref_table} ({tenant}, {', '.join(referenced)}))"
    )


# text-like types: a cast to one never fails on a value (a cast from one to any other type
# runs that type's input function, whose error quotes the text)
_TEXT_TYPES = frozenset(
    {
        exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR,
        exp.DataType.Type.NAME, exp.DataType.Type.NCHAR, exp.DataType.Type.NVARCHAR,
        exp.DataType.Type.BPCHAR,
    }
)  # fmt: skip
# built-in types that are not text-like: a value cast to one shows no text when cast again
_NONTEXT_TYPES = frozenset(
    getattr(exp.DataType.Type, name)
    for name in """TINYINT SMALLINT INT BIGINT UTINYINT USMALLINT UINT UBIGINT DECIMAL FLOAT
    DOUBLE MONEY SMALLMONEY BOOLEAN DATE DATETIME DATETIME64 TIMESTAMP TIMESTAMPTZ
    TIMESTAMPLTZ TIMESTAMP_S TIMESTAMP_MS TIMESTAMP_NS TIME TIMETZ INTERVAL UUID JSON JSONB
    SERIAL BIGSERIAL SMALLSERIAL INT4RANGE INT8RANGE NUMRANGE DATERANGE TSRANGE TSTZRANGE
    INET""".split()  # noqa: SIM905
    if hasattr(exp.DataType.Type, name)
)
_UNBOUNDED = float("inf")
_NO_BODIES: Mapping[str, str] = {}
_NO_COSTS: Mapping[str, float] = {}
# C functions of common extensions that fail on no value of their arguments (pg_trgm's
# similarities, fuzzystrmatch's soundex, uuid-ossp's name-based uuids)
_EXTENSIONS_NEVER_FAILING = frozenset(
    {
        "similarity", "word_similarity", "strict_word_similarity", "show_trgm", "soundex",
        "difference", "uuid_generate_v3", "uuid_generate_v5",
    }
)  # fmt: skip
_POSITIONAL = lazy_pattern(r"\$(\d+)")
# nodes PostgreSQL evaluates at no cost of their own (cost_qual_eval): their children count
_FREE = (
    exp.Column, exp.Literal, exp.Placeholder, exp.Parameter, exp.Null, exp.Boolean,
    exp.Identifier, exp.Star, exp.Paren, exp.Not, exp.And, exp.Or, exp.Is, exp.Alias,
    exp.DataType, exp.Var, exp.Tuple, exp.Case, exp.If, exp.Coalesce, exp.Array, exp.Dot,
    exp.Collate,  # a collation is a label of the value: nothing to run (helper 124)
)  # fmt: skip


# built-ins whose error quotes an argument (a date's text and its format, a time zone's or a
# unit's name, a privilege's relation, a JSON path's item, a setting's name): (the positions of
# the arguments that do, None: every one)
_QUOTING_CALLS: dict[str, tuple[int, ...] | None] = {
    "current_setting": (0,),
    "timezone": (0,),
    "make_date": None,
    "make_time": None,
    "make_timestamp": None,
    "make_timestamptz": None,
    "make_interval": None,
    "convert_from": None,
    "convert": None,
    "jsonb_path_exists": None,
    "jsonb_path_match": None,
    "jsonb_path_query": None,
    "jsonb_path_query_array": None,
    "jsonb_path_query_first": None,
    "to_regtype": None,
    "has_table_privilege": None,
    "has_column_privilege": None,
    "has_schema_privilege": None,
    "has_function_privilege": None,
    "has_database_privilege": None,
    "has_sequence_privilege": None,
    "has_any_column_privilege": None,
    "has_type_privilege": None,
    "has_tablespace_privilege": None,
    "has_foreign_data_wrapper_privilege": None,
    "has_server_privilege": None,
    "has_language_privilege": None,
    "pg_has_role": None,
    # a relation named by text (cast to regclass: "relation "…" does not exist")
    "pg_get_viewdef": (0,),
    "pg_relation_size": (0,),
    "pg_table_size": (0,),
    "pg_total_relation_size": (0,),
    "pg_indexes_size": (0,),
    "pg_relation_filepath": (0,),
    "pg_get_serial_sequence": None,
    "currval": (0,),
}
# calls sqlglot does not know (read by name) whose errors never show the value of an argument
# — a document, a text to compare, an array or a JSON value — but at the positions listed (a
# text search configuration, regular expression flags, a weight): every other such call may
# (a type's name called as a function is a cast: `int4(name)`, `regclass(name)`; an extension
# or a built-in of some other kind: "invalid size: "…"", "unrecognized encoding: "…"")
_NON_QUOTING_CALLS: dict[str, tuple[int, ...]] = {
    **dict.fromkeys(
        """unaccent similarity word_similarity strict_word_similarity show_trgm cardinality
        array_ndims array_dims array_lower array_upper array_replace jsonb_typeof json_typeof
        jsonb_extract_path jsonb_extract_path_text json_extract_path json_extract_path_text
        to_jsonb to_json row_to_json array_to_json jsonb_build_array json_build_array jsonb_strip_nulls json_strip_nulls jsonb_pretty
        jsonb_exists jsonb_exists_any jsonb_exists_all jsonb_contains jsonb_contained
        num_nulls num_nonnulls octet_length bit_length pg_column_size quote_literal
        quote_nullable quote_ident isfinite age ts_rank ts_rank_cd numnode strip length char_length character_length text varchar
        bpchar name int8larger int8smaller int4larger int4smaller textlen texteq textne
        starts_with strpos btrim ltrim rtrim lpad rpad reverse initcap sha224 sha256 sha384
        sha512 md5 hashtext gen_random_uuid uuid_generate_v4 now clock_timestamp
        statement_timestamp transaction_timestamp timeofday random pg_backend_pid
        array_length array_to_string lower upper concat
        concat_ws coalesce nullif greatest least abs ceil ceiling floor round trunc sign
        isempty lower_inf upper_inf lower_inc upper_inc range_merge xml_is_well_formed
        xml_is_well_formed_document xml_is_well_formed_content""".split(),  # noqa: SIM905
        (),
    ),
    # a text search configuration named first (when there are two arguments)
    "to_tsvector": (0,),
    "plainto_tsquery": (0,),
    "phraseto_tsquery": (0,),
    "websearch_to_tsquery": (0,),
    # regular expression flags ("invalid regular expression option: "…"")
    **dict.fromkeys(
        """regexp_match regexp_matches regexp_split_to_array regexp_split_to_table regexp_count
        regexp_instr regexp_like regexp_substr""".split(),  # noqa: SIM905
        (1, 2, 3, 4, 5),  # the pattern too: "invalid regular expression: …"
    ),
    "setweight": (1,),  # "unrecognized weight: "…""
    # the keys: "argument 1: key must not be null" (helper 109)
    "jsonb_build_object": tuple(range(0, 100, 2)),
    "json_build_object": tuple(range(0, 100, 2)),
    "unaccent": (0,),  # a dictionary named first (when there are two arguments)
    # the array: "searching for elements in multidimensional arrays is not supported" (round
    # 24b; array_append, array_prepend, array_position, array_remove, array_cat are typed)
    "array_positions": (0,),
}
_CONFIG_FIRST = frozenset(
    {"to_tsvector", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery", "unaccent"}
)
# PostGIS declares its functions' cost at 10 000 units or more: PostgreSQL evaluates them after
# any pin by a value
_EXPENSIVE_PREFIXES = ("st_", "postgis_", "_st_")
# calls sqlglot knows whose error shows an argument: type names called as functions
# (`date(name)`, `timestamp(name)`: casts), `decode(data, format)` ("invalid hexadecimal digit:
# "…"", "unrecognized encoding: "…""), `to_timestamp(seconds)` ("timestamp out of range: "…""),
# `chr(n)` ("requested character too large for encoding: …")
_TYPED_QUOTING = (
    exp.Date,
    exp.Timestamp,
    exp.Time,
    exp.Interval,
    exp.Decode,
    exp.UnixToTime,
    exp.Chr,
)
# calls sqlglot knows whose arguments but the data ones (`this`, `expression`, `replacement`)
# name an encoding or give regular expression flags, quoted by their errors
_TYPED_CONTROL = (
    exp.Length, exp.RegexpLike, exp.RegexpILike, exp.RegexpReplace, exp.RegexpCount,
    exp.RegexpSubstr, exp.RegexpInstr, exp.RegexpExtract, exp.RegexpExtractAll, exp.RegexpSplit,
)  # fmt: skip
# (a regular expression's pattern is no data: "invalid regular expression: …", helper 109)
_TYPED_DATA = frozenset({"this", "replacement"})
# type names PostgreSQL reads as a cast when called as a function of one argument: a value of a
# type that is not text cast so shows no text (`date(created_at)`)
_TYPE_CALLS = frozenset(
    """int2 int4 int8 smallint integer bigint float4 float8 numeric decimal bool boolean json
    jsonb xml inet cidr macaddr macaddr8 money regclass regtype regproc regprocedure regoper
    regoperator regnamespace regrole regconfig regdictionary regcollation oid tsvector tsquery
    timestamptz timetz bit varbit point line lseg box path polygon circle""".split()  # noqa: SIM905
)


# the units PostgreSQL knows (sqlglot reads `date_trunc(unit, …)`'s unit as a word, a column
# of that place included): another word is a column's value
_UNITS = frozenset(
    """microsecond microseconds millisecond milliseconds second seconds minute minutes hour hours
    day days week weeks month months quarter year years decade decades century centuries
    millennium millennia millenniums dow doy epoch isodow isoyear julian timezone
    timezone_hour timezone_minute""".split()  # noqa: SIM905 - a word list reads better as text
)


# what keeps a sub-expression from being folded to a constant when the statement is planned
_VARYING = (exp.Column, exp.Parameter, exp.Placeholder, exp.Subquery, exp.Select, exp.Star)


class _Branch(enum.Enum):
    """Which reading of `_revealing_parts` a node gets: told by its type alone."""

    NONE = 0
    CAST = 1
    DIVISION = 2
    ARITHMETIC = 3
    REPEAT = 4
    DOMAIN = 5
    ARRAY = 6
    FORMATTED = 7
    ZONE = 8
    UNIT = 9
    PATH = 10
    FORMAT = 11
    ENCODING = 12
    CONTROL = 13
    QUOTING = 14
    FAILING = 15
    CALL = 16


def _branch(kind: type[exp.Expression]) -> _Branch:
    """The first reading whose types `kind` is one of, in `_revealing_parts`' order."""
    readings: tuple[tuple[_Branch, tuple[type[exp.Expression], ...]], ...] = (
        (_Branch.CAST, (exp.Cast,)),
        (_Branch.DIVISION, (exp.Div, exp.Mod, exp.IntDiv)),
        (_Branch.ARITHMETIC, (exp.Add, exp.Sub, exp.Mul, exp.Neg)),
        (_Branch.REPEAT, (exp.Repeat,)),
    )
    for branch, kinds in readings:
        if issubclass(kind, kinds):
            return branch
    if kind in _DOMAIN_ERRORS:  # exact types
        return _Branch.DOMAIN
    readings = (
        (_Branch.ARRAY, (exp.Array,)),
        (_Branch.FORMATTED, (exp.StrToDate, exp.StrToTime, exp.ToNumber)),
        (_Branch.ZONE, (exp.AtTimeZone,)),
        (_Branch.UNIT, (exp.TimestampTrunc, exp.DateTrunc, exp.Extract)),
        (_Branch.PATH, (exp.JSONBDeleteAtPath,)),
        (_Branch.FORMAT, (exp.Format,)),
        (_Branch.ENCODING, (exp.Encode,)),
        (_Branch.CONTROL, _TYPED_CONTROL),
        (_Branch.QUOTING, _TYPED_QUOTING),
    )
    for branch, kinds in readings:
        if issubclass(kind, kinds):
            return branch
    if kind in FAILING_TYPED_CALLS:  # exact types
        return _Branch.FAILING
    if issubclass(kind, exp.Anonymous):
        return _Branch.CALL
    return _Branch.NONE


# `_branch` of each node type met (a node's type decides its reading: a chain of isinstance
# tests per node cost more than the rest of the rule on most statements)
_BRANCHES: dict[type[exp.Expression], _Branch] = {}


def _revealing_parts(
    node: exp.Expression,
    column: str,
    functions: frozenset[str] = frozenset(),
    inlined: Mapping[str, str] = _NO_BODIES,
    extensions: Mapping[str, float] = _NO_COSTS,
    column_casts: frozenset[str] = frozenset(),
) -> list[exp.Expression] | None:
    """The arguments of a call whose error message would show their value — a cast of
    something that is not a literal to a type that is not text-like (or a type's name called
    as a function: `int4(x)`, `date(x)`, `jsonb(x)`), a function of `_QUOTING_CALLS`,
    `to_date`/`to_timestamp`/`to_number`, a time zone, a unit or an encoding given by an
    expression, `format` with a format string that is not a literal, and any call sqlglot does
    not know but those of `_NON_QUOTING_CALLS` (at their other positions): a built-in or a
    type's name, not a function of the schema (`functions`) or an extension; None for any
    other node."""
    branch = _BRANCHES.get(type(node))
    if branch is None:
        branch = _BRANCHES[type(node)] = _branch(type(node))
    if branch is _Branch.NONE:
        return None  # (a CASE, a coalesce…: most nodes indexed for this rule)
    if branch is _Branch.CAST:
        to = node.args.get("to")
        operand = node.this
        if (
            not isinstance(operand, exp.Literal | exp.Placeholder | exp.Parameter)
            # the tenant column is a number or a uuid: no text of a row to show — by a cast
            # that fails on none of its values (`column_casts`); `int4_col::int2` fails on
            # another tenant's id 40000 (h36A: "smallint out of range", before the pin)
            and not (
                isinstance(operand, exp.Column)
                and identifier_name(operand.this) == column
                and _cast_target(node) in column_casts
            )
            and (
                (isinstance(to, exp.DataType) and to.this not in _TEXT_TYPES)
                or isinstance(to, exp.ObjectIdentifier)  # `name::regclass`, `n::oid`
            )
        ):
            return [operand]
        return None
    if branch is _Branch.DIVISION:
        divisor = node.expression  # "division by zero" tells which rows make it zero
        return [divisor] if _varies(divisor) and not _cannot_be_zero(divisor) else None
    if branch is _Branch.ARITHMETIC:
        # `n + $2`, `n + 2147483000`, `n * n`, `d + n`, `ts + n * interval '1 day'`, `-n`: a
        # row's number, date or interval overflows its type ("integer out of range", "date out
        # of range") by its size, and a chosen operand reads it by binary search (helper 114,
        # round 24). Arithmetic of numeric values never overflows: told by the operands' types
        # (`_unbounded`)
        return [side for side in node.iter_expressions() if _varies(side)] or None
    if branch is _Branch.REPEAT:
        # "requested length too large" past 1 GB, of the text's length times the count: a
        # row's text under a count the caller chooses (`repeat(name, $2)`, or a large literal)
        # tells its length by binary search (helper 126); a row's count, as any domain's
        times, text = node.args.get("times"), node.this
        sized = [times] if _varies(times) else []
        small = _small_integer(times) if isinstance(times, exp.Expression) else None
        if (small is None or small >= _SMALL) and _varies(text):
            sized.append(text)
        return sized or None
    if branch is _Branch.DOMAIN:
        # "cannot take logarithm of zero", "negative substring length not allowed", "field
        # position must not be zero"…: the arguments the function's domain rejects
        given: list[object] = [node.args.get(k) for k in _DOMAIN_ERRORS[type(node)]]
        rejected = [a for a in given if _varies(a) and not _one_dimensional(a)]
        return rejected or None
    if branch is _Branch.ARRAY:
        # ARRAY[ARRAY[…], x]: "multidimensional arrays must have array expressions with
        # matching dimensions" when a row's value makes the sizes differ
        items = list(node.expressions)
        if any(isinstance(i, exp.Array) for i in items) and any(
            _varies(i) and not isinstance(i, exp.Literal) for i in items
        ):
            return [i for i in items if _varies(i)]
        return None
    if branch is _Branch.FORMATTED:
        return [p for p in (node.this, node.args.get("format")) if isinstance(p, exp.Expression)]
    if branch is _Branch.ZONE:
        zone = node.args.get("zone")
        return (
            [zone]
            if isinstance(zone, exp.Expression) and not isinstance(zone, exp.Literal)
            else None
        )
    if branch is _Branch.UNIT:
        unit = node.args.get("unit") if not isinstance(node, exp.Extract) else node.this
        found: list[exp.Expression] = []
        if isinstance(unit, exp.Var):
            if str(unit.this).lower() not in _UNITS:
                # a column where the unit goes (sqlglot keeps its name as a word): its value is
                # the unit named, quoted by the error
                found.append(exp.Column(this=exp.Identifier(this=str(unit.this))))
        elif _varies(unit):  # `p.name`, `lower(name)`: "unit "…" not recognized"
            found.append(unit)
        zone = node.args.get("zone")  # `date_trunc('day', ts, zone)`
        if _varies(zone):
            found.append(zone)
        return found or None
    if branch is _Branch.PATH:
        # `#-`: "path element … is not an integer: "…"" of a path a row gives; "cannot delete
        # path in scalar", "path element at position 1 is not an integer" of a document a row
        # gives, by its kind (round 24b)
        return [p for p in (node.this, node.expression) if _varies(p)] or None
    if branch is _Branch.FORMAT:
        return [node.this] if not isinstance(node.this, exp.Literal) else None
    if branch is _Branch.ENCODING:  # `encode(data, name)`: "unrecognized encoding: "…""
        charset = node.args.get("charset")
        return [charset] if _varies(charset) else None
    if branch is _Branch.CONTROL:
        # `length(bytes, encoding)`, `regexp_like(text, pattern, flags)`: the control arguments
        # ("invalid encoding name "…"", "invalid regular expression option: "…"")
        control = [v for k, v in node.args.items() if k not in _TYPED_DATA and _varies(v)]
        return control or None
    if branch is _Branch.QUOTING:
        varying: list[exp.Expression] = [p for p in node.iter_expressions() if _varies(p)]
        return varying or None
    if branch is _Branch.FAILING:
        varying = [p for p in node.iter_expressions() if _varies(p)]
        return varying or None
    if branch is _Branch.CALL:
        name = identifier_name(node.this)
        arguments = list(node.expressions)
        positions: tuple[int, ...] | None
        if name.startswith("jsonb_path_") and len(arguments) > 1 and _plain_path(name, arguments):
            positions = (2, 3)  # a literal path that cannot fail: only its variables
        elif name in _QUOTING_CALLS:
            if name == "current_setting":
                missing_ok = arguments[1] if len(arguments) > 1 else None
                if isinstance(missing_ok, exp.Boolean) and missing_ok.this is True:
                    return None
            positions = _QUOTING_CALLS[name]
        elif name in inlined and _body_fails(inlined[name]):
            # a SQL function PostgreSQL inlines: its body's failing call runs in the condition
            positions = None
        elif name in _NON_QUOTING_CALLS and (
            name not in functions or name in BUILTIN_FUNCTIONS
        ):  # a schema's overload of a built-in's name: the built-in may be the one called
            positions = _NON_QUOTING_CALLS[name]
            if name in _CONFIG_FIRST and len(arguments) < 2:
                positions = ()  # `to_tsvector(document)`: no configuration named
        elif (
            name in extensions
            and name not in functions
            and name not in BUILTIN_FUNCTIONS
            and name not in _EXTENSIONS_NEVER_FAILING
        ):
            # a C function of an extension the runtime guard found in the catalog (round 30):
            # it costs what pg_proc says (1 by default, not 100) and its error may show any
            # argument (pgcrypto's `digest('x', name)`: "Cannot use "carla": No such hash
            # algorithm")
            positions = None
        elif (
            (name in functions and name not in BUILTIN_FUNCTIONS)
            or name in SIDE_EFFECTS  # reported as side effects already
            or name.startswith(_EXPENSIVE_PREFIXES)
            or (name not in BUILTIN_FUNCTIONS and name not in _TYPE_CALLS)
        ):
            # the schema's own functions, and those of extensions it does not show (PL/pgSQL
            # and SQL functions cost 100 units: PostgreSQL evaluates them after the pin)
            return None
        else:
            positions = None  # any other built-in: its error may show any argument
        chosen = (
            arguments
            if positions is None
            else [arguments[i] for i in positions if i < len(arguments)]
        )
        parts = [
            a
            for a in chosen
            if not isinstance(a, exp.Literal)
            and not (name == "array_positions" and _one_dimensional(a))
        ]
        return parts or None
    return None


@functools.lru_cache(maxsize=256)
def _cannot_be_zero(divisor: exp.Expression) -> bool:
    """A divisor that is never zero, whatever the row: `nullif(x, 0)` (NULL instead),
    `greatest(x, 1)`, `coalesce(nullif(x, 0), 1)`, `CASE WHEN x = 0 THEN 1 ELSE x END`, a
    literal other than zero (false alarms of round 22, helper 104)."""
    node = divisor
    while isinstance(node, exp.Paren | exp.Cast):
        node = node.this
    if isinstance(node, exp.Literal):
        return not node.is_string and node.this not in ("0", "0.0")
    if isinstance(node, exp.Nullif):
        zero = node.expression
        return isinstance(zero, exp.Literal) and zero.this in ("0", "0.0")
    if isinstance(node, exp.Greatest):
        return any(
            isinstance(a, exp.Literal) and not a.is_string and _positive(a.this)
            for a in (node.this, *node.expressions)
        )
    if isinstance(node, exp.Coalesce):
        # its first argument that is never NULL decides: every one before it is never zero
        for argument in (node.this, *node.expressions):
            if not _cannot_be_zero(argument):
                return False
            inner = argument.this if isinstance(argument, exp.Paren) else argument
            if not isinstance(inner, exp.Nullif):
                return True
        return True  # all NULL: NULL, no error
    if isinstance(node, exp.Case):
        ifs = node.args.get("ifs") or []
        default = node.args.get("default")
        results = [i.args.get("true") for i in ifs]
        if not all(r is not None and _cannot_be_zero(r) for r in results):
            return False
        if default is None or _cannot_be_zero(default):
            return True
        # `CASE WHEN x = 0 THEN 1 ELSE x END`: x reaches the ELSE only when it is not zero
        return any(
            isinstance(i.this, exp.EQ)
            and i.this.this == default
            and isinstance(i.this.expression, exp.Literal)
            and i.this.expression.this in ("0", "0.0")
            for i in ifs
        )
    return False


def _positive(text: object) -> bool:
    try:
        return float(str(text)) > 0
    except ValueError:
        return False


# typed functions whose domain errors depend on an argument: the arguments (sqlglot's keys)
_DOMAIN_ERRORS: dict[type[exp.Expression], tuple[str, ...]] = {
    exp.Ln: ("this",),
    exp.Log: ("this", "expression"),
    exp.Sqrt: ("this",),
    exp.Pow: ("this", "expression"),
    exp.Exp: ("this",),
    exp.SplitPart: ("part_index",),
    exp.Substring: ("length",),
    exp.WidthBucket: ("min_value", "max_value", "num_buckets"),
    exp.Factorial: ("this",),
    # "input is out of range", "value out of range: overflow" (helpers 109, 110)
    exp.Acos: ("this",),
    exp.Asin: ("this",),
    exp.Atanh: ("this",),
    exp.Acosh: ("this",),
    exp.Cosh: ("this",),
    exp.Sinh: ("this",),
    exp.Pad: ("expression",),  # lpad(x, n): "requested length too large"
    exp.Getbit: ("expression",),  # "index … out of valid range"
    exp.Normalize: ("form",),  # "invalid normalization form"
    exp.Ntile: ("this",),  # "argument of ntile must be greater than zero"
    exp.NthValue: ("offset",),
    exp.Lag: ("offset",),
    exp.Lead: ("offset",),
    exp.JSONBObjectAgg: ("this",),  # "field name must not be null"
    exp.PercentileCont: ("this",),  # "percentile value … is not between 0 and 1"
    exp.PercentileDisc: ("this",),
    # "interval out of range" of seconds NaN or infinite (PostgreSQL 15 wraps the other
    # fields' overflows silently)
    exp.MakeInterval: ("second",),
    exp.Cos: ("this",),
    exp.Sin: ("this",),
    exp.Tan: ("this",),
    exp.Abs: ("this",),
    exp.Degrees: ("this",),
    # the pattern: "LIKE pattern must not end with escape character" (helper 112)
    exp.Like: ("expression",),
    exp.ILike: ("expression",),
    exp.SimilarTo: ("expression",),  # "invalid regular expression" (helper 114)
    # to_char's format: "multiple decimal points", "cannot use "V" and decimal point together",
    # "invalid format specification for an interval value" (round 24)
    exp.TimeToStr: ("format",),
    # round 24b: cot('Infinity') ("input is out of range"); an array a row gives, which may be
    # multidimensional ("searching for elements in multidimensional arrays is not supported",
    # "argument must be empty or one-dimensional array"); justify_* ("interval out of range")
    exp.Cot: ("this",),
    exp.ArrayAppend: ("this",),
    exp.ArrayPrepend: ("this",),  # (sqlglot keeps the array as `this`)
    exp.ArrayPosition: ("this",),
    exp.ArrayRemove: ("this",),
    exp.JustifyDays: ("this",),
    exp.JustifyHours: ("this",),
    exp.JustifyInterval: ("this",),
}
# the calls above whose argument is an array: an ARRAY[…] of scalars has one dimension
_ARRAY_CALLS = (exp.ArrayAppend, exp.ArrayPrepend, exp.ArrayPosition, exp.ArrayRemove)


def _one_dimensional(node: object) -> bool:
    """An ARRAY[…] constructor none of whose items is itself an array constructor (a column
    holding an array, `ARRAY[arr]`, would make two dimensions: rare, not told apart)."""
    return isinstance(node, exp.Array) and not any(
        isinstance(i, exp.Array | exp.Query | exp.Subquery) for i in node.expressions
    )  # (`ARRAY(SELECT arr …)` of a query: of its rows' arrays, two dimensions)


@functools.lru_cache(maxsize=1024)
def _body_trees(body: str) -> tuple[exp.Expression | None, ...]:
    """An inlined SQL function's body, parsed once: a SELECT of each definition's expression
    (`RETURN e` read as `SELECT e`; overloads: one each), its `$1`, `$2` as the columns
    `_argument_1`… (a cast of one fails on the value it is given); None where the parser cannot
    read one. Read, never changed, by `_body_fails` and `_body_cost`."""
    from tenantguard.engine.analyze import parse_statement
    from tenantguard.engine.sqltext import split_sql

    body = _POSITIONAL.sub(lambda m: f"_argument_{m.group(1)}", body)
    trees: list[exp.Expression | None] = []
    for statement in split_sql(body)[0]:
        text = statement.text.strip()
        if text[:6].upper() == "RETURN":
            text = "SELECT " + text[6:]
        trees.append(parse_statement(text)[0])
    return tuple(trees)


def _body_fails(body: str) -> bool:
    """Whether an inlined SQL function's body (`SELECT current_setting(t)`, `RETURN t::int`)
    holds a call whose error may show a value it is given — one of its parameters."""
    if body == CHEAP_FUNCTION:
        return True  # declared cheap, its body unread: it may fail (or notify) on anything
    for tree in _body_trees(body):
        if tree is None:
            return True  # a body the parser cannot read may fail anyhow
        for node in tree.walk():
            if isinstance(node, exp.Expression):
                parts = _revealing_parts(node, "")
                if not parts or all(isinstance(p, exp.Literal) for p in parts):
                    continue
                if _is_cast(node) and len(parts) == 1 and _typed_not_text(parts[0]):
                    continue  # `date_trunc('week', $1)::date`: no text to show
                return True
    return False


def _plain_path(name: str, arguments: list[exp.Expression]) -> bool:
    """A JSON path written as a literal that fails on no value of the row, or one whose errors
    the call silences (`silent => true`, its fourth argument): lax accessors (`$.a.b`, `[*]`,
    `[3]`, `.*`) and filters (`? (…)`: an error in a filter is `unknown`, never raised). Not:
    `strict` (a missing key: "JSON object does not contain key"), arithmetic outside a filter
    (`$.a / ($.a - 2)`: "division by zero" on another tenant's row, helper 119), item methods
    that convert or check (`.double()`, `.keyvalue()`, `.datetime()` quote what they fail on;
    `.type()` and `.size()` never fail). `jsonb_path_match` fails too where its path yields no
    single boolean (`'$.a'`: "single boolean result is expected"): a predicate only."""
    path = arguments[1]
    if not isinstance(path, exp.Literal) or not path.is_string:
        return False
    variables = arguments[2] if len(arguments) > 2 else None
    silent = arguments[3] if len(arguments) > 3 else None
    for argument in arguments[2:]:
        if isinstance(argument, exp.Kwarg):
            named = str(argument.this.name).lower()
            if named == "silent":
                silent = argument.expression
            elif named == "vars":
                variables = argument.expression
    if not _path_variables_given(str(path.this), variables):
        # "could not find jsonpath variable": raised in a filter and under silent => true
        # alike, where the row's value reaches it (`? (@.salary > 5000 && $x == 1)`: helper 125)
        return False
    if isinstance(silent, exp.Boolean) and silent.this is True:
        return True
    outside = _json_path_outside_filters(str(path.this))
    if outside is not None:
        outside = _PATH_WILDCARD.sub("", outside)  # `[*]`, `.*`, `.**`: no multiplication
    if outside is None or _FAILING_PATH.search(outside):
        return False
    return name != "jsonb_path_match" or bool(_PATH_PREDICATE.search(outside))


def _path_variables_given(text: str, variables: exp.Expression | None) -> bool:
    """Whether every variable a JSON path names (`$x`, `$"x"`) is a key of its `vars`, given
    as a literal JSON object (`'{"x": 1}'`); a path naming none needs none."""
    names = {m.group(2) for m in _PATH_STRING.finditer(text) if m.group(1)}  # `$"x y"`
    names.update(_PATH_VARIABLE.findall(_PATH_STRING.sub('""', text)))
    if not names:
        return True
    if not isinstance(variables, exp.Literal) or not variables.is_string:
        return False  # a parameter, a column, none: a name it lacks fails
    try:
        given = json.loads(str(variables.this))
    except ValueError:
        return False
    return isinstance(given, dict) and names <= set(given)


# a JSON path's strings, and whether a `$` stands before one (a quoted variable's name)
_PATH_STRING = lazy_pattern(r'(\$\s*)?"((?:[^"\\]|\\.)*)"')
_PATH_VARIABLE = lazy_pattern(r"\$([A-Za-z_]\w*)")


# what a JSON path may fail on outside its filters: `strict`, arithmetic (a `-` of an index
# `[last - 1]` too: written out, conservative), an item method other than .type() and .size()
_FAILING_PATH = lazy_pattern(
    r"\bstrict\b|[-+*/%]|\.\s*(?!(?:type|size)\s*\()[A-Za-z_]\w*\s*\(", re.IGNORECASE
)
_PATH_WILDCARD = lazy_pattern(r"\[\s*\*\s*\]|\.\s*\*\*?")
# a path that is a predicate: one boolean for jsonb_path_match
_PATH_PREDICATE = lazy_pattern(
    r"==|!=|<>|<=|>=|<|>|\bexists\b|\blike_regex\b|\bstarts\s+with\b|\bis\s+unknown\b",
    re.IGNORECASE,
)


def _json_path_outside_filters(text: str) -> str | None:
    """A JSON path's text without its strings and the insides of its filters (`? (…)`); None
    when its quotes or parentheses do not close."""
    kept: list[str] = []
    depth, filtering, i = 0, 0, 0  # parentheses open; the depth a filter opened at (0: none)
    while i < len(text):
        char = text[i]
        if char == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                return None
            kept.append('""' if not filtering else "")
            i = end + 1
            continue
        if char == "(":
            depth += 1
            if not filtering and "".join(kept).rstrip().endswith("?"):
                filtering = depth
                kept.append("(")
        elif char == ")":
            if depth == 0:
                return None
            if filtering == depth:
                filtering = 0
                kept.append(")")
                depth -= 1
                i += 1
                continue
            depth -= 1
        if not filtering:
            kept.append(char)
        i += 1
    return None if depth or filtering else "".join(kept)


# kinds read in hot paths, as tuples: a union (`exp.A | exp.B`) written in an isinstance() is
# built anew at each call, in the compiled build too
_CONSTANTS = (exp.Literal, exp.Null, exp.Var, exp.DataType, exp.Boolean)
_NOT_A_VALUE_UNDER = (
    *(exp.Exists, exp.Any, exp.All, exp.Array, exp.From),
    *(exp.Join, exp.Lateral, exp.Union, exp.Intersect, exp.Except),
)
_NULL_OR_BOUND = (exp.Null, exp.Parameter, exp.Placeholder)


def _varies(node: object) -> TypeGuard[exp.Expression]:
    """Not a literal: a value PostgreSQL computes from the row (or a parameter)."""
    return isinstance(node, exp.Expression) and not isinstance(node, _CONSTANTS)


def _reads_a_column(parts: list[exp.Expression]) -> bool:
    """Whether a failing call's quoted parts read a column (or a whole row): only a row's
    value can be another tenant's (the sources read are told apart later)."""
    return any(
        type(p) is exp.Column or p.find(exp.Column, exp.Dot, exp.Star) is not None for p in parts
    )


def _cost(
    node: exp.Expression,
    *,
    upper: bool,
    policy: Policy | None = None,
    within: exp.Expression | None = None,
) -> float:
    """PostgreSQL's cost of evaluating a condition, in operator units (cost_qual_eval, about):
    each operator, function and cast 1, a cast from text 2 (an output and an input function),
    a cast of a literal nothing (folded). `upper`: a bound from above (a subquery: unbounded);
    else from below (a subquery run once before the scan costs it nothing). A function of the
    schema's own (no built-in) costs from below what `_own_function_cost` tells with `policy`
    (nothing without it) — a SQL function PostgreSQL inlines costs its body, one declared
    `COST 0.01` what it declares (helper 124) — and PostgreSQL's default for one, 100, from
    above.

    From below, a condition PostgreSQL splits into several, each placed among the scan's
    conditions by its own cost (`_split_condition`), costs the part holding `within` (a node
    of the condition), the cheapest where that is in several or none."""
    parts = None if upper else _split_condition(node)
    if parts:
        held = [p for p in parts if within is not None and any(is_within(within, o) for o in p[1])]
        costs: list[float] = []
        for operator, part in held or parts:
            operands: list[exp.Expression] = [o for o in part if isinstance(o, exp.Expression)]
            costs.append(
                operator + sum((_cost(o, upper=False, policy=policy) for o in operands), 0.0)
            )
        return min(costs)
    total = 0.0
    varying = set() if upper else _varying(node)
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, exp.Subquery | exp.Select | exp.Exists):
            if upper:
                return _UNBOUNDED
            continue
        if not upper and id(item) not in varying:
            continue  # no column, parameter or subquery: folded to a constant when planned
        if upper and _numeric_constant(item):
            # an integer column compared with a numeric constant is converted to numeric on
            # every row (int8 -> numeric, then numeric_eq): one function more (h37A)
            total += 1
            continue
        if isinstance(item, exp.Cast):
            operand = item.this
            if isinstance(operand, exp.Literal):
                continue  # folded when planned
            if isinstance(operand, exp.Placeholder | exp.Parameter):
                total += 1 if upper else 0  # typed by the cast itself, or one conversion
            else:
                total += 2 if upper else _cast_cost(item)
            stack.append(operand)
            continue
        if upper and isinstance(item, exp.Binary) and isinstance(item.expression, exp.Any):
            elements = _array_elements(item.expression)
            if elements is None:
                return _UNBOUNDED  # an array PostgreSQL guesses ten long, or one of any length
            # a ScalarArrayOpExpr: the operator on about half of the array (one element: a
            # half, as `= ANY(ARRAY[$1])` costs; six: three, a tie with `a / (b - 8) <> 0`)
            total += 0.5 * len(elements)
            stack.append(item.this)
            stack.extend(elements)
            continue
        if isinstance(item, exp.In) and not item.args.get("query"):
            listed = item.expressions
            if upper and len(listed) == 1:
                total += 1  # `x IN (a)` is parsed as `x = a`
            elif upper and any(e.find(exp.Column) is not None for e in listed):
                total += len(listed)  # the items reading a column: an OR of `=` each
            else:
                total += 0.5 * len(listed)  # the operator on about half of the list
        elif isinstance(item, exp.Anonymous) and (
            identifier_name(item.this) not in BUILTIN_FUNCTIONS
        ):
            if upper:
                total += _OWN_FUNCTION_COST
            elif policy is not None:
                total += _own_function_cost(identifier_name(item.this), policy)
        elif not isinstance(item, _FREE) and isinstance(
            item, exp.Func | exp.Binary | exp.Unary | exp.Anonymous | exp.Between
        ):
            total += 2 if isinstance(item, exp.Between) else 1
        stack.extend(item.iter_expressions())
    return total


def _array_elements(node: exp.Any) -> list[exp.Expression] | None:
    """The elements of `ANY(ARRAY[…])` whose costs PostgreSQL adds to the operator's (the
    array written out, or cast as a whole when its elements are bare parameters or literals:
    typed by the cast, nothing to run); None for any other array (a parameter, a column, a
    subquery, a cast of each element)."""
    array = node.this
    while isinstance(array, exp.Paren):
        array = array.this
    if isinstance(array, exp.Cast):
        array = array.this
        if not isinstance(array, exp.Array) or not all(
            isinstance(e, exp.Placeholder | exp.Parameter | exp.Literal) for e in array.expressions
        ):
            return None
    return list(array.expressions) if isinstance(array, exp.Array) else None


def _split_condition(node: exp.Expr) -> list[tuple[int, tuple[exp.Expr, ...]]] | None:
    """The conditions PostgreSQL makes a condition into when it parses and plans it, each with
    the cost of its own operator and its operands: `x BETWEEN low AND high` is `x >= low AND
    x <= high`, `(a, b) = (c, d)` (or `ROW(…)`) is `a = c AND b = d`, `NOT (a OR b)` is `NOT a
    AND NOT b` (the negations cost nothing more) — at the top of a WHERE, separate conditions
    (round 29). None for any other."""
    if isinstance(node, exp.Between):
        if node.args.get("symmetric"):
            return None  # an OR of both orders: one condition
        bounds = (node.args.get("low"), node.args.get("high"))
        return [(1, (node.this, b)) for b in bounds if b is not None]
    if isinstance(node, exp.EQ):
        left, right = node.this, node.expression
        if is_row(left) and is_row(right) and len(left.expressions) == len(right.expressions):
            return [(1, pair) for pair in zip(left.expressions, right.expressions, strict=True)]
    if isinstance(node, exp.Not):
        inner = node.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Or):
            return [(0, (branch,)) for branch in disjuncts(inner)]
    return None


_OWN_FUNCTION_COST = 100.0  # PostgreSQL's default COST of a SQL or PL/pgSQL function


def _own_function_cost(name: str, policy: Policy) -> float:
    """A call of a function that is no built-in, from below: one the schema does not show (an
    extension's) or declares cheaper than the default (`COST 0.01`) nothing; a SQL function
    PostgreSQL inlines what its body costs (helper 126: `invoice_total(…)`, `round((amount -
    discount) * (1 + tax_rate), 2)`, costs 4, not nothing); any other of the schema's the
    default 100."""
    body = policy.inlined_functions.get(name)
    if name not in policy.functions:
        if body is not None:  # a SQL function the runtime guard found in the catalog
            return _body_cost(body)
        # an extension's C function the runtime guard found in the catalog: its procost
        return policy.extension_functions.get(name, 0.0)
    if body is None:
        return _OWN_FUNCTION_COST
    return _body_cost(body)


@functools.lru_cache(maxsize=1024)
def _body_cost(body: str) -> float:
    """What an inlined SQL function's body costs from below (the cheapest of its overloads;
    nothing for one declared cheap or one the parser cannot read)."""
    if body == CHEAP_FUNCTION:
        return 0.0
    costs: list[float] = []
    for tree in _body_trees(body):
        if not isinstance(tree, exp.Select) or tree.args.get("from_") is not None:
            return 0.0
        costs.append(sum((_cost(e, upper=False) for e in tree.expressions), 0.0))
    return min(costs, default=0.0)


# calls PostgreSQL does not fold when it plans (stable or volatile: evaluated on each row,
# costed — helper 126: `(data->>'trial_ends')::date < current_date` costs five, not four)
_UNFOLDED = (
    exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime, exp.Localtimestamp, exp.Localtime,
    exp.Rand,
)  # fmt: skip
_UNFOLDED_CALLS = frozenset(
    {"clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday",
     "current_setting", "txid_current", "pg_backend_pid", "inet_client_addr"}
)  # fmt: skip


def _varying(node: exp.Expression) -> set[int]:
    """The nodes of `node` (by id) holding a column, a parameter, a subquery or a call
    PostgreSQL evaluates on each row (`now()`, `current_date`): the others are constants,
    folded when planned. One walk, each node marked once from the leaves up."""
    marked: set[int] = set()
    for leaf in node.find_all(*_VARYING, *_UNFOLDED, exp.Anonymous):
        if type(leaf) is exp.Anonymous and identifier_name(leaf.this) not in _UNFOLDED_CALLS:
            continue
        current: exp.Expr | None = leaf
        while current is not None and id(current) not in marked:
            marked.add(id(current))
            if current is node:
                break
            current = current.parent
    return marked


# calls whose result is text: a cast of one to another type runs two functions
_TEXT_RESULTS = (
    exp.Lower, exp.Upper, exp.Concat, exp.ConcatWs, exp.Trim, exp.Substring, exp.Initcap,
    exp.DPipe, exp.Left, exp.Right, exp.Pad, exp.Replace,
)  # fmt: skip


def _is_text(node: exp.Expression) -> bool | None:
    """Whether a value is text-like (None: the proof cannot tell without the column's type)."""
    if isinstance(node, exp.Cast):
        to = node.args.get("to")
        return isinstance(to, exp.DataType) and to.this in _TEXT_TYPES
    if isinstance(node, _TEXT_RESULTS) or (isinstance(node, exp.Literal) and node.is_string):
        return True
    if isinstance(node, exp.Literal):
        return False
    return None


def _cast_cost(cast: exp.Cast) -> float:
    """A cast's cost from below: between text and another type an output and an input
    function (2); of an operand whose type is unknown, 1 to another type, 0 to text."""
    to = cast.args.get("to")
    to_text = isinstance(to, exp.DataType) and to.this in _TEXT_TYPES
    from_text = _is_text(cast.this)
    if from_text is None:
        return 0 if to_text else 1
    return 0 if from_text == to_text else 2


def _pin_cost(source: Source, analysis: Analysis | None = None) -> float:
    """What the condition pinning `source` in its own scan costs (its chain of equalities
    summed, from above); unbounded when no condition of the scan pins it. A derived table or
    CTE PostgreSQL inlines (one plain SELECT, row by row, not MATERIALIZED) pinned inside: a
    condition on its rows is pushed down into the scans of its body, whose pins cost what
    they cost there (with `analysis`; helper 120)."""
    if analysis is not None and (
        source.passthrough
        or (source.pinned_by is None and source.kind in (SourceKind.DERIVED, SourceKind.CTE))
    ):
        return _inlined_pin_cost(source, analysis)
    total = 0.0
    seen: set[int] = set()
    current: Source | None = source
    chained = False  # reached through an equality with another source's tenant column
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        fact = current.pinned_by
        if (
            fact is None
            or current.passthrough
            or fact.via_key
            or fact.multi
            or fact.in_having
            or (isinstance(fact.conjunct, exp.In) and fact.conjunct.args.get("query"))
            or fact.conjunct.find(exp.Subquery) is not None  # a SubPlan: evaluated last
        ):
            return _UNBOUNDED
        if fact.pushed:  # the reader's pin, pushed into (or pulled up with) this body
            current = fact.other
            continue
        # the planner gives a chained source's scan the pin's value only through an
        # equivalence class: plain `=` all along, the root comparing the bare column (not
        # BETWEEN, `IS TRUE`, `tenant_id::text = $1`, IS NOT DISTINCT FROM: round 22)
        link = fact.value is None
        if (link or chained) and not _equivalence(fact.conjunct, link=link):
            return _UNBOUNDED
        if fact.value is not None:
            # a chain of plain `=` puts the pin's own comparison into each scan it reaches (an
            # equivalence class): what the root costs, not the links (round 22)
            return _root_cost(fact.conjunct) if chained else total + _root_cost(fact.conjunct)
        total += _cost(fact.conjunct, upper=True)
        current = fact.other
        chained = True
    return _UNBOUNDED


def _root_cost(conjunct: exp.Expression) -> float:
    """What the pin's own condition costs from above in its scan: a row comparison PostgreSQL
    parses into one `=` per column (`ROW(v.tenant_id, 1) = ROW($1, 1)`) the dearest of the
    parts reading a column (helper h33m), any other its whole; one more when the statement
    may type the pin's parameter numeric (the column converted on every row, h37A)."""
    retyped = 1.0 if _retyped_parameter(conjunct) else 0.0
    parts = _split_condition(conjunct) if isinstance(conjunct, exp.EQ) else None
    if not parts:
        return _cost(conjunct, upper=True) + retyped
    return retyped + max(
        (
            operator
            + sum((_cost(o, upper=True) for o in part if isinstance(o, exp.Expression)), 0.0)
            for operator, part in parts
            if any(isinstance(o, exp.Expr) and o.find(exp.Column) is not None for o in part)
        ),
        default=_UNBOUNDED,
    )


# what compares or computes its operands in one type: a bare parameter among them is typed
# by the others (`points <> $1`, `$1 + 0.5`, `coalesce($1, x)`, `x IN ($1, …)`)
_TYPING_PARENTS = (
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ, exp.In,
    exp.Between, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Coalesce, exp.Greatest,
    exp.Least, exp.Nullif, exp.If, exp.Case, exp.Array,
)  # fmt: skip
_INTEGER_TYPES = frozenset(
    {exp.DataType.Type.BIGINT, exp.DataType.Type.INT, exp.DataType.Type.SMALLINT}
)


def _unwrapped(node: exp.Expr | None) -> exp.Expr | None:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


# the order PostgreSQL transforms a SELECT's clauses in (transformSelectStmt): a parameter is
# typed by the first use it meets
_CLAUSE_ORDER = {
    "with_": 0, "from_": 1, "joins": 1, "expressions": 2, "where": 3, "having": 4, "order": 5,
    "group": 6, "distinct": 7, "limit": 8, "offset": 8, "windows": 9,
}  # fmt: skip
# a window's PARTITION BY and ORDER BY, written in an OVER (…) of the select list, are
# transformed with the WINDOW clause, last (transformWindowDefinitions, h37B: `sum(estimate)
# OVER (PARTITION BY $1 + 0.5)` left $1 a bigint typed by the WHERE's pin)
_WINDOW_RANK = 9


def _parameter_start(node: exp.Expr) -> int | None:
    inner = node.this
    meta = inner.meta if isinstance(inner, exp.Expr) else None
    start = meta.get("start") if meta else None
    return start if isinstance(start, int) else None


def _clause_in(select: exp.Select, node: exp.Expr) -> int | None:
    """The rank of the clause of `select` holding `node` (None: not known)."""
    current: exp.Expr = node
    in_window = False
    while current.parent is not None and current.parent is not select:
        if isinstance(current.parent, exp.Select):
            return None  # (a nested query: not this block's clause)
        if isinstance(current.parent, exp.Window) and current.arg_key in ("partition_by", "order"):
            in_window = True
        current = current.parent
    if current.parent is not select:
        return None
    rank = _CLAUSE_ORDER.get(current.arg_key or "")
    return _WINDOW_RANK if in_window and rank == _CLAUSE_ORDER["expressions"] else rank


def _typed_after(use: exp.Expr, pin: exp.Expr) -> bool:
    """Whether PostgreSQL surely transforms `use` after `pin`, two uses of one parameter in one
    plain SELECT block (no set operation, CTE or other block between them): a later clause
    (the select list before the WHERE), or the same clause further right. Any other pair: not
    known (the use may type the parameter first)."""
    block = pin.find_ancestor(exp.Select)
    if block is None or use.find_ancestor(exp.Select) is not block:
        return False
    if block.find_ancestor(exp.SetOperation, exp.CTE) is not None or isinstance(
        block.parent, exp.SetOperation
    ):
        return False
    use_rank, pin_rank = _clause_in(block, use), _clause_in(block, pin)
    if use_rank is None or pin_rank is None:
        return False
    if use_rank != pin_rank:
        return use_rank > pin_rank
    use_start, pin_start = _parameter_start(use), _parameter_start(pin)
    return use_start is not None and pin_start is not None and use_start > pin_start


def _parameter_name(node: exp.Expr) -> str:
    """A parameter's number as PostgreSQL reads it: `$01` is `$1` (h37B)."""
    name = node.name
    return str(int(name)) if isinstance(node, exp.Parameter) and name.isdigit() else name


def _values_column_retypes(row: exp.Tuple, item: exp.Expr) -> bool:
    """Whether the column of a VALUES list holding `item` of `row` may be typed numeric by
    another row: any item there that is not a parameter, NULL, an integer literal or a cast to
    an integer type (a string literal is unknown)."""
    index = next((i for i, e in enumerate(row.expressions) if e is item), None)
    values = row.parent
    if index is None or values is None:
        return True
    for other_row in values.expressions:
        if other_row is row:
            continue
        items = other_row.expressions if isinstance(other_row, exp.Tuple) else [other_row]
        other = _unwrapped(items[index]) if index < len(items) else None
        if other is None or isinstance(other, exp.Parameter | exp.Placeholder | exp.Null):
            continue
        if isinstance(other, exp.Literal) and (other.is_string or not _numeric_constant(other)):
            continue
        if isinstance(other, exp.Cast) and other.to.this in _INTEGER_TYPES:
            continue
        return True
    return False


def _row_item_retypes(row: exp.Tuple, item: exp.Expr, columns: set[str]) -> bool:
    """Whether the item at `item`'s place in the rows `row` is compared with (a row
    comparison, a row IN list) may type it numeric: unknown for anything but a row of items
    (a subquery), else as an operator's operand (`_numeric_operand`)."""
    index = next((i for i, e in enumerate(row.expressions) if e is item), None)
    comparison = row.parent
    if index is None or comparison is None:
        return True
    for side in comparison.iter_expressions():
        if side is row:
            continue
        if not isinstance(side, exp.Tuple) or index >= len(side.expressions):
            return True  # a subquery, an array: not read here
        if _numeric_operand(side.expressions[index], columns):
            return True
    return False


def _numeric_operand(operand: exp.Expr | None, columns: set[str]) -> bool:
    """Whether an operand met by a parameter may type it numeric: anything but a parameter,
    NULL, an integer or string literal, a cast to an integer type or a column of the pin's
    own column name (`columns`)."""
    other = _unwrapped(operand)
    if other is None or isinstance(other, exp.Parameter | exp.Placeholder | exp.Null):
        return False
    if isinstance(other, exp.Literal) and (other.is_string or not _numeric_constant(other)):
        return False
    if isinstance(other, exp.Cast) and other.to.this in _INTEGER_TYPES:
        return False
    return not (type(other) is exp.Column and other.name in columns)


def _retyped_parameter(conjunct: exp.Expression) -> bool:
    """Whether a named parameter the pin compares bare with a column (`tenant_id = $1`) may
    be typed numeric by another use in the statement: PostgreSQL types a parameter once, by
    its first use (the select list is parsed before the WHERE), and `tenant_id = $1` of a
    numeric `$1` converts the column on every row. A use may type it numeric when it is cast
    to numeric, or met by an operand that is neither a parameter, an integer or string literal,
    NULL, a cast to an integer type, nor a column of the pin's own column name (`points <>
    $1`, `$1 + 0.5`: of a type the proof does not know or numeric) — unless PostgreSQL surely
    reads it after the pin's own use (`_typed_after`) (h37A)."""
    names: dict[str, exp.Expr] = {}
    columns: set[str] = set()
    for node in conjunct.find_all(exp.Parameter, exp.Placeholder):
        parent = node.parent
        while isinstance(parent, exp.Paren):
            parent = parent.parent
        if node.name and isinstance(parent, exp.EQ | exp.NullSafeEQ | exp.In | exp.Between):
            names.setdefault(_parameter_name(node), node)
            columns.update(c.name for c in parent.find_all(exp.Column))
    if not names:
        return False
    for node in conjunct.root().find_all(exp.Parameter, exp.Placeholder):
        pin = names.get(_parameter_name(node))
        if pin is None or type(pin) is not type(node) or is_within(node, conjunct):
            continue
        if _typed_after(node, pin):
            continue  # the pin's use comes first: it types the parameter as the column
        parent = node.parent
        child: exp.Expr = node
        while isinstance(parent, exp.Paren):
            child, parent = parent, parent.parent
        if isinstance(parent, exp.Cast | exp.TryCast):
            if parent.to.this in _NUMERIC_TYPES:
                return True
            continue
        if isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values):
            # a VALUES column takes the common type of its rows (h37B: `(VALUES ($1),
            # (0.5))` types $1 numeric in FROM, before the WHERE)
            if _values_column_retypes(parent, child):
                return True
            continue
        if isinstance(parent, exp.Tuple) and isinstance(parent.parent, _TYPING_PARENTS):
            # a row compared with rows: typed by the item at its place in each other row
            # (h37B: `(points + 7770000, 1) = ($1, 1)`, `($1, 1) = (7770001.0, 1)`)
            if _row_item_retypes(parent, child, columns):
                return True
            continue
        if isinstance(parent, exp.Func) and not isinstance(parent, _TYPING_PARENTS):
            # an argument of a function: typed by the function's parameter (h37B:
            # `round($1, 2)`, `scale($1)` are numeric), not known here
            return True
        if not isinstance(parent, _TYPING_PARENTS):
            continue
        operands: list[exp.Expr | None] = list(parent.iter_expressions())
        case = parent.parent if isinstance(parent, exp.If) else parent
        if isinstance(case, exp.Case) and (
            (parent is case and child.arg_key == "default")
            or (parent is not case and child.arg_key == "true")
        ):
            # a CASE's results take their common type (h37B: `CASE WHEN … THEN 0.5 ELSE $1
            # END` types $1 numeric): every branch's result is an operand
            operands = [i.args.get("true") for i in case.args.get("ifs") or ()]
            operands.append(case.args.get("default"))
        for operand in operands:
            other = _unwrapped(operand)
            if other is None or other is node or isinstance(other, exp.If):
                continue
            if isinstance(other, exp.Parameter | exp.Placeholder | exp.Null):
                continue
            if isinstance(other, exp.Literal) and (other.is_string or not _numeric_constant(other)):
                continue
            if isinstance(other, exp.Cast) and other.to.this in _INTEGER_TYPES:
                continue
            if type(other) is exp.Column and other.name in columns:
                continue
            return True
    return False


def _equivalence(conjunct: exp.Expression, *, link: bool) -> bool:
    """A plain `=` PostgreSQL makes an equivalence class of: between two columns (a link of
    a chain, or a join's USING but a FULL one's), or with a bare column on one side (its root;
    `x IN (a)`, parsed as `x = a`, and a row comparison of bare columns, parsed as one `=` per
    column, too: helper h33m). Not `x = ANY(…)`: a ScalarArrayOpExpr, no equivalence."""
    if isinstance(conjunct, exp.Join):
        return link and bool(conjunct.args.get("using")) and conjunct.side != "FULL"
    if isinstance(conjunct, exp.Exists):
        return link and _pulled_up(conjunct)
    above = conjunct.parent
    while isinstance(above, exp.Paren | exp.And):
        above = above.parent
    if isinstance(above, exp.Is | exp.Not | exp.Or | exp.Case | exp.If | exp.Coalesce):
        return False  # `(tenant_id = $1) IS TRUE`: a condition, not an equality the planner sees
    if not link and isinstance(conjunct, exp.In) and len(conjunct.expressions) == 1:
        pairs = [(conjunct.this, conjunct.expressions[0])]
    elif not link and isinstance(conjunct, exp.EQ) and _split_condition(conjunct):
        pairs = [p for _, p in _split_condition(conjunct) or () if len(p) == 2]
        return all(  # each pair reading a column an `=` with a bare one (`1 = 1`: folded)
            any(_bare(o) for o in pair)
            for pair in pairs
            if any(isinstance(o, exp.Expr) and o.find(exp.Column) for o in pair)
        )
    elif type(conjunct) is exp.EQ and not isinstance(conjunct.expression, exp.Any):
        pairs = [(conjunct.this, conjunct.expression)]
    else:
        return False
    if any(
        (isinstance(s, exp.Cast) and s.to.this in _INEXACT_TYPES) or _numeric_constant(s)
        for s in pairs[0]
    ):
        return False  # `t.tenant_id = $1::numeric`, `= 7.0`: the column is cast (h33m, h37A)
    if _retyped_parameter(conjunct):
        return False  # `$1` typed numeric by another use: the column is cast too (h37A)
    bare = [_bare(s) for s in pairs[0]]
    return all(bare) if link else any(bare)


# what an EXISTS subquery PostgreSQL pulls up into a semi join may hold (its WHERE, FROM)
_PLAIN_PARTS = (
    exp.Column, exp.Identifier, exp.Placeholder, exp.Parameter, exp.Literal, exp.Paren, exp.And,
    exp.EQ, exp.Boolean, exp.Table, exp.TableAlias, exp.From, exp.Where,
)  # fmt: skip


def _pulled_up(node: exp.Exists) -> bool:
    """An EXISTS PostgreSQL makes a semi join of whatever the plan (convert_EXISTS_sublink_to_join
    after simplify_EXISTS_query): a conjunct of the WHERE, over a plain SELECT of one table (no
    grouping, aggregate, window, DISTINCT, LIMIT, OFFSET, ORDER BY, CTE, lock), whose WHERE is
    an AND of plain `=` of columns, parameters and literals with a correlation `=` of two
    columns: then the correlation joins an equivalence class, and the outer source's scan gets
    the inner pin's value (`EXISTS (SELECT 1 FROM m WHERE m.tenant_id = $1 AND m.tenant_id =
    v.tenant_id)`: helper h33m). A LIMIT $n, a HAVING, an OR around it: a SubPlan, run last."""
    above = node.parent
    while isinstance(above, exp.Paren | exp.And):
        above = above.parent
    query = node.this
    if not isinstance(above, exp.Where) or not isinstance(query, exp.Select):
        return False
    kept = ("expressions", "from_", "from", "where")
    if any(value for key, value in query.args.items() if key not in kept):
        return False
    where, source = query.args.get("where"), query.args.get("from_") or query.args.get("from")
    if not isinstance(where, exp.Where) or not isinstance(source, exp.From):
        return False
    if any(not isinstance(n, _PLAIN_PARTS) for part in (where, source) for n in part.walk()):
        return False
    if any(not isinstance(e, exp.Literal | exp.Star | exp.Column) for e in query.expressions):
        return False  # (a set-returning function in the list: not pulled up)
    return any(
        isinstance(c, exp.EQ) and _bare(c.this) and _bare(c.expression)
        for c in _top_conjuncts(where.this)
    )


def _top_conjuncts(node: exp.Expression) -> list[exp.Expression]:
    """The conjuncts of an AND tree (parentheses unwrapped)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _top_conjuncts(node.this) + _top_conjuncts(node.expression)
    return [node]


def _bare(side: exp.Expr) -> bool:
    """A bare column (in parentheses or not)."""
    return isinstance(side.this if isinstance(side, exp.Paren) else side, exp.Column)


def _may_fail(kind: type[exp.Expression]) -> bool:
    """Is a node of this kind (one the model's walk indexed) a call or cast that may fail?"""
    found = _MAY_FAIL.get(kind)
    if found is None:
        found = _MAY_FAIL[kind] = issubclass(kind, QUOTING_TYPES) or kind in FAILING_TYPED_CALLS
    return found


# `_may_fail` of each kind met (an issubclass test against some ninety types, once per kind)
_MAY_FAIL: dict[type[exp.Expression], bool] = {}


_Revealed = list[tuple[exp.Expression, "list[exp.Expression] | None"]]


def _revealed(ctx: Context, analysis: Analysis) -> _Revealed:
    """Each call or cast that may fail (what the model's walk indexed: typed calls and casts,
    and calls by name) with the arguments its error may show (`_revealing_parts`): read once
    for the checks of errors and of calls failing alike."""
    model = analysis.model
    column = ctx.policy.tenant_column
    nodes = [node for kind, found in model.index.items() if _may_fail(kind) for node in found]
    nodes += [n for found in model.calls.values() for n in found]
    functions = ctx.policy.functions
    inlined = ctx.policy.inlined_functions
    extensions = ctx.policy.extension_functions
    casts = tenant_column_casts(ctx.policy)
    return [
        (node, _revealing_parts(node, column, functions, inlined, extensions, casts))
        for node in nodes
    ]


# the last policy's `tenant_column_casts` (a policy is immutable; read for every statement)
_CASTS_OF: list[tuple[Policy, frozenset[str]]] = []


def tenant_column_casts(policy: Policy) -> frozenset[str]:
    """The types a cast of the tenant column fails into on no value: those every tenant
    table's tenant column type (a domain's: its base's) casts to totally (`_TOTAL_CASTS`; none
    from a text); int8's where the schema is not sure of a type (a bigint id casts to them).
    Memoised for the last policy (`referencing_keys.checked_across_tenants` does the same)."""
    if _CASTS_OF and _CASTS_OF[0][0] is policy:
        return _CASTS_OF[0][1]
    casts = _tenant_column_casts(policy)
    _CASTS_OF[:] = [(policy, casts)]
    return casts


def _tenant_column_casts(policy: Policy) -> frozenset[str]:
    found: frozenset[str] | None = None
    for declared in policy.tenant_column_types.values():
        kind: str | None = declared
        if declared.startswith("domain:"):
            domain = policy.exact_domains.get(declared[len("domain:") :])
            kind = domain[1] if domain is not None else None
        if kind is None or kind in _TOTAL_CASTS:
            targets = _TOTAL_CASTS[kind or "int8"]
        else:
            targets = frozenset()  # `text_col::int` fails on another tenant's 'Acme'
        found = targets if found is None else found & targets
    return _TOTAL_CASTS["int8"] if found is None else found


def _pinned_readers(
    analysis: Analysis,
    block: Block,
    parts: list[exp.Expression],
    visible: Span | None,
    conjunct: exp.Expr,
) -> list[Source]:
    """Of the block's sources a condition's `parts` read, those pinned (unpinned: TG001's),
    not by this very condition; not a MATERIALIZED CTE pinned inside, whose rows are pinned
    before any reader's condition runs (helper 120: the shape this rule's help recommends was
    reported)."""
    return [
        s
        for s in _sources_of(analysis, block, parts, visible)
        if s.block is block
        and _carries_tenant_rows(s)
        and (s.pinned or _pinned_inside(s))
        and not any(f.conjunct is conjunct for f in s.facts)
        and not _materialized_and_pinned_inside(s)
    ]


def _errors_before_the_pin(
    ctx: Context, analysis: Analysis, revealed: _Revealed
) -> Iterator[Finding]:
    """Conditions whose error shows a tenant row's value, evaluated before that row's pin."""
    model = analysis.model
    column = ctx.policy.tenant_column
    candidates = [
        (node, parts) for node, parts in revealed if parts is not None and _reads_a_column(parts)
    ]
    # calls that convert a date to a timestamp, failing past 294276 AD: kept where the schema
    # shows a date (`_converts_a_date`) — looked for where the statement may hold a date at all
    converting: set[int] = set()
    converters = [
        node for node, parts in revealed if parts is None and isinstance(node, _DATE_CONVERTERS)
    ]
    if converters and _may_hold_a_date(ctx):
        for converter in converters:
            dated = [p for p in _date_operands(converter) if _varies(p)]
            if dated and _reads_a_column(dated):
                converting.add(id(converter))
                candidates.append((converter, dated))
    if not candidates:
        return
    unread = model.unread_ctes()
    reported: set[int] = set()
    costs: dict[int, float] = {}  # by condition: many failing calls may sit in one
    collapsed = (
        _collapsed_intervals(ctx.lowered)
        if any(isinstance(node, _ARITHMETIC) for node, _ in candidates)
        else False
    )
    locate = _Locator(analysis)
    for node, parts in sorted(candidates, key=lambda c: _position(c[0])):
        if unread and model.inside(node, unread):
            continue
        block, position, visible, conjunct, top = locate(node)
        if block is None:
            continue
        if position == "from":
            # a FROM item's value: run per row of the sources it reads (h37B)
            yield from _from_item_before_the_pin(ctx, analysis, block, node, parts, reported)
            continue
        if id(node) in converting and not _converts_a_date(analysis, block, node, visible):
            continue
        if _is_cast(node) and len(parts) == 1 and _total_cast(analysis, block, node, visible):
            continue  # `created_at::date`, `date(created_at)`, `n::numeric`: fails on no value
        if isinstance(node, _ARITHMETIC) and _unbounded(
            analysis, block, node, visible, collapsed=collapsed
        ):
            continue  # `x * 1.21` of a numeric `x`: numeric arithmetic does not overflow
        if isinstance(node, exp.TimeToStr) and _type_of(analysis, block, node.this, visible) in (
            "timestamp",
            "timestamptz",
        ):
            continue  # to_char of a timestamp fails on no format (of a number, an interval: may)
        if position == "after" and _moved_to_where(ctx, block, conjunct):
            # PostgreSQL moves a HAVING condition without aggregates, subqueries or volatile
            # calls to WHERE (no grouping sets): run in the scans, beside the pins (h28b)
            position = "filter"
        correlated = _correlated_before_the_pin(analysis, locate, block, parts, visible)
        if correlated is not None:
            outer_source, outer_conjunct = correlated
            if id(outer_conjunct) not in reported:
                reported.add(id(outer_conjunct))
                yield ctx.finding(
                    RULE,
                    node,
                    f"this condition, in a subquery correlated to {outer_source.describe()}, "
                    "runs for each of its rows before the join that pins them (a SubPlan of its "
                    "scan): the error it raises shows another tenant's value",
                    "make the condition unable to fail (compare as text), or pin "
                    f"{outer_source.describe()} by its own tenant column (`{outer_source.name}."
                    f"{column} = $n`)",
                )
            continue
        if position == "after":
            yield from _before_a_having_pin(ctx, analysis, block, node, visible, reported)
            yield from _tested_outside(ctx, analysis, block, top, parts, visible, reported)
            continue
        if conjunct is None or id(conjunct) in reported:
            continue
        reading = _pinned_readers(analysis, block, parts, visible, conjunct)
        reading = [
            s for s in reading if not _join_filter_after_the_scan(analysis, block, conjunct, s)
        ]
        # (a condition PostgreSQL splits costs the part holding the node)
        key = id(node) if _split_condition(conjunct) else id(conjunct)
        cost = costs.get(key)
        if cost is None:
            cost = costs[key] = _cost(conjunct, upper=False, policy=ctx.policy, within=node)  # type: ignore[arg-type]
        source = _pinned_after(reading, cost, analysis)
        if source is None:
            # a condition of a subquery PostgreSQL pulls up, on an enclosing source (h37A)
            pulled = _pulled_up_before_the_pin(analysis, locate, block, parts, visible, cost)
            source = pulled[0] if pulled is not None else None
        if source is None:
            source = _reprojected_before_the_pin(analysis, block, parts, visible, cost)
        if source is None and cost <= _SETTING_PIN_COST:
            # a view (or function) pinned inside by the tenant setting: its filter merges with
            # this WHERE, and costs a setting read, a cast and a comparison (round 22, helper 108)
            source = next(
                (
                    s
                    for s in _sources_of(analysis, block, parts, visible)
                    if s.block is block
                    and (
                        _pinned_by_setting(analysis.policy, s)
                        or _setting_pinned_inside(analysis, s, frozenset())
                    )
                    and not _catalog_relation(s)
                ),
                None,
            )
        if source is not None:
            reported.add(id(conjunct))
            if isinstance(node, exp.Div | exp.Mod | exp.IntDiv):
                shows = "tells whether another tenant's row makes it zero"
            elif isinstance(node, _ARITHMETIC) or _is_cast(node):
                shows = "shows or bounds another tenant's value (out of range, invalid input)"
            else:
                shows = "shows another tenant's value"
            yield ctx.finding(
                RULE,
                node,
                f"this condition reads {source.describe()} where PostgreSQL may evaluate it "
                f"before the tenant filter (it costs no more than the pin): the error it raises "
                f"{shows}",
                "make the condition unable to fail (compare as text, `current_setting(…, "
                "true)`), or filter by tenant in a MATERIALIZED CTE and test the rows it keeps",
            )


def _join_filter_after_the_scan(
    analysis: Analysis, block: Block, conjunct: exp.Expr, source: Source
) -> bool:
    """Is `conjunct` a condition of an outer join's ON that reads `source` on the join's
    preserved side, pinned in its own scan, the join kept outer (no other condition of the
    block reads its nullable side: a strict one would make it an inner join, `… WHERE p.id =
    1`, and the ON condition a filter of the scan)? PostgreSQL cannot push such a condition
    into the preserved side's scan (it would drop rows the join keeps): it is a join filter,
    run on the rows that scan's pin kept (h37B: `tasks t LEFT JOIN plans p ON (10 /
    t.estimate) IS NOT NULL WHERE t.tenant_key = $1` returned [('mine',)] with another
    account's zero present; with `AND p.id = 1` it divided by that zero)."""
    join = conjunct.find_ancestor(exp.Join)
    on = join.args.get("on") if join is not None else None
    if join is None or on is None or not is_within(conjunct, on):
        return False
    entries = [(nullable, preserved) for j, nullable, preserved in block.outer_joins if j is join]
    if (
        not entries
        or any(source in nullable for nullable, _ in entries)  # (FULL: both sides)
        or not any(source in preserved for _, preserved in entries)
        or _pin_cost(source) == _UNBOUNDED
        or not _pinned_here(source, set())
    ):
        return False
    nullable = [s for n, _ in entries for s in n]
    for items, _, _, seen in block.filters:
        for item in items:
            if is_within(item, on):
                continue
            for column in item.find_all(exp.Column):
                if analysis.resolve(block, column, seen) in nullable:
                    return False
    return not _nullable_side_read_elsewhere(analysis, block, nullable, on)


def _unresolved_or_in(
    analysis: Analysis, block: Block, column: exp.Column, sources: Sequence[Source]
) -> bool:
    """Whether `column` resolves to no source of `block`, or to one of `sources`. (Not written
    `resolve(…) in (None, *sources)`: mypyc cannot compile a starred item there.)"""
    source = analysis.resolve(block, column)
    return source is None or source in sources


def _nullable_side_read_elsewhere(
    analysis: Analysis, block: Block, nullable: Sequence[Source], on: exp.Expression
) -> bool:
    """Whether a condition outside `block`'s own may test its outer join's nullable side: the
    block is another's body (a derived table, a CTE, a subquery: the enclosing condition on
    its output is pulled down onto that side), or another block reads a nullable source (a
    LATERAL re-projection `LATERAL (SELECT p.id AS pid) z … z.pid = 1` is pulled up). Either
    makes the join inner in PostgreSQL's reduce_outer_joins, and the ON condition a filter of
    the preserved side's scan, tied with the pin (h37C: `SELECT s.title FROM (SELECT t.title,
    p.id AS pid FROM tasks t LEFT JOIN plans p ON (10 / t.estimate) IS NOT NULL WHERE
    t.tenant_key = $1) s WHERE s.pid = 1` divided by another account's zero). Counted whatever
    reads it (a false alarm at worst). In the block itself, beyond the conditions the proof
    models: a whole-row reference (`row_to_json(p) IS NOT NULL`, `(p).id = 1`, `to_jsonb(p)
    ->> 'id' = '1'`, `p::text = …`), an unqualified or unresolved column, a HAVING condition
    (moved to WHERE), a USING or NATURAL join (its equality strict on the merged column): each
    made the join inner on the server (h37C)."""
    if block.parent is not None:
        return True
    names = {s.name for s in nullable}
    joins = block.node.args.get("joins") or []
    if any(j.args.get("using") or j.args.get("method") for j in joins):
        return True
    conditions = [block.node.args.get(k) for k in ("where", "having")]
    conditions += [j.args.get("on") for j in joins]
    for condition in conditions:
        if not isinstance(condition, exp.Expression) or condition is on:
            continue
        for column in condition.find_all(exp.Column):
            if column.table in names or (
                not column.table
                and (column.name in names or _unresolved_or_in(analysis, block, column, nullable))
            ):
                return True
    for item in block.every_source:  # a LATERAL VALUES or function re-projecting it
        if item not in nullable and any(c.table in names for c in item.node.find_all(exp.Column)):
            return True
    for other in analysis.model.blocks:
        if other is block:
            continue
        if any(body is block for s in other.every_source for body in s.body):
            return True
        for column in other.node.find_all(exp.Column):
            if analysis.resolve(other, column) in nullable:
                return True
    return False


def _failing_views_before_the_pin(ctx: Context, analysis: Analysis) -> Iterator[Finding]:
    """A read of a view whose own conditions may fail (`Policy.failing_views`), pinned by
    anything dearer than the plain `v.tenant_id = V` its proof had: the pin is pushed into the
    view's scan, where PostgreSQL runs the cheapest conditions first — the view's `100 /
    (points - 8) <> 0` before `v.tenant_id::text = $1`, on every tenant's rows (round 33)."""
    failing = ctx.policy.failing_views
    owners = {  # a derived table's or CTE's body -> that source
        id(body): source
        for block in analysis.model.blocks
        for source in block.every_source
        if source.kind in (SourceKind.DERIVED, SourceKind.CTE)
        for body in source.body
    }
    for block in analysis.model.blocks:
        for source in block.every_source:
            if source.kind is not SourceKind.TABLE or source.table is None or not source.pinned:
                continue
            # a condition of the reader on a column the view computes by an expression that
            # may fail runs in the view's scan too, costing more than the plain pin
            tested = _tests_a_failing_column(block, source, ctx.policy, owners)
            bound = _PLAIN_PIN_COST if tested else failing.get(source.table)
            if bound is None or (
                _pin_cost(source, analysis) <= bound and not _pin_calls_on_the_column(source)
            ):
                continue
            yield ctx.finding(
                RULE,
                source.node,
                f"{source.describe()} is a view whose own condition may fail on a row, and "
                "PostgreSQL runs it in the view's scan before a pin that costs as much or more "
                "than it: the error shows another tenant's row",
                f"pin {source.name} by `{source.name}.{sql_name(ctx.policy.tenant_column)} = $n` alone",
            )


# the plain pin of a column by a value: one operator
_PLAIN_PIN_COST = 1.0


def _tests_a_failing_column(
    block: Block, source: Source, policy: Policy, owners: Mapping[int, Source]
) -> bool:
    """Whether a WHERE or join ON reads a column of `source` (a view) that the view computes by
    an expression that may fail (`Policy.failing_columns`): in its own block, or in the block
    of a derived table or CTE whose body shows that column (`*`, or an output reading it, under
    whatever name), and so on up — PostgreSQL pushes such a condition down into the view's
    scan. An unqualified column of such a name counts."""
    names: frozenset[str] | None = policy.failing_columns.get(source.table or "")
    if not names:
        return False
    name = source.name
    while True:
        for condition in _conditions(block):
            for column in condition.find_all(exp.Column):
                if column.table in ("", name) and (names is None or column.name in names):
                    return True
        owner = owners.get(id(block))
        if owner is None or not isinstance(block.node, exp.Select):
            return False
        shown: set[str] = set()
        for output in block.node.expressions:
            if isinstance(output, exp.Star) or (
                isinstance(output, exp.Column) and isinstance(output.this, exp.Star)
            ):
                shown |= names if names is not None else set()
            elif any(names is None or c.name in names for c in output.find_all(exp.Column)):
                shown.add(output.alias_or_name)
        if not shown and names is not None:
            return False
        # a column list renames by position: any column of the derived table may be one
        names = None if owner.column_names or names is None else frozenset(shown)
        block, name = owner.block, owner.name


def _conditions(block: Block) -> list[exp.Expression]:
    """A block's WHERE and its joins' ON conditions."""
    found = [block.node.args.get("where")]
    found += [j.args.get("on") for j in block.node.args.get("joins") or ()]
    return [c for c in found if isinstance(c, exp.Expression)]


def _pin_calls_on_the_column(source: Source) -> bool:
    """Whether the pin of `source` (followed out of the bodies it was pushed into) runs a cast,
    array or function on a column (`v.tenant_id::text = $1`, `ARRAY[v.tenant_id] <@ …`): not
    known to be leakproof, so that a security barrier view runs its own conditions before it,
    whatever it costs; so does a value cast to numeric (compared by numeric_eq). A CASE, a
    parenthesis, an AND or OR or a row of columns is no call."""
    seen: set[int] = set()
    current: Source | None = source
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        fact = current.pinned_by
        if fact is None:
            return current.passthrough  # (pinned by its body's branches: not read here)
        if isinstance(fact.conjunct, exp.Exists):  # a semi join's equivalence class, or none
            return not _pulled_up(fact.conjunct)
        if not fact.pushed:
            return any(
                # a value cast to numeric: the column is compared through numeric_eq, not
                # leakproof (`v.tenant_id = $1::numeric`, helper h33m)
                (isinstance(node, exp.Cast) and node.to.this in _NUMERIC_TYPES)
                or _numeric_constant(node)  # `= 7.0`: numeric_eq too (h37A)
                or (
                    isinstance(node, exp.Cast | exp.Array | exp.Func | exp.Anonymous)
                    and not isinstance(node, exp.Case | exp.If | exp.Connector)  # AND, OR
                    and not (
                        isinstance(node, exp.Anonymous) and is_row(node)
                    )  # ROW(…): one `=` each
                    and node.find(exp.Column) is not None
                )
                for node in fact.conjunct.walk()
            )
        current = fact.other
    return True


_NUMERIC_TYPES = frozenset({exp.DataType.Type.DECIMAL, exp.DataType.Type.MONEY})
# a value of these types compared with an integer column casts the column
_INEXACT_TYPES = _NUMERIC_TYPES | {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}


def _numeric_constant(node: exp.Expr) -> bool:
    """A constant of a numeric type: a literal with a decimal point or an exponent (`7.0`,
    `7e0`), or a literal cast to numeric (`'7'::numeric`): compared with an integer column,
    PostgreSQL converts the column, not the constant (h37A)."""
    if isinstance(node, exp.Literal):
        return not node.is_string and any(c in node.name for c in ".eE")
    return (
        isinstance(node, exp.Cast)
        and isinstance(node.this, exp.Literal)
        and node.to.this in _INEXACT_TYPES
    )


def condition_cost(condition: exp.Expression) -> float:
    """What a pin costs PostgreSQL, from above (as `_pin_cost` reads a source's pin)."""
    return _cost(condition, upper=True)


# the session's random generator: each call of random() advances it, setseed() sets it, and the
# next random() of the session shows how often (or from what) — a count of the rows a condition
# calling it ran on, or a value of the last one
_RANDOM_NAMES = ("random", "random_normal", "setseed")


def _random_before_the_pin(ctx: Context, analysis: Analysis) -> Iterator[Finding]:
    """random()/setseed() in a condition that reads a tenant source's columns and that
    PostgreSQL may evaluate before that source's pin (it costs no more than the pin, or the pin
    is a join's: a composite key's): the generator then advances once per row of every tenant
    the condition ran on (`CASE WHEN p.first_name < 'M' THEN random() END`: how many of them
    sort before 'M'), which the session's next random() tells (outside review h28b). A call
    that reads no column runs above the joins, on the rows they kept; one evaluated after the
    filters (the select list, ORDER BY) on the filtered rows."""
    if ctx.tree is None:
        return
    model = analysis.model
    # (the model's walk indexed every random(): no walk of its own)
    nodes: list[exp.Expression] = list(model.index.get(exp.Rand, ()))
    nodes += [node for name in _RANDOM_NAMES for node in model.calls.get(name, ())]
    for node, source in _run_before_the_pin(ctx, analysis, nodes):
        name = function_name(node) if isinstance(node, exp.Anonymous) else "random"
        yield ctx.finding(
            RULE,
            node,
            f"{name}() runs in a condition on {source.describe()} that PostgreSQL may evaluate "
            "before the tenant filter: the session's next random() tells how many of other "
            "tenants' rows it ran on (or a value of the last one)",
            f"pin {source.name or source.describe()} by its own tenant column, or call it in the "
            "select list",
        )


def _failing_alike_before_the_pin(
    ctx: Context, analysis: Analysis, revealed: _Revealed
) -> Iterator[Finding]:
    """A call that fails whatever the row's value (`split_part(p.first_name, ',', 0)`,
    `json_build_object(NULL, p.first_name)`: a constant its domain rejects) in a condition
    PostgreSQL may evaluate before the pin: a branch a row's value decides (`p.first_name <
    'C' OR …`, a CASE), or a cheaper condition on the same scan evaluated before it, runs it
    on some rows only, and whether it failed says whether another tenant has such a row — a
    search of their values (outside review h28b). A call of constants alone is folded when
    the statement is planned (it fails every time)."""
    if ctx.tree is None:
        return
    model = analysis.model
    column = ctx.policy.tenant_column
    alike = [
        node
        for node, parts in revealed
        # (the cheap test first: few calls fail on a constant; the walk for a column is last)
        if _fails_on_a_constant(node, parts) and node.find(exp.Column) is not None
    ]
    # an uncorrelated scalar subquery that may return several rows: PostgreSQL runs it when
    # the condition first needs its value ("more than one row returned by a subquery used as
    # an expression"), so only if a row reaches the condition
    subqueries = [n for n in model.index.get(exp.Subquery, ()) if isinstance(n, exp.Subquery)]
    alike += [
        node
        for node in subqueries
        if _used_as_a_value(node)
        and (_several_rows(analysis, node) or _body_may_fail(node, column, ctx.policy))
        and not _correlated(analysis, node)
    ]
    for node, source in _run_before_the_pin(ctx, analysis, alike, _decided_by_a_row):
        yield ctx.finding(
            RULE,
            node,
            "this fails whatever the row's value (a constant its domain rejects, a subquery of "
            f"several rows), in a condition on {source.describe()} that PostgreSQL may "
            "evaluate before the tenant filter, where a row's value decides whether it runs: "
            "whether it fails tells whether another tenant has such a row",
            "pass arguments the function accepts, or pin "
            f"{source.name or source.describe()} by its own tenant column",
        )
    # such a call or subquery in the select list of a derived table or CTE PostgreSQL merges
    # into its reader, its output tested there: a condition of the scan of the body's table
    # (round 29)
    locate: _Locator | None = None
    reported: set[int] = set()
    for node in alike:
        locate = locate or _Locator(analysis)
        block, position, visible, _, top = locate(node)
        if block is None or position != "after" or not analysis.model.readers.get(id(block)):
            continue
        cte = block.node.parent
        if not (isinstance(cte, exp.CTE) and cte.args.get("materialized")):  # (not merged)
            parts: list[exp.Expression] = list(top.find_all(exp.Column))
            yield from _tested_outside(ctx, analysis, block, top, parts, visible, reported)


def _used_as_a_value(node: exp.Subquery) -> bool:
    """A subquery used as a value: not a FROM item, nor under EXISTS, IN (but an item of its
    list), ANY, ALL or ARRAY (but an element of `ARRAY[…]`)."""
    parent = node.parent
    if isinstance(parent, exp.In):
        return node.arg_key != "query"  # an item of an IN list is a value
    if isinstance(parent, exp.Array):
        # an element of `ARRAY[…]` is a value; `ARRAY((SELECT …))` is an array subquery (sqlglot
        # marks a constructor of several elements so only at times)
        return bool(parent.args.get("value_constructor")) or len(parent.expressions) > 1
    if isinstance(parent, _NOT_A_VALUE_UNDER):
        return False
    return node.args.get("alias") is None  # else a derived table


def _body_may_fail(node: exp.Subquery, column: str, policy: Policy) -> bool:
    """Does the subquery hold a call or cast that may fail (on any table's rows: its error,
    raised when a row first reaches the condition, tells that one did)?"""
    for inner in node.this.find_all(exp.Expression):
        if _revealing_parts(
            inner,
            column,
            policy.functions,
            policy.inlined_functions,
            policy.extension_functions,
            tenant_column_casts(policy),
        ):
            return True
        if type(inner) in _DOMAIN_ERRORS and _fails_alike(inner, column, policy):
            return True
    return False


def _several_rows(analysis: Analysis, node: exp.Subquery) -> bool:
    """A subquery that may return more than one row: no `LIMIT 1` (`FETCH FIRST [1] ROW
    ONLY`), and not one aggregate row (an aggregate of its own in its select list — not one
    of a subquery there —, no GROUP BY but `GROUP BY ()`) nor one row of no FROM — unless its
    select list calls a set-returning function (`SELECT unnest(…)`: a row per element) — nor
    the one row of a table whose unique key its WHERE fixes; a set operation, or a VALUES
    list of several rows."""
    body = node.this
    if isinstance(body, exp.Values):
        return len(body.expressions) > 1
    if not isinstance(body, exp.Select):
        return isinstance(body, exp.Union | exp.Intersect | exp.Except)
    limit = body.args.get("limit")
    options = limit.args.get("limit_options") if isinstance(limit, exp.Fetch) else None
    if options is not None and (options.args.get("with_ties") or options.args.get("percent")):
        pass  # FETCH FIRST 1 ROW WITH TIES: every row tied with the first
    elif isinstance(limit, exp.Limit | exp.Fetch):
        count = limit.args.get("expression" if isinstance(limit, exp.Limit) else "count")
        if count is None and isinstance(limit, exp.Fetch):
            return False  # FETCH FIRST ROW ONLY: one
        if isinstance(count, exp.Literal) and not count.is_string and _at_most_one(count):
            return False
    group = body.args.get("group")
    if group is not None and not _empty_grouping(group):
        return True
    calls = [n for e in body.expressions for n in e.walk(prune=_nested_query) if _is_call(n)]
    # a set-returning call of ORDER BY or DISTINCT ON adds rows as one of the select list does
    # (`SELECT max(x) FROM t ORDER BY generate_series(1, 2)`: two rows)
    more = list(calls)
    for key in ("order", "distinct"):
        beside = body.args.get(key)
        if beside is not None:
            more.extend(n for n in beside.walk(prune=_nested_query) if _is_call(n))
    if any(_returns_a_set(c) for c in more):
        return True
    if body.args.get("from_") is None:
        return False  # SELECT expr: one row
    if any(_is_aggregate(c) for c in calls):
        return body.find(exp.Window) is not None
    return not _one_row_by_a_key(analysis, body)


def _at_most_one(count: exp.Literal) -> bool:
    """A row count of 0 or 1, however written (`01`)."""
    try:
        return int(str(count.this)) <= 1
    except ValueError:
        return False


def _empty_grouping(group: exp.Expression) -> bool:
    """`GROUP BY ()`: one group of every row (one aggregate row, as with no GROUP BY)."""
    if any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup", "totals")):
        return False
    keys = group.expressions
    return bool(keys) and all(isinstance(k, exp.Tuple) and not k.expressions for k in keys)


def _one_row_by_a_key(analysis: Analysis, body: exp.Select) -> bool:
    """`SELECT … FROM t WHERE t.k = V AND …`: one table read by its name (no join), whose
    WHERE equates, in top-level conditions (`=`, of rows too, or IS NOT DISTINCT FROM a
    literal, or of the tenant column where it is NOT NULL: `_key_equality`), each column of
    one of its unique keys
    (policy.unique_keys: not deferrable nor partial) to a value reading no column — a
    parameter or a literal, of the key column's own type (`_of_the_key_type`): at most one
    row. Not a key column of a loose type
    (`lossy_columns`: citext or a nondeterministic collation, where `=` matches rows the
    key tells apart)."""
    policy = analysis.policy
    if body.args.get("joins") or body.args.get("laterals") or not policy.unique_keys:
        return False
    block = analysis.block_of.get(id(body))
    if block is None or len(block.every_source) != 1:
        return False
    source = block.every_source[0]
    keys = policy.unique_keys.get(source.table or "", ())
    node = source.node
    if (
        not keys
        or source.kind is not SourceKind.TABLE
        or type(node) is not exp.Table
        or source.column_names is not None
        or node.args.get("rows_from")
    ):
        return False
    where = body.args.get("where")
    fixed: set[str] = set()
    never_null = source.table in policy.not_null_tenant_tables
    for conjunct in conjuncts(where.this) if isinstance(where, exp.Where) else ():
        compared = _key_equality(conjunct)
        if compared is None:
            continue
        null_safe, pairs = compared
        for left, right in pairs:
            for column, value in ((left, right), (right, left)):
                if (
                    type(column) is exp.Column
                    and analysis.resolve(block, column) is source
                    and _of_the_key_type(analysis, source, column, value)
                ):
                    name = identifier_name(column.this)
                    if null_safe and not (
                        _not_null_value(value) or (never_null and name == policy.tenant_column)
                    ):
                        continue  # NULL IS NOT DISTINCT FROM NULL: a key's NULLs are many
                    if name not in policy.lossy_columns:
                        fixed.add(name)
    return any(key <= fixed for key in keys)


def _key_equality(
    conjunct: exp.Expression,
) -> tuple[bool, list[tuple[exp.Expression, exp.Expression]]] | None:
    """The (left, right) pairs a conjunct equates, and whether it does so null-safely: `a =
    b`, `a IS NOT DISTINCT FROM b`, `NOT (a IS DISTINCT FROM b)`, and of rows of as many items
    (`(a, b) = ($1, 'x')`, `ROW(a, b) IS NOT DISTINCT FROM ROW($1, 'x')`: item by item)."""
    if type(conjunct) is exp.EQ or type(conjunct) is exp.NullSafeEQ:
        null_safe = type(conjunct) is exp.NullSafeEQ
        left, right = conjunct.this, conjunct.expression
    elif type(conjunct) is exp.Not:
        inner = conjunct.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if type(inner) is not exp.NullSafeNEQ:
            return None
        null_safe, left, right = True, inner.this, inner.expression
    else:
        return None
    if not (is_row(left) or is_row(right)):
        return null_safe, [(left, right)]
    if not (is_row(left) and is_row(right)) or len(left.expressions) != len(right.expressions):
        return None
    if any(isinstance(i, exp.Star) for i in (*left.expressions, *right.expressions)):
        return None  # `(t.*, x) = (…)`: the items pair otherwise
    return null_safe, list(zip(left.expressions, right.expressions, strict=True))


def _not_null_value(value: exp.Expression) -> bool:
    """A literal (cast, negated or in parentheses), which is never NULL."""
    while isinstance(value, exp.Paren | exp.Cast | exp.Neg):
        value = value.this
    return isinstance(value, exp.Literal)


def _of_the_key_type(
    analysis: Analysis, source: Source, column: exp.Column, value: exp.Expression
) -> bool:
    """A value that `=` compares with the key column by the column's own equality: a parameter
    (typed by the column), a literal (a string is typed by the column, a number converts
    exactly: an integer or numeric column compared with a number, a float column with the
    exact float8 promotion), or a cast of one to the column's own type (text or varchar for
    either: `code = 'a'::text`). Not a value of
    another type the column is converted to (`amount = 0.1::float8` with `amount numeric`,
    `big = 1e16::float8` with `big bigint`: several keys round to one value), nor a value with
    an explicit COLLATE (`code = 'a' COLLATE ci`, a nondeterministic collation: 'a' and 'A',
    two keys, are equal)."""
    while isinstance(value, exp.Paren):
        value = value.this
    if isinstance(value, exp.Cast):
        declared = analysis.policy.typed_columns.get(source.table or "", {})
        kind = declared.get(identifier_name(column.this))
        if kind is None or (_cast_target(value) != kind and not _text_cast(value, kind)):
            return False
        value = value.this
        while isinstance(value, exp.Paren):
            value = value.this
    if isinstance(value, exp.Neg):
        value = value.this
        return isinstance(value, exp.Literal) and not value.is_string
    if isinstance(value, exp.Placeholder | exp.Parameter):
        # PostgreSQL types a parameter once, by its first use: `$2::float8` (or `$2` beside a
        # real column) anywhere makes `big = $2` compare in floating point
        pin = pin_value(value, analysis.policy)
        return pin is not None and pin not in lossy_parameters(analysis.tree, analysis.policy)
    return isinstance(value, exp.Literal)


# text and varchar compare as text (varchar has no `=` of its own): a cast of a literal or a
# parameter to either keeps a text key's own equality, under the column's collation (a loose
# column is in `lossy_columns`; an explicit COLLATE is no cast)
_TEXT_KEY_TYPES = frozenset({"text", "varchar"})
_TEXT_CASTS = frozenset({exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR})


def _text_cast(cast: exp.Cast, kind: str) -> bool:
    """A cast to text or varchar (any length: a shorter one truncates the value, still one
    value) of a value compared with a text or varchar column."""
    to = cast.args.get("to")
    return kind in _TEXT_KEY_TYPES and isinstance(to, exp.DataType) and to.this in _TEXT_CASTS


_SET_RETURNING_NODES = (exp.Explode, exp.ExplodingGenerateSeries, exp.GenerateSeries)


def _nested_query(node: exp.Expression) -> bool:
    """A query inside a select list item (its calls are another block's)."""
    return isinstance(node, exp.Subquery | exp.Select | exp.Exists)


def _is_call(node: exp.Expression) -> bool:
    return isinstance(node, exp.Func)


def _is_aggregate(call: exp.Expression) -> bool:
    """An aggregate call (sqlglot reads some as plain calls: `jsonb_agg`)."""
    if isinstance(call, exp.AggFunc):
        return True
    return isinstance(call, exp.Anonymous) and function_name(call) in AGGREGATE_FUNCTIONS


def _returns_a_set(call: exp.Expression) -> bool:
    """A call of a function that may return a set: a built-in set-returning one, or one that
    is no built-in (the schema's may be declared `RETURNS SETOF`)."""
    if isinstance(call, _SET_RETURNING_NODES):
        return True
    if not isinstance(call, exp.Anonymous):
        return False
    name = function_name(call)
    return name in SET_RETURNING_FUNCTIONS or name not in BUILTIN_FUNCTIONS


def _correlated(analysis: Analysis, node: exp.Subquery) -> bool:
    """Does the subquery read a column of the block whose condition holds it (a SubPlan, run per
    row: it costs more than a pin, after which PostgreSQL runs it)? Each column is resolved as
    PostgreSQL does (`WHERE id = org_id` reads the outer row where the subquery's sources have
    no `org_id`); one that cannot be told is that block's where its qualifier names no source
    of the subquery but one of that block (a qualifier of neither — `unnest.unnest` of an
    unnamed function — is the subquery's own). A subquery reading only blocks further out is
    an initPlan of its block, run when a row first reaches it, as an uncorrelated one is. The
    body of a set operation is its branches' blocks; a VALUES list has no sources: any column
    it reads is outer."""
    holder = _enclosing_block(node, analysis.block_of)
    if holder is None:
        return True
    if isinstance(node.this, exp.Values):
        return any(_column_owner(analysis, holder, c) is holder for c in node.find_all(exp.Column))
    inner: dict[int, Block] = {}
    for sub in node.find_all(exp.Select):
        found = analysis.block_of.get(id(sub))
        if found is not None:
            inner[id(sub)] = found
    if not inner:
        return True
    names = {name for block in inner.values() for name in block.named}
    for column in node.find_all(exp.Column):
        block = _enclosing_block(column, inner)
        if block is None:
            continue
        owner = analysis.resolve(block, column)
        if owner is not None:
            if owner.block is holder:
                return True
            continue
        qualifier = identifier_name(column.args.get("table"))
        if qualifier and qualifier not in names and qualifier in holder.named:
            return True
    return False


def _column_owner(analysis: Analysis, block: Block, column: exp.Column) -> Block | None:
    """The block of the source `column` (read in `block`) belongs to, None if not told."""
    owner = analysis.resolve(block, column)
    return owner.block if owner is not None else None


def _enclosing_block(node: exp.Expression, blocks: Mapping[int, Block]) -> Block | None:
    """The block of `blocks` (by their node) whose clauses hold `node`."""
    current = node.parent
    while current is not None:
        found = blocks.get(id(current))
        if found is not None:
            return found
        current = current.parent
    return None


def _fails_alike(node: exp.Expression, column: str, policy: Policy) -> bool:
    """Does `node` fail on an argument that is no row's value: a constant in a position the
    function's domain may reject, or an argument `_revealing_parts` names that reads no
    column (`json_build_object(NULL, …)`)?"""
    if type(node) in _DOMAIN_ERRORS:
        return _fails_on_a_constant(node, None)
    parts = _revealing_parts(
        node,
        column,
        policy.functions,
        policy.inlined_functions,
        policy.extension_functions,
        tenant_column_casts(policy),
    )
    return _fails_on_a_constant(node, parts)


def _fails_on_a_constant(node: exp.Expression, parts: list[exp.Expression] | None) -> bool:
    """`_fails_alike`, given `_revealing_parts` of `node` (read for a kind of
    `_DOMAIN_ERRORS`, whose constants are read instead)."""
    kind = type(node)
    if kind in _DOMAIN_ERRORS:
        given = [node.args.get(k) for k in _DOMAIN_ERRORS[kind]]
        return any(_rejected_constant(a) for a in given)
    # NULL where a value is required, or a value the caller binds (`regexp_like(x, $2)` of a
    # pattern that does not compile): no row's
    return bool(parts) and all(
        isinstance(part, _NULL_OR_BOUND)
        for part in parts  # type: ignore[union-attr]
    )


def _rejected_constant(value: object) -> bool:
    """A constant a function's domain may reject: NULL, a number at most 0 or of a million
    and more (a field position of 0, a logarithm of 0, a length too large); a literal in the
    range of everyday arguments (`split_part(x, ',', 2)`, `lpad(x, 10)`) is not one."""
    if isinstance(value, exp.Paren):
        return _rejected_constant(value.this)
    if isinstance(value, exp.Null):
        return True
    negative = isinstance(value, exp.Neg)
    literal = value.this if isinstance(value, exp.Neg) else value
    if not isinstance(literal, exp.Literal) or literal.is_string:
        return False
    try:
        number = float(str(literal.this))
    except ValueError:
        return True
    if negative:
        number = -number
    return number <= 0 or number >= 1_000_000


_BRANCHING = (exp.Or, exp.And, exp.Case, exp.If, exp.Coalesce, exp.Nullif)


def _decided_by_a_row(
    analysis: Analysis, node: exp.Expression, conjunct: exp.Expr, block: Block, source: Source
) -> bool:
    """Does a row's value decide whether `node` runs: a branch of its condition (OR, CASE,
    coalesce…), or another condition of the block — or another part of its own that
    PostgreSQL splits off (`_split_condition`) — on the same source's columns that is no pin
    of it (PostgreSQL runs the conditions of a scan in order, the cheaper first, each on the
    rows the ones before kept)? One that always runs fails on the first row whatever it is."""
    if node is not conjunct:
        current: exp.Expr | None = node
        while current is not None and current is not conjunct:
            current = current.parent
            if isinstance(current, _BRANCHING):
                return True
    # a part of a condition PostgreSQL splits is a condition of its own
    for _, part in _split_condition(conjunct) or ():
        if not any(is_within(node, o) for o in part) and source in _sources_in(
            analysis, block, list(part), None
        ):
            return True
    pins = {id(f.conjunct) for f in source.facts}
    for items, _, clause, _ in block.filters:
        # a join's ON is "ON of JOIN t", a MERGE's "MERGE ON" (an aggregate's FILTER is none)
        if clause not in ("WHERE", "HAVING", "MERGE ON") and not clause.startswith("ON of "):
            continue
        for other in items:
            if other is conjunct or id(other) in pins:
                continue
            if source in _sources_in(analysis, block, [other], None):
                return True
    return False


def _run_before_the_pin(
    ctx: Context,
    analysis: Analysis,
    nodes: list[exp.Expression],
    decided: Callable[[Analysis, exp.Expression, exp.Expr, Block, Source], bool] | None = None,
) -> Iterator[tuple[exp.Expression, Source]]:
    """Each node (once per condition) that sits in a condition reading a tenant source's
    columns which PostgreSQL may evaluate before that source's pin, with the source."""
    if not nodes:
        return
    locate = _Locator(analysis)
    reported: set[int] = set()
    for node in sorted(nodes, key=_position):
        block, position, visible, conjunct, _ = locate(node)
        if block is None or conjunct is None or position == "from":
            continue
        if position == "after" and not _moved_to_where(ctx, block, conjunct):
            continue
        parts: list[exp.Expression] = list(conjunct.find_all(exp.Column))
        if not parts:
            continue
        key: exp.Expr = conjunct
        correlated = _correlated_before_the_pin(analysis, locate, block, parts, visible)
        if correlated is not None:
            source, key = correlated
            candidates = [source]
        else:
            reading = _pinned_readers(analysis, block, parts, visible, conjunct)
            cost = _cost(conjunct, upper=False, policy=ctx.policy, within=node)  # type: ignore[arg-type]
            # each source the condition may run before the pin of (the first that a row's
            # value decides it on: a column of a subquery in it may name another source too)
            candidates = [s for s in reading if cost <= _pin_cost(s, analysis)]
            if not candidates:
                pulled = _pulled_up_before_the_pin(analysis, locate, block, parts, visible, cost)
                if pulled is not None:
                    source, key = pulled
                    candidates = [source]
        if id(key) in reported:
            continue
        found = next(
            (
                s
                for s in candidates
                if decided is None or decided(analysis, node, conjunct, block, s)
            ),
            None,
        )
        if found is None:
            continue
        reported.add(id(key))
        yield node, found


def _reprojected_before_the_pin(
    analysis: Analysis,
    block: Block,
    parts: list[exp.Expression],
    visible: Span | None,
    cost: float,
    depth: int = 0,
    reader: Block | None = None,
) -> Source | None:
    """A condition on a column of a LATERAL select (without FROM, or with one, pulled up
    alike: h37C, `LATERAL (SELECT t.estimate AS e FROM plans p) x … (10 / x.e) IS NOT NULL`
    divided by another account's zero) that re-projects a column of a source before it (`tasks t, LATERAL (SELECT t.estimate AS e) x WHERE t.tenant_key = $1
    AND (10 / x.e) IS NOT NULL`): PostgreSQL pulls the select up, `x.e` is `t.estimate`, and
    the condition is one of the scan of tasks, ordered by cost with its pin (h37A). That
    source; None for any other. A re-projection of a re-projection is followed (h37B:
    `LATERAL (VALUES (t.estimate)) x(e), LATERAL (VALUES (x.e)) y(f) … (10 / y.f)`)."""
    for column in parts:
        if not isinstance(column, exp.Column):
            continue
        derived = analysis.resolve(reader or block, column, visible)
        if derived is None:
            continue
        values = _pulled_up_values(analysis, derived)
        if values is not None:
            # a VALUES row pulled up (h37B): `LATERAL (VALUES (t.estimate)) x(e) … (10 /
            # x.e) IS NOT NULL`, or in a body pulled up into the block of `t`
            index = _values_index(derived, column.name)
            if index is None or index >= len(values):
                continue
            for inner in values[index].find_all(exp.Column):
                source = analysis.resolve(derived.block, inner, None)
                found = _reprojected_source(analysis, block, inner, source, cost, depth)
                if found is not None:
                    return found
            continue
        if (not derived.lateral and reader is None) or len(derived.body) != 1:
            continue  # (nested in a body pulled up, h37C: any derived table of it)
        body = derived.body[0]
        node = body.node
        if (
            not isinstance(node, exp.Select)
            or any(node.args.get(k) for k in ("limit", "offset", "fetch"))
            or not analysis.projections.row_by_row(body)
        ):
            continue  # (kept whole, OFFSET 0: run for the pinned rows only)
        if node.args.get("from_") is not None and any(
            derived in nullable for _, nullable, _ in (reader or block).outer_joins
        ):
            # a body with FROM pulled up on an outer join's nullable side: its output is a
            # placeholder evaluated at that join, not in the scan of `t` (h37C: `tasks t
            # LEFT JOIN LATERAL (SELECT t.estimate AS e FROM plans p) x ON true WHERE (10 /
            # x.e) IS NOT NULL` returned [('mine',)] with another account's zero present)
            continue
        for item in node.expressions:
            if item.alias_or_name != column.name:
                continue
            for inner in item.find_all(exp.Column):
                source = analysis.resolve(body, inner, None)
                if source is not None and source.block is body and depth < 8:
                    # a derived table of the body, pulled up with it (h37C: `LATERAL (SELECT
                    # q.e FROM (SELECT t.estimate AS e FROM plans p) q) x … (10 / x.e)`)
                    chained = _reprojected_before_the_pin(
                        analysis, block, [inner], None, cost, depth + 1, body
                    )
                    if chained is not None:
                        return chained
                found = _reprojected_source(
                    analysis, block, inner, source, cost, depth, pulled=False
                )
                if found is not None:
                    return found
    return None


def _reprojected_source(
    analysis: Analysis,
    block: Block,
    inner: exp.Column,
    source: Source | None,
    cost: float,
    depth: int,
    *,
    pulled: bool = True,
) -> Source | None:
    """Of a column a re-projection passes on bare (`inner`, resolved to `source`): the pinned
    source of `block` it reads, through further re-projections of that block, whose pin the
    condition of `cost` ties with or precedes; with `pulled`, also a source of a body pulled up
    into `block` (a VALUES row's)."""
    if source is None:
        return None
    if source.block is block and depth < 8 and source.lateral:
        chained = _reprojected_before_the_pin(analysis, block, [inner], None, cost, depth + 1)
        if chained is not None:
            return chained
    if (
        (source.block is block or (pulled and _pulled_into(analysis, block, source.block)))
        and source.pinned
        and _carries_tenant_rows(source)
        and cost <= _pin_cost(source, analysis)
    ):
        return source
    return None


def _pulled_into(analysis: Analysis, body: Block, outer: Block) -> bool:
    """Is `body` a body PostgreSQL pulls up into `outer` (one plain SELECT, row by row, read
    as a derived table of `outer`)? Its conditions then join the scans of `outer`'s sources."""
    readers = analysis.model.readers.get(id(body))
    return (
        bool(readers)
        and all(r.block is outer for r in readers or ())
        and analysis.projections.row_by_row(body)
        and not _not_pulled_up(body.node)
    )


def _pulled_up_values(analysis: Analysis, source: Source) -> list[exp.Expression] | None:
    """The items of the one row of a VALUES list in FROM that PostgreSQL pulls up into the
    block reading it, as it pulls up a select without FROM (h37B: `tasks t, LATERAL (VALUES
    (10 / t.estimate)) x(r) WHERE t.tenant_key = $1 AND x.r IS NOT NULL` divided on every
    account's rows): one row, no volatile or set-returning call. None for any other source (a
    VALUES of several rows is a scan of its own, run for the rows already filtered)."""
    node = source.node
    if isinstance(node, exp.Lateral):
        node = node.this
    values = node.this if isinstance(node, exp.Subquery) else node
    if not isinstance(values, exp.Values) or len(values.expressions) != 1:
        return None
    if calls_volatile(values, analysis.policy) or any(
        _returns_a_set(call)  # type: ignore[arg-type]
        for call in values.find_all(exp.Func)
    ):
        return None
    row = values.expressions[0]
    return list(row.expressions) if isinstance(row, exp.Tuple) else [row]


def _values_column(source: Source, index: int) -> str:
    """The name a VALUES item's column goes by (its alias list, else `columnN`)."""
    names = source.column_names
    if names is not None and index < len(names):
        return names[index]
    return f"column{index + 1}"


def _values_index(source: Source, name: str) -> int | None:
    if source.column_names is not None and name in source.column_names:
        return source.column_names.index(name)
    if name.startswith("column") and name[6:].isdigit():
        return int(name[6:]) - 1
    return None


# the ON of an outer join: a join filter, evaluated at the join (after the scans)
_OUTER_ON = ("ON of LEFT", "ON of RIGHT", "ON of FULL")


def _tests_of_column(
    analysis: Analysis, reader: Source, name: str, depth: int = 0
) -> Iterator[exp.Expr]:
    """The conditions that test column `name` of `reader` where PostgreSQL merges them with
    the conditions of the scans `reader` is pulled up into: its own block's WHERE and inner
    joins' ON, and so on up through each select list that passes the column on bare (or by
    `*`) in a body PostgreSQL pulls up into its reader (one plain SELECT, row by row)."""
    block = reader.block
    for items, _, clause, seen in block.filters:
        if clause.startswith(_OUTER_ON):
            continue
        for conjunct in items:
            if any(
                identifier_name(c.this) == name and analysis.resolve(block, c, seen) is reader
                for c in conjunct.find_all(exp.Column)
            ):
                yield conjunct
    if depth > 16:
        return
    # re-projected bare by a later LATERAL item pulled up alike (`LATERAL (VALUES (x.r)) y(s)`,
    # `LATERAL (SELECT x.r AS s) y`): its column is the same value
    for other in block.every_source:
        if other is reader or not other.lateral:
            continue
        values = _pulled_up_values(analysis, other)
        if values is not None:
            for index, item in enumerate(values):
                inner = _unwrapped(item)
                if (
                    isinstance(inner, exp.Column)
                    and identifier_name(inner.this) == name
                    and analysis.resolve(block, inner, None) is reader
                ):
                    yield from _tests_of_column(
                        analysis, other, _values_column(other, index), depth + 1
                    )
            continue
        if len(other.body) != 1 or not _pulled_into(analysis, other.body[0], block):
            continue
        body = other.body[0]
        for position, item in enumerate(body.node.expressions):
            inner = _unwrapped(item.this if isinstance(item, exp.Alias) else item)
            if (
                isinstance(inner, exp.Column)
                and identifier_name(inner.this) == name
                and analysis.resolve(body, inner, None) is reader
            ):
                outer_name = _read_as(other, position)
                if outer_name:
                    yield from _tests_of_column(analysis, other, outer_name, depth + 1)
    readers = analysis.model.readers.get(id(block))
    if not readers or not analysis.projections.row_by_row(block) or _not_pulled_up(block.node):
        return
    for position, item in enumerate(block.node.expressions):
        inner = item.this if isinstance(item, exp.Alias) else item
        if isinstance(inner, exp.Star) or (
            isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star)
        ):
            passed = [(outer, name) for outer in readers if outer.column_names is None]
        elif (
            isinstance(inner, exp.Column)
            and identifier_name(inner.this) == name
            and analysis.resolve(block, inner, None) is reader
        ):
            passed = [(outer, _read_as(outer, position)) for outer in readers]
        else:
            continue
        for outer, outer_name in passed:
            if outer_name:
                yield from _tests_of_column(analysis, outer, outer_name, depth + 1)


def _from_item_before_the_pin(
    ctx: Context,
    analysis: Analysis,
    block: Block,
    node: exp.Expression,
    parts: list[exp.Expression],
    reported: set[int],
) -> Iterator[Finding]:
    """A failing call in a FROM item (a function in FROM, `unnest`, `ROWS FROM`, a VALUES
    list), computed from a source before it (h37B), that PostgreSQL runs before that source's
    pin:

    - a VALUES list of one row that PostgreSQL pulls up (`_pulled_up_values`): a condition that
      tests its value (in the WHERE, an inner join's ON, or any block it is pulled up into) is
      a condition of the source's scan, ordered by cost with the pin;
    - any FROM item over a source whose pin is no condition of its own scan (a composite
      foreign key's join, an `IN (SELECT …)`, a HAVING): the item runs for each of its rows
      in a nested loop the planner may make before the join that pins them (`items i, LATERAL
      abs(10 / i.estimate) x` of items pinned by a note's key divided by another account's
      zero)."""
    read = [
        s for s in _sources_of(analysis, block, parts, None) if s.pinned and _carries_tenant_rows(s)
    ]
    if not read:
        return
    values = node.find_ancestor(exp.Values, exp.Select)
    holder = values.parent if isinstance(values, exp.Values) else None
    item_source = None
    for candidate in (values, holder, holder.parent if holder is not None else None):
        if candidate is not None:
            item_source = analysis.model.source_of_node.get(id(candidate)) or item_source
    items = _pulled_up_values(analysis, item_source) if item_source is not None else None
    if item_source is not None and items is not None:
        index = next((i for i, item in enumerate(items) if is_within(node, item)), None)
        if index is not None:
            extra = _cost(items[index], upper=False, policy=ctx.policy)
            name = _values_column(item_source, index)
            for conjunct in _tests_of_column(analysis, item_source, name):
                if id(conjunct) in reported:
                    continue
                cost = _cost(conjunct, upper=False, policy=ctx.policy) + extra  # type: ignore[arg-type]
                source = _pinned_after(read, cost, analysis)
                if source is not None:
                    reported.add(id(conjunct))
                    yield ctx.finding(
                        RULE,
                        conjunct,  # type: ignore[arg-type]
                        f"this condition tests {item_source.name or 'a VALUES list'}.{name}, "
                        f"computed from {source.describe()} by a call that can fail: PostgreSQL "
                        "pulls the VALUES row up into this scan and may evaluate the condition "
                        "before the tenant filter, and the error shows another tenant's value",
                        "test the value in a block that reads rows already pinned (a "
                        "MATERIALIZED CTE filtered by tenant), or make the call unable to fail",
                    )
    key = node.find_ancestor(exp.Join, exp.From) or node  # one finding per FROM item
    if id(key) in reported:
        return
    for source in read:
        if (
            source.block is block
            and not _pinned_inside(source)
            and _pin_cost(source, analysis) == _UNBOUNDED
        ):
            reported.add(id(key))
            yield ctx.finding(
                RULE,
                node,
                f"this FROM item reads {source.describe()}, whose pin is no condition of its own "
                "scan: PostgreSQL may run the item for each of its rows before the join that "
                "pins them, and the error it raises shows another tenant's value",
                f"pin {source.name or source.describe()} by its own tenant column "
                f"(`{source.name}.{ctx.policy.tenant_column} = $n`), or make the call unable "
                "to fail",
            )
            return


def _pulled_up_before_the_pin(
    analysis: Analysis,
    locate: _Locator,
    block: Block,
    parts: list[exp.Expression],
    visible: Span | None,
    cost: float,
) -> tuple[Source, exp.Expr] | None:
    """A condition of a subquery that reads only an enclosing block's source, pinned in its own
    scan: where PostgreSQL pulls the subquery up (an EXISTS conjunct made a semi join, a
    LATERAL FROM item), the condition joins that source's scan and is ordered by cost with its
    pin (h37A: `t.tenant_key = $1 AND EXISTS (SELECT 1 FROM plans p WHERE (10 / t.estimate) IS
    NOT NULL)`, `tasks t, LATERAL (SELECT … FROM plans p WHERE (10 / t.estimate) IS NOT NULL)`
    divided on every account's rows). Read so in any condition of the enclosing block (a
    subquery kept as a SubPlan runs after the pin: a false alarm at worst) and in a FROM item.
    The source, and the enclosing block's condition or FROM item; None for any other."""
    if block.parent is None:
        return None
    read = _sources_of(analysis, block, parts, visible)
    if not read:
        return None
    for column in parts:
        if not isinstance(column, exp.Column):
            continue
        own = analysis.resolve(block, column, visible)
        if own is None or own.block is block:
            return None  # the subquery's own rows (or a name not resolved): a join's condition
    holder = block.node.parent
    if holder is None:
        return None
    outer, position, _, conjunct, _ = locate(holder)  # type: ignore[arg-type]
    if outer is None or position not in ("from", "filter"):
        return None
    key: exp.Expr | None = holder if position == "from" else conjunct
    if key is None:
        return None
    for source in read:
        if (
            source.block is outer
            and source.pinned
            and _carries_tenant_rows(source)
            and cost <= _pin_cost(source, analysis)
        ):
            return source, key
    return None


def _correlated_before_the_pin(
    analysis: Analysis,
    locate: _Locator,
    block: Block,
    parts: list[exp.Expression],
    visible: Span | None,
) -> tuple[Source, exp.Expr] | None:
    """A failing call in a subquery that reads a column of an enclosing block's source whose
    pin is no filter of its own scan (a composite foreign key's join, an IN, a HAVING…): the
    subquery, in a condition of that block (WHERE, a join's ON), is a SubPlan PostgreSQL runs
    in that source's scan, on every tenant's rows, before the join that pins them (outside
    review h28b: `EXISTS (SELECT 1 WHERE p.first_name::int > 0)` of patients pinned by an
    appointment's key failed on another clinic's name). The source, and the enclosing
    block's condition holding the subquery; None when there is none (a subquery of the select
    list runs on the joined rows only; a source pinned in its own scan is filtered first: the
    SubPlan costs more than the pin)."""
    if block.parent is None:
        return None
    # the failing call's own columns, and those by which the subquery reads the enclosing
    # rows (a FROM item of its own fed by them: `unnest(ARRAY[p.first_name]) q`)
    read = list(parts) + [c for c in block.node.find_all(exp.Column) if c not in parts]
    outer_sources = [
        s
        for s in _sources_of(analysis, block, read, visible)
        if s.block is not block
        and _carries_tenant_rows(s)
        and (s.pinned or _pinned_inside(s))
        and _pin_cost(s, analysis) == _UNBOUNDED
    ]
    if not outer_sources:
        return None
    current: Block | None = block
    while current is not None and current.parent is not None:
        holder = current.node.parent  # the Subquery, Exists, In… in the enclosing block
        if holder is None:
            return None
        outer, position, _, conjunct, _ = locate(holder)  # type: ignore[arg-type]
        if outer is not None and position == "from":
            # a FROM item correlated to the sources before it is LATERAL: pulled up, its WHERE
            # joins the scans of the sources it reads; kept, it runs for each row of theirs in a
            # nested loop the planner may make before the join that pins them — either way on
            # every tenant's rows
            for source in outer_sources:
                if source.block is outer:
                    return source, holder
            current = outer
            continue
        if outer is None or position != "filter" or conjunct is None:
            return None
        for source in outer_sources:
            if source.block is outer and not any(f.conjunct is conjunct for f in source.facts):
                return source, conjunct
        current = outer
    return None


def _moved_to_where(ctx: Context, block: Block, conjunct: exp.Expr | None) -> bool:
    """Is `conjunct` a HAVING condition PostgreSQL moves to WHERE: one of a GROUP BY without
    grouping sets (the proof's HAVING filters), with no aggregate, subquery or volatile call."""
    if conjunct is None:
        return False
    if not any(
        clause == "HAVING" and any(c is conjunct for c in items)
        for items, _, clause, _ in block.filters
    ):
        return False
    if conjunct.find(exp.AggFunc, exp.Subquery, exp.Select, exp.Exists, exp.Window) is not None:
        return False
    return not calls_volatile(conjunct, ctx.policy)  # type: ignore[arg-type]


def _is_cast(node: exp.Expression) -> bool:
    """A cast, or a type's name called as a function (`date(x)`, `int4(x)`)."""
    if isinstance(node, exp.Cast | exp.Date | exp.Timestamp | exp.Time | exp.Interval):
        return True
    return (
        isinstance(node, exp.Anonymous)
        and len(node.expressions) == 1
        and identifier_name(node.this) in _TYPE_CALLS
    )


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Neg)
# a choice among values: of their common type
_CHOICES = (exp.Coalesce, exp.Greatest, exp.Least, exp.Case, exp.If)
_DT = exp.DataType.Type
# PostgreSQL's name of a cast's target (sqlglot's kinds); a kind left out is a type whose casts
# are not known total (a typmod: `numeric(3,0)` is named so, and is a target of no total cast)
_PG_TYPES: dict[object, str] = {
    _DT.SMALLINT: "int2", _DT.INT: "int4", _DT.BIGINT: "int8", _DT.DECIMAL: "numeric",
    _DT.FLOAT: "float4", _DT.DOUBLE: "float8", _DT.BOOLEAN: "bool", _DT.DATE: "date",
    _DT.TIMESTAMP: "timestamp", _DT.TIMESTAMPTZ: "timestamptz", _DT.TIME: "time",
    _DT.TIMETZ: "timetz", _DT.INTERVAL: "interval", _DT.UUID: "uuid", _DT.JSON: "json",
    _DT.JSONB: "jsonb", _DT.MONEY: "money", _DT.INET: "inet", _DT.VARBINARY: "bytea",
    _DT.XML: "xml", _DT.SERIAL: "int4", _DT.BIGSERIAL: "int8", _DT.SMALLSERIAL: "int2",
}  # fmt: skip
# a type's name called as a function: the cast's target (`int4(n)`, `date(ts)`)
_TYPE_CALL_TARGETS = {
    "int2": "int2", "smallint": "int2", "int4": "int4", "integer": "int4", "int8": "int8",
    "bigint": "int8", "float4": "float4", "float8": "float8", "numeric": "numeric",
    "decimal": "numeric", "bool": "bool", "boolean": "bool", "json": "json", "jsonb": "jsonb",
    "timestamptz": "timestamptz", "timetz": "timetz", "money": "money", "inet": "inet",
}  # fmt: skip
# the casts PostgreSQL 15 runs on every value of the source type without an error: widenings
# (int2 -> int4 -> int8 -> numeric, any integer or float -> float8, a timestamp -> its date or
# time). Any other cast between types that are not text may fail on some value, and whether it
# does tells the value: `n::int` of a bigint ("integer out of range"), `x::numeric(3,0)`
# ("numeric field overflow"), `f::float4`, `d::timestamp` of a date ("date out of range for
# timestamp"), `tz::timestamp` (a time zone's offset past the range), `(j->'a')::int` of a
# jsonb ("cannot cast jsonb string to type integer"), `json::jsonb` ("unsupported Unicode
# escape sequence"), `n::money` of a bigint (round 24, each seen on the server). A cast to a
# text-like type never fails (`varchar(2)` truncates an explicit cast, silently)
_TOTAL_CASTS: dict[str, frozenset[str]] = {
    source: frozenset(targets.split())
    for source, targets in {
        "int2": "int2 int4 int8 numeric float4 float8",
        "int4": "int4 int8 numeric float4 float8 bool money",
        "int8": "int8 numeric float4 float8",
        "float4": "float4 float8 numeric",
        "float8": "float8 numeric",
        "numeric": "numeric",
        "money": "money numeric",
        "bool": "bool int4",
        "date": "date",
        "timestamp": "timestamp date time",
        "timestamptz": "timestamptz date time timetz",
        "time": "time interval",
        "timetz": "timetz time",
        "interval": "interval time",
        "uuid": "uuid",
        "json": "json",
        "jsonb": "jsonb json",
        "inet": "inet cidr",
        "bytea": "bytea",
        "xml": "xml",
    }.items()
}
# targets no cast from a type that is neither text-like nor JSON fails into (a source whose
# very type the schema does not tell: a timestamp's date, a number's numeric)
_TOTAL_INTO = frozenset({"date", "time", "timetz", "numeric", "bool", "interval"})
# calls whose result is of one type whatever their arguments
_RESULT_TYPES: dict[type[exp.Expression], str] = {
    exp.Length: "int4", exp.Ascii: "int4", exp.ArraySize: "int4", exp.Count: "int8",
    exp.Extract: "numeric", exp.CurrentDate: "date", exp.CurrentTimestamp: "timestamptz",
    exp.JSONExtractScalar: "text", exp.JSONBExtractScalar: "text",
}  # fmt: skip
_INTEGERS = ("int2", "int4", "int8")
# calls that convert a date argument to a timestamp (round 24b, each seen on the server:
# "date out of range for timestamp" of a date past 294276 AD — a date's range goes on to
# 5874897 AD): date_trunc, AT TIME ZONE, to_char, age, and a choice among a date and a timestamp
# (`COALESCE(d, ts)`, `GREATEST(d, now())`). A comparison of a date with a timestamp does not
# fail; a date plus or minus an interval is arithmetic (`_small_for`)
_DATE_CONVERTERS = (
    exp.TimestampTrunc, exp.DateTrunc, exp.AtTimeZone, exp.TimeToStr, exp.Anonymous, *_CHOICES
)  # fmt: skip
_DATE_CALLS = frozenset({"age"})


def _date_operands(node: exp.Expression) -> list[exp.Expression]:
    """The arguments a date converter may convert."""
    if isinstance(node, _CHOICES):
        return _branches(node)
    if isinstance(node, exp.Anonymous):
        return list(node.expressions) if identifier_name(node.this) in _DATE_CALLS else []
    return [node.this] if isinstance(node.this, exp.Expression) else []


# by the policy's typed columns: the schema's date columns (lower case)
_DATE_COLUMNS: dict[int, tuple[object, tuple[str, ...]]] = {}


def _may_hold_a_date(ctx: Context) -> bool:
    """Whether any value of the statement may be typed a date (`_type_of`): its text names a
    date column of the schema, a cast or call to date (`::date`, `date(x)`, `CAST(x AS date)`)
    or the current date. A screen: most statements hold none, and a choice's branches are
    then not typed one by one."""
    lowered = ctx.lowered
    if "current_date" in lowered or _has_word(lowered, "date"):
        return True
    typed = ctx.policy.typed_columns
    kept = _DATE_COLUMNS.get(id(typed))
    if kept is None or kept[0] is not typed:
        names = {c.lower() for cs in typed.values() for c, kind in cs.items() if kind == "date"}
        kept = _DATE_COLUMNS[id(typed)] = (typed, tuple(sorted(names)))
    return any(_has_word(lowered, name) for name in kept[1])


def _has_word(text: str, word: str) -> bool:
    """`word` in `text` as a whole name (`day` is not in `days` nor in `to_day`): a search by
    `str.find` (a pattern with a look-behind first scans every character, ~10x slower)."""
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before in "_$") and not (after.isalnum() or after in "_$"):
            return True
        start = text.find(word, start + 1)
    return False


def _converts_a_date(
    analysis: Analysis, block: Block, node: exp.Expression, visible: Span | None
) -> bool:
    """A date converter given a value the schema shows a date (of a choice: beside a value of
    a timestamp type, the common type)."""
    kinds = [_type_of(analysis, block, p, visible) for p in _date_operands(node)]
    if isinstance(node, _CHOICES):
        return "date" in kinds and any(k in ("timestamp", "timestamptz") for k in kinds)
    return "date" in kinds


_TYPED_CASTS: dict[type[exp.Expression], str] = {
    exp.Date: "date", exp.Timestamp: "timestamp", exp.Time: "time", exp.Interval: "interval"
}  # fmt: skip


def _cast_target(node: exp.Expression) -> str | None:
    """The type a cast (or a type's name called as a function) converts to."""
    if isinstance(node, exp.Cast):
        to = node.args.get("to")
        if not isinstance(to, exp.DataType):
            return None
        name = _PG_TYPES.get(to.this)
        if name is not None and to.expressions and name == "numeric":
            return "numeric(…)"  # a precision: "numeric field overflow"
        return name
    if isinstance(node, exp.Date | exp.Timestamp | exp.Time | exp.Interval):
        return _TYPED_CASTS[type(node)]
    if isinstance(node, exp.Anonymous):
        return _TYPE_CALL_TARGETS.get(identifier_name(node.this))
    return None


def _total_cast(
    analysis: Analysis, block: Block, node: exp.Expression, visible: Span | None
) -> bool:
    """A cast that fails on no value of its operand: a widening of a type the schema (or the
    operand's form) tells, or a cast into `_TOTAL_INTO` of a value that is neither text nor
    JSON."""
    target = _cast_target(node)
    if target is None:
        return False
    operand = node.this if isinstance(node, exp.Cast) else next(node.iter_expressions(), None)
    if not isinstance(operand, exp.Expression):
        return False
    source = _type_of(analysis, block, operand, visible)
    if source is not None:
        return target in _TOTAL_CASTS.get(source, ())
    while isinstance(operand, exp.Paren):
        operand = operand.this
    return (
        target in _TOTAL_INTO
        and not isinstance(operand, _JSON_OPERATORS)
        and _not_text(analysis, block, operand, visible)
    )


def _unbounded(
    analysis: Analysis,
    block: Block,
    node: exp.Expression,
    visible: Span | None,
    *,
    collapsed: bool = False,
) -> bool:
    """Arithmetic that cannot overflow: of numeric values (a numeric and a numeric or an
    integer) and literals of a moderate size, or of integers whose range stays inside an int4's
    (`length(name) - 3`). Not `x * 1e131071`: a huge literal moves numeric's edge onto a row's
    value ("value overflows numeric format", round 24b)."""
    if _range(node) is not None or _at_the_edge_only(
        analysis, block, node, visible, collapsed=collapsed
    ):
        return True
    sides = list(node.iter_expressions())
    kinds = [_type_of(analysis, block, side, visible) for side in sides]
    return (
        "numeric" in kinds
        and all(k == "numeric" or k in _INTEGERS for k in kinds)
        and all(_moderate(side) for side in sides)
    )


_MODERATE = 10**15


def _moderate(node: exp.Expression) -> bool:
    """Not a literal of a magnitude past 10**15, nor a parameter (`x + $2::numeric`: the caller
    chooses it, 10**131072 - T puts numeric's edge at T: helper 125); a value the row holds or
    computes: so."""
    while isinstance(node, exp.Paren | exp.Neg | exp.Cast):
        node = node.this
    if isinstance(node, exp.Placeholder | exp.Parameter):
        return False
    if isinstance(node, exp.Literal):
        return _moderate_literal(node)
    if isinstance(node, exp.Column):
        return True
    # anything else: a value the row computes, holding no parameter and no large literal — not
    # a constant the statement computes (`repeat('9', 131072)::numeric - T`: helper 125)
    reads_the_row = False
    for inner in node.walk():
        if isinstance(inner, exp.Placeholder | exp.Parameter):
            return False
        if isinstance(inner, exp.Literal) and not _moderate_literal(inner, strings=False):
            return False
        reads_the_row = reads_the_row or isinstance(inner, exp.Column)
    return reads_the_row


def _moderate_literal(node: exp.Literal, *, strings: bool = True) -> bool:
    """A literal of a magnitude under 10**15; `strings`: a string is read as the number it
    spells (else one that spells none is no magnitude: moderate)."""
    try:
        return abs(float(str(node.this))) < _MODERATE
    except (ValueError, OverflowError):
        # `1e131071`: past a float's range, and so past 10**15; a text that is no number
        return not strings and node.is_string


def _at_the_edge_only(
    analysis: Analysis,
    block: Block,
    node: exp.Expression,
    visible: Span | None,
    *,
    collapsed: bool = False,
) -> bool:
    """Arithmetic that overflows only on a stored value at the very edge of its type, which
    tells nothing a row chose: a column plus or minus a small constant (`id + 1`, `created_at
    - interval '1 day'`), a column negated. Not a value a row computes (`CASE WHEN name LIKE $2
    THEN 2147483647 ELSE 0 END + 1`), two row values (`n * n`, `d + n`), a parameter or a large
    constant (`n + 2147483000`, `ts + interval '292 millennia'`): those steer the overflow onto a
    row's value. The column's type decides what is small (round 24b): a jsonb's `j - 1`
    deletes an element ("cannot delete from object using integer index"), a date plus an
    interval is a timestamp ("date out of range for timestamp")."""
    if isinstance(node, exp.Neg):
        return _bare_column(node.this) is not None
    if isinstance(node, exp.Add | exp.Sub):
        left, right = node.this, node.expression
        pairs = [(left, right), (right, left)] if isinstance(node, exp.Add) else [(left, right)]
        for operand, constant in pairs:
            column = _bare_column(operand)
            if column is not None and _small_for(
                _type_of(analysis, block, column, visible),
                constant,
                add=isinstance(node, exp.Add),
                collapsed=collapsed,
            ):
                return True
    return False


def _bare_column(node: exp.Expression) -> exp.Column | None:
    """The column `node` is, or stands for with a small number in its place when it is NULL
    (`coalesce(n, 0)`: at the edge of the type where `n` is, round 25): None for anything
    else."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Coalesce) and node.expressions:
        sizes = [_small_integer(d) for d in node.expressions]
        if not all(size is not None and size < _SMALL for size in sizes):
            return None  # a parameter, a row's value, a large constant: chosen, not at the edge
        node = node.this
        while isinstance(node, exp.Paren):
            node = node.this
    if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
        return node
    return None


_SMALL = 2**15
# (a smallint plus an integer literal is int4 arithmetic, `int24pl`: it overflows on no smallint,
# helper 125 — the literal is int4 however small)
_NUMBERS_OF = frozenset({"int4", "int8", "numeric", "float4", "float8", "date"})
_TIMES_OF = frozenset({"timestamp", "timestamptz", "interval", "time", "timetz"})


def _small_for(
    kind: str | None, constant: exp.Expression, *, add: bool, collapsed: bool = False
) -> bool:
    """A constant small for a column of a type (None: a type the schema does not show) it is
    added to or subtracted from."""
    while isinstance(constant, exp.Paren | exp.Neg):
        constant = constant.this
    integer = _small_integer(constant)
    if integer is not None:
        # a number: of a number's or a date's column (days); of an unknown one added (no `+`
        # of a number but a number's and a date's), not subtracted: jsonb's `-` deletes an
        # element ("cannot delete from object using integer index")
        return integer < _SMALL and (
            kind == "int2" or kind in _NUMBERS_OF or (kind is None and add)
        )
    if _small_interval(constant, collapsed=collapsed):
        # of a timestamp's or an interval's column; of a date's not (converted to a timestamp);
        # of an unknown one: taken for a timestamp's
        return kind is None or kind in _TIMES_OF
    return False


def _small_integer(node: exp.Expression) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string and str(node.this).isdigit():
        return int(str(node.this))
    return None


_INTERVAL_ITEM = lazy_pattern(
    r"\s*(?:(?P<clock>[+-]?\d+:\d+(?::\d+(?:\.\d*)?)?)"
    r"|(?P<number>[+-]?\d+(?:\.\d*)?)\s*(?P<unit>[a-z]*))\s*"
)
_ISO_ITEM = lazy_pattern(r"(\d+(?:\.\d*)?)([ymwdhs])")
# years per unit PostgreSQL's interval input knows (a month 1/12 of a year, a day 1/365)
_UNIT_YEARS: dict[str, float] = {
    **dict.fromkeys(("millennium", "millennia", "millenniums", "mil", "mils"), 1000.0),
    **dict.fromkeys(("century", "centuries", "c", "cent"), 100.0),
    **dict.fromkeys(("decade", "decades", "dec", "decs"), 10.0),
    **dict.fromkeys(("year", "years", "y", "yr", "yrs"), 1.0),
    **dict.fromkeys(("month", "months", "mon", "mons"), 1 / 12),
    **dict.fromkeys(("week", "weeks", "w"), 7 / 365),
    **dict.fromkeys(("day", "days", "d"), 1 / 365),
    **dict.fromkeys(("hour", "hours", "h", "hr", "hrs"), 1 / 8760),
    **dict.fromkeys(("minute", "minutes", "m", "min", "mins"), 1 / 525600),
    **dict.fromkeys(("second", "seconds", "s", "sec", "secs", ""), 1 / 31536000),
    **dict.fromkeys(
        ("millisecond", "milliseconds", "ms", "msec", "msecs", "microsecond", "microseconds",
         "us", "usec", "usecs"),
        1 / 31536000,
    ),
}  # fmt: skip
_SMALL_YEARS = 1000  # a timestamp plus 1000 years overflows only past 293 000 AD


def _interval_years(text: str) -> float | None:
    """The size in years of an interval literal's text, or None where it is not read (the
    SQL standard's `Y-M` form, ISO 8601's alternative form: not small)."""
    text = text.strip().lower().removeprefix("@").replace(" ago", "")
    if text.startswith("p"):
        body = text[1:]
        date_part, _, time_part = body.partition("t")
        total = 0.0
        for part, units in (
            (date_part, {"y": 1.0, "m": 1 / 12, "w": 7 / 365, "d": 1 / 365}),
            (time_part, {"h": 1 / 8760, "m": 1 / 525600, "s": 1 / 31536000}),
        ):
            if _ISO_ITEM.sub("", part):
                return None  # something else than number-designator pairs
            for number, unit in _ISO_ITEM.findall(part):
                if unit not in units:
                    return None
                total += float(number) * units[unit]
        return total
    total = 0.0
    position = 0
    while position < len(text):
        match = _INTERVAL_ITEM.match(text, position)
        if match is None or match.end() == position:
            return None
        position = match.end()
        if match.group("clock") is not None:
            fields = [abs(float(f)) for f in match.group("clock").split(":")]
            clock = (1 / 8760, 1 / 525600, 1 / 31536000)[: len(fields)]
            total += sum(f * u for f, u in zip(fields, clock, strict=True))
            continue
        years = _UNIT_YEARS.get(match.group("unit"))
        if years is None or (not match.group("unit") and (position < len(text) or total)):
            return None  # a number without a unit beside others (`'150000-0'`: years)
        total += abs(float(match.group("number"))) * years
    return total


_QUOTED = lazy_pattern(r"'((?:[^']|'')*)'")
_ONE_PAIR = lazy_pattern(r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]+)\s*")  # sqlglot's


def _collapsed_intervals(text: str) -> bool:
    """Whether the statement quotes a text sqlglot would read as an interval of its one
    number and unit, dropping the rest (`interval '1 year 100000000:00:00'` is read `'1' YEAR`),
    where the whole is not small: every interval sqlglot read so is then taken for not small."""
    for quoted in _QUOTED.findall(text):
        pairs = _ONE_PAIR.findall(quoted)
        if len(pairs) != 1 or not _ONE_PAIR.sub("", quoted).strip(" @"):
            continue
        years = _interval_years(quoted)
        if years is None or years >= _SMALL_YEARS:
            return True
    return False


def _small_interval(node: exp.Expression, *, collapsed: bool = False) -> bool:
    """An interval literal under 1000 years in all (`'7 days'`; not `'292 millennia 252
    years'`, `'P292252Y'`, `'100000000:00:00'`, whose numbers are each small or not, round
    24b)."""
    if isinstance(node, exp.Cast) and (
        _cast_target(node) != "interval" or not isinstance(node.this, exp.Literal)
    ):
        return False
    if not isinstance(node, exp.Interval | exp.Cast) or not isinstance(node.this, exp.Literal):
        return False
    text = str(node.this.this)
    unit = node.args.get("unit")
    if unit is not None:
        if not isinstance(unit, exp.Var) or collapsed:
            return False  # `interval '1' day to second`…: not read
        text = f"{text} {unit.this}"
    years = _interval_years(text)
    return years is not None and years < _SMALL_YEARS


# integer results of a bounded range whatever their arguments (a text is at most 1 GB long)
_SMALL_RESULTS = (exp.Length, exp.Ascii, exp.ArraySize, exp.BitLength, exp.StrPosition)
_INT4_MAX = 2**31 - 1


def _range(node: exp.Expression) -> tuple[int, int] | None:
    """The integer range of an expression of literals, small results and arithmetic on them,
    when inside an int4's (None: unknown, or past it)."""
    while isinstance(node, exp.Paren):
        node = node.this
    low: int
    high: int
    if isinstance(node, exp.Literal):
        text = str(node.this)
        if node.is_string or not text.isdigit():
            return None
        low = high = int(text)
    elif isinstance(node, _SMALL_RESULTS):
        low, high = 0, 2**30 - 1  # a text or an array is under 1 GB
    elif isinstance(node, exp.Neg):
        inner = _range(node.this)
        if inner is None:
            return None
        low, high = -inner[1], -inner[0]
    elif isinstance(node, exp.Add | exp.Sub | exp.Mul):
        left, right = _range(node.this), _range(node.expression)
        if left is None or right is None:
            return None
        if isinstance(node, exp.Add):
            low, high = left[0] + right[0], left[1] + right[1]
        elif isinstance(node, exp.Sub):
            low, high = left[0] - right[1], left[1] - right[0]
        else:
            corners = [a * b for a in left for b in right]
            low, high = min(corners), max(corners)
    else:
        return None
    return (low, high) if low >= -_INT4_MAX and high <= _INT4_MAX else None


def _type_of(
    analysis: Analysis, block: Block, node: exp.Expression, visible: Span | None
) -> str | None:
    """The built-in type of a value, where its form or the schema tells it (None: unknown)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column):
        if isinstance(node.this, exp.Star):
            return None
        source = analysis.resolve(block, node, visible)
        if source is None or source.kind is not SourceKind.TABLE or source.table is None:
            return None
        return analysis.policy.typed_columns.get(source.table, {}).get(identifier_name(node.this))
    if isinstance(node, exp.Cast):
        return _cast_target(node)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return None  # unknown: typed by its other operand
        text = str(node.this)
        if not text.isdigit():
            return "numeric"
        return "int4" if int(text) < 2**31 else "int8" if int(text) < 2**63 else "numeric"
    if isinstance(node, _JSON_OPERATORS):
        inner = _type_of(analysis, block, node.this, visible)
        return inner if inner in ("json", "jsonb") else None
    if isinstance(node, exp.Nullif):
        return _type_of(analysis, block, node.this, visible)  # its first argument's
    if isinstance(node, _CHOICES):
        # PostgreSQL's common type of every branch (`COALESCE(i, n)` of an int4 and an int8 is
        # an int8: round 24b); unknown if any branch's is (a NULL or a quoted literal aside)
        return _common_type(
            [
                _UNTYPED
                if isinstance(b, exp.Null) or (isinstance(b, exp.Literal) and b.is_string)
                else _type_of(analysis, block, b, visible)
                for b in _branches(node)
            ]
        )
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        inner = _type_of(analysis, block, node.this, visible)
        return "timestamptz" if inner == "date" else inner
    return _RESULT_TYPES.get(type(node))


# PostgreSQL's resolution of a common type within a category: the later type of each order
_WIDENING = (
    ("int2", "int4", "int8", "numeric", "float4", "float8"),
    ("date", "timestamp", "timestamptz"),
)
_UNTYPED = object()  # a NULL or a quoted literal: typed by the other branches


def _branches(node: exp.Expression) -> list[exp.Expression]:
    """The values a COALESCE, GREATEST, LEAST, CASE or IF may give."""
    if isinstance(node, exp.Case):
        found = [i.args.get("true") for i in node.args.get("ifs") or []]
        found.append(node.args.get("default"))  # (no ELSE: NULL)
    elif isinstance(node, exp.If):
        found = [node.args.get("true"), node.args.get("false")]
    else:
        found = [node.this, *node.expressions]
    return [b for b in found if isinstance(b, exp.Expression)]


def _common_type(kinds: list[object]) -> str | None:
    known = [k for k in kinds if k is not _UNTYPED]
    if not known or any(not isinstance(k, str) for k in known):
        return None
    names = [k for k in known if isinstance(k, str)]
    if len(set(names)) == 1:
        return names[0]
    for order in _WIDENING:
        if all(k in order for k in names):
            return max(names, key=order.index)
    return None


# values of a type that is not text-like whatever their operands (a cast of one quotes no text:
# "integer out of range", "cannot cast jsonb string to type integer")
_NONTEXT_RESULTS = (
    exp.TimestampTrunc, exp.DateTrunc, exp.AtTimeZone, exp.Extract, exp.Add, exp.Sub, exp.Mul,
    exp.Div, exp.Mod, exp.Pow, exp.Round, exp.Floor, exp.Ceil, exp.Abs, exp.Interval,
    exp.CurrentTimestamp, exp.CurrentDate, exp.Length, exp.ArraySize, exp.Predicate,
    exp.Connector, exp.Not,
)  # fmt: skip
# `->` and `#>` give JSON of a JSON value — but hstore's `->` gives text: only of a known JSON
_JSON_OPERATORS = (exp.JSONExtract, exp.JSONBExtract)
_JSON_TYPES = frozenset({exp.DataType.Type.JSON, exp.DataType.Type.JSONB})


def _cast_to_nontext(cast: exp.Cast) -> bool:
    """A cast to a built-in type that is not text-like (a domain, an enum, citext — a type of
    the schema — may be text: not so)."""
    to = cast.args.get("to")
    return isinstance(to, exp.DataType) and to.this in _NONTEXT_TYPES and not to.expressions


def _typed_not_text(operand: exp.Expression) -> bool:
    """`_not_text` without columns: by the expression's own form."""
    while isinstance(operand, exp.Paren):
        operand = operand.this
    if isinstance(operand, _NONTEXT_RESULTS) or (
        isinstance(operand, exp.Literal) and not operand.is_string
    ):
        return True
    if isinstance(operand, exp.Cast):
        return _cast_to_nontext(operand)
    if isinstance(operand, _JSON_OPERATORS):
        return _json_value(operand.this)
    return False


# built-ins that return json or jsonb
_JSON_CALLS = frozenset(
    """to_json to_jsonb row_to_json array_to_json json_build_object jsonb_build_object
    json_build_array jsonb_build_array json_object jsonb_object json_agg jsonb_agg
    json_object_agg jsonb_object_agg jsonb_set jsonb_insert jsonb_strip_nulls json_strip_nulls
    jsonb_path_query_array jsonb_path_query_first jsonb_extract_path json_extract_path""".split()  # noqa: SIM905
)


def _json_value(node: exp.Expression) -> bool:
    """A json or jsonb value by its form: a cast to one, a call returning one, `->`/`#>` of one."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Cast):
        to = node.args.get("to")
        return isinstance(to, exp.DataType) and to.this in _JSON_TYPES
    if isinstance(node, _JSON_OPERATORS):
        return _json_value(node.this)
    if isinstance(node, exp.Anonymous):
        return identifier_name(node.this) in _JSON_CALLS
    return isinstance(node, exp.JSONObject | exp.JSONArray | exp.JSONBObjectAgg | exp.JSONObjectAgg)


def _not_text(
    analysis: Analysis, block: Block, operand: exp.Expression, visible: Span | None
) -> bool:
    """A value of a type that is not text-like: a column the schema shows so, a number, the
    result of arithmetic, of a date or JSON operator, a cast to such a type (its own failure is
    another call's), or a coalesce/greatest/least of one."""
    while isinstance(operand, exp.Paren):
        operand = operand.this
    if _typed_not_text(operand):
        return True
    if isinstance(operand, _JSON_OPERATORS):  # `doc -> 'k'` of a column the schema types json
        return _not_text(analysis, block, operand.this, visible)
    if isinstance(operand, exp.Coalesce | exp.Greatest | exp.Least):
        # of one type: every argument not text (a NULL or a number aside)
        arguments = [
            e for e in (operand.this, *operand.expressions) if isinstance(e, exp.Expression)
        ]
        return bool(arguments) and all(
            isinstance(e, exp.Null) or _not_text(analysis, block, e, visible) for e in arguments
        )
    if not isinstance(operand, exp.Column) or isinstance(operand.this, exp.Star):
        return False
    source = analysis.resolve(block, operand, visible)
    if source is None or source.kind is not SourceKind.TABLE or source.table is None:
        return False
    typed = analysis.policy.nontext_columns.get(source.table)
    return typed is not None and identifier_name(operand.this) in typed


def _sources_of(
    analysis: Analysis, block: Block, parts: list[exp.Expression], visible: Span | None
) -> list[Source]:
    """The sources carrying tenant rows whose columns the parts read."""
    return _sources_in(analysis, block, list(parts), visible)


# `tenant_id = current_setting('app.tenant_id')::bigint` inside a view: the call, the cast from
# text (an output and an input function) and the comparison
_SETTING_PIN_COST = 4.0


def _pinned_after(
    sources: list[Source], cost: float, analysis: Analysis | None = None
) -> Source | None:
    """The first source whose pin costs at least `cost`: PostgreSQL may run a condition of that
    cost before it (a tie goes to the condition when the pin is a parameter's or a literal's)."""
    return next((s for s in sources if cost <= _pin_cost(s, analysis)), None)


def _inlined_pin_cost(source: Source, analysis: Analysis) -> float:
    """The pin cost of a derived table or CTE pinned inside, for a condition of its reader:
    PostgreSQL pushes the condition into the scan of its body's table (a plain SELECT, row by
    row, not MATERIALIZED, one branch), where it is ordered by cost with that table's pin —
    the dearest pin of the body's sources, which must all be pinned there; unbounded (the
    condition first) for any other body."""
    bodies = source.body
    if len(bodies) != 1 or not analysis.projections.row_by_row(bodies[0]):
        return _UNBOUNDED
    cte = bodies[0].node.parent
    if isinstance(cte, exp.CTE) and cte.args.get("materialized"):
        return _UNBOUNDED  # MATERIALIZED: pinned inside, exempt by the caller
    inner = _body_sources(bodies[0])
    if inner is None:
        return _UNBOUNDED
    return max(_pin_cost(s, analysis) for s in inner)


def _body_sources(body: Block) -> list[Source] | None:
    """The sources of a derived table's or CTE's body that carry tenant rows, when there are
    some and every one is pinned in the body itself; else None."""
    inner = [s for s in body.every_source if _carries_tenant_rows(s)]
    if not inner or not all(s.pinned and s.block is body for s in inner):
        return None
    return inner


def _setting_pinned_inside(analysis: Analysis, source: Source, seen: frozenset[int]) -> bool:
    """A derived table or CTE (not MATERIALIZED) whose body reads a view or function pinned
    inside by the tenant setting: PostgreSQL pushes its reader's condition down into that
    view's scan, beside the view's filter (round 26: `(SELECT first_name FROM clinic_patients)
    x WHERE x.first_name::int > 0` failed on another clinic's name)."""
    if source.kind not in (SourceKind.DERIVED, SourceKind.CTE) or id(source) in seen:
        return False
    seen = seen | {id(source)}
    for body in source.body or ():
        cte = body.node.parent
        if isinstance(cte, exp.CTE) and cte.args.get("materialized"):
            continue  # its rows are made, filtered, before any reader's condition runs
        for inner in body.every_source:
            if inner.block is body and (
                _pinned_by_setting(analysis.policy, inner)
                or _setting_pinned_inside(analysis, inner, seen)
            ):
                return True
    return False


def _pinned_inside(source: Source) -> bool:
    """A derived table or CTE whose body pins every row it reads, whether or not it shows the
    tenant column (`WITH mine AS (SELECT id, n FROM items WHERE tenant_id = $1)`): a condition
    of its reader may run on those rows before their pin all the same."""
    if source.passthrough:
        return True
    if source.kind not in (SourceKind.DERIVED, SourceKind.CTE) or not source.body:
        return False
    return all(_body_sources(body) is not None for body in source.body)


class _Locator:
    """`_placement` and `_conjunct_of` of many nodes of one statement, each step of the way up
    taken once: the failing calls of a condition of 2 000 ORs share their way to its block.
    A node's (block, position, visible sources, condition, the block's child holding it)."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.memo: dict[int, tuple[Block | None, str, Span | None, exp.Expr | None, exp.Expr]] = {}
        self.tops: dict[int, set[int]] = {}

    def __call__(
        self, node: exp.Expression
    ) -> tuple[Block | None, str, Span | None, exp.Expr | None, exp.Expr]:
        blocks = self.analysis.block_of
        path: list[exp.Expr] = []
        current: exp.Expr | None = node
        while current is not None and id(current) not in self.memo and id(current) not in blocks:
            if isinstance(current, exp.Join):  # a join's ON changes the position: no sharing
                block, position, visible = _placement(self.analysis, node)
                conjunct = _conjunct_of(block, node) if block is not None else None
                return block, position, visible, conjunct, node
            path.append(current)
            current = current.parent
        if current is not None and id(current) in self.memo:
            block, position, visible, conjunct, top = self.memo[id(current)]
        else:  # reached the block (or the root): the walk up once, for the topmost
            block, position, visible = _placement(self.analysis, node)
            conjunct, top = None, path[-1] if path else node
        tops = self._tops(block) if block is not None else set()
        for step in reversed(path):  # from the block down to the node
            if conjunct is None and id(step) in tops:
                conjunct = step
            self.memo[id(step)] = (block, position, visible, conjunct, top)
        return self.memo[id(node)] if path else (block, position, visible, conjunct, top)

    def _tops(self, block: Block) -> set[int]:
        found = self.tops.get(id(block))
        if found is None:
            found = self.tops[id(block)] = {
                id(c) for items, _, _, _ in block.filters for c in items
            }
        return found


def _tested_outside(
    ctx: Context,
    analysis: Analysis,
    body: Block,
    item: exp.Expr,
    parts: list[exp.Expression],
    visible: Span | None,
    reported: set[int],
) -> Iterator[Finding]:
    """A failing call (or scalar subquery) in the select list of a derived table or CTE that
    PostgreSQL merges into its reader (one plain SELECT working row by row), its output tested
    by the reader's WHERE:
    `(SELECT tenant_id, current_setting(name) AS s FROM patients) d WHERE d.tenant_id = $1 AND
    d.s IS NULL` — merged, the test is a condition of the scan of `patients`, costed with the
    call, and may run before the pin."""
    readers = analysis.model.readers.get(id(body))
    if not readers or not analysis.projections.row_by_row(body):
        return
    if item.arg_key != "expressions" or item.parent is not body.node:
        return  # not a select-list item (`item`: the child of the block holding the call)
    position = next(i for i, e in enumerate(body.node.expressions) if e is item)
    # the body's own sources, and the reader's block's, whose row a LATERAL body reads (h37A:
    # `tasks t, LATERAL (SELECT 10 / t.estimate AS r) x WHERE t.tenant_key = $1 AND x.r IS
    # NOT NULL` — pulled up, the test is a condition of the scan of `tasks`)
    reader_blocks = {id(r.block) for r in readers}
    sources = [
        s
        for s in _sources_of(analysis, body, parts, visible)
        if (s.block is body or id(s.block) in reader_blocks) and s.pinned
    ]
    if not sources and isinstance(item.this if isinstance(item, exp.Alias) else item, exp.Subquery):
        # a subquery reading none of them fails on the first row that reaches the test
        sources = [s for s in body.every_source if s.pinned]
    if not sources:
        return
    computed = item.this if isinstance(item, exp.Alias) else item
    extra = _cost(computed, upper=False, policy=ctx.policy)  # type: ignore[arg-type]
    kept_whole = _not_pulled_up(body.node)
    for reader in readers:
        outer = reader.block
        name = _read_as(reader, position)
        if not name:
            continue
        for items, _, _, seen in outer.filters:
            for conjunct in items:
                if id(conjunct) in reported or not any(
                    identifier_name(c.this) == name and analysis.resolve(outer, c, seen) is reader
                    for c in conjunct.find_all(exp.Column)
                ):
                    continue
                if kept_whole and _held_above(analysis, conjunct):
                    continue  # tested on the set operation's output rows (pinned)
                source = _pinned_after(
                    sources, _cost(conjunct, upper=False, policy=ctx.policy) + extra
                )
                if source is not None:
                    reported.add(id(conjunct))
                    yield ctx.finding(
                        RULE,
                        conjunct,
                        f"this condition tests {reader.name or reader.describe()}.{name}, "
                        f"computed from "
                        f"{source.describe()} by a call that can fail: PostgreSQL merges the "
                        "two and may evaluate it before the tenant filter, and the error shows "
                        "another tenant's value",
                        "test the value in a block that reads rows already pinned (a "
                        "MATERIALIZED CTE filtered by tenant), or make the call unable to fail",
                    )


def _not_pulled_up(body: exp.Expression) -> bool:
    """Is `body` a branch of a set operation other than UNION ALL (UNION, INTERSECT, EXCEPT,
    INTERSECT ALL…)? PostgreSQL pulls up only a UNION ALL into its reader (an append of its
    branches, each given the reader's conditions); any other stays a subquery, into which it
    pushes only the conditions holding no SubPlan (`qual_is_pushdown_safe`)."""
    top: exp.Expression | None = None
    node = body.parent
    while isinstance(node, exp.Union | exp.Intersect | exp.Except | exp.Subquery):
        if not isinstance(node, exp.Subquery):
            top = node
        node = node.parent
    if top is None:
        return False
    return not (type(top) is exp.Union and not top.args.get("distinct"))


def _held_above(analysis: Analysis, conjunct: exp.Expr) -> bool:
    """Does the reader's condition hold a subquery PostgreSQL runs as a SubPlan or turns into a
    semi-join — `IN (SELECT …)`, `= ANY / ALL (SELECT …)`, a correlated EXISTS or scalar
    subquery — never pushed into a subquery it keeps whole (EXPLAIN: a filter of the
    Subquery Scan, a join above it)? Not an uncorrelated EXISTS or scalar subquery: an
    initPlan, a parameter, which is pushed down. A condition that is itself an EXISTS, an IN
    or an `op ANY` of a subquery is pulled up into a semi-join (`_semi_join_held`): only what
    its join condition ties to the subquery's own rows stays above."""
    top = conjunct
    while isinstance(top, exp.Paren):
        top = top.this
    pulled = _pulled_up_sublink(top)
    if pulled is not None:
        return _semi_join_held(analysis, top, pulled)
    for node in conjunct.find_all(exp.In, exp.Any, exp.All, exp.Exists, exp.Subquery):
        if isinstance(node, exp.In):
            held = node.args.get("query") is not None
        elif isinstance(node, exp.Any | exp.All):
            held = isinstance(node.this, exp.Subquery)
        else:
            value = isinstance(node, exp.Exists) or _used_as_a_value(node)  # type: ignore[arg-type]
            held = value and _correlated(analysis, node)  # type: ignore[arg-type]
        if held:
            return True
    return False


def _pulled_up_sublink(top: exp.Expr) -> exp.Select | None:
    """The subquery of a condition PostgreSQL may pull up into a semi-join (a top-level
    conjunct of a WHERE or an inner join's ON, `pull_up_sublinks`): `EXISTS (SELECT …)`,
    `x IN (SELECT …)`, `x op ANY (SELECT …)`. None for anything else."""
    query: exp.Expression | None = None
    if isinstance(top, exp.Exists):
        query = top.this
    elif isinstance(top, exp.In):
        query = top.args.get("query")
    elif isinstance(top, exp.Binary) and not isinstance(top, exp.Connector):
        for side in (top.this, top.expression):
            if isinstance(side, exp.Any) and isinstance(side.this, exp.Subquery):
                query = side.this
    while isinstance(query, exp.Subquery | exp.Paren):
        query = query.this
    return query if isinstance(query, exp.Select) else None


def _semi_join_held(analysis: Analysis, top: exp.Expr, select: exp.Select) -> bool:
    """Is a pulled-up subquery's test of the reader's row kept above the set operation? A
    correlated IN stays a SubPlan (held). Otherwise PostgreSQL makes a semi-join, and each of
    its conditions that reads the reader's columns but no column of the subquery's own tables
    is a filter of the reader, pushed into its branches like any other condition: the
    conjuncts of an EXISTS's WHERE (`EXISTS (SELECT 1 FROM orgs o WHERE d.s IS NULL)`), the
    equality of an IN's value with an item of the subquery's list that reads none of its
    tables (`d.s IN (SELECT 'a')`; a FROM-less one or a derived table's item is pulled up to
    its value). Measured on PostgreSQL 15: each such filter sits in the branches' scans."""
    inner = analysis.block_of.get(id(select))
    if inner is None:
        return False
    if isinstance(top, exp.Exists):
        where = select.args.get("where")
        for part in conjuncts(where.this) if isinstance(where, exp.Where) else ():
            outer, own = _semi_join_reads(analysis, inner, part)
            if outer and not own and not _held_above(analysis, part):
                return False
        return True
    subquery = select.parent
    if isinstance(subquery, exp.Subquery) and _correlated(analysis, subquery):
        return True
    return all(_semi_join_reads(analysis, inner, item)[1] for item in select.expressions)


def _semi_join_reads(analysis: Analysis, inner: Block, part: exp.Expression) -> tuple[bool, bool]:
    """Whether `part` (of the subquery `inner`) reads a column of an enclosing block (or one
    not told), and whether it reads a column of one of `inner`'s own tables."""
    outer = own = False
    for column in part.find_all(exp.Column):
        block = _enclosing_block(column, analysis.block_of) or inner
        found = analysis.resolve(block, column)
        if found is None:
            outer = True
        elif found.block is inner:
            own = own or found.kind is SourceKind.TABLE
        elif found.block is not block:
            outer = True
    return outer, own


def _read_as(reader: Source, position: int) -> str:
    """The name the reader gives the body's select-list item at `position` ("" when none or
    when PostgreSQL tests it where the rows are already pinned). A set operation's branches
    stand for its columns by position, named by the column alias list or by the first branch;
    PostgreSQL pushes the reader's conditions into every branch of a UNION or INTERSECT (a
    UNION ALL: pulled up, an append of its branches' scans), never into an EXCEPT or below a
    LIMIT or OFFSET of the whole; nor into a MATERIALIZED CTE (made, then read)."""
    operation = reader.body[0].node.parent
    while isinstance(operation, exp.SetOperation | exp.Subquery) and operation is not reader.node:
        if isinstance(operation, exp.Except) or any(
            operation.args.get(clause) for clause in ("limit", "offset", "fetch")
        ):
            return ""
        operation = operation.parent
    if isinstance(operation, exp.CTE) and operation.args.get("materialized"):
        return ""
    if reader.column_names is not None:
        names = reader.column_names
    else:
        names = output_names(reader.body[0].node) or []
    return names[position] if position < len(names) else ""


def _before_a_having_pin(
    ctx: Context,
    analysis: Analysis,
    block: Block,
    node: exp.Expression,
    visible: Span | None,
    reported: set[int],
) -> Iterator[Finding]:
    """A failing call computed after the block's filters (an aggregate's argument) over rows
    pinned by a HAVING condition PostgreSQL keeps in HAVING — one with a subquery or a
    volatile call, which it does not move to WHERE: the aggregate ran over every tenant's
    rows first. (Outside an aggregate, a select list is computed after HAVING.)"""
    if not any(s.pinned_by is not None and s.pinned_by.in_having for s in block.every_source):
        return  # (the cheap test first)
    if not isinstance(node.find_ancestor(exp.AggFunc, exp.Select), exp.AggFunc):
        return
    for source in _tenant_sources(analysis, block, node, visible):
        fact = source.pinned_by
        if source.block is not block or fact is None or not fact.in_having:
            continue
        conjunct = fact.conjunct
        kept = conjunct.find(exp.Subquery, exp.Select) is not None or calls_volatile(
            conjunct, ctx.policy
        )
        if not kept or id(node) in reported:
            continue
        reported.add(id(node))
        yield ctx.finding(
            RULE,
            node,
            f"this expression reads {source.describe()} before its HAVING pin (PostgreSQL keeps "
            "a condition with a subquery in HAVING, after the aggregates ran over every "
            "tenant's rows): the error it raises shows another tenant's value",
            "pin the rows in WHERE, before they are grouped",
        )
        return


def _conjunct_of(block: Block, node: exp.Expression) -> exp.Expr | None:
    """The top-level condition of `block`'s filters that holds `node`."""
    tops = {id(c) for items, _, _, _ in block.filters for c in items}
    current: exp.Expr | None = node
    while current is not None and current is not block.node:
        if id(current) in tops:
            return current
        current = current.parent
    return None


def _setting_changed_before_read(ctx: Context, tree: exp.Expression) -> Iterator[Finding]:
    """`set_config` of the tenant setting beside a read of a relation that is not a tenant
    table (a view the schema shows pinned inside by `current_setting(…)` is none, nor is a
    table the schema does not show) or of a function of the schema: one pinned by the setting
    reads its rows by the new value. Tenant tables are proven by their own pins (a pin by the
    tenant expression counts for nothing in such a statement)."""
    policy = ctx.policy
    setters = [n for n in tree.find_all(exp.Anonymous) if identifier_name(n.this) == "set_config"]
    if not setters or not sets_tenant_setting(setters, policy):
        return
    ctes = {identifier_name(c.args.get("alias")) for c in tree.find_all(exp.CTE)}
    read: str | None = None
    for node in tree.find_all(exp.Table, exp.Anonymous):
        if isinstance(node, exp.Table):
            if not is_table_name(node):
                continue  # a function in FROM: its call is visited as an Anonymous
            name = identifier_name(node.this)
            if node.args.get("db") is None and name in ctes:
                continue  # a CTE: its body's reads are visited themselves
        else:
            name = identifier_name(node.this)
            if name not in policy.functions:
                continue
        if (
            policy.is_tenant_table(name)
            or name in policy.global_tables
            or policy.is_root_table(name)
            or name in policy.pinning_functions
        ):
            continue
        read = name
        break
    if read is None:
        return
    yield ctx.finding(
        RULE,
        setters[0],
        f"set_config() may change the tenant setting before {read} is read: a view or "
        "function pinned by current_setting(…) then reads another tenant's rows",
        "set the tenant setting in a statement of its own, before this one",
    )


def _position(node: exp.Expression) -> int:
    """Where a call starts in the text (the walk found them in no particular order)."""
    return int(node.meta.get("start", 0)) if node.meta else 0


def _placement(analysis: Analysis, node: exp.Expression) -> tuple[Block | None, str, Span | None]:
    """The block a call sits in, whether it is evaluated after the block's filters ("after"),
    may be evaluated with them ("filter"), or is (part of) a FROM item outside any condition
    ("from": run with the rows, but once, not per row, when it reads no column), and the
    sources its clause sees."""
    child: exp.Expr = node
    parent = node.parent
    visible: Span | None = None
    position = "after"
    block_of = analysis.block_of
    while parent is not None:
        if isinstance(parent, exp.Join) and child is parent.args.get("on"):
            position = "filter"
        block = block_of.get(id(parent))
        if block is not None:
            key = child.arg_key or ""
            if isinstance(parent, exp.Update) and key == "expressions":
                key = "expressions"  # SET is computed on the rows the WHERE kept
            elif key in ("from_", "joins") and position == "after":
                position = "from"
            elif (
                key in ("where", "on", "from_", "joins", "using", "this")
                or key not in _AFTER_FILTERS
            ):
                position = "filter"
            if isinstance(child, exp.Join):
                visible = block.on_scopes.get(id(child))
            return block, position, visible
        child, parent = parent, parent.parent
    return None, position, None


def _tenant_sources(
    analysis: Analysis, block: Block, call: exp.Expression, visible: Span | None
) -> list[Source]:
    """The sources carrying tenant rows whose columns (or whole rows) the call's arguments
    read."""
    return _sources_in(analysis, block, list(call.iter_expressions()), visible)


def _sources_in(
    analysis: Analysis, block: Block, roots: list[exp.Expr], visible: Span | None
) -> list[Source]:
    found: list[Source] = []
    stack: list[exp.Expr] = roots
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Select | exp.Subquery):
            continue  # a subquery's rows are its own
        if isinstance(node, exp.Column):
            source = _column_source(analysis, block, node, visible)
            if (
                source is not None
                and (_carries_tenant_rows(source) or _pinned_by_setting(analysis.policy, source))
                and source not in found
            ):
                found.append(source)
            continue
        stack.extend(node.iter_expressions())
    return found


def _column_source(
    analysis: Analysis, block: Block, column: exp.Column, visible: Span | None
) -> Source | None:
    if isinstance(column.this, exp.Star):
        qualifier = identifier_name(column.args.get("table"))
        return _named(block, qualifier)
    source = analysis.resolve(block, column, visible)
    if source is None and not column.args.get("table"):
        # a whole-row reference: `row_to_json(p)`
        return _named(block, identifier_name(column.this))
    return source


def _named(block: Block | None, name: str) -> Source | None:
    while block is not None:
        if name in block.sources:
            return block.sources[name]
        block = block.parent
    return None


def _pinned_by_setting(policy: Policy, source: Source) -> bool:
    """A view or function that may be pinned inside by the tenant setting, read as it is: one
    of the schema's functions, or a relation the schema sources show as no table (a view
    pinned by `current_setting(…)` is neither a tenant table nor a table). PostgreSQL merges
    its filter with the reader's WHERE and may run a call there first, on every tenant's rows."""
    if source.tenant or not (policy.table_columns or policy.setting_views):
        return False  # a tenant table has its own pin; without a schema nothing can be told
    node = source.node
    if source.kind is SourceKind.TABLE and source.table is not None:
        name = source.table
        if name in policy.setting_views:
            pass  # known to filter by the setting (the runtime guard read the catalog)
        elif not policy.table_columns:
            return False
        elif name not in policy.functions and name in policy.table_columns:
            return False  # a table of the schema
    elif (
        source.kind is SourceKind.OTHER
        and isinstance(node, exp.Table)
        and isinstance(node.this, exp.Anonymous)
    ):
        name = identifier_name(node.this.this)
        if name not in policy.functions and name not in policy.setting_views:
            return False  # a built-in set-returning function
    else:
        return False
    return not (
        name in policy.global_tables
        or policy.is_root_table(name)
        or name in policy.pinning_functions
    )


def _catalog_relation(source: Source) -> bool:
    """PostgreSQL's own relations (`pg_roles`, `information_schema.tables`): no tenant rows."""
    node = source.node
    schema = identifier_name(node.args.get("db")) if isinstance(node, exp.Table) else ""
    name = source.table or ""
    return name.startswith("pg_") or schema in ("pg_catalog", "information_schema")


def _carries_tenant_rows(source: Source) -> bool:
    return source.tenant or source.kind in (SourceKind.DERIVED, SourceKind.CTE)


def _filtered_before(analysis: Analysis, source: Source, block: Block, position: str) -> bool:
    """Are `source`'s rows filtered by tenant before the call sees them?"""
    if _materialized_and_pinned_inside(source):
        return True
    if position != "after":
        return False
    # every block between the call and the source's block is evaluated after its parent's
    # filters (a subquery in a select list), so the source's own filters come first
    level: Block | None = block
    while level is not None and level is not source.block:
        if _placement(analysis, level.node)[1] != "after":
            return False
        level = level.parent
    return level is not None and _pinned_here(source, set())


def _pinned_here(source: Source, seen: set[int]) -> bool:
    """Pinned by its own block's filters (not by a pin pushed in from a reader)."""
    if id(source) in seen:
        return False
    seen.add(id(source))
    if source.passthrough:
        return True
    fact = source.pinned_by
    # a HAVING pin filters groups: the aggregates' arguments ran on every row before it
    if fact is None or fact.pushed or fact.in_having:
        return False
    return fact.other is None or _pinned_here(fact.other, seen)


def _materialized_and_pinned_inside(source: Source) -> bool:
    """A MATERIALIZED CTE whose rows are all pinned inside: evaluated in full, then read."""
    if source.kind is not SourceKind.CTE or not _pinned_inside(source):
        return False
    node = source.node
    if not isinstance(node, exp.Table):
        return False
    bodies = source.body
    cte = bodies[0].node.find_ancestor(exp.CTE) if bodies else None
    return cte is not None and bool(cte.args.get("materialized"))
